/* shapley.c — the exact Shapley value of R² (the LMG decomposition).
 *
 * Sources: Lindeman, Merenda & Gold (1980), Introduction to Bivariate and
 * Multivariate Analysis, p. 119ff; Grömping (2006), "Relative importance for
 * linear regression in R: the package relaimpo", J. Statistical Software
 * 17(1); Lipovetsky & Conklin (2001), Applied Stochastic Models in Business
 * and Industry 17, 319–330 (as Shapley value regression).
 *
 *   φ_j = Σ_{S ⊆ D∖{j}} |S|! (m − |S| − 1)! / m! · (R²(S ∪ {j}) − R²(S)),
 * the average over all m! orders of entry of the R² that driver j adds.
 * Σ_j φ_j = R²(D) − R²(∅) = R² exactly (the sum telescopes).
 *
 * R² of every subset from the correlation matrix alone: R²(S) = r_S' R_SS^-1
 * r_S. The 2^m subsets are visited as a tree in which a child adds one driver
 * with a larger index than its parent's; the child's Cholesky factor extends
 * the parent's by one row (L_S l = R_S,j by GSL's triangular solve
 * gsl_blas_dtrsv; d = sqrt(1 − l'l)), and with z = L_S^-1 r_S,
 *   z_new = (r_j − l'z) / d,   R²(S ∪ {j}) = R²(S) + z_new²,
 * so each subset costs O(|S|²) instead of a factorisation of its own. d² is
 * at least the smallest eigenvalue of Rxx (a Schur complement), which the
 * caller has checked.
 */
#include <math.h>

#include <gsl/gsl_blas.h>

#include "drivers/drivers_int.h"

typedef struct shap_walk {
	fit_ws *w;
	const gsl_matrix *rxx;
	const gsl_vector *r;
	int m;
	bool bad;
} shap_walk;

static void visit(shap_walk *s, int depth, unsigned mask, int next, double r2)
{
	fit_ws *w = s->w;
	for (int j = next; j < s->m; j++) {
		double zk, d2;
		double rj = gsl_vector_get(s->r, (size_t)j);
		if (depth == 0) {
			d2 = 1;
			zk = rj;
		} else {
			gsl_vector_view row = gsl_matrix_subrow(w->l, (size_t)depth, 0, (size_t)depth);
			for (int i = 0; i < depth; i++)
				gsl_vector_set(&row.vector, (size_t)i,
					       gsl_matrix_get(s->rxx, (size_t)w->idx[i], (size_t)j));
			gsl_matrix_const_view lk =
				gsl_matrix_const_submatrix(w->l, 0, 0, (size_t)depth, (size_t)depth);
			gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, &lk.matrix, &row.vector);
			double ll, lz;
			gsl_vector_const_view zv = gsl_vector_const_view_array(w->z, (size_t)depth);
			gsl_blas_ddot(&row.vector, &row.vector, &ll);
			gsl_blas_ddot(&row.vector, &zv.vector, &lz);
			d2 = 1 - ll;
			if (d2 <= 1e-12) {
				s->bad = true;
				return;
			}
			zk = (rj - lz) / sqrt(d2);
		}
		gsl_matrix_set(w->l, (size_t)depth, (size_t)depth, sqrt(d2));
		w->z[depth] = zk;
		w->idx[depth] = j;
		unsigned child = mask | 1u << j;
		w->r2set[child] = r2 + zk * zk;
		visit(s, depth + 1, child, j + 1, w->r2set[child]);
		if (s->bad)
			return;
	}
}

fit_status shapley_weights(fit_ws *w, const gsl_matrix *rxx, const gsl_vector *r, double *phi)
{
	int m = (int)rxx->size1;
	shap_walk s = {.w = w, .rxx = rxx, .r = r, .m = m, .bad = false};
	w->r2set[0] = 0;
	visit(&s, 0, 0, 0, 0.0);
	if (s.bad)
		return FIT_COLLINEAR;
	/* weight of a subset of size k: k! (m-k-1)! / m!, by the ratio
	 * wk / wk-1 = k / (m - k) from w0 = 1/m */
	double wk[DRV_MAX_SHAPLEY + 2];
	wk[0] = 1.0 / m;
	for (int k = 1; k < m; k++)
		wk[k] = wk[k - 1] * k / (m - k);
	for (int j = 0; j < m; j++)
		phi[j] = 0;
	unsigned full = 1u << m;
	for (unsigned mask = 0; mask < full; mask++) {
		int k = __builtin_popcount(mask);
		double base = w->r2set[mask];
		for (int j = 0; j < m; j++)
			if (!(mask & 1u << j))
				phi[j] += wk[k] * (w->r2set[mask | 1u << j] - base);
	}
	return FIT_OK;
}
