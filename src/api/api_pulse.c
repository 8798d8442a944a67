/* api_pulse.c — the employee pulse (eNPS; issue 17 P): settings, waves,
 * results, comments and the public answer page /p/{token}. docs/API.md
 * "Employee pulse"; the anonymity rules are src/pulse/pulse.c's and
 * docs/PRIVACY.md "Employee pulse".
 *
 * Who sees what: nothing of an open wave (no figures, no comments, no
 * answer count but the admin's whole-organisation total), so no reader can
 * compare before and after a colleague answered. A closed wave's results
 * were computed once for the whole org tree at closing
 * (pulse_wave_finalise) and are read from the store (pulse_result_load),
 * then cut to the reader's scope —
 * directors and admins every unit, managers and team leads their unit and
 * the units below it, employees the organisation and their own team.
 * Comments take no filter but the (shown) unit: a 422 names any other
 * parameter, so nobody can narrow them down to a few people.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "pulse/pulse.h"
#include "pulse/pulse_page.h"

#define API_PULSE_PAGE_MAX (128 * 1024)
#define API_PULSE_RANGE_MAX 24   /* waves in one results reply */

static json_t *api_pulse_iso(int64_t t)
{
	if (t == 0)
		return json_null();
	char iso[32];
	clock_format_iso(t, iso, sizeof iso);
	return json_string(iso);
}

static double api_round(double x, double f)
{
	return round(x * f) / f;
}

/* ---- settings ---------------------------------------------------------------- */

static json_t *api_pulse_pair(const char (*t)[STORE_PULSE_TEXT_MAX])
{
	return json_pack("{s:s, s:s}", "nl", t[0], "en", t[1]);
}

static json_t *api_pulse_settings_json(const store_pulse_settings *p)
{
	json_t *items = json_array();
	for (int i = 0; i < STORE_PULSE_ITEMS; i++)
		if (p->item[i][0][0])
			json_array_append_new(items, api_pulse_pair(p->item[i]));
	return json_pack("{s:b, s:i, s:i, s:i, s:i, s:s, s:{s:o, s:o, s:o}, s:o}", "enabled", p->enabled,
			 "cadence_days", p->cadence_days, "open_days", p->open_days, "min_group", p->min_group,
			 "min_group_comments", p->min_group_comments, "language", p->language, "questions",
			 "enps", api_pulse_pair(p->enps), "items", items, "open", api_pulse_pair(p->open),
			 "updated_at", api_pulse_iso(p->updated_at));
}

ks_err api_pulse_settings_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_pulse_settings *p = malloc(sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = store_pulse_settings_get(app->store, p, e);
	if (!err)
		http_reply_json(req, 200, api_pulse_settings_json(p));
	free(p);
	return err;
}

static ks_err api_pulse_int(const json_t *body, const char *name, int lo, int hi, const char *why, int *out,
			    ks_error *e)
{
	const json_t *v = json_object_get(body, name);
	if (v == NULL)
		return KS_OK;
	if (!json_is_integer(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a whole number", name);
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return ks_fail(e, KS_ERR_RANGE, name, "%s must be %d..%d%s", name, lo, hi, why);
	*out = (int)x;
	return KS_OK;
}

/* A {nl, en} text pair into t; field names the member for errors. */
static ks_err api_pulse_text(const json_t *pair, const char *field, char (*t)[STORE_PULSE_TEXT_MAX],
			     ks_error *e)
{
	static const char *const langs[] = {"nl", "en", NULL};
	ks_err err = json_is_object(pair) ? api_only_fields(pair, langs, "", e)
					  : ks_fail(e, KS_ERR_INVALID, field, "%s must be {\"nl\": ..., \"en\": ...}", field);
	for (int l = 0; !err && l < 2; l++) {
		const char *s = json_string_value(json_object_get(pair, langs[l]));
		char f[64];
		snprintf(f, sizeof f, "%s.%s", field, langs[l]);
		if (s == NULL || s[0] == '\0')
			err = ks_fail(e, KS_ERR_INVALID, f, "%s is required", f);
		else if (strlen(s) >= STORE_PULSE_TEXT_MAX)
			err = ks_fail(e, KS_ERR_RANGE, f, "%s holds at most %d bytes", f, STORE_PULSE_TEXT_MAX - 1);
		else
			snprintf(t[l], STORE_PULSE_TEXT_MAX, "%s", s);
	}
	return err;
}

static ks_err api_pulse_questions(const json_t *q, store_pulse_settings *p, ks_error *e)
{
	static const char *const known[] = {"enps", "items", "open", NULL};
	if (!json_is_object(q))
		return ks_fail(e, KS_ERR_INVALID, "questions", "questions must be an object");
	ks_err err = api_only_fields(q, known, "questions.", e);
	if (!err && json_object_get(q, "enps"))
		err = api_pulse_text(json_object_get(q, "enps"), "questions.enps", p->enps, e);
	if (!err && json_object_get(q, "open"))
		err = api_pulse_text(json_object_get(q, "open"), "questions.open", p->open, e);
	const json_t *items = json_object_get(q, "items");
	if (!err && items) {
		size_t n = json_array_size(items);
		if (!json_is_array(items) || n < 2 || n > STORE_PULSE_ITEMS)
			return ks_fail(e, KS_ERR_RANGE, "questions.items", "questions.items must hold 2 or 3 items");
		memset(p->item, 0, sizeof p->item);
		for (size_t i = 0; !err && i < n; i++) {
			char f[48];
			snprintf(f, sizeof f, "questions.items[%zu]", i);
			err = api_pulse_text(json_array_get(items, i), f, p->item[i], e);
		}
	}
	return err;
}

static ks_err api_pulse_apply(const json_t *body, store_pulse_settings *p, ks_error *e)
{
	static const char *const known[] = {"enabled", "cadence_days", "open_days", "min_group",
					    "min_group_comments", "language", "questions", NULL};
	ks_err err = api_only_fields(body, known, "", e);
	const json_t *en = json_object_get(body, "enabled");
	if (!err && en) {
		if (!json_is_boolean(en))
			err = ks_fail(e, KS_ERR_INVALID, "enabled", "enabled must be true or false");
		else
			p->enabled = json_is_true(en);
	}
	if (!err)
		err = api_pulse_int(body, "cadence_days", 7, 366, "", &p->cadence_days, e);
	if (!err)
		err = api_pulse_int(body, "open_days", 1, 60, "", &p->open_days, e);
	if (!err)
		err = api_pulse_int(body, "min_group", 3, 1000,
				    ": below 3 respondents a group's score tells about single people", &p->min_group, e);
	if (!err)
		err = api_pulse_int(body, "min_group_comments", 5, 1000,
				    ": comments are shown only from groups of at least 5", &p->min_group_comments, e);
	const json_t *lang = json_object_get(body, "language");
	if (!err && lang) {
		const char *l = json_string_value(lang);
		if (l == NULL || (strcmp(l, "nl") != 0 && strcmp(l, "en") != 0))
			err = ks_fail(e, KS_ERR_INVALID, "language", "language must be nl or en");
		else
			snprintf(p->language, sizeof p->language, "%s", l);
	}
	if (!err && json_object_get(body, "questions"))
		err = api_pulse_questions(json_object_get(body, "questions"), p, e);
	return err;
}

ks_err api_pulse_settings_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_pulse_settings *p = malloc(sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	json_t *body = NULL;
	ks_err err = store_pulse_settings_get(app->store, p, e);
	if (!err)
		err = api_body_object(req, &body, e);
	if (!err)
		err = api_pulse_apply(body, p, e);
	json_decref(body);
	p->updated_by = req->who.user_id;
	if (!err)
		err = store_pulse_settings_put(app->store, p, clock_now(app->clock), e);
	if (!err) {
		api_audit(req, "pulse_settings.update", "pulse_settings", 1,
			  json_pack("{s:b, s:i, s:i, s:i}", "enabled", p->enabled, "cadence_days", p->cadence_days,
				    "min_group", p->min_group, "min_group_comments", p->min_group_comments));
		err = store_pulse_settings_get(app->store, p, e);
	}
	if (!err)
		http_reply_json(req, 200, api_pulse_settings_json(p));
	free(p);
	return err;
}

/* ---- waves --------------------------------------------------------------------- */

static bool api_pulse_admin(const http_req *req)
{
	return !req->who.authenticated || req->who.role == AUTH_ROLE_ADMIN;
}

/* A wave for the list. The counts of answers say how many of the whole
 * organisation answered: shown to everyone only when the organisation's
 * figure is shown (a tiny organisation's count is its people). */
static json_t *api_pulse_wave_json(const store_pulse_wave *w, bool counts)
{
	json_t *o = json_pack("{s:I, s:s, s:o, s:o, s:s, s:b, s:I}", "id", (json_int_t)w->id, "period", w->period,
			      "opened_at", api_pulse_iso(w->opened_at), "closes_at",
			      api_pulse_iso(w->closes_at), "status", w->status, "scheduled", w->scheduled,
			      "invited", (json_int_t)w->invited);
	if (o == NULL)
		return NULL;
	if (counts) {
		json_object_set_new(o, "answered", json_integer(w->answered));
		json_object_set_new(o, "response_rate",
				    w->invited ? json_real(api_round((double)w->answered / (double)w->invited, 100))
					       : json_null());
		json_object_set_new(o, "mail_sent", json_integer(w->mail_sent));
		json_object_set_new(o, "mail_failed", json_integer(w->mail_failed));
	} else {
		json_object_set_new(o, "answered", json_null());
		json_object_set_new(o, "response_rate", json_null());
	}
	return o;
}

/* Are a wave's answer counts fit for this reader? Admins run the pulse
 * (the whole organisation's total only); others only for a closed wave
 * whose every root is shown or empty — a read of the stored cells. */
static bool api_pulse_counts_ok(http_req *req, const store_pulse_wave *w)
{
	if (api_pulse_admin(req))
		return true;
	if (strcmp(w->status, "open") == 0)
		return false;
	pulse_result r;
	if (pulse_result_load(((api_app *)req->app)->store, w->id, &r, NULL) != KS_OK)
		return false;
	bool ok = true;
	for (size_t i = 0; i < r.n; i++)
		if (r.cells[i].parent_id == 0 && r.cells[i].hidden)
			ok = false;
	pulse_result_free(&r);
	return ok;
}

static bool api_pulse_month(const char *v)
{
	if (v == NULL || strlen(v) != 7 || v[4] != '-')
		return false;
	for (int i = 0; i < 7; i++)
		if (i != 4 && (v[i] < '0' || v[i] > '9'))
			return false;
	int month = (v[5] - '0') * 10 + (v[6] - '0');
	return v[0] >= '1' && month >= 1 && month <= 12;
}

ks_err api_pulse_wave_list(http_req *req, ks_error *e)
{
	static const char *const params[] = {"from", "to", NULL};
	api_app *app = req->app;
	ks_err err = api_only_params(req, params, e);
	const char *from = http_query(req, "from"), *to = http_query(req, "to");
	if (!err && from && !api_pulse_month(from))
		err = ks_fail(e, KS_ERR_INVALID, "from", "from must be a month, YYYY-MM");
	if (!err && to && !api_pulse_month(to))
		err = ks_fail(e, KS_ERR_INVALID, "to", "to must be a month, YYYY-MM");
	store_pulse_wave *w = NULL;
	size_t n = 0;
	if (!err)
		err = store_pulse_wave_list(app->store, from, to, 500, &w, &n, e);
	if (err)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(items, api_pulse_wave_json(&w[i], api_pulse_counts_ok(req, &w[i])));
		store_pulse_wave_clear(&w[i]);
	}
	free(w);
	http_reply_json(req, 200, json_pack("{s:o}", "items", items));
	return KS_OK;
}

ks_err api_pulse_wave_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	store_pulse_wave w;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_pulse_wave_get(app->store, id, &w, e);
	if (err)
		return err;
	json_t *o = api_pulse_wave_json(&w, api_pulse_counts_ok(req, &w));
	json_object_set(o, "questions", w.questions ? w.questions : json_null());
	store_pulse_wave_clear(&w);
	http_reply_json(req, 200, o);
	return KS_OK;
}

/* Open a wave now and queue its invitations ("send now"); the
 * scheduler's next pass mails them. */
ks_err api_pulse_wave_open(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	if (req->body.len) {
		json_t *body = NULL;
		static const char *const none[] = {NULL};
		ks_err err = api_body_object(req, &body, e);
		if (!err)
			err = api_only_fields(body, none, "", e);
		json_decref(body);
		if (err)
			return err;
	}
	int64_t id = 0;
	ks_err err = store_pulse_wave_open(app->store, clock_now(app->clock), false, req->who.user_id, &id, e);
	if (err)
		return err;
	api_audit(req, "pulse_wave.open", "pulse_wave", id, NULL);
	store_pulse_wave w;
	err = store_pulse_wave_get(app->store, id, &w, e);
	if (err)
		return err;
	json_t *o = api_pulse_wave_json(&w, true);
	json_object_set(o, "questions", w.questions ? w.questions : json_null());
	store_pulse_wave_clear(&w);
	snprintf(req->location, sizeof req->location, "/api/v1/pulse/waves/%lld", (long long)id);
	http_reply_json(req, 201, o);
	return KS_OK;
}

ks_err api_pulse_wave_close(http_req *req, ks_error *e)
{
	int64_t id;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = pulse_wave_close(((api_app *)req->app)->store, id, e);
	if (err)
		return err;
	api_audit(req, "pulse_wave.close", "pulse_wave", id, NULL);
	return api_pulse_wave_get(req, e);
}

/* ---- results -------------------------------------------------------------------- */

/* Which units the reader may see. */
typedef struct api_pulse_scope {
	bool all;
	int64_t home;       /* managers, team leads: their unit and below */
	int64_t team;       /* employees: their team (and the roots) */
} api_pulse_scope;

static ks_err api_pulse_scope_of(http_req *req, api_pulse_scope *sc, ks_error *e)
{
	memset(sc, 0, sizeof *sc);
	const http_principal *w = &req->who;
	if (!w->authenticated || w->role >= AUTH_ROLE_DIRECTOR) {
		sc->all = true;
		return KS_OK;
	}
	if (w->role == AUTH_ROLE_EMPLOYEE) {
		if (w->employee_id)
			store_pulse_employee_team(((api_app *)req->app)->store, w->employee_id, &sc->team, NULL);
		return KS_OK;
	}
	sc->home = w->unit_id;
	if (sc->home == 0)
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "your account is not linked to a team or unit");
	return KS_OK;
}

static bool api_pulse_in_scope(const pulse_result *r, const api_pulse_scope *sc, const pulse_cell *c)
{
	if (sc->all)
		return true;
	if (sc->home)
		return pulse_result_within(r, c->unit_id, sc->home);
	return c->parent_id == 0 || (sc->team && c->unit_id == sc->team);
}

static const char *api_pulse_level_name(int level)
{
	return level == PULSE_LEVEL_ORGANISATION ? "organisation"
	       : level == PULSE_LEVEL_DEPARTMENT ? "department"
						 : "team";
}

/* The customers' NPS of the wave's month per unit, as /metrics would print
 * it (the disclosure layer's canonical table and thresholds): a JSON
 * object {unit id: nps object or null}. */
static json_t *api_pulse_customer_nps(http_req *req, const char *period)
{
	api_app *app = req->app;
	json_t *out = json_object();
	if (app->index == NULL || out == NULL)
		return out;
	an_filter f;
	memset(&f, 0, sizeof f);
	if (tz_period_parse(&app->tz, period, clock_now(app->clock), "period", &f.from, &f.to, NULL, NULL))
		return out;
	dc_policy pol = api_policy(app);
	if (f.to > pol.as_of)
		f.to = pol.as_of;
	if (f.from >= f.to)
		return out;
	f.nps_only = true;
	static const an_dim dims[] = {AN_DIM_TEAM, AN_DIM_DEPARTMENT, AN_DIM_ORGANISATION};
	for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
		dc_reply rep;
		if (dc_query(app->index, &pol, &f, period, &dims[d], 1, &rep, NULL) != KS_OK)
			continue;
		for (size_t g = 0; g < rep.r.n_groups; g++) {
			const an_group *gr = &rep.r.groups[g];
			json_t *m = api_cell_json(&gr->c, &rep.groups[g]);
			json_t *nps = json_object_get(m, "nps");
			char key[24];
			snprintf(key, sizeof key, "%lld", (long long)gr->id[0]);
			json_t *cell = json_pack("{s:I, s:O}", "n", (json_int_t)gr->c.nps_n, "nps",
						 nps ? nps : json_null());
			if (nps == NULL || json_is_null(nps))
				json_object_set_new(cell, "n", json_null());  /* no count where nothing is shown */
			json_object_set_new(out, key, cell);
			json_decref(m);
		}
		dc_reply_free(&rep);
	}
	return out;
}

static json_t *api_pulse_cell_json(const pulse_result *r, const pulse_cell *c, const json_t *questions,
				   const json_t *customer)
{
	char key[24];
	snprintf(key, sizeof key, "%lld", (long long)c->unit_id);
	const json_t *cust = json_object_get(customer, key);
	json_t *o = json_pack("{s:I, s:o, s:s, s:s, s:O}", "unit_id", (json_int_t)c->unit_id, "parent_id",
			      c->parent_id ? json_integer(c->parent_id) : json_null(), "level",
			      api_pulse_level_name(c->level), "name", c->name, "customer_nps",
			      cust ? cust : json_pack("{s:n, s:n}", "n", "nps"));
	if (cust == NULL)
		json_decref(json_object_get(o, "customer_nps")); /* the pack above took a new one */
	if (c->hidden) {
		json_object_set_new(o, "shown", json_false());
		/* which count rule hid it is not said: "fewer than N" for a
		 * secondary cell would tell that it holds N or more. A changed
		 * composition is said: the admin who changed it knows it. */
		json_object_set_new(o, "reason", json_string(c->changed ? "composition_changed"
									 : "too_few_or_protecting"));
		json_object_set_new(o, "respondents", json_null());
		return o;
	}
	if (c->n == 0) {
		json_object_set_new(o, "shown", json_false());
		json_object_set_new(o, "reason", json_string("no_answers"));
		json_object_set_new(o, "respondents", json_integer(0));
		return o;
	}
	pulse_enps en;
	pulse_enps_of(c->promoters, c->detractors, c->n, &en);
	json_t *items = json_array();
	const json_t *qi = json_object_get(questions, "items");
	for (int i = 0; i < r->n_items && i < STORE_PULSE_ITEMS; i++)
		json_array_append_new(items, json_pack("{s:O, s:o}", "text", json_array_get(qi, (size_t)i),
						       "mean", c->item_n[i] ? json_real(api_round((double)c->item_sum[i] / (double)c->item_n[i], 100))
									    : json_null()));
	json_object_set_new(o, "shown", json_true());
	json_object_set_new(o, "respondents", json_integer(c->n));
	json_object_set_new(o, "enps",
			    json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "value", api_round(en.value, 10), "low",
				      api_round(en.low, 10), "high", api_round(en.high, 10), "promoters",
				      api_round((double)c->promoters / (double)c->n, 100), "passives",
				      api_round((double)c->passives / (double)c->n, 100), "detractors",
				      api_round((double)c->detractors / (double)c->n, 100)));
	json_object_set_new(o, "items", items);
	json_object_set_new(o, "comments", json_boolean(c->comments));
	return o;
}

static ks_err api_pulse_one(http_req *req, int64_t wave_id, const api_pulse_scope *sc, int64_t unit_id,
			    json_t **out, ks_error *e)
{
	api_app *app = req->app;
	store_pulse_wave w;
	ks_err err = store_pulse_wave_get(app->store, wave_id, &w, e);
	if (err)
		return err;
	if (strcmp(w.status, "open") == 0) {
		/* nothing of an open wave: its results come when it closes */
		*out = json_pack("{s:o, s:O, s:b, s:o}", "wave", api_pulse_wave_json(&w, api_pulse_admin(req)),
				 "questions", w.questions ? w.questions : json_null(), "available", false, "units",
				 json_array());
		store_pulse_wave_clear(&w);
		return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	pulse_result r;
	err = pulse_result_load(app->store, wave_id, &r, e);
	if (err) {
		store_pulse_wave_clear(&w);
		return err;
	}
	bool roots_shown = true;
	for (size_t i = 0; i < r.n; i++)
		if (r.cells[i].parent_id == 0 && r.cells[i].hidden)
			roots_shown = false;
	json_t *customer = api_pulse_customer_nps(req, w.period);
	json_t *units = json_array();
	for (size_t i = 0; i < r.n; i++) {
		const pulse_cell *c = &r.cells[i];
		if (!api_pulse_in_scope(&r, sc, c) || (unit_id && !pulse_result_within(&r, c->unit_id, unit_id)))
			continue;
		json_array_append_new(units, api_pulse_cell_json(&r, c, w.questions, customer));
	}
	*out = json_pack("{s:o, s:O, s:b, s:i, s:i, s:o}", "wave",
			 api_pulse_wave_json(&w, api_pulse_admin(req) || roots_shown), "questions",
			 w.questions ? w.questions : json_null(), "available", true, "min_group", r.min_group,
			 "min_group_comments", r.min_group_comments, "units", units);
	json_decref(customer);
	pulse_result_free(&r);
	store_pulse_wave_clear(&w);
	return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}

/* unit_id, when given, must be a unit the reader may see. */
static ks_err api_pulse_unit_param(http_req *req, const api_pulse_scope *sc, int64_t *unit_id, ks_error *e)
{
	ks_err err = api_query_id(req, "unit_id", unit_id, e);
	if (err || *unit_id == 0 || sc->all)
		return err;
	pulse_result r = {0};
	store_pulse_unit *units = NULL;
	size_t n = 0;
	/* the tree alone (no wave): units and parents */
	err = store_pulse_units(((api_app *)req->app)->store, &units, &n, e);
	if (err)
		return err;
	r.cells = calloc(n ? n : 1, sizeof *r.cells);
	if (r.cells == NULL) {
		free(units);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	r.n = n;
	for (size_t i = 0; i < n; i++) {
		r.cells[i].unit_id = units[i].id;
		r.cells[i].parent_id = units[i].parent_id;
	}
	free(units);
	const pulse_cell *c = pulse_result_cell(&r, *unit_id);
	bool ok = c && api_pulse_in_scope(&r, sc, c);
	free(r.cells);
	return ok ? KS_OK : ks_fail(e, KS_ERR_FORBIDDEN, "unit_id", "that unit is outside your scope");
}

ks_err api_pulse_results(http_req *req, ks_error *e)
{
	static const char *const params[] = {"wave", "from", "to", "unit_id", NULL};
	api_app *app = req->app;
	api_pulse_scope sc;
	int64_t wave = 0, unit_id = 0;
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_query_id(req, "wave", &wave, e);
	if (!err)
		err = api_pulse_scope_of(req, &sc, e);
	if (!err)
		err = api_pulse_unit_param(req, &sc, &unit_id, e);
	if (err)
		return err;
	if (wave) {
		if (http_query(req, "from") || http_query(req, "to"))
			return ks_fail(e, KS_ERR_INVALID, http_query(req, "from") ? "from" : "to",
				       "give wave or from/to, not both");
		json_t *o = NULL;
		err = api_pulse_one(req, wave, &sc, unit_id, &o, e);
		if (!err)
			http_reply_json(req, 200, o);
		return err;
	}
	const char *from = http_query(req, "from"), *to = http_query(req, "to");
	if (from && !api_pulse_month(from))
		return ks_fail(e, KS_ERR_INVALID, "from", "from must be a month, YYYY-MM");
	if (to && !api_pulse_month(to))
		return ks_fail(e, KS_ERR_INVALID, "to", "to must be a month, YYYY-MM");
	if (from && to && strcmp(from, to) > 0)
		return ks_fail(e, KS_ERR_INVALID, "to", "to must not be before from");
	store_pulse_wave *w = NULL;
	size_t n = 0;
	err = store_pulse_wave_list(app->store, from, to, API_PULSE_RANGE_MAX, &w, &n, e);
	json_t *waves = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = NULL;
		if (!err)
			err = api_pulse_one(req, w[i].id, &sc, unit_id, &o, e);
		if (!err)
			json_array_append_new(waves, o);
		store_pulse_wave_clear(&w[i]);
	}
	free(w);
	if (err) {
		json_decref(waves);
		return err;
	}
	/* one reply per wave: sums over several waves would make new lines
	 * (a range minus a wave) that the suppression does not cover */
	http_reply_json(req, 200, json_pack("{s:o}", "waves", waves));
	return KS_OK;
}

ks_err api_pulse_comments(http_req *req, ks_error *e)
{
	/* unit_id only: nothing that narrows comments down to fewer people */
	static const char *const params[] = {"unit_id", NULL};
	api_app *app = req->app;
	api_pulse_scope sc;
	int64_t wave = 0, unit_id = 0;
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_param_id(req, 0, &wave, e);
	if (!err)
		err = api_pulse_scope_of(req, &sc, e);
	if (!err)
		err = api_pulse_unit_param(req, &sc, &unit_id, e);
	if (!err && unit_id == 0)
		err = ks_fail(e, KS_ERR_INVALID, "unit_id", "unit_id is required");
	if (err)
		return err;
	pulse_result r;
	err = pulse_result_load(app->store, wave, &r, e);
	if (err == KS_ERR_CONFLICT) {
		/* an open wave: no comments until it closes */
		ks_error_clear(e);
		http_reply_json(req, 200,
				json_pack("{s:I, s:I, s:b, s:o}", "wave_id", (json_int_t)wave, "unit_id",
					  (json_int_t)unit_id, "shown", false, "items", json_array()));
		return KS_OK;
	}
	if (err)
		return err;
	const pulse_cell *c = pulse_result_cell(&r, unit_id);
	json_t *items = NULL;
	bool shown = c && c->comments;
	err = pulse_result_comments(app->store, &r, unit_id, &items, e);
	pulse_result_free(&r);
	if (err)
		return err;
	http_reply_json(req, 200,
			json_pack("{s:I, s:I, s:b, s:o}", "wave_id", (json_int_t)wave, "unit_id", (json_int_t)unit_id,
				  "shown", shown, "items", items));
	return KS_OK;
}

/* ---- the answer page ------------------------------------------------------------ */

static const char *api_pulse_lang(http_req *req, const store_pulse_link *l)
{
	const char *q = http_query(req, "lang");
	if (q && (strcmp(q, "en") == 0 || strcmp(q, "nl") == 0))
		return q;
	return l->language[0] ? l->language : "nl";
}

static ks_err api_pulse_html(http_req *req, int status, ks_buf *b, ks_err err)
{
	if (err) {
		buf_free(b);
		return err;
	}
	http_reply_buf(req, status, "text/html; charset=utf-8", b);
	return KS_OK;
}

static ks_err api_pulse_message(http_req *req, int status, const char *lang, pulse_message kind)
{
	ks_buf b;
	buf_init(&b, API_PULSE_PAGE_MAX);
	return api_pulse_html(req, status, &b, pulse_page_message(&b, lang, kind));
}

static ks_err api_pulse_form(http_req *req, int status, const store_pulse_link *l, const pulse_form *f)
{
	api_app *app = req->app;
	store_voice v;
	if (store_voice_get(app->store, &v, false, NULL) != KS_OK)
		memset(&v, 0, sizeof v);
	ks_buf b;
	buf_init(&b, API_PULSE_PAGE_MAX);
	const char *org = v.organisation_name[0] ? v.organisation_name : (app->invite ? app->invite->org_name : "");
	ks_err err = pulse_page_form(&b, l->questions, api_pulse_lang(req, l), req->params[0], org, f);
	store_voice_free(&v);
	return api_pulse_html(req, status, &b, err);
}

/* Resolve the link; on a dead one reply with its page and return false. */
static bool api_pulse_link(http_req *req, store_pulse_link *l, ks_err *err)
{
	api_app *app = req->app;
	*err = KS_OK;
	ks_err rc = store_pulse_link_resolve(app->store, req->params[0], clock_now(app->clock), l, NULL);
	const char *lang = api_pulse_lang(req, l);
	if (rc == KS_ERR_NOTFOUND)
		*err = api_pulse_message(req, 404, lang, PULSE_MSG_NOT_FOUND);
	else if (rc)
		*err = rc;
	else if (l->answered)
		*err = api_pulse_message(req, 409, lang, PULSE_MSG_USED);
	else if (l->closed)
		*err = api_pulse_message(req, 410, lang, PULSE_MSG_CLOSED);
	else
		return true;
	json_decref(l->questions);
	l->questions = NULL;
	return false;
}

ks_err api_pulse_page_get(http_req *req, ks_error *e)
{
	(void)e;
	store_pulse_link l;
	ks_err err;
	if (!api_pulse_link(req, &l, &err))
		return err;
	err = api_pulse_form(req, 200, &l, NULL);
	json_decref(l.questions);
	return err;
}

ks_err api_pulse_page_post(http_req *req, ks_error *e)
{
	(void)e;
	api_app *app = req->app;
	store_pulse_link l;
	ks_err err;
	if (!api_pulse_link(req, &l, &err))
		return err;
	pulse_form *f = malloc(sizeof *f);
	if (f == NULL) {
		json_decref(l.questions);
		return KS_ERR_NOMEM;
	}
	const char *lang = api_pulse_lang(req, &l);
	int n_items = (int)json_array_size(json_object_get(l.questions, "items"));
	if (pulse_form_parse(req->body.data ? req->body.data : "", req->body.len, n_items, f) != KS_OK) {
		err = api_pulse_form(req, 422, &l, f);
	} else {
		ks_err rc = store_pulse_answer_submit(app->store, req->params[0], &f->a, clock_now(app->clock), NULL);
		if (rc == KS_OK)
			err = api_pulse_message(req, 201, lang, PULSE_MSG_THANKS);
		else if (rc == KS_ERR_CONFLICT)
			err = api_pulse_message(req, 409, lang, PULSE_MSG_USED);
		else if (rc == KS_ERR_GONE)
			err = api_pulse_message(req, 410, lang, PULSE_MSG_CLOSED);
		else if (rc == KS_ERR_NOTFOUND)
			err = api_pulse_message(req, 404, lang, PULSE_MSG_NOT_FOUND);
		else
			err = rc;
	}
	free(f);
	json_decref(l.questions);
	return err;
}
