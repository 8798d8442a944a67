/* test_pulse.c — the pulse's pure parts (src/pulse/pulse.c, pulse_page.c):
 * the eNPS interval, the answer form's parsing with its unhappy paths, the
 * page's escaping and the invitation mail's text.
 *
 * The interval's literals were computed independently in Python from the
 * adjusted-Wald formula of docs/STATISTICS.md §2 (n' = n + 3, 3/4 added to
 * promoters and detractors, 1.96), never with the code under test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pulse/pulse.h"
#include "pulse/pulse_page.h"

#define assert_near(got, want, eps)                                                 \
	do {                                                                        \
		double got_ = (got), want_ = (want);                                \
		if (!(fabs(got_ - want_) <= (eps))) {                               \
			print_error("%s = %.17g, want %.17g\n", #got, got_, want_);    \
			fail();                                                     \
		}                                                                   \
	} while (0)

static void test_enps_interval(void **state)
{
	(void)state;
	pulse_enps x;
	pulse_enps_of(4, 1, 6, &x);
	assert_near(x.value, 50.0, 1e-12);
	assert_near(x.low, -17.740082718077346, 1e-9);
	assert_near(x.high, 84.40674938474402, 1e-9);
	pulse_enps_of(0, 5, 5, &x);  /* all detractors: clipped at -100 */
	assert_near(x.value, -100.0, 1e-12);
	assert_near(x.low, -100.0, 1e-12);
	assert_near(x.high, -17.490625976359105, 1e-9);
	pulse_enps_of(12, 0, 12, &x);
	assert_near(x.low, 54.19540092670817, 1e-9);
	assert_near(x.high, 100.0, 1e-12);
	pulse_enps_of(0, 0, 0, &x);  /* no answers: all zero, nothing divided */
	assert_near(x.value, 0.0, 0.0);
}

static int parse(const char *body, int n_items, pulse_form *f)
{
	return pulse_form_parse(body, strlen(body), n_items, f);
}

static bool bad(const pulse_form *f, const char *field)
{
	for (int i = 0; i < f->n_bad; i++)
		if (strcmp(f->bad[i], field) == 0)
			return true;
	return false;
}

static void test_form_ok(void **state)
{
	(void)state;
	static pulse_form f;
	assert_int_equal(parse("enps=9&i1=4&i2=5&i3=1&open=Meer+tijd%2C+graag%21", 3, &f), KS_OK);
	assert_int_equal(f.a.enps, 9);
	assert_int_equal(f.a.item[0], 4);
	assert_int_equal(f.a.item[1], 5);
	assert_int_equal(f.a.item[2], 1);
	assert_string_equal(f.a.comment, "Meer tijd, graag!");
	/* two items: i3 is not asked and stays 0; an empty comment is none */
	assert_int_equal(parse("enps=0&i1=1&i2=2&open=+%0A+", 2, &f), KS_OK);
	assert_int_equal(f.a.item[2], 0);
	assert_null(f.a.comment);
	/* UTF-8 */
	assert_int_equal(parse("enps=10&i1=3&i2=3&i3=3&open=%C3%A9%C3%A9n", 3, &f), KS_OK);
	assert_string_equal(f.a.comment, "\xc3\xa9\xc3\xa9n");
}

static void test_form_refused(void **state)
{
	(void)state;
	static pulse_form f;
	assert_int_equal(parse("enps=11&i1=4&i2=4&i3=4", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "enps"));
	assert_int_equal(f.n_bad, 1);
	assert_int_equal(parse("enps=-1&i1=4&i2=4&i3=4", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "enps"));
	assert_int_equal(parse("enps=9x&i1=4&i2=4&i3=4", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "enps"));
	assert_int_equal(parse("enps=&i1=4&i2=4&i3=4", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "enps"));
	/* missing and out-of-range items */
	assert_int_equal(parse("enps=5&i1=0&i3=6", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "i1") && bad(&f, "i2") && bad(&f, "i3"));
	assert_false(bad(&f, "enps"));
	/* nothing at all */
	assert_int_equal(parse("", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "enps") && bad(&f, "i1"));
	/* a broken %-escape and an embedded NUL are not our form */
	assert_int_equal(parse("enps=9&i1=4&i2=4&i3=4&x%zz=1", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "form"));
	assert_int_equal(parse("enps=9&i1=4&i2=4&i3=4&open=a%00b", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "open"));
	/* invalid UTF-8 in the comment */
	assert_int_equal(parse("enps=9&i1=4&i2=4&i3=4&open=%FF%FE", 3, &f), KS_ERR_INVALID);
	assert_true(bad(&f, "open"));
	/* a field sent twice: the first counts */
	assert_int_equal(parse("enps=9&enps=0&i1=4&i2=4&i3=4", 3, &f), KS_OK);
	assert_int_equal(f.a.enps, 9);
}

static void test_form_comment_length(void **state)
{
	(void)state;
	static pulse_form f;
	static char body[16 * 1024];
	/* 2000 characters of two bytes each (é) are fine, 2001 are not */
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(body, sizeof body, "enps=9&i1=4&i2=4&i3=4&open=");
		for (int i = 0; i < 2000 + extra; i++)
			n += (size_t)snprintf(body + n, sizeof body - n, "%%C3%%A9");
		assert_int_equal(pulse_form_parse(body, n, 3, &f), extra ? KS_ERR_INVALID : KS_OK);
		assert_int_equal(bad(&f, "open"), extra == 1);
	}
}

/* A browser sends a textarea's line breaks as CR LF: the limit counts
 * what is stored, the LF. 1000 x "a" CR LF is 2000 characters stored
 * (3000 sent); one more line is over. */
static void test_form_comment_crlf(void **state)
{
	(void)state;
	static pulse_form f;
	static char body[16 * 1024];
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(body, sizeof body, "enps=9&i1=4&i2=4&i3=4&open=");
		for (int i = 0; i < 1000 + extra; i++)
			n += (size_t)snprintf(body + n, sizeof body - n, "a%%0D%%0A");
		assert_int_equal(pulse_form_parse(body, n, 3, &f), extra ? KS_ERR_INVALID : KS_OK);
		assert_int_equal(bad(&f, "open"), extra == 1);
		if (!extra) {
			assert_int_equal(strlen(f.a.comment), 2000);
			assert_null(strchr(f.a.comment, '\r'));
			assert_memory_equal(f.a.comment, "a\na\n", 4);
		}
	}
	/* a lone CR stays (only the pair is a line break) */
	size_t n = (size_t)snprintf(body, sizeof body, "enps=9&i1=4&i2=4&i3=4&open=x%%0Dy%%0D%%0Az");
	assert_int_equal(pulse_form_parse(body, n, 3, &f), KS_OK);
	assert_string_equal(f.a.comment, "x\ry\nz");
}

static void test_page_escapes(void **state)
{
	(void)state;
	json_t *q = json_pack("{s:{s:s, s:s}, s:[{s:s, s:s}, {s:s, s:s}], s:{s:s, s:s}}", "enps", "nl",
			      "Zou je {org} aanraden?", "en", "Would you recommend {org}?", "items", "nl",
			      "<b>vet</b>", "en", "bold", "nl", "twee", "en", "two", "open", "nl", "Open & eerlijk", "en",
			      "Open");
	ks_buf b;
	buf_init(&b, 256 * 1024);
	assert_int_equal(pulse_page_form(&b, q, "nl", "tok_EN-1", "A&B <BV>", NULL), KS_OK);
	assert_non_null(strstr(b.data, "Zou je A&amp;B &lt;BV&gt; aanraden?"));
	assert_non_null(strstr(b.data, "&lt;b&gt;vet&lt;/b&gt;"));
	assert_null(strstr(b.data, "<b>vet"));
	assert_non_null(strstr(b.data, "action=\"/p/tok_EN-1?lang=nl\""));
	assert_null(strstr(b.data, "name=\"i3\""));  /* two items: no third scale */
	assert_non_null(strstr(b.data, "Open &amp; eerlijk"));
	buf_reset(&b);
	assert_int_equal(pulse_page_form(&b, q, "en", "t", "Org", NULL), KS_OK);
	assert_non_null(strstr(b.data, "Would you recommend Org?"));
	assert_non_null(strstr(b.data, "<html lang=\"en\">"));
	buf_free(&b);
	json_decref(q);
}

static void test_mail(void **state)
{
	(void)state;
	ks_buf s, t;
	buf_init(&s, 1024);
	buf_init(&t, 16 * 1024);
	pulse_mail_input in = {.lang = "nl", .first_name = "Sanne", .org_name = "Energie BV",
			       .base_url = "https://x.example", .token = "abc", .enps_question = "Raad je {org} aan?",
			       .closes_at = 1796169600 /* 2026-12-02T00:00:00Z */};
	assert_int_equal(pulse_mail_build(&in, &s, &t), KS_OK);
	assert_string_equal(s.data, "[Energie BV] Hoe gaat het op je werk? Twee minuten, anoniem");
	assert_non_null(strstr(t.data, "Hallo Sanne,"));
	assert_non_null(strstr(t.data, "Raad je Energie BV aan?"));
	assert_non_null(strstr(t.data, "open tot 2026-12-02"));
	assert_non_null(strstr(t.data, "https://x.example/p/abc"));
	buf_free(&s);
	buf_free(&t);
	/* the closing date in the organisation's time zone (the store computes
	 * it): 23:33 UTC on the 1st is already the 2nd in Amsterdam */
	buf_init(&s, 1024);
	buf_init(&t, 16 * 1024);
	in.closes_at = 1796168000; /* 2026-12-01T23:33:20Z = 2026-12-02 00:33 in Amsterdam */
	in.closes_on = "2026-12-02";
	assert_int_equal(pulse_mail_build(&in, &s, &t), KS_OK);
	assert_non_null(strstr(t.data, "open tot 2026-12-02"));
	assert_null(strstr(t.data, "2026-12-01"));
	buf_free(&s);
	buf_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enps_interval),
		cmocka_unit_test(test_form_ok),
		cmocka_unit_test(test_form_refused),
		cmocka_unit_test(test_form_comment_length),
		cmocka_unit_test(test_form_comment_crlf),
		cmocka_unit_test(test_page_escapes),
		cmocka_unit_test(test_mail),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
