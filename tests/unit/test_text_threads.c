/* test_text_threads.c — one read-only text_ctx shared by threads, each with
 * its own worker, gives the same results as one thread (text.h's promise:
 * no global mutable state). Run under ASan here; bench/text's thread
 * sanitizer build checks the same with more texts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "text/text.h"

static const char *const texts[] = {
	"Heel vriendelijk, maar ik moest erg lang wachten", "Top!", "ok", "niet slecht",
	"The engineer was on time and it was fixed, thanks for the help.",
	"De klantenservice was onbereikbaar en de factuur klopte niet",
	"Der Techniker kam pünktlich und hat alles aufgeräumt.", "not bad at all",
	"Monteur kwam keurig volgens planning, installatie afgerond zonder problemen.",
	"Te duur voor wat je krijgt, maar de app werkt prima",
};
#define N_TEXTS (sizeof texts / sizeof *texts)
#define ROUNDS 40
#define THREADS 4

typedef struct summary {
	text_lang lang;
	text_label label;
	double score;
	int n_themes;
	char first_theme[64];
} summary;

typedef struct job {
	const text_ctx *ctx;
	summary out[N_TEXTS];
	bool ok;
} job;

static bool analyse_all(const text_ctx *ctx, summary *out)
{
	text_worker *w;
	ks_error err = { 0 };
	if (text_worker_new(ctx, &w, &err) != KS_OK)
		return false;
	bool ok = true;
	for (int r = 0; r < ROUNDS && ok; r++) {
		for (size_t i = 0; i < N_TEXTS && ok; i++) {
			text_result res;
			ok = text_analyze(w, texts[i], strlen(texts[i]), TEXT_LANG_AUTO, false, &res, &err) ==
			     KS_OK;
			if (!ok)
				break;
			summary s;
			memset(&s, 0, sizeof s); /* padding too: compared with memcmp */
			s.lang = res.lang;
			s.label = res.label;
			s.score = res.score;
			s.n_themes = res.n_themes;
			if (res.n_themes)
				snprintf(s.first_theme, sizeof s.first_theme, "%s", res.themes[0].theme);
			/* every round must give the same as the first */
			if (r == 0)
				out[i] = s;
			else
				ok = memcmp(&out[i], &s, sizeof s) == 0;
			text_result_free(&res);
		}
	}
	text_worker_free(w);
	return ok;
}

static void *run(void *arg)
{
	job *j = arg;
	memset(j->out, 0, sizeof j->out);
	j->ok = analyse_all(j->ctx, j->out);
	return NULL;
}

static void test_threads_share_one_context(void **state)
{
	(void)state;
	text_ctx *ctx;
	ks_error err = { 0 };
	assert_int_equal(text_ctx_new(&ctx, NULL, &err), KS_OK);
	static summary alone[N_TEXTS];
	memset(alone, 0, sizeof alone);
	assert_true(analyse_all(ctx, alone));
	static job jobs[THREADS];
	pthread_t th[THREADS];
	for (int k = 0; k < THREADS; k++) {
		jobs[k].ctx = ctx;
		assert_int_equal(pthread_create(&th[k], NULL, run, &jobs[k]), 0);
	}
	for (int k = 0; k < THREADS; k++) {
		assert_int_equal(pthread_join(th[k], NULL), 0);
		assert_true(jobs[k].ok);
		assert_memory_equal(jobs[k].out, alone, sizeof alone);
	}
	/* the German text is "other"; "Top!" without a prior is nl */
	assert_int_equal(alone[6].lang, TEXT_LANG_OTHER);
	assert_int_equal(alone[1].lang, TEXT_LANG_NL);
	text_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_share_one_context),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
