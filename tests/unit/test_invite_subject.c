/* test_invite_subject.c — the subject of an invitation
 * (src/invite/message.c, put_subject).
 *
 * Regression test from fuzz/fuzz_mail (issue 11): the API takes an
 * employee's first name and a touchpoint's name of up to 500 bytes each,
 * and the subject held both whole ("Herinnering: Hoe was je contact met
 * NAME over TOPIC?"), up to 1,043 bytes; mail_message_check refuses a
 * subject over 900, so such an invitation could never be sent. Each name
 * in the subject is now cut to 400 bytes (on a character boundary, with
 * "..."), and the invitation composes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "invite/message.h"
#include "mail/mail.h"

static void test_longest_names_still_send(void **state)
{
	(void)state;
	char first[501], topic[501];
	memset(first, 'a', 500);
	first[500] = '\0';
	/* "é" is two bytes: 250 of them, so a cut at 400 falls between two */
	for (int i = 0; i < 250; i++)
		memcpy(topic + 2 * i, "\xc3\xa9", 2);
	topic[500] = '\0';
	invite_message_input in = {.lang = "nl", .base_url = "https://feedback.example.org", .token = "tok",
				   .unsubscribe_token = "uns", .customer_name = "Jan",
				   .employee_first_name = first, .touchpoint_name = topic,
				   .org_name = "Klantstem", .reminder = true};
	ks_buf subject, text, html;
	buf_init(&subject, 1 << 20);
	buf_init(&text, 1 << 20);
	buf_init(&html, 1 << 20);
	assert_int_equal(invite_message_build(&in, &subject, &text, &html), KS_OK);
	assert_int_equal(buf_append(&subject, "", 1), KS_OK);
	assert_int_equal(buf_append(&text, "", 1), KS_OK);
	assert_int_equal(buf_append(&html, "", 1), KS_OK);
	assert_true(strlen(subject.data) <= 900);
	assert_non_null(strstr(subject.data, "a..."));
	assert_non_null(strstr(subject.data, "\xc3\xa9..."));
	/* the text keeps the names whole */
	assert_non_null(strstr(text.data, first));
	mail_config cfg = {.url = "smtp://127.0.0.1:25", .from = "Klantstem <noreply@example.org>"};
	mail_message m = {.to = "jan@example.org", .subject = subject.data, .text = text.data,
			  .html = html.data, .message_id = "inv-1"};
	ks_error e;
	assert_int_equal(mail_message_check(&cfg, &m, &e), KS_OK);
	buf_free(&subject);
	buf_free(&text);
	buf_free(&html);
}

static void test_short_names_unchanged(void **state)
{
	(void)state;
	invite_message_input in = {.lang = "en", .base_url = "https://feedback.example.org", .token = "tok",
				   .unsubscribe_token = "uns", .employee_first_name = "Anne",
				   .touchpoint_name = "the counter", .org_name = "Klantstem"};
	ks_buf subject, text, html;
	buf_init(&subject, 1 << 20);
	buf_init(&text, 1 << 20);
	buf_init(&html, 1 << 20);
	assert_int_equal(invite_message_build(&in, &subject, &text, &html), KS_OK);
	assert_int_equal(buf_append(&subject, "", 1), KS_OK);
	assert_null(strstr(subject.data, "..."));
	assert_non_null(strstr(subject.data, "Anne"));
	assert_non_null(strstr(subject.data, "the counter"));
	buf_free(&subject);
	buf_free(&text);
	buf_free(&html);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_longest_names_still_send),
		cmocka_unit_test(test_short_names_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
