/* test_mail_subject.c — the Subject and From headers of a composed mail
 * (src/mail/mail.c, put_subject and put_from).
 *
 * Regression tests from fuzz/fuzz_mail (issue 11): a plain-ASCII subject
 * was written as it stood, so one holding "=?UTF-8?B?...?=" (a touchpoint
 * or team name, in an invitation or case mail) was decoded by mail
 * readers as an RFC 2047 encoded word — showing text that is not the
 * subject — and ASCII control characters went into the header raw (RFC
 * 5322 §3.2.5 allows only VCHAR and white space). Such subjects now travel
 * as encoded words, which decode to exactly the subject. The same holds
 * for the display name of --mail-from (a control character went into the
 * From header raw).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mail/mail.h"

static const mail_config cfg = {.url = "smtp://127.0.0.1:25", .from = "Klantstem <noreply@example.org>"};

/* The Subject line of the message composed for subject. */
static void subject_line(const char *subject, char *out, size_t n)
{
	mail_message m = {.to = "klant@example.org", .subject = subject, .text = "t", .message_id = "m-1"};
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(mail_compose(&cfg, &m, 1793491200, &b), KS_OK);
	assert_int_equal(buf_append(&b, "", 1), KS_OK);
	const char *s = strstr(b.data, "\r\nSubject: ");
	assert_non_null(s);
	s += 2;
	const char *e = strstr(s, "\r\n");
	while (e && (e[2] == ' ' || e[2] == '\t'))
		e = strstr(e + 2, "\r\n");
	assert_non_null(e);
	assert_true((size_t)(e - s) < n);
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	buf_free(&b);
}

static void test_encoded_word_lookalike_is_encoded(void **state)
{
	(void)state;
	char line[512];
	/* base64 of "=?UTF-8?B?SGFsbG8=?=" is PT9VVEYtOD9CP1NHRnNiRzg9Pz0= */
	subject_line("=?UTF-8?B?SGFsbG8=?=", line, sizeof line);
	assert_string_equal(line, "Subject: =?UTF-8?B?PT9VVEYtOD9CP1NHRnNiRzg9Pz0=?=");
}

static void test_control_characters_are_encoded(void **state)
{
	(void)state;
	char line[512];
	subject_line("a\x01" "b", line, sizeof line);
	assert_string_equal(line, "Subject: =?UTF-8?B?YQFi?=");
	subject_line("a\x7f", line, sizeof line);
	assert_string_equal(line, "Subject: =?UTF-8?B?YX8=?=");
}

static void test_plain_subject_stays_plain(void **state)
{
	(void)state;
	char line[512];
	subject_line("Hoe was uw contact? = 100% ?= tab\there", line, sizeof line);
	assert_string_equal(line, "Subject: Hoe was uw contact? = 100% ?= tab\there");
}

static void test_from_name_with_control_character_is_encoded(void **state)
{
	(void)state;
	mail_config c = cfg;
	snprintf(c.from, sizeof c.from, "%s", "Klant\x16stem <noreply@example.org>");
	mail_message m = {.to = "klant@example.org", .subject = "s", .text = "t", .message_id = "m-1"};
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(mail_compose(&c, &m, 1793491200, &b), KS_OK);
	assert_int_equal(buf_append(&b, "", 1), KS_OK);
	/* base64 of "Klant\x16stem" */
	assert_non_null(strstr(b.data, "\r\nFrom: =?UTF-8?B?S2xhbnQWc3RlbQ==?= <noreply@example.org>\r\n"));
	assert_null(strchr(b.data, '\x16'));
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoded_word_lookalike_is_encoded),
		cmocka_unit_test(test_control_characters_are_encoded),
		cmocka_unit_test(test_plain_subject_stays_plain),
		cmocka_unit_test(test_from_name_with_control_character_is_encoded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
