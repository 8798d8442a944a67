/* demo_text.h — the demo's open answers (issue 14), composed from parts.
 *
 * Why a module of its own: the text analysis (src/text) is measured on
 * these answers, and a model's cross-validated accuracy means something
 * only when the texts are varied and their relation to the score is as
 * loose as in real feedback: a 9 with a complaint, a 6 with praise,
 * neutral remarks at every score. So the answer's *tone* is drawn from
 * the score class with noise, and then clauses per theme of the default
 * taxonomy (src/text/taxonomy_default.c) and tone are put together with
 * openers, closers, contrasts ("vriendelijk, maar ..."), negations
 * ("niet slecht"), short answers ("prima"), the other language now and
 * then, a few German and French answers, typos and missing capitals.
 *
 * Two things are planted for the themes page: complaints about the new app
 * rise over the last four months (a theme whose trend is not flat), and in
 * the last 30 days shop customers complain about parking, which no theme
 * of the default taxonomy covers (something for theme discovery to find).
 *
 * The caller (demo.c) decides from its own stream which parts an answer
 * has (demo_text_plan), exactly as it always drew them, so the scores of
 * the demo do not change; every word is drawn here from the caller's
 * separate text stream (*rng, any 64-bit state).
 */
#ifndef KS_DEMO_TEXT_H
#define KS_DEMO_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { DEMO_TEXT_NL, DEMO_TEXT_EN };                 /* the customer's language */
enum { DEMO_TEXT_DETRACTOR, DEMO_TEXT_PASSIVE, DEMO_TEXT_PROMOTER };
/* what the contact was about (demo.c's touchpoint topics, same order) */
enum { DEMO_TEXT_GENERAL, DEMO_TEXT_MOVE, DEMO_TEXT_OUTAGE, DEMO_TEXT_FIELD,
       DEMO_TEXT_BILLING, DEMO_TEXT_SALES, DEMO_TEXT_N_TOPICS };
/* the weakest (strongest for promoters) part of the experience */
enum { DEMO_TEXT_SPEED, DEMO_TEXT_FRIENDLY, DEMO_TEXT_EXPERT };

typedef struct demo_text_plan {
	int lang, cls, topic, comp;
	bool opener;            /* a general remark first */
	bool topic_clause;      /* a remark on the topic */
	bool comp_clause;       /* a remark on the weakest/strongest part */
	bool closer;            /* a closing remark */
	const char *named;      /* a promoter names the employee (NULL: not) */
	int named_form;         /* 0..3: which way of naming */
	int days_before_now;    /* age of the answer in days (0 = the last day) */
	bool shop;              /* the contact was in a shop */
} demo_text_plan;

/* Writes the answer, NUL-terminated, into buf[0..n) (n >= 64; cut at a
 * clause that does not fit). Never empty. */
void demo_text_compose(uint64_t *rng, const demo_text_plan *p, char *buf, size_t n);

#endif
