/* drivers_index.h — the analytics index's driver ratings (issue 15): what
 * the key-driver analysis reads of a slice. The rows are those an_query
 * counts for the same an_filter; the statistics are src/drivers'. Every
 * function takes the index's read lock; callable from any thread.
 */
#ifndef KS_DRIVERS_INDEX_H
#define KS_DRIVERS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "analytics/analytics.h"

#define AN_DRV_MAX 64            /* aspects the index codes (more are not counted, logged) */
/* Codes of the drivers a pass reads: an aspect's dictionary code 1..64, or
 * for a theme's presence in an analysed open answer (issue 14's themes)
 * AN_DRV_THEME0 + 1 + the theme's bit (an_index_theme_ids' order). */
#define AN_DRV_THEME0 64
#define AN_DRV_CODES (2 * AN_DRV_MAX + 1)

typedef enum { AN_OUTCOME_NPS, AN_OUTCOME_GRADE, AN_OUTCOME_CES } an_outcome;
/* "nps", "grade", "ces" -> the outcome; -1 for anything else. */
int an_outcome_from_name(const char *name);
const char *an_outcome_name(an_outcome o);

/* The aspects rated in the slice f, with their ratings there: name[i],
 * n[i], and how often two are rated together (surveys of different
 * touchpoints ask different aspects: such a pair has no correlation);
 * out->count of them (at most AN_DRV_MAX), in the order the index first
 * saw them. With themes, then the themes mentioned in the slice (while
 * there is room): n = the analysed answers (a theme's presence is 0 or 1
 * in each), mentions, and "rated together" = analysed answers that rate
 * the aspect. */
typedef struct an_drv_aspects {
	size_t count;
	char name[AN_DRV_MAX][64];   /* an aspect, or a theme id */
	uint8_t code[AN_DRV_MAX];
	bool theme[AN_DRV_MAX];
	int64_t n[AN_DRV_MAX];
	int64_t mentions[AN_DRV_MAX]; /* themes: answers mentioning it */
	uint32_t both[AN_DRV_MAX][AN_DRV_MAX];  /* rows rating i and j (both[i][i] = n[i]) */
} an_drv_aspects;
ks_err an_drv_aspects_in(an_index *ix, const an_filter *f, bool themes, an_drv_aspects *out, ks_error *e);

/* One thread's receiver of the slice's rows: row (the index's row number,
 * stable for the life of the index: the caller's group hash), the outcome
 * y (never NAN: rows without one are not passed), x[p] the row's ratings
 * of the requested drivers, NAN where it has none (missing, "not
 * applicable": never a low score). */
typedef void (*an_drv_row_fn)(void *sink, uint32_t row, double y, const double *x);

typedef struct an_drv_stream {
	/* in */
	an_outcome outcome;          /* nps: +100 promoter, 0 passive, -100 detractor */
	int p;                       /* drivers of the model (x), 0..AN_DRV_MAX */
	int q;                       /* aspects counted (n, mean_*): code[0..q), the model's
	                              * first; q <= p means p */
	uint8_t code[AN_DRV_MAX];    /* driver j's code (an_drv_aspects.code): an aspect's, or a
	                              * theme's (x = 1 mentioned, 0 not, NAN without analysis;
	                              * sum = mentions, good not counted, no thin months) */
	an_drv_row_fn fn;
	void *sink[2];               /* sink[1] NULL: one thread; else large slices are split
	                              * over two threads, sink[0] the first half's */
	int64_t person_min;          /* see "thin" below; 0 = every rating counts in mean_* */
	/* out: over the slice's ratings of each driver (rows with or without outcome) */
	int64_t rows;                /* rows passed to fn */
	int64_t n[AN_DRV_MAX], sum[AN_DRV_MAX], good[AN_DRV_MAX];  /* good: ratings >= 8 */
	/* The same without "thin" ratings: an employee's ratings of the driver
	 * in a local month of the slice in which they have only 1 to
	 * person_min - 1 of them — a month a person's own page would not show
	 * (PRIVACY.md section 4), so no printed mean may hold it. */
	int64_t mean_n[AN_DRV_MAX], mean_sum[AN_DRV_MAX], mean_good[AN_DRV_MAX];
} an_drv_stream;
ks_err an_drv_stream_slice(an_index *ix, const an_filter *f, an_drv_stream *s, ks_error *e);

/* Per unit (team: the leaf unit a row names) of the slice f, per driver
 * code[j] (aspects and themes as in an_drv_stream): ratings n and their
 * sum without thin ratings (an_drv_stream),
 * and the distinct employees of those ratings (capped at 2, as
 * an_group.persons). out->units is malloc'd: the caller frees it
 * (an_drv_units_free). */
typedef struct an_drv_unit {
	int64_t unit_id;
	uint8_t persons[AN_DRV_MAX];
	int64_t n[AN_DRV_MAX], sum[AN_DRV_MAX];
} an_drv_unit;
typedef struct an_drv_units {
	size_t count;
	an_drv_unit *units;
	int64_t all_n[AN_DRV_MAX], all_sum[AN_DRV_MAX];  /* the slice's, units or none, without thin ratings */
} an_drv_units;
ks_err an_drv_units_of(an_index *ix, const an_filter *f, int p, const uint8_t *code, int64_t person_min,
		       an_drv_units *out, ks_error *e);
void an_drv_units_free(an_drv_units *u);

/* Moments of truth: the customers of the slice f (which should name the
 * journey) who answered at touchpoint tp[last] (the outcome: its latest
 * answer in [f->from, f->to) per customer) and at one or more of tp[0 ..
 * n_tp - 2] in the window_s seconds before it. Each earlier touchpoint's
 * latest score (the outcome's measure, raw: 0..10, 1..10, 1..7) before the
 * outcome is driver j; NAN when not visited in the window. One call of fn
 * per customer (row: the outcome's row). visits[j]: customers with driver
 * j. */
typedef struct an_drv_moments {
	an_outcome outcome;
	const int64_t *tp;           /* touchpoint ids, the outcome's last; n_tp 2..AN_DRV_MAX + 1 */
	int n_tp;
	int64_t window_s;
	an_drv_row_fn fn;
	void *sink;
	int64_t customers;           /* out */
	int64_t visits[AN_DRV_MAX];  /* out */
} an_drv_moments;
ks_err an_drv_moments_of(an_index *ix, const an_filter *f, an_drv_moments *m, ks_error *e);

#endif
