/* sqlite_ops.c — issue 18 (ops): the writer's figures for /readyz and the
 * Prometheus metrics. Everything is read under wq_mu, which the writer
 * takes once per batch anyway: a probe costs one uncontended lock (and a
 * statvfs while the disk is full).
 */
#include <string.h>

#include "store/sqlite_int.h"

int store_batch_bucket(int n)
{
	int i = 0;
	while (i < STORE_BATCH_BUCKETS - 1 && n > (1 << i))
		i++;
	return i;
}

void store_ops_get(ks_store *s, store_ops_stats *out)
{
	memset(out, 0, sizeof *out);
	/* Re-tests the room only while the disk is full (statvfs; on its way
	 * back it makes the reserve file again), and clears storage_full. */
	sq_storage_refuse(s);
	int64_t now = clock_mono_ms();
	pthread_mutex_lock(&s->wq_mu);
	out->batches = s->n_batches;
	out->commits = s->n_commits;
	out->rows = s->n_rows;
	out->queue_depth = s->n_enqueued >= s->n_rows ? s->n_enqueued - s->n_rows : 0;
	memcpy(out->batch_hist, s->batch_hist, sizeof out->batch_hist);
	out->storage_full = s->storage_full;
	/* The writer keeps no time of its failures: the first probe that
	 * sees a new failed batch starts the hold, which can only make it
	 * later than the failure, never earlier. */
	if (s->last_batch_failed && s->ops_fail_batches != s->n_batches) {
		s->ops_fail_batches = s->n_batches;
		s->ops_fail_ms = now;
	}
	out->writer_failing = s->last_batch_failed && now - s->ops_fail_ms < STORE_WRITER_FAIL_HOLD_MS;
	out->writer_running = s->writer_started && !s->closing;
	pthread_mutex_unlock(&s->wq_mu);
	out->schema_version = s->version;
}
