/* test_utf8.c — UTF-8 checks shared by every intake (src/core/utf8.c).
 *
 * The byte sequences are the boundary cases of RFC 3629 section 4 and of
 * Markus Kuhn's UTF-8 decoder stress test (sections 3-5): the smallest and
 * largest sequence of each length, overlong forms of '/' and of U+0000,
 * surrogates, and code points past U+10FFFF. Each expected offset is the
 * position of the first byte of the bad sequence, counted by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.h"

typedef struct {
	const char *bytes;
	size_t n;
	size_t bad;  /* (size_t)-1 = valid */
} u8_case;

#define VALID ((size_t)-1)

static const u8_case cases[] = {
	{"", 0, VALID},
	{"plain ascii", 11, VALID},
	{"a\0b", 3, VALID},                 /* NUL is a character */
	{"\xc2\x80", 2, VALID},             /* U+0080, smallest 2-byte */
	{"\xdf\xbf", 2, VALID},             /* U+07FF */
	{"\xe0\xa0\x80", 3, VALID},         /* U+0800 */
	{"\xed\x9f\xbf", 3, VALID},         /* U+D7FF, just below the surrogates */
	{"\xee\x80\x80", 3, VALID},         /* U+E000, just above */
	{"\xef\xbf\xbd", 3, VALID},         /* U+FFFD */
	{"\xf0\x90\x80\x80", 4, VALID},     /* U+10000 */
	{"\xf4\x8f\xbf\xbf", 4, VALID},     /* U+10FFFF, the last */
	{"caf\xc3\xa9", 5, VALID},
	{"\xc0\xaf", 2, 0},                 /* overlong '/' */
	{"ab\xc1\xbf", 4, 2},               /* overlong U+007F */
	{"\xe0\x80\xaf", 3, 0},             /* overlong '/' in 3 bytes */
	{"\xe0\x9f\xbf", 3, 0},             /* overlong U+07FF */
	{"x\xf0\x8f\xbf\xbf", 5, 1},        /* overlong U+FFFF */
	{"\xed\xa0\x80", 3, 0},             /* U+D800, a surrogate */
	{"\xed\xbf\xbf", 3, 0},             /* U+DFFF */
	{"\xf4\x90\x80\x80", 4, 0},         /* U+110000 */
	{"\xf5\x80\x80\x80", 4, 0},
	{"\xff", 1, 0},
	{"\x80", 1, 0},                     /* a lone continuation byte */
	{"ok\xc3", 3, 2},                   /* cut short at the end */
	{"\xe2\x82x", 3, 0},                /* cut short before an ASCII byte */
	{"caf\xe9 au lait", 12, 3},         /* Latin-1 e-acute */
};

static void test_valid_and_offsets(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t bad = 12345;
		bool ok = utf8_valid(cases[i].bytes, cases[i].n, &bad);
		if (cases[i].bad == VALID) {
			assert_true(ok);
			assert_int_equal(bad, 12345);  /* untouched */
		} else {
			assert_false(ok);
			assert_int_equal(bad, cases[i].bad);
		}
		assert_int_equal(utf8_valid(cases[i].bytes, cases[i].n, NULL), ok);
	}
}

static void test_text_ok(void **state)
{
	(void)state;
	assert_true(utf8_text_ok("Beste Jan,\r\n\tdank je wel! \xe2\x82\xac 5", false));
	assert_true(utf8_text_ok("", true));
	assert_false(utf8_text_ok("bell\x07", false));     /* C0 */
	assert_false(utf8_text_ok("del\x7f", false));      /* DEL */
	assert_false(utf8_text_ok("esc\x1b[0m", true));
	assert_false(utf8_text_ok("caf\xe9", false));      /* not UTF-8 */
	/* the C1 controls (C2 80 .. C2 9F) only when asked */
	assert_true(utf8_text_ok("a\xc2\x80z", false));
	assert_false(utf8_text_ok("a\xc2\x80z", true));
	assert_false(utf8_text_ok("\xc2\x9f", true));
	assert_true(utf8_text_ok("\xc2\xa0nbsp and \xc2\xa9", true)); /* U+00A0, U+00A9 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_offsets),
		cmocka_unit_test(test_text_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
