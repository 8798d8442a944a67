/* static.c — the web UI's files: GET/HEAD of regular files under one root
 * folder (serve --web-root), for any path no route claims.
 *
 * What leaves the folder is decided in three steps, each enough alone:
 *  1. the URL path (already percent-decoded by libmicrohttpd) must be
 *     "/"-rooted, without "..", "//", "\", control bytes, hidden segments
 *     (".git", ".env") or a "node_modules" segment (http_static_path_ok);
 *  2. only known file types are served (http_static_type), so a README or
 *     a source map-less build artefact does not leak by accident;
 *  3. realpath() of the file must lie under realpath() of the root, and it
 *     must be a regular file: a symlink pointing outside is refused.
 * /api/..., /s/..., /u/... and /healthz are never static, even when no
 * route matches them (they stay JSON 404s).
 *
 * Before those steps, http_static_serve only considers files that are part
 * of the UI (http_static_ui_path): "/" and "/index.html", and files below
 * the UI's own folders /js/, /css/, /img/ and /vendor/. Everything else in
 * the web root - package.json, package-lock.json, node_modules/, build
 * notes, stray files someone copied there - is a 404, whatever its type.
 * (/app/... deep links still fall back to /index.html.)
 *
 * Files are sent from their descriptor (at most HTTP_STATIC_MAX bytes), not
 * read into memory: a slow reader costs no reply budget. Every file
 * carries a weak ETag from size and mtime, and a matching If-None-Match
 * gets 304; a FILE.gz beside FILE is sent to clients that accept gzip.
 * HTML pages get the security headers (CSP without inline script or
 * style, no framing, same-origin referrers) and "no-cache"; the vendor
 * folder (third-party builds the Makefile copies) may be cached an hour.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/http.h"

struct http_static {
	char root[PATH_MAX];   /* realpath of the web root, no trailing "/" */
	size_t root_len;
};

static const char *const http_static_csp =
	"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

ks_err http_static_open(const char *root, http_static **out, ks_error *e)
{
	*out = NULL;
	char real[PATH_MAX];
	struct stat st;
	if (root == NULL || realpath(root, real) == NULL || stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
		return ks_fail(e, KS_ERR_NOTFOUND, "web-root", "web root %s is not a folder",
			       root ? root : "(none)");
	http_static *s = calloc(1, sizeof *s);
	if (s == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	snprintf(s->root, sizeof s->root, "%s", real);
	s->root_len = strlen(s->root);
	/* "/" as root: every path is "under" it, and the prefix test below
	 * compares against "" + "/". */
	if (s->root_len == 1)
		s->root_len = 0;
	s->root[s->root_len] = '\0';
	*out = s;
	return KS_OK;
}

void http_static_free(http_static *s)
{
	free(s);
}

const char *http_static_root(const http_static *s)
{
	return s->root_len ? s->root : "/";
}

bool http_static_reserved(const char *path)
{
	static const char *const prefixes[] = {"/api", "/s", "/u", "/healthz"};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(path, prefixes[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return true;
	}
	return false;
}

bool http_static_path_ok(const char *path)
{
	if (path == NULL || path[0] != '/')
		return false;
	size_t len = strlen(path);
	if (len > 512)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			return false;
	}
	if (strstr(path, "..") || strstr(path, "//"))
		return false;
	/* Each segment: not hidden, not a dependency folder. */
	for (const char *seg = path + 1; *seg; ) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		if (n > 0 && seg[0] == '.')
			return false;
		if (n == 12 && memcmp(seg, "node_modules", 12) == 0)
			return false;
		if (end == NULL)
			break;
		seg = end + 1;
	}
	return true;
}

const char *http_static_type(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{"html", "text/html; charset=utf-8"},
		{"htm", "text/html; charset=utf-8"},
		{"js", "text/javascript; charset=utf-8"},
		{"mjs", "text/javascript; charset=utf-8"},
		{"css", "text/css; charset=utf-8"},
		{"svg", "image/svg+xml"},
		{"png", "image/png"},
		{"jpg", "image/jpeg"},
		{"jpeg", "image/jpeg"},
		{"webp", "image/webp"},
		{"ico", "image/x-icon"},
		{"json", "application/json"},
		{"webmanifest", "application/manifest+json"},
		{"woff2", "font/woff2"},
		{"woff", "font/woff"},
		{"txt", "text/plain; charset=utf-8"},
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash : path, '.');
	if (dot == NULL || dot[1] == '\0')
		return NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

bool http_static_ui_path(const char *path)
{
	static const char *const folders[] = {"/js/", "/css/", "/img/", "/vendor/"};
	if (path == NULL)
		return false;
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		return true;
	for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
		size_t n = strlen(folders[i]);
		if (strncmp(path, folders[i], n) == 0 && path[n] != '\0')
			return true;
	}
	return false;
}

/* The SPA's deep links: /app and /app/anything-without-an-extension. */
static bool http_static_is_app_route(const char *path)
{
	if (strcmp(path, "/app") != 0 && strncmp(path, "/app/", 5) != 0)
		return false;
	const char *last = strrchr(path, '/');
	return strchr(last, '.') == NULL;
}

ks_err http_static_resolve(const http_static *s, const char *path, char *out, size_t n)
{
	if (!http_static_path_ok(path) || http_static_reserved(path))
		return KS_ERR_NOTFOUND;
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	if (http_static_type(path) == NULL)
		return KS_ERR_NOTFOUND;
	char joined[PATH_MAX], real[PATH_MAX];
	int len = snprintf(joined, sizeof joined, "%s%s", s->root, path);
	if (len < 0 || (size_t)len >= sizeof joined)
		return KS_ERR_NOTFOUND;
	if (realpath(joined, real) == NULL)
		return KS_ERR_NOTFOUND;
	/* Still inside the root after every symlink is followed? */
	if (strncmp(real, s->root, s->root_len) != 0 || real[s->root_len] != '/')
		return KS_ERR_NOTFOUND;
	/* The target's own name must be a type we serve (a link "a.js" to
	 * "secret.key" is not a script). */
	if (http_static_type(real) == NULL)
		return KS_ERR_NOTFOUND;
	struct stat st;
	if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
		return KS_ERR_NOTFOUND;
	if (strlen(real) >= n)
		return KS_ERR_NOTFOUND;
	memcpy(out, real, strlen(real) + 1);
	return KS_OK;
}

/* Read a whole regular file of at most HTTP_STATIC_MAX bytes. */
/* Open a regular file for sending: the reply streams from it (libmicrohttpd
 * sends it with sendfile), so a slow reader holds a descriptor, not a copy
 * of the file in memory. */
static ks_err http_static_open_file(const char *file, int *fd_out, struct stat *st)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return KS_ERR_NOTFOUND;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return KS_ERR_NOTFOUND;
	}
	if (st->st_size > HTTP_STATIC_MAX) {
		close(fd);
		return KS_ERR_TOOBIG;
	}
	*fd_out = fd;
	return KS_OK;
}

/* Accept-Encoding names gzip without "q=0". */
static bool http_static_accepts_gzip(http_req *req)
{
	const char *ae = http_header(req, "Accept-Encoding");
	for (const char *p = ae ? strstr(ae, "gzip") : NULL; p; p = strstr(p + 4, "gzip")) {
		const char *q = p + 4;
		while (*q == ' ')
			q++;
		if (*q != ';')
			return true;
		q++;
		while (*q == ' ')
			q++;
		if (q[0] == 'q' && q[1] == '=')
			return strtod(q + 2, NULL) > 0.0;
		return true;
	}
	return false;
}

static bool http_static_etag_matches(const char *inm, const char *etag)
{
	if (inm == NULL)
		return false;
	if (strcmp(inm, "*") == 0)
		return true;
	/* a comma-separated list; weak comparison (W/ ignored on both sides) */
	const char *tag = strncmp(etag, "W/", 2) == 0 ? etag + 2 : etag;
	size_t tl = strlen(tag);
	for (const char *p = inm; *p; ) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, tag, tl) == 0 && (p[tl] == '\0' || p[tl] == ',' || p[tl] == ' '))
			return true;
		const char *c = strchr(p, ',');
		if (c == NULL)
			break;
		p = c;
	}
	return false;
}

ks_err http_static_serve(const http_static *s, http_req *req, ks_error *e)
{
	char file[PATH_MAX];
	const char *path = req->path;
	ks_err err = http_static_ui_path(path) ? http_static_resolve(s, path, file, sizeof file)
					       : KS_ERR_NOTFOUND;
	if (err == KS_ERR_NOTFOUND && http_static_path_ok(path) && http_static_is_app_route(path)) {
		path = "/index.html";
		err = http_static_resolve(s, path, file, sizeof file);
	}
	if (err)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	const char *type = http_static_type(file);
	bool html = strncmp(type, "text/html", 9) == 0;

	/* A pre-compressed twin, when the client takes gzip; it too must
	 * resolve inside the root. */
	char gz[PATH_MAX];
	bool use_gz = false;
	if (http_static_accepts_gzip(req)) {
		char joined[PATH_MAX];
		struct stat st;
		if (snprintf(joined, sizeof joined, "%s.gz", file) < (int)sizeof joined &&
		    realpath(joined, gz) != NULL && strncmp(gz, s->root, s->root_len) == 0 &&
		    gz[s->root_len] == '/' && stat(gz, &st) == 0 && S_ISREG(st.st_mode))
			use_gz = true;
	}

	int fd = -1;
	struct stat st;
	err = http_static_open_file(use_gz ? gz : file, &fd, &st);
	if (err == KS_ERR_NOTFOUND)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such resource");
	if (err == KS_ERR_TOOBIG)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "static file is larger than the 8 MiB limit");
	if (err)
		return ks_fail(e, err, NULL, "cannot read the file");

	snprintf(req->etag, sizeof req->etag, "W/\"%llx-%llx%s\"", (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + (unsigned long long)st.st_mtim.tv_nsec,
		 use_gz ? "-gz" : "");
	req->cache_control = html ? "no-cache"
			     : strncmp(path, "/vendor/", 8) == 0 ? "public, max-age=3600"
								 : "no-cache";
	req->vary_encoding = true;
	req->content_encoding = use_gz ? "gzip" : NULL;
	if (html)
		req->csp = http_static_csp; /* with X-Frame-Options and Referrer-Policy */
	if (http_static_etag_matches(http_header(req, "If-None-Match"), req->etag)) {
		close(fd);
		req->content_encoding = NULL;
		ks_buf empty;
		buf_init(&empty, 1);
		http_reply_buf(req, 304, type, &empty);
		return KS_OK;
	}
	free(req->reply);
	req->reply = NULL;
	req->status = 200;
	req->content_type = type;
	req->reply_from_fd = true;
	req->reply_fd = fd;
	req->reply_len = (size_t)st.st_size;
	req->replied = true;
	return KS_OK;
}
