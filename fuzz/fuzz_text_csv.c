/* fuzz_text_csv.c — the RFC 4180 reader of `klantstem text analyze|train|
 * evaluate --csv` (csv_parse, src/core/csv.c) on any bytes.
 *
 * Input: the file's bytes.
 * Oracles: a syntax error names a line of the input and a reason; a parsed
 * document has rows with at least one field each, starting on lines that
 * rise and lie within the input, fields inside the buffer; and writing the
 * rows back as RFC 4180 (every field quoted) and reading that gives the
 * same rows (fields compared as the C strings the command uses).
 */
#include "core/csv.h"
#include "fuzz_util.h"

/* Parses a copy of data[0..size) with the byte csv.h asks for after it. */
static bool fz_parse(const uint8_t *data, size_t size, csv_doc *d, int *bad_line, const char **why)
{
	char *buf = malloc(size + 1);
	if (buf == NULL)
		abort();
	if (size)
		memcpy(buf, data, size);
	buf[size] = '\0';
	*bad_line = 0;
	*why = NULL;
	return csv_parse(buf, size, d, bad_line, why);
}

/* The rows as RFC 4180, every field quoted; *len its length. */
static char *fz_write(const csv_doc *d, size_t *len)
{
	size_t cap = 16;
	for (int i = 0; i < d->n; i++)
		for (int j = 0; j < d->rows[i].n; j++)
			cap += 2 * strlen(d->rows[i].field[j]) + 4;
	char *out = malloc(cap), *p = out;
	if (out == NULL)
		abort();
	for (int i = 0; i < d->n; i++) {
		for (int j = 0; j < d->rows[i].n; j++) {
			if (j)
				*p++ = ',';
			*p++ = '"';
			for (const char *c = d->rows[i].field[j]; *c; c++) {
				if (*c == '"')
					*p++ = '"';
				*p++ = *c;
			}
			*p++ = '"';
		}
		*p++ = '\n';
	}
	*len = (size_t)(p - out);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	csv_doc d;
	int bad;
	const char *why;
	if (!fz_parse(data, size, &d, &bad, &why)) {
		if (bad < 1 || (size_t)bad > lines || why == NULL || why[0] == '\0')
			fz_fail("syntax error on line %d of %zu: %s", bad, lines, why ? why : "(null)");
		csv_free(&d);
		return 0;
	}
	int prev = 0;
	for (int i = 0; i < d.n; i++) {
		const csv_row *r = &d.rows[i];
		if (r->n < 1 || r->line <= prev || (size_t)r->line > lines)
			fz_fail("row %d: %d fields, line %d after %d (of %zu)", i, r->n, r->line, prev, lines);
		prev = r->line;
		for (int j = 0; j < r->n; j++)
			if (r->field[j] < d.buf || r->field[j] > d.buf + size)
				fz_fail("row %d field %d outside the buffer", i, j);
	}
	size_t len;
	char *again = fz_write(&d, &len);
	csv_doc e;
	if (!fz_parse((const uint8_t *)again, len, &e, &bad, &why))
		fz_fail("the rows written back do not parse: line %d: %s", bad, why);
	if (e.n != d.n)
		fz_fail("%d rows written back read as %d", d.n, e.n);
	for (int i = 0; i < d.n; i++) {
		if (e.rows[i].n != d.rows[i].n)
			fz_fail("row %d: %d fields read back as %d", i, d.rows[i].n, e.rows[i].n);
		for (int j = 0; j < d.rows[i].n; j++)
			if (strcmp(e.rows[i].field[j], d.rows[i].field[j]) != 0)
				fz_fail("row %d field %d: '%s' read back as '%s'", i, j, d.rows[i].field[j],
					e.rows[i].field[j]);
	}
	free(again);
	csv_free(&e);
	csv_free(&d);
	return 0;
}
