/* sqlite_outbox.c — what every mail outbox of the store shares.
 *
 * Case mails, escalation digests, open-link alerts and compliments (and any
 * new mail a feature queues) are each a table of rows that move
 * 'pending' -> 'sending' -> 'sent' | 'failed', with attempts,
 * next_attempt_at, last_error and sent_at. Each outbox claims with a query
 * of its own, because each joins what its mail needs; marking a claimed row,
 * recording the outcome with its backoff and give-up rule, and putting
 * interrupted sends back after a crash are the same everywhere and are
 * written once, here. The contract is in sqlite_int.h (sq_outbox). */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>

const char *sq_outbox_status(const sq_outbox *o, store_send_outcome outcome, int attempts)
{
	if (outcome == STORE_SEND_OK)
		return "sent";
	if (outcome == STORE_SEND_GIVE_UP || attempts >= o->max_attempts)
		return "failed";
	return "pending";
}

/* Backoff 1, 2, 4 ... minutes, at most 2^10 minutes (17 hours): a mail
 * server that is down for a while is not hammered, one that hiccups is
 * retried soon. attempts counts the try just made (1 for the first). */
int64_t sq_outbox_next_attempt(int64_t now, int attempts)
{
	int shift = attempts < 1 ? 0 : attempts > 11 ? 10 : attempts - 1;
	return now + ((int64_t)60 << shift);
}

ks_err sq_outbox_recover(sq_conn *c, const sq_outbox *o, int *n, ks_error *e)
{
	/* issue 18 (NODES): on PostgreSQL only the claims of nodes that are
	 * gone (sqlite_nodes.c); a live node's send is its own */
	char *cond = NULL;
	*n = 0;
	ks_err err = sq_node_recover_cond(c, o->table, o->status_col, "sending", &cond, e);
	if (err)
		return err;
	char sql[1024];
	int len = snprintf(sql, sizeof sql, "UPDATE %s SET %s = 'pending' WHERE %s = 'sending'%s", o->table,
			   o->status_col, o->status_col, cond);
	free(cond);
	if (len < 0 || (size_t)len >= sizeof sql)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "outbox recovery: too many nodes gone at once");
	/* end issue 18 (NODES) */
	err = sq_exec(c, sql, e);
	*n = err ? 0 : db_changes(c->db);
	return err;
}

ks_err sq_outbox_mark_sending(sq_conn *c, const sq_outbox *o, int64_t id, int attempts, int64_t now,
			      ks_error *e)
{
	char sql[600];
	/* issue 18 (PGS-B, review): the claim changes only a row still as its
	 * SELECT saw it: on PostgreSQL another node's pass can have selected
	 * it too, and the UPDATE that comes second (after the first one's row
	 * lock) changes nothing -- db_changes() 0 tells the caller the row is
	 * not its to send. A leased outbox (claimed_at) also takes back a
	 * 'sending' row past its lease, and then only with its attempts
	 * unchanged (a second node's reclaim of the same row changes none). */
	char cond[300];
	if (o->claimed_at)
		snprintf(cond, sizeof cond,
			 " AND attempts = ?2 - 1 AND ((%s = 'pending' AND next_attempt_at <= ?3)"
			 " OR (%s = 'sending' AND claimed_at <= ?3 - %d))",
			 o->status_col, o->status_col, o->lease_s);
	else
		snprintf(cond, sizeof cond, " AND %s = 'pending' AND next_attempt_at <= ?3", o->status_col);
	snprintf(sql, sizeof sql, "UPDATE %s SET %s = 'sending', attempts = ?2%s%s WHERE id = ?1%s", o->table,
		 o->status_col, o->claimed_at ? ", claimed_at = ?3" : "",
		 sq_node_claim_sql(c) /* issue 18 (NODES): the claiming node */, cond);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	db_bind_int(st, 2, attempts);
	db_bind_int64(st, 3, now);
	return sq_cstep(c, st, e);
}

ks_err sq_outbox_record(sq_conn *c, const sq_outbox *o, int64_t id, int attempts,
			store_send_outcome outcome, const char *detail, int64_t now, const char **status,
			ks_error *e)
{
	const char *st_text = sq_outbox_status(o, outcome, attempts);
	if (status)
		*status = st_text;
	char sql[300];
	snprintf(sql, sizeof sql,
		 "UPDATE %s SET %s = ?2, next_attempt_at = ?3, last_error = ?4,%s"
		 " sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END WHERE id = ?1",
		 o->table, o->status_col, o->claimed_at ? " claimed_at = NULL," : "");
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, st_text, -1, DB_STATIC);
	db_bind_int64(st, 3, sq_outbox_next_attempt(now, attempts));
	if (detail && detail[0])
		db_bind_text(st, 4, detail, -1, DB_STATIC);
	db_bind_int64(st, 5, now);
	return sq_cstep(c, st, e);
}

ks_err sq_outbox_record_one(ks_store *s, const sq_outbox *o, int64_t id, int attempts,
			    store_send_outcome outcome, const char *detail, int64_t now, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_outbox_record(c, o, id, attempts, outcome, detail, now, NULL, e);
	sq_release(s, c);
	sq_storage_failed(s, err);
	return err;
}

/* The queues of store_outbox_depths, by the due column the scheduler's
 * claims read and the status that means "waiting". Invitations and their
 * reminders are two queues of one table; a reminder counts only while the
 * pass would send it (its invitation sent and not answered: the pass skips
 * the others, sqlite_invite.c). */
static const struct {
	const char *kind, *table, *status_col, *waiting, *due_col, *also;
} sq_outbox_queues[STORE_OUTBOX_KINDS] = {
	{"invitation", "invitations", "status", "scheduled", "next_attempt_at", ""},
	{"reminder", "invitations", "reminder_status", "scheduled", "reminder_at",
	 " AND status = 'sent' AND completed_at IS NULL"},
	{"case_mail", "case_mails", "status", "pending", "next_attempt_at", ""},
	{"case_digest", "case_digests", "status", "pending", "next_attempt_at", ""},
	{"digest", "digest_mails", "status", "pending", "next_attempt_at", ""},
	{"pulse", "pulse_invitations", "status", "pending", "next_attempt_at", ""},
	{"guard_alert", "guard_mails", "status", "pending", "next_attempt_at", ""},
	{"compliment", "compliments", "mail_status", "pending", "next_attempt_at", ""},
	{"webhook", "webhook_outbox", "status", "pending", "next_attempt_at", ""},
};

static ks_err sq_outbox_depth(sq_conn *c, int q, int64_t now, store_outbox_depth *out, ks_error *e)
{
	char sql[400];
	snprintf(sql, sizeof sql, "SELECT count(*), min(%s) FROM %s WHERE %s = '%s' AND %s <= ?1%s",
		 sq_outbox_queues[q].due_col, sq_outbox_queues[q].table, sq_outbox_queues[q].status_col,
		 sq_outbox_queues[q].waiting, sq_outbox_queues[q].due_col, sq_outbox_queues[q].also);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, now);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		out->due = db_column_int64(st, 0);
		out->oldest_due_s = db_column_type(st, 1) == DB_NULL ? 0 : now - db_column_int64(st, 1);
		if (out->oldest_due_s < 0)
			out->oldest_due_s = 0;
	}
	/* the message is the statement's: taken before finalizing it */
	err = rc == DB_ROW ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err store_outbox_depths(ks_store *s, int64_t now, store_outbox_depth out[STORE_OUTBOX_KINDS], ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = KS_OK;
	for (int q = 0; q < STORE_OUTBOX_KINDS && !err; q++) {
		out[q] = (store_outbox_depth){.kind = sq_outbox_queues[q].kind};
		err = sq_outbox_depth(c, q, now, &out[q], e);
	}
	sq_release(s, c);
	return err;
}
