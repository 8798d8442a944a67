/* test_invite_rules.c — invitation decisions and send times (src/invite/rules.c).
 *
 * Every time below is a literal worked out by hand from the calendar
 * (2026-01-01 00:00 UTC = 1767225600 = day 20454) and checked independently
 * with Python's zoneinfo("Europe/Amsterdam") from the tz database; none is
 * recomputed with the code under test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "invite/rules.h"

#define DAY 86400
#define HOUR 3600

/* Facts under which every check passes. */
static invite_facts facts_ok(void)
{
	return (invite_facts){
		.opted_out = false,
		.has_email = true,
		.has_open_case = false,
		.last_invited_at = 0,
		.contact_id = 42,
		.sample_seed = 0x5eedu,
	};
}

static invite_rule rule_default(void)
{
	invite_rule r;
	invite_rule_defaults(&r);
	return r;
}

/* ---- defaults and validation ---------------------------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	assert_true(r.enabled);
	assert_int_equal(r.delay_minutes, 120);
	assert_int_equal(r.quiet_start_hour, 21);
	assert_int_equal(r.quiet_end_hour, 8);
	assert_int_equal(r.sample_pct, 100);
	assert_int_equal(r.fatigue_days, 30);
	assert_false(r.exclude_open_case);
	assert_int_equal(r.expiry_days, 14);
	assert_int_equal(r.reminder_days, 3);
	assert_int_equal(invite_rule_validate(&r, NULL), KS_OK);
}

typedef struct range_case {
	const char *field;
	size_t offset;
	int lo, hi;
} range_case;

static void test_validate_ranges(void **state)
{
	(void)state;
	static const range_case cases[] = {
		{"delay_minutes", offsetof(invite_rule, delay_minutes), 0, 10080},
		{"quiet_start_hour", offsetof(invite_rule, quiet_start_hour), 0, 23},
		{"quiet_end_hour", offsetof(invite_rule, quiet_end_hour), 0, 23},
		{"sample_pct", offsetof(invite_rule, sample_pct), 0, 100},
		{"fatigue_days", offsetof(invite_rule, fatigue_days), 0, 365},
		{"expiry_days", offsetof(invite_rule, expiry_days), 1, 90},
		{"reminder_days", offsetof(invite_rule, reminder_days), 0, 30},
	};
	/* Each field is probed just outside, at and just inside its bounds, the
	 * others kept valid: expiry 90 and reminder 0 keep "reminder before
	 * expiry" out of the way (tested on its own below). */
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const range_case *c = &cases[i];
		int probe[4] = {c->lo - 1, c->lo, c->hi, c->hi + 1};
		for (int k = 0; k < 4; k++) {
			invite_rule r = rule_default();
			r.expiry_days = 90;
			r.reminder_days = 0;
			memcpy((char *)&r + c->offset, &probe[k], sizeof(int));
			ks_error e;
			ks_error_clear(&e);
			ks_err rc = invite_rule_validate(&r, &e);
			bool inside = k == 1 || k == 2;
			if (inside) {
				assert_int_equal(rc, KS_OK);
				continue;
			}
			assert_int_equal(rc, KS_ERR_RANGE);
			assert_int_equal(e.code, KS_ERR_RANGE);
			assert_string_equal(e.field, c->field);
		}
	}
}

static void test_validate_expiry_and_reminder(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	ks_error e;

	/* expiry 1 is its lowest value, with no reminder. */
	r.expiry_days = 1;
	r.reminder_days = 0;
	assert_int_equal(invite_rule_validate(&r, NULL), KS_OK);
	r.expiry_days = 0;
	ks_error_clear(&e);
	assert_int_equal(invite_rule_validate(&r, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "expiry_days");

	/* reminder 30 is its highest value, but it must come before expiry. */
	r.expiry_days = 31;
	r.reminder_days = 30;
	assert_int_equal(invite_rule_validate(&r, NULL), KS_OK);
	r.reminder_days = 31;
	ks_error_clear(&e);
	assert_int_equal(invite_rule_validate(&r, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "reminder_days");
	r.expiry_days = 90;
	r.reminder_days = 31;  /* < expiry but over 30 */
	ks_error_clear(&e);
	assert_int_equal(invite_rule_validate(&r, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "reminder_days");
	r.expiry_days = 5;
	r.reminder_days = 5;  /* equal is not before */
	ks_error_clear(&e);
	assert_int_equal(invite_rule_validate(&r, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "reminder_days");

	assert_int_equal(invite_rule_validate(NULL, NULL), KS_ERR_INVALID);
}

/* ---- the decision ----------------------------------------------------------- */

static void test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(invite_reason_name(INVITE_CREATE), "created");
	assert_string_equal(invite_reason_name(INVITE_NO_RULE), "no_rule");
	assert_string_equal(invite_reason_name(INVITE_DISABLED), "disabled");
	assert_string_equal(invite_reason_name(INVITE_OPTED_OUT), "opted_out");
	assert_string_equal(invite_reason_name(INVITE_NO_EMAIL), "no_email");
	assert_string_equal(invite_reason_name(INVITE_OPEN_CASE), "open_case");
	assert_string_equal(invite_reason_name(INVITE_FATIGUE), "fatigue");
	assert_string_equal(invite_reason_name(INVITE_SAMPLED_OUT), "sampled_out");
	assert_string_equal(invite_reason_name((invite_reason)99), "unknown");
}

/* Everything fails at once; lifting one cause at a time reveals the next,
 * which proves the order of the checks. */
static void test_decide_order(void **state)
{
	(void)state;
	const int64_t now = 1768505400;  /* 2026-01-15 19:30 UTC */
	invite_rule r = rule_default();
	r.enabled = false;
	r.exclude_open_case = true;
	r.sample_pct = 0;
	invite_facts f = facts_ok();
	f.opted_out = true;
	f.has_email = false;
	f.has_open_case = true;
	f.last_invited_at = now - DAY;

	assert_int_equal(invite_decide(NULL, &f, now), INVITE_NO_RULE);
	assert_int_equal(invite_decide(&r, &f, now), INVITE_DISABLED);
	r.enabled = true;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_OPTED_OUT);  /* wins over fatigue */
	f.opted_out = false;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_NO_EMAIL);
	f.has_email = true;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_OPEN_CASE);
	f.has_open_case = false;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_FATIGUE);
	f.last_invited_at = 0;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_SAMPLED_OUT);
	r.sample_pct = 100;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_CREATE);
}

static void test_decide_open_case_only_when_excluded(void **state)
{
	(void)state;
	invite_rule r = rule_default();  /* exclude_open_case = false */
	invite_facts f = facts_ok();
	f.has_open_case = true;
	assert_int_equal(invite_decide(&r, &f, 1768505400), INVITE_CREATE);
	r.exclude_open_case = true;
	assert_int_equal(invite_decide(&r, &f, 1768505400), INVITE_OPEN_CASE);
}

/* last_invited_at is per customer, whatever touchpoint sent it: a rule of
 * touchpoint 2 is blocked by an invitation that touchpoint 1 sent.
 * Boundary: exactly N days earlier is allowed, one second less is not. */
static void test_decide_fatigue_boundary(void **state)
{
	(void)state;
	const int64_t now = 1768505400;
	invite_rule r = rule_default();  /* fatigue 30 days */
	r.touchpoint_id = 2;
	invite_facts f = facts_ok();

	f.last_invited_at = now - 29 * DAY;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_FATIGUE);
	f.last_invited_at = now - 30 * DAY + 1;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_FATIGUE);
	f.last_invited_at = now - 30 * DAY;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_CREATE);
	f.last_invited_at = now - 31 * DAY;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_CREATE);
	/* An invitation after the contact (out-of-order processing) blocks. */
	f.last_invited_at = now + HOUR;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_FATIGUE);

	/* fatigue_days 0: no limit. */
	r.fatigue_days = 0;
	f.last_invited_at = now - 1;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_CREATE);

	/* fatigue_days 1: a day. */
	r.fatigue_days = 1;
	f.last_invited_at = now - DAY + 1;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_FATIGUE);
	f.last_invited_at = now - DAY;
	assert_int_equal(invite_decide(&r, &f, now), INVITE_CREATE);
}

/* ---- sampling ---------------------------------------------------------------- */

static int count_sampled(uint64_t seed, int pct, int n)
{
	int k = 0;
	for (int64_t id = 1; id <= n; id++)
		k += invite_sampled(seed, id, pct);
	return k;
}

static void test_sampling_share(void **state)
{
	(void)state;
	const int n = 20000;
	const double p = 0.30;
	double share = (double)count_sampled(0x5eedu, 30, n) / n;
	double sd = sqrt(p * (1 - p) / n);  /* binomial: 0.00324 */
	if (fabs(share - p) > 3 * sd) {
		print_error("share %.5f outside 0.30 +- %.5f\n", share, 3 * sd);
		fail();
	}
	/* Another seed gives another, equally fair, sample. */
	share = (double)count_sampled(0xfeedfaceu, 30, n) / n;
	assert_true(fabs(share - p) <= 3 * sd);
}

static void test_sampling_extremes(void **state)
{
	(void)state;
	assert_int_equal(count_sampled(0x5eedu, 0, 20000), 0);
	assert_int_equal(count_sampled(0x5eedu, 100, 20000), 20000);
	assert_false(invite_sampled(1, 1, -5));
	assert_true(invite_sampled(1, 1, 150));
}

static void test_sampling_deterministic(void **state)
{
	(void)state;
	for (int64_t id = 1; id <= 1000; id++)
		assert_int_equal(invite_sampled(0x5eedu, id, 30), invite_sampled(0x5eedu, id, 30));
	/* Monotone in pct: whoever is in at 30% is in at 60%. */
	for (int64_t id = 1; id <= 1000; id++)
		if (invite_sampled(0x5eedu, id, 30))
			assert_true(invite_sampled(0x5eedu, id, 60));
	/* Sampling is the last check: the decision repeats too. */
	invite_rule r = rule_default();
	r.sample_pct = 30;
	invite_facts f = facts_ok();
	int created = 0;
	for (int64_t id = 1; id <= 1000; id++) {
		f.contact_id = id;
		invite_reason a = invite_decide(&r, &f, 1768505400);
		assert_int_equal(a, invite_decide(&r, &f, 1768505400));
		assert_true(a == INVITE_CREATE || a == INVITE_SAMPLED_OUT);
		created += a == INVITE_CREATE;
	}
	assert_int_equal(created, count_sampled(0x5eedu, 30, 1000));
}

/* ---- Amsterdam time ------------------------------------------------------------ */

/* Switches 01:00 UTC on the last Sundays of March and October, from the tz
 * database (Python zoneinfo Europe/Amsterdam). 2026: 29 March, 25 October;
 * 29 March 2026 = day 20454 + 31 + 28 + 28 = 20541 -> 1774742400 + 3600. */
static const int64_t switches[][2] = {
	{1585443600, 1603587600},  /* 2020-03-29, 2020-10-25 */
	{1616893200, 1635642000},  /* 2021-03-28, 2021-10-31 */
	{1648342800, 1667091600},  /* 2022-03-27, 2022-10-30 */
	{1679792400, 1698541200},  /* 2023-03-26, 2023-10-29 */
	{1711846800, 1729990800},  /* 2024-03-31, 2024-10-27 */
	{1743296400, 1761440400},  /* 2025-03-30, 2025-10-26 */
	{1774746000, 1792890000},  /* 2026-03-29, 2026-10-25 */
	{1806195600, 1824944400},  /* 2027-03-28, 2027-10-31 */
	{1837645200, 1856394000},  /* 2028-03-26, 2028-10-29 */
	{1869094800, 1887843600},  /* 2029-03-25, 2029-10-28 */
	{1901149200, 1919293200},  /* 2030-03-31, 2030-10-27 */
};

static void test_amsterdam_offset(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof switches / sizeof switches[0]; i++) {
		int64_t on = switches[i][0], off = switches[i][1];
		assert_int_equal(invite_amsterdam_offset(on - 1), 3600);
		assert_int_equal(invite_amsterdam_offset(on), 7200);
		assert_int_equal(invite_amsterdam_offset(off - 1), 7200);
		assert_int_equal(invite_amsterdam_offset(off), 3600);
	}
	assert_int_equal(invite_amsterdam_offset(1767225600), 3600);  /* 2026-01-01 */
	assert_int_equal(invite_amsterdam_offset(1784140200), 7200);  /* 2026-07-15 */
	assert_int_equal(invite_amsterdam_offset(1767225599), 3600);  /* New Year's Eve 2025 */
}

/* 2026-01-15 20:30 CET (19:30 UTC) + 120 min = 22:30 -> 2026-01-16 08:00 CET
 * = 07:00 UTC = 1767225600 + 15 * 86400 + 7 * 3600. */
static void test_send_winter_evening(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	assert_int_equal(invite_send_at(&r, 1768505400), 1768546800);
}

/* 2026-07-15 20:30 CEST (18:30 UTC) + 120 min -> 2026-07-16 08:00 CEST
 * = 06:00 UTC = 1767225600 + 196 * 86400 + 6 * 3600. */
static void test_send_summer_evening(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	assert_int_equal(invite_send_at(&r, 1784140200), 1784181600);
}

/* The night of a switch: Sat 28 March 2026 20:30 CET (19:30 UTC) -> Sun 29
 * March 08:00 CEST = 06:00 UTC = 1774764000; Sat 24 October 20:30 CEST
 * (18:30 UTC) -> Sun 25 October 08:00 CET = 07:00 UTC = 1792911600. */
static void test_send_across_switch(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	assert_int_equal(invite_send_at(&r, 1774726200), 1774764000);
	assert_int_equal(invite_send_at(&r, 1792866600), 1792911600);
}

/* Edges of the window 21..8 with delay 0, on 2026-01-15 (CET). */
static void test_send_window_edges(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	r.delay_minutes = 0;
	const int64_t day = 1768435200;            /* 2026-01-15 00:00 UTC = 01:00 CET */
	const int64_t at_local = day - HOUR;       /* 2026-01-15 00:00 CET */
	int64_t t2059 = at_local + 20 * HOUR + 59 * 60 + 59;
	assert_int_equal(invite_send_at(&r, t2059), t2059);
	assert_int_equal(invite_send_at(&r, at_local + 21 * HOUR), at_local + DAY + 8 * HOUR);
	assert_int_equal(invite_send_at(&r, at_local + 23 * HOUR + 59 * 60), at_local + DAY + 8 * HOUR);
	/* Early morning: the same day's 08:00. 05:00 CET = 1768449600 -> 1768460400. */
	assert_int_equal(invite_send_at(&r, 1768449600), 1768460400);
	assert_int_equal(invite_send_at(&r, at_local), at_local + 8 * HOUR);
	assert_int_equal(invite_send_at(&r, at_local + 8 * HOUR - 1), at_local + 8 * HOUR);
	assert_int_equal(invite_send_at(&r, at_local + 8 * HOUR), at_local + 8 * HOUR);
	/* The delay counts: 19:30 + 90 min = 21:00 -> next morning. */
	r.delay_minutes = 90;
	assert_int_equal(invite_send_at(&r, at_local + 19 * HOUR + 30 * 60), at_local + DAY + 8 * HOUR);
	r.delay_minutes = 89;
	assert_int_equal(invite_send_at(&r, at_local + 19 * HOUR + 30 * 60), at_local + 20 * HOUR + 59 * 60);
}

/* A window inside one day (13..14, lunch) and an empty one (start == end). */
static void test_send_window_within_day(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	r.delay_minutes = 0;
	r.quiet_start_hour = 13;
	r.quiet_end_hour = 14;
	const int64_t at_local = 1784073600 - 2 * HOUR;  /* 2026-07-15 00:00 CEST */
	assert_int_equal(invite_send_at(&r, at_local + 13 * HOUR + 30 * 60), at_local + 14 * HOUR);
	assert_int_equal(invite_send_at(&r, at_local + 13 * HOUR), at_local + 14 * HOUR);
	assert_int_equal(invite_send_at(&r, at_local + 14 * HOUR), at_local + 14 * HOUR);
	assert_int_equal(invite_send_at(&r, at_local + 12 * HOUR + 59 * 60), at_local + 12 * HOUR + 59 * 60);
	assert_int_equal(invite_send_at(&r, at_local + 22 * HOUR), at_local + 22 * HOUR);
	r.quiet_start_hour = r.quiet_end_hour = 5;
	assert_int_equal(invite_send_at(&r, at_local + 5 * HOUR), at_local + 5 * HOUR);
}

/* A window that ends at 02:00 local, in the hour that does not exist on
 * 29 March 2026: 01:30 CET (00:30 UTC) -> 03:00 CEST = 01:00 UTC. */
static void test_send_end_in_gap(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	r.delay_minutes = 0;
	r.quiet_start_hour = 0;
	r.quiet_end_hour = 2;
	assert_int_equal(invite_send_at(&r, 1774746000 - 30 * 60), 1774746000);
}

/* ---- reminder and expiry -------------------------------------------------------- */

static void test_reminder_and_expiry(void **state)
{
	(void)state;
	invite_rule r = rule_default();
	/* Sent 2026-01-16 08:00 CET (1768546800): reminder 3 days later at the
	 * same hour, link gone 14 days later. */
	assert_int_equal(invite_reminder_at(&r, 1768546800), 1768546800 + 3 * DAY);
	assert_int_equal(invite_expires_at(&r, 1768546800), 1768546800 + 14 * DAY);
	/* Sent Thu 26 March 2026 20:30 CET (19:30 UTC, 1774553400): 3 x 24 h later
	 * is Sun 29 March 19:30 UTC = 21:30 CEST, quiet -> Mon 30 March 08:00 CEST
	 * = 06:00 UTC = 1774850400. */
	assert_int_equal(invite_reminder_at(&r, 1774553400), 1774850400);
	/* Expiry is not shifted by quiet hours. */
	r.expiry_days = 1;
	r.reminder_days = 0;
	assert_int_equal(invite_expires_at(&r, 1774553400), 1774553400 + DAY);
	assert_int_equal(invite_reminder_at(&r, 1774553400), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_validate_ranges),
		cmocka_unit_test(test_validate_expiry_and_reminder),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_decide_order),
		cmocka_unit_test(test_decide_open_case_only_when_excluded),
		cmocka_unit_test(test_decide_fatigue_boundary),
		cmocka_unit_test(test_sampling_share),
		cmocka_unit_test(test_sampling_extremes),
		cmocka_unit_test(test_sampling_deterministic),
		cmocka_unit_test(test_amsterdam_offset),
		cmocka_unit_test(test_send_winter_evening),
		cmocka_unit_test(test_send_summer_evening),
		cmocka_unit_test(test_send_across_switch),
		cmocka_unit_test(test_send_window_edges),
		cmocka_unit_test(test_send_window_within_day),
		cmocka_unit_test(test_send_end_in_gap),
		cmocka_unit_test(test_reminder_and_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
