/* tz.c — the organisation's time zone. See tz.h for the contract. */
#include "core/tz.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"

#define DAY_S 86400
#define HOUR_S 3600

/* The zones: a fixed standard offset and whether the EU rule applies. */
static const struct tz_row {
	const char *name;
	int std_offset;
	bool eu_dst;
} tz_table[] = {
	{"Europe/Amsterdam", HOUR_S, true},   {"Europe/Brussels", HOUR_S, true},
	{"Europe/Luxembourg", HOUR_S, true},  {"Europe/Berlin", HOUR_S, true},
	{"Europe/Paris", HOUR_S, true},       {"Europe/Madrid", HOUR_S, true},
	{"Europe/Rome", HOUR_S, true},        {"Europe/Vienna", HOUR_S, true},
	{"Europe/Copenhagen", HOUR_S, true},  {"Europe/Stockholm", HOUR_S, true},
	{"Europe/Oslo", HOUR_S, true},        {"Europe/Zurich", HOUR_S, true},
	{"Europe/Warsaw", HOUR_S, true},      {"Europe/Prague", HOUR_S, true},
	{"Europe/London", 0, true},           {"Europe/Dublin", 0, true},
	{"Europe/Lisbon", 0, true},           {"Europe/Helsinki", 2 * HOUR_S, true},
	{"Europe/Athens", 2 * HOUR_S, true},  {"Europe/Riga", 2 * HOUR_S, true},
	{"Europe/Tallinn", 2 * HOUR_S, true}, {"Europe/Vilnius", 2 * HOUR_S, true},
	{"Europe/Sofia", 2 * HOUR_S, true},   {"Europe/Bucharest", 2 * HOUR_S, true},
	{"UTC", 0, false},
};

static void tz_from_row(const struct tz_row *r, ks_tz *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", r->name);
	out->std_offset = r->std_offset;
	out->eu_dst = r->eu_dst;
}

ks_err tz_lookup(const char *name, ks_tz *out, ks_error *e)
{
	for (size_t i = 0; name && i < sizeof tz_table / sizeof tz_table[0]; i++)
		if (strcasecmp(tz_table[i].name, name) == 0) {
			tz_from_row(&tz_table[i], out);
			return KS_OK;
		}
	return ks_fail(e, KS_ERR_INVALID, "time_zone", "unknown time zone '%.48s'", name ? name : "");
}

void tz_default(ks_tz *out)
{
	tz_from_row(&tz_table[0], out);
}

/* ---- arithmetic ------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

/* Monday = 0 .. Sunday = 6 of a day number; 1970-01-01 was a Thursday. */
static int weekday_mon0(int64_t day)
{
	return (int)floor_mod(day + 3, 7);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 ? 28 + is_leap(y) : dm[m - 1];
}

/* The Monday of ISO week 1 of ISO year y: the week that holds 4 January. */
static int64_t iso_week1_monday(int64_t y)
{
	int64_t jan4 = clock_days_from_civil(y, 1, 4);
	return jan4 - weekday_mon0(jan4);
}

/* ISO year and week of a day: the year of the week's Thursday. */
static void iso_week_of(int64_t day, int *iso_year, int *week)
{
	int64_t thursday = day - weekday_mon0(day) + 3;
	int m, d;
	clock_civil(thursday, iso_year, &m, &d);
	*week = (int)((thursday - clock_days_from_civil(*iso_year, 1, 1)) / 7) + 1;
}

/* ---- the EU rule ---------------------------------------------------------------- */

/* Unix second of 01:00 UTC on the last Sunday of month m (a 31-day month). */
static int64_t last_sunday_0100_utc(int64_t year, int m)
{
	int64_t d31 = clock_days_from_civil(year, m, 31);
	return (d31 - floor_mod(d31 + 4, 7)) * DAY_S + HOUR_S;  /* 0 = Sunday */
}

/* Directive 2000/84/EC of the European Parliament and of the Council of
 * 19 January 2001 on summer-time arrangements, art. 2: summer time begins
 * at 1.00 a.m. GMT on the last Sunday in March; art. 3: it ends at 1.00
 * a.m. GMT on the last Sunday in October. Both instants are far from a
 * year boundary in every zone, so the UTC year picks the right pair. */
int tz_offset(const ks_tz *z, int64_t utc)
{
	if (!z->eu_dst)
		return z->std_offset;
	int y, m, d;
	clock_civil(floor_div(utc, DAY_S), &y, &m, &d);
	if (m < 3 || m > 10)
		return z->std_offset;
	bool summer = utc >= last_sunday_0100_utc(y, 3) && utc < last_sunday_0100_utc(y, 10);
	return z->std_offset + (summer ? HOUR_S : 0);
}

/* Summer-time reading first (the first of two instants in the overlap);
 * when that does not read back as summer time, the standard one, which in
 * the gap is the instant the clock jumps to. */
int64_t tz_utc_of_local(const ks_tz *z, int64_t local)
{
	if (z->eu_dst) {
		int64_t summer = local - z->std_offset - HOUR_S;
		if (tz_offset(z, summer) == z->std_offset + HOUR_S)
			return summer;
	}
	return local - z->std_offset;
}

int64_t tz_local_day(const ks_tz *z, int64_t utc)
{
	return floor_div(utc + tz_offset(z, utc), DAY_S);
}

int64_t tz_day_start(const ks_tz *z, int64_t local_day)
{
	return tz_utc_of_local(z, local_day * DAY_S);
}

bool tz_is_day_start(const ks_tz *z, int64_t t)
{
	return tz_day_start(z, tz_local_day(z, t)) == t;
}

void tz_civil(const ks_tz *z, int64_t utc, int *y, int *mo, int *d, int *h, int *mi, int *s)
{
	int64_t local = utc + tz_offset(z, utc);
	clock_civil(floor_div(local, DAY_S), y, mo, d);
	int sec = (int)floor_mod(local, DAY_S);
	*h = sec / HOUR_S;
	*mi = sec / 60 % 60;
	*s = sec % 60;
}

void tz_format_local(const ks_tz *z, int64_t utc, char *out, size_t n)
{
	if (out == NULL || n == 0)
		return;
	int y, mo, d, h, mi, s;
	tz_civil(z, utc, &y, &mo, &d, &h, &mi, &s);
	int off = tz_offset(z, utc);
	int a = off < 0 ? -off : off;
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo, d, h, mi, s, off < 0 ? '-' : '+',
		 a / HOUR_S, a / 60 % 60);
}

/* ---- parsing ---------------------------------------------------------------------- */

/* Exactly n ASCII digits at s (no sign, no space) -> *v. */
static bool digits(const char *s, int n, int *v)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

/* "YYYY-MM-DD" at s (a valid date, year lo..hi) -> day number. */
static bool parse_date(const char *s, int lo, int hi, int64_t *day)
{
	int y, m, d;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' || !digits(s + 8, 2, &d))
		return false;
	if (y < lo || y > hi || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return false;
	*day = clock_days_from_civil(y, m, d);
	return true;
}

ks_err tz_parse_time(const ks_tz *z, const char *s, const char *field, int64_t *out, ks_error *e)
{
	int64_t day;
	int h, mi, se;
	if (s == NULL || !parse_date(s, 1900, 9999, &day))
		goto bad;
	const char *p = s + 10;
	if (*p == '\0') {
		*out = tz_day_start(z, day);
		return KS_OK;
	}
	if (*p != 'T' && *p != ' ')
		goto bad;
	if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi) || p[6] != ':' || !digits(p + 7, 2, &se))
		goto bad;
	if (h > 23 || mi > 59 || se > 59)
		goto bad;
	p += 9;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			goto bad;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	int64_t wall = day * DAY_S + (int64_t)h * HOUR_S + mi * 60 + se;
	if (*p == '\0') {
		*out = tz_utc_of_local(z, wall);
		return KS_OK;
	}
	int64_t offset = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			goto bad;
		offset = ((int64_t)oh * HOUR_S + om * 60) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		goto bad;
	}
	if (*p != '\0')
		goto bad;
	*out = wall - offset;
	return KS_OK;
bad:
	return ks_fail(e, KS_ERR_INVALID, field,
		       "%s must be YYYY-MM-DD (local midnight), YYYY-MM-DDTHH:MM:SS (local time) or that "
		       "with Z or +HH:MM",
		       field ? field : "time");
}

/* ---- periods ------------------------------------------------------------------------ */

#define TZ_YEAR_MIN 1970
#define TZ_YEAR_MAX 2100
#define TZ_LAST_DAYS_MAX 3660

/* A period name -> [d0, d1) in local day numbers. */
static bool period_days(const char *v, int64_t today, int64_t *d0, int64_t *d1, tz_period_kind *kind)
{
	size_t len = strlen(v);
	int y, x;
	if (strncmp(v, "last_", 5) == 0) {
		size_t nd = len - 5;
		if (nd < 2 || nd > 5 || v[len - 1] != 'd' || !digits(v + 5, (int)nd - 1, &x))
			return false;
		if (x < 1 || x > TZ_LAST_DAYS_MAX)
			return false;
		*d1 = today + 1;
		*d0 = *d1 - x;
		*kind = TZ_PERIOD_LAST_DAYS;
		return true;
	}
	if (len < 4 || !digits(v, 4, &y) || y < TZ_YEAR_MIN || y > TZ_YEAR_MAX)
		return false;
	if (len == 4) {
		*d0 = clock_days_from_civil(y, 1, 1);
		*d1 = clock_days_from_civil(y + 1, 1, 1);
		*kind = TZ_PERIOD_YEAR;
		return true;
	}
	if (v[4] != '-')
		return false;
	if (len == 7 && v[5] == 'Q') {
		if (v[6] < '1' || v[6] > '4')
			return false;
		int m = (v[6] - '1') * 3 + 1;
		*d0 = clock_days_from_civil(y, m, 1);
		*d1 = m == 10 ? clock_days_from_civil(y + 1, 1, 1) : clock_days_from_civil(y, m + 3, 1);
		*kind = TZ_PERIOD_QUARTER;
		return true;
	}
	if (len == 7) {
		if (!digits(v + 5, 2, &x) || x < 1 || x > 12)
			return false;
		*d0 = clock_days_from_civil(y, x, 1);
		*d1 = *d0 + days_in_month(y, x);
		*kind = TZ_PERIOD_MONTH;
		return true;
	}
	if (len == 8 && v[5] == 'W') {
		if (!digits(v + 6, 2, &x) || x < 1)
			return false;
		int64_t monday = iso_week1_monday(y);
		if (x > (iso_week1_monday(y + 1) - monday) / 7)
			return false;
		*d0 = monday + (int64_t)(x - 1) * 7;
		*d1 = *d0 + 7;
		*kind = TZ_PERIOD_WEEK;
		return true;
	}
	if (len == 10 && parse_date(v, TZ_YEAR_MIN, TZ_YEAR_MAX, d0)) {
		*d1 = *d0 + 1;
		*kind = TZ_PERIOD_DAY;
		return true;
	}
	return false;
}

ks_err tz_period_parse(const ks_tz *z, const char *v, int64_t now, const char *field, int64_t *from,
		       int64_t *to, tz_period_kind *kind, ks_error *e)
{
	int64_t d0, d1;
	tz_period_kind k;
	if (v == NULL || !period_days(v, tz_local_day(z, now), &d0, &d1, &k))
		return ks_fail(e, KS_ERR_INVALID, field,
			       "%s must be YYYY, YYYY-Qn, YYYY-MM, YYYY-Www (ISO week), YYYY-MM-DD or last_Nd "
			       "(N = 1..%d); years %d..%d",
			       field ? field : "period", TZ_LAST_DAYS_MAX, TZ_YEAR_MIN, TZ_YEAR_MAX);
	*from = tz_day_start(z, d0);
	*to = tz_day_start(z, d1);
	if (kind)
		*kind = k;
	return KS_OK;
}

tz_period_kind tz_whole_period(const ks_tz *z, int64_t from, int64_t to, char *label, size_t n)
{
	if (label && n)
		label[0] = '\0';
	if (from >= to)
		return TZ_PERIOD_NONE;
	int64_t d0 = tz_local_day(z, from), d1 = tz_local_day(z, to);
	if (tz_day_start(z, d0) != from || tz_day_start(z, d1) != to)
		return TZ_PERIOD_NONE;
	int y, m, d;
	clock_civil(d0, &y, &m, &d);
	int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;          /* next month */
	int qy = m >= 10 ? y + 1 : y, qm = m >= 10 ? m - 9 : m + 3;       /* three months on */
	tz_period_kind k = TZ_PERIOD_NONE;
	char buf[32] = "";
	if (m == 1 && d == 1 && d1 == clock_days_from_civil(y + 1, 1, 1)) {
		k = TZ_PERIOD_YEAR;
		snprintf(buf, sizeof buf, "%04d", y);
	} else if (d == 1 && (m - 1) % 3 == 0 && d1 == clock_days_from_civil(qy, qm, 1)) {
		k = TZ_PERIOD_QUARTER;
		snprintf(buf, sizeof buf, "%04d-Q%d", y, (m - 1) / 3 + 1);
	} else if (d == 1 && d1 == clock_days_from_civil(ny, nm, 1)) {
		k = TZ_PERIOD_MONTH;
		snprintf(buf, sizeof buf, "%04d-%02d", y, m);
	} else if (weekday_mon0(d0) == 0 && d1 == d0 + 7) {
		int iy, w;
		iso_week_of(d0, &iy, &w);
		k = TZ_PERIOD_WEEK;
		snprintf(buf, sizeof buf, "%04d-W%02d", iy, w);
	} else if (d1 == d0 + 1) {
		k = TZ_PERIOD_DAY;
		snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
	}
	if (label && n)
		snprintf(label, n, "%s", buf);
	return k;
}
