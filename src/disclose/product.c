/* product.c — disclosure control of the product dimension; the lines are
 * in product.h, the reasoning in docs/PRIVACY.md "Products and other
 * attributes". */
#include "disclose/product.h"

#include <stdlib.h>
#include <string.h>

#include "disclose/suppress.h"
#include "disclose/text.h"

typedef struct dc_pt {
	const dc_policy *pol;
	bool person;      /* the slice is one employee's */
	sup_table t;
} dc_pt;

/* A cell with disclose.c's rules: the person threshold for a person's
 * slice, a named employee's row or answers naming one employee; answers
 * naming no one are not sensitive. forced: a decision already made for
 * the same answers (hidden there, hidden here). */
static ks_err dc_pt_cell(dc_pt *pt, const metrics_counts *c, uint8_t persons, bool named, const dc_vis *forced,
			 size_t *idx)
{
	int64_t thr = pt->person || named || persons == 1 ? pt->pol->min_n_person : pt->pol->min_n;
	int64_t m[SUP_MEASURES] = {c->nps_n, c->grade_n, c->ces_n};
	int64_t min_n[SUP_MEASURES] = {thr, thr, thr};
	ks_err err = sup_cell(&pt->t, m, min_n, idx);
	if (err)
		return err;
	for (int k = 0; persons == 0 && !pt->person && k < SUP_MEASURES; k++)
		sup_sensitive(&pt->t, *idx, k, false);
	if (forced) {
		const bool shown[SUP_MEASURES] = {forced->show.nps, forced->show.grade, forced->show.ces};
		for (int k = 0; k < SUP_MEASURES; k++)
			pt->t.hidden[*idx][k] = !shown[k] && m[k] > 0;
	}
	return KS_OK;
}

static dc_vis dc_pt_vis(const sup_table *t, size_t cell, const metrics_counts *c)
{
	const int64_t answered[SUP_MEASURES] = {c->nps_n, c->grade_n, c->ces_n};
	int64_t lo = INT64_MAX, hi = 0;
	for (int m = 0; m < SUP_MEASURES; m++) {
		int64_t thr = t->min_n[cell][m];
		hi = thr > hi ? thr : hi;
		if (answered[m] > 0 && thr < lo)
			lo = thr;
	}
	dc_vis v = {.min_n = lo == INT64_MAX ? hi : lo};
	v.show.nps = !t->hidden[cell][0];
	v.show.grade = !t->hidden[cell][1];
	v.show.ces = !t->hidden[cell][2];
	return v;
}

static metrics_counts dc_pt_minus(const metrics_counts *a, const metrics_counts *b)
{
	metrics_counts d = *a;
	int64_t *x = &d.n;
	const int64_t *y = &b->n;
	for (size_t i = 0; i < sizeof d / sizeof(int64_t); i++)
		x[i] -= y[i];
	return d;
}

/* The employees of "not P" inside a cell of `persons`: not counted, so one
 * employee's whenever the cell names any (product.h). */
static uint8_t dc_pt_rest_persons(uint8_t persons)
{
	return persons ? 1 : 0;
}

/* One-way: total (forced) = P + not P for every product P. vis[g] gets
 * each group's decision. */
static ks_err dc_product_one_way(const dc_policy *pol, const an_filter *f, const an_result *r,
				 const dc_vis *total_vis, dc_vis *vis, dc_vis *out_total)
{
	dc_pt pt = {.pol = pol, .person = f->employee_id != 0};
	sup_init(&pt.t);
	size_t n = r->n_groups, c_tot = 0;
	size_t *cell = calloc(n + 1, sizeof *cell);
	ks_err err = cell ? dc_pt_cell(&pt, &r->total, r->total_persons, false, total_vis, &c_tot) : KS_ERR_NOMEM;
	for (size_t g = 0; !err && g < n; g++) {
		const an_group *gr = &r->groups[g];
		metrics_counts rest = dc_pt_minus(&r->total, &gr->c);
		size_t cr;
		err = dc_pt_cell(&pt, &gr->c, gr->persons, false, NULL, &cell[g]);
		err = err ? err : dc_pt_cell(&pt, &rest, dc_pt_rest_persons(r->total_persons), false, NULL, &cr);
		err = err ? err : sup_line(&pt.t, c_tot);
		err = err ? err : sup_member(&pt.t, cell[g]);
		err = err ? err : sup_member(&pt.t, cr);
	}
	if (!err) {
		sup_run(&pt.t);
		*out_total = dc_pt_vis(&pt.t, c_tot, &r->total);
		for (size_t g = 0; g < n; g++)
			vis[g] = dc_pt_vis(&pt.t, cell[g], &r->groups[g].c);
	}
	free(cell);
	sup_free(&pt.t);
	return err;
}

static bool dc_pt_same_key(const an_group *a, int i, const an_group *b, int j)
{
	return a->id[i] == b->id[j] && strcmp(a->key[i], b->key[j]) == 0;
}

/* Two-way: x (the other dimension, one group a row) by product. */
static ks_err dc_product_two_way(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
				 int pi, const an_result *prod, const dc_vis *prod_vis, dc_reply *out, ks_error *e)
{
	const an_result *r = &out->r;
	int xi = 1 - pi;
	an_dim xd = r->dims[xi];
	dc_reply xr;
	ks_err err = dc_query(ix, pol, f, period, &xd, 1, &xr, e);
	if (err)
		return err;
	dc_pt pt = {.pol = pol, .person = f->employee_id != 0};
	sup_init(&pt.t);
	size_t n = r->n_groups, nx = xr.r.n_groups, np = prod->n_groups, c_tot = 0;
	size_t *cell = calloc(n + 1, sizeof *cell), *cx = calloc(nx + 1, sizeof *cx);
	if (cell == NULL || cx == NULL)
		err = KS_ERR_NOMEM;
	if (!err)
		err = dc_pt_cell(&pt, &r->total, r->total_persons, false, &xr.total, &c_tot);
	for (size_t x = 0; !err && x < nx; x++) {
		const an_group *g = &xr.r.groups[x];
		err = dc_pt_cell(&pt, &g->c, g->persons, xd == AN_DIM_EMPLOYEE && g->id[0] != 0, &xr.groups[x], &cx[x]);
	}
	/* total = its x cells */
	err = err ? err : sup_line(&pt.t, c_tot);
	for (size_t x = 0; !err && x < nx; x++)
		err = sup_member(&pt.t, cx[x]);
	/* x = (x, P) + (x, not P) */
	for (size_t g = 0; !err && g < n; g++) {
		const an_group *gr = &r->groups[g];
		bool named = xd == AN_DIM_EMPLOYEE && gr->id[xi] != 0;
		err = dc_pt_cell(&pt, &gr->c, gr->persons, named, NULL, &cell[g]);
		for (size_t x = 0; !err && x < nx; x++) {
			const an_group *xg = &xr.r.groups[x];
			if (!dc_pt_same_key(gr, xi, xg, 0))
				continue;
			metrics_counts rest = dc_pt_minus(&xg->c, &gr->c);
			size_t cr;
			err = dc_pt_cell(&pt, &rest, dc_pt_rest_persons(xg->persons), named, NULL, &cr);
			err = err ? err : sup_line(&pt.t, cx[x]);
			err = err ? err : sup_member(&pt.t, cell[g]);
			err = err ? err : sup_member(&pt.t, cr);
		}
	}
	/* a product's column: its one-way cell = its (x, P) cells */
	for (size_t p = 0; !err && p < np; p++) {
		const an_group *pg = &prod->groups[p];
		size_t cp;
		err = dc_pt_cell(&pt, &pg->c, pg->persons, false, &prod_vis[p], &cp);
		err = err ? err : sup_line(&pt.t, cp);
		for (size_t g = 0; !err && g < n; g++)
			if (dc_pt_same_key(&r->groups[g], pi, pg, 0))
				err = sup_member(&pt.t, cell[g]);
	}
	if (!err) {
		sup_run(&pt.t);
		out->total = dc_pt_vis(&pt.t, c_tot, &r->total);
		for (size_t g = 0; g < n; g++)
			out->groups[g] = dc_pt_vis(&pt.t, cell[g], &r->groups[g].c);
	}
	sup_free(&pt.t);
	free(cell);
	free(cx);
	dc_reply_free(&xr);
	return err ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory") : KS_OK;
}

ks_err dc_product_query(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
			const an_dim *dims, int n_dims, dc_reply *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < n_dims; i++)
		if (an_dim_is_text(dims[i]))
			return ks_fail(e, KS_ERR_INVALID, "group_by", "product cannot be grouped with theme or sentiment");
	/* the slice's total as every reply of it shows it (rule 4) */
	dc_reply tot;
	ks_err err = dc_query(ix, pol, f, period, NULL, 0, &tot, e);
	if (err)
		return err;
	an_dim pd = AN_DIM_PRODUCT;
	an_result prod;
	memset(&prod, 0, sizeof prod);
	dc_vis *prod_vis = NULL, prod_total;
	err = an_query(ix, f, &pd, 1, &prod, e);
	if (!err && (prod_vis = calloc(prod.n_groups + 1, sizeof *prod_vis)) == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err && dc_product_one_way(pol, f, &prod, &tot.total, prod_vis, &prod_total) != KS_OK)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err)
		err = an_query(ix, f, dims, n_dims, &out->r, e);
	if (!err && (out->groups = calloc(out->r.n_groups + 1, sizeof *out->groups)) == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err && n_dims == 1) {
		out->total = prod_total;
		for (size_t g = 0; g < out->r.n_groups; g++) {
			/* by key: a response may have arrived between the two queries */
			out->groups[g] = (dc_vis){.min_n = pol->min_n_person};
			for (size_t p = 0; p < prod.n_groups; p++)
				if (dc_pt_same_key(&out->r.groups[g], 0, &prod.groups[p], 0))
					out->groups[g] = prod_vis[p];
		}
	} else if (!err) {
		int pi = dims[0] == AN_DIM_PRODUCT ? 0 : 1;
		err = dc_product_two_way(ix, pol, f, period, pi, &prod, prod_vis, out, e);
	}
	free(prod_vis);
	an_result_free(&prod);
	dc_reply_free(&tot);
	if (err)
		dc_reply_free(out);
	else if (f->sentiment[0])
		dc_sentiment_unscored(out, true);
	return err;
}
