/* analytics_inproc.c — klantstem's analytics engine timed in-process, for
 * bench/analytics (which compiles it against build/release's objects).
 *
 *   analytics_inproc DB RESULT_CSV [RUNS [WARMUPS [THREADS_NOTE]]]
 *
 * Opens the store (store_open), builds the in-memory index (an_index_build),
 * then runs an_query grouped by {team, month} with an empty filter WARMUPS
 * times untimed and RUNS times timed (each run includes an_result_free).
 * Writes the groups of the last run to RESULT_CSV as
 *   team_id,YYYY-MM,n,promoters,detractors
 * and prints key=value lines on stdout:
 *   rows, bytes_per_row, bytes_total, build_ms, build_wall_ms, open_ms, groups,
 *   median_ms, min_ms, max_ms, runs_ms (comma separated), cpu_median_ms (CPU time
 *   of the process during a query: both threads), rss_kb
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/analytics.h"
#include "core/tz.h"
#include "store/store.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: analytics_inproc DB RESULT_CSV [RUNS [WARMUPS]]\n");
		return 2;
	}
	const char *db = argv[1], *result = argv[2];
	int runs = argc > 3 ? atoi(argv[3]) : 7;
	int warmups = argc > 4 ? atoi(argv[4]) : 2;
	if (runs < 1 || runs > 1000 || warmups < 0 || warmups > 1000) {
		fprintf(stderr, "analytics_inproc: RUNS 1..1000, WARMUPS 0..1000\n");
		return 2;
	}

	ks_error e;
	ks_error_clear(&e);
	ks_store *s = NULL;
	double t0 = now_ms();
	if (store_open(db, NULL, &s, &e)) {
		fprintf(stderr, "analytics_inproc: store_open %s: %s\n", db, e.message);
		return 1;
	}
	double t1 = now_ms();
	an_index *ix = NULL;
	if (an_index_build(s, &ix, &e)) {
		fprintf(stderr, "analytics_inproc: an_index_build: %s\n", e.message);
		store_close(s);
		return 1;
	}
	double t2 = now_ms();
	/* The reference engines (SQLite, PostgreSQL, DuckDB) group by UTC
	 * month; the index is given the same calendar so the results compare.
	 * Local time costs the same per row either way (a table lookup). */
	ks_tz utc;
	if (tz_lookup("UTC", &utc, &e) == KS_OK)
		an_index_set_tz(ix, &utc);
	an_index_info info;
	an_index_get_info(ix, &info);

	an_filter f;
	memset(&f, 0, sizeof f);
	/* The query is NPS by team x month: count NPS only, as the API does
	 * with measures=nps. KS_MEASURES=all counts grade and CES too. */
	const char *measures = getenv("KS_MEASURES");
	f.nps_only = measures == NULL || strcmp(measures, "all") != 0;
	const an_dim dims[2] = {AN_DIM_TEAM, AN_DIM_MONTH};
	double *ms = calloc((size_t)runs, sizeof *ms), *cpu = calloc((size_t)runs, sizeof *cpu);
	an_result r;
	memset(&r, 0, sizeof r);
	int rc = 0;
	for (int i = 0; i < warmups + runs; i++) {
		double a = now_ms(), ca = cpu_ms();
		if (an_query(ix, &f, dims, 2, &r, &e)) {
			fprintf(stderr, "analytics_inproc: an_query: %s\n", e.message);
			rc = 1;
			break;
		}
		bool last = i == warmups + runs - 1;
		if (!last)
			an_result_free(&r);
		double b = now_ms(), cb = cpu_ms();
		if (i >= warmups) {
			ms[i - warmups] = b - a;
			cpu[i - warmups] = cb - ca;
		}
	}
	if (rc == 0) {
		FILE *out = fopen(result, "w");
		if (out == NULL) {
			perror(result);
			rc = 1;
		} else {
			for (size_t g = 0; g < r.n_groups; g++) {
				const an_group *grp = &r.groups[g];
				fprintf(out, "%lld,%s,%lld,%lld,%lld\n", (long long)grp->id[0], grp->key[1],
					(long long)grp->c.n, (long long)grp->c.promoters,
					(long long)grp->c.detractors);
			}
			if (fclose(out) != 0) {
				perror(result);
				rc = 1;
			}
		}
		size_t groups = r.n_groups;
		an_result_free(&r);
		double *sorted = malloc((size_t)runs * sizeof *sorted);
		memcpy(sorted, ms, (size_t)runs * sizeof *sorted);
		qsort(sorted, (size_t)runs, sizeof *sorted, cmp_double);
		double median = runs % 2 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2;
		printf("rows=%zu\nbytes_per_row=%zu\nbytes_total=%zu\nbuild_ms=%lld\nbuild_wall_ms=%.0f\n"
		       "open_ms=%.0f\ngroups=%zu\nmedian_ms=%.3f\nmin_ms=%.3f\nmax_ms=%.3f\nruns_ms=",
		       info.rows, info.bytes_per_row, info.bytes_total, (long long)info.build_ms, t2 - t1,
		       t1 - t0, groups, median, sorted[0], sorted[runs - 1]);
		for (int i = 0; i < runs; i++)
			printf("%s%.3f", i ? "," : "", ms[i]);
		memcpy(sorted, cpu, (size_t)runs * sizeof *sorted);
		qsort(sorted, (size_t)runs, sizeof *sorted, cmp_double);
		printf("\ncpu_median_ms=%.3f\nrss_kb=%ld\n",
		       runs % 2 ? sorted[runs / 2] : (sorted[runs / 2 - 1] + sorted[runs / 2]) / 2, rss_kb());
		free(sorted);
	}
	free(ms);
	free(cpu);
	store_close(s);
	an_index_free(ix); /* after the store: its writer feeds the index until it stops */
	return rc;
}
