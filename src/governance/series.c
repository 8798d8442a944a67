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

#include "disclose/canon.h"
#include "governance/kpi.h"
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

/* The org tree read once, with each unit's kind as a level, its children
 * (an index built once: a scan of every unit per unit and month took 11 s
 * for 3,000 teams) and an order in which every unit comes after all units
 * below it, so values and counts are filled bottom-up in one pass. */
typedef struct gov_tree {
	store_kpi_unit *u;
	size_t n;
	int *level;            /* GOV_LEVEL_* of u[i], -1 for none */
	size_t *kid_off;       /* children of u[i]: kid[kid_off[i] .. kid_off[i + 1]) (indexes into u) */
	size_t *kid;
	size_t *up;            /* n_up indexes, children before their parent */
	size_t n_up;
} gov_tree;

static void gov_tree_free(gov_tree *t)
{
	free(t->u);
	free(t->level);
	free(t->kid_off);
	free(t->kid);
	free(t->up);
}

static long gov_tree_find(const gov_tree *t, int64_t id);

/* Children lists and the bottom-up order: breadth first from the roots
 * (units whose parent is no unit), reversed. A unit on a cycle (which the
 * org tree does not allow) is reached from no root and left out. */
static ks_err gov_tree_index(gov_tree *t, ks_error *e)
{
	size_t n = t->n;
	long *parent = malloc((n ? n : 1) * sizeof *parent);
	t->kid_off = calloc(n + 1, sizeof *t->kid_off);
	t->kid = malloc((n ? n : 1) * sizeof *t->kid);
	t->up = malloc((n ? n : 1) * sizeof *t->up);
	size_t *fill = calloc(n + 1, sizeof *fill);
	if (!parent || !t->kid_off || !t->kid || !t->up || !fill) {
		free(parent);
		free(fill);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		parent[i] = t->u[i].parent_id ? gov_tree_find(t, t->u[i].parent_id) : -1;
		if (parent[i] == (long)i)
			parent[i] = -1;
		if (parent[i] >= 0)
			t->kid_off[parent[i] + 1]++;
	}
	for (size_t i = 0; i < n; i++)
		t->kid_off[i + 1] += t->kid_off[i];
	for (size_t i = 0; i < n; i++)
		if (parent[i] >= 0)
			t->kid[t->kid_off[parent[i]] + fill[parent[i]]++] = i;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (parent[i] < 0)
			t->up[k++] = i;
	for (size_t h = 0; h < k; h++)
		for (size_t j = t->kid_off[t->up[h]]; j < t->kid_off[t->up[h] + 1]; j++)
			t->up[k++] = t->kid[j];
	for (size_t a = 0, b = k; a + 1 < b; a++, b--) {
		size_t x = t->up[a];
		t->up[a] = t->up[b - 1];
		t->up[b - 1] = x;
	}
	t->n_up = k;
	free(parent);
	free(fill);
	return KS_OK;
}

static ks_err gov_tree_load(ks_store *s, gov_tree *t, ks_error *e)
{
	memset(t, 0, sizeof *t);
	ks_err err = store_kpi_units(s, &t->u, &t->n, e);
	if (!err && !(t->level = calloc(t->n ? t->n : 1, sizeof *t->level)))
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < t->n; i++)
		t->level[i] = gov_level_from_name(t->u[i].kind);
	return err ? err : gov_tree_index(t, e);
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

/* value(u, p): the unit's own value, else the aggregation of the units
 * directly below it that have a value (their own or, recursively, theirs).
 * sum and mean are of those child values; last takes the child value
 * updated most recently (ties: the higher unit id) — for KPIs given once
 * for the whole, as a brand index. n: 1 for an own value, the children
 * used otherwise. Filled bottom-up (t->up), so each child is done before
 * its parent: one pass over the units per month. */
typedef struct gov_hard {
	double *v;
	int64_t *at, *n;       /* [unit index in t][period]; n 0: no value */
} gov_hard;

static void gov_hard_up(const gov_tree *t, const char *agg, size_t n_periods, gov_hard *h)
{
	bool sum = strcmp(agg, "sum") == 0, mean = strcmp(agg, "mean") == 0;
	for (size_t o = 0; o < t->n_up; o++) {
		size_t ui = t->up[o];
		for (size_t p = 0; p < n_periods; p++) {
			size_t k = ui * n_periods + p;
			if (h->n[k] > 0)
				continue; /* its own value */
			double total = 0, last = 0;
			int64_t used = 0, last_at = -1, last_id = 0;
			for (size_t j = t->kid_off[ui]; j < t->kid_off[ui + 1]; j++) {
				size_t c = t->kid[j], ck = c * n_periods + p;
				if (h->n[ck] == 0)
					continue;
				used++;
				total += h->v[ck];
				if (h->at[ck] > last_at || (h->at[ck] == last_at && t->u[c].id > last_id)) {
					last_at = h->at[ck];
					last_id = t->u[c].id;
					last = h->v[ck];
				}
			}
			if (used == 0)
				continue;
			h->n[k] = -used; /* negative while filling: aggregated, not its own */
			h->at[k] = last_at;
			h->v[k] = sum ? total : mean ? total / (double)used : last;
		}
	}
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
	gov_hard h;
	size_t cells = (t->n ? t->n : 1) * g->n_periods;
	h.v = calloc(cells, sizeof *h.v);
	h.at = calloc(cells, sizeof *h.at);
	h.n = calloc(cells, sizeof *h.n);
	store_kpi_value *vals = NULL;
	size_t nv = 0;
	if (h.v == NULL || h.at == NULL || h.n == NULL)
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
		h.n[c] = 1;
	}
	if (!err)
		gov_hard_up(t, k.aggregation, g->n_periods, &h);
	for (size_t r = 0; !err && r < g->n_units; r++) {
		long ui = gov_tree_find(t, g->unit_ids[r]);
		for (size_t p = 0; ui >= 0 && p < g->n_periods; p++) {
			size_t hk = (size_t)ui * g->n_periods + p;
			gov_cell *c = &g->cells[r * g->n_periods + p];
			c->present = h.n[hk] != 0;
			c->value = c->present ? h.v[hk] : 0;
			c->n = h.n[hk] < 0 ? -h.n[hk] : h.n[hk];
		}
	}
	free(vals);
	free(h.v);
	free(h.at);
	free(h.n);
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

/* Is a cell open, as /metrics prints it (not "insufficient"): enough
 * responses, and a measure with enough answers that disclosure control
 * lets through (metrics_json_members_masked's rule; api_themes.c's
 * api_cell_open). */
static bool gov_open(const metrics_counts *c, const dc_vis *v)
{
	if (c->n <= 0 || c->n < v->min_n)
		return false;
	const int64_t cnt[3] = {c->nps_n, c->grade_n, c->ces_n};
	const bool allow[3] = {v->show.nps, v->show.grade, v->show.ces};
	for (int i = 0; i < 3; i++)
		if (cnt[i] > 0 && cnt[i] >= v->min_n && allow[i])
			return true;
	return false;
}

/* The decision of the organisation's text table (canon.h) on the analysed
 * answers of a unit in a month: the share's denominator, a cell of the same
 * table whose theme layer decides the numerator (every = analysed + not
 * analysed; analysed = with T + without T). No public reply prints it
 * apart, so it is read where dc_text_table reads it. */
static dc_vis gov_analysed_vis(const dc_canon *c, ssize_t layer, int level, int64_t unit, const char *month,
			       const metrics_counts *cnt, const dc_policy *pol)
{
	dc_vis v = {.min_n = pol->min_n};
	static const char kinds[] = {'t', 'd', 'o'};
	ssize_t r = layer >= 0 ? dc_canon_row(c, kinds[level], unit) : -1;
	ssize_t col = r >= 0 ? dc_canon_col(c, month) : -1;
	if (col < 0)
		return v; /* nothing shown */
	size_t k = c->cell[((size_t)layer * c->n_rows + (size_t)r) * c->n_cols + (size_t)col];
	const int64_t answered[SUP_MEASURES] = {cnt->nps_n, cnt->grade_n, cnt->ces_n};
	int64_t lo = INT64_MAX, hi = 0;
	for (int m = 0; m < SUP_MEASURES; m++) {
		int64_t thr = c->t.min_n[k][m];
		hi = thr > hi ? thr : hi;
		if (answered[m] > 0 && thr < lo)
			lo = thr;
	}
	v.min_n = lo == INT64_MAX ? hi : lo;
	v.show.nps = !c->t.hidden[k][0];
	v.show.grade = !c->t.hidden[k][1];
	v.show.ces = !c->t.hidden[k][2];
	return v;
}

/* share(u, m) = answers of u in m mentioning T / analysed answers of u in
 * m. Both are cells of the disclosure layer: the numerator exactly as
 * /metrics?theme=T&group_by=<level>,month shows it (dc_query; the text
 * table's layer of T, decided once for the organisation with complementary
 * suppression), the denominator the same table's analysed cell. The share
 * is shown only when both are: a department's share minus a shown team's
 * gives no hidden team's share, as /metrics?group_by=team,theme hides it. */
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
	/* one canonical text table for both reads (built once, not twice) */
	dc_policy p = *pol;
	ks_err err = p.cache ? KS_OK : dc_cache_new(&p.cache);
	if (err)
		return ks_fail(e, err, NULL, "out of memory");
	an_dim dims[2] = {gov_level_dim(g->level), AN_DIM_MONTH};
	an_filter f;
	memset(&f, 0, sizeof f);
	f.to = p.as_of;
	const dc_canon *c = NULL;
	an_result den;
	memset(&den, 0, sizeof den);
	dc_reply num;
	memset(&num, 0, sizeof num);
	err = dc_canon_text_get(ix, &p, &f, &c, e);
	if (!err) {
		f.analysed = 1;
		err = an_query(ix, &f, dims, 2, &den, e);
		f.analysed = 0;
	}
	if (!err) {
		snprintf(f.theme, sizeof f.theme, "%s", id);
		err = dc_query(ix, &p, &f, "", dims, 2, &num, e);
	}
	ssize_t la = c ? dc_canon_layer_of(c, "analysed") : -1;
	/* the denominator's group by cell of the series */
	const an_group **den_at = err ? NULL : calloc(g->n_units * g->n_periods + 1, sizeof *den_at);
	if (!err && den_at == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t j = 0; !err && j < den.n_groups; j++) {
		gov_cell *dc = gov_at(g, ym0, den.groups[j].id[0], den.groups[j].key[1]);
		if (dc)
			den_at[dc - g->cells] = &den.groups[j];
	}
	for (size_t i = 0; !err && i < num.r.n_groups; i++) {
		const an_group *gr = &num.r.groups[i];
		gov_cell *cell = gov_at(g, ym0, gr->id[0], gr->key[1]);
		if (cell == NULL || !gov_open(&gr->c, &num.groups[i]))
			continue;
		const an_group *dg = den_at[cell - g->cells];
		if (dg == NULL)
			continue;
		dc_vis dv = gov_analysed_vis(c, la, g->level, gr->id[0], gr->key[1], &dg->c, &p);
		if (!gov_open(&dg->c, &dv))
			continue;
		cell->value = (double)gr->c.n / (double)dg->c.n;
		cell->n = dg->c.n;
		cell->present = true;
	}
	free(den_at);
	if (c)
		dc_canon_release(&p, c);
	dc_reply_free(&num);
	an_result_free(&den);
	if (p.cache != pol->cache)
		dc_cache_free(p.cache);
	return err;
}

/* ---- response rate and case SLA: the store's counts, through suppression ---------- */

/* The people a cell's rows name: 0 none, an id when exactly one, -1 several. */
static int64_t gov_persons_merge(int64_t a, int64_t b)
{
	return a == 0 ? b : b == 0 || a == b ? a : -1;
}

/* The counts of one unit and month: its own rows and, below them, the
 * whole subtree's. */
typedef struct gov_count_cell {
	int64_t own_num, own_den, own_pers;
	int64_t num, den, pers;
	size_t cell, own_cell;  /* their cells in the suppression table (own: SIZE_MAX when none) */
} gov_count_cell;

/* Two or more hidden members of a line are known together (the total minus
 * the shown ones): when that sum holds fewer than min_n rows it tells about
 * a handful of customers or cases, so one more member is hidden, the shown
 * one with the fewest rows, or the total when none is left (pulse.c's
 * rule). One cell per call; true when it hid one (sup_run then runs again). */
static bool gov_protect_sums(const gov_tree *t, const gov_count_cell *x, size_t np, int64_t min_n, sup_table *st)
{
	for (size_t i = 0; i < t->n; i++) {
		for (size_t p = 0; p < np; p++) {
			const gov_count_cell *c = &x[i * np + p];
			if (t->kid_off[i] == t->kid_off[i + 1] || c->den == 0 || st->hidden[c->cell][0])
				continue;
			int64_t hidden = 0;
			size_t best = SIZE_MAX;
			for (size_t j = t->kid_off[i]; j <= t->kid_off[i + 1]; j++) {
				size_t idx = j < t->kid_off[i + 1] ? x[t->kid[j] * np + p].cell : c->own_cell;
				if (idx == SIZE_MAX || st->count[idx][0] <= 0)
					continue;
				if (st->hidden[idx][0])
					hidden += st->count[idx][0];
				else if (best == SIZE_MAX || st->count[idx][0] < st->count[best][0])
					best = idx;
			}
			if (hidden > 0 && hidden < min_n) {
				st->hidden[best == SIZE_MAX ? c->cell : best][0] = true;
				return true;
			}
		}
	}
	return false;
}

/* Every unit × month as a cell of suppress.h, each unit with children a
 * line "unit = its children + its own rows", each cell's threshold the
 * group's (min_n) or, when its rows name exactly one employee (response
 * rate: the invitation's employee) or owner (case SLA: the case's owner),
 * the person's (min_n_person): no line holds exactly one hidden cell, so
 * no hidden rate is a department's minus its shown teams'. */
static ks_err gov_count_suppress(const gov_tree *t, gov_count_cell *x, size_t np, const dc_policy *pol,
				 sup_table *st)
{
	ks_err err = KS_OK;
	for (size_t i = 0; !err && i < t->n * np; i++) {
		for (int own = 0; !err && own < 2; own++) {
			int64_t den = own ? x[i].own_den : x[i].den, pers = own ? x[i].own_pers : x[i].pers;
			size_t *at = own ? &x[i].own_cell : &x[i].cell;
			*at = SIZE_MAX;
			/* no rows: known empty, no cell (a table of 3,000 teams x 120
			 * months is mostly empty); a leaf's own rows are its cell */
			if (den == 0 || (own && t->kid_off[i / np] == t->kid_off[i / np + 1]))
				continue;
			int64_t cnt[SUP_MEASURES] = {den, 0, 0};
			int64_t thr[SUP_MEASURES] = {pers > 0 ? pol->min_n_person : pol->min_n, 1, 1};
			err = sup_cell(st, cnt, thr, at);
		}
	}
	for (size_t i = 0; !err && i < t->n; i++) {
		if (t->kid_off[i] == t->kid_off[i + 1])
			continue;
		for (size_t p = 0; !err && p < np; p++) {
			const gov_count_cell *c = &x[i * np + p];
			if (c->den == 0)
				continue; /* every member known empty */
			err = sup_line(st, c->cell);
			for (size_t j = t->kid_off[i]; !err && j < t->kid_off[i + 1]; j++)
				if (x[t->kid[j] * np + p].cell != SIZE_MAX)
					err = sup_member(st, x[t->kid[j] * np + p].cell);
			if (!err && c->own_cell != SIZE_MAX)
				err = sup_member(st, c->own_cell);
		}
	}
	if (err)
		return err;
	sup_run(st);
	while (gov_protect_sums(t, x, np, pol->min_n, st))
		sup_run(st);
	return KS_OK;
}

static ks_err gov_count_fill(ks_store *s, const gov_tree *t, const dc_policy *pol, gov_series *g, int ym0,
			     const char *from, const char *to, ks_error *e)
{
	store_kpi_count *k = NULL;
	size_t n = 0, np = g->n_periods;
	bool sla = strcmp(g->kpi, "case_sla") == 0;
	ks_err err = sla ? store_kpi_sla_counts(s, from, to, pol->as_of, &k, &n, e)
			 : store_kpi_response_counts(s, from, to, &k, &n, e);
	if (err)
		return err;
	gov_count_cell *x = calloc(t->n * np + 1, sizeof *x);
	if (x == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < n; i++) {
		long ui = gov_tree_find(t, k[i].unit_id);
		long c = gov_col_of(g, ym0, k[i].period);
		if (ui < 0 || c < 0)
			continue;
		gov_count_cell *cc = &x[(size_t)ui * np + (size_t)c];
		cc->own_num += k[i].num;
		cc->own_den += k[i].den;
		cc->own_pers = gov_persons_merge(cc->own_pers, k[i].den > 0 ? k[i].person : 0);
	}
	for (size_t o = 0; !err && o < t->n_up; o++) {
		size_t ui = t->up[o];
		for (size_t p = 0; p < np; p++) {
			gov_count_cell *cc = &x[ui * np + p];
			cc->num = cc->own_num;
			cc->den = cc->own_den;
			cc->pers = cc->own_pers;
			for (size_t j = t->kid_off[ui]; j < t->kid_off[ui + 1]; j++) {
				const gov_count_cell *kc = &x[t->kid[j] * np + p];
				cc->num += kc->num;
				cc->den += kc->den;
				cc->pers = gov_persons_merge(cc->pers, kc->pers);
			}
		}
	}
	sup_table st;
	sup_init(&st);
	if (!err && gov_count_suppress(t, x, np, pol, &st))
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t r = 0; !err && r < g->n_units; r++) {
		long ui = gov_tree_find(t, g->unit_ids[r]);
		for (size_t p = 0; ui >= 0 && p < np; p++) {
			const gov_count_cell *cc = &x[(size_t)ui * np + p];
			if (cc->den <= 0 || cc->cell == SIZE_MAX || st.hidden[cc->cell][0] ||
			    cc->den < st.min_n[cc->cell][0])
				continue;
			gov_cell *c = &g->cells[r * np + p];
			c->value = (double)cc->num / (double)cc->den;
			c->n = cc->den;
			c->present = true;
		}
	}
	sup_free(&st);
	free(x);
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
	if (strncmp(kpi, "theme:", 6) == 0 && !kpi_theme_key_valid(kpi))
		return ks_fail(e, KS_ERR_INVALID, "kpi", "theme:<id> names a theme of the taxonomy (an id of 1 to %d "
			       "of a-z, 0-9 and _)", KPI_THEME_ID_MAX);
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
