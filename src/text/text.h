/* text.h — text understanding (issue 14): language, sentiment and themes of
 * one free-text answer. The contract the CLI uses now and the store and the
 * API can call next.
 *
 * Threads: a text_ctx is built once (language profiles, lexicon, taxonomy,
 * optionally a trained model) and is read-only afterwards, so any number of
 * threads share it. The stemmers and n-gram scratch of libstemmer and
 * libexttextcat are not thread-safe, so each thread owns a text_worker made
 * from the context. There is no global mutable state.
 *
 *   text_ctx *ctx; text_ctx_new(&ctx, NULL, &err);        // default taxonomy
 *   text_worker *w; text_worker_new(ctx, &w, &err);        // one per thread
 *   text_result r; text_analyze(w, "Top!", 4, TEXT_LANG_NL, &r, &err);
 *   ... r.lang, r.label, r.score, r.themes[0..r.n_themes) ...
 *   text_result_free(&r); text_worker_free(w); text_ctx_free(ctx);
 *
 * Pipeline and data licences: docs/TEXT.md.
 */
#ifndef KS_TEXT_H
#define KS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum text_lang {
	TEXT_LANG_AUTO = 0,   /* as a prior: none given */
	TEXT_LANG_NL,
	TEXT_LANG_EN,
	TEXT_LANG_OTHER
} text_lang;

/* How the language was decided (docs/TEXT.md, "Language"). */
typedef enum text_lang_source {
	TEXT_LANG_FROM_NGRAMS = 0, /* libexttextcat was confident */
	TEXT_LANG_FROM_WORDS,      /* short text: known words of one language */
	TEXT_LANG_FROM_PRIOR,      /* short or ambiguous: the stated language */
	TEXT_LANG_FROM_DEFAULT     /* short, no prior, no known words: nl */
} text_lang_source;

typedef enum text_label {
	TEXT_NEGATIVE = 0,
	TEXT_NEUTRAL = 1,
	TEXT_POSITIVE = 2
} text_label;
#define TEXT_N_LABELS 3

typedef struct text_theme_hit {
	const char *theme;     /* taxonomy ids; point into the context */
	const char *subtheme;
	int mentions;
	double score;          /* mean of the clauses it stands in, [-1, 1] */
	text_label label;
} text_theme_hit;

typedef struct text_result {
	text_lang lang;
	text_lang_source lang_source;
	text_label label;
	double score;          /* [-1, 1] */
	bool from_model;       /* false: lexicon only */
	int n_tokens;
	text_theme_hit *themes; /* owned; free with text_result_free */
	int n_themes;
} text_result;

typedef struct text_ctx text_ctx;
typedef struct text_worker text_worker;
typedef struct text_model text_model;

/* Builds a context. taxonomy_json: NULL for the shipped default
 * (customer service), else the organisation's taxonomy; on a bad taxonomy
 * returns KS_ERR_INVALID with err->field the JSON path of the bad field
 * (e.g. "themes[2].subthemes[0].terms.nl[1]"). The language profiles come
 * from libexttextcat's data (KS_TEXTCAT_DIR overrides
 * /usr/share/libexttextcat). *out is owned by the caller. */
ks_err text_ctx_new(text_ctx **out, const char *taxonomy_json, ks_error *err);
void text_ctx_free(text_ctx *ctx);

/* Gives the context a trained model (ownership passes to ctx; NULL removes
 * it). Call before sharing ctx between threads. */
void text_ctx_set_model(text_ctx *ctx, text_model *m);
const text_model *text_ctx_model(const text_ctx *ctx);

/* Per-thread scratch; ctx must outlive it. */
ks_err text_worker_new(const text_ctx *ctx, text_worker **out, ks_error *err);
void text_worker_free(text_worker *w);

/* Analyses text[0..len) (UTF-8; invalid bytes are skipped). prior is the
 * customer's stated language or TEXT_LANG_AUTO; force: when true the prior
 * is taken as the answer (the CLI's --lang nl|en). *out is overwritten
 * (free it with text_result_free). */
ks_err text_analyze(text_worker *w, const char *text, size_t len, text_lang prior,
                    bool force, text_result *out, ks_error *err);
void text_result_free(text_result *r);

const char *text_lang_name(text_lang l);        /* "nl", "en", "other", "auto" */
const char *text_lang_source_name(text_lang_source s);
const char *text_label_name(text_label l);      /* "negative", ... */

/* ---- the model (model.c) ----------------------------------------------- */

typedef struct text_example {
	const char *text;
	size_t len;
	text_label label;
	text_lang prior;
} text_example;

typedef struct text_train_opts {
	int min_examples;   /* fewer labelled texts: KS_ERR_RANGE (default 100) */
	int min_per_class;  /* fewer of any class: KS_ERR_RANGE (default 10) */
	double c;           /* inverse L2 strength as in liblinear (default 1) */
	int iterations;     /* full-batch accelerated gradient steps (default 300) */
	int min_count;      /* a feature needs this many texts (default 2) */
} text_train_opts;

/* Fills *o with the defaults above. */
void text_train_opts_default(text_train_opts *o);

/* Trains an L2-regularised multinomial logistic regression over stems,
 * bigrams and the lexicon's score on ex[0..n) analysed with w (whose
 * context's own model is not used). Deterministic. *out owned by caller. */
ks_err text_model_train(text_worker *w, const text_example *ex, int n,
                        const text_train_opts *o, text_model **out, ks_error *err);
void text_model_free(text_model *m);

/* A blob the store can keep: *blob is malloc'ed, owned by the caller. */
ks_err text_model_save(const text_model *m, unsigned char **blob, size_t *len,
                       ks_error *err);
/* KS_ERR_INVALID (field "model") on a blob that is not a model. */
ks_err text_model_load(const unsigned char *blob, size_t len, text_model **out,
                       ks_error *err);

size_t text_model_bytes(const text_model *m);    /* memory it holds */
int text_model_n_features(const text_model *m);
int text_model_n_examples(const text_model *m);

/* The k strongest features (largest weight) of class c among features of
 * language l (TEXT_LANG_AUTO: language-free features such as the
 * lexicon's). names[i] point into m. Returns how many were written. */
int text_model_top(const text_model *m, text_label c, text_lang l, int k,
                   const char **names, double *weights);

typedef struct text_eval {
	int n;
	int confusion[TEXT_N_LABELS][TEXT_N_LABELS]; /* [true][predicted] */
	double accuracy;
	double macro_f1;
	int n_lexicon_correct; /* the lexicon alone on the same folds */
	double lexicon_macro_f1;
} text_eval;

/* Stratified k-fold cross-validation (example i of class c goes to fold
 * (rank of i within c) mod k). Fills *out. */
ks_err text_model_evaluate(text_worker *w, const text_example *ex, int n, int folds,
                           const text_train_opts *o, text_eval *out, ks_error *err);

/* Label from an NPS (0-6 / 7-8 / 9-10). */
text_label text_label_from_nps(int nps);

#endif
