/* change.c — is a difference real? The z-tests between two groups or
 * periods (NPS, grade), difference in differences for an improvement
 * action, and Benjamini-Hochberg control of false discoveries over the
 * verdicts of one reply. See metrics.h and docs/STATISTICS.md.
 *
 * A change with no verdict (a side below the minimum n, hidden, or without
 * answers) keeps none of its figures: they are zeroed here and the JSON
 * prints only the verdict, because a difference, its se and z next to one
 * visible side give the hidden side back.
 */
#include "metrics/metrics.h"
#include "metrics/metrics_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Two-sided p-value of a standard normal z: P(|Z| >= |z|) = erfc(|z|/sqrt 2). */
static double metrics_p_two_sided(double z)
{
	return erfc(fabs(z) / sqrt(2.0));
}

/* Keep only "has" and the verdict. */
static void metrics_change_clear(metrics_change *c, metrics_verdict v)
{
	bool has = c->has;
	memset(c, 0, sizeof *c);
	c->has = has;
	c->verdict = v;
}

void metrics_change_suppress(metrics_change *c)
{
	metrics_change_clear(c, METRICS_INSUFFICIENT);
}

/* se and z from the variance of the difference; z = +-inf when there is no
 * spread at all (every observation says the same, so any difference is
 * certain and none is none). */
static void metrics_change_finish(metrics_change *out, double var, bool enough)
{
	out->se = sqrt(var);
	if (out->se > 0)
		out->z = out->diff_adj / out->se;
	else
		out->z = out->diff_adj == 0.0 ? 0.0 : copysign(HUGE_VAL, out->diff_adj);
	out->p = metrics_p_two_sided(out->z);
	out->p_adj = out->p;
	if (!enough) {
		metrics_change_clear(out, METRICS_INSUFFICIENT);
		return;
	}
	out->verdict = fabs(out->z) >= METRICS_Z95 ? METRICS_REAL_CHANGE : METRICS_WITHIN_NOISE;
}

/* NPS of a side as exact rationals, in points: plain 100 (P - D)/n and
 * adjusted-Wald 100 (P + 3/4 - D - 3/4)/(n + 3) = 100 (P - D)/(n + 3). */
static metrics_q metrics_nps_q(const metrics_counts *c, bool adjusted)
{
	return metrics_q_mul_int(metrics_q_of(c->promoters - c->detractors,
					      adjusted ? c->nps_n + 3 : c->nps_n), 100);
}

/* Difference of two independent NPS values (shared/DOMAIN.md; Rocks 2016,
 * "Interval Estimation for the Net Promoter Score", The American
 * Statistician 70(4); MeasuringU, "How to compare two Net Promoter
 * Scores"): each side's adjusted-Wald variance var = (p + d - (p - d)^2)/n'
 * (as a proportion difference), the variance of the difference is the sum,
 *   z = (NPS'_b - NPS'_a) / sqrt(var_a + var_b)      (both in proportions),
 * and the change is called real when |z| >= 1.96 (5% two-sided). */
void metrics_compare_nps(const metrics_counts *a, const metrics_counts *b, int64_t min_n,
			 metrics_change *out)
{
	memset(out, 0, sizeof *out);
	out->has = a->nps_n > 0 && b->nps_n > 0;
	if (!out->has)
		return;
	double adj_a, adj_b;
	double va = metrics_nps_adjusted_wald(a->promoters, a->detractors, a->nps_n, &adj_a, NULL);
	double vb = metrics_nps_adjusted_wald(b->promoters, b->detractors, b->nps_n, &adj_b, NULL);
	double nps_a = 100.0 * (double)(a->promoters - a->detractors) / (double)a->nps_n;
	double nps_b = 100.0 * (double)(b->promoters - b->detractors) / (double)b->nps_n;
	out->diff = nps_b - nps_a;
	out->diff_adj = adj_b - adj_a;
	out->diff_x100 = metrics_q_round(metrics_q_sub(metrics_nps_q(b, false), metrics_nps_q(a, false)), 2);
	out->diff_adj_x100 =
		metrics_q_round(metrics_q_sub(metrics_nps_q(b, true), metrics_nps_q(a, true)), 2);
	metrics_change_finish(out, (va + vb) * 1e4, a->nps_n >= min_n && b->nps_n >= min_n);
}

static double metrics_mean_var(const metrics_counts *c)
{
	return metrics_sample_var(c->grade_n, c->grade_sum, c->grade_sumsq) / (double)c->grade_n;
}

/* Grade mean change, Welch's two-sample statistic used as a z (B. L. Welch,
 * "The generalization of 'Student's' problem when several different
 * population variances are involved", Biometrika 34, 1947: unequal
 * variances, se^2 = s_a^2/n_a + s_b^2/n_b). With the sample sizes a
 * minimum n allows the normal reference is used instead of Welch's t. */
void metrics_compare_grade(const metrics_counts *a, const metrics_counts *b, int64_t min_n,
			   metrics_change *out)
{
	memset(out, 0, sizeof *out);
	out->has = a->grade_n > 1 && b->grade_n > 1;
	if (!out->has)
		return;
	double ma = (double)a->grade_sum / (double)a->grade_n;
	double mb = (double)b->grade_sum / (double)b->grade_n;
	out->diff = out->diff_adj = mb - ma;
	out->diff_x100 = out->diff_adj_x100 = metrics_q_round(
		metrics_q_sub(metrics_q_of(b->grade_sum, b->grade_n), metrics_q_of(a->grade_sum, a->grade_n)), 2);
	metrics_change_finish(out, metrics_mean_var(a) + metrics_mean_var(b),
			      a->grade_n >= min_n && b->grade_n >= min_n);
}

/* ---- difference in differences ------------------------------------------------ */

/* Difference in differences (Angrist & Pischke, "Mostly Harmless
 * Econometrics", 2009, ch. 5): the change of the unit where the action ran,
 * minus the change of comparable units over the same periods, which takes
 * out what moved everyone (season, a campaign):
 *   DiD = (X_ua - X_ub) - (X_ca - X_cb).
 * The four estimates come from four independent samples, so the variance
 * of the combination is the sum of the four variances (Var(sum +-X_i) =
 * sum Var(X_i) for independent X_i), z = DiD / se, two-sided normal p. It
 * estimates the effect only under the parallel-trends assumption; the
 * product says "associated with" (shared/DOMAIN.md). */
static const int metrics_did_sign[4] = {-1, 1, 1, -1}; /* ub, ua, cb, ca */

void metrics_did_nps(const metrics_counts *unit_before, const metrics_counts *unit_after,
		     const metrics_counts *cmp_before, const metrics_counts *cmp_after,
		     int64_t min_n, metrics_change *out)
{
	const metrics_counts *s[4] = {unit_before, unit_after, cmp_before, cmp_after};
	memset(out, 0, sizeof *out);
	out->has = true;
	bool enough = true;
	for (int i = 0; i < 4; i++) {
		out->has &= s[i]->nps_n > 0;
		enough &= s[i]->nps_n >= min_n;
	}
	if (!out->has)
		return;
	double var = 0.0;
	metrics_q plain = metrics_q_of(0, 1), adj = metrics_q_of(0, 1);
	for (int i = 0; i < 4; i++) {
		double a;
		var += metrics_nps_adjusted_wald(s[i]->promoters, s[i]->detractors, s[i]->nps_n, &a, NULL);
		double p = 100.0 * (double)(s[i]->promoters - s[i]->detractors) / (double)s[i]->nps_n;
		out->diff += metrics_did_sign[i] * p;
		out->diff_adj += metrics_did_sign[i] * a;
		metrics_q qp = metrics_nps_q(s[i], false), qa = metrics_nps_q(s[i], true);
		plain = metrics_did_sign[i] > 0 ? metrics_q_add(plain, qp) : metrics_q_sub(plain, qp);
		adj = metrics_did_sign[i] > 0 ? metrics_q_add(adj, qa) : metrics_q_sub(adj, qa);
	}
	out->diff_x100 = metrics_q_round(plain, 2);
	out->diff_adj_x100 = metrics_q_round(adj, 2);
	metrics_change_finish(out, var * 1e4, enough);
}

void metrics_did_grade(const metrics_counts *unit_before, const metrics_counts *unit_after,
		       const metrics_counts *cmp_before, const metrics_counts *cmp_after,
		       int64_t min_n, metrics_change *out)
{
	const metrics_counts *s[4] = {unit_before, unit_after, cmp_before, cmp_after};
	memset(out, 0, sizeof *out);
	out->has = true;
	bool enough = true;
	for (int i = 0; i < 4; i++) {
		out->has &= s[i]->grade_n > 1;
		enough &= s[i]->grade_n >= min_n;
	}
	if (!out->has)
		return;
	double var = 0.0;
	metrics_q d = metrics_q_of(0, 1);
	for (int i = 0; i < 4; i++) {
		var += metrics_mean_var(s[i]);
		out->diff += metrics_did_sign[i] * ((double)s[i]->grade_sum / (double)s[i]->grade_n);
		metrics_q m = metrics_q_of(s[i]->grade_sum, s[i]->grade_n);
		d = metrics_did_sign[i] > 0 ? metrics_q_add(d, m) : metrics_q_sub(d, m);
	}
	out->diff_adj = out->diff;
	out->diff_x100 = out->diff_adj_x100 = metrics_q_round(d, 2);
	metrics_change_finish(out, var, enough);
}

/* ---- Benjamini-Hochberg ----------------------------------------------------------- */

typedef struct metrics_rank {
	double p;
	size_t i;
} metrics_rank;

static int metrics_rank_cmp(const void *x, const void *y)
{
	const metrics_rank *a = x, *b = y;
	if (a->p != b->p)
		return a->p < b->p ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

#define METRICS_FDR_STACK 64

/* Y. Benjamini and Y. Hochberg, "Controlling the false discovery rate: a
 * practical and powerful approach to multiple testing", J. Royal
 * Statistical Society B 57(1), 1995. With the m p-values sorted,
 * p(1) <= ... <= p(m), the step-up procedure rejects H(1..k) for the
 * largest k with p(k) <= k q / m. Its adjusted p-values (the smallest q at
 * which each is rejected) are
 *   p_adj(i) = min(1, min over j >= i of m p(j) / j),
 * a running minimum from the largest p down, so they keep the order of
 * the p-values; ties get the same value. p_adj(i) <= q iff H(i) is
 * rejected at level q. */
size_t metrics_fdr_bh(const double *p, size_t n, double q, double *p_adj)
{
	if (n == 0)
		return 0;
	metrics_rank stack[METRICS_FDR_STACK];
	metrics_rank *r = n <= METRICS_FDR_STACK ? stack : malloc(n * sizeof *r);
	if (r == NULL) {
		/* Out of memory: claim nothing (no false discovery either). */
		for (size_t i = 0; i < n; i++)
			p_adj[i] = 1.0;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		r[i].p = isnan(p[i]) ? 1.0 : p[i];
		r[i].i = i;
	}
	qsort(r, n, sizeof *r, metrics_rank_cmp);
	double m = 1.0;
	size_t hits = 0;
	for (size_t k = n; k-- > 0;) {
		double v = (double)n / (double)(k + 1) * r[k].p;
		if (v < m)
			m = v;
		p_adj[r[k].i] = m;
		hits += m <= q;
	}
	if (r != stack)
		free(r);
	return hits;
}

static bool metrics_change_counts(const metrics_change *c)
{
	return c != NULL && c->has &&
	       (c->verdict == METRICS_WITHIN_NOISE || c->verdict == METRICS_REAL_CHANGE);
}

void metrics_changes_fdr(metrics_change *const *chs, size_t n, double q)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		m += metrics_change_counts(chs[i]);
	if (m == 0)
		return;
	double stack[METRICS_FDR_STACK];
	double *p = m <= METRICS_FDR_STACK ? stack : malloc(m * sizeof *p);
	size_t k = 0;
	for (size_t i = 0; p && i < n; i++)
		if (metrics_change_counts(chs[i]))
			p[k++] = chs[i]->p;
	if (p)
		metrics_fdr_bh(p, m, q, p);
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!metrics_change_counts(chs[i]))
			continue;
		/* Out of memory: p_adj 1 for all, no discoveries. */
		chs[i]->p_adj = p ? p[k++] : 1.0;
		chs[i]->fdr_q = q;
		chs[i]->verdict = chs[i]->p_adj <= q ? METRICS_REAL_CHANGE : METRICS_WITHIN_NOISE;
	}
	if (p != stack)
		free(p);
}

/* ---- names and JSON ------------------------------------------------------------------ */

const char *metrics_verdict_name(metrics_verdict v)
{
	switch (v) {
	case METRICS_WITHIN_NOISE: return "within_noise";
	case METRICS_REAL_CHANGE: return "real_change";
	case METRICS_NO_PREVIOUS: return "no_previous_period";
	default: return "insufficient_data";
	}
}

static ks_err metrics_change_fixed(ks_buf *b, const char *name, double v, int decimals)
{
	ks_err err = buf_printf(b, ",\"%s\":", name);
	if (!err && !isfinite(v))
		return buf_puts(b, "null");
	return err ? err : metrics_put_fixed(b, metrics_round_scaled(v, decimals), decimals);
}

ks_err metrics_change_members(ks_buf *b, const metrics_change *c)
{
	metrics_verdict v = c->verdict;
	if (v != METRICS_NO_PREVIOUS && (!c->has || v == METRICS_INSUFFICIENT))
		v = METRICS_INSUFFICIENT;
	if (v == METRICS_NO_PREVIOUS || v == METRICS_INSUFFICIENT)
		return buf_printf(b, "\"verdict\":\"%s\"", metrics_verdict_name(v));
	ks_err err = buf_puts(b, "\"diff\":");
	if (!err)
		err = metrics_put_fixed(b, c->diff_adj_x100, 2);
	if (!err)
		err = buf_puts(b, ",\"diff_plain\":");
	if (!err)
		err = metrics_put_fixed(b, c->diff_x100, 2);
	if (!err)
		err = metrics_change_fixed(b, "se", c->se, 3);
	if (!err)
		err = metrics_change_fixed(b, "z", c->z, 3);
	if (!err)
		err = metrics_change_fixed(b, "p", c->p, 4);
	if (!err && c->fdr_q > 0) {
		err = metrics_change_fixed(b, "p_adj", c->p_adj, 4);
		if (!err)
			err = metrics_change_fixed(b, "fdr_q", c->fdr_q, 4);
	}
	return err ? err : buf_printf(b, ",\"verdict\":\"%s\"", metrics_verdict_name(v));
}

json_t *metrics_change_json(const metrics_change *c)
{
	ks_buf b;
	buf_init(&b, 1024);
	json_t *out = NULL;
	if (buf_puts(&b, "{") == KS_OK && metrics_change_members(&b, c) == KS_OK &&
	    buf_puts(&b, "}") == KS_OK)
		out = json_loadb(b.data, b.len, 0, NULL);
	buf_free(&b);
	return out;
}
