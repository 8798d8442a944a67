/* disclose.h — disclosure control: which numbers about people and teams may
 * leave the process. Every route and export that prints scores asks here.
 *
 * The rules (docs/PRIVACY.md gives the reasoning):
 *  1. Minimum n per measure: NPS, grade and CES are each shown only when
 *     that question has enough answers in the cell (responses do not count).
 *  2. A cell about one person has the person threshold: the slice is
 *     filtered by employee, the cell is a named employee's row, or its
 *     answers name exactly one employee (an_group.persons == 1; answers
 *     naming no one do not count, they can be subtracted).
 *  3. Complementary suppression inside a reply: the total and its groups
 *     (and, in a two-way table, each row's and column's implied margin)
 *     form lines; no line may hold exactly one hidden cell (suppress.h).
 *  4. Across replies: the cells of every reply whose window and groupings
 *     it can hold (whole months, quarters, years, all time; units and
 *     employees) are read from one canonical table of the whole
 *     organisation (canon.h) — every answer, organisations, departments,
 *     teams, employees and the answers of each unit that name no one below
 *     it, by every local month, quarter and year and all time — built from
 *     the same other filters and cut at pol->as_of, with the lines of the
 *     org tree and of the calendar. A hidden cell is therefore hidden in
 *     every reply that could show it or its complement. Other groupings
 *     (touchpoint, channel, ...) get rules 1-3 with their total from it.
 *     Theme and sentiment cells of units and periods, and slices filtered
 *     on one theme or one sentiment, are read from the same table's text
 *     layers (canon.h, text.h); a sentiment's scores are never shown.
 * Thread safety: as an_query; no state of its own.
 */
#ifndef KS_DISCLOSE_H
#define KS_DISCLOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "analytics/analytics.h"
#include "core/error.h"
#include "metrics/metrics.h"

/* Recently built canonical tables (rule 4), shared by the requests of one
 * server: a dashboard asks several replies of the same filters in a row.
 * Keyed by the filters, the policy and an_index_versions, so a change of
 * the index is never served from it. Thread-safe. */
typedef struct dc_cache dc_cache;
ks_err dc_cache_new(dc_cache **out);
/* After the last dc_query that uses it. NULL is fine. */
void dc_cache_free(dc_cache *c);

typedef struct dc_policy {
	int64_t min_n;        /* a group (5) */
	int64_t min_n_person; /* one person (10) */
	int64_t as_of;        /* team- and person-level slices count answers before this instant
	                       * (the start of today, local): a figure that moves while you watch
	                       * tells who just answered */
	dc_cache *cache;      /* may be NULL: every table is built anew */
} dc_policy;

/* What may be printed of one cell. */
typedef struct dc_vis {
	metrics_mask show;
	int64_t min_n;        /* the threshold that applied */
} dc_vis;

typedef struct dc_reply {
	an_result r;          /* the counts (as an_query) */
	dc_vis total;
	dc_vis *groups;       /* r.n_groups entries, in r.groups' order */
} dc_reply;

/* Run the query and decide what may be shown. period: the filter's
 * [from, to) as the label of one whole local month, quarter or year
 * ("2026-12", "2026-Q4", "2026"), "" when the filter has no time bounds,
 * or NULL for any other window (the canonical table cannot hold it; rules
 * 1-3 still apply). The caller has already cut f->to at pol->as_of. out is owned by the caller: dc_reply_free. */
ks_err dc_query(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
		const an_dim *dims, int n_dims, dc_reply *out, ks_error *e);

/* Issue 16 (H10): does f filter on an attribute-like dimension (product,
 * login_band, newsletter, attr.<key>)? */
bool dc_filter_has_attr(const an_filter *f);
/* Issue 16 (H10): KS_ERR_INVALID naming the parameter (e.g. "attr.tier")
 * unless a reply of f, period and dims that names an attribute-like
 * dimension can be read from one attribute or product table (canon.h):
 * at most one such dimension across filters and grouping, the other
 * groupings units, employees or whole periods, no theme or sentiment
 * filter, a whole period. KS_OK for every reply that names none. dc_query
 * checks it; callers that decide otherwise (themes) call it first. */
ks_err dc_attr_guard(an_index *ix, const an_filter *f, const char *period, const an_dim *dims, int n_dims,
		     ks_error *e);

/* Re-sort out->r.groups with their visibility (the caller's order). cmp
 * compares two groups as qsort would; arg is passed through. */
void dc_reply_sort(dc_reply *out, int (*cmp)(const an_group *, const dc_vis *, const an_group *,
					     const dc_vis *, void *), void *arg);

void dc_reply_free(dc_reply *r);


#endif
