/* api_export.c — a breakdown as a file (issue 17, part X):
 *   GET /api/v1/metrics/export?format=pdf|xlsx&lang=nl|en&<the /metrics parameters>
 *
 * The reply is made by api_metrics_reply, the function behind GET
 * /api/v1/metrics itself: the same parameters, scope, windows and
 * disclosure control, so a cell hidden in /metrics is hidden in the file
 * (src/report renders the reply's JSON and sees nothing else). The export
 * is logged (export.metrics, like the CSV) after it is built.
 * docs/API.md and docs/GOVERNANCE.md, "Reports and exports".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/utf8.h"
#include "report/report.h"

#define API_XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

static ks_err api_export_format(http_req *req, ks_error *e)
{
	const char *f = http_query(req, "format");
	if (f == NULL || (strcmp(f, "pdf") != 0 && strcmp(f, "xlsx") != 0))
		return ks_fail(e, KS_ERR_INVALID, "format", "format must be pdf or xlsx");
	return KS_OK;
}

/* lang=nl|en; without it the caller's own language, else Dutch. */
static ks_err api_export_lang(http_req *req, report_lang *out, ks_error *e)
{
	const char *l = http_query(req, "lang");
	if (l != NULL)
		return report_lang_parse(l, out) ? KS_OK : ks_fail(e, KS_ERR_INVALID, "lang", "lang must be nl or en");
	if (!report_lang_parse(req->who.language, out))
		*out = REPORT_NL;
	return KS_OK;
}

/* The organisation's name as its mails give it: /settings, else
 * `serve --org-name`, else none. */
static void api_export_org(const api_app *app, char *out, size_t n)
{
	store_voice v;
	memset(&v, 0, sizeof v);
	ks_error e;
	out[0] = '\0';
	if (store_voice_get(app->store, &v, false, &e) == KS_OK) {
		utf8_copy(out, n, v.organisation_name); /* cut at a character */
		store_voice_free(&v);
	}
	if (out[0] == '\0' && app->invite && app->invite->org_name[0])
		utf8_copy(out, n, app->invite->org_name);
}

/* The name of an id filter's row ("Team Noord", "Sanne de Vries"); the id
 * itself when it cannot be read. Cut (if at all) at a character boundary:
 * the file's libraries refuse a half character. */
static void api_export_name(const api_app *app, const char *entity, int64_t id, char *out, size_t n)
{
	json_t *row = NULL;
	snprintf(out, n, "%lld", (long long)id);
	if (store_entity_get(app->store, model_entity_find(entity), id, &row, NULL) != KS_OK)
		return;
	const char *name = json_string_value(json_object_get(row, "name"));
	const char *first = json_string_value(json_object_get(row, "first_name"));
	const char *last = json_string_value(json_object_get(row, "last_name"));
	if (name)
		utf8_copy(out, n, name);
	else if (first) {
		size_t used = 0;
		out[0] = '\0';
		utf8_append(out, n, &used, first);
		if (last) {
			utf8_append(out, n, &used, " ");
			utf8_append(out, n, &used, last);
		}
	}
	json_decref(row);
}

/* An imported product's name as the filter pickers show it (the index's
 * list); the id itself when the index does not know it. */
static void api_export_product(const api_app *app, int64_t id, char *out, size_t n)
{
	snprintf(out, n, "%lld", (long long)id);
	json_t *dims = an_index_attr_json(app->index);
	size_t i;
	json_t *pr;
	json_array_foreach(json_object_get(dims, "products"), i, pr) {
		const char *name = json_string_value(json_object_get(pr, "name"));
		if (json_integer_value(json_object_get(pr, "id")) == id && name && name[0]) {
			utf8_copy(out, n, name);
			break;
		}
	}
	json_decref(dims);
}

#define API_EXPORT_MAX_FILTERS 24

/* text: the longest line is an employee's "first last" (2 x 500 bytes + 1) */
typedef struct api_export_filters {
	report_filter f[API_EXPORT_MAX_FILTERS];
	char text[API_EXPORT_MAX_FILTERS][1040];
	size_t n;
} api_export_filters;

/* The taxonomy's theme labels as {"<id>":{"nl","en"}}, for theme keys and
 * the theme filter in words (NULL when there is no taxonomy: ids). */
static json_t *api_export_theme_labels(api_app *app)
{
	json_t *tax = NULL;
	if (api_text_taxonomy(app, &tax) != KS_OK)
		return NULL;
	json_t *out = json_object();
	size_t i;
	json_t *th;
	json_array_foreach(json_object_get(tax, "themes"), i, th) {
		const char *id = json_string_value(json_object_get(th, "id"));
		json_t *label = json_object_get(th, "label");
		if (id && json_is_object(label))
			json_object_set(out, id, label);
	}
	json_decref(tax);
	return out;
}

/* The reply's filter echo, other than its window, as lines in words. */
static void api_export_filter_words(const api_app *app, const json_t *filter, report_lang lang,
				    const json_t *theme_labels, api_export_filters *out)
{
	static const char *const ids[] = {"team_id", "employee_id", "touchpoint_id", "journey_id"};
	static const char *const entities[] = {"teams", "employees", "touchpoints", "journeys"};
	static const char *const skip[] = {"period", "time_zone", "from", "to"};
	const char *key;
	json_t *v;
	out->n = 0;
	json_object_foreach((json_t *)filter, key, v) {
		if (json_is_null(v) || out->n == API_EXPORT_MAX_FILTERS)
			continue;
		bool skipped = false;
		for (size_t i = 0; i < 4; i++)
			skipped = skipped || strcmp(key, skip[i]) == 0;
		if (skipped)
			continue;
		char *text = out->text[out->n];
		const char *entity = NULL;
		for (size_t i = 0; i < 4; i++)
			if (strcmp(key, ids[i]) == 0)
				entity = entities[i];
		if (entity && json_is_integer(v))
			api_export_name(app, entity, json_integer_value(v), text, sizeof out->text[0]);
		else if (strcmp(key, "product") == 0 && json_is_integer(v))
			api_export_product(app, json_integer_value(v), text, sizeof out->text[0]);
		else if (json_is_string(v))
			report_value_words(lang, theme_labels, key, json_string_value(v), text, sizeof out->text[0]);
		else if (json_is_integer(v))
			snprintf(text, sizeof out->text[0], "%lld", (long long)json_integer_value(v));
		else
			continue;
		out->f[out->n].key = key; /* borrowed from filter, which outlives the lines */
		out->f[out->n].value = text;
		out->n++;
	}
}

/* "2026-12-07 11:32 (Europe/Amsterdam)": now on the organisation's clock. */
static void api_export_generated(const api_app *app, char *out, size_t n)
{
	char iso[40];
	tz_format_local(&app->tz, clock_now(app->clock), iso, sizeof iso);
	snprintf(out, n, "%.10s %.5s (%s)", iso, strlen(iso) > 16 ? iso + 11 : "", app->tz.name);
}

ks_err api_metrics_export(http_req *req, ks_error *e)
{
	static const char *const extra[] = {"group_by", "format", "sort", "measures", "lang", NULL};
	api_app *app = req->app;
	report_lang lang;
	ks_err err = api_export_lang(req, &lang, e);
	ks_buf text;
	if (!err)
		err = api_metrics_reply(req, extra, api_export_format, &text, e);
	if (err)
		return err;
	json_error_t je;
	json_t *reply = json_loadb(text.data, text.len, 0, &je);
	buf_free(&text);
	if (reply == NULL)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "the breakdown could not be read back: %s", je.text);
	char org[160], generated[96];
	api_export_org(app, org, sizeof org);
	api_export_generated(app, generated, sizeof generated);
	api_export_filters *fw = calloc(1, sizeof *fw);
	if (fw == NULL) {
		json_decref(reply);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	json_t *themes = api_export_theme_labels(app);
	api_export_filter_words(app, json_object_get(reply, "filter"), lang, themes, fw);
	report_doc doc = {.reply = reply, .lang = lang, .org_name = org, .generated = generated,
			  .filters = fw->f, .n_filters = fw->n, .min_n = app->min_n,
			  .min_n_person = app->min_n_employee, .theme_labels = themes};
	/* measures was checked by api_metrics_reply (all or nps) */
	const char *measures = http_query(req, "measures");
	doc.nps_only = measures && strcmp(measures, "nps") == 0;
	bool pdf = strcmp(http_query(req, "format"), "pdf") == 0; /* checked by api_export_format */
	const char *tmp = getenv("TMPDIR");
	ks_buf file;
	err = pdf ? report_pdf(&doc, &file, e) : report_xlsx(&doc, tmp && tmp[0] ? tmp : "/tmp", &file, e);
	free(fw);
	json_decref(themes);
	json_decref(reply);
	if (err)
		return err;
	api_audit(req, "export.metrics", "metrics", 0,
		  json_pack("{s:s, s:s, s:s}", "path", req->path, "format", pdf ? "pdf" : "xlsx", "lang",
			    lang == REPORT_EN ? "en" : "nl"));
	http_reply_buf(req, 200, pdf ? "application/pdf" : API_XLSX_TYPE, &file);
	return KS_OK;
}
