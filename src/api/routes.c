/* routes.c — the route table: every URL the server answers, in one place.
 * The router (src/http/router.c) and docs/API.md both follow this table.
 */
#include "api/api.h"

ks_err api_entity_create(http_req *req, ks_error *e);
ks_err api_entity_get(http_req *req, ks_error *e);
ks_err api_entity_list(http_req *req, ks_error *e);
ks_err api_entity_update(http_req *req, ks_error *e);
ks_err api_contact_create(http_req *req, ks_error *e);
ks_err api_contact_get(http_req *req, ks_error *e);
ks_err api_response_create(http_req *req, ks_error *e);
ks_err api_response_get(http_req *req, ks_error *e);
ks_err api_response_list(http_req *req, ks_error *e);
ks_err api_metrics(http_req *req, ks_error *e);
ks_err api_metrics_trend(http_req *req, ks_error *e);
ks_err api_metrics_compare(http_req *req, ks_error *e);
ks_err api_survey_get(http_req *req, ks_error *e);
ks_err api_rule_get(http_req *req, ks_error *e);
ks_err api_rule_put(http_req *req, ks_error *e);
ks_err api_rule_list(http_req *req, ks_error *e);
ks_err api_invitation_list(http_req *req, ks_error *e);
ks_err api_optout_customer(http_req *req, ks_error *e);
ks_err api_optout_list(http_req *req, ks_error *e);
ks_err api_funnel(http_req *req, ks_error *e);
ks_err api_representativeness(http_req *req, ks_error *e);
ks_err api_touchpoint_qr(http_req *req, ks_error *e);
ks_err api_unsubscribe_get(http_req *req, ks_error *e);
ks_err api_unsubscribe_post(http_req *req, ks_error *e);
ks_err api_admin_clock(http_req *req, ks_error *e);
ks_err api_admin_scheduler_run(http_req *req, ks_error *e);
ks_err api_survey_post(http_req *req, ks_error *e);

static ks_err api_healthz(http_req *req, ks_error *e)
{
	(void)e;
	api_app *app = req->app;
	http_reply_json(req, 200, json_pack("{s:s, s:i}", "status", "ok", "schema_version",
					    store_schema_version(app->store)));
	return KS_OK;
}

#define API_ENTITY_ROUTES(res)                                  \
	{"GET", "/api/v1/" res, api_entity_list},               \
	{"POST", "/api/v1/" res, api_entity_create},            \
	{"GET", "/api/v1/" res "/{id}", api_entity_get},        \
	{"PATCH", "/api/v1/" res "/{id}", api_entity_update},   \
	{"PUT", "/api/v1/" res "/{id}", api_entity_update}

const http_route api_routes[] = {
	{"GET", "/healthz", api_healthz},
	API_ENTITY_ROUTES("teams"),
	API_ENTITY_ROUTES("employees"),
	API_ENTITY_ROUTES("customers"),
	API_ENTITY_ROUTES("journeys"),
	API_ENTITY_ROUTES("touchpoints"),
	API_ENTITY_ROUTES("surveys"),
	{"POST", "/api/v1/contacts", api_contact_create},
	{"GET", "/api/v1/contacts/{id}", api_contact_get},
	{"POST", "/api/v1/responses", api_response_create},
	{"GET", "/api/v1/responses", api_response_list},
	{"GET", "/api/v1/responses/{id}", api_response_get},
	{"GET", "/api/v1/metrics", api_metrics},
	{"GET", "/api/v1/metrics/trend", api_metrics_trend},
	{"GET", "/api/v1/metrics/compare", api_metrics_compare},
	{"GET", "/s/{token}", api_survey_get},
	{"POST", "/s/{token}", api_survey_post},
	{"GET", "/api/v1/rules", api_rule_list},
	{"GET", "/api/v1/touchpoints/{id}/rule", api_rule_get},
	{"PUT", "/api/v1/touchpoints/{id}/rule", api_rule_put},
	{"GET", "/api/v1/touchpoints/{id}/qr.svg", api_touchpoint_qr},
	{"GET", "/api/v1/invitations", api_invitation_list},
	{"POST", "/api/v1/customers/{id}/opt-out", api_optout_customer},
	{"GET", "/api/v1/opt-outs", api_optout_list},
	{"GET", "/api/v1/funnel", api_funnel},
	{"GET", "/api/v1/funnel/representativeness", api_representativeness},
	{"GET", "/u/{token}", api_unsubscribe_get},
	{"POST", "/u/{token}", api_unsubscribe_post},
	{"POST", "/api/v1/admin/clock", api_admin_clock},
	{"POST", "/api/v1/admin/scheduler/run", api_admin_scheduler_run},
};

const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];
