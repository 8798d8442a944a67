/* test_coach.c — the compliment mail's text (src/coach/compliment.c,
 * issue 13): Dutch and English, with and without the team lead's note and
 * the employee's first name; the customer's words quoted as given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coach/compliment.h"

/* Build the mail of in; subject and text as NUL-terminated strings. */
static void build(const coach_compliment_input *in, char *subject, size_t ns, char *text, size_t nt)
{
	ks_buf s, t;
	buf_init(&s, 4096);
	buf_init(&t, 64 * 1024);
	assert_int_equal(coach_compliment_build(in, &s, &t), KS_OK);
	assert_true(s.len < ns && t.len < nt);
	memcpy(subject, s.data, s.len);
	subject[s.len] = '\0';
	memcpy(text, t.data, t.len);
	text[t.len] = '\0';
	buf_free(&s);
	buf_free(&t);
}

static void test_dutch_with_note(void **state)
{
	(void)state;
	coach_compliment_input in = {.lang = "nl", .first_name = "Sanne", .from_name = "Teamleider Een",
				     .open_text = "Top \"geholpen\" <b>echt</b>", .note = "Mooi gedaan!",
				     .base_url = "https://feedback.example.nl", .org_name = "Energie BV"};
	char subject[256], text[4096];
	build(&in, subject, sizeof subject, text, sizeof text);
	assert_string_equal(subject, "[Energie BV] Een compliment van Teamleider Een");
	assert_string_equal(text, "Hallo Sanne,\n\n"
				  "Teamleider Een geeft je een compliment voor wat een klant over je schreef:\n\n"
				  "  \"Top \"geholpen\" <b>echt</b>\"\n\n"
				  "Teamleider Een schrijft erbij: \"Mooi gedaan!\"\n\n"
				  "Je ziet het ook op je eigen dashboard:\n\n"
				  "  https://feedback.example.nl/#/me\n");
}

static void test_english_without_note_or_name(void **state)
{
	(void)state;
	coach_compliment_input in = {.lang = "en", .first_name = "", .from_name = "Pat Lead",
				     .open_text = "Great help", .note = "", .base_url = "http://x", .org_name = NULL};
	char subject[256], text[4096];
	build(&in, subject, sizeof subject, text, sizeof text);
	assert_string_equal(subject, "[Klantstem] A compliment from Pat Lead");
	assert_string_equal(text, "Hello,\n\n"
				  "Pat Lead sends you a compliment for what a customer wrote about you:\n\n"
				  "  \"Great help\"\n\n"
				  "You see it on your own dashboard too:\n\n"
				  "  http://x/#/me\n");
}

static void test_unknown_language_and_sender(void **state)
{
	(void)state;
	coach_compliment_input in = {.lang = "de", .first_name = "Joris", .from_name = "", .open_text = "Prima",
				     .note = NULL, .base_url = "", .org_name = "Org"};
	char subject[256], text[4096];
	build(&in, subject, sizeof subject, text, sizeof text);
	assert_string_equal(subject, "[Org] Een compliment van Je teamleider");
	assert_non_null(strstr(text, "Hallo Joris,\n\nJe teamleider geeft je een compliment"));
	assert_null(strstr(text, "schrijft erbij"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dutch_with_note),
		cmocka_unit_test(test_english_without_note_or_name),
		cmocka_unit_test(test_unknown_language_and_sender),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
