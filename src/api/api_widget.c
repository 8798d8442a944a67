/* api_widget.c — scores made public (issue 16): the widgets an organisation
 * publishes (GET/PUT /api/v1/widgets, admins) and their public faces,
 * GET /w/{token}.json and GET /w/{token} (an HTML snippet to embed).
 *
 * A widget shows one figure of one slice exactly as /api/v1/metrics gives
 * it for the same slice and period: the same index, the same disclosure
 * control (dc_query), the same rounding. Below the threshold (or hidden by
 * disclosure control) it says "not enough responses" and shows no value,
 * only n. Rolling windows are refused for the same reason /metrics refuses
 * them (docs/PRIVACY.md): a figure over the last 90 days moves a little
 * each day, and two days subtracted tell who answered in between.
 *
 * The public replies carry no cookie and no personal data; headers.c gives
 * /w/ its own policy (cacheable, embeddable, CORS on the JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "audit/audit.h"
#include "core/utf8.h"

#define WG_MAX 100             /* widgets in one organisation's list */
#define WG_TOKEN_BYTES 12      /* 24 hex characters: not guessable */
#define WG_CACHE "public, max-age=300"

static const char *const wg_scopes[] = {"organisation", "team", "touchpoint", NULL};
static const char *const wg_measures[] = {"nps", "grade", NULL};

static bool wg_in(const char *v, const char *const *list)
{
	for (size_t i = 0; v && list[i]; i++)
		if (strcmp(list[i], v) == 0)
			return true;
	return false;
}

/* ---- the period ------------------------------------------------------------ */

/* The label of a stored period as of now: "previous_quarter" and
 * "previous_year" name the last complete one of the local calendar (a
 * whole period, so it changes once a quarter or year, never daily). */
static void wg_period_label(const api_app *app, const char *period, char *out, size_t n)
{
	int y, mo, d, h, mi, s;
	tz_civil(&app->tz, clock_now(app->clock), &y, &mo, &d, &h, &mi, &s);
	if (strcmp(period, "previous_year") == 0) {
		snprintf(out, n, "%04d", y - 1);
	} else if (strcmp(period, "previous_quarter") == 0) {
		int q = (mo - 1) / 3; /* the current quarter, 0-based: the previous one 1-based */
		if (q == 0)
			snprintf(out, n, "%04d-Q4", y - 1);
		else
			snprintf(out, n, "%04d-Q%d", y, q);
	} else {
		snprintf(out, n, "%s", period);
	}
}

/* A period a widget may hold: a whole month, quarter or year, or one of
 * the two relative names. field names it in the 422. */
static ks_err wg_period_check(const api_app *app, const char *period, const char *field, ks_error *e)
{
	if (strcmp(period, "previous_quarter") == 0 || strcmp(period, "previous_year") == 0)
		return KS_OK;
	int64_t from = 0, to = 0;
	tz_period_kind kind = TZ_PERIOD_NONE;
	if (strlen(period) < 24 &&
	    tz_period_parse(&app->tz, period, clock_now(app->clock), field, &from, &to, &kind, NULL) == KS_OK &&
	    (kind == TZ_PERIOD_MONTH || kind == TZ_PERIOD_QUARTER || kind == TZ_PERIOD_YEAR))
		return KS_OK;
	return ks_fail(e, KS_ERR_INVALID, field,
		       "period must be a whole year (2026), quarter (2026-Q4) or month (2026-11), "
		       "previous_quarter or previous_year: rolling windows such as last_90d would reveal "
		       "their daily differences (docs/PRIVACY.md)");
}

/* ---- the admin list ---------------------------------------------------------- */

static json_t *wg_json(const api_app *app, const store_widget *w)
{
	char at[40] = "";
	if (w->updated_at)
		tz_format_local(&app->tz, w->updated_at, at, sizeof at);
	const char *base = app->base_url ? app->base_url : "";
	size_t bl = strlen(base);
	char url[256], json_url[264];
	snprintf(url, sizeof url, "%.*s/w/%s", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base, w->token);
	snprintf(json_url, sizeof json_url, "%s.json", url);
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:s, s:s, s:s?}", "token", w->token, "scope",
			 w->scope, "scope_id", (json_int_t)w->scope_id, "measure", w->measure, "period",
			 w->period, "enabled", w->enabled, "url", url, "json_url", json_url, "updated_at",
			 w->updated_at ? at : NULL);
}

static ks_err wg_reply_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_widget *v = NULL;
	size_t n = 0;
	ks_err err = store_widget_list(app->store, &v, &n, e);
	if (err)
		return err;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, wg_json(app, &v[i]));
	free(v);
	http_reply_json(req, 200, json_pack("{s:o}", "widgets", arr));
	return KS_OK;
}

ks_err api_widget_list(http_req *req, ks_error *e)
{
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	return err ? err : wg_reply_list(req, e);
}

/* A string member of item i: required, one of list (NULL = any, at most
 * n - 1 bytes). */
static ks_err wg_text(const json_t *o, size_t i, const char *name, const char *const *list, char *out,
		      size_t n, ks_error *e)
{
	char field[48];
	snprintf(field, sizeof field, "widgets[%zu].%s", i, name);
	const char *v = json_string_value(json_object_get(o, name));
	if (v == NULL)
		return ks_fail(e, KS_ERR_INVALID, field, "%s is required (a string)", field);
	if (strlen(v) >= n || (list && !wg_in(v, list)))
		return ks_fail(e, KS_ERR_INVALID, field, "%s is not one of the allowed values", field);
	snprintf(out, n, "%s", v);
	return KS_OK;
}

/* The scope names a row of the right kind: an organisation is a unit of
 * kind organisation, a team (a location) any other unit. */
static ks_err wg_scope_check(api_app *app, const store_widget *w, size_t i, ks_error *e)
{
	char field[48];
	snprintf(field, sizeof field, "widgets[%zu].scope_id", i);
	bool tp = strcmp(w->scope, "touchpoint") == 0;
	json_t *row = NULL;
	ks_err err = store_entity_get(app->store, model_entity_find(tp ? "touchpoints" : "teams"), w->scope_id,
				      &row, NULL);
	const char *kind = json_string_value(json_object_get(row, "kind"));
	bool org = kind && strcmp(kind, "organisation") == 0;
	bool ok = err == KS_OK && (tp || org == (strcmp(w->scope, "organisation") == 0));
	json_decref(row);
	if (err && err != KS_ERR_NOTFOUND)
		return ks_fail(e, err, field, "could not look up %s", field);
	if (!ok)
		return ks_fail(e, KS_ERR_REF, field, "%s names no %s", field,
			       tp ? "touchpoint" : strcmp(w->scope, "team") == 0 ? "team or department"
										  : "organisation");
	return KS_OK;
}

/* Item i of the body into *w: a known token keeps its time when nothing
 * changed; a missing token is a new widget with a fresh one. */
static ks_err wg_item(http_req *req, const json_t *o, size_t i, const store_widget *old, size_t n_old,
		      store_widget *w, ks_error *e)
{
	static const char *const fields[] = {"token", "scope", "scope_id", "measure", "period", "enabled", NULL};
	api_app *app = req->app;
	char pfx[32], field[48];
	snprintf(pfx, sizeof pfx, "widgets[%zu].", i);
	memset(w, 0, sizeof *w);
	if (!json_is_object(o)) {
		snprintf(field, sizeof field, "widgets[%zu]", i);
		return ks_fail(e, KS_ERR_INVALID, field, "%s must be an object", field);
	}
	ks_err err = api_only_fields(o, fields, pfx, e);
	if (!err)
		err = wg_text(o, i, "scope", wg_scopes, w->scope, sizeof w->scope, e);
	json_t *id = json_object_get(o, "scope_id");
	snprintf(field, sizeof field, "widgets[%zu].scope_id", i);
	if (!err && (!json_is_integer(id) || json_integer_value(id) <= 0))
		err = ks_fail(e, KS_ERR_INVALID, field, "%s must be a positive integer id", field);
	if (!err)
		w->scope_id = json_integer_value(id);
	if (!err)
		err = wg_text(o, i, "measure", wg_measures, w->measure, sizeof w->measure, e);
	if (!err)
		err = wg_text(o, i, "period", NULL, w->period, sizeof w->period, e);
	snprintf(field, sizeof field, "widgets[%zu].period", i);
	if (!err)
		err = wg_period_check(app, w->period, field, e);
	json_t *en = json_object_get(o, "enabled");
	snprintf(field, sizeof field, "widgets[%zu].enabled", i);
	if (!err && en && !json_is_boolean(en))
		err = ks_fail(e, KS_ERR_INVALID, field, "%s must be true or false", field);
	w->enabled = en == NULL || json_is_true(en);
	if (!err)
		err = wg_scope_check(app, w, i, e);
	json_t *tok = json_object_get(o, "token");
	snprintf(field, sizeof field, "widgets[%zu].token", i);
	if (err || tok == NULL || json_is_null(tok)) {
		if (!err) {
			unsigned char raw[WG_TOKEN_BYTES];
			randombytes_buf(raw, sizeof raw);
			sodium_bin2hex(w->token, sizeof w->token, raw, sizeof raw);
			w->updated_by = req->who.user_id;
		}
		return err;
	}
	const char *t = json_string_value(tok);
	for (size_t k = 0; t && k < n_old; k++) {
		if (strcmp(old[k].token, t) != 0)
			continue;
		snprintf(w->token, sizeof w->token, "%s", t);
		bool same = strcmp(old[k].scope, w->scope) == 0 && old[k].scope_id == w->scope_id &&
			    strcmp(old[k].measure, w->measure) == 0 && strcmp(old[k].period, w->period) == 0 &&
			    old[k].enabled == w->enabled;
		w->updated_by = same ? old[k].updated_by : req->who.user_id;
		w->updated_at = same ? old[k].updated_at : 0;
		return KS_OK;
	}
	return ks_fail(e, KS_ERR_INVALID, field, "%s names no widget of the list (leave it out for a new one)",
		       field);
}

static ks_err wg_items(http_req *req, const json_t *arr, store_widget *w, ks_error *e)
{
	api_app *app = req->app;
	store_widget *old = NULL;
	size_t n_old = 0;
	ks_err err = store_widget_list(app->store, &old, &n_old, e);
	for (size_t i = 0; !err && i < json_array_size(arr); i++) {
		err = wg_item(req, json_array_get(arr, i), i, old, n_old, &w[i], e);
		for (size_t k = 0; !err && k < i; k++)
			if (strcmp(w[k].token, w[i].token) == 0) {
				char field[48];
				snprintf(field, sizeof field, "widgets[%zu].token", i);
				err = ks_fail(e, KS_ERR_INVALID, field, "%s is given twice", field);
			}
	}
	free(old);
	return err;
}

ks_err api_widget_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, (const char *const[]){"widgets", NULL}, "", e);
	json_t *arr = json_object_get(o, "widgets");
	if (!err && !json_is_array(arr))
		err = ks_fail(e, KS_ERR_INVALID, "widgets", "widgets must be an array (the whole list)");
	if (!err && json_array_size(arr) > WG_MAX)
		err = ks_fail(e, KS_ERR_RANGE, "widgets", "at most %d widgets", WG_MAX);
	size_t n = err ? 0 : json_array_size(arr);
	store_widget *w = calloc(n ? n : 1, sizeof *w);
	if (!err && w == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err)
		err = wg_items(req, arr, w, e);
	json_decref(o);
	char *detail = NULL;
	if (!err) {
		json_t *list = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:s, s:s, s:b}", "token", w[i].token,
							      "scope", w[i].scope, "scope_id",
							      (json_int_t)w[i].scope_id, "measure", w[i].measure,
							      "period", w[i].period, "enabled", w[i].enabled));
		detail = audit_detail_text(json_pack("{s:o}", "widgets", list));
		if (detail == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	char addr[64];
	http_client_addr(req, addr, sizeof addr);
	store_audit_entry a = {.actor_user_id = req->who.user_id, .client_addr = addr,
			       .action = "widget.update", .object_kind = "widget", .detail = detail};
	if (!err)
		err = store_widget_put(app->store, w, n, &a, e);
	free(detail);
	free(w);
	return err ? err : wg_reply_list(req, e);
}

/* ---- the public figure ------------------------------------------------------- */

typedef struct wg_figure {
	char name[501];          /* a team's (200) or touchpoint's (500 bytes) name, whole */
	json_t *value;           /* as /metrics prints it; NULL = not shown */
	int64_t n;               /* the measure's n when shown, else the slice's n */
	int64_t from, to;        /* the window, cut at the start of today */
	int64_t as_of;
} wg_figure;

static ks_err wg_name(api_app *app, const store_widget *w, char *out, size_t n, ks_error *e)
{
	bool tp = strcmp(w->scope, "touchpoint") == 0;
	json_t *row = NULL;
	ks_err err = store_entity_get(app->store, model_entity_find(tp ? "touchpoints" : "teams"), w->scope_id,
				      &row, e);
	if (!err)
	{
		/* at a character boundary should a hand-made row be longer: a cut
		 * inside one is no JSON string, and the widget would lose its name */
		utf8_copy(out, n, json_string_value(json_object_get(row, "name")));
	}
	json_decref(row);
	return err;
}

/* The widget's figure: /metrics' total for the slice and period, its
 * measure's value only where disclosure control shows it. */
static ks_err wg_compute(api_app *app, const store_widget *w, wg_figure *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	an_filter f;
	memset(&f, 0, sizeof f);
	api_window win;
	memset(&win, 0, sizeof win);
	char label[24];
	wg_period_label(app, w->period, label, sizeof label);
	ks_err err = tz_period_parse(&app->tz, label, clock_now(app->clock), "period", &win.from, &win.to,
				     &win.kind, e);
	snprintf(win.label, sizeof win.label, "%s", label);
	if (strcmp(w->scope, "touchpoint") == 0)
		f.touchpoint_id = w->scope_id;
	else
		f.team_id = w->scope_id;
	an_dim none[1] = {AN_DIM_NONE};
	if (!err)
		err = api_window_guard(app, &f, &win, none, 0, "period", e);
	if (!err)
		err = wg_name(app, w, out->name, sizeof out->name, e);
	dc_policy pol = api_policy(app);
	dc_reply d;
	if (!err)
		err = dc_query(app->index, &pol, &f, api_window_period(&win), none, 0, &d, e);
	if (err)
		return err;
	json_t *cell = api_cell_json(&d.r.total, &d.total);
	dc_reply_free(&d);
	if (cell == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	json_t *m = json_object_get(cell, w->measure);
	json_t *v = json_object_get(m, strcmp(w->measure, "nps") == 0 ? "value" : "mean");
	out->value = json_is_number(v) ? json_incref(v) : NULL;
	out->n = json_integer_value(json_object_get(out->value ? m : cell, "n"));
	json_decref(cell);
	out->from = f.from;
	out->to = f.to;
	out->as_of = pol.as_of;
	return KS_OK;
}

static json_t *wg_public_json(const api_app *app, const store_widget *w, const wg_figure *g)
{
	char from[40] = "", to[40] = "", at[40] = "";
	tz_format_local(&app->tz, g->from, from, sizeof from);
	tz_format_local(&app->tz, g->to, to, sizeof to);
	tz_format_local(&app->tz, g->as_of, at, sizeof at);
	return json_pack("{s:s, s:s, s:O?, s:I, s:b, s:{s:s, s:s}, s:s}", "name", g->name, "measure", w->measure,
			 "value", g->value, "n", (json_int_t)g->n, "insufficient", g->value == NULL, "period",
			 "from", from, "to", to, "updated_at", at);
}

/* The local date of t as YYYY-MM-DD. */
static void wg_date(const api_app *app, int64_t t, char *out, size_t n)
{
	int y, mo, d, h, mi, s;
	tz_civil(&app->tz, t, &y, &mo, &d, &h, &mi, &s);
	snprintf(out, n, "%04d-%02d-%02d", y, mo, d);
}

/* The figure as text: NPS with its sign, a grade out of 10; a decimal
 * comma in Dutch. */
static void wg_value_text(const store_widget *w, const wg_figure *g, bool en, char *out, size_t n)
{
	bool nps = strcmp(w->measure, "nps") == 0;
	snprintf(out, n, nps ? "%+.*f" : "%.*f", nps ? METRICS_NPS_DECIMALS : METRICS_MEAN_DECIMALS,
		 json_number_value(g->value));
	for (char *p = out; !en && *p; p++)
		if (*p == '.')
			*p = ',';
}

static const char wg_style[] =
	"body{margin:0;font:15px/1.4 system-ui,sans-serif;color:#1b1b1b;background:#fff}"
	".w{padding:12px 16px;border:1px solid #d0d5dc;border-radius:8px;display:inline-block}"
	".m{font-size:13px;color:#4a5563}.v{font-size:32px;font-weight:700}.v small{font-size:15px;font-weight:400}"
	".n,.p{font-size:13px;color:#4a5563}";

/* schema.org AggregateRating for the grade only: a grade is a rating on a
 * 1-10 scale, an NPS is not (it is a share difference from -100 to +100,
 * and read as stars it would mislead). */
static ks_err wg_json_ld(ks_buf *b, const store_widget *w, const wg_figure *g)
{
	if (strcmp(w->measure, "grade") != 0 || g->value == NULL)
		return KS_OK;
	char v[32];
	wg_value_text(w, g, true, v, sizeof v);
	json_t *ld = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:I}", "@context", "https://schema.org",
			       "@type", "AggregateRating", "itemReviewed", "@type",
			       strcmp(w->scope, "touchpoint") == 0 ? "Service" : "Organization", "name", g->name,
			       "ratingValue", v, "bestRating", "10", "worstRating", "1", "ratingCount",
			       (json_int_t)g->n);
	char *text = ld ? json_dumps(ld, JSON_COMPACT) : NULL;
	json_decref(ld);
	if (text == NULL)
		return KS_ERR_NOMEM;
	/* No < > & inside the block (JSON escapes them): a name holding
	 * "</script>" or "<!--" can neither end the block nor change how the
	 * HTML parser reads it. */
	ks_err err = buf_puts(b, "<script type=\"application/ld+json\">");
	for (const char *p = text; !err && *p; p++)
		err = *p == '<' ? buf_puts(b, "\\u003c") : *p == '>' ? buf_puts(b, "\\u003e")
			: *p == '&' ? buf_puts(b, "\\u0026") : buf_append(b, p, 1);
	free(text);
	return err ? err : buf_puts(b, "</script>");
}

static ks_err wg_html(ks_buf *b, const api_app *app, const store_widget *w, const wg_figure *g, bool en)
{
	bool nps = strcmp(w->measure, "nps") == 0;
	char from[16], last[16], v[32];
	wg_date(app, g->from, from, sizeof from);
	wg_date(app, g->to > g->from ? g->to - 1 : g->from, last, sizeof last);
	ks_err err = buf_printf(b, "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
				   "<meta name=\"viewport\" content=\"width=device-width\"><title>",
				en ? "en" : "nl");
	if (!err)
		err = buf_html(b, g->name);
	if (!err)
		err = buf_printf(b, "</title><style>%s</style>", wg_style);
	if (!err)
		err = wg_json_ld(b, w, g);
	if (!err)
		err = buf_puts(b, "</head><body><div class=\"w\"><div class=\"t\">");
	if (!err)
		err = buf_html(b, g->name);
	if (!err)
		err = buf_printf(b, "</div><div class=\"m\">%s</div>",
				 nps ? "Net Promoter Score (NPS)" : en ? "Average grade" : "Gemiddeld rapportcijfer");
	if (!err && g->value) {
		wg_value_text(w, g, en, v, sizeof v);
		err = buf_printf(b, "<div class=\"v\">%s%s</div>", v, nps ? "" : "<small> / 10</small>");
	} else if (!err) {
		err = buf_printf(b, "<div class=\"v\"><small>%s</small></div>",
				 en ? "Not enough responses" : "Te weinig reacties");
	}
	if (!err)
		err = buf_printf(b, "<div class=\"n\">n = %lld</div><div class=\"p\">%s %s %s %s</div></div></body></html>",
				 (long long)g->n, en ? "Period" : "Periode", from, en ? "to" : "t/m", last);
	return err;
}

/* Rate limit per address and widget: the open-link guard's address
 * bucket (src/survey/guard.h), keyed "w:" + token so a widget's readers
 * never use up a survey link's allowance. */
static ks_err wg_admit(http_req *req, const char *token, ks_error *e)
{
	api_app *app = req->app;
	char addr[64], key[72];
	http_client_addr(req, addr, sizeof addr);
	snprintf(key, sizeof key, "w:%s", token);
	int wait = 0;
	if (app->guard == NULL || guard_admit(app->guard, addr, key, false, clock_now(app->clock), &wait))
		return KS_OK;
	req->retry_after = wait;
	return ks_fail(e, KS_ERR_TOO_MANY, NULL, "too many requests: try again in %d s", wait);
}

/* Unknown, malformed and disabled tokens get the same 404. */
static ks_err wg_find(http_req *req, const char *token, store_widget *w, ks_error *e)
{
	api_app *app = req->app;
	size_t len = strlen(token);
	bool ok = len >= 16 && len < sizeof w->token;
	for (size_t i = 0; ok && i < len; i++)
		ok = (token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'f');
	ks_err err = ok ? store_widget_get(app->store, token, w, NULL) : KS_ERR_NOTFOUND;
	if (err == KS_OK && w->enabled)
		return KS_OK;
	if (err && err != KS_ERR_NOTFOUND)
		return ks_fail(e, err, NULL, "could not read the widget");
	return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such widget");
}

/* ETag from the reply; If-None-Match with it -> 304 without a body. */
static void wg_reply(http_req *req, const char *ctype, ks_buf *b)
{
	unsigned char h[16];
	crypto_generichash(h, sizeof h, (const unsigned char *)b->data, b->len, NULL, 0);
	char hex[2 * sizeof h + 1];
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(req->etag, sizeof req->etag, "\"%s\"", hex);
	req->cache_control = WG_CACHE;
	const char *inm = http_header(req, "If-None-Match");
	if (inm && strstr(inm, req->etag) != NULL) {
		b->len = 0;
		http_reply_buf(req, 304, ctype, b);
		return;
	}
	http_reply_buf(req, 200, ctype, b);
}

ks_err api_widget_public(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	char token[64];
	const char *p = req->params[0];
	size_t len = strlen(p);
	bool as_json = len > 5 && strcmp(p + len - 5, ".json") == 0;
	snprintf(token, sizeof token, "%.*s", (int)(as_json ? len - 5 : len), p);
	ks_err err = api_only_params(req, as_json ? (const char *const[]){NULL}
						  : (const char *const[]){"lang", NULL}, e);
	const char *lang = http_query(req, "lang");
	if (!err && lang && strcmp(lang, "nl") != 0 && strcmp(lang, "en") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "lang", "lang must be nl or en");
	if (!err)
		err = wg_admit(req, token, e);
	store_widget w;
	if (!err)
		err = wg_find(req, token, &w, e);
	wg_figure g;
	if (!err)
		err = wg_compute(app, &w, &g, e);
	if (err)
		return err;
	ks_buf b;
	buf_init(&b, 1u << 20);
	if (as_json) {
		json_t *o = wg_public_json(app, &w, &g);
		char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		err = text ? buf_puts(&b, text) : KS_ERR_NOMEM;
		free(text);
	} else {
		err = wg_html(&b, app, &w, &g, lang && strcmp(lang, "en") == 0);
	}
	json_decref(g.value);
	if (err) {
		buf_free(&b);
		return ks_fail(e, err, NULL, "could not build the widget");
	}
	wg_reply(req, as_json ? "application/json" : "text/html; charset=utf-8", &b);
	return KS_OK;
}
