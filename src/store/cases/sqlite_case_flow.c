/* sqlite_case_flow.c — moving cases (issue 6): the status change with its
 * optimistic version check, closing the loop with the customer (message
 * and re-survey), notes, escalation past the deadline, and the outbox of
 * case mails the scheduler sends. See store.h, "cases".
 *
 * Every change is one IMMEDIATE transaction: the case row, the mail to the
 * customer, the re-survey invitation and the webhook commit together or
 * not at all.
 */
#include "store/sqlite_int.h"
#include "core/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/flow.h"
#include "cases/sla.h"

#define CASE_MAIL_MAX_ATTEMPTS 8

static const sq_outbox sq_case_mails = {"case_mails", "status", CASE_MAIL_MAX_ATTEMPTS, false, 0};
static const sq_outbox sq_case_digests = {"case_digests", "status", CASE_MAIL_MAX_ATTEMPTS, false, 0};
#define CASE_RESURVEY_DELAY (24 * 3600)   /* let the fix be felt first */
#define CASE_RESURVEY_TTL (14 * 86400)

/* What a change needs to know about the case as it is. */
typedef struct sq_case_now {
	char status[16];
	char rule[16];
	int64_t version;
	int64_t customer_id;
	int64_t response_id;
	int consent;             /* -1 unknown */
} sq_case_now;

static ks_err sq_case_read(sq_conn *c, int64_t id, sq_case_now *cur, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT status, version, customer_id, coalesce(response_id, 0),"
			      " coalesce(consent, -1), coalesce(rule, '') FROM cases WHERE id = ?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		snprintf(cur->status, sizeof cur->status, "%s", sq_ctext(st, 0));
		cur->version = db_column_int64(st, 1);
		cur->customer_id = db_column_int64(st, 2);
		cur->response_id = db_column_int64(st, 3);
		cur->consent = db_column_int(st, 4);
		snprintf(cur->rule, sizeof cur->rule, "%s", sq_ctext(st, 5));
	} else {
		err = rc == DB_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "case %lld not found", (long long)id)
					: sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

/* Why the customer may not be written to, or NULL when they may: the
 * case's consent, the opt-out (for good), an address. */
static ks_err sq_case_reach(sq_conn *c, const sq_case_now *cur, int consent, const char **why,
			    ks_error *e)
{
	*why = NULL;
	if (consent == 0) {
		*why = "no_consent";
		return KS_OK;
	}
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT opted_out_at IS NOT NULL, coalesce(email, '') FROM customers"
				 " WHERE id = ?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, cur->customer_id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		if (db_column_int(st, 0))
			*why = "opted_out";
		else if (strchr(sq_ctext(st, 1), '@') == NULL)
			*why = "no_email";
	} else {
		*why = "no_email";
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

/* A re-survey: a new contact on the touchpoint of the response that opened
 * the case, and an invitation for it a day from now (not subject to the
 * fatigue rule: the customer asked for the follow-up by complaining). */
static ks_err sq_case_resurvey(ks_store *s, sq_conn *c, const sq_case_now *cur, int64_t case_id,
			       int64_t now, int64_t *invitation_id, ks_error *e)
{
	char token[MODEL_TOKEN_LEN + 1], unsub[MODEL_TOKEN_LEN + 1], reason[64], msgid[160];
	sq_token(token);
	sq_token(unsub);
	snprintf(reason, sizeof reason, "case %" PRId64 " follow-up", case_id);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO contacts (customer_id, employee_id, team_id, touchpoint_id,"
			      " channel, reason, occurred_at, token, expires_at)"
			      " SELECT r.customer_id, r.employee_id, r.team_id, r.touchpoint_id, 'email', ?2,"
			      " ?3, ?4, ?5 FROM responses r WHERE r.id = ?1 AND r.touchpoint_id IS NOT NULL",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, cur->response_id);
	db_bind_text(st, 2, reason, -1, DB_STATIC);
	db_bind_int64(st, 3, now);
	db_bind_text(st, 4, token, -1, DB_STATIC);
	db_bind_int64(st, 5, now + CASE_RESURVEY_DELAY + CASE_RESURVEY_TTL);
	err = sq_cstep(c, st, e);
	if (err || db_changes(c->db) != 1)
		return err; /* a response without a touchpoint: nothing to re-survey */
	int64_t contact_id = db_last_insert_rowid(c->db);
	snprintf(msgid, sizeof msgid, "inv-%" PRId64 "-%s@klantstem", contact_id, unsub);
	err = sq_cprep(c,
		       "INSERT INTO invitations (contact_id, customer_id, touchpoint_id, team_id, employee_id,"
		       " channel, decision, status, email, send_at, next_attempt_at, message_id,"
		       " reminder_status, unsubscribe_token, created_at)"
		       " SELECT ct.id, ct.customer_id, ct.touchpoint_id, ct.team_id, ct.employee_id, 'email',"
		       " 'created', 'scheduled', cu.email, ?2, ?2, ?3, 'none', ?4, ?5"
		       " FROM contacts ct JOIN customers cu ON cu.id = ct.customer_id WHERE ct.id = ?1",
		       &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, contact_id);
	db_bind_int64(st, 2, now + CASE_RESURVEY_DELAY);
	db_bind_text(st, 3, msgid, -1, DB_STATIC);
	db_bind_text(st, 4, unsub, -1, DB_STATIC);
	db_bind_int64(st, 5, now);
	err = sq_cstep(c, st, e);
	if (!err)
		*invitation_id = db_last_insert_rowid(c->db);
	(void)s;
	return err;
}

/* The deadline a reopened case gets: from now, by its rule's SLA (48
 * working hours when the rule is gone). */
static ks_err sq_case_new_deadline(sq_conn *c, const char *rule, int64_t now, int64_t *deadline,
				   ks_error *e)
{
	int hours = 48;
	bool working = true;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT sla_hours, working_days FROM alert_rules WHERE kind = ?1", &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, rule, -1, DB_STATIC);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		hours = db_column_int(st, 0);
		working = db_column_int(st, 1) != 0;
	} else if (rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	*deadline = cases_deadline(now, hours, working);
	return err;
}

static void sq_bind_tri(db_stmt *st, int i, int v)
{
	if (v >= 0)
		db_bind_int(st, i, v);
}

/* Check a patch against the case as it is; *to gets the target status. */
static ks_err sq_case_check(sq_conn *c, const sq_case_now *cur, const store_case_patch *p, int consent,
			    const char **to, ks_error *e)
{
	if (cur->version != p->version)
		return ks_fail(e, KS_ERR_CONFLICT, "version",
			       "the case changed meanwhile (version %lld, not %lld): reload and retry",
			       (long long)cur->version, (long long)p->version);
	*to = p->has_status ? p->status : cur->status;
	if (!cases_status_known(*to))
		return ks_fail(e, KS_ERR_INVALID, "status", "status must be new, contacted, resolved or closed");
	if (!cases_status_step(cur->status, *to, consent == 0)) {
		if (consent == 0 && strcmp(*to, "contacted") == 0)
			return ks_fail(e, KS_ERR_INVALID, "status",
				       "the customer did not consent to be contacted: resolve the case"
				       " without contacting them");
		return ks_fail(e, KS_ERR_INVALID, "status", "a case cannot go from %s to %s", cur->status, *to);
	}
	bool resolving = strcmp(*to, "resolved") == 0 && strcmp(cur->status, "resolved") != 0;
	if (p->customer_message && !resolving)
		return ks_fail(e, KS_ERR_INVALID, "customer_message",
			       "customer_message goes with the move to resolved");
	if (p->resurvey && !resolving)
		return ks_fail(e, KS_ERR_INVALID, "resurvey", "resurvey goes with the move to resolved");
	if (p->has_owner && p->owner_user_id) {
		bool found = false;
		ks_err err = sq_row_exists(c, "users", p->owner_user_id, &found, e);
		if (!err && !found)
			err = ks_fail(e, KS_ERR_REF, "owner_user_id", "owner_user_id %lld does not exist",
				      (long long)p->owner_user_id);
		return err;
	}
	return KS_OK;
}

static const char *const sq_case_update_sql =
	"UPDATE cases SET status = ?3,"
	" closed_at = CASE WHEN ?3 = 'closed' THEN coalesce(closed_at, ?4)"
	"  WHEN ?3 = 'new' THEN NULL ELSE closed_at END,"
	" first_contact_at = CASE WHEN ?3 = 'contacted' THEN coalesce(first_contact_at, ?4)"
	"  ELSE first_contact_at END,"
	" resolved_at = CASE WHEN ?3 = 'resolved' THEN coalesce(resolved_at, ?4)"
	"  WHEN ?3 = 'new' THEN NULL ELSE resolved_at END,"
	" deadline = CASE WHEN ?19 THEN ?20 ELSE deadline END,"
	" escalated_at = CASE WHEN ?19 THEN NULL ELSE escalated_at END,"
	" escalated_to_user_id = CASE WHEN ?19 THEN NULL ELSE escalated_to_user_id END,"
	" owner_user_id = CASE WHEN ?5 THEN ?6 ELSE owner_user_id END,"
	" root_cause = CASE WHEN ?7 THEN ?8 ELSE root_cause END,"
	" outcome = CASE WHEN ?9 THEN ?10 ELSE outcome END,"
	" relationship_restored = CASE WHEN ?11 THEN ?12 ELSE relationship_restored END,"
	" customer_retained = CASE WHEN ?13 THEN ?14 ELSE customer_retained END,"
	" consent = CASE WHEN ?15 THEN ?16 ELSE consent END,"
	" customer_message = coalesce(?17, customer_message),"
	" customer_message_status = coalesce(?18, customer_message_status),"
	" resurvey_invitation_id = coalesce(?21, resurvey_invitation_id),"
	" version = version + 1, updated_at = ?4"
	" WHERE id = ?1 AND version = ?2";

/* The lines a change writes to the case's history (issue 13). */
static ks_err sq_case_apply_history(sq_conn *c, int64_t id, const sq_case_now *cur, const char *to,
				    const store_case_patch *p, const char *msg_status, int64_t now, ks_error *e)
{
	ks_err err = KS_OK;
	if (strcmp(cur->status, to) != 0) {
		sq_hist h = {.case_id = id, .at = now, .kind = "status", .user_id = p->by_user_id,
			     .from_status = cur->status, .to_status = to};
		err = sq_case_history(c, &h, e);
	}
	if (!err && p->has_owner) {
		char owner[24] = "";
		if (p->owner_user_id)
			snprintf(owner, sizeof owner, "%" PRId64, p->owner_user_id);
		sq_hist h = {.case_id = id, .at = now, .kind = "owner", .user_id = p->by_user_id,
			     .detail = owner};
		err = sq_case_history(c, &h, e);
	}
	if (!err && msg_status) {
		sq_hist h = {.case_id = id, .at = now, .kind = "message", .user_id = p->by_user_id,
			     .detail = msg_status};
		err = sq_case_history(c, &h, e);
	}
	return err;
}

static ks_err sq_case_apply(ks_store *s, sq_conn *c, int64_t id, const store_case_patch *p, int64_t now,
			    ks_error *e)
{
	sq_case_now cur;
	ks_err err = sq_case_read(c, id, &cur, e);
	if (err)
		return err;
	int consent = p->has_consent ? p->consent : cur.consent;
	const char *to = NULL;
	err = sq_case_check(c, &cur, p, consent, &to, e);
	if (err)
		return err;
	bool reopen = strcmp(to, "new") == 0 && strcmp(cur.status, "new") != 0;
	bool closing = strcmp(to, "closed") == 0 && strcmp(cur.status, "closed") != 0;
	int64_t deadline = 0, invitation = 0;
	if (reopen)
		err = sq_case_new_deadline(c, cur.rule, now, &deadline, e);
	const char *why = NULL, *msg_status = NULL;
	if (!err && (p->customer_message || p->resurvey))
		err = sq_case_reach(c, &cur, consent, &why, e);
	if (!err && p->customer_message) {
		msg_status = why ? why : "queued";
		if (why == NULL)
			err = sq_case_mail_queue(s, c, id, "customer", 0, cur.customer_id, now, e);
	}
	if (!err && p->resurvey && why == NULL)
		err = sq_case_resurvey(s, c, &cur, id, now, &invitation, e);
	db_stmt *st = NULL;
	if (!err)
		err = sq_cprep(c, sq_case_update_sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, p->version);
	db_bind_text(st, 3, to, -1, DB_STATIC);
	db_bind_int64(st, 4, now);
	db_bind_int(st, 5, p->has_owner);
	sq_bind_id(st, 6, p->owner_user_id);
	db_bind_int(st, 7, p->has_root_cause);
	if (p->root_cause)
		db_bind_text(st, 8, p->root_cause, -1, DB_STATIC);
	db_bind_int(st, 9, p->has_outcome);
	if (p->outcome)
		db_bind_text(st, 10, p->outcome, -1, DB_STATIC);
	db_bind_int(st, 11, p->has_restored);
	sq_bind_tri(st, 12, p->restored);
	db_bind_int(st, 13, p->has_retained);
	sq_bind_tri(st, 14, p->retained);
	db_bind_int(st, 15, p->has_consent);
	sq_bind_tri(st, 16, p->consent);
	if (p->customer_message)
		db_bind_text(st, 17, p->customer_message, -1, DB_STATIC);
	if (msg_status)
		db_bind_text(st, 18, msg_status, -1, DB_STATIC);
	db_bind_int(st, 19, reopen);
	db_bind_int64(st, 20, deadline);
	sq_bind_id(st, 21, invitation);
	err = sq_cstep(c, st, e);
	if (err == KS_ERR_CONFLICT) /* reopened while the customer has another open case */
		return ks_fail(e, KS_ERR_CONFLICT, "status",
			       "the customer already has an open case: continue that one");
	if (!err && db_changes(c->db) != 1)
		err = ks_fail(e, KS_ERR_CONFLICT, "version", "the case changed meanwhile: reload and retry");
	if (!err)
		err = sq_case_apply_history(c, id, &cur, to, p, msg_status, now, e);
	if (!err && closing && s->webhooks) {
		json_t *ev = sq_case_event(c, id, e);
		err = ev ? sq_webhook_queue(s, c, "case.closed", ev, e) : KS_ERR_DB;
	}
	return err;
}

typedef struct sq_update_args {
	int64_t id;
	const store_case_patch *p;
	int64_t now;
} sq_update_args;

static ks_err sq_case_update_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_update_args *a = arg;
	return sq_case_apply(s, c, a->id, a->p, a->now, e);
}

ks_err store_case_update(ks_store *s, int64_t id, const store_case_patch *p, int64_t now, ks_error *e)
{
	sq_update_args a = {id, p, now};
	return sq_write_tx(s, sq_case_update_tx, &a, e);
}

/* ---- notes ------------------------------------------------------------------------ */

typedef struct sq_note_args {
	int64_t case_id, user_id, now, note_id;
	const char *text;
} sq_note_args;

static ks_err sq_case_note_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_note_args *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "UPDATE cases SET updated_at = ?2 WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->case_id);
	db_bind_int64(st, 2, a->now);
	err = sq_cstep(c, st, e);
	if (!err && db_changes(c->db) != 1)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "case %lld not found", (long long)a->case_id);
	if (!err)
		err = sq_cprep(c, "INSERT INTO case_notes (case_id, user_id, text, created_at)"
				  " VALUES (?1, ?2, ?3, ?4)",
			       &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->case_id);
	sq_bind_id(st, 2, a->user_id);
	db_bind_text(st, 3, a->text, -1, DB_STATIC);
	db_bind_int64(st, 4, a->now);
	err = sq_cstep(c, st, e);
	a->note_id = db_last_insert_rowid(c->db);
	return err;
}

ks_err store_case_note_add(ks_store *s, int64_t case_id, int64_t user_id, const char *text,
			   int64_t now, json_t **out, ks_error *e)
{
	sq_note_args a = {.case_id = case_id, .user_id = user_id, .now = now, .text = text};
	ks_err err = sq_write_tx(s, sq_case_note_tx, &a, e);
	if (err)
		return err;
	*out = json_pack("{s:I, s:I, s:o, s:s, s:o}", "id", (json_int_t)a.note_id, "case_id",
			 (json_int_t)case_id, "user_id", sq_opt_id(user_id), "text", text, "created_at",
			 sq_iso_or_null(now));
	return KS_OK;
}

/* ---- escalation ----------------------------------------------------------------------- */

#define SQ_ESCALATE_BATCH 200

typedef struct sq_due_case {
	int64_t id, team_id, owner;
} sq_due_case;

static void sq_due_row(db_stmt *st, void *elem)
{
	sq_due_case *d = elem;
	d->id = db_column_int64(st, 0);
	d->team_id = db_column_int64(st, 1);
	d->owner = db_column_int64(st, 2);
}

typedef struct sq_escalate_args {
	int64_t now;
	int n;
} sq_escalate_args;

static ks_err sq_escalate_one(ks_store *s, sq_conn *c, const sq_due_case *d, int64_t now, ks_error *e)
{
	int64_t manager = 0;
	ks_err err = sq_case_manager(c, d->team_id, &manager, e);
	db_stmt *st = NULL;
	if (!err)
		err = sq_cprep(c, "UPDATE cases SET escalated_at = ?2, escalated_to_user_id = ?3 WHERE id = ?1",
			       &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, d->id);
	db_bind_int64(st, 2, now);
	sq_bind_id(st, 3, manager);
	err = sq_cstep(c, st, e);
	char to[24] = "";
	if (manager)
		snprintf(to, sizeof to, "%" PRId64, manager);
	sq_hist h = {.case_id = d->id, .at = now, .kind = "escalated", .detail = to};
	if (!err)
		err = sq_case_history(c, &h, e);
	if (!err && manager)
		err = sq_case_mail_queue(s, c, d->id, "overdue", manager, 0, now, e);
	if (!err && d->owner && d->owner != manager)
		err = sq_case_mail_queue(s, c, d->id, "overdue", d->owner, 0, now, e);
	if (!err && s->webhooks) {
		json_t *ev = sq_case_event(c, d->id, e);
		err = ev ? sq_webhook_queue(s, c, "case.overdue", ev, e) : KS_ERR_DB;
	}
	return err;
}

static ks_err sq_escalate_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_escalate_args *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT id, coalesce(team_id, 0), coalesce(owner_user_id, 0) FROM cases"
			      " WHERE status IN ('new','contacted') AND escalated_at IS NULL"
			      " AND deadline < ?1 ORDER BY deadline LIMIT ?2",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->now);
	db_bind_int(st, 2, SQ_ESCALATE_BATCH);
	sq_due_case *due = NULL;
	size_t n = 0;
	err = sq_collect(c, st, sizeof *due, sq_due_row, SQ_ESCALATE_BATCH, (void **)&due, &n, NULL, e);
	for (size_t i = 0; !err && i < n; i++)
		err = sq_escalate_one(s, c, &due[i], a->now, e);
	free(due);
	if (!err)
		a->n = (int)n;
	return err;
}

/* Is there a row for sql with ?1 = now? A read first, so an idle scheduler
 * pass never takes the write lock the writer wants. */
static ks_err sq_case_any(ks_store *s, const char *sql, int64_t now, bool *any, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	int64_t one = 0;
	ks_err err = sq_one_id(c, sql, now, &one, e);
	sq_release(s, c);
	*any = one != 0;
	return err;
}

ks_err store_case_escalate(ks_store *s, int64_t now, int *n, ks_error *e)
{
	*n = 0;
	bool any = false;
	ks_err err = sq_case_any(s, "SELECT 1 FROM cases WHERE status IN ('new','contacted')"
				    " AND escalated_at IS NULL AND deadline < ?1 LIMIT 1",
				 now, &any, e);
	if (err || !any)
		return err;
	for (;;) {
		sq_escalate_args a = {now, 0};
		err = sq_write_tx(s, sq_escalate_tx, &a, e);
		if (err)
			return err;
		*n += a.n;
		if (a.n < SQ_ESCALATE_BATCH)
			return KS_OK;
	}
}

/* ---- the outbox of case mails ---------------------------------------------------------- */

void store_case_mail_job_clear(store_case_mail_job *j)
{
	free(j->open_text);
	free(j->customer_message);
	j->open_text = NULL;
	j->customer_message = NULL;
}

ks_err store_case_mail_recover(ks_store *s, int *n, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	int digests = 0;
	ks_err err = sq_outbox_recover(c, &sq_case_mails, n, e);
	if (!err)
		err = sq_outbox_recover(c, &sq_case_digests, &digests, e);
	*n += digests;
	sq_release(s, c);
	return err;
}

static char *sq_dup_or_null(db_stmt *st, int i)
{
	const unsigned char *t = db_column_text(st, i);
	return t && t[0] ? strdup((const char *)t) : NULL;
}

static void sq_case_mail_row(db_stmt *st, void *elem)
{
	store_case_mail_job *j = elem;
	memset(j, 0, sizeof *j);
	j->id = db_column_int64(st, 0);
	j->case_id = db_column_int64(st, 1);
	snprintf(j->kind, sizeof j->kind, "%s", sq_ctext(st, 2));
	snprintf(j->to_email, sizeof j->to_email, "%s", sq_ctext(st, 3));
	snprintf(j->language, sizeof j->language, "%s", sq_ctext(st, 4));
	j->attempts = db_column_int(st, 5) + 1;
	snprintf(j->message_id, sizeof j->message_id, "%s", sq_ctext(st, 6));
	snprintf(j->reason, sizeof j->reason, "%s", sq_ctext(st, 7));
	/* customer names are taken up to 500 bytes, team names up to 200: cut
	 * at a character boundary, or the mail check refuses the mail */
	utf8_copy(j->customer_name, sizeof j->customer_name, sq_ctext(st, 8));
	utf8_copy(j->team_name, sizeof j->team_name, sq_ctext(st, 9));
	snprintf(j->owner_name, sizeof j->owner_name, "%s", sq_ctext(st, 10));
	j->deadline = db_column_int64(st, 11);
	j->open_text = sq_dup_or_null(st, 12);
	j->customer_message = sq_dup_or_null(st, 13);
}

typedef struct sq_claim_args {
	int64_t now;
	store_case_mail_job *jobs;
	int max, n;
} sq_claim_args;

static ks_err sq_case_mail_claim_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_claim_args *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT m.id, m.case_id, m.kind, m.to_email, m.language, m.attempts, m.message_id,"
			      " " SQ_CASE_REASON_IN("m.language") ", cu.name, t.name, ou.name,"
			      " coalesce(c.deadline, 0), r.open_text, c.customer_message"
			      " FROM case_mails m JOIN cases c ON c.id = m.case_id"
			      " LEFT JOIN customers cu ON cu.id = c.customer_id"
			      " LEFT JOIN org_units t ON t.id = c.team_id"
			      " LEFT JOIN users ou ON ou.id = c.owner_user_id"
			      " LEFT JOIN responses r ON r.id = c.response_id"
			      " WHERE m.status = 'pending' AND m.next_attempt_at <= ?1 AND m.digest_id IS NULL"
			      " ORDER BY m.next_attempt_at, m.id LIMIT ?2",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->now);
	db_bind_int(st, 2, a->max);
	int rc = DB_DONE;
	while (a->n < a->max && (rc = db_step(st)) == DB_ROW)
		sq_case_mail_row(st, &a->jobs[a->n++]);
	if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	/* issue 18 (PGS-B): a mail another node claimed first (0 rows changed)
	 * is left out; the claimed ones keep their order */
	int kept = 0;
	for (int i = 0; !err && i < a->n; i++) {
		err = sq_outbox_mark_sending(c, &sq_case_mails, a->jobs[i].id, a->jobs[i].attempts, a->now, e);
		if (!err && db_changes(c->db) == 0) {
			store_case_mail_job_clear(&a->jobs[i]);
			continue;
		}
		if (!err && kept != i) {
			a->jobs[kept] = a->jobs[i];
			memset(&a->jobs[i], 0, sizeof a->jobs[i]);
		}
		kept += !err;
	}
	if (!err)
		a->n = kept;
	return err;
}

ks_err store_case_mail_claim(ks_store *s, int64_t now, store_case_mail_job *jobs, int max, int *n,
			     ks_error *e)
{
	sq_claim_args a = {.now = now, .jobs = jobs, .max = max};
	bool any = false;
	*n = 0;
	ks_err err = sq_case_any(s, "SELECT 1 FROM case_mails WHERE status = 'pending'"
				    " AND next_attempt_at <= ?1 AND digest_id IS NULL LIMIT 1",
				 now, &any, e);
	if (err || !any)
		return err;
	err = sq_write_tx(s, sq_case_mail_claim_tx, &a, e);
	if (err) {
		for (int i = 0; i < a.n; i++)
			store_case_mail_job_clear(&jobs[i]);
		a.n = 0;
	}
	*n = a.n;
	return err;
}

typedef struct sq_record_args {
	const store_case_mail_job *j;
	store_send_outcome outcome;
	const char *detail;
	int64_t now;
} sq_record_args;

static ks_err sq_case_mail_record_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_record_args *a = arg;
	const char *status = NULL;
	db_stmt *st = NULL;
	ks_err err = sq_outbox_record(c, &sq_case_mails, a->j->id, a->j->attempts, a->outcome, a->detail,
				      a->now, &status, e);
	if (err || strcmp(a->j->kind, "customer") != 0 || strcmp(status, "pending") == 0)
		return err;
	err = sq_cprep(c, "UPDATE cases SET customer_message_status = ?2 WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->j->case_id);
	db_bind_text(st, 2, status, -1, DB_STATIC);
	return sq_cstep(c, st, e);
}

ks_err store_case_mail_record(ks_store *s, const store_case_mail_job *j, store_send_outcome outcome,
			      const char *detail, int64_t now, ks_error *e)
{
	sq_record_args a = {j, outcome, detail, now};
	return sq_write_tx(s, sq_case_mail_record_tx, &a, e);
}

/* ---- digests of escalations (issue 13) ------------------------------------------------------ */

static ks_err sq_digest_bundle_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	int64_t now = *(int64_t *)arg;
	/* one digest per address and language among the due overdue mails */
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT to_email, language FROM case_mails WHERE kind = 'overdue'"
			      " AND status = 'pending' AND digest_id IS NULL AND next_attempt_at <= ?1"
			      " GROUP BY to_email, language ORDER BY min(id)",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, now);
	int rc;
	while (!err && (rc = db_step(st)) == DB_ROW) {
		char token[MODEL_TOKEN_LEN + 1], msgid[128];
		sq_token(token);
		snprintf(msgid, sizeof msgid, "case-digest-%s@klantstem", token);
		db_stmt *ins = NULL;
		err = sq_cprep(c,
			       "INSERT INTO case_digests (to_email, language, next_attempt_at, message_id,"
			       " created_at) VALUES (?1, ?2, ?3, ?4, ?3)",
			       &ins, e);
		if (err)
			break;
		db_bind_text(ins, 1, sq_ctext(st, 0), -1, DB_TRANSIENT);
		db_bind_text(ins, 2, sq_ctext(st, 1), -1, DB_TRANSIENT);
		db_bind_int64(ins, 3, now);
		db_bind_text(ins, 4, msgid, -1, DB_TRANSIENT);
		err = sq_cstep(c, ins, e);
		if (err)
			break;
		int64_t digest = db_last_insert_rowid(c->db);
		err = sq_cprep(c,
			       "UPDATE case_mails SET digest_id = ?1 WHERE kind = 'overdue' AND status = 'pending'"
			       " AND digest_id IS NULL AND next_attempt_at <= ?2 AND to_email = ?3 AND language = ?4",
			       &ins, e);
		if (err)
			break;
		db_bind_int64(ins, 1, digest);
		db_bind_int64(ins, 2, now);
		db_bind_text(ins, 3, sq_ctext(st, 0), -1, DB_TRANSIENT);
		db_bind_text(ins, 4, sq_ctext(st, 1), -1, DB_TRANSIENT);
		err = sq_cstep(c, ins, e);
		/* issue 18 (PGS-B): on PostgreSQL another node's bundle pass can
		 * have taken these mails since the SELECT (its UPDATE came first):
		 * an empty digest is not kept, or it would be sent with no case */
		if (!err && db_changes(c->db) == 0) {
			err = sq_cprep(c, "DELETE FROM case_digests WHERE id = ?1", &ins, e);
			if (!err) {
				db_bind_int64(ins, 1, digest);
				err = sq_cstep(c, ins, e);
			}
		}
	}
	if (!err && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err store_case_digest_bundle(ks_store *s, int64_t now, ks_error *e)
{
	bool any = false;
	ks_err err = sq_case_any(s, "SELECT 1 FROM case_mails WHERE kind = 'overdue' AND status = 'pending'"
				    " AND digest_id IS NULL AND next_attempt_at <= ?1 LIMIT 1",
				 now, &any, e);
	if (err || !any)
		return err;
	return sq_write_tx(s, sq_digest_bundle_tx, &now, e);
}

void store_case_digest_job_clear(store_case_digest_job *j)
{
	json_decref(j->cases);
	j->cases = NULL;
}

/* The cases of a digest: [{case_id, customer_name, reason, team_name, deadline}]. */
static ks_err sq_digest_cases(sq_conn *c, store_case_digest_job *j, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      /* each case once, however many of its mails the digest holds: IN, not
			       * GROUP BY c.id with other columns (PostgreSQL refuses those) */
			      "SELECT c.id, cu.name, " SQ_CASE_REASON_IN("?2") ", t.name, coalesce(c.deadline, 0)"
			      " FROM cases c"
			      " LEFT JOIN customers cu ON cu.id = c.customer_id"
			      " LEFT JOIN org_units t ON t.id = c.team_id"
			      " WHERE c.id IN (SELECT m.case_id FROM case_mails m WHERE m.digest_id = ?1)"
			      " ORDER BY c.deadline IS NULL DESC, c.deadline, c.id",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, j->id);
	db_bind_text(st, 2, j->language, -1, DB_STATIC);
	j->cases = json_array();
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		json_array_append_new(j->cases,
				      json_pack("{s:I, s:s, s:s, s:s, s:I}", "case_id",
						(json_int_t)db_column_int64(st, 0), "customer_name",
						sq_ctext(st, 1), "reason", sq_ctext(st, 2), "team_name",
						sq_ctext(st, 3), "deadline",
						(json_int_t)db_column_int64(st, 4)));
	if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

typedef struct sq_digest_claim_args {
	int64_t now;
	store_case_digest_job *jobs;
	int max, n;
} sq_digest_claim_args;

static ks_err sq_digest_claim_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_digest_claim_args *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT id, to_email, language, attempts, message_id FROM case_digests"
			      " WHERE status = 'pending' AND next_attempt_at <= ?1"
			      " ORDER BY next_attempt_at, id LIMIT ?2",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->now);
	db_bind_int(st, 2, a->max);
	int rc = DB_DONE;
	while (a->n < a->max && (rc = db_step(st)) == DB_ROW) {
		store_case_digest_job *j = &a->jobs[a->n++];
		memset(j, 0, sizeof *j);
		j->id = db_column_int64(st, 0);
		snprintf(j->to_email, sizeof j->to_email, "%s", sq_ctext(st, 1));
		snprintf(j->language, sizeof j->language, "%s", sq_ctext(st, 2));
		j->attempts = db_column_int(st, 3) + 1;
		snprintf(j->message_id, sizeof j->message_id, "%s", sq_ctext(st, 4));
	}
	if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	/* issue 18 (PGS-B): claimed first, then its cases read; a digest another
	 * node claimed first (0 rows changed) is left out */
	int kept = 0;
	for (int i = 0; !err && i < a->n; i++) {
		err = sq_outbox_mark_sending(c, &sq_case_digests, a->jobs[i].id, a->jobs[i].attempts, a->now,
					     e);
		if (!err && db_changes(c->db) == 0)
			continue;
		if (!err)
			err = sq_digest_cases(c, &a->jobs[i], e);
		if (!err && kept != i) {
			a->jobs[kept] = a->jobs[i];
			memset(&a->jobs[i], 0, sizeof a->jobs[i]);
		}
		kept += !err;
	}
	if (!err)
		a->n = kept;
	return err;
}

ks_err store_case_digest_claim(ks_store *s, int64_t now, store_case_digest_job *jobs, int max, int *n,
			       ks_error *e)
{
	sq_digest_claim_args a = {.now = now, .jobs = jobs, .max = max};
	bool any = false;
	*n = 0;
	ks_err err = sq_case_any(s, "SELECT 1 FROM case_digests WHERE status = 'pending'"
				    " AND next_attempt_at <= ?1 LIMIT 1",
				 now, &any, e);
	if (err || !any)
		return err;
	err = sq_write_tx(s, sq_digest_claim_tx, &a, e);
	if (err) {
		for (int i = 0; i < a.n; i++)
			store_case_digest_job_clear(&jobs[i]);
		a.n = 0;
	}
	*n = a.n;
	return err;
}

typedef struct sq_digest_record_args {
	const store_case_digest_job *j;
	store_send_outcome outcome;
	const char *detail;
	int64_t now;
} sq_digest_record_args;

static ks_err sq_digest_record_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_digest_record_args *a = arg;
	const char *status = NULL;
	db_stmt *st = NULL;
	ks_err err = sq_outbox_record(c, &sq_case_digests, a->j->id, a->j->attempts, a->outcome, a->detail,
				      a->now, &status, e);
	if (err || strcmp(status, "pending") == 0)
		return err;
	/* the mails it stood for share its fate */
	err = sq_cprep(c,
		       "UPDATE case_mails SET status = ?2, sent_at = CASE WHEN ?2 = 'sent' THEN ?3 END"
		       " WHERE digest_id = ?1",
		       &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->j->id);
	db_bind_text(st, 2, status, -1, DB_STATIC);
	db_bind_int64(st, 3, a->now);
	return sq_cstep(c, st, e);
}

ks_err store_case_digest_record(ks_store *s, const store_case_digest_job *j, store_send_outcome outcome,
				const char *detail, int64_t now, ks_error *e)
{
	sq_digest_record_args a = {j, outcome, detail, now};
	return sq_write_tx(s, sq_digest_record_tx, &a, e);
}
