/* error.c — names and filling of ks_error. See error.h. */
#include "core/error.h"

#include <stdarg.h>
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
	return code;
}

void ks_error_clear(ks_error *e)
{
	if (e == NULL)
		return;
	memset(e, 0, sizeof *e);
}
