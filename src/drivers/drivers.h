/* drivers.h — key-driver analysis (issue 15): how much of the variance of an
 * outcome (NPS, grade, CES) each driver rating explains, with bootstrap
 * intervals. docs/DRIVERS.md has the methods, their sources and what a
 * reader may conclude.
 *
 * Rows stream into an accumulator of sufficient statistics kept per group
 * (the caller picks the group, e.g. a hash of the response or customer id
 * mod G), so no row is kept and two threads can fill two accumulators and
 * merge them:
 *
 *   drv_acc *a; drv_acc_new(p, G, &a, &err);
 *   for each row: drv_acc_add(a, group, y, x);
 *   drv_opts o; drv_opts_default(&o); o.method = DRV_SHAPLEY; ...
 *   drv_result r; drv_analyze(a, &o, &r, &err);  ... drv_result_free(&r);
 *   drv_acc_free(a);
 *
 * Missing values: y = NAN skips the row; x[i] = NAN means "no rating / not
 * applicable" and only leaves the row out of the pairs that involve driver
 * i (pairwise-complete correlations, as R's cor(use = "pairwise")): never a
 * low score.
 *
 * Memory: 8 * (3.5 (p+1)^2 + 1.5 (p+1) + 1) bytes per group — 4096 groups of
 * 12 drivers take 20 MiB, of 64 drivers 490 MiB; drv_acc_new refuses more
 * than 256 MiB (64 drivers: at most 2,048 groups).
 *
 * Linear algebra is GSL's (eigen, BLAS triangular solves, dgemm through
 * OpenBLAS). drv_analyze turns GSL's abort-on-error handler off
 * (gsl_set_error_handler_off; every GSL call's status is checked here).
 * Thread safety: an accumulator is used by one thread at a time; separate
 * accumulators and drv_analyze calls on them may run concurrently.
 */
#ifndef KS_DRIVERS_H
#define KS_DRIVERS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

#define DRV_MAX_DRIVERS 64
#define DRV_MAX_SHAPLEY 15
#define DRV_MAX_GROUPS 4096
#define DRV_MAX_BOOTSTRAP 100000

typedef struct drv_acc drv_acc;

typedef enum {
	DRV_RELWEIGHTS = 0, /* Johnson (2000) relative weights: any p <= 64 */
	DRV_SHAPLEY = 1     /* exact Shapley value / LMG decomposition of R²: p <= 15 */
} drv_method;

/* Which name the method goes by in JSON and on the command line:
 * "relweights" / "shapley". */
const char *drv_method_name(drv_method m);
/* Parses "relweights" / "shapley"; false for anything else. */
bool drv_method_parse(const char *s, drv_method *out);

/* A new, empty accumulator for p drivers (1..64) in G groups (1..4096).
 * *out belongs to the caller: drv_acc_free. Errors: KS_ERR_INVALID field
 * "drivers" (p out of range), KS_ERR_RANGE field "groups" (G out of range or
 * the memory above 256 MiB), KS_ERR_NOMEM. */
ks_err drv_acc_new(int p, int groups, drv_acc **out, ks_error *e);

/* Adds one row to group (0..G-1; taken mod G). y = NAN (or ±inf): the row is
 * skipped. x has p values, NAN (or ±inf) for a missing rating. Never fails;
 * x is only read. */
void drv_acc_add(drv_acc *a, int group, double y, const double *x);

/* Optional, before the first row: values near which the data lie (c[0] the
 * outcome, c[1..p] the drivers; e.g. their means), subtracted from every
 * value added. The sums of squares then keep their precision for data far
 * from 0 relative to their spread (a column of 1e6 ± 1 would otherwise look
 * constant); figures are unchanged and means are reported uncentred.
 * KS_ERR_INVALID field "center" after the first row or for a non-finite c. */
ks_err drv_acc_center(drv_acc *a, const double *c, ks_error *e);

/* a += b (same p and G and centre; b is only read). KS_ERR_INVALID field
 * "drivers" when the shapes differ, "center" when the centres do. */
ks_err drv_acc_merge(drv_acc *a, const drv_acc *b, ks_error *e);

/* Rows added so far (with an outcome). */
long drv_acc_rows(const drv_acc *a);
int drv_acc_drivers(const drv_acc *a);

/* NULL is fine. */
void drv_acc_free(drv_acc *a);

typedef struct drv_opts {
	drv_method method;   /* default DRV_RELWEIGHTS */
	int bootstrap;       /* replicates, 0 = none; default 1000; max DRV_MAX_BOOTSTRAP */
	uint64_t seed;       /* default 15: the same seed and data give the same figures */
	int threads;         /* 1 or 2 (default 2): the replicates' p×p work */
	const char *const *names; /* optional: p driver names for error messages
	                      * (not copied; only read during drv_analyze) */
	const char *outcome_name; /* optional, default "outcome" */
} drv_opts;

void drv_opts_default(drv_opts *o);

typedef struct drv_driver {
	long n_pairs;        /* rows with an outcome and a rating of this driver */
	double mean, sd;     /* of this driver's ratings (those rows; sd with n - 1) */
	double weight, weight_lo, weight_hi; /* raw weight in R² units; 95 % percentile
	                      * interval of the bootstrap (NAN without bootstrap) */
	double share, share_lo, share_hi;    /* weight / R² (0..1) */
	int rank, rank_lo, rank_hi;          /* 1 = largest weight; 95 % of bootstrap ranks */
	/* The weight minus the weight of an added pure-noise driver in the same
	 * model, per replicate (Tonidandel, LeBreton & Johnson 2009; Tonidandel
	 * & LeBreton 2011): a relative weight is never negative, so its own
	 * interval can never include 0; this one can. NAN without bootstrap. */
	double vs_noise, vs_noise_lo, vs_noise_hi;
	bool shown_to_matter; /* vs_noise_lo > 0 (false without bootstrap) */
	double beta, beta_lo, beta_hi; /* unstandardised full-model OLS slope:
	                      * outcome units per rating point */
} drv_driver;

typedef struct drv_result {
	long n;              /* rows with an outcome */
	int p;
	drv_method method;
	double r2, r2_lo, r2_hi;
	int bootstrap;       /* replicates asked for */
	int bootstrap_used;  /* replicates that gave a model (a resample where a
	                      * driver is constant or a pair has < 2 rows is left out) */
	int groups_used;     /* non-empty groups: the units the bootstrap resamples */
	bool repaired;       /* the pairwise correlation matrix was not positive
	                      * semi-definite and was repaired (docs/DRIVERS.md) */
	double min_eigen;    /* smallest eigenvalue of the drivers' correlation matrix */
	drv_driver *driver;  /* p entries, in the order of x; owned by the result */
} drv_result;

/* Analyses what a holds (a is only read). On success *r is filled and
 * belongs to the caller: drv_result_free(r). On failure *r is empty (safe to
 * free). Errors:
 *   KS_ERR_INVALID "drivers": p > 15 with DRV_SHAPLEY; bad options
 *                  (field "bootstrap" / "threads" for those);
 *   KS_ERR_RANGE "n": fewer than p + 2 rows with the outcome and any one
 *                  driver, or any two drivers both rated;
 *   KS_ERR_INVALID field = the driver's name (or "outcome"): no variance;
 *   KS_ERR_INVALID field = the collinear drivers' names joined by ','
 *                  (truncated to fit), message naming them all: the
 *                  drivers' correlation matrix is singular;
 *   KS_ERR_NOMEM. */
ks_err drv_analyze(const drv_acc *a, const drv_opts *o, drv_result *r, ks_error *e);

/* Frees r->driver; r is left empty. NULL is fine. */
void drv_result_free(drv_result *r);

#endif
