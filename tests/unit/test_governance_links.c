/* test_governance_links.c — the soft<->hard statistics (issue 17, part L)
 * against an independent reference.
 *
 * tests/ref/panel_ref.py (numpy: the regression on unit dummies, its own
 * t distribution and BH) generated tests/ref/panel_ref.json: the panel and
 * the expected numbers. This test reads both with jansson and asks for
 * 1e-9 relative agreement; the counts must be equal. The other cases are
 * small panels whose answers follow by hand (minimums, an exact line,
 * singleton units, the lag's range).
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
#include <jansson.h>

#include "governance/links.h"
#include "metrics/metrics.h"

#define assert_rel(got, want, what, lag)                                                   \
	do {                                                                               \
		double got_ = (got), want_ = (want);                                       \
		if (!(fabs(got_ - want_) <= 1e-9 * fabs(want_))) {                         \
			print_error("lag %d %s = %.17g, want %.17g\n", (lag), (what), got_, want_); \
			fail();                                                            \
		}                                                                          \
	} while (0)

/* The reference file, found from this source file's path (the build
 * compiles tests/unit/x.c from the repository root, where tests run). */
static json_t *load_ref(void)
{
	char path[512];
	const char *src = __FILE__;
	const char *slash = strrchr(src, '/');
	int len = slash ? (int)(slash - src) : 1;
	snprintf(path, sizeof path, "%.*s/../ref/panel_ref.json", len, slash ? src : ".");
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j)
		print_error("cannot read %s: %s\n", path, je.text);
	assert_non_null(j);
	return j;
}

typedef struct ref_panel {
	size_t nu, nt;
	double *soft, *hard;
} ref_panel;

static void read_matrix(json_t *rows, size_t nu, size_t nt, double *out)
{
	assert_int_equal(json_array_size(rows), nu);
	for (size_t u = 0; u < nu; u++) {
		json_t *row = json_array_get(rows, u);
		assert_int_equal(json_array_size(row), nt);
		for (size_t t = 0; t < nt; t++) {
			json_t *v = json_array_get(row, t);
			out[u * nt + t] = json_is_null(v) ? NAN : json_real_value(v);
		}
	}
}

static void read_panel(json_t *ref, ref_panel *rp)
{
	rp->nu = (size_t)json_integer_value(json_object_get(ref, "n_units"));
	rp->nt = (size_t)json_integer_value(json_object_get(ref, "n_periods"));
	rp->soft = calloc(rp->nu * rp->nt, sizeof(double));
	rp->hard = calloc(rp->nu * rp->nt, sizeof(double));
	assert_non_null(rp->soft);
	assert_non_null(rp->hard);
	read_matrix(json_object_get(ref, "soft"), rp->nu, rp->nt, rp->soft);
	read_matrix(json_object_get(ref, "hard"), rp->nu, rp->nt, rp->hard);
}

static double num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

/* Every lag 0..6: counts exactly, beta/se/t/p/interval and r/interval to
 * 1e-9 relative. The reference's lag-2 relation (hard = level - 0.8 soft(t-2)
 * + noise) gives beta near -0.8 at lag 2 — checked below so a reference that
 * generated nothing would not pass silently. */
static void test_reference_panel(void **state)
{
	(void)state;
	json_t *ref = load_ref();
	ref_panel rp;
	read_panel(ref, &rp);
	links_panel p = {.n_units = rp.nu, .n_periods = rp.nt, .soft = rp.soft, .hard = rp.hard};
	json_t *lags = json_object_get(ref, "lags");
	assert_int_equal(json_array_size(lags), LINKS_MAX_LAG + 1);
	for (int lag = 0; lag <= LINKS_MAX_LAG; lag++) {
		json_t *L = json_array_get(lags, (size_t)lag);
		json_t *fit = json_object_get(L, "fit"), *corr = json_object_get(L, "corr");
		links_fit f;
		links_corr c;
		assert_int_equal(links_regression(&p, lag, &f, NULL), KS_OK);
		assert_int_equal(links_correlation(&p, lag, &c, NULL), KS_OK);
		assert_int_equal(f.base.reason, LINKS_ENOUGH);
		assert_int_equal(c.base.reason, LINKS_ENOUGH);
		assert_int_equal(f.base.n_pairs, (size_t)num(L, "n_pairs"));
		assert_int_equal(f.base.n_units, (size_t)num(L, "n_units"));
		assert_int_equal(f.base.n_periods, (size_t)num(L, "n_periods"));
		assert_int_equal(c.base.n_pairs, f.base.n_pairs);
		assert_rel(f.beta, num(fit, "beta"), "beta", lag);
		assert_rel(f.se, num(fit, "se"), "se", lag);
		assert_rel(f.t, num(fit, "t"), "t", lag);
		assert_rel(f.p, num(fit, "p"), "p", lag);
		assert_rel(f.lo, num(fit, "lo"), "lo", lag);
		assert_rel(f.hi, num(fit, "hi"), "hi", lag);
		assert_rel(f.df, num(fit, "df"), "df", lag);
		assert_rel(c.r, num(corr, "r"), "r", lag);
		assert_rel(c.lo, num(corr, "lo"), "r.lo", lag);
		assert_rel(c.hi, num(corr, "hi"), "r.hi", lag);
		if (lag == 2) {
			assert_true(f.beta < -0.7 && f.beta > -0.9);
			assert_true(f.p < 1e-6);
		}
	}
	/* the singleton unit (the panel's last) is out of every count */
	assert_int_equal((size_t)num(json_array_get(lags, 0), "n_units"), rp.nu - 1);
	free(rp.soft);
	free(rp.hard);
	json_decref(ref);
}

/* Benjamini-Hochberg q-values across a map: the product's one BH
 * (metrics_fdr_bh, used by the governance map) against the reference's. */
static void test_reference_bh(void **state)
{
	(void)state;
	json_t *ref = load_ref();
	json_t *bh = json_object_get(ref, "bh");
	json_t *jp = json_object_get(bh, "p"), *jq = json_object_get(bh, "q");
	size_t n = json_array_size(jp);
	assert_true(n >= 20);
	assert_int_equal(json_array_size(jq), n);
	double *p = calloc(n, sizeof(double)), *q = calloc(n, sizeof(double));
	assert_non_null(p);
	assert_non_null(q);
	size_t want_hits = 0;
	for (size_t i = 0; i < n; i++) {
		p[i] = json_number_value(json_array_get(jp, i));
		if (json_number_value(json_array_get(jq, i)) <= 0.05)
			want_hits++;
	}
	assert_int_equal(metrics_fdr_bh(p, n, 0.05, q), want_hits);
	for (size_t i = 0; i < n; i++)
		assert_rel(q[i], json_number_value(json_array_get(jq, i)), "q", (int)i);
	free(p);
	free(q);
	json_decref(ref);
}

/* A panel of nu units × nt months that varies within every unit: soft =
 * t plus a small pattern, hard = 10u plus another; only the counts and
 * whether numbers are given matter to the tests that use it. */
static void fill(double *soft, double *hard, size_t nu, size_t nt)
{
	for (size_t u = 0; u < nu; u++)
		for (size_t t = 0; t < nt; t++) {
			soft[u * nt + t] = (double)t + (double)((t * 7 + u * 3) % 5);
			hard[u * nt + t] = 10.0 * (double)u + (double)((t * 3 + u) % 4);
		}
}

static links_reason reason_of(size_t nu, size_t nt, int lag, size_t n_missing)
{
	double soft[12 * 12], hard[12 * 12];
	fill(soft, hard, nu, nt);
	for (size_t i = 0; i < n_missing; i++)
		hard[i] = NAN;   /* the first unit's first months */
	links_panel p = {.n_units = nu, .n_periods = nt, .soft = soft, .hard = hard};
	links_fit f;
	links_corr c;
	assert_int_equal(links_regression(&p, lag, &f, NULL), KS_OK);
	assert_int_equal(links_correlation(&p, lag, &c, NULL), KS_OK);
	assert_int_equal(c.base.reason, f.base.reason);
	if (f.base.reason != LINKS_ENOUGH) {
		assert_true(isnan(f.beta) && isnan(f.p) && isnan(c.r));
	} else {
		assert_false(isnan(f.beta) || isnan(f.p) || isnan(c.r));
	}
	return f.base.reason;
}

/* The minimums, at their edges: 5 units x 6 months = 30 pairs is enough,
 * so is 4 units x 12 months; 3 units, 5 months, 29 pairs (one missing hard
 * cell) are not; lag 1 on 6
 * months leaves 5 soft months; a 7th month lets lag 1 through (5 x 6 = 30). */
static void test_minimums(void **state)
{
	(void)state;
	assert_int_equal(reason_of(5, 6, 0, 0), LINKS_ENOUGH);
	assert_int_equal(reason_of(4, 12, 0, 0), LINKS_ENOUGH);
	assert_int_equal(reason_of(3, 12, 0, 0), LINKS_FEW_UNITS);
	assert_int_equal(reason_of(5, 5, 0, 0), LINKS_FEW_PERIODS);
	assert_int_equal(reason_of(5, 6, 0, 1), LINKS_FEW_PAIRS);
	assert_int_equal(reason_of(5, 6, 1, 0), LINKS_FEW_PERIODS);
	assert_int_equal(reason_of(5, 7, 1, 0), LINKS_ENOUGH);
	/* a unit left with one pair drops out: 4 units, unit 0 with one pair */
	assert_int_equal(reason_of(4, 12, 0, 11), LINKS_FEW_UNITS);
	assert_int_equal(reason_of(4, 12, 0, 10), LINKS_ENOUGH);
	assert_string_equal(links_reason_name(LINKS_FEW_PAIRS), "too_few_pairs");
	assert_string_equal(links_reason_name(LINKS_NO_VARIATION), "no_variation_within_units");
}

/* soft constant within each unit: nothing to estimate from. */
static void test_no_variation(void **state)
{
	(void)state;
	double soft[6 * 8], hard[6 * 8];
	fill(soft, hard, 6, 8);
	for (size_t u = 0; u < 6; u++)
		for (size_t t = 0; t < 8; t++)
			soft[u * 8 + t] = 40.0 + (double)u;
	links_panel p = {.n_units = 6, .n_periods = 8, .soft = soft, .hard = hard};
	links_fit f;
	assert_int_equal(links_regression(&p, 0, &f, NULL), KS_OK);
	assert_int_equal(f.base.reason, LINKS_NO_VARIATION);
	assert_true(f.base.soft_still && !f.base.hard_still);
	assert_true(isnan(f.beta));
}

/* A hard KPI constant within every unit at a value binary floating point
 * cannot hold (0.1 k (u+1) + 0.3): x - mean(x) is then rounding of order
 * 1e-17, not 0, and a regression on it gave "enough" with a random t (7 of
 * these 399 panels had p < 0.05). Every one must say no_variation, for the
 * regression and the correlation alike. */
static void const_hard_panel(double *soft, double *hard, size_t nu, size_t nt, int k)
{
	for (size_t u = 0; u < nu; u++)
		for (size_t t = 0; t < nt; t++) {
			soft[u * nt + t] = 30.0 + (double)((t * 7 + u * 3 + (size_t)k) % 11) - 0.37 * (double)t;
			hard[u * nt + t] = 0.1 * k * (double)(u + 1) + 0.3;
		}
}

static void test_constant_hard_rounding(void **state)
{
	(void)state;
	enum { NU = 6, NT = 12 };
	double soft[NU * NT], hard[NU * NT];
	for (int k = 1; k < 400; k++) {
		const_hard_panel(soft, hard, NU, NT, k);
		links_panel p = {.n_units = NU, .n_periods = NT, .soft = soft, .hard = hard};
		links_fit f;
		links_corr c;
		assert_int_equal(links_regression(&p, 0, &f, NULL), KS_OK);
		assert_int_equal(links_correlation(&p, 0, &c, NULL), KS_OK);
		if (f.base.reason != LINKS_NO_VARIATION || c.base.reason != LINKS_NO_VARIATION) {
			print_error("k=%d: regression %s (p=%g), correlation %s (r=%g)\n", k,
			            links_reason_name(f.base.reason), f.p,
			            links_reason_name(c.base.reason), c.r);
			fail();
		}
		assert_true(isnan(f.beta) && isnan(f.p) && isnan(c.r));
		assert_true(f.base.hard_still && !f.base.soft_still);
		assert_true(c.base.hard_still && !c.base.soft_still);
		/* the counts are still given: the reply says what it rests on */
		assert_int_equal(f.base.n_pairs, NU * NT);
		assert_int_equal(f.base.n_units, NU);
	}
}

/* An exactly constant hard KPI (integers): the regression used to check
 * only the soft side and answered "enough" with p = NaN. */
static void test_constant_hard_exact(void **state)
{
	(void)state;
	enum { NU = 5, NT = 8 };
	double soft[NU * NT], hard[NU * NT];
	fill(soft, hard, NU, NT);
	for (size_t u = 0; u < NU; u++)
		for (size_t t = 0; t < NT; t++)
			hard[u * NT + t] = 100.0 + 7.0 * (double)u;
	links_panel p = {.n_units = NU, .n_periods = NT, .soft = soft, .hard = hard};
	links_fit f;
	for (int lag = 0; lag <= 2; lag++) {
		assert_int_equal(links_regression(&p, lag, &f, NULL), KS_OK);
		assert_int_equal(f.base.reason, LINKS_NO_VARIATION);
		assert_true(f.base.hard_still && !f.base.soft_still);
		assert_true(isnan(f.beta) && isnan(f.se) && isnan(f.p) && isnan(f.t));
	}
}

/* Values that differ only in their last bits (a mean summed in another
 * order): within sum of squares ~1e-28 x the sum of squares, under the
 * 1e-12 tolerance, so no variation — for the soft side as well. A real
 * movement of 1e-4 of the level (sum of squares ratio ~1e-8) is kept. */
static void test_variation_tolerance(void **state)
{
	(void)state;
	enum { NU = 6, NT = 10 };
	double soft[NU * NT], hard[NU * NT], soft2[NU * NT];
	fill(soft, hard, NU, NT);
	for (size_t u = 0; u < NU; u++)
		for (size_t t = 0; t < NT; t++) {
			double level = 1000.0 + 13.0 * (double)u;
			soft2[u * NT + t] = t % 2 ? level : nextafter(level, 2000.0);
		}
	links_panel p = {.n_units = NU, .n_periods = NT, .soft = soft2, .hard = hard};
	links_fit f;
	links_corr c;
	assert_int_equal(links_regression(&p, 0, &f, NULL), KS_OK);
	assert_int_equal(f.base.reason, LINKS_NO_VARIATION);
	assert_true(f.base.soft_still && !f.base.hard_still);
	assert_int_equal(links_correlation(&p, 0, &c, NULL), KS_OK);
	assert_int_equal(c.base.reason, LINKS_NO_VARIATION);
	/* the same soft KPI moved by 0.1 around 1000: enough */
	for (size_t u = 0; u < NU; u++)
		for (size_t t = 0; t < NT; t++)
			soft2[u * NT + t] = 1000.0 + 13.0 * (double)u + 0.1 * (double)((t * 7 + u * 3) % 5);
	assert_int_equal(links_regression(&p, 0, &f, NULL), KS_OK);
	assert_int_equal(f.base.reason, LINKS_ENOUGH);
}

/* Shifting a KPI by a constant per unit changes nothing within units: a
 * hard KPI at 1e6 + the same movement gives the same beta, se and r as at
 * 0 + it (centring on the first pair keeps the small differences exact). */
static void test_level_invariance(void **state)
{
	(void)state;
	enum { NU = 6, NT = 10 };
	double soft[NU * NT], hard[NU * NT], hard2[NU * NT];
	fill(soft, hard, NU, NT);
	for (size_t i = 0; i < NU * NT; i++)
		hard2[i] = hard[i] + 1e6;
	links_panel p = {.n_units = NU, .n_periods = NT, .soft = soft, .hard = hard};
	links_panel q = {.n_units = NU, .n_periods = NT, .soft = soft, .hard = hard2};
	links_fit f, g;
	links_corr c, d;
	assert_int_equal(links_regression(&p, 1, &f, NULL), KS_OK);
	assert_int_equal(links_regression(&q, 1, &g, NULL), KS_OK);
	assert_int_equal(f.base.reason, LINKS_ENOUGH);
	assert_int_equal(g.base.reason, LINKS_ENOUGH);
	assert_rel(g.beta, f.beta, "beta", 1);
	assert_rel(g.se, f.se, "se", 1);
	assert_int_equal(links_correlation(&p, 1, &c, NULL), KS_OK);
	assert_int_equal(links_correlation(&q, 1, &d, NULL), KS_OK);
	assert_rel(d.r, c.r, "r", 1);
}

/* hard(u, t+1) = 100u - 2 soft(u, t) exactly: beta = -2, every residual 0,
 * so se = 0, t = -inf, p = 0, the interval collapses, r = -1. The unit
 * levels (100u) do not leak into beta: the fixed effects take them. */
static void test_exact_line(void **state)
{
	(void)state;
	enum { NU = 6, NT = 9 };
	double soft[NU * NT], hard[NU * NT];
	for (size_t u = 0; u < NU; u++)
		for (size_t t = 0; t < NT; t++) {
			soft[u * NT + t] = (double)((t * 5 + u) % 7) + 0.25 * (double)u;
			hard[u * NT + t] = NAN;
		}
	for (size_t u = 0; u < NU; u++)
		for (size_t t = 0; t + 1 < NT; t++)
			hard[u * NT + t + 1] = 100.0 * (double)u - 2.0 * soft[u * NT + t];
	links_panel p = {.n_units = NU, .n_periods = NT, .soft = soft, .hard = hard};
	links_fit f;
	links_corr c;
	assert_int_equal(links_regression(&p, 1, &f, NULL), KS_OK);
	assert_int_equal(f.base.reason, LINKS_ENOUGH);
	assert_int_equal(f.base.n_pairs, NU * (NT - 1));
	assert_int_equal(f.base.n_periods, NT - 1);
	assert_true(fabs(f.beta + 2.0) < 1e-12);
	assert_true(f.se < 1e-9);
	assert_true(f.p < 1e-9);
	assert_true(fabs(f.df - 5.0) == 0);
	assert_int_equal(links_correlation(&p, 1, &c, NULL), KS_OK);
	assert_true(fabs(c.r + 1.0) < 1e-12);
	/* at lag 0 the same data hold no exact line: hard(t) vs soft(t) */
	assert_int_equal(links_regression(&p, 0, &f, NULL), KS_OK);
	assert_true(fabs(f.beta + 2.0) > 0.1);
}

static void test_lag_range(void **state)
{
	(void)state;
	double soft[1] = {1}, hard[1] = {1};
	links_panel p = {.n_units = 1, .n_periods = 1, .soft = soft, .hard = hard};
	links_fit f;
	links_corr c;
	ks_error e;
	assert_int_equal(links_regression(&p, 7, &f, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "lag");
	assert_int_equal(links_correlation(&p, -1, &c, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "lag");
	links_panel none = {.n_units = 2, .n_periods = 2};
	assert_int_equal(links_regression(&none, 0, &f, &e), KS_ERR_INVALID);
	/* a lag past the panel's length: no pairs, not an error */
	assert_int_equal(links_regression(&p, 6, &f, NULL), KS_OK);
	assert_int_equal(f.base.n_pairs, 0);
	assert_int_equal(f.base.reason, LINKS_FEW_UNITS);
}

/* A panel longer than the one-pass month count handles (4,096 months):
 * the slower scan counts the same. Five units with months 4000..4009 and a
 * sixth with month 5 alone (a singleton: not counted). */
static void test_long_panel(void **state)
{
	(void)state;
	enum { NU = 6, NT = 4200 };
	double *soft = malloc(NU * NT * sizeof(double)), *hard = malloc(NU * NT * sizeof(double));
	assert_non_null(soft);
	assert_non_null(hard);
	for (size_t i = 0; i < NU * NT; i++)
		soft[i] = hard[i] = NAN;
	for (size_t u = 0; u < NU - 1; u++)
		for (size_t t = 4000; t < 4010; t++) {
			soft[u * NT + t] = (double)((t * 7 + u) % 5);
			hard[u * NT + t] = (double)((t * 3 + u * 2) % 7);
		}
	soft[(NU - 1) * NT + 5] = hard[(NU - 1) * NT + 5] = 1;
	links_panel p = {.n_units = NU, .n_periods = NT, .soft = soft, .hard = hard};
	links_fit f;
	assert_int_equal(links_regression(&p, 0, &f, NULL), KS_OK);
	assert_int_equal(f.base.n_units, NU - 1);
	assert_int_equal(f.base.n_periods, 10);
	assert_int_equal(f.base.n_pairs, 50);
	assert_int_equal(f.base.reason, LINKS_ENOUGH);
	/* the same months in a panel the one-pass count handles */
	links_panel q = {.n_units = NU, .n_periods = 4010, .soft = soft, .hard = hard};
	double *s2 = malloc(NU * 4010 * sizeof(double)), *h2 = malloc(NU * 4010 * sizeof(double));
	assert_non_null(s2);
	assert_non_null(h2);
	for (size_t u = 0; u < NU; u++)
		for (size_t t = 0; t < 4010; t++) {
			s2[u * 4010 + t] = soft[u * NT + t];
			h2[u * 4010 + t] = hard[u * NT + t];
		}
	q.soft = s2;
	q.hard = h2;
	links_fit g;
	assert_int_equal(links_regression(&q, 0, &g, NULL), KS_OK);
	assert_int_equal(g.base.n_periods, 10);
	assert_true(fabs(g.beta - f.beta) < 1e-12 && fabs(g.se - f.se) < 1e-12);
	free(soft);
	free(hard);
	free(s2);
	free(h2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_panel),
		cmocka_unit_test(test_reference_bh),
		cmocka_unit_test(test_minimums),
		cmocka_unit_test(test_no_variation),
		cmocka_unit_test(test_constant_hard_rounding),
		cmocka_unit_test(test_constant_hard_exact),
		cmocka_unit_test(test_variation_tolerance),
		cmocka_unit_test(test_level_invariance),
		cmocka_unit_test(test_exact_line),
		cmocka_unit_test(test_lag_range),
		cmocka_unit_test(test_long_panel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
