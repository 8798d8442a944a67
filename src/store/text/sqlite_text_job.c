/* sqlite_text_job.c — the reanalysis job (issue 14): after a change of the
 * taxonomy or the model every stored open answer is analysed again, in
 * batches, by a thread of the store's own, with its progress in the
 * text_reanalysis row (migration 018).
 *
 * Why a thread of the store and not the scheduler's pass: the pass sends
 * mail once a second and must stay short, while a reanalysis of a million
 * answers takes minutes of CPU; the job also needs nothing but the store.
 * The server starts the thread with the scheduler (store_text_jobs_start)
 * and the store stops it before closing its connections.
 *
 * Each batch is one transaction that writes the answers' rows AND moves
 * the job's cursor (the last response id done), so after a crash or a
 * kill the job resumes exactly after the last committed batch. The job
 * covers the answers that existed when it started (id <= upto); newer ones
 * were analysed by the writer with the new context already. A new change
 * while a job runs restarts it from the first answer.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "text/text.h"

#define SQ_JOB_BATCH 500

ks_err sq_text_job_begin(ks_store *s, sq_conn *c, const char *reason, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "INSERT INTO text_reanalysis(id, reason, cursor, upto, done, total, started_at, finished_at)"
			      " SELECT 1, ?1, 0, coalesce(max(id), 0), 0, count(*), ?2, NULL FROM responses"
			      " WHERE open_text IS NOT NULL AND open_text <> ''"
			      " ON CONFLICT(id) DO UPDATE SET reason = excluded.reason, cursor = 0,"
			      " upto = excluded.upto, done = 0, total = excluded.total,"
			      " started_at = excluded.started_at, finished_at = NULL",
			      &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, reason, -1, DB_STATIC);
	db_bind_int64(st, 2, clock_now(s->clock));
	return sq_cstep(c, st, e);
}

void sq_text_job_wake(ks_store *s)
{
	if (!s->text_inited)
		return;
	pthread_mutex_lock(&s->job_mu);
	s->job_wake = true;
	pthread_cond_signal(&s->job_cv);
	pthread_mutex_unlock(&s->job_mu);
}

/* The job row; *found false when no job ever ran. */
typedef struct sq_job {
	bool found, running;
	char reason[16];
	int64_t cursor, upto, done, total, started_at, finished_at;
} sq_job;

static ks_err sq_job_read(sq_conn *c, sq_job *j, ks_error *e)
{
	memset(j, 0, sizeof *j);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT reason, cursor, upto, done, total, started_at, coalesce(finished_at, 0),"
			      " finished_at IS NULL FROM text_reanalysis WHERE id = 1", &st, e);
	if (err)
		return err;
	int rc = db_step(st);
	if (rc == DB_ROW) {
		j->found = true;
		snprintf(j->reason, sizeof j->reason, "%s", sq_ctext(st, 0));
		j->cursor = db_column_int64(st, 1);
		j->upto = db_column_int64(st, 2);
		j->done = db_column_int64(st, 3);
		j->total = db_column_int64(st, 4);
		j->started_at = db_column_int64(st, 5);
		j->finished_at = db_column_int64(st, 6);
		j->running = db_column_int(st, 7) != 0;
	} else if (rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

static json_t *sq_job_json(const sq_job *j)
{
	return json_pack("{s:b, s:I, s:I, s:o, s:o, s:o}", "running", j->running, "done", (json_int_t)j->done,
			 "total", (json_int_t)j->total, "reason", j->found ? json_string(j->reason) : json_null(),
			 "started_at", sq_iso_or_null(j->started_at), "finished_at", sq_iso_or_null(j->finished_at));
}

ks_err store_text_job_get(ks_store *s, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	sq_job j;
	ks_err err = sq_job_read(c, &j, e);
	sq_release(s, c);
	if (err)
		return err;
	*out = sq_job_json(&j);
	return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}

/* The answers of one batch, read before analysing them. */
typedef struct sq_job_answer {
	int64_t id;
	char *text;
	char language[3];
} sq_job_answer;

static ks_err sq_job_answers(sq_conn *c, const sq_job *j, int n, sq_job_answer *a, int *got, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT id, open_text, coalesce(language, '') FROM responses WHERE id > ?1"
			      " AND id <= ?2 AND open_text IS NOT NULL AND open_text <> '' ORDER BY id LIMIT ?3",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, j->cursor);
	db_bind_int64(st, 2, j->upto);
	db_bind_int(st, 3, n);
	int rc;
	*got = 0;
	while (!err && (rc = db_step(st)) == DB_ROW) {
		sq_job_answer *x = &a[*got];
		x->id = db_column_int64(st, 0);
		x->text = strdup(sq_ctext(st, 1));
		snprintf(x->language, sizeof x->language, "%s", sq_ctext(st, 2));
		if (x->text == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		else
			(*got)++;
	}
	if (!err && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

static ks_err sq_job_advance(sq_conn *c, int64_t cursor, int got, bool last, int64_t now, ks_error *e)
{
	db_stmt *st;
	/* At the end the total becomes what was done: answers erased while it
	 * ran are not waited for. */
	ks_err err = sq_cprep(c, "UPDATE text_reanalysis SET cursor = ?1, done = done + ?2,"
			      " total = CASE WHEN ?3 THEN done + ?2 ELSE max(total, done + ?2) END,"
			      " finished_at = CASE WHEN ?3 THEN ?4 END WHERE id = 1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, cursor);
	db_bind_int(st, 2, got);
	db_bind_int(st, 3, last);
	db_bind_int64(st, 4, now);
	return sq_cstep(c, st, e);
}

ks_err sq_text_job_batch(ks_store *s, int n, store_reanalyze_counts *k, bool *more, ks_error *e)
{
	*more = false;
	sq_job_answer *a = calloc((size_t)n, sizeof *a);
	if (a == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sq_conn *c = sq_acquire(s);
	text_worker *w = sq_text_worker(s, c, e);
	ks_err err = w ? sq_exec(c, "BEGIN IMMEDIATE", e)
		       : ks_fail(e, KS_ERR_INTERNAL, NULL, "text analysis is off (no language data)");
	sq_job j;
	int got = 0;
	sq_text_buf b = {0};
	if (!err)
		err = sq_job_read(c, &j, e);
	if (!err && j.running)
		err = sq_job_answers(c, &j, n, a, &got, e);
	if (!err && j.running) {
		int64_t now = clock_now(s->clock);
		for (int i = 0; i < got; i++) {
			ks_error one;
			ks_error_clear(&one);
			if (sq_text_analyse_into(s, c, w, a[i].id, a[i].text, a[i].language, now, &b, &one) == KS_OK)
				k->analyzed++;
			else {
				k->failed++; /* the old rows stay */
				fprintf(stderr, "klantstem: reanalysis: response %lld: %s\n", (long long)a[i].id,
					one.message);
			}
		}
		bool last = got < n;
		err = sq_job_advance(c, got ? a[got - 1].id : j.cursor, got, last, now, e);
		*more = !last;
	}
	if (!err && w)
		err = sq_exec(c, "COMMIT", e);
	if (err && w)
		db_exec(c->db, "ROLLBACK");
	sq_release(s, c);
	if (!err)
		sq_text_notify(s, &b);
	sq_text_buf_free(&b);
	for (int i = 0; i < got; i++)
		free(a[i].text);
	free(a);
	if (err)
		*more = false;
	return err;
}

ks_err store_text_job_start(ks_store *s, const char *reason, const store_audit_entry *audit, json_t **out,
			    ks_error *e)
{
	if (!sq_text_on(s))
		return ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "text analysis is off (no language data)");
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_text_job_begin(s, c, reason, e);
	if (!err && audit)
		err = sq_audit_insert(s, c, audit, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err)
		db_exec(c->db, "ROLLBACK");
	sq_job j;
	if (!err)
		err = sq_job_read(c, &j, e);
	sq_release(s, c);
	if (err)
		return err;
	sq_text_job_wake(s);
	if (out && (*out = sq_job_json(&j)) == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

ks_err store_text_reanalyze(ks_store *s, int batch, store_reanalyze_fn progress, void *arg,
			    store_reanalyze_counts *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	ks_err err = store_text_job_start(s, "manual", NULL, NULL, e);
	if (err == KS_ERR_UNAVAILABLE)
		err = KS_ERR_INTERNAL; /* as before: the caller reports it */
	bool more = !err;
	while (!err && more) {
		err = sq_text_job_batch(s, batch > 0 ? batch : SQ_JOB_BATCH, out, &more, e);
		if (!err && progress)
			progress(arg, out);
	}
	if (!err) { /* mentions (issue 16 H1; H9: their error is the caller's too) */
		int64_t m;
		err = sq_mentions_reanalyse(s, batch > 0 ? batch : SQ_JOB_BATCH, &m, e);
	}
	return err;
}

/* ---- the thread ---- */

/* Answers per batch of the thread: SQ_JOB_BATCH, or KS_TEXT_JOB_BATCH
 * (1..100000) from the environment, so a test can make a job last long
 * enough to kill the server in the middle of it. */
static int sq_job_batch_size(void)
{
	const char *v = getenv("KS_TEXT_JOB_BATCH");
	char *end = NULL;
	long n = v ? strtol(v, &end, 10) : 0;
	return v && *end == '\0' && n >= 1 && n <= 100000 ? (int)n : SQ_JOB_BATCH;
}

static void *sq_job_main(void *arg)
{
	ks_store *s = arg;
	int batch = sq_job_batch_size();
	pthread_mutex_lock(&s->job_mu);
	while (!s->job_stop) {
		bool work = s->job_wake, retrain = s->job_retrain;
		s->job_wake = false;
		s->job_retrain = false;
		pthread_mutex_unlock(&s->job_mu);
		if (retrain)
			sq_text_retrain_run(s);
		bool more = work;
		store_reanalyze_counts k = {0};
		while (more) {
			ks_error e;
			ks_error_clear(&e);
			if (sq_text_job_batch(s, batch, &k, &more, &e) != KS_OK)
				fprintf(stderr, "klantstem: reanalysis: %s (retried at the next change or start)\n",
					e.message);
			pthread_mutex_lock(&s->job_mu);
			more = more && !s->job_stop;
			pthread_mutex_unlock(&s->job_mu);
		}
		if (work && (k.analyzed || k.failed))
			fprintf(stderr, "klantstem: reanalysis: %lld answers analysed, %lld failed\n",
				(long long)k.analyzed, (long long)k.failed);
		if (work) { /* mentions (issue 16 H1): theirs after the answers' */
			int64_t m = 0;
			ks_error e;
			ks_error_clear(&e);
			if (sq_mentions_reanalyse(s, batch, &m, &e) != KS_OK)
				fprintf(stderr, "klantstem: reanalysis of mentions: %s (retried after the next job)\n",
					e.message);
			if (m)
				fprintf(stderr, "klantstem: reanalysis: %lld mentions analysed\n", (long long)m);
		}
		pthread_mutex_lock(&s->job_mu);
		if (!s->job_stop && !s->job_wake && !s->job_retrain)
			pthread_cond_wait(&s->job_cv, &s->job_mu);
	}
	pthread_mutex_unlock(&s->job_mu);
	return NULL;
}

ks_err store_text_jobs_start(ks_store *s, ks_error *e)
{
	if (!s->text_inited)
		return KS_OK;
	pthread_mutex_lock(&s->job_mu);
	ks_err err = KS_OK;
	if (!s->job_started) {
		s->job_stop = false;
		s->job_wake = true; /* a job left unfinished resumes */
		if (pthread_create(&s->job_thread, NULL, sq_job_main, s) != 0)
			err = ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the reanalysis thread");
		else
			s->job_started = true;
	}
	pthread_mutex_unlock(&s->job_mu);
	return err;
}

void sq_text_jobs_stop(ks_store *s)
{
	if (!s->text_inited)
		return;
	pthread_mutex_lock(&s->job_mu);
	bool started = s->job_started;
	s->job_stop = true;
	s->job_started = false;
	pthread_cond_signal(&s->job_cv);
	pthread_mutex_unlock(&s->job_mu);
	if (started)
		pthread_join(s->job_thread, NULL);
}

void store_text_jobs_stop(ks_store *s)
{
	sq_text_jobs_stop(s);
}
