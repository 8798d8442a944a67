/* store_customers.h — part of the store's contract (store.h): what the store
 * knows of customers beyond their answers: imported responses, mention feeds,
 * mentions, review invitations, internal data, the customer timeline.
 *
 * The SQL behind it is in this folder (src/store/customers/). Include
 * "store/store.h", never this file: store.h includes the domains in the
 * order their types need, and its contracts (transactions, ownership,
 * errors) hold here too. */
#ifndef KS_STORE_CUSTOMERS_H
#define KS_STORE_CUSTOMERS_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_customers.h"
#endif

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
 * A case's reason is in lang ("en", else Dutch), the reader's language.
 * KS_ERR_NOTFOUND for an unknown customer. *out is the caller's. */
ks_err store_timeline_customer(ks_store *s, int64_t id, const char *lang, int64_t before, int limit,
			       json_t **out, ks_error *e);
/* ==== end of customer timeline ============================================== */


#endif
