/* db_int.h — what db.c (the dispatch and the SQLite side) and db_pg.c (the
 * PostgreSQL side) share. Nothing outside src/store/db/ includes it. */
#ifndef KS_DB_INT_H
#define KS_DB_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db/db.h"

struct pg_conn;
struct pg_stmt;

/* issue 18 (PERF): on SQLite, db_finalize keeps up to DB_SQ_IDLE statements
 * of the connection for the next db_prepare of the same SQL text: the
 * store prepares most statements per call (sq_cprep, sq_one_id), and
 * parsing them again was half the instructions of an ingested response. */
#define DB_SQ_IDLE 48

struct db_conn {
	db_kind kind;
	sqlite3 *sq;          /* DB_SQLITE */
	struct pg_conn *pg;   /* DB_POSTGRES */
	struct db_stmt *idle[DB_SQ_IDLE]; /* issue 18 (PERF): reset, unbound, reusable */
	int n_idle;
	int idle_next;        /* the slot to evict when all are taken */
};

struct db_stmt {
	db_kind kind;
	db_conn *conn;
	sqlite3_stmt *sq;     /* DB_SQLITE */
	struct pg_stmt *pg;   /* DB_POSTGRES */
	uint64_t sql_hash;    /* issue 18 (PERF): FNV-1a of the SQL text (SQLite) */
	size_t sql_len;
	bool persistent;
};

/* The PostgreSQL side (db_pg.c): one function per db_* entry, called by
 * db.c when the connection or statement is DB_POSTGRES. Same contracts as
 * db.h. db_pg_prepare fills st->pg; db_pg_close frees c->pg. */
void db_pg_close(db_conn *c);
int db_pg_exec(db_conn *c, const char *sql);
/* lead's addition: PQexec of sql as it is, no translation (PG migrations with
 * $$-quoted plpgsql bodies); errors recorded as for db_pg_exec. */
int db_pg_exec_native(db_conn *c, const char *sql);
const char *db_pg_errmsg(db_conn *c);
int db_pg_extended_errcode(db_conn *c);
int64_t db_pg_changes(db_conn *c);
int64_t db_pg_last_insert_rowid(db_conn *c);
bool db_pg_get_autocommit(db_conn *c);
int db_pg_prepare(db_conn *c, const char *sql, bool persistent, db_stmt *st);
int db_pg_step(db_stmt *st);
int db_pg_reset(db_stmt *st);
int db_pg_clear_bindings(db_stmt *st);
void db_pg_finalize(db_stmt *st);
int db_pg_bind_int64(db_stmt *st, int i, int64_t v);
int db_pg_bind_double(db_stmt *st, int i, double v);
int db_pg_bind_null(db_stmt *st, int i);
int db_pg_bind_text(db_stmt *st, int i, const char *v, int n);
int db_pg_bind_blob(db_stmt *st, int i, const void *v, int n);
int db_pg_bind_parameter_count(db_stmt *st);
int db_pg_column_count(db_stmt *st);
const char *db_pg_column_name(db_stmt *st, int i);
int db_pg_column_type(db_stmt *st, int i);
int64_t db_pg_column_int64(db_stmt *st, int i);
double db_pg_column_double(db_stmt *st, int i);
const unsigned char *db_pg_column_text(db_stmt *st, int i);
const void *db_pg_column_blob(db_stmt *st, int i);
int db_pg_column_bytes(db_stmt *st, int i);

#endif
