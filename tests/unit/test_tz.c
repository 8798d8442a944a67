/* test_tz.c — the organisation's time zone (src/core/tz.c).
 *
 * Every time below is a literal worked out by hand from the calendar
 * (2026-01-01 00:00 UTC = 1767225600 = day 20454; a day is 86400 s) and
 * checked independently with Python's zoneinfo from the tz database; none
 * is recomputed with the code under test. The summer-time switches of 2026
 * are on Sunday 29 March (day 20541) and Sunday 25 October (day 20751), at
 * 01:00 UTC: 1774746000 and 1792890000.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/tz.h"

#define DAY 86400
#define HOUR 3600

#define DST_ON_2026 1774746000   /* 2026-03-29T01:00:00Z */
#define DST_OFF_2026 1792890000  /* 2026-10-25T01:00:00Z */

static ks_tz zone(const char *name)
{
	ks_tz z;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(tz_lookup(name, &z, &e), KS_OK);
	return z;
}

static ks_tz ams(void)
{
	ks_tz z;
	tz_default(&z);
	return z;
}

/* ---- the table ------------------------------------------------------------- */

static void test_lookup_known_zones(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int std;
		bool dst;
	} want[] = {
		{"Europe/Amsterdam", 3600, true},  {"Europe/Brussels", 3600, true},  {"Europe/Luxembourg", 3600, true},
		{"Europe/Berlin", 3600, true},     {"Europe/Paris", 3600, true},     {"Europe/Madrid", 3600, true},
		{"Europe/Rome", 3600, true},       {"Europe/Vienna", 3600, true},    {"Europe/Copenhagen", 3600, true},
		{"Europe/Stockholm", 3600, true},  {"Europe/Oslo", 3600, true},      {"Europe/Zurich", 3600, true},
		{"Europe/Warsaw", 3600, true},     {"Europe/Prague", 3600, true},    {"Europe/London", 0, true},
		{"Europe/Dublin", 0, true},        {"Europe/Lisbon", 0, true},       {"Europe/Helsinki", 7200, true},
		{"Europe/Athens", 7200, true},     {"Europe/Riga", 7200, true},      {"Europe/Tallinn", 7200, true},
		{"Europe/Vilnius", 7200, true},    {"Europe/Sofia", 7200, true},     {"Europe/Bucharest", 7200, true},
		{"UTC", 0, false},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		ks_tz z = zone(want[i].name);
		assert_string_equal(z.name, want[i].name);
		assert_int_equal(z.std_offset, want[i].std);
		assert_int_equal(z.eu_dst, want[i].dst);
		/* The analytics index tabulates local days by the UTC hour. */
		assert_int_equal(z.std_offset % 3600, 0);
	}
	/* Case does not matter; the canonical spelling comes back. */
	ks_tz z = zone("europe/AMSTERDAM");
	assert_string_equal(z.name, "Europe/Amsterdam");
	z = zone("utc");
	assert_string_equal(z.name, "UTC");

	ks_tz d;
	tz_default(&d);
	assert_string_equal(d.name, "Europe/Amsterdam");
	assert_int_equal(d.std_offset, 3600);
	assert_true(d.eu_dst);
}

static void test_lookup_unknown_zone(void **state)
{
	(void)state;
	static const char *const bad[] = {"Europe/Atlantis", "America/New_York", "Europe/Amsterdam ", "",
					  "CET", "Europe/", "Europe/Amsterdam/Noord"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ks_tz z = {.name = "untouched", .std_offset = 123, .eu_dst = false};
		ks_error e;
		ks_error_clear(&e);
		assert_int_equal(tz_lookup(bad[i], &z, &e), KS_ERR_INVALID);
		assert_string_equal(e.field, "time_zone");
		assert_non_null(strstr(e.message, "unknown time zone"));
		assert_string_equal(z.name, "untouched");
		assert_int_equal(z.std_offset, 123);
	}
	ks_tz z;
	assert_int_equal(tz_lookup(NULL, &z, NULL), KS_ERR_INVALID);
	assert_int_equal(tz_lookup("Mars/Olympus_Mons", &z, NULL), KS_ERR_INVALID);  /* e may be NULL */
}

/* ---- offsets and local wall clock --------------------------------------------- */

static void test_offsets_around_switches(void **state)
{
	(void)state;
	ks_tz a = ams(), lon = zone("Europe/London"), hel = zone("Europe/Helsinki"), utc = zone("UTC");
	/* CET -> CEST at 2026-03-29 01:00Z (02:00 CET becomes 03:00 CEST). */
	assert_int_equal(tz_offset(&a, DST_ON_2026 - 1), 3600);
	assert_int_equal(tz_offset(&a, DST_ON_2026), 7200);
	/* CEST -> CET at 2026-10-25 01:00Z (03:00 CEST becomes 02:00 CET). */
	assert_int_equal(tz_offset(&a, DST_OFF_2026 - 1), 7200);
	assert_int_equal(tz_offset(&a, DST_OFF_2026), 3600);
	/* The same instants everywhere in the EU. */
	assert_int_equal(tz_offset(&lon, DST_ON_2026 - 1), 0);
	assert_int_equal(tz_offset(&lon, DST_ON_2026), 3600);
	assert_int_equal(tz_offset(&lon, DST_OFF_2026 - 1), 3600);
	assert_int_equal(tz_offset(&lon, DST_OFF_2026), 0);
	assert_int_equal(tz_offset(&hel, DST_ON_2026 - 1), 7200);
	assert_int_equal(tz_offset(&hel, DST_ON_2026), 10800);
	assert_int_equal(tz_offset(&hel, DST_OFF_2026 - 1), 10800);
	assert_int_equal(tz_offset(&hel, DST_OFF_2026), 7200);
	/* Mid-winter, mid-summer, and UTC which never switches. */
	assert_int_equal(tz_offset(&a, 1767225600), 3600);  /* 2026-01-01T00:00Z */
	assert_int_equal(tz_offset(&a, 1784140200), 7200);  /* 2026-07-15T18:30Z */
	assert_int_equal(tz_offset(&utc, DST_ON_2026), 0);
	assert_int_equal(tz_offset(&utc, 1784140200), 0);
	/* Before 1970: 1969-07-02T00:00Z = -15811200 gets today's rule (the
	 * Netherlands had no summer time then; tz.h states the limit). */
	assert_int_equal(tz_offset(&a, -15811200), 7200);
}

static void test_utc_of_local_gap_and_overlap(void **state)
{
	(void)state;
	ks_tz a = ams();
	/* 2026-03-29 02:30 does not exist in Amsterdam: read as CET,
	 * 01:30Z = 03:30 CEST. Local seconds: 20541 * 86400 + 9000. */
	assert_int_equal(tz_utc_of_local(&a, 1774751400), 1774747800);
	/* 02:00 is the instant the clock jumps (01:00Z); 03:00 CEST too. */
	assert_int_equal(tz_utc_of_local(&a, 1774749600), DST_ON_2026);
	assert_int_equal(tz_utc_of_local(&a, 1774753200), DST_ON_2026);
	/* 2026-10-25 02:30 happens twice: the first (CEST, 00:30Z) wins. */
	assert_int_equal(tz_utc_of_local(&a, 1792895400), 1792888200);
	/* 03:00 that day is CET only: 02:00Z. */
	assert_int_equal(tz_utc_of_local(&a, 1792897200), 1792893600);
	/* Ordinary winter time: 2026-12-01 00:30 local = 2026-11-30 23:30Z. */
	assert_int_equal(tz_utc_of_local(&a, 1796085000), 1796081400);
	ks_tz utc = zone("UTC");
	assert_int_equal(tz_utc_of_local(&utc, 1796085000), 1796085000);
}

static void test_local_days(void **state)
{
	(void)state;
	ks_tz a = ams(), utc = zone("UTC");
	/* 2026-11-30T23:30Z = 2026-12-01 00:30 CET: day 20788 (UTC: 20787). */
	assert_int_equal(tz_local_day(&a, 1796081400), 20788);
	assert_int_equal(tz_local_day(&utc, 1796081400), 20787);
	/* 2026-03-31T22:30Z = 2026-04-01 00:30 CEST: day 20544, in Q2. */
	assert_int_equal(tz_local_day(&a, 1774996200), 20544);
	/* 2026-12-31T23:30Z = 2027-01-01 00:30 CET: day 20819. */
	assert_int_equal(tz_local_day(&a, 1798759800), 20819);
	assert_int_equal(tz_local_day(&utc, 1798759800), 20818);
	/* Floor before 1970: -1 s is 1969-12-31 in UTC but 00:59:59 on
	 * 1970-01-01 in Amsterdam; -3601 s is 23:59:59 the day before. */
	assert_int_equal(tz_local_day(&utc, -1), -1);
	assert_int_equal(tz_local_day(&a, -1), 0);
	assert_int_equal(tz_local_day(&a, -3600), 0);
	assert_int_equal(tz_local_day(&a, -3601), -1);
	assert_int_equal(tz_local_day(&utc, -86400), -1);
	assert_int_equal(tz_local_day(&utc, -86401), -2);

	int y, mo, d, h, mi, s;
	tz_civil(&a, 1796081400, &y, &mo, &d, &h, &mi, &s);
	assert_int_equal(y, 2026);
	assert_int_equal(mo, 12);
	assert_int_equal(d, 1);
	assert_int_equal(h, 0);
	assert_int_equal(mi, 30);
	assert_int_equal(s, 0);
	tz_civil(&a, -1, &y, &mo, &d, &h, &mi, &s);  /* 1970-01-01 00:59:59 CET */
	assert_int_equal(y, 1970);
	assert_int_equal(d, 1);
	assert_int_equal(h, 0);
	assert_int_equal(mi, 59);
	assert_int_equal(s, 59);

	char buf[32];
	tz_format_local(&a, 1796081400, buf, sizeof buf);
	assert_string_equal(buf, "2026-12-01T00:30:00+01:00");
	tz_format_local(&a, 1784140200, buf, sizeof buf);  /* 2026-07-15T18:30Z */
	assert_string_equal(buf, "2026-07-15T20:30:00+02:00");
	tz_format_local(&utc, 1796081400, buf, sizeof buf);
	assert_string_equal(buf, "2026-11-30T23:30:00+00:00");
	ks_tz hel = zone("Europe/Helsinki");
	tz_format_local(&hel, 1798759800, buf, sizeof buf);
	assert_string_equal(buf, "2027-01-01T01:30:00+02:00");
	char small[11];
	tz_format_local(&a, 1796081400, small, sizeof small);
	assert_string_equal(small, "2026-12-01");
}

/* The 23-hour and 25-hour days of 2026 in Amsterdam. */
static void test_day_start_on_switch_days(void **state)
{
	(void)state;
	ks_tz a = ams();
	/* 2026-03-29 (day 20541) starts 2026-03-28T23:00Z (CET), the next
	 * day 2026-03-29T22:00Z (CEST): 82800 s. */
	assert_int_equal(tz_day_start(&a, 20541), 1774738800);
	assert_int_equal(tz_day_start(&a, 20542), 1774821600);
	assert_int_equal(tz_day_start(&a, 20542) - tz_day_start(&a, 20541), 23 * HOUR);
	/* 2026-10-25 (day 20751) starts 2026-10-24T22:00Z (CEST), the next
	 * day 2026-10-25T23:00Z (CET): 90000 s. */
	assert_int_equal(tz_day_start(&a, 20751), 1792879200);
	assert_int_equal(tz_day_start(&a, 20752), 1792969200);
	assert_int_equal(tz_day_start(&a, 20752) - tz_day_start(&a, 20751), 25 * HOUR);
	/* 2026-12-01 starts 2026-11-30T23:00Z. */
	assert_int_equal(tz_day_start(&a, 20788), 1796079600);
	assert_true(tz_is_day_start(&a, 1796079600));
	assert_false(tz_is_day_start(&a, 1796079601));
	assert_false(tz_is_day_start(&a, 1796079599));
	assert_false(tz_is_day_start(&a, 1796083200));  /* UTC midnight is 01:00 CET */
	assert_true(tz_is_day_start(&a, 1774821600));
	assert_true(tz_is_day_start(&a, 1792969200));
	ks_tz utc = zone("UTC");
	assert_true(tz_is_day_start(&utc, 1796083200));
	assert_int_equal(tz_day_start(&utc, 20788), 20788LL * DAY);
	assert_int_equal(tz_day_start(&utc, -1), -DAY);
}

/* For every hour of 2024..2027 in a few zones: the instant lies in its
 * local day, and reading its wall clock back gives it again (except in
 * the second pass through an autumn overlap, which gives the first). */
static void test_consistency_sweep(void **state)
{
	(void)state;
	const char *names[] = {"Europe/Amsterdam", "Europe/London", "Europe/Helsinki", "UTC"};
	for (size_t k = 0; k < 4; k++) {
		ks_tz z = zone(names[k]);
		int long_days = 0, short_days = 0;
		for (int64_t t = 1704067200; t < 1830297600; t += HOUR) {  /* 2024-01-01 .. 2028-01-01 */
			int64_t d = tz_local_day(&z, t);
			assert_true(tz_day_start(&z, d) <= t);
			assert_true(t < tz_day_start(&z, d + 1));
			int off = tz_offset(&z, t);
			int64_t back = tz_utc_of_local(&z, t + off);
			if (back != t)
				assert_int_equal(back, t - HOUR);
			if (tz_is_day_start(&z, t)) {
				int64_t len = tz_day_start(&z, d + 1) - t;
				long_days += len == 25 * HOUR;
				short_days += len == 23 * HOUR;
				if (len != DAY)
					assert_true(len == 23 * HOUR || len == 25 * HOUR);
			}
		}
		/* Four springs and four autumns, none in UTC. */
		assert_int_equal(short_days, k == 3 ? 0 : 4);
		assert_int_equal(long_days, k == 3 ? 0 : 4);
	}
}

/* ---- times given by users -------------------------------------------------------- */

static void test_parse_time_forms(void **state)
{
	(void)state;
	ks_tz a = ams(), utc = zone("UTC");
	ks_error e;
	ks_error_clear(&e);
	int64_t t = 0;
	static const struct {
		const char *s;
		int64_t want;
	} ok[] = {
		{"2026-12-01", 1796079600},                 /* local midnight: 2026-11-30T23:00Z */
		{"2026-12-01T00:30:00", 1796081400},        /* local wall clock */
		{"2026-12-01 00:30:00", 1796081400},        /* a space for the T */
		{"2026-12-01T00:30:00Z", 1796085000},       /* that instant */
		{"2026-12-01T00:30:00+01:00", 1796081400},
		{"2026-12-01T00:30:00-02:30", 1796094000},  /* 03:00Z */
		{"2026-12-01T00:30:00.75Z", 1796085000},    /* fraction dropped */
		{"2026-12-01T00:30:00.5", 1796081400},
		{"2026-03-29T02:30:00", 1774747800},        /* in the gap: 03:30 CEST */
		{"2026-10-25T02:30:00", 1792888200},        /* in the overlap: the first */
		{"2026-03-29", 1774738800},
		{"2024-02-29", 1709161200},                 /* leap day: 2024-02-28T23:00Z */
		{"1970-01-01", -3600},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		t = 0;
		assert_int_equal(tz_parse_time(&a, ok[i].s, "from", &t, &e), KS_OK);
		assert_int_equal(t, ok[i].want);
	}
	assert_int_equal(tz_parse_time(&utc, "2026-12-01", "from", &t, &e), KS_OK);
	assert_int_equal(t, 1796083200);
	assert_int_equal(tz_parse_time(&utc, "2026-12-01T00:30:00", "from", &t, &e), KS_OK);
	assert_int_equal(t, 1796085000);
}

static void test_parse_time_errors(void **state)
{
	(void)state;
	ks_tz a = ams();
	static const char *const bad[] = {
		"", "2026", "2026-12", "2026-12-1", "2026-13-01", "2026-00-10", "2026-02-29", "2026-04-31",
		"1899-12-31", " 2026-12-01", "2026-12-01 ", "2026-12-01T", "2026-12-01T00:30",
		"2026-12-01T24:00:00", "2026-12-01T00:60:00", "2026-12-01T00:30:60", "2026-12-01T00:30:00X",
		"2026-12-01T00:30:00+1:00", "2026-12-01T00:30:00+01", "2026-12-01T00:30:00+24:00",
		"2026-12-01T00:30:00+01:00 ", "2026-12-01T00:30:00Z+01:00", "2026-12-01T00:30:00.",
		"2026-12-01T0:30:00", "+2026-12-01", "2026-12-01t00:30:00", "last_7d",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ks_error e;
		ks_error_clear(&e);
		int64_t t = 42;
		ks_err rc = tz_parse_time(&a, bad[i], "to", &t, &e);
		if (rc != KS_ERR_INVALID)
			print_error("# accepted: '%s'\n", bad[i]);
		assert_int_equal(rc, KS_ERR_INVALID);
		assert_string_equal(e.field, "to");
		assert_non_null(strstr(e.message, "YYYY-MM-DD"));
		assert_int_equal(t, 42);
	}
	int64_t t = 42;
	assert_int_equal(tz_parse_time(&a, NULL, "to", &t, NULL), KS_ERR_INVALID);
	assert_int_equal(t, 42);
}

/* ---- periods ------------------------------------------------------------------------ */

static void check_period(const ks_tz *z, const char *v, int64_t now, int64_t from, int64_t to, tz_period_kind kind)
{
	int64_t f = 0, t = 0;
	tz_period_kind k = TZ_PERIOD_NONE;
	ks_error e;
	ks_error_clear(&e);
	ks_err rc = tz_period_parse(z, v, now, "period", &f, &t, &k, &e);
	if (rc)
		print_error("# '%s': %s\n", v, e.message);
	assert_int_equal(rc, KS_OK);
	assert_int_equal(f, from);
	assert_int_equal(t, to);
	assert_int_equal(k, kind);
	/* Every calendar period is recognised again, by the same name. */
	char label[16];
	tz_period_kind again = tz_whole_period(z, f, t, label, sizeof label);
	if (kind != TZ_PERIOD_LAST_DAYS) {
		assert_int_equal(again, kind);
		assert_string_equal(label, v);
	}
}

static void test_period_forms(void **state)
{
	(void)state;
	ks_tz a = ams(), utc = zone("UTC");
	const int64_t now = 1774951200;  /* 2026-03-31T10:00Z, 12:00 CEST */
	/* 2026: 2025-12-31T23:00Z .. 2026-12-31T23:00Z. */
	check_period(&a, "2026", now, 1767222000, 1798758000, TZ_PERIOD_YEAR);
	/* Q2: 1 April (2026-03-31T22:00Z, CEST) .. 1 July (2026-06-30T22:00Z). */
	check_period(&a, "2026-Q2", now, 1774994400, 1782856800, TZ_PERIOD_QUARTER);
	/* Q4: 1 October (2026-09-30T22:00Z, CEST) .. 1 January (CET). */
	check_period(&a, "2026-Q4", now, 1790805600, 1798758000, TZ_PERIOD_QUARTER);
	check_period(&a, "2026-12", now, 1796079600, 1798758000, TZ_PERIOD_MONTH);
	/* 2026-W53 exists: Monday 2026-12-28 .. Sunday 2027-01-03. */
	check_period(&a, "2026-W53", now, 1798412400, 1799017200, TZ_PERIOD_WEEK);
	/* 2020-W53 too: 2020-12-28 .. 2021-01-03. */
	check_period(&a, "2020-W53", now, 1609110000, 1609714800, TZ_PERIOD_WEEK);
	/* The switch days: 23 and 25 hours. */
	check_period(&a, "2026-03-29", now, 1774738800, 1774821600, TZ_PERIOD_DAY);
	check_period(&a, "2026-10-25", now, 1792879200, 1792969200, TZ_PERIOD_DAY);
	check_period(&a, "2026-12-31", now, 1798671600, 1798758000, TZ_PERIOD_DAY);
	/* last_7d on 31 March: 25..31 March, which holds the spring switch:
	 * 2026-03-24T23:00Z (CET) .. 2026-03-31T22:00Z (CEST), 7 days less an
	 * hour. */
	check_period(&a, "last_7d", now, 1774393200, 1774994400, TZ_PERIOD_LAST_DAYS);
	/* last_1d: today. */
	check_period(&a, "last_1d", now, 1774908000, 1774994400, TZ_PERIOD_LAST_DAYS);
	/* now on the very first second of a local day still counts that day. */
	check_period(&a, "last_1d", 1796079600, 1796079600, 1796166000, TZ_PERIOD_LAST_DAYS);
	/* and its last second too. */
	check_period(&a, "last_1d", 1796079599, 1795993200, 1796079600, TZ_PERIOD_LAST_DAYS);
	/* last_3660d: from 2016-03-24 00:00 CET (2016-03-23T23:00Z), which is
	 * not "to - 3660 * 86400" (that would be 22:00Z): to is in summer
	 * time, from in winter time. */
	check_period(&a, "last_3660d", now, 1458774000, 1774994400, TZ_PERIOD_LAST_DAYS);
	/* UTC: month boundaries at UTC midnight. */
	check_period(&utc, "2026-12", now, 1796083200, 1798761600, TZ_PERIOD_MONTH);
	check_period(&utc, "last_7d", now, 1774396800, 1775001600, TZ_PERIOD_LAST_DAYS);
	/* The year bounds. */
	check_period(&utc, "1970", now, 0, 31536000, TZ_PERIOD_YEAR);
	check_period(&utc, "2100-12-31", now, 4133894400, 4133980800, TZ_PERIOD_DAY);
	/* kind may be NULL. */
	int64_t f, t;
	assert_int_equal(tz_period_parse(&a, "2026-12", now, "period", &f, &t, NULL, NULL), KS_OK);
	assert_int_equal(f, 1796079600);
}

static void test_period_errors(void **state)
{
	(void)state;
	ks_tz a = ams();
	static const char *const bad[] = {
		"", "26", "202", "20266", "1969", "2101", "2026-", "2026-1", "2026-13", "2026-00", "2026-Q0",
		"2026-Q5", "2026-q1", "2026-W00", "2026-W54", "2027-W53", "2026-W5", "2026-w01", "2026-12-1",
		"2026-02-29", "2026-12-32", "2101-01-01", "1969-12-31", " 2026", "2026 ", "last_0d", "last_3661d",
		"last_d", "last_7", "last_-1d", "last_+7d", "last_7D", "last_7dd", "last_12345d", "Last_7d",
		"2026-12-01T00:00:00", "yesterday",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ks_error e;
		ks_error_clear(&e);
		int64_t f = 1, t = 2;
		tz_period_kind k = TZ_PERIOD_DAY;
		ks_err rc = tz_period_parse(&a, bad[i], 1774951200, "period", &f, &t, &k, &e);
		if (rc != KS_ERR_INVALID)
			print_error("# accepted: '%s'\n", bad[i]);
		assert_int_equal(rc, KS_ERR_INVALID);
		assert_string_equal(e.field, "period");
		assert_non_null(strstr(e.message, "YYYY-Www"));
		assert_non_null(strstr(e.message, "last_Nd"));
		assert_int_equal(f, 1);
		assert_int_equal(t, 2);
		assert_int_equal(k, TZ_PERIOD_DAY);
	}
	int64_t f, t;
	assert_int_equal(tz_period_parse(&a, NULL, 0, "period", &f, &t, NULL, NULL), KS_ERR_INVALID);
}

static void test_whole_period(void **state)
{
	(void)state;
	ks_tz a = ams(), utc = zone("UTC");
	char label[16];
	static const struct {
		int64_t from, to;
		tz_period_kind kind;
		const char *label;
	} ok[] = {
		{1767222000, 1798758000, TZ_PERIOD_YEAR, "2026"},
		{1790805600, 1798758000, TZ_PERIOD_QUARTER, "2026-Q4"},
		{1774994400, 1782856800, TZ_PERIOD_QUARTER, "2026-Q2"},
		{1796079600, 1798758000, TZ_PERIOD_MONTH, "2026-12"},
		{1798412400, 1799017200, TZ_PERIOD_WEEK, "2026-W53"},    /* in two calendar years */
		{1798671600, 1798758000, TZ_PERIOD_DAY, "2026-12-31"},
		{1774738800, 1774821600, TZ_PERIOD_DAY, "2026-03-29"},   /* 23 hours */
		{1792879200, 1792969200, TZ_PERIOD_DAY, "2026-10-25"},   /* 25 hours */
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		memset(label, 'x', sizeof label);
		assert_int_equal(tz_whole_period(&a, ok[i].from, ok[i].to, label, sizeof label), ok[i].kind);
		assert_string_equal(label, ok[i].label);
		assert_int_equal(tz_whole_period(&a, ok[i].from, ok[i].to, NULL, 0), ok[i].kind);
		/* One second off at either end is no period. */
		assert_int_equal(tz_whole_period(&a, ok[i].from + 1, ok[i].to, label, sizeof label), TZ_PERIOD_NONE);
		assert_string_equal(label, "");
		assert_int_equal(tz_whole_period(&a, ok[i].from - 1, ok[i].to, label, sizeof label), TZ_PERIOD_NONE);
		assert_int_equal(tz_whole_period(&a, ok[i].from, ok[i].to + 1, label, sizeof label), TZ_PERIOD_NONE);
		assert_int_equal(tz_whole_period(&a, ok[i].from, ok[i].to - 1, label, sizeof label), TZ_PERIOD_NONE);
	}
	/* Two days (30 and 31 December) are no period. */
	assert_int_equal(tz_whole_period(&a, 1798585200, 1798758000, label, sizeof label), TZ_PERIOD_NONE);
	/* Seven days from a Tuesday (2026-12-29 .. 2027-01-05) are no week. */
	assert_int_equal(tz_whole_period(&a, 1798498800, 1799103600, label, sizeof label), TZ_PERIOD_NONE);
	/* December from UTC midnight to UTC midnight is no local month... */
	assert_int_equal(tz_whole_period(&a, 1796083200, 1798761600, label, sizeof label), TZ_PERIOD_NONE);
	assert_string_equal(label, "");
	/* ...but it is one in UTC. */
	assert_int_equal(tz_whole_period(&utc, 1796083200, 1798761600, label, sizeof label), TZ_PERIOD_MONTH);
	assert_string_equal(label, "2026-12");
	/* A year and a day; empty and reversed ranges. */
	assert_int_equal(tz_whole_period(&a, 1767222000, 1798844400, label, sizeof label), TZ_PERIOD_NONE);
	assert_int_equal(tz_whole_period(&a, 1796079600, 1796079600, label, sizeof label), TZ_PERIOD_NONE);
	assert_int_equal(tz_whole_period(&a, 1798758000, 1796079600, label, sizeof label), TZ_PERIOD_NONE);
	/* Three months that start in the wrong month are no quarter:
	 * 2026-12-01 .. 2027-03-01 (2027-02-28T23:00Z). */
	assert_int_equal(tz_whole_period(&a, 1796079600, 1803855600, label, sizeof label), TZ_PERIOD_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_known_zones),
		cmocka_unit_test(test_lookup_unknown_zone),
		cmocka_unit_test(test_offsets_around_switches),
		cmocka_unit_test(test_utc_of_local_gap_and_overlap),
		cmocka_unit_test(test_local_days),
		cmocka_unit_test(test_day_start_on_switch_days),
		cmocka_unit_test(test_consistency_sweep),
		cmocka_unit_test(test_parse_time_forms),
		cmocka_unit_test(test_parse_time_errors),
		cmocka_unit_test(test_period_forms),
		cmocka_unit_test(test_period_errors),
		cmocka_unit_test(test_whole_period),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
