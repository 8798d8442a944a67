/* kpi.h — the rules of the hard-KPI catalogue and its CSV import (issue 17,
 * part K; docs/GOVERNANCE.md "KPIs").
 *
 * What is checked here and not in the store: a key's syntax and that it is
 * not a soft KPI's (soft KPIs are computed, never imported or catalogued),
 * the closed lists (department, kind, aggregation), the period syntax of
 * values ('YYYY-MM') and targets ('YYYY', 'YYYY-Qn', 'YYYY-MM'), and the CSV
 * file `klantstem import kpis` and POST /api/v1/kpis/import share.
 */
#ifndef KS_GOVERNANCE_KPI_H
#define KS_GOVERNANCE_KPI_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "store/store.h"

#define KPI_KEY_MAX 40
/* |value| of a KPI: beyond it a figure is a typo, not a measurement. */
#define KPI_VALUE_MAX 1e15
/* Rows of one import (a file or a request body). */
#define KPI_IMPORT_MAX_ROWS 200000

/* [a-z0-9_]{1,40}. */
bool kpi_key_valid(const char *key);
/* A theme's soft key: "theme:" and 1..KPI_THEME_ID_MAX of a-z, 0-9 and _;
 * 47 is what a stored taxonomy's theme id may be (the analytics index keeps
 * ids in 48 bytes), so every theme can be a KPI. */
#define KPI_THEME_ID_MAX 47
bool kpi_theme_key_valid(const char *key);
/* 'YYYY-MM', year 1900..2999, month 01..12. */
bool kpi_period_valid(const char *p);
/* 'YYYY', 'YYYY-Qn' (n 1..4) or 'YYYY-MM'. */
bool kpi_target_period_valid(const char *p);
bool kpi_department_valid(const char *d);
bool kpi_kind_valid(const char *k);
bool kpi_aggregation_valid(const char *a);
/* A finite number with |v| <= KPI_VALUE_MAX. */
bool kpi_value_valid(double v);

/* Checks a catalogue entry: key (syntax; a soft key is refused: "soft KPIs
 * are computed, never catalogued"), name_nl and name_en (1..200 bytes of
 * UTF-8 text), unit (1..16 bytes), department, kind, aggregation.
 * KS_ERR_INVALID naming the field. */
ks_err kpi_check(const store_kpi *k, ks_error *e);

/* ---- the CSV import ---- */

/* What an import wrote. */
typedef struct kpi_import_counts {
	size_t rows;        /* values written (inserted or replaced): distinct (kpi, unit, period) */
	size_t lines;       /* rows of the file read; more than rows when a later line gave the
	                     * same KPI, unit and month again (the later one is kept) */
	size_t kpis;        /* distinct KPIs among them */
	size_t units;       /* distinct org units */
	size_t periods;     /* distinct months */
} kpi_import_counts;

/* Parses a CSV file of values and writes them, all or nothing, with source
 * "import". buf[0..len) is taken over (freed here; it needs one byte past
 * len). The file: a header naming the columns kpi, unit, period, value (any
 * order and case; other columns are an error), then a row per value; a
 * UTF-8 BOM, CRLF or CR-only line ends, quoted fields, empty columns at the
 * end of every line (a trailing separator) and a semicolon file (a Dutch
 * spreadsheet's, whose values have a decimal comma, quoted or not, and may
 * group thousands with a point: 1.234,56) are read as such.
 * kpi: a hard KPI's key (a soft key is refused); unit: an org unit's id or
 * its exact name (a name several units carry is refused); period:
 * 'YYYY-MM'; value: a number in plain decimals (no exponent, hex, inf or
 * nan; in a semicolon file any point that does not group thousands is
 * refused). A NUL byte is refused at its line. The same (kpi, unit, period) twice: the
 * later row wins.
 * On error: *line = the line of the file at fault (1 = the header, 0 =
 * none: the whole file or the database), e->field = the column ("kpi",
 * "unit", "period", "value"; "" for the file) and e->message without the
 * line. Nothing is written then. */
ks_err kpi_import_csv(ks_store *s, char *buf, size_t len, kpi_import_counts *out, int *line, ks_error *e);

#endif
