/* sqlite_widget.c — the public score widgets an organisation publishes
 * (issue 16, "Scores made public"). See store.h; the table is
 * migrations/019_widgets.sql. The list is written whole: one PUT replaces
 * it, in one transaction with its audit entry.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_WIDGET_COLS "token, scope, scope_id, measure, period, enabled, coalesce(updated_by, 0), updated_at"

static void sq_widget_row(db_stmt *st, void *elem)
{
	store_widget *w = elem;
	memset(w, 0, sizeof *w);
	snprintf(w->token, sizeof w->token, "%s", sq_ctext(st, 0));
	snprintf(w->scope, sizeof w->scope, "%s", sq_ctext(st, 1));
	w->scope_id = db_column_int64(st, 2);
	snprintf(w->measure, sizeof w->measure, "%s", sq_ctext(st, 3));
	snprintf(w->period, sizeof w->period, "%s", sq_ctext(st, 4));
	w->enabled = db_column_int(st, 5) != 0;
	w->updated_by = db_column_int64(st, 6);
	w->updated_at = db_column_int64(st, 7);
}

ks_err store_widget_list(ks_store *s, store_widget **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	void *v = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_WIDGET_COLS " FROM widgets ORDER BY position, token", &st, e);
	if (!err)
		err = sq_collect(c, st, sizeof(store_widget), sq_widget_row, 0, &v, n, NULL, e);
	sq_release(s, c);
	if (!err)
		*out = v;
	return err;
}

ks_err store_widget_get(ks_store *s, const char *token, store_widget *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_WIDGET_COLS " FROM widgets WHERE token = ?1", &st, e);
	if (!err) {
		db_bind_text(st, 1, token, -1, DB_TRANSIENT);
		int rc = db_step(st);
		if (rc == DB_ROW)
			sq_widget_row(st, out);
		else if (rc == DB_DONE)
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such widget");
		else
			err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	sq_release(s, c);
	return err;
}

static ks_err sq_widget_insert(sq_conn *c, const store_widget *w, int position, int64_t now, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO widgets(token, scope, scope_id, measure, period, enabled, position,"
			      " updated_by, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			      &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, w->token, -1, DB_STATIC);
	db_bind_text(st, 2, w->scope, -1, DB_STATIC);
	db_bind_int64(st, 3, w->scope_id);
	db_bind_text(st, 4, w->measure, -1, DB_STATIC);
	db_bind_text(st, 5, w->period, -1, DB_STATIC);
	db_bind_int(st, 6, w->enabled ? 1 : 0);
	db_bind_int(st, 7, position);
	sq_bind_id(st, 8, w->updated_by);
	/* An unchanged widget keeps its time: updated_at says when its
	 * settings last changed, not when the list was last saved. */
	db_bind_int64(st, 9, w->updated_at ? w->updated_at : now);
	return sq_cstep(c, st, e);
}

ks_err store_widget_put(ks_store *s, const store_widget *w, size_t n, const store_audit_entry *audit,
			ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	int64_t now = clock_now(s->clock);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_exec(c, "DELETE FROM widgets", e);
	for (size_t i = 0; !err && i < n; i++)
		err = sq_widget_insert(c, &w[i], (int)i, now, e);
	if (!err && audit)
		err = sq_audit_insert(s, c, audit, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err)
		db_exec(c->db, "ROLLBACK");
	sq_release(s, c);
	return err;
}
