/* buf.h — a growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * The buffer owns its memory; buf_free() releases it. Appending past the cap
 * fails with KS_ERR_TOOBIG and leaves the content unchanged, so a caller can
 * bound output (HTML pages, CSV) as well as input (request bodies).
 * data is always NUL-terminated when len > 0.
 */
#ifndef KS_BUF_H
#define KS_BUF_H

#include <stddef.h>

#include "core/error.h"

typedef struct ks_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;  /* hard cap on len */
} ks_buf;

void buf_init(ks_buf *b, size_t max);
ks_err buf_append(ks_buf *b, const void *p, size_t n);
ks_err buf_puts(ks_buf *b, const char *s);
ks_err buf_printf(ks_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s with HTML special characters (& < > " ') escaped. NULL appends nothing. */
ks_err buf_html(ks_buf *b, const char *s);
/* Append s as a JSON string literal (quotes and escapes; RFC 8259 §7). */
ks_err buf_json_str(ks_buf *b, const char *s);
/* Append a JSON number the way jansson's JSON_REAL_PRECISION(10) prints it
 * ("%.10g", with ".0" added when it would read as an integer), so text
 * written here and text from json_dumps agree. */
ks_err buf_json_real(ks_buf *b, double x);
/* Hand the memory to the caller (who frees it with free()); b becomes empty. */
char *buf_steal(ks_buf *b, size_t *len);
void buf_reset(ks_buf *b);
void buf_free(ks_buf *b);

#endif
