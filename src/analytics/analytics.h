/* analytics.h — the in-memory, columnar index of responses and the
 * breakdowns computed over it.
 *
 * Every screen reads its numbers from here. The database stays the source
 * of truth: the index is built from it at start-up (store_scan_*) and kept
 * current by the store's commit hook, so a response is in the index before
 * its submitter hears "201".
 *
 * Layout (column by column):
 *   t        u32  received_at, unix seconds
 *   team     u16  dense code of the leaf org unit (0 = none)
 *   employee u16  dense code (0 = none)
 *   tp       u16  dense code of the touchpoint (0 = none)
 *   customer u32  dense code (0 = none)
 *   answers  u16  nps (4 bits, 15 = none) | grade (4 bits, 0 = none)
 *                 | ces (3 bits, 0 = none) | channel (3 bits) | nl/en (1 bit)
 *   tset     u16  issue 14: the open answer's analysis, a code into a
 *                 dictionary of distinct (sentiment label, themes mentioned,
 *                 themes mentioned negatively / positively) sets, bitmasks
 *                 over at most 64 theme ids; 0 = no analysis (text.c)
 * (18 bytes a response with tset.) Beside the columns, a response id ->
 * row map of runs of consecutive ids (16 bytes a run; one run when ids
 * have no gaps), so the text hook can find a row.
 * Codes are assigned on first sight; dimension tables (names, tree, customer
 * attributes) map them back. A breakdown is one pass over these arrays,
 * split over two threads when the slice is large.
 *
 * Thread safety: queries take a read lock, appends and dimension refreshes
 * a write lock; all functions may be called from any thread.
 */
#ifndef KS_ANALYTICS_H
#define KS_ANALYTICS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"
#include "core/tz.h"
#include "metrics/metrics.h"
#include "store/store.h"

typedef struct an_index an_index;

/* Build the index from the store and register it as the store's commit
 * hook. *out is owned by the caller: an_index_free it after store_close
 * (the store's writer calls the hook until it stops). */
ks_err an_index_build(ks_store *s, an_index **out, ks_error *e);
void an_index_free(an_index *ix);

/* Reload the small dimension tables (org tree, employees, touchpoints,
 * journeys): call after any of them is created or changed. */
ks_err an_index_refresh_dims(an_index *ix, ks_error *e);
/* Reload one customer's attributes (after a create or update). */
ks_err an_index_refresh_customer(an_index *ix, int64_t customer_id, ks_error *e);
/* Apply analyses (issue 14): the store's text hook calls this; rows
 * are store_text_row (label -1 = the response has no analysis any more).
 * An analysis of a response the index does not hold yet is kept until
 * the response arrives. Takes the write lock. */
void an_index_text(an_index *ix, const store_text_row *rows, int n);
/* The theme ids the index has seen (at most max), in the order first
 * seen; returns how many. Beyond AN_MAX_THEMES distinct ids, new ones are
 * not counted until a restart (logged). */
#define AN_MAX_THEMES 64
size_t an_index_theme_ids(an_index *ix, char (*out)[48], size_t max);

/* Forget an erased person (issue 11): the rows of customer_id (0 = none)
 * lose their customer, those of employee_id (0 = none) their employee,
 * and the index no longer holds the id nor the name or attributes. The
 * rows and their answers stay: every total is unchanged. Call after
 * store_gdpr_erase committed; the result is what a rebuild would give. */
void an_index_forget(an_index *ix, int64_t customer_id, int64_t employee_id);

/* The organisation's time zone, which decides every time bucket (day, ISO
 * week, month, quarter, year) and the year in which ages and customer
 * tenures are taken. The index keeps a copy of *tz; tz NULL restores the
 * default, Europe/Amsterdam, which is also what an index never told
 * otherwise uses. tz should come from tz_lookup() or tz_default(): the
 * breakdowns tabulate local days by UTC hour (by quarter hour when the
 * standard offset is not a whole number of hours), so an offset that is
 * not a multiple of 15 minutes would be bucketed approximately. Takes
 * the write lock: queries already running finish with the old zone. */
void an_index_set_tz(an_index *ix, const ks_tz *tz);

/* The key of caches of results that count only rows received before
 * `before`: *dims changes with names, customers and the zone; *rows_before is the
 * number of rows received before `before` (the index only grows, so a new
 * row received earlier changes it, and today's rows do not). One pass over
 * the time column. */
void an_index_versions(an_index *ix, int64_t before, uint64_t *dims, size_t *rows_before);

/* Is unit (an org unit id) ancestor itself or below it? */
bool an_unit_within(an_index *ix, int64_t unit, int64_t ancestor);
/* The team (org unit id) of an employee, 0 when unknown. */
int64_t an_employee_team(an_index *ix, int64_t employee_id);

typedef struct an_index_info {
	size_t rows;
	size_t bytes_per_row;   /* of the response columns */
	size_t bytes_total;     /* columns + dimension tables */
	int64_t build_ms;
	size_t text_pending;    /* analyses waiting for their row (issue 14) */
	/* issue 16: the attribute columns (included in bytes_per_row) */
	size_t attr_keys;       /* custom attribute keys indexed (1 byte a row each) */
	size_t attr_products;   /* products known */
	size_t attr_bytes;      /* side tables: dictionaries, holdings, events */
	int64_t attr_run;       /* the import run they were built from (0 = none) */
	int64_t attr_build_ms;
} an_index_info;
void an_index_get_info(an_index *ix, an_index_info *out);

/* ---- issue 16 (H5): the organisation's own data as dimensions (attr.c) ----
 * Per response: the set of products held (2 bytes: a code into a
 * dictionary of distinct product sets), the login band and newsletter
 * state (1 byte), one byte per custom attribute key (a dictionary per key:
 * 254 values, the rest "other"; at most 16 keys, the most common). Built
 * from store_attr_scan aside and swapped in under the write lock; a new
 * response is computed from the same tables at its arrival. */
#define AN_ATTR_MAX_KEYS 16
#define AN_ATTR_MAX_VALUES 254   /* codes 1..254; 255 = "other" */
#define AN_ATTR_VALUE_MAX 500    /* bytes of a value: IDATA_TEXT_MAX, what an import takes */
/* Build the attribute columns now (at start-up, after an_index_set_tz). */
ks_err an_index_attr_load(an_index *ix, ks_error *e);
/* Watch import_runs every interval_ms and rebuild after a new import;
 * queries go on meanwhile. Stop before the store is closed. */
ks_err an_index_attr_watch(an_index *ix, int interval_ms, ks_error *e);
void an_index_attr_stop(an_index *ix);
/* The attribute dimensions for pickers: {"products":[{"id","name"}],
 * "attributes":[{"key","dimension","values"}], "run": n}. Caller owns it. */
json_t *an_index_attr_json(an_index *ix);
/* Does the index hold this product (products.id)? */
bool an_index_has_product(an_index *ix, int64_t product_id);

/* ---- breakdowns ---------------------------------------------------------- */

typedef enum {
	AN_DIM_NONE = 0,
	AN_DIM_TEAM, AN_DIM_DEPARTMENT, AN_DIM_ORGANISATION,
	AN_DIM_EMPLOYEE, AN_DIM_TOUCHPOINT, AN_DIM_JOURNEY, AN_DIM_CHANNEL, AN_DIM_LANGUAGE,
	AN_DIM_SEGMENT, AN_DIM_AGE_BAND, AN_DIM_SINCE_BAND, AN_DIM_CITY,
	AN_DIM_DAY, AN_DIM_WEEK, AN_DIM_MONTH, AN_DIM_QUARTER, AN_DIM_YEAR,
	/* Issue 14. An answer counts in each theme group it mentions; rows
	 * without analysis are in no theme or sentiment group (the result's
	 * total still counts every row of the slice once). */
	AN_DIM_THEME, AN_DIM_SENTIMENT,
	/* Internal (no name): each analysed answer counts in the group of
	 * every theme it does NOT mention ("without" cells of /themes), of
	 * every theme it mentions negatively, positively. */
	AN_DIM_THEME_ABSENT, AN_DIM_THEME_NEG, AN_DIM_THEME_POS,
	/* Issue 16 (H5, attr.c): the organisation's own data. product: the
	 * products the customer held on the response's local day, a row in
	 * each (several groups, or none, like themes); login_band: the
	 * customer's logins in the 90 days before the response; newsletter:
	 * subscribed then; one slot per custom attribute key (its name is
	 * "attr.<key>": an_dim_resolve, an_result.dim_name). */
	AN_DIM_PRODUCT, AN_DIM_LOGIN_BAND, AN_DIM_NEWSLETTER,
	AN_DIM_ATTR0, AN_DIM_ATTR_LAST = AN_DIM_ATTR0 + 15,
	AN_DIM__COUNT
} an_dim;

/* "team", "month", ... ; AN_DIM_NONE for an unknown name. */
an_dim an_dim_from_name(const char *name);
/* As an_dim_from_name, and "attr.<key>" for an indexed attribute key
 * (issue 16): the slot the index gave the key. */
an_dim an_dim_resolve(an_index *ix, const char *name);
/* The name of d as a reply prints it ("attr.<key>" for an attribute slot). */
void an_dim_label(an_index *ix, an_dim d, char *out, size_t n);
bool an_dim_is_attr(an_dim d);
const char *an_dim_name(an_dim d);
bool an_dim_is_time(an_dim d);
/* theme, sentiment (and the internal theme-absent): a row may be in none
 * of the groups, or, for themes, in several (issue 14). */
bool an_dim_is_text(an_dim d);
/* "negative", "neutral", "positive" -> 1, 2, 3 (the sentiment groups'
 * order); 0 for anything else. */
int an_sentiment_code(const char *name);

/* A slice. 0 / "" means "any". team_id may be any org unit: it includes
 * everything below it. [from, to) in unix seconds. */
typedef struct an_filter {
	int64_t from, to;
	int64_t team_id;
	int64_t employee_id;
	int64_t touchpoint_id;
	int64_t journey_id;
	char channel[16];
	char language[3];
	char segment[48];
	char age_band[8];
	char since_band[8];
	char city[64];
	/* Issue 14: answers mentioning this theme id; with this sentiment
	 * ("negative", "neutral", "positive"); analysed: 1 only answers with
	 * an analysis, 2 only those with at least one theme, -1 only those
	 * without analysis, 0 any. Unknown values keep nothing. */
	char theme[48];
	char sentiment[12];
	int8_t analysed;
	/* Issue 16 (attr.c): customers holding this product (products.id) on
	 * the response's day; login_band "none", "1-3", "4-10", "11+" or
	 * "unknown"; newsletter "yes", "no", "unknown"; attr[i]: custom
	 * attribute key = value ("unknown" = no value, "other" = the values
	 * beyond the key's dictionary), unused when key is "". Unknown values
	 * keep nothing. */
	int64_t product_id;
	char login_band[8];
	char newsletter[8];
	struct an_attr_filter {
		char key[33];
		char value[AN_ATTR_VALUE_MAX + 1];  /* issue 16 (H10): every value an import takes */
		/* issue 16 (H10): when not 0, the value's code + 1 (an_value_code;
		 * value then unused): disclosure's attribute tables address a
		 * value by code — any length, never confused with "unknown" or
		 * "other" or a value that prints alike */
		uint16_t code1;
	} attr[4];
	/* Count NPS only: the pass touches a third of the memory, and grade and
	 * CES come out empty. For callers that show nothing else. */
	bool nps_only;
	/* Groups carry entity ids and time labels only (no names, no sort
	 * keys) and come in no particular order: for callers that look groups
	 * up rather than show them (the disclosure layer's canonical table),
	 * where labelling and sorting a hundred thousand groups would cost
	 * more than counting them. */
	bool raw_keys;
} an_filter;

typedef struct an_group {
	int64_t id[2];          /* entity id for entity dimensions, else 0 */
	char key[2][96];        /* label: a name, "2026-03", "2026-W09", "25-34" ... */
	char sort[2][100];      /* chronological / name order key */
	metrics_counts c;
	/* Distinct employees among the group's rows, capped at 2: 0 = no row
	 * names an employee, 1 = exactly one does, 2 = two or more. Rows
	 * without an employee do not count. For disclosure control: a slice
	 * whose answers all concern one employee is person-level data. */
	uint8_t persons;
} an_group;

typedef struct an_result {
	an_dim dims[2];
	char dim_name[2][40];   /* as an_dim_label: "team", "attr.loyalty" (issue 16) */
	int n_dims;
	size_t n_groups;        /* groups with at least one response */
	an_group *groups;       /* owned; ordered by dims' natural order */
	metrics_counts total;
	uint8_t total_persons;  /* an_group.persons over the whole slice */
} an_result;

/* Count the slice, grouped by up to two dimensions. out is owned by the
 * caller: an_result_free. Unknown filter values (a team that does not
 * exist, a city nobody lives in) give an empty result, not an error. */
ks_err an_query(an_index *ix, const an_filter *f, const an_dim *dims, int n_dims, an_result *out,
		ks_error *e);
/* Issue 16 (H10): the code of a value of login_band, newsletter or an
 * attr.<key> dimension as a filter names it ("unknown" 0, "other" 255 for
 * attributes), -1 when the index holds no such value. Groups of these
 * dimensions carry their code + 1 in an_group.id (never 0). */
int64_t an_value_code(const an_index *ix, an_dim d, const char *value);
/* The label of login_band's or newsletter's code, NULL for another. */
const char *an_band_label(an_dim d, int64_t code);
void an_result_free(an_result *r);

/* priv2 (issue 14, disclosure): the analysed answers of slice f counted
 * by (unit the answer is tied to, employee, local month, set of themes
 * mentioned), in one pass over the rows: what src/disclose needs to find
 * a unit's theme sets that nest (every friendly answer also about the
 * waiting time), which no breakdown of two dimensions gives. themes: bit
 * b is ids[b] (filled, at most AN_MAX_THEMES; *n_ids of them). *out is
 * owned by the caller (free). */
typedef struct an_tclass {
	int64_t unit_id;      /* 0 = tied to no unit */
	int64_t employee_id;  /* 0 = names no employee */
	int ym;               /* local year * 12 + month - 1 */
	uint64_t themes;
	int64_t n, m[3];      /* responses; answers to NPS, grade, CES */
} an_tclass;
ks_err an_text_classes(an_index *ix, const an_filter *f, an_tclass **out, size_t *n_out, char (*ids)[48],
		       size_t *n_ids, ks_error *e);

#endif
