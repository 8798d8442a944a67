/* api_invite.c — survey rules, invitations, opt-outs, the response funnel,
 * QR codes for open links, the unsubscribe page, and the test-mode clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
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

static ks_err api_period(http_req *req, int64_t *from, int64_t *to, ks_error *e)
{
	const char *names[] = {"from", "to"};
	int64_t *dst[] = {from, to};
	for (int i = 0; i < 2; i++) {
		const char *v = http_query(req, names[i]);
		*dst[i] = 0;
		if (v && clock_parse_iso(v, dst[i]) != KS_OK)
			return ks_fail(e, KS_ERR_INVALID, names[i], "%s must be a date (YYYY-MM-DD)", names[i]);
	}
	return KS_OK;
}

ks_err api_funnel(http_req *req, ks_error *e);
ks_err api_funnel(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t from, to;
	json_t *out = NULL;
	ks_err err = api_period(req, &from, &to, e);
	if (!err)
		err = store_funnel(app->store, http_query(req, "group_by"), from, to, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

ks_err api_representativeness(http_req *req, ks_error *e);
ks_err api_representativeness(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t from, to;
	json_t *out = NULL;
	const char *dim = http_query(req, "dimension");
	ks_err err = api_period(req, &from, &to, e);
	if (!err)
		err = store_representativeness(app->store, dim ? dim : "segment", from, to,
					       clock_now(app->clock), &out, e);
	if (err)
		return err;
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

static ks_err api_unsub_page(http_req *req, int status, const char *title, const char *text,
			     bool with_button)
{
	ks_buf b;
	buf_init(&b, 64 * 1024);
	ks_err err = buf_puts(&b, "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\">"
				  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
				  "<meta name=\"robots\" content=\"noindex\"><title>");
	if (!err)
		err = buf_html(&b, title);
	if (!err)
		err = buf_puts(&b, "</title><style>body{font-family:system-ui,sans-serif;max-width:36rem;"
				   "margin:2rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;"
				   "padding:.6rem 1.2rem}</style></head><body><main><h1>");
	if (!err)
		err = buf_html(&b, title);
	if (!err)
		err = buf_puts(&b, "</h1><p>");
	if (!err)
		err = buf_html(&b, text);
	if (!err)
		err = buf_puts(&b, "</p>");
	if (!err && with_button) {
		err = buf_puts(&b, "<form method=\"post\" action=\"/u/");
		if (!err)
			err = buf_html(&b, req->params[0]);
		if (!err)
			err = buf_puts(&b, "\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
					   "<button type=\"submit\">Afmelden / Unsubscribe</button></form>");
	}
	if (!err)
		err = buf_puts(&b, "</main></body></html>\n");
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, status, "text/html; charset=utf-8", &b);
	return KS_OK;
}

/* GET only asks: mail scanners follow links, and a prefetch must not
 * unsubscribe anyone. */
ks_err api_unsubscribe_get(http_req *req, ks_error *e);
ks_err api_unsubscribe_get(http_req *req, ks_error *e)
{
	(void)e;
	return api_unsub_page(req, 200, "Afmelden voor uitnodigingen / Unsubscribe",
			      "Wil je geen uitnodigingen voor onze korte enquêtes meer ontvangen? "
			      "Don't want to receive our short survey invitations any more?",
			      true);
}

ks_err api_unsubscribe_post(http_req *req, ks_error *e);
ks_err api_unsubscribe_post(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = store_optout_token(app->store, req->params[0], clock_now(app->clock), e);
	if (err == KS_ERR_NOTFOUND)
		return api_unsub_page(req, 404, "Onbekende link / Unknown link",
				      "Deze afmeldlink kennen we niet. We do not know this link.", false);
	if (err)
		return err;
	return api_unsub_page(req, 200, "Afgemeld / Unsubscribed",
			      "Je ontvangt geen uitnodigingen meer. You will not receive invitations any more.",
			      false);
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
