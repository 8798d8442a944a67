/* store.h — the storage interface of klantstem.
 *
 * Callers (API, survey page, demo, CLI) see only this header. It holds the
 * core (opening, entities, surveys, contacts, responses, metrics) and
 * includes one header per domain at its end (store_<domain>.h in
 * src/store/<domain>/, beside that domain's SQL). The SQLite backend is
 * sqlite_store.c and the sqlite_*.c files of the domain folders; a
 * PostgreSQL backend adds pg_*.c beside them behind the same functions,
 * without touching callers.
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
	/* issue 18 (review): on PostgreSQL, this process is a node -- a row in
	 * nodes, its life lock and a follower of the other nodes' changes
	 * (sqlite_nodes.c, pg_follow.c). Only the server (klantstem serve): a
	 * command (import, copy, users ...) keeps no in-memory copy to follow
	 * and claims no outbox row; its writes reach the nodes through the
	 * change feed as a script's would. No effect on SQLite. */
	bool node;
} store_options;

/* Open (creating if needed) the database at path and apply pending
 * migrations. *out is owned by the caller: release with store_close(). */
ks_err store_open(const char *path, const store_options *opt, ks_store **out, ks_error *e);
/* issue 18: path names a PostgreSQL database (postgres:// or
 * postgresql:// URI) rather than a SQLite file. */
bool store_is_pg_uri(const char *path);
/* issue 18: the store runs on PostgreSQL. */
bool store_is_pg(const ks_store *s);
/* Flush pending writes, checkpoint the WAL and close. NULL is a no-op. */
void store_close(ks_store *s);
/* Schema version after migrations. */
int store_schema_version(ks_store *s);
/* Group-commit figures since open: transactions and response rows written. */
void store_stats(ks_store *s, uint64_t *batches, uint64_t *rows);

/* issue 18 (ops): the writer's state for /readyz and the Prometheus
 * metrics (sqlite_ops.c). Batch sizes are counted in STORE_BATCH_BUCKETS
 * buckets: bucket i holds batches of size <= 2^i (i < 13), the last one
 * the larger ones; not cumulative. */
#define STORE_BATCH_BUCKETS 14
typedef struct store_ops_stats {
	uint64_t batches;        /* group-commit transactions attempted */
	uint64_t commits;        /* ... that committed (one WAL fsync each: synchronous=FULL) */
	uint64_t rows;           /* items the writer has finished (stored or refused) */
	uint64_t queue_depth;    /* items handed to the writer and not finished yet */
	uint64_t batch_hist[STORE_BATCH_BUCKETS];
	bool storage_full;       /* intake refused: the disk is full (503 storage_full) */
	bool writer_failing;     /* the last batch rolled back as a whole, under
				    STORE_WRITER_FAIL_HOLD_MS ago (as first seen by a probe) */
	bool writer_running;     /* the writer thread was started and is not closing */
	int schema_version;
} store_ops_stats;
/* A failed last batch stops counting as "failing" after this long without
 * another: a drained node with no writes would otherwise never be ready. */
#define STORE_WRITER_FAIL_HOLD_MS 10000
/* Copy the figures (one lock; while the disk is full also one statvfs, so
 * that a node with space back is ready without waiting for a write). */
void store_ops_get(ks_store *s, store_ops_stats *out);
/* The bucket of a batch of n items (see STORE_BATCH_BUCKETS). */
int store_batch_bucket(int n);
/* The mail and webhook queues as the scheduler sees them (the Prometheus
 * families klantstem_outbox_due and klantstem_outbox_oldest_due_seconds):
 * per kind, the rows due at now and not yet being sent, and how long the
 * oldest of them has waited (0 when none is due). A growing age says the
 * scheduler does not keep up, or every try of a kind fails and backs off.
 * kind is a static string. Several small COUNTs over the queues' (status,
 * due time) indexes: for a scrape, not for every request. */
typedef struct store_outbox_depth {
	const char *kind;
	int64_t due;
	int64_t oldest_due_s;
} store_outbox_depth;
#define STORE_OUTBOX_KINDS 9
ks_err store_outbox_depths(ks_store *s, int64_t now, store_outbox_depth out[STORE_OUTBOX_KINDS], ks_error *e);
/* end issue 18 (ops) */

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


/* ---- issue 18 (NODES): several nodes on one database ---------------------
 * On PostgreSQL each store is a node (sqlite_nodes.c): a row in nodes,
 * alive while its process holds its connection; it follows the other
 * nodes' changes (pg_follow.c) through the hooks (commit, update, text)
 * and this one for the rest. On SQLite there is one node (id 0). */
int64_t store_node_id(const ks_store *s);
/* A change by another node of what a node keeps in memory, other than
 * responses and analyses: kind "customer" (ref = customer id; ref 0:
 * every customer, after an import on another node), "names"
 * (org units, employees, touchpoints, journeys; ref 0), "forget_customer"
 * / "forget_employee" (erased; ref = its id). Called on the follower's
 * thread; must not call back into the store's write paths. */
typedef void (*store_change_fn)(void *arg, const char *kind, int64_t ref_id);
void store_set_change_hook(ks_store *s, store_change_fn fn, void *arg);
/* The scheduler's pass (every pass; works at most once a minute): on
 * PostgreSQL the claims of nodes that are gone back to pending (*n rows),
 * this node's seen_at, and change-feed rows older than an hour removed.
 * On SQLite nothing (*n = 0). */
ks_err store_nodes_pass(ks_store *s, int64_t now, int *n, ks_error *e);
/* The login throttle's counts in the database (table login_throttle),
 * shared by every node (src/auth's auth_shared): one failure of key at
 * now (a new window when the last began window seconds ago or more); the
 * window start and failures of n keys (0 / 0 when none); a key's failures
 * back to 0. */
ks_err store_throttle_fail(ks_store *s, int64_t key, int64_t now, int window, ks_error *e);
ks_err store_throttle_get(ks_store *s, const int64_t *keys, int n, int64_t *since, int *fails, ks_error *e);
ks_err store_throttle_clear(ks_store *s, int64_t key, ks_error *e);
/* end issue 18 (NODES) */

/* The rest of the contract, one header per domain (the SQL of each is in
 * its folder). Order matters: a later domain uses the earlier ones' types. */
#include "store/invite/store_invite.h"
#include "store/accounts/store_accounts.h"
#include "store/survey/store_survey.h"
#include "store/cases/store_cases.h"
#include "store/text/store_text.h"
#include "store/reports/store_reports.h"
#include "store/customers/store_customers.h"
#include "store/governance/store_kpis.h"
#include "store/governance/store_pulse.h"
#include "store/governance/store_digest.h"


#endif
