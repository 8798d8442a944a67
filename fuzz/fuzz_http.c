/* fuzz_http.c — the small parsers of the HTTP layer (src/http): the route
 * matcher, the static files' path checks, the access log's escaping, the
 * X-Forwarded-For resolution behind trusted proxies, and the server's
 * options (--listen, --trusted-proxy, --http-limit).
 *
 * Input: byte 0 picks the parser (0 router, 1 static path, 2 log escape,
 * 3 client address, 4 options); the rest is its text (for 0: "METHOD
 * PATH", for 3: "TRUSTED-LIST\nX-FORWARDED-FOR", for 4: the option text,
 * tried as each option).
 * Oracles: a matched route rebuilt from its pattern and the captured
 * parameters is the path, and a refused method names Allow; an accepted
 * static path has none of what http.h says it refuses; the escaped log
 * text holds no control byte, quote or unescaped backslash and unescapes
 * to the text (when not cut); a resolved client is dotted IPv4 or "";
 * options that parse stay in their bounds.
 */
#include <ctype.h>

#include <arpa/inet.h>

#include "api/api.h"
#include "fuzz_util.h"
#include "http/http_int.h"

static void fz_router(char *s)
{
	char *sp = strchr(s, ' ');
	if (sp == NULL)
		return;
	*sp = '\0';
	http_req req;
	memset(&req, 0, sizeof req);
	req.method = s;
	req.path = sp + 1;
	ks_err err = KS_ERR_INTERNAL;
	const http_route *r = http_route_find(api_routes, api_n_routes, &req, &err);
	if (r == NULL) {
		if (err != KS_ERR_NOTFOUND && err != KS_ERR_METHOD)
			fz_fail("route_find: %d without a route", (int)err);
		if (err == KS_ERR_METHOD && req.allow[0] == '\0')
			fz_fail("405 for %s without Allow", req.path);
		return;
	}
	if (err != KS_OK)
		fz_fail("a route with error %d", (int)err);
	char rebuilt[1200];
	size_t o = 0, k = 0;
	for (const char *p = r->pattern; *p && o + 1 < sizeof rebuilt;) {
		if (*p == '{') {
			if (k >= req.n_params)
				fz_fail("%s: fewer params than the pattern %s", req.path, r->pattern);
			int w = snprintf(rebuilt + o, sizeof rebuilt - o, "%s", req.params[k++]);
			o += w > 0 ? (size_t)w : 0;
			if (o >= sizeof rebuilt)
				o = sizeof rebuilt - 1;
			p = strchr(p, '}');
			p = p ? p + 1 : "";
		} else {
			rebuilt[o++] = *p++;
		}
	}
	rebuilt[o] = '\0';
	if (strcmp(rebuilt, req.path) != 0 || k != req.n_params)
		fz_fail("%s matched %s, rebuilt as %s", req.path, r->pattern, rebuilt);
	for (size_t i = 0; i < req.n_params; i++)
		if (req.params[i][0] == '\0' || strchr(req.params[i], '/'))
			fz_fail("%s: parameter %zu is '%s'", req.path, i, req.params[i]);
}

static void fz_static(const char *p)
{
	if (!http_static_path_ok(p))
		return;
	size_t n = strlen(p);
	bool nm = strstr(p, "/node_modules/") || (n >= 13 && strcmp(p + n - 13, "/node_modules") == 0);
	if (p[0] != '/' || strstr(p, "..") || strstr(p, "//") || strchr(p, '\\') || strstr(p, "/.") || nm)
		fz_fail("static path %s accepted", p);
	for (const unsigned char *q = (const unsigned char *)p; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			fz_fail("static path with control byte accepted");
	if (http_static_ui_path(p) && http_static_reserved(p))
		fz_fail("%s is both UI and reserved", p);
}

static void fz_log_escape(const char *s, size_t n)
{
	char out[600];
	memset(out, 'Z', sizeof out);
	http_log_escape(out, n, s);
	if (n == 0)
		return;
	size_t len = strnlen(out, n);
	if (len == n)
		fz_fail("log text not terminated within %zu", n);
	char back[600];
	size_t b = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f || c == '"')
			fz_fail("raw byte 0x%02x in the log text", c);
		if (c == '\\') {
			if (out[i + 1] != 'x' || !isxdigit((unsigned char)out[i + 2]) ||
			    !isxdigit((unsigned char)out[i + 3]))
				fz_fail("a bare backslash in the log text");
			char hx[3] = {out[i + 2], out[i + 3], 0};
			back[b++] = (char)strtol(hx, NULL, 16);
			i += 3;
			continue;
		}
		back[b++] = (char)c;
	}
	back[b] = '\0';
	bool cut = len >= 3 && strcmp(out + len - 3, "...") == 0;
	if (!cut && strcmp(back, s) != 0)
		fz_fail("log text does not unescape to its input");
}

static void fz_client(char *s)
{
	char *nl = strchr(s, '\n');
	const char *xff = nl ? nl + 1 : "";
	if (nl)
		*nl = '\0';
	http_trusted t;
	memset(&t, 0, sizeof t);
	ks_error e;
	if (http_trusted_parse(&t, s, &e) != KS_OK) {
		if (http_trusted_parse(&t, "127.0.0.1,10.0.0.0/8", &e) != KS_OK)
			fz_fail("a valid trusted list refused");
	}
	if (t.n > HTTP_TRUSTED_MAX)
		fz_fail("%zu trusted proxies", t.n);
	for (size_t peer_i = 0; peer_i < 2; peer_i++) {
		uint32_t peer = peer_i ? htonl(0x0a000001) : htonl(0x7f000001);
		char out[64];
		memset(out, 'Z', sizeof out);
		http_client_resolve(&t, peer, true, xff, out, sizeof out);
		struct in_addr a;
		if (strnlen(out, sizeof out) == sizeof out)
			fz_fail("client address not terminated");
		if (out[0] && inet_pton(AF_INET, out, &a) != 1)
			fz_fail("client address %s from X-Forwarded-For %s", out, xff);
		if (!http_trusted_has(&t, peer) && strcmp(out, peer_i ? "10.0.0.1" : "127.0.0.1") != 0)
			fz_fail("an untrusted peer's X-Forwarded-For was believed: %s", out);
	}
}

static void fz_options(const char *s)
{
	char addr[64];
	unsigned port = 70000;
	ks_error e;
	if (http_parse_listen(s, addr, sizeof addr, &port, &e) == KS_OK) {
		struct in_addr a;
		if (port > 65535 || inet_pton(AF_INET, addr, &a) != 1)
			fz_fail("--listen %s gave %s:%u", s, addr, port);
	}
	http_limits l, d;
	http_limits_default(&l);
	d = l;
	if (http_limits_set(&l, s, &e) != KS_OK && memcmp(&l, &d, sizeof l) != 0)
		fz_fail("--http-limit %s refused but changed the limits", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode = fz_byte(&data, &size);
	char *s = fz_cstr(data, size > 4096 ? 4096 : size);
	switch (mode % 5) {
	case 0: fz_router(s); break;
	case 1: fz_static(s); break;
	case 2: fz_log_escape(s, (mode >> 3) == 0 ? 600 : (mode >> 3) * 17 % 600); break;
	case 3: fz_client(s); break;
	default: fz_options(s); break;
	}
	free(s);
	return 0;
}
