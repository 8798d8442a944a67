/* server.c — libmicrohttpd glue: request bodies, limits, suspension,
 * replies, access log, graceful stop.
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers, once per body chunk, and once more with no data. We
 * answer on that last call: queueing on the very first call makes
 * libmicrohttpd 0.9.75 close keep-alive connections (see
 * ../shared/STACK.md), and only then is the whole body known.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "core/jlog.h" /* issue 18 (ops) */
#include "core/utf8.h"
#include "http/http_int.h"
#include "http/prom.h" /* issue 18 (ops) */

struct http_server {
	struct MHD_Daemon *d;
	http_config cfg;
	http_limits lim;        /* cfg.limits or the defaults */
	http_trusted trusted;   /* cfg.trusted or none */
	unsigned port;
	atomic_int in_flight;
	atomic_bool stopping;   /* new requests get 503 while in-flight ones finish */
	http_static *web;       /* the UI's files, or NULL */
	http_guard *guard;      /* connections, deadlines, reply budget */
	http_pool *pool;        /* HTTP_SLOW routes */
	/* issue 18 (ops): request counters, and the metrics listener */
	http_prom *prom;
	struct MHD_Daemon *metrics;
};

/* issue 18 (ops): a monotonic clock in microseconds for the histogram */
static int64_t http_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int http_status_for(ks_err code)
{
	switch (code) {
	case KS_OK: return 200;
	case KS_ERR_BADJSON: return 400;
	case KS_ERR_NOTFOUND: return 404;
	case KS_ERR_METHOD: return 405;
	case KS_ERR_CONFLICT: return 409;
	case KS_ERR_GONE: return 410;
	case KS_ERR_TOOBIG: return 413;
	case KS_ERR_INVALID:
	case KS_ERR_RANGE:
	case KS_ERR_REF: return 422;
	case KS_ERR_USAGE: return 400;
	case KS_ERR_UNAVAILABLE: return 503;
	case KS_ERR_NOMEM:
	case KS_ERR_DB:
	case KS_ERR_IO:
	case KS_ERR_INTERNAL: return 500;
	case KS_ERR_UNAUTHENTICATED: return 401;
	case KS_ERR_FORBIDDEN: return 403;
	case KS_ERR_TOO_MANY: return 429;
	case KS_ERR_STORAGE_FULL: return 503;
	}
	return 500;
}

/* ---- replies ---------------------------------------------------------------- */

static void http_set_reply(http_req *req, int status, const char *ctype, char *body, size_t len)
{
	free(req->reply);
	req->status = status;
	req->content_type = ctype;
	req->reply = body;
	req->reply_len = len;
	req->replied = true;
}

void http_reply_json(http_req *req, int status, json_t *body)
{
	char *txt = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	json_decref(body);
	if (txt == NULL) {
		http_set_reply(req, 500, "application/json", strdup("{\"error\":{\"code\":\"internal\"}}"), 29);
		return;
	}
	http_set_reply(req, status, "application/json", txt, strlen(txt));
}

void http_reply_error(http_req *req, const ks_error *e)
{
	json_t *err = json_pack("{s:s, s:s, s:o}", "code", ks_strerror(e->code), "message",
				e->message[0] ? e->message : ks_strerror(e->code), "field",
				e->field[0] ? json_string(e->field) : json_null());
	http_reply_json(req, http_status_for(e->code), json_pack("{s:o}", "error", err));
}

void http_reply_buf(http_req *req, int status, const char *content_type, ks_buf *b)
{
	size_t len = 0;
	char *data = buf_steal(b, &len);
	http_set_reply(req, status, content_type, data ? data : strdup(""), len);
}

const char *http_query(http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_cookie(http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

/* Every X-Forwarded-For header of the request, joined by "," in order. */
typedef struct xff_acc {
	char buf[1024];
	size_t len;
	bool cut;
} xff_acc;

static enum MHD_Result http_xff_one(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	(void)kind;
	xff_acc *x = cls;
	if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
		return MHD_YES;
	size_t vl = strlen(value);
	if (x->len + vl + 2 > sizeof x->buf) {
		/* Keep the right end: that is where the trusted hops write. */
		x->cut = true;
		x->len = 0;
		if (vl + 1 > sizeof x->buf)
			return MHD_YES;
	}
	if (x->len)
		x->buf[x->len++] = ',';
	memcpy(x->buf + x->len, value, vl);
	x->len += vl;
	x->buf[x->len] = '\0';
	return MHD_YES;
}

void http_client_addr(http_req *req, char *out, size_t n)
{
	http_server *srv = req->srv;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	bool have = ci && ci->client_addr && ci->client_addr->sa_family == AF_INET;
	uint32_t peer = have ? ((const struct sockaddr_in *)ci->client_addr)->sin_addr.s_addr : 0;
	xff_acc x = {.len = 0};
	x.buf[0] = '\0';
	bool trusted = have && srv && http_trusted_has(&srv->trusted, peer);
	if (trusted)
		MHD_get_connection_values(req->conn, MHD_HEADER_KIND, http_xff_one, &x);
	http_client_resolve(srv ? &srv->trusted : NULL, peer, have, trusted && x.len ? x.buf : NULL,
			    out, n);
}

/* On the slow pool the connection is suspended already (and only its own
 * HTTP thread may suspend it): the handler's suspension is noted, and the
 * request resumes when both the pool's thread and the completion are done
 * with it (pool_refs). */
void http_suspend(http_req *req)
{
	req->suspended = true;
	if (req->on_pool) {
		req->pool_async = true;
		atomic_store(&req->pool_refs, 2);
		return;
	}
	MHD_suspend_connection(req->conn);
}

void http_resume(http_req *req)
{
	if (req->on_pool && atomic_fetch_sub(&req->pool_refs, 1) != 1)
		return; /* the pool's thread is still in the handler: it resumes */
	MHD_resume_connection(req->conn);
}

/* ---- the request cycle ---------------------------------------------------------- */

static void http_fail(http_req *req, ks_err code, const char *msg);

/* The reply's body: from the file (static files) or from memory. */
static struct MHD_Response *http_response_new(http_req *req)
{
	if (req->reply_from_fd) {
		req->reply_from_fd = false;
		struct MHD_Response *r = MHD_create_response_from_fd(req->reply_len, req->reply_fd);
		if (r == NULL)
			close(req->reply_fd);
		return r;
	}
	return MHD_create_response_from_buffer(req->reply_len, req->reply, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result http_send(struct MHD_Connection *conn, http_req *req)
{
	http_server *srv = req->srv;
	/* A reply held in memory waits there until the client has read it:
	 * over the budget it becomes a small 503, and its text goes now. */
	if (!http_guard_reply_begin(srv->guard, req->guard_conn, req->reply_len, !req->reply_from_fd)) {
		http_fail(req, KS_ERR_UNAVAILABLE,
			  "too many large replies are waiting for their readers; try again shortly");
		req->retry_after = HTTP_RETRY_AFTER_S;
		http_guard_reply_begin(srv->guard, req->guard_conn, req->reply_len, true);
	}
	struct MHD_Response *r = http_response_new(req);
	if (r == NULL) {
		free(req->reply);
		req->reply = NULL;
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", req->content_type);
	http_headers_add(req, r); /* caching and security policy (headers.c) */
	req->reply = NULL; /* now libmicrohttpd's */
	if (req->allow[0] && req->status == 405)
		MHD_add_response_header(r, "Allow", req->allow);
	if (req->location[0])
		MHD_add_response_header(r, "Location", req->location);
	if (req->set_cookie[0])
		MHD_add_response_header(r, "Set-Cookie", req->set_cookie);
	if (req->status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"klantstem\"");
	if (req->retry_after > 0 && (req->status == 429 || req->status == 503)) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", req->retry_after);
		MHD_add_response_header(r, "Retry-After", ra);
	}
	if (req->close_conn)
		MHD_add_response_header(r, "Connection", "close");
	if (req->etag[0])
		MHD_add_response_header(r, "ETag", req->etag);
	if (req->content_encoding)
		MHD_add_response_header(r, "Content-Encoding", req->content_encoding);
	if (req->vary_encoding)
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)req->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void http_fail(http_req *req, ks_err code, const char *msg)
{
	ks_error e;
	ks_fail(&e, code, NULL, "%s", msg);
	http_reply_error(req, &e);
}

/* An error envelope for a status no ks_err maps to (431, 414). */
static void http_fail_status(http_req *req, int status, const char *code, const char *msg)
{
	http_reply_json(req, status,
			json_pack("{s:{s:s, s:s, s:n}}", "error", "code", code, "message", msg, "field"));
}

/* Run a handler and turn its error, if any, into the reply. */
static void http_finish(http_req *req, http_handler h)
{
	ks_error e;
	ks_error_clear(&e);
	ks_err rc = h ? h(req, &e) : KS_ERR_INTERNAL;
	if (rc) {
		if (e.code == KS_OK)
			ks_fail(&e, rc, NULL, "%s", ks_strerror(rc));
		e.code = rc;
		http_reply_error(req, &e);
	} else if (!req->replied && !req->suspended) {
		http_fail(req, KS_ERR_INTERNAL, "handler gave no reply");
	}
}

/* ---- the slow pool ---- */

/* On a pool thread: run the handler; unless it suspended for the writer,
 * the reply is ready and the connection resumes on its HTTP thread, which
 * sends it (http_access). */
static void http_pool_run(void *arg)
{
	http_req *req = arg;
	http_finish(req, req->slow);
	/* After http_finish, req is only read if the handler did not suspend:
	 * a suspended one may be resumed - and freed - by its completion. */
	if (req->pool_async && atomic_fetch_sub(&req->pool_refs, 1) != 1)
		return;
	MHD_resume_connection(req->conn);
}

/* Hand a slow route's handler to the pool; a full queue is a 503. The
 * connection is suspended before the job is queued, so the pool can
 * never resume a connection that is not suspended yet. */
static void http_dispatch_slow(http_server *srv, http_req *req, http_handler h)
{
	req->slow = h;
	req->on_pool = true;
	req->suspended = true;
	req->on_resume = NULL;
	MHD_suspend_connection(req->conn);
	if (http_pool_submit(srv->pool, http_pool_run, req))
		return;
	req->on_pool = false;
	http_fail(req, KS_ERR_UNAVAILABLE, "the server is busy with slow requests; try again shortly");
	req->retry_after = HTTP_RETRY_AFTER_S;
	MHD_resume_connection(req->conn); /* http_access sends the 503 */
}

static void http_dispatch(http_server *srv, http_req *req)
{
	if (req->too_big) {
		req->close_conn = true;
		http_fail(req, KS_ERR_TOOBIG, "request body is larger than 1 MiB");
		return;
	}
	ks_err rc;
	const http_route *route = http_route_find(srv->cfg.routes, srv->cfg.n_routes, req, &rc);
	if (route == NULL && rc == KS_ERR_NOTFOUND && srv->web &&
	    (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) &&
	    !http_static_reserved(req->path)) {
		/* Not an API route: perhaps a file of the web UI. */
		ks_error e;
		ks_error_clear(&e);
		req->route_slot = (int)srv->cfg.n_routes; /* issue 18 (ops): "static" */
		if (http_static_serve(srv->web, req, &e) != KS_OK)
			http_reply_error(req, &e);
		return;
	}
	if (route == NULL) {
		http_fail(req, rc, rc == KS_ERR_METHOD ? "method not allowed here" : "no such resource");
		return;
	}
	/* issue 17 (P, C2): a token route is logged by its pattern */
	if (strstr(route->pattern, "{token}"))
		req->log_pattern = route->pattern;
	req->route_slot = (int)(route - srv->cfg.routes); /* issue 18 (ops) */
	/* Who is asking, and may they: before any handler runs. */
	if (srv->cfg.authorize) {
		ks_error e;
		ks_error_clear(&e);
		rc = srv->cfg.authorize(req, route->access, &e);
		if (rc) {
			e.code = rc;
			http_reply_error(req, &e);
			return;
		}
	}
	if (((route->flags & HTTP_SLOW) || srv->lim.slow_all) && srv->pool) {
		http_dispatch_slow(srv, req, route->handler);
		return;
	}
	http_finish(req, route->handler);
}

static http_req *http_req_new(http_server *srv, struct MHD_Connection *conn)
{
	http_req *req = calloc(1, sizeof *req);
	if (req == NULL)
		return NULL;
	req->conn = conn;
	req->srv = srv;
	req->guard_conn = http_guard_conn(conn);
	req->app = srv->cfg.app;
	req->started_ms = clock_mono_ms();
	req->started_us = http_mono_us(); /* issue 18 (ops) */
	req->route_slot = -1;
	buf_init(&req->body, HTTP_BODY_MAX);
	atomic_fetch_add(&srv->in_flight, 1);
	return req;
}

/* libmicrohttpd's URI log callback: it sees the raw request target before
 * libmicrohttpd splits the query into arguments. Each argument takes room
 * in the connection's memory pool, and once the pool is exhausted
 * libmicrohttpd 0.9.75 never answers (the client waits for the timeout).
 * So a target longer than HTTP_URL_MAX, or with more than
 * HTTP_QUERY_MAX_ARGS arguments, loses its query here - emptied in
 * libmicrohttpd's own read buffer, which holds the request line - and
 * http_access answers 414 / 431. The request's state starts here. */
static void *http_uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
	http_server *srv = cls;
	http_req *req = http_req_new(srv, conn);
	if (req == NULL || uri == NULL)
		return req;
	char *q = strchr(uri, '?');
	if (q == NULL)
		return req;
	if (strlen(uri) > HTTP_URL_MAX) {
		req->uri_refused = 414;
	} else {
		size_t args = 1;
		for (const char *p = q + 1; *p; p++)
			if (*p == '&' || *p == ';')
				args++;
		if (args > HTTP_QUERY_MAX_ARGS)
			req->uri_refused = 431;
	}
	if (req->uri_refused)
		q[1] = '\0'; /* an empty query: nothing left to parse */
	return req;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	(void)version;
	http_server *srv = cls;
	http_req *req = *con_cls;
	if (req == NULL) {
		req = http_req_new(srv, conn);
		if (req == NULL)
			return MHD_NO;
		*con_cls = req;
	}
	if (req->method == NULL) {
		/* The first call for this request: the headers are in. */
		req->method = method;
		req->path = url;
		http_guard_phase(srv->guard, req->guard_conn, HTTP_PHASE_BODY);
		if (atomic_load(&srv->stopping)) {
			req->close_conn = true;
			req->queued = true;
			http_fail(req, KS_ERR_UNAVAILABLE, "the server is shutting down");
			return http_send(conn, req);
		}
		/* A request target refused by http_uri_seen (its query is
		 * already cut off), or too many arguments after all. */
		if (req->uri_refused == 0 &&
		    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) > HTTP_QUERY_MAX_ARGS)
			req->uri_refused = 431;
		if (req->uri_refused) {
			req->close_conn = true;
			req->queued = true;
			if (req->uri_refused == 414)
				http_fail_status(req, 414, "uri_too_long",
						 "the URL is longer than " HTTP_STR(HTTP_URL_MAX) " bytes");
			else
				http_fail_status(req, 431, "too_many_arguments",
						 "more than " HTTP_STR(HTTP_QUERY_MAX_ARGS) " query arguments");
			return http_send(conn, req);
		}
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		unsigned long long announced = cl ? strtoull(cl, NULL, 10) : 0;
		if (announced > HTTP_BODY_MAX) {
			/* An announced oversize body: 413 without storing a byte of it.
			 * A client that waits (Expect: 100-continue), or one announcing
			 * more than HTTP_BODY_DRAIN_MAX, is answered now. Others are
			 * sending the body already: answering and closing now makes
			 * the kernel reset the connection over the unread bytes, and
			 * the client never sees the 413 - so the body is read and
			 * dropped, and the 413 goes out on the last call. */
			req->too_big = true;
			req->close_conn = true;
			buf_free(&req->body);
			const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
			if ((expect && strcasecmp(expect, "100-continue") == 0) ||
			    announced > HTTP_BODY_DRAIN_MAX) {
				req->queued = true;
				http_fail(req, KS_ERR_TOOBIG, "request body is larger than 1 MiB");
				return http_send(conn, req);
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Past the limit the rest of a chunked body is read and dropped;
		 * the 413 goes out on the final call. (Queueing it mid-upload makes
		 * libmicrohttpd 0.9.75 drop the connection without an answer.) */
		if (!req->too_big && buf_append(&req->body, upload_data, *upload_data_size) != KS_OK) {
			req->too_big = true;
			buf_free(&req->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->queued)
		return MHD_YES; /* the early 413 is already on its way */
	if (req->suspended) {
		/* Resumed: finish on this server thread (after the writer), or
		 * send what the slow pool prepared. */
		req->suspended = false;
		if (req->on_resume)
			http_finish(req, req->on_resume);
		return http_send(conn, req);
	}
	http_guard_phase(srv->guard, req->guard_conn, HTTP_PHASE_WORK);
	http_dispatch(srv, req);
	if (req->suspended)
		return MHD_YES;
	return http_send(conn, req);
}

/* Copy s into out (n bytes) for a log line: control bytes, DEL, '"' and
 * '\\' become \\xHH, so a client cannot forge or split log lines. Cut at
 * the limit with "..." (never in the middle of an escape). */
void http_log_escape(char *out, size_t n, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (n == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		bool esc = *p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\';
		size_t need = esc ? 4 : 1;
		if (o + need + 4 > n) {
			if (o + 4 <= n) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (esc) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else {
			out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
}

/* issue 17 (P, C2): the path as the access log prints it. A link token is
 * a key to someone's answer page (and its SHA-256 is stored next to who
 * was invited), so it never goes to a log: a matched token route prints
 * its pattern, and any other path under a one-letter prefix — where the
 * product's token links live (/s/ /u/ /r/ /p/ /d/ /w/), say a 405 or a
 * mistyped link — prints the prefix only. */
static void http_log_path(char *out, size_t n, const http_req *req)
{
	const char *p = req->log_pattern ? req->log_pattern : req->path ? req->path : "-";
	/* issue 18 (ops) review: repeated slashes (//s/TOKEN, /s//TOKEN) are
	 * the same prefix to a reader of the log: skip them before the test */
	const char *q = p;
	while (*q == '/')
		q++;
	const char *r = q[0] ? q + 1 : q;
	while (*r == '/')
		r++;
	if (!req->log_pattern && q > p && q[0] && q[1] == '/' && *r) {
		char prefix[8] = {'/', q[0], '/', '.', '.', '.', '\0', '\0'};
		http_log_escape(out, n, prefix);
		return;
	}
	http_log_escape(out, n, p);
}

/* issue 18 (ops): an access line as one JSON object (core/jlog.h). The
 * route is the matched pattern; a request no route matched logs its path
 * as the text log does (http_log_path: never a token). */
static void http_log_json(http_server *srv, const http_req *req, int64_t us, bool ok)
{
	char path[520];
	const char *route = NULL;
	if (req->route_slot >= 0 && (size_t)req->route_slot < srv->cfg.n_routes)
		route = srv->cfg.routes[req->route_slot].pattern;
	else
		http_log_path(path, sizeof path, req);
	ks_buf b;
	buf_init(&b, 8192);
	ks_err err = jlog_begin(&b, req->status >= 500 ? "error" : "info", "access");
	if (!err) {
		err = buf_puts(&b, ",\"method\":");
		if (!err)
			err = buf_json_str(&b, req->method ? req->method : "-");
	}
	if (!err)
		err = buf_puts(&b, ",\"route\":");
	if (!err && route == NULL) {
		char *clean = utf8_clean(path);
		err = buf_json_str(&b, clean ? clean : "-");
		free(clean);
	} else if (!err) {
		err = buf_json_str(&b, route);
	}
	if (!err)
		err = buf_printf(&b, ",\"status\":%d,\"bytes\":%zu,\"ms\":%.3f%s}\n", req->status,
				 req->reply_len, (double)us / 1000.0, ok ? "" : ",\"aborted\":true");
	if (!err)
		jlog_write(srv->cfg.log_fd > 0 ? srv->cfg.log_fd : STDERR_FILENO, &b);
	buf_free(&b);
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	http_server *srv = cls;
	http_req *req = *con_cls;
	if (req == NULL)
		return;
	int64_t us = http_mono_us() - req->started_us; /* issue 18 (ops) */
	http_prom_observe(srv->prom, req->route_slot, req->method, req->status, us);
	if (srv->cfg.access_log && srv->cfg.log_json) {
		http_log_json(srv, req, us, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	} else if (srv->cfg.access_log) {
		char method[64], path[520], line[700];
		http_log_escape(method, sizeof method, req->method ? req->method : "-");
		http_log_path(path, sizeof path, req);
		int n = snprintf(line, sizeof line, "access %s %s %d %zu %lldms%s\n", method,
				 path, req->status, req->reply_len,
				 (long long)(clock_mono_ms() - req->started_ms),
				 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
		if (n > 0)
			fputs(line, stderr);
	}
	/* A request suspended for the writer whose client went away is
	 * closed without its on_resume: its pending state is freed here. */
	if (req->pending) {
		if (req->pending_free)
			req->pending_free(req->pending);
		else
			free(req->pending);
	}
	if (req->reply_from_fd)
		close(req->reply_fd);
	http_guard_reply_done(srv->guard, req->guard_conn);
	free(req->reply);
	buf_free(&req->body);
	free(req);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* ---- start / stop ------------------------------------------------------------------ */

ks_err http_parse_listen(const char *s, char *addr, size_t n, unsigned *port, ks_error *e)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	if (colon == NULL || colon == s || (size_t)(colon - s) >= n)
		return ks_fail(e, KS_ERR_USAGE, "listen", "--listen wants ADDR:PORT, e.g. 127.0.0.1:8080");
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = '\0';
	char *end = NULL;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end != '\0' || p > 65535)
		return ks_fail(e, KS_ERR_USAGE, "listen", "bad port in --listen %s", s);
	struct in_addr tmp;
	if (inet_pton(AF_INET, addr, &tmp) != 1)
		return ks_fail(e, KS_ERR_USAGE, "listen", "bad IPv4 address in --listen %s", s);
	*port = (unsigned)p;
	return KS_OK;
}

/* Room for every connection libmicrohttpd may accept, plus the database
 * and the rest: raise the soft descriptor limit to what is needed (a
 * service often starts with 1024), or lower the connection limit to what
 * the hard limit allows. */
static void http_fd_room(http_limits *lim, unsigned mhd_limit)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)mhd_limit + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = was;
	if (rl.rlim_cur < want) {
		unsigned room = rl.rlim_cur > 512 ? (unsigned)(rl.rlim_cur - 256) * 4 / 5 : 64;
		if (room < lim->connections) {
			fprintf(stderr, "klantstem: only %llu file descriptors: at most %u connections\n",
				(unsigned long long)rl.rlim_cur, room);
			lim->connections = room;
			if (lim->reserve > room / 4)
				lim->reserve = room / 4;
		}
	}
}

/* ---- issue 18 (ops): the metrics listener ------------------------------------ */

/* One scrape: the request counters, the server's gauges, then the
 * application's families. */
static char *http_metrics_text(http_server *srv, size_t *len)
{
	ks_buf b;
	buf_init(&b, 16u * 1024 * 1024);
	ks_err err = http_prom_render(srv->prom, &b);
	if (!err)
		err = prom_family(&b, "klantstem_http_requests_in_flight", "gauge",
				  "Requests received and not yet finished (this scrape excluded).");
	if (!err)
		err = prom_sample(&b, "klantstem_http_requests_in_flight", "",
				  (double)atomic_load(&srv->in_flight));
	if (!err)
		err = prom_family(&b, "klantstem_http_slow_queue_depth", "gauge",
				  "Slow-route requests waiting for a worker of the slow pool.");
	if (!err)
		err = prom_sample_u(&b, "klantstem_http_slow_queue_depth", "",
				    (uint64_t)http_pool_depth(srv->pool));
	if (!err && srv->cfg.metrics_extra)
		srv->cfg.metrics_extra(srv->cfg.app, &b);
	if (err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, len);
}

static enum MHD_Result http_metrics_access(void *cls, struct MHD_Connection *conn, const char *url,
					   const char *method, const char *version,
					   const char *upload_data, size_t *upload_data_size,
					   void **con_cls)
{
	(void)version;
	(void)upload_data;
	http_server *srv = cls;
	if (*con_cls == NULL) { /* headers only: wait for the (empty) body */
		*con_cls = srv;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool here = strcmp(url, "/metrics") == 0;
	unsigned status = !here ? 404 : !get ? 405 : 200;
	size_t len = 0;
	char *body = status == 200 ? http_metrics_text(srv, &len) : NULL;
	if (status == 200 && body == NULL)
		status = 500;
	if (body == NULL) {
		const char *msg = status == 404 ? "not found\n" : status == 405 ? "method not allowed\n"
										: "out of memory\n";
		body = strdup(msg);
		len = body ? strlen(body) : 0;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
								  : "text/plain; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == 405)
		MHD_add_response_header(r, "Allow", "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Listen for scrapes on cfg->metrics_listen: loopback (127.0.0.0/8) only,
 * unless metrics_public - the figures name routes and load, nothing
 * personal, but an operator should choose to publish them. */
static ks_err http_metrics_start(http_server *srv, ks_error *e)
{
	char addr[64];
	unsigned port;
	ks_err err = http_parse_listen(srv->cfg.metrics_listen, addr, sizeof addr, &port, e);
	if (err)
		return ks_fail(e, KS_ERR_USAGE, "metrics-listen",
			       "--metrics-listen wants ADDR:PORT, e.g. 127.0.0.1:9464");
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127 && !srv->cfg.metrics_public)
		return ks_fail(e, KS_ERR_USAGE, "metrics-listen",
			       "--metrics-listen %s is not a loopback address; add --metrics-listen-public "
			       "to serve the metrics there (docs/OPERATIONS.md)",
			       srv->cfg.metrics_listen);
	srv->metrics = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
					NULL, http_metrics_access, srv, MHD_OPTION_SOCK_ADDR,
					(struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
					MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
	if (srv->metrics == NULL)
		return ks_fail(e, KS_ERR_IO, "metrics-listen", "cannot listen on %s (in use?)",
			       srv->cfg.metrics_listen);
	return KS_OK;
}

unsigned http_metrics_port(const http_server *srv)
{
	if (srv->metrics == NULL)
		return 0;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->metrics, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

/* ---- end issue 18 (ops) ---- */

static void http_server_free(http_server *srv)
{
	if (srv->metrics)
		MHD_stop_daemon(srv->metrics); /* issue 18 (ops) */
	http_prom_free(srv->prom);
	http_pool_free(srv->pool);
	http_guard_free(srv->guard);
	http_static_free(srv->web);
	free(srv);
}

ks_err http_start(const http_config *cfg, http_server **out, ks_error *e)
{
	char addr[64];
	unsigned port;
	ks_err err = http_parse_listen(cfg->listen, addr, sizeof addr, &port, e);
	if (err)
		return err;
	http_server *srv = calloc(1, sizeof *srv);
	if (srv == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	srv->cfg = *cfg;
	if (cfg->limits)
		srv->lim = *cfg->limits;
	else
		http_limits_default(&srv->lim);
	if (cfg->timeout_s)
		srv->lim.idle_timeout_s = cfg->timeout_s;
	if (cfg->trusted)
		srv->trusted = *cfg->trusted;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cfg->threads ? cfg->threads : (unsigned)(cores > 0 ? cores : 2);
	unsigned slow = srv->lim.slow_workers ? srv->lim.slow_workers
					      : (unsigned)(cores > 2 ? cores : 2);
	/* libmicrohttpd splits its limit between its threads, and the split
	 * need not follow where connections land: it gets headroom, and the
	 * guard keeps the real limit. */
	unsigned mhd_limit = srv->lim.connections + srv->lim.connections / 2;
	http_fd_room(&srv->lim, mhd_limit);
	mhd_limit = srv->lim.connections + srv->lim.connections / 2;
	/* issue 18 (ops): counted only when someone can read the counts */
	if (cfg->metrics_listen)
		err = http_prom_new(cfg->routes, cfg->n_routes, &srv->prom, e);
	if (!err && cfg->web_root)
		err = http_static_open(cfg->web_root, &srv->web, e);
	if (!err)
		err = http_guard_new(&srv->lim, &srv->trusted, &srv->guard, e);
	if (!err)
		err = http_pool_start(slow, srv->lim.slow_queue, &srv->pool, e);
	if (!err)
		err = http_guard_start(srv->guard, e);
	if (err) {
		http_server_free(srv);
		return err;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	srv->d = MHD_start_daemon(
		MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, http_access, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
		srv->lim.idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
		MHD_OPTION_NOTIFY_CONNECTION, http_guard_notify, srv->guard,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)HTTP_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, http_completed,
		srv, MHD_OPTION_URI_LOG_CALLBACK, http_uri_seen, srv, MHD_OPTION_END);
	if (srv->d == NULL) {
		http_server_free(srv);
		return ks_fail(e, KS_ERR_IO, "listen", "cannot listen on %s (in use?)", cfg->listen);
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = info ? info->port : port;
	/* issue 18 (ops): after the main daemon, so a scrape finds it running */
	if (cfg->metrics_listen && (err = http_metrics_start(srv, e)) != KS_OK) {
		MHD_stop_daemon(srv->d);
		http_pool_stop(srv->pool);
		http_guard_stop(srv->guard);
		http_server_free(srv);
		return err;
	}
	*out = srv;
	return KS_OK;
}

unsigned http_port(const http_server *srv)
{
	return srv->port;
}

void http_stop(http_server *srv, int grace_ms)
{
	if (srv == NULL)
		return;
	/* Let requests in progress finish; new ones are refused with 503.
	 * (MHD_quiesce_daemon would stop the accepting, but with an epoll
	 * thread pool it can race the workers and abort libmicrohttpd 0.9.75:
	 * "Failed to remove listen FD from epoll set".) */
	atomic_store(&srv->stopping, true);
	http_guard_cut_waiting(srv->guard);
	int64_t deadline = clock_mono_ms() + grace_ms;
	while (atomic_load(&srv->in_flight) > 0 && clock_mono_ms() < deadline)
		usleep(10000);
	/* The slow pool finishes what it holds before libmicrohttpd frees the
	 * connections its jobs point to. */
	http_pool_stop(srv->pool);
	http_guard_stop(srv->guard);
	MHD_stop_daemon(srv->d);
	http_guard_stats st;
	http_guard_stats_get(srv->guard, &st);
	fprintf(stderr,
		"klantstem: http guard: %llu refused (address limit), %llu refused (full), %llu evicted, "
		"%llu cut (head), %llu cut (body), %llu cut (reply), %llu replies over budget\n",
		(unsigned long long)st.refused_address, (unsigned long long)st.refused_full,
		(unsigned long long)st.evicted, (unsigned long long)st.cut_head,
		(unsigned long long)st.cut_body, (unsigned long long)st.cut_reply,
		(unsigned long long)st.refused_budget);
	http_server_free(srv);
}
