/* sqlite_stmt.c — the statement helpers every file of the SQLite backend
 * uses: prepare, step to the end, first column of the first row, column
 * text. One copy, so that each error is mapped by sq_fail the same way
 * everywhere (contracts in sqlite_int.h). They once lived in sqlite_cases.c,
 * with private twins in four other files. */
#include "store/sqlite_int.h"

#include "core/clock.h"

ks_err sq_cprep(sq_conn *c, const char *sql, db_stmt **st, ks_error *e)
{
	int rc = db_prepare(c->db, sql, st);
	return rc == DB_OK ? KS_OK : sq_fail(c, rc, e);
}

ks_err sq_cstep(sq_conn *c, db_stmt *st, ks_error *e)
{
	int rc = db_step(st);
	ks_err err = rc == DB_DONE || rc == DB_ROW ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

const char *sq_ctext(db_stmt *st, int i)
{
	const unsigned char *t = db_column_text(st, i);
	return t ? (const char *)t : "";
}

json_t *sq_iso_or_null(int64_t t)
{
	if (t == 0)
		return json_null();
	char buf[32];
	clock_format_iso(t, buf, sizeof buf);
	return json_string(buf);
}

ks_err sq_cfirst(sq_conn *c, db_stmt *st, int64_t *out, ks_error *e)
{
	*out = 0;
	int rc = db_step(st);
	ks_err err = KS_OK;
	if (rc == DB_ROW)
		*out = db_column_int64(st, 0);
	else if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err sq_one_id(sq_conn *c, const char *sql, int64_t arg, int64_t *out, ks_error *e)
{
	*out = 0;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, arg);
	return sq_cfirst(c, st, out, e);
}

static void sq_id_row(db_stmt *st, void *elem)
{
	*(int64_t *)elem = db_column_int64(st, 0);
}

ks_err sq_collect_ids(sq_conn *c, db_stmt *st, int64_t **ids, size_t *n, ks_error *e)
{
	void *v = NULL;
	ks_err err = sq_collect(c, st, sizeof **ids, sq_id_row, 0, &v, n, NULL, e);
	*ids = err ? NULL : v;
	if (err)
		*n = 0;
	return err;
}

ks_err sq_write_tx(ks_store *s, sq_tx_fn fn, void *arg, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err) {
		err = fn(s, c, arg, e);
		if (!err)
			err = sq_exec(c, "COMMIT", e);
		if (err)
			db_exec(c->db, "ROLLBACK");
	}
	sq_release(s, c);
	return err;
}

ks_err sq_json_rows(sq_conn *c, db_stmt *st, sq_json_fn row, json_t *arr, ks_error *e)
{
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		json_array_append_new(arr, row(st));
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}
