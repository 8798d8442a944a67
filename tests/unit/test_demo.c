/* test_demo.c — the demo data generator at a small scale.
 *
 * Each test generates into its own temporary SQLite file (under /tmp, named
 * by pid and a counter, removed afterwards with its -wal/-shm files) and
 * reads the rows back with sqlite3 directly, so the checks do not depend on
 * the store's read functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "demo/demo.h"
#include "store/store.h"

#define SCALE 2
/* Expected sizes at SCALE, from the formula in demo.h (full * 2 / 100). */
#define WANT_CUSTOMERS 400   /* 20000 * 2 / 100 */
#define WANT_CONTACTS 3660   /* 183000 * 2 / 100 */

static int db_counter;

static void db_path(char *out, size_t n)
{
	snprintf(out, n, "/tmp/ks_test_demo_%ld_%d.db", (long)getpid(), db_counter++);
}

static void db_remove(const char *path)
{
	char p[256];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

/* Generate into a fresh file at path; returns the result code. */
static ks_err generate(const char *path, const demo_options *opt, demo_stats *st, ks_error *e)
{
	db_remove(path);
	ks_store *s = NULL;
	ks_err err = store_open(path, NULL, &s, e);
	assert_int_equal(err, KS_OK);
	err = demo_generate(s, opt, st, e);
	store_close(s);
	return err;
}

static sqlite3 *db_open(const char *path)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return db;
}

/* The first column of the first row of sql, as a double. */
static double db_value(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	double v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

static long long db_count(sqlite3 *db, const char *table)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	return (long long)db_value(db, sql);
}

/* nps|grade|ces|open_text of the first 100 responses, one line each. */
static void first_scores(sqlite3 *db, char *out, size_t n)
{
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db,
		"SELECT nps, coalesce(grade,-1), coalesce(ces,-1), coalesce(open_text,'') "
		"FROM responses ORDER BY id LIMIT 100", -1, &st, NULL), SQLITE_OK);
	size_t len = 0;
	int rows = 0;
	out[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		int w = snprintf(out + len, n - len, "%d|%d|%d|%s\n", sqlite3_column_int(st, 0),
				 sqlite3_column_int(st, 1), sqlite3_column_int(st, 2),
				 (const char *)sqlite3_column_text(st, 3));
		assert_true(w > 0 && (size_t)w < n - len);
		len += (size_t)w;
		rows++;
	}
	sqlite3_finalize(st);
	assert_int_equal(rows, 100);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_counts_at_small_scale(void **state)
{
	(void)state;
	char path[128];
	db_path(path, sizeof path);
	demo_options opt = {.seed = 7, .scale_percent = SCALE};
	demo_stats st;
	ks_error e;
	assert_int_equal(generate(path, &opt, &st, &e), KS_OK);

	/* fixed at every scale: 1 organisation + 3 departments + 8 teams */
	assert_int_equal(st.org_units, 12);
	assert_int_equal(st.employees, 60);
	assert_int_equal(st.journeys, 3);
	assert_int_equal(st.touchpoints, 12);
	assert_int_equal(st.surveys, 3);
	assert_int_equal(st.customers, WANT_CUSTOMERS);
	assert_int_equal(st.contacts, WANT_CONTACTS);
	/* about 60% answer; allow a wide band around it */
	assert_true(st.responses > WANT_CONTACTS / 2);
	assert_true(st.responses < WANT_CONTACTS * 7 / 10);
	assert_true(st.elapsed_ms >= 0);

	/* the stats tell the truth about the database */
	sqlite3 *db = db_open(path);
	assert_int_equal(db_count(db, "org_units"), st.org_units);
	assert_int_equal(db_count(db, "employees"), st.employees);
	assert_int_equal(db_count(db, "customers"), st.customers);
	assert_int_equal(db_count(db, "journeys"), st.journeys);
	assert_int_equal(db_count(db, "touchpoints"), st.touchpoints);
	assert_int_equal(db_count(db, "surveys"), st.surveys);
	assert_int_equal(db_count(db, "contacts"), st.contacts);
	assert_int_equal(db_count(db, "responses"), st.responses);
	sqlite3_close(db);
	db_remove(path);
}

/* Responses belong to their contact, come after it and before "now", and
 * the whole set looks like the brief: NPS +10..+35, grade mean about 7.3. */
static void test_plausible_data(void **state)
{
	(void)state;
	char path[128];
	db_path(path, sizeof path);
	demo_options opt = {.scale_percent = SCALE};  /* default seed and now */
	demo_stats st;
	ks_error e;
	assert_int_equal(generate(path, &opt, &st, &e), KS_OK);
	sqlite3 *db = db_open(path);

	assert_int_equal(db_value(db,
		"SELECT count(*) FROM responses r JOIN contacts c ON c.id = r.contact_id "
		"WHERE r.customer_id = c.customer_id AND r.touchpoint_id = c.touchpoint_id "
		"AND r.channel = c.channel AND r.team_id IS c.team_id "
		"AND r.employee_id IS c.employee_id "
		"AND r.received_at > c.occurred_at AND r.received_at <= c.occurred_at + 2*86400"),
		st.responses);
	/* default now: 2026-11-01T00:00:00Z; window of 730 days before it */
	assert_true(db_value(db, "SELECT max(received_at) FROM responses") < 1793491200.0);
	assert_true(db_value(db, "SELECT min(occurred_at) FROM contacts") >= 1793491200.0 - 730 * 86400.0);
	assert_int_equal(db_value(db, "SELECT count(*) FROM responses WHERE source <> 'demo'"), 0);

	double nps = db_value(db, "SELECT 100.0 * (sum(nps >= 9) - sum(nps <= 6)) / count(*) FROM responses");
	assert_true(nps >= 5 && nps <= 40);
	double grade = db_value(db, "SELECT avg(grade) FROM responses WHERE grade IS NOT NULL");
	assert_true(grade >= 6.8 && grade <= 7.8);
	double open = db_value(db, "SELECT avg(open_text IS NOT NULL) FROM responses");
	assert_true(open >= 0.3 && open <= 0.5);
	double en = db_value(db, "SELECT avg(language = 'en') FROM customers");
	assert_true(en >= 0.08 && en <= 0.22);
	/* the standard survey asks three drivers of every response */
	assert_true(db_count(db, "response_drivers") > st.responses);
	sqlite3_close(db);
	db_remove(path);
}

static void test_same_seed_same_data(void **state)
{
	(void)state;
	char p1[128], p2[128];
	db_path(p1, sizeof p1);
	db_path(p2, sizeof p2);
	demo_options opt = {.seed = 42, .scale_percent = SCALE};
	demo_stats a, b;
	ks_error e;
	assert_int_equal(generate(p1, &opt, &a, &e), KS_OK);
	assert_int_equal(generate(p2, &opt, &b, &e), KS_OK);
	a.elapsed_ms = b.elapsed_ms = 0;
	assert_memory_equal(&a, &b, sizeof a);

	static char s1[64 * 1024], s2[64 * 1024];
	sqlite3 *db = db_open(p1);
	first_scores(db, s1, sizeof s1);
	sqlite3_close(db);
	db = db_open(p2);
	first_scores(db, s2, sizeof s2);
	sqlite3_close(db);
	assert_string_equal(s1, s2);

	/* and another seed gives other answers */
	opt.seed = 43;
	assert_int_equal(generate(p2, &opt, &b, &e), KS_OK);
	db = db_open(p2);
	first_scores(db, s2, sizeof s2);
	sqlite3_close(db);
	assert_string_not_equal(s1, s2);
	db_remove(p1);
	db_remove(p2);
}

/* Teams differ on purpose (demo.c's team effects): the best and the worst
 * team's mean NPS answer are clearly apart. */
static void test_teams_differ(void **state)
{
	(void)state;
	char path[128];
	db_path(path, sizeof path);
	demo_options opt = {.scale_percent = SCALE};
	demo_stats st;
	ks_error e;
	assert_int_equal(generate(path, &opt, &st, &e), KS_OK);
	sqlite3 *db = db_open(path);
	double lo = db_value(db, "SELECT min(a) FROM (SELECT avg(nps) AS a FROM responses "
				 "WHERE team_id IS NOT NULL GROUP BY team_id)");
	double hi = db_value(db, "SELECT max(a) FROM (SELECT avg(nps) AS a FROM responses "
				 "WHERE team_id IS NOT NULL GROUP BY team_id)");
	assert_int_equal(db_value(db, "SELECT count(DISTINCT team_id) FROM responses"), 8);
	assert_true(hi - lo > 0.5);
	sqlite3_close(db);
	db_remove(path);
}

/* A failure half-way leaves nothing behind: a second run into the same
 * database hits the unique employee ids after the org units were inserted,
 * and those org units must be rolled back too. */
static void test_failure_rolls_back(void **state)
{
	(void)state;
	char path[128];
	db_path(path, sizeof path);
	demo_options opt = {.scale_percent = 1};
	demo_stats st;
	ks_error e;
	assert_int_equal(generate(path, &opt, &st, &e), KS_OK);

	ks_store *s = NULL;
	assert_int_equal(store_open(path, NULL, &s, &e), KS_OK);
	assert_int_equal(demo_generate(s, &opt, &st, &e), KS_ERR_CONFLICT);
	assert_int_equal(st.responses, 0);  /* zeroed on failure */
	store_close(s);

	sqlite3 *db = db_open(path);
	assert_int_equal(db_count(db, "org_units"), 12);
	assert_int_equal(db_count(db, "employees"), 60);
	assert_int_equal(db_count(db, "customers"), 200);
	sqlite3_close(db);
	db_remove(path);
}

static void test_bad_options(void **state)
{
	(void)state;
	char path[128];
	db_path(path, sizeof path);
	ks_error e;
	demo_stats st;
	demo_options opt = {.scale_percent = -1};
	assert_int_equal(generate(path, &opt, &st, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "scale_percent");
	opt.scale_percent = DEMO_MAX_SCALE + 1;
	assert_int_equal(generate(path, &opt, &st, &e), KS_ERR_RANGE);
	opt.scale_percent = 1;
	opt.now = 1000;  /* 1970: customers would date from before the epoch */
	assert_int_equal(generate(path, &opt, &st, &e), KS_ERR_RANGE);
	assert_string_equal(e.field, "now");

	sqlite3 *db = db_open(path);
	assert_int_equal(db_count(db, "org_units"), 0);
	sqlite3_close(db);
	db_remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_at_small_scale),
		cmocka_unit_test(test_plausible_data),
		cmocka_unit_test(test_same_seed_same_data),
		cmocka_unit_test(test_teams_differ),
		cmocka_unit_test(test_failure_rolls_back),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
