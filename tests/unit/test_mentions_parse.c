/* test_mentions_parse.c — the mention parsers (issue 16 H1, src/mentions):
 * times, the rating scales of each format, duplicates, the format guess and
 * the errors' names, with documents written here.
 *
 * Every expected time is a literal worked out by hand (2026-01-01 00:00 UTC
 * = 1767225600; a day is 86400 s; 2028 is a leap year), never recomputed
 * with the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>

#include "mentions/mentions.h"

#define JAN1 1767225600 /* 2026-01-01T00:00:00Z */

/* One generic JSON record with created_at = t; the parse's result code and
 * (on success) the time. */
static ks_err one_time(const char *t, int64_t *out)
{
	char doc[256];
	snprintf(doc, sizeof doc, "[{\"source\":\"s\",\"source_id\":\"1\",\"created_at\":\"%s\",\"text\":\"x\"}]", t);
	mentions_batch b;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = mentions_parse("generic-json", doc, strlen(doc), &b, &e);
	if (!err)
		*out = b.items[0].created_at;
	mentions_batch_free(&b);
	return err;
}

static void test_times(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int64_t want;
	} ok[] = {
		{"2026-01-01", JAN1},
		{"2026-01-01T00:00:00Z", JAN1},
		{"2026-01-01T01:00:00+01:00", JAN1},
		{"2026-01-01T01:00+0100", JAN1},
		{"2025-12-31T19:00:00-05:00", JAN1},
		{"2026-01-01T00:00:00.999999999Z", JAN1},
		{"2026-01-01 00:00:00 UTC", JAN1},
		{"1767225600", JAN1},
		{"1767225600123", JAN1},
		{"2028-02-29T12:00:00Z", JAN1 + (365 + 365 + 31 + 28) * 86400LL + 12 * 3600},
		{"2026-03-01T10:00:00+01:00", JAN1 + (31 + 28) * 86400LL + 9 * 3600},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t t = 0;
		assert_int_equal(one_time(ok[i].in, &t), KS_OK);
		assert_int_equal(t, ok[i].want);
	}
	static const char *const bad[] = {"2026-02-29", "2026-13-01", "2026-01-32", "01-01-2026", "20260101",
					  "2026-01-01T24:00:00Z", "2026-01-01T10:00:00+25:00", "2026-01-01T10",
					  "gisteren", "1969-12-31", "2101-01-01", "2026-01-01T10:00:00 CET",
					  "2026-01-01T10:00:00+05:", "2026-01-01T10:00:00+05:0", "2026-01-01T10:00+01:00:"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t t = 0;
		assert_int_equal(one_time(bad[i], &t), KS_ERR_INVALID);
	}
}

/* The first record's rating10 of doc in format. */
static double rating10(const char *format, const char *doc)
{
	mentions_batch b;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(mentions_parse(format, doc, strlen(doc), &b, &e), KS_OK);
	assert_true(b.n >= 1 && b.items[0].has_rating);
	double r = b.items[0].rating10;
	mentions_batch_free(&b);
	return r;
}

static void test_scales(void **state)
{
	(void)state;
	assert_float_equal(rating10("trustpilot", "{\"reviews\":[{\"id\":\"a\",\"stars\":4,\"text\":\"x\","
						"\"createdAt\":\"2026-01-01T00:00:00Z\"}]}"), 7.5, 1e-12);
	assert_float_equal(rating10("google", "{\"reviews\":[{\"reviewId\":\"a\",\"starRating\":\"TWO\","
					    "\"createTime\":\"2026-01-01T00:00:00Z\"}]}"), 2.5, 1e-12);
	assert_float_equal(rating10("appstore", "{\"data\":[{\"id\":\"a\",\"attributes\":{\"rating\":1,"
					      "\"createdDate\":\"2026-01-01T00:00:00Z\"}}]}"), 0.0, 1e-12);
	assert_float_equal(rating10("kiyoh", "<f><reviews><reviewId>a</reviewId><rating>10</rating>"
					   "<dateSince>2026-01-01</dateSince></reviews></f>"), 10.0, 1e-12);
	assert_float_equal(rating10("kiyoh", "<f><r><reviewId>a</reviewId><rating>7</rating>"
					   "<dateSince>2026-01-01</dateSince></r></f>"), 60.0 / 9.0, 1e-12);
	assert_float_equal(rating10("generic-csv", "source;source_id;created_at;rating;scale_min;scale_max\n"
						 "s;1;2026-01-01;6,5;0;10\n"), 6.5, 1e-12);
	assert_float_equal(rating10("generic-json", "[{\"source\":\"s\",\"source_id\":\"1\",\"created_at\":"
						  "\"2026-01-01\",\"rating\":3}]"), 5.0, 1e-12);
}

static const char *guess(const char *doc)
{
	return mentions_format_guess(doc, strlen(doc));
}

static void test_duplicates_and_guess(void **state)
{
	(void)state;
	const char *csv = "source,source_id,created_at,text\ns,1,2026-01-01,first\ns,2,2026-01-01,other\n"
			  "S,1,2026-01-01,last\n";
	mentions_batch b;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(mentions_parse("generic-csv", csv, strlen(csv), &b, &e), KS_OK);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.duplicates, 1);
	bool seen_last = false;
	for (size_t i = 0; i < b.n; i++)
		if (strcmp(b.items[i].source_id, "1") == 0)
			seen_last = strcmp(b.items[i].text, "last") == 0 && b.items[i].where == 4;
	assert_true(seen_last);
	mentions_batch_free(&b);

	/* review H9: the newest version wins wherever it stands, a tie goes to
	 * the last: a (5 Mar, 1 Mar), b (2 Mar, 2 Mar), c (1 Mar, 4 Mar, 4 Mar) */
	const char *vers = "source,source_id,created_at,updated_at,text\n"
			   "s,a,2026-03-01,2026-03-05,a-new\ns,a,2026-03-01,2026-03-01,a-old\n"
			   "s,b,2026-03-01,2026-03-02,b-first\ns,b,2026-03-01,2026-03-02,b-last\n"
			   "s,c,2026-03-01,,c-none\ns,c,2026-03-01,2026-03-04,c-tie1\ns,c,2026-03-01,2026-03-04,c-tie2\n"
			   "s,c,2026-03-01,2026-03-02,c-older\n";
	ks_error_clear(&e);
	assert_int_equal(mentions_parse("generic-csv", vers, strlen(vers), &b, &e), KS_OK);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.duplicates, 5);
	for (size_t i = 0; i < b.n; i++) {
		const char *want = strcmp(b.items[i].source_id, "a") == 0   ? "a-new"
				   : strcmp(b.items[i].source_id, "b") == 0 ? "b-last"
									    : "c-tie2";
		assert_string_equal(b.items[i].text, want);
	}
	mentions_batch_free(&b);
	assert_string_equal(guess("  <?xml version='1.0'?><a/>"), "kiyoh");
	assert_string_equal(guess("{\"reviews\":[{\"reviewId\":\"x\"}]}"), "google");
	assert_string_equal(guess("{\"reviews\":[{\"stars\":3}]}"), "trustpilot");
	assert_string_equal(guess("{\"data\":[{\"type\":\"customerReviews\"}]}"), "appstore");
	assert_string_equal(guess("{\"posts\":[]}"), "social");
	assert_string_equal(guess("[{\"source\":\"s\"}]"), "generic-json");
	assert_string_equal(guess("\xef\xbb\xbfsource;source_id"), "generic-csv");
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *format, *doc, *field;
		ks_err code;
	} cases[] = {
		{"generic-csv", "source,source_id,created_at,text\ns,1,2026-01-01,ok\ns,2,x,no\n", "line 3: created_at",
		 KS_ERR_INVALID},
		{"generic-csv", "source,source_id,created_at,text,stars\n", "stars", KS_ERR_INVALID},
		{"generic-json", "[{\"source\":\"s\",\"source_id\":\"1\",\"created_at\":\"2026-01-01\"}]", "[0].text",
		 KS_ERR_INVALID},
		{"generic-json", "{\"source\":\"s\",\"source_id\":\"1\",\"created_at\":\"2026-01-01\",\"text\":\"a\"}\n"
				 "{\"source\":\"s\",\"source_id\":\"2\",\"created_at\":\"2026-01-01\",\"rating\":9}\n",
		 "line 2: rating", KS_ERR_RANGE},
		{"google", "{\"reviews\":[{\"reviewId\":\"a\",\"starRating\":\"SIX\",\"createTime\":\"2026-01-01\"}]}",
		 "[0].starRating", KS_ERR_INVALID},
		{"generic-csv", "source,source_id,created_at,text\ns,1,2026-01-01,caf\xe9\n", "encoding", KS_ERR_INVALID},
		{"nope", "", "format", KS_ERR_USAGE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mentions_batch b;
		ks_error e;
		ks_error_clear(&e);
		assert_int_equal(mentions_parse(cases[i].format, cases[i].doc, strlen(cases[i].doc), &b, &e),
				 cases[i].code);
		assert_string_equal(e.field, cases[i].field);
		assert_true(e.message[0] != '\0');
		mentions_batch_free(&b);
	}
}

/* Kiyoh XML (review H9): a DOCTYPE is refused where it starts — the entity
 * bomb below would otherwise be 30 MB of text (10,000 A's x 3,000); text is
 * only a field's text and CDATA children; lines past 65,535 are named right. */
static void test_kiyoh_guard(void **state)
{
	(void)state;
	enum { S = 10000, N = 3000 };
	size_t cap = S + N * 3 + 1024;
	char *doc = malloc(cap);
	assert_non_null(doc);
	size_t k = (size_t)snprintf(doc, cap, "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY a \"");
	memset(doc + k, 'A', S);
	k += S;
	k += (size_t)snprintf(doc + k, cap - k, "\">]>\n<r><review><reviewId>1</reviewId><rating>8</rating>"
			      "<dateSince>2026-01-01</dateSince><reviewContent><reviewContent><questionGroup>"
			      "DEFAULT_OPINION</questionGroup><rating>");
	for (int i = 0; i < N; i++)
		memcpy(doc + k + (size_t)i * 3, "&a;", 3);
	k += N * 3;
	k += (size_t)snprintf(doc + k, cap - k, "</rating></reviewContent></reviewContent></review></r>\n");
	mentions_batch b;
	ks_error e;
	ks_error_clear(&e);
	clock_t t0 = clock();
	assert_int_equal(mentions_parse("kiyoh", doc, k, &b, &e), KS_ERR_INVALID);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
	assert_string_equal(e.field, "data");
	assert_non_null(strstr(e.message, "line 2: the feed has a DOCTYPE"));
	assert_int_equal(b.n, 0);
	mentions_batch_free(&b);
	free(doc);

	static const char *const doctypes[] = {
		"<!DOCTYPE r>\n<r/>",
		"<?xml version=\"1.0\"?>\n\n<!DOCTYPE r SYSTEM \"file:///etc/passwd\">\n<r>&x;</r>",
		"<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://example.org/x.dtd\"> %p;]><r/>",
	};
	static const char *const lines[] = {"line 1:", "line 3:", "line 1:"};
	for (size_t i = 0; i < sizeof doctypes / sizeof doctypes[0]; i++) {
		ks_error_clear(&e);
		assert_int_equal(mentions_parse("kiyoh", doctypes[i], strlen(doctypes[i]), &b, &e), KS_ERR_INVALID);
		assert_string_equal(e.field, "data");
		assert_true(strncmp(e.message, lines[i], strlen(lines[i])) == 0);
		mentions_batch_free(&b);
	}

	/* text and CDATA children joined; a child element's text is not the field's */
	const char *mixed = "<f><r><reviewId>m</reviewId><rating>9</rating><dateSince>2026-01-01</dateSince>"
			    "<reviewContent><reviewContent><questionGroup>DEFAULT_OPINION</questionGroup>"
			    "<rating>a &amp; <![CDATA[<b>]]> c<x>niet</x> d</rating></reviewContent></reviewContent>"
			    "</r></f>";
	ks_error_clear(&e);
	assert_int_equal(mentions_parse("kiyoh", mixed, strlen(mixed), &b, &e), KS_OK);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.items[0].text, "a & <b> c d");
	mentions_batch_free(&b);

	/* a review on line 70,002 with a bad date: named by its real line */
	size_t big = 70000 + 256;
	char *tall = malloc(big);
	assert_non_null(tall);
	k = (size_t)snprintf(tall, big, "<f>\n");
	memset(tall + k, '\n', 70000);
	k += 70000;
	k += (size_t)snprintf(tall + k, big - k, "<r><reviewId>t</reviewId><rating>9</rating>"
			      "<dateSince>gisteren</dateSince></r></f>\n");
	ks_error_clear(&e);
	assert_int_equal(mentions_parse("kiyoh", tall, k, &b, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "line 70002: dateSince");
	mentions_batch_free(&b);
	free(tall);
}

/* Review H9: every text field is UTF-8 when the batch is accepted — the
 * social key cuts a long platform name before its last character, not in
 * it; mentions_check refuses a value that is not UTF-8, naming it. */
static void test_utf8_fields(void **state)
{
	(void)state;
	/* a 39-byte platform name and an e-acute (2 bytes: 41 in all) */
	const char *doc = "{\"posts\":[{\"id\":\"42\",\"platform\":\"socialnetworkwithaverylongplatformnamea\u00e9\","
			  "\"text\":\"hallo\",\"time\":\"2026-03-01T10:00:00Z\"}]}";
	mentions_batch b;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(mentions_parse("social", doc, strlen(doc), &b, &e), KS_OK);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.items[0].source_id, "socialnetworkwithaverylongplatformnamea:42");
	mentions_batch_free(&b);

	static const char *const bad[] = {"caf\xe9", "\xc3", "ok \xed\xa0\x80", "\xf8\x88\x80\x80\x80"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[] = "fine", src[] = "s", sid[] = "1";
		char *val = strdup(bad[i]);
		mention_in m = {.source = src, .source_id = sid, .text = text, .created_at = JAN1};
		for (int f = 0; f < 3; f++) {
			mention_in x = m;
			const char *want = f == 0 ? "p.author" : f == 1 ? "p.text" : "p.reply_text";
			if (f == 0)
				x.author = val;
			else if (f == 1)
				x.text = val;
			else
				x.reply_text = val;
			ks_error_clear(&e);
			assert_int_equal(mentions_check(&x, "p.", &e), KS_ERR_INVALID);
			assert_string_equal(e.field, want);
		}
		free(val);
	}
	char text[] = "caf\xc3\xa9", src[] = "s", sid[] = "1";
	mention_in ok = {.source = src, .source_id = sid, .text = text, .created_at = JAN1};
	ks_error_clear(&e);
	assert_int_equal(mentions_check(&ok, "p.", &e), KS_OK);
}

static long maxrss_kb(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_maxrss;
}

/* n rows of "s,ID,2026-01-01,R" under header (rows of a rating only). */
static char *csv_rows(const char *header, size_t n, size_t *len)
{
	size_t cap = strlen(header) + n * 32 + 1;
	char *doc = malloc(cap);
	assert_non_null(doc);
	size_t k = (size_t)snprintf(doc, cap, "%s", header);
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(doc + k, cap - k, "s,%zu,2026-01-01,%zu\n", i, i % 5 + 1);
	*len = k;
	return doc;
}

/* Review H9: a generic CSV's header is checked before its rows are read (a
 * 1 MiB body of short lines under a wrong header costs no memory for them),
 * and a capped parse refuses more rows before reading them. */
static void test_csv_limits(void **state)
{
	(void)state;
	size_t len;
	char *doc = csv_rows("source,source_id,created_at,stars\n", 60000, &len); /* ~1.2 MB */
	mentions_batch b;
	ks_error e;
	ks_error_clear(&e);
	long before = maxrss_kb();
	assert_int_equal(mentions_parse("generic-csv", doc, len, &b, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "stars");
	assert_true(maxrss_kb() - before < 4096);
	mentions_batch_free(&b);
	free(doc);

	doc = csv_rows("source,source_id,created_at,rating\n", 10001, &len);
	ks_error_clear(&e);
	before = maxrss_kb();
	assert_int_equal(mentions_parse_max("generic-csv", doc, len, 10000, &b, &e), KS_ERR_TOOBIG);
	assert_string_equal(e.field, "data");
	assert_non_null(strstr(e.message, "10001 records where at most 10000"));
	assert_true(maxrss_kb() - before < 1024);
	mentions_batch_free(&b);
	ks_error_clear(&e);
	assert_int_equal(mentions_parse("generic-csv", doc, len, &b, &e), KS_OK); /* uncapped: the CLI's */
	assert_int_equal(b.n, 10001);
	mentions_batch_free(&b);
	free(doc);

	/* exactly the cap, with a quoted field holding line ends (not rows) */
	doc = csv_rows("source,source_id,created_at,rating,text\n", 0, &len);
	size_t cap = 10000 * 48 + 64;
	doc = realloc(doc, cap);
	assert_non_null(doc);
	for (int i = 0; i < 10000; i++)
		len += (size_t)snprintf(doc + len, cap - len, "s,%d,2026-01-01,3,\"a\r\nb \"\"c\"\"\n\"\n", i);
	ks_error_clear(&e);
	assert_int_equal(mentions_parse_max("generic-csv", doc, len, 10000, &b, &e), KS_OK);
	assert_int_equal(b.n, 10000);
	assert_string_equal(b.items[0].text, "a\r\nb \"c\"");
	mentions_batch_free(&b);
	free(doc);

	const char *json = "[{\"source\":\"s\",\"source_id\":\"1\",\"created_at\":\"2026-01-01\",\"rating\":1},"
			   "{\"source\":\"s\",\"source_id\":\"2\",\"created_at\":\"2026-01-01\",\"rating\":1}]";
	ks_error_clear(&e);
	assert_int_equal(mentions_parse_max("generic-json", json, strlen(json), 1, &b, &e), KS_ERR_TOOBIG);
	assert_string_equal(e.field, "data");
	mentions_batch_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_scales),
		cmocka_unit_test(test_duplicates_and_guess),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_kiyoh_guard),
		cmocka_unit_test(test_utf8_fields),
		cmocka_unit_test(test_csv_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
