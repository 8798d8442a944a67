/* api_metrics.c — the numbers: GET /api/v1/metrics (any slice, grouped by up
 * to two dimensions), /metrics/trend and /metrics/compare, as JSON or CSV.
 *
 * Counting happens in the analytics index (src/analytics), arithmetic in
 * src/metrics; this file reads the request and applies the minimum-n rule,
 * which holds everywhere, exports included: below it a group shows n and
 * "not enough responses", never a score.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/analytics.h"
#include "api/api.h"

/* ---- the filter ------------------------------------------------------------ */

static const char *const api_filter_params[] = {
	"from", "to", "period", "team_id", "employee_id", "touchpoint_id", "journey_id", "channel",
	"language", "segment", "age_band", "customer_since_band", "city", NULL};

static bool api_known(const char *key, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

typedef struct api_params {
	const char *const *extra;  /* endpoint-specific parameters */
	bool prefixed;             /* compare: "a." / "b." forms allowed */
} api_params;

static bool api_metric_param(const char *key, void *arg)
{
	const api_params *ps = arg;
	const char *k = key;
	if (ps->prefixed && (strncmp(k, "a.", 2) == 0 || strncmp(k, "b.", 2) == 0))
		k += 2;
	return api_known(k, api_filter_params) || api_known(key, ps->extra);
}

/* A typo in a parameter must not silently widen the slice. */
static ks_err api_check_params(http_req *req, const char *const *extra, bool prefixed, ks_error *e)
{
	api_params ps = {.extra = extra, .prefixed = prefixed};
	return api_query_only(req, api_metric_param, &ps, e);
}

/* Query argument pfx+name (pfx "" or "a." / "b."), falling back to the
 * plain name when a prefix is given. */
static const char *api_arg(http_req *req, const char *pfx, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "%s%s", pfx, name);
	const char *v = http_query(req, key);
	return v || pfx[0] == '\0' ? v : http_query(req, name);
}

static ks_err api_arg_id(http_req *req, const char *pfx, const char *name, int64_t *out, ks_error *e)
{
	const char *v = api_arg(req, pfx, name);
	*out = 0;
	if (v == NULL)
		return KS_OK;
	char *end = NULL;
	long long x = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || x <= 0)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a positive integer id", name);
	*out = x;
	return KS_OK;
}

static ks_err api_arg_text(http_req *req, const char *pfx, const char *name, char *out, size_t n,
			   ks_error *e)
{
	const char *v = api_arg(req, pfx, name);
	out[0] = '\0';
	if (v == NULL)
		return KS_OK;
	if (strlen(v) >= n)
		return ks_fail(e, KS_ERR_RANGE, name, "%s is too long", name);
	memcpy(out, v, strlen(v) + 1);
	return KS_OK;
}

/* period=YYYY | YYYY-MM | YYYY-Qn | last_Nd: a shorthand for from/to. */
static ks_err api_period(const char *v, int64_t now, int64_t *from, int64_t *to, ks_error *e)
{
	int y, m, q, days, used = 0;
	if (sscanf(v, "last_%dd%n", &days, &used) == 1 && v[used] == '\0' && days > 0 && days <= 3660) {
		*to = (now / 86400 + 1) * 86400;
		*from = *to - (int64_t)days * 86400;
		return KS_OK;
	}
	if (sscanf(v, "%4d-Q%1d%n", &y, &q, &used) == 2 && v[used] == '\0' && q >= 1 && q <= 4) {
		*from = clock_days_from_civil(y, (q - 1) * 3 + 1, 1) * 86400;
		*to = (q == 4 ? clock_days_from_civil(y + 1, 1, 1) : clock_days_from_civil(y, q * 3 + 1, 1)) * 86400;
		return KS_OK;
	}
	if (sscanf(v, "%4d-%2d%n", &y, &m, &used) == 2 && v[used] == '\0' && m >= 1 && m <= 12) {
		*from = clock_days_from_civil(y, m, 1) * 86400;
		*to = (m == 12 ? clock_days_from_civil(y + 1, 1, 1) : clock_days_from_civil(y, m + 1, 1)) * 86400;
		return KS_OK;
	}
	if (sscanf(v, "%4d%n", &y, &used) == 1 && v[used] == '\0' && y >= 1970 && y <= 2100) {
		*from = clock_days_from_civil(y, 1, 1) * 86400;
		*to = clock_days_from_civil(y + 1, 1, 1) * 86400;
		return KS_OK;
	}
	return ks_fail(e, KS_ERR_INVALID, "period", "period must be YYYY, YYYY-MM, YYYY-Qn or last_Nd");
}

static ks_err api_time_arg(http_req *req, const char *pfx, const char *name, int64_t *out, ks_error *e)
{
	const char *v = api_arg(req, pfx, name);
	*out = 0;
	if (v && clock_parse_iso(v, out) != KS_OK)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a date (YYYY-MM-DD) or ISO time", name);
	return KS_OK;
}

/* The filter of the request (pfx "" or "a." / "b."), narrowed to what the
 * caller may see (api_scope). by_employee: the request groups by employee. */
static ks_err api_filter(http_req *req, const char *pfx, bool by_employee, an_filter *f, ks_error *e)
{
	api_app *app = req->app;
	memset(f, 0, sizeof *f);
	ks_err err = api_time_arg(req, pfx, "from", &f->from, e);
	if (!err)
		err = api_time_arg(req, pfx, "to", &f->to, e);
	const char *period = api_arg(req, pfx, "period");
	if (!err && period && (f->from || f->to))
		err = ks_fail(e, KS_ERR_INVALID, "period", "give period or from/to, not both");
	if (!err && period)
		err = api_period(period, clock_now(app->clock), &f->from, &f->to, e);
	if (!err && f->from && f->to && f->to <= f->from)
		err = ks_fail(e, KS_ERR_RANGE, "to", "to must be after from");
	const char *ids[] = {"team_id", "employee_id", "touchpoint_id", "journey_id"};
	int64_t *dst[] = {&f->team_id, &f->employee_id, &f->touchpoint_id, &f->journey_id};
	for (size_t i = 0; !err && i < 4; i++)
		err = api_arg_id(req, pfx, ids[i], dst[i], e);
	if (!err)
		err = api_arg_text(req, pfx, "channel", f->channel, sizeof f->channel, e);
	if (!err && f->channel[0] && !model_channel_valid(f->channel))
		err = ks_fail(e, KS_ERR_INVALID, "channel", "unknown channel %s", f->channel);
	char lang[8];
	if (!err)
		err = api_arg_text(req, pfx, "language", lang, sizeof lang, e);
	if (!err && lang[0] && !model_language_valid(lang))
		err = ks_fail(e, KS_ERR_INVALID, "language", "language must be nl or en");
	if (!err && lang[0])
		memcpy(f->language, lang, sizeof f->language);
	if (!err)
		err = api_arg_text(req, pfx, "segment", f->segment, sizeof f->segment, e);
	if (!err)
		err = api_arg_text(req, pfx, "age_band", f->age_band, sizeof f->age_band, e);
	if (!err)
		err = api_arg_text(req, pfx, "customer_since_band", f->since_band, sizeof f->since_band, e);
	if (!err)
		err = api_arg_text(req, pfx, "city", f->city, sizeof f->city, e);
	if (!err)
		err = api_scope(req, &f->team_id, &f->employee_id, by_employee, e);
	return err;
}

static json_t *api_filter_json(const an_filter *f)
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
	const char *tn[] = {"channel", "language", "segment", "age_band", "customer_since_band", "city"};
	const char *tv[] = {f->channel, f->language, f->segment, f->age_band, f->since_band, f->city};
	for (size_t i = 0; i < 6; i++)
		json_object_set_new(o, tn[i], tv[i][0] ? json_string(tv[i]) : json_null());
	return o;
}

/* ---- minimum n -------------------------------------------------------------------- */

/* One person's scores need a larger group before they are shown: privacy,
 * and honesty about how little a handful of answers says. */
static int64_t api_min_n(const api_app *app, const an_filter *f, const an_dim *dims, int n_dims)
{
	bool person = f->employee_id != 0;
	for (int i = 0; i < n_dims; i++)
		person = person || dims[i] == AN_DIM_EMPLOYEE;
	return person ? app->min_n_employee : app->min_n;
}

/* ---- output ------------------------------------------------------------------------ */

static bool api_wants_csv(http_req *req)
{
	const char *fmt = http_query(req, "format");
	if (fmt)
		return strcmp(fmt, "csv") == 0;
	const char *acc = http_header(req, "Accept");
	return acc && strstr(acc, "text/csv") != NULL;
}

static ks_err api_format_arg(http_req *req, ks_error *e)
{
	const char *fmt = http_query(req, "format");
	if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0)
		return ks_fail(e, KS_ERR_INVALID, "format", "format must be json or csv");
	return KS_OK;
}

/* RFC 4180 field: quoted when it holds a comma, quote or line break. A
 * leading = + - @ is prefixed with ' so spreadsheets do not run it. */
static ks_err api_csv_field(ks_buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	ks_err err = quote ? buf_puts(b, "\"") : KS_OK;
	if (!err && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') &&
	    !(s[0] == '-' && s[1] >= '0' && s[1] <= '9'))
		err = buf_puts(b, "'");
	for (const char *p = s; !err && *p; p++)
		err = *p == '"' ? buf_puts(b, "\"\"") : buf_append(b, p, 1);
	if (!err && quote)
		err = buf_puts(b, "\"");
	return err;
}

static ks_err api_csv_metrics(ks_buf *b, const metrics_counts *c, int64_t min_n)
{
	if (c->n < min_n)
		return buf_printf(b, ",%lld,,,,,,,,,,,,,not enough responses\r\n", (long long)c->n);
	metrics_summary s;
	metrics_compute(c, &s);
	ks_err err = buf_printf(b, ",%lld,%lld", (long long)c->n, (long long)c->nps_n);
	if (!err && s.has_nps)
		err = buf_printf(b, ",%.1f,%.1f,%.1f,%.4f,%.4f,%.4f", s.nps, s.nps_low, s.nps_high,
				 s.promoter_share, s.passive_share, s.detractor_share);
	else if (!err)
		err = buf_puts(b, ",,,,,,");
	if (!err && s.has_grade)
		err = buf_printf(b, ",%.2f,%.4f,%.4f", s.grade_mean, s.grade_7plus_share, s.grade_9plus_share);
	else if (!err)
		err = buf_puts(b, ",,,");
	if (!err && s.has_ces)
		err = buf_printf(b, ",%.2f,%.4f,\r\n", s.ces_mean, s.ces_5plus_share);
	else if (!err)
		err = buf_puts(b, ",,,\r\n");
	return err;
}

static const char *const api_csv_head =
	"n,nps_n,nps,nps_low,nps_high,promoters,passives,detractors,grade_mean,grade_7plus,"
	"grade_9plus,ces_mean,ces_5plus,note\r\n";

static ks_err api_reply_csv(http_req *req, const an_result *r, int64_t min_n)
{
	ks_buf b;
	buf_init(&b, 64u << 20);
	ks_err err = KS_OK;
	for (int i = 0; !err && i < r->n_dims; i++)
		err = buf_printf(&b, "%s,", an_dim_name(r->dims[i]));
	if (!err)
		err = buf_puts(&b, api_csv_head);
	for (size_t g = 0; !err && g < r->n_groups; g++) {
		for (int i = 0; !err && i < r->n_dims; i++) {
			err = api_csv_field(&b, r->groups[g].key[i]);
			if (!err && i + 1 < r->n_dims)
				err = buf_puts(&b, ",");
		}
		if (!err)
			err = api_csv_metrics(&b, &r->groups[g].c, min_n);
	}
	for (int i = 0; !err && i < r->n_dims; i++)
		err = buf_puts(&b, i == 0 ? "total" : ",");
	if (!err)
		err = api_csv_metrics(&b, &r->total, min_n);
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, 200, "text/csv; charset=utf-8", &b);
	return KS_OK;
}

/* sort=key (default) | n | nps | grade | ces, "-" for descending. */
typedef struct api_sort {
	const char *by;
	bool desc;
} api_sort;

static double api_sort_value(const an_group *g, const char *by, int64_t min_n)
{
	const metrics_counts *c = &g->c;
	if (strcmp(by, "n") == 0)
		return (double)c->n;
	if (c->n < min_n)
		return -1e9; /* masked groups sort last */
	if (strcmp(by, "nps") == 0)
		return c->nps_n ? (double)(c->promoters - c->detractors) / (double)c->nps_n : -1e9;
	if (strcmp(by, "grade") == 0)
		return c->grade_n ? (double)c->grade_sum / (double)c->grade_n : -1e9;
	return c->ces_n ? (double)c->ces_sum / (double)c->ces_n : -1e9;
}

static ks_err api_sort_parse(http_req *req, api_sort *s, ks_error *e)
{
	const char *v = http_query(req, "sort");
	s->by = "key";
	s->desc = false;
	if (v == NULL)
		return KS_OK;
	s->desc = v[0] == '-';
	s->by = s->desc ? v + 1 : v;
	const char *ok[] = {"key", "n", "nps", "grade", "ces", NULL};
	if (!api_known(s->by, ok))
		return ks_fail(e, KS_ERR_INVALID, "sort", "sort must be key, n, nps, grade or ces (- for descending)");
	return KS_OK;
}

/* Stable insertion sort on the (few hundred) groups, by value. */
static void api_sort_groups(an_result *r, const api_sort *s, int64_t min_n)
{
	if (strcmp(s->by, "key") == 0) {
		for (size_t i = 0; s->desc && i < r->n_groups / 2; i++) {
			an_group t = r->groups[i];
			r->groups[i] = r->groups[r->n_groups - 1 - i];
			r->groups[r->n_groups - 1 - i] = t;
		}
		return;
	}
	for (size_t i = 1; i < r->n_groups; i++) {
		an_group g = r->groups[i];
		double v = api_sort_value(&g, s->by, min_n);
		size_t j = i;
		while (j > 0) {
			double u = api_sort_value(&r->groups[j - 1], s->by, min_n);
			if (s->desc ? u >= v : u <= v)
				break;
			r->groups[j] = r->groups[j - 1];
			j--;
		}
		r->groups[j] = g;
	}
}

/* One group's key as JSON text: {"id":..,"name":..} for entities (id null
 * for "none"), a plain string for values such as "2026-03" or "phone". */
static ks_err api_key_text(ks_buf *b, const an_group *g, int i, an_dim d)
{
	bool entity = d == AN_DIM_TEAM || d == AN_DIM_DEPARTMENT || d == AN_DIM_ORGANISATION ||
		      d == AN_DIM_EMPLOYEE || d == AN_DIM_TOUCHPOINT || d == AN_DIM_JOURNEY;
	if (!entity)
		return buf_json_str(b, g->key[i]);
	ks_err err = g->id[i] ? buf_printf(b, "{\"id\":%lld,\"name\":", (long long)g->id[i])
			      : buf_puts(b, "{\"id\":null,\"name\":");
	if (!err)
		err = buf_json_str(b, g->key[i]);
	return err ? err : buf_puts(b, "}");
}

/* The reply of a breakdown: top (total, filter, group_by) from jansson, and
 * the rows written as text. A breakdown can have thousands of rows; a
 * jansson tree for them costs several times the query itself. */
static ks_err api_reply_rows(http_req *req, json_t *top, const an_result *r, int64_t min_n)
{
	char *head = json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (head == NULL)
		return KS_ERR_NOMEM;
	ks_buf b;
	buf_init(&b, 256u << 20);
	size_t hl = strlen(head);
	ks_err err = buf_append(&b, head, hl - 1); /* without the closing brace */
	free(head);
	if (!err)
		err = buf_puts(&b, ",\"rows\":[");
	for (size_t g = 0; !err && g < r->n_groups; g++) {
		err = buf_puts(&b, g ? ",{" : "{");
		if (!err)
			err = metrics_json_members(&b, &r->groups[g].c, min_n);
		for (int i = 0; !err && i < r->n_dims; i++) {
			err = buf_puts(&b, ",");
			if (!err)
				err = buf_json_str(&b, an_dim_name(r->dims[i]));
			if (!err)
				err = buf_puts(&b, ":");
			if (!err)
				err = api_key_text(&b, &r->groups[g], i, r->dims[i]);
		}
		if (!err)
			err = buf_puts(&b, "}");
	}
	if (!err)
		err = buf_puts(&b, "]}");
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, 200, "application/json", &b);
	return KS_OK;
}

/* measures=nps counts NPS only (faster on large breakdowns; grade and CES
 * are then null); the default is all. */
static ks_err api_measures(http_req *req, an_filter *f, ks_error *e)
{
	const char *v = http_query(req, "measures");
	if (v == NULL || strcmp(v, "all") == 0)
		return KS_OK;
	if (strcmp(v, "nps") != 0)
		return ks_fail(e, KS_ERR_INVALID, "measures", "measures must be all or nps");
	f->nps_only = true;
	return KS_OK;
}

/* ---- GET /api/v1/metrics --------------------------------------------------------------- */

static ks_err api_group_by(http_req *req, an_dim *dims, int *n, ks_error *e)
{
	const char *v = http_query(req, "group_by");
	*n = 0;
	if (v == NULL || *v == '\0')
		return KS_OK;
	char buf[128];
	if (strlen(v) >= sizeof buf)
		return ks_fail(e, KS_ERR_INVALID, "group_by", "group_by is too long");
	memcpy(buf, v, strlen(v) + 1);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == 2)
			return ks_fail(e, KS_ERR_INVALID, "group_by", "at most two dimensions");
		an_dim d = an_dim_from_name(tok);
		if (d == AN_DIM_NONE)
			return ks_fail(e, KS_ERR_INVALID, "group_by",
				       "unknown dimension %.40s (team, department, organisation, employee, "
				       "touchpoint, journey, channel, language, segment, age_band, "
				       "customer_since_band, city, day, week, month, quarter, year)", tok);
		if (*n == 1 && dims[0] == d)
			return ks_fail(e, KS_ERR_INVALID, "group_by", "the two dimensions must differ");
		dims[(*n)++] = d;
	}
	return KS_OK;
}

ks_err api_metrics(http_req *req, ks_error *e);
ks_err api_metrics(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"group_by", "format", "sort", "measures", NULL};
	api_app *app = req->app;
	an_filter f;
	an_dim dims[2];
	int n_dims = 0;
	api_sort sort;
	ks_err err = api_check_params(req, extra, false, e);
	if (!err)
		err = api_group_by(req, dims, &n_dims, e);
	bool by_employee = (n_dims > 0 && dims[0] == AN_DIM_EMPLOYEE) ||
			   (n_dims > 1 && dims[1] == AN_DIM_EMPLOYEE);
	if (!err)
		err = api_filter(req, "", by_employee, &f, e);
	if (!err)
		err = api_measures(req, &f, e);
	if (!err)
		err = api_format_arg(req, e);
	if (!err)
		err = api_sort_parse(req, &sort, e);
	an_result r;
	if (!err)
		err = an_query(app->index, &f, dims, n_dims, &r, e);
	if (err)
		return err;
	int64_t min_n = api_min_n(app, &f, dims, n_dims);
	api_sort_groups(&r, &sort, min_n);
	if (api_wants_csv(req)) {
		err = api_reply_csv(req, &r, min_n);
		an_result_free(&r);
		return err;
	}
	json_t *out = metrics_json(&r.total, min_n);
	json_object_set_new(out, "filter", api_filter_json(&f));
	if (n_dims == 0) {
		an_result_free(&r);
		http_reply_json(req, 200, out);
		return KS_OK;
	}
	json_t *gb = json_array();
	for (int i = 0; i < n_dims; i++)
		json_array_append_new(gb, json_string(an_dim_name(dims[i])));
	json_object_set_new(out, "group_by", gb);
	err = api_reply_rows(req, out, &r, min_n);
	json_decref(out);
	an_result_free(&r);
	return err;
}

/* ---- GET /api/v1/metrics/trend ------------------------------------------------------------ */

ks_err api_metrics_trend(http_req *req, ks_error *e);
ks_err api_metrics_trend(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"interval", "format", NULL};
	api_app *app = req->app;
	an_filter f;
	const char *iv = http_query(req, "interval");
	an_dim d = an_dim_from_name(iv ? iv : "month");
	ks_err err = api_check_params(req, extra, false, e);
	if (!err && !an_dim_is_time(d))
		err = ks_fail(e, KS_ERR_INVALID, "interval", "interval must be day, week, month, quarter or year");
	if (!err)
		err = api_filter(req, "", false, &f, e);
	if (!err)
		err = api_format_arg(req, e);
	an_result r;
	if (!err)
		err = an_query(app->index, &f, &d, 1, &r, e);
	if (err)
		return err;
	int64_t min_n = api_min_n(app, &f, &d, 1);
	if (api_wants_csv(req)) {
		err = api_reply_csv(req, &r, min_n);
		an_result_free(&r);
		return err;
	}
	/* Each point carries its change against the previous point, with the
	 * verdict of the z-test: a trend line must not sell noise as news. */
	json_t *points = json_array();
	for (size_t g = 0; g < r.n_groups; g++) {
		json_t *pt = metrics_json(&r.groups[g].c, min_n);
		json_object_set_new(pt, "period", json_string(r.groups[g].key[0]));
		if (g > 0) {
			metrics_change ch;
			metrics_compare_nps(&r.groups[g - 1].c, &r.groups[g].c, min_n, &ch);
			json_t *cj = metrics_change_json(&ch);
			json_object_set_new(cj, "vs", json_string(r.groups[g - 1].key[0]));
			json_object_set_new(pt, "nps_change", cj);
		}
		json_array_append_new(points, pt);
	}
	json_t *out = json_pack("{s:s, s:o, s:I, s:o}", "interval", an_dim_name(d), "filter",
				api_filter_json(&f), "min_n", (json_int_t)min_n, "points", points);
	an_result_free(&r);
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- GET /api/v1/metrics/compare ------------------------------------------------------------ */

ks_err api_metrics_compare(http_req *req, ks_error *e);
ks_err api_metrics_compare(http_req *req, ks_error *e)
{
	static const char *const extra[] = {NULL};
	api_app *app = req->app;
	an_filter fa, fb;
	ks_err err = api_check_params(req, extra, true, e);
	if (!err)
		err = api_filter(req, "a.", false, &fa, e);
	if (!err)
		err = api_filter(req, "b.", false, &fb, e);
	if (!err && memcmp(&fa, &fb, sizeof fa) == 0)
		err = ks_fail(e, KS_ERR_INVALID, "b.from",
			      "the two sides are the same slice: give a.* and b.* parameters that differ");
	an_result ra, rb;
	memset(&rb, 0, sizeof rb);
	if (!err)
		err = an_query(app->index, &fa, NULL, 0, &ra, e);
	if (!err) {
		err = an_query(app->index, &fb, NULL, 0, &rb, e);
		if (err)
			an_result_free(&ra);
	}
	if (err)
		return err;
	int64_t min_n = api_min_n(app, &fa, NULL, 0);
	int64_t min_b = api_min_n(app, &fb, NULL, 0);
	if (min_b > min_n)
		min_n = min_b;
	metrics_change nps, grade;
	metrics_compare_nps(&ra.total, &rb.total, min_n, &nps);
	metrics_compare_grade(&ra.total, &rb.total, min_n, &grade);
	json_t *a = metrics_json(&ra.total, min_n), *b = metrics_json(&rb.total, min_n);
	json_object_set_new(a, "filter", api_filter_json(&fa));
	json_object_set_new(b, "filter", api_filter_json(&fb));
	json_t *out = json_pack("{s:o, s:o, s:I, s:o, s:o}", "a", a, "b", b, "min_n", (json_int_t)min_n,
				"nps_change", metrics_change_json(&nps), "grade_change",
				metrics_change_json(&grade));
	an_result_free(&ra);
	an_result_free(&rb);
	http_reply_json(req, 200, out);
	return KS_OK;
}
