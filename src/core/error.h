/* error.h — the one error type of klantstem.
 *
 * Every fallible function returns a ks_err (0 is success) and, when the
 * caller passes a ks_error, fills it with the field at fault and a human
 * message. Codes are only ever appended, never renumbered. The mapping of a
 * code to an HTTP status lives in exactly one place: http_status_for()
 * in src/http/server.c.
 */
#ifndef KS_ERROR_H
#define KS_ERROR_H

typedef enum {
	KS_OK = 0,
	KS_ERR_NOMEM,       /* allocation failed */
	KS_ERR_BADJSON,     /* body is not valid JSON / not an object */
	KS_ERR_INVALID,     /* a field is missing, of the wrong type, or unknown */
	KS_ERR_RANGE,       /* a value is outside its allowed range */
	KS_ERR_REF,         /* a field refers to a row that does not exist */
	KS_ERR_NOTFOUND,    /* the addressed resource does not exist */
	KS_ERR_METHOD,      /* the route exists but not for this method */
	KS_ERR_TOOBIG,      /* request body over the limit */
	KS_ERR_CONFLICT,    /* duplicate key, reused idempotency key, ... */
	KS_ERR_GONE,        /* expired (e.g. a survey link) */
	KS_ERR_DB,          /* the database failed */
	KS_ERR_IO,          /* a file or socket failed */
	KS_ERR_USAGE,       /* bad command-line arguments */
	KS_ERR_UNAVAILABLE, /* shutting down or overloaded */
	KS_ERR_INTERNAL,    /* a bug: should not happen */
	KS_ERR_UNAUTHENTICATED, /* no valid session or token */
	KS_ERR_FORBIDDEN,   /* the role or scope does not allow it (also: CSRF) */
	KS_ERR_TOO_MANY,    /* rate-limited */
	KS_ERR_STORAGE_FULL /* the disk is full: writes are refused, reads go on */
} ks_err;

typedef struct ks_error {
	ks_err code;
	char field[64];     /* JSON field at fault, "" when none */
	char message[256];  /* for humans; never contains secrets */
} ks_error;

/* Stable machine-readable name of a code, e.g. "unknown_reference". */
const char *ks_strerror(ks_err code);

/* Fill *e (if not NULL) and return code, so callers can write
 *   return ks_fail(e, KS_ERR_RANGE, "nps", "nps must be 0..10");
 * field may be NULL. field and message come out valid UTF-8 (they are
 * printed as JSON): a byte of the input that is not, or a character cut
 * short by a precision or by the buffer's size, becomes '?'. */
ks_err ks_fail(ks_error *e, ks_err code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reset *e to "no error". */
void ks_error_clear(ks_error *e);

#endif
