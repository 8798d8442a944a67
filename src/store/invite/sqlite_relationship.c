/* sqlite_relationship.c — relationship survey waves on SQLite (issue 16,
 * "The silent mass"): the waves, the stratified draw, the send through the
 * invitation tables, the counts of the report, and the row of the
 * quarterly schedule. See store.h; tables in migrations/024_relationship.sql;
 * arithmetic in src/invite/relationship.c.
 */
#include "store/sqlite_int.h"
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invite/relationship.h"

#define SQ_REL_COLS                                                                                  \
	"w.id, w.name, w.survey_id, coalesce(w.touchpoint_id, 0), w.period, w.sample_size,"          \
	" w.allocation, w.min_per_stratum, w.replace_excluded, w.fatigue_days, coalesce(w.seed, ''),"  \
	" w.status, coalesce(w.population, 0), coalesce(w.created_by, 0), w.created_at,"              \
	" coalesce(w.drawn_at, 0), coalesce(w.sent_at, 0), coalesce(w.closed_at, 0),"                 \
	" (SELECT count(*) FROM relationship_sample x WHERE x.wave_id = w.id AND x.excluded IS NULL)," \
	" (SELECT count(*) FROM relationship_sample x WHERE x.wave_id = w.id AND x.excluded IS NOT NULL)," \
	" (SELECT count(*) FROM relationship_sample x WHERE x.wave_id = w.id AND x.invitation_id IS NOT NULL)," \
	" (SELECT count(*) FROM relationship_sample x JOIN responses r ON r.contact_id = x.contact_id"  \
	"   WHERE x.wave_id = w.id)"

static void sq_rel_row(db_stmt *st, void *elem)
{
	store_rel_wave *w = elem;
	memset(w, 0, sizeof *w);
	w->id = db_column_int64(st, 0);
	snprintf(w->name, sizeof w->name, "%s", sq_ctext(st, 1));
	w->survey_id = db_column_int64(st, 2);
	w->touchpoint_id = db_column_int64(st, 3);
	snprintf(w->period, sizeof w->period, "%s", sq_ctext(st, 4));
	w->sample_size = db_column_int64(st, 5);
	snprintf(w->allocation, sizeof w->allocation, "%s", sq_ctext(st, 6));
	w->min_per_stratum = db_column_int64(st, 7);
	w->replace_excluded = db_column_int(st, 8) != 0;
	w->fatigue_days = db_column_int(st, 9);
	snprintf(w->seed, sizeof w->seed, "%s", sq_ctext(st, 10));
	snprintf(w->status, sizeof w->status, "%s", sq_ctext(st, 11));
	w->population = db_column_int64(st, 12);
	w->created_by = db_column_int64(st, 13);
	w->created_at = db_column_int64(st, 14);
	w->drawn_at = db_column_int64(st, 15);
	w->sent_at = db_column_int64(st, 16);
	w->closed_at = db_column_int64(st, 17);
	w->selected = db_column_int64(st, 18);
	w->excluded = db_column_int64(st, 19);
	w->invited = db_column_int64(st, 20);
	w->respondents = db_column_int64(st, 21);
}

static ks_err sq_rel_get_on(sq_conn *c, int64_t id, store_rel_wave *out, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_REL_COLS " FROM relationship_waves w WHERE w.id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		sq_rel_row(st, out);
	else if (rc == DB_DONE)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "relationship wave %lld not found", (long long)id);
	else
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err store_rel_wave_get(ks_store *s, int64_t id, store_rel_wave *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_rel_get_on(c, id, out, e);
	sq_release(s, c);
	return err;
}

ks_err store_rel_wave_list(ks_store *s, store_rel_wave **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	void *v = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_REL_COLS " FROM relationship_waves w ORDER BY w.id DESC", &st, e);
	if (!err)
		err = sq_collect(c, st, sizeof(store_rel_wave), sq_rel_row, 0, &v, n, NULL, e);
	sq_release(s, c);
	if (!err)
		*out = v;
	return err;
}

static ks_err sq_rel_survey_check(sq_conn *c, int64_t survey_id, ks_error *e)
{
	bool found = false;
	ks_err err = sq_row_exists(c, "surveys", survey_id, &found, e);
	if (!err && !found)
		err = ks_fail(e, KS_ERR_REF, "survey_id", "survey_id %lld does not exist", (long long)survey_id);
	return err;
}

/* The editable fields, bound as ?1..?8 in this order. */
static void sq_rel_bind_fields(db_stmt *st, const store_rel_wave *w)
{
	db_bind_text(st, 1, w->name, -1, DB_STATIC);
	db_bind_int64(st, 2, w->survey_id);
	db_bind_text(st, 3, w->period, -1, DB_STATIC);
	db_bind_int64(st, 4, w->sample_size);
	db_bind_text(st, 5, w->allocation, -1, DB_STATIC);
	db_bind_int64(st, 6, w->min_per_stratum);
	db_bind_int(st, 7, w->replace_excluded ? 1 : 0);
	db_bind_int(st, 8, w->fatigue_days);
}

ks_err store_rel_wave_create(ks_store *s, store_rel_wave *w, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	int64_t now = clock_now(s->clock);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_rel_survey_check(c, w->survey_id, e);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO relationship_waves(name, survey_id, period, sample_size, allocation,"
			       " min_per_stratum, replace_excluded, fatigue_days, created_by, created_at)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			       &st, e);
	if (!err) {
		sq_rel_bind_fields(st, w);
		sq_bind_id(st, 9, w->created_by);
		db_bind_int64(st, 10, now);
		err = sq_cstep(c, st, e);
	}
	if (!err) {
		w->id = db_last_insert_rowid(c->db);
		w->created_at = now;
		snprintf(w->status, sizeof w->status, "draft");
		err = sq_exec(c, "COMMIT", e);
	}
	sq_release(s, c);
	return err;
}

ks_err store_rel_wave_update(ks_store *s, const store_rel_wave *w, const char *expect_status,
			     ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_rel_survey_check(c, w->survey_id, e);
	if (!err)
		err = sq_cprep(c,
			       "UPDATE relationship_waves SET name = ?1, survey_id = ?2, period = ?3,"
			       " sample_size = ?4, allocation = ?5, min_per_stratum = ?6, replace_excluded = ?7,"
			       " fatigue_days = ?8, status = ?9, closed_at = nullif(?10, 0)"
			       " WHERE id = ?11 AND status = ?12",
			       &st, e);
	if (!err) {
		sq_rel_bind_fields(st, w);
		db_bind_text(st, 9, w->status, -1, DB_STATIC);
		db_bind_int64(st, 10, w->closed_at);
		db_bind_int64(st, 11, w->id);
		db_bind_text(st, 12, expect_status, -1, DB_STATIC);
		err = sq_cstep(c, st, e);
	}
	if (!err && db_changes(c->db) == 0)
		err = ks_fail(e, KS_ERR_CONFLICT, "status", "the wave changed meanwhile (it is no longer %s)",
			      expect_status);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

ks_err store_rel_wave_delete(ks_store *s, int64_t id, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	store_rel_wave w;
	db_stmt *st = NULL;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_rel_get_on(c, id, &w, e);
	if (!err && strcmp(w.status, "draft") != 0 && strcmp(w.status, "drawn") != 0)
		err = ks_fail(e, KS_ERR_CONFLICT, "status",
			      "a %s wave cannot be deleted: its invitations and answers are the record", w.status);
	/* H8: a send under way (chunks committed) has invitations too */
	if (!err && w.touchpoint_id)
		err = ks_fail(e, KS_ERR_CONFLICT, "status",
			      "the wave's send is under way (some invitations are made): POST send again to finish it");
	/* ON DELETE CASCADE takes the sample and the strata along. */
	if (!err)
		err = sq_cprep(c, "DELETE FROM relationship_waves WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

static ks_err sq_rel_nomem(ks_error *e)
{
	return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}

/* Step a reused write statement once, then reset it for the next row. */
static ks_err sq_rel_run(sq_conn *c, db_stmt *st, ks_error *e)
{
	int rc = db_step(st);
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

/* ---- the draw ------------------------------------------------------------------ */

/* The draw reads the frame in a read transaction and decides in memory;
 * only the sample rows are written under the write lock (a million
 * customers take seconds to read, and the group-commit writer must not
 * wait that long for it). The write re-checks that the wave is still the
 * same draft; the send checks every customer again anyway. */

/* One customer of the frame: 24 bytes, strata interned. */
typedef struct sq_rel_unit {
	int64_t id;
	uint64_t key;            /* rel_key(seed, id) */
	uint32_t stratum;        /* index into the frame's names; their rank by name after sq_rel_order */
	uint32_t reason;         /* invite_reason: INVITE_CREATE when eligible now */
} sq_rel_unit;

typedef struct sq_rel_frame {
	sq_rel_unit *u;
	size_t n, cap;
	char **names;            /* distinct strata, owned */
	size_t h, hcap;
	uint32_t *slot;          /* open-addressing table of name index + 1; 0 = empty */
	size_t nslot;            /* a power of two, at least twice h */
} sq_rel_frame;

static void sq_rel_frame_free(sq_rel_frame *f)
{
	for (size_t i = 0; i < f->h; i++)
		free(f->names[i]);
	free(f->names);
	free(f->slot);
	free(f->u);
	memset(f, 0, sizeof *f);
}

/* FNV-1a, 64 bits. */
static uint64_t sq_rel_hash(const char *s)
{
	uint64_t x = 0xcbf29ce484222325u;
	for (; *s; s++)
		x = (x ^ (unsigned char)*s) * 0x100000001b3u;
	return x;
}

static bool sq_rel_rehash(sq_rel_frame *f)
{
	size_t n = f->nslot ? f->nslot * 2 : 64;
	uint32_t *slot = calloc(n, sizeof *slot);
	if (slot == NULL)
		return false;
	for (size_t i = 0; i < f->h; i++) {
		size_t j = sq_rel_hash(f->names[i]) & (n - 1);
		while (slot[j])
			j = (j + 1) & (n - 1);
		slot[j] = (uint32_t)i + 1;
	}
	free(f->slot);
	f->slot = slot;
	f->nslot = n;
	return true;
}

/* The index of stratum name, added when new; -1 when out of memory. */
static int64_t sq_rel_intern(sq_rel_frame *f, const char *name)
{
	if ((f->h + 1) * 2 > f->nslot && !sq_rel_rehash(f))
		return -1;
	size_t j = sq_rel_hash(name) & (f->nslot - 1);
	for (; f->slot[j]; j = (j + 1) & (f->nslot - 1))
		if (strcmp(f->names[f->slot[j] - 1], name) == 0)
			return f->slot[j] - 1;
	if (f->h == f->hcap) {
		size_t nc = f->hcap ? f->hcap * 2 : 16;
		char **p = realloc(f->names, nc * sizeof *p);
		if (p == NULL)
			return -1;
		f->names = p;
		f->hcap = nc;
	}
	if ((f->names[f->h] = strdup(name)) == NULL)
		return -1;
	f->slot[j] = (uint32_t)f->h + 1;
	return (int64_t)f->h++;
}

/* qsort context-free: the indices sorted compare the names they point at
 * through this array of (name, index) pairs. */
typedef struct sq_rel_named {
	const char *name;
	uint32_t index;
} sq_rel_named;

static int sq_rel_name_cmp(const void *a, const void *b)
{
	return strcmp(((const sq_rel_named *)a)->name, ((const sq_rel_named *)b)->name);
}

static int sq_rel_unit_cmp(const void *a, const void *b)
{
	const sq_rel_unit *x = a, *y = b;
	if (x->stratum != y->stratum)
		return x->stratum < y->stratum ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Strata by name, each stratum's customers by (key, id). */
static bool sq_rel_order(sq_rel_frame *f)
{
	size_t h = f->h ? f->h : 1;
	sq_rel_named *v = malloc(h * sizeof *v);
	uint32_t *rank = malloc(h * sizeof *rank);
	char **names = malloc(h * sizeof *names);
	if (v == NULL || rank == NULL || names == NULL) {
		free(v);
		free(rank);
		free(names);
		return false;
	}
	for (size_t i = 0; i < f->h; i++)
		v[i] = (sq_rel_named){f->names[i], (uint32_t)i};
	qsort(v, f->h, sizeof *v, sq_rel_name_cmp);
	for (size_t r = 0; r < f->h; r++) {
		rank[v[r].index] = (uint32_t)r;
		names[r] = f->names[v[r].index];
	}
	for (size_t i = 0; i < f->n; i++)
		f->u[i].stratum = rank[f->u[i].stratum];
	free(f->names);
	f->names = names;
	f->hcap = h;
	free(v);
	free(rank);
	/* the names' hash table points at the old order: not used again */
	free(f->slot);
	f->slot = NULL;
	f->nslot = 0;
	qsort(f->u, f->n, sizeof *f->u, sq_rel_unit_cmp);
	return true;
}

/* The fatigue rule of a wave as an invitation rule: the same
 * invite_decide as a contact (opt-out, e-mail, fatigue), nothing sampled
 * out, no open-case exclusion (contact rules have it off by default). */
static void sq_rel_rule(const store_rel_wave *w, invite_rule *r)
{
	invite_rule_defaults(r);
	r->fatigue_days = w->fatigue_days;
	r->sample_pct = 100;
	r->delay_minutes = 0;
}

/* The customers' facts at now, as sq_invite_facts reads them for a
 * contact: an invitation already planned within a day counts too. */
#define SQ_REL_FACTS                                                                           \
	" cu.opted_out_at IS NOT NULL, coalesce(cu.email, '') <> '',"                            \
	" (SELECT max(send_at) FROM invitations WHERE customer_id = cu.id AND decision = 'created'" \
	"   AND send_at <= ?1 + 86400)"

static invite_reason sq_rel_decide(db_stmt *st, int col, const invite_rule *rule, int64_t now)
{
	invite_facts f;
	memset(&f, 0, sizeof f);
	f.opted_out = db_column_int(st, col) != 0;
	f.has_email = db_column_int(st, col + 1) != 0;
	f.last_invited_at = db_column_int64(st, col + 2);
	return invite_decide(rule, &f, now);
}

static bool sq_rel_add_unit(sq_rel_frame *f, db_stmt *st, const invite_rule *rule, uint64_t seed, int64_t now)
{
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 1024;
		sq_rel_unit *p = realloc(f->u, nc * sizeof *p);
		if (p == NULL)
			return false;
		f->u = p;
		f->cap = nc;
	}
	int64_t k = sq_rel_intern(f, sq_ctext(st, 1));
	if (k < 0)
		return false;
	sq_rel_unit *x = &f->u[f->n++];
	x->id = db_column_int64(st, 0);
	x->stratum = (uint32_t)k;
	x->key = rel_key(seed, x->id);
	x->reason = (uint32_t)sq_rel_decide(st, 2, rule, now);
	return true;
}

/* Every customer not erased (erased_at marks a GDPR tombstone; an id that
 * merely starts with 'erased-' is a real customer's), with
 * its stratum, key and eligibility now, in the draw's order. */
static ks_err sq_rel_frame_read(sq_conn *c, const store_rel_wave *w, uint64_t seed, int64_t now, sq_rel_frame *f,
				ks_error *e)
{
	invite_rule rule;
	sq_rel_rule(w, &rule);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT cu.id, coalesce(cu.segment, ''), " SQ_REL_FACTS
			      " FROM customers cu WHERE cu.erased_at IS NULL",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, now);
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		if (!sq_rel_add_unit(f, st, &rule, seed, now))
			break;
	db_finalize(st);
	if (rc == DB_ROW || (rc == DB_DONE && !sq_rel_order(f)))
		return sq_rel_nomem(e);
	return rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

/* What the draw decided: per stratum its size and allocation, and the
 * customers looked at (index into the frame, rank in the stratum). */
typedef struct sq_rel_plan {
	int64_t *pop, *alloc;
	size_t *start;            /* first unit of each stratum */
	size_t *look, *rank;      /* the customers looked at, in order */
	size_t n_look;
} sq_rel_plan;

static void sq_rel_plan_free(sq_rel_plan *p)
{
	free(p->pop);
	free(p->alloc);
	free(p->start);
	free(p->look);
	free(p->rank);
	memset(p, 0, sizeof *p);
}

/* Walk one stratum (f->u[start..start+pop), in key order) until `want`
 * customers are taken: with replacement only eligible ones count, without
 * it every one looked at takes a place (the ineligible ones stay
 * uninvited). */
static void sq_rel_walk(const store_rel_wave *w, const sq_rel_frame *f, size_t start, int64_t pop, int64_t want,
			sq_rel_plan *p, store_rel_draw_result *r)
{
	int64_t taken = 0;
	for (int64_t i = 0; i < pop && taken < want; i++) {
		const sq_rel_unit *u = &f->u[start + (size_t)i];
		p->look[p->n_look] = start + (size_t)i;
		p->rank[p->n_look++] = (size_t)i + 1;
		if (u->reason == INVITE_CREATE) {
			taken++;
			r->selected++;
			continue;
		}
		if (!w->replace_excluded)
			taken++;
		r->fatigue += u->reason == INVITE_FATIGUE;
		r->opted_out += u->reason == INVITE_OPTED_OUT;
		r->no_email += u->reason == INVITE_NO_EMAIL;
	}
}

static ks_err sq_rel_plan_make(const store_rel_wave *w, const sq_rel_frame *f, sq_rel_plan *p,
			       store_rel_draw_result *r, ks_error *e)
{
	size_t h = f->h;
	p->pop = calloc(h ? h : 1, sizeof *p->pop);
	p->alloc = calloc(h ? h : 1, sizeof *p->alloc);
	p->start = calloc(h ? h : 1, sizeof *p->start);
	p->look = malloc((f->n ? f->n : 1) * sizeof *p->look);
	p->rank = malloc((f->n ? f->n : 1) * sizeof *p->rank);
	if (!p->pop || !p->alloc || !p->start || !p->look || !p->rank)
		return sq_rel_nomem(e);
	for (size_t i = 0; i < f->n; i++)
		if (p->pop[f->u[i].stratum]++ == 0)
			p->start[f->u[i].stratum] = i;
	rel_allocation mode = REL_ALLOC_PROPORTIONAL;
	rel_allocation_parse(w->allocation, &mode);
	ks_err err = rel_allocate(p->pop, h, w->sample_size, w->min_per_stratum, mode, p->alloc, e);
	for (size_t k = 0; !err && k < h; k++) {
		sq_rel_walk(w, f, p->start[k], p->pop[k], p->alloc[k], p, r);
		r->allocated += p->alloc[k];
	}
	r->strata = h;
	return err;
}

/* The settings a draw depends on are those it read. */
static bool sq_rel_same(const store_rel_wave *a, const store_rel_wave *b)
{
	return strcmp(a->status, b->status) == 0 && a->sample_size == b->sample_size &&
	       strcmp(a->allocation, b->allocation) == 0 && a->min_per_stratum == b->min_per_stratum &&
	       a->replace_excluded == b->replace_excluded && a->fatigue_days == b->fatigue_days;
}

static ks_err sq_rel_write_plan(sq_conn *c, const store_rel_wave *w, const sq_rel_frame *f, const sq_rel_plan *p,
				ks_error *e)
{
	db_stmt *strat = NULL, *samp = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO relationship_strata(wave_id, stratum, population, allocated)"
			      " VALUES(?1, ?2, ?3, ?4)",
			      &strat, e);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO relationship_sample(wave_id, customer_id, stratum, draw_rank, excluded,"
			       " excluded_at) VALUES(?1, ?2, ?3, ?4, ?5, CASE WHEN ?5 IS NULL THEN NULL ELSE 'draw' END)",
			       &samp, e);
	for (size_t k = 0; !err && k < f->h; k++) {
		db_bind_int64(strat, 1, w->id);
		db_bind_text(strat, 2, f->names[k], -1, DB_STATIC);
		db_bind_int64(strat, 3, p->pop[k]);
		db_bind_int64(strat, 4, p->alloc[k]);
		err = sq_rel_run(c, strat, e);
	}
	for (size_t i = 0; !err && i < p->n_look; i++) {
		const sq_rel_unit *u = &f->u[p->look[i]];
		db_bind_int64(samp, 1, w->id);
		db_bind_int64(samp, 2, u->id);
		db_bind_text(samp, 3, f->names[u->stratum], -1, DB_STATIC);
		db_bind_int64(samp, 4, (int64_t)p->rank[i]);
		if (u->reason == INVITE_CREATE)
			db_bind_null(samp, 5);
		else
			db_bind_text(samp, 5, invite_reason_name((invite_reason)u->reason), -1, DB_STATIC);
		err = sq_rel_run(c, samp, e);
	}
	db_finalize(strat);
	db_finalize(samp);
	return err;
}

static ks_err sq_rel_mark_drawn(sq_conn *c, const store_rel_wave *w, uint64_t seed, int64_t pop, int64_t now,
				ks_error *e)
{
	char hex[17];
	rel_seed_format(seed, hex);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "UPDATE relationship_waves SET status = 'drawn', seed = ?2, population = ?3,"
			      " drawn_at = ?4 WHERE id = ?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, w->id);
	db_bind_text(st, 2, hex, -1, DB_TRANSIENT);
	db_bind_int64(st, 3, pop);
	db_bind_int64(st, 4, now);
	return sq_cstep(c, st, e);
}

static ks_err sq_rel_draft_check(const store_rel_wave *w, ks_error *e)
{
	if (strcmp(w->status, "draft") == 0)
		return KS_OK;
	return ks_fail(e, KS_ERR_CONFLICT, "status", "only a draft wave can be drawn (this one is %s)", w->status);
}

ks_err store_rel_draw(ks_store *s, int64_t id, uint64_t seed, store_rel_draw_result *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	int64_t now = clock_now(s->clock);
	sq_conn *c = sq_acquire(s);
	store_rel_wave w, again;
	sq_rel_frame f;
	sq_rel_plan p;
	memset(&f, 0, sizeof f);
	memset(&p, 0, sizeof p);
	ks_err err = sq_exec(c, "BEGIN", e);  /* the read: one snapshot, no write lock */
	if (!err)
		err = sq_rel_get_on(c, id, &w, e);
	if (!err)
		err = sq_rel_draft_check(&w, e);
	if (!err)
		err = sq_rel_frame_read(c, &w, seed, now, &f, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (!err && f.n == 0)
		err = ks_fail(e, KS_ERR_RANGE, "sample_size", "there are no customers to draw from");
	if (!err)
		err = sq_rel_plan_make(&w, &f, &p, out, e);
	out->population = (int64_t)f.n;
	if (!err)
		err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_rel_get_on(c, id, &again, e);
	if (!err && !sq_rel_same(&w, &again))
		err = ks_fail(e, KS_ERR_CONFLICT, "status", "the wave changed while it was drawn; draw again");
	if (!err)
		err = sq_rel_write_plan(c, &w, &f, &p, e);
	if (!err)
		err = sq_rel_mark_drawn(c, &w, seed, (int64_t)f.n, now, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_rel_plan_free(&p);
	sq_rel_frame_free(&f);
	sq_release(s, c);
	return err;
}

/* ---- sending ----------------------------------------------------------------------- */

/* The relationship touchpoint of a survey: made on first use in a journey
 * "Relatieonderzoek" shared by all of them, with the survey, labels that
 * read well in the invitation ("... over onze dienstverlening?") and a
 * disabled rule (no contact is ever invited there; the rule gives the
 * scheduler its expiry, reminder and quiet hours). */
static ks_err sq_rel_touchpoint(sq_conn *c, int64_t survey_id, int64_t now, int64_t *tp, ks_error *e)
{
	ks_err err = sq_one_id(c, "SELECT touchpoint_id FROM relationship_touchpoints WHERE survey_id = ?1",
			       survey_id, tp, e);
	if (err || *tp)
		return err;
	int64_t journey = 0;
	err = sq_one_id(c,
			"SELECT t.journey_id FROM relationship_touchpoints r JOIN touchpoints t"
			" ON t.id = r.touchpoint_id ORDER BY r.touchpoint_id LIMIT ?1",
			1, &journey, e);
	db_stmt *st = NULL;
	if (!err && journey == 0) {
		err = sq_cprep(c,
			       "INSERT INTO journeys(name, description, created_at) VALUES('Relatieonderzoek',"
			       " 'Relationship surveys: a random sample of all customers', ?1)",
			       &st, e);
		if (!err) {
			db_bind_int64(st, 1, now);
			err = sq_cstep(c, st, e);
			journey = db_last_insert_rowid(c->db);
		}
	}
	char open[MODEL_TOKEN_LEN + 1];
	sq_token(open);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO touchpoints(journey_id, name, position, moment_of_truth, survey_id,"
			       " open_token, created_at, label_nl, label_en)"
			       " VALUES(?1, 'Relatieonderzoek', 0, 0, ?2, ?3, ?4, 'onze dienstverlening', 'our service')",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, journey);
		db_bind_int64(st, 2, survey_id);
		db_bind_text(st, 3, open, -1, DB_TRANSIENT);
		db_bind_int64(st, 4, now);
		err = sq_cstep(c, st, e);
		*tp = db_last_insert_rowid(c->db);
	}
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO relationship_touchpoints(touchpoint_id, survey_id) VALUES(?1, ?2);", &st, e);
	if (!err) {
		db_bind_int64(st, 1, *tp);
		db_bind_int64(st, 2, survey_id);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_cprep(c,
			       "INSERT OR IGNORE INTO survey_rules(touchpoint_id, survey_id, enabled, delay_minutes,"
			       " updated_at) VALUES(?1, ?2, 0, 0, ?3)",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, *tp);
		db_bind_int64(st, 2, survey_id);
		db_bind_int64(st, 3, now);
		err = sq_cstep(c, st, e);
	}
	return err;
}

/* Quiet hours, expiry and reminder of the touchpoint's rule. */
static ks_err sq_rel_send_rule(sq_conn *c, const store_rel_wave *w, int64_t tp, invite_rule *r, ks_error *e)
{
	sq_rel_rule(w, r);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT quiet_start_hour, quiet_end_hour, expiry_days, reminder_days"
			      " FROM survey_rules WHERE touchpoint_id = ?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, tp);
	if (db_step(st) == DB_ROW) {
		r->quiet_start_hour = db_column_int(st, 0);
		r->quiet_end_hour = db_column_int(st, 1);
		r->expiry_days = db_column_int(st, 2);
		r->reminder_days = db_column_int(st, 3);
	}
	db_finalize(st);
	return KS_OK;
}

typedef struct sq_rel_send_ctx {
	ks_store *s;
	sq_conn *c;
	const store_rel_wave *w;
	invite_rule rule;
	int64_t tp, now, send_at;
	/* prepared once per send, reset after each row (a wave has thousands) */
	db_stmt *contact, *invitation, *sample;
} sq_rel_send_ctx;

static ks_err sq_rel_send_prepare(sq_rel_send_ctx *x, ks_error *e)
{
	ks_err err = sq_cprep(x->c,
			      "INSERT INTO contacts(customer_id, touchpoint_id, channel, reason, occurred_at, token,"
			      " expires_at) VALUES(?1, ?2, 'relationship', ?3, ?4, ?5, ?6)",
			      &x->contact, e);
	if (!err)
		err = sq_cprep(x->c,
			       "INSERT INTO invitations(contact_id, customer_id, touchpoint_id, channel, decision,"
			       " status, email, send_at, next_attempt_at, message_id, reminder_status,"
			       " unsubscribe_token, created_at)"
			       " VALUES(?1, ?2, ?3, 'relationship', 'created', 'scheduled', ?4, ?5, ?5, ?6, ?7, ?8, ?9)",
			       &x->invitation, e);
	if (!err)
		err = sq_cprep(x->c,
			       "UPDATE relationship_sample SET excluded = ?3,"
			       " excluded_at = CASE WHEN ?3 IS NULL THEN NULL ELSE 'send' END,"
			       " contact_id = nullif(?4, 0), invitation_id = nullif(?5, 0)"
			       /* issue 18 (review): only a row still unsent, as the chunk read it */
			       " WHERE wave_id = ?1 AND customer_id = ?2 AND invitation_id IS NULL AND excluded IS NULL",
			       &x->sample, e);
	return err;
}

static void sq_rel_send_finalize(sq_rel_send_ctx *x)
{
	db_finalize(x->contact);
	db_finalize(x->invitation);
	db_finalize(x->sample);
	x->contact = x->invitation = x->sample = NULL;
}

static ks_err sq_rel_contact(sq_rel_send_ctx *x, int64_t customer, int64_t *contact, char *token, ks_error *e)
{
	sq_token(token);
	char reason[64];
	snprintf(reason, sizeof reason, "relationship wave %lld", (long long)x->w->id);
	db_stmt *st = x->contact;
	db_bind_int64(st, 1, customer);
	db_bind_int64(st, 2, x->tp);
	db_bind_text(st, 3, reason, -1, DB_TRANSIENT);
	db_bind_int64(st, 4, x->now);
	db_bind_text(st, 5, token, -1, DB_STATIC);
	db_bind_int64(st, 6, invite_expires_at(&x->rule, x->send_at));
	ks_err err = sq_rel_run(x->c, st, e);
	*contact = db_last_insert_rowid(x->c->db);
	return err;
}

static ks_err sq_rel_invitation(sq_rel_send_ctx *x, int64_t customer, int64_t contact, const char *email,
				int64_t *inv, ks_error *e)
{
	char unsub[MODEL_TOKEN_LEN + 1], msgid[160];
	sq_token(unsub);
	snprintf(msgid, sizeof msgid, "rel-%lld-%lld-%s@klantstem", (long long)x->w->id, (long long)contact,
		 unsub);
	db_stmt *st = x->invitation;
	db_bind_int64(st, 1, contact);
	db_bind_int64(st, 2, customer);
	db_bind_int64(st, 3, x->tp);
	db_bind_text(st, 4, email, -1, DB_STATIC);
	db_bind_int64(st, 5, x->send_at);
	db_bind_text(st, 6, msgid, -1, DB_STATIC);
	db_bind_text(st, 7, x->rule.reminder_days > 0 ? "scheduled" : "none", -1, DB_STATIC);
	db_bind_text(st, 8, unsub, -1, DB_STATIC);
	db_bind_int64(st, 9, x->now);
	ks_err err = sq_rel_run(x->c, st, e);
	*inv = db_last_insert_rowid(x->c->db);
	return err;
}

/* The invitation.created webhook, as for a contact (SMS or app providers). */
static ks_err sq_rel_webhook(sq_rel_send_ctx *x, int64_t customer, int64_t contact, int64_t inv,
			     const char *token, ks_error *e)
{
	if (!x->s->webhooks)
		return KS_OK;
	char send_iso[32], path[64];
	clock_format_iso(x->send_at, send_iso, sizeof send_iso);
	snprintf(path, sizeof path, "/s/%s", token);
	return sq_webhook_queue(x->s, x->c, "invitation.created",
				json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:I}", "invitation_id",
					  (json_int_t)inv, "contact_id", (json_int_t)contact, "customer_id",
					  (json_int_t)customer, "touchpoint_id", (json_int_t)x->tp, "token", token,
					  "survey_path", path, "send_at", send_iso, "relationship_wave_id",
					  (json_int_t)x->w->id),
				e);
}

static ks_err sq_rel_sample_set(sq_rel_send_ctx *x, int64_t customer, const char *excluded, int64_t contact,
				int64_t inv, ks_error *e)
{
	db_stmt *st = x->sample;
	db_bind_int64(st, 1, x->w->id);
	db_bind_int64(st, 2, customer);
	if (excluded)
		db_bind_text(st, 3, excluded, -1, DB_STATIC);
	else
		db_bind_null(st, 3);
	db_bind_int64(st, 4, contact);
	db_bind_int64(st, 5, inv);
	ks_err err = sq_rel_run(x->c, st, e);
	/* issue 18 (review): the row was sent or excluded since the chunk read
	 * it (another node's send: safe today only under the one-writer lock):
	 * the chunk's transaction is rolled back, the contact and invitation
	 * just made with it, rather than inviting the customer twice */
	if (!err && db_changes(x->c->db) == 0)
		err = ks_fail(e, KS_ERR_CONFLICT, "status",
			      "customer %lld of the wave was sent meanwhile (another node); send again", (long long)customer);
	return err;
}

/* A selected customer as read before the send: the loop writes the sample
 * rows, so they are all read first. */
typedef struct sq_rel_pick {
	int64_t customer;
	char email[256];
	invite_reason why;       /* decided again now */
} sq_rel_pick;

static ks_err sq_rel_send_one(sq_rel_send_ctx *x, const sq_rel_pick *p, int64_t *invited, int64_t *excluded,
			      ks_error *e)
{
	if (p->why != INVITE_CREATE) {
		(*excluded)++;
		return sq_rel_sample_set(x, p->customer, invite_reason_name(p->why), 0, 0, e);
	}
	char token[MODEL_TOKEN_LEN + 1];
	int64_t contact = 0, inv = 0;
	ks_err err = sq_rel_contact(x, p->customer, &contact, token, e);
	if (!err)
		err = sq_rel_invitation(x, p->customer, contact, p->email, &inv, e);
	if (!err)
		err = sq_rel_webhook(x, p->customer, contact, inv, token, e);
	if (!err)
		err = sq_rel_sample_set(x, p->customer, NULL, contact, inv, e);
	*invited += !err;
	return err;
}

/* Customers a send writes per transaction (H8): a sample may hold up to a
 * million, and one transaction for all of them held the write lock (every
 * response of the server waiting) for minutes and lost everything on a
 * crash. KS_REL_SEND_CHUNK (1..100000) from the environment lets a test
 * make chunks small. */
#define SQ_REL_SEND_CHUNK 1000
static int sq_rel_send_chunk(void)
{
	const char *v = getenv("KS_REL_SEND_CHUNK");
	char *end = NULL;
	long n = v ? strtol(v, &end, 10) : 0;
	return v && *end == '\0' && n >= 1 && n <= 100000 ? (int)n : SQ_REL_SEND_CHUNK;
}

/* One chunk: the next selected customers not sent yet (no invitation, not
 * excluded at send), read first (the loop writes their sample rows), each
 * decided again and written. *n: how many were read (0 = all sent). */
static ks_err sq_rel_send_chunk_run(sq_rel_send_ctx *x, int limit, size_t *n, int64_t *invited,
				    int64_t *excluded, ks_error *e)
{
	db_stmt *st = NULL;
	*n = 0;
	ks_err err = sq_cprep(x->c,
			      "SELECT cu.id, coalesce(cu.email, ''), " SQ_REL_FACTS
			      " FROM relationship_sample rs JOIN customers cu ON cu.id = rs.customer_id"
			      " WHERE rs.wave_id = ?2 AND rs.excluded IS NULL AND rs.invitation_id IS NULL"
			      " ORDER BY rs.stratum, rs.draw_rank LIMIT ?3",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, x->now);
	db_bind_int64(st, 2, x->w->id);
	db_bind_int64(st, 3, limit);
	sq_rel_pick *v = calloc((size_t)limit, sizeof *v);
	int rc = v ? DB_DONE : DB_NOMEM;
	while (v && (rc = db_step(st)) == DB_ROW && *n < (size_t)limit) {
		v[*n].customer = db_column_int64(st, 0);
		snprintf(v[*n].email, sizeof v[*n].email, "%s", sq_ctext(st, 1));
		v[*n].why = sq_rel_decide(st, 2, &x->rule, x->now);
		++*n;
	}
	db_finalize(st);
	if (!v)
		err = sq_rel_nomem(e);
	else if (rc != DB_DONE && rc != DB_ROW)
		err = sq_fail(x->c, rc, e);
	if (!err && *n)
		err = sq_rel_send_prepare(x, e);
	for (size_t i = 0; !err && i < *n; i++)
		err = sq_rel_send_one(x, &v[i], invited, excluded, e);
	sq_rel_send_finalize(x);
	free(v);
	return err;
}

/* The wave (drawn) read again in the chunk's transaction. */
static ks_err sq_rel_send_wave(sq_conn *c, int64_t id, store_rel_wave *w, ks_error *e)
{
	ks_err err = sq_rel_get_on(c, id, w, e);
	if (!err && strcmp(w->status, "drawn") != 0)
		err = ks_fail(e, KS_ERR_CONFLICT, "status", "only a drawn wave can be sent (this one is %s)", w->status);
	return err;
}

/* The first transaction of a send: the touchpoint, recorded on the wave
 * (touchpoint_id set while status is still drawn = a send under way). */
static ks_err sq_rel_send_start(sq_rel_send_ctx *x, int64_t id, store_rel_wave *w, ks_error *e)
{
	ks_err err = sq_exec(x->c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_rel_send_wave(x->c, id, w, e);
	if (!err)
		err = sq_rel_touchpoint(x->c, w->survey_id, x->now, &x->tp, e);
	db_stmt *st = NULL;
	if (!err)
		err = sq_cprep(x->c, "UPDATE relationship_waves SET touchpoint_id = ?2 WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		db_bind_int64(st, 2, x->tp);
		err = sq_cstep(x->c, st, e);
	}
	if (!err)
		err = sq_rel_send_rule(x->c, w, x->tp, &x->rule, e);
	if (!err)
		err = sq_exec(x->c, "COMMIT", e);
	if (err)
		db_exec(x->c->db, "ROLLBACK");
	x->send_at = invite_send_at(&x->rule, x->now);
	return err;
}

/* The wave's totals: invited, and excluded at send. */
static ks_err sq_rel_send_totals(sq_conn *c, int64_t id, int64_t *invited, int64_t *excluded, ks_error *e)
{
	ks_err err = sq_one_id(c, "SELECT count(*) FROM relationship_sample WHERE wave_id = ?1"
				  " AND invitation_id IS NOT NULL", id, invited, e);
	if (!err)
		err = sq_one_id(c, "SELECT count(*) FROM relationship_sample WHERE wave_id = ?1 AND excluded_at = 'send'",
				id, excluded, e);
	return err;
}

/* In committed chunks (SQ_REL_SEND_CHUNK): after a failure or a crash the
 * customers already invited stay invited, and the same POST /send goes on
 * with the rest (a selected customer with no invitation and not excluded
 * at send); the last chunk sets status sent. */
ks_err store_rel_send(ks_store *s, int64_t id, int64_t *invited, int64_t *excluded, ks_error *e)
{
	*invited = *excluded = 0;
	sq_conn *c = sq_acquire(s);
	store_rel_wave w;
	sq_rel_send_ctx x = {.s = s, .c = c, .w = &w, .now = clock_now(s->clock)};
	int chunk = sq_rel_send_chunk();
	int64_t inv = 0, exc = 0;
	ks_err err = sq_rel_send_start(&x, id, &w, e);
	for (size_t n = 1; !err && n;) {
		err = sq_exec(c, "BEGIN IMMEDIATE", e);
		if (!err)
			err = sq_rel_send_wave(c, id, &w, e);
		if (!err)
			err = sq_rel_send_chunk_run(&x, chunk, &n, &inv, &exc, e);
		db_stmt *st = NULL;
		if (!err && n == 0)
			err = sq_cprep(c, "UPDATE relationship_waves SET status = 'sent', sent_at = ?2 WHERE id = ?1", &st, e);
		if (!err && n == 0) {
			db_bind_int64(st, 1, id);
			db_bind_int64(st, 2, x.now);
			err = sq_cstep(c, st, e);
		}
		if (!err)
			err = sq_exec(c, "COMMIT", e);
		if (err)
			db_exec(c->db, "ROLLBACK");
	}
	if (!err)
		err = sq_rel_send_totals(c, id, invited, excluded, e);
	sq_release(s, c);
	return err;
}

/* ---- the report's counts ------------------------------------------------------------ */

void store_rel_report_free(store_rel_report *r)
{
	free(r->strata);
	memset(r, 0, sizeof *r);
}

/* The row of stratum name, appended (not in the frame) when new. */
static store_rel_stratum *sq_rel_stratum(store_rel_report *r, const char *name, bool add)
{
	/* a segment is taken up to 500 bytes: its name is cut at a character
	 * boundary (a cut inside one is no JSON string), and segments alike in
	 * what is kept share a row */
	char cut[sizeof r->strata[0].stratum];
	utf8_copy(cut, sizeof cut, name);
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->strata[i].stratum, cut) == 0)
			return &r->strata[i];
	if (!add)
		return NULL;
	store_rel_stratum *p = realloc(r->strata, (r->n + 1) * sizeof *p);
	if (p == NULL)
		return NULL;
	r->strata = p;
	store_rel_stratum *x = &p[r->n++];
	memset(x, 0, sizeof *x);
	memcpy(x->stratum, cut, sizeof cut);
	return x;
}

typedef ks_err (*sq_rel_row_fn)(store_rel_report *r, db_stmt *st, ks_error *e);

/* Run sql with ?1 = wave, ?2 = from, ?3 = to (as far as it uses them) and
 * hand each row to fn. */
static ks_err sq_rel_each(sq_conn *c, const char *sql, int64_t wave, int64_t from, int64_t to,
			  store_rel_report *r, sq_rel_row_fn fn, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	int np = db_bind_parameter_count(st);
	db_bind_int64(st, 1, wave);
	if (np >= 2)
		db_bind_int64(st, 2, from);
	if (np >= 3)
		db_bind_int64(st, 3, to ? to : INT64_MAX);
	int rc;
	while (!err && (rc = db_step(st)) == DB_ROW)
		err = fn(r, st, e);
	if (!err && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

static ks_err sq_rel_frame_row(store_rel_report *r, db_stmt *st, ks_error *e)
{
	store_rel_stratum *x = sq_rel_stratum(r, sq_ctext(st, 0), true);
	if (x == NULL)
		return sq_rel_nomem(e);
	x->in_frame = true;
	x->population = db_column_int64(st, 1);
	x->allocated = db_column_int64(st, 2);
	x->selected = db_column_int64(st, 3);
	x->fatigue = db_column_int64(st, 4);
	x->opted_out = db_column_int64(st, 5);
	x->no_email = db_column_int64(st, 6);
	x->invited = db_column_int64(st, 7);
	return KS_OK;
}

static int sq_score(db_stmt *st, int col)
{
	return db_column_type(st, col) == DB_NULL ? -1 : db_column_int(st, col);
}

static ks_err sq_rel_answer_row(store_rel_report *r, db_stmt *st, ks_error *e)
{
	store_rel_stratum *x = sq_rel_stratum(r, sq_ctext(st, 0), true);
	if (x == NULL)
		return sq_rel_nomem(e);
	int nps = sq_score(st, 1), grade = sq_score(st, 2), ces = sq_score(st, 3);
	metrics_counts_add(&x->rel, nps, grade, ces);
	metrics_counts_add(&r->rel, nps, grade, ces);
	return KS_OK;
}

static ks_err sq_rel_cd_row(store_rel_report *r, db_stmt *st, ks_error *e)
{
	metrics_counts_add(&r->cd, sq_score(st, 0), sq_score(st, 1), sq_score(st, 2));
	(void)e;
	return KS_OK;
}

static ks_err sq_rel_cd_once_row(store_rel_report *r, db_stmt *st, ks_error *e)
{
	metrics_counts_add(&r->cd_once, sq_score(st, 0), -1, -1);
	(void)e;
	return KS_OK;
}

static ks_err sq_rel_cd_seg_row(store_rel_report *r, db_stmt *st, ks_error *e)
{
	store_rel_stratum *x = sq_rel_stratum(r, sq_ctext(st, 0), true);
	if (x == NULL)
		return sq_rel_nomem(e);
	x->cd_invited = db_column_int64(st, 1);
	x->cd_respondents = db_column_int64(st, 2);
	r->cd_invited += x->cd_invited;
	r->cd_respondents += x->cd_respondents;
	return KS_OK;
}

/* Contact-driven customers per segment (the customer's segment now):
 * invited = an invitation decided "created" whose contact fell in the
 * period, as /funnel/representativeness counts; respondents = a response
 * received in the period. Neither counts relationship channel rows. */
static const char *const sq_rel_cd_seg_sql =
	/* Driven from the customers: per customer one seek in contacts_customer
	 * and responses_customer (customer, time) — 0.15 s on the demo's 20,000
	 * customers and 240,000 invitations, where scanning the invitations for
	 * the period's contacts took 1.6 s. */
	/* the filter on the sums outside: PostgreSQL's HAVING cannot name
	 * the select list's aliases */
	"SELECT seg, inv, resp FROM (SELECT coalesce(cu.segment, '') AS seg,"
	" sum(EXISTS (SELECT 1 FROM contacts co JOIN invitations i ON i.contact_id = co.id"
	"   WHERE co.customer_id = cu.id AND co.occurred_at >= ?2 AND co.occurred_at < ?3"
	"   AND i.decision = 'created' AND i.channel <> 'relationship')) AS inv,"
	" sum(EXISTS (SELECT 1 FROM responses r WHERE r.customer_id = cu.id"
	"   AND r.received_at >= ?2 AND r.received_at < ?3 AND coalesce(r.channel, '') <> 'relationship')) AS resp"
	" FROM customers cu WHERE ?1 = ?1 GROUP BY seg) AS g WHERE inv + resp > 0 ORDER BY seg";

ks_err store_rel_report_counts(ks_store *s, int64_t id, int64_t from, int64_t to, int64_t as_of,
			       store_rel_report *out, ks_error *e)
{
	if (as_of > 0 && (to == 0 || to > as_of))
		to = as_of;  /* the contact-driven answers: before the cut too */
	memset(out, 0, sizeof *out);
	sq_conn *c = sq_acquire(s);
	store_rel_wave w;
	ks_err err = sq_exec(c, "BEGIN", e);
	if (!err)
		err = sq_rel_get_on(c, id, &w, e);
	if (!err)
		err = sq_rel_each(c,
				  "SELECT st.stratum, st.population, st.allocated,"
				  " sum(rs.excluded IS NULL AND rs.customer_id IS NOT NULL),"
				  " sum(rs.excluded = 'fatigue'), sum(rs.excluded = 'opted_out'),"
				  " sum(rs.excluded = 'no_email'),"
				  " sum(rs.invitation_id IS NOT NULL AND i.decision = 'created')"
				  " FROM relationship_strata st LEFT JOIN relationship_sample rs"
				  "  ON rs.wave_id = st.wave_id AND rs.stratum = st.stratum"
				  " LEFT JOIN invitations i ON i.id = rs.invitation_id"
				  /* every selected column grouped: PostgreSQL refuses the others */
				  " WHERE st.wave_id = ?1 GROUP BY st.stratum, st.population, st.allocated"
				  " ORDER BY st.stratum",
				  id, 0, 0, out, sq_rel_frame_row, e);
	if (!err)
		err = sq_rel_each(c,
				  "SELECT rs.stratum, r.nps, r.grade, r.ces FROM relationship_sample rs"
				  " JOIN responses r ON r.contact_id = rs.contact_id WHERE rs.wave_id = ?1"
				  " AND ?2 = ?2 AND r.received_at < ?3",
				  id, 0, as_of, out, sq_rel_answer_row, e);
	if (!err)
		err = sq_rel_each(c,
				  "SELECT nps, grade, ces FROM responses WHERE ?1 = ?1 AND received_at >= ?2"
				  " AND received_at < ?3 AND coalesce(channel, '') <> 'relationship'",
				  id, from, to, out, sq_rel_cd_row, e);
	/* H8: one customer answering after several contacts is one customer:
	 * their answers are not independent draws, so the gap's contact side
	 * takes each customer's latest NPS answer of the period (ties: the
	 * later row); an answer without a customer (an open link) counts alone */
	if (!err)
		err = sq_rel_each(c,
				  "SELECT nps FROM (SELECT nps, row_number() OVER (PARTITION BY"
				  " coalesce(customer_id, -id) ORDER BY received_at DESC, id DESC) AS k"
				  " FROM responses WHERE ?1 = ?1 AND received_at >= ?2 AND received_at < ?3"
				  " AND coalesce(channel, '') <> 'relationship' AND nps IS NOT NULL) WHERE k = 1",
				  id, from, to, out, sq_rel_cd_once_row, e);
	if (!err)
		err = sq_rel_each(c, sq_rel_cd_seg_sql, id, from, to, out, sq_rel_cd_seg_row, e);
	sq_release(s, c);  /* the read transaction ends here (rolled back: nothing written) */
	if (err)
		store_rel_report_free(out);
	return err;
}

/* ---- a wave per quarter ---------------------------------------------------------------- */

static void sq_rel_schedule_defaults(store_rel_schedule *o)
{
	memset(o, 0, sizeof *o);
	o->sample_size = 400;
	snprintf(o->allocation, sizeof o->allocation, "proportional");
	o->replace_excluded = true;
	o->fatigue_days = 30;
	o->day_of_month = 1;
}

static ks_err sq_rel_schedule_get_on(sq_conn *c, store_rel_schedule *o, ks_error *e)
{
	sq_rel_schedule_defaults(o);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT enabled, coalesce(survey_id, 0), sample_size, allocation, min_per_stratum,"
			      " replace_excluded, fatigue_days, day_of_month, coalesce(last_period, ''),"
			      " coalesce(last_wave_id, 0), coalesce(last_error, ''), coalesce(updated_by, 0),"
			      " coalesce(updated_at, 0) FROM relationship_schedule WHERE id = 1",
			      &st, e);
	if (err)
		return err;
	int rc = db_step(st);
	if (rc == DB_ROW) {
		o->enabled = db_column_int(st, 0) != 0;
		o->survey_id = db_column_int64(st, 1);
		o->sample_size = db_column_int64(st, 2);
		snprintf(o->allocation, sizeof o->allocation, "%s", sq_ctext(st, 3));
		o->min_per_stratum = db_column_int64(st, 4);
		o->replace_excluded = db_column_int(st, 5) != 0;
		o->fatigue_days = db_column_int(st, 6);
		o->day_of_month = db_column_int(st, 7);
		snprintf(o->last_period, sizeof o->last_period, "%s", sq_ctext(st, 8));
		o->last_wave_id = db_column_int64(st, 9);
		snprintf(o->last_error, sizeof o->last_error, "%s", sq_ctext(st, 10));
		o->updated_by = db_column_int64(st, 11);
		o->updated_at = db_column_int64(st, 12);
	}
	db_finalize(st);
	return rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

ks_err store_rel_schedule_get(ks_store *s, store_rel_schedule *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_rel_schedule_get_on(c, out, e);
	sq_release(s, c);
	return err;
}

ks_err store_rel_schedule_put(ks_store *s, const store_rel_schedule *in, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err && in->survey_id)
		err = sq_rel_survey_check(c, in->survey_id, e);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO relationship_schedule(id, enabled, survey_id, sample_size, allocation,"
			       " min_per_stratum, replace_excluded, fatigue_days, day_of_month, updated_by, updated_at)"
			       " VALUES(1, ?1, nullif(?2, 0), ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, 0), ?10)"
			       " ON CONFLICT(id) DO UPDATE SET enabled = excluded.enabled, survey_id = excluded.survey_id,"
			       " sample_size = excluded.sample_size, allocation = excluded.allocation,"
			       " min_per_stratum = excluded.min_per_stratum, replace_excluded = excluded.replace_excluded,"
			       " fatigue_days = excluded.fatigue_days, day_of_month = excluded.day_of_month,"
			       " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
			       &st, e);
	if (!err) {
		db_bind_int(st, 1, in->enabled ? 1 : 0);
		db_bind_int64(st, 2, in->survey_id);
		db_bind_int64(st, 3, in->sample_size);
		db_bind_text(st, 4, in->allocation, -1, DB_STATIC);
		db_bind_int64(st, 5, in->min_per_stratum);
		db_bind_int(st, 6, in->replace_excluded ? 1 : 0);
		db_bind_int(st, 7, in->fatigue_days);
		db_bind_int(st, 8, in->day_of_month);
		db_bind_int64(st, 9, in->updated_by);
		db_bind_int64(st, 10, clock_now(s->clock));
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

ks_err store_rel_schedule_claim(ks_store *s, const char *period, int64_t *wave_id, ks_error *e)
{
	*wave_id = 0;
	sq_conn *c = sq_acquire(s);
	store_rel_schedule sc;
	db_stmt *st = NULL;
	int64_t now = clock_now(s->clock);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_rel_schedule_get_on(c, &sc, e);
	bool due = !err && sc.enabled && sc.survey_id && strcmp(sc.last_period, period) != 0;
	store_rel_wave w;
	memset(&w, 0, sizeof w);
	snprintf(w.name, sizeof w.name, "Relatieonderzoek %s", period);
	w.survey_id = sc.survey_id;
	snprintf(w.period, sizeof w.period, "%s", period);
	w.sample_size = sc.sample_size;
	snprintf(w.allocation, sizeof w.allocation, "%s", sc.allocation);
	w.min_per_stratum = sc.min_per_stratum;
	w.replace_excluded = sc.replace_excluded;
	w.fatigue_days = sc.fatigue_days;
	if (due)
		err = sq_cprep(c,
			       "INSERT INTO relationship_waves(name, survey_id, period, sample_size, allocation,"
			       " min_per_stratum, replace_excluded, fatigue_days, created_at)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
			       &st, e);
	if (due && !err) {
		sq_rel_bind_fields(st, &w);
		db_bind_int64(st, 9, now);
		err = sq_cstep(c, st, e);
		*wave_id = err ? 0 : db_last_insert_rowid(c->db);
	}
	if (due && !err)
		err = sq_cprep(c,
			       "UPDATE relationship_schedule SET last_period = ?1, last_wave_id = ?2, last_error = NULL"
			       " WHERE id = 1",
			       &st, e);
	if (due && !err) {
		db_bind_text(st, 1, period, -1, DB_STATIC);
		db_bind_int64(st, 2, *wave_id);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, due ? "COMMIT" : "ROLLBACK", e);
	if (err)
		*wave_id = 0;
	sq_release(s, c);
	return err;
}

ks_err store_rel_schedule_note(ks_store *s, const char *error, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "UPDATE relationship_schedule SET last_error = nullif(?1, '') WHERE id = 1", &st, e);
	if (!err) {
		db_bind_text(st, 1, error ? error : "", -1, DB_STATIC);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	return err;
}
