/* test_text_fuzz.c — what the text fuzz harnesses found (issue 14).
 *
 * fuzz/fuzz_text_taxonomy.c: a taxonomy whose terms are all of one
 * language left the other language's term array NULL, and building the
 * context passed it to qsort (undefined behaviour, even for 0 elements).
 * It builds, and texts of both languages are analysed with it.
 *
 * fuzz/fuzz_text_model.c: text_model_load (src/text/model.c) on blobs the
 * save never writes: a feature name with
 * a NUL byte (it loaded, and saved back shorter: the name was cut at the
 * NUL, and the index held a key no lookup could find), a weight or bias
 * that is not finite (every score of every text became NaN), and a feature
 * given twice. Each is refused as KS_ERR_INVALID naming "model"; a blob as
 * the save writes it still loads and saves back byte for byte.
 *
 * The blobs are written here by hand from the format of docs/TEXT.md
 * ("KSTM", u32 version 1, u32 features, u32 texts, 3 x f32 bias, then per
 * feature u16 length, name, 3 x f32 weights, little-endian), not by the
 * product's own save. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text/text.h"

typedef struct blob {
	unsigned char b[512];
	size_t n;
} blob;

static void put_u32(blob *x, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		x->b[x->n++] = (unsigned char)(v >> (8 * i));
}

static void put_f32(blob *x, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	put_u32(x, u);
}

static void head(blob *x, uint32_t n_feat, float bias0)
{
	x->n = 0;
	memcpy(x->b, "KSTM", 4);
	x->n = 4;
	put_u32(x, 1);
	put_u32(x, n_feat);
	put_u32(x, 120);
	put_f32(x, bias0);
	put_f32(x, 0.0f);
	put_f32(x, -0.25f);
}

static void feature(blob *x, const char *name, size_t len, float w0)
{
	x->b[x->n++] = (unsigned char)(len & 0xff);
	x->b[x->n++] = (unsigned char)(len >> 8);
	memcpy(x->b + x->n, name, len);
	x->n += len;
	put_f32(x, w0);
	put_f32(x, 0.5f);
	put_f32(x, -1.0f);
}

static void refused(const blob *x, const char *why)
{
	text_model *m = (text_model *)1;
	ks_error err = { 0 };
	assert_int_equal(text_model_load(x->b, x->n, &m, &err), KS_ERR_INVALID);
	assert_null(m);
	assert_string_equal(err.field, "model");
	assert_non_null(strstr(err.message, why));
}

static void test_valid_round_trip(void **state)
{
	(void)state;
	blob x;
	head(&x, 2, 0.125f);
	feature(&x, "nl:u:slecht", 11, 2.0f);
	feature(&x, "lex:pos", 7, -1.5f);
	text_model *m;
	ks_error err = { 0 };
	assert_int_equal(text_model_load(x.b, x.n, &m, &err), KS_OK);
	assert_int_equal(text_model_n_features(m), 2);
	assert_int_equal(text_model_n_examples(m), 120);
	unsigned char *out;
	size_t len;
	assert_int_equal(text_model_save(m, &out, &len, &err), KS_OK);
	assert_int_equal(len, x.n);
	assert_memory_equal(out, x.b, len);
	free(out);
	text_model_free(m);
}

static void test_nul_in_name(void **state)
{
	(void)state;
	blob x;
	head(&x, 2, 0.125f);
	feature(&x, "nl:b:sup\0er", 11, 1.0f);  /* the fuzzer's find, shortened */
	feature(&x, "lex:pos", 7, -1.5f);
	refused(&x, "NUL byte");
}

static void test_not_finite(void **state)
{
	(void)state;
	blob x;
	head(&x, 1, NAN);
	feature(&x, "en:u:bad", 8, 1.0f);
	refused(&x, "not a finite number");
	head(&x, 1, 0.5f);
	feature(&x, "en:u:bad", 8, INFINITY);
	refused(&x, "not a finite number");
	head(&x, 1, -INFINITY);
	feature(&x, "en:u:bad", 8, 1.0f);
	refused(&x, "not a finite number");
}

static void test_feature_twice(void **state)
{
	(void)state;
	blob x;
	head(&x, 2, 0.0f);
	feature(&x, "en:u:bad", 8, 1.0f);
	feature(&x, "en:u:bad", 8, 2.0f);
	refused(&x, "twice");
}

/* Only Dutch terms: the English texts find no theme, the Dutch ones do. */
static void test_taxonomy_one_language(void **state)
{
	(void)state;
	static const char tax[] =
		"{\"version\":1,\"themes\":[{\"id\":\"parking\",\"label\":{\"nl\":\"Parkeren\",\"en\":\"Parking\"},"
		"\"subthemes\":[{\"id\":\"shop\",\"label\":{\"nl\":\"Winkel\",\"en\":\"Shop\"},"
		"\"terms\":{\"nl\":[\"parkeren\"]}}]}]}";
	text_ctx *ctx;
	text_worker *w;
	ks_error err = { 0 };
	assert_int_equal(text_ctx_new(&ctx, tax, &err), KS_OK);
	assert_int_equal(text_worker_new(ctx, &w, &err), KS_OK);
	text_result r;
	assert_int_equal(text_analyze(w, "Nergens te parkeren bij de winkel.", 34, TEXT_LANG_NL, true, &r, &err),
			 KS_OK);
	assert_int_equal(r.n_themes, 1);
	assert_string_equal(r.themes[0].theme, "parking");
	assert_string_equal(r.themes[0].subtheme, "shop");
	text_result_free(&r);
	assert_int_equal(text_analyze(w, "Parking near the shop is impossible.", 36, TEXT_LANG_EN, true, &r,
				      &err), KS_OK);
	assert_int_equal(r.n_themes, 0);
	text_result_free(&r);
	text_worker_free(w);
	text_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_taxonomy_one_language),
		cmocka_unit_test(test_valid_round_trip),
		cmocka_unit_test(test_nul_in_name),
		cmocka_unit_test(test_not_finite),
		cmocka_unit_test(test_feature_twice),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
