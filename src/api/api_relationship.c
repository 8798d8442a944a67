/* api_relationship.c — relationship surveys (issue 16, "The silent mass"):
 * waves of a random sample of ALL customers, stratified by segment, their
 * draw and send, and the report that sets the wave's NPS beside the
 * contact-driven NPS of the same period with the gap and its interval, and
 * both samples' make-up beside the whole customer base.
 *
 *   GET/POST       /api/v1/relationship/waves            directors read, admins write
 *   GET/PUT/DELETE /api/v1/relationship/waves/{id}
 *   POST           /api/v1/relationship/waves/{id}/draw  {"seed": 16 hex digits} optional
 *   POST           /api/v1/relationship/waves/{id}/send
 *   GET            /api/v1/relationship/waves/{id}/report
 *   GET/PUT        /api/v1/relationship/schedule         a wave per quarter (rel_schedule.c runs it)
 *
 * The numbers: src/invite/relationship.c; docs/STATISTICS.md §12. Every
 * figure counts answers up to the start of today; every NPS needs min_n
 * NPS answers (the product's group minimum); the weighted NPS and the
 * strata's NPS only when every stratum with answers has min_n of them
 * (otherwise the total beside the shown ones would give a small stratum's
 * score away).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "invite/rel_schedule.h"
#include "invite/relationship.h"

#define REL_NAME_MAX 200
#define REL_SAMPLE_MAX 1000000

static const char *const rel_fields[] = {"name",        "survey_id",       "period",
					 "sample_size", "allocation",      "min_per_stratum",
					 "replace_excluded", "fatigue_days", "status", NULL};

/* ---- JSON ------------------------------------------------------------------------ */

static json_t *rel_time(int64_t t)
{
	if (t == 0)
		return json_null();
	char iso[32];
	clock_format_iso(t, iso, sizeof iso);
	return json_string(iso);
}

static json_t *rel_id_or_null(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

static json_t *rel_wave_json(const store_rel_wave *w)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(w->id));
	json_object_set_new(o, "name", json_string(w->name));
	json_object_set_new(o, "survey_id", json_integer(w->survey_id));
	json_object_set_new(o, "touchpoint_id", rel_id_or_null(w->touchpoint_id));
	json_object_set_new(o, "period", json_string(w->period));
	json_object_set_new(o, "sample_size", json_integer(w->sample_size));
	json_object_set_new(o, "allocation", json_string(w->allocation));
	json_object_set_new(o, "min_per_stratum", json_integer(w->min_per_stratum));
	json_object_set_new(o, "replace_excluded", json_boolean(w->replace_excluded));
	json_object_set_new(o, "fatigue_days", json_integer(w->fatigue_days));
	json_object_set_new(o, "seed", w->seed[0] ? json_string(w->seed) : json_null());
	json_object_set_new(o, "status", json_string(w->status));
	json_object_set_new(o, "population", w->drawn_at ? json_integer(w->population) : json_null());
	json_object_set_new(o, "created_by", rel_id_or_null(w->created_by));
	json_object_set_new(o, "created_at", rel_time(w->created_at));
	json_object_set_new(o, "drawn_at", rel_time(w->drawn_at));
	json_object_set_new(o, "sent_at", rel_time(w->sent_at));
	json_object_set_new(o, "closed_at", rel_time(w->closed_at));
	json_object_set_new(o, "selected", json_integer(w->selected));
	json_object_set_new(o, "excluded", json_integer(w->excluded));
	json_object_set_new(o, "invited", json_integer(w->invited));
	json_object_set_new(o, "respondents", json_integer(w->respondents));
	return o;
}

/* ---- input ---------------------------------------------------------------------- */

/* The current quarter's label: the default period of a new wave. */
static void rel_this_quarter(const api_app *app, char *out, size_t n)
{
	int y, mo, d, h, mi, s;
	tz_civil(&app->tz, clock_now(app->clock), &y, &mo, &d, &h, &mi, &s);
	snprintf(out, n, "%04d-Q%d", y, (mo - 1) / 3 + 1);
}

/* A whole month, quarter or year of the organisation's calendar. */
static ks_err rel_period_window(const api_app *app, const char *period, int64_t *from, int64_t *to, ks_error *e)
{
	tz_period_kind kind = TZ_PERIOD_NONE;
	if (strlen(period) < 24 &&
	    tz_period_parse(&app->tz, period, clock_now(app->clock), "period", from, to, &kind, NULL) == KS_OK &&
	    (kind == TZ_PERIOD_MONTH || kind == TZ_PERIOD_QUARTER || kind == TZ_PERIOD_YEAR))
		return KS_OK;
	return ks_fail(e, KS_ERR_INVALID, "period",
		       "period must be a whole year (2026), quarter (2026-Q4) or month (2026-11)");
}

static ks_err rel_int(const json_t *o, const char *name, int64_t lo, int64_t hi, int64_t *out, ks_error *e)
{
	json_t *v = json_object_get(o, name);
	if (v == NULL)
		return KS_OK;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be an integer %lld..%lld", name, (long long)lo,
			       (long long)hi);
	*out = json_integer_value(v);
	return KS_OK;
}

static ks_err rel_text(const json_t *o, const char *name, char *out, size_t n, ks_error *e)
{
	json_t *v = json_object_get(o, name);
	if (v == NULL)
		return KS_OK;
	const char *s = json_string_value(v);
	if (s == NULL || s[0] == '\0' || strlen(s) >= n)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a non-empty string of at most %zu bytes", name,
			       n - 1);
	snprintf(out, n, "%s", s);
	return KS_OK;
}

/* Apply the members of body to w (the defaults or the stored wave). */
static ks_err rel_apply(const api_app *app, const json_t *body, store_rel_wave *w, ks_error *e)
{
	ks_err err = api_only_fields(body, rel_fields, "", e);
	int64_t v;
	if (!err)
		err = rel_text(body, "name", w->name, REL_NAME_MAX + 1, e);
	if (!err)
		err = rel_int(body, "survey_id", 1, INT64_MAX, &w->survey_id, e);
	if (!err)
		err = rel_text(body, "period", w->period, sizeof w->period, e);
	int64_t from, to;
	if (!err)
		err = rel_period_window(app, w->period, &from, &to, e);
	if (!err)
		err = rel_int(body, "sample_size", 1, REL_SAMPLE_MAX, &w->sample_size, e);
	if (!err)
		err = rel_text(body, "allocation", w->allocation, sizeof w->allocation, e);
	rel_allocation a;
	if (!err && !rel_allocation_parse(w->allocation, &a))
		err = ks_fail(e, KS_ERR_INVALID, "allocation", "allocation must be proportional or equal");
	if (!err)
		err = rel_int(body, "min_per_stratum", 0, REL_SAMPLE_MAX, &w->min_per_stratum, e);
	json_t *rep = json_object_get(body, "replace_excluded");
	if (!err && rep && !json_is_boolean(rep))
		err = ks_fail(e, KS_ERR_INVALID, "replace_excluded", "replace_excluded must be true or false");
	if (!err && rep)
		w->replace_excluded = json_is_true(rep);
	v = w->fatigue_days;
	if (!err)
		err = rel_int(body, "fatigue_days", 0, 365, &v, e);
	w->fatigue_days = (int)v;
	if (!err && w->name[0] == '\0')
		err = ks_fail(e, KS_ERR_INVALID, "name", "name is required");
	if (!err && w->survey_id == 0)
		err = ks_fail(e, KS_ERR_INVALID, "survey_id", "survey_id is required");
	if (!err && w->sample_size == 0)
		err = ks_fail(e, KS_ERR_INVALID, "sample_size", "sample_size is required");
	if (!err && w->min_per_stratum > w->sample_size)
		err = ks_fail(e, KS_ERR_INVALID, "min_per_stratum", "min_per_stratum cannot exceed sample_size");
	return err;
}

static ks_err rel_reply_wave(http_req *req, int status, int64_t id, json_t *extra, ks_error *e)
{
	api_app *app = req->app;
	store_rel_wave w;
	ks_err err = store_rel_wave_get(app->store, id, &w, e);
	if (err) {
		json_decref(extra);
		return err;
	}
	json_t *o = rel_wave_json(&w);
	if (extra)
		json_object_update_new(o, extra);
	http_reply_json(req, status, o);
	return KS_OK;
}

/* ---- the routes ------------------------------------------------------------------- */

ks_err api_rel_wave_list(http_req *req, ks_error *e)
{
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	store_rel_wave *v = NULL;
	size_t n = 0;
	if (!err)
		err = store_rel_wave_list(((api_app *)req->app)->store, &v, &n, e);
	if (err)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, rel_wave_json(&v[i]));
	free(v);
	http_reply_json(req, 200, json_pack("{s:o}", "items", items));
	return KS_OK;
}

ks_err api_rel_wave_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *body = NULL;
	ks_err err = api_body_object(req, &body, e);
	if (err)
		return err;
	store_rel_wave w;
	memset(&w, 0, sizeof w);
	snprintf(w.allocation, sizeof w.allocation, "proportional");
	w.replace_excluded = true;
	w.fatigue_days = 30;  /* invite_rule_defaults' fatigue_days */
	rel_this_quarter(app, w.period, sizeof w.period);
	err = json_object_get(body, "status") ? ks_fail(e, KS_ERR_INVALID, "status", "a new wave is a draft")
					      : rel_apply(app, body, &w, e);
	json_decref(body);
	w.created_by = req->who.user_id;
	if (!err)
		err = store_rel_wave_create(app->store, &w, e);
	if (err)
		return err;
	api_audit(req, "relationship_wave.create", "relationship_wave", w.id,
		  json_pack("{s:s, s:I, s:s}", "name", w.name, "sample_size", (json_int_t)w.sample_size,
			    "allocation", w.allocation));
	return rel_reply_wave(req, 201, w.id, NULL, e);
}

ks_err api_rel_wave_get(http_req *req, ks_error *e)
{
	int64_t id;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_only_params(req, (const char *const[]){NULL}, e);
	return err ? err : rel_reply_wave(req, 200, id, NULL, e);
}

/* What a PUT may change in each status: everything in a draft; after the
 * draw the sample is fixed, so only the name and the comparison period;
 * "status": "closed" only from sent (no more answers are expected). */
static ks_err rel_put_allowed(const store_rel_wave *old, const json_t *body, ks_error *e)
{
	const char *st = json_string_value(json_object_get(body, "status"));
	if (json_object_get(body, "status")) {
		if (st == NULL || (strcmp(st, "closed") != 0 && strcmp(st, old->status) != 0))
			return ks_fail(e, KS_ERR_INVALID, "status",
				       "status can only be set to closed (draw and send have their own routes)");
		if (strcmp(st, "closed") == 0 && strcmp(old->status, "sent") != 0 &&
		    strcmp(old->status, "closed") != 0)
			return ks_fail(e, KS_ERR_CONFLICT, "status", "only a sent wave can be closed");
	}
	if (strcmp(old->status, "draft") == 0)
		return KS_OK;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "name") == 0 || strcmp(key, "period") == 0 || strcmp(key, "status") == 0)
			continue;
		return ks_fail(e, KS_ERR_CONFLICT, key, "%s cannot change once the wave is %s", key, old->status);
	}
	return KS_OK;
}

ks_err api_rel_wave_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	json_t *body = NULL;
	store_rel_wave old = {0}, w;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_rel_wave_get(app->store, id, &old, e);
	if (!err)
		err = api_body_object(req, &body, e);
	if (!err)
		err = api_only_fields(body, rel_fields, "", e);
	if (!err)
		err = rel_put_allowed(&old, body, e);
	w = old;
	if (!err)
		err = rel_apply(app, body, &w, e);
	const char *st = json_string_value(json_object_get(body, "status"));
	if (!err && st && strcmp(st, "closed") == 0 && strcmp(old.status, "closed") != 0) {
		snprintf(w.status, sizeof w.status, "closed");
		w.closed_at = clock_now(app->clock);
	}
	if (!err)
		err = store_rel_wave_update(app->store, &w, old.status, e);
	json_t *changed = json_array();
	const char *key;
	json_t *v;
	if (body)
		json_object_foreach(body, key, v)
			json_array_append_new(changed, json_string(key));
	json_decref(body);
	if (err) {
		json_decref(changed);
		return err;
	}
	api_audit(req, "relationship_wave.update", "relationship_wave", id,
		  json_pack("{s:o, s:s}", "fields", changed, "status", w.status));
	return rel_reply_wave(req, 200, id, NULL, e);
}

ks_err api_rel_wave_delete(http_req *req, ks_error *e)
{
	int64_t id;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_rel_wave_delete(((api_app *)req->app)->store, id, e);
	if (err)
		return err;
	api_audit(req, "relationship_wave.delete", "relationship_wave", id, NULL);
	http_reply_json(req, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "deleted", 1));
	return KS_OK;
}

/* The seed of a draw: the body's (to repeat a draw elsewhere, or in a
 * test), else 64 random bits from libsodium. */
static ks_err rel_seed(http_req *req, uint64_t *seed, ks_error *e)
{
	if (req->body.len > 0) {
		json_t *body = NULL;
		ks_err err = api_body_object(req, &body, e);
		if (err)
			return err;
		err = api_only_fields(body, (const char *const[]){"seed", NULL}, "", e);
		json_t *s = json_object_get(body, "seed");
		if (!err && s && !rel_seed_parse(json_string_value(s), seed))
			err = ks_fail(e, KS_ERR_INVALID, "seed", "seed must be 16 hexadecimal digits");
		json_decref(body);
		if (err || s)
			return err;
	}
	randombytes_buf(seed, sizeof *seed);
	return KS_OK;
}

ks_err api_rel_wave_draw(http_req *req, ks_error *e)
{
	int64_t id;
	uint64_t seed = 0;
	store_rel_draw_result r;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = rel_seed(req, &seed, e);
	if (!err)
		err = store_rel_draw(((api_app *)req->app)->store, id, seed, &r, e);
	if (err)
		return err;
	json_t *d = json_pack("{s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}}", "population", (json_int_t)r.population,
			      "strata", (json_int_t)r.strata, "allocated", (json_int_t)r.allocated, "selected",
			      (json_int_t)r.selected, "excluded", "fatigue", (json_int_t)r.fatigue, "opted_out",
			      (json_int_t)r.opted_out, "no_email", (json_int_t)r.no_email);
	api_audit(req, "relationship_wave.draw", "relationship_wave", id, json_deep_copy(d));
	return rel_reply_wave(req, 200, id, json_pack("{s:o}", "draw", d), e);
}

ks_err api_rel_wave_send(http_req *req, ks_error *e)
{
	int64_t id, invited = 0, excluded = 0;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_rel_send(((api_app *)req->app)->store, id, &invited, &excluded, e);
	if (err)
		return err;
	json_t *d = json_pack("{s:I, s:I}", "invited", (json_int_t)invited, "excluded", (json_int_t)excluded);
	api_audit(req, "relationship_wave.send", "relationship_wave", id, json_deep_copy(d));
	return rel_reply_wave(req, 200, id, json_pack("{s:o}", "send", d), e);
}

/* ---- the report ---------------------------------------------------------------------- */

static json_t *rel_fixed(double x, int decimals)
{
	double div = 1.0;
	for (int i = 0; i < decimals; i++)
		div *= 10.0;
	return json_real((double)metrics_round_scaled(x, decimals) / div);
}

static json_t *rel_ratio(int64_t num, int64_t den, int decimals)
{
	if (den <= 0)
		return json_null();
	double div = 1.0;
	for (int i = 0; i < decimals; i++)
		div *= 10.0;
	return json_real((double)metrics_round_ratio_scaled(num, den, decimals) / div);
}

static json_t *rel_nps_json(const rel_nps *x, int64_t n)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o}", "n", (json_int_t)n, "value", rel_fixed(x->value, 1), "low",
			 rel_fixed(x->low, 1), "high", rel_fixed(x->high, 1), "margin", rel_fixed(x->margin, 1));
}

/* The post-stratified NPS over the frame's strata, or null with a reason. */
static json_t *rel_weighted_json(const store_rel_report *r, int64_t min_n, rel_nps *out, const char **why)
{
	memset(out, 0, sizeof *out);
	int64_t pop = 0;
	for (size_t i = 0; i < r->n; i++)
		pop += r->strata[i].in_frame ? r->strata[i].population : 0;
	rel_stratum_nps *s = calloc(r->n ? r->n : 1, sizeof *s);
	if (s == NULL)
		return json_null();
	*why = NULL;
	for (size_t i = 0; i < r->n; i++) {
		const store_rel_stratum *x = &r->strata[i];
		if (!x->in_frame || x->rel.nps_n == 0)
			continue;
		if (x->rel.nps_n < min_n)
			*why = "stratum_below_min_n";
		s[i].pop_share = pop ? (double)x->population / (double)pop : 0.0;
		s[i].promoters = x->rel.promoters;
		s[i].detractors = x->rel.detractors;
		s[i].n = x->rel.nps_n;
	}
	if (r->rel.nps_n < min_n)
		*why = "below_min_n";
	if (*why == NULL)
		rel_weighted_nps(s, r->n, out);
	free(s);
	if (*why || !out->has) {
		if (*why == NULL)
			*why = "no_answers";
		out->has = false;
		return json_null();
	}
	return rel_nps_json(out, r->rel.nps_n);
}

/* "relationship_higher" / "relationship_lower" when the interval excludes
 * 0, else "within_noise". */
static json_t *rel_gap_json(const rel_nps *a, const rel_nps *b)
{
	rel_gap g;
	rel_nps_gap(a, b, &g);
	if (!g.has)
		return json_pack("{s:s}", "verdict", "insufficient_data");
	const char *verdict = g.low > 0.0 ? "relationship_higher" : g.high < 0.0 ? "relationship_lower" : "within_noise";
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:s, s:s}", "value", rel_fixed(g.value, 1), "centre",
			 rel_fixed(g.centre, 1), "se", rel_fixed(g.se, 2), "low", rel_fixed(g.low, 1), "high",
			 rel_fixed(g.high, 1), "verdict", verdict, "method",
			 "difference of independent estimates: se = sqrt(v1 + v2); contact-driven side: each "
			 "customer's latest answer of the period");
}

/* One row of the strata table. pop: the frame; pop_ans: the frame's strata
 * that have NPS answers (the weights' base, as rel_weighted_nps
 * renormalises); show_nps: every answering stratum has min_n answers. */
static json_t *rel_stratum_json(const store_rel_report *r, const store_rel_stratum *x, int64_t pop,
				int64_t pop_ans, bool show_nps, int64_t rel_inv, int64_t rel_resp)
{
	json_t *o = json_object();
	json_object_set_new(o, "stratum", json_string(x->stratum));
	json_object_set_new(o, "in_frame", json_boolean(x->in_frame));
	json_object_set_new(o, "population", json_integer(x->population));
	json_object_set_new(o, "base_share", rel_ratio(x->population, pop, 4));
	json_object_set_new(o, "allocated", json_integer(x->allocated));
	json_object_set_new(o, "selected", json_integer(x->selected));
	json_object_set_new(o, "excluded", json_pack("{s:I, s:I, s:I}", "fatigue", (json_int_t)x->fatigue,
						     "opted_out", (json_int_t)x->opted_out, "no_email",
						     (json_int_t)x->no_email));
	json_object_set_new(o, "invited", json_integer(x->invited));
	json_object_set_new(o, "invited_share", rel_ratio(x->invited, rel_inv, 4));
	json_object_set_new(o, "respondents", json_integer(x->rel.n));
	json_object_set_new(o, "respondent_share", rel_ratio(x->rel.n, rel_resp, 4));
	/* index = respondent share / base share, in exact integers */
	json_object_set_new(o, "index", rel_resp && x->population ? rel_ratio(x->rel.n * pop, rel_resp * x->population, 3)
								  : json_null());
	/* w_h = (N_h / N) / (r_h / r): what one respondent of the stratum weighs */
	json_object_set_new(o, "weight", x->rel.nps_n && pop_ans && x->in_frame
						 ? rel_fixed(((double)x->population / (double)pop_ans) /
								     ((double)x->rel.nps_n / (double)r->rel.nps_n), 3)
						 : json_null());
	rel_nps s;
	rel_plain_nps(x->rel.promoters, x->rel.detractors, x->rel.nps_n, &s);
	json_object_set_new(o, "nps", show_nps && s.has ? rel_nps_json(&s, x->rel.nps_n) : json_null());
	json_object_set_new(o, "contact_invited", json_integer(x->cd_invited));
	json_object_set_new(o, "contact_invited_share", rel_ratio(x->cd_invited, r->cd_invited, 4));
	json_object_set_new(o, "contact_respondents", json_integer(x->cd_respondents));
	json_object_set_new(o, "contact_respondent_share", rel_ratio(x->cd_respondents, r->cd_respondents, 4));
	json_object_set_new(o, "contact_index", r->cd_respondents && x->population
							? rel_ratio(x->cd_respondents * pop, r->cd_respondents * x->population, 3)
							: json_null());
	return o;
}

/* Representativeness flags, as GET /funnel/representativeness gives them
 * (docs/STATISTICS.md §11) but against the whole customer base: per
 * stratum of the frame the exact two-sided binomial test of its R_s of the
 * R respondents against its base share N_s / N, Benjamini-Hochberg over the
 * frame's strata, and the flag when the adjusted p <= 0.05 and the index
 * is below 0.9 or above 1.1 (compared in integers). contact: the
 * contact-driven respondents, else the wave's. Segments that appeared after
 * the draw have no base share: "not_in_frame", and they are not in the test. */
#define REL_REPR_Q 0.05

static const char *rel_flag(int64_t rs, int64_t r, int64_t ns, int64_t n, double p_adj)
{
	if (r == 0)
		return "no_respondents";
	if (!(p_adj <= REL_REPR_Q))
		return "within_noise";
	int64_t lhs = 10 * rs * n, rhs = r * ns;
	if (lhs < 9 * rhs)
		return "under_represented";
	if (lhs > 11 * rhs)
		return "over_represented";
	return "small_difference";
}

static void rel_repr_flags(json_t *strata, const store_rel_report *r, int64_t pop, bool contact)
{
	size_t n = r->n;
	double *p = calloc(n ? 2 * n : 2, sizeof *p);
	size_t *map = calloc(n ? n : 1, sizeof *map);
	if (p == NULL || map == NULL) {
		free(p);
		free(map);
		return;
	}
	double *p_adj = p + (n ? n : 1);
	int64_t big_r = 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (r->strata[i].in_frame && r->strata[i].population > 0) {
			big_r += contact ? r->strata[i].cd_respondents : r->strata[i].rel.n;
			map[k++] = i;
		}
	for (size_t j = 0; j < k; j++) {
		const store_rel_stratum *x = &r->strata[map[j]];
		p[j] = big_r ? metrics_binom_two_sided_p(contact ? x->cd_respondents : x->rel.n, big_r,
							 (double)x->population / (double)pop)
			     : NAN;
	}
	if (big_r)
		metrics_fdr_bh(p, k, REL_REPR_Q, p_adj);
	const char *kp = contact ? "contact_p" : "p", *kadj = contact ? "contact_p_adj" : "p_adj",
		   *kflag = contact ? "contact_flag" : "flag";
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(strata, i);
		json_object_set_new(o, kp, json_null());
		json_object_set_new(o, kadj, json_null());
		json_object_set_new(o, kflag, json_string("not_in_frame"));
	}
	for (size_t j = 0; j < k; j++) {
		const store_rel_stratum *x = &r->strata[map[j]];
		json_t *o = json_array_get(strata, map[j]);
		int64_t rs = contact ? x->cd_respondents : x->rel.n;
		json_object_set_new(o, kflag, json_string(rel_flag(rs, big_r, x->population, pop, big_r ? p_adj[j] : NAN)));
		if (big_r) {
			json_object_set_new(o, kp, rel_fixed(p[j], 4));
			json_object_set_new(o, kadj, rel_fixed(p_adj[j], 4));
		}
	}
	free(p);
	free(map);
}

static json_t *rel_report_json(const api_app *app, const store_rel_wave *w, const store_rel_report *r,
			       int64_t from, int64_t to)
{
	int64_t min_n = app->min_n, pop = 0, pop_ans = 0, rel_inv = 0;
	for (size_t i = 0; i < r->n; i++) {
		const store_rel_stratum *x = &r->strata[i];
		pop += x->in_frame ? x->population : 0;
		pop_ans += x->in_frame && x->rel.nps_n ? x->population : 0;
		rel_inv += x->invited;
	}
	rel_nps weighted, plain, cd;
	const char *why = NULL;
	json_t *wj = rel_weighted_json(r, min_n, &weighted, &why);
	rel_plain_nps(r->rel.promoters, r->rel.detractors, r->rel.nps_n, &plain);
	/* H8: the gap's contact side counts each customer once (store.h cd_once) */
	rel_plain_nps(r->cd_once.promoters, r->cd_once.detractors, r->cd_once.nps_n, &cd);
	if (r->rel.nps_n < min_n)
		plain.has = false;
	if (r->cd_once.nps_n < min_n)
		cd.has = false;
	json_t *rel = json_object();
	json_object_set_new(rel, "unweighted", metrics_json(&r->rel, min_n));
	json_object_set_new(rel, "weighted", wj);
	/* H8: a frame stratum (population > 0) without answers is left out and
	 * the others' weights renormalised (rel_weighted_nps): say which, or
	 * the weighted figure silently stands for a smaller base */
	json_t *left_out = json_array();
	for (size_t i = 0; i < r->n; i++)
		if (r->strata[i].in_frame && r->strata[i].population > 0 && r->strata[i].rel.nps_n == 0)
			json_array_append_new(left_out, json_string(r->strata[i].stratum));
	if (why == NULL && weighted.has && json_array_size(left_out) > 0)
		why = "strata_without_answers";
	json_object_set_new(rel, "weighted_note", why ? json_string(why) : json_null());
	json_object_set_new(rel, "weighted_left_out", left_out);
	json_t *cdj = metrics_json(&r->cd, min_n);
	json_object_set_new(cdj, "excludes", json_string("relationship"));
	json_object_set_new(cdj, "invited_customers", json_integer(r->cd_invited));
	json_object_set_new(cdj, "respondents", json_integer(r->cd_respondents));
	json_object_set_new(cdj, "gap_basis", metrics_json(&r->cd_once, min_n)); /* H8: each customer once */
	json_t *gaps = json_object();
	json_object_set_new(gaps, "weighted", rel_gap_json(&weighted, &cd));
	json_object_set_new(gaps, "unweighted", rel_gap_json(&plain, &cd));
	/* A stratum's NPS only when every answering stratum has min_n answers
	 * (the weighted NPS's condition): one hidden stratum beside shown ones
	 * and the total would be their difference. */
	bool show_nps = weighted.has;
	json_t *strata = json_array();
	for (size_t i = 0; i < r->n; i++)
		json_array_append_new(strata, rel_stratum_json(r, &r->strata[i], pop, pop_ans, show_nps, rel_inv,
							       r->rel.n));
	rel_repr_flags(strata, r, pop, false);
	rel_repr_flags(strata, r, pop, true);
	json_t *o = json_object();
	json_object_set_new(o, "wave", rel_wave_json(w));
	/* "to": the period's end, or the start of today when that is earlier */
	json_object_set_new(o, "period", json_pack("{s:s, s:o, s:o}", "label", w->period, "from", rel_time(from),
						   "to", rel_time(to)));
	json_object_set_new(o, "min_n", json_integer(min_n));
	json_object_set_new(o, "base", json_integer(pop));
	json_object_set_new(o, "relationship", rel);
	json_object_set_new(o, "contact_driven", cdj);
	json_object_set_new(o, "gap", gaps);
	json_object_set_new(o, "strata", strata);
	return o;
}

ks_err api_rel_wave_report(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id, from = 0, to = 0;
	store_rel_wave w;
	store_rel_report r;
	memset(&r, 0, sizeof r);
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = store_rel_wave_get(app->store, id, &w, e);
	if (!err && strcmp(w.status, "draft") == 0)
		err = ks_fail(e, KS_ERR_CONFLICT, "status", "a draft wave has no sample yet: draw it first");
	if (!err)
		err = rel_period_window(app, w.period, &from, &to, e);
	/* Every figure counts answers up to the start of today (docs/PRIVACY.md
	 * §3): a wave's NPS that moves while you watch tells what the last
	 * respondent said. */
	int64_t as_of = api_policy(app).as_of;
	if (!err)
		err = store_rel_report_counts(app->store, id, from, to, as_of, &r, e);
	if (err)
		return err;
	json_t *o = rel_report_json(app, &w, &r, from, to < as_of ? to : as_of);
	store_rel_report_free(&r);
	http_reply_json(req, 200, o);
	return KS_OK;
}

/* ---- a wave per quarter ---------------------------------------------------------------- */

static json_t *rel_schedule_json(const api_app *app, const store_rel_schedule *sc)
{
	char next[24];
	bool due = false;
	rel_schedule_quarter(&app->tz, clock_now(app->clock), sc->day_of_month, next, sizeof next, &due);
	json_t *o = json_object();
	json_object_set_new(o, "enabled", json_boolean(sc->enabled));
	json_object_set_new(o, "survey_id", rel_id_or_null(sc->survey_id));
	json_object_set_new(o, "sample_size", json_integer(sc->sample_size));
	json_object_set_new(o, "allocation", json_string(sc->allocation));
	json_object_set_new(o, "min_per_stratum", json_integer(sc->min_per_stratum));
	json_object_set_new(o, "replace_excluded", json_boolean(sc->replace_excluded));
	json_object_set_new(o, "fatigue_days", json_integer(sc->fatigue_days));
	json_object_set_new(o, "day_of_month", json_integer(sc->day_of_month));
	json_object_set_new(o, "last_period", sc->last_period[0] ? json_string(sc->last_period) : json_null());
	json_object_set_new(o, "last_wave_id", rel_id_or_null(sc->last_wave_id));
	json_object_set_new(o, "last_error", sc->last_error[0] ? json_string(sc->last_error) : json_null());
	json_object_set_new(o, "updated_at", rel_time(sc->updated_at));
	/* what the scheduler does next: this quarter when it has no wave yet */
	json_object_set_new(o, "current_quarter", json_string(next));
	json_object_set_new(o, "current_quarter_done", json_boolean(strcmp(next, sc->last_period) == 0));
	return o;
}

ks_err api_rel_schedule_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_rel_schedule sc;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = store_rel_schedule_get(app->store, &sc, e);
	if (err)
		return err;
	http_reply_json(req, 200, rel_schedule_json(app, &sc));
	return KS_OK;
}

static ks_err rel_schedule_apply(const json_t *body, store_rel_schedule *sc, ks_error *e)
{
	static const char *const fields[] = {"enabled",         "survey_id",        "sample_size", "allocation",
					     "min_per_stratum", "replace_excluded", "fatigue_days", "day_of_month", NULL};
	ks_err err = api_only_fields(body, fields, "", e);
	const char *bools[] = {"enabled", "replace_excluded"};
	bool *dst[] = {&sc->enabled, &sc->replace_excluded};
	for (int i = 0; !err && i < 2; i++) {
		json_t *v = json_object_get(body, bools[i]);
		if (v && !json_is_boolean(v))
			err = ks_fail(e, KS_ERR_INVALID, bools[i], "%s must be true or false", bools[i]);
		else if (v)
			*dst[i] = json_is_true(v);
	}
	json_t *sv = json_object_get(body, "survey_id");
	if (!err && sv && json_is_null(sv))
		sc->survey_id = 0;
	else if (!err)
		err = rel_int(body, "survey_id", 1, INT64_MAX, &sc->survey_id, e);
	if (!err)
		err = rel_int(body, "sample_size", 1, REL_SAMPLE_MAX, &sc->sample_size, e);
	if (!err)
		err = rel_text(body, "allocation", sc->allocation, sizeof sc->allocation, e);
	rel_allocation a;
	if (!err && !rel_allocation_parse(sc->allocation, &a))
		err = ks_fail(e, KS_ERR_INVALID, "allocation", "allocation must be proportional or equal");
	if (!err)
		err = rel_int(body, "min_per_stratum", 0, REL_SAMPLE_MAX, &sc->min_per_stratum, e);
	int64_t v = sc->fatigue_days, d = sc->day_of_month;
	if (!err)
		err = rel_int(body, "fatigue_days", 0, 365, &v, e);
	if (!err)
		err = rel_int(body, "day_of_month", 1, 28, &d, e);
	sc->fatigue_days = (int)v;
	sc->day_of_month = (int)d;
	if (!err && sc->min_per_stratum > sc->sample_size)
		err = ks_fail(e, KS_ERR_INVALID, "min_per_stratum", "min_per_stratum cannot exceed sample_size");
	if (!err && sc->enabled && sc->survey_id == 0)
		err = ks_fail(e, KS_ERR_INVALID, "survey_id", "a schedule that is on needs a survey_id");
	return err;
}

ks_err api_rel_schedule_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_rel_schedule sc;
	json_t *body = NULL;
	ks_err err = store_rel_schedule_get(app->store, &sc, e);
	if (!err)
		err = api_body_object(req, &body, e);
	if (!err)
		err = rel_schedule_apply(body, &sc, e);
	json_decref(body);
	sc.updated_by = req->who.user_id;
	if (!err)
		err = store_rel_schedule_put(app->store, &sc, e);
	if (err)
		return err;
	api_audit(req, "relationship_schedule.update", "relationship_schedule", 1,
		  json_pack("{s:b, s:I, s:I, s:i}", "enabled", sc.enabled, "survey_id", (json_int_t)sc.survey_id,
			    "sample_size", (json_int_t)sc.sample_size, "day_of_month", sc.day_of_month));
	return api_rel_schedule_get(req, e);
}
