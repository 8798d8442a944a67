/* test_mentions_poll.c — the pollers' pure rules (src/mentions/poll.c,
 * issue 16 H2): the backoff schedule, the feed URL and auth header checks
 * naming the field, the formats a feed may have. The fetching itself is
 * tested against a local server in tests/api/test_feeds.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mentions/poll.h"

static void test_backoff(void **state)
{
	(void)state;
	/* 1, 2, 4, 8 ... minutes while under 8 x interval (1 h: 8 h cap) */
	const int64_t want[] = {60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 28800, 28800};
	for (int i = 0; i < 11; i++)
		assert_int_equal(poll_backoff_s(i + 1, 3600, 0), want[i]);
	/* interval 60 s: capped at 480 s from the fourth failure on */
	assert_int_equal(poll_backoff_s(3, 60, 0), 240);
	assert_int_equal(poll_backoff_s(4, 60, 0), 480);
	assert_int_equal(poll_backoff_s(5, 60, 0), 480);
	/* a day's interval: 8 days would be the rule, 24 h is the cap */
	assert_int_equal(poll_backoff_s(30, 86400, 0), 86400);
	assert_int_equal(poll_backoff_s(1000000, 604800, 0), 86400);
	/* Retry-After longer than the backoff wins, up to a day */
	assert_int_equal(poll_backoff_s(1, 3600, 300), 300);
	assert_int_equal(poll_backoff_s(4, 3600, 300), 480);
	assert_int_equal(poll_backoff_s(1, 60, 7200), 7200);
	assert_int_equal(poll_backoff_s(1, 60, 999999), 86400);
}

static void expect_bad_url(const char *url, const char *why)
{
	ks_error e;
	ks_error_clear(&e);
	if (poll_url_check(url, "url", &e) != KS_ERR_INVALID || strcmp(e.field, "url") != 0)
		fail_msg("'%s' should be refused naming url (%s)", url ? url : "(null)", why);
}

static void test_url(void **state)
{
	(void)state;
	ks_error e;
	assert_int_equal(poll_url_check("https://api.trustpilot.com/v1/reviews?perPage=100", "url", &e), KS_OK);
	assert_int_equal(poll_url_check("http://127.0.0.1:8081/feed.xml?hash=x&limit=5", "url", &e), KS_OK);
	assert_int_equal(poll_url_check("HTTPS://Example.org/", "url", &e), KS_OK);
	expect_bad_url(NULL, "missing");
	expect_bad_url("", "empty");
	expect_bad_url("ftp://example.org/feed", "scheme");
	expect_bad_url("file:///etc/passwd", "scheme");
	expect_bad_url("gopher://x", "scheme");
	expect_bad_url("http://", "no host");
	expect_bad_url("https://user:secret@example.org/feed", "credentials in the URL");
	expect_bad_url("https://example.org/a b", "a space");
	expect_bad_url("https://example.org/\r\nX: y", "a control character");
	char lng[STORE_FEED_URL_MAX + 16];
	memcpy(lng, "https://e.org/", 14);
	memset(lng + 14, 'a', sizeof lng - 15);
	lng[sizeof lng - 1] = '\0';
	expect_bad_url(lng, "too long");
}

static void test_auth_header(void **state)
{
	(void)state;
	ks_error e;
	assert_int_equal(poll_auth_header_check("Authorization: Bearer abc.def", "auth_header", &e), KS_OK);
	assert_int_equal(poll_auth_header_check("X-Publication-Api-Token:\tk-1", "auth_header", &e), KS_OK);
	const char *bad[] = {"Authorization Bearer x", ": x", "Author ization: x", "apikey:", "apikey:   ",
			     "apikey: a\r\nX-Evil: 1", "apikey: a\nb", NULL};
	for (int i = 0; bad[i]; i++) {
		ks_error_clear(&e);
		assert_int_equal(poll_auth_header_check(bad[i], "auth_header", &e), KS_ERR_INVALID);
		assert_string_equal(e.field, "auth_header");
	}
}

static void test_formats(void **state)
{
	(void)state;
	const char *ok[] = {"trustpilot", "google", "kiyoh", "appstore", "social", "generic-json", "generic-csv"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_true(poll_format_ok(ok[i]));
	assert_false(poll_format_ok("nps"));
	assert_false(poll_format_ok("Trustpilot"));
	assert_false(poll_format_ok(""));
	assert_false(poll_format_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_auth_header),
		cmocka_unit_test(test_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
