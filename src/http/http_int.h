/* http_int.h — the HTTP layer's internal interfaces between server.c, the
 * connection guard (guard.c), the slow pool (pool.c), client addresses
 * (addr.c) and the reply headers (headers.c). Nothing outside src/http
 * includes this file; the contract for the rest of the program is http.h.
 */
#ifndef KS_HTTP_INT_H
#define KS_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "http/http.h"

/* ---- the connection guard (guard.c) ----
 * Every TCP connection is tracked from libmicrohttpd's STARTED to its
 * CLOSED notification, with its peer address and the phase it is in; a
 * sweeper thread cuts (shutdown(2)) connections past their phase's
 * deadline. One mutex covers the table, the sweeper and the CLOSED
 * notification, and libmicrohttpd calls CLOSED before it close(2)s the
 * socket, so a descriptor is never cut after it was reused. */
typedef struct http_guard http_guard;
typedef struct http_conn http_conn;

typedef enum {
	HTTP_PHASE_HEAD,   /* accepted (or kept alive) until the headers are in */
	HTTP_PHASE_BODY,   /* headers in, body still arriving */
	HTTP_PHASE_WORK,   /* the server is working (handler, pool, writer): no deadline */
	HTTP_PHASE_REPLY   /* a reply is queued until it is sent */
} http_phase;

/* Counters for the log line at stop and for tests. */
typedef struct http_guard_stats {
	uint64_t refused_address;  /* over the per-address limit */
	uint64_t refused_full;     /* no slot and nothing to evict */
	uint64_t evicted;          /* cut to keep the reserve free */
	uint64_t cut_head, cut_body, cut_reply;
	uint64_t refused_budget;   /* replies refused over the byte budget */
} http_guard_stats;

/* lim and trusted are borrowed for the guard's life. *out owned by the
 * caller: http_guard_free after libmicrohttpd has stopped. */
ks_err http_guard_new(const http_limits *lim, const http_trusted *trusted, http_guard **out,
		      ks_error *e);
/* Start / stop the sweeper thread. */
ks_err http_guard_start(http_guard *g, ks_error *e);
void http_guard_stop(http_guard *g);
void http_guard_free(http_guard *g);
void http_guard_stats_get(http_guard *g, http_guard_stats *out);
/* Stopping: cut every connection still sending a request head (or idle
 * between requests) - nothing of theirs is in progress, and a trickling
 * client must not hold the stop for the whole grace period. */
void http_guard_cut_waiting(http_guard *g);

/* libmicrohttpd's MHD_OPTION_NOTIFY_CONNECTION callback (cls = guard). */
void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe);
/* The tracked connection behind a libmicrohttpd connection, or NULL. */
http_conn *http_guard_conn(struct MHD_Connection *conn);
/* Move a connection to another phase (deadline from the limits). */
void http_guard_phase(http_guard *g, http_conn *c, http_phase p);
/* A reply of len bytes is about to be queued. Held in memory, it needs room
 * in the budget (total and the peer's share) and is counted until
 * http_guard_reply_done; false: refuse it (503; nothing counted). Small
 * replies and replies from files always pass. Starts the reply deadline. */
bool http_guard_reply_begin(http_guard *g, http_conn *c, size_t len, bool in_memory);
/* The request ended: release its reply bytes, back to HEAD (keep-alive). */
void http_guard_reply_done(http_guard *g, http_conn *c);
/* The peer's IPv4 address (network order) and whether it is a trusted proxy. */
uint32_t http_conn_peer(const http_conn *c, bool *trusted);

/* ---- the slow pool (pool.c) ----
 * A fixed number of threads running jobs from a bounded queue. */
typedef struct http_pool http_pool;
typedef void (*http_pool_fn)(void *arg);

ks_err http_pool_start(unsigned workers, unsigned queue, http_pool **out, ks_error *e);
/* Queue fn(arg); false when the queue is full (nothing queued). */
bool http_pool_submit(http_pool *p, http_pool_fn fn, void *arg);
/* Run what is queued and join the threads; later submits fail. */
void http_pool_stop(http_pool *p);
/* Stop (if not yet) and free. */
void http_pool_free(http_pool *p);
/* issue 18 (ops): jobs queued and not yet taken by a worker. */
size_t http_pool_depth(http_pool *p);

/* ---- client addresses (addr.c) ---- */
/* Is addr (IPv4, network order) one of the trusted proxies? */
bool http_trusted_has(const http_trusted *t, uint32_t addr);
/* The client behind peer: when peer is trusted, the right-most address of
 * xff (all X-Forwarded-For values joined by ",", oldest first) that is not
 * trusted; else peer. out gets dotted IPv4 text ("" when unknown). */
void http_client_resolve(const http_trusted *t, uint32_t peer, bool have_peer, const char *xff,
			 char *out, size_t n);

/* ---- reply headers (headers.c) ---- */
/* Add the caching and security headers of a reply, by its kind (API,
 * UI file, UI page, public page); req->reply must already be filled. */
void http_headers_add(const http_req *req, struct MHD_Response *r);

#endif
