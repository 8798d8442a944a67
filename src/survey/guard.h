/* guard.h — the open-link guard (issue 11): rate limits on the public
 * survey page, and which answers on an open link are held as suspect.
 *
 * Owner: src/survey/guard.c. No I/O, no database: the caller passes the
 * time (the application's clock, so a test clock makes it exact) and the
 * client's address (http_client_addr).
 *
 * Three token buckets, each holding its limit and refilled evenly over its
 * own window (a limit per window, with bursts up to the limit):
 *   address x link  addr_limit posts from one address to one link (any
 *                   link: a personal invitation link too); beyond -> 429;
 *   link            link_limit posts to one open link from everyone
 *                   together (a ceiling against many addresses); beyond
 *                   -> 429;
 *   normal          normal_limit valid answers on one open link are
 *                   counted at once; beyond that (a burst) an answer is
 *                   stored but held as suspect until an admin accepts it.
 * A limit of 0 switches that bucket off. Personal invitation links take
 * only the first: one token answers once (the store refuses a second
 * answer), so a flood on one cannot add answers and holding has nothing
 * to catch.
 *
 * The buckets live in a fixed table (GUARD_SLOTS entries): memory does not
 * grow with the number of addresses. When it is full, the entry idle the
 * longest is reused; an evicted address starts again with a full bucket,
 * which is never more than the limit allows in one window.
 *
 * Thread safety: every function may be called from any thread (one mutex).
 */
#ifndef KS_SURVEY_GUARD_H
#define KS_SURVEY_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

#define GUARD_SLOTS 8192

/* The defaults: a person answers once, a busy shop's QR code gets a few
 * dozen answers an hour. 10 posts a minute from one address leave room for
 * retries and a shared (NAT) address; 600 an hour on one link bound what a
 * flood from many addresses can store (and the disk it can fill); 60
 * answers an hour are counted at once, a burst beyond that waits for an
 * admin. */
typedef struct guard_config {
	int addr_limit, addr_window_s;      /* 10 per 60 s */
	int link_limit, link_window_s;      /* 600 per 3600 s */
	int normal_limit, normal_window_s;  /* 60 per 3600 s */
	int quiet_s;       /* a burst ends after this long without a held answer; default 900 */
} guard_config;

void guard_config_default(guard_config *c);

/* Parse "addr=10/60,link=600/3600,normal=60/3600,quiet=900" (any subset,
 * in any order; "addr=10" keeps the window; "window=S" sets all three
 * windows) over the values already in *c. KS_ERR_USAGE naming
 * "open-link-guard" for an unknown key or a value outside 0..1000000
 * (windows and quiet 1..1000000). */
ks_err guard_config_parse(const char *spec, guard_config *c, ks_error *e);

typedef struct survey_guard survey_guard;

/* *out is the caller's: guard_free. KS_ERR_NOMEM. */
ks_err guard_new(const guard_config *c, survey_guard **out);
void guard_free(survey_guard *g);
/* A copy of the configuration. */
void guard_get_config(const survey_guard *g, guard_config *out);

/* May a POST from addr ("" = unknown: one shared bucket) to the link token
 * go on at now (seconds)? open_link: the token is a touchpoint's open link,
 * so the per-link ceiling applies too. On false nothing is consumed and
 * *retry_after (seconds, >= 1) says when the next one will be admitted. */
bool guard_admit(survey_guard *g, const char *addr, const char *token, bool open_link, int64_t now,
		 int *retry_after);

/* A valid answer to the open link token about to be stored at now: true
 * when it is within the normal rate (counted), false when it comes in a
 * burst (hold it). */
bool guard_normal(survey_guard *g, const char *token, int64_t now);

#endif
