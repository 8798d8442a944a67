/* test_report_digest.c — the digest mail's text (src/report/digest.c,
 * issue 17 D): an employee's weekly digest in Dutch and a director's
 * monthly one in English, written out in full; a hidden score is words,
 * never a number; the HTML part escapes what people wrote and the text
 * part drops control characters; a content without its role or links is
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/digest.h"

typedef struct built {
	char subject[512];
	char text[16384];
	char html[32768];
} built;

static ks_err build(const char *json, const char *lang, built *out)
{
	json_error_t je;
	json_t *c = json_loads(json, 0, &je);
	assert_non_null(c);
	ks_buf s, t, h;
	buf_init(&s, 4096);
	buf_init(&t, 64 * 1024);
	buf_init(&h, 64 * 1024);
	ks_err err = digest_build(c, lang, "Energie BV", &s, &t, &h);
	if (!err) {
		assert_true(s.len < sizeof out->subject && t.len < sizeof out->text && h.len < sizeof out->html);
		memcpy(out->subject, s.data, s.len);
		out->subject[s.len] = '\0';
		memcpy(out->text, t.data, t.len);
		out->text[t.len] = '\0';
		memcpy(out->html, h.data, h.len);
		out->html[h.len] = '\0';
	}
	buf_free(&s);
	buf_free(&t);
	buf_free(&h);
	json_decref(c);
	return err;
}

static const char *const EMPLOYEE =
	"{\"role\":\"employee\",\"period\":\"2026-W49\",\"from\":\"2026-11-30\",\"to\":\"2026-12-06\","
	"\"name\":\"Sanne de Vries\",\"scope\":\"\","
	"\"my_score\":{\"period\":\"2026-11\",\"min_n\":10,\"nps\":null},"
	"\"compliments\":[{\"text\":\"Top <b>geholpen</b>\\necht\",\"note\":\"Mooi & snel\",\"from\":\"Pat\",\"employee\":\"Sanne de Vries\"}],"
	"\"learning\":{\"shown\":true,\"min_n\":0,\"items\":[{\"text\":\"Duurde lang\",\"band\":\"detractor\"}]},"
	"\"goals\":[{\"period\":\"2026-Q4\",\"metric\":\"nps\",\"target\":20,\"value\":23.3,\"status\":\"likely\"}],"
	"\"page_url\":\"https://f.example.nl/#/me\",\"unsubscribe_url\":\"https://f.example.nl/d/abc\"}";

static void test_employee_weekly_dutch(void **state)
{
	(void)state;
	built b;
	assert_int_equal(build(EMPLOYEE, "nl", &b), KS_OK);
	assert_string_equal(b.subject, "[Energie BV] Je weekoverzicht 2026-W49");
	assert_string_equal(b.text,
			    "Hallo Sanne de Vries,\n"
			    "Dit is je weekoverzicht van 2026-11-30 tot en met 2026-12-06 (2026-W49).\n"
			    "\nJouw NPS\n"
			    "2026-11: nog te weinig antwoorden voor een score (minder dan 10).\n"
			    "\nJe nieuwe complimenten\n"
			    "  - Van Pat: \"Top <b>geholpen</b> echt\"\n"
			    "  -     Mooi & snel\n"
			    "\nLeerpunten\n"
			    "  - \"Duurde lang\"\n"
			    "\nTeamdoel\n"
			    "  - NPS 2026-Q4: doel 20,0, nu 23,3 (waarschijnlijk behaald)\n"
			    "\nMeer in de app:\n  https://f.example.nl/#/me\n\n"
			    "Geen overzichten meer ontvangen:\n  https://f.example.nl/d/abc\n");
	/* what people wrote is escaped in the HTML, never markup */
	assert_non_null(strstr(b.html, "Top &lt;b&gt;geholpen&lt;/b&gt;"));
	assert_non_null(strstr(b.html, "Mooi &amp; snel"));
	assert_null(strstr(b.html, "<b>geholpen"));
	assert_non_null(strstr(b.html, "<html lang=\"nl\">"));
	assert_non_null(strstr(b.html, "<a href=\"https://f.example.nl/d/abc\">Geen overzichten meer ontvangen</a>"));
}

static const char *const DIRECTOR =
	"{\"role\":\"director\",\"period\":\"2026-11\",\"from\":\"2026-11-01\",\"to\":\"2026-11-30\","
	"\"name\":\"Dana\",\"scope\":\"\","
	"\"scores\":{\"n\":525,\"min_n\":5,\"insufficient\":false,"
	"\"nps\":{\"n\":525,\"value\":28.0,\"low\":21.1,\"high\":34.6},"
	"\"grade\":null,\"ces\":null,\"hidden\":[\"ces\"]},"
	"\"drivers\":[{\"aspect\":\"waiting time\",\"score\":6.5,\"n\":120,\"gain\":3.2},"
	"{\"aspect\":\"friendliness\",\"score\":8.25,\"n\":98,\"gain\":null}],"
	"\"actions\":[{\"title\":\"Callback\",\"status\":\"done\",\"start_date\":\"2026-09-01\",\"change\":4.25,\"verdict\":\"within_noise\"},"
	"{\"title\":\"New app\",\"status\":\"in_progress\",\"start_date\":\"2026-11-20\",\"change\":null,\"verdict\":null}],"
	"\"kpis\":[{\"name\":\"Cost to serve\",\"unit\":\"EUR\",\"period\":\"2026-11\",\"value\":37.2},"
	"{\"name\":\"Brand value\",\"unit\":\"index\",\"period\":\"2026-11\",\"value\":null}],"
	"\"page_url\":\"https://f/#/org\",\"unsubscribe_url\":\"https://f/d/x\"}";

static void test_director_monthly_english(void **state)
{
	(void)state;
	built b;
	assert_int_equal(build(DIRECTOR, "en", &b), KS_OK);
	assert_string_equal(b.subject, "[Energie BV] Your monthly digest 2026-11");
	assert_string_equal(b.text,
			    "Hello Dana,\n"
			    "This is your monthly digest from 2026-11-01 to 2026-11-30 (2026-11).\n"
			    "\nScores\n"
			    "525 answers.\n"
			    "  - NPS: 28.0 (95% interval 21.1 to 34.6; n = 525)\n"
			    "  - Grade: no answers\n"
			    "  - CES: hidden (too few answers)\n"
			    "\nWhat drives the NPS most\n"
			    "  - waiting time: mean 6.50 (n = 120); up to 3.2 NPS points to gain\n"
			    "  - friendliness: mean 8.25 (n = 98)\n"
			    "\nImprovement actions and their effect\n"
			    "  - Callback (done, since 2026-09-01): NPS change against the rest of the organisation 4.25 points "
			    "(within noise) — associated with, not proof of cause\n"
			    "  - New app (in_progress, since 2026-11-20): effect not measurable yet\n"
			    "\nKPI's\n"
			    "  - Cost to serve 2026-11: 37.20 EUR\n"
			    "  - Brand value 2026-11: - index\n"
			    "\nMore in the app:\n  https://f/#/org\n\n"
			    "Stop receiving digests:\n  https://f/d/x\n");
	/* a hidden measure and one never asked read differently, and neither as a number */
	assert_non_null(strstr(b.html, "<li>CES: hidden (too few answers)</li>"));
	assert_non_null(strstr(b.html, "<li>Grade: no answers</li>"));
}

static void test_scores_below_min_n(void **state)
{
	(void)state;
	built b;
	assert_int_equal(build("{\"role\":\"manager\",\"period\":\"2026-11\",\"from\":\"2026-11-01\",\"to\":\"2026-11-30\","
			       "\"name\":\"M\",\"scope\":\"Team Noord\",\"scores\":{\"n\":3,\"min_n\":5,\"insufficient\":true},"
			       "\"page_url\":\"https://f/#/org\",\"unsubscribe_url\":\"https://f/d/x\"}",
			       "nl", &b),
			 KS_OK);
	assert_non_null(strstr(b.text, "(2026-11, Team Noord)."));
	assert_non_null(strstr(b.text, "Te weinig antwoorden deze maand voor scores (minder dan 5).\n"));
	assert_null(strstr(b.text, "3 antwoorden"));
}

static void test_refused_without_role_or_links(void **state)
{
	(void)state;
	built b;
	assert_int_equal(build("{\"period\":\"2026-11\",\"page_url\":\"u\",\"unsubscribe_url\":\"v\"}", "nl", &b),
			 KS_ERR_INVALID);
	assert_int_equal(build("{\"role\":\"director\",\"page_url\":\"u\"}", "nl", &b), KS_ERR_INVALID);
	assert_int_equal(build("{\"role\":\"director\",\"unsubscribe_url\":\"v\"}", "en", &b), KS_ERR_INVALID);
}

/* A long text is cut to fit its buffer (1,199 bytes of text in a
 * compliment) on a character boundary, for characters of 2, 3 and 4 bytes
 * and for a cut that falls exactly between two characters; half a UTF-8
 * sequence would make the whole mail invalid. Expected counts by hand:
 * 1199 / 2 = 599 "é", 1199 / 3 = 399 "€", 1199 / 4 = 299 "😀",
 * "a" + 599 "é" = 1199 bytes exactly. */
static void cut_case(const char *prefix, const char *ch, size_t repeat, size_t want)
{
	static char json[16384], line[8192];
	size_t clen = strlen(ch), plen = strlen(prefix);
	char *text = malloc(plen + clen * repeat + 1);
	assert_non_null(text);
	memcpy(text, prefix, plen);
	for (size_t i = 0; i < repeat; i++)
		memcpy(text + plen + i * clen, ch, clen);
	text[plen + clen * repeat] = '\0';
	snprintf(json, sizeof json,
		 "{\"role\":\"employee\",\"period\":\"2026-W02\",\"from\":\"2026-01-05\",\"to\":\"2026-01-11\","
		 "\"name\":\"X\",\"compliments\":[{\"text\":\"%s\",\"note\":null,\"from\":\"Pat\",\"employee\":\"X\"}],"
		 "\"page_url\":\"https://f/#/me\",\"unsubscribe_url\":\"https://f/d/x\"}",
		 text);
	free(text);
	size_t n = (size_t)snprintf(line, sizeof line, "\n  - Van Pat: \"%s", prefix);
	for (size_t i = 0; i < want; i++, n += clen)
		memcpy(line + n, ch, clen);
	memcpy(line + n, "\"\n", 3);
	built b;
	assert_int_equal(build(json, "nl", &b), KS_OK);
	assert_non_null(strstr(b.text, line));
}

static void test_cut_on_character_boundary(void **state)
{
	(void)state;
	cut_case("", "\xc3\xa9", 1250, 599);             /* é, 2 bytes */
	cut_case("", "\xe2\x82\xac", 1000, 399);         /* €, 3 bytes */
	cut_case("", "\xf0\x9f\x98\x80", 700, 299);      /* 😀, 4 bytes */
	cut_case("a", "\xc3\xa9", 1250, 599);            /* the cut between two characters */
	cut_case("ab", "\xe2\x82\xac", 1000, 399);       /* 2 + 399 * 3 = 1199: between two again */
}

/* Names and units of KPIs and drivers come from people (the KPI
 * catalogue, survey drivers): a line break in one cannot break the text
 * part's layout. */
static void test_control_characters_in_kpis_and_drivers(void **state)
{
	(void)state;
	built b;
	assert_int_equal(build("{\"role\":\"director\",\"period\":\"2026-11\",\"from\":\"2026-11-01\",\"to\":\"2026-11-30\","
			       "\"name\":\"Dana\","
			       "\"drivers\":[{\"aspect\":\"waiting\\ntime\",\"score\":6.5,\"n\":120,\"gain\":null}],"
			       "\"kpis\":[{\"name\":\"Cost\\r\\nto serve\",\"unit\":\"k\\u0007EUR\",\"period\":\"2026-11\",\"value\":37.2}],"
			       "\"page_url\":\"https://f/#/org\",\"unsubscribe_url\":\"https://f/d/x\"}",
			       "en", &b),
			 KS_OK);
	assert_non_null(strstr(b.text, "\n  - waiting time: mean 6.50 (n = 120)\n"));
	assert_non_null(strstr(b.text, "\n  - Cost  to serve 2026-11: 37.20 k EUR\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_employee_weekly_dutch),
		cmocka_unit_test(test_director_monthly_english),
		cmocka_unit_test(test_scores_below_min_n),
		cmocka_unit_test(test_refused_without_role_or_links),
		cmocka_unit_test(test_cut_on_character_boundary),
		cmocka_unit_test(test_control_characters_in_kpis_and_drivers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
