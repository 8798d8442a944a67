/* test_error.c — the one error type (src/core/error.c).
 *
 * Regression tests from fuzz/fuzz_api (issue 11): an error's field and
 * message are printed as JSON, so ks_fail keeps them valid UTF-8. Before,
 * a query parameter named with a byte that is not UTF-8 (?lim%FF=1), or a
 * long UTF-8 name cut mid-character by "%.40s" or by the 64-byte field,
 * made jansson refuse the error body and the reply became a 500
 * {"error":{"code":"internal"}} instead of the 422 naming the parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/error.h"

/* Does jansson take s as a string (valid UTF-8)? */
static bool json_ok(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

static void test_invalid_byte_in_field_and_message(void **state)
{
	(void)state;
	ks_error e;
	assert_int_equal(ks_fail(&e, KS_ERR_INVALID, "lim\xff\xc7t", "unknown parameter %s", "lim\xff\xc7t"),
			 KS_ERR_INVALID);
	assert_int_equal(e.code, KS_ERR_INVALID);
	assert_string_equal(e.field, "lim??t");
	assert_string_equal(e.message, "unknown parameter lim??t");
	assert_true(json_ok(e.field));
	assert_true(json_ok(e.message));
}

static void test_precision_cuts_a_character(void **state)
{
	(void)state;
	ks_error e;
	/* 13 x "é" (2 bytes) = 26 bytes; %.25s keeps half of the last one. */
	const char *v = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9";
	ks_fail(&e, KS_ERR_INVALID, "group_by", "unknown dimension %.25s", v);
	assert_true(json_ok(e.message));
	assert_int_equal(e.message[strlen(e.message) - 1], '?');
	assert_memory_equal(e.message + strlen("unknown dimension "), v, 24);
}

static void test_field_cut_by_its_size(void **state)
{
	(void)state;
	ks_error e;
	char name[200] = "";
	for (int i = 0; i < 40; i++)
		strcat(name, "\xe2\x82\xac"); /* "€", 3 bytes: 120 bytes */
	ks_fail(&e, KS_ERR_INVALID, name, "unknown parameter %s", name);
	assert_true(strlen(e.field) < sizeof e.field);
	assert_true(json_ok(e.field));
	assert_true(json_ok(e.message));
}

static void test_valid_text_unchanged(void **state)
{
	(void)state;
	ks_error e;
	ks_fail(&e, KS_ERR_RANGE, "q", "%s", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \t ok");
	assert_string_equal(e.message, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \t ok");
	assert_string_equal(e.field, "q");
	/* overlong, surrogate and out-of-range forms are not UTF-8 either */
	ks_fail(&e, KS_ERR_RANGE, NULL, "%s", "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80");
	assert_string_equal(e.message, "??|???|????");
	assert_string_equal(e.field, "");
	assert_int_equal(ks_fail(NULL, KS_ERR_NOTFOUND, "x", "y"), KS_ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_byte_in_field_and_message),
		cmocka_unit_test(test_precision_cuts_a_character),
		cmocka_unit_test(test_field_cut_by_its_size),
		cmocka_unit_test(test_valid_text_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
