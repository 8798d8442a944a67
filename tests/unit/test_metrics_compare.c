/* test_metrics_compare.c — metrics_compare_nps and metrics_compare_grade
 * (the z-tests behind "real change" / "within noise") against values worked
 * out by hand.
 *
 * NPS difference of two independent groups or periods (shared/DOMAIN.md):
 * the adjusted-Wald estimate and variance of each side, after J. Rocks,
 * "Interval Estimation for the 'Net Promoter Score'", The American
 * Statistician 70(4), 2016, and MeasuringU (J. Sauro), "How to compare two
 * Net Promoter Scores":
 *   n' = n + 3,  p = (P + 0.75)/n',  d = (D + 0.75)/n'
 *   var = (p + d - (p - d)^2) / n'                (NPS as a proportion)
 *   z = ((p_b - d_b) - (p_a - d_a)) / sqrt(var_a + var_b)
 *   p-value = erfc(|z| / sqrt 2)                   (two-sided, normal)
 *   verdict: real change when |z| >= 1.96, else within noise; no verdict
 *   (insufficient) when a side has fewer than min_n NPS answers.
 * Grade: Welch's two-sample z on the means,
 *   s^2 = (n*sumsq - sum^2) / (n(n-1)),  z = (m_b - m_a) / sqrt(s_a^2/n_a + s_b^2/n_b).
 *
 * Every expected number is a literal derived in the comment beside it and
 * checked independently with /usr/bin/python3 (fractions.Fraction for the
 * exact ratios, math.sqrt / math.erfc for the last step); none is
 * recomputed here with the formula under test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

#define EPS 1e-9
#define assert_near(got, want)                                                   \
	do {                                                                     \
		double got_ = (got), want_ = (want);                             \
		if (!(fabs(got_ - want_) <= EPS)) {                              \
			print_error("%s = %.17g, want %.17g\n", #got, got_, want_); \
			fail();                                                  \
		}                                                                \
	} while (0)
/* Relative tolerance, for tiny p-values. */
#define assert_rel(got, want)                                                         \
	do {                                                                          \
		double got_ = (got), want_ = (want);                                  \
		if (!(fabs(got_ - want_) <= 1e-9 * fabs(want_))) {                    \
			print_error("%s = %.17g, want %.17g (relative 1e-9)\n", #got, got_, \
				    want_);                                               \
			fail();                                                       \
		}                                                                     \
	} while (0)

/* counts with P promoters (score 10), Q passives (8), D detractors (3) and
 * `none` responses without an NPS answer. */
static metrics_counts nps_counts(int p, int q, int d, int none)
{
	metrics_counts c = {0};
	for (int i = 0; i < p; i++)
		metrics_counts_add(&c, 10, -1, -1);
	for (int i = 0; i < q; i++)
		metrics_counts_add(&c, 8, -1, -1);
	for (int i = 0; i < d; i++)
		metrics_counts_add(&c, 3, -1, -1);
	for (int i = 0; i < none; i++)
		metrics_counts_add(&c, -1, 7, -1);
	return c;
}

static void add_grades(metrics_counts *c, int k, int grade)
{
	for (int i = 0; i < k; i++)
		metrics_counts_add(c, -1, grade, -1);
}

/* The rounded fields of metrics_change_json, read out before any assert
 * (a failing assert must not leak the object). */
typedef struct change_json {
	char verdict[32];
	size_t size;
	double diff, diff_plain, se, z, p;
} change_json;

static change_json change_json_of(const metrics_change *ch)
{
	change_json out;
	memset(&out, 0, sizeof out);
	json_t *j = metrics_change_json(ch);
	if (j == NULL)
		return out;
	const char *v = json_string_value(json_object_get(j, "verdict"));
	snprintf(out.verdict, sizeof out.verdict, "%s", v ? v : "");
	out.size = json_object_size(j);
	out.diff = json_real_value(json_object_get(j, "diff"));
	out.diff_plain = json_real_value(json_object_get(j, "diff_plain"));
	out.se = json_real_value(json_object_get(j, "se"));
	out.z = json_real_value(json_object_get(j, "z"));
	out.p = json_real_value(json_object_get(j, "p"));
	json_decref(j);
	return out;
}

/* metrics_change_members, compared whole. */
static void assert_change_text(const metrics_change *ch, const char *want)
{
	ks_buf b;
	buf_init(&b, 1024);
	assert_int_equal(metrics_change_members(&b, ch), KS_OK);
	int eq = strcmp(b.data, want) == 0;
	if (!eq)
		print_error("got  %s\nwant %s\n", b.data, want);
	buf_free(&b);
	assert_true(eq);
}

/* ---- NPS ----------------------------------------------------------------- */

/* A clear, real change.
 * a: n = 100, P = 30, D = 40 (NPS -10);  b: n = 100, P = 60, D = 15 (NPS +45).
 *   n' = 103 on both sides.
 *   a: p = 30.75/103, d = 40.75/103, p - d = -10/103, p + d = 71.5/103
 *      var_a = (71.5/103 - (10/103)^2)/103 = (71.5*103 - 100)/103^3
 *            = 7264.5/1092727 = 14529/2185454 = 0.006648046584371028
 *   b: p = 60.75/103, d = 15.75/103, p - d = 45/103, p + d = 76.5/103
 *      var_b = (76.5*103 - 45^2)/103^3 = (7879.5 - 2025)/1092727
 *            = 5854.5/1092727 = 11709/2185454 = 0.005357696844683073
 *   var_a + var_b = 13119/1092727 = 0.0120057434290541
 *   difference of the adjusted estimates = 45/103 - (-10/103) = 55/103
 *      = 53.398058252427184 points
 *   se = 100 * sqrt(13119/1092727) = 10.957072341211452 points
 *   z = (55/103) / sqrt(13119/103^3) = 55 * sqrt(103/13119) = 4.8733873967033885
 *      (z^2 = 311575/13119 exactly)
 *   p-value = erfc(4.8733873967033885/sqrt 2) = 1.0970080613932774e-06
 *   plain difference = 45 - (-10) = 55 points
 *   |z| >= 1.96 -> real change. */
static void test_nps_real_change(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(30, 30, 40, 0), b = nps_counts(60, 25, 15, 0);
	metrics_change ch;
	metrics_compare_nps(&a, &b, 5, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 55.0);
	assert_near(ch.diff_adj, 53.398058252427184);
	assert_near(ch.se, 10.957072341211452);
	assert_near(ch.z, 4.8733873967033885);
	assert_rel(ch.p, 1.0970080613932774e-06);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);
	assert_string_equal(metrics_verdict_name(ch.verdict), "real_change");

	/* Reversed (b -> a): same se and p, z and the differences change sign. */
	metrics_compare_nps(&b, &a, 5, &ch);
	assert_near(ch.diff, -55.0);
	assert_near(ch.diff_adj, -53.398058252427184);
	assert_near(ch.se, 10.957072341211452);
	assert_near(ch.z, -4.8733873967033885);
	assert_rel(ch.p, 1.0970080613932774e-06);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);
}

/* A change that is within noise.
 * a: n = 50, P = 20, D = 15 (NPS 10);  b: n = 50, P = 23, D = 13 (NPS 20).
 *   n' = 53.
 *   a: p - d = 5/53, p + d = 36.5/53
 *      var_a = (36.5*53 - 25)/53^3 = 1909.5/148877 = 3819/297754 = 0.012826024167601443
 *   b: p - d = 10/53, p + d = 37.5/53
 *      var_b = (37.5*53 - 100)/53^3 = 1887.5/148877 = 3775/297754 = 0.012678251173787758
 *   var_a + var_b = 3797/148877 = 0.0255042753413892
 *   adjusted difference = 5/53 = 9.433962264150944 points
 *   se = 100 * sqrt(3797/148877) = 15.970058027881176
 *   z = (5/53) / sqrt(3797/53^3) = 5 * sqrt(53/3797) = 0.5907281143049543
 *      (z^2 = 1325/3797)
 *   p-value = erfc(0.5907281143049543/sqrt 2) = 0.5547026073344442
 *   plain difference = 20 - 10 = 10 points; |z| < 1.96 -> within noise.
 * min_n = 50 equals both nps_n: the minimum is inclusive, so a verdict. */
static void test_nps_within_noise(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(20, 15, 15, 0), b = nps_counts(23, 14, 13, 0);
	metrics_change ch;
	metrics_compare_nps(&a, &b, 50, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 10.0);
	assert_near(ch.diff_adj, 9.433962264150944);
	assert_near(ch.se, 15.970058027881176);
	assert_near(ch.z, 0.5907281143049543);
	assert_near(ch.p, 0.5547026073344442);
	assert_int_equal(ch.verdict, METRICS_WITHIN_NOISE);
	assert_string_equal(metrics_verdict_name(ch.verdict), "within_noise");
}

/* Identical sides: a = b = (n 25, P 10, D 10).
 *   n' = 28, p - d = 0, p + d = 21.5/28, var = (21.5/28)/28 = 43/1568 each
 *   se = 100 * sqrt(43/784) = 23.419423301078574, z = 0, p = erfc(0) = 1. */
static void test_nps_no_difference(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(10, 5, 10, 0);
	metrics_change ch;
	metrics_compare_nps(&a, &a, 5, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 0.0);
	assert_near(ch.diff_adj, 0.0);
	assert_near(ch.se, 23.419423301078574);
	assert_near(ch.z, 0.0);
	assert_near(ch.p, 1.0);
	assert_int_equal(ch.verdict, METRICS_WITHIN_NOISE);
}

/* Below the minimum n: no verdict, however large z is.
 * a: n = 8, P = 1, D = 6 (passives 1);  b: n = 40, P = 30, D = 5.
 *   a: n' = 11, p - d = (1.75 - 6.75)/11 = -5/11, p + d = 8.5/11
 *      var_a = (8.5*11 - 25)/11^3 = 68.5/1331 = 137/2662
 *   b: n' = 43, p - d = 25/43, p + d = 36.5/43
 *      var_b = (36.5*43 - 625)/43^3 = 944.5/79507 = 1889/159014
 *   var_a + var_b = 6703359/105823817
 *   adjusted difference = 25/43 + 5/11 = 490/473 = 103.59408033826638 points
 *   se = 100 * sqrt(6703359/105823817) = 25.168337453330924
 *   z = 4.1160478132637301 (z^2 = 113567300/6703359), p = 3.8542438355318235e-05
 *   plain: NPS_a = (1 - 6)/8 = -62.5, NPS_b = 25/40 = 62.5, diff = 125.
 * With min_n = 8 (a has exactly 8: the minimum is inclusive) a verdict,
 * real change. With min_n = 10, a (8 NPS answers) is too small:
 * insufficient, although |z| > 1.96, and the change keeps no figure at all
 * (diff, se and z beside b's visible NPS would give a's hidden one back):
 * the struct is zeroed and the JSON is the verdict alone. */
static void assert_no_figures(const metrics_change *ch)
{
	assert_int_equal(ch->verdict, METRICS_INSUFFICIENT);
	assert_true(ch->diff == 0.0 && ch->diff_adj == 0.0 && ch->se == 0.0 && ch->z == 0.0 &&
		    ch->p == 0.0 && ch->p_adj == 0.0 && ch->diff_x100 == 0 && ch->diff_adj_x100 == 0);
	change_json j = change_json_of(ch);
	assert_int_equal(j.size, 1);
	assert_string_equal(j.verdict, "insufficient_data");
}

static void test_nps_below_min_n(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(1, 1, 6, 0), b = nps_counts(30, 5, 5, 0);
	metrics_change ch;
	metrics_compare_nps(&a, &b, 8, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 125.0);
	assert_near(ch.diff_adj, 103.59408033826638);
	assert_near(ch.se, 25.168337453330924);
	assert_near(ch.z, 4.1160478132637301);
	assert_rel(ch.p, 3.8542438355318235e-05);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);

	metrics_compare_nps(&a, &b, 10, &ch);
	assert_true(ch.has);
	assert_no_figures(&ch);
	assert_string_equal(metrics_verdict_name(ch.verdict), "insufficient_data");
	/* Either side: b too small. */
	metrics_compare_nps(&b, &a, 10, &ch);
	assert_no_figures(&ch);
}

/* min_n counts NPS answers, not responses.
 * a: 5 NPS answers (P 1, Q 1, D 3) among 20 responses (15 answered only
 * the grade); b as above (40). min_n = 10: a.n = 20 >= 10 but
 * a.nps_n = 5 < 10 -> insufficient.
 *   a: n' = 8, p - d = (1.75 - 3.75)/8 = -1/4, p + d = 5.5/8
 *      var_a = (5.5/8 - 1/16)/8 = 5/64
 *   var_a + var_b = 5/64 + 1889/159014 = 457983/5088448
 *   adjusted difference = 25/43 + 1/4 = 143/172 = 83.13953488372093 points
 *   se = 100 * sqrt(457983/5088448) = 30.000742849922226
 *   z = 2.7712492087153922 (z^2 = 3517228/457983), p = 0.0055841670422170824
 *   plain: NPS_a = -2/5 = -40, NPS_b = 62.5, diff = 102.5. */
static void test_nps_min_n_counts_nps_answers(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(1, 1, 3, 15), b = nps_counts(30, 5, 5, 0);
	assert_int_equal(a.n, 20);
	assert_int_equal(a.nps_n, 5);
	metrics_change ch;
	metrics_compare_nps(&a, &b, 5, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 102.5);
	assert_near(ch.diff_adj, 83.13953488372093);
	assert_near(ch.se, 30.000742849922226);
	assert_near(ch.z, 2.7712492087153922);
	assert_near(ch.p, 0.0055841670422170824);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);
	metrics_compare_nps(&a, &b, 10, &ch);
	assert_true(ch.has);
	assert_no_figures(&ch);
}

/* No NPS answers on a side (responses that answered only the grade, or
 * none at all): nothing to compare, has = false, no verdict, and no NaN
 * anywhere (a 0/0 must not leak). */
static void test_nps_zero_answers(void **state)
{
	(void)state;
	metrics_counts empty = {0}, grades_only = nps_counts(0, 0, 0, 12), b = nps_counts(30, 5, 5, 0);
	const metrics_counts *sides[] = {&empty, &grades_only};
	for (int i = 0; i < 2; i++) {
		metrics_change ch;
		metrics_compare_nps(sides[i], &b, 1, &ch);
		assert_false(ch.has);
		assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
		assert_false(isnan(ch.diff) || isnan(ch.z) || isnan(ch.p) || isnan(ch.se));
		metrics_compare_nps(&b, sides[i], 1, &ch);
		assert_false(ch.has);
		assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
		metrics_compare_nps(sides[i], sides[i], 0, &ch);
		assert_false(ch.has);
		assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
		/* JSON: only the verdict. */
		metrics_compare_nps(sides[i], &b, 1, &ch);
		change_json j = change_json_of(&ch);
		assert_int_equal(j.size, 1);
		assert_string_equal(j.verdict, "insufficient_data");
	}
}

/* All promoters against all detractors, n = 1 each side, min_n 1: the
 * adjustment keeps the variance positive.
 *   a: n' = 4, p = 0.75/4, d = 1.75/4, p - d = -1/4, p + d = 2.5/4
 *      var_a = (2.5/4 - 1/16)/4 = 9/64
 *   b: p = 1.75/4, d = 0.75/4: var_b = 9/64 too
 *   adjusted difference = 1/4 + 1/4 = 1/2 = 50 points; se = 100 * sqrt(18/64) = 53.03300858899106
 *   z = (1/2)/sqrt(9/32) = sqrt(32)/6 = 0.9428090415820634 -> within noise
 *   p-value = erfc(0.9428090415820634/sqrt 2) = 0.3457785861511603
 *   plain difference: 100 - (-100) = 200. */
static void test_nps_single_answers(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(0, 0, 1, 0), b = nps_counts(1, 0, 0, 0);
	metrics_change ch;
	metrics_compare_nps(&a, &b, 1, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 200.0);
	assert_near(ch.diff_adj, 50.0);
	assert_near(ch.se, 53.03300858899106);
	assert_near(ch.z, 0.9428090415820634);
	assert_near(ch.p, 0.3457785861511603);
	assert_int_equal(ch.verdict, METRICS_WITHIN_NOISE);
}

/* ---- grade (Welch z) --------------------------------------------------------- */

/* a: 10 x grade 6, 10 x grade 8 -> n 20, sum 140, sumsq 10*36 + 10*64 = 1000
 *      mean 7, s^2 = (20*1000 - 140^2)/(20*19) = 400/380 = 20/19
 *      s^2/n = (20/19)/20 = 1/19
 * b: 10 x 7, 10 x 8, 10 x 9 -> n 30, sum 240, sumsq 490 + 640 + 810 = 1940
 *      mean 8, s^2 = (30*1940 - 240^2)/(30*29) = 600/870 = 20/29
 *      s^2/n = (20/29)/30 = 2/87
 *   var = 1/19 + 2/87 = (87 + 38)/1653 = 125/1653 = 0.07562008469449485
 *   se = sqrt(125/1653) = 0.27499106293567954
 *   z = 1/se = sqrt(1653/125) = 3.636481816261426 -> real change
 *   p-value = erfc(3.636481816261426/sqrt 2) = 0.00027638714406472218 */
static void test_grade_real_change(void **state)
{
	(void)state;
	metrics_counts a = {0}, b = {0};
	add_grades(&a, 10, 6);
	add_grades(&a, 10, 8);
	add_grades(&b, 10, 7);
	add_grades(&b, 10, 8);
	add_grades(&b, 10, 9);
	assert_int_equal(a.grade_sumsq, 1000);
	assert_int_equal(b.grade_sumsq, 1940);
	metrics_change ch;
	metrics_compare_grade(&a, &b, 5, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 1.0);
	assert_near(ch.diff_adj, 1.0);
	assert_near(ch.se, 0.27499106293567954);
	assert_near(ch.z, 3.636481816261426);
	assert_near(ch.p, 0.00027638714406472218);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);
	/* min_n applies to grade_n: a has 20 grades. */
	metrics_compare_grade(&a, &b, 21, &ch);
	assert_true(ch.has);
	assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
	metrics_compare_grade(&a, &b, 20, &ch);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);
}

/* a as above (mean 7, s^2/n = 1/19 = 4/76);
 * b: 10 x 6, 10 x 9 -> n 20, sum 150, sumsq 360 + 810 = 1170, mean 7.5
 *      s^2 = (20*1170 - 150^2)/380 = 900/380 = 45/19, s^2/n = 45/380 = 9/76
 *   var = 13/76, se = sqrt(13/76) = 0.41358509593425558
 *   z = 0.5/se = sqrt(19/13) = 1.2089410496539776 -> within noise
 *   p-value = erfc(1.2089410496539776/sqrt 2) = 0.22668549400588922 */
static void test_grade_within_noise(void **state)
{
	(void)state;
	metrics_counts a = {0}, b = {0};
	add_grades(&a, 10, 6);
	add_grades(&a, 10, 8);
	add_grades(&b, 10, 6);
	add_grades(&b, 10, 9);
	metrics_change ch;
	metrics_compare_grade(&a, &b, 5, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 0.5);
	assert_near(ch.se, 0.41358509593425558);
	assert_near(ch.z, 1.2089410496539776);
	assert_near(ch.p, 0.22668549400588922);
	assert_int_equal(ch.verdict, METRICS_WITHIN_NOISE);
}

/* Fewer than two grades on a side: no variance to estimate, has = false. */
static void test_grade_too_few(void **state)
{
	(void)state;
	metrics_counts one = {0}, none = {0}, b = {0};
	add_grades(&one, 1, 9);
	metrics_counts_add(&none, 9, -1, 5); /* a response without a grade */
	add_grades(&b, 10, 6);
	add_grades(&b, 10, 8);
	metrics_change ch;
	metrics_compare_grade(&one, &b, 0, &ch);
	assert_false(ch.has);
	assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
	metrics_compare_grade(&b, &none, 0, &ch);
	assert_false(ch.has);
	assert_int_equal(ch.verdict, METRICS_INSUFFICIENT);
	assert_false(isnan(ch.z) || isnan(ch.p));
}

/* Zero spread on both sides (a: 5 x 7, b: 5 x 8): s^2 = 0, se = 0, the
 * difference is 1. With no spread at all every observation says the same,
 * so the difference is certain: z = +inf, p = 0, a real change, and the
 * JSON gives z as null (JSON has no infinity). Equal constant sides
 * (5 x 7 against 5 x 7) are no change: z = 0, within noise. No NaN either
 * way. */
static void test_grade_zero_spread(void **state)
{
	(void)state;
	metrics_counts a = {0}, b = {0};
	add_grades(&a, 5, 7);
	add_grades(&b, 5, 8);
	metrics_change ch;
	metrics_compare_grade(&a, &b, 5, &ch);
	assert_true(ch.has);
	assert_near(ch.diff, 1.0);
	assert_near(ch.se, 0.0);
	assert_true(isinf(ch.z) && ch.z > 0);
	assert_near(ch.p, 0.0);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);
	json_t *j = metrics_change_json(&ch);
	assert_true(json_is_null(json_object_get(j, "z")));
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "real_change");
	json_decref(j);

	metrics_counts c = {0};
	add_grades(&c, 5, 7);
	metrics_compare_grade(&a, &c, 5, &ch);
	assert_near(ch.z, 0.0);
	assert_false(isnan(ch.p));
	assert_int_equal(ch.verdict, METRICS_WITHIN_NOISE);
}

/* ---- JSON ----------------------------------------------------------------------- */

/* metrics_change_json: diff is the difference z tests (adjusted Wald for
 * the NPS) and diff_plain the plain one, both rounded exactly to 2
 * decimals; se and z 3 decimals, p 4. Within-noise case above:
 *   diff 500/53 = 9.4339.. -> 9.43; diff_plain 10 -> 10.00;
 *   se 15.970058... -> 15.970; z 0.590728... -> 0.591; p 0.554702... -> 0.5547.
 * Real-change case: diff 5500/103 = 53.3980.. -> 53.40, diff_plain 55.00,
 *   se 10.957072... -> 10.957; z 4.873387... -> 4.873; p 1.097e-06 -> 0.0000. */
static void test_change_json_rounding(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(20, 15, 15, 0), b = nps_counts(23, 14, 13, 0);
	metrics_change ch;
	metrics_compare_nps(&a, &b, 5, &ch);
	change_json j = change_json_of(&ch);
	assert_string_equal(j.verdict, "within_noise");
	assert_int_equal(j.size, 6);
	assert_near(j.diff, 9.43);
	assert_near(j.diff_plain, 10.0);
	assert_near(j.se, 15.97);
	assert_near(j.z, 0.591);
	assert_near(j.p, 0.5547);
	assert_change_text(&ch, "\"diff\":9.43,\"diff_plain\":10.00,\"se\":15.970,\"z\":0.591,"
				"\"p\":0.5547,\"verdict\":\"within_noise\"");

	a = nps_counts(30, 30, 40, 0);
	b = nps_counts(60, 25, 15, 0);
	metrics_compare_nps(&a, &b, 5, &ch);
	j = change_json_of(&ch);
	assert_string_equal(j.verdict, "real_change");
	assert_near(j.diff, 53.4);
	assert_near(j.diff_plain, 55.0);
	assert_near(j.se, 10.957);
	assert_near(j.z, 4.873);
	assert_near(j.p, 0.0);
	assert_change_text(&ch, "\"diff\":53.40,\"diff_plain\":55.00,\"se\":10.957,\"z\":4.873,"
				"\"p\":0.0000,\"verdict\":\"real_change\"");
}

/* The differences are rounded exactly, half away from zero.
 * a: 8 answers, P = D = 2 (NPS 0); b: 32 answers, P = 5, D = 4
 * (NPS 100/32 = 3.125 exactly): diff_plain 3.125 -> 3.13, reversed -3.13.
 * Adjusted: 100 (1/35 - 0/11) = 2.857142.. -> 2.86. */
static void test_change_exact_diff(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(2, 4, 2, 0), b = nps_counts(5, 23, 4, 0);
	metrics_change ch;
	metrics_compare_nps(&a, &b, 5, &ch);
	assert_int_equal(ch.diff_x100, 313);
	assert_int_equal(ch.diff_adj_x100, 286);
	metrics_compare_nps(&b, &a, 5, &ch);
	assert_int_equal(ch.diff_x100, -313);
	assert_int_equal(ch.diff_adj_x100, -286);
	/* Grade: means 7 and 7.125 (57/8): 0.125 -> 0.13. */
	metrics_counts g = {0}, h = {0};
	add_grades(&g, 4, 6);
	add_grades(&g, 4, 8);
	add_grades(&h, 7, 7);
	add_grades(&h, 1, 8);
	metrics_compare_grade(&g, &h, 5, &ch);
	assert_int_equal(ch.diff_x100, 13);
	assert_int_equal(ch.diff_adj_x100, 13);
}

/* Suppression (a side hidden by a mask) and a trend point without a
 * previous period: the verdict alone. */
static void test_change_suppress_and_no_previous(void **state)
{
	(void)state;
	metrics_counts a = nps_counts(30, 30, 40, 0), b = nps_counts(60, 25, 15, 0);
	metrics_change ch;
	metrics_compare_nps(&a, &b, 5, &ch);
	assert_int_equal(ch.verdict, METRICS_REAL_CHANGE);
	metrics_change_suppress(&ch);
	assert_no_figures(&ch);

	memset(&ch, 0, sizeof ch);
	ch.verdict = METRICS_NO_PREVIOUS;
	assert_string_equal(metrics_verdict_name(METRICS_NO_PREVIOUS), "no_previous_period");
	change_json j = change_json_of(&ch);
	assert_int_equal(j.size, 1);
	assert_string_equal(j.verdict, "no_previous_period");
	assert_change_text(&ch, "\"verdict\":\"no_previous_period\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nps_real_change),
		cmocka_unit_test(test_nps_within_noise),
		cmocka_unit_test(test_nps_no_difference),
		cmocka_unit_test(test_nps_below_min_n),
		cmocka_unit_test(test_nps_min_n_counts_nps_answers),
		cmocka_unit_test(test_nps_zero_answers),
		cmocka_unit_test(test_nps_single_answers),
		cmocka_unit_test(test_grade_real_change),
		cmocka_unit_test(test_grade_within_noise),
		cmocka_unit_test(test_grade_too_few),
		cmocka_unit_test(test_grade_zero_spread),
		cmocka_unit_test(test_change_json_rounding),
		cmocka_unit_test(test_change_exact_diff),
		cmocka_unit_test(test_change_suppress_and_no_previous),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
