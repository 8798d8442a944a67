/* rel_schedule.h — a relationship survey wave per quarter (issue 16 H6).
 *
 * Owner: src/invite/rel_schedule.c. A thread of its own checks once a
 * second, on the server's clock (so a test moves it with the test clock),
 * whether the schedule (store_rel_schedule, one row) is on and the current
 * quarter of the organisation's calendar has no scheduled wave yet, on or
 * after day_of_month of the quarter's first month. Then it makes the
 * quarter's wave ("Relatieonderzoek 2027-Q1", claimed in one transaction
 * with the quarter, so a quarter gets one wave whatever the restarts),
 * draws it with a random seed (libsodium) and sends it, each step in its own
 * transaction as the API does. A failed draw or send leaves the wave as it
 * is (a draft or drawn wave an admin can finish or delete) and records the
 * error on the schedule; the quarter is not tried again.
 */
#ifndef KS_INVITE_REL_SCHEDULE_H
#define KS_INVITE_REL_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/clock.h"
#include "core/tz.h"
#include "store/store.h"

typedef struct rel_scheduler rel_scheduler;

/* The quarter label of utc in the calendar z ("2027-Q1"; out >= 8 bytes)
 * and whether the schedule's day has come: a later month of the quarter,
 * or its first month on or after day_of_month. */
void rel_schedule_quarter(const ks_tz *z, int64_t utc, int day_of_month, char *out, size_t n, bool *due);

/* One pass now: claim, draw, send. *wave_id the wave made (0 = none). */
ks_err rel_schedule_pass(ks_store *s, const ks_clock *clock, const ks_tz *z, int64_t *wave_id, ks_error *e);

/* Start the thread. store, clock and tz are borrowed and must outlive the
 * scheduler; tz is copied. */
ks_err rel_scheduler_start(ks_store *s, const ks_clock *clock, const ks_tz *z, rel_scheduler **out, ks_error *e);
/* Stop the thread (finishing a pass in progress) and free. NULL is a no-op. */
void rel_scheduler_stop(rel_scheduler *r);

#endif
