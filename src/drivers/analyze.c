/* analyze.c — drv_analyze: the point estimate, the grouped bootstrap and the
 * result (drivers.h).
 *
 * Bootstrap (Efron & Tibshirani 1993, An Introduction to the Bootstrap,
 * ch. 13 percentile intervals; resampling whole clusters: Davison & Hinkley
 * 1997, Bootstrap Methods and their Application, §3.8, and Field & Welsh
 * 2007, JRSS B 69): the non-empty groups are the units drawn with
 * replacement, as many as there are. A replicate's statistics are the
 * count-weighted sum of the groups' sums — for a chunk of replicates one
 * matrix product counts (B x G) · groups (G x K) through gsl_blas_dgemm — so
 * a replicate costs the p x p fit only, never a pass over rows. With one row
 * per group this is the classic row bootstrap; with rows grouped by customer
 * it respects that one customer's answers are not independent.
 *
 * Each replicate's draws come from its own generator seeded by (seed,
 * replicate), so the figures do not depend on the number of threads.
 * Percentiles are R's type 7 (linear interpolation between order statistics,
 * numpy's default); rank intervals are the floor of the 2.5 % and the ceiling
 * of the 97.5 % point of the replicates' ranks.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>

#include "drivers/drivers_int.h"

#define CHUNK 256

const char *drv_method_name(drv_method m)
{
	return m == DRV_SHAPLEY ? "shapley" : "relweights";
}

bool drv_method_parse(const char *s, drv_method *out)
{
	if (strcmp(s, "relweights") == 0)
		*out = DRV_RELWEIGHTS;
	else if (strcmp(s, "shapley") == 0)
		*out = DRV_SHAPLEY;
	else
		return false;
	return true;
}

void drv_opts_default(drv_opts *o)
{
	memset(o, 0, sizeof *o);
	o->method = DRV_RELWEIGHTS;
	o->bootstrap = 1000;
	o->seed = 15;
	o->threads = 2;
}

void drv_result_free(drv_result *r)
{
	if (!r)
		return;
	free(r->driver);
	r->driver = NULL;
}

/* splitmix64 (Steele, Lea & Flood 2014): seeds from (seed, replicate, stream) */
static unsigned long seed_for(uint64_t seed, uint64_t rep, uint64_t stream)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (rep * 4 + stream + 1);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (unsigned long)(z | 1); /* 0 means "no noise driver" to fit_model */
}

/* ---- names for messages ---- */
static const char *var_name(const drv_opts *o, int j, char *buf, size_t n)
{
	if (j == 0)
		return o->outcome_name ? o->outcome_name : "outcome";
	if (o->names && o->names[j - 1])
		return o->names[j - 1];
	snprintf(buf, n, "x%d", j);
	return buf;
}

static ks_err report(fit_status st, const fit_ws *w, const drv_opts *o, long rows, ks_error *e)
{
	char b1[16], b2[16];
	int p = w->p;
	switch (st) {
	case FIT_OK:
		return KS_OK;
	case FIT_FEW:
		if (w->bad_j == 0 && w->bad_k == 0)
			return ks_fail(e, KS_ERR_RANGE, "n",
				       "%ld rows have an outcome; %d drivers need at least %ld", rows, p,
				       w->need);
		if (w->bad_j == w->bad_k || w->bad_j == 0)
			return ks_fail(e, KS_ERR_RANGE, "n",
				       "too few rows rate %s (with an outcome): %d drivers need at least %ld",
				       var_name(o, w->bad_k, b1, sizeof b1), p, w->need);
		return ks_fail(e, KS_ERR_RANGE, "n",
			       "too few rows rate both %s and %s: %d drivers need at least %ld",
			       var_name(o, w->bad_j, b1, sizeof b1), var_name(o, w->bad_k, b2, sizeof b2),
			       p, w->need);
	case FIT_NOVAR: {
		const char *a = var_name(o, w->bad_j, b1, sizeof b1);
		if (w->bad_k < 0)
			return ks_fail(e, KS_ERR_INVALID, a, "%s has the same value in every row", a);
		return ks_fail(e, KS_ERR_INVALID, a, "%s has the same value in every row that also has %s",
			       a, var_name(o, w->bad_k, b2, sizeof b2));
	}
	case FIT_COLLINEAR: {
		char field[sizeof e->field] = "", list[200] = "";
		size_t fl = 0, ll = 0;
		int nn = 0;
		for (int j = 1; j <= p; j++) {
			if (!w->collinear[j])
				continue;
			const char *nm = var_name(o, j, b1, sizeof b1);
			size_t len = strlen(nm);
			if (fl + len + (nn ? 1 : 0) < sizeof field) {
				fl += (size_t)snprintf(field + fl, sizeof field - fl, "%s%s", nn ? "," : "", nm);
			}
			if (ll + len + 2 < sizeof list)
				ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s", nn ? ", " : "", nm);
			nn++;
		}
		return ks_fail(e, KS_ERR_INVALID, field,
			       "drivers %s are collinear (one is a linear combination of the others): "
			       "drop or combine one",
			       list);
	}
	case FIT_GSL:
	default:
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "the eigen-decomposition failed");
	}
}

/* ---- ranks and percentiles ---- */

/* rank 1 = the largest weight; ties go to the earlier driver */
static void ranks_of(const double *wt, int p, int *rank)
{
	for (int j = 0; j < p; j++) {
		int r = 1;
		for (int i = 0; i < p; i++)
			if (wt[i] > wt[j] || (wt[i] == wt[j] && i < j))
				r++;
		rank[j] = r;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* type-7 quantile of sorted x[0..n) */
static double quantile(const double *x, int n, double prob)
{
	double h = (n - 1) * prob;
	int lo = (int)floor(h);
	if (lo >= n - 1)
		return x[n - 1];
	return x[lo] + (h - lo) * (x[lo + 1] - x[lo]);
}

/* 95 % percentile interval of column j of a (stride p, rows where ok) */
static void interval(const double *a, const char *ok, int nrep, int p, int j, double *buf,
		     double *lo, double *hi)
{
	int n = 0;
	for (int b = 0; b < nrep; b++)
		if (ok[b])
			buf[n++] = a[(size_t)b * (size_t)p + (size_t)j];
	if (n == 0) {
		*lo = *hi = NAN;
		return;
	}
	qsort(buf, (size_t)n, sizeof *buf, cmp_double);
	*lo = quantile(buf, n, 0.025);
	*hi = quantile(buf, n, 0.975);
}

/* ---- the bootstrap ---- */

typedef struct boot {
	const drv_layout *l;
	const drv_opts *o;
	int p, nrep;
	/* per replicate: weights, shares, noise differences, slopes, ranks (p
	 * each), R², usable */
	double *w, *share, *vs, *beta, *rank, *r2;
	char *ok;
	/* the chunk being fitted */
	const double *tot; /* CHUNK x K */
	int first, count;
	ks_err err;
} boot;

typedef struct boot_thread {
	boot *bt;
	fit_ws *ws;
	int tid, nthreads;
} boot_thread;

static void *boot_fit(void *arg)
{
	boot_thread *t = arg;
	boot *bt = t->bt;
	int p = bt->p;
	int rk[DRV_MAX_DRIVERS];
	for (int i = t->tid; i < bt->count; i += t->nthreads) {
		int b = bt->first + i;
		size_t off = (size_t)b * (size_t)p;
		double r2;
		fit_status st = fit_model(t->ws, bt->l, bt->tot + (size_t)i * (size_t)bt->l->k, bt->w + off,
					  bt->beta + off, &r2, seed_for(bt->o->seed, (uint64_t)b, 1),
					  bt->vs + off);
		bt->ok[b] = st == FIT_OK && r2 > 0;
		if (!bt->ok[b])
			continue;
		bt->r2[b] = r2;
		ranks_of(bt->w + off, p, rk);
		for (int j = 0; j < p; j++) {
			bt->share[off + (size_t)j] = bt->w[off + (size_t)j] / r2;
			bt->rank[off + (size_t)j] = rk[j];
		}
	}
	return NULL;
}

/* Runs the replicates; groups is the compacted (ng x K) matrix of the
 * non-empty groups. */
static ks_err run_bootstrap(boot *bt, const gsl_matrix *groups, fit_ws **ws, int nthreads,
			    ks_error *e)
{
	size_t ng = groups->size1, k = groups->size2;
	gsl_matrix *cnt = gsl_matrix_calloc(CHUNK, ng);
	gsl_matrix *tot = gsl_matrix_alloc(CHUNK, k);
	gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
	ks_err rc = KS_OK;
	if (!cnt || !tot || !rng) {
		rc = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	for (int first = 0; first < bt->nrep; first += CHUNK) {
		int count = bt->nrep - first < CHUNK ? bt->nrep - first : CHUNK;
		gsl_matrix_set_zero(cnt);
		for (int i = 0; i < count; i++) {
			gsl_rng_set(rng, seed_for(bt->o->seed, (uint64_t)(first + i), 0));
			double *row = gsl_matrix_ptr(cnt, (size_t)i, 0);
			for (size_t d = 0; d < ng; d++)
				row[gsl_rng_uniform_int(rng, ng)] += 1;
		}
		gsl_matrix_view c = gsl_matrix_submatrix(cnt, 0, 0, (size_t)count, ng);
		gsl_matrix_view t = gsl_matrix_submatrix(tot, 0, 0, (size_t)count, k);
		if (gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &c.matrix, groups, 0.0, &t.matrix)) {
			rc = ks_fail(e, KS_ERR_INTERNAL, NULL, "the bootstrap's matrix product failed");
			goto out;
		}
		bt->tot = tot->data; /* tda == k: rows are contiguous */
		bt->first = first;
		bt->count = count;
		boot_thread th[2];
		pthread_t tid;
		bool spawned = false;
		for (int i = 0; i < nthreads; i++)
			th[i] = (boot_thread){.bt = bt, .ws = ws[i], .tid = i, .nthreads = nthreads};
		if (nthreads == 2 && pthread_create(&tid, NULL, boot_fit, &th[1]) == 0)
			spawned = true;
		else
			th[0].nthreads = 1;
		boot_fit(&th[0]);
		if (spawned)
			pthread_join(tid, NULL);
	}
out:
	if (cnt)
		gsl_matrix_free(cnt);
	if (tot)
		gsl_matrix_free(tot);
	if (rng)
		gsl_rng_free(rng);
	return rc;
}

static ks_err check_opts(const drv_acc *a, const drv_opts *o, ks_error *e)
{
	if (o->method != DRV_RELWEIGHTS && o->method != DRV_SHAPLEY)
		return ks_fail(e, KS_ERR_INVALID, "method", "method must be relweights or shapley");
	if (o->method == DRV_SHAPLEY && a->l.p > DRV_MAX_SHAPLEY)
		return ks_fail(e, KS_ERR_INVALID, "drivers",
			       "shapley is exact over all 2^p subsets: at most %d drivers, got %d "
			       "(use relweights)",
			       DRV_MAX_SHAPLEY, a->l.p);
	if (o->bootstrap < 0 || o->bootstrap > DRV_MAX_BOOTSTRAP)
		return ks_fail(e, KS_ERR_RANGE, "bootstrap", "bootstrap must be 0..%d, got %d",
			       DRV_MAX_BOOTSTRAP, o->bootstrap);
	if (o->threads < 1 || o->threads > 2)
		return ks_fail(e, KS_ERR_RANGE, "threads", "threads must be 1 or 2, got %d", o->threads);
	return KS_OK;
}

/* Sum of all groups into tot; the non-empty groups' rows copied into a
 * new (ng x K) matrix for the bootstrap (NULL when not wanted). */
static ks_err totals(const drv_acc *a, double *tot, gsl_matrix **compact, int *ngroups, ks_error *e)
{
	const drv_layout *l = &a->l;
	int ng = 0;
	double *d = malloc((size_t)l->k * sizeof *d);
	if (!d)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	char *used = calloc((size_t)a->groups, 1);
	if (!used) {
		free(d);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	memset(tot, 0, (size_t)l->k * sizeof *tot);
	for (int g = 0; g < a->groups; g++) {
		drv_acc_group(a, g, d);
		if (d[l->off_cn] <= 0)
			continue;
		used[g] = 1;
		ng++;
		for (int i = 0; i < l->k; i++)
			tot[i] += d[i];
	}
	free(d);
	*ngroups = ng;
	ks_err rc = KS_OK;
	if (compact && ng > 0) {
		*compact = gsl_matrix_alloc((size_t)ng, (size_t)l->k);
		if (!*compact)
			rc = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		for (int g = 0, r = 0; !rc && g < a->groups; g++)
			if (used[g])
				drv_acc_group(a, g, gsl_matrix_ptr(*compact, (size_t)r++, 0));
	}
	free(used);
	return rc;
}

static void fill_point(drv_result *r, const fit_ws *ws, const double *shift, const double *wt,
		       const double *beta, const double *vs, double r2)
{
	int p = r->p, rk[DRV_MAX_DRIVERS];
	ranks_of(wt, p, rk);
	r->r2 = r2;
	r->r2_lo = r->r2_hi = NAN;
	r->repaired = ws->repaired;
	r->min_eigen = ws->min_eigen;
	for (int j = 0; j < p; j++) {
		drv_driver *d = &r->driver[j];
		d->n_pairs = ws->nvar[j + 1];
		d->mean = ws->mean[j + 1] + shift[j + 1];
		d->sd = ws->sd[j + 1];
		d->weight = wt[j];
		d->share = r2 > 0 ? wt[j] / r2 : NAN;
		d->rank = d->rank_lo = d->rank_hi = rk[j];
		d->vs_noise = vs[j];
		d->beta = beta[j];
		d->weight_lo = d->weight_hi = d->share_lo = d->share_hi = NAN;
		d->vs_noise_lo = d->vs_noise_hi = d->beta_lo = d->beta_hi = NAN;
		d->shown_to_matter = false;
	}
}

static void fill_intervals(drv_result *r, const boot *bt, double *buf)
{
	int p = r->p, used = 0;
	for (int b = 0; b < bt->nrep; b++)
		used += bt->ok[b] != 0;
	r->bootstrap_used = used;
	if (used == 0)
		return;
	interval(bt->r2, bt->ok, bt->nrep, 1, 0, buf, &r->r2_lo, &r->r2_hi);
	for (int j = 0; j < p; j++) {
		drv_driver *d = &r->driver[j];
		double lo, hi;
		interval(bt->w, bt->ok, bt->nrep, p, j, buf, &d->weight_lo, &d->weight_hi);
		interval(bt->share, bt->ok, bt->nrep, p, j, buf, &d->share_lo, &d->share_hi);
		interval(bt->vs, bt->ok, bt->nrep, p, j, buf, &d->vs_noise_lo, &d->vs_noise_hi);
		interval(bt->beta, bt->ok, bt->nrep, p, j, buf, &d->beta_lo, &d->beta_hi);
		interval(bt->rank, bt->ok, bt->nrep, p, j, buf, &lo, &hi);
		d->rank_lo = (int)floor(lo);
		d->rank_hi = (int)ceil(hi);
		d->shown_to_matter = d->vs_noise_lo > 0;
	}
}

static void boot_free(boot *bt)
{
	free(bt->w);
	free(bt->share);
	free(bt->vs);
	free(bt->beta);
	free(bt->rank);
	free(bt->r2);
	free(bt->ok);
}

/* OpenBLAS (Debian's pthread build) would start threads of its own for
 * the matrix products and let them spin between calls, fighting the two
 * bootstrap threads for the cores: the p x p products here are far too
 * small to gain from them (measured: 1,000 replicates of 12 drivers 1.84 s
 * with OpenBLAS threads, 0.28 s without). Process-wide, set once. */
void openblas_set_num_threads(int num_threads); /* OpenBLAS's cblas.h */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_single(void)
{
	openblas_set_num_threads(1);
	gsl_set_error_handler_off();
}

ks_err drv_analyze(const drv_acc *a, const drv_opts *o, drv_result *r, ks_error *e)
{
	memset(r, 0, sizeof *r);
	ks_err rc = check_opts(a, o, e);
	if (rc)
		return rc;
	pthread_once(&blas_once, blas_single);
	const drv_layout *l = &a->l;
	int p = l->p, nthreads = o->bootstrap > 0 ? o->threads : 1, ng = 0;
	fit_ws *ws[2] = {NULL, NULL};
	gsl_matrix *groups = NULL;
	boot bt = {.l = l, .o = o, .p = p, .nrep = o->bootstrap};
	double *tot = malloc((size_t)l->k * sizeof *tot), *buf = NULL;
	double wt[DRV_MAX_DRIVERS], beta[DRV_MAX_DRIVERS], vs[DRV_MAX_DRIVERS], r2 = 0;
	if (!tot) {
		rc = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if ((rc = totals(a, tot, o->bootstrap > 0 ? &groups : NULL, &ng, e)))
		goto out;
	for (int i = 0; i < nthreads; i++)
		if (!(ws[i] = fit_ws_new(p, o->method))) {
			rc = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
			goto out;
		}
	fit_status st = fit_model(ws[0], l, tot, wt, beta, &r2, seed_for(o->seed, UINT64_MAX >> 2, 2), vs);
	if (st != FIT_OK) {
		rc = report(st, ws[0], o, a->rows, e);
		goto out;
	}
	r->driver = calloc((size_t)p, sizeof *r->driver);
	if (!r->driver) {
		rc = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	r->n = a->rows;
	r->p = p;
	r->method = o->method;
	r->bootstrap = o->bootstrap;
	r->groups_used = ng;
	fill_point(r, ws[0], a->shift, wt, beta, vs, r2);
	if (o->bootstrap == 0)
		goto out;
	size_t np = (size_t)o->bootstrap * (size_t)p;
	bt.w = malloc(np * sizeof(double));
	bt.share = malloc(np * sizeof(double));
	bt.vs = malloc(np * sizeof(double));
	bt.beta = malloc(np * sizeof(double));
	bt.rank = malloc(np * sizeof(double));
	bt.r2 = malloc((size_t)o->bootstrap * sizeof(double));
	bt.ok = calloc((size_t)o->bootstrap, 1);
	buf = malloc((size_t)o->bootstrap * sizeof(double));
	if (!bt.w || !bt.share || !bt.vs || !bt.beta || !bt.rank || !bt.r2 || !bt.ok || !buf) {
		rc = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	if ((rc = run_bootstrap(&bt, groups, ws, nthreads, e)))
		goto out;
	fill_intervals(r, &bt, buf);
out:
	if (rc)
		drv_result_free(r);
	boot_free(&bt);
	free(buf);
	free(tot);
	if (groups)
		gsl_matrix_free(groups);
	fit_ws_free(ws[0]);
	fit_ws_free(ws[1]);
	return rc;
}
