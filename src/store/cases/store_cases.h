/* store_cases.h — part of the store's contract (store.h): improvement actions;
 * cases, the closed loop.
 *
 * The SQL behind it is in this folder (src/store/cases/). Include
 * "store/store.h", never this file: store.h includes the domains in the
 * order their types need, and its contracts (transactions, ownership,
 * errors) hold here too. */
#ifndef KS_STORE_CASES_H
#define KS_STORE_CASES_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_cases.h"
#endif

/* ==== improvement actions (sqlite_actions.c; issue 6) ======================
 * From an insight (a touchpoint, a theme, a team) to an action with an
 * owner, dates and a status. Scope and the status flow are decided by the
 * API (src/api/api_actions.c); the store checks references. */

#define STORE_ACTION_TITLE_MAX 200
#define STORE_ACTION_TEXT_MAX 4000

typedef struct store_action {
	int64_t id;
	char title[STORE_ACTION_TITLE_MAX + 1];
	char description[STORE_ACTION_TEXT_MAX + 1];
	char theme[STORE_ACTION_TITLE_MAX + 1];  /* "" = none */
	int64_t owner_id;                        /* users.id */
	char owner_name[128];                    /* read only: the owner's name */
	char status[16];                         /* planned, in_progress, done, cancelled */
	char start_date[11];                     /* "YYYY-MM-DD" */
	char deadline[11];                       /* "YYYY-MM-DD"; "" = none */
	int64_t journey_id, touchpoint_id, team_id; /* 0 = none */
	int64_t created_by;                      /* users.id; 0 = none */
	int64_t created_at, updated_at;
} store_action;

/* Insert a; id, created_at and updated_at are set. KS_ERR_REF naming the
 * field when owner_id, journey_id, touchpoint_id or team_id names no row;
 * KS_ERR_INVALID (field touchpoint_id) when the touchpoint is not on the
 * given journey. */
ks_err store_action_create(ks_store *s, store_action *a, ks_error *e);
/* KS_ERR_NOTFOUND when there is no such action. */
ks_err store_action_get(ks_store *s, int64_t id, store_action *out, ks_error *e);
/* Replace every field of row a->id (created_* stay); updated_at is set.
 * Only when the stored status is still expect_status (the caller checked
 * the flow from it): otherwise KS_ERR_CONFLICT (field status). References
 * as in create; KS_ERR_NOTFOUND when the row is gone. */
ks_err store_action_update(ks_store *s, store_action *a, const char *expect_status, ks_error *e);

/* Filters of a list; 0 / NULL = any. */
typedef struct store_action_query {
	const char *status;
	int64_t team_id;          /* an org unit: it and everything below it */
	int64_t touchpoint_id;
	int64_t journey_id;
	int64_t owner_id;
	int64_t scope_unit;       /* when set: only actions of this unit's subtree */
	bool scope_teamless;      /* with scope_unit: and actions without a team */
	int64_t after_id;         /* keyset cursor */
	int limit;                /* 1..500 */
} store_action_query;

/* Actions in id order: *out is malloc'd (free(); NULL when *n is 0);
 * *more tells whether another row follows. */
ks_err store_action_list(ks_store *s, const store_action_query *q, store_action **out, size_t *n,
			 bool *more, ks_error *e);

/* ==== end of improvement actions ============================================ */

/* ==== cases: the closed loop (sqlite_cases.c; issue 6) =====================
 * Alert rules open cases when a response arrives (inside the writer's
 * savepoint, so a response and its cases commit together); the API reads
 * and moves them. Never two open cases (status new or contacted) for one
 * customer and rule: a partial UNIQUE index enforces it. */

typedef struct store_case_query {
	const char *status;      /* new / contacted / resolved / closed; NULL = any */
	int64_t team_id;         /* a unit and everything below it; 0 = any */
	int64_t owner_user_id;   /* 0 = any */
	int64_t customer_id;     /* 0 = any */
	bool overdue;            /* only open cases past their deadline at now */
	int64_t now;
	int64_t after_id;        /* keyset cursor */
	int limit;               /* 1..500 */
	/* issue 13 (one case): */
	int escalated;           /* 0 any, 1 only open escalated cases, 2 only unescalated ones */
	int64_t escalated_to;    /* 0 = any */
	const char *lang;        /* the reader's language for reasons: "en" or else Dutch */
	/* The inbox of inbox_user (0 = no inbox): open cases they own, that
	 * were escalated to them, or in the queue (no owner) of a team within
	 * inbox_unit (0 = none); overdue first, then escalated to them, then
	 * by deadline. The cursor is then an offset (after_id). */
	int64_t inbox_user, inbox_unit;
	int64_t response_id;     /* the case(s) this response is in; 0 = any */
} store_case_query;

/* {"items":[case...], "next_cursor": id|null} ordered by id (the inbox: see above). */
ks_err store_case_list(ks_store *s, const store_case_query *q, json_t **out, ks_error *e);
/* The case with its notes and response ids; *team_id (may be NULL) gets
 * its team (0 = none). KS_ERR_NOTFOUND when unknown. now decides overdue. */
ks_err store_case_get(ks_store *s, int64_t id, int64_t now, json_t **out, int64_t *team_id,
		      ks_error *e);
/* issue 13: the same with the reasons in lang ("en" or else Dutch), its
 * triggers, history, the employee who served the customer, and the
 * customer's other cases. */
ks_err store_case_get_lang(ks_store *s, int64_t id, int64_t now, const char *lang, json_t **out,
			   int64_t *team_id, ks_error *e);

/* A change of a case; only the members with their has_ flag set apply.
 * Tri-states (restored, retained, consent) are -1 null, 0 false, 1 true. */
typedef struct store_case_patch {
	int64_t version;         /* must equal the stored one, else KS_ERR_CONFLICT (field version) */
	bool has_status, has_owner, has_root_cause, has_outcome, has_restored, has_retained,
		has_consent;
	char status[16];
	int64_t owner_user_id;   /* 0 = back to the team's queue */
	const char *root_cause;  /* NULL = clear; else a cases_root_causes code (checked by the caller) */
	const char *outcome;
	int restored, retained, consent;
	/* Only with a move to resolved: the message to the customer (NULL =
	 * none) and whether to send a short re-survey. Both respect the
	 * customer's consent and opt-out; the case records what happened. */
	const char *customer_message;
	bool resurvey;
	int64_t by_user_id;      /* who changes it, for the history (0 = none) */
} store_case_patch;

/* Status flow of cases/flow.h; another jump: KS_ERR_INVALID (field
 * status). Unknown owner: KS_ERR_REF (field owner_user_id). Sets
 * first_contact_at (contacted), resolved_at, closed_at; a reopened case
 * gets a new deadline from its rule. Queues the customer mail, the
 * re-survey invitation and the case.closed webhook in the same
 * transaction; version + 1. */
ks_err store_case_update(ks_store *s, int64_t id, const store_case_patch *p, int64_t now,
			 ks_error *e);
/* Add a note by user_id (0 = none); *out is the note. */
ks_err store_case_note_add(ks_store *s, int64_t case_id, int64_t user_id, const char *text,
			   int64_t now, json_t **out, ks_error *e);

/* Run the alert rules over the stored responses received since since that
 * are in no case yet (after a bulk load or an import), in one transaction,
 * in time order, without mails or webhooks (they would be news of the
 * past). *n gets the number of cases opened since since. */
ks_err store_case_replay(ks_store *s, int64_t since, int *n, ks_error *e);

/* Escalate every open case past its deadline at now that was not yet
 * escalated: escalated_at, escalated_to_user_id (the nearest manager above
 * the case's team, else the first director), an "overdue" mail to that
 * manager and to the owner, and a case.overdue webhook; one transaction.
 * *n gets the number escalated. */
ks_err store_case_escalate(ks_store *s, int64_t now, int *n, ks_error *e);

/* A case mail the scheduler must send, with what its text needs. Strings
 * are copies owned by the job: free with store_case_mail_job_clear(). */
typedef struct store_case_mail_job {
	int64_t id;
	int64_t case_id;
	int attempts;            /* including this one */
	char kind[12];           /* opened | overdue | customer */
	char to_email[256];
	char language[3];
	char message_id[128];
	char reason[256];
	char customer_name[128];
	char team_name[128];
	char owner_name[128];    /* "" = the team's queue */
	int64_t deadline;
	char *open_text;         /* the first response's open answer, or NULL */
	char *customer_message;  /* kind customer, or NULL */
} store_case_mail_job;
void store_case_mail_job_clear(store_case_mail_job *j);
/* Mails claimed ("sending") but never recorded go back to pending. */
ks_err store_case_mail_recover(ks_store *s, int *n, ks_error *e);
/* Claim up to max due mails (marked sending in one transaction). */
ks_err store_case_mail_claim(ks_store *s, int64_t now, store_case_mail_job *jobs, int max, int *n,
			     ks_error *e);
/* Record an outcome; RETRY backs off exponentially, 8 attempts at most. A
 * customer mail's outcome is copied to its case (customer_message_status). */
ks_err store_case_mail_record(ks_store *s, const store_case_mail_job *j, store_send_outcome outcome,
			      const char *detail, int64_t now, ks_error *e);

/* issue 13: one mail per person per pass. Bundle the due "overdue" mails
 * into one digest per address (the mails then wait for their digest and
 * share its outcome); claim, send and record digests like case mails
 * (store_case_mail_recover puts claimed ones back too). */
typedef struct store_case_digest_job {
	int64_t id;
	int attempts;            /* including this one */
	char to_email[256];
	char language[3];
	char message_id[128];
	json_t *cases;           /* [{case_id, customer_name, reason, team_name, deadline}]: the job's */
} store_case_digest_job;
void store_case_digest_job_clear(store_case_digest_job *j);
ks_err store_case_digest_bundle(ks_store *s, int64_t now, ks_error *e);
ks_err store_case_digest_claim(ks_store *s, int64_t now, store_case_digest_job *jobs, int max, int *n,
			       ks_error *e);
ks_err store_case_digest_record(ks_store *s, const store_case_digest_job *j, store_send_outcome outcome,
				const char *detail, int64_t now, ks_error *e);

/* SLA compliance, time to first contact and to close, root-cause Pareto of
 * the cases opened in [from, to) (0 = open-ended) within team_id's subtree
 * (0 = all). See docs/API.md, "GET /api/v1/cases/stats". */
typedef struct store_case_stats_query {
	int64_t team_id, from, to, now;
} store_case_stats_query;
ks_err store_case_stats(ks_store *s, const store_case_stats_query *q, json_t **out, ks_error *e);

typedef struct store_alert_rule {
	int64_t id;
	char kind[16];
	bool has_threshold;
	int threshold;
	char words[512];         /* "" = none */
	int window_days;         /* repeat_low: the look-back; 0 = none */
	int sla_hours;
	bool working_days;       /* count the SLA on Monday..Friday only */
	bool enabled;
	int64_t updated_at;
} store_alert_rule;

ks_err store_alert_rule_list(ks_store *s, json_t **out, ks_error *e);
ks_err store_alert_rule_get(ks_store *s, int64_t id, store_alert_rule *out, ks_error *e);
/* Replace the rule's threshold, words, window_days, sla_hours, working_days
 * and enabled (validated by the caller); updated_at is set. */
ks_err store_alert_rule_put(ks_store *s, store_alert_rule *r, ks_error *e);
json_t *store_alert_rule_json(const store_alert_rule *r);

/* ==== end of cases ========================================================== */


#endif
