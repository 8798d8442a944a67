/* db_pg.c — the PostgreSQL side of db.h over libpq (issue 18).
 *
 * Shape: a statement keeps its translated SQL (db_pg_sql.c) and its
 * parameters as values ready for libpq; its first db_pg_step runs it in
 * one round trip (PQexecParams: parse, bind, execute) and keeps the whole
 * PGresult, whose rows the following steps walk. Why not row-by-row
 * (single-row mode): the connection is then busy until the last row is
 * read, and the store interleaves statements on one connection (a SELECT
 * loop that writes per row); whole results also make every db_column_*
 * call a plain read. The store's reads are bounded lists.
 *
 * Statements the connection has seen before run prepared (PQprepare
 * once, then PQexecPrepared), which saves the server's parse and plan per
 * execution: see struct pg_cached. Persistent statements
 * (db_prepare_persistent, the writer's hot ones) are prepared at once.
 *
 * Round trips: one per statement execution (two the time a text gets
 * prepared); one more per writing transaction for the write lock (see
 * "the write lock"); one per db_last_insert_rowid (an INSERT ...
 * RETURNING id saves it).
 *
 * Parameter types: an int64 is sent as int8, a double as float8, a blob
 * as bytea (binary format), text as "unknown" (0), typed by the server
 * from where it is used. A parameter bound to NULL is written into the
 * SQL as the literal NULL, and "?N IS [NOT] NULL" tests become TRUE or
 * FALSE for the bindings at hand (db_pg_sql_shape) -- PostgreSQL types a
 * parameter at its first use, and the store's "(?1 IS NULL OR col = ?1)"
 * gives it none there. Why int8 and not unknown for integers: "SELECT ?1"
 * in a recursive CTE would be text, "?1 + 1" int4 (overflowing
 * millisecond times). Why not text typed as text: "id = ?1" with a text
 * value must still compare with a bigint column, as in SQLite. Measured
 * cases in tests/unit/test_db_pg.c (test_param_types).
 *
 * A lost connection is connected again by the next command that may
 * (pg_alive): at once when it was lost between transactions, at the
 * store's ROLLBACK when inside one -- the session's SETs replayed.
 *
 * Errors: each failure stores a message and an extended code on the
 * connection, SQLSTATEs mapped onto SQLite's codes (pg_map_sqlstate). For
 * constraint failures the message is SQLite's ("UNIQUE constraint failed:
 * table.column"), built from the error's fields, because the store names
 * the field of a 409 from it (sqlite_store.c sq_fail) and tests read the
 * same text on both backends.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "store/db/db_int.h"
#include "store/db/db_pg_sql.h"

/* Type oids (catalog/pg_type_d.h is a server header, not in libpq-dev). */
enum {
	PG_OID_BOOL = 16,
	PG_OID_BYTEA = 17,
	PG_OID_INT8 = 20,
	PG_OID_INT2 = 21,
	PG_OID_INT4 = 23,
	PG_OID_TEXT = 25,
	PG_OID_OID = 26,
	PG_OID_FLOAT4 = 700,
	PG_OID_FLOAT8 = 701,
	PG_OID_NUMERIC = 1700,
};

#define PG_RANGE 25 /* SQLITE_RANGE: parameter index out of range */

/* The session every connection starts with (db.h: synchronous_commit on,
 * UTC). klantstem.tz is the zone ks_local_month/ks_local_year use; the
 * store sets it from its configuration afterwards. bytea_output = hex:
 * the blob decoder reads that format. */
static const char PG_SESSION_SQL[] = "SET synchronous_commit = on; SET TimeZone = 'UTC';"
				     " SET klantstem.tz = 'Europe/Amsterdam'; SET bytea_output = hex";

struct pg_stmt;

struct pg_conn {
	PGconn *pg;
	char *errmsg; /* the last error's message, "" when none; owned */
	int errcode;
	int64_t changes;
	bool lastval_defined;   /* lastval() can no longer raise (db_pg_last_insert_rowid) */
	bool write_locked;      /* this transaction holds the write lock (pg_write_lock) */
	bool in_tx;             /* after the last command: inside a transaction */
	bool lost_in_tx;        /* the connection was lost inside a transaction */
	time_t reset_failed_at; /* CLOCK_MONOTONIC seconds of the last failed reconnect, 0: none */
	char **sets;            /* the session's SET statements, replayed on reconnect */
	int n_sets;
	unsigned next_name;     /* names of server-side prepared statements */
	struct pg_stmt *stmts;  /* live statements, detached at close */
	struct pg_cached *cache; /* PG_CACHE_MAX entries */
	int n_cache;
	unsigned clock;
	struct pg_memo *memo;   /* PG_MEMO_MAX translations, by source text */
	int n_memo, memo_next;
};

/* The connection's translations (db_pg_sql_translate) by the store's own
 * SQL text. Why: the store prepares most statements afresh for each call,
 * and translating was a quarter of the writer's instructions per response
 * on PostgreSQL (51 k of 202 k, bench/ingest_count.py); a text seen before
 * is now a hash, a compare and a copy. The translation is a function of
 * the text alone, so an entry never goes stale; the oldest makes room
 * (round robin) past PG_MEMO_MAX. */
struct pg_memo {
	uint64_t hash;
	char *src;
	char *sql; /* translated */
	int n_params;
};

#define PG_MEMO_MAX 96
/* Longer texts (the bulk load's multi-row INSERTs, tens of KB) are not
 * kept: few, prepared once per session, and they would push out the
 * short statements every request runs. */
#define PG_MEMO_TEXT_MAX 4096

/* The connection's statement cache: SQL texts (as shaped for execution)
 * with their parameter types, and whether the server holds them prepared
 * under `name`. Why a cache per connection and not per statement: the
 * store prepares most statements afresh for each call (db_prepare ...
 * db_finalize); a statement it runs again is found here by its text, and
 * runs with PQexecPrepared -- no parse and plan on the server, about 3x
 * faster per statement on loopback (tests/unit/test_db_pg.c prints it).
 * A text is prepared the second time it is seen (at once for
 * db_prepare_persistent), so one-off SQL costs no extra round trip. The
 * least recently used entry makes room (DEALLOCATE) past PG_CACHE_MAX. */
struct pg_cached {
	uint64_t hash;
	char *sql;
	Oid *types; /* n */
	int n;
	char name[24];
	bool prepared;
	unsigned used_at;
};

#define PG_CACHE_MAX 128

static void pg_cache_free(struct pg_conn *pc);
static void pg_memo_free(struct pg_conn *pc);

typedef struct {
	Oid type;    /* 0: unknown (text, NULL) */
	int format;  /* 1 for a blob */
	bool null;
	char *heap;  /* owned copy of text / blob, or NULL */
	int len;
	char small[32]; /* int64 / double as text */
} pg_param;

typedef enum { PS_READY, PS_ROWS, PS_DONE } pg_state;

struct pg_stmt {
	struct pg_conn *conn; /* NULL once the connection is closed */
	struct pg_stmt *prev, *next;
	char *sql;            /* translated; "" for a no-op */
	int n_params;
	pg_param *params;
	bool may_test_null;   /* the SQL has IS [NOT] NULL: shape every execution */
	bool writes;          /* INSERT, UPDATE, DELETE ...: takes the write lock in a transaction */
	bool rolls_back;      /* ROLLBACK [TO ...]: may give the write lock back */
	bool persistent;
	PGresult *res;
	int row, n_rows;
	pg_state state;
	/* decoded bytea per column of the current row, freed at each step */
	unsigned char **blob;
	size_t *blob_len;
	int n_blob;
};

/* ---- errors ------------------------------------------------------------- */

static void pg_set_error(struct pg_conn *pc, int code, const char *msg)
{
	pc->errcode = code;
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--; /* libpq's messages end in a newline */
	char *m = malloc(n + 1);
	if (!m) {
		pc->errcode = DB_NOMEM;
		return; /* the previous message stays */
	}
	memcpy(m, msg, n);
	m[n] = '\0';
	free(pc->errmsg);
	pc->errmsg = m;
}

static void pg_clear_error(struct pg_conn *pc)
{
	pc->errcode = DB_OK;
	if (pc->errmsg)
		pc->errmsg[0] = '\0';
}

static int pg_map_sqlstate(const char *st)
{
	if (!st)
		return DB_ERROR;
	static const struct {
		const char *state;
		int code;
	} map[] = {
		{ "23505", DB_CONSTRAINT_UNIQUE },   { "23503", DB_CONSTRAINT_FOREIGNKEY },
		{ "23502", DB_CONSTRAINT_NOTNULL },  { "23514", DB_CONSTRAINT_CHECK },
		{ "P0001", DB_CONSTRAINT_TRIGGER },  { "53100", DB_FULL },
		{ "40001", DB_BUSY },                { "40P01", DB_BUSY },
		{ "55P03", DB_BUSY },                { "57014", DB_BUSY },
		{ "53200", DB_NOMEM },               { "25006", DB_READONLY },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(st, map[i].state) == 0)
			return map[i].code;
	if (strncmp(st, "23", 2) == 0)
		return DB_CONSTRAINT;
	return DB_ERROR;
}

/* "Key (a, b)=(1, x) already exists." -> "t.a, t.b" into out. Returns
 * false when the detail is not in that form (an expression index). */
static bool pg_unique_columns(const char *table, const char *detail, char *out, size_t cap)
{
	const char *k = detail ? strstr(detail, "Key (") : NULL;
	if (!k)
		return false;
	k += 5;
	const char *end = strstr(k, ")=(");
	if (!end)
		return false;
	size_t used = 0;
	out[0] = '\0';
	for (const char *p = k; p < end;) {
		const char *c = p;
		while (c < end && *c != ',')
			c++;
		const char *a = p, *b = c;
		while (a < b && *a == ' ')
			a++;
		if (a < b && *a == '"' && b[-1] == '"' && b - a >= 2) {
			a++;
			b--;
		}
		for (const char *q = a; q < b; q++)
			if (*q == '(' || *q == ' ')
				return false; /* an expression, not a column */
		int w = snprintf(out + used, cap - used, "%s%s.%.*s", used ? ", " : "", table, (int)(b - a), a);
		if (w < 0 || (size_t)w >= cap - used)
			return false;
		used += (size_t)w;
		p = c < end ? c + 1 : end;
	}
	return used > 0;
}

/* The message of a failed result, SQLite's wording for constraints. */
static void pg_result_error(struct pg_conn *pc, const PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *table = PQresultErrorField(r, PG_DIAG_TABLE_NAME);
	const char *column = PQresultErrorField(r, PG_DIAG_COLUMN_NAME);
	const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
	int code = pg_map_sqlstate(state);
	char msg[512], cols[400];
	if (!primary)
		primary = PQresultErrorMessage(r);
	if (code == DB_CONSTRAINT_UNIQUE && table &&
	    pg_unique_columns(table, PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL), cols, sizeof cols))
		snprintf(msg, sizeof msg, "UNIQUE constraint failed: %s", cols);
	else if (code == DB_CONSTRAINT_UNIQUE)
		snprintf(msg, sizeof msg, "UNIQUE constraint failed: index '%s'", cons ? cons : "?");
	else if (code == DB_CONSTRAINT_NOTNULL && table && column)
		snprintf(msg, sizeof msg, "NOT NULL constraint failed: %s.%s", table, column);
	else if (code == DB_CONSTRAINT_FOREIGNKEY)
		snprintf(msg, sizeof msg, "FOREIGN KEY constraint failed");
	else if (code == DB_CONSTRAINT_CHECK && cons)
		snprintf(msg, sizeof msg, "CHECK constraint failed: %s", cons);
	else
		snprintf(msg, sizeof msg, "%s", primary);
	pg_set_error(pc, code, msg);
}

/* After PQexec* returned r (maybe NULL): true when it succeeded; else the
 * error is recorded. A lost connection reads as one clear message. */
static bool pg_check(struct pg_conn *pc, const PGresult *r)
{
	ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (PQstatus(pc->pg) != CONNECTION_BAD)
		pc->in_tx = PQtransactionStatus(pc->pg) != PQTRANS_IDLE;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
		pg_clear_error(pc);
		return true;
	}
	if (PQstatus(pc->pg) == CONNECTION_BAD) {
		pc->lost_in_tx = pc->in_tx; /* as it was before this command */
		char msg[512];
		const char *why = PQerrorMessage(pc->pg);
		snprintf(msg, sizeof msg, "connection to the database server lost: %.*s",
			 (int)strcspn(why, "\n"), why);
		pg_set_error(pc, DB_ERROR, msg);
		return false;
	}
	if (!r) {
		pg_set_error(pc, DB_NOMEM, "out of memory");
		return false;
	}
	pg_result_error(pc, r);
	return false;
}

static void pg_note_changes(struct pg_conn *pc, const PGresult *r)
{
	/* SQLite's changes() counts the last INSERT, UPDATE or DELETE only */
	const char *cmd = PQcmdStatus((PGresult *)r);
	if (strncmp(cmd, "INSERT", 6) == 0 || strncmp(cmd, "UPDATE", 6) == 0 ||
	    strncmp(cmd, "DELETE", 6) == 0 || strncmp(cmd, "MERGE", 5) == 0)
		pc->changes = strtoll(PQcmdTuples((PGresult *)r), NULL, 10);
}

/* ---- connections ------------------------------------------------------- */

/* The server's NOTICEs ("relation already exists, skipping") would go to
 * stderr by default, in the middle of the service's log; the store has
 * no use for them. */
static void pg_ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Set a new (or reset) connection up: the session db.h promises, then
 * the SET statements the store ran since (pg_note_set). NULL when ready,
 * else the reason, written into buf. */
static const char *pg_session_start(struct pg_conn *pc, char *buf, size_t cap)
{
	if (PQstatus(pc->pg) != CONNECTION_OK) {
		snprintf(buf, cap, "cannot connect to PostgreSQL: %s", PQerrorMessage(pc->pg));
		buf[strcspn(buf, "\n")] = '\0';
		return buf;
	}
	PQsetNoticeProcessor(pc->pg, pg_ignore_notice, NULL);
	if (PQsetClientEncoding(pc->pg, "UTF8") != 0) {
		snprintf(buf, cap, "cannot set client_encoding UTF8: %s", PQerrorMessage(pc->pg));
		buf[strcspn(buf, "\n")] = '\0';
		return buf;
	}
	for (int k = -1; k < pc->n_sets; k++) {
		PGresult *r = PQexec(pc->pg, k < 0 ? PG_SESSION_SQL : pc->sets[k]);
		bool ok = pg_check(pc, r);
		PQclear(r);
		if (!ok) {
			snprintf(buf, cap, "cannot set up the session: %s", pc->errmsg);
			return buf;
		}
	}
	return NULL;
}

db_conn *db_open_pg(const char *conninfo, char **err)
{
	if (err)
		*err = NULL;
	db_conn *c = calloc(1, sizeof *c);
	struct pg_conn *pc = calloc(1, sizeof *pc);
	char *emsg = calloc(1, 1);
	if (!c || !pc || !emsg) {
		free(c);
		free(pc);
		free(emsg);
		if (err)
			*err = strdup("out of memory");
		return NULL;
	}
	pc->errmsg = emsg;
	c->kind = DB_POSTGRES;
	c->pg = pc;
	pc->pg = PQconnectdb(conninfo);
	char buf[512];
	const char *why = !pc->pg ? "out of memory" : pg_session_start(pc, buf, sizeof buf);
	if (why) {
		if (err)
			*err = strdup(why);
		db_pg_close(c);
		free(c);
		return NULL;
	}
	return c;
}

void db_pg_close(db_conn *c)
{
	struct pg_conn *pc = c->pg;
	if (!pc)
		return;
	/* statements finalized after the close must not touch the connection */
	for (struct pg_stmt *s = pc->stmts; s; s = s->next)
		s->conn = NULL;
	PQfinish(pc->pg); /* the server forgets the prepared statements with it */
	pg_cache_free(pc);
	pg_memo_free(pc);
	for (int k = 0; k < pc->n_sets; k++)
		free(pc->sets[k]);
	free(pc->sets);
	free(pc->errmsg);
	free(pc);
	c->pg = NULL;
}

/* Is the connection usable for the next command? A lost one is connected
 * again (PQreset) -- the session replayed, the statement cache emptied,
 * as the server forgot it -- when that cannot hide a lost transaction:
 * at once when it was lost outside one, else at the ROLLBACK the store
 * sends after the failure (rollback: the command is one). Until then
 * every command fails with the same message, as SQLite's connection
 * would after an I/O error. */
static bool pg_alive(struct pg_conn *pc, bool rollback)
{
	if (PQstatus(pc->pg) == CONNECTION_OK)
		return true;
	char msg[512];
	if (pc->lost_in_tx && !rollback) {
		pg_set_error(pc, DB_ERROR, "connection to the database server lost in a transaction: ROLLBACK");
		return false;
	}
	/* one attempt a second: with the server away, each attempt can take
	 * up to connect_timeout (set it in the URI), and every request of the
	 * service would pay that */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (pc->reset_failed_at && now.tv_sec - pc->reset_failed_at < 1) {
		pc->errcode = DB_ERROR; /* the message of the failed attempt stays */
		return false;
	}
	PQreset(pc->pg);
	const char *why = pg_session_start(pc, msg, sizeof msg);
	pc->reset_failed_at = why ? (now.tv_sec ? now.tv_sec : 1) : 0;
	if (why) {
		char m2[600];
		snprintf(m2, sizeof m2, "connection to the database server lost: %s", why);
		pg_set_error(pc, DB_ERROR, m2);
		return false;
	}
	pg_cache_free(pc);
	pc->lastval_defined = false;
	pc->write_locked = false;
	pc->in_tx = pc->lost_in_tx = false;
	return true;
}

/* Remember a session-wide SET (lock_timeout from db_busy_timeout,
 * klantstem.tz, search_path) to replay it after a reconnect; a later SET
 * of the same name replaces it. SET LOCAL / TRANSACTION end with their
 * transaction and are not kept. */
static void pg_note_set(struct pg_conn *pc, const char *sql)
{
	const char *p = sql + strspn(sql, " \t\r\n");
	if (strncasecmp(p, "SET", 3) != 0 || !isspace((unsigned char)p[3]) || strchr(p, ';'))
		return;
	p += 3 + strspn(p + 3, " \t\r\n");
	if (strncasecmp(p, "SESSION ", 8) == 0)
		p += 8 + strspn(p + 8, " \t\r\n");
	if (strncasecmp(p, "LOCAL ", 6) == 0 || strncasecmp(p, "TRANSACTION", 11) == 0 ||
	    strncasecmp(p, "CONSTRAINTS", 11) == 0)
		return;
	size_t name = strcspn(p, " \t\r\n=");
	for (int k = 0; k < pc->n_sets; k++) {
		const char *q = pc->sets[k] + 4; /* stored as "SET name ..." */
		if (strncasecmp(q, p, name) == 0 && (q[name] == ' ' || q[name] == '=')) {
			char *copy = malloc(4 + strlen(p) + 1);
			if (copy) {
				memcpy(copy, "SET ", 4);
				strcpy(copy + 4, p);
				free(pc->sets[k]);
				pc->sets[k] = copy;
			}
			return;
		}
	}
	char **more = realloc(pc->sets, (size_t)(pc->n_sets + 1) * sizeof *more);
	char *copy = malloc(4 + strlen(p) + 1);
	if (!more || !copy) {
		if (more)
			pc->sets = more;
		free(copy);
		return; /* not replayed after a reconnect: the default holds */
	}
	memcpy(copy, "SET ", 4);
	strcpy(copy + 4, p);
	pc->sets = more;
	pc->sets[pc->n_sets++] = copy;
}

/* ---- the write lock --------------------------------------------------------
 *
 * SQLite lets one transaction write at a time: BEGIN IMMEDIATE takes the
 * write lock at once, a deferred BEGIN at its first write, and the store
 * reasons with that (sqlite_text_config.c: "no writer batch can commit in
 * between"; read-then-write steps in one transaction). PostgreSQL locks
 * rows, so two transactions would interleave. The same lock is kept here
 * with a transaction-scoped advisory lock (one key per database, released
 * by COMMIT or ROLLBACK): taken by BEGIN IMMEDIATE / EXCLUSIVE, and by the
 * first writing statement of any other transaction. Statements outside a
 * transaction are atomic on their own and take no lock. Waiting is bounded
 * by lock_timeout (db_busy_timeout), past which the step is DB_BUSY as in
 * SQLite. Cost: one round trip per writing transaction.
 *
 * Isolation (db_pg_sql.c rule 2): BEGIN IMMEDIATE is READ COMMITTED --
 * holding the lock from its start, it never meets another store writer's
 * commit -- and a deferred BEGIN is REPEATABLE READ, one snapshot as
 * SQLite's read transaction. A deferred transaction that writes a row
 * changed since its snapshot fails with 40001, DB_BUSY here, as SQLite's
 * SQLITE_BUSY_SNAPSHOT; the store writes only in IMMEDIATE ones. */
#define PG_WRITE_LOCK "SELECT pg_advisory_xact_lock(1802728300)" /* "klan" */

/* Does sql (translated) write? A word scan: INSERT, UPDATE, DELETE,
 * MERGE, TRUNCATE anywhere (a WITH ... INSERT too). Quoted text is not
 * skipped: a false yes costs one lock, never a wrong result. */
static bool pg_sql_writes(const char *sql)
{
	static const char *const verbs[] = { "INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE" };
	for (const char *p = sql; *p;) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_')) {
			p++;
			continue;
		}
		const char *w = p;
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
			p++;
		for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
			if ((size_t)(p - w) == strlen(verbs[k]) && strncasecmp(w, verbs[k], (size_t)(p - w)) == 0)
				return true;
	}
	return false;
}

/* Take the write lock when in a transaction that has not got it yet.
 * false when taking it failed (the error is recorded; the transaction is
 * then aborted and the caller's ROLLBACK ends it, as after SQLITE_BUSY). */
static bool pg_write_lock(struct pg_conn *pc)
{
	PGTransactionStatusType ts = PQtransactionStatus(pc->pg);
	if (ts == PQTRANS_IDLE)
		pc->write_locked = false;
	if (ts != PQTRANS_INTRANS || pc->write_locked)
		return true;
	PGresult *r = PQexec(pc->pg, PG_WRITE_LOCK);
	bool ok = pg_check(pc, r);
	PQclear(r);
	pc->write_locked = ok;
	return ok;
}

/* Does sql start with ROLLBACK (ROLLBACK TO a savepoint included)? */
static bool pg_is_rollback(const char *sql)
{
	const char *p = sql + strspn(sql, " \t\r\n");
	return strncasecmp(p, "ROLLBACK", 8) == 0 && !isalnum((unsigned char)p[8]);
}

/* After each command: a finished transaction released the lock, and so
 * did a ROLLBACK TO when the lock was taken after its savepoint (locks of
 * a rolled-back subtransaction go with it); taking it again while held
 * is harmless, so after a ROLLBACK TO the next write takes it again. */
static void pg_after_command(struct pg_conn *pc, bool rollback)
{
	if (rollback || PQtransactionStatus(pc->pg) == PQTRANS_IDLE)
		pc->write_locked = false;
}

/* BEGIN IMMEDIATE / EXCLUSIVE [TRANSACTION], the store's way to take the
 * write lock up front (db_pg_sql.c turns it into BEGIN). */
static bool pg_is_begin_immediate(const char *sql)
{
	const char *p = sql + strspn(sql, " \t\r\n");
	if (strncasecmp(p, "BEGIN", 5) != 0)
		return false;
	p += 5;
	size_t blank = strspn(p, " \t\r\n");
	if (blank == 0)
		return false;
	p += blank;
	return (strncasecmp(p, "IMMEDIATE", 9) == 0 && !isalnum((unsigned char)p[9])) ||
	       (strncasecmp(p, "EXCLUSIVE", 9) == 0 && !isalnum((unsigned char)p[9]));
}

int db_pg_exec_native(db_conn *c, const char *sql)
{
	struct pg_conn *pc = c->pg;
	if (!pg_alive(pc, pg_is_rollback(sql)))
		return DB_ERROR;
	if (!sql[0]) {
		pg_clear_error(pc);
		return DB_OK;
	}
	if (pg_sql_writes(sql) && !pg_write_lock(pc))
		return pc->errcode;
	PGresult *r = PQexec(pc->pg, sql);
	bool ok = pg_check(pc, r);
	if (ok) {
		pg_note_changes(pc, r);
		pg_note_set(pc, sql);
	}
	PQclear(r);
	pg_after_command(pc, pg_is_rollback(sql));
	return ok ? DB_OK : pc->errcode;
}

int db_pg_exec(db_conn *c, const char *sql)
{
	struct pg_conn *pc = c->pg;
	if (!pg_alive(pc, pg_is_rollback(sql)))
		return DB_ERROR;
	const char *why = NULL;
	char *t = db_pg_sql_translate(sql, NULL, &why);
	if (!t) {
		pg_set_error(pc, strcmp(why, "out of memory") == 0 ? DB_NOMEM : DB_ERROR, why);
		return pc->errcode;
	}
	int rc = db_pg_exec_native(c, t); /* "" (only pragmas) is a no-op */
	free(t);
	if (rc == DB_OK && pg_is_begin_immediate(sql) && !pg_write_lock(pc)) {
		/* as SQLite's BEGIN IMMEDIATE when busy: no transaction opened */
		int code = pc->errcode;
		char *msg = strdup(pc->errmsg);
		PQclear(PQexec(pc->pg, "ROLLBACK"));
		pc->write_locked = false;
		pg_set_error(pc, code, msg ? msg : "");
		free(msg);
		return code;
	}
	return rc;
}

const char *db_pg_errmsg(db_conn *c)
{
	return c->pg->errmsg;
}

int db_pg_extended_errcode(db_conn *c)
{
	return c->pg->errcode;
}

int64_t db_pg_changes(db_conn *c)
{
	return c->pg->changes;
}

/* lastval() raises when no sequence was used yet in the session, and a
 * raise would abort the caller's transaction; until it has returned once,
 * it runs inside a plpgsql block that catches that error (a
 * subtransaction: one round trip, no abort), after that plainly. */
int64_t db_pg_last_insert_rowid(db_conn *c)
{
	struct pg_conn *pc = c->pg;
	if (!pg_alive(pc, false))
		return 0;
	static const char safe[] =
		"DO $$BEGIN PERFORM set_config('klantstem.lastval', lastval()::text, false);"
		" EXCEPTION WHEN object_not_in_prerequisite_state THEN"
		" PERFORM set_config('klantstem.lastval', '0', false); END$$;"
		" SELECT current_setting('klantstem.lastval')::int8";
	PGresult *r = PQexec(pc->pg, pc->lastval_defined ? "SELECT lastval()" : safe);
	int64_t v = 0;
	if (pg_check(pc, r) && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		if (v != 0)
			pc->lastval_defined = true;
	}
	PQclear(r);
	return v;
}

bool db_pg_get_autocommit(db_conn *c)
{
	/* lost: in a transaction when it was lost in one (until ROLLBACK) */
	if (PQstatus(c->pg->pg) != CONNECTION_OK)
		return !c->pg->lost_in_tx;
	return PQtransactionStatus(c->pg->pg) == PQTRANS_IDLE;
}

/* ---- statements -------------------------------------------------------- */

static void pg_param_clear(pg_param *p)
{
	free(p->heap);
	memset(p, 0, sizeof *p);
	p->null = true;
}

static void pg_blobs_clear(struct pg_stmt *ps)
{
	for (int i = 0; i < ps->n_blob; i++) {
		free(ps->blob[i]);
		ps->blob[i] = NULL;
	}
}

static void pg_result_clear(struct pg_stmt *ps)
{
	pg_blobs_clear(ps);
	free(ps->blob);
	free(ps->blob_len);
	ps->blob = NULL;
	ps->blob_len = NULL;
	ps->n_blob = 0;
	PQclear(ps->res);
	ps->res = NULL;
	ps->row = ps->n_rows = 0;
	ps->state = PS_READY;
}

/* Whether sql has the word NULL anywhere (a cheap over-estimate of "has
 * an IS [NOT] NULL test", which db_pg_sql_shape then finds exactly). */
static bool pg_mentions_null(const char *sql)
{
	for (const char *p = sql; (p = strpbrk(p, "nN")) != NULL; p++)
		if (strncasecmp(p, "null", 4) == 0)
			return true;
	return false;
}

/* ---- the translation memo (struct pg_memo) ------------------------------ */

static uint64_t pg_text_hash(const char *sql)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static void pg_memo_free(struct pg_conn *pc)
{
	for (int k = 0; k < pc->n_memo; k++) {
		free(pc->memo[k].src);
		free(pc->memo[k].sql);
	}
	free(pc->memo);
	pc->memo = NULL;
	pc->n_memo = pc->memo_next = 0;
}

/* Remember src's translation; silently not when memory is short (the
 * next prepare translates again). */
static void pg_memo_put(struct pg_conn *pc, uint64_t h, const char *src, const char *sql, int n_params)
{
	if (!pc->memo && !(pc->memo = calloc(PG_MEMO_MAX, sizeof *pc->memo)))
		return;
	char *s = strdup(src), *t = strdup(sql);
	if (!s || !t) {
		free(s);
		free(t);
		return;
	}
	struct pg_memo *m;
	if (pc->n_memo < PG_MEMO_MAX) {
		m = &pc->memo[pc->n_memo++];
	} else {
		m = &pc->memo[pc->memo_next];
		pc->memo_next = (pc->memo_next + 1) % PG_MEMO_MAX;
		free(m->src);
		free(m->sql);
	}
	*m = (struct pg_memo){.hash = h, .src = s, .sql = t, .n_params = n_params};
}

/* db_pg_sql_translate through the memo: a malloc'd translation (caller
 * frees) and its parameter count, or NULL with *why. */
static char *pg_translate(struct pg_conn *pc, const char *sql, int *n_params, const char **why)
{
	uint64_t h = pg_text_hash(sql);
	for (int k = 0; k < pc->n_memo; k++) {
		const struct pg_memo *m = &pc->memo[k];
		if (m->hash != h || strcmp(m->src, sql) != 0)
			continue;
		char *t = strdup(m->sql);
		if (!t)
			*why = "out of memory";
		*n_params = m->n_params;
		return t;
	}
	char *t = db_pg_sql_translate(sql, n_params, why);
	if (t && strlen(sql) <= PG_MEMO_TEXT_MAX)
		pg_memo_put(pc, h, sql, t, *n_params);
	return t;
}

int db_pg_prepare(db_conn *c, const char *sql, bool persistent, db_stmt *st)
{
	struct pg_conn *pc = c->pg; /* not checked: a prepare does not reach the server */
	struct pg_stmt *ps = calloc(1, sizeof *ps);
	if (!ps) {
		pg_set_error(pc, DB_NOMEM, "out of memory");
		return DB_NOMEM;
	}
	const char *why = NULL;
	ps->sql = pg_translate(pc, sql, &ps->n_params, &why);
	if (!ps->sql) {
		free(ps);
		pg_set_error(pc, strcmp(why, "out of memory") == 0 ? DB_NOMEM : DB_ERROR, why);
		return pc->errcode;
	}
	if (ps->n_params > 0) {
		ps->params = calloc((size_t)ps->n_params, sizeof *ps->params);
		if (!ps->params) {
			free(ps->sql);
			free(ps);
			pg_set_error(pc, DB_NOMEM, "out of memory");
			return DB_NOMEM;
		}
		for (int i = 0; i < ps->n_params; i++)
			ps->params[i].null = true;
	}
	ps->may_test_null = pg_mentions_null(ps->sql);
	ps->writes = pg_sql_writes(ps->sql);
	ps->rolls_back = pg_is_rollback(ps->sql);
	ps->persistent = persistent;
	ps->conn = pc;
	ps->next = pc->stmts;
	if (pc->stmts)
		pc->stmts->prev = ps;
	pc->stmts = ps;
	st->pg = ps;
	/* Errors in the SQL show at the first step, as the whole statement
	 * then goes to the server in one round trip. */
	pg_clear_error(pc);
	return DB_OK;
}

void db_pg_finalize(db_stmt *st)
{
	struct pg_stmt *ps = st->pg;
	if (!ps)
		return;
	pg_result_clear(ps);
	if (ps->conn) {
		if (ps->prev)
			ps->prev->next = ps->next;
		else
			ps->conn->stmts = ps->next;
		if (ps->next)
			ps->next->prev = ps->prev;
	}
	for (int i = 0; i < ps->n_params; i++)
		free(ps->params[i].heap);
	free(ps->params);
	free(ps->sql);
	free(ps);
	st->pg = NULL;
}

/* ---- the statement cache ------------------------------------------------- */

static uint64_t pg_hash(const char *sql, int n, const Oid *types)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	for (int i = 0; i < n; i++)
		h = (h ^ types[i]) * 1099511628211ULL;
	return h;
}

static void pg_cached_free(struct pg_cached *e)
{
	free(e->sql);
	free(e->types);
	memset(e, 0, sizeof *e);
}

static void pg_cache_free(struct pg_conn *pc)
{
	for (int k = 0; k < pc->n_cache; k++)
		pg_cached_free(&pc->cache[k]);
	free(pc->cache);
	pc->cache = NULL;
	pc->n_cache = 0;
}

static struct pg_cached *pg_cache_find(struct pg_conn *pc, uint64_t h, const char *sql, int n, const Oid *types)
{
	for (int k = 0; k < pc->n_cache; k++) {
		struct pg_cached *e = &pc->cache[k];
		if (e->sql && e->hash == h && e->n == n && strcmp(e->sql, sql) == 0 &&
		    (n == 0 || memcmp(e->types, types, (size_t)n * sizeof *types) == 0))
			return e;
	}
	return NULL;
}

/* A free entry, evicting the least recently used when full; NULL when
 * out of memory or when the victim cannot be deallocated now (in a failed
 * transaction): the statement then runs uncached. */
static struct pg_cached *pg_cache_slot(struct pg_conn *pc)
{
	if (!pc->cache) {
		pc->cache = calloc(PG_CACHE_MAX, sizeof *pc->cache);
		if (!pc->cache)
			return NULL;
	}
	if (pc->n_cache < PG_CACHE_MAX)
		return &pc->cache[pc->n_cache++];
	struct pg_cached *v = &pc->cache[0];
	for (int k = 1; k < pc->n_cache; k++)
		if (pc->cache[k].used_at < v->used_at)
			v = &pc->cache[k];
	if (v->prepared) {
		PGTransactionStatusType ts = PQtransactionStatus(pc->pg);
		if (ts != PQTRANS_IDLE && ts != PQTRANS_INTRANS)
			return NULL;
		char q[48];
		snprintf(q, sizeof q, "DEALLOCATE %s", v->name);
		PQclear(PQexec(pc->pg, q));
	}
	pg_cached_free(v);
	return v;
}

static struct pg_cached *pg_cache_add(struct pg_conn *pc, uint64_t h, const char *sql, int n, const Oid *types)
{
	struct pg_cached *e = pg_cache_slot(pc);
	if (!e)
		return NULL;
	e->sql = strdup(sql);
	e->types = n > 0 ? malloc((size_t)n * sizeof *types) : NULL;
	if (!e->sql || (n > 0 && !e->types)) {
		pg_cached_free(e); /* left empty (sql NULL, used_at 0): reused first */
		return NULL;
	}
	if (n > 0)
		memcpy(e->types, types, (size_t)n * sizeof *types);
	e->n = n;
	e->hash = h;
	return e;
}

/* Run sql through the cache: prepared when known (or persistent), else
 * PQexecParams and remembered. NULL result on out of memory. */
static PGresult *pg_run_cached(struct pg_stmt *ps, const char *sql, const Oid *types, const char **vals,
			       const int *lens, const int *fmts)
{
	struct pg_conn *pc = ps->conn;
	int n = ps->n_params;
	uint64_t h = pg_hash(sql, n, types);
	struct pg_cached *e = pg_cache_find(pc, h, sql, n, types);
	if (!e) {
		e = pg_cache_add(pc, h, sql, n, types);
		if (!e || !ps->persistent) {
			if (e)
				e->used_at = ++pc->clock;
			return PQexecParams(pc->pg, sql, n, types, vals, lens, fmts, 0);
		}
	}
	e->used_at = ++pc->clock;
	bool idle = PQtransactionStatus(pc->pg) == PQTRANS_IDLE;
	for (int attempt = 0;; attempt++) {
		if (!e->prepared) {
			snprintf(e->name, sizeof e->name, "ks_%u", pc->next_name++);
			PGresult *r = PQprepare(pc->pg, e->name, sql, n, types);
			if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
				return r; /* stays unprepared; the error is the caller's */
			PQclear(r);
			e->prepared = true;
		}
		PGresult *r = PQexecPrepared(pc->pg, e->name, n, vals, lens, fmts, 0);
		/* 0A000 "cached plan must not change result type": a table
		 * changed under a prepared SELECT * (DDL since it was prepared).
		 * Prepare it afresh under a new name (the old one stays on the
		 * server until the connection closes: this is rare), and run it
		 * again when that is safe: outside a transaction the failed run
		 * did nothing; inside one the transaction is aborted anyway. */
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		if (!state || strcmp(state, "0A000") != 0)
			return r;
		e->prepared = false;
		if (!idle || attempt > 0)
			return r;
		PQclear(r);
	}
}

/* The arrays libpq takes for one execution. */
typedef struct {
	Oid *types;
	const char **vals;
	int *lens, *fmts;
	bool *nulls, *used;
} pg_args;

/* Fill a's arrays (n entries each, allocated by the caller) from the
 * bindings; shape the SQL when NULLs or IS NULL tests need it. *sql gets
 * ps->sql or a malloc'd shaped copy the caller frees (*shaped). */
static bool pg_args_fill(struct pg_stmt *ps, pg_args *a, const char **sql, char **shaped)
{
	int n = ps->n_params;
	bool any_null = false;
	for (int i = 0; i < n; i++) {
		a->nulls[i] = ps->params[i].null;
		any_null |= a->nulls[i];
		a->used[i] = true;
	}
	*sql = ps->sql;
	*shaped = NULL;
	if (n > 0 && (any_null || ps->may_test_null)) {
		*shaped = db_pg_sql_shape(ps->sql, n, a->nulls, a->used);
		if (!*shaped)
			return false;
		*sql = *shaped;
	}
	for (int i = 0; i < n; i++) {
		const pg_param *p = &ps->params[i];
		if (!a->used[i] || p->null) {
			/* no longer in the SQL (a NULL is spelled there now, or
			 * the test was folded), or never was (SQLite allows gaps
			 * in ?NNN): still sent, so typed, as a NULL text */
			a->types[i] = PG_OID_TEXT;
			a->vals[i] = NULL;
			a->lens[i] = 0;
			a->fmts[i] = 0;
			continue;
		}
		a->types[i] = p->type;
		a->vals[i] = p->heap ? p->heap : p->small;
		a->lens[i] = p->len;
		a->fmts[i] = p->format;
	}
	return true;
}

#define PG_STACK_PARAMS 16

static PGresult *pg_run(struct pg_stmt *ps, bool *oom)
{
	struct pg_conn *pc = ps->conn;
	int n = ps->n_params;
	Oid types_s[PG_STACK_PARAMS];
	const char *vals_s[PG_STACK_PARAMS];
	int lens_s[PG_STACK_PARAMS], fmts_s[PG_STACK_PARAMS];
	bool nulls_s[PG_STACK_PARAMS], used_s[PG_STACK_PARAMS];
	pg_args a = { types_s, vals_s, lens_s, fmts_s, nulls_s, used_s };
	void *heap = NULL;
	*oom = false;
	if (n > PG_STACK_PARAMS) {
		size_t each = sizeof(char *) + sizeof(Oid) + 2 * sizeof(int) + 2 * sizeof(bool);
		heap = malloc((size_t)n * each);
		if (!heap) {
			*oom = true;
			return NULL;
		}
		a.vals = heap;
		a.types = (Oid *)(a.vals + n);
		a.lens = (int *)(a.types + n);
		a.fmts = a.lens + n;
		a.nulls = (bool *)(a.fmts + n);
		a.used = a.nulls + n;
	}
	const char *sql;
	char *shaped;
	PGresult *r = NULL;
	if (!pg_args_fill(ps, &a, &sql, &shaped))
		*oom = true;
	else
		r = pg_run_cached(ps, sql, a.types, a.vals, a.lens, a.fmts);
	if (!r && PQstatus(pc->pg) == CONNECTION_OK)
		*oom = true;
	free(shaped);
	free(heap);
	return r;
}

static int pg_execute(struct pg_stmt *ps)
{
	struct pg_conn *pc = ps->conn;
	if (!ps->sql[0]) { /* PRAGMA: nothing to run */
		ps->state = PS_DONE;
		pg_clear_error(pc);
		return DB_DONE;
	}
	if (ps->writes && !pg_write_lock(pc)) {
		ps->state = PS_DONE;
		return pc->errcode;
	}
	bool oom;
	PGresult *r = pg_run(ps, &oom);
	pg_after_command(pc, ps->rolls_back);
	if (oom) {
		PQclear(r);
		ps->state = PS_DONE;
		pg_set_error(pc, DB_NOMEM, "out of memory");
		return DB_NOMEM;
	}
	if (!pg_check(pc, r)) {
		PQclear(r);
		ps->state = PS_DONE;
		return pc->errcode;
	}
	pg_note_changes(pc, r);
	ps->res = r;
	ps->n_rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
	ps->row = 0;
	int nf = PQnfields(r);
	if (nf > 0) {
		ps->blob = calloc((size_t)nf, sizeof *ps->blob);
		ps->blob_len = calloc((size_t)nf, sizeof *ps->blob_len);
		if (!ps->blob || !ps->blob_len) {
			pg_result_clear(ps);
			pg_set_error(pc, DB_NOMEM, "out of memory");
			return DB_NOMEM;
		}
		ps->n_blob = nf;
	}
	ps->state = ps->n_rows > 0 ? PS_ROWS : PS_DONE;
	return ps->n_rows > 0 ? DB_ROW : DB_DONE;
}

int db_pg_step(db_stmt *st)
{
	struct pg_stmt *ps = st->pg;
	if (!ps->conn)
		return DB_MISUSE;
	switch (ps->state) {
	case PS_ROWS:
		pg_blobs_clear(ps);
		if (++ps->row < ps->n_rows)
			return DB_ROW;
		ps->state = PS_DONE;
		return DB_DONE;
	case PS_DONE:
		/* stepping past the end runs the statement again, as SQLite's
		 * automatic reset does */
		pg_result_clear(ps);
		break;
	case PS_READY:
		break;
	}
	if (!pg_alive(ps->conn, ps->rolls_back))
		return DB_ERROR;
	return pg_execute(ps);
}

int db_pg_reset(db_stmt *st)
{
	pg_result_clear(st->pg);
	return DB_OK;
}

int db_pg_clear_bindings(db_stmt *st)
{
	struct pg_stmt *ps = st->pg;
	for (int i = 0; i < ps->n_params; i++)
		pg_param_clear(&ps->params[i]);
	return DB_OK;
}

/* The parameter i (from 1) cleared for a new value, NULL when out of
 * range. The value is used from the next execution on (a step after
 * DB_DONE or a reset), as in SQLite. */
static pg_param *pg_param_at(db_stmt *st, int i)
{
	struct pg_stmt *ps = st->pg;
	if (i < 1 || i > ps->n_params)
		return NULL;
	pg_param *p = &ps->params[i - 1];
	pg_param_clear(p);
	return p;
}

int db_pg_bind_int64(db_stmt *st, int i, int64_t v)
{
	pg_param *p = pg_param_at(st, i);
	if (!p)
		return PG_RANGE;
	p->null = false;
	p->type = PG_OID_INT8;
	p->len = snprintf(p->small, sizeof p->small, "%lld", (long long)v);
	return DB_OK;
}

int db_pg_bind_double(db_stmt *st, int i, double v)
{
	pg_param *p = pg_param_at(st, i);
	if (!p)
		return PG_RANGE;
	p->null = false;
	p->type = PG_OID_FLOAT8;
	/* %.17g round-trips every double; "inf"/"nan" are spelled as
	 * PostgreSQL's float8 input wants them */
	if (v != v)
		p->len = snprintf(p->small, sizeof p->small, "NaN");
	else if (v > 1.7976931348623157e308)
		p->len = snprintf(p->small, sizeof p->small, "Infinity");
	else if (v < -1.7976931348623157e308)
		p->len = snprintf(p->small, sizeof p->small, "-Infinity");
	else
		p->len = snprintf(p->small, sizeof p->small, "%.17g", v);
	return DB_OK;
}

int db_pg_bind_null(db_stmt *st, int i)
{
	return pg_param_at(st, i) ? DB_OK : PG_RANGE;
}

int db_pg_bind_text(db_stmt *st, int i, const char *v, int n)
{
	pg_param *p = pg_param_at(st, i);
	if (!p)
		return PG_RANGE;
	if (!v)
		return DB_OK; /* SQLite binds a NULL pointer as NULL */
	size_t len = n < 0 ? strlen(v) : (size_t)n;
	p->heap = malloc(len + 1);
	if (!p->heap)
		return DB_NOMEM;
	memcpy(p->heap, v, len);
	p->heap[len] = '\0'; /* text goes in text format: NUL-terminated */
	p->len = (int)len;
	p->null = false;
	p->type = 0;
	return DB_OK;
}

int db_pg_bind_blob(db_stmt *st, int i, const void *v, int n)
{
	pg_param *p = pg_param_at(st, i);
	if (!p)
		return PG_RANGE;
	if (!v)
		return DB_OK;
	size_t len = n < 0 ? 0 : (size_t)n;
	p->heap = malloc(len ? len : 1);
	if (!p->heap)
		return DB_NOMEM;
	memcpy(p->heap, v, len);
	p->len = (int)len;
	p->format = 1; /* binary: the bytes as they are, NULs included */
	p->null = false;
	p->type = PG_OID_BYTEA;
	return DB_OK;
}

int db_pg_bind_parameter_count(db_stmt *st)
{
	return st->pg->n_params;
}

/* ---- columns ------------------------------------------------------------ */

int db_pg_column_count(db_stmt *st)
{
	return st->pg->res ? PQnfields(st->pg->res) : 0;
}

const char *db_pg_column_name(db_stmt *st, int i)
{
	struct pg_stmt *ps = st->pg;
	if (!ps->res || i < 0 || i >= PQnfields(ps->res))
		return NULL;
	return PQfname(ps->res, i);
}

/* The value at column i of the current row, NULL when there is no row,
 * the column is out of range or the value is NULL. */
static const char *pg_value(struct pg_stmt *ps, int i)
{
	if (ps->state != PS_ROWS || i < 0 || i >= ps->n_blob || PQgetisnull(ps->res, ps->row, i))
		return NULL;
	return PQgetvalue(ps->res, ps->row, i);
}

/* A numeric's text is an integer that fits int64 ("123", "-5"; not
 * "1.50", "NaN", "99999999999999999999"). */
static bool pg_numeric_is_integer(const char *v)
{
	const char *p = v + (*v == '-');
	size_t n = strspn(p, "0123456789");
	if (n == 0 || p[n] != '\0')
		return false;
	errno = 0;
	(void)strtoll(v, NULL, 10);
	return errno != ERANGE;
}

int db_pg_column_type(db_stmt *st, int i)
{
	struct pg_stmt *ps = st->pg;
	if (!pg_value(ps, i))
		return DB_NULL;
	switch (PQftype(ps->res, i)) {
	case PG_OID_INT2:
	case PG_OID_INT4:
	case PG_OID_INT8:
	case PG_OID_OID:
	case PG_OID_BOOL:
		return DB_INTEGER;
	case PG_OID_NUMERIC:
		/* typed per value, as SQLite does: sum() of a bigint column is
		 * numeric in PostgreSQL, an integer in SQLite */
		return pg_numeric_is_integer(pg_value(ps, i)) ? DB_INTEGER : DB_FLOAT;
	case PG_OID_FLOAT4:
	case PG_OID_FLOAT8:
		return DB_FLOAT;
	case PG_OID_BYTEA:
		return DB_BLOB;
	default:
		return DB_TEXT;
	}
}

/* Text to int64 as SQLite's CAST does: the leading integer, a real's
 * integer part (3.9 -> 3, 1e3 -> 1000), clamped to the int64 range;
 * anything else 0. */
static int64_t pg_text_int64(const char *s)
{
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end != s && *end != '.' && *end != 'e' && *end != 'E')
		return v; /* strtoll clamps on overflow */
	double d = strtod(s, &end);
	if (end == s || d != d)
		return 0;
	if (d >= 9223372036854775807.0)
		return INT64_MAX;
	if (d <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)d;
}

int64_t db_pg_column_int64(db_stmt *st, int i)
{
	struct pg_stmt *ps = st->pg;
	const char *v = pg_value(ps, i);
	if (!v)
		return 0;
	if (PQftype(ps->res, i) == PG_OID_BOOL)
		return v[0] == 't';
	return pg_text_int64(v);
}

double db_pg_column_double(db_stmt *st, int i)
{
	struct pg_stmt *ps = st->pg;
	const char *v = pg_value(ps, i);
	if (!v)
		return 0.0;
	if (PQftype(ps->res, i) == PG_OID_BOOL)
		return v[0] == 't' ? 1.0 : 0.0;
	char *end;
	double d = strtod(v, &end);
	return end == v ? 0.0 : d;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The bytea at column i decoded (the session's bytea_output is hex),
 * cached for the row, NUL-terminated past its length so that reading it
 * as text is safe. */
static const unsigned char *pg_bytea(struct pg_stmt *ps, int i, const char *v)
{
	if (ps->blob[i])
		return ps->blob[i];
	size_t n = (size_t)PQgetlength(ps->res, ps->row, i);
	if (n < 2 || v[0] != '\\' || v[1] != 'x')
		return NULL;
	size_t len = (n - 2) / 2;
	unsigned char *b = malloc(len + 1);
	if (!b)
		return NULL;
	for (size_t k = 0; k < len; k++) {
		int hi = hexval((unsigned char)v[2 + 2 * k]), lo = hexval((unsigned char)v[3 + 2 * k]);
		if (hi < 0 || lo < 0) {
			free(b);
			return NULL;
		}
		b[k] = (unsigned char)(hi << 4 | lo);
	}
	b[len] = '\0';
	ps->blob[i] = b;
	ps->blob_len[i] = len;
	return b;
}

const unsigned char *db_pg_column_text(db_stmt *st, int i)
{
	struct pg_stmt *ps = st->pg;
	const char *v = pg_value(ps, i);
	if (!v)
		return NULL;
	switch (PQftype(ps->res, i)) {
	case PG_OID_BOOL: /* as the integer SQLite would have stored */
		return (const unsigned char *)(v[0] == 't' ? "1" : "0");
	case PG_OID_BYTEA:
		return pg_bytea(ps, i, v);
	default:
		return (const unsigned char *)v;
	}
}

const void *db_pg_column_blob(db_stmt *st, int i)
{
	struct pg_stmt *ps = st->pg;
	const char *v = pg_value(ps, i);
	if (!v)
		return NULL;
	if (PQftype(ps->res, i) == PG_OID_BYTEA)
		return pg_bytea(ps, i, v);
	return db_pg_column_text(st, i); /* SQLite: the text's bytes */
}

int db_pg_column_bytes(db_stmt *st, int i)
{
	struct pg_stmt *ps = st->pg;
	const char *v = pg_value(ps, i);
	if (!v)
		return 0;
	switch (PQftype(ps->res, i)) {
	case PG_OID_BOOL:
		return 1;
	case PG_OID_BYTEA:
		return pg_bytea(ps, i, v) ? (int)ps->blob_len[i] : 0;
	default:
		return PQgetlength(ps->res, ps->row, i);
	}
}
