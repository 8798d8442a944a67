/* api_gdpr.c — a person's data over HTTP (issue 11), for admins:
 *   GET  /api/v1/customers/{id}/export   everything stored about them (JSON)
 *   POST /api/v1/customers/{id}/erase    erase them (a second time: 200, nothing done)
 *   GET  /api/v1/employees/{id}/export
 *   POST /api/v1/employees/{id}/erase
 *   GET  /api/v1/retention               the policy in force, with the defaults
 *   PUT  /api/v1/retention               change it (any subset of the kinds)
 * An export is logged before it leaves (no entry, no export); an erasure
 * and a policy change write their entry in their own transaction.
 * docs/API.md, "Privacy"; docs/PRIVACY.md, sections 7-9.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"
#include "privacy/gdpr.h"
#include "privacy/retention.h"

static ks_err api_gdpr_export(http_req *req, store_subject_kind k, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	json_t *out = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = gdpr_export(app->store, k, id, &out, e);
	if (err)
		return err;
	err = api_audit(req, k == STORE_SUBJECT_CUSTOMER ? "export.customer" : "export.employee",
			gdpr_subject_name(k), id, NULL);
	if (err) {
		json_decref(out);
		return ks_fail(e, err, NULL, "the export could not be logged; nothing was exported");
	}
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* The body is optional; when given it is an object with at most
 * "confirm": true (the UI sends it; machines may leave the body out). */
static ks_err api_gdpr_erase(http_req *req, store_subject_kind k, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err && req->body.len > 0) {
		json_t *o = NULL;
		err = api_body_object(req, &o, e);
		if (!err)
			err = api_only_fields(o, (const char *const[]){"confirm", NULL}, "", e);
		const json_t *c = json_object_get(o, "confirm");
		if (!err && c && !json_is_true(c))
			err = ks_fail(e, KS_ERR_INVALID, "confirm", "confirm must be true (or left out)");
		json_decref(o);
	}
	if (err)
		return err;
	char addr[64];
	http_client_addr(req, addr, sizeof addr);
	store_erasure x = {.by_user_id = req->who.user_id, .via = "api", .client_addr = addr};
	err = gdpr_erase(app->store, app->index, k, id, &x, e);
	if (err)
		return err;
	http_reply_json(req, 200, gdpr_erasure_json(k, id, &x));
	return KS_OK;
}

ks_err api_gdpr_customer_export(http_req *req, ks_error *e)
{
	return api_gdpr_export(req, STORE_SUBJECT_CUSTOMER, e);
}

ks_err api_gdpr_customer_erase(http_req *req, ks_error *e)
{
	return api_gdpr_erase(req, STORE_SUBJECT_CUSTOMER, e);
}

ks_err api_gdpr_employee_export(http_req *req, ks_error *e)
{
	return api_gdpr_export(req, STORE_SUBJECT_EMPLOYEE, e);
}

ks_err api_gdpr_employee_erase(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = api_gdpr_erase(req, STORE_SUBJECT_EMPLOYEE, e);
	/* The employee is gone from the names the dashboards label with. */
	if (!err)
		an_index_refresh_dims(app->index, NULL);
	return err;
}

ks_err api_retention_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_retention r;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = retention_get(app->store, &r, e);
	if (err)
		return err;
	http_reply_json(req, 200, retention_json(&r));
	return KS_OK;
}

ks_err api_retention_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_retention r;
	json_t *o = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = retention_get(app->store, &r, e);
	if (!err) {
		memset(r.stored, 0, sizeof r.stored);
		err = retention_from_json(o, &r, e);
	}
	char *detail = NULL;
	if (!err) {
		detail = audit_detail_text(json_deep_copy(o));
		if (detail == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	json_decref(o);
	char addr[64];
	http_client_addr(req, addr, sizeof addr);
	store_audit_entry a = {.actor_user_id = req->who.user_id, .client_addr = addr,
			       .action = "retention.update", .object_kind = "retention", .detail = detail};
	r.updated_by = req->who.user_id;
	if (!err)
		err = store_retention_put(app->store, &r, &a, e);
	free(detail);
	if (!err)
		err = retention_get(app->store, &r, e);
	if (err)
		return err;
	http_reply_json(req, 200, retention_json(&r));
	return KS_OK;
}
