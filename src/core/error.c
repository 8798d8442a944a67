/* error.c — names and filling of ks_error. See error.h. */
#include "core/error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char *ks_strerror(ks_err code)
{
	switch (code) {
	case KS_OK: return "ok";
	case KS_ERR_NOMEM: return "out_of_memory";
	case KS_ERR_BADJSON: return "malformed_json";
	case KS_ERR_INVALID: return "invalid";
	case KS_ERR_RANGE: return "out_of_range";
	case KS_ERR_REF: return "unknown_reference";
	case KS_ERR_NOTFOUND: return "not_found";
	case KS_ERR_METHOD: return "method_not_allowed";
	case KS_ERR_TOOBIG: return "too_large";
	case KS_ERR_CONFLICT: return "conflict";
	case KS_ERR_GONE: return "gone";
	case KS_ERR_DB: return "database_error";
	case KS_ERR_IO: return "io_error";
	case KS_ERR_USAGE: return "usage";
	case KS_ERR_UNAVAILABLE: return "unavailable";
	case KS_ERR_INTERNAL: return "internal";
	case KS_ERR_UNAUTHENTICATED: return "unauthenticated";
	case KS_ERR_FORBIDDEN: return "forbidden";
	case KS_ERR_TOO_MANY: return "too_many_requests";
	case KS_ERR_STORAGE_FULL: return "storage_full";
	}
	return "unknown";
}

/* Make s valid UTF-8 in place: every byte that does not begin a complete,
 * well-formed character (an invalid byte from a request, or a character
 * that "%.40s" or the buffer's size cut short) becomes '?'. The error is
 * printed as JSON, and a string that is not UTF-8 cannot be. */
static void ks_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t k = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 9;
		unsigned cp = k == 1 ? c & 0x1Fu : k == 2 ? c & 0x0Fu : c & 0x07u;
		bool ok = k < 9;
		for (size_t i = 1; ok && i <= k; i++) {
			ok = (p[i] & 0xC0) == 0x80;
			cp = (cp << 6) | (p[i] & 0x3Fu);
		}
		static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
		if (ok && k > 0)
			ok = cp >= min[k] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
		if (!ok) {
			*p++ = '?';
			continue;
		}
		p += k + 1;
	}
}

ks_err ks_fail(ks_error *e, ks_err code, const char *field, const char *fmt, ...)
{
	if (e == NULL)
		return code;
	e->code = code;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	ks_utf8_fix(e->field);
	ks_utf8_fix(e->message);
	return code;
}

void ks_error_clear(ks_error *e)
{
	if (e == NULL)
		return;
	memset(e, 0, sizeof *e);
}
