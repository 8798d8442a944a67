/* suppress.c — see suppress.h for the rule and its source. */
#include "disclose/suppress.h"

#include <stdlib.h>
#include <string.h>

void sup_init(sup_table *t)
{
	memset(t, 0, sizeof *t);
}

void sup_free(sup_table *t)
{
	free(t->count);
	free(t->min_n);
	free(t->hidden);
	free(t->sensitive);
	free(t->line_off);
	free(t->line_cell);
	memset(t, 0, sizeof *t);
}

/* Grow an array of elem-sized items to hold at least need; false on OOM. */
static bool sup_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (q == NULL)
		return false;
	*p = q;
	*cap = c;
	return true;
}

ks_err sup_cell(sup_table *t, const int64_t count[SUP_MEASURES], const int64_t min_n[SUP_MEASURES],
		size_t *idx)
{
	if (t->n == t->cap) {
		/* the four arrays grow together, to the same capacity */
		size_t c1 = t->cap, c2 = t->cap, c3 = t->cap, c4 = t->cap;
		if (!sup_grow((void **)&t->count, &c1, t->n + 1, sizeof *t->count) ||
		    !sup_grow((void **)&t->min_n, &c2, t->n + 1, sizeof *t->min_n) ||
		    !sup_grow((void **)&t->hidden, &c3, t->n + 1, sizeof *t->hidden) ||
		    !sup_grow((void **)&t->sensitive, &c4, t->n + 1, sizeof *t->sensitive))
			return KS_ERR_NOMEM;
		t->cap = c1;
	}
	memcpy(t->count[t->n], count, sizeof t->count[0]);
	memcpy(t->min_n[t->n], min_n, sizeof t->min_n[0]);
	memset(t->hidden[t->n], 0, sizeof t->hidden[0]);
	for (int m = 0; m < SUP_MEASURES; m++)
		t->sensitive[t->n][m] = true;
	*idx = t->n++;
	return KS_OK;
}

void sup_sensitive(sup_table *t, size_t idx, int m, bool sensitive)
{
	if (idx < t->n && m >= 0 && m < SUP_MEASURES)
		t->sensitive[idx][m] = sensitive;
}

void sup_compact(sup_table *t)
{
	free(t->count);
	free(t->sensitive);
	free(t->line_off);
	free(t->line_cell);
	t->count = NULL;
	t->sensitive = NULL;
	t->line_off = t->line_cell = NULL;
	t->n_lines = t->lines_cap = t->n_refs = t->refs_cap = 0;
}

static ks_err sup_ref(sup_table *t, size_t cell)
{
	if (!sup_grow((void **)&t->line_cell, &t->refs_cap, t->n_refs + 1, sizeof *t->line_cell))
		return KS_ERR_NOMEM;
	t->line_cell[t->n_refs++] = cell;
	return KS_OK;
}

ks_err sup_line(sup_table *t, size_t total)
{
	/* line_off has n_lines + 1 entries: the last is the end of the last line. */
	if (!sup_grow((void **)&t->line_off, &t->lines_cap, t->n_lines + 2, sizeof *t->line_off))
		return KS_ERR_NOMEM;
	t->line_off[t->n_lines++] = t->n_refs;
	t->line_open = true;
	ks_err err = sup_ref(t, total);
	t->line_off[t->n_lines] = t->n_refs;
	return err;
}

ks_err sup_member(sup_table *t, size_t member)
{
	if (!t->line_open)
		return KS_ERR_INTERNAL;
	ks_err err = sup_ref(t, member);
	t->line_off[t->n_lines] = t->n_refs;
	return err;
}

/* May cell c of measure m be hidden to protect another? Sensitive,
 * with answers, still shown. */
static bool sup_candidate(const sup_table *t, size_t c, int m)
{
	return t->sensitive[c][m] && t->count[c][m] > 0 && !t->hidden[c][m];
}

/* One line, one measure: when exactly one of its sensitive cells with
 * answers is hidden, hide one more. Returns the cell it hid, or SIZE_MAX. */
static size_t sup_line_fix(sup_table *t, size_t line, int m)
{
	size_t lo = t->line_off[line], hi = t->line_off[line + 1];
	size_t hidden = 0;
	for (size_t i = lo; i < hi && hidden < 2; i++) {
		size_t c = t->line_cell[i];
		hidden += t->sensitive[c][m] && t->count[c][m] > 0 && t->hidden[c][m];
	}
	if (hidden != 1)
		return SIZE_MAX;
	/* The member with the fewest answers costs the least information;
	 * the total only when no member is left. */
	size_t best = SIZE_MAX;
	for (size_t i = lo + 1; i < hi; i++) {
		size_t c = t->line_cell[i];
		if (!sup_candidate(t, c, m))
			continue;
		if (best == SIZE_MAX || t->count[c][m] < t->count[best][m])
			best = c;
	}
	size_t total = t->line_cell[lo];
	if (best == SIZE_MAX && sup_candidate(t, total, m))
		best = total;
	if (best != SIZE_MAX)
		t->hidden[best][m] = true;
	return best;
}

/* The lines each cell is on (compressed: off[c] .. off[c + 1]). */
static bool sup_cell_lines(const sup_table *t, size_t **off_out, size_t **lines_out)
{
	size_t *off = calloc(t->n + 1, sizeof *off);
	size_t *lines = malloc((t->n_refs ? t->n_refs : 1) * sizeof *lines);
	size_t *fill = calloc(t->n ? t->n : 1, sizeof *fill);
	if (off == NULL || lines == NULL || fill == NULL) {
		free(off);
		free(lines);
		free(fill);
		return false;
	}
	for (size_t i = 0; i < t->n_refs; i++)
		off[t->line_cell[i] + 1]++;
	for (size_t c = 0; c < t->n; c++)
		off[c + 1] += off[c];
	for (size_t l = 0; l < t->n_lines; l++)
		for (size_t i = t->line_off[l]; i < t->line_off[l + 1]; i++) {
			size_t c = t->line_cell[i];
			lines[off[c] + fill[c]++] = l;
		}
	free(fill);
	*off_out = off;
	*lines_out = lines;
	return true;
}

/* Every line once, then only the lines of a cell just hidden (a worklist
 * in first-in first-out order, so the result depends only on the table).
 * Without memory for the worklist: sweeps over every line until none
 * changes (the same fixpoint conditions, slower). */
static void sup_run_measure(sup_table *t, int m, const size_t *off, const size_t *lines, size_t *queue,
			    bool *queued)
{
	size_t head = 0, tail = 0, cap = t->n_lines;
	for (size_t l = 0; l < t->n_lines; l++) {
		queue[tail++ % cap] = l;
		queued[l] = true;
	}
	while (head != tail) {
		size_t l = queue[head++ % cap];
		queued[l] = false;
		size_t c = sup_line_fix(t, l, m);
		for (size_t i = c == SIZE_MAX ? 0 : off[c]; c != SIZE_MAX && i < off[c + 1]; i++) {
			size_t k = lines[i];
			if (!queued[k]) {
				queued[k] = true;
				queue[tail++ % cap] = k;
			}
		}
	}
}

void sup_run(sup_table *t)
{
	for (size_t c = 0; c < t->n; c++)
		for (int m = 0; m < SUP_MEASURES; m++)
			if (t->count[c][m] > 0 && t->count[c][m] < t->min_n[c][m])
				t->hidden[c][m] = true;
	size_t *off = NULL, *lines = NULL;
	size_t *queue = malloc((t->n_lines ? t->n_lines : 1) * sizeof *queue);
	bool *queued = calloc(t->n_lines ? t->n_lines : 1, sizeof *queued);
	if (queue && queued && sup_cell_lines(t, &off, &lines)) {
		for (int m = 0; m < SUP_MEASURES; m++) {
			/* a measure nobody answered (grade and CES of an NPS-only
			 * count) has nothing to protect */
			bool any = false;
			for (size_t c = 0; c < t->n && !any; c++)
				any = t->count[c][m] > 0;
			if (any)
				sup_run_measure(t, m, off, lines, queue, queued);
		}
	} else {
		/* Each round hides at least one more cell or stops, so this
		 * ends after at most n * SUP_MEASURES rounds. */
		bool changed = true;
		while (changed) {
			changed = false;
			for (size_t l = 0; l < t->n_lines; l++)
				for (int m = 0; m < SUP_MEASURES; m++)
					changed |= sup_line_fix(t, l, m) != SIZE_MAX;
		}
	}
	free(off);
	free(lines);
	free(queue);
	free(queued);
}
