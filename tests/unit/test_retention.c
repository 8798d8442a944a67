/* test_retention.c — the retention policy's arithmetic and its JSON
 * (src/privacy/retention.c): calendar months back, clamped to the month's
 * last day; the PUT body's checks naming the member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "privacy/retention.h"

/* "YYYY-MM-DDTHH:MM:SSZ" as unix seconds. */
static int64_t utc(const char *iso)
{
	struct tm tm = {0};
	sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static void test_cutoff(void **state)
{
	(void)state;
	assert_int_equal(retention_cutoff(utc("2026-06-10T10:00:00Z"), 0), 0);
	assert_int_equal(retention_cutoff(utc("2026-06-10T10:00:00Z"), 24), utc("2024-06-10T10:00:00Z"));
	assert_int_equal(retention_cutoff(utc("2026-01-15T00:00:00Z"), 1), utc("2025-12-15T00:00:00Z"));
	/* the day is clamped to the month's last */
	assert_int_equal(retention_cutoff(utc("2026-03-31T12:00:00Z"), 1), utc("2026-02-28T12:00:00Z"));
	assert_int_equal(retention_cutoff(utc("2024-03-31T12:00:00Z"), 1), utc("2024-02-29T12:00:00Z"));
	assert_int_equal(retention_cutoff(utc("2026-12-07T02:00:00Z"), 240), utc("2006-12-07T02:00:00Z"));
}

static void test_from_json(void **state)
{
	(void)state;
	store_retention r;
	retention_defaults(&r);
	assert_int_equal(r.months[STORE_RETENTION_OPEN_TEXT], RETENTION_DEFAULT_OPEN_TEXT);
	ks_error e;
	json_t *o = json_pack("{s:i, s:i}", "open_text", 36, "closed_cases", 0);
	assert_int_equal(retention_from_json(o, &r, &e), KS_OK);
	assert_int_equal(r.months[STORE_RETENTION_OPEN_TEXT], 36);
	assert_int_equal(r.months[STORE_RETENTION_CLOSED_CASES], 0);
	assert_true(r.stored[STORE_RETENTION_OPEN_TEXT] && r.stored[STORE_RETENTION_CLOSED_CASES]);
	assert_false(r.stored[STORE_RETENTION_CONTACTS]);
	json_decref(o);
	const char *bad[][2] = {{"{\"open_text\": 241}", "open_text"}, {"{\"contacts\": -1}", "contacts"},
				{"{\"contacts\": \"12\"}", "contacts"}, {"{\"contacts\": 1.5}", "contacts"},
				{"{\"answers\": 3}", "answers"}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o = json_loads(bad[i][0], 0, NULL);
		assert_int_not_equal(retention_from_json(o, &r, &e), KS_OK);
		assert_string_equal(e.field, bad[i][1]);
		json_decref(o);
	}
}

static void test_json(void **state)
{
	(void)state;
	store_retention r;
	retention_defaults(&r);
	r.months[STORE_RETENTION_CONTACTS] = 6;
	json_t *o = retention_json(&r);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "contacts"), "months")), 6);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "contacts"), "default")),
			 RETENTION_DEFAULT_CONTACTS);
	assert_true(json_is_null(json_object_get(o, "updated_at")));
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cutoff),
		cmocka_unit_test(test_from_json),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
