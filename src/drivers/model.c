/* model.c — one fit of the key-driver model from summed statistics: the
 * pairwise-complete correlation matrix, its checks and repair, the noise
 * driver of the significance interval, and the method's weights.
 *
 * Pairwise-complete Pearson correlation of variables j and k over the n_jk
 * rows where both are present (as R's cor(use = "pairwise.complete.obs")):
 *   r_jk = (Σab − Σa Σb / n) / sqrt((Σa² − (Σa)²/n) (Σb² − (Σb)²/n)).
 * A matrix built pair by pair from different rows need not be positive
 * semi-definite (Wothke 1993, "Nonpositive definite matrices in structural
 * modeling"). When the smallest eigenvalue of the full (outcome + drivers)
 * matrix is below -1e-10 it is repaired by eigenvalue clipping: negative
 * eigenvalues are raised to 1e-6 and the result is rescaled to a unit
 * diagonal (the first step of Higham 2002, "Computing the nearest
 * correlation matrix", IMA J. Numer. Anal. 22) — r->repaired says so.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>

#include "drivers/drivers_int.h"

#define NEG_EIGEN_TOL (-1e-10)
#define CLIP_FLOOR 1e-6

fit_ws *fit_ws_new(int p, drv_method method)
{
	fit_ws *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	int q = p + 1, n = q + 1;
	w->p = p;
	w->q = q;
	w->method = method;
	w->need = p + 2;
	w->mean = calloc((size_t)q, sizeof(double));
	w->sd = calloc((size_t)q, sizeof(double));
	w->nvar = calloc((size_t)q, sizeof(long));
	w->collinear = calloc((size_t)n, 1);
	w->m = gsl_matrix_alloc((size_t)n, (size_t)n);
	w->a = gsl_matrix_alloc((size_t)n, (size_t)n);
	w->v = gsl_matrix_alloc((size_t)n, (size_t)n);
	w->b = gsl_matrix_alloc((size_t)n, (size_t)n);
	w->eval = gsl_vector_alloc((size_t)n);
	w->t1 = gsl_vector_alloc((size_t)n);
	w->t2 = gsl_vector_alloc((size_t)n);
	w->t3 = gsl_vector_alloc((size_t)n);
	w->ew_p = gsl_eigen_symmv_alloc((size_t)p);
	w->ew_q = gsl_eigen_symmv_alloc((size_t)q);
	w->rng = gsl_rng_alloc(gsl_rng_mt19937);
	bool ok = w->mean && w->sd && w->nvar && w->collinear && w->m && w->a && w->v && w->b &&
		  w->eval && w->t1 && w->t2 && w->t3 && w->ew_p && w->ew_q && w->rng;
	if (ok && method == DRV_SHAPLEY) {
		/* p + 1 drivers with the noise driver: 2^(p+1) subsets */
		w->l = gsl_matrix_alloc((size_t)q, (size_t)q);
		w->z = calloc((size_t)q, sizeof(double));
		w->idx = calloc((size_t)q, sizeof(int));
		w->r2set = calloc((size_t)1 << q, sizeof(double));
		ok = w->l && w->z && w->idx && w->r2set;
	}
	if (!ok) {
		fit_ws_free(w);
		return NULL;
	}
	return w;
}

void fit_ws_free(fit_ws *w)
{
	if (!w)
		return;
	free(w->mean);
	free(w->sd);
	free(w->nvar);
	free(w->collinear);
	if (w->m)
		gsl_matrix_free(w->m);
	if (w->a)
		gsl_matrix_free(w->a);
	if (w->v)
		gsl_matrix_free(w->v);
	if (w->b)
		gsl_matrix_free(w->b);
	if (w->l)
		gsl_matrix_free(w->l);
	if (w->eval)
		gsl_vector_free(w->eval);
	if (w->t1)
		gsl_vector_free(w->t1);
	if (w->t2)
		gsl_vector_free(w->t2);
	if (w->t3)
		gsl_vector_free(w->t3);
	if (w->ew_p)
		gsl_eigen_symmv_free(w->ew_p);
	if (w->ew_q)
		gsl_eigen_symmv_free(w->ew_q);
	if (w->rng)
		gsl_rng_free(w->rng);
	free(w->z);
	free(w->idx);
	free(w->r2set);
	free(w);
}

/* Variance sum Σv² − (Σv)²/n, or -1 when it is zero up to rounding (a
 * constant variable: the difference is then a few ulps of Σv²). */
static double centred_ss(double n, double s, double ss)
{
	double v = ss - s * s / n;
	return v > 1e-11 * ss && v > 0 ? v : -1;
}

/* The correlation matrix (top-left q x q of w->m), means and sds. */
static fit_status correlations(fit_ws *w, const drv_layout *l, const double *t)
{
	int q = l->q;
	const double *dn = t + l->off_dn, *ds = t + l->off_ds, *dq = t + l->off_dq;
	const double cn = t[l->off_cn], *cs = t + l->off_cs, *cc = t + l->off_cc;
	for (int j = 0; j < q; j++) {
		int tj = drv_tri(q, j, j);
		double nj = cn - dn[j * q + j], sj = cs[j], qj = cc[tj];
		w->nvar[j] = (long)nj;
		if (nj < (double)w->need) {
			w->bad_j = j, w->bad_k = j;
			return FIT_FEW;
		}
		double v = centred_ss(nj, sj, qj);
		if (v < 0) {
			w->bad_j = j, w->bad_k = -1;
			return FIT_NOVAR;
		}
		w->mean[j] = sj / nj;
		w->sd[j] = sqrt(v / (nj - 1));
		gsl_matrix_set(w->m, (size_t)j, (size_t)j, 1.0);
	}
	for (int j = 0; j < q; j++)
		for (int k = j + 1; k < q; k++) {
			double njk = cn - dn[j * q + k] - dn[k * q + j];
			if (njk < (double)w->need) {
				w->bad_j = j, w->bad_k = k;
				return FIT_FEW;
			}
			/* sums of j over the rows where both are present: all of j's
			 * rows less those where k is missing (drivers_int.h) */
			double sj = cs[j] - ds[k * q + j], sk = cs[k] - ds[j * q + k];
			double vj = centred_ss(njk, sj, cc[drv_tri(q, j, j)] - dq[k * q + j]);
			double vk = centred_ss(njk, sk, cc[drv_tri(q, k, k)] - dq[j * q + k]);
			if (vj < 0 || vk < 0) {
				/* constant among the rows that rate both */
				w->bad_j = vj < 0 ? j : k, w->bad_k = vj < 0 ? k : j;
				return FIT_NOVAR;
			}
			double r = (cc[drv_tri(q, j, k)] - sj * sk / njk) / sqrt(vj * vk);
			r = r > 1 ? 1 : r < -1 ? -1 : r;
			gsl_matrix_set(w->m, (size_t)j, (size_t)k, r);
			gsl_matrix_set(w->m, (size_t)k, (size_t)j, r);
		}
	return FIT_OK;
}

/* Eigen-decomposition of the top-left n x n of w->m into w->eval, w->v
 * (w->a is destroyed). */
static fit_status eigen_m(fit_ws *w, size_t n, gsl_eigen_symmv_workspace *ew)
{
	gsl_matrix_view a = gsl_matrix_submatrix(w->a, 0, 0, n, n);
	gsl_matrix_const_view m = gsl_matrix_const_submatrix(w->m, 0, 0, n, n);
	gsl_matrix_view v = gsl_matrix_submatrix(w->v, 0, 0, n, n);
	gsl_vector_view ev = gsl_vector_subvector(w->eval, 0, n);
	gsl_matrix_memcpy(&a.matrix, &m.matrix);
	return gsl_eigen_symmv(&a.matrix, &ev.vector, &v.matrix, ew) ? FIT_GSL : FIT_OK;
}

/* Clip negative eigenvalues to CLIP_FLOOR and rescale to a unit diagonal:
 * M' = D^-1/2 V max(Λ, floor) V' D^-1/2 (see the header comment). */
static void repair(fit_ws *w, size_t n)
{
	gsl_matrix_view a = gsl_matrix_submatrix(w->a, 0, 0, n, n);
	gsl_matrix_view v = gsl_matrix_submatrix(w->v, 0, 0, n, n);
	gsl_matrix_view m = gsl_matrix_submatrix(w->m, 0, 0, n, n);
	gsl_matrix_memcpy(&a.matrix, &v.matrix);
	for (size_t k = 0; k < n; k++) {
		double lam = gsl_vector_get(w->eval, k);
		gsl_vector_view col = gsl_matrix_column(&a.matrix, k);
		gsl_vector_scale(&col.vector, lam < CLIP_FLOOR ? CLIP_FLOOR : lam);
	}
	gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, &a.matrix, &v.matrix, 0.0, &m.matrix);
	for (size_t j = 0; j < n; j++)
		gsl_vector_set(w->t1, j, 1.0 / sqrt(gsl_matrix_get(&m.matrix, j, j)));
	for (size_t j = 0; j < n; j++)
		for (size_t k = 0; k < n; k++)
			gsl_matrix_set(&m.matrix, j, k,
				       j == k ? 1.0
					      : gsl_matrix_get(&m.matrix, j, k) * gsl_vector_get(w->t1, j) *
							gsl_vector_get(w->t1, k));
}

/* The correlations of an added pure-noise variable Z (iid normal, independent
 * of everything) with the q variables, drawn exactly as a sample of n rows
 * would give them: with U the standardised data (U'U = (n-1) M = (n-1) V Λ V'),
 * U'Z ~ N(0, (n-1) M), i.e. U'Z = sqrt(n-1) V Λ^1/2 g with g ~ N(0, I_q);
 * |Z_c|² = g'g + χ²(n-1-q) (the part of Z outside U's column space), so
 *   corr(Z, U_j) = (V Λ^1/2 g)_j / sqrt(g'g + χ²(n-1-q)).
 * Written into row and column q of w->m. Needs w->eval, w->v of M. */
static void noise_driver(fit_ws *w, unsigned long seed, long n)
{
	size_t q = (size_t)w->q;
	gsl_rng_set(w->rng, seed);
	double gg = 0;
	for (size_t k = 0; k < q; k++) {
		double g = gsl_ran_ugaussian(w->rng);
		double lam = gsl_vector_get(w->eval, k);
		gg += g * g;
		gsl_vector_set(w->t1, k, g * sqrt(lam > 0 ? lam : 0));
	}
	double nu = (double)(n - 1 - (long)q);
	double denom = sqrt(gg + gsl_ran_chisq(w->rng, nu < 1 ? 1 : nu));
	gsl_matrix_const_view v = gsl_matrix_const_submatrix(w->v, 0, 0, q, q);
	gsl_vector_view t1 = gsl_vector_subvector(w->t1, 0, q);
	gsl_vector_view t2 = gsl_vector_subvector(w->t2, 0, q);
	gsl_blas_dgemv(CblasNoTrans, 1.0 / denom, &v.matrix, &t1.vector, 0.0, &t2.vector);
	for (size_t j = 0; j < q; j++) {
		gsl_matrix_set(w->m, j, q, gsl_vector_get(w->t2, j));
		gsl_matrix_set(w->m, q, j, gsl_vector_get(w->t2, j));
	}
	gsl_matrix_set(w->m, q, q, 1.0);
}

/* Relative weights of the first m drivers of w->m (rows/columns 1..m); they
 * also give R², the standardised slopes and the collinearity check. */
static fit_status relweights_of(fit_ws *w, size_t m, double *eps, double *r2, double *beta)
{
	gsl_matrix_const_view rxx = gsl_matrix_const_submatrix(w->m, 1, 1, m, m);
	gsl_vector_const_view r = gsl_matrix_const_subcolumn(w->m, 0, 1, m);
	return rw_weights(w, &rxx.matrix, &r.vector, eps, r2, beta);
}

/* Shapley values of the first m drivers; with sub != NULL also those of the
 * first m - 1 (one walk over the subsets serves both: see shapley.c). */
static fit_status shapley_of(fit_ws *w, size_t m, double *phi, double *sub)
{
	gsl_matrix_const_view rxx = gsl_matrix_const_submatrix(w->m, 1, 1, m, m);
	gsl_vector_const_view r = gsl_matrix_const_subcolumn(w->m, 0, 1, m);
	return shapley_weights(w, &rxx.matrix, &r.vector, phi, sub);
}

fit_status fit_model(fit_ws *w, const drv_layout *l, const double *tot, double *out_w,
		     double *out_beta, double *out_r2, unsigned long noise_seed, double *out_vs)
{
	size_t q = (size_t)l->q, p = (size_t)l->p;
	w->repaired = false;
	memset(w->collinear, 0, q + 1);
	fit_status st = correlations(w, l, tot);
	if (st != FIT_OK)
		return st;
	/* drivers that are (almost) exact copies: name the pair before anything */
	for (size_t j = 1; j < q; j++)
		for (size_t k = j + 1; k < q; k++)
			if (fabs(gsl_matrix_get(w->m, j, k)) >= 1 - 1e-12) {
				w->collinear[j] = w->collinear[k] = 1;
				return FIT_COLLINEAR;
			}
	if ((st = eigen_m(w, q, w->ew_q)) != FIT_OK)
		return st;
	gsl_vector_view evq = gsl_vector_subvector(w->eval, 0, q);
	if (gsl_vector_min(&evq.vector) < NEG_EIGEN_TOL) {
		repair(w, q);
		w->repaired = true;
		if ((st = eigen_m(w, q, w->ew_q)) != FIT_OK)
			return st;
	}
	double bs[DRV_MAX_DRIVERS];
	bool shapley = w->method == DRV_SHAPLEY;
	if ((st = relweights_of(w, p, out_w, out_r2, bs)) != FIT_OK)
		return st;
	/* unstandardised slope b_j = β_j sd_y / sd_j (β the standardised one) */
	for (size_t j = 0; j < p; j++)
		out_beta[j] = bs[j] * w->sd[0] / w->sd[j + 1];
	if (!noise_seed)
		return shapley ? shapley_of(w, p, out_w, NULL) : FIT_OK;
	/* the same model with a pure-noise driver added as driver p + 1, drawn
	 * from M's decomposition (again: relweights_of reused w->eval, w->v) */
	double min_eig = w->min_eigen;
	if ((st = eigen_m(w, q, w->ew_q)) != FIT_OK)
		return st;
	noise_driver(w, noise_seed, (long)tot[l->off_cn]);
	double eps[DRV_MAX_DRIVERS + 1], r2n;
	st = relweights_of(w, p + 1, eps, &r2n, NULL);
	if (st == FIT_OK && shapley) /* the model's and the augmented model's values */
		st = shapley_of(w, p + 1, eps, out_w);
	w->min_eigen = min_eig;
	if (st != FIT_OK)
		return st;
	for (size_t j = 0; j < p; j++)
		out_vs[j] = eps[j] - eps[p];
	return FIT_OK;
}
