/* test_invite_relationship.c — allocation, draw keys and post-stratified
 * NPS of relationship surveys (src/invite/relationship.c).
 *
 * Allocations are worked out by hand (Hamilton's largest remainders); the
 * keys and the NPS figures are literals computed independently in Python
 * (a splitmix64 written out there; the adjusted-Wald formulas of
 * docs/STATISTICS.md §2 and §12 in floating point), never with the code
 * under test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "invite/relationship.h"

/* cmocka 1.1.5's assert_float_equal works in float: compare doubles here. */
#define assert_near(got, want, eps)                                                 \
	do {                                                                        \
		double got_ = (got), want_ = (want);                                \
		if (!(fabs(got_ - want_) <= (eps))) {                               \
			print_error("%s = %.17g, want %.17g\n", #got, got_, want_);    \
			fail();                                                     \
		}                                                                   \
	} while (0)

static void alloc_is(const int64_t *pop, size_t h, int64_t n, int64_t min, rel_allocation m, const int64_t *want)
{
	int64_t out[8];
	ks_error e;
	assert_int_equal(rel_allocate(pop, h, n, min, m, out, &e), KS_OK);
	for (size_t i = 0; i < h; i++)
		assert_int_equal(out[i], want[i]);
}

static void test_proportional(void **state)
{
	(void)state;
	alloc_is((int64_t[]){600, 300, 100}, 3, 100, 0, REL_ALLOC_PROPORTIONAL, (int64_t[]){60, 30, 10});
	/* 7/5/3, n = 10: q = 4.67, 3.33, 2 -> floors 4, 3, 2 and the unit left to .67 */
	alloc_is((int64_t[]){7, 5, 3}, 3, 10, 0, REL_ALLOC_PROPORTIONAL, (int64_t[]){5, 3, 2});
	/* n = 4: q = 1.87, 1.33, 0.8 -> 1, 1, 0 and two units to .87 and .8 */
	alloc_is((int64_t[]){7, 5, 3}, 3, 4, 0, REL_ALLOC_PROPORTIONAL, (int64_t[]){2, 1, 1});
	/* equal remainders (n = 2 of 5/5): one each, never both to the first */
	alloc_is((int64_t[]){5, 5}, 2, 3, 0, REL_ALLOC_PROPORTIONAL, (int64_t[]){2, 1});
	/* min 3 each (9), the last unit over the room 4, 2, 0 -> .67 wins */
	alloc_is((int64_t[]){7, 5, 3}, 3, 10, 3, REL_ALLOC_PROPORTIONAL, (int64_t[]){4, 3, 3});
	/* a stratum smaller than the minimum gives all it has */
	alloc_is((int64_t[]){7, 1}, 2, 4, 2, REL_ALLOC_PROPORTIONAL, (int64_t[]){3, 1});
	/* n at or over the frame: everyone */
	alloc_is((int64_t[]){7, 5, 3}, 3, 15, 0, REL_ALLOC_PROPORTIONAL, (int64_t[]){7, 5, 3});
	alloc_is((int64_t[]){7, 5, 3}, 3, 99, 0, REL_ALLOC_PROPORTIONAL, (int64_t[]){7, 5, 3});
	/* an empty stratum gets nothing */
	alloc_is((int64_t[]){0, 10}, 2, 4, 1, REL_ALLOC_PROPORTIONAL, (int64_t[]){0, 4});
}

static void test_equal(void **state)
{
	(void)state;
	alloc_is((int64_t[]){600, 300, 100}, 3, 100, 0, REL_ALLOC_EQUAL, (int64_t[]){34, 33, 33});
	/* 600/300/20: the small one takes its 20, the rest 40/40 */
	alloc_is((int64_t[]){600, 300, 20}, 3, 100, 0, REL_ALLOC_EQUAL, (int64_t[]){40, 40, 20});
	alloc_is((int64_t[]){7, 5, 3}, 3, 10, 0, REL_ALLOC_EQUAL, (int64_t[]){4, 3, 3});
	/* 12: 4 each, the 3 capped; one left to the most room (7 - 4 = 3) */
	alloc_is((int64_t[]){7, 5, 3}, 3, 12, 0, REL_ALLOC_EQUAL, (int64_t[]){5, 4, 3});
}

static void test_allocate_errors(void **state)
{
	(void)state;
	int64_t out[3];
	ks_error e;
	assert_int_equal(rel_allocate((int64_t[]){7, 5, 3}, 3, 10, 4, REL_ALLOC_PROPORTIONAL, out, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "min_per_stratum");
	assert_int_equal(rel_allocate((int64_t[]){7, 5, 3}, 3, 0, 0, REL_ALLOC_PROPORTIONAL, out, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "sample_size");
}

static void test_keys_and_seeds(void **state)
{
	(void)state;
	assert_true(rel_key(0x0123456789abcdefu, 42) == 0xfd42d2b00c1b17e4u);
	assert_true(rel_key(0, 1) == 0x5e41ab087439611eu);
	char hex[17];
	rel_seed_format(0x00000000000000ffu, hex);
	assert_string_equal(hex, "00000000000000ff");
	uint64_t v = 0;
	assert_true(rel_seed_parse("FEDCBA9876543210", &v));
	assert_true(v == 0xfedcba9876543210u);
	assert_false(rel_seed_parse("fedcba987654321", &v));   /* 15 digits */
	assert_false(rel_seed_parse("fedcba98765432100", &v)); /* 17 */
	assert_false(rel_seed_parse("fedcba987654321g", &v));
	assert_false(rel_seed_parse(NULL, &v));
	rel_allocation a;
	assert_true(rel_allocation_parse("equal", &a) && a == REL_ALLOC_EQUAL);
	assert_false(rel_allocation_parse("neyman", &a));
}

static void test_weighted_and_gap(void **state)
{
	(void)state;
	/* W = 0.6, 0.4; stratum 1: 5 promoters, 2 detractors of 10; stratum 2: 1, 3 of 5;
	 * a third stratum without answers is left out (its share renormalised away) */
	rel_stratum_nps s[3] = {{0.45, 5, 2, 10}, {0.30, 1, 3, 5}, {0.25, 0, 0, 0}};
	rel_nps w;
	rel_weighted_nps(s, 3, &w);
	assert_true(w.has);
	assert_near(w.value, 2.0, 1e-9);
	assert_near(w.adj, 3.846153846153845, 1e-9);
	assert_near(w.var, 0.02913177059626764, 1e-12);
	assert_near(w.low, -29.607188277260633, 1e-9);
	assert_near(w.high, 37.299495969568326, 1e-9);
	rel_nps p;
	rel_plain_nps(30, 10, 60, &p);
	assert_near(p.value, 33.333333333333336, 1e-9);
	assert_near(p.adj, 31.746031746031743, 1e-9);
	assert_near(p.var, 0.008856335009018303, 1e-12);
	rel_gap g;
	rel_nps_gap(&w, &p, &g);
	assert_true(g.has);
	assert_near(g.value, -31.333333333333336, 1e-9);
	assert_near(g.centre, -27.8998778998779, 1e-9);
	assert_near(g.se, 19.490537602971845, 1e-9);
	assert_near(g.low, -66.10133160170273, 1e-9);
	assert_near(g.high, 10.301575801946917, 1e-9);
	/* nothing answered: no figure, no gap */
	rel_stratum_nps none[1] = {{1.0, 0, 0, 0}};
	rel_weighted_nps(none, 1, &w);
	assert_false(w.has);
	rel_nps_gap(&w, &p, &g);
	assert_false(g.has);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proportional),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_allocate_errors),
		cmocka_unit_test(test_keys_and_seeds),
		cmocka_unit_test(test_weighted_and_gap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
