/* store_survey.h — part of the store's contract (store.h): bulk loading of
 * contacts and responses; the open-link guard (answers held as suspect).
 *
 * The SQL behind it is in this folder (src/store/survey/). Include
 * "store/store.h", never this file: store.h includes the domains in the
 * order their types need, and its contracts (transactions, ownership,
 * errors) hold here too. */
#ifndef KS_STORE_SURVEY_H
#define KS_STORE_SURVEY_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_survey.h"
#endif

/* ---- bulk loading (demo data, imports) ------------------------------------ */

/* A bulk session is one transaction on a dedicated connection; nothing is
 * visible until store_bulk_commit. store_bulk_rollback (or any failed
 * commit) leaves the database as before. The session is freed by both. */
typedef struct store_bulk store_bulk;
ks_err store_bulk_begin(ks_store *s, store_bulk **out, ks_error *e);
/* Inserts inside the bulk transaction. References are enforced by the
 * database's foreign keys only (the error then names no field): bulk callers
 * generate consistent data. obj is validated as in store_entity_create. */
ks_err store_bulk_entity(store_bulk *b, const model_entity *ent, const json_t *obj,
			 int64_t *id, ks_error *e);
ks_err store_bulk_contact(store_bulk *b, model_contact *c, ks_error *e);
/* A historical invitation for a bulk contact (demo data). sent_at 0 = not
 * sent (skipped with reason); the funnel times may be 0. */
typedef struct store_bulk_invitation {
	const model_contact *contact;
	invite_reason reason;
	int64_t sent_at, opened_at, started_at, completed_at;
} store_bulk_invitation;
ks_err store_bulk_invitation_add(store_bulk *b, const store_bulk_invitation *inv, ks_error *e);
ks_err store_bulk_response(store_bulk *b, model_response *r, ks_error *e);
ks_err store_bulk_commit(store_bulk *b, ks_error *e);
void store_bulk_rollback(store_bulk *b);

/* ==== open-link guard (issue 11; sqlite_suspect.c, migration 011) ==========
 * Answers that arrive on a touchpoint's open link in a burst are held as
 * suspect: stored (nothing acknowledged is lost) outside responses, so no
 * metric, funnel, analytics index, alert rule or export counts them, until
 * an admin accepts (moved into responses and counted) or rejects them
 * (deleted). A disk that is full gives KS_ERR_STORAGE_FULL on every write
 * here as on the writer's. */

/* Hold r, a prepared response to an open link (touchpoint_id set, no
 * contact), in one transaction: a client_key already counted or held with
 * the same body is a repeat (*created false), with another body
 * KS_ERR_CONFLICT; the answer joins its touchpoint's burst (the last held
 * answer at most quiet_s before r->received_at) or opens one, and a new
 * burst queues one alert mail to every active admin. r->id becomes the
 * held answer's id; burst_id and new_burst may be NULL. client_addr is
 * kept with the held answer only. */
ks_err store_suspect_hold(ks_store *s, model_response *r, const char *client_addr, int64_t quiet_s,
			  bool *created, int64_t *burst_id, bool *new_burst, ks_error *e);

typedef struct store_suspect_query {
	int64_t burst_id;        /* 0 = every burst */
	int64_t after_id;        /* keyset cursor */
	int limit;               /* 1..500 */
} store_suspect_query;
/* {"items":[{"id","burst_id","touchpoint_id","survey_id","language",
 * "answers":{...as a response},"received_at","source","client_addr"}],
 * "total": held answers in the slice, "next_cursor": id|null}. */
ks_err store_suspect_list(ks_store *s, const store_suspect_query *q, json_t **out, ks_error *e);
/* {"items":[{"id","touchpoint":{"id","name"},"started_at","last_at",
 * "held","accepted","rejected","alert_mails":{"queued","sent"}}]}, newest
 * first, at most limit. */
ks_err store_suspect_bursts(ks_store *s, int limit, json_t **out, ks_error *e);
/* Accept (accept true: each moves into responses as a new row with its
 * drivers, and the commit hook hears of them) or reject (deleted) the held
 * answers ids[0..n_ids) and, when burst_id > 0, every answer that burst
 * still holds: one transaction, all or nothing. *n gets the number
 * decided. KS_ERR_NOTFOUND naming "ids" when an id is not held, naming
 * "burst_id" when there is no such burst. */
ks_err store_suspect_decide(ks_store *s, bool accept, const int64_t *ids, size_t n_ids,
			    int64_t burst_id, int64_t now, int *n, ks_error *e);

/* The alert mail about a burst, for the scheduler (strings are copies). */
typedef struct store_guard_mail_job {
	int64_t id;
	int64_t burst_id;
	int attempts;            /* including this one */
	char to_email[256];
	char language[3];
	char message_id[128];
	char touchpoint_name[128];
	int64_t started_at;
	int64_t held;            /* answers the burst has held so far */
} store_guard_mail_job;
/* Claimed ("sending") but never recorded: back to pending. */
ks_err store_guard_mail_recover(ks_store *s, int *n, ks_error *e);
/* Claim up to max due mails (marked sending in one transaction). */
ks_err store_guard_mail_claim(ks_store *s, int64_t now, store_guard_mail_job *jobs, int max, int *n,
			      ks_error *e);
/* RETRY backs off exponentially, 8 attempts at most. */
ks_err store_guard_mail_record(ks_store *s, const store_guard_mail_job *j, store_send_outcome outcome,
			       const char *detail, int64_t now, ks_error *e);

/* ==== end of open-link guard ================================================ */


#endif
