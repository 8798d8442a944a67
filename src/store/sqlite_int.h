/* sqlite_int.h — internals shared by the store's files
 * (sqlite_store.c: connections, migrations, generic entities;
 *  survey/sqlite_events.c: contacts, responses with group commit, metrics, bulk).
 * Since issue 18 the store runs on SQLite and on PostgreSQL through one
 * statement API (store/db/db.h): the "sqlite_" in these names is history,
 * not a promise; what is SQLite's alone reaches the raw handle through
 * db_sqlite_handle() and says so. Nothing outside src/store/ (and its unit
 * tests) includes this header.
 */
#ifndef KS_SQLITE_INT_H
#define KS_SQLITE_INT_H

#include <pthread.h>

#include "store/db/db.h"

#include "store/store.h"

/* How long a connection waits for another's write lock (db_busy_timeout). */
#define SQ_BUSY_TIMEOUT_MS 10000

/* issue 14 (text): one generation of the text context (sqlite_text.c). */
typedef struct sq_text_gen sq_text_gen;

/* Statements prepared once per connection and kept (db_prepare_persistent). */
typedef enum {
	SQ_CONTACT_GET,
	SQ_CONTACT_BY_TOKEN,
	SQ_CONTACT_INSERT,
	SQ_CONTACT_ANSWER,
	SQ_TOUCHPOINT_BY_TOKEN,
	SQ_TOUCHPOINT_SURVEY,
	SQ_CUSTOMER_LANG,
	SQ_EMPLOYEE_TEAM,
	SQ_EMPLOYEE_NAME,
	SQ_EXISTS_CUSTOMER,
	SQ_EXISTS_TOUCHPOINT,
	SQ_TEAM_KIND,
	SQ_SURVEY_GET,
	SQ_RESPONSE_INSERT,
	SQ_RESPONSE_BY_KEY,
	SQ_RESPONSE_DRIVER,
	SQ_RESPONSE_GET,
	SQ_RESPONSE_DRIVERS,
	SQ_METRICS,
	SQ_SAVEPOINT,
	SQ_RELEASE,
	SQ_ROLLBACK_TO,
	SQ_INVITE_COMPLETED,
	SQ_TOKEN_USER,
	SQ_SESSION_USER,
	SQ_ALERT_RULES,
	SQ__COUNT
} sq_id;

typedef struct sq_conn {
	db_conn *db;   /* SQLite or PostgreSQL (store/db/db.h) */
	unsigned tz_gen;  /* PostgreSQL: the store's tz_gen its klantstem.tz was set at */
	db_stmt *stmt[SQ__COUNT];
	struct sq_conn *next_free;
	/* issue 14: text analysis scratch, made on first use by whichever
	 * thread holds the connection (one holder at a time: no lock), from
	 * the generation text_wgen (a counted reference) */
	struct text_worker *text_w;
	struct sq_text_gen *text_wgen;
} sq_conn;

/* A write for the group-commit writer: a response, or a contact event with
 * its invitation decision. */
typedef enum { WQ_RESPONSE, WQ_CONTACT } wq_kind;

typedef struct wq_item {
	wq_kind kind;
	model_response r;
	char *open_text;          /* owned copy; r.open_text points here */
	store_response_cb cb;
	model_contact c;
	store_invite_result inv;
	store_contact_cb ccb;
	void *arg;
	struct wq_item *next;
} wq_item;

struct ks_store {
	char *path;
	bool pg;                 /* issue 18: a PostgreSQL database (path is its URI) */
	unsigned tz_gen;         /* bumped by store_set_tz: PostgreSQL sessions set it again */
	const ks_clock *clock;
	int version;

	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	sq_conn *free_conns;
	sq_conn **all_conns;
	int n_conns;

	/* the group-commit writer */
	sq_conn *wconn;
	pthread_t writer;
	bool writer_started;
	pthread_mutex_t wq_mu;
	pthread_cond_t wq_cv;
	wq_item *wq_head, *wq_tail;
	bool closing;
	int batch_max;
	uint64_t n_batches, n_rows;
	/* issue 18 (ops): store_ops_get (sqlite_ops.c); under wq_mu */
	uint64_t n_enqueued, n_commits;
	uint64_t batch_hist[STORE_BATCH_BUCKETS]; /* batches by size, see store.h */
	bool last_batch_failed;  /* the last batch rolled back as a whole */
	uint64_t ops_fail_batches; /* n_batches when a probe first saw that failure */
	int64_t ops_fail_ms;       /* ... and when (clock_mono_ms) */
	/* end issue 18 (ops) */
	/* open-link guard (issue 11): a full disk. The writer refuses intake
	 * (KS_ERR_STORAGE_FULL) instead of failing every batch, and frees the
	 * reserve file so logins and the admin's small writes still fit; both
	 * under wq_mu. See sq_storage_* in sqlite_events.c. */
	bool storage_full;
	bool reserve_owned;      /* this process created <path>-reserve */

	uint64_t sample_seed;    /* invitation sampling (store_set_sample_seed) */
	ks_tz tz;                /* the organisation's calendar: ks_local_month/year() in SQL */
	bool webhooks;           /* queue webhook events (store_set_webhooks) */
	store_commit_fn commit_hook;
	void *commit_arg;
	store_update_fn update_hook;   /* issue 13: a partial response changed */
	void *update_arg;

	/* the funnel's results, reused while nothing is committed (issue 13,
	 * sqlite_invite.c); NULL = no cache */
	struct sq_funnel_cache *funnel;

	/* The checkpointer: folds the WAL back into the database on its own
	 * connection and thread, so the writer never does checkpoint I/O. */
	sq_conn *ckconn;
	pthread_t ckpt;
	bool ckpt_started;
	bool ckpt_due;
	bool ckpt_stop;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cv;

	/* text analysis (issue 14, sqlite_text.c): the current generation of
	 * the text context (taxonomy + model), read-only and shared by every
	 * connection's worker; NULL when the language data is missing
	 * (answers are then stored without analysis). A change of taxonomy
	 * or model installs a new generation under text_mu; each worker keeps
	 * a reference to the generation it was made from and is remade on its
	 * next use, and the old context is freed with its last reference. */
	bool text_inited;
	pthread_mutex_t text_mu;
	struct sq_text_gen *text_gen;
	/* issue 14 (text): the analytics index hears of analyses written or
	 * removed after each commit (store_set_text_hook). */
	store_text_fn text_hook;
	void *text_arg;
	/* issue 14 (text): configuration changes one at a time (cfg_mu); one
	 * training at a time (train_mu, tried, never waited for); the
	 * reanalysis thread (sqlite_text_job.c) under job_mu. */
	pthread_mutex_t text_cfg_mu;
	pthread_mutex_t text_train_mu;
	pthread_mutex_t job_mu;
	pthread_cond_t job_cv;
	pthread_t job_thread;
	bool job_started, job_stop, job_wake, job_retrain;
	int64_t retrain_checked_at;  /* the scheduler's last look (clock time) */
	/* issue 18 (NODES): this node on a shared PostgreSQL database
	 * (sqlite_nodes.c): its row in nodes (0 on SQLite), its follower of
	 * the other nodes' changes (pg_follow.c; NULL on SQLite), the hook
	 * for changes the other hooks do not carry, the scheduler's last
	 * recovery of dead nodes' claims (clock and monotonic ms) */
	int64_t node_id;
	struct pg_follow *follow;
	store_change_fn change_hook;
	void *change_arg;
	int64_t nodes_pass_at, nodes_pass_mono;
	/* end issue 18 (NODES) */
};

/* issue 14 (text): the index rows of one commit, gathered while the
 * transaction runs and handed to the text hook after COMMIT
 * (sqlite_text.c). Only filled when a hook is set. */
typedef struct sq_text_buf {
	store_text_row *rows;
	int n, cap;
} sq_text_buf;
void sq_text_buf_free(sq_text_buf *b);
/* Append a removed analysis (label -1). */
void sq_text_buf_gone(ks_store *s, sq_text_buf *b, int64_t response_id);
/* Give b's rows to the hook (if any) and empty b. */
void sq_text_notify(ks_store *s, sq_text_buf *b);
/* DELETE FROM text_analysis WHERE response_id IN (<ids_sql with ?1 = arg>),
 * each removed id added to b as gone. */
ks_err sq_text_remove(ks_store *s, sq_conn *c, const char *ids_sql, int64_t arg, sq_text_buf *b,
		      ks_error *e);

/* issue 18 (bulk): a bulk session (sqlite_bulk.c); its rows wait in
 * queues and go in many to a statement. */
struct store_bulk {
	ks_store *s;
	sq_conn *c;
	struct sq_bulk_q *q;  /* the waiting rows */
};
/* Write every waiting row of b: before a read that must see them, or a
 * write of another module that refers to them (text analysis). */
ks_err sq_bulk_flush(store_bulk *b, ks_error *e);

/* issue 16 H3 (sqlite_verbatim_mentions.c): the mentions of a verbatim
 * query as explorer items, newest first — by mention id below q->before_id
 * (source MENTIONS) or, by_key, by time then id after q->after (source
 * ALL). *items gets up to limit rows; *more whether one follows. */
ks_err sq_verbatim_mentions(ks_store *s, const store_verbatim_query *q, bool by_key, int limit, json_t **items,
			    bool *more, ks_error *e);

/* Map a SQLite result to a ks_err, filling e with the database's message.
 * UNIQUE violations become KS_ERR_CONFLICT naming the column. */
ks_err sq_fail(sq_conn *c, int rc, ks_error *e);
sq_conn *sq_acquire(ks_store *s);
/* The funnel's cache (issue 13, sqlite_invite.c): a read-only connection of
 * its own to path; NULL when it cannot be made (then nothing is cached). */
typedef struct sq_funnel_cache sq_funnel_cache;
sq_funnel_cache *sq_funnel_cache_new(const char *path);
void sq_funnel_cache_free(sq_funnel_cache *fc);
void sq_release(ks_store *s, sq_conn *c);
/* The cached statement id, reset and with bindings cleared. NULL on error (e filled). */
db_stmt *sq_stmt(sq_conn *c, sq_id id, ks_error *e);
ks_err sq_exec(sq_conn *c, const char *sql, ks_error *e);
/* Bind an id where 0 means NULL. */
void sq_bind_id(db_stmt *st, int i, int64_t id);
/* Row exists in table (a static name) with this id? */
ks_err sq_row_exists(sq_conn *c, const char *table, int64_t id, bool *found, ks_error *e);
/* Step st to the end, turning each row into an element of a growing array
 * (elem bytes each, filled by row_fn). At most limit rows are kept
 * (0 = all); *more tells whether there were more. Finalizes st. On success
 * *out (malloc'd, caller frees; NULL when empty) and *n are set. */
typedef void (*sq_elem_fn)(db_stmt *st, void *elem);
ks_err sq_collect(sq_conn *c, db_stmt *st, size_t elem, sq_elem_fn row_fn, size_t limit,
		  void **out, size_t *n, bool *more, ks_error *e);
/* A fresh url-safe random token of MODEL_TOKEN_LEN chars. */
void sq_token(char out[MODEL_TOKEN_LEN + 1]);
/* Insert ent's row from obj on connection c (inside the caller's transaction). */
ks_err sq_entity_insert(ks_store *s, sq_conn *c, const model_entity *ent, const json_t *obj,
			int64_t *id, ks_error *e);

/* Decide and record the invitation of a just-inserted contact, inside the
 * caller's transaction (sqlite_invite.c). */
ks_err sq_invite_decide(ks_store *s, sq_conn *c, const model_contact *ct, store_invite_result *out,
			ks_error *e);
/* Queue a webhook event in the outbox (in the caller's transaction) when
 * webhooks are on; payload is consumed (decref'd) either way and gets an
 * "event" member. NULL payload: KS_ERR_NOMEM when webhooks are on. */
ks_err sq_webhook_queue(ks_store *s, sq_conn *c, const char *event, json_t *payload, ks_error *e);
/* Mark the invitation of a contact completed (inside the writer's transaction). */
ks_err sq_invite_completed(sq_conn *c, int64_t contact_id, int64_t at, ks_error *e);

/* Called by the writer inside the response's savepoint (sqlite_cases.c):
 * the enabled alert rules that fire on r open one case for r->customer_id,
 * or join the customer's open case (issue 13: one open case per customer),
 * each as a trigger with a history line; repeat_low and words raise the
 * priority. Owner: the team lead
 * of r->team_id when one exists, else none (the team's queue); deadline:
 * cases_deadline(received_at, sla_hours, working_days). A new case queues
 * its "opened" mail and the case.opened webhook (when notify). No
 * customer: no case. */
ks_err sq_cases_for_response(ks_store *s, sq_conn *c, const model_response *r, bool notify,
			     ks_error *e);
/* issue 18 (INGEST): the writer's per-transaction memory of the closed
 * loop (alert rules, team leads, managers; sqlite_cases.c says why it is
 * never stale on either backend). Made before the writer's BEGIN, freed
 * after its COMMIT/ROLLBACK by the caller; NULL from _new (no memory) is
 * allowed everywhere and means "read fresh". */
typedef struct sq_case_cache sq_case_cache;
sq_case_cache *sq_case_cache_new(void);
void sq_case_cache_free(sq_case_cache *cc);
/* sq_cases_for_response, reading what cc holds from cc (cc may be NULL). */
ks_err sq_cases_for_response_in(ks_store *s, sq_conn *c, const model_response *r, bool notify,
				sq_case_cache *cc, ks_error *e);

/* ---- shared by sqlite_cases.c, sqlite_case_flow.c, sqlite_case_stats.c ---- */
/* issue 13 (one case): a line of a case's history (migration 013); 0 / NULL
 * members are stored as NULL. */
typedef struct sq_hist {
	int64_t case_id, at, user_id, response_id, other_case_id;
	const char *kind, *rule, *from_status, *to_status, *detail;
} sq_hist;
ks_err sq_case_history(sq_conn *c, const sq_hist *h, ks_error *e);
/* The case's reason (its first trigger's) in the language of the SQL
 * expression lang ('en' or else Dutch); the case row is "c". */
#define SQ_CASE_REASON_IN(lang)                                                                   \
	"coalesce((SELECT CASE WHEN " lang " = 'en' THEN t1.reason_en ELSE t1.reason_nl END"      \
	" FROM case_triggers t1 WHERE t1.case_id = c.id ORDER BY t1.id LIMIT 1), c.reason)"
/* Recompute the case's priority from its triggers; a rise is written to
 * its history. */
ks_err sq_case_priority(sq_conn *c, int64_t case_id, int64_t at, ks_error *e);
ks_err sq_cprep(sq_conn *c, const char *sql, db_stmt **st, ks_error *e);
/* Step a write statement to completion and finalize it. */
ks_err sq_cstep(sq_conn *c, db_stmt *st, ks_error *e);
/* Step st once: *out = column 0 of the first row as an integer, 0 when
 * there is none. Finalizes st. */
ks_err sq_cfirst(sq_conn *c, db_stmt *st, int64_t *out, ks_error *e);
/* sq_cfirst of sql with ?1 bound to arg. */
ks_err sq_one_id(sq_conn *c, const char *sql, int64_t arg, int64_t *out, ks_error *e);
/* Column text, "" for NULL. */
const char *sq_ctext(db_stmt *st, int i);
/* issue 17: sq_collect of column 0 as int64s: *ids (malloc'd, caller
 * frees; NULL when empty or on error) and *n (0 on error). Finalizes st. */
ks_err sq_collect_ids(sq_conn *c, db_stmt *st, int64_t **ids, size_t *n, ks_error *e);
/* issue 17: run fn(s, c, arg, e) in BEGIN IMMEDIATE .. COMMIT on a pooled
 * connection (the busy timeout waits for a writer holding the lock); any
 * error rolls it all back. The caller reports storage failures. */
typedef ks_err (*sq_tx_fn)(ks_store *s, sq_conn *c, void *arg, ks_error *e);
ks_err sq_write_tx(ks_store *s, sq_tx_fn fn, void *arg, ks_error *e);
/* issue 17: step st to the end, appending row(st) (a new reference) to
 * arr for each row. Finalizes st. */
typedef json_t *(*sq_json_fn)(db_stmt *st);
ks_err sq_json_rows(sq_conn *c, db_stmt *st, sq_json_fn row, json_t *arr, ks_error *e);

/* ---- mail outboxes (sqlite_outbox.c) ----
 * A mail outbox is a table whose rows move 'pending' -> 'sending' -> 'sent'
 * | 'failed' in status_col, with the columns attempts, next_attempt_at,
 * last_error, sent_at (and claimed_at when claimed_at is true). Each outbox
 * claims with its own SELECT; these do the rest, on the caller's connection
 * and inside the caller's transaction when it has one. table and
 * status_col are static names, never user input. */
typedef struct sq_outbox {
	const char *table;
	const char *status_col;
	int max_attempts;        /* RETRY after this many tries gives up */
	bool claimed_at;
	int lease_s;             /* claimed_at: a 'sending' row claimed this long ago is due again (a crash) */
} sq_outbox;
/* "sent", "failed" or "pending" after attempts tries ended in outcome. */
const char *sq_outbox_status(const sq_outbox *o, store_send_outcome outcome, int attempts);
/* When to try again after attempts tries: now + 1, 2, 4 ... minutes (at
 * most 1024). */
int64_t sq_outbox_next_attempt(int64_t now, int attempts);
/* Sends interrupted by a crash ('sending') back to 'pending'; *n = rows. */
ks_err sq_outbox_recover(sq_conn *c, const sq_outbox *o, int *n, ks_error *e);
/* A claimed row: 'sending' with its attempts (and claimed_at = now). Only a
 * row still as the claim's SELECT saw it is changed: 'pending' and due at
 * now, or (claimed_at) 'sending' past its lease, with attempts one below
 * the given ones. After the call db_changes() is 0 when another node
 * claimed it first (issue 18, PGS-B and review), and the caller must not
 * send it. */
ks_err sq_outbox_mark_sending(sq_conn *c, const sq_outbox *o, int64_t id, int attempts, int64_t now,
			      ks_error *e);
/* The outcome of try number attempts: status, next attempt, last error
 * (detail, NULL or "" for none) and sent_at; *status (when not NULL) gets
 * the status written, a static string. */
ks_err sq_outbox_record(sq_conn *c, const sq_outbox *o, int64_t id, int attempts,
			store_send_outcome outcome, const char *detail, int64_t now, const char **status,
			ks_error *e);
/* sq_outbox_record of one row on a pooled connection (one UPDATE, so no
 * transaction of its own), a full disk noted as every write notes it: the
 * record step of every outbox whose row stands alone. */
ks_err sq_outbox_record_one(ks_store *s, const sq_outbox *o, int64_t id, int attempts,
			    store_send_outcome outcome, const char *detail, int64_t now, ks_error *e);
json_t *sq_iso_or_null(int64_t t);
/* text analysis (issue 14, sqlite_text.c) */
void sq_text_open(ks_store *s);   /* at store_open; logs and goes on without */
void sq_text_close(ks_store *s);   /* after every connection is closed */
void sq_text_conn_free(sq_conn *c); /* its worker, if any */
/* Analyse r's open text with c's worker and write its rows on c in a
 * savepoint of their own; a failure is logged, never returned. The row for
 * the text hook goes to b (NULL: none). */
void sq_text_for_response(ks_store *s, sq_conn *c, const model_response *r, sq_text_buf *b);
/* {language, sentiment:{label, score}, themes:[...]} or JSON null; new ref. */
json_t *sq_text_json(sq_conn *c, int64_t id);
/* c's text worker for the store's current generation (remade after a
 * switch); NULL when analysis is off. Valid while c is held. */
struct text_worker *sq_text_worker(ks_store *s, sq_conn *c, ks_error *e);
/* The current generation with a reference the caller drops with
 * sq_text_gen_put (NULL when analysis is off), and its context. */
struct sq_text_gen *sq_text_gen_get(ks_store *s);
void sq_text_gen_put(struct sq_text_gen *g);
struct text_ctx *sq_text_gen_ctx(struct sq_text_gen *g);
/* Install ctx (owned from now on) as the current generation. */
ks_err sq_text_switch(ks_store *s, struct text_ctx *ctx, ks_error *e);
/* Build a context from the stored configuration (c: any connection). */
ks_err sq_text_ctx_load(sq_conn *c, struct text_ctx **out, ks_error *e);
/* Start the reanalysis job (inside the caller's transaction on c); reason
 * "taxonomy", "model" or "manual". sq_text_job_wake after the commit. */
ks_err sq_text_job_begin(ks_store *s, sq_conn *c, const char *reason, ks_error *e);
void sq_text_job_wake(ks_store *s);
void sq_text_jobs_stop(ks_store *s);   /* idempotent; from sq_writer_stop */
bool sq_text_on(ks_store *s);           /* analysis on (language data found)? */
/* Analyse one answer with w and write its rows on c in a savepoint of
 * their own (replacing any); the index's row to b (NULL: none). */
ks_err sq_text_analyse_into(ks_store *s, sq_conn *c, struct text_worker *w, int64_t id, const char *text,
			    const char *language, int64_t now, sq_text_buf *b, ks_error *e);
/* A scheduled training on the job thread (sqlite_text_config.c; logged). */
void sq_text_retrain_run(ks_store *s);
/* Run the job's next batch of up to n answers (its own transaction); *more
 * tells whether the job still runs. counts accumulate. */
ks_err sq_text_job_batch(ks_store *s, int n, store_reanalyze_counts *k, bool *more, ks_error *e);
/* mentions (issue 16 H1, sqlite_mentions.c): after a finished job, the
 * mentions analysed before it started are analysed again, n a transaction,
 * until done or the job thread stops; *done = how many (in the batches
 * committed). A database error rolls its batch back, stops and is returned
 * (issue 16 H9: it was only logged, and the batch's strings leaked). */
ks_err sq_mentions_reanalyse(ks_store *s, int n, int64_t *done, ks_error *e);
/* issue 16 H9 (for the pollers, sqlite_feeds.c: a page and its cursor in one transaction):
 * store_mentions_upsert's work inside the caller's open write transaction
 * on c (no BEGIN/COMMIT/ROLLBACK of its own; on an error the caller rolls
 * back). The texts are analysed there, under the caller's lock — a large
 * batch is better given to store_mentions_upsert, which analyses first.
 * Nothing has to happen after the COMMIT. */
ks_err sq_mentions_upsert(ks_store *s, sq_conn *c, const mentions_batch *b, mentions_counts *out, ks_error *e);
json_t *sq_opt_text(db_stmt *st, int i);
json_t *sq_opt_id(int64_t id);
/* The manager who answers for a team: the nearest user with role manager
 * on the team or a unit above it, else the first director; 0 = nobody. */
ks_err sq_case_manager(sq_conn *c, int64_t team_id, int64_t *manager, ks_error *e);
/* Queue a case mail of kind to the user (user_id) or the customer
 * (customer_id) at their current address; nothing when they have none. */
ks_err sq_case_mail_queue(ks_store *s, sq_conn *c, int64_t case_id, const char *kind,
			  int64_t user_id, int64_t customer_id, int64_t now, ks_error *e);
/* The payload of a case webhook (new reference; NULL + *e on failure). */
json_t *sq_case_event(sq_conn *c, int64_t case_id, ks_error *e);

/* Append an audit entry on c inside the caller's transaction
 * (sqlite_audit.c): a change and its entry commit together. */
ks_err sq_audit_insert(ks_store *s, sq_conn *c, const store_audit_entry *a, ks_error *e);

/* open-link guard (issue 11), sqlite_events.c: after a write failed with
 * err, KS_ERR_STORAGE_FULL puts the store in "storage full" (the reserve
 * is released); sq_storage_refuse tells whether intake must be refused now
 * (and leaves that state when space is back). */
void sq_storage_failed(ks_store *s, ks_err err);
bool sq_storage_refuse(ks_store *s);

/* ---- issue 18 (NODES): several nodes on one PostgreSQL database ----
 * sqlite_nodes.c: register this node (a row in nodes, after the
 * migrations, on c) and set klantstem.node on c; set it on a further
 * session of the node. No-ops on SQLite. */
ks_err sq_node_register(ks_store *s, sq_conn *c, ks_error *e);
ks_err sq_node_session(ks_store *s, sq_conn *c, ks_error *e);
/* The advisory lock class of a node's life (key 2 = its id). */
#define SQ_NODE_LOCK_CLASS 0x6b6e
/* SQL of a claim's mark on c's dialect: ", claimed_by = <this session's
 * node>" on PostgreSQL, "" on SQLite (one node: nothing to tell apart). */
const char *sq_node_claim_sql(sq_conn *c);
/* Recovery's condition on c's dialect, for rows of table whose status_col
 * is status (a claim): "" on SQLite (every claim is this node's, from
 * before its restart), on PostgreSQL " AND (claimed_by IS NULL OR
 * claimed_by IN (<nodes that are gone>))" — a node is gone when its
 * advisory lock can be taken. *cond is malloc'd (caller frees). */
ks_err sq_node_recover_cond(sq_conn *c, const char *table, const char *status_col, const char *status,
			    char **cond, ks_error *e);
/* pg_follow.c: the follower of the other nodes' changes (PostgreSQL). */
ks_err pg_follow_start(ks_store *s, ks_error *e);
void pg_follow_stop(ks_store *s);
/* sqlite_scan.c: response id's row as store_scan_responses gives it
 * (drivers not filled); *found false when there is none. */
ks_err sq_scan_response_one(sq_conn *c, int64_t id, model_response *r, bool *found, ks_error *e);
/* sqlite_text.c: the index's row of response id's analysis as
 * store_scan_text gives it; label -1 when it has none. */
ks_err sq_text_row_read(sq_conn *c, int64_t id, store_text_row *row, ks_error *e);
/* end issue 18 (NODES) */

ks_err sq_writer_start(ks_store *s, ks_error *e);
void sq_writer_stop(ks_store *s);
ks_err sq_checkpointer_start(ks_store *s, ks_error *e);
void sq_checkpointer_stop(ks_store *s);

#endif
