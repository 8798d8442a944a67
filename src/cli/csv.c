/* csv.c — the RFC 4180 reader (see csv.h), moved out of cli_text.c
 * unchanged so that it can be fuzzed on its own. */
#include <stdlib.h>
#include <string.h>

#include "cli/csv.h"

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
