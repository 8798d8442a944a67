/* prom.c — issue 18 (ops): see prom.h. One cell of counters per
 * (route slot, method, status class), one latency histogram per route
 * slot; all relaxed atomics, so a request costs a few uncontended adds. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "http/prom.h"

#define PROM_METHODS 8
static const char *const prom_methods[PROM_METHODS] = {"GET",	 "HEAD",   "POST", "PUT",
						       "PATCH", "DELETE", "OPTIONS", "OTHER"};
static const double prom_bounds[HTTP_PROM_BUCKETS] = HTTP_PROM_BUCKET_BOUNDS;

typedef struct prom_slot {
	_Atomic uint64_t count[PROM_METHODS][5];      /* status 1xx..5xx */
	_Atomic uint64_t bucket[HTTP_PROM_BUCKETS + 1]; /* not cumulative; last = +Inf */
	_Atomic uint64_t sum_us;
} prom_slot;

struct http_prom {
	const http_route *routes;
	size_t n;           /* routes; slots n and n + 1 are static / unmatched */
	prom_slot slot[];
};

ks_err http_prom_new(const http_route *routes, size_t n, http_prom **out, ks_error *e)
{
	http_prom *p = calloc(1, sizeof *p + (n + 2) * sizeof(prom_slot));
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	p->routes = routes;
	p->n = n;
	*out = p;
	return KS_OK;
}

void http_prom_free(http_prom *p)
{
	free(p);
}

static int prom_method_ix(const char *m)
{
	for (int i = 0; m && i < PROM_METHODS - 1; i++)
		if (strcmp(m, prom_methods[i]) == 0)
			return i;
	return PROM_METHODS - 1;
}

void http_prom_observe(http_prom *p, int slot, const char *method, int status, int64_t us)
{
	if (p == NULL)
		return;
	size_t s = slot < 0 || (size_t)slot > p->n + 1 ? p->n + 1 : (size_t)slot;
	prom_slot *ps = &p->slot[s];
	int cls = status >= 100 && status < 600 ? status / 100 - 1 : 4;
	double secs = (double)(us < 0 ? 0 : us) / 1e6;
	int b = 0;
	while (b < HTTP_PROM_BUCKETS && secs > prom_bounds[b])
		b++;
	/* bucket before count: a scrape never sees _count behind a bucket */
	atomic_fetch_add_explicit(&ps->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ps->sum_us, (uint64_t)(us < 0 ? 0 : us), memory_order_relaxed);
	atomic_fetch_add_explicit(&ps->count[prom_method_ix(method)][cls], 1, memory_order_release);
}

ks_err prom_family(ks_buf *out, const char *name, const char *type, const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

ks_err prom_sample(ks_buf *out, const char *name, const char *labels, double value)
{
	if (labels && labels[0])
		return buf_printf(out, "%s{%s} %.17g\n", name, labels, value);
	return buf_printf(out, "%s %.17g\n", name, value);
}

ks_err prom_sample_u(ks_buf *out, const char *name, const char *labels, uint64_t value)
{
	if (labels && labels[0])
		return buf_printf(out, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
	return buf_printf(out, "%s %llu\n", name, (unsigned long long)value);
}

/* A label value: '\\', '"' and newlines escaped as the format wants. */
static void prom_label(char *out, size_t n, const char *s)
{
	size_t o = 0;
	for (; *s && o + 3 < n; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			out[o++] = '\\';
			out[o++] = *s == '\n' ? 'n' : *s;
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

static const char *prom_slot_name(const http_prom *p, size_t s)
{
	return s < p->n ? p->routes[s].pattern : s == p->n ? "static" : "unmatched";
}

ks_err http_prom_render(http_prom *p, ks_buf *out)
{
	static const char *const classes[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
	ks_err err = prom_family(out, "klantstem_http_requests_total", "counter",
				 "HTTP requests finished, by route pattern, method and status class.");
	char route[300], labels[400];
	for (size_t s = 0; !err && s < p->n + 2; s++) {
		prom_label(route, sizeof route, prom_slot_name(p, s));
		for (int m = 0; m < PROM_METHODS; m++)
			for (int c = 0; c < 5; c++) {
				uint64_t v = atomic_load_explicit(&p->slot[s].count[m][c], memory_order_acquire);
				if (v == 0)
					continue;
				snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",code=\"%s\"", route,
					 prom_methods[m], classes[c]);
				err = err ? err : prom_sample_u(out, "klantstem_http_requests_total", labels, v);
			}
	}
	if (!err)
		err = prom_family(out, "klantstem_http_request_duration_seconds", "histogram",
				  "Time from the request line to the reply's end, by route pattern.");
	for (size_t s = 0; !err && s < p->n + 2; s++) {
		prom_slot *ps = &p->slot[s];
		/* _count is read first: with bucket-before-count in observe, the
		 * buckets summed below reach it at +Inf; a request racing the
		 * scrape is left out (each bucket is capped at _count) */
		uint64_t count = 0;
		for (int m = 0; m < PROM_METHODS; m++)
			for (int c = 0; c < 5; c++)
				count += atomic_load_explicit(&ps->count[m][c], memory_order_acquire);
		if (count == 0)
			continue;
		prom_label(route, sizeof route, prom_slot_name(p, s));
		uint64_t cum = 0;
		for (int b = 0; !err && b <= HTTP_PROM_BUCKETS; b++) {
			cum += atomic_load_explicit(&ps->bucket[b], memory_order_relaxed);
			if (b < HTTP_PROM_BUCKETS)
				snprintf(labels, sizeof labels, "route=\"%s\",le=\"%g\"", route, prom_bounds[b]);
			else
				snprintf(labels, sizeof labels, "route=\"%s\",le=\"+Inf\"", route);
			err = prom_sample_u(out, "klantstem_http_request_duration_seconds_bucket", labels,
					    cum < count ? cum : count);
		}
		snprintf(labels, sizeof labels, "route=\"%s\"", route);
		if (!err)
			err = prom_sample(out, "klantstem_http_request_duration_seconds_sum", labels,
					  (double)atomic_load_explicit(&ps->sum_us, memory_order_relaxed) / 1e6);
		if (!err)
			err = prom_sample_u(out, "klantstem_http_request_duration_seconds_count", labels, count);
	}
	return err;
}
