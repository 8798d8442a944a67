/* text.c — disclosure control of the text dimensions; the lines are in
 * text.h, the reasoning in docs/PRIVACY.md "Themes". */
#include "disclose/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disclose/canon.h"
#include "disclose/suppress.h"

/* ---- cells ------------------------------------------------------------------- */

typedef struct dc_tt {
	const dc_policy *pol;
	bool person;      /* the slice is one employee's */
	sup_table t;
} dc_tt;

/* A cell with the rules of disclose.c's reply cells: the person threshold
 * for a person's slice, a named employee's row or answers naming exactly
 * one employee; answers naming no one are not sensitive. forced (may be
 * NULL): the visibility another reply already decided for the same cell
 * (the canonical total, a one-way reply's row) — hidden there, hidden here. */
static ks_err dc_tt_cell(dc_tt *tt, const metrics_counts *c, uint8_t persons, bool named,
			 const dc_vis *forced, size_t *idx)
{
	int64_t thr = tt->person || named || persons == 1 ? tt->pol->min_n_person : tt->pol->min_n;
	int64_t m[SUP_MEASURES] = {c->nps_n, c->grade_n, c->ces_n};
	int64_t min_n[SUP_MEASURES] = {thr, thr, thr};
	ks_err err = sup_cell(&tt->t, m, min_n, idx);
	if (err)
		return err;
	for (int k = 0; persons == 0 && !tt->person && k < SUP_MEASURES; k++)
		sup_sensitive(&tt->t, *idx, k, false);
	if (forced) {
		const bool shown[SUP_MEASURES] = {forced->show.nps, forced->show.grade, forced->show.ces};
		for (int k = 0; k < SUP_MEASURES; k++)
			tt->t.hidden[*idx][k] = !shown[k] && m[k] > 0;
	}
	return KS_OK;
}

/* As disclose.c's dc_vis_of: the printed threshold is the lowest of the
 * answered measures'. */
static dc_vis dc_tt_vis(const sup_table *t, size_t cell, const metrics_counts *c)
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

static void dc_counts_sub(metrics_counts *a, const metrics_counts *b)
{
	int64_t *x = &a->n;
	const int64_t *y = &b->n;
	for (size_t i = 0; i < sizeof *a / sizeof(int64_t); i++)
		x[i] -= y[i];
}

static const an_group *dc_find_key(const an_result *r, int i, const char *key)
{
	for (size_t g = 0; g < r->n_groups; g++)
		if (strcmp(r->groups[g].key[i], key) == 0)
			return &r->groups[g];
	return NULL;
}

/* ---- the one-way table ------------------------------------------------------------ */

/* Is the slice's text table read from the organisation's? For every whole
 * period the base table holds, unless the filter is itself a theme or a
 * sentiment (its groups are then no layer of the table). */
static bool dc_text_canonical(const an_filter *f, const char *period)
{
	return period != NULL && f->theme[0] == '\0' && f->sentiment[0] == '\0' && f->analysed == 0;
}


static ks_err dc_text_counts(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
			     dc_text *out, an_result *absent, uint8_t *unanalysed_persons, ks_error *e)
{
	dc_reply tot;
	ks_err err = dc_query(ix, pol, f, period, NULL, 0, &tot, e);
	if (err)
		return err;
	out->total = tot.r.total;
	out->total_vis = tot.total;
	out->total_persons = tot.r.total_persons;
	dc_reply_free(&tot);
	an_dim d = AN_DIM_SENTIMENT;
	err = an_query(ix, f, &d, 1, &out->sentiment, e);
	d = AN_DIM_THEME;
	if (!err)
		err = an_query(ix, f, &d, 1, &out->themes, e);
	d = AN_DIM_THEME_ABSENT;
	if (!err)
		err = an_query(ix, f, &d, 1, absent, e);
	an_filter fa = *f;
	an_result ra;
	fa.analysed = 1;
	if (!err && (err = an_query(ix, &fa, NULL, 0, &ra, e)) == KS_OK) {
		out->analysed = ra.total;
		out->analysed_persons = ra.total_persons;
		an_result_free(&ra);
	}
	out->unanalysed = out->total;
	dc_counts_sub(&out->unanalysed, &out->analysed);
	/* Their employees counted, not bounded by the total's: a total of two
	 * employees can leave answers without analysis of one alone, a
	 * person's cell (the bound would give it the group threshold). Only
	 * the slice's own table needs them: the organisation's counts its. */
	fa.analysed = -1;
	if (!err && !dc_text_canonical(f, period) && (err = an_query(ix, &fa, NULL, 0, &ra, e)) == KS_OK) {
		*unanalysed_persons = ra.total_persons;
		an_result_free(&ra);
	}
	return err;
}

/* ---- the organisation-wide decision (canon.h's text table) ----------------------- */

/* The visibility of the filter's own cell (or group g of r) in the layer
 * named name; nothing shown when the table cannot place it. */
static dc_vis dc_text_canon_vis(an_index *ix, const dc_policy *pol, const dc_canon *c, const an_filter *f,
				const char *period, const an_result *r, const an_group *g, const char *name,
				const metrics_counts *cnt)
{
	ssize_t l = dc_canon_layer_of(c, name);
	ssize_t k = l >= 0 ? dc_canon_map(ix, c, f, period, r, g, (size_t)l) : -1;
	if (k < 0)
		return (dc_vis){.min_n = f->employee_id ? pol->min_n_person : pol->min_n};
	return dc_tt_vis(&c->t, (size_t)k, cnt);
}

static void dc_text_from_canon(an_index *ix, const dc_policy *pol, const dc_canon *c, const an_filter *f,
			       const char *period, dc_text *out)
{
	an_result none;
	memset(&none, 0, sizeof none);
	char name[128];
	out->analysed_vis = dc_text_canon_vis(ix, pol, c, f, period, &none, NULL, "analysed", &out->analysed);
	out->unanalysed_vis = dc_text_canon_vis(ix, pol, c, f, period, &none, NULL, "unanalysed", &out->unanalysed);
	for (size_t g = 0; g < out->sentiment.n_groups; g++) {
		snprintf(name, sizeof name, "s:%s", out->sentiment.groups[g].key[0]);
		out->sentiment_vis[g] = dc_text_canon_vis(ix, pol, c, f, period, &none, NULL, name,
							  &out->sentiment.groups[g].c);
	}
	for (size_t g = 0; g < out->themes.n_groups; g++) {
		snprintf(name, sizeof name, "t:%s", out->themes.groups[g].key[0]);
		out->themes_vis[g] = dc_text_canon_vis(ix, pol, c, f, period, &none, NULL, name,
						       &out->themes.groups[g].c);
		snprintf(name, sizeof name, "n:%s", out->themes.groups[g].key[0]);
		out->without_vis[g] = dc_text_canon_vis(ix, pol, c, f, period, &none, NULL, name, &out->without[g]);
	}
}

ks_err dc_text_table(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
		     dc_text *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	an_result absent;
	memset(&absent, 0, sizeof absent);
	uint8_t unanalysed_persons = 0;
	ks_err err = dc_text_counts(ix, pol, f, period, out, &absent, &unanalysed_persons, e);
	size_t ns = out->sentiment.n_groups, nt = out->themes.n_groups;
	if (!err) {
		out->sentiment_vis = calloc(ns ? ns : 1, sizeof *out->sentiment_vis);
		out->themes_vis = calloc(nt ? nt : 1, sizeof *out->themes_vis);
		out->without = calloc(nt ? nt : 1, sizeof *out->without);
		out->without_vis = calloc(nt ? nt : 1, sizeof *out->without_vis);
		if (!out->sentiment_vis || !out->themes_vis || !out->without || !out->without_vis)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	dc_tt tt = {.pol = pol, .person = f->employee_id != 0};
	sup_init(&tt.t);
	size_t c_tot = 0, c_a = 0, c_r = 0;
	size_t *cs = calloc(ns + 1, sizeof *cs), *ct = calloc(nt + 1, sizeof *ct),
	       *cw = calloc(nt + 1, sizeof *cw);
	uint8_t *wp = calloc(nt + 1, 1);
	if (!err && (!cs || !ct || !cw || !wp))
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	/* Persons of "without analysis" and of "analysed, not T": the index
	 * counts both (the theme-absent grouping; dc_text_counts' query of the
	 * answers without analysis). */
	for (size_t g = 0; !err && g < nt; g++) {
		const an_group *w = dc_find_key(&absent, 0, out->themes.groups[g].key[0]);
		if (w) {
			out->without[g] = w->c;
			wp[g] = w->persons;
		}
	}
	if (!err)
		err = dc_tt_cell(&tt, &out->total, out->total_persons, false, &out->total_vis, &c_tot);
	if (!err)
		err = dc_tt_cell(&tt, &out->analysed, out->analysed_persons, false, NULL, &c_a);
	if (!err)
		err = dc_tt_cell(&tt, &out->unanalysed, unanalysed_persons, false, NULL, &c_r);
	for (size_t g = 0; !err && g < ns; g++) {
		err = dc_tt_cell(&tt, &out->sentiment.groups[g].c, out->sentiment.groups[g].persons, false,
				 NULL, &cs[g]);
		/* a sentiment's scores are never shown (dc_sentiment_unscored) */
		for (int m = 0; !err && m < SUP_MEASURES; m++)
			tt.t.hidden[cs[g]][m] = true;
	}
	for (size_t g = 0; !err && g < nt; g++) {
		err = dc_tt_cell(&tt, &out->themes.groups[g].c, out->themes.groups[g].persons, false, NULL,
				 &ct[g]);
		if (!err)
			err = dc_tt_cell(&tt, &out->without[g], wp[g], false, NULL, &cw[g]);
	}
	/* the lines of text.h */
	if (!err && (err = sup_line(&tt.t, c_tot)) == KS_OK && (err = sup_member(&tt.t, c_a)) == KS_OK)
		err = sup_member(&tt.t, c_r);
	if (!err)
		err = sup_line(&tt.t, c_a);
	for (size_t g = 0; !err && g < ns; g++)
		err = sup_member(&tt.t, cs[g]);
	for (size_t g = 0; !err && g < nt; g++) {
		err = sup_line(&tt.t, c_a);
		if (!err)
			err = sup_member(&tt.t, ct[g]);
		if (!err)
			err = sup_member(&tt.t, cw[g]);
	}
	const dc_canon *canon = NULL;
	if (!err && dc_text_canonical(f, period))
		err = dc_canon_text_get(ix, pol, f, &canon, e);
	if (!err && canon) {
		/* decided once for the organisation: every filter showing the
		 * same answers reads the same cell (the total: the base table's,
		 * as dc_query gave it) */
		dc_text_from_canon(ix, pol, canon, f, period, out);
		dc_canon_release(pol, canon);
	} else if (!err) {
		sup_run(&tt.t);
		out->total_vis = dc_tt_vis(&tt.t, c_tot, &out->total);
		out->analysed_vis = dc_tt_vis(&tt.t, c_a, &out->analysed);
		out->unanalysed_vis = dc_tt_vis(&tt.t, c_r, &out->unanalysed);
		for (size_t g = 0; g < ns; g++)
			out->sentiment_vis[g] = dc_tt_vis(&tt.t, cs[g], &out->sentiment.groups[g].c);
		for (size_t g = 0; g < nt; g++) {
			out->themes_vis[g] = dc_tt_vis(&tt.t, ct[g], &out->themes.groups[g].c);
			out->without_vis[g] = dc_tt_vis(&tt.t, cw[g], &out->without[g]);
		}
	}
	if (!err && f->sentiment[0]) {
		/* a slice of one sentiment: its scores are never shown (dc_sentiment_unscored) */
		static const metrics_mask none = {false, false, false};
		out->total_vis.show = out->analysed_vis.show = out->unanalysed_vis.show = none;
		for (size_t g = 0; g < ns; g++)
			out->sentiment_vis[g].show = none;
		for (size_t g = 0; g < nt; g++)
			out->themes_vis[g].show = out->without_vis[g].show = none;
	}
	sup_free(&tt.t);
	free(cs);
	free(ct);
	free(cw);
	free(wp);
	an_result_free(&absent);
	if (err) {
		dc_text_free(out);
		/* sup_* return a bare KS_ERR_NOMEM; the queries have filled e */
		return e && e->code != err ? ks_fail(e, err, NULL, "out of memory") : err;
	}
	return KS_OK;
}

void dc_text_free(dc_text *t)
{
	an_result_free(&t->sentiment);
	an_result_free(&t->themes);
	free(t->sentiment_vis);
	free(t->themes_vis);
	free(t->without);
	free(t->without_vis);
	memset(t, 0, sizeof *t);
}

/* ---- replies ---------------------------------------------------------------------------- */

/* The one-way table's cell of a text key (dimension d): the visibility
 * decided there; NULL when the table has no such group. */
static const dc_vis *dc_text_key_vis(const dc_text *tt, an_dim d, const char *key, const metrics_counts **c)
{
	const an_result *r = d == AN_DIM_THEME ? &tt->themes : &tt->sentiment;
	const dc_vis *v = d == AN_DIM_THEME ? tt->themes_vis : tt->sentiment_vis;
	for (size_t g = 0; g < r->n_groups; g++)
		if (strcmp(r->groups[g].key[0], key) == 0) {
			*c = &r->groups[g].c;
			return &v[g];
		}
	return NULL;
}

static bool dc_same_key(const an_group *a, int i, const an_group *b, int j)
{
	return a->id[i] == b->id[j] && strcmp(a->key[i], b->key[j]) == 0;
}

/* The employees (capped at 2) of the group of r keyed like x's group xg
 * on r's first dimension and, when tkey is given, tkey on its second;
 * 0 when r has no such group (no answers). */
static uint8_t dc_persons_of(const an_result *r, const an_group *xg, const char *tkey)
{
	for (size_t g = 0; g < r->n_groups; g++)
		if (dc_same_key(&r->groups[g], 0, xg, 0) && (tkey == NULL || strcmp(r->groups[g].key[1], tkey) == 0))
			return r->groups[g].persons;
	return 0;
}

/* The employees of the union of two sets of answers from theirs (capped
 * at 2): two alone could be one person in both, so the union is surely
 * two only when one of them is; a bound from below that errs towards
 * the person threshold, never away from it. */
static uint8_t dc_union_persons(uint8_t a, uint8_t b)
{
	if (a == 2 || b == 2)
		return 2;
	return a || b ? 1 : 0;
}

/* Two-way: x (the other dimension) by a text dimension. */
static ks_err dc_text_two_way(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
			      const dc_text *tt, int ti, dc_reply *out, ks_error *e)
{
	const an_result *r = &out->r;
	an_dim td = r->dims[ti], xd = r->dims[1 - ti];
	int xi = 1 - ti;
	dc_reply xr;
	ks_err err = dc_query(ix, pol, f, period, &xd, 1, &xr, e);
	if (err)
		return err;
	/* The employees of "(x, not T)" and of x's answers without analysis,
	 * counted (the x cell's count is no bound for them: x with two
	 * employees can leave one alone in either). */
	an_result xabs, xun;
	memset(&xabs, 0, sizeof xabs);
	memset(&xun, 0, sizeof xun);
	an_dim dabs[2] = {xd, AN_DIM_THEME_ABSENT};
	an_filter fun = *f;
	fun.analysed = -1;
	err = an_query(ix, &fun, &xd, 1, &xun, e);
	if (!err && td == AN_DIM_THEME)
		err = an_query(ix, f, dabs, 2, &xabs, e);
	if (err) {
		an_result_free(&xun);
		dc_reply_free(&xr);
		return err;
	}
	dc_tt t = {.pol = pol, .person = f->employee_id != 0};
	sup_init(&t.t);
	size_t n = r->n_groups, nx = xr.r.n_groups;
	size_t *cell = calloc(n + 1, sizeof *cell), *cm = calloc(nx + 1, sizeof *cm);
	size_t *xof = calloc(n + 1, sizeof *xof);
	size_t c_tot = 0;
	if (!cell || !cm || !xof)
		err = KS_ERR_NOMEM;
	if (!err)
		err = dc_tt_cell(&t, &r->total, r->total_persons, false, &tt->total_vis, &c_tot);
	for (size_t x = 0; !err && x < nx; x++) {
		const an_group *g = &xr.r.groups[x];
		bool named = xd == AN_DIM_EMPLOYEE && g->id[0] != 0;
		err = dc_tt_cell(&t, &g->c, g->persons, named, &xr.groups[x], &cm[x]);
	}
	for (size_t g = 0; !err && g < n; g++) {
		const an_group *gr = &r->groups[g];
		bool named = xd == AN_DIM_EMPLOYEE && gr->id[xi] != 0;
		err = dc_tt_cell(&t, &gr->c, gr->persons, named, NULL, &cell[g]);
		for (int m = 0; !err && td == AN_DIM_SENTIMENT && m < SUP_MEASURES; m++)
			t.t.hidden[cell[g]][m] = true; /* dc_sentiment_unscored */
		xof[g] = SIZE_MAX;
		for (size_t x = 0; x < nx; x++)
			if (dc_same_key(gr, xi, &xr.r.groups[x], 0))
				xof[g] = x;
	}
	/* total = its x cells */
	if (!err)
		err = sup_line(&t.t, c_tot);
	for (size_t x = 0; !err && x < nx; x++)
		err = sup_member(&t.t, cm[x]);
	/* x = (x, T) + (x, not T) for each theme; x = its sentiments + its
	 * answers without analysis */
	for (size_t x = 0; !err && x < nx; x++) {
		const an_group *xg = &xr.r.groups[x];
		bool named = xd == AN_DIM_EMPLOYEE && xg->id[0] != 0;
		metrics_counts rest = xg->c;
		size_t first = 0;
		bool any = false;
		for (size_t g = 0; !err && g < n; g++) {
			if (xof[g] != x)
				continue;
			if (td == AN_DIM_THEME) {
				metrics_counts comp = xg->c;
				dc_counts_sub(&comp, &r->groups[g].c);
				/* x without T = x's answers without analysis + its
				 * analysed ones not mentioning T, both counted */
				uint8_t cp = dc_union_persons(dc_persons_of(&xun, xg, NULL),
							      dc_persons_of(&xabs, xg, r->groups[g].key[ti]));
				size_t cc;
				err = dc_tt_cell(&t, &comp, cp, named, NULL, &cc);
				err = err ? err : sup_line(&t.t, cm[x]);
				err = err ? err : sup_member(&t.t, cell[g]);
				err = err ? err : sup_member(&t.t, cc);
			} else {
				dc_counts_sub(&rest, &r->groups[g].c);
				if (!any)
					first = g;
				any = true;
			}
		}
		if (!err && td == AN_DIM_SENTIMENT && any) {
			/* the rest is x's answers without analysis: counted */
			size_t cc;
			err = dc_tt_cell(&t, &rest, dc_persons_of(&xun, xg, NULL), named, NULL, &cc);
			err = err ? err : sup_line(&t.t, cm[x]);
			for (size_t g = first; !err && g < n; g++)
				if (xof[g] == x)
					err = sup_member(&t.t, cell[g]);
			err = err ? err : sup_member(&t.t, cc);
		}
	}
	/* a text key's column: its one-way cell = its x cells */
	bool *done = calloc(n + 1, 1);
	if (!err && done == NULL)
		err = KS_ERR_NOMEM;
	for (size_t g = 0; !err && g < n; g++) {
		if (done[g])
			continue;
		const metrics_counts *kc = NULL;
		const dc_vis *kv = dc_text_key_vis(tt, td, r->groups[g].key[ti], &kc);
		if (kv == NULL)
			continue;
		size_t ck;
		err = dc_tt_cell(&t, kc, 2, false, kv, &ck);
		err = err ? err : sup_line(&t.t, ck);
		for (size_t k = g; !err && k < n; k++)
			if (!done[k] && strcmp(r->groups[k].key[ti], r->groups[g].key[ti]) == 0) {
				done[k] = true;
				err = sup_member(&t.t, cell[k]);
			}
	}
	free(done);
	an_result_free(&xun);
	an_result_free(&xabs);
	if (!err) {
		sup_run(&t.t);
		out->total = dc_tt_vis(&t.t, c_tot, &r->total);
		for (size_t g = 0; g < n; g++)
			out->groups[g] = dc_tt_vis(&t.t, cell[g], &r->groups[g].c);
	}
	sup_free(&t.t);
	free(cell);
	free(cm);
	free(xof);
	dc_reply_free(&xr);
	return err ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory") : KS_OK;
}

/* Dimensions the text table has cells for: units, employees, whole months,
 * quarters and years. */
static bool dc_text_canon_dim(an_dim d)
{
	return d == AN_DIM_EMPLOYEE || d == AN_DIM_TEAM || d == AN_DIM_DEPARTMENT || d == AN_DIM_ORGANISATION ||
	       d == AN_DIM_MONTH || d == AN_DIM_QUARTER || d == AN_DIM_YEAR;
}

/* Two-way, x a unit or a period: every cell is a cell of the text table
 * (the layer of its text key, the row and column of x and the filter). */
static ks_err dc_text_two_way_canon(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
				    const dc_text *tt, int ti, dc_reply *out, ks_error *e)
{
	const dc_canon *c = NULL;
	ks_err err = dc_canon_text_get(ix, pol, f, &c, e);
	if (err)
		return err;
	const an_result *r = &out->r;
	an_dim td = r->dims[ti];
	out->total = tt->total_vis;
	for (size_t g = 0; g < r->n_groups; g++) {
		char name[128];
		snprintf(name, sizeof name, "%s:%s", td == AN_DIM_THEME ? "t" : "s", r->groups[g].key[ti]);
		out->groups[g] = dc_text_canon_vis(ix, pol, c, f, period, r, &r->groups[g], name, &r->groups[g].c);
	}
	dc_canon_release(pol, c);
	return KS_OK;
}

ks_err dc_text_query(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
		     const an_dim *dims, int n_dims, dc_reply *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	if (n_dims == 2 && an_dim_is_text(dims[0]) && an_dim_is_text(dims[1]))
		return ks_fail(e, KS_ERR_INVALID, "group_by", "theme and sentiment cannot be grouped together");
	dc_text tt;
	ks_err err = dc_text_table(ix, pol, f, period, &tt, e);
	if (err)
		return err;
	err = an_query(ix, f, dims, n_dims, &out->r, e);
	if (!err) {
		out->groups = calloc(out->r.n_groups ? out->r.n_groups : 1, sizeof *out->groups);
		if (out->groups == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	int ti = an_dim_is_text(dims[0]) ? 0 : 1;
	if (!err && n_dims == 1) {
		out->total = tt.total_vis;
		for (size_t g = 0; g < out->r.n_groups; g++) {
			const metrics_counts *kc = NULL;
			const dc_vis *v = dc_text_key_vis(&tt, dims[0], out->r.groups[g].key[0], &kc);
			out->groups[g] = v ? *v : (dc_vis){.min_n = pol->min_n_person};
		}
	} else if (!err && dc_text_canonical(f, period) && dc_text_canon_dim(dims[1 - ti])) {
		err = dc_text_two_way_canon(ix, pol, f, period, &tt, ti, out, e);
	} else if (!err) {
		err = dc_text_two_way(ix, pol, f, period, &tt, ti, out, e);
	}
	dc_text_free(&tt);
	if (err)
		dc_reply_free(out);
	else if (f->sentiment[0] || dims[0] == AN_DIM_SENTIMENT || (n_dims == 2 && dims[1] == AN_DIM_SENTIMENT))
		dc_sentiment_unscored(out, f->sentiment[0] != '\0');
	return err;
}
