/* fuzz_api.c — every route of the API and the public pages, in process:
 * the JSON bodies of each write route, the query strings and filters of
 * each read route (metrics, trend, compare, verbatims, cases, lists, CSV
 * exports), the survey form (POST /s/{token}), the unsubscribe link
 * (/u/{token}) and the session / token / CSRF checks of api_authorize.
 *
 * Input (see fuzz/corpus/fuzz_api/ for seeds of every route):
 *   byte 0   bits 0-2: who asks: 1 employee, 2 team lead, 3 manager,
 *            4 director, 5 admin (refused, as by api_authorize, where the
 *            route does not admit the role); 0, 6, 7: api_authorize decides
 *            from the headers (a session of the admin: Cookie ks_session=FZ_SESSION,
 *            X-CSRF-Token: fuzzcsrf); bits 3-5: which known token or id
 *            fills an empty path parameter
 *   then     "ROUTE\nPARAM\nQUERY\nHEADERS\n" and the body (raw bytes to
 *            the end). ROUTE is "METHOD /pattern" as in routes.c (another
 *            text picks a route by its hash, so seeds keep their route when
 *            the table grows); PARAM fills the route's {id} / {token}
 *            (empty: a known one);
 *            QUERY is the part after '?'; HEADERS "Name: value" separated
 *            by tabs.
 * Oracles (fuzz_app.h): no 5xx, JSON replies parse, other replies UTF-8;
 * and a response stored with a client_key, sent again, is a 200 with the
 * same row (idempotency, docs/API.md).
 *
 * Left out: POST /auth/login, /auth/password and /users, which run argon2
 * (tens of milliseconds each) on every input. Their JSON parsing is the
 * same api_body_object / api_only_fields path the other routes take.
 */
#include "fuzz_app.h"

static const http_route *fz_routes[128];
static bool fz_verbose; /* FZ_VERBOSE=1: print each request and its reply */
static size_t fz_n_routes;

static bool fz_route_left_out(const http_route *r)
{
	static const char *const slow[] = {"/api/v1/auth/login", "/api/v1/auth/password",
					   "/api/v1/users", NULL};
	if (strcmp(r->method, "POST") != 0)
		return false;
	for (size_t i = 0; slow[i]; i++)
		if (strcmp(r->pattern, slow[i]) == 0)
			return true;
	return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_world_open();
	for (size_t i = 0; i < api_n_routes && fz_n_routes < 128; i++)
		if (!fz_route_left_out(&api_routes[i]))
			fz_routes[fz_n_routes++] = &api_routes[i];
	fz_verbose = getenv("FZ_VERBOSE") != NULL;
	if (getenv("FZ_LIST_ROUTES"))
		for (size_t i = 0; i < fz_n_routes; i++)
			fprintf(stderr, "%zu %s %s\n", i, fz_routes[i]->method, fz_routes[i]->pattern);
	return 0;
}

/* The pattern with its {x} segments filled: param when given, else a
 * known token (/s/, /u/) or a small id. */
static void fz_path(const char *pattern, const char *param, unsigned pick, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = pattern; *p && o + 1 < n;) {
		if (*p != '{') {
			out[o++] = *p++;
			continue;
		}
		const char *end = strchr(p, '}');
		p = end ? end + 1 : p + strlen(p);
		char dflt[16];
		const char *v = param;
		if (*v == '\0') {
			if (strncmp(pattern, "/s/", 3) == 0)
				v = fz_w.survey_tokens[pick % FZ_N_TOKENS];
			else if (strncmp(pattern, "/u/", 3) == 0)
				v = fz_w.unsub_tokens[pick % 2];
			else {
				snprintf(dflt, sizeof dflt, "%u", pick + 1);
				v = dflt;
			}
		}
		int k = snprintf(out + o, n - o, "%s", v);
		o = k < 0 ? o : o + (size_t)k >= n ? n - 1 : o + (size_t)k;
	}
	out[o < n ? o : n - 1] = '\0';
}

/* POST /api/v1/responses is idempotent by client_key (docs/API.md): the
 * same request again, after a 201 that stored a key, is a 200 with the
 * same row. */
static void fz_idempotent(const fz_request *r, const fz_reply *first, char *query, char *headers)
{
	if (first->status != 201 || strcmp(r->path, "/api/v1/responses") != 0)
		return;
	json_t *a = json_loadb(first->body, first->len, 0, NULL);
	if (!json_is_string(json_object_get(a, "client_key"))) {
		json_decref(a);
		return;
	}
	fz_request again = *r;
	again.query = query;
	again.headers = headers;
	fz_reply out;
	if (!fz_request_run(&again, &out))
		fz_fail("the replay was refused before routing");
	json_t *b = json_loadb(out.body ? out.body : "", out.len, 0, NULL);
	if (out.status != 200 || !json_equal(a, b))
		fz_fail("POST /api/v1/responses again with the same client_key and body: %d %.500s, first %.500s",
			out.status, out.body ? out.body : "", first->body);
	json_decref(a);
	json_decref(b);
	free(out.body);
}

/* The route named "METHOD /pattern", or one picked by the text's hash. */
static const http_route *fz_route(const char *line)
{
	uint32_t h = 2166136261u;
	for (const char *p = line; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	const char *sp = strchr(line, ' ');
	for (size_t i = 0; sp && i < fz_n_routes; i++)
		if (strlen(fz_routes[i]->method) == (size_t)(sp - line) &&
		    strncmp(fz_routes[i]->method, line, (size_t)(sp - line)) == 0 &&
		    strcmp(fz_routes[i]->pattern, sp + 1) == 0)
			return fz_routes[i];
	return fz_routes[h % fz_n_routes];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned mode = fz_byte(&data, &size);
	/* The four text lines end at the fourth '\n'; the body is the rest. */
	size_t head = 0;
	for (int lines = 0; head < size && lines < 4; head++)
		if (data[head] == '\n')
			lines++;
	char *text = fz_cstr(data, head);
	char *p = text;
	const http_route *route = fz_route(fz_field(&p, '\n'));
	char *param = fz_field(&p, '\n');
	char *query = fz_field(&p, '\n');
	char *headers = fz_field(&p, '\n');
	char path[1024];
	fz_path(route->pattern, param, (mode >> 3) & 7, path, sizeof path);
	int role = (int)(mode & 7);
	fz_request r = {.method = route->method, .path = path, .query = query, .headers = headers,
			.body = data + head, .body_len = size - head, .role = role > 5 ? 0 : role};
	/* Copies for a replay (the run decodes the query and headers in place). */
	char *query2 = strdup(query), *headers2 = strdup(headers);
	if (query2 == NULL || headers2 == NULL)
		abort();
	fz_reply out;
	if (fz_request_run(&r, &out)) {
		if (fz_verbose)
			fprintf(stderr, "%s %s?%s -> %d %.300s\n", r.method, r.path, r.query, out.status,
				out.body ? out.body : "");
		fz_reply_check(&r, &out);
		fz_idempotent(&r, &out, query2, headers2);
	}
	free(query2);
	free(headers2);
	free(out.body);
	free(text);
	return 0;
}
