/* text.h — disclosure control of the text dimensions (issue 14): replies
 * grouped by theme or sentiment, and the cells of GET /api/v1/themes.
 *
 * Themes overlap (an answer mentioning two themes is in both groups) and
 * leave rows out (answers without analysis are in none), so "total = sum
 * of the groups", the line of every other grouping, is false for them.
 * The true relations a reader can form are the lines of the slice's text
 * table:
 *   every answer     = analysed answers + answers without analysis
 *   analysed answers = negative + neutral + positive          (a partition)
 *   analysed answers = mentioning T + not mentioning T        (each theme T)
 * and in a two-way table (team x theme) the same per value x of the other
 * dimension, with x's own cell (the one-way reply's) as the line's total,
 * plus each theme's column: T = sum over x of (x, T). The cells nobody
 * prints (analysed, without analysis, x without T) are cells of the table
 * all the same: hiding one of them is what keeps its partner hidden.
 * Thresholds, persons and the engine are disclose.h's rules 1-3; the
 * slice's total is read from the canonical table (rule 4) like every
 * other reply's.
 *
 * For a whole period and no theme or sentiment filter, every cell is
 * read from the organisation's text table (canon.h: the same lines per
 * unit, employee and period, decided once), so a cell hidden for one
 * filter is hidden for every filter that shows the same answers; so are
 * the two-way tables with a unit, an employee or a period. Other replies
 * (another dimension beside the text one, an arbitrary window, a text
 * filter) build the lines above for themselves, with the total and the
 * one-way text cells forced from the text table where it holds them.
 * The employees of a cell nobody prints are counted, never bounded by an
 * enclosing cell's: x's two employees can leave "x without T" to one.
 * docs/PRIVACY.md "Themes and sentiment" gives the reasoning.
 */
#ifndef KS_DC_TEXT_H
#define KS_DC_TEXT_H

#include "disclose/disclose.h"

/* The one-way text table of a slice. Counts as an_query gives them. */
typedef struct dc_text {
	dc_vis total_vis, analysed_vis, unanalysed_vis;
	metrics_counts total, analysed, unanalysed;
	uint8_t total_persons, analysed_persons;
	an_result sentiment;      /* groups: "negative", "neutral", "positive" (those with rows) */
	dc_vis *sentiment_vis;
	an_result themes;         /* groups: theme ids mentioned in the slice */
	dc_vis *themes_vis;
	metrics_counts *without;  /* per themes group: analysed answers not mentioning it */
	dc_vis *without_vis;
} dc_text;

/* Build and decide the table for filter f (period as dc_query): the
 * counts of the slice, the decisions of the organisation's text table
 * where it holds them. out is owned by the caller: dc_text_free. */
ks_err dc_text_table(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
		     dc_text *out, ks_error *e);
void dc_text_free(dc_text *t);

/* The scores of a sentiment group, or of a slice filtered on a sentiment,
 * are never shown, only its numbers of answers: a unit's answers of one
 * sentiment and its answers about a theme nest in ways no line holds
 * (every friendly answer of a team's month negative: negative minus
 * friendliness is its other negative answers, maybe one employee's);
 * docs/PRIVACY.md "Themes and sentiment". total: the reply's total too
 * (a sentiment filter), else only its groups. */
void dc_sentiment_unscored(dc_reply *r, bool total);

/* dc_query for dims that include AN_DIM_THEME or AN_DIM_SENTIMENT. */
ks_err dc_text_query(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
		     const an_dim *dims, int n_dims, dc_reply *out, ks_error *e);

#endif
