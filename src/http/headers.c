#define _GNU_SOURCE /* memmem */
/* headers.c — the headers of every reply, and the security policy by the
 * kind of reply, in one place (issue 11):
 *
 *  - every reply: X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
 *    a Referrer-Policy, and Cache-Control no-store unless a static file
 *    chose its own caching (API replies hold personal data);
 *  - API replies (JSON, CSV, SVG, errors): a CSP that allows nothing
 *    ("default-src 'none'"; a reply opened as a document runs nothing) and
 *    no framing;
 *  - the UI's HTML (static.c sets req->csp): the UI's own CSP;
 *  - HTML from a route - the public survey and unsubscribe pages, /s/{token}
 *    and /u/{token}: a strict CSP with no script at all, styles only those
 *    <style> blocks the page itself carries (by their SHA-256, computed here
 *    from the reply), forms posting to this origin only, and
 *    frame-ancestors 'none' (no clickjacking of a customer's answer).
 *    Their URLs hold the customer's token: Referrer-Policy no-referrer.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "http/http_int.h"

#define API_CSP "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
/* At most this many <style> blocks get a hash; more: they stay blocked. */
#define PAGE_MAX_STYLES 4

static bool is_html(const char *ctype)
{
	return ctype && strncasecmp(ctype, "text/html", 9) == 0;
}

/* The CSP of an HTML page built by a handler: its own inline <style>
 * blocks by hash, nothing else. */
static void page_csp(const http_req *req, const char *ancestors, char *out, size_t n)
{
	char styles[PAGE_MAX_STYLES * 56 + 16] = "";
	size_t used = 0;
	const char *body = req->reply, *end = req->reply ? req->reply + req->reply_len : NULL;
	const char *p = body;
	for (int k = 0; p && k < PAGE_MAX_STYLES; k++) {
		const char *open = memmem(p, (size_t)(end - p), "<style>", 7);
		if (open == NULL)
			break;
		const char *text = open + 7;
		const char *close = memmem(text, (size_t)(end - text), "</style>", 8);
		if (close == NULL)
			break;
		unsigned char h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(h, (const unsigned char *)text, (unsigned long long)(close - text));
		char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
		sodium_bin2base64(b64, sizeof b64, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
		int w = snprintf(styles + used, sizeof styles - used, " 'sha256-%s'", b64);
		if (w < 0 || (size_t)w >= sizeof styles - used)
			break;
		used += (size_t)w;
		p = close + 8;
	}
	snprintf(out, n,
		 "default-src 'none'; style-src%s; img-src 'self' data:; form-action 'self'; "
		 "base-uri 'none'; frame-ancestors %s",
		 used ? styles : " 'none'", ancestors);
}

/* An export (CSV, JSON lines) is a download, never a page: a browser that
 * follows the link saves it instead of rendering it, and the name says what
 * it is. The name is built from the route's last word segment only (fixed
 * route text, never from input): "/api/v1/metrics" -> klantstem-metrics.csv,
 * "/api/v1/audit/export" -> klantstem-audit-export.csv,
 * "/api/v1/metrics/export" -> klantstem-metrics-export.pdf / .xlsx. */
static void export_disposition(const http_req *req, struct MHD_Response *r)
{
	const char *ext = NULL;
	if (req->content_type && strncasecmp(req->content_type, "text/csv", 8) == 0)
		ext = "csv";
	else if (req->content_type && strncasecmp(req->content_type, "application/x-ndjson", 20) == 0)
		ext = "jsonl";
	/* issue 17 (X): the printable report and the spreadsheet of a breakdown */
	else if (req->content_type && strcasecmp(req->content_type, "application/pdf") == 0)
		ext = "pdf";
	else if (req->content_type &&
		 strcasecmp(req->content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") == 0)
		ext = "xlsx";
	if (ext == NULL || req->status != 200 || req->path == NULL)
		return;
	char name[96] = "klantstem";
	size_t used = strlen(name);
	const char *p = req->path;
	if (strncmp(p, "/api/v1/", 8) == 0)
		p += 8;
	for (; *p && used + 2 < sizeof name; p++) {
		char c = *p;
		if (c == '?')
			break;
		if (c == '/')
			c = '-';
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			continue;
		if (c == '-' && name[used - 1] == '-')
			continue;
		if (used == 9 && c != '-')
			name[used++] = '-';
		name[used++] = c;
	}
	while (used > 0 && name[used - 1] == '-')
		used--;
	name[used] = '\0';
	char v[160];
	snprintf(v, sizeof v, "attachment; filename=\"%s.%s\"", name, ext);
	MHD_add_response_header(r, "Content-Disposition", v);
}

/* public score widgets (issue 16): /w/{token} and /w/{token}.json are made
 * to be embedded on the organisation's own site. Only here: framing by any
 * page (frame-ancestors *, no X-Frame-Options), the JSON readable from any
 * origin (no credentials are ever involved: no cookie is read or set), and
 * readable cross-origin. Everything else stays as for the survey page: no
 * script, styles by hash, nothing loaded from elsewhere. Caching comes from
 * the handler (public, max-age=300 with an ETag) on a success only. */
static bool is_widget(const http_req *req)
{
	return req->path && strncmp(req->path, "/w/", 3) == 0;
}

static void widget_headers(const http_req *req, struct MHD_Response *r)
{
	const char *q = strchr(req->path, '?');
	size_t len = q ? (size_t)(q - req->path) : strlen(req->path);
	if (is_html(req->content_type)) {
		char csp[512];
		page_csp(req, "*", csp, sizeof csp);
		MHD_add_response_header(r, "Content-Security-Policy", csp);
	} else {
		MHD_add_response_header(r, "Content-Security-Policy",
					"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
	}
	if (len > 5 && memcmp(req->path + len - 5, ".json", 5) == 0)
		MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "cross-origin");
}

void http_headers_add(const http_req *req, struct MHD_Response *r)
{
	export_disposition(req, r);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (!is_widget(req))
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
	/* Static files choose their own caching; everything else (the API's
	 * JSON and CSV, errors included, and the public pages) may hold
	 * personal data: no-store. */
	MHD_add_response_header(r, "Cache-Control", req->cache_control ? req->cache_control : "no-store");
	if (is_widget(req)) {
		widget_headers(req, r);
	} else if (req->csp) {
		/* the UI's own HTML (static.c) */
		MHD_add_response_header(r, "Content-Security-Policy", req->csp);
		MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	} else if (req->cache_control) {
		/* the UI's scripts, styles and images: a policy means nothing there */
		MHD_add_response_header(r, "Referrer-Policy", "same-origin");
	} else if (is_html(req->content_type)) {
		char csp[512];
		page_csp(req, "'none'", csp, sizeof csp);
		MHD_add_response_header(r, "Content-Security-Policy", csp);
		MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
		MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
	} else {
		MHD_add_response_header(r, "Content-Security-Policy", API_CSP);
		MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
		MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	}
}
