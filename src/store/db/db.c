/* db.c — the statement API of db.h: the SQLite side, and the dispatch to
 * the PostgreSQL side (db_pg.c) by the connection's kind.
 *
 * On SQLite every call is the sqlite3_* call of the same name: the layer
 * adds one allocation per prepared statement and one branch per call,
 * nothing per row (bench/ingest measures it against the pre-layer build).
 * issue 18 (PERF): db_finalize keeps a connection's last DB_SQ_IDLE
 * statements, reset and unbound, and db_prepare of the same text takes one
 * back instead of parsing again (db_int.h says why). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db/db_int.h"

#define IS_PG(x) ((x)->kind == DB_POSTGRES)

db_conn *db_wrap_sqlite(sqlite3 *h)
{
	db_conn *c = calloc(1, sizeof *c);
	if (!c) {
		sqlite3_close(h);
		return NULL;
	}
	c->kind = DB_SQLITE;
	c->sq = h;
	return c;
}

sqlite3 *db_sqlite_handle(db_conn *c)
{
	return c && c->kind == DB_SQLITE ? c->sq : NULL;
}

db_kind db_conn_kind(const db_conn *c)
{
	return c->kind;
}

void db_close(db_conn *c)
{
	if (!c)
		return;
	if (IS_PG(c)) {
		db_pg_close(c);
	} else {
		/* issue 18 (PERF): the kept statements first, or close fails */
		for (int i = 0; i < c->n_idle; i++) {
			sqlite3_finalize(c->idle[i]->sq);
			free(c->idle[i]);
		}
		sqlite3_close(c->sq);
	}
	free(c);
}

int db_exec(db_conn *c, const char *sql)
{
	return IS_PG(c) ? db_pg_exec(c, sql) : sqlite3_exec(c->sq, sql, NULL, NULL, NULL);
}

int db_exec_native(db_conn *c, const char *sql)
{
	return IS_PG(c) ? db_pg_exec_native(c, sql) : sqlite3_exec(c->sq, sql, NULL, NULL, NULL);
}

const char *db_errmsg(db_conn *c)
{
	return IS_PG(c) ? db_pg_errmsg(c) : sqlite3_errmsg(c->sq);
}

int db_extended_errcode(db_conn *c)
{
	return IS_PG(c) ? db_pg_extended_errcode(c) : sqlite3_extended_errcode(c->sq);
}

const char *db_errstr(int rc)
{
	return sqlite3_errstr(rc);
}

int64_t db_changes(db_conn *c)
{
	return IS_PG(c) ? db_pg_changes(c) : sqlite3_changes(c->sq);
}

int64_t db_last_insert_rowid(db_conn *c)
{
	return IS_PG(c) ? db_pg_last_insert_rowid(c) : sqlite3_last_insert_rowid(c->sq);
}

bool db_get_autocommit(db_conn *c)
{
	return IS_PG(c) ? db_pg_get_autocommit(c) : sqlite3_get_autocommit(c->sq) != 0;
}

int db_busy_timeout(db_conn *c, int ms)
{
	if (!IS_PG(c))
		return sqlite3_busy_timeout(c->sq, ms);
	/* PostgreSQL reads lock_timeout = 0 as "wait for ever", SQLite's busy
	 * timeout 0 as "do not wait": 1 ms is PostgreSQL's nearest to the latter. */
	char sql[64];
	snprintf(sql, sizeof sql, "SET lock_timeout = %d", ms < 1 ? 1 : ms);
	return db_pg_exec(c, sql);
}

/* ---- statements ---------------------------------------------------------- */

/* ---- issue 18 (PERF): reuse of finalized SQLite statements ---- */

static uint64_t db_sql_hash(const char *sql, size_t *len)
{
	uint64_t h = 1469598103934665603ull;
	const unsigned char *p = (const unsigned char *)sql;
	for (; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	*len = (size_t)(p - (const unsigned char *)sql);
	return h;
}

/* A kept statement of c with exactly this SQL text, taken out of the
 * idle set; NULL when there is none. */
static db_stmt *db_idle_take(db_conn *c, const char *sql, uint64_t h, size_t len)
{
	for (int i = 0; i < c->n_idle; i++) {
		db_stmt *st = c->idle[i];
		if (st->sql_hash != h || st->sql_len != len || strcmp(sqlite3_sql(st->sq), sql) != 0)
			continue;
		c->idle[i] = c->idle[--c->n_idle];
		return st;
	}
	return NULL;
}

/* Keep st for a later db_prepare of its text; false when it is not kept
 * (the caller finalizes it). The reset returns what sqlite3_finalize
 * would have: the error of the last step, if any. */
static bool db_idle_put(db_stmt *st, int *rc)
{
	db_conn *c = st->conn;
	if (st->persistent || st->sql_len == 0 || st->sq == NULL)
		return false;
	*rc = sqlite3_reset(st->sq);
	sqlite3_clear_bindings(st->sq);
	if (c->n_idle == DB_SQ_IDLE) {
		int k = c->idle_next;
		c->idle_next = (k + 1) % DB_SQ_IDLE;
		sqlite3_finalize(c->idle[k]->sq);
		free(c->idle[k]);
		c->idle[k] = st;
		return true;
	}
	c->idle[c->n_idle++] = st;
	return true;
}

/* ---- end issue 18 (PERF) ---- */

static int db_prepare_as(db_conn *c, const char *sql, bool persistent, db_stmt **out)
{
	*out = NULL;
	uint64_t h = 0;
	size_t len = 0;
	if (!IS_PG(c) && !persistent) { /* issue 18 (PERF) */
		h = db_sql_hash(sql, &len);
		db_stmt *kept = db_idle_take(c, sql, h, len);
		if (kept) {
			*out = kept;
			return DB_OK;
		}
	}
	db_stmt *st = calloc(1, sizeof *st);
	if (!st)
		return DB_NOMEM;
	st->kind = c->kind;
	st->conn = c;
	st->sql_hash = h; /* issue 18 (PERF) */
	st->sql_len = len;
	st->persistent = persistent;
	int rc;
	if (IS_PG(c))
		rc = db_pg_prepare(c, sql, persistent, st);
	else
		rc = sqlite3_prepare_v3(c->sq, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &st->sq,
					NULL);
	if (rc != DB_OK) {
		if (IS_PG(c))
			db_pg_finalize(st);
		else
			sqlite3_finalize(st->sq);
		free(st);
		return rc;
	}
	*out = st;
	return DB_OK;
}

int db_prepare(db_conn *c, const char *sql, db_stmt **st)
{
	return db_prepare_as(c, sql, false, st);
}

int db_prepare_persistent(db_conn *c, const char *sql, db_stmt **st)
{
	return db_prepare_as(c, sql, true, st);
}

int db_step(db_stmt *st)
{
	return IS_PG(st) ? db_pg_step(st) : sqlite3_step(st->sq);
}

int db_reset(db_stmt *st)
{
	return IS_PG(st) ? db_pg_reset(st) : sqlite3_reset(st->sq);
}

int db_clear_bindings(db_stmt *st)
{
	return IS_PG(st) ? db_pg_clear_bindings(st) : sqlite3_clear_bindings(st->sq);
}

int db_finalize(db_stmt *st)
{
	if (!st)
		return DB_OK;
	int rc = DB_OK;
	if (IS_PG(st))
		db_pg_finalize(st);
	else if (db_idle_put(st, &rc)) /* issue 18 (PERF) */
		return rc;
	else
		rc = sqlite3_finalize(st->sq);
	free(st);
	return rc;
}

db_conn *db_stmt_conn(db_stmt *st)
{
	return st->conn;
}

int db_bind_int64(db_stmt *st, int i, int64_t v)
{
	return IS_PG(st) ? db_pg_bind_int64(st, i, v) : sqlite3_bind_int64(st->sq, i, v);
}

int db_bind_int(db_stmt *st, int i, int v)
{
	return IS_PG(st) ? db_pg_bind_int64(st, i, v) : sqlite3_bind_int(st->sq, i, v);
}

int db_bind_double(db_stmt *st, int i, double v)
{
	return IS_PG(st) ? db_pg_bind_double(st, i, v) : sqlite3_bind_double(st->sq, i, v);
}

int db_bind_null(db_stmt *st, int i)
{
	return IS_PG(st) ? db_pg_bind_null(st, i) : sqlite3_bind_null(st->sq, i);
}

int db_bind_text(db_stmt *st, int i, const char *v, int n, db_lifetime life)
{
	if (IS_PG(st))
		return db_pg_bind_text(st, i, v, n);
	return sqlite3_bind_text(st->sq, i, v, n, life == DB_STATIC ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

int db_bind_blob(db_stmt *st, int i, const void *v, int n, db_lifetime life)
{
	if (IS_PG(st))
		return db_pg_bind_blob(st, i, v, n);
	return sqlite3_bind_blob(st->sq, i, v, n, life == DB_STATIC ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

int db_bind_parameter_count(db_stmt *st)
{
	return IS_PG(st) ? db_pg_bind_parameter_count(st) : sqlite3_bind_parameter_count(st->sq);
}

int db_column_count(db_stmt *st)
{
	return IS_PG(st) ? db_pg_column_count(st) : sqlite3_column_count(st->sq);
}

const char *db_column_name(db_stmt *st, int i)
{
	return IS_PG(st) ? db_pg_column_name(st, i) : sqlite3_column_name(st->sq, i);
}

int db_column_type(db_stmt *st, int i)
{
	return IS_PG(st) ? db_pg_column_type(st, i) : sqlite3_column_type(st->sq, i);
}

int64_t db_column_int64(db_stmt *st, int i)
{
	return IS_PG(st) ? db_pg_column_int64(st, i) : sqlite3_column_int64(st->sq, i);
}

int db_column_int(db_stmt *st, int i)
{
	return IS_PG(st) ? (int)db_pg_column_int64(st, i) : sqlite3_column_int(st->sq, i);
}

double db_column_double(db_stmt *st, int i)
{
	return IS_PG(st) ? db_pg_column_double(st, i) : sqlite3_column_double(st->sq, i);
}

const unsigned char *db_column_text(db_stmt *st, int i)
{
	return IS_PG(st) ? db_pg_column_text(st, i) : sqlite3_column_text(st->sq, i);
}

const void *db_column_blob(db_stmt *st, int i)
{
	return IS_PG(st) ? db_pg_column_blob(st, i) : sqlite3_column_blob(st->sq, i);
}

int db_column_bytes(db_stmt *st, int i)
{
	return IS_PG(st) ? db_pg_column_bytes(st, i) : sqlite3_column_bytes(st->sq, i);
}
