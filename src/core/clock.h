/* clock.h — time, injectable for tests.
 *
 * All "now" readings in klantstem go through a ks_clock so that tests can
 * control time (a fixed or stepped value) instead of sleeping. A clock with
 * fixed == 0 reads the system's real time.
 */
#ifndef KS_CLOCK_H
#define KS_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ks_clock {
	_Atomic int64_t fixed;  /* unix seconds; 0 = use the real clock. Atomic:
	                         * a test may move it while threads read it. */
} ks_clock;

/* Unix seconds, UTC. c may be NULL (real clock). */
int64_t clock_now(const ks_clock *c);
/* Monotonic milliseconds, for durations only. */
int64_t clock_mono_ms(void);

/* Format unix seconds as "YYYY-MM-DDTHH:MM:SSZ" into out (>= 21 bytes). */
void clock_format_iso(int64_t t, char *out, size_t n);
/* Days since 1970-01-01 of a civil date. */
int64_t clock_days_from_civil(int64_t y, int m, int d);
/* Civil date (proleptic Gregorian) of a day number (days since 1970-01-01). */
void clock_civil(int64_t days, int *year, int *month, int *day);

/* Parse "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" or with a "+HH:MM"/"-HH:MM"
 * offset into unix seconds. Returns KS_ERR_INVALID on anything else. */
ks_err clock_parse_iso(const char *s, int64_t *out);

#endif
