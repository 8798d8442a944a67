/* canon.h — the canonical table of disclosure control (internal to
 * src/disclose): every team- and person-level cell of the organisation, so
 * that each reply reads a cell's visibility from the same decision.
 *
 * Rows: every answer ('a', what a request without a unit filter counts:
 * answers tied to no unit too), organisations, departments, teams,
 * employees, and for each of these units its residual ('r': its answers
 * naming no one below it) and, above teams, its answers naming no
 * employee ('n').
 * Columns: every local month with answers, their quarters and years, and
 * all time (""). Lines (suppress.h): a unit = its children + its residual;
 * an org or department = every employee below it + its 'n' row; a quarter =
 * its months; a year = its quarters; all time = its years.
 *
 * Built per request from the request's other filters, cut at pol->as_of.
 * The caller owns the table: dc_canon_free.
 */
#ifndef KS_DC_CANON_H
#define KS_DC_CANON_H

#include <stdint.h>
#include <sys/types.h>

#include "disclose/disclose.h"
#include "disclose/suppress.h"

typedef struct dc_row {
	char kind;       /* 'a' every answer, 'o' organisation, 'd' department, 't' team, 'e' employee,
	                  * 'r' residual, 'n' no employee */
	char unit_kind;  /* 'r' and 'n' rows: the kind of their unit */
	int64_t id;      /* unit or employee id ('a': 0; 'r'/'n': their unit's id) */
	ssize_t parent;  /* the row it adds up to; -1 for 'a' (and an employee of no known team) */
} dc_row;

/* What suppression needs of a cell: its responses and its answers per measure. */
typedef struct dc_count {
	int64_t n;
	int64_t m[SUP_MEASURES];
} dc_count;

typedef struct dc_canon {
	sup_table t;
	size_t n_rows, rows_cap;
	dc_row *rows;
	size_t *slot;              /* open-addressing (kind, id) -> row index + 1 */
	size_t n_slots;
	size_t n_cols, n_months;
	char (*col)[24];           /* months, then quarters, then years, then "" */
	int ym0, n_ym;             /* month columns: ym_col[(year * 12 + month - 1) - ym0] */
	ssize_t *ym_col;
	int y0, n_y;               /* quarter and year columns by year */
	ssize_t *q_col, *y_col;    /* q_col[(year - y0) * 4 + q - 1], y_col[year - y0] */
	size_t *cell;              /* n_rows x n_cols -> cell of t */
	dc_count *cnt;             /* n_rows x n_cols (freed once built) */
	uint8_t *persons;          /* n_rows x n_cols x measures: employees with answers to it, capped
	                            * at 2 (freed once built) */
	struct dc_entry *entry;    /* the cache entry holding it (cache.c); NULL: the request's own */
} dc_canon;

ks_err dc_canon_build(an_index *ix, const dc_policy *pol, const an_filter *f, dc_canon *c, ks_error *e);
void dc_canon_free(dc_canon *c);

/* The table for (ix, pol, f) from pol->cache, building (and caching) it
 * when it is not there. *out is borrowed until dc_canon_release. */
ks_err dc_canon_get(an_index *ix, const dc_policy *pol, const an_filter *f, const dc_canon **out,
		    ks_error *e);
void dc_canon_release(const dc_policy *pol, const dc_canon *c);

/* The row of (kind, id), -1 when the table has none. */
ssize_t dc_canon_row(const dc_canon *c, char kind, int64_t id);
/* The column of a label ("2026-12", "2026-Q4", "2026", "" for all time), -1 when none. */
ssize_t dc_canon_col(const dc_canon *c, const char *label);

#endif
