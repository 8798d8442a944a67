/* test_db_pg_sql.c — the SQLite-to-PostgreSQL translator (db_pg_sql.c),
 * no server needed: each rule of its header comment with the exact text
 * it must produce, the places it must leave alone (strings, quoted
 * identifiers, comments, dollar-quoted bodies), the refusals, and the
 * per-execution shaping of NULL parameters (db_pg_sql_shape).
 *
 * The expected strings are written out by hand from the rules, never
 * produced by the translator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/db/db_pg_sql.h"

/* sql must translate to want with the highest parameter number n. */
static void check(const char *sql, const char *want, int n)
{
	int got_n = -1;
	const char *why = NULL;
	char *got = db_pg_sql_translate(sql, &got_n, &why);
	if (!got) {
		fail_msg("refused: %s\n  sql: %s", why, sql);
		return;
	}
	char shown[2048];
	snprintf(shown, sizeof shown, "%s", got);
	bool same = strcmp(got, want) == 0 && got_n == n;
	free(got); /* before a failure, which does not return */
	if (!same)
		fail_msg("sql:  [%s]\nwant: [%s] n=%d\ngot:  [%s] n=%d", sql, want, n, shown, got_n);
}

/* sql must be refused with a reason containing `reason`. */
static void check_refused(const char *sql, const char *reason)
{
	int n = 7;
	const char *why = NULL;
	char *got = db_pg_sql_translate(sql, &n, &why);
	if (got) {
		char shown[1024];
		snprintf(shown, sizeof shown, "%s", got);
		free(got);
		fail_msg("not refused: [%s] -> [%s]", sql, shown);
	}
	assert_non_null(why);
	if (!strstr(why, reason))
		fail_msg("reason for [%s]: [%s], want it to mention [%s]", sql, why, reason);
	assert_int_equal(n, 0);
}

static void test_params(void **state)
{
	(void)state;
	check("SELECT ?1, ?2", "SELECT $1, $2", 2);
	check("SELECT ?2", "SELECT $2", 2);
	/* a bare ? is the highest number so far plus one, as in SQLite */
	check("SELECT ?, ?5, ?", "SELECT $1, $5, $6", 6);
	check("SELECT ?, ?", "SELECT $1, $2", 2);
	check("x = ?12", "x = $12", 12);
	check("a=?1 AND b=?1", "a=$1 AND b=$1", 1);
	check("??", "$1$2", 2);
	check("?32766", "$32766", 32766);
	/* "$1abc" is one bad token for PostgreSQL */
	check("SELECT ?1abc", "SELECT $1 abc", 1);
	check("SELECT 1", "SELECT 1", 0);
	check("", "", 0);
	/* already PostgreSQL's numbering: counted, left as is */
	check("SELECT $3", "SELECT $3", 3);
	check_refused("SELECT ?0", "out of range");
	check_refused("SELECT ?32767", "out of range");
	check_refused("SELECT ?99999999999999999999", "out of range");
}

static void test_literals_left_alone(void **state)
{
	(void)state;
	check("SELECT '?', ?1", "SELECT '?', $1", 1);
	check("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1);
	check("SELECT '''?''' || ?", "SELECT '''?''' || $1", 1);
	check("SELECT \"a?\" FROM t WHERE x = ?", "SELECT \"a?\" FROM t WHERE x = $1", 1);
	check("SELECT \"a\"\"?\" FROM t", "SELECT \"a\"\"?\" FROM t", 0);
	check("SELECT `?`, [?]", "SELECT `?`, [?]", 0);
	check("SELECT ? -- what ?\n, ?", "SELECT $1 -- what ?\n, $2", 2);
	check("SELECT ? -- last ? without newline", "SELECT $1 -- last ? without newline", 1);
	check("SELECT /* ? ; */ ?", "SELECT /* ? ; */ $1", 1);
	check("SELECT '--', ?", "SELECT '--', $1", 1);
	check("SELECT 'a;b', ?", "SELECT 'a;b', $1", 1);
	check("SELECT E'\\'?', ?", "SELECT E'\\'?', $1", 1);
	check("SELECT 'IFNULL(a, b)', 'INSERT OR IGNORE'", "SELECT 'IFNULL(a, b)', 'INSERT OR IGNORE'", 0);
	/* unterminated: passed on for the server to report */
	check("SELECT 'abc ?", "SELECT 'abc ?", 0);
	/* a dollar-quoted body is one token: no split at ';', no ? */
	check("CREATE FUNCTION f() RETURNS int AS $$ SELECT ?; BEGIN IMMEDIATE; $$ LANGUAGE sql",
	      "CREATE FUNCTION f() RETURNS int AS $$ SELECT ?; BEGIN IMMEDIATE; $$ LANGUAGE sql", 0);
	check("DO $fn$BEGIN PERFORM 1; END$fn$; SELECT ?", "DO $fn$BEGIN PERFORM 1; END$fn$; SELECT $1", 1);
	check("SELECT 1.5e-3, 0x1F, ?", "SELECT 1.5e-3, 0x1F, $1", 1);
}

static void test_begin(void **state)
{
	(void)state;
	check("BEGIN IMMEDIATE", "BEGIN", 0);
	check("BEGIN IMMEDIATE TRANSACTION", "BEGIN TRANSACTION", 0);
	check("BEGIN EXCLUSIVE;", "BEGIN;", 0);
	/* a deferred (read) transaction: one snapshot, as SQLite's */
	check("begin deferred", "begin ISOLATION LEVEL REPEATABLE READ", 0);
	check("BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ", 0);
	check("BEGIN;", "BEGIN ISOLATION LEVEL REPEATABLE READ;", 0);
	check("BEGIN DEFERRED TRANSACTION ", "BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ ", 0);
	check("PRAGMA cache_size=-1; BEGIN", " BEGIN ISOLATION LEVEL REPEATABLE READ", 0);
	/* modes written out are the caller's */
	check("BEGIN ISOLATION LEVEL SERIALIZABLE", "BEGIN ISOLATION LEVEL SERIALIZABLE", 0);
	check("BEGIN READ ONLY", "BEGIN READ ONLY", 0);
	check("  BEGIN IMMEDIATE; INSERT INTO t VALUES (?1); COMMIT",
	      "  BEGIN; INSERT INTO t VALUES ($1); COMMIT", 1);
	/* only as the statement's first word */
	check("SELECT immediate FROM begin_times", "SELECT immediate FROM begin_times", 0);
}

static void test_pragma(void **state)
{
	(void)state;
	check("PRAGMA foreign_keys = ON", "", 0);
	check("pragma journal_mode=WAL;", "", 0);
	check("PRAGMA a; SELECT 1", " SELECT 1", 0);
	check("SELECT 1; PRAGMA x;", "SELECT 1;", 0);
	check("SELECT 1; PRAGMA x = ?1; SELECT ?", "SELECT 1; SELECT $1", 1);
	check("  ;  ; ", "", 0);
}

static void test_insert_or(void **state)
{
	(void)state;
	check("INSERT OR IGNORE INTO t(a) VALUES (?1)", "INSERT INTO t(a) VALUES ($1) ON CONFLICT DO NOTHING", 1);
	check("insert or ignore into t(a) values (?1)", "insert into t(a) values ($1) ON CONFLICT DO NOTHING", 1);
	check("INSERT OR IGNORE INTO t(a) VALUES (?1) RETURNING id",
	      "INSERT INTO t(a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id", 1);
	check("INSERT OR IGNORE INTO t VALUES (1);\n", "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;", 0);
	check("INSERT OR IGNORE INTO t VALUES (1)  -- note\n",
	      "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING  -- note\n", 0);
	check("INSERT OR IGNORE INTO t SELECT a FROM u WHERE b IN (SELECT b FROM v RETURNING_NOT)",
	      "INSERT INTO t SELECT a FROM u WHERE b IN (SELECT b FROM v RETURNING_NOT) ON CONFLICT DO NOTHING", 0);
	check("WITH x AS (SELECT 1) INSERT OR IGNORE INTO t SELECT * FROM x",
	      "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x ON CONFLICT DO NOTHING", 0);
	check("INSERT OR IGNORE INTO a VALUES (1); INSERT OR IGNORE INTO b VALUES (2)",
	      "INSERT INTO a VALUES (1) ON CONFLICT DO NOTHING; INSERT INTO b VALUES (2) ON CONFLICT DO NOTHING", 0);
	/* a statement with its own upsert clause keeps just that */
	check("INSERT OR IGNORE INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2",
	      "INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2", 0);
	check("INSERT OR ABORT INTO t VALUES (?)", "INSERT INTO t VALUES ($1)", 1);
	check("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", 0);
	check_refused("INSERT OR REPLACE INTO t VALUES (1)", "ON CONFLICT");
	check_refused("replace into t values (1)", "ON CONFLICT");
	check_refused("INSERT OR FAIL INTO t VALUES (1)", "ON CONFLICT");
	check_refused("SELECT 1; INSERT OR ROLLBACK INTO t VALUES (1)", "ON CONFLICT");
}

static void test_functions(void **state)
{
	(void)state;
	check("SELECT group_concat(name, ', ') FROM t", "SELECT string_agg((name)::text, ', ') FROM t", 0);
	check("SELECT GROUP_CONCAT(id) FROM t", "SELECT string_agg((id)::text, ',') FROM t", 0);
	check("SELECT group_concat(DISTINCT theme) FROM t", "SELECT string_agg(DISTINCT (theme)::text, ',') FROM t", 0);
	check("SELECT group_concat(coalesce(a, b), '|')", "SELECT string_agg((coalesce(a, b))::text, '|')", 0);
	check("SELECT group_concat(a + b)", "SELECT string_agg((a + b)::text, ',')", 0);
	check("SELECT group_concat(x, ';' ORDER BY x)", "SELECT string_agg((x)::text, ';' ORDER BY x)", 0);
	check("SELECT group_concat(x ORDER BY y DESC)", "SELECT string_agg((x)::text, ',' ORDER BY y DESC)", 0);
	check("SELECT group_concat(ifnull(a, ?1), ?2)", "SELECT string_agg((COALESCE(a, $1))::text, $2)", 2);
	check("SELECT ifnull(a, 0), IFNULL (b, 1)", "SELECT COALESCE(a, 0), COALESCE (b, 1)", 0);
	check("SELECT t.ifnull, ifnull FROM t", "SELECT t.ifnull, ifnull FROM t", 0);
	check("SELECT iif(a > 1, 'x', 'y')", "SELECT (CASE WHEN a > 1 THEN 'x' ELSE 'y' END)", 0);
	check("SELECT iif(?1 IS NULL, f(a, b), ?2)", "SELECT (CASE WHEN $1 IS NULL THEN f(a, b) ELSE $2 END)", 2);
	check_refused("SELECT iif(a, b)", "three arguments");
	check("SELECT max(0, a - b), max(a), MIN(x, y, z) FROM t",
	      "SELECT GREATEST(0, a - b), max(a), LEAST(x, y, z) FROM t", 0);
	check("SELECT max((a, b)) FROM t", "SELECT max((a, b)) FROM t", 0);
	check("SELECT total(amount) FROM t", "SELECT COALESCE(SUM(amount), 0::float8) FROM t", 0);
	check("SELECT total(iif(a, 1, 0)) FROM t",
	      "SELECT COALESCE(SUM((CASE WHEN (a) <> 0 THEN 1 ELSE 0 END)), 0::float8) FROM t", 0);
	check("SELECT total FROM t", "SELECT total FROM t", 0);
	check("SELECT X'00ff', x'', ?", "SELECT '\\x00ff'::bytea, '\\x'::bytea, $1", 1);
	/* unbalanced: passed on for the server to report */
	check("SELECT group_concat(a", "SELECT group_concat(a", 0);
}

static void test_sqlite_syntax(void **state)
{
	(void)state;
	/* rule 12: SQLite's IS / IS NOT between two values */
	check("WHERE a IS NOT ?1 AND b IS c.d", "WHERE a IS DISTINCT FROM $1 AND b IS NOT DISTINCT FROM c.d", 1);
	check("WHERE a IS NULL OR a IS NOT NULL OR b IS TRUE OR c IS NOT FALSE",
	      "WHERE a IS NULL OR a IS NOT NULL OR b IS TRUE OR c IS NOT FALSE", 0);
	check("WHERE a IS DISTINCT FROM b OR a IS NOT DISTINCT FROM c",
	      "WHERE a IS DISTINCT FROM b OR a IS NOT DISTINCT FROM c", 0);
	check("WHERE j.team_id IS NOT i.team_id", "WHERE j.team_id IS DISTINCT FROM i.team_id", 0);
	/* rule 13: IN a table or CTE */
	check("WHERE (?1 = 0 OR team_id IN sub) AND x IN (1, 2)",
	      "WHERE ($1 = 0 OR team_id IN (SELECT * FROM sub)) AND x IN (1, 2)", 1);
	check("WHERE a IN main.t", "WHERE a IN (SELECT * FROM main.t)", 0);
	check("WHERE a IN json_each(?1)", "WHERE a IN json_each($1)", 1);
	check("WHERE a NOT IN sub", "WHERE a NOT IN (SELECT * FROM sub)", 0);
	/* rule 14: a subquery in FROM gets an alias when it has none */
	check("SELECT count(*) FROM (SELECT 1 FROM t LIMIT ?1)",
	      "SELECT count(*) FROM (SELECT 1 FROM t LIMIT $1) AS ks_sub1", 1);
	check("SELECT m FROM (SELECT a AS m FROM t) WHERE m > 1 GROUP BY m",
	      "SELECT m FROM (SELECT a AS m FROM t) AS ks_sub1 WHERE m > 1 GROUP BY m", 0);
	check("SELECT * FROM (SELECT 1) a JOIN (SELECT 2) AS b ON 1 = 1 JOIN (VALUES (3)) ON true",
	      "SELECT * FROM (SELECT 1) a JOIN (SELECT 2) AS b ON 1 = 1 JOIN (VALUES (3)) AS ks_sub1 ON true", 0);
	check("SELECT * FROM (SELECT 1) JOIN (SELECT 2) ON true",
	      "SELECT * FROM (SELECT 1) AS ks_sub1 JOIN (SELECT 2) AS ks_sub2 ON true", 0);
	check("SELECT * FROM (SELECT * FROM (SELECT 1))",
	      "SELECT * FROM (SELECT * FROM (SELECT 1) AS ks_sub1) AS ks_sub2", 0);
	check("SELECT (SELECT 1), x FROM t WHERE y IN (SELECT 2)", "SELECT (SELECT 1), x FROM t WHERE y IN (SELECT 2)", 0);
	check("SELECT * FROM (t1 JOIN t2 ON t1.a = t2.a)", "SELECT * FROM (t1 JOIN t2 ON t1.a = t2.a)", 0);
	/* rule 15: aggregates of a comparison count it */
	check("SELECT sum(nps >= 9), SUM(nps BETWEEN 7 AND 8), sum(nps), avg(a = b)",
	      "SELECT sum((nps >= 9)::int), SUM((nps BETWEEN 7 AND 8)::int), sum(nps), avg((a = b)::int)", 0);
	check("SELECT total(x IS NOT NULL), sum(EXISTS (SELECT 1)), max(fresh OR moved), min(a <> b)",
	      "SELECT COALESCE(SUM((x IS NOT NULL)::int), 0::float8), sum((EXISTS (SELECT 1))::int),"
	      " max((fresh OR moved)::int), min((a <> b)::int)", 0);
	check("SELECT sum(CASE WHEN a > 1 THEN 1 ELSE 0 END), sum(f(a > 1)), sum(j -> 'n'), sum(j ->> 'n')",
	      "SELECT sum(CASE WHEN a > 1 THEN 1 ELSE 0 END), sum(f(a > 1)), sum(j -> 'n'), sum(j ->> 'n')", 0);
	check("SELECT t.sum(a > 1)", "SELECT t.sum(a > 1)", 0);
	/* rule 16: a number as a condition */
	check("SELECT CASE WHEN moment_of_truth THEN 'mot' ELSE '' END",
	      "SELECT CASE WHEN (moment_of_truth) <> 0 THEN 'mot' ELSE '' END", 0);
	check("SET a = iif(?8 & 16, x, a), b = CASE WHEN ?8 & 32 THEN y END",
	      "SET a = (CASE WHEN ($8 & 16) <> 0 THEN x ELSE a END), b = CASE WHEN ($8 & 32) <> 0 THEN y END", 8);
	check("CASE WHEN a > 1 THEN 1 WHEN b THEN 2 WHEN c IS NULL THEN 3 WHEN TRUE THEN 4 END",
	      "CASE WHEN a > 1 THEN 1 WHEN (b) <> 0 THEN 2 WHEN c IS NULL THEN 3 WHEN TRUE THEN 4 END", 0);
	/* a simple CASE compares values: its WHENs are left alone */
	check("CASE kind WHEN 'a' THEN 1 WHEN 'b' THEN 2 END", "CASE kind WHEN 'a' THEN 1 WHEN 'b' THEN 2 END", 0);
	/* nested, in a condition and in a result */
	check("CASE WHEN CASE WHEN f THEN 1 END = 1 THEN CASE WHEN g THEN 'x' END ELSE 'y' END",
	      "CASE WHEN CASE WHEN (f) <> 0 THEN 1 END = 1 THEN CASE WHEN (g) <> 0 THEN 'x' END ELSE 'y' END", 0);
	check("CASE WHEN (a = 1) THEN 1 END", "CASE WHEN ((a = 1)) <> 0 THEN 1 END", 0);
}

/* db_pg_sql_shape: nulls[] for $1..$n; want, and the used[] it reports. */
static void check_shape(const char *sql, int n, const bool *nulls, const char *want, const bool *want_used)
{
	bool used[8];
	char *got = db_pg_sql_shape(sql, n, nulls, used);
	if (!got) {
		fail_msg("out of memory");
		return;
	}
	char shown[1024];
	snprintf(shown, sizeof shown, "%s", got);
	bool same = strcmp(got, want) == 0;
	free(got);
	if (!same)
		fail_msg("sql:  [%s]\nwant: [%s]\ngot:  [%s]", sql, want, shown);
	for (int i = 0; i < n; i++)
		if (used[i] != want_used[i])
			fail_msg("[%s]: used[%d] is %d", sql, i, used[i]);
}

static void test_shape(void **state)
{
	(void)state;
	const bool yes[] = { true, true, true }, no[] = { false, false, false };
	const bool first[] = { true, false }, second[] = { false, true };
	check_shape("WHERE ($1 IS NULL OR a = $1)", 1, yes, "WHERE (TRUE OR a = NULL)", no);
	check_shape("WHERE ($1 IS NULL OR a = $1)", 1, no, "WHERE (FALSE OR a = $1)", yes);
	check_shape("WHERE ($1 is not null AND a = $1)", 1, yes, "WHERE (FALSE AND a = NULL)", no);
	check_shape("WHERE ($1 IS  NOT NULL AND a = $1)", 1, no, "WHERE (TRUE AND a = $1)", yes);
	check_shape("SELECT $1 WHERE $1 IS NOT NULL UNION ALL SELECT 2", 1, no,
		    "SELECT $1 WHERE TRUE UNION ALL SELECT 2", yes);
	check_shape("(CASE WHEN $4 IS NOT NULL THEN a ELSE b END)", 1, no,
		    "(CASE WHEN $4 IS NOT NULL THEN a ELSE b END)", no); /* $4 beyond n: untouched */
	check_shape("(CASE WHEN $1 IS NOT NULL THEN a ELSE b END)", 1, no, "(CASE WHEN TRUE THEN a ELSE b END)", no);
	/* next to an operator the test is kept: "a = $1 IS NULL" is "(a = $1) IS NULL" */
	check_shape("SELECT a = $1 IS NULL", 1, no, "SELECT a = $1 IS NULL", yes);
	check_shape("SELECT a = $1 IS NULL", 1, yes, "SELECT a = NULL IS NULL", no);
	check_shape("SELECT $1 IS NULL = b", 1, no, "SELECT $1 IS NULL = b", yes);
	check_shape("VALUES ($1, $2)", 2, second, "VALUES ($1, NULL)", first);
	check_shape("VALUES ($1, $2)", 2, first, "VALUES (NULL, $2)", second);
	check_shape("SELECT '$1 IS NULL', \"$1\", $1 -- $1\n", 1, no, "SELECT '$1 IS NULL', \"$1\", $1 -- $1\n", yes);
	check_shape("SELECT 1", 2, first, "SELECT 1", (const bool[]){ false, false });
	check_shape("WHERE (a = $1 OR $1 IS NULL) AND b = $2", 2, first, "WHERE (a = NULL OR TRUE) AND b = $2", second);
	check_shape("WHERE $1 IS NULL", 1, no, "WHERE FALSE", no);
	check_shape("", 1, yes, "", no);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),    cmocka_unit_test(test_literals_left_alone),
		cmocka_unit_test(test_begin),     cmocka_unit_test(test_pragma),
		cmocka_unit_test(test_insert_or), cmocka_unit_test(test_functions),
		cmocka_unit_test(test_sqlite_syntax), cmocka_unit_test(test_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
