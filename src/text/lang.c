/* lang.c — language: nl / en / other, from libexttextcat's n-gram
 * profiles plus the customer's stated language as a prior.
 *
 * The rule (docs/TEXT.md, "Language"):
 *  - at least 4 words known only in nl (or en), making 40% of the words,
 *    and at most a quarter as many of the other language: that language
 *    ("words"), whatever the prior.
 *  - 25 letters or more: the profile nearest the text (Cavnar-Trenkle
 *    out-of-place distance over nl, en and twelve other languages) wins,
 *    unless the prior's profile is within 3% of it, or more known words
 *    are of the prior's language than of the other (then the prior).
 *    When a quarter of the words are known nl or en words, only the nl
 *    and en profiles are compared (it is not another language).
 *  - shorter: n-grams of "Top!" or "ok" say nothing. Words known in only
 *    one of nl/en (lexicon and function words) decide when there is no
 *    prior, or when at least two of them contradict the prior and none
 *    support it; otherwise the prior; with neither, n-grams between nl and
 *    en from 10 letters on, else nl (the platform's first language).
 *
 * The fingerprints are loaded once and only read afterwards; each call
 * builds its own fingerprint of the text, so detection is thread-safe
 * (textcat_Classify is not: its handle holds scratch). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libexttextcat/fingerprint.h>
#include <utf8proc.h>

#include "text/text_int.h"

#define LANG_MAXNGRAMS 400
#define LANG_LONG_LETTERS 25
#define LANG_MID_LETTERS 10
#define LANG_WORDS_ENOUGH 4

static const struct { const char *file; text_lang lang; } profiles[TEXT_N_PROFILES] = {
	{ "nl.lm", TEXT_LANG_NL }, { "en.lm", TEXT_LANG_EN }, { "de.lm", TEXT_LANG_OTHER },
	{ "fr.lm", TEXT_LANG_OTHER }, { "es.lm", TEXT_LANG_OTHER }, { "it.lm", TEXT_LANG_OTHER },
	{ "pt.lm", TEXT_LANG_OTHER }, { "da.lm", TEXT_LANG_OTHER }, { "sv.lm", TEXT_LANG_OTHER },
	{ "nb.lm", TEXT_LANG_OTHER }, { "pl.lm", TEXT_LANG_OTHER }, { "tr.lm", TEXT_LANG_OTHER },
	{ "ar.lm", TEXT_LANG_OTHER }, { "fy.lm", TEXT_LANG_OTHER },
};

ks_err text_lang_load(text_ctx *ctx, ks_error *err)
{
	const char *dir = getenv("KS_TEXTCAT_DIR");
	if (!dir || !*dir)
		dir = "/usr/share/libexttextcat";
	for (int i = 0; i < TEXT_N_PROFILES; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, profiles[i].file);
		void *fp = fp_Init(profiles[i].file);
		if (!fp)
			return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
		fp_SetProperty(fp, TCPROP_UTF8AWARE, TC_TRUE);
		if (fp_Read(fp, path, LANG_MAXNGRAMS) == 0) {
			fp_Done(fp);
			return ks_fail(err, KS_ERR_IO, NULL,
			               "cannot read the language profile %s (package libexttextcat-data)", path);
		}
		ctx->fp[ctx->n_fp] = fp;
		ctx->fp_lang[ctx->n_fp++] = profiles[i].lang;
	}
	return KS_OK;
}

void text_lang_free(text_ctx *ctx)
{
	for (int i = 0; i < ctx->n_fp; i++)
		fp_Done(ctx->fp[i]);
	ctx->n_fp = 0;
}

/* Distances to each profile; false when the text gives no n-grams. */
static bool ngram_scores(const text_ctx *ctx, const char *text, size_t len, bool nl_en_only,
                         int *dist)
{
	void *fp = fp_Init(NULL);
	if (!fp)
		return false;
	fp_SetProperty(fp, TCPROP_UTF8AWARE, TC_TRUE);
	fp_SetProperty(fp, TCPROP_MINIMUM_DOCUMENT_SIZE, 1);
	bool ok = fp_Create(fp, text, (uint4)(len > 4096 ? 4096 : len), LANG_MAXNGRAMS) != 0;
	for (int i = 0; ok && i < ctx->n_fp; i++)
		dist[i] = nl_en_only && ctx->fp_lang[i] == TEXT_LANG_OTHER
		          ? INT_MAX : fp_Compare(ctx->fp[i], fp, INT_MAX);
	fp_Done(fp);
	return ok;
}

static int best_of(const text_ctx *ctx, const int *dist, bool nl_en_only)
{
	int best = -1;
	for (int i = 0; i < ctx->n_fp; i++) {
		if (nl_en_only && ctx->fp_lang[i] == TEXT_LANG_OTHER)
			continue;
		if (best < 0 || dist[i] < dist[best])
			best = i;
	}
	return best;
}

static int dist_of(const text_ctx *ctx, const int *dist, text_lang l)
{
	for (int i = 0; i < ctx->n_fp; i++)
		if (ctx->fp_lang[i] == l)
			return dist[i];
	return INT_MAX;
}

/* Counts letters and words known in only nl / only en. */
static void word_evidence(const text_ctx *ctx, const char *text, size_t len, int *letters,
                          int *words, int *only_nl, int *only_en)
{
	*letters = *words = *only_nl = *only_en = 0;
	char *s = text_normalise(text, len);
	if (!s)
		return;
	size_t n = strlen(s), i = 0, ws = 0;
	bool inword = false;
	while (i <= n) {
		utf8proc_int32_t cp = 0;
		utf8proc_ssize_t k = 1;
		if (i < n) {
			k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
			if (k <= 0)
				k = 1;
		}
		utf8proc_category_t c = i < n ? utf8proc_category(cp) : UTF8PROC_CATEGORY_CN;
		bool letter = c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
		bool apos = cp == '\'' && inword;
		if (letter)
			(*letters)++;
		if ((letter || apos) && !inword) {
			inword = true;
			ws = i;
		} else if (!(letter || apos) && inword) {
			inword = false;
			(*words)++;
			bool nl = text_map_get(&ctx->known[TEXT_NL], s + ws, i - ws) >= 0;
			bool en = text_map_get(&ctx->known[TEXT_EN], s + ws, i - ws) >= 0;
			*only_nl += nl && !en;
			*only_en += en && !nl;
		}
		i += (size_t)k;
	}
	free(s);
}

text_lang text_detect(const text_worker *w, const char *text, size_t len, text_lang prior,
                      text_lang_source *src)
{
	const text_ctx *ctx = w->ctx;
	int dist[TEXT_N_PROFILES];
	int letters, words, only_nl, only_en;
	word_evidence(ctx, text, len, &letters, &words, &only_nl, &only_en);
	bool has_prior = prior == TEXT_LANG_NL || prior == TEXT_LANG_EN || prior == TEXT_LANG_OTHER;
	/* many words of one language, few of the other: no need for n-grams
	 * (they cost two thirds of the analysis of a short comment) */
	int most = only_nl > only_en ? only_nl : only_en, least = only_nl + only_en - most;
	if (most >= LANG_WORDS_ENOUGH && 5 * most >= 2 * words && 4 * least <= most) {
		*src = TEXT_LANG_FROM_WORDS;
		return only_nl > only_en ? TEXT_LANG_NL : TEXT_LANG_EN;
	}
	int against = prior == TEXT_LANG_NL ? only_en : prior == TEXT_LANG_EN ? only_nl : 0;
	int support = prior == TEXT_LANG_NL ? only_nl : prior == TEXT_LANG_EN ? only_en : 0;
	/* a quarter of the words known in nl or en: not another language,
	 * so only two of the fourteen profiles are compared */
	bool nl_en = 4 * (only_nl + only_en) >= words;
	if (letters >= LANG_LONG_LETTERS && ngram_scores(ctx, text, len, nl_en, dist)) {
		int b = best_of(ctx, dist, nl_en);
		/* the prior stands when its profile is within 3% of the best, or
		 * when the known words side with it ("Top service! Heel prettig
		 * contact." is nearer English by n-grams) */
		if (has_prior && ((double)dist_of(ctx, dist, prior) <= 1.03 * dist[b] || support > against)) {
			*src = TEXT_LANG_FROM_PRIOR;
			return prior;
		}
		*src = TEXT_LANG_FROM_NGRAMS;
		return ctx->fp_lang[b];
	}
	if (has_prior) {
		if (against >= 2 && support == 0) {
			*src = TEXT_LANG_FROM_WORDS;
			return prior == TEXT_LANG_NL ? TEXT_LANG_EN : TEXT_LANG_NL;
		}
		*src = TEXT_LANG_FROM_PRIOR;
		return prior;
	}
	if (only_nl != only_en) {
		*src = TEXT_LANG_FROM_WORDS;
		return only_nl > only_en ? TEXT_LANG_NL : TEXT_LANG_EN;
	}
	if (letters >= LANG_MID_LETTERS && ngram_scores(ctx, text, len, true, dist)) {
		*src = TEXT_LANG_FROM_NGRAMS;
		return ctx->fp_lang[best_of(ctx, dist, true)];
	}
	*src = TEXT_LANG_FROM_DEFAULT;
	return TEXT_LANG_NL;
}
