/* api_metrics.c — GET /api/v1/metrics: NPS, grade and CES for a filtered
 * slice. The counting happens in the store, the arithmetic in
 * src/metrics/metrics.c; this file only reads the filter and applies the
 * minimum-n rule's threshold.
 */
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api.h"

static const char *const api_metric_params[] = {"from", "to", "team_id", "employee_id",
						"touchpoint_id", "journey_id", "channel", NULL};

typedef struct api_unknown {
	char name[64];
} api_unknown;

static enum MHD_Result api_find_unknown(void *cls, enum MHD_ValueKind kind, const char *key,
					const char *value)
{
	(void)kind;
	(void)value;
	api_unknown *u = cls;
	for (size_t i = 0; api_metric_params[i]; i++)
		if (strcmp(api_metric_params[i], key) == 0)
			return MHD_YES;
	snprintf(u->name, sizeof u->name, "%s", key);
	return MHD_NO;
}

static ks_err api_date_param(http_req *req, const char *name, int64_t *out, ks_error *e)
{
	const char *v = http_query(req, name);
	*out = 0;
	if (v == NULL)
		return KS_OK;
	if (clock_parse_iso(v, out) != KS_OK)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a date (YYYY-MM-DD) or ISO time", name);
	return KS_OK;
}

static ks_err api_metrics_filter(http_req *req, store_metrics_filter *f, ks_error *e)
{
	memset(f, 0, sizeof *f);
	api_unknown u = {.name = ""};
	/* A typo in a filter must not silently widen the slice. */
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, api_find_unknown, &u);
	if (u.name[0])
		return ks_fail(e, KS_ERR_INVALID, u.name, "unknown filter %s", u.name);
	ks_err err = api_date_param(req, "from", &f->from, e);
	if (!err)
		err = api_date_param(req, "to", &f->to, e);
	if (!err && f->from && f->to && f->to <= f->from)
		err = ks_fail(e, KS_ERR_RANGE, "to", "to must be after from");
	if (!err)
		err = api_query_id(req, "team_id", &f->team_id, e);
	if (!err)
		err = api_query_id(req, "employee_id", &f->employee_id, e);
	if (!err)
		err = api_query_id(req, "touchpoint_id", &f->touchpoint_id, e);
	if (!err)
		err = api_query_id(req, "journey_id", &f->journey_id, e);
	const char *ch = http_query(req, "channel");
	if (!err && ch) {
		if (!model_channel_valid(ch))
			return ks_fail(e, KS_ERR_INVALID, "channel", "unknown channel %s", ch);
		snprintf(f->channel, sizeof f->channel, "%s", ch);
	}
	return err;
}

static json_t *api_filter_json(const store_metrics_filter *f)
{
	char from[32] = "", to[32] = "";
	if (f->from)
		clock_format_iso(f->from, from, sizeof from);
	if (f->to)
		clock_format_iso(f->to, to, sizeof to);
	json_t *o = json_object();
	json_object_set_new(o, "from", f->from ? json_string(from) : json_null());
	json_object_set_new(o, "to", f->to ? json_string(to) : json_null());
	const char *names[] = {"team_id", "employee_id", "touchpoint_id", "journey_id"};
	const int64_t vals[] = {f->team_id, f->employee_id, f->touchpoint_id, f->journey_id};
	for (size_t i = 0; i < 4; i++)
		json_object_set_new(o, names[i], vals[i] ? json_integer(vals[i]) : json_null());
	json_object_set_new(o, "channel", f->channel[0] ? json_string(f->channel) : json_null());
	return o;
}

ks_err api_metrics(http_req *req, ks_error *e);
ks_err api_metrics(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_metrics_filter f;
	metrics_counts c;
	ks_err err = api_metrics_filter(req, &f, e);
	if (!err)
		err = store_metrics_counts(app->store, &f, &c, e);
	if (err)
		return err;
	/* One person's scores need a larger group before they are shown:
	 * privacy, and honesty about how little a handful of answers says. */
	int64_t min_n = f.employee_id ? app->min_n_employee : app->min_n;
	json_t *out = metrics_json(&c, min_n);
	json_object_set_new(out, "filter", api_filter_json(&f));
	http_reply_json(req, 200, out);
	return KS_OK;
}
