/* cli_import.h — `klantstem import KIND --db DB FILE [--dry-run]`: load a
 * spreadsheet's rows into the product (issue 15; docs/IMPORT.md).
 *
 * One module for every kind of import, so that each reads files and reports
 * bad rows the same way: the kinds are a table in cli_import.c (today
 * "responses"; mentions and KPIs are to follow) and share what is declared
 * here — the file reader (byte order mark, LF/CRLF, quotes, semicolon files
 * with decimal commas), the header's columns (case-insensitive), the
 * "missing" values and the error list that prints
 * "FILE:LINE: column 'x': message".
 *
 * A whole file is one transaction: any bad row and nothing is written
 * (exit 1). Exit codes as in main.c: 0 success, 1 bad file or database
 * failure, 2 usage error.
 */
#ifndef KS_CLI_IMPORT_H
#define KS_CLI_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/csv.h"

/* argv[0] is "import", argv[1] the kind; returns the exit code. */
int cli_import_run(int argc, char **argv);

/* ---- shared by the kinds ------------------------------------------------ */

#define IMP_MAX_MESSAGES 50  /* printed; further bad rows are only counted */

/* The bad rows of a file. Messages go to stderr as they are found. */
typedef struct imp_errors {
	const char *path;
	int bad_rows;       /* rows (or the header) with at least one error */
	int messages;       /* printed so far */
	int last_line;      /* the line of the last error (a row counts once) */
} imp_errors;

/* "PATH:LINE: column 'COL': message" (without the column part when col is
 * NULL), up to IMP_MAX_MESSAGES of them. */
void imp_error(imp_errors *er, int line, const char *col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reads path into d (d->rows[0] is the header; fields as written, blanks
 * included: each kind trims what it must). A semicolon file is read with ';' as the separator and ','
 * left in the fields (the decimal mark). Returns 0, or 1 after printing why
 * (no such file, bad CSV, empty file, no rows below the header). */
int imp_load(const char *path, csv_doc *d);

/* The column of the header called name (any case, blanks around ignored),
 * or -1. */
int imp_column(const csv_doc *d, const char *name);

/* An empty cell, NA, N/A, n.v.t. or nvt (any case): no value. */
bool imp_missing(const char *s);

/* A whole number lo..hi ("7", "7.0" and "7,0" are 7); false for anything
 * else (a fraction, text, out of range). */
bool imp_whole(const char *s, int lo, int hi, int *out);

/* Valid UTF-8 without control characters other than tab, CR and LF. */
bool imp_text_ok(const char *s);

#endif
