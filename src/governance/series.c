/* series.c — every KPI as org units × months (series.h).
 *
 * One function per source: hard values with their aggregation up the org
 * tree, NPS/grade/CES through disclosure control, theme shares and the
 * store's counts (response rate, case SLA) summed up the tree, and the
 * pulse's eNPS cells. Each fills the cells of a series whose rows (every
 * unit of the level) and columns (every month from..to) are laid out first.
 */
#include "governance/series.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pulse/pulse.h"

static const char *const gov_soft_words[] = {"nps", "grade", "ces", "enps", "response_rate", "case_sla", NULL};

bool gov_kpi_is_soft(const char *key)
{
	if (key == NULL)
		return false;
	if (strncmp(key, "theme:", 6) == 0)
		return true;
	for (size_t i = 0; gov_soft_words[i]; i++)
		if (strcmp(key, gov_soft_words[i]) == 0)
			return true;
	return false;
}

static const char *const gov_level_names[] = {"team", "department", "organisation"};

int gov_level_from_name(const char *name)
{
	for (int i = 0; name && i < 3; i++)
		if (strcmp(name, gov_level_names[i]) == 0)
			return i;
	return -1;
}

const char *gov_level_name(int level)
{
	return level >= 0 && level < 3 ? gov_level_names[level] : NULL;
}

void gov_series_free(gov_series *g)
{
	if (g == NULL)
		return;
	free(g->unit_ids);
	free(g->periods);
	free(g->cells);
	memset(g, 0, sizeof *g);
}

/* ---- layout ------------------------------------------------------------------ */

/* 'YYYY-MM' -> year * 12 + month - 1; -1 when malformed. */
static int gov_ym(const char *p)
{
	if (p == NULL || strlen(p) != 7 || p[4] != '-')
		return -1;
	for (int i = 0; i < 7; i++)
		if (i != 4 && (p[i] < '0' || p[i] > '9'))
			return -1;
	int y = atoi(p), m = atoi(p + 5);
	if (y < 1900 || y > 2999 || m < 1 || m > 12)
		return -1;
	return y * 12 + m - 1;
}

static ks_err gov_months(gov_series *g, const char *from, const char *to, int *ym0, ks_error *e)
{
	int a = gov_ym(from), b = gov_ym(to);
	if (a < 0)
		return ks_fail(e, KS_ERR_INVALID, "from", "from must be a month YYYY-MM");
	if (b < 0)
		return ks_fail(e, KS_ERR_INVALID, "to", "to must be a month YYYY-MM");
	if (b < a)
		return ks_fail(e, KS_ERR_INVALID, "to", "to must not be before from");
	if (b - a + 1 > GOV_MAX_PERIODS)
		return ks_fail(e, KS_ERR_INVALID, "to", "at most %d months in one series", GOV_MAX_PERIODS);
	g->n_periods = (size_t)(b - a + 1);
	g->periods = calloc(g->n_periods, sizeof *g->periods);
	if (g->periods == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < g->n_periods; i++) {
		/* a, b checked: years 1900..2999, so four digits */
		unsigned ym = (unsigned)(a + (int)i);
		snprintf(g->periods[i], sizeof g->periods[i], "%04u-%02u", ym / 12 % 10000, ym % 12 + 1);
	}
	*ym0 = a;
	return KS_OK;
}

/* The org tree read once, with each unit's kind as a level. */
typedef struct gov_tree {
	store_kpi_unit *u;
	size_t n;
	int *level;            /* GOV_LEVEL_* of u[i], -1 for none */
} gov_tree;

static void gov_tree_free(gov_tree *t)
{
	free(t->u);
	free(t->level);
}

static ks_err gov_tree_load(ks_store *s, gov_tree *t, ks_error *e)
{
	memset(t, 0, sizeof *t);
	ks_err err = store_kpi_units(s, &t->u, &t->n, e);
	if (!err && !(t->level = calloc(t->n ? t->n : 1, sizeof *t->level)))
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < t->n; i++)
		t->level[i] = gov_level_from_name(t->u[i].kind);
	return err;
}

/* Index of unit id in t (ids ascending), -1 when unknown. */
static long gov_tree_find(const gov_tree *t, int64_t id)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->u[mid].id == id)
			return (long)mid;
		if (t->u[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The unit at level that id is or lies below, 0 when none. */
static int64_t gov_tree_at(const gov_tree *t, int64_t id, int level)
{
	for (int depth = 0; id && depth < 16; depth++) {
		long i = gov_tree_find(t, id);
		if (i < 0)
			return 0;
		if (t->level[i] == level)
			return id;
		id = t->u[i].parent_id;
	}
	return 0;
}

/* Rows: every unit of the level, ascending. */
static ks_err gov_rows(gov_series *g, const gov_tree *t, ks_error *e)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n; i++)
		k += t->level[i] == g->level;
	g->unit_ids = calloc(k ? k : 1, sizeof *g->unit_ids);
	g->cells = calloc((k ? k : 1) * (g->n_periods ? g->n_periods : 1), sizeof *g->cells);
	if (g->unit_ids == NULL || g->cells == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < t->n; i++)
		if (t->level[i] == g->level)
			g->unit_ids[g->n_units++] = t->u[i].id;
	return KS_OK;
}

static long gov_row_of(const gov_series *g, int64_t unit)
{
	size_t lo = 0, hi = g->n_units;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (g->unit_ids[mid] == unit)
			return (long)mid;
		if (g->unit_ids[mid] < unit)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static long gov_col_of(const gov_series *g, int ym0, const char *period)
{
	int ym = gov_ym(period);
	if (ym < ym0 || ym - ym0 >= (int)g->n_periods)
		return -1;
	return ym - ym0;
}

static gov_cell *gov_at(gov_series *g, int ym0, int64_t unit, const char *period)
{
	long r = gov_row_of(g, unit), c = gov_col_of(g, ym0, period);
	return r < 0 || c < 0 ? NULL : &g->cells[(size_t)r * g->n_periods + (size_t)c];
}

const gov_cell *gov_series_cell(const gov_series *g, int64_t unit_id, const char *period)
{
	if (g == NULL || g->n_periods == 0)
		return NULL;
	return gov_at((gov_series *)g, gov_ym(g->periods[0]), unit_id, period);
}

/* ---- hard KPIs ------------------------------------------------------------------ */

typedef struct gov_hard {
	const gov_tree *t;
	size_t n_periods;
	int ym0;
	char agg[8];
	/* own values: [unit index in t][period], with their update times */
	double *v;
	int64_t *at;
	bool *has;
} gov_hard;

/* value(u, p): the unit's own value, else the aggregation of the units
 * directly below it that have a value (their own or, recursively, theirs).
 * sum and mean are of those child values; last takes the child value
 * updated most recently (ties: the higher unit id) — for KPIs given once
 * for the whole, as a brand index. *n: 1 for an own value, the children
 * used otherwise. */
static bool gov_hard_value(const gov_hard *h, size_t ui, size_t p, int depth, double *v, int64_t *n,
			   int64_t *at)
{
	size_t k = ui * h->n_periods + p;
	if (h->has[k]) {
		*v = h->v[k];
		*n = 1;
		*at = h->at[k];
		return true;
	}
	if (depth > 8)
		return false;
	double sum = 0, last = 0;
	int64_t used = 0, last_at = -1, last_id = 0;
	for (size_t c = 0; c < h->t->n; c++) {
		if (h->t->u[c].parent_id != h->t->u[ui].id)
			continue;
		double cv;
		int64_t cn, cat;
		if (!gov_hard_value(h, c, p, depth + 1, &cv, &cn, &cat))
			continue;
		used++;
		sum += cv;
		if (cat > last_at || (cat == last_at && h->t->u[c].id > last_id)) {
			last_at = cat;
			last_id = h->t->u[c].id;
			last = cv;
		}
	}
	if (used == 0)
		return false;
	*n = used;
	*at = last_at;
	*v = strcmp(h->agg, "sum") == 0 ? sum : strcmp(h->agg, "mean") == 0 ? sum / (double)used : last;
	return true;
}

static ks_err gov_hard_fill(ks_store *s, const gov_tree *t, gov_series *g, int ym0, const char *from,
			    const char *to, ks_error *e)
{
	store_kpi k;
	ks_err err = store_kpi_by_key(s, g->kpi, &k, e);
	if (err == KS_ERR_NOTFOUND)
		return ks_fail(e, KS_ERR_INVALID, "kpi", "no KPI with key %.47s (a catalogue key or a soft KPI)", g->kpi);
	if (err)
		return err;
	gov_hard h = {.t = t, .n_periods = g->n_periods, .ym0 = ym0};
	snprintf(h.agg, sizeof h.agg, "%s", k.aggregation);
	size_t cells = (t->n ? t->n : 1) * g->n_periods;
	h.v = calloc(cells, sizeof *h.v);
	h.at = calloc(cells, sizeof *h.at);
	h.has = calloc(cells, sizeof *h.has);
	store_kpi_value *vals = NULL;
	size_t nv = 0;
	if (h.v == NULL || h.at == NULL || h.has == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err)
		err = store_kpi_values_get(s, k.id, from, to, &vals, &nv, e);
	for (size_t i = 0; !err && i < nv; i++) {
		long ui = gov_tree_find(t, vals[i].unit_id);
		int ym = gov_ym(vals[i].period);
		if (ui < 0 || ym < ym0 || ym - ym0 >= (int)g->n_periods)
			continue;
		size_t c = (size_t)ui * g->n_periods + (size_t)(ym - ym0);
		h.v[c] = vals[i].value;
		h.at[c] = vals[i].updated_at;
		h.has[c] = true;
	}
	for (size_t r = 0; !err && r < g->n_units; r++) {
		long ui = gov_tree_find(t, g->unit_ids[r]);
		for (size_t p = 0; ui >= 0 && p < g->n_periods; p++) {
			gov_cell *c = &g->cells[r * g->n_periods + p];
			int64_t at;
			c->present = gov_hard_value(&h, (size_t)ui, p, 0, &c->value, &c->n, &at);
			if (!c->present)
				c->value = 0, c->n = 0;
		}
	}
	free(vals);
	free(h.v);
	free(h.at);
	free(h.has);
	return err;
}

/* ---- NPS, grade, CES: through disclosure control --------------------------------- */

static an_dim gov_level_dim(int level)
{
	return level == GOV_LEVEL_TEAM ? AN_DIM_TEAM : level == GOV_LEVEL_DEPARTMENT ? AN_DIM_DEPARTMENT
										 : AN_DIM_ORGANISATION;
}

/* The cell exactly as /metrics?group_by=<level>,month (all time) shows
 * it: the measure's mask and threshold from dc_query. */
static void gov_score_cell(const char *kpi, const an_group *gr, const dc_vis *v, gov_cell *c)
{
	const metrics_counts *m = &gr->c;
	c->present = false;
	c->value = 0;
	if (strcmp(kpi, "nps") == 0) {
		c->n = m->nps_n;
		if (v->show.nps && m->nps_n > 0 && m->nps_n >= v->min_n) {
			c->value = 100.0 * (double)(m->promoters - m->detractors) / (double)m->nps_n;
			c->present = true;
		}
	} else if (strcmp(kpi, "grade") == 0) {
		c->n = m->grade_n;
		if (v->show.grade && m->grade_n > 0 && m->grade_n >= v->min_n) {
			c->value = (double)m->grade_sum / (double)m->grade_n;
			c->present = true;
		}
	} else {
		c->n = m->ces_n;
		if (v->show.ces && m->ces_n > 0 && m->ces_n >= v->min_n) {
			c->value = (double)m->ces_sum / (double)m->ces_n;
			c->present = true;
		}
	}
	if (!c->present)
		c->n = 0; /* an absent cell says nothing, not even how few answered */
}

static ks_err gov_score_fill(an_index *ix, const dc_policy *pol, gov_series *g, int ym0, ks_error *e)
{
	an_filter f;
	memset(&f, 0, sizeof f);
	f.to = pol->as_of;
	an_dim dims[2] = {gov_level_dim(g->level), AN_DIM_MONTH};
	dc_reply d;
	ks_err err = dc_query(ix, pol, &f, "", dims, 2, &d, e);
	if (err)
		return err;
	for (size_t i = 0; i < d.r.n_groups; i++) {
		const an_group *gr = &d.r.groups[i];
		gov_cell *c = gov_at(g, ym0, gr->id[0], gr->key[1]);
		if (c)
			gov_score_cell(g->kpi, gr, &d.groups[i], c);
	}
	dc_reply_free(&d);
	return KS_OK;
}

/* ---- theme shares: analysed answers mentioning the theme ------------------------- */

static ks_err gov_theme_fill(an_index *ix, const dc_policy *pol, gov_series *g, int ym0, ks_error *e)
{
	const char *id = g->kpi + 6;
	char seen[AN_MAX_THEMES][48];
	size_t n = an_index_theme_ids(ix, seen, AN_MAX_THEMES);
	bool known = false;
	for (size_t i = 0; i < n && !known; i++)
		known = strcmp(seen[i], id) == 0;
	if (!known)
		return ks_fail(e, KS_ERR_INVALID, "kpi", "no analysed answer mentions a theme %.40s (theme:<id> "
			       "of the taxonomy)", id);
	an_filter f;
	memset(&f, 0, sizeof f);
	f.to = pol->as_of;
	f.analysed = 1;
	f.raw_keys = false;
	an_dim dims[2] = {gov_level_dim(g->level), AN_DIM_MONTH};
	an_result all, with;
	ks_err err = an_query(ix, &f, dims, 2, &all, e);
	if (err)
		return err;
	snprintf(f.theme, sizeof f.theme, "%s", id);
	err = an_query(ix, &f, dims, 2, &with, e);
	if (err) {
		an_result_free(&all);
		return err;
	}
	for (size_t i = 0; i < all.n_groups; i++) {
		const an_group *gr = &all.groups[i];
		gov_cell *c = gov_at(g, ym0, gr->id[0], gr->key[1]);
		/* one person's answers take the person threshold (disclose.h rule 2) */
		int64_t min_n = gr->persons == 1 ? pol->min_n_person : pol->min_n;
		if (c == NULL || gr->c.n < min_n || gr->c.n <= 0)
			continue;
		int64_t k = 0;
		for (size_t j = 0; j < with.n_groups; j++)
			if (with.groups[j].id[0] == gr->id[0] && strcmp(with.groups[j].key[1], gr->key[1]) == 0)
				k = with.groups[j].c.n;
		c->value = (double)k / (double)gr->c.n;
		c->n = gr->c.n;
		c->present = true;
	}
	an_result_free(&all);
	an_result_free(&with);
	return KS_OK;
}

/* ---- response rate and case SLA: the store's counts summed up the tree ------------ */

static ks_err gov_count_fill(ks_store *s, const gov_tree *t, const dc_policy *pol, gov_series *g, int ym0,
			     const char *from, const char *to, ks_error *e)
{
	store_kpi_count *k = NULL;
	size_t n = 0;
	bool sla = strcmp(g->kpi, "case_sla") == 0;
	ks_err err = sla ? store_kpi_sla_counts(s, from, to, pol->as_of, &k, &n, e)
			 : store_kpi_response_counts(s, from, to, &k, &n, e);
	if (err)
		return err;
	int64_t *num = calloc(g->n_units * g->n_periods + 1, sizeof *num);
	int64_t *den = calloc(g->n_units * g->n_periods + 1, sizeof *den);
	if (num == NULL || den == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < n; i++) {
		int64_t unit = gov_tree_at(t, k[i].unit_id, g->level);
		long r = unit ? gov_row_of(g, unit) : -1, c = gov_col_of(g, ym0, k[i].period);
		if (r < 0 || c < 0)
			continue;
		num[(size_t)r * g->n_periods + (size_t)c] += k[i].num;
		den[(size_t)r * g->n_periods + (size_t)c] += k[i].den;
	}
	for (size_t i = 0; !err && i < g->n_units * g->n_periods; i++) {
		if (den[i] < pol->min_n || den[i] <= 0)
			continue;
		g->cells[i].value = (double)num[i] / (double)den[i];
		g->cells[i].n = den[i];
		g->cells[i].present = true;
	}
	free(num);
	free(den);
	free(k);
	return err;
}

/* ---- eNPS: the pulse's own cells -------------------------------------------------- */

static ks_err gov_enps_fill(ks_store *s, gov_series *g, int ym0, const char *from, const char *to, ks_error *e)
{
	int64_t *units = NULL;
	char(*periods)[8] = NULL;
	gov_cell *cells = NULL;
	size_t n = 0;
	ks_err err = pulse_enps_cells(s, g->level, from, to, &units, &periods, &cells, &n, e);
	for (size_t i = 0; !err && i < n; i++) {
		gov_cell *c = gov_at(g, ym0, units[i], periods[i]);
		if (c && cells[i].present)
			*c = cells[i];
	}
	free(units);
	free(periods);
	free(cells);
	return err;
}

/* ---- the series ------------------------------------------------------------------- */

static ks_err gov_fill(ks_store *s, an_index *ix, const dc_policy *pol, const gov_tree *t, gov_series *g,
		       int ym0, const char *from, const char *to, ks_error *e)
{
	const char *k = g->kpi;
	if (!gov_kpi_is_soft(k))
		return gov_hard_fill(s, t, g, ym0, from, to, e);
	if (strncmp(k, "theme:", 6) == 0)
		return gov_theme_fill(ix, pol, g, ym0, e);
	if (strcmp(k, "nps") == 0 || strcmp(k, "grade") == 0 || strcmp(k, "ces") == 0)
		return gov_score_fill(ix, pol, g, ym0, e);
	if (strcmp(k, "response_rate") == 0 || strcmp(k, "case_sla") == 0)
		return gov_count_fill(s, t, pol, g, ym0, from, to, e);
	return gov_enps_fill(s, g, ym0, from, to, e);
}

static ks_err gov_check_key(const char *kpi, ks_error *e)
{
	size_t n = kpi ? strlen(kpi) : 0;
	if (n == 0 || n >= sizeof ((gov_series *)0)->kpi)
		return ks_fail(e, KS_ERR_INVALID, "kpi", "kpi must be a KPI key or a soft KPI (nps, grade, ces, "
			       "enps, response_rate, case_sla, theme:<id>)");
	if (strncmp(kpi, "theme:", 6) == 0 && (n == 6 || n - 6 > 40))
		return ks_fail(e, KS_ERR_INVALID, "kpi", "theme:<id> names a theme of the taxonomy");
	return KS_OK;
}

ks_err gov_series_get_pol(ks_store *s, an_index *ix, const dc_policy *pol, const char *kpi, int level,
			  const char *from, const char *to, gov_series *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	dc_policy def = {.min_n = 5, .min_n_person = 10};
	if (pol == NULL) {
		def.as_of = store_kpi_as_of(s);
		pol = &def;
	}
	ks_err err = gov_check_key(kpi, e);
	if (!err && gov_level_name(level) == NULL)
		err = ks_fail(e, KS_ERR_INVALID, "level", "level must be team, department or organisation");
	if (err)
		return err;
	snprintf(out->kpi, sizeof out->kpi, "%s", kpi);
	out->level = level;
	int ym0 = 0;
	gov_tree t = {0};
	err = gov_months(out, from, to, &ym0, e);
	if (!err)
		err = gov_tree_load(s, &t, e);
	if (!err)
		err = gov_rows(out, &t, e);
	if (!err)
		err = gov_fill(s, ix, pol, &t, out, ym0, from, to, e);
	gov_tree_free(&t);
	if (err)
		gov_series_free(out);
	return err;
}

ks_err gov_series_get(ks_store *s, an_index *ix, const char *kpi, int level, const char *from,
		      const char *to, gov_series *out, ks_error *e)
{
	return gov_series_get_pol(s, ix, NULL, kpi, level, from, to, out, e);
}

json_t *gov_series_json(const gov_series *g, bool (*keep)(int64_t unit_id, void *arg), void *arg)
{
	json_t *periods = json_array(), *units = json_array();
	for (size_t p = 0; p < g->n_periods; p++)
		json_array_append_new(periods, json_string(g->periods[p]));
	for (size_t r = 0; r < g->n_units; r++) {
		if (keep && !keep(g->unit_ids[r], arg))
			continue;
		json_t *vals = json_array(), *ns = json_array();
		for (size_t p = 0; p < g->n_periods; p++) {
			const gov_cell *c = &g->cells[r * g->n_periods + p];
			json_array_append_new(vals, c->present ? json_real(c->value) : json_null());
			json_array_append_new(ns, c->present ? json_integer(c->n) : json_null());
		}
		json_array_append_new(units, json_pack("{s:I, s:o, s:o}", "unit_id", (json_int_t)g->unit_ids[r],
						       "values", vals, "n", ns));
	}
	json_t *out = json_pack("{s:s, s:s, s:o, s:o}", "kpi", g->kpi, "level", gov_level_name(g->level),
				"periods", periods, "units", units);
	return out;
}
