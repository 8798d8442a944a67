/* drivers_int.h — what the files of src/drivers share and nobody else sees:
 * the accumulator's layout and the per-thread model fit.
 *
 * Layout of one group's sufficient statistics (q = p + 1 variables, index 0
 * the outcome, 1..p the drivers; T = q (q + 1) / 2, tri(j, k) the index of
 * j <= k in a packed upper triangle). Every row goes to the "complete block"
 * with its missing ratings as 0:
 *     cn          rows
 *     cs[j]       Σ v_j             (so: over the rows where j is present)
 *     cc[tri]     Σ v_j v_k         (so: over the rows where both are present)
 * and a row with missing ratings also adds its "deficit" — what the complete
 * block counted for pairs that are not both present — for each missing k:
 *     dn[k*q+j]   += 1   for every j present, and for j >= k among the missing
 *                        (a pair of two missing ratings counts once)
 *     ds[k*q+j]   += v_j (v_j over the rows where j is present but k is not)
 *     dq[k*q+j]   += v_j²
 * Then, for j != k: n_jk = cn − dn[j*q+k] − dn[k*q+j]; Σ_(j,k present) v_j =
 * cs[j] − ds[k*q+j]; Σ v_j² likewise from cc[tri(j,j)] and dq; Σ v_j v_k =
 * cc[tri(j,k)] exactly; and n_jj = cn − dn[j*q+j].
 * A row with m missing ratings costs the complete block plus 3 q m updates,
 * each a contiguous run over j — a tenth of updating every present pair.
 * Every statistic is a plain sum over rows, so groups add up and a bootstrap
 * replicate is the count-weighted sum of the groups (one dgemm).
 */
#ifndef KS_DRIVERS_INT_H
#define KS_DRIVERS_INT_H

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#include "drivers/drivers.h"

typedef struct drv_layout {
	int p, q, tri;
	int off_dn, off_ds, off_dq, off_cn, off_cs, off_cc;
	int k;       /* doubles per group */
} drv_layout;

struct drv_acc {
	drv_layout l;
	int groups;
	long rows;
	/* one group's layout is split in two arrays: the deficit block
	 * (l.off_cn doubles per group) and the complete block (l.k - l.off_cn),
	 * so that the complete blocks every complete row updates lie together
	 * (3.4 MB for 4096 groups of 12 drivers instead of spread over 20 MB:
	 * fewer cache and TLB misses in the row pass) */
	double *pair;  /* the deficit blocks: groups * l.off_cn, group-major */
	double *comp;  /* groups * (l.k - l.off_cn), group-major */
	double *shift; /* q: drv_acc_center's values (0 by default) */
	bool centred;
};

/* Copies group g's statistics in the one-group layout (l.k doubles). */
void drv_acc_group(const drv_acc *a, int g, double *out);

void drv_layout_init(drv_layout *l, int p);
static inline int drv_tri(int q, int j, int k)
{
	/* packed upper triangle, row-major: row j starts at j*q - j(j-1)/2 */
	return j * q - j * (j - 1) / 2 + (k - j);
}

/* ---- one model fit from summed statistics (model.c) ---- */

typedef enum {
	FIT_OK = 0,
	FIT_FEW,       /* pair (bad_j, bad_k) has fewer than need rows */
	FIT_NOVAR,     /* variable bad_j has no variance */
	FIT_COLLINEAR, /* drivers flagged in collinear[] */
	FIT_GSL        /* a GSL routine failed */
} fit_status;

typedef struct fit_ws {
	int p, q;
	drv_method method;
	long need;        /* rows every pair needs (p + 2) */
	double *mean, *sd; /* q: per variable, over the rows where it is present */
	long *nvar;       /* q */
	gsl_matrix *m;    /* (q+1)^2: correlations, y first, then drivers, then noise */
	gsl_matrix *a, *v, *b; /* (q+1)^2 scratch */
	gsl_vector *eval, *t1, *t2, *t3; /* q+1 */
	gsl_eigen_symmv_workspace *ew_p, *ew_q; /* sizes p and q = p + 1 */
	/* Shapley (shapley.c) */
	gsl_matrix *l;    /* (p+1)^2 Cholesky rows along the subset tree */
	double *z, *r2set; /* p+1; 2^(p+1) */
	int *idx;
	gsl_rng *rng;     /* noise driver draws */
	/* outcome of the last fit */
	int bad_j, bad_k;
	char *collinear;  /* q flags (drivers 1..p) */
	bool repaired;
	double min_eigen;
} fit_ws;

fit_ws *fit_ws_new(int p, drv_method method);
void fit_ws_free(fit_ws *w);

/* Fits the model on the summed statistics tot (one group's layout).
 * out_w[p] raw weights, out_beta[p] unstandardised slopes, *out_r2.
 * With noise_seed != 0, also adds a pure-noise driver (its correlations drawn
 * exactly as an independent normal variable's would be, given the data) and
 * writes out_vs[p] = weight_j - weight_noise in that augmented model. */
fit_status fit_model(fit_ws *w, const drv_layout *l, const double *tot, double *out_w,
		     double *out_beta, double *out_r2, unsigned long noise_seed, double *out_vs);

/* Relative weights (relweights.c) of m drivers from their correlation matrix
 * rxx (m x m, not changed) and their correlations with the outcome r (m).
 * eps[m] out, *r2 out, beta[m] standardised slopes out (may be NULL).
 * FIT_COLLINEAR with w->collinear set (offset by 1: driver i at [i+1]). */
fit_status rw_weights(fit_ws *w, const gsl_matrix *rxx, const gsl_vector *r, double *eps,
		      double *r2, double *beta);

/* Shapley / LMG decomposition (shapley.c) of m <= 16 drivers. phi[m] out;
 * sub (may be NULL): sub[m-1] out, the decomposition of the first m - 1
 * drivers alone (the model without the noise driver). */
fit_status shapley_weights(fit_ws *w, const gsl_matrix *rxx, const gsl_vector *r, double *phi,
			   double *sub);

#endif
