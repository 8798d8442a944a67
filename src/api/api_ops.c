/* api_ops.c — issue 18 (ops): readiness (/readyz) and the application's
 * Prometheus families. Readiness reads counters the modules keep anyway
 * (one lock each, no SQL, no I/O), so a load balancer may probe every
 * second; so do the metrics, except the outbox queues (a scrape's few
 * indexed COUNTs, below).
 *
 * Liveness (/healthz) says the process answers; readiness says this node
 * can do its work now: the store is open at the current schema, the
 * writer is running and not failing, the disk is not full, the analytics
 * index is built, and the scheduler's background thread has finished a
 * pass recently. docs/OPERATIONS.md.
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "http/prom.h"

extern const int store_n_migrations; /* the embedded migrations (gen/migrations.c) */

/* Seconds since the scheduler's last pass ended; *background false in
 * test mode (passes only on request). */
static double api_sched_lag(api_app *app, bool *background)
{
	int64_t last = 0;
	*background = invite_scheduler_last_pass(app->scheduler, &last);
	return (double)(clock_mono_ms() - last) / 1000.0;
}

ks_err api_readyz(http_req *req, ks_error *e)
{
	(void)e;
	api_app *app = req->app;
	store_ops_stats st;
	store_ops_get(app->store, &st);
	json_t *reasons = json_array();
	if (st.schema_version != store_n_migrations)
		json_array_append_new(reasons, json_string("migrations_pending"));
	if (!st.writer_running)
		json_array_append_new(reasons, json_string("writer_stopped"));
	if (st.storage_full)
		json_array_append_new(reasons, json_string("storage_full"));
	if (st.writer_failing)
		json_array_append_new(reasons, json_string("writer_failing"));
	if (app->index == NULL)
		json_array_append_new(reasons, json_string("index_not_built"));
	json_t *sched = json_null();
	if (app->scheduler) {
		bool background = false;
		double lag = api_sched_lag(app, &background);
		int max = app->ready_sched_max_s > 0 ? app->ready_sched_max_s : API_READY_SCHED_MAX_S;
		if (background && lag > max)
			json_array_append_new(reasons, json_string("scheduler_stalled"));
		sched = json_pack("{s:f, s:b}", "last_pass_s_ago", lag, "background", background);
	} else {
		json_array_append_new(reasons, json_string("scheduler_stopped"));
	}
	an_index_info info = {0};
	if (app->index)
		an_index_get_info(app->index, &info);
	bool ready = json_array_size(reasons) == 0;
	http_reply_json(req, ready ? 200 : 503,
			json_pack("{s:b, s:o, s:i, s:I, s:I, s:o}", "ready", ready, "reasons", reasons,
				  "schema_version", st.schema_version, "writer_queue",
				  (json_int_t)st.queue_depth, "index_rows", (json_int_t)info.rows,
				  "scheduler", sched));
	return KS_OK;
}

static void api_prom_store(api_app *app, ks_buf *out)
{
	store_ops_stats st;
	store_ops_get(app->store, &st);
	prom_family(out, "klantstem_store_writer_queue_depth", "gauge",
		    "Responses and contacts handed to the writer and not written yet.");
	prom_sample_u(out, "klantstem_store_writer_queue_depth", "", st.queue_depth);
	prom_family(out, "klantstem_store_commits_total", "counter",
		    "Group-commit transactions committed (one WAL fsync each: synchronous=FULL).");
	prom_sample_u(out, "klantstem_store_commits_total", "", st.commits);
	prom_family(out, "klantstem_store_batch_size", "histogram",
		    "Items per group-commit batch (committed or rolled back).");
	uint64_t cum = 0;
	char labels[32];
	for (int i = 0; i < STORE_BATCH_BUCKETS; i++) {
		cum += st.batch_hist[i];
		if (i < STORE_BATCH_BUCKETS - 1)
			snprintf(labels, sizeof labels, "le=\"%d\"", 1 << i);
		else
			snprintf(labels, sizeof labels, "le=\"+Inf\"");
		prom_sample_u(out, "klantstem_store_batch_size_bucket", labels, cum);
	}
	prom_sample_u(out, "klantstem_store_batch_size_sum", "", st.rows);
	prom_sample_u(out, "klantstem_store_batch_size_count", "", st.batches);
	prom_family(out, "klantstem_store_storage_full", "gauge",
		    "1 while intake is refused because the disk is full.");
	prom_sample_u(out, "klantstem_store_storage_full", "", st.storage_full ? 1 : 0);
	prom_family(out, "klantstem_store_writer_failing", "gauge",
		    "1 when the writer's last batch rolled back as a whole.");
	prom_sample_u(out, "klantstem_store_writer_failing", "", st.writer_failing ? 1 : 0);
}

/* The queues per kind (store_outbox_depths: the one family here that asks
 * the database, a few indexed COUNTs per scrape). On a store error the
 * families are left out rather than shown as zero: an empty queue and an
 * unknown one must not look alike. */
static void api_prom_outboxes(api_app *app, ks_buf *out)
{
	store_outbox_depth d[STORE_OUTBOX_KINDS];
	ks_error e = {0};
	if (store_outbox_depths(app->store, clock_now(app->clock), d, &e))
		return;
	char labels[64];
	prom_family(out, "klantstem_outbox_due", "gauge",
		    "Mails and webhook events due now and not yet being sent, per kind.");
	for (int i = 0; i < STORE_OUTBOX_KINDS; i++) {
		snprintf(labels, sizeof labels, "kind=\"%s\"", d[i].kind);
		prom_sample_u(out, "klantstem_outbox_due", labels, (uint64_t)d[i].due);
	}
	prom_family(out, "klantstem_outbox_oldest_due_seconds", "gauge",
		    "How long the oldest row due of each kind has waited (0 when none is due).");
	for (int i = 0; i < STORE_OUTBOX_KINDS; i++) {
		snprintf(labels, sizeof labels, "kind=\"%s\"", d[i].kind);
		prom_sample_u(out, "klantstem_outbox_oldest_due_seconds", labels, (uint64_t)d[i].oldest_due_s);
	}
}

void api_metrics_extra(void *arg, ks_buf *out)
{
	api_app *app = arg;
	api_prom_store(app, out);
	if (app->scheduler) {
		bool background = false;
		double lag = api_sched_lag(app, &background);
		prom_family(out, "klantstem_scheduler_lag_seconds", "gauge",
			    "Seconds since the scheduler's last pass ended (or it started).");
		prom_sample(out, "klantstem_scheduler_lag_seconds", "", lag);
	}
	api_prom_outboxes(app, out);
	if (app->index) {
		an_index_info info;
		an_index_get_info(app->index, &info);
		prom_family(out, "klantstem_index_rows", "gauge", "Responses in the analytics index.");
		prom_sample_u(out, "klantstem_index_rows", "", info.rows);
		prom_family(out, "klantstem_index_bytes", "gauge",
			    "Memory of the analytics index: columns, dimension and attribute tables.");
		prom_sample_u(out, "klantstem_index_bytes", "", (uint64_t)(info.bytes_total + info.attr_bytes));
	}
}
