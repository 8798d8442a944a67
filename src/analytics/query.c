/* query.c — breakdowns over the columnar index.
 *
 * One pass: rows are taken in chunks; for each chunk the group key of every
 * row is computed column-wise (dimension by dimension, so each loop is a
 * simple array transform), filters become a mask the same way, and the
 * answers word of each kept row is counted into three small histograms of
 * its group (NPS 0..10/none, grade 1..10/none, CES 1..7/none). All metrics
 * derive from those histograms afterwards, so the inner loop does three
 * increments a row. Two otherwise unused NPS bins of each group hold the
 * first employee code seen and a flag set at the first different one: all
 * it takes to tell "no employee", "one employee" and "two or more" apart
 * (an_group.persons), at the cost of one predictable branch a row once a
 * group has two. Large slices are split over two threads, each with its own
 * histograms, merged at the end.
 *
 * Time buckets are local: the organisation's zone (ix->tz) decides which
 * calendar day a response falls on. The plan tabulates, for every UTC hour
 * between the index's first and last response (every quarter hour for a
 * zone whose offset is not whole hours), the local day it belongs to, and
 * from that the code of each time dimension the query uses; a row's key is
 * then one lookup by t / 3600, as cheap as the UTC day lookup it replaces.
 * This is exact because every offset of core/tz.h is a whole number of
 * hours and every summer-time switch happens on a whole UTC hour, so a UTC
 * hour never straddles a local midnight.
 */
#include "analytics/index_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/tz.h"

#define AN_CHUNK 2048
#define AN_PARALLEL_MIN 200000   /* rows: below this a second thread costs more than it saves */
#define AN_MAX_GROUPS (4u << 20) /* bounds histogram memory (x 40 x 4 bytes a thread) */
#define AN_HIST 40               /* 16 NPS + 16 grade + 8 CES bins */
#define AN_HIST_NPS 16           /* NPS bins only (an_filter.nps_only) */
/* NPS bins 11..14 never count answers (scores are 0..10, 15 is "none"):
 * two of them tell how many employees a group's rows name, in the cache
 * line the row's NPS increment touches anyway. */
#define AN_BIN_EMP 11            /* the first employee code seen; 0 = none yet */
#define AN_BIN_EMPS 12           /* 1 once a second, different code was seen */

static const char *const an_dim_names[AN_DIM__COUNT] = {
	[AN_DIM_NONE] = "", [AN_DIM_TEAM] = "team", [AN_DIM_DEPARTMENT] = "department",
	[AN_DIM_ORGANISATION] = "organisation", [AN_DIM_EMPLOYEE] = "employee",
	[AN_DIM_TOUCHPOINT] = "touchpoint", [AN_DIM_JOURNEY] = "journey", [AN_DIM_CHANNEL] = "channel",
	[AN_DIM_LANGUAGE] = "language", [AN_DIM_SEGMENT] = "segment", [AN_DIM_AGE_BAND] = "age_band",
	[AN_DIM_SINCE_BAND] = "customer_since_band", [AN_DIM_CITY] = "city", [AN_DIM_DAY] = "day",
	[AN_DIM_WEEK] = "week", [AN_DIM_MONTH] = "month", [AN_DIM_QUARTER] = "quarter",
	[AN_DIM_YEAR] = "year", [AN_DIM_THEME] = "theme", [AN_DIM_SENTIMENT] = "sentiment",
	[AN_DIM_THEME_ABSENT] = "", [AN_DIM_THEME_NEG] = "", [AN_DIM_THEME_POS] = "",
	/* issue 16 (H5); the attribute slots are named "attr.<key>" (attr.c) */
	[AN_DIM_PRODUCT] = "product", [AN_DIM_LOGIN_BAND] = "login_band", [AN_DIM_NEWSLETTER] = "newsletter",
	[AN_DIM_ATTR0 ... AN_DIM_ATTR_LAST] = "",
};

/* issue 16 (H5): the labels of the login band and newsletter codes */
static const char *const an_login_labels[] = {"unknown", "none", "1-3", "4-10", "11+"};
static const char *const an_news_labels[] = {"unknown", "yes", "no"};

static const char *const an_sentiment_names[4] = {"", "negative", "neutral", "positive"};

int an_sentiment_code(const char *name)
{
	for (int i = 1; name && i < 4; i++)
		if (strcmp(an_sentiment_names[i], name) == 0)
			return i;
	return 0;
}

bool an_dim_is_text(an_dim d)
{
	return d == AN_DIM_THEME || d == AN_DIM_SENTIMENT || d == AN_DIM_THEME_ABSENT ||
	       d == AN_DIM_THEME_NEG || d == AN_DIM_THEME_POS;
}

an_dim an_dim_from_name(const char *name)
{
	for (int d = 1; name && *name && d < AN_DIM__COUNT; d++)
		if (strcmp(an_dim_names[d], name) == 0)
			return (an_dim)d;
	return AN_DIM_NONE;
}

const char *an_dim_name(an_dim d)
{
	return d > 0 && d < AN_DIM__COUNT ? an_dim_names[d] : "";
}

bool an_dim_is_time(an_dim d)
{
	return d >= AN_DIM_DAY && d <= AN_DIM_YEAR;
}

/* Bands, shared with the representativeness view's labels. Age is taken in
 * the year of the response. */
static const char *const an_age_labels[] = {"unknown", "<25", "25-34", "35-44", "45-54", "55-64", "65+"};
static const char *const an_since_labels[] = {"unknown", "<1y", "1-2y", "3-5y", "6-10y", ">10y"};

static unsigned an_age_band(int age)
{
	if (age < 0 || age > 130)
		return 0;
	return age < 25 ? 1 : age < 35 ? 2 : age < 45 ? 3 : age < 55 ? 4 : age < 65 ? 5 : 6;
}

static unsigned an_since_band(int years)
{
	if (years < 0 || years > 200)
		return 0;
	return years < 1 ? 1 : years < 3 ? 2 : years < 6 ? 3 : years < 11 ? 4 : 5;
}

/* ---- the per-query plan ------------------------------------------------------ */

/* Local-day lookups for the days the index covers, and the step tables
 * that take a row's time to them. */
typedef struct an_days {
	int64_t day0;          /* first local day covered */
	size_t n;              /* local days covered */
	uint32_t *code[AN_DIM__COUNT]; /* time dim -> code per day (1-based) */
	uint16_t *year;        /* local civil year per day */
	char (*label[AN_DIM__COUNT])[32];  /* code -> label, for time dims */
	size_t n_codes[AN_DIM__COUNT];
	/* Step s covers the UTC seconds [(s0 + s) * step, (s0 + s + 1) * step). */
	uint32_t step;         /* 3600, or 900 for a zone with a fractional-hour offset */
	uint32_t s0;
	size_t n_steps;
	uint32_t *sday;        /* step -> local day - day0 */
	uint16_t *scode[AN_DIM__COUNT]; /* step -> code, only for the time dims the query groups by
	                                 * (codes <= days < 65536: t is 32 bits) */
	uint16_t *syear;       /* step -> local civil year, only when a band needs it */
} an_days;

typedef struct an_plan {
	const an_index *ix;
	an_dim dims[2];
	int n_dims;
	uint32_t n_codes[2];
	uint32_t n_groups;
	/* filters as allowed-code tables over a dimension */
	int n_filters;
	an_dim fdim[20];
	uint8_t *allowed[20];
	uint32_t fn[20];
	uint32_t from, to;     /* period, seconds, to exclusive; 0 = open */
	uint32_t stride;       /* histogram counters a group: AN_HIST or AN_HIST_NPS */
	bool raw;              /* an_filter.raw_keys */
	uint16_t *dept_of, *org_of;  /* unit code -> ancestor code */
	uint16_t *journey_of;        /* touchpoint code -> journey code */
	an_days days;
	/* issue 14 */
	uint8_t *tallow;       /* tset code -> kept by the theme/sentiment/analysed filters; NULL = all */
	bool partial;          /* a text dimension: rows may be in no group; the total is counted
	                        * on its own in the histogram after the groups' */
	int multi;             /* index of a theme dimension (a row in several groups), -1 = none */
	uint64_t theme_all;    /* the bits of every theme code in use */
	/* issue 16 (H5) */
	uint8_t *pallow;       /* product-set code -> holds the product filter's product; NULL = all */
} an_plan;

static uint32_t an_dim_codes(const an_plan *p, an_dim d)
{
	const an_index *ix = p->ix;
	switch (d) {
	case AN_DIM_TEAM:
	case AN_DIM_DEPARTMENT:
	case AN_DIM_ORGANISATION: return (uint32_t)ix->units.n + 1;
	case AN_DIM_EMPLOYEE: return (uint32_t)ix->emps.n + 1;
	case AN_DIM_TOUCHPOINT: return (uint32_t)ix->tps.n + 1;
	case AN_DIM_JOURNEY: return (uint32_t)ix->journeys.n + 1;
	case AN_DIM_CHANNEL: return AN_CHANNEL_RELATIONSHIP + 1;
	case AN_DIM_LANGUAGE: return 2;
	case AN_DIM_SEGMENT: return (uint32_t)ix->segments.n + 1;
	case AN_DIM_CITY: return (uint32_t)ix->cities.n + 1;
	case AN_DIM_AGE_BAND: return 7;
	case AN_DIM_SINCE_BAND: return 6;
	case AN_DIM_THEME:
	case AN_DIM_THEME_ABSENT:
	case AN_DIM_THEME_NEG:
	case AN_DIM_THEME_POS: return (uint32_t)ix->themes.n + 1;
	case AN_DIM_SENTIMENT: return 4;
	case AN_DIM_PRODUCT: return ix->attr ? (uint32_t)ix->attr->prods.n + 1 : 1;  /* issue 16 (H5) */
	case AN_DIM_LOGIN_BAND: return 5;
	case AN_DIM_NEWSLETTER: return 3;
	default:
		if (an_dim_is_attr(d))
			return 256;
		return an_dim_is_time(d) ? (uint32_t)p->days.n_codes[d] + 1 : 1;
	}
}

/* Ancestor of the given kind ('d' or 'o') for every unit code; a unit of
 * that kind maps to itself. */
static uint16_t *an_ancestors(const an_index *ix, char kind)
{
	size_t n = ix->units.n + 1;
	uint16_t *out = calloc(n, sizeof *out);
	if (out == NULL)
		return NULL;
	for (size_t c = 1; c < ix->units.n; c++) {
		uint32_t u = (uint32_t)c;
		for (int depth = 0; u && depth < 8; depth++) {
			if (u < ix->unit_info_n && ix->unit_info[u].kind == kind) {
				out[c] = (uint16_t)u;
				break;
			}
			u = u < ix->unit_info_n ? ix->unit_info[u].parent : 0;
		}
	}
	return out;
}

static void an_days_free(an_days *d)
{
	for (int i = 0; i < AN_DIM__COUNT; i++) {
		free(d->code[i]);
		free(d->label[i]);
		free(d->scode[i]);
	}
	free(d->year);
	free(d->sday);
	free(d->syear);
}

/* The local day of every step over [tmin, tmax]; sets day0 and *day1.
 * Walks the local days once (one tz_day_start each), not the steps. */
static bool an_steps_build(an_days *d, const ks_tz *z, uint32_t tmin, uint32_t tmax, int64_t *day1)
{
	d->step = z->std_offset % 3600 == 0 ? 3600 : 900;
	d->s0 = tmin / d->step;
	d->n_steps = tmax / d->step - d->s0 + 1;
	d->sday = calloc(d->n_steps, sizeof *d->sday);
	if (d->sday == NULL)
		return false;
	int64_t day = tz_local_day(z, (int64_t)d->s0 * d->step);
	d->day0 = day;
	size_t s = 0;
	while (s < d->n_steps) {
		int64_t next = tz_day_start(z, day + 1);
		for (; s < d->n_steps && ((int64_t)d->s0 + (int64_t)s) * d->step < next; s++)
			d->sday[s] = (uint32_t)(day - d->day0);
		day++;
	}
	*day1 = day - 1;
	return true;
}

/* Codes and labels of each time dimension over the local days of the
 * index's rows; step tables for the time dimensions marked in need and, if
 * need_year, for the local year. */
static bool an_days_build(an_days *d, const an_index *ix, const bool need[AN_DIM__COUNT], bool need_year)
{
	memset(d, 0, sizeof *d);
	int64_t day1;
	if (!an_steps_build(d, &ix->tz, ix->n ? ix->min_t : 0, ix->n ? ix->max_t : 0, &day1))
		return false;
	int64_t day0 = d->day0;
	d->n = (size_t)(day1 - day0 + 1);
	d->year = calloc(d->n, sizeof *d->year);
	if (d->year == NULL)
		return false;
	for (int dim = AN_DIM_DAY; dim <= AN_DIM_YEAR; dim++) {
		d->code[dim] = calloc(d->n, sizeof *d->code[dim]);
		d->label[dim] = calloc(d->n + 1, sizeof *d->label[dim]);
		if (d->code[dim] == NULL || d->label[dim] == NULL)
			return false;
	}
	char prev[AN_DIM__COUNT][32];
	memset(prev, 0, sizeof prev);
	for (size_t i = 0; i < d->n; i++) {
		int64_t day = day0 + (int64_t)i;
		int y, m, dd;
		clock_civil(day, &y, &m, &dd);
		d->year[i] = (uint16_t)y;
		/* ISO 8601 week: the week with the year's first Thursday is week 1;
		 * the ISO year is the year of the week's Thursday. */
		int64_t wd = ((day % 7) + 7 + 3) % 7;  /* Monday = 0; 1970-01-01 was a Thursday */
		int64_t thursday = day - wd + 3;
		int ty, tm, td;
		clock_civil(thursday, &ty, &tm, &td);
		int week = (int)((thursday - clock_days_from_civil(ty, 1, 1)) / 7) + 1;
		char lab[AN_DIM__COUNT][32];
		snprintf(lab[AN_DIM_DAY], 32, "%04d-%02d-%02d", y, m, dd);
		snprintf(lab[AN_DIM_WEEK], 32, "%04d-W%02d", ty, week);
		snprintf(lab[AN_DIM_MONTH], 32, "%04d-%02d", y, m);
		snprintf(lab[AN_DIM_QUARTER], 32, "%04d-Q%d", y, (m - 1) / 3 + 1);
		snprintf(lab[AN_DIM_YEAR], 32, "%04d", y);
		for (int dim = AN_DIM_DAY; dim <= AN_DIM_YEAR; dim++) {
			if (strcmp(prev[dim], lab[dim]) != 0) {
				d->n_codes[dim]++;
				memcpy(d->label[dim][d->n_codes[dim]], lab[dim], 32);
				memcpy(prev[dim], lab[dim], 32);
			}
			d->code[dim][i] = (uint32_t)d->n_codes[dim];
		}
	}
	for (int dim = AN_DIM_DAY; dim <= AN_DIM_YEAR; dim++) {
		if (!need[dim])
			continue;
		uint16_t *tab = d->scode[dim] = malloc(d->n_steps * sizeof *tab);
		if (tab == NULL)
			return false;
		for (size_t s = 0; s < d->n_steps; s++)
			tab[s] = (uint16_t)d->code[dim][d->sday[s]];
	}
	if (need_year) {
		d->syear = malloc(d->n_steps * sizeof *d->syear);
		if (d->syear == NULL)
			return false;
		for (size_t s = 0; s < d->n_steps; s++)
			d->syear[s] = d->year[d->sday[s]];
	}
	return true;
}

/* ---- keys of a chunk of rows ----------------------------------------------------- */

/* k[i] = the step of t[i]. A constant divisor in each loop: the compiler
 * turns the division into a multiplication. */
static void an_steps(const an_days *d, const uint32_t *t, size_t n, uint32_t *k)
{
	uint32_t s0 = d->s0;
	if (d->step == 3600)
		for (size_t i = 0; i < n; i++)
			k[i] = t[i] / 3600u - s0;
	else
		for (size_t i = 0; i < n; i++)
			k[i] = t[i] / 900u - s0;
}

static void an_keys(const an_plan *p, an_dim d, size_t start, size_t n, uint32_t *k)
{
	const an_index *ix = p->ix;
	const uint16_t *team = ix->team + start, *emp = ix->emp + start, *tp = ix->tp + start;
	const uint16_t *ans = ix->ans + start;
	const uint32_t *cust = ix->cust + start, *t = ix->t + start;
	size_t i;
	switch (d) {
	case AN_DIM_TEAM: for (i = 0; i < n; i++) k[i] = team[i]; break;
	case AN_DIM_DEPARTMENT: for (i = 0; i < n; i++) k[i] = p->dept_of[team[i]]; break;
	case AN_DIM_ORGANISATION: for (i = 0; i < n; i++) k[i] = p->org_of[team[i]]; break;
	case AN_DIM_EMPLOYEE: for (i = 0; i < n; i++) k[i] = emp[i]; break;
	case AN_DIM_TOUCHPOINT: for (i = 0; i < n; i++) k[i] = tp[i]; break;
	case AN_DIM_JOURNEY: for (i = 0; i < n; i++) k[i] = p->journey_of[tp[i]]; break;
	case AN_DIM_CHANNEL: for (i = 0; i < n; i++) k[i] = (ans[i] >> 11) & 7u; break;
	case AN_DIM_LANGUAGE: for (i = 0; i < n; i++) k[i] = (ans[i] >> 14) & 1u; break;
	case AN_DIM_SEGMENT:
		for (i = 0; i < n; i++)
			k[i] = cust[i] < ix->cust_info_n ? ix->cust_info[cust[i]].segment : 0;
		break;
	case AN_DIM_CITY:
		for (i = 0; i < n; i++)
			k[i] = cust[i] < ix->cust_info_n ? ix->cust_info[cust[i]].city : 0;
		break;
	case AN_DIM_SENTIMENT: {
		const uint16_t *ts = ix->tset + start;
		for (i = 0; i < n; i++)
			k[i] = ix->sets.v ? ix->sets.v[ts[i]].label : 0;
		break;
	}
	case AN_DIM_THEME:
	case AN_DIM_THEME_ABSENT:
	case AN_DIM_THEME_NEG:
	case AN_DIM_THEME_POS: /* several groups a row: an_count_partial */
	case AN_DIM_PRODUCT:   /* issue 16 (H5): likewise */
		memset(k, 0, n * sizeof *k);
		break;
	case AN_DIM_LOGIN_BAND:
	case AN_DIM_NEWSLETTER: {
		const uint8_t *m = ix->attr ? ix->attr->misc + start : NULL;
		unsigned sh = d == AN_DIM_LOGIN_BAND ? 0 : 3, mask = d == AN_DIM_LOGIN_BAND ? 7u : 3u;
		for (i = 0; i < n; i++)
			k[i] = m ? (m[i] >> sh) & mask : 0;
		break;
	}
	case AN_DIM_AGE_BAND:
	case AN_DIM_SINCE_BAND:
		an_steps(&p->days, t, n, k);
		for (i = 0; i < n; i++) {
			const an_customer *c = cust[i] && cust[i] < ix->cust_info_n ? &ix->cust_info[cust[i]] : NULL;
			int y = p->days.syear[k[i]];
			int base = c == NULL ? 0 : d == AN_DIM_AGE_BAND ? c->birth_year : c->since_year;
			k[i] = base == 0 ? 0 : d == AN_DIM_AGE_BAND ? an_age_band(y - base) : an_since_band(y - base);
		}
		break;
	default: {
		if (an_dim_is_attr(d)) {  /* issue 16 (H5): one byte a row per key */
			size_t slot = (size_t)(d - AN_DIM_ATTR0), nk = ix->attr ? ix->attr->n_keys : 0;
			if (slot >= nk) {
				memset(k, 0, n * sizeof *k);
				break;
			}
			const uint8_t *av = ix->attr->av + start * nk + slot;
			for (i = 0; i < n; i++)
				k[i] = av[i * nk];
			break;
		}
		const uint16_t *tab = p->days.scode[d];
		uint32_t s0 = p->days.s0;
		if (p->days.step == 3600)
			for (i = 0; i < n; i++)
				k[i] = tab[t[i] / 3600u - s0];
		else
			for (i = 0; i < n; i++)
				k[i] = tab[t[i] / 900u - s0];
		break;
	}
	}
}

/* ---- the pass ------------------------------------------------------------------- */

typedef struct an_work {
	const an_plan *p;
	size_t lo, hi;
	uint32_t *hist;        /* n_groups x stride */
} an_work;

/* Note employee code em (0 = none: ignored) in a group's histogram h. Once
 * the group has two, one predictable branch a row. */
static inline void an_emp_note(uint32_t *h, uint32_t em)
{
	if (__builtin_expect(h[AN_BIN_EMPS] != 0, 1))
		return;
	if (em == 0 || em == h[AN_BIN_EMP])
		return;
	if (h[AN_BIN_EMP])
		h[AN_BIN_EMPS] = 1;
	else
		h[AN_BIN_EMP] = em;
}

/* One row's answers into histogram h. */
static inline void an_count_row(uint32_t *h, uint32_t stride, uint16_t a, uint16_t em)
{
	h[a & 15u]++;
	if (stride == AN_HIST) {
		h[16 + ((a >> 4) & 15u)]++;
		h[32 + ((a >> 8) & 7u)]++;
	}
	an_emp_note(h, em);
}

/* The kept rows of a chunk with a text dimension (issue 14): every row
 * into the total (after the groups), then into the group of each theme it
 * mentions (or, for the internal theme-absent dimension, does not), or
 * of its sentiment; rows without analysis into no group. key holds the
 * other dimension's code (and the sentiment's, combined as usual). */
static void an_count_partial(const an_plan *p, size_t start, size_t n, const uint8_t *keep,
			     const uint32_t *key, uint32_t *hist)
{
	const an_index *ix = p->ix;
	const uint16_t *ans = ix->ans + start, *emp = ix->emp + start, *ts = ix->tset + start;
	uint32_t *tot = hist + (size_t)p->n_groups * p->stride;
	bool products = p->multi >= 0 && p->dims[p->multi] == AN_DIM_PRODUCT;
	const uint16_t *pset = products && ix->attr ? ix->attr->pset + start : NULL;
	bool sentiment_0 = p->dims[0] == AN_DIM_SENTIMENT, sentiment_1 = p->n_dims == 2 &&
							    p->dims[1] == AN_DIM_SENTIMENT;
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		an_count_row(tot, p->stride, ans[i], emp[i]);
		if (products) {
			/* issue 16 (H5): a row in the group of each product held */
			uint16_t ps = pset ? pset[i] : 0;
			const an_psets *sets = &ix->attr->psets;
			for (uint32_t j = 0; ps && j < sets->len[ps]; j++) {
				uint32_t code = sets->pool[sets->off[ps] + j];
				uint32_t g = p->n_dims == 1 ? code
					   : p->multi == 0 ? code * p->n_codes[1] + key[i] : key[i] * p->n_codes[1] + code;
				an_count_row(hist + (size_t)g * p->stride, p->stride, ans[i], emp[i]);
			}
			continue;
		}
		uint16_t c = ts[i];
		if (c == 0)
			continue;
		const an_tset *set = &ix->sets.v[c];
		if (p->multi < 0) {
			/* sentiment (one group a row) beside another dimension or alone */
			uint32_t k2 = p->n_dims == 2 ? key[i] % p->n_codes[1] : 0;
			uint32_t k1 = p->n_dims == 2 ? key[i] / p->n_codes[1] : key[i];
			if ((sentiment_0 && k1 == 0) || (sentiment_1 && k2 == 0))
				continue;
			an_count_row(hist + (size_t)key[i] * p->stride, p->stride, ans[i], emp[i]);
			continue;
		}
		an_dim md = p->dims[p->multi];
		uint64_t m = md == AN_DIM_THEME ? set->any : md == AN_DIM_THEME_NEG ? set->neg
			   : md == AN_DIM_THEME_POS ? set->pos : ~set->any & p->theme_all;
		uint32_t other = key[i];  /* the other dimension's code (0 when none) */
		if (p->n_dims == 2 && p->dims[1 - p->multi] == AN_DIM_SENTIMENT && other == 0)
			continue;
		while (m) {
			uint32_t code = (uint32_t)__builtin_ctzll(m) + 1;
			m &= m - 1;
			uint32_t g = p->n_dims == 1 ? code
				   : p->multi == 0 ? code * p->n_codes[1] + other : other * p->n_codes[1] + code;
			an_count_row(hist + (size_t)g * p->stride, p->stride, ans[i], emp[i]);
		}
	}
}

/* keep[i] = row start + i is in the slice (period and filters). */
static void an_chunk_keep(const an_plan *p, size_t start, size_t n, uint8_t *keep)
{
	uint32_t fk[AN_CHUNK];
	const an_index *ix = p->ix;
	memset(keep, 1, n);
	if (p->from || p->to) {
		const uint32_t *t = ix->t + start;
		uint32_t to = p->to ? p->to : UINT32_MAX;
		for (size_t i = 0; i < n; i++)
			keep[i] = t[i] >= p->from && t[i] < to;
	}
	for (int f = 0; f < p->n_filters; f++) {
		an_keys(p, p->fdim[f], start, n, fk);
		const uint8_t *ok = p->allowed[f];
		for (size_t i = 0; i < n; i++)
			keep[i] &= ok[fk[i]];
	}
	if (p->tallow) {
		const uint16_t *ts = ix->tset + start;
		for (size_t i = 0; i < n; i++)
			keep[i] &= p->tallow[ts[i]];
	}
	if (p->pallow) {  /* issue 16 (H5) */
		const uint16_t *ps = ix->attr ? ix->attr->pset + start : NULL;
		for (size_t i = 0; i < n; i++)
			keep[i] &= ps ? p->pallow[ps[i]] : 0;
	}
}

static void an_count_chunk(const an_plan *p, size_t start, size_t n, uint32_t *hist)
{
	uint32_t key[AN_CHUNK], k2[AN_CHUNK];
	uint8_t keep[AN_CHUNK];
	const an_index *ix = p->ix;
	an_chunk_keep(p, start, n, keep);
	if (p->n_dims == 0) {
		memset(key, 0, n * sizeof key[0]);
	} else if (p->multi >= 0) {
		/* the theme's code is added per mention; key = the other dimension's */
		if (p->n_dims == 2)
			an_keys(p, p->dims[1 - p->multi], start, n, key);
		else
			memset(key, 0, n * sizeof key[0]);
	} else {
		an_keys(p, p->dims[0], start, n, key);
		if (p->n_dims == 2) {
			an_keys(p, p->dims[1], start, n, k2);
			for (size_t i = 0; i < n; i++)
				key[i] = key[i] * p->n_codes[1] + k2[i];
		}
	}
	if (p->partial) {
		an_count_partial(p, start, n, keep, key, hist);
		return;
	}
	const uint16_t *ans = ix->ans + start, *emp = ix->emp + start;
	if (p->stride == AN_HIST_NPS) {
		for (size_t i = 0; i < n; i++) {
			if (!keep[i])
				continue;
			uint32_t *h = hist + (size_t)key[i] * AN_HIST_NPS;
			an_emp_note(h, emp[i]);
			h[ans[i] & 15u]++;
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		uint32_t *h = hist + (size_t)key[i] * AN_HIST;
		uint16_t a = ans[i];
		h[a & 15u]++;
		h[16 + ((a >> 4) & 15u)]++;
		h[32 + ((a >> 8) & 7u)]++;
		an_emp_note(h, emp[i]);
	}
}

static void *an_work_run(void *arg)
{
	an_work *w = arg;
	for (size_t s = w->lo; s < w->hi; s += AN_CHUNK) {
		size_t n = w->hi - s < AN_CHUNK ? w->hi - s : AN_CHUNK;
		an_count_chunk(w->p, s, n, w->hist);
	}
	return NULL;
}

/* Histograms -> sufficient statistics (grade and CES only with the full
 * stride). */
static void an_hist_counts(const uint32_t *h, uint32_t stride, metrics_counts *c)
{
	memset(c, 0, sizeof *c);
	c->n = h[15];
	for (int v = 0; v <= 10; v++) {
		c->n += h[v];
		c->nps_n += h[v];
		c->promoters += v >= 9 ? h[v] : 0;
		c->passives += v == 7 || v == 8 ? h[v] : 0;
		c->detractors += v <= 6 ? h[v] : 0;
	}
	if (stride == AN_HIST_NPS)
		return;
	for (int v = 1; v <= 10; v++) {
		int64_t k = h[16 + v];
		c->grade_n += k;
		c->grade_sum += k * v;
		c->grade_sumsq += k * v * v;
		c->grade_7plus += v >= 7 ? k : 0;
		c->grade_9plus += v >= 9 ? k : 0;
	}
	for (int v = 1; v <= 7; v++) {
		int64_t k = h[32 + v];
		c->ces_n += k;
		c->ces_sum += k * v;
		c->ces_5plus += v >= 5 ? k : 0;
	}
}

/* n zeroed counters, 64-byte aligned: with the NPS-only stride a group's
 * histogram is then exactly one cache line. */
static uint32_t *an_hist_alloc(size_t n)
{
	size_t bytes = (n * sizeof(uint32_t) + 63) & ~(size_t)63;
	uint32_t *h = aligned_alloc(64, bytes);
	if (h)
		memset(h, 0, bytes);
	return h;
}

/* Merge b into a, n counters: counts add up; of the employees, two in
 * either or different ones in each make two. */
static void an_hist_merge(uint32_t *a, const uint32_t *b, size_t n, uint32_t stride)
{
	for (size_t g = 0; g < n; g += stride) {
		uint32_t ea = a[g + AN_BIN_EMP], eb = b[g + AN_BIN_EMP];
		uint32_t two = a[g + AN_BIN_EMPS] | b[g + AN_BIN_EMPS] | (ea && eb && ea != eb);
		for (size_t v = 0; v < stride; v++)
			a[g + v] += b[g + v];
		a[g + AN_BIN_EMP] = ea ? ea : eb;
		a[g + AN_BIN_EMPS] = two;
	}
}

static void an_counts_add(metrics_counts *a, const metrics_counts *b)
{
	int64_t *x = &a->n;
	const int64_t *y = &b->n;
	for (size_t i = 0; i < sizeof *a / sizeof(int64_t); i++)
		x[i] += y[i];
}

/* ---- filters ------------------------------------------------------------------- */

static uint8_t *an_add_filter(an_plan *p, an_dim d)
{
	uint32_t n = an_dim_codes(p, d);
	uint8_t *ok = calloc(n, 1);
	if (ok == NULL || p->n_filters == 20) {
		free(ok);
		return NULL;
	}
	p->fdim[p->n_filters] = d;
	p->fn[p->n_filters] = n;
	p->allowed[p->n_filters++] = ok;
	return ok;
}

/* A unit filter keeps the unit and everything below it. */
static bool an_filter_units(an_plan *p, int64_t unit_id)
{
	const an_index *ix = p->ix;
	uint8_t *ok = an_add_filter(p, AN_DIM_TEAM);
	if (ok == NULL)
		return false;
	uint32_t target = an_codes_get(&ix->units, unit_id);
	for (uint32_t c = 1; target && c < ix->units.n; c++) {
		uint32_t u = c;
		for (int depth = 0; u && depth < 8; depth++) {
			if (u == target) {
				ok[c] = 1;
				break;
			}
			u = u < ix->unit_info_n ? ix->unit_info[u].parent : 0;
		}
	}
	return true;
}

/* Keep rows whose code in dimension d is code; code < 0 keeps nothing (a
 * value nobody has). Code 0 is the dimension's "unknown". */
static bool an_filter_one(an_plan *p, an_dim d, int64_t code)
{
	uint8_t *ok = an_add_filter(p, d);
	if (ok == NULL)
		return false;
	if (code >= 0 && code < an_dim_codes(p, d))
		ok[code] = 1;
	return true;
}

/* An entity id's code, or -1 when the index has never seen it. */
static int64_t an_entity_code(const an_codes *m, int64_t id)
{
	uint32_t c = an_codes_get(m, id);
	return c ? (int64_t)c : -1;
}

static int64_t an_label_code(const char *const *labels, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(labels[i], v) == 0)
			return (int64_t)i;
	return -1;
}

/* Segment or city code; "unknown" is code 0 (no value recorded). */
static int64_t an_dict_code(const an_dict *d, const char *v)
{
	if (strcmp(v, "unknown") == 0)
		return 0;
	for (size_t i = 1; i < d->n; i++)
		if (strcmp(d->names[i], v) == 0)
			return (int64_t)i;
	return -1;
}

/* Issue 14: the theme, sentiment and analysed filters as one table over
 * the theme-set codes. An unknown theme or sentiment keeps nothing. */
static bool an_filter_text(an_plan *p, const an_filter *f)
{
	const an_index *ix = p->ix;
	if (!f->theme[0] && !f->sentiment[0] && f->analysed == 0)
		return true;
	size_t n = ix->sets.n ? ix->sets.n : 1;
	uint8_t *ok = calloc(n, 1);
	if (ok == NULL)
		return false;
	p->tallow = ok;
	uint64_t bit = 0;
	if (f->theme[0]) {
		for (size_t i = 1; i < ix->themes.n; i++)
			if (strncmp(ix->themes.names[i], f->theme, sizeof f->theme) == 0)
				bit = 1ULL << (i - 1);
		if (bit == 0)
			return true;  /* a theme nobody mentioned: nothing */
	}
	int want = 0;
	if (f->sentiment[0]) {
		char sv[sizeof f->sentiment + 1];
		memcpy(sv, f->sentiment, sizeof f->sentiment);
		sv[sizeof f->sentiment] = '\0';
		if ((want = an_sentiment_code(sv)) == 0)
			return true;
	}
	for (size_t c = 0; c < n; c++) {
		const an_tset *s = c < ix->sets.n ? &ix->sets.v[c] : NULL;
		bool has = c != 0 && s != NULL;
		bool keep = true;
		if (bit)
			keep = keep && has && (s->any & bit);
		if (want)
			keep = keep && has && s->label == want;
		if (f->analysed)
			keep = keep && (f->analysed == 2 ? has && s->any != 0 : f->analysed > 0 ? has : !has);
		ok[c] = keep;
	}
	return true;
}

const char *an_band_label(an_dim d, int64_t code)
{
	if (d == AN_DIM_LOGIN_BAND)
		return code >= 0 && code < 5 ? an_login_labels[code] : NULL;
	if (d == AN_DIM_NEWSLETTER)
		return code >= 0 && code < 3 ? an_news_labels[code] : NULL;
	return NULL;
}

int64_t an_value_code(const an_index *ix, an_dim d, const char *value)
{
	if (d == AN_DIM_LOGIN_BAND)
		return an_label_code(an_login_labels, 5, value);
	if (d == AN_DIM_NEWSLETTER)
		return an_label_code(an_news_labels, 3, value);
	if (!an_dim_is_attr(d) || ix->attr == NULL || (size_t)(d - AN_DIM_ATTR0) >= ix->attr->n_keys)
		return -1;
	const an_dict *v = &ix->attr->vals[d - AN_DIM_ATTR0];
	if (strcmp(value, "unknown") == 0)
		return 0;
	if (strcmp(value, "other") == 0)
		return AN_ATTR_OTHER;
	for (size_t c = 1; c < v->n; c++)
		if (strcmp(v->names[c], value) == 0)
			return (int64_t)c;
	return -1;
}

/* Issue 16 (H5): product, login band, newsletter and custom attributes.
 * An unknown product, band, key or value keeps nothing. */
static bool an_filter_attr(an_plan *p, const an_filter *f)
{
	const an_index *ix = p->ix;
	const an_attr *a = ix->attr;
	bool ok = true;
	if (f->product_id) {
		size_t n = a && a->psets.n ? a->psets.n : 1;
		p->pallow = calloc(n, 1);
		if (p->pallow == NULL)
			return false;
		uint32_t code = a ? an_codes_get(&a->prods, f->product_id) : 0;
		for (size_t c = 1; code && c < n; c++)
			for (uint32_t j = 0; j < a->psets.len[c]; j++)
				p->pallow[c] |= a->psets.pool[a->psets.off[c] + j] == code;
	}
	if (f->login_band[0])
		ok = ok && an_filter_one(p, AN_DIM_LOGIN_BAND, an_label_code(an_login_labels, 5, f->login_band));
	if (f->newsletter[0])
		ok = ok && an_filter_one(p, AN_DIM_NEWSLETTER, an_label_code(an_news_labels, 3, f->newsletter));
	for (size_t i = 0; ok && i < sizeof f->attr / sizeof f->attr[0]; i++) {
		char key[sizeof f->attr[i].key + 1], val[sizeof f->attr[i].value + 1];
		snprintf(key, sizeof key, "%.*s", (int)sizeof f->attr[i].key, f->attr[i].key);
		snprintf(val, sizeof val, "%.*s", (int)sizeof f->attr[i].value, f->attr[i].value);
		if (key[0] == '\0')
			continue;
		int slot = an_attr_slot(ix, key);
		an_dim d = (an_dim)(AN_DIM_ATTR0 + (slot >= 0 ? slot : 0));
		int64_t code = slot < 0 ? -1 : f->attr[i].code1 ? (int64_t)f->attr[i].code1 - 1 : an_value_code(ix, d, val);
		ok = an_filter_one(p, d, code);
	}
	return ok;
}

/* Without a channel filter a reply is about contact-driven answers only
 * (see AN_CHANNEL_RELATIONSHIP): every other channel code passes. */
static bool an_filter_contact_driven(an_plan *p)
{
	if (p->ix->n_relationship == 0)
		return true;  /* nothing to leave out: spare every row a look-up */
	uint8_t *t = an_add_filter(p, AN_DIM_CHANNEL);
	if (t == NULL)
		return false;
	for (unsigned c = 0; c < AN_CHANNEL_RELATIONSHIP; c++)
		t[c] = 1;
	return true;
}

static bool an_plan_filters(an_plan *p, const an_filter *f)
{
	const an_index *ix = p->ix;
	bool ok = true;
	if (f->team_id)
		ok = ok && an_filter_units(p, f->team_id);
	if (f->employee_id)
		ok = ok && an_filter_one(p, AN_DIM_EMPLOYEE, an_entity_code(&ix->emps, f->employee_id));
	if (f->touchpoint_id)
		ok = ok && an_filter_one(p, AN_DIM_TOUCHPOINT, an_entity_code(&ix->tps, f->touchpoint_id));
	if (f->journey_id)
		ok = ok && an_filter_one(p, AN_DIM_JOURNEY, an_entity_code(&ix->journeys, f->journey_id));
	if (f->channel[0]) {
		int64_t c = -1;
		for (unsigned i = 1; i <= AN_CHANNEL_RELATIONSHIP; i++)
			if (strcmp(an_channel_name(i), f->channel) == 0)
				c = i;
		ok = ok && an_filter_one(p, AN_DIM_CHANNEL, c);
	} else {
		ok = ok && an_filter_contact_driven(p);
	}
	if (f->language[0]) {
		/* language code 0 = nl, 1 = en: filter with an explicit table */
		uint8_t *t = an_add_filter(p, AN_DIM_LANGUAGE);
		ok = ok && t;
		if (t)
			t[strcmp(f->language, "en") == 0] = 1;
	}
	if (f->segment[0])
		ok = ok && an_filter_one(p, AN_DIM_SEGMENT, an_dict_code(&ix->segments, f->segment));
	if (f->city[0])
		ok = ok && an_filter_one(p, AN_DIM_CITY, an_dict_code(&ix->cities, f->city));
	if (f->age_band[0])
		ok = ok && an_filter_one(p, AN_DIM_AGE_BAND, an_label_code(an_age_labels, 7, f->age_band));
	if (f->since_band[0])
		ok = ok && an_filter_one(p, AN_DIM_SINCE_BAND, an_label_code(an_since_labels, 6, f->since_band));
	return ok && an_filter_text(p, f) && an_filter_attr(p, f);
}

/* ---- labels ---------------------------------------------------------------------- */

/* Copy s into out (n bytes), at most max bytes of it, cut on a UTF-8
 * character boundary: a label cut mid-character is invalid UTF-8 in the
 * JSON (issue 16 H10). Returns whether it was cut. */
static bool an_copy_utf8(char *out, size_t n, const char *s, size_t max)
{
	size_t len = strlen(s);
	if (max > n - 1)
		max = n - 1;
	bool cut = len > max;
	if (cut) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xC0u) == 0x80u)
			len--;  /* s[len] continues the character before: leave it whole */
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return cut;
}

/* Does v end in " #<digits>" (how a label names a value's code)? */
static bool an_ends_with_code(const char *v)
{
	size_t n = strlen(v), i = n;
	while (i > 0 && v[i - 1] >= '0' && v[i - 1] <= '9')
		i--;
	return i < n && i >= 2 && v[i - 1] == '#' && v[i - 2] == ' ';
}

/* Issue 16 (H10): a custom attribute value's label, unique per key. The
 * value itself when it fits and can be taken for nothing else; else (a
 * value longer than the label, one stored before "unknown" and "other"
 * were reserved, one ending like a code) its first bytes, "…" if cut, and
 * " #<code>" — a label that ends in " #<digits>" always ends in its own
 * code, one that does not is the whole value, so no two print alike. */
static void an_attr_label(const char *v, uint32_t code, char *key, size_t kn)
{
	if (code == 0 || code == AN_ATTR_OTHER) {
		snprintf(key, kn, "%s", code ? "other" : "unknown");
		return;
	}
	if (strlen(v) < kn && strcmp(v, "unknown") != 0 && strcmp(v, "other") != 0 && !an_ends_with_code(v)) {
		memcpy(key, v, strlen(v) + 1);
		return;
	}
	char suffix[16];
	int sl = snprintf(suffix, sizeof suffix, " #%u", code);
	size_t room = kn - 1 - (size_t)sl - 3;  /* "…" is 3 bytes */
	bool cut = an_copy_utf8(key, kn, v, room);
	snprintf(key + strlen(key), kn - strlen(key), "%s%s", cut ? "\xe2\x80\xa6" : "", suffix);
}

static void an_label(const an_plan *p, an_dim d, uint32_t code, int64_t *id, char *key, size_t kn,
		     char *sort, size_t sn)
{
	const an_index *ix = p->ix;
	const an_named *info = NULL;
	size_t info_n = 0;
	const an_codes *codes = NULL;
	*id = 0;
	snprintf(sort, sn, "%010u", code);
	switch (d) {
	case AN_DIM_TEAM:
	case AN_DIM_DEPARTMENT:
	case AN_DIM_ORGANISATION: info = ix->unit_info; info_n = ix->unit_info_n; codes = &ix->units; break;
	case AN_DIM_EMPLOYEE: info = ix->emp_info; info_n = ix->emp_info_n; codes = &ix->emps; break;
	case AN_DIM_TOUCHPOINT: info = ix->tp_info; info_n = ix->tp_info_n; codes = &ix->tps; break;
	case AN_DIM_JOURNEY: info = ix->journey_info; info_n = ix->journey_info_n; codes = &ix->journeys; break;
	case AN_DIM_CHANNEL: snprintf(key, kn, "%s", code ? an_channel_name(code) : "unknown"); return;
	case AN_DIM_LANGUAGE: snprintf(key, kn, "%s", code ? "en" : "nl"); return;
	case AN_DIM_SEGMENT: snprintf(key, kn, "%s", code ? ix->segments.names[code] : "unknown"); break;
	case AN_DIM_CITY: an_copy_utf8(key, kn, code ? ix->cities.names[code] : "unknown", kn - 1); break;
	case AN_DIM_AGE_BAND: snprintf(key, kn, "%s", an_age_labels[code]); return;
	case AN_DIM_SINCE_BAND: snprintf(key, kn, "%s", an_since_labels[code]); return;
	case AN_DIM_THEME:
	case AN_DIM_THEME_ABSENT:
	case AN_DIM_THEME_NEG:
	case AN_DIM_THEME_POS:
		/* by theme id: a stable, language-free order */
		snprintf(key, kn, "%s", code && code < ix->themes.n ? ix->themes.names[code] : "");
		snprintf(sort, sn, "%s", code && code < ix->themes.n ? ix->themes.names[code] : "");
		return;
	case AN_DIM_SENTIMENT: snprintf(key, kn, "%s", an_sentiment_names[code & 3u]); return;
	case AN_DIM_PRODUCT:  /* issue 16 (H5): by name, like named things */
		*id = ix->attr && code < ix->attr->prods.n ? ix->attr->prods.ids[code] : 0;
		an_copy_utf8(key, kn, ix->attr && code < ix->attr->prods.n ? ix->attr->pname[code] : "", 95);
		break;
	case AN_DIM_LOGIN_BAND:  /* issue 16 (H10): the code + 1 in id, for disclosure */
		*id = (int64_t)code + 1;
		snprintf(key, kn, "%s", an_login_labels[code % 5]);
		return;
	case AN_DIM_NEWSLETTER:
		*id = (int64_t)code + 1;
		snprintf(key, kn, "%s", an_news_labels[code % 3]);
		return;
	default:
		if (an_dim_is_attr(d)) {
			*id = (int64_t)code + 1;
			size_t slot = (size_t)(d - AN_DIM_ATTR0);
			const an_dict *v = ix->attr && slot < ix->attr->n_keys ? &ix->attr->vals[slot] : NULL;
			an_attr_label(v && code < v->n ? v->names[code] : "", code, key, kn);
			break;
		}
		snprintf(key, kn, "%s", p->days.label[d][code]);
		return;
	}
	if (codes) {
		*id = code < codes->n ? codes->ids[code] : 0;
		/* A row can name an entity created after the last dimension
		 * refresh: it is labelled, never read out of bounds. */
		bool known = code < info_n && info[code].known;
		an_copy_utf8(key, kn, code == 0 ? "(none)" : known ? info[code].name : "(unknown)", 95);
	}
	/* Named things sort by name (none last). */
	if (sn < 2)
		return;
	sort[0] = code == 0 ? '~' : ' ';
	size_t len = strlen(key) < sn - 2 ? strlen(key) : sn - 2;
	memmove(sort + 1, key, len);
	sort[len + 1] = '\0';
}

/* The id and, for time dimensions, the label of a group: an_filter.raw_keys. */
static void an_label_raw(const an_plan *p, an_dim d, uint32_t code, int64_t *id, char *key, size_t kn)
{
	const an_index *ix = p->ix;
	const an_codes *codes = NULL;
	*id = 0;
	key[0] = '\0';
	switch (d) {
	case AN_DIM_TEAM:
	case AN_DIM_DEPARTMENT:
	case AN_DIM_ORGANISATION: codes = &ix->units; break;
	case AN_DIM_EMPLOYEE: codes = &ix->emps; break;
	case AN_DIM_TOUCHPOINT: codes = &ix->tps; break;
	case AN_DIM_JOURNEY: codes = &ix->journeys; break;
	case AN_DIM_THEME:
	case AN_DIM_THEME_ABSENT:
	case AN_DIM_THEME_NEG:
	case AN_DIM_THEME_POS:
		snprintf(key, kn, "%s", code && code < ix->themes.n ? ix->themes.names[code] : "");
		return;
	case AN_DIM_SENTIMENT: snprintf(key, kn, "%s", an_sentiment_names[code & 3u]); return;
	case AN_DIM_PRODUCT:
	case AN_DIM_LOGIN_BAND:
	case AN_DIM_NEWSLETTER: {  /* issue 16 (H5): as labelled */
		char sort[100];
		an_label(p, d, code, id, key, kn, sort, sizeof sort);
		return;
	}
	default:
		if (an_dim_is_attr(d)) {
			char sort[100];
			an_label(p, d, code, id, key, kn, sort, sizeof sort);
			return;
		}
		if (an_dim_is_time(d)) {
			size_t n = strnlen(p->days.label[d][code], sizeof p->days.label[d][code]);
			n = n < kn ? n : kn - 1;
			memcpy(key, p->days.label[d][code], n);
			key[n] = '\0';
		}
		return;
	}
	*id = code < codes->n ? codes->ids[code] : 0;
}

static int an_group_cmp(const void *a, const void *b)
{
	const an_group *x = a, *y = b;
	int c = strcmp(x->sort[0], y->sort[0]);
	return c ? c : strcmp(x->sort[1], y->sort[1]);
}

/* ---- the query -------------------------------------------------------------------- */

static void an_plan_free(an_plan *p)
{
	for (int i = 0; i < p->n_filters; i++)
		free(p->allowed[i]);
	free(p->dept_of);
	free(p->org_of);
	free(p->journey_of);
	free(p->tallow);
	free(p->pallow);
	an_days_free(&p->days);
}

static ks_err an_plan_make(const an_index *ix, const an_filter *f, const an_dim *dims, int n_dims,
			   an_plan *p, ks_error *e)
{
	memset(p, 0, sizeof *p);
	p->ix = ix;
	p->n_dims = n_dims;
	int64_t from = f->from > 0 ? f->from : 0, to = f->to > 0 ? f->to : 0;
	if (from > UINT32_MAX || to > UINT32_MAX)
		return ks_fail(e, KS_ERR_RANGE, from > UINT32_MAX ? "from" : "to", "period out of range");
	p->from = (uint32_t)from;
	p->to = (uint32_t)to;
	p->stride = f->nps_only ? AN_HIST_NPS : AN_HIST;
	p->raw = f->raw_keys;
	/* Step tables only for what the keys will look up. */
	bool need[AN_DIM__COUNT] = {false};
	bool need_year = f->age_band[0] || f->since_band[0];
	for (int i = 0; i < n_dims; i++) {
		need[dims[i]] = an_dim_is_time(dims[i]);
		need_year = need_year || dims[i] == AN_DIM_AGE_BAND || dims[i] == AN_DIM_SINCE_BAND;
	}
	if (!an_days_build(&p->days, ix, need, need_year))
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	p->dept_of = an_ancestors(ix, 'd');
	p->org_of = an_ancestors(ix, 'o');
	p->journey_of = calloc(ix->tps.n + 1, sizeof *p->journey_of);
	if (p->dept_of == NULL || p->org_of == NULL || p->journey_of == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t c = 1; c < ix->tps.n && c < ix->tp_info_n; c++)
		p->journey_of[c] = (uint16_t)ix->tp_info[c].parent;
	p->multi = -1;
	for (size_t c = 1; c < ix->themes.n && c <= AN_MAX_THEMES; c++)
		p->theme_all |= 1ULL << (c - 1);
	uint64_t groups = 1;
	for (int i = 0; i < n_dims; i++) {
		p->partial = p->partial || an_dim_is_text(dims[i]) || dims[i] == AN_DIM_PRODUCT;
		if ((an_dim_is_text(dims[i]) && dims[i] != AN_DIM_SENTIMENT) || dims[i] == AN_DIM_PRODUCT)
			p->multi = i;
		p->dims[i] = dims[i];
		p->n_codes[i] = an_dim_codes(p, dims[i]);
		groups *= p->n_codes[i];
	}
	if (groups > AN_MAX_GROUPS)
		return ks_fail(e, KS_ERR_RANGE, "group_by", "too many groups (%llu); narrow the breakdown",
			       (unsigned long long)groups);
	p->n_groups = (uint32_t)groups;
	if (!an_plan_filters(p, f))
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

/* 0, 1 or 2 (two or more) distinct employees of a group's histogram. */
static uint8_t an_persons(const uint32_t *h)
{
	return h[AN_BIN_EMPS] ? 2 : h[AN_BIN_EMP] ? 1 : 0;
}

/* Rows of a group: every row lands in exactly one NPS bin. */
static uint64_t an_hist_rows(const uint32_t *h)
{
	uint64_t n = h[15];
	for (int v = 0; v <= 10; v++)
		n += h[v];
	return n;
}

static ks_err an_collect(const an_plan *p, const uint32_t *hist, an_result *out, ks_error *e)
{
	size_t used = 0;
	for (uint32_t g = 0; g < p->n_groups; g++)
		used += an_hist_rows(hist + (size_t)g * p->stride) > 0;
	out->groups = calloc(used ? used : 1, sizeof *out->groups);
	if (out->groups == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	size_t k = 0;
	uint32_t all[AN_HIST_NPS] = {0};  /* the employee bins over the slice */
	if (p->partial) {
		/* groups overlap or leave rows out: the total was counted itself */
		const uint32_t *h = hist + (size_t)p->n_groups * p->stride;
		an_hist_counts(h, p->stride, &out->total);
		an_hist_merge(all, h, AN_HIST_NPS, AN_HIST_NPS);
	}
	for (uint32_t g = 0; g < p->n_groups; g++) {
		const uint32_t *h = hist + (size_t)g * p->stride;
		metrics_counts c;
		an_hist_counts(h, p->stride, &c);
		if (c.n == 0)
			continue;
		if (!p->partial) {
			an_counts_add(&out->total, &c);
			an_hist_merge(all, h, AN_HIST_NPS, AN_HIST_NPS);
		}
		if (p->n_dims == 0)
			continue;
		an_group *grp = &out->groups[k++];
		grp->c = c;
		grp->persons = an_persons(h);
		uint32_t codes[2] = {p->n_dims == 2 ? g / p->n_codes[1] : g,
				     p->n_dims == 2 ? g % p->n_codes[1] : 0};
		for (int i = 0; i < p->n_dims; i++) {
			if (p->raw)
				an_label_raw(p, p->dims[i], codes[i], &grp->id[i], grp->key[i], sizeof grp->key[i]);
			else
				an_label(p, p->dims[i], codes[i], &grp->id[i], grp->key[i], sizeof grp->key[i],
					 grp->sort[i], sizeof grp->sort[i]);
		}
	}
	out->n_groups = k;
	out->total_persons = an_persons(all);
	if (!p->raw)
		qsort(out->groups, k, sizeof *out->groups, an_group_cmp);
	return KS_OK;
}

ks_err an_query(an_index *ix, const an_filter *f, const an_dim *dims, int n_dims, an_result *out,
		ks_error *e)
{
	memset(out, 0, sizeof *out);
	if (n_dims < 0 || n_dims > 2)
		return ks_fail(e, KS_ERR_INVALID, "group_by", "at most two dimensions");
	for (int i = 0; i < n_dims; i++)
		if (dims[i] <= AN_DIM_NONE || dims[i] >= AN_DIM__COUNT)
			return ks_fail(e, KS_ERR_INVALID, "group_by", "unknown dimension");
	/* issue 16 (H5): products are several groups a row, like themes */
	if (n_dims == 2 && (dims[0] == AN_DIM_PRODUCT || dims[1] == AN_DIM_PRODUCT) &&
	    (an_dim_is_text(dims[0]) || an_dim_is_text(dims[1]) || dims[0] == dims[1]))
		return ks_fail(e, KS_ERR_INVALID, "group_by", "product cannot be grouped with theme or sentiment");
	out->n_dims = n_dims;
	for (int i = 0; i < n_dims; i++)
		out->dims[i] = dims[i];
	pthread_rwlock_rdlock(&ix->lock);
	for (int i = 0; i < n_dims; i++)
		an_dim_label_locked(ix, dims[i], out->dim_name[i], sizeof out->dim_name[i]);
	an_plan p;
	ks_err err = an_plan_make(ix, f, dims, n_dims, &p, e);
	size_t rows = ix->n;
	int nthreads = rows >= AN_PARALLEL_MIN ? 2 : 1;
	uint32_t *hist[2] = {NULL, NULL};
	size_t slots = (size_t)p.n_groups + (p.partial ? 1 : 0);  /* + the total of a text grouping */
	for (int i = 0; !err && i < nthreads; i++) {
		hist[i] = an_hist_alloc(slots * p.stride);
		if (hist[i] == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	if (!err) {
		an_work w[2] = {{&p, 0, rows / nthreads, hist[0]}, {&p, rows / nthreads, rows, hist[1]}};
		if (nthreads == 1)
			w[0].hi = rows;
		pthread_t th;
		bool spawned = nthreads == 2 && pthread_create(&th, NULL, an_work_run, &w[1]) == 0;
		an_work_run(&w[0]);
		if (spawned)
			pthread_join(th, NULL);
		else if (nthreads == 2)
			an_work_run(&w[1]);
		if (nthreads == 2)
			an_hist_merge(hist[0], hist[1], slots * p.stride, p.stride);
		err = an_collect(&p, hist[0], out, e);
	}
	free(hist[0]);
	free(hist[1]);
	an_plan_free(&p);
	pthread_rwlock_unlock(&ix->lock);
	if (err)
		an_result_free(out);
	return err;
}

void an_result_free(an_result *r)
{
	free(r->groups);
	r->groups = NULL;
	r->n_groups = 0;
}

/* ---- issue 15: the slice's rows for the key-driver analysis (drivers_index.c) ---- */

struct an_slice {
	an_plan p;
};

ks_err an_slice_new(const an_index *ix, const an_filter *f, an_slice **out, ks_error *e)
{
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = an_plan_make(ix, f, NULL, 0, &(*out)->p, e);
	if (err) {
		an_slice_free(*out);
		*out = NULL;
	}
	return err;
}

void an_slice_keep(const an_slice *s, size_t start, size_t n, uint8_t *keep)
{
	an_chunk_keep(&s->p, start, n, keep);
}

void an_slice_free(an_slice *s)
{
	if (s == NULL)
		return;
	an_plan_free(&s->p);
	free(s);
}
/* ---- end of issue 15 ---- */
