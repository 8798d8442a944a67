/* http.h — the HTTP layer: a libmicrohttpd server (epoll, thread pool),
 * a route table, and the one place where a ks_err becomes a status.
 *
 * Life of a request: server.c collects the body (bounded, 413 past the
 * limit, chunked or not), router.c finds the handler for method + path, the
 * handler fills the reply (http_reply_*) or returns a ks_err that
 * http_status_for() maps to a status and a JSON error body. A handler that
 * waits for the database writer calls http_suspend(); the completion side
 * then fills the reply and calls http_resume() from any thread.
 */
#ifndef KS_HTTP_H
#define KS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_BODY_MAX (1024 * 1024)
/* An announced body above HTTP_BODY_MAX but at most this is read and
 * dropped before the 413 (so the client, still sending, sees it); larger
 * ones are refused at once. */
#define HTTP_BODY_DRAIN_MAX (64ull * 1024 * 1024)
/* At most this many query arguments (more: 431 with the JSON envelope).
 * libmicrohttpd keeps the request line, headers and parsed arguments in
 * one per-connection pool of HTTP_CONN_MEMORY bytes. */
#define HTTP_QUERY_MAX_ARGS 100
/* Longest request target (path + query) answered normally (else 414). */
#define HTTP_URL_MAX 8192
#define HTTP_CONN_MEMORY (64 * 1024)

/* ---- what one client may hold (guard.c, pool.c; issue 11) ----
 * Defaults of http_limits; each can be changed with
 * serve --http-limit NAME=VALUE (the names are the http_limits fields,
 * without _s). Connections: */
#define HTTP_CONNECTIONS 4096        /* open at once */
#define HTTP_PER_ADDRESS 256         /* from one peer address; trusted proxies exempt */
#define HTTP_RESERVE 256             /* kept free: past connections - reserve, each new
				      * connection cuts the oldest one still in its head
				      * (else body) phase */
/* Deadlines, cut by shutdown(2) (libmicrohttpd's own timeout counts idle
 * time only, which a trickling client never reaches): */
#define HTTP_HEAD_TIMEOUT_S 15       /* accept (or the previous reply) -> headers complete */
#define HTTP_BODY_TIMEOUT_S 60       /* headers -> last byte of the body */
#define HTTP_REPLY_TIMEOUT_S 60      /* reply queued -> sent, plus its size at: */
#define HTTP_REPLY_MIN_RATE (64 * 1024) /* bytes per second */
#define HTTP_IDLE_TIMEOUT_S 30       /* libmicrohttpd's: no byte either way */
/* Replies held in memory until the client has taken them (a slow reader
 * keeps its reply): in total, and from one peer address. A reply over
 * 16 KiB that does not fit is refused with 503 and Retry-After. Static
 * files are sent from their file and count nothing. */
#define HTTP_REPLY_BUDGET (256ull * 1024 * 1024)
#define HTTP_REPLY_BUDGET_ADDRESS (64ull * 1024 * 1024)
/* Routes flagged HTTP_SLOW run on a pool of slow_workers threads (default:
 * the number of cores, at least 2) with a queue of HTTP_SLOW_QUEUE waiting
 * requests; a request that finds the queue full gets 503 and Retry-After. */
#define HTTP_SLOW_QUEUE 64
/* SO_SNDBUF of each connection in bytes; 0 (default) = the kernel's
 * autotuning. A small one keeps more of a slow reader's reply in the
 * budget instead of in the kernel (tests use it on loopback). */
#define HTTP_SNDBUF 0
#define HTTP_RETRY_AFTER_S 2

typedef struct http_limits {
	unsigned connections, per_address, reserve;
	unsigned head_timeout_s, body_timeout_s, reply_timeout_s, reply_min_rate, idle_timeout_s;
	size_t reply_budget, reply_budget_address;
	unsigned slow_workers, slow_queue;
	unsigned sndbuf;
	unsigned slow_all;       /* 1: every route runs on the slow pool (tests, diagnosis) */
} http_limits;

/* Fill l with the defaults above. */
void http_limits_default(http_limits *l);
/* Apply "NAME=VALUE" (e.g. "head_timeout=10", "reply_budget=1048576");
 * KS_ERR_USAGE naming the problem otherwise. */
ks_err http_limits_set(http_limits *l, const char *spec, ks_error *e);

/* Reverse proxies whose X-Forwarded-For is believed (serve --trusted-proxy). */
#define HTTP_TRUSTED_MAX 16
typedef struct http_trusted {
	size_t n;
	uint32_t net[HTTP_TRUSTED_MAX], mask[HTTP_TRUSTED_MAX]; /* network order */
} http_trusted;
/* "ADDR[,ADDR...]", each IPv4 "A.B.C.D" or "A.B.C.D/BITS". */
ks_err http_trusted_parse(http_trusted *t, const char *list, ks_error *e);
#define HTTP_STR_(x) #x
#define HTTP_STR(x) HTTP_STR_(x)

typedef struct http_req http_req;
typedef ks_err (*http_handler)(http_req *req, ks_error *e);

/* One row of a route table. Patterns are "/"-separated segments; "{name}"
 * captures one segment into req->params (in order). access is handed to
 * the configured authorize callback before the handler runs (0 = public).
 * flags (may be left out of a row: 0) are HTTP_SLOW and friends. */
typedef struct http_route {
	const char *method;
	const char *pattern;
	http_handler handler;
	unsigned access;
	unsigned flags;
} http_route;

/* The handler is slow (password hashing, report queries): it runs on the
 * slow pool, not on an HTTP thread (see HTTP_SLOW_QUEUE). It may still
 * call http_suspend / http_resume. */
#define HTTP_SLOW 1u

/* Who made the request, as established by the authorize callback. */
typedef struct http_principal {
	bool authenticated;
	bool via_token;          /* Authorization: Bearer (no CSRF needed) */
	int64_t user_id;
	int role;                /* auth_role */
	int64_t employee_id;
	int64_t unit_id;
	char csrf[48];
	char session_hash[72];   /* to end the session at logout */
	char name[128];
	char email[256];
	char language[3];
} http_principal;

struct http_req {
	/* request (read-only for handlers) */
	const char *method;
	const char *path;
	const char *params[HTTP_MAX_PARAMS];
	size_t n_params;
	ks_buf body;
	void *app;               /* the application context given to http_start */
	void *conn;              /* struct MHD_Connection * */
	/* reply (filled by handlers through http_reply_*) */
	int status;
	char *reply;             /* owned; freed by the server */
	size_t reply_len;
	const char *content_type;
	bool reply_from_fd;      /* send reply_len bytes of reply_fd (owned) instead */
	int reply_fd;
	char allow[64];          /* Allow header for 405 */
	char location[512];      /* Location header for 201 (and 303: a review page, issue 16 H3) */
	char set_cookie[256];    /* Set-Cookie header, when not empty */
	int retry_after;         /* Retry-After seconds (429, 503); 0 = none */
	http_principal who;
	/* extra reply headers of static files (static.c); NULL/"" = none */
	const char *cache_control;
	const char *content_encoding;
	const char *csp;         /* set on HTML: also X-Frame-Options, Referrer-Policy */
	bool vary_encoding;      /* Vary: Accept-Encoding */
	char etag[64];
	/* completion of a suspended request: called on a server thread after
	 * http_resume(), like a handler; pending is the handler's own state. */
	ks_err (*on_resume)(http_req *req, ks_error *e);
	void *pending;
	/* open-link guard (issue 11): frees pending when the request ends
	 * without on_resume running (the client went away while suspended:
	 * libmicrohttpd then closes it instead of calling back). NULL = free(). */
	void (*pending_free)(void *pending);
	/* bookkeeping */
	struct http_server *srv;
	void *guard_conn;        /* http_conn of the connection (guard.c) */
	http_handler slow;       /* the handler to run on the slow pool */
	bool on_pool;            /* running (or queued) on the slow pool */
	bool pool_async;         /* ... and the handler suspended for the writer */
	_Atomic int pool_refs;   /* who must finish before the resumption */
	bool too_big;
	int uri_refused;         /* 414 / 431: query cut off before parsing */
	bool queued;             /* a reply was queued before the body ended */
	bool close_conn;         /* send "Connection: close" with the reply */
	bool suspended;
	bool replied;
	/* issue 17 (P, C2): the matched route's pattern when it captures a
	 * link token ("/p/{token}"): the access log prints it instead of the
	 * path, so no token (whose hash is in the database) reaches a log */
	const char *log_pattern;
	int64_t started_ms;
	/* issue 18 (ops): the route slot for the metrics (prom.h; -1 = none
	 * yet) and the start in microseconds for the latency histogram */
	int route_slot;
	int64_t started_us;
	char param_buf[512];
};

typedef struct http_config {
	const char *listen;      /* "ADDR:PORT"; port 0 picks a free one */
	unsigned threads;        /* 0 = number of cores */
	unsigned timeout_s;      /* idle connection timeout; 0 = 30 */
	bool access_log;         /* a line per request on stderr */
	const http_route *routes;
	size_t n_routes;
	void *app;
	/* Called for every matched route before its handler; fills req->who
	 * and returns KS_ERR_UNAUTHENTICATED / KS_ERR_FORBIDDEN to refuse.
	 * NULL = no access control. */
	ks_err (*authorize)(http_req *req, unsigned access, ks_error *e);
	/* Folder of the web UI: a GET or HEAD that no route matches is served
	 * from it (static.c). NULL = no static files. */
	const char *web_root;
	/* NULL = the defaults (http_limits_default); borrowed. */
	const http_limits *limits;
	/* NULL = no proxy is trusted; borrowed. */
	const http_trusted *trusted;
	/* issue 18 (ops): Prometheus metrics (prom.h) on a second listener
	 * answering only GET /metrics, without authentication. NULL = off.
	 * Only a loopback address unless metrics_public. metrics_extra (may be
	 * NULL) appends the application's own families (store, scheduler,
	 * index) to each scrape, on the metrics listener's thread. */
	const char *metrics_listen;
	bool metrics_public;
	void (*metrics_extra)(void *app, ks_buf *out);
	/* issue 18 (ops): access lines as JSON objects (core/jlog.h) written
	 * to log_fd (the real stderr while jlog wraps fd 2) */
	bool log_json;
	int log_fd;
} http_config;

typedef struct http_server http_server;

/* Start listening. *out owned by the caller; stop with http_stop(). The
 * bound port is available through http_port(). */
ks_err http_start(const http_config *cfg, http_server **out, ks_error *e);
unsigned http_port(const http_server *srv);
/* issue 18 (ops): the metrics listener's bound port; 0 = none. */
unsigned http_metrics_port(const http_server *srv);
/* Stop accepting, wait (up to grace_ms) for in-flight requests, close. */
void http_stop(http_server *srv, int grace_ms);

/* Parse "ADDR:PORT" (IPv4) into its parts. */
ks_err http_parse_listen(const char *s, char *addr, size_t n, unsigned *port, ks_error *e);

/* Map an error to its HTTP status: the one place where that happens. */
int http_status_for(ks_err code);

/* Replies. Each takes ownership of what it is given. */
void http_reply_json(http_req *req, int status, json_t *body);
void http_reply_error(http_req *req, const ks_error *e);
void http_reply_buf(http_req *req, int status, const char *content_type, ks_buf *b);

/* Query-string argument or header value; NULL when absent. */
const char *http_query(http_req *req, const char *name);
const char *http_header(http_req *req, const char *name);
const char *http_cookie(http_req *req, const char *name);
/* The client's IPv4 address as text ("" when unknown): the peer, or when
 * the peer is a trusted proxy the right-most X-Forwarded-For address that
 * is not one (addr.c). */
void http_client_addr(http_req *req, char *out, size_t n);

/* Copy s into out (n bytes, NUL-terminated) for the access log: control
 * bytes, DEL, '"' and '\\' become \\xHH; cut with "..." when too long. */
void http_log_escape(char *out, size_t n, const char *s);

/* Park the request until http_resume(); the handler returns KS_OK after
 * calling http_suspend, and touches req no more. http_resume may be called
 * from any thread, once. Works on an HTTP thread and on the slow pool. */
void http_suspend(http_req *req);
void http_resume(http_req *req);

/* Route matching (router.c). Returns the route, or NULL with *err set to
 * KS_ERR_NOTFOUND or KS_ERR_METHOD (and req->allow filled). Captured
 * segments are stored in req->params. */
const http_route *http_route_find(const http_route *routes, size_t n, http_req *req, ks_err *err);

/* ---- static files (static.c) ----
 * The web UI's files under one root folder: GET/HEAD only, for paths no
 * route matches, never under /api, /s, /u or /healthz, and only "/",
 * "/index.html" and files under /js/, /css/, /img/, /vendor/. See static.c for
 * the rules on which paths may leave the folder. */
#define HTTP_STATIC_MAX (8 * 1024 * 1024)

typedef struct http_static http_static;

/* Resolve root (realpath); KS_ERR_NOTFOUND when it is not a folder. */
ks_err http_static_open(const char *root, http_static **out, ks_error *e);
void http_static_free(http_static *s);
const char *http_static_root(const http_static *s);
/* The URL path is acceptable at all: "/"-rooted, no "..", "//", "\\",
 * control bytes, hidden or node_modules segments. */
bool http_static_path_ok(const char *path);
/* /api, /s, /u, /healthz and below: never static. */
bool http_static_reserved(const char *path);
/* Part of the UI at all: "/", "/index.html", or a file under /js/, /css/,
 * /img/ or /vendor/. Anything else in the web root (package.json,
 * node_modules, notes) is never served. */
bool http_static_ui_path(const char *path);
/* Content-Type by extension; NULL when that kind of file is not served. */
const char *http_static_type(const char *path);
/* The real file behind a URL path ("/" is /index.html), checked to be a
 * regular file under the root; KS_ERR_NOTFOUND otherwise. */
ks_err http_static_resolve(const http_static *s, const char *path, char *out, size_t n);
/* Fill req's reply with the file (200, or 304 on a matching If-None-Match);
 * /app/... without an extension falls back to /index.html (deep links). */
ks_err http_static_serve(const http_static *s, http_req *req, ks_error *e);

#endif
