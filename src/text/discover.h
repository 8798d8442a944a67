/* discover.h — theme discovery (issue 14): frequent and rising phrases in
 * the open answers that match no theme of the taxonomy, per period, with
 * examples, so an analyst can add them as new themes. The rules (which
 * phrases, the sub-phrase rule, the rising test) are in discover.c and
 * docs/TEXT.md, "Theme discovery".
 *
 *   text_disc_opts o; text_disc_opts_default(&o);
 *   text_disc_result r;
 *   text_discover(w, cur, n_cur, prev, n_prev, &o, &r, &err);
 *   ... r.phrases[0..r.n_phrases) ...
 *   text_disc_result_free(&r);
 *
 * Threads: like text_analyze, on the caller's worker (one per thread).
 */
#ifndef KS_TEXT_DISCOVER_H
#define KS_TEXT_DISCOVER_H

#include "text/text.h"

/* One open answer: text[0..len) (UTF-8, borrowed for the call) in the
 * language it was analysed in. Answers in another language than nl or en
 * are not counted. */
typedef struct text_disc_answer {
	const char *text;
	size_t len;
	text_lang lang;
} text_disc_answer;

typedef struct text_disc_opts {
	int min_n;        /* a phrase needs this many answers of the period (3) */
	int limit;        /* at most this many phrases (20) */
	double cover;     /* sub-phrase rule: a phrase goes when a longer one
	                   * holding it has >= cover x its answers (0.8) */
	double alpha;     /* level of the one-sided rising test (0.05) */
	text_lang lang;   /* TEXT_LANG_NL or _EN: that language only; AUTO: both */
} text_disc_opts;

/* Fills *o with the defaults above. */
void text_disc_opts_default(text_disc_opts *o);

#define TEXT_DISC_MAX_WORDS 3
#define TEXT_DISC_EXAMPLES 3

typedef struct text_disc_phrase {
	char *phrase;       /* the most common original spelling (owned) */
	char *stems;        /* its stems, one space between (owned) */
	text_lang lang;
	int n;              /* answers of the period that hold it */
	int n_previous;     /* answers of the previous period that hold it */
	bool rising;
	double growth;      /* rate ratio - 1; NAN when n_previous is 0 or the
	                     * previous period has no answers */
	double p_value;     /* of the rising test; NAN without previous answers */
	int examples[TEXT_DISC_EXAMPLES]; /* indices into the period's answers */
	int n_examples;
} text_disc_phrase;

typedef struct text_disc_result {
	text_disc_phrase *phrases;  /* owned; n desc, then phrase, then stems */
	int n_phrases;
	int answers;                /* answers of the period counted: in the
	                             * language(s) asked for, matching no theme */
	int answers_previous;       /* the same for the previous period */
} text_disc_result;

/* Finds the phrases of cur[0..n_cur) (this period) and counts them in
 * prev[0..n_prev) (the period before). An answer the worker's taxonomy
 * matches is not counted (callers pass answers without theme rows; this
 * also holds answers analysed under an older taxonomy out). *out is
 * overwritten; free it with text_disc_result_free. KS_ERR_NOMEM only. */
ks_err text_discover(text_worker *w, const text_disc_answer *cur, int n_cur,
                     const text_disc_answer *prev, int n_prev, const text_disc_opts *o,
                     text_disc_result *out, ks_error *err);
void text_disc_result_free(text_disc_result *r);

/* The rising test's p-value: with x answers holding a phrase among n
 * answers of this period and y among m of the previous one, the exact
 * conditional test of equal rates, P(X >= x) for X ~ Bin(x + y,
 * n / (n + m)). NAN when n or m is 0. */
double text_disc_rise_p(int x, int n, int y, int m);

#endif
