/* csv.c — the RFC 4180 reader (see csv.h), moved out of cli_text.c
 * unchanged so that it can be fuzzed on its own, and from src/cli to
 * src/core (issue 16) since the server reads CSV too (POST /api/v1/mentions
 * with generic-csv data, src/mentions). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"

void csv_free(csv_doc *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->rows[i].field);
	free(d->rows);
	free(d->buf);
}

/* The field is unquoted in place: out never passes i, so the NUL that ends
 * a field lands at most at buf[len] (csv.h: the caller's extra byte). */
bool csv_parse(char *buf, size_t len, csv_doc *d, int *bad_line, const char **why)
{
	memset(d, 0, sizeof *d);
	d->buf = buf;
	size_t i = 0;
	int line = 1, cap = 0;
	while (i < len) {
		if (buf[i] == '\n' || (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')) {
			i += buf[i] == '\r' ? 2 : 1;
			line++;
			continue;
		}
		csv_row row = { NULL, 0, line };
		int fcap = 0;
		for (;;) {
			char *out = buf + i, *start = out;
			if (i < len && buf[i] == '"') {
				int qline = line;
				i++;
				for (;;) {
					if (i >= len) {
						*bad_line = qline;
						*why = "a quoted field is not closed";
						free(row.field);
						return false;
					}
					if (buf[i] == '"') {
						if (i + 1 < len && buf[i + 1] == '"') {
							*out++ = '"';
							i += 2;
							continue;
						}
						i++;
						break;
					}
					if (buf[i] == '\n')
						line++;
					*out++ = buf[i++];
				}
				if (i < len && buf[i] != ',' && buf[i] != '\n' &&
				    !(buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')) {
					*bad_line = line;
					*why = "text after a closing quote (a quote inside a field is written \"\")";
					free(row.field);
					return false;
				}
			} else {
				while (i < len && buf[i] != ',' && buf[i] != '\n' &&
				       !(buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')) {
					if (buf[i] == '"') {
						*bad_line = line;
						*why = "a quote inside an unquoted field";
						free(row.field);
						return false;
					}
					*out++ = buf[i++];
				}
			}
			char end = i < len ? buf[i] : '\n';
			if (row.n == fcap) {
				fcap = fcap ? fcap * 2 : 8;
				char **f = realloc(row.field, (size_t)fcap * sizeof *f);
				if (!f) {
					free(row.field);
					*bad_line = line;
					*why = "out of memory";
					return false;
				}
				row.field = f;
			}
			row.field[row.n++] = start;
			if (end == ',') {
				*out = '\0';
				i++;
				continue;
			}
			if (i < len)
				i += buf[i] == '\r' ? 2 : 1;
			*out = '\0';
			line++;
			break;
		}
		if (d->n == cap) {
			cap = cap ? cap * 2 : 64;
			csv_row *r = realloc(d->rows, (size_t)cap * sizeof *r);
			if (!r) {
				free(row.field);
				*bad_line = line;
				*why = "out of memory";
				return false;
			}
			d->rows = r;
		}
		d->rows[d->n++] = row;
	}
	return true;
}

/* ---- reading a file as spreadsheets write it ----------------------------- */

char *csv_slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = strcmp(path, "-") != 0 ? fopen(path, "rb") : stdin;
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	while (b) {
		size_t r = fread(b + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
		if (n + 1 < cap)
			continue;
		char *nb = cap < max ? realloc(b, cap * 2) : NULL;
		if (!nb) {
			free(b);
			b = NULL;
			errno = cap < max ? ENOMEM : EFBIG;
			break;
		}
		b = nb;
		cap *= 2;
	}
	if (b && ferror(f)) {
		free(b);
		b = NULL;
		errno = EIO;
	}
	if (f != stdin)
		fclose(f);
	if (b) {
		b[n] = '\0';
		*len = n;
	}
	return b;
}

void csv_skip_bom(char *buf, size_t *len)
{
	if (*len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
		memmove(buf, buf + 3, *len - 3 + 1);
		*len -= 3;
	}
}

bool csv_semicolon_file(const char *buf, size_t len)
{
	bool q = false, semi = false;
	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (c == '"')
			q = !q;
		else if (!q && (c == '\n' || c == '\r'))
			break;
		else if (!q && c == ',')
			return false;
		else if (!q && c == ';')
			semi = true;
	}
	return semi;
}

void csv_semicolons_to_commas(char *buf, size_t len, char comma_as)
{
	bool q = false;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '"')
			q = !q;
		else if (!q && buf[i] == ';')
			buf[i] = ',';
		else if (!q && buf[i] == ',')
			buf[i] = comma_as;
	}
}
