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
#include <microhttpd.h>  /* attr.<key> parameters (issue 16, H5) */

#include "analytics/analytics.h"
#include "api/api.h"
#include "model/idata.h"  /* IDATA_TEXT_MAX: an attribute filter takes every value an import takes */

_Static_assert(AN_ATTR_VALUE_MAX == IDATA_TEXT_MAX, "attr.<key>= must take every imported value (issue 16 H10)");

/* ---- the filter ------------------------------------------------------------ */

static const char *const api_filter_params[] = {
	"from", "to", "period", "team_id", "employee_id", "touchpoint_id", "journey_id", "channel",
	"language", "segment", "age_band", "customer_since_band", "city", "theme", "sentiment",
	"product", "login_band", "newsletter", NULL};  /* + attr.<key> (issue 16, H5) */

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
	return api_known(k, api_filter_params) || api_known(key, ps->extra) ||
	       (strncmp(k, "attr.", 5) == 0 && k[5] != '\0');  /* issue 16 (H5) */
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

/* An id filter that names no row is an error, not an empty slice: a typo
 * in team_id must not read as "no answers yet" (API.md, Metrics filters).
 * Existence of a unit, employee, touchpoint or journey is no secret to
 * anyone who may call /metrics, so this runs before api_scope. */
static ks_err api_filter_refs(api_app *app, const char *pfx, const an_filter *f, ks_error *e)
{
	const char *fields[] = {"team_id", "employee_id", "touchpoint_id", "journey_id"};
	const char *entities[] = {"teams", "employees", "touchpoints", "journeys"};
	const int64_t ids[] = {f->team_id, f->employee_id, f->touchpoint_id, f->journey_id};
	for (size_t i = 0; i < 4; i++) {
		if (ids[i] == 0)
			continue;
		json_t *row = NULL;
		ks_err err = store_entity_get(app->store, model_entity_find(entities[i]), ids[i], &row, NULL);
		json_decref(row);
		if (err == KS_ERR_NOTFOUND)
			return ks_fail(e, KS_ERR_REF, fields[i], "%s%s %lld names no such row", pfx ? pfx : "",
				       fields[i], (long long)ids[i]);
		if (err)
			return ks_fail(e, err, fields[i], "could not look up %s", fields[i]);
	}
	return KS_OK;
}

/* ---- issue 14: theme and sentiment ----------------------------------------- */

/* Does the taxonomy (the store's, else the shipped default) or the index
 * know theme id? A theme dropped from the taxonomy keeps its stored
 * analyses until the reanalysis has run, so the index's ids count too. */
static bool api_theme_known(api_app *app, const char *id)
{
	char seen[AN_MAX_THEMES][48];
	size_t n = an_index_theme_ids(app->index, seen, AN_MAX_THEMES);
	for (size_t i = 0; i < n; i++)
		if (strcmp(seen[i], id) == 0)
			return true;
	json_t *tax = NULL;
	bool found = false;
	if (api_text_taxonomy(app, &tax) == KS_OK) {
		size_t i;
		json_t *th;
		json_array_foreach(json_object_get(tax, "themes"), i, th) {
			const char *tid = json_string_value(json_object_get(th, "id"));
			found = found || (tid && strcmp(tid, id) == 0);
		}
	}
	json_decref(tax);
	return found;
}

/* theme=<id> (a theme of the taxonomy) and sentiment=negative|neutral|positive. */
static ks_err api_filter_text(http_req *req, const char *pfx, an_filter *f, ks_error *e)
{
	ks_err err = api_arg_text(req, pfx, "theme", f->theme, sizeof f->theme, e);
	if (!err && f->theme[0] && !api_theme_known(req->app, f->theme))
		err = ks_fail(e, KS_ERR_INVALID, "theme", "unknown theme %.47s (an id of the taxonomy)",
			      f->theme);
	char sent[16];
	if (!err)
		err = api_arg_text(req, pfx, "sentiment", sent, sizeof sent, e);
	if (!err && sent[0] && an_sentiment_code(sent) == 0)
		err = ks_fail(e, KS_ERR_INVALID, "sentiment", "sentiment must be negative, neutral or positive");
	if (!err && sent[0]) /* one of the three names: it fits */
		memcpy(f->sentiment, sent, strlen(sent) + 1 <= sizeof f->sentiment ? strlen(sent) + 1 : 0);
	return err;
}

/* ---- issue 16 (H5): the organisation's own data --------------------------------- */

typedef struct api_attr_args {
	const char *pfx;         /* the side's prefix ("" or "a." / "b.") */
	bool plain;              /* this pass takes the unprefixed attr.<key> */
	an_filter *f;
	size_t n;
	char bad[64];            /* the parameter at fault */
	const char *why;
} api_attr_args;

/* One attr.<key>=value parameter: a side's own (pfx + attr.<key>) first,
 * then the shared plain ones it does not set itself, like api_arg. */
static enum MHD_Result api_attr_visit(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	api_attr_args *a = cls;
	size_t pl = a->plain ? 0 : strlen(a->pfx);
	if (strncmp(key, a->pfx, pl) != 0 || strncmp(key + pl, "attr.", 5) != 0)
		return MHD_YES;
	const char *k = key + pl + 5;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->f->attr[i].key, k) == 0)
			return MHD_YES;  /* the side's own, or given twice: the first */
	snprintf(a->bad, sizeof a->bad, "%s", key);
	if (a->n == sizeof a->f->attr / sizeof a->f->attr[0]) {
		a->why = "at most 4 attribute filters";
		return MHD_NO;
	}
	if (*k == '\0' || strlen(k) >= sizeof a->f->attr[0].key || value == NULL || value[0] == '\0' ||
	    strlen(value) >= sizeof a->f->attr[0].value) {
		a->why = "an attribute filter is attr.<key>=<value>, a key of up to 32 and a value of up to 500 bytes";
		return MHD_NO;
	}
	snprintf(a->f->attr[a->n].key, sizeof a->f->attr[0].key, "%s", k);
	snprintf(a->f->attr[a->n].value, sizeof a->f->attr[0].value, "%s", value);
	a->n++;
	a->bad[0] = '\0';
	return MHD_YES;
}

/* product=ID, login_band=none|1-3|4-10|11+|unknown, newsletter=yes|no|unknown
 * and attr.<key>=value (at most 4): filters on the organisation's own data
 * (docs/API.md "Metrics filters"). A key the index does not hold is an
 * error naming it, not an empty slice. */
static ks_err api_filter_attr(http_req *req, const char *pfx, an_filter *f, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = api_arg_id(req, pfx, "product", &f->product_id, e);
	if (!err && f->product_id && !an_index_has_product(app->index, f->product_id))
		err = ks_fail(e, KS_ERR_REF, "product", "product %lld names no imported product",
			      (long long)f->product_id);
	static const char *const bands[] = {"none", "1-3", "4-10", "11+", "unknown", NULL};
	static const char *const news[] = {"yes", "no", "unknown", NULL};
	if (!err)
		err = api_arg_text(req, pfx, "login_band", f->login_band, sizeof f->login_band, e);
	if (!err && f->login_band[0] && !api_known(f->login_band, bands))
		err = ks_fail(e, KS_ERR_INVALID, "login_band", "login_band must be none, 1-3, 4-10, 11+ or unknown");
	if (!err)
		err = api_arg_text(req, pfx, "newsletter", f->newsletter, sizeof f->newsletter, e);
	if (!err && f->newsletter[0] && !api_known(f->newsletter, news))
		err = ks_fail(e, KS_ERR_INVALID, "newsletter", "newsletter must be yes, no or unknown");
	if (err)
		return err;
	api_attr_args a = {.pfx = pfx, .plain = pfx[0] == '\0', .f = f};
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, api_attr_visit, &a);
	if (!a.bad[0] && !a.plain) {
		a.plain = true;
		MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, api_attr_visit, &a);
	}
	if (a.bad[0])
		return ks_fail(e, KS_ERR_INVALID, a.bad, "%s: %s", a.bad, a.why ? a.why : "invalid");
	for (size_t i = 0; i < a.n; i++) {
		char name[48];
		snprintf(name, sizeof name, "attr.%s", f->attr[i].key);
		if (an_dim_resolve(app->index, name) == AN_DIM_NONE)
			return ks_fail(e, KS_ERR_INVALID, name, "%s names no attribute the index holds (GET "
				       "/api/v1/metrics/dimensions lists them)", name);
	}
	return KS_OK;
}

/* The filter of the request (pfx "" or "a." / "b."), its time window in the
 * organisation's calendar, narrowed to what the caller may see (api_scope)
 * and to what disclosure control allows for the grouping (dims, carried by
 * dim_param). */
static ks_err api_filter(http_req *req, const char *pfx, const an_dim *dims, int n_dims,
			 const char *dim_param, an_filter *f, api_window *w, ks_error *e)
{
	api_app *app = req->app;
	memset(f, 0, sizeof *f);
	bool by_employee = false;
	for (int i = 0; i < n_dims; i++)
		by_employee = by_employee || dims[i] == AN_DIM_EMPLOYEE;
	ks_err err = api_window_parse(req, pfx, w, e);
	const char *ids[] = {"team_id", "employee_id", "touchpoint_id", "journey_id"};
	int64_t *dst[] = {&f->team_id, &f->employee_id, &f->touchpoint_id, &f->journey_id};
	for (size_t i = 0; !err && i < 4; i++)
		err = api_arg_id(req, pfx, ids[i], dst[i], e);
	if (!err)
		err = api_arg_text(req, pfx, "channel", f->channel, sizeof f->channel, e);
	/* issue 16: channel=relationship asks for a relationship survey's
	 * answers, which every other reply leaves out */
	if (!err && f->channel[0] && !model_channel_valid(f->channel) && strcmp(f->channel, "relationship") != 0)
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
	if (!err) /* issue 14 */
		err = api_filter_text(req, pfx, f, e);
	if (!err) /* issue 16 (H5) */
		err = api_filter_attr(req, pfx, f, e);
	if (!err)
		err = api_filter_refs(app, pfx, f, e);
	if (!err)
		err = api_scope(req, &f->team_id, &f->employee_id, by_employee, e);
	if (!err)
		err = api_window_guard(app, f, w, dims, n_dims, dim_param, e);
	return err;
}

/* The filter as applied: times in the organisation's local time (an "as
 * of" cut shows as the end of the window). */
static json_t *api_filter_json(const api_app *app, const an_filter *f, const api_window *w)
{
	char from[40] = "", to[40] = "";
	if (f->from)
		tz_format_local(&app->tz, f->from, from, sizeof from);
	if (f->to)
		tz_format_local(&app->tz, f->to, to, sizeof to);
	json_t *o = json_object();
	json_object_set_new(o, "period", w->label[0] ? json_string(w->label) : json_null());
	json_object_set_new(o, "time_zone", json_string(app->tz.name));
	json_object_set_new(o, "from", f->from ? json_string(from) : json_null());
	json_object_set_new(o, "to", f->to ? json_string(to) : json_null());
	const char *names[] = {"team_id", "employee_id", "touchpoint_id", "journey_id"};
	const int64_t vals[] = {f->team_id, f->employee_id, f->touchpoint_id, f->journey_id};
	for (size_t i = 0; i < 4; i++)
		json_object_set_new(o, names[i], vals[i] ? json_integer(vals[i]) : json_null());
	const char *tn[] = {"channel", "language", "segment", "age_band", "customer_since_band", "city",
			    "theme", "sentiment"};
	const char *tv[] = {f->channel, f->language, f->segment, f->age_band, f->since_band, f->city,
			    f->theme, f->sentiment};
	for (size_t i = 0; i < 8; i++)
		json_object_set_new(o, tn[i], tv[i][0] ? json_string(tv[i]) : json_null());
	/* issue 16 (H5): set only when used (replies keep their shape) */
	if (f->product_id)
		json_object_set_new(o, "product", json_integer(f->product_id));
	if (f->login_band[0])
		json_object_set_new(o, "login_band", json_string(f->login_band));
	if (f->newsletter[0])
		json_object_set_new(o, "newsletter", json_string(f->newsletter));
	for (size_t i = 0; i < sizeof f->attr / sizeof f->attr[0]; i++) {
		char name[48];
		snprintf(name, sizeof name, "attr.%s", f->attr[i].key);
		if (f->attr[i].key[0])
			json_object_set_new(o, name, json_string(f->attr[i].value));
	}
	return o;
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

/* RFC 4180 field: quoted when it holds a comma, quote, tab or line break.
 * A text that a spreadsheet would read as a formula — a leading = + - @,
 * tab or carriage return, "-1+1" included (OWASP, "CSV Injection") — is
 * prefixed with ' so it stays text. Key columns are names and labels, never
 * the figures (metrics_csv_fields writes those). */
static ks_err api_csv_field(ks_buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\r\n\t") != NULL;
	ks_err err = quote ? buf_puts(b, "\"") : KS_OK;
	if (!err && s[0] && strchr("=+-@\t\r", s[0]) != NULL)
		err = buf_puts(b, "'");
	for (const char *p = s; !err && *p; p++)
		err = *p == '"' ? buf_puts(b, "\"\"") : buf_append(b, p, 1);
	if (!err && quote)
		err = buf_puts(b, "\"");
	return err;
}

static ks_err api_reply_csv(http_req *req, const dc_reply *d)
{
	const an_result *r = &d->r;
	ks_buf b;
	buf_init(&b, 64u << 20);
	ks_err err = KS_OK;
	for (int i = 0; !err && i < r->n_dims; i++)
		err = buf_printf(&b, "%s,", r->dim_name[i]);
	if (!err)
		err = buf_puts(&b, metrics_csv_header);
	for (size_t g = 0; !err && g < r->n_groups; g++) {
		for (int i = 0; !err && i < r->n_dims; i++) {
			err = api_csv_field(&b, r->groups[g].key[i]);
			if (!err && i + 1 < r->n_dims)
				err = buf_puts(&b, ",");
		}
		if (!err)
			err = metrics_csv_fields(&b, &r->groups[g].c, d->groups[g].min_n, &d->groups[g].show);
	}
	for (int i = 0; !err && i < r->n_dims; i++)
		err = buf_puts(&b, i == 0 ? "total" : ",");
	if (!err && r->n_dims > 0)
		err = metrics_csv_fields(&b, &r->total, d->total.min_n, &d->total.show);
	if (!err && r->n_dims == 0) {
		/* No key columns: the line is the measure columns alone, without
		 * the comma that separates them from the keys. */
		ks_buf line;
		buf_init(&line, 4096);
		err = metrics_csv_fields(&line, &r->total, d->total.min_n, &d->total.show);
		if (!err && line.len > 0)
			err = buf_append(&b, line.data + 1, line.len - 1);
		buf_free(&line);
	}
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, 200, "text/csv; charset=utf-8", &b);
	return KS_OK;
}

/* sort=key (default) | n | nps | grade | ces, "-" for descending. Groups
 * whose measure is not shown sort last either way: the order must not
 * tell a hidden score. */
typedef struct api_sort {
	const char *by;
	bool desc;
} api_sort;

/* The sort value of a shown measure; false when the measure is hidden. */
static bool api_sort_value(const an_group *g, const dc_vis *v, const char *by, double *out)
{
	const metrics_counts *c = &g->c;
	if (strcmp(by, "n") == 0) {
		*out = (double)c->n;
		return true;
	}
	if (strcmp(by, "nps") == 0 && v->show.nps && c->nps_n >= v->min_n) {
		*out = (double)(c->promoters - c->detractors) / (double)c->nps_n;
		return true;
	}
	if (strcmp(by, "grade") == 0 && v->show.grade && c->grade_n >= v->min_n) {
		*out = (double)c->grade_sum / (double)c->grade_n;
		return true;
	}
	if (strcmp(by, "ces") == 0 && v->show.ces && c->ces_n >= v->min_n) {
		*out = (double)c->ces_sum / (double)c->ces_n;
		return true;
	}
	return false;
}

static int api_sort_cmp(const an_group *a, const dc_vis *va, const an_group *b, const dc_vis *vb, void *arg)
{
	const api_sort *s = arg;
	double x = 0, y = 0;
	bool hx = api_sort_value(a, va, s->by, &x), hy = api_sort_value(b, vb, s->by, &y);
	if (hx != hy)
		return hx ? -1 : 1;
	if (!hx || x == y)
		return 0;
	return (x < y) == s->desc ? 1 : -1;
}

/* Coaching, not ranking: below director nobody gets people ordered by
 * their score. */
static ks_err api_sort_parse(http_req *req, const an_dim *dims, int n_dims, api_sort *s, ks_error *e)
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
	bool people = false;
	for (int i = 0; i < n_dims; i++)
		people = people || dims[i] == AN_DIM_EMPLOYEE;
	bool score = strcmp(s->by, "key") != 0 && strcmp(s->by, "n") != 0;
	const http_principal *w = &req->who;
	if (people && score && w->authenticated && w->role < AUTH_ROLE_DIRECTOR)
		return ks_fail(e, KS_ERR_INVALID, "sort",
			       "people are not ranked by their scores: sort by key or n");
	return KS_OK;
}

static void api_sort_groups(dc_reply *d, api_sort *s)
{
	an_result *r = &d->r;
	if (strcmp(s->by, "key") != 0) {
		dc_reply_sort(d, api_sort_cmp, s);
		return;
	}
	for (size_t i = 0; s->desc && i < r->n_groups / 2; i++) {
		size_t j = r->n_groups - 1 - i;
		an_group t = r->groups[i];
		r->groups[i] = r->groups[j];
		r->groups[j] = t;
		dc_vis u = d->groups[i];
		d->groups[i] = d->groups[j];
		d->groups[j] = u;
	}
}

/* One group's key as JSON text: {"id":..,"name":..} for entities (id null
 * for "none"), a plain string for values such as "2026-03" or "phone". */
static ks_err api_key_text(ks_buf *b, const an_group *g, int i, an_dim d)
{
	bool entity = d == AN_DIM_TEAM || d == AN_DIM_DEPARTMENT || d == AN_DIM_ORGANISATION ||
		      d == AN_DIM_EMPLOYEE || d == AN_DIM_TOUCHPOINT || d == AN_DIM_JOURNEY ||
		      d == AN_DIM_PRODUCT;  /* issue 16 (H5) */
	if (!entity)
		return buf_json_str(b, g->key[i]);
	ks_err err = g->id[i] ? buf_printf(b, "{\"id\":%lld,\"name\":", (long long)g->id[i])
			      : buf_puts(b, "{\"id\":null,\"name\":");
	if (!err)
		err = buf_json_str(b, g->key[i]);
	return err ? err : buf_puts(b, "}");
}

/* ---- colour by evidence ------------------------------------------------------------ */

/* Does a group's NPS differ from the rest of the reply (total minus the
 * group) beyond noise? The adjusted-Wald z-test of metrics_compare_nps,
 * with Benjamini-Hochberg control at 5% over the groups of the reply
 * (docs/STATISTICS.md). Only where the group, the total and so the rest
 * are shown. signal[g]: 0 none, 1 above, -1 below, 2 noise. */
static ks_err api_signals(const dc_reply *d, int *signal)
{
	const an_result *r = &d->r;
	size_t n = r->n_groups;
	metrics_change *ch = calloc(n ? n : 1, sizeof *ch);
	metrics_change **ptr = calloc(n ? n : 1, sizeof *ptr);
	if (ch == NULL || ptr == NULL) {
		free(ch);
		free(ptr);
		return KS_ERR_NOMEM;
	}
	bool total = d->total.show.nps && r->total.nps_n >= d->total.min_n;
	for (size_t g = 0; g < n; g++) {
		ptr[g] = &ch[g];
		const an_group *gr = &r->groups[g];
		signal[g] = 0;
		if (!total || !d->groups[g].show.nps || gr->c.nps_n < d->groups[g].min_n)
			continue;
		metrics_counts rest = r->total;
		int64_t *x = &rest.n;
		const int64_t *y = &gr->c.n;
		for (size_t i = 0; i < sizeof rest / sizeof(int64_t); i++)
			x[i] -= y[i];
		if (rest.nps_n <= 0)
			continue;
		metrics_compare_nps(&rest, &gr->c, 1, &ch[g]);
		signal[g] = 2;
	}
	metrics_changes_fdr(ptr, n, 0.05);
	for (size_t g = 0; g < n; g++)
		if (signal[g] == 2 && ch[g].verdict == METRICS_REAL_CHANGE)
			signal[g] = ch[g].diff_adj > 0 ? 1 : -1;
	free(ch);
	free(ptr);
	return KS_OK;
}

/* The reply of a breakdown: top (total, filter, group_by) from jansson, and
 * the rows written as text. A breakdown can have thousands of rows; a
 * jansson tree for them costs several times the query itself. */
static ks_err api_reply_rows(ks_buf *out, json_t *top, const dc_reply *d)
{
	const an_result *r = &d->r;
	int *signal = calloc(r->n_groups ? r->n_groups : 1, sizeof *signal);
	if (signal == NULL || api_signals(d, signal) != KS_OK) {
		free(signal);
		return KS_ERR_NOMEM;
	}
	char *head = json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (head == NULL) {
		free(signal);
		return KS_ERR_NOMEM;
	}
	ks_buf b;
	buf_init(&b, 256u << 20);
	size_t hl = strlen(head);
	ks_err err = buf_append(&b, head, hl - 1); /* without the closing brace */
	free(head);
	if (!err)
		err = buf_puts(&b, ",\"rows\":[");
	static const char *const names[] = {"noise", "above", "below"};
	for (size_t g = 0; !err && g < r->n_groups; g++) {
		err = buf_puts(&b, g ? ",{" : "{");
		if (!err)
			err = api_cell_members(&b, &r->groups[g].c, &d->groups[g]);
		if (!err && signal[g])
			err = buf_printf(&b, ",\"nps_signal\":\"%s\"",
					 names[signal[g] == 2 ? 0 : signal[g] == 1 ? 1 : 2]);
		for (int i = 0; !err && i < r->n_dims; i++) {
			err = buf_puts(&b, ",");
			if (!err)
				err = buf_json_str(&b, r->dim_name[i]);
			if (!err)
				err = buf_puts(&b, ":");
			if (!err)
				err = api_key_text(&b, &r->groups[g], i, r->dims[i]);
		}
		if (!err)
			err = buf_puts(&b, "}");
	}
	free(signal);
	if (!err)
		err = buf_puts(&b, "]}");
	if (err) {
		buf_free(&b);
		return err;
	}
	*out = b; /* issue 17 (X): the caller replies with it or renders it */
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
		an_dim d = an_dim_resolve(((api_app *)req->app)->index, tok);  /* attr.<key>: issue 16 */
		if (d == AN_DIM_NONE)
			return ks_fail(e, KS_ERR_INVALID, "group_by",
				       "unknown dimension %.40s (team, department, organisation, employee, "
				       "touchpoint, journey, channel, language, segment, age_band, "
				       "customer_since_band, city, day, week, month, quarter, year, theme, "
				       "sentiment, product, login_band, newsletter, attr.<key>)", tok);
		if (*n == 1 && dims[0] == d)
			return ks_fail(e, KS_ERR_INVALID, "group_by", "the two dimensions must differ");
		if (*n == 1 && an_dim_is_text(dims[0]) && an_dim_is_text(d))
			return ks_fail(e, KS_ERR_INVALID, "group_by",
				       "theme and sentiment cannot be grouped together (GET /api/v1/themes "
				       "gives each theme's sentiment)");
		if (*n == 1 && (dims[0] == AN_DIM_PRODUCT || d == AN_DIM_PRODUCT) &&
		    (an_dim_is_text(dims[0]) || an_dim_is_text(d)))
			return ks_fail(e, KS_ERR_INVALID, "group_by", "product cannot be grouped with theme or sentiment");
		dims[(*n)++] = d;
	}
	return KS_OK;
}

/* ---- shared with GET /api/v1/themes (api_themes.c) --------------------------------- */

ks_err api_metrics_params(http_req *req, const char *const *extra, ks_error *e)
{
	return api_check_params(req, extra, false, e);
}

ks_err api_metrics_filter(http_req *req, const an_dim *dims, int n_dims, const char *dim_param,
			  an_filter *f, api_window *w, ks_error *e)
{
	return api_filter(req, "", dims, n_dims, dim_param, f, w, e);
}

json_t *api_metrics_filter_json(const api_app *app, const an_filter *f, const api_window *w)
{
	return api_filter_json(app, f, w);
}

/* The metrics object of a reply's total, with the filter as applied. */
static json_t *api_total_json(const api_app *app, const dc_reply *d, const an_filter *f, const api_window *w)
{
	json_t *out = api_cell_json(&d->r.total, &d->total);
	if (out)
		json_object_set_new(out, "filter", api_filter_json(app, f, w));
	return out;
}

/* ---- issue 17 (X): one reply for /metrics and its exports ---- */

/* A /metrics request read and counted: the filter as applied and the
 * reply after disclosure control (d: dc_reply_free). */
typedef struct api_metrics_q {
	an_filter f;
	api_window w;
	an_dim dims[2];
	int n_dims;
	dc_reply d;
} api_metrics_q;

/* Read the request (its parameters: the filter, extra and the format, which
 * fmt checks where /metrics always has) and run the query. */
static ks_err api_metrics_run(http_req *req, const char *const *extra, api_format_check fmt, api_metrics_q *q,
			      ks_error *e)
{
	api_app *app = req->app;
	api_sort sort;
	q->n_dims = 0;
	ks_err err = api_check_params(req, extra, false, e);
	if (!err)
		err = api_group_by(req, q->dims, &q->n_dims, e);
	if (!err)
		err = api_filter(req, "", q->dims, q->n_dims, "group_by", &q->f, &q->w, e);
	if (!err)
		err = api_measures(req, &q->f, e);
	if (!err)
		err = fmt(req, e);
	if (!err)
		err = api_sort_parse(req, q->dims, q->n_dims, &sort, e);
	dc_policy pol = api_policy(app);
	if (!err)
		err = dc_query(app->index, &pol, &q->f, api_window_period(&q->w), q->dims, q->n_dims, &q->d, e);
	if (err)
		return err;
	api_sort_groups(&q->d, &sort);
	return KS_OK;
}

/* The JSON text of q's reply into *out. */
static ks_err api_metrics_text(const api_app *app, api_metrics_q *q, ks_buf *out, ks_error *e)
{
	json_t *top = api_total_json(app, &q->d, &q->f, &q->w);
	if (top == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = KS_OK;
	if (q->n_dims == 0) {
		char *txt = json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(10));
		buf_init(out, 1u << 20);
		err = txt ? buf_puts(out, txt) : KS_ERR_NOMEM;
		free(txt);
	} else {
		json_t *gb = json_array();
		for (int i = 0; i < q->n_dims; i++)
			json_array_append_new(gb, json_string(q->d.r.dim_name[i]));
		json_object_set_new(top, "group_by", gb);
		err = api_reply_rows(out, top, &q->d);
	}
	json_decref(top);
	if (err) {
		if (q->n_dims == 0)
			buf_free(out);
		return ks_fail(e, err, NULL, "out of memory");
	}
	return KS_OK;
}

ks_err api_metrics_reply(http_req *req, const char *const *extra, api_format_check fmt, ks_buf *out, ks_error *e)
{
	api_metrics_q q;
	ks_err err = api_metrics_run(req, extra, fmt, &q, e);
	if (err)
		return err;
	err = api_metrics_text(req->app, &q, out, e);
	dc_reply_free(&q.d);
	return err;
}

ks_err api_metrics(http_req *req, ks_error *e);
ks_err api_metrics(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"group_by", "format", "sort", "measures", NULL};
	api_metrics_q q;
	ks_err err = api_metrics_run(req, extra, api_format_arg, &q, e);
	if (err)
		return err;
	if (api_wants_csv(req)) {
		err = api_reply_csv(req, &q.d);
		api_audit(req, "export.metrics", "metrics", 0, json_pack("{s:s, s:s}", "path", req->path, "format", "csv"));
		dc_reply_free(&q.d);
		return err;
	}
	ks_buf b;
	err = api_metrics_text(req->app, &q, &b, e);
	dc_reply_free(&q.d);
	if (err)
		return err;
	http_reply_buf(req, 200, "application/json", &b);
	return KS_OK;
}

/* ---- GET /api/v1/metrics/trend ------------------------------------------------------------ */

/* Do two period labels follow each other directly (no gap)? A change is
 * only ever measured against the period just before. */
static bool api_adjacent(const api_app *app, const char *prev, const char *cur)
{
	int64_t pf, pt, cf, ct;
	ks_error e;
	if (tz_period_parse(&app->tz, prev, 0, "period", &pf, &pt, NULL, &e) != KS_OK ||
	    tz_period_parse(&app->tz, cur, 0, "period", &cf, &ct, NULL, &e) != KS_OK)
		return false;
	return pt == cf;
}

/* The NPS change of each point against the period just before it, where
 * both are shown; Benjamini-Hochberg at 5% over the reply's verdicts.
 * (Also api_themes.c's trend verdicts: api_trend_verdicts.) */
static void api_trend_changes(const api_app *app, const dc_reply *d, metrics_change *ch)
{
	const an_result *r = &d->r;
	metrics_change **ptr = calloc(r->n_groups ? r->n_groups : 1, sizeof *ptr);
	for (size_t g = 0; g < r->n_groups; g++) {
		memset(&ch[g], 0, sizeof ch[g]);
		if (ptr)
			ptr[g] = &ch[g];
		if (g == 0) {
			ch[g].verdict = METRICS_NO_PREVIOUS;
			continue;
		}
		const dc_vis *va = &d->groups[g - 1], *vb = &d->groups[g];
		if (!api_adjacent(app, r->groups[g - 1].key[0], r->groups[g].key[0])) {
			ch[g].verdict = METRICS_NO_PREVIOUS;
			continue;
		}
		int64_t min_n = va->min_n > vb->min_n ? va->min_n : vb->min_n;
		metrics_compare_nps(&r->groups[g - 1].c, &r->groups[g].c, min_n, &ch[g]);
		if (!va->show.nps || !vb->show.nps)
			metrics_change_suppress(&ch[g]);
	}
	if (ptr)
		metrics_changes_fdr(ptr, r->n_groups, 0.05);
	free(ptr);
}

void api_trend_verdicts(const api_app *app, const dc_reply *d, metrics_change *ch)
{
	api_trend_changes(app, d, ch);
}

ks_err api_metrics_trend(http_req *req, ks_error *e);
ks_err api_metrics_trend(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"interval", "format", NULL};
	api_app *app = req->app;
	an_filter f;
	api_window w;
	const char *iv = http_query(req, "interval");
	an_dim d = an_dim_from_name(iv ? iv : "month");
	ks_err err = api_check_params(req, extra, false, e);
	if (!err && !an_dim_is_time(d))
		err = ks_fail(e, KS_ERR_INVALID, "interval", "interval must be day, week, month, quarter or year");
	if (!err)
		err = api_filter(req, "", &d, 1, "interval", &f, &w, e);
	if (!err)
		err = api_format_arg(req, e);
	dc_reply r;
	dc_policy pol = api_policy(app);
	if (!err)
		err = dc_query(app->index, &pol, &f, api_window_period(&w), &d, 1, &r, e);
	if (err)
		return err;
	if (api_wants_csv(req)) {
		err = api_reply_csv(req, &r);
		api_audit(req, "export.metrics", "metrics", 0, json_pack("{s:s, s:s}", "path", req->path, "format", "csv"));
		dc_reply_free(&r);
		return err;
	}
	metrics_change *ch = calloc(r.r.n_groups ? r.r.n_groups : 1, sizeof *ch);
	if (ch == NULL) {
		dc_reply_free(&r);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	api_trend_changes(app, &r, ch);
	/* Each point carries its change against the period just before, with
	 * the verdict of the z-test under false-discovery control: a trend
	 * line must not sell noise as news. */
	json_t *points = json_array();
	for (size_t g = 0; g < r.r.n_groups; g++) {
		json_t *pt = api_cell_json(&r.r.groups[g].c, &r.groups[g]);
		json_object_set_new(pt, "period", json_string(r.r.groups[g].key[0]));
		json_t *cj = metrics_change_json(&ch[g]);
		json_object_set_new(cj, "vs", g > 0 ? json_string(r.r.groups[g - 1].key[0]) : json_null());
		json_object_set_new(pt, "nps_change", cj);
		json_array_append_new(points, pt);
	}
	free(ch);
	json_t *out = json_pack("{s:s, s:o, s:I, s:I, s:o}", "interval", an_dim_name(d), "filter",
				api_filter_json(app, &f, &w), "min_n", (json_int_t)pol.min_n, "min_n_person",
				(json_int_t)pol.min_n_person, "points", points);
	dc_reply_free(&r);
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
	api_window wa, wb;
	ks_err err = api_check_params(req, extra, true, e);
	if (!err)
		err = api_filter(req, "a.", NULL, 0, "a.period", &fa, &wa, e);
	if (!err)
		err = api_filter(req, "b.", NULL, 0, "b.period", &fb, &wb, e);
	if (!err && memcmp(&fa, &fb, sizeof fa) == 0)
		err = ks_fail(e, KS_ERR_INVALID, "b.from",
			      "the two sides are the same slice: give a.* and b.* parameters that differ");
	dc_policy pol = api_policy(app);
	dc_reply ra, rb;
	memset(&rb, 0, sizeof rb);
	if (!err)
		err = dc_query(app->index, &pol, &fa, api_window_period(&wa), NULL, 0, &ra, e);
	if (!err) {
		err = dc_query(app->index, &pol, &fb, api_window_period(&wb), NULL, 0, &rb, e);
		if (err)
			dc_reply_free(&ra);
	}
	if (err)
		return err;
	int64_t min_n = ra.total.min_n > rb.total.min_n ? ra.total.min_n : rb.total.min_n;
	metrics_change nps, grade;
	metrics_compare_nps(&ra.r.total, &rb.r.total, min_n, &nps);
	metrics_compare_grade(&ra.r.total, &rb.r.total, min_n, &grade);
	/* A change beside a hidden side would let it be solved for. */
	if (!ra.total.show.nps || !rb.total.show.nps)
		metrics_change_suppress(&nps);
	if (!ra.total.show.grade || !rb.total.show.grade)
		metrics_change_suppress(&grade);
	json_t *a = api_cell_json(&ra.r.total, &ra.total), *b = api_cell_json(&rb.r.total, &rb.total);
	json_object_set_new(a, "filter", api_filter_json(app, &fa, &wa));
	json_object_set_new(b, "filter", api_filter_json(app, &fb, &wb));
	json_t *out = json_pack("{s:o, s:o, s:I, s:o, s:o}", "a", a, "b", b, "min_n", (json_int_t)min_n,
				"nps_change", metrics_change_json(&nps), "grade_change",
				metrics_change_json(&grade));
	dc_reply_free(&ra);
	dc_reply_free(&rb);
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- GET /api/v1/metrics/dimensions (issue 16, H5) ----------------------------------- */

/* The dimensions a breakdown or filter can name beyond the fixed ones: the
 * imported products and the custom attribute keys the index holds, for the
 * pickers of the explorer and the organisation page. */
ks_err api_metrics_dimensions(http_req *req, ks_error *e);
ks_err api_metrics_dimensions(http_req *req, ks_error *e)
{
	static const char *const none[] = {NULL};
	ks_err err = api_only_params(req, none, e);
	if (err)
		return err;
	json_t *out = an_index_attr_json(((api_app *)req->app)->index);
	if (out == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	json_object_set_new(out, "login_bands", json_pack("[s,s,s,s,s]", "none", "1-3", "4-10", "11+", "unknown"));
	json_object_set_new(out, "newsletter", json_pack("[s,s,s]", "yes", "no", "unknown"));
	http_reply_json(req, 200, out);
	return KS_OK;
}
