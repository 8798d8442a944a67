/* api_text.c — text analysis (issue 14): analyse a text, the
 * organisation's taxonomy, its sentiment model and the reanalysis of the
 * stored answers. docs/API.md "Text analysis"; the store does the work
 * (sqlite_text_config.c, sqlite_text_job.c).
 *
 * Every change is an admin's and is audit-logged in the change's own
 * transaction: text.taxonomy_update, text.taxonomy_reset, text.theme_add,
 * text.model_train, text.model_delete, text.model_settings, text.reanalyze.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"

#define API_TEXT_MAX 20000   /* bytes of one text to analyse */

static const char *const api_no_params[] = {NULL};

/* The audit entry of a change by req's caller; detail (consumed) is kept
 * in *detail_text for the caller to free. */
static store_audit_entry api_text_audit(http_req *req, const char *action, const char *kind, json_t *detail,
					char addr[64], char **detail_text)
{
	http_client_addr(req, addr, 64);
	*detail_text = audit_detail_text(detail);
	return (store_audit_entry){.actor_user_id = req->who.user_id, .client_addr = addr, .action = action,
				   .object_kind = kind, .detail = *detail_text};
}

ks_err api_text_taxonomy(api_app *app, json_t **out)
{
	json_t *o = NULL;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = store_text_taxonomy_get(app->store, &o, &e);
	if (err)
		return err;
	json_t *tax = json_object_get(o, "taxonomy");
	if (!json_is_object(tax)) {
		json_decref(o);
		return KS_ERR_INTERNAL;
	}
	*out = json_incref(tax);
	json_decref(o);
	return KS_OK;
}

/* POST /api/v1/text/analyze {"text", "language"} */
ks_err api_text_analyze(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, (const char *const[]){"text", "language", NULL}, "", e);
	json_t *text = o ? json_object_get(o, "text") : NULL;
	json_t *lang = o ? json_object_get(o, "language") : NULL;
	if (!err && !json_is_string(text))
		err = ks_fail(e, KS_ERR_INVALID, "text", "text is required: a string");
	else if (!err && json_string_length(text) > API_TEXT_MAX)
		err = ks_fail(e, KS_ERR_RANGE, "text", "text is longer than %d bytes", API_TEXT_MAX);
	const char *l = json_is_string(lang) ? json_string_value(lang) : NULL;
	if (!err && lang && !(l && (!strcmp(l, "nl") || !strcmp(l, "en") || !strcmp(l, "auto"))))
		err = ks_fail(e, KS_ERR_INVALID, "language", "language must be nl, en or auto");
	json_t *out = NULL;
	if (!err)
		err = store_text_analyze(app->store, json_string_value(text), json_string_length(text), l, &out, e);
	json_decref(o);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- the shapes every route here has ---- */

typedef ks_err (*api_text_read_fn)(ks_store *s, json_t **out, ks_error *e);
typedef ks_err (*api_text_act_fn)(ks_store *s, const store_audit_entry *a, json_t **out, ks_error *e);

/* A GET without parameters: the store's JSON as it is. */
static ks_err api_text_read(http_req *req, api_text_read_fn read, ks_error *e)
{
	api_app *app = req->app;
	json_t *out = NULL;
	ks_err err = api_only_params(req, api_no_params, e);
	if (!err)
		err = read(app->store, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* An action without a body, audited as `action` on `target`; the store's
 * JSON with `status`. */
static ks_err api_text_act(http_req *req, const char *action, const char *target, api_text_act_fn act,
			   int status, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = api_only_params(req, api_no_params, e);
	char addr[64], *detail = NULL;
	store_audit_entry a = api_text_audit(req, action, target, NULL, addr, &detail);
	json_t *out = NULL;
	if (!err)
		err = act(app->store, &a, &out, e);
	free(detail);
	if (err)
		return err;
	http_reply_json(req, status, out);
	return KS_OK;
}

/* ---- the taxonomy ---- */

ks_err api_text_taxonomy_get(http_req *req, ks_error *e)
{
	return api_text_read(req, store_text_taxonomy_get, e);
}

/* PUT with a body (the new taxonomy) or DELETE (back to the default). */
static ks_err api_text_taxonomy_set(http_req *req, bool reset, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	ks_err err = api_only_params(req, api_no_params, e);
	if (!err && !reset)
		err = api_body_object(req, &o, e);
	char addr[64], *detail = NULL;
	json_t *d = reset ? json_object() : json_pack("{s:I}", "themes", (json_int_t)json_array_size(json_object_get(o, "themes")));
	store_audit_entry a = api_text_audit(req, reset ? "text.taxonomy_reset" : "text.taxonomy_update",
					     "text_taxonomy", d, addr, &detail);
	json_t *out = NULL;
	if (!err)
		err = store_text_taxonomy_put(app->store, o, &a, &out, e);
	json_decref(o);
	free(detail);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

ks_err api_text_taxonomy_put(http_req *req, ks_error *e)
{
	return api_text_taxonomy_set(req, false, e);
}

ks_err api_text_taxonomy_delete(http_req *req, ks_error *e)
{
	return api_text_taxonomy_set(req, true, e);
}

/* POST /api/v1/text/taxonomy/themes — the discovery page's "add as theme". */
ks_err api_text_theme_add(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	ks_err err = api_only_params(req, api_no_params, e);
	if (!err)
		err = api_body_object(req, &o, e);
	char addr[64], *detail = NULL;
	json_t *id = o ? json_object_get(o, "id") : NULL;
	store_audit_entry a = api_text_audit(req, "text.theme_add", "text_taxonomy",
					     json_pack("{s:O?}", "id", json_is_string(id) ? id : NULL), addr, &detail);
	json_t *out = NULL;
	if (!err)
		err = store_text_theme_add(app->store, o, &a, &out, e);
	json_decref(o);
	free(detail);
	if (err)
		return err;
	http_reply_json(req, 201, out);
	return KS_OK;
}

/* ---- the model ---- */

ks_err api_text_model_get(http_req *req, ks_error *e)
{
	return api_text_read(req, store_text_model_get, e);
}

ks_err api_text_model_train(http_req *req, ks_error *e)
{
	return api_text_act(req, "text.model_train", "text_model", store_text_model_train, 200, e);
}

ks_err api_text_model_delete(http_req *req, ks_error *e)
{
	return api_text_act(req, "text.model_delete", "text_model", store_text_model_delete, 200, e);
}

/* A member that must be an integer when present; -1 when absent. */
static ks_err api_text_int(const json_t *o, const char *name, int *out, ks_error *e)
{
	json_t *v = json_object_get(o, name);
	*out = -1;
	if (v == NULL)
		return KS_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a whole number", name);
	*out = (int)json_integer_value(v);
	return KS_OK;
}

/* PATCH /api/v1/text/model {"retrain_days", "min_examples"} */
ks_err api_text_model_settings(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	int days = -1, min = -1;
	ks_err err = api_only_params(req, api_no_params, e);
	if (!err)
		err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, (const char *const[]){"retrain_days", "min_examples", NULL}, "", e);
	if (!err)
		err = api_text_int(o, "retrain_days", &days, e);
	if (!err)
		err = api_text_int(o, "min_examples", &min, e);
	char addr[64], *detail = NULL;
	store_audit_entry a = api_text_audit(req, "text.model_settings", "text_model", o ? json_deep_copy(o) : NULL,
					     addr, &detail);
	json_t *out = NULL;
	if (!err)
		err = store_text_model_settings(app->store, days, min, &a, &out, e);
	json_decref(o);
	free(detail);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- the reanalysis ---- */

ks_err api_text_reanalyze_get(http_req *req, ks_error *e)
{
	return api_text_read(req, store_text_job_get, e);
}

static ks_err api_text_job_manual(ks_store *s, const store_audit_entry *a, json_t **out, ks_error *e)
{
	return store_text_job_start(s, "manual", a, out, e);
}

ks_err api_text_reanalyze_post(http_req *req, ks_error *e)
{
	return api_text_act(req, "text.reanalyze", "text_reanalysis", api_text_job_manual, 202, e);
}
