/* test_metrics.c — metrics.c against values worked out by hand.
 *
 * Every expected number below is a literal derived in the comment beside
 * it (checked independently with python3 fractions), never recomputed with
 * the formula under test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

/* cmocka 1.1.5's assert_float_equal works in float (7 digits), too coarse
 * for points near 100; compare doubles ourselves. */
#define EPS 1e-9
#define assert_near(got, want)                                                   \
	do {                                                                     \
		double got_ = (got), want_ = (want);                             \
		if (!(fabs(got_ - want_) <= EPS)) {                              \
			print_error("%s = %.15g, want %.15g\n", #got, got_, want_); \
			fail();                                                  \
		}                                                                \
	} while (0)

static void add_many(metrics_counts *c, int n, int nps, int grade, int ces)
{
	for (int i = 0; i < n; i++)
		metrics_counts_add(c, nps, grade, ces);
}

/* ---- counting ----------------------------------------------------------- */

static void test_counts_classes(void **state)
{
	(void)state;
	metrics_counts c = {0};
	/* nps 0,6 -> detractors; 7,8 -> passives; 9,10 -> promoters; -1 and
	 * the out-of-scale 11 are "not answered" but still a response. */
	int scores[] = {0, 6, 7, 8, 9, 10, -1, 11};
	for (size_t i = 0; i < sizeof scores / sizeof scores[0]; i++)
		metrics_counts_add(&c, scores[i], -1, -1);
	assert_int_equal(c.n, 8);
	assert_int_equal(c.nps_n, 6);
	assert_int_equal(c.detractors, 2);
	assert_int_equal(c.passives, 2);
	assert_int_equal(c.promoters, 2);
	assert_int_equal(c.grade_n, 0);
	assert_int_equal(c.ces_n, 0);
}

static void test_counts_grade_ces(void **state)
{
	(void)state;
	metrics_counts c = {0};
	/* grades 6,7,8,9,10 and an out-of-scale 0 (ignored);
	 * ces 2,5,7,4 and an out-of-scale 8 (ignored). */
	metrics_counts_add(&c, -1, 6, 2);
	metrics_counts_add(&c, -1, 7, 5);
	metrics_counts_add(&c, -1, 8, 7);
	metrics_counts_add(&c, -1, 9, 4);
	metrics_counts_add(&c, -1, 10, 8);
	metrics_counts_add(&c, -1, 0, -1);
	assert_int_equal(c.n, 6);
	assert_int_equal(c.grade_n, 5);
	assert_int_equal(c.grade_sum, 40);     /* 6+7+8+9+10 */
	assert_int_equal(c.grade_sumsq, 330);  /* 36+49+64+81+100 */
	assert_int_equal(c.grade_7plus, 4);
	assert_int_equal(c.grade_9plus, 2);
	assert_int_equal(c.ces_n, 4);
	assert_int_equal(c.ces_sum, 18);       /* 2+5+7+4 */
	assert_int_equal(c.ces_5plus, 2);
}

/* ---- NPS ---------------------------------------------------------------- */

/* 50 promoters, 30 passives, 20 detractors, n = 100.
 *   NPS = 50% - 20% = 30
 *   n' = 103, P' = 50.75, D' = 20.75
 *   p = 50.75/103, d = 20.75/103
 *   p + d = 71.5/103, p - d = 30/103
 *   var = (71.5/103 - 900/103^2) / 103 = (71.5*103 - 900) / 103^3
 *       = (7364.5 - 900) / 1092727 = 6464.5 / 1092727 = 0.0059159332568885
 *   sqrt(var) = 0.07691510421814755
 *   margin = 1.96 * 0.07691510421814755 * 100 = 15.075360426756921
 *   adjusted = 30/103 * 100 = 29.12621359223301
 *   low  = 29.12621359223301 - 15.075360426756921 = 14.05085316547609
 *   high = 29.12621359223301 + 15.075360426756921 = 44.20157401898993 */
static void test_nps_50_30_20(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 50, 9, -1, -1);
	add_many(&c, 30, 7, -1, -1);
	add_many(&c, 20, 3, -1, -1);
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_true(s.has_nps);
	assert_near(s.promoter_share, 0.5);
	assert_near(s.passive_share, 0.3);
	assert_near(s.detractor_share, 0.2);
	assert_near(s.nps, 30.0);
	assert_near(s.nps_margin, 15.075360426756921);
	assert_near(s.nps_low, 14.05085316547609);
	assert_near(s.nps_high, 44.20157401898993);
	assert_false(s.has_grade);
	assert_false(s.has_ces);
}

static void test_nps_adjusted_wald_direct(void **state)
{
	(void)state;
	double adj = 0, margin = 0;
	/* Same counts as above: var = 6464.5 / 1092727. */
	double var = metrics_nps_adjusted_wald(50, 20, 100, &adj, &margin);
	assert_near(var, 0.0059159332568885);
	assert_near(adj, 29.12621359223301);
	assert_near(margin, 15.075360426756921);
	/* n = 0: n' = 3, p = d = 0.25, var = (0.5 - 0) / 3 = 1/6,
	 * margin = 196 * sqrt(1/6) = 80.01666493091714, adjusted 0.
	 * NULL out-pointers are allowed. */
	var = metrics_nps_adjusted_wald(0, 0, 0, &adj, &margin);
	assert_near(var, 1.0 / 6.0);
	assert_near(adj, 0.0);
	assert_near(margin, 80.01666493091714);
	assert_near(metrics_nps_adjusted_wald(0, 0, 0, NULL, NULL), 1.0 / 6.0);
}

static void test_nps_empty(void **state)
{
	(void)state;
	metrics_counts c = {0};
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_false(s.has_nps);
	assert_false(s.has_grade);
	assert_false(s.has_ces);
	assert_near(s.nps, 0.0);
}

/* One promoter: NPS = 100.
 *   n' = 4, p = 1.75/4 = 0.4375, d = 0.75/4 = 0.1875
 *   p + d = 0.625, p - d = 0.25, (p - d)^2 = 0.0625
 *   var = (0.625 - 0.0625) / 4 = 0.140625, sqrt = 0.375
 *   margin = 1.96 * 0.375 * 100 = 73.5
 *   adjusted = 25, interval 25 -+ 73.5 = [-48.5, 98.5] */
static void test_nps_one_promoter(void **state)
{
	(void)state;
	metrics_counts c = {0};
	metrics_counts_add(&c, 10, -1, -1);
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_true(s.has_nps);
	assert_near(s.nps, 100.0);
	assert_near(s.promoter_share, 1.0);
	assert_near(s.nps_margin, 73.5);
	assert_near(s.nps_low, -48.5);
	assert_near(s.nps_high, 98.5);
}

/* One detractor: the mirror image, p = 0.1875, d = 0.4375, adjusted -25,
 * margin 73.5, interval [-98.5, 48.5]; NPS = -100. */
static void test_nps_one_detractor(void **state)
{
	(void)state;
	metrics_counts c = {0};
	metrics_counts_add(&c, 0, -1, -1);
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_near(s.nps, -100.0);
	assert_near(s.detractor_share, 1.0);
	assert_near(s.nps_margin, 73.5);
	assert_near(s.nps_low, -98.5);
	assert_near(s.nps_high, 48.5);
}

/* 100 promoters: NPS = 100.
 *   n' = 103, p = 100.75/103, d = 0.75/103
 *   p + d = 101.5/103, p - d = 100/103
 *   var = (101.5*103 - 10000) / 103^3 = 454.5 / 1092727 = 0.000415931884176011
 *   margin = 196 * sqrt(var) = 3.9973039992607067
 *   adjusted = 10000/103 = 97.0873786407767
 *   low  = 97.0873786407767 - 3.9973039992607067 = 93.090074641516
 *   high = 101.0846826400374 -> clipped to 100 */
static void test_nps_all_promoters(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 100, 9, -1, -1);
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_near(s.nps, 100.0);
	assert_near(s.nps_margin, 3.9973039992607067);
	assert_near(s.nps_high, 100.0);
	assert_near(s.nps_low, 93.090074641516);
	assert_true(s.nps_low < 100.0);
}

/* 100 detractors: mirror of the above, low clipped to -100, high -93.09... */
static void test_nps_all_detractors(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 100, 6, -1, -1);
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_near(s.nps, -100.0);
	assert_near(s.nps_margin, 3.9973039992607067);
	assert_near(s.nps_low, -100.0);
	assert_near(s.nps_high, -93.090074641516);
}

/* ---- grade and CES ------------------------------------------------------- */

/* Grades 6,7,8,9,10: n = 5, sum = 40, sumsq = 330, mean = 8.
 *   s^2 = (5*330 - 40^2) / (5*4) = 50/20 = 2.5, s = 1.5811388300841898
 *   half = 1.96 * s / sqrt(5) = 1.96 * sqrt(0.5) = 1.3859292911256331
 *   interval [6.614070708874367, 9.385929291125633]
 *   7+ : 4/5 = 0.8, 9+ : 2/5 = 0.4
 * CES 2,5,7,4: mean 18/4 = 4.5, share 5-7 = 2/4 = 0.5. */
static void test_grade_and_ces(void **state)
{
	(void)state;
	metrics_counts c = {0};
	metrics_counts_add(&c, -1, 6, 2);
	metrics_counts_add(&c, -1, 7, 5);
	metrics_counts_add(&c, -1, 8, 7);
	metrics_counts_add(&c, -1, 9, 4);
	metrics_counts_add(&c, -1, 10, -1);
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_false(s.has_nps);
	assert_true(s.has_grade);
	assert_near(s.grade_mean, 8.0);
	assert_near(s.grade_low, 6.614070708874367);
	assert_near(s.grade_high, 9.385929291125633);
	assert_near(s.grade_7plus_share, 0.8);
	assert_near(s.grade_9plus_share, 0.4);
	assert_true(s.has_ces);
	assert_near(s.ces_mean, 4.5);
	assert_near(s.ces_5plus_share, 0.5);
}

/* One grade: no spread to estimate, interval = mean = 7. */
static void test_grade_single(void **state)
{
	(void)state;
	metrics_counts c = {0};
	metrics_counts_add(&c, -1, 7, -1);
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_near(s.grade_mean, 7.0);
	assert_near(s.grade_low, 7.0);
	assert_near(s.grade_high, 7.0);
	assert_near(s.grade_7plus_share, 1.0);
	assert_near(s.grade_9plus_share, 0.0);
}

/* Counts too large for exact int64 arithmetic (n * sumsq > 2^63):
 * 1e9 grades of 5 and 1e9 of 10, n = 2e9, sum = 1.5e10, sumsq = 1.25e11.
 *   mean = 7.5; population variance 6.25; sample s^2 = 6.25 * n/(n-1)
 *        = 6.250000003125 (to 1e-12)
 *   half = 1.96 * sqrt(6.250000003125) / sqrt(2e9) = 0.00010956733092488152
 *   low = 7.499890432669075 */
static void test_grade_huge_counts(void **state)
{
	(void)state;
	metrics_counts c = {0};
	c.n = c.grade_n = 2000000000;
	c.grade_sum = 15000000000;
	c.grade_sumsq = 125000000000;
	c.grade_7plus = c.grade_9plus = 1000000000;
	metrics_summary s;
	metrics_compute(&c, &s);
	assert_near(s.grade_mean, 7.5);
	assert_near(s.grade_low, 7.499890432669075);
	assert_near(s.grade_high, 7.500109567330925);
	assert_near(s.grade_7plus_share, 0.5);
}

/* ---- JSON --------------------------------------------------------------- */

static double num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_non_null(v);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

/* 50/30/20 again, plus the grades and CES of test_grade_and_ces on five
 * of the responses. Rounded: value 30.0, low 14.05.. -> 14.1,
 * high 44.20.. -> 44.2, margin 15.07.. -> 15.1; grade mean 8.00,
 * low 6.614.. -> 6.61, high 9.385.. -> 9.39. Only 4 CES answers: under
 * min_n 5 the CES is null and listed as hidden (minimum n per measure). */
static void test_json_full(void **state)
{
	(void)state;
	metrics_counts c = {0};
	metrics_counts_add(&c, 9, 6, 2);
	metrics_counts_add(&c, 9, 7, 5);
	metrics_counts_add(&c, 9, 8, 7);
	metrics_counts_add(&c, 9, 9, 4);
	metrics_counts_add(&c, 9, 10, -1);
	add_many(&c, 45, 10, -1, -1);
	add_many(&c, 30, 8, -1, -1);
	add_many(&c, 20, 0, -1, -1);
	json_t *j = metrics_json(&c, 5);
	assert_non_null(j);
	assert_near(num(j, "n"), 100);
	assert_near(num(j, "min_n"), 5);
	assert_true(json_is_false(json_object_get(j, "insufficient")));

	json_t *nps = json_object_get(j, "nps");
	assert_true(json_is_object(nps));
	assert_near(num(nps, "n"), 100);
	assert_near(num(nps, "promoters"), 0.5);
	assert_near(num(nps, "passives"), 0.3);
	assert_near(num(nps, "detractors"), 0.2);
	assert_near(num(nps, "value"), 30.0);
	assert_near(num(nps, "low"), 14.1);
	assert_near(num(nps, "high"), 44.2);
	assert_near(num(nps, "margin"), 15.1);

	json_t *g = json_object_get(j, "grade");
	assert_true(json_is_object(g));
	assert_near(num(g, "n"), 5);
	assert_near(num(g, "mean"), 8.0);
	assert_near(num(g, "low"), 6.61);
	assert_near(num(g, "high"), 9.39);
	assert_near(num(g, "share_7plus"), 0.8);
	assert_near(num(g, "share_9plus"), 0.4);

	assert_true(json_is_null(json_object_get(j, "ces")));
	json_t *hidden = json_object_get(j, "hidden");
	assert_true(json_is_array(hidden));
	assert_int_equal(json_array_size(hidden), 1);
	assert_string_equal(json_string_value(json_array_get(hidden, 0)), "ces");
	json_decref(j);

	/* With min_n 4 the CES shows: mean 18/4 = 4.5, share 2/4 = 0.5. */
	j = metrics_json(&c, 4);
	json_t *ces = json_object_get(j, "ces");
	assert_true(json_is_object(ces));
	assert_near(num(ces, "n"), 4);
	assert_near(num(ces, "mean"), 4.5);
	assert_near(num(ces, "share_5plus"), 0.5);
	assert_int_equal(json_array_size(json_object_get(j, "hidden")), 0);
	json_decref(j);
}

/* The same slice as text: the exact digits the API sends. */
static void test_json_text(void **state)
{
	(void)state;
	metrics_counts c = {0};
	metrics_counts_add(&c, 9, 6, 2);
	metrics_counts_add(&c, 9, 7, 5);
	metrics_counts_add(&c, 9, 8, 7);
	metrics_counts_add(&c, 9, 9, 4);
	metrics_counts_add(&c, 9, 10, -1);
	add_many(&c, 45, 10, -1, -1);
	add_many(&c, 30, 8, -1, -1);
	add_many(&c, 20, 0, -1, -1);
	ks_buf b;
	buf_init(&b, 4096);
	assert_int_equal(metrics_json_members(&b, &c, 5), KS_OK);
	const char *want =
		"\"n\":100,\"min_n\":5,\"insufficient\":false,"
		"\"nps\":{\"n\":100,\"promoters\":0.50,\"passives\":0.30,\"detractors\":0.20,"
		"\"value\":30.0,\"low\":14.1,\"high\":44.2,\"margin\":15.1},"
		"\"grade\":{\"n\":5,\"mean\":8.00,\"low\":6.61,\"high\":9.39,"
		"\"share_7plus\":0.80,\"share_9plus\":0.40},"
		"\"ces\":null,\"hidden\":[\"ces\"]";
	int eq = strcmp(b.data, want) == 0;
	if (!eq)
		print_error("got  %s\nwant %s\n", b.data, want);
	buf_free(&b);
	assert_true(eq);
}

/* A block nobody answered is null; clipping shows in the JSON: all
 * detractors (n = 5, n' = 8, p = 0.75/8, d = 5.75/8, p - d = -0.625,
 * p + d = 0.8125, var = (0.8125 - 0.390625)/8 = 0.052734375,
 * margin = 196 * 0.2296397... = 45.009..., adjusted -62.5,
 * low = -107.5.. -> -100, high = -17.49.. -> -17.5). */
static void test_json_null_blocks_and_clip(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 5, 2, -1, -1);
	json_t *j = metrics_json(&c, 5);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "insufficient")));
	assert_true(json_is_null(json_object_get(j, "grade")));
	assert_true(json_is_null(json_object_get(j, "ces")));
	json_t *nps = json_object_get(j, "nps");
	assert_near(num(nps, "value"), -100.0);
	assert_near(num(nps, "low"), -100.0);
	assert_near(num(nps, "high"), -17.5);
	assert_near(num(nps, "margin"), 45.0);
	json_decref(j);
}

/* Minimum n: 4 responses under min_n 5 give only n, min_n, insufficient. */
static void test_json_min_n_masks(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 4, 10, 9, 7);
	json_t *j = metrics_json(&c, 5);
	assert_non_null(j);
	assert_int_equal(json_object_size(j), 3);
	assert_near(num(j, "n"), 4);
	assert_near(num(j, "min_n"), 5);
	assert_true(json_is_true(json_object_get(j, "insufficient")));
	assert_null(json_object_get(j, "nps"));
	assert_null(json_object_get(j, "grade"));
	assert_null(json_object_get(j, "ces"));
	json_decref(j);

	/* Exactly min_n is enough. */
	metrics_counts_add(&c, 10, 9, 7);
	j = metrics_json(&c, 5);
	assert_true(json_is_false(json_object_get(j, "insufficient")));
	assert_true(json_is_object(json_object_get(j, "nps")));
	json_decref(j);
}

/* n = 0 with min_n 0: not masked, but every block is null, and with no
 * measure printed the slice is insufficient. */
static void test_json_empty(void **state)
{
	(void)state;
	metrics_counts c = {0};
	json_t *j = metrics_json(&c, 0);
	assert_non_null(j);
	assert_true(json_is_true(json_object_get(j, "insufficient")));
	assert_int_equal(json_array_size(json_object_get(j, "hidden")), 0);
	assert_true(json_is_null(json_object_get(j, "nps")));
	assert_true(json_is_null(json_object_get(j, "grade")));
	assert_true(json_is_null(json_object_get(j, "ces")));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_classes),
		cmocka_unit_test(test_counts_grade_ces),
		cmocka_unit_test(test_nps_50_30_20),
		cmocka_unit_test(test_nps_adjusted_wald_direct),
		cmocka_unit_test(test_nps_empty),
		cmocka_unit_test(test_nps_one_promoter),
		cmocka_unit_test(test_nps_one_detractor),
		cmocka_unit_test(test_nps_all_promoters),
		cmocka_unit_test(test_nps_all_detractors),
		cmocka_unit_test(test_grade_and_ces),
		cmocka_unit_test(test_grade_single),
		cmocka_unit_test(test_grade_huge_counts),
		cmocka_unit_test(test_json_full),
		cmocka_unit_test(test_json_text),
		cmocka_unit_test(test_json_null_blocks_and_clip),
		cmocka_unit_test(test_json_min_n_masks),
		cmocka_unit_test(test_json_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
