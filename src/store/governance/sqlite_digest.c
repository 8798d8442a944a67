/* sqlite_digest.c — scheduled digests per role (issue 17, part D). See
 * store_digest.h; tables in migrations/027_digests.sql. The outbox steps
 * (mark sending, record with backoff, recover) are sqlite_outbox.c's. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static const sq_outbox sq_digest_mails = {"digest_mails", "status", STORE_DIGEST_MAX_ATTEMPTS, false, 0};

/* ---- settings --------------------------------------------------------------------------- */

ks_err store_digest_settings_get(ks_store *s, store_digest_setting out[STORE_DIGEST_ROLES], ks_error *e)
{
	memset(out, 0, sizeof *out * STORE_DIGEST_ROLES);
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT role, cadence, enabled, weekday, day_of_month, hour, coalesce(last_period, ''),"
			      " coalesce(updated_by, 0), updated_at FROM digest_settings"
			      " ORDER BY CASE role WHEN 'employee' THEN 0 WHEN 'team_lead' THEN 1"
			      " WHEN 'manager' THEN 2 ELSE 3 END",
			      &st, e);
	int i = 0, rc = DB_DONE;
	while (!err && i < STORE_DIGEST_ROLES && (rc = db_step(st)) == DB_ROW) {
		store_digest_setting *d = &out[i++];
		snprintf(d->role, sizeof d->role, "%s", sq_ctext(st, 0));
		snprintf(d->cadence, sizeof d->cadence, "%s", sq_ctext(st, 1));
		d->enabled = db_column_int(st, 2) != 0;
		d->weekday = db_column_int(st, 3);
		d->day_of_month = db_column_int(st, 4);
		d->hour = db_column_int(st, 5);
		snprintf(d->last_period, sizeof d->last_period, "%s", sq_ctext(st, 6));
		d->updated_by = db_column_int64(st, 7);
		d->updated_at = db_column_int64(st, 8);
	}
	if (!err && rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	if (!err && i != STORE_DIGEST_ROLES)
		err = ks_fail(e, KS_ERR_INTERNAL, NULL, "digest_settings holds %d of its 4 rows", i);
	db_finalize(st);
	sq_release(s, c);
	return err;
}

typedef struct sq_dg_put {
	const store_digest_setting *in;
	size_t n;
	int64_t by, now;
} sq_dg_put;

static ks_err sq_dg_put_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_dg_put *a = arg;
	ks_err err = KS_OK;
	for (size_t i = 0; !err && i < a->n; i++) {
		const store_digest_setting *d = &a->in[i];
		db_stmt *st = NULL;
		err = sq_cprep(c,
			       "UPDATE digest_settings SET enabled = ?2, weekday = ?3, day_of_month = ?4, hour = ?5,"
			       " updated_by = ?6, updated_at = ?7 WHERE role = ?1",
			       &st, e);
		if (err)
			break;
		db_bind_text(st, 1, d->role, -1, DB_STATIC);
		db_bind_int(st, 2, d->enabled ? 1 : 0);
		db_bind_int(st, 3, d->weekday);
		db_bind_int(st, 4, d->day_of_month);
		db_bind_int(st, 5, d->hour);
		sq_bind_id(st, 6, a->by);
		db_bind_int64(st, 7, a->now);
		err = sq_cstep(c, st, e);
		if (!err && db_changes(c->db) != 1)
			err = ks_fail(e, KS_ERR_NOTFOUND, "role", "no digest for role '%s'", d->role);
	}
	return err;
}

ks_err store_digest_settings_put(ks_store *s, const store_digest_setting *in, size_t n, int64_t by,
				 int64_t now, ks_error *e)
{
	sq_dg_put a = {in, n, by, now};
	return sq_write_tx(s, sq_dg_put_tx, &a, e);
}

/* ---- queueing ---------------------------------------------------------------------------- */

typedef struct sq_dg_queue {
	const char *role, *period;
	bool schedule;
	int64_t now;
	int queued;
} sq_dg_queue;

/* The users a digest of role goes to: active, with an address, and with
 * something to tell about: an employee linked to their employee record, a
 * team lead or manager with a unit (without one the digest would be
 * empty). */
#define SQ_DG_RECIPIENTS                                                                          \
	" FROM users u WHERE u.role = ?1 AND u.disabled = 0 AND u.deleted_at IS NULL"              \
	" AND %s"                                                                                  \
	" AND (u.role <> 'employee' OR u.employee_id IS NOT NULL)"                                 \
	" AND (u.role NOT IN ('team_lead', 'manager') OR u.unit_id IS NOT NULL)"

static ks_err sq_dg_queue_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_dg_queue *a = arg;
	db_stmt *st = NULL;
	ks_err err;
	if (a->schedule) {
		/* the schedule's once-per-period step, in this transaction */
		err = sq_cprep(c,
			       "UPDATE digest_settings SET last_period = ?2 WHERE role = ?1"
			       " AND coalesce(last_period, '') <> ?2",
			       &st, e);
		if (err)
			return err;
		db_bind_text(st, 1, a->role, -1, DB_STATIC);
		db_bind_text(st, 2, a->period, -1, DB_STATIC);
		err = sq_cstep(c, st, e);
		if (err || db_changes(c->db) == 0)
			return err;
	}
	/* users.email is COLLATE nocase: on PostgreSQL a nondeterministic
	 * (ICU) collation, under which strpos() refuses to search ("not
	 * supported for substring searches"); the '@' is looked for under "C"
	 * there, a name SQLite does not know (issue 18). */
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "INSERT OR IGNORE INTO digest_mails (user_id, role, unit_id, employee_id, period,"
		 " next_attempt_at, message_id, created_at)"
		 " SELECT u.id, ?1, u.unit_id, u.employee_id, ?2, ?3,"
		 " 'digest-' || ?2 || '-' || u.id || '-' || lower(hex(randomblob(8))), ?3"
		 SQ_DG_RECIPIENTS
		 " AND NOT EXISTS (SELECT 1 FROM digest_prefs p WHERE p.user_id = u.id AND p.opted_out = 1)"
		 " ORDER BY u.id",
		 db_conn_kind(c->db) == DB_POSTGRES ? "instr(u.email COLLATE \"C\", '@') > 1"
						    : "instr(u.email, '@') > 1");
	err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, a->role, -1, DB_STATIC);
	db_bind_text(st, 2, a->period, -1, DB_STATIC);
	db_bind_int64(st, 3, a->now);
	err = sq_cstep(c, st, e);
	if (!err)
		a->queued = db_changes(c->db);
	return err;
}

ks_err store_digest_queue(ks_store *s, const char *role, const char *period, bool schedule, int64_t now,
			  int *queued, ks_error *e)
{
	sq_dg_queue a = {role, period, schedule, now, 0};
	*queued = 0;
	if (schedule) {
		/* a cheap look first: the pass comes every second */
		store_digest_setting set[STORE_DIGEST_ROLES];
		ks_err err = store_digest_settings_get(s, set, e);
		if (err)
			return err;
		for (int i = 0; i < STORE_DIGEST_ROLES; i++)
			if (strcmp(set[i].role, role) == 0 && strcmp(set[i].last_period, period) == 0)
				return KS_OK;
	}
	ks_err err = sq_write_tx(s, sq_dg_queue_tx, &a, e);
	if (!err)
		*queued = a.queued;
	return err;
}

/* ---- the outbox -------------------------------------------------------------------------- */

typedef struct sq_dg_claim {
	int64_t now;
	store_digest_job *jobs;
	int max, n;
} sq_dg_claim;

/* Why a claimed row is not sent ("" = it is): the user left, or their
 * role or scope is no longer the one the row was queued for (its content
 * follows the queued role: a demoted director must not get the
 * organisation's figures). */
static const char *sq_dg_skip(db_stmt *st, const store_digest_job *j)
{
	const char *now_role = sq_ctext(st, 13);
	bool scoped = strcmp(j->role, "team_lead") == 0 || strcmp(j->role, "manager") == 0;
	if (db_column_int(st, 11))
		return "the user opted out of digests";
	if (db_column_int(st, 12))
		return "the account is disabled or deleted";
	if (strchr(j->to_email, '@') == NULL)
		return "the user has no e-mail address";
	if (strcmp(now_role, j->role) != 0)
		return "the user's role changed since it was queued";
	if (scoped && j->unit_id == 0)
		return "the user has no unit";
	if (scoped && db_column_int(st, 14))
		return "the user's unit changed since it was queued";
	if (strcmp(j->role, "employee") == 0 && j->employee_id == 0)
		return "the user has no employee record";
	if (strcmp(j->role, "employee") == 0 && db_column_int(st, 15))
		return "the user's employee record changed since queued";
	return "";
}

static void sq_dg_job_row(db_stmt *st, store_digest_job *j)
{
	memset(j, 0, sizeof *j);
	j->id = db_column_int64(st, 0);
	j->user_id = db_column_int64(st, 1);
	snprintf(j->role, sizeof j->role, "%s", sq_ctext(st, 2));
	snprintf(j->period, sizeof j->period, "%s", sq_ctext(st, 3));
	j->attempts = db_column_int(st, 4) + 1;
	snprintf(j->message_id, sizeof j->message_id, "%s", sq_ctext(st, 5));
	snprintf(j->to_email, sizeof j->to_email, "%s", sq_ctext(st, 6));
	snprintf(j->name, sizeof j->name, "%s", sq_ctext(st, 7));
	snprintf(j->language, sizeof j->language, "%s", strcmp(sq_ctext(st, 8), "en") == 0 ? "en" : "nl");
	j->unit_id = db_column_int64(st, 9);
	j->employee_id = db_column_int64(st, 10);
	snprintf(j->skip, sizeof j->skip, "%s", sq_dg_skip(st, j));
}

/* The lower-hex SHA-256 of an unsubscribe token: what the store keeps. */
static void sq_dg_token_hash(const char *token, char out[2 * crypto_hash_sha256_BYTES + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(out, 2 * crypto_hash_sha256_BYTES + 1, h, sizeof h);
}

/* A fresh token for the job's link (32 lower-hex characters); its hash
 * names the user from now on. */
static ks_err sq_dg_token_new(sq_conn *c, store_digest_job *j, int64_t now, ks_error *e)
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(j->unsubscribe_token, sizeof j->unsubscribe_token, raw, sizeof raw);
	char hash[2 * crypto_hash_sha256_BYTES + 1];
	sq_dg_token_hash(j->unsubscribe_token, hash);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "INSERT INTO digest_unsub_tokens (token_hash, user_id, created_at) VALUES (?1, ?2, ?3)",
			      &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, hash, -1, DB_TRANSIENT);
	db_bind_int64(st, 2, j->user_id);
	db_bind_int64(st, 3, now);
	return sq_cstep(c, st, e);
}

static ks_err sq_dg_claim_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_dg_claim *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT m.id, m.user_id, m.role, m.period, m.attempts, m.message_id,"
			      " coalesce(u.email, ''), coalesce(u.name, ''), coalesce(u.language, 'nl'),"
			      " coalesce(u.unit_id, 0), coalesce(u.employee_id, 0),"
			      " coalesce(p.opted_out, 0),"
			      " u.id IS NULL OR u.disabled <> 0 OR u.deleted_at IS NOT NULL,"
			      " coalesce(u.role, ''), m.unit_id IS DISTINCT FROM u.unit_id, m.employee_id IS DISTINCT FROM u.employee_id"
			      " FROM digest_mails m LEFT JOIN users u ON u.id = m.user_id"
			      " LEFT JOIN digest_prefs p ON p.user_id = m.user_id"
			      " WHERE m.status = 'pending' AND m.next_attempt_at <= ?1"
			      " ORDER BY m.next_attempt_at, m.id LIMIT ?2",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->now);
	db_bind_int(st, 2, a->max);
	int rc = DB_DONE;
	while (a->n < a->max && (rc = db_step(st)) == DB_ROW)
		sq_dg_job_row(st, &a->jobs[a->n++]);
	if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	/* issue 18 (review): a row another node claimed first (0 rows
	 * changed: the claim changes only a row still pending and due) is
	 * left out, and gets no token; the claimed ones keep their order */
	int kept = 0;
	for (int i = 0; !err && i < a->n; i++) {
		err = sq_outbox_mark_sending(c, &sq_digest_mails, a->jobs[i].id, a->jobs[i].attempts, a->now, e);
		if (err || db_changes(c->db) == 0)
			continue;
		if (kept != i)
			a->jobs[kept] = a->jobs[i];
		if (!a->jobs[kept].skip[0])
			err = sq_dg_token_new(c, &a->jobs[kept], a->now, e);
		kept++;
	}
	if (!err)
		a->n = kept;
	return err;
}

ks_err store_digest_claim(ks_store *s, int64_t now, store_digest_job *jobs, int max, int *n, ks_error *e)
{
	*n = 0;
	sq_conn *c = sq_acquire(s);
	int64_t any = 0;
	ks_err err = sq_one_id(c, "SELECT 1 FROM digest_mails WHERE status = 'pending' AND next_attempt_at <= ?1"
				  " LIMIT 1",
			       now, &any, e);
	sq_release(s, c);
	if (err || !any)
		return err;
	sq_dg_claim a = {.now = now, .jobs = jobs, .max = max};
	err = sq_write_tx(s, sq_dg_claim_tx, &a, e);
	*n = err ? 0 : a.n;
	return err;
}

ks_err store_digest_record(ks_store *s, const store_digest_job *j, store_send_outcome outcome,
			   const char *detail, int64_t now, ks_error *e)
{
	return sq_outbox_record_one(s, &sq_digest_mails, j->id, j->attempts, outcome, detail, now, e);
}

typedef struct sq_dg_release {
	const store_digest_job *jobs;
	int n;
} sq_dg_release;

static ks_err sq_dg_release_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_dg_release *a = arg;
	ks_err err = KS_OK;
	for (int i = 0; !err && i < a->n; i++) {
		db_stmt *st = NULL;
		err = sq_cprep(c,
			       "UPDATE digest_mails SET status = 'pending', attempts = ?2"
			       " WHERE id = ?1 AND status = 'sending'",
			       &st, e);
		if (err)
			break;
		db_bind_int64(st, 1, a->jobs[i].id);
		db_bind_int(st, 2, a->jobs[i].attempts - 1);
		err = sq_cstep(c, st, e);
	}
	return err;
}

ks_err store_digest_release(ks_store *s, const store_digest_job *jobs, int n, ks_error *e)
{
	sq_dg_release a = {jobs, n};
	return n > 0 ? sq_write_tx(s, sq_dg_release_tx, &a, e) : KS_OK;
}

ks_err store_digest_recover(ks_store *s, int *n, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_outbox_recover(c, &sq_digest_mails, n, e);
	sq_release(s, c);
	return err;
}

static json_t *sq_dg_mail_json(db_stmt *st)
{
	const char *le = (const char *)db_column_text(st, 8);
	return json_pack("{s:I, s:{s:I, s:s, s:s}, s:s, s:s, s:s, s:i, s:o, s:o, s:o}", "id",
			 (json_int_t)db_column_int64(st, 0), "user", "id", (json_int_t)db_column_int64(st, 1),
			 "name", sq_ctext(st, 2), "email", sq_ctext(st, 3), "role", sq_ctext(st, 4), "period",
			 sq_ctext(st, 5), "status", sq_ctext(st, 6), "attempts", db_column_int(st, 7), "last_error",
			 le ? json_string(le) : json_null(), "created_at", sq_iso_or_null(db_column_int64(st, 9)),
			 "sent_at", sq_iso_or_null(db_column_int64(st, 10)));
}

ks_err store_digest_list(ks_store *s, const char *status, int limit, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT m.id, m.user_id, coalesce(u.name, ''), coalesce(u.email, ''), m.role, m.period,"
			      " m.status, m.attempts, CASE WHEN m.status <> 'sent' THEN m.last_error END, m.created_at,"
			      " coalesce(m.sent_at, 0)"
			      " FROM digest_mails m LEFT JOIN users u ON u.id = m.user_id"
			      " WHERE ?1 IS NULL OR m.status = ?1 ORDER BY m.id DESC LIMIT ?2",
			      &st, e);
	json_t *items = json_array();
	if (!err) {
		if (status)
			db_bind_text(st, 1, status, -1, DB_STATIC);
		db_bind_int(st, 2, limit);
		err = sq_json_rows(c, st, sq_dg_mail_json, items, e);
	}
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o}", "items", items);
	return KS_OK;
}

/* ---- a user's own choice and the unsubscribe link ---------------------------------------- */

ks_err store_digest_optout_get(ks_store *s, int64_t user_id, bool *opted_out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	int64_t v = 0;
	ks_err err = sq_one_id(c, "SELECT opted_out FROM digest_prefs WHERE user_id = ?1", user_id, &v, e);
	sq_release(s, c);
	*opted_out = v != 0;
	return err;
}

typedef struct sq_dg_opt {
	int64_t user_id;
	bool opted_out;
	int64_t now;
} sq_dg_opt;

static ks_err sq_dg_opt_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_dg_opt *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO digest_prefs (user_id, opted_out, updated_at) VALUES (?1, ?2, ?3)"
			      " ON CONFLICT (user_id) DO UPDATE SET opted_out = ?2, updated_at = ?3",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->user_id);
	db_bind_int(st, 2, a->opted_out ? 1 : 0);
	db_bind_int64(st, 3, a->now);
	return sq_cstep(c, st, e);
}

ks_err store_digest_optout_set(ks_store *s, int64_t user_id, bool opted_out, int64_t now, ks_error *e)
{
	sq_dg_opt a = {user_id, opted_out, now};
	return sq_write_tx(s, sq_dg_opt_tx, &a, e);
}

typedef struct sq_dg_unsub {
	const char *token;
	bool apply;
	int64_t now, user_id;
	char language[3];
} sq_dg_unsub;

static ks_err sq_dg_unsub_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_dg_unsub *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT t.user_id, coalesce(u.language, 'nl') FROM digest_unsub_tokens t"
			      " LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?1",
			      &st, e);
	if (err)
		return err;
	char hash[2 * crypto_hash_sha256_BYTES + 1];
	sq_dg_token_hash(a->token, hash);
	db_bind_text(st, 1, hash, -1, DB_TRANSIENT);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		a->user_id = db_column_int64(st, 0);
		snprintf(a->language, sizeof a->language, "%s", strcmp(sq_ctext(st, 1), "en") == 0 ? "en" : "nl");
	} else if (rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	if (!err && a->user_id == 0)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "unknown unsubscribe link");
	if (err || !a->apply)
		return err;
	return sq_dg_opt_tx(s, c, &(sq_dg_opt){a->user_id, true, a->now}, e);
}

ks_err store_digest_unsubscribe(ks_store *s, const char *token, bool apply, int64_t now, int64_t *user_id,
				char language[3], ks_error *e)
{
	sq_dg_unsub a = {.token = token, .apply = apply, .now = now};
	ks_err err = sq_write_tx(s, sq_dg_unsub_tx, &a, e);
	if (!err && user_id)
		*user_id = a.user_id;
	if (!err && language)
		snprintf(language, 3, "%s", a.language);
	return err;
}

/* ---- what the digests tell ---------------------------------------------------------------- */

static json_t *sq_dg_compliment_json(db_stmt *st)
{
	const char *note = (const char *)db_column_text(st, 1);
	return json_pack("{s:s, s:o, s:s, s:I, s:s, s:o}", "text", sq_ctext(st, 0), "note",
			 note && note[0] ? json_string(note) : json_null(), "from", sq_ctext(st, 2), "from_user_id",
			 (json_int_t)db_column_int64(st, 5), "employee", sq_ctext(st, 3), "created_at",
			 sq_iso_or_null(db_column_int64(st, 4)));
}

ks_err store_digest_compliments(ks_store *s, int64_t employee_id, int64_t team_id, int64_t from, int64_t to,
				int limit, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "WITH RECURSIVE sub(id) AS (SELECT ?2 WHERE ?2 <> 0"
			      "  UNION SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id)"
			      " SELECT coalesce(r.open_text, ''), k.note, coalesce(fu.name, ''),"
			      " coalesce(em.first_name || ' ' || em.last_name, ''), k.created_at,"
			      " coalesce(k.from_user_id, 0)"
			      " FROM compliments k JOIN employees em ON em.id = k.employee_id"
			      " LEFT JOIN responses r ON r.id = k.response_id"
			      " LEFT JOIN users fu ON fu.id = k.from_user_id"
			      " WHERE k.created_at >= ?3 AND k.created_at < ?4"
			      " AND (CASE WHEN ?1 <> 0 THEN k.employee_id = ?1"
			      "      ELSE em.team_id IN (SELECT id FROM sub) END)"
			      " ORDER BY k.created_at DESC, k.id DESC LIMIT ?5",
			      &st, e);
	json_t *items = json_array();
	if (!err) {
		db_bind_int64(st, 1, employee_id);
		db_bind_int64(st, 2, team_id);
		db_bind_int64(st, 3, from);
		db_bind_int64(st, 4, to);
		db_bind_int(st, 5, limit);
		err = sq_json_rows(c, st, sq_dg_compliment_json, items, e);
	}
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = items;
	return KS_OK;
}
