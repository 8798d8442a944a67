/* drivers_bench.c — src/drivers timed in-process (bench/drivers/run builds
 * and runs it).
 *
 *   drivers_bench ROWS DRIVERS REPLICATES MISSING_PERCENT OUT.f64
 *
 * Generates ROWS responses (splitmix64, fixed seed): DRIVERS ratings 0..10
 * sharing a common factor and skewed towards the top like real driver
 * ratings, MISSING_PERCENT of them NAN ("not applicable"), and the NPS
 * outcome of each respondent (+100 promoter, 0 passive, -100 detractor)
 * from a linear model with decreasing weights. Generation is not timed.
 * Then times:
 *   - the accumulation pass (rows -> 4096 groups of sufficient statistics)
 *     on one thread and on two (two accumulators, merged);
 *   - drv_analyze for relative weights and Shapley, without and with
 *     REPLICATES bootstrap replicates (two threads).
 * Writes the complete rows (y, x1..xp as float64, row-major) to OUT.f64 for
 * the numpy reference of bench/drivers/run, and prints one line per
 * measurement: "name seconds", then the top weights as a check. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/drivers.h"

#define GROUPS 4096

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t state = 2026;
static double uni(void)
{
	uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double normal(void)
{
	return sqrt(-2 * log(uni())) * cos(6.283185307179586 * uni());
}

typedef struct job {
	const double *y, *x;
	long from, to;
	int p;
	drv_acc *acc;
} job;

static void *fill(void *arg)
{
	job *j = arg;
	for (long i = j->from; i < j->to; i++)
		drv_acc_add(j->acc, (int)(i % GROUPS), j->y[i], j->x + (size_t)i * (size_t)j->p);
	return NULL;
}

static drv_acc *accumulate(const double *y, const double *x, long n, int p, int threads, double *secs)
{
	drv_acc *a[2] = {NULL, NULL};
	ks_error e;
	for (int t = 0; t < threads; t++)
		if (drv_acc_new(p, GROUPS, &a[t], &e)) {
			fprintf(stderr, "drv_acc_new: %s\n", e.message);
			exit(1);
		}
	double t0 = now();
	job jb[2];
	pthread_t th;
	for (int t = 0; t < threads; t++)
		jb[t] = (job){y, x, n * t / threads, n * (t + 1) / threads, p, a[t]};
	if (threads == 2)
		pthread_create(&th, NULL, fill, &jb[1]);
	fill(&jb[0]);
	if (threads == 2) {
		pthread_join(th, NULL);
		drv_acc_merge(a[0], a[1], &e);
		drv_acc_free(a[1]);
	}
	*secs = now() - t0;
	return a[0];
}

static drv_result analyze(const drv_acc *a, drv_method m, int reps, double *secs)
{
	drv_opts o;
	drv_opts_default(&o);
	o.method = m;
	o.bootstrap = reps;
	drv_result r;
	ks_error e;
	double t0 = now();
	if (drv_analyze(a, &o, &r, &e)) {
		fprintf(stderr, "drv_analyze: %s (%s)\n", e.message, e.field);
		exit(1);
	}
	*secs = now() - t0;
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: drivers_bench ROWS DRIVERS REPLICATES MISSING_PERCENT OUT.f64\n");
		return 2;
	}
	long n = atol(argv[1]);
	int p = atoi(argv[2]), reps = atoi(argv[3]);
	double miss = atof(argv[4]) / 100;
	double *y = malloc((size_t)n * sizeof *y), *x = malloc((size_t)n * (size_t)p * sizeof *x);
	double *xc = malloc((size_t)n * (size_t)p * sizeof *x);
	if (!y || !x || !xc)
		return 1;
	for (long i = 0; i < n; i++) {
		double f = normal(), lat = 0;
		for (int j = 0; j < p; j++) {
			double z = 0.6 * f + 0.8 * normal();
			lat += z * 0.6 / (1 + j);
			double v = round(8.2 + 1.6 * z - 0.4 * z * z); /* skewed to the top */
			v = v < 0 ? 0 : v > 10 ? 10 : v;
			xc[(size_t)i * (size_t)p + (size_t)j] = v;
			x[(size_t)i * (size_t)p + (size_t)j] = uni() < miss ? NAN : v;
		}
		double s = 8 + 1.5 * (lat + 0.8 * normal());
		y[i] = s >= 8.5 ? 100 : s >= 6.5 ? 0 : -100;
	}
	FILE *f = fopen(argv[5], "wb");
	if (!f)
		return 1;
	for (long i = 0; i < n; i++) {
		fwrite(&y[i], sizeof(double), 1, f);
		fwrite(xc + (size_t)i * (size_t)p, sizeof(double), (size_t)p, f);
	}
	fclose(f);

	double s;
	drv_acc *a = accumulate(y, xc, n, p, 1, &s);
	printf("accumulate_complete_1t %.4f\n", s);
	drv_acc_free(a);
	a = accumulate(y, xc, n, p, 2, &s);
	printf("accumulate_complete_2t %.4f\n", s);
	double s_acc = s;
	drv_result r = analyze(a, DRV_RELWEIGHTS, 0, &s);
	printf("relweights_fit %.6f\n", s);
	printf("relweights_total_2t %.4f\n", s_acc + s);
	printf("check_r2 %.6f\n", r.r2);
	for (int j = 0; j < 3 && j < p; j++)
		printf("check_weight_%d %.6f\n", j + 1, r.driver[j].weight);
	drv_result_free(&r);
	r = analyze(a, DRV_SHAPLEY, 0, &s);
	printf("shapley_fit %.6f\n", s);
	for (int j = 0; j < 3 && j < p; j++)
		printf("check_shapley_%d %.6f\n", j + 1, r.driver[j].weight);
	drv_result_free(&r);
	r = analyze(a, DRV_RELWEIGHTS, reps, &s);
	printf("relweights_boot %.4f\n", s);
	drv_result_free(&r);
	r = analyze(a, DRV_SHAPLEY, reps, &s);
	printf("shapley_boot %.4f\n", s);
	printf("check_shown %d\n", r.driver[0].shown_to_matter);
	drv_result_free(&r);
	drv_acc_free(a);

	a = accumulate(y, x, n, p, 2, &s);
	printf("accumulate_missing_2t %.4f\n", s);
	r = analyze(a, DRV_RELWEIGHTS, reps, &s);
	printf("relweights_boot_missing %.4f\n", s);
	drv_result_free(&r);
	drv_acc_free(a);
	free(y);
	free(x);
	free(xc);
	return 0;
}
