/* sqlite_feeds.c — mention feeds (issue 16 H2, "Pollers"): the review and
 * social feeds src/mentions/poll.c fetches on a schedule, their resume point
 * and their backoff state. See store.h; the table is
 * migrations/022_mention_feeds.sql, the design docs/POLLERS.md.
 *
 * Settings changes commit with their audit entry. A page of mentions goes
 * through the mentions upsert (never a duplicate (source, source_id)); the
 * run's last page and the cursor's move commit together (sq_mentions_upsert
 * inside this file's transaction), so the cursor never passes what is
 * stored; a run cut short leaves it where it was.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_FEED_COLS                                                                                   \
	"id, name, format, url, coalesce(auth_header, ''), interval_s, enabled,"                        \
	" coalesce(cursor_updated_at, 0), coalesce(etag, ''), coalesce(last_modified, ''),"             \
	" coalesce(last_run_at, 0), coalesce(last_ok_at, 0), next_run_at, failures,"                    \
	" coalesce(last_error, ''), coalesce(last_status, 0), last_pages, last_received, last_inserted," \
	" last_updated, last_unchanged, mentions_fetched, created_at, updated_at,"                        \
	" coalesce(etag_url, ''), generation, runs, coalesce(resume_url, ''), resume_max_updated"

static void sq_feed_row(db_stmt *st, void *elem)
{
	store_feed *f = elem;
	memset(f, 0, sizeof *f);
	f->id = db_column_int64(st, 0);
	snprintf(f->name, sizeof f->name, "%s", sq_ctext(st, 1));
	snprintf(f->format, sizeof f->format, "%s", sq_ctext(st, 2));
	snprintf(f->url, sizeof f->url, "%s", sq_ctext(st, 3));
	snprintf(f->auth_header, sizeof f->auth_header, "%s", sq_ctext(st, 4));
	f->interval_s = db_column_int64(st, 5);
	f->enabled = db_column_int(st, 6) != 0;
	f->cursor_updated_at = db_column_int64(st, 7);
	snprintf(f->etag, sizeof f->etag, "%s", sq_ctext(st, 8));
	snprintf(f->last_modified, sizeof f->last_modified, "%s", sq_ctext(st, 9));
	f->last_run_at = db_column_int64(st, 10);
	f->last_ok_at = db_column_int64(st, 11);
	f->next_run_at = db_column_int64(st, 12);
	f->failures = db_column_int64(st, 13);
	snprintf(f->last_error, sizeof f->last_error, "%s", sq_ctext(st, 14));
	f->last_status = db_column_int64(st, 15);
	f->last_pages = db_column_int64(st, 16);
	f->last_received = db_column_int64(st, 17);
	f->last_inserted = db_column_int64(st, 18);
	f->last_updated = db_column_int64(st, 19);
	f->last_unchanged = db_column_int64(st, 20);
	f->mentions_fetched = db_column_int64(st, 21);
	f->created_at = db_column_int64(st, 22);
	f->updated_at = db_column_int64(st, 23);
	snprintf(f->etag_url, sizeof f->etag_url, "%s", sq_ctext(st, 24));
	f->generation = db_column_int64(st, 25);
	f->runs = db_column_int64(st, 26);
	snprintf(f->resume_url, sizeof f->resume_url, "%s", sq_ctext(st, 27));
	f->resume_max_updated = db_column_int64(st, 28);
}

ks_err store_feed_list(ks_store *s, store_feed **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	void *v = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_FEED_COLS " FROM mention_feeds ORDER BY id", &st, e);
	if (!err)
		err = sq_collect(c, st, sizeof(store_feed), sq_feed_row, 0, &v, n, NULL, e);
	sq_release(s, c);
	if (!err)
		*out = v;
	return err;
}

static ks_err sq_feed_get(sq_conn *c, int64_t id, store_feed *out, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_FEED_COLS " FROM mention_feeds WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		sq_feed_row(st, out);
	else if (rc == DB_DONE)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such mention feed");
	else
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err store_feed_get(ks_store *s, int64_t id, store_feed *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_feed_get(c, id, out, e);
	sq_release(s, c);
	return err;
}

static void sq_bind_text_or_null(db_stmt *st, int i, const char *v)
{
	if (v && v[0])
		db_bind_text(st, i, v, -1, DB_TRANSIENT);
	else
		db_bind_null(st, i);
}

/* The audit entry of a change to feed id, inside the change's transaction. */
static ks_err sq_feed_audit(ks_store *s, sq_conn *c, const store_audit_entry *audit, int64_t id, ks_error *e)
{
	if (audit == NULL)
		return KS_OK;
	store_audit_entry a = *audit;
	a.object_id = id;
	return sq_audit_insert(s, c, &a, e);
}

typedef struct sq_feed_write {
	const store_feed *f;
	bool rearm, reset;
	const store_audit_entry *audit;
	int64_t id;
	const store_feed_result *r;
} sq_feed_write;

static ks_err sq_feed_create_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_feed_write *w = arg;
	int64_t now = clock_now(s->clock);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO mention_feeds(name, format, url, auth_header, interval_s, enabled,"
			      " next_run_at, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)",
			      &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, w->f->name, -1, DB_STATIC);
	db_bind_text(st, 2, w->f->format, -1, DB_STATIC);
	db_bind_text(st, 3, w->f->url, -1, DB_STATIC);
	sq_bind_text_or_null(st, 4, w->f->auth_header);
	db_bind_int64(st, 5, w->f->interval_s);
	db_bind_int(st, 6, w->f->enabled ? 1 : 0);
	db_bind_int64(st, 7, now);
	err = sq_cstep(c, st, e);
	if (!err)
		w->id = db_last_insert_rowid(c->db);
	return err ? err : sq_feed_audit(s, c, w->audit, w->id, e);
}

ks_err store_feed_create(ks_store *s, const store_feed *f, const store_audit_entry *audit, int64_t *id,
			 ks_error *e)
{
	sq_feed_write w = {.f = f, .audit = audit};
	ks_err err = sq_write_tx(s, sq_feed_create_tx, &w, e);
	*id = err ? 0 : w.id;
	return err;
}

static ks_err sq_feed_changed_one(sq_conn *c, ks_error *e)
{
	return db_changes(c->db) == 1 ? KS_OK : ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such mention feed");
}

static ks_err sq_feed_update_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_feed_write *w = arg;
	int64_t now = clock_now(s->clock);
	db_stmt *st = NULL;
	/* ?8 rearm: due now, no failures; ?9 reset: no resume point, no
	 * validators (another URL or format is another feed). Either bumps
	 * the generation: a run in progress then records no feed state. */
	ks_err err = sq_cprep(c,
			      "UPDATE mention_feeds SET name = ?2, format = ?3, url = ?4, auth_header = ?5,"
			      " interval_s = ?6, enabled = ?7, updated_at = ?10,"
			      " generation = generation + CASE WHEN ?8 THEN 1 ELSE 0 END,"
			      " next_run_at = CASE WHEN ?8 THEN ?10 ELSE next_run_at END,"
			      " failures = CASE WHEN ?8 THEN 0 ELSE failures END,"
			      " cursor_updated_at = CASE WHEN ?9 THEN NULL ELSE cursor_updated_at END,"
			      " etag = CASE WHEN ?9 THEN NULL ELSE etag END,"
			      " last_modified = CASE WHEN ?9 THEN NULL ELSE last_modified END,"
			      " etag_url = CASE WHEN ?9 THEN NULL ELSE etag_url END,"
			      " resume_url = CASE WHEN ?9 THEN NULL ELSE resume_url END,"
			      " resume_max_updated = CASE WHEN ?9 THEN 0 ELSE resume_max_updated END"
			      " WHERE id = ?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, w->f->id);
	db_bind_text(st, 2, w->f->name, -1, DB_STATIC);
	db_bind_text(st, 3, w->f->format, -1, DB_STATIC);
	db_bind_text(st, 4, w->f->url, -1, DB_STATIC);
	sq_bind_text_or_null(st, 5, w->f->auth_header);
	db_bind_int64(st, 6, w->f->interval_s);
	db_bind_int(st, 7, w->f->enabled ? 1 : 0);
	db_bind_int(st, 8, w->rearm || w->reset ? 1 : 0);
	db_bind_int(st, 9, w->reset ? 1 : 0);
	db_bind_int64(st, 10, now);
	err = sq_cstep(c, st, e);
	if (!err)
		err = sq_feed_changed_one(c, e);
	return err ? err : sq_feed_audit(s, c, w->audit, w->f->id, e);
}

ks_err store_feed_update(ks_store *s, const store_feed *f, bool rearm, bool reset,
			 const store_audit_entry *audit, ks_error *e)
{
	sq_feed_write w = {.f = f, .rearm = rearm, .reset = reset, .audit = audit};
	return sq_write_tx(s, sq_feed_update_tx, &w, e);
}

static ks_err sq_feed_delete_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_feed_write *w = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "DELETE FROM mention_feeds WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, w->id);
	err = sq_cstep(c, st, e);
	if (!err)
		err = sq_feed_changed_one(c, e);
	return err ? err : sq_feed_audit(s, c, w->audit, w->id, e);
}

ks_err store_feed_delete(ks_store *s, int64_t id, const store_audit_entry *audit, ks_error *e)
{
	sq_feed_write w = {.id = id, .audit = audit};
	return sq_write_tx(s, sq_feed_delete_tx, &w, e);
}

static void sq_feed_id_row(db_stmt *st, void *elem)
{
	*(int64_t *)elem = db_column_int64(st, 0);
}

ks_err store_feed_due(ks_store *s, int64_t now, size_t max, int64_t **ids, size_t *n, ks_error *e)
{
	*ids = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	void *v = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT id FROM mention_feeds WHERE enabled = 1 AND next_run_at <= ?1"
			      " ORDER BY next_run_at, id",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, now);
		err = sq_collect(c, st, sizeof(int64_t), sq_feed_id_row, max, &v, n, NULL, e);
	}
	sq_release(s, c);
	if (!err)
		*ids = v;
	return err;
}

/* A run ended (ok or not): runs + 1 and the records it received, whatever
 * the generation (the mentions are stored); KS_ERR_NOTFOUND when the feed
 * is gone. */
static ks_err sq_feed_ended(sq_conn *c, int64_t id, int64_t received, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "UPDATE mention_feeds SET runs = runs + 1, mentions_fetched = mentions_fetched + ?2"
			      " WHERE id = ?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, received);
	err = sq_cstep(c, st, e);
	return err ? err : sq_feed_changed_one(c, e);
}

/* The success of a run: the cursor only moves forward, and only to what
 * the run stored; nothing of it when the feed's generation moved on (a PUT
 * changed its URL, format or secret meanwhile: this run fetched another
 * feed). */
static ks_err sq_feed_done_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_feed_write *w = arg;
	const store_feed_result *r = w->r;
	db_stmt *st = NULL;
	ks_err err = sq_feed_ended(c, w->id, r->received, e);
	if (!err)
		err = sq_cprep(c,
			      "UPDATE mention_feeds SET"
			      " cursor_updated_at = CASE WHEN ?2 > coalesce(cursor_updated_at, 0) THEN ?2"
			      "  ELSE cursor_updated_at END,"
			      " etag = ?3, last_modified = ?4, last_run_at = ?5, last_ok_at = ?5, next_run_at = ?6,"
			      " failures = 0, last_status = ?7, last_pages = ?8, last_received = ?9,"
			      " last_inserted = ?10, last_updated = ?11, last_unchanged = ?12, etag_url = ?14,"
			      " resume_url = NULL, resume_max_updated = 0"
			      " WHERE id = ?1 AND generation = ?13",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, w->id);
	db_bind_int64(st, 2, r->max_updated_at);
	sq_bind_text_or_null(st, 3, r->etag);
	sq_bind_text_or_null(st, 4, r->last_modified);
	db_bind_int64(st, 5, r->at);
	db_bind_int64(st, 6, r->next_run_at);
	db_bind_int64(st, 7, r->status);
	db_bind_int64(st, 8, r->pages);
	db_bind_int64(st, 9, r->received);
	db_bind_int64(st, 10, r->inserted);
	db_bind_int64(st, 11, r->updated);
	db_bind_int64(st, 12, r->unchanged);
	db_bind_int64(st, 13, r->generation);
	sq_bind_text_or_null(st, 14, r->etag_url);
	return sq_cstep(c, st, e);
}

typedef struct sq_feed_last {
	int64_t id;
	const mentions_batch *b;
	const store_feed_result *done;
	mentions_counts cnt;
} sq_feed_last;

/* The run's last page and the cursor in one transaction: the cursor can
 * never name a time whose mentions are not stored. */
static ks_err sq_feed_last_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_feed_last *l = arg;
	ks_err err = l->b && l->b->n > 0 ? sq_mentions_upsert(s, c, l->b, &l->cnt, e) : KS_OK;
	if (err)
		return err;
	store_feed_result r = *l->done; /* the run's totals before this page, and this page */
	r.inserted += l->cnt.inserted;
	r.updated += l->cnt.updated;
	r.unchanged += l->cnt.unchanged;
	sq_feed_write w = {.id = l->id, .r = &r};
	return sq_feed_done_tx(s, c, &w, e);
}

ks_err store_feed_page(ks_store *s, int64_t id, const mentions_batch *b, const store_feed_result *done,
		       mentions_counts *out, ks_error *e)
{
	mentions_counts zero = {0};
	if (out)
		*out = zero;
	/* Other pages go through store_mentions_upsert, which analyses the
	 * texts before it takes the write lock: only the last page holds the
	 * lock while its texts are analysed. */
	if (done == NULL)
		return b && b->n > 0 ? store_mentions_upsert(s, b, out, e) : KS_OK;
	sq_feed_last l = {.id = id, .b = b, .done = done};
	ks_err err = sq_write_tx(s, sq_feed_last_tx, &l, e);
	if (!err && out)
		*out = l.cnt;
	return err;
}

static ks_err sq_feed_failed_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_feed_write *w = arg;
	const store_feed_result *r = w->r;
	db_stmt *st = NULL;
	ks_err err = sq_feed_ended(c, w->id, r->received, e);
	if (!err)
		err = sq_cprep(c,
			      "UPDATE mention_feeds SET failures = failures + 1, last_error = ?2, last_run_at = ?3,"
			      " next_run_at = ?4, last_status = ?5, last_pages = ?6, last_received = ?7,"
			      " last_inserted = ?8, last_updated = ?9, last_unchanged = ?10"
			      " WHERE id = ?1 AND generation = ?11",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, w->id);
	db_bind_text(st, 2, r->error ? r->error : "failed", -1, DB_STATIC);
	db_bind_int64(st, 3, r->at);
	db_bind_int64(st, 4, r->next_run_at);
	db_bind_int64(st, 5, r->status);
	db_bind_int64(st, 6, r->pages);
	db_bind_int64(st, 7, r->received);
	db_bind_int64(st, 8, r->inserted);
	db_bind_int64(st, 9, r->updated);
	db_bind_int64(st, 10, r->unchanged);
	db_bind_int64(st, 11, r->generation);
	return sq_cstep(c, st, e);
}

ks_err store_feed_failed(ks_store *s, int64_t id, const store_feed_result *r, ks_error *e)
{
	sq_feed_write w = {.id = id, .r = r};
	return sq_write_tx(s, sq_feed_failed_tx, &w, e);
}

typedef struct sq_feed_resume_arg {
	int64_t id, generation, max_updated_at;
	const char *next_url;
} sq_feed_resume_arg;

static ks_err sq_feed_resume_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	const sq_feed_resume_arg *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "UPDATE mention_feeds SET resume_url = ?3, resume_max_updated = ?4"
			      " WHERE id = ?1 AND generation = ?2",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->id);
	db_bind_int64(st, 2, a->generation);
	sq_bind_text_or_null(st, 3, a->next_url);
	db_bind_int64(st, 4, a->next_url && a->next_url[0] ? a->max_updated_at : 0);
	return sq_cstep(c, st, e);
}

/* Written after the page's upsert committed, so the resume point never
 * passes what is stored (a crash in between leaves it a page behind: that
 * page comes again, unchanged). */
ks_err store_feed_resume(ks_store *s, int64_t id, int64_t generation, const char *next_url,
			 int64_t max_updated_at, ks_error *e)
{
	sq_feed_resume_arg a = {.id = id, .generation = generation, .max_updated_at = max_updated_at,
				.next_url = next_url};
	return sq_write_tx(s, sq_feed_resume_tx, &a, e);
}
