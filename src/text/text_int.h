/* text_int.h — internals shared by the files of src/text (not a contract:
 * other modules include text.h only). */
#ifndef KS_TEXT_INT_H
#define KS_TEXT_INT_H

#include "text/text.h"

/* ---- a string -> int map (open addressing, FNV-1a), built once, then
 * read-only (so lookups are thread-safe). Keys are copied. */
typedef struct text_map {
	char **keys;
	int *vals;
	size_t cap;  /* power of two */
	size_t n;
} text_map;
ks_err text_map_put(text_map *m, const char *key, size_t klen, int val);
/* Returns the value or -1 when absent. */
int text_map_get(const text_map *m, const char *key, size_t klen);
void text_map_free(text_map *m);
uint64_t text_hash(const char *s, size_t n);

/* Which analysis language a text_lang maps to (other -> en). */
#define TEXT_NL 0
#define TEXT_EN 1
static inline int text_li(text_lang l) { return l == TEXT_LANG_NL ? TEXT_NL : TEXT_EN; }

/* ---- tokens (norm.c) ---------------------------------------------------- */
enum {
	TOK_PART = 1,       /* a part of a split compound */
	TOK_NEGATED = 2,    /* inside a negation's scope (sentiment.c) */
};
typedef struct text_tok {
	int norm;      /* offset of the normalised word in w->chars */
	int stem;      /* offset of its stem */
	int clause;    /* clause number */
	int flags;
} text_tok;

typedef struct text_clause {
	double weight;   /* contrast: after maar/but 2, before 0.5, else 1 */
	double score;    /* lexicon score, [-1, 1] */
	int n_sent;      /* sentiment words in it */
} text_clause;

/* ---- the taxonomy (themes.c) -------------------------------------------- */
typedef struct text_term {
	int theme, sub;
	int n;           /* stems in the phrase */
	int stems[6];    /* ids in ctx->stem_ids */
} text_term;

typedef struct text_sub {
	char *id;
	char *label[2];
} text_sub;
typedef struct text_theme {
	char *id;
	char *label[2];
	text_sub *subs;
	int n_subs;
} text_theme;

typedef struct text_taxonomy {
	text_theme *themes;
	int n_themes;
	text_term *terms[2];   /* per language, sorted by first stem id */
	int n_terms[2];
	text_map first[2];     /* first stem id (as text) -> index of first term */
} text_taxonomy;

#define TEXT_N_PROFILES 14
struct text_ctx {
	void *fp[TEXT_N_PROFILES];  /* libexttextcat fingerprints, read-only */
	text_lang fp_lang[TEXT_N_PROFILES];
	int n_fp;
	text_map lex[2];        /* stem -> valence * 100 + 1000 */
	text_map known[2];      /* normalised word -> 1: words of that language */
	text_map vocab[2];      /* stems a compound may be split into */
	text_map stem_ids;      /* stem (any language) -> id, for terms */
	text_taxonomy tax;
	text_model *model;
};

struct text_worker {
	const text_ctx *ctx;
	struct sb_stemmer *stem[2];
	char *chars; size_t n_chars, cap_chars;
	text_tok *toks; int n_toks, cap_toks;
	text_clause *clauses; int n_clauses, cap_clauses;
	char *clean; size_t cap_clean;
};

/* norm.c: normalise, tokenise, stem, split compounds into w->toks. */
ks_err text_tokenise(text_worker *w, const char *text, size_t len, int li, ks_error *err);
/* Stems one normalised word with the worker's stemmer; returns a pointer
 * into the stemmer (valid until its next call) and its length in *n. */
const char *text_stem(text_worker *w, int li, const char *word, size_t len, int *n);
/* Normalises s into a malloc'ed string (NFC, case-folded, marks stripped). */
char *text_normalise(const char *s, size_t len);
static inline const char *tok_norm(const text_worker *w, const text_tok *t) { return w->chars + t->norm; }
static inline const char *tok_stem(const text_worker *w, const text_tok *t) { return w->chars + t->stem; }
bool text_is_contrast(const char *norm);
/* The tokeniser's character rules (norm.c), for code that reads the
 * original spelling (discover.c). */
bool text_is_word_cp(int32_t cp);
bool text_is_clause_break(int32_t cp);
ks_err text_vocab_build(text_ctx *ctx, text_worker *w, ks_error *err);
/* Is the normalised word a compound of known parts? (nl only) */
bool text_splits(text_worker *w, const char *word, size_t len);

/* lang.c */
ks_err text_lang_load(text_ctx *ctx, ks_error *err);
void text_lang_free(text_ctx *ctx);
text_lang text_detect(const text_worker *w, const char *text, size_t len, text_lang prior,
                      text_lang_source *src);

/* sentiment.c / lexicon.c */
ks_err text_lexicon_build(text_ctx *ctx, text_worker *w, ks_error *err);
/* Scores the clauses of w->toks; returns the text's lexicon score. */
double text_sentiment(text_worker *w, int li);
text_label text_label_of(double score);

/* themes.c */
ks_err text_taxonomy_parse(text_ctx *ctx, text_worker *w, const char *json, ks_error *err);
void text_taxonomy_free(text_taxonomy *t);
ks_err text_themes(const text_worker *w, int li, text_result *r, ks_error *err);
extern const char text_taxonomy_default[];

/* model.c */
double text_model_predict(text_worker *w, const text_model *m, int li, double lex,
                          text_label *label);

/* lexicon data (lexicon.c) */
typedef struct text_lex_entry { const char *word; int valence; } text_lex_entry;
extern const text_lex_entry text_lex_nl[], text_lex_en[];
extern const char *const text_negators[2][16], *const text_intensifiers[2][24],
	*const text_downtoners[2][16], *const text_function_words[2][80],
	*const text_compound_parts[];

#endif
