/* api_kpis.c — hard KPIs and the series of every KPI (issue 17, part K;
 * docs/API.md "KPIs", docs/GOVERNANCE.md "KPIs"):
 *   GET/POST /api/v1/kpis, GET/PUT/DELETE /api/v1/kpis/{id},
 *   GET/PUT /api/v1/kpis/{id}/values, POST /api/v1/kpis/import,
 *   GET /api/v1/kpi-series, GET/PUT/DELETE /api/v1/kpi-targets.
 *
 * Directors and admins read everything; managers read the units at or
 * below their own (the rows of other units are left out, as /metrics
 * narrows a manager's slice). Admins change the catalogue and values;
 * directors and admins set targets. A target is for an org unit, never for
 * a person: the seed warns against individual bonuses on scores, so a body
 * naming an employee or a user is refused, not ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "governance/kpi.h"
#include "governance/series.h"

#define KPI_API_MAX_VALUES 10000   /* a larger set goes through the import */
#define KPI_NO_PERSON "goals are set for teams, not for individual people"

/* ---- scope ----------------------------------------------------------------------- */

/* The unit whose subtree the caller may read; 0 = everything. */
static int64_t kpi_home(http_req *req)
{
	const http_principal *w = &req->who;
	if (!w->authenticated || w->role >= AUTH_ROLE_DIRECTOR)
		return 0;
	return w->unit_id ? w->unit_id : -1; /* -1: a manager without a unit sees nothing */
}

static bool kpi_in_scope(http_req *req, int64_t unit)
{
	int64_t home = kpi_home(req);
	return home == 0 || (home > 0 && an_unit_within(((api_app *)req->app)->index, unit, home));
}

static bool kpi_keep_unit(int64_t unit, void *arg)
{
	return kpi_in_scope(arg, unit);
}

/* ---- the catalogue ------------------------------------------------------------------ */

static json_t *kpi_json(const store_kpi *k)
{
	char at[32];
	clock_format_iso(k->created_at, at, sizeof at);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:b, s:s}", "id", (json_int_t)k->id, "key",
			 k->key, "name_nl", k->name_nl, "name_en", k->name_en, "unit", k->unit,
			 "higher_is_better", k->higher_is_better, "department", k->department, "kind", k->kind,
			 "aggregation", k->aggregation, "builtin", k->builtin, "created_at", at);
}

ks_err api_kpi_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_kpi *v = NULL;
	size_t n = 0;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = store_kpi_list(app->store, &v, &n, e);
	if (err)
		return err;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, kpi_json(&v[i]));
	free(v);
	/* the computed ones, for pickers (theme:<id> for any theme) */
	json_t *soft = json_pack("[s,s,s,s,s,s,s]", "nps", "grade", "ces", "enps", "response_rate", "case_sla",
				 "theme:<id>");
	http_reply_json(req, 200, json_pack("{s:o, s:o}", "kpis", arr, "soft", soft));
	return KS_OK;
}

static ks_err kpi_load(http_req *req, store_kpi *k, ks_error *e)
{
	int64_t id = 0;
	ks_err err = api_param_id(req, 0, &id, e);
	return err ? err : store_kpi_get(((api_app *)req->app)->store, id, k, e);
}

ks_err api_kpi_get(http_req *req, ks_error *e)
{
	store_kpi k;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = kpi_load(req, &k, e);
	if (err)
		return err;
	http_reply_json(req, 200, kpi_json(&k));
	return KS_OK;
}

static const char *const kpi_fields[] = {"key", "name_nl", "name_en", "unit", "higher_is_better", "department",
					  "kind", "aggregation", NULL};

/* Member name of o as a string into out (n bytes); absent: required fails,
 * else out is kept. A string too long for out is left for kpi_check's
 * length rule to name (it is cut one byte past the limit). */
static ks_err kpi_str(const json_t *o, const char *name, bool required, char *out, size_t n, ks_error *e)
{
	json_t *v = json_object_get(o, name);
	if (v == NULL)
		return required ? ks_fail(e, KS_ERR_INVALID, name, "%s is required", name) : KS_OK;
	if (!json_is_string(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a string", name);
	if (json_string_length(v) >= n)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be at most %zu bytes", name, n - 1);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must not hold a NUL character", name);
	snprintf(out, n, "%s", json_string_value(v));
	return KS_OK;
}

/* The members of o over k (required: every member must be given). */
static ks_err kpi_from_json(const json_t *o, store_kpi *k, bool required, ks_error *e)
{
	ks_err err = api_only_fields(o, kpi_fields, "", e);
	if (!err)
		err = kpi_str(o, "key", required, k->key, sizeof k->key, e);
	if (!err)
		err = kpi_str(o, "name_nl", required, k->name_nl, sizeof k->name_nl, e);
	if (!err)
		err = kpi_str(o, "name_en", required, k->name_en, sizeof k->name_en, e);
	if (!err)
		err = kpi_str(o, "unit", required, k->unit, sizeof k->unit, e);
	if (!err)
		err = kpi_str(o, "department", required, k->department, sizeof k->department, e);
	if (!err)
		err = kpi_str(o, "kind", required, k->kind, sizeof k->kind, e);
	if (!err)
		err = kpi_str(o, "aggregation", required, k->aggregation, sizeof k->aggregation, e);
	json_t *h = json_object_get(o, "higher_is_better");
	if (!err && h == NULL && required)
		err = ks_fail(e, KS_ERR_INVALID, "higher_is_better", "higher_is_better is required");
	if (!err && h != NULL && !json_is_boolean(h))
		err = ks_fail(e, KS_ERR_INVALID, "higher_is_better", "higher_is_better must be true or false");
	if (!err && h != NULL)
		k->higher_is_better = json_is_true(h);
	return err;
}

static json_t *kpi_audit_detail(const store_kpi *k)
{
	return json_pack("{s:s}", "key", k->key);
}

ks_err api_kpi_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *body = NULL;
	store_kpi k;
	memset(&k, 0, sizeof k);
	int64_t id = 0;
	ks_err err = api_body_object(req, &body, e);
	if (!err)
		err = kpi_from_json(body, &k, true, e);
	json_decref(body);
	if (!err)
		err = kpi_check(&k, e);
	if (!err)
		err = store_kpi_create(app->store, &k, &id, e);
	if (!err)
		err = store_kpi_get(app->store, id, &k, e);
	if (err)
		return err;
	api_audit(req, "kpi.create", "kpi", id, kpi_audit_detail(&k));
	http_reply_json(req, 201, kpi_json(&k));
	return KS_OK;
}

/* A builtin KPI keeps what makes it the seed's KPI: only its names change. */
static ks_err kpi_builtin_keeps(const store_kpi *was, const store_kpi *k, ks_error *e)
{
	const char *names[] = {"unit", "department", "kind", "aggregation"};
	const char *a[] = {was->unit, was->department, was->kind, was->aggregation};
	const char *b[] = {k->unit, k->department, k->kind, k->aggregation};
	for (size_t i = 0; i < 4; i++)
		if (strcmp(a[i], b[i]) != 0)
			return ks_fail(e, KS_ERR_INVALID, names[i], "a built-in KPI keeps its %s (its names and "
				       "targets can be changed)", names[i]);
	if (was->higher_is_better != k->higher_is_better)
		return ks_fail(e, KS_ERR_INVALID, "higher_is_better",
			       "a built-in KPI keeps its direction (its names and targets can be changed)");
	return KS_OK;
}

ks_err api_kpi_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_kpi was, k;
	json_t *body = NULL;
	ks_err err = kpi_load(req, &was, e);
	if (!err)
		err = api_body_object(req, &body, e);
	k = was;
	if (!err)
		err = kpi_from_json(body, &k, false, e);
	json_decref(body);
	if (!err && strcmp(k.key, was.key) != 0)
		err = ks_fail(e, KS_ERR_INVALID, "key", "the key of a KPI cannot be changed (values and targets "
			      "name it)");
	if (!err && was.builtin)
		err = kpi_builtin_keeps(&was, &k, e);
	if (!err)
		err = kpi_check(&k, e);
	if (!err)
		err = store_kpi_update(app->store, &k, e);
	if (!err)
		err = store_kpi_get(app->store, k.id, &k, e);
	if (err)
		return err;
	api_audit(req, "kpi.update", "kpi", k.id, kpi_audit_detail(&k));
	http_reply_json(req, 200, kpi_json(&k));
	return KS_OK;
}

ks_err api_kpi_delete(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_kpi k;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = kpi_load(req, &k, e);
	if (!err)
		err = store_kpi_delete(app->store, k.id, e);
	if (err)
		return err;
	api_audit(req, "kpi.delete", "kpi", k.id, kpi_audit_detail(&k));
	http_reply_json(req, 200, json_pack("{s:I, s:b}", "id", (json_int_t)k.id, "deleted", 1));
	return KS_OK;
}

/* ---- values ---------------------------------------------------------------------------- */

/* Optional month parameter name into out (NULL when absent); 422 otherwise. */
static ks_err kpi_month_arg(http_req *req, const char *name, const char **out, ks_error *e)
{
	*out = http_query(req, name);
	if (*out && !kpi_period_valid(*out))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a month YYYY-MM", name);
	return KS_OK;
}

ks_err api_kpi_values_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_kpi k;
	const char *from = NULL, *to = NULL;
	int64_t unit = 0;
	ks_err err = api_only_params(req, (const char *const[]){"from", "to", "unit_id", NULL}, e);
	if (!err)
		err = kpi_month_arg(req, "from", &from, e);
	if (!err)
		err = kpi_month_arg(req, "to", &to, e);
	if (!err)
		err = api_query_id(req, "unit_id", &unit, e);
	if (!err && unit && !kpi_in_scope(req, unit))
		err = ks_fail(e, KS_ERR_FORBIDDEN, "unit_id", "that unit is outside your scope");
	if (!err)
		err = kpi_load(req, &k, e);
	store_kpi_value *v = NULL;
	size_t n = 0;
	if (!err)
		err = store_kpi_values_get(app->store, k.id, from, to, &v, &n, e);
	if (err)
		return err;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		if ((unit && v[i].unit_id != unit) || !kpi_in_scope(req, v[i].unit_id))
			continue;
		char at[32];
		clock_format_iso(v[i].updated_at, at, sizeof at);
		json_array_append_new(arr, json_pack("{s:I, s:s, s:f, s:s, s:s}", "unit_id", (json_int_t)v[i].unit_id,
						     "period", v[i].period, "value", v[i].value, "source",
						     v[i].source, "updated_at", at));
	}
	free(v);
	http_reply_json(req, 200, json_pack("{s:o, s:o}", "kpi", kpi_json(&k), "values", arr));
	return KS_OK;
}

/* values[i] of the batch into v; 422 naming values[i].<member>. */
static ks_err kpi_value_item(const json_t *it, size_t i, int64_t kpi_id, store_kpi_value *v, ks_error *e)
{
	char f[64];
	memset(v, 0, sizeof *v);
	v->kpi_id = kpi_id;
	if (!json_is_object(it))
		return ks_fail(e, KS_ERR_INVALID, (snprintf(f, sizeof f, "values[%zu]", i), f),
			       "values[%zu] must be an object {unit_id, period, value}", i);
	/* values are the units' figures: never a person's */
	if (json_object_get(it, "employee_id") != NULL) {
		snprintf(f, sizeof f, "values[%zu].employee_id", i);
		return ks_fail(e, KS_ERR_INVALID, f, "%s: KPI values are for org units, not for individual people", f);
	}
	char prefix[32];
	snprintf(prefix, sizeof prefix, "values[%zu].", i);
	ks_err err = api_only_fields(it, (const char *const[]){"unit_id", "period", "value", NULL}, prefix, e);
	if (err)
		return err;
	json_t *u = json_object_get(it, "unit_id"), *p = json_object_get(it, "period"),
	       *x = json_object_get(it, "value");
	snprintf(f, sizeof f, "values[%zu].unit_id", i);
	if (!json_is_integer(u) || json_integer_value(u) <= 0)
		return ks_fail(e, KS_ERR_INVALID, f, "%s must be an org unit's id", f);
	v->unit_id = json_integer_value(u);
	snprintf(f, sizeof f, "values[%zu].period", i);
	if (!json_is_string(p) || !kpi_period_valid(json_string_value(p)))
		return ks_fail(e, KS_ERR_INVALID, f, "%s must be a month YYYY-MM", f);
	memcpy(v->period, json_string_value(p), 8);
	snprintf(f, sizeof f, "values[%zu].value", i);
	if (!json_is_number(x) || !kpi_value_valid(json_number_value(x)))
		return ks_fail(e, KS_ERR_INVALID, f, "%s must be a finite number of at most 1e15", f);
	v->value = json_number_value(x);
	return KS_OK;
}

ks_err api_kpi_values_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_kpi k;
	json_t *body = NULL;
	ks_err err = kpi_load(req, &k, e);
	if (!err)
		err = api_body_object(req, &body, e);
	if (!err)
		err = api_only_fields(body, (const char *const[]){"values", NULL}, "", e);
	json_t *arr = body ? json_object_get(body, "values") : NULL;
	if (!err && !json_is_array(arr))
		err = ks_fail(e, KS_ERR_INVALID, "values", "values must be an array of {unit_id, period, value}");
	size_t n = arr ? json_array_size(arr) : 0;
	if (!err && (n == 0 || n > KPI_API_MAX_VALUES))
		err = ks_fail(e, KS_ERR_INVALID, "values", "values must hold 1 to %d items (more through POST "
			      "/api/v1/kpis/import)", KPI_API_MAX_VALUES);
	store_kpi_value *v = err ? NULL : calloc(n, sizeof *v);
	if (!err && v == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < n; i++)
		err = kpi_value_item(json_array_get(arr, i), i, k.id, &v[i], e);
	json_decref(body);
	if (!err)
		err = store_kpi_values_put(app->store, v, n, "api", "values", e);
	free(v);
	if (err)
		return err;
	api_audit(req, "kpi.values", "kpi", k.id, json_pack("{s:s, s:I}", "key", k.key, "values", (json_int_t)n));
	http_reply_json(req, 200, json_pack("{s:I, s:I}", "kpi_id", (json_int_t)k.id, "written", (json_int_t)n));
	return KS_OK;
}

/* POST /api/v1/kpis/import: the CLI's CSV file as the body. An error names
 * the file's line and column as "lines[N].column" (N = the line, 1 = the
 * header) and its message begins "line N: ". */
ks_err api_kpi_import(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (err)
		return err;
	if (req->body.len == 0)
		return ks_fail(e, KS_ERR_INVALID, "", "a CSV body is required (columns kpi, unit, period, value)");
	/* The file as is, or {"csv": "..."} (what the web page sends: its
	 * requests are JSON). A CSV file cannot begin with '{': its header
	 * names the columns. */
	const char *text = req->body.data;
	size_t len = req->body.len;
	json_t *wrap = NULL;
	if (text[0] == '{') {
		err = api_body_object(req, &wrap, e);
		if (!err)
			err = api_only_fields(wrap, (const char *const[]){"csv", NULL}, "", e);
		json_t *c = wrap ? json_object_get(wrap, "csv") : NULL;
		if (!err && !json_is_string(c))
			err = ks_fail(e, KS_ERR_INVALID, "csv", "csv must be the file's text");
		if (err) {
			json_decref(wrap);
			return err;
		}
		text = json_string_value(c);
		len = json_string_length(c);
	}
	char *buf = malloc(len + 1);
	if (buf == NULL) {
		json_decref(wrap);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	json_decref(wrap);
	kpi_import_counts k;
	int line = 0;
	ks_error ie;
	ks_error_clear(&ie);
	err = kpi_import_csv(app->store, buf, len, &k, &line, &ie);
	if (err && line > 0) {
		char field[64];
		snprintf(field, sizeof field, "lines[%d]%s%.40s", line, ie.field[0] ? "." : "", ie.field);
		return ks_fail(e, err, field, "line %d: %s%s%s", line, ie.field, ie.field[0] ? ": " : "", ie.message);
	}
	if (err) {
		if (e)
			*e = ie;
		return err;
	}
	api_audit(req, "kpi.import", "kpi", 0, json_pack("{s:I}", "rows", (json_int_t)k.rows));
	/* rows: the values stored (distinct KPI, unit and month); lines: the
	 * file's rows read (a later line of the same three replaced an earlier) */
	http_reply_json(req, 200, json_pack("{s:I, s:I, s:I, s:I, s:I}", "rows", (json_int_t)k.rows, "lines",
					    (json_int_t)k.lines, "kpis", (json_int_t)k.kpis, "units",
					    (json_int_t)k.units, "periods", (json_int_t)k.periods));
	return KS_OK;
}

/* ---- the series ------------------------------------------------------------------------ */

/* Default window: the twelve months up to this one (local). */
static void kpi_default_window(api_app *app, char from[8], char to[8])
{
	int y, mo, d, h, mi, s;
	tz_civil(&app->tz, clock_now(app->clock), &y, &mo, &d, &h, &mi, &s);
	unsigned ym = (unsigned)(y * 12 + mo - 1), a = ym - 11;
	snprintf(to, 8, "%04u-%02u", ym / 12 % 10000, ym % 12 + 1);
	snprintf(from, 8, "%04u-%02u", a / 12 % 10000, a % 12 + 1);
}

ks_err api_kpi_series(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = api_only_params(req, (const char *const[]){"kpi", "level", "from", "to", NULL}, e);
	if (err)
		return err;
	const char *kpi = http_query(req, "kpi"), *lv = http_query(req, "level");
	const char *from = http_query(req, "from"), *to = http_query(req, "to");
	char dfrom[8], dto[8];
	kpi_default_window(app, dfrom, dto);
	if (kpi == NULL)
		return ks_fail(e, KS_ERR_INVALID, "kpi", "kpi is required (a KPI key or nps, grade, ces, enps, "
			       "response_rate, case_sla, theme:<id>)");
	int level = gov_level_from_name(lv ? lv : "department");
	if (level < 0)
		return ks_fail(e, KS_ERR_INVALID, "level", "level must be team, department or organisation");
	if (kpi_home(req) < 0)
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "your account is not linked to a unit");
	/* from alone defaults to to = this month: a later from is the
	 * parameter at fault, not the to nobody gave */
	if (from && to == NULL && strlen(from) == 7 && strcmp(from, dto) > 0)
		return ks_fail(e, KS_ERR_INVALID, "from", "from (%.7s) is after this month (%s): give to as well",
			       from, dto);
	dc_policy pol = api_policy(app);
	gov_series g;
	err = gov_series_get_pol(app->store, app->index, &pol, kpi, level, from ? from : dfrom, to ? to : dto, &g, e);
	if (err)
		return err;
	json_t *out = gov_series_json(&g, kpi_keep_unit, req);
	gov_series_free(&g);
	if (out == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	/* the units' names, for a table without a second request */
	store_kpi_unit *u = NULL;
	size_t nu = 0;
	if (store_kpi_units(app->store, &u, &nu, NULL) == KS_OK) {
		size_t i;
		json_t *row;
		json_array_foreach(json_object_get(out, "units"), i, row) {
			int64_t id = json_integer_value(json_object_get(row, "unit_id"));
			for (size_t j = 0; j < nu; j++)
				if (u[j].id == id)
					json_object_set_new(row, "name", json_string(u[j].name));
		}
	}
	free(u);
	json_object_set_new(out, "min_n", json_integer(pol.min_n));
	json_object_set_new(out, "soft", json_boolean(gov_kpi_is_soft(kpi)));
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- targets --------------------------------------------------------------------------- */

static json_t *kpi_target_json(const store_kpi_target *t)
{
	char at[32];
	clock_format_iso(t->updated_at, at, sizeof at);
	json_t *o = json_pack("{s:s, s:I, s:s, s:f, s:s}", "kpi", t->kpi, "unit_id", (json_int_t)t->unit_id, "period",
			      t->period, "target", t->target, "updated_at", at);
	json_object_set_new(o, "set_by", t->set_by ? json_integer(t->set_by) : json_null());
	return o;
}

ks_err api_kpi_targets_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t unit = 0;
	ks_err err = api_only_params(req, (const char *const[]){"kpi", "unit_id", NULL}, e);
	if (!err)
		err = api_query_id(req, "unit_id", &unit, e);
	if (!err && unit && !kpi_in_scope(req, unit))
		err = ks_fail(e, KS_ERR_FORBIDDEN, "unit_id", "that unit is outside your scope");
	store_kpi_target *t = NULL;
	size_t n = 0;
	if (!err)
		err = store_kpi_targets_list(app->store, http_query(req, "kpi"), unit, &t, &n, e);
	if (err)
		return err;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		if (kpi_in_scope(req, t[i].unit_id))
			json_array_append_new(arr, kpi_target_json(&t[i]));
	free(t);
	http_reply_json(req, 200, json_pack("{s:o}", "targets", arr));
	return KS_OK;
}

/* A target's kpi: a catalogue key or a soft key (theme:<id> with an id). */
static ks_err kpi_target_key(api_app *app, const char *kpi, ks_error *e)
{
	if (gov_kpi_is_soft(kpi)) {
		if (strncmp(kpi, "theme:", 6) == 0 && !kpi_theme_key_valid(kpi))
			return ks_fail(e, KS_ERR_INVALID, "kpi", "theme:<id> names a theme of the taxonomy (an id of "
				       "1 to %d of a-z, 0-9 and _)", KPI_THEME_ID_MAX);
		return KS_OK;
	}
	store_kpi k;
	ks_err err = store_kpi_by_key(app->store, kpi, &k, e);
	if (err == KS_ERR_NOTFOUND)
		return ks_fail(e, KS_ERR_INVALID, "kpi", "no KPI with key %.47s (a catalogue key or a soft KPI)", kpi);
	return err;
}

/* Members that would put a goal on a person: refused with the reason. */
static ks_err kpi_no_person(const json_t *o, ks_error *e)
{
	static const char *const person[] = {"employee_id", "employee", "user_id", "person", NULL};
	for (size_t i = 0; person[i]; i++)
		if (json_object_get(o, person[i]) != NULL)
			return ks_fail(e, KS_ERR_INVALID, person[i], "%s: %s", person[i], KPI_NO_PERSON);
	return KS_OK;
}

static ks_err kpi_target_from_json(api_app *app, const json_t *o, store_kpi_target *t, ks_error *e)
{
	memset(t, 0, sizeof *t);
	ks_err err = kpi_no_person(o, e);
	if (!err)
		err = api_only_fields(o, (const char *const[]){"kpi", "unit_id", "period", "target", NULL}, "", e);
	if (!err)
		err = kpi_str(o, "kpi", true, t->kpi, sizeof t->kpi, e);
	if (!err)
		err = kpi_target_key(app, t->kpi, e);
	json_t *u = json_object_get(o, "unit_id");
	if (!err && (!json_is_integer(u) || json_integer_value(u) <= 0))
		err = ks_fail(e, KS_ERR_INVALID, "unit_id", "unit_id must be an org unit's id: " KPI_NO_PERSON);
	if (!err)
		t->unit_id = json_integer_value(u);
	if (!err)
		err = kpi_str(o, "period", true, t->period, sizeof t->period, e);
	if (!err && !kpi_target_period_valid(t->period))
		err = ks_fail(e, KS_ERR_INVALID, "period", "period must be YYYY, YYYY-Qn or YYYY-MM");
	json_t *x = json_object_get(o, "target");
	if (!err && (!json_is_number(x) || !kpi_value_valid(json_number_value(x))))
		err = ks_fail(e, KS_ERR_INVALID, "target", "target must be a finite number of at most 1e15");
	if (!err)
		t->target = json_number_value(x);
	return err;
}

ks_err api_kpi_target_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *body = NULL;
	store_kpi_target t;
	ks_err err = api_body_object(req, &body, e);
	if (!err)
		err = kpi_target_from_json(app, body, &t, e);
	json_decref(body);
	t.set_by = req->who.user_id;
	if (!err)
		err = store_kpi_target_put(app->store, &t, e);
	if (err == KS_ERR_REF) /* names unit_id, with the reason */
		return err;
	store_kpi_target *v = NULL;
	size_t n = 0;
	if (!err)
		err = store_kpi_targets_list(app->store, t.kpi, t.unit_id, &v, &n, e);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].period, t.period) == 0)
			t = v[i];
	free(v);
	api_audit(req, "kpi.target", "org_unit", t.unit_id,
		  json_pack("{s:s, s:s, s:f}", "kpi", t.kpi, "period", t.period, "target", t.target));
	http_reply_json(req, 200, kpi_target_json(&t));
	return KS_OK;
}

ks_err api_kpi_target_delete(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t unit = 0;
	ks_err err = api_only_params(req, (const char *const[]){"kpi", "unit_id", "period", NULL}, e);
	const char *kpi = http_query(req, "kpi"), *period = http_query(req, "period");
	if (!err && http_query(req, "unit_id") == NULL)
		err = ks_fail(e, KS_ERR_INVALID, "unit_id", "unit_id is required");
	if (!err)
		err = api_query_id(req, "unit_id", &unit, e);
	if (!err && (kpi == NULL || kpi[0] == '\0'))
		err = ks_fail(e, KS_ERR_INVALID, "kpi", "kpi is required");
	if (!err && (period == NULL || !kpi_target_period_valid(period)))
		err = ks_fail(e, KS_ERR_INVALID, "period", "period must be YYYY, YYYY-Qn or YYYY-MM");
	if (!err)
		err = store_kpi_target_delete(app->store, kpi, unit, period, e);
	if (err)
		return err;
	api_audit(req, "kpi.target_delete", "org_unit", unit, json_pack("{s:s, s:s}", "kpi", kpi, "period", period));
	http_reply_json(req, 200, json_pack("{s:s, s:I, s:s, s:b}", "kpi", kpi, "unit_id", (json_int_t)unit, "period",
					    period, "deleted", 1));
	return KS_OK;
}
