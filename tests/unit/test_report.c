/* test_report.c — what the PDF and XLSX of a breakdown share (src/report/report.c,
 * issue 17 X): the period and the window in words in both languages, the
 * labels, the values of text and attribute dimensions in words, and the rows read from a /metrics reply — a hidden measure is
 * HIDDEN (never a number), a measure without answers ABSENT, an
 * insufficient row hidden whole; a reply that is not one is refused.
 * Every expected text is written out by hand from the calendar.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"
#include "report/report.h"

static void period(report_lang l, const char *label, const char *want)
{
	char out[96];
	report_period_words(l, label, out, sizeof out);
	assert_string_equal(out, want);
}

static void test_period_words(void **state)
{
	(void)state;
	period(REPORT_NL, "2026", "2026");
	period(REPORT_NL, "2026-Q4", "4e kwartaal 2026");
	period(REPORT_EN, "2026-Q4", "Q4 2026");
	period(REPORT_NL, "2026-03", "maart 2026");
	period(REPORT_EN, "2026-03", "March 2026");
	period(REPORT_NL, "2026-W09", "week 9 van 2026");
	period(REPORT_EN, "2026-W53", "week 53 of 2026");
	period(REPORT_NL, "2026-11-05", "5 november 2026");
	period(REPORT_EN, "2026-11-05", "November 5, 2026");
	period(REPORT_NL, "last_30d", "laatste 30 dagen");
	period(REPORT_EN, "last_7d", "last 7 days");
	period(REPORT_NL, "", "alle tijd");
	period(REPORT_EN, NULL, "all time");
	period(REPORT_NL, "2026-13x", "2026-13x"); /* not a label: as it is */
}

static void window(report_lang l, const char *from, const char *to, const char *want)
{
	report_table t;
	memset(&t, 0, sizeof t);
	snprintf(t.from, sizeof t.from, "%s", from);
	snprintf(t.to, sizeof t.to, "%s", to);
	char out[160];
	report_window_words(l, &t, out, sizeof out);
	assert_string_equal(out, want);
}

static void test_window_words(void **state)
{
	(void)state;
	/* the end is exclusive: a bound at local midnight is the day before,
	 * across a month's and a year's end, and in a leap year */
	window(REPORT_NL, "2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00",
	       "van 1 november 2026 t/m 30 november 2026");
	window(REPORT_EN, "2025-01-01T00:00:00+01:00", "2026-01-01T00:00:00+01:00",
	       "from January 1, 2025 to December 31, 2025");
	window(REPORT_NL, "2024-02-01T00:00:00+01:00", "2024-03-01T00:00:00+01:00",
	       "van 1 februari 2024 t/m 29 februari 2024");
	/* a cut "as of" today keeps its day when it is not at midnight */
	window(REPORT_NL, "2026-01-01T00:00:00+01:00", "2026-12-07T10:00:00+01:00",
	       "van 1 januari 2026 t/m 7 december 2026");
	window(REPORT_EN, "", "", "all time");
	window(REPORT_NL, "", "2026-04-01T00:00:00+02:00", "t/m 31 maart 2026");
}

static void test_labels(void **state)
{
	(void)state;
	assert_string_equal(report_label(REPORT_NL, "hidden"), "te weinig reacties");
	assert_string_equal(report_label(REPORT_EN, "hidden"), "not enough responses");
	assert_string_equal(report_label(REPORT_NL, "touchpoint"), "Contactmoment");
	assert_string_equal(report_label(REPORT_EN, "customer_since_band"), "Customer since");
	assert_string_equal(report_label(REPORT_NL, "attr.klantgroep"), "klantgroep");
	assert_string_equal(report_label(REPORT_EN, "no_such_key"), "no_such_key");
	char out[64];
	report_page_words(REPORT_NL, 2, 3, out, sizeof out);
	assert_string_equal(out, "Pagina 2 van 3");
	report_page_words(REPORT_EN, 1, 1, out, sizeof out);
	assert_string_equal(out, "Page 1 of 1");
	report_lang l = REPORT_NL;
	assert_true(report_lang_parse("en", &l) && l == REPORT_EN);
	assert_false(report_lang_parse("EN", &l));
	assert_false(report_lang_parse(NULL, &l));
}

static void value(report_lang l, const json_t *themes, const char *dim, const char *v, const char *want)
{
	char out[128];
	report_value_words(l, themes, dim, v, out, sizeof out);
	assert_string_equal(out, want);
}

static void test_value_words(void **state)
{
	(void)state;
	json_t *themes = json_loads("{\"waiting_time\":{\"nl\":\"Wachttijd\",\"en\":\"Waiting time\"},"
				    "\"only_nl\":{\"nl\":\"Alleen Nederlands\"}}", 0, NULL);
	assert_non_null(themes);
	value(REPORT_NL, themes, "theme", "waiting_time", "Wachttijd");
	value(REPORT_EN, themes, "theme", "waiting_time", "Waiting time");
	value(REPORT_EN, themes, "theme", "only_nl", "Alleen Nederlands");  /* the other language, not the id */
	value(REPORT_EN, themes, "theme", "gone", "gone");                  /* no label: the id */
	value(REPORT_NL, NULL, "theme", "waiting_time", "waiting_time");
	value(REPORT_NL, NULL, "sentiment", "negative", "Negatief");
	value(REPORT_EN, NULL, "sentiment", "positive", "Positive");
	value(REPORT_NL, NULL, "newsletter", "yes", "ja");
	value(REPORT_NL, NULL, "login_band", "none", "geen logins");
	value(REPORT_EN, NULL, "login_band", "4-10", "4-10 logins");
	value(REPORT_NL, NULL, "attr.klantgroep", "unknown", "onbekend");
	value(REPORT_EN, NULL, "attr.klantgroep", "other", "other");
	value(REPORT_NL, NULL, "attr.klantgroep", "goud", "goud");
	/* a unit or a channel keeps its name, also one that reads like a value */
	value(REPORT_NL, NULL, "team", "unknown", "unknown");
	value(REPORT_NL, NULL, "channel", "phone", "phone");
	value(REPORT_NL, NULL, "sentiment", "yes", "yes");
	json_decref(themes);
}

/* A reply as /metrics prints it: a shown row, a row whose grade is hidden
 * and that has no CES answers, an insufficient row. */
static const char *reply_text =
	"{\"n\":40,\"min_n\":5,\"insufficient\":false,"
	"\"nps\":{\"n\":40,\"value\":20.0,\"low\":-1.5,\"high\":39.2},\"grade\":{\"n\":30,\"mean\":7.41},"
	"\"ces\":{\"n\":12,\"mean\":5.08},\"hidden\":[],"
	"\"filter\":{\"period\":\"2026-03\",\"from\":\"2026-03-01T00:00:00+01:00\",\"to\":\"2026-04-01T00:00:00+02:00\"},"
	"\"group_by\":[\"team\",\"month\"],\"rows\":["
	"{\"n\":30,\"min_n\":5,\"insufficient\":false,\"nps\":{\"n\":30,\"value\":26.7,\"low\":2.1,\"high\":46.0},"
	"\"grade\":{\"n\":28,\"mean\":7.5},\"ces\":{\"n\":12,\"mean\":5.08},\"hidden\":[],"
	"\"team\":{\"id\":3,\"name\":\"Team \xC3\x89\xC3\xA9n\"},\"month\":\"2026-03\"},"
	"{\"n\":7,\"min_n\":5,\"insufficient\":false,\"nps\":{\"n\":7,\"value\":0.0,\"low\":-50.0,\"high\":50.0},"
	"\"grade\":null,\"ces\":null,\"hidden\":[\"grade\"],\"team\":{\"id\":4,\"name\":\"Zo\xC3\xAB\"},\"month\":\"2026-03\"},"
	"{\"n\":3,\"min_n\":5,\"insufficient\":true,\"team\":{\"id\":null,\"name\":\"(none)\"},\"month\":\"2026-03\"}]}";

static void test_table_read(void **state)
{
	(void)state;
	json_t *reply = json_loads(reply_text, 0, NULL);
	assert_non_null(reply);
	report_table t;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(report_table_read(reply, &t, &e), KS_OK);
	assert_int_equal(t.n_dims, 2);
	assert_string_equal(t.dim[0], "team");
	assert_string_equal(t.dim[1], "month");
	assert_string_equal(t.period, "2026-03");
	assert_int_equal(t.n_rows, 3);
	assert_int_equal(t.total.n, 40);
	assert_int_equal(t.total.m[REPORT_M_NPS].state, REPORT_SHOWN);
	assert_true(t.total.m[REPORT_M_NPS].low == -1.5 && t.total.m[REPORT_M_NPS].high == 39.2);

	const report_row *a = &t.rows[0], *b = &t.rows[1], *c = &t.rows[2];
	assert_string_equal(a->key[0], "Team \xC3\x89\xC3\xA9n");
	assert_string_equal(a->key[1], "2026-03");
	assert_true(a->m[REPORT_M_NPS].value == 26.7 && a->m[REPORT_M_GRADE].value == 7.5);
	assert_int_equal(a->m[REPORT_M_CES].n, 12);

	assert_int_equal(b->m[REPORT_M_NPS].state, REPORT_SHOWN);
	assert_int_equal(b->m[REPORT_M_GRADE].state, REPORT_HIDDEN);
	assert_int_equal(b->m[REPORT_M_CES].state, REPORT_ABSENT);
	assert_true(b->m[REPORT_M_GRADE].value == 0.0); /* nothing read for a hidden measure */
	char note[128];
	report_row_note(REPORT_NL, b, note, sizeof note);
	assert_string_equal(note, "te weinig reacties voor cijfer");
	report_row_note(REPORT_EN, a, note, sizeof note);
	assert_string_equal(note, "");

	assert_true(c->insufficient);
	assert_int_equal(c->n, 3);
	for (int i = 0; i < REPORT_M_COUNT; i++)
		assert_int_equal(c->m[i].state, REPORT_HIDDEN);
	report_row_note(REPORT_EN, c, note, sizeof note);
	assert_string_equal(note, "not enough responses");

	char title[128];
	report_title(REPORT_NL, &t, title, sizeof title);
	assert_string_equal(title, "Scores per team en maand");
	report_title(REPORT_EN, &t, title, sizeof title);
	assert_string_equal(title, "Scores by team and month");
	report_table_free(&t);
	json_decref(reply);
}

/* Cuts fall on character boundaries: "é" is C3 A9, "€" E2 82 AC, "😀" F0 9F 98 80. */
static void test_utf8_copy(void **state)
{
	(void)state;
	char out[16];
	assert_true(utf8_copy(out, 4, "\xC3\xA9\xC3\xA9\xC3\xA9")); /* 6 bytes into 3 + NUL */
	assert_string_equal(out, "\xC3\xA9");
	assert_false(utf8_copy(out, 7, "\xC3\xA9\xC3\xA9\xC3\xA9"));
	assert_string_equal(out, "\xC3\xA9\xC3\xA9\xC3\xA9");
	assert_true(utf8_copy(out, 3, "a\xE2\x82\xAC"));
	assert_string_equal(out, "a");
	assert_true(utf8_copy(out, 4, "\xF0\x9F\x98\x80"));
	assert_string_equal(out, "");
	assert_false(utf8_copy(out, 1, NULL));
	assert_string_equal(out, "");

	char line[8] = "";
	size_t used = 0;
	utf8_append(line, sizeof line, &used, "ab");
	utf8_append(line, sizeof line, &used, "\xE2\x82\xAC");   /* 5 bytes */
	utf8_append(line, sizeof line, &used, "\xC3\xA9\xC3\xA9"); /* room for one é */
	assert_string_equal(line, "ab\xE2\x82\xAC\xC3\xA9");
	assert_int_equal(used, 7);
	utf8_append(line, sizeof line, &used, "x"); /* full: nothing */
	assert_string_equal(line, "ab\xE2\x82\xAC\xC3\xA9");
}

static void clean(const char *in, const char *want)
{
	char *got = utf8_clean(in);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_utf8_clean(void **state)
{
	(void)state;
	clean("Zo\xC3\xAB", "Zo\xC3\xAB");                       /* valid: as it is */
	clean("a\xC3", "a\xEF\xBF\xBD");                         /* half a character at the end */
	clean("\xE2\x82" "x", "\xEF\xBF\xBD\xEF\xBF\xBDx");      /* two thirds of € */
	clean("\xFF\xC3\xA9", "\xEF\xBF\xBD\xC3\xA9");           /* a byte UTF-8 never has */
	clean("\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD");           /* an overlong '/' */
	clean("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); /* a surrogate */
	clean(NULL, "");
}

/* The guard before cairo: a filter value and an organisation name with
 * bytes that are not UTF-8 (a cut inside "é") still make a PDF; without it
 * cairo fails the surface ("input string not valid UTF-8"). */
static void test_pdf_bad_bytes(void **state)
{
	(void)state;
	json_t *reply = json_loads(reply_text, 0, NULL);
	assert_non_null(reply);
	report_filter filters[] = {{"team_id", "Team \xC3"}, {"journey_id", "\xA9\xFF reis"}};
	report_doc d = {.reply = reply, .lang = REPORT_NL, .org_name = "Org \xC3", .generated = "2026-12-07 11:32",
			.filters = filters, .n_filters = 2, .min_n = 5, .min_n_person = 10};
	ks_buf out;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(report_pdf(&d, &out, &e), KS_OK);
	assert_true(out.len > 5 && memcmp(out.data, "%PDF-", 5) == 0);
	buf_free(&out);
	json_decref(reply);
}

static void test_not_a_reply(void **state)
{
	(void)state;
	const char *bad[] = {"[]", "{\"rows\":[]}", "{\"n\":3,\"group_by\":[\"a\",\"b\",\"c\"]}",
			     "{\"n\":3,\"group_by\":[\"team\"],\"rows\":[{\"team\":\"x\"}]}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		assert_non_null(j);
		report_table t;
		ks_error e;
		ks_error_clear(&e);
		assert_int_equal(report_table_read(j, &t, &e), KS_ERR_INVALID);
		assert_null(t.rows);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_period_words),
		cmocka_unit_test(test_window_words),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_value_words),
		cmocka_unit_test(test_table_read),
		cmocka_unit_test(test_not_a_reply),
		cmocka_unit_test(test_utf8_copy),
		cmocka_unit_test(test_utf8_clean),
		cmocka_unit_test(test_pdf_bad_bytes),
	};
	report_global_init();
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	report_global_cleanup();
	return failed;
}
