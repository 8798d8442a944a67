/* metrics.h — the numbers of klantstem: NPS with its interval, grade, CES.
 *
 * Pure computation over counts; no I/O. The store (or the analytics index)
 * produces metrics_counts for a slice of responses; metrics_compute turns
 * them into the figures the API shows. Formulas and their sources are
 * written beside the code in metrics.c.
 */
#ifndef KS_METRICS_H
#define KS_METRICS_H

#include <stdbool.h>
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

/* ---- change between two groups or periods ------------------------------ */

typedef enum {
	METRICS_INSUFFICIENT = 0,  /* a side is below the minimum n: no verdict */
	METRICS_WITHIN_NOISE,      /* |z| < 1.96: not distinguishable from chance */
	METRICS_REAL_CHANGE        /* |z| >= 1.96: significant at the 5% level */
} metrics_verdict;

typedef struct metrics_change {
	bool has;             /* both sides have answers */
	double diff;          /* b - a, plain estimates (NPS points or grade) */
	double diff_adj;      /* b - a of the adjusted-Wald estimates (NPS only) */
	double se;            /* standard error of the difference (same unit) */
	double z;
	double p;             /* two-sided p-value under the normal approximation */
	metrics_verdict verdict;
} metrics_change;

/* NPS change from a to b: z = (NPS'b - NPS'a) / sqrt(var_a + var_b) with the
 * adjusted-Wald estimates and variances (see metrics.c). min_n applies to
 * each side's nps_n. */
void metrics_compare_nps(const metrics_counts *a, const metrics_counts *b, int64_t min_n,
			 metrics_change *out);
/* Grade mean change from a to b, Welch's two-sample z:
 * z = (mean_b - mean_a) / sqrt(s_a^2/n_a + s_b^2/n_b). */
void metrics_compare_grade(const metrics_counts *a, const metrics_counts *b, int64_t min_n,
			   metrics_change *out);
const char *metrics_verdict_name(metrics_verdict v);
json_t *metrics_change_json(const metrics_change *c);

/* JSON for the API: n, shares, nps {value, low, high, margin}, grade {...},
 * ces {...}. When c->n < min_n only n and "insufficient": true are given,
 * with no score (minimum-n rule). Caller owns the result. */
json_t *metrics_json(const metrics_counts *c, int64_t min_n);

/* The same members as metrics_json, as JSON text without the braces
 * ("\"n\":12,\"min_n\":5,..."), for writers of large replies: a breakdown
 * of thousands of groups is written as text instead of a jansson tree.
 * metrics_json is built from this text, so the two never differ. */
ks_err metrics_json_members(ks_buf *b, const metrics_counts *c, int64_t min_n);

#endif
