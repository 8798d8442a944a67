/* sqlite_nodes.c — a node's identity on a shared database (issue 18, NODES).
 *
 * Several klantstem processes may serve one PostgreSQL database. Each one
 * that opens the store is a node: a row in `nodes` (migration 028), its id
 * in every session as the setting klantstem.node (so that the change-feed
 * triggers and the claims can name the writer without the SQL passing it),
 * and a session advisory lock (SQ_NODE_LOCK_CLASS, id) held by its
 * follower's connection (pg_follow.c) for as long as the process lives.
 *
 * Why a lock and not a heartbeat: a node is alive exactly while the lock is
 * held. A kill -9, a crash or a lost network drops the connection, and the
 * server drops the lock with it; no clock, no timeout to tune, no false
 * "dead" for a node that is merely slow. Ids are never reused (an identity),
 * so a node found gone cannot come back and find its claims taken from
 * under it: recovery (sq_node_recover_cond) takes the lock of each claimer,
 * and where that succeeds the claimer is gone for good.
 *
 * One limit, by design: a node whose follower connection breaks while the
 * process keeps running looks gone, and a mail it is sending at that moment
 * may be sent again by another node (with the same Message-ID, stored with
 * the row). The follower treats a broken connection as fatal for the
 * liveness it stands for: it logs and reconnects, taking its lock again.
 *
 * On SQLite there is one node: no row, id 0, claimed_by stays NULL and
 * recovery puts back every claim (the process restarted).
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"

int64_t store_node_id(const ks_store *s)
{
	return s->node_id;
}

void store_set_change_hook(ks_store *s, store_change_fn fn, void *arg)
{
	s->change_arg = arg;
	__atomic_store_n(&s->change_hook, fn, __ATOMIC_RELEASE);
}

ks_err sq_node_session(ks_store *s, sq_conn *c, ks_error *e)
{
	if (!s->pg || s->node_id <= 0)
		return KS_OK;
	char sql[64];
	snprintf(sql, sizeof sql, "SET klantstem.node = '%lld'", (long long)s->node_id);
	return sq_exec(c, sql, e);
}

ks_err sq_node_register(ks_store *s, sq_conn *c, ks_error *e)
{
	if (!s->pg)
		return KS_OK;
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) != 0)
		host[0] = '\0';
	int64_t now = clock_now(s->clock);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "INSERT INTO nodes(host, pid, started_at, seen_at) VALUES (?1, ?2, ?3, ?3)"
			      " RETURNING id", &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, host, -1, DB_STATIC);
	db_bind_int64(st, 2, (int64_t)getpid());
	db_bind_int64(st, 3, now);
	err = sq_cfirst(c, st, &s->node_id, e);
	if (!err && s->node_id <= 0)
		err = ks_fail(e, KS_ERR_DB, NULL, "nodes: no id returned");
	if (!err)
		err = sq_node_session(s, c, e);
	return err;
}

const char *sq_node_claim_sql(sq_conn *c)
{
	return db_conn_kind(c->db) == DB_POSTGRES
		       ? ", claimed_by = nullif(current_setting('klantstem.node', true), '')::bigint"
		       : "";
}

/* Is node id gone? Its lock can be taken from here (and is let go at
 * once). This session's own node is never gone: its lock is held by
 * another session of this process, so the try fails like any live one. */
static ks_err sq_node_gone(sq_conn *c, int64_t id, bool *gone, ks_error *e)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, %lld)::int",
		 SQ_NODE_LOCK_CLASS, (long long)id);
	db_stmt *st = NULL;
	int64_t got = 0;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err)
		err = sq_cfirst(c, st, &got, e);
	*gone = !err && got == 1;
	if (*gone) {
		snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d, %lld)::int", SQ_NODE_LOCK_CLASS,
			 (long long)id);
		if ((err = sq_cprep(c, sql, &st, e)) == KS_OK)
			err = sq_cfirst(c, st, &got, e);
	}
	return err;
}

ks_err sq_node_recover_cond(sq_conn *c, const char *table, const char *status_col, const char *status,
			    char **cond, ks_error *e)
{
	*cond = NULL;
	if (db_conn_kind(c->db) != DB_POSTGRES) {
		*cond = strdup("");
		return *cond ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	char sql[256];
	/* Never this node's own claims: its lock lives on the follower's
	 * connection, and while that reconnects the lock is free although the
	 * node is alive and may be sending (review, issue 18). */
	snprintf(sql, sizeof sql,
		 "SELECT DISTINCT claimed_by FROM %s WHERE %s = '%s' AND claimed_by IS NOT NULL"
		 " AND claimed_by IS DISTINCT FROM nullif(current_setting('klantstem.node', true), '')::bigint",
		 table, status_col, status);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	int64_t *ids = NULL;
	size_t n = 0;
	if (!err)
		err = sq_collect_ids(c, st, &ids, &n, e);
	ks_buf b;
	buf_init(&b, 128);
	bool oom = buf_printf(&b, " AND (claimed_by IS NULL");
	size_t n_gone = 0;
	for (size_t i = 0; !err && i < n; i++) {
		bool gone = false;
		err = sq_node_gone(c, ids[i], &gone, e);
		if (!err && gone)
			oom = oom || buf_printf(&b, "%s%lld", n_gone++ ? "," : " OR claimed_by IN (",
						(long long)ids[i]);
	}
	free(ids);
	if (n_gone)
		oom = oom || buf_printf(&b, ")");
	oom = oom || buf_printf(&b, ")");
	if (!err && oom)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (err) {
		buf_free(&b);
		return err;
	}
	*cond = buf_steal(&b, NULL);
	if (*cond == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

/* How often the pass does its work, in the scheduler's clock and in real
 * time (either): a dead node's claims are back within about a minute. */
#define SQ_NODES_PASS_S 60
/* Change-feed rows older than this are gone: a node down longer builds
 * its index afresh at start, and a running follower is seconds behind. */
#define SQ_FEED_KEEP_S 3600

static ks_err sq_nodes_housekeep(ks_store *s, int64_t now, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "UPDATE nodes SET seen_at = ?2 WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, s->node_id);
		db_bind_int64(st, 2, now);
		err = sq_cstep(c, st, e);
	}
	/* The feed's own time (the server's clock), not the scheduler's: a
	 * test clock must not empty the feed under a running follower. */
	if (!err && (err = sq_cprep(c, "DELETE FROM change_feed WHERE at < extract(epoch FROM now())::bigint - ?1",
				    &st, e)) == KS_OK) {
		db_bind_int64(st, 1, SQ_FEED_KEEP_S);
		err = sq_cstep(c, st, e);
	}
	/* throttle windows long over (the longest is minutes) */
	if (!err && (err = sq_cprep(c, "DELETE FROM login_throttle WHERE since < ?1", &st, e)) == KS_OK) {
		db_bind_int64(st, 1, now - 86400);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	return err;
}

ks_err store_nodes_pass(ks_store *s, int64_t now, int *n, ks_error *e)
{
	*n = 0;
	if (!s->pg)
		return KS_OK;
	int64_t mono = clock_mono_ms();
	if (s->nodes_pass_mono != 0 && now - s->nodes_pass_at < SQ_NODES_PASS_S &&
	    mono - s->nodes_pass_mono < SQ_NODES_PASS_S * 1000)
		return KS_OK;
	s->nodes_pass_at = now;
	s->nodes_pass_mono = mono;
	int k = 0;
	ks_err err = store_invite_recover(s, &k, e);
	*n += k;
	if (!err && (err = store_case_mail_recover(s, &k, e)) == KS_OK)
		*n += k;
	if (!err && (err = store_pulse_mail_recover(s, &k, e)) == KS_OK)
		*n += k;
	if (!err && (err = store_guard_mail_recover(s, &k, e)) == KS_OK)
		*n += k;
	if (!err && (err = store_digest_recover(s, &k, e)) == KS_OK)
		*n += k;
	if (!err)
		err = sq_nodes_housekeep(s, now, e);
	return err;
}

/* ---- the login throttle's shared counts ------------------------------------- */

ks_err store_throttle_fail(ks_store *s, int64_t key, int64_t now, int window, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	/* One statement: two nodes counting the same key at once both count
	 * (the row's lock orders them). SET reads the row as it was. */
	ks_err err = sq_cprep(c, "INSERT INTO login_throttle(key, since, fails) VALUES (?1, ?2, 1)"
			      " ON CONFLICT (key) DO UPDATE SET"
			      " fails = CASE WHEN login_throttle.since <= ?2 - ?3 THEN 1 ELSE login_throttle.fails + 1 END,"
			      " since = CASE WHEN login_throttle.since <= ?2 - ?3 THEN ?2 ELSE login_throttle.since END",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, key);
		db_bind_int64(st, 2, now);
		db_bind_int(st, 3, window);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	return err;
}

ks_err store_throttle_get(ks_store *s, const int64_t *keys, int n, int64_t *since, int *fails, ks_error *e)
{
	for (int i = 0; i < n; i++) {
		since[i] = 0;
		fails[i] = 0;
	}
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = KS_OK;
	for (int i = 0; !err && i < n; i++) {
		if ((err = sq_cprep(c, "SELECT since, fails FROM login_throttle WHERE key = ?1", &st, e)) != KS_OK)
			break;
		db_bind_int64(st, 1, keys[i]);
		int rc = db_step(st);
		if (rc == DB_ROW) {
			since[i] = db_column_int64(st, 0);
			fails[i] = db_column_int(st, 1);
		} else if (rc != DB_DONE) {
			err = sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_throttle_clear(ks_store *s, int64_t key, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "UPDATE login_throttle SET fails = 0 WHERE key = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, key);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	return err;
}
