/* text.c — the context, the per-thread worker and text_analyze, which runs
 * the pipeline: language, tokens, clause sentiment, themes, model. */
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>

#include "text/text_int.h"

/* ---- text_map ---------------------------------------------------------- */

uint64_t text_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static ks_err map_grow(text_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	char **keys = calloc(cap, sizeof *keys);
	int *vals = calloc(cap, sizeof *vals);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return KS_ERR_NOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = text_hash(m->keys[i], strlen(m->keys[i])) & (cap - 1);
		while (keys[j])
			j = (j + 1) & (cap - 1);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return KS_OK;
}

ks_err text_map_put(text_map *m, const char *key, size_t klen, int val)
{
	if ((m->n + 1) * 2 > m->cap && map_grow(m) != KS_OK)
		return KS_ERR_NOMEM;
	size_t j = text_hash(key, klen) & (m->cap - 1);
	while (m->keys[j]) {
		if (strlen(m->keys[j]) == klen && memcmp(m->keys[j], key, klen) == 0) {
			m->vals[j] = val;
			return KS_OK;
		}
		j = (j + 1) & (m->cap - 1);
	}
	char *k = malloc(klen + 1);
	if (!k)
		return KS_ERR_NOMEM;
	memcpy(k, key, klen);
	k[klen] = '\0';
	m->keys[j] = k;
	m->vals[j] = val;
	m->n++;
	return KS_OK;
}

int text_map_get(const text_map *m, const char *key, size_t klen)
{
	if (!m->cap)
		return -1;
	size_t j = text_hash(key, klen) & (m->cap - 1);
	while (m->keys[j]) {
		if (strncmp(m->keys[j], key, klen) == 0 && m->keys[j][klen] == '\0')
			return m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	return -1;
}

void text_map_free(text_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- names ------------------------------------------------------------- */

const char *text_lang_name(text_lang l)
{
	switch (l) {
	case TEXT_LANG_NL: return "nl";
	case TEXT_LANG_EN: return "en";
	case TEXT_LANG_OTHER: return "other";
	default: return "auto";
	}
}

const char *text_lang_source_name(text_lang_source s)
{
	switch (s) {
	case TEXT_LANG_FROM_NGRAMS: return "ngrams";
	case TEXT_LANG_FROM_WORDS: return "words";
	case TEXT_LANG_FROM_PRIOR: return "prior";
	default: return "default";
	}
}

const char *text_label_name(text_label l)
{
	return l == TEXT_NEGATIVE ? "negative" : l == TEXT_POSITIVE ? "positive" : "neutral";
}

text_label text_label_from_nps(int nps)
{
	return nps <= 6 ? TEXT_NEGATIVE : nps <= 8 ? TEXT_NEUTRAL : TEXT_POSITIVE;
}

/* ---- context and worker ------------------------------------------------- */

ks_err text_ctx_new(text_ctx **out, const char *taxonomy_json, ks_error *err)
{
	*out = NULL;
	text_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	/* building needs stemmers: a worker on the half-built context */
	text_worker *w = NULL;
	ks_err rc = text_worker_new(ctx, &w, err);
	if (rc == KS_OK)
		rc = text_lang_load(ctx, err);
	if (rc == KS_OK)
		rc = text_lexicon_build(ctx, w, err);
	if (rc == KS_OK)
		rc = text_vocab_build(ctx, w, err);
	if (rc == KS_OK)
		rc = text_taxonomy_parse(ctx, w, taxonomy_json ? taxonomy_json : text_taxonomy_default, err);
	text_worker_free(w);
	if (rc != KS_OK) {
		text_ctx_free(ctx);
		return rc;
	}
	*out = ctx;
	return KS_OK;
}

void text_ctx_free(text_ctx *ctx)
{
	if (!ctx)
		return;
	text_lang_free(ctx);
	for (int i = 0; i < 2; i++) {
		text_map_free(&ctx->lex[i]);
		text_map_free(&ctx->known[i]);
		text_map_free(&ctx->vocab[i]);
	}
	text_map_free(&ctx->stem_ids);
	text_taxonomy_free(&ctx->tax);
	text_model_free(ctx->model);
	free(ctx);
}

void text_ctx_set_model(text_ctx *ctx, text_model *m)
{
	text_model_free(ctx->model);
	ctx->model = m;
}

const text_model *text_ctx_model(const text_ctx *ctx)
{
	return ctx->model;
}

ks_err text_worker_new(const text_ctx *ctx, text_worker **out, ks_error *err)
{
	*out = NULL;
	text_worker *w = calloc(1, sizeof *w);
	if (!w)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	w->ctx = ctx;
	w->stem[TEXT_NL] = sb_stemmer_new("dutch", "UTF_8");
	w->stem[TEXT_EN] = sb_stemmer_new("english", "UTF_8");
	if (!w->stem[TEXT_NL] || !w->stem[TEXT_EN]) {
		text_worker_free(w);
		return ks_fail(err, KS_ERR_INTERNAL, NULL, "libstemmer has no dutch/english stemmer");
	}
	*out = w;
	return KS_OK;
}

void text_worker_free(text_worker *w)
{
	if (!w)
		return;
	for (int i = 0; i < 2; i++)
		if (w->stem[i])
			sb_stemmer_delete(w->stem[i]);
	free(w->chars);
	free(w->toks);
	free(w->clauses);
	free(w->clean);
	free(w);
}

void text_result_free(text_result *r)
{
	if (!r)
		return;
	free(r->themes);
	r->themes = NULL;
	r->n_themes = 0;
}

ks_err text_analyze(text_worker *w, const char *text, size_t len, text_lang prior,
                    bool force, text_result *out, ks_error *err)
{
	memset(out, 0, sizeof *out);
	if (force && (prior == TEXT_LANG_NL || prior == TEXT_LANG_EN)) {
		out->lang = prior;
		out->lang_source = TEXT_LANG_FROM_PRIOR;
	} else {
		out->lang = text_detect(w, text, len, prior, &out->lang_source);
	}
	int li = text_li(out->lang);
	ks_err rc = text_tokenise(w, text, len, li, err);
	if (rc != KS_OK)
		return rc;
	out->n_tokens = w->n_toks;
	double lex = text_sentiment(w, li);
	out->score = lex;
	out->label = text_label_of(lex);
	if (w->ctx->model && out->lang != TEXT_LANG_OTHER && w->n_toks > 0) {
		out->score = text_model_predict(w, w->ctx->model, li, lex, &out->label);
		out->from_model = true;
	}
	return text_themes(w, li, out, err);
}
