/* canon.c — the canonical table; see canon.h. Built for every team- or
 * person-level request, so every step is linear in rows x columns: rows
 * are found through a hash, columns through arrays indexed by the
 * calendar, and the lines through lists of children built once. */
#include "disclose/canon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/units.h"

/* ---- rows --------------------------------------------------------------------- */

static size_t dc_hash(char kind, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull ^ (uint64_t)(unsigned char)kind * 0xC2B2AE3D27D4EB4Full;
	return (size_t)(h ^ (h >> 29));
}

ssize_t dc_canon_row(const dc_canon *c, char kind, int64_t id)
{
	if (c->n_slots == 0)
		return -1;
	for (size_t i = dc_hash(kind, id) & (c->n_slots - 1);; i = (i + 1) & (c->n_slots - 1)) {
		size_t s = c->slot[i];
		if (s == 0)
			return -1;
		if (c->rows[s - 1].kind == kind && c->rows[s - 1].id == id)
			return (ssize_t)(s - 1);
	}
}

static void dc_slot_put(dc_canon *c, size_t row)
{
	size_t i = dc_hash(c->rows[row].kind, c->rows[row].id) & (c->n_slots - 1);
	while (c->slot[i])
		i = (i + 1) & (c->n_slots - 1);
	c->slot[i] = row + 1;
}

/* Keep the hash at most half full. */
static ks_err dc_slots_reserve(dc_canon *c, size_t rows)
{
	if (rows * 2 <= c->n_slots)
		return KS_OK;
	size_t n = c->n_slots ? c->n_slots : 256;
	while (n < rows * 2)
		n *= 2;
	size_t *s = calloc(n, sizeof *s);
	if (s == NULL)
		return KS_ERR_NOMEM;
	free(c->slot);
	c->slot = s;
	c->n_slots = n;
	for (size_t r = 0; r < c->n_rows; r++)
		dc_slot_put(c, r);
	return KS_OK;
}

static ks_err dc_add_row(dc_canon *c, char kind, int64_t id, char unit_kind)
{
	if (dc_canon_row(c, kind, id) >= 0)
		return KS_OK;
	if (c->n_rows == c->rows_cap) {
		size_t nc = c->rows_cap ? c->rows_cap * 2 : 64;
		dc_row *r = realloc(c->rows, nc * sizeof *r);
		if (r == NULL)
			return KS_ERR_NOMEM;
		c->rows = r;
		c->rows_cap = nc;
	}
	if (dc_slots_reserve(c, c->n_rows + 1))
		return KS_ERR_NOMEM;
	c->rows[c->n_rows] = (dc_row){.kind = kind, .unit_kind = unit_kind, .id = id, .parent = -1};
	dc_slot_put(c, c->n_rows++);
	return KS_OK;
}

/* ---- columns ------------------------------------------------------------------ */

/* The number in s[0..n), or -1 when one of them is no digit. Labels are
 * parsed for every group of a breakdown: no strtol, no locale. */
static int dc_digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM" -> year * 12 + month - 1; -1 for anything else. */
static int dc_ym(const char *s)
{
	if (strlen(s) != 7 || s[4] != '-')
		return -1;
	int y = dc_digits(s, 4), m = dc_digits(s + 5, 2);
	return y >= 0 && m >= 1 && m <= 12 ? y * 12 + m - 1 : -1;
}

ssize_t dc_canon_col(const dc_canon *c, const char *label)
{
	size_t n = strlen(label);
	if (n == 0)
		return c->n_cols ? (ssize_t)c->n_cols - 1 : -1;
	int y = n >= 4 ? dc_digits(label, 4) : -1;
	if (y < 0)
		return -1;
	if (n == 4)
		return y >= c->y0 && y < c->y0 + c->n_y ? c->y_col[y - c->y0] : -1;
	if (n == 7 && label[5] == 'Q') {
		int q = label[6] - '1';
		return q >= 0 && q < 4 && y >= c->y0 && y < c->y0 + c->n_y ? c->q_col[(y - c->y0) * 4 + q] : -1;
	}
	int ym = dc_ym(label);
	return ym >= c->ym0 && ym < c->ym0 + c->n_ym ? c->ym_col[ym - c->ym0] : -1;
}

/* Months with answers (an_result grouped by month, chronological), their
 * quarters and years, all time. */
static ks_err dc_canon_cols(dc_canon *c, const an_result *months)
{
	size_t nm = months->n_groups;
	c->col = calloc(nm * 3 + 1, sizeof *c->col);
	if (c->col == NULL)
		return KS_ERR_NOMEM;
	int first = 0, last = 0;
	for (size_t g = 0; g < nm; g++) {
		int ym = dc_ym(months->groups[g].key[0]);
		if (ym < 0)
			return KS_ERR_INTERNAL;
		first = g == 0 || ym < first ? ym : first;
		last = g == 0 || ym > last ? ym : last;
	}
	c->ym0 = first;
	c->n_ym = last - first + 1;
	c->y0 = first / 12;
	c->n_y = last / 12 - first / 12 + 1;
	c->ym_col = malloc((size_t)c->n_ym * sizeof *c->ym_col);
	c->q_col = malloc((size_t)c->n_y * 4 * sizeof *c->q_col);
	c->y_col = malloc((size_t)c->n_y * sizeof *c->y_col);
	if (c->ym_col == NULL || c->q_col == NULL || c->y_col == NULL)
		return KS_ERR_NOMEM;
	for (int i = 0; i < c->n_ym; i++)
		c->ym_col[i] = -1;
	for (int i = 0; i < c->n_y * 4; i++)
		c->q_col[i] = -1;
	for (int i = 0; i < c->n_y; i++)
		c->y_col[i] = -1;
	/* months in calendar order, whatever order the breakdown gave */
	for (size_t g = 0; g < nm; g++)
		c->ym_col[dc_ym(months->groups[g].key[0]) - first] = 0;
	for (int i = 0; i < c->n_ym; i++) {
		if (c->ym_col[i] < 0)
			continue;
		int ym = first + i;
		snprintf(c->col[c->n_cols], sizeof c->col[0], "%04d-%02d", ym / 12 % 10000, ym % 12 + 1);
		c->ym_col[i] = (ssize_t)c->n_cols++;
	}
	c->n_months = c->n_cols;
	for (size_t m = 0; m < c->n_months; m++) {
		int ym = dc_ym(c->col[m]), y = ym / 12, q = ym % 12 / 3;
		ssize_t *slot = &c->q_col[(y - c->y0) * 4 + q];
		if (*slot < 0) {
			snprintf(c->col[c->n_cols], sizeof c->col[0], "%04d-Q%d", y % 10000, q + 1);
			*slot = (ssize_t)c->n_cols++;
		}
	}
	for (size_t m = 0; m < c->n_months; m++) {
		int y = dc_ym(c->col[m]) / 12;
		ssize_t *slot = &c->y_col[y - c->y0];
		if (*slot < 0) {
			snprintf(c->col[c->n_cols], sizeof c->col[0], "%04d", y % 10000);
			*slot = (ssize_t)c->n_cols++;
		}
	}
	c->col[c->n_cols++][0] = '\0';
	return KS_OK;
}

/* ---- building ------------------------------------------------------------------- */

/* Rows from the breakdowns by department, team and employee; parents after
 * the index's tree (an employee adds up to the team the index has for them
 * now: see docs/PRIVACY.md on moves). */
static ks_err dc_canon_rows(dc_canon *c, an_index *ix, const an_result *orgs, const an_result *depts,
			    const an_result *teams, const an_result *emps)
{
	ks_err err = dc_add_row(c, 'a', 0, 0);
	for (size_t g = 0; !err && g < orgs->n_groups; g++)
		if (orgs->groups[g].id[0] && an_unit_kind(ix, orgs->groups[g].id[0]) == 'o')
			err = dc_add_row(c, 'o', orgs->groups[g].id[0], 0);
	for (size_t g = 0; !err && g < depts->n_groups; g++)
		if (depts->groups[g].id[0] && an_unit_kind(ix, depts->groups[g].id[0]) == 'd')
			err = dc_add_row(c, 'd', depts->groups[g].id[0], 0);
	for (size_t g = 0; !err && g < teams->n_groups; g++)
		if (teams->groups[g].id[0] && an_unit_kind(ix, teams->groups[g].id[0]) == 't')
			err = dc_add_row(c, 't', teams->groups[g].id[0], 0);
	for (size_t g = 0; !err && g < emps->n_groups; g++)
		if (emps->groups[g].id[0])
			err = dc_add_row(c, 'e', emps->groups[g].id[0], 0);
	size_t units = c->n_rows;
	for (size_t r = 0; !err && r < units; r++)
		if (c->rows[r].kind != 'e')
			err = dc_add_row(c, 'r', c->rows[r].id, c->rows[r].kind);
	for (size_t r = 0; !err && r < units; r++)
		if (c->rows[r].kind == 'a' || c->rows[r].kind == 'o' || c->rows[r].kind == 'd')
			err = dc_add_row(c, 'n', c->rows[r].id, c->rows[r].kind);
	ssize_t all = dc_canon_row(c, 'a', 0);
	for (size_t r = 0; !err && r < c->n_rows; r++) {
		dc_row *row = &c->rows[r];
		ssize_t p = -1;
		int64_t up = row->kind == 'd' || row->kind == 't' ? an_unit_parent(ix, row->id) : 0;
		if (row->kind == 'o')
			p = all;
		else if (row->kind == 'd')
			p = dc_canon_row(c, 'o', up);
		else if (row->kind == 't')
			p = dc_canon_row(c, an_unit_kind(ix, up) == 'o' ? 'o' : 'd', up);
		else if (row->kind == 'e')
			p = dc_canon_row(c, 't', an_employee_team(ix, row->id));
		else if (row->kind == 'r' || row->kind == 'n')
			p = dc_canon_row(c, row->unit_kind, row->id);
		/* a unit whose parent the table does not hold adds up to all */
		if (p < 0 && (row->kind == 'd' || row->kind == 't'))
			p = all;
		row->parent = row->kind == 'a' ? -1 : p;
	}
	return err;
}

static void dc_counts_add(dc_count *a, const dc_count *b, int sign)
{
	a->n += sign * b->n;
	for (int m = 0; m < SUP_MEASURES; m++)
		a->m[m] += sign * b->m[m];
}

/* A breakdown by (unit, month) into the rows of kind. */
static void dc_canon_fill(dc_canon *c, dc_count *cnt, const an_result *r, char kind)
{
	for (size_t g = 0; g < r->n_groups; g++) {
		const an_group *gr = &r->groups[g];
		ssize_t row = dc_canon_row(c, kind, kind == 'a' ? 0 : gr->id[0]);
		ssize_t col = dc_canon_col(c, gr->key[r->n_dims - 1]);
		dc_count x = {gr->c.n, {gr->c.nps_n, gr->c.grade_n, gr->c.ces_n}};
		if (row >= 0 && col >= 0)
			dc_counts_add(&cnt[(size_t)row * c->n_cols + (size_t)col], &x, 1);
	}
}

/* Residual 'r' = unit - its children; 'n' = unit - every employee below
 * it; then quarters, years and all time from the months. Negative
 * residuals (an employee who moved team) are clamped to zero. */
static ks_err dc_canon_derive(dc_canon *c, dc_count *cnt)
{
	size_t nr = c->n_rows, nc = c->n_cols, nm = c->n_months;
	ssize_t *res = malloc(nr * sizeof *res), *none = malloc(nr * sizeof *none);
	if (res == NULL || none == NULL) {
		free(res);
		free(none);
		return KS_ERR_NOMEM;
	}
	for (size_t r = 0; r < nr; r++)
		res[r] = none[r] = -1;
	for (size_t r = 0; r < nr; r++) {
		const dc_row *row = &c->rows[r];
		if ((row->kind == 'r' || row->kind == 'n') && row->parent >= 0) {
			(row->kind == 'r' ? res : none)[row->parent] = (ssize_t)r;
			memcpy(&cnt[r * nc], &cnt[(size_t)row->parent * nc], nm * sizeof *cnt);
		}
	}
	for (size_t k = 0; k < nr; k++) {
		const dc_row *row = &c->rows[k];
		if (row->kind == 'r' || row->kind == 'n' || row->parent < 0)
			continue;
		ssize_t r = res[row->parent];
		for (size_t m = 0; r >= 0 && m < nm; m++)
			dc_counts_add(&cnt[(size_t)r * nc + m], &cnt[k * nc + m], -1);
		for (ssize_t u = row->kind == 'e' ? row->parent : -1; u >= 0; u = c->rows[u].parent)
			for (size_t m = 0; none[u] >= 0 && m < nm; m++)
				dc_counts_add(&cnt[(size_t)none[u] * nc + m], &cnt[k * nc + m], -1);
	}
	for (size_t r = 0; r < nr; r++) {
		for (size_t m = 0; m < nm; m++) {
			dc_count *x = &cnt[r * nc + m];
			x->n = x->n < 0 ? 0 : x->n;
			for (int k = 0; k < SUP_MEASURES; k++)
				x->m[k] = x->m[k] < 0 ? 0 : x->m[k];
			int ym = dc_ym(c->col[m]);
			dc_counts_add(&cnt[r * nc + (size_t)c->q_col[(ym / 12 - c->y0) * 4 + ym % 12 / 3]], x, 1);
			dc_counts_add(&cnt[r * nc + (size_t)c->y_col[ym / 12 - c->y0]], x, 1);
			dc_counts_add(&cnt[r * nc + nc - 1], x, 1);
		}
	}
	free(res);
	free(none);
	return KS_OK;
}

/* Employees with answers to each measure in each unit's cells (capped
 * at 2), for rule 2 and for sensitivity. */
static void dc_canon_persons(const dc_canon *c, const dc_count *cnt, uint8_t *persons)
{
	for (size_t r = 0; r < c->n_rows; r++) {
		if (c->rows[r].kind != 'e')
			continue;
		for (size_t col = 0; col < c->n_cols; col++) {
			const dc_count *x = &cnt[r * c->n_cols + col];
			for (ssize_t u = c->rows[r].parent; u >= 0; u = c->rows[u].parent)
				for (int m = 0; m < SUP_MEASURES; m++) {
					uint8_t *p = &persons[((size_t)u * c->n_cols + col) * SUP_MEASURES + m];
					if (x->m[m] > 0 && *p < 2)
						(*p)++;
				}
		}
	}
}

/* Thresholds (a person's cell: an employee's, or a unit's whose answers
 * name exactly one employee) and sensitivity (a cell holding no
 * employee's answers gives no one away). */
static ks_err dc_canon_cells(dc_canon *c, const dc_policy *pol, const dc_count *cnt, const uint8_t *persons_all,
			     size_t *cell)
{
	ks_err err = KS_OK;
	for (size_t r = 0; !err && r < c->n_rows; r++) {
		char kind = c->rows[r].kind;
		for (size_t col = 0; !err && col < c->n_cols; col++) {
			size_t k = r * c->n_cols + col;
			const int64_t *m = cnt[k].m;
			const uint8_t *persons = &persons_all[k * SUP_MEASURES];
			int64_t min_n[SUP_MEASURES];
			for (int i = 0; i < SUP_MEASURES; i++) {
				bool person = kind == 'e' || (kind != 'r' && kind != 'n' && persons[i] == 1);
				min_n[i] = person ? pol->min_n_person : pol->min_n;
			}
			err = sup_cell(&c->t, m, min_n, &cell[k]);
			for (int i = 0; !err && kind != 'e' && i < SUP_MEASURES; i++)
				if (persons[i] == 0)
					sup_sensitive(&c->t, cell[k], i, false);
		}
	}
	return err;
}

/* Lists of row indexes per row (compressed: off[r] .. off[r + 1]). */
typedef struct dc_lists {
	size_t *off, *item;
} dc_lists;

static void dc_lists_free(dc_lists *l)
{
	free(l->off);
	free(l->item);
}

/* For every unit, its children (every row whose parent it is, but its 'n'
 * row) when below == false, or every employee below it when below == true. */
static ks_err dc_lists_make(const dc_canon *c, bool below, dc_lists *l)
{
	size_t nr = c->n_rows;
	l->off = calloc(nr + 1, sizeof *l->off);
	if (l->off == NULL)
		return KS_ERR_NOMEM;
	for (int pass = 0; pass < 2; pass++) {
		size_t *fill = pass ? calloc(nr, sizeof *fill) : NULL;
		if (pass && fill == NULL)
			return KS_ERR_NOMEM;
		for (size_t k = 0; k < nr; k++) {
			const dc_row *row = &c->rows[k];
			if (below ? row->kind != 'e' : row->kind == 'n')
				continue;
			for (ssize_t u = row->parent; u >= 0; u = below ? c->rows[u].parent : -1) {
				if (pass == 0)
					l->off[u + 1]++;
				else
					l->item[l->off[u] + fill[u]++] = k;
			}
		}
		if (pass == 0) {
			for (size_t r = 0; r < nr; r++)
				l->off[r + 1] += l->off[r];
			l->item = malloc((l->off[nr] ? l->off[nr] : 1) * sizeof *l->item);
			if (l->item == NULL)
				return KS_ERR_NOMEM;
		}
		free(fill);
	}
	return KS_OK;
}

static ks_err dc_line_of(dc_canon *c, const size_t *cell, size_t total_row, const dc_lists *l, ssize_t extra,
			 size_t col)
{
	size_t nc = c->n_cols;
	ks_err err = sup_line(&c->t, cell[total_row * nc + col]);
	for (size_t i = l->off[total_row]; !err && i < l->off[total_row + 1]; i++)
		err = sup_member(&c->t, cell[l->item[i] * nc + col]);
	if (!err && extra >= 0)
		err = sup_member(&c->t, cell[(size_t)extra * nc + col]);
	return err;
}

/* The org tree's lines, for every column. */
static ks_err dc_canon_tree_lines(dc_canon *c, const size_t *cell)
{
	dc_lists kids = {0}, emps = {0};
	ks_err err = dc_lists_make(c, false, &kids);
	if (!err)
		err = dc_lists_make(c, true, &emps);
	for (size_t u = 0; !err && u < c->n_rows; u++) {
		char kind = c->rows[u].kind;
		if (kind != 'a' && kind != 'o' && kind != 'd' && kind != 't')
			continue;
		ssize_t none = kind == 't' ? -1 : dc_canon_row(c, 'n', c->rows[u].id);
		for (size_t col = 0; !err && col < c->n_cols; col++) {
			err = dc_line_of(c, cell, u, &kids, -1, col);
			/* org or department = every employee below it + the answers
			 * naming no employee (group_by=employee's "(none)" row) */
			if (!err && none >= 0)
				err = dc_line_of(c, cell, u, &emps, none, col);
		}
	}
	dc_lists_free(&kids);
	dc_lists_free(&emps);
	return err;
}

/* The calendar's lines, for every row: a quarter = its months, a year =
 * its quarters, all time = its years. */
static ks_err dc_canon_time_lines(dc_canon *c, const size_t *cells)
{
	size_t nc = c->n_cols;
	ks_err err = KS_OK;
	for (size_t r = 0; !err && r < c->n_rows; r++) {
		const size_t *cell = &cells[r * nc];
		for (int y = 0; !err && y < c->n_y; y++) {
			for (int q = 0; !err && q < 4; q++) {
				ssize_t qc = c->q_col[y * 4 + q];
				if (qc < 0)
					continue;
				err = sup_line(&c->t, cell[qc]);
				for (int m = 0; !err && m < 3; m++) {
					int ym = (c->y0 + y) * 12 + q * 3 + m - c->ym0;
					if (ym >= 0 && ym < c->n_ym && c->ym_col[ym] >= 0)
						err = sup_member(&c->t, cell[c->ym_col[ym]]);
				}
			}
			if (!err && c->y_col[y] >= 0) {
				err = sup_line(&c->t, cell[c->y_col[y]]);
				for (int q = 0; !err && q < 4; q++)
					if (c->q_col[y * 4 + q] >= 0)
						err = sup_member(&c->t, cell[c->q_col[y * 4 + q]]);
			}
		}
		err = err ? err : sup_line(&c->t, cell[nc - 1]);
		for (int y = 0; !err && y < c->n_y; y++)
			if (c->y_col[y] >= 0)
				err = sup_member(&c->t, cell[c->y_col[y]]);
	}
	return err;
}

void dc_canon_free(dc_canon *c)
{
	sup_free(&c->t);
	free(c->rows);
	free(c->slot);
	free(c->col);
	free(c->ym_col);
	free(c->q_col);
	free(c->y_col);
	free(c->cell);
	free(c->cnt);
	free(c->persons);
	free(c->layer);
	memset(c, 0, sizeof *c);
}

/* The five breakdowns a layer is filled from: every answer, organisations,
 * departments, teams and employees, each by local month. */
static ks_err dc_canon_queries(an_index *ix, const an_filter *f0, an_result q[5], ks_error *e)
{
	static const an_dim unit[5] = {AN_DIM_NONE, AN_DIM_ORGANISATION, AN_DIM_DEPARTMENT, AN_DIM_TEAM,
				       AN_DIM_EMPLOYEE};
	memset(q, 0, 5 * sizeof *q);
	ks_err err = KS_OK;
	for (int i = 0; !err && i < 5; i++) {
		an_dim d[2] = {unit[i], AN_DIM_MONTH};
		err = i == 0 ? an_query(ix, f0, &d[1], 1, &q[i], e) : an_query(ix, f0, d, 2, &q[i], e);
	}
	if (err)
		for (int i = 0; i < 5; i++)
			an_result_free(&q[i]);
	return err;
}

static void dc_canon_fill_all(dc_canon *c, dc_count *cnt, const an_result q[5])
{
	static const char kind[5] = {'a', 'o', 'd', 't', 'e'};
	for (int i = 0; i < 5; i++)
		dc_canon_fill(c, cnt, &q[i], kind[i]);
}

/* The request's filter as a table is built from it: no unit, employee or
 * window (the table holds them all), cut at as_of. */
static an_filter dc_canon_filter(const dc_policy *pol, const an_filter *f)
{
	an_filter f0 = *f;
	f0.team_id = 0;
	f0.employee_id = 0;
	f0.from = 0;
	f0.to = pol->as_of;
	f0.raw_keys = true;
	return f0;
}

/* Rows and columns from the breakdowns of every answer, and the arrays of
 * n_layers layers. */
static ks_err dc_canon_shape(dc_canon *c, an_index *ix, const an_result q[5], size_t n_layers)
{
	ks_err err = dc_canon_cols(c, &q[0]);
	if (!err)
		err = dc_canon_rows(c, ix, &q[1], &q[2], &q[3], &q[4]);
	size_t cells = n_layers * c->n_rows * c->n_cols;
	if (!err) {
		c->n_layers = n_layers;
		c->layer = calloc(n_layers, sizeof *c->layer);
		c->cell = calloc(cells ? cells : 1, sizeof *c->cell);
		c->cnt = calloc(cells ? cells : 1, sizeof *c->cnt);
		c->persons = calloc(cells ? cells * SUP_MEASURES : 1, sizeof *c->persons);
		if (c->layer == NULL || c->cell == NULL || c->cnt == NULL || c->persons == NULL)
			err = KS_ERR_NOMEM;
	}
	return err;
}

/* Layer l's cells, then the org tree's and the calendar's lines over them
 * (counts already filled and derived). */
static ks_err dc_canon_layer(dc_canon *c, const dc_policy *pol, size_t l)
{
	size_t off = l * c->n_rows * c->n_cols;
	dc_canon_persons(c, c->cnt + off, c->persons + off * SUP_MEASURES);
	ks_err err = dc_canon_cells(c, pol, c->cnt + off, c->persons + off * SUP_MEASURES, c->cell + off);
	if (!err)
		err = dc_canon_tree_lines(c, c->cell + off);
	if (!err)
		err = dc_canon_time_lines(c, c->cell + off);
	return err;
}

/* Kept (cache.c) for its decisions only: thresholds and hidden flags, not
 * the counts and lines that made them. */
static void dc_canon_finish(dc_canon *c)
{
	sup_run(&c->t);
	sup_compact(&c->t);
	free(c->cnt);
	free(c->persons);
	c->cnt = NULL;
	c->persons = NULL;
}

ks_err dc_canon_build(an_index *ix, const dc_policy *pol, const an_filter *f, dc_canon *c, ks_error *e)
{
	memset(c, 0, sizeof *c);
	sup_init(&c->t);
	an_filter f0 = dc_canon_filter(pol, f);
	an_result q[5];
	ks_err err = dc_canon_queries(ix, &f0, q, e);
	if (err)
		return err;
	err = dc_canon_shape(c, ix, q, 1);
	if (!err) {
		dc_canon_fill_all(c, c->cnt, q);
		err = dc_canon_derive(c, c->cnt);
	}
	if (!err)
		err = dc_canon_layer(c, pol, 0);
	if (!err)
		dc_canon_finish(c);
	for (int i = 0; i < 5; i++)
		an_result_free(&q[i]);
	if (err) {
		dc_canon_free(c);
		return ks_fail(e, err, NULL, err == KS_ERR_NOMEM ? "out of memory" : "canonical table: bad month label");
	}
	return KS_OK;
}

/* ---- the text layers (issue 14) ----------------------------------------------- */

ssize_t dc_canon_layer_of(const dc_canon *c, const char *name)
{
	for (size_t l = 0; l < c->n_layers; l++)
		if (strcmp(c->layer[l], name) == 0)
			return (ssize_t)l;
	return -1;
}

/* Layer to -= layer from, over the counts as filled (units' months,
 * before residuals and the calendar): the layers are subsets, so the
 * difference is exact. */
static void dc_canon_sub_layer(dc_canon *c, size_t to, size_t a, size_t b)
{
	size_t n = c->n_rows * c->n_cols;
	dc_count *x = c->cnt + to * n;
	const dc_count *pa = c->cnt + a * n, *pb = c->cnt + b * n;
	for (size_t k = 0; k < n; k++) {
		x[k] = pa[k];
		dc_counts_add(&x[k], &pb[k], -1);
	}
}

/* Layer 0 is every answer, decided by the base table (every other reply
 * reads it there): hidden there, hidden here; shown there, a known number
 * here (not sensitive: never chosen, never counted as hidden). */
static void dc_canon_force_base(dc_canon *c, const dc_canon *base)
{
	for (size_t r = 0; r < c->n_rows; r++) {
		ssize_t br = dc_canon_row(base, c->rows[r].kind, c->rows[r].id);
		for (size_t col = 0; col < c->n_cols; col++) {
			size_t k = c->cell[r * c->n_cols + col];
			ssize_t bc = br >= 0 ? dc_canon_col(base, c->col[col]) : -1;
			for (int m = 0; m < SUP_MEASURES; m++) {
				/* a cell the base table lacks is hidden by every reply (dc_hide_all) */
				bool hidden = bc < 0 || base->t.hidden[base->cell[(size_t)br * base->n_cols + (size_t)bc]][m];
				if (hidden)
					c->t.hidden[k][m] = true;
				else
					sup_sensitive(&c->t, k, m, false);
			}
		}
	}
}

/* The scores of the sentiment groups are never shown, only their
 * numbers of answers. A unit's negative answers of a month and its
 * answers about a theme nest in ways no line of the table holds (all of a
 * team's friendly answers are negative: negative minus friendliness is
 * its other negative answers, maybe one employee's two);
 * test_privacy_themes.py found most such cells between a sentiment and a
 * theme. NPS by sentiment says little (a negative answer's score is
 * low): it goes, the themes' scores stay. */
static void dc_canon_hide_sentiments(dc_canon *c)
{
	size_t n = c->n_rows * c->n_cols;
	for (size_t l = DC_L_NEGATIVE; l <= DC_L_POSITIVE; l++)
		for (size_t k = 0; k < n; k++)
			for (int m = 0; m < SUP_MEASURES; m++)
				c->t.hidden[c->cell[l * n + k]][m] = true;
}

/* Per (row, column): every answer = analysed + not analysed; analysed =
 * negative + neutral + positive; analysed = with T + without T. */
static ks_err dc_canon_text_lines(dc_canon *c, size_t nt)
{
	size_t n = c->n_rows * c->n_cols;
	ks_err err = KS_OK;
	for (size_t k = 0; !err && k < n; k++) {
		const size_t *cl = c->cell + k;
		err = sup_line(&c->t, cl[0]);
		err = err ? err : sup_member(&c->t, cl[DC_L_ANALYSED * n]);
		err = err ? err : sup_member(&c->t, cl[DC_L_UNANALYSED * n]);
		err = err ? err : sup_line(&c->t, cl[DC_L_ANALYSED * n]);
		for (size_t s = DC_L_NEGATIVE; !err && s <= DC_L_POSITIVE; s++)
			err = sup_member(&c->t, cl[s * n]);
		for (size_t th = 0; !err && th < nt; th++) {
			err = sup_line(&c->t, cl[DC_L_ANALYSED * n]);
			err = err ? err : sup_member(&c->t, cl[(DC_L_THEMES + th) * n]);
			err = err ? err : sup_member(&c->t, cl[(DC_L_THEMES + nt + th) * n]);
		}
	}
	return err;
}

/* ---- themes that nest (priv2) ---------------------------------------------------- */

/* A class of analysed answers (an_text_classes) placed in the table: the
 * rows its months fill (every answer, its unit and the units above, its
 * employee; -1 none), its month column, its themes as bits of the
 * table's theme layers. */
/* Rounds of nesting checks and suppression at most (dc_canon_nesting):
 * the last round's cells are still hidden, and its lines fixed by the
 * final sup_run. */
#define DC_NEST_ROUNDS 8

typedef struct dc_nclass {
	ssize_t row[5];
	ssize_t col;
	uint64_t themes;
	dc_count x;
} dc_nclass;

static void dc_nclass_place(const dc_canon *c, const an_tclass *k, const int *th_of, size_t n_ids, dc_nclass *out)
{
	for (int i = 0; i < 5; i++)
		out->row[i] = -1;
	out->row[0] = dc_canon_row(c, 'a', 0);
	ssize_t u = -1;
	if (k->unit_id) {
		u = dc_canon_row(c, 't', k->unit_id);
		u = u >= 0 ? u : dc_canon_row(c, 'd', k->unit_id);
		u = u >= 0 ? u : dc_canon_row(c, 'o', k->unit_id);
	}
	/* as the breakdowns by team, department and organisation fill them */
	for (int i = 1; u >= 0 && i < 4 && c->rows[u].kind != 'a'; i++, u = c->rows[u].parent)
		out->row[i] = u;
	out->row[4] = k->employee_id ? dc_canon_row(c, 'e', k->employee_id) : -1;
	int ym = k->ym - c->ym0;
	out->col = ym >= 0 && ym < c->n_ym ? c->ym_col[ym] : -1;
	out->themes = 0;
	for (size_t b = 0; b < n_ids; b++)
		if ((k->themes >> b & 1u) && th_of[b] >= 0)
			out->themes |= 1ULL << th_of[b];
	out->x = (dc_count){k->n, {k->m[0], k->m[1], k->m[2]}};
}

/* Is measure m of cell k hidden, or would it be (under its threshold)? */
static bool dc_hidden(const sup_table *t, size_t k, int m)
{
	return t->hidden[k][m] || (t->count[k][m] > 0 && t->count[k][m] < t->min_n[k][m]);
}

/* Does a hidden cell of another layer at (row, column) k hold as many
 * answers as x (every measure and n)? Then x's set may be that cell's (a
 * theme exactly the answers of A without B): judged by its counts, which
 * errs towards hiding. Not the sentiment cells: they are hidden by rule
 * whatever their size (dc_canon_hide_sentiments), to protect no one, and
 * where a sentiment's answers are a theme's (the demo's texts) they would
 * take a team's theme cells with them. */
static bool dc_nest_like_hidden(const dc_canon *c, size_t k, const dc_count *x, int m)
{
	size_t nrc = c->n_rows * c->n_cols;
	for (size_t l = 0; l < c->n_layers; l++) {
		if (l >= DC_L_NEGATIVE && l <= DC_L_POSITIVE)
			continue;
		const dc_count *y = &c->cnt[l * nrc + k];
		if (y->n == x->n && y->m[0] == x->m[0] && y->m[1] == x->m[1] && y->m[2] == x->m[2] &&
		    dc_hidden(&c->t, c->cell[l * nrc + k], m))
			return true;
	}
	return false;
}

/* Hide the smaller of cells ka and kb (measure m) when both are shown;
 * true when it did. */
static bool dc_nest_hide(sup_table *t, size_t ka, size_t kb, int m)
{
	if (dc_hidden(t, ka, m) || dc_hidden(t, kb, m))
		return false;
	size_t hide = t->count[kb][m] > 0 && t->count[kb][m] <= t->count[ka][m] ? kb : ka;
	t->hidden[hide][m] = true;
	sup_sensitive(t, hide, m, true);
	return true;
}

/* Is the set of counts x (its employees p) at row r, column k one that a
 * difference of two shown cells must not give: it has an employee's
 * answers, and it would be hidden as a cell of its own (under its
 * threshold) or holds exactly as many answers as a hidden cell there? */
static bool dc_nest_secret(const dc_canon *c, const dc_policy *pol, size_t r, size_t k, const dc_count *x,
			   const uint8_t *p, int m)
{
	char kind = c->rows[r].kind;
	if (x->m[m] <= 0 || (kind != 'e' && p[m] == 0))
		return false; /* no answers, or no employee's: nobody to give away */
	bool person = kind == 'e' || p[m] == 1;
	return x->m[m] < (person ? pol->min_n_person : pol->min_n) || dc_nest_like_hidden(c, k, x, m);
}

/* Hide, for each pair of layers (l[0], l[1]), (l[2], l[3]), the smaller
 * cell at k when both are shown (measure m). */
static bool dc_nest_hide_pairs(dc_canon *c, size_t k, const size_t l[4], int m)
{
	size_t nrc = c->n_rows * c->n_cols;
	bool hid = dc_nest_hide(&c->t, c->cell[l[0] * nrc + k], c->cell[l[1] * nrc + k], m);
	return dc_nest_hide(&c->t, c->cell[l[2] * nrc + k], c->cell[l[3] * nrc + k], m) || hid;
}

/* The four sets of themes a and b — A∩¬B, ¬A∩B, A∩B, ¬A∩¬B (q = 0..3) —
 * through the rows and columns, derived like a layer; set[q] and
 * persons[q]: scratch of the table's size. False when no class is in
 * any (nothing to check). */
static bool dc_nest_sets(dc_canon *c, const dc_nclass *cl, size_t n_cl, size_t a, size_t b, dc_count *set[4],
			 uint8_t *persons[4])
{
	size_t nrc = c->n_rows * c->n_cols;
	bool any = false;
	for (int q = 0; q < 4; q++)
		memset(set[q], 0, nrc * sizeof *set[q]);
	for (size_t i = 0; i < n_cl; i++) {
		if (cl[i].col < 0)
			continue;
		bool ia = cl[i].themes >> a & 1u, ib = cl[i].themes >> b & 1u;
		int q = ia && !ib ? 0 : !ia && ib ? 1 : ia ? 2 : 3;
		for (int j = 0; j < 5; j++)
			if (cl[i].row[j] >= 0)
				dc_counts_add(&set[q][(size_t)cl[i].row[j] * c->n_cols + (size_t)cl[i].col], &cl[i].x, 1);
		any = true;
	}
	for (int q = 0; any && q < 4; q++) {
		if (dc_canon_derive(c, set[q]) != KS_OK)
			return false;
		memset(persons[q], 0, nrc * SUP_MEASURES);
		dc_canon_persons(c, set[q], persons[q]);
	}
	return any;
}

/* Are both cells of pair (l[0], l[1]) or of (l[2], l[3]) shown at k? */
static bool dc_nest_open(const dc_canon *c, size_t k, const size_t l[4], int m)
{
	size_t nrc = c->n_rows * c->n_cols;
	const size_t *cl = c->cell + k;
	return (!dc_hidden(&c->t, cl[l[0] * nrc], m) && !dc_hidden(&c->t, cl[l[1] * nrc], m)) ||
	       (!dc_hidden(&c->t, cl[l[2] * nrc], m) && !dc_hidden(&c->t, cl[l[3] * nrc], m));
}

/* Cells k1 and k2 hold the same answers to measure m: shown both or
 * neither (no line ties them). Returns whether it hid one. */
static bool dc_nest_tie(sup_table *t, size_t k1, size_t k2, int m)
{
	bool h1 = dc_hidden(t, k1, m), h2 = dc_hidden(t, k2, m);
	if (h1 == h2)
		return false;
	size_t k = h1 ? k2 : k1;
	t->hidden[k][m] = true;
	sup_sensitive(t, k, m, true);
	return true;
}

/* Two themes with the same answers at (row, column) k (every answer
 * mentions both, or neither: A∩¬B and ¬A∩B empty), or each the other's
 * complement (A∩B and ¬A∩¬B empty): the equal cells are tied. Sets equal
 * only up to answers naming no one are not seen (docs/PRIVACY.md
 * section 6). */
static bool dc_nest_same(dc_canon *c, size_t k, dc_count *const set[4], size_t ta, size_t tb, size_t na, size_t nb)
{
	size_t nrc = c->n_rows * c->n_cols;
	const size_t *cl = c->cell + k;
	bool hid = false;
	for (int m = 0; m < SUP_MEASURES; m++) {
		int64_t s0 = set[0][k].m[m], s1 = set[1][k].m[m], s2 = set[2][k].m[m], s3 = set[3][k].m[m];
		if (s0 == 0 && s1 == 0 && s2 > 0) {
			hid |= dc_nest_tie(&c->t, cl[ta * nrc], cl[tb * nrc], m);
			hid |= dc_nest_tie(&c->t, cl[na * nrc], cl[nb * nrc], m);
		}
		if (s2 == 0 && s3 == 0 && s0 > 0 && s1 > 0) {
			hid |= dc_nest_tie(&c->t, cl[ta * nrc], cl[nb * nrc], m);
			hid |= dc_nest_tie(&c->t, cl[tb * nrc], cl[na * nrc], m);
		}
	}
	return hid;
}

/* Themes a and b (a < b). What a difference of two of their cells (with
 * a, with b, without a, without b) gives when one holds the other:
 *   A − B = ¬B − ¬A = A∩¬B       (every B answer mentions A)
 *   B − A = ¬A − ¬B = ¬A∩B       (every A answer mentions B)
 *   ¬A − B = ¬B − A = ¬A∩¬B      (no answer mentions both)
 *   A − ¬B = B − ¬A = A∩B        (every analysed answer mentions one)
 * The first two are checked whatever the other set holds (the rule asked
 * for: hiding more is safe), the last two only when the nesting holds
 * there (else they would hide most theme cells for nothing). Returns
 * whether it hid a cell. */
static bool dc_nest_pair(dc_canon *c, const dc_policy *pol, const dc_nclass *cl, size_t n_cl, size_t a, size_t b,
			 size_t nt, dc_count *set[4], uint8_t *persons[4])
{
	if (!dc_nest_sets(c, cl, n_cl, a, b, set, persons))
		return false;
	const size_t ta = DC_L_THEMES + a, tb = DC_L_THEMES + b, na = DC_L_THEMES + nt + a, nb = DC_L_THEMES + nt + b;
	const size_t pair[4][4] = {{ta, tb, nb, na}, {tb, ta, na, nb}, {ta, nb, tb, na}, {na, tb, nb, ta}};
	const int other[4] = {-1, -1, 3, 2}; /* the set that must be empty for the difference */
	bool hid = false;
	for (size_t r = 0; r < c->n_rows; r++)
		for (size_t col = 0; col < c->n_cols; col++) {
			size_t k = r * c->n_cols + col;
			hid |= dc_nest_same(c, k, set, ta, tb, na, nb);
			for (int q = 0; q < 4; q++) {
				const dc_count *x = &set[q][k];
				if (x->n <= 0)
					continue;
				for (int m = 0; m < SUP_MEASURES; m++) {
					if (other[q] >= 0 && set[other[q]][k].m[m] > 0)
						continue;
					/* the cheap test first: is either difference shown at all? */
					if (!dc_nest_open(c, k, pair[q], m))
						continue;
					if (dc_nest_secret(c, pol, r, k, x, &persons[q][k * SUP_MEASURES], m))
						hid |= dc_nest_hide_pairs(c, k, pair[q], m);
				}
			}
		}
	return hid;
}

/* Primary suppression for themes that nest: in a unit's period, if every
 * answer about theme B also mentions A, A − B is the answers mentioning A
 * and not B — maybe one employee's two — and no line of the table holds
 * that relation. For every pair of themes, the four sets A∩¬B, ¬A∩B, A∩B,
 * ¬A∩¬B are counted per row and column from one pass over the analysed
 * answers (an_text_classes); where a difference of two shown cells gives
 * one that must stay hidden, the smaller of the two is hidden
 * (dc_nest_pair), and cells with the same answers are shown both or
 * neither (dc_nest_same). Run on what the engine leaves shown, in rounds
 * with it. Differences of three or more cells (A − B − C) are not
 * covered: docs/PRIVACY.md section 6. */
static ks_err dc_canon_nesting(dc_canon *c, an_index *ix, const dc_policy *pol, const an_filter *f0,
			       const an_result *themes, ks_error *e)
{
	size_t nt = themes->n_groups, nrc = c->n_rows * c->n_cols;
	if (nt < 2 || nt > 64 || nrc == 0)
		return KS_OK;
	an_tclass *k = NULL;
	size_t n_k = 0, n_ids = 0;
	char (*ids)[48] = calloc(AN_MAX_THEMES, sizeof *ids);
	if (ids == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = an_text_classes(ix, f0, &k, &n_k, ids, &n_ids, e);
	int th_of[AN_MAX_THEMES];
	for (size_t b = 0; !err && b < n_ids; b++) {
		th_of[b] = -1;
		for (size_t g = 0; g < nt; g++)
			if (strcmp(themes->groups[g].key[0], ids[b]) == 0)
				th_of[b] = (int)g;
	}
	dc_nclass *cl = err ? NULL : calloc(n_k ? n_k : 1, sizeof *cl);
	dc_count *set[4] = {NULL, NULL, NULL, NULL};
	uint8_t *persons[4] = {NULL, NULL, NULL, NULL};
	bool oom = !err && cl == NULL;
	for (int q = 0; !err && q < 4; q++) {
		set[q] = malloc(nrc * sizeof *set[q]);
		persons[q] = malloc(nrc * SUP_MEASURES);
		oom |= set[q] == NULL || persons[q] == NULL;
	}
	if (oom)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < n_k; i++)
		dc_nclass_place(c, &k[i], th_of, n_ids, &cl[i]);
	/* Decided on the visibility complementary suppression leaves (a cell
	 * hidden to protect another can be such a difference too), until no
	 * pair hides more; each round hides at least one more cell. */
	bool hid = !err;
	for (int round = 0; hid && round < DC_NEST_ROUNDS; round++) {
		sup_run(&c->t);
		hid = false;
		for (size_t a = 0; a < nt; a++)
			for (size_t b = a + 1; b < nt; b++)
				hid |= dc_nest_pair(c, pol, cl, n_k, a, b, nt, set, persons);
	}
	free(ids);
	free(k);
	free(cl);
	for (int q = 0; q < 4; q++) {
		free(set[q]);
		free(persons[q]);
	}
	return err;
}

ks_err dc_canon_build_text(an_index *ix, const dc_policy *pol, const an_filter *f, const dc_canon *base,
			   dc_canon *c, ks_error *e)
{
	static const char *const sent[3] = {"negative", "neutral", "positive"};
	memset(c, 0, sizeof *c);
	sup_init(&c->t);
	an_filter f0 = dc_canon_filter(pol, f);
	memset(f0.theme, 0, sizeof f0.theme);
	memset(f0.sentiment, 0, sizeof f0.sentiment);
	f0.analysed = 0;
	an_result q[5], themes;
	an_dim dt = AN_DIM_THEME;
	ks_err err = an_query(ix, &f0, &dt, 1, &themes, e);
	if (err)
		return err;
	size_t nt = themes.n_groups;
	err = dc_canon_queries(ix, &f0, q, e);
	if (!err) {
		err = dc_canon_shape(c, ix, q, DC_L_THEMES + 2 * nt);
		if (!err)
			dc_canon_fill_all(c, c->cnt, q);
		for (int i = 0; i < 5; i++)
			an_result_free(&q[i]);
	}
	size_t n = c->n_rows * c->n_cols;
	/* the layers counted: analysed, the sentiments, each theme */
	for (size_t l = DC_L_ANALYSED; !err && l < DC_L_THEMES + nt; l++) {
		if (l == DC_L_UNANALYSED)
			continue;
		an_filter fl = f0;
		if (l == DC_L_ANALYSED)
			fl.analysed = 1;
		else if (l < DC_L_THEMES)
			snprintf(fl.sentiment, sizeof fl.sentiment, "%s", sent[l - DC_L_NEGATIVE]);
		else
			snprintf(fl.theme, sizeof fl.theme, "%.47s", themes.groups[l - DC_L_THEMES].key[0]);
		if ((err = dc_canon_queries(ix, &fl, q, e)) != KS_OK)
			break;
		dc_canon_fill_all(c, c->cnt + l * n, q);
		for (int i = 0; i < 5; i++)
			an_result_free(&q[i]);
	}
	if (!err) {
		snprintf(c->layer[0], sizeof c->layer[0], "%s", "");
		snprintf(c->layer[DC_L_ANALYSED], sizeof c->layer[0], "%s", "analysed");
		snprintf(c->layer[DC_L_UNANALYSED], sizeof c->layer[0], "%s", "unanalysed");
		for (int s = 0; s < 3; s++)
			snprintf(c->layer[DC_L_NEGATIVE + (size_t)s], sizeof c->layer[0], "s:%s", sent[s]);
		for (size_t th = 0; th < nt; th++) {
			snprintf(c->layer[DC_L_THEMES + th], sizeof c->layer[0], "t:%s", themes.groups[th].key[0]);
			snprintf(c->layer[DC_L_THEMES + nt + th], sizeof c->layer[0], "n:%s", themes.groups[th].key[0]);
		}
		/* the layers derived: not analysed, and "analysed, not T" */
		dc_canon_sub_layer(c, DC_L_UNANALYSED, 0, DC_L_ANALYSED);
		for (size_t th = 0; th < nt; th++)
			dc_canon_sub_layer(c, DC_L_THEMES + nt + th, DC_L_ANALYSED, DC_L_THEMES + th);
	}
	for (size_t l = 0; !err && l < c->n_layers; l++)
		err = dc_canon_derive(c, c->cnt + l * n);
	for (size_t l = 0; !err && l < c->n_layers; l++)
		err = dc_canon_layer(c, pol, l);
	if (!err) {
		dc_canon_force_base(c, base);
		dc_canon_hide_sentiments(c);
		err = dc_canon_text_lines(c, nt);
	}
	if (!err)
		err = dc_canon_nesting(c, ix, pol, &f0, &themes, e);
	if (!err)
		dc_canon_finish(c);
	an_result_free(&themes);
	if (err) {
		dc_canon_free(c);
		/* the queries have filled e; the rest fail for memory or a bad label */
		return e && e->code == err ? err
					   : ks_fail(e, err, NULL, err == KS_ERR_NOMEM ? "out of memory" : "canonical table: bad month label");
	}
	return KS_OK;
}

/* ---- issue 16 (H5): the attribute layers ------------------------------------------------ */

bool dc_attr_dim(an_dim d)
{
	return d == AN_DIM_LOGIN_BAND || d == AN_DIM_NEWSLETTER || an_dim_is_attr(d);
}

ks_err dc_attr_filter_set(an_index *ix, an_filter *f, an_dim d, int64_t code)
{
	if (d == AN_DIM_PRODUCT) {  /* by products.id */
		if (code <= 0)
			return KS_ERR_RANGE;
		f->product_id = code;
		return KS_OK;
	}
	if (d == AN_DIM_LOGIN_BAND || d == AN_DIM_NEWSLETTER) {
		const char *v = an_band_label(d, code);
		if (v == NULL || strlen(v) >= sizeof f->login_band)
			return KS_ERR_RANGE;
		snprintf(d == AN_DIM_LOGIN_BAND ? f->login_band : f->newsletter, sizeof f->login_band, "%s", v);
		return KS_OK;
	}
	/* issue 16 (H10): a custom attribute by its code, never by its printed
	 * label (a value of any length; one printing as "unknown") */
	char name[48];
	an_dim_label(ix, d, name, sizeof name);
	if (code < 0 || code > 255 || strncmp(name, "attr.", 5) != 0)
		return KS_ERR_RANGE;
	for (size_t i = 0; i < sizeof f->attr / sizeof f->attr[0]; i++) {
		if (f->attr[i].key[0] != '\0')
			continue;
		if (strlen(name + 5) >= sizeof f->attr[i].key)
			return KS_ERR_RANGE;
		memcpy(f->attr[i].key, name + 5, strlen(name + 5) + 1);
		f->attr[i].code1 = (uint16_t)(code + 1);
		return KS_OK;
	}
	return KS_ERR_RANGE;  /* four attribute filters already */
}

void dc_attr_layer_key(an_dim d, int64_t code, char *out, size_t n)
{
	snprintf(out, n, "%s%lld", d == AN_DIM_PRODUCT ? "#" : "=", (long long)code);
}

/* Per (row, column): every answer = the sum of the nv values of the
 * dimension (one value a response: a partition), and for each value v
 * every answer = v + not v. "Not v" is a set a reader gets from two shown
 * cells; as a cell of its own it has its threshold and its employees
 * counted, so a unit whose other values are one employee's few answers
 * hides v (test_privacy_random.py found that chain). */
static ks_err dc_canon_attr_lines(dc_canon *c, size_t nv, bool partition)
{
	size_t n = c->n_rows * c->n_cols;
	ks_err err = KS_OK;
	for (size_t k = 0; !err && k < n; k++) {
		/* products overlap: no sum of values (product.h) */
		err = partition ? sup_line(&c->t, c->cell[k]) : KS_OK;
		for (size_t v = 1; !err && partition && v <= nv; v++)
			err = sup_member(&c->t, c->cell[v * n + k]);
		for (size_t v = 1; !err && v <= nv; v++) {
			err = sup_line(&c->t, c->cell[k]);
			err = err ? err : sup_member(&c->t, c->cell[v * n + k]);
			err = err ? err : sup_member(&c->t, c->cell[(nv + v) * n + k]);
		}
	}
	return err;
}

/* A unit's (or employee's) answers of a period that all have value v (or,
 * for products, all of whose customers held P): v's cell is every
 * answer's cell, which the base table decided (layer 0). Tied to it —
 * hidden there, hidden here; shown there, a known number here — so the
 * engine never hides it to protect another cell of its layer while the
 * same answers show in layer 0 (the line "every answer = v + not v" could
 * not be closed: its total is fixed). */
static void dc_canon_attr_ties(dc_canon *c)
{
	size_t n = c->n_rows * c->n_cols, nv = (c->n_layers - 1) / 2;
	for (size_t k = 0; k < n; k++) {
		const dc_count *all = &c->cnt[k];
		for (size_t l = 1; all->n > 0 && l <= nv; l++) {  /* the values, not their complements */
			if (c->cnt[l * n + k].n != all->n)
				continue;
			size_t k0 = c->cell[k], kv = c->cell[l * n + k];
			for (int m = 0; m < SUP_MEASURES; m++) {
				if (c->t.hidden[k0][m])
					c->t.hidden[kv][m] = c->t.count[kv][m] > 0;
				else
					sup_sensitive(&c->t, kv, m, false);
			}
		}
	}
}

ks_err dc_canon_build_attr(an_index *ix, const dc_policy *pol, const an_filter *f, an_dim d, const dc_canon *base,
			   dc_canon *c, ks_error *e)
{
	memset(c, 0, sizeof *c);
	sup_init(&c->t);
	an_filter f0 = dc_canon_filter(pol, f);
	an_result q[5], vals;
	ks_err err = an_query(ix, &f0, &d, 1, &vals, e);
	if (err)
		return err;
	size_t nv = vals.n_groups;
	if (nv > DC_ATTR_MAX_VALUES) {
		/* two layers a value, five passes each: a key of postcodes is not
		 * worth a whole table per request; the caller keeps rules 1-3 */
		an_result_free(&vals);
		dc_canon_free(c);
		return KS_ERR_RANGE;
	}
	err = dc_canon_queries(ix, &f0, q, e);
	if (!err) {
		err = dc_canon_shape(c, ix, q, 1 + 2 * nv);
		if (!err)
			dc_canon_fill_all(c, c->cnt, q);
		for (int i = 0; i < 5; i++)
			an_result_free(&q[i]);
	}
	size_t n = c->n_rows * c->n_cols;
	for (size_t v = 0; !err && v < nv; v++) {
		an_filter fl = f0;
		/* by id (two products may share a name) or by value code (issue 16
		 * H10: labels are cut at 95 bytes and a value may print as
		 * "unknown"; a layer named by its label was the wrong one, or none) */
		int64_t code = d == AN_DIM_PRODUCT ? vals.groups[v].id[0] : vals.groups[v].id[0] - 1;
		char key[32];
		dc_attr_layer_key(d, code, key, sizeof key);
		if ((err = dc_attr_filter_set(ix, &fl, d, code)) != KS_OK) {
			err = ks_fail(e, KS_ERR_INTERNAL, NULL, "attribute table: value code %lld", (long long)code);
			break;
		}
		if ((err = dc_canon_queries(ix, &fl, q, e)) != KS_OK)
			break;
		dc_canon_fill_all(c, c->cnt + (1 + v) * n, q);
		for (int i = 0; i < 5; i++)
			an_result_free(&q[i]);
		snprintf(c->layer[1 + v], sizeof c->layer[0], "v:%s", key);
		snprintf(c->layer[1 + nv + v], sizeof c->layer[0], "n:%s", key);  /* key: at most 21 bytes */
		dc_canon_sub_layer(c, 1 + nv + v, 0, 1 + v);  /* every answer but v's */
	}
	for (size_t l = 0; !err && l < c->n_layers; l++)
		err = dc_canon_derive(c, c->cnt + l * n);
	for (size_t l = 0; !err && l < c->n_layers; l++)
		err = dc_canon_layer(c, pol, l);
	if (!err) {
		dc_canon_force_base(c, base);
		dc_canon_attr_ties(c);
		err = dc_canon_attr_lines(c, nv, d != AN_DIM_PRODUCT);
	}
	if (!err)
		dc_canon_finish(c);
	an_result_free(&vals);
	if (err) {
		dc_canon_free(c);
		return e && e->code == err ? err : ks_fail(e, err, NULL, "canonical table: attribute layers");
	}
	return KS_OK;
}
