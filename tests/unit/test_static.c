/* test_static.c — which URL paths may become files of the web root
 * (src/http/static.c): the path rules, the reserved prefixes, the types,
 * and resolution on a real folder with symlinks pointing in and out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"

/* ---- path rules ------------------------------------------------------------ */

static void test_path_ok(void **state)
{
	(void)state;
	const char *good[] = {"/", "/index.html", "/app.js", "/css/app.css", "/vendor/echarts.esm.min.js",
			      "/img/logo.svg", "/a-b_c.d/e.json", "/caf\xc3\xa9.png"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!http_static_path_ok(good[i]))
			fail_msg("should be accepted: %s", good[i]);
	}
	const char *bad[] = {"",
			     "index.html",          /* not rooted */
			     "/../etc/passwd",      /* parent */
			     "/css/../../x.css",
			     "/a/..",
			     "/..",
			     "/a..b.js",            /* any ".." is refused, even inside a name */
			     "//etc/passwd",        /* empty segment */
			     "/css//app.css",
			     "/a\\..\\b.js",        /* backslash */
			     "/a\tb.js",            /* control byte */
			     "/a\x7f.js",
			     "/.git/config",        /* hidden segments */
			     "/.env",
			     "/css/.hidden.css",
			     "/node_modules/echarts/dist/echarts.esm.min.js",
			     "/x/node_modules/y.js"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (http_static_path_ok(bad[i]))
			fail_msg("should be refused: %s", bad[i]);
	}
	assert_false(http_static_path_ok(NULL));
	char longp[600];
	memset(longp, 'a', sizeof longp - 1);
	longp[0] = '/';
	longp[sizeof longp - 1] = '\0';
	assert_false(http_static_path_ok(longp));
	/* NUL: a C string ends there, so "/index.html\0../x" is "/index.html";
	 * the bytes after it never reach the check (nor the file system). */
	const char with_nul[] = "/a.js\0/../../etc/passwd";
	assert_true(http_static_path_ok(with_nul));
}

static void test_reserved(void **state)
{
	(void)state;
	const char *yes[] = {"/api", "/api/", "/api/v1/metrics", "/api/v1/nope.js", "/s", "/s/TOKEN",
			     "/u/TOKEN", "/healthz", "/healthz/x"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (!http_static_reserved(yes[i]))
			fail_msg("should be reserved: %s", yes[i]);
	}
	const char *no[] = {"/", "/index.html", "/apix.js", "/styles.css", "/ux.js", "/healthz.html",
			    "/app/team/3"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		if (http_static_reserved(no[i]))
			fail_msg("should not be reserved: %s", no[i]);
	}
}

static void test_types(void **state)
{
	(void)state;
	assert_string_equal(http_static_type("/index.html"), "text/html; charset=utf-8");
	assert_string_equal(http_static_type("/a/app.js"), "text/javascript; charset=utf-8");
	assert_string_equal(http_static_type("/a/app.mjs"), "text/javascript; charset=utf-8");
	assert_string_equal(http_static_type("/a.CSS"), "text/css; charset=utf-8");
	assert_string_equal(http_static_type("/i.svg"), "image/svg+xml");
	assert_string_equal(http_static_type("/i.png"), "image/png");
	assert_string_equal(http_static_type("/d.json"), "application/json");
	assert_string_equal(http_static_type("/f.woff2"), "font/woff2");
	assert_string_equal(http_static_type("/favicon.ico"), "image/x-icon");
	assert_null(http_static_type("/README.md"));
	assert_null(http_static_type("/key.pem"));
	assert_null(http_static_type("/app"));
	assert_null(http_static_type("/dir.js/file"));   /* the dot is in a folder name */
	assert_null(http_static_type("/x."));
	assert_null(http_static_type("/a.js.map"));
}

/* ---- resolution on a real folder -------------------------------------------------- */

typedef struct fixture {
	char base[256];   /* a temporary folder holding root/ and outside/ */
	char root[300];
	http_static *st;
} fixture;

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[600];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	fixture *fx = calloc(1, sizeof *fx);
	snprintf(fx->base, sizeof fx->base, "%s/ks-static-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(fx->base) == NULL)
		return -1;
	char p[600], q[600];
	snprintf(fx->root, sizeof fx->root, "%s/root", fx->base);
	mkdir(fx->root, 0755);
	snprintf(p, sizeof p, "%s/outside", fx->base);
	mkdir(p, 0755);
	put_file(p, "secret.js", "secret");
	put_file(fx->base, "passwd.txt", "root:x:0:0");
	put_file(fx->root, "index.html", "<!doctype html>");
	put_file(fx->root, "app.js", "export {}");
	put_file(fx->root, "notes.md", "# not served");
	snprintf(p, sizeof p, "%s/css", fx->root);
	mkdir(p, 0755);
	put_file(p, "app.css", "body{}");
	snprintf(p, sizeof p, "%s/dir.js", fx->root);
	mkdir(p, 0755);   /* a folder with a served extension */
	/* symlinks: one inside the root (fine), three pointing out */
	snprintf(p, sizeof p, "%s/app.js", fx->root);
	snprintf(q, sizeof q, "%s/alias.js", fx->root);
	if (symlink(p, q) != 0)
		return -1;
	snprintf(p, sizeof p, "%s/outside/secret.js", fx->base);
	snprintf(q, sizeof q, "%s/escape.js", fx->root);
	if (symlink(p, q) != 0)
		return -1;
	snprintf(p, sizeof p, "%s/outside", fx->base);
	snprintf(q, sizeof q, "%s/linkdir", fx->root);
	if (symlink(p, q) != 0)
		return -1;
	snprintf(p, sizeof p, "%s/notes.md", fx->root);
	snprintf(q, sizeof q, "%s/renamed.js", fx->root);   /* a .js name for a .md file */
	if (symlink(p, q) != 0)
		return -1;
	/* the root given with a trailing slash and a detour still works */
	snprintf(p, sizeof p, "%s/outside/../root/", fx->base);
	if (http_static_open(p, &fx->st, NULL) != KS_OK)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture *fx = *state;
	http_static_free(fx->st);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->base);
	int rc = system(cmd);
	free(fx);
	return rc == 0 ? 0 : -1;
}

static void expect_file(fixture *fx, const char *url, const char *rel)
{
	char out[4096], want[4200];
	ks_err err = http_static_resolve(fx->st, url, out, sizeof out);
	if (err != KS_OK)
		fail_msg("%s should resolve (got %d)", url, err);
	char real_root[4096];
	assert_non_null(realpath(fx->root, real_root));
	snprintf(want, sizeof want, "%s/%s", real_root, rel);
	assert_string_equal(out, want);
}

static void expect_none(fixture *fx, const char *url)
{
	char out[4096];
	if (http_static_resolve(fx->st, url, out, sizeof out) != KS_ERR_NOTFOUND)
		fail_msg("%s should not resolve (got %s)", url, out);
}

static void test_resolve(void **state)
{
	fixture *fx = *state;
	char real_root[4096];
	assert_non_null(realpath(fx->root, real_root));
	assert_string_equal(http_static_root(fx->st), real_root);
	expect_file(fx, "/", "index.html");
	expect_file(fx, "/index.html", "index.html");
	expect_file(fx, "/app.js", "app.js");
	expect_file(fx, "/css/app.css", "css/app.css");
	expect_file(fx, "/alias.js", "app.js");        /* a symlink that stays inside */
	expect_none(fx, "/escape.js");                 /* a symlink to a file outside */
	expect_none(fx, "/linkdir/secret.js");         /* through a symlinked folder */
	expect_none(fx, "/renamed.js");                /* target's own type is not served */
	expect_none(fx, "/notes.md");                  /* unknown type */
	expect_none(fx, "/dir.js");                    /* a folder */
	expect_none(fx, "/css");
	expect_none(fx, "/css/");
	expect_none(fx, "/missing.js");
	expect_none(fx, "/../passwd.txt");
	expect_none(fx, "/css/../../passwd.txt");
	expect_none(fx, "//passwd.txt");
	expect_none(fx, "/api/v1/app.js");             /* reserved even if the file existed */
	expect_none(fx, "index.html");
	/* too small an output buffer is a refusal, not a truncation */
	char tiny[8];
	assert_int_equal(http_static_resolve(fx->st, "/index.html", tiny, sizeof tiny), KS_ERR_NOTFOUND);
}

static void test_open(void **state)
{
	(void)state;
	http_static *st = NULL;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(http_static_open("/nonexistent/ks-web-root", &st, &e), KS_ERR_NOTFOUND);
	assert_null(st);
	assert_int_equal(http_static_open("/etc/hostname", &st, &e), KS_ERR_NOTFOUND);  /* a file */
	assert_int_equal(http_static_open(NULL, &st, &e), KS_ERR_NOTFOUND);
	assert_int_equal(http_static_open("/", &st, &e), KS_OK);
	/* "/" as root: the prefix test must still work */
	char out[4096];
	assert_int_equal(http_static_resolve(st, "/etc/hostname", out, sizeof out), KS_ERR_NOTFOUND); /* no type */
	http_static_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_ok),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_types),
		cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
		cmocka_unit_test(test_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
