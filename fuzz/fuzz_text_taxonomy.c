/* fuzz_text_taxonomy.c — the organisation's taxonomy (issue 14): any text
 * given to text_ctx_new (src/text/themes.c), as `klantstem text --taxonomy
 * FILE` and the store's taxonomy do; deep nesting and huge arrays included.
 *
 * Input: the taxonomy JSON (NUL-terminated copy).
 * Oracles: a taxonomy is accepted, or refused as KS_ERR_INVALID with a
 * message and the path of the bad field (docs/TEXT.md), or as
 * KS_ERR_BADJSON (field "taxonomy") when it is not JSON — never another
 * error. An accepted one analyses texts (the input itself and fixed ones in
 * both languages) into results within the contract of text.h: a known
 * language and label, scores in [-1, 1], and theme hits whose ids are
 * taxonomy ids (a-z 0-9 _, 1..64) with at least one mention each.
 */
#include <math.h>

#include "fuzz_util.h"
#include "text/text.h"

static bool fz_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
			return false;
	return true;
}

static void fz_check(text_worker *w, const char *t, size_t len, text_lang prior)
{
	text_result r;
	ks_error err = { 0 };
	if (text_analyze(w, t, len, prior, false, &r, &err) != KS_OK)
		fz_fail("analyze failed: %s", err.message);
	if (r.lang < TEXT_LANG_NL || r.lang > TEXT_LANG_OTHER || r.label < TEXT_NEGATIVE ||
	    r.label > TEXT_POSITIVE || !(r.score >= -1 && r.score <= 1) || r.n_themes < 0)
		fz_fail("result out of contract: lang %d label %d score %g themes %d", (int)r.lang,
			(int)r.label, r.score, r.n_themes);
	for (int i = 0; i < r.n_themes; i++) {
		const text_theme_hit *h = &r.themes[i];
		if (!fz_id_ok(h->theme) || !fz_id_ok(h->subtheme) || h->mentions < 1 ||
		    !(h->score >= -1 && h->score <= 1) || h->label < TEXT_NEGATIVE || h->label > TEXT_POSITIVE)
			fz_fail("theme hit %d out of contract: %s/%s mentions %d score %g", i,
				h->theme ? h->theme : "(null)", h->subtheme ? h->subtheme : "(null)",
				h->mentions, h->score);
	}
	text_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fz_cstr(data, size);
	text_ctx *ctx = NULL;
	ks_error err = { 0 };
	ks_err rc = text_ctx_new(&ctx, json, &err);
	if (rc != KS_OK) {
		if ((rc != KS_ERR_INVALID && rc != KS_ERR_BADJSON) || err.message[0] == '\0' ||
		    err.field[0] == '\0')
			fz_fail("taxonomy refused with error %d, field '%s': %s", (int)rc, err.field,
				err.message);
		if (ctx != NULL)
			fz_fail("a refused taxonomy left a context");
		free(json);
		return 0;
	}
	text_worker *w;
	if (text_worker_new(ctx, &w, &err) != KS_OK)
		fz_fail("worker: %s", err.message);
	fz_check(w, json, strlen(json), TEXT_LANG_NL);
	fz_check(w, json, strlen(json), TEXT_LANG_EN);
	static const char *const fixed[] = {
		"De monteur was vriendelijk, maar het duurde veel te lang.",
		"Niet slecht, de factuur klopte en de app werkt prima.",
		"Not bad at all, but the engineer was late and the invoice is wrong.",
	};
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		fz_check(w, fixed[i], strlen(fixed[i]), TEXT_LANG_AUTO);
	text_worker_free(w);
	text_ctx_free(ctx);
	free(json);
	return 0;
}
