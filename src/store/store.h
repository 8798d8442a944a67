/* store.h — the storage interface of klantstem.
 *
 * Callers (API, survey page, demo, CLI) see only this header. The SQLite
 * backend lives in store_sqlite.c; a PostgreSQL backend can be added as
 * store_pg.c behind the same functions without touching callers.
 *
 * Contracts shared by every function:
 *  - All SQL is prepared with bound parameters; SQL text comes from static
 *    strings or from the static entity descriptors in model.h, never from
 *    input.
 *  - Every multi-row write is one transaction: on any error nothing is
 *    written.
 *  - A ks_error *e may be NULL; when not, it is filled on failure.
 *  - json_t results are new references owned by the caller (json_decref).
 *  - Functions are safe to call from many threads at once: the store keeps
 *    a pool of connections.
 *
 * Durability: responses are written by one writer thread in batched
 * transactions (group commit) with synchronous=FULL, so an acknowledged
 * response is on disk (fsync'd) before store_response_submit reports it.
 */
#ifndef KS_STORE_H
#define KS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/tz.h"
#include "metrics/metrics.h"
#include "invite/rules.h"
#include "model/model.h"

typedef struct ks_store ks_store;

typedef struct store_options {
	int pool_size;          /* read/write connections for request threads; 0 = 4 */
	int batch_max;          /* max responses per group commit; 0 = 4096 */
	const ks_clock *clock;  /* NULL = real time; borrowed, must outlive the store */
	/* A file being generated that is put in place only when complete (the
	 * demo): commits skip the fsync (synchronous=NORMAL; the checkpoint at
	 * close still syncs). Never for a database that acknowledges writes. */
	bool scratch;
	/* The organisation's calendar: the funnel's months and a contact's
	 * year (age, customer-since) are local. name "" = tz_default. */
	ks_tz tz;
} store_options;

/* Open (creating if needed) the database at path and apply pending
 * migrations. *out is owned by the caller: release with store_close(). */
ks_err store_open(const char *path, const store_options *opt, ks_store **out, ks_error *e);
/* Flush pending writes, checkpoint the WAL and close. NULL is a no-op. */
void store_close(ks_store *s);
/* Schema version after migrations. */
int store_schema_version(ks_store *s);
/* Group-commit figures since open: transactions and response rows written. */
void store_stats(ks_store *s, uint64_t *batches, uint64_t *rows);

/* ---- generic entities (teams, employees, customers, journeys, ...) ----- */

/* Insert obj (already checked with model_validate) and return the stored row
 * as JSON in *out. References are checked: KS_ERR_REF names the field;
 * unique violations give KS_ERR_CONFLICT naming the field. */
ks_err store_entity_create(ks_store *s, const model_entity *ent, const json_t *obj,
			   json_t **out, ks_error *e);
/* The row with this id, or KS_ERR_NOTFOUND. */
ks_err store_entity_get(ks_store *s, const model_entity *ent, int64_t id,
			json_t **out, ks_error *e);

typedef struct store_list_query {
	int64_t after_id;        /* keyset cursor: rows with id > after_id */
	int limit;               /* 1..500 */
	const char *filter_field; /* a model_field with filterable set, or NULL */
	const char *filter_value;
} store_list_query;

/* {"items":[...], "next_cursor": id or null} ordered by id. */
ks_err store_entity_list(ks_store *s, const model_entity *ent, const store_list_query *q,
			 json_t **out, ks_error *e);
/* Apply the fields present in patch (already validated) to row id. */
ks_err store_entity_update(ks_store *s, const model_entity *ent, int64_t id,
			   const json_t *patch, json_t **out, ks_error *e);

/* ---- surveys (parsed) and the public survey page ------------------------ */

ks_err store_survey_get(ks_store *s, int64_t id, model_survey *out, ks_error *e);

/* What a survey link token resolves to. */
typedef struct store_link {
	bool is_contact;           /* invitation token of a contact event */
	model_contact contact;     /* when is_contact */
	int64_t touchpoint_id;
	char touchpoint_name[128];
	int64_t survey_id;         /* 0 = the touchpoint has no survey */
	char language[3];          /* customer's language, else "nl" */
	char employee_first_name[64];
	bool answered;             /* a response exists for this contact */
	/* issue 13 (customer voice): the touchpoint as the customer reads it
	 * (label_nl / label_en, "" = none), and the contact's one-click
	 * response while it is partial (answered is then false). */
	char touchpoint_label_nl[128];
	char touchpoint_label_en[128];
	int64_t partial_id;        /* 0 = none */
	int partial_nps;           /* -1 = none (withdrawn) */
	int64_t one_click_at;      /* last tap in the mail; 0 = none */
} store_link;

/* Resolve a token (a contact's invitation token or a touchpoint's open-link
 * token). KS_ERR_NOTFOUND when unknown; KS_ERR_GONE when expired (out is
 * still filled). */
ks_err store_link_resolve(ks_store *s, const char *token, store_link *out, ks_error *e);

/* ---- contact events ------------------------------------------------------ */

/* What happened to a contact's invitation. */
typedef struct store_invite_result {
	invite_reason reason;    /* INVITE_CREATE when an invitation is scheduled */
	int64_t invitation_id;
	int64_t send_at;         /* when scheduled */
} store_invite_result;

/* Insert a contact event and, in the same transaction, decide its survey
 * invitation (invite_decide over the touchpoint's rule and the customer's
 * facts: opt-out, e-mail, open case, last invitation) and record it, with
 * an invitation.created webhook in the outbox when one is scheduled.
 * Checks references (customer_id, employee_id, team_id, touchpoint_id);
 * fills team_id from the employee when 0, a fresh token, and expires_at
 * (occurred_at + 14 days when 0). c is updated with id, token, team_id and
 * expires_at; inv (may be NULL) with the decision. */
ks_err store_contact_create(ks_store *s, model_contact *c, store_invite_result *inv, ks_error *e);

/* The same, through the group-commit writer without waiting: many contact
 * events share one transaction and one fsync. c is copied; cb(arg, ...)
 * runs once on the writer thread after the commit with the stored contact
 * (id, token, team_id, expires_at filled) and its invitation decision; e is
 * valid during the call only. KS_ERR_UNAVAILABLE when the store is closing. */
typedef void (*store_contact_cb)(void *arg, ks_err rc, const model_contact *c,
				 const store_invite_result *inv, const ks_error *e);
ks_err store_contact_submit_async(ks_store *s, const model_contact *c, store_contact_cb cb,
				  void *arg);
ks_err store_contact_get(ks_store *s, int64_t id, model_contact *out, ks_error *e);
json_t *store_contact_json(const model_contact *c);

/* ---- responses ----------------------------------------------------------- */

/* Completion callback of an asynchronous submit. Called once, on the writer
 * thread, after the batch holding the response committed (or failed).
 * created is false when the client_key existed already (r->id is then the
 * existing row's id). e is valid only during the call. */
typedef void (*store_response_cb)(void *arg, ks_err rc, bool created,
				  const model_response *r, const ks_error *e);

/* Fill the tied fields of r from its contact (when contact_id is set) and
 * check every reference, so that a bad request fails before it is queued.
 * Errors: KS_ERR_REF naming the field; KS_ERR_CONFLICT when the contact
 * already has a response (and r->client_key differs from its key). */
ks_err store_response_prepare(ks_store *s, model_response *r, ks_error *e);

/* Queue a prepared response for the writer. r is copied (open_text too);
 * the caller may free it at once. cb(arg, ...) reports the outcome.
 * Returns KS_ERR_UNAVAILABLE when the store is closing. */
ks_err store_response_submit_async(ks_store *s, const model_response *r,
				   store_response_cb cb, void *arg);

/* Synchronous form of the above: prepare, submit and wait for the commit.
 * On success r->id is set and *created tells whether it is new. */
ks_err store_response_submit(ks_store *s, model_response *r, bool *created, ks_error *e);

/* A response as API JSON (the one place that shape is defined). */
json_t *store_response_json(const model_response *r);
/* The stored response as API JSON, or KS_ERR_NOTFOUND. */
ks_err store_response_get(ks_store *s, int64_t id, json_t **out, ks_error *e);
ks_err store_response_list(ks_store *s, const store_list_query *q, json_t **out, ks_error *e);

/* ---- metrics --------------------------------------------------------------- */

/* Filter for metric queries; 0 / empty / -1 means "any". team_id includes
 * every org unit below it. period is [from, to) in unix seconds. */
typedef struct store_metrics_filter {
	int64_t from, to;       /* 0 = unbounded */
	int64_t team_id;
	int64_t employee_id;
	int64_t touchpoint_id;
	int64_t journey_id;
	char channel[16];
} store_metrics_filter;

ks_err store_metrics_counts(ks_store *s, const store_metrics_filter *f,
			    metrics_counts *out, ks_error *e);

/* ---- survey rules, invitations, opt-outs, funnel (sqlite_invite.c) ----- */

/* The rule of a touchpoint; *found false (and out = defaults) when none. */
ks_err store_rule_get(ks_store *s, int64_t touchpoint_id, invite_rule *out, bool *found, ks_error *e);
/* Create or replace the rule of rule->touchpoint_id (validated by the caller). */
ks_err store_rule_put(ks_store *s, const invite_rule *rule, ks_error *e);
json_t *store_rule_json(const invite_rule *r);
ks_err store_rule_list(ks_store *s, json_t **out, ks_error *e);

/* Queue webhook events in the outbox (off by default: nobody to deliver to). */
void store_set_webhooks(ks_store *s, bool enabled);
/* Seed for the sampling decision (fixed in tests; random per database otherwise). */
void store_set_sample_seed(ks_store *s, uint64_t seed);
/* The organisation's calendar (see store_options.tz). Call before the
 * store is shared between threads. */
void store_set_tz(ks_store *s, const ks_tz *tz);

/* A send the scheduler must do: an invitation or its reminder. Strings are
 * copies owned by the job. */
typedef struct store_invite_job {
	int64_t invitation_id;
	bool reminder;
	int attempts;            /* including this one */
	char email[256];
	char customer_name[128];
	char language[3];
	char employee_first_name[64];
	char touchpoint_name[128];
	char token[MODEL_TOKEN_LEN + 1];
	char unsubscribe_token[MODEL_TOKEN_LEN + 1];
	char message_id[128];
	int64_t survey_id;
	bool formal;             /* issue 13: the organisation says "u" */
	char org_name[128];      /* issue 13: "" = the server's --org-name */
	bool logo;               /* issue 13: the organisation uploaded a logo */
	bool relationship;       /* issue 16: the contact is a relationship wave's (channel 'relationship') */
} store_invite_job;

/* After a crash, sends that were claimed but never recorded ("sending") go
 * back to "scheduled", to be sent again with the same Message-ID. Returns
 * the number of rows reset in *n. */
ks_err store_invite_recover(ks_store *s, int *n, ks_error *e);
/* Claim up to max due sends (initial and reminders) at time now: each is
 * marked "sending" in one transaction before any mail leaves. Reminders of
 * answered, expired or opted-out invitations are marked skipped instead. */
ks_err store_invite_claim(ks_store *s, int64_t now, store_invite_job *jobs, int max, int *n,
			  ks_error *e);
typedef enum { STORE_SEND_OK, STORE_SEND_RETRY, STORE_SEND_GIVE_UP } store_send_outcome;
/* Record the outcome of a claimed send. RETRY schedules the next attempt
 * with exponential backoff (after 8 attempts it gives up). */
ks_err store_invite_record(ks_store *s, const store_invite_job *job, store_send_outcome outcome,
			   const char *detail, int64_t now, ks_error *e);

/* Funnel events from the survey page; unknown tokens are ignored. */
ks_err store_invite_opened(ks_store *s, int64_t contact_id, bool started, int64_t now, ks_error *e);
/* Opt out for good by the unsubscribe token (KS_ERR_NOTFOUND when unknown)
 * or by customer id. Pending invitations and reminders are cancelled. */
ks_err store_optout_token(ks_store *s, const char *token, int64_t now, ks_error *e);
ks_err store_optout_customer(ks_store *s, int64_t customer_id, int64_t now, ks_error *e);
ks_err store_optout_list(ks_store *s, const store_list_query *q, json_t **out, ks_error *e);

typedef struct store_invite_filter {
	const char *status;      /* NULL = any */
	const char *decision;
	int64_t touchpoint_id;
	int64_t customer_id;
} store_invite_filter;
ks_err store_invitation_list(ks_store *s, const store_invite_filter *f, const store_list_query *q,
			     json_t **out, ks_error *e);

/* Response funnel grouped by one of "touchpoint", "team", "channel",
 * "month" (the contact's local month on the store's calendar, "YYYY-MM"),
 * or NULL for one total row; [from, to) on the contact time, 0 = open. */
ks_err store_funnel(ks_store *s, const char *group_by, int64_t from, int64_t to, json_t **out,
		    ks_error *e);

/* Respondents against everyone invited, counted in customers: the
 * invitations decided "created" whose contact falls in [from, to) (0 =
 * open), per segment of the dimension "age_band", "customer_since_band",
 * "channel", "language" or "segment". Age and customer-since are taken in
 * the local year of the contact (the store's calendar) with the bands of
 * the analytics index. A customer counts once per segment however often
 * invited; one whose invitations fall in two segments (two channels, a
 * birthday across a band) counts once in each. */
typedef struct store_repr_row {
	char segment[128];          /* the label (longer ones are cut) */
	int64_t invited_customers;  /* distinct customers invited */
	int64_t respondents;        /* distinct customers with a completed invitation */
	int64_t invitations;        /* invitations created */
	int64_t completed;          /* invitations completed */
} store_repr_row;
typedef struct store_repr {
	store_repr_row *rows;       /* malloc'd (NULL when none); bands in their order
	                             * ("unknown" first, as the index codes them),
	                             * other segments by label */
	size_t n;
	/* The same four over the whole window, each customer once. */
	int64_t invited_customers, respondents, invitations, completed;
} store_repr;
/* KS_ERR_INVALID naming "dimension" for another dimension. Release *out
 * with store_repr_free (also after a failure: then it is empty). */
ks_err store_representativeness(ks_store *s, const char *dimension, int64_t from, int64_t to,
				store_repr *out, ks_error *e);
void store_repr_free(store_repr *r);

/* Webhook outbox: claim up to max due events, then record each outcome. */
typedef struct store_webhook_job {
	int64_t id;
	int attempts;
	char event[64];
	char *payload;           /* owned: free() */
} store_webhook_job;
ks_err store_webhook_claim(ks_store *s, int64_t now, store_webhook_job *jobs, int max, int *n,
			   ks_error *e);
ks_err store_webhook_record(ks_store *s, const store_webhook_job *job, bool ok, int http_status,
			    int64_t now, ks_error *e);

/* ---- accounts, sessions, API tokens (sqlite_auth.c) ----------------------- */

typedef struct store_user {
	int64_t id;
	char email[256];
	char name[128];
	char role[16];           /* employee, team_lead, manager, director, admin */
	int64_t employee_id;     /* 0 = none */
	int64_t unit_id;         /* 0 = none */
	char language[3];
	bool disabled;
	bool deleted;            /* a tombstone left by store_user_delete */
	int64_t created_at;
} store_user;

/* Create a user with an argon2id hash. KS_ERR_CONFLICT (field email) when
 * taken; KS_ERR_REF when employee_id / unit_id do not exist. */
ks_err store_user_create(ks_store *s, store_user *u, const char *password_hash, ks_error *e);
/* The user with this e-mail (any case) and its password hash (hash may be
 * NULL). KS_ERR_NOTFOUND when none. */
ks_err store_user_by_email(ks_store *s, const char *email, store_user *out, char *hash,
			   size_t hash_n, ks_error *e);
/* By id; a deleted account is found too (out->deleted), so callers decide. */
ks_err store_user_get(ks_store *s, int64_t id, store_user *out, char *hash, size_t hash_n,
		      ks_error *e);
/* Every account that is not deleted, by id: *out {"items": [...]}, the
 * caller's. */
ks_err store_user_list(ks_store *s, json_t **out, ks_error *e);
/* New reference (caller's); never a password or hash. */
json_t *store_user_json(const store_user *u);

/* Write name, role, language, employee_id, unit_id and disabled of u (by
 * u->id) in one transaction. KS_ERR_NOTFOUND when the account does not
 * exist or is deleted; KS_ERR_CONFLICT (field "active" or "role") when the
 * change would leave no active admin; KS_ERR_REF (field employee_id or
 * unit_id) for a link to nothing. Disabling ends every session of the user
 * and revokes every token in the same transaction: they stop at once and
 * do not come back when the account is enabled again. Its open cases go
 * back to their team's queue too (issue 13), each with an owner line in
 * its history, and are not given back on enabling. */
ks_err store_user_update(ks_store *s, const store_user *u, ks_error *e);

/* What deleting an account changed. */
typedef struct store_user_deleted {
	int sessions;            /* sessions ended */
	int tokens;              /* tokens revoked */
	int cases_to_queue;      /* open cases it owned, back to their team's queue */
} store_user_deleted;
/* Delete an account, in one transaction, as a tombstone: the row stays
 * (cases, notes, actions, goals and logs keep a valid reference and show
 * it as a deleted account) but loses its e-mail address (free to be used
 * again), name, links and password, and is disabled for good; its sessions
 * and tokens are deleted and its open cases go back to the team's queue.
 * KS_ERR_NOTFOUND when unknown or already deleted; KS_ERR_CONFLICT (field
 * "id") when it is the last active admin or owns open improvement actions
 * (the message says how many: hand them over first). out may be NULL. */
ks_err store_user_delete(ks_store *s, int64_t id, store_user_deleted *out, ks_error *e);

/* A new password, in one transaction with its consequences: every session
 * of the user ends and every API token is revoked (a stolen one included).
 * When new_session_hash is not NULL a fresh session (csrf, expires_at) is
 * created in the same transaction for the caller who changed it. The
 * counts (may be NULL) tell how many ended. */
ks_err store_user_set_password(ks_store *s, int64_t id, const char *password_hash,
			       const char *new_session_hash, const char *csrf, int64_t expires_at,
			       int *sessions_ended, int *tokens_revoked, ks_error *e);

/* Sessions and tokens are addressed by the hash of the token. */
ks_err store_session_create(ks_store *s, const char *token_hash, int64_t user_id, const char *csrf,
			    int64_t expires_at, ks_error *e);
/* The live session's user and CSRF token; KS_ERR_NOTFOUND when unknown or
 * expired (at now) or the user is disabled. */
ks_err store_session_get(ks_store *s, const char *token_hash, int64_t now, store_user *u,
			 char *csrf, size_t csrf_n, ks_error *e);
ks_err store_session_delete(ks_store *s, const char *token_hash, ks_error *e);
/* Delete the sessions expired at now, and the tokens expired more than
 * STORE_TOKEN_KEEP_EXPIRED seconds before (until then the owner still sees
 * them listed as expired, to tell why a client stopped). Counts may be NULL.
 * Cheap when nothing is due (indexed); run by the scheduler's pass. */
#define STORE_TOKEN_KEEP_EXPIRED (30 * 86400)
ks_err store_session_sweep(ks_store *s, int64_t now, int *sessions, int *tokens, ks_error *e);

/* An API token as it may be shown: never the secret nor its hash. */
typedef struct store_token {
	int64_t id;
	int64_t user_id;
	char user_email[256];
	char name[101];
	int64_t created_at;
	int64_t expires_at;
	int64_t last_used_at;    /* 0 = never used */
} store_token;
/* Store a token's hash for user_id until expires_at; out (may be NULL)
 * receives the row. */
ks_err store_token_create(ks_store *s, const char *token_hash, int64_t user_id, const char *name,
			  int64_t expires_at, store_token *out, ks_error *e);
/* The user of a live token: KS_ERR_NOTFOUND when unknown, expired at now,
 * or the user is disabled. Marks the token used at now, at most once a
 * minute (a write per request would serialise every bearer request). */
ks_err store_token_get(ks_store *s, const char *token_hash, int64_t now, store_user *u, ks_error *e);
/* The tokens of user_id (0 = of every user), expired ones included, by id.
 * *out is malloc'd (the caller frees it; NULL when *n is 0). */
ks_err store_token_list(ks_store *s, int64_t user_id, store_token **out, size_t *n, ks_error *e);
/* One token by id; KS_ERR_NOTFOUND when none. */
ks_err store_token_find(ks_store *s, int64_t id, store_token *out, ks_error *e);
/* Revoke (delete) a token by id; KS_ERR_NOTFOUND when none. */
ks_err store_token_delete(ks_store *s, int64_t id, ks_error *e);

/* ---- bulk reads for the analytics index (sqlite_scan.c) ------------------ */

/* Every response with id > after_id, in id order, to fn (open_text is NULL;
 * drivers are not filled). Stops early when fn returns false. */
typedef bool (*store_response_fn)(void *arg, const model_response *r);
ks_err store_scan_responses(ks_store *s, int64_t after_id, store_response_fn fn, void *arg,
			    ks_error *e);

/* Customer attributes used as analysis dimensions. */
typedef struct store_customer_attrs {
	int64_t id;
	char language[3];
	char segment[48];
	char city[64];
	int birth_year;      /* 0 = unknown */
	int since_year;      /* year of customer_since; 0 = unknown */
} store_customer_attrs;
typedef void (*store_customer_fn)(void *arg, const store_customer_attrs *c);
/* All customers (only_id == 0) or one. */
ks_err store_scan_customers(ks_store *s, int64_t only_id, store_customer_fn fn, void *arg,
			    ks_error *e);

/* Names and parents of the small dimension tables. */
typedef enum { STORE_NAMES_UNITS, STORE_NAMES_EMPLOYEES, STORE_NAMES_TOUCHPOINTS,
	       STORE_NAMES_JOURNEYS } store_names_kind;
typedef struct store_named {
	int64_t id;
	int64_t parent_id;   /* unit: parent unit; employee: team; touchpoint: journey */
	char kind[16];       /* units: organisation, department, team */
	char name[160];
} store_named;
typedef void (*store_named_fn)(void *arg, const store_named *row);
ks_err store_scan_names(ks_store *s, store_names_kind kind, store_named_fn fn, void *arg,
			ks_error *e);

/* Called on the writer thread after each committed batch with the newly
 * created responses (not idempotent repeats), before any submitter hears
 * of the outcome: whoever keeps a derived copy (the analytics index) sees
 * every acknowledged response. The rows are valid during the call only. */
typedef void (*store_commit_fn)(void *arg, const model_response *const *rows, int n);
void store_set_commit_hook(ks_store *s, store_commit_fn fn, void *arg);

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

/* ==== import (issue 15, sqlite_import.c) ===================================
 * `klantstem import`: a whole file in one bulk transaction (nothing is
 * visible before store_import_commit; store_import_rollback leaves the
 * database as it was; both free the session). */
typedef struct store_import store_import;
ks_err store_import_begin(ks_store *s, store_import **out, ks_error *e);
ks_err store_import_commit(store_import *im, ks_error *e);
void store_import_rollback(store_import *im);

typedef enum { STORE_IMPORT_TOUCHPOINT, STORE_IMPORT_EMPLOYEE, STORE_IMPORT_TEAM,
	       STORE_IMPORT_CUSTOMER } store_import_kind;
typedef struct store_import_ref {
	int64_t id;          /* 0 = nothing matches */
	int64_t related_id;  /* touchpoint: its survey; employee: its team (0 = none) */
	char language[3];    /* customer: its language ("" = unknown) */
} store_import_ref;
/* A touchpoint by id or exact name, an employee by id or e-mail (any case),
 * a team (any org unit) by id or exact name, a customer by external_id. A
 * value of digits is tried as an id first, then as a name. Nothing found:
 * KS_OK with out->id 0. A name that several rows carry: KS_ERR_CONFLICT. */
ks_err store_import_lookup(store_import *im, store_import_kind kind, const char *value,
			   store_import_ref *out, ks_error *e);
/* Insert r (source, body_hash and the references set and checked by the
 * caller) with its drivers; analyse its open answer when analyse is set.
 * A client_key already stored with the same body_hash is a repeat:
 * KS_OK with *created false. With another body_hash: KS_ERR_CONFLICT
 * (field client_key). */
ks_err store_import_response(store_import *im, model_response *r, bool analyse, bool *created,
			     ks_error *e);
/* ==== end of import ======================================================== */

/* ==== dashboards: verbatims, walls, team goals, team settings ==============
 * (sqlite_dashboard.c; issue 5) */

/* Score band of an NPS answer: promoter 9-10, passive 7-8, detractor 0-6. */
typedef enum { STORE_BAND_ANY = 0, STORE_BAND_PROMOTER, STORE_BAND_PASSIVE,
	       STORE_BAND_DETRACTOR } store_band;

/* Open answers ("verbatims"), newest first. Every filter is optional
 * (0 / "" / NULL = any); the caller has already narrowed it to the
 * requester's scope. */
typedef struct store_verbatim_query {
	const char *q;           /* words to find (full text, all of them; a word
				  * ending in * is a prefix); plain user text,
				  * never query syntax. NULL / blank = none */
	store_band band;
	int64_t team_id;         /* an org unit: it and everything below it */
	int64_t employee_id;
	int64_t touchpoint_id;
	char language[3];        /* "nl" / "en" / "" */
	int64_t from, to;        /* [from, to) on received_at; 0 = unbounded */
	int64_t before_id;       /* keyset cursor: only ids below it; 0 = newest */
	int limit;               /* 1..500 */
	/* text (issue 14): answers whose analysis mentions this theme id /
	 * has this sentiment label ("negative", ...); NULL = any */
	const char *theme;
	const char *sentiment;
	bool with_analysis;      /* each item gets "analysis" (the explorer) */
	/* issue 16 H3: which voices. SURVEY (the default): open answers, by
	 * id, as always; MENTIONS: reviews and posts (mention_source, NULL =
	 * every source), by mention id; ALL: both in one list, newest first by
	 * time (answers' received_at, mentions' created_at), an answer before a
	 * mention of the same second, then by id descending; before_id is unused
	 * there and `after` is the cursor. Mentions have no band, employee or
	 * touchpoint: those filters leave them out. */
	enum { STORE_VSRC_SURVEY = 0, STORE_VSRC_MENTIONS, STORE_VSRC_ALL } source;
	const char *mention_source;
	/* issue 16 H7: the merged list's keyset cursor, the last item shown:
	 * its time, whether it is an answer, its id (0 = from the newest). Kept
	 * as three columns, not one number: a time * 2^30 key passed 2^53, and
	 * a browser's JSON numbers lost the id of items sharing a second. */
	struct store_verbatim_cursor {
		int64_t t;
		bool answer;
		int64_t id;
	} after;
} store_verbatim_query;
typedef struct store_verbatim_cursor store_verbatim_cursor;
/* issue 16 H7: the merged list's cursor as text, "T.a.ID" (an answer) or
 * "T.m.ID" (a mention), T unix seconds: opaque to clients, a JSON string.
 * _parse: false unless s is exactly that (digits, id >= 1). _format writes
 * at most STORE_VERBATIM_CURSOR_MAX bytes with the NUL. */
#define STORE_VERBATIM_CURSOR_MAX 48
bool store_verbatim_cursor_parse(const char *s, store_verbatim_cursor *out);
void store_verbatim_cursor_format(const store_verbatim_cursor *c, char out[STORE_VERBATIM_CURSOR_MAX]);

/* issue 16 H3: with source MENTIONS or ALL every item has "source" ("survey",
 * or the mention's source; GET /verbatims adds "survey" to the others);
 * a mention's item has "mention_id" (response_id null), "title", "author",
 * "url", "location", "rating", "scale_min", "scale_max", "rating10", the
 * mapped unit as "team", null nps, grade, band, touchpoint and employee,
 * its created_at as "received_at" and its own analysis.
 * {"items":[{"response_id","text","nps","grade","band","language",
 * "received_at","touchpoint":{"id","name"}|null,"team":{"id","name"}|null,
 * "employee":{"id","name"}|null, "analysis":{...}|null (issue 14, as on
 * GET /responses; with_analysis only)}], "next_cursor": id|null}, ordered by id
 * descending (source ALL: by time, next_cursor a store_verbatim_cursor
 * string). KS_ERR_INVALID (field "q") when q holds no word at all. */
ks_err store_verbatim_search(ks_store *s, const store_verbatim_query *q, json_t **out, ks_error *e);

/* A team's Wall of Fame (fame: NPS 9-10) or Wall of Shame (NPS 0-6):
 * the latest open answers of the unit and everything below it received in
 * [from, to) (0 = unbounded; issue 13: coaching), newest first by
 * received_at, at most limit (1..50). *out is the items array. */
ks_err store_wall(ks_store *s, int64_t team_id, bool fame, int64_t from, int64_t to, int limit, json_t **out,
		  ks_error *e);

/* A target for a unit, a period ("2026", "2026-Q1", "2026-03") and a
 * metric ("nps" or "grade"); validated by the caller. */
typedef struct store_goal {
	int64_t team_id;
	char period[8];
	char metric[8];
	double target;
	int64_t set_by;          /* user id; 0 = none */
	int64_t updated_at;
} store_goal;

/* Create or replace a goal; updated_at is set (g is updated).
 * KS_ERR_NOTFOUND (field team_id) when the unit does not exist. */
ks_err store_goal_put(ks_store *s, store_goal *g, ks_error *e);
/* KS_ERR_NOTFOUND when there is no such goal. */
ks_err store_goal_get(ks_store *s, int64_t team_id, const char *period, const char *metric,
		      store_goal *out, ks_error *e);
/* The unit's goals ordered by period and metric: *out is malloc'd (free()
 * it; NULL when *n is 0). */
ks_err store_goal_list(ks_store *s, int64_t team_id, store_goal **out, size_t *n, ks_error *e);

/* What a team agreed to share. Without a stored row the defaults apply
 * (nothing shared; updated_at 0). */
typedef struct store_team_settings {
	int64_t team_id;
	bool share_colleague_scores;
	int64_t updated_at;
} store_team_settings;

/* KS_ERR_NOTFOUND when the unit does not exist. */
ks_err store_team_settings_get(ks_store *s, int64_t team_id, store_team_settings *out, ks_error *e);
/* Create or replace; updated_at is set. KS_ERR_NOTFOUND when the unit does
 * not exist, KS_ERR_INVALID (field team_id) when it is not a team. */
ks_err store_team_settings_put(ks_store *s, store_team_settings *t, ks_error *e);

/* What a reader sees of other people's open answers (migration 009;
 * docs/PRIVACY.md section 5). The API applies it; the store only keeps it.
 * The reader's own answers are always shown exactly. */
typedef enum {
	STORE_DETAIL_BAND = 0,   /* text, employee, band only (the default) */
	STORE_DETAIL_EXACT,      /* text, employee, exact NPS and grade */
	STORE_DETAIL_ANONYMOUS   /* text and band, no employee */
} store_verbatim_detail;

/* "exact", "band" or "anonymous". */
const char *store_verbatim_detail_name(store_verbatim_detail d);
/* The value of one of those names; false (and *out untouched) for any
 * other text, NULL included. */
bool store_verbatim_detail_parse(const char *name, store_verbatim_detail *out);

/* The organisation's settings: one row at most. */
typedef struct store_org_settings {
	store_verbatim_detail verbatim_detail;
	int64_t updated_by;      /* users.id; 0 = none */
	int64_t updated_at;      /* 0 = never changed */
} store_org_settings;

/* The stored settings; without a stored row the defaults (band, 0, 0).
 * KS_ERR_INTERNAL when the stored value is not one this build knows. */
ks_err store_org_settings_get(ks_store *s, store_org_settings *out, ks_error *e);
/* Create or replace the row; updated_at is set (o is updated).
 * updated_by is taken as given (0 = none). */
ks_err store_org_settings_put(ks_store *s, store_org_settings *o, ks_error *e);

/* ==== coaching: compliments (issue 13; sqlite_dashboard.c, migration 015) ====
 * A team lead's compliment on a Wall of Fame item: stored with its mail to
 * the employee (the row is the outbox) in one transaction; sent by the
 * scheduler's pass (src/coach/compliment.c) like the case mails. */

/* Who a compliment on a response would go to: *employee_id (0 = the answer
 * is tied to no one), its *team_id, *nps (-1 = none) and whether it has an
 * open answer. KS_ERR_NOTFOUND (no field) when there is no such response. */
ks_err store_compliment_target(ks_store *s, int64_t response_id, int64_t *employee_id, int64_t *team_id,
			       int *nps, bool *has_text, ks_error *e);
/* Store a compliment from from_user_id on the response (note: NULL or ""
 * = none) and queue its mail to the employee (their address, else their
 * account's, looked up when it is sent; none now: mail_status "none"). KS_ERR_CONFLICT (field
 * response_id) when this user already complimented it. *out: the
 * compliment as store_compliment_list prints one (caller decrefs). */
ks_err store_compliment_create(ks_store *s, int64_t response_id, int64_t employee_id, int64_t from_user_id,
			       const char *note, int64_t now, json_t **out, ks_error *e);
/* The employee's compliments, newest first, at most limit: [{"id",
 * "response_id","text","received_at","from":{"id","name"},"note"|null,
 * "created_at","mail_status"}]. *out belongs to the caller. */
ks_err store_compliment_list(ks_store *s, int64_t employee_id, int limit, json_t **out, ks_error *e);

/* A compliment's mail for the scheduler (strings are copies). */
typedef struct store_compliment_job {
	int64_t id;
	int attempts;            /* including this one */
	char to_email[256];
	char language[3];
	char message_id[128];
	char employee_first[128];
	char from_name[128];
	char note[1024];
	char open_text[4096];
} store_compliment_job;
/* Claim up to max due mails (sending, in one transaction); a mail claimed
 * more than 10 minutes ago and never recorded (a crash) is due again. */
ks_err store_compliment_mail_claim(ks_store *s, int64_t now, store_compliment_job *jobs, int max, int *n,
				   ks_error *e);
/* RETRY backs off exponentially, 8 attempts at most. */
ks_err store_compliment_mail_record(ks_store *s, const store_compliment_job *j, store_send_outcome outcome,
				    const char *detail, int64_t now, ks_error *e);
/* One driver rating of an employee's answer (issue 13: the person page). */
typedef struct store_driver_score {
	char aspect[64];
	int64_t at;              /* the answer's received_at */
	int score;               /* 1..10 */
} store_driver_score;
/* The driver ratings of the answers tied to employee_id received in
 * [from, to) (from 0 = unbounded), ordered by aspect. *out is malloc'd
 * (free(); NULL when *n is 0). Disclosure is the caller's (api_dashboard.c). */
ks_err store_employee_drivers(ks_store *s, int64_t employee_id, int64_t from, int64_t to,
			      store_driver_score **out, size_t *n, ks_error *e);
/* ==== end of coaching ======================================================= */

/* ==== end of dashboards ===================================================== */

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

/* ==== privacy and audit (sqlite_audit.c, sqlite_gdpr.c; issue 11) ==========
 * The audit log is append-only: there is an append and a read, nothing
 * else (and triggers refuse UPDATE and DELETE). */

typedef struct store_audit_entry {
	int64_t id;              /* set by the store */
	int64_t at;              /* unix seconds; 0 = now (the store's clock) */
	int64_t actor_user_id;   /* 0 = the system or an anonymous caller */
	const char *client_addr; /* NULL = "" */
	const char *action;      /* "case.update", ... (required) */
	const char *object_kind; /* NULL = "" */
	int64_t object_id;       /* 0 = none */
	const char *detail;      /* JSON object text; NULL = "{}" */
} store_audit_entry;

/* Append one entry in its own transaction (the same write path as every
 * administrative write). a is borrowed; a->id is not written back. */
ks_err store_audit_append(ks_store *s, const store_audit_entry *a, ks_error *e);

/* Filters of a read; 0 / NULL = any. Newest first. */
typedef struct store_audit_query {
	int64_t actor_user_id;   /* 0 = any */
	bool actor_none;         /* only entries without an actor */
	const char *action;      /* exact, or a prefix when it ends in '*' */
	int64_t from, to;        /* [from, to) on at; 0 = open */
	int64_t before_id;       /* keyset cursor: entries with id < before_id */
	int limit;               /* 1..100000 */
} store_audit_query;
/* Each entry to fn (strings valid during the call only), newest first;
 * stops early when fn returns false. *more (may be NULL) tells whether
 * another entry follows the limit. */
typedef bool (*store_audit_fn)(void *arg, const store_audit_entry *a);
ks_err store_audit_scan(ks_store *s, const store_audit_query *q, store_audit_fn fn, void *arg,
			bool *more, ks_error *e);

/* A person whose data can be exported and erased. */
typedef enum { STORE_SUBJECT_CUSTOMER, STORE_SUBJECT_EMPLOYEE } store_subject_kind;

/* Everything stored about one customer or employee as one JSON object
 * (docs/PRIVACY.md, section 7): every column of every row that names them,
 * times as ISO 8601, without credentials (survey and unsubscribe tokens,
 * password hashes). *out is the caller's. KS_ERR_NOTFOUND when there is no
 * such row; *erased (may be NULL) then tells whether it was erased. */
ks_err store_gdpr_export(ks_store *s, store_subject_kind k, int64_t id, json_t **out, bool *erased,
			 ks_error *e);

/* Rows an erasure removed or anonymised. */
typedef struct store_erase_counts {
	int responses;           /* anonymised: the link to the person gone, scores kept */
	int open_texts;          /* open answers removed (customer) */
	int contacts, invitations, cases, case_notes, case_mails, webhook_events;
	int users;               /* accounts made tombstones (employee) */
} store_erase_counts;
/* New reference, the caller's; NULL when out of memory. */
json_t *store_erase_counts_json(const store_erase_counts *n);

typedef struct store_erasure {
	/* in */
	int64_t by_user_id;      /* who asked; 0 = the command line */
	const char *via;         /* "api" or "cli" */
	const char *client_addr; /* for the audit entry; NULL = "" */
	/* out */
	bool already;            /* erased before: nothing done, nothing recorded */
	int64_t erasure_id;
	int64_t erased_at;
	store_erase_counts counts;
} store_erasure;
/* Erase a person in one transaction, with its erasures row and its audit
 * entry (customer.erase / employee.erase); see sqlite_gdpr.c for what goes
 * and what stays. A second erase of the same id erases what was filed
 * under the tombstone's id since (a new erasure record), or, when there is
 * nothing, is KS_OK with x->already (nothing recorded).
 * KS_ERR_NOTFOUND for an id that never existed; KS_ERR_CONFLICT (field id)
 * when the employee's account owns open improvement actions. The caller
 * drops the person from derived copies (the analytics index). */
ks_err store_gdpr_erase(ks_store *s, store_subject_kind k, int64_t id, store_erasure *x, ks_error *e);

/* Retention: how many months each kind of data is kept (0 = for ever). */
typedef enum {
	STORE_RETENTION_OPEN_TEXT,    /* open answers: the text goes, the scores stay */
	STORE_RETENTION_CONTACTS,     /* contact events with their invitations */
	STORE_RETENTION_CLOSED_CASES, /* resolved and closed cases with notes and mails */
	STORE_RETENTION__COUNT
} store_retention_kind;
/* "open_text", "contacts", "closed_cases"; "" for another value. */
const char *store_retention_kind_name(store_retention_kind k);

typedef struct store_retention {
	int months[STORE_RETENTION__COUNT];
	bool stored[STORE_RETENTION__COUNT]; /* a row exists (else the caller's default stays) */
	int64_t updated_by, updated_at;      /* the latest change; 0 = never */
} store_retention;
/* Overwrite r's months with the stored ones (r holds the defaults on
 * entry); stored[] tells which were found. */
ks_err store_retention_get(ks_store *s, store_retention *r, ks_error *e);
/* Store the months of the kinds with stored[] set, by r->updated_by, with
 * the audit entry (may be NULL) in the same transaction; the next
 * retention pass runs at once. */
ks_err store_retention_put(ks_store *s, const store_retention *r, const store_audit_entry *audit,
			   ks_error *e);
/* When the last pass ran: -1 = never (no state yet), 0 = due at once
 * (the policy changed). */
ks_err store_retention_last_run(ks_store *s, int64_t *at, ks_error *e);

typedef struct store_retention_counts {
	int open_texts, contacts, invitations, cases;
} store_retention_counts;
/* Remove, in one transaction, the data older than each kind's cut (unix
 * seconds; 0 = keep that kind), record now as the last run, and, when
 * anything went, a retention.run audit entry with the counts. */
ks_err store_retention_apply(ks_store *s, const int64_t cut[STORE_RETENTION__COUNT], int64_t now,
			     store_retention_counts *n, ks_error *e);

/* ==== end of privacy and audit ============================================== */


/* ==== customer voice (issue 13; sqlite_events.c, sqlite_invite.c, 014) ====
 * The one-click score, yes/no answers, and how the organisation speaks to
 * its customers. */

/* Called after a response's answers changed in place (a one-click score
 * completed by the form, changed by a second tap, or withdrawn), with the
 * row before and after: only nps, grade, ces differ (and the drivers:
 * issue 15, after carries the form's driver ratings). Whoever keeps a
 * derived copy (the analytics index) updates it, so the response is still
 * counted once. The rows are valid during the call only. */
typedef void (*store_update_fn)(void *arg, const model_response *before,
				const model_response *after);
void store_set_update_hook(ks_store *s, store_update_fn fn, void *arg);

/* Change the stored answers of the partial response r->id (which must be
 * partial: KS_ERR_CONFLICT otherwise) to r's nps, grade, ces, drivers,
 * yes/no answers, open text and consent, in one transaction; the row's
 * tied fields and received_at stay. r->partial false completes it; true
 * keeps it partial (a second tap in the mail) and sets one_click_at to
 * `now`. The update hook hears of the change after the commit. */
ks_err store_response_update_partial(ks_store *s, const model_response *r, int64_t now,
				     ks_error *e);

/* Share of "yes" per yes/no aspect over complete and partial responses of
 * survey_id (0 = all) received in [from, to) (0 = open):
 * {"items":[{"aspect","n","yes","share_yes"}]} by aspect; share_yes is a
 * fraction with 3 decimals, null below min_n answers. Caller owns *out. */
ks_err store_yesno_report(ks_store *s, int64_t survey_id, int64_t from, int64_t to, int min_n,
			  json_t **out, ks_error *e);

#define STORE_LOGO_MAX 65536   /* bytes of the uploaded logo */
/* The organisation's voice: one row at most (defaults without it). */
typedef struct store_voice {
	bool formal;                    /* "u" rather than "je" */
	char organisation_name[128];    /* "" = none */
	char logo_type[16];             /* "" = no logo; image/png, image/jpeg, image/gif */
	unsigned char *logo;            /* malloc'd, logo_len bytes; NULL = none */
	size_t logo_len;
	int64_t updated_by, updated_at;
} store_voice;
/* *out is filled; the caller frees out->logo (store_voice_free). With
 * with_logo false the image is not read: out->logo stays NULL and
 * out->logo_len tells its size (0 = none) — what a page needs to know. */
ks_err store_voice_get(ks_store *s, store_voice *out, bool with_logo, ks_error *e);
/* Create or replace the row (v->updated_at set to now). */
ks_err store_voice_put(ks_store *s, store_voice *v, int64_t now, ks_error *e);
void store_voice_free(store_voice *v);
/* The language of the customer an unsubscribe token belongs to ("nl" when
 * the token is unknown: the page must not tell which tokens exist). */
void store_unsub_language(ks_store *s, const char *token, char lang[3]);

/* ==== end of customer voice ================================================ */

/* ==== text analysis (issue 14, sqlite_text.c) ============================== */

typedef struct store_reanalyze_counts {
	int64_t analyzed;   /* answers with fresh rows */
	int64_t failed;     /* analysis failed: logged, old rows kept */
} store_reanalyze_counts;
typedef void (*store_reanalyze_fn)(void *arg, const store_reanalyze_counts *so_far);

/* Re-run the analysis over every stored open answer, batch answers per
 * transaction (<= 0: 500), calling progress after each batch. Replaces
 * existing rows. KS_ERR_INTERNAL when the store has no text context. */
ks_err store_text_reanalyze(ks_store *s, int batch, store_reanalyze_fn progress, void *arg,
			    store_reanalyze_counts *out, ks_error *e);

/* ---- what the analytics index keeps of each analysis ----------------------
 * One answer's analysis as the index needs it: its sentiment label and its
 * top-level themes, each with the label of the clauses it stood in.
 * label: 0 negative, 1 neutral, 2 positive (text_label's values), or -1 =
 * the response has no analysis any more (erased, its text removed by
 * retention). Theme ids are the taxonomy's ("waiting_time"); a theme
 * appears once however many of its sub-themes were hit (its label: the
 * mean of their scores, >= 0.1 positive, <= -0.1 negative). */
#define STORE_TEXT_MAX_THEMES 16
typedef struct store_text_row {
	int64_t response_id;
	int label;
	int n_themes;
	char themes[STORE_TEXT_MAX_THEMES][48];
	int theme_labels[STORE_TEXT_MAX_THEMES];
} store_text_row;
typedef void (*store_text_fn)(void *arg, const store_text_row *rows, int n);

/* Called after every commit that wrote, replaced or removed analyses:
 * the writer's batches and the survey form's rewrite (after the commit
 * hook has been given the same responses), each reanalyze batch, GDPR
 * erasure and retention (label -1). Rows are valid during the call only;
 * the hook must not call back into the store's write paths. */
void store_set_text_hook(ks_store *s, store_text_fn fn, void *arg);

/* *used: does any stored analysis name theme id `theme` (a theme removed
 * from the taxonomy does until its answers are reanalysed)? */
ks_err store_text_theme_in_use(ks_store *s, const char *theme, bool *used, ks_error *e);

/* Every stored analysis with response_id > after_id, in response_id
 * order, to fn in chunks (for building the index at start-up). */
ks_err store_scan_text(ks_store *s, int64_t after_id, store_text_fn fn, void *arg, ks_error *e);

/* ---- the organisation's text configuration (issue 14, text) ---------------
 * sqlite_text_config.c and sqlite_text_job.c; JSON shapes: docs/API.md
 * "Text analysis". Every change (taxonomy, model) is one transaction with
 * its audit entry (a: NULL = none) and the start of a reanalysis of every
 * stored answer; then the store's analysis switches to the new context.
 * *out (when given) is a new reference owned by the caller. */

/* POST /text/analyze: text[0..len) analysed with the current taxonomy and
 * model; lang "nl" / "en" decide the language (as the CLI's --lang), NULL
 * or "auto" detect it. KS_ERR_UNAVAILABLE when analysis is off. */
ks_err store_text_analyze(ks_store *s, const char *text, size_t len, const char *lang, json_t **out,
			  ks_error *e);

/* {"default","version","updated_at","taxonomy"}. */
ks_err store_text_taxonomy_get(ks_store *s, json_t **out, ks_error *e);
/* Store taxonomy (NULL = back to the shipped default). A bad one:
 * KS_ERR_INVALID / KS_ERR_BADJSON with field = its JSON path, nothing
 * changed. */
ks_err store_text_taxonomy_put(ks_store *s, const json_t *taxonomy, const store_audit_entry *a,
			       json_t **out, ks_error *e);
/* Add a theme {"id","label":{"nl","en"},"terms":{"nl":[..],"en":[..]}} with
 * one sub-theme of the same id. KS_ERR_CONFLICT (field "id") when a theme
 * has that id; KS_ERR_INVALID naming the body's field. */
ks_err store_text_theme_add(ks_store *s, const json_t *theme, const store_audit_entry *a, json_t **out,
			    ks_error *e);

/* {"active","trained_at","n_examples","n_features","bytes","evaluation",
 *  "top","retrain_days","min_examples"}. */
ks_err store_text_model_get(ks_store *s, json_t **out, ks_error *e);
/* Train on the latest STORE_TEXT_TRAIN_MAX answers with an NPS and an open
 * text (a 5-fold evaluation over the latest 10,000 of them first), keep
 * and use the model. Fewer than
 * min_examples, or too few of a class: KS_ERR_RANGE field "examples",
 * nothing changed; KS_ERR_CONFLICT when a training runs already. */
#define STORE_TEXT_TRAIN_MAX 50000
ks_err store_text_model_train(ks_store *s, const store_audit_entry *a, json_t **out, ks_error *e);
/* Remove the model (lexicon only again). */
ks_err store_text_model_delete(ks_store *s, const store_audit_entry *a, json_t **out, ks_error *e);
/* Settings of the scheduled training; < 0 = unchanged. retrain_days 0..365
 * (0 = never), min_examples 30..1000000; KS_ERR_RANGE naming the field. */
ks_err store_text_model_settings(ks_store *s, int retrain_days, int min_examples,
				 const store_audit_entry *a, json_t **out, ks_error *e);

/* {"running","done","total","reason","started_at","finished_at"}. */
ks_err store_text_job_get(ks_store *s, json_t **out, ks_error *e);
/* Start (or restart) a reanalysis; reason "manual" for a request. */
ks_err store_text_job_start(ks_store *s, const char *reason, const store_audit_entry *a, json_t **out,
			    ks_error *e);
/* The server's background work: the reanalysis thread (resuming a job a
 * restart interrupted) and the scheduled trainings it runs. The store
 * stops the thread at close; stop is idempotent. */
ks_err store_text_jobs_start(ks_store *s, ks_error *e);
void store_text_jobs_stop(ks_store *s);
/* Called by the scheduler's pass: when the model is older than
 * retrain_days (or there is none) and min_examples labelled answers exist,
 * the job thread trains a new one. Looks at most hourly (clock time). */
void store_text_schedule(ks_store *s, int64_t now);

/* ---- theme discovery (issue 14, discovery; sqlite_text_discover.c) --------
 * GET /api/v1/themes/discover: the analysed open answers without any theme
 * row received in [from, to) (the period) and in [prev_from, from) (the one
 * before), within the reader's scope, run through text_discover
 * (src/text/discover.h) with the store's current text context. */
typedef struct store_discover_query {
	int64_t prev_from, from, to;
	int64_t team_id;         /* a unit and everything below it; 0 = all */
	int64_t employee_id;     /* 0 = any */
	char language[3];        /* analysis language "nl" / "en"; "" = both */
	int limit;               /* phrases, 1..50 */
	int min_n;               /* answers a phrase needs; <= 0: 3 */
} store_discover_query;

/* *out (the caller's): {"answers_without_theme","answers_previous",
 * "phrases":[{"phrase","stems","language","n","n_previous","rising",
 * "growth"|null,"p_value"|null,"examples":[item...]}]}, an item being a
 * verbatim item without team and touchpoint ({"response_id","text","nps",
 * "grade","band","language","received_at","employee"}): the caller applies
 * verbatim_detail. KS_ERR_UNAVAILABLE when analysis is off. */
ks_err store_text_discover(ks_store *s, const store_discover_query *q, json_t **out, ks_error *e);
/* ---- end of theme discovery ---- */

/* ==== key drivers (issue 15, sqlite_drivers.c) ============================== */

/* Every driver rating of the responses with id > after_id, one call per
 * response, in response id order (for building the analytics index; the
 * commit and update hooks carry new ratings after that). d is valid during
 * the call only. */
typedef void (*store_drivers_fn)(void *arg, int64_t response_id, const model_driver_score *d, int n);
ks_err store_scan_drivers(ks_store *s, int64_t after_id, store_drivers_fn fn, void *arg, ks_error *e);

/* The touchpoints of a journey in their order (position, then id). *out is
 * malloc'd (the caller frees it; NULL when *n is 0). */
typedef struct store_journey_tp {
	int64_t id;
	char name[160];
	int position;
	bool moment_of_truth;    /* the flag set by hand */
} store_journey_tp;
ks_err store_journey_touchpoints(ks_store *s, int64_t journey_id, store_journey_tp **out, size_t *n,
				 ks_error *e);
/* ==== end of key drivers ==================================================== */

/* ==== mention feeds: pollers (issue 16 H2, customers/sqlite_feeds.c, 022) ====
 * Review and social feeds fetched on a schedule by src/mentions/poll.c
 * (docs/POLLERS.md). Their mentions go through store_mentions_upsert. */
#include "mentions/mentions.h"
#define STORE_FEED_NAME_MAX 200
#define STORE_FEED_URL_MAX 2048
#define STORE_FEED_AUTH_MAX 1024
typedef struct store_feed {
	int64_t id;
	char name[STORE_FEED_NAME_MAX + 1];
	char format[24];                       /* one of mentions_parse's formats */
	char url[STORE_FEED_URL_MAX + 1];
	char auth_header[STORE_FEED_AUTH_MAX + 1]; /* "Name: value", "" = none; a secret */
	int64_t interval_s;                    /* 60..604800 */
	bool enabled;
	int64_t cursor_updated_at;             /* resume point; 0 = none yet */
	char etag[256], last_modified[64];     /* of the last complete run's first page */
	char etag_url[STORE_FEED_URL_MAX + 1]; /* the first URL they answered (H11) */
	int64_t generation;                    /* bumped when how it is fetched changes (H11) */
	int64_t runs;                          /* runs ended, ok or not (H11) */
	char resume_url[STORE_FEED_URL_MAX + 1]; /* "" = none: a failed run's next page (H11) */
	int64_t resume_max_updated;            /* the largest updated_at stored before it */
	int64_t last_run_at, last_ok_at, next_run_at;  /* 0 = never */
	int64_t failures;                      /* consecutive failed runs */
	char last_error[512];                  /* "" = none */
	int64_t last_status;                   /* HTTP status of the last reply, 0 = none */
	int64_t last_pages, last_received, last_inserted, last_updated, last_unchanged;
	int64_t mentions_fetched;              /* records received over the feed's life */
	int64_t created_at, updated_at;
} store_feed;
/* Every feed by id. *out is malloc'd (caller frees; NULL when none). */
ks_err store_feed_list(ks_store *s, store_feed **out, size_t *n, ks_error *e);
/* One feed, or KS_ERR_NOTFOUND. */
ks_err store_feed_get(ks_store *s, int64_t id, store_feed *out, ks_error *e);
/* Inserts f's settings (name, format, url, auth_header, interval_s,
 * enabled); due at once. Its audit entry (object_id set here) commits with
 * it. *id = the new row. */
ks_err store_feed_create(ks_store *s, const store_feed *f, const store_audit_entry *audit, int64_t *id,
			 ks_error *e);
/* Replaces f->id's settings with f's. rearm: due at once with no failures
 * (the settings that decide a fetch changed); reset: also forget the resume
 * point and the validators (url or format changed: another feed). Either
 * bumps the generation (a run in progress then records nothing of the
 * feed's state). With its audit entry; KS_ERR_NOTFOUND. */
ks_err store_feed_update(ks_store *s, const store_feed *f, bool rearm, bool reset,
			 const store_audit_entry *audit, ks_error *e);
/* Deletes a feed (its mentions stay); KS_ERR_NOTFOUND. */
ks_err store_feed_delete(ks_store *s, int64_t id, const store_audit_entry *audit, ks_error *e);
/* Ids of enabled feeds with next_run_at <= now, most overdue first, at most
 * max. *ids malloc'd (caller frees). */
ks_err store_feed_due(ks_store *s, int64_t now, size_t max, int64_t **ids, size_t *n, ks_error *e);
/* How a run ended, for store_feed_page (success) and store_feed_failed. */
typedef struct store_feed_result {
	int64_t at;                  /* when the run ended */
	int64_t next_run_at;
	int64_t status;              /* last HTTP status, 0 = none */
	int64_t max_updated_at;      /* success: largest updated_at stored by the run (0 = none) */
	const char *etag, *last_modified;  /* success: NULL = keep none */
	const char *etag_url;        /* success: the first URL the validators answered (H11) */
	int64_t generation;          /* the feed's generation the run read: the feed's state is
				      * written only while it matches (mentions stored stay) (H11) */
	const char *error;           /* failure: the reason (never the secret) */
	int64_t pages, received, inserted, updated, unchanged;  /* the whole run */
} store_feed_result;
/* Stores one page of a feed's mentions (b may be empty) by
 * store_mentions_upsert's rules; *out (may be NULL) counts it. With done
 * (the run's last page; its counts are the run's before this page, this
 * page's are added) also advances the cursor to done->max_updated_at when
 * that is later, and records the success — in the same transaction as the
 * page's upsert. */
ks_err store_feed_page(ks_store *s, int64_t id, const mentions_batch *b, const store_feed_result *done,
		       mentions_counts *out, ks_error *e);
/* Records a failed run: failures + 1, last_error, next_run_at (the
 * caller's backoff). The cursor stays. runs + 1 always; the rest only
 * while r->generation matches (as store_feed_page's done). */
ks_err store_feed_failed(ks_store *s, int64_t id, const store_feed_result *r, ks_error *e);
/* After a page (not the last) committed: where a run that fails later
 * resumes — next_url (NULL = clear) and the largest updated_at stored so
 * far — while generation matches (H11). */
ks_err store_feed_resume(ks_store *s, int64_t id, int64_t generation, const char *next_url,
			 int64_t max_updated_at, ks_error *e);
/* ==== end of mention feeds ================================================== */

/* ==== public score widgets (issue 16, sqlite_widget.c) ======================= */

/* One published figure (docs/API.md "Public score widgets"). */
typedef struct store_widget {
	char token[41];          /* its public name, /w/{token} */
	char scope[16];          /* "organisation", "team" or "touchpoint" */
	int64_t scope_id;        /* the team or touchpoint */
	char measure[8];         /* "nps" or "grade" */
	char period[24];         /* "2026", "2026-Q4", "2026-11", "previous_quarter", "previous_year" */
	bool enabled;
	int64_t updated_by, updated_at;
} store_widget;
/* Every widget in the order last written. *out is malloc'd (the caller
 * frees it; NULL when *n is 0). */
ks_err store_widget_list(ks_store *s, store_widget **out, size_t *n, ks_error *e);
/* One widget by token; KS_ERR_NOTFOUND when there is none. */
ks_err store_widget_get(ks_store *s, const char *token, store_widget *out, ks_error *e);
/* Replace the whole list with w[0..n) (updated_by from each), with the
 * audit entry (may be NULL), in one transaction. */
ks_err store_widget_put(ks_store *s, const store_widget *w, size_t n, const store_audit_entry *audit,
			ks_error *e);
/* ==== end of public score widgets =========================================== */

/* ==== mentions: unsolicited feedback (issue 16 H1, customers/sqlite_mentions.c, 020) ====
 * Reviews and posts from any source (src/mentions/mentions.h). Never an NPS:
 * their measures are their own (docs/MENTIONS.md). */
#include "mentions/mentions.h"

/* Writes b in one transaction: a new (source, source_id) is inserted, an
 * existing one is updated only when this updated_at is newer (an older or
 * equal one is counted unchanged and writes nothing). unit_id comes from
 * mention_locations, customer_id from customers.external_id, the text's
 * analysis (language when absent, sentiment, themes) is stored with it.
 * *out may be NULL. Nothing is written on any error. */
ks_err store_mentions_upsert(ks_store *s, const mentions_batch *b, mentions_counts *out, ks_error *e);

/* A list or summary filter; zero/NULL members do not filter. */
typedef struct store_mention_query {
	const char *source, *location, *theme, *sentiment, *q; /* q: substring of title/text/author */
	int64_t unit_id;         /* this unit and every unit below it */
	int64_t customer_id;
	int64_t from, to;        /* created_at in [from, to) */
	bool rated_only;
	int offset, limit;       /* list paging: limit 1..500 */
} store_mention_query;

/* {"items":[mention...],"total":n,"offset":o,"limit":l}, newest first
 * (created_at, id). A mention is the JSON shape of docs/API.md "Mentions". */
ks_err store_mentions_list(ks_store *s, const store_mention_query *q, json_t **out, ks_error *e);
/* One mention, or KS_ERR_NOTFOUND. */
ks_err store_mention_get(ks_store *s, int64_t id, json_t **out, ks_error *e);
/* The unit a mention is linked to (0 = none); KS_ERR_NOTFOUND. */
ks_err store_mention_unit(ks_store *s, int64_t id, int64_t *unit_id, ks_error *e);
/* Sets the reply: draft (NULL = leave, "" = clear) or, with recorded, the
 * reply as published (text, at, by; the draft is cleared). Returns the row. */
ks_err store_mention_reply(ks_store *s, int64_t id, const char *draft, const char *text, bool recorded,
			   int64_t user_id, int64_t at, json_t **out, ks_error *e);
/* Measures per group ("source", "location", "unit", "month" in the
 * organisation's zone, or NULL = one total): {"group_by", "groups":[{key,
 * label, n, n_rated, rating10:{mean, low, high}|null, share_4_5:{p, low,
 * high, k}|null, sentiment:{n, positive, neutral, negative}|null, hidden:[...]}],
 * "min_n"}. Each measure needs min_n of its own count (rated, analysed),
 * else it is null and named in "hidden". */
ks_err store_mentions_summary(ks_store *s, const store_mention_query *q, const char *group_by, int64_t min_n,
			      json_t **out, ks_error *e);
/* mention_locations: [{"location","unit_id","unit_name","mentions"}]. */
ks_err store_mention_locations_list(ks_store *s, json_t **out, ks_error *e);
/* Maps location to unit (KS_ERR_REF field unit_id when no such unit) and
 * relinks the stored mentions of that location, in one transaction;
 * *relinked (may be NULL) = mentions changed. */
ks_err store_mention_location_put(ks_store *s, const char *location, int64_t unit_id, int64_t *relinked,
				  ks_error *e);
/* Removes the mapping (its mentions lose their unit); KS_ERR_NOTFOUND. */
ks_err store_mention_location_delete(ks_store *s, const char *location, int64_t *relinked, ks_error *e);
/* ==== end of mentions ======================================================= */

/* ==== review invitations (issue 16 H3, customers/sqlite_review.c, 021) =====
 * After a promoter's survey answer the thank-you page invites the customer to
 * write a public review (docs/API.md "Review invitations"). */
#define STORE_REVIEW_URL_MAX 400
#define STORE_REVIEW_TOKEN_LEN 32
/* issue 16 H7: who is invited. ALL (the default): every customer who
 * answered; PROMOTERS: NPS >= min_nps only ("review gating": against
 * Google's and Trustpilot's review policies, docs/API.md). */
typedef enum { STORE_REVIEW_ALL = 0, STORE_REVIEW_PROMOTERS } store_review_audience;
/* "all" / "promoters"; _parse false for anything else. */
const char *store_review_audience_name(store_review_audience a);
bool store_review_audience_parse(const char *name, store_review_audience *out);
typedef struct store_review_settings {
	bool enabled;            /* default false */
	char url[STORE_REVIEW_URL_MAX + 1]; /* the review page; "" = none */
	store_review_audience audience; /* default ALL */
	int min_nps;             /* 0..10, under PROMOTERS; default 9 */
	int interval_days;       /* at most one invitation per customer in this many days; default 180 */
	int64_t updated_by;      /* users.id; 0 = none */
	int64_t updated_at;      /* 0 = never set */
} store_review_settings;
/* The stored settings, or the defaults without a row. */
ks_err store_review_settings_get(ks_store *s, store_review_settings *out, ks_error *e);
/* issue 16 H7: the members of o a change sets (the others keep their
 * stored value). */
enum { STORE_REVIEW_SET_ENABLED = 1, STORE_REVIEW_SET_URL = 2, STORE_REVIEW_SET_MIN_NPS = 4,
       STORE_REVIEW_SET_INTERVAL = 8, STORE_REVIEW_SET_AUDIENCE = 16 };
/* Change the members of o named in `set` (a mask of STORE_REVIEW_SET_*;
 * values already checked) and append audit (borrowed; NULL = none) in one
 * write transaction: read, merged and written under one lock, so two
 * changes at once both count and a change is never without its entry.
 * updated_by is o's, updated_at the store's clock; *o gets the row as
 * stored. KS_ERR_INVALID field "url" when the result is on without a page
 * (nothing written). */
ks_err store_review_settings_put(ks_store *s, store_review_settings *o, unsigned set, const store_audit_entry *audit,
				 ks_error *e);
/* Decide and record the invitation for a stored response, in one
 * transaction: invited when the settings are on with a URL, (audience
 * PROMOTERS only) the response's NPS >= min_nps, its customer has an e-mail address and has not opted out,
 * and that customer had no invitation in the last interval_days (the same
 * response again returns its own invitation). *offered tells; token (when
 * offered) gets the link's token. */
ks_err store_review_offer(ks_store *s, int64_t response_id, int64_t now, bool *offered,
			  char token[STORE_REVIEW_TOKEN_LEN + 1], ks_error *e);
/* A click on /r/{token}: the first one sets clicked_at, every one counts in
 * clicks; url gets the review page to send the customer to. KS_ERR_NOTFOUND
 * for an unknown token or when no URL is set. */
ks_err store_review_click(ks_store *s, const char *token, int64_t now, char url[STORE_REVIEW_URL_MAX + 1],
			  ks_error *e);
/* Invitations sent in [from, to) (0 = open end): how many, how many were
 * clicked, how many led to a mention of the customer (reviewed_mention_id);
 * by[] the same per audience in force when they were sent (issue 16 H7). */
typedef struct store_review_counts {
	int64_t invited, clicked, wrote;
} store_review_counts;
typedef struct store_review_stats {
	int64_t invited, clicked, wrote;
	store_review_counts by[2]; /* [STORE_REVIEW_ALL], [STORE_REVIEW_PROMOTERS] */
} store_review_stats;
ks_err store_review_stats_get(ks_store *s, int64_t from, int64_t to, store_review_stats *out, ks_error *e);
/* ==== end of review invitations ============================================= */

/* ==== internal data (issue 16 H4, customers/sqlite_internal.c, 023) ==========
 * The organisation's own data: `klantstem import customers|products|holdings|
 * events` and POST /api/v1/import/{kind} (docs/IMPORT.md). A session is one
 * bulk transaction of one kind: records checked by idata_check go in with
 * store_idata_put (an upsert by external id); store_idata_commit writes the
 * import_runs row in the same transaction and commits. Nothing is visible
 * before; store_idata_rollback leaves the database as it was. Both free x. */
#include "model/idata.h"
typedef struct store_idata store_idata;
typedef struct store_idata_counts {
	long ok;          /* records written = added + updated + kept + duplicates */
	long added, updated;
	long kept;        /* events without an external_id that were stored already */
	long duplicates;  /* a record whose id came earlier in the session (this one wins) */
} store_idata_counts;
ks_err store_idata_begin(ks_store *s, idata_kind kind, store_idata **out, ks_error *e);
/* issue 16 H8: a check session — a read transaction, no write lock, nothing
 * written: store_idata_put only resolves the references (the same
 * KS_ERR_REF) and counts what a write would add / update / keep, so a file
 * is checked whole before its write session takes the lock (and --dry-run
 * never takes it). End it with store_idata_rollback. */
ks_err store_idata_begin_check(ks_store *s, idata_kind kind, store_idata **out, ks_error *e);
/* Upsert r (checked): a field r does not have (r->given) keeps its stored
 * value; an attribute "" is removed. Holdings and events name their
 * customer (and product) by external id: KS_ERR_REF naming
 * customer_external_id / product_external_id when it is not stored. On an
 * error nothing of r is written (the session goes on). *dup: r's id came
 * before in this session. */
ks_err store_idata_put(store_idata *x, const idata_rec *r, bool *dup, ks_error *e);
void store_idata_counts_get(const store_idata *x, store_idata_counts *out);
/* file: the name to record (NULL for the API); rejected: records left out
 * (--skip-bad). */
ks_err store_idata_commit(store_idata *x, const char *file, bool via_api, long rejected, ks_error *e);
void store_idata_rollback(store_idata *x);
/* ==== end of internal data ================================================== */

/* ==== customer timeline (issue 16, sqlite_timeline.c) ======================= */
/* One customer's contacts, invitation events, responses, case events and
 * opt-out, newest first: {"customer":{id,name},"items":[...],"next":ISO|null}.
 * before: unix seconds, only items before it (0: none); limit 1..200 (a page
 * runs past it by the items of its last second). One read transaction.
 * KS_ERR_NOTFOUND for an unknown customer. *out is the caller's. */
ks_err store_timeline_customer(ks_store *s, int64_t id, int64_t before, int limit, json_t **out, ks_error *e);
/* ==== end of customer timeline ============================================== */

/* ==== attribute dimensions (issue 16 H5, reports/sqlite_attr_scan.c) ======
 * The tables of migration 023 read in bulk for the analytics index
 * (src/analytics/attr.c). */
typedef enum { STORE_ATTR_PRODUCT, STORE_ATTR_KEY, STORE_ATTR_VALUE, STORE_ATTR_CUSTOMER, STORE_ATTR_HOLDING,
	       STORE_ATTR_EVENT } store_attr_kind;
typedef enum { STORE_ATTR_LOGIN = 1, STORE_ATTR_SUBSCRIBED, STORE_ATTR_UNSUBSCRIBED } store_attr_event;
/* One row of the scan; strings are valid during the call only. Per kind:
 *   PRODUCT  product_id, text (its name)                    products by id
 *   KEY      key, count (customers with it)                 most common first
 *   VALUE    key, text (a value), count                     by key, most common first
 *   CUSTOMER customer_id, key, text (the value)             by customer
 *   HOLDING  customer_id, product_id, since_day, until_day  by customer; days since
 *            1970-01-01, since absent = INT32_MIN, until absent (still held) = INT32_MAX
 *   EVENT    customer_id, event, at (unix seconds)          logins and newsletter
 *            (un)subscriptions by customer, then time, then id */
typedef struct store_attr_row {
	store_attr_kind kind;
	int64_t customer_id, product_id, count, at;
	const char *key, *text;
	int32_t since_day, until_day;
	store_attr_event event;
} store_attr_row;
typedef struct store_attr_sink {
	bool (*row)(void *arg, const store_attr_row *r);  /* false: out of memory, the scan stops */
	void *arg;
} store_attr_sink;
/* Every row above, in that order, in one read transaction; *run_id gets
 * max(import_runs.id) of the same snapshot (0 when there is none, or no
 * migration 023: then no rows). */
ks_err store_attr_scan(ks_store *s, const store_attr_sink *k, int64_t *run_id, ks_error *e);
/* max(import_runs.id), 0 when none: a running server polls it to notice a
 * finished import (one indexed read). */
ks_err store_attr_run_id(ks_store *s, int64_t *run_id, ks_error *e);
/* ==== end of attribute dimensions =========================================== */

/* ==== relationship surveys (issue 16 H6; sqlite_relationship.c, 024) ========
 * A wave samples ALL customers, stratified by segment ('' = no segment),
 * with the fatigue rules of contact invitations; sending creates a contact
 * with channel "relationship" on the wave's relationship touchpoint and an
 * invitation per customer, so the scheduler, reminders, survey page and
 * funnel serve waves as they serve contacts. docs/API.md "Relationship
 * surveys", docs/STATISTICS.md §12. */
typedef struct store_rel_wave {
	int64_t id;
	char name[208];
	int64_t survey_id;
	int64_t touchpoint_id;        /* 0 until sent */
	char period[24];              /* whole month, quarter or year label */
	int64_t sample_size;
	char allocation[16];          /* "proportional" | "equal" */
	int64_t min_per_stratum;
	bool replace_excluded;        /* an excluded customer is replaced from the same stratum */
	int fatigue_days;             /* 0..365, as invite_rule.fatigue_days */
	char seed[17];                /* 16 hex digits; "" before the draw */
	char status[8];               /* draft | drawn | sent | closed */
	int64_t population;           /* frame size at the draw; 0 before */
	int64_t created_by;           /* 0 = none */
	int64_t created_at, drawn_at, sent_at, closed_at;  /* 0 = not yet */
	/* Filled by get and list: sample rows selected (not excluded), excluded
	 * (any reason, draw or send), invitations created, respondents. */
	int64_t selected, excluded, invited, respondents;
} store_rel_wave;

/* Insert w (validated by the caller; status draft): KS_ERR_REF naming
 * "survey_id" when the survey does not exist. Sets w->id, w->created_at. */
ks_err store_rel_wave_create(ks_store *s, store_rel_wave *w, ks_error *e);
/* KS_ERR_NOTFOUND when there is no such wave. */
ks_err store_rel_wave_get(ks_store *s, int64_t id, store_rel_wave *out, ks_error *e);
/* Every wave, newest first; *out malloc'd (caller frees; NULL when none). */
ks_err store_rel_wave_list(ks_store *s, store_rel_wave **out, size_t *n, ks_error *e);
/* Write every editable field of w (name, survey_id, period, sample_size,
 * allocation, min_per_stratum, replace_excluded, fatigue_days, status,
 * closed_at) if the stored status is still expect_status: KS_ERR_CONFLICT
 * naming "status" when it changed meanwhile; KS_ERR_REF "survey_id". */
ks_err store_rel_wave_update(ks_store *s, const store_rel_wave *w, const char *expect_status,
			     ks_error *e);
/* Delete a draft or drawn wave with its sample; KS_ERR_CONFLICT naming
 * "status" once sent (its invitations and answers stay the record). */
ks_err store_rel_wave_delete(ks_store *s, int64_t id, ks_error *e);

/* What a draw did, per stratum and in total. */
typedef struct store_rel_draw_result {
	int64_t population, allocated, selected;
	int64_t fatigue, opted_out, no_email;   /* excluded at the draw, by reason */
	size_t strata;
} store_rel_draw_result;
/* Draw the sample of a draft wave with seed: the frame (every customer not
 * erased) read in one snapshot without the write lock, strata by segment,
 * rel_allocate, each stratum in rel_key order, invite_decide's opt-out /
 * e-mail / fatigue checks at the current time; then the sample written in
 * one transaction, status drawn. KS_ERR_CONFLICT naming "status" unless
 * draft, or when the wave changed between the read and the write;
 * KS_ERR_RANGE from rel_allocate; KS_ERR_RANGE naming "sample_size" when
 * there are no customers. */
ks_err store_rel_draw(ks_store *s, int64_t id, uint64_t seed, store_rel_draw_result *out, ks_error *e);
/* Send a drawn wave: the relationship touchpoint of its survey (made on
 * first use, with a disabled rule; set on the wave in a first transaction),
 * then per selected customer the same checks again (an opt-out since the
 * draw is excluded with excluded_at "send"), a contact and a scheduled
 * invitation (sent by the scheduler at once, out of quiet hours), in
 * committed chunks of 1,000 (H8): called again after a failure it goes on
 * with the customers not sent yet. Status becomes sent with the last chunk.
 * *invited / *excluded: the wave's totals. KS_ERR_CONFLICT naming "status"
 * unless drawn. */
ks_err store_rel_send(ks_store *s, int64_t id, int64_t *invited, int64_t *excluded, ks_error *e);

/* The counts of a wave's report. */
typedef struct store_rel_stratum {
	char stratum[128];
	bool in_frame;                 /* false: a segment that appeared after the draw */
	int64_t population, allocated; /* the frame at the draw */
	int64_t selected, fatigue, opted_out, no_email;
	int64_t invited;               /* customers with a relationship invitation created */
	metrics_counts rel;            /* the wave's responses; rel.n = respondents */
	int64_t cd_invited;            /* customers with a contact invitation created, contact in the period */
	int64_t cd_respondents;        /* customers with a contact-driven response in the period */
} store_rel_stratum;
typedef struct store_rel_report {
	store_rel_stratum *strata;     /* malloc'd; frame strata by name, then new segments */
	size_t n;
	metrics_counts rel;            /* the whole wave */
	metrics_counts cd;             /* every response received in [from, to) that is not a
	                                * relationship response (channel <> 'relationship') */
	int64_t cd_invited, cd_respondents;  /* customers, each once */
	metrics_counts cd_once;        /* H8: as cd, each customer once — their latest NPS answer
	                                * in [from, to) (an answer without a customer alone): the
	                                * gap's contact-driven side, whose answers must be
	                                * independent */
} store_rel_report;
/* One read transaction. Contact-driven figures over [from, to); every
 * answer counted (the wave's too) received before as_of (0 = no cut: the
 * API passes the start of today, docs/PRIVACY.md §3). Release with
 * store_rel_report_free (also after a failure). */
ks_err store_rel_report_counts(ks_store *s, int64_t id, int64_t from, int64_t to, int64_t as_of,
			       store_rel_report *out, ks_error *e);
void store_rel_report_free(store_rel_report *r);

/* A wave per quarter (relationship_schedule, one row; src/invite/rel_schedule.c
 * runs it). */
typedef struct store_rel_schedule {
	bool enabled;
	int64_t survey_id;            /* 0 = none chosen */
	int64_t sample_size;
	char allocation[16];
	int64_t min_per_stratum;
	bool replace_excluded;
	int fatigue_days;
	int day_of_month;             /* 1..28 of the quarter's first month */
	char last_period[24];         /* "" = none made yet */
	int64_t last_wave_id;         /* 0 = none */
	char last_error[256];
	int64_t updated_by, updated_at;
} store_rel_schedule;
/* The schedule, or the defaults (off, 400, proportional, 30 days, day 1). */
ks_err store_rel_schedule_get(ks_store *s, store_rel_schedule *out, ks_error *e);
/* Write the settings (not last_*): KS_ERR_REF naming "survey_id". */
ks_err store_rel_schedule_put(ks_store *s, const store_rel_schedule *in, ks_error *e);
/* In one transaction: when the schedule is on and period (a quarter label)
 * has no scheduled wave yet, make its draft wave and record period as
 * done, so a quarter gets one wave however often this runs. *wave_id 0 =
 * nothing to do. */
ks_err store_rel_schedule_claim(ks_store *s, const char *period, int64_t *wave_id, ks_error *e);
/* Remember why the last scheduled wave failed ("" = it did not). */
ks_err store_rel_schedule_note(ks_store *s, const char *error, ks_error *e);
/* ==== end of relationship surveys ============================================ */

#endif
