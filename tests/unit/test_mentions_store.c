/* test_mentions_store.c — sq_mentions_upsert (issue 16 H9, asked by H2's
 * pollers): store_mentions_upsert's work inside the caller's transaction.
 * A rollback by the caller leaves nothing; a commit keeps every record; the
 * counts are those of store_mentions_upsert (the same batch again:
 * unchanged). Expected rows are written out here, read back with plain SQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mentions/mentions.h"
#include "store/sqlite_int.h"

static void db_remove(const char *path)
{
	char p[200];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

/* SELECT count(*) of sql on c. */
static int64_t count(sq_conn *c, const char *sql)
{
	db_stmt *st;
	int64_t n = -1;
	assert_int_equal(sq_cprep(c, sql, &st, NULL), KS_OK);
	assert_int_equal(sq_cfirst(c, st, &n, NULL), KS_OK);
	return n;
}

static void test_in_callers_transaction(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof path, "/tmp/ks_test_mentions_store_%ld.db", (long)getpid());
	db_remove(path);
	ks_store *s;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_open(path, NULL, &s, &e), KS_OK);
	const char *doc = "source,source_id,created_at,rating,text\n"
			  "shop,a,2026-03-01,4,Prima\n"
			  "shop,b,2026-03-02,2,Matig\n";
	mentions_batch b;
	assert_int_equal(mentions_parse("generic-csv", doc, strlen(doc), &b, &e), KS_OK);

	sq_conn *c = sq_acquire(s);
	mentions_counts n = {-1, -1, -1};
	assert_int_equal(sq_exec(c, "BEGIN IMMEDIATE", &e), KS_OK);
	assert_int_equal(sq_mentions_upsert(s, c, &b, &n, &e), KS_OK);
	assert_int_equal(n.inserted, 2);
	assert_int_equal(count(c, "SELECT count(*) FROM mentions"), 2);
	assert_int_equal(sq_exec(c, "ROLLBACK", &e), KS_OK);
	assert_int_equal(count(c, "SELECT count(*) FROM mentions"), 0); /* the caller's rollback: nothing */

	assert_int_equal(sq_exec(c, "BEGIN IMMEDIATE", &e), KS_OK);
	assert_int_equal(sq_mentions_upsert(s, c, &b, &n, &e), KS_OK);
	assert_int_equal(sq_exec(c, "COMMIT", &e), KS_OK);
	assert_int_equal(n.inserted, 2);
	assert_int_equal(count(c, "SELECT count(*) FROM mentions WHERE source = 'shop' AND source_id IN ('a', 'b')"
			       " AND rating10 IN (7.5, 2.5)"), 2);

	assert_int_equal(sq_exec(c, "BEGIN IMMEDIATE", &e), KS_OK);
	assert_int_equal(sq_mentions_upsert(s, c, &b, &n, &e), KS_OK);
	assert_int_equal(sq_exec(c, "COMMIT", &e), KS_OK);
	assert_int_equal(n.inserted, 0);
	assert_int_equal(n.updated, 0);
	assert_int_equal(n.unchanged, 2);
	sq_release(s, c);

	/* and store_mentions_upsert agrees: the same batch is unchanged */
	assert_int_equal(store_mentions_upsert(s, &b, &n, &e), KS_OK);
	assert_int_equal(n.unchanged, 2);
	mentions_batch_free(&b);
	store_close(s);
	db_remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_callers_transaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
