/* test_drivers.c — the key-driver engine (src/drivers, issue 15).
 *
 * Expected values come from independent computations in this file, never
 * from the engine's helpers:
 *  - two drivers in closed form (hand-derived; no published table is
 *    reproduced here, because the published worked examples of Johnson 2000
 *    and Tonidandel & LeBreton 2011 could not be recalled digit for digit):
 *    with pairwise correlations r1 = r(y,x1), r2 = r(y,x2), ρ = r(x1,x2)
 *    computed by plain loops below,
 *      R²    = (r1² + r2² − 2 r1 r2 ρ) / (1 − ρ²)
 *      LMG_1 = (r1² + (R² − r2²)) / 2       (Lindeman, Merenda & Gold 1980)
 *      relative weights: Rxx^1/2 = [[a, b], [b, a]] with
 *        a = (√(1+ρ) + √(1−ρ)) / 2, b = (√(1+ρ) − √(1−ρ)) / 2
 *      (eigenvectors (1, ±1)/√2, eigenvalues 1 ± ρ), β* = (Rxx^1/2)^-1 r,
 *        ε1 = a² β1*² + b² β2*²,  ε2 = b² β1*² + a² β2*²  (Johnson 2000)
 *      slope b1 = (r1 − r2 ρ) / (1 − ρ²) · sd_y / sd_1.
 *    Checked to 1e-9 on complete data and with 30 % of ratings missing
 *    (pairwise), the number the engine has to reproduce to three decimals
 *    and more.
 *  - Larger models: Shapley values and relative weights each sum to R²,
 *    R² against ordinary least squares solved here by Gaussian elimination,
 *    and a synthetic data set whose true ordering is known.
 * tests/api/test_drivers_cli.py checks the same engine through the command
 * line against numpy (relative weights, Shapley over all subsets, betas).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/drivers.h"

/* ---- generator: splitmix64 and Box-Muller ---- */
typedef struct gen {
	uint64_t s;
} gen;
static double uni(gen *g)
{
	uint64_t z = (g->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(gen *g)
{
	return sqrt(-2 * log(uni(g))) * cos(6.283185307179586 * uni(g));
}

/* ---- an independent reference: pairwise correlation by plain loops ---- */
static double pair_corr(const double *a, const double *b, int n, double *sd_a)
{
	double sa = 0, sb = 0, m = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(a[i]) && !isnan(b[i]))
			sa += a[i], sb += b[i], m++;
	double ma = sa / m, mb = sb / m, caa = 0, cbb = 0, cab = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(a[i]) && !isnan(b[i])) {
			caa += (a[i] - ma) * (a[i] - ma);
			cbb += (b[i] - mb) * (b[i] - mb);
			cab += (a[i] - ma) * (b[i] - mb);
		}
	if (sd_a)
		*sd_a = sqrt(caa / (m - 1));
	return cab / sqrt(caa * cbb);
}

static double sd_of(const double *a, int n)
{
	double s = 0, m = 0, ss = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(a[i]))
			s += a[i], m++;
	for (int i = 0; i < n; i++)
		if (!isnan(a[i]))
			ss += (a[i] - s / m) * (a[i] - s / m);
	return sqrt(ss / (m - 1));
}

#define NMAX 6000
#define PMAX 16
static double Y[NMAX], X[PMAX][NMAX];

static drv_acc *fill(int n, int p, int groups)
{
	drv_acc *a;
	ks_error e;
	assert_int_equal(drv_acc_new(p, groups, &a, &e), KS_OK);
	double x[PMAX];
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < p; j++)
			x[j] = X[j][i];
		drv_acc_add(a, i, Y[i], x);
	}
	return a;
}

static void analyze_ok(drv_acc *a, drv_method m, int boot, drv_result *r)
{
	drv_opts o;
	drv_opts_default(&o);
	o.method = m;
	o.bootstrap = boot;
	ks_error e;
	ks_err rc = drv_analyze(a, &o, r, &e);
	if (rc)
		fail_msg("drv_analyze: %s (%s)", e.message, e.field);
}

/* two correlated drivers, y = 0.5 x1 + 0.3 x2 + noise */
static void make_two(int n, double missing, uint64_t seed)
{
	gen g = {seed};
	for (int i = 0; i < n; i++) {
		double a = normal(&g), b = 0.6 * a + 0.8 * normal(&g);
		X[0][i] = 3 + 2 * a;
		X[1][i] = 7 + b;
		Y[i] = 0.5 * a + 0.3 * b + normal(&g);
		if (uni(&g) < missing)
			X[0][i] = NAN;
		if (uni(&g) < missing)
			X[1][i] = NAN;
	}
}

static void check_two(int n, double missing)
{
	make_two(n, missing, 0x1234 + (uint64_t)(missing * 100));
	double sdy = sd_of(Y, n), sd1 = sd_of(X[0], n), sd2 = sd_of(X[1], n);
	double r1 = pair_corr(Y, X[0], n, NULL), r2 = pair_corr(Y, X[1], n, NULL);
	double rho = pair_corr(X[0], X[1], n, NULL);
	double R2 = (r1 * r1 + r2 * r2 - 2 * r1 * r2 * rho) / (1 - rho * rho);
	double lmg1 = (r1 * r1 + (R2 - r2 * r2)) / 2, lmg2 = (r2 * r2 + (R2 - r1 * r1)) / 2;
	double ca = (sqrt(1 + rho) + sqrt(1 - rho)) / 2, cb = (sqrt(1 + rho) - sqrt(1 - rho)) / 2;
	/* inverse of [[a, b], [b, a]]: [[a, -b], [-b, a]] / (a² − b²) */
	double det = ca * ca - cb * cb;
	double bs1 = (ca * r1 - cb * r2) / det, bs2 = (-cb * r1 + ca * r2) / det;
	double rw1 = ca * ca * bs1 * bs1 + cb * cb * bs2 * bs2;
	double rw2 = cb * cb * bs1 * bs1 + ca * ca * bs2 * bs2;
	double b1 = (r1 - r2 * rho) / (1 - rho * rho) * sdy / sd1;
	double b2 = (r2 - r1 * rho) / (1 - rho * rho) * sdy / sd2;

	drv_acc *a = fill(n, 2, 64);
	drv_result r;
	analyze_ok(a, DRV_RELWEIGHTS, 0, &r);
	assert_int_equal(r.n, n);
	assert_true(fabs(r.r2 - R2) < 1e-9);
	assert_true(fabs(r.driver[0].weight - rw1) < 1e-9);
	assert_true(fabs(r.driver[1].weight - rw2) < 1e-9);
	assert_true(fabs(r.driver[0].share - rw1 / R2) < 1e-9);
	assert_true(fabs(r.driver[0].beta - b1) < 1e-9);
	assert_true(fabs(r.driver[1].beta - b2) < 1e-9);
	assert_true(fabs(r.driver[0].sd - sd1) < 1e-9);
	assert_int_equal(r.driver[0].rank, rw1 > rw2 ? 1 : 2);
	assert_false(r.driver[0].shown_to_matter); /* no bootstrap: no evidence */
	assert_true(isnan(r.driver[0].weight_lo));
	drv_result_free(&r);
	analyze_ok(a, DRV_SHAPLEY, 0, &r);
	assert_true(fabs(r.r2 - R2) < 1e-9);
	assert_true(fabs(r.driver[0].weight - lmg1) < 1e-9);
	assert_true(fabs(r.driver[1].weight - lmg2) < 1e-9);
	assert_true(fabs(r.driver[1].beta - b2) < 1e-9);
	drv_result_free(&r);
	drv_acc_free(a);
}

static void test_two_drivers_closed_form(void **state)
{
	(void)state;
	check_two(2000, 0.0);
}

/* Columns far from 0 relative to their spread (amounts around 1e7 ± a few):
 * uncentred, the sums of squares lose the spread and the outcome looks
 * constant; with drv_acc_center the closed form is met as on small data,
 * and the means come back uncentred. */
static void test_centre(void **state)
{
	(void)state;
	make_two(1000, 0.1, 404);
	for (int i = 0; i < 1000; i++) {
		Y[i] += 1e7;
		X[0][i] += 3e7;
	}
	double r1 = pair_corr(Y, X[0], 1000, NULL), r2 = pair_corr(Y, X[1], 1000, NULL);
	double rho = pair_corr(X[0], X[1], 1000, NULL);
	double R2 = (r1 * r1 + r2 * r2 - 2 * r1 * r2 * rho) / (1 - rho * rho);
	double lmg1 = (r1 * r1 + (R2 - r2 * r2)) / 2;
	double m0 = 0, n0 = 0;
	for (int i = 0; i < 1000; i++)
		if (!isnan(X[0][i]))
			m0 += X[0][i], n0++;
	drv_acc *plain = fill(1000, 2, 50), *a;
	drv_opts o;
	drv_opts_default(&o);
	o.bootstrap = 0;
	drv_result r;
	ks_error e;
	assert_int_equal(drv_analyze(plain, &o, &r, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "outcome");
	drv_acc_free(plain);
	assert_int_equal(drv_acc_new(2, 50, &a, &e), KS_OK);
	assert_int_equal(drv_acc_center(a, (double[3]){1e7, 3e7, 7}, &e), KS_OK);
	for (int i = 0; i < 1000; i++)
		drv_acc_add(a, i, Y[i], (double[2]){X[0][i], X[1][i]});
	assert_int_equal(drv_acc_center(a, (double[3]){0, 0, 0}, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "center");
	o.method = DRV_SHAPLEY;
	assert_int_equal(drv_analyze(a, &o, &r, &e), KS_OK);
	assert_true(fabs(r.r2 - R2) < 1e-9);
	assert_true(fabs(r.driver[0].weight - lmg1) < 1e-9);
	assert_true(fabs(r.driver[0].mean - m0 / n0) < 1e-6);
	drv_result_free(&r);
	drv_acc *b;
	assert_int_equal(drv_acc_new(2, 50, &b, &e), KS_OK);
	assert_int_equal(drv_acc_merge(a, b, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "center");
	drv_acc_free(a);
	drv_acc_free(b);
}

static void test_two_drivers_pairwise_missing(void **state)
{
	(void)state;
	check_two(2000, 0.3);
	/* n_pairs: rows with the outcome and that driver */
	drv_acc *a = fill(2000, 2, 16);
	drv_result r;
	analyze_ok(a, DRV_RELWEIGHTS, 0, &r);
	int m = 0;
	for (int i = 0; i < 2000; i++)
		m += !isnan(X[0][i]);
	assert_int_equal(r.driver[0].n_pairs, m);
	assert_true(m > 1300 && m < 1500);
	drv_result_free(&r);
	drv_acc_free(a);
}

/* OLS R² of y on p drivers (complete data) by Gaussian elimination on the
 * centred normal equations. */
static double ols_r2(int n, int p)
{
	double my = 0, mx[PMAX] = {0}, A[PMAX][PMAX + 1] = {{0}}, syy = 0;
	for (int i = 0; i < n; i++) {
		my += Y[i] / n;
		for (int j = 0; j < p; j++)
			mx[j] += X[j][i] / n;
	}
	for (int i = 0; i < n; i++) {
		syy += (Y[i] - my) * (Y[i] - my);
		for (int j = 0; j < p; j++) {
			for (int k = 0; k < p; k++)
				A[j][k] += (X[j][i] - mx[j]) * (X[k][i] - mx[k]);
			A[j][p] += (X[j][i] - mx[j]) * (Y[i] - my);
		}
	}
	double sxy[PMAX];
	for (int j = 0; j < p; j++)
		sxy[j] = A[j][p];
	for (int c = 0; c < p; c++)
		for (int r = c + 1; r < p; r++) {
			double f = A[r][c] / A[c][c];
			for (int k = c; k <= p; k++)
				A[r][k] -= f * A[c][k];
		}
	double b[PMAX];
	for (int c = p - 1; c >= 0; c--) {
		double s = A[c][p];
		for (int k = c + 1; k < p; k++)
			s -= A[c][k] * b[k];
		b[c] = s / A[c][c];
	}
	double ssr = 0;
	for (int j = 0; j < p; j++)
		ssr += b[j] * sxy[j];
	return ssr / syy;
}

/* y from true effects coef[], drivers sharing a common factor (correlated,
 * as real driver ratings are); a driver with effect 0 is pure noise,
 * independent of everything (one correlated with the true drivers rightly
 * gets a share of the variance they explain: importance is not effect). */
static void make_model(int n, int p, const double *coef, uint64_t seed)
{
	gen g = {seed};
	for (int i = 0; i < n; i++) {
		double f = normal(&g), y = 0;
		for (int j = 0; j < p; j++) {
			X[j][i] = (coef[j] != 0 ? 0.5 * f : 0) + normal(&g);
			y += coef[j] * X[j][i];
		}
		Y[i] = y + normal(&g);
	}
}

static void test_sums_to_r2(void **state)
{
	(void)state;
	double coef[10] = {0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.0, -0.1, 0.02};
	for (int p = 3; p <= 10; p += 7) {
		make_model(1500, p, coef, 77 + (uint64_t)p);
		double want = ols_r2(1500, p);
		drv_acc *a = fill(1500, p, 100);
		drv_result r;
		for (int m = 0; m < 2; m++) {
			analyze_ok(a, (drv_method)m, 0, &r);
			assert_true(fabs(r.r2 - want) < 1e-9);
			double s = 0;
			for (int j = 0; j < p; j++) {
				s += r.driver[j].weight;
				assert_true(r.driver[j].weight >= 0 || m == DRV_SHAPLEY);
			}
			assert_true(fabs(s - r.r2) < 1e-12);
			drv_result_free(&r);
		}
		drv_acc_free(a);
	}
}

/* Known truth: effects 0.5, 0.35, 0.2, 0.1 and a pure-noise fifth driver.
 * The ranks come out in that order, the four true drivers are shown to
 * matter (the interval against an added noise driver excludes 0, and their
 * own weight interval lies above 0), the noise driver is not (its interval
 * includes 0). Both methods. */
static void test_known_ordering(void **state)
{
	(void)state;
	double coef[5] = {0.5, 0.35, 0.2, 0.1, 0.0};
	make_model(3000, 5, coef, 4242);
	drv_acc *a = fill(3000, 5, 3000);
	for (int m = 0; m < 2; m++) {
		drv_result r;
		analyze_ok(a, (drv_method)m, 200, &r);
		assert_int_equal(r.bootstrap_used, 200);
		assert_int_equal(r.groups_used, 3000);
		assert_true(r.r2_lo < r.r2 && r.r2 < r.r2_hi);
		for (int j = 0; j < 5; j++) {
			drv_driver *d = &r.driver[j];
			assert_int_equal(d->rank, j + 1);
			assert_true(d->weight_lo <= d->weight && d->weight <= d->weight_hi);
			assert_true(d->share_lo <= d->share && d->share <= d->share_hi);
			assert_true(d->rank_lo <= d->rank && d->rank <= d->rank_hi);
			if (j < 4) {
				if (!d->shown_to_matter)
					fail_msg("method %d driver %d: vs noise [%g, %g]", m, j, d->vs_noise_lo,
						 d->vs_noise_hi);
				assert_true(d->vs_noise_lo > 0);
				assert_true(d->weight_lo > 0);
				assert_true(d->beta_lo > 0);
			} else {
				assert_false(d->shown_to_matter);
				assert_true(d->vs_noise_lo <= 0 && d->vs_noise_hi >= 0);
				assert_true(d->beta_lo < 0 && d->beta_hi > 0);
			}
		}
		/* the first driver is clearly first in (almost) every replicate */
		assert_int_equal(r.driver[0].rank_lo, 1);
		assert_int_equal(r.driver[0].rank_hi, 1);
		assert_int_equal(r.driver[4].rank_hi, 5);
		drv_result_free(&r);
	}
	drv_acc_free(a);
}

/* Missing ratings (30 % NAN), a binary outcome and skewed 1–10 scales: the
 * analysis runs, weights sum to R², and the strong drivers come first. */
static void test_messy_data(void **state)
{
	(void)state;
	gen g = {99};
	int n = 5000, p = 4;
	for (int i = 0; i < n; i++) {
		double f = normal(&g), lat = 0;
		double eff[4] = {0.9, 0.5, 0.2, 0.0};
		for (int j = 0; j < p; j++) {
			double z = (j < 3 ? 0.4 * f : 0) + normal(&g);
			lat += eff[j] * z;
			/* skewed: most ratings 8–10, a tail down to 1 */
			double v = floor(10.5 - exp(-0.8 * z + 0.3));
			X[j][i] = v < 1 ? 1 : v > 10 ? 10 : v;
			if (uni(&g) < 0.3)
				X[j][i] = NAN;
		}
		Y[i] = lat + normal(&g) > 0.3 ? 1.0 : 0.0; /* e.g. promoter or not */
	}
	drv_acc *a = fill(n, p, 1000);
	for (int m = 0; m < 2; m++) {
		drv_result r;
		analyze_ok(a, (drv_method)m, 100, &r);
		double s = 0;
		for (int j = 0; j < p; j++)
			s += r.driver[j].weight;
		assert_true(fabs(s - r.r2) < 1e-12);
		assert_int_equal(r.driver[0].rank, 1);
		assert_int_equal(r.driver[1].rank, 2);
		assert_true(r.driver[0].shown_to_matter);
		assert_false(r.driver[3].shown_to_matter);
		assert_true(r.driver[0].mean > 7 && r.driver[0].mean < 10);
		assert_true(r.driver[0].n_pairs > 3300 && r.driver[0].n_pairs < 3700);
		drv_result_free(&r);
	}
	drv_acc_free(a);
}

/* Three pairwise-complete correlations that no data set could have at
 * once: y with x1 and with x2 strongly positive (0.9), x1 with x2 strongly
 * negative — each pair observed on rows of its own. The matrix is repaired
 * (documented), the result stays a decomposition: R² <= 1, weights >= 0
 * summing to R². */
static void test_indefinite_repaired(void **state)
{
	(void)state;
	gen g = {5};
	int n = 0;
	for (int i = 0; i < 600; i++, n++) {
		double u = normal(&g), v = normal(&g);
		int part = i % 3;
		Y[n] = part == 2 ? NAN : u;
		X[0][n] = part == 1 ? NAN : (part == 0 ? u : v) + 0.3 * normal(&g);
		X[1][n] = part == 0 ? NAN : (part == 1 ? u : -v) + 0.3 * normal(&g);
		if (part == 2) /* rows with x1 and x2 but no outcome count nowhere: */
			Y[n] = 0.001 * normal(&g); /* give them a near-constant outcome */
	}
	drv_acc *a = fill(n, 2, 60);
	drv_result r;
	analyze_ok(a, DRV_RELWEIGHTS, 50, &r);
	assert_true(r.repaired);
	assert_true(r.r2 <= 1 && r.r2 > 0);
	assert_true(r.driver[0].weight >= 0 && r.driver[1].weight >= 0);
	assert_true(fabs(r.driver[0].weight + r.driver[1].weight - r.r2) < 1e-12);
	drv_result_free(&r);
	drv_acc_free(a);
}

static bool same_result(const drv_result *a, const drv_result *b)
{
	if (a->r2 != b->r2 || a->r2_lo != b->r2_lo || a->r2_hi != b->r2_hi)
		return false;
	for (int j = 0; j < a->p; j++) {
		const drv_driver *x = &a->driver[j], *y = &b->driver[j];
		if (x->weight_lo != y->weight_lo || x->weight_hi != y->weight_hi ||
		    x->vs_noise_lo != y->vs_noise_lo || x->beta_hi != y->beta_hi ||
		    x->rank_lo != y->rank_lo || x->rank_hi != y->rank_hi)
			return false;
	}
	return true;
}

/* The same seed gives the same intervals, with one thread or two; another
 * seed gives others. */
static void test_bootstrap_deterministic(void **state)
{
	(void)state;
	double coef[4] = {0.3, 0.2, 0.1, 0.05};
	make_model(800, 4, coef, 31);
	drv_acc *a = fill(800, 4, 200);
	drv_opts o;
	drv_opts_default(&o);
	o.bootstrap = 300;
	o.seed = 2026;
	drv_result r1, r2, r3, r4;
	ks_error e;
	assert_int_equal(drv_analyze(a, &o, &r1, &e), KS_OK);
	assert_int_equal(drv_analyze(a, &o, &r2, &e), KS_OK);
	o.threads = 1;
	assert_int_equal(drv_analyze(a, &o, &r3, &e), KS_OK);
	o.seed = 2027;
	assert_int_equal(drv_analyze(a, &o, &r4, &e), KS_OK);
	assert_true(same_result(&r1, &r2));
	assert_true(same_result(&r1, &r3));
	assert_false(same_result(&r1, &r4));
	assert_true(r1.r2 == r4.r2); /* the point estimate does not depend on it */
	assert_int_equal(r1.groups_used, 200);
	drv_result_free(&r1);
	drv_result_free(&r2);
	drv_result_free(&r3);
	drv_result_free(&r4);
	drv_acc_free(a);
}

/* Two accumulators filled with halves and merged give the one-pass
 * figures (sums in another order: equal to rounding). */
static void test_merge(void **state)
{
	(void)state;
	double coef[3] = {0.3, 0.2, 0.1};
	make_model(1000, 3, coef, 8);
	X[1][10] = NAN;
	drv_acc *all = fill(1000, 3, 50), *h1, *h2, *odd;
	ks_error e;
	assert_int_equal(drv_acc_new(3, 50, &h1, &e), KS_OK);
	assert_int_equal(drv_acc_new(3, 50, &h2, &e), KS_OK);
	for (int i = 0; i < 1000; i++) {
		double x[3] = {X[0][i], X[1][i], X[2][i]};
		drv_acc_add(i < 500 ? h1 : h2, i, Y[i], x);
	}
	drv_acc_add(h2, 3, NAN, (double[3]){1, 2, 3}); /* no outcome: skipped */
	assert_int_equal(drv_acc_merge(h1, h2, &e), KS_OK);
	assert_int_equal(drv_acc_rows(h1), 1000);
	drv_result r1, r2;
	analyze_ok(all, DRV_SHAPLEY, 0, &r1);
	analyze_ok(h1, DRV_SHAPLEY, 0, &r2);
	assert_true(fabs(r1.r2 - r2.r2) < 1e-12);
	for (int j = 0; j < 3; j++)
		assert_true(fabs(r1.driver[j].weight - r2.driver[j].weight) < 1e-12);
	assert_int_equal(r2.driver[1].n_pairs, 999);
	drv_result_free(&r1);
	drv_result_free(&r2);
	assert_int_equal(drv_acc_new(4, 50, &odd, &e), KS_OK);
	assert_int_equal(drv_acc_merge(h1, odd, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "drivers");
	drv_acc_free(odd);
	drv_acc_free(all);
	drv_acc_free(h1);
	drv_acc_free(h2);
}

static ks_err analyze_err(drv_acc *a, drv_opts *o, ks_error *e)
{
	drv_result r;
	ks_err rc = drv_analyze(a, o, &r, e);
	drv_result_free(&r);
	return rc;
}

static void test_errors(void **state)
{
	(void)state;
	drv_acc *a;
	ks_error e;
	drv_opts o;
	drv_opts_default(&o);
	o.bootstrap = 0;
	assert_int_equal(drv_acc_new(0, 10, &a, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "drivers");
	assert_int_equal(drv_acc_new(65, 10, &a, &e), KS_ERR_INVALID);
	assert_int_equal(drv_acc_new(3, 0, &a, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "groups");
	assert_int_equal(drv_acc_new(3, 4097, &a, &e), KS_ERR_RANGE);
	/* 64 drivers x 4096 groups would take 490 MiB; 2048 groups are fine */
	assert_int_equal(drv_acc_new(64, 4096, &a, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "groups");
	assert_int_equal(drv_acc_new(64, 2048, &a, &e), KS_OK);
	drv_acc_free(a);

	/* shapley with 16 drivers */
	double coef[16] = {0};
	make_model(100, 16, coef, 3);
	a = fill(100, 16, 10);
	o.method = DRV_SHAPLEY;
	assert_int_equal(analyze_err(a, &o, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "drivers");
	assert_non_null(strstr(e.message, "15"));
	o.method = DRV_RELWEIGHTS;
	assert_int_equal(analyze_err(a, &o, &e), KS_OK);
	o.bootstrap = -1;
	assert_int_equal(analyze_err(a, &o, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "bootstrap");
	o.bootstrap = 0;
	o.threads = 3;
	assert_int_equal(analyze_err(a, &o, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "threads");
	o.threads = 2;
	drv_acc_free(a);

	/* too few rows: p + 1 rows for p = 3 (p + 2 needed) */
	make_model(4, 3, coef, 4);
	a = fill(4, 3, 10);
	assert_int_equal(analyze_err(a, &o, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "n");
	drv_acc_free(a);
	/* enough rows, but one driver rated only 4 times */
	make_model(50, 3, coef, 5);
	for (int i = 4; i < 50; i++)
		X[2][i] = NAN;
	a = fill(50, 3, 10);
	const char *names[3] = {"speed", "friendliness", "expertise"};
	o.names = names;
	assert_int_equal(analyze_err(a, &o, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "n");
	assert_non_null(strstr(e.message, "expertise"));
	drv_acc_free(a);

	/* collinear: expertise = speed + friendliness */
	make_model(200, 3, coef, 6);
	for (int i = 0; i < 200; i++)
		X[2][i] = X[0][i] + X[1][i];
	a = fill(200, 3, 10);
	for (int m = 0; m < 2; m++) {
		o.method = (drv_method)m;
		assert_int_equal(analyze_err(a, &o, &e), KS_ERR_INVALID);
		assert_string_equal(e.field, "speed,friendliness,expertise");
		assert_non_null(strstr(e.message, "collinear"));
	}
	drv_acc_free(a);
	/* an exact copy: just the pair is named */
	make_model(200, 3, coef, 7);
	for (int i = 0; i < 200; i++)
		X[2][i] = 2 * X[1][i] + 1;
	a = fill(200, 3, 10);
	assert_int_equal(analyze_err(a, &o, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "friendliness,expertise");
	drv_acc_free(a);
	/* a constant driver, and a constant outcome */
	make_model(200, 3, coef, 8);
	for (int i = 0; i < 200; i++)
		X[0][i] = 7;
	a = fill(200, 3, 10);
	assert_int_equal(analyze_err(a, &o, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "speed");
	drv_acc_free(a);
	make_model(200, 3, coef, 9);
	for (int i = 0; i < 200; i++)
		Y[i] = 100;
	a = fill(200, 3, 10);
	o.outcome_name = "nps";
	assert_int_equal(analyze_err(a, &o, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "nps");
	drv_acc_free(a);

	drv_method m;
	assert_true(drv_method_parse("shapley", &m) && m == DRV_SHAPLEY);
	assert_true(drv_method_parse("relweights", &m) && m == DRV_RELWEIGHTS);
	assert_false(drv_method_parse("Shapley", &m));
	assert_string_equal(drv_method_name(DRV_SHAPLEY), "shapley");
}

/* Shapley with the maximum of 15 drivers, bootstrap included (the noise
 * driver makes 16): sums to R² exactly, and agrees with relative weights
 * on which driver is first. */
static void test_shapley_fifteen(void **state)
{
	(void)state;
	double coef[15];
	for (int j = 0; j < 15; j++)
		coef[j] = 0.05 * (15 - j);
	make_model(2000, 15, coef, 15);
	drv_acc *a = fill(2000, 15, 500);
	drv_result r, w;
	analyze_ok(a, DRV_SHAPLEY, 20, &r);
	analyze_ok(a, DRV_RELWEIGHTS, 0, &w);
	double s = 0;
	for (int j = 0; j < 15; j++)
		s += r.driver[j].weight;
	assert_true(fabs(s - r.r2) < 1e-12);
	assert_true(fabs(r.r2 - ols_r2(2000, 15)) < 1e-9);
	assert_int_equal(r.driver[0].rank, 1);
	assert_int_equal(w.driver[0].rank, 1);
	assert_int_equal(r.bootstrap_used, 20);
	drv_result_free(&r);
	drv_result_free(&w);
	drv_acc_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_drivers_closed_form),
		cmocka_unit_test(test_two_drivers_pairwise_missing),
		cmocka_unit_test(test_centre),
		cmocka_unit_test(test_sums_to_r2),
		cmocka_unit_test(test_known_ordering),
		cmocka_unit_test(test_messy_data),
		cmocka_unit_test(test_indefinite_repaired),
		cmocka_unit_test(test_bootstrap_deterministic),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_shapley_fifteen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
