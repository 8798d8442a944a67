/* test_text_lang.c — src/text/lang.c: nl / en / other from n-grams, with
 * the customer's stated language as a prior that decides short texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text/text.h"

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

static void expect(void **state, const char *s, text_lang prior, text_lang lang,
                   text_lang_source src)
{
	fx *f = *state;
	text_result r;
	ks_error err = { 0 };
	assert_int_equal(text_analyze(f->w, s, strlen(s), prior, false, &r, &err), KS_OK);
	if (r.lang != lang || r.lang_source != src)
		print_message("'%s': %s from %s\n", s, text_lang_name(r.lang),
		              text_lang_source_name(r.lang_source));
	assert_int_equal(r.lang, lang);
	assert_int_equal(r.lang_source, src);
	text_result_free(&r);
}

static void test_long_texts_by_ngrams(void **state)
{
	/* few function words: the n-grams decide */
	expect(state, "Monteur kwam keurig volgens planning, installatie afgerond zonder problemen.",
	       TEXT_LANG_AUTO, TEXT_LANG_NL, TEXT_LANG_FROM_NGRAMS);
	expect(state, "Engineer arrived punctually, installation completed without problems.",
	       TEXT_LANG_AUTO, TEXT_LANG_EN, TEXT_LANG_FROM_NGRAMS);
	/* the prior does not overrule a clear long text */
	expect(state, "Monteur kwam keurig volgens planning, installatie afgerond zonder problemen.",
	       TEXT_LANG_EN, TEXT_LANG_NL, TEXT_LANG_FROM_NGRAMS);
	expect(state, "Engineer arrived punctually, installation completed without problems.",
	       TEXT_LANG_NL, TEXT_LANG_EN, TEXT_LANG_FROM_NGRAMS);
	expect(state, "Der Techniker kam pünktlich und hat nach der Installation alles aufgeräumt.",
	       TEXT_LANG_AUTO, TEXT_LANG_OTHER, TEXT_LANG_FROM_NGRAMS);
	expect(state, "Le technicien est arrivé à l'heure et a tout rangé après l'installation.",
	       TEXT_LANG_NL, TEXT_LANG_OTHER, TEXT_LANG_FROM_NGRAMS);
	/* nearer English by n-grams; heel, prettig (nl) against service (en) */
	expect(state, "Top service! Heel prettig contact.", TEXT_LANG_AUTO, TEXT_LANG_EN,
	       TEXT_LANG_FROM_NGRAMS);
	expect(state, "Top service! Heel prettig contact.", TEXT_LANG_NL, TEXT_LANG_NL,
	       TEXT_LANG_FROM_PRIOR);
}

static void test_long_texts_by_words(void **state)
{
	/* 6 of 13 words known only in Dutch (de, op, en, heeft, netjes, de) */
	expect(state, "De monteur kwam op tijd en heeft alles netjes opgeruimd na de installatie.",
	       TEXT_LANG_EN, TEXT_LANG_NL, TEXT_LANG_FROM_WORDS);
	/* the, on, and, it, thanks, for, the: 7 of 13 ("was" is Dutch too) */
	expect(state, "The engineer was on time and it was fixed, thanks for the help.",
	       TEXT_LANG_NL, TEXT_LANG_EN, TEXT_LANG_FROM_WORDS);
}

static void test_short_texts_follow_the_prior(void **state)
{
	/* "Top!" and "ok" are words of both languages: the prior decides */
	expect(state, "Top!", TEXT_LANG_EN, TEXT_LANG_EN, TEXT_LANG_FROM_PRIOR);
	expect(state, "Top!", TEXT_LANG_NL, TEXT_LANG_NL, TEXT_LANG_FROM_PRIOR);
	expect(state, "ok", TEXT_LANG_EN, TEXT_LANG_EN, TEXT_LANG_FROM_PRIOR);
	/* no prior, no telling words: nl by default */
	expect(state, "Top!", TEXT_LANG_AUTO, TEXT_LANG_NL, TEXT_LANG_FROM_DEFAULT);
	expect(state, "ok", TEXT_LANG_AUTO, TEXT_LANG_NL, TEXT_LANG_FROM_DEFAULT);
	/* one word of the other language does not overrule the prior */
	expect(state, "Prima", TEXT_LANG_EN, TEXT_LANG_EN, TEXT_LANG_FROM_PRIOR);
	/* two words known only in the other language, none in the prior's */
	expect(state, "Prima geholpen", TEXT_LANG_EN, TEXT_LANG_NL, TEXT_LANG_FROM_WORDS);
	expect(state, "Thanks, great job", TEXT_LANG_NL, TEXT_LANG_EN, TEXT_LANG_FROM_WORDS);
	/* no prior: known words decide */
	expect(state, "Heel erg bedankt", TEXT_LANG_AUTO, TEXT_LANG_NL, TEXT_LANG_FROM_WORDS);
	expect(state, "very helpful", TEXT_LANG_AUTO, TEXT_LANG_EN, TEXT_LANG_FROM_WORDS);
}

static void test_forced_language(void **state)
{
	fx *f = *state;
	text_result r;
	ks_error err = { 0 };
	const char *s = "The engineer arrived on time and cleaned everything up.";
	assert_int_equal(text_analyze(f->w, s, strlen(s), TEXT_LANG_NL, true, &r, &err), KS_OK);
	assert_int_equal(r.lang, TEXT_LANG_NL);
	assert_int_equal(r.lang_source, TEXT_LANG_FROM_PRIOR);
	text_result_free(&r);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(text_lang_name(TEXT_LANG_NL), "nl");
	assert_string_equal(text_lang_name(TEXT_LANG_EN), "en");
	assert_string_equal(text_lang_name(TEXT_LANG_OTHER), "other");
	assert_string_equal(text_label_name(TEXT_NEGATIVE), "negative");
	assert_int_equal(text_label_from_nps(6), TEXT_NEGATIVE);
	assert_int_equal(text_label_from_nps(7), TEXT_NEUTRAL);
	assert_int_equal(text_label_from_nps(8), TEXT_NEUTRAL);
	assert_int_equal(text_label_from_nps(9), TEXT_POSITIVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_texts_by_ngrams),
		cmocka_unit_test(test_long_texts_by_words),
		cmocka_unit_test(test_short_texts_follow_the_prior),
		cmocka_unit_test(test_forced_language),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
