/* test_metrics_did.c — difference in differences (an improvement action's
 * effect against comparable units) and the status of goals.
 *
 * Expected values were computed with python3: fractions.Fraction for the
 * exact estimates and variances, math.sqrt and math.erfc for the last
 * step (nothing here is recomputed with the code under test).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

#define assert_near(got, want)                                                   \
	do {                                                                     \
		double got_ = (got), want_ = (want);                             \
		if (!(fabs(got_ - want_) <= 1e-9)) {                             \
			print_error("%s = %.17g, want %.17g\n", #got, got_, want_); \
			fail();                                                  \
		}                                                                \
	} while (0)

static metrics_counts nps_counts(int p, int q, int d)
{
	metrics_counts c = {0};
	for (int i = 0; i < p; i++)
		metrics_counts_add(&c, 10, -1, -1);
	for (int i = 0; i < q; i++)
		metrics_counts_add(&c, 8, -1, -1);
	for (int i = 0; i < d; i++)
		metrics_counts_add(&c, 3, -1, -1);
	return c;
}

static void add_grades(metrics_counts *c, int k, int grade)
{
	for (int i = 0; i < k; i++)
		metrics_counts_add(c, -1, grade, -1);
}

/* ---- difference in differences ---------------------------------------------- */

/* Unit before (P 30, D 40 of 100: NPS -10), after (60/15: +45); comparison
 * units before (35/35: 0), after (40/30: +10).
 *   plain DiD = (45 - -10) - (10 - 0) = 45
 *   adjusted (n' = 103, NPS' = 100 (P - D)/103):
 *     (4500/103 + 1000/103) - (1000/103 - 0) = 4500/103 = 43.689320388349515 -> 43.69
 *   variances (p + d - (p - d)^2)/n' in points^2, summed:
 *     277480000/1092727 = 253.9335076373147, se = 15.93529126302104
 *   z = 2.7416706520911633, p = erfc(z/sqrt 2) = 0.006112759859897557
 *   -> real change. */
static void test_did_nps(void **state)
{
	(void)state;
	metrics_counts ub = nps_counts(30, 30, 40), ua = nps_counts(60, 25, 15);
	metrics_counts cb = nps_counts(35, 30, 35), ca = nps_counts(40, 30, 30);
	metrics_change ch;
	metrics_did_nps(&ub, &ua, &cb, &ca, 5, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 45.0);
	assert_near(ch.diff_adj, 43.689320388349515);
	assert_near(ch.se, 15.93529126302104);
	assert_near(ch.z, 2.7416706520911633);
	assert_near(ch.p, 0.006112759859897557);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);
	assert_int_equal(ch.diff_adj_x100, 4369);
	assert_int_equal(ch.diff_x100, 4500);
	json_t *j = metrics_change_json(&ch);
	assert_non_null(j);
	double diff = json_real_value(json_object_get(j, "diff"));
	double plain = json_real_value(json_object_get(j, "diff_plain"));
	json_decref(j);
	assert_near(diff, 43.69);
	assert_near(plain, 45.0);

	/* One of the four under min_n (100 answers each; min_n 101): no
	 * figure at all. */
	metrics_did_nps(&ub, &ua, &cb, &ca, 101, &ch);
	assert_true(ch.has);
	assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
	assert_true(ch.diff == 0.0 && ch.se == 0.0 && ch.z == 0.0 && ch.diff_x100 == 0);
	/* A period without answers: has = false. */
	metrics_counts none = {0};
	metrics_did_nps(&ub, &ua, &none, &ca, 0, &ch);
	assert_false(ch.has);
	assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
}

/* Grades: unit before 10 x 6 + 10 x 8 (mean 7, s^2/n = 1/19), after
 * 10 x 7, 8, 9 (mean 8, 2/87); comparison before 10 x 7 + 10 x 8 (7.5,
 * 1/76), after 5 x 7, 10 x 8, 5 x 9 (8, 1/38).
 *   DiD = (8 - 7) - (8 - 7.5) = 0.5
 *   var = 1/19 + 2/87 + 1/76 + 1/38 = 761/6612, se = 0.33925472569298304
 *   z = 1.4738188214730643, p = 0.14053037929676218 -> within noise. */
static void test_did_grade(void **state)
{
	(void)state;
	metrics_counts ub = {0}, ua = {0}, cb = {0}, ca = {0};
	add_grades(&ub, 10, 6);
	add_grades(&ub, 10, 8);
	add_grades(&ua, 10, 7);
	add_grades(&ua, 10, 8);
	add_grades(&ua, 10, 9);
	add_grades(&cb, 10, 7);
	add_grades(&cb, 10, 8);
	add_grades(&ca, 5, 7);
	add_grades(&ca, 10, 8);
	add_grades(&ca, 5, 9);
	metrics_change ch;
	metrics_did_grade(&ub, &ua, &cb, &ca, 20, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 0.5);
	assert_near(ch.diff_adj, 0.5);
	assert_near(ch.se, 0.33925472569298304);
	assert_near(ch.z, 1.4738188214730643);
	assert_near(ch.p, 0.14053037929676218);
	assert_int_equal(ch.verdict, METRICS_WITHIN_NOISE);
	assert_int_equal(ch.diff_x100, 50);
	metrics_did_grade(&ub, &ua, &cb, &ca, 21, &ch);
	assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
	assert_true(ch.diff == 0.0 && ch.se == 0.0);
	metrics_counts one = {0};
	add_grades(&one, 1, 8);
	metrics_did_grade(&ub, &one, &cb, &ca, 0, &ch);
	assert_false(ch.has);
}

/* ---- goals ---------------------------------------------------------------------- */

/* NPS 22.964 (P - D = 22964 of 100000) prints as 23.0 but is below 23:
 * not "reached", not "likely": its interval (about +-0.45) still reaches
 * 23, so too close to call. */
static void test_goal_nps_exact_value(void **state)
{
	(void)state;
	metrics_counts c = {0};
	c.n = c.nps_n = 100000;
	c.promoters = 40000;
	c.detractors = 17036;
	c.passives = c.nps_n - c.promoters - c.detractors;
	metrics_figures f;
	metrics_figures_compute(&c, &f);
	assert_int_equal(f.nps, 230);
	assert_int_equal(metrics_goal_nps(&c, 23.0, 5), METRICS_GOAL_TOO_CLOSE);
	assert_int_equal(metrics_goal_nps(&c, 22.964, 5), METRICS_GOAL_LIKELY);
	assert_string_equal(metrics_goal_name(METRICS_GOAL_TOO_CLOSE), "too_close_to_call");
}

/* P 4000, D 1704 of 10000: NPS 22.96, adjusted-Wald interval
 * [21.543086360368346, 24.36314177119218] (python3).
 *   target 21.5: low >= target                 -> reached
 *   target 22.96: estimate = target, inside    -> likely
 *   target 23: estimate below, high >= 23      -> too close to call
 *   target 24.4: high < target                 -> not reached
 *   min_n 10001                                -> insufficient data */
static void test_goal_nps_statuses(void **state)
{
	(void)state;
	metrics_counts c = {0};
	c.n = c.nps_n = 10000;
	c.promoters = 4000;
	c.detractors = 1704;
	c.passives = 4296;
	assert_int_equal(metrics_goal_nps(&c, 21.5, 5), METRICS_GOAL_REACHED);
	assert_int_equal(metrics_goal_nps(&c, 22.96, 5), METRICS_GOAL_LIKELY);
	assert_int_equal(metrics_goal_nps(&c, 23.0, 5), METRICS_GOAL_TOO_CLOSE);
	assert_int_equal(metrics_goal_nps(&c, 24.4, 5), METRICS_GOAL_NOT_REACHED);
	assert_int_equal(metrics_goal_nps(&c, 0.0, 10001), METRICS_GOAL_UNKNOWN);
	metrics_counts none = {0};
	assert_int_equal(metrics_goal_nps(&none, 0.0, 0), METRICS_GOAL_UNKNOWN);
	assert_string_equal(metrics_goal_name(METRICS_GOAL_REACHED), "reached");
	assert_string_equal(metrics_goal_name(METRICS_GOAL_LIKELY), "likely");
	assert_string_equal(metrics_goal_name(METRICS_GOAL_NOT_REACHED), "not_reached");
	assert_string_equal(metrics_goal_name(METRICS_GOAL_UNKNOWN), "insufficient_data");

	/* One promoter (min_n 1): estimate 100, interval [-48.5, 98.5]
	 * around the adjusted 25: the interval decides, target 99 is not
	 * reached; target 50 is inside and the estimate above -> likely. */
	metrics_counts one = nps_counts(1, 0, 0);
	assert_int_equal(metrics_goal_nps(&one, 99.0, 1), METRICS_GOAL_NOT_REACHED);
	assert_int_equal(metrics_goal_nps(&one, 50.0, 1), METRICS_GOAL_LIKELY);
}

/* Grades 10 x 7, 8, 9: mean 8, interval [7.7028255669170695,
 * 8.29717443308293]. */
static void test_goal_grade(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_grades(&c, 10, 7);
	add_grades(&c, 10, 8);
	add_grades(&c, 10, 9);
	assert_int_equal(metrics_goal_grade(&c, 7.5, 5), METRICS_GOAL_REACHED);
	assert_int_equal(metrics_goal_grade(&c, 8.0, 5), METRICS_GOAL_LIKELY);
	assert_int_equal(metrics_goal_grade(&c, 8.2, 5), METRICS_GOAL_TOO_CLOSE);
	assert_int_equal(metrics_goal_grade(&c, 8.3, 5), METRICS_GOAL_NOT_REACHED);
	assert_int_equal(metrics_goal_grade(&c, 7.5, 31), METRICS_GOAL_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_did_nps),
		cmocka_unit_test(test_did_grade),
		cmocka_unit_test(test_goal_nps_exact_value),
		cmocka_unit_test(test_goal_nps_statuses),
		cmocka_unit_test(test_goal_grade),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
