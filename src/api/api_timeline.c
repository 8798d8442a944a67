/* api_timeline.c — GET /api/v1/customers/{id}/timeline (issue 16): one
 * customer's history, newest first, paged by time. Read by the roles that
 * read the customer (directors and admins, routes.c); they see the
 * response's open answer as GET /responses/{id} shows it to them, no more.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"

enum { API_TL_DEFAULT = 50, API_TL_MAX = 200 };

/* ?limit= as 1..200 (default 50); 422 field limit otherwise. */
static ks_err api_tl_limit(http_req *req, int *limit, ks_error *e)
{
	const char *v = http_query(req, "limit");
	*limit = API_TL_DEFAULT;
	if (v == NULL)
		return KS_OK;
	char *end = NULL;
	long n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < 1 || n > API_TL_MAX)
		return ks_fail(e, KS_ERR_RANGE, "limit", "limit must be 1..200");
	*limit = (int)n;
	return KS_OK;
}

/* ?before= as an ISO time (0 when absent); 422 field before otherwise. */
static ks_err api_tl_before(http_req *req, int64_t *before, ks_error *e)
{
	const char *v = http_query(req, "before");
	*before = 0;
	if (v == NULL)
		return KS_OK;
	if (clock_parse_iso(v, before) != KS_OK || *before <= 0)
		return ks_fail(e, KS_ERR_INVALID, "before", "before must be an ISO 8601 time");
	return KS_OK;
}

ks_err api_customer_timeline(http_req *req, ks_error *e)
{
	static const char *const params[] = {"before", "limit", NULL};
	api_app *app = req->app;
	int64_t id, before;
	int limit;
	json_t *out = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_only_params(req, params, e);
	if (!err)
		err = api_tl_before(req, &before, e);
	if (!err)
		err = api_tl_limit(req, &limit, e);
	if (!err)
		err = store_timeline_customer(app->store, id, req->who.language, before, limit, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}
