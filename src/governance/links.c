/* links.c — within-unit lagged correlation and fixed-effects panel
 * regression with cluster-robust standard errors (issue 17, part L).
 *
 * One regressor, so the "linear algebra" is sums: the within estimator is
 * beta = Sxy / Sxx over unit-demeaned pairs (Frisch-Waugh-Lovell: the
 * same beta as the regression on unit dummies). GSL gives the t and normal
 * distributions. No allocation: every pass walks the panel unit by unit.
 *
 * tests/ref/panel_ref.py computes the same numbers independently (the
 * dummy-variable regression with numpy's least squares, its own t
 * distribution) and tests/unit/test_governance_links.c compares.
 */
#include "governance/links.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include <gsl/gsl_cdf.h>

const char *links_reason_name(links_reason r)
{
	switch (r) {
	case LINKS_ENOUGH: return "enough";
	case LINKS_FEW_UNITS: return "too_few_units";
	case LINKS_FEW_PERIODS: return "too_few_periods";
	case LINKS_FEW_PAIRS: return "too_few_pairs";
	case LINKS_NO_VARIATION: return "no_variation_within_units";
	}
	return "unknown";
}

static bool pair_at(const links_panel *p, size_t u, size_t t, int lag, double *x, double *y)
{
	size_t T = p->n_periods;
	*x = p->soft[u * T + t];
	*y = p->hard[u * T + t + (size_t)lag];
	return !isnan(*x) && !isnan(*y);
}

/* Where unit u's pairs sit: each value is taken relative to the unit's
 * first pair (x0, y0) before the mean (mx, my) of those differences is
 * taken out. Why: a KPI that never moves within a unit then gives
 * differences of exactly 0 — a plain x - mean(x) leaves rounding of order
 * 1e-17 * |x|, whose "variation" a regression happily fits (a constant
 * hard KPI came out significant in 7 of 399 panels). */
typedef struct unit_centre {
	size_t n;             /* pairs of the unit at this lag */
	double x0, y0, mx, my;
} unit_centre;

static void unit_pairs(const links_panel *p, size_t u, int lag, unit_centre *c)
{
	double sx = 0, sy = 0, x, y;
	*c = (unit_centre){0};
	for (size_t t = 0; t + (size_t)lag < p->n_periods; t++) {
		if (!pair_at(p, u, t, lag, &x, &y))
			continue;
		if (c->n++ == 0) {
			c->x0 = x;
			c->y0 = y;
		}
		sx += x - c->x0;
		sy += y - c->y0;
	}
	if (c->n) {
		c->mx = sx / (double)c->n;
		c->my = sy / (double)c->n;
	}
}

/* A pair's deviation from its unit's mean, through the first pair. */
static double centred_x(const unit_centre *c, double x)
{
	return (x - c->x0) - c->mx;
}

static double centred_y(const unit_centre *c, double y)
{
	return (y - c->y0) - c->my;
}

static ks_err check_args(const links_panel *p, int lag, ks_error *e)
{
	if (!p || (p->n_units && p->n_periods && (!p->soft || !p->hard)))
		return ks_fail(e, KS_ERR_INVALID, "panel", "the panel has no values");
	if (lag < 0 || lag > LINKS_MAX_LAG)
		return ks_fail(e, KS_ERR_RANGE, "lag", "lag must be 0..%d", LINKS_MAX_LAG);
	return KS_OK;
}

/* Months a panel may have for the one-pass count of distinct months (a
 * bitset on the stack); longer panels take the slower scan. Series are at
 * most 120 months (GOV_MAX_PERIODS). */
#define LINKS_SEEN_WORDS 64

/* Counts after dropping singleton units, and the first minimum not met. */
static void count_base(const links_panel *p, int lag, links_base *b)
{
	double x, y;
	unit_centre c;
	uint64_t seen[LINKS_SEEN_WORDS] = {0};
	bool fast = p->n_periods <= 64 * LINKS_SEEN_WORDS;
	*b = (links_base){.lag = lag};
	for (size_t u = 0; u < p->n_units; u++) {
		unit_pairs(p, u, lag, &c);
		if (c.n < 2)
			continue;
		b->n_units++;
		b->n_pairs += c.n;
		for (size_t t = 0; fast && t + (size_t)lag < p->n_periods; t++)
			if (pair_at(p, u, t, lag, &x, &y))
				seen[t / 64] |= (uint64_t)1 << (t % 64);
	}
	for (size_t t = 0; t + (size_t)lag < p->n_periods; t++) {
		if (fast) {
			b->n_periods += (seen[t / 64] >> (t % 64)) & 1;
			continue;
		}
		for (size_t u = 0; u < p->n_units; u++) {
			if (!pair_at(p, u, t, lag, &x, &y))
				continue;
			unit_pairs(p, u, lag, &c);
			if (c.n >= 2) {
				b->n_periods++;
				break;
			}
		}
	}
	if (b->n_units < LINKS_MIN_UNITS)
		b->reason = LINKS_FEW_UNITS;
	else if (b->n_periods < LINKS_MIN_PERIODS)
		b->reason = LINKS_FEW_PERIODS;
	else if (b->n_pairs < LINKS_MIN_PAIRS)
		b->reason = LINKS_FEW_PAIRS;
}

/* Within sums over eligible units: Sxx = sum (x - xbar_u)^2, Syy, Sxy,
 * and the raw sums of squares X2 = sum x^2, Y2 = sum y^2 that scale the
 * "no variation" tolerance. */
typedef struct within {
	double sxx, syy, sxy, x2, y2;
} within;

static void within_sums(const links_panel *p, int lag, within *w)
{
	double x, y;
	unit_centre c;
	*w = (within){0};
	for (size_t u = 0; u < p->n_units; u++) {
		unit_pairs(p, u, lag, &c);
		if (c.n < 2)
			continue;
		for (size_t t = 0; t + (size_t)lag < p->n_periods; t++) {
			if (!pair_at(p, u, t, lag, &x, &y))
				continue;
			double xt = centred_x(&c, x), yt = centred_y(&c, y);
			w->sxx += xt * xt;
			w->syy += yt * yt;
			w->sxy += xt * yt;
			w->x2 += x * x;
			w->y2 += y * y;
		}
	}
}

/* A KPI "moves within units" only if its within sum of squares is more
 * than rounding: S <= 1e-12 * sum of squares (a within standard deviation
 * under a millionth of the KPI's size) counts as none. Centring on the
 * first pair already makes an exactly constant unit 0; this catches units
 * whose values differ in the last bits only (a mean aggregated in another
 * order, a value stored through text). */
#define LINKS_REL_TOL 1e-12

static bool no_variation(double s, double sum_sq)
{
	return s <= LINKS_REL_TOL * sum_sq;
}

/* Marks a base with enough data as LINKS_NO_VARIATION when either KPI
 * stands still within units, saying which. */
static void check_variation(const within *w, links_base *b)
{
	if (b->reason != LINKS_ENOUGH)
		return;
	b->soft_still = no_variation(w->sxx, w->x2);
	b->hard_still = no_variation(w->syy, w->y2);
	if (b->soft_still || b->hard_still)
		b->reason = LINKS_NO_VARIATION;
}

/* The pooled within-unit correlation r = Sxy / sqrt(Sxx Syy) is the
 * partial correlation of soft and hard given the unit dummies. Its
 * interval is Fisher's: z = atanh(r), SE(z) = 1 / sqrt(N - 3 - k) for a
 * partial correlation given k variables (Fisher 1924, "The distribution of
 * the partial correlation coefficient", Metron 3, 329-332; also Anderson,
 * An Introduction to Multivariate Statistical Analysis, 3rd ed., 4.3.3:
 * the partial correlation given k variables is distributed as an ordinary
 * correlation from N - k observations). The G unit dummies replace the one
 * intercept, so k = G - 1 and
 *     SE(z) = 1 / sqrt(N - G - 2),   i.e. n_eff = N - G + 1 in 1/sqrt(n_eff - 3),
 * which is Pearson's 1/sqrt(N - 3) for one unit. 95%: z +- 1.959964 SE,
 * back through tanh. Limitation: a unit's months are serially correlated
 * (a slow NPS drifts), so the pairs are fewer independent pieces than N
 * and this interval is optimistic; the regression's cluster-robust SE is
 * the one to trust for a verdict. */
ks_err links_correlation(const links_panel *p, int lag, links_corr *out, ks_error *e)
{
	ks_err rc = check_args(p, lag, e);
	if (rc)
		return rc;
	*out = (links_corr){.r = NAN, .lo = NAN, .hi = NAN};
	count_base(p, lag, &out->base);
	within w;
	within_sums(p, lag, &w);
	check_variation(&w, &out->base);
	if (out->base.reason != LINKS_ENOUGH)
		return KS_OK;
	double r = w.sxy / sqrt(w.sxx * w.syy);
	if (r > 1)
		r = 1;
	if (r < -1)
		r = -1;
	out->r = r;
	if (fabs(r) == 1) {
		out->lo = out->hi = r;
		return KS_OK;
	}
	double se = 1.0 / sqrt((double)out->base.n_pairs - (double)out->base.n_units - 2.0);
	double zc = gsl_cdf_ugaussian_Pinv(0.975);
	double z = atanh(r);
	out->lo = tanh(z - zc * se);
	out->hi = tanh(z + zc * se);
	return KS_OK;
}

/* The within estimator and its CR1 cluster-robust variance:
 *   beta = Sxy / Sxx,  e_i = (y_i - ybar_u) - beta (x_i - xbar_u),
 *   V = c * sum_g (sum_{i in g} xt_i e_i)^2 / Sxx^2,
 *   c = G/(G-1) * (N-1)/(N-K)
 * (Cameron & Miller 2015, "A Practitioner's Guide to Cluster-Robust
 * Inference", J. Human Resources 50(2): section II on the CR1 factor,
 * which is Stata's). K = 2: the slope and the one constant Stata's
 * xtreg, fe reports; the G unit effects are not counted because they are
 * nested within the clusters (their section III on cluster-specific fixed
 * effects; areg counts them and is too wide). xtivreg2's "small" uses
 * k = 1: a factor (N-1)/(N-2) apart, under 4% at N >= 30. Inference with
 * t(G-1) rather than the normal (their section VI on few clusters).
 * The dummy-variable regression gives the same beta and the same cluster
 * sums, because each unit's residuals sum to zero within the unit — which
 * the reference (tests/ref/panel_ref.py) uses to check this independently. */
ks_err links_regression(const links_panel *p, int lag, links_fit *out, ks_error *e)
{
	ks_err rc = check_args(p, lag, e);
	if (rc)
		return rc;
	*out = (links_fit){.beta = NAN, .se = NAN, .t = NAN, .p = NAN, .lo = NAN, .hi = NAN, .df = NAN};
	count_base(p, lag, &out->base);
	within w;
	within_sums(p, lag, &w);
	/* A hard KPI that never moves within a unit has nothing to explain:
	 * beta would be 0 (or rounding) with se 0 — no verdict either way. */
	check_variation(&w, &out->base);
	if (out->base.reason != LINKS_ENOUGH)
		return KS_OK;
	double sxx = w.sxx, beta = w.sxy / w.sxx, meat = 0, x, y;
	unit_centre uc;
	for (size_t u = 0; u < p->n_units; u++) {
		unit_pairs(p, u, lag, &uc);
		if (uc.n < 2)
			continue;
		double score = 0;
		for (size_t t = 0; t + (size_t)lag < p->n_periods; t++) {
			if (!pair_at(p, u, t, lag, &x, &y))
				continue;
			double xt = centred_x(&uc, x);
			score += xt * (centred_y(&uc, y) - beta * xt);
		}
		meat += score * score;
	}
	double G = (double)out->base.n_units, N = (double)out->base.n_pairs, K = 2;
	double c = G / (G - 1) * (N - 1) / (N - K);
	double se = sqrt(c * meat) / sxx;
	out->beta = beta;
	out->se = se;
	out->df = G - 1;
	double tc = gsl_cdf_tdist_Qinv(0.025, G - 1);
	out->lo = beta - tc * se;
	out->hi = beta + tc * se;
	if (se > 0) {
		out->t = beta / se;
		out->p = 2 * gsl_cdf_tdist_Q(fabs(out->t), G - 1);
	} else {
		out->t = beta > 0 ? INFINITY : beta < 0 ? -INFINITY : NAN;
		out->p = beta != 0 ? 0 : NAN;
	}
	return KS_OK;
}
