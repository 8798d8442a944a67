/* drivers_index.c — the index's driver ratings (issue 15): the columns
 * (kept with the rows: build, commit hook, update hook) and the passes the
 * key-driver analysis makes over a slice.
 *
 * Layout (index_int.h): per row a u32 offset into a byte pool of records
 * "count k, then k (aspect code, score) pairs"; offset 0 = no ratings. A
 * survey asks two to six aspects of a dozen, so a rated row costs 4 + 1 +
 * 2k bytes and an unrated one 4. Aspects are coded through a dictionary of
 * at most 64 names (a driver vector of the analysis is then at most 64
 * wide, and src/drivers takes no more). A pair per byte would need a code
 * per set of aspects (as the text column's tset): the pool is already a
 * fifth of the row columns on the demo, and the pairs keep an update (a
 * one-click answer completed by the form) an append.
 */
#include "analytics/drivers_index.h"
#include "analytics/index_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/tz.h"

#define AN_DRV_PARALLEL_MIN 100000  /* rows: below this one thread (an_query's reasoning) */

/* ---- the columns -------------------------------------------------------------- */

bool an_drv_reserve(an_index *ix, size_t cap)
{
	uint32_t *p = realloc(ix->doff, cap * sizeof *p);
	if (p == NULL)
		return false;
	ix->doff = p;
	return true;
}

static bool an_pool_room(an_index *ix, size_t need)
{
	if (ix->dpool_n + need <= ix->dpool_cap)
		return true;
	if (ix->dpool_n + need > UINT32_MAX)
		return false;  /* offsets are 32 bits: 4 GiB of ratings */
	size_t cap = ix->dpool_cap ? ix->dpool_cap : 1 << 16;
	while (cap < ix->dpool_n + need)
		cap *= 2;
	uint8_t *p = realloc(ix->dpool, cap);
	if (p == NULL)
		return false;
	ix->dpool = p;
	ix->dpool_cap = cap;
	return true;
}

/* The code of an aspect, 1..AN_MAX_ASPECTS; 0 beyond (logged once). */
static unsigned an_aspect_code(an_index *ix, const char *name)
{
	an_dict *d = &ix->aspects;
	for (size_t i = 1; i < d->n; i++)
		if (strcmp(d->names[i], name) == 0)
			return (unsigned)i;
	if (d->n > AN_MAX_ASPECTS) {
		if (!ix->warned_aspects)
			fprintf(stderr, "klantstem: analytics index: more than %d driver aspects; '%s' and "
				"later new aspects are not analysed until a restart\n", AN_MAX_ASPECTS, name);
		ix->warned_aspects = true;
		return 0;
	}
	return an_dict_put(d, name);
}

void an_drv_set(an_index *ix, size_t row, const model_driver_score *d, int n)
{
	ix->doff[row] = 0;
	if (n <= 0)
		return;
	if (ix->dpool_n == 0) {
		if (!an_pool_room(ix, 1))
			return;
		ix->dpool[ix->dpool_n++] = 0;  /* offset 0: the empty record */
	}
	if (n > AN_MAX_ASPECTS)
		n = AN_MAX_ASPECTS;
	if (!an_pool_room(ix, 1 + 2 * (size_t)n)) {
		fprintf(stderr, "klantstem: analytics index: out of memory; a response's driver "
			"ratings are not analysed\n");
		return;
	}
	size_t at = ix->dpool_n;
	uint8_t k = 0;
	for (int i = 0; i < n; i++) {
		unsigned c = d[i].aspect[0] ? an_aspect_code(ix, d[i].aspect) : 0;
		if (c == 0 || d[i].score < 1 || d[i].score > 10)
			continue;
		ix->dpool[at + 1 + 2 * k] = (uint8_t)c;
		ix->dpool[at + 2 + 2 * k] = (uint8_t)d[i].score;
		k++;
	}
	if (k == 0)
		return;
	ix->dpool[at] = k;
	ix->dpool_n = at + 1 + 2 * (size_t)k;
	ix->doff[row] = (uint32_t)at;
}

static void an_drv_scan_row(void *arg, int64_t response_id, const model_driver_score *d, int n)
{
	an_index *ix = arg;
	int64_t row = an_text_row(ix, response_id);
	if (row >= 0)
		an_drv_set(ix, (size_t)row, d, n);
}

ks_err an_drv_build(an_index *ix, ks_error *e)
{
	return store_scan_drivers(ix->store, 0, an_drv_scan_row, ix, e);
}

void an_drv_free(an_index *ix)
{
	free(ix->doff);
	free(ix->dpool);
	an_dict_free(&ix->aspects);
}

size_t an_drv_bytes(const an_index *ix)
{
	return ix->dpool_cap + ix->aspects.n * 64;
}

/* ---- outcomes ---------------------------------------------------------------------- */

int an_outcome_from_name(const char *name)
{
	static const char *const names[] = {"nps", "grade", "ces"};
	for (int i = 0; name && i < 3; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *an_outcome_name(an_outcome o)
{
	return o == AN_OUTCOME_GRADE ? "grade" : o == AN_OUTCOME_CES ? "ces" : "nps";
}

/* The raw answer of the outcome's question in an answers word (index_int.h),
 * -1 when none. */
static int an_raw(uint16_t a, an_outcome o)
{
	unsigned v;
	switch (o) {
	case AN_OUTCOME_GRADE: v = (a >> 4) & 15u; return v ? (int)v : -1;
	case AN_OUTCOME_CES: v = (a >> 8) & 7u; return v ? (int)v : -1;
	default: v = a & 15u; return v == AN_NPS_NONE ? -1 : (int)v;
	}
}

/* The outcome as analysed: NPS as each respondent's contribution to the
 * score (+100 promoter 9-10, 0 passive, -100 detractor 0-6: the mean of it
 * over a slice is the slice's NPS, so a slope is NPS points per rating
 * point); grade and CES as answered. NAN when not answered. */
static double an_outcome_value(int raw, an_outcome o)
{
	if (raw < 0)
		return NAN;
	if (o == AN_OUTCOME_NPS)
		return raw >= 9 ? 100.0 : raw >= 7 ? 0.0 : -100.0;
	return (double)raw;
}

/* ---- ratings per (unit, employee, driver, local month) -------------------------------------- */

/* A person's figure of an aspect is shown on their page only from 10
 * ratings in each month of the period that has any (PRIVACY.md section
 * 4). A mean of a slice that held such "thin" ratings, minus the figures
 * shown on the pages of its other people, would give them back; so means
 * leave them out, and to know which they are, ratings are counted per
 * employee, driver and local month (and unit, for the units' pass). */
typedef struct an_pm_cell {
	uint64_t key;            /* 0 = empty */
	uint32_t n, sum, good;
} an_pm_cell;
typedef struct an_pm {
	an_pm_cell *c;
	size_t slots, used;
	bool oom;
} an_pm;

/* unit code (16 bits) | employee code (16) | driver (8) | month (16: local
 * year * 12 + month - 1, never 0) */
static uint64_t an_pm_key(uint32_t unit, uint32_t emp, unsigned j, uint32_t month)
{
	return (uint64_t)unit << 40 | (uint64_t)emp << 24 | (uint64_t)j << 16 | (month & 0xFFFFu);
}
static uint32_t an_pm_unit(uint64_t k) { return (uint32_t)(k >> 40) & 0xFFFFu; }
static uint32_t an_pm_emp(uint64_t k) { return (uint32_t)(k >> 24) & 0xFFFFu; }
static unsigned an_pm_driver(uint64_t k) { return (unsigned)(k >> 16) & 0xFFu; }

static size_t an_pm_slot(const an_pm *t, uint64_t key)
{
	uint64_t h = key * 0x9E3779B97F4A7C15ULL;
	size_t i = (size_t)(h ^ (h >> 29)) & (t->slots - 1);
	while (t->c[i].key && t->c[i].key != key)
		i = (i + 1) & (t->slots - 1);
	return i;
}

static bool an_pm_grow(an_pm *t)
{
	an_pm old = *t;
	t->slots = old.slots ? old.slots * 2 : 1024;
	t->c = calloc(t->slots, sizeof *t->c);
	if (t->c == NULL) {
		*t = old;
		return false;
	}
	for (size_t i = 0; i < old.slots; i++)
		if (old.c[i].key)
			t->c[an_pm_slot(t, old.c[i].key)] = old.c[i];
	free(old.c);
	return true;
}

static void an_pm_put(an_pm *t, uint64_t key, uint32_t n, uint32_t sum, uint32_t good)
{
	if ((t->used + 1) * 2 > t->slots && !an_pm_grow(t)) {
		t->oom = true;
		return;
	}
	an_pm_cell *c = &t->c[an_pm_slot(t, key)];
	if (c->key == 0) {
		c->key = key;
		t->used++;
	}
	c->n += n;
	c->sum += sum;
	c->good += good;
}

static void an_pm_add(an_pm *t, uint64_t key, unsigned v)
{
	an_pm_put(t, key, 1, v, v >= 8);
}

static void an_pm_free(an_pm *t)
{
	free(t->c);
	memset(t, 0, sizeof *t);
}

/* The employees' months summed over units: the table by (employee,
 * driver, month) of a table by (unit, employee, driver, month). */
static bool an_pm_months(const an_pm *t, an_pm *out)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < t->slots; i++)
		if (t->c[i].key && an_pm_emp(t->c[i].key))
			an_pm_put(out, t->c[i].key & ((1ULL << 40) - 1), t->c[i].n, 0, 0);
	return !out->oom;
}

/* Is a cell of employee ratings thin: its employee's ratings of the
 * driver in the month (months: an_pm_months, or NULL when t is already by
 * employee) are 1 to min - 1? Ratings naming no one never are. */
static bool an_pm_is_thin(const an_pm *months, const an_pm_cell *c, int64_t min)
{
	if (min <= 0 || an_pm_emp(c->key) == 0)
		return false;
	uint32_t n = c->n;
	if (months) {
		uint64_t k = c->key & ((1ULL << 40) - 1);
		const an_pm_cell *m = months->slots ? &months->c[an_pm_slot(months, k)] : NULL;
		n = m && m->key == k ? m->n : c->n;
	}
	return n > 0 && (int64_t)n < min;
}

/* ---- a pass over the slice's rows ------------------------------------------------------ */

typedef struct an_pass an_pass;
typedef void (*an_row_fn)(an_pass *w, size_t row);

struct an_pass {
	const an_index *ix;
	const an_slice *slice;
	size_t lo, hi;
	an_row_fn row;
	/* the pass's state, per thread */
	an_drv_stream *s;            /* stream: its settings */
	void *sink;
	int8_t slot[AN_DRV_CODES];   /* driver code -> driver, -1 = not asked */
	int nt;                      /* theme drivers: tj[k] driver, tb[k] theme bit */
	int8_t tj[AN_DRV_MAX], tb[AN_DRV_MAX];
	double x[AN_DRV_MAX];
	int64_t rows, n[AN_DRV_MAX], sum[AN_DRV_MAX], good[AN_DRV_MAX];
	int64_t mean_n[AN_DRV_MAX], mean_sum[AN_DRV_MAX], mean_good[AN_DRV_MAX];
	an_pm pm;                    /* stream with person_min: employees' ratings by month */
	uint32_t (*both)[AN_MAX_ASPECTS + 1];  /* aspects: rows rating codes a and b */
	bool themes;                 /* aspects: count the analysed answers' themes too */
	int64_t analysed, analysed_with[AN_MAX_ASPECTS + 1], mentions[AN_MAX_THEMES];
	int64_t day_lo, day_hi;      /* an_month's cache: [lo, hi) is one local day */
	uint32_t day_month;
};

/* The local month of a row (year * 12 + month - 1), for an_pm keys. Rows
 * come in time order: the day of the last one is kept. */
static uint32_t an_month(an_pass *w, size_t row)
{
	int64_t t = w->ix->t[row];
	if (t < w->day_lo || t >= w->day_hi) {
		const ks_tz *z = &w->ix->tz;
		int64_t day = tz_local_day(z, t);
		int y, m, d;
		clock_civil(day, &y, &m, &d);
		w->day_lo = tz_day_start(z, day);
		w->day_hi = tz_day_start(z, day + 1);
		w->day_month = (uint32_t)(y * 12 + m - 1);
	}
	return w->day_month;
}

static void *an_pass_run(void *arg)
{
	an_pass *w = arg;
	uint8_t keep[AN_SLICE_CHUNK];
	for (size_t s = w->lo; s < w->hi; s += AN_SLICE_CHUNK) {
		size_t n = w->hi - s < AN_SLICE_CHUNK ? w->hi - s : AN_SLICE_CHUNK;
		an_slice_keep(w->slice, s, n, keep);
		for (size_t i = 0; i < n; i++)
			if (keep[i])
				w->row(w, s + i);
	}
	return NULL;
}

/* Run w over its rows, split with w2 (a copy with its own state) when the
 * index is large and w2 is given. The read lock is held. */
static void an_pass_split(an_pass *w, an_pass *w2, size_t rows)
{
	w->lo = 0;
	w->hi = rows;
	if (w2 == NULL || rows < AN_DRV_PARALLEL_MIN) {
		an_pass_run(w);
		return;
	}
	w->hi = rows / 2;
	w2->lo = rows / 2;
	w2->hi = rows;
	pthread_t th;
	bool spawned = pthread_create(&th, NULL, an_pass_run, w2) == 0;
	an_pass_run(w);
	if (spawned)
		pthread_join(th, NULL);
	else
		an_pass_run(w2);
}

static const uint8_t *an_record(const an_index *ix, size_t row)
{
	return ix->dpool_n ? ix->dpool + ix->doff[row] : NULL;
}

/* The theme set of an analysed row, NULL without analysis. */
static const an_tset *an_row_themes(const an_index *ix, size_t row)
{
	uint16_t c = ix->tset[row];
	return c && c < ix->sets.n ? &ix->sets.v[c] : NULL;
}

static void an_aspects_row(an_pass *w, size_t row)
{
	const uint8_t *r = an_record(w->ix, row);
	for (unsigned k = 0; r && k < r[0]; k++)
		for (unsigned q = 0; q < r[0]; q++)
			w->both[r[1 + 2 * k]][r[1 + 2 * q]]++;
	const an_tset *ts = w->themes ? an_row_themes(w->ix, row) : NULL;
	if (ts == NULL)
		return;
	w->analysed++;
	for (unsigned k = 0; r && k < r[0]; k++)
		w->analysed_with[r[1 + 2 * k]]++;
	for (uint64_t m = ts->any; m; m &= m - 1)
		w->mentions[__builtin_ctzll(m)]++;
}

ks_err an_drv_aspects_in(an_index *ix, const an_filter *f, bool themes, an_drv_aspects *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	uint32_t (*both)[AN_MAX_ASPECTS + 1] = calloc(AN_MAX_ASPECTS + 1, sizeof *both);
	an_pass *w = calloc(1, sizeof *w);
	if (both == NULL || w == NULL) {
		free(both);
		free(w);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	pthread_rwlock_rdlock(&ix->lock);
	an_slice *sl = NULL;
	ks_err err = an_slice_new(ix, f, &sl, e);
	if (!err) {
		*w = (an_pass){.ix = ix, .slice = sl, .row = an_aspects_row, .both = both, .themes = themes};
		an_pass_split(w, NULL, ix->n);
		for (size_t c = 1; c < ix->aspects.n && c <= AN_MAX_ASPECTS; c++) {
			if (both[c][c] == 0)
				continue;
			size_t i = out->count++;
			snprintf(out->name[i], sizeof out->name[i], "%s", ix->aspects.names[c]);
			out->code[i] = (uint8_t)c;
			out->n[i] = both[c][c];
		}
		size_t n_aspects = out->count;
		for (size_t i = 0; i < n_aspects; i++)
			for (size_t j = 0; j < n_aspects; j++)
				out->both[i][j] = both[out->code[i]][out->code[j]];
		for (size_t b = 0; themes && b + 1 < ix->themes.n && b < AN_MAX_THEMES; b++) {
			if (w->mentions[b] == 0 || out->count == AN_DRV_MAX)
				continue;
			size_t i = out->count++;
			snprintf(out->name[i], sizeof out->name[i], "%s", ix->themes.names[b + 1]);
			out->code[i] = (uint8_t)(AN_DRV_THEME0 + 1 + b);
			out->theme[i] = true;
			out->n[i] = w->analysed;
			out->mentions[i] = w->mentions[b];
			for (size_t k = 0; k < out->count; k++) {
				uint32_t v = out->theme[k] ? (uint32_t)w->analysed
							   : (uint32_t)w->analysed_with[out->code[k]];
				out->both[i][k] = out->both[k][i] = v;
			}
		}
	}
	an_slice_free(sl);
	pthread_rwlock_unlock(&ix->lock);
	free(both);
	free(w);
	return err;
}

/* The row's ratings of the requested drivers into w->x (NAN = none);
 * counts them. */
static void an_ratings(an_pass *w, size_t row, int p)
{
	for (int j = 0; j < p; j++)
		w->x[j] = NAN;
	const an_tset *ts = w->nt ? an_row_themes(w->ix, row) : NULL;
	for (int k = 0; ts && k < w->nt; k++) {  /* presence: no person's rating, never thin */
		int j = w->tj[k];
		unsigned v = (unsigned)(ts->any >> w->tb[k] & 1u);
		if (j < p)
			w->x[j] = v;
		w->n[j]++;
		w->sum[j] += v;
		w->mean_n[j]++;
		w->mean_sum[j] += v;
	}
	const uint8_t *r = an_record(w->ix, row);
	if (r == NULL || r[0] == 0)
		return;
	uint32_t em = w->s->person_min > 0 ? w->ix->emp[row] : 0;
	uint32_t month = em ? an_month(w, row) : 0;
	for (unsigned k = 0; k < r[0]; k++) {
		int j = w->slot[r[1 + 2 * k]];
		if (j < 0)
			continue;
		unsigned v = r[2 + 2 * k];
		if (j < p)
			w->x[j] = v;
		w->n[j]++;
		w->sum[j] += v;
		w->good[j] += v >= 8;
		if (em) {  /* decided after the pass: an_stream_means */
			an_pm_add(&w->pm, an_pm_key(0, em, (unsigned)j, month), v);
		} else {
			w->mean_n[j]++;
			w->mean_sum[j] += v;
			w->mean_good[j] += v >= 8;
		}
	}
}

/* The means' counts: the ratings naming no one, and the employees' months
 * that are not thin. w[1]'s table is merged into w[0]'s first. */
static bool an_stream_means(an_pass *w, an_drv_stream *s)
{
	an_pm *t = &w[0].pm;
	for (size_t i = 0; i < w[1].pm.slots; i++) {
		const an_pm_cell *c = &w[1].pm.c[i];
		if (c->key)
			an_pm_put(t, c->key, c->n, c->sum, c->good);
	}
	for (size_t i = 0; i < t->slots; i++) {
		const an_pm_cell *c = &t->c[i];
		unsigned j = an_pm_driver(c->key);
		if (c->key == 0 || an_pm_is_thin(NULL, c, s->person_min))
			continue;
		s->mean_n[j] += c->n;
		s->mean_sum[j] += c->sum;
		s->mean_good[j] += c->good;
	}
	return !t->oom && !w[1].pm.oom;
}

static void an_stream_row(an_pass *w, size_t row)
{
	an_ratings(w, row, w->s->p);
	double y = an_outcome_value(an_raw(w->ix->ans[row], w->s->outcome), w->s->outcome);
	if (isnan(y))
		return;
	w->rows++;
	if (w->s->p > 0)
		w->s->fn(w->sink, (uint32_t)row, y, w->x);
}

/* w's driver slots: aspects by code, themes as a list (tj, tb). */
static void an_slots(an_pass *w, int p, const uint8_t *code)
{
	memset(w->slot, -1, sizeof w->slot);
	w->nt = 0;
	for (int j = 0; j < p; j++) {
		if (code[j] >= 1 && code[j] <= AN_MAX_ASPECTS)
			w->slot[code[j]] = (int8_t)j;
		else if (code[j] > AN_DRV_THEME0 && code[j] <= AN_DRV_THEME0 + AN_MAX_THEMES) {
			w->tj[w->nt] = (int8_t)j;
			w->tb[w->nt++] = (int8_t)(code[j] - AN_DRV_THEME0 - 1);
		}
	}
}

ks_err an_drv_stream_slice(an_index *ix, const an_filter *f, an_drv_stream *s, ks_error *e)
{
	int q = s->q > s->p ? s->q : s->p;  /* codes counted: the model's, then others */
	if (s->p < 0 || q < 1 || q > AN_DRV_MAX)
		return ks_fail(e, KS_ERR_INVALID, "drivers", "1 to %d drivers", AN_DRV_MAX);
	s->rows = 0;
	memset(s->n, 0, sizeof s->n);
	memset(s->sum, 0, sizeof s->sum);
	memset(s->good, 0, sizeof s->good);
	memset(s->mean_n, 0, sizeof s->mean_n);
	memset(s->mean_sum, 0, sizeof s->mean_sum);
	memset(s->mean_good, 0, sizeof s->mean_good);
	an_pass *w = calloc(2, sizeof *w);
	if (w == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	pthread_rwlock_rdlock(&ix->lock);
	an_slice *sl = NULL;
	ks_err err = an_slice_new(ix, f, &sl, e);
	if (!err) {
		for (int t = 0; t < 2; t++) {
			w[t] = (an_pass){.ix = ix, .slice = sl, .row = an_stream_row, .s = s, .sink = s->sink[t]};
			an_slots(&w[t], q, s->code);
		}
		an_pass_split(&w[0], s->sink[1] ? &w[1] : NULL, ix->n);
		for (int t = 0; t < 2; t++) {
			s->rows += w[t].rows;
			for (int j = 0; j < q; j++) {
				s->n[j] += w[t].n[j];
				s->sum[j] += w[t].sum[j];
				s->good[j] += w[t].good[j];
				s->mean_n[j] += w[t].mean_n[j];
				s->mean_sum[j] += w[t].mean_sum[j];
				s->mean_good[j] += w[t].mean_good[j];
			}
		}
		if (!an_stream_means(w, s))
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	an_slice_free(sl);
	pthread_rwlock_unlock(&ix->lock);
	an_pm_free(&w[0].pm);
	an_pm_free(&w[1].pm);
	free(w);
	return err;
}

/* ---- per unit ----------------------------------------------------------------------------- */

typedef struct an_units_pass {
	an_pass w;
	int64_t person_min;
	an_pm pm;                /* (unit, employee, driver, month) */
	int64_t none_n[AN_DRV_MAX], none_sum[AN_DRV_MAX];  /* rows of no unit and no employee */
} an_units_pass;

static void an_units_row(an_pass *w, size_t row)
{
	an_units_pass *u = (an_units_pass *)w;  /* w is the first member */
	uint32_t team = w->ix->team[row], em = w->ix->emp[row];
	const an_tset *ts = w->nt ? an_row_themes(w->ix, row) : NULL;
	for (int k = 0; ts && k < w->nt; k++) {
		int j = w->tj[k];
		unsigned v = (unsigned)(ts->any >> w->tb[k] & 1u);
		if (team == 0 && em == 0) {
			u->none_n[j]++;
			u->none_sum[j] += v;
		} else {  /* month 1: themes have no thin months (an_units_collect) */
			an_pm_add(&u->pm, an_pm_key(team, em, (unsigned)j, 1), v);
		}
	}
	const uint8_t *r = an_record(w->ix, row);
	if (r == NULL || r[0] == 0)
		return;
	uint32_t month = team || em ? an_month(w, row) : 0;
	for (unsigned i = 0; i < r[0]; i++) {
		int j = w->slot[r[1 + 2 * i]];
		if (j < 0)
			continue;
		unsigned v = r[2 + 2 * i];
		if (team == 0 && em == 0) {
			u->none_n[j]++;
			u->none_sum[j] += v;
		} else {
			an_pm_add(&u->pm, an_pm_key(team, em, (unsigned)j, month), v);
		}
	}
}

static bool an_is_theme_driver(const an_pass *w, unsigned j)
{
	for (int k = 0; k < w->nt; k++)
		if ((unsigned)w->tj[k] == j)
			return true;
	return false;
}

/* The unit's entry (by unit code), added on first sight. */
static an_drv_unit *an_unit_at(an_drv_units *out, int32_t *at, uint16_t **first, size_t *cap,
			       const an_index *ix, uint32_t code)
{
	if (at[code] >= 0)
		return &out->units[at[code]];
	if (out->count == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		an_drv_unit *p = realloc(out->units, c * sizeof *p);
		if (p == NULL)
			return NULL;
		out->units = p;
		uint16_t *fe = realloc(*first, c * AN_DRV_MAX * sizeof *fe);
		if (fe == NULL)
			return NULL;
		*first = fe;
		*cap = c;
	}
	int32_t k = at[code] = (int32_t)out->count++;
	memset(&out->units[k], 0, sizeof out->units[k]);
	memset(*first + (size_t)k * AN_DRV_MAX, 0, AN_DRV_MAX * sizeof **first);
	out->units[k].unit_id = code < ix->units.n ? ix->units.ids[code] : 0;
	return &out->units[k];
}

/* The units' figures from the table, without thin ratings. */
static bool an_units_collect(an_units_pass *u, const an_pm *months, an_drv_units *out)
{
	const an_index *ix = u->w.ix;
	int32_t *at = malloc((ix->units.n + 1) * sizeof *at);
	uint16_t *first = NULL;
	size_t cap = 0;
	if (at == NULL)
		return false;
	memset(at, -1, (ix->units.n + 1) * sizeof *at);
	bool ok = true;
	for (size_t i = 0; ok && i < u->pm.slots; i++) {
		const an_pm_cell *c = &u->pm.c[i];
		if (c->key == 0)
			continue;
		uint32_t unit = an_pm_unit(c->key), em = an_pm_emp(c->key);
		unsigned j = an_pm_driver(c->key);
		if (!an_is_theme_driver(&u->w, j) && an_pm_is_thin(months, c, u->person_min))
			continue;
		out->all_n[j] += c->n;
		out->all_sum[j] += c->sum;
		if (unit == 0)
			continue;
		an_drv_unit *d = an_unit_at(out, at, &first, &cap, ix, unit);
		if (d == NULL) {
			ok = false;
			break;
		}
		d->n[j] += c->n;
		d->sum[j] += c->sum;
		uint16_t *fe = first + (size_t)(d - out->units) * AN_DRV_MAX + j;
		if (em && d->persons[j] < 2) {
			if (*fe == 0) {
				*fe = (uint16_t)em;
				d->persons[j] = 1;
			} else if (*fe != em) {
				d->persons[j] = 2;
			}
		}
	}
	free(at);
	free(first);
	return ok;
}

ks_err an_drv_units_of(an_index *ix, const an_filter *f, int p, const uint8_t *code, int64_t person_min,
		       an_drv_units *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	pthread_rwlock_rdlock(&ix->lock);
	an_units_pass u = {.person_min = person_min};
	an_slice *sl = NULL;
	an_pm months = {0};
	ks_err err = an_slice_new(ix, f, &sl, e);
	if (!err) {
		u.w = (an_pass){.ix = ix, .slice = sl, .row = an_units_row};
		an_slots(&u.w, p, code);
		an_pass_split(&u.w, NULL, ix->n);
		if (u.pm.oom || !an_pm_months(&u.pm, &months) || !an_units_collect(&u, &months, out))
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		for (int j = 0; j < p; j++) {
			out->all_n[j] += u.none_n[j];
			out->all_sum[j] += u.none_sum[j];
		}
	}
	an_slice_free(sl);
	pthread_rwlock_unlock(&ix->lock);
	an_pm_free(&months);
	an_pm_free(&u.pm);
	if (err)
		an_drv_units_free(out);
	return err;
}

void an_drv_units_free(an_drv_units *u)
{
	free(u->units);
	u->units = NULL;
	u->count = 0;
}

/* ---- moments of truth ----------------------------------------------------------------------- */

/* One answer at a touchpoint of the journey, of a known customer. */
typedef struct an_visit {
	uint32_t cust, t, row;
	uint8_t tpi, score;
} an_visit;

typedef struct an_visits_pass {
	an_pass w;
	const uint8_t *tpi;       /* touchpoint code -> index + 1 in m->tp, 0 = not the journey's */
	an_outcome outcome;
	an_visit *v;
	size_t n, cap;
	bool oom;
} an_visits_pass;

static void an_visits_row(an_pass *w, size_t row)
{
	an_visits_pass *vp = (an_visits_pass *)w;
	const an_index *ix = w->ix;
	uint32_t cust = ix->cust[row];
	uint8_t k = vp->tpi[ix->tp[row]];
	int raw = an_raw(ix->ans[row], vp->outcome);
	if (cust == 0 || k == 0 || raw < 0)
		return;
	if (vp->n == vp->cap) {
		size_t cap = vp->cap ? vp->cap * 2 : 4096;
		an_visit *p = realloc(vp->v, cap * sizeof *p);
		if (p == NULL) {
			vp->oom = true;
			return;
		}
		vp->v = p;
		vp->cap = cap;
	}
	vp->v[vp->n++] = (an_visit){cust, ix->t[row], (uint32_t)row, (uint8_t)(k - 1), (uint8_t)raw};
}

static int an_visit_cmp(const void *a, const void *b)
{
	const an_visit *x = a, *y = b;
	if (x->cust != y->cust)
		return x->cust < y->cust ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

/* One customer's visits v[0..n) (time order): the outcome and the drivers. */
static void an_moment_customer(an_drv_moments *m, const an_visit *v, size_t n, uint32_t from, uint32_t to)
{
	int last = m->n_tp - 1;
	size_t out = n;
	for (size_t i = n; i-- > 0;)
		if (v[i].tpi == last && v[i].t >= from && v[i].t < to) {
			out = i;
			break;
		}
	if (out == n)
		return;
	double x[AN_DRV_MAX];
	for (int j = 0; j < last; j++)
		x[j] = NAN;
	int64_t t0 = (int64_t)v[out].t - m->window_s;
	bool any = false;
	for (size_t i = 0; i < out; i++) {   /* in time order: the latest wins */
		if (v[i].tpi == last || (int64_t)v[i].t < t0 || v[i].t >= v[out].t)
			continue;
		x[v[i].tpi] = v[i].score;
		any = true;
	}
	if (!any)
		return;
	m->customers++;
	for (int j = 0; j < last; j++)
		m->visits[j] += !isnan(x[j]);
	m->fn(m->sink, v[out].row, an_outcome_value(v[out].score, m->outcome), x);
}

ks_err an_drv_moments_of(an_index *ix, const an_filter *f, an_drv_moments *m, ks_error *e)
{
	if (m->n_tp < 2 || m->n_tp > AN_DRV_MAX + 1)
		return ks_fail(e, KS_ERR_INVALID, "journey_id", "a journey of 2 to %d touchpoints", AN_DRV_MAX + 1);
	m->customers = 0;
	memset(m->visits, 0, sizeof m->visits);
	/* Earlier touchpoints may lie before the period: widen the slice by the
	 * window, and take outcomes only inside [from, to). */
	an_filter wide = *f;
	uint32_t from = f->from > 0 ? (uint32_t)f->from : 0;
	uint32_t to = f->to > 0 ? (uint32_t)f->to : UINT32_MAX;
	wide.from = f->from > m->window_s ? f->from - m->window_s : 0;
	pthread_rwlock_rdlock(&ix->lock);
	an_visits_pass vp = {.outcome = m->outcome};
	uint8_t *tpi = calloc(ix->tps.n + 1, 1);
	an_slice *sl = NULL;
	ks_err err = tpi ? an_slice_new(ix, &wide, &sl, e) : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err) {
		for (int k = 0; k < m->n_tp; k++) {
			uint32_t c = an_codes_get(&ix->tps, m->tp[k]);
			if (c)
				tpi[c] = (uint8_t)(k + 1);
		}
		vp.tpi = tpi;
		vp.w = (an_pass){.ix = ix, .slice = sl, .row = an_visits_row};
		an_pass_split(&vp.w, NULL, ix->n);
		if (vp.oom)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	an_slice_free(sl);
	pthread_rwlock_unlock(&ix->lock);  /* the visits are a copy */
	free(tpi);
	if (!err) {
		qsort(vp.v, vp.n, sizeof *vp.v, an_visit_cmp);
		for (size_t i = 0; i < vp.n;) {
			size_t j = i;
			while (j < vp.n && vp.v[j].cust == vp.v[i].cust)
				j++;
			an_moment_customer(m, vp.v + i, j - i, from, to);
			i = j;
		}
	}
	free(vp.v);
	return err;
}
