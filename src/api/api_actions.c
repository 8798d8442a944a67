/* api_actions.c — improvement actions (issue 6): from an insight (a
 * touchpoint, a theme from the open answers, or a team) to an action with
 * an owner, dates and a status, and its measured effect on the NPS of the
 * slice it names. See docs/API.md, "Improvement actions".
 *
 * Scope, in one place:
 *  - Directors and admins read and write every action.
 *  - Managers and team leads read the actions whose team lies within
 *    their unit, and the actions without a team; they create and change
 *    actions whose team lies within their unit (an action without a team
 *    is the organisation's: directors and admins write those).
 *  - Employees read their own team's actions; they change nothing (the
 *    route lets only leads and up write).
 * The effect is computed from the analytics index (an_query) and narrowed
 * by api_scope like /metrics: a team lead reading a team-less action on a
 * touchpoint sees that touchpoint's effect within their own unit.
 *
 * Status flow: planned -> in_progress -> done; planned or in_progress ->
 * cancelled; done and cancelled are final. A new action is planned or
 * in_progress.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "api/api.h"

#define API_EFFECT_DEFAULT_DAYS 91  /* 13 weeks */
#define API_EFFECT_MAX_DAYS 728  /* 104 weeks */

/* ---- small helpers --------------------------------------------------------------- */

static json_t *api_act_id_or_null(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

static json_t *api_act_text_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *api_act_iso(int64_t t)
{
	char buf[32];
	clock_format_iso(t, buf, sizeof buf);
	return json_string(buf);
}

static json_t *api_action_json(const store_action *a)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:I, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", (json_int_t)a->id, "title", a->title, "description", a->description,
			 "theme", api_act_text_or_null(a->theme), "owner_id", (json_int_t)a->owner_id,
			 "owner_name", api_act_text_or_null(a->owner_name),
			 "status", a->status, "start_date", a->start_date,
			 "deadline", api_act_text_or_null(a->deadline),
			 "journey_id", api_act_id_or_null(a->journey_id),
			 "touchpoint_id", api_act_id_or_null(a->touchpoint_id),
			 "team_id", api_act_id_or_null(a->team_id),
			 "created_by", api_act_id_or_null(a->created_by),
			 "created_at", api_act_iso(a->created_at), "updated_at", api_act_iso(a->updated_at));
}

/* A calendar date "YYYY-MM-DD" that exists, as unix seconds (midnight UTC). */
static bool api_act_date(const char *v, int64_t *t)
{
	if (strlen(v) != 10 || v[4] != '-' || v[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9'))
			return false;
	if (clock_parse_iso(v, t) != KS_OK)
		return false;
	char back[32];
	clock_format_iso(*t, back, sizeof back);
	return strncmp(back, v, 10) == 0; /* 2026-02-31 does not come back */
}

static bool api_act_status_valid(const char *s)
{
	return strcmp(s, "planned") == 0 || strcmp(s, "in_progress") == 0 || strcmp(s, "done") == 0 ||
	       strcmp(s, "cancelled") == 0;
}

/* The status flow: may an action go from a to b? */
static bool api_act_status_step(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return true;
	if (strcmp(a, "planned") == 0)
		return strcmp(b, "in_progress") == 0 || strcmp(b, "cancelled") == 0;
	if (strcmp(a, "in_progress") == 0)
		return strcmp(b, "done") == 0 || strcmp(b, "cancelled") == 0;
	return false;
}

/* ---- scope ----------------------------------------------------------------------- */

/* The requester's unit: an employee's team, else the account's unit. */
static int64_t api_act_home(http_req *req)
{
	api_app *app = req->app;
	const http_principal *w = &req->who;
	if (w->role == AUTH_ROLE_EMPLOYEE)
		return w->employee_id ? an_employee_team(app->index, w->employee_id) : 0;
	return w->unit_id;
}

static ks_err api_action_readable(http_req *req, const store_action *a, ks_error *e)
{
	api_app *app = req->app;
	const http_principal *w = &req->who;
	if (!w->authenticated || w->role >= AUTH_ROLE_DIRECTOR)
		return KS_OK;
	int64_t home = api_act_home(req);
	if (home == 0)
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "your account is not linked to a team or unit");
	if (a->team_id == 0 && w->role != AUTH_ROLE_EMPLOYEE)
		return KS_OK;
	if (a->team_id && an_unit_within(app->index, a->team_id, home))
		return KS_OK;
	return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "that action is outside your scope");
}

/* May the requester write an action of this team (0 = none)? */
static ks_err api_action_team_writable(http_req *req, int64_t team_id, ks_error *e)
{
	api_app *app = req->app;
	const http_principal *w = &req->who;
	if (!w->authenticated || w->role >= AUTH_ROLE_DIRECTOR)
		return KS_OK;
	if (w->role == AUTH_ROLE_EMPLOYEE)
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "actions are set by team leads and up");
	if (team_id == 0)
		return ks_fail(e, KS_ERR_FORBIDDEN, "team_id",
			       "an action without a team is the organisation's: directors and admins set it");
	if (w->unit_id == 0 || !an_unit_within(app->index, team_id, w->unit_id))
		return ks_fail(e, KS_ERR_FORBIDDEN, "team_id", "that unit is outside your scope");
	return KS_OK;
}

/* ---- the body -------------------------------------------------------------------- */

static ks_err api_act_text(const json_t *o, const char *name, char *out, size_t n, bool nullable,
			   ks_error *e)
{
	const json_t *v = json_object_get(o, name);
	if (v == NULL)
		return KS_OK;
	if (json_is_null(v) && nullable) {
		out[0] = '\0';
		return KS_OK;
	}
	if (!json_is_string(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a string", name);
	if (json_string_length(v) >= n)
		return ks_fail(e, KS_ERR_RANGE, name, "%s must be at most %zu bytes", name, n - 1);
	if (memchr(json_string_value(v), '\0', json_string_length(v)))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must not contain NUL", name);
	snprintf(out, n, "%s", json_string_value(v));
	return KS_OK;
}

static ks_err api_act_id(const json_t *o, const char *name, int64_t *id, ks_error *e)
{
	if (json_object_get(o, name) == NULL)
		return KS_OK; /* keep */
	return api_json_id(o, name, id, e);
}

/* Apply the members of o to a (a new action's defaults or the stored row),
 * then check the whole: required fields, dates, an insight to act on. */
static ks_err api_action_from_json(const json_t *o, store_action *a, ks_error *e)
{
	static const char *const fields[] = {"title", "description", "theme", "owner_id", "status",
					     "start_date", "deadline", "journey_id", "touchpoint_id",
					     "team_id", NULL};
	ks_err err = api_only_fields(o, fields, "", e);
	if (!err)
		err = api_act_text(o, "title", a->title, sizeof a->title, false, e);
	if (!err)
		err = api_act_text(o, "description", a->description, sizeof a->description, true, e);
	if (!err)
		err = api_act_text(o, "theme", a->theme, sizeof a->theme, true, e);
	if (!err)
		err = api_act_text(o, "status", a->status, sizeof a->status, false, e);
	if (!err)
		err = api_act_text(o, "start_date", a->start_date, sizeof a->start_date, false, e);
	if (!err)
		err = api_act_text(o, "deadline", a->deadline, sizeof a->deadline, true, e);
	if (!err)
		err = api_act_id(o, "owner_id", &a->owner_id, e);
	if (!err)
		err = api_act_id(o, "journey_id", &a->journey_id, e);
	if (!err)
		err = api_act_id(o, "touchpoint_id", &a->touchpoint_id, e);
	if (!err)
		err = api_act_id(o, "team_id", &a->team_id, e);
	if (err)
		return err;
	bool blank = true;
	for (const char *p = a->title; *p && blank; p++)
		blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
	if (blank)
		return ks_fail(e, KS_ERR_INVALID, "title", "title is required");
	if (a->owner_id == 0)
		return ks_fail(e, KS_ERR_INVALID, "owner_id", "owner_id (a user id) is required");
	if (!api_act_status_valid(a->status))
		return ks_fail(e, KS_ERR_INVALID, "status", "status must be planned, in_progress, done or cancelled");
	int64_t start = 0, deadline = 0;
	if (!api_act_date(a->start_date, &start))
		return ks_fail(e, KS_ERR_INVALID, "start_date", "start_date must be a date YYYY-MM-DD");
	if (a->deadline[0] && !api_act_date(a->deadline, &deadline))
		return ks_fail(e, KS_ERR_INVALID, "deadline", "deadline must be a date YYYY-MM-DD or null");
	if (a->deadline[0] && deadline < start)
		return ks_fail(e, KS_ERR_RANGE, "deadline", "deadline must not be before start_date");
	if (a->touchpoint_id == 0 && a->team_id == 0 && a->journey_id == 0 && a->theme[0] == '\0')
		return ks_fail(e, KS_ERR_INVALID, "touchpoint_id",
			       "an action starts from an insight: give touchpoint_id, team_id, journey_id or theme");
	return KS_OK;
}

/* ---- CRUD ------------------------------------------------------------------------ */

ks_err api_action_create(http_req *req, ks_error *e);
ks_err api_action_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_action *a = calloc(1, sizeof *a);
	if (a == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	snprintf(a->status, sizeof a->status, "planned");
	json_t *o = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_action_from_json(o, a, e);
	json_decref(o);
	if (!err && strcmp(a->status, "planned") != 0 && strcmp(a->status, "in_progress") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "status", "a new action is planned or in_progress");
	if (!err)
		err = api_action_team_writable(req, a->team_id, e);
	a->created_by = req->who.user_id;
	if (!err)
		err = store_action_create(app->store, a, e);
	if (!err)
		http_reply_json(req, 201, api_action_json(a));
	if (!err)
		api_audit(req, "action.create", "action", a->id, json_pack("{s:s}", "status", a->status));
	free(a);
	return err;
}

ks_err api_action_get(http_req *req, ks_error *e);
ks_err api_action_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	store_action *a = calloc(1, sizeof *a);
	if (a == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_action_get(app->store, id, a, e);
	if (!err)
		err = api_action_readable(req, a, e);
	if (!err)
		http_reply_json(req, 200, api_action_json(a));
	free(a);
	return err;
}

ks_err api_action_update(http_req *req, ks_error *e);
ks_err api_action_update(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	store_action *a = calloc(1, sizeof *a);
	if (a == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	char old_status[16] = "";
	json_t *o = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_action_get(app->store, id, a, e);
	if (!err)
		err = api_action_readable(req, a, e);
	if (!err)
		err = api_action_team_writable(req, a->team_id, e);
	if (!err) {
		snprintf(old_status, sizeof old_status, "%s", a->status);
		err = api_body_object(req, &o, e);
	}
	if (!err)
		err = api_action_from_json(o, a, e);
	json_decref(o);
	if (!err && !api_act_status_step(old_status, a->status))
		err = ks_fail(e, KS_ERR_INVALID, "status", "status cannot go from %s to %s", old_status,
			      a->status);
	if (!err)
		err = api_action_team_writable(req, a->team_id, e);
	if (!err)
		err = store_action_update(app->store, a, old_status, e);
	if (!err)
		http_reply_json(req, 200, api_action_json(a));
	if (!err)
		api_audit(req, "action.update", "action", a->id, json_pack("{s:s, s:s}", "from", old_status, "status", a->status));
	free(a);
	return err;
}

ks_err api_action_list(http_req *req, ks_error *e);
ks_err api_action_list(http_req *req, ks_error *e)
{
	static const char *const params[] = {"status", "team_id", "touchpoint_id", "journey_id",
					     "owner_id", "limit", "cursor", NULL};
	api_app *app = req->app;
	const http_principal *w = &req->who;
	store_action_query q;
	store_list_query page;
	memset(&q, 0, sizeof q);
	ks_err err = api_query_only(req, api_name_in, (void *)params, e);
	if (!err)
		err = api_query_id(req, "team_id", &q.team_id, e);
	if (!err)
		err = api_query_id(req, "touchpoint_id", &q.touchpoint_id, e);
	if (!err)
		err = api_query_id(req, "journey_id", &q.journey_id, e);
	if (!err)
		err = api_query_id(req, "owner_id", &q.owner_id, e);
	q.status = http_query(req, "status");
	if (!err && q.status && !api_act_status_valid(q.status))
		err = ks_fail(e, KS_ERR_INVALID, "status", "status must be planned, in_progress, done or cancelled");
	if (!err)
		err = api_page(req, &page, e);
	if (!err && w->authenticated && w->role < AUTH_ROLE_DIRECTOR) {
		q.scope_unit = api_act_home(req);
		q.scope_teamless = w->role != AUTH_ROLE_EMPLOYEE;
		if (q.scope_unit == 0)
			err = ks_fail(e, KS_ERR_FORBIDDEN, NULL, "your account is not linked to a team or unit");
		else if (q.team_id && !an_unit_within(app->index, q.team_id, q.scope_unit))
			err = ks_fail(e, KS_ERR_FORBIDDEN, "team_id", "that unit is outside your scope");
	}
	store_action *rows = NULL;
	size_t n = 0;
	bool more = false;
	if (!err) {
		q.after_id = page.after_id;
		q.limit = page.limit;
		err = store_action_list(app->store, &q, &rows, &n, &more, e);
	}
	if (err)
		return err;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, api_action_json(&rows[i]));
	json_t *next = more && n > 0 ? json_integer(rows[n - 1].id) : json_null();
	free(rows);
	http_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
	return KS_OK;
}

/* ---- GET /api/v1/actions/{id}/effect ----------------------------------------------- */

/* The counts of a slice in [from, to) (zero when empty), with its
 * visibility: the per-measure minimum n of a group, or of a person when
 * the answers come from one employee (src/disclose). */
static ks_err api_act_count(api_app *app, const an_filter *base, int64_t from, int64_t to,
			    metrics_counts *c, dc_vis *v, ks_error *e)
{
	memset(c, 0, sizeof *c);
	memset(v, 0, sizeof *v);
	v->min_n = app->min_n;
	if (to <= from)
		return KS_OK;
	an_filter f = *base;
	f.from = from;
	f.to = to;
	dc_policy pol = api_policy(app);
	dc_reply d;
	ks_err err = dc_query(app->index, &pol, &f, NULL, NULL, 0, &d, e);
	if (err)
		return err;
	*c = d.r.total;
	*v = d.total;
	dc_reply_free(&d);
	return KS_OK;
}

static void api_act_sub(metrics_counts *a, const metrics_counts *b)
{
	int64_t *x = &a->n;
	const int64_t *y = &b->n;
	for (size_t i = 0; i < sizeof *a / sizeof(int64_t); i++)
		x[i] = x[i] > y[i] ? x[i] - y[i] : 0;
}

/* Four windows of one comparison: the unit before and after, and the rest
 * of the organisation (everything outside the unit's slice) before and
 * after. */
typedef struct api_did {
	int64_t from, mid, to;
	metrics_counts ub, ua, cb, ca;
	dc_vis vub, vua;
	metrics_change chg;   /* the unit's own change after - before */
	metrics_change did;   /* the same against the rest of the organisation */
} api_did;

static ks_err api_did_run(api_app *app, const an_filter *unit, int64_t from, int64_t mid, int64_t to,
			  api_did *d, ks_error *e)
{
	memset(d, 0, sizeof *d);
	d->from = from;
	d->mid = mid;
	d->to = to;
	an_filter all;
	memset(&all, 0, sizeof all);
	all.nps_only = true;
	dc_vis vb, va;
	ks_err err = api_act_count(app, unit, from, mid, &d->ub, &d->vub, e);
	if (!err)
		err = api_act_count(app, unit, mid, to, &d->ua, &d->vua, e);
	if (!err)
		err = api_act_count(app, &all, from, mid, &d->cb, &vb, e);
	if (!err)
		err = api_act_count(app, &all, mid, to, &d->ca, &va, e);
	if (err)
		return err;
	api_act_sub(&d->cb, &d->ub);
	api_act_sub(&d->ca, &d->ua);
	int64_t min_n = d->vub.min_n > d->vua.min_n ? d->vub.min_n : d->vua.min_n;
	metrics_compare_nps(&d->ub, &d->ua, min_n, &d->chg);
	metrics_did_nps(&d->ub, &d->ua, &d->cb, &d->ca, min_n, &d->did);
	/* No change figure beside a hidden side: it would give the side away. */
	if (!d->vub.show.nps || !d->vua.show.nps) {
		metrics_change_suppress(&d->chg);
		metrics_change_suppress(&d->did);
	}
	return KS_OK;
}

static json_t *api_did_window(const api_app *app, const metrics_counts *c, const dc_vis *v, int64_t from,
			      int64_t to)
{
	json_t *o = api_cell_json(c, v);
	char buf[40];
	tz_format_local(&app->tz, from, buf, sizeof buf);
	json_object_set_new(o, "from", json_string(buf));
	tz_format_local(&app->tz, to, buf, sizeof buf);
	json_object_set_new(o, "to", json_string(buf));
	return o;
}

/* {before, after, nps_change, vs_rest: {did, ...}} of one comparison. */
static json_t *api_did_json(const api_app *app, const api_did *d)
{
	json_t *o = json_object();
	json_object_set_new(o, "before", api_did_window(app, &d->ub, &d->vub, d->from, d->mid));
	json_object_set_new(o, "after", api_did_window(app, &d->ua, &d->vua, d->mid, d->to));
	json_object_set_new(o, "nps_change", metrics_change_json(&d->chg));
	json_object_set_new(o, "vs_rest", metrics_change_json(&d->did));
	return o;
}

ks_err api_action_effect(http_req *req, ks_error *e);
ks_err api_action_effect(http_req *req, ks_error *e)
{
	static const char *const params[] = {"window_days", NULL};
	api_app *app = req->app;
	int64_t id = 0, days = API_EFFECT_DEFAULT_DAYS;
	store_action *a = calloc(1, sizeof *a);
	if (a == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_query_only(req, api_name_in, (void *)params, e);
	const char *wd = http_query(req, "window_days");
	if (!err && wd) {
		char *end = NULL;
		long v = strtol(wd, &end, 10);
		/* Whole weeks: windows that differ by a day or two would let
		 * two requests be subtracted into a day's answers. */
		if (*wd == '\0' || *end != '\0' || v < 7 || v > API_EFFECT_MAX_DAYS || v % 7 != 0)
			err = ks_fail(e, KS_ERR_RANGE, "window_days", "window_days must be whole weeks, 7..%d",
				      API_EFFECT_MAX_DAYS);
		else
			days = v;
	}
	if (!err)
		err = store_action_get(app->store, id, a, e);
	if (!err)
		err = api_action_readable(req, a, e);
	an_filter f;
	memset(&f, 0, sizeof f);
	f.nps_only = true;
	f.team_id = a->team_id;
	f.touchpoint_id = a->touchpoint_id;
	f.journey_id = a->touchpoint_id ? 0 : a->journey_id;
	if (!err && f.team_id == 0 && f.touchpoint_id == 0 && f.journey_id == 0)
		err = ks_fail(e, KS_ERR_INVALID, "touchpoint_id",
			      "the action names no touchpoint, journey or team to measure");
	int64_t scope_emp = 0;
	if (!err)
		err = api_scope(req, &f.team_id, &scope_emp, false, e);
	json_t *out = NULL;
	if (!err)
		err = api_action_effect_of(app, a, &f, days, &out, e);
	free(a);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* issue 17 (D, digests): the effect's figures of an action over a scoped
 * slice f, apart from the request, so a digest tells the same as the route. */
ks_err api_action_effect_of(api_app *app, const store_action *a, const an_filter *fs, int64_t days,
			    json_t **res, ks_error *e)
{
	an_filter f = *fs;
	ks_err err = KS_OK;
	/* Windows of whole local days: after = [start, start + days) cut at the
	 * start of today, before = as many days just before. */
	int64_t start = 0;
	if (!err && tz_parse_time(&app->tz, a->start_date, "start_date", &start, NULL) != KS_OK)
		err = ks_fail(e, KS_ERR_INTERNAL, "start_date", "stored start_date %s is malformed", a->start_date);
	dc_policy pol = api_policy(app);
	int64_t day0 = tz_local_day(&app->tz, start);
	int64_t today = tz_local_day(&app->tz, pol.as_of);
	int64_t len = today - day0 < days ? today - day0 : days;
	if (len < 0)
		len = 0;
	api_did now, season, placebo;
	/* Now; the same calendar windows a year earlier (the season without the
	 * action); and a placebo: the same test one window earlier, where no
	 * action was, which should find nothing. */
	if (!err)
		err = api_did_run(app, &f, tz_day_start(&app->tz, day0 - len), tz_day_start(&app->tz, day0),
				  tz_day_start(&app->tz, day0 + len), &now, e);
	if (!err)
		err = api_did_run(app, &f, tz_day_start(&app->tz, day0 - len - 364),
				  tz_day_start(&app->tz, day0 - 364), tz_day_start(&app->tz, day0 + len - 364),
				  &season, e);
	if (!err)
		err = api_did_run(app, &f, tz_day_start(&app->tz, day0 - 2 * len), tz_day_start(&app->tz, day0 - len),
				  tz_day_start(&app->tz, day0), &placebo, e);
	if (err)
		return err;
	json_t *slice = json_pack("{s:o, s:o, s:o}", "touchpoint_id", api_act_id_or_null(f.touchpoint_id),
				  "journey_id", api_act_id_or_null(f.journey_id), "team_id",
				  api_act_id_or_null(f.team_id));
	json_t *out = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:o, s:s}", "action_id", (json_int_t)a->id,
				"status", a->status, "start_date", a->start_date, "window_days", (json_int_t)days,
				"days_measured", (json_int_t)len, "min_n", (json_int_t)app->min_n, "slice", slice,
				"interpretation",
				"associated with: the change of the slice against the rest of the organisation "
				"in the same windows (difference in differences); not proof that the action caused it");
	json_t *nj = api_did_json(app, &now);
	/* The figures of the current windows stay at the top level, as before. */
	json_object_set(out, "before", json_object_get(nj, "before"));
	json_object_set(out, "after", json_object_get(nj, "after"));
	json_object_set(out, "nps_change", json_object_get(nj, "nps_change"));
	json_object_set(out, "vs_rest", json_object_get(nj, "vs_rest"));
	json_decref(nj);
	json_object_set_new(out, "season", api_did_json(app, &season));
	json_object_set_new(out, "placebo", api_did_json(app, &placebo));
	*res = out;
	return KS_OK;
}
