/* product.h — disclosure control of the product dimension (issue 16, H5):
 * replies grouped by the products customers held when they answered, where
 * the product table (canon.h, dc_canon_build_attr with AN_DIM_PRODUCT)
 * cannot hold them: beside a touchpoint, channel or attribute, arbitrary
 * windows, more than 32 products in the slice.
 *
 * Like themes (text.h), products overlap (a customer with two products is
 * in both groups) and leave rows out (customers without a product, answers
 * without a customer are in none), so "total = sum of the groups" is false
 * for them. The relations a reader can form are, for each product P,
 *   every answer = holding P + not holding P
 * and in a two-way table (x by product) the same per value x of the other
 * dimension, with x's cell (the one-way reply of x, decided by dc_query)
 * as the line's total, plus each product's column: P = sum over x of
 * (x, P), with P's cell forced from the one-way product reply. The cells
 * nobody prints ("not holding P") are cells of the table: hiding one keeps
 * its partner hidden. Their employees are not counted; they are taken as
 * one employee's whenever the enclosing cell names any (the person
 * threshold), a bound that hides more, never less. The slice's total is
 * dc_query's (rule 4), forced here.
 */
#ifndef KS_DC_PRODUCT_H
#define KS_DC_PRODUCT_H

#include "disclose/disclose.h"

/* dc_query for dims that include AN_DIM_PRODUCT (with no text dimension). */
ks_err dc_product_query(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
			const an_dim *dims, int n_dims, dc_reply *out, ks_error *e);

#endif
