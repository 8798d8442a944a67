/* api_invite.c — survey rules, invitations, opt-outs, the response funnel,
 * QR codes for open links, the unsubscribe page, and the test-mode clock.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "survey/page.h"
#include "invite/qr.h"

/* ---- rules ------------------------------------------------------------------ */

/* Read one integer member of a rule body into *dst (absent = keep). */
static ks_err api_rule_int(const json_t *o, const char *name, int *dst, ks_error *e)
{
	const json_t *v = json_object_get(o, name);
	if (v == NULL)
		return KS_OK;
	if (!json_is_integer(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be an integer", name);
	if (json_integer_value(v) < -1000000 || json_integer_value(v) > 1000000)
		return ks_fail(e, KS_ERR_RANGE, name, "%s is out of range", name);
	*dst = (int)json_integer_value(v);
	return KS_OK;
}

static ks_err api_rule_bool(const json_t *o, const char *name, bool *dst, ks_error *e)
{
	const json_t *v = json_object_get(o, name);
	if (v == NULL)
		return KS_OK;
	if (!json_is_boolean(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be true or false", name);
	*dst = json_is_true(v);
	return KS_OK;
}

static ks_err api_rule_parse(const json_t *o, invite_rule *r, ks_error *e)
{
	static const char *const keys[] = {"survey_id", "enabled", "delay_minutes", "quiet_start_hour",
					   "quiet_end_hour", "sample_pct", "fatigue_days",
					   "exclude_open_case", "expiry_days", "reminder_days", NULL};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		bool ok = false;
		for (size_t i = 0; keys[i]; i++)
			ok = ok || strcmp(keys[i], key) == 0;
		if (!ok)
			return ks_fail(e, KS_ERR_INVALID, key, "unknown field %s", key);
	}
	ks_err err = api_json_id(o, "survey_id", &r->survey_id, e);
	const char *ints[] = {"delay_minutes", "quiet_start_hour", "quiet_end_hour", "sample_pct",
			      "fatigue_days", "expiry_days", "reminder_days"};
	int *dst[] = {&r->delay_minutes, &r->quiet_start_hour, &r->quiet_end_hour, &r->sample_pct,
		      &r->fatigue_days, &r->expiry_days, &r->reminder_days};
	for (size_t i = 0; !err && i < 7; i++)
		err = api_rule_int(o, ints[i], dst[i], e);
	if (!err)
		err = api_rule_bool(o, "enabled", &r->enabled, e);
	if (!err)
		err = api_rule_bool(o, "exclude_open_case", &r->exclude_open_case, e);
	if (!err)
		err = invite_rule_validate(r, e);
	return err;
}

ks_err api_rule_get(http_req *req, ks_error *e);
ks_err api_rule_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	invite_rule r;
	bool found = false;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_rule_get(app->store, id, &r, &found, e);
	if (!err && !found)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "touchpoint %lld has no survey rule", (long long)id);
	if (err)
		return err;
	http_reply_json(req, 200, store_rule_json(&r));
	return KS_OK;
}

/* PUT replaces the rule: absent fields take their defaults. */
ks_err api_rule_put(http_req *req, ks_error *e);
ks_err api_rule_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	json_t *o = NULL;
	invite_rule r;
	invite_rule_defaults(&r);
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_body_object(req, &o, e);
	r.touchpoint_id = id;
	if (!err)
		err = api_rule_parse(o, &r, e);
	json_decref(o);
	if (!err)
		err = store_rule_put(app->store, &r, e);
	if (err)
		return err;
	api_audit(req, "rule.update", "touchpoint", id, json_pack("{s:b}", "enabled", r.enabled));
	http_reply_json(req, 200, store_rule_json(&r));
	return KS_OK;
}

ks_err api_rule_list(http_req *req, ks_error *e);
ks_err api_rule_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *out = NULL;
	ks_err err = store_rule_list(app->store, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- invitations, opt-outs ----------------------------------------------------- */

static bool api_in(const char *v, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(v, list[i]) == 0)
			return true;
	return false;
}

ks_err api_invitation_list(http_req *req, ks_error *e);
ks_err api_invitation_list(http_req *req, ks_error *e)
{
	static const char *const statuses[] = {"skipped", "scheduled", "sending", "sent", "failed", NULL};
	static const char *const decisions[] = {"created", "no_rule", "disabled", "opted_out", "no_email",
						"open_case", "fatigue", "sampled_out", NULL};
	api_app *app = req->app;
	store_invite_filter f = {.status = http_query(req, "status"),
				 .decision = http_query(req, "decision")};
	if (f.status && !api_in(f.status, statuses))
		return ks_fail(e, KS_ERR_INVALID, "status", "unknown status %s", f.status);
	if (f.decision && !api_in(f.decision, decisions))
		return ks_fail(e, KS_ERR_INVALID, "decision", "unknown decision %s", f.decision);
	store_list_query q;
	json_t *out = NULL;
	ks_err err = api_page(req, &q, e);
	if (!err)
		err = api_query_id(req, "touchpoint_id", &f.touchpoint_id, e);
	if (!err)
		err = api_query_id(req, "customer_id", &f.customer_id, e);
	if (!err)
		err = store_invitation_list(app->store, &f, &q, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

ks_err api_optout_customer(http_req *req, ks_error *e);
ks_err api_optout_customer(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_optout_customer(app->store, id, clock_now(app->clock), e);
	if (err == KS_ERR_NOTFOUND)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "customer %lld not found", (long long)id);
	if (err)
		return err;
	api_audit(req, "customer.opt_out", "customer", id, NULL);
	http_reply_json(req, 200, json_pack("{s:I, s:b}", "customer_id", (json_int_t)id, "opted_out", 1));
	return KS_OK;
}

ks_err api_optout_list(http_req *req, ks_error *e);
ks_err api_optout_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_list_query q;
	json_t *out = NULL;
	ks_err err = api_page(req, &q, e);
	if (!err)
		err = store_optout_list(app->store, &q, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- funnel ---------------------------------------------------------------------- */

/* The window of the funnel views as the metrics endpoints take it
 * (api_window_parse: period= or from/to, whole local periods, the
 * organisation's calendar), echoed in the reply. */
static void api_window_echo(const api_app *app, const api_window *w, json_t *out)
{
	char from[40], to[40];
	if (w->from)
		tz_format_local(&app->tz, w->from, from, sizeof from);
	if (w->to)
		tz_format_local(&app->tz, w->to, to, sizeof to);
	json_object_set_new(out, "period", w->label[0] ? json_string(w->label) : json_null());
	json_object_set_new(out, "from", w->from ? json_string(from) : json_null());
	json_object_set_new(out, "to", w->to ? json_string(to) : json_null());
	json_object_set_new(out, "time_zone", json_string(app->tz.name));
}

ks_err api_funnel(http_req *req, ks_error *e);
ks_err api_funnel(http_req *req, ks_error *e)
{
	static const char *const params[] = {"group_by", "period", "from", "to", NULL};
	api_app *app = req->app;
	api_window w;
	json_t *out = NULL;
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_window_parse(req, "", &w, e);
	if (!err)
		err = store_funnel(app->store, http_query(req, "group_by"), w.from, w.to, &out, e);
	if (err)
		return err;
	api_window_echo(app, &w, out);
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* Representativeness flags (docs/STATISTICS.md): a segment is flagged when
 * its respondents differ from its invited share beyond chance -- the
 * exact two-sided binomial test, Benjamini-Hochberg adjusted over the
 * segments of the reply, p_adj <= API_REPR_Q -- and by a material amount:
 * index below 0.9 or above 1.1, compared in exact integers as tenths. */
#define API_REPR_Q 0.05
#define API_REPR_UNDER_TENTHS 9
#define API_REPR_OVER_TENTHS 11

/* A rounded number (scaled by 10^decimals) as a JSON real. */
static json_t *api_fixed(int64_t scaled, int decimals)
{
	double div = 1.0;
	for (int i = 0; i < decimals; i++)
		div *= 10.0;
	return json_real((double)scaled / div);
}

static json_t *api_ratio(int64_t num, int64_t den, int decimals)
{
	return den > 0 ? api_fixed(metrics_round_ratio_scaled(num, den, decimals), decimals) : json_null();
}

static const char *api_repr_flag(const store_repr_row *r, int64_t inv_all, int64_t resp_all, double p_adj)
{
	if (resp_all == 0)
		return "no_respondents";
	if (!(p_adj <= API_REPR_Q))
		return "within_noise";
	/* index = (resp / resp_all) / (inv / inv_all), against tenths */
	int64_t lhs = 10 * r->respondents * inv_all, rhs = resp_all * r->invited_customers;
	if (lhs < API_REPR_UNDER_TENTHS * rhs)
		return "under_represented";
	if (lhs > API_REPR_OVER_TENTHS * rhs)
		return "over_represented";
	return "small_difference";
}

static json_t *api_repr_json(const api_app *app, const api_window *w, const char *dimension,
			     const store_repr *r)
{
	/* The shares' base: the segments' counts summed (a customer in two
	 * segments counts in each, so the shares add up to 1). */
	int64_t inv_all = 0, resp_all = 0;
	for (size_t i = 0; i < r->n; i++) {
		inv_all += r->rows[i].invited_customers;
		resp_all += r->rows[i].respondents;
	}
	double *p = calloc(r->n ? r->n : 1, 2 * sizeof *p);
	if (p == NULL)
		return NULL;
	double *p_adj = p + r->n;
	for (size_t i = 0; i < r->n; i++)
		p[i] = resp_all ? metrics_binom_two_sided_p(r->rows[i].respondents, resp_all,
							     (double)r->rows[i].invited_customers / (double)inv_all)
				: NAN;
	if (resp_all)
		metrics_fdr_bh(p, r->n, API_REPR_Q, p_adj);
	json_t *rows = json_array();
	for (size_t i = 0; i < r->n; i++) {
		const store_repr_row *x = &r->rows[i];
		const char *flag = api_repr_flag(x, inv_all, resp_all, resp_all ? p_adj[i] : NAN);
		json_t *o = json_object();
		json_object_set_new(o, "segment", json_string(x->segment));
		json_object_set_new(o, "invited_customers", json_integer(x->invited_customers));
		json_object_set_new(o, "respondents", json_integer(x->respondents));
		json_object_set_new(o, "invitations", json_integer(x->invitations));
		json_object_set_new(o, "completed", json_integer(x->completed));
		json_object_set_new(o, "response_rate", api_ratio(x->respondents, x->invited_customers, 4));
		json_object_set_new(o, "invited_share", api_ratio(x->invited_customers, inv_all, 4));
		json_object_set_new(o, "respondent_share", api_ratio(x->respondents, resp_all, 4));
		json_object_set_new(o, "index", resp_all ? api_ratio(x->respondents * inv_all,
								     resp_all * x->invited_customers, 3)
							 : json_null());
		json_object_set_new(o, "p", resp_all ? api_fixed(metrics_round_scaled(p[i], 4), 4) : json_null());
		json_object_set_new(o, "p_adj",
				    resp_all ? api_fixed(metrics_round_scaled(p_adj[i], 4), 4) : json_null());
		json_object_set_new(o, "flag", json_string(flag));
		json_object_set_new(o, "under_represented", json_boolean(strcmp(flag, "under_represented") == 0));
		json_object_set_new(o, "over_represented", json_boolean(strcmp(flag, "over_represented") == 0));
		json_array_append_new(rows, o);
	}
	free(p);
	json_t *out = json_object();
	json_object_set_new(out, "dimension", json_string(dimension));
	api_window_echo(app, w, out);
	json_object_set_new(out, "invited_customers", json_integer(r->invited_customers));
	json_object_set_new(out, "respondents", json_integer(r->respondents));
	json_object_set_new(out, "invitations", json_integer(r->invitations));
	json_object_set_new(out, "completed", json_integer(r->completed));
	json_object_set_new(out, "response_rate", api_ratio(r->respondents, r->invited_customers, 4));
	json_object_set_new(out, "test",
			    json_pack("{s:s, s:I, s:I, s:s, s:f, s:f, s:f}", "name", "binomial_two_sided_exact",
				      "n", (json_int_t)resp_all, "invited_base", (json_int_t)inv_all, "adjust",
				      "benjamini_hochberg", "q", API_REPR_Q, "under_below",
				      API_REPR_UNDER_TENTHS / 10.0, "over_above", API_REPR_OVER_TENTHS / 10.0));
	json_object_set_new(out, "rows", rows);
	return out;
}

ks_err api_representativeness(http_req *req, ks_error *e);
ks_err api_representativeness(http_req *req, ks_error *e)
{
	static const char *const params[] = {"dimension", "period", "from", "to", NULL};
	api_app *app = req->app;
	api_window w;
	store_repr r;
	memset(&r, 0, sizeof r);
	const char *dim = http_query(req, "dimension");
	if (dim == NULL)
		dim = "segment";
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_window_parse(req, "", &w, e);
	if (!err)
		err = store_representativeness(app->store, dim, w.from, w.to, &r, e);
	if (err)
		return err;
	json_t *out = api_repr_json(app, &w, dim, &r);
	store_repr_free(&r);
	if (out == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- QR code of a touchpoint's open link ------------------------------------------- */

ks_err api_touchpoint_qr(http_req *req, ks_error *e);
ks_err api_touchpoint_qr(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	json_t *tp = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_entity_get(app->store, model_entity_find("touchpoints"), id, &tp, e);
	if (err)
		return err;
	char url[512];
	snprintf(url, sizeof url, "%s/s/%s", app->base_url,
		 json_string_value(json_object_get(tp, "open_token")));
	json_decref(tp);
	ks_buf svg;
	buf_init(&svg, 512 * 1024);
	err = qr_svg(url, &svg);
	if (err) {
		buf_free(&svg);
		return ks_fail(e, err, NULL, "cannot draw the QR code");
	}
	http_reply_buf(req, 200, "image/svg+xml", &svg);
	return KS_OK;
}

/* ---- unsubscribe (RFC 8058 one-click, and a page for people) ------------------------ */

/* The page in the customer's language and the organisation's voice
 * (issue 13; src/survey/page.c writes it). */
static ks_err api_unsub_page(http_req *req, int status, survey_unsub kind)
{
	api_app *app = req->app;  /* NULL in the unit test of the page: nl, the default voice */
	char lang[3] = "nl";
	if (app && kind != SURVEY_UNSUB_UNKNOWN)
		store_unsub_language(app->store, req->params[0], lang);
	const char *q = http_query(req, "lang");
	if (q && (strcmp(q, "en") == 0 || strcmp(q, "nl") == 0))
		snprintf(lang, sizeof lang, "%s", q);
	store_voice sv;
	survey_voice v = {0};
	if (app && store_voice_get(app->store, &sv, false, NULL) == KS_OK) {
		v.formal = sv.formal;
		v.logo = sv.logo_len > 0;
	} else {
		memset(&sv, 0, sizeof sv);
	}
	v.org_name = sv.organisation_name;
	ks_buf b;
	buf_init(&b, 64 * 1024);
	ks_err err = survey_page_unsubscribe(&b, lang, &v, kind, req->params[0]);
	store_voice_free(&sv);
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, status, "text/html; charset=utf-8", &b);
	return KS_OK;
}

/* Could this be an unsubscribe token at all ([A-Za-z0-9_-], as the store
 * makes them)? Only such a token is written into the page's form: any
 * other text of the URL (bytes that are not UTF-8 included) gets the
 * "unknown link" page. */
static bool api_unsub_token_ok(const char *t)
{
	size_t n = strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
	return n > 0 && n <= 64 && t[n] == '\0';
}

/* GET only asks: mail scanners follow links, and a prefetch must not
 * unsubscribe anyone. */
ks_err api_unsubscribe_get(http_req *req, ks_error *e);
ks_err api_unsubscribe_get(http_req *req, ks_error *e)
{
	(void)e;
	if (!api_unsub_token_ok(req->params[0]))
		return api_unsub_page(req, 404, SURVEY_UNSUB_UNKNOWN);
	return api_unsub_page(req, 200, SURVEY_UNSUB_CONFIRM);
}

ks_err api_unsubscribe_post(http_req *req, ks_error *e);
ks_err api_unsubscribe_post(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = store_optout_token(app->store, req->params[0], clock_now(app->clock), e);
	if (err == KS_ERR_NOTFOUND)
		return api_unsub_page(req, 404, SURVEY_UNSUB_UNKNOWN);
	if (err)
		return err;
	return api_unsub_page(req, 200, SURVEY_UNSUB_DONE);
}

/* ---- test mode: the clock and the scheduler under the test's control --------------- */

ks_err api_admin_clock(http_req *req, ks_error *e);
ks_err api_admin_clock(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	if (!app->test_mode)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	json_t *o = NULL;
	int64_t now = 0;
	ks_err err = api_body_object(req, &o, e);
	const json_t *v = o ? json_object_get(o, "now") : NULL;
	if (!err && (!json_is_string(v) || clock_parse_iso(json_string_value(v), &now) != KS_OK))
		err = ks_fail(e, KS_ERR_INVALID, "now", "now must be an ISO 8601 time");
	json_decref(o);
	if (err)
		return err;
	app->clock->fixed = now;
	char iso[32];
	clock_format_iso(now, iso, sizeof iso);
	http_reply_json(req, 200, json_pack("{s:s}", "now", iso));
	return KS_OK;
}

ks_err api_admin_scheduler_run(http_req *req, ks_error *e);
ks_err api_admin_scheduler_run(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	if (!app->test_mode || app->scheduler == NULL)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	invite_pass_stats st = {0};
	ks_err err = invite_scheduler_run(app->scheduler, &st, e);
	if (err)
		return err;
	http_reply_json(req, 200, invite_pass_stats_json(&st));
	return KS_OK;
}
