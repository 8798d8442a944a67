/* jlog.c — issue 18 (ops): see jlog.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/jlog.h"
#include "core/utf8.h"

#define JLOG_LINE_MAX 4096 /* a longer line is wrapped in pieces */
/* The worst case of one piece as JSON: every byte a control character
 * (\u00XX, six bytes each), plus time, level and braces. */
#define JLOG_OUT_MAX (6 * JLOG_LINE_MAX + 128)

/* Sanitizer builds: their reports go to the real stderr, not through the
 * pipe a dying process can no longer pump. Weak: absent in plain builds. */
extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

struct jlog {
	int raw;        /* the real stderr */
	int pipe_r;     /* the pump's end */
	pthread_t thread;
};

ks_err jlog_begin(ks_buf *b, const char *level, const char *msg)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[64];
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
	char *clean = utf8_clean(msg);
	ks_err err = buf_printf(b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", when, level);
	if (!err)
		err = buf_json_str(b, clean ? clean : "");
	free(clean);
	return err;
}

void jlog_write(int fd, const ks_buf *b)
{
	size_t off = 0;
	while (off < b->len) {
		ssize_t w = write(fd, b->data + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* Whether the word at w (n bytes, any case) is one that speaks of a
 * failure; prev is the word before it ("0 failed" is a count, not one). */
static bool jlog_bad_word(const char *w, size_t n, const char *prev, size_t pn)
{
	static const char *const bad[] = {"error", "errors", "fatal", "fail", "failed", "failure", "cannot", "panic"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (strlen(bad[i]) == n && strncasecmp(w, bad[i], n) == 0)
			return !(pn == 1 && prev[0] == '0');
	return false;
}

/* "error" when a whole word of the line speaks of a failure (in any case:
 * a sanitizer's "ERROR:"), else "info". */
static const char *jlog_level(const char *line)
{
	const char *prev = "";
	size_t pn = 0;
	for (const char *p = line; *p;) {
		if (!isalnum((unsigned char)*p)) {
			p++;
			continue;
		}
		const char *w = p;
		while (isalnum((unsigned char)*p))
			p++;
		if (jlog_bad_word(w, (size_t)(p - w), prev, pn))
			return "error";
		prev = w;
		pn = (size_t)(p - w);
	}
	return "info";
}

static void jlog_line(jlog *j, const char *line)
{
	/* the messages' own "klantstem: " prefix says nothing in a JSON log */
	if (strncmp(line, "klantstem: ", 11) == 0)
		line += 11;
	ks_buf b;
	buf_init(&b, JLOG_OUT_MAX);
	if (jlog_begin(&b, jlog_level(line), line) == KS_OK && buf_puts(&b, "}\n") == KS_OK)
		jlog_write(j->raw, &b);
	buf_free(&b);
}

/* Where to cut a full buffer: not inside a UTF-8 sequence (at most the
 * last three bytes wait for the next piece). */
static size_t jlog_cut(const char *s, size_t len)
{
	size_t back = 0;
	while (back < 3 && back < len && ((unsigned char)s[len - 1 - back] & 0xC0) == 0x80)
		back++;
	if (back < len) {
		unsigned char lead = (unsigned char)s[len - 1 - back];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (lead >= 0xC0 && need > back + 1 && back + 1 <= 3)
			return len - 1 - back; /* an incomplete sequence: keep it whole */
	}
	return len;
}

static void *jlog_main(void *arg)
{
	jlog *j = arg;
	char line[JLOG_LINE_MAX + 1];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(j->pipe_r, line + len, JLOG_LINE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		size_t start = 0;
		for (size_t i = 0; i < len; i++)
			if (line[i] == '\n') {
				line[i] = '\0';
				if (i > start)
					jlog_line(j, line + start);
				start = i + 1;
			}
		memmove(line, line + start, len - start);
		len -= start;
		if (len == JLOG_LINE_MAX) { /* no newline in a full buffer: a piece */
			size_t cut = jlog_cut(line, len);
			char keep[4];
			size_t rest = len - cut;
			memcpy(keep, line + cut, rest);
			line[cut] = '\0';
			jlog_line(j, line);
			memcpy(line, keep, rest);
			len = rest;
		}
	}
	if (len) {
		line[len] = '\0';
		jlog_line(j, line);
	}
	return NULL;
}

/* The one wrapper of fd 2 in this process, for the exit and crash paths
 * that have no context to hand (atexit, signal handlers). The process has
 * one stderr, so this is the one piece of state outside a context. */
static jlog *jlog_active;
static volatile sig_atomic_t jlog_sig_raw = -1, jlog_sig_pipe = -1;

/* A crash: pass what the pump has not read yet to the real stderr as it
 * is (read and write only: async-signal-safe), then die by the signal. */
static void jlog_on_crash(int sig)
{
	int raw = jlog_sig_raw, pr = jlog_sig_pipe;
	if (raw >= 0 && pr >= 0) {
		dup2(raw, STDERR_FILENO); /* what the dying process writes next */
		int fl = fcntl(pr, F_GETFL);
		if (fl >= 0)
			fcntl(pr, F_SETFL, fl | O_NONBLOCK);
		char buf[4096];
		ssize_t n;
		while ((n = read(pr, buf, sizeof buf)) > 0)
			if (write(raw, buf, (size_t)n) < 0)
				break;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Put fd 2 back and let the pump wrap what is left: the pipe's last write
 * end closes, the pump reads EOF. */
static void jlog_finish(jlog *j)
{
	fflush(stderr);
	jlog_sig_raw = -1;
	jlog_sig_pipe = -1;
	dup2(j->raw, STDERR_FILENO);
	pthread_join(j->thread, NULL);
	jlog_active = NULL;
}

/* exit() from a path that never reaches jlog_stop: the last lines still
 * come out, wrapped. */
static void jlog_at_exit(void)
{
	if (jlog_active)
		jlog_finish(jlog_active);
}

static void jlog_catch_crashes(jlog *j)
{
	jlog_sig_raw = j->raw;
	jlog_sig_pipe = j->pipe_r;
	struct sigaction sa = {0};
	sa.sa_handler = jlog_on_crash;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGABRT, &sa, NULL);
	/* A sanitizer has its own SEGV/BUS handler that writes the report
	 * (to the real stderr, below); do not take those from it. */
	if (__sanitizer_set_report_fd == NULL) {
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
	}
}

ks_err jlog_start(jlog **out, ks_error *e)
{
	jlog *j = calloc(1, sizeof *j);
	int p[2] = {-1, -1};
	if (j == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (jlog_active) {
		free(j);
		return ks_fail(e, KS_ERR_CONFLICT, "log-format", "stderr is wrapped already");
	}
	fflush(stderr);
	j->raw = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	/* CLOEXEC: a child must not hold the pipe's ends (the pump would
	 * never see EOF) or the real stderr under another number. */
	if (j->raw < 0 || pipe(p) != 0 || fcntl(p[0], F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(p[1], F_SETFD, FD_CLOEXEC) != 0 || dup2(p[1], STDERR_FILENO) < 0) {
		int err = errno;
		if (p[0] >= 0) {
			close(p[0]);
			close(p[1]);
		}
		if (j->raw >= 0)
			close(j->raw);
		free(j);
		return ks_fail(e, KS_ERR_IO, "log-format", "cannot wrap stderr: %s", strerror(err));
	}
	close(p[1]); /* fd 2 is the write end now */
	j->pipe_r = p[0];
	if (pthread_create(&j->thread, NULL, jlog_main, j) != 0) {
		dup2(j->raw, STDERR_FILENO);
		close(j->raw);
		close(j->pipe_r);
		free(j);
		return ks_fail(e, KS_ERR_INTERNAL, "log-format", "cannot start the log thread");
	}
	if (__sanitizer_set_report_fd)
		__sanitizer_set_report_fd((void *)(intptr_t)j->raw);
	jlog_active = j;
	static bool registered;
	if (!registered)
		registered = atexit(jlog_at_exit) == 0;
	jlog_catch_crashes(j);
	*out = j;
	return KS_OK;
}

int jlog_fd(const jlog *j)
{
	return j ? j->raw : STDERR_FILENO;
}

void jlog_stop(jlog *j)
{
	if (j == NULL)
		return;
	if (jlog_active == j)
		jlog_finish(j);
	signal(SIGABRT, SIG_DFL);
	if (__sanitizer_set_report_fd)
		__sanitizer_set_report_fd((void *)(intptr_t)STDERR_FILENO);
	else {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
	}
	close(j->pipe_r);
	close(j->raw);
	free(j);
}
