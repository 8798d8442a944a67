/* db.h — one statement API over the two database backends: the embedded
 * SQLite file (the default) and a PostgreSQL server (issue 18).
 *
 * Why a layer of our own and not two copies of the store: the store's ~200
 * functions speak SQL through prepared statements; written once against
 * this API they run on both backends, and a store function added later is
 * written for both in the same change. The API keeps SQLite's shape (the
 * store was written against it) so that its contracts carry over one to
 * one:
 *
 *   - Statements are prepared from SQL in the store's dialect: SQLite's,
 *     with ?NNN or ? parameters. The PostgreSQL side translates what it
 *     must (parameters, BEGIN IMMEDIATE, INSERT OR IGNORE, PRAGMA) in
 *     db_pg_sql.c, and the PostgreSQL schema defines the few SQLite
 *     functions the store's SQL calls (src/store/migrations/pg/).
 *   - db_step returns DB_ROW per row, then DB_DONE; any other value is an
 *     error code (below). A statement is executed by its first db_step
 *     after a prepare or db_reset.
 *   - Result codes keep SQLite's numbers, so a PostgreSQL error maps onto
 *     the code the store already handles (SQLSTATE 23505 unique violation
 *     -> DB_CONSTRAINT_UNIQUE, 53100 disk full -> DB_FULL, serialization
 *     and lock timeouts -> DB_BUSY).
 *   - Column values convert on read as SQLite converts them: a NULL reads
 *     as 0, 0.0 or a NULL text; a PostgreSQL boolean reads as 1 or 0.
 *
 * Ownership: db_open_* return a connection the caller closes with
 * db_close; db_prepare gives a statement the caller finalizes with
 * db_finalize (NULL is a no-op). Text returned by db_column_text and
 * db_errmsg belongs to the statement / connection and is valid until the
 * next step, reset or finalize / the next call on the connection.
 * A connection is used by one thread at a time.
 */
#ifndef KS_DB_H
#define KS_DB_H

#include <stdbool.h>
#include <stdint.h>

typedef struct db_conn db_conn;
typedef struct db_stmt db_stmt;

typedef enum { DB_SQLITE = 1, DB_POSTGRES = 2 } db_kind;

/* Result codes: SQLite's primary and extended numbers. */
enum {
	DB_OK = 0,
	DB_ERROR = 1,
	DB_BUSY = 5,
	DB_LOCKED = 6,
	DB_NOMEM = 7,
	DB_READONLY = 8,
	DB_FULL = 13,
	DB_CONSTRAINT = 19,
	DB_MISUSE = 21,
	DB_ROW = 100,
	DB_DONE = 101,
	DB_CONSTRAINT_CHECK = 19 | (1 << 8),
	DB_CONSTRAINT_FOREIGNKEY = 19 | (3 << 8),
	DB_CONSTRAINT_NOTNULL = 19 | (5 << 8),
	DB_CONSTRAINT_PRIMARYKEY = 19 | (6 << 8),
	DB_CONSTRAINT_TRIGGER = 19 | (7 << 8),
	DB_CONSTRAINT_UNIQUE = 19 | (8 << 8),
};

/* Column types (db_column_type), SQLite's numbers. */
enum { DB_INTEGER = 1, DB_FLOAT = 2, DB_TEXT = 3, DB_BLOB = 4, DB_NULL = 5 };

/* How long a bound text or blob lives: DB_STATIC, until the statement is
 * rebound, reset or finalized (the caller keeps it); DB_TRANSIENT, copied
 * at once. */
typedef enum { DB_STATIC = 0, DB_TRANSIENT = 1 } db_lifetime;

/* ---- connections ---------------------------------------------------------- */

/* Wrap an open SQLite handle (db_sqlite.c); the connection owns it from
 * now on and closes it in db_close. NULL on out of memory (the handle is
 * then closed too). */
struct sqlite3;
db_conn *db_wrap_sqlite(struct sqlite3 *h);
/* The SQLite handle of c, NULL when c is a PostgreSQL connection: for the
 * parts that are SQLite's alone (backup, WAL checkpoints, SQL functions). */
struct sqlite3 *db_sqlite_handle(db_conn *c);

/* Connect to PostgreSQL (db_pg.c) with a libpq URI or conninfo string.
 * On failure NULL, and *err (when not NULL) gets a malloc'd message the
 * caller frees. The session runs with synchronous_commit = on and the
 * time zone UTC. */
db_conn *db_open_pg(const char *conninfo, char **err);

db_kind db_conn_kind(const db_conn *c);
void db_close(db_conn *c);

/* Run one or more statements without parameters or results (BEGIN,
 * COMMIT, PRAGMA, DDL). */
int db_exec(db_conn *c, const char *sql);
/* Run SQL written in the backend's own dialect, untranslated: the
 * PostgreSQL migrations (dollar-quoted function bodies and all). On SQLite
 * the same as db_exec. */
int db_exec_native(db_conn *c, const char *sql);
/* The message of the connection's last error ("" when none). */
const char *db_errmsg(db_conn *c);
/* The extended code of the connection's last error. */
int db_extended_errcode(db_conn *c);
/* A static text for a result code. */
const char *db_errstr(int rc);
/* Rows changed by the last INSERT, UPDATE or DELETE on c. */
int64_t db_changes(db_conn *c);
/* The id of the row the last INSERT on c made. On PostgreSQL this is
 * lastval(): the last value an identity column's sequence gave this
 * session; an INSERT whose triggers insert elsewhere must use RETURNING. */
int64_t db_last_insert_rowid(db_conn *c);
/* true outside a transaction. */
bool db_get_autocommit(db_conn *c);
/* How long a statement waits for a lock another connection holds before
 * it fails with DB_BUSY: SQLite's busy timeout, PostgreSQL's lock_timeout.
 * 0: do not wait. */
int db_busy_timeout(db_conn *c, int ms);

/* ---- statements --------------------------------------------------------- */

/* Prepare sql (NUL-terminated, one statement). persistent: kept for the
 * life of the connection (a hint; SQLite's SQLITE_PREPARE_PERSISTENT). */
int db_prepare(db_conn *c, const char *sql, db_stmt **st);
int db_prepare_persistent(db_conn *c, const char *sql, db_stmt **st);
int db_step(db_stmt *st);
/* Back to before the first step; bindings are kept. */
int db_reset(db_stmt *st);
int db_clear_bindings(db_stmt *st);
int db_finalize(db_stmt *st);
db_conn *db_stmt_conn(db_stmt *st);

/* Parameters are numbered from 1. */
int db_bind_int64(db_stmt *st, int i, int64_t v);
int db_bind_int(db_stmt *st, int i, int v);
int db_bind_double(db_stmt *st, int i, double v);
int db_bind_null(db_stmt *st, int i);
/* n < 0: up to the NUL. */
int db_bind_text(db_stmt *st, int i, const char *v, int n, db_lifetime life);
int db_bind_blob(db_stmt *st, int i, const void *v, int n, db_lifetime life);
int db_bind_parameter_count(db_stmt *st);

/* Columns are numbered from 0, valid after db_step returned DB_ROW. */
int db_column_count(db_stmt *st);
const char *db_column_name(db_stmt *st, int i);
int db_column_type(db_stmt *st, int i);
int64_t db_column_int64(db_stmt *st, int i);
int db_column_int(db_stmt *st, int i);
double db_column_double(db_stmt *st, int i);
const unsigned char *db_column_text(db_stmt *st, int i);
const void *db_column_blob(db_stmt *st, int i);
int db_column_bytes(db_stmt *st, int i);

#endif
