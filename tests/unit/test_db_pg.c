/* test_db_pg.c — the PostgreSQL side of db.h (db_pg.c) against a real
 * server: every db.h call, the type conversions, the error mapping, the
 * transaction state, a lost connection, and the throughput of the
 * writer's pattern.
 *
 * The server comes from env KS_PG_URI (a database the test may create
 * schemas in); without it the test FAILS, on purpose: a skipped backend
 * test looks green. Run it as
 *
 *   KS_PG_URI=$(scripts/pg-cluster start /tmp/pgx) build/asan-pgdb/tests/test_db_pg
 *   scripts/pg-cluster stop /tmp/pgx
 *
 * Each run works in its own schema (ks_test_db_pg_<pid>), dropped at the
 * end; test_lost_connection terminates its own backends and refuses new
 * connections to the database for a moment (ALTER DATABASE ...
 * ALLOW_CONNECTIONS, from the server's "postgres" database) -- give it a
 * database of its own (scripts/pg-cluster newdb). Expected values are checked through a second, plain libpq
 * connection (`raw`), never through the layer under test, where the
 * layer's own reading is not the point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "store/db/db.h"

static const char *uri;
static char schema[64];
static db_conn *c;   /* the connection under test */
static PGconn *raw;  /* the independent one */

/* ---- helpers -------------------------------------------------------------- */

static void exec_ok(db_conn *conn, const char *sql)
{
	int rc = db_exec(conn, sql);
	if (rc != DB_OK)
		fail_msg("db_exec(%s): %d %s", sql, rc, db_errmsg(conn));
}

/* A single integer through the raw connection. */
static long long raw_int(const char *sql)
{
	PGresult *r = PQexec(raw, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
		PQclear(r);
		fail_msg("raw %s: %s", sql, msg);
	}
	long long v = PQgetisnull(r, 0, 0) ? -1 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static void raw_ok(const char *sql)
{
	PGresult *r = PQexec(raw, sql);
	ExecStatusType s = PQresultStatus(r);
	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
		PQclear(r);
		fail_msg("raw %s: %s", sql, msg);
	}
	PQclear(r);
}

static db_stmt *prep(db_conn *conn, const char *sql)
{
	db_stmt *st = NULL;
	int rc = db_prepare(conn, sql, &st);
	if (rc != DB_OK)
		fail_msg("prepare %s: %d %s", sql, rc, db_errmsg(conn));
	return st;
}

/* A new connection to the test's schema. */
static db_conn *open_conn(void)
{
	char *err = NULL;
	db_conn *conn = db_open_pg(uri, &err);
	if (!conn)
		fail_msg("db_open_pg: %s", err ? err : "?");
	char sql[128];
	snprintf(sql, sizeof sql, "SET search_path = %s", schema);
	exec_ok(conn, sql);
	return conn;
}

static int group_setup(void **state)
{
	(void)state;
	uri = getenv("KS_PG_URI");
	if (!uri || !uri[0]) {
		fprintf(stderr, "test_db_pg: KS_PG_URI is not set; this test needs a PostgreSQL server:\n"
				"  KS_PG_URI=$(scripts/pg-cluster start /tmp/pgx) %s\n",
			"build/asan-pgdb/tests/test_db_pg");
		return -1;
	}
	snprintf(schema, sizeof schema, "ks_test_db_pg_%ld", (long)getpid());
	raw = PQconnectdb(uri);
	if (PQstatus(raw) != CONNECTION_OK) {
		fprintf(stderr, "test_db_pg: cannot connect to %s: %s", uri, PQerrorMessage(raw));
		return -1;
	}
	char sql[512];
	snprintf(sql, sizeof sql, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s; SET search_path = %s",
		 schema, schema, schema);
	PGresult *r = PQexec(raw, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (!ok)
		return -1;
	char *err = NULL;
	c = db_open_pg(uri, &err);
	if (!c) {
		fprintf(stderr, "test_db_pg: db_open_pg: %s\n", err);
		free(err);
		return -1;
	}
	snprintf(sql, sizeof sql, "SET search_path = %s", schema);
	return db_exec(c, sql) == DB_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	db_close(c);
	if (raw) {
		char sql[128];
		snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
		PQclear(PQexec(raw, sql));
		PQfinish(raw);
	}
	return 0;
}

/* ---- connection ----------------------------------------------------------- */

static void test_open(void **state)
{
	(void)state;
	assert_int_equal(db_conn_kind(c), DB_POSTGRES);
	assert_null(db_sqlite_handle(c));
	char *err = NULL;
	/* port 1 on loopback: refused at once */
	assert_null(db_open_pg("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2", &err));
	assert_non_null(err);
	if (!strstr(err, "cannot connect to PostgreSQL"))
		fail_msg("message: %s", err);
	free(err);
	assert_null(db_open_pg("host=127.0.0.1 port=1 connect_timeout=2", NULL)); /* err may be NULL */
	/* the session db.h promises */
	db_stmt *st = prep(c, "SELECT current_setting('TimeZone'), current_setting('synchronous_commit'),"
			      " current_setting('klantstem.tz'), current_setting('client_encoding')");
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal((const char *)db_column_text(st, 0), "UTC");
	assert_string_equal((const char *)db_column_text(st, 1), "on");
	assert_string_equal((const char *)db_column_text(st, 2), "Europe/Amsterdam");
	assert_string_equal((const char *)db_column_text(st, 3), "UTF8");
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	assert_int_equal(db_finalize(NULL), DB_OK);
}

/* ---- binding and reading -------------------------------------------------- */

static const char utf8[] = "Zo\xc3\xab \xe2\x80\x94 \xe2\x80\x98t\xc3\xa9st\xe2\x80\x99 \xf0\x9f\x98\x80";
static const unsigned char blob5[] = { 0x00, 0x01, 0xff, 0x00, 'a' };

static void test_bind_and_read(void **state)
{
	(void)state;
	exec_ok(c, "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, i BIGINT,"
		   " d DOUBLE PRECISION, s TEXT, b BYTEA, n BIGINT, f BOOLEAN, small INT, num NUMERIC)");
	db_stmt *st = prep(c, "INSERT INTO t (i, d, s, b, n, f, small, num) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
	assert_int_equal(db_bind_parameter_count(st), 8);
	assert_int_equal(db_bind_int64(st, 1, -9007199254740993LL), DB_OK); /* not a double */
	assert_int_equal(db_bind_double(st, 2, 0.1), DB_OK);
	assert_int_equal(db_bind_text(st, 3, utf8, -1, DB_STATIC), DB_OK);
	assert_int_equal(db_bind_blob(st, 4, blob5, sizeof blob5, DB_TRANSIENT), DB_OK);
	assert_int_equal(db_bind_null(st, 5), DB_OK);
	assert_int_equal(db_bind_text(st, 6, "true", 4, DB_STATIC), DB_OK);
	assert_int_equal(db_bind_int(st, 7, -7), DB_OK);
	/* n bytes of a longer buffer: only "12.75" is the value */
	assert_int_equal(db_bind_text(st, 8, "12.75xyz", 5, DB_TRANSIENT), DB_OK);
	/* out of range, as SQLite's SQLITE_RANGE (25) */
	assert_int_equal(db_bind_int64(st, 0, 1), 25);
	assert_int_equal(db_bind_int64(st, 9, 1), 25);
	assert_int_equal(db_step(st), DB_DONE);
	assert_int_equal(db_changes(c), 1);
	db_finalize(st);

	/* what the server holds, read through the raw connection */
	PGresult *r = PQexec(raw, "SELECT i::text, d = 0.1, s, encode(b, 'hex'), n IS NULL, f, small, num::text FROM t");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(r, 0, 0), "-9007199254740993");
	assert_string_equal(PQgetvalue(r, 0, 1), "t");
	assert_string_equal(PQgetvalue(r, 0, 2), utf8);
	assert_string_equal(PQgetvalue(r, 0, 3), "0001ff0061");
	assert_string_equal(PQgetvalue(r, 0, 4), "t");
	assert_string_equal(PQgetvalue(r, 0, 5), "t");
	assert_string_equal(PQgetvalue(r, 0, 6), "-7");
	assert_string_equal(PQgetvalue(r, 0, 7), "12.75");
	PQclear(r);

	/* and through the layer: types and every conversion */
	st = prep(c, "SELECT i, d, s, b, n, f, small, num FROM t");
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_count(st), 8);
	assert_string_equal(db_column_name(st, 0), "i");
	assert_string_equal(db_column_name(st, 7), "num");
	assert_null(db_column_name(st, 8));
	const int types[] = { DB_INTEGER, DB_FLOAT, DB_TEXT, DB_BLOB, DB_NULL, DB_INTEGER, DB_INTEGER, DB_FLOAT };
	for (int i = 0; i < 8; i++)
		if (db_column_type(st, i) != types[i])
			fail_msg("column %d: type %d, want %d", i, db_column_type(st, i), types[i]);
	assert_int_equal(db_column_type(st, 8), DB_NULL); /* out of range reads as NULL */
	assert_true(db_column_int64(st, 0) == -9007199254740993LL);
	assert_true(db_column_double(st, 1) == 0.1);
	assert_string_equal((const char *)db_column_text(st, 1), "0.1");
	assert_int_equal(db_column_int64(st, 1), 0);
	assert_string_equal((const char *)db_column_text(st, 2), utf8);
	assert_int_equal(db_column_bytes(st, 2), (int)strlen(utf8));
	const unsigned char *b = db_column_blob(st, 3);
	assert_non_null(b);
	assert_int_equal(db_column_bytes(st, 3), 5);
	assert_memory_equal(b, blob5, 5);
	assert_ptr_equal(db_column_blob(st, 3), b); /* decoded once per row */
	/* NULL: 0, 0.0, NULL text, no bytes */
	assert_int_equal(db_column_int64(st, 4), 0);
	assert_true(db_column_double(st, 4) == 0.0);
	assert_null(db_column_text(st, 4));
	assert_null(db_column_blob(st, 4));
	assert_int_equal(db_column_bytes(st, 4), 0);
	/* boolean as SQLite's 1 */
	assert_int_equal(db_column_int64(st, 5), 1);
	assert_int_equal(db_column_int(st, 5), 1);
	assert_true(db_column_double(st, 5) == 1.0);
	assert_string_equal((const char *)db_column_text(st, 5), "1");
	assert_int_equal(db_column_int(st, 6), -7);
	assert_true(db_column_double(st, 6) == -7.0);
	/* numeric: truncated toward zero like SQLite's CAST */
	assert_int_equal(db_column_int64(st, 7), 12);
	assert_true(db_column_double(st, 7) == 12.75);
	assert_string_equal((const char *)db_column_text(st, 7), "12.75");
	assert_int_equal(db_step(st), DB_DONE);
	/* after DB_DONE there is no row */
	assert_null(db_column_text(st, 2));
	db_finalize(st);
}

static void test_text_conversions(void **state)
{
	(void)state;
	db_stmt *st = prep(c, "SELECT '42abc'::text, '3.9'::text, '-3.9'::text, '1e3'::text, 'abc'::text,"
			      " '99999999999999999999'::text, (-2.5)::float8, 'NaN'::float8, false, ''::bytea,"
			      " 'x'::text, 1e300::float8");
	assert_int_equal(db_step(st), DB_ROW);
	const long long want[] = { 42, 3, -3, 1000, 0, INT64_MAX, -2, 0, 0, 0, 0, INT64_MAX };
	for (int i = 0; i < 12; i++)
		if (db_column_int64(st, i) != want[i])
			fail_msg("column %d: %lld, want %lld", i, (long long)db_column_int64(st, i), want[i]);
	assert_true(db_column_double(st, 0) == 42.0);
	assert_true(db_column_double(st, 4) == 0.0);
	assert_true(db_column_double(st, 6) == -2.5);
	assert_string_equal((const char *)db_column_text(st, 8), "0");
	assert_int_equal(db_column_type(st, 9), DB_BLOB); /* an empty blob is not NULL */
	assert_int_equal(db_column_bytes(st, 9), 0);
	assert_non_null(db_column_blob(st, 9));
	assert_string_equal((const char *)db_column_blob(st, 10), "x"); /* a text's bytes */
	db_finalize(st);

	/* numeric is typed per value, as SQLite types it: sum() of bigints
	 * is an integer, avg() a float */
	st = prep(c, "SELECT sum(v), avg(v), 99999999999999999999::numeric, (-4)::numeric, 'NaN'::numeric"
		     " FROM (VALUES (1::bigint), (2::bigint)) AS x(v)");
	assert_int_equal(db_step(st), DB_ROW);
	const int nt[] = { DB_INTEGER, DB_FLOAT, DB_FLOAT, DB_INTEGER, DB_FLOAT };
	for (int i = 0; i < 5; i++)
		if (db_column_type(st, i) != nt[i])
			fail_msg("numeric column %d: type %d, want %d", i, db_column_type(st, i), nt[i]);
	assert_int_equal(db_column_int64(st, 0), 3);
	assert_true(db_column_double(st, 1) == 1.5);
	assert_int_equal(db_column_int64(st, 3), -4);
	db_finalize(st);

	/* a large blob, all 256 byte values, both ways */
	enum { N = 100000 };
	unsigned char *big = malloc(N);
	assert_non_null(big);
	for (int i = 0; i < N; i++)
		big[i] = (unsigned char)(i * 7 + i / 256);
	st = prep(c, "SELECT ?1, length(?1)");
	db_bind_blob(st, 1, big, N, DB_STATIC);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int64(st, 1), N);
	assert_int_equal(db_column_bytes(st, 0), N);
	assert_memory_equal(db_column_blob(st, 0), big, N);
	db_finalize(st);
	free(big);
}

/* ---- stepping ------------------------------------------------------------- */

static void test_row_done(void **state)
{
	(void)state;
	db_stmt *st = prep(c, "SELECT g FROM generate_series(1, 3) g");
	for (int round = 0; round < 2; round++) { /* the second: stepping past DONE runs it again */
		for (int i = 1; i <= 3; i++) {
			assert_int_equal(db_step(st), DB_ROW);
			assert_int_equal(db_column_int(st, 0), i);
		}
		assert_int_equal(db_step(st), DB_DONE);
	}
	db_finalize(st);

	st = prep(c, "SELECT id, s FROM t WHERE id < 0");
	assert_int_equal(db_step(st), DB_DONE);
	assert_int_equal(db_column_count(st), 2); /* the shape is known without rows */
	assert_string_equal(db_column_name(st, 1), "s");
	db_finalize(st);

	/* a statement the server rejects fails at its first step */
	st = prep(c, "SELECT no_such_column FROM t");
	assert_int_equal(db_step(st), DB_ERROR);
	assert_int_equal(db_extended_errcode(c), DB_ERROR);
	assert_string_equal(db_errmsg(c), "column \"no_such_column\" does not exist");
	db_finalize(st);
	/* and a success clears the error */
	st = prep(c, "SELECT 1");
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal(db_errmsg(c), "");
	assert_int_equal(db_extended_errcode(c), DB_OK);
	db_finalize(st);
}

static void test_reset_rebind(void **state)
{
	(void)state;
	db_stmt *st = prep(c, "SELECT ?1 + 1, ?2");
	assert_int_equal(db_bind_parameter_count(st), 2);
	db_bind_int64(st, 1, 41);
	db_bind_text(st, 2, "x", -1, DB_STATIC);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int64(st, 0), 42);
	assert_string_equal((const char *)db_column_text(st, 1), "x");
	assert_int_equal(db_reset(st), DB_OK);
	assert_null(db_column_text(st, 1)); /* no row after a reset */
	assert_int_equal(db_step(st), DB_ROW); /* bindings kept */
	assert_int_equal(db_column_int64(st, 0), 42);
	db_reset(st);
	db_bind_int64(st, 1, 99);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int64(st, 0), 100);
	assert_string_equal((const char *)db_column_text(st, 1), "x");
	db_reset(st);
	assert_int_equal(db_clear_bindings(st), DB_OK);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_type(st, 0), DB_NULL);
	assert_int_equal(db_column_type(st, 1), DB_NULL);
	/* large: millisecond times overflow int4 */
	db_reset(st);
	db_bind_int64(st, 1, 3000000000000LL);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int64(st, 0), 3000000000001LL);
	assert_ptr_equal(db_stmt_conn(st), c);
	db_finalize(st);
}

/* ---- changes and rowids --------------------------------------------------- */

static void test_changes_rowid(void **state)
{
	(void)state;
	/* a fresh session: no sequence used yet -> 0, and asking must not
	 * abort the transaction around it */
	db_conn *d = open_conn();
	exec_ok(d, "BEGIN");
	assert_int_equal(db_last_insert_rowid(d), 0);
	exec_ok(d, "INSERT INTO t (i) VALUES (1)");
	int64_t got = db_last_insert_rowid(d);
	exec_ok(d, "COMMIT");
	assert_int_equal(got, raw_int("SELECT max(id) FROM t"));
	db_close(d);

	db_stmt *st = prep(c, "INSERT INTO t (i) VALUES (?1)");
	for (int i = 0; i < 3; i++) {
		db_bind_int64(st, 1, 1000 + i);
		assert_int_equal(db_step(st), DB_DONE);
		db_reset(st);
		assert_int_equal(db_changes(c), 1);
		assert_int_equal(db_last_insert_rowid(c), raw_int("SELECT max(id) FROM t"));
	}
	db_finalize(st);
	exec_ok(c, "UPDATE t SET n = 5 WHERE i >= 1000");
	assert_int_equal(db_changes(c), 3);
	/* a SELECT leaves changes() alone, as in SQLite */
	st = prep(c, "SELECT count(*) FROM t");
	assert_int_equal(db_step(st), DB_ROW);
	db_finalize(st);
	assert_int_equal(db_changes(c), 3);
	st = prep(c, "DELETE FROM t WHERE i >= 1001");
	assert_int_equal(db_step(st), DB_DONE);
	assert_int_equal(db_changes(c), 2);
	db_finalize(st);
	assert_int_equal(raw_int("SELECT count(*) FROM t WHERE i >= 1000"), 1);
}

/* ---- errors --------------------------------------------------------------- */

static void expect_fail(db_stmt *st, int code, const char *msg)
{
	int rc = db_step(st);
	char got[256];
	snprintf(got, sizeof got, "%s", db_errmsg(c));
	int ext = db_extended_errcode(c);
	db_finalize(st);
	if (rc != code || ext != code || strcmp(got, msg) != 0)
		fail_msg("step: %d / errcode %d [%s]; want %d [%s]", rc, ext, got, code, msg);
}

static void test_constraints(void **state)
{
	(void)state;
	exec_ok(c, "CREATE TABLE u (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
		   " email TEXT UNIQUE, a INT, b INT, UNIQUE (a, b))");
	exec_ok(c, "CREATE TABLE child (id BIGINT PRIMARY KEY, u_id BIGINT NOT NULL REFERENCES u(id),"
		   " n INT CHECK (n > 0))");
	exec_ok(c, "INSERT INTO u (email, a, b) VALUES ('a@x.nl', 1, 2)"); /* id 1 from the identity */
	db_stmt *st = prep(c, "INSERT INTO u (email) VALUES (?1)");
	db_bind_text(st, 1, "a@x.nl", -1, DB_STATIC);
	expect_fail(st, DB_CONSTRAINT_UNIQUE, "UNIQUE constraint failed: u.email");
	expect_fail(prep(c, "INSERT INTO u (a, b) VALUES (1, 2)"), DB_CONSTRAINT_UNIQUE,
		    "UNIQUE constraint failed: u.a, u.b");
	expect_fail(prep(c, "INSERT INTO u (id) VALUES (1)"), DB_CONSTRAINT_UNIQUE, "UNIQUE constraint failed: u.id");
	/* an expression index has no column to name */
	exec_ok(c, "CREATE UNIQUE INDEX u_lower ON u (lower(email))");
	expect_fail(prep(c, "INSERT INTO u (email) VALUES ('A@X.NL')"), DB_CONSTRAINT_UNIQUE,
		    "UNIQUE constraint failed: index 'u_lower'");
	expect_fail(prep(c, "INSERT INTO child (id, u_id, n) VALUES (1, 99, 1)"), DB_CONSTRAINT_FOREIGNKEY,
		    "FOREIGN KEY constraint failed");
	expect_fail(prep(c, "INSERT INTO child (id, u_id, n) VALUES (1, NULL, 1)"), DB_CONSTRAINT_NOTNULL,
		    "NOT NULL constraint failed: child.u_id");
	expect_fail(prep(c, "INSERT INTO child (id, u_id, n) VALUES (1, 1, 0)"), DB_CONSTRAINT_CHECK,
		    "CHECK constraint failed: child_n_check");
	assert_int_equal(raw_int("SELECT count(*) FROM child"), 0);
	assert_int_equal(raw_int("SELECT count(*) FROM u"), 1);
	/* INSERT OR IGNORE on the server: nothing, no error */
	st = prep(c, "INSERT OR IGNORE INTO u (email) VALUES ('a@x.nl') RETURNING id");
	assert_int_equal(db_step(st), DB_DONE);
	assert_int_equal(db_changes(c), 0);
	db_finalize(st);
	st = prep(c, "INSERT OR IGNORE INTO u (email) VALUES ('b@x.nl') RETURNING id");
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int64(st, 0), raw_int("SELECT id FROM u WHERE email = 'b@x.nl'"));
	db_finalize(st);
	assert_int_equal(db_changes(c), 1);
}

static void test_trigger_raise(void **state)
{
	(void)state;
	/* through db_exec: the translator keeps the $$ body whole */
	exec_ok(c, "CREATE TABLE audit (id BIGINT PRIMARY KEY, what TEXT);"
		   " CREATE FUNCTION audit_frozen() RETURNS trigger LANGUAGE plpgsql AS $$"
		   " BEGIN RAISE EXCEPTION 'audit log is append-only'; END $$;"
		   " CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit"
		   " FOR EACH ROW EXECUTE FUNCTION audit_frozen();"
		   " INSERT INTO audit VALUES (1, 'x')");
	expect_fail(prep(c, "UPDATE audit SET what = 'y'"), DB_CONSTRAINT_TRIGGER, "audit log is append-only");
	expect_fail(prep(c, "DELETE FROM audit"), DB_CONSTRAINT_TRIGGER, "audit log is append-only");
	assert_int_equal(raw_int("SELECT count(*) FROM audit WHERE what = 'x'"), 1);
	/* db_exec_native runs SQL as it is */
	assert_int_equal(db_exec_native(c, "SELECT 1"), DB_OK);
	assert_int_equal(db_exec_native(c, "PRAGMA foreign_keys = ON"), DB_ERROR); /* not translated */
}

static void test_transactions(void **state)
{
	(void)state;
	exec_ok(c, "CREATE TABLE tx (x INT)");
	assert_true(db_get_autocommit(c));
	exec_ok(c, "BEGIN IMMEDIATE");
	assert_false(db_get_autocommit(c));
	exec_ok(c, "INSERT INTO tx VALUES (1)");
	exec_ok(c, "SAVEPOINT a");
	assert_false(db_get_autocommit(c));
	exec_ok(c, "INSERT INTO tx VALUES (2)");
	exec_ok(c, "ROLLBACK TO a");
	assert_false(db_get_autocommit(c));
	exec_ok(c, "RELEASE a");
	assert_false(db_get_autocommit(c));
	assert_int_equal(raw_int("SELECT count(*) FROM tx"), 0); /* not visible yet */
	exec_ok(c, "COMMIT");
	assert_true(db_get_autocommit(c));
	assert_int_equal(raw_int("SELECT count(*) FROM tx"), 1);
	assert_int_equal(raw_int("SELECT count(*) FROM tx WHERE x = 2"), 0);

	/* an error inside a transaction: still in it (failed) until ROLLBACK */
	exec_ok(c, "BEGIN");
	assert_int_equal(db_exec(c, "INSERT INTO tx VALUES ('no')"), DB_ERROR);
	assert_false(db_get_autocommit(c));
	assert_int_equal(db_exec(c, "SELECT 1"), DB_ERROR);
	if (!strstr(db_errmsg(c), "current transaction is aborted"))
		fail_msg("message: %s", db_errmsg(c));
	exec_ok(c, "ROLLBACK");
	assert_true(db_get_autocommit(c));
}

static void test_exec(void **state)
{
	(void)state;
	exec_ok(c, "PRAGMA foreign_keys = ON; CREATE TABLE m (x INT UNIQUE); INSERT INTO m VALUES (1), (2);"
		   " PRAGMA journal_mode = WAL");
	assert_int_equal(db_changes(c), 2);
	exec_ok(c, "PRAGMA busy_timeout = 5000");
	exec_ok(c, "INSERT OR IGNORE INTO m VALUES (1), (3)");
	assert_int_equal(db_changes(c), 1);
	assert_int_equal(raw_int("SELECT sum(x) FROM m"), 6);
	assert_int_equal(db_exec(c, "INSERT OR REPLACE INTO m VALUES (1)"), DB_ERROR);
	if (!strstr(db_errmsg(c), "ON CONFLICT"))
		fail_msg("message: %s", db_errmsg(c));
	assert_int_equal(db_exec(c, "SELEC 1"), DB_ERROR);
	assert_string_equal(db_errmsg(c), "syntax error at or near \"SELEC\"");
	/* prepare refuses what cannot be translated; a PRAGMA is a no-op */
	db_stmt *st = (db_stmt *)&st;
	assert_int_equal(db_prepare(c, "REPLACE INTO m VALUES (1)", &st), DB_ERROR);
	assert_null(st);
	if (!strstr(db_errmsg(c), "ON CONFLICT"))
		fail_msg("message: %s", db_errmsg(c));
	st = prep(c, "PRAGMA foreign_keys = ON");
	assert_int_equal(db_step(st), DB_DONE);
	assert_int_equal(db_column_count(st), 0);
	db_finalize(st);
	assert_string_equal(db_errstr(DB_CONSTRAINT), "constraint failed");
}

static int64_t one_int(db_stmt *st)
{
	int rc = db_step(st);
	if (rc != DB_ROW)
		fail_msg("step: %d %s", rc, db_errmsg(db_stmt_conn(st)));
	int64_t v = db_column_int64(st, 0);
	db_reset(st);
	return v;
}

/* ---- the write lock -------------------------------------------------------- */

/* Whether a connection holds the write lock, through the raw connection. */
static long long write_locks(void)
{
	return raw_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
		       " AND objid = 1802728300 AND database = (SELECT oid FROM pg_database"
		       " WHERE datname = current_database())");
}

static void test_write_lock(void **state)
{
	(void)state;
	db_conn *a = open_conn(), *b = open_conn();
	assert_int_equal(db_busy_timeout(b, 200), DB_OK);
	exec_ok(a, "CREATE TABLE IF NOT EXISTS wl (x INT)");

	/* BEGIN IMMEDIATE holds it until COMMIT; a second one is busy and
	 * left outside a transaction, as SQLite's */
	exec_ok(a, "BEGIN IMMEDIATE");
	assert_int_equal(write_locks(), 1);
	assert_int_equal(db_exec(b, "BEGIN IMMEDIATE"), DB_BUSY);
	assert_int_equal(db_extended_errcode(b), DB_BUSY);
	assert_string_equal(db_errmsg(b), "canceling statement due to lock timeout");
	assert_true(db_get_autocommit(b));
	/* a deferred transaction reads beside it, and blocks at its first write */
	exec_ok(b, "BEGIN");
	db_stmt *st = prep(b, "SELECT count(*) FROM wl");
	assert_int_equal(one_int(st), 0);
	db_finalize(st);
	st = prep(b, "INSERT INTO wl VALUES (1)");
	assert_int_equal(db_step(st), DB_BUSY);
	db_finalize(st);
	exec_ok(b, "ROLLBACK");
	exec_ok(a, "COMMIT");
	assert_int_equal(write_locks(), 0);

	/* a deferred transaction takes it at its first write, once */
	exec_ok(a, "BEGIN");
	assert_int_equal(write_locks(), 0);
	exec_ok(a, "INSERT INTO wl VALUES (2)");
	assert_int_equal(write_locks(), 1);
	st = prep(a, "UPDATE wl SET x = x + 1");
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	assert_int_equal(db_exec(b, "BEGIN IMMEDIATE"), DB_BUSY);
	exec_ok(a, "ROLLBACK");
	assert_int_equal(write_locks(), 0);
	exec_ok(b, "BEGIN IMMEDIATE"); /* free again */
	assert_int_equal(write_locks(), 1);
	exec_ok(b, "COMMIT");
	/* outside a transaction a write takes no lock: a holds none after it */
	exec_ok(a, "INSERT INTO wl VALUES (3)");
	assert_int_equal(write_locks(), 0);
	/* and a new transaction after a COMMIT takes it afresh */
	exec_ok(a, "BEGIN IMMEDIATE");
	exec_ok(a, "COMMIT");
	exec_ok(a, "BEGIN");
	exec_ok(a, "DELETE FROM wl");
	assert_int_equal(write_locks(), 1);
	exec_ok(a, "COMMIT");
	/* a ROLLBACK TO a savepoint before the first write gives the lock
	 * back; the next write takes it again (also as a prepared statement) */
	exec_ok(a, "BEGIN");
	exec_ok(a, "SAVEPOINT r");
	exec_ok(a, "INSERT INTO wl VALUES (4)");
	assert_int_equal(write_locks(), 1);
	st = prep(a, "ROLLBACK TO r");
	assert_int_equal(db_step(st), DB_DONE);
	db_finalize(st);
	assert_int_equal(write_locks(), 0);
	assert_false(db_get_autocommit(a));
	exec_ok(a, "INSERT INTO wl VALUES (5)");
	assert_int_equal(write_locks(), 1);
	assert_int_equal(db_exec(b, "BEGIN IMMEDIATE"), DB_BUSY);
	exec_ok(a, "COMMIT");
	db_close(a);
	db_close(b);
}

/* The isolation level of conn's transaction, as PostgreSQL reports it. */
static void expect_isolation(db_conn *conn, const char *level)
{
	db_stmt *st = prep(conn, "SELECT current_setting('transaction_isolation')");
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal((const char *)db_column_text(st, 0), level);
	db_finalize(st);
}

/* Review (issue 18): a deferred BEGIN is one snapshot from its first read
 * to its end, as SQLite's -- the store's read transactions (a GDPR
 * export, a report's parts, a count and its page) rely on it. Under READ
 * COMMITTED the second count below saw the row committed in between. */
static void test_read_snapshot(void **state)
{
	(void)state;
	raw_ok("CREATE TABLE snap (id INT PRIMARY KEY, x INT); INSERT INTO snap VALUES (1, 10)");
	db_conn *a = open_conn();
	static const char *const begins[] = { "BEGIN", "BEGIN DEFERRED", "BEGIN TRANSACTION", "begin deferred transaction" };
	for (int i = 0; i < 4; i++) {
		exec_ok(a, begins[i]);
		expect_isolation(a, "repeatable read");
		db_stmt *st = prep(a, "SELECT count(*) * 1000 + sum(x) FROM snap");
		long long before = raw_int("SELECT count(*) * 1000 + sum(x) FROM snap");
		assert_int_equal(one_int(st), before);
		/* a commit between two reads of the transaction is not seen */
		char sql[96];
		snprintf(sql, sizeof sql, "INSERT INTO snap VALUES (%d, 1); UPDATE snap SET x = x + 1 WHERE id = 1", i + 2);
		raw_ok(sql);
		assert_int_equal(raw_int("SELECT count(*) * 1000 + sum(x) FROM snap"), before + 1000 + 2);
		assert_int_equal(one_int(st), before);
		db_finalize(st);
		exec_ok(a, "COMMIT");
		st = prep(a, "SELECT count(*) * 1000 + sum(x) FROM snap");
		assert_int_equal(one_int(st), before + 1000 + 2);
		db_finalize(st);
	}
	/* BEGIN IMMEDIATE stays READ COMMITTED: it holds the write lock, so no
	 * store writer commits under it, and its writes never fail with 40001 */
	exec_ok(a, "BEGIN IMMEDIATE");
	expect_isolation(a, "read committed");
	exec_ok(a, "COMMIT");
	/* a deferred transaction that writes a row changed since its snapshot
	 * is refused as SQLite's BUSY_SNAPSHOT: DB_BUSY, and ROLLBACK ends it */
	exec_ok(a, "BEGIN");
	db_stmt *st = prep(a, "SELECT x FROM snap WHERE id = 1");
	long long x = one_int(st);
	db_finalize(st);
	raw_ok("UPDATE snap SET x = x + 1 WHERE id = 1");
	st = prep(a, "UPDATE snap SET x = 0 WHERE id = 1");
	assert_int_equal(db_step(st), DB_BUSY);
	db_finalize(st);
	exec_ok(a, "ROLLBACK");
	assert_true(db_get_autocommit(a));
	assert_int_equal(raw_int("SELECT x FROM snap WHERE id = 1"), x + 1);
	assert_int_equal(write_locks(), 0);
	db_close(a);
}

/* ---- the store's SQL shapes ----------------------------------------------- */


static void test_param_types(void **state)
{
	(void)state;
	exec_ok(c, "CREATE TABLE org (id BIGINT PRIMARY KEY, parent BIGINT, kind TEXT, score DOUBLE PRECISION)");
	exec_ok(c, "INSERT INTO org VALUES (1, NULL, 'org', 1.5), (2, 1, 'dept', 2.5), (3, 2, 'team', NULL),"
		   " (4, NULL, 'team', 4)");
	/* "(?1 IS NULL OR col = ?1)" with NULL, an integer, a text */
	db_stmt *st = prep(c, "SELECT count(*) FROM org WHERE (?1 IS NULL OR parent = ?1) AND (?2 IS NULL OR kind = ?2)");
	assert_int_equal(one_int(st), 4);
	db_bind_int64(st, 1, 1);
	assert_int_equal(one_int(st), 1);
	db_bind_text(st, 2, "team", -1, DB_STATIC);
	assert_int_equal(one_int(st), 0);
	db_bind_null(st, 1);
	assert_int_equal(one_int(st), 2);
	/* a text holding a number against a bigint column, as SQLite's affinity allows */
	db_bind_text(st, 1, "2", -1, DB_STATIC);
	assert_int_equal(one_int(st), 1);
	db_finalize(st);

	/* the subtree query of sqlite_store.c; the non-recursive term's
	 * type comes from the int8 parameter */
	st = prep(c, "WITH RECURSIVE sub(id) AS (SELECT ?1 WHERE ?1 IS NOT NULL UNION ALL"
		     " SELECT o.id FROM org o JOIN sub ON o.parent = sub.id) SELECT count(*) FROM sub");
	db_bind_int64(st, 1, 1);
	assert_int_equal(one_int(st), 3);
	db_finalize(st);
	/* with NULL it needs the type spelled: CAST(?1 AS BIGINT), in both dialects */
	st = prep(c, "WITH RECURSIVE sub(id) AS (SELECT CAST(?1 AS BIGINT) WHERE ?1 IS NOT NULL UNION ALL"
		     " SELECT o.id FROM org o JOIN sub ON o.parent = sub.id) SELECT count(*) FROM sub");
	assert_int_equal(one_int(st), 0);
	db_finalize(st);

	/* a parameter only in a folded test, and gaps in the numbering */
	st = prep(c, "SELECT iif(?4 IS NOT NULL, 'set', 'unset'), ?1, ?3");
	db_bind_int64(st, 1, 7);
	db_bind_int64(st, 4, 0);
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal((const char *)db_column_text(st, 0), "set");
	assert_int_equal(db_column_int64(st, 1), 7);
	assert_int_equal(db_column_type(st, 2), DB_NULL);
	db_finalize(st);

	/* the translated functions on the server */
	st = prep(c, "SELECT group_concat(kind, '|' ORDER BY id), total(score), total(CASE WHEN id > 9 THEN 1 END),"
		     " max(0, min(?1, 5)), ifnull(NULL, 'dflt') FROM org");
	db_bind_int64(st, 1, -3);
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal((const char *)db_column_text(st, 0), "org|dept|team|team");
	assert_true(db_column_double(st, 1) == 8.0);
	assert_int_equal(db_column_type(st, 2), DB_FLOAT); /* 0.0, not NULL */
	assert_true(db_column_double(st, 2) == 0.0);
	assert_int_equal(db_column_int64(st, 3), 0);
	assert_string_equal((const char *)db_column_text(st, 4), "dflt");
	db_finalize(st);

	/* numbers as conditions (rule 16), as the store's flag masks use them */
	st = prep(c, "SELECT iif(?1 & 2, 'y', 'n'), CASE WHEN ?1 & 4 THEN 'y' ELSE 'n' END,"
		     " CASE WHEN parent THEN 'child' ELSE 'root' END FROM org WHERE id = 2");
	db_bind_int64(st, 1, 3);
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal((const char *)db_column_text(st, 0), "y");
	assert_string_equal((const char *)db_column_text(st, 1), "n");
	assert_string_equal((const char *)db_column_text(st, 2), "child");
	db_finalize(st);

	/* a double in and out exactly */
	st = prep(c, "SELECT ?1::float8 = 0.30000000000000004, ?1");
	db_bind_double(st, 1, 0.1 + 0.2);
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_column_int64(st, 0), 1);
	assert_true(db_column_double(st, 1) == 0.1 + 0.2);
	db_finalize(st);
}

/* ---- persistent statements ------------------------------------------------ */

static long long prepared_count(db_conn *conn)
{
	db_stmt *st = prep(conn, "SELECT count(*) FROM pg_prepared_statements");
	long long n = one_int(st);
	db_finalize(st);
	return n;
}

static void test_statement_cache(void **state)
{
	(void)state;
	db_conn *d = open_conn(); /* a fresh cache */
	long long base = prepared_count(d);
	/* a plain statement: prepared on the server the second time its text
	 * is run, then reused however often it is prepared and finalized */
	for (int i = 0; i < 3; i++) {
		db_stmt *st = prep(d, "SELECT ?1 + 1");
		db_bind_int64(st, 1, i);
		assert_int_equal(one_int(st), i + 1);
		db_finalize(st);
		assert_int_equal(prepared_count(d), base + (i == 0 ? 0 : 1) + 1); /* + prepared_count's own */
		if (i == 0)
			base = prepared_count(d) - 1; /* prepared_count's SELECT, seen twice now */
	}
	/* persistent: prepared at once, one server statement per NULL pattern */
	base = prepared_count(d);
	db_stmt *st = NULL;
	assert_int_equal(db_prepare_persistent(d, "INSERT INTO tx (x) VALUES (?1) RETURNING x IS NULL", &st), DB_OK);
	for (int i = 0; i < 6; i++) {
		if (i % 2)
			db_bind_null(st, 1);
		else
			db_bind_int64(st, 1, 100 + i);
		assert_int_equal(db_step(st), DB_ROW);
		assert_int_equal(db_column_int64(st, 0), i % 2);
		db_reset(st);
		assert_int_equal(prepared_count(d), base + (i == 0 ? 1 : 2));
	}
	assert_int_equal(raw_int("SELECT count(*) FROM tx WHERE x >= 100"), 3);
	assert_int_equal(raw_int("SELECT count(*) FROM tx WHERE x IS NULL"), 3);
	db_finalize(st);
	assert_int_equal(prepared_count(d), base + 2); /* kept by the connection */

	/* the cache is bounded: 300 distinct texts, each run twice */
	for (int k = 0; k < 300; k++) {
		char sql[64];
		snprintf(sql, sizeof sql, "SELECT %d + ?1", k);
		for (int twice = 0; twice < 2; twice++) {
			st = prep(d, sql);
			db_bind_int64(st, 1, 1);
			assert_int_equal(one_int(st), k + 1);
			db_finalize(st);
		}
	}
	/* the last 128 texts fill the cache; prepared_count's own text, new
	 * again, then evicts the oldest (DEALLOCATE) and is not prepared on
	 * first sight: 127 on the server */
	assert_int_equal(prepared_count(d), 127);
	/* a table changed under a prepared SELECT *: run again, prepared afresh */
	exec_ok(d, "CREATE TABLE alt (a INT); INSERT INTO alt VALUES (1)");
	for (int i = 0; i < 3; i++) {
		if (i == 2)
			exec_ok(d, "ALTER TABLE alt ADD COLUMN b INT DEFAULT 7");
		st = prep(d, "SELECT * FROM alt");
		int rc = db_step(st);
		if (rc != DB_ROW)
			fail_msg("run %d: %d %s", i, rc, db_errmsg(d));
		assert_int_equal(db_column_count(st), i == 2 ? 2 : 1);
		db_finalize(st);
	}
	/* an evicted text still runs */
	st = prep(d, "SELECT ?1 + 1");
	db_bind_int64(st, 1, 41);
	assert_int_equal(one_int(st), 42);
	db_finalize(st);
	db_close(d);
}

/* The translation memo (db_pg.c, struct pg_memo): a text prepared again
 * gets its translation and parameter count from the memo, also after the
 * memo has wrapped round (more texts than it holds) and for texts that
 * differ only in their last characters. */
static void test_translation_memo(void **state)
{
	(void)state;
	db_conn *d = open_conn();
	for (int round = 0; round < 3; round++) {
		for (int k = 0; k < 150; k++) {
			char sql[96];
			int n = 1 + k % 4;
			snprintf(sql, sizeof sql, "SELECT ?%d + ?1 + %d", n, k);
			db_stmt *st = prep(d, sql);
			assert_int_equal(db_bind_parameter_count(st), n);
			for (int i = 1; i <= n; i++)
				db_bind_int64(st, i, i);
			assert_int_equal(one_int(st), n + 1 + k);
			db_finalize(st);
		}
	}
	/* a rewritten statement (INSERT OR IGNORE -> ON CONFLICT DO NOTHING)
	 * runs the same from the memo */
	exec_ok(d, "CREATE TABLE memo_u (k INT PRIMARY KEY)");
	for (int i = 0; i < 3; i++) {
		db_stmt *st = prep(d, "INSERT OR IGNORE INTO memo_u (k) VALUES (?1)");
		db_bind_int64(st, 1, 5);
		assert_int_equal(db_step(st), DB_DONE);
		assert_int_equal(db_changes(d), i == 0 ? 1 : 0);
		db_finalize(st);
	}
	assert_int_equal(raw_int("SELECT count(*) FROM memo_u"), 1);
	db_close(d);
}

/* ---- a lost connection ---------------------------------------------------- */

/* Terminate d's backend from the raw connection and wait until it is gone. */
static void kill_backend(db_conn *d)
{
	db_stmt *st = prep(d, "SELECT pg_backend_pid()");
	long long pid = one_int(st);
	db_finalize(st);
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld)", pid);
	raw_ok(sql);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM pg_stat_activity WHERE pid = %lld", pid);
	for (int i = 0; i < 250 && raw_int(sql) != 0; i++)
		usleep(20000);
}

static void expect_lost(db_conn *d, int rc)
{
	assert_int_equal(rc, DB_ERROR);
	assert_int_equal(db_extended_errcode(d), DB_ERROR);
	if (!strstr(db_errmsg(d), "connection to the database server lost"))
		fail_msg("message: %s", db_errmsg(d));
}

static void test_lost_connection(void **state)
{
	(void)state;
	/* lost inside a transaction: every command fails until the ROLLBACK,
	 * which connects again -- nothing of the transaction is hidden */
	db_conn *d = open_conn();
	db_stmt *before = NULL;
	assert_int_equal(db_prepare_persistent(d, "SELECT ?1", &before), DB_OK);
	db_bind_int64(before, 1, 1);
	assert_int_equal(db_step(before), DB_ROW);
	db_reset(before);
	exec_ok(d, "BEGIN");
	exec_ok(d, "INSERT INTO tx VALUES (77)");
	kill_backend(d);
	db_stmt *st = prep(d, "SELECT 1");
	expect_lost(d, db_step(st));
	expect_lost(d, db_step(before));
	expect_lost(d, db_exec(d, "COMMIT"));
	assert_string_equal(db_errmsg(d), "connection to the database server lost in a transaction: ROLLBACK");
	assert_int_equal(db_last_insert_rowid(d), 0);
	assert_false(db_get_autocommit(d)); /* in the lost transaction, for the store's ROLLBACK */
	exec_ok(d, "ROLLBACK");
	assert_true(db_get_autocommit(d));
	assert_int_equal(raw_int("SELECT count(*) FROM tx WHERE x = 77"), 0);
	/* connected again, the session as it was (search_path from open_conn) */
	assert_int_equal(db_step(st), DB_ROW);
	assert_int_equal(db_step(before), DB_ROW); /* a persistent statement prepares afresh */
	assert_int_equal(db_column_int64(before, 0), 1);
	db_reset(before);
	db_finalize(st);
	st = prep(d, "SELECT count(*) FROM tx WHERE x IS NOT NULL");
	assert_int_equal(one_int(st), raw_int("SELECT count(*) FROM tx WHERE x IS NOT NULL"));
	db_finalize(st);

	/* lost between transactions: the command that meets it fails, the
	 * next one connects again, with the session's SETs replayed */
	assert_int_equal(db_busy_timeout(d, 1234), DB_OK);
	exec_ok(d, "SET klantstem.tz = 'Europe/London'");
	exec_ok(d, "SET klantstem.tz = 'Europe/Helsinki'"); /* the last one counts */
	kill_backend(d);
	st = prep(d, "SELECT current_setting('lock_timeout'), current_setting('klantstem.tz'),"
		     " current_setting('TimeZone'), (SELECT count(*) FROM tx WHERE x = 1)");
	expect_lost(d, db_step(st));
	assert_true(db_get_autocommit(d));
	assert_int_equal(db_step(st), DB_ROW);
	assert_string_equal((const char *)db_column_text(st, 0), "1234ms");
	assert_string_equal((const char *)db_column_text(st, 1), "Europe/Helsinki");
	assert_string_equal((const char *)db_column_text(st, 2), "UTC");
	assert_int_equal(db_column_int64(st, 3), 1);
	db_finalize(st);

	/* a server that refuses the reconnect: a clean error, tried again a
	 * second later (the database refuses connections for a moment) */
	char sql[256];
	PGresult *r = PQexec(raw, "SELECT current_database()");
	snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS ", PQgetvalue(r, 0, 0));
	PQclear(r);
	/* ALTER DATABASE from another database: the server's "postgres" */
	const char *keys[] = { "dbname", "dbname", NULL }, *vals[] = { uri, "postgres", NULL };
	PGconn *admin = PQconnectdbParams(keys, vals, 1);
	assert_int_equal(PQstatus(admin), CONNECTION_OK);
	char off[300], on[300];
	snprintf(off, sizeof off, "%sfalse", sql);
	snprintf(on, sizeof on, "%strue", sql);
	kill_backend(d);
	r = PQexec(admin, off);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	st = prep(d, "SELECT 5");
	int rc1 = db_step(st); /* meets the loss */
	int rc = db_step(st);  /* the reconnect is refused */
	/* connections allowed again before anything can fail */
	r = PQexec(admin, on);
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(admin);
	assert_int_equal(rc1, DB_ERROR);
	expect_lost(d, rc);
	if (!strstr(db_errmsg(d), "does not allow connections") && !strstr(db_errmsg(d), "cannot connect"))
		fail_msg("message: %s", db_errmsg(d));
	usleep(1100000);
	assert_int_equal(one_int(st), 5);
	db_finalize(st);

	/* db_exec meets a loss the same way, and a lost connection closes cleanly */
	db_conn *e = db_open_pg(uri, NULL);
	assert_non_null(e);
	kill_backend(e);
	expect_lost(e, db_exec(e, "SELECT 1"));
	db_close(e);

	/* a statement finalized after its connection closed */
	db_stmt *orphan = prep(d, "SELECT 2");
	db_close(d);
	db_finalize(orphan);
	db_finalize(before);
}

/* ---- throughput ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef enum { RUN_PLAIN, RUN_PERSISTENT, RUN_NEW_TEXT } run_mode;

/* 10k INSERTs of the writer's shape in one transaction; prints rows/s
 * (the report's numbers). RUN_NEW_TEXT makes each row's SQL text new (a
 * comment with the row number), so that every row is parsed and planned
 * by the server: the cost the statement cache saves. */
static void insert_loop(run_mode mode, const char *label)
{
	enum { N = 10000 };
	exec_ok(c, "CREATE TABLE IF NOT EXISTS bench (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
		   " at BIGINT NOT NULL, nps INT, channel TEXT, comment TEXT)");
	exec_ok(c, "TRUNCATE bench");
	double t0 = now_s();
	exec_ok(c, "BEGIN IMMEDIATE");
	db_stmt *st = NULL;
	const char *sql = "INSERT INTO bench (at, nps, channel, comment) VALUES (?1, ?2, ?3, ?4)";
	for (int i = 0; i < N; i++) {
		if (mode == RUN_NEW_TEXT) {
			char text[128];
			snprintf(text, sizeof text, "%s /* %d */", sql, i);
			st = prep(c, text);
		} else if (!st) {
			assert_int_equal(mode == RUN_PERSISTENT ? db_prepare_persistent(c, sql, &st) : db_prepare(c, sql, &st),
					 DB_OK);
		}
		db_bind_int64(st, 1, 1760000000000LL + i);
		if (i % 10 == 0)
			db_bind_null(st, 2);
		else
			db_bind_int(st, 2, i % 11);
		db_bind_text(st, 3, i % 2 ? "phone" : "web", -1, DB_STATIC);
		db_bind_text(st, 4, "Snel geholpen, dank je wel!", -1, DB_STATIC);
		if (db_step(st) != DB_DONE)
			fail_msg("insert %d: %s", i, db_errmsg(c));
		db_reset(st);
		if (mode == RUN_NEW_TEXT) {
			db_finalize(st);
			st = NULL;
		}
	}
	db_finalize(st);
	exec_ok(c, "COMMIT");
	double dt = now_s() - t0;
	assert_int_equal(raw_int("SELECT count(*) FROM bench"), N);
	assert_int_equal(raw_int("SELECT count(*) FROM bench WHERE nps IS NULL"), N / 10);
	printf("    %-34s %6.0f rows/s (%.1f us/row, %d rows)\n", label, N / dt, dt * 1e6 / N, N);
}

static void test_throughput(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		insert_loop(RUN_NEW_TEXT, "insert, new text (parse+plan):");
		insert_loop(RUN_PLAIN, "insert, db_prepare (cached):");
		insert_loop(RUN_PERSISTENT, "insert, db_prepare_persistent:");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_bind_and_read),
		cmocka_unit_test(test_text_conversions),
		cmocka_unit_test(test_row_done),
		cmocka_unit_test(test_reset_rebind),
		cmocka_unit_test(test_changes_rowid),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_trigger_raise),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_write_lock),
		cmocka_unit_test(test_read_snapshot),
		cmocka_unit_test(test_param_types),
		cmocka_unit_test(test_statement_cache),
		cmocka_unit_test(test_translation_memo),
		cmocka_unit_test(test_lost_connection),
		cmocka_unit_test(test_throughput),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
