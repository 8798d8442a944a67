/* jlog.c — issue 18 (ops): see jlog.h. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/jlog.h"
#include "core/utf8.h"

#define JLOG_LINE_MAX 4096 /* a longer line is wrapped in pieces */

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

static const char *jlog_level(const char *line)
{
	return strstr(line, "error") || strstr(line, "fail") || strstr(line, "cannot") ? "error"
											: "info";
}

static void jlog_line(jlog *j, const char *line)
{
	/* the messages' own "klantstem: " prefix says nothing in a JSON log */
	if (strncmp(line, "klantstem: ", 11) == 0)
		line += 11;
	ks_buf b;
	buf_init(&b, 4 * JLOG_LINE_MAX);
	if (jlog_begin(&b, jlog_level(line), line) == KS_OK && buf_puts(&b, "}\n") == KS_OK)
		jlog_write(j->raw, &b);
	buf_free(&b);
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
			line[len] = '\0';
			jlog_line(j, line);
			len = 0;
		}
	}
	if (len) {
		line[len] = '\0';
		jlog_line(j, line);
	}
	return NULL;
}

ks_err jlog_start(jlog **out, ks_error *e)
{
	jlog *j = calloc(1, sizeof *j);
	int p[2] = {-1, -1};
	if (j == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	fflush(stderr);
	j->raw = dup(STDERR_FILENO);
	if (j->raw < 0 || pipe(p) != 0 || dup2(p[1], STDERR_FILENO) < 0) {
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
	fflush(stderr);
	dup2(j->raw, STDERR_FILENO); /* the pipe's last write end closes: EOF */
	pthread_join(j->thread, NULL);
	close(j->pipe_r);
	close(j->raw);
	free(j);
}
