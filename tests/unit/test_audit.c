/* test_audit.c — the audit log's entries (src/audit/audit.c): action names,
 * details that never hold a secret or a score, and the export shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "audit/audit.h"

static void test_action_names(void **state)
{
	(void)state;
	assert_true(audit_action_valid("case.update"));
	assert_true(audit_action_valid("auth.login_failed"));
	assert_false(audit_action_valid(NULL));
	assert_false(audit_action_valid(""));
	assert_false(audit_action_valid("case"));          /* no verb */
	assert_false(audit_action_valid(".update"));
	assert_false(audit_action_valid("case."));
	assert_false(audit_action_valid("Case.Update"));   /* lower case only */
	assert_false(audit_action_valid("case.update;"));
	assert_false(audit_action_valid("case.*"));        /* a filter, not a name */
	char long_name[AUDIT_ACTION_MAX + 2];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[1] = '.';
	long_name[sizeof long_name - 1] = '\0';
	assert_false(audit_action_valid(long_name));
}

/* Secrets and scores go at any depth, whatever their case; the rest stays. */
static void test_clean(void **state)
{
	(void)state;
	json_t *d = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:{s:s, s:i, s:s}, s:[{s:s}], s:s}",
			      "password", "x", "new_password", "y", "API_Token", "z", "nps", 3,
			      "grade_mean", 7, "status", "contacted", "inner", "session_hash", "h",
			      "CES", 2, "kind", "words", "list", "csrf", "c", "email", "a@b.nl");
	char *txt = audit_detail_text(d);
	assert_non_null(txt);
	assert_string_equal(txt, "{\"email\":\"a@b.nl\",\"inner\":{\"kind\":\"words\"},\"list\":[{}],"
				 "\"status\":\"contacted\"}");
	free(txt);
}

static void test_detail_shapes(void **state)
{
	(void)state;
	char *txt = audit_detail_text(NULL);
	assert_string_equal(txt, "{}");
	free(txt);
	txt = audit_detail_text(json_integer(5)); /* not an object: kept under a name */
	assert_string_equal(txt, "{\"value\":5}");
	free(txt);
	json_t *big = json_object();
	char k[16];
	for (int i = 0; i < 400; i++) {
		snprintf(k, sizeof k, "k%d", i);
		json_object_set_new(big, k, json_string("0123456789"));
	}
	txt = audit_detail_text(big);
	assert_string_equal(txt, "{\"truncated\":true}");
	free(txt);
}

static void test_csv_and_jsonl(void **state)
{
	(void)state;
	store_audit_entry a = {.id = 7, .at = 1780000000, .actor_user_id = 0, .client_addr = "127.0.0.1",
			       .action = "export.metrics", .object_kind = "=cmd", .object_id = 0,
			       .detail = "{\"path\":\"/a\"}"};
	ks_buf b;
	buf_init(&b, 4096);
	assert_int_equal(audit_csv_line(&b, &a), KS_OK);
	assert_string_equal(b.data, "7,2026-05-28T20:26:40Z,,\"127.0.0.1\",\"export.metrics\",\"'=cmd\",,"
				    "\"{\"\"path\"\":\"\"/a\"\"}\"\r\n");
	buf_free(&b);
	buf_init(&b, 4096);
	a.actor_user_id = 3;
	a.object_kind = "case";
	a.object_id = 9;
	assert_int_equal(audit_jsonl_line(&b, &a), KS_OK);
	json_t *o = json_loads(b.data, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o, "actor_user_id")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "object_id")), 9);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "detail"), "path")), "/a");
	assert_true(b.data[b.len - 1] == '\n');
	json_decref(o);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_names),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_detail_shapes),
		cmocka_unit_test(test_csv_and_jsonl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
