/* demo.h — a reproducible demo data set for klantstem.
 *
 * demo_generate() fills an (empty) store with a plausible Dutch service
 * organisation, "Klantstem Demo BV" (energy/telecom-like): an org tree with
 * teams and employees, three customer journeys with touchpoints, surveys,
 * customers, and 24 months of contact events with survey responses whose
 * scores carry real structure (teams and touchpoints that differ, a team
 * that improves, a touchpoint that dips and recovers, drivers that fit
 * the scores, and open answers that fit them as loosely as real ones do:
 * demo_text.h), so dashboards and analyses have something to find.
 *
 * The feedback loop has a history too: every contact carries the decision
 * on its survey invitation (created, or skipped for no e-mail, fatigue or
 * sampling) under a survey rule per touchpoint, and the invited customers
 * open, start and complete the survey at rates that differ by segment and
 * age, so the funnel and the representativeness view show a "silent mass".
 * A response exists only for a contact whose invitation was created and
 * sent, and it is received after sending.
 *
 * Deterministic: the same seed, now and scale give the same rows (ids,
 * scores, texts, decisions, funnel times), except the values the store
 * makes itself (created_at, updated_at, survey link tokens). The data are
 * written in one bulk transaction, so a failure there leaves the store as
 * it was; the survey rules (configuration, no bulk API) are put after the
 * commit, one transaction each.
 */
#ifndef KS_DEMO_H
#define KS_DEMO_H

#include <stdint.h>

#include "core/error.h"
#include "invite/rules.h"
#include "store/store.h"

#define DEMO_DEFAULT_SEED 20261125u
#define DEMO_DEFAULT_NOW 1793491200   /* 2026-11-01T00:00:00Z */
#define DEMO_MAX_SCALE 1000           /* percent */

/* Sizes at scale 100. The organisation, journeys and surveys have a fixed
 * size at every scale (12 org units, 60 employees, 3 journeys, 12
 * touchpoints, 3 surveys); customers and contacts scale:
 *   n = full * scale_percent / 100, at least 1.
 * Every contact has an invitation row; about 65% are invited (decision
 * "created"; the others have no e-mail address (8% of the customers), had
 * an invitation less than DEMO_FATIGUE_DAYS before (fatigue) or fall
 * outside the busiest touchpoint's sample) and about 70% of those answer
 * (random, seeded outcomes): responses ~ 0.46 * contacts, some 111 000 at
 * scale 100. DEMO_MIN_FULL_RESPONSES is the promise behind it: at scale 100
 * the demo holds at least that many responses (tests/unit/test_demo.c
 * checks it through the response/contact ratio at a small scale, which
 * hardly depends on the scale: customers and contacts scale together). */
#define DEMO_FULL_CUSTOMERS 20000
#define DEMO_FULL_CONTACTS 240000
#define DEMO_MIN_FULL_RESPONSES 100000
/* The survey rules the demo puts (demo.c, demo_rules_init, says why): the
 * product defaults, but fatigue 14 days and every eligible contact invited
 * except at the busiest touchpoint, which samples this percentage. */
#define DEMO_FATIGUE_DAYS 14
#define DEMO_BUSIEST_SAMPLE_PCT 75
/* Size of demo_stats.skipped: every invite_reason (rules.h keeps them stable). */
#define DEMO_N_REASONS (INVITE_SAMPLED_OUT + 1)

typedef struct demo_options {
	uint64_t seed;      /* 0 = DEMO_DEFAULT_SEED */
	int64_t now;        /* end of the 24-month window, unix seconds; 0 = DEMO_DEFAULT_NOW */
	int scale_percent;  /* 0 = 100; 1..DEMO_MAX_SCALE */
} demo_options;

typedef struct demo_stats {
	int org_units;      /* organisation + departments + teams */
	int employees;
	int customers;
	int journeys;
	int touchpoints;
	int surveys;
	int contacts;
	int responses;
	/* invitations: one per contact */
	int invited;        /* decision "created" */
	int sent;           /* delivered: created and sent before now */
	int bounced;        /* created, permanently refused by the mail server */
	int pending;        /* created, due after now: not sent yet */
	int opened;         /* survey page viewed before now */
	int started;        /* a score clicked or the form posted */
	int skipped[DEMO_N_REASONS];  /* by invite_reason; [INVITE_CREATE] is 0 */
	int rules;          /* survey rules put (one per touchpoint) */
	int64_t elapsed_ms; /* wall time of the whole generation */
} demo_stats;

/* Generate the demo data into s in one bulk transaction, then put one
 * survey rule per touchpoint. opt may be NULL (all defaults). On success
 * fills *out (may be NULL). On failure *out is zeroed and e says why:
 * KS_ERR_RANGE for bad options (field names the option), KS_ERR_CONFLICT
 * when the store already holds demo rows (unique external ids), KS_ERR_DB /
 * KS_ERR_NOMEM otherwise. A failure in the bulk part writes nothing; one
 * while putting the rules leaves the data and the rules put so far. */
ks_err demo_generate(ks_store *s, const demo_options *opt, demo_stats *out, ks_error *e);

/* The closed loop's recent past, after the demo logins exist (the team
 * leads own the cases): the alert rules run over the last 21 days of
 * responses (store_case_replay, no mails), then most cases are moved along
 * new -> contacted -> resolved -> closed at plausible past times with a
 * root cause and an outcome; the rest stay open, some overdue. *n gets the
 * number of cases. */
ks_err demo_cases(ks_store *s, int64_t now, int *n, ks_error *e);

#endif
