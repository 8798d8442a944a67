/* retention.h — how long personal data is kept, and the clean-up that
 * holds to it (issue 11; docs/PRIVACY.md, section 8).
 *
 * A policy is a number of months per kind of data (0 = for ever), stored
 * by the admin (GET/PUT /api/v1/retention, `klantstem privacy retention`);
 * a kind without a stored value has its default below. The scheduler calls
 * retention_pass every second; it runs the clean-up at most once an hour
 * (and at the next pass after the policy changed), in one transaction.
 */
#ifndef KS_RETENTION_H
#define KS_RETENTION_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "store/store.h"

/* Defaults, in months. Open answers: two years of text is enough to read
 * a trend's reasons back; the scores stay. Contacts and invitations: the
 * funnel of the last two years. Closed cases: as long as the answers
 * that raised them (the SLA and root-cause views of two years keep their
 * cases); the complaint's notes about a customer go with it. */
#define RETENTION_DEFAULT_OPEN_TEXT 24
#define RETENTION_DEFAULT_CONTACTS 24
#define RETENTION_DEFAULT_CLOSED_CASES 24
#define RETENTION_MONTHS_MAX 240
/* Seconds between two clean-ups. */
#define RETENTION_INTERVAL 3600

/* r = the defaults, nothing stored. */
void retention_defaults(store_retention *r);
/* The policy in force: the defaults overlaid with the stored values. */
ks_err retention_get(ks_store *s, store_retention *r, ks_error *e);

/* The start of the kept window: now minus months calendar months (UTC; the
 * day of month is clamped, 31 March - 1 month = 28/29 February). 0 for
 * months 0 (keep for ever). */
int64_t retention_cutoff(int64_t now, int months);

/* Apply the policy in force at now (one transaction; see
 * store_retention_apply). n may be NULL. */
ks_err retention_run(ks_store *s, int64_t now, store_retention_counts *n, ks_error *e);
/* The scheduler's call: retention_run when the last run is
 * RETENTION_INTERVAL old or more, or the policy changed since. The first
 * pass on a database only records its time (the first clean-up follows an
 * interval later). Failures are reported on stderr and returned; the next
 * pass tries again. */
ks_err retention_pass(ks_store *s, int64_t now, ks_error *e);

/* {"open_text": {"months": 24, "default": 24}, ..., "updated_at",
 * "updated_by"}. New reference. */
json_t *retention_json(const store_retention *r);
/* Read a PUT body {"open_text": 24, "contacts": 36, ...} (any subset;
 * integers 0..RETENTION_MONTHS_MAX) over r: the kinds given get stored[]
 * set. 422 naming the member otherwise (unknown member, wrong type, out
 * of range). */
ks_err retention_from_json(const json_t *o, store_retention *r, ks_error *e);

#endif
