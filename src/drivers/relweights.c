/* relweights.c — Johnson's relative weights.
 *
 * Source: J. W. Johnson (2000), "A heuristic method for estimating the
 * relative weight of predictor variables in multiple regression",
 * Multivariate Behavioral Research 35(1), 1–19; the steps as in Tonidandel &
 * LeBreton (2011), J. Business and Psychology 26, 1–9, appendix.
 *
 * With Rxx = V Λ V' (the drivers' correlation matrix) and r (their
 * correlations with the outcome):
 *   Λ* = Rxx^1/2 = V Λ^1/2 V'   — correlations of the drivers X with their
 *                                 closest orthonormal counterparts Z;
 *   β* = Λ*^-1 r = V Λ^-1/2 V' r — the outcome regressed on Z;
 *   ε_j = Σ_k (Λ*_jk)² (β*_k)²   — driver j's raw relative weight.
 * Σ_j ε_j = Σ_k β*_k² = r' Rxx^-1 r = R² because each column of Λ* has unit
 * length (Λ*' Λ* = Rxx, whose diagonal is 1). Also here:
 *   β = Rxx^-1 r = V Λ^-1 V' r   — the standardised OLS slopes, R² = r'β.
 * The eigen-decomposition is GSL's gsl_eigen_symmv; Rxx is called singular
 * (collinear drivers) when its smallest eigenvalue is below 1e-9 — the
 * drivers named are those with |v_i| >= 0.1 in that eigenvalue's vector
 * (the linear combination that is (almost) constant).
 */
#include <math.h>

#include <gsl/gsl_blas.h>

#include "drivers/drivers_int.h"

#define SINGULAR_EIGEN 1e-9

fit_status rw_weights(fit_ws *w, const gsl_matrix *rxx, const gsl_vector *r, double *eps,
		      double *r2, double *beta)
{
	size_t m = rxx->size1;
	gsl_eigen_symmv_workspace *ew = m == (size_t)w->p ? w->ew_p : w->ew_q;
	gsl_matrix_view a = gsl_matrix_submatrix(w->a, 0, 0, m, m);
	gsl_matrix_view v = gsl_matrix_submatrix(w->v, 0, 0, m, m);
	gsl_matrix_view b = gsl_matrix_submatrix(w->b, 0, 0, m, m);
	gsl_vector_view ev = gsl_vector_subvector(w->eval, 0, m);
	gsl_vector_view t1 = gsl_vector_subvector(w->t1, 0, m);
	gsl_vector_view t2 = gsl_vector_subvector(w->t2, 0, m);
	gsl_vector_view t3 = gsl_vector_subvector(w->t3, 0, m);
	gsl_matrix_memcpy(&a.matrix, rxx);
	if (gsl_eigen_symmv(&a.matrix, &ev.vector, &v.matrix, ew))
		return FIT_GSL;
	size_t kmin = gsl_vector_min_index(&ev.vector);
	double lmin = gsl_vector_get(&ev.vector, kmin);
	if (m == (size_t)w->p)
		w->min_eigen = lmin;
	if (lmin < SINGULAR_EIGEN) {
		for (size_t i = 0; i < m; i++)
			if (fabs(gsl_matrix_get(&v.matrix, i, kmin)) >= 0.1)
				w->collinear[i + 1] = 1;
		return FIT_COLLINEAR;
	}
	/* t1 = V' r */
	gsl_blas_dgemv(CblasTrans, 1.0, &v.matrix, r, 0.0, &t1.vector);
	double sum = 0;
	for (size_t k = 0; k < m; k++) {
		double lam = gsl_vector_get(&ev.vector, k), u = gsl_vector_get(&t1.vector, k);
		sum += u * u / lam;
		gsl_vector_set(&t2.vector, k, u / sqrt(lam)); /* Λ^-1/2 V' r */
		gsl_vector_set(&t3.vector, k, u / lam);       /* Λ^-1 V' r */
	}
	*r2 = sum;
	if (beta) {
		gsl_vector_view bv = gsl_vector_view_array(beta, m);
		gsl_blas_dgemv(CblasNoTrans, 1.0, &v.matrix, &t3.vector, 0.0, &bv.vector);
	}
	/* β* = V (Λ^-1/2 V' r), into t3 */
	gsl_blas_dgemv(CblasNoTrans, 1.0, &v.matrix, &t2.vector, 0.0, &t3.vector);
	/* Λ* = (V Λ^1/2) V', into b (a is free again) */
	gsl_matrix_memcpy(&a.matrix, &v.matrix);
	for (size_t k = 0; k < m; k++) {
		gsl_vector_view col = gsl_matrix_column(&a.matrix, k);
		gsl_vector_scale(&col.vector, sqrt(gsl_vector_get(&ev.vector, k)));
	}
	gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, &a.matrix, &v.matrix, 0.0, &b.matrix);
	for (size_t j = 0; j < m; j++) {
		double e = 0;
		for (size_t k = 0; k < m; k++) {
			double lj = gsl_matrix_get(&b.matrix, j, k), bk = gsl_vector_get(&t3.vector, k);
			e += lj * lj * bk * bk;
		}
		eps[j] = e;
	}
	return FIT_OK;
}
