/* test_auth.c — login throttling and tokens (src/auth/auth.c).
 *
 * The three throttle counts of auth.h, each reached on its own: one
 * account from one address (the pair), one account from many addresses,
 * many accounts from one address; Retry-After as the time left in the
 * longest blocking window; a success clearing only the pair; e-mail
 * addresses without case; the window ending. The API tests cannot vary
 * the client address (every request comes from 127.0.0.1): this is where
 * the per-account count over many addresses is tested.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"

#define T0 1772445600 /* 2026-03-02T10:00:00Z */

static int setup(void **state)
{
	auth_ctx *a = NULL;
	if (auth_ctx_new(&a) != KS_OK)
		return -1;
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	auth_ctx_free(*state);
	return 0;
}

static void fail_n(auth_ctx *a, const char *email, const char *addr, int n, int64_t now)
{
	for (int i = 0; i < n; i++)
		auth_throttle_fail(a, email, addr, now);
}

static ks_err check(auth_ctx *a, const char *email, const char *addr, int64_t now, int *wait, ks_error *e)
{
	ks_error_clear(e);
	return auth_throttle_check(a, email, addr, now, wait, e);
}

static void test_pair(void **state)
{
	auth_ctx *a = *state;
	ks_error e;
	int wait = -1;
	fail_n(a, "ann@x.nl", "10.0.0.1", AUTH_MAX_FAIL_PAIR - 1, T0);
	assert_int_equal(check(a, "ann@x.nl", "10.0.0.1", T0, &wait, &e), KS_OK);
	assert_int_equal(wait, 0);
	auth_throttle_fail(a, "ann@x.nl", "10.0.0.1", T0);
	assert_int_equal(check(a, "ann@x.nl", "10.0.0.1", T0 + 60, &wait, &e), KS_ERR_TOO_MANY);
	assert_int_equal(wait, AUTH_WINDOW - 60);
	assert_non_null(strstr(e.message, "for this account from your address"));
	assert_non_null(strstr(e.message, "14 minutes"));
	/* the address in another case is the same account */
	assert_int_equal(check(a, "ANN@X.NL", "10.0.0.1", T0 + 60, NULL, &e), KS_ERR_TOO_MANY);
	/* a colleague behind the same address, and the same account elsewhere, go on */
	assert_int_equal(check(a, "bob@x.nl", "10.0.0.1", T0 + 60, &wait, &e), KS_OK);
	assert_int_equal(check(a, "ann@x.nl", "10.0.0.2", T0 + 60, &wait, &e), KS_OK);
	/* the window ends AUTH_WINDOW after the first failure */
	assert_int_equal(check(a, "ann@x.nl", "10.0.0.1", T0 + AUTH_WINDOW - 1, &wait, &e), KS_ERR_TOO_MANY);
	assert_int_equal(wait, 1);
	assert_int_equal(check(a, "ann@x.nl", "10.0.0.1", T0 + AUTH_WINDOW, &wait, &e), KS_OK);
	assert_int_equal(wait, 0);
}

static void test_ok_clears_pair(void **state)
{
	auth_ctx *a = *state;
	ks_error e;
	fail_n(a, "cas@x.nl", "10.0.1.1", AUTH_MAX_FAIL_PAIR - 1, T0);
	auth_throttle_ok(a, "CAS@x.nl", "10.0.1.1");
	fail_n(a, "cas@x.nl", "10.0.1.1", AUTH_MAX_FAIL_PAIR - 1, T0);
	assert_int_equal(check(a, "cas@x.nl", "10.0.1.1", T0, NULL, &e), KS_OK);
	auth_throttle_fail(a, "cas@x.nl", "10.0.1.1", T0);
	assert_int_equal(check(a, "cas@x.nl", "10.0.1.1", T0, NULL, &e), KS_ERR_TOO_MANY);
}

/* Guessing one account from many addresses: the account's own count. */
static void test_account(void **state)
{
	auth_ctx *a = *state;
	ks_error e;
	int wait = 0;
	char addr[32];
	for (int i = 0; i < AUTH_MAX_FAIL_ACCOUNT - 1; i++) {
		snprintf(addr, sizeof addr, "192.0.2.%d", i + 1);
		auth_throttle_fail(a, "dora@x.nl", addr, T0 + i);
	}
	assert_int_equal(check(a, "dora@x.nl", "198.51.100.1", T0 + 100, &wait, &e), KS_OK);
	auth_throttle_fail(a, "dora@x.nl", "198.51.100.7", T0 + 100);
	assert_int_equal(check(a, "dora@x.nl", "198.51.100.1", T0 + 100, &wait, &e), KS_ERR_TOO_MANY);
	assert_int_equal(wait, AUTH_WINDOW - 100);
	assert_non_null(strstr(e.message, "for this account;"));
	/* other accounts from those addresses are not held up */
	assert_int_equal(check(a, "eva@x.nl", "192.0.2.1", T0 + 100, &wait, &e), KS_OK);
}

/* One client trying many accounts: the address's count, looser. */
static void test_address(void **state)
{
	auth_ctx *a = *state;
	ks_error e;
	int wait = 0;
	char email[64];
	for (int i = 0; i < AUTH_MAX_FAIL_ADDR - 1; i++) {
		snprintf(email, sizeof email, "guess-%d@x.nl", i);
		auth_throttle_fail(a, email, "203.0.113.9", T0);
	}
	assert_int_equal(check(a, "fred@x.nl", "203.0.113.9", T0 + 10, &wait, &e), KS_OK);
	auth_throttle_fail(a, "last@x.nl", "203.0.113.9", T0 + 10);
	assert_int_equal(check(a, "fred@x.nl", "203.0.113.9", T0 + 10, &wait, &e), KS_ERR_TOO_MANY);
	assert_int_equal(wait, AUTH_WINDOW - 10);
	assert_non_null(strstr(e.message, "from your address"));
	assert_int_equal(check(a, "fred@x.nl", "203.0.113.10", T0 + 10, &wait, &e), KS_OK);
	assert_true(AUTH_MAX_FAIL_PAIR < AUTH_MAX_FAIL_ACCOUNT && AUTH_MAX_FAIL_ACCOUNT < AUTH_MAX_FAIL_ADDR);
}

/* Retry-After is the longest wait of the counts that block. */
static void test_longest_wait(void **state)
{
	auth_ctx *a = *state;
	ks_error e;
	int wait = 0;
	char addr[32];
	/* the account's count starts first (at T0), the pair's later */
	for (int i = 0; i < AUTH_MAX_FAIL_ACCOUNT - AUTH_MAX_FAIL_PAIR; i++) {
		snprintf(addr, sizeof addr, "192.0.2.%d", i + 100);
		auth_throttle_fail(a, "gus@x.nl", addr, T0);
	}
	fail_n(a, "gus@x.nl", "10.9.9.9", AUTH_MAX_FAIL_PAIR, T0 + 300);
	assert_int_equal(check(a, "gus@x.nl", "10.9.9.9", T0 + 300, &wait, &e), KS_ERR_TOO_MANY);
	assert_int_equal(wait, AUTH_WINDOW); /* the pair's window, started last */
	assert_int_equal(check(a, "gus@x.nl", "10.1.1.1", T0 + 300, &wait, &e), KS_ERR_TOO_MANY);
	assert_int_equal(wait, AUTH_WINDOW - 300); /* elsewhere only the account's */
}

static void test_tokens(void **state)
{
	(void)state;
	char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1], h1[AUTH_HASH_HEX + 1], h2[AUTH_HASH_HEX + 1];
	auth_token_new(t1);
	auth_token_new(t2);
	assert_int_equal(strlen(t1), AUTH_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	auth_token_hash(t1, h1);
	auth_token_hash(t1, h2);
	assert_string_equal(h1, h2);
	assert_int_equal(strlen(h1), AUTH_HASH_HEX);
	assert_null(strstr(h1, t1));
	assert_true(AUTH_TOKEN_DAYS >= 1 && AUTH_TOKEN_DAYS <= AUTH_TOKEN_MAX_DAYS && AUTH_TOKEN_MAX_DAYS == 365);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ok_clears_pair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_longest_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
