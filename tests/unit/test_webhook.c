/* test_webhook.c — signed outgoing webhooks (src/invite/webhook.c).
 *
 * The HMAC is checked against RFC 4231's published vectors and against a
 * value computed independently with Python's hmac module. webhook_post()
 * talks to a real receiver on loopback: tests/unit/webhook_sink.py, started
 * here with /usr/bin/python3, records each request to a file and checks the
 * signature itself (again with Python's hmac), so the wire format is tested
 * from the other side.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "invite/webhook.h"

extern char **environ;

#define SECRET "whsec_test"
#define BODY "{\"event\":\"response.created\",\"id\":7}"
#define TS 1700000000

/* ---- the HMAC ------------------------------------------------------------- */

/* RFC 4231, 4.3 test case 2. */
static void test_hmac_rfc4231_case2(void **state)
{
	(void)state;
	char hex[65];
	const char *data = "what do ya want for nothing?";
	webhook_hmac_hex("Jefe", 4, data, strlen(data), hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* RFC 4231, 4.2 test case 1 and 4.7 test case 6 (a key longer than the
 * 64-byte block, which HMAC hashes first). */
static void test_hmac_rfc4231_cases_1_6(void **state)
{
	(void)state;
	char hex[65];
	unsigned char key[131];
	memset(key, 0x0b, 20);
	webhook_hmac_hex(key, 20, "Hi There", 8, hex);
	assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	memset(key, 0xaa, sizeof key);
	const char *data = "Test Using Larger Than Block-Size Key - Hash Key First";
	webhook_hmac_hex(key, sizeof key, data, strlen(data), hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

/* webhook_sign signs "<ts>.<body>". Expected value from Python:
 * hmac.new(b"whsec_test", b'1700000000.{"event":"response.created","id":7}',
 *          hashlib.sha256).hexdigest() */
static void test_sign(void **state)
{
	(void)state;
	char hex[65], direct[65];
	webhook_sign(SECRET, TS, BODY, strlen(BODY), hex);
	assert_string_equal(hex, "1a929c9086699b6b5796f5bcb1b1aabe46a13b65204a137ffb6e3662c016e06e");
	const char *msg = "1700000000." BODY;
	webhook_hmac_hex(SECRET, strlen(SECRET), msg, strlen(msg), direct);
	assert_string_equal(hex, direct);
	/* The timestamp is bound in: another second, another signature. */
	webhook_sign(SECRET, TS + 1, BODY, strlen(BODY), direct);
	assert_string_not_equal(hex, direct);
	/* The length counts, not a NUL: a prefix of the body differs. */
	webhook_sign(SECRET, TS, BODY, strlen(BODY) - 1, direct);
	assert_string_not_equal(hex, direct);
}

/* ---- the receiver ------------------------------------------------------------ */

typedef struct sink {
	pid_t pid;
	int port;
	char record[PATH_MAX];
} sink;

/* tests/unit/webhook_sink.py: beside the source, found from the binary
 * (build/asan/tests/test_webhook -> ../../../tests/unit) or, failing that,
 * from the directory the test runs in (the repository root under make). */
static void sink_script(char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = '\0';
		for (int up = 0; up < 4; up++) {
			char *slash = strrchr(exe, '/');
			if (slash == NULL)
				break;
			*slash = '\0';
		}
		int w = snprintf(out, n, "%s/tests/unit/webhook_sink.py", exe);
		if (w > 0 && (size_t)w < n && access(out, R_OK) == 0)
			return;
	}
	snprintf(out, n, "tests/unit/webhook_sink.py");
}

/* Read the port line the sink prints, waiting at most 10 s. */
static int sink_read_port(int fd)
{
	char line[32];
	size_t got = 0;
	while (got < sizeof line - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0)
			return -1;
		ssize_t r = read(fd, line + got, 1);
		if (r <= 0)
			return -1;
		if (line[got] == '\n')
			break;
		got++;
	}
	line[got] = '\0';
	char *end = NULL;
	long port = strtol(line, &end, 10);
	return (end != line && port > 0 && port < 65536) ? (int)port : -1;
}

static int sink_start(sink *s)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(s->record, sizeof s->record, "%s/ks-webhook-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int rfd = mkstemp(s->record);
	if (rfd < 0)
		return -1;
	close(rfd);

	char script[PATH_MAX];
	sink_script(script, sizeof script);
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	char *argv[] = {"/usr/bin/python3", script, s->record, SECRET, NULL};
	int rc = posix_spawn(&s->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return -1;
	}
	s->port = sink_read_port(fds[0]);
	close(fds[0]);
	return s->port > 0 ? 0 : -1;
}

static void sink_stop(sink *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	unlink(s->record);
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", s->record);
	unlink(tmp);
}

/* The recorded request, NUL-terminated; caller frees. */
static char *sink_read(const sink *s)
{
	FILE *f = fopen(s->record, "rb");
	if (f == NULL)
		return NULL;
	char *data = calloc(1, 65536);
	if (data && fread(data, 1, 65535, f) == 0 && ferror(f)) {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

static void sink_url(const sink *s, const char *path, char *out, size_t n)
{
	snprintf(out, n, "http://127.0.0.1:%d%s", s->port, path);
}

static int group_setup(void **state)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	static sink s;
	memset(&s, 0, sizeof s);
	*state = &s;
	if (sink_start(&s) != 0) {
		fprintf(stderr, "could not start webhook_sink.py\n");
		sink_stop(&s);
		curl_global_cleanup();
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	sink_stop(*state);
	curl_global_cleanup();
	return 0;
}

/* ---- posting ------------------------------------------------------------------ */

static void test_post_ok(void **state)
{
	sink *s = *state;
	char url[128], detail[256] = "x";
	sink_url(s, "/hook", url, sizeof url);
	int status = -1;
	ks_err rc = webhook_post(url, SECRET, "response.created", BODY, TS, 10, &status,
	                         detail, sizeof detail);
	assert_int_equal(rc, KS_OK);
	assert_int_equal(status, 204);
	assert_string_equal(detail, "");

	char *rec = sink_read(s);
	assert_non_null(rec);
	assert_non_null(strstr(rec, "path=/hook\n"));
	assert_non_null(strstr(rec, "verified=1\n"));  /* Python's hmac agrees */
	assert_non_null(strstr(rec, "\nContent-Type: application/json\n"));
	assert_non_null(strstr(rec, "\nX-Klantstem-Event: response.created\n"));
	assert_non_null(strstr(rec, "\nX-Klantstem-Timestamp: 1700000000\n"));
	assert_non_null(strstr(rec, "\nX-Klantstem-Signature: sha256="
	                            "1a929c9086699b6b5796f5bcb1b1aabe46a13b65204a137ffb6e3662c016e06e\n"));
	assert_null(strstr(rec, "\nExpect:"));
	const char *body = strstr(rec, "\n\n");
	assert_non_null(body);
	assert_string_equal(body + 2, BODY);
	free(rec);
}

/* A body past curl's 1 KiB "Expect: 100-continue" threshold goes in one go. */
static void test_post_larger_body(void **state)
{
	sink *s = *state;
	char url[128];
	sink_url(s, "/big", url, sizeof url);
	size_t n = 20000;
	char *body = malloc(n + 1);
	assert_non_null(body);
	memset(body, ' ', n);
	body[0] = '{';
	body[n - 1] = '}';
	body[n] = '\0';
	int status = 0;
	assert_int_equal(webhook_post(url, SECRET, "bulk", body, TS, 10, &status, NULL, 0), KS_OK);
	assert_int_equal(status, 204);
	char *rec = sink_read(s);
	assert_non_null(rec);
	assert_non_null(strstr(rec, "path=/big\n"));
	assert_non_null(strstr(rec, "verified=1\n"));
	assert_non_null(strstr(rec, "\nContent-Length: 20000\n"));
	free(rec);
	free(body);
}

static void test_post_fail_status(void **state)
{
	sink *s = *state;
	char url[128], detail[256] = "";
	sink_url(s, "/fail", url, sizeof url);
	int status = 0;
	ks_err rc = webhook_post(url, SECRET, "response.created", BODY, TS, 10, &status,
	                         detail, sizeof detail);
	assert_int_equal(rc, KS_ERR_IO);
	assert_int_equal(status, 500);
	assert_non_null(strstr(detail, "500"));
	assert_null(strstr(detail, SECRET));
}

/* Nothing listens on a port that is bound but not listening: refused. */
static void test_post_closed_port(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t alen = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	char url[128], detail[256] = "";
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", ntohs(a.sin_port));
	int status = -1;
	ks_err rc = webhook_post(url, SECRET, "response.created", BODY, TS, 10, &status,
	                         detail, sizeof detail);
	close(fd);
	assert_int_equal(rc, KS_ERR_IO);
	assert_int_equal(status, 0);
	assert_true(detail[0] != '\0');
}

static void test_post_timeout(void **state)
{
	sink *s = *state;
	char url[128], detail[256] = "";
	sink_url(s, "/slow", url, sizeof url);
	int status = -1;
	int64_t t0 = (int64_t)time(NULL);
	ks_err rc = webhook_post(url, SECRET, "response.created", BODY, TS, 1, &status,
	                         detail, sizeof detail);
	assert_int_equal(rc, KS_ERR_IO);
	assert_int_equal(status, 0);
	assert_true((int64_t)time(NULL) - t0 <= 2);
	assert_true(detail[0] != '\0');
}

static void test_post_invalid(void **state)
{
	(void)state;
	char detail[256];
	int status = -1;
	const char *bad_urls[] = {"ftp://127.0.0.1/x", "file:///etc/passwd", "127.0.0.1:80/x",
	                          "", "gopher://x", "httpx://x"};
	for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
		assert_int_equal(webhook_post(bad_urls[i], SECRET, "e", BODY, TS, 5, &status, detail,
		                              sizeof detail),
		                 KS_ERR_INVALID);
		assert_int_equal(status, 0);
		assert_true(detail[0] != '\0');
	}
	const char *u = "http://127.0.0.1:9/x";
	assert_int_equal(webhook_post(u, "", "e", BODY, TS, 5, &status, NULL, 0), KS_ERR_INVALID);
	assert_int_equal(webhook_post(u, SECRET, "", BODY, TS, 5, &status, NULL, 0), KS_ERR_INVALID);
	assert_int_equal(webhook_post(u, SECRET, "a b", BODY, TS, 5, &status, NULL, 0), KS_ERR_INVALID);
	assert_int_equal(webhook_post(u, SECRET, "a\r\nX-Evil: 1", BODY, TS, 5, &status, NULL, 0),
	                 KS_ERR_INVALID);
	assert_int_equal(webhook_post(u, SECRET, "e", BODY, TS, 0, &status, NULL, 0), KS_ERR_INVALID);
	assert_int_equal(webhook_post(u, SECRET, "e", NULL, TS, 5, &status, NULL, 0), KS_ERR_INVALID);
	assert_int_equal(webhook_post(NULL, SECRET, "e", BODY, TS, 5, NULL, NULL, 0), KS_ERR_INVALID);
	/* Malformed after the scheme: libcurl refuses, still no I/O. */
	assert_int_equal(webhook_post("http://exa mple.org/", SECRET, "e", BODY, TS, 5, &status,
	                              detail, sizeof detail),
	                 KS_ERR_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231_case2),
		cmocka_unit_test(test_hmac_rfc4231_cases_1_6),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_post_ok),
		cmocka_unit_test(test_post_larger_body),
		cmocka_unit_test(test_post_fail_status),
		cmocka_unit_test(test_post_closed_port),
		cmocka_unit_test(test_post_timeout),
		cmocka_unit_test(test_post_invalid),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
