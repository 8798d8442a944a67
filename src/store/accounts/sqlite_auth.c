/* sqlite_auth.c — accounts, sessions and API tokens on SQLite. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns 0..8 match the cached caller statements (SQ_TOKEN_USER,
 * SQ_SESSION_USER in sqlite_store.c); 9 and 10 only the queries here. */
static const char *const sq_user_cols =
	"u.id, u.email, u.name, u.role, coalesce(u.employee_id,0), coalesce(u.unit_id,0), u.language,"
	" u.disabled, u.password_hash, u.deleted_at IS NOT NULL, u.created_at";

/* A user is an active admin: the one kind of account that must never run out. */
static const char *const sq_other_admins =
	"SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND deleted_at IS NULL"
	" AND id <> ?1";

static void sq_user_row(db_stmt *st, store_user *u, char *hash, size_t hash_n)
{
	memset(u, 0, sizeof *u);
	u->id = db_column_int64(st, 0);
	snprintf(u->email, sizeof u->email, "%s", (const char *)db_column_text(st, 1));
	snprintf(u->name, sizeof u->name, "%s", (const char *)db_column_text(st, 2));
	snprintf(u->role, sizeof u->role, "%s", (const char *)db_column_text(st, 3));
	u->employee_id = db_column_int64(st, 4);
	u->unit_id = db_column_int64(st, 5);
	snprintf(u->language, sizeof u->language, "%s", (const char *)db_column_text(st, 6));
	u->disabled = db_column_int(st, 7) != 0;
	if (hash && hash_n)
		snprintf(hash, hash_n, "%s", (const char *)db_column_text(st, 8));
}

/* sq_user_row plus the columns only sq_user_cols has. */
static void sq_user_row_full(db_stmt *st, store_user *u, char *hash, size_t hash_n)
{
	sq_user_row(st, u, hash, hash_n);
	u->deleted = db_column_int(st, 9) != 0;
	u->created_at = db_column_int64(st, 10);
}

/* Run a one-row user query over "FROM where" with ?1 = text (or id);
 * hash receives the password hash. */
static ks_err sq_user_query(ks_store *s, const char *where, const char *text, int64_t id,
			    store_user *u, char *hash, size_t hash_n, ks_error *e)
{
	char sql[768];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s", sq_user_cols, where);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	if (text)
		db_bind_text(st, 1, text, -1, DB_STATIC);
	else
		db_bind_int64(st, 1, id);
	rc = db_step(st);
	ks_err err = KS_OK;
	if (rc == DB_ROW) {
		sq_user_row_full(st, u, hash, hash_n);
	} else if (rc == DB_DONE) {
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "not found");
	} else {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	sq_release(s, c);
	return err;
}

ks_err store_user_by_email(ks_store *s, const char *email, store_user *out, char *hash, size_t hash_n,
			   ks_error *e)
{
	return sq_user_query(s, "users u WHERE u.email = ?1 AND u.deleted_at IS NULL", email, 0, out, hash,
			     hash_n, e);
}

ks_err store_user_get(ks_store *s, int64_t id, store_user *out, char *hash, size_t hash_n, ks_error *e)
{
	return sq_user_query(s, "users u WHERE u.id = ?1", NULL, id, out, hash, hash_n, e);
}

/* The caller of a request, by a cached statement (this runs for every
 * authenticated request). Column 8 is the session's CSRF token, or ''. */
static ks_err sq_caller(sq_conn *c, sq_id id, const char *token_hash, int64_t now, store_user *u,
			char *csrf, size_t csrf_n, int64_t *token_id, int64_t *last_used, ks_error *e)
{
	db_stmt *st = sq_stmt(c, id, e);
	if (st == NULL)
		return KS_ERR_DB;
	db_bind_text(st, 1, token_hash, -1, DB_STATIC);
	db_bind_int64(st, 2, now);
	int rc = db_step(st);
	ks_err err = KS_OK;
	if (rc == DB_ROW) {
		sq_user_row(st, u, csrf, csrf_n);
		if (token_id)
			*token_id = db_column_int64(st, 9);
		if (last_used)
			*last_used = db_column_int64(st, 10);
	} else {
		err = rc == DB_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "not found") : sq_fail(c, rc, e);
	}
	db_reset(st);
	return err;
}

ks_err store_session_get(ks_store *s, const char *token_hash, int64_t now, store_user *u, char *csrf,
			 size_t csrf_n, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_caller(c, SQ_SESSION_USER, token_hash, now, u, csrf, csrf_n, NULL, NULL, e);
	sq_release(s, c);
	return err;
}

/* Run sql with ?1 = a and ?2 = b (integers; b only when the statement has
 * it) on c, inside the caller's transaction. *changes (may be NULL) gets
 * the rows changed, *first (may be NULL) the first column of a row. */
static ks_err sq_run(sq_conn *c, const char *sql, int64_t a, int64_t b, int *changes, int64_t *first,
		     ks_error *e)
{
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_int64(st, 1, a);
	if (db_bind_parameter_count(st) >= 2)
		db_bind_int64(st, 2, b);
	rc = db_step(st);
	if (rc == DB_ROW && first)
		*first = db_column_int64(st, 0);
	ks_err err = rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	if (!err && changes)
		*changes = db_changes(c->db);
	db_finalize(st);
	return err;
}

/* Last use is worth knowing to the minute, not more: one write a minute per
 * token, never one per request. The mark never waits for the write lock
 * (a bulk load may hold it for long): when the database is busy it is
 * left to a later request. */
#define SQ_TOKEN_MARK_EVERY 60

ks_err store_token_get(ks_store *s, const char *token_hash, int64_t now, store_user *u, ks_error *e)
{
	int64_t id = 0, last = 0;
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_caller(c, SQ_TOKEN_USER, token_hash, now, u, NULL, 0, &id, &last, e);
	if (!err && (last == 0 || now - last >= SQ_TOKEN_MARK_EVERY || now < last)) {
		db_busy_timeout(c->db, 0);
		sq_run(c, "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1", id, now, NULL, NULL, NULL);
		db_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
	}
	sq_release(s, c);
	return err;
}

json_t *store_user_json(const store_user *u)
{
	char created[32] = "";
	if (u->created_at)
		clock_format_iso(u->created_at, created, sizeof created);
	return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:s, s:b, s:b, s:o}", "id", (json_int_t)u->id, "email",
			 u->email, "name", u->name, "role", u->role, "employee_id",
			 u->employee_id ? json_integer(u->employee_id) : json_null(), "unit_id",
			 u->unit_id ? json_integer(u->unit_id) : json_null(), "language", u->language,
			 "disabled", u->disabled, "active", !u->disabled, "created_at",
			 created[0] ? json_string(created) : json_null());
}

/* Execute one write statement with bound values (text when txt[i] is set,
 * else the integer), inside its own transaction. */
static ks_err sq_write(ks_store *s, const char *sql, int n, const char *const *txt,
		       const int64_t *num, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	for (int i = 0; i < n; i++) {
		if (txt && txt[i])
			db_bind_text(st, i + 1, txt[i], -1, DB_STATIC);
		else if (num[i] != 0)
			db_bind_int64(st, i + 1, num[i]);
	}
	rc = db_step(st);
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	return err;
}

/* A foreign key failed on an account's links: say which (SQLite does not). */
static ks_err sq_user_ref(sq_conn *c, const store_user *u, ks_error *e)
{
	bool emp_ok = true;
	if (u->employee_id)
		sq_row_exists(c, "employees", u->employee_id, &emp_ok, NULL);
	return emp_ok ? ks_fail(e, KS_ERR_REF, "unit_id", "unit_id does not exist")
		      : ks_fail(e, KS_ERR_REF, "employee_id", "employee_id does not exist");
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
		sq_conn *c = sq_acquire(s);
		err = sq_user_ref(c, u, e);
		sq_release(s, c);
		return err;
	}
	if (err)
		return err;
	store_user tmp;
	err = store_user_by_email(s, u->email, &tmp, NULL, 0, e);
	if (!err)
		*u = tmp;
	return err;
}

/* Begin a write transaction on a pooled connection; *c is set either way
 * (release it with sq_end). */
static ks_err sq_begin(ks_store *s, sq_conn **c, ks_error *e)
{
	*c = sq_acquire(s);
	return sq_exec(*c, "BEGIN IMMEDIATE", e);
}

/* Commit when err is KS_OK (else sq_release rolls back), release, return err. */
static ks_err sq_end(ks_store *s, sq_conn *c, ks_err err, ks_error *e)
{
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

/* The account's state inside a transaction: KS_ERR_NOTFOUND when unknown
 * or deleted; *active_admin tells whether it is an active admin now. */
static ks_err sq_user_state(sq_conn *c, int64_t id, bool *active_admin, bool *disabled, ks_error *e)
{
	db_stmt *st;
	int rc = db_prepare(c->db,
				    "SELECT role = 'admin' AND disabled = 0, disabled FROM users"
				    " WHERE id = ?1 AND deleted_at IS NULL", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	ks_err err = KS_OK;
	if (rc == DB_ROW) {
		*active_admin = db_column_int(st, 0) != 0;
		*disabled = db_column_int(st, 1) != 0;
	} else {
		err = rc == DB_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such user") : sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

/* The account would stop being an active admin: another must remain.
 * Checked inside the write transaction, so two admins disabling each other
 * at once cannot both succeed. */
static ks_err sq_keep_an_admin(sq_conn *c, int64_t id, const char *field, const char *what, ks_error *e)
{
	int64_t others = 0;
	ks_err err = sq_run(c, sq_other_admins, id, 0, NULL, &others, e);
	if (!err && others == 0)
		err = ks_fail(e, KS_ERR_CONFLICT, field,
			      "this is the last active admin: it cannot be %s (make another account admin first)",
			      what);
	return err;
}

/* Sessions and tokens of a user, gone (inside the caller's transaction). */
static ks_err sq_end_access(sq_conn *c, int64_t id, int *sessions, int *tokens, ks_error *e)
{
	ks_err err = sq_run(c, "DELETE FROM sessions WHERE user_id = ?1", id, 0, sessions, NULL, e);
	if (!err)
		err = sq_run(c, "DELETE FROM api_tokens WHERE user_id = ?1", id, 0, tokens, NULL, e);
	return err;
}

static ks_err sq_user_write(sq_conn *c, const store_user *u, ks_error *e)
{
	db_stmt *st;
	int rc = db_prepare(c->db,
				    "UPDATE users SET name = ?2, role = ?3, language = ?4, employee_id = ?5,"
				    " unit_id = ?6, disabled = ?7 WHERE id = ?1", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_int64(st, 1, u->id);
	db_bind_text(st, 2, u->name, -1, DB_STATIC);
	db_bind_text(st, 3, u->role, -1, DB_STATIC);
	db_bind_text(st, 4, u->language[0] ? u->language : "nl", -1, DB_STATIC);
	sq_bind_id(st, 5, u->employee_id);
	sq_bind_id(st, 6, u->unit_id);
	db_bind_int(st, 7, u->disabled ? 1 : 0);
	rc = db_step(st);
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	return err == KS_ERR_REF ? sq_user_ref(c, u, e) : err;
}

/* An open case of nobody waits in its team's queue instead of with a
 * person who is gone or disabled; the version moves so a stale edit is
 * refused. Each move is a line of the case's history, as an owner change
 * to the queue (detail ''), with no acting user: the account's state moved
 * it, not a hand on the case. Inside the caller's transaction. */
static ks_err sq_cases_to_queue(sq_conn *c, int64_t id, int64_t now, int *moved, ks_error *e)
{
	ks_err err = sq_run(c, "INSERT INTO case_history (case_id, at, kind, detail)"
			    " SELECT id, ?2, 'owner', '' FROM cases"
			    " WHERE owner_user_id = ?1 AND status IN ('new','contacted')",
			    id, now, NULL, NULL, e);
	if (!err)
		err = sq_run(c, "UPDATE cases SET owner_user_id = NULL, version = version + 1, updated_at = ?2"
			     " WHERE owner_user_id = ?1 AND status IN ('new','contacted')",
			     id, now, moved, NULL, e);
	return err;
}

ks_err store_user_update(ks_store *s, const store_user *u, ks_error *e)
{
	sq_conn *c;
	bool was_admin = false, was_disabled = false;
	ks_err err = sq_begin(s, &c, e);
	if (!err)
		err = sq_user_state(c, u->id, &was_admin, &was_disabled, e);
	bool stays_admin = strcmp(u->role, "admin") == 0 && !u->disabled;
	if (!err && was_admin && !stays_admin)
		err = u->disabled ? sq_keep_an_admin(c, u->id, "active", "disabled", e)
				  : sq_keep_an_admin(c, u->id, "role", "given another role", e);
	if (!err)
		err = sq_user_write(c, u, e);
	if (!err && u->disabled && !was_disabled)
		err = sq_end_access(c, u->id, NULL, NULL, e);
	/* issue 13: a disabled account cannot act on its cases either; enabling
	 * it again gives none back (the queue may have handed them on). */
	if (!err && u->disabled && !was_disabled)
		err = sq_cases_to_queue(c, u->id, clock_now(s->clock), NULL, e);
	return sq_end(s, c, err, e);
}

ks_err store_user_delete(ks_store *s, int64_t id, store_user_deleted *out, ks_error *e)
{
	sq_conn *c;
	bool admin = false, disabled = false;
	store_user_deleted d = {0};
	int64_t actions = 0;
	int64_t now = clock_now(s->clock);
	ks_err err = sq_begin(s, &c, e);
	if (!err)
		err = sq_user_state(c, id, &admin, &disabled, e);
	if (!err && admin)
		err = sq_keep_an_admin(c, id, "id", "deleted", e);
	/* An open action needs an owner who can act on it: a tombstone cannot. */
	if (!err)
		err = sq_run(c, "SELECT count(*) FROM actions WHERE owner_id = ?1"
			     " AND status IN ('planned','in_progress')", id, 0, NULL, &actions, e);
	if (!err && actions > 0)
		err = ks_fail(e, KS_ERR_CONFLICT, "id",
			      "the account owns %lld open improvement action%s: give %s another owner first",
			      (long long)actions, actions == 1 ? "" : "s", actions == 1 ? "it" : "them");
	if (!err)
		err = sq_end_access(c, id, &d.sessions, &d.tokens, e);
	if (!err)
		err = sq_cases_to_queue(c, id, now, &d.cases_to_queue, e);
	if (!err)
		err = sq_run(c, "UPDATE users SET email = 'deleted-' || id || '@deleted.invalid',"
			     " name = 'deleted account ' || id, employee_id = NULL, unit_id = NULL,"
			     " password_hash = '!', disabled = 1, deleted_at = ?2 WHERE id = ?1",
			     id, now, NULL, NULL, e);
	err = sq_end(s, c, err, e);
	if (!err && out)
		*out = d;
	return err;
}

static ks_err sq_session_insert(sq_conn *c, const char *token_hash, int64_t user_id, const char *csrf,
				int64_t created_at, int64_t expires_at, ks_error *e)
{
	db_stmt *st;
	int rc = db_prepare(c->db,
				    "INSERT INTO sessions(token_hash, user_id, csrf, created_at, expires_at)"
				    " VALUES(?1,?2,?3,?4,?5)", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_text(st, 1, token_hash, -1, DB_STATIC);
	db_bind_int64(st, 2, user_id);
	db_bind_text(st, 3, csrf, -1, DB_STATIC);
	db_bind_int64(st, 4, created_at);
	db_bind_int64(st, 5, expires_at);
	rc = db_step(st);
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err store_user_set_password(ks_store *s, int64_t id, const char *password_hash,
			       const char *new_session_hash, const char *csrf, int64_t expires_at,
			       int *sessions_ended, int *tokens_revoked, ks_error *e)
{
	sq_conn *c;
	int changed = 0, sessions = 0, tokens = 0;
	ks_err err = sq_begin(s, &c, e);
	db_stmt *st = NULL;
	if (!err && db_prepare(c->db, "UPDATE users SET password_hash = ?2 WHERE id = ?1"
				       " AND deleted_at IS NULL", &st) != DB_OK)
		err = sq_fail(c, db_extended_errcode(c->db), e);
	if (!err) {
		db_bind_int64(st, 1, id);
		db_bind_text(st, 2, password_hash, -1, DB_STATIC);
		int rc = db_step(st);
		err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
		changed = db_changes(c->db);
	}
	db_finalize(st);
	if (!err && changed == 0)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such user");
	if (!err)
		err = sq_end_access(c, id, &sessions, &tokens, e);
	if (!err && new_session_hash)
		err = sq_session_insert(c, new_session_hash, id, csrf, clock_now(s->clock), expires_at, e);
	err = sq_end(s, c, err, e);
	if (!err && sessions_ended)
		*sessions_ended = sessions;
	if (!err && tokens_revoked)
		*tokens_revoked = tokens;
	return err;
}

ks_err store_session_create(ks_store *s, const char *token_hash, int64_t user_id, const char *csrf,
			    int64_t expires_at, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_session_insert(c, token_hash, user_id, csrf, clock_now(s->clock), expires_at, e);
	sq_release(s, c);
	return err;
}

ks_err store_session_delete(ks_store *s, const char *token_hash, ks_error *e)
{
	const char *txt[] = {token_hash};
	int64_t num[] = {0};
	return sq_write(s, "DELETE FROM sessions WHERE token_hash=?1", 1, txt, num, e);
}

ks_err store_session_sweep(ks_store *s, int64_t now, int *sessions, int *tokens, ks_error *e)
{
	int64_t token_cut = now - STORE_TOKEN_KEEP_EXPIRED;
	int64_t due = 0;
	int ns = 0, nt = 0;
	/* Look first on the read side: the pass runs every second and must not
	 * take the write lock for nothing. */
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_run(c, "SELECT EXISTS(SELECT 1 FROM sessions WHERE expires_at <= ?1)"
			    " OR EXISTS(SELECT 1 FROM api_tokens WHERE expires_at <= ?2)",
			    now, token_cut, NULL, &due, e);
	sq_release(s, c);
	if (!err && due) {
		err = sq_begin(s, &c, e);
		if (!err)
			err = sq_run(c, "DELETE FROM sessions WHERE expires_at <= ?1", now, 0, &ns, NULL, e);
		if (!err)
			err = sq_run(c, "DELETE FROM api_tokens WHERE expires_at <= ?1", token_cut, 0, &nt, NULL, e);
		err = sq_end(s, c, err, e);
	}
	if (!err && sessions)
		*sessions = ns;
	if (!err && tokens)
		*tokens = nt;
	return err;
}

/* ---- API tokens ---------------------------------------------------------------- */

static const char *const sq_token_cols =
	"SELECT t.id, t.user_id, u.email, t.name, t.created_at, t.expires_at, coalesce(t.last_used_at, 0)"
	" FROM api_tokens t JOIN users u ON u.id = t.user_id";

static void sq_token_row(db_stmt *st, void *elem)
{
	store_token *t = elem;
	memset(t, 0, sizeof *t);
	t->id = db_column_int64(st, 0);
	t->user_id = db_column_int64(st, 1);
	snprintf(t->user_email, sizeof t->user_email, "%s", (const char *)db_column_text(st, 2));
	snprintf(t->name, sizeof t->name, "%s", (const char *)db_column_text(st, 3));
	t->created_at = db_column_int64(st, 4);
	t->expires_at = db_column_int64(st, 5);
	t->last_used_at = db_column_int64(st, 6);
}

ks_err store_token_create(ks_store *s, const char *token_hash, int64_t user_id, const char *name,
			  int64_t expires_at, store_token *out, ks_error *e)
{
	int64_t now = clock_now(s->clock);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db,
				    "INSERT INTO api_tokens(token_hash, user_id, name, created_at, expires_at)"
				    " VALUES(?1,?2,?3,?4,?5)", &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	db_bind_text(st, 1, token_hash, -1, DB_STATIC);
	db_bind_int64(st, 2, user_id);
	db_bind_text(st, 3, name, -1, DB_STATIC);
	db_bind_int64(st, 4, now);
	db_bind_int64(st, 5, expires_at);
	rc = db_step(st);
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	int64_t id = db_last_insert_rowid(c->db);
	db_finalize(st);
	sq_release(s, c);
	if (!err && out)
		err = store_token_find(s, id, out, e);
	return err;
}

ks_err store_token_list(ks_store *s, int64_t user_id, store_token **out, size_t *n, ks_error *e)
{
	char sql[512];
	snprintf(sql, sizeof sql, "%s WHERE ?1 = 0 OR t.user_id = ?1 ORDER BY t.id", sq_token_cols);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	ks_err err;
	if (rc != DB_OK) {
		err = sq_fail(c, rc, e);
	} else {
		db_bind_int64(st, 1, user_id);
		void *v = NULL;
		err = sq_collect(c, st, sizeof(store_token), sq_token_row, 0, &v, n, NULL, e);
		*out = v;
	}
	sq_release(s, c);
	return err;
}

ks_err store_token_find(ks_store *s, int64_t id, store_token *out, ks_error *e)
{
	char sql[512];
	snprintf(sql, sizeof sql, "%s WHERE t.id = ?1", sq_token_cols);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	ks_err err = KS_OK;
	if (rc != DB_OK) {
		err = sq_fail(c, rc, e);
	} else {
		db_bind_int64(st, 1, id);
		rc = db_step(st);
		if (rc == DB_ROW)
			sq_token_row(st, out);
		else
			err = rc == DB_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such token")
						: sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_token_delete(ks_store *s, int64_t id, ks_error *e)
{
	int n = 0;
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_run(c, "DELETE FROM api_tokens WHERE id = ?1", id, 0, &n, NULL, e);
	sq_release(s, c);
	if (!err && n == 0)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such token");
	return err;
}

ks_err store_user_list(ks_store *s, json_t **out, ks_error *e)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM users u WHERE u.deleted_at IS NULL ORDER BY u.id",
		 sq_user_cols);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	json_t *items = json_array();
	store_user u;
	while ((rc = db_step(st)) == DB_ROW) {
		sq_user_row_full(st, &u, NULL, 0);
		json_array_append_new(items, store_user_json(&u));
	}
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o}", "items", items);
	return KS_OK;
}
