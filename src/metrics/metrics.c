/* metrics.c — NPS with its adjusted-Wald interval, grade and CES. See metrics.h.
 *
 * Everything here works from counts (sufficient statistics), so the store
 * can aggregate in SQL and a slice of a million responses costs nothing more
 * than a slice of ten.
 */
#include "metrics/metrics.h"

#include <math.h>
#include <string.h>

/* z for a two-sided 95% interval (standard normal 0.975 quantile). */
#define METRICS_Z95 1.96

/* ---- counting ----------------------------------------------------------- */

/* NPS classes (Reichheld 2003, "The One Number You Need to Grow", HBR):
 * promoters 9-10, passives 7-8, detractors 0-6. */
static void metrics_add_nps(metrics_counts *c, int nps)
{
	if (nps < 0 || nps > 10)
		return;
	c->nps_n++;
	if (nps >= 9)
		c->promoters++;
	else if (nps >= 7)
		c->passives++;
	else
		c->detractors++;
}

static void metrics_add_grade(metrics_counts *c, int grade)
{
	if (grade < 1 || grade > 10)
		return;
	c->grade_n++;
	c->grade_sum += grade;
	c->grade_sumsq += (int64_t)grade * grade;
	if (grade >= 7)
		c->grade_7plus++;
	if (grade >= 9)
		c->grade_9plus++;
}

static void metrics_add_ces(metrics_counts *c, int ces)
{
	if (ces < 1 || ces > 7)
		return;
	c->ces_n++;
	c->ces_sum += ces;
	if (ces >= 5)
		c->ces_5plus++;
}

/* Scores outside their scale count as "not answered": callers validate
 * input, and a stray value must not skew a published figure. */
void metrics_counts_add(metrics_counts *c, int nps, int grade, int ces)
{
	c->n++;
	metrics_add_nps(c, nps);
	metrics_add_grade(c, grade);
	metrics_add_ces(c, ces);
}

/* ---- NPS ---------------------------------------------------------------- */

static double metrics_clip(double x, double lo, double hi)
{
	if (x < lo)
		return lo;
	if (x > hi)
		return hi;
	return x;
}

/* Adjusted-Wald interval for the NPS, after J. Rocks, "Interval Estimation
 * for the 'Net Promoter Score'", The American Statistician 70(4), 2016, as
 * evaluated by MeasuringU (J. Sauro, "Confidence Intervals for Net Promoter
 * Scores"): add 3 to n and 3/4 to the promoter and the detractor counts,
 *   n' = n + 3,  p = (P + 0.75)/n',  d = (D + 0.75)/n'
 *   var = (p + d - (p - d)^2) / n'          (NPS as a proportion difference)
 *   margin = 1.96 * sqrt(var) * 100         (points)
 * The interval is centred on the adjusted estimate (p - d) * 100, which is
 * what keeps it inside [-100, 100] far better than the plain Wald interval
 * for small n or extreme scores. */
double metrics_nps_adjusted_wald(int64_t promoters, int64_t detractors, int64_t n,
				 double *nps_adj, double *margin_points)
{
	double np = (double)n + 3.0;
	double p = ((double)promoters + 0.75) / np;
	double d = ((double)detractors + 0.75) / np;
	double var = (p + d - (p - d) * (p - d)) / np;
	if (var < 0.0) /* only rounding can get here: p + d >= (p - d)^2 */
		var = 0.0;
	if (nps_adj)
		*nps_adj = (p - d) * 100.0;
	if (margin_points)
		*margin_points = METRICS_Z95 * sqrt(var) * 100.0;
	return var;
}

static void metrics_compute_nps(const metrics_counts *c, metrics_summary *out)
{
	out->has_nps = c->nps_n > 0;
	if (!out->has_nps)
		return;
	double n = (double)c->nps_n;
	out->promoter_share = (double)c->promoters / n;
	out->passive_share = (double)c->passives / n;
	out->detractor_share = (double)c->detractors / n;
	/* NPS = %promoters - %detractors (Reichheld 2003). */
	out->nps = (out->promoter_share - out->detractor_share) * 100.0;
	double adj = 0.0, margin = 0.0;
	metrics_nps_adjusted_wald(c->promoters, c->detractors, c->nps_n, &adj, &margin);
	out->nps_margin = margin;
	out->nps_low = metrics_clip(adj - margin, -100.0, 100.0);
	out->nps_high = metrics_clip(adj + margin, -100.0, 100.0);
}

/* ---- grade -------------------------------------------------------------- */

/* Sample variance from sum and sum of squares:
 *   s^2 = (n * sumsq - sum^2) / (n * (n - 1))
 * evaluated in exact integers when they fit (no cancellation error), in
 * doubles otherwise. n >= 2. */
static double metrics_sample_var(int64_t n, int64_t sum, int64_t sumsq)
{
	int64_t a, b, num, den;
	if (!__builtin_mul_overflow(n, sumsq, &a) && !__builtin_mul_overflow(sum, sum, &b) &&
	    !__builtin_sub_overflow(a, b, &num) && !__builtin_mul_overflow(n, n - 1, &den))
		return num <= 0 ? 0.0 : (double)num / (double)den;
	double dn = (double)n, mean = (double)sum / dn;
	double v = ((double)sumsq - dn * mean * mean) / (dn - 1.0);
	return v < 0.0 ? 0.0 : v;
}

/* Mean of the 1-10 grade with a normal-approximation 95% interval,
 *   mean +- 1.96 * s / sqrt(n)  (s the sample standard deviation),
 * the textbook large-sample interval for a mean; with n < 2 there is no
 * spread to estimate, so the interval collapses onto the mean. Shares of
 * 7+ and 9+ grades follow the Dutch "7+/9+ klantervaringen" practice
 * (shared/DOMAIN.md). */
static void metrics_compute_grade(const metrics_counts *c, metrics_summary *out)
{
	out->has_grade = c->grade_n > 0;
	if (!out->has_grade)
		return;
	double n = (double)c->grade_n;
	out->grade_mean = (double)c->grade_sum / n;
	out->grade_low = out->grade_high = out->grade_mean;
	out->grade_7plus_share = (double)c->grade_7plus / n;
	out->grade_9plus_share = (double)c->grade_9plus / n;
	if (c->grade_n < 2)
		return;
	double sd = sqrt(metrics_sample_var(c->grade_n, c->grade_sum, c->grade_sumsq));
	double half = METRICS_Z95 * sd / sqrt(n);
	out->grade_low = out->grade_mean - half;
	out->grade_high = out->grade_mean + half;
}

/* ---- CES ---------------------------------------------------------------- */

/* Customer Effort Score, 7-point agreement with "the organisation made it
 * easy" (CEB/Gartner CES 2.0, Dixon, Freeman & Toman, "Stop Trying to
 * Delight Your Customers", HBR 2010): the mean, and the share agreeing
 * (5-7). */
static void metrics_compute_ces(const metrics_counts *c, metrics_summary *out)
{
	out->has_ces = c->ces_n > 0;
	if (!out->has_ces)
		return;
	double n = (double)c->ces_n;
	out->ces_mean = (double)c->ces_sum / n;
	out->ces_5plus_share = (double)c->ces_5plus / n;
}

void metrics_compute(const metrics_counts *c, metrics_summary *out)
{
	memset(out, 0, sizeof *out);
	metrics_compute_nps(c, out);
	metrics_compute_grade(c, out);
	metrics_compute_ces(c, out);
}

/* ---- JSON --------------------------------------------------------------- */

/* Round half away from zero to `decimals` places; never yields -0. */
static double metrics_round(double x, int decimals)
{
	double f = pow(10.0, decimals);
	double r = round(x * f) / f;
	return r == 0.0 ? 0.0 : r;
}

/* "name":value pairs, in the order the API documents. */
static ks_err metrics_member_int(ks_buf *b, const char *name, int64_t v, bool comma)
{
	return buf_printf(b, "%s\"%s\":%lld", comma ? "," : "", name, (long long)v);
}

static ks_err metrics_member_real(ks_buf *b, const char *name, double v)
{
	ks_err err = buf_printf(b, ",\"%s\":", name);
	return err ? err : buf_json_real(b, v);
}

static ks_err metrics_nps_members(ks_buf *b, const metrics_counts *c, const metrics_summary *s)
{
	if (!s->has_nps)
		return buf_puts(b, ",\"nps\":null");
	ks_err err = buf_puts(b, ",\"nps\":{");
	if (!err)
		err = metrics_member_int(b, "n", c->nps_n, false);
	const char *names[] = {"promoters", "passives", "detractors", "value", "low", "high", "margin"};
	double vals[] = {s->promoter_share, s->passive_share, s->detractor_share,
			 metrics_round(s->nps, 1), metrics_round(s->nps_low, 1),
			 metrics_round(s->nps_high, 1), metrics_round(s->nps_margin, 1)};
	for (size_t i = 0; !err && i < 7; i++)
		err = metrics_member_real(b, names[i], vals[i]);
	return err ? err : buf_puts(b, "}");
}

static ks_err metrics_grade_members(ks_buf *b, const metrics_counts *c, const metrics_summary *s)
{
	if (!s->has_grade)
		return buf_puts(b, ",\"grade\":null");
	ks_err err = buf_puts(b, ",\"grade\":{");
	if (!err)
		err = metrics_member_int(b, "n", c->grade_n, false);
	const char *names[] = {"mean", "low", "high", "share_7plus", "share_9plus"};
	double vals[] = {metrics_round(s->grade_mean, 2), metrics_round(s->grade_low, 2),
			 metrics_round(s->grade_high, 2), s->grade_7plus_share, s->grade_9plus_share};
	for (size_t i = 0; !err && i < 5; i++)
		err = metrics_member_real(b, names[i], vals[i]);
	return err ? err : buf_puts(b, "}");
}

static ks_err metrics_ces_members(ks_buf *b, const metrics_counts *c, const metrics_summary *s)
{
	if (!s->has_ces)
		return buf_puts(b, ",\"ces\":null");
	ks_err err = buf_puts(b, ",\"ces\":{");
	if (!err)
		err = metrics_member_int(b, "n", c->ces_n, false);
	if (!err)
		err = metrics_member_real(b, "mean", metrics_round(s->ces_mean, 2));
	if (!err)
		err = metrics_member_real(b, "share_5plus", s->ces_5plus_share);
	return err ? err : buf_puts(b, "}");
}

/* Minimum-n rule (shared/DOMAIN.md): below the threshold no score leaves
 * the process at all, not even a share, so a small group cannot be read
 * off the API. */
ks_err metrics_json_members(ks_buf *b, const metrics_counts *c, int64_t min_n)
{
	ks_err err = metrics_member_int(b, "n", c->n, false);
	if (!err)
		err = metrics_member_int(b, "min_n", min_n, true);
	if (err)
		return err;
	if (c->n < min_n)
		return buf_puts(b, ",\"insufficient\":true");
	metrics_summary s;
	metrics_compute(c, &s);
	err = buf_puts(b, ",\"insufficient\":false");
	if (!err)
		err = metrics_nps_members(b, c, &s);
	if (!err)
		err = metrics_grade_members(b, c, &s);
	if (!err)
		err = metrics_ces_members(b, c, &s);
	return err;
}

json_t *metrics_json(const metrics_counts *c, int64_t min_n)
{
	ks_buf b;
	buf_init(&b, 4096);
	json_t *out = NULL;
	if (buf_puts(&b, "{") == KS_OK && metrics_json_members(&b, c, min_n) == KS_OK &&
	    buf_puts(&b, "}") == KS_OK)
		out = json_loadb(b.data, b.len, 0, NULL);
	buf_free(&b);
	return out;
}

/* ---- change between two groups or periods -------------------------------- */

/* Two-sided p-value of a standard normal z: P(|Z| >= |z|) = erfc(|z|/sqrt 2). */
static double metrics_p_two_sided(double z)
{
	return erfc(fabs(z) / sqrt(2.0));
}

static void metrics_verdict_of(metrics_change *out, bool enough)
{
	if (!enough) {
		out->verdict = METRICS_INSUFFICIENT;
		return;
	}
	out->verdict = fabs(out->z) >= METRICS_Z95 ? METRICS_REAL_CHANGE : METRICS_WITHIN_NOISE;
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
	double nps_a = ((double)a->promoters - (double)a->detractors) / (double)a->nps_n * 100.0;
	double nps_b = ((double)b->promoters - (double)b->detractors) / (double)b->nps_n * 100.0;
	out->diff = nps_b - nps_a;
	out->diff_adj = adj_b - adj_a;
	out->se = sqrt(va + vb) * 100.0;
	out->z = out->se > 0 ? out->diff_adj / out->se : 0.0;
	out->p = metrics_p_two_sided(out->z);
	metrics_verdict_of(out, a->nps_n >= min_n && b->nps_n >= min_n);
}

void metrics_compare_grade(const metrics_counts *a, const metrics_counts *b, int64_t min_n,
			   metrics_change *out)
{
	memset(out, 0, sizeof *out);
	out->has = a->grade_n > 1 && b->grade_n > 1;
	if (!out->has)
		return;
	double ma = (double)a->grade_sum / (double)a->grade_n;
	double mb = (double)b->grade_sum / (double)b->grade_n;
	double va = metrics_sample_var(a->grade_n, a->grade_sum, a->grade_sumsq) / (double)a->grade_n;
	double vb = metrics_sample_var(b->grade_n, b->grade_sum, b->grade_sumsq) / (double)b->grade_n;
	out->diff = out->diff_adj = mb - ma;
	out->se = sqrt(va + vb);
	/* No spread on either side: any difference at all is certain, none is none. */
	if (out->se > 0)
		out->z = out->diff / out->se;
	else
		out->z = out->diff == 0.0 ? 0.0 : copysign(HUGE_VAL, out->diff);
	out->p = metrics_p_two_sided(out->z);
	metrics_verdict_of(out, a->grade_n >= min_n && b->grade_n >= min_n);
}

const char *metrics_verdict_name(metrics_verdict v)
{
	switch (v) {
	case METRICS_WITHIN_NOISE: return "within_noise";
	case METRICS_REAL_CHANGE: return "real_change";
	default: return "insufficient_data";
	}
}

json_t *metrics_change_json(const metrics_change *c)
{
	if (!c->has)
		return json_pack("{s:s}", "verdict", metrics_verdict_name(METRICS_INSUFFICIENT));
	return json_pack("{s:f, s:f, s:o, s:f, s:s}", "diff", metrics_round(c->diff, 2), "se",
			 metrics_round(c->se, 3), "z",
			 isfinite(c->z) ? json_real(metrics_round(c->z, 3)) : json_null(), "p",
			 metrics_round(c->p, 4), "verdict", metrics_verdict_name(c->verdict));
}
