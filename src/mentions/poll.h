/* poll.h — pollers (issue 16 H2): fetch the configured review and social
 * feeds (store_feed, migration 022) on a schedule with libcurl, and store
 * their mentions through store_feed_page (store_mentions_upsert's rules:
 * never a duplicate (source, source_id), an edited review updates its row).
 *
 * Owner: src/mentions/poll.c. One thread of its own runs every due feed in
 * turn (not the HTTP threads, not the mail scheduler's pass: a slow feed
 * delays only other feeds); "run now" (the API) runs one feed on the
 * caller's thread. One run at a time (a mutex), so a feed is never fetched
 * by two runs at once. All state worth keeping is in the database: a restart
 * (or kill -9) loses at most the run in progress, whose pages the next run
 * fetches again and the upsert finds unchanged. docs/POLLERS.md.
 *
 * Requires curl_global_init to have run before any thread starts (main does
 * it through mail_global_init, as for webhook.h).
 */
#ifndef KS_MENTIONS_POLL_H
#define KS_MENTIONS_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/error.h"
#include "store/store.h"

#define POLL_OVERLAP_S 3600            /* a run asks from cursor - 1 hour */
#define POLL_MAX_BODY (32u << 20)      /* 32 MiB a response */
#define POLL_MAX_PAGES 10000           /* a run's pages; more fail the run (the cursor stays) */
#define POLL_MAX_REDIRECTS 3
#define POLL_BACKOFF_FIRST_S 60        /* 1, 2, 4 ... minutes */
#define POLL_BACKOFF_MAX_S 86400       /* and never more than a day */
#define POLL_QUEUE_MAX 32              /* "run now" requests waiting for the thread */

typedef struct poll_config {
	char user_agent[64];     /* "klantstem/<version>" */
	long connect_timeout_s;  /* default 10 */
	long timeout_s;          /* the whole exchange of one page; default 60 */
	/* "" = no proxy, whatever http_proxy/https_proxy say (serve
	 * --feed-proxy URL); with a proxy the address rule below is the
	 * proxy's to keep */
	char proxy[512];
	/* false (default): a request may connect to a private address
	 * (loopback, link-local, RFC 1918, unique-local) only for the feed's
	 * own host, or when that host itself is private; true (serve
	 * --feed-allow-private): always */
	bool allow_private;
	/* test mode only (serve --feed-test-public ADDR): this one address
	 * counts as public, so the rule can be tested on loopback */
	char test_public[64];
} poll_config;

/* The defaults above with user_agent "klantstem/<version>". */
void poll_config_default(poll_config *c, const char *version);

/* What one run did. */
typedef struct poll_result {
	int64_t feed_id;
	bool ok;
	bool stopped;            /* cut short by poll_stop: nothing recorded */
	bool not_modified;       /* 304 on the first page */
	int64_t status;          /* the last HTTP status, 0 = none */
	int64_t retry_after_s;   /* the server's Retry-After (429/503), 0 = none */
	int64_t pages, received, inserted, updated, unchanged;
	int64_t next_run_at;
	char error[512];         /* "" when ok (or a note: page limit reached) */
} poll_result;

typedef struct mention_poller mention_poller;

/* Create the poller; with background set a thread runs due feeds (checked
 * every second on clock's time). cfg is copied (NULL = defaults); store and
 * clock are borrowed and must outlive the poller. */
ks_err poll_start(ks_store *store, const ks_clock *clock, const poll_config *cfg, bool background,
		  mention_poller **out, ks_error *e);
/* Run feed id now (enabled or not) on the caller's thread when its format
 * is fetched in one request and no run is in progress: *queued false, out
 * filled. A paged format (any number of pages: minutes for a backfill), or
 * any feed while a run is in progress, is queued for the thread, which runs
 * it next, enabled or not: *queued true, out untouched — so a caller (an
 * HTTP slow worker, which logins share) is held at most one page's fetch
 * and never waits behind another feed's run (H11). The feed's runs
 * counter tells when the queued run ended.
 * KS_ERR_NOTFOUND for no such feed, KS_ERR_TOO_MANY when POLL_QUEUE_MAX
 * feeds already wait, KS_ERR_UNAVAILABLE while stopping; a failed fetch is
 * KS_OK with out->ok false (it is recorded like any run). */
ks_err poll_run_feed(mention_poller *p, int64_t id, poll_result *out, bool *queued, ks_error *e);
/* Begin stopping: a transfer in progress is aborted within about a second
 * (curl's progress callback), no new run starts (poll_run_feed answers
 * KS_ERR_UNAVAILABLE). Call it before stopping the HTTP server, so a "run
 * now" request does not hold the server's stop. NULL is a no-op. */
void poll_shutdown(mention_poller *p);
/* poll_shutdown, then join the thread, wait for a run in progress and free.
 * After the last caller of poll_run_feed is done. NULL is a no-op. */
void poll_stop(mention_poller *p);

/* {"ok","status","pages","received","inserted","updated","unchanged",
 *  "not_modified","retry_after_s","error"|null,"next_run_at"(unix)}; the caller's. */
json_t *poll_result_json(const poll_result *r);

/* ---- pure rules, shared with the API -------------------------------------- */

/* Seconds until the next try after the failures-th failure in a row (>= 1):
 * 60 * 2^(failures-1), at most min(8 * interval_s, POLL_BACKOFF_MAX_S); a
 * Retry-After (0 = none) longer than that wins, up to POLL_BACKOFF_MAX_S. */
int64_t poll_backoff_s(int64_t failures, int64_t interval_s, int64_t retry_after_s);
/* Formats a feed may have (mentions_parse's). */
bool poll_format_ok(const char *format);
/* A feed URL: http:// or https://, a host, no user:password (that belongs
 * in the auth header), at most STORE_FEED_URL_MAX bytes. KS_ERR_INVALID
 * naming field otherwise. */
ks_err poll_url_check(const char *url, const char *field, ks_error *e);
/* An auth header: "Name: value", a token name, printable value without
 * CR/LF, at most STORE_FEED_AUTH_MAX bytes. KS_ERR_INVALID naming field. */
ks_err poll_auth_header_check(const char *h, const char *field, ks_error *e);

#endif
