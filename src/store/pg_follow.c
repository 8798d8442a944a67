/* pg_follow.c — a node follows the other nodes' changes (issue 18, NODES).
 *
 * Several nodes serve one PostgreSQL database, and each keeps an in-memory
 * copy of some of it: the analytics index (responses, their analyses, the
 * names and customers it labels with) and the text context (taxonomy and
 * model). A node's own writes reach its copy through the store's hooks
 * (commit, update, text) and the API's refresh calls; the other nodes'
 * writes reach it here. The triggers of migration pg/028 append a row to
 * change_feed in every writing transaction (kind, the row's id, and for a
 * score update the scores before), with the transaction's xid and the
 * writing node, and notify 'klantstem_changes' at commit.
 *
 * The cursor. A sequence's order is not commit order: T1 takes id 10, T2
 * takes id 11 and commits first; a reader that remembered "up to 11" would
 * never see 10. Nor is xid order commit order (and the feed has no id: a
 * nextval in the triggers would move the writer's lastval()). What is exact is PostgreSQL's snapshot: every transaction whose
 * xid is below xmin(snapshot) had ended (committed or aborted) when the
 * snapshot was taken, so its rows are visible in that snapshot or never
 * will be; a transaction still running has an xid >= xmin. Each poll runs
 * in one REPEATABLE READ transaction:
 *
 *   snap = pg_current_snapshot()
 *   rows = change_feed WHERE xid >= horizon AND node is not me
 *   apply the rows not in `applied` (known by xid, kind, ref), add them
 *   horizon = xmin(snap); forget applied rows with xid < horizon
 *
 * A row is applied once: it is visible from its commit on, and until its
 * xid falls below the horizon it is found again and skipped by `applied`;
 * once below, it is no longer read. It is never missed: a transaction that
 * commits after a poll's snapshot has xid >= that snapshot's xmin (it was
 * running, or had not started and gets a later xid), which is the next
 * horizon, so the next poll reads it. Rolled-back rows are never visible.
 * The rows the poll applies are read in the same snapshot as the feed, so
 * a response and its later score change are not mixed up.
 *
 * Start: the horizon is xmin of a snapshot taken at store_open, before the
 * index scans the tables. A row committed during the scan may be both in
 * the scan and in the feed: the index's commit hook skips a response id it
 * already holds (index.c), the update and text hooks set values (applying
 * twice is applying once), names and customers are read again.
 *
 * When: on every notification (delivered at commit; one per transaction),
 * and at least every FOLLOW_POLL_MS, so a lost notification or a long
 * transaction is caught up without one. The thread waits on the LISTEN
 * connection's socket; that connection also holds the node's liveness lock
 * (sqlite_nodes.c). Polls begin once the index has set its hooks (the
 * change hook, set last): until then the horizon stays where it was.
 *
 * Cost: a long transaction anywhere on the server holds xmin back, and
 * each poll reads again the feed rows since then (skipped in memory).
 *
 * Pruning (review, issue 18; sqlite_nodes.c). Every SQ_NODE_BEAT_S the
 * follower writes its horizon to nodes.feed_horizon (and seen_at, its
 * beat); the scheduler deletes feed rows only below the smallest horizon
 * of the nodes not gone and below the server's xmin -- never by age. A
 * node taken for gone (its lock free and no beat for a while) does not
 * hold pruning back; its row gets feed_pruned = the bound. If such a node
 * was alive after all (a stopped process, a long network cut), its next
 * poll reads feed_pruned above its horizon: rows it needed may be gone, so
 * it rebuilds what it keeps in memory from the tables (fl_resync) in the
 * poll's snapshot and goes on from that snapshot's xmin.
 */
#include "store/sqlite_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#define FOLLOW_POLL_MS 500
#define FOLLOW_CHUNK 256
/* More customers changed in one poll than this (an import on another
 * node): one reload of every customer's attributes instead of a query
 * each (300,000 one by one took minutes and held the node's stop). */
#define FOLLOW_CUSTOMERS_ALL 1000
/* The beat: seen_at and feed_horizon written this often (sqlite_nodes.c
 * takes a node whose lock is free and whose beat is SQ_NODE_STALE_S old,
 * three beats, for gone). */
#define SQ_NODE_BEAT_S 10

/* A feed row is known by (xid, kind, ref): the table has no id (a
 * sequence in the triggers would move the writer's lastval()), and two
 * rows equal in these are one change for the follower. */
typedef struct fl_applied {
	int64_t xid, ref;
	int kind;
} fl_applied;

/* A poll's rows by (kind, ref, position): the earliest row of a kind
 * and ref is found by a binary search, not by a scan of the rows before
 * it (quadratic: 300,000 rows of one import never finished). */
typedef struct fl_key {
	int code;
	int64_t ref;
	size_t idx;
} fl_key;

typedef struct fl_row {
	int64_t xid, ref;
	int code;            /* fl_kind_code(kind) */
	char kind[24];
	int b_nps, b_grade, b_ces;
} fl_row;

struct pg_follow {
	ks_store *s;
	char *uri;
	PGconn *listen;      /* LISTEN and the node's advisory lock */
	sq_conn *c;          /* the polls' transactions */
	pthread_t thread;
	bool started;
	int stop_fd[2];      /* a byte here wakes the thread to stop */
	int64_t horizon;
	fl_applied *applied;
	size_t n_applied, cap_applied;
	fl_row *rows;
	size_t n_rows, cap_rows;
	fl_key *keys;        /* n_rows, sorted (fl_index_rows) */
	size_t cap_keys;
	bool stopping;       /* set by pg_follow_stop: long loops end early */
	bool warned;
	int64_t beat_mono;   /* clock_mono_ms of the last beat; 0 = none yet */
	int64_t resyncs;     /* rebuilds after a prune past the horizon */
};

static bool fl_index_rows(struct pg_follow *f);

/* ---- the LISTEN connection ------------------------------------------------ */

static bool fl_exec_ok(PGconn *pg, const char *sql)
{
	PGresult *r = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(r);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "klantstem: follower: %s: %s", sql, PQerrorMessage(pg));
	PQclear(r);
	return ok;
}

static bool fl_listen_open(struct pg_follow *f)
{
	if (f->listen)
		PQfinish(f->listen);
	f->listen = PQconnectdb(f->uri);
	if (PQstatus(f->listen) != CONNECTION_OK) {
		fprintf(stderr, "klantstem: follower: cannot connect: %s", PQerrorMessage(f->listen));
		return false;
	}
	/* Try, never wait: after a lost connection the server may still hold
	 * the old session's lock for a while (a half-open TCP connection), and
	 * a blocking wait here would stall following and shutdown (review,
	 * issue 18). A miss is retried at the follower's next wake-up. */
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, %lld)", SQ_NODE_LOCK_CLASS,
		 (long long)f->s->node_id);
	PGresult *r = PQexec(f->listen, sql);
	bool got = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		   strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!got) {
		fprintf(stderr, "klantstem: follower: the node's lock is not free yet; trying again\n");
		PQfinish(f->listen);
		f->listen = NULL;
		return false;
	}
	return fl_exec_ok(f->listen, "LISTEN klantstem_changes");
}

/* ---- applied feed ids ------------------------------------------------------- */

static int fl_kind_code(const char *kind)
{
	static const char *const kinds[] = {"response", "response_update", "text", "text_config", "customer",
					    "names", "forget_customer", "forget_employee"};
	for (int i = 0; i < (int)(sizeof kinds / sizeof kinds[0]); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return i + 1;
	return 0;
}

static int fl_applied_cmp(const void *a, const void *b)
{
	const fl_applied *x = a, *y = b;
	if (x->xid != y->xid)
		return x->xid < y->xid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->ref < y->ref ? -1 : x->ref > y->ref;
}

static bool fl_is_applied(const struct pg_follow *f, const fl_row *r)
{
	fl_applied key = {.xid = r->xid, .ref = r->ref, .kind = r->code};
	return f->n_applied > 0 && bsearch(&key, f->applied, f->n_applied, sizeof key, fl_applied_cmp) != NULL;
}

static bool fl_mark(struct pg_follow *f, const fl_row *r)
{
	if (f->n_applied == f->cap_applied) {
		size_t cap = f->cap_applied ? f->cap_applied * 2 : 256;
		fl_applied *p = realloc(f->applied, cap * sizeof *p);
		if (p == NULL)
			return false;
		f->applied = p;
		f->cap_applied = cap;
	}
	f->applied[f->n_applied++] = (fl_applied){.xid = r->xid, .ref = r->ref, .kind = r->code};
	return true;
}

/* After a poll: sorted again, and the rows below the new horizon dropped
 * (their transactions ended before the snapshot: never read again). */
static void fl_forget(struct pg_follow *f)
{
	size_t k = 0;
	for (size_t i = 0; i < f->n_applied; i++)
		if (f->applied[i].xid >= f->horizon)
			f->applied[k++] = f->applied[i];
	f->n_applied = k;
	if (k > 1)
		qsort(f->applied, f->n_applied, sizeof *f->applied, fl_applied_cmp);
}

/* ---- reading the feed ------------------------------------------------------- */

static ks_err fl_one_int(sq_conn *c, const char *sql, int64_t *out, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	return err ? err : sq_cfirst(c, st, out, e);
}

static ks_err fl_read_feed(struct pg_follow *f, ks_error *e)
{
	f->n_rows = 0;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(f->c,
			      "SELECT xid, kind, coalesce(ref_id, 0), coalesce(b_nps, -1), coalesce(b_grade, -1),"
			      " coalesce(b_ces, -1) FROM change_feed WHERE xid >= ?1 AND (node IS NULL OR node <> ?2)"
			      " ORDER BY xid",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, f->horizon);
	db_bind_int64(st, 2, f->s->node_id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		fl_row row;
		row.xid = db_column_int64(st, 0);
		snprintf(row.kind, sizeof row.kind, "%s", sq_ctext(st, 1));
		row.code = fl_kind_code(row.kind);
		row.ref = db_column_int64(st, 2);
		row.b_nps = db_column_int(st, 3);
		row.b_grade = db_column_int(st, 4);
		row.b_ces = db_column_int(st, 5);
		if (fl_is_applied(f, &row))
			continue;
		if (f->n_rows == f->cap_rows) {
			size_t cap = f->cap_rows ? f->cap_rows * 2 : 256;
			fl_row *p = realloc(f->rows, cap * sizeof *p);
			if (p == NULL) {
				db_finalize(st);
				return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
			}
			f->rows = p;
			f->cap_rows = cap;
		}
		f->rows[f->n_rows++] = row;
	}
	ks_err out = rc == DB_DONE ? KS_OK : sq_fail(f->c, rc, e);
	db_finalize(st);
	if (!out && !fl_index_rows(f))
		out = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return out;
}

/* The driver ratings of response r (the index's driver columns). */
static ks_err fl_drivers(sq_conn *c, model_response *r, ks_error *e)
{
	db_stmt *st = sq_stmt(c, SQ_RESPONSE_DRIVERS, e);
	if (st == NULL)
		return KS_ERR_DB;
	db_bind_int64(st, 1, r->id);
	int rc;
	r->n_drivers = 0;
	while ((rc = db_step(st)) == DB_ROW && r->n_drivers < MODEL_MAX_DRIVERS) {
		model_driver_score *d = &r->drivers[r->n_drivers++];
		snprintf(d->aspect, sizeof d->aspect, "%s", sq_ctext(st, 0));
		d->score = db_column_int(st, 1);
	}
	db_reset(st);
	return rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

static int fl_key_cmp(const void *a, const void *b)
{
	const fl_key *x = a, *y = b;
	if (x->code != y->code)
		return x->code < y->code ? -1 : 1;
	if (x->ref != y->ref)
		return x->ref < y->ref ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sort the rows' keys for fl_seen_before; false on out of memory. */
static bool fl_index_rows(struct pg_follow *f)
{
	if (f->cap_keys < f->n_rows) {
		fl_key *p = realloc(f->keys, f->n_rows * sizeof *p);
		if (p == NULL)
			return false;
		f->keys = p;
		f->cap_keys = f->n_rows;
	}
	for (size_t i = 0; i < f->n_rows; i++)
		f->keys[i] = (fl_key){.code = f->rows[i].code, .ref = f->rows[i].ref, .idx = i};
	if (f->n_rows > 1)
		qsort(f->keys, f->n_rows, sizeof *f->keys, fl_key_cmp);
	return true;
}

/* Is there an earlier row of this poll with the same kind and ref? (One
 * read serves them all.) A kind this follower does not know (code 0)
 * shares its code with every other unknown kind: compared by name. */
static bool fl_seen_before(const struct pg_follow *f, size_t i, const char *kind)
{
	int code = fl_kind_code(kind);
	if (code == 0) {
		for (size_t j = 0; j < i; j++)
			if (f->rows[j].ref == f->rows[i].ref && strcmp(f->rows[j].kind, kind) == 0)
				return true;
		return false;
	}
	/* the first key of (code, ref): the lowest position holding it */
	size_t lo = 0, hi = f->n_rows;
	fl_key want = {.code = code, .ref = f->rows[i].ref, .idx = 0};
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (fl_key_cmp(&f->keys[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < f->n_rows && f->keys[lo].code == code && f->keys[lo].ref == want.ref && f->keys[lo].idx < i;
}

static bool fl_stopping(const struct pg_follow *f)
{
	return __atomic_load_n(&f->stopping, __ATOMIC_ACQUIRE);
}

/* The error a loop returns when the node stops mid-poll: the poll rolls
 * back and nothing is marked applied (the process is ending anyway). */
static ks_err fl_stop_err(ks_error *e)
{
	return ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "follower: stopping");
}

/* ---- applying ------------------------------------------------------------------ */

/* New responses, to the commit hook in chunks. */
static ks_err fl_apply_responses(struct pg_follow *f, ks_error *e)
{
	ks_store *s = f->s;
	model_response *buf = malloc(FOLLOW_CHUNK * sizeof *buf);
	const model_response **ptrs = malloc(FOLLOW_CHUNK * sizeof *ptrs);
	if (buf == NULL || ptrs == NULL) {
		free(buf);
		free(ptrs);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	ks_err err = KS_OK;
	int n = 0;
	for (size_t i = 0; !err && i < f->n_rows; i++) {
		fl_row *row = &f->rows[i];
		if (strcmp(row->kind, "response") != 0)
			continue;
		if (fl_stopping(f)) {
			err = fl_stop_err(e);
			break;
		}
		bool found = false;
		err = sq_scan_response_one(f->c, row->ref, &buf[n], &found, e);
		if (!err && found)
			err = fl_drivers(f->c, &buf[n], e);
		if (!err && found) {
			ptrs[n] = &buf[n];
			n++;
		}
		if (!err && n == FOLLOW_CHUNK) {
			s->commit_hook(s->commit_arg, ptrs, n);
			n = 0;
		}
	}
	if (!err && n)
		s->commit_hook(s->commit_arg, ptrs, n);
	free(buf);
	free(ptrs);
	return err;
}

/* Score changes: the index finds the row by id and by what it had (the
 * first unapplied change's before-scores: the index holds those unless
 * the row came in this poll or the start scan, and then the id finds it);
 * after = the row now. A response inserted in this poll was read as it
 * is now: its changes are in it already. */
static ks_err fl_apply_updates(struct pg_follow *f, ks_error *e)
{
	ks_store *s = f->s;
	ks_err err = KS_OK;
	for (size_t i = 0; !err && i < f->n_rows; i++) {
		fl_row *row = &f->rows[i];
		if (strcmp(row->kind, "response_update") != 0 || fl_seen_before(f, i, "response_update") ||
		    fl_seen_before(f, i, "response"))
			continue;
		if (fl_stopping(f)) {
			err = fl_stop_err(e);
			break;
		}
		model_response after, before;
		bool found = false;
		err = sq_scan_response_one(f->c, row->ref, &after, &found, e);
		if (!err && found)
			err = fl_drivers(f->c, &after, e);
		if (err || !found || s->update_hook == NULL)
			continue;
		before = after;
		before.nps = row->b_nps;
		before.grade = row->b_grade;
		before.ces = row->b_ces;
		before.n_drivers = 0;
		s->update_hook(s->update_arg, &before, &after);
	}
	return err;
}

/* Analyses written, replaced or removed: each response's row now. */
static ks_err fl_apply_text(struct pg_follow *f, ks_error *e)
{
	ks_store *s = f->s;
	store_text_row *rows = malloc(FOLLOW_CHUNK * sizeof *rows);
	if (rows == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = KS_OK;
	int n = 0;
	for (size_t i = 0; !err && i < f->n_rows; i++) {
		if (strcmp(f->rows[i].kind, "text") != 0 || fl_seen_before(f, i, "text"))
			continue;
		if (fl_stopping(f)) {
			err = fl_stop_err(e);
			break;
		}
		err = sq_text_row_read(f->c, f->rows[i].ref, &rows[n], e);
		if (!err && ++n == FOLLOW_CHUNK) {
			if (s->text_hook)
				s->text_hook(s->text_arg, rows, n);
			n = 0;
		}
	}
	if (!err && n && s->text_hook)
		s->text_hook(s->text_arg, rows, n);
	free(rows);
	return err;
}

/* The taxonomy or model changed: this node's analysis switches to it, as
 * the changing node's did (sqlite_text_config.c). */
static ks_err fl_apply_text_config(struct pg_follow *f, ks_error *e)
{
	if (!sq_text_on(f->s))
		return KS_OK;
	struct text_ctx *ctx = NULL;
	ks_err err = sq_text_ctx_load(f->c, &ctx, e);
	if (!err)
		err = sq_text_switch(f->s, ctx, e); /* takes ctx, also on failure */
	return err;
}

static ks_err fl_apply(struct pg_follow *f, ks_error *e)
{
	ks_err err = fl_apply_responses(f, e);
	if (!err)
		err = fl_apply_updates(f, e);
	if (!err)
		err = fl_apply_text(f, e);
	bool text_config = false;
	size_t customers = 0;
	for (size_t i = 0; i < f->n_rows; i++)
		if (strcmp(f->rows[i].kind, "customer") == 0 && !fl_seen_before(f, i, "customer"))
			customers++;
	bool all_customers = customers > FOLLOW_CUSTOMERS_ALL;
	if (!err && all_customers)
		f->s->change_hook(f->s->change_arg, "customer", 0);
	for (size_t i = 0; !err && i < f->n_rows; i++) {
		fl_row *row = &f->rows[i];
		if (fl_stopping(f))
			err = fl_stop_err(e);
		else if (strcmp(row->kind, "text_config") == 0)
			text_config = true;
		else if (strcmp(row->kind, "response") != 0 && strcmp(row->kind, "response_update") != 0 &&
			 strcmp(row->kind, "text") != 0 && !(all_customers && strcmp(row->kind, "customer") == 0) &&
			 !fl_seen_before(f, i, row->kind))
			f->s->change_hook(f->s->change_arg, row->kind, row->ref);
	}
	if (!err && text_config)
		err = fl_apply_text_config(f, e);
	for (size_t i = 0; !err && i < f->n_rows; i++)
		if (!fl_mark(f, &f->rows[i]))
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return err;
}

/* ---- rebuilding from the tables (feed rows pruned past the horizon) ---------- */

/* The ids one statement returns, after `after`, at most FOLLOW_CHUNK. */
static ks_err fl_ids(struct pg_follow *f, const char *sql, int64_t after, int64_t **ids, size_t *n, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(f->c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, after);
	db_bind_int(st, 2, FOLLOW_CHUNK);
	return sq_collect_ids(f->c, st, ids, n, e);
}

/* The rows of one chunk of response ids as feed rows of kind. */
static bool fl_rows_of(struct pg_follow *f, const int64_t *ids, size_t n, const char *kind)
{
	if (f->cap_rows < n) {
		fl_row *p = realloc(f->rows, n * sizeof *p);
		if (p == NULL)
			return false;
		f->rows = p;
		f->cap_rows = n;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&f->rows[i], 0, sizeof f->rows[i]);
		f->rows[i].ref = ids[i];
		snprintf(f->rows[i].kind, sizeof f->rows[i].kind, "%s", kind);
		f->rows[i].code = fl_kind_code(kind);
	}
	f->n_rows = n;
	return fl_index_rows(f);
}

/* Every response as it is in the snapshot: added when the index lacks it
 * (the commit hook skips the ones it holds), its answers and drivers set
 * (the update hook, found by id), its analysis set (the text hook). */
static ks_err fl_resync_responses(struct pg_follow *f, ks_error *e)
{
	ks_store *s = f->s;
	int64_t after = 0;
	ks_err err = KS_OK;
	for (;;) {
		int64_t *ids = NULL;
		size_t n = 0;
		if (fl_stopping(f)) {
			err = fl_stop_err(e);
			break;
		}
		err = fl_ids(f, "SELECT id FROM responses WHERE id > ?1 ORDER BY id LIMIT ?2", after, &ids, &n, e);
		if (err || n == 0) {
			free(ids);
			break;
		}
		after = ids[n - 1];
		if (!fl_rows_of(f, ids, n, "response"))
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		if (!err)
			err = fl_apply_responses(f, e);
		for (size_t i = 0; !err && i < n && s->update_hook; i++) {
			model_response r;
			bool found = false;
			err = sq_scan_response_one(f->c, ids[i], &r, &found, e);
			if (!err && found)
				err = fl_drivers(f->c, &r, e);
			if (!err && found)
				s->update_hook(s->update_arg, &r, &r);
		}
		if (!err && !fl_rows_of(f, ids, n, "text"))
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		if (!err)
			err = fl_apply_text(f, e);
		free(ids);
		if (err)
			break;
	}
	f->n_rows = 0;
	return err;
}

/* The change hook's kinds from the tables: erasures (forget), every
 * customer's attributes (one reload: ref 0), the names. */
static ks_err fl_resync_changes(struct pg_follow *f, ks_error *e)
{
	static const struct {
		const char *kind, *sql;
	} q[] = {
		{"forget_customer", "SELECT DISTINCT subject_id FROM erasures WHERE subject_kind = 'customer'"
				    " AND subject_id > ?1 ORDER BY subject_id LIMIT ?2"},
		{"forget_employee", "SELECT DISTINCT subject_id FROM erasures WHERE subject_kind = 'employee'"
				    " AND subject_id > ?1 ORDER BY subject_id LIMIT ?2"},
	};
	ks_store *s = f->s;
	ks_err err = KS_OK;
	for (size_t k = 0; !err && k < sizeof q / sizeof q[0]; k++) {
		int64_t after = 0;
		for (;;) {
			int64_t *ids = NULL;
			size_t n = 0;
			err = fl_stopping(f) ? fl_stop_err(e) : fl_ids(f, q[k].sql, after, &ids, &n, e);
			for (size_t i = 0; !err && i < n; i++)
				s->change_hook(s->change_arg, q[k].kind, ids[i]);
			if (n)
				after = ids[n - 1];
			free(ids);
			if (err || n < FOLLOW_CHUNK)
				break;
		}
	}
	if (!err)
		s->change_hook(s->change_arg, "customer", 0);
	if (!err)
		s->change_hook(s->change_arg, "names", 0);
	return err;
}

/* Feed rows this node needed were deleted (it was taken for gone): what it
 * keeps in memory is brought to the tables as they are in this poll's
 * snapshot, through the same hooks the feed drives. */
static ks_err fl_resync(struct pg_follow *f, ks_error *e)
{
	fprintf(stderr, "klantstem: follower: change-feed rows this node had not read were pruned (it was taken"
			" for gone); bringing its in-memory copy back from the tables\n");
	ks_err err = fl_resync_responses(f, e);
	if (!err)
		err = fl_resync_changes(f, e);
	if (!err)
		err = fl_apply_text_config(f, e);
	if (!err)
		f->resyncs++;
	return err;
}

/* ---- the beat ---------------------------------------------------------------- */

/* seen_at and feed_horizon, every SQ_NODE_BEAT_S (outside a transaction:
 * no write lock, one statement). The horizon written is never ahead of the
 * one in memory, so the feed is pruned only below what this node read. */
static void fl_beat(struct pg_follow *f)
{
	int64_t mono = clock_mono_ms();
	if (f->beat_mono != 0 && mono - f->beat_mono < SQ_NODE_BEAT_S * 1000)
		return;
	db_stmt *st = NULL;
	ks_error e;
	ks_error_clear(&e);
	if (sq_cprep(f->c, "UPDATE nodes SET seen_at = extract(epoch FROM now())::bigint, feed_horizon = ?2"
			   " WHERE id = ?1", &st, &e) == KS_OK) {
		db_bind_int64(st, 1, f->s->node_id);
		db_bind_int64(st, 2, f->horizon);
		if (sq_cstep(f->c, st, &e) == KS_OK)
			f->beat_mono = mono;
	}
}

/* After a rebuild: the mark cleared, only if no prune marked the row
 * again meanwhile, and the new horizon written. */
static ks_err fl_clear_pruned(struct pg_follow *f, int64_t pruned, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(f->c, "UPDATE nodes SET feed_pruned = NULL, feed_horizon = ?2 WHERE id = ?1"
				    " AND feed_pruned = ?3", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, f->s->node_id);
	db_bind_int64(st, 2, f->horizon);
	db_bind_int64(st, 3, pruned);
	return sq_cstep(f->c, st, e);
}

/* After a rebuild for a lost row: the row again, under the same id (its
 * claims were recovered by the others when it was taken for gone; the
 * id still names this node in claimed_by from now on). */
static ks_err fl_restore_row(struct pg_follow *f, ks_error *e)
{
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) != 0)
		host[0] = '\0';
	fprintf(stderr, "klantstem: follower: this node's row was deleted while it was away; registering it again\n");
	db_stmt *st = NULL;
	ks_err err = sq_cprep(f->c, "INSERT INTO nodes (id, host, pid, started_at, seen_at, feed_horizon)"
				    " VALUES (?1, ?2, ?3, extract(epoch FROM now())::bigint,"
				    " extract(epoch FROM now())::bigint, ?4) ON CONFLICT (id) DO NOTHING",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, f->s->node_id);
	db_bind_text(st, 2, host, -1, DB_TRANSIENT);
	db_bind_int64(st, 3, (int64_t)getpid());
	db_bind_int64(st, 4, f->horizon);
	return sq_cstep(f->c, st, e);
}

/* One poll (see the header). The horizon moves only after a poll that
 * applied everything it read. */
static ks_err fl_poll(struct pg_follow *f, ks_error *e)
{
	if (db_exec_native(f->c->db, "BEGIN ISOLATION LEVEL REPEATABLE READ") != DB_OK)
		return sq_fail(f->c, db_extended_errcode(f->c->db), e);
	int64_t xmin = 0, pruned = 0;
	ks_err err = fl_one_int(f->c, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", &xmin, e);
	db_stmt *st = NULL;
	/* -1: this node's row is gone -- deleted as a node dead for a day
	 * (sqlite_nodes.c) while this process was stopped or cut off: its
	 * horizon no longer held pruning back, so rows it needed may be
	 * gone too. Rebuilt like a marked node, and the row put back. */
	if (!err && (err = sq_cprep(f->c, "SELECT coalesce((SELECT coalesce(feed_pruned, 0) FROM nodes WHERE id = ?1), -1)",
				    &st, e)) == KS_OK) {
		db_bind_int64(st, 1, f->s->node_id);
		err = sq_cfirst(f->c, st, &pruned, e);
	}
	bool lost_row = !err && pruned < 0;
	bool resync = !err && (lost_row || pruned > f->horizon);
	if (resync)
		err = fl_resync(f, e);
	else if (!err)
		err = fl_read_feed(f, e);
	if (!err && !resync && f->n_rows)
		err = fl_apply(f, e);
	db_exec(f->c->db, err ? "ROLLBACK" : "COMMIT");
	if (!err && resync) {
		/* everything before the snapshot is in memory now; the rows
		 * at or above its xmin are read from here on as usual */
		f->n_applied = 0;
		f->horizon = xmin;
		err = lost_row ? fl_restore_row(f, e) : fl_clear_pruned(f, pruned, e);
	} else if (!err && xmin > f->horizon) {
		f->horizon = xmin;
		fl_forget(f);
	}
	if (!err)
		fl_beat(f);
	return err;
}

/* ---- the thread ------------------------------------------------------------------ */

static bool fl_ready(ks_store *s)
{
	return __atomic_load_n(&s->change_hook, __ATOMIC_ACQUIRE) != NULL;
}

/* Wait for a notification, the stop byte or FOLLOW_POLL_MS; false = stop. */
static bool fl_wait(struct pg_follow *f)
{
	struct pollfd p[2] = {{.fd = f->stop_fd[0], .events = POLLIN},
			      {.fd = f->listen ? PQsocket(f->listen) : -1, .events = POLLIN}};
	int rc = poll(p, p[1].fd >= 0 ? 2 : 1, FOLLOW_POLL_MS);
	if (rc > 0 && (p[0].revents & POLLIN))
		return false;
	if (f->listen && PQstatus(f->listen) == CONNECTION_OK) {
		PQconsumeInput(f->listen);
		PGnotify *n;
		while ((n = PQnotifies(f->listen)) != NULL)
			PQfreemem(n);
	}
	return true;
}

static void fl_reconnect(struct pg_follow *f)
{
	if (f->listen == NULL || PQstatus(f->listen) != CONNECTION_OK) {
		fprintf(stderr, "klantstem: follower: connection lost, connecting again\n");
		fl_listen_open(f);
	}
	if (db_exec(f->c->db, "SELECT 1") != DB_OK) {
		char *why = NULL;
		db_conn *db = db_open_pg(f->uri, &why);
		free(why);
		if (db) {
			for (int i = 0; i < SQ__COUNT; i++) { /* prepared on the old connection */
				db_finalize(f->c->stmt[i]);
				f->c->stmt[i] = NULL;
			}
			db_close(f->c->db);
			f->c->db = db;
		}
	}
}

static void *fl_main(void *arg)
{
	struct pg_follow *f = arg;
	while (fl_wait(f)) {
		/* The LISTEN connection also holds the node's life lock: without
		 * it the other nodes take this node for dead, so it comes back
		 * first (a lost notification alone would only cost latency). */
		if (f->listen == NULL || PQstatus(f->listen) != CONNECTION_OK)
			fl_reconnect(f);
		if (!fl_ready(f->s)) {
			fl_beat(f); /* alive while the index is built */
			continue;
		}
		ks_error e;
		ks_error_clear(&e);
		if (fl_poll(f, &e) != KS_OK) {
			if (!f->warned)
				fprintf(stderr, "klantstem: follower: %s\n", e.message);
			f->warned = true;
			fl_reconnect(f);
		} else {
			f->warned = false;
		}
	}
	return NULL;
}

static void fl_free(struct pg_follow *f)
{
	if (f == NULL)
		return;
	if (f->listen)
		PQfinish(f->listen);
	if (f->c) {
		for (int i = 0; i < SQ__COUNT; i++)
			db_finalize(f->c->stmt[i]);
		db_close(f->c->db);
		free(f->c);
	}
	if (f->stop_fd[0] >= 0)
		close(f->stop_fd[0]);
	if (f->stop_fd[1] >= 0)
		close(f->stop_fd[1]);
	free(f->applied);
	free(f->rows);
	free(f->keys);
	free(f->uri);
	free(f);
}

ks_err pg_follow_start(ks_store *s, ks_error *e)
{
	if (!s->pg)
		return KS_OK;
	struct pg_follow *f = calloc(1, sizeof *f);
	if (f == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	f->s = s;
	f->stop_fd[0] = f->stop_fd[1] = -1;
	f->uri = strdup(s->path);
	f->c = calloc(1, sizeof *f->c);
	if (f->uri == NULL || f->c == NULL || pipe(f->stop_fd) != 0) {
		fl_free(f);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "follower: out of memory or descriptors");
	}
	char *why = NULL;
	f->c->db = db_open_pg(f->uri, &why);
	if (f->c->db == NULL) {
		ks_fail(e, KS_ERR_IO, NULL, "follower: cannot connect to PostgreSQL: %s", why ? why : "out of memory");
		free(why);
		fl_free(f);
		return KS_ERR_IO;
	}
	/* The node's life lock and LISTEN, then the start horizon: before the
	 * index scans (the caller builds it after store_open). */
	ks_err err = fl_listen_open(f) ? KS_OK : ks_fail(e, KS_ERR_IO, NULL, "follower: cannot listen");
	if (!err)
		err = fl_one_int(f->c, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", &f->horizon, e);
	if (!err)
		fl_beat(f); /* the start horizon, before anything may be pruned past it */
	if (!err && pthread_create(&f->thread, NULL, fl_main, f) != 0)
		err = ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the follower thread");
	if (err) {
		fl_free(f);
		return err;
	}
	f->started = true;
	s->follow = f;
	return KS_OK;
}

void pg_follow_stop(ks_store *s)
{
	struct pg_follow *f = s->follow;
	if (f == NULL)
		return;
	if (f->started) {
		__atomic_store_n(&f->stopping, true, __ATOMIC_RELEASE);
		ssize_t w = write(f->stop_fd[1], "x", 1);
		(void)w;
		pthread_join(f->thread, NULL);
	}
	fl_free(f);
	s->follow = NULL;
}
