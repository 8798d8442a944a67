/* demo.h — a reproducible demo data set for klantstem.
 *
 * demo_generate() fills an (empty) store with a plausible Dutch service
 * organisation, "Klantstem Demo BV" (energy/telecom-like): an org tree with
 * teams and employees, three customer journeys with touchpoints, surveys,
 * customers, and 24 months of contact events with survey responses whose
 * scores carry real structure (teams and touchpoints that differ, a team
 * that improves, a touchpoint that dips and recovers, drivers and open
 * answers that fit the scores), so dashboards and analyses have something
 * to find.
 *
 * Deterministic: the same seed, now and scale give the same rows (ids,
 * scores, texts), except the values the store makes itself (created_at,
 * survey link tokens). Everything is written in one bulk transaction, so a
 * failure leaves the store as it was.
 */
#ifndef KS_DEMO_H
#define KS_DEMO_H

#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

#define DEMO_DEFAULT_SEED 20261125u
#define DEMO_DEFAULT_NOW 1793491200   /* 2026-11-01T00:00:00Z */
#define DEMO_MAX_SCALE 1000           /* percent */

/* Sizes at scale 100. The organisation, journeys and surveys have a fixed
 * size at every scale (12 org units, 60 employees, 3 journeys, 12
 * touchpoints, 3 surveys); customers and contacts scale:
 *   n = full * scale_percent / 100, at least 1.
 * Responses are about 60% of contacts (a random, seeded outcome). */
#define DEMO_FULL_CUSTOMERS 20000
#define DEMO_FULL_CONTACTS 183000

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
	int64_t elapsed_ms; /* wall time of the whole generation */
} demo_stats;

/* Generate the demo data into s in one bulk transaction. opt may be NULL
 * (all defaults). On success fills *out (may be NULL). On failure nothing
 * is written, *out is zeroed and e says why: KS_ERR_RANGE for bad options
 * (field names the option), KS_ERR_CONFLICT when the store already holds
 * demo rows (unique external ids), KS_ERR_DB / KS_ERR_NOMEM otherwise. */
ks_err demo_generate(ks_store *s, const demo_options *opt, demo_stats *out, ks_error *e);

#endif
