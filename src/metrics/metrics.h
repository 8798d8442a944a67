/* metrics.h — the numbers of klantstem: NPS with its interval, grade, CES,
 * the change tests between groups or periods, goals, and the tests of
 * representativeness.
 *
 * Pure computation over counts; no I/O. The store (or the analytics index)
 * produces metrics_counts for a slice of responses; metrics_compute turns
 * them into the figures the API shows. Formulas and their sources are
 * written beside the code (metrics.c, round.c, change.c, represent.c) and
 * collected in docs/STATISTICS.md.
 *
 * One rounding rule everywhere: half away from zero, applied once, to the
 * exact value (a ratio of counts is rounded as a ratio of integers, never
 * through a double), and never printed as "-0". JSON and CSV are written
 * from the same rounded integers (metrics_figures), so they show the same
 * digits.
 */
#ifndef KS_METRICS_H
#define KS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"

/* Sufficient statistics of a slice of responses. */
typedef struct metrics_counts {
	int64_t n;            /* responses in the slice */
	int64_t nps_n;        /* responses with an NPS answer */
	int64_t promoters;    /* 9..10 */
	int64_t passives;     /* 7..8 */
	int64_t detractors;   /* 0..6 */
	int64_t grade_n;
	int64_t grade_sum;
	int64_t grade_sumsq;
	int64_t grade_7plus;
	int64_t grade_9plus;
	int64_t ces_n;
	int64_t ces_sum;
	int64_t ces_5plus;    /* 5..7 */
} metrics_counts;

/* Add one response's answers (-1 = not answered). */
void metrics_counts_add(metrics_counts *c, int nps, int grade, int ces);

/* Unrounded figures (doubles), for sorting and further arithmetic. What is
 * printed comes from metrics_figures below, never from these. */
typedef struct metrics_summary {
	bool has_nps;              /* nps_n > 0 */
	double promoter_share;     /* 0..1 of nps_n */
	double passive_share;
	double detractor_share;
	double nps;                /* -100..100 */
	double nps_low, nps_high;  /* adjusted-Wald 95% interval, clipped to [-100,100] */
	double nps_margin;         /* half-width in points, before clipping */
	bool has_grade;
	double grade_mean;
	double grade_low, grade_high;  /* t-free normal 95% interval of the mean; equal to mean when n < 2 */
	double grade_7plus_share;
	double grade_9plus_share;
	bool has_ces;
	double ces_mean;
	double ces_5plus_share;
} metrics_summary;

void metrics_compute(const metrics_counts *c, metrics_summary *out);

/* The adjusted-Wald NPS interval on its own (see metrics.c for the source).
 * Returns the variance of the NPS as a proportion difference (not points). */
double metrics_nps_adjusted_wald(int64_t promoters, int64_t detractors, int64_t n,
				 double *nps_adj, double *margin_points);

/* ---- rounding (round.c) ---------------------------------------------------- */

/* Decimal places of each printed figure. */
#define METRICS_NPS_DECIMALS 1    /* NPS value, low, high, margin (points) */
#define METRICS_MEAN_DECIMALS 2   /* grade and CES mean, grade low/high */
#define METRICS_SHARE_DECIMALS 2  /* every share, as a fraction: 0.47 = 47% */

/* num/den rounded half away from zero to `decimals` places (0..18, clamped),
 * returned times 10^decimals: (3, 16, 3) -> 188 (0.1875 -> 0.188),
 * (-3, 16, 3) -> -188, (1, 8, 2) -> 13. Computed in exact integers; when
 * num * 10^decimals overflows int64 it falls back to long double (only
 * counts beyond 10^14 get there). den == 0 gives 0. */
int64_t metrics_round_ratio_scaled(int64_t num, int64_t den, int decimals);

/* The same rule for a value that is not a ratio of counts (interval bounds,
 * margins, z, p): x * 10^decimals rounded half away from zero, clamped to
 * the int64 range; NaN gives 0. */
int64_t metrics_round_scaled(double x, int decimals);

/* Append a rounded number as text, exactly: scaled / 10^decimals with
 * `decimals` digits after the point ("18.8", "-3.0", "0.47", "0.0"); never
 * "-0.0" (a scaled 0 has no sign). decimals 0 prints an integer. The text
 * is valid JSON and CSV. */
ks_err metrics_put_fixed(ks_buf *b, int64_t scaled, int decimals);

/* Every printed figure of a slice, rounded once (value * 10^decimals with
 * the decimals above). Ratios of counts (value, shares, means) are rounded
 * exactly; interval bounds and the margin from their doubles. */
typedef struct metrics_figures {
	bool has_nps, has_grade, has_ces;  /* the measure has answers */
	int64_t nps, nps_low, nps_high, nps_margin;       /* METRICS_NPS_DECIMALS */
	int64_t promoters, passives, detractors;          /* shares, METRICS_SHARE_DECIMALS */
	int64_t grade_mean, grade_low, grade_high;        /* METRICS_MEAN_DECIMALS */
	int64_t grade_7plus, grade_9plus;                 /* shares */
	int64_t ces_mean;                                 /* METRICS_MEAN_DECIMALS */
	int64_t ces_5plus;                                /* share */
} metrics_figures;

void metrics_figures_compute(const metrics_counts *c, metrics_figures *out);

/* ---- what may be printed (metrics.c) ---------------------------------------- */

/* Which measures may be printed; true = may be. */
typedef struct metrics_mask {
	bool nps, grade, ces;
} metrics_mask;


/* JSON members of a slice, as text without the braces, for writers of large
 * replies:
 *   n < min_n:  "n":4,"min_n":5,"insufficient":true            (nothing else)
 *   otherwise:  "n":12,"min_n":5,"insufficient":false,
 *               "nps":{"n":..,"promoters":0.47,"passives":0.33,"detractors":0.2,
 *                      "value":26.7,"low":..,"high":..,"margin":..} | null,
 *               "grade":{"n":..,"mean":7.83,"low":..,"high":..,
 *                        "share_7plus":0.8,"share_9plus":0.4} | null,
 *               "ces":{"n":..,"mean":4.5,"share_5plus":0.5} | null,
 *               "hidden":["grade"]
 * A measure is printed only when it has answers, its own count of answers
 * is >= min_n, and show (NULL = no further restriction) allows it; else it
 * is null. "hidden" lists, in the order nps, grade, ces, the measures that
 * have answers but are not printed (whether by min_n or by show: the reply
 * does not say which). "insufficient" is true when no measure is printed.
 * Shares are fractions with 2 decimals (whole percents). */
ks_err metrics_json_members_masked(ks_buf *b, const metrics_counts *c, int64_t min_n,
				   const metrics_mask *show);
/* The same as a jansson object (parsed from that text, so the two never
 * differ). Caller owns the result; NULL when out of memory. */
json_t *metrics_json_masked(const metrics_counts *c, int64_t min_n, const metrics_mask *show);

/* metrics_json_masked / metrics_json_members_masked with show = NULL: the
 * per-measure minimum-n rule alone. */
json_t *metrics_json(const metrics_counts *c, int64_t min_n);
ks_err metrics_json_members(ks_buf *b, const metrics_counts *c, int64_t min_n);

/* CSV: the header of the measure columns (no leading comma, ends in CRLF):
 * n,nps_n,nps,nps_low,nps_high,promoters,passives,detractors,grade_n,
 * grade_mean,grade_7plus,grade_9plus,ces_n,ces_mean,ces_5plus,note */
extern const char *const metrics_csv_header;

/* The measure columns of one slice, after the key columns: begins with a
 * comma, ends with CRLF. The same decision and the same digits as
 * metrics_json_members_masked: a measure's cells (its n included) are empty
 * where the JSON has null. note: "not enough responses" when n < min_n (only
 * n is given), "hidden: grade ces" naming the hidden measures (as JSON
 * "hidden"), else empty. */
ks_err metrics_csv_fields(ks_buf *b, const metrics_counts *c, int64_t min_n,
			  const metrics_mask *show);

/* ---- change between two groups or periods (change.c) ------------------------ */

typedef enum {
	METRICS_INSUFFICIENT = 0,  /* a side is below the minimum n (or hidden): no verdict */
	METRICS_WITHIN_NOISE,      /* not distinguishable from chance */
	METRICS_REAL_CHANGE,       /* |z| >= 1.96 (5% two-sided), or BH-adjusted p <= q */
	METRICS_NO_PREVIOUS        /* a trend point whose previous period had no data
				    * (set by the caller: memset 0, then this verdict) */
} metrics_verdict;

typedef struct metrics_change {
	bool has;             /* both sides have answers (grade: at least 2 each) */
	double diff;          /* b - a of the plain estimates (NPS points or grade) */
	double diff_adj;      /* b - a of the estimates z uses: adjusted-Wald for NPS,
			       * equal to diff for the grade. JSON "diff" is this one. */
	double se;            /* standard error of the difference (same unit) */
	double z;             /* diff_adj / se */
	double p;             /* two-sided p-value under the normal approximation */
	metrics_verdict verdict;
	double p_adj;         /* Benjamini-Hochberg adjusted p (metrics_changes_fdr), else p */
	double fdr_q;         /* the false-discovery rate applied; 0 = none */
	/* Exact rounded differences, filled by the functions below (the JSON
	 * prints these): diff_adj and diff times 100 (2 decimals). */
	int64_t diff_adj_x100, diff_x100;
} metrics_change;

/* NPS change from a to b: z = (NPS'b - NPS'a) / sqrt(var_a + var_b) with the
 * adjusted-Wald estimates and variances (see change.c). min_n applies to
 * each side's nps_n. */
void metrics_compare_nps(const metrics_counts *a, const metrics_counts *b, int64_t min_n,
			 metrics_change *out);
/* Grade mean change from a to b, Welch's two-sample z:
 * z = (mean_b - mean_a) / sqrt(s_a^2/n_a + s_b^2/n_b). */
void metrics_compare_grade(const metrics_counts *a, const metrics_counts *b, int64_t min_n,
			   metrics_change *out);
/* Make a change print nothing but "insufficient_data" (for a side hidden by
 * a mask, i.e. secondary suppression: a change must not reveal it). */
void metrics_change_suppress(metrics_change *c);
/* "insufficient_data", "within_noise", "real_change", "no_previous_period". */
const char *metrics_verdict_name(metrics_verdict v);

/* JSON of a change. Caller owns the result (NULL when out of memory).
 *   no verdict (!has, insufficient, no previous period): {"verdict":"insufficient_data"}
 *     -- nothing else, so no figure of a hidden side can be solved for;
 *   otherwise: {"diff":53.4,"diff_plain":55.0,"se":10.957,"z":4.873,"p":0.0,
 *               "verdict":"real_change"}
 *     diff = the difference z tests (adjusted-Wald for NPS), 2 decimals;
 *     diff_plain = plain difference of the estimates, 2 decimals;
 *     se, z 3 decimals (z null when infinite), p 4 decimals;
 *   after metrics_changes_fdr also "p_adj" (4 decimals) and "fdr_q". */
json_t *metrics_change_json(const metrics_change *c);
/* The same members as text without braces, for text writers. */
ks_err metrics_change_members(ks_buf *b, const metrics_change *c);

/* Benjamini & Hochberg (1995) adjusted p-values, step-up:
 *   p_adj(i) = min(1, min over j with p(j) >= p(i) of n * p(j) / rank(j))
 * (as R's p.adjust(p, "BH")); monotone in p. p and p_adj may be the same
 * array. NaN p counts as 1. Returns how many p_adj are <= q (the
 * discoveries at false-discovery rate q). */
size_t metrics_fdr_bh(const double *p, size_t n, double q, double *p_adj);
/* BH over the verdicts of one reply: the changes that have a verdict (not
 * insufficient, not no-previous-period) form the family; each gets p_adj and
 * fdr_q = q, and its verdict becomes real_change iff p_adj <= q, else
 * within_noise. The others are left as they are. */
void metrics_changes_fdr(metrics_change *const *chs, size_t n, double q);

/* Difference in differences of the NPS (an improvement action's effect
 * against comparable units): estimate = (NPS'ua - NPS'ub) - (NPS'ca - NPS'cb)
 * with adjusted-Wald estimates, se = sqrt of the sum of the four variances
 * (independent samples), z, p and verdict as metrics_compare_nps; diff is
 * the same combination of the plain estimates. Insufficient when any of the
 * four has fewer than min_n NPS answers; has = all four have answers. */
void metrics_did_nps(const metrics_counts *unit_before, const metrics_counts *unit_after,
		     const metrics_counts *cmp_before, const metrics_counts *cmp_after,
		     int64_t min_n, metrics_change *out);
/* The same for the grade mean, with Welch-style variances s^2/n of each of
 * the four means; has = all four have at least 2 grades. */
void metrics_did_grade(const metrics_counts *unit_before, const metrics_counts *unit_after,
		       const metrics_counts *cmp_before, const metrics_counts *cmp_after,
		       int64_t min_n, metrics_change *out);

/* ---- goals (metrics.c) ---------------------------------------------------------- */

typedef enum {
	METRICS_GOAL_REACHED,      /* the interval's lower bound >= target */
	METRICS_GOAL_LIKELY,       /* estimate >= target, but the interval includes it */
	METRICS_GOAL_TOO_CLOSE,    /* estimate < target, interval's upper bound >= target
				    * ("likely not, but too close to call") */
	METRICS_GOAL_NOT_REACHED,  /* the interval's upper bound < target */
	METRICS_GOAL_UNKNOWN       /* fewer than min_n answers (or none) */
} metrics_goal_status;

/* The exact estimate (not its rounded text) and the 95% interval of the
 * summary against the target: NPS points, adjusted-Wald interval. An NPS of
 * 22.964 against 23 is not reached, though it prints as 23.0. */
metrics_goal_status metrics_goal_nps(const metrics_counts *c, double target, int64_t min_n);
/* The same for the grade mean and its normal interval. */
metrics_goal_status metrics_goal_grade(const metrics_counts *c, double target, int64_t min_n);
/* "reached", "likely", "too_close_to_call", "not_reached", "insufficient_data". */
const char *metrics_goal_name(metrics_goal_status s);

/* ---- representativeness (represent.c) ---------------------------------------- */

/* Exact two-sided binomial p-value of k successes in n trials under p0,
 * by the method of R's binom.test: the sum of P(X = i) over every i with
 * P(X = i) <= P(X = k) * (1 + 1e-7). For n > 10000 a normal approximation
 * with continuity correction, erfc((|k - n p0| - 1/2) / sqrt(2 n p0 (1-p0))).
 * Capped at 1; NaN for k < 0, k > n or p0 outside [0, 1]. */
double metrics_binom_two_sided_p(int64_t k, int64_t n, double p0);

/* Upper tail P(X >= x2) of the chi-square distribution with df degrees of
 * freedom: the regularized upper incomplete gamma Q(df/2, x2/2), by its
 * series or continued fraction. 1 for x2 <= 0; NaN for df < 1 or NaN x2. */
double metrics_chisq_p(double x2, int df);

/* Pearson's chi-square goodness of fit of observed counts against expected
 * shares (respondents against everyone invited): x2 = sum (O - E)^2 / E with
 * E = n * share; df = categories with share > 0, minus 1. Returns the
 * p-value (metrics_chisq_p), and x2 and df when asked. A count in a category
 * of share 0 gives x2 = inf, p = 0. NaN when k < 2 usable categories or n = 0. */
double metrics_chisq_gof_p(const int64_t *observed, const double *share, size_t k, double *x2,
			   int *df);

#endif
