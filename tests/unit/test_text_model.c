/* test_text_model.c — src/text/model.c: training, cross-validation, the
 * blob, and the thresholds under which the lexicon stays in charge, on a
 * small hand-made labelled set whose classes have words of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text/text.h"

static const char *const neg[] = {
	"De storing duurde dagen", "Weer een storing, slecht geregeld", "Storing niet opgelost",
	"Na de storing niemand gebeld", "storing op storing", "Een storing en geen excuses",
	"De storing kwam terug", "Storing, wachten, storing",
};
static const char *const neu[] = {
	"Gemiddeld, niets bijzonders", "Het was gemiddeld", "Gemiddelde service", "gemiddeld geholpen",
	"Een gemiddeld gesprek", "Gemiddeld, zoals verwacht", "Gemiddeld snel", "gemiddeld",
};
static const char *const pos[] = {
	"Fantastisch geholpen", "Fantastische monteur", "Echt fantastisch", "Fantastisch, dank",
	"Fantastisch snel", "Een fantastische dag", "fantastisch", "Fantastisch en vriendelijk",
};
#define PER 8
#define N (3 * PER)

typedef struct fx {
	text_ctx *ctx;
	text_worker *w;
	text_example ex[N];
	text_train_opts small;
} fx;

static int setup(void **state)
{
	static fx f;
	ks_error err = { 0 };
	if (text_ctx_new(&f.ctx, NULL, &err) != KS_OK || text_worker_new(f.ctx, &f.w, &err) != KS_OK)
		return -1;
	for (int i = 0; i < PER; i++) {
		f.ex[i] = (text_example){ neg[i], strlen(neg[i]), TEXT_NEGATIVE, TEXT_LANG_NL };
		f.ex[PER + i] = (text_example){ neu[i], strlen(neu[i]), TEXT_NEUTRAL, TEXT_LANG_NL };
		f.ex[2 * PER + i] = (text_example){ pos[i], strlen(pos[i]), TEXT_POSITIVE, TEXT_LANG_NL };
	}
	text_train_opts_default(&f.small);
	f.small.min_examples = 20;
	f.small.min_per_class = 5;
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

static void test_too_little_data(void **state)
{
	fx *f = *state;
	text_model *m = (text_model *)1;
	ks_error err = { 0 };
	/* the defaults: 100 texts, 10 per class */
	assert_int_equal(text_model_train(f->w, f->ex, N, NULL, &m, &err), KS_ERR_RANGE);
	assert_null(m);
	assert_string_equal(err.field, "examples");
	assert_string_equal(err.message,
	                    "too little labelled data: 24 texts, the model needs 100 (the lexicon is used)");
	text_train_opts o = f->small;
	o.min_examples = 1;
	/* the negatives and positives only: no neutral text */
	text_example two[2 * PER];
	memcpy(two, f->ex, PER * sizeof *two);
	memcpy(two + PER, f->ex + 2 * PER, PER * sizeof *two);
	assert_int_equal(text_model_train(f->w, two, 2 * PER, &o, &m, &err), KS_ERR_RANGE);
	assert_string_equal(err.message, "too few neutral texts: 0, the model needs 5 of each class");
	text_eval e;
	assert_int_equal(text_model_evaluate(f->w, f->ex, N, 1, &f->small, &e, &err), KS_ERR_RANGE);
	assert_string_equal(err.field, "folds");
}

static void test_train_learns_and_predicts(void **state)
{
	fx *f = *state;
	text_model *m;
	ks_error err = { 0 };
	assert_int_equal(text_model_train(f->w, f->ex, N, &f->small, &m, &err), KS_OK);
	assert_int_equal(text_model_n_examples(m), N);
	assert_true(text_model_n_features(m) > 0);
	const char *names[3];
	double wt[3];
	assert_int_equal(text_model_top(m, TEXT_POSITIVE, TEXT_LANG_NL, 3, names, wt), 3);
	assert_string_equal(names[0], "nl:u:fantastisch");
	assert_true(wt[0] > wt[1] && wt[1] >= wt[2]);
	assert_int_equal(text_model_top(m, TEXT_NEGATIVE, TEXT_LANG_NL, 1, names, wt), 1);
	assert_string_equal(names[0], "nl:u:storing");
	assert_int_equal(text_model_top(m, TEXT_NEUTRAL, TEXT_LANG_NL, 1, names, wt), 1);
	assert_string_equal(names[0], "nl:u:gemiddeld");
	/* no English text was seen */
	assert_int_equal(text_model_top(m, TEXT_POSITIVE, TEXT_LANG_EN, 3, names, wt), 0);

	/* the blob: load(save(m)) saves to the same bytes; training twice too */
	unsigned char *b1, *b2, *b3;
	size_t l1, l2, l3;
	text_model *m2, *m3;
	assert_int_equal(text_model_save(m, &b1, &l1, &err), KS_OK);
	assert_int_equal(text_model_load(b1, l1, &m2, &err), KS_OK);
	assert_int_equal(text_model_save(m2, &b2, &l2, &err), KS_OK);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	assert_int_equal(text_model_train(f->w, f->ex, N, &f->small, &m3, &err), KS_OK);
	assert_int_equal(text_model_save(m3, &b3, &l3, &err), KS_OK);
	assert_int_equal(l1, l3);
	assert_memory_equal(b1, b3, l1);
	text_model_free(m3);
	free(b3);
	free(b2);

	/* a cut or foreign blob is refused, naming the field */
	text_model *bad = (text_model *)1;
	assert_int_equal(text_model_load(b1, l1 - 1, &bad, &err), KS_ERR_INVALID);
	assert_null(bad);
	assert_string_equal(err.field, "model");
	assert_int_equal(text_model_load((const unsigned char *)"KSTX", 4, &bad, &err), KS_ERR_INVALID);
	b1[0] = 'X';
	assert_int_equal(text_model_load(b1, l1, &bad, &err), KS_ERR_INVALID);
	free(b1);
	text_model_free(m);

	/* with the loaded model in a context, analysis uses it */
	text_ctx *ctx;
	text_worker *w;
	assert_int_equal(text_ctx_new(&ctx, NULL, &err), KS_OK);
	text_ctx_set_model(ctx, m2);
	assert_ptr_equal(text_ctx_model(ctx), m2);
	assert_int_equal(text_worker_new(ctx, &w, &err), KS_OK);
	static const struct { const char *s; text_label want; } cases[] = {
		{ "Een storing", TEXT_NEGATIVE }, { "gemiddeld", TEXT_NEUTRAL },
		{ "fantastisch", TEXT_POSITIVE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		text_result r;
		assert_int_equal(text_analyze(w, cases[i].s, strlen(cases[i].s), TEXT_LANG_NL, true, &r,
		                              &err), KS_OK);
		assert_true(r.from_model);
		assert_int_equal(r.label, cases[i].want);
		assert_true(r.score >= -1 && r.score <= 1);
		text_result_free(&r);
	}
	text_worker_free(w);
	text_ctx_free(ctx);
}

static void test_cross_validation(void **state)
{
	fx *f = *state;
	text_eval e;
	ks_error err = { 0 };
	assert_int_equal(text_model_evaluate(f->w, f->ex, N, 2, &f->small, &e, &err), KS_OK);
	assert_int_equal(e.n, N);
	/* each class has its own word in every text: every fold gets it right */
	for (int t = 0; t < 3; t++)
		for (int p = 0; p < 3; p++)
			assert_int_equal(e.confusion[t][p], t == p ? PER : 0);
	assert_float_equal(e.accuracy, 1.0, 1e-12);
	assert_float_equal(e.macro_f1, 1.0, 1e-12);
	/* the lexicon alone (valences in src/text/lexicon.c): every "storing"
	 * text is negative (-1/3 each), every "fantastisch" text positive, but
	 * "gemiddeld geholpen" and "Gemiddeld snel" are positive (+2/3):
	 * 22 right; F1 per class 1, 12/14 (neutral), 16/18 (positive) */
	assert_int_equal(e.n_lexicon_correct, 22);
	assert_float_equal(e.lexicon_macro_f1, (1.0 + 12.0 / 14 + 16.0 / 18) / 3, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_too_little_data),
		cmocka_unit_test(test_train_learns_and_predicts),
		cmocka_unit_test(test_cross_validation),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
