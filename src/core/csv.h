/* csv.h — the RFC 4180 reader of `klantstem text analyze|train|evaluate`
 * (issue 14), in its own module so that a fuzz harness (fuzz/fuzz_text_csv.c)
 * and tests can call it without the command around it; in src/core since
 * the server reads CSV too (issue 16: mentions in the generic layout), and
 * every import of the command line (import responses, customers, ...,
 * mentions) reads files with it.
 *
 * A header row is not treated specially here: rows[0] is whatever came first.
 */
#ifndef KS_CORE_CSV_H
#define KS_CORE_CSV_H

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

/* ---- reading a file as spreadsheets write it ----------------------------- */

/* Reads the whole file at path ("-": stdin) into a malloc'ed buffer (the
 * caller's), NUL-terminated with *len bytes before the NUL, so it can go
 * straight to csv_parse. NULL on failure with errno set: EFBIG when the
 * file is larger than max bytes. */
char *csv_slurp(const char *path, size_t max, size_t *len);

/* Drops a leading UTF-8 byte order mark (what spreadsheets write) in place. */
void csv_skip_bom(char *buf, size_t *len);

/* A semicolon file: its header line (up to the first line end outside
 * quotes) has a ';' and no ',' outside quotes — what a Dutch spreadsheet
 * writes, with decimal commas. */
bool csv_semicolon_file(const char *buf, size_t len);

/* For the comma reader: outside quotes every ';' becomes ',' and every ','
 * (a decimal comma, or a comma in unquoted text) becomes comma_as. */
void csv_semicolons_to_commas(char *buf, size_t len, char comma_as);

#endif
