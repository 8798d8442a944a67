/* sentiment.c — lexicon sentiment per clause with negation, intensifiers,
 * downtoners, excess ("te lang", "too slow") and contrast (the clause after
 * "maar"/"but" weighs 2, the one before 0.5; norm.c splits the clauses).
 *
 * A sentiment word's valence v (lexicon.c, -3..3, /3) is changed by what
 * stands before it in its clause, within 3 tokens:
 *   negation   positive v -> -0.7 v, negative v -> -0.5 v ("niet slecht"
 *              is mildly positive, "niet tevreden" clearly negative);
 *              an intensifier before the negator ("helemaal niet") or
 *              "at all" after the word: x1.3
 *   intensifier x1.5, downtoner x0.6
 *   excess     "te"/"too" before a lexicon word: min(-0.5, 1.5 v)
 * A clause's score is the clamped sum of its words; the text's is the
 * weighted mean of the clauses that hold a sentiment word. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text/text_int.h"

#define LEX_BIAS 1000
#define SCOPE 3

static bool in_list(const char *const *list, const char *w)
{
	for (; *list; list++)
		if (strcmp(*list, w) == 0)
			return true;
	return false;
}

static ks_err add_lexicon(text_ctx *ctx, text_worker *w, int li, const text_lex_entry *e)
{
	for (; e->word; e++) {
		int sn;
		const char *st = text_stem(w, li, e->word, strlen(e->word), &sn);
		/* two words with one stem: the first listed keeps its valence */
		bool had = text_map_get(&ctx->lex[li], st, (size_t)sn) >= 0;
		if ((!had && text_map_put(&ctx->lex[li], st, (size_t)sn, e->valence + LEX_BIAS) != KS_OK) ||
		    text_map_put(&ctx->known[li], e->word, strlen(e->word), 1) != KS_OK)
			return KS_ERR_NOMEM;
	}
	for (const char *const *f = text_function_words[li]; *f; f++)
		if (text_map_put(&ctx->known[li], *f, strlen(*f), 1) != KS_OK)
			return KS_ERR_NOMEM;
	return KS_OK;
}

ks_err text_lexicon_build(text_ctx *ctx, text_worker *w, ks_error *err)
{
	if (add_lexicon(ctx, w, TEXT_NL, text_lex_nl) != KS_OK ||
	    add_lexicon(ctx, w, TEXT_EN, text_lex_en) != KS_OK)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

text_label text_label_of(double score)
{
	return score >= 0.1 ? TEXT_POSITIVE : score <= -0.1 ? TEXT_NEGATIVE : TEXT_NEUTRAL;
}

static double clamp1(double v)
{
	return v > 1 ? 1 : v < -1 ? -1 : v;
}

static bool is_negator(int li, const char *n)
{
	if (in_list(text_negators[li], n))
		return true;
	size_t l = strlen(n);
	return li == TEXT_EN && l > 3 && strcmp(n + l - 3, "n't") == 0;
}

static bool is_strong(const char *n)
{
	return strcmp(n, "helemaal") == 0 || strcmp(n, "totaal") == 0 || strcmp(n, "absoluut") == 0 ||
	       strcmp(n, "totally") == 0 || strcmp(n, "absolutely") == 0 ||
	       strcmp(n, "completely") == 0;
}

/* Modifiers waiting for the next sentiment word of the clause. */
typedef struct pending {
	int neg, mult, excess; /* tokens left in scope, 0: none */
	bool strong;
	double factor;
} pending;

double text_sentiment(text_worker *w, int li)
{
	const text_ctx *ctx = w->ctx;
	pending p = { 0, 0, 0, false, 1.0 };
	int clause = -1, last_neg_tok = -1;
	double last_v = 0;
	for (int i = 0; i < w->n_clauses; i++) {
		w->clauses[i].score = 0;
		w->clauses[i].n_sent = 0;
	}
	for (int i = 0; i < w->n_toks; i++) {
		text_tok *t = &w->toks[i];
		const char *n = tok_norm(w, t);
		if (t->clause != clause) {
			clause = t->clause;
			p = (pending){ 0, 0, 0, false, 1.0 };
			last_neg_tok = -1;
		}
		text_clause *c = &w->clauses[clause];
		/* "not bad at all": strengthens the negation just scored */
		if (li == TEXT_EN && strcmp(n, "all") == 0 && i > 0 &&
		    strcmp(tok_norm(w, &w->toks[i - 1]), "at") == 0 && last_neg_tok >= 0) {
			c->score += 0.3 * last_v;
			last_neg_tok = -1;
			continue;
		}
		if (is_negator(li, n)) {
			p.strong = p.mult > 0 && is_strong(tok_norm(w, &w->toks[i - 1]));
			p.neg = SCOPE;
			continue;
		}
		if (strcmp(n, li == TEXT_NL ? "te" : "too") == 0) {
			p.excess = 2;
			continue;
		}
		bool inten = in_list(text_intensifiers[li], n), down = in_list(text_downtoners[li], n);
		if (inten || down) {
			/* a modifier that is itself a sentiment word ("vreselijk",
			 * "super") modifies only when a sentiment word follows */
			const char *own = tok_stem(w, t);
			int ov = text_map_get(&ctx->lex[li], own, strlen(own));
			const char *nx = i + 1 < w->n_toks && w->toks[i + 1].clause == clause
			                 ? tok_stem(w, &w->toks[i + 1]) : NULL;
			int nv = nx ? text_map_get(&ctx->lex[li], nx, strlen(nx)) : -1;
			if (ov < 0 || ov == LEX_BIAS || (nv >= 0 && nv != LEX_BIAS)) {
				p.mult = 2;
				p.factor *= down ? 0.6 : 1.5;
				continue;
			}
		}
		const char *st = tok_stem(w, t);
		int lv = text_map_get(&ctx->lex[li], st, strlen(st));
		if (lv < 0 || (lv == LEX_BIAS && !p.excess)) {
			p.neg -= p.neg > 0;
			p.mult -= p.mult > 0;
			p.excess -= p.excess > 0;
			if (!p.mult)
				p.factor = 1.0;
			continue;
		}
		double v = (lv - LEX_BIAS) / 3.0;
		if (p.excess)
			v = v > 0 ? -0.3 : fmin(-0.5, 1.5 * v);
		if (p.mult)
			v *= p.factor;
		if (p.neg) {
			v = v > 0 ? -0.7 * v : -0.5 * v;
			if (p.strong)
				v *= 1.3;
			t->flags |= TOK_NEGATED;
			last_neg_tok = i;
		}
		v = clamp1(v);
		last_v = v;
		c->score += v;
		c->n_sent++;
		p = (pending){ 0, 0, 0, false, 1.0 };
	}
	double sum = 0, wsum = 0;
	for (int i = 0; i < w->n_clauses; i++) {
		text_clause *c = &w->clauses[i];
		c->score = clamp1(c->score);
		if (c->n_sent) {
			sum += c->weight * c->score;
			wsum += c->weight;
		}
	}
	return wsum > 0 ? clamp1(sum / wsum) : 0.0;
}
