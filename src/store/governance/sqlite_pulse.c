/* sqlite_pulse.c — the employee pulse's SQL (store_pulse.h; schema in
 * migrations/026_pulse.sql). The anonymity rules live in the schema (what
 * an answer row can hold) and in store_pulse_answer_submit (what it is
 * given); results rules are src/pulse/pulse.c's.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SQ_PULSE_MAX_ATTEMPTS 8
#define SQ_PULSE_RECLAIM_S 600 /* a claim never recorded (a crash) is due again */

static const sq_outbox sq_pulse_mails = {"pulse_invitations", "status", SQ_PULSE_MAX_ATTEMPTS, true,
					 SQ_PULSE_RECLAIM_S};

/* ---- settings ---------------------------------------------------------------- */

static void sq_pulse_copy(char *dst, size_t n, db_stmt *st, int col)
{
	snprintf(dst, n, "%s", sq_ctext(st, col));
}

ks_err store_pulse_settings_get(ks_store *s, store_pulse_settings *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "SELECT enabled, cadence_days, open_days, min_group, min_group_comments, language,"
			      " enps_nl, enps_en, item1_nl, item1_en, item2_nl, item2_en, coalesce(item3_nl, ''),"
			      " coalesce(item3_en, ''), open_nl, open_en, coalesce(updated_by, 0),"
			      " coalesce(updated_at, 0) FROM pulse_settings WHERE id = 1",
			      &st, e);
	if (!err) {
		int rc = db_step(st);
		if (rc == DB_ROW) {
			out->enabled = db_column_int(st, 0) != 0;
			out->cadence_days = db_column_int(st, 1);
			out->open_days = db_column_int(st, 2);
			out->min_group = db_column_int(st, 3);
			out->min_group_comments = db_column_int(st, 4);
			sq_pulse_copy(out->language, sizeof out->language, st, 5);
			for (int l = 0; l < 2; l++) {
				sq_pulse_copy(out->enps[l], sizeof out->enps[l], st, 6 + l);
				for (int i = 0; i < STORE_PULSE_ITEMS; i++)
					sq_pulse_copy(out->item[i][l], sizeof out->item[i][l], st, 8 + 2 * i + l);
				sq_pulse_copy(out->open[l], sizeof out->open[l], st, 14 + l);
			}
			out->updated_by = db_column_int64(st, 16);
			out->updated_at = db_column_int64(st, 17);
		} else {
			err = rc == DB_DONE ? ks_fail(e, KS_ERR_INTERNAL, NULL, "pulse settings row missing")
						: sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_pulse_settings_put(ks_store *s, const store_pulse_settings *in, int64_t now, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "UPDATE pulse_settings SET enabled = ?1, cadence_days = ?2, open_days = ?3,"
			      " min_group = ?4, min_group_comments = ?5, language = ?6, enps_nl = ?7, enps_en = ?8,"
			      " item1_nl = ?9, item1_en = ?10, item2_nl = ?11, item2_en = ?12, item3_nl = ?13,"
			      " item3_en = ?14, open_nl = ?15, open_en = ?16, updated_by = ?17, updated_at = ?18"
			      " WHERE id = 1",
			      &st, e);
	if (!err) {
		db_bind_int(st, 1, in->enabled);
		db_bind_int(st, 2, in->cadence_days);
		db_bind_int(st, 3, in->open_days);
		db_bind_int(st, 4, in->min_group);
		db_bind_int(st, 5, in->min_group_comments);
		db_bind_text(st, 6, in->language, -1, DB_STATIC);
		for (int l = 0; l < 2; l++) {
			db_bind_text(st, 7 + l, in->enps[l], -1, DB_STATIC);
			for (int i = 0; i < STORE_PULSE_ITEMS; i++)
				if (in->item[i][l][0])
					db_bind_text(st, 9 + 2 * i + l, in->item[i][l], -1, DB_STATIC);
			db_bind_text(st, 15 + l, in->open[l], -1, DB_STATIC);
		}
		sq_bind_id(st, 17, in->updated_by);
		db_bind_int64(st, 18, now);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	sq_storage_failed(s, err);
	return err;
}

/* ---- waves ---------------------------------------------------------------------- */

void store_pulse_wave_clear(store_pulse_wave *w)
{
	json_decref(w->questions);
	w->questions = NULL;
}

static json_t *sq_pulse_pair(const char *nl, const char *en)
{
	return json_pack("{s:s, s:s}", "nl", nl, "en", en);
}

/* The settings' question texts as a wave keeps them. */
static json_t *sq_pulse_questions(const store_pulse_settings *p)
{
	json_t *items = json_array();
	for (int i = 0; i < STORE_PULSE_ITEMS; i++)
		if (p->item[i][0][0])
			json_array_append_new(items, sq_pulse_pair(p->item[i][0], p->item[i][1]));
	return json_pack("{s:o, s:o, s:o}", "enps", sq_pulse_pair(p->enps[0], p->enps[1]), "items", items,
			 "open", sq_pulse_pair(p->open[0], p->open[1]));
}

/* Mark the wave's teams: changed when someone joined in the 28 days before
 * the opening while others were there before — so that known answers of
 * people put into a team cannot be subtracted from its figure. Per
 * invitee: fresh = created in the window and never invited before (a new
 * hire); joined = fresh, or invited in a recent wave under another team,
 * or not invited under this team in the previous wave (when that opened
 * within two windows). A team is changed when someone joined and someone
 * is not fresh: a team made only of new hires (a new installation) is not
 * — the limit of what an admin who controls the employee list can do,
 * docs/PRIVACY.md. */
#define SQ_PULSE_CHANGE_WINDOW (28 * 86400)

static ks_err sq_pulse_wave_teams(sq_conn *c, int64_t wave_id, int64_t now, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      /* fresh and moved as 0/1 (CASE): PostgreSQL has booleans,
			       * which neither min() nor an integer column takes */
			      "WITH inv AS (SELECT i.team_id AS team,"
			      "  CASE WHEN em.created_at > ?2 - ?3 AND em.created_at <= ?2 AND NOT EXISTS (SELECT 1"
			      "   FROM pulse_invitations j WHERE j.employee_id = i.employee_id AND j.wave_id <> ?1)"
			      "   THEN 1 ELSE 0 END AS fresh,"
			      "  CASE WHEN EXISTS (SELECT 1 FROM pulse_invitations j JOIN pulse_waves w ON w.id = j.wave_id"
			      "    WHERE j.employee_id = i.employee_id AND j.wave_id <> ?1 AND j.team_id IS DISTINCT FROM i.team_id"
			      "    AND w.opened_at >= coalesce((SELECT max(opened_at) FROM pulse_waves"
			      "     WHERE id <> ?1 AND opened_at <= ?2 - ?3), 0))"
			      "   OR (?4 > 0 AND (SELECT opened_at FROM pulse_waves WHERE id = ?4) > ?2 - 2 * ?3"
			      "    AND NOT EXISTS (SELECT 1 FROM pulse_invitations j WHERE j.wave_id = ?4"
			      "     AND j.employee_id = i.employee_id AND j.team_id = i.team_id)) THEN 1 ELSE 0 END AS moved"
			      "  FROM pulse_invitations i JOIN employees em ON em.id = i.employee_id"
			      "  WHERE i.wave_id = ?1 AND i.team_id IS NOT NULL)"
			      " INSERT INTO pulse_wave_teams (wave_id, team_id, changed)"
			      " SELECT ?1, team, CASE WHEN max(fresh + moved) >= 1 AND min(fresh) = 0 THEN 1 ELSE 0 END"
			      " FROM inv GROUP BY team",
			      &st, e);
	if (err)
		return err;
	/* the previous wave (0 = none) */
	int64_t prev = 0;
	db_stmt *pq;
	err = sq_cprep(c, "SELECT coalesce(max(id), 0) FROM pulse_waves WHERE id < ?1", &pq, e);
	if (!err) {
		db_bind_int64(pq, 1, wave_id);
		err = sq_cfirst(c, pq, &prev, e);
	}
	if (err) {
		db_finalize(st);
		return err;
	}
	db_bind_int64(st, 1, wave_id);
	db_bind_int64(st, 2, now);
	db_bind_int64(st, 3, SQ_PULSE_CHANGE_WINDOW);
	db_bind_int64(st, 4, prev);
	return sq_cstep(c, st, e);
}

static ks_err sq_pulse_open_in(ks_store *s, sq_conn *c, const store_pulse_settings *p, int64_t now,
			       bool scheduled, int64_t user_id, int64_t *wave_id, ks_error *e)
{
	(void)s;
	int64_t open = 0;
	ks_err err = sq_one_id(c, "SELECT count(*) FROM pulse_waves WHERE status = 'open' AND id > ?1", 0, &open, e);
	if (err)
		return err;
	if (open)
		return ks_fail(e, KS_ERR_CONFLICT, NULL, "a pulse wave is open already: close it first");
	json_t *q = sq_pulse_questions(p);
	char *qtext = q ? json_dumps(q, JSON_COMPACT) : NULL;
	json_decref(q);
	if (qtext == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	db_stmt *st;
	err = sq_cprep(c,
		       "INSERT INTO pulse_waves (period, opened_at, closes_at, scheduled, questions, created_by)"
		       " VALUES (ks_local_month(?1), ?1, ?2, ?3, ?4, ?5)",
		       &st, e);
	if (!err) {
		db_bind_int64(st, 1, now);
		db_bind_int64(st, 2, now + (int64_t)p->open_days * 86400);
		db_bind_int(st, 3, scheduled);
		db_bind_text(st, 4, qtext, -1, DB_STATIC);
		sq_bind_id(st, 5, user_id);
		err = sq_cstep(c, st, e);
	}
	free(qtext);
	if (err)
		return err;
	*wave_id = db_last_insert_rowid(c->db);
	/* every active employee with an address and a team (an answer is
	 * filed under a team; without one it could not be counted); the
	 * account's language when they have one */
	err = sq_cprep(c,
		       "INSERT INTO pulse_invitations (wave_id, employee_id, team_id, language, next_attempt_at)"
		       " SELECT ?1, em.id, em.team_id, coalesce((SELECT u.language FROM users u"
		       "  WHERE u.employee_id = em.id AND u.deleted_at IS NULL ORDER BY u.id LIMIT 1), ?2), ?3"
		       " FROM employees em JOIN org_units ou ON ou.id = em.team_id"
		       " WHERE em.active = 1 AND em.email IS NOT NULL AND em.email <> ''"
		       " ORDER BY em.id",
		       &st, e);
	if (!err) {
		db_bind_int64(st, 1, *wave_id);
		db_bind_text(st, 2, p->language, -1, DB_STATIC);
		db_bind_int64(st, 3, now);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_pulse_wave_teams(c, *wave_id, now, e);
	if (!err) {
		err = sq_cprep(c,
			       "UPDATE pulse_waves SET invited = (SELECT count(*) FROM pulse_invitations"
			       " WHERE wave_id = ?1) WHERE id = ?1",
			       &st, e);
		if (!err) {
			db_bind_int64(st, 1, *wave_id);
			err = sq_cstep(c, st, e);
		}
	}
	return err;
}

ks_err store_pulse_wave_open(ks_store *s, int64_t now, bool scheduled, int64_t user_id, int64_t *wave_id,
			     ks_error *e)
{
	*wave_id = 0;
	store_pulse_settings *p = malloc(sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = store_pulse_settings_get(s, p, e);
	if (err) {
		free(p);
		return err;
	}
	sq_conn *c = sq_acquire(s);
	err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err) {
		err = sq_pulse_open_in(s, c, p, now, scheduled, user_id, wave_id, e);
		if (!err)
			err = sq_exec(c, "COMMIT", e);
		if (err) {
			sq_exec(c, "ROLLBACK", NULL);
			*wave_id = 0;
		}
	}
	sq_release(s, c);
	sq_storage_failed(s, err);
	free(p);
	return err;
}

#define SQ_PULSE_WAVE_COLS                                                                               \
	"w.id, w.period, w.opened_at, w.closes_at, w.status, w.scheduled, w.questions, w.invited,"       \
	" w.answered, (SELECT count(*) FROM pulse_invitations i WHERE i.wave_id = w.id AND"              \
	" i.status = 'sent'), (SELECT count(*) FROM pulse_invitations i WHERE i.wave_id = w.id AND"      \
	" i.status = 'failed'), w.finalised"

static void sq_pulse_wave_row(db_stmt *st, void *elem)
{
	store_pulse_wave *w = elem;
	memset(w, 0, sizeof *w);
	w->id = db_column_int64(st, 0);
	sq_pulse_copy(w->period, sizeof w->period, st, 1);
	w->opened_at = db_column_int64(st, 2);
	w->closes_at = db_column_int64(st, 3);
	sq_pulse_copy(w->status, sizeof w->status, st, 4);
	w->scheduled = db_column_int(st, 5) != 0;
	w->questions = json_loads(sq_ctext(st, 6), 0, NULL);
	w->invited = db_column_int64(st, 7);
	w->answered = db_column_int64(st, 8);
	w->mail_sent = db_column_int64(st, 9);
	w->mail_failed = db_column_int64(st, 10);
	w->finalised = db_column_int(st, 11) != 0;
}

ks_err store_pulse_wave_get(ks_store *s, int64_t id, store_pulse_wave *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT " SQ_PULSE_WAVE_COLS " FROM pulse_waves w WHERE w.id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		int rc = db_step(st);
		if (rc == DB_ROW)
			sq_pulse_wave_row(st, out);
		else
			err = rc == DB_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "pulse wave %lld not found",
							  (long long)id)
						: sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_pulse_wave_list(ks_store *s, const char *from, const char *to, size_t max,
			     store_pulse_wave **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "SELECT " SQ_PULSE_WAVE_COLS " FROM pulse_waves w"
			      " WHERE (?1 IS NULL OR w.period >= ?1) AND (?2 IS NULL OR w.period <= ?2)"
			      " ORDER BY w.opened_at DESC, w.id DESC",
			      &st, e);
	if (!err) {
		if (from)
			db_bind_text(st, 1, from, -1, DB_STATIC);
		if (to)
			db_bind_text(st, 2, to, -1, DB_STATIC);
		bool more = false;
		err = sq_collect(c, st, sizeof **out, sq_pulse_wave_row, max, (void **)out, n, &more, e);
	}
	sq_release(s, c);
	return err;
}

ks_err store_pulse_wave_close(ks_store *s, int64_t id, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "UPDATE pulse_waves SET status = 'closed' WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		err = sq_cstep(c, st, e);
		if (!err && db_changes(c->db) == 0)
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "pulse wave %lld not found", (long long)id);
	}
	sq_release(s, c);
	sq_storage_failed(s, err);
	return err;
}

/* The newest wave's opening (0 = none) on c. */
static ks_err sq_pulse_last_opened(sq_conn *c, int64_t *last, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT coalesce(max(opened_at), 0) FROM pulse_waves", &st, e);
	return err ? err : sq_cfirst(c, st, last, e);
}

/* Is a scheduled wave due at now? Cadence in local days of the org's
 * time zone and never before STORE_PULSE_OPEN_HOUR local: a wave opens at
 * the same wall-clock hour summer and winter, not drifting by the DST
 * hour or landing at night. */
static bool sq_pulse_due(const ks_tz *tz, const store_pulse_settings *p, int64_t last, int64_t now)
{
	if (!p->enabled)
		return false;
	int y, mo, d, h, mi, sec;
	tz_civil(tz, now, &y, &mo, &d, &h, &mi, &sec);
	if (h < STORE_PULSE_OPEN_HOUR)
		return false;
	return last == 0 || tz_local_day(tz, now) - tz_local_day(tz, last) >= p->cadence_days;
}

ks_err store_pulse_schedule(ks_store *s, int64_t now, int64_t *opened, ks_error *e)
{
	*opened = 0;
	store_pulse_settings *p = malloc(sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = store_pulse_settings_get(s, p, e);
	sq_conn *c = sq_acquire(s);
	/* The scheduler calls this every second: look first, and take the
	 * write lock only when a wave is to be closed or opened. */
	int64_t to_close = 0, last = 0, open = 0;
	if (!err)
		err = sq_one_id(c, "SELECT count(*) FROM pulse_waves WHERE status = 'open' AND closes_at <= ?1", now,
				&to_close, e);
	if (!err && p->enabled)
		err = sq_pulse_last_opened(c, &last, e);
	if (!err && p->enabled)
		err = sq_one_id(c, "SELECT count(*) FROM pulse_waves WHERE status = 'open' AND closes_at > ?1", now,
				&open, e);
	bool due = !err && !open && sq_pulse_due(&s->tz, p, last, now);
	if (!err && (to_close || due)) {
		err = sq_exec(c, "BEGIN IMMEDIATE", e);
		db_stmt *st;
		if (!err)
			err = sq_cprep(c, "UPDATE pulse_waves SET status = 'closed' WHERE status = 'open' AND closes_at <= ?1",
				       &st, e);
		if (!err) {
			db_bind_int64(st, 1, now);
			err = sq_cstep(c, st, e);
		}
		/* again under the lock: an admin may have opened one meanwhile */
		if (!err && due)
			err = sq_pulse_last_opened(c, &last, e);
		if (!err && due)
			err = sq_one_id(c, "SELECT count(*) FROM pulse_waves WHERE status = 'open' AND id > ?1", 0,
					&open, e);
		if (!err && due && !open && sq_pulse_due(&s->tz, p, last, now))
			err = sq_pulse_open_in(s, c, p, now, true, 0, opened, e);
		if (!err)
			err = sq_exec(c, "COMMIT", e);
		if (err) {
			sq_exec(c, "ROLLBACK", NULL);
			*opened = 0;
		}
	}
	sq_release(s, c);
	sq_storage_failed(s, err);
	free(p);
	return err;
}

/* ---- mail ------------------------------------------------------------------------- */

/* The stored form of a link token: SHA-256, hex, of prefix || token.
 * The invitation keeps the hash with prefix "", the used-links table the
 * one with "used:" — two hashes of one token that nobody without the token
 * can match, so which invitation was used is not in the database. */
static void sq_pulse_hash_of(const char *prefix, const char *token, char out[2 * crypto_hash_sha256_BYTES + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state hs;
	crypto_hash_sha256_init(&hs);
	crypto_hash_sha256_update(&hs, (const unsigned char *)prefix, strlen(prefix));
	crypto_hash_sha256_update(&hs, (const unsigned char *)token, strlen(token));
	crypto_hash_sha256_final(&hs, h);
	sodium_bin2hex(out, 2 * crypto_hash_sha256_BYTES + 1, h, sizeof h);
}

static void sq_pulse_hash(const char *token, char out[2 * crypto_hash_sha256_BYTES + 1])
{
	sq_pulse_hash_of("", token, out);
}

ks_err store_pulse_mail_recover(ks_store *s, int *n, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_outbox_recover(c, &sq_pulse_mails, n, e);
	sq_release(s, c);
	return err;
}

static void sq_pulse_job_row(const ks_tz *tz, db_stmt *st, store_pulse_job *j)
{
	memset(j, 0, sizeof *j);
	j->id = db_column_int64(st, 0);
	j->attempts = db_column_int(st, 1) + 1;
	sq_pulse_copy(j->to_email, sizeof j->to_email, st, 2);
	sq_pulse_copy(j->first_name, sizeof j->first_name, st, 3);
	sq_pulse_copy(j->language, sizeof j->language, st, 4);
	j->closes_at = db_column_int64(st, 5);
	int y, mo, d, h, mi, sec;
	tz_civil(tz, j->closes_at, &y, &mo, &d, &h, &mi, &sec);
	snprintf(j->closes_on, sizeof j->closes_on, "%04d-%02d-%02d", y % 10000, mo % 100, d % 100);
	json_t *q = json_loads(sq_ctext(st, 6), 0, NULL);
	const char *text = json_string_value(json_object_get(json_object_get(q, "enps"), j->language));
	snprintf(j->enps_question, sizeof j->enps_question, "%s", text ? text : "");
	json_decref(q);
	snprintf(j->message_id, sizeof j->message_id, "pulse-%lld-%d@klantstem", (long long)j->id, j->attempts);
}

ks_err store_pulse_mail_claim(ks_store *s, int64_t now, store_pulse_job *jobs, int max, int *n, ks_error *e)
{
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_cprep(c,
			       "SELECT i.id, i.attempts, coalesce(em.email, ''), coalesce(em.first_name, ''),"
			       " i.language, w.closes_at, w.questions"
			       " FROM pulse_invitations i JOIN pulse_waves w ON w.id = i.wave_id"
			       " LEFT JOIN employees em ON em.id = i.employee_id"
			       " WHERE w.status = 'open' AND w.closes_at > ?1"
			       " AND ((i.status = 'pending' AND i.next_attempt_at <= ?1)"
			       "  OR (i.status = 'sending' AND i.claimed_at <= ?1 - ?3))"
			       " ORDER BY i.next_attempt_at, i.id LIMIT ?2",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, now);
		db_bind_int(st, 2, max);
		db_bind_int(st, 3, SQ_PULSE_RECLAIM_S);
		int rc = DB_DONE;
		while (*n < max && (rc = db_step(st)) == DB_ROW)
			sq_pulse_job_row(&s->tz, st, &jobs[(*n)++]);
		if (*n < max && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	int kept = 0;
	for (int i = 0; !err && i < *n; i++) {
		/* issue 18 (review): a row another node claimed since the
		 * SELECT is left out (db_changes() 0) */
		err = sq_outbox_mark_sending(c, &sq_pulse_mails, jobs[i].id, jobs[i].attempts, now, e);
		if (err || db_changes(c->db) != 1)
			continue;
		if (kept != i)
			jobs[kept] = jobs[i];
		store_pulse_job *j = &jobs[kept++];
		char token[MODEL_TOKEN_LEN + 1], hash[2 * crypto_hash_sha256_BYTES + 1];
		sq_token(token);
		snprintf(j->token, sizeof j->token, "%s", token);
		sq_pulse_hash(token, hash);
		err = sq_cprep(c, "UPDATE pulse_invitations SET token_hash = ?2 WHERE id = ?1", &st, e);
		if (!err) {
			db_bind_int64(st, 1, j->id);
			db_bind_text(st, 2, hash, -1, DB_TRANSIENT);
			err = sq_cstep(c, st, e);
		}
	}
	if (!err)
		*n = kept;
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	else
		sq_exec(c, "ROLLBACK", NULL);
	sq_release(s, c);
	sq_storage_failed(s, err);
	if (err)
		*n = 0;
	return err;
}

ks_err store_pulse_mail_record(ks_store *s, const store_pulse_job *j, store_send_outcome outcome,
			       const char *detail, int64_t now, ks_error *e)
{
	return sq_outbox_record_one(s, &sq_pulse_mails, j->id, j->attempts, outcome, detail, now, e);
}

/* ---- answering ---------------------------------------------------------------------- */

ks_err store_pulse_link_resolve(ks_store *s, const char *token, int64_t now, store_pulse_link *out,
				ks_error *e)
{
	memset(out, 0, sizeof *out);
	snprintf(out->language, sizeof out->language, "nl");
	char hash[2 * crypto_hash_sha256_BYTES + 1], used[2 * crypto_hash_sha256_BYTES + 1];
	sq_pulse_hash(token, hash);
	sq_pulse_hash_of("used:", token, used);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "SELECT i.wave_id, i.language, EXISTS (SELECT 1 FROM pulse_used_tokens WHERE hash = ?3),"
			      " w.status <> 'open' OR w.closes_at <= ?2,"
			      " w.questions FROM pulse_invitations i JOIN pulse_waves w ON w.id = i.wave_id"
			      " WHERE i.token_hash = ?1",
			      &st, e);
	if (!err) {
		db_bind_text(st, 1, hash, -1, DB_TRANSIENT);
		db_bind_int64(st, 2, now);
		db_bind_text(st, 3, used, -1, DB_TRANSIENT);
		int rc = db_step(st);
		if (rc == DB_ROW) {
			out->wave_id = db_column_int64(st, 0);
			sq_pulse_copy(out->language, sizeof out->language, st, 1);
			out->answered = db_column_int(st, 2) != 0;
			out->closed = db_column_int(st, 3) != 0;
			out->questions = json_loads(sq_ctext(st, 4), 0, NULL);
		} else {
			err = rc == DB_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "unknown link")
						: sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

/* A random positive 63-bit id: the answers' order in the table (by rowid)
 * is then the order of these numbers, unrelated to time. */
static int64_t sq_pulse_random_id(void)
{
	uint64_t v = 0;
	while (v == 0) {
		randombytes_buf(&v, sizeof v);
		v >>= 1;
	}
	return (int64_t)v;
}

static ks_err sq_pulse_insert_answer(sq_conn *c, int64_t wave_id, int64_t team_id, const store_pulse_answer *a,
				     ks_error *e)
{
	for (int tries = 0; tries < 4; tries++) {
		db_stmt *st;
		ks_err err = sq_cprep(c,
				      "INSERT INTO pulse_answers (id, wave_id, team_id, enps, item1, item2, item3,"
				      " comment) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				      &st, e);
		if (err)
			return err;
		db_bind_int64(st, 1, sq_pulse_random_id());
		db_bind_int64(st, 2, wave_id);
		db_bind_int64(st, 3, team_id);
		db_bind_int(st, 4, a->enps);
		for (int i = 0; i < STORE_PULSE_ITEMS; i++)
			if (a->item[i] > 0)
				db_bind_int(st, 5 + i, a->item[i]);
		if (a->comment && a->comment[0])
			db_bind_text(st, 8, a->comment, -1, DB_STATIC);
		int rc = db_step(st);
		db_finalize(st);
		if (rc == DB_DONE)
			return KS_OK;
		if (rc != DB_CONSTRAINT || db_extended_errcode(c->db) != DB_CONSTRAINT_PRIMARYKEY)
			return sq_fail(c, rc, e);
		/* a collision of two random ids (2^-63 a pair): draw again */
	}
	return ks_fail(e, KS_ERR_INTERNAL, NULL, "no free answer id");
}

ks_err store_pulse_answer_submit(ks_store *s, const char *token, const store_pulse_answer *a, int64_t now,
				 ks_error *e)
{
	char hash[2 * crypto_hash_sha256_BYTES + 1], used[2 * crypto_hash_sha256_BYTES + 1];
	sq_pulse_hash(token, hash);
	sq_pulse_hash_of("used:", token, used);
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (err) {
		sq_release(s, c);
		return err;
	}
	db_stmt *st;
	int64_t wave = 0, team = 0;
	int answered = 0, closed = 0;
	bool found = false;
	/* the team is the invitation's (the team at the wave's opening), not
	 * the employee's today */
	err = sq_cprep(c,
		       "SELECT i.wave_id, EXISTS (SELECT 1 FROM pulse_used_tokens WHERE hash = ?3),"
		       " w.status <> 'open' OR w.closes_at <= ?2, coalesce(i.team_id, 0)"
		       " FROM pulse_invitations i JOIN pulse_waves w ON w.id = i.wave_id WHERE i.token_hash = ?1",
		       &st, e);
	if (!err) {
		db_bind_text(st, 1, hash, -1, DB_TRANSIENT);
		db_bind_int64(st, 2, now);
		db_bind_text(st, 3, used, -1, DB_TRANSIENT);
		int rc = db_step(st);
		if (rc == DB_ROW) {
			found = true;
			wave = db_column_int64(st, 0);
			answered = db_column_int(st, 1);
			closed = db_column_int(st, 2);
			team = db_column_int64(st, 3);
		} else if (rc != DB_DONE) {
			err = sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	if (!err && !found)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "unknown link");
	else if (!err && answered)
		err = ks_fail(e, KS_ERR_CONFLICT, NULL, "this link has been used");
	else if (!err && (closed || team == 0))
		err = ks_fail(e, KS_ERR_GONE, NULL, "this pulse is closed");
	if (!err)
		err = sq_cprep(c, "INSERT INTO pulse_used_tokens (hash, wave_id) VALUES (?1, ?2)", &st, e);
	if (!err) {
		db_bind_text(st, 1, used, -1, DB_TRANSIENT);
		db_bind_int64(st, 2, wave);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_pulse_insert_answer(c, wave, team, a, e);
	if (!err)
		err = sq_cprep(c, "UPDATE pulse_waves SET answered = answered + 1 WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, wave);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	else
		sq_exec(c, "ROLLBACK", NULL);
	sq_release(s, c);
	if (err != KS_ERR_CONFLICT && err != KS_ERR_GONE && err != KS_ERR_NOTFOUND)
		sq_storage_failed(s, err);
	return err;
}

/* ---- counts ------------------------------------------------------------------------ */

static void sq_pulse_count_row(db_stmt *st, void *elem)
{
	store_pulse_count *k = elem;
	memset(k, 0, sizeof *k);
	k->team_id = db_column_int64(st, 0);
	k->n = db_column_int64(st, 1);
	k->promoters = db_column_int64(st, 2);
	k->passives = db_column_int64(st, 3);
	k->detractors = db_column_int64(st, 4);
	for (int i = 0; i < STORE_PULSE_ITEMS; i++) {
		k->item_n[i] = db_column_int64(st, 5 + 2 * i);
		k->item_sum[i] = db_column_int64(st, 6 + 2 * i);
	}
}

ks_err store_pulse_counts(ks_store *s, int64_t wave_id, store_pulse_count **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "SELECT team_id, count(*), sum(enps >= 9), sum(enps BETWEEN 7 AND 8), sum(enps <= 6),"
			      " count(item1), coalesce(sum(item1), 0), count(item2), coalesce(sum(item2), 0),"
			      " count(item3), coalesce(sum(item3), 0)"
			      " FROM pulse_answers WHERE wave_id = ?1 GROUP BY team_id ORDER BY team_id",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, wave_id);
		bool more = false;
		err = sq_collect(c, st, sizeof **out, sq_pulse_count_row, 0, (void **)out, n, &more, e);
	}
	sq_release(s, c);
	return err;
}

static void sq_pulse_unit_row(db_stmt *st, void *elem)
{
	store_pulse_unit *u = elem;
	memset(u, 0, sizeof *u);
	u->id = db_column_int64(st, 0);
	u->parent_id = db_column_int64(st, 1);
	sq_pulse_copy(u->kind, sizeof u->kind, st, 2);
	sq_pulse_copy(u->name, sizeof u->name, st, 3);
}

ks_err store_pulse_units(ks_store *s, store_pulse_unit **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT id, coalesce(parent_id, 0), kind, name FROM org_units ORDER BY id", &st, e);
	if (!err) {
		bool more = false;
		err = sq_collect(c, st, sizeof **out, sq_pulse_unit_row, 0, (void **)out, n, &more, e);
	}
	sq_release(s, c);
	return err;
}

ks_err store_pulse_employee_team(ks_store *s, int64_t employee_id, int64_t *team_id, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_one_id(c, "SELECT team_id FROM employees WHERE id = ?1", employee_id, team_id, e);
	sq_release(s, c);
	return err;
}

static json_t *sq_pulse_text_json(db_stmt *st)
{
	return json_string(sq_ctext(st, 0));
}

ks_err store_pulse_comments(ks_store *s, int64_t wave_id, const int64_t *unit_ids, size_t n_ids, json_t **out,
			    ks_error *e)
{
	*out = json_array();
	if (*out == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (n_ids == 0)
		return KS_OK;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	/* the ids as a JSON array: one statement whatever their number */
	json_t *ids = json_array();
	for (size_t i = 0; i < n_ids; i++)
		json_array_append_new(ids, json_integer(unit_ids[i]));
	char *idtext = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	ks_err err = idtext ? sq_cprep(c,
				       "SELECT comment FROM pulse_answers WHERE wave_id = ?1 AND comment IS NOT NULL"
				       " AND team_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?2)) ORDER BY id",
				       &st, e)
			    : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err) {
		db_bind_int64(st, 1, wave_id);
		db_bind_text(st, 2, idtext, -1, DB_STATIC);
		err = sq_json_rows(c, st, sq_pulse_text_json, *out, e);
	}
	free(idtext);
	sq_release(s, c);
	if (err) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

ks_err store_pulse_changed_teams(ks_store *s, int64_t wave_id, int64_t **ids, size_t *n, ks_error *e)
{
	*ids = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT team_id FROM pulse_wave_teams WHERE wave_id = ?1 AND changed = 1 ORDER BY team_id",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, wave_id);
		err = sq_collect_ids(c, st, ids, n, e);
	}
	sq_release(s, c);
	return err;
}

/* ---- a closed wave's results ------------------------------------------------------- */

static const char *const sq_pulse_states[] = {"shown", "hidden", "changed", "none"};

static ks_err sq_pulse_put_cell(sq_conn *c, int64_t wave_id, const store_pulse_cell *k, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "INSERT INTO pulse_cells (wave_id, unit_id, parent_id, level, name, state, n, promoters,"
			      " passives, detractors, item1_n, item1_sum, item2_n, item2_sum, item3_n, item3_sum,"
			      " comments, min_group, min_group_comments)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
			      &st, e);
	if (err)
		return err;
	bool shown = k->state == STORE_PULSE_SHOWN;
	db_bind_int64(st, 1, wave_id);
	db_bind_int64(st, 2, k->unit_id);
	db_bind_int64(st, 3, k->parent_id);
	db_bind_int(st, 4, k->level);
	db_bind_text(st, 5, k->name, -1, DB_STATIC);
	db_bind_text(st, 6, sq_pulse_states[k->state <= STORE_PULSE_NONE ? k->state : STORE_PULSE_HIDDEN], -1,
			  DB_STATIC);
	/* what the suppression protects is not stored next to it */
	db_bind_int64(st, 7, shown ? k->n : 0);
	db_bind_int64(st, 8, shown ? k->promoters : 0);
	db_bind_int64(st, 9, shown ? k->passives : 0);
	db_bind_int64(st, 10, shown ? k->detractors : 0);
	for (int i = 0; i < STORE_PULSE_ITEMS; i++) {
		db_bind_int64(st, 11 + 2 * i, shown ? k->item_n[i] : 0);
		db_bind_int64(st, 12 + 2 * i, shown ? k->item_sum[i] : 0);
	}
	db_bind_int(st, 17, shown && k->comments);
	db_bind_int(st, 18, k->min_group);
	db_bind_int(st, 19, k->min_group_comments);
	return sq_cstep(c, st, e);
}

static ks_err sq_pulse_put_comment(sq_conn *c, int64_t wave_id, const store_pulse_comment *k, ks_error *e)
{
	for (int tries = 0; tries < 4; tries++) {
		db_stmt *st;
		ks_err err = sq_cprep(c, "INSERT INTO pulse_cell_comments (id, wave_id, unit_id, comment) VALUES (?1, ?2, ?3, ?4)",
				      &st, e);
		if (err)
			return err;
		db_bind_int64(st, 1, sq_pulse_random_id());
		db_bind_int64(st, 2, wave_id);
		db_bind_int64(st, 3, k->unit_id);
		db_bind_text(st, 4, k->text, -1, DB_STATIC);
		int rc = db_step(st);
		db_finalize(st);
		if (rc == DB_DONE)
			return KS_OK;
		if (rc != DB_CONSTRAINT || db_extended_errcode(c->db) != DB_CONSTRAINT_PRIMARYKEY)
			return sq_fail(c, rc, e);
	}
	return ks_fail(e, KS_ERR_INTERNAL, NULL, "no free comment id");
}

ks_err store_pulse_finalise(ks_store *s, int64_t wave_id, const store_pulse_cell *cells, size_t n,
			    const store_pulse_comment *comments, size_t n_comments, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (err) {
		sq_release(s, c);
		return err;
	}
	db_stmt *st;
	int64_t status = 0;   /* 0 none, 1 open, 2 closed, 3 finalised */
	err = sq_one_id(c,
			"SELECT CASE WHEN status = 'open' THEN 1 WHEN finalised = 1 THEN 3 ELSE 2 END"
			" FROM pulse_waves WHERE id = ?1",
			wave_id, &status, e);
	if (!err && status == 0)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "pulse wave %lld not found", (long long)wave_id);
	else if (!err && status == 1)
		err = ks_fail(e, KS_ERR_CONFLICT, NULL, "pulse wave %lld is open", (long long)wave_id);
	bool write = !err && status == 2;
	for (size_t i = 0; write && !err && i < n; i++)
		err = sq_pulse_put_cell(c, wave_id, &cells[i], e);
	for (size_t i = 0; write && !err && i < n_comments; i++)
		err = sq_pulse_put_comment(c, wave_id, &comments[i], e);
	if (write && !err)
		err = sq_cprep(c, "UPDATE pulse_waves SET finalised = 1 WHERE id = ?1", &st, e);
	if (write && !err) {
		db_bind_int64(st, 1, wave_id);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	else
		sq_exec(c, "ROLLBACK", NULL);
	sq_release(s, c);
	if (err != KS_ERR_CONFLICT && err != KS_ERR_NOTFOUND)
		sq_storage_failed(s, err);
	return err;
}

static void sq_pulse_cell_row(db_stmt *st, void *elem)
{
	store_pulse_cell *k = elem;
	memset(k, 0, sizeof *k);
	k->unit_id = db_column_int64(st, 0);
	k->parent_id = db_column_int64(st, 1);
	k->level = db_column_int(st, 2);
	sq_pulse_copy(k->name, sizeof k->name, st, 3);
	const char *state = sq_ctext(st, 4);
	k->state = STORE_PULSE_HIDDEN;
	for (int i = 0; i < 4; i++)
		if (strcmp(state, sq_pulse_states[i]) == 0)
			k->state = (store_pulse_state)i;
	k->n = db_column_int64(st, 5);
	k->promoters = db_column_int64(st, 6);
	k->passives = db_column_int64(st, 7);
	k->detractors = db_column_int64(st, 8);
	for (int i = 0; i < STORE_PULSE_ITEMS; i++) {
		k->item_n[i] = db_column_int64(st, 9 + 2 * i);
		k->item_sum[i] = db_column_int64(st, 10 + 2 * i);
	}
	k->comments = db_column_int(st, 15) != 0;
	k->min_group = db_column_int(st, 16);
	k->min_group_comments = db_column_int(st, 17);
}

ks_err store_pulse_cells_get(ks_store *s, int64_t wave_id, store_pulse_cell **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "SELECT unit_id, parent_id, level, name, state, n, promoters, passives, detractors,"
			      " item1_n, item1_sum, item2_n, item2_sum, item3_n, item3_sum, comments, min_group,"
			      " min_group_comments FROM pulse_cells WHERE wave_id = ?1 ORDER BY unit_id",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, wave_id);
		bool more = false;
		err = sq_collect(c, st, sizeof **out, sq_pulse_cell_row, 0, (void **)out, n, &more, e);
	}
	sq_release(s, c);
	return err;
}

ks_err store_pulse_cell_comments(ks_store *s, int64_t wave_id, int64_t unit_id, json_t **out, ks_error *e)
{
	*out = json_array();
	if (*out == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT comment FROM pulse_cell_comments WHERE wave_id = ?1 AND unit_id = ?2 ORDER BY id",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, wave_id);
		db_bind_int64(st, 2, unit_id);
		err = sq_json_rows(c, st, sq_pulse_text_json, *out, e);
	}
	sq_release(s, c);
	if (err) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

ks_err store_pulse_unfinalised(ks_store *s, int64_t **ids, size_t *n, ks_error *e)
{
	*ids = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT id FROM pulse_waves WHERE status = 'closed' AND finalised = 0 ORDER BY id", &st, e);
	if (!err)
		err = sq_collect_ids(c, st, ids, n, e);
	sq_release(s, c);
	return err;
}

/* ---- the demo -------------------------------------------------------------------------- */

ks_err store_pulse_staff(ks_store *s, int64_t **emp, int64_t **team, size_t *n, ks_error *e)
{
	*emp = NULL;
	*team = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT id, team_id FROM employees WHERE active = 1 AND email IS NOT NULL AND email <> ''"
			      " ORDER BY id",
			      &st, e);
	size_t cap = 0;
	int rc = DB_DONE;
	while (!err && (rc = db_step(st)) == DB_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			int64_t *a = realloc(*emp, cap * sizeof *a);
			if (a)
				*emp = a;
			int64_t *b = realloc(*team, cap * sizeof *b);
			if (b)
				*team = b;
			if (!a || !b) {
				err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
				break;
			}
		}
		(*emp)[*n] = db_column_int64(st, 0);
		(*team)[*n] = db_column_int64(st, 1);
		(*n)++;
	}
	if (!err && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	if (st)
		db_finalize(st);
	sq_release(s, c);
	if (err) {
		free(*emp);
		free(*team);
		*emp = *team = NULL;
		*n = 0;
	}
	return err;
}

ks_err store_pulse_demo_wave(ks_store *s, int64_t opened_at, int open_days, bool closed, const int64_t *employees,
			     const int64_t *teams, size_t n_inv, const store_pulse_demo_answer *answers, size_t n_ans,
			     int64_t *wave_id, ks_error *e)
{
	*wave_id = 0;
	store_pulse_settings *p = malloc(sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = store_pulse_settings_get(s, p, e);
	json_t *q = err ? NULL : sq_pulse_questions(p);
	char *qtext = q ? json_dumps(q, JSON_COMPACT) : NULL;
	json_decref(q);
	free(p);
	if (err)
		return err;
	if (qtext == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO pulse_waves (period, opened_at, closes_at, status, scheduled, questions,"
			       " invited, answered) VALUES (ks_local_month(?1), ?1, ?2, ?3, 1, ?4, ?5, ?6)",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, opened_at);
		db_bind_int64(st, 2, opened_at + (int64_t)open_days * 86400);
		db_bind_text(st, 3, closed ? "closed" : "open", -1, DB_STATIC);
		db_bind_text(st, 4, qtext, -1, DB_STATIC);
		db_bind_int64(st, 5, (int64_t)n_inv);
		db_bind_int64(st, 6, (int64_t)n_ans);
		err = sq_cstep(c, st, e);
		if (!err)
			*wave_id = db_last_insert_rowid(c->db);
	}
	for (size_t i = 0; !err && i < n_inv; i++) {
		err = sq_cprep(c,
			       "INSERT INTO pulse_invitations (wave_id, employee_id, team_id, language, status, attempts,"
			       " sent_at) VALUES (?1, ?2, ?3, 'nl', 'sent', 1, ?4)",
			       &st, e);
		if (!err) {
			db_bind_int64(st, 1, *wave_id);
			db_bind_int64(st, 2, employees[i]);
			sq_bind_id(st, 3, teams[i]);
			db_bind_int64(st, 4, opened_at);
			err = sq_cstep(c, st, e);
		}
	}
	if (!err)
		err = sq_pulse_wave_teams(c, *wave_id, opened_at, e);
	for (size_t i = 0; !err && i < n_ans; i++)
		err = sq_pulse_insert_answer(c, *wave_id, answers[i].team_id, &answers[i].a, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	else
		sq_exec(c, "ROLLBACK", NULL);
	sq_release(s, c);
	sq_storage_failed(s, err);
	free(qtext);
	if (err)
		*wave_id = 0;
	return err;
}
