/* disclose.c — disclosure control; the rules are in disclose.h, the
 * reasoning in docs/PRIVACY.md. */
#include "disclose/disclose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/units.h"
#include "disclose/canon.h"
#include "disclose/suppress.h"
#include "disclose/text.h"

/* ---- small helpers --------------------------------------------------------- */


static bool dc_is_unit_dim(an_dim d)
{
	return d == AN_DIM_EMPLOYEE || d == AN_DIM_TEAM || d == AN_DIM_DEPARTMENT || d == AN_DIM_ORGANISATION;
}

static bool dc_is_canon_time(an_dim d)
{
	return d == AN_DIM_MONTH || d == AN_DIM_QUARTER || d == AN_DIM_YEAR;
}

/* The printed threshold is the lowest of the answered measures' (the
 * highest when none is answered); a measure with a higher one (a
 * person's) is hidden through the mask when under it. */
static dc_vis dc_vis_of(const sup_table *t, size_t cell, const metrics_counts *c)
{
	const int64_t answered[SUP_MEASURES] = {c->nps_n, c->grade_n, c->ces_n};
	int64_t lo = INT64_MAX, hi = 0;
	for (int m = 0; m < SUP_MEASURES; m++) {
		int64_t thr = t->min_n[cell][m];
		hi = thr > hi ? thr : hi;
		if (answered[m] > 0 && thr < lo)
			lo = thr;
	}
	dc_vis v = {.min_n = lo == INT64_MAX ? hi : lo};
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

/* ---- mapping a reply's cells onto the canonical table ------------------------- */

/* The row a filter addresses: an employee, a unit of any level, or every
 * answer ('a') when the filter names neither. */
static ssize_t dc_filter_row(an_index *ix, const dc_canon *c, const an_filter *f)
{
	if (f->employee_id)
		return dc_canon_row(c, 'e', f->employee_id);
	if (f->team_id) {
		char k = an_unit_kind(ix, f->team_id);
		return k ? dc_canon_row(c, k, f->team_id) : -1;
	}
	return dc_canon_row(c, 'a', 0);
}

/* Depth of a row kind in the org tree: a group of one dimension inside a
 * filter on another unit is the deeper of the two. */
static int dc_depth(char kind)
{
	switch (kind) {
	case 'a': return 0;
	case 'o': return 1;
	case 'd': return 2;
	case 't': return 3;
	default: return 4; /* employees and the answers naming no one */
	}
}

/* Is row k row u or below it? */
static bool dc_within(const dc_canon *c, ssize_t k, ssize_t u)
{
	for (; k >= 0; k = c->rows[k].parent)
		if (k == u)
			return true;
	return false;
}

/* The intersection of two rows of the org tree: the deeper one when it
 * lies within the other, else none the table holds (-1). */
static ssize_t dc_meet(const dc_canon *c, ssize_t a, ssize_t b)
{
	if (a < 0 || b < 0)
		return -1;
	if (dc_depth(c->rows[a].kind) < dc_depth(c->rows[b].kind)) {
		ssize_t t = a;
		a = b;
		b = t;
	}
	return dc_within(c, a, b) ? a : -1;
}

/* The "(none)" group of a grouping by employee inside a unit's row: a
 * team's residual, or the answers of anything above naming no employee. */
static ssize_t dc_none_row(const dc_canon *c, ssize_t unit)
{
	if (unit < 0)
		return -1;
	char k = c->rows[unit].kind;
	if (k == 't')
		return dc_canon_row(c, 'r', c->rows[unit].id);
	if (k == 'a' || k == 'o' || k == 'd')
		return dc_canon_row(c, 'n', c->rows[unit].id);
	return -1;
}

ssize_t dc_canon_map(an_index *ix, const dc_canon *c, const an_filter *f, const char *period,
		     const an_result *r, const an_group *g, size_t l)
{
	ssize_t row = -2, col = -2;
	int pk = dc_label_kind(period);
	bool no_one = false; /* grouped by employee, the "(none)" group */
	for (int i = 0; g && i < r->n_dims; i++) {
		an_dim d = r->dims[i];
		int64_t id = g->id[i];
		ssize_t u = -2;
		if (d == AN_DIM_EMPLOYEE) {
			if (id)
				u = dc_canon_row(c, 'e', id);
			else
				no_one = true;
		} else if (d == AN_DIM_TEAM) {
			u = an_unit_kind(ix, id) == 't' ? dc_canon_row(c, 't', id) : -1;
		} else if (d == AN_DIM_DEPARTMENT) {
			u = an_unit_kind(ix, id) == 'd' ? dc_canon_row(c, 'd', id) : -1;
		} else if (d == AN_DIM_ORGANISATION) {
			/* "(none)": answers under no organisation, the residual of all */
			u = id ? dc_canon_row(c, 'o', id) : dc_canon_row(c, 'r', 0);
		} else if (dc_is_canon_time(d)) {
			/* The finer of the group's period and the filter's. */
			int gk = dc_label_kind(g->key[i]);
			col = dc_canon_col(c, gk < pk ? g->key[i] : period);
		} else if (an_dim_is_text(d) || dc_attr_dim(d) || d == AN_DIM_PRODUCT) {
			continue; /* the layer (issue 16: an attribute's value too) */
		} else {
			return -1;
		}
		/* Two unit dimensions (employee by team): the deeper of the two. */
		if (u != -2)
			row = row == -2 ? u : dc_meet(c, row, u);
		if (row == -1 || col == -1)
			return -1;
	}
	/* A unit group inside a filter on another unit (team 11 grouped by
	 * department) is the deeper of the two: the intersection of a unit and
	 * one of its ancestors is the unit itself. */
	ssize_t fr = dc_filter_row(ix, c, f);
	row = row == -2 ? fr : dc_meet(c, row, fr);
	/* "(none)" of a grouping by employee, inside the unit the other
	 * dimensions and the filter come to (none inside one employee) */
	if (no_one)
		row = f->employee_id ? -1 : dc_none_row(c, row);
	if (col == -2)
		col = dc_canon_col(c, period);
	if (row < 0 || col < 0 || l >= c->n_layers)
		return -1;
	return (ssize_t)c->cell[(l * c->n_rows + (size_t)row) * c->n_cols + (size_t)col];
}

static bool dc_all_canonical(const an_dim *dims, int n_dims)
{
	for (int i = 0; i < n_dims; i++)
		if (!dc_is_unit_dim(dims[i]) && !dc_is_canon_time(dims[i]))
			return false;
	return true;
}

static void dc_counts_add(metrics_counts *a, const metrics_counts *b)
{
	int64_t *x = &a->n;
	const int64_t *y = &b->n;
	for (size_t i = 0; i < sizeof *a / sizeof(int64_t); i++)
		x[i] += y[i];
}

/* ---- the reply's own table (rules 1-3) ------------------------------------------ */

static int64_t dc_threshold(const dc_policy *pol, bool person_slice, uint8_t persons)
{
	return person_slice || persons == 1 ? pol->min_n_person : pol->min_n;
}

/* A cell of the reply's own table: one threshold for its three measures
 * (the index counts a group's employees over all its answers, not per
 * question); not sensitive when no answer names an employee. */
static ks_err dc_reply_cell(sup_table *t, const metrics_counts *c, int64_t thr, bool no_one, size_t *idx)
{
	int64_t m[SUP_MEASURES] = {c->nps_n, c->grade_n, c->ces_n};
	int64_t min_n[SUP_MEASURES] = {thr, thr, thr};
	ks_err err = sup_cell(t, m, min_n, idx);
	for (int i = 0; !err && no_one && i < SUP_MEASURES; i++)
		sup_sensitive(t, *idx, i, false);
	return err;
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
				dc_counts_add(&sum, &r->groups[k].c);
				persons = persons > r->groups[k].persons ? persons : r->groups[k].persons;
			}
		/* cells of one employee each may be different employees: only a
		 * named employee's margin is surely one person */
		size_t mc;
		err = dc_reply_cell(t, &sum, dc_threshold(pol, person || named, persons == 0 ? 0 : 2),
				    persons == 0 && !person, &mc);
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
	size_t total;
	ks_err err = dc_reply_cell(&t, &r->total, dc_threshold(pol, person, r->total_persons),
				   r->total_persons == 0 && !person, &total);
	if (!err && forced_total >= 0) {
		/* The canonical table decided the total: hide what it hides. */
		for (int k = 0; k < SUP_MEASURES; k++)
			t.hidden[total][k] = canon_t->hidden[forced_total][k] && t.count[total][k] > 0;
	}
	for (size_t g = 0; !err && g < r->n_groups; g++) {
		const an_group *gr = &r->groups[g];
		err = dc_reply_cell(&t, &gr->c, dc_threshold(pol, person || dc_group_is_person(r, gr), gr->persons),
				    gr->persons == 0 && !person, &cell[g]);
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
		out->total = dc_vis_of(&t, total, &r->total);
		for (size_t g = 0; g < r->n_groups; g++)
			out->groups[g] = dc_vis_of(&t, cell[g], &r->groups[g].c);
	}
	free(cell);
	sup_free(&t);
	return err;
}

/* ---- issue 16 (H5): attribute groupings and filters --------------------------------- */

/* Is the reply one of an attribute table's (canon.h)? One single-valued
 * attribute dimension, grouped by or filtered on (not on two values), the
 * other dimensions units, employees or whole periods, no text filter. *ad
 * gets the dimension, fixed the filter's value ("" when grouped), *fs the
 * filter without it (the table's own). */
static bool dc_attr_plan(an_index *ix, const an_filter *f, const an_dim *dims, int n_dims, an_dim *ad,
			 char fixed[AN_ATTR_VALUE_MAX + 1], an_filter *fs)
{
	if (f->theme[0] || f->sentiment[0] || f->analysed)
		return false;
	an_dim gd = AN_DIM_NONE, fd = AN_DIM_NONE;
	for (int i = 0; i < n_dims; i++) {
		if (dc_attr_dim(dims[i]) || dims[i] == AN_DIM_PRODUCT) {
			if (gd != AN_DIM_NONE)
				return false;
			gd = dims[i];
		} else if (!dc_is_unit_dim(dims[i]) && !dc_is_canon_time(dims[i])) {
			return false;
		}
	}
	*fs = *f;
	fixed[0] = '\0';
	int nf = 0;
	if (f->product_id) {
		fd = AN_DIM_PRODUCT;
		snprintf(fixed, AN_ATTR_VALUE_MAX + 1, "#%lld", (long long)f->product_id);
		fs->product_id = 0;
		nf++;
	}
	if (f->login_band[0]) {
		fd = AN_DIM_LOGIN_BAND;
		snprintf(fixed, AN_ATTR_VALUE_MAX + 1, "%s", f->login_band);
		memset(fs->login_band, 0, sizeof fs->login_band);
		nf++;
	}
	if (f->newsletter[0]) {
		fd = AN_DIM_NEWSLETTER;
		snprintf(fixed, AN_ATTR_VALUE_MAX + 1, "%s", f->newsletter);
		memset(fs->newsletter, 0, sizeof fs->newsletter);
		nf++;
	}
	for (size_t i = 0; i < sizeof f->attr / sizeof f->attr[0]; i++) {
		if (f->attr[i].key[0] == '\0')
			continue;
		char name[48];
		snprintf(name, sizeof name, "attr.%s", f->attr[i].key);
		fd = an_dim_resolve(ix, name);
		if (fd == AN_DIM_NONE)
			return false;
		snprintf(fixed, AN_ATTR_VALUE_MAX + 1, "%s", f->attr[i].value);
		memset(&fs->attr[i], 0, sizeof fs->attr[i]);
		nf++;
	}
	if (nf > 1 || (gd == AN_DIM_NONE && fd == AN_DIM_NONE) ||
	    (gd != AN_DIM_NONE && fd != AN_DIM_NONE && gd != fd))
		return false;
	*ad = gd != AN_DIM_NONE ? gd : fd;
	return true;
}

/* The reply's cells from the attribute table of ad: a filter's value is
 * the layer of every cell, else each group's value (the total: every
 * answer, layer 0). */
static ks_err dc_attr_reply(an_index *ix, const dc_policy *pol, const an_filter *fs, const an_filter *f,
			    const char *period, an_dim ad, const char *fixed, dc_reply *out, ks_error *e)
{
	const dc_canon *c = NULL;
	ks_err err = dc_canon_attr_get(ix, pol, fs, ad, &c, e);
	if (err)
		return err;
	char name[40], key[32];
	ssize_t lf = 0;
	if (fixed[0]) {  /* issue 16 (H10): the layer of the value's code, none for a value nobody has */
		int64_t code = ad == AN_DIM_PRODUCT ? strtoll(fixed + 1, NULL, 10) : an_value_code(ix, ad, fixed);
		dc_attr_layer_key(ad, code, key, sizeof key);
		snprintf(name, sizeof name, "v:%s", key);
		lf = code >= 0 ? dc_canon_layer_of(c, name) : -1;
	}
	ssize_t tc = lf >= 0 ? dc_canon_map(ix, c, f, period, &out->r, NULL, (size_t)lf) : -1;
	out->total = tc >= 0 ? dc_vis_of(&c->t, (size_t)tc, &out->r.total) : dc_hide_all(pol, f);
	int ai = -1;
	for (int i = 0; i < out->r.n_dims; i++)
		if (out->r.dims[i] == ad)
			ai = i;
	for (size_t g = 0; g < out->r.n_groups; g++) {
		const an_group *gr = &out->r.groups[g];
		ssize_t l = lf;
		if (!fixed[0] && ai >= 0) {  /* a product's id, else the value's code + 1 */
			dc_attr_layer_key(ad, ad == AN_DIM_PRODUCT ? gr->id[ai] : gr->id[ai] - 1, key, sizeof key);
			snprintf(name, sizeof name, "v:%s", key);
			l = dc_canon_layer_of(c, name);
		}
		ssize_t gc = l >= 0 ? dc_canon_map(ix, c, f, period, &out->r, gr, (size_t)l) : -1;
		out->groups[g] = gc >= 0 ? dc_vis_of(&c->t, (size_t)gc, &gr->c) : dc_hide_all(pol, f);
	}
	dc_canon_release(pol, c);
	return KS_OK;
}

/* ---- issue 16 (H10): what an attribute reply may combine ------------------------------ */

/* The attribute-like dimensions a filter names (product, login_band,
 * newsletter, attr.<key>): their count, and the first's parameter name in
 * name (n bytes). */
static int dc_attr_filters(const an_filter *f, char *name, size_t n)
{
	int k = 0;
	name[0] = '\0';
	if (f->product_id && k++ == 0)
		snprintf(name, n, "product");
	if (f->login_band[0] && k++ == 0)
		snprintf(name, n, "login_band");
	if (f->newsletter[0] && k++ == 0)
		snprintf(name, n, "newsletter");
	for (size_t i = 0; i < sizeof f->attr / sizeof f->attr[0]; i++)
		if (f->attr[i].key[0] && k++ == 0)
			snprintf(name, n, "attr.%.32s", f->attr[i].key);
	return k;
}

bool dc_filter_has_attr(const an_filter *f)
{
	char name[48];
	return dc_attr_filters(f, name, sizeof name) > 0;
}

/* Is the filter on dimension d (the grouping's)? */
static bool dc_filter_on(an_index *ix, const an_filter *f, an_dim d)
{
	if (d == AN_DIM_PRODUCT)
		return f->product_id != 0;
	if (d == AN_DIM_LOGIN_BAND)
		return f->login_band[0] != '\0';
	if (d == AN_DIM_NEWSLETTER)
		return f->newsletter[0] != '\0';
	for (size_t i = 0; i < sizeof f->attr / sizeof f->attr[0]; i++) {
		char name[48];
		snprintf(name, sizeof name, "attr.%.32s", f->attr[i].key);
		if (f->attr[i].key[0] && an_dim_resolve(ix, name) == d)
			return true;
	}
	return false;
}

/* Only the attribute and product tables (canon.h) protect an attribute's
 * cells across replies, and each holds one dimension, with units,
 * employees and whole periods, for the other filters in its key. Any
 * other reply that names an attribute-like dimension would decide the
 * same cells again from its own slice — a total minus a shown value is
 * then the hidden rest (issue 16 review: an employee's silver-tier NPS
 * from the gold cell of `attr.tier=gold&login_band=unknown`). So those
 * are refused, naming the parameter (docs/PRIVACY.md section 6). */
ks_err dc_attr_guard(an_index *ix, const an_filter *f, const char *period, const an_dim *dims, int n_dims,
		     ks_error *e)
{
	char name[48];
	int nf = dc_attr_filters(f, name, sizeof name);
	an_dim gd = AN_DIM_NONE;
	for (int i = 0; i < n_dims; i++)
		if (dc_attr_dim(dims[i]) || dims[i] == AN_DIM_PRODUCT)
			gd = dims[i];
	if (nf == 0 && gd == AN_DIM_NONE)
		return KS_OK;
	if (nf == 0)
		an_dim_label(ix, gd, name, sizeof name);
	static const char why[] = "combine at most one customer-attribute dimension (product, login_band, "
				  "newsletter, attr.<key>) with unit, employee and whole-period groupings "
				  "and filters other than theme and sentiment";
	if (nf > 1 || (nf == 1 && gd != AN_DIM_NONE && !dc_filter_on(ix, f, gd)))
		return ks_fail(e, KS_ERR_INVALID, name, "%s: %s", name, why);
	int ng = 0;
	for (int i = 0; i < n_dims; i++) {
		if (dc_attr_dim(dims[i]) || dims[i] == AN_DIM_PRODUCT)
			ng++;
		else if (!dc_is_unit_dim(dims[i]) && !dc_is_canon_time(dims[i]))
			return ks_fail(e, KS_ERR_INVALID, name, "%s: %s (not with group_by=%s)", name, why,
				       an_dim_name(dims[i]));
	}
	if (ng > 1 || f->theme[0] || f->sentiment[0] || f->analysed)
		return ks_fail(e, KS_ERR_INVALID, name, "%s: %s", name, why);
	if (period == NULL || dc_label_kind(period) == 0)
		return ks_fail(e, KS_ERR_INVALID, name, "%s: figures by a customer attribute are given per whole "
			       "month, quarter, year or all time", name);
	return KS_OK;
}

/* ---- the query -------------------------------------------------------------------- */

ks_err dc_query(an_index *ix, const dc_policy *pol, const an_filter *f, const char *period,
		const an_dim *dims, int n_dims, dc_reply *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	ks_err gerr = dc_attr_guard(ix, f, period, dims, n_dims, e);  /* issue 16 (H10) */
	if (gerr)
		return gerr;
	/* Issue 14: theme and sentiment groups overlap or leave answers out;
	 * their lines are text.c's. */
	for (int i = 0; i < n_dims; i++)
		if (an_dim_is_text(dims[i]))
			return dc_text_query(ix, pol, f, period, dims, n_dims, out, e);
	/* Issue 16: products overlap like themes; the guard above lets a
	 * product grouping through only with units and whole periods, where
	 * its cells are the product table's (below). */
	bool products = false;
	for (int i = 0; i < n_dims; i++)
		products = products || dims[i] == AN_DIM_PRODUCT;
	ks_err err = an_query(ix, f, dims, n_dims, &out->r, e);
	if (err)
		return err;
	out->groups = calloc(out->r.n_groups ? out->r.n_groups : 1, sizeof *out->groups);
	if (out->groups == NULL) {
		dc_reply_free(out);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	/* Every slice the canonical table can hold is read from it, whatever
	 * its level: an organisation's total minus a department's is a team's
	 * just as much as a team minus its employees is a person's. */
	bool canon = period != NULL && dc_label_kind(period) != 0;
	if (!canon) {
		err = dc_reply_table(pol, f, out, -1, NULL);
		if (err)
			dc_reply_free(out);
		else if (f->sentiment[0])
			dc_sentiment_unscored(out, true);
		return err ? ks_fail(e, err, NULL, "out of memory") : KS_OK;
	}
	/* Issue 16 (H5): an attribute's value is a layer of its attribute table. */
	an_dim ad = AN_DIM_NONE;
	char fixed[AN_ATTR_VALUE_MAX + 1];
	an_filter fs;
	if (dc_attr_plan(ix, f, dims, n_dims, &ad, fixed, &fs)) {
		err = dc_attr_reply(ix, pol, &fs, f, period, ad, fixed, out, e);
		if (err == KS_ERR_RANGE) {
			/* issue 16 (H10): no table (too many values in the slice):
			 * rules 1-3 inside the reply would decide the cells again,
			 * apart from every other reply — refused */
			char name[48];
			an_dim_label(ix, ad, name, sizeof name);
			err = ks_fail(e, KS_ERR_INVALID, name, "%s has more than %d values in this slice: its figures "
				      "cannot be protected across replies; narrow the slice", name, DC_ATTR_MAX_VALUES);
		}
		if (err)
			dc_reply_free(out);
		return err;
	}
	if (products) {
		/* no product table holds these cells: deciding them here would
		 * decide them apart from every other reply — refused, as the
		 * guard refuses what no table can hold */
		dc_reply_free(out);
		return ks_fail(e, KS_ERR_INVALID, "product", "product: these figures cannot be protected "
			       "across replies; group by units or whole periods only");
	}
	/* A filter on one theme or one sentiment (not both) is a layer of the
	 * text table: its cells are those /themes and group_by=theme show for
	 * the same answers, decided once (canon.h). */
	bool one_text = (f->theme[0] != '\0') != (f->sentiment[0] != '\0') && f->analysed == 0;
	const dc_canon *c = NULL;
	size_t layer = 0;
	err = one_text ? dc_canon_text_get(ix, pol, f, &c, e) : dc_canon_get(ix, pol, f, &c, e);
	if (err) {
		dc_reply_free(out);
		return err;
	}
	if (one_text) {
		char name[64];
		snprintf(name, sizeof name, "%s:%s", f->theme[0] ? "t" : "s", f->theme[0] ? f->theme : f->sentiment);
		ssize_t l = dc_canon_layer_of(c, name);
		layer = l >= 0 ? (size_t)l : c->n_layers; /* none: no answers, nothing placed */
	}
	ssize_t tc = dc_canon_map(ix, c, f, period, &out->r, NULL, layer);
	if (dc_all_canonical(dims, n_dims)) {
		out->total = tc >= 0 ? dc_vis_of(&c->t, (size_t)tc, &out->r.total) : dc_hide_all(pol, f);
		for (size_t g = 0; g < out->r.n_groups; g++) {
			ssize_t gc = dc_canon_map(ix, c, f, period, &out->r, &out->r.groups[g], layer);
			out->groups[g] = gc >= 0 ? dc_vis_of(&c->t, (size_t)gc, &out->r.groups[g].c) : dc_hide_all(pol, f);
		}
	} else if (tc >= 0) {
		err = dc_reply_table(pol, f, out, tc, &c->t);
	} else {
		err = dc_reply_table(pol, f, out, -1, NULL);
		out->total = dc_hide_all(pol, f);
	}
	dc_canon_release(pol, c);
	if (err) {
		dc_reply_free(out);
		return ks_fail(e, err, NULL, "out of memory");
	}
	if (f->sentiment[0])
		dc_sentiment_unscored(out, true);
	return KS_OK;
}

void dc_sentiment_unscored(dc_reply *r, bool total)
{
	static const metrics_mask none = {false, false, false};
	if (total)
		r->total.show = none;
	for (size_t g = 0; g < r->r.n_groups; g++)
		r->groups[g].show = none;
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
