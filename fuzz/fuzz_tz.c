/* fuzz_tz.c — the time-zone parsers (src/core/tz.c): tz_lookup,
 * tz_parse_time (the from= / to= of lists), tz_period_parse (period= of
 * every figure) and, on what they accept, the calendar functions.
 *
 * Input: byte 0 picks the zone (Amsterdam, London, Helsinki, UTC), bytes
 * 1-4 "now" (around 1970..2100), the rest is the text, also tried as a
 * zone name.
 * Oracles: a time that parses prints (tz_format_local) as a text that
 * parses back to the same instant; a period is non-empty, its label parses
 * back to the same range, and a calendar period is tz_whole_period of
 * itself; local days and their starts agree.
 */
#include <strings.h>

#include "core/tz.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const zones[] = {"Europe/Amsterdam", "Europe/London", "Europe/Helsinki", "UTC"};
	ks_tz z;
	if (tz_lookup(zones[fz_byte(&data, &size) % 4], &z, NULL) != KS_OK)
		fz_fail("a known zone is refused");
	uint32_t r = 0;
	for (int i = 0; i < 4; i++)
		r = r << 8 | fz_byte(&data, &size);
	int64_t now = (int64_t)(r % (131u * 365 * 86400u)); /* 1970 .. 2100 */
	char *s = fz_cstr(data, size);
	ks_error e;

	ks_tz other;
	memset(&other, 0x5a, sizeof other);
	if (tz_lookup(s, &other, &e) == KS_OK) {
		if (strnlen(other.name, sizeof other.name) == sizeof other.name || strcasecmp(other.name, s) != 0)
			fz_fail("tz_lookup(%s) gave %.40s", s, other.name);
	} else if (strcmp(e.field, "time_zone") != 0) {
		fz_fail("tz_lookup error names field %s", e.field);
	}

	int64_t t = 0x7eadbeef;
	int y, mo, d, h, mi, sec;
	if (tz_parse_time(&z, s, "from", &t, &e) == KS_OK && (tz_civil(&z, t, &y, &mo, &d, &h, &mi, &sec), 1) &&
	    y >= 1900 && y <= 9999) {
		/* (An offset may carry 9999-12-31 into local year 10000, which
		 * prints with five digits and is outside what the parser takes.) */
		char txt[64];
		tz_format_local(&z, t, txt, sizeof txt);
		int64_t back = 0;
		if (tz_parse_time(&z, txt, "from", &back, &e) != KS_OK || back != t)
			fz_fail("%s -> %lld -> %s -> %lld (%s)", s, (long long)t, txt, (long long)back, e.message);
		int64_t day = tz_local_day(&z, t);
		int64_t d0 = tz_day_start(&z, day), d1 = tz_day_start(&z, day + 1);
		if (!(d0 <= t && t < d1) || d1 - d0 < 82800 || d1 - d0 > 90000 || !tz_is_day_start(&z, d0))
			fz_fail("%s: day %lld runs %lld..%lld", s, (long long)day, (long long)d0, (long long)d1);
	} else if (t != 0x7eadbeef && (y < 1900 || y > 9999)) {
		/* parsed, but its local year is outside 1900..9999: nothing to check */
	} else if (t != 0x7eadbeef) {
		fz_fail("tz_parse_time(%s) failed but wrote *out", s);
	} else if (strcmp(e.field, "from") != 0) {
		fz_fail("tz_parse_time error names field %s", e.field);
	}

	int64_t from = 1, to = 1;
	tz_period_kind kind = TZ_PERIOD_NONE;
	if (tz_period_parse(&z, s, now, "period", &from, &to, &kind, &e) == KS_OK) {
		if (from >= to || kind == TZ_PERIOD_NONE)
			fz_fail("period %s: [%lld, %lld) kind %d", s, (long long)from, (long long)to, (int)kind);
		if (!tz_is_day_start(&z, from) || !tz_is_day_start(&z, to))
			fz_fail("period %s does not run from midnight to midnight", s);
		if (kind != TZ_PERIOD_LAST_DAYS) {
			char label[32];
			tz_period_kind k2 = tz_whole_period(&z, from, to, label, sizeof label);
			int64_t f2 = 0, t2 = 0;
			if (k2 != kind)
				fz_fail("period %s is kind %d, tz_whole_period says %d", s, (int)kind, (int)k2);
			if (tz_period_parse(&z, label, now, "period", &f2, &t2, NULL, &e) != KS_OK || f2 != from ||
			    t2 != to)
				fz_fail("period %s -> label %s -> [%lld, %lld) not [%lld, %lld)", s, label,
					(long long)f2, (long long)t2, (long long)from, (long long)to);
		}
	} else if (from != 1 || to != 1) {
		fz_fail("tz_period_parse(%s) failed but wrote the range", s);
	} else if (strcmp(e.field, "period") != 0) {
		fz_fail("tz_period_parse error names field %s", e.field);
	}
	free(s);
	return 0;
}
