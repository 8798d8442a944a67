/* accumulate.c — the accumulator of sufficient statistics (drivers.h,
 * layout in drivers_int.h).
 *
 * Why sums and not rows: the correlation of any pair of variables, over the
 * rows where both are present, follows from six sums (n, Σa, Σb, Σa², Σb²,
 * Σab); sums add across groups and threads, and a bootstrap replicate is a
 * count-weighted sum of groups. Complete rows (every driver rated, the
 * common case) go to a compact block (n, Σv, Σv_j v_k) and are expanded
 * into every pair only when the model is fitted.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/drivers_int.h"

void drv_layout_init(drv_layout *l, int p)
{
	l->p = p;
	l->q = p + 1;
	l->tri = l->q * (l->q + 1) / 2;
	l->off_n = 0;
	l->off_s = l->off_n + l->tri;
	l->off_q = l->off_s + l->q * l->q;
	l->off_c = l->off_q + l->q * l->q;
	l->off_cn = l->off_c + l->tri;
	l->off_cs = l->off_cn + 1;
	l->off_cc = l->off_cs + l->q;
	l->k = l->off_cc + l->tri;
}

ks_err drv_acc_new(int p, int groups, drv_acc **out, ks_error *e)
{
	*out = NULL;
	if (p < 1 || p > DRV_MAX_DRIVERS)
		return ks_fail(e, KS_ERR_INVALID, "drivers", "the number of drivers must be 1..%d, got %d",
			       DRV_MAX_DRIVERS, p);
	if (groups < 1 || groups > DRV_MAX_GROUPS)
		return ks_fail(e, KS_ERR_RANGE, "groups", "the number of groups must be 1..%d, got %d",
			       DRV_MAX_GROUPS, groups);
	drv_acc *a = calloc(1, sizeof *a);
	if (!a)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	drv_layout_init(&a->l, p);
	size_t bytes = (size_t)groups * (size_t)a->l.k * sizeof(double);
	if (bytes > ((size_t)256 << 20)) {
		free(a);
		return ks_fail(e, KS_ERR_RANGE, "groups",
			       "%d groups of %d drivers need %zu MiB (at most 256): use fewer groups",
			       groups, p, bytes >> 20);
	}
	a->groups = groups;
	a->pair = calloc((size_t)groups * (size_t)a->l.off_cn, sizeof(double));
	a->comp = calloc((size_t)groups * (size_t)(a->l.k - a->l.off_cn), sizeof(double));
	a->present = calloc((size_t)a->l.q, sizeof(int));
	if (!a->pair || !a->comp || !a->present) {
		drv_acc_free(a);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	*out = a;
	return KS_OK;
}

void drv_acc_free(drv_acc *a)
{
	if (!a)
		return;
	free(a->pair);
	free(a->comp);
	free(a->present);
	free(a);
}

long drv_acc_rows(const drv_acc *a)
{
	return a->rows;
}

int drv_acc_drivers(const drv_acc *a)
{
	return a->l.p;
}

void drv_acc_group(const drv_acc *a, int g, double *out)
{
	size_t kp = (size_t)a->l.off_cn, kc = (size_t)(a->l.k - a->l.off_cn);
	memcpy(out, a->pair + (size_t)g * kp, kp * sizeof *out);
	memcpy(out + kp, a->comp + (size_t)g * kc, kc * sizeof *out);
}

/* The complete block (c points at its n): n, Σv_j, Σv_j v_k (j <= k). */
static void add_complete(const drv_layout *l, double *c, double y, const double *x)
{
	int q = l->q;
	double *cs = c + (l->off_cs - l->off_cn), *cc = c + (l->off_cc - l->off_cn);
	c[0] += 1;
	cs[0] += y;
	for (int j = 1; j < q; j++)
		cs[j] += x[j - 1];
	/* row 0 (the outcome) of the packed triangle, then the drivers' rows */
	cc[0] += y * y;
	for (int k = 1; k < q; k++)
		cc[k] += y * x[k - 1];
	int t = q;
	for (int j = 1; j < q; j++) {
		double vj = x[j - 1];
		const double *xs = x + j - 1;
		for (int k = 0; k < q - j; k++)
			cc[t + k] += vj * xs[k];
		t += q - j;
	}
}

/* The pairwise block over the present variables only. */
static void add_pairwise(const drv_layout *l, double *g, const int *pr, int np, const double *v_of)
{
	int q = l->q;
	double *n = g + l->off_n, *s = g + l->off_s, *qq = g + l->off_q, *c = g + l->off_c;
	for (int a = 0; a < np; a++) {
		int j = pr[a];
		double vj = v_of[a];
		for (int b = a; b < np; b++) {
			int k = pr[b];
			double vk = v_of[b];
			int t = drv_tri(q, j, k);
			n[t] += 1;
			s[j * q + k] += vj;
			qq[j * q + k] += vj * vj;
			if (k != j) {
				s[k * q + j] += vk;
				qq[k * q + j] += vk * vk;
				c[t] += vj * vk;
			}
		}
	}
}

void drv_acc_add(drv_acc *a, int group, double y, const double *x)
{
	if (!isfinite(y))
		return;
	const drv_layout *l = &a->l;
	if (group < 0)
		group = -(group + 1);
	size_t g = (size_t)(group % a->groups);
	a->rows++;
	int np = 0;
	for (int j = 0; j < l->p; j++)
		np += isfinite(x[j]) != 0;
	if (np == l->p) {
		add_complete(l, a->comp + g * (size_t)(l->k - l->off_cn), y, x);
		return;
	}
	/* values of the present variables, on the stack (q <= 65) */
	double v[DRV_MAX_DRIVERS + 1];
	int *pr = a->present;
	pr[0] = 0;
	v[0] = y;
	np = 1;
	for (int j = 0; j < l->p; j++)
		if (isfinite(x[j])) {
			pr[np] = j + 1;
			v[np++] = x[j];
		}
	add_pairwise(l, a->pair + g * (size_t)l->off_cn, pr, np, v);
}

ks_err drv_acc_merge(drv_acc *a, const drv_acc *b, ks_error *e)
{
	if (a->l.p != b->l.p || a->groups != b->groups)
		return ks_fail(e, KS_ERR_INVALID, "drivers",
			       "cannot merge accumulators of %d drivers x %d groups and %d x %d", a->l.p,
			       a->groups, b->l.p, b->groups);
	size_t np = (size_t)a->groups * (size_t)a->l.off_cn;
	size_t nc = (size_t)a->groups * (size_t)(a->l.k - a->l.off_cn);
	for (size_t i = 0; i < np; i++)
		a->pair[i] += b->pair[i];
	for (size_t i = 0; i < nc; i++)
		a->comp[i] += b->comp[i];
	a->rows += b->rows;
	return KS_OK;
}
