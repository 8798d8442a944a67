/* test_metrics_represent.c — the representativeness tests: the exact
 * two-sided binomial p-value and the chi-square upper tail.
 *
 * Binomial values were computed with python3 in exact arithmetic
 * (fractions.Fraction and math.comb): the sum of P(X = i) over every i with
 * P(X = i) <= P(X = k) (1 + 1e-7), R's binom.test rule. Chi-square values
 * from the closed forms of the upper tail (python3 math):
 *   even df:  Q = e^(-x/2) sum_{i < df/2} (x/2)^i / i!
 *   odd df:   Q = erfc(sqrt(x/2)) + e^(-x/2) sum_{i < (df-1)/2} (x/2)^(i+1/2) / Gamma(i + 3/2)
 * (Abramowitz & Stegun 26.4.4, 26.4.5), which the code does not use.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "metrics/metrics.h"

/* Relative tolerance. */
#define assert_rel(got, want, tol)                                                        \
	do {                                                                              \
		double got_ = (got), want_ = (want);                                      \
		if (!(fabs(got_ - want_) <= (tol) * fabs(want_))) {                       \
			print_error("%s = %.17g, want %.17g (relative %g)\n", #got, got_, want_, \
				    (double)(tol));                                       \
			fail();                                                           \
		}                                                                         \
	} while (0)

/* Exact: 3 of 20 at 1/2 = 2 (1 + 20 + 190 + 1140) / 2^20 = 2702/1048576. */
static void test_binom_symmetric(void **state)
{
	(void)state;
	assert_rel(metrics_binom_two_sided_p(3, 20, 0.5), 0.0025768280029296875, 1e-12);
	assert_rel(metrics_binom_two_sided_p(17, 20, 0.5), 0.0025768280029296875, 1e-12);
	/* k at the mode: every outcome is at most as likely: p = 1. */
	assert_rel(metrics_binom_two_sided_p(5, 10, 0.5), 1.0, 1e-12);
}

/* Asymmetric, from python3 (exact sums):
 *   k 7, n 20, p0 0.3  -> 0.6294979666766777
 *   k 2, n 20, p0 0.3  -> 0.05262794872972712
 *   k 12, n 20, p0 0.3 -> 0.005936084198097527
 *   k 0, n 10, p0 0.1  -> 0.612579511   (= 1 - P(1): only P(1) > P(0))
 *   k 10, n 10, p0 0.9 -> 0.612579511   (the mirror image)
 *   k 60, n 200, p0 0.25 -> 0.10297644047580294
 *   k 40, n 200, p0 0.25 -> 0.12032206019317665 */
static void test_binom_asymmetric(void **state)
{
	(void)state;
	assert_rel(metrics_binom_two_sided_p(7, 20, 0.3), 0.6294979666766777, 1e-10);
	assert_rel(metrics_binom_two_sided_p(2, 20, 0.3), 0.05262794872972712, 1e-10);
	assert_rel(metrics_binom_two_sided_p(12, 20, 0.3), 0.005936084198097527, 1e-10);
	assert_rel(metrics_binom_two_sided_p(0, 10, 0.1), 0.612579511, 1e-10);
	assert_rel(metrics_binom_two_sided_p(10, 10, 0.9), 0.612579511, 1e-10);
	assert_rel(metrics_binom_two_sided_p(60, 200, 0.25), 0.10297644047580294, 1e-10);
	assert_rel(metrics_binom_two_sided_p(40, 200, 0.25), 0.12032206019317665, 1e-10);
}

/* The largest exact n: 5100 of 10000 at 1/2 -> 0.04658552770494739
 * (python3, integer sum of the binomial coefficients <= C(10000, 5100)
 * over 2^10000). */
static void test_binom_exact_limit(void **state)
{
	(void)state;
	assert_rel(metrics_binom_two_sided_p(5100, 10000, 0.5), 0.04658552770494739, 1e-8);
}

/* Above n = 10000 the normal approximation with continuity correction:
 *   10150 of 20000 at 1/2: z = 149.5 / sqrt(5000) -> erfc(z/sqrt 2) =
 *     0.03449398222848136 (exact: 0.03449137260984106)
 *   2600 of 20000 at 1/8: z = 99.5 / sqrt(2187.5) -> 0.033386904859219836
 *     (exact: 0.03337913872765883) */
static void test_binom_normal(void **state)
{
	(void)state;
	assert_rel(metrics_binom_two_sided_p(10150, 20000, 0.5), 0.03449398222848136, 1e-12);
	assert_rel(metrics_binom_two_sided_p(2600, 20000, 0.125), 0.033386904859219836, 1e-12);
	/* ... and within 0.1% of the exact values there. */
	assert_rel(metrics_binom_two_sided_p(10150, 20000, 0.5), 0.03449137260984106, 1e-3);
	assert_rel(metrics_binom_two_sided_p(2600, 20000, 0.125), 0.03337913872765883, 1e-3);
	assert_rel(metrics_binom_two_sided_p(10000, 20000, 0.5), 1.0, 1e-15);
}

static void test_binom_edges(void **state)
{
	(void)state;
	assert_rel(metrics_binom_two_sided_p(0, 10, 0.0), 1.0, 0);
	assert_true(metrics_binom_two_sided_p(1, 10, 0.0) == 0.0);
	assert_rel(metrics_binom_two_sided_p(10, 10, 1.0), 1.0, 0);
	assert_true(metrics_binom_two_sided_p(9, 10, 1.0) == 0.0);
	assert_rel(metrics_binom_two_sided_p(0, 0, 0.3), 1.0, 1e-15);
	assert_true(isnan(metrics_binom_two_sided_p(11, 10, 0.5)));
	assert_true(isnan(metrics_binom_two_sided_p(-1, 10, 0.5)));
	assert_true(isnan(metrics_binom_two_sided_p(1, 10, 1.5)));
	assert_true(isnan(metrics_binom_two_sided_p(1, 10, NAN)));
}

/* Chi-square upper tail against the closed forms (python3):
 *   3.841458820694124, 1 -> 0.05000000000000008  (the 95% quantile)
 *   10, 4     -> 0.0404276819945128
 *   2.5, 3    -> 0.47529108334302056
 *   0.5, 10   -> 0.9999933882894391   (series side)
 *   0.001, 2  -> 0.9995001249791693
 *   7, 7      -> 0.4288798575530547
 *   60, 30    -> 0.0009206823961486663
 *   100, 50   -> 3.454931382984864e-05
 *   30, 1     -> 4.320463057827492e-08
 *   200, 3    -> 4.2185411071920426e-43 (continued fraction, far tail) */
static void test_chisq(void **state)
{
	(void)state;
	assert_rel(metrics_chisq_p(3.841458820694124, 1), 0.05000000000000008, 1e-10);
	assert_rel(metrics_chisq_p(10, 4), 0.0404276819945128, 1e-10);
	assert_rel(metrics_chisq_p(2.5, 3), 0.47529108334302056, 1e-10);
	assert_rel(metrics_chisq_p(0.5, 10), 0.9999933882894391, 1e-12);
	assert_rel(metrics_chisq_p(0.001, 2), 0.9995001249791693, 1e-12);
	assert_rel(metrics_chisq_p(7, 7), 0.4288798575530547, 1e-10);
	assert_rel(metrics_chisq_p(60, 30), 0.0009206823961486663, 1e-9);
	assert_rel(metrics_chisq_p(100, 50), 3.454931382984864e-05, 1e-9);
	assert_rel(metrics_chisq_p(30, 1), 4.320463057827492e-08, 1e-9);
	assert_rel(metrics_chisq_p(200, 3), 4.2185411071920426e-43, 1e-8);
	assert_rel(metrics_chisq_p(0, 3), 1.0, 0);
	assert_rel(metrics_chisq_p(-1, 3), 1.0, 0);
	assert_true(metrics_chisq_p(HUGE_VAL, 3) == 0.0);
	assert_true(isnan(metrics_chisq_p(1, 0)));
	assert_true(isnan(metrics_chisq_p(NAN, 2)));
}

/* Goodness of fit: 30, 50, 20 respondents against shares 1/4, 1/2, 1/4
 * of those invited: E = 25, 50, 25, x2 = 1 + 0 + 1 = 2, df 2,
 * p = e^-1 = 0.36787944117144233. Shares are normalised (1, 2, 1 is the
 * same); a respondent in a category of share 0 makes p 0. */
static void test_chisq_gof(void **state)
{
	(void)state;
	const int64_t obs[3] = {30, 50, 20};
	const double share[3] = {0.25, 0.5, 0.25}, weights[3] = {1, 2, 1};
	double x2 = 0;
	int df = 0;
	assert_rel(metrics_chisq_gof_p(obs, share, 3, &x2, &df), 0.36787944117144233, 1e-12);
	assert_rel(x2, 2.0, 1e-12);
	assert_int_equal(df, 2);
	assert_rel(metrics_chisq_gof_p(obs, weights, 3, NULL, NULL), 0.36787944117144233, 1e-12);
	const double zero[3] = {0.5, 0.5, 0.0};
	assert_true(metrics_chisq_gof_p(obs, zero, 3, &x2, &df) == 0.0);
	assert_true(isinf(x2));
	assert_int_equal(df, 1);
	const int64_t none[3] = {0, 0, 0};
	assert_true(isnan(metrics_chisq_gof_p(none, share, 3, NULL, NULL)));
	assert_true(isnan(metrics_chisq_gof_p(obs, share, 1, NULL, NULL)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binom_symmetric),
		cmocka_unit_test(test_binom_asymmetric),
		cmocka_unit_test(test_binom_exact_limit),
		cmocka_unit_test(test_binom_normal),
		cmocka_unit_test(test_binom_edges),
		cmocka_unit_test(test_chisq),
		cmocka_unit_test(test_chisq_gof),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
