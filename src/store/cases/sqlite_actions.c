/* sqlite_actions.c — improvement actions on SQLite (issue 6): create,
 * read, update and list, with reference checks.
 *
 * Scope and the status flow are not decided here: the API narrows the
 * list to what the requester may see and checks a status change against
 * the stored status before it arrives (src/api/api_actions.c). The update
 * is conditional on that status, so two concurrent changes cannot skip a
 * step of the flow.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_ACTION_COLS                                                                       \
	"id, title, description, coalesce(theme, ''), owner_id, status, start_date,"         \
	" coalesce(deadline, ''), coalesce(journey_id, 0), coalesce(touchpoint_id, 0),"      \
	" coalesce(team_id, 0), coalesce(created_by, 0), created_at, updated_at,"            \
	" (SELECT name FROM users u WHERE u.id = owner_id)"

static void sq_atext(db_stmt *st, int col, char *out, size_t n)
{
	const unsigned char *v = db_column_text(st, col);
	snprintf(out, n, "%s", v ? (const char *)v : "");
}

static void sq_action_row(db_stmt *st, store_action *a);

static void sq_action_elem(db_stmt *st, void *elem)
{
	sq_action_row(st, elem);
}

static void sq_action_row(db_stmt *st, store_action *a)
{
	memset(a, 0, sizeof *a);
	a->id = db_column_int64(st, 0);
	sq_atext(st, 1, a->title, sizeof a->title);
	sq_atext(st, 2, a->description, sizeof a->description);
	sq_atext(st, 3, a->theme, sizeof a->theme);
	a->owner_id = db_column_int64(st, 4);
	sq_atext(st, 5, a->status, sizeof a->status);
	sq_atext(st, 6, a->start_date, sizeof a->start_date);
	sq_atext(st, 7, a->deadline, sizeof a->deadline);
	a->journey_id = db_column_int64(st, 8);
	a->touchpoint_id = db_column_int64(st, 9);
	a->team_id = db_column_int64(st, 10);
	a->created_by = db_column_int64(st, 11);
	a->created_at = db_column_int64(st, 12);
	a->updated_at = db_column_int64(st, 13);
	sq_atext(st, 14, a->owner_name, sizeof a->owner_name);
}

static ks_err sq_action_ref(sq_conn *c, const char *table, const char *field, int64_t id, ks_error *e)
{
	if (id == 0)
		return KS_OK;
	bool found = false;
	ks_err err = sq_row_exists(c, table, id, &found, e);
	if (!err && !found)
		err = ks_fail(e, KS_ERR_REF, field, "%s %lld does not exist", field, (long long)id);
	return err;
}

/* Every reference of a exists, and its touchpoint lies on its journey. */
static ks_err sq_action_refs(sq_conn *c, const store_action *a, ks_error *e)
{
	ks_err err = sq_action_ref(c, "users", "owner_id", a->owner_id, e);
	if (!err)
		err = sq_action_ref(c, "journeys", "journey_id", a->journey_id, e);
	if (!err)
		err = sq_action_ref(c, "touchpoints", "touchpoint_id", a->touchpoint_id, e);
	if (!err)
		err = sq_action_ref(c, "org_units", "team_id", a->team_id, e);
	if (err || a->journey_id == 0 || a->touchpoint_id == 0)
		return err;
	db_stmt *st;
	err = sq_cprep(c, "SELECT journey_id FROM touchpoints WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->touchpoint_id);
	int rc = db_step(st);
	if (rc == DB_ROW && db_column_int64(st, 0) != a->journey_id)
		err = ks_fail(e, KS_ERR_INVALID, "touchpoint_id", "touchpoint %lld is not on journey %lld",
			      (long long)a->touchpoint_id, (long long)a->journey_id);
	else if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

static void sq_bind_opt_text(db_stmt *st, int i, const char *v)
{
	if (v[0])
		db_bind_text(st, i, v, -1, DB_STATIC);
	else
		db_bind_null(st, i);
}

/* Bind the writable fields as ?1..?10 (title .. team_id). */
static void sq_action_bind(db_stmt *st, const store_action *a)
{
	db_bind_text(st, 1, a->title, -1, DB_STATIC);
	db_bind_text(st, 2, a->description, -1, DB_STATIC);
	sq_bind_opt_text(st, 3, a->theme);
	db_bind_int64(st, 4, a->owner_id);
	db_bind_text(st, 5, a->status, -1, DB_STATIC);
	db_bind_text(st, 6, a->start_date, -1, DB_STATIC);
	sq_bind_opt_text(st, 7, a->deadline);
	sq_bind_id(st, 8, a->journey_id);
	sq_bind_id(st, 9, a->touchpoint_id);
	sq_bind_id(st, 10, a->team_id);
}

/* The owner's display name, for the reply of a write (reads join it in). */
static ks_err sq_action_owner_name(sq_conn *c, store_action *a, ks_error *e)
{
	db_stmt *st = NULL;
	a->owner_name[0] = '\0';
	ks_err err = sq_cprep(c, "SELECT name FROM users WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->owner_id);
	if (db_step(st) == DB_ROW)
		sq_atext(st, 0, a->owner_name, sizeof a->owner_name);
	db_finalize(st);
	return KS_OK;
}

ks_err store_action_create(ks_store *s, store_action *a, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	a->created_at = a->updated_at = clock_now(s->clock);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_action_refs(c, a, e);
	if (!err)
		err = sq_action_owner_name(c, a, e);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO actions(title, description, theme, owner_id, status, start_date,"
			       " deadline, journey_id, touchpoint_id, team_id, created_by, created_at, updated_at)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
			       &st, e);
	if (!err) {
		sq_action_bind(st, a);
		sq_bind_id(st, 11, a->created_by);
		db_bind_int64(st, 12, a->created_at);
		int rc = db_step(st);
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	if (!err) {
		a->id = db_last_insert_rowid(c->db);
		err = sq_exec(c, "COMMIT", e);
	}
	sq_release(s, c); /* rolls back an open transaction */
	return err;
}

ks_err store_action_get(ks_store *s, int64_t id, store_action *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT " SQ_ACTION_COLS " FROM actions WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		int rc = db_step(st);
		if (rc == DB_ROW)
			sq_action_row(st, out);
		else if (rc == DB_DONE)
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "action %lld not found", (long long)id);
		else
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_action_update(ks_store *s, store_action *a, const char *expect_status, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	a->updated_at = clock_now(s->clock);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_action_refs(c, a, e);
	if (!err)
		err = sq_action_owner_name(c, a, e);
	if (!err)
		err = sq_cprep(c,
			       "UPDATE actions SET title = ?1, description = ?2, theme = ?3, owner_id = ?4,"
			       " status = ?5, start_date = ?6, deadline = ?7, journey_id = ?8,"
			       " touchpoint_id = ?9, team_id = ?10, updated_at = ?11"
			       " WHERE id = ?12 AND status = ?13",
			       &st, e);
	if (!err) {
		sq_action_bind(st, a);
		db_bind_int64(st, 11, a->updated_at);
		db_bind_int64(st, 12, a->id);
		db_bind_text(st, 13, expect_status, -1, DB_STATIC);
		int rc = db_step(st);
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	if (!err && db_changes(c->db) == 0) {
		bool found = false;
		err = sq_row_exists(c, "actions", a->id, &found, e);
		if (!err)
			err = found ? ks_fail(e, KS_ERR_CONFLICT, "status", "the action's status changed meanwhile")
				    : ks_fail(e, KS_ERR_NOTFOUND, NULL, "action %lld not found", (long long)a->id);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c); /* rolls back an open transaction */
	return err;
}

/* ?1 unit filter (subtree), ?2 scope unit (subtree), ?3 team-less actions
 * in scope too, ?4 status, ?5 touchpoint, ?6 journey, ?7 owner, ?8 cursor,
 * ?9 limit. 0 / '' = any. */
static const char *const sq_action_list_sql =
	"WITH RECURSIVE f(id) AS (SELECT ?1 WHERE ?1 <> 0"
	"  UNION SELECT o.id FROM org_units o JOIN f ON o.parent_id = f.id),"
	" sc(id) AS (SELECT ?2 WHERE ?2 <> 0"
	"  UNION SELECT o.id FROM org_units o JOIN sc ON o.parent_id = sc.id)"
	" SELECT " SQ_ACTION_COLS " FROM actions"
	" WHERE (?1 = 0 OR team_id IN f)"
	" AND (?2 = 0 OR team_id IN sc OR (?3 <> 0 AND team_id IS NULL))"
	" AND (?4 = '' OR status = ?4) AND (?5 = 0 OR touchpoint_id = ?5)"
	" AND (?6 = 0 OR journey_id = ?6) AND (?7 = 0 OR owner_id = ?7) AND id > ?8"
	" ORDER BY id LIMIT ?9";

ks_err store_action_list(ks_store *s, const store_action_query *q, store_action **out, size_t *n,
			 bool *more, ks_error *e)
{
	*out = NULL;
	*n = 0;
	*more = false;
	int limit = q->limit < 1 ? 1 : q->limit > 500 ? 500 : q->limit;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, sq_action_list_sql, &st, e);
	if (err) {
		sq_release(s, c);
		return err;
	}
	db_bind_int64(st, 1, q->team_id);
	db_bind_int64(st, 2, q->scope_unit);
	db_bind_int(st, 3, q->scope_teamless ? 1 : 0);
	db_bind_text(st, 4, q->status ? q->status : "", -1, DB_STATIC);
	db_bind_int64(st, 5, q->touchpoint_id);
	db_bind_int64(st, 6, q->journey_id);
	db_bind_int64(st, 7, q->owner_id);
	db_bind_int64(st, 8, q->after_id);
	db_bind_int(st, 9, limit + 1);
	void *v = NULL;
	err = sq_collect(c, st, sizeof(store_action), sq_action_elem, (size_t)limit, &v, n, more, e);
	sq_release(s, c);
	if (!err)
		*out = v;
	return err;
}
