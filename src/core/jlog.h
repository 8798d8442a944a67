/* jlog.h — issue 18 (ops): `serve --log-format json`. One JSON object per
 * line on stderr: {"time","level","msg"} for server messages, plus
 * "method","route","status","bytes","ms" for access lines.
 *
 * The server's messages are written with fprintf(stderr, ...) all over
 * the code base; rather than touch each, jlog_start puts a pipe in place
 * of file descriptor 2 and a thread turns every line written there into a
 * JSON object on the real stderr (level "error" when a whole word of the
 * line, in any case, speaks of a failure — "error", "fatal", "failed",
 * "cannot", ... but not "0 failed" — else "info"). A piece longer than
 * 4096 bytes is cut at a UTF-8 boundary. Sanitizer reports go to the real
 * stderr directly; at exit() and on SIGABRT (SIGSEGV/SIGBUS without a
 * sanitizer) what is left in the pipe is passed on. Access lines are
 * written as JSON straight to the real stderr (jlog_fd), not re-wrapped.
 * Text that is not UTF-8 is cleaned (utf8_clean) before it is quoted.
 */
#ifndef KS_JLOG_H
#define KS_JLOG_H

#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct jlog jlog;

/* Start wrapping stderr. *out owned by the caller: jlog_stop. */
ks_err jlog_start(jlog **out, ks_error *e);
/* The real stderr, for lines that are JSON already. */
int jlog_fd(const jlog *j);
/* Put stderr back, wrap what is left in the pipe, join, free. NULL: no-op. */
void jlog_stop(jlog *j);
/* Append {"time":...,"level":level,"msg":msg, (no closing brace) to b:
 * the caller adds its own fields and "}\n". */
ks_err jlog_begin(ks_buf *b, const char *level, const char *msg);
/* Write b's bytes to fd in one write(2) (one line stays one line). */
void jlog_write(int fd, const ks_buf *b);

#endif
