/* test_api_events.c — POST /api/v1/responses (src/api/api_events.c), run
 * in process on a demo store with fuzz/fuzz_app.h (the route harness's
 * stand-in for libmicrohttpd: real router, handler, writer thread and
 * resumption).
 *
 * PENDING (issue 11, found by fuzz/fuzz_api; the fix belongs in
 * api_events.c): the Idempotency-Key header is copied into the response's
 * client_key after a length check only. A header is raw bytes, so a key
 * that is not UTF-8 ("Idempotency-Key: ab\xff\xfe") is stored with the
 * row; then the 201 reply cannot be printed as JSON and the client gets
 * 500 {"error":{"code":"internal"}} although the row is on disk, and every
 * later GET /api/v1/responses/{id} of that row is a 500 too. Expected: 422
 * naming client_key, nothing stored. That test runs only with
 * KS_RUN_PENDING=1 until the fix lands; then run it always, and move
 * fuzz/pending/fuzz_api-idempotency-key-not-utf8 into fuzz/corpus/fuzz_api/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../fuzz/fuzz_app.h"

static int world_setup(void **state)
{
	(void)state;
	fz_world_open();
	return 0;
}

/* POST /api/v1/responses as the admin; the status, *body the reply (free). */
static int post_response(const char *headers, const char *body, char **reply)
{
	char q[] = "", h[256];
	snprintf(h, sizeof h, "%s", headers);
	fz_request r = {.method = "POST", .path = "/api/v1/responses", .query = q, .headers = h,
			.body = (const uint8_t *)body, .body_len = strlen(body), .role = AUTH_ROLE_ADMIN};
	fz_reply out;
	assert_true(fz_request_run(&r, &out));
	*reply = out.body;
	return out.status;
}

static void test_idempotency_key_not_utf8(void **state)
{
	(void)state;
	char *reply = NULL;
	int status = post_response("Idempotency-Key: ab\xff\xfe",
				   "{\"touchpoint_id\":2,\"customer_id\":3,\"channel\":\"web\","
				   "\"answers\":{\"grade\":7}}",
				   &reply);
	assert_int_equal(status, 422);
	assert_non_null(strstr(reply, "\"client_key\""));
	free(reply);
}

static void test_idempotency_key_ascii(void **state)
{
	(void)state;
	char *reply = NULL;
	const char *body = "{\"touchpoint_id\":2,\"customer_id\":3,\"channel\":\"web\",\"answers\":{\"grade\":8}}";
	assert_int_equal(post_response("Idempotency-Key: key-ascii-1", body, &reply), 201);
	free(reply);
	assert_int_equal(post_response("Idempotency-Key: key-ascii-1", body, &reply), 200);
	free(reply);
}

int main(void)
{
	/* The pending test last, and only with KS_RUN_PENDING=1: cmocka's
	 * skip() prints "not ok ... # SKIP", which tests/run counts. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idempotency_key_ascii),
		cmocka_unit_test(test_idempotency_key_not_utf8),
	};
	size_t n = getenv("KS_RUN_PENDING") ? 2 : 1;
	return _cmocka_run_group_tests("api_events", tests, n, world_setup, NULL);
}
