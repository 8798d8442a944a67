/* api_drivers.c — key drivers (issue 15): GET /api/v1/drivers (which aspects
 * move NPS, grade or CES in a slice, how the slice performs on them against
 * the organisation, what to work on first), /drivers/top3 (a team's three)
 * and /drivers/moments (which touchpoints of a journey move the score at
 * its end).
 *
 * The rows are the analytics index's (drivers_index.h: the slice of an
 * an_filter, as /metrics counts it), the statistics src/drivers' (relative
 * weights or Shapley values with bootstrap intervals, OLS slopes), the
 * filter, scope and disclosure /metrics' (api_metrics_filter, dc_query): a
 * slice /metrics would not show, or one person's, gets no driver figure.
 * docs/API.md "Key drivers", docs/DRIVERS.md, docs/PRIVACY.md.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/drivers_index.h"
#include "api/api.h"
#include "core/clock.h"
#include "drivers/drivers.h"

#define API_DRV_Z95 1.96
#define API_DRV_GROUPS 1024       /* bootstrap units: random groups of rows (drivers.h) */
#define API_DRV_BOOT_MAX 2000
#define API_DRV_GOOD 8            /* a "good" rating: 8 or more of 10 */
#define API_DRV_WINDOW_MAX 365
#define API_DRV_MIN_PAIRS 10      /* ratings of a driver, and of it with each other one */
/* Drivers in one model. A request holds two accumulators of 1,024 groups
 * of 3q² + q(q+1)/2 doubles (q = drivers + 1, drivers.h) and a compacted
 * copy: about 55 MB at 24 drivers, but 400 MB at 64 (aspects and themes
 * with themes=1). The most rated come in; the rest are listed with
 * left_out "too_many_drivers" and keep their n and mean. */
#define API_DRV_MODEL_MAX 24
/* The bootstrap's time budget, about 2 s on two cores. A replicate costs
 * about 4·G·(p+1)² operations (summing the groups it draws) + 50·p³ (the
 * eigen decomposition) + for Shapley 18·2^p·p² (every subset's R²); the
 * constants from bench/drivers on the build machine: 4096 groups, 12
 * drivers, 1000 replicates take 0.26 s with relative weights and 1.26 s
 * with Shapley. A request that asks for more than fits gets fewer (at
 * least 200) and says so ("bootstrap"). */
#define API_DRV_BOOT_OPS 2.0e10

/* ---- rows into the engine ---------------------------------------------------- */

typedef struct api_sink {
	drv_acc *acc;
} api_sink;

/* The group of a row: a fixed hash of the index's row number, so the
 * groups are random sets of rows whichever thread reads them. */
static void api_drv_add(void *arg, uint32_t row, double y, const double *x)
{
	api_sink *s = arg;
	uint64_t h = (uint64_t)(row + 1) * 0x9E3779B97F4A7C15ULL;  /* Fibonacci hashing (Knuth) */
	drv_acc_add(s->acc, (int)((h >> 32) % API_DRV_GROUPS), y, x);
}

/* Replicates that fit the budget (at least 200 when asked for more: fewer
 * make percentile intervals of 95 % meaningless). */
static int api_boot_fit(int asked, int p, drv_method m)
{
	double per = (double)API_DRV_GROUPS * (p + 1) * (p + 1) * 4.0 + 50.0 * p * p * p;
	if (m == DRV_SHAPLEY)
		per += 18.0 * (double)(1u << p) * p * p;
	double fit = API_DRV_BOOT_OPS / per;
	int b = fit < asked ? (int)fit : asked;
	return asked > 0 && b < 200 ? (asked < 200 ? asked : 200) : b;
}

/* ---- the request ------------------------------------------------------------------ */

typedef struct api_drv_opts {
	an_outcome outcome;
	drv_method method;
	int bootstrap;
	bool themes;                 /* themes=1: the open answers' themes as drivers too */
} api_drv_opts;

static ks_err api_drv_opts_parse(http_req *req, bool with_outcome, api_drv_opts *o, ks_error *e)
{
	o->outcome = AN_OUTCOME_NPS;
	o->method = DRV_RELWEIGHTS;
	o->bootstrap = 1000;
	const char *v = http_query(req, "outcome");
	if (v && (!with_outcome || an_outcome_from_name(v) < 0))
		return ks_fail(e, KS_ERR_INVALID, "outcome", with_outcome ? "outcome must be nps, grade or ces"
								      : "the top three are by NPS: no outcome");
	if (v)
		o->outcome = (an_outcome)an_outcome_from_name(v);
	v = http_query(req, "method");
	if (v && !drv_method_parse(v, &o->method))
		return ks_fail(e, KS_ERR_INVALID, "method", "method must be relweights or shapley");
	v = http_query(req, "bootstrap");
	if (v) {
		char *end = NULL;
		long b = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || b < 0 || b > API_DRV_BOOT_MAX)
			return ks_fail(e, KS_ERR_INVALID, "bootstrap", "bootstrap must be 0 to %d replicates",
				       API_DRV_BOOT_MAX);
		o->bootstrap = (int)b;
	}
	v = http_query(req, "themes");
	o->themes = false;
	if (v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
		return ks_fail(e, KS_ERR_INVALID, "themes", "themes must be 0 or 1");
	o->themes = v && strcmp(v, "1") == 0;
	return KS_OK;
}

/* ---- disclosure ----------------------------------------------------------------------- */

/* Answers to the outcome's question in a cell, and whether /metrics shows
 * its score. */
static int64_t api_outcome_n(const metrics_counts *c, an_outcome o)
{
	return o == AN_OUTCOME_GRADE ? c->grade_n : o == AN_OUTCOME_CES ? c->ces_n : c->nps_n;
}

static bool api_outcome_shown(const dc_reply *d, an_outcome o)
{
	const metrics_mask *m = &d->total.show;
	bool show = o == AN_OUTCOME_GRADE ? m->grade : o == AN_OUTCOME_CES ? m->ces : m->nps;
	int64_t n = api_outcome_n(&d->r.total, o);
	return show && n > 0 && n >= d->total.min_n;
}

/* May the slice f have driver figures? Only where /metrics shows its score
 * of the outcome (the group or person threshold, complementary
 * suppression, the canonical table: dc_query decides), and never for one
 * person's answers (an employee filter, or answers that all name one
 * employee): a person's weights would judge them, and their aspect means
 * have their own rule on the person page (PRIVACY.md section 4) that a
 * second route must not undercut. *n: the answers to the outcome. */
static ks_err api_drv_disclosed(api_app *app, const an_filter *f, const char *period, an_outcome o,
				bool *shown, int64_t *n, ks_error *e)
{
	dc_policy pol = api_policy(app);
	dc_reply d;
	ks_err err = dc_query(app->index, &pol, f, period, NULL, 0, &d, e);
	if (err)
		return err;
	*n = api_outcome_n(&d.r.total, o);
	*shown = api_outcome_shown(&d, o) && f->employee_id == 0 && d.r.total_persons != 1;
	dc_reply_free(&d);
	return KS_OK;
}

/* ---- one slice's analysis ------------------------------------------------------------------ */

typedef struct api_drv_run {
	bool suppressed;
	int64_t n;                   /* answers to the outcome in the slice */
	an_drv_aspects asp;          /* aspects rated in the slice */
	int p;                       /* of them in the model: those with >= min_n ratings */
	int model[AN_DRV_MAX];       /* model driver j -> asp index */
	an_drv_stream st;
	drv_result r;
	bool have_r;
	char model_error[256];       /* why there is no model (too few rows, collinear) */
	int boot_used;
	const char *left_out[AN_DRV_MAX];  /* by asp index: why not in the model (NULL = in it) */
	int st_idx[AN_DRV_MAX];      /* asp index -> its index in st (and api_drv_org): the
	                              * model's drivers first (st_idx = j), then the others */
	int64_t min_n;               /* the group threshold (a mean's ratings) */
} api_drv_run;

static void api_drv_run_free(api_drv_run *x)
{
	drv_result_free(&x->r);
}

static ks_err api_drv_analyze_acc(drv_acc *acc, const api_drv_opts *o, const char *const *names,
				  api_drv_run *x, ks_error *e)
{
	drv_opts dopt;
	drv_opts_default(&dopt);
	dopt.method = o->method;
	dopt.bootstrap = api_boot_fit(o->bootstrap, x->p, o->method);
	dopt.names = names;
	dopt.outcome_name = an_outcome_name(o->outcome);
	x->boot_used = dopt.bootstrap;
	ks_error me;
	memset(&me, 0, sizeof me);
	ks_err err = drv_analyze(acc, &dopt, &x->r, &me);
	if (err == KS_ERR_NOMEM)
		return ks_fail(e, err, NULL, "out of memory");
	if (err) {
		/* too few rows, no variance, collinear drivers: the slice has no
		 * model, which is an answer, not a failed request */
		memcpy(x->model_error, me.message, sizeof x->model_error);
		x->model_error[sizeof x->model_error - 1] = 0;
		return KS_OK;
	}
	x->have_r = true;
	return KS_OK;
}

/* The model's drivers: an aspect needs API_DRV_MIN_PAIRS ratings, and as
 * many rows that rate it together with each driver already in, taken
 * from the most rated down. Surveys of different touchpoints ask different
 * aspects (the demo: punctuality at the field visit, speed on the phone),
 * and two aspects never rated together have no correlation: a model of
 * both is undefined, not merely uncertain. The others are listed with the
 * reason (x->left_out[i]). */
static void api_drv_select(const api_app *app, api_drv_run *x, const char **names)
{
	int64_t min = app->min_n > API_DRV_MIN_PAIRS ? app->min_n : API_DRV_MIN_PAIRS;
	int order[AN_DRV_MAX];
	int n = (int)x->asp.count;
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 1; i < n; i++)  /* insertion sort by n, descending, stable */
		for (int k = i; k > 0 && x->asp.n[order[k]] > x->asp.n[order[k - 1]]; k--) {
			int t = order[k];
			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	for (int k = 0; k < n; k++) {
		int i = order[k];
		x->left_out[i] = x->asp.n[i] < min ? "too_few_ratings" : NULL;
		/* a theme needs answers with it and without it */
		if (x->asp.theme[i] && (x->asp.mentions[i] < min || x->asp.n[i] - x->asp.mentions[i] < min))
			x->left_out[i] = "too_few_mentions";
		for (int q = 0; !x->left_out[i] && q < x->p; q++)
			if (x->asp.both[i][x->model[q]] < min)
				x->left_out[i] = "not_rated_with_other_drivers";
		if (!x->left_out[i] && x->p == API_DRV_MODEL_MAX)
			x->left_out[i] = "too_many_drivers";
		if (x->left_out[i])
			continue;
		x->model[x->p] = i;
		names[x->p] = x->asp.name[i];
		x->st.code[x->p++] = x->asp.code[i];
	}
}

static ks_err api_drv_run_slice(api_app *app, const an_filter *f, const char *period, const api_drv_opts *o,
				api_drv_run *x, ks_error *e)
{
	memset(x, 0, sizeof *x);
	x->min_n = app->min_n;
	bool shown = false;
	ks_err err = api_drv_disclosed(app, f, period, o->outcome, &shown, &x->n, e);
	x->suppressed = !shown;
	if (err || x->suppressed)
		return err;
	if ((err = an_drv_aspects_in(app->index, f, o->themes, &x->asp, e)))
		return err;
	const char *names[AN_DRV_MAX];
	api_drv_select(app, x, names);
	int q = x->p;  /* the aspects outside the model are counted too (n, mean) */
	for (int j = 0; j < x->p; j++)
		x->st_idx[x->model[j]] = j;
	for (size_t i = 0; i < x->asp.count; i++)
		if (x->left_out[i]) {
			x->st_idx[i] = q;
			x->st.code[q++] = x->asp.code[i];
		}
	x->st.q = q;
	if (x->p == 0) {
		snprintf(x->model_error, sizeof x->model_error, "no aspect has %lld ratings in the slice",
			 (long long)(app->min_n > API_DRV_MIN_PAIRS ? app->min_n : API_DRV_MIN_PAIRS));
		x->st.outcome = o->outcome;
		x->st.person_min = app->min_n_employee;
		return q > 0 ? an_drv_stream_slice(app->index, f, &x->st, e) : KS_OK;  /* counts only */
	}
	if (o->method == DRV_SHAPLEY && x->p > DRV_MAX_SHAPLEY)
		return ks_fail(e, KS_ERR_INVALID, "method",
			       "shapley takes at most %d drivers; the slice has %d: use relweights",
			       DRV_MAX_SHAPLEY, x->p);
	drv_acc *acc[2] = {NULL, NULL};
	err = drv_acc_new(x->p, API_DRV_GROUPS, &acc[0], e);
	if (!err)
		err = drv_acc_new(x->p, API_DRV_GROUPS, &acc[1], e);
	api_sink sink[2] = {{acc[0]}, {acc[1]}};
	x->st.outcome = o->outcome;
	x->st.p = x->p;
	x->st.person_min = app->min_n_employee;
	x->st.fn = api_drv_add;
	x->st.sink[0] = &sink[0];
	x->st.sink[1] = &sink[1];
	if (!err)
		err = an_drv_stream_slice(app->index, f, &x->st, e);
	if (!err)
		err = drv_acc_merge(acc[0], acc[1], e);
	if (!err)
		err = api_drv_analyze_acc(acc[0], o, names, x, e);
	drv_acc_free(acc[0]);
	drv_acc_free(acc[1]);
	return err;
}

/* ---- the organisation's units ------------------------------------------------------------------- */

typedef struct api_drv_org {
	bool have[AN_DRV_MAX];
	double mean[AN_DRV_MAX];      /* every rating of the organisation's slice */
	bool have_q[AN_DRV_MAX];
	double best_q[AN_DRV_MAX];    /* 75th percentile of the unit means */
	double low_q[AN_DRV_MAX];     /* 25th: the best of a theme that goes with lower scores */
	int units[AN_DRV_MAX];        /* units it is taken over */
} api_drv_org;

static int api_dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The q-quantile of sorted v[0..n), linear between order statistics
 * (Hyndman & Fan 1996, type 7: R's and numpy's default). */
static double api_quantile(const double *v, size_t n, double q)
{
	double h = (double)(n - 1) * q;
	size_t lo = (size_t)floor(h);
	size_t hi = lo + 1 < n ? lo + 1 : lo;
	return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

/* The organisation's same-period figures for the model's drivers: the
 * slice's filters without its unit and employee, per team. A unit counts
 * towards the best quartile when it has at least min_n ratings of the
 * driver and its answers name two or more employees (or none): a quantile
 * is one unit's mean (or between two), which must never be a person's. */
static ks_err api_drv_org_of(api_app *app, const an_filter *f, const api_drv_run *x, api_drv_org *org,
			     ks_error *e)
{
	memset(org, 0, sizeof *org);
	an_filter fo = *f;
	fo.team_id = 0;
	fo.employee_id = 0;
	an_drv_units u;
	int q = x->st.q > x->p ? x->st.q : x->p;
	ks_err err = an_drv_units_of(app->index, &fo, q, x->st.code, app->min_n_employee, &u, e);
	if (err)
		return err;
	double *means = calloc(u.count ? u.count : 1, sizeof *means);
	if (means == NULL) {
		an_drv_units_free(&u);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	for (int j = 0; j < q; j++) {
		if (u.all_n[j] >= app->min_n) {
			org->have[j] = true;
			org->mean[j] = (double)u.all_sum[j] / (double)u.all_n[j];
		}
		size_t k = 0;
		for (size_t i = 0; i < u.count; i++)
			if (u.units[i].n[j] >= app->min_n && u.units[i].persons[j] != 1)
				means[k++] = (double)u.units[i].sum[j] / (double)u.units[i].n[j];
		if (k == 0)
			continue;
		qsort(means, k, sizeof *means, api_dbl_cmp);
		org->have_q[j] = true;
		org->best_q[j] = api_quantile(means, k, 0.75);
		org->low_q[j] = api_quantile(means, k, 0.25);
		org->units[j] = (int)k;
	}
	free(means);
	an_drv_units_free(&u);
	return KS_OK;
}

/* ---- figures as JSON ----------------------------------------------------------------------------- */

static json_t *api_num(double x, int decimals)
{
	if (!isfinite(x))
		return json_null();
	return json_real((double)metrics_round_scaled(x, decimals) / pow(10.0, decimals));
}

static json_t *api_interval(double v, double lo, double hi, int decimals)
{
	return json_pack("{s:o, s:o, s:o}", "value", api_num(v, decimals), "lo", api_num(lo, decimals), "hi",
			 api_num(hi, decimals));
}

static json_t *api_rank(const drv_driver *d, bool boot)
{
	return json_pack("{s:i, s:o, s:o}", "value", d->rank, "lo", boot ? json_integer(d->rank_lo) : json_null(),
			 "hi", boot ? json_integer(d->rank_hi) : json_null());
}

/* The expected gain of a driver, in NPS points:
 *   gap  = max(0, best_quartile - unit_mean)    (rating points)
 *   gain = beta * gap, interval [beta_lo * gap, beta_hi * gap]
 * beta is the driver's slope in the full OLS model of the +100/0/-100
 * outcome (NPS points per rating point, the other drivers held fixed) with
 * its bootstrap 95 % percentile interval; gap >= 0 keeps the bounds in
 * order. The interval carries the slope's uncertainty, not the unit mean's
 * nor the quartile's (both are counts of the same period, shown beside
 * it), and the gain is "associated with", not a promise: the slope is a
 * cross-sectional association (docs/DRIVERS.md). */
typedef struct api_gain {
	bool have;
	double value, lo, hi;
} api_gain;

/* A theme (themes=1) whose slope is negative — its mention goes with a
 * lower score, as a complaint's — is better mentioned less: its "best
 * quartile" is the 25th percentile of the unit shares, and
 *   gap = max(0, unit_share - q25), gain = -beta * gap,
 *   interval [-beta_hi * gap, -beta_lo * gap].
 * The direction is the slope's sign, point estimate. */
static bool api_lower_is_better(const api_drv_run *x, size_t i, const drv_driver *d)
{
	return x->asp.theme[i] && d && d->beta < 0;
}

static api_gain api_gain_of(const drv_driver *d, double unit_mean, const api_drv_org *org, int j, bool lower,
			    bool boot)
{
	api_gain g = {0};
	if (!org->have_q[j] || !isfinite(d->beta))
		return g;
	double gap = lower ? unit_mean - org->low_q[j] : org->best_q[j] - unit_mean;
	gap = gap > 0 ? gap : 0;
	double sign = lower ? -1.0 : 1.0;
	g.have = true;
	g.value = sign * d->beta * gap;
	g.lo = boot ? sign * (lower ? d->beta_hi : d->beta_lo) * gap : NAN;
	g.hi = boot ? sign * (lower ? d->beta_lo : d->beta_hi) * gap : NAN;
	return g;
}

/* The driver's weight minus an added pure-noise driver's, with its
 * bootstrap interval (drivers.h): shown_to_matter is its lower bound above
 * 0. null without a model or without bootstrap replicates. */
static json_t *api_vs_noise(const drv_driver *d, bool boot)
{
	return d && boot ? api_interval(d->vs_noise, d->vs_noise_lo, d->vs_noise_hi, 4) : json_null();
}

/* One aspect of the slice as JSON; model j (-1 = not in the model). The
 * mean and good share are of the ratings a person's page could show
 * (mean_n: without thin ones, drivers_index.h), from min_n of them. */
static json_t *api_driver_json(const api_app *app, const api_drv_run *x, size_t i, int j, const api_drv_org *org,
			       bool nps, double mean_share, api_gain *gain_out)
{
	int s = x->st_idx[i];  /* its counts and the organisation's figures */
	int64_t n = x->st.n[s];
	int64_t mn = x->st.mean_n[s];
	bool shown = mn >= app->min_n;
	double mean = shown ? (double)x->st.mean_sum[s] / (double)mn : NAN;
	bool theme = x->asp.theme[i];
	json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "driver", x->asp.name[i], "kind", theme ? "theme" : "aspect",
			      "n", (json_int_t)n, "mean_n", (json_int_t)mn);
	/* a theme's mean is the share of analysed answers mentioning it */
	json_object_set_new(o, "mean", api_num(mean, 2));
	json_object_set_new(o, "good_share",
			    shown && !theme ? json_real((double)metrics_round_ratio_scaled(x->st.mean_good[s], mn, 2) / 100.0)
					    : json_null());
	const drv_driver *d = x->have_r && j >= 0 ? &x->r.driver[j] : NULL;
	bool lower = api_lower_is_better(x, i, d);
	bool boot = x->have_r && x->r.bootstrap_used > 0;
	json_object_set_new(o, "in_model", json_boolean(d != NULL));
	json_object_set_new(o, "left_out", x->left_out[i] ? json_string(x->left_out[i]) : json_null());
	json_object_set_new(o, "weight", d ? api_interval(d->weight, d->weight_lo, d->weight_hi, 4) : json_null());
	json_object_set_new(o, "share", d ? api_interval(d->share, d->share_lo, d->share_hi, 3) : json_null());
	json_object_set_new(o, "rank", d ? api_rank(d, boot) : json_null());
	json_object_set_new(o, "shown_to_matter", json_boolean(d && d->shown_to_matter));
	json_object_set_new(o, "vs_noise", api_vs_noise(d, boot));
	json_object_set_new(o, "beta", d ? api_interval(d->beta, d->beta_lo, d->beta_hi, 2) : json_null());
	bool have_org = org->have[s];
	json_object_set_new(o, "org_mean", have_org ? api_num(org->mean[s], 2) : json_null());
	json_object_set_new(o, "org_best_quartile",
			    org->have_q[s] ? api_num(lower ? org->low_q[s] : org->best_q[s], 2) : json_null());
	json_object_set_new(o, "lower_is_better", json_boolean(lower));
	/* Quadrants: importance = share at or above the mean share of the
	 * model's drivers; performance = the slice's mean at or above the
	 * organisation's. */
	const char *quadrant = NULL;
	if (d && shown && have_org) {
		bool important = d->share >= mean_share;
		bool good = lower ? mean <= org->mean[s] : mean >= org->mean[s];
		quadrant = important ? (good ? "keep" : "improve_first") : (good ? "maintain" : "less_urgent");
	}
	json_object_set_new(o, "quadrant", quadrant ? json_string(quadrant) : json_null());
	api_gain g = {0};
	if (d && shown && nps)
		g = api_gain_of(d, mean, org, j, lower, boot);
	json_object_set_new(o, "gain", g.have ? api_interval(g.value, g.lo, g.hi, 1) : json_null());
	if (gain_out)
		*gain_out = g;
	return o;
}

typedef struct api_top {
	int i;                        /* asp index */
	double gain;
} api_top;

static int api_top_cmp(const void *a, const void *b)
{
	const api_top *x = a, *y = b;
	return x->gain > y->gain ? -1 : x->gain < y->gain;
}

/* The drivers array and the top three (asp indexes, by gain among drivers
 * shown to matter with a positive gain); returns how many top entries. */
static json_t *api_drivers_json(const api_app *app, const api_drv_run *x, const api_drv_org *org, bool nps,
				api_top *top, int *n_top)
{
	double mean_share = 0;
	for (int j = 0; x->have_r && j < x->p; j++)
		mean_share += x->r.driver[j].share / x->p;
	int of_asp[AN_DRV_MAX];
	for (size_t i = 0; i < x->asp.count; i++)
		of_asp[i] = -1;
	for (int j = 0; j < x->p; j++)
		of_asp[x->model[j]] = j;
	json_t *arr = json_array();
	api_top cand[AN_DRV_MAX];
	int nc = 0;
	for (size_t i = 0; i < x->asp.count; i++) {
		api_gain g = {0};
		int j = of_asp[i];
		json_array_append_new(arr, api_driver_json(app, x, i, j, org, nps, mean_share, &g));
		if (j >= 0 && x->have_r && x->r.driver[j].shown_to_matter && g.have && g.value >= 0.05)  /* a gain that prints as 0.0 is none */
			cand[nc++] = (api_top){(int)i, g.value};
	}
	qsort(cand, (size_t)nc, sizeof *cand, api_top_cmp);
	*n_top = nc < 3 ? nc : 3;
	memcpy(top, cand, (size_t)*n_top * sizeof *top);
	return arr;
}

/* ---- compare: the change of each weight ------------------------------------------------------------ */

/* The change of a driver's weight between two independent periods. Each
 * weight's standard error is read off its bootstrap percentile interval
 * (se ≈ (hi - lo) / (2 · 1.96), the normal approximation the percentile
 * interval stands for), and, the two samples being independent,
 *   diff = w_after - w_before,  se_diff = sqrt(se_before² + se_after²),
 *   interval = diff ± 1.96 · se_diff;
 * "rose" / "fell" when it excludes 0, else "no_change". Without bootstrap
 * there is no interval and no verdict (null). */
static json_t *api_change_json(const api_drv_run *now, const api_drv_run *before, const char *period)
{
	if (now->suppressed || before->suppressed)
		return json_pack("{s:s, s:b, s:[]}", "period", period, "suppressed", 1, "drivers");
	json_t *arr = json_array();
	for (int j = 0; now->have_r && before->have_r && j < now->p; j++) {
		const char *name = now->asp.name[now->model[j]];
		int k = -1;
		for (int q = 0; q < before->p; q++)
			if (strcmp(before->asp.name[before->model[q]], name) == 0)
				k = q;
		if (k < 0)
			continue;
		const drv_driver *a = &now->r.driver[j], *b = &before->r.driver[k];
		double diff = a->weight - b->weight;
		bool boot = now->r.bootstrap_used > 0 && before->r.bootstrap_used > 0;
		double sa = (a->weight_hi - a->weight_lo) / (2 * API_DRV_Z95);
		double sb = (b->weight_hi - b->weight_lo) / (2 * API_DRV_Z95);
		double se = sqrt(sa * sa + sb * sb);
		double lo = boot ? diff - API_DRV_Z95 * se : NAN, hi = boot ? diff + API_DRV_Z95 * se : NAN;
		const char *verdict = !boot ? NULL : lo > 0 ? "rose" : hi < 0 ? "fell" : "no_change";
		double ma = now->st.mean_n[j] >= now->min_n ? (double)now->st.mean_sum[j] / (double)now->st.mean_n[j] : NAN;
		double mb = before->st.mean_n[k] >= before->min_n ? (double)before->st.mean_sum[k] /
		            (double)before->st.mean_n[k] : NAN;
		json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "driver", name,
						     "weight_before", api_num(b->weight, 4), "weight_after",
						     api_num(a->weight, 4), "diff", api_interval(diff, lo, hi, 4),
						     "verdict", verdict ? json_string(verdict) : json_null(),
						     "mean_before", api_num(mb, 2), "mean_after", api_num(ma, 2)));
	}
	return json_pack("{s:s, s:b, s:o}", "period", period, "suppressed", 0, "drivers", arr);
}

/* compare=<period>: one whole month, quarter or year (as period=), the
 * same other filters, cut at the start of today like every figure. */
static ks_err api_compare_filter(http_req *req, const an_filter *f, an_filter *fc, char *label, size_t ln,
				 ks_error *e)
{
	api_app *app = req->app;
	const char *v = http_query(req, "compare");
	int64_t from = 0, to = 0;
	tz_period_kind kind = TZ_PERIOD_NONE;
	ks_error pe;
	memset(&pe, 0, sizeof pe);
	if (tz_period_parse(&app->tz, v, clock_now(app->clock), "compare", &from, &to, &kind, &pe) != KS_OK ||
	    (kind != TZ_PERIOD_MONTH && kind != TZ_PERIOD_QUARTER && kind != TZ_PERIOD_YEAR))
		return ks_fail(e, KS_ERR_INVALID, "compare",
			       "compare must be a whole month, quarter or year (YYYY-MM, YYYY-Qn, YYYY)");
	*fc = *f;
	dc_policy pol = api_policy(app);
	fc->from = from;
	fc->to = to > pol.as_of ? pol.as_of : to;
	if (fc->from >= fc->to)
		fc->from = fc->to;
	snprintf(label, ln, "%s", v);
	return KS_OK;
}

/* ---- replies kept (api.h: api_drv_cache) ---------------------------------------------- */

/* A reply depends on the request as resolved (filters after scope and
 * window, options), the thresholds, the "as of" cut and the index's
 * versions (an_index_versions: names and customers, the zone, changed
 * analyses and one-click rows, and the rows received before the cut). So
 * keyed, a kept reply is exactly what would be computed again; new
 * answers of today change nothing (they are after the cut). The bootstrap
 * is seeded, so the figures are the same either way. */
#define API_DRV_CACHE_ENTRIES 16

typedef struct api_drv_key {
	int route;                   /* 0 /drivers, 1 /top3, 2 /moments */
	an_filter f, fc;             /* fc: compare's (zero without) */
	an_outcome outcome;
	drv_method method;
	int bootstrap, days;
	bool themes;
	int64_t min_n, min_n_person, as_of;
	uint64_t dims;
	size_t rows;
} api_drv_key;

typedef struct api_drv_entry {
	api_drv_key key;
	char *reply;                 /* the JSON text; NULL = free slot */
	size_t len;
	uint64_t used;
} api_drv_entry;

struct api_drv_cache {
	pthread_mutex_t lock;
	uint64_t clock;
	api_drv_entry e[API_DRV_CACHE_ENTRIES];
};

ks_err api_drv_cache_new(api_drv_cache **out)
{
	*out = calloc(1, sizeof **out);
	if (*out == NULL)
		return KS_ERR_NOMEM;
	pthread_mutex_init(&(*out)->lock, NULL);
	return KS_OK;
}

void api_drv_cache_free(api_drv_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < API_DRV_CACHE_ENTRIES; i++)
		free(c->e[i].reply);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The key of a request (every byte set: keys are compared with memcmp). */
static void api_drv_key_of(api_app *app, int route, const an_filter *f, const an_filter *fc, const api_drv_opts *o,
			   int days, api_drv_key *k)
{
	memset(k, 0, sizeof *k);
	k->route = route;
	k->f = *f;
	if (fc)
		k->fc = *fc;
	k->outcome = o->outcome;
	k->method = o->method;
	k->bootstrap = o->bootstrap;
	k->themes = o->themes;
	k->days = days;
	dc_policy pol = api_policy(app);
	k->min_n = app->min_n;
	k->min_n_person = app->min_n_employee;
	k->as_of = pol.as_of;
	an_index_versions(app->index, pol.as_of, &k->dims, &k->rows);
}

static void api_drv_send(http_req *req, const char *text, size_t len)
{
	ks_buf b;
	buf_init(&b, len + 1);
	if (buf_append(&b, text, len) != KS_OK) {
		buf_free(&b);
		http_reply_json(req, 500, NULL);
		return;
	}
	http_reply_buf(req, 200, "application/json", &b);
}

/* Reply from the cache when it holds the key; true when it did. */
static bool api_drv_cached(http_req *req, const api_drv_key *k)
{
	api_app *app = req->app;
	api_drv_cache *c = app->drivers;
	if (c == NULL)
		return false;
	char *text = NULL;
	size_t len = 0;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < API_DRV_CACHE_ENTRIES; i++) {
		api_drv_entry *x = &c->e[i];
		if (x->reply && memcmp(&x->key, k, sizeof *k) == 0) {
			x->used = ++c->clock;
			text = malloc(x->len);
			if (text)
				memcpy(text, x->reply, x->len);
			len = x->len;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (text == NULL)
		return false;
	api_drv_send(req, text, len);
	free(text);
	return true;
}

/* Reply with out (consumed), keeping it under k. */
static void api_drv_reply(http_req *req, const api_drv_key *k, json_t *out)
{
	api_app *app = req->app;
	char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(out);
	if (text == NULL) {
		http_reply_json(req, 500, NULL);
		return;
	}
	size_t len = strlen(text);
	api_drv_cache *c = app->drivers;
	if (c) {
		char *copy = malloc(len);
		pthread_mutex_lock(&c->lock);
		int at = 0;
		for (int i = 1; i < API_DRV_CACHE_ENTRIES; i++)
			if (c->e[i].used < c->e[at].used)
				at = i;  /* least recently used; free slots have used 0 */
		if (copy) {
			memcpy(copy, text, len);
			free(c->e[at].reply);
			c->e[at] = (api_drv_entry){*k, copy, len, ++c->clock};
		}
		pthread_mutex_unlock(&c->lock);
	}
	api_drv_send(req, text, len);
	free(text);
}

/* ---- GET /api/v1/drivers ------------------------------------------------------------------------- */

static json_t *api_r2_json(const api_drv_run *x)
{
	if (!x->have_r)
		return json_null();
	return api_interval(x->r.r2, x->r.r2_lo, x->r.r2_hi, 4);
}

/* The reply of a suppressed slice: n and nothing else. */
static json_t *api_suppressed_json(const api_drv_opts *o, const api_drv_run *x)
{
	return json_pack("{s:s, s:s, s:I, s:n, s:[], s:[], s:n, s:b}", "outcome", an_outcome_name(o->outcome),
			 "method", drv_method_name(o->method), "n", (json_int_t)x->n, "r2", "drivers", "top3",
			 "change", "suppressed", 1);
}

ks_err api_drivers_get(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"outcome", "method", "bootstrap", "compare", "themes", NULL};
	api_app *app = req->app;
	api_drv_opts o;
	an_filter f, fc;
	api_window w;
	char clabel[24] = "";
	ks_err err = api_metrics_params(req, extra, e);
	if (!err)
		err = api_drv_opts_parse(req, true, &o, e);
	if (!err)
		err = api_metrics_filter(req, NULL, 0, "period", &f, &w, e);
	bool compare = http_query(req, "compare") != NULL;
	if (!err && compare)
		err = api_compare_filter(req, &f, &fc, clabel, sizeof clabel, e);
	if (err)
		return err;
	api_drv_key key;
	api_drv_key_of(app, 0, &f, compare ? &fc : NULL, &o, 0, &key);
	if (api_drv_cached(req, &key))
		return KS_OK;
	api_drv_run x, xc;
	memset(&xc, 0, sizeof xc);
	err = api_drv_run_slice(app, &f, api_window_period(&w), &o, &x, e);
	if (!err && compare && !x.suppressed)
		err = api_drv_run_slice(app, &fc, clabel, &o, &xc, e);
	api_drv_org org;
	memset(&org, 0, sizeof org);
	if (!err && !x.suppressed && x.st.q > 0)
		err = api_drv_org_of(app, &f, &x, &org, e);
	if (err) {
		api_drv_run_free(&x);
		api_drv_run_free(&xc);
		return err;
	}
	json_t *out;
	if (x.suppressed) {
		out = api_suppressed_json(&o, &x);
	} else {
		api_top top[3];
		int nt = 0;
		json_t *drivers = api_drivers_json(app, &x, &org, o.outcome == AN_OUTCOME_NPS, top, &nt);
		json_t *top3 = json_array();
		for (int i = 0; i < nt; i++)
			json_array_append_new(top3, json_string(x.asp.name[top[i].i]));
		out = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:b}", "outcome",
				an_outcome_name(o.outcome), "method", drv_method_name(o.method), "n", (json_int_t)x.n,
				"rows", (json_int_t)x.st.rows, "r2", api_r2_json(&x), "drivers", drivers, "top3", top3,
				"change", compare ? api_change_json(&x, &xc, clabel) : json_null(), "suppressed", 0);
		json_object_set_new(out, "bootstrap", json_integer(x.have_r ? x.r.bootstrap_used : 0));
		json_object_set_new(out, "bootstrap_requested", json_integer(o.bootstrap));
		json_object_set_new(out, "model_error", x.model_error[0] ? json_string(x.model_error) : json_null());
	}
	json_object_set_new(out, "min_n", json_integer(app->min_n));
	json_object_set_new(out, "filter", api_metrics_filter_json(app, &f, &w));
	api_drv_run_free(&x);
	api_drv_run_free(&xc);
	api_drv_reply(req, &key, out);
	return KS_OK;
}

/* ---- GET /api/v1/drivers/top3 ---------------------------------------------------------------------- */

static json_t *api_entity_ref(api_app *app, const char *entity, int64_t id)
{
	json_t *row = NULL;
	const char *name = NULL;
	if (store_entity_get(app->store, model_entity_find(entity), id, &row, NULL) == KS_OK)
		name = json_string_value(json_object_get(row, "name"));
	json_t *o = json_pack("{s:I, s:o}", "id", (json_int_t)id, "name", name ? json_string(name) : json_null());
	json_decref(row);
	return o;
}

/* The top three of a slice: on success *x keeps the run (the caller frees
 * it with api_drv_run_free; on an error it is freed here) and *top3 is the
 * array (the caller's). */
static ks_err api_top3_run(api_app *app, const an_filter *f, const char *period, const api_drv_opts *o,
			   api_drv_run *x, json_t **top3, ks_error *e)
{
	ks_err err = api_drv_run_slice(app, f, period, o, x, e);
	api_drv_org org;
	memset(&org, 0, sizeof org);
	if (!err && !x->suppressed && x->st.q > 0)
		err = api_drv_org_of(app, f, x, &org, e);
	if (err) {
		api_drv_run_free(x);
		return err;
	}
	*top3 = json_array();
	if (!x->suppressed) {
		api_top top[3];
		int nt = 0;
		json_t *drivers = api_drivers_json(app, x, &org, true, top, &nt);
		for (int i = 0; i < nt; i++) {
			json_t *d = json_array_get(drivers, (size_t)top[i].i);
			json_array_append_new(*top3, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "driver",
							       json_object_get(d, "driver"), "gain", json_object_get(d, "gain"),
							       "mean", json_object_get(d, "mean"), "org_best_quartile",
							       json_object_get(d, "org_best_quartile"), "share",
							       json_object_get(d, "share"), "n", json_object_get(d, "n")));
		}
		json_decref(drivers);
	}
	return KS_OK;
}

/* issue 17 (D): a digest's top three, apart from a request (api.h). */
ks_err api_drivers_top3_of(api_app *app, const an_filter *f, const char *period, json_t **top3, ks_error *e)
{
	api_drv_opts o = {.outcome = AN_OUTCOME_NPS, .method = DRV_RELWEIGHTS, .bootstrap = 1000, .themes = false};
	api_drv_run x;
	ks_err err = api_top3_run(app, f, period, &o, &x, top3, e);
	if (!err)
		api_drv_run_free(&x);
	return err;
}

ks_err api_drivers_top3(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"method", "bootstrap", "themes", NULL};
	api_app *app = req->app;
	api_drv_opts o;
	an_filter f;
	api_window w;
	ks_err err = api_metrics_params(req, extra, e);
	if (!err)
		err = api_drv_opts_parse(req, false, &o, e);
	if (!err)
		err = api_metrics_filter(req, NULL, 0, "period", &f, &w, e);
	if (!err && f.team_id == 0)
		err = ks_fail(e, KS_ERR_INVALID, "team_id", "team_id is required: the top three are a unit's");
	if (err)
		return err;
	api_drv_key key;
	api_drv_key_of(app, 1, &f, NULL, &o, 0, &key);
	if (api_drv_cached(req, &key))
		return KS_OK;
	api_drv_run x;
	json_t *top3 = NULL;
	err = api_top3_run(app, &f, api_window_period(&w), &o, &x, &top3, e);
	if (err)
		return err;
	json_t *out = json_pack("{s:o, s:o, s:I, s:b, s:I, s:o}", "team", api_entity_ref(app, "teams", f.team_id),
				"top3", top3, "n", (json_int_t)x.n, "suppressed", x.suppressed, "min_n",
				(json_int_t)app->min_n, "filter", api_metrics_filter_json(app, &f, &w));
	/* why the top three may be empty: no model for the team's slice */
	json_object_set_new(out, "model_error",
			    !x.suppressed && x.model_error[0] ? json_string(x.model_error) : json_null());
	api_drv_run_free(&x);
	api_drv_reply(req, &key, out);
	return KS_OK;
}

/* ---- GET /api/v1/drivers/moments ------------------------------------------------------------------- */

static ks_err api_window_days(http_req *req, int *days, ks_error *e)
{
	const char *v = http_query(req, "window_days");
	*days = 90;
	if (v == NULL)
		return KS_OK;
	char *end = NULL;
	long d = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || d < 1 || d > API_DRV_WINDOW_MAX)
		return ks_fail(e, KS_ERR_INVALID, "window_days", "window_days must be 1 to %d", API_DRV_WINDOW_MAX);
	*days = (int)d;
	return KS_OK;
}

typedef struct api_moments {
	store_journey_tp *tp;
	size_t n_tp;
	bool suppressed;
	int64_t customers;
	an_drv_moments m;
	drv_result r;
	bool have_r;
	char model_error[256];
} api_moments;

static ks_err api_moments_run(api_app *app, const an_filter *f, const char *period, const api_drv_opts *o,
			      int days, api_moments *mo, ks_error *e)
{
	int p = (int)mo->n_tp - 1;
	/* The journey's slice and its last touchpoint's must both be shown by
	 * /metrics' rules and be no one person's; so must the customers
	 * analysed (at least min_n). */
	bool shown = false, shown_end = false;
	int64_t n = 0;
	an_filter fe = *f;
	fe.touchpoint_id = mo->tp[p].id;
	ks_err err = api_drv_disclosed(app, f, period, o->outcome, &shown, &n, e);
	if (!err)
		err = api_drv_disclosed(app, &fe, period, o->outcome, &shown_end, &n, e);
	mo->suppressed = !shown || !shown_end;
	if (err || mo->suppressed)
		return err;
	int64_t ids[AN_DRV_MAX + 1];
	for (size_t k = 0; k < mo->n_tp; k++)
		ids[k] = mo->tp[k].id;
	drv_acc *acc = NULL;
	err = drv_acc_new(p, API_DRV_GROUPS, &acc, e);
	api_sink sink = {acc};
	mo->m = (an_drv_moments){.outcome = o->outcome, .tp = ids, .n_tp = (int)mo->n_tp,
				 .window_s = (int64_t)days * 86400, .fn = api_drv_add, .sink = &sink};
	if (!err)
		err = an_drv_moments_of(app->index, f, &mo->m, e);
	mo->m.tp = NULL;
	mo->customers = mo->m.customers;
	if (!err && mo->customers < app->min_n)
		mo->suppressed = true;
	if (!err && !mo->suppressed) {
		const char *names[AN_DRV_MAX];
		for (int j = 0; j < p; j++)
			names[j] = mo->tp[j].name;
		api_drv_run x;
		memset(&x, 0, sizeof x);
		x.p = p;
		err = api_drv_analyze_acc(acc, o, names, &x, e);
		mo->r = x.r;
		mo->have_r = x.have_r;
		memcpy(mo->model_error, x.model_error, sizeof mo->model_error);
	}
	drv_acc_free(acc);
	return err;
}

static json_t *api_moments_tps(const api_moments *mo)
{
	int p = (int)mo->n_tp - 1;
	int top_third = (p + 2) / 3;  /* ceil(p / 3) */
	bool boot = mo->have_r && mo->r.bootstrap_used > 0;
	json_t *arr = json_array();
	for (int j = 0; j < p; j++) {
		const drv_driver *d = mo->have_r ? &mo->r.driver[j] : NULL;
		json_t *o = json_pack("{s:{s:I, s:s}, s:I}", "touchpoint", "id", (json_int_t)mo->tp[j].id, "name",
				      mo->tp[j].name, "n", (json_int_t)mo->m.visits[j]);
		json_object_set_new(o, "weight", d ? api_interval(d->weight, d->weight_lo, d->weight_hi, 4) : json_null());
		json_object_set_new(o, "share", d ? api_interval(d->share, d->share_lo, d->share_hi, 3) : json_null());
		json_object_set_new(o, "rank", d ? api_rank(d, boot) : json_null());
		json_object_set_new(o, "shown_to_matter", json_boolean(d && d->shown_to_matter));
		json_object_set_new(o, "vs_noise", api_vs_noise(d, boot));
		json_object_set_new(o, "moment_of_truth_set", json_boolean(mo->tp[j].moment_of_truth));
		/* suggested: shown to matter and among the top third by share */
		json_object_set_new(o, "moment_of_truth_suggested",
				    json_boolean(d && d->shown_to_matter && d->rank <= top_third));
		json_array_append_new(arr, o);
	}
	return arr;
}

ks_err api_drivers_moments(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"outcome", "method", "bootstrap", "window_days", NULL};
	api_app *app = req->app;
	api_drv_opts o;
	an_filter f;
	api_window w;
	int days = 90;
	ks_err err = api_metrics_params(req, extra, e);
	if (!err)
		err = api_drv_opts_parse(req, true, &o, e);
	if (!err)
		err = api_window_days(req, &days, e);
	if (!err && http_query(req, "journey_id") == NULL)
		err = ks_fail(e, KS_ERR_INVALID, "journey_id", "journey_id is required");
	if (!err)
		err = api_metrics_filter(req, NULL, 0, "period", &f, &w, e);
	if (err)
		return err;
	api_drv_key key;
	api_drv_key_of(app, 2, &f, NULL, &o, days, &key);
	if (api_drv_cached(req, &key))
		return KS_OK;
	api_moments mo;
	memset(&mo, 0, sizeof mo);
	err = store_journey_touchpoints(app->store, f.journey_id, &mo.tp, &mo.n_tp, e);
	if (!err && (mo.n_tp < 2 || mo.n_tp > AN_DRV_MAX + 1))
		err = ks_fail(e, KS_ERR_INVALID, "journey_id",
			      "the journey has %zu touchpoints: moments of truth need 2 to %d", mo.n_tp,
			      AN_DRV_MAX + 1);
	if (!err && o.method == DRV_SHAPLEY && (int)mo.n_tp - 1 > DRV_MAX_SHAPLEY)
		err = ks_fail(e, KS_ERR_INVALID, "method", "shapley takes at most %d touchpoints", DRV_MAX_SHAPLEY);
	if (!err)
		err = api_moments_run(app, &f, api_window_period(&w), &o, days, &mo, e);
	if (err) {
		free(mo.tp);
		drv_result_free(&mo.r);
		return err;
	}
	const store_journey_tp *end = &mo.tp[mo.n_tp - 1];
	char def[400 + sizeof end->name];  /* the last touchpoint's name whole */
	snprintf(def, sizeof def,
		 "each customer's latest %s at the journey's last touchpoint (%s) in the period, against their "
		 "latest %s at each earlier touchpoint in the %d days before it",
		 an_outcome_name(o.outcome), end->name, an_outcome_name(o.outcome), days);
	json_t *out = json_pack("{s:o, s:I, s:s, s:s, s:s, s:I, s:b, s:I}", "journey",
				api_entity_ref(app, "journeys", f.journey_id), "n_customers",
				(json_int_t)(mo.suppressed ? 0 : mo.customers), "outcome", def, "outcome_measure",
				an_outcome_name(o.outcome), "method", drv_method_name(o.method), "window_days",
				(json_int_t)days, "suppressed", mo.suppressed, "min_n", (json_int_t)app->min_n);
	json_object_set_new(out, "outcome_touchpoint",
			    json_pack("{s:I, s:s, s:b}", "id", (json_int_t)end->id, "name", end->name,
				      "moment_of_truth_set", end->moment_of_truth));
	json_object_set_new(out, "r2", mo.suppressed || !mo.have_r ? json_null()
								   : api_interval(mo.r.r2, mo.r.r2_lo, mo.r.r2_hi, 4));
	json_object_set_new(out, "touchpoints", mo.suppressed ? json_array() : api_moments_tps(&mo));
	json_object_set_new(out, "model_error",
			    !mo.suppressed && mo.model_error[0] ? json_string(mo.model_error) : json_null());
	json_object_set_new(out, "bootstrap", json_integer(mo.have_r ? mo.r.bootstrap_used : 0));
	json_object_set_new(out, "filter", api_metrics_filter_json(app, &f, &w));
	free(mo.tp);
	drv_result_free(&mo.r);
	api_drv_reply(req, &key, out);
	return KS_OK;
}
