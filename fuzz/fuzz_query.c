/* fuzz_query.c — the query strings and filters of the read routes, with
 * all of the input spent on the query: the metrics filter and window
 * (api_metrics.c, api_disclose.c: period, from/to, ids, channel,
 * language, bands, city, a./b. prefixes, group_by, sort, measures,
 * format), and the lists' filters and cursors (verbatims, cases, actions,
 * responses, invitations, funnel, audit, entity lists). Same in-process
 * product as fuzz_api (fuzz_app.h).
 *
 * Input: byte 0: bits 0-3 pick the route, bits 4-6 the role (employee,
 * team lead, manager, director, admin); the rest is the query string (the
 * part after '?', as sent: %-escapes are decoded as libmicrohttpd does).
 * Oracles (fuzz_app.h): no 5xx, JSON replies parse, CSV replies UTF-8.
 */
#include "fuzz_app.h"

static const char *const fz_paths[16] = {
	"/api/v1/metrics", "/api/v1/metrics", "/api/v1/metrics/trend", "/api/v1/metrics/compare",
	"/api/v1/verbatims", "/api/v1/cases", "/api/v1/cases/stats", "/api/v1/actions",
	"/api/v1/responses", "/api/v1/invitations", "/api/v1/funnel", "/api/v1/funnel/representativeness",
	"/api/v1/me/dashboard", "/api/v1/teams/5/wall", "/api/v1/customers", "/api/v1/audit",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_world_open();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode = fz_byte(&data, &size);
	char *query = fz_cstr(data, size);
	char headers[] = "";
	static const int roles[8] = {AUTH_ROLE_DIRECTOR, AUTH_ROLE_ADMIN, AUTH_ROLE_MANAGER, AUTH_ROLE_TEAM_LEAD,
				     AUTH_ROLE_EMPLOYEE, AUTH_ROLE_DIRECTOR, AUTH_ROLE_TEAM_LEAD, AUTH_ROLE_ADMIN};
	fz_request r = {.method = "GET", .path = fz_paths[mode & 15], .query = query, .headers = headers,
			.role = roles[(mode >> 4) & 7]};
	fz_reply out;
	if (fz_request_run(&r, &out))
		fz_reply_check(&r, &out);
	free(out.body);
	free(query);
	return 0;
}
