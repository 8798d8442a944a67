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
 *
 * The text table (issue 14, dc_canon_build_text) has the same rows and
 * columns in several layers, each a subset of the answers: every answer
 * (layer 0, decided by the base table and copied), analysed, not
 * analysed, negative, neutral, positive, then per theme T of the data
 * "mentioning T", then per theme "analysed, not mentioning T". Each layer
 * has the tree's and the calendar's lines; per (row, column) the layers
 * have text.h's lines (every = analysed + not analysed; analysed = its
 * sentiments; analysed = with T + without T). So a theme or sentiment
 * cell of a unit and a period is decided once for the organisation, and
 * every filter that shows the same answers reads the same decision
 * (docs/PRIVACY.md "Themes and sentiment").
 * Themes that nest: for every pair of themes (A, B) the sets A∩¬B,
 * ¬A∩B, A∩B and ¬A∩¬B are counted per row and column (one pass over the
 * analysed answers, an_text_classes). A − B is A∩¬B when every B answer
 * mentions A: where such a set has an employee's answers and is under its
 * threshold (or as large as a hidden cell there), the smaller of the two
 * cells is hidden; two cells with the same answers are shown both or
 * neither. Rounds of this and the engine until nothing changes (at most
 * 8). docs/PRIVACY.md "Themes and sentiment".
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

/* The text table's fixed layers; themes from DC_L_THEMES on. */
enum { DC_L_ALL, DC_L_ANALYSED, DC_L_UNANALYSED, DC_L_NEGATIVE, DC_L_NEUTRAL, DC_L_POSITIVE, DC_L_THEMES };

typedef struct dc_canon {
	sup_table t;
	size_t n_layers;           /* 1 for the base table */
	char (*layer)[112];       /* names: "", "analysed", "unanalysed", "s:<label>", "t:<id>", "n:<id>" */
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
	size_t *cell;              /* n_layers x n_rows x n_cols -> cell of t */
	dc_count *cnt;             /* n_layers x n_rows x n_cols (freed once built) */
	uint8_t *persons;          /* n_layers x n_rows x n_cols x measures: employees with answers
	                            * to it, capped at 2 (freed once built) */
	struct dc_entry *entry;    /* the cache entry holding it (cache.c); NULL: the request's own */
} dc_canon;

ks_err dc_canon_build(an_index *ix, const dc_policy *pol, const an_filter *f, dc_canon *c, ks_error *e);
void dc_canon_free(dc_canon *c);

/* The table for (ix, pol, f) from pol->cache, building (and caching) it
 * when it is not there. *out is borrowed until dc_canon_release. */
ks_err dc_canon_get(an_index *ix, const dc_policy *pol, const an_filter *f, const dc_canon **out,
		    ks_error *e);
void dc_canon_release(const dc_policy *pol, const dc_canon *c);

/* The text table for the same filters; base is the base table of them
 * (dc_canon_get), whose decisions layer 0 takes. */
ks_err dc_canon_build_text(an_index *ix, const dc_policy *pol, const an_filter *f, const dc_canon *base,
			   dc_canon *c, ks_error *e);
/* The text table from pol->cache (keyed apart from the base tables),
 * building it when it is not there; release with dc_canon_release. */
ks_err dc_canon_text_get(an_index *ix, const dc_policy *pol, const an_filter *f, const dc_canon **out,
			 ks_error *e);
/* The layer of a name (see layer above), -1 when none. */
ssize_t dc_canon_layer_of(const dc_canon *c, const char *name);

/* disclose.c: the cell of layer l of c that group g of r (NULL: r's
 * total) is, under filter f and period; -1 when the table cannot place
 * it. Text dimensions of r are skipped: the caller chose the layer. */
ssize_t dc_canon_map(an_index *ix, const dc_canon *c, const an_filter *f, const char *period,
		     const an_result *r, const an_group *g, size_t l);

/* Issue 16 (H5): the attribute table of a single-valued attribute
 * dimension d (login_band, newsletter, attr.<key>): the base table's rows
 * and columns in layers — every answer (layer 0, decided by base), then one
 * layer per value of d in the data, named "v:=<value code>" — with the tree's and
 * the calendar's lines in each and, per (row, column), every answer = the
 * sum of the values (one value a response). f must not filter on d. So a
 * value's cell of a unit or employee and a whole period is decided once for
 * the organisation, whichever reply shows it (docs/PRIVACY.md). */
bool dc_attr_dim(an_dim d);
/* Products (multi-valued) get the same table with a layer "v:#<id>" per
 * product held in the slice and without the sum line (only every answer =
 * P + not P): d = AN_DIM_PRODUCT, filter "#<id>". */
/* At most this many values (in the filter's data) make a table; with more
 * dc_canon_build_attr is KS_ERR_RANGE (e untouched) and the reply is
 * refused (issue 16 H10: a table that cannot be built never means weaker
 * rules). */
#define DC_ATTR_MAX_VALUES 32
ks_err dc_canon_build_attr(an_index *ix, const dc_policy *pol, const an_filter *f, an_dim d, const dc_canon *base,
			   dc_canon *c, ks_error *e);
/* The attribute table from pol->cache (keyed apart by d), built when not
 * there; release with dc_canon_release. */
ks_err dc_canon_attr_get(an_index *ix, const dc_policy *pol, const an_filter *f, an_dim d, const dc_canon **out,
			 ks_error *e);
/* Add "d = the value of code" to filter f: a product's id, else the value
 * code (an_value_code). KS_ERR_RANGE when it cannot hold it. Issue 16
 * (H10): by code, so any value (of any length) makes its layer. */
ks_err dc_attr_filter_set(an_index *ix, an_filter *f, an_dim d, int64_t code);
/* The name of value code's layer after "v:" ("#<product id>", "=<code>"). */
void dc_attr_layer_key(an_dim d, int64_t code, char *out, size_t n);

/* The row of (kind, id), -1 when the table has none. */
ssize_t dc_canon_row(const dc_canon *c, char kind, int64_t id);
/* The column of a label ("2026-12", "2026-Q4", "2026", "" for all time), -1 when none. */
ssize_t dc_canon_col(const dc_canon *c, const char *label);

#endif
