/* test_text_themes.c — src/text/themes.c: the taxonomy's validation (the
 * error names the path of the bad field), matching through stems and
 * compounds, and each mention's sentiment from its own clause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text/text.h"

#define EPS 1e-9

static const char *const small_tax =
	"{\"version\":1,\"themes\":["
	"{\"id\":\"waiting\",\"label\":{\"nl\":\"Wachten\",\"en\":\"Waiting\"},\"subthemes\":["
	" {\"id\":\"queue\",\"label\":{\"nl\":\"Wachtrij\",\"en\":\"Queue\"},"
	"  \"terms\":{\"nl\":[\"wachten\",\"in de wacht\"],\"en\":[\"wait\",\"on hold\"]}}]},"
	"{\"id\":\"staff\",\"label\":{\"nl\":\"Medewerker\",\"en\":\"Staff\"},\"subthemes\":["
	" {\"id\":\"kind\",\"label\":{\"nl\":\"Vriendelijk\",\"en\":\"Friendly\"},"
	"  \"terms\":{\"nl\":[\"vriendelijk\"],\"en\":[\"friendly\"]}},"
	" {\"id\":\"service_desk\",\"label\":{\"nl\":\"Klantenservice\",\"en\":\"Service desk\"},"
	"  \"terms\":{\"nl\":[\"klant service\"]}}]}]}";

static void bad_taxonomy(const char *json, ks_err code, const char *field)
{
	text_ctx *ctx = NULL;
	ks_error err = { 0 };
	assert_int_equal(text_ctx_new(&ctx, json, &err), code);
	assert_null(ctx);
	if (strcmp(err.field, field) != 0)
		print_message("field %s, message %s\n", err.field, err.message);
	assert_string_equal(err.field, field);
	assert_non_null(strstr(err.message, field));
}

#define THEME(extra) \
	"{\"version\":1,\"themes\":[{\"id\":\"a\",\"label\":{\"nl\":\"A\",\"en\":\"A\"}," \
	"\"subthemes\":[{\"id\":\"s\",\"label\":{\"nl\":\"S\",\"en\":\"S\"},\"terms\":" extra "}]}]}"

static void test_validation_errors(void **state)
{
	(void)state;
	bad_taxonomy("{\"version\":1,", KS_ERR_BADJSON, "taxonomy");
	bad_taxonomy("[]", KS_ERR_INVALID, "taxonomy");
	bad_taxonomy("{\"version\":2,\"themes\":[]}", KS_ERR_INVALID, "version");
	bad_taxonomy("{\"version\":1,\"themes\":[]}", KS_ERR_INVALID, "themes");
	bad_taxonomy("{\"version\":1,\"themes\":[],\"colour\":1}", KS_ERR_INVALID, "taxonomy.colour");
	bad_taxonomy(THEME("{\"nl\":[\"x\",5]}"), KS_ERR_INVALID, "themes[0].subthemes[0].terms.nl[1]");
	bad_taxonomy(THEME("{\"nl\":[\"x\",\"\"]}"), KS_ERR_INVALID,
	             "themes[0].subthemes[0].terms.nl[1]");
	bad_taxonomy(THEME("{\"de\":[\"x\"]}"), KS_ERR_INVALID, "themes[0].subthemes[0].terms.de");
	bad_taxonomy(THEME("{\"en\":\"x\"}"), KS_ERR_INVALID, "themes[0].subthemes[0].terms.en");
	bad_taxonomy(THEME("{}"), KS_ERR_INVALID, "themes[0].subthemes[0].terms");
	bad_taxonomy(THEME("{\"nl\":[\"een twee drie vier vijf zes zeven\"]}"), KS_ERR_INVALID,
	             "themes[0].subthemes[0].terms.nl[0]");
	bad_taxonomy(THEME("{\"nl\":[\"...\"]}"), KS_ERR_INVALID, "themes[0].subthemes[0].terms.nl[0]");
	bad_taxonomy("{\"version\":1,\"themes\":[{\"id\":\"Wait Time\"}]}", KS_ERR_INVALID,
	             "themes[0].id");
	bad_taxonomy("{\"version\":1,\"themes\":[{\"id\":\"a\",\"label\":{\"nl\":\"A\"}}]}",
	             KS_ERR_INVALID, "themes[0].label.en");
	bad_taxonomy("{\"version\":1,\"themes\":[{\"id\":\"a\",\"label\":{\"nl\":\"A\",\"en\":\"A\"},"
	             "\"subthemes\":[]}]}", KS_ERR_INVALID, "themes[0].subthemes");
	bad_taxonomy("{\"version\":1,\"themes\":[{\"id\":\"a\",\"label\":{\"nl\":\"A\",\"en\":\"A\"},"
	             "\"subthemes\":[{\"id\":\"s\",\"label\":{\"nl\":\"S\",\"en\":\"S\"},"
	             "\"terms\":{\"nl\":[\"x\"]}},{\"id\":\"s\"}]}]}",
	             KS_ERR_INVALID, "themes[0].subthemes[1].id");
	bad_taxonomy("{\"version\":1,\"themes\":[{\"id\":\"a\",\"label\":{\"nl\":\"A\",\"en\":\"A\"},"
	             "\"subthemes\":[{\"id\":\"s\",\"label\":{\"nl\":\"S\",\"en\":\"S\"},"
	             "\"terms\":{\"nl\":[\"x\"]}}]},{\"id\":\"a\"}]}",
	             KS_ERR_INVALID, "themes[1].id");
	bad_taxonomy("{\"version\":1,\"themes\":[{\"id\":\"a\",\"colour\":\"red\"}]}", KS_ERR_INVALID,
	             "themes[0].colour");
}

typedef struct fx {
	text_ctx *ctx;
	text_worker *w;
} fx;

static int setup(void **state)
{
	static fx f;
	ks_error err = { 0 };
	if (text_ctx_new(&f.ctx, small_tax, &err) != KS_OK ||
	    text_worker_new(f.ctx, &f.w, &err) != KS_OK)
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

static void test_inflections_and_compounds(void **state)
{
	/* wachten / wachtte / gewacht / wachttijd all meet the term "wachten" */
	static const char *const nl[] = { "Ik moest wachten", "Ik wachtte", "Ik heb gewacht",
	                                  "De wachttijd", "Wachten, wachten, wachten" };
	for (size_t i = 0; i < sizeof nl / sizeof *nl; i++) {
		text_result r = run(state, nl[i], TEXT_LANG_NL);
		assert_int_equal(r.n_themes, 1);
		assert_string_equal(r.themes[0].theme, "waiting");
		assert_string_equal(r.themes[0].subtheme, "queue");
		/* one mention per clause */
		assert_int_equal(r.themes[0].mentions, i == 4 ? 3 : 1);
		text_result_free(&r);
	}
	text_result r = run(state, "I waited and waited", TEXT_LANG_EN);
	assert_int_equal(r.n_themes, 1);
	assert_string_equal(r.themes[0].theme, "waiting");
	assert_int_equal(r.themes[0].mentions, 1);
	text_result_free(&r);
	/* a phrase: consecutive stems; a compound meets a two-word term */
	r = run(state, "Ik stond lang in de wacht", TEXT_LANG_NL);
	assert_int_equal(r.n_themes, 1);
	text_result_free(&r);
	r = run(state, "De klantenservice", TEXT_LANG_NL);
	assert_int_equal(r.n_themes, 1);
	assert_string_equal(r.themes[0].subtheme, "service_desk");
	text_result_free(&r);
	/* no theme: neither term nor stem */
	r = run(state, "De factuur klopte", TEXT_LANG_NL);
	assert_int_equal(r.n_themes, 0);
	assert_null(r.themes);
	text_result_free(&r);
}

static void test_clause_sentiment_per_theme(void **state)
{
	/* "vriendelijk maar traag": friendliness + (2/3), the waiting clause -
	 * through "wachten" in the second clause */
	text_result r = run(state, "Heel vriendelijk, maar ik moest erg lang wachten", TEXT_LANG_NL);
	assert_int_equal(r.n_themes, 2);
	assert_string_equal(r.themes[0].theme, "staff");
	assert_float_equal(r.themes[0].score, 1.0, EPS);
	assert_int_equal(r.themes[0].label, TEXT_POSITIVE);
	assert_string_equal(r.themes[1].theme, "waiting");
	assert_float_equal(r.themes[1].score, -1.0 / 3 * 1.5, EPS); /* "erg" reaches over "lang" */
	assert_int_equal(r.themes[1].label, TEXT_NEGATIVE);
	text_result_free(&r);
	r = run(state, "Friendly, but I was on hold way too long", TEXT_LANG_EN);
	assert_int_equal(r.n_themes, 2);
	assert_string_equal(r.themes[0].theme, "staff");
	assert_float_equal(r.themes[0].score, 2.0 / 3, EPS);
	assert_string_equal(r.themes[1].theme, "waiting");
	assert_float_equal(r.themes[1].score, -0.75, EPS);
	text_result_free(&r);
}

static void test_default_taxonomy(void **state)
{
	(void)state;
	text_ctx *ctx;
	text_worker *w;
	ks_error err = { 0 };
	assert_int_equal(text_ctx_new(&ctx, NULL, &err), KS_OK);
	assert_int_equal(text_worker_new(ctx, &w, &err), KS_OK);
	const char *s = "Vriendelijke monteur, maar de factuur klopte niet";
	text_result r;
	assert_int_equal(text_analyze(w, s, strlen(s), TEXT_LANG_NL, false, &r, &err), KS_OK);
	assert_int_equal(r.n_themes, 3);
	assert_string_equal(r.themes[0].theme, "friendliness");
	assert_string_equal(r.themes[1].theme, "technician");
	assert_string_equal(r.themes[2].theme, "billing");
	assert_int_equal(r.themes[0].label, TEXT_POSITIVE);
	text_result_free(&r);
	text_worker_free(w);
	text_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation_errors),
		cmocka_unit_test(test_inflections_and_compounds),
		cmocka_unit_test(test_clause_sentiment_per_theme),
		cmocka_unit_test(test_default_taxonomy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
