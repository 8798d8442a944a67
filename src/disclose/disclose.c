/* disclose.c — disclosure control; the rules are in disclose.h, the
 * reasoning in docs/PRIVACY.md. */
#include "disclose/disclose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/units.h"
#include "disclose/suppress.h"

/* ---- small helpers --------------------------------------------------------- */

static void dc_measures(const metrics_counts *c, int64_t out[SUP_MEASURES])
{
	out[0] = c->nps_n;
	out[1] = c->grade_n;
	out[2] = c->ces_n;
}

static bool dc_is_unit_dim(an_dim d)
{
	return d == AN_DIM_EMPLOYEE || d == AN_DIM_TEAM || d == AN_DIM_DEPARTMENT || d == AN_DIM_ORGANISATION;
}

static bool dc_is_canon_time(an_dim d)
{
	return d == AN_DIM_MONTH || d == AN_DIM_QUARTER || d == AN_DIM_YEAR;
}

bool dc_vis_none(const dc_vis *v)
{
	return !v->show.nps && !v->show.grade && !v->show.ces;
}

static dc_vis dc_vis_of(const sup_table *t, size_t cell)
{
	dc_vis v = {.min_n = t->min_n[cell]};
	v.show.nps = !t->hidden[cell][0];
	v.show.grade = !t->hidden[cell][1];
	v.show.ces = !t->hidden[cell][2];
	return v;
}

/* A cell the canonical table does not hold (no answers in that period,
 * or a grouping it cannot place): nothing is shown. */
static dc_vis dc_hide_all(const dc_policy *pol, const an_filter *f)
{
	dc_vis v = {.show = {false, false, false}, .min_n = f->employee_id ? pol->min_n_person : pol->min_n};
	return v;
}

bool dc_protected(an_index *ix, const an_filter *f, const an_dim *dims, int n_dims)
{
	if (f->employee_id)
		return true;
	for (int i = 0; i < n_dims; i++)
		if (dims[i] == AN_DIM_EMPLOYEE || dims[i] == AN_DIM_TEAM)
			return true;
	return f->team_id && an_unit_kind(ix, f->team_id) == 't';
}

/* Kind of a period label: 1 month "YYYY-MM", 2 quarter "YYYY-Qn", 3 year
 * "YYYY", 4 all time "", 0 anything else. */
static int dc_label_kind(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return 4;
	if (n == 4)
		return 3;
	if (n == 7 && s[5] == 'Q')
		return 2;
	if (n == 7 && s[4] == '-')
		return 1;
	return 0;
}

/* ---- the canonical table ------------------------------------------------------ */

/* Row kinds: the org tree, and for each unit the answers that name no one
 * below it (its residual: a team's answers without an employee, ...). */
typedef struct dc_row {
	char kind;       /* 'o' org, 'd' department, 't' team, 'e' employee, 'r' residual of a
	                  * unit (its answers naming no one below it), 'n' the answers of an
	                  * org or department that name no employee */
	int64_t id;      /* unit or employee id (residual: the unit's id; org: 0) */
	int64_t parent;  /* row index of the unit it adds up to, -1 for the org */
	char unit_kind;  /* residual rows: the kind of their unit */
} dc_row;

typedef struct dc_canon {
	sup_table t;
	size_t n_rows, n_cols, n_months;
	dc_row *rows;
	char (*col)[24];          /* months, then quarters, then years, then "" (all time) */
	size_t *cell;             /* n_rows x n_cols -> cell of t */
	metrics_counts *cnt;      /* n_rows x n_cols */
	int64_t *persons;         /* n_rows x n_cols: employees with answers, capped at 2 */
} dc_canon;

static void dc_canon_free(dc_canon *c)
{
	sup_free(&c->t);
	free(c->rows);
	free(c->col);
	free(c->cell);
	free(c->cnt);
	free(c->persons);
	memset(c, 0, sizeof *c);
}

static ssize_t dc_find_row(const dc_canon *c, char kind, int64_t id)
{
	for (size_t i = 0; i < c->n_rows; i++)
		if (c->rows[i].kind == kind && c->rows[i].id == id)
			return (ssize_t)i;
	return -1;
}

static ssize_t dc_find_col(const dc_canon *c, const char *label)
{
	for (size_t i = 0; i < c->n_cols; i++)
		if (strcmp(c->col[i], label) == 0)
			return (ssize_t)i;
	return -1;
}

static ks_err dc_add_row(dc_canon *c, size_t *cap, char kind, int64_t id, char unit_kind)
{
	if (dc_find_row(c, kind, id) >= 0)
		return KS_OK;
	if (c->n_rows == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		dc_row *r = realloc(c->rows, nc * sizeof *r);
		if (r == NULL)
			return KS_ERR_NOMEM;
		c->rows = r;
		*cap = nc;
	}
	c->rows[c->n_rows++] = (dc_row){.kind = kind, .id = id, .parent = -1, .unit_kind = unit_kind};
	return KS_OK;
}

static void dc_counts_add(metrics_counts *a, const metrics_counts *b, int sign)
{
	int64_t *x = &a->n;
	const int64_t *y = &b->n;
	for (size_t i = 0; i < sizeof *a / sizeof(int64_t); i++)
		x[i] += sign * y[i];
}

/* The quarter and year labels of a month label "YYYY-MM". */
static void dc_month_parents(const char *month, char q[24], char y[24])
{
	int m = atoi(month + 5);
	snprintf(y, 24, "%.4s", month);
	snprintf(q, 24, "%.4s-Q%d", month, (m - 1) / 3 % 4 + 1);
}

/* Columns from the organisation's months: months, their quarters, their
 * years, all time. */
static ks_err dc_canon_cols(dc_canon *c, const an_result *months)
{
	size_t max = months->n_groups * 3 + 1;
	c->col = calloc(max, sizeof *c->col);
	if (c->col == NULL)
		return KS_ERR_NOMEM;
	for (size_t g = 0; g < months->n_groups; g++)
		snprintf(c->col[c->n_cols++], 24, "%.23s", months->groups[g].key[0]);
	c->n_months = c->n_cols;
	for (int pass = 0; pass < 2; pass++)
		for (size_t g = 0; g < c->n_months; g++) {
			char q[24], y[24];
			dc_month_parents(c->col[g], q, y);
			const char *l = pass == 0 ? q : y;
			if (dc_find_col(c, l) < 0)
				snprintf(c->col[c->n_cols++], 24, "%s", l);
		}
	c->col[c->n_cols++][0] = '\0';
	return KS_OK;
}

/* Rows: the org, its departments and teams, employees, and a residual for
 * each unit. Parents follow the index's tree; an employee adds up to the
 * team the index has for them now (see docs/PRIVACY.md on moves). */
static ks_err dc_canon_rows(dc_canon *c, an_index *ix, const an_result *depts, const an_result *teams,
			    const an_result *emps)
{
	size_t cap = 0;
	ks_err err = dc_add_row(c, &cap, 'o', 0, 0);
	for (size_t g = 0; !err && g < depts->n_groups; g++)
		if (depts->groups[g].id[0] && an_unit_kind(ix, depts->groups[g].id[0]) == 'd')
			err = dc_add_row(c, &cap, 'd', depts->groups[g].id[0], 0);
	for (size_t g = 0; !err && g < teams->n_groups; g++)
		if (teams->groups[g].id[0] && an_unit_kind(ix, teams->groups[g].id[0]) == 't')
			err = dc_add_row(c, &cap, 't', teams->groups[g].id[0], 0);
	for (size_t g = 0; !err && g < emps->n_groups; g++)
		if (emps->groups[g].id[0])
			err = dc_add_row(c, &cap, 'e', emps->groups[g].id[0], 0);
	size_t units = c->n_rows;
	for (size_t r = 0; !err && r < units; r++)
		if (c->rows[r].kind != 'e')
			err = dc_add_row(c, &cap, 'r', c->rows[r].id, c->rows[r].kind);
	for (size_t r = 0; !err && r < units; r++)
		if (c->rows[r].kind == 'o' || c->rows[r].kind == 'd')
			err = dc_add_row(c, &cap, 'n', c->rows[r].id, c->rows[r].kind);
	for (size_t r = 0; !err && r < c->n_rows; r++) {
		dc_row *row = &c->rows[r];
		ssize_t p = -1;
		if (row->kind == 'd')
			p = dc_find_row(c, 'o', 0);
		else if (row->kind == 't')
			p = dc_find_row(c, 'd', an_unit_parent(ix, row->id));
		else if (row->kind == 'e')
			p = dc_find_row(c, 't', an_employee_team(ix, row->id));
		else if (row->kind == 'r' || row->kind == 'n')
			p = dc_find_row(c, row->unit_kind, row->id);
		/* a team outside any known department adds up to the org */
		if (p < 0 && row->kind != 'o')
			p = row->kind == 'e' ? -1 : dc_find_row(c, 'o', 0);
		row->parent = p;
	}
	return err;
}

/* Put a breakdown's counts (dims: unit, month) into the rows of kind. */
static void dc_canon_fill(dc_canon *c, const an_result *r, char kind)
{
	for (size_t g = 0; g < r->n_groups; g++) {
		const an_group *gr = &r->groups[g];
		ssize_t row = kind == 'o' ? dc_find_row(c, 'o', 0) : dc_find_row(c, kind, gr->id[0]);
		ssize_t col = dc_find_col(c, gr->key[r->n_dims - 1]);
		if (row < 0 || col < 0)
			continue;
		dc_counts_add(&c->cnt[(size_t)row * c->n_cols + (size_t)col], &gr->c, 1);
	}
}

/* Is row k below row u in the org tree (at any depth)? */
static bool dc_below(const dc_canon *c, size_t k, size_t u)
{
	for (ssize_t p = c->rows[k].parent; p >= 0; p = c->rows[p].parent)
		if ((size_t)p == u)
			return true;
	return false;
}

/* Does row k add up into row u's line of children? Every row whose parent
 * is u, but not u's 'n' row: that one has a line of its own. */
static bool dc_child(const dc_canon *c, size_t k, size_t u)
{
	return c->rows[k].parent == (ssize_t)u && c->rows[k].kind != 'n';
}

/* Residual = unit - the rows that add up to it; 'n' = unit - every
 * employee below it; quarters, years and all time = sums of months.
 * Negative residuals (an employee who moved team) are clamped to zero. */
static void dc_canon_derive(dc_canon *c)
{
	for (size_t r = 0; r < c->n_rows; r++) {
		char kind = c->rows[r].kind;
		if (kind != 'r' && kind != 'n')
			continue;
		ssize_t unit = c->rows[r].parent;
		for (size_t m = 0; unit >= 0 && m < c->n_months; m++) {
			metrics_counts *res = &c->cnt[r * c->n_cols + m];
			*res = c->cnt[(size_t)unit * c->n_cols + m];
			for (size_t k = 0; k < c->n_rows; k++) {
				bool sub = kind == 'r' ? k != r && dc_child(c, k, (size_t)unit)
						       : c->rows[k].kind == 'e' && dc_below(c, k, (size_t)unit);
				if (sub)
					dc_counts_add(res, &c->cnt[k * c->n_cols + m], -1);
			}
			int64_t *x = &res->n;
			for (size_t i = 0; i < sizeof *res / sizeof(int64_t); i++)
				if (x[i] < 0)
					x[i] = 0;
		}
	}
	for (size_t r = 0; r < c->n_rows; r++)
		for (size_t m = 0; m < c->n_months; m++) {
			char q[24], y[24];
			dc_month_parents(c->col[m], q, y);
			const metrics_counts *src = &c->cnt[r * c->n_cols + m];
			dc_counts_add(&c->cnt[r * c->n_cols + (size_t)dc_find_col(c, q)], src, 1);
			dc_counts_add(&c->cnt[r * c->n_cols + (size_t)dc_find_col(c, y)], src, 1);
			dc_counts_add(&c->cnt[r * c->n_cols + c->n_cols - 1], src, 1);
		}
}

/* Employees with answers in each unit cell (capped at 2), for rule 2. */
static void dc_canon_persons(dc_canon *c)
{
	for (size_t r = 0; r < c->n_rows; r++) {
		if (c->rows[r].kind != 'e')
			continue;
		for (size_t col = 0; col < c->n_cols; col++) {
			if (c->cnt[r * c->n_cols + col].n == 0)
				continue;
			for (ssize_t u = c->rows[r].parent; u >= 0; u = c->rows[u].parent) {
				int64_t *p = &c->persons[(size_t)u * c->n_cols + col];
				*p = *p < 2 ? *p + 1 : 2;
			}
		}
	}
}

/* A unit's cell whose answers name exactly one employee is that
 * employee's score (rule 2), whatever answers naming no one it also holds:
 * those can be asked for on their own and subtracted. */
static bool dc_canon_person(const dc_canon *c, size_t r, size_t col)
{
	if (c->rows[r].kind == 'e')
		return true;
	if (c->rows[r].kind == 'r' || c->rows[r].kind == 'n')
		return false;
	return c->persons[r * c->n_cols + col] == 1;
}

static ks_err dc_canon_cells(dc_canon *c, const dc_policy *pol)
{
	ks_err err = KS_OK;
	for (size_t r = 0; !err && r < c->n_rows; r++)
		for (size_t col = 0; !err && col < c->n_cols; col++) {
			size_t k = r * c->n_cols + col;
			int64_t m[SUP_MEASURES];
			dc_measures(&c->cnt[k], m);
			err = sup_cell(&c->t, m, dc_canon_person(c, r, col) ? pol->min_n_person : pol->min_n,
				       &c->cell[k]);
			/* Only a cell holding some employee's answers can give a
			 * person away (suppress.h, "sensitive"). */
			if (!err && c->persons[k] == 0 && c->rows[r].kind != 'e')
				sup_sensitive(&c->t, c->cell[k], false);
		}
	return err;
}

/* The lines: a unit's cell is the sum of the rows below it (and its
 * residual); a quarter the sum of its months, a year of its quarters, all
 * time of the years. */
static ks_err dc_canon_lines(dc_canon *c)
{
	ks_err err = KS_OK;
	size_t nc = c->n_cols;
	for (size_t u = 0; !err && u < c->n_rows; u++) {
		if (c->rows[u].kind == 'e' || c->rows[u].kind == 'r' || c->rows[u].kind == 'n')
			continue;
		ssize_t none = c->rows[u].kind == 't' ? -1 : dc_find_row(c, 'n', c->rows[u].id);
		for (size_t col = 0; !err && col < nc; col++) {
			err = sup_line(&c->t, c->cell[u * nc + col]);
			for (size_t k = 0; !err && k < c->n_rows; k++)
				if (dc_child(c, k, u))
					err = sup_member(&c->t, c->cell[k * nc + col]);
			/* org or department = every employee below it + the answers
			 * naming no employee (group_by=employee's "(none)" row) */
			if (!err && none >= 0) {
				err = sup_line(&c->t, c->cell[u * nc + col]);
				for (size_t k = 0; !err && k < c->n_rows; k++)
					if (c->rows[k].kind == 'e' && dc_below(c, k, u))
						err = sup_member(&c->t, c->cell[k * nc + col]);
				if (!err)
					err = sup_member(&c->t, c->cell[(size_t)none * nc + col]);
			}
		}
	}
	for (size_t r = 0; !err && r < c->n_rows; r++) {
		for (size_t p = c->n_months; !err && p + 1 < nc; p++) {
			int kind = dc_label_kind(c->col[p]);
			err = sup_line(&c->t, c->cell[r * nc + p]);
			for (size_t k = 0; !err && k < nc - 1; k++) {
				char q[24], y[24];
				if (kind == 2 && k < c->n_months) {
					dc_month_parents(c->col[k], q, y);
					if (strcmp(q, c->col[p]) == 0)
						err = sup_member(&c->t, c->cell[r * nc + k]);
				} else if (kind == 3 && dc_label_kind(c->col[k]) == 2 &&
					   strncmp(c->col[k], c->col[p], 4) == 0) {
					err = sup_member(&c->t, c->cell[r * nc + k]);
				}
			}
		}
		err = err ? err : sup_line(&c->t, c->cell[r * nc + nc - 1]);
		for (size_t k = c->n_months; !err && k + 1 < nc; k++)
			if (dc_label_kind(c->col[k]) == 3)
				err = sup_member(&c->t, c->cell[r * nc + k]);
	}
	return err;
}

static ks_err dc_canon_build(an_index *ix, const dc_policy *pol, const an_filter *f, dc_canon *c,
			     ks_error *e)
{
	memset(c, 0, sizeof *c);
	sup_init(&c->t);
	an_filter f0 = *f;
	f0.team_id = 0;
	f0.employee_id = 0;
	f0.from = 0;
	f0.to = pol->as_of;
	f0.nps_only = false;
	an_dim d_m = AN_DIM_MONTH;
	an_dim d_dep[2] = {AN_DIM_DEPARTMENT, AN_DIM_MONTH};
	an_dim d_team[2] = {AN_DIM_TEAM, AN_DIM_MONTH};
	an_dim d_emp[2] = {AN_DIM_EMPLOYEE, AN_DIM_MONTH};
	an_result q[4];
	memset(q, 0, sizeof q);
	ks_err err = an_query(ix, &f0, &d_m, 1, &q[0], e);
	if (!err)
		err = an_query(ix, &f0, d_dep, 2, &q[1], e);
	if (!err)
		err = an_query(ix, &f0, d_team, 2, &q[2], e);
	if (!err)
		err = an_query(ix, &f0, d_emp, 2, &q[3], e);
	if (!err)
		err = dc_canon_cols(c, &q[0]);
	if (!err)
		err = dc_canon_rows(c, ix, &q[1], &q[2], &q[3]);
	size_t cells = c->n_rows * c->n_cols;
	if (!err) {
		c->cell = calloc(cells ? cells : 1, sizeof *c->cell);
		c->cnt = calloc(cells ? cells : 1, sizeof *c->cnt);
		c->persons = calloc(cells ? cells : 1, sizeof *c->persons);
		if (c->cell == NULL || c->cnt == NULL || c->persons == NULL)
			err = KS_ERR_NOMEM;
	}
	if (!err) {
		dc_canon_fill(c, &q[0], 'o');
		dc_canon_fill(c, &q[1], 'd');
		dc_canon_fill(c, &q[2], 't');
		dc_canon_fill(c, &q[3], 'e');
		dc_canon_derive(c);
		dc_canon_persons(c);
		err = dc_canon_cells(c, pol);
	}
	if (!err)
		err = dc_canon_lines(c);
	if (!err)
		sup_run(&c->t);
	for (int i = 0; i < 4; i++)
		an_result_free(&q[i]);
	if (err == KS_ERR_NOMEM)
		ks_fail(e, err, NULL, "out of memory");
	if (err)
		dc_canon_free(c);
	return err;
}

/* ---- mapping a reply's cells onto the canonical table ------------------------- */

/* The row a filter addresses. */
static ssize_t dc_filter_row(an_index *ix, const dc_canon *c, const an_filter *f)
{
	if (f->employee_id)
		return dc_find_row(c, 'e', f->employee_id);
	if (f->team_id) {
		char k = an_unit_kind(ix, f->team_id);
		return k ? dc_find_row(c, k, f->team_id) : -1;
	}
	return dc_find_row(c, 'o', 0);
}

/* Depth of a row kind in the org tree: a group of one dimension inside a
 * filter on another unit is the deeper of the two. */
static int dc_depth(char kind)
{
	switch (kind) {
	case 'o': return 0;
	case 'd': return 1;
	case 't': return 2;
	default: return 3; /* employees and the answers naming no one */
	}
}

/* The "(none)" group of a grouping by employee inside the filter's unit:
 * a team's residual, or an org's or department's answers naming no one. */
static ssize_t dc_none_row(an_index *ix, const dc_canon *c, const an_filter *f)
{
	if (f->employee_id)
		return -1;
	char k = f->team_id ? an_unit_kind(ix, f->team_id) : 'o';
	if (k == 't')
		return dc_find_row(c, 'r', f->team_id);
	return k ? dc_find_row(c, 'n', f->team_id) : -1;
}

/* The canonical cell of a group (g NULL: the reply's total); -1 when the
 * group is no cell of the table. */
static ssize_t dc_map(an_index *ix, const dc_canon *c, const an_filter *f, const char *period,
		      const an_result *r, const an_group *g)
{
	ssize_t row = -2, col = -2;
	int pk = dc_label_kind(period);
	for (int i = 0; g && i < r->n_dims; i++) {
		an_dim d = r->dims[i];
		int64_t id = g->id[i];
		if (d == AN_DIM_EMPLOYEE) {
			row = id ? dc_find_row(c, 'e', id) : dc_none_row(ix, c, f);
		} else if (d == AN_DIM_TEAM) {
			row = an_unit_kind(ix, id) == 't' ? dc_find_row(c, 't', id) : -1;
		} else if (d == AN_DIM_DEPARTMENT) {
			row = an_unit_kind(ix, id) == 'd' ? dc_find_row(c, 'd', id) : -1;
		} else if (d == AN_DIM_ORGANISATION) {
			row = dc_find_row(c, 'o', 0);
		} else if (dc_is_canon_time(d)) {
			/* The finer of the group's period and the filter's. */
			int gk = dc_label_kind(g->key[i]);
			col = dc_find_col(c, gk < pk ? g->key[i] : period);
		} else {
			return -1;
		}
		if (row == -1 || col == -1)
			return -1;
	}
	ssize_t fr = dc_filter_row(ix, c, f);
	/* A unit group inside a filter on a deeper unit (team 11 grouped by
	 * department) is the filter's unit: the intersection of a unit and one
	 * of its ancestors is the unit itself. */
	if (row == -2 || (row >= 0 && fr >= 0 && dc_depth(c->rows[fr].kind) > dc_depth(c->rows[row].kind)))
		row = fr;
	if (col == -2)
		col = dc_find_col(c, period);
	if (row < 0 || col < 0)
		return -1;
	return (ssize_t)c->cell[(size_t)row * c->n_cols + (size_t)col];
}

static bool dc_all_canonical(const an_dim *dims, int n_dims)
{
	for (int i = 0; i < n_dims; i++)
		if (!dc_is_unit_dim(dims[i]) && !dc_is_canon_time(dims[i]))
			return false;
	return true;
}

/* ---- the reply's own table (rules 1-3) ------------------------------------------ */

static int64_t dc_threshold(const dc_policy *pol, bool person_slice, uint8_t persons)
{
	return person_slice || persons == 1 ? pol->min_n_person : pol->min_n;
}

/* Is a group one employee's row (grouped by employee, a named one)? */
static bool dc_group_is_person(const an_result *r, const an_group *g)
{
	for (int i = 0; i < r->n_dims; i++)
		if (r->dims[i] == AN_DIM_EMPLOYEE && g->id[i] != 0)
			return true;
	return false;
}

/* 2-way margins: the sum of the cells sharing key i; a margin of one
 * employee (or of the whole reply inside one employee's slice) has the
 * person threshold, and so has a margin whose answers name one employee. */
static ks_err dc_margins(sup_table *t, const an_result *r, int i, const dc_policy *pol, bool person,
			 const size_t *cell, size_t total)
{
	ks_err err = KS_OK;
	bool *done = calloc(r->n_groups ? r->n_groups : 1, 1);
	if (done == NULL)
		return KS_ERR_NOMEM;
	size_t first_margin = t->n;
	for (size_t g = 0; !err && g < r->n_groups; g++) {
		if (done[g])
			continue;
		metrics_counts sum;
		memset(&sum, 0, sizeof sum);
		/* distinct employees of the margin, capped at 2, from its cells' bounds */
		int persons = 0;
		bool named = r->dims[i] == AN_DIM_EMPLOYEE && r->groups[g].id[i] != 0;
		for (size_t k = g; k < r->n_groups; k++)
			if (!done[k] && strcmp(r->groups[k].key[i], r->groups[g].key[i]) == 0) {
				dc_counts_add(&sum, &r->groups[k].c, 1);
				persons = persons > r->groups[k].persons ? persons : r->groups[k].persons;
			}
		/* cells of one employee each may be different employees: only a
		 * named employee's margin is surely one person */
		int64_t m[SUP_MEASURES];
		dc_measures(&sum, m);
		size_t mc;
		err = sup_cell(t, m, dc_threshold(pol, person || named, persons == 0 ? 0 : 2), &mc);
		if (!err && persons == 0 && !person)
			sup_sensitive(t, mc, false);
		err = err ? err : sup_line(t, mc);
		for (size_t k = g; !err && k < r->n_groups; k++)
			if (!done[k] && strcmp(r->groups[k].key[i], r->groups[g].key[i]) == 0) {
				done[k] = true;
				err = sup_member(t, cell[k]);
			}
	}
	err = err ? err : sup_line(t, total);
	for (size_t mc = first_margin; !err && mc < t->n; mc++)
		err = sup_member(t, mc);
	free(done);
	return err;
}

static ks_err dc_reply_table(const dc_policy *pol, const an_filter *f, dc_reply *out, ssize_t forced_total,
			     const sup_table *canon_t)
{
	const an_result *r = &out->r;
	/* One employee's slice makes every cell a person's; a grouping by
	 * employee makes its named rows (and their margins) persons', not the
	 * total nor the "(none)" rows. */
	bool person = f->employee_id != 0;
	sup_table t;
	sup_init(&t);
	size_t *cell = calloc(r->n_groups ? r->n_groups : 1, sizeof *cell);
	if (cell == NULL)
		return KS_ERR_NOMEM;
	int64_t m[SUP_MEASURES];
	dc_measures(&r->total, m);
	size_t total;
	ks_err err = sup_cell(&t, m, dc_threshold(pol, person, r->total_persons), &total);
	if (!err && r->total_persons == 0 && !person)
		sup_sensitive(&t, total, false);
	if (!err && forced_total >= 0) {
		/* The canonical table decided the total: hide what it hides. */
		for (int k = 0; k < SUP_MEASURES; k++)
			t.hidden[total][k] = canon_t->hidden[forced_total][k] && m[k] > 0;
	}
	for (size_t g = 0; !err && g < r->n_groups; g++) {
		dc_measures(&r->groups[g].c, m);
		err = sup_cell(&t, m,
			       dc_threshold(pol, person || dc_group_is_person(r, &r->groups[g]), r->groups[g].persons),
			       &cell[g]);
		if (!err && r->groups[g].persons == 0 && !person)
			sup_sensitive(&t, cell[g], false);
	}
	if (!err && r->n_dims == 1) {
		err = sup_line(&t, total);
		for (size_t g = 0; !err && g < r->n_groups; g++)
			err = sup_member(&t, cell[g]);
	}
	for (int i = 0; !err && r->n_dims == 2 && i < 2; i++)
		err = dc_margins(&t, r, i, pol, person, cell, total);
	if (!err) {
		sup_run(&t);
		out->total = dc_vis_of(&t, total);
		for (size_t g = 0; g < r->n_groups; g++)
			out->groups[g] = dc_vis_of(&t, cell[g]);
	}
	free(cell);
	sup_free(&t);
	return err;
}

/* ---- the query -------------------------------------------------------------------- */

ks_err dc_query(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
		const an_dim *dims, int n_dims, dc_reply *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	ks_err err = an_query(ix, f, dims, n_dims, &out->r, e);
	if (err)
		return err;
	out->groups = calloc(out->r.n_groups ? out->r.n_groups : 1, sizeof *out->groups);
	if (out->groups == NULL) {
		dc_reply_free(out);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	bool canon = period != NULL && dc_label_kind(period) != 0 && dc_protected(ix, f, dims, n_dims);
	if (!canon) {
		err = dc_reply_table(pol, f, out, -1, NULL);
		if (err)
			dc_reply_free(out);
		return err ? ks_fail(e, err, NULL, "out of memory") : KS_OK;
	}
	dc_canon c;
	err = dc_canon_build(ix, pol, f, &c, e);
	if (err) {
		dc_reply_free(out);
		return err;
	}
	ssize_t tc = dc_map(ix, &c, f, period, &out->r, NULL);
	if (dc_all_canonical(dims, n_dims)) {
		out->canonical = true;
		out->total = tc >= 0 ? dc_vis_of(&c.t, (size_t)tc) : dc_hide_all(pol, f);
		for (size_t g = 0; g < out->r.n_groups; g++) {
			ssize_t gc = dc_map(ix, &c, f, period, &out->r, &out->r.groups[g]);
			out->groups[g] = gc >= 0 ? dc_vis_of(&c.t, (size_t)gc) : dc_hide_all(pol, f);
		}
	} else if (tc >= 0) {
		err = dc_reply_table(pol, f, out, tc, &c.t);
	} else {
		err = dc_reply_table(pol, f, out, -1, NULL);
		out->total = dc_hide_all(pol, f);
	}
	dc_canon_free(&c);
	if (err) {
		dc_reply_free(out);
		return ks_fail(e, err, NULL, "out of memory");
	}
	return KS_OK;
}

/* ---- sorting and freeing ------------------------------------------------------------- */

typedef struct dc_sort_ctx {
	int (*cmp)(const an_group *, const dc_vis *, const an_group *, const dc_vis *, void *);
	void *arg;
} dc_sort_ctx;

typedef struct dc_pair {
	an_group g;
	dc_vis v;
	size_t at;                /* the original position: a stable order */
	const dc_sort_ctx *ctx;   /* qsort has no argument of its own */
} dc_pair;

static int dc_pair_cmp(const void *a, const void *b)
{
	const dc_pair *x = a, *y = b;
	const dc_sort_ctx *s = x->ctx;
	int c = s->cmp(&x->g, &x->v, &y->g, &y->v, s->arg);
	return c ? c : (x->at < y->at ? -1 : x->at > y->at);
}

void dc_reply_sort(dc_reply *out, int (*cmp)(const an_group *, const dc_vis *, const an_group *,
					     const dc_vis *, void *), void *arg)
{
	size_t n = out->r.n_groups;
	dc_pair *p = malloc((n ? n : 1) * sizeof *p);
	if (p == NULL)
		return; /* left in the natural order */
	dc_sort_ctx s = {cmp, arg};
	for (size_t i = 0; i < n; i++)
		p[i] = (dc_pair){out->r.groups[i], out->groups[i], i, &s};
	qsort(p, n, sizeof *p, dc_pair_cmp);
	for (size_t i = 0; i < n; i++) {
		out->r.groups[i] = p[i].g;
		out->groups[i] = p[i].v;
	}
	free(p);
}

void dc_reply_free(dc_reply *r)
{
	an_result_free(&r->r);
	free(r->groups);
	r->groups = NULL;
}
