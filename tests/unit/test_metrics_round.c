/* test_metrics_round.c — the one rounding rule (round.c), the figures it
 * produces, and JSON and CSV showing the same digits (metrics.c).
 *
 * Rule: half away from zero, once, on the exact value; never "-0.0".
 * Expected values are literals worked out in the comments; the large ones
 * were checked with python3 fractions.Fraction (floor(|v| + 1/2) with the
 * sign of v).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

static void add_many(metrics_counts *c, int n, int nps, int grade, int ces)
{
	for (int i = 0; i < n; i++)
		metrics_counts_add(c, nps, grade, ces);
}

/* metrics_put_fixed into a fresh buffer, returned as a malloc'd string
 * (the buffer's memory, freed by the caller). */
static char *fixed_text(int64_t scaled, int decimals)
{
	ks_buf b;
	buf_init(&b, 256);
	if (metrics_put_fixed(&b, scaled, decimals) != KS_OK) {
		buf_free(&b);
		return NULL;
	}
	size_t len;
	return buf_steal(&b, &len);
}

#define assert_fixed(scaled, decimals, want)              \
	do {                                              \
		char *t_ = fixed_text((scaled), (decimals)); \
		assert_non_null(t_);                      \
		int eq_ = strcmp(t_, (want)) == 0;        \
		if (!eq_)                                 \
			print_error("got %s\n", t_);      \
		free(t_);                                 \
		assert_true(eq_);                         \
	} while (0)

/* ---- metrics_round_ratio_scaled --------------------------------------------- */

static void test_ratio_ties_and_signs(void **state)
{
	(void)state;
	/* 3/16 = 0.1875 -> 0.188 (a tie, away from zero) */
	assert_int_equal(metrics_round_ratio_scaled(3, 16, 3), 188);
	assert_int_equal(metrics_round_ratio_scaled(-3, 16, 3), -188);
	assert_int_equal(metrics_round_ratio_scaled(3, -16, 3), -188);
	assert_int_equal(metrics_round_ratio_scaled(-3, -16, 3), 188);
	/* 1/8 = 0.125 -> 0.13; 1/3 -> 0.33; 2/3 -> 0.67 */
	assert_int_equal(metrics_round_ratio_scaled(1, 8, 2), 13);
	assert_int_equal(metrics_round_ratio_scaled(-1, 8, 2), -13);
	assert_int_equal(metrics_round_ratio_scaled(1, 3, 2), 33);
	assert_int_equal(metrics_round_ratio_scaled(2, 3, 2), 67);
	assert_int_equal(metrics_round_ratio_scaled(-2, 3, 2), -67);
	/* 5/2 = 2.5 -> 3, -2.5 -> -3 (not to even) */
	assert_int_equal(metrics_round_ratio_scaled(5, 2, 0), 3);
	assert_int_equal(metrics_round_ratio_scaled(5, -2, 0), -3);
	/* -1/3000 = -0.000333.. -> 0 at 3 decimals: a plain 0, printed "0.0" */
	assert_int_equal(metrics_round_ratio_scaled(-1, 3000, 3), 0);
	assert_int_equal(metrics_round_ratio_scaled(0, 5, 1), 0);
	/* just below and just above a tie: 0.12499.. and 0.12501.. */
	assert_int_equal(metrics_round_ratio_scaled(12499, 100000, 2), 12);
	assert_int_equal(metrics_round_ratio_scaled(12501, 100000, 2), 13);
	/* den 0 gives 0; decimals are clamped to 0..18 */
	assert_int_equal(metrics_round_ratio_scaled(7, 0, 2), 0);
	assert_int_equal(metrics_round_ratio_scaled(7, 2, -3), 4);
	assert_int_equal(metrics_round_ratio_scaled(1, 3, 25), 333333333333333333);
}

/* Beyond int64 the long double fallback (values from python3 Fraction):
 *   10^16/3 at 3 decimals           = 3333333333333333333
 *   3*10^15/7 at 4 decimals         = 4285714285714285714
 *   (2^62 - 1)/(2^63 - 1) at 1      = 5   (0.4999999999999999999458.. * 10)
 *   -10^17/6 at 3 = -16666666666666666667, below INT64_MIN: saturates.
 * Long double carries 64 bits, so the first two may be off by one unit
 * (the fallback is exact only away from ties); allow that. */
static void test_ratio_overflow_fallback(void **state)
{
	(void)state;
	int64_t a = metrics_round_ratio_scaled(10000000000000000, 3, 3);
	assert_true(a >= 3333333333333333332 && a <= 3333333333333333334);
	int64_t b = metrics_round_ratio_scaled(3000000000000000, 7, 4);
	assert_true(b >= 4285714285714285713 && b <= 4285714285714285715);
	assert_int_equal(metrics_round_ratio_scaled(4611686018427387903, INT64_MAX, 1), 5);
	assert_true(metrics_round_ratio_scaled(-100000000000000000, 6, 3) == INT64_MIN);
	assert_true(metrics_round_ratio_scaled(INT64_MIN, 1, 0) == INT64_MIN);
	assert_int_equal(metrics_round_ratio_scaled(INT64_MAX, INT64_MAX, 2), 100);
	assert_int_equal(metrics_round_ratio_scaled(1, INT64_MIN, 2), 0);
}

/* Every NPS of n = 1..60 against an independent integer formula:
 * round-half-away(1000 x / n) = sign(x) * floor((2000 |x| + n) / (2 n)). */
static void test_ratio_against_floor_formula(void **state)
{
	(void)state;
	for (int64_t n = 1; n <= 60; n++) {
		for (int64_t x = -n; x <= n; x++) {
			int64_t ax = x < 0 ? -x : x;
			int64_t want = (2000 * ax + n) / (2 * n);
			if (x < 0)
				want = -want;
			int64_t got = metrics_round_ratio_scaled(x, n, 3);
			if (got != want) {
				print_error("x %lld n %lld: %lld, want %lld\n", (long long)x, (long long)n,
					    (long long)got, (long long)want);
				fail();
			}
		}
	}
}

/* ---- metrics_round_scaled (irrational values) --------------------------------- */

static void test_round_double(void **state)
{
	(void)state;
	assert_int_equal(metrics_round_scaled(14.05085316547609, 1), 141);
	assert_int_equal(metrics_round_scaled(-17.490625976359105, 1), -175);
	assert_int_equal(metrics_round_scaled(-0.04, 1), 0);
	assert_int_equal(metrics_round_scaled(2.5, 0), 3);
	assert_int_equal(metrics_round_scaled(-2.5, 0), -3);
	assert_int_equal(metrics_round_scaled(0.5547026073344442, 4), 5547);
	assert_int_equal(metrics_round_scaled(NAN, 2), 0);
	assert_true(metrics_round_scaled(1e300, 2) == INT64_MAX);
	assert_true(metrics_round_scaled(-HUGE_VAL, 2) == INT64_MIN);
}

/* ---- metrics_put_fixed -------------------------------------------------------------- */

static void test_put_fixed(void **state)
{
	(void)state;
	assert_fixed(188, 1, "18.8");
	assert_fixed(-188, 1, "-18.8");
	assert_fixed(-30, 1, "-3.0");
	assert_fixed(0, 1, "0.0");
	assert_fixed(0, 2, "0.00");
	assert_fixed(-5, 1, "-0.5");
	assert_fixed(47, 2, "0.47");
	assert_fixed(5, 2, "0.05");
	assert_fixed(-5, 2, "-0.05");
	assert_fixed(100, 2, "1.00");
	assert_fixed(-1000, 1, "-100.0");
	assert_fixed(42, 0, "42");
	assert_fixed(-42, 0, "-42");
	assert_fixed(INT64_MIN, 2, "-92233720368547758.08");
	assert_fixed(INT64_MAX, 18, "9.223372036854775807");
}

/* ---- figures, JSON and CSV ------------------------------------------------------------ */

/* The number that started it: 16 promoters, 25 passives, 7 detractors,
 * n = 48. NPS = 100 * 9/48 = 18.75 exactly -> 18.8. Computed as
 * (16/48 - 7/48) * 100 in doubles it is 18.749999999999996 and the old
 * code printed 18.7. Shares: 16/48 = 0.3333 -> 0.33, 25/48 = 0.5208 ->
 * 0.52, 7/48 = 0.1458 -> 0.15 (they need not add up to 1). */
static void test_figures_18_75(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 16, 10, -1, -1);
	add_many(&c, 25, 8, -1, -1);
	add_many(&c, 7, 0, -1, -1);
	metrics_figures f;
	metrics_figures_compute(&c, &f);
	assert_true(f.has_nps);
	assert_false(f.has_grade);
	assert_int_equal(f.nps, 188);
	assert_int_equal(f.promoters, 33);
	assert_int_equal(f.passives, 52);
	assert_int_equal(f.detractors, 15);

	json_t *j = metrics_json(&c, 5);
	assert_non_null(j);
	json_t *nps = json_object_get(j, "nps");
	char *txt = json_dumps(nps, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(j);
	assert_non_null(txt);
	int has_value = strstr(txt, "\"value\":18.8,") != NULL;
	int has_shares = strstr(txt, "\"promoters\":0.33,\"passives\":0.52,\"detractors\":0.15,") != NULL;
	free(txt);
	assert_true(has_value);
	assert_true(has_shares);

	/* Mirror image: -18.75 -> -18.8. */
	metrics_counts m = {0};
	add_many(&m, 7, 10, -1, -1);
	add_many(&m, 25, 8, -1, -1);
	add_many(&m, 16, 0, -1, -1);
	metrics_figures_compute(&m, &f);
	assert_int_equal(f.nps, -188);
}

/* CSV line of the 18.75 slice, also with grades and CES on the first 6
 * responses: grades 7,7,8,9,10,6 (sum 47, mean 7.8333 -> 7.83; 7+: 5/6 =
 * 0.8333 -> 0.83; 9+: 2/6 -> 0.33); CES 5,5,6,2,3,7 (sum 28, 4.6667 ->
 * 4.67; 5+: 4/6 -> 0.67). NPS interval (adjusted Wald, n' = 51,
 * p = 16.75/51, d = 7.75/51): var = (24.5/51 - (9/51)^2)/51
 * = 1168.5/132651, margin = 196 sqrt(var) = 18.3957.., centre 900/51 =
 * 17.647..: low -0.7486.. -> -0.7, high 36.043.. -> 36.0. min_n 5 and
 * six answers each: everything shown. */
static void test_csv_line(void **state)
{
	(void)state;
	metrics_counts c = {0};
	const int grades[] = {7, 7, 8, 9, 10, 6}, ces[] = {5, 5, 6, 2, 3, 7};
	for (int i = 0; i < 6; i++)
		metrics_counts_add(&c, 10, grades[i], ces[i]);
	add_many(&c, 10, 10, -1, -1);
	add_many(&c, 25, 8, -1, -1);
	add_many(&c, 7, 0, -1, -1);
	assert_int_equal(c.grade_sum, 47);
	assert_int_equal(c.ces_sum, 28);
	ks_buf b;
	buf_init(&b, 4096);
	assert_int_equal(metrics_csv_fields(&b, &c, 5, NULL), KS_OK);
	const char *want = ",48,48,18.8,-0.7,36.0,0.33,0.52,0.15,6,7.83,0.83,0.33,6,4.67,0.67,\r\n";
	int eq = strcmp(b.data, want) == 0;
	if (!eq)
		print_error("got  %s\nwant %s\n", b.data, want);
	buf_free(&b);
	assert_true(eq);
	assert_string_equal(metrics_csv_header,
			    "n,nps_n,nps,nps_low,nps_high,promoters,passives,detractors,grade_n,grade_mean,"
			    "grade_7plus,grade_9plus,ces_n,ces_mean,ces_5plus,note\r\n");
}

/* Number of comma-separated cells of a CSV line (no quoting here). */
static int cells(const char *s)
{
	int n = 1;
	for (; *s; s++)
		n += *s == ',';
	return n;
}

/* Below min_n only n and the note; a hidden measure's cells (its n too)
 * are empty and the note names it. Every line has the header's 16 cells
 * after the leading comma. */
static void test_csv_masked(void **state)
{
	(void)state;
	ks_buf b;
	buf_init(&b, 4096);
	metrics_counts small = {0};
	add_many(&small, 4, 10, 9, 7);
	assert_int_equal(metrics_csv_fields(&b, &small, 5, NULL), KS_OK);
	assert_string_equal(b.data, ",4,,,,,,,,,,,,,,,not enough responses\r\n");
	assert_int_equal(cells(b.data) - 1, cells(metrics_csv_header));

	/* 12 responses, 12 NPS answers (all 10), 3 grades (8), no CES:
	 * NPS 100.0, interval n' = 15, p = 12.75/15 = 0.85, d = 0.05,
	 * var = (0.9 - 0.64)/15 = 0.017333.., margin = 196 * 0.131656.. =
	 * 25.8046.., centre 80: low 54.195.. -> 54.2, high 105.8 -> 100.0. */
	metrics_counts c = {0};
	add_many(&c, 3, 10, 8, -1);
	add_many(&c, 9, 10, -1, -1);
	buf_reset(&b);
	assert_int_equal(metrics_csv_fields(&b, &c, 5, NULL), KS_OK);
	assert_string_equal(b.data, ",12,12,100.0,54.2,100.0,1.00,0.00,0.00,,,,,,,,hidden: grade\r\n");
	assert_int_equal(cells(b.data) - 1, cells(metrics_csv_header));

	/* The mask hides the NPS as well: nothing printed, both named. */
	metrics_mask show = {false, true, true};
	buf_reset(&b);
	assert_int_equal(metrics_csv_fields(&b, &c, 5, &show), KS_OK);
	assert_string_equal(b.data, ",12,,,,,,,,,,,,,,,hidden: nps grade\r\n");
	buf_free(&b);
}

/* The text of a member "name":value from JSON text, up to , or }. */
static void member_text(const char *json, const char *obj, const char *name, char *out, size_t cap)
{
	char key[64];
	out[0] = '\0';
	const char *o = strstr(json, obj);
	if (o == NULL)
		return;
	snprintf(key, sizeof key, "\"%s\":", name);
	const char *p = strstr(o, key);
	if (p == NULL)
		return;
	p += strlen(key);
	size_t n = strcspn(p, ",}");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* JSON and CSV show the same digits: over many slices, every CSV cell
 * equals the text of its JSON member. */
static void test_json_csv_same_digits(void **state)
{
	(void)state;
	static const struct {
		int col;
		const char *obj, *name;
	} map[] = {
		{2, "\"nps\":{", "value"},        {3, "\"nps\":{", "low"},
		{4, "\"nps\":{", "high"},         {5, "\"nps\":{", "promoters"},
		{6, "\"nps\":{", "passives"},     {7, "\"nps\":{", "detractors"},
		{9, "\"grade\":{", "mean"},       {10, "\"grade\":{", "share_7plus"},
		{11, "\"grade\":{", "share_9plus"}, {13, "\"ces\":{", "mean"},
		{14, "\"ces\":{", "share_5plus"},
	};
	ks_buf j, c;
	buf_init(&j, 8192);
	buf_init(&c, 8192);
	int checked = 0;
	for (int p = 0; p < 13; p++) {
		for (int q = 0; q < 7; q++) {
			for (int d = 0; d < 11; d++) {
				if (p + q + d < 5)
					continue;
				metrics_counts k = {0};
				add_many(&k, p, 9, 9, 6);
				add_many(&k, q, 7, 7, 5);
				add_many(&k, d, 3, 3 + d % 4, 1 + d % 3);
				buf_reset(&j);
				buf_reset(&c);
				assert_int_equal(metrics_json_members(&j, &k, 5), KS_OK);
				assert_int_equal(metrics_csv_fields(&c, &k, 5, NULL), KS_OK);
				char cellv[17][32];
				memset(cellv, 0, sizeof cellv);
				int ci = 0;
				size_t at = 1; /* past the leading comma */
				for (bool more = true; more && ci < 17 && at < c.len;) {
					size_t w = strcspn(c.data + at, ",\r");
					snprintf(cellv[ci++], sizeof cellv[0], "%.*s", (int)w, c.data + at);
					more = c.data[at + w] == ',';
					at += w + 1;
				}
				assert_int_equal(ci, 16);
				for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
					char jt[32];
					member_text(j.data, map[m].obj, map[m].name, jt, sizeof jt);
					/* CSV cells numbered from 0 = n, as in the header. */
					if (strcmp(jt, cellv[map[m].col]) != 0) {
						print_error("%d/%d/%d %s: JSON %s, CSV %s\n", p, q, d, map[m].name,
							    jt, cellv[map[m].col]);
						fail();
					}
					checked++;
				}
			}
		}
	}
	buf_free(&j);
	buf_free(&c);
	assert_true(checked > 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ratio_ties_and_signs),
		cmocka_unit_test(test_ratio_overflow_fallback),
		cmocka_unit_test(test_ratio_against_floor_formula),
		cmocka_unit_test(test_round_double),
		cmocka_unit_test(test_put_fixed),
		cmocka_unit_test(test_figures_18_75),
		cmocka_unit_test(test_csv_line),
		cmocka_unit_test(test_csv_masked),
		cmocka_unit_test(test_json_csv_same_digits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
