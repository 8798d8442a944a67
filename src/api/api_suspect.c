/* api_suspect.c — answers held by the open-link guard (issue 11): list
 * them with their bursts, accept or reject them. Admins only (routes.c).
 * docs/API.md, "Suspect responses".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

/* At most this many ids in one accept or reject (a whole burst of any size
 * goes by burst_id). */
#define API_SUSPECT_IDS_MAX 10000
/* Bursts shown with the list, newest first. */
#define API_SUSPECT_BURSTS 50

static bool api_suspect_param(const char *key, void *arg)
{
	(void)arg;
	return strcmp(key, "limit") == 0 || strcmp(key, "cursor") == 0 ||
	       strcmp(key, "burst_id") == 0;
}

/* The guard's limits as JSON, so the page can say what "a burst" is. */
static json_t *api_suspect_limits(const api_app *app)
{
	if (app->guard == NULL)
		return json_null();
	guard_config c;
	guard_get_config(app->guard, &c);
	return json_pack("{s:{s:i, s:i}, s:{s:i, s:i}, s:{s:i, s:i}, s:i}", "addr", "limit",
			 c.addr_limit, "window_s", c.addr_window_s, "link", "limit", c.link_limit,
			 "window_s", c.link_window_s, "normal", "limit", c.normal_limit, "window_s",
			 c.normal_window_s, "quiet_s", c.quiet_s);
}

/* GET /api/v1/suspect-responses?burst_id=&limit=&cursor= */
ks_err api_suspect_list(http_req *req, ks_error *e);
ks_err api_suspect_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_list_query page;
	store_suspect_query q = {0};
	json_t *out = NULL, *bursts = NULL;
	ks_err err = api_query_only(req, api_suspect_param, NULL, e);
	if (!err)
		err = api_page(req, &page, e);
	if (!err)
		err = api_query_id(req, "burst_id", &q.burst_id, e);
	q.after_id = page.after_id;
	q.limit = page.limit;
	if (!err)
		err = store_suspect_list(app->store, &q, &out, e);
	if (!err)
		err = store_suspect_bursts(app->store, API_SUSPECT_BURSTS, &bursts, e);
	if (err) {
		json_decref(out);
		return err;
	}
	json_object_set(out, "bursts", json_object_get(bursts, "items"));
	json_decref(bursts);
	json_object_set_new(out, "limits", api_suspect_limits(app));
	http_reply_json(req, 200, out);
	return KS_OK;
}

static const char *const api_suspect_keys[] = {"ids", "burst_id", NULL};

/* {"ids":[...]} and/or {"burst_id": n}: *ids is malloc'd (caller frees). */
static ks_err api_suspect_target(const json_t *o, int64_t **ids, size_t *n, int64_t *burst_id,
				 ks_error *e)
{
	*ids = NULL;
	*n = 0;
	ks_err err = api_only_fields(o, api_suspect_keys, "", e);
	if (!err)
		err = api_json_id(o, "burst_id", burst_id, e);
	if (err)
		return err;
	const json_t *a = json_object_get(o, "ids");
	if (a && !json_is_null(a)) {
		if (!json_is_array(a))
			return ks_fail(e, KS_ERR_INVALID, "ids", "ids must be an array of ids");
		if (json_array_size(a) > API_SUSPECT_IDS_MAX)
			return ks_fail(e, KS_ERR_RANGE, "ids", "at most %d ids at once (or give burst_id)",
				       API_SUSPECT_IDS_MAX);
		*ids = calloc(json_array_size(a) + 1, sizeof **ids);
		if (*ids == NULL)
			return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		size_t i;
		const json_t *v;
		json_array_foreach(a, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) < 1) {
				free(*ids);
				*ids = NULL;
				return ks_fail(e, KS_ERR_INVALID, "ids", "ids must hold positive integers");
			}
			(*ids)[(*n)++] = json_integer_value(v);
		}
	}
	/* An explicit empty list is an empty batch; saying nothing is a mistake. */
	if ((a == NULL || json_is_null(a)) && *burst_id == 0)
		return ks_fail(e, KS_ERR_INVALID, "ids", "give ids or burst_id");
	return KS_OK;
}

static ks_err api_suspect_decide(http_req *req, bool accept, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	int64_t *ids = NULL, burst_id = 0;
	size_t n_ids = 0;
	int done = 0;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_suspect_target(o, &ids, &n_ids, &burst_id, e);
	json_decref(o);
	if (!err)
		err = store_suspect_decide(app->store, accept, ids, n_ids, burst_id,
					   clock_now(app->clock), &done, e);
	free(ids);
	if (err == KS_ERR_STORAGE_FULL)
		req->retry_after = 300;
	if (err)
		return err;
	http_reply_json(req, 200, json_pack("{s:i}", accept ? "accepted" : "rejected", done));
	return KS_OK;
}

/* POST /api/v1/suspect-responses/accept: counted from now on. */
ks_err api_suspect_accept(http_req *req, ks_error *e)
{
	return api_suspect_decide(req, true, e);
}

/* POST /api/v1/suspect-responses/reject: deleted. */
ks_err api_suspect_reject(http_req *req, ks_error *e)
{
	return api_suspect_decide(req, false, e);
}
