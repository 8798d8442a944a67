/* api_mentions.c — unsolicited feedback (issue 16, part H1): reviews and
 * social posts in (POST /api/v1/mentions, admins and API tokens), read
 * (list, one, summary: directors and admins all, managers and team leads
 * the mentions of their unit and below, like the verbatims' scope), replied
 * to, and the mapping of a source's location names to org units.
 * docs/API.md "Mentions", docs/MENTIONS.md.
 *
 * A mention's measures are its own: the average rating on 0..10, the share
 * of 4-5-star equivalents and sentiment. Never an NPS: stars are no answer
 * to "would you recommend us", and a mention is never counted in a survey
 * figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"

/* API_M_MAX_RECORDS (issue 16 H9): records in one POST — a 1 MiB body of
 * short CSV lines would be ~500,000 of them (~55 MB while parsing); larger
 * exports go through `klantstem import mentions`. */
enum { API_M_DEFAULT = 50, API_M_MAX = 500, API_M_MAX_RECORDS = 10000 };

static bool api_m_global(const http_req *req)
{
	return !req->who.authenticated || req->who.role >= AUTH_ROLE_DIRECTOR;
}

/* ---- intake ------------------------------------------------------------------- */

/* The body: a JSON array of generic records, or {"format", "data"} with data
 * the document of that format (a string for generic-csv and kiyoh, or for
 * any format given as the raw text of an export). */
static ks_err api_m_parse(http_req *req, mentions_batch *b, char *format, size_t fn, ks_error *e)
{
	json_error_t je;
	json_t *body = json_loadb(req->body.data ? req->body.data : "", req->body.len, 0, &je);
	ks_err err = KS_OK;
	memset(b, 0, sizeof *b);
	snprintf(format, fn, "generic-json");
	if (body == NULL)
		return ks_fail(e, KS_ERR_BADJSON, NULL, "body is not JSON: line %d, column %d: %s", je.line,
			       je.column, je.text);
	if (json_is_array(body)) {
		err = mentions_from_json_max("generic-json", body, API_M_MAX_RECORDS, b, e);
	} else if (!json_is_object(body)) {
		err = ks_fail(e, KS_ERR_BADJSON, NULL, "body must be an array of mentions or {\"format\", \"data\"}");
	} else if (!(err = api_only_fields(body, (const char *const[]){"format", "data", NULL}, "", e))) {
		const char *f = json_string_value(json_object_get(body, "format"));
		const json_t *data = json_object_get(body, "data");
		if (f == NULL || !mentions_format_known(f))
			err = ks_fail(e, KS_ERR_INVALID, "format", "format must be one of generic-csv, generic-json, "
				      "trustpilot, google, kiyoh, appstore, social");
		else if (data == NULL)
			err = ks_fail(e, KS_ERR_INVALID, "data", "data is required");
		else if (json_is_string(data))
			err = mentions_parse_max(f, json_string_value(data), json_string_length(data), API_M_MAX_RECORDS,
						 b, e);
		else if (strcmp(f, "generic-csv") == 0 || strcmp(f, "kiyoh") == 0)
			err = ks_fail(e, KS_ERR_INVALID, "data", "data must be the %s document as a string", f);
		else
			err = mentions_from_json_max(f, data, API_M_MAX_RECORDS, b, e);
		if (f)
			snprintf(format, fn, "%s", f);
	}
	json_decref(body);
	return err;
}

ks_err api_mentions_post(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	mentions_batch b;
	mentions_counts n = {0, 0, 0};
	char format[24];
	ks_err err = api_m_parse(req, &b, format, sizeof format, e);
	if (!err)
		err = store_mentions_upsert(app->store, &b, &n, e);
	size_t received = b.n + b.duplicates, dups = b.duplicates;
	mentions_batch_free(&b);
	if (err)
		return err;
	bool changed = n.inserted + n.updated > 0;
	/* the same batch again writes nothing and leaves no entry either */
	if (changed)
		api_audit(req, "mention.import", "mention", 0,
			  json_pack("{s:s, s:I, s:I, s:I}", "format", format, "inserted", (json_int_t)n.inserted,
				    "updated", (json_int_t)n.updated, "unchanged", (json_int_t)n.unchanged));
	http_reply_json(req, 200,
			json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:b}", "format", format, "received",
				  (json_int_t)received, "duplicates", (json_int_t)dups, "inserted",
				  (json_int_t)n.inserted, "updated", (json_int_t)n.updated, "unchanged",
				  (json_int_t)n.unchanged, "changed", changed));
	return KS_OK;
}

/* ---- reading ------------------------------------------------------------------------ */

static ks_err api_m_int(http_req *req, const char *name, int lo, int hi, int dflt, int *out, ks_error *e)
{
	const char *v = http_query(req, name);
	*out = dflt;
	if (v == NULL)
		return KS_OK;
	char *end = NULL;
	long x = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || x < lo || x > hi)
		return ks_fail(e, KS_ERR_RANGE, name, "%s must be %d..%d", name, lo, hi);
	*out = (int)x;
	return KS_OK;
}

/* The filter of a list or summary, scoped: managers and team leads get
 * their own unit and below (a unit outside it is 403), and only directors
 * and admins may filter by customer (customers are personal data). */
static ks_err api_m_query(http_req *req, store_mention_query *q, ks_error *e)
{
	memset(q, 0, sizeof *q);
	int64_t employee = 0;
	q->source = http_query(req, "source");
	q->location = http_query(req, "location");
	q->theme = http_query(req, "theme");
	q->sentiment = http_query(req, "sentiment");
	q->q = http_query(req, "q");
	const char *rated = http_query(req, "rated");
	ks_err err = api_query_id(req, "unit_id", &q->unit_id, e);
	if (!err)
		err = api_query_id(req, "customer_id", &q->customer_id, e);
	if (!err)
		err = api_time_range(req, &q->from, &q->to, e);
	if (!err && q->sentiment && strcmp(q->sentiment, "positive") != 0 && strcmp(q->sentiment, "neutral") != 0 &&
	    strcmp(q->sentiment, "negative") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "sentiment", "sentiment must be positive, neutral or negative");
	if (!err && rated && strcmp(rated, "true") != 0 && strcmp(rated, "false") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "rated", "rated must be true or false");
	q->rated_only = rated && strcmp(rated, "true") == 0;
	if (!err && q->customer_id && !api_m_global(req))
		err = ks_fail(e, KS_ERR_FORBIDDEN, "customer_id", "customers are shown to directors and admins");
	if (!err && !api_m_global(req) && (err = api_scope(req, &q->unit_id, &employee, false, e)) && e &&
	    strcmp(e->field, "team_id") == 0)
		snprintf(e->field, sizeof e->field, "unit_id"); /* the parameter as this route names it */
	return err;
}

/* Customers are personal data: their link is for directors and admins. */
static void api_m_strip(http_req *req, json_t *m)
{
	if (!api_m_global(req))
		json_object_set_new(m, "customer_id", json_null());
}

ks_err api_mentions_list(http_req *req, ks_error *e)
{
	static const char *const params[] = {"source", "location", "unit_id", "customer_id", "from", "to", "theme",
					     "sentiment", "q", "rated", "limit", "offset", NULL};
	api_app *app = req->app;
	store_mention_query q;
	json_t *out = NULL;
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_m_query(req, &q, e);
	if (!err)
		err = api_m_int(req, "limit", 1, API_M_MAX, API_M_DEFAULT, &q.limit, e);
	if (!err)
		err = api_m_int(req, "offset", 0, 1000000000, 0, &q.offset, e);
	if (!err)
		err = store_mentions_list(app->store, &q, &out, e);
	if (err)
		return err;
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(out, "items"), i, m)
		api_m_strip(req, m);
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* The mention's id, checked against the caller's scope: a mention of no
 * unit, or of a unit outside it, is for directors and admins only. */
static ks_err api_m_scoped_id(http_req *req, int64_t *id, ks_error *e)
{
	api_app *app = req->app;
	int64_t unit = 0, employee = 0;
	ks_err err = api_param_id(req, 0, id, e);
	if (!err)
		err = store_mention_unit(app->store, *id, &unit, e);
	if (err || api_m_global(req))
		return err;
	if (unit == 0)
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "this mention is linked to no unit of yours");
	return api_scope(req, &unit, &employee, false, e);
}

ks_err api_mention_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	json_t *out = NULL;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = api_m_scoped_id(req, &id, e);
	if (!err)
		err = store_mention_get(app->store, id, &out, e);
	if (err)
		return err;
	api_m_strip(req, out);
	http_reply_json(req, 200, out);
	return KS_OK;
}

ks_err api_mentions_summary(http_req *req, ks_error *e)
{
	static const char *const params[] = {"group_by", "source", "location", "unit_id", "customer_id", "from",
					     "to", "theme", "sentiment", "q", "rated", NULL};
	api_app *app = req->app;
	store_mention_query q;
	json_t *out = NULL;
	const char *g = http_query(req, "group_by");
	ks_err err = api_only_params(req, params, e);
	if (!err && g && strcmp(g, "source") != 0 && strcmp(g, "location") != 0 && strcmp(g, "unit") != 0 &&
	    strcmp(g, "month") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "group_by", "group_by must be source, location, unit or month");
	if (!err)
		err = api_m_query(req, &q, e);
	if (!err)
		err = store_mentions_summary(app->store, &q, g ? g : "total", app->min_n, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- the reply ------------------------------------------------------------------------- */

enum { API_M_REPLY_MAX = 10000 };

/* {"draft": text} keeps a draft ("" or null clears it); {"text": text,
 * "recorded": true} records the reply as published on the source. */
ks_err api_mention_reply(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	json_t *o = NULL, *out = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, (const char *const[]){"draft", "text", "recorded", NULL}, "", e);
	const json_t *draft = json_object_get(o, "draft"), *text = json_object_get(o, "text");
	const json_t *rec = json_object_get(o, "recorded");
	bool recorded = json_is_true(rec);
	if (!err && rec && !json_is_boolean(rec))
		err = ks_fail(e, KS_ERR_INVALID, "recorded", "recorded must be true or false");
	else if (!err && recorded && (!json_is_string(text) || json_string_length(text) == 0))
		err = ks_fail(e, KS_ERR_INVALID, "text", "text is required to record a reply");
	else if (!err && !recorded && text)
		err = ks_fail(e, KS_ERR_INVALID, "recorded", "a reply text is recorded with \"recorded\": true");
	else if (!err && !recorded && (draft == NULL || !(json_is_string(draft) || json_is_null(draft))))
		err = ks_fail(e, KS_ERR_INVALID, "draft", "draft must be a string or null");
	else if (!err && recorded && draft)
		err = ks_fail(e, KS_ERR_INVALID, "draft", "give a draft or a recorded text, not both");
	const json_t *v = recorded ? text : draft;
	if (!err && json_is_string(v) && json_string_length(v) > API_M_REPLY_MAX)
		err = ks_fail(e, KS_ERR_RANGE, recorded ? "text" : "draft", "at most %d bytes", API_M_REPLY_MAX);
	if (!err)
		err = store_mention_reply(app->store, id, recorded ? NULL : json_string_value(draft),
					  recorded ? json_string_value(text) : NULL, recorded, req->who.user_id,
					  clock_now(app->clock), &out, e);
	json_decref(o);
	if (err)
		return err;
	api_audit(req, recorded ? "mention.reply" : "mention.reply_draft", "mention", id, NULL);
	api_m_strip(req, out);
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- locations ------------------------------------------------------------------------- */

ks_err api_mention_locations_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *out = NULL;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = store_mention_locations_list(app->store, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, json_pack("{s:o}", "items", out));
	return KS_OK;
}

static ks_err api_m_location(const char *v, const char *field, ks_error *e)
{
	if (v == NULL || v[0] == '\0' || strlen(v) > 500)
		return ks_fail(e, KS_ERR_INVALID, field, "location must be 1..500 bytes");
	return KS_OK;
}

/* {"location": name, "unit_id": id}: maps it and relinks its mentions. */
ks_err api_mention_locations_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	int64_t unit = 0, relinked = 0;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, (const char *const[]){"location", "unit_id", NULL}, "", e);
	const char *loc = json_string_value(json_object_get(o, "location"));
	if (!err)
		err = api_m_location(loc, "location", e);
	if (!err)
		err = api_json_id(o, "unit_id", &unit, e);
	if (!err && unit == 0)
		err = ks_fail(e, KS_ERR_INVALID, "unit_id", "unit_id is required (an org unit's id)");
	if (!err)
		err = store_mention_location_put(app->store, loc, unit, &relinked, e);
	if (!err) {
		api_audit(req, "mention_location.update", "org_unit", unit, json_pack("{s:s, s:I}", "location", loc,
										  "relinked", (json_int_t)relinked));
		http_reply_json(req, 200, json_pack("{s:s, s:I, s:I}", "location", loc, "unit_id", (json_int_t)unit,
						    "relinked", (json_int_t)relinked));
	}
	json_decref(o);
	return err;
}

/* ?location=name: the mapping goes, its mentions lose their unit. */
ks_err api_mention_locations_delete(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	const char *loc = http_query(req, "location");
	int64_t relinked = 0;
	ks_err err = api_only_params(req, (const char *const[]){"location", NULL}, e);
	if (!err)
		err = api_m_location(loc, "location", e);
	if (!err)
		err = store_mention_location_delete(app->store, loc, &relinked, e);
	if (err)
		return err;
	api_audit(req, "mention_location.delete", NULL, 0, json_pack("{s:s, s:I}", "location", loc, "relinked",
								       (json_int_t)relinked));
	http_reply_json(req, 200, json_pack("{s:s, s:I}", "location", loc, "relinked", (json_int_t)relinked));
	return KS_OK;
}
