/* buf.c — see buf.h. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(ks_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static ks_err buf_reserve(ks_buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra)
		return KS_ERR_TOOBIG;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return KS_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p == NULL)
		return KS_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return KS_OK;
}

ks_err buf_append(ks_buf *b, const void *p, size_t n)
{
	ks_err rc = buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return KS_OK;
}

ks_err buf_puts(ks_buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

ks_err buf_printf(ks_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return KS_ERR_INTERNAL;
	ks_err rc = buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return KS_OK;
}

ks_err buf_html(ks_buf *b, const char *s)
{
	if (s == NULL)
		return KS_OK;
	for (const char *p = s; *p; p++) {
		const char *rep = NULL;
		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: break;
		}
		ks_err rc = rep ? buf_puts(b, rep) : buf_append(b, p, 1);
		if (rc)
			return rc;
	}
	return KS_OK;
}

char *buf_steal(ks_buf *b, size_t *len)
{
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void buf_reset(ks_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(ks_buf *b)
{
	free(b->data);
	buf_init(b, b->max);
}

ks_err buf_json_str(ks_buf *b, const char *s)
{
	ks_err err = buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; !err && *p; p++) {
		if (*p == '"' || *p == '\\')
			err = buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			err = buf_printf(b, "\\u%04x", *p);
		else
			err = buf_append(b, p, 1);
	}
	return err ? err : buf_puts(b, "\"");
}

ks_err buf_json_real(ks_buf *b, double x)
{
	char num[40];
	int n = snprintf(num, sizeof num, "%.10g", x);
	if (n < 0 || (size_t)n >= sizeof num)
		return KS_ERR_INTERNAL;
	if (strpbrk(num, ".eEin") == NULL) /* "30" -> "30.0"; inf/nan never reach here */
		return buf_printf(b, "%s.0", num);
	return buf_puts(b, num);
}
