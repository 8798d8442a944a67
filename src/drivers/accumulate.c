/* accumulate.c — the accumulator of sufficient statistics (drivers.h,
 * layout in drivers_int.h).
 *
 * Why sums and not rows: the correlation of any pair of variables, over the
 * rows where both are present, follows from six sums (n, Σa, Σb, Σa², Σb²,
 * Σab); sums add across groups and threads, and a bootstrap replicate is a
 * count-weighted sum of groups. Every row goes to a compact block (n, Σv,
 * Σv_j v_k, missing ratings as 0); a row with missing ratings also records
 * what that block over-counts for the pairs it does not complete (the
 * deficit, drivers_int.h), which the fit subtracts.
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
	l->off_dn = 0;
	l->off_ds = l->off_dn + l->q * l->q;
	l->off_dq = l->off_ds + l->q * l->q;
	l->off_cn = l->off_dq + l->q * l->q;
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
	a->shift = calloc((size_t)a->l.q, sizeof(double));
	if (!a->pair || !a->comp || !a->shift) {
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
	free(a->shift);
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

/* The deficit of a row with missing ratings (drivers_int.h): v holds the
 * row with 0 for a missing rating, miss[k] 1 for a missing one. */
static void add_deficit(const drv_layout *l, double *g, const double *v, const char *miss)
{
	int q = l->q;
	for (int k = 1; k < q; k++) {
		if (!miss[k])
			continue;
		double *dn = g + l->off_dn + k * q, *ds = g + l->off_ds + k * q, *dq = g + l->off_dq + k * q;
		for (int j = 0; j < q; j++) {
			dn[j] += !miss[j] || j >= k;
			ds[j] += v[j];
			dq[j] += v[j] * v[j];
		}
	}
}

ks_err drv_acc_center(drv_acc *a, const double *c, ks_error *e)
{
	if (a->rows > 0)
		return ks_fail(e, KS_ERR_INVALID, "center", "the centre is set before the first row");
	for (int j = 0; j < a->l.q; j++)
		if (!isfinite(c[j]))
			return ks_fail(e, KS_ERR_INVALID, "center", "centre %d is not a finite number", j);
	memcpy(a->shift, c, (size_t)a->l.q * sizeof *c);
	a->centred = true;
	return KS_OK;
}

/* One row, already centred; y finite. */
static void add_row(drv_acc *a, int group, double y, const double *x)
{
	const drv_layout *l = &a->l;
	if (group < 0)
		group = -(group + 1);
	size_t g = (size_t)(group % a->groups);
	a->rows++;
	double *comp = a->comp + g * (size_t)(l->k - l->off_cn);
	int np = 0;
	for (int j = 0; j < l->p; j++)
		np += isfinite(x[j]) != 0;
	if (np == l->p) {
		add_complete(l, comp, y, x);
		return;
	}
	/* missing ratings as 0 in the complete block, then the deficit (q <= 65) */
	double v[DRV_MAX_DRIVERS + 1];
	char miss[DRV_MAX_DRIVERS + 1];
	v[0] = y;
	miss[0] = 0;
	for (int j = 0; j < l->p; j++) {
		miss[j + 1] = !isfinite(x[j]);
		v[j + 1] = miss[j + 1] ? 0.0 : x[j];
	}
	add_complete(l, comp, y, v + 1);
	add_deficit(l, a->pair + g * (size_t)l->off_cn, v, miss);
}

void drv_acc_add(drv_acc *a, int group, double y, const double *x)
{
	if (!isfinite(y))
		return;
	if (!a->centred) {
		add_row(a, group, y, x);
		return;
	}
	double xc[DRV_MAX_DRIVERS]; /* NAN stays NAN */
	for (int j = 0; j < a->l.p; j++)
		xc[j] = x[j] - a->shift[j + 1];
	add_row(a, group, y - a->shift[0], xc);
}

ks_err drv_acc_merge(drv_acc *a, const drv_acc *b, ks_error *e)
{
	if (a->l.p != b->l.p || a->groups != b->groups)
		return ks_fail(e, KS_ERR_INVALID, "drivers",
			       "cannot merge accumulators of %d drivers x %d groups and %d x %d", a->l.p,
			       a->groups, b->l.p, b->groups);
	if (memcmp(a->shift, b->shift, (size_t)a->l.q * sizeof *a->shift) != 0)
		return ks_fail(e, KS_ERR_INVALID, "center", "cannot merge accumulators with other centres");
	size_t np = (size_t)a->groups * (size_t)a->l.off_cn;
	size_t nc = (size_t)a->groups * (size_t)(a->l.k - a->l.off_cn);
	for (size_t i = 0; i < np; i++)
		a->pair[i] += b->pair[i];
	for (size_t i = 0; i < nc; i++)
		a->comp[i] += b->comp[i];
	a->rows += b->rows;
	return KS_OK;
}
