/* test_text_discover.c — src/text/discover.c: phrases of the answers
 * without a theme (Dutch and English, inflected forms counted together,
 * themed answers left out), the sub-phrase rule, the most common
 * spelling, examples, and the rising test against hand-worked values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "text/discover.h"

#define EPS 1e-12

/* One theme, so that which answers are themed is plain to see. */
static const char *const tax =
	"{\"version\":1,\"themes\":["
	"{\"id\":\"waiting\",\"label\":{\"nl\":\"Wachten\",\"en\":\"Waiting\"},\"subthemes\":["
	" {\"id\":\"queue\",\"label\":{\"nl\":\"Wachtrij\",\"en\":\"Queue\"},"
	"  \"terms\":{\"nl\":[\"wachten\"],\"en\":[\"wait\"]}}]}]}";

typedef struct fx {
	text_ctx *ctx;
	text_worker *w;
} fx;

static int setup(void **state)
{
	static fx f;
	ks_error err = { 0 };
	if (text_ctx_new(&f.ctx, tax, &err) != KS_OK || text_worker_new(f.ctx, &f.w, &err) != KS_OK)
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

#define MAX_ANSWERS 64

typedef struct set {
	text_disc_answer a[MAX_ANSWERS];
	int n;
} set;

static void add(set *s, text_lang lang, const char *text)
{
	assert_true(s->n < MAX_ANSWERS);
	s->a[s->n++] = (text_disc_answer){ text, strlen(text), lang };
}

/* k answers of one distinct made-up word each: they count as answers and
 * add no phrase that reaches 3 */
static void filler(set *s, text_lang lang, int k)
{
	static char words[MAX_ANSWERS][16];
	static int used;
	for (int i = 0; i < k; i++) {
		assert_true(used < MAX_ANSWERS);
		snprintf(words[used], sizeof words[used], "qx%cz%c", 'a' + used % 26, 'a' + used / 26);
		add(s, lang, words[used++]);
	}
}

static text_disc_result run(void **state, const set *cur, const set *prev, const text_disc_opts *o)
{
	fx *f = *state;
	text_disc_result r;
	ks_error err = { 0 };
	assert_int_equal(text_discover(f->w, cur->a, cur->n, prev ? prev->a : NULL, prev ? prev->n : 0, o,
	                               &r, &err), KS_OK);
	return r;
}

static void expect(const text_disc_phrase *p, const char *phrase, const char *stems, text_lang lang,
                   int n, int n_previous)
{
	assert_string_equal(p->phrase, phrase);
	assert_string_equal(p->stems, stems);
	assert_int_equal(p->lang, lang);
	assert_int_equal(p->n, n);
	assert_int_equal(p->n_previous, n_previous);
}

static void test_dutch_inflections_and_themed_answers(void **state)
{
	set cur = { 0 };
	add(&cur, TEXT_LANG_NL, "De toiletten waren smerig.");
	add(&cur, TEXT_LANG_NL, "Het toilet was smerig");
	add(&cur, TEXT_LANG_NL, "smerige toiletten, verder prima");
	add(&cur, TEXT_LANG_NL, "Toiletten smerig!");
	/* themed (wachten): not counted, though it holds both words */
	add(&cur, TEXT_LANG_NL, "Ik moest lang wachten, het toilet was smerig");
	add(&cur, TEXT_LANG_NL, "Mooie winkel");
	text_disc_result r = run(state, &cur, NULL, NULL);
	assert_int_equal(r.answers, 5);
	assert_int_equal(r.answers_previous, 0);
	/* toilet/toiletten and smerig/smerige: 4 answers each; "smerig" (3 of
	 * the 4 spellings) before "toiletten" (2 of 4: "De toiletten" and
	 * "smerige toiletten"; "Toiletten" and "toilet" once) */
	assert_int_equal(r.n_phrases, 2);
	expect(&r.phrases[0], "smerig", "smerig", TEXT_LANG_NL, 4, 0);
	expect(&r.phrases[1], "toiletten", "toilet", TEXT_LANG_NL, 4, 0);
	for (int i = 0; i < 2; i++) {
		/* no previous period: no verdict */
		assert_false(r.phrases[i].rising);
		assert_true(isnan(r.phrases[i].growth));
		assert_true(isnan(r.phrases[i].p_value));
		assert_int_equal(r.phrases[i].n_examples, 3);
		assert_int_equal(r.phrases[i].examples[0], 0);
		assert_int_equal(r.phrases[i].examples[1], 1);
		assert_int_equal(r.phrases[i].examples[2], 2);
	}
	text_disc_result_free(&r);

	/* three of five answers themed: the phrase is in 2 unthemed ones */
	set few = { 0 };
	add(&few, TEXT_LANG_NL, "De parkeerplek was vol en ik moest wachten");
	add(&few, TEXT_LANG_NL, "Wachten op een parkeerplek");
	add(&few, TEXT_LANG_NL, "parkeerplek: wachten");
	add(&few, TEXT_LANG_NL, "geen parkeerplek");
	add(&few, TEXT_LANG_NL, "Parkeerplek bezet");
	r = run(state, &few, NULL, NULL);
	assert_int_equal(r.answers, 2);
	assert_int_equal(r.n_phrases, 0);
	assert_null(r.phrases);
	text_disc_result_free(&r);
}

static void test_sub_phrase_rule(void **state)
{
	set cur = { 0 };
	add(&cur, TEXT_LANG_NL, "De parkeerplek was vol");
	add(&cur, TEXT_LANG_NL, "parkeerplek was vol");
	add(&cur, TEXT_LANG_NL, "Parkeerplek was vol.");
	add(&cur, TEXT_LANG_NL, "de parkeerplek was vol, jammer");
	add(&cur, TEXT_LANG_NL, "geen parkeerplek gevonden");
	/* "parkeerplek was vol" 4 answers, "parkeerplek" 5, "vol" 4: with
	 * cover 0.8 both parts go (4 >= 0.8 x 5, 4 >= 0.8 x 4) */
	text_disc_result r = run(state, &cur, NULL, NULL);
	assert_int_equal(r.answers, 5);
	assert_int_equal(r.n_phrases, 1);
	expect(&r.phrases[0], "parkeerplek was vol", "parkeerplek was vol", TEXT_LANG_NL, 4, 0);
	/* examples: the first three in the order given */
	assert_int_equal(r.phrases[0].n_examples, 3);
	assert_int_equal(r.phrases[0].examples[2], 2);
	text_disc_result_free(&r);

	/* cover 1: only a part with the same answers goes ("vol", 4 = 4);
	 * "parkeerplek" (5 > 4) stays and leads */
	text_disc_opts o;
	text_disc_opts_default(&o);
	o.cover = 1.0;
	r = run(state, &cur, NULL, &o);
	assert_int_equal(r.n_phrases, 2);
	expect(&r.phrases[0], "parkeerplek", "parkeerplek", TEXT_LANG_NL, 5, 0);
	expect(&r.phrases[1], "parkeerplek was vol", "parkeerplek was vol", TEXT_LANG_NL, 4, 0);
	text_disc_result_free(&r);

	/* limit 1 keeps the first; min_n 5 keeps only what reaches 5 */
	o.limit = 1;
	r = run(state, &cur, NULL, &o);
	assert_int_equal(r.n_phrases, 1);
	assert_string_equal(r.phrases[0].phrase, "parkeerplek");
	text_disc_result_free(&r);
	text_disc_opts_default(&o);
	o.min_n = 5;
	o.cover = 1.0;
	r = run(state, &cur, NULL, &o);
	assert_int_equal(r.n_phrases, 1);
	assert_string_equal(r.phrases[0].stems, "parkeerplek");
	text_disc_result_free(&r);
}

static void test_english_and_language_filter(void **state)
{
	set cur = { 0 };
	add(&cur, TEXT_LANG_EN, "The car park was full");
	add(&cur, TEXT_LANG_EN, "car park full");
	add(&cur, TEXT_LANG_EN, "Car parks were full");
	add(&cur, TEXT_LANG_EN, "no space in the car park");
	add(&cur, TEXT_LANG_EN, "I had to wait for the car park"); /* themed */
	add(&cur, TEXT_LANG_OTHER, "car park car park car park");   /* neither nl nor en */
	add(&cur, TEXT_LANG_NL, "De parkeerplek was vol");
	add(&cur, TEXT_LANG_NL, "parkeerplek vol");
	add(&cur, TEXT_LANG_NL, "Parkeerplekken vol");
	text_disc_result r = run(state, &cur, NULL, NULL);
	assert_int_equal(r.answers, 7);
	/* "car park" (4) holds "car" (4) and "park" (4); "full" (3) is in no
	 * longer phrase of 3 or more; a sentiment word or a stop word alone
	 * ("no") is never a phrase */
	assert_int_equal(r.n_phrases, 4);
	expect(&r.phrases[0], "car park", "car park", TEXT_LANG_EN, 4, 0);
	expect(&r.phrases[1], "full", "full", TEXT_LANG_EN, 3, 0);
	/* "parkeerplek vol" 2 (consecutive only) covers nothing: 2 < 0.8 x 3 */
	expect(&r.phrases[2], "parkeerplek", "parkeerplek", TEXT_LANG_NL, 3, 0);
	expect(&r.phrases[3], "vol", "vol", TEXT_LANG_NL, 3, 0);
	assert_int_equal(r.phrases[0].examples[0], 0);
	assert_int_equal(r.phrases[0].examples[2], 2);
	assert_int_equal(r.phrases[2].examples[0], 6);
	text_disc_result_free(&r);

	text_disc_opts o;
	text_disc_opts_default(&o);
	o.lang = TEXT_LANG_NL;
	r = run(state, &cur, NULL, &o);
	assert_int_equal(r.answers, 3);
	assert_int_equal(r.n_phrases, 2);
	assert_string_equal(r.phrases[0].phrase, "parkeerplek");
	assert_string_equal(r.phrases[1].phrase, "vol");
	text_disc_result_free(&r);
}

static void test_examples_skip_equal_texts(void **state)
{
	set cur = { 0 };
	add(&cur, TEXT_LANG_NL, "Toilet smerig");
	add(&cur, TEXT_LANG_NL, "Toilet smerig");
	add(&cur, TEXT_LANG_NL, "toilet smerig");
	add(&cur, TEXT_LANG_NL, "Toilet smerig");
	add(&cur, TEXT_LANG_NL, "het toilet is smerig");
	text_disc_result r = run(state, &cur, NULL, NULL);
	/* "toilet smerig" 4 covers "toilet" (5: 4 >= 4) and "smerig" (5) */
	assert_int_equal(r.n_phrases, 1);
	/* "Toilet smerig" 3 times, "toilet smerig" once */
	expect(&r.phrases[0], "Toilet smerig", "toilet smerig", TEXT_LANG_NL, 4, 0);
	assert_int_equal(r.phrases[0].n_examples, 2);
	assert_int_equal(r.phrases[0].examples[0], 0);
	assert_int_equal(r.phrases[0].examples[1], 2);
	text_disc_result_free(&r);
}

static void test_compound_spelling(void **state)
{
	set cur = { 0 };
	add(&cur, TEXT_LANG_NL, "Klantenservice");
	add(&cur, TEXT_LANG_NL, "klantenservice");
	add(&cur, TEXT_LANG_NL, "de klantenservice");
	add(&cur, TEXT_LANG_NL, "De service voor de klant");
	/* klantenservice = klant + service: "klant servic" in 3 answers, each
	 * part in 4 (3 < 0.8 x 4: both stay). A part is spelt as a whole word
	 * where one exists ("klant", "service"); the pair as the compound */
	text_disc_result r = run(state, &cur, NULL, NULL);
	assert_int_equal(r.n_phrases, 3);
	expect(&r.phrases[0], "klant", "klant", TEXT_LANG_NL, 4, 0);
	expect(&r.phrases[1], "service", "servic", TEXT_LANG_NL, 4, 0);
	expect(&r.phrases[2], "klantenservice", "klant servic", TEXT_LANG_NL, 3, 0);
	text_disc_result_free(&r);
}

static void test_rise_p_hand_worked(void **state)
{
	(void)state;
	/* P(X >= x), X ~ Bin(x + y, n / (n + m)) */
	assert_float_equal(text_disc_rise_p(5, 100, 0, 100), 1.0 / 32, EPS);
	assert_float_equal(text_disc_rise_p(4, 50, 0, 50), 1.0 / 16, EPS);
	/* 6 vs 1: (C(7,6) + C(7,7)) / 2^7 = 8/128 */
	assert_float_equal(text_disc_rise_p(6, 10, 1, 10), 8.0 / 128, EPS);
	/* 10 vs 2: (66 + 12 + 1) / 4096 */
	assert_float_equal(text_disc_rise_p(10, 100, 2, 100), 79.0 / 4096, EPS);
	/* twice the answers this period: q = 2/3, 5 vs 0: (2/3)^5 = 32/243 */
	assert_float_equal(text_disc_rise_p(5, 200, 0, 100), 32.0 / 243, EPS);
	/* 3 vs 10: 1 - (1 + 13 + 78) / 8192 */
	assert_float_equal(text_disc_rise_p(3, 10, 10, 10), 8100.0 / 8192, EPS);
	assert_float_equal(text_disc_rise_p(0, 10, 3, 10), 1.0, EPS);
	assert_true(isnan(text_disc_rise_p(3, 10, 0, 0)));
	assert_true(isnan(text_disc_rise_p(3, 0, 1, 10)));
}

static void test_rising_verdicts(void **state)
{
	set cur = { 0 }, prev0 = { 0 }, prev1 = { 0 }, prev2 = { 0 };
	for (int i = 0; i < 5; i++)
		add(&cur, TEXT_LANG_NL, "geen parkeerplek");
	filler(&cur, TEXT_LANG_NL, 5);
	/* 5 of 10 against 0 of 10: p = 1/32 < 0.05, rising; no growth figure */
	filler(&prev0, TEXT_LANG_NL, 10);
	text_disc_result r = run(state, &cur, &prev0, NULL);
	assert_int_equal(r.answers, 10);
	assert_int_equal(r.answers_previous, 10);
	assert_int_equal(r.n_phrases, 1);
	expect(&r.phrases[0], "parkeerplek", "parkeerplek", TEXT_LANG_NL, 5, 0);
	assert_true(r.phrases[0].rising);
	assert_float_equal(r.phrases[0].p_value, 1.0 / 32, EPS);
	assert_true(isnan(r.phrases[0].growth));
	text_disc_result_free(&r);

	/* 5 of 10 against 1 of 10: p = 7/64, not rising; growth 0.5/0.1 - 1 = 4 */
	add(&prev1, TEXT_LANG_NL, "Parkeerplekken");
	filler(&prev1, TEXT_LANG_NL, 9);
	r = run(state, &cur, &prev1, NULL);
	assert_int_equal(r.phrases[0].n_previous, 1);
	assert_false(r.phrases[0].rising);
	assert_float_equal(r.phrases[0].p_value, 7.0 / 64, EPS);
	assert_float_equal(r.phrases[0].growth, 4.0, EPS);
	text_disc_result_free(&r);

	/* 5 of 10 against 1 of 20 (English answers and a themed one do not
	 * count as Dutch answers): q = 1/3, p = (6 x 2 + 1) / 729 = 13/729,
	 * rising; growth 0.5/0.05 - 1 = 9 */
	add(&prev2, TEXT_LANG_NL, "de parkeerplek");
	filler(&prev2, TEXT_LANG_NL, 19);
	add(&prev2, TEXT_LANG_EN, "parkeerplek");
	add(&prev2, TEXT_LANG_NL, "wachten op een parkeerplek");
	r = run(state, &cur, &prev2, NULL);
	assert_int_equal(r.answers_previous, 21);
	assert_int_equal(r.phrases[0].n_previous, 1);
	assert_true(r.phrases[0].rising);
	assert_float_equal(r.phrases[0].p_value, 13.0 / 729, EPS);
	assert_float_equal(r.phrases[0].growth, 9.0, EPS);
	text_disc_result_free(&r);

	/* falling: 5 of 10 against 10 of 20 is the same rate: p = P(X >= 5),
	 * X ~ Bin(15, 1/3) — not rising, growth 0 */
	set prev3 = { 0 };
	for (int i = 0; i < 10; i++)
		add(&prev3, TEXT_LANG_NL, "parkeerplek");
	filler(&prev3, TEXT_LANG_NL, 10);
	r = run(state, &cur, &prev3, NULL);
	assert_false(r.phrases[0].rising);
	assert_float_equal(r.phrases[0].growth, 0.0, EPS);
	assert_true(r.phrases[0].p_value > 0.5);
	text_disc_result_free(&r);
}

static void test_empty(void **state)
{
	set none = { 0 };
	text_disc_result r = run(state, &none, &none, NULL);
	assert_int_equal(r.answers, 0);
	assert_int_equal(r.n_phrases, 0);
	text_disc_result_free(&r);
	text_disc_result_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dutch_inflections_and_themed_answers),
		cmocka_unit_test(test_sub_phrase_rule),
		cmocka_unit_test(test_english_and_language_filter),
		cmocka_unit_test(test_examples_skip_equal_texts),
		cmocka_unit_test(test_compound_spelling),
		cmocka_unit_test(test_rise_p_hand_worked),
		cmocka_unit_test(test_rising_verdicts),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
