/* store_accounts.h — part of the store's contract (store.h): accounts,
 * sessions and API tokens; privacy (export, erasure, retention) and the audit
 * log.
 *
 * The SQL behind it is in this folder (src/store/accounts/). Include
 * "store/store.h", never this file: store.h includes the domains in the
 * order their types need, and its contracts (transactions, ownership,
 * errors) hold here too. */
#ifndef KS_STORE_ACCOUNTS_H
#define KS_STORE_ACCOUNTS_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_accounts.h"
#endif

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



#endif
