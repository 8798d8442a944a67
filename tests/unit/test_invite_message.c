/* test_invite_message.c — invitation and reminder texts (src/invite/message.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "invite/message.h"

#define BASE "http://127.0.0.1:8080"
#define TOK "tok_ABC-123"
#define UTOK "uns_XYZ-789"

/* ---- fixtures ------------------------------------------------------------ */

typedef struct built {
	ks_buf subject, text, html;
	ks_err rc;
} built;

static invite_message_input input_nl(void)
{
	invite_message_input in = {
		.lang = "nl",
		.base_url = BASE,
		.token = TOK,
		.unsubscribe_token = UTOK,
		.customer_name = "Jan",
		.employee_first_name = "Anna",
		.touchpoint_name = "Verhuizing doorgeven",
		.nps_question = NULL,
		.org_name = "Gemeente Voorbeeld",
		.reminder = false,
	};
	return in;
}

static invite_message_input input_en(void)
{
	invite_message_input in = input_nl();
	in.lang = "en";
	in.touchpoint_name = "Moving house";
	return in;
}

static built build(const invite_message_input *in)
{
	built b;
	buf_init(&b.subject, 4096);
	buf_init(&b.text, 1 << 16);
	buf_init(&b.html, 1 << 16);
	b.rc = invite_message_build(in, &b.subject, &b.text, &b.html);
	return b;
}

static void built_free(built *b)
{
	buf_free(&b->subject);
	buf_free(&b->text);
	buf_free(&b->html);
}

static const char *str(const ks_buf *b)
{
	return b->len ? b->data : "";
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Each of the 11 score links appears exactly `per_part` times (the "?nps=1"
 * needle also matches "?nps=10", hence the closing quote or line end). */
static void assert_score_links(const char *s, bool html)
{
	char needle[128];
	for (int n = 0; n <= 10; n++) {
		snprintf(needle, sizeof needle, BASE "/s/" TOK "?nps=%d%s", n, html ? "\"" : "\n");
		assert_int_equal(count_of(s, needle), 1);
	}
	assert_int_equal(count_of(s, "?nps="), 11);
	assert_int_equal(count_of(s, "?nps=11"), 0);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_nl_subject_and_text(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_string_equal(str(&b.subject), "Hoe was je contact met Anna over Verhuizing doorgeven?");
	const char *t = str(&b.text);
	assert_non_null(strstr(t, "Hallo Jan,\n"));
	assert_non_null(strstr(t, "contact met Anna van Gemeente Voorbeeld over Verhuizing doorgeven."));
	assert_non_null(strstr(t, "Hoe waarschijnlijk is het dat je Gemeente Voorbeeld aanbeveelt"));
	assert_non_null(strstr(t, "0 (zeer onwaarschijnlijk) tot 10 (zeer waarschijnlijk)"));
	assert_non_null(strstr(t, "Of open de vragenlijst: " BASE "/s/" TOK "\n"));
	assert_non_null(strstr(t, "minuutje"));
	assert_non_null(strstr(t, "Geen uitnodigingen meer ontvangen? Afmelden: " BASE "/u/" UTOK "\n"));
	assert_score_links(t, false);
	assert_null(strchr(t, '<'));  /* no HTML in the text part */
	assert_null(strstr(t, "Herinnering"));
	built_free(&b);
}

static void test_nl_html(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	const char *h = str(&b.html);
	assert_non_null(strstr(h, "<html lang=\"nl\">"));
	assert_score_links(h, true);
	for (int n = 0; n <= 10; n++) {  /* visible labels "0".."10" */
		char label[32];
		snprintf(label, sizeof label, ">%d</a>", n);
		assert_int_equal(count_of(h, label), 1);
	}
	assert_non_null(strstr(h, "aria-label=\"0 van 10, Zeer onwaarschijnlijk\""));
	assert_non_null(strstr(h, "aria-label=\"10 van 10, Zeer waarschijnlijk\""));
	assert_non_null(strstr(h, ">Zeer onwaarschijnlijk</td>"));
	assert_non_null(strstr(h, ">Zeer waarschijnlijk</td>"));
	assert_non_null(strstr(h, "Geen uitnodigingen meer ontvangen? <a href=\"" BASE "/u/" UTOK "\""));
	/* inline styles only, nothing fetched from elsewhere */
	assert_null(strstr(h, "<style"));
	assert_null(strstr(h, "<img"));
	assert_null(strstr(h, "<script"));
	assert_null(strstr(h, "<link"));
	assert_null(strstr(h, "src="));
	built_free(&b);
}

static void test_en(void **state)
{
	(void)state;
	invite_message_input in = input_en();
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_string_equal(str(&b.subject), "How was your contact with Anna about Moving house?");
	const char *t = str(&b.text);
	assert_non_null(strstr(t, "Hello Jan,\n"));
	assert_non_null(strstr(t, "in touch with Anna from Gemeente Voorbeeld about Moving house."));
	assert_non_null(strstr(t, "recommend Gemeente Voorbeeld to a friend or colleague?"));
	assert_non_null(strstr(t, "It only takes a minute."));
	assert_non_null(strstr(t, "Don't want these invitations? Unsubscribe: " BASE "/u/" UTOK "\n"));
	assert_score_links(t, false);
	const char *h = str(&b.html);
	assert_non_null(strstr(h, "<html lang=\"en\">"));
	assert_non_null(strstr(h, ">Not at all likely</td>"));
	assert_non_null(strstr(h, ">Extremely likely</td>"));
	assert_non_null(strstr(h, "Don&#39;t want these invitations?"));
	assert_score_links(h, true);
	built_free(&b);
}

static void test_reminder(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	in.reminder = true;
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_string_equal(str(&b.subject),
			    "Herinnering: Hoe was je contact met Anna over Verhuizing doorgeven?");
	assert_non_null(strstr(str(&b.text), "vorige e-mail"));
	assert_non_null(strstr(str(&b.html), "<title>Herinnering: "));
	built_free(&b);

	in = input_en();
	in.reminder = true;
	b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_string_equal(str(&b.subject), "Reminder: How was your contact with Anna about Moving house?");
	built_free(&b);
}

static void test_escaping(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	in.customer_name = "<b>Jan</b>";
	in.employee_first_name = "Anna & \"Co\"";
	in.nps_question = "Zou je <ons> aanraden?";
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	const char *h = str(&b.html);
	assert_null(strstr(h, "<b>"));
	assert_non_null(strstr(h, "Hallo &lt;b&gt;Jan&lt;/b&gt;,"));
	assert_non_null(strstr(h, "Anna &amp; &quot;Co&quot;"));
	assert_non_null(strstr(h, "Zou je &lt;ons&gt; aanraden?"));
	/* the text part carries the name as it is: it is not HTML */
	assert_non_null(strstr(str(&b.text), "Hallo <b>Jan</b>,\n"));
	assert_non_null(strstr(str(&b.text), "Zou je <ons> aanraden?\n"));
	built_free(&b);
}

static void test_control_characters_become_spaces(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	in.employee_first_name = "Anna\r\nBcc: x@example.org";
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_null(strpbrk(str(&b.subject), "\r\n"));
	assert_non_null(strstr(str(&b.subject), "met Anna  Bcc: x@example.org over"));
	built_free(&b);
}

static void test_unknown_people(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	in.customer_name = NULL;
	in.employee_first_name = "";
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_string_equal(str(&b.subject),
			    "Hoe was je contact met Gemeente Voorbeeld over Verhuizing doorgeven?");
	assert_non_null(strstr(str(&b.text), "Hallo,\n"));
	assert_non_null(strstr(str(&b.text), "contact met Gemeente Voorbeeld over Verhuizing"));
	assert_null(strstr(str(&b.text), " van Gemeente"));
	built_free(&b);

	in = input_en();
	in.touchpoint_name = NULL;
	in.customer_name = "";
	b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_string_equal(str(&b.subject), "How was your contact with Anna?");
	assert_non_null(strstr(str(&b.text), "Hello,\n"));
	built_free(&b);
}

static void test_survey_question_used(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	in.nps_question = "Hoe waarschijnlijk is het dat je de gemeente aanbeveelt?";
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_non_null(strstr(str(&b.text), "\nHoe waarschijnlijk is het dat je de gemeente aanbeveelt?\n"));
	assert_null(strstr(str(&b.text), "vrienden, familie"));
	built_free(&b);
}

static void test_trailing_slash_and_urls(void **state)
{
	(void)state;
	char s[256], u[256];
	invite_message_urls(BASE "/", TOK, UTOK, s, sizeof s, u, sizeof u);
	assert_string_equal(s, BASE "/s/" TOK);
	assert_string_equal(u, BASE "/u/" UTOK);
	invite_message_urls("https://ks.example.org", TOK, UTOK, s, sizeof s, NULL, 0);
	assert_string_equal(s, "https://ks.example.org/s/" TOK);
	char small[8];
	invite_message_urls(BASE, TOK, UTOK, small, sizeof small, NULL, 0);
	assert_string_equal(small, "http://");  /* truncated, terminated */

	invite_message_input in = input_nl();
	in.base_url = BASE "//";
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_score_links(str(&b.text), false);
	built_free(&b);
}

static void test_invalid_input(void **state)
{
	(void)state;
	const char *bad_base[] = { "ftp://x", "http://", "https://", "http://a b", "http://x\"y",
				   "javascript:alert(1)", NULL };
	for (int i = 0; bad_base[i]; i++) {
		invite_message_input in = input_nl();
		in.base_url = bad_base[i];
		built b = build(&in);
		assert_int_equal(b.rc, KS_ERR_INVALID);
		built_free(&b);
	}
	const char *bad_token[] = { "", "a/b", "a?b", "a\"b", "ab\n", NULL };
	for (int i = 0; bad_token[i]; i++) {
		invite_message_input in = input_nl();
		in.token = bad_token[i];
		built b = build(&in);
		assert_int_equal(b.rc, KS_ERR_INVALID);
		built_free(&b);
		in = input_nl();
		in.unsubscribe_token = bad_token[i];
		b = build(&in);
		assert_int_equal(b.rc, KS_ERR_INVALID);
		built_free(&b);
	}
	invite_message_input in = input_nl();
	in.lang = "de";
	built b = build(&in);
	assert_int_equal(b.rc, KS_ERR_INVALID);
	built_free(&b);
	in = input_nl();
	in.org_name = NULL;
	b = build(&in);
	assert_int_equal(b.rc, KS_ERR_INVALID);
	built_free(&b);
	assert_int_equal(invite_message_build(NULL, &b.subject, &b.text, &b.html), KS_ERR_INVALID);
}

static void test_buffer_cap(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	ks_buf s, t, h;
	buf_init(&s, 4096);
	buf_init(&t, 4096);
	buf_init(&h, 64);  /* far too small for the HTML part */
	assert_int_equal(invite_message_build(&in, &s, &t, &h), KS_ERR_TOOBIG);
	buf_free(&s);
	buf_free(&t);
	buf_free(&h);
}


/* ---- a relationship survey (issue 16) ---------------------------------------- */

/* A customer drawn from the whole base may have had no contact in years:
 * neither the subject nor the text may claim one, nor name an employee or a
 * touchpoint; the question and the links stay. */
static void test_relationship(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	in.relationship = true;
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_string_equal(str(&b.subject), "Hoe tevreden ben je over Gemeente Voorbeeld?");
	const char *t = str(&b.text);
	assert_non_null(strstr(t, "Hallo Jan,\n\nWe vragen een willekeurige groep klanten hoe zij over ons denken, "
				  "ook als we elkaar al een tijd niet gesproken hebben. Je bent een van hen en we "
				  "horen graag hoe het gaat.\n\nHoe waarschijnlijk is het dat je Gemeente Voorbeeld "
				  "aanbeveelt"));
	assert_null(strstr(t, "onlangs"));
	assert_null(strstr(t, "Anna"));
	assert_null(strstr(t, "Verhuizing"));
	assert_null(strstr(str(&b.html), "onlangs"));
	assert_non_null(strstr(str(&b.html), "Je bent een van hen"));
	built_free(&b);

	in.formal = true;
	in.reminder = true;
	b = build(&in);
	assert_string_equal(str(&b.subject), "Herinnering: Hoe tevreden bent u over Gemeente Voorbeeld?");
	assert_non_null(strstr(str(&b.text), "U bent een van hen en we horen graag hoe het gaat.\nMisschien heeft u"));
	built_free(&b);

	invite_message_input en = input_en();
	en.relationship = true;
	b = build(&en);
	assert_int_equal(b.rc, KS_OK);
	assert_non_null(strstr(str(&b.subject), "How do you feel about "));
	assert_null(strstr(str(&b.text), "recently"));
	assert_non_null(strstr(str(&b.text), "We are asking a random group of customers what they think of us"));
	built_free(&b);
}

/* ---- the organisation's voice (issue 13) ---------------------------------- */

/* "u": every sentence that addresses the customer, in all three parts. */
static void test_formal_u(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	in.formal = true;
	in.reminder = true;
	built b = build(&in);
	assert_int_equal(b.rc, KS_OK);
	assert_string_equal(str(&b.subject), "Herinnering: Hoe was uw contact met Anna over Verhuizing doorgeven?");
	const char *t = str(&b.text);
	assert_non_null(strstr(t, "Beste Jan,\n\nU had onlangs contact met Anna van Gemeente Voorbeeld over "
				  "Verhuizing doorgeven. We horen graag hoe dat ging.\n"
				  "Misschien heeft u onze vorige e-mail gemist. Uw antwoord helpt ons echt verder.\n\n"
				  "Hoe waarschijnlijk is het dat u Gemeente Voorbeeld aanbeveelt aan vrienden, familie of "
				  "collega's?\n"));
	assert_non_null(strstr(t, "Het kost u maar een minuutje.\n"));
	assert_non_null(strstr(str(&b.html), "Het kost u maar een minuutje."));
	/* no "je" anywhere: not as a word in the text, nor in the HTML */
	assert_null(strstr(t, " je "));
	assert_null(strstr(t, "Je "));
	assert_null(strstr(str(&b.html), " je "));
	assert_null(strstr(str(&b.html), ">Je "));
	built_free(&b);

	/* the same input informally: je, and Hallo */
	in.formal = false;
	b = build(&in);
	assert_string_equal(str(&b.subject), "Herinnering: Hoe was je contact met Anna over Verhuizing doorgeven?");
	assert_non_null(strstr(str(&b.text), "Hallo Jan,\n\nJe had onlangs contact met Anna"));
	built_free(&b);

	/* English has one form: formal changes nothing */
	invite_message_input en = input_en();
	built e1 = build(&en);
	en.formal = true;
	built e2 = build(&en);
	assert_string_equal(str(&e1.subject), str(&e2.subject));
	assert_string_equal(str(&e1.text), str(&e2.text));
	assert_string_equal(str(&e1.html), str(&e2.html));
	built_free(&e1);
	built_free(&e2);
}

/* The sender on top of the HTML: logo (base_url/logo) when there is one,
 * and the name, escaped. */
static void test_logo_and_name(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	in.org_name = "Water & Co";
	in.base_url = BASE "/";
	built b = build(&in);
	assert_null(strstr(str(&b.html), "<img"));
	assert_non_null(strstr(str(&b.html), "font-size:18px;\">Water &amp; Co</p>"));
	built_free(&b);
	in.logo = true;
	b = build(&in);
	assert_int_equal(count_of(str(&b.html), "<img "), 1);
	assert_non_null(strstr(str(&b.html), "<img src=\"" BASE "/logo\" alt=\"\" height=\"40\""));
	assert_null(strstr(str(&b.text), "/logo"));  /* the text part has no images */
	built_free(&b);
}

/* Every score is a tap target of at least 44 px high: 46 px of line and a
 * 1 px border above and below; none is narrower than 24 px. */
static void test_score_targets(void **state)
{
	(void)state;
	invite_message_input in = input_nl();
	built b = build(&in);
	assert_int_equal(count_of(str(&b.html), "line-height:46px;min-width:24px;"), 11);
	assert_int_equal(count_of(str(&b.html), "border:1px solid #1e40af;"), 11);
	assert_int_equal(count_of(str(&b.html), "padding:0;line-height"), 11);
	built_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nl_subject_and_text),
		cmocka_unit_test(test_nl_html),
		cmocka_unit_test(test_en),
		cmocka_unit_test(test_reminder),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_control_characters_become_spaces),
		cmocka_unit_test(test_unknown_people),
		cmocka_unit_test(test_survey_question_used),
		cmocka_unit_test(test_trailing_slash_and_urls),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_buffer_cap),
		cmocka_unit_test(test_relationship),
		cmocka_unit_test(test_formal_u),
		cmocka_unit_test(test_logo_and_name),
		cmocka_unit_test(test_score_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
