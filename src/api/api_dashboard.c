/* api_dashboard.c — the dashboards: the verbatim explorer, the Walls of
 * Fame and Shame, team goals with their progress, team settings, and the
 * personal dashboard (GET /api/v1/me/dashboard). See docs/API.md,
 * "Dashboards".
 *
 * Coaching, not judging (shared/DOMAIN.md). The scope rules, in one place:
 *  - Directors and admins see every unit.
 *  - Managers and team leads see their own unit and everything below it
 *    (walls, goals, settings, verbatims) and may set goals there.
 *  - Employees see their own team's walls, goals and settings, and in the
 *    verbatim explorer only the open answers about themselves. On their
 *    team's Wall of Shame a colleague's name is left out (the team learns
 *    from the slip, not who slipped); their own name stays.
 *  - Colleagues' individual scores reach an employee only when the team
 *    agreed to share them (team setting share_colleague_scores, off by
 *    default), and then only within the team (api_scope).
 *  - Only the team lead of the team itself, a director or an admin
 *    changes what the team shares.
 *  - What a reader sees of an open answer about someone else is the
 *    organisation's setting verbatim_detail (exact, band — the default —
 *    or anonymous; set by an admin, GET|PUT /api/v1/settings), applied to
 *    every route that prints open answers by api_verbatim_detail. The
 *    answers about the reader themselves are always shown exactly.
 * Numbers come from the analytics index (an_query) and follow the
 * minimum-n rule of /metrics: 5 for a group, 10 for one person.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>  /* the logo's base64 (issue 13) */

#include "analytics/analytics.h"
#include "api/api.h"

#define API_WALL_DEFAULT 20
#define API_WALL_MAX 50
#define API_ME_VERBATIMS 10
#define API_ME_MONTHS 12

/* ---- small helpers ------------------------------------------------------------ */

static json_t *api_iso_or_null(int64_t t)
{
	if (t == 0)
		return json_null();
	char buf[32];
	clock_format_iso(t, buf, sizeof buf);
	return json_string(buf);
}

/* The unit {id, name}; KS_ERR_NOTFOUND when it does not exist. */
static ks_err api_unit_ref(api_app *app, int64_t id, json_t **out, ks_error *e)
{
	json_t *row = NULL;
	ks_err err = store_entity_get(app->store, model_entity_find("teams"), id, &row, e);
	if (err)
		return err;
	*out = json_pack("{s:I, s:O}", "id", (json_int_t)id, "name", json_object_get(row, "name"));
	json_decref(row);
	return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}

/* ---- scope ---------------------------------------------------------------------- */

/* May the requester read a unit's walls, goals and settings? Directors and
 * admins: any unit; managers and team leads: their unit and below;
 * employees: their own team (api_scope's rules for a team filter). */
static ks_err api_unit_readable(http_req *req, int64_t unit, ks_error *e)
{
	int64_t team = unit, employee = 0;
	return api_scope(req, &team, &employee, false, e);
}

/* May the requester set a unit's goals? The team lead of that unit, a
 * manager above it, a director or an admin (the route lets only those
 * roles in; api_scope keeps leads and managers to their subtree). */
static ks_err api_goal_writable(http_req *req, int64_t unit, ks_error *e)
{
	if (req->who.authenticated && req->who.role == AUTH_ROLE_EMPLOYEE)
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "team goals are set by the team lead");
	return api_unit_readable(req, unit, e);
}

/* May the requester change what a team shares? Only the team lead of that
 * very team, a director or an admin: a manager above it does not decide
 * for the team. */
static ks_err api_settings_writable(http_req *req, int64_t team, ks_error *e)
{
	const http_principal *w = &req->who;
	if (!w->authenticated || w->role >= AUTH_ROLE_DIRECTOR)
		return KS_OK;
	if (w->role == AUTH_ROLE_TEAM_LEAD && w->unit_id == team)
		return KS_OK;
	return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "only the team's own team lead changes what the team shares");
}

/* ---- periods ------------------------------------------------------------------------ */

static bool api_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A goal period: "YYYY", "YYYY-Qn" or "YYYY-MM" (2000..2099, like event
 * times). Its bounds are local (tz_period_parse, when the goal is read). */
static bool api_goal_period(const char *v)
{
	size_t n = strlen(v);
	if (n < 4 || !api_digits(v, 4))
		return false;
	int y = atoi(v);
	if (y < 2000 || y > 2099)
		return false;
	int m0 = 1, months = 12;
	if (n == 4) {
		/* the whole year */
	} else if (n == 7 && v[4] == '-' && v[5] == 'Q' && v[6] >= '1' && v[6] <= '4') {
		m0 = (v[6] - '1') * 3 + 1;
		months = 3;
	} else if (n == 7 && v[4] == '-' && api_digits(v + 5, 2)) {
		m0 = (v[5] - '0') * 10 + (v[6] - '0');
		months = 1;
		if (m0 < 1 || m0 > 12)
			return false;
	} else {
		return false;
	}
	return months > 0;
}

/* ---- what a reader sees of an open answer ------------------------------------------------ */

/* The organisation's verbatim_detail (the default, band, without a stored row). */
ks_err api_detail_get(http_req *req, store_verbatim_detail *d, ks_error *e)
{
	api_app *app = req->app;
	store_org_settings o;
	ks_err err = store_org_settings_get(app->store, &o, e);
	*d = err ? STORE_DETAIL_BAND : o.verbatim_detail;
	return err;
}

/* Is the item about the reader (their own employee record)? */
static bool api_item_is_own(const http_principal *w, const json_t *item)
{
	const json_t *emp = json_object_get(item, "employee");
	return w->authenticated && w->employee_id != 0 && json_is_object(emp) &&
	       json_integer_value(json_object_get(emp, "id")) == w->employee_id;
}

/* The one place the setting is applied: every route that prints open
 * answers (the explorer, the walls, the personal dashboard) passes its
 * items through here. The reader's own answers stay exact. Any other
 * item — about a colleague, or tied to no one — keeps its text, band,
 * team and touchpoint; "band" removes the members nps and grade,
 * "anonymous" removes employee as well (its id included). */
void api_verbatim_detail(http_req *req, store_verbatim_detail d, json_t *items)
{
	if (d == STORE_DETAIL_EXACT)
		return;
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		if (api_item_is_own(&req->who, it))
			continue;
		json_object_del(it, "nps");
		json_object_del(it, "grade");
		if (d == STORE_DETAIL_ANONYMOUS)
			json_object_del(it, "employee");
	}
}

/* ---- GET /api/v1/verbatims ------------------------------------------------------------ */

static ks_err api_band_param(http_req *req, store_band *band, ks_error *e)
{
	const char *v = http_query(req, "band");
	*band = STORE_BAND_ANY;
	if (v == NULL)
		return KS_OK;
	if (strcmp(v, "promoter") == 0)
		*band = STORE_BAND_PROMOTER;
	else if (strcmp(v, "passive") == 0)
		*band = STORE_BAND_PASSIVE;
	else if (strcmp(v, "detractor") == 0)
		*band = STORE_BAND_DETRACTOR;
	else
		return ks_fail(e, KS_ERR_INVALID, "band", "band must be promoter, passive or detractor");
	return KS_OK;
}

/* Scope of the verbatim explorer: an employee reads only the answers
 * about themselves (whatever the team shares: a colleague's verbatims are
 * never shown); everyone else within api_scope (leads and managers their
 * subtree, by default all of it). */
ks_err api_verbatim_scope(http_req *req, int64_t *team_id, int64_t *employee_id, ks_error *e)
{
	const http_principal *w = &req->who;
	if (w->authenticated && w->role == AUTH_ROLE_EMPLOYEE) {
		if (*employee_id && *employee_id != w->employee_id)
			return ks_fail(e, KS_ERR_FORBIDDEN, "employee_id",
				       "you see the open answers about yourself, not a colleague's");
		*employee_id = w->employee_id;
	}
	return api_scope(req, team_id, employee_id, false, e);
}

/* text (issue 14): theme= a theme id of the taxonomy in use, sentiment=
 * negative | neutral | positive; 422 naming the parameter otherwise. */
static ks_err api_verbatim_text_filters(http_req *req, store_verbatim_query *q, ks_error *e)
{
	const char *s = http_query(req, "sentiment");
	if (s && strcmp(s, "negative") && strcmp(s, "neutral") && strcmp(s, "positive"))
		return ks_fail(e, KS_ERR_INVALID, "sentiment", "sentiment must be negative, neutral or positive");
	q->sentiment = s;
	const char *t = http_query(req, "theme");
	if (t == NULL)
		return KS_OK;
	json_t *tax = NULL;
	bool found = false;
	if (api_text_taxonomy(req->app, &tax) == KS_OK) {
		size_t i;
		json_t *th;
		json_array_foreach(json_object_get(tax, "themes"), i, th) {
			const char *id = json_string_value(json_object_get(th, "id"));
			found |= id && strcmp(id, t) == 0;
		}
	}
	json_decref(tax);
	/* A theme the taxonomy no longer has still names answers until they are
	 * reanalysed, and /themes lists it (by its id) meanwhile: the explorer
	 * takes it as long as a stored analysis does. */
	api_app *app = req->app;
	ks_err err = found ? KS_OK : store_text_theme_in_use(app->store, t, &found, e);
	if (err)
		return err;
	if (!found)
		return ks_fail(e, KS_ERR_INVALID, "theme", "theme must be the id of a theme of the taxonomy");
	q->theme = t;
	return KS_OK;
}

/* issue 16 H3: ?source= survey (the default) | mentions | all | one
 * mention source ([a-z0-9_.-]{1,32}). Employees see no mentions (as on
 * GET /api/v1/mentions): another source is a 403 for them. */
static ks_err api_verbatim_source(http_req *req, store_verbatim_query *q, ks_error *e)
{
	const char *v = http_query(req, "source");
	if (v == NULL || strcmp(v, "survey") == 0)
		return KS_OK;
	size_t n = strlen(v);
	bool ok = n >= 1 && n <= 32;
	for (size_t i = 0; ok && i < n; i++)
		ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '.' || v[i] == '-';
	if (!ok)
		return ks_fail(e, KS_ERR_INVALID, "source", "source must be survey, mentions, all or a mention source");
	if (req->who.role == AUTH_ROLE_EMPLOYEE)
		return ks_fail(e, KS_ERR_FORBIDDEN, "source", "reviews and posts are for team leads and up");
	q->source = strcmp(v, "all") == 0 ? STORE_VSRC_ALL : STORE_VSRC_MENTIONS;
	q->mention_source = q->source == STORE_VSRC_MENTIONS && strcmp(v, "mentions") != 0 ? v : NULL;
	return KS_OK;
}

/* issue 16 H7: the merged list's page: ?limit= and ?cursor= as
 * next_cursor gave it ("T.a.ID" / "T.m.ID", store_verbatim_cursor). */
static ks_err api_verbatim_all_page(http_req *req, store_verbatim_query *q, store_list_query *page, ks_error *e)
{
	memset(page, 0, sizeof *page);
	ks_err err = api_page_limit(req, &page->limit, e);
	const char *cur = http_query(req, "cursor");
	if (!err && cur && !store_verbatim_cursor_parse(cur, &q->after))
		err = ks_fail(e, KS_ERR_INVALID, "cursor",
			      "cursor must be a next_cursor of this list, as given (e.g. \"1772445600.a.42\")");
	return err;
}

ks_err api_verbatims(http_req *req, ks_error *e);
ks_err api_verbatims(http_req *req, ks_error *e)
{
	static const char *const params[] = {"q", "band", "team_id", "employee_id", "touchpoint_id",
					     "language", "from", "to", "limit", "cursor", "theme", "sentiment",
					     "source" /* issue 16 H3 */, NULL};
	api_app *app = req->app;
	store_verbatim_query q;
	store_list_query page;
	memset(&q, 0, sizeof q);
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_query_id(req, "team_id", &q.team_id, e);
	if (!err)
		err = api_query_id(req, "employee_id", &q.employee_id, e);
	if (!err)
		err = api_query_id(req, "touchpoint_id", &q.touchpoint_id, e);
	if (!err)
		err = api_band_param(req, &q.band, e);
	const char *lang = http_query(req, "language");
	if (!err && lang && !model_language_valid(lang))
		err = ks_fail(e, KS_ERR_INVALID, "language", "language must be nl or en");
	if (!err && lang)
		snprintf(q.language, sizeof q.language, "%s", lang);
	if (!err)
		err = api_time_range(req, &q.from, &q.to, e);
	if (!err)
		err = api_verbatim_text_filters(req, &q, e); /* text (issue 14) */
	if (!err)
		err = api_verbatim_source(req, &q, e); /* issue 16 H3 */
	q.with_analysis = true;
	if (!err && q.source == STORE_VSRC_ALL) /* issue 16 H7: an opaque cursor */
		err = api_verbatim_all_page(req, &q, &page, e);
	else if (!err)
		err = api_page(req, &page, e);
	if (!err)
		err = api_verbatim_scope(req, &q.team_id, &q.employee_id, e);
	store_verbatim_detail detail = STORE_DETAIL_BAND;
	if (!err)
		err = api_detail_get(req, &detail, e);
	/* Anonymous answers stay anonymous: a filter on a person would say
	 * whom they are about. */
	if (!err && detail == STORE_DETAIL_ANONYMOUS && q.employee_id && q.employee_id != req->who.employee_id)
		err = ks_fail(e, KS_ERR_FORBIDDEN, "employee_id",
			      "the organisation shows open answers without the employee (verbatim_detail anonymous)");
	json_t *out = NULL;
	if (!err) {
		q.q = http_query(req, "q");
		q.before_id = page.after_id; /* newest first: the cursor is an upper bound */
		q.limit = page.limit;
		err = store_verbatim_search(app->store, &q, &out, e);
	}
	if (err)
		return err;
	if (q.source == STORE_VSRC_SURVEY) { /* issue 16 H3: every explorer item names its source */
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(out, "items"), i, it)
			json_object_set_new(it, "source", json_string("survey"));
	}
	api_verbatim_detail(req, detail, json_object_get(out, "items"));
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- GET /api/v1/teams/{id}/wall ---------------------------------------------------------- */

/* On the Wall of Shame an employee sees their own name, not a colleague's. */
static void api_wall_hide_names(http_req *req, json_t *items)
{
	const http_principal *w = &req->who;
	if (!w->authenticated || w->role != AUTH_ROLE_EMPLOYEE)
		return;
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		json_t *emp = json_object_get(it, "employee");
		if (json_is_object(emp) && json_integer_value(json_object_get(emp, "id")) != w->employee_id)
			json_object_set_new(it, "employee", json_null());
	}
}

ks_err api_team_wall(http_req *req, ks_error *e);
ks_err api_team_wall(http_req *req, ks_error *e)
{
	static const char *const params[] = {"kind", "limit", "period", NULL};
	api_app *app = req->app;
	int64_t unit = 0, from = 0, to = 0;
	int limit = API_WALL_DEFAULT;
	ks_err err = api_param_id(req, 0, &unit, e);
	if (!err)
		err = api_only_params(req, params, e);
	const char *kind = http_query(req, "kind");
	if (!err && (kind == NULL || (strcmp(kind, "fame") != 0 && strcmp(kind, "shame") != 0)))
		err = ks_fail(e, KS_ERR_INVALID, "kind", "kind must be fame or shame");
	const char *lim = http_query(req, "limit");
	if (!err && lim) {
		char *end = NULL;
		long v = strtol(lim, &end, 10);
		if (*lim == '\0' || *end != '\0' || v < 1 || v > API_WALL_MAX)
			err = ks_fail(e, KS_ERR_RANGE, "limit", "limit must be 1..%d", API_WALL_MAX);
		else
			limit = (int)v;
	}
	/* issue 13: the page's period (a whole month, quarter or year) */
	const char *period = http_query(req, "period");
	if (!err && period && period[0]) {
		if (!api_goal_period(period))
			err = ks_fail(e, KS_ERR_INVALID, "period", "period must be YYYY, YYYY-Qn or YYYY-MM");
		else {
			tz_period_kind pk;
			err = tz_period_parse(&app->tz, period, clock_now(app->clock), "period", &from, &to, &pk, e);
		}
	}
	if (!err)
		err = api_unit_readable(req, unit, e);
	json_t *team = NULL, *items = NULL;
	if (!err)
		err = api_unit_ref(app, unit, &team, e);
	bool fame = !err && strcmp(kind, "fame") == 0;
	store_verbatim_detail detail = STORE_DETAIL_BAND;
	if (!err)
		err = api_detail_get(req, &detail, e);
	if (!err)
		err = store_wall(app->store, unit, fame, from, to, limit, &items, e);
	if (err) {
		json_decref(team);
		return err;
	}
	api_verbatim_detail(req, detail, items);
	if (!fame)
		api_wall_hide_names(req, items);
	http_reply_json(req, 200, json_pack("{s:s, s:o, s:o}", "kind", kind, "team", team, "items", items));
	return KS_OK;
}

/* A slice of the dashboard through disclosure control: the window's
 * period (the current year) and its grammar, counted as of today. */
static ks_err api_dash_query(api_app *app, const an_filter *base, const api_window *w, const an_dim *dims,
			     int n_dims, dc_reply *out, ks_error *e)
{
	an_filter f = *base;
	dc_policy pol = api_policy(app);
	ks_err err = api_window_guard(app, &f, w, dims, n_dims, "group_by", e);
	return err ? err : dc_query(app->index, &pol, &f, api_window_period(w), dims, n_dims, out, e);
}

/* ---- goals --------------------------------------------------------------------------------- */

/* The period just before a goal's period, of the same length: "2026-Q1"
 * -> "2025-Q4", "2026-03" -> "2026-02", "2026" -> "2025". */
static void api_prev_period(const char *p, char *out, size_t n)
{
	int y = atoi(p);
	size_t len = strlen(p);
	if (len == 4) {
		snprintf(out, n, "%04d", (y - 1) % 10000);
	} else if (p[5] == 'Q') {
		int q = p[6] - '0';
		snprintf(out, n, "%04d-Q%d", (q == 1 ? y - 1 : y) % 10000, q == 1 ? 4 : q - 1);
	} else {
		/* Unsigned and in range, so the release build's format check
		 * sees at most "9999-12". */
		int m = atoi(p + 5);
		bool jan = m < 2 || m > 12;
		unsigned prev_y = (unsigned)(jan ? y - 1 : y) % 10000u;
		unsigned prev_m = jan ? 12u : (unsigned)m - 1u;
		snprintf(out, n, "%04u-%02u", prev_y, prev_m);
	}
}

/* A unit's figure of one metric over one whole period through disclosure
 * control: {"period","n","min_n","value","low","high"} (value, low, high
 * null below the minimum n or when hidden); *d keeps the counts for the
 * status (free with dc_reply_free). */
static ks_err api_goal_figure(api_app *app, int64_t team_id, const char *period, bool nps, dc_reply *d,
			      json_t **out, ks_error *e)
{
	an_filter f;
	memset(&f, 0, sizeof f);
	f.team_id = team_id;
	api_window w;
	memset(&w, 0, sizeof w);
	snprintf(w.label, sizeof w.label, "%s", period);
	if (tz_period_parse(&app->tz, period, clock_now(app->clock), "period", &w.from, &w.to, &w.kind, NULL))
		return ks_fail(e, KS_ERR_INTERNAL, "period", "goal period %s is malformed", period);
	ks_err err = api_dash_query(app, &f, &w, NULL, 0, d, e);
	if (err)
		return err;
	json_t *m = api_cell_json(&d->r.total, &d->total);
	json_t *block = json_object_get(m, nps ? "nps" : "grade");
	json_t *val = json_object_get(block, nps ? "value" : "mean");
	*out = json_pack("{s:s, s:I, s:I, s:O, s:O, s:O}", "period", period, "n", (json_int_t)d->r.total.n,
			 "min_n", (json_int_t)d->total.min_n, "value", val ? val : json_null(), "low",
			 val ? json_object_get(block, "low") : json_null(), "high",
			 val ? json_object_get(block, "high") : json_null());
	json_decref(m);
	return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}

/* A goal with its progress: the team's actual figure for the period,
 * through disclosure control (value is the number /metrics shows), and
 * the status on the exact value with its interval: reached, likely, too
 * close to call, not reached (metrics_goal_nps / metrics_goal_grade). */
ks_err api_goal_json(api_app *app, const store_goal *g, json_t **out, ks_error *e) /* api.h: digests (issue 17) */
{
	bool nps = strcmp(g->metric, "nps") == 0;
	dc_reply d, b;
	json_t *actual = NULL, *baseline = NULL;
	ks_err err = api_goal_figure(app, g->team_id, g->period, nps, &d, &actual, e);
	if (err)
		return err;
	metrics_goal_status st = METRICS_GOAL_UNKNOWN;
	if (!json_is_null(json_object_get(actual, "value")))
		st = nps ? metrics_goal_nps(&d.r.total, g->target, d.total.min_n)
			 : metrics_goal_grade(&d.r.total, g->target, d.total.min_n);
	dc_reply_free(&d);
	json_object_del(actual, "period"); /* the goal's own: said once, above */
	/* the baseline: where the team stood the period before, so progress
	 * runs from there to the target (not from the scale's end) */
	char prev[16];
	api_prev_period(g->period, prev, sizeof prev);
	err = api_goal_figure(app, g->team_id, prev, nps, &b, &baseline, e);
	if (err) {
		json_decref(actual);
		return err;
	}
	dc_reply_free(&b);
	*out = json_pack("{s:I, s:s, s:s, s:f, s:o, s:o, s:s, s:s, s:o, s:o}", "team_id", (json_int_t)g->team_id,
			 "period", g->period, "metric", g->metric, "target", g->target, "actual", actual,
			 "baseline", baseline, "status", metrics_goal_name(st), "progress",
			 metrics_goal_name(st), "set_by", g->set_by ? json_integer(g->set_by) : json_null(),
			 "updated_at", api_iso_or_null(g->updated_at));
	return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}

ks_err api_team_goals(http_req *req, ks_error *e);
ks_err api_team_goals(http_req *req, ks_error *e)
{
	static const char *const params[] = {NULL};
	api_app *app = req->app;
	int64_t unit = 0;
	ks_err err = api_param_id(req, 0, &unit, e);
	if (!err)
		err = api_only_params(req, params, e);
	if (!err)
		err = api_unit_readable(req, unit, e);
	json_t *team = NULL;
	if (!err)
		err = api_unit_ref(app, unit, &team, e);
	store_goal *goals = NULL;
	size_t n = 0;
	if (!err)
		err = store_goal_list(app->store, unit, &goals, &n, e);
	json_t *items = json_array();
	for (size_t i = 0; !err && i < n; i++) {
		json_t *g = NULL;
		err = api_goal_json(app, &goals[i], &g, e);
		if (!err)
			json_array_append_new(items, g);
	}
	free(goals);
	if (err) {
		json_decref(team);
		json_decref(items);
		return err;
	}
	http_reply_json(req, 200, json_pack("{s:o, s:o}", "team", team, "items", items));
	return KS_OK;
}

/* A number as a person types it in a form: "7,5" (a decimal comma, as in
 * Dutch) or "7.5", an optional sign, at most one separator, digits on
 * both sides of it; nothing else (no spaces, no thousands separators, no
 * exponent). */
static bool api_decimal(const char *s, double *out)
{
	char buf[32];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof buf)
		return false;
	int seps = 0, digits = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (ch >= '0' && ch <= '9') {
			digits++;
			buf[i] = ch;
		} else if ((ch == ',' || ch == '.') && seps == 0 && i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9' &&
			   i + 1 < n) {
			seps++;
			buf[i] = '.';
		} else if ((ch == '-' || ch == '+') && i == 0) {
			buf[i] = ch;
		} else {
			return false;
		}
	}
	buf[n] = '\0';
	if (digits == 0)
		return false;
	char *end = NULL;
	*out = strtod(buf, &end);
	return end && *end == '\0';
}

static ks_err api_goal_from_json(const json_t *o, store_goal *g, ks_error *e)
{
	static const char *const fields[] = {"period", "metric", "target", NULL};
	ks_err err = api_only_fields(o, fields, "", e);
	if (err)
		return err;
	const json_t *p = json_object_get(o, "period"), *m = json_object_get(o, "metric"),
		     *t = json_object_get(o, "target");
	if (!json_is_string(p) || !api_goal_period(json_string_value(p)))
		return ks_fail(e, KS_ERR_INVALID, "period", "period must be YYYY, YYYY-Qn or YYYY-MM (2000..2099)");
	if (!json_is_string(m) || (strcmp(json_string_value(m), "nps") != 0 &&
				   strcmp(json_string_value(m), "grade") != 0))
		return ks_fail(e, KS_ERR_INVALID, "metric", "metric must be nps or grade");
	double v = 0;
	if (json_is_number(t))
		v = json_number_value(t);
	else if (!json_is_string(t) || !api_decimal(json_string_value(t), &v))
		return ks_fail(e, KS_ERR_INVALID, "target", "target must be a number (7.5 or 7,5)");
	bool nps = strcmp(json_string_value(m), "nps") == 0;
	if (nps ? !(v >= -100.0 && v <= 100.0) : !(v >= 1.0 && v <= 10.0))
		return ks_fail(e, KS_ERR_RANGE, "target", "target must be %s", nps ? "-100..100 for nps" : "1..10 for grade");
	snprintf(g->period, sizeof g->period, "%s", json_string_value(p));
	snprintf(g->metric, sizeof g->metric, "%s", json_string_value(m));
	g->target = v;
	return KS_OK;
}

ks_err api_team_goal_put(http_req *req, ks_error *e);
ks_err api_team_goal_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_goal g;
	memset(&g, 0, sizeof g);
	json_t *o = NULL;
	ks_err err = api_param_id(req, 0, &g.team_id, e);
	if (!err)
		err = api_goal_writable(req, g.team_id, e);
	if (!err)
		err = api_body_object(req, &o, e);
	if (!err)
		err = api_goal_from_json(o, &g, e);
	json_decref(o);
	g.set_by = req->who.user_id;
	if (!err)
		err = store_goal_put(app->store, &g, e);
	if (err == KS_ERR_NOTFOUND && e)
		e->field[0] = '\0'; /* the unit of the path: a plain 404 */
	json_t *out = NULL;
	if (!err)
		err = api_goal_json(app, &g, &out, e);
	if (err)
		return err;
	api_audit(req, "goal.set", "team", g.team_id, json_pack("{s:s, s:s, s:f}", "period", g.period, "metric", g.metric, "target", g.target));
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- team settings ---------------------------------------------------------------------------- */

static json_t *api_settings_json(const store_team_settings *t)
{
	return json_pack("{s:I, s:b, s:o}", "team_id", (json_int_t)t->team_id, "share_colleague_scores",
			 t->share_colleague_scores, "updated_at", api_iso_or_null(t->updated_at));
}

ks_err api_team_settings_get(http_req *req, ks_error *e);
ks_err api_team_settings_get(http_req *req, ks_error *e)
{
	static const char *const params[] = {NULL};
	api_app *app = req->app;
	int64_t unit = 0;
	store_team_settings t;
	ks_err err = api_param_id(req, 0, &unit, e);
	if (!err)
		err = api_only_params(req, params, e);
	if (!err)
		err = api_unit_readable(req, unit, e);
	if (!err)
		err = store_team_settings_get(app->store, unit, &t, e);
	if (err)
		return err;
	http_reply_json(req, 200, api_settings_json(&t));
	return KS_OK;
}

ks_err api_team_settings_put(http_req *req, ks_error *e);
ks_err api_team_settings_put(http_req *req, ks_error *e)
{
	static const char *const fields[] = {"share_colleague_scores", NULL};
	api_app *app = req->app;
	store_team_settings t;
	memset(&t, 0, sizeof t);
	json_t *o = NULL;
	ks_err err = api_param_id(req, 0, &t.team_id, e);
	if (!err)
		err = api_settings_writable(req, t.team_id, e);
	if (!err)
		err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, fields, "", e);
	const json_t *share = o ? json_object_get(o, "share_colleague_scores") : NULL;
	if (!err && !json_is_boolean(share))
		err = ks_fail(e, KS_ERR_INVALID, "share_colleague_scores", "share_colleague_scores must be true or false");
	if (!err)
		t.share_colleague_scores = json_is_true(share);
	json_decref(o);
	if (!err)
		err = store_team_settings_put(app->store, &t, e);
	if (err)
		return err;
	api_audit(req, "team_settings.update", "team", t.team_id, json_pack("{s:b}", "share_colleague_scores", t.share_colleague_scores));
	http_reply_json(req, 200, api_settings_json(&t));
	return KS_OK;
}

/* ---- GET /api/v1/me/dashboard ------------------------------------------------------------------ */

/* Metrics of one slice over the window. */
static ks_err api_slice(api_app *app, const an_filter *f, const api_window *w, json_t **out, ks_error *e)
{
	dc_reply d;
	ks_err err = api_dash_query(app, f, w, NULL, 0, &d, e);
	if (err)
		return err;
	*out = api_cell_json(&d.r.total, &d.total);
	dc_reply_free(&d);
	return KS_OK;
}

/* Monthly points of a slice over the last API_ME_MONTHS months, like
 * /metrics/trend without the change tests. The months are read from all
 * time, so each month is the same cell as in any other reply. */
static ks_err api_slice_trend(api_app *app, const an_filter *f, const char *first_month, json_t **out,
			      ks_error *e)
{
	an_dim d = AN_DIM_MONTH;
	api_window all;
	memset(&all, 0, sizeof all);
	dc_reply r;
	ks_err err = api_dash_query(app, f, &all, &d, 1, &r, e);
	if (err)
		return err;
	json_t *points = json_array();
	for (size_t g = 0; g < r.r.n_groups; g++) {
		if (strcmp(r.r.groups[g].key[0], first_month) < 0)
			continue;
		json_t *pt = api_cell_json(&r.r.groups[g].c, &r.groups[g]);
		json_object_set_new(pt, "period", json_string(r.r.groups[g].key[0]));
		json_array_append_new(points, pt);
	}
	dc_reply_free(&r);
	*out = points;
	return KS_OK;
}

/* Per-employee metrics of a team (names in alphabetical order: no ranking). */
static ks_err api_colleagues(api_app *app, const an_filter *f, const api_window *w, json_t **out, ks_error *e)
{
	an_dim d = AN_DIM_EMPLOYEE;
	dc_reply r;
	ks_err err = api_dash_query(app, f, w, &d, 1, &r, e);
	if (err)
		return err;
	json_t *rows = json_array();
	for (size_t g = 0; g < r.r.n_groups; g++) {
		if (r.r.groups[g].id[0] == 0)
			continue; /* answers tied to no one */
		json_t *row = api_cell_json(&r.r.groups[g].c, &r.groups[g]);
		json_object_set_new(row, "employee", json_pack("{s:I, s:s}", "id", (json_int_t)r.r.groups[g].id[0],
								"name", r.r.groups[g].key[0]));
		json_array_append_new(rows, row);
	}
	dc_reply_free(&r);
	*out = rows;
	return KS_OK;
}

/* The user's team: an employee's own team; for other roles their unit,
 * else the team of their employee record; 0 when none. */
static int64_t api_home_unit(http_req *req)
{
	api_app *app = req->app;
	const http_principal *w = &req->who;
	int64_t emp_team = w->employee_id ? an_employee_team(app->index, w->employee_id) : 0;
	if (w->role == AUTH_ROLE_EMPLOYEE)
		return emp_team;
	return w->unit_id ? w->unit_id : emp_team;
}

/* The dashboard's window: the current local year (a whole period, so its
 * figures are the same cells as in every other reply), and the first of
 * the last API_ME_MONTHS local months for the trends. */
static ks_err api_me_window(const api_app *app, api_window *w, char first_month[16], ks_error *e)
{
	int64_t now = clock_now(app->clock);
	int y, m, d, hh, mi, ss;
	tz_civil(&app->tz, now, &y, &m, &d, &hh, &mi, &ss);
	memset(w, 0, sizeof *w);
	snprintf(w->label, sizeof w->label, "%04d", y);
	int m0 = m - (API_ME_MONTHS - 1), y0 = y;
	while (m0 < 1) {
		m0 += 12;
		y0--;
	}
	snprintf(first_month, 16, "%04d-%02d", y0 % 10000, m0 % 100);
	return tz_period_parse(&app->tz, w->label, now, "period", &w->from, &w->to, &w->kind, e);
}

static ks_err api_my_verbatims(api_app *app, int64_t employee_id, store_band band, json_t **out,
			       ks_error *e)
{
	if (employee_id == 0) {
		*out = json_array();
		return KS_OK;
	}
	store_verbatim_query q;
	memset(&q, 0, sizeof q);
	q.employee_id = employee_id;
	q.band = band;
	q.limit = API_ME_VERBATIMS;
	json_t *res = NULL;
	ks_err err = store_verbatim_search(app->store, &q, &res, e);
	if (err)
		return err;
	*out = json_incref(json_object_get(res, "items"));
	json_decref(res);
	return KS_OK;
}

/* "me" and "me_trend": one person's scores, under the minimum n for a
 * person; null without an employee record. */
static ks_err api_me_part(http_req *req, const api_window *w, const char *first_month, json_t *out,
			  ks_error *e)
{
	api_app *app = req->app;
	int64_t employee_id = req->who.employee_id;
	json_t *me = NULL, *trend = NULL;
	ks_err err = KS_OK;
	if (employee_id) {
		an_filter f;
		memset(&f, 0, sizeof f);
		f.employee_id = employee_id;
		err = api_slice(app, &f, w, &me, e);
		if (!err)
			err = api_slice_trend(app, &f, first_month, &trend, e);
	}
	json_object_set_new(out, "me", me ? me : json_null());
	json_object_set_new(out, "me_trend", trend ? trend : json_null());
	return err;
}

/* "team", "team_trend", "colleagues_shared", "colleagues": the user's
 * team under the group minimum n; colleagues' scores only as the team
 * agreed, and only where api_scope lets this user group by employee. */
static ks_err api_team_part(http_req *req, const api_window *w, const char *first_month, json_t *out,
			    ks_error *e)
{
	api_app *app = req->app;
	int64_t home = api_home_unit(req);
	json_t *team = NULL, *trend = NULL, *colleagues = NULL;
	bool shared = false;
	ks_err err = KS_OK;
	if (home) {
		an_filter f;
		memset(&f, 0, sizeof f);
		f.team_id = home;
		json_t *ref = NULL;
		store_team_settings ts;
		err = api_unit_ref(app, home, &ref, e);
		if (!err)
			err = api_slice(app, &f, w, &team, e);
		if (!err) {
			json_object_set(team, "id", json_object_get(ref, "id"));
			json_object_set(team, "name", json_object_get(ref, "name"));
		}
		json_decref(ref);
		if (!err)
			err = api_slice_trend(app, &f, first_month, &trend, e);
		if (!err)
			err = store_team_settings_get(app->store, home, &ts, e);
		int64_t scope_team = home, scope_emp = 0;
		shared = !err && ts.share_colleague_scores &&
			 api_scope(req, &scope_team, &scope_emp, true, NULL) == KS_OK;
		if (shared)
			err = api_colleagues(app, &f, w, &colleagues, e);
	}
	json_object_set_new(out, "team", team ? team : json_null());
	json_object_set_new(out, "team_trend", trend ? trend : json_null());
	json_object_set_new(out, "colleagues_shared", json_boolean(shared && colleagues));
	json_object_set_new(out, "colleagues", colleagues ? colleagues : json_null());
	return err;
}

/* The window of ?period=: one whole local month, quarter or year (as
 * every figure about people, docs/PRIVACY.md); "" = all time. */
static ks_err api_me_period(http_req *req, api_window *w, ks_error *e)
{
	api_window p;
	ks_err err = api_window_parse(req, "", &p, e);
	if (err)
		return err;
	if (api_window_period(&p) == NULL)
		return ks_fail(e, KS_ERR_INVALID, "period",
			       "period must be a whole month, quarter or year (YYYY-MM, YYYY-Qn, YYYY)");
	*w = p;
	return KS_OK;
}

ks_err api_me_dashboard(http_req *req, ks_error *e);
ks_err api_me_dashboard(http_req *req, ks_error *e)
{
	static const char *const params[] = {"period", NULL};
	api_app *app = req->app;
	const http_principal *w = &req->who;
	ks_err err = api_only_params(req, params, e);
	if (err)
		return err;
	api_window window;
	char first_month[16];
	err = api_me_window(app, &window, first_month, e);
	/* another whole month, quarter or year (issue 13); the trend stays the
	 * last 12 months. api_dash_query refuses any other window (422 period). */
	if (!err && http_query(req, "period"))
		err = api_me_period(req, &window, e);
	if (err)
		return err;
	dc_policy pol = api_policy(app);
	int64_t to = window.to < pol.as_of ? window.to : pol.as_of;
	char from_s[40], to_s[40];
	tz_format_local(&app->tz, window.from, from_s, sizeof from_s);
	tz_format_local(&app->tz, to, to_s, sizeof to_s);
	json_t *out = json_object();
	json_object_set_new(out, "user", json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:s}", "id",
						  (json_int_t)w->user_id, "email", w->email, "name", w->name,
						  "role", auth_role_name(w->role), "employee_id",
						  w->employee_id ? json_integer(w->employee_id) : json_null(),
						  "unit_id", w->unit_id ? json_integer(w->unit_id) : json_null(),
						  "language", w->language));
	/* "to" is the "as of": people's figures stop at the start of today. */
	json_object_set_new(out, "window", json_pack("{s:s, s:s, s:s, s:s, s:s}", "period", window.label, "from",
						    from_s, "to", to_s, "trend_from", first_month,
						    "time_zone", app->tz.name));
	err = api_me_part(req, &window, first_month, out, e);
	if (!err)
		err = api_team_part(req, &window, first_month, out, e);
	/* my latest open answers, and the compliments among them */
	json_t *mine = NULL, *compliments = NULL;
	store_verbatim_detail detail = STORE_DETAIL_BAND;
	if (!err)
		err = api_detail_get(req, &detail, e);
	if (!err)
		err = api_my_verbatims(app, w->employee_id, STORE_BAND_ANY, &mine, e);
	if (!err)
		err = api_my_verbatims(app, w->employee_id, STORE_BAND_PROMOTER, &compliments, e);
	/* the user's own answers: exact whatever the setting, through the same door */
	api_verbatim_detail(req, detail, mine);
	api_verbatim_detail(req, detail, compliments);
	json_object_set_new(out, "verbatims", mine ? mine : json_array());
	json_object_set_new(out, "compliments", compliments ? compliments : json_array());
	/* what the team lead complimented (issue 13) */
	json_t *received = NULL;
	if (!err && w->employee_id)
		err = store_compliment_list(app->store, w->employee_id, API_ME_VERBATIMS, &received, e);
	json_object_set_new(out, "compliments_received", received ? received : json_array());
	if (err) {
		json_decref(out);
		return err;
	}
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- coaching: POST /api/v1/responses/{id}/compliment (issue 13) ---------------------------------- */

#define API_COMPLIMENT_NOTE_MAX 500

/* Unicode code points of UTF-8 text (jansson has checked it). */
static size_t api_code_points(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* The optional body: {"note": "..."} (at most 500 characters). */
static ks_err api_compliment_note(http_req *req, char *note, size_t n, ks_error *e)
{
	static const char *const fields[] = {"note", NULL};
	note[0] = '\0';
	if (req->body.len == 0)
		return KS_OK;
	json_t *o = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, fields, "", e);
	const json_t *v = o ? json_object_get(o, "note") : NULL;
	if (!err && v && !json_is_null(v)) {
		if (!json_is_string(v))
			err = ks_fail(e, KS_ERR_INVALID, "note", "note must be text");
		else if (json_string_length(v) >= n || api_code_points(json_string_value(v)) > API_COMPLIMENT_NOTE_MAX)
			err = ks_fail(e, KS_ERR_RANGE, "note", "note holds at most %d characters", API_COMPLIMENT_NOTE_MAX);
		else
			snprintf(note, n, "%s", json_string_value(v));
	}
	json_decref(o);
	return err;
}

/* A compliment goes on a Wall of Fame item (an open answer with NPS 9-10)
 * tied to an employee in the sender's scope: a team lead or manager for
 * the people of their unit, directors and admins for anyone (the route
 * lets only those roles in; employees never). */
ks_err api_compliment_create(http_req *req, ks_error *e);
ks_err api_compliment_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t response_id = 0, employee_id = 0, team_id = 0;
	int nps = -1;
	bool has_text = false;
	char note[API_COMPLIMENT_NOTE_MAX * 4 + 1];
	ks_err err = api_param_id(req, 0, &response_id, e);
	/* Under verbatim_detail anonymous nobody learns whom an answer is
	 * about; a compliment (and its reply, its 403) would say it. */
	store_verbatim_detail detail = STORE_DETAIL_BAND;
	if (!err)
		err = api_detail_get(req, &detail, e);
	if (!err && detail == STORE_DETAIL_ANONYMOUS)
		err = ks_fail(e, KS_ERR_FORBIDDEN, "response_id",
			      "the organisation shows open answers without the employee (verbatim_detail anonymous)");
	if (!err)
		err = store_compliment_target(app->store, response_id, &employee_id, &team_id, &nps, &has_text, e);
	if (!err && employee_id == 0)
		err = ks_fail(e, KS_ERR_INVALID, "response_id", "this answer is tied to no employee");
	/* scope first: out of scope is a 403 whatever the answer is */
	int64_t scope_team = 0, scope_emp = employee_id;
	if (!err)
		err = api_scope(req, &scope_team, &scope_emp, false, e);
	if (!err && (nps < 9 || !has_text))
		err = ks_fail(e, KS_ERR_INVALID, "response_id",
			      "a compliment goes on a Wall of Fame item (an open answer with NPS 9 or 10)");
	if (!err)
		err = api_compliment_note(req, note, sizeof note, e);
	json_t *out = NULL;
	if (!err)
		err = store_compliment_create(app->store, response_id, employee_id, req->who.user_id, note,
					      clock_now(app->clock), &out, e);
	if (err)
		return err;
	json_object_set_new(out, "employee_id", json_integer(employee_id));
	api_audit(req, "compliment.create", "response", response_id, json_pack("{s:I}", "employee_id", (json_int_t)employee_id));
	http_reply_json(req, 201, out);
	return KS_OK;
}

/* ---- coaching: GET /api/v1/employees/{id}/drivers (issue 13) ------------------------------------- */

/* Driver ratings (aspects) are not in the analytics index nor in the
 * canonical tables of src/disclose, so a person's figure per aspect keeps
 * its own rule, strict enough that no combination of replies reveals
 * fewer than API_PERSON_MIN ratings: every reply is a union of whole local
 * months, and an aspect is shown for a period only when each month of it
 * that has ratings has at least API_PERSON_MIN of them. Any difference of
 * two shown figures is then a sum of whole months that are each showable
 * themselves. Aspect figures of a team are not published anywhere, so
 * there is nothing across people to subtract either. */
#define API_PERSON_MIN 10
#define API_DRIVERS_MAX 64

typedef struct api_aspect {
	const char *name;
	int64_t n, sum;
	bool thin_month;          /* a month with 1..API_PERSON_MIN-1 ratings */
} api_aspect;

/* Walk one aspect's ratings (ordered by time) month by month. */
static void api_aspect_scan(const api_app *app, const store_driver_score *d, size_t n, api_aspect *a)
{
	int cur = -1, in_month = 0;
	for (size_t i = 0; i < n; i++) {
		int y, mo, dd, hh, mi, ss;
		tz_civil(&app->tz, d[i].at, &y, &mo, &dd, &hh, &mi, &ss);
		int key = y * 12 + mo;
		if (key != cur) {
			if (in_month > 0 && in_month < API_PERSON_MIN)
				a->thin_month = true;
			cur = key;
			in_month = 0;
		}
		in_month++;
		a->n++;
		a->sum += d[i].score;
	}
	if (in_month > 0 && in_month < API_PERSON_MIN)
		a->thin_month = true;
}

static json_t *api_aspect_json(const api_aspect *a)
{
	if (a->n < API_PERSON_MIN || a->thin_month)
		return json_pack("{s:s, s:I, s:b, s:s}", "aspect", a->name, "n", (json_int_t)a->n, "insufficient", 1,
				 "reason", a->n < API_PERSON_MIN ? "min_n" : "thin_month");
	/* the one rounding rule: half away from zero, once, two decimals */
	int64_t scaled = metrics_round_ratio_scaled(a->sum, a->n, 2);
	return json_pack("{s:s, s:I, s:b, s:f}", "aspect", a->name, "n", (json_int_t)a->n, "insufficient", 0, "mean",
			 (double)scaled / 100.0);
}

ks_err api_employee_drivers(http_req *req, ks_error *e);
ks_err api_employee_drivers(http_req *req, ks_error *e)
{
	static const char *const params[] = {"period", NULL};
	api_app *app = req->app;
	int64_t id = 0, from = 0, to = 0;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_only_params(req, params, e);
	const char *period = http_query(req, "period");
	if (!err && period && period[0]) {
		tz_period_kind pk;
		if (!api_goal_period(period))
			err = ks_fail(e, KS_ERR_INVALID, "period", "period must be a whole month, quarter or year (YYYY-MM, YYYY-Qn, YYYY)");
		else
			err = tz_period_parse(&app->tz, period, clock_now(app->clock), "period", &from, &to, &pk, e);
	}
	/* the same scope as /metrics?employee_id: a lead's unit, one's own */
	int64_t scope_team = 0, scope_emp = id;
	if (!err)
		err = api_scope(req, &scope_team, &scope_emp, false, e);
	/* as every figure about people: answers up to the start of today */
	dc_policy pol = api_policy(app);
	if (to == 0 || to > pol.as_of)
		to = pol.as_of;
	store_driver_score *d = NULL;
	size_t n = 0;
	if (!err)
		err = store_employee_drivers(app->store, id, from, to, &d, &n, e);
	if (err)
		return err;
	json_t *aspects = json_array();
	for (size_t i = 0, count = 0; i < n && count < API_DRIVERS_MAX; count++) {
		size_t j = i;
		while (j < n && strcmp(d[j].aspect, d[i].aspect) == 0)
			j++;
		api_aspect a = {.name = d[i].aspect};
		api_aspect_scan(app, d + i, j - i, &a);
		json_array_append_new(aspects, api_aspect_json(&a));
		i = j;
	}
	free(d);
	http_reply_json(req, 200, json_pack("{s:I, s:o, s:I, s:o}", "employee_id", (json_int_t)id, "period",
					    period && period[0] ? json_string(period) : json_null(), "min_n",
					    (json_int_t)API_PERSON_MIN, "aspects", aspects));
	return KS_OK;
}

/* ---- organisation settings: GET|PUT /api/v1/settings ----------------------------------------- */

/* The later of the two rows' times (issue 13: the voice has its own row). */
static int64_t api_settings_updated(const store_org_settings *o, const store_voice *v)
{
	return o->updated_at > v->updated_at ? o->updated_at : v->updated_at;
}

static json_t *api_org_settings_json(const store_org_settings *o, const store_voice *v)
{
	return json_pack("{s:s, s:o, s:s, s:s, s:o}", "verbatim_detail",
			 store_verbatim_detail_name(o->verbatim_detail), "updated_at",
			 api_iso_or_null(api_settings_updated(o, v)),
			 "form_of_address", v->formal ? "u" : "je",
			 "organisation_name", v->organisation_name,
			 "logo_url", v->logo || v->logo_len ? json_string("/logo") : json_null());
}

/* Every role may read it: everyone may know what others see of them. */
ks_err api_org_settings_get(http_req *req, ks_error *e);
ks_err api_org_settings_get(http_req *req, ks_error *e)
{
	static const char *const params[] = {NULL};
	api_app *app = req->app;
	store_org_settings o;
	store_voice v;
	memset(&v, 0, sizeof v);
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = store_org_settings_get(app->store, &o, e);
	if (!err)
		err = store_voice_get(app->store, &v, false, e);
	if (!err)
		http_reply_json(req, 200, api_org_settings_json(&o, &v));
	store_voice_free(&v);
	return err;
}

/* The logo (issue 13): a data: URL of a PNG, JPEG or GIF of at most
 * STORE_LOGO_MAX bytes, its type checked by its first bytes (a type that
 * says PNG over an SVG or HTML body is refused: no markup ever reaches a
 * customer's page through an <img>); null removes it. */
static ks_err api_settings_logo(const json_t *l, store_voice *v, ks_error *e)
{
	static const struct { const char *type, *magic; size_t n; } kinds[] = {
		{"image/png", "\x89PNG\r\n\x1a\n", 8}, {"image/jpeg", "\xff\xd8\xff", 3},
		{"image/gif", "GIF8", 4}};
	store_voice_free(v);
	v->logo_type[0] = '\0';
	if (json_is_null(l))
		return KS_OK;
	const char *s = json_is_string(l) ? json_string_value(l) : NULL;
	const char *comma = s && strncmp(s, "data:", 5) == 0 ? strstr(s, ";base64,") : NULL;
	if (comma == NULL)
		return ks_fail(e, KS_ERR_INVALID, "logo", "logo must be a data: URL (data:image/png;base64,...) or null");
	size_t k = 0, type_len = (size_t)(comma - s - 5);
	while (k < 3 && !(strlen(kinds[k].type) == type_len && strncmp(s + 5, kinds[k].type, type_len) == 0))
		k++;
	if (k == 3)
		return ks_fail(e, KS_ERR_INVALID, "logo", "logo must be a PNG, JPEG or GIF image");
	const char *b64 = comma + 8;
	size_t b64_len = strlen(b64);
	if (b64_len > (STORE_LOGO_MAX / 3 + 1) * 4)
		return ks_fail(e, KS_ERR_RANGE, "logo", "logo is larger than %d bytes", STORE_LOGO_MAX);
	v->logo = malloc(b64_len / 4 * 3 + 3);
	if (v->logo == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (sodium_base642bin(v->logo, b64_len / 4 * 3 + 3, b64, b64_len, NULL, &v->logo_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return ks_fail(e, KS_ERR_INVALID, "logo", "logo is not valid base64");
	if (v->logo_len > STORE_LOGO_MAX)
		return ks_fail(e, KS_ERR_RANGE, "logo", "logo is larger than %d bytes", STORE_LOGO_MAX);
	if (v->logo_len < kinds[k].n || memcmp(v->logo, kinds[k].magic, kinds[k].n) != 0)
		return ks_fail(e, KS_ERR_INVALID, "logo", "logo is not a %s image", kinds[k].type);
	snprintf(v->logo_type, sizeof v->logo_type, "%s", kinds[k].type);
	return KS_OK;
}

/* The organisation's voice (issue 13): form_of_address, organisation_name, logo. */
static ks_err api_settings_voice(const json_t *o, store_voice *v, bool *changed, ks_error *e)
{
	const json_t *f = json_object_get(o, "form_of_address");
	const json_t *n = json_object_get(o, "organisation_name");
	const json_t *l = json_object_get(o, "logo");
	*changed = f || n || l;
	if (f) {
		const char *fs = json_is_string(f) ? json_string_value(f) : "";
		if (strcmp(fs, "je") != 0 && strcmp(fs, "u") != 0)
			return ks_fail(e, KS_ERR_INVALID, "form_of_address", "form_of_address must be je or u");
		v->formal = strcmp(fs, "u") == 0;
	}
	if (n) {
		if (!json_is_string(n))
			return ks_fail(e, KS_ERR_INVALID, "organisation_name", "organisation_name must be text");
		if (json_string_length(n) >= sizeof v->organisation_name)
			return ks_fail(e, KS_ERR_RANGE, "organisation_name",
				       "organisation_name holds at most %zu bytes", sizeof v->organisation_name - 1);
		snprintf(v->organisation_name, sizeof v->organisation_name, "%s", json_string_value(n));
	}
	return l ? api_settings_logo(l, v, e) : KS_OK;
}

static ks_err api_org_settings_from_json(const json_t *o, store_org_settings *out, bool *changed,
					 ks_error *e)
{
	static const char *const fields[] = {"verbatim_detail", "form_of_address", "organisation_name",
					      "logo", NULL};
	ks_err err = api_only_fields(o, fields, "", e);
	if (err)
		return err;
	const json_t *d = json_object_get(o, "verbatim_detail");
	*changed = d != NULL;
	/* a PUT names at least one setting; any it leaves out stays as it was */
	if (d == NULL && (json_object_get(o, "form_of_address") || json_object_get(o, "organisation_name") ||
			  json_object_get(o, "logo")))
		return KS_OK;
	if (!json_is_string(d) || !store_verbatim_detail_parse(json_string_value(d), &out->verbatim_detail))
		return ks_fail(e, KS_ERR_INVALID, "verbatim_detail", "verbatim_detail must be exact, band or anonymous");
	return KS_OK;
}

/* Admins only (the route): the works council decides, an admin records it. */
ks_err api_org_settings_put(http_req *req, ks_error *e);
ks_err api_org_settings_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_org_settings o;
	store_voice v;
	memset(&o, 0, sizeof o);
	memset(&v, 0, sizeof v);
	json_t *body = NULL;
	bool detail_changed = false, voice_changed = false;
	ks_err err = api_body_object(req, &body, e);
	if (!err)
		err = store_org_settings_get(app->store, &o, e);
	if (!err)
		err = store_voice_get(app->store, &v, true, e);  /* the row is written whole */
	if (!err)
		err = api_org_settings_from_json(body, &o, &detail_changed, e);
	if (!err)
		err = api_settings_voice(body, &v, &voice_changed, e);
	json_decref(body);
	o.updated_by = req->who.user_id;
	v.updated_by = req->who.user_id;
	if (!err && detail_changed)
		err = store_org_settings_put(app->store, &o, e);
	if (!err && voice_changed)
		err = store_voice_put(app->store, &v, clock_now(app->clock), e);
	if (!err) {
		/* The audit entry names the settings this PUT touched, with their new
		 * value; a logo is recorded by its size, not its bytes. */
		json_t *d = json_object();
		if (detail_changed)
			json_object_set_new(d, "verbatim_detail",
					    json_string(store_verbatim_detail_name(o.verbatim_detail)));
		if (voice_changed) {
			json_object_set_new(d, "form_of_address", json_string(v.formal ? "u" : "je"));
			json_object_set_new(d, "organisation_name", json_string(v.organisation_name));
			json_object_set_new(d, "logo_bytes", json_integer((json_int_t)v.logo_len));
		}
		api_audit(req, "settings.update", "settings", 0, d);
		http_reply_json(req, 200, api_org_settings_json(&o, &v));
	}
	store_voice_free(&v);
	return err;
}
