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
 * the parent's by one row (forward substitution L_S l = R_S,j; d =
 * sqrt(1 − l'l)), and with z = L_S^-1 r_S,
 *   z_new = (r_j − l'z) / d,   R²(S ∪ {j}) = R²(S) + z_new²,
 * so each subset costs O(|S|²) instead of a factorisation of its own. d² is
 * at least the smallest eigenvalue of Rxx (a Schur complement), which the
 * caller has checked.
 *
 * The forward substitution is written out rather than called through
 * gsl_blas_dtrsv/ddot: for vectors of 1..15 elements the call overhead of
 * OpenBLAS's level-2 routine (a work buffer per call) was 3x the arithmetic
 * (Shapley of 12 drivers with 1,000 replicates: 3.85 s through GSL/OpenBLAS,
 * 1.24 s inline, bench/drivers). It is the row-append step of the Cholesky
 * factor, nothing more: the eigen-decompositions, products and checks are
 * GSL's, and tests/unit/test_drivers.c and tests/api/test_drivers_cli.py
 * check every subset's R² through the decomposition against independent
 * computations.
 *
 * With the noise driver of the significance interval as the last of m
 * drivers, the subsets without it are exactly the model's own subsets (same
 * R²), so one walk gives both decompositions: the model's from the masks
 * below 2^(m-1), the augmented model's from all.
 */
#include <math.h>


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
			double *L = w->l->data;
			size_t tda = w->l->tda;
			double *row = L + (size_t)depth * tda;
			double ll = 0, lz = 0;
			for (int i = 0; i < depth; i++) {
				double v = gsl_matrix_get(s->rxx, (size_t)w->idx[i], (size_t)j);
				const double *li = L + (size_t)i * tda;
				for (int k = 0; k < i; k++)
					v -= li[k] * row[k];
				v /= li[i];
				row[i] = v;
				ll += v * v;
				lz += v * w->z[i];
			}
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

/* φ of the first m drivers from the R² table (weights k! (m-k-1)! / m! by
 * the ratio w_k / w_k-1 = k / (m - k) from w_0 = 1/m) */
static void decompose(const double *r2set, int m, double *phi)
{
	double wk[DRV_MAX_SHAPLEY + 2];
	wk[0] = 1.0 / m;
	for (int k = 1; k < m; k++)
		wk[k] = wk[k - 1] * k / (m - k);
	for (int j = 0; j < m; j++)
		phi[j] = 0;
	unsigned full = 1u << m;
	for (unsigned mask = 0; mask < full; mask++) {
		double wt = wk[__builtin_popcount(mask)], base = r2set[mask];
		for (int j = 0; j < m; j++)
			if (!(mask & 1u << j))
				phi[j] += wt * (r2set[mask | 1u << j] - base);
	}
}

fit_status shapley_weights(fit_ws *w, const gsl_matrix *rxx, const gsl_vector *r, double *phi,
			   double *sub)
{
	int m = (int)rxx->size1;
	shap_walk s = {.w = w, .rxx = rxx, .r = r, .m = m, .bad = false};
	w->r2set[0] = 0;
	visit(&s, 0, 0, 0, 0.0);
	if (s.bad)
		return FIT_COLLINEAR;
	decompose(w->r2set, m, phi);
	if (sub)
		decompose(w->r2set, m - 1, sub);
	return FIT_OK;
}
