/* represent.c — are the respondents like everyone invited? The exact
 * binomial test of one share and Pearson's chi-square test of a make-up,
 * with the chi-square tail from the incomplete gamma function. See
 * metrics.h and docs/STATISTICS.md.
 */
#include "metrics/metrics.h"

#include <math.h>

/* lgamma_r: lgamma without the global signgam (threads). */
static double metrics_lgamma(double x)
{
	int sign;
	return lgamma_r(x, &sign);
}

/* Largest n summed exactly; above it the normal approximation. */
#define METRICS_BINOM_EXACT_MAX 10000

/* log P(X = i) for X ~ Binomial(n, p0), 0 < p0 < 1, given
 * lgn = log n!, lp = log p0 and lq = log(1 - p0). */
static double metrics_binom_logpmf(int64_t i, int64_t n, double lgn, double lp, double lq)
{
	return lgn - metrics_lgamma((double)i + 1.0) - metrics_lgamma((double)(n - i) + 1.0) +
	       (double)i * lp + (double)(n - i) * lq;
}

/* Two-sided exact binomial test by the "minimum likelihood" rule, the one
 * R's binom.test uses (M. P. Fay, "Two-sided exact tests and matching
 * confidence intervals for discrete data", The R Journal 2(1), 2010, who
 * calls it "minlike"; A. Agresti, "Categorical Data Analysis", 3rd ed.
 * 2013, §1.4): the p-value is the total probability of every outcome at most as likely
 * as the one observed,
 *   p = sum over i in 0..n with P(i) <= P(k) (1 + 1e-7) of P(i),
 * the factor 1 + 1e-7 making outcomes as likely as k in exact arithmetic
 * (the mirror image when p0 = 1/2) count despite rounding. O(n) terms, so
 * above n = 10000 the normal approximation with continuity correction,
 *   z = (|k - n p0| - 1/2) / sqrt(n p0 (1 - p0)),  p = erfc(z / sqrt 2),
 * whose error there is below 0.01 in p unless n p0 (1 - p0) is small
 * (a share near 0 or 1; Agresti §1.4.2). */
double metrics_binom_two_sided_p(int64_t k, int64_t n, double p0)
{
	if (n < 0 || k < 0 || k > n || !(p0 >= 0.0 && p0 <= 1.0))
		return NAN;
	if (p0 == 0.0)
		return k == 0 ? 1.0 : 0.0;
	if (p0 == 1.0)
		return k == n ? 1.0 : 0.0;
	if (n > METRICS_BINOM_EXACT_MAX) {
		double m = (double)n * p0, sd = sqrt((double)n * p0 * (1.0 - p0));
		double dev = fabs((double)k - m) - 0.5;
		if (dev <= 0.0)
			return 1.0;
		double p = erfc(dev / (sd * sqrt(2.0)));
		return p > 1.0 ? 1.0 : p;
	}
	double lgn = metrics_lgamma((double)n + 1.0), lp = log(p0), lq = log1p(-p0);
	double lk = metrics_binom_logpmf(k, n, lgn, lp, lq) + log1p(1e-7);
	double p = 0.0;
	for (int64_t i = 0; i <= n; i++) {
		double li = metrics_binom_logpmf(i, n, lgn, lp, lq);
		if (li <= lk)
			p += exp(li);
	}
	return p > 1.0 ? 1.0 : p;
}

/* ---- chi-square ------------------------------------------------------------- */

#define METRICS_GAMMA_EPS 1e-15
#define METRICS_GAMMA_TINY 1e-300
#define METRICS_GAMMA_ITER 10000

/* The upper tail of chi-square with df degrees of freedom is the
 * regularized upper incomplete gamma function Q(df/2, x2/2) (Abramowitz &
 * Stegun 26.4.19). Q(a, x) is evaluated as in W. H. Press et al.,
 * "Numerical Recipes", 3rd ed. 2007, §6.2:
 * - for x < a + 1 the series (A&S 6.5.29)
 *     P(a, x) = e^-x x^a / Gamma(a) * sum_{n>=0} x^n / (a (a+1) ... (a+n)),
 *   Q = 1 - P;
 * - otherwise Legendre's continued fraction (A&S 6.5.31)
 *     Q(a, x) = e^-x x^a / Gamma(a) * 1/(x+1-a - 1(1-a)/(x+3-a - 2(2-a)/(x+5-a - ...))),
 *   evaluated by the modified Lentz method (Numerical Recipes §5.2).
 * Both converge fast on their side of a + 1. */
static double metrics_gamma_q(double a, double x)
{
	double front = exp(-x + a * log(x) - metrics_lgamma(a));
	if (x < a + 1.0) {
		double ap = a, del = 1.0 / a, sum = del;
		for (int i = 0; i < METRICS_GAMMA_ITER; i++) {
			ap += 1.0;
			del *= x / ap;
			sum += del;
			if (fabs(del) < fabs(sum) * METRICS_GAMMA_EPS)
				break;
		}
		double q = 1.0 - sum * front;
		return q < 0.0 ? 0.0 : q;
	}
	double b = x + 1.0 - a, c = 1.0 / METRICS_GAMMA_TINY, d = 1.0 / b, h = d;
	for (int i = 1; i <= METRICS_GAMMA_ITER; i++) {
		double an = -(double)i * ((double)i - a);
		b += 2.0;
		d = an * d + b;
		if (fabs(d) < METRICS_GAMMA_TINY)
			d = METRICS_GAMMA_TINY;
		c = b + an / c;
		if (fabs(c) < METRICS_GAMMA_TINY)
			c = METRICS_GAMMA_TINY;
		d = 1.0 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1.0) < METRICS_GAMMA_EPS)
			break;
	}
	double q = front * h;
	return q > 1.0 ? 1.0 : q;
}

double metrics_chisq_p(double x2, int df)
{
	if (df < 1 || isnan(x2))
		return NAN;
	if (x2 <= 0.0)
		return 1.0;
	if (isinf(x2))
		return 0.0;
	return metrics_gamma_q((double)df / 2.0, x2 / 2.0);
}

/* Pearson's goodness-of-fit statistic (K. Pearson, Phil. Mag. 50, 1900):
 *   x2 = sum (O_i - E_i)^2 / E_i,  E_i = n s_i,  df = k - 1,
 * over the k categories with a share s_i > 0 (shares normalised to sum 1).
 * The chi-square reference needs E_i of about 5 or more (Cochran 1954);
 * with smaller expected counts merge categories or test one share with
 * metrics_binom_two_sided_p. */
double metrics_chisq_gof_p(const int64_t *observed, const double *share, size_t k, double *x2,
			   int *df)
{
	double n = 0.0, total = 0.0;
	int cats = 0;
	for (size_t i = 0; i < k; i++) {
		n += (double)observed[i];
		if (share[i] > 0.0) {
			total += share[i];
			cats++;
		}
	}
	double x = 0.0;
	for (size_t i = 0; i < k; i++) {
		if (!(share[i] > 0.0)) {
			if (observed[i] > 0)
				x = HUGE_VAL;
			continue;
		}
		double e = n * share[i] / total, o = (double)observed[i];
		x += (o - e) * (o - e) / e;
	}
	if (x2)
		*x2 = x;
	if (df)
		*df = cats - 1;
	if (cats < 2 || n <= 0.0 || !isfinite(total))
		return NAN;
	return metrics_chisq_p(x, cats - 1);
}
