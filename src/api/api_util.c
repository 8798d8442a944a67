/* api_util.c — input helpers shared by the API handlers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api.h"

ks_err api_body_object(http_req *req, json_t **out, ks_error *e)
{
	if (req->body.len == 0)
		return ks_fail(e, KS_ERR_BADJSON, NULL, "a JSON object body is required");
	json_error_t je;
	json_t *v = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL)
		return ks_fail(e, KS_ERR_BADJSON, NULL, "malformed JSON at line %d column %d: %s",
			       je.line, je.column, je.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return ks_fail(e, KS_ERR_BADJSON, NULL, "the body must be a JSON object");
	}
	*out = v;
	return KS_OK;
}

static bool api_parse_id(const char *s, int64_t *id)
{
	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return false;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v <= 0)
		return false;
	*id = v;
	return true;
}

ks_err api_param_id(http_req *req, size_t i, int64_t *id, ks_error *e)
{
	if (i >= req->n_params || !api_parse_id(req->params[i], id))
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	return KS_OK;
}

ks_err api_query_id(http_req *req, const char *name, int64_t *id, ks_error *e)
{
	const char *v = http_query(req, name);
	*id = 0;
	if (v == NULL)
		return KS_OK;
	if (!api_parse_id(v, id))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a positive integer id", name);
	return KS_OK;
}

ks_err api_json_id(const json_t *obj, const char *name, int64_t *id, ks_error *e)
{
	const json_t *v = json_object_get(obj, name);
	*id = 0;
	if (v == NULL || json_is_null(v))
		return KS_OK;
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a positive integer id", name);
	*id = json_integer_value(v);
	return KS_OK;
}

ks_err api_page_limit(http_req *req, int *limit, ks_error *e)
{
	*limit = 50;
	const char *lim = http_query(req, "limit");
	if (lim) {
		char *end = NULL;
		long v = strtol(lim, &end, 10);
		if (*lim == '\0' || *end != '\0' || v < 1 || v > 500)
			return ks_fail(e, KS_ERR_RANGE, "limit", "limit must be 1..500");
		*limit = (int)v;
	}
	return KS_OK;
}

ks_err api_page(http_req *req, store_list_query *q, ks_error *e)
{
	memset(q, 0, sizeof *q);
	ks_err err = api_page_limit(req, &q->limit, e);
	if (err)
		return err;
	if (http_query(req, "cursor"))
		return api_query_id(req, "cursor", &q->after_id, e);
	return KS_OK;
}

uint64_t api_hash(const char *p, size_t n)
{
	/* FNV-1a, 64-bit (Fowler, Noll, Vo; offset basis and prime from
	 * http://www.isthe.com/chongo/tech/comp/fnv/). Not cryptographic: it
	 * only tells a retry from a different body under the same key. */
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h & 0x7fffffffffffffffULL;
}

typedef struct api_param_scan {
	api_param_ok allowed;
	void *arg;
	char bad[64];
} api_param_scan;

static enum MHD_Result api_param_visit(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	(void)kind;
	(void)value;
	api_param_scan *ps = cls;
	if (ps->allowed(key, ps->arg))
		return MHD_YES;
	snprintf(ps->bad, sizeof ps->bad, "%s", key);
	return MHD_NO;
}

ks_err api_query_only(http_req *req, api_param_ok allowed, void *arg, ks_error *e)
{
	api_param_scan ps = {.allowed = allowed, .arg = arg, .bad = ""};
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, api_param_visit, &ps);
	if (ps.bad[0])
		return ks_fail(e, KS_ERR_INVALID, ps.bad, "unknown parameter %s", ps.bad);
	return KS_OK;
}

/* A date is the organisation's local midnight, like every date the
 * product reads (tz_parse_time). */
static ks_err api_time_param(http_req *req, const char *name, int64_t *out, ks_error *e)
{
	const api_app *app = req->app;
	const char *v = http_query(req, name);
	*out = 0;
	if (v && tz_parse_time(&app->tz, v, name, out, NULL) != KS_OK)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a date (YYYY-MM-DD) or ISO time", name);
	return KS_OK;
}

ks_err api_time_range(http_req *req, int64_t *from, int64_t *to, ks_error *e)
{
	ks_err err = api_time_param(req, "from", from, e);
	if (!err)
		err = api_time_param(req, "to", to, e);
	if (!err && *from && *to && *to <= *from)
		err = ks_fail(e, KS_ERR_RANGE, "to", "to must be after from");
	return err;
}

bool api_name_in(const char *name, void *list)
{
	const char *const *l = list;
	for (size_t i = 0; l[i]; i++)
		if (strcmp(l[i], name) == 0)
			return true;
	return false;
}

ks_err api_only_params(http_req *req, const char *const *list, ks_error *e)
{
	return api_query_only(req, api_name_in, (void *)list, e);
}

ks_err api_only_fields(const json_t *o, const char *const *list, const char *prefix, ks_error *e)
{
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		(void)v;
		if (!api_name_in(key, (void *)list)) {
			char field[96];
			snprintf(field, sizeof field, "%s%s", prefix, key);
			return ks_fail(e, KS_ERR_INVALID, field, "unknown field %s", field);
		}
	}
	return KS_OK;
}
