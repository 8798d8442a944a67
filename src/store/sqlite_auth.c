/* sqlite_auth.c — accounts, sessions and API tokens on SQLite. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sq_user_cols =
	"u.id, u.email, u.name, u.role, coalesce(u.employee_id,0), coalesce(u.unit_id,0), u.language,"
	" u.disabled, u.password_hash";

static void sq_user_row(sqlite3_stmt *st, store_user *u, char *hash, size_t hash_n)
{
	memset(u, 0, sizeof *u);
	u->id = sqlite3_column_int64(st, 0);
	snprintf(u->email, sizeof u->email, "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(u->name, sizeof u->name, "%s", (const char *)sqlite3_column_text(st, 2));
	snprintf(u->role, sizeof u->role, "%s", (const char *)sqlite3_column_text(st, 3));
	u->employee_id = sqlite3_column_int64(st, 4);
	u->unit_id = sqlite3_column_int64(st, 5);
	snprintf(u->language, sizeof u->language, "%s", (const char *)sqlite3_column_text(st, 6));
	u->disabled = sqlite3_column_int(st, 7) != 0;
	if (hash && hash_n)
		snprintf(hash, hash_n, "%s", (const char *)sqlite3_column_text(st, 8));
}

/* Run a one-row user query over "FROM where" with ?1 = text (or id);
 * hash receives the password hash. */
static ks_err sq_user_query(ks_store *s, const char *where, const char *text, int64_t id,
			    store_user *u, char *hash, size_t hash_n, ks_error *e)
{
	char sql[768];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s", sq_user_cols, where);
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	if (text)
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	ks_err err = KS_OK;
	if (rc == SQLITE_ROW) {
		sq_user_row(st, u, hash, hash_n);
	} else if (rc == SQLITE_DONE) {
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "not found");
	} else {
		err = sq_fail(c, rc, e);
	}
	sqlite3_finalize(st);
	sq_release(s, c);
	return err;
}

ks_err store_user_by_email(ks_store *s, const char *email, store_user *out, char *hash, size_t hash_n,
			   ks_error *e)
{
	return sq_user_query(s, "users u WHERE u.email = ?1", email, 0, out, hash, hash_n, e);
}

ks_err store_user_get(ks_store *s, int64_t id, store_user *out, char *hash, size_t hash_n, ks_error *e)
{
	return sq_user_query(s, "users u WHERE u.id = ?1", NULL, id, out, hash, hash_n, e);
}

/* The caller of a request, by a cached statement (this runs for every
 * authenticated request). Column 8 is the session's CSRF token, or ''. */
static ks_err sq_caller(ks_store *s, sq_id id, const char *token_hash, int64_t now, store_user *u,
			char *csrf, size_t csrf_n, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st = sq_stmt(c, id, e);
	ks_err err = st ? KS_OK : KS_ERR_DB;
	if (st) {
		sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
		if (id == SQ_SESSION_USER)
			sqlite3_bind_int64(st, 2, now);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			sq_user_row(st, u, csrf, csrf_n);
		else
			err = rc == SQLITE_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "not found") : sq_fail(c, rc, e);
		sqlite3_reset(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_session_get(ks_store *s, const char *token_hash, int64_t now, store_user *u, char *csrf,
			 size_t csrf_n, ks_error *e)
{
	return sq_caller(s, SQ_SESSION_USER, token_hash, now, u, csrf, csrf_n, e);
}

ks_err store_token_get(ks_store *s, const char *token_hash, store_user *u, ks_error *e)
{
	return sq_caller(s, SQ_TOKEN_USER, token_hash, 0, u, NULL, 0, e);
}

json_t *store_user_json(const store_user *u)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:s, s:b}", "id", (json_int_t)u->id, "email",
			 u->email, "name", u->name, "role", u->role, "employee_id",
			 u->employee_id ? json_integer(u->employee_id) : json_null(), "unit_id",
			 u->unit_id ? json_integer(u->unit_id) : json_null(), "language", u->language,
			 "disabled", u->disabled);
}

/* Execute one write statement with bound values (text when txt[i] is set,
 * else the integer), inside its own transaction. */
static ks_err sq_write(ks_store *s, const char *sql, int n, const char *const *txt,
		       const int64_t *num, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	for (int i = 0; i < n; i++) {
		if (txt && txt[i])
			sqlite3_bind_text(st, i + 1, txt[i], -1, SQLITE_STATIC);
		else if (num[i] != 0)
			sqlite3_bind_int64(st, i + 1, num[i]);
	}
	rc = sqlite3_step(st);
	ks_err err = rc == SQLITE_DONE ? KS_OK : sq_fail(c, rc, e);
	sqlite3_finalize(st);
	sq_release(s, c);
	return err;
}

ks_err store_user_create(ks_store *s, store_user *u, const char *password_hash, ks_error *e)
{
	const char *txt[] = {u->email, u->name, u->role, NULL, NULL, u->language[0] ? u->language : "nl",
			     password_hash, NULL};
	int64_t num[] = {0, 0, 0, u->employee_id, u->unit_id, 0, 0, clock_now(s->clock)};
	ks_err err = sq_write(s,
			      "INSERT INTO users(email, name, role, employee_id, unit_id, language,"
			      " password_hash, created_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
			      8, txt, num, e);
	if (err == KS_ERR_REF) {
		/* The foreign key does not say which: look. */
		bool emp_ok = true;
		if (u->employee_id) {
			sq_conn *c = sq_acquire(s);
			sq_row_exists(c, "employees", u->employee_id, &emp_ok, NULL);
			sq_release(s, c);
		}
		return emp_ok ? ks_fail(e, KS_ERR_REF, "unit_id", "unit_id does not exist")
			      : ks_fail(e, KS_ERR_REF, "employee_id", "employee_id does not exist");
	}
	if (err)
		return err;
	store_user tmp;
	err = store_user_by_email(s, u->email, &tmp, NULL, 0, e);
	if (!err)
		*u = tmp;
	return err;
}

ks_err store_user_set_password(ks_store *s, int64_t id, const char *password_hash, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err && sqlite3_prepare_v2(c->db, "UPDATE users SET password_hash=?2 WHERE id=?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, password_hash, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			err = sq_fail(c, rc, e);
	} else if (!err) {
		err = sq_fail(c, sqlite3_errcode(c->db), e);
	}
	if (!err && sqlite3_prepare_v2(c->db, "DELETE FROM sessions WHERE user_id=?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			err = sq_fail(c, rc, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

ks_err store_session_create(ks_store *s, const char *token_hash, int64_t user_id, const char *csrf,
			    int64_t expires_at, ks_error *e)
{
	const char *txt[] = {token_hash, NULL, csrf, NULL, NULL};
	int64_t num[] = {0, user_id, 0, clock_now(s->clock), expires_at};
	return sq_write(s,
			"INSERT INTO sessions(token_hash, user_id, csrf, created_at, expires_at)"
			" VALUES(?1,?2,?3,?4,?5)",
			5, txt, num, e);
}

ks_err store_session_delete(ks_store *s, const char *token_hash, ks_error *e)
{
	const char *txt[] = {token_hash};
	int64_t num[] = {0};
	return sq_write(s, "DELETE FROM sessions WHERE token_hash=?1", 1, txt, num, e);
}

ks_err store_token_create(ks_store *s, const char *token_hash, int64_t user_id, const char *name,
			  ks_error *e)
{
	const char *txt[] = {token_hash, NULL, name, NULL};
	int64_t num[] = {0, user_id, 0, clock_now(s->clock)};
	return sq_write(s, "INSERT INTO api_tokens(token_hash, user_id, name, created_at) VALUES(?1,?2,?3,?4)",
			4, txt, num, e);
}

ks_err store_user_list(ks_store *s, json_t **out, ks_error *e)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM users u ORDER BY u.id", sq_user_cols);
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	json_t *items = json_array();
	store_user u;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sq_user_row(st, &u, NULL, 0);
		json_array_append_new(items, store_user_json(&u));
	}
	ks_err err = rc == SQLITE_DONE ? KS_OK : sq_fail(c, rc, e);
	sqlite3_finalize(st);
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o}", "items", items);
	return KS_OK;
}
