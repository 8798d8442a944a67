/* test_survey_guard.c — the open-link guard's token buckets (src/survey/guard.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "survey/guard.h"

#define TOK_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define TOK_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static survey_guard *mk(const char *spec)
{
	guard_config c;
	guard_config_default(&c);
	assert_int_equal(guard_config_parse(spec, &c, NULL), KS_OK);
	survey_guard *g = NULL;
	assert_int_equal(guard_new(&c, &g), KS_OK);
	return g;
}

static void test_config(void **state)
{
	(void)state;
	guard_config c;
	guard_config_default(&c);
	assert_int_equal(c.addr_limit, 10);
	assert_int_equal(c.addr_window_s, 60);
	assert_int_equal(c.link_limit, 600);
	assert_int_equal(c.link_window_s, 3600);
	assert_int_equal(c.normal_limit, 60);
	assert_int_equal(c.normal_window_s, 3600);
	assert_int_equal(c.quiet_s, 900);
	assert_int_equal(guard_config_parse("link=5,addr=0", &c, NULL), KS_OK);
	assert_int_equal(c.link_limit, 5);
	assert_int_equal(c.link_window_s, 3600); /* kept */
	assert_int_equal(c.addr_limit, 0);
	assert_int_equal(guard_config_parse("normal=7/120,window=30,addr=3/10", &c, NULL), KS_OK);
	assert_int_equal(c.normal_limit, 7);
	assert_int_equal(c.normal_window_s, 30); /* window= later wins */
	assert_int_equal(c.link_window_s, 30);
	assert_int_equal(c.addr_limit, 3);
	assert_int_equal(c.addr_window_s, 10);
	assert_int_equal(guard_config_parse(NULL, &c, NULL), KS_OK);
	ks_error e;
	const char *bad[] = {"foo=1", "addr", "addr=", "addr=-1", "addr=1x", "window=0", "quiet=2000000",
			     "addr=5/0", "addr=5/", "addr=/60", "quiet=5/60"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(guard_config_parse(bad[i], &c, &e), KS_ERR_USAGE);
		assert_string_equal(e.field, "open-link-guard");
	}
}

static void test_addr_limit(void **state)
{
	(void)state;
	survey_guard *g = mk("addr=3,link=0,window=60");
	int wait = -1;
	for (int i = 0; i < 3; i++)
		assert_true(guard_admit(g, "10.0.0.1", TOK_A, true, 1000, &wait));
	assert_false(guard_admit(g, "10.0.0.1", TOK_A, true, 1000, &wait));
	assert_int_equal(wait, 20); /* one token every 60 / 3 s */
	/* another address, another link: their own buckets */
	assert_true(guard_admit(g, "10.0.0.2", TOK_A, true, 1000, &wait));
	assert_true(guard_admit(g, "10.0.0.1", TOK_B, false, 1000, &wait));
	/* refilled evenly: one more after 20 s, not two */
	assert_true(guard_admit(g, "10.0.0.1", TOK_A, true, 1020, &wait));
	assert_false(guard_admit(g, "10.0.0.1", TOK_A, true, 1020, &wait));
	/* never more than the limit after a long pause */
	for (int i = 0; i < 3; i++)
		assert_true(guard_admit(g, "10.0.0.1", TOK_A, true, 9000, &wait));
	assert_false(guard_admit(g, "10.0.0.1", TOK_A, true, 9000, &wait));
	guard_free(g);
}

static void test_link_ceiling(void **state)
{
	(void)state;
	survey_guard *g = mk("addr=0,link=4,window=60");
	int wait = -1;
	char addr[32];
	for (int i = 0; i < 4; i++) {
		snprintf(addr, sizeof addr, "10.0.1.%d", i);
		assert_true(guard_admit(g, addr, TOK_A, true, 50, &wait));
	}
	assert_false(guard_admit(g, "10.0.2.1", TOK_A, true, 50, &wait));
	assert_int_equal(wait, 15);
	/* a personal link (open_link false) has no ceiling */
	assert_true(guard_admit(g, "10.0.2.1", TOK_A, false, 50, &wait));
	guard_free(g);
}

static void test_refused_consumes_nothing(void **state)
{
	(void)state;
	survey_guard *g = mk("addr=2,link=3,window=60");
	int wait = 0;
	assert_true(guard_admit(g, "a", TOK_A, true, 0, &wait));
	assert_true(guard_admit(g, "a", TOK_A, true, 0, &wait));
	assert_false(guard_admit(g, "a", TOK_A, true, 0, &wait)); /* address empty */
	/* the link still has its third token */
	assert_true(guard_admit(g, "b", TOK_A, true, 0, &wait));
	assert_false(guard_admit(g, "c", TOK_A, true, 0, &wait));
	guard_free(g);
}

static void test_normal(void **state)
{
	(void)state;
	survey_guard *g = mk("normal=2,window=60");
	assert_true(guard_normal(g, TOK_A, 0));
	assert_true(guard_normal(g, TOK_A, 0));
	assert_false(guard_normal(g, TOK_A, 0)); /* the burst: held */
	assert_true(guard_normal(g, TOK_B, 0));
	assert_true(guard_normal(g, TOK_A, 30)); /* refilled */
	guard_free(g);
	g = mk("normal=0");
	for (int i = 0; i < 100; i++)
		assert_true(guard_normal(g, TOK_A, 0));
	guard_free(g);
}

/* Many more addresses than slots: memory stays fixed, and a busy
 * address is not pushed out by a crowd of one-off ones. */
static void test_table_bounded(void **state)
{
	(void)state;
	survey_guard *g = mk("addr=2,link=0,window=3600");
	int wait = 0;
	assert_true(guard_admit(g, "busy", TOK_A, true, 100, &wait));
	assert_true(guard_admit(g, "busy", TOK_A, true, 100, &wait));
	char addr[32];
	for (int i = 0; i < 4 * GUARD_SLOTS; i++) {
		snprintf(addr, sizeof addr, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		assert_true(guard_admit(g, addr, TOK_A, true, 50, &wait));
	}
	assert_false(guard_admit(g, "busy", TOK_A, true, 100, &wait));
	guard_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_addr_limit),
		cmocka_unit_test(test_link_ceiling),
		cmocka_unit_test(test_refused_consumes_nothing),
		cmocka_unit_test(test_normal),
		cmocka_unit_test(test_table_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
