/* test_text_sentiment.c — src/text: tokens, compounds, lexicon sentiment
 * (negation, intensifiers, excess, contrast) per language.
 *
 * Expected scores follow the rules in src/text/sentiment.c and the
 * valences of src/text/lexicon.c, worked out by hand here:
 *   slecht -3, tevreden 2, traag -2, vriendelijk 2, bad -2 (all /3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text/text_int.h"

typedef struct fx {
	text_ctx *ctx;
	text_worker *w;
} fx;

static int setup(void **state)
{
	static fx f;
	ks_error err = { 0 };
	if (text_ctx_new(&f.ctx, NULL, &err) != KS_OK || text_worker_new(f.ctx, &f.w, &err) != KS_OK)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	text_worker_free(f->w);
	text_ctx_free(f->ctx);
	return 0;
}

static text_result run(void **state, const char *s, text_lang lang)
{
	fx *f = *state;
	text_result r;
	ks_error err = { 0 };
	assert_int_equal(text_analyze(f->w, s, strlen(s), lang, true, &r, &err), KS_OK);
	return r;
}

#define EPS 1e-9

static void test_plain_words(void **state)
{
	text_result r = run(state, "Goed", TEXT_LANG_NL);
	assert_float_equal(r.score, 2.0 / 3, EPS);
	assert_int_equal(r.label, TEXT_POSITIVE);
	text_result_free(&r);
	r = run(state, "slechte service", TEXT_LANG_NL); /* "slechte" is stemmed to "slecht" */
	assert_float_equal(r.score, -1.0, EPS);
	assert_int_equal(r.label, TEXT_NEGATIVE);
	text_result_free(&r);
	r = run(state, "De factuur kwam op dinsdag", TEXT_LANG_NL);
	assert_float_equal(r.score, 0.0, EPS);
	assert_int_equal(r.label, TEXT_NEUTRAL);
	assert_false(r.from_model);
	text_result_free(&r);
}

static void test_negation_nl(void **state)
{
	/* negated negative: -0.5 * -1 */
	text_result r = run(state, "niet slecht", TEXT_LANG_NL);
	assert_float_equal(r.score, 0.5, EPS);
	assert_int_equal(r.label, TEXT_POSITIVE);
	text_result_free(&r);
	/* negated positive: -0.7 * 2/3 */
	r = run(state, "ik ben niet tevreden", TEXT_LANG_NL);
	assert_float_equal(r.score, -0.7 * 2 / 3, EPS);
	assert_int_equal(r.label, TEXT_NEGATIVE);
	text_result_free(&r);
	/* "helemaal" intensifies (x1.5, clamped to 1) and strengthens the
	 * negation (x1.3): -0.7 * 1 * 1.3 */
	r = run(state, "helemaal niet tevreden", TEXT_LANG_NL);
	assert_float_equal(r.score, -0.91, EPS);
	text_result_free(&r);
	/* a negation's scope is 3 tokens: the fourth is not negated */
	r = run(state, "niet omdat de monteur slecht was", TEXT_LANG_NL);
	assert_float_equal(r.score, -1.0, EPS);
	text_result_free(&r);
}

static void test_negation_en(void **state)
{
	/* bad -2/3 negated: +1/3; "at all" adds 0.3 of it: 0.4333 */
	text_result r = run(state, "not bad at all", TEXT_LANG_EN);
	assert_float_equal(r.score, 1.0 / 3 * 1.3, EPS);
	assert_int_equal(r.label, TEXT_POSITIVE);
	text_result_free(&r);
	r = run(state, "The agent wasn't helpful", TEXT_LANG_EN);
	assert_float_equal(r.score, -0.7 * 2 / 3, EPS);
	text_result_free(&r);
	r = run(state, "not bad", TEXT_LANG_EN);
	assert_float_equal(r.score, 1.0 / 3, EPS);
	text_result_free(&r);
}

static void test_intensifiers_and_excess(void **state)
{
	text_result r = run(state, "erg traag", TEXT_LANG_NL);  /* -2/3 * 1.5 */
	assert_float_equal(r.score, -1.0, EPS);
	text_result_free(&r);
	r = run(state, "een beetje traag", TEXT_LANG_NL);   /* -2/3 * 0.6 */
	assert_float_equal(r.score, -0.4, EPS);
	text_result_free(&r);
	r = run(state, "het duurde te lang", TEXT_LANG_NL); /* lang 0: excess -0.5 */
	assert_float_equal(r.score, -0.5, EPS);
	text_result_free(&r);
	r = run(state, "het duurde veel te lang", TEXT_LANG_NL); /* -0.5 * 1.5 */
	assert_float_equal(r.score, -0.75, EPS);
	text_result_free(&r);
	r = run(state, "way too slow", TEXT_LANG_EN);      /* min(-0.5, 1.5*-2/3) * 1.5, clamped */
	assert_float_equal(r.score, -1.0, EPS);
	text_result_free(&r);
	r = run(state, "very friendly", TEXT_LANG_EN);
	assert_float_equal(r.score, 1.0, EPS);
	text_result_free(&r);
	/* "vreselijk" is negative alone, an intensifier before a sentiment word */
	r = run(state, "vreselijk", TEXT_LANG_NL);
	assert_float_equal(r.score, -1.0, EPS);
	text_result_free(&r);
	r = run(state, "vreselijk vriendelijk", TEXT_LANG_NL);
	assert_float_equal(r.score, 1.0, EPS);
	text_result_free(&r);
}

static void test_contrast(void **state)
{
	/* clause before "maar" weighs 0.5, after 2:
	 * (0.5 * 2/3 + 2 * -0.75) / 2.5 */
	text_result r = run(state, "vriendelijk, maar het duurde veel te lang", TEXT_LANG_NL);
	assert_float_equal(r.score, (0.5 * 2 / 3 + 2 * -0.75) / 2.5, EPS);
	assert_int_equal(r.label, TEXT_NEGATIVE);
	text_result_free(&r);
	r = run(state, "slow, but very friendly", TEXT_LANG_EN);
	assert_float_equal(r.score, (0.5 * -2.0 / 3 + 2 * 1.0) / 2.5, EPS);
	assert_int_equal(r.label, TEXT_POSITIVE);
	text_result_free(&r);
	/* without a contrast both clauses weigh 1 */
	r = run(state, "vriendelijk. traag.", TEXT_LANG_NL);
	assert_float_equal(r.score, 0.0, EPS);
	assert_int_equal(r.label, TEXT_NEUTRAL);
	text_result_free(&r);
}

static void stems_are(void **state, const char *s, int li, int n, const char *const *want,
                      int parts)
{
	fx *f = *state;
	ks_error err = { 0 };
	assert_int_equal(text_tokenise(f->w, s, strlen(s), li, &err), KS_OK);
	if (f->w->n_toks != n)
		print_message("%s: %d tokens, first stem %s\n", s, f->w->n_toks, f->w->n_toks ? tok_stem(f->w, &f->w->toks[0]) : "");
	assert_int_equal(f->w->n_toks, n);
	int got_parts = 0;
	for (int i = 0; i < n; i++) {
		assert_string_equal(tok_stem(f->w, &f->w->toks[i]), want[i]);
		got_parts += (f->w->toks[i].flags & TOK_PART) != 0;
	}
	assert_int_equal(got_parts, parts);
}

static void test_tokens_and_compounds(void **state)
{
	/* case folding, accents stripped (then Snowball: cafe -> caf), a typographic
	 * apostrophe inside a word */
	stems_are(state, "ÉÉN Café", TEXT_NL, 2, (const char *const[]){ "een", "caf" }, 0);
	stems_are(state, "Don’t", TEXT_EN, 1, (const char *const[]){ "don't" }, 0);
	/* compounds: longest known head + known tail, linking -en- / -s- */
	stems_are(state, "wachttijd", TEXT_NL, 2, (const char *const[]){ "wacht", "tijd" }, 2);
	stems_are(state, "klantenservice", TEXT_NL, 2, (const char *const[]){ "klant", "servic" }, 2);
	stems_are(state, "betalingstermijn", TEXT_NL, 2,
	          (const char *const[]){ "betal", "termijn" }, 2);
	/* a known word is not split; an unknown tail keeps the word whole */
	stems_are(state, "vriendelijk", TEXT_NL, 1, (const char *const[]){ "vriendelijk" }, 0);
	stems_are(state, "klantzxqv", TEXT_NL, 1, (const char *const[]){ "klantzxqv" }, 0);
	/* English is not split; participle prefix ge- is dropped when known */
	stems_are(state, "waitingroom", TEXT_EN, 1, (const char *const[]){ "waitingroom" }, 0);
	stems_are(state, "gewacht", TEXT_NL, 1, (const char *const[]){ "wacht" }, 0);
	/* a compound's parts carry sentiment: klant + vriendelijk */
	text_result r = run(state, "klantvriendelijk", TEXT_LANG_NL);
	assert_float_equal(r.score, 2.0 / 3, EPS);
	text_result_free(&r);
}

static void test_invalid_utf8_and_empty(void **state)
{
	text_result r = run(state, "goed\xff\xfe", TEXT_LANG_NL);
	assert_float_equal(r.score, 2.0 / 3, EPS);
	assert_int_equal(r.n_tokens, 1);
	text_result_free(&r);
	r = run(state, "", TEXT_LANG_NL);
	assert_int_equal(r.n_tokens, 0);
	assert_int_equal(r.label, TEXT_NEUTRAL);
	assert_int_equal(r.n_themes, 0);
	text_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_words),
		cmocka_unit_test(test_negation_nl),
		cmocka_unit_test(test_negation_en),
		cmocka_unit_test(test_intensifiers_and_excess),
		cmocka_unit_test(test_contrast),
		cmocka_unit_test(test_tokens_and_compounds),
		cmocka_unit_test(test_invalid_utf8_and_empty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
