/* test_survey_page.c — rendering and parsing of the public survey page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "survey/page.h"

/* ---- fixtures ----------------------------------------------------------- */

enum { Q_NPS, Q_GRADE, Q_CES, Q_FRIENDLY, Q_SPEED, Q_OPEN, Q_COUNT };

static void add_q(model_survey *s, model_qtype t, const char *aspect, const char *nl,
		  const char *en, bool required)
{
	model_question *q = &s->q[s->n_questions++];
	memset(q, 0, sizeof *q);
	q->type = t;
	snprintf(q->aspect, sizeof q->aspect, "%s", aspect);
	snprintf(q->text_nl, sizeof q->text_nl, "%s", nl);
	snprintf(q->text_en, sizeof q->text_en, "%s", en);
	q->required = required;
}

static model_survey make_survey(void)
{
	model_survey s;
	memset(&s, 0, sizeof s);
	s.id = 7;
	snprintf(s.name, sizeof s.name, "Na contact");
	add_q(&s, MODEL_Q_NPS, "", "Hoe waarschijnlijk beveel je ons aan?",
	      "How likely are you to recommend us?", true);
	add_q(&s, MODEL_Q_GRADE, "", "Welk cijfer geef je ons?", "What grade do you give us?", false);
	add_q(&s, MODEL_Q_CES, "", "We maakten het makkelijk.", "We made it easy.", false);
	add_q(&s, MODEL_Q_DRIVER, "vriendelijkheid", "Vriendelijkheid", "Friendliness", false);
	add_q(&s, MODEL_Q_DRIVER, "snelheid", "Snelheid", "Speed", false);
	add_q(&s, MODEL_Q_OPEN, "", "Wat kan beter?", "What could be better?", false);
	return s;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Render the form into a fresh string (caller frees). */
static char *render(const model_survey *s, const char *lang, int prefill,
		    const survey_form_errors *errs)
{
	ks_buf b;
	buf_init(&b, 1 << 20);
	ks_err rc = survey_page_form(&b, s, lang, "tok_ABC-123", "nonce-1", "Klantenservice",
				     "Sanne", prefill, errs);
	assert_int_equal(rc, KS_OK);
	return buf_steal(&b, NULL);
}

typedef struct parsed {
	ks_err rc;
	model_response r;
	char *open;
	char nonce[SURVEY_NONCE_MAX + 1];
	survey_form_errors errs;
} parsed;

/* Parse body against the standard survey. Returned on the heap because the
 * errors struct is large; free with parsed_free. */
static parsed *parse(const char *body)
{
	model_survey s = make_survey();
	parsed *p = calloc(1, sizeof *p);
	assert_non_null(p);
	model_response_init(&p->r);
	p->rc = survey_form_parse(body, strlen(body), &s, &p->r, &p->open, p->nonce,
				  sizeof p->nonce, &p->errs);
	return p;
}

static void parsed_free(parsed *p)
{
	free(p->open);
	free(p);
}

/* ---- rendering ---------------------------------------------------------- */

static void test_render_escapes_dynamic_text(void **state)
{
	(void)state;
	model_survey s = make_survey();
	snprintf(s.q[Q_NPS].text_nl, sizeof s.q[Q_NPS].text_nl, "<script>alert(1)</script> & \"co\"");
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(survey_page_form(&b, &s, "nl", "t\"><x", "n\"><y", "<b>Balie</b>",
					  "<i>Jan</i>", -1, NULL), KS_OK);
	assert_null(strstr(b.data, "<script>"));
	assert_non_null(strstr(b.data, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;"));
	assert_non_null(strstr(b.data, "&lt;b&gt;Balie&lt;/b&gt;"));
	assert_non_null(strstr(b.data, "&lt;i&gt;Jan&lt;/i&gt;"));
	assert_null(strstr(b.data, "<b>"));
	assert_null(strstr(b.data, "<x"));
	assert_null(strstr(b.data, "<y"));
	assert_non_null(strstr(b.data, "action=\"/s/t%22%3E%3Cx\""));
	assert_non_null(strstr(b.data, "name=\"k\" value=\"n&quot;&gt;&lt;y\""));
	buf_free(&b);
}

static void test_render_structure(void **state)
{
	(void)state;
	model_survey s = make_survey();
	char *html = render(&s, NULL, -1, NULL);
	assert_true(strncmp(html, "<!doctype html>", 15) == 0);
	assert_non_null(strstr(html, "<html lang=\"nl\">"));  /* NULL lang: Dutch */
	assert_non_null(strstr(html, "name=\"viewport\""));
	assert_non_null(strstr(html, "<title>"));
	assert_non_null(strstr(html, "<style>"));
	assert_non_null(strstr(html, "<form method=\"post\" action=\"/s/tok_ABC-123\""));
	assert_non_null(strstr(html, "<input type=\"hidden\" name=\"k\" value=\"nonce-1\">"));
	/* the questions and "may we contact you?" (optional, not preselected) */
	assert_int_equal(count_of(html, "<fieldset"), Q_COUNT + 1);
	assert_int_equal(count_of(html, "<legend"), Q_COUNT + 1);
	assert_int_equal(count_of(html, "name=\"contact\""), 2);
	assert_non_null(strstr(html, "Mogen we contact met je opnemen over je antwoord?"));
	assert_int_equal(count_of(html, "name=\"nps\""), 11);
	assert_int_equal(count_of(html, "name=\"grade\""), 10);
	assert_int_equal(count_of(html, "name=\"ces\""), 7);
	assert_int_equal(count_of(html, "name=\"d_3\""), 10);
	assert_int_equal(count_of(html, "name=\"d_4\""), 10);
	assert_non_null(strstr(html, "<input type=\"radio\" id=\"q0-0\" name=\"nps\" value=\"0\" required>"
				     "<label for=\"q0-0\">"));
	assert_non_null(strstr(html, "name=\"open\" rows=\"5\" maxlength=\"2000\""));
	assert_int_equal(count_of(html, " checked"), 0);  /* ":checked" is CSS */
	assert_null(strstr(html, "role=\"alert\""));
	assert_non_null(strstr(html, "Sanne"));
	assert_non_null(strstr(html, "Klantenservice"));
	assert_null(strstr(html, "<script"));  /* works without JavaScript */
	free(html);
}

static void test_render_nl_and_en(void **state)
{
	(void)state;
	model_survey s = make_survey();
	char *nl = render(&s, "nl", -1, NULL);
	char *en = render(&s, "en", -1, NULL);
	assert_non_null(strstr(nl, "<html lang=\"nl\">"));
	assert_non_null(strstr(nl, "Zeer onwaarschijnlijk"));
	assert_non_null(strstr(nl, "Zeer waarschijnlijk"));
	assert_non_null(strstr(nl, "Hoe waarschijnlijk beveel je ons aan?"));
	assert_non_null(strstr(nl, "Versturen"));
	assert_null(strstr(nl, "Not at all likely"));
	assert_null(strstr(nl, "How likely"));

	assert_non_null(strstr(en, "<html lang=\"en\">"));
	assert_non_null(strstr(en, "Not at all likely"));
	assert_non_null(strstr(en, "Extremely likely"));
	assert_non_null(strstr(en, "How likely are you to recommend us?"));
	assert_non_null(strstr(en, "Friendliness"));
	assert_null(strstr(en, "Zeer onwaarschijnlijk"));
	assert_null(strstr(en, "Vriendelijkheid"));
	free(nl);
	free(en);
}

static void test_render_prefill_checked(void **state)
{
	(void)state;
	model_survey s = make_survey();
	char *html = render(&s, "nl", 9, NULL);
	assert_int_equal(count_of(html, " checked"), 1);
	assert_non_null(strstr(html, "id=\"q0-9\" name=\"nps\" value=\"9\" required checked>"));
	free(html);

	html = render(&s, "nl", 11, NULL);  /* out of range: nothing checked */
	assert_int_equal(count_of(html, " checked"), 0);
	free(html);
}

static void test_render_errors_and_echo(void **state)
{
	(void)state;
	model_survey s = make_survey();
	survey_form_errors errs;
	survey_form_errors_init(&errs);
	errs.count = 2;
	errs.q[Q_NPS] = SURVEY_FE_REQUIRED;
	errs.q[Q_CES] = SURVEY_FE_RANGE;
	errs.value[Q_GRADE] = 8;
	snprintf(errs.open, sizeof errs.open, "te <traag>");

	char *html = render(&s, "nl", 5, &errs);
	assert_non_null(strstr(html, "role=\"alert\""));
	assert_non_null(strstr(html, "Controleer de gemarkeerde vragen."));
	assert_non_null(strstr(html, "<a href=\"#q0\">"));
	assert_non_null(strstr(html, "<p class=\"err\" id=\"q0-err\">Deze vraag is verplicht.</p>"));
	assert_non_null(strstr(html, "<p class=\"err\" id=\"q2-err\">Kies een score van 1 tot en met 7.</p>"));
	assert_non_null(strstr(html, "<fieldset id=\"q0\" aria-describedby=\"q0-err\">"));
	/* the grade entered comes back; prefill_nps still fills the empty NPS */
	assert_non_null(strstr(html, "value=\"8\" checked"));
	assert_non_null(strstr(html, "name=\"nps\" value=\"5\" required checked"));
	assert_non_null(strstr(html, ">te &lt;traag&gt;</textarea>"));
	free(html);

	errs.general = SURVEY_GE_EMPTY;
	html = render(&s, "en", -1, &errs);
	assert_non_null(strstr(html, "Please answer at least one question."));
	assert_non_null(strstr(html, "This question is required."));
	assert_non_null(strstr(html, "Choose a score from 1 to 7."));
	free(html);
}

static void test_render_cap_reached(void **state)
{
	(void)state;
	model_survey s = make_survey();
	ks_buf b;
	buf_init(&b, 512);
	assert_int_equal(survey_page_form(&b, &s, "nl", "t", "n", NULL, NULL, -1, NULL), KS_ERR_TOOBIG);
	buf_free(&b);
	assert_int_equal(survey_page_message(&b, "nl", SURVEY_MSG_THANKS), KS_ERR_TOOBIG);
	buf_free(&b);
}

static void test_render_greeting_variants(void **state)
{
	(void)state;
	model_survey s = make_survey();
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(survey_page_form(&b, &s, "en", "t", "n", "", NULL, -1, NULL), KS_OK);
	assert_null(strstr(b.data, "in touch with"));
	buf_reset(&b);
	assert_int_equal(survey_page_form(&b, &s, "en", "t", "n", "Shop", NULL, -1, NULL), KS_OK);
	assert_non_null(strstr(b.data, "You were recently in touch with us: Shop."));
	buf_reset(&b);
	assert_int_equal(survey_page_form(&b, &s, "en", "t", "n", "Shop", "Ali", -1, NULL), KS_OK);
	assert_non_null(strstr(b.data, "You were recently in touch with Ali (Shop)."));
	buf_free(&b);
}

static void test_message_pages(void **state)
{
	(void)state;
	static const struct {
		survey_message kind;
		const char *nl, *en;
	} cases[] = {
		{SURVEY_MSG_THANKS, "Bedankt voor je feedback!", "Thank you for your feedback!"},
		{SURVEY_MSG_ALREADY_ANSWERED, "al ingevuld", "already answered"},
		{SURVEY_MSG_NOT_FOUND, "Deze link werkt niet", "This link does not work"},
		{SURVEY_MSG_EXPIRED, "Deze link is verlopen", "This link has expired"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ks_buf b;
		buf_init(&b, 1 << 16);
		assert_int_equal(survey_page_message(&b, "nl", cases[i].kind), KS_OK);
		assert_non_null(strstr(b.data, "<html lang=\"nl\">"));
		assert_non_null(strstr(b.data, "<style>"));
		assert_non_null(strstr(b.data, cases[i].nl));
		buf_reset(&b);
		assert_int_equal(survey_page_message(&b, "en", cases[i].kind), KS_OK);
		assert_non_null(strstr(b.data, "<html lang=\"en\">"));
		assert_non_null(strstr(b.data, cases[i].en));
		buf_free(&b);
	}
}

/* ---- parsing ------------------------------------------------------------- */

static void test_parse_happy_path(void **state)
{
	(void)state;
	parsed *p = parse("k=Ab_9-z&nps=9&grade=8&ces=6&d_3=7&d_4=10&open=Prima+geholpen%21&x=1");
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(p->r.nps, 9);
	assert_int_equal(p->r.grade, 8);
	assert_int_equal(p->r.ces, 6);
	assert_int_equal(p->r.n_drivers, 2);
	assert_string_equal(p->r.drivers[0].aspect, "vriendelijkheid");
	assert_int_equal(p->r.drivers[0].score, 7);
	assert_string_equal(p->r.drivers[1].aspect, "snelheid");
	assert_int_equal(p->r.drivers[1].score, 10);
	assert_string_equal(p->open, "Prima geholpen!");
	assert_string_equal(p->nonce, "Ab_9-z");
	assert_int_equal(p->errs.count, 0);
	assert_int_equal(p->errs.general, SURVEY_GE_NONE);
	assert_int_equal(p->r.contact_consent, -1);  /* not asked for: unknown */
	parsed_free(p);
}

static void test_parse_contact_consent(void **state)
{
	(void)state;
	parsed *p = parse("nps=3&contact=no");
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(p->r.contact_consent, 0);
	parsed_free(p);
	p = parse("nps=3&contact=yes");
	assert_int_equal(p->r.contact_consent, 1);
	parsed_free(p);
	p = parse("nps=3&contact=maybe");
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(p->r.contact_consent, -1);
	parsed_free(p);
	p = parse("nps=3&contact=yes&contact=no");  /* a forged double answer counts as none */
	assert_int_equal(p->r.contact_consent, -1);
	parsed_free(p);
}

static void test_parse_partial_leaves_unanswered(void **state)
{
	(void)state;
	/* drivers in body order 4, 3 come out in question order 3, 4 */
	parsed *p = parse("d_4=2&nps=0&grade=&d_3=1&open=+%0D%0A+");
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(p->r.nps, 0);
	assert_int_equal(p->r.grade, -1);
	assert_int_equal(p->r.ces, -1);
	assert_int_equal(p->r.n_drivers, 2);
	assert_string_equal(p->r.drivers[0].aspect, "vriendelijkheid");
	assert_string_equal(p->r.drivers[1].aspect, "snelheid");
	assert_null(p->open);  /* whitespace only */
	assert_string_equal(p->nonce, "");
	parsed_free(p);
}

static void test_parse_out_of_range(void **state)
{
	(void)state;
	static const char *bodies[] = {"nps=11", "nps=-1", "nps=5&ces=8", "nps=5&grade=0",
				       "nps=5&d_3=11", "nps=99999999999999999999"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		parsed *p = parse(bodies[i]);
		assert_int_equal(p->rc, KS_ERR_RANGE);
		assert_int_equal(p->errs.count, 1);
		assert_int_equal(p->r.nps, -1);  /* r untouched on error */
		assert_int_equal(p->r.n_drivers, 0);
		parsed_free(p);
	}
	parsed *p = parse("nps=5&ces=8");
	assert_int_equal(p->errs.q[Q_CES], SURVEY_FE_RANGE);
	assert_int_equal(p->errs.value[Q_NPS], 5);  /* kept for the page shown again */
	parsed_free(p);
}

static void test_parse_not_integer(void **state)
{
	(void)state;
	static const char *bodies[] = {"nps=abc", "nps=5.0", "nps=+5", "nps=%205", "nps=0x5",
				       "nps=-", "nps=5&grade=7a"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		parsed *p = parse(bodies[i]);
		assert_int_equal(p->rc, KS_ERR_INVALID);
		assert_int_equal(p->errs.count, 1);
		assert_true(p->errs.q[Q_NPS] == SURVEY_FE_NOT_INTEGER ||
			    p->errs.q[Q_GRADE] == SURVEY_FE_NOT_INTEGER);
		parsed_free(p);
	}
}

static void test_parse_bad_encoding(void **state)
{
	(void)state;
	static const char *bodies[] = {
		"nps=5&open=%G1", "nps=5&open=%4", "nps=5&open=abc%", "nps=5&o%zzen=x",
		"nps=5&open=a%00b",      /* NUL */
		"nps=5&open=%C3%28",     /* bad continuation */
		"nps=5&open=%C0%AF",     /* overlong */
		"nps=5&open=%ED%A0%80",  /* surrogate */
		"nps=5&open=%F4%90%80%80", /* past U+10FFFF */
		"nps=5&open=%E2%82",     /* truncated */
		"nps=5&open=%FF",
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		parsed *p = parse(bodies[i]);
		assert_int_equal(p->rc, KS_ERR_INVALID);
		assert_int_equal(p->errs.general, SURVEY_GE_ENCODING);
		assert_null(p->open);
		parsed_free(p);
	}
	/* a literal NUL inside len */
	model_survey s = make_survey();
	model_response r;
	model_response_init(&r);
	char *open = NULL;
	survey_form_errors errs;
	assert_int_equal(survey_form_parse("nps=5&open=a\0b", 14, &s, &r, &open, NULL, 0, &errs),
			 KS_ERR_INVALID);
	assert_int_equal(errs.general, SURVEY_GE_ENCODING);
}

static void test_parse_required_missing(void **state)
{
	(void)state;
	parsed *p = parse("grade=8&open=hoi");
	assert_int_equal(p->rc, KS_ERR_INVALID);
	assert_int_equal(p->errs.count, 1);
	assert_int_equal(p->errs.q[Q_NPS], SURVEY_FE_REQUIRED);
	assert_int_equal(p->errs.general, SURVEY_GE_NONE);
	assert_int_equal(p->errs.value[Q_GRADE], 8);
	assert_string_equal(p->errs.open, "hoi");
	assert_null(p->open);
	assert_int_equal(p->r.grade, -1);
	parsed_free(p);

	p = parse("nps=");  /* sent empty is not answered */
	assert_int_equal(p->errs.q[Q_NPS], SURVEY_FE_REQUIRED);
	parsed_free(p);
}

static void test_parse_empty_form(void **state)
{
	(void)state;
	static const char *bodies[] = {"", "k=abc", "&&", "x=1&y", "grade=&open=++"};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		parsed *p = parse(bodies[i]);
		assert_int_equal(p->rc, KS_ERR_INVALID);
		assert_int_equal(p->errs.general, SURVEY_GE_EMPTY);
		assert_int_equal(p->errs.q[Q_NPS], SURVEY_FE_REQUIRED);
		parsed_free(p);
	}

	/* a survey with no required question still needs one answer */
	model_survey s = make_survey();
	s.q[Q_NPS].required = false;
	model_response r;
	model_response_init(&r);
	char *open = NULL;
	survey_form_errors errs;
	assert_int_equal(survey_form_parse("", 0, &s, &r, &open, NULL, 0, &errs), KS_ERR_INVALID);
	assert_int_equal(errs.general, SURVEY_GE_EMPTY);
	assert_int_equal(errs.count, 0);
	assert_int_equal(survey_form_parse("open=ok", 7, &s, &r, &open, NULL, 0, NULL), KS_OK);
	assert_string_equal(open, "ok");
	free(open);
}

static char *open_body(size_t n, const char *unit)
{
	size_t ul = strlen(unit);
	char *body = malloc(16 + n * ul);
	assert_non_null(body);
	static const char head[] = "nps=7&open=";
	memcpy(body, head, sizeof head - 1);
	char *p = body + sizeof head - 1;
	for (size_t i = 0; i < n; i++, p += ul)
		memcpy(p, unit, ul);
	*p = '\0';
	return body;
}

static void test_parse_open_too_long(void **state)
{
	(void)state;
	/* issue 11: at most SURVEY_OPEN_CHARS_MAX characters ... */
	char *body = open_body(SURVEY_OPEN_CHARS_MAX, "a");
	parsed *p = parse(body);
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(strlen(p->open), SURVEY_OPEN_CHARS_MAX);
	parsed_free(p);
	free(body);

	body = open_body(SURVEY_OPEN_CHARS_MAX + 1, "a");
	p = parse(body);
	assert_int_equal(p->rc, KS_ERR_RANGE);
	assert_int_equal(p->errs.q[Q_OPEN], SURVEY_FE_TOO_LONG);
	assert_null(p->open);
	assert_int_equal(strlen(p->errs.open), SURVEY_OPEN_CHARS_MAX + 1); /* kept for the form */
	parsed_free(p);
	free(body);

	/* ... counted in characters: 2000 x "é" (4000 bytes) fit */
	body = open_body(SURVEY_OPEN_CHARS_MAX, "%C3%A9");
	p = parse(body);
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(strlen(p->open), 2 * SURVEY_OPEN_CHARS_MAX);
	parsed_free(p);
	free(body);

	/* ... and never more than MODEL_OPEN_MAX bytes: 1001 x U+1F600 */
	body = open_body(1001, "%F0%9F%98%80");
	p = parse(body);
	assert_int_equal(p->rc, KS_ERR_RANGE);
	assert_int_equal(p->errs.q[Q_OPEN], SURVEY_FE_TOO_LONG);
	parsed_free(p);
	free(body);

	/* a too long answer comes back whole, for the customer to shorten */
	body = open_body(MODEL_OPEN_MAX + 1, "a");
	p = parse(body);
	assert_int_equal(p->rc, KS_ERR_RANGE);
	assert_int_equal(strlen(p->errs.open), 4001);
	parsed_free(p);
	free(body);

	body = open_body(2001, "%C3%A9");  /* 4002 bytes */
	p = parse(body);
	assert_int_equal(p->rc, KS_ERR_RANGE);
	assert_int_equal(strlen(p->errs.open), 4002);
	parsed_free(p);
	free(body);

	/* past 16000 bytes the echo is cut on a character boundary:
	 * 5334 x "€" = 16002 bytes -> 5333 whole characters, 15999 bytes */
	body = open_body(5334, "%E2%82%AC");
	p = parse(body);
	assert_int_equal(strlen(p->errs.open), 15999);
	parsed_free(p);
	free(body);

	/* CRLF counts once: 1000 line breaks are 1000 characters, not 2000 + 1 */
	body = open_body(1000, "a%0D%0A");
	p = parse(body);
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(strlen(p->open), 1999);  /* trailing LF trimmed */
	assert_null(strchr(p->open, '\r'));
	parsed_free(p);
	free(body);
}

/* issue 11: a body of more than SURVEY_FIELDS_MAX fields is not our form */
static void test_parse_too_many_fields(void **state)
{
	(void)state;
	char body[1024] = "nps=7";
	for (int i = 0; i < SURVEY_FIELDS_MAX - 1; i++)
		snprintf(body + strlen(body), sizeof body - strlen(body), "&x%d=1", i);
	parsed *p = parse(body); /* exactly SURVEY_FIELDS_MAX: fine */
	assert_int_equal(p->rc, KS_OK);
	parsed_free(p);
	snprintf(body + strlen(body), sizeof body - strlen(body), "&y=1");
	p = parse(body);
	assert_int_equal(p->rc, KS_ERR_INVALID);
	assert_int_equal(p->errs.general, SURVEY_GE_TOO_MANY);
	assert_null(p->open);
	parsed_free(p);
}

static void test_parse_nonce(void **state)
{
	(void)state;
	static const char *bad[] = {"nps=5&k=ab%2Fc", "nps=5&k=a+b", "nps=5&k=a.b", "nps=5&k=%C3%A9",
				    "nps=5&k=a&k=a"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		parsed *p = parse(bad[i]);
		assert_int_equal(p->rc, KS_ERR_INVALID);
		assert_int_equal(p->errs.general, SURVEY_GE_FORM);
		parsed_free(p);
	}

	char body[128];
	snprintf(body, sizeof body, "nps=5&k=%.*s", SURVEY_NONCE_MAX,
		 "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-0123");
	parsed *p = parse(body);
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(strlen(p->nonce), SURVEY_NONCE_MAX);
	parsed_free(p);

	size_t bl = strlen(body);
	body[bl] = 'x';  /* 65 characters */
	body[bl + 1] = '\0';
	p = parse(body);
	assert_int_equal(p->rc, KS_ERR_INVALID);
	assert_int_equal(p->errs.general, SURVEY_GE_FORM);
	assert_string_equal(p->nonce, "");
	parsed_free(p);

	/* valid nonce survives other errors so the page shown again keeps it */
	p = parse("k=keep-me&nps=12");
	assert_int_equal(p->rc, KS_ERR_RANGE);
	assert_string_equal(p->nonce, "keep-me");
	parsed_free(p);

	/* a nonce that does not fit the caller's buffer is never cut */
	model_survey s = make_survey();
	model_response r;
	model_response_init(&r);
	char *open = NULL, small[4];
	assert_int_equal(survey_form_parse("nps=1&k=abcd", 12, &s, &r, &open, small, sizeof small, NULL),
			 KS_ERR_INVALID);
	assert_string_equal(small, "");
}

static void test_parse_decodes_plus_and_utf8(void **state)
{
	(void)state;
	parsed *p = parse("nps=8&open=caf%C3%A9+au+lait%2B%26%3D+%e2%82%ac");
	assert_int_equal(p->rc, KS_OK);
	assert_string_equal(p->open, "café au lait+&= €");
	parsed_free(p);

	/* names are decoded too */
	p = parse("%6Eps=4&o%70en=x");
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(p->r.nps, 4);
	assert_string_equal(p->open, "x");
	parsed_free(p);
}

static void test_parse_unknown_and_duplicate(void **state)
{
	(void)state;
	/* driver names refer to a driver question's index only */
	parsed *p = parse("nps=3&d_0=5&d_5=5&d_99=5&d_03=5&d_=1&aspect=x&=&submit");
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(p->r.n_drivers, 0);
	parsed_free(p);

	p = parse("nps=3&nps=4");
	assert_int_equal(p->rc, KS_ERR_INVALID);
	assert_int_equal(p->errs.general, SURVEY_GE_FORM);
	parsed_free(p);
}

/* What the page renders, the parser reads: every field name round-trips. */
static void test_roundtrip_field_names(void **state)
{
	(void)state;
	model_survey s = make_survey();
	char *html = render(&s, "nl", -1, NULL);
	const char *names[] = {"nps", "grade", "ces", "d_3", "d_4", "open"};
	char needle[32];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(needle, sizeof needle, "name=\"%s\"", names[i]);
		assert_non_null(strstr(html, needle));
	}
	free(html);
	parsed *p = parse("nps=10&grade=10&ces=7&d_3=10&d_4=1&open=top");
	assert_int_equal(p->rc, KS_OK);
	assert_int_equal(p->r.n_drivers, 2);
	parsed_free(p);
}


/* ---- customer voice (issue 13) -------------------------------------------- */

static char *render_voice(const model_survey *s, const char *lang, const survey_voice *v, int prefill,
			  int saved)
{
	ks_buf b;
	buf_init(&b, 1 << 20);
	survey_form_ctx ctx = {.lang = lang, .token = "tok", .nonce = "n1", .touchpoint_name = "Storing",
			       .employee_first_name = "Sanne", .prefill_nps = prefill, .saved_nps = saved,
			       .voice = v};
	assert_int_equal(survey_page_form_voice(&b, s, &ctx, NULL), KS_OK);
	return buf_steal(&b, NULL);
}

/* u in every sentence of the page itself; je stays the default. */
static void test_voice_form_of_address(void **state)
{
	(void)state;
	model_survey s = make_survey();
	survey_voice u = {.formal = true, .org_name = "Water & Co", .logo = true};
	char *html = render_voice(&s, "nl", &u, 9, 9);
	assert_non_null(strstr(html, "<p>U had onlangs contact met Sanne (Storing). We horen graag hoe het ging; "
				     "het kost u nog geen minuut.</p>"));
	assert_non_null(strstr(html, "Mogen we contact met u opnemen over uw antwoord?"));
	assert_non_null(strstr(html, "Uw antwoorden gaan naar het team dat u heeft geholpen"));
	assert_non_null(strstr(html, "<p class=\"saved\" role=\"status\">Bedankt! Uw score 9 is opgeslagen. "
				     "Wilt u ons nog iets meer vertellen? Dat kan hieronder; sluiten mag ook.</p>"));
	assert_non_null(strstr(html, "<header class=\"org\"><img src=\"/logo\" alt=\"\"><span>Water &amp; Co"
				     "</span></header>"));
	assert_null(strstr(html, "Je had"));
	free(html);

	html = render_voice(&s, "nl", NULL, -1, -1);
	assert_non_null(strstr(html, "<p>Je had onlangs contact met Sanne (Storing)."));
	assert_null(strstr(html, "class=\"saved\""));   /* nothing saved, nothing said */
	assert_null(strstr(html, "class=\"org\""));     /* no name, no logo: no header */
	free(html);

	survey_voice name_only = {.formal = false, .org_name = "Energie BV", .logo = false};
	html = render_voice(&s, "en", &name_only, 4, 4);
	assert_non_null(strstr(html, "<header class=\"org\"><span>Energie BV</span></header>"));
	assert_non_null(strstr(html, "Thank you! Your score 4 has been saved."));
	free(html);
}

static void test_voice_message_pages(void **state)
{
	(void)state;
	survey_voice u = {.formal = true, .org_name = "Energie BV", .logo = false};
	static const struct { survey_message kind; const char *je, *u; } pages[] = {
		{SURVEY_MSG_THANKS, "<h1>Bedankt voor je feedback!</h1>", "<h1>Bedankt voor uw feedback!</h1>"},
		{SURVEY_MSG_ALREADY_ANSWERED, "<h1>Je hebt deze vragenlijst al ingevuld</h1>",
		 "<h1>U heeft deze vragenlijst al ingevuld</h1>"},
		{SURVEY_MSG_EXPIRED, "Bedankt dat je de moeite nam!", "Bedankt dat u de moeite nam!"},
		{SURVEY_MSG_UNAVAILABLE, "je antwoorden zijn nog niet verstuurd", "uw antwoorden zijn nog niet verstuurd"},
	};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		ks_buf a, b;
		buf_init(&a, 1 << 16);
		buf_init(&b, 1 << 16);
		assert_int_equal(survey_page_message_voice(&a, "nl", NULL, pages[i].kind), KS_OK);
		assert_int_equal(survey_page_message_voice(&b, "nl", &u, pages[i].kind), KS_OK);
		assert_non_null(strstr(a.data, pages[i].je));
		assert_non_null(strstr(b.data, pages[i].u));
		assert_null(strstr(b.data, pages[i].je));
		assert_non_null(strstr(b.data, "<header class=\"org\"><span>Energie BV</span></header>"));
		buf_free(&a);
		buf_free(&b);
	}
}

/* issue 16 H3: the thank-you page of an invited promoter links the review
 * page through /r/TOKEN, in the customer's language and form of address;
 * without a link it is the plain thank-you page; the href is escaped. */
static void test_thanks_review(void **state)
{
	(void)state;
	ks_buf b, plain;
	buf_init(&b, 1 << 16);
	buf_init(&plain, 1 << 16);
	survey_voice u = {.formal = true, .org_name = "Energie BV", .logo = false};
	assert_int_equal(survey_page_thanks_review(&b, "nl", NULL, "/r/abcDEF_123-xyz0123456789abcdef"), KS_OK);
	assert_non_null(strstr(b.data, "<h1>Bedankt voor je feedback!</h1>"));
	assert_non_null(strstr(b.data, "<a href=\"/r/abcDEF_123-xyz0123456789abcdef\" rel=\"noopener\">Schrijf een review</a>"));
	assert_non_null(strstr(b.data, "Wil je anderen over ons vertellen?"));
	buf_reset(&b);
	assert_int_equal(survey_page_thanks_review(&b, "nl", &u, "/r/x"), KS_OK);
	assert_non_null(strstr(b.data, "Wilt u anderen over ons vertellen?"));
	assert_null(strstr(b.data, "Wil je "));
	buf_reset(&b);
	assert_int_equal(survey_page_thanks_review(&b, "en", NULL, "/r/x"), KS_OK);
	assert_non_null(strstr(b.data, ">Write a review</a>"));
	buf_reset(&b);
	assert_int_equal(survey_page_thanks_review(&b, "nl", NULL, "/r/\"><script>"), KS_OK);
	assert_null(strstr(b.data, "<script>"));
	assert_non_null(strstr(b.data, "href=\"/r/&quot;&gt;&lt;script&gt;\""));
	buf_reset(&b);
	assert_int_equal(survey_page_thanks_review(&b, "nl", NULL, NULL), KS_OK);
	assert_int_equal(survey_page_message(&plain, "nl", SURVEY_MSG_THANKS), KS_OK);
	assert_int_equal(b.len, plain.len);
	assert_memory_equal(b.data, plain.data, b.len);
	assert_null(strstr(b.data, "/r/"));
	buf_free(&b);
	buf_free(&plain);
}

static void test_unsubscribe_pages(void **state)
{
	(void)state;
	survey_voice u = {.formal = true, .org_name = NULL, .logo = false};
	ks_buf b;
	buf_init(&b, 1 << 16);
	assert_int_equal(survey_page_unsubscribe(&b, "en", &u, SURVEY_UNSUB_CONFIRM, "abc_DEF-1"), KS_OK);
	assert_non_null(strstr(b.data, "<html lang=\"en\">"));
	assert_non_null(strstr(b.data, "<h1>Unsubscribe from invitations</h1>"));
	assert_non_null(strstr(b.data, "<form method=\"post\" action=\"/u/abc_DEF-1\">"));
	assert_non_null(strstr(b.data, "<button type=\"submit\">Unsubscribe</button>"));
	buf_free(&b);
	buf_init(&b, 1 << 16);
	assert_int_equal(survey_page_unsubscribe(&b, "nl", &u, SURVEY_UNSUB_DONE, "abc"), KS_OK);
	assert_non_null(strstr(b.data, "<p>U ontvangt geen uitnodigingen meer.</p>"));
	assert_null(strstr(b.data, "<form"));
	buf_free(&b);
	buf_init(&b, 1 << 16);
	assert_int_equal(survey_page_unsubscribe(&b, "nl", NULL, SURVEY_UNSUB_CONFIRM, "a\"b"), KS_OK);
	assert_non_null(strstr(b.data, "Wil je geen uitnodigingen"));
	assert_non_null(strstr(b.data, "action=\"/u/a%22b\""));  /* never breaks the attribute */
	buf_free(&b);
	buf_init(&b, 1 << 16);
	assert_int_equal(survey_page_unsubscribe(&b, "nl", NULL, SURVEY_UNSUB_CONFIRM, NULL), KS_ERR_INTERNAL);
	buf_free(&b);
}

/* A yes/no question: two radios y_<i> with 1 (Ja) and 0 (Nee), parsed
 * into r->yesno under its aspect. */
static void test_yesno(void **state)
{
	(void)state;
	model_survey s;
	memset(&s, 0, sizeof s);
	add_q(&s, MODEL_Q_NPS, "", "Aanbevelen?", "Recommend?", true);
	add_q(&s, MODEL_Q_YESNO, "op_tijd", "Op tijd?", "On time?", false);
	add_q(&s, MODEL_Q_OPEN, "", "Nog iets?", "Anything else?", false);
	char *html = render_voice(&s, "nl", NULL, -1, -1);
	assert_non_null(strstr(html, "<div class=\"scale choice\">\n<input type=\"radio\" id=\"q1-1\" name=\"y_1\" "
				     "value=\"1\"><label for=\"q1-1\">Ja</label>\n<input type=\"radio\" id=\"q1-0\" "
				     "name=\"y_1\" value=\"0\"><label for=\"q1-0\">Nee</label>\n</div>"));
	free(html);

	static const struct { const char *body; ks_err rc; int n; int answer; } cases[] = {
		{"nps=8&y_1=1", KS_OK, 1, 1},
		{"nps=8&y_1=0", KS_OK, 1, 0},
		{"nps=8&y_1=", KS_OK, 0, -1},   /* sent empty: not answered */
		{"y_1=0", KS_OK, 1, 0},          /* nps not given: required */
		{"nps=8&y_1=2", KS_ERR_RANGE, 0, -1},
		{"nps=8&y_1=yes", KS_ERR_INVALID, 0, -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		model_response r;
		model_response_init(&r);
		char *open = NULL;
		survey_form_errors errs;
		ks_err rc = survey_form_parse(cases[i].body, strlen(cases[i].body), &s, &r, &open, NULL, 0, &errs);
		if (i == 3) {  /* the required NPS is missing */
			assert_int_equal(rc, KS_ERR_INVALID);
			assert_int_equal(errs.q[0], SURVEY_FE_REQUIRED);
			continue;
		}
		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(r.n_yesno, cases[i].n);
		if (cases[i].n) {
			assert_string_equal(r.yesno[0].aspect, "op_tijd");
			assert_int_equal(r.yesno[0].score, cases[i].answer);
			assert_int_equal(r.n_drivers, 0);
		}
		free(open);
	}
}

/* One row at any width: the grid flows in columns, no wrapping template. */
static void test_scale_one_row_css(void **state)
{
	(void)state;
	model_survey s = make_survey();
	char *html = render_voice(&s, "nl", NULL, -1, -1);
	assert_non_null(strstr(html, ".scale{position:relative;display:grid;gap:2px;grid-auto-flow:column;"
				     "grid-auto-columns:minmax(0,1fr)}"));
	assert_null(strstr(html, "auto-fit"));
	assert_non_null(strstr(html, "min-height:3rem;"));
	free(html);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_escapes_dynamic_text),
		cmocka_unit_test(test_render_structure),
		cmocka_unit_test(test_render_nl_and_en),
		cmocka_unit_test(test_render_prefill_checked),
		cmocka_unit_test(test_render_errors_and_echo),
		cmocka_unit_test(test_render_cap_reached),
		cmocka_unit_test(test_render_greeting_variants),
		cmocka_unit_test(test_message_pages),
		cmocka_unit_test(test_thanks_review),  /* issue 16 H3 */
		cmocka_unit_test(test_parse_happy_path),
		cmocka_unit_test(test_parse_contact_consent),
		cmocka_unit_test(test_parse_partial_leaves_unanswered),
		cmocka_unit_test(test_parse_out_of_range),
		cmocka_unit_test(test_parse_not_integer),
		cmocka_unit_test(test_parse_bad_encoding),
		cmocka_unit_test(test_parse_required_missing),
		cmocka_unit_test(test_parse_empty_form),
		cmocka_unit_test(test_parse_open_too_long),
		cmocka_unit_test(test_parse_too_many_fields),
		cmocka_unit_test(test_parse_nonce),
		cmocka_unit_test(test_parse_decodes_plus_and_utf8),
		cmocka_unit_test(test_parse_unknown_and_duplicate),
		cmocka_unit_test(test_roundtrip_field_names),
		cmocka_unit_test(test_voice_form_of_address),
		cmocka_unit_test(test_voice_message_pages),
		cmocka_unit_test(test_unsubscribe_pages),
		cmocka_unit_test(test_yesno),
		cmocka_unit_test(test_scale_one_row_css),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
