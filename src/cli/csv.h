/* csv.h — the RFC 4180 reader of `klantstem text analyze|train|evaluate`
 * (issue 14), in its own module so that a fuzz harness (fuzz/fuzz_text_csv.c)
 * and tests can call it without the command around it.
 *
 * A header row is not treated specially here: rows[0] is whatever came first.
 */
#ifndef KS_CLI_CSV_H
#define KS_CLI_CSV_H

#include <stdbool.h>
#include <stddef.h>

typedef struct csv_row {
	char **field;  /* n pointers into the csv_doc's buf (NUL-terminated) */
	int n;
	int line;      /* line of the file where the row starts (1-based) */
} csv_row;

typedef struct csv_doc {
	csv_row *rows;
	int n;
	char *buf;     /* fields point into it (unquoted in place) */
} csv_doc;

/* Parses buf[0..len) (buf taken over: it belongs to *d from now on, and is
 * written to while unquoting; it needs room for one byte past len, which the
 * last field's terminating NUL may take). Quoted fields may hold commas, ""
 * and newlines; a row ends at LF or CRLF; a blank line is no row.
 * Returns false on a syntax error with *bad_line (the line where the bad row
 * or the open quote starts) and *why (a static string) set.
 * Either way *d holds what was read: free it with csv_free. */
bool csv_parse(char *buf, size_t len, csv_doc *d, int *bad_line, const char **why);

/* Frees the rows and the buffer; *d is left dangling (not reset). */
void csv_free(csv_doc *d);

#endif
