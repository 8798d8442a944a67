/* sqlite_scan.c — bulk reads that feed the in-memory analytics index. */
#include "store/sqlite_int.h"
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_set_commit_hook(ks_store *s, store_commit_fn fn, void *arg)
{
	s->commit_hook = fn;
	s->commit_arg = arg;
}

/* At a character boundary: a segment, city or name longer than its buffer
 * (names are taken up to 500 bytes) cut inside a character is no JSON
 * string, and the group would drop out of /metrics. */
static void sq_copy(db_stmt *st, int col, char *out, size_t n)
{
	utf8_copy(out, n, (const char *)db_column_text(st, col));
}

/* Copy a short text column without snprintf: this runs for every row of a
 * start-up scan (millions). */
static void sq_copy_short(db_stmt *st, int col, char *out, size_t n)
{
	const unsigned char *t = db_column_text(st, col);
	size_t len = t ? (size_t)db_column_bytes(st, col) : 0;
	if (len >= n)
		len = n - 1;
	if (len)
		memcpy(out, t, len);
	out[len] = '\0';
}

static int sq_score(db_stmt *st, int col)
{
	return db_column_type(st, col) == DB_NULL ? -1 : db_column_int(st, col);
}

/* issue 18 (NODES): the columns of a scanned response, and a row of them
 * into r (shared by the scan and the follower's one-row read) */
#define SQ_SCAN_RESPONSE_COLS                                                           \
	"SELECT id, coalesce(customer_id,0), coalesce(employee_id,0),"                  \
	" coalesce(team_id,0), coalesce(touchpoint_id,0), coalesce(channel,''),"        \
	" language, nps, grade, ces, received_at, coalesce(contact_id,0) FROM responses"

static void sq_scan_response_row(db_stmt *st, model_response *r);

ks_err sq_scan_response_one(sq_conn *c, int64_t id, model_response *r, bool *found, ks_error *e)
{
	db_stmt *st;
	*found = false;
	int rc = db_prepare(c->db, SQ_SCAN_RESPONSE_COLS " WHERE id = ?1", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_int64(st, 1, id);
	model_response_init(r);
	rc = db_step(st);
	if (rc == DB_ROW) {
		sq_scan_response_row(st, r);
		*found = true;
		rc = DB_DONE;
	}
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}
/* end issue 18 (NODES) */

ks_err store_scan_responses(ks_store *s, int64_t after_id, store_response_fn fn, void *arg,
			    ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db, SQ_SCAN_RESPONSE_COLS " WHERE id > ?1 ORDER BY id", &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	db_bind_int64(st, 1, after_id);
	/* One struct for all rows, initialised once: only the fields below
	 * change from row to row (drivers and open text stay empty). */
	model_response r;
	model_response_init(&r);
	while ((rc = db_step(st)) == DB_ROW) {
		sq_scan_response_row(st, &r);
		if (!fn(arg, &r)) {
			rc = DB_DONE;
			break;
		}
	}
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	return err;
}

static void sq_scan_response_row(db_stmt *st, model_response *r)
{
	r->id = db_column_int64(st, 0);
	r->customer_id = db_column_int64(st, 1);
	r->employee_id = db_column_int64(st, 2);
	r->team_id = db_column_int64(st, 3);
	r->touchpoint_id = db_column_int64(st, 4);
	sq_copy_short(st, 5, r->channel, sizeof r->channel);
	sq_copy_short(st, 6, r->language, sizeof r->language);
	r->nps = sq_score(st, 7);
	r->grade = sq_score(st, 8);
	r->ces = sq_score(st, 9);
	r->received_at = db_column_int64(st, 10);
	r->contact_id = db_column_int64(st, 11);
}

ks_err store_scan_customers(ks_store *s, int64_t only_id, store_customer_fn fn, void *arg, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	/* issue 18 (PG-BULK): one customer by its id, not "?1 = 0 OR id = ?1":
	 * PostgreSQL's generic plan of that (a cached statement) scanned every
	 * customer for each one refreshed — seconds per thousand when another
	 * node imported 300,000 */
	static const char one[] =
		"SELECT id, language, coalesce(segment,''), coalesce(city,''), coalesce(birth_year,0),"
		" coalesce(CAST(substr(customer_since,1,4) AS INTEGER),0) FROM customers WHERE id = ?1";
	static const char all[] =
		"SELECT id, language, coalesce(segment,''), coalesce(city,''), coalesce(birth_year,0),"
		" coalesce(CAST(substr(customer_since,1,4) AS INTEGER),0) FROM customers ORDER BY id";
	int rc = db_prepare(c->db, only_id ? one : all, &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	if (only_id)
		db_bind_int64(st, 1, only_id);
	store_customer_attrs a;
	while ((rc = db_step(st)) == DB_ROW) {
		memset(&a, 0, sizeof a);
		a.id = db_column_int64(st, 0);
		sq_copy(st, 1, a.language, sizeof a.language);
		sq_copy(st, 2, a.segment, sizeof a.segment);
		sq_copy(st, 3, a.city, sizeof a.city);
		a.birth_year = db_column_int(st, 4);
		a.since_year = db_column_int(st, 5);
		fn(arg, &a);
	}
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	return err;
}

ks_err store_scan_names(ks_store *s, store_names_kind kind, store_named_fn fn, void *arg, ks_error *e)
{
	static const char *const sql[] = {
		[STORE_NAMES_UNITS] = "SELECT id, coalesce(parent_id,0), kind, name FROM org_units ORDER BY id",
		[STORE_NAMES_EMPLOYEES] =
			"SELECT id, team_id, 'employee', first_name || ' ' || last_name FROM employees ORDER BY id",
		[STORE_NAMES_TOUCHPOINTS] =
			"SELECT id, journey_id, CASE WHEN moment_of_truth <> 0 THEN 'mot' ELSE '' END, name"
			" FROM touchpoints ORDER BY id",
		[STORE_NAMES_JOURNEYS] = "SELECT id, 0, '', name FROM journeys ORDER BY id",
	};
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db, sql[kind], &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	store_named row;
	while ((rc = db_step(st)) == DB_ROW) {
		memset(&row, 0, sizeof row);
		row.id = db_column_int64(st, 0);
		row.parent_id = db_column_int64(st, 1);
		sq_copy(st, 2, row.kind, sizeof row.kind);
		sq_copy(st, 3, row.name, sizeof row.name);
		fn(arg, &row);
	}
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	return err;
}
