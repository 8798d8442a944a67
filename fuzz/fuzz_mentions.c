/* fuzz_mentions.c — the mention parsers (issue 16 H1, src/mentions): the
 * generic CSV and JSON layouts, Trustpilot, Google, Kiyoh (libxml2), App
 * Store and social exports, through mentions_parse on any bytes.
 *
 * Input: byte 0 picks the format (modulo 7), the rest is the document.
 * Oracles: a refusal is a client error (invalid, out of range, bad JSON, too
 * big) with a message; an accepted batch holds records as mentions.h
 * promises (source [a-z0-9_.-]{1,32}, source id 1..200 bytes, created_at
 * set, updated_at not before it, a text or a rating, the rating inside its
 * scale and rating10 in 0..10, (source, source_id) unique, every string
 * UTF-8 without NUL); mentions_format_guess names a known format; and the
 * records written back in the generic JSON layout parse to the same records.
 */
#include <math.h>

#include <jansson.h>

#include "core/clock.h"
#include "fuzz_util.h"
#include "mentions/mentions.h"

static const char *const fz_formats[] = {"generic-csv", "generic-json", "trustpilot", "google",
					  "kiyoh",       "appstore",     "social"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* Absent, or non-empty UTF-8 (jansson refuses what is not). */
static bool fz_str_ok(const char *s)
{
	if (s == NULL)
		return true;
	json_t *j = json_string(s);
	bool ok = j != NULL && s[0] != '\0';
	json_decref(j);
	return ok;
}

static void fz_check_record(const mention_in *m)
{
	const char *strs[] = {m->source, m->source_id, m->location, m->author, m->title, m->text,
			      m->url, m->language, m->customer_external_id, m->reply_text};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		if (!fz_str_ok(strs[i]))
			fz_fail("string %zu is empty or not UTF-8", i);
	size_t n = m->source ? strlen(m->source) : 0;
	if (n < 1 || n > 32 || strspn(m->source, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
		fz_fail("source '%s' outside [a-z0-9_.-]{1,32}", m->source ? m->source : "(null)");
	if (m->source_id == NULL || strlen(m->source_id) > 200)
		fz_fail("source_id missing or longer than 200");
	if (m->created_at <= 0 || m->updated_at < m->created_at)
		fz_fail("times: created %lld, updated %lld", (long long)m->created_at, (long long)m->updated_at);
	if (m->text == NULL && !m->has_rating)
		fz_fail("neither text nor rating");
	if (m->has_rating &&
	    (!(m->scale_min < m->scale_max) || m->rating < m->scale_min || m->rating > m->scale_max ||
	     !(m->rating10 >= 0 && m->rating10 <= 10)))
		fz_fail("rating %g outside %g..%g or rating10 %g", m->rating, m->scale_min, m->scale_max, m->rating10);
}

static void fz_check_unique(const mentions_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		for (size_t j = i + 1; j < b->n && j < i + 200; j++)
			if (strcmp(b->items[i].source, b->items[j].source) == 0 &&
			    strcmp(b->items[i].source_id, b->items[j].source_id) == 0)
				fz_fail("(source, source_id) twice after dedupe");
}

static void fz_set(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

/* The record in the generic JSON layout. */
static json_t *fz_generic(const mention_in *m)
{
	char t[32];
	json_t *o = json_object();
	fz_set(o, "source", m->source);
	fz_set(o, "source_id", m->source_id);
	fz_set(o, "location", m->location);
	fz_set(o, "author", m->author);
	fz_set(o, "title", m->title);
	fz_set(o, "text", m->text);
	fz_set(o, "url", m->url);
	fz_set(o, "language", m->language);
	fz_set(o, "customer_external_id", m->customer_external_id);
	clock_format_iso(m->created_at, t, sizeof t);
	json_object_set_new(o, "created_at", json_string(t));
	clock_format_iso(m->updated_at, t, sizeof t);
	json_object_set_new(o, "updated_at", json_string(t));
	if (m->has_rating) {
		json_object_set_new(o, "rating", json_real(m->rating));
		json_object_set_new(o, "scale_min", json_real(m->scale_min));
		json_object_set_new(o, "scale_max", json_real(m->scale_max));
	}
	return o;
}

static bool fz_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void fz_roundtrip(const mentions_batch *b)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < b->n; i++)
		json_array_append_new(arr, fz_generic(&b->items[i]));
	mentions_batch c;
	ks_error e;
	ks_error_clear(&e);
	if (mentions_from_json("generic-json", arr, &c, &e) != KS_OK)
		fz_fail("the records written back are refused: %s", e.message);
	if (c.n != b->n)
		fz_fail("written back: %zu records, read %zu", b->n, c.n);
	for (size_t i = 0; i < b->n; i++) {
		const mention_in *x = &b->items[i], *y = &c.items[i];
		if (!fz_same(x->source, y->source) || !fz_same(x->source_id, y->source_id) ||
		    !fz_same(x->text, y->text) || !fz_same(x->title, y->title) || !fz_same(x->author, y->author) ||
		    !fz_same(x->url, y->url) || !fz_same(x->location, y->location) ||
		    !fz_same(x->language, y->language) || !fz_same(x->customer_external_id, y->customer_external_id) ||
		    x->created_at != y->created_at || x->updated_at != y->updated_at ||
		    x->has_rating != y->has_rating || (x->has_rating && x->rating10 != y->rating10))
			fz_fail("record %zu differs after writing it back", i);
	}
	mentions_batch_free(&c);
	json_decref(arr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *format = fz_formats[data[0] % 7];
	const char *doc = (const char *)data + 1;
	size_t len = size - 1;
	const char *guess = mentions_format_guess(doc, len);
	if (!mentions_format_known(guess))
		fz_fail("guessed an unknown format '%s'", guess);
	mentions_batch b;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = mentions_parse(format, doc, len, &b, &e);
	if (err) {
		if (err != KS_ERR_INVALID && err != KS_ERR_RANGE && err != KS_ERR_BADJSON && err != KS_ERR_TOOBIG)
			fz_fail("refused as %s: %s", ks_strerror(err), e.message);
		if (e.message[0] == '\0')
			fz_fail("refused without a message");
	} else {
		for (size_t i = 0; i < b.n; i++)
			fz_check_record(&b.items[i]);
		fz_check_unique(&b);
		fz_roundtrip(&b);
	}
	mentions_batch_free(&b);
	return 0;
}
