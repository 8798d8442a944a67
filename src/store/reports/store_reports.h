/* store_reports.h — part of the store's contract (store.h): bulk reads for the
 * analytics index; dashboards, verbatims, walls, goals and compliments; key
 * drivers; public score widgets; attribute dimensions.
 *
 * The SQL behind it is in this folder (src/store/reports/). Include
 * "store/store.h", never this file: store.h includes the domains in the
 * order their types need, and its contracts (transactions, ownership,
 * errors) hold here too. */
#ifndef KS_STORE_REPORTS_H
#define KS_STORE_REPORTS_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_reports.h"
#endif

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
	char note[2001];         /* the API's 500 characters of up to 4 bytes, whole */
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
	char name[501];          /* whole: the API takes 500 bytes */
	int position;
	bool moment_of_truth;    /* the flag set by hand */
} store_journey_tp;
ks_err store_journey_touchpoints(ks_store *s, int64_t journey_id, store_journey_tp **out, size_t *n,
				 ks_error *e);
/* ==== end of key drivers ==================================================== */

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


#endif
