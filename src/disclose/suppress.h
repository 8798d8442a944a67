/* suppress.h — primary and complementary (secondary) cell suppression over
 * linear relations, the engine under the disclosure-control layer.
 *
 * A table is a set of cells, each with an answer count per measure (NPS,
 * grade, CES) and a threshold, and a set of lines: "total = member + member
 * + ...", one per relation a reader can form between published cells (a
 * team's month is the sum of its employees' months; a year is the sum of
 * its quarters). A cell is hidden for a measure
 *   - primarily, when 0 < count < threshold (minimum n per measure);
 *   - secondarily, when some line would otherwise hold exactly one hidden
 *     sensitive cell: that cell would be the line's total minus its visible
 *     members, so one more sensitive cell of the line is hidden, the visible
 *     member with the fewest answers (ties: the one added first), or the
 *     total when no member is left. Repeated until no line holds exactly one.
 * A cell with no answers for a measure is known to be empty and counts as
 * visible. A cell is sensitive unless sup_sensitive says otherwise: the
 * caller marks cells that hold no one's answers (answers naming no
 * employee) as not sensitive. Those are still hidden under their threshold
 * (honesty), but they are treated as known in every line: revealing them
 * gives no one away, and hiding them protects nothing (they might be
 * derived elsewhere), so they are neither counted nor chosen. This is the single-line condition of statistical agencies'
 * complementary suppression (Hundepool et al., "Statistical Disclosure
 * Control", Wiley 2012, ch. 4; the tau-ARGUS "hypercube" heuristic applies
 * it line by line the same way). It guarantees that no single relation
 * isolates a hidden cell; it does not solve the full linear system, so
 * chains of relations across several lines are checked by the attack
 * tests, not proven here (docs/PRIVACY.md).
 *
 * Pure computation; no locks, no I/O. Functions returning ks_err fail only
 * with KS_ERR_NOMEM.
 */
#ifndef KS_SUPPRESS_H
#define KS_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define SUP_MEASURES 3 /* 0 = NPS, 1 = grade, 2 = CES */

typedef struct sup_table {
	size_t n, cap;
	int64_t (*count)[SUP_MEASURES];
	int64_t (*min_n)[SUP_MEASURES];
	bool (*hidden)[SUP_MEASURES];
	bool (*sensitive)[SUP_MEASURES];  /* sup_sensitive; true by default */
	size_t n_lines, lines_cap;
	size_t *line_off;   /* line i: line_cell[line_off[i] .. line_off[i + 1]) */
	size_t n_refs, refs_cap;
	size_t *line_cell;  /* the first cell of a line is its total */
	bool line_open;
} sup_table;

void sup_init(sup_table *t);
void sup_free(sup_table *t);

/* Add a cell; *idx gets its index. count[m] are its answers per measure,
 * min_n[m] the threshold of each (a measure answered by one employee alone
 * is that person's score even where the others are not). */
ks_err sup_cell(sup_table *t, const int64_t count[SUP_MEASURES], const int64_t min_n[SUP_MEASURES],
		size_t *idx);
/* Mark measure m of a cell (not) sensitive: whether it can give a person
 * away (it holds an employee's answers to that question). */
void sup_sensitive(sup_table *t, size_t idx, int m, bool sensitive);
/* Start a line with its total, then add its members one by one. */
ks_err sup_line(sup_table *t, size_t total);
ks_err sup_member(sup_table *t, size_t member);

/* Primary and secondary suppression; afterwards t->hidden[i][m] says
 * whether measure m of cell i may be printed. */
void sup_run(sup_table *t);
/* After sup_run, for a table that is kept to be read: free the counts and
 * the lines, keep hidden and min_n. Nothing may be added afterwards. */
void sup_compact(sup_table *t);

#endif
