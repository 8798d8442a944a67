/* discover.c — theme discovery: frequent and rising phrases in the answers
 * that match no theme (docs/TEXT.md, "Theme discovery").
 *
 * Phrases. Each answer is tokenised with the worker's tokeniser (the
 * analysis's own: normalised, stemmed, Dutch compounds split), so
 * "parkeerplaats", "parkeerplaatsen" and "Parkeerplaats" are one stem. A
 * token is a stop word (function words, negators, intensifiers,
 * downtoners, the lists below, numbers, one-letter words), a sentiment
 * word (any stem of the sentiment lexicon) or a content word. A phrase is
 * 1 to 3 consecutive tokens of one clause that
 *   - neither starts nor ends with a stop word (a stop word may stand in
 *     the middle of three: "parkeerplaats was vol"),
 *   - holds at least one content word, and
 *   - when it is one word, is a content word (a sentiment word alone is
 *     what the sentiment already says, not a theme).
 * Phrases are consecutive stems on purpose: added as a taxonomy term, the
 * same phrase matches the same answers (themes.c matches consecutive
 * stems), so the answers it came from get the new theme.
 *
 * Counting: once per answer, among the answers that carry no theme (the
 * worker's taxonomy is checked too). A phrase is kept when at least
 * min_n answers of the period hold it.
 *
 * Sub-phrase rule: a phrase is dropped when a longer kept-count phrase
 * that contains it (contiguous stems, same language) occurs in at least
 * cover (default 0.8) times as many answers: "parkeerplaats" in 6 answers
 * goes when "parkeerplaats was vol" is in 5 of them (5 >= 4.8), and stays
 * when the longer phrase is in 4. With cover 1 only a sub-phrase that
 * covers exactly the same answers goes (a longer phrase's answers are a
 * subset of its parts', so equal counts mean equal sets).
 *
 * Rising: with x of n answers this period and y of m the previous period
 * (per language), equal rates mean that, given the x + y answers holding
 * the phrase, each lies in this period with probability n / (n + m). The
 * exact conditional test of two Poisson rates (Przyborowski & Wilenski
 * 1940; Gu, Ng, Tang & Schucany, Biometrical Journal 50(2), 2008) takes
 * p = P(X >= x), X ~ Bin(x + y, n / (n + m)); rising when p < alpha (0.05,
 * one-sided) and the rate grew. Exact, so it holds for the small counts of
 * a new complaint where a z-test would not (5 vs 0 with n = m:
 * p = 0.5^5 = 0.03125, rising; 4 vs 0: 0.0625, not). A screen per phrase,
 * not a claim about the whole list.
 *
 * Order: n descending, then the shown phrase, then the stems (bytes). The
 * shown phrase is the most common original spelling among the answers
 * (the words as typed, from the first token's word to the last's; a match
 * on part of a compound counts only when no whole-word spelling exists).
 * Examples: the first three answers in the order given (the store gives
 * newest first), skipping a text equal to one already chosen.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/discover.h"
#include "text/text_int.h"

/* Function words besides text_function_words' (which serve language
 * evidence and so hold only the most frequent ones). */
static const char *const stop_extra[2][256] = {
	{ "in", "het", "een", "op", "met", "als", "dan", "of", "er", "om", "uit", "tot", "bij",
	  "naar", "over", "door", "der", "den", "des", "ge", "hij", "zij", "ze", "wij", "we",
	  "mij", "me", "hem", "haar", "hun", "omdat", "want", "reeds", "doch", "wezen", "iets",
	  "niets", "ook", "al", "nog", "zijn", "is", "was", "waren", "ben", "bent", "heb", "hebt",
	  "heeft", "hebben", "had", "werd", "wordt", "worden", "moet", "kan", "zal", "wil",
	  "te", "zo", "hier", "daar", "waar", "wat", "wie", "hoe", "nu", "dus", "toch", "even",
	  "of", "door", "over", "tot", "na", "zonder", "tegen", "onder", "tussen", "meer", "minder",
	  "weinig", "alle", "alles", "iemand", "niemand", "men", "hun", "hen", "haar", "hem", "ons",
	  "onze", "zich", "zelf", "mezelf", "kan", "kon", "konden", "kunnen", "kunt", "moet", "moest",
	  "moesten", "moeten", "wil", "wilde", "willen", "zal", "zou", "zouden", "zullen", "word",
	  "worden", "werden", "ben", "bent", "geweest", "doe", "doen", "deed", "deden", "gedaan",
	  "ga", "gaat", "ging", "gingen", "gaan", "gegaan", "krijg", "krijgt", "kreeg", "kregen",
	  "krijgen", "gekregen", "hebt", "hadden", "steeds", "altijd", "vaak", "ja", "nee", "hadden",
	  "mijn", "jouw", "je", "jij", "jou", "u", "uw", "wel", "dat", "wat", "welke", "welk", "elke",
	  "ieder", "iedere", "andere", "ander", "eigen", "zoals", "tijdens", "sinds", "vanaf",
	  "binnen", "buiten", "boven", "achter", "voor", "via", "per", "hele", "gewoon", "eens",
	  "zeker", "misschien", "nou", "eigenlijk", "daarna", "toen", "zodat", "terwijl", "hierdoor",
	  "daardoor", "waardoor", "ervan", "erover", "ermee", "erg", "meteen", "direct", "gelijk",
	  "dezelfde", "hetzelfde", "zeer", "heel", "beetje", "keer", "nog", "weer", "ook",
	  /* the filler of answers: "niks mis mee", "geen opmerkingen", "nvt", "mvg" */
	  "mee", "verder", "tja", "nvt", "mvg", "gr", "groet", "groeten", "opmerking",
	  "opmerkingen", "bijzonders", "bijzonder", "alstublieft", "aub", NULL },
	{ "be", "being", "am", "do", "does", "did", "done", "doing", "can", "could", "will",
	  "would", "shall", "should", "may", "might", "must", "get", "got", "gets", "getting",
	  "go", "went", "gone", "going", "goes", "make", "made", "as", "by", "in", "into", "out",
	  "up", "down", "off", "over", "under", "about", "after", "before", "just", "so", "than",
	  "too", "only", "all", "any", "some", "more", "most", "many", "what", "which", "who",
	  "whom", "whose", "where", "why", "how", "its", "his", "her", "him", "them", "their", "us",
	  "ours", "yours", "myself", "yourself", "one", "ve", "ll", "re", "or", "yes", "ok", "okay",
	  "etc", "lot", "lots", "also", "i'm", "it's", "i've", "i'd", "i'll", "you're", "they're",
	  "there's", "that's", "what's", "let", "lets", "let's", "here", "now", "even", "ever",
	  "every", "each", "other", "another", "same", "own", "such", "while", "during", "since",
	  "until", "through", "both", "either", "any", "anything", "something", "everything",
	  "someone", "anyone", "everyone", "time", "times", "though", "whether", "which", "again",
	  "once", "back", "well", "actually", "just", "still", "already", "always", "often", "yet",
	  "like", "bit", "lot", "way", "whole",
	  "regards", "cheers", "comment", "comments", "remarks", "further", "please", "na", "none",
	  NULL },
};

enum { K_STOP = 0, K_SENT = 1, K_WORD = 2 };
enum { PER_CUR = 0, PER_PREV = 1 };

typedef struct disc_surface {
	char *s;
	int whole, all;   /* occurrences as whole words / in all */
} disc_surface;

typedef struct disc_ph {
	int s[TEXT_DISC_MAX_WORDS];
	unsigned char n, li;
	bool covered;
	int cnt[2];       /* answers per period */
	int last[2];      /* the answer (index + 1) counted last, per period */
	int sel;          /* index among the selected, -1 */
} disc_ph;

typedef struct disc_sel {
	int ph;
	disc_surface *surf;
	int n_surf;
	int examples[TEXT_DISC_EXAMPLES];
	int n_examples;
} disc_sel;

typedef struct disc_wtok {
	int id;           /* stem id, -1 when no counted phrase holds it */
	int start, end;   /* its word in the original text */
	int clause;
} disc_wtok;

typedef struct disc {
	text_worker *w;
	const text_disc_opts *o;
	text_map stop[2];
	text_map stem_ids;            /* stem -> id (both languages) */
	char **stems;                 /* id -> stem (owned) */
	int n_stems, cap_stems;
	disc_ph *ph;
	int n_ph, cap_ph;
	int *tab;                     /* open addressing: phrase index + 1, 0 = empty */
	size_t tab_cap;
	int *occ;                     /* phrases of each answer of the period */
	size_t n_occ, cap_occ;
	int *occ_off;                 /* answer i: occ[occ_off[i] .. occ_off[i + 1]) */
	int *kind, *ids;              /* per token scratch */
	int cap_tok;
	disc_wtok *wt;
	int n_wt, cap_wt;
	disc_sel *sel;
	int n_sel;
	int answers[2][2];            /* [period][language] */
} disc;

void text_disc_opts_default(text_disc_opts *o)
{
	*o = (text_disc_opts){ .min_n = 3, .limit = 20, .cover = 0.8, .alpha = 0.05,
	                       .lang = TEXT_LANG_AUTO };
}

/* ---- the rising test ------------------------------------------------------ */

double text_disc_rise_p(int x, int n, int y, int m)
{
	if (n <= 0 || m <= 0)
		return NAN;
	if (x <= 0)
		return 1.0;
	int t = x + (y > 0 ? y : 0);
	double lq = log((double)n / ((double)n + m)), lr = log((double)m / ((double)n + m));
	double lt = lgamma(t + 1.0), p = 0;
	for (int k = x; k <= t; k++)
		p += exp(lt - lgamma(k + 1.0) - lgamma(t - k + 1.0) + k * lq + (t - k) * lr);
	return p > 1 ? 1 : p;
}

/* ---- tables ------------------------------------------------------------------- */

static ks_err stop_build(disc *d)
{
	for (int li = 0; li < 2; li++) {
		const char *const *lists[] = { text_function_words[li], text_negators[li],
		                               text_intensifiers[li], text_downtoners[li],
		                               stop_extra[li] };
		for (size_t l = 0; l < sizeof lists / sizeof *lists; l++)
			for (const char *const *p = lists[l]; *p; p++)
				if (strcmp(*p, "service") != 0 && /* language evidence, not a function word */
				    text_map_put(&d->stop[li], *p, strlen(*p), 1) != KS_OK)
					return KS_ERR_NOMEM;
	}
	return KS_OK;
}

static int tok_kind(const disc *d, int li, const char *norm, const char *stem)
{
	size_t n = strlen(norm);
	if (n < 2 || text_map_get(&d->stop[li], norm, n) >= 0 || text_is_contrast(norm))
		return K_STOP;
	if (li == TEXT_EN && n > 3 && strcmp(norm + n - 3, "n't") == 0)
		return K_STOP;
	bool digits = true;
	for (const char *p = norm; *p && digits; p++)
		digits = *p >= '0' && *p <= '9';
	if (digits)
		return K_STOP;
	return text_map_get(&d->w->ctx->lex[li], stem, strlen(stem)) >= 0 ? K_SENT : K_WORD;
}

/* The stem's id; a new one when add, else -1 when unknown. */
static ks_err stem_id(disc *d, const char *stem, bool add, int *id)
{
	size_t n = strlen(stem);
	*id = text_map_get(&d->stem_ids, stem, n);
	if (*id >= 0 || !add)
		return KS_OK;
	if (d->n_stems == d->cap_stems) {
		int cap = d->cap_stems ? d->cap_stems * 2 : 1024;
		char **s = realloc(d->stems, (size_t)cap * sizeof *s);
		if (!s)
			return KS_ERR_NOMEM;
		d->stems = s;
		d->cap_stems = cap;
	}
	char *c = malloc(n + 1);
	if (!c)
		return KS_ERR_NOMEM;
	memcpy(c, stem, n + 1);
	if (text_map_put(&d->stem_ids, stem, n, d->n_stems) != KS_OK) {
		free(c);
		return KS_ERR_NOMEM;
	}
	d->stems[d->n_stems] = c;
	*id = d->n_stems++;
	return KS_OK;
}

static uint64_t ph_hash(int li, int n, const int *s)
{
	uint64_t h = (uint64_t)(li * 4 + n);
	for (int i = 0; i < n; i++) {
		h ^= (uint64_t)(uint32_t)s[i] + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static bool ph_eq(const disc_ph *p, int li, int n, const int *s)
{
	if (p->li != li || p->n != n)
		return false;
	for (int i = 0; i < n; i++)
		if (p->s[i] != s[i])
			return false;
	return true;
}

static ks_err tab_grow(disc *d)
{
	size_t cap = d->tab_cap ? d->tab_cap * 2 : 4096;
	int *t = calloc(cap, sizeof *t);
	if (!t)
		return KS_ERR_NOMEM;
	for (int i = 0; i < d->n_ph; i++) {
		size_t j = ph_hash(d->ph[i].li, d->ph[i].n, d->ph[i].s) & (cap - 1);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = i + 1;
	}
	free(d->tab);
	d->tab = t;
	d->tab_cap = cap;
	return KS_OK;
}

/* The phrase's index, added when add (else -1 when absent). */
static ks_err ph_find(disc *d, int li, int n, const int *s, bool add, int *out)
{
	*out = -1;
	if (add && ((size_t)d->n_ph + 1) * 2 > d->tab_cap && tab_grow(d) != KS_OK)
		return KS_ERR_NOMEM;
	if (!d->tab_cap)
		return KS_OK;
	size_t j = ph_hash(li, n, s) & (d->tab_cap - 1);
	while (d->tab[j]) {
		if (ph_eq(&d->ph[d->tab[j] - 1], li, n, s)) {
			*out = d->tab[j] - 1;
			return KS_OK;
		}
		j = (j + 1) & (d->tab_cap - 1);
	}
	if (!add)
		return KS_OK;
	if (d->n_ph == d->cap_ph) {
		int cap = d->cap_ph ? d->cap_ph * 2 : 4096;
		disc_ph *p = realloc(d->ph, (size_t)cap * sizeof *p);
		if (!p)
			return KS_ERR_NOMEM;
		d->ph = p;
		d->cap_ph = cap;
	}
	disc_ph *p = &d->ph[d->n_ph];
	memset(p, 0, sizeof *p);
	memcpy(p->s, s, (size_t)n * sizeof *s);
	p->n = (unsigned char)n;
	p->li = (unsigned char)li;
	p->sel = -1;
	d->tab[j] = d->n_ph + 1;
	*out = d->n_ph++;
	return KS_OK;
}

static ks_err occ_push(disc *d, int ph)
{
	if (d->n_occ == d->cap_occ) {
		size_t cap = d->cap_occ ? d->cap_occ * 2 : 16384;
		int *o = realloc(d->occ, cap * sizeof *o);
		if (!o)
			return KS_ERR_NOMEM;
		d->occ = o;
		d->cap_occ = cap;
	}
	d->occ[d->n_occ++] = ph;
	return KS_OK;
}

/* ---- counting --------------------------------------------------------------- */

/* Tokenises a (w->toks) when it counts: in nl or en (and the language
 * asked for) and matching no theme. */
static ks_err disc_tokens(disc *d, const text_disc_answer *a, int *li, bool *counted, ks_error *err)
{
	*counted = false;
	if (a->lang != TEXT_LANG_NL && a->lang != TEXT_LANG_EN)
		return KS_OK;
	if (d->o->lang != TEXT_LANG_AUTO && a->lang != d->o->lang)
		return KS_OK;
	*li = text_li(a->lang);
	ks_err rc = text_tokenise(d->w, a->text, a->len, *li, err);
	if (rc != KS_OK)
		return rc;
	/* text_themes reads the clauses' scores only for the hits' sentiment */
	text_result r;
	memset(&r, 0, sizeof r);
	rc = text_themes(d->w, *li, &r, err);
	*counted = rc == KS_OK && r.n_themes == 0;
	text_result_free(&r);
	return rc;
}

static ks_err scratch(disc *d, int n)
{
	if (n <= d->cap_tok)
		return KS_OK;
	int *k = realloc(d->kind, (size_t)n * sizeof *k);
	if (!k)
		return KS_ERR_NOMEM;
	d->kind = k;
	int *i = realloc(d->ids, (size_t)n * sizeof *i);
	if (!i)
		return KS_ERR_NOMEM;
	d->ids = i;
	d->cap_tok = n;
	return KS_OK;
}

/* Counts the phrases of one answer (index idx of period per). In the
 * period, every phrase is added and listed in occ; in the previous period
 * only the selected ones are counted. */
static ks_err disc_count(disc *d, const text_disc_answer *a, int per, int idx, ks_error *err)
{
	int li = 0;
	bool counted;
	ks_err rc = disc_tokens(d, a, &li, &counted, err);
	if (rc != KS_OK || !counted)
		return rc;
	d->answers[per][li]++;
	const text_worker *w = d->w;
	int nt = w->n_toks;
	if (scratch(d, nt) != KS_OK)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	for (int i = 0; i < nt; i++) {
		const text_tok *t = &w->toks[i];
		d->kind[i] = tok_kind(d, li, tok_norm(w, t), tok_stem(w, t));
		/* the previous period only looks phrases up: a stem it never
		 * saw this period is in no phrase */
		if (stem_id(d, tok_stem(w, t), per == PER_CUR, &d->ids[i]) != KS_OK)
			return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	}
	for (int i = 0; i < nt; i++) {
		if (d->kind[i] == K_STOP || d->ids[i] < 0)
			continue;
		bool word = false;
		for (int k = 1; k <= TEXT_DISC_MAX_WORDS && i + k <= nt; k++) {
			int j = i + k - 1;
			if (w->toks[j].clause != w->toks[i].clause || d->ids[j] < 0)
				break;
			word |= d->kind[j] == K_WORD;
			if (d->kind[j] == K_STOP || !word)
				continue;
			int p;
			if (ph_find(d, li, k, &d->ids[i], per == PER_CUR, &p) != KS_OK)
				return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
			if (p < 0 || (per == PER_PREV && d->ph[p].sel < 0) || d->ph[p].last[per] == idx + 1)
				continue;
			d->ph[p].last[per] = idx + 1;
			d->ph[p].cnt[per]++;
			if (per == PER_CUR && occ_push(d, p) != KS_OK)
				return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
		}
	}
	return KS_OK;
}

/* ---- choosing ---------------------------------------------------------------- */

static void disc_cover(disc *d)
{
	for (int q = 0; q < d->n_ph; q++) {
		const disc_ph *Q = &d->ph[q];
		if (Q->n < 2 || Q->cnt[PER_CUR] < d->o->min_n)
			continue;
		for (int len = 1; len < Q->n; len++)
			for (int a = 0; a + len <= Q->n; a++) {
				int p;
				(void)ph_find(d, Q->li, len, &Q->s[a], false, &p);
				if (p >= 0 && Q->cnt[PER_CUR] >= d->o->cover * d->ph[p].cnt[PER_CUR] - 1e-9)
					d->ph[p].covered = true;
			}
	}
}

static int cmp_count_desc(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Selects every uncovered phrase with n >= the limit-th largest n (ties at
 * the cut included: the order among them needs their shown phrase). */
static ks_err disc_select(disc *d)
{
	int n_kept = 0;
	for (int i = 0; i < d->n_ph; i++)
		n_kept += d->ph[i].cnt[PER_CUR] >= d->o->min_n && !d->ph[i].covered;
	if (n_kept == 0)
		return KS_OK;
	int *counts = malloc((size_t)n_kept * sizeof *counts);
	if (!counts)
		return KS_ERR_NOMEM;
	int k = 0;
	for (int i = 0; i < d->n_ph; i++)
		if (d->ph[i].cnt[PER_CUR] >= d->o->min_n && !d->ph[i].covered)
			counts[k++] = d->ph[i].cnt[PER_CUR];
	qsort(counts, (size_t)n_kept, sizeof *counts, cmp_count_desc);
	int cut = counts[(d->o->limit < n_kept ? d->o->limit : n_kept) - 1];
	free(counts);
	int n_sel = 0;
	for (int i = 0; i < d->n_ph; i++)
		n_sel += d->ph[i].cnt[PER_CUR] >= cut && !d->ph[i].covered;
	d->sel = calloc((size_t)n_sel, sizeof *d->sel);
	if (!d->sel)
		return KS_ERR_NOMEM;
	for (int i = 0; i < d->n_ph; i++)
		if (d->ph[i].cnt[PER_CUR] >= cut && !d->ph[i].covered) {
			d->ph[i].sel = d->n_sel;
			d->sel[d->n_sel++].ph = i;
		}
	return KS_OK;
}

/* ---- spelling and examples -------------------------------------------------- */

/* Tokenises the original word text[start, end) on its own, so each token
 * knows the word it came from. A word without tokens (a contrast word)
 * starts a clause, as in norm.c. */
static ks_err disc_word(disc *d, const char *text, int start, int end, int li, int *clause,
                        ks_error *err)
{
	ks_err rc = text_tokenise(d->w, text + start, (size_t)(end - start), li, err);
	if (rc != KS_OK)
		return rc;
	const text_worker *w = d->w;
	if (w->n_toks == 0)
		(*clause)++;
	for (int i = 0; i < w->n_toks; i++) {
		if (d->n_wt == d->cap_wt) {
			int cap = d->cap_wt ? d->cap_wt * 2 : 64;
			disc_wtok *t = realloc(d->wt, (size_t)cap * sizeof *t);
			if (!t)
				return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
			d->wt = t;
			d->cap_wt = cap;
		}
		disc_wtok *t = &d->wt[d->n_wt++];
		(void)stem_id(d, tok_stem(w, &w->toks[i]), false, &t->id);
		t->start = start;
		t->end = end;
		t->clause = *clause;
	}
	return KS_OK;
}

static ks_err disc_words(disc *d, const text_disc_answer *a, int li, ks_error *err)
{
	d->n_wt = 0;
	const char *s = a->text;
	size_t n = a->len;
	int clause = 0, start = -1, end = 0;
	ks_err rc = KS_OK;
	for (size_t i = 0; i <= n && rc == KS_OK;) {
		utf8proc_int32_t cp = 0;
		utf8proc_ssize_t k = 1;
		if (i < n) {
			k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
			if (k <= 0) {
				k = 1;
				cp = ' ';
			}
		}
		bool apos = (cp == '\'' || cp == 0x2019) && start >= 0 && i + (size_t)k < n &&
		            (unsigned char)s[i + (size_t)k] > ' ' && s[i + (size_t)k] != '\'';
		if (i < n && (text_is_word_cp(cp) || apos)) {
			if (start < 0)
				start = (int)i;
			end = (int)(i + (size_t)k);
		} else {
			if (start >= 0)
				rc = disc_word(d, s, start, end, li, &clause, err);
			start = -1;
			if (i < n && text_is_clause_break(cp))
				clause++;
		}
		i += (size_t)k;
	}
	return rc;
}

static ks_err tally(disc_sel *sl, const char *s, int len, bool whole)
{
	for (int i = 0; i < sl->n_surf; i++)
		if ((int)strlen(sl->surf[i].s) == len && memcmp(sl->surf[i].s, s, (size_t)len) == 0) {
			sl->surf[i].whole += whole;
			sl->surf[i].all++;
			return KS_OK;
		}
	disc_surface *f = realloc(sl->surf, (size_t)(sl->n_surf + 1) * sizeof *f);
	if (!f)
		return KS_ERR_NOMEM;
	sl->surf = f;
	char *c = malloc((size_t)len + 1);
	if (!c)
		return KS_ERR_NOMEM;
	memcpy(c, s, (size_t)len);
	c[len] = '\0';
	sl->surf[sl->n_surf++] = (disc_surface){ c, whole, 1 };
	return KS_OK;
}

/* The phrase's first match in d->wt: its spelling goes to the tally. */
static ks_err disc_spell(disc *d, disc_sel *sl, const char *text)
{
	const disc_ph *p = &d->ph[sl->ph];
	for (int j = 0; j + p->n <= d->n_wt; j++) {
		int k = 0;
		while (k < p->n && d->wt[j + k].id == p->s[k] && d->wt[j + k].clause == d->wt[j].clause)
			k++;
		if (k < p->n)
			continue;
		const disc_wtok *first = &d->wt[j], *last = &d->wt[j + p->n - 1];
		/* part of a compound: the word goes on before or after the match */
		bool whole = (j == 0 || d->wt[j - 1].start != first->start) &&
		             (j + p->n == d->n_wt || d->wt[j + p->n].start != last->start);
		return tally(sl, text + first->start, last->end - first->start, whole);
	}
	return KS_OK;
}

static bool same_text(const text_disc_answer *a, const text_disc_answer *b)
{
	return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

static ks_err disc_examples(disc *d, const text_disc_answer *cur, int n_cur, ks_error *err)
{
	for (int i = 0; i < n_cur; i++) {
		bool any = false;
		for (int o = d->occ_off[i]; o < d->occ_off[i + 1] && !any; o++)
			any = d->ph[d->occ[o]].sel >= 0;
		if (!any)
			continue;
		ks_err rc = disc_words(d, &cur[i], text_li(cur[i].lang), err);
		if (rc != KS_OK)
			return rc;
		for (int o = d->occ_off[i]; o < d->occ_off[i + 1]; o++) {
			if (d->ph[d->occ[o]].sel < 0)
				continue;
			disc_sel *sl = &d->sel[d->ph[d->occ[o]].sel];
			if (disc_spell(d, sl, cur[i].text) != KS_OK)
				return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
			bool dup = sl->n_examples == TEXT_DISC_EXAMPLES;
			for (int e = 0; e < sl->n_examples && !dup; e++)
				dup = same_text(&cur[sl->examples[e]], &cur[i]);
			if (!dup)
				sl->examples[sl->n_examples++] = i;
		}
	}
	return KS_OK;
}

/* ---- the result ------------------------------------------------------------------- */

static const char *best_surface(const disc_sel *sl)
{
	const disc_surface *b = NULL;
	for (int i = 0; i < sl->n_surf; i++) {
		const disc_surface *f = &sl->surf[i];
		if (!b || f->whole > b->whole || (f->whole == b->whole && f->all > b->all) ||
		    (f->whole == b->whole && f->all == b->all && strcmp(f->s, b->s) < 0))
			b = f;
	}
	return b ? b->s : NULL;
}

static char *join_stems(const disc *d, const disc_ph *p)
{
	size_t n = 0;
	for (int i = 0; i < p->n; i++)
		n += strlen(d->stems[p->s[i]]) + 1;
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < p->n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, d->stems[p->s[i]]);
	}
	return s;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *c = malloc(n);
	if (c)
		memcpy(c, s, n);
	return c;
}

static int cmp_phrase(const void *a, const void *b)
{
	const text_disc_phrase *x = a, *y = b;
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	int c = strcmp(x->phrase, y->phrase);
	return c ? c : strcmp(x->stems, y->stems);
}

static void phrase_free(text_disc_phrase *p)
{
	free(p->phrase);
	free(p->stems);
}

static ks_err disc_result(disc *d, text_disc_result *out)
{
	out->answers = d->answers[PER_CUR][0] + d->answers[PER_CUR][1];
	out->answers_previous = d->answers[PER_PREV][0] + d->answers[PER_PREV][1];
	if (d->n_sel == 0)
		return KS_OK;
	out->phrases = calloc((size_t)d->n_sel, sizeof *out->phrases);
	if (!out->phrases)
		return KS_ERR_NOMEM;
	for (int i = 0; i < d->n_sel; i++) {
		const disc_sel *sl = &d->sel[i];
		const disc_ph *p = &d->ph[sl->ph];
		text_disc_phrase *r = &out->phrases[out->n_phrases++];
		r->stems = join_stems(d, p);
		const char *sf = best_surface(sl);
		r->phrase = dup_str(sf ? sf : r->stems ? r->stems : "");
		if (!r->stems || !r->phrase)
			return KS_ERR_NOMEM;
		r->lang = p->li == TEXT_NL ? TEXT_LANG_NL : TEXT_LANG_EN;
		r->n = p->cnt[PER_CUR];
		r->n_previous = p->cnt[PER_PREV];
		int n = d->answers[PER_CUR][p->li], m = d->answers[PER_PREV][p->li];
		r->p_value = text_disc_rise_p(r->n, n, r->n_previous, m);
		r->growth = m > 0 && r->n_previous > 0
		            ? ((double)r->n / n) / ((double)r->n_previous / m) - 1 : NAN;
		r->rising = !isnan(r->p_value) && r->p_value < d->o->alpha &&
		            (double)r->n * m > (double)r->n_previous * n;
		memcpy(r->examples, sl->examples, sizeof r->examples);
		r->n_examples = sl->n_examples;
	}
	qsort(out->phrases, (size_t)out->n_phrases, sizeof *out->phrases, cmp_phrase);
	while (out->n_phrases > d->o->limit)
		phrase_free(&out->phrases[--out->n_phrases]);
	return KS_OK;
}

static void disc_free(disc *d)
{
	for (int li = 0; li < 2; li++)
		text_map_free(&d->stop[li]);
	text_map_free(&d->stem_ids);
	for (int i = 0; i < d->n_stems; i++)
		free(d->stems[i]);
	free(d->stems);
	free(d->ph);
	free(d->tab);
	free(d->occ);
	free(d->occ_off);
	free(d->kind);
	free(d->ids);
	free(d->wt);
	for (int i = 0; i < d->n_sel; i++) {
		for (int j = 0; j < d->sel[i].n_surf; j++)
			free(d->sel[i].surf[j].s);
		free(d->sel[i].surf);
	}
	free(d->sel);
}

static ks_err disc_run(disc *d, const text_disc_answer *cur, int n_cur,
                       const text_disc_answer *prev, int n_prev, text_disc_result *out,
                       ks_error *err)
{
	if (stop_build(d) != KS_OK || !(d->occ_off = malloc(((size_t)n_cur + 1) * sizeof *d->occ_off)))
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err rc = KS_OK;
	for (int i = 0; i < n_cur && rc == KS_OK; i++) {
		d->occ_off[i] = (int)d->n_occ;
		rc = disc_count(d, &cur[i], PER_CUR, i, err);
	}
	d->occ_off[n_cur] = (int)d->n_occ;
	if (rc != KS_OK)
		return rc;
	disc_cover(d);
	if (disc_select(d) != KS_OK)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	for (int i = 0; i < n_prev && rc == KS_OK; i++)
		rc = disc_count(d, &prev[i], PER_PREV, i, err);
	if (rc == KS_OK)
		rc = disc_examples(d, cur, n_cur, err);
	if (rc == KS_OK && disc_result(d, out) != KS_OK)
		rc = ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	return rc;
}

ks_err text_discover(text_worker *w, const text_disc_answer *cur, int n_cur,
                     const text_disc_answer *prev, int n_prev, const text_disc_opts *o,
                     text_disc_result *out, ks_error *err)
{
	memset(out, 0, sizeof *out);
	text_disc_opts def;
	if (!o) {
		text_disc_opts_default(&def);
		o = &def;
	}
	disc d;
	memset(&d, 0, sizeof d);
	d.w = w;
	d.o = o;
	ks_err rc = disc_run(&d, cur, n_cur < 0 ? 0 : n_cur, prev, n_prev < 0 ? 0 : n_prev, out, err);
	disc_free(&d);
	if (rc != KS_OK)
		text_disc_result_free(out);
	return rc;
}

void text_disc_result_free(text_disc_result *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->n_phrases; i++)
		phrase_free(&r->phrases[i]);
	free(r->phrases);
	r->phrases = NULL;
	r->n_phrases = 0;
}
