/* demo_kpis.c — the demo's hard KPIs (demo_kpis.h).
 *
 * The related teams' cost to serve follows their own measured monthly NPS
 * two months earlier (the store's figures, so the links the governance
 * page computes from the same store find exactly what was built in); the
 * others' follows nothing. The deviation from the team's mean NPS is used,
 * so a team's level of cost does not depend on its level of NPS: the link
 * is within the team, over time, which is what the fixed-effects
 * regression measures. A month with fewer than DEMO_KPI_MIN_N answers
 * counts as the team's mean (no deviation).
 */
#include "demo/demo_kpis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

#define DEMO_KPI_MIN_N 5
#define DEMO_KPI_MAX_MONTHS 48

typedef struct dk_rng {
	uint64_t s;
} dk_rng;

/* splitmix64 (Steele, Lea & Flood 2014): enough for demo noise. */
static uint64_t dk_next(dk_rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double dk_uniform(dk_rng *r)
{
	return ((double)(dk_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

/* Box-Muller, one value a call. */
static double dk_normal(dk_rng *r)
{
	double u = dk_uniform(r), v = dk_uniform(r);
	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static double dk_round2(double x)
{
	return round(x * 100.0) / 100.0;
}

typedef struct dk_ctx {
	ks_store *s;
	dk_rng rng;
	char months[DEMO_KPI_MAX_MONTHS][8];
	int n_months;
	store_kpi_unit *units;
	size_t n_units;
	store_kpi_value *v;
	size_t n, cap;
	store_kpi_count *nps;
	size_t n_nps;
	ks_error *e;
} dk_ctx;

static ks_err dk_put(dk_ctx *x, int64_t kpi, int64_t unit, int month, double value)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		store_kpi_value *nv = realloc(x->v, cap * sizeof *nv);
		if (nv == NULL)
			return ks_fail(x->e, KS_ERR_NOMEM, NULL, "demo: out of memory");
		x->v = nv;
		x->cap = cap;
	}
	store_kpi_value *p = &x->v[x->n++];
	memset(p, 0, sizeof *p);
	p->kpi_id = kpi;
	p->unit_id = unit;
	memcpy(p->period, x->months[month], 8);
	p->value = dk_round2(value);
	return KS_OK;
}

/* The months (UTC calendar) from start's to the one before now's end. */
static void dk_months(dk_ctx *x, int64_t start, int64_t now)
{
	int y, m, d, y1, m1;
	clock_civil(start / 86400, &y, &m, &d);
	clock_civil((now - 1) / 86400, &y1, &m1, &d);
	while (x->n_months < DEMO_KPI_MAX_MONTHS && (y < y1 || (y == y1 && m <= m1))) {
		snprintf(x->months[x->n_months++], 8, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 13u);
		if (++m == 13) {
			m = 1;
			y++;
		}
	}
}

static const store_kpi_unit *dk_unit(const dk_ctx *x, int64_t id)
{
	for (size_t i = 0; i < x->n_units; i++)
		if (x->units[i].id == id)
			return &x->units[i];
	return NULL;
}

/* Is team below the related department? */
static bool dk_related(const dk_ctx *x, const store_kpi_unit *team)
{
	const store_kpi_unit *d = dk_unit(x, team->parent_id);
	return d && strcmp(d->kind, "department") == 0 && strcmp(d->name, DEMO_KPI_RELATED_DEPT) == 0;
}

/* The team's NPS per month (NAN under DEMO_KPI_MIN_N) and its mean over
 * the months that have one. */
static double dk_team_nps(const dk_ctx *x, int64_t team, double *nps)
{
	double sum = 0;
	int k = 0;
	for (int m = 0; m < x->n_months; m++) {
		nps[m] = NAN;
		for (size_t i = 0; i < x->n_nps; i++)
			if (x->nps[i].unit_id == team && strcmp(x->nps[i].period, x->months[m]) == 0 &&
			    x->nps[i].den >= DEMO_KPI_MIN_N)
				nps[m] = 100.0 * (double)x->nps[i].num / (double)x->nps[i].den;
		if (!isnan(nps[m])) {
			sum += nps[m];
			k++;
		}
	}
	return k ? sum / k : 0;
}

static ks_err dk_cost_to_serve(dk_ctx *x, int64_t kpi, const store_kpi_unit *team)
{
	double nps[DEMO_KPI_MAX_MONTHS];
	double mean = dk_team_nps(x, team->id, nps);
	bool related = dk_related(x, team);
	double base = 34.0 + 8.0 * dk_uniform(&x->rng);
	ks_err err = KS_OK;
	for (int m = 0; !err && m < x->n_months; m++) {
		double v = base;
		if (related) {
			double lagged = m >= DEMO_KPI_LAG ? nps[m - DEMO_KPI_LAG] : NAN;
			double dev = isnan(lagged) ? 0 : lagged - mean;
			v += -DEMO_KPI_CTS_PER_NPS * dev + 1.2 * dk_normal(&x->rng);
		} else {
			v += 1.2 * dk_normal(&x->rng);
		}
		err = dk_put(x, kpi, team->id, m, v);
	}
	return err;
}

/* A KPI of each unit of kind: level + spread * normal, or a random walk. */
static ks_err dk_plain(dk_ctx *x, int64_t kpi, const char *kind, double level, double spread, double noise,
		       bool walk, double floor)
{
	ks_err err = KS_OK;
	for (size_t u = 0; !err && u < x->n_units; u++) {
		if (strcmp(x->units[u].kind, kind) != 0)
			continue;
		double base = level + spread * dk_normal(&x->rng), v = base;
		for (int m = 0; !err && m < x->n_months; m++) {
			v = walk ? v + 0.15 + noise * dk_normal(&x->rng) : base + noise * dk_normal(&x->rng);
			err = dk_put(x, kpi, x->units[u].id, m, v < floor ? floor : v);
		}
	}
	return err;
}

static ks_err dk_all(dk_ctx *x)
{
	static const struct {
		const char *key, *kind;
		double level, spread, noise;
		bool walk;
		double floor;
	} plain[] = {
		{"absenteeism", "team", 4.5, 1.0, 0.7, false, 0.5},
		{"attrition", "team", 1.1, 0.3, 0.35, false, 0.0},
		{"share_of_wallet", "department", 32.0, 6.0, 1.2, false, 1.0},
		{"acquisition_cost", "department", 120.0, 20.0, 9.0, false, 10.0},
		{"gross_margin", "department", 28.0, 4.0, 1.5, false, 1.0},
		{"brand_value", "organisation", 100.0, 0.0, 0.8, true, 1.0},
	};
	store_kpi k;
	ks_err err = KS_OK;
	for (size_t i = 0; !err && i < sizeof plain / sizeof plain[0]; i++) {
		ks_err le = store_kpi_by_key(x->s, plain[i].key, &k, NULL);
		if (le == KS_ERR_NOTFOUND)
			continue;
		err = le ? ks_fail(x->e, le, NULL, "demo: cannot read KPI %s", plain[i].key)
			 : dk_plain(x, k.id, plain[i].kind, plain[i].level, plain[i].spread, plain[i].noise,
				    plain[i].walk, plain[i].floor);
	}
	ks_err le = err ? err : store_kpi_by_key(x->s, "cost_to_serve", &k, NULL);
	if (!err && le == KS_OK)
		for (size_t u = 0; !err && u < x->n_units; u++)
			if (strcmp(x->units[u].kind, "team") == 0)
				err = dk_cost_to_serve(x, k.id, &x->units[u]);
	return err;
}

ks_err demo_kpis_generate(ks_store *s, uint64_t seed, int64_t start, int64_t now, size_t *n, ks_error *e)
{
	dk_ctx x = {.s = s, .rng = {seed ^ 0x4b50495f44454d4fULL}, .e = e};
	if (n)
		*n = 0;
	dk_months(&x, start, now);
	if (x.n_months == 0)
		return KS_OK;
	ks_err err = store_kpi_units(s, &x.units, &x.n_units, e);
	if (!err)
		err = store_kpi_nps_counts(s, x.months[0], x.months[x.n_months - 1], &x.nps, &x.n_nps, e);
	if (!err)
		err = dk_all(&x);
	if (!err && x.n)
		err = store_kpi_values_put(s, x.v, x.n, "demo", "values", e);
	if (!err && n)
		*n = x.n;
	free(x.units);
	free(x.nps);
	free(x.v);
	return err;
}
