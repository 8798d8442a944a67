/* test_metrics_fdr.c — Benjamini-Hochberg (1995) adjusted p-values and the
 * false-discovery control over the verdicts of one reply.
 *
 * Expected values are worked by hand in the comments and were checked with
 * R's p.adjust(p, "BH") written out in python3:
 *   o = order of p, decreasing; i = n..1;
 *   p_adj[o] = min(1, cummin(n / i * p[o]))
 * (same floating-point operations, so exact equality where given).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

#define assert_near(got, want)                                                   \
	do {                                                                     \
		double got_ = (got), want_ = (want);                             \
		if (!(fabs(got_ - want_) <= 1e-12)) {                            \
			print_error("%s = %.17g, want %.17g\n", #got, got_, want_); \
			fail();                                                  \
		}                                                                \
	} while (0)

/* p = 0.01, 0.04, 0.03, 0.005, 0.20 (m = 5). Sorted: 0.005 (rank 1),
 * 0.01 (2), 0.03 (3), 0.04 (4), 0.20 (5); m p / rank = 0.025, 0.025,
 * 0.05, 0.05, 0.2; running minimum from the top: 0.2, 0.05, 0.05, 0.025,
 * 0.025. Back in the input order: 0.025, 0.05, 0.05, 0.025, 0.2.
 * At q = 0.05 four discoveries (the step-up rule: the largest k with
 * p(k) <= k q / m is k = 4: 0.04 <= 0.04); at q = 0.04 two
 * (0.01 <= 0.016, 0.03 > 0.024, 0.04 > 0.032). */
static void test_bh_hand(void **state)
{
	(void)state;
	const double p[5] = {0.01, 0.04, 0.03, 0.005, 0.20};
	double adj[5];
	assert_int_equal(metrics_fdr_bh(p, 5, 0.05, adj), 4);
	assert_near(adj[0], 0.025);
	assert_near(adj[1], 0.05);
	assert_near(adj[2], 0.05);
	assert_near(adj[3], 0.025);
	assert_near(adj[4], 0.2);
	assert_int_equal(metrics_fdr_bh(p, 5, 0.04, adj), 2);
}

/* Ties share their value: 0.02 x3 and 0.5 (m = 4): ranks 1..3 give 4/1,
 * 4/2, 4/3 times 0.02; the running minimum from rank 3 gives all three
 * 4/3 * 0.02 = 0.0266..; 0.5 at rank 4 stays 0.5. p_adj may overwrite p.
 * NaN counts as 1. */
static void test_bh_ties_alias_nan(void **state)
{
	(void)state;
	double p[4] = {0.02, 0.02, 0.02, 0.5};
	assert_int_equal(metrics_fdr_bh(p, 4, 0.05, p), 3);
	for (int i = 0; i < 3; i++)
		assert_near(p[i], 0.026666666666666665);
	assert_near(p[3], 0.5);

	/* 0.01 and NaN (as 1): 2 * 0.01 = 0.02, and 1. */
	double q[2] = {NAN, 0.01}, qa[2];
	assert_int_equal(metrics_fdr_bh(q, 2, 0.05, qa), 1);
	assert_near(qa[0], 1.0);
	assert_near(qa[1], 0.02);
	assert_int_equal(metrics_fdr_bh(q, 0, 0.05, qa), 0);
	/* One test: p_adj = p. */
	double one = 0.03, one_adj;
	assert_int_equal(metrics_fdr_bh(&one, 1, 0.05, &one_adj), 1);
	assert_near(one_adj, 0.03);
}

/* 70 p-values (more than the 64 kept on the stack): 0.0004 i for
 * i = 1..10, and ((37 i) mod 101) / 101 for i = 11..70. From python3
 * (R's algorithm above): sum of p_adj 47.36701649648947; p_adj of the
 * 1st, 5th and 10th 0.028 (= 70/10 * 0.004: the ten small ones share the
 * value of the largest of them), of the 11th (p 0.0297..)
 * 0.17326732673267325, of the 41st (p 0.0198..) 0.126012601260126, of
 * the 70th (p 0.6435..) 0.9148514851485148; 10 at or below 0.05. And the
 * adjusted values keep the order of the p-values. */
static void test_bh_seventy(void **state)
{
	(void)state;
	double p[70], adj[70];
	for (int i = 1; i <= 70; i++)
		p[i - 1] = i <= 10 ? 0.0004 * i : (double)((i * 37) % 101) / 101.0;
	assert_int_equal(metrics_fdr_bh(p, 70, 0.05, adj), 10);
	double sum = 0;
	for (int i = 0; i < 70; i++)
		sum += adj[i];
	assert_near(sum, 47.36701649648947);
	assert_near(adj[0], 0.028);
	assert_near(adj[4], 0.028);
	assert_near(adj[9], 0.028);
	assert_near(adj[10], 0.17326732673267325);
	assert_near(adj[40], 0.126012601260126);
	assert_near(adj[69], 0.9148514851485148);
	for (int i = 0; i < 70; i++)
		for (int j = 0; j < 70; j++)
			if (p[i] < p[j] && adj[i] > adj[j])
				fail_msg("p %g < %g but p_adj %g > %g", p[i], p[j], adj[i], adj[j]);
}

/* A change with a verdict, built by hand (the test needs only p). */
static metrics_change with_p(double p, metrics_verdict v)
{
	metrics_change c;
	memset(&c, 0, sizeof c);
	c.has = true;
	c.p = c.p_adj = p;
	c.z = 1.0;
	c.se = 1.0;
	c.verdict = v;
	return c;
}

/* Five changes in one reply: three with verdicts (p 0.03, 0.6, 0.25), one
 * insufficient and one trend point without a previous period. The family
 * is the three: sorted 0.03 (1), 0.25 (2), 0.6 (3); 3 p / rank = 0.09,
 * 0.375, 0.6; running minimum unchanged. The 0.03 alone would be a real
 * change (|z| >= 1.96); among three tests it is not (0.09 > 0.05). The
 * other two keep their verdicts and get no p_adj. */
static void test_changes_fdr(void **state)
{
	(void)state;
	metrics_change a = with_p(0.03, METRICS_REAL_CHANGE), b = with_p(0.6, METRICS_WITHIN_NOISE),
		       c = with_p(0.25, METRICS_WITHIN_NOISE), d, e;
	memset(&d, 0, sizeof d);
	d.has = true; /* insufficient */
	memset(&e, 0, sizeof e);
	e.verdict = METRICS_NO_PREVIOUS;
	metrics_change *all[6] = {&a, &d, &b, NULL, &c, &e};
	metrics_changes_fdr(all, 6, 0.05);
	assert_near(a.p_adj, 0.09);
	assert_near(b.p_adj, 0.6);
	assert_near(c.p_adj, 0.375);
	assert_int_equal(a.verdict, METRICS_WITHIN_NOISE);
	assert_int_equal(b.verdict, METRICS_WITHIN_NOISE);
	assert_int_equal(c.verdict, METRICS_WITHIN_NOISE);
	assert_near(a.fdr_q, 0.05);
	assert_near(d.p_adj, 0.0);
	assert_near(d.fdr_q, 0.0);
	assert_int_equal(d.verdict, METRICS_INSUFFICIENT);
	assert_int_equal(e.verdict, METRICS_NO_PREVIOUS);

	/* JSON: p_adj and fdr_q beside p (diff figures 0 here). */
	ks_buf buf;
	buf_init(&buf, 1024);
	assert_int_equal(metrics_change_members(&buf, &a), KS_OK);
	bool ok = strcmp(buf.data, "\"diff\":0.00,\"diff_plain\":0.00,\"se\":1.000,\"z\":1.000,"
				   "\"p\":0.0300,\"p_adj\":0.0900,\"fdr_q\":0.0500,"
				   "\"verdict\":\"within_noise\"") == 0;
	if (!ok)
		print_error("got %s\n", buf.data);
	buf_free(&buf);
	assert_true(ok);
}

/* Real comparisons (test_metrics_compare.c's hand cases): p 1.0970e-06
 * (real change) and 0.5547 (within noise). BH: 2 * 1.097e-06 = 2.194e-06
 * and 0.5547: the verdicts stand. */
static void test_changes_fdr_real(void **state)
{
	(void)state;
	metrics_counts a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0};
	struct {
		metrics_counts *c;
		int p, q, d;
	} sides[] = {{&a1, 30, 30, 40}, {&b1, 60, 25, 15}, {&a2, 20, 15, 15}, {&b2, 23, 14, 13}};
	for (size_t s = 0; s < 4; s++) {
		for (int i = 0; i < sides[s].p; i++)
			metrics_counts_add(sides[s].c, 10, -1, -1);
		for (int i = 0; i < sides[s].q; i++)
			metrics_counts_add(sides[s].c, 8, -1, -1);
		for (int i = 0; i < sides[s].d; i++)
			metrics_counts_add(sides[s].c, 3, -1, -1);
	}
	metrics_change x, y;
	metrics_compare_nps(&a1, &b1, 5, &x);
	metrics_compare_nps(&a2, &b2, 5, &y);
	metrics_change *all[2] = {&x, &y};
	metrics_changes_fdr(all, 2, 0.05);
	assert_true(fabs(x.p_adj - 2 * 1.0970080613932774e-06) <= 1e-15);
	assert_near(y.p_adj, 0.5547026073344442);
	assert_int_equal(x.verdict, METRICS_REAL_CHANGE);
	assert_int_equal(y.verdict, METRICS_WITHIN_NOISE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bh_hand),
		cmocka_unit_test(test_bh_ties_alias_nan),
		cmocka_unit_test(test_bh_seventy),
		cmocka_unit_test(test_changes_fdr),
		cmocka_unit_test(test_changes_fdr_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
