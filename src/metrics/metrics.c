/* metrics.c — NPS with its adjusted-Wald interval, grade and CES, what of
 * them may be printed (minimum n per measure, masks), their JSON and CSV,
 * and goals. See metrics.h; the formulas are collected in
 * docs/STATISTICS.md.
 *
 * Everything here works from counts (sufficient statistics), so the store
 * can aggregate in SQL and a slice of a million responses costs nothing more
 * than a slice of ten.
 */
#include "metrics/metrics.h"
#include "metrics/metrics_int.h"

#include <math.h>
#include <string.h>

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
	/* NPS = %promoters - %detractors (Reichheld 2003) = 100 (P - D) / n. */
	out->nps = 100.0 * (double)(c->promoters - c->detractors) / n;
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
double metrics_sample_var(int64_t n, int64_t sum, int64_t sumsq)
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

/* ---- the printed figures, rounded once ------------------------------------- */

/* Every ratio of counts is rounded as a ratio of integers (round.c):
 *   NPS value  = 100 (P - D) / n  to 1 decimal = (P - D) / n to 3 decimals
 *   shares     = k / n            to 2 decimals (whole percents, as fractions)
 *   means      = sum / n          to 2 decimals
 * Interval bounds and the margin are irrational and are rounded from their
 * doubles by the same rule (metrics_round_scaled). A one-answer grade has
 * the mean as its interval, and then prints the same digits as the mean. */
void metrics_figures_compute(const metrics_counts *c, metrics_figures *out)
{
	memset(out, 0, sizeof *out);
	metrics_summary s;
	metrics_compute(c, &s);
	out->has_nps = s.has_nps;
	if (s.has_nps) {
		out->nps = metrics_round_ratio_scaled(c->promoters - c->detractors, c->nps_n,
						      METRICS_NPS_DECIMALS + 2);
		out->nps_low = metrics_round_scaled(s.nps_low, METRICS_NPS_DECIMALS);
		out->nps_high = metrics_round_scaled(s.nps_high, METRICS_NPS_DECIMALS);
		out->nps_margin = metrics_round_scaled(s.nps_margin, METRICS_NPS_DECIMALS);
		out->promoters = metrics_round_ratio_scaled(c->promoters, c->nps_n, METRICS_SHARE_DECIMALS);
		out->passives = metrics_round_ratio_scaled(c->passives, c->nps_n, METRICS_SHARE_DECIMALS);
		out->detractors = metrics_round_ratio_scaled(c->detractors, c->nps_n, METRICS_SHARE_DECIMALS);
	}
	out->has_grade = s.has_grade;
	if (s.has_grade) {
		out->grade_mean = metrics_round_ratio_scaled(c->grade_sum, c->grade_n, METRICS_MEAN_DECIMALS);
		out->grade_low = out->grade_high = out->grade_mean;
		if (c->grade_n >= 2) {
			out->grade_low = metrics_round_scaled(s.grade_low, METRICS_MEAN_DECIMALS);
			out->grade_high = metrics_round_scaled(s.grade_high, METRICS_MEAN_DECIMALS);
		}
		out->grade_7plus = metrics_round_ratio_scaled(c->grade_7plus, c->grade_n, METRICS_SHARE_DECIMALS);
		out->grade_9plus = metrics_round_ratio_scaled(c->grade_9plus, c->grade_n, METRICS_SHARE_DECIMALS);
	}
	out->has_ces = s.has_ces;
	if (s.has_ces) {
		out->ces_mean = metrics_round_ratio_scaled(c->ces_sum, c->ces_n, METRICS_MEAN_DECIMALS);
		out->ces_5plus = metrics_round_ratio_scaled(c->ces_5plus, c->ces_n, METRICS_SHARE_DECIMALS);
	}
}

/* ---- what may be printed ------------------------------------------------------ */

enum { METRICS_M_NPS, METRICS_M_GRADE, METRICS_M_CES, METRICS_M_COUNT };
static const char *const metrics_measure_names[METRICS_M_COUNT] = {"nps", "grade", "ces"};

/* The one decision behind JSON and CSV: printed (vis) = has answers, its
 * own count >= min_n and show allows it; hidden = has answers, not printed. */
typedef struct metrics_vis {
	bool vis[METRICS_M_COUNT];
	bool hidden[METRICS_M_COUNT];
	bool any_vis, any_hidden;
} metrics_vis;

static metrics_vis metrics_visibility(const metrics_counts *c, int64_t min_n, const metrics_mask *show)
{
	metrics_vis v;
	memset(&v, 0, sizeof v);
	const int64_t cnt[METRICS_M_COUNT] = {c->nps_n, c->grade_n, c->ces_n};
	const bool allow[METRICS_M_COUNT] = {show ? show->nps : true, show ? show->grade : true,
					     show ? show->ces : true};
	for (int i = 0; i < METRICS_M_COUNT; i++) {
		v.vis[i] = cnt[i] > 0 && cnt[i] >= min_n && allow[i];
		v.hidden[i] = cnt[i] > 0 && !v.vis[i];
		v.any_vis |= v.vis[i];
		v.any_hidden |= v.hidden[i];
	}
	return v;
}

/* ---- JSON -------------------------------------------------------------------- */

static ks_err metrics_member_int(ks_buf *b, const char *name, int64_t v, bool comma)
{
	return buf_printf(b, "%s\"%s\":%lld", comma ? "," : "", name, (long long)v);
}

static ks_err metrics_member_fixed(ks_buf *b, const char *name, int64_t scaled, int decimals)
{
	ks_err err = buf_printf(b, ",\"%s\":", name);
	return err ? err : metrics_put_fixed(b, scaled, decimals);
}

static ks_err metrics_nps_members(ks_buf *b, const metrics_counts *c, const metrics_figures *f)
{
	ks_err err = buf_puts(b, ",\"nps\":{");
	if (!err)
		err = metrics_member_int(b, "n", c->nps_n, false);
	const char *shares[] = {"promoters", "passives", "detractors"};
	const int64_t sv[] = {f->promoters, f->passives, f->detractors};
	for (size_t i = 0; !err && i < 3; i++)
		err = metrics_member_fixed(b, shares[i], sv[i], METRICS_SHARE_DECIMALS);
	const char *names[] = {"value", "low", "high", "margin"};
	const int64_t vals[] = {f->nps, f->nps_low, f->nps_high, f->nps_margin};
	for (size_t i = 0; !err && i < 4; i++)
		err = metrics_member_fixed(b, names[i], vals[i], METRICS_NPS_DECIMALS);
	return err ? err : buf_puts(b, "}");
}

static ks_err metrics_grade_members(ks_buf *b, const metrics_counts *c, const metrics_figures *f)
{
	ks_err err = buf_puts(b, ",\"grade\":{");
	if (!err)
		err = metrics_member_int(b, "n", c->grade_n, false);
	const char *names[] = {"mean", "low", "high"};
	const int64_t vals[] = {f->grade_mean, f->grade_low, f->grade_high};
	for (size_t i = 0; !err && i < 3; i++)
		err = metrics_member_fixed(b, names[i], vals[i], METRICS_MEAN_DECIMALS);
	if (!err)
		err = metrics_member_fixed(b, "share_7plus", f->grade_7plus, METRICS_SHARE_DECIMALS);
	if (!err)
		err = metrics_member_fixed(b, "share_9plus", f->grade_9plus, METRICS_SHARE_DECIMALS);
	return err ? err : buf_puts(b, "}");
}

static ks_err metrics_ces_members(ks_buf *b, const metrics_counts *c, const metrics_figures *f)
{
	ks_err err = buf_puts(b, ",\"ces\":{");
	if (!err)
		err = metrics_member_int(b, "n", c->ces_n, false);
	if (!err)
		err = metrics_member_fixed(b, "mean", f->ces_mean, METRICS_MEAN_DECIMALS);
	if (!err)
		err = metrics_member_fixed(b, "share_5plus", f->ces_5plus, METRICS_SHARE_DECIMALS);
	return err ? err : buf_puts(b, "}");
}

/* Minimum-n rule (shared/DOMAIN.md): below the threshold of responses no
 * score leaves the process at all, not even which measures were answered;
 * above it each measure needs min_n answers of its own, and the caller's
 * mask (secondary suppression) may hide more. */
ks_err metrics_json_members_masked(ks_buf *b, const metrics_counts *c, int64_t min_n,
				   const metrics_mask *show)
{
	ks_err err = metrics_member_int(b, "n", c->n, false);
	if (!err)
		err = metrics_member_int(b, "min_n", min_n, true);
	if (err)
		return err;
	if (c->n < min_n)
		return buf_puts(b, ",\"insufficient\":true");
	metrics_vis v = metrics_visibility(c, min_n, show);
	metrics_figures f;
	metrics_figures_compute(c, &f);
	err = buf_puts(b, v.any_vis ? ",\"insufficient\":false" : ",\"insufficient\":true");
	if (!err)
		err = v.vis[METRICS_M_NPS] ? metrics_nps_members(b, c, &f) : buf_puts(b, ",\"nps\":null");
	if (!err)
		err = v.vis[METRICS_M_GRADE] ? metrics_grade_members(b, c, &f)
					     : buf_puts(b, ",\"grade\":null");
	if (!err)
		err = v.vis[METRICS_M_CES] ? metrics_ces_members(b, c, &f) : buf_puts(b, ",\"ces\":null");
	if (!err)
		err = buf_puts(b, ",\"hidden\":[");
	bool first = true;
	for (int i = 0; !err && i < METRICS_M_COUNT; i++) {
		if (!v.hidden[i])
			continue;
		err = buf_printf(b, "%s\"%s\"", first ? "" : ",", metrics_measure_names[i]);
		first = false;
	}
	return err ? err : buf_puts(b, "]");
}

ks_err metrics_json_members(ks_buf *b, const metrics_counts *c, int64_t min_n)
{
	return metrics_json_members_masked(b, c, min_n, NULL);
}

json_t *metrics_json_masked(const metrics_counts *c, int64_t min_n, const metrics_mask *show)
{
	ks_buf b;
	buf_init(&b, 4096);
	json_t *out = NULL;
	if (buf_puts(&b, "{") == KS_OK && metrics_json_members_masked(&b, c, min_n, show) == KS_OK &&
	    buf_puts(&b, "}") == KS_OK)
		out = json_loadb(b.data, b.len, 0, NULL);
	buf_free(&b);
	return out;
}

json_t *metrics_json(const metrics_counts *c, int64_t min_n)
{
	return metrics_json_masked(c, min_n, NULL);
}

/* ---- CSV ------------------------------------------------------------------------ */

const char *const metrics_csv_header =
	"n,nps_n,nps,nps_low,nps_high,promoters,passives,detractors,grade_n,grade_mean,"
	"grade_7plus,grade_9plus,ces_n,ces_mean,ces_5plus,note\r\n";

static ks_err metrics_csv_num(ks_buf *b, int64_t scaled, int decimals)
{
	ks_err err = buf_puts(b, ",");
	return err ? err : metrics_put_fixed(b, scaled, decimals);
}

/* Cells from the same figures and the same decision as the JSON; a measure
 * that is null there is empty here, its n included. */
ks_err metrics_csv_fields(ks_buf *b, const metrics_counts *c, int64_t min_n, const metrics_mask *show)
{
	if (c->n < min_n)
		return buf_printf(b, ",%lld,,,,,,,,,,,,,,,not enough responses\r\n", (long long)c->n);
	metrics_vis v = metrics_visibility(c, min_n, show);
	metrics_figures f;
	metrics_figures_compute(c, &f);
	ks_err err = buf_printf(b, ",%lld", (long long)c->n);
	if (!err && v.vis[METRICS_M_NPS]) {
		err = buf_printf(b, ",%lld", (long long)c->nps_n);
		const int64_t pts[] = {f.nps, f.nps_low, f.nps_high};
		for (size_t i = 0; !err && i < 3; i++)
			err = metrics_csv_num(b, pts[i], METRICS_NPS_DECIMALS);
		const int64_t sh[] = {f.promoters, f.passives, f.detractors};
		for (size_t i = 0; !err && i < 3; i++)
			err = metrics_csv_num(b, sh[i], METRICS_SHARE_DECIMALS);
	} else if (!err) {
		err = buf_puts(b, ",,,,,,,");
	}
	if (!err && v.vis[METRICS_M_GRADE]) {
		err = buf_printf(b, ",%lld", (long long)c->grade_n);
		if (!err)
			err = metrics_csv_num(b, f.grade_mean, METRICS_MEAN_DECIMALS);
		if (!err)
			err = metrics_csv_num(b, f.grade_7plus, METRICS_SHARE_DECIMALS);
		if (!err)
			err = metrics_csv_num(b, f.grade_9plus, METRICS_SHARE_DECIMALS);
	} else if (!err) {
		err = buf_puts(b, ",,,,");
	}
	if (!err && v.vis[METRICS_M_CES]) {
		err = buf_printf(b, ",%lld", (long long)c->ces_n);
		if (!err)
			err = metrics_csv_num(b, f.ces_mean, METRICS_MEAN_DECIMALS);
		if (!err)
			err = metrics_csv_num(b, f.ces_5plus, METRICS_SHARE_DECIMALS);
	} else if (!err) {
		err = buf_puts(b, ",,,");
	}
	if (!err)
		err = buf_puts(b, v.any_hidden ? ",hidden:" : ",");
	for (int i = 0; !err && i < METRICS_M_COUNT; i++)
		if (v.hidden[i])
			err = buf_printf(b, " %s", metrics_measure_names[i]);
	return err ? err : buf_puts(b, "\r\n");
}

/* ---- goals ------------------------------------------------------------------------ */

/* A goal is judged on the exact estimate and its 95% interval [low, high]:
 *   reached            low >= target (the whole interval is at or above it)
 *   not reached        high < target (the whole interval is below it)
 *   otherwise the interval contains the target, and the estimate decides
 *   which way it leans:
 *   likely             estimate >= target
 *   too close to call  estimate <  target ("likely not", but the data
 *                      cannot rule the target out)
 * The checks run in that order. The NPS interval is centred on the
 * adjusted-Wald estimate, not the plain one, so for a handful of answers
 * the plain estimate can lie outside it (1 promoter: 100, interval
 * [-48.5, 98.5]); the interval then decides.
 * The estimate is the exact ratio, correctly rounded to a double (one IEEE
 * division of two integers that are exact in a double), compared with the
 * target as given. Rounding is monotone and the target is itself a double,
 * so a ratio below the target never counts as reaching it unless it lies
 * within half a unit in the last place of it: an NPS of 22.964 is below 23
 * though it prints as 23.0, and a ratio of exactly 22.96 meets a target
 * typed as 22.96 (which no binary number holds exactly). */
static metrics_goal_status metrics_goal_of(double est, double low, double high, double target)
{
	if (low >= target)
		return METRICS_GOAL_REACHED;
	if (high < target)
		return METRICS_GOAL_NOT_REACHED;
	return est >= target ? METRICS_GOAL_LIKELY : METRICS_GOAL_TOO_CLOSE;
}

metrics_goal_status metrics_goal_nps(const metrics_counts *c, double target, int64_t min_n)
{
	if (c->nps_n <= 0 || c->nps_n < min_n || isnan(target))
		return METRICS_GOAL_UNKNOWN;
	metrics_summary s;
	metrics_compute(c, &s);
	double est = (double)((c->promoters - c->detractors) * 100) / (double)c->nps_n;
	return metrics_goal_of(est, s.nps_low, s.nps_high, target);
}

metrics_goal_status metrics_goal_grade(const metrics_counts *c, double target, int64_t min_n)
{
	if (c->grade_n <= 0 || c->grade_n < min_n || isnan(target))
		return METRICS_GOAL_UNKNOWN;
	metrics_summary s;
	metrics_compute(c, &s);
	double est = (double)c->grade_sum / (double)c->grade_n;
	return metrics_goal_of(est, s.grade_low, s.grade_high, target);
}

const char *metrics_goal_name(metrics_goal_status s)
{
	switch (s) {
	case METRICS_GOAL_REACHED: return "reached";
	case METRICS_GOAL_LIKELY: return "likely";
	case METRICS_GOAL_TOO_CLOSE: return "too_close_to_call";
	case METRICS_GOAL_NOT_REACHED: return "not_reached";
	default: return "insufficient_data";
	}
}
