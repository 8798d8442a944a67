/* guard.c — what one client may hold (issue 11, findings 1 and 4).
 *
 * libmicrohttpd's own timeout counts idle time only: a client that sends a
 * header line every few seconds keeps its connection for ever, and 4 096
 * such connections lock everyone out. So every connection is tracked here,
 * from the STARTED to the CLOSED notification, with its peer address and
 * its phase (http_int.h), and:
 *
 *  - at most limits.per_address connections per peer address (a trusted
 *    proxy is exempt: it carries everybody); one more is cut at once;
 *  - the request head must be complete within head_timeout of the accept
 *    (or of the previous reply, on a kept-alive connection), the body
 *    within body_timeout of the head, and a reply must be taken by the
 *    client within reply_timeout plus its size at reply_min_rate;
 *  - when fewer than limits.reserve slots are left, each new connection
 *    cuts the oldest connection still in its head (else its body) phase,
 *    so a new client - and /healthz - still gets in while many addresses
 *    trickle headers;
 *  - replies held in memory are budgeted: in total and per peer address
 *    (http_guard_reply_begin).
 *
 * Cutting is shutdown(fd, SHUT_RDWR) from the sweeper thread: the
 * connection's libmicrohttpd thread then sees end-of-file or a failed
 * send and closes it the normal way, with every callback. The descriptor
 * is only touched under g->mu, and the CLOSED notification - which
 * libmicrohttpd 0.9.75 calls before it closes the socket (daemon.c,
 * MHD_cleanup_connections) - takes g->mu to unlink the connection: a
 * descriptor in the table is therefore never one the kernel handed out
 * again to somebody else.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "http/http_int.h"

struct http_conn {
	int fd;
	uint32_t addr;            /* IPv4, network order; 0 when not IPv4 */
	bool trusted;             /* the peer is a trusted proxy */
	bool cut;                 /* shut down already: waiting for CLOSED */
	http_phase phase;
	int64_t since_ms;         /* when the phase began */
	int64_t deadline_ms;      /* 0 = none */
	size_t reply_bytes;       /* held in the budget */
	http_conn *prev, *next;   /* g->live, oldest first */
};

/* Connections and reply bytes of one peer address (open addressing with
 * linear probing; an entry lives while either count is not zero). */
typedef struct guard_addr {
	uint32_t addr;
	uint32_t conns;
	size_t bytes;
	bool used;
} guard_addr;

struct http_guard {
	const http_limits *lim;
	const http_trusted *trusted;
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* wakes the sweeper to stop */
	pthread_t sweeper;
	bool running, stop;
	http_conn *head, *tail;   /* every tracked connection, in accept order */
	size_t n_live;            /* tracked */
	size_t n_active;          /* tracked and not cut */
	size_t reply_bytes;       /* all replies held */
	guard_addr *addrs;
	size_t addr_cap;          /* a power of two, at least twice the connections */
	http_guard_stats st;
};

/* The smallest reply that is counted against the budget's limits (smaller
 * ones are counted but always pass: an error envelope must get out). */
#define GUARD_SMALL_REPLY (16 * 1024)
#define GUARD_TICK_MS 100

/* ---- per-address counts ------------------------------------------------------------ */

static size_t guard_addr_home(const http_guard *g, uint32_t a)
{
	return (size_t)((a * 2654435761u) ^ (a >> 16)) & (g->addr_cap - 1);
}

/* The entry of a, created when missing (the table never fills: it has
 * twice as many entries as there can be connections). */
static guard_addr *guard_addr_get(http_guard *g, uint32_t a)
{
	size_t i = guard_addr_home(g, a);
	while (g->addrs[i].used && g->addrs[i].addr != a)
		i = (i + 1) & (g->addr_cap - 1);
	if (!g->addrs[i].used) {
		g->addrs[i] = (guard_addr){.addr = a, .used = true};
	}
	return &g->addrs[i];
}

/* Drop an entry whose counts are both zero; later entries of its probe run
 * move back so lookups still find them. */
static void guard_addr_put(http_guard *g, guard_addr *x)
{
	if (x->conns || x->bytes)
		return;
	size_t mask = g->addr_cap - 1;
	size_t hole = (size_t)(x - g->addrs);
	size_t i = hole;
	g->addrs[hole].used = false;
	for (;;) {
		i = (i + 1) & mask;
		if (!g->addrs[i].used)
			return;
		size_t home = guard_addr_home(g, g->addrs[i].addr);
		/* Can the entry at i move to the hole? Only if its home is not
		 * in the cyclic range (hole, i]. */
		bool between = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
		if (!between) {
			g->addrs[hole] = g->addrs[i];
			g->addrs[i].used = false;
			hole = i;
		}
	}
}

/* ---- cutting ----------------------------------------------------------------------- */

/* Caller holds g->mu: the descriptor is still the connection's own. */
static void guard_cut(http_guard *g, http_conn *c)
{
	if (c->cut)
		return;
	c->cut = true;
	g->n_active--;
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_RDWR);
}

static int64_t guard_deadline(const http_guard *g, http_phase p, int64_t now, size_t len)
{
	const http_limits *l = g->lim;
	switch (p) {
	case HTTP_PHASE_HEAD: return l->head_timeout_s ? now + 1000ll * l->head_timeout_s : 0;
	case HTTP_PHASE_BODY: return l->body_timeout_s ? now + 1000ll * l->body_timeout_s : 0;
	case HTTP_PHASE_REPLY:
		if (l->reply_timeout_s == 0)
			return 0;
		return now + 1000ll * l->reply_timeout_s +
		       (l->reply_min_rate ? (int64_t)(len / l->reply_min_rate) * 1000 : 0);
	case HTTP_PHASE_WORK: return 0;
	}
	return 0;
}

/* The oldest connection still sending its head (else its body), not cut.
 * Caller holds g->mu. */
static http_conn *guard_victim(http_guard *g, const http_conn *except)
{
	http_conn *body = NULL, *head = NULL;
	for (http_conn *c = g->head; c; c = c->next) {
		if (c->cut || c == except)
			continue;
		if (c->phase == HTTP_PHASE_HEAD && (head == NULL || c->since_ms < head->since_ms))
			head = c;
		else if (c->phase == HTTP_PHASE_BODY && (body == NULL || c->since_ms < body->since_ms))
			body = c;
	}
	return head ? head : body;
}

/* ---- notifications ----------------------------------------------------------------- */

static void guard_started(http_guard *g, struct MHD_Connection *conn, void **socket_context)
{
	http_conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return; /* untracked: it still has libmicrohttpd's idle timeout */
	const union MHD_ConnectionInfo *fi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ai = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	c->fd = fi ? fi->connect_fd : -1;
	if (ai && ai->client_addr && ai->client_addr->sa_family == AF_INET)
		c->addr = ((const struct sockaddr_in *)ai->client_addr)->sin_addr.s_addr;
	c->trusted = c->addr && http_trusted_has(g->trusted, c->addr);
	if (g->lim->sndbuf && c->fd >= 0) {
		int sb = (int)g->lim->sndbuf;
		(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
	}
	int64_t now = clock_mono_ms();
	c->phase = HTTP_PHASE_HEAD;
	c->since_ms = now;

	pthread_mutex_lock(&g->mu);
	c->deadline_ms = guard_deadline(g, HTTP_PHASE_HEAD, now, 0);
	c->prev = g->tail;
	if (g->tail)
		g->tail->next = c;
	else
		g->head = c;
	g->tail = c;
	g->n_live++;
	g->n_active++;
	guard_addr *a = guard_addr_get(g, c->addr);
	a->conns++;
	const http_limits *l = g->lim;
	if (!c->trusted && l->per_address && a->conns > l->per_address) {
		g->st.refused_address++;
		guard_cut(g, c);
	} else if (g->n_active + l->reserve > l->connections) {
		/* Keep the reserve free: the oldest half-sent request goes. */
		http_conn *v = guard_victim(g, c);
		if (v) {
			g->st.evicted++;
			guard_cut(g, v);
		}
		if (g->n_active > l->connections) {
			g->st.refused_full++;
			guard_cut(g, c);
		}
	}
	pthread_mutex_unlock(&g->mu);
	*socket_context = c;
}

static void guard_closed(http_guard *g, void **socket_context)
{
	http_conn *c = *socket_context;
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		g->tail = c->prev;
	g->n_live--;
	if (!c->cut)
		g->n_active--;
	guard_addr *a = guard_addr_get(g, c->addr);
	a->conns--;
	a->bytes -= c->reply_bytes;
	g->reply_bytes -= c->reply_bytes;
	guard_addr_put(g, a);
	pthread_mutex_unlock(&g->mu);
	*socket_context = NULL;
	free(c);
}

void http_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode toe)
{
	http_guard *g = cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		guard_started(g, conn, socket_context);
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
		guard_closed(g, socket_context);
}

http_conn *http_guard_conn(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

uint32_t http_conn_peer(const http_conn *c, bool *trusted)
{
	*trusted = c && c->trusted;
	return c ? c->addr : 0;
}

/* ---- phases and the reply budget --------------------------------------------------- */

void http_guard_phase(http_guard *g, http_conn *c, http_phase p)
{
	if (c == NULL)
		return;
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&g->mu);
	c->phase = p;
	c->since_ms = now;
	c->deadline_ms = guard_deadline(g, p, now, 0);
	pthread_mutex_unlock(&g->mu);
}

bool http_guard_reply_begin(http_guard *g, http_conn *c, size_t len, bool in_memory)
{
	if (c == NULL)
		return true;
	const http_limits *l = g->lim;
	int64_t now = clock_mono_ms();
	bool ok = true;
	pthread_mutex_lock(&g->mu);
	guard_addr *a = guard_addr_get(g, c->addr);
	size_t held = in_memory ? len : 0;
	if (held > GUARD_SMALL_REPLY) {
		if (l->reply_budget && g->reply_bytes + held > l->reply_budget)
			ok = false;
		if (!c->trusted && l->reply_budget_address && a->bytes + held > l->reply_budget_address)
			ok = false;
	}
	if (ok) {
		a->bytes += held;
		g->reply_bytes += held;
		c->reply_bytes += held;
	} else {
		g->st.refused_budget++;
	}
	c->phase = HTTP_PHASE_REPLY;
	c->since_ms = now;
	c->deadline_ms = guard_deadline(g, HTTP_PHASE_REPLY, now, ok ? len : 0);
	pthread_mutex_unlock(&g->mu);
	return ok;
}

void http_guard_reply_done(http_guard *g, http_conn *c)
{
	if (c == NULL)
		return;
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&g->mu);
	guard_addr *a = guard_addr_get(g, c->addr);
	a->bytes -= c->reply_bytes;
	g->reply_bytes -= c->reply_bytes;
	c->reply_bytes = 0;
	c->phase = HTTP_PHASE_HEAD; /* kept alive: the next head has its deadline */
	c->since_ms = now;
	c->deadline_ms = guard_deadline(g, HTTP_PHASE_HEAD, now, 0);
	pthread_mutex_unlock(&g->mu);
}

/* ---- the sweeper ------------------------------------------------------------------- */

static void guard_sweep(http_guard *g, int64_t now)
{
	for (http_conn *c = g->head; c; c = c->next) {
		if (c->cut || c->deadline_ms == 0 || now < c->deadline_ms)
			continue;
		if (c->phase == HTTP_PHASE_HEAD)
			g->st.cut_head++;
		else if (c->phase == HTTP_PHASE_BODY)
			g->st.cut_body++;
		else
			g->st.cut_reply++;
		guard_cut(g, c);
	}
}

static void *guard_main(void *arg)
{
	http_guard *g = arg;
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		guard_sweep(g, clock_mono_ms());
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += GUARD_TICK_MS * 1000000l;
		if (ts.tv_nsec >= 1000000000l) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000l;
		}
		pthread_cond_timedwait(&g->cv, &g->mu, &ts);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* ---- life -------------------------------------------------------------------------- */

ks_err http_guard_new(const http_limits *lim, const http_trusted *trusted, http_guard **out,
		      ks_error *e)
{
	*out = NULL;
	http_guard *g = calloc(1, sizeof *g);
	if (g == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	g->lim = lim;
	g->trusted = trusted;
	/* libmicrohttpd admits a few more than lim->connections (we cut the
	 * excess): room for all of them, at most half full. */
	size_t need = 2 * ((size_t)lim->connections + 1024);
	g->addr_cap = 64;
	while (g->addr_cap < need)
		g->addr_cap *= 2;
	g->addrs = calloc(g->addr_cap, sizeof *g->addrs);
	if (g->addrs == NULL) {
		free(g);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	*out = g;
	return KS_OK;
}

ks_err http_guard_start(http_guard *g, ks_error *e)
{
	if (pthread_create(&g->sweeper, NULL, guard_main, g) != 0)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the connection sweeper");
	g->running = true;
	return KS_OK;
}

void http_guard_stop(http_guard *g)
{
	if (g == NULL || !g->running)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->sweeper, NULL);
	g->running = false;
}

void http_guard_free(http_guard *g)
{
	if (g == NULL)
		return;
	http_guard_stop(g);
	/* After libmicrohttpd stopped every connection was CLOSED; anything
	 * left was never notified. */
	for (http_conn *c = g->head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g->addrs);
	free(g);
}

void http_guard_cut_waiting(http_guard *g)
{
	pthread_mutex_lock(&g->mu);
	for (http_conn *c = g->head; c; c = c->next)
		if (c->phase == HTTP_PHASE_HEAD)
			guard_cut(g, c);
	pthread_mutex_unlock(&g->mu);
}

void http_guard_stats_get(http_guard *g, http_guard_stats *out)
{
	pthread_mutex_lock(&g->mu);
	*out = g->st;
	pthread_mutex_unlock(&g->mu);
}
