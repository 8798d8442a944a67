/* sqlite_invite.c — survey rules, invitations, opt-outs, the response
 * funnel and the webhook outbox on SQLite.
 *
 * Exactly-once delivery, as far as SMTP allows: a send is first *claimed*
 * (status "sending", committed) and only then handed to SMTP; the outcome is
 * recorded in a second transaction. A crash between the two leaves the row in
 * "sending"; at the next start store_invite_recover() puts it back to
 * "scheduled" and it is sent again with the same Message-ID, so the only
 * possible duplicate is a mail the SMTP server accepted in the instant before
 * the crash, and it carries the Message-ID of the first copy (receivers and
 * our tests can fold it). A claimed row is never picked up twice while the
 * server runs, so concurrent passes cannot double-send.
 */
#include "store/sqlite_int.h"

#include <sqlite3.h>
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVITE_MAX_ATTEMPTS 8

/* At a character boundary: customer, employee and touchpoint names are
 * taken up to 500 bytes, longer than their buffers, and a mail with a
 * character cut in two is refused by the mail check. */
static void sq_text_copy(db_stmt *st, int col, char *out, size_t n)
{
	utf8_copy(out, n, (const char *)db_column_text(st, col));
}

/* ---- rules ------------------------------------------------------------------ */

static const char *const sq_rule_cols =
	"touchpoint_id, survey_id, enabled, delay_minutes, quiet_start_hour, quiet_end_hour,"
	" sample_pct, fatigue_days, exclude_open_case, expiry_days, reminder_days";

static void sq_rule_row(db_stmt *st, invite_rule *r)
{
	r->touchpoint_id = db_column_int64(st, 0);
	r->survey_id = db_column_int64(st, 1);
	r->enabled = db_column_int(st, 2) != 0;
	r->delay_minutes = db_column_int(st, 3);
	r->quiet_start_hour = db_column_int(st, 4);
	r->quiet_end_hour = db_column_int(st, 5);
	r->sample_pct = db_column_int(st, 6);
	r->fatigue_days = db_column_int(st, 7);
	r->exclude_open_case = db_column_int(st, 8) != 0;
	r->expiry_days = db_column_int(st, 9);
	r->reminder_days = db_column_int(st, 10);
}

static ks_err sq_rule_get_on(sq_conn *c, int64_t touchpoint_id, invite_rule *out, bool *found,
			     ks_error *e)
{
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM survey_rules WHERE touchpoint_id=?1", sq_rule_cols);
	db_stmt *st;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, touchpoint_id);
	invite_rule_defaults(out);
	out->touchpoint_id = touchpoint_id;
	int rc = db_step(st);
	*found = rc == DB_ROW;
	if (*found)
		sq_rule_row(st, out);
	db_finalize(st);
	return rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

ks_err store_rule_get(ks_store *s, int64_t touchpoint_id, invite_rule *out, bool *found, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_rule_get_on(c, touchpoint_id, out, found, e);
	sq_release(s, c);
	return err;
}

ks_err store_rule_put(ks_store *s, const invite_rule *r, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	char sql[1536]; /* ON CONFLICT ... DO UPDATE, not INSERT OR REPLACE: one text for both backends (issue 18) */
	snprintf(sql, sizeof sql,
		 "INSERT INTO survey_rules(%s, updated_at)"
		 " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
		 " ON CONFLICT (touchpoint_id) DO UPDATE SET survey_id = excluded.survey_id,"
		 " enabled = excluded.enabled, delay_minutes = excluded.delay_minutes,"
		 " quiet_start_hour = excluded.quiet_start_hour, quiet_end_hour = excluded.quiet_end_hour,"
		 " sample_pct = excluded.sample_pct, fatigue_days = excluded.fatigue_days,"
		 " exclude_open_case = excluded.exclude_open_case, expiry_days = excluded.expiry_days,"
		 " reminder_days = excluded.reminder_days, updated_at = excluded.updated_at",
		 sq_rule_cols);
	db_stmt *st;
	bool found = false;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_row_exists(c, "touchpoints", r->touchpoint_id, &found, e);
	if (!err && !found)
		err = ks_fail(e, KS_ERR_NOTFOUND, "touchpoint_id", "touchpoint %lld not found",
			      (long long)r->touchpoint_id);
	if (!err && r->survey_id) {
		err = sq_row_exists(c, "surveys", r->survey_id, &found, e);
		if (!err && !found)
			err = ks_fail(e, KS_ERR_REF, "survey_id", "survey_id %lld does not exist",
				      (long long)r->survey_id);
	}
	if (!err)
		err = sq_cprep(c, sql, &st, e);
	if (!err) {
		const int64_t v[] = {r->touchpoint_id, r->survey_id, r->enabled, r->delay_minutes,
				     r->quiet_start_hour, r->quiet_end_hour, r->sample_pct,
				     r->fatigue_days, r->exclude_open_case, r->expiry_days,
				     r->reminder_days, clock_now(s->clock)};
		for (int i = 0; i < 12; i++)
			db_bind_int64(st, i + 1, v[i]);
		if (r->survey_id == 0)
			db_bind_null(st, 2);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

json_t *store_rule_json(const invite_rule *r)
{
	return json_pack("{s:I, s:o, s:b, s:i, s:i, s:i, s:i, s:i, s:b, s:i, s:i}", "touchpoint_id",
			 (json_int_t)r->touchpoint_id, "survey_id",
			 r->survey_id ? json_integer(r->survey_id) : json_null(), "enabled", r->enabled,
			 "delay_minutes", r->delay_minutes, "quiet_start_hour", r->quiet_start_hour,
			 "quiet_end_hour", r->quiet_end_hour, "sample_pct", r->sample_pct,
			 "fatigue_days", r->fatigue_days, "exclude_open_case", r->exclude_open_case,
			 "expiry_days", r->expiry_days, "reminder_days", r->reminder_days);
}

ks_err store_rule_list(ks_store *s, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT %s FROM survey_rules ORDER BY touchpoint_id", sq_rule_cols);
	db_stmt *st;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err) {
		json_t *items = json_array();
		int rc;
		while ((rc = db_step(st)) == DB_ROW) {
			invite_rule r;
			sq_rule_row(st, &r);
			json_array_append_new(items, store_rule_json(&r));
		}
		db_finalize(st);
		if (rc != DB_DONE) {
			json_decref(items);
			err = sq_fail(c, rc, e);
		} else {
			*out = json_pack("{s:o}", "items", items);
		}
	}
	sq_release(s, c);
	return err;
}

/* ---- the decision at contact time ------------------------------------------- */

static ks_err sq_invite_facts(sq_conn *c, const model_contact *ct, const invite_rule *rule,
			      invite_facts *f, char *email, size_t email_n, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c,
			     "SELECT opted_out_at IS NOT NULL, coalesce(email,''),"
			     " EXISTS(SELECT 1 FROM cases WHERE customer_id=?1 AND status IN ('new','contacted')),"
			     " (SELECT max(send_at) FROM invitations WHERE customer_id=?1 AND decision='created'"
			     "   AND send_at <= ?2 + ?3)"
			     " FROM customers WHERE id=?1",
			     &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, ct->customer_id);
	db_bind_int64(st, 2, ct->occurred_at);
	/* An invitation already planned a little after this contact counts too. */
	db_bind_int64(st, 3, (int64_t)(rule ? rule->delay_minutes : 0) * 60 + 86400);
	memset(f, 0, sizeof *f);
	if (db_step(st) == DB_ROW) {
		f->opted_out = db_column_int(st, 0) != 0;
		sq_text_copy(st, 1, email, email_n);
		f->has_email = email[0] != '\0';
		f->has_open_case = db_column_int(st, 2) != 0;
		f->last_invited_at = db_column_int64(st, 3);
	}
	db_finalize(st);
	return KS_OK;
}

ks_err sq_invite_decide(ks_store *s, sq_conn *c, const model_contact *ct, store_invite_result *out,
			ks_error *e)
{
	invite_rule rule;
	bool has_rule = false;
	char email[256] = "";
	invite_facts f;
	memset(out, 0, sizeof *out);
	ks_err err = sq_rule_get_on(c, ct->touchpoint_id, &rule, &has_rule, e);
	if (!err)
		err = sq_invite_facts(c, ct, has_rule ? &rule : NULL, &f, email, sizeof email, e);
	if (err)
		return err;
	f.contact_id = ct->id;
	f.sample_seed = s->sample_seed;
	out->reason = invite_decide(has_rule ? &rule : NULL, &f, ct->occurred_at);
	bool create = out->reason == INVITE_CREATE;
	out->send_at = create ? invite_send_at(&rule, ct->occurred_at) : 0;
	char unsub[MODEL_TOKEN_LEN + 1] = "", msgid[128] = "";
	if (create) {
		sq_token(unsub);
		snprintf(msgid, sizeof msgid, "inv-%lld-%s@klantstem", (long long)ct->id, unsub);
	}
	db_stmt *st;
	err = sq_cprep(c,
		      "INSERT INTO invitations(contact_id, customer_id, touchpoint_id, team_id, employee_id,"
		      " channel, decision, status, email, send_at, next_attempt_at, message_id,"
		      " reminder_status, unsubscribe_token, created_at)"
		      " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10,?11,?12,?13,?14)",
		      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, ct->id);
	db_bind_int64(st, 2, ct->customer_id);
	db_bind_int64(st, 3, ct->touchpoint_id);
	sq_bind_id(st, 4, ct->team_id);
	sq_bind_id(st, 5, ct->employee_id);
	db_bind_text(st, 6, ct->channel, -1, DB_STATIC);
	db_bind_text(st, 7, invite_reason_name(out->reason), -1, DB_STATIC);
	db_bind_text(st, 8, create ? "scheduled" : "skipped", -1, DB_STATIC);
	if (create) {
		db_bind_text(st, 9, email, -1, DB_STATIC);
		db_bind_int64(st, 10, out->send_at);
		db_bind_text(st, 11, msgid, -1, DB_STATIC);
		db_bind_text(st, 13, unsub, -1, DB_STATIC);
	}
	db_bind_text(st, 12, create && rule.reminder_days > 0 ? "scheduled" : "none", -1,
			  DB_STATIC);
	db_bind_int64(st, 14, clock_now(s->clock));
	err = sq_cstep(c, st, e);
	if (err)
		return err;
	out->invitation_id = db_last_insert_rowid(c->db);
	if (!create || !s->webhooks)
		return KS_OK;
	/* invitation.created for SMS or app providers: queued in the same
	 * transaction, delivered by the scheduler. */
	char send_iso[32], path[64];
	clock_format_iso(out->send_at, send_iso, sizeof send_iso);
	snprintf(path, sizeof path, "/s/%s", ct->token);
	return sq_webhook_queue(s, c, "invitation.created",
				json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "invitation_id",
					  (json_int_t)out->invitation_id, "contact_id", (json_int_t)ct->id,
					  "customer_id", (json_int_t)ct->customer_id, "touchpoint_id",
					  (json_int_t)ct->touchpoint_id, "token", ct->token, "survey_path",
					  path, "send_at", send_iso),
				e);
}

ks_err sq_webhook_queue(ks_store *s, sq_conn *c, const char *event, json_t *payload, ks_error *e)
{
	if (!s->webhooks || payload == NULL) {
		json_decref(payload);
		return payload == NULL && s->webhooks ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory")
						      : KS_OK;
	}
	json_object_set_new(payload, "event", json_string(event));
	char *txt = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(payload);
	if (txt == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	db_stmt *st;
	ks_err err = sq_cprep(c,
			     "INSERT INTO webhook_outbox(event, payload, next_attempt_at, created_at)"
			     " VALUES(?1, ?2, ?3, ?3)",
			     &st, e);
	if (!err) {
		db_bind_text(st, 1, event, -1, DB_STATIC);
		db_bind_text(st, 2, txt, -1, DB_STATIC);
		db_bind_int64(st, 3, clock_now(s->clock));
		err = sq_cstep(c, st, e);
	}
	free(txt);
	return err;
}

ks_err sq_invite_completed(sq_conn *c, int64_t contact_id, int64_t at, ks_error *e)
{
	db_stmt *st = sq_stmt(c, SQ_INVITE_COMPLETED, e);
	if (st == NULL)
		return KS_ERR_DB;
	db_bind_int64(st, 1, contact_id);
	db_bind_int64(st, 2, at);
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

/* ---- the scheduler's side ---------------------------------------------------- */

ks_err store_invite_recover(ks_store *s, int *n, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	/* Counted statement by statement: total_changes would count since the
	 * pooled connection opened. */
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	int64_t moved = 0;
	/* issue 18 (NODES): on PostgreSQL only the claims of nodes that are
	 * gone (sqlite_nodes.c); "" on SQLite */
	static const char *const col[2] = {"status", "reminder_status"};
	for (int k = 0; k < 2 && !err; k++) {
		char *cond = NULL;
		err = sq_node_recover_cond(c, "invitations", col[k], "sending", &cond, e);
		char sql[1024];
		int len = err ? 0 : snprintf(sql, sizeof sql, "UPDATE invitations SET %s='scheduled' WHERE %s='sending'%s",
					     col[k], col[k], cond);
		free(cond);
		if (!err && (len < 0 || (size_t)len >= sizeof sql))
			err = ks_fail(e, KS_ERR_INTERNAL, NULL, "invitation recovery: too many nodes gone at once");
		if (!err)
			err = sq_exec(c, sql, e);
		if (!err)
			moved += db_changes(c->db);
	}
	/* end issue 18 (NODES) */
	if (err && !db_get_autocommit(c->db))
		db_exec(c->db, "ROLLBACK");
	*n = err ? 0 : (int)moved;
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

static const char *const sq_job_select =
	"SELECT i.id, i.attempts, i.reminder_attempts, coalesce(i.email,''), coalesce(cu.name,''),"
	" cu.language, coalesce(em.first_name,''),"
	/* issue 13: the touchpoint as this customer reads it */
	" CASE WHEN cu.language='en' THEN coalesce(nullif(tp.label_en,''), nullif(tp.label_nl,''), tp.name)"
	"  ELSE coalesce(nullif(tp.label_nl,''), tp.name) END,"
	" co.token, coalesce(i.unsubscribe_token,''),"
	" coalesce(i.message_id,''), coalesce(r.survey_id, tp.survey_id, 0),"
	/* issue 18 (NODES): CASE, not a bare comparison: an integer on PostgreSQL too */
	" coalesce((SELECT CASE WHEN form_of_address='u' THEN 1 ELSE 0 END FROM org_voice WHERE id=1), 0),"
	" coalesce((SELECT organisation_name FROM org_voice WHERE id=1), ''),"
	" coalesce((SELECT CASE WHEN logo IS NOT NULL THEN 1 ELSE 0 END FROM org_voice WHERE id=1), 0),"
	" CASE WHEN co.channel = 'relationship' THEN 1 ELSE 0 END"
	" FROM invitations i JOIN contacts co ON co.id = i.contact_id"
	" JOIN customers cu ON cu.id = i.customer_id JOIN touchpoints tp ON tp.id = i.touchpoint_id"
	" LEFT JOIN employees em ON em.id = i.employee_id"
	" LEFT JOIN survey_rules r ON r.touchpoint_id = i.touchpoint_id";

static void sq_job_row(db_stmt *st, bool reminder, store_invite_job *j)
{
	memset(j, 0, sizeof *j);
	j->invitation_id = db_column_int64(st, 0);
	j->reminder = reminder;
	j->attempts = db_column_int(st, reminder ? 2 : 1) + 1;
	sq_text_copy(st, 3, j->email, sizeof j->email);
	sq_text_copy(st, 4, j->customer_name, sizeof j->customer_name);
	sq_text_copy(st, 5, j->language, sizeof j->language);
	sq_text_copy(st, 6, j->employee_first_name, sizeof j->employee_first_name);
	sq_text_copy(st, 7, j->touchpoint_name, sizeof j->touchpoint_name);
	sq_text_copy(st, 8, j->token, sizeof j->token);
	sq_text_copy(st, 9, j->unsubscribe_token, sizeof j->unsubscribe_token);
	sq_text_copy(st, 10, j->message_id, sizeof j->message_id);
	if (reminder) {
		/* A reminder is its own message, related to the first. */
		size_t len = strlen(j->message_id);
		if (len > 0 && len + 3 < sizeof j->message_id) {
			memmove(j->message_id + 2, j->message_id, len + 1);
			memcpy(j->message_id, "r-", 2);
		}
	}
	j->survey_id = db_column_int64(st, 11);
	j->formal = db_column_int(st, 12) != 0;
	sq_text_copy(st, 13, j->org_name, sizeof j->org_name);
	j->logo = db_column_int(st, 14) != 0;
	j->relationship = db_column_int(st, 15) != 0;
}

/* Skip reminders that no longer make sense: answered, expired, opted out. */
static ks_err sq_skip_stale_reminders(sq_conn *c, int64_t now, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c,
			     "UPDATE invitations SET reminder_status='skipped'"
			     " WHERE reminder_status='scheduled' AND reminder_at <= ?1 AND (completed_at IS NOT NULL"
			     "  OR status <> 'sent' OR expires_at <= ?1"
			     "  OR customer_id IN (SELECT id FROM customers WHERE opted_out_at IS NOT NULL))",
			     &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, now);
	return sq_cstep(c, st, e);
}

static ks_err sq_claim_kind(sq_conn *c, int64_t now, bool reminder, store_invite_job *jobs, int max,
			    int *n, ks_error *e)
{
	char sql[2048];
	snprintf(sql, sizeof sql, "%s WHERE %s ORDER BY %s LIMIT ?2", sq_job_select,
		 reminder ? "i.reminder_status='scheduled' AND i.reminder_at <= ?1"
			  : "i.status='scheduled' AND i.next_attempt_at <= ?1",
		 reminder ? "i.reminder_at" : "i.next_attempt_at");
	db_stmt *st;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, now);
	db_bind_int(st, 2, max - *n);
	int rc = DB_DONE;
	while (*n < max && (rc = db_step(st)) == DB_ROW)
		sq_job_row(st, reminder, &jobs[(*n)++]);
	/* a failed SELECT is an error, not "nothing due" */
	if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

/* Mark job j 'sending'. The UPDATE names the state it claims from (PGS-B,
 * issue 18): on PostgreSQL another node's claim pass can select the same
 * due row; its UPDATE waits for our row lock, then finds the row no longer
 * 'scheduled' and due (the other node sent it, or put it back for a retry
 * later) and changes nothing. *claimed is false then: the row is the other
 * node's. */
static ks_err sq_mark_sending(sq_conn *c, const store_invite_job *j, int64_t now, bool *claimed,
			      ks_error *e)
{
	*claimed = false;
	db_stmt *st;
	ks_err err = sq_cprep(c,
			     j->reminder ? (db_conn_kind(c->db) == DB_POSTGRES /* issue 18 (NODES): the claiming node */
						    ? "UPDATE invitations SET reminder_status='sending',"
						      " reminder_attempts=reminder_attempts+1,"
						      " claimed_by = nullif(current_setting('klantstem.node', true), '')::bigint"
						      " WHERE id=?1 AND reminder_status='scheduled' AND reminder_at <= ?2"
						    : "UPDATE invitations SET reminder_status='sending',"
						      " reminder_attempts=reminder_attempts+1"
						      " WHERE id=?1 AND reminder_status='scheduled' AND reminder_at <= ?2")
					 : db_conn_kind(c->db) == DB_POSTGRES
						   ? "UPDATE invitations SET status='sending', attempts=attempts+1,"
						     " claimed_by = nullif(current_setting('klantstem.node', true), '')::bigint"
						     " WHERE id=?1 AND status='scheduled' AND next_attempt_at <= ?2"
						   : "UPDATE invitations SET status='sending', attempts=attempts+1"
						     " WHERE id=?1 AND status='scheduled' AND next_attempt_at <= ?2",
			     &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, j->invitation_id);
	db_bind_int64(st, 2, now);
	err = sq_cstep(c, st, e);
	*claimed = !err && db_changes(c->db) == 1;
	return err;
}

ks_err store_invite_claim(ks_store *s, int64_t now, store_invite_job *jobs, int max, int *n,
			  ks_error *e)
{
	*n = 0;
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_skip_stale_reminders(c, now, e);
	if (!err)
		err = sq_claim_kind(c, now, false, jobs, max, n, e);
	if (!err)
		err = sq_claim_kind(c, now, true, jobs, max, n, e);
	/* the jobs this pass claimed, in their order; the ones another node
	 * took first are left out */
	int kept = 0;
	for (int i = 0; !err && i < *n; i++) {
		bool claimed = false;
		err = sq_mark_sending(c, &jobs[i], now, &claimed, e);
		if (!err && claimed) {
			if (kept != i)
				jobs[kept] = jobs[i];
			kept++;
		}
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e); /* the claim is durable before any mail leaves */
	*n = err ? 0 : kept;
	sq_release(s, c);
	return err;
}

/* Backoff after a temporary failure: 1, 2, 4, ... minutes, capped at 4 hours. */
static int64_t sq_backoff(int attempts)
{
	int64_t m = 1;
	for (int i = 1; i < attempts && m < 240; i++)
		m *= 2;
	return (m > 240 ? 240 : m) * 60;
}

ks_err store_invite_record(ks_store *s, const store_invite_job *j, store_send_outcome outcome,
			   const char *detail, int64_t now, ks_error *e)
{
	if (outcome == STORE_SEND_RETRY && j->attempts >= INVITE_MAX_ATTEMPTS)
		outcome = STORE_SEND_GIVE_UP;
	sq_conn *c = sq_acquire(s);
	invite_rule rule;
	bool found = false;
	db_stmt *st = NULL;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err && outcome == STORE_SEND_OK && !j->reminder) {
		db_stmt *tp;
		err = sq_cprep(c, "SELECT touchpoint_id FROM invitations WHERE id=?1", &tp, e);
		int64_t tpid = 0;
		if (!err) {
			db_bind_int64(tp, 1, j->invitation_id);
			if (db_step(tp) == DB_ROW)
				tpid = db_column_int64(tp, 0);
			db_finalize(tp);
			err = sq_rule_get_on(c, tpid, &rule, &found, e);
		}
		if (!err)
			err = sq_cprep(c,
				      "UPDATE invitations SET status='sent', sent_at=?2, expires_at=?3,"
				      " reminder_at=CASE WHEN reminder_status='scheduled' THEN ?4 END,"
				      " reminder_status=CASE WHEN ?4 > 0 THEN reminder_status ELSE 'none' END,"
				      " last_error=NULL WHERE id=?1;",
				      &st, e);
		if (!err) {
			db_bind_int64(st, 1, j->invitation_id);
			db_bind_int64(st, 2, now);
			db_bind_int64(st, 3, invite_expires_at(&rule, now));
			db_bind_int64(st, 4, invite_reminder_at(&rule, now));
			err = sq_cstep(c, st, e);
		}
		/* The survey link lives as long as the invitation. */
		if (!err)
			err = sq_cprep(c,
				      "UPDATE contacts SET expires_at=(SELECT expires_at FROM invitations WHERE id=?1)"
				      " WHERE id=(SELECT contact_id FROM invitations WHERE id=?1)",
				      &st, e);
		if (!err) {
			db_bind_int64(st, 1, j->invitation_id);
			err = sq_cstep(c, st, e);
		}
	} else if (!err) {
		const char *sql;
		if (j->reminder)
			sql = outcome == STORE_SEND_OK ? "UPDATE invitations SET reminder_status='sent', reminder_sent_at=?2 WHERE id=?1"
			      : outcome == STORE_SEND_RETRY ? "UPDATE invitations SET reminder_status='scheduled', reminder_at=?2+?3, last_error=?4 WHERE id=?1"
							    : "UPDATE invitations SET reminder_status='failed', last_error=?4 WHERE id=?1";
		else
			sql = outcome == STORE_SEND_RETRY ? "UPDATE invitations SET status='scheduled', next_attempt_at=?2+?3, last_error=?4 WHERE id=?1"
							  : "UPDATE invitations SET status='failed', last_error=?4 WHERE id=?1";
		err = sq_cprep(c, sql, &st, e);
		if (!err) {
			db_bind_int64(st, 1, j->invitation_id);
			if (db_bind_parameter_count(st) >= 2)
				db_bind_int64(st, 2, now);
			if (db_bind_parameter_count(st) >= 3)
				db_bind_int64(st, 3, sq_backoff(j->attempts));
			if (db_bind_parameter_count(st) >= 4)
				db_bind_text(st, 4, detail ? detail : "", -1, DB_STATIC);
			err = sq_cstep(c, st, e);
		}
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

/* ---- funnel events and opt-out ------------------------------------------------- */

ks_err store_invite_opened(ks_store *s, int64_t contact_id, bool started, int64_t now, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			     "UPDATE invitations SET opened_at=coalesce(opened_at, ?2),"
			     " started_at=CASE WHEN ?3 THEN coalesce(started_at, ?2) ELSE started_at END"
			     " WHERE contact_id=?1",
			     &st, e);
	if (!err) {
		db_bind_int64(st, 1, contact_id);
		db_bind_int64(st, 2, now);
		db_bind_int(st, 3, started);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	return err;
}

static ks_err sq_optout_on(sq_conn *c, int64_t customer_id, int64_t now, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, "UPDATE customers SET opted_out_at=coalesce(opted_out_at, ?2) WHERE id=?1",
			     &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, customer_id);
	db_bind_int64(st, 2, now);
	err = sq_cstep(c, st, e);
	if (err)
		return err;
	if (db_changes(c->db) == 0)
		return ks_fail(e, KS_ERR_NOTFOUND, "customer_id", "customer %lld not found",
			       (long long)customer_id);
	/* Nothing more goes out to this customer. */
	err = sq_cprep(c,
		      "UPDATE invitations SET"
		      " status=CASE WHEN status='scheduled' THEN 'skipped' ELSE status END,"
		      " decision=CASE WHEN status='scheduled' THEN 'opted_out' ELSE decision END,"
		      " reminder_status=CASE WHEN reminder_status='scheduled' THEN 'skipped' ELSE reminder_status END"
		      " WHERE customer_id=?1",
		      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, customer_id);
	return sq_cstep(c, st, e);
}

static ks_err sq_optout(ks_store *s, int64_t customer_id, const char *token, int64_t now, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err && token) {
		db_stmt *st;
		err = sq_cprep(c, "SELECT customer_id FROM invitations WHERE unsubscribe_token=?1", &st, e);
		if (!err) {
			db_bind_text(st, 1, token, -1, DB_STATIC);
			customer_id = db_step(st) == DB_ROW ? db_column_int64(st, 0) : 0;
			db_finalize(st);
			if (customer_id == 0)
				err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "unknown unsubscribe link");
		}
	}
	if (!err)
		err = sq_optout_on(c, customer_id, now, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

ks_err store_optout_token(ks_store *s, const char *token, int64_t now, ks_error *e)
{
	if (token == NULL || strlen(token) != MODEL_TOKEN_LEN)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "unknown unsubscribe link");
	return sq_optout(s, 0, token, now, e);
}

ks_err store_optout_customer(ks_store *s, int64_t customer_id, int64_t now, ks_error *e)
{
	return sq_optout(s, customer_id, NULL, now, e);
}

/* A keyset page of any "SELECT id, ... WHERE id > ?1 ... LIMIT ?2" whose
 * rows are turned into JSON by row_fn. */
typedef json_t *(*sq_row_fn)(db_stmt *st);

static ks_err sq_page(sq_conn *c, db_stmt *st, const store_list_query *q, sq_row_fn row_fn,
		      json_t **out, ks_error *e)
{
	json_t *items = json_array();
	int64_t last = 0;
	bool more = false;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		if ((int)json_array_size(items) == q->limit) {
			more = true;
			break;
		}
		last = db_column_int64(st, 0);
		json_array_append_new(items, row_fn(st));
	}
	db_finalize(st);
	if (rc != DB_ROW && rc != DB_DONE) {
		json_decref(items);
		return sq_fail(c, rc, e);
	}
	*out = json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 more ? json_integer(last) : json_null());
	return KS_OK;
}

static json_t *sq_time_json(db_stmt *st, int col)
{
	if (db_column_type(st, col) == DB_NULL)
		return json_null();
	char iso[32];
	clock_format_iso(db_column_int64(st, col), iso, sizeof iso);
	return json_string(iso);
}

static json_t *sq_optout_row(db_stmt *st)
{
	return json_pack("{s:I, s:s, s:o}", "customer_id", (json_int_t)db_column_int64(st, 0),
			 "external_id", (const char *)db_column_text(st, 1), "opted_out_at",
			 sq_time_json(st, 2));
}

ks_err store_optout_list(ks_store *s, const store_list_query *q, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			     "SELECT id, external_id, opted_out_at FROM customers"
			     " WHERE id > ?1 AND opted_out_at IS NOT NULL ORDER BY id LIMIT ?2",
			     &st, e);
	if (!err) {
		db_bind_int64(st, 1, q->after_id);
		db_bind_int(st, 2, q->limit + 1);
		err = sq_page(c, st, q, sq_optout_row, out, e);
	}
	sq_release(s, c);
	return err;
}

static json_t *sq_invitation_row(db_stmt *st)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:i}", "id",
			      (json_int_t)db_column_int64(st, 0), "contact_id",
			      (json_int_t)db_column_int64(st, 1), "customer_id",
			      (json_int_t)db_column_int64(st, 2), "touchpoint_id",
			      (json_int_t)db_column_int64(st, 3), "channel",
			      (const char *)db_column_text(st, 4), "decision",
			      (const char *)db_column_text(st, 5), "status",
			      (const char *)db_column_text(st, 6), "attempts", db_column_int(st, 7));
	const char *times[] = {"send_at", "sent_at", "expires_at", "reminder_at", "opened_at",
			       "started_at", "completed_at"};
	for (int i = 0; i < 7; i++)
		json_object_set_new(o, times[i], sq_time_json(st, 8 + i));
	json_object_set_new(o, "reminder_status", json_string((const char *)db_column_text(st, 15)));
	const unsigned char *le = db_column_text(st, 16);
	json_object_set_new(o, "last_error", le ? json_string((const char *)le) : json_null());
	return o;
}

ks_err store_invitation_list(ks_store *s, const store_invite_filter *f, const store_list_query *q,
			     json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			     "SELECT id, contact_id, customer_id, touchpoint_id, channel, decision, status,"
			     " attempts, send_at, sent_at, expires_at, reminder_at, opened_at, started_at,"
			     " completed_at, reminder_status, last_error FROM invitations"
			     " WHERE id > ?1 AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR decision = ?4)"
			     " AND (?5 IS NULL OR touchpoint_id = ?5) AND (?6 IS NULL OR customer_id = ?6)"
			     " ORDER BY id LIMIT ?2",
			     &st, e);
	if (!err) {
		db_bind_int64(st, 1, q->after_id);
		db_bind_int(st, 2, q->limit + 1);
		if (f->status)
			db_bind_text(st, 3, f->status, -1, DB_STATIC);
		if (f->decision)
			db_bind_text(st, 4, f->decision, -1, DB_STATIC);
		sq_bind_id(st, 5, f->touchpoint_id);
		sq_bind_id(st, 6, f->customer_id);
		err = sq_page(c, st, q, sq_invitation_row, out, e);
	}
	sq_release(s, c);
	return err;
}

/* ---- the funnel ------------------------------------------------------------------- */

/* Group expressions are chosen from this fixed list, never taken from input.
 * "Everything" is not a query of its own: it is the sum of the touchpoint
 * groups (every invitation has exactly one touchpoint), so the management
 * view's two calls share one scan. */
static const char *sq_funnel_group(const char *g)
{
	if (g == NULL || strcmp(g, "touchpoint") == 0)
		return "i.touchpoint_id";
	if (strcmp(g, "team") == 0)
		return "i.team_id";
	if (strcmp(g, "channel") == 0)
		return "i.channel";
	/* The local month (sqlite_store.c's ks_local_month): a contact at
	 * 23:30 UTC on 30 November is in December in Amsterdam. */
	if (strcmp(g, "month") == 0)
		return "ks_local_month(co.occurred_at)";
	return NULL;
}

static json_t *sq_rate(int64_t num, int64_t den)
{
	return den > 0 ? json_real((double)num / (double)den) : json_null();
}

/* The seven counts of a funnel row, in the order of the SELECT. */
#define SQ_FUNNEL_N 7

static json_t *sq_funnel_row(json_t *key, const int64_t v[SQ_FUNNEL_N])
{
	return json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
			 "key", key, "contacts", (json_int_t)v[0], "invited", (json_int_t)v[1],
			 "not_invited", (json_int_t)(v[0] - v[1]), "delivered", (json_int_t)v[2],
			 "opened", (json_int_t)v[3], "started", (json_int_t)v[4], "completed",
			 (json_int_t)v[5], "failed", (json_int_t)v[6], "response_rate", sq_rate(v[5], v[1]),
			 "open_rate", sq_rate(v[3], v[2]), "completion_rate", sq_rate(v[5], v[3]));
}

/* The funnel rows of one grouping, counted in SQL. The scan is driven from
 * invitations in table order with each contact fetched by its rowid (CROSS
 * JOIN fixes that order): the planner's own choice, contacts by an index
 * and each invitation through the contact_id index, was five times slower
 * on the demo (1.3 s against 0.25 s for 240,000 invitations, issue 13). */
static ks_err sq_funnel_count(ks_store *s, const char *g, int64_t from, int64_t to, json_t **rows_out,
			      ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	/* CROSS JOIN with ON is SQLite's way to fix the join order;
	 * PostgreSQL's CROSS JOIN takes no ON, and its planner needs no hint */
	const char *join = db_conn_kind(c->db) == DB_POSTGRES ? "JOIN" : "CROSS JOIN";
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "SELECT %s AS k, count(*), total(i.decision='created'), total(i.sent_at IS NOT NULL),"
		 " total(i.opened_at IS NOT NULL), total(i.started_at IS NOT NULL),"
		 " total(i.completed_at IS NOT NULL), total(i.status='failed')"
		 " FROM invitations i %s contacts co ON co.id = i.contact_id"
		 " WHERE (?1 IS NULL OR co.occurred_at >= ?1) AND (?2 IS NULL OR co.occurred_at < ?2)"
		 " GROUP BY k ORDER BY k",
		 g, join);
	db_stmt *st;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err) {
		if (from)
			db_bind_int64(st, 1, from);
		if (to)
			db_bind_int64(st, 2, to);
		json_t *rows = json_array();
		int rc;
		while ((rc = db_step(st)) == DB_ROW) {
			int64_t v[SQ_FUNNEL_N];
			for (int i = 0; i < SQ_FUNNEL_N; i++)
				v[i] = db_column_int64(st, i + 1);
			json_t *key = db_column_type(st, 0) == DB_INTEGER
					      ? json_integer(db_column_int64(st, 0))
				      : db_column_type(st, 0) == DB_NULL
					      ? json_null()
					      : json_string((const char *)db_column_text(st, 0));
			json_array_append_new(rows, sq_funnel_row(key, v));
		}
		db_finalize(st);
		if (rc != DB_DONE) {
			json_decref(rows);
			err = sq_fail(c, rc, e);
		} else {
			*rows_out = rows;
		}
	}
	sq_release(s, c);
	return err;
}

/* The one row "all" from the touchpoint rows (none when there are none, as
 * a GROUP BY over no invitations gives none). */
static json_t *sq_funnel_total(const json_t *rows)
{
	json_t *out = json_array();
	if (json_array_size(rows) == 0)
		return out;
	static const char *const names[SQ_FUNNEL_N] = {"contacts", "invited", "delivered", "opened",
						       "started", "completed", "failed"};
	int64_t v[SQ_FUNNEL_N] = {0};
	size_t i;
	const json_t *r;
	json_array_foreach(rows, i, r)
		for (int k = 0; k < SQ_FUNNEL_N; k++)
			v[k] += json_integer_value(json_object_get(r, names[k]));
	json_array_append_new(out, sq_funnel_row(json_string("all"), v));
	return out;
}

/* ---- the funnel's cache (issue 13) ---------------------------------------------------
 *
 * A funnel is a full scan of the invitations; the management view asks for
 * it at every load. Results are kept per (grouping, window) together with
 * the database's data version as a connection of the cache's own sees it:
 * that connection never writes, so its PRAGMA data_version changes exactly
 * when any other connection (or process) has committed since, and a result
 * is reused only while nothing at all was committed. A second request for
 * a result being counted waits for it instead of scanning again. */

#define SQ_FUNNEL_SLOTS 16

/* A cached result: the funnel's rows, or a representativeness reply. */
typedef struct sq_cached {
	json_t *rows;            /* owned */
	store_repr repr;         /* owned rows */
	bool full;               /* holds a result */
} sq_cached;

static void sq_cached_clear(sq_cached *c)
{
	json_decref(c->rows);
	store_repr_free(&c->repr);
	memset(c, 0, sizeof *c);
}

/* *dst becomes a copy of *src (dst empty before); false when out of memory. */
static bool sq_cached_copy(sq_cached *dst, const sq_cached *src)
{
	memset(dst, 0, sizeof *dst);
	dst->repr = src->repr;
	dst->repr.rows = NULL;
	if (src->repr.n) {
		dst->repr.rows = malloc(src->repr.n * sizeof *dst->repr.rows);
		if (dst->repr.rows == NULL)
			return false;
		memcpy(dst->repr.rows, src->repr.rows, src->repr.n * sizeof *dst->repr.rows);
	}
	if (src->rows && (dst->rows = json_deep_copy(src->rows)) == NULL) {
		store_repr_free(&dst->repr);
		return false;
	}
	dst->full = true;
	return true;
}

typedef struct sq_funnel_slot {
	char group[48];          /* the grouping, or "repr:" and the dimension */
	int64_t from, to;
	int64_t version;
	uint64_t used;           /* for least-recently-used replacement */
	bool busy;               /* being counted */
	sq_cached value;         /* empty while busy */
} sq_funnel_slot;

struct sq_funnel_cache {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db;             /* read-only, for PRAGMA data_version only */
	uint64_t tick;
	sq_funnel_slot slot[SQ_FUNNEL_SLOTS];
};

sq_funnel_cache *sq_funnel_cache_new(const char *path)
{
	sq_funnel_cache *fc = calloc(1, sizeof *fc);
	if (fc == NULL)
		return NULL;
	if (sqlite3_open_v2(path, &fc->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		sqlite3_close(fc->db);
		free(fc);
		return NULL; /* no cache: every request counts */
	}
	sqlite3_busy_timeout(fc->db, SQ_BUSY_TIMEOUT_MS);
	pthread_mutex_init(&fc->mu, NULL);
	pthread_cond_init(&fc->cv, NULL);
	return fc;
}

void sq_funnel_cache_free(sq_funnel_cache *fc)
{
	if (fc == NULL)
		return;
	for (int i = 0; i < SQ_FUNNEL_SLOTS; i++)
		sq_cached_clear(&fc->slot[i].value);
	sqlite3_close(fc->db);
	pthread_mutex_destroy(&fc->mu);
	pthread_cond_destroy(&fc->cv);
	free(fc);
}

/* The data version now; -1 when it cannot be read (then nothing is reused). */
static int64_t sq_funnel_version(sq_funnel_cache *fc)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(fc->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static sq_funnel_slot *sq_funnel_find(sq_funnel_cache *fc, const char *g, int64_t from, int64_t to)
{
	for (int i = 0; i < SQ_FUNNEL_SLOTS; i++) {
		sq_funnel_slot *sl = &fc->slot[i];
		if ((sl->busy || sl->value.full) && sl->from == from && sl->to == to && strcmp(sl->group, g) == 0)
			return sl;
	}
	return NULL;
}

static sq_funnel_slot *sq_funnel_victim(sq_funnel_cache *fc)
{
	sq_funnel_slot *pick = NULL;
	for (int i = 0; i < SQ_FUNNEL_SLOTS; i++) {
		sq_funnel_slot *sl = &fc->slot[i];
		if (!sl->busy && (pick == NULL || sl->used < pick->used))
			pick = sl;
	}
	return pick;
}

/* Counts a result into *out (empty before; the caller's). */
typedef ks_err (*sq_cache_count)(ks_store *s, const char *arg, int64_t from, int64_t to, sq_cached *out,
				 ks_error *e);

/* The result under key in [from, to): a copy of the cached one while the
 * data version holds, else counted by count(arg) -- once, however many ask
 * at the same time. *out is the caller's (sq_cached_clear). */
static ks_err sq_cache_get(ks_store *s, const char *key, sq_cache_count count, const char *arg, int64_t from,
			   int64_t to, sq_cached *out, ks_error *e)
{
	sq_funnel_cache *fc = s->funnel;
	memset(out, 0, sizeof *out);
	if (fc == NULL)
		return count(s, arg, from, to, out, e);
	pthread_mutex_lock(&fc->mu);
	for (;;) {
		int64_t version = sq_funnel_version(fc);
		sq_funnel_slot *sl = sq_funnel_find(fc, key, from, to);
		if (sl && sl->busy) {
			pthread_cond_wait(&fc->cv, &fc->mu); /* the counting request will wake us */
			continue;
		}
		if (sl && version >= 0 && sl->version == version) {
			sl->used = ++fc->tick;
			bool ok = sq_cached_copy(out, &sl->value);
			pthread_mutex_unlock(&fc->mu);
			return ok ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		}
		if (sl == NULL)
			sl = sq_funnel_victim(fc);
		if (sl == NULL) { /* every slot is being counted: count without the cache */
			pthread_mutex_unlock(&fc->mu);
			return count(s, arg, from, to, out, e);
		}
		sq_cached_clear(&sl->value);
		snprintf(sl->group, sizeof sl->group, "%s", key);
		sl->from = from;
		sl->to = to;
		sl->busy = true;
		pthread_mutex_unlock(&fc->mu);
		/* the version is read before counting: a commit during the scan
		 * makes the next request count again rather than trust it */
		ks_err err = count(s, arg, from, to, out, e);
		pthread_mutex_lock(&fc->mu);
		sl->busy = false;
		sl->used = ++fc->tick;
		sl->version = version;
		if (!err && version >= 0 && !sq_cached_copy(&sl->value, out))
			sq_cached_clear(&sl->value);
		pthread_cond_broadcast(&fc->cv);
		pthread_mutex_unlock(&fc->mu);
		return err;
	}
}

static ks_err sq_funnel_count_cb(ks_store *s, const char *expr, int64_t from, int64_t to, sq_cached *out,
				 ks_error *e)
{
	return sq_funnel_count(s, expr, from, to, &out->rows, e);
}

ks_err store_funnel(ks_store *s, const char *group_by, int64_t from, int64_t to, json_t **out,
		    ks_error *e)
{
	const char *expr = sq_funnel_group(group_by);
	if (expr == NULL)
		return ks_fail(e, KS_ERR_INVALID, "group_by",
			       "group_by must be touchpoint, team, channel or month");
	const char *g = group_by ? group_by : "touchpoint";
	sq_cached got;
	ks_err err = sq_cache_get(s, g, sq_funnel_count_cb, expr, from, to, &got, e);
	json_t *rows = got.rows;
	if (err) {
		sq_cached_clear(&got);
		return err;
	}
	if (group_by == NULL) {
		json_t *all = sq_funnel_total(rows);
		json_decref(rows);
		rows = all;
	}
	*out = json_pack("{s:s?, s:o}", "group_by", group_by, "rows", rows);
	return KS_OK;
}

/* The value of an invitation on a dimension, over the columns of
 * sq_repr_sql's inner select; v is computed once a row there. */
static const char *sq_segment_value(const char *d)
{
	if (strcmp(d, "language") == 0)
		return "cu.language";
	if (strcmp(d, "segment") == 0)
		return "coalesce(nullif(cu.segment, ''), 'unknown')";
	if (strcmp(d, "channel") == 0)
		return "coalesce(i.channel, 'unknown')";
	/* Years in the contact's local year, as the analytics index takes them
	 * in the response's (query.c): an unknown or impossible birth year or
	 * customer-since gives NULL, hence "unknown". */
	if (strcmp(d, "age_band") == 0)
		return "ks_local_year(co.occurred_at) - nullif(cu.birth_year, 0)";
	if (strcmp(d, "customer_since_band") == 0)
		return "ks_local_year(co.occurred_at)"
		       " - nullif(CAST(substr(cu.customer_since, 1, 4) AS INTEGER), 0)";
	return NULL;
}

/* The segment label of v: the bands of the analytics index (query.c's
 * an_age_band, an_since_band) for the two year dimensions, v itself for
 * the others. */
static const char *sq_segment_band(const char *d)
{
	if (strcmp(d, "age_band") == 0)
		return "CASE WHEN v IS NULL OR v < 0 OR v > 130 THEN 'unknown' WHEN v < 25 THEN '<25'"
		       " WHEN v < 35 THEN '25-34' WHEN v < 45 THEN '35-44' WHEN v < 55 THEN '45-54'"
		       " WHEN v < 65 THEN '55-64' ELSE '65+' END";
	if (strcmp(d, "customer_since_band") == 0)
		return "CASE WHEN v IS NULL OR v < 0 OR v > 200 THEN 'unknown' WHEN v < 1 THEN '<1y'"
		       " WHEN v < 3 THEN '1-2y' WHEN v < 6 THEN '3-5y' WHEN v < 11 THEN '6-10y'"
		       " ELSE '>10y' END";
	return "v";
}

void store_repr_free(store_repr *r)
{
	if (r == NULL)
		return;
	free(r->rows);
	memset(r, 0, sizeof *r);
}

/* Bands in their natural order, as the analytics index codes them
 * (unknown first); any other label sorts after them, by text. */
static const char *const sq_age_bands[] = {"unknown", "<25", "25-34", "35-44", "45-54", "55-64", "65+", NULL};
static const char *const sq_since_bands[] = {"unknown", "<1y", "1-2y", "3-5y", "6-10y", ">10y", NULL};

static int sq_band_rank(const char *const *bands, const char *label)
{
	for (int i = 0; bands && bands[i]; i++)
		if (strcmp(bands[i], label) == 0)
			return i;
	return 1000;
}

static void sq_repr_sort(store_repr *out, const char *dimension)
{
	const char *const *bands = strcmp(dimension, "age_band") == 0 ? sq_age_bands
				   : strcmp(dimension, "customer_since_band") == 0 ? sq_since_bands
										    : NULL;
	/* insertion sort: a handful of segments */
	for (size_t i = 1; i < out->n; i++) {
		store_repr_row x = out->rows[i];
		int rx = sq_band_rank(bands, x.segment);
		size_t j = i;
		for (; j > 0; j--) {
			const store_repr_row *y = &out->rows[j - 1];
			int ry = sq_band_rank(bands, y->segment);
			if (ry < rx || (ry == rx && strcmp(y->segment, x.segment) <= 0))
				break;
			out->rows[j] = out->rows[j - 1];
		}
		out->rows[j] = x;
	}
}

/* The row of segment label in out (appended when new); NULL when out of
 * memory. Segments are few (a handful of bands, channels or customer
 * segments): a linear search. */
static store_repr_row *sq_repr_row(store_repr *out, size_t *cap, const char *label)
{
	/* a segment is taken up to 500 bytes: its label is cut at a character
	 * boundary (a cut inside one is no JSON string), and segments alike in
	 * what is kept share a row */
	char cut[sizeof out->rows[0].segment];
	utf8_copy(cut, sizeof cut, label);
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->rows[i].segment, cut) == 0)
			return &out->rows[i];
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		store_repr_row *nr = realloc(out->rows, ncap * sizeof *nr);
		if (nr == NULL)
			return NULL;
		out->rows = nr;
		*cap = ncap;
	}
	store_repr_row *r = &out->rows[out->n++];
	memset(r, 0, sizeof *r);
	memcpy(r->segment, cut, sizeof cut);
	return r;
}

/* Representativeness, counted in customers, in one pass over the
 * invitations of the window: SQL groups them by customer and segment
 * (ordered by customer), and each group is one invited customer of its
 * segment -- a respondent when any of its invitations was completed; the
 * change of customer from one group to the next counts the window's
 * distinct customers. The inner select computes a row's value once (the
 * OFFSET 0 keeps SQLite from folding it into every branch of the band's
 * CASE, each computing the local year again). */
static ks_err sq_repr_count(ks_store *s, const char *dimension, int64_t from, int64_t to,
			    store_repr *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	const char *v = dimension ? sq_segment_value(dimension) : NULL;
	if (v == NULL)
		return ks_fail(e, KS_ERR_INVALID, "dimension",
			       "dimension must be age_band, customer_since_band, channel, language or segment");
	sq_conn *c = sq_acquire(s);
	/* LIMIT -1 is SQLite's "no limit"; PostgreSQL says LIMIT ALL (and
	 * does not fold the subquery into the CASE anyway) */
	const char *no_limit = db_conn_kind(c->db) == DB_POSTGRES ? "LIMIT ALL" : "LIMIT -1";
	char sql[4096];
	snprintf(sql, sizeof sql,
		 "SELECT cust, %s AS k, count(*), total(done), max(done)"
		 " FROM (SELECT %s AS v, i.customer_id AS cust,"
		 " CASE WHEN i.completed_at IS NOT NULL THEN 1 ELSE 0 END AS done"
		 " FROM invitations i JOIN contacts co ON co.id = i.contact_id"
		 " JOIN customers cu ON cu.id = i.customer_id"
		 " WHERE i.decision = 'created' AND (?1 IS NULL OR co.occurred_at >= ?1)"
		 " AND (?2 IS NULL OR co.occurred_at < ?2) %s OFFSET 0) AS w"
		 " GROUP BY cust, k ORDER BY cust, k",
		 sq_segment_band(dimension), v, no_limit);
	db_stmt *st;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err) {
		sq_release(s, c);
		return err;
	}
	sq_bind_id(st, 1, from);
	sq_bind_id(st, 2, to);
	size_t cap = 0;
	int64_t cust = 0;
	bool cust_done = false;
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t id = db_column_int64(st, 0);
		const unsigned char *label = db_column_text(st, 1);
		store_repr_row *r = sq_repr_row(out, &cap, label ? (const char *)label : "unknown");
		if (r == NULL) {
			rc = DB_NOMEM;
			break;
		}
		int64_t n = db_column_int64(st, 2), done = db_column_int64(st, 3);
		bool responded = db_column_int(st, 4) != 0;
		r->invited_customers++;
		r->respondents += responded;
		r->invitations += n;
		r->completed += done;
		out->invitations += n;
		out->completed += done;
		if (out->invited_customers == 0 || id != cust) {
			out->respondents += cust_done;
			out->invited_customers++;
			cust = id;
			cust_done = false;
		}
		cust_done = cust_done || responded;
	}
	out->respondents += cust_done;
	db_finalize(st);
	if (rc != DB_DONE)
		err = rc == DB_NOMEM ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory")
					 : ks_fail(e, KS_ERR_DB, NULL, "cannot compute representativeness: %s",
						   db_errmsg(c->db));
	sq_release(s, c);
	if (err) {
		store_repr_free(out);
		return err;
	}
	sq_repr_sort(out, dimension);
	return KS_OK;
}

static ks_err sq_repr_count_cb(ks_store *s, const char *dimension, int64_t from, int64_t to, sq_cached *out,
			       ks_error *e)
{
	return sq_repr_count(s, dimension, from, to, &out->repr, e);
}

/* Representativeness is a scan of the window's invitations as well (two
 * seconds on the demo): reused like the funnel while nothing is committed
 * (issue 13). */
ks_err store_representativeness(ks_store *s, const char *dimension, int64_t from, int64_t to,
				store_repr *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	if (dimension == NULL || sq_segment_value(dimension) == NULL)
		return sq_repr_count(s, dimension, from, to, out, e); /* its 422 */
	char key[48];
	snprintf(key, sizeof key, "repr:%s", dimension);
	sq_cached got;
	ks_err err = sq_cache_get(s, key, sq_repr_count_cb, dimension, from, to, &got, e);
	json_decref(got.rows);
	*out = got.repr;
	if (err)
		store_repr_free(out);
	return err;
}

/* ---- webhook outbox ------------------------------------------------------------- */

/* issue 18 (NODES): how long a claimed webhook is left to its node. */
#define SQ_WEBHOOK_LEASE_S 600

static int sq_webhook_job_cmp(const void *a, const void *b)
{
	int64_t x = ((const store_webhook_job *)a)->id, y = ((const store_webhook_job *)b)->id;
	return x < y ? -1 : x > y;
}

ks_err store_webhook_claim(ks_store *s, int64_t now, store_webhook_job *jobs, int max, int *n,
			   ks_error *e)
{
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	/* issue 18 (NODES): claimed, so that nodes side by side do not both
	 * send it: the claim moves next_attempt_at past a lease (record sets
	 * it again), so a node killed mid-send leaves it to be retried by any
	 * node after the lease. One statement: a second node's UPDATE waits
	 * for the first's row locks and then finds next_attempt_at moved. */
	char sql[700];
	snprintf(sql, sizeof sql,
		 "UPDATE webhook_outbox SET next_attempt_at = ?3%s"
		 " WHERE status='pending' AND next_attempt_at <= ?1 AND id IN (SELECT id FROM webhook_outbox"
		 " WHERE status='pending' AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2)"
		 " RETURNING id, attempts, event, payload",
		 sq_node_claim_sql(c));
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err) {
		db_bind_int64(st, 1, now);
		db_bind_int(st, 2, max);
		db_bind_int64(st, 3, now + SQ_WEBHOOK_LEASE_S);
		/* end issue 18 (NODES) */
		int rc = DB_DONE;
		while (*n < max && (rc = db_step(st)) == DB_ROW) {
			store_webhook_job *j = &jobs[*n];
			j->id = db_column_int64(st, 0);
			j->attempts = db_column_int(st, 1) + 1;
			sq_text_copy(st, 2, j->event, sizeof j->event);
			j->payload = strdup((const char *)db_column_text(st, 3));
			if (j->payload == NULL) {
				rc = DB_NOMEM;
				break;
			}
			(*n)++;
		}
		/* a failed claim is an error, not "nothing due" (review, issue 18) */
		if (rc != DB_ROW && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
		/* RETURNING has no order: the events go out in id order */
		qsort(jobs, (size_t)*n, sizeof *jobs, sq_webhook_job_cmp);
	}
	sq_release(s, c);
	return err;
}

ks_err store_webhook_record(ks_store *s, const store_webhook_job *j, bool ok, int http_status,
			    int64_t now, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	const char *sql = ok ? "UPDATE webhook_outbox SET status='sent', attempts=?2, last_status=?3 WHERE id=?1"
		: j->attempts >= INVITE_MAX_ATTEMPTS
			? "UPDATE webhook_outbox SET status='failed', attempts=?2, last_status=?3 WHERE id=?1"
			: "UPDATE webhook_outbox SET attempts=?2, last_status=?3, next_attempt_at=?4 WHERE id=?1";
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err) {
		db_bind_int64(st, 1, j->id);
		db_bind_int(st, 2, j->attempts);
		db_bind_int(st, 3, http_status);
		if (db_bind_parameter_count(st) >= 4)
			db_bind_int64(st, 4, now + sq_backoff(j->attempts));
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	return err;
}

/* ---- bulk: historical invitations: sqlite_bulk.c (issue 18) ---- */

/* ==== the organisation's voice (issue 13, migration 014) ====================== */

void store_voice_free(store_voice *v)
{
	if (v == NULL)
		return;
	free(v->logo);
	v->logo = NULL;
	v->logo_len = 0;
}

ks_err store_voice_get(ks_store *s, store_voice *out, bool with_logo, ks_error *e)
{
	memset(out, 0, sizeof *out);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, with_logo
			     ? "SELECT form_of_address, organisation_name, coalesce(logo_type,''), logo,"
			       " coalesce(updated_by,0), coalesce(updated_at,0) FROM org_voice WHERE id=1"
			     : "SELECT form_of_address, organisation_name, coalesce(logo_type,''),"
			       " coalesce(length(logo),0), coalesce(updated_by,0), coalesce(updated_at,0)"
			       " FROM org_voice WHERE id=1",
			     &st, e);
	if (!err) {
		int rc = db_step(st);
		if (rc == DB_ROW) {
			out->formal = strcmp(sq_ctext(st, 0), "u") == 0;
			sq_text_copy(st, 1, out->organisation_name, sizeof out->organisation_name);
			sq_text_copy(st, 2, out->logo_type, sizeof out->logo_type);
			int n = with_logo ? db_column_bytes(st, 3) : 0;
			const void *blob = with_logo ? db_column_blob(st, 3) : NULL;
			if (!with_logo && out->logo_type[0])
				out->logo_len = (size_t)db_column_int64(st, 3);
			if (blob && n > 0 && out->logo_type[0]) {
				out->logo = malloc((size_t)n);
				if (out->logo == NULL) {
					err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
				} else {
					memcpy(out->logo, blob, (size_t)n);
					out->logo_len = (size_t)n;
				}
			}
			out->updated_by = db_column_int64(st, 4);
			out->updated_at = db_column_int64(st, 5);
		} else if (rc != DB_DONE) {
			err = sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_voice_put(ks_store *s, store_voice *v, int64_t now, ks_error *e)
{
	if (v->logo_len > STORE_LOGO_MAX)
		return ks_fail(e, KS_ERR_RANGE, "logo", "the logo is larger than %d bytes", STORE_LOGO_MAX);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "INSERT INTO org_voice(id, form_of_address, organisation_name,"
			     " logo_type, logo, updated_by, updated_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)"
			     " ON CONFLICT (id) DO UPDATE SET form_of_address = excluded.form_of_address,"
			     " organisation_name = excluded.organisation_name, logo_type = excluded.logo_type,"
			     " logo = excluded.logo, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
			     &st, e);
	if (!err) {
		db_bind_text(st, 1, v->formal ? "u" : "je", -1, DB_STATIC);
		db_bind_text(st, 2, v->organisation_name, -1, DB_STATIC);
		if (v->logo && v->logo_len && v->logo_type[0]) {
			db_bind_text(st, 3, v->logo_type, -1, DB_STATIC);
			db_bind_blob(st, 4, v->logo, (int)v->logo_len, DB_STATIC);
		}
		if (v->updated_by)
			db_bind_int64(st, 5, v->updated_by);
		db_bind_int64(st, 6, now);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	if (!err)
		v->updated_at = now;
	return err;
}

void store_unsub_language(ks_store *s, const char *token, char lang[3])
{
	snprintf(lang, 3, "nl");
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	if (sq_cprep(c, "SELECT cu.language FROM invitations i JOIN customers cu ON cu.id = i.customer_id"
		       " WHERE i.unsubscribe_token=?1", &st, NULL) == KS_OK) {
		db_bind_text(st, 1, token, -1, DB_STATIC);
		if (db_step(st) == DB_ROW && strcmp(sq_ctext(st, 0), "en") == 0)
			snprintf(lang, 3, "en");
		db_finalize(st);
	}
	sq_release(s, c);
}
