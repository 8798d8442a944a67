/* scheduler.h — sends due survey invitations, reminders and webhooks.
 *
 * The schedule lives in the database (store_invite_claim and friends), so
 * the scheduler itself holds no state worth losing: after a restart it
 * recovers claimed-but-unrecorded sends and goes on. One pass runs at a
 * time (a mutex), whether started by the background thread or by a test.
 */
#ifndef KS_SCHEDULER_H
#define KS_SCHEDULER_H

#include <stdbool.h>

#include "core/clock.h"
#include "mail/mail.h"
#include "store/store.h"

typedef struct invite_config {
	bool mail_enabled;        /* false: invitations wait, nothing is sent */
	mail_config mail;
	char base_url[256];       /* public root of the survey links, no trailing '/' */
	char org_name[128];
	char webhook_url[512];    /* "" = no webhooks */
	char webhook_secret[128];
	/* issue 13 (one case): escalations one mail per case instead of one
	 * digest per person per pass (--case-mail per-case) */
	bool case_mail_per_case;
} invite_config;

typedef struct invite_pass_stats {
	int recovered;       /* claimed sends found unrecorded at start-up */
	int sent;            /* invitations delivered to the SMTP server */
	int reminders;       /* reminders delivered */
	int retried;         /* temporary failures, to be tried again */
	int failed;          /* permanent failures, or out of attempts */
	int webhooks_sent;
	int webhooks_failed; /* attempts that failed (retried later) */
	int cases_escalated; /* open cases found past their deadline */
	int case_mails_sent; /* case notifications and messages to customers */
	int case_mails_failed; /* permanent failures, or out of attempts */
} invite_pass_stats;

typedef struct invite_scheduler invite_scheduler;

/* Create the scheduler; with background set, a thread runs a pass every
 * second on clock's time. cfg is copied; store and clock are borrowed and
 * must outlive the scheduler. Runs the crash recovery once. */
ks_err invite_scheduler_start(ks_store *store, const invite_config *cfg, const ks_clock *clock,
			      bool background, invite_scheduler **out, ks_error *e);
/* Run one pass now (all due work, in batches), adding to *stats. */
ks_err invite_scheduler_run(invite_scheduler *sc, invite_pass_stats *stats, ks_error *e);
/* issue 17 (D): work of a higher layer run at the end of every pass, on the
 * pass's clock and under its lock (scheduled digests need the analytics
 * index, which this module does not know). fn NULL = none. arg is borrowed. */
typedef ks_err (*invite_pass_hook)(void *arg, int64_t now, ks_error *e);
void invite_scheduler_set_hook(invite_scheduler *sc, invite_pass_hook fn, void *arg);
/* Stop the thread (finishing the pass in progress) and free. NULL is a no-op. */
void invite_scheduler_stop(invite_scheduler *sc);
json_t *invite_pass_stats_json(const invite_pass_stats *st);
/* issue 18 (ops): *mono_ms = clock_mono_ms() of the scheduler's last sign
 * of life: a pass ending, or a heartbeat after each mail and webhook sent
 * within a long pass (or the scheduler's start); returns whether a background thread runs passes
 * (false in test mode: passes only on request, so no lag to speak of). */
bool invite_scheduler_last_pass(invite_scheduler *sc, int64_t *mono_ms);

#endif
