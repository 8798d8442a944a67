/* bench/ops/observe_bench.c — the cost of one http_prom_observe (the
 * per-request work of the metrics, src/http/prom.c) in a tight loop, on one
 * thread and on N threads hitting the same route (the worst case: every
 * add on one shared cache line). Wall-clock figures of a whole server
 * vary more than this from run to run on a shared machine (run.py).
 *
 *   cc -O2 -pthread -Isrc bench/ops/observe_bench.c src/http/prom.c \
 *      src/core/buf.c src/core/error.c -o /tmp/observe_bench && /tmp/observe_bench
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http/prom.h"

#define N_OPS 20000000L

static http_prom *prom;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < N_OPS; i++)
		http_prom_observe(prom, 0, "GET", 200, 800 + (i & 1023));
	return NULL;
}

int main(void)
{
	static const http_route routes[] = {{"GET", "/healthz", NULL, 0, 0}};
	if (http_prom_new(routes, 1, &prom, NULL))
		return 1;
	printf("%-8s %14s %12s\n", "threads", "observes/s", "ns each");
	for (int n = 1; n <= 4; n *= 2) {
		pthread_t th[4];
		double t0 = now_s();
		for (int i = 0; i < n; i++)
			pthread_create(&th[i], NULL, worker, NULL);
		for (int i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		double dt = now_s() - t0;
		double total = (double)N_OPS * n;
		printf("%-8d %14.0f %12.1f\n", n, total / dt, dt * 1e9 / (double)N_OPS);
	}
	http_prom_free(prom);
	return 0;
}
