/* links.h — statistics linking a soft KPI (NPS, eNPS, ...) to a hard one
 * (cost to serve, attrition, ...) over a panel of org units × months
 * (issue 17, part L). Pure functions: no store, no allocation that
 * outlives a call.
 *
 * The panel: n_units rows × n_periods consecutive months, row-major; a
 * missing cell is NAN (a soft cell under its min-n, a month without a hard
 * value). A pair at lag L is (soft[u][t], hard[u][t+L]) with both present.
 *
 * Both statistics are *within-unit*: each unit's own mean (over its pairs
 * at that lag) is taken out first, so a unit that is simply bigger or
 * better on both never makes a link by itself. A unit with fewer than two
 * pairs carries no within-unit information and is left out of every count
 * (as reghdfe drops singletons).
 *
 * What the numbers do not say: they are associations. Months of one unit
 * are serially correlated; the correlation interval treats the pairs as
 * independent and is optimistic; the regression's cluster-robust standard
 * error allows any correlation within a unit, which is why the API leads
 * with the regression. docs/GOVERNANCE.md "Soft and hard: links".
 */
#ifndef KS_GOVERNANCE_LINKS_H
#define KS_GOVERNANCE_LINKS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define LINKS_MAX_LAG 6
/* Minimums below which no number is given ("not enough data"). Why these:
 * G >= 4 clusters: the cluster-robust variance is a sum over G independent
 * units, and with t(G-1) the 95% critical value at G = 4 is 3.18 — wide,
 * which is the honest price of few units; with three it is 4.30 and the
 * variance rests on two degrees of freedom. A department of four teams is
 * common (the demo's service department is one), so four is the floor.
 * With few clusters CR1 still over-rejects somewhat (Cameron & Miller
 * 2015, section VI: "few clusters"); the API says so below 10 units.
 * >= 6 distinct months, so a unit's mean is not one quarter's. >= 30
 * pairs, below which a correlation's interval spans most of -1..1. */
#define LINKS_MIN_UNITS 4
#define LINKS_MIN_PERIODS 6
#define LINKS_MIN_PAIRS 30
/* Below this many units the reply adds the few-clusters caution. */
#define LINKS_FEW_CLUSTERS 10

typedef struct links_panel {
	size_t n_units, n_periods;
	const double *soft;   /* n_units * n_periods, NAN = missing; borrowed */
	const double *hard;   /* same shape; borrowed */
} links_panel;

/* Why a result has no numbers. Appended only; names are API strings. */
typedef enum {
	LINKS_ENOUGH = 0,
	LINKS_FEW_UNITS,      /* fewer than LINKS_MIN_UNITS units with >= 2 pairs */
	LINKS_FEW_PERIODS,    /* fewer than LINKS_MIN_PERIODS distinct months */
	LINKS_FEW_PAIRS,      /* fewer than LINKS_MIN_PAIRS pairs */
	LINKS_NO_VARIATION    /* the soft or the hard KPI never moves within a unit
	                       * (within sum of squares <= 1e-12 x its sum of squares) */
} links_reason;

/* "enough", "too_few_units", "too_few_periods", "too_few_pairs",
 * "no_variation_within_units". Static string. */
const char *links_reason_name(links_reason r);

/* What every result rests on, counted after singletons are dropped. */
typedef struct links_base {
	int lag;
	size_t n_units;       /* units with >= 2 pairs */
	size_t n_periods;     /* distinct soft months t among those pairs */
	size_t n_pairs;
	links_reason reason;  /* LINKS_ENOUGH iff the numbers below are set */
	bool soft_still;      /* LINKS_NO_VARIATION: the soft KPI does not move */
	bool hard_still;      /* ... the hard KPI does not move (both may hold) */
} links_base;

/* Pooled within-unit correlation of soft(t) with hard(t+lag), with a 95%
 * Fisher-z interval. */
typedef struct links_corr {
	links_base base;
	double r, lo, hi;     /* NAN unless base.reason == LINKS_ENOUGH */
} links_corr;

/* hard(u, t+lag) = alpha_u + beta * soft(u, t) + e, within estimator,
 * CR1 cluster-robust (by unit) standard error, t with G-1 df. */
typedef struct links_fit {
	links_base base;
	double beta, se, t, p, lo, hi;  /* NAN unless base.reason == LINKS_ENOUGH;
	                                 * t = +-INFINITY when se == 0 */
	double df;                      /* G - 1 */
} links_fit;

/* Both return KS_ERR_RANGE ("lag") for a lag outside 0..LINKS_MAX_LAG and
 * KS_ERR_INVALID for a NULL panel array; "not enough data" is not an
 * error (KS_OK with base.reason set). */
ks_err links_correlation(const links_panel *p, int lag, links_corr *out, ks_error *e);
ks_err links_regression(const links_panel *p, int lag, links_fit *out, ks_error *e);

#endif
