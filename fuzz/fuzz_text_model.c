/* fuzz_text_model.c — the sentiment model's blob (issue 14):
 * text_model_load (src/text/model.c) on any bytes, as from a --model FILE
 * or a database column.
 *
 * Input: the blob.
 * Oracles: a blob is loaded, or refused as KS_ERR_INVALID naming "model";
 * a loaded model saves back to the same bytes, reports as many features
 * as the blob declares, lists its strongest features without reading past
 * them, and in a context it scores texts within the contract of text.h (a
 * label, a score in [-1, 1], from_model for nl/en texts).
 */
#include <math.h>

#include "fuzz_util.h"
#include "text/text.h"

/* One context and worker for the process: a loaded model is given to the
 * context for its input and taken back (freed) after, as a retrain does. */
static text_ctx *fz_ctx;
static text_worker *fz_w;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ks_error err = { 0 };
	if (text_ctx_new(&fz_ctx, NULL, &err) != KS_OK || text_worker_new(fz_ctx, &fz_w, &err) != KS_OK)
		fz_fail("context: %s", err.message);
	return 0;
}

static void fz_score(text_worker *w, const char *t)
{
	text_result r;
	ks_error err = { 0 };
	if (text_analyze(w, t, strlen(t), TEXT_LANG_AUTO, false, &r, &err) != KS_OK)
		fz_fail("analyze: %s", err.message);
	if (r.label < TEXT_NEGATIVE || r.label > TEXT_POSITIVE || !(r.score >= -1 && r.score <= 1))
		fz_fail("'%s' scored %g, label %d", t, r.score, (int)r.label);
	if ((r.lang == TEXT_LANG_NL || r.lang == TEXT_LANG_EN) && !r.from_model)
		fz_fail("'%s' not scored by the loaded model", t);
	text_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	text_model *m = NULL;
	ks_error err = { 0 };
	ks_err rc = text_model_load(data, size, &m, &err);
	if (rc != KS_OK) {
		if (rc != KS_ERR_INVALID || strcmp(err.field, "model") != 0 || m != NULL)
			fz_fail("refused with error %d, field '%s': %s", (int)rc, err.field, err.message);
		return 0;
	}
	unsigned char *blob = NULL;
	size_t len = 0;
	if (text_model_save(m, &blob, &len, &err) != KS_OK)
		fz_fail("save: %s", err.message);
	if (len != size || memcmp(blob, data, size) != 0)
		fz_fail("saved %zu bytes differ from the %zu loaded", len, size);
	free(blob);
	uint32_t nf = (uint32_t)data[8] | (uint32_t)data[9] << 8 | (uint32_t)data[10] << 16 |
		      (uint32_t)data[11] << 24;
	if ((uint32_t)text_model_n_features(m) != nf)
		fz_fail("%d features, the blob declares %u", text_model_n_features(m), nf);
	static const text_lang langs[] = { TEXT_LANG_NL, TEXT_LANG_EN, TEXT_LANG_AUTO };
	for (int c = 0; c < TEXT_N_LABELS; c++)
		for (int l = 0; l < 3; l++) {
			const char *names[4];
			double wt[4];
			int k = text_model_top(m, (text_label)c, langs[l], 4, names, wt);
			if (k < 0 || k > 4)
				fz_fail("text_model_top gave %d of 4", k);
			for (int i = 0; i < k; i++)
				if (names[i] == NULL)
					fz_fail("text_model_top: name %d is NULL", i);
		}
	text_ctx_set_model(fz_ctx, m);  /* takes m */
	fz_score(fz_w, "De monteur was heel vriendelijk, maar het duurde veel te lang.");
	fz_score(fz_w, "The invoice was wrong again and nobody called me back.");
	text_ctx_set_model(fz_ctx, NULL);  /* frees m */
	return 0;
}
