/* api_themes.c — GET /api/v1/themes (issue 14): per theme of the open
 * answers in a slice, its volume, share, sentiment, the NPS of the answers
 * that mention it against those that don't, and its trend.
 *
 * The counting is the analytics index's (an_query with the theme
 * dimensions), the decisions disclosure control's (dc_text_table: the
 * same cells and lines as /metrics?group_by=theme, see src/disclose/text.h),
 * the trend verdicts /metrics/trend's (api_trend_verdicts). This file adds
 * the difference of two NPS and its interval, and the labels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "disclose/text.h"

#define API_Z95 1.96 /* as every interval of the product (metrics.c, DOMAIN.md) */

/* ---- the taxonomy's labels --------------------------------------------------- */

/* The label of theme id in lang ("nl"/"en"), else the other language's,
 * else the id itself (a theme no longer in the taxonomy whose answers have
 * not been reanalysed yet). */
static const char *api_theme_label(const json_t *tax, const char *id, const char *lang)
{
	size_t i;
	json_t *th;
	json_array_foreach(json_object_get(tax, "themes"), i, th) {
		const char *tid = json_string_value(json_object_get(th, "id"));
		if (tid == NULL || strcmp(tid, id) != 0)
			continue;
		json_t *label = json_object_get(th, "label");
		const char *l = json_string_value(json_object_get(label, lang));
		if (l == NULL)
			l = json_string_value(json_object_get(label, strcmp(lang, "en") == 0 ? "nl" : "en"));
		return l ? l : id;
	}
	return id;
}

/* ---- figures ---------------------------------------------------------------- */

/* A number rounded once, half away from zero, to `decimals` (metrics
 * round.c's rule), as JSON. */
static json_t *api_round(double x, int decimals)
{
	return json_real((double)metrics_round_scaled(x, decimals) / pow(10.0, decimals));
}

/* num/den exactly rounded to 2 decimals (a share: whole percents). */
static json_t *api_ratio2(int64_t num, int64_t den)
{
	if (den <= 0)
		return json_null();
	return json_real((double)metrics_round_ratio_scaled(num, den, 2) / 100.0);
}

/* May this cell's NPS be printed? As metrics_json_members_masked decides. */
static bool api_nps_shown(const metrics_counts *c, const dc_vis *v)
{
	return c->nps_n > 0 && c->nps_n >= v->min_n && v->show.nps;
}

/* Is a cell open, as /metrics has it (not "insufficient"): enough
 * responses, and at least one measure with enough answers that the mask
 * lets through (metrics_json_members_masked's rule). */
static bool api_cell_open(const metrics_counts *c, const dc_vis *v)
{
	if (c->n < v->min_n)
		return false;
	const int64_t cnt[3] = {c->nps_n, c->grade_n, c->ces_n};
	const bool allow[3] = {v->show.nps, v->show.grade, v->show.ces};
	for (int i = 0; i < 3; i++)
		if (cnt[i] > 0 && cnt[i] >= v->min_n && allow[i])
			return true;
	return false;
}

/* {"nps","ci_low","ci_high","n"}: the plain NPS and its adjusted-Wald 95%
 * interval (metrics_compute; shared/DOMAIN.md), or null when hidden. */
static json_t *api_nps_json(const metrics_counts *c, const dc_vis *v)
{
	if (!api_nps_shown(c, v))
		return json_null();
	metrics_figures f;
	metrics_figures_compute(c, &f);
	return json_pack("{s:f, s:f, s:f, s:I}", "nps", (double)f.nps / 10.0, "ci_low", (double)f.nps_low / 10.0,
			 "ci_high", (double)f.nps_high / 10.0, "n", (json_int_t)c->nps_n);
}

/* The difference NPS(with) - NPS(without) and its 95% interval.
 *
 * The two groups are disjoint sets of answers, so independent samples;
 * each NPS's variance is the adjusted-Wald one (Rocks 2016, The American
 * Statistician; shared/DOMAIN.md: add 3 to n and 3/4 to promoters and
 * detractors, p = P'/n', d = D'/n', var = (p + d - (p - d)^2) / n'), and
 * the variance of a difference of independent estimates is the sum of
 * theirs (DOMAIN.md "A difference between two independent groups: var1 +
 * var2"). Under the normal approximation:
 *   interval = (NPS'with - NPS'without) +- 1.96 * 100 * sqrt(var_with + var_without)
 * centred, like each NPS's own interval, on the adjusted estimates;
 * "value" is the difference of the plain NPS values. The same z-test's
 * figures as metrics_compare_nps (change.c), which computes them; clipped
 * to [-200, 200]. null unless both sides are shown. */
static json_t *api_nps_difference(const metrics_counts *with, const dc_vis *vw, const metrics_counts *without,
				  const dc_vis *vo)
{
	if (!api_nps_shown(with, vw) || !api_nps_shown(without, vo))
		return json_null();
	metrics_change ch;
	metrics_compare_nps(without, with, 1, &ch);
	double lo = ch.diff_adj - API_Z95 * ch.se, hi = ch.diff_adj + API_Z95 * ch.se;
	lo = lo < -200.0 ? -200.0 : lo;
	hi = hi > 200.0 ? 200.0 : hi;
	/* the plain values' difference from their exact rounded parts would
	 * round twice: from the counts instead */
	double nw = 100.0 * (double)(with->promoters - with->detractors) / (double)with->nps_n;
	double no = 100.0 * (double)(without->promoters - without->detractors) / (double)without->nps_n;
	json_t *o = json_object();
	json_object_set_new(o, "value", api_round(nw - no, METRICS_NPS_DECIMALS));
	json_object_set_new(o, "ci_low", api_round(lo, METRICS_NPS_DECIMALS));
	json_object_set_new(o, "ci_high", api_round(hi, METRICS_NPS_DECIMALS));
	return o;
}

/* ---- the request ---------------------------------------------------------------- */

/* interval=month (default) | quarter | year. Days and weeks are refused
 * like /metrics/trend's: figures are per whole month or longer
 * (docs/PRIVACY.md section 3). */
static ks_err api_interval(http_req *req, an_dim *out, ks_error *e)
{
	const char *v = http_query(req, "interval");
	*out = AN_DIM_MONTH;
	if (v == NULL)
		return KS_OK;
	an_dim d = an_dim_from_name(v);
	if (d == AN_DIM_DAY || d == AN_DIM_WEEK)
		return ks_fail(e, KS_ERR_INVALID, "interval",
			       "figures are given per month, quarter or year, not per %s", v);
	if (d != AN_DIM_MONTH && d != AN_DIM_QUARTER && d != AN_DIM_YEAR)
		return ks_fail(e, KS_ERR_INVALID, "interval", "interval must be month, quarter or year");
	*out = d;
	return KS_OK;
}

/* The counts one theme's entry needs besides the text table's. */
typedef struct api_theme_extra {
	an_result neg, pos;           /* by theme: mentions with that sentiment */
	an_result with_theme;         /* answers with at least one theme (total only) */
	dc_reply trend;               /* interval x theme, decided as /metrics?group_by=<interval>,theme */
	an_result trend_neg, trend_pos;
	an_result per_period;         /* analysed answers by interval */
} api_theme_extra;

static void api_extra_free(api_theme_extra *x)
{
	an_result_free(&x->neg);
	an_result_free(&x->pos);
	an_result_free(&x->with_theme);
	dc_reply_free(&x->trend);
	an_result_free(&x->trend_neg);
	an_result_free(&x->trend_pos);
	an_result_free(&x->per_period);
}

static ks_err api_extra_query(api_app *app, const an_filter *f, const char *period, an_dim iv,
			      api_theme_extra *x, ks_error *e)
{
	memset(x, 0, sizeof *x);
	an_dim d = AN_DIM_THEME_NEG;
	ks_err err = an_query(app->index, f, &d, 1, &x->neg, e);
	d = AN_DIM_THEME_POS;
	if (!err)
		err = an_query(app->index, f, &d, 1, &x->pos, e);
	an_filter fw = *f;
	fw.analysed = 2;
	if (!err)
		err = an_query(app->index, &fw, NULL, 0, &x->with_theme, e);
	dc_policy pol = api_policy(app);
	an_dim two[2] = {iv, AN_DIM_THEME};
	if (!err)
		err = dc_query(app->index, &pol, f, period, two, 2, &x->trend, e);
	two[1] = AN_DIM_THEME_NEG;
	if (!err)
		err = an_query(app->index, f, two, 2, &x->trend_neg, e);
	two[1] = AN_DIM_THEME_POS;
	if (!err)
		err = an_query(app->index, f, two, 2, &x->trend_pos, e);
	fw.analysed = 1;
	if (!err)
		err = an_query(app->index, &fw, &iv, 1, &x->per_period, e);
	return err;
}

/* The count of the group of r whose keys are (k0[, k1]); 0 when none. */
static int64_t api_count_of(const an_result *r, const char *k0, const char *k1)
{
	for (size_t g = 0; g < r->n_groups; g++)
		if (strcmp(r->groups[g].key[0], k0) == 0 && (k1 == NULL || strcmp(r->groups[g].key[1], k1) == 0))
			return r->groups[g].c.n;
	return 0;
}

/* {"negative","neutral","positive","net"} of n mentions; the counts and
 * net only where the theme's cell is open (below its threshold, or hidden
 * to protect another cell, a cell shows n alone, like every breakdown:
 * mention counts add up along the same lines as the answers, so a hidden
 * cell's would be the difference of shown ones). net = (pos - neg) / n. */
static json_t *api_sentiment_json(int64_t n, int64_t neg, int64_t pos, bool shown)
{
	if (!shown || n <= 0)
		return json_pack("{s:n, s:n, s:n, s:n}", "negative", "neutral", "positive", "net");
	return json_pack("{s:I, s:I, s:I, s:o}", "negative", (json_int_t)neg, "neutral",
			 (json_int_t)(n - neg - pos), "positive", (json_int_t)pos, "net",
			 api_ratio2(pos - neg, n));
}

/* One theme's trend: its points per interval, and the verdict of the last
 * point's NPS change (answers mentioning it) against the period before —
 * /metrics/trend's verdicts over this theme's cells, in time order. */
static json_t *api_theme_trend(api_app *app, const api_theme_extra *x, an_dim iv, const char *theme)
{
	const dc_reply *t = &x->trend;
	size_t n = 0;
	for (size_t g = 0; g < t->r.n_groups; g++)
		n += strcmp(t->r.groups[g].key[1], theme) == 0;
	dc_reply one;
	memset(&one, 0, sizeof one);
	one.r.n_dims = 1;
	one.r.dims[0] = iv;
	one.r.groups = calloc(n ? n : 1, sizeof *one.r.groups);
	one.groups = calloc(n ? n : 1, sizeof *one.groups);
	metrics_change *ch = calloc(n ? n : 1, sizeof *ch);
	json_t *points = json_array();
	if (!one.r.groups || !one.groups || !ch || !points) {
		free(one.r.groups);
		free(one.groups);
		free(ch);
		json_decref(points);
		return NULL;
	}
	for (size_t g = 0; g < t->r.n_groups; g++) {
		if (strcmp(t->r.groups[g].key[1], theme) != 0)
			continue;
		one.r.groups[one.r.n_groups] = t->r.groups[g];
		one.groups[one.r.n_groups++] = t->groups[g];
	}
	api_trend_verdicts(app, &one, ch);
	for (size_t g = 0; g < one.r.n_groups; g++) {
		const an_group *gr = &one.r.groups[g];
		const char *per = gr->key[0];
		int64_t k = gr->c.n, all = api_count_of(&x->per_period, per, NULL);
		/* as the theme's own sentiment: only where the cell is open */
		bool shown = api_cell_open(&gr->c, &one.groups[g]);
		int64_t neg = api_count_of(&x->trend_neg, per, theme), pos = api_count_of(&x->trend_pos, per, theme);
		json_array_append_new(points, json_pack("{s:s, s:I, s:o, s:o}", "period", per, "n", (json_int_t)k,
							"share", api_ratio2(k, all), "net",
							shown ? api_ratio2(pos - neg, k) : json_null()));
	}
	json_t *verdict;
	if (one.r.n_groups > 0) {
		size_t last = one.r.n_groups - 1;
		verdict = metrics_change_json(&ch[last]);
		json_object_set_new(verdict, "period", json_string(one.r.groups[last].key[0]));
		json_object_set_new(verdict, "vs", last > 0 ? json_string(one.r.groups[last - 1].key[0]) : json_null());
	} else {
		verdict = json_pack("{s:s}", "verdict", metrics_verdict_name(METRICS_NO_PREVIOUS));
	}
	free(one.r.groups);
	free(one.groups);
	free(ch);
	return json_pack("{s:s, s:o, s:o}", "interval", an_dim_name(iv), "points", points, "verdict", verdict);
}

static int api_theme_order(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t nx = json_integer_value(json_object_get(x, "n")), ny = json_integer_value(json_object_get(y, "n"));
	if (nx != ny)
		return nx > ny ? -1 : 1;
	return strcmp(json_string_value(json_object_get(x, "theme")), json_string_value(json_object_get(y, "theme")));
}

static json_t *api_themes_json(api_app *app, const char *lang, const dc_text *tt, const api_theme_extra *x,
			       an_dim iv)
{
	json_t *tax = NULL;
	api_text_taxonomy(app, &tax);  /* api_text.c; without it, labels are the ids */
	size_t nt = tt->themes.n_groups;
	json_t **items = calloc(nt ? nt : 1, sizeof *items);
	if (items == NULL) {
		json_decref(tax);
		return NULL;
	}
	int64_t answers = tt->analysed.n;
	for (size_t g = 0; g < nt; g++) {
		const an_group *gr = &tt->themes.groups[g];
		const char *id = gr->key[0];
		const dc_vis *v = &tt->themes_vis[g];
		int64_t n = gr->c.n;
		json_t *o = json_object();
		json_object_set_new(o, "theme", json_string(id));
		json_object_set_new(o, "label", json_string(api_theme_label(tax, id, lang)));
		json_object_set_new(o, "n", json_integer(n));
		json_object_set_new(o, "share", api_ratio2(n, answers));
		json_object_set_new(o, "min_n", json_integer(v->min_n));
		json_object_set_new(o, "sentiment", api_sentiment_json(n, api_count_of(&x->neg, id, NULL),
								       api_count_of(&x->pos, id, NULL), api_cell_open(&gr->c, v)));
		json_object_set_new(o, "nps_with", api_nps_json(&gr->c, v));
		json_object_set_new(o, "nps_without", api_nps_json(&tt->without[g], &tt->without_vis[g]));
		json_object_set_new(o, "nps_difference",
				    api_nps_difference(&gr->c, v, &tt->without[g], &tt->without_vis[g]));
		json_t *trend = api_theme_trend(app, x, iv, id);
		json_object_set_new(o, "trend", trend ? trend : json_null());
		items[g] = o;
	}
	qsort(items, nt, sizeof *items, api_theme_order);
	json_t *arr = json_array();
	for (size_t g = 0; g < nt; g++)
		json_array_append_new(arr, items[g]);
	free(items);
	json_decref(tax);
	return arr;
}

ks_err api_themes(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"interval", NULL};
	api_app *app = req->app;
	an_dim iv;
	an_filter f;
	api_window w;
	ks_err err = api_metrics_params(req, extra, e);
	if (!err)
		err = api_interval(req, &iv, e);
	if (!err)
		err = api_metrics_filter(req, &iv, 1, "interval", &f, &w, e);
	if (err)
		return err;
	dc_policy pol = api_policy(app);
	const char *period = api_window_period(&w);
	dc_text tt;
	api_theme_extra x;
	err = dc_text_table(app->index, &pol, &f, period, &tt, e);
	if (err)
		return err;
	err = api_extra_query(app, &f, period, iv, &x, e);
	if (err) {
		dc_text_free(&tt);
		api_extra_free(&x);
		return err;
	}
	const char *lang = strcmp(req->who.language, "en") == 0 ? "en" : "nl";
	json_t *filter = api_metrics_filter_json(app, &f, &w);
	/* The slice's own sentiment counts, its answers with a theme and their
	 * share describe the slice's answers as a whole: where /metrics says
	 * the slice (or its analysed answers) is insufficient — a person or a
	 * team under its threshold, or hidden to protect another cell — they
	 * are null, like every figure of a hidden cell (PRIVACY.md section 1:
	 * its number of responses, nothing else). */
	bool open = api_cell_open(&tt.total, &tt.total_vis) && api_cell_open(&tt.analysed, &tt.analysed_vis);
	json_t *sent = json_object();
	static const char *const names[] = {"negative", "neutral", "positive"};
	for (int i = 0; i < 3; i++)
		json_object_set_new(sent, names[i],
				    open ? json_integer(api_count_of(&tt.sentiment, names[i], NULL)) : json_null());
	int64_t answers = tt.analysed.n, with = x.with_theme.total.n;
	json_t *themes = api_themes_json(app, lang, &tt, &x, iv);
	json_t *out = json_pack("{s:O, s:O, s:o, s:I, s:o, s:o, s:o, s:I, s:I, s:o}", "from",
				json_object_get(filter, "from"), "to", json_object_get(filter, "to"), "filter", filter,
				"answers", (json_int_t)answers, "with_theme",
				open ? json_integer(with) : json_null(), "coverage",
				open ? api_ratio2(with, answers) : json_null(), "sentiment", sent, "min_n", (json_int_t)pol.min_n,
				"min_n_person", (json_int_t)pol.min_n_person, "themes",
				themes ? themes : json_array());
	dc_text_free(&tt);
	api_extra_free(&x);
	if (out == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	http_reply_json(req, 200, out);
	return KS_OK;
}
