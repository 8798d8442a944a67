/* pulse.c — eNPS results and their anonymity rules (see pulse.h and
 * docs/PRIVACY.md "Employee pulse").
 *
 * Why the whole tree every time: a reader who may see a department and
 * two of its three teams in one request, and the department alone in
 * another, could subtract. Deciding visibility once per wave over every
 * line (organisation = its departments, department = its teams) and only
 * then cutting the reply to the reader's scope makes every request see the
 * same hidden cells (src/disclose/suppress.h, the product's one engine).
 */
#include "pulse/pulse.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "disclose/suppress.h"
#include "metrics/metrics.h"

#define PULSE_MAX_DEPTH 64   /* org trees are shallow; a cycle stops here */

static int pulse_level_of(const char *kind)
{
	if (strcmp(kind, "organisation") == 0)
		return PULSE_LEVEL_ORGANISATION;
	if (strcmp(kind, "department") == 0)
		return PULSE_LEVEL_DEPARTMENT;
	return PULSE_LEVEL_TEAM;
}

void pulse_enps_of(int64_t promoters, int64_t detractors, int64_t n, pulse_enps *out)
{
	memset(out, 0, sizeof *out);
	if (n <= 0)
		return;
	double adj = 0.0, margin = 0.0;
	metrics_nps_adjusted_wald(promoters, detractors, n, &adj, &margin);
	out->value = 100.0 * (double)(promoters - detractors) / (double)n;
	out->low = fmax(-100.0, adj - margin);
	out->high = fmin(100.0, adj + margin);
}

static size_t pulse_index_of(const pulse_result *r, int64_t unit_id)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->cells[mid].unit_id < unit_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n && r->cells[lo].unit_id == unit_id ? lo : r->n;
}

const pulse_cell *pulse_result_cell(const pulse_result *r, int64_t unit_id)
{
	size_t i = pulse_index_of(r, unit_id);
	return i < r->n ? &r->cells[i] : NULL;
}

bool pulse_result_within(const pulse_result *r, int64_t unit, int64_t ancestor)
{
	for (int d = 0; unit && d < PULSE_MAX_DEPTH; d++) {
		if (unit == ancestor)
			return true;
		const pulse_cell *c = pulse_result_cell(r, unit);
		unit = c ? c->parent_id : 0;
	}
	return false;
}

void pulse_result_free(pulse_result *r)
{
	free(r->cells);
	memset(r, 0, sizeof *r);
}

static int pulse_depth(const pulse_result *r, size_t i)
{
	int d = 0;
	for (int64_t p = r->cells[i].parent_id; p && d < PULSE_MAX_DEPTH; d++) {
		const pulse_cell *c = pulse_result_cell(r, p);
		p = c ? c->parent_id : 0;
	}
	return d;
}

/* A unit's own answers (held by the unit itself, not by one below it). */
typedef struct pulse_direct {
	store_pulse_count k;
	bool has;
	size_t sup_idx;          /* its cell in the table when the unit has children */
} pulse_direct;

/* Add the counts of k into c. */
static void pulse_add(pulse_cell *c, const store_pulse_count *k)
{
	c->n += k->n;
	c->promoters += k->promoters;
	c->passives += k->passives;
	c->detractors += k->detractors;
	for (int i = 0; i < STORE_PULSE_ITEMS; i++) {
		c->item_n[i] += k->item_n[i];
		c->item_sum[i] += k->item_sum[i];
	}
}

/* Sum the answers up the tree: deepest units first. */
static ks_err pulse_roll_up(pulse_result *r, const pulse_direct *dir, bool *has_children)
{
	int *depth = malloc((r->n ? r->n : 1) * sizeof *depth);
	if (depth == NULL)
		return KS_ERR_NOMEM;
	int max_depth = 0;
	for (size_t i = 0; i < r->n; i++) {
		depth[i] = pulse_depth(r, i);
		if (depth[i] > max_depth)
			max_depth = depth[i];
		if (dir[i].has)
			pulse_add(&r->cells[i], &dir[i].k);
	}
	for (size_t i = 0; i < r->n; i++) {
		size_t p = pulse_index_of(r, r->cells[i].parent_id);
		if (p < r->n)
			has_children[p] = true;
	}
	for (int d = max_depth; d > 0; d--)
		for (size_t i = 0; i < r->n; i++) {
			if (depth[i] != d)
				continue;
			size_t p = pulse_index_of(r, r->cells[i].parent_id);
			if (p == r->n)
				continue;
			store_pulse_count k = {.n = r->cells[i].n, .promoters = r->cells[i].promoters,
					       .passives = r->cells[i].passives, .detractors = r->cells[i].detractors};
			memcpy(k.item_n, r->cells[i].item_n, sizeof k.item_n);
			memcpy(k.item_sum, r->cells[i].item_sum, sizeof k.item_sum);
			pulse_add(&r->cells[p], &k);
		}
	free(depth);
	return KS_OK;
}

/* The single-line rule of sup_run leaves no line with exactly one hidden
 * cell, but two hidden teams of one department are still known together:
 * department minus the shown teams. When that sum holds fewer than
 * min_group respondents (two teams of 1 and 2, say, who all answered 10),
 * it tells about people, so one more member is hidden: the shown one with
 * the fewest respondents, or the total when none is left. One cell per
 * call; true when it hid one (sup_run then runs again). */
static bool pulse_protect_sums(const pulse_result *r, const pulse_direct *dir, const bool *has_children,
			       sup_table *t)
{
	for (size_t i = 0; i < r->n; i++) {
		if (!has_children[i] || t->hidden[i][0])
			continue;
		int64_t hidden_sum = 0;
		size_t best = SIZE_MAX;
		for (size_t j = 0; j <= r->n; j++) {
			size_t idx;
			int64_t cnt;
			if (j < r->n) {
				if (r->cells[j].parent_id != r->cells[i].unit_id || j == i)
					continue;
				idx = j;
				cnt = r->cells[j].n;
			} else {
				if (!dir[i].has)
					continue;
				idx = dir[i].sup_idx;
				cnt = dir[i].k.n;
			}
			if (cnt <= 0)
				continue;
			if (t->hidden[idx][0])
				hidden_sum += cnt;
			else if (best == SIZE_MAX || cnt < t->count[best][0])
				best = idx;
		}
		if (hidden_sum > 0 && hidden_sum < r->min_group) {
			t->hidden[best == SIZE_MAX ? i : best][0] = true;
			return true;
		}
	}
	return false;
}

/* Primary and complementary suppression over the tree's lines. Measure 0
 * of the engine carries the respondents; the other two are unused (no
 * answers: known empty, never hidden). Every figure of a cell (eNPS,
 * items, counts) rests on the same respondents, as every question but the
 * comment is required. */
static ks_err pulse_suppress(pulse_result *r, pulse_direct *dir, const bool *has_children)
{
	sup_table t;
	sup_init(&t);
	ks_err err = KS_OK;
	int64_t min_n[SUP_MEASURES] = {r->min_group, 1, 1};
	/* a team whose composition changed is hidden as if it were small: a
	 * threshold no count reaches */
	int64_t never[SUP_MEASURES] = {INT64_MAX, 1, 1};
	for (size_t i = 0; !err && i < r->n; i++) {
		int64_t cnt[SUP_MEASURES] = {r->cells[i].n, 0, 0};
		size_t idx;
		err = sup_cell(&t, cnt, r->cells[i].changed ? never : min_n, &idx);  /* idx == i: cells are added in order */
	}
	for (size_t i = 0; !err && i < r->n; i++) {
		if (!has_children[i] || !dir[i].has)
			continue;
		int64_t cnt[SUP_MEASURES] = {dir[i].k.n, 0, 0};
		err = sup_cell(&t, cnt, min_n, &dir[i].sup_idx);
	}
	for (size_t i = 0; !err && i < r->n; i++) {
		if (!has_children[i])
			continue;
		err = sup_line(&t, i);
		for (size_t j = 0; !err && j < r->n; j++)
			if (r->cells[j].parent_id == r->cells[i].unit_id && j != i)
				err = sup_member(&t, j);
		if (!err && dir[i].has)
			err = sup_member(&t, dir[i].sup_idx);
	}
	if (!err) {
		sup_run(&t);
		while (pulse_protect_sums(r, dir, has_children, &t))
			sup_run(&t);
		for (size_t i = 0; i < r->n; i++) {
			r->cells[i].hidden = t.hidden[i][0];
			/* a unit above teams never pools its own answers' comments:
			 * that cell is not one a reader sees */
			r->cells[i].comment_source = !has_children[i] && dir[i].has && !t.hidden[i][0] &&
						     dir[i].k.n >= r->min_group_comments;
			r->cells[i].comments = !r->cells[i].hidden && r->cells[i].n >= r->min_group_comments;
		}
		/* a shown group whose teams are all hidden has no comment to
		 * show: say so rather than offer an empty list */
		for (size_t i = 0; i < r->n; i++) {
			bool any = false;
			for (size_t j = 0; r->cells[i].comments && !any && j < r->n; j++)
				any = r->cells[j].comment_source &&
				      pulse_result_within(r, r->cells[j].unit_id, r->cells[i].unit_id);
			r->cells[i].comments = any;
		}
	}
	sup_free(&t);
	return err;
}

ks_err pulse_result_compute(ks_store *s, int64_t wave_id, pulse_result *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	store_pulse_wave w;
	ks_err err = store_pulse_wave_get(s, wave_id, &w, e);
	if (err)
		return err;
	out->n_items = (int)json_array_size(json_object_get(w.questions, "items"));
	store_pulse_wave_clear(&w);
	store_pulse_settings *p = malloc(sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	err = store_pulse_settings_get(s, p, e);
	out->wave_id = wave_id;
	out->min_group = p->min_group < 3 ? 3 : p->min_group;
	out->min_group_comments = p->min_group_comments < 5 ? 5 : p->min_group_comments;
	free(p);
	store_pulse_unit *units = NULL;
	store_pulse_count *counts = NULL;
	int64_t *changed = NULL;
	size_t n_units = 0, n_counts = 0, n_changed = 0;
	if (!err)
		err = store_pulse_units(s, &units, &n_units, e);
	if (!err)
		err = store_pulse_counts(s, wave_id, &counts, &n_counts, e);
	if (!err)
		err = store_pulse_changed_teams(s, wave_id, &changed, &n_changed, e);
	pulse_direct *dir = NULL;
	bool *has_children = NULL;
	if (!err) {
		out->cells = calloc(n_units ? n_units : 1, sizeof *out->cells);
		dir = calloc(n_units ? n_units : 1, sizeof *dir);
		has_children = calloc(n_units ? n_units : 1, sizeof *has_children);
		if (out->cells == NULL || dir == NULL || has_children == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	if (!err) {
		out->n = n_units;
		for (size_t i = 0; i < n_units; i++) {
			pulse_cell *c = &out->cells[i];
			c->unit_id = units[i].id;
			c->parent_id = units[i].parent_id;
			c->level = pulse_level_of(units[i].kind);
			snprintf(c->name, sizeof c->name, "%s", units[i].name);
		}
		for (size_t k = 0; k < n_changed; k++) {
			size_t i = pulse_index_of(out, changed[k]);
			if (i < out->n)
				out->cells[i].changed = true;
		}
		for (size_t k = 0; k < n_counts; k++) {
			size_t i = pulse_index_of(out, counts[k].team_id);
			if (i < out->n) {
				dir[i].k = counts[k];
				dir[i].has = counts[k].n > 0;
			}
		}
		err = pulse_roll_up(out, dir, has_children);
		if (!err)
			err = pulse_suppress(out, dir, has_children);
		if (err)
			ks_fail(e, err, NULL, "out of memory");
	}
	free(units);
	free(counts);
	free(changed);
	free(dir);
	free(has_children);
	if (err)
		pulse_result_free(out);
	return err;
}

/* The comments of a shown unit of a computed result: those of the
 * answers in comment sources within it, shuffled (libsodium), a new JSON
 * array; an empty one when the unit may not show comments. */
static ks_err pulse_collect_comments(ks_store *s, const pulse_result *r, int64_t unit_id, json_t **out, ks_error *e)
{
	*out = NULL;
	const pulse_cell *c = pulse_result_cell(r, unit_id);
	if (c == NULL || !c->comments) {
		*out = json_array();
		return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	int64_t *ids = malloc(r->n * sizeof *ids);
	if (ids == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->cells[i].comment_source && pulse_result_within(r, r->cells[i].unit_id, unit_id))
			ids[n++] = r->cells[i].unit_id;
	ks_err err = store_pulse_comments(s, r->wave_id, ids, n, out, e);
	free(ids);
	if (err)
		return err;
	/* Fisher-Yates with libsodium's uniform draw: no order to read */
	for (size_t i = json_array_size(*out); i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i);
		json_t *a = json_incref(json_array_get(*out, i - 1));
		json_t *b = json_incref(json_array_get(*out, j));
		json_array_set_new(*out, i - 1, b);
		json_array_set_new(*out, j, a);
	}
	return KS_OK;
}

ks_err pulse_result_comments(ks_store *s, const pulse_result *r, int64_t unit_id, json_t **out, ks_error *e)
{
	*out = NULL;
	const pulse_cell *c = pulse_result_cell(r, unit_id);
	if (c == NULL || !c->comments) {
		*out = json_array();
		return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	return store_pulse_cell_comments(s, r->wave_id, unit_id, out, e);
}

/* ---- closing: the result written once ------------------------------------------------ */

static store_pulse_state pulse_state_of(const pulse_cell *c)
{
	if (c->changed && c->hidden)
		return STORE_PULSE_CHANGED;
	if (c->hidden)
		return STORE_PULSE_HIDDEN;
	return c->n == 0 ? STORE_PULSE_NONE : STORE_PULSE_SHOWN;
}

ks_err pulse_wave_finalise(ks_store *s, int64_t wave_id, ks_error *e)
{
	store_pulse_wave w;
	ks_err err = store_pulse_wave_get(s, wave_id, &w, e);
	if (err)
		return err;
	bool open = strcmp(w.status, "open") == 0, done = w.finalised;
	store_pulse_wave_clear(&w);
	if (open)
		return ks_fail(e, KS_ERR_CONFLICT, NULL, "pulse wave %lld is open", (long long)wave_id);
	if (done)
		return KS_OK;
	pulse_result r;
	err = pulse_result_compute(s, wave_id, &r, e);
	if (err)
		return err;
	store_pulse_cell *cells = calloc(r.n ? r.n : 1, sizeof *cells);
	json_t **lists = calloc(r.n ? r.n : 1, sizeof *lists);
	store_pulse_comment *comments = NULL;
	size_t n_comments = 0;
	if (cells == NULL || lists == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < r.n; i++) {
		const pulse_cell *c = &r.cells[i];
		store_pulse_cell *k = &cells[i];
		k->unit_id = c->unit_id;
		k->parent_id = c->parent_id;
		k->level = c->level;
		snprintf(k->name, sizeof k->name, "%s", c->name);
		k->state = pulse_state_of(c);
		k->n = c->n;
		k->promoters = c->promoters;
		k->passives = c->passives;
		k->detractors = c->detractors;
		memcpy(k->item_n, c->item_n, sizeof k->item_n);
		memcpy(k->item_sum, c->item_sum, sizeof k->item_sum);
		k->comments = c->comments;
		k->min_group = r.min_group;
		k->min_group_comments = r.min_group_comments;
		if (c->comments) {
			err = pulse_collect_comments(s, &r, c->unit_id, &lists[i], e);
			if (!err)
				n_comments += json_array_size(lists[i]);
		}
	}
	if (!err && n_comments) {
		comments = calloc(n_comments, sizeof *comments);
		if (comments == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	size_t k = 0;
	for (size_t i = 0; !err && i < r.n; i++)
		for (size_t j = 0; j < json_array_size(lists[i]); j++) {
			comments[k].unit_id = r.cells[i].unit_id;
			comments[k].text = json_string_value(json_array_get(lists[i], j));
			k++;
		}
	if (!err)
		err = store_pulse_finalise(s, wave_id, cells, r.n, comments, k, e);
	for (size_t i = 0; lists && i < r.n; i++)
		json_decref(lists[i]);
	free(lists);
	free(comments);
	free(cells);
	pulse_result_free(&r);
	return err;
}

ks_err pulse_wave_close(ks_store *s, int64_t wave_id, ks_error *e)
{
	ks_err err = store_pulse_wave_close(s, wave_id, e);
	return err ? err : pulse_wave_finalise(s, wave_id, e);
}

ks_err pulse_schedule(ks_store *s, int64_t now, int64_t *opened, ks_error *e)
{
	ks_err err = store_pulse_schedule(s, now, opened, e);
	int64_t *ids = NULL;
	size_t n = 0;
	if (!err)
		err = store_pulse_unfinalised(s, &ids, &n, e);
	for (size_t i = 0; !err && i < n; i++)
		err = pulse_wave_finalise(s, ids[i], e);
	free(ids);
	return err;
}

ks_err pulse_result_load(ks_store *s, int64_t wave_id, pulse_result *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	store_pulse_wave w;
	ks_err err = store_pulse_wave_get(s, wave_id, &w, e);
	if (err)
		return err;
	bool open = strcmp(w.status, "open") == 0, done = w.finalised;
	out->n_items = (int)json_array_size(json_object_get(w.questions, "items"));
	store_pulse_wave_clear(&w);
	if (open)
		return ks_fail(e, KS_ERR_CONFLICT, NULL, "results are computed when the wave closes");
	if (!done)
		err = pulse_wave_finalise(s, wave_id, e);
	store_pulse_cell *cells = NULL;
	size_t n = 0;
	if (!err)
		err = store_pulse_cells_get(s, wave_id, &cells, &n, e);
	if (!err) {
		out->cells = calloc(n ? n : 1, sizeof *out->cells);
		if (out->cells == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	if (!err) {
		out->wave_id = wave_id;
		out->n = n;
		out->min_group = n ? cells[0].min_group : 5;
		out->min_group_comments = n ? cells[0].min_group_comments : 5;
		for (size_t i = 0; i < n; i++) {
			pulse_cell *c = &out->cells[i];
			const store_pulse_cell *k = &cells[i];
			c->unit_id = k->unit_id;
			c->parent_id = k->parent_id;
			c->level = k->level;
			snprintf(c->name, sizeof c->name, "%s", k->name);
			c->n = k->n;
			c->promoters = k->promoters;
			c->passives = k->passives;
			c->detractors = k->detractors;
			memcpy(c->item_n, k->item_n, sizeof c->item_n);
			memcpy(c->item_sum, k->item_sum, sizeof c->item_sum);
			c->hidden = k->state == STORE_PULSE_HIDDEN || k->state == STORE_PULSE_CHANGED;
			c->changed = k->state == STORE_PULSE_CHANGED;
			c->comments = k->comments;
		}
	}
	free(cells);
	return err;
}

/* ---- eNPS for the governance series ---------------------------------------- */

typedef struct pulse_acc {
	int64_t *ids;
	char (*periods)[8];
	gov_cell *cells;
	size_t n, cap;
} pulse_acc;

static ks_err pulse_acc_push(pulse_acc *a, int64_t id, const char *period, gov_cell c)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		int64_t *ids = realloc(a->ids, cap * sizeof *ids);
		if (ids)
			a->ids = ids;
		char(*ps)[8] = realloc(a->periods, cap * sizeof *ps);
		if (ps)
			a->periods = ps;
		gov_cell *cs = realloc(a->cells, cap * sizeof *cs);
		if (cs)
			a->cells = cs;
		if (!ids || !ps || !cs)
			return KS_ERR_NOMEM;
		a->cap = cap;
	}
	a->ids[a->n] = id;
	snprintf(a->periods[a->n], sizeof a->periods[a->n], "%s", period);
	a->cells[a->n] = c;
	a->n++;
	return KS_OK;
}

/* One cell with its keys, for sorting the three parallel arrays together. */
typedef struct pulse_keyed {
	int64_t id;
	char period[8];
	gov_cell cell;
} pulse_keyed;

static int pulse_keyed_cmp(const void *x, const void *y)
{
	const pulse_keyed *a = x, *b = y;
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return strcmp(a->period, b->period);
}

/* Sort the parallel arrays by (unit, period). */
static ks_err pulse_acc_sort(pulse_acc *a)
{
	if (a->n < 2)
		return KS_OK;
	pulse_keyed *k = malloc(a->n * sizeof *k);
	if (k == NULL)
		return KS_ERR_NOMEM;
	for (size_t i = 0; i < a->n; i++) {
		k[i].id = a->ids[i];
		memcpy(k[i].period, a->periods[i], sizeof k[i].period);
		k[i].cell = a->cells[i];
	}
	qsort(k, a->n, sizeof *k, pulse_keyed_cmp);
	for (size_t i = 0; i < a->n; i++) {
		a->ids[i] = k[i].id;
		memcpy(a->periods[i], k[i].period, sizeof a->periods[i]);
		a->cells[i] = k[i].cell;
	}
	free(k);
	return KS_OK;
}

ks_err pulse_enps_cells(ks_store *s, int level, const char *from, const char *to,
			int64_t **unit_ids, char (**periods)[8], gov_cell **cells, size_t *n, ks_error *e)
{
	*unit_ids = NULL;
	*periods = NULL;
	*cells = NULL;
	*n = 0;
	if (level != PULSE_LEVEL_TEAM && level != PULSE_LEVEL_DEPARTMENT && level != PULSE_LEVEL_ORGANISATION)
		return ks_fail(e, KS_ERR_INVALID, "level", "level must be team, department or organisation");
	store_pulse_wave *waves = NULL;
	size_t n_waves = 0;
	ks_err err = store_pulse_wave_list(s, from, to, 0, &waves, &n_waves, e);
	pulse_acc a = {0};
	for (size_t w = 0; !err && w < n_waves; w++) {
		/* newest first: a month's later wave is met first and wins */
		if (strcmp(waves[w].status, "open") == 0)
			continue;   /* nothing of an open wave is computed */
		bool seen = false;
		for (size_t v = 0; v < w && !seen; v++)
			seen = strcmp(waves[v].status, "open") != 0 && strcmp(waves[v].period, waves[w].period) == 0;
		if (seen)
			continue;
		pulse_result r;
		err = pulse_result_load(s, waves[w].id, &r, e);
		if (err)
			break;
		for (size_t i = 0; !err && i < r.n; i++) {
			const pulse_cell *c = &r.cells[i];
			if (c->level != level)
				continue;
			/* a hidden cell carries no count either: n is what the
			 * suppression protects */
			gov_cell g = {.present = !c->hidden && c->n > 0};
			if (g.present) {
				g.n = c->n;
				g.value = 100.0 * (double)(c->promoters - c->detractors) / (double)c->n;
			}
			if (pulse_acc_push(&a, c->unit_id, waves[w].period, g))
				err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		}
		pulse_result_free(&r);
	}
	for (size_t w = 0; w < n_waves; w++)
		store_pulse_wave_clear(&waves[w]);
	free(waves);
	if (!err && pulse_acc_sort(&a))
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (err) {
		free(a.ids), free(a.periods), free(a.cells);
		return err;
	}
	*unit_ids = a.ids;
	*periods = a.periods;
	*cells = a.cells;
	*n = a.n;
	return KS_OK;
}
