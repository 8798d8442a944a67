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
 * But the lock alone is not enough (review, issue 18): while a node's
 * follower reconnects (its LISTEN connection lost, the process alive and
 * perhaps sending a claimed mail), the lock is free. So a node is gone
 * only when its lock is free AND its nodes.seen_at is older than
 * SQ_NODE_STALE_S: the follower beats (writes seen_at) every
 * SQ_NODE_BEAT_S on its other connection, and the scheduler's pass too;
 * seen_at is the database server's clock, one clock for every node (and
 * not a test clock). A killed node's claims come back within
 * SQ_NODE_STALE_S plus one pass (about a minute and a half) -- or at the
 * next pass of a node on the same host, which sees that the dead node's
 * pid is no process any more (sq_node_exited: a restart after a crash).
 *
 * On SQLite there is one node: no row, id 0, claimed_by stays NULL and
 * recovery puts back every claim (the process restarted).
 */
#include "store/sqlite_int.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"

/* The database server's clock, in unix seconds: nodes.seen_at is written
 * and judged in it, so that every node (and a test clock) agrees. */
#define SQ_NODE_DB_NOW "extract(epoch FROM now())::bigint"
/* A node not seen for this long may be gone (if its lock is free too):
 * two of its follower's beats (SQ_NODE_BEAT_S in pg_follow.c, 10 s) and
 * one to spare. */
#define SQ_NODE_STALE_S 30

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
	/* seen_at in the server's clock (sq_node_gone compares it there) */
	ks_err err = sq_cprep(c, "INSERT INTO nodes(host, pid, started_at, seen_at)"
			      " VALUES (?1, ?2, ?3, " SQ_NODE_DB_NOW ") RETURNING id", &st, e);
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

/* Has node id's process exited? Known only on this host: its row names
 * this host and its pid is no process here (kill 0: ESRCH). A node
 * restarted after a crash takes the dead one's claims back at once, as on
 * SQLite, instead of SQ_NODE_STALE_S later. A pid that exists (reused, or
 * another user's: EPERM) is no proof either way: the beat decides. Nodes
 * must not share a host name across pid namespaces (containers get their
 * own names by default): OPERATIONS.md. */
static ks_err sq_node_exited(sq_conn *c, int64_t id, bool *exited, ks_error *e)
{
	*exited = false;
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
		return KS_OK;
	db_stmt *st = NULL;
	int64_t pid = 0;
	ks_err err = sq_cprep(c, "SELECT coalesce(pid, 0) FROM nodes WHERE id = ?1 AND host = ?2", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		db_bind_text(st, 2, host, -1, DB_STATIC);
		err = sq_cfirst(c, st, &pid, e);
	}
	if (!err && pid > 0 && pid != (int64_t)getpid() && pid <= INT32_MAX)
		*exited = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
	return err;
}

/* Is node id gone? Exited on this host, or not seen for SQ_NODE_STALE_S
 * (no row: long gone); and
 * its lock can be taken from here (and is let go at once). This session's
 * own node is never gone: its lock is held by another session of this
 * process, so the try fails like any live one. */
static ks_err sq_node_gone(sq_conn *c, int64_t id, bool *gone, ks_error *e)
{
	*gone = false;
	bool exited = false;
	ks_err err = sq_node_exited(c, id, &exited, e);
	db_stmt *st = NULL;
	int64_t stale = exited;
	if (!err && !exited &&
	    (err = sq_cprep(c, "SELECT CASE WHEN coalesce((SELECT seen_at FROM nodes WHERE id = ?1), 0)"
			       " < " SQ_NODE_DB_NOW " - ?2 THEN 1 ELSE 0 END", &st, e)) == KS_OK) {
		db_bind_int64(st, 1, id);
		db_bind_int(st, 2, SQ_NODE_STALE_S);
		err = sq_cfirst(c, st, &stale, e);
	}
	if (err || !stale)
		return err;
	char sql[96];
	snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d, %lld)::int",
		 SQ_NODE_LOCK_CLASS, (long long)id);
	int64_t got = 0;
	err = sq_cprep(c, sql, &st, e);
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
 * time (either): a dead node's claims are back within about a minute and
 * a half (SQ_NODE_STALE_S, then this pass). */
#define SQ_NODES_PASS_S 60
/* A node row not seen for this long, gone and holding no claim, is
 * deleted (the ids are never reused; the row only said who it was). */
#define SQ_NODES_KEEP_S 86400

/* This node is alive: seen_at in the server's clock. First in the pass,
 * so that the others' staleness is judged against a fresh beat of ours. */
static ks_err sq_nodes_beat(ks_store *s, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "UPDATE nodes SET seen_at = " SQ_NODE_DB_NOW " WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, s->node_id);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	return err;
}

/* The tables and status columns of every claim a node can hold. */
static const char *const sq_node_claims[][2] = {
	{"invitations", "status"},   {"invitations", "reminder_status"}, {"webhook_outbox", "status"},
	{"case_mails", "status"},    {"case_digests", "status"},          {"guard_mails", "status"},
	{"compliments", "mail_status"}, {"pulse_invitations", "status"},  {"digest_mails", "status"},
};

/* Does node id still hold a claim ('sending')? */
static ks_err sq_node_holds(sq_conn *c, int64_t id, bool *holds, ks_error *e)
{
	*holds = false;
	ks_err err = KS_OK;
	for (size_t i = 0; !err && !*holds && i < sizeof sq_node_claims / sizeof sq_node_claims[0]; i++) {
		char sql[200];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE claimed_by = ?1 AND %s = 'sending'",
			 sq_node_claims[i][0], sq_node_claims[i][1]);
		int64_t n = 0;
		err = sq_one_id(c, sql, id, &n, e);
		*holds = n > 0;
	}
	return err;
}

/* The nodes' rows: each one's follower cursor (feed_horizon) and whether
 * it is gone; rows of long-gone nodes that hold no claim are deleted
 * (review, issue 18: they were never pruned). *keep = the smallest cursor
 * of the nodes not gone, -1 when one of them has none yet (nothing may be
 * pruned then). */
static ks_err sq_nodes_scan(ks_store *s, sq_conn *c, int64_t *keep, ks_error *e)
{
	*keep = INT64_MAX;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT id, coalesce(feed_horizon, -1), CASE WHEN seen_at < " SQ_NODE_DB_NOW
				 " - ?1 THEN 1 ELSE 0 END FROM nodes ORDER BY id",
			      &st, e);
	if (err)
		return err;
	db_bind_int(st, 1, SQ_NODES_KEEP_S);
	size_t n = 0, cap = 0;
	struct { int64_t id, horizon; bool old; } *rows = NULL;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *p = realloc(rows, ncap * sizeof *rows);
			if (p == NULL)
				break;
			rows = p;
			cap = ncap;
		}
		rows[n].id = db_column_int64(st, 0);
		rows[n].horizon = db_column_int64(st, 1);
		rows[n].old = db_column_int(st, 2) != 0;
		n++;
	}
	err = rc == DB_ROW ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory")
	      : rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	for (size_t i = 0; !err && i < n; i++) {
		bool gone = false;
		if (rows[i].id != s->node_id)
			err = sq_node_gone(c, rows[i].id, &gone, e);
		if (!err && !gone)
			*keep = rows[i].horizon < 0 || *keep < 0 ? -1
				: rows[i].horizon < *keep ? rows[i].horizon : *keep;
		bool holds = true;
		if (!err && gone && rows[i].old)
			err = sq_node_holds(c, rows[i].id, &holds, e);
		if (!err && gone && rows[i].old && !holds &&
		    (err = sq_cprep(c, "DELETE FROM nodes WHERE id = ?1", &st, e)) == KS_OK) {
			db_bind_int64(st, 1, rows[i].id);
			err = sq_cstep(c, st, e);
		}
	}
	free(rows);
	return err;
}

/* The change feed is pruned below the smallest cursor of the nodes not
 * gone, and never at or above the server's snapshot horizon (xmin: a
 * transaction still open may yet commit rows with an older xid) -- never
 * by age (review, issue 18: a transaction open for long, or a follower
 * that failed for long, would have missed rows silently). A node that
 * needed rows below the new bound (gone, or taken for gone) gets
 * feed_pruned: its follower, if it ever polls again, rebuilds from the
 * tables (pg_follow.c). One transaction: the rows and the marks go
 * together. */
static ks_err sq_feed_prune(ks_store *s, sq_conn *c, int64_t keep, ks_error *e)
{
	int64_t xmin = 0;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", &st, e);
	if (!err)
		err = sq_cfirst(c, st, &xmin, e);
	int64_t below = keep < xmin ? keep : xmin;
	if (err || below <= 0)
		return err;
	(void)s;
	err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err && (err = sq_cprep(c, "DELETE FROM change_feed WHERE xid < ?1", &st, e)) == KS_OK) {
		db_bind_int64(st, 1, below);
		err = sq_cstep(c, st, e);
	}
	if (!err && (err = sq_cprep(c, "UPDATE nodes SET feed_pruned = ?1 WHERE coalesce(feed_horizon, 0) < ?1"
				       " AND coalesce(feed_pruned, 0) < ?1",
				    &st, e)) == KS_OK) {
		db_bind_int64(st, 1, below);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	else
		db_exec(c->db, "ROLLBACK");
	return err;
}

static ks_err sq_nodes_housekeep(ks_store *s, int64_t now, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	int64_t keep = -1;
	ks_err err = sq_nodes_scan(s, c, &keep, e);
	if (!err && keep >= 0)
		err = sq_feed_prune(s, c, keep, e);
	db_stmt *st = NULL;
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
	ks_err err = sq_nodes_beat(s, e);
	if (!err)
		err = store_invite_recover(s, &k, e);
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
