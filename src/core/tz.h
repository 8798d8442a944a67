/* tz.h — the organisation's time zone: local dates, days, weeks, months,
 * quarters and years, and the names users give to periods.
 *
 * Owner: src/core/tz.c. Every function is pure: no I/O, no allocation, no
 * global state, no clock (the caller passes "now" where it matters), so
 * any thread may call any of them at any time. A ks_tz is plain data the
 * caller owns and may copy freely.
 *
 * No system time-zone database is read: results never depend on the
 * host's TZ setting or on its tzdata. Instead a zone is a row of a small
 * static table: a fixed standard offset and whether the EU summer-time
 * rule applies. That rule (Directive 2000/84/EC, art. 2 and 3): summer
 * time, one hour ahead of standard time, runs from the last Sunday of
 * March 01:00 UTC up to the last Sunday of October 01:00 UTC, at the same
 * instant in every EU zone. The zones known:
 *   UTC+1 with EU summer time: Europe/Amsterdam, Brussels, Luxembourg,
 *     Berlin, Paris, Madrid, Rome, Vienna, Copenhagen, Stockholm, Oslo,
 *     Zurich, Warsaw, Prague;
 *   UTC+0 with EU summer time: Europe/London, Dublin, Lisbon;
 *   UTC+2 with EU summer time: Europe/Helsinki, Athens, Riga, Tallinn,
 *     Vilnius, Sofia, Bucharest;
 *   UTC (no summer time).
 * Limits, on purpose:
 *   - the rule is applied to every year. It took its current form in 1996
 *     (before that, summer time ended in September in most of these
 *     countries), so dates before 1996 are computed with today's rule, not
 *     with history; should the EU ever abolish the switch, the table
 *     changes here, in one place;
 *   - Europe/Dublin is modelled as GMT in winter and IST (+1) in summer,
 *     which is what its clocks show (tzdata's negative-DST notation gives
 *     the same wall clock);
 *   - every zone's offset is a whole number of hours and every switch falls
 *     on a whole UTC hour (callers such as the analytics index rely on
 *     this to tabulate local days by the UTC hour);
 *   - zones outside Europe are not known (tz_lookup refuses them).
 *
 * Conventions: times are unix seconds (UTC), int64_t. "local" seconds are
 * the local wall clock read as if it were UTC (seconds since 1970-01-01
 * 00:00 local). A "local day" is a day number: days since 1970-01-01 of
 * the local calendar date (negative before 1970). Labels of periods are
 * the ISO 8601 forms "2026", "2026-Q4", "2026-12", "2026-W53" and
 * "2026-12-31".
 */
#ifndef KS_TZ_H
#define KS_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* A time zone: name (IANA spelling, NUL-terminated), standard offset in
 * seconds east of UTC, and whether EU summer time (+3600 s) applies. */
typedef struct ks_tz {
	char name[40];
	int std_offset;
	bool eu_dst;
} ks_tz;

/* The zone named name (matched case-insensitively; out gets the canonical
 * spelling). KS_ERR_INVALID with field "time_zone" for NULL or an unknown
 * name; *out is then untouched. e may be NULL. */
ks_err tz_lookup(const char *name, ks_tz *out, ks_error *e);
/* Europe/Amsterdam, the zone of an organisation that never chose one. */
void tz_default(ks_tz *out);

/* Seconds east of UTC at the instant utc (standard or summer time). */
int tz_offset(const ks_tz *z, int64_t utc);
/* The first instant whose local wall clock reads local. In the autumn
 * overlap (an hour that happens twice) that is the summer-time one; in the
 * spring gap (an hour that does not happen) the time is read with the
 * standard offset, so 02:00 in Amsterdam becomes 03:00 summer time, the
 * moment the clock jumps to. */
int64_t tz_utc_of_local(const ks_tz *z, int64_t local);
/* The local day (days since 1970-01-01, floor, also for instants before
 * 1970) of the instant utc. */
int64_t tz_local_day(const ks_tz *z, int64_t utc);
/* The instant (UTC) of local_day's 00:00. A local day lasts
 * tz_day_start(d + 1) - tz_day_start(d) seconds: 86400, or 82800 / 90000 on
 * the days of the spring / autumn switch. */
int64_t tz_day_start(const ks_tz *z, int64_t local_day);
/* The local calendar date and wall-clock time of the instant utc. Every
 * pointer must be valid. */
void tz_civil(const ks_tz *z, int64_t utc, int *y, int *mo, int *d, int *h, int *mi, int *s);
/* "2026-12-01T00:30:00+01:00": the local wall clock and the offset of that
 * instant ("+00:00" in UTC). out holds n bytes, n >= 32 for any year
 * 0000..9999; a shorter buffer gets a truncated, NUL-terminated string. */
void tz_format_local(const ks_tz *z, int64_t utc, char *out, size_t n);
/* A time given by a user, into *out (UTC):
 *   "YYYY-MM-DD"             local midnight of that date;
 *   "YYYY-MM-DDTHH:MM:SS"    local wall clock (tz_utc_of_local rules);
 *   ... followed by "Z" or "+HH:MM" / "-HH:MM": that instant.
 * A space may stand for the "T"; fractional seconds (".123") are accepted
 * and dropped. Years 1900..9999, seconds 00..59. Anything else is
 * KS_ERR_INVALID naming field; *out is then untouched. e may be NULL. */
ks_err tz_parse_time(const ks_tz *z, const char *s, const char *field, int64_t *out, ks_error *e);

typedef enum {
	TZ_PERIOD_NONE = 0,
	TZ_PERIOD_DAY,
	TZ_PERIOD_WEEK,
	TZ_PERIOD_MONTH,
	TZ_PERIOD_QUARTER,
	TZ_PERIOD_YEAR,
	TZ_PERIOD_LAST_DAYS
} tz_period_kind;

/* A period name -> [*from, *to) in UTC seconds, on the local calendar:
 *   "YYYY"        a year;
 *   "YYYY-Qn"     a quarter, n = 1..4;
 *   "YYYY-MM"     a month;
 *   "YYYY-Www"    an ISO 8601 week (Monday to Sunday; week 1 holds the
 *                 year's first Thursday); W53 only in the ISO years that
 *                 have 53 weeks (2026 does: 2026-12-28..2027-01-03);
 *   "YYYY-MM-DD"  a day;
 *   "last_Nd"     the N local days ending with today (the local day of
 *                 now), 1 <= N <= 3660: *to is the start of tomorrow, *from
 *                 N local days earlier (so a week that holds a summer-time
 *                 switch is 167 or 169 hours long).
 * Years 1970..2100. Anything else is KS_ERR_INVALID naming field, with a
 * message listing the forms; the outputs are then untouched. kind may be
 * NULL; e may be NULL. */
ks_err tz_period_parse(const ks_tz *z, const char *v, int64_t now, const char *field, int64_t *from,
		       int64_t *to, tz_period_kind *kind, ks_error *e);
/* Is [from, to) exactly one whole local calendar period: a day, an ISO
 * week, a month, a quarter or a year? Returns its kind (the periods of
 * different kinds never coincide) or TZ_PERIOD_NONE, which is also the
 * answer for from >= to and for ranges that start or end anywhere but at a
 * local midnight. label (may be NULL; n >= 16 bytes) gets its name, e.g.
 * "2026-12-31", "2026-W53", "2026-12", "2026-Q4" or "2026", or "" for
 * TZ_PERIOD_NONE. Never returns TZ_PERIOD_LAST_DAYS. */
tz_period_kind tz_whole_period(const ks_tz *z, int64_t from, int64_t to, char *label, size_t n);
/* Is t the first instant of a local day (a local midnight)? */
bool tz_is_day_start(const ks_tz *z, int64_t t);

#endif
