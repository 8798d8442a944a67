/* clock.c — see clock.h. */
#include "core/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t clock_now(const ks_clock *c)
{
	if (c && c->fixed)
		return c->fixed;
	return (int64_t)time(NULL);
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_format_iso(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil). */
int64_t clock_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil (same source: civil_from_days). */
void clock_civil(int64_t z, int *year, int *month, int *day)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int d = (int)(doy - (153 * mp + 2) / 5 + 1);
	int m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = (int)(yoe + era * 400 + (m <= 2));
	*month = m;
	*day = d;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 ? 28 + leap : dm[m - 1];
}

ks_err clock_parse_iso(const char *s, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, se = 0, consumed = 0;
	if (s == NULL || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10)
		return KS_ERR_INVALID;
	if (y < 1900 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return KS_ERR_INVALID;
	const char *p = s + 10;
	int64_t offset = 0;
	if (*p == 'T' || *p == ' ') {
		int c2 = 0;
		if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &se, &c2) != 3 || c2 != 8)
			return KS_ERR_INVALID;
		if (h > 23 || mi > 59 || se > 60 || h < 0 || mi < 0 || se < 0)
			return KS_ERR_INVALID;
		p += 9;
		if (*p == '.') { /* fractional seconds are accepted and dropped */
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int oh, om, c3 = 0;
			if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &c3) != 2 || c3 != 5 || oh > 23 || om > 59)
				return KS_ERR_INVALID;
			offset = (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
			p += 6;
		} else {
			return KS_ERR_INVALID;
		}
	}
	if (*p != '\0')
		return KS_ERR_INVALID;
	*out = clock_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
	return KS_OK;
}
