/* prom.h — issue 18 (ops): request counters and latency histograms of the
 * HTTP server, written as Prometheus text (exposition format 0.0.4).
 *
 * Contract:
 *  - Requests are counted by the matched route's PATTERN ("/p/{token}"),
 *    never by the raw path: a path may hold a link token. A request no
 *    route matched counts under "static" (a file of the web UI) or
 *    "unmatched" (404, 405, refusals before routing).
 *  - http_prom_observe is the hot path: relaxed atomic adds on counters
 *    owned by the http_prom, no lock, no allocation. Rendering reads the
 *    same atomics; a scrape may see a request in its bucket and not yet
 *    in _count, never the other way round in one series: the bucket is
 *    added first and the count with release, and rendering reads the
 *    count (acquire) before the buckets, so _count <= the +Inf bucket.
 *  - The http_prom belongs to the http_server (server.c); rendering is
 *    done on the metrics listener's own thread.
 */
#ifndef KS_HTTP_PROM_H
#define KS_HTTP_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "http/http.h"

/* Latency buckets in seconds (upper bounds; +Inf follows). */
#define HTTP_PROM_BUCKETS 12
#define HTTP_PROM_BUCKET_BOUNDS \
	{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5}

typedef struct http_prom http_prom;

/* A registry for the n routes of routes (borrowed: must outlive it).
 * Slot n is "static", slot n + 1 "unmatched". *out owned by the caller. */
ks_err http_prom_new(const http_route *routes, size_t n, http_prom **out, ks_error *e);
void http_prom_free(http_prom *p);
/* One finished request: slot as above (a negative slot = "unmatched"),
 * method as sent (counted as itself when one of the usual ones, else
 * "OTHER"), status, and its duration in microseconds. */
void http_prom_observe(http_prom *p, int slot, const char *method, int status, int64_t us);
/* Append klantstem_http_requests_total and
 * klantstem_http_request_duration_seconds (series with at least one
 * request only). */
ks_err http_prom_render(http_prom *p, ks_buf *out);

/* Helpers for the other families (gauges and counters of other modules):
 * "# HELP" and "# TYPE" lines, then samples. labels is "" or
 * `name="value",...` with values already safe (route patterns, fixed
 * words). */
ks_err prom_family(ks_buf *out, const char *name, const char *type, const char *help);
ks_err prom_sample(ks_buf *out, const char *name, const char *labels, double value);
ks_err prom_sample_u(ks_buf *out, const char *name, const char *labels, uint64_t value);

#endif
