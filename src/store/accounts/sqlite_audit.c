/* sqlite_audit.c — the audit log on SQLite (issue 11): append and read.
 *
 * There is deliberately no update or delete here, and migration 012's
 * triggers refuse both, so an entry once committed stays as written.
 * An append is a BEGIN IMMEDIATE transaction on a pool connection, like
 * every administrative write; sq_audit_insert is the same insert inside a
 * caller's transaction (an erasure and its entry commit together).
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <string.h>

ks_err sq_audit_insert(ks_store *s, sq_conn *c, const store_audit_entry *a, ks_error *e)
{
	if (a->action == NULL || a->action[0] == '\0')
		return ks_fail(e, KS_ERR_INTERNAL, "action", "an audit entry needs an action");
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO audit_log(at, actor_user_id, client_addr, action, object_kind,"
			      " object_id, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->at ? a->at : clock_now(s->clock));
	sq_bind_id(st, 2, a->actor_user_id);
	db_bind_text(st, 3, a->client_addr ? a->client_addr : "", -1, DB_STATIC);
	db_bind_text(st, 4, a->action, -1, DB_STATIC);
	db_bind_text(st, 5, a->object_kind ? a->object_kind : "", -1, DB_STATIC);
	sq_bind_id(st, 6, a->object_id);
	db_bind_text(st, 7, a->detail ? a->detail : "{}", -1, DB_STATIC);
	return sq_cstep(c, st, e);
}

ks_err store_audit_append(ks_store *s, const store_audit_entry *a, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_audit_insert(s, c, a, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c); /* rolls back an open transaction */
	return err;
}

/* The pattern of an action filter: "case.*" -> the LIKE pattern "case.%"
 * with the wildcards of the text itself escaped, so only the trailing '*'
 * widens; without the '*' the text as it is, for an exact match. */
static void sq_audit_action_pattern(const char *action, char *out, size_t n, bool *prefix)
{
	size_t len = strlen(action);
	*prefix = len > 0 && action[len - 1] == '*';
	size_t j = 0;
	for (size_t i = 0; i < len - (*prefix ? 1 : 0) && j + 3 < n; i++) {
		if (*prefix && (action[i] == '%' || action[i] == '_' || action[i] == '\\'))
			out[j++] = '\\';
		out[j++] = action[i];
	}
	if (*prefix && j + 1 < n)
		out[j++] = '%';
	out[j] = '\0';
}

ks_err store_audit_scan(ks_store *s, const store_audit_query *q, store_audit_fn fn, void *arg,
			bool *more, ks_error *e)
{
	if (more)
		*more = false;
	if (q->limit < 1 || q->limit > 100000)
		return ks_fail(e, KS_ERR_RANGE, "limit", "limit must be 1..100000");
	char pattern[160] = "";
	bool prefix = false;
	if (q->action && q->action[0])
		sq_audit_action_pattern(q->action, pattern, sizeof pattern, &prefix);
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT id, at, coalesce(actor_user_id, 0), client_addr, action, object_kind,"
			      " coalesce(object_id, 0), detail FROM audit_log"
			      " WHERE (?1 IS NULL OR actor_user_id = ?1)"
			      "  AND (?2 = 0 OR actor_user_id IS NULL)"
			      "  AND (?3 IS NULL OR (?4 = 1 AND action LIKE ?3 ESCAPE '\\')"
			      "       OR (?4 = 0 AND action = ?3))"
			      "  AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6)"
			      "  AND (?7 IS NULL OR id < ?7)"
			      " ORDER BY id DESC LIMIT ?8",
			      &st, e);
	if (!err) {
		sq_bind_id(st, 1, q->actor_user_id);
		db_bind_int(st, 2, q->actor_none ? 1 : 0);
		if (pattern[0])
			db_bind_text(st, 3, pattern, -1, DB_STATIC);
		db_bind_int(st, 4, prefix ? 1 : 0);
		sq_bind_id(st, 5, q->from);
		sq_bind_id(st, 6, q->to);
		sq_bind_id(st, 7, q->before_id);
		db_bind_int64(st, 8, (int64_t)q->limit + 1);
		int rc, seen = 0;
		bool go = true;
		while (go && (rc = db_step(st)) == DB_ROW) {
			if (seen++ == q->limit) {
				if (more)
					*more = true;
				break;
			}
			store_audit_entry a = {
				.id = db_column_int64(st, 0),
				.at = db_column_int64(st, 1),
				.actor_user_id = db_column_int64(st, 2),
				.client_addr = sq_ctext(st, 3),
				.action = sq_ctext(st, 4),
				.object_kind = sq_ctext(st, 5),
				.object_id = db_column_int64(st, 6),
				.detail = sq_ctext(st, 7),
			};
			go = fn(arg, &a);
		}
		if (go && rc != DB_ROW && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}
