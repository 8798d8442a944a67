/* api_disclose.c — the request side of disclosure control: the time window
 * of a metrics request in the organisation's calendar, the grammar that
 * team- and person-level slices must keep, and the printing of one cell.
 * The decisions themselves are in src/disclose; the reasoning in
 * docs/PRIVACY.md. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"

dc_policy api_policy(const api_app *app)
{
	int64_t now = clock_now(app->clock);
	dc_policy p = {.min_n = app->min_n, .min_n_person = app->min_n_employee,
		       .as_of = tz_day_start(&app->tz, tz_local_day(&app->tz, now)), .cache = app->disclose};
	return p;
}

/* Query argument pfx+name, falling back to the plain name when a prefix
 * is given (compare's a.* / b.* sides share what they do not set). */
static const char *api_warg(http_req *req, const char *pfx, const char *name, char *key, size_t kn)
{
	snprintf(key, kn, "%s%s", pfx, name);
	const char *v = http_query(req, key);
	if (v || pfx[0] == '\0')
		return v;
	snprintf(key, kn, "%s", name);
	return http_query(req, name);
}

ks_err api_window_parse(http_req *req, const char *pfx, api_window *w, ks_error *e)
{
	api_app *app = req->app;
	memset(w, 0, sizeof *w);
	char kp[64], kf[64], kt[64];
	const char *period = api_warg(req, pfx, "period", kp, sizeof kp);
	const char *from = api_warg(req, pfx, "from", kf, sizeof kf);
	const char *to = api_warg(req, pfx, "to", kt, sizeof kt);
	if (period && (from || to))
		return ks_fail(e, KS_ERR_INVALID, kp, "give period or from/to, not both");
	if (period) {
		ks_err err = tz_period_parse(&app->tz, period, clock_now(app->clock), kp, &w->from, &w->to,
					     &w->kind, e);
		if (!err)
			snprintf(w->label, sizeof w->label, "%s", period);
		return err;
	}
	if (!from && !to)
		return KS_OK;
	if (!from || !to)
		return ks_fail(e, KS_ERR_INVALID, from ? kt : kf,
			       "give from and to together (one whole day, week, month, quarter or year), "
			       "or period=");
	ks_err err = tz_parse_time(&app->tz, from, kf, &w->from, e);
	if (!err)
		err = tz_parse_time(&app->tz, to, kt, &w->to, e);
	if (!err && w->to <= w->from)
		err = ks_fail(e, KS_ERR_RANGE, kt, "to must be after from");
	if (err)
		return err;
	w->kind = tz_whole_period(&app->tz, w->from, w->to, w->label, sizeof w->label);
	if (w->kind == TZ_PERIOD_NONE)
		return ks_fail(e, KS_ERR_INVALID, kf,
			       "from/to must span exactly one whole local day, ISO week, month, quarter "
			       "or year (%s): two overlapping windows would reveal their difference",
			       app->tz.name);
	return KS_OK;
}

const char *api_window_period(const api_window *w)
{
	if (w->from == 0 && w->to == 0)
		return "";
	if (w->kind == TZ_PERIOD_MONTH || w->kind == TZ_PERIOD_QUARTER || w->kind == TZ_PERIOD_YEAR)
		return w->label;
	return NULL;
}

ks_err api_window_guard(const api_app *app, an_filter *f, const api_window *w, const an_dim *dims,
			int n_dims, const char *dim_param, ks_error *e)
{
	/* compare's sides name their own parameters: "b.period" */
	char pp[32];
	snprintf(pp, sizeof pp, "%.*speriod", strncmp(dim_param, "a.", 2) == 0 || strncmp(dim_param, "b.", 2) == 0 ? 2 : 0,
		 dim_param);
	f->from = w->from;
	f->to = w->to;
	/* Scores are given per whole month, quarter, year or all time, at every
	 * level: days, ISO weeks and rolling windows cross months (so they
	 * would break the calendar's lines) and hold a handful of answers,
	 * often one employee's. */
	if (api_window_period(w) == NULL)
		return ks_fail(e, KS_ERR_INVALID, w->kind == TZ_PERIOD_NONE ? "from" : pp,
			       "figures are given per whole month, quarter or year (or all time), not for %s",
			       w->label[0] ? w->label : "this window");
	for (int i = 0; i < n_dims; i++)
		if (dims[i] == AN_DIM_DAY || dims[i] == AN_DIM_WEEK)
			return ks_fail(e, KS_ERR_INVALID, dim_param,
				       "figures are given per month, quarter or year, not per %s",
				       an_dim_name(dims[i]));
	/* As of the start of today: a figure that moves while you watch
	 * tells who just answered. */
	dc_policy p = api_policy(app);
	if (f->to == 0 || f->to > p.as_of)
		f->to = p.as_of;
	if (f->from >= f->to)
		f->from = f->to; /* a period that has not begun: empty, not "all time" */
	return KS_OK;
}

ks_err api_cell_members(ks_buf *b, const metrics_counts *c, const dc_vis *v)
{
	return metrics_json_members_masked(b, c, v->min_n, &v->show);
}

json_t *api_cell_json(const metrics_counts *c, const dc_vis *v)
{
	return metrics_json_masked(c, v->min_n, &v->show);
}
