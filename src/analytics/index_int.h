/* index_int.h — internals shared by index.c (building, appending,
 * dimension tables) and query.c (breakdowns). Not for other modules. */
#ifndef KS_INDEX_INT_H
#define KS_INDEX_INT_H

#include <pthread.h>

#include "analytics/analytics.h"

/* id (int64) -> dense code (uint32): a direct table for small ids, open
 * addressing for the rest. Code 0 = none. */
#define AN_DIRECT_MAX (1u << 24)
typedef struct an_codes {
	uint32_t *dir;       /* id -> code for ids below AN_DIRECT_MAX: rowids are
	                      * small and dense, and this is the start-up hot path */
	size_t dir_n;
	int64_t *keys;       /* slot -> id (0 = empty), for larger ids */
	uint32_t *vals;      /* slot -> code */
	size_t slots;
	int64_t *ids;        /* code -> id; ids[0] = 0 */
	size_t n;            /* codes in use, including 0 */
	size_t cap;
} an_codes;

/* string -> small code, for segments and cities. Code 0 = unknown/empty. */
typedef struct an_dict {
	char **names;        /* code -> name; names[0] = "" */
	size_t n, cap;
} an_dict;

typedef struct an_customer {
	uint16_t segment;    /* an_dict code */
	uint16_t city;       /* an_dict code */
	uint16_t birth_year; /* 0 = unknown */
	uint16_t since_year;
} an_customer;

typedef struct an_named {
	char name[160];
	uint32_t parent;     /* unit: parent unit code; employee: team code; tp: journey code */
	char kind;           /* units: 'o', 'd', 't' */
	bool known;          /* loaded from the store */
} an_named;

/* ---- the text columns (issue 14, text.c) ----
 * A row's analysis is one u16 column, tset: the code of its "theme set" in
 * a dictionary of the distinct (sentiment label, themes mentioned, themes
 * mentioned negatively, themes mentioned positively) combinations; 0 = no
 * analysis. Answers name one to three of a dozen themes, so the distinct
 * combinations are few (thousands) while rows are millions: two bytes a
 * row instead of a 25-byte set each. */
#define AN_TSET_MAX 65535u      /* codes 1..65535 */
typedef struct an_tset {
	uint64_t any, neg, pos;  /* bit b = theme code b + 1 (ix->themes) */
	uint8_t label;           /* 1 negative, 2 neutral, 3 positive (text_label + 1) */
} an_tset;
typedef struct an_tsets {
	an_tset *v;              /* code -> set; v[0] = no analysis */
	size_t n, cap;
	uint32_t *slot;          /* open addressing: set -> code (0 = empty) */
	size_t n_slots;
} an_tsets;

/* response id -> row, as runs of consecutive ids on consecutive rows:
 * rows arrive in id order (the writer, the start-up scan), so a database
 * whose ids have no gaps is one run. A held answer the guard accepts is
 * moved into responses as a new row (a new, higher id: sqlite_suspect.c),
 * but its commit hook runs beside the writer's and may come after that of
 * a later id: an id that arrives late is a run of its own, inserted in id
 * order. Gaps (rows never indexed) start a new run. */
typedef struct an_run {
	int64_t id0;
	uint32_t row0, len;
} an_run;
typedef struct an_idmap {
	an_run *runs;            /* sorted by id0, disjoint */
	size_t n, cap;
} an_idmap;

/* Analyses of responses the index does not hold yet (a text hook ahead of
 * the row's commit hook): applied when the row arrives. Bounded:
 * AN_PENDING_MAX, oldest dropped. */
#define AN_PENDING_MAX 65536u
typedef struct an_pending {
	int64_t *id;
	uint16_t *code;
	size_t n, cap;
	int64_t max_id;          /* no row above it is pending: new rows skip the search */
} an_pending;

/* ---- issue 16 (H5): the attribute columns (attr.c) ----
 * Built aside from store_attr_scan and swapped in whole (ix->attr) under
 * the write lock. The source rows stay (sorted by customer) so a response
 * arriving later gets its values at its own time. */
typedef struct an_hold {
	int64_t cust;
	uint16_t product;        /* code in prods */
	int32_t since, until;    /* local days; held when since <= day < until */
} an_hold;
typedef struct an_event {
	int64_t cust;
	uint32_t at;             /* unix seconds (a response's time is 32 bits too); 16 bytes an event */
	uint8_t kind;            /* store_attr_event */
} an_event;
typedef struct an_cattr {
	int64_t cust;
	uint8_t v[AN_ATTR_MAX_KEYS];  /* value code per key slot, 0 = none */
} an_cattr;
typedef struct an_psets {
	uint32_t *off;           /* code -> offset in pool; code 0 = no product */
	uint16_t *len;
	size_t n, cap;
	uint16_t *pool;          /* product codes, ascending within a set */
	size_t pool_n, pool_cap;
	uint32_t *slot;          /* open addressing: set -> code (0 = empty) */
	size_t n_slots;
} an_psets;
typedef struct an_attr {
	int64_t run_id;          /* max(import_runs.id) of the scan */
	int64_t build_ms;
	bool have_logins;        /* any login imported: else every band is "unknown" */
	size_t n_keys;           /* slots in use; a key keeps its slot across reloads */
	char key[AN_ATTR_MAX_KEYS][33];
	an_dict vals[AN_ATTR_MAX_KEYS];   /* code -> value, 1..AN_ATTR_MAX_VALUES */
	bool overflow[AN_ATTR_MAX_KEYS];  /* the key has more values: the rest are "other" */
	an_codes prods;          /* product id -> code */
	char (*pname)[96];       /* code -> name */
	an_psets psets;
	an_hold *hold;
	size_t n_hold, hold_cap;
	an_event *ev;
	size_t n_ev, ev_cap;
	an_cattr *cattr;
	size_t n_cattr, cattr_cap;
	/* the columns, rows 0..cap */
	size_t cap;
	uint16_t *pset;          /* psets code */
	uint8_t *misc;           /* login band (bits 0-2: 0 unknown, 1 none, 2 1-3, 3 4-10, 4 11+)
	                          * | newsletter << 3 (0 unknown, 1 yes, 2 no) */
	uint8_t *av;             /* row * AN_ATTR_MAX_KEYS + slot -> value code (255 = other) */
} an_attr;
#define AN_ATTR_OTHER 255u

struct an_index {
	ks_store *store;
	pthread_rwlock_t lock;

	size_t n, cap;
	uint32_t *t;
	uint16_t *team;
	uint16_t *emp;
	uint16_t *tp;
	uint32_t *cust;
	uint16_t *ans;
	uint16_t *tset;      /* text column: an_tsets code, 0 = no analysis (issue 14) */
	int64_t last_id;     /* highest response id in the index */
	uint32_t min_t, max_t;
	size_t n_relationship; /* rows with AN_CHANNEL_RELATIONSHIP (issue 16); only grows */

	an_codes units, emps, tps, journeys, custs;
	an_named *unit_info, *emp_info, *tp_info, *journey_info;  /* by code */
	size_t unit_info_n, emp_info_n, tp_info_n, journey_info_n;
	an_customer *cust_info;
	size_t cust_info_n;
	an_dict segments, cities;
	ks_tz tz;            /* the organisation's zone (an_index_set_tz) */
	uint64_t dims_version; /* bumped under the write lock by changes of names, customers or
	                        * the zone, not by rows (an_index_versions) */
	int64_t build_ms;
	/* issue 14 */
	an_dict themes;      /* theme id -> code 1..AN_MAX_THEMES (bit code - 1) */
	an_tsets sets;
	an_idmap ids;
	an_pending pending;
	bool warned_themes;  /* "more than 64 themes" logged once */
	bool building;       /* store_scan_text at build: no change counted */
	uint32_t *tchg;      /* UTC day of a row -> changes of its analysis since the build
	                      * (an_text_changes); NULL until the first */
	/* issue 15: the driver ratings (drivers_index.c) */
	uint32_t *doff;      /* row -> byte offset of its record in dpool; 0 = no ratings */
	uint8_t *dpool;      /* records: count k, then k (aspect code, score) byte pairs */
	size_t dpool_n, dpool_cap;
	an_dict aspects;     /* aspect name -> code 1..AN_MAX_ASPECTS */
	bool warned_aspects; /* "more than 64 aspects" logged once */
	/* issue 16 (H5): the attribute columns (attr.c); NULL until loaded */
	an_attr *attr;
	pthread_t attr_thread;
	pthread_mutex_t attr_mu;   /* guards attr_stop and one rebuild at a time */
	pthread_cond_t attr_cv;
	bool attr_watching, attr_stop;  /* attr_stop: __atomic (a rebuild reads it, issue 16 H10) */
	int attr_interval_ms;
	/* issue 16 (H10): customers erased while a table is built (under lock):
	 * the new table forgets them too at its swap; attr_erased_lost when one
	 * could not be recorded (the new table is then not taken) */
	int attr_building;
	int64_t *attr_erased;
	size_t attr_erased_n, attr_erased_cap;
	bool attr_erased_lost;
};

/* answers word */
#define AN_NPS_NONE 15u
/* Issue 16: the channel code of a relationship survey's answers (the six
 * contact channels are 1..6). They are in the index but left out of every
 * reply that does not ask for channel=relationship: the dashboards, themes
 * and drivers describe what customers say after a contact, and a wave's
 * sample of the whole base is reported beside them (GET
 * /relationship/waves/{id}/report), not mixed in. */
#define AN_CHANNEL_RELATIONSHIP 7u
#define AN_ANS(nps, grade, ces, ch, en) \
	((uint16_t)((nps) | ((grade) << 4) | ((ces) << 8) | ((ch) << 11) | ((en) << 14)))

uint32_t an_codes_get(const an_codes *m, int64_t id);   /* 0 when unknown */
uint32_t an_codes_put(an_codes *m, int64_t id, uint32_t max); /* assigned on first sight; 0 = full */
void an_codes_free(an_codes *m);
uint16_t an_dict_put(an_dict *d, const char *s);        /* 0 when empty or full */
void an_dict_free(an_dict *d);

/* text.c: the text columns (write lock held by the caller) */
bool an_text_reserve(an_index *ix, size_t cap);         /* tset column to cap rows */
void an_text_appended(an_index *ix, size_t row, int64_t id); /* id map, pending analysis */
int64_t an_text_row(const an_index *ix, int64_t id);    /* row of a response id, -1 = none */
void an_text_free(an_index *ix);
ks_err an_text_build(an_index *ix, ks_error *e);         /* store_scan_text into the columns */
size_t an_text_bytes(const an_index *ix);               /* side tables, not the column */
uint64_t an_text_changes(const an_index *ix, int64_t before); /* to rows received before */
const char *an_channel_name(unsigned code);                /* 1-based; "" for 0 */

/* ---- issue 15: the driver columns (drivers_index.c; write lock held) ----
 * A row's ratings are one record in a byte pool: a count k (1..64), then
 * k pairs (aspect code 1..64, score 1..10). doff[row] is the record's
 * offset; 0 = no ratings (dpool[0] is a record of count 0). A row whose
 * ratings change (a one-click answer completed by the form) gets a new
 * record at the end; the old one is left unused (rare, and small). */
#define AN_MAX_ASPECTS 64
bool an_drv_reserve(an_index *ix, size_t cap);             /* doff column to cap rows */
void an_drv_set(an_index *ix, size_t row, const model_driver_score *d, int n);
ks_err an_drv_build(an_index *ix, ks_error *e);             /* store_scan_drivers into the columns */
void an_drv_free(an_index *ix);
size_t an_drv_bytes(const an_index *ix);                    /* the pool and dictionary */

/* ---- issue 16 (H5): attr.c (write lock held by the caller) ---- */
bool an_attr_reserve(an_index *ix, size_t cap);            /* the columns to cap rows */
void an_attr_appended(an_index *ix, size_t row, int64_t customer_id, int64_t t);
void an_attr_clear_row(an_index *ix, size_t row);           /* an erased customer's row */
void an_attr_forget(an_index *ix, int64_t customer_id);     /* and its source rows */
void an_attr_init(an_index *ix);                            /* at build: the lock and cv */
/* Issue 16 (H10): under the write lock, at an erasure: a table being
 * built (an_attr_build) replays an_attr_forget for it at its swap. */
void an_attr_note_erased(an_index *ix, int64_t customer_id);
void an_attr_free_all(an_index *ix);                        /* at an_index_free */
size_t an_attr_bytes(const an_index *ix);                   /* side tables, not the columns */
size_t an_attr_row_bytes(const an_index *ix);               /* the columns, per row */
void an_dim_label_locked(const an_index *ix, an_dim d, char *out, size_t n);
/* The key slot of name (a key, without "attr."), -1 when not indexed. */
int an_attr_slot(const an_index *ix, const char *key);

/* ---- issue 15: the rows an_query would count, for drivers_index.c (query.c);
 * the read lock is held by the caller from an_slice_new to an_slice_free. */
typedef struct an_slice an_slice;
ks_err an_slice_new(const an_index *ix, const an_filter *f, an_slice **out, ks_error *e);
#define AN_SLICE_CHUNK 2048    /* query.c's AN_CHUNK: at most this many rows a call */
void an_slice_keep(const an_slice *s, size_t start, size_t n, uint8_t *keep);
void an_slice_free(an_slice *s);

#endif
