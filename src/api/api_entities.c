/* api_entities.c — create / read / list / update of the administrative
 * resources described by model_entities (teams, employees, customers,
 * journeys, touchpoints, surveys). One generic handler set, driven by the
 * descriptors: adding a resource is adding a descriptor and a route row.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"

/* The entity is named by the path: /api/v1/<name>[/<id>]. */
static const model_entity *api_entity_of(http_req *req)
{
	char name[64];
	const char *p = req->path + strlen("/api/v1/");
	size_t n = strcspn(p, "/");
	if (n >= sizeof name)
		return NULL;
	memcpy(name, p, n);
	name[n] = '\0';
	return model_entity_find(name);
}

static ks_err api_entity_validated(http_req *req, const model_entity *ent, bool create,
				   json_t **out, ks_error *e)
{
	json_t *obj = NULL;
	ks_err err = api_body_object(req, &obj, e);
	if (!err)
		err = model_validate(ent, obj, create, e);
	if (!err && create && ent->check)
		err = ent->check(ent, obj, NULL, e);
	if (err) {
		json_decref(obj);
		return err;
	}
	*out = obj;
	return KS_OK;
}

/* The analytics index keeps names, the org tree and customer attributes:
 * tell it when they change. Failure to refresh is logged, not fatal: the
 * row is stored, only a label may be stale until the next refresh. */
static void api_entity_changed(api_app *app, const model_entity *ent, const json_t *row)
{
	ks_error e;
	ks_error_clear(&e);
	ks_err err = KS_OK;
	if (strcmp(ent->name, "customers") == 0)
		err = an_index_refresh_customer(app->index, json_integer_value(json_object_get(row, "id")), &e);
	else if (strcmp(ent->name, "surveys") != 0)
		err = an_index_refresh_dims(app->index, &e);
	if (err)
		fprintf(stderr, "klantstem: analytics index refresh failed: %s\n", e.message);
}

ks_err api_entity_create(http_req *req, ks_error *e);
ks_err api_entity_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	const model_entity *ent = api_entity_of(req);
	if (ent == NULL)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	json_t *obj = NULL, *row = NULL;
	ks_err err = api_entity_validated(req, ent, true, &obj, e);
	if (!err)
		err = store_entity_create(app->store, ent, obj, &row, e);
	json_decref(obj);
	if (err)
		return err;
	api_entity_changed(app, ent, row);
	snprintf(req->location, sizeof req->location, "/api/v1/%s/%lld", ent->name,
		 (long long)json_integer_value(json_object_get(row, "id")));
	api_audit(req, "entity.create", ent->name, json_integer_value(json_object_get(row, "id")), NULL);
	api_survey_warnings(app, ent, row);  /* issue 13 */
	http_reply_json(req, 201, row);
	return KS_OK;
}

ks_err api_entity_get(http_req *req, ks_error *e);
ks_err api_entity_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	const model_entity *ent = api_entity_of(req);
	int64_t id;
	if (ent == NULL)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	ks_err err = api_param_id(req, 0, &id, e);
	json_t *row = NULL;
	if (!err)
		err = store_entity_get(app->store, ent, id, &row, e);
	if (err)
		return err;
	api_survey_warnings(app, ent, row);  /* issue 13 */
	http_reply_json(req, 200, row);
	return KS_OK;
}

static bool api_list_param(const char *key, void *arg)
{
	const model_entity *ent = arg;
	return strcmp(key, "limit") == 0 || strcmp(key, "cursor") == 0 ||
	       model_field_find(ent, key) != NULL;
}

/* Only one filter per list call, on a field marked filterable. */
static ks_err api_list_filter(http_req *req, const model_entity *ent, store_list_query *q,
			      ks_error *e)
{
	for (size_t i = 0; i < ent->n_fields; i++) {
		const model_field *f = &ent->fields[i];
		const char *v = http_query(req, f->name);
		if (v == NULL)
			continue;
		if (!f->filterable)
			return ks_fail(e, KS_ERR_INVALID, f->name, "cannot filter %s on %s", ent->name,
				       f->name);
		if (q->filter_field)
			return ks_fail(e, KS_ERR_INVALID, f->name, "only one filter at a time");
		if (f->type == MODEL_F_REF || f->type == MODEL_F_INT) {
			int64_t id;
			ks_err err = api_query_id(req, f->name, &id, e);
			if (err)
				return err;
		}
		q->filter_field = f->name;
		q->filter_value = v;
	}
	return KS_OK;
}

ks_err api_entity_list(http_req *req, ks_error *e);
ks_err api_entity_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	const model_entity *ent = api_entity_of(req);
	if (ent == NULL)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	store_list_query q;
	json_t *out = NULL;
	ks_err err = api_query_only(req, api_list_param, (void *)ent, e);
	if (!err)
		err = api_page(req, &q, e);
	if (!err)
		err = api_list_filter(req, ent, &q, e);
	if (!err)
		err = store_entity_list(app->store, ent, &q, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

ks_err api_entity_update(http_req *req, ks_error *e);
ks_err api_entity_update(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	const model_entity *ent = api_entity_of(req);
	int64_t id;
	if (ent == NULL)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	ks_err err = api_param_id(req, 0, &id, e);
	json_t *patch = NULL, *row = NULL;
	if (!err)
		err = api_entity_validated(req, ent, false, &patch, e);
	if (!err)
		err = store_entity_update(app->store, ent, id, patch, &row, e);
	json_decref(patch);
	if (err)
		return err;
	api_audit(req, "entity.update", ent->name, id, NULL);
	api_entity_changed(app, ent, row);
	api_survey_warnings(app, ent, row);  /* issue 13 */
	http_reply_json(req, 200, row);
	return KS_OK;
}
