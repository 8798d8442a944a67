/* test_jlog.c — `serve --log-format json` (src/core/jlog.c), issue 18
 * review: what a child process writes on its stderr while jlog wraps it,
 * read back by the parent through a pipe. Lines must not be lost when the
 * process aborts, exits without jlog_stop or is killed by a sanitizer; a
 * long line of control characters must not be dropped; a piece is cut at
 * a UTF-8 boundary; the level is taken from whole words ("0 failed" is a
 * count, "ERROR:" a failure).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/jlog.h"

typedef void (*child_fn)(void);

/* Run fn in a child whose stderr is a pipe; *out its whole stderr (caller
 * frees), the wait status returned. */
static int run_child(child_fn fn, char **out)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		jlog *j = NULL;
		ks_error e;
		if (jlog_start(&j, &e))
			_exit(9);
		fn();
		jlog_stop(j);
		_exit(0);
	}
	close(p[1]);
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	assert_non_null(buf);
	for (;;) {
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t n = read(p[0], buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(p[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	*out = buf;
	return status;
}

/* The JSON object of line number i (0-based) of text; NULL when absent or
 * not JSON. */
static json_t *line_json(const char *text, int i)
{
	const char *p = text;
	for (; i > 0 && p; i--) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (p == NULL || *p == '\0')
		return NULL;
	const char *end = strchr(p, '\n');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	return json_loadb(p, n, 0, NULL);
}

static int count_lines(const char *text)
{
	int n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

static void child_abort(void)
{
	fprintf(stderr, "klantstem: about to crash: last words\n");
	abort();
}

static void test_abort_keeps_the_last_line(void **state)
{
	(void)state;
	char *out = NULL;
	int st = run_child(child_abort, &out);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_non_null(strstr(out, "about to crash: last words"));
	free(out);
}

static void child_exit(void)
{
	fprintf(stderr, "klantstem: fatal: cannot continue\n");
	exit(3);
}

static void test_exit_without_stop_wraps_the_last_line(void **state)
{
	(void)state;
	char *out = NULL;
	int st = run_child(child_exit, &out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 3);
	assert_int_equal(count_lines(out), 1);
	json_t *o = line_json(out, 0);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "msg")), "fatal: cannot continue");
	assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
	json_decref(o);
	free(out);
}

static void child_uaf(void)
{
	char *volatile p = malloc(8);
	fprintf(stderr, "klantstem: before the bug\n");
	free(p);
	fprintf(stderr, "%d\n", p[3]);
}

/* Only a sanitizer build has a report to keep. */
extern void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

static void test_sanitizer_report_reaches_stderr(void **state)
{
	(void)state;
	if (__sanitizer_set_report_fd == NULL)
		skip();
	char *out = NULL;
	int st = run_child(child_uaf, &out);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "ERROR: AddressSanitizer: heap-use-after-free"));
	assert_non_null(strstr(out, "SUMMARY: AddressSanitizer"));
	free(out);
}

static void child_controls(void)
{
	char l[4001];
	memset(l, 1, 4000);
	l[4000] = '\0';
	fprintf(stderr, "%s\n", l);
	fprintf(stderr, "klantstem: next line\n");
}

static void test_line_of_control_characters_is_kept(void **state)
{
	(void)state;
	char *out = NULL;
	int st = run_child(child_controls, &out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(count_lines(out), 2);
	json_t *o = line_json(out, 0);
	assert_non_null(o);
	const char *msg = json_string_value(json_object_get(o, "msg"));
	assert_non_null(msg);
	assert_int_equal(strlen(msg), 4000);
	assert_int_equal(strspn(msg, "\x01"), 4000);
	json_decref(o);
	o = line_json(out, 1);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "msg")), "next line");
	json_decref(o);
	free(out);
}

static void child_utf8_straddle(void)
{
	char l[4200];
	memset(l, 'a', 4095);
	strcpy(l + 4095, "\xc3\xa9" "b\n"); /* é at bytes 4095-4096 */
	fputs(l, stderr);
}

static void test_piece_cut_at_utf8_boundary(void **state)
{
	(void)state;
	char *out = NULL;
	int st = run_child(child_utf8_straddle, &out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(count_lines(out), 2);
	json_t *o = line_json(out, 0);
	assert_non_null(o);
	const char *msg = json_string_value(json_object_get(o, "msg"));
	assert_int_equal(strlen(msg), 4095);
	assert_int_equal(strspn(msg, "a"), 4095);
	json_decref(o);
	o = line_json(out, 1);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "msg")), "\xc3\xa9" "b");
	json_decref(o);
	free(out);
}

static void child_levels(void)
{
	fprintf(stderr, "klantstem: scheduler: 3 sent, 0 reminders, 0 to retry, 0 failed\n");
	fprintf(stderr, "==12==ERROR: AddressSanitizer: heap-use-after-free\n");
	fprintf(stderr, "klantstem: scheduler: 1 sent, 2 failed\n");
	fprintf(stderr, "klantstem: failover mail relay configured; errorless start\n");
	fprintf(stderr, "klantstem: Cannot open the font\n");
}

static void test_level_from_whole_words(void **state)
{
	(void)state;
	static const char *const want[] = {"info", "error", "error", "info", "error"};
	char *out = NULL;
	int st = run_child(child_levels, &out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(count_lines(out), 5);
	for (int i = 0; i < 5; i++) {
		json_t *o = line_json(out, i);
		assert_non_null(o);
		assert_string_equal(json_string_value(json_object_get(o, "level")), want[i]);
		json_decref(o);
	}
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abort_keeps_the_last_line),
		cmocka_unit_test(test_exit_without_stop_wraps_the_last_line),
		cmocka_unit_test(test_sanitizer_report_reaches_stderr),
		cmocka_unit_test(test_line_of_control_characters_is_kept),
		cmocka_unit_test(test_piece_cut_at_utf8_boundary),
		cmocka_unit_test(test_level_from_whole_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
