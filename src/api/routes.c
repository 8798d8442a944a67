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
ks_err api_survey_get(http_req *req, ks_error *e);
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
	{"GET", "/s/{token}", api_survey_get},
	{"POST", "/s/{token}", api_survey_post},
};

const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];
