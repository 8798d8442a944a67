/* test_api_events.c — POST /api/v1/responses (src/api/api_events.c), run
 * in process on a demo store with fuzz/fuzz_app.h (the route harness's
 * stand-in for libmicrohttpd: real router, handler, writer thread and
 * resumption).
 *
 * Found by fuzz/fuzz_api (issue 11): the Idempotency-Key header was copied
 * into the response's client_key after a length check only. A header is
 * raw bytes, so a key that is not UTF-8 ("Idempotency-Key: ab\xff\xfe") was
 * stored with the row; the 201 reply could not be printed as JSON (500
 * with the row on disk) and every later GET of that row was a 500 too.
 * Now: 422 naming client_key, nothing stored (api_response_parse takes
 * visible ASCII only); the input is fuzz/corpus/fuzz_api/regress-*.
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
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idempotency_key_ascii),
		cmocka_unit_test(test_idempotency_key_not_utf8),
	};
	return cmocka_run_group_tests_name("api_events", tests, world_setup, NULL);
}
