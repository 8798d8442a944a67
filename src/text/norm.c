/* norm.c — normalisation (utf8proc: NFC, case folding, marks stripped),
 * tokens, Snowball stems (libstemmer), clauses and Dutch compounds.
 *
 * Compounds: a Dutch word whose stem is not known is split into the
 * longest known head and a known tail, with an optional linking -s- or
 * -en- between ("klantenservice" -> klant + service, "wachttijd" ->
 * wacht + tijd). "Known" means: in the vocabulary of compound parts, the
 * sentiment lexicon, or the taxonomy's one-word terms (docs/TEXT.md). */
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>

#include "text/text_int.h"

char *text_normalise(const char *s, size_t len)
{
	/* utf8proc_map refuses invalid UTF-8 as a whole: drop the bad bytes */
	char *clean = malloc(len + 1);
	if (!clean)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		                                      (utf8proc_ssize_t)(len - i), &cp);
		if (k <= 0) {
			i++;
			continue;
		}
		if (cp != 0) {
			memcpy(clean + n, s + i, (size_t)k);
			n += (size_t)k;
		}
		i += (size_t)k;
	}
	clean[n] = '\0';
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)clean, (utf8proc_ssize_t)n, &out,
	                                  UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
	                                  UTF8PROC_STRIPMARK);
	free(clean);
	if (r < 0)
		return NULL;
	return (char *)out;
}

const char *text_stem(text_worker *w, int li, const char *word, size_t len, int *n)
{
	const sb_symbol *s = sb_stemmer_stem(w->stem[li], (const sb_symbol *)word, (int)len);
	if (!s) {
		*n = (int)len;
		return word;
	}
	*n = sb_stemmer_length(w->stem[li]);
	return (const char *)s;
}

static ks_err push_chars(text_worker *w, const char *s, size_t n, int *off)
{
	if (w->n_chars + n + 1 > w->cap_chars) {
		size_t cap = w->cap_chars ? w->cap_chars : 1024;
		while (cap < w->n_chars + n + 1)
			cap *= 2;
		char *c = realloc(w->chars, cap);
		if (!c)
			return KS_ERR_NOMEM;
		w->chars = c;
		w->cap_chars = cap;
	}
	*off = (int)w->n_chars;
	memcpy(w->chars + w->n_chars, s, n);
	w->chars[w->n_chars + n] = '\0';
	w->n_chars += n + 1;
	return KS_OK;
}

static bool known_stem(const text_worker *w, int li, const char *s, int n)
{
	return text_map_get(&w->ctx->vocab[li], s, (size_t)n) >= 0 ||
	       text_map_get(&w->ctx->lex[li], s, (size_t)n) >= 0;
}

static ks_err push_tok(text_worker *w, int li, const char *word, size_t len, int flags)
{
	if (w->n_toks == w->cap_toks) {
		int cap = w->cap_toks ? w->cap_toks * 2 : 64;
		text_tok *t = realloc(w->toks, (size_t)cap * sizeof *t);
		if (!t)
			return KS_ERR_NOMEM;
		w->toks = t;
		w->cap_toks = cap;
	}
	text_tok *t = &w->toks[w->n_toks];
	t->clause = w->n_clauses - 1;
	t->flags = flags;
	int sn;
	if (push_chars(w, word, len, &t->norm) != KS_OK)
		return KS_ERR_NOMEM;
	const char *st = text_stem(w, li, word, len, &sn);
	/* Dutch past participles: "gewacht" -> "wacht" when that is known
	 * (Snowball keeps the prefix) */
	if (li == TEXT_NL && sn > 5 && st[0] == 'g' && st[1] == 'e' &&
	    (known_stem(w, li, st + 2, sn - 2) ||
	     text_map_get(&w->ctx->stem_ids, st + 2, (size_t)sn - 2) >= 0)) {
		st += 2;
		sn -= 2;
	}
	if (push_chars(w, st, (size_t)sn, &t->stem) != KS_OK)
		return KS_ERR_NOMEM;
	w->n_toks++;
	return KS_OK;
}

static ks_err new_clause(text_worker *w, double weight)
{
	/* an empty clause is reused */
	if (w->n_clauses > 0 && (w->n_toks == 0 || w->toks[w->n_toks - 1].clause < w->n_clauses - 1)) {
		if (weight > w->clauses[w->n_clauses - 1].weight)
			w->clauses[w->n_clauses - 1].weight = weight;
		return KS_OK;
	}
	if (w->n_clauses == w->cap_clauses) {
		int cap = w->cap_clauses ? w->cap_clauses * 2 : 16;
		text_clause *c = realloc(w->clauses, (size_t)cap * sizeof *c);
		if (!c)
			return KS_ERR_NOMEM;
		w->clauses = c;
		w->cap_clauses = cap;
	}
	w->clauses[w->n_clauses++] = (text_clause){ .weight = weight };
	return KS_OK;
}

static bool known_part(text_worker *w, const char *s, size_t n)
{
	if (n < 3)
		return false;
	int sn;
	const char *st = text_stem(w, TEXT_NL, s, n, &sn);
	return known_stem(w, TEXT_NL, st, sn);
}

/* Finds head/tail of a compound: returns the head's length and the tail's
 * offset, or 0. */
static size_t split_at(text_worker *w, const char *word, size_t len, size_t *tail)
{
	static const char *const links[] = { "", "s", "en" };
	for (size_t i = len - 3; i >= 3; i--) {
		if (((unsigned char)word[i] & 0xC0) == 0x80 || !known_part(w, word, i))
			continue;
		for (size_t k = 0; k < sizeof links / sizeof *links; k++) {
			size_t ll = strlen(links[k]);
			if (i + ll + 3 > len || strncmp(word + i, links[k], ll) != 0)
				continue;
			if (known_part(w, word + i + ll, len - i - ll)) {
				*tail = i + ll;
				return i;
			}
		}
	}
	return 0;
}

/* Longer words are never split: the longest Dutch compounds of customer
 * text are about 35 letters ("arbeidsongeschiktheidsverzekering" 33), and
 * split_at stems every prefix, so its cost grows with the square of the
 * length (a 20,000-letter "word" took 3 s under ASan; POST /text/analyze
 * takes 20,000 bytes). The known parts (lexicon, compound parts, taxonomy
 * terms) are at most about 35 letters in practice, so a word longer than
 * two of them does not split anyway: the limit changes the cost, not the
 * result. */
#define TEXT_COMPOUND_MAX 96

bool text_splits(text_worker *w, const char *word, size_t len)
{
	size_t tail;
	if (len < 6 || len > TEXT_COMPOUND_MAX)
		return false;
	int sn;
	const char *st = text_stem(w, TEXT_NL, word, len, &sn);
	if (known_stem(w, TEXT_NL, st, sn))
		return false;
	return split_at(w, word, len, &tail) > 0;
}

static ks_err add_word(text_worker *w, int li, const char *word, size_t len)
{
	if (text_is_contrast(word) && len == strlen(word)) {
		/* the clause before a contrast weighs less, the one after more */
		if (w->n_toks > 0)
			w->clauses[w->toks[w->n_toks - 1].clause].weight = 0.5;
		return new_clause(w, 2.0);
	}
	size_t tail;
	if (li == TEXT_NL && text_splits(w, word, len)) {
		size_t head = split_at(w, word, len, &tail);
		if (push_tok(w, li, word, head, TOK_PART) != KS_OK ||
		    push_tok(w, li, word + tail, len - tail, TOK_PART) != KS_OK)
			return KS_ERR_NOMEM;
		return KS_OK;
	}
	return push_tok(w, li, word, len, 0);
}

/* A letter, mark or digit: what tokens are made of (shared with discover.c,
 * which reads the original spelling by the same rule). */
bool text_is_word_cp(utf8proc_int32_t cp)
{
	utf8proc_category_t c = utf8proc_category(cp);
	return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
	       (c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME) ||
	       (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

/* Punctuation that ends a clause (the contrast words end one too, in the
 * tokeniser). */
bool text_is_clause_break(utf8proc_int32_t cp)
{
	return cp == '.' || cp == '!' || cp == '?' || cp == ';' || cp == ':' || cp == ',' ||
	       cp == '\n' || cp == 0x2026 /* … */ || cp == '(' || cp == ')';
}

ks_err text_tokenise(text_worker *w, const char *text, size_t len, int li, ks_error *err)
{
	w->n_toks = 0;
	w->n_chars = 0;
	w->n_clauses = 0;
	char *s = text_normalise(text, len);
	if (!s)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err rc = new_clause(w, 1.0);
	size_t n = strlen(s), i = 0;
	/* word bytes are copied to wbuf: a typographic apostrophe becomes ' */
	char *wbuf = malloc(n + 1);
	size_t wl = 0;
	if (!wbuf)
		rc = KS_ERR_NOMEM;
	while (rc == KS_OK && i <= n) {
		utf8proc_int32_t cp = 0;
		utf8proc_ssize_t k = 1;
		if (i < n) {
			k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
			if (k <= 0)
				k = 1;
		}
		bool apos = (cp == '\'' || cp == 0x2019) && wl > 0 && i + (size_t)k < n &&
		            (unsigned char)s[i + (size_t)k] > ' ' && s[i + (size_t)k] != '\'';
		if (i < n && (text_is_word_cp(cp) || apos)) {
			if (apos)
				wbuf[wl++] = '\'';
			else {
				memcpy(wbuf + wl, s + i, (size_t)k);
				wl += (size_t)k;
			}
		} else {
			if (wl) {
				wbuf[wl] = '\0';
				rc = add_word(w, li, wbuf, wl);
				wl = 0;
			}
			if (rc == KS_OK && i < n && text_is_clause_break(cp))
				rc = new_clause(w, 1.0);
		}
		i += (size_t)k;
	}
	free(wbuf);
	free(s);
	if (rc != KS_OK)
		return ks_fail(err, rc, NULL, "out of memory");
	return KS_OK;
}

bool text_is_contrast(const char *norm)
{
	static const char *const words[] = { "maar", "echter", "alleen", "doch", "but", "however",
	                                     "though", "although", "yet" };
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (strcmp(norm, words[i]) == 0)
			return true;
	return false;
}

ks_err text_vocab_build(text_ctx *ctx, text_worker *w, ks_error *err)
{
	for (const char *const *p = text_compound_parts; *p; p++) {
		int sn;
		const char *st = text_stem(w, TEXT_NL, *p, strlen(*p), &sn);
		if (text_map_put(&ctx->vocab[TEXT_NL], st, (size_t)sn, 1) != KS_OK)
			return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	}
	return KS_OK;
}
