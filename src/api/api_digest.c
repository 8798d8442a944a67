/* api_digest.c — scheduled digests per role by mail (issue 17, part D).
 *
 * Weekly to employees and team leads (the last whole ISO week), monthly to
 * managers and directors (the last whole month), on the organisation's
 * clock. The scheduler's pass calls api_digest_hook: for every role that
 * is on and whose day and hour have come, the period is queued once
 * (store_digest_queue: one row per user and period, UNIQUE), then every due
 * row is claimed, composed and sent like any outbox mail. What a digest
 * says is gathered here from the same functions the dashboards use — the
 * analytics index through disclosure control (dc_query, as /metrics), the
 * goals as GET /teams/{id}/goals prints them, the actions' effect as GET
 * /actions/{id}/effect — and worded by src/report/digest.c.
 *
 * Privacy (docs/PRIVACY.md): an employee's digest holds only their own
 * compliments and open answers and their own score under the person's
 * minimum n; a team lead's digest only team-level figures and texts without
 * names or scores, and the week's texts only when the team had at least
 * the group minimum n of answers; no digest holds another person's score.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "governance/series.h"
#include "mail/mail.h"
#include "report/digest.h"

#include <time.h>

#define DG_BATCH 8
/* One pass sends at most this many digests and stops starting new ones
 * after DG_PASS_MS: it runs under the scheduler's pass lock, which the
 * invitations, case mails and every other pass wait on. The rest waits
 * for the next pass (a second later). */
#define DG_PASS_MAX 32
#define DG_PASS_MS 2000
#define DG_LIST_MAX 10          /* items of each list in a mail */
#define DG_EFFECT_DAYS 91       /* the actions' effect window: 13 weeks, as the route's default */

static const char *const dg_roles[STORE_DIGEST_ROLES] = {"employee", "team_lead", "manager", "director"};

static bool dg_role_known(const char *r)
{
	for (int i = 0; i < STORE_DIGEST_ROLES; i++)
		if (strcmp(r, dg_roles[i]) == 0)
			return true;
	return false;
}

static bool dg_weekly(const char *role)
{
	return strcmp(role, "employee") == 0 || strcmp(role, "team_lead") == 0;
}

/* ---- periods ---------------------------------------------------------------------------- */

/* ISO weekday (1 = Monday) of a local day number (day 0, 1970-01-01, was a Thursday). */
static int dg_iso_weekday(int64_t day)
{
	int64_t r = (day + 3) % 7;
	return (int)(r < 0 ? r + 7 : r) + 1;
}

/* The instant of a local day's hour on the organisation's clock. */
static int64_t dg_at(const ks_tz *z, int64_t day, int hour)
{
	return tz_utc_of_local(z, day * 86400 + (int64_t)hour * 3600);
}

/* A cadence's last two whole periods before now and the moments they are
 * due: p1, the last whole period (the ISO week before this one, or the
 * month before this one), due at m1 (the setting's day and hour of this
 * week or month); p0, the period before it, due at m0 (the same a week or
 * a month earlier). */
typedef struct dg_periods {
	char p1[16], p0[16];
	int64_t m1, m0;
} dg_periods;

static void dg_periods_of(const ks_tz *z, int64_t now, const store_digest_setting *set, dg_periods *p)
{
	int y, mo, d, hh, mi, ss;
	tz_civil(z, now, &y, &mo, &d, &hh, &mi, &ss);
	int64_t today = tz_local_day(z, now);
	if (dg_weekly(set->role)) {
		int64_t monday = today - (dg_iso_weekday(today) - 1);
		tz_whole_period(z, tz_day_start(z, monday - 7), tz_day_start(z, monday), p->p1, sizeof p->p1);
		tz_whole_period(z, tz_day_start(z, monday - 14), tz_day_start(z, monday - 7), p->p0, sizeof p->p0);
		p->m1 = dg_at(z, monday + set->weekday - 1, set->hour);
		p->m0 = dg_at(z, monday - 7 + set->weekday - 1, set->hour);
	} else {
		int64_t first = today - (d - 1);
		int py, pmo, pd, x;
		tz_civil(z, tz_day_start(z, first - 1), &py, &pmo, &pd, &x, &x, &x);
		int64_t prev_first = first - 1 - (pd - 1);
		/* p1: the month of prev_first; p0: the month before it */
		snprintf(p->p1, sizeof p->p1, "%04u-%02u", (unsigned)py % 10000u, (unsigned)pmo);
		snprintf(p->p0, sizeof p->p0, "%04u-%02u", (unsigned)(pmo == 1 ? py - 1 : py) % 10000u,
			 pmo == 1 ? 12u : (unsigned)pmo - 1u);
		p->m1 = dg_at(z, first + set->day_of_month - 1, set->hour);
		p->m0 = dg_at(z, prev_first + set->day_of_month - 1, set->hour);
	}
}

/* The period the schedule queues now, or "" for none. The last whole
 * period once its moment has passed; before that, the one before it if
 * its moment passed while the role was on (the settings were not changed
 * since) and the schedule never queued it — a server that was down at
 * that moment still sends it. Only that one: no backlog of older ones. */
static void dg_due_period(const ks_tz *z, int64_t now, const store_digest_setting *set, char *label, size_t n)
{
	dg_periods p;
	dg_periods_of(z, now, set, &p);
	label[0] = '\0';
	if (now >= p.m1)
		snprintf(label, n, "%s", p.p1);
	else if (set->updated_at <= p.m0 && strcmp(set->last_period, p.p0) < 0)
		snprintf(label, n, "%s", p.p0);
}

/* A period an admin names for role: an ISO week (weekly roles) or a month
 * (monthly roles) that has ended. 422 naming "period" otherwise. */
static ks_err dg_period_check(const api_app *app, const char *role, const char *period, int64_t now, ks_error *e)
{
	int64_t from = 0, to = 0;
	tz_period_kind kind = TZ_PERIOD_NONE;
	ks_err err = tz_period_parse(&app->tz, period, now, "period", &from, &to, &kind, e);
	if (err)
		return err;
	bool weekly = dg_weekly(role);
	if (weekly ? kind != TZ_PERIOD_WEEK : kind != TZ_PERIOD_MONTH)
		return ks_fail(e, KS_ERR_INVALID, "period", "the %s digest covers %s, not '%s'", role,
			       weekly ? "an ISO week (YYYY-Www)" : "a month (YYYY-MM)", period);
	if (to > now)
		return ks_fail(e, KS_ERR_INVALID, "period", "period %s has not ended yet", period);
	return KS_OK;
}

/* ---- what a digest says ------------------------------------------------------------------ */

typedef struct dg_ctx {
	api_app *app;
	const store_digest_job *j;
	int64_t from, to;        /* the period, [from, to) */
	json_t *c;               /* the content (digest.h) */
} dg_ctx;

/* One whole local period's cell of a slice through disclosure control, as
 * GET /metrics?period=label prints it (api_cell_json). */
static ks_err dg_cell(api_app *app, const an_filter *base, const char *label, json_t **out, ks_error *e)
{
	api_window w;
	memset(&w, 0, sizeof w);
	snprintf(w.label, sizeof w.label, "%s", label);
	ks_err err = tz_period_parse(&app->tz, label, clock_now(app->clock), "period", &w.from, &w.to, &w.kind, e);
	an_filter f = *base;
	if (!err)
		err = api_window_guard(app, &f, &w, NULL, 0, "period", e);
	dc_policy pol = api_policy(app);
	dc_reply d;
	if (!err)
		err = dc_query(app->index, &pol, &f, api_window_period(&w), NULL, 0, &d, e);
	if (err)
		return err;
	*out = api_cell_json(&d.r.total, &d.total);
	dc_reply_free(&d);
	return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}

static const char *dg_unit_name(api_app *app, int64_t id, char *out, size_t n)
{
	out[0] = '\0';
	json_t *row = NULL;
	if (id && store_entity_get(app->store, model_entity_find("teams"), id, &row, NULL) == KS_OK)
		snprintf(out, n, "%s", json_string_value(json_object_get(row, "name")) ? json_string_value(json_object_get(row, "name")) : "");
	json_decref(row);
	return out;
}

/* The open answers of the period about one employee or one unit that say
 * what to improve (passives and detractors): texts only, newest first. */
static ks_err dg_learning_items(dg_ctx *x, int64_t employee_id, int64_t team_id, json_t **out, ks_error *e)
{
	store_verbatim_query q;
	memset(&q, 0, sizeof q);
	q.employee_id = employee_id;
	q.team_id = team_id;
	q.from = x->from;
	q.to = x->to;
	q.limit = 200;
	json_t *res = NULL;
	ks_err err = store_verbatim_search(x->app->store, &q, &res, e);
	if (err)
		return err;
	json_t *items = json_array();
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(res, "items"), i, it) {
		const char *band = json_string_value(json_object_get(it, "band"));
		if (band == NULL || strcmp(band, "promoter") == 0 || json_array_size(items) >= DG_LIST_MAX)
			continue;
		json_array_append_new(items, json_pack("{s:O, s:s}", "text", json_object_get(it, "text"), "band", band));
	}
	json_decref(res);
	*out = items;
	return KS_OK;
}

/* The team's goals whose period holds the digest period's last day. */
static ks_err dg_goals(dg_ctx *x, int64_t team, ks_error *e)
{
	store_goal *goals = NULL;
	size_t n = 0;
	ks_err err = team ? store_goal_list(x->app->store, team, &goals, &n, e) : KS_OK;
	json_t *list = json_array();
	for (size_t i = 0; !err && i < n; i++) {
		int64_t gf = 0, gt = 0;
		if (tz_period_parse(&x->app->tz, goals[i].period, x->to, "period", &gf, &gt, NULL, NULL) != KS_OK ||
		    x->to - 1 < gf || x->to - 1 >= gt)
			continue;
		json_t *g = NULL;
		err = api_goal_json(x->app, &goals[i], &g, e);
		if (err)
			break;
		json_t *actual = json_object_get(g, "actual");
		json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:O, s:O}", "period", json_object_get(g, "period"),
						      "metric", json_object_get(g, "metric"), "target",
						      json_object_get(g, "target"), "value",
						      json_object_get(actual, "value"), "status",
						      json_object_get(g, "status")));
		json_decref(g);
	}
	free(goals);
	json_object_set_new(x->c, "goals", list);
	return err;
}

/* The employee's weekly digest: their compliments and open answers, their
 * own NPS of the last whole month (the person's minimum n), the team goal. */
static ks_err dg_employee(dg_ctx *x, ks_error *e)
{
	api_app *app = x->app;
	int64_t emp = x->j->employee_id;
	int64_t team = emp ? an_employee_team(app->index, emp) : 0;
	json_t *list = NULL;
	ks_err err = KS_OK;
	if (emp) {
		err = store_digest_compliments(app->store, emp, 0, x->from, x->to, DG_LIST_MAX, &list, e);
		size_t i;
		json_t *k;
		json_array_foreach(list, i, k)
			json_object_del(k, "from_user_id");
		if (!err)
			json_object_set_new(x->c, "compliments", list);
		if (!err)
			err = dg_learning_items(x, emp, 0, &list, e);
		if (!err)
			json_object_set_new(x->c, "learning",
					    json_pack("{s:b, s:I, s:o}", "shown", 1, "min_n", (json_int_t)0, "items", list));
		/* their own score of the last whole month before the period's end */
		int y, mo, d, hh, mi, ss;
		tz_civil(&app->tz, x->to - 1, &y, &mo, &d, &hh, &mi, &ss);
		char month[16];
		snprintf(month, sizeof month, "%04u-%02u", (unsigned)(mo == 1 ? y - 1 : y) % 10000u,
			 mo == 1 ? 12u : (unsigned)mo - 1u);
		an_filter f;
		memset(&f, 0, sizeof f);
		f.employee_id = emp;
		json_t *cell = NULL;
		if (!err)
			err = dg_cell(app, &f, month, &cell, e);
		if (!err) {
			const json_t *nps = json_object_get(cell, "nps");
			json_object_set_new(x->c, "my_score",
					    json_pack("{s:s, s:O, s:O, s:O}", "period", month, "n", json_object_get(cell, "n"),
						      "min_n", json_object_get(cell, "min_n"), "nps",
						      json_is_object(nps) ? nps : json_null()));
			/* n only with the score: below the minimum it is no one's business */
			if (!json_is_object(nps))
				json_object_del(json_object_get(x->c, "my_score"), "n");
		}
		json_decref(cell);
	}
	if (!err)
		err = dg_goals(x, team, e);
	return err;
}

/* Open cases of the team: counts and the first few. */
static ks_err dg_cases(dg_ctx *x, int64_t team, ks_error *e)
{
	static const char *const open[] = {"new", "contacted"};
	json_int_t n_open = 0, n_over = 0;
	json_t *items = json_array();
	ks_err err = KS_OK;
	for (int k = 0; !err && k < 2; k++) {
		store_case_query q;
		memset(&q, 0, sizeof q);
		q.status = open[k];
		q.team_id = team;
		q.now = clock_now(x->app->clock);
		q.limit = 500;
		q.lang = x->j->language;
		json_t *res = NULL;
		err = store_case_list(x->app->store, &q, &res, e);
		if (err)
			break;
		size_t i;
		json_t *it;
		json_array_foreach(json_object_get(res, "items"), i, it) {
			n_open++;
			n_over += json_is_true(json_object_get(it, "overdue"));
			if (json_array_size(items) < DG_LIST_MAX)
				json_array_append_new(items, json_pack("{s:O, s:O, s:O}", "id", json_object_get(it, "id"),
								       "reason", json_object_get(it, "reason"), "overdue",
								       json_object_get(it, "overdue")));
		}
		json_decref(res);
	}
	json_object_set_new(x->c, "cases", json_pack("{s:I, s:I, s:o}", "open", n_open, "overdue", n_over, "items", items));
	return err;
}

/* The team's compliments of the week for its lead, under the same rule
 * as the open answers: none under verbatim_detail anonymous (the app
 * refuses compliments there: they name the employee), none when the week
 * had fewer than the group minimum of answers (a compliment names whom a
 * few answers were about), and a sender's personal note only to the one
 * who wrote it (it was written to the employee, not to other leads). */
static ks_err dg_team_compliments(dg_ctx *x, int64_t team, bool shown, ks_error *e)
{
	store_org_settings o;
	ks_err err = store_org_settings_get(x->app->store, &o, e);
	if (err || !shown || o.verbatim_detail == STORE_DETAIL_ANONYMOUS)
		return err;
	json_t *list = NULL;
	err = store_digest_compliments(x->app->store, 0, team, x->from, x->to, DG_LIST_MAX, &list, e);
	if (err)
		return err;
	size_t i;
	json_t *k;
	json_array_foreach(list, i, k) {
		if (json_integer_value(json_object_get(k, "from_user_id")) != x->j->user_id)
			json_object_set_new(k, "note", json_null());
		json_object_del(k, "from_user_id");
	}
	json_object_set_new(x->c, "compliments", list);
	return KS_OK;
}

/* The team lead's weekly digest: the team's compliments and open answers
 * (texts only, and only when the team had the group minimum n of answers
 * in the week), the team goal and the team's open cases. A lead without a
 * unit is never queued (and skipped when they lost it since). */
static ks_err dg_team_lead(dg_ctx *x, ks_error *e)
{
	api_app *app = x->app;
	int64_t team = x->j->unit_id;
	if (team == 0)
		return KS_OK;
	an_filter f;
	memset(&f, 0, sizeof f);
	f.team_id = team;
	f.from = x->from;
	f.to = x->to;
	an_result r;
	ks_err err = an_query(app->index, &f, NULL, 0, &r, e);
	if (err)
		return err;
	int64_t n = r.total.n;
	an_result_free(&r);
	bool shown = n >= app->min_n;
	err = dg_team_compliments(x, team, shown, e);
	if (err)
		return err;
	json_t *list = NULL;
	if (shown)
		err = dg_learning_items(x, 0, team, &list, e);
	if (err)
		return err;
	json_object_set_new(x->c, "learning", json_pack("{s:b, s:I, s:o}", "shown", shown, "min_n", (json_int_t)app->min_n,
						       "items", list ? list : json_array()));
	err = dg_goals(x, team, e);
	if (!err)
		err = dg_cases(x, team, e);
	return err;
}

/* Actions of the scope in progress or done, with the NPS effect against
 * the rest of the organisation (GET /actions/{id}/effect). */
static ks_err dg_actions(dg_ctx *x, int64_t unit, ks_error *e)
{
	store_action_query q;
	memset(&q, 0, sizeof q);
	q.scope_unit = unit;
	q.scope_teamless = true;
	q.limit = 500;
	store_action *acts = NULL;
	size_t n = 0;
	bool more = false;
	ks_err err = store_action_list(x->app->store, &q, &acts, &n, &more, e);
	json_t *list = json_array();
	for (size_t i = n; !err && i-- > 0 && json_array_size(list) < DG_LIST_MAX;) {
		store_action *a = &acts[i];
		if (strcmp(a->status, "in_progress") != 0 && strcmp(a->status, "done") != 0)
			continue;
		json_t *item = json_pack("{s:s, s:s, s:s, s:n, s:n}", "title", a->title, "status", a->status,
					 "start_date", a->start_date, "change", "verdict");
		an_filter f;
		memset(&f, 0, sizeof f);
		f.nps_only = true;
		f.team_id = a->team_id ? a->team_id : unit;
		f.touchpoint_id = a->touchpoint_id;
		f.journey_id = a->touchpoint_id ? 0 : a->journey_id;
		json_t *eff = NULL;
		if (a->team_id || a->touchpoint_id || a->journey_id)
			err = api_action_effect_of(x->app, a, &f, DG_EFFECT_DAYS, &eff, e);
		const json_t *vr = json_object_get(eff, "vs_rest");
		if (json_is_number(json_object_get(vr, "diff"))) {
			json_object_set(item, "change", json_object_get(vr, "diff"));
			json_object_set(item, "verdict", json_object_get(vr, "verdict"));
		}
		json_decref(eff);
		json_array_append_new(list, item);
	}
	free(acts);
	json_object_set_new(x->c, "actions", list);
	return err;
}

/* The unit a monthly digest is about and its level: unit itself, or for
 * 0 (a director) the organisation's unit. *level -1 when there is none. */
static ks_err dg_scope_unit(api_app *app, int64_t unit, int64_t *out, int *level, ks_error *e)
{
	store_kpi_unit *units = NULL;
	size_t nu = 0;
	*out = 0;
	*level = -1;
	ks_err err = store_kpi_units(app->store, &units, &nu, e);
	for (size_t i = 0; !err && i < nu; i++) {
		if (unit ? units[i].id != unit : strcmp(units[i].kind, "organisation") != 0)
			continue;
		*out = units[i].id;
		*level = gov_level_from_name(units[i].kind);
		break;
	}
	free(units);
	return err;
}

/* The hard KPIs (issue 17 K's catalogue) of the scope's unit for the
 * month, read from the same series as GET /api/v1/kpi-series (level of the
 * unit: the organisation for a director, a manager's department or team). */
static ks_err dg_kpis(dg_ctx *x, int64_t unit, ks_error *e)
{
	api_app *app = x->app;
	store_kpi *kpis = NULL;
	size_t nk = 0;
	int level = -1;
	ks_err err = dg_scope_unit(app, unit, &unit, &level, e);
	if (!err && level >= 0)
		err = store_kpi_list(app->store, &kpis, &nk, e);
	json_t *list = json_array();
	dc_policy pol = api_policy(app);
	bool en = strcmp(x->j->language, "en") == 0;
	for (size_t k = 0; !err && k < nk; k++) {
		gov_series g;
		err = gov_series_get_pol(app->store, app->index, &pol, kpis[k].key, level, x->j->period, x->j->period, &g, e);
		if (err)
			break;
		json_t *value = json_null();
		for (size_t u = 0; u < g.n_units && g.n_periods == 1; u++)
			if (g.unit_ids[u] == unit && g.cells[u].present) {
				/* the value as the API prints it (10 significant digits,
				 * src/http/server.c), so the digest's rounding to 2
				 * decimals and GET /kpi-series' never part on a tie */
				char txt[40];
				snprintf(txt, sizeof txt, "%.10g", g.cells[u].value);
				value = json_real(strtod(txt, NULL));
			}
		gov_series_free(&g);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:o}", "key", kpis[k].key, "name",
						      en ? kpis[k].name_en : kpis[k].name_nl, "unit", kpis[k].unit,
						      "period", x->j->period, "value", value));
	}
	free(kpis);
	if (err) {
		json_decref(list);
		return err;
	}
	if (level >= 0)
		json_object_set_new(x->c, "kpis", list);
	else
		json_decref(list);
	return KS_OK;
}

/* The scope's top three key drivers of the month, as GET /drivers/top3?
 * team_id=UNIT&period=YYYY-MM shows them (the organisation's unit for a
 * director): a driver, its mean rating and the NPS it may gain. */
static ks_err dg_drivers(dg_ctx *x, int64_t unit, ks_error *e)
{
	api_app *app = x->app;
	int level = -1;
	ks_err err = dg_scope_unit(app, unit, &unit, &level, e);
	if (err || level < 0)
		return err;
	api_window w;
	memset(&w, 0, sizeof w);
	snprintf(w.label, sizeof w.label, "%s", x->j->period);
	an_filter f;
	memset(&f, 0, sizeof f);
	f.team_id = unit;
	err = tz_period_parse(&app->tz, x->j->period, clock_now(app->clock), "period", &w.from, &w.to, &w.kind, e);
	if (!err)
		err = api_window_guard(app, &f, &w, NULL, 0, "period", e);
	json_t *top3 = NULL;
	if (!err)
		err = api_drivers_top3_of(app, &f, api_window_period(&w), &top3, e);
	if (err)
		return err;
	json_t *list = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(top3, i, d) {
		/* a member /drivers/top3 prints as null may be missing here: null too */
		json_t *gain = json_object_get(json_object_get(d, "gain"), "value"), *mean = json_object_get(d, "mean");
		json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:O}", "aspect", json_object_get(d, "driver"),
						      "score", mean ? mean : json_null(), "n", json_object_get(d, "n"),
						      "gain", gain ? gain : json_null()));
	}
	json_decref(top3);
	json_object_set_new(x->c, "drivers", list);
	return KS_OK;
}

/* Managers' and directors' monthly digest: the scope's scores of the month
 * (as GET /metrics?period=YYYY-MM&team_id=unit shows them), its top three
 * key drivers, the actions and their effect, the unit's hard KPIs. */
static ks_err dg_monthly(dg_ctx *x, bool director, ks_error *e)
{
	int64_t unit = director ? 0 : x->j->unit_id;
	if (!director && unit == 0)
		return KS_OK; /* a manager without a unit has no scope to tell about */
	an_filter f;
	memset(&f, 0, sizeof f);
	f.team_id = unit;
	json_t *cell = NULL;
	ks_err err = dg_cell(x->app, &f, x->j->period, &cell, e);
	if (err)
		return err;
	json_object_set_new(x->c, "scores", cell);
	err = dg_drivers(x, unit, e);
	if (!err)
		err = dg_actions(x, unit, e);
	return err ? err : dg_kpis(x, unit, e);
}

static ks_err dg_content(api_app *app, const store_digest_job *j, json_t **out, ks_error *e)
{
	dg_ctx x = {.app = app, .j = j};
	ks_err err = tz_period_parse(&app->tz, j->period, clock_now(app->clock), "period", &x.from, &x.to, NULL, e);
	if (err)
		return err;
	char from[40], to[40], unit[160], page[600], unsub[600];
	tz_format_local(&app->tz, x.from, from, sizeof from);
	tz_format_local(&app->tz, x.to - 1, to, sizeof to);
	from[10] = to[10] = '\0';
	const char *base = app->base_url ? app->base_url : "";
	bool employee = strcmp(j->role, "employee") == 0, lead = strcmp(j->role, "team_lead") == 0;
	bool director = strcmp(j->role, "director") == 0;
	int64_t scope = employee ? 0 : director ? 0 : j->unit_id;
	snprintf(page, sizeof page, "%s/#/%s", base, employee ? "me" : lead ? "team" : "org");
	snprintf(unsub, sizeof unsub, "%s/d/%s", base, j->unsubscribe_token);
	x.c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "role", j->role, "period", j->period, "from", from,
			"to", to, "name", j->name, "scope", dg_unit_name(app, scope, unit, sizeof unit), "page_url", page,
			"unsubscribe_url", unsub);
	if (x.c == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (employee)
		err = dg_employee(&x, e);
	else if (lead)
		err = dg_team_lead(&x, e);
	else
		err = dg_monthly(&x, director, e);
	if (err) {
		json_decref(x.c);
		return err;
	}
	*out = x.c;
	return KS_OK;
}

/* ---- sending ------------------------------------------------------------------------------ */

typedef struct dg_stats {
	int queued, sent, retried, failed;
} dg_stats;

static ks_err dg_compose(api_app *app, const store_digest_job *j, int64_t now, ks_buf *msg, ks_error *e)
{
	json_t *c = NULL;
	ks_err err = dg_content(app, j, &c, e);
	if (err)
		return err;
	const invite_config *ic = app->invite;
	ks_buf subject, text, html;
	buf_init(&subject, 2048);
	buf_init(&text, 256 * 1024);
	buf_init(&html, 512 * 1024);
	err = digest_build(c, j->language, ic->org_name, &subject, &text, &html);
	if (err) {
		ks_fail(e, err, NULL, "cannot build the digest");
	} else {
		char unsub[600];
		snprintf(unsub, sizeof unsub, "%s/d/%s", app->base_url ? app->base_url : "", j->unsubscribe_token);
		mail_message m = {.to = j->to_email, .subject = subject.data, .text = text.data, .html = html.data,
				  .message_id = j->message_id, .list_unsubscribe_url = unsub};
		err = mail_message_check(&ic->mail, &m, e);
		if (!err)
			err = mail_compose(&ic->mail, &m, now, msg);
	}
	json_decref(c);
	buf_free(&subject);
	buf_free(&text);
	buf_free(&html);
	return err;
}

/* Send one claimed digest and record it (at the moment the outcome is
 * known, not the pass's start: the backoff counts from the try). A digest
 * that cannot be composed is a permanent failure of that digest, not of
 * the pass. */
static ks_err dg_send(api_app *app, const store_digest_job *j, int64_t now, dg_stats *st, ks_error *e)
{
	char detail[256] = "";
	mail_outcome o = MAIL_PERMFAIL;
	if (j->skip[0]) {
		snprintf(detail, sizeof detail, "%s", j->skip);
	} else {
		ks_buf msg;
		buf_init(&msg, 2 * 1024 * 1024);
		ks_error ce;
		ks_error_clear(&ce);
		if (dg_compose(app, j, now, &msg, &ce) == KS_OK)
			mail_send(&app->invite->mail, j->to_email, &msg, &o, detail, sizeof detail);
		else
			snprintf(detail, sizeof detail, "cannot compose: %.200s", ce.message);
		buf_free(&msg);
	}
	(*(o == MAIL_SENT ? &st->sent : o == MAIL_TEMPFAIL ? &st->retried : &st->failed))++;
	return store_digest_record(app->store, j, o == MAIL_SENT ? STORE_SEND_OK : o == MAIL_TEMPFAIL ? STORE_SEND_RETRY : STORE_SEND_GIVE_UP,
				   detail, clock_now(app->clock), e);
}

static int64_t dg_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send what is due, at most DG_PASS_MAX digests and for about DG_PASS_MS
 * (the rest at the next pass). Claimed rows not tried when a record fails
 * go back to 'pending' at once rather than waiting for a restart. */
static ks_err dg_send_due(api_app *app, int64_t now, dg_stats *st, ks_error *e)
{
	if (app->invite == NULL || !app->invite->mail_enabled)
		return KS_OK; /* no mail: the rows wait, like invitations */
	store_digest_job *jobs = calloc(DG_BATCH, sizeof *jobs);
	if (jobs == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	int64_t until = dg_mono_ms() + DG_PASS_MS;
	int done = 0;
	ks_err err = KS_OK;
	while (!err && done < DG_PASS_MAX && dg_mono_ms() < until) {
		int n = 0, max = DG_PASS_MAX - done < DG_BATCH ? DG_PASS_MAX - done : DG_BATCH;
		err = store_digest_claim(app->store, now, jobs, max, &n, e);
		if (err || n == 0)
			break;
		int i = 0;
		for (; !err && i < n; i++) {
			/* out of time: the claimed rest goes back, untried */
			if (i > 0 && dg_mono_ms() >= until)
				break;
			err = dg_send(app, &jobs[i], now, st, e);
			done++;
		}
		if (i < n) {
			ks_error re;
			ks_error_clear(&re);
			if (store_digest_release(app->store, jobs + i, n - i, &re) != KS_OK)
				fprintf(stderr, "klantstem: digests: %s (the rows wait for a restart)\n", re.message);
		}
	}
	free(jobs);
	return err;
}

/* The schedule: each role that is on queues the period that is due
 * (dg_due_period; once: store_digest_queue's last_period). */
static ks_err dg_schedule(api_app *app, int64_t now, dg_stats *st, ks_error *e)
{
	store_digest_setting set[STORE_DIGEST_ROLES];
	ks_err err = store_digest_settings_get(app->store, set, e);
	for (int i = 0; !err && i < STORE_DIGEST_ROLES; i++) {
		if (!set[i].enabled)
			continue;
		char period[16];
		dg_due_period(&app->tz, now, &set[i], period, sizeof period);
		int q = 0;
		if (period[0])
			err = store_digest_queue(app->store, set[i].role, period, true, now, &q, e);
		st->queued += q;
	}
	return err;
}

static ks_err api_digest_hook(void *arg, int64_t now, ks_error *e)
{
	api_app *app = arg;
	dg_stats st = {0};
	ks_err err = dg_schedule(app, now, &st, e);
	if (!err)
		err = dg_send_due(app, now, &st, e);
	if (st.queued || st.sent || st.failed)
		fprintf(stderr, "klantstem: scheduler: %d digests queued, %d sent, %d failed\n", st.queued, st.sent,
			st.failed);
	return err;
}

ks_err api_digest_attach(api_app *app, ks_error *e)
{
	int n = 0;
	ks_err err = store_digest_recover(app->store, &n, e);
	if (err)
		return err;
	if (n)
		fprintf(stderr, "klantstem: %d digests claimed before a stop will be sent again\n", n);
	if (app->scheduler)
		invite_scheduler_set_hook(app->scheduler, api_digest_hook, app);
	return KS_OK;
}

/* ---- routes -------------------------------------------------------------------------------- */

static json_t *dg_iso_or_null(int64_t t)
{
	char iso[32];
	if (t == 0)
		return json_null();
	clock_format_iso(t, iso, sizeof iso);
	return json_string(iso);
}

static json_t *dg_setting_json(const store_digest_setting *s)
{
	return json_pack("{s:s, s:s, s:b, s:i, s:i, s:i, s:o, s:o}", "role", s->role, "cadence", s->cadence, "enabled",
			 s->enabled, "weekday", s->weekday, "day_of_month", s->day_of_month, "hour", s->hour,
			 "last_period", s->last_period[0] ? json_string(s->last_period) : json_null(), "updated_at",
			 dg_iso_or_null(s->updated_at));
}

static ks_err dg_settings_reply(http_req *req, int status, ks_error *e)
{
	api_app *app = req->app;
	store_digest_setting set[STORE_DIGEST_ROLES];
	ks_err err = store_digest_settings_get(app->store, set, e);
	if (err)
		return err;
	json_t *items = json_array();
	for (int i = 0; i < STORE_DIGEST_ROLES; i++)
		json_array_append_new(items, dg_setting_json(&set[i]));
	http_reply_json(req, status, json_pack("{s:o, s:s}", "items", items, "time_zone", app->tz.name));
	return KS_OK;
}

ks_err api_digest_settings_get(http_req *req, ks_error *e)
{
	static const char *const params[] = {NULL};
	ks_err err = api_only_params(req, params, e);
	return err ? err : dg_settings_reply(req, 200, e);
}

/* An integer member in [lo, hi], or the stored value when absent. */
static ks_err dg_int_field(const json_t *o, const char *name, int lo, int hi, int *v, size_t idx, ks_error *e)
{
	const json_t *j = json_object_get(o, name);
	if (j == NULL)
		return KS_OK;
	if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi) {
		char fld[48];
		snprintf(fld, sizeof fld, "items[%zu].%s", idx, name);
		return ks_fail(e, KS_ERR_INVALID, fld, "%s must be an integer %d..%d", fld, lo, hi);
	}
	*v = (int)json_integer_value(j);
	return KS_OK;
}

/* One item of PUT /digests/settings onto the current rows. */
static ks_err dg_setting_parse(const json_t *it, size_t i, store_digest_setting cur[STORE_DIGEST_ROLES], ks_error *e)
{
	static const char *const fields[] = {"role", "enabled", "weekday", "day_of_month", "hour", NULL};
	char pfx[32], fld[48];
	snprintf(pfx, sizeof pfx, "items[%zu]", i);
	if (!json_is_object(it))
		return ks_fail(e, KS_ERR_INVALID, pfx, "%s must be an object", pfx);
	snprintf(pfx, sizeof pfx, "items[%zu].", i);
	ks_err err = api_only_fields(it, fields, pfx, e);
	if (err)
		return err;
	const char *role = json_string_value(json_object_get(it, "role"));
	int k = -1;
	for (int r = 0; role && r < STORE_DIGEST_ROLES; r++)
		if (strcmp(cur[r].role, role) == 0)
			k = r;
	snprintf(fld, sizeof fld, "%srole", pfx);
	if (k < 0)
		return ks_fail(e, KS_ERR_INVALID, fld, "%s must be employee, team_lead, manager or director", fld);
	const json_t *en = json_object_get(it, "enabled");
	snprintf(fld, sizeof fld, "%senabled", pfx);
	if (en && !json_is_boolean(en))
		return ks_fail(e, KS_ERR_INVALID, fld, "%s must be true or false", fld);
	if (en)
		cur[k].enabled = json_is_true(en);
	err = dg_int_field(it, "weekday", 1, 7, &cur[k].weekday, i, e);
	if (!err)
		err = dg_int_field(it, "day_of_month", 1, 28, &cur[k].day_of_month, i, e);
	if (!err)
		err = dg_int_field(it, "hour", 0, 23, &cur[k].hour, i, e);
	return err;
}

static ks_err dg_settings_parse(const json_t *body, store_digest_setting cur[STORE_DIGEST_ROLES], ks_error *e)
{
	static const char *const top[] = {"items", NULL};
	ks_err err = api_only_fields(body, top, "", e);
	const json_t *items = json_object_get(body, "items");
	if (!err && (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > STORE_DIGEST_ROLES))
		err = ks_fail(e, KS_ERR_INVALID, "items", "items must be an array of 1..4 settings");
	for (size_t i = 0; !err && i < json_array_size(items); i++)
		err = dg_setting_parse(json_array_get(items, i), i, cur, e);
	return err;
}

ks_err api_digest_settings_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *body = NULL;
	store_digest_setting set[STORE_DIGEST_ROLES];
	ks_err err = api_body_object(req, &body, e);
	if (!err)
		err = store_digest_settings_get(app->store, set, e);
	if (!err)
		err = dg_settings_parse(body, set, e);
	json_decref(body);
	if (!err)
		err = store_digest_settings_put(app->store, set, STORE_DIGEST_ROLES, req->who.user_id,
						clock_now(app->clock), e);
	if (err)
		return err;
	api_audit(req, "digest.settings", "digest_settings", 0, NULL);
	return dg_settings_reply(req, 200, e);
}

/* POST /api/v1/digests/run {"period"?, "role"?}: queue now (no role: the
 * roles that are on; a role: that one, on or off); 202, the scheduler's
 * next passes send them. */
ks_err api_digest_run(http_req *req, ks_error *e)
{
	static const char *const fields[] = {"period", "role", NULL};
	api_app *app = req->app;
	int64_t now = clock_now(app->clock);
	json_t *body = NULL;
	ks_err err = req->body.len ? api_body_object(req, &body, e) : KS_OK;
	if (!err && body)
		err = api_only_fields(body, fields, "", e);
	const json_t *jr = json_object_get(body, "role"), *jp = json_object_get(body, "period");
	if (!err && jr && (!json_is_string(jr) || !dg_role_known(json_string_value(jr))))
		err = ks_fail(e, KS_ERR_INVALID, "role", "role must be employee, team_lead, manager or director");
	if (!err && jp && !json_is_string(jp))
		err = ks_fail(e, KS_ERR_INVALID, "period", "period must be a string (YYYY-Www or YYYY-MM)");
	store_digest_setting set[STORE_DIGEST_ROLES];
	if (!err)
		err = store_digest_settings_get(app->store, set, e);
	const char *role = json_string_value(jr), *period = json_string_value(jp);
	/* a period without a role: the roles of its cadence */
	bool any = false;
	for (int i = 0; !err && i < STORE_DIGEST_ROLES; i++) {
		bool pick = role ? strcmp(role, set[i].role) == 0 : set[i].enabled;
		if (pick && period && !role) {
			int64_t f, t;
			tz_period_kind k = TZ_PERIOD_NONE;
			pick = tz_period_parse(&app->tz, period, now, "period", &f, &t, &k, NULL) == KS_OK &&
			       (k == TZ_PERIOD_WEEK) == dg_weekly(set[i].role);
		}
		set[i].enabled = pick; /* from here: "queue this role" */
		any |= pick;
		if (pick && period)
			err = dg_period_check(app, set[i].role, period, now, e);
	}
	if (!err && period && !any)
		err = dg_period_check(app, role ? role : "employee", period, now, e); /* names the fault */
	dg_stats st = {0};
	json_t *queued = json_object();
	for (int i = 0; !err && i < STORE_DIGEST_ROLES; i++) {
		if (!set[i].enabled)
			continue;
		char label[16];
		dg_periods p;
		dg_periods_of(&app->tz, now, &set[i], &p);
		snprintf(label, sizeof label, "%s", period ? period : p.p1);
		int q = 0;
		err = store_digest_queue(app->store, set[i].role, label, false, now, &q, e);
		st.queued += q;
		json_object_set_new(queued, set[i].role, json_pack("{s:s, s:i}", "period", label, "queued", q));
	}
	json_decref(body);
	if (err) {
		json_decref(queued);
		return err;
	}
	api_audit(req, "digest.run", "digest", 0, json_pack("{s:o}", "roles", json_copy(queued)));
	/* 202: queued; the scheduler's passes send them (a request must not
	 * hold the pass for thousands of mails) */
	http_reply_json(req, 202, json_pack("{s:o, s:i, s:b}", "roles", queued, "queued", st.queued, "mail",
					    app->invite && app->invite->mail_enabled));
	return KS_OK;
}

ks_err api_digest_list(http_req *req, ks_error *e)
{
	static const char *const params[] = {"status", "limit", NULL};
	api_app *app = req->app;
	ks_err err = api_only_params(req, params, e);
	const char *status = http_query(req, "status");
	if (!err && status && strcmp(status, "pending") != 0 && strcmp(status, "sending") != 0 &&
	    strcmp(status, "sent") != 0 && strcmp(status, "failed") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "status", "status must be pending, sending, sent or failed");
	int limit = 100;
	if (!err && http_query(req, "limit"))
		err = api_page_limit(req, &limit, e);
	json_t *out = NULL;
	if (!err)
		err = store_digest_list(app->store, status, limit, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- a user's own choice ---- */

static bool dg_receives(int role)
{
	return role == AUTH_ROLE_EMPLOYEE || role == AUTH_ROLE_TEAM_LEAD || role == AUTH_ROLE_MANAGER ||
	       role == AUTH_ROLE_DIRECTOR;
}

static ks_err dg_me_reply(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	bool out = false;
	ks_err err = store_digest_optout_get(app->store, req->who.user_id, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, json_pack("{s:b, s:b}", "digests", !out, "receives_digests", dg_receives(req->who.role)));
	return KS_OK;
}

ks_err api_me_digests_get(http_req *req, ks_error *e)
{
	static const char *const params[] = {NULL};
	ks_err err = api_only_params(req, params, e);
	return err ? err : dg_me_reply(req, e);
}

ks_err api_me_digests_put(http_req *req, ks_error *e)
{
	static const char *const fields[] = {"digests", NULL};
	api_app *app = req->app;
	json_t *body = NULL;
	ks_err err = api_body_object(req, &body, e);
	if (!err)
		err = api_only_fields(body, fields, "", e);
	const json_t *v = json_object_get(body, "digests");
	if (!err && !json_is_boolean(v))
		err = ks_fail(e, KS_ERR_INVALID, "digests", "digests must be true or false");
	bool on = json_is_true(v);
	json_decref(body);
	if (!err)
		err = store_digest_optout_set(app->store, req->who.user_id, !on, clock_now(app->clock), e);
	if (err)
		return err;
	api_audit(req, on ? "digest.opt_in" : "digest.opt_out", "user", req->who.user_id, NULL);
	return dg_me_reply(req, e);
}

/* ---- the unsubscribe link: /d/{token}, no login ---- */

static bool dg_token_ok(const char *t)
{
	size_t n = strspn(t, "0123456789abcdef");
	return n == 32 && t[n] == '\0';
}

static ks_err dg_unsub_page(http_req *req, int status, const char *lang, int kind)
{
	bool en = lang && strcmp(lang, "en") == 0;
	static const char *const texts[3][2] = {
		{"Deze link kennen we niet.", "We do not know this link."},
		{"Wil je geen overzichten van Klantstem meer ontvangen?",
		 "Do you want to stop receiving digests from Klantstem?"},
		{"Je ontvangt geen overzichten meer. In je account kun je ze weer aanzetten.",
		 "You will receive no more digests. You can switch them on again in your account."}};
	ks_buf b;
	buf_init(&b, 16 * 1024);
	ks_err err = buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
				    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
				    "<title>%s</title></head>\n<body style=\"font-family:sans-serif;max-width:36em;margin:2em auto;padding:0 1em\">\n<p>",
				en ? "en" : "nl", en ? "Digests" : "Overzichten");
	if (!err)
		err = buf_html(&b, texts[kind][en]);
	if (!err)
		err = buf_puts(&b, "</p>\n");
	if (!err && kind == 1) {
		err = buf_puts(&b, "<form method=\"post\" action=\"/d/");
		if (!err)
			err = buf_html(&b, req->params[0]);
		if (!err)
			err = buf_printf(&b, "\"><button type=\"submit\">%s</button></form>\n",
					 en ? "Stop digests" : "Geen overzichten meer");
	}
	if (!err)
		err = buf_puts(&b, "</body></html>\n");
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, status, "text/html; charset=utf-8", &b);
	return KS_OK;
}

/* GET only asks: mail scanners follow links, a prefetch must not opt anyone out. */
ks_err api_digest_unsub_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	char lang[3] = "nl";
	if (!dg_token_ok(req->params[0]))
		return dg_unsub_page(req, 404, lang, 0);
	ks_err err = store_digest_unsubscribe(app->store, req->params[0], false, 0, NULL, lang, e);
	if (err == KS_ERR_NOTFOUND)
		return dg_unsub_page(req, 404, "nl", 0);
	return err ? err : dg_unsub_page(req, 200, lang, 1);
}

ks_err api_digest_unsub_post(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	char lang[3] = "nl";
	if (!dg_token_ok(req->params[0]))
		return dg_unsub_page(req, 404, lang, 0);
	int64_t user = 0;
	ks_err err = store_digest_unsubscribe(app->store, req->params[0], true, clock_now(app->clock), &user, lang, e);
	if (err == KS_ERR_NOTFOUND)
		return dg_unsub_page(req, 404, "nl", 0);
	if (err)
		return err;
	api_audit(req, "digest.unsubscribe", "user", user, NULL);
	return dg_unsub_page(req, 200, lang, 2);
}
