/* sqlite_kpis.c — the store's side of hard KPIs (issue 17, part K;
 * store_kpis.h, migration 025): the catalogue, monthly values, targets on
 * org units, and the counts behind the store-based soft series.
 *
 * Writes take the write lock with BEGIN IMMEDIATE on a pooled connection,
 * as every administrative write does (sq_write_tx): the busy timeout
 * (SQ_BUSY_TIMEOUT_MS) waits for an import holding the lock. A batch of
 * values is one transaction: every unit is checked inside it, and the
 * first that is no org unit rolls the whole batch back, naming its index.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

static void sq_kpi_copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* ---- catalogue ---------------------------------------------------------------- */

#define SQ_KPI_COLS                                                                              \
	"id, key, name_nl, name_en, unit, higher_is_better, department, kind, aggregation, builtin," \
	" created_at"

static void sq_kpi_row(db_stmt *st, void *elem)
{
	store_kpi *k = elem;
	memset(k, 0, sizeof *k);
	k->id = db_column_int64(st, 0);
	sq_kpi_copy(k->key, sizeof k->key, sq_ctext(st, 1));
	sq_kpi_copy(k->name_nl, sizeof k->name_nl, sq_ctext(st, 2));
	sq_kpi_copy(k->name_en, sizeof k->name_en, sq_ctext(st, 3));
	sq_kpi_copy(k->unit, sizeof k->unit, sq_ctext(st, 4));
	k->higher_is_better = db_column_int(st, 5) != 0;
	sq_kpi_copy(k->department, sizeof k->department, sq_ctext(st, 6));
	sq_kpi_copy(k->kind, sizeof k->kind, sq_ctext(st, 7));
	sq_kpi_copy(k->aggregation, sizeof k->aggregation, sq_ctext(st, 8));
	k->builtin = db_column_int(st, 9) != 0;
	k->created_at = db_column_int64(st, 10);
}

ks_err store_kpi_list(ks_store *s, store_kpi **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_KPI_COLS " FROM kpis ORDER BY id", &st, e);
	if (!err)
		err = sq_collect(c, st, sizeof **out, sq_kpi_row, 0, (void **)out, n, NULL, e);
	sq_release(s, c);
	return err;
}

/* The one KPI of sql with ?1 bound (an id or a key). */
static ks_err sq_kpi_one(ks_store *s, const char *sql, int64_t id, const char *key, store_kpi *out,
			 ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	store_kpi *v = NULL;
	size_t n = 0;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err) {
		if (key)
			db_bind_text(st, 1, key, -1, DB_STATIC);
		else
			db_bind_int64(st, 1, id);
		err = sq_collect(c, st, sizeof *v, sq_kpi_row, 1, (void **)&v, &n, NULL, e);
	}
	sq_release(s, c);
	if (!err && n == 0)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such KPI");
	if (!err)
		*out = v[0];
	free(v);
	return err;
}

ks_err store_kpi_get(ks_store *s, int64_t id, store_kpi *out, ks_error *e)
{
	return sq_kpi_one(s, "SELECT " SQ_KPI_COLS " FROM kpis WHERE id = ?1", id, NULL, out, e);
}

ks_err store_kpi_by_key(ks_store *s, const char *key, store_kpi *out, ks_error *e)
{
	return sq_kpi_one(s, "SELECT " SQ_KPI_COLS " FROM kpis WHERE key = ?1", 0, key, out, e);
}

typedef struct sq_kpi_write {
	const store_kpi *k;
	int64_t id;
	const store_kpi_value *v;
	size_t n;
	const char *source, *prefix;
	const store_kpi_target *t;
	const char *kpi, *period;
} sq_kpi_write;

static void sq_kpi_bind_fields(db_stmt *st, const store_kpi *k)
{
	db_bind_text(st, 2, k->name_nl, -1, DB_STATIC);
	db_bind_text(st, 3, k->name_en, -1, DB_STATIC);
	db_bind_text(st, 4, k->unit, -1, DB_STATIC);
	db_bind_int(st, 5, k->higher_is_better ? 1 : 0);
	db_bind_text(st, 6, k->department, -1, DB_STATIC);
	db_bind_text(st, 7, k->kind, -1, DB_STATIC);
	db_bind_text(st, 8, k->aggregation, -1, DB_STATIC);
}

static ks_err sq_kpi_create_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_kpi_write *w = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO kpis(key, name_nl, name_en, unit, higher_is_better, department, kind,"
			      " aggregation, builtin, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)",
			      &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, w->k->key, -1, DB_STATIC);
	sq_kpi_bind_fields(st, w->k);
	db_bind_int64(st, 9, clock_now(s->clock));
	err = sq_cstep(c, st, e);
	if (err == KS_ERR_CONFLICT)
		return ks_fail(e, KS_ERR_CONFLICT, "key", "a KPI with key %s exists", w->k->key);
	w->id = db_last_insert_rowid(c->db);
	return err;
}

ks_err store_kpi_create(ks_store *s, const store_kpi *k, int64_t *id, ks_error *e)
{
	sq_kpi_write w = {.k = k};
	ks_err err = sq_write_tx(s, sq_kpi_create_tx, &w, e);
	*id = err ? 0 : w.id;
	return err;
}

static ks_err sq_kpi_update_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_kpi_write *w = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "UPDATE kpis SET name_nl = ?2, name_en = ?3, unit = ?4, higher_is_better = ?5,"
			      " department = ?6, kind = ?7, aggregation = ?8 WHERE id = ?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, w->k->id);
	sq_kpi_bind_fields(st, w->k);
	err = sq_cstep(c, st, e);
	if (!err && db_changes(c->db) != 1)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such KPI");
	return err;
}

ks_err store_kpi_update(ks_store *s, const store_kpi *k, ks_error *e)
{
	sq_kpi_write w = {.k = k};
	return sq_write_tx(s, sq_kpi_update_tx, &w, e);
}

static ks_err sq_kpi_delete_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_kpi_write *w = arg;
	db_stmt *st = NULL;
	int64_t builtin = -1;
	ks_err err = sq_cprep(c, "SELECT builtin FROM kpis WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, w->id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		builtin = db_column_int64(st, 0);
	else if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	if (err)
		return err;
	if (builtin < 0)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such KPI");
	if (builtin)
		return ks_fail(e, KS_ERR_CONFLICT, "id",
			       "a built-in KPI cannot be deleted (rename it or leave it without values)");
	/* Its targets name it by key; kpi_values go by ON DELETE CASCADE, but
	 * the pool's connections may run without foreign keys, so both are
	 * deleted here. */
	static const char *const sql[] = {
		"DELETE FROM kpi_targets WHERE kpi = (SELECT key FROM kpis WHERE id = ?1)",
		"DELETE FROM kpi_values WHERE kpi_id = ?1",
		"DELETE FROM kpis WHERE id = ?1",
	};
	for (size_t i = 0; !err && i < sizeof sql / sizeof sql[0]; i++) {
		err = sq_cprep(c, sql[i], &st, e);
		if (!err) {
			db_bind_int64(st, 1, w->id);
			err = sq_cstep(c, st, e);
		}
	}
	return err;
}

ks_err store_kpi_delete(ks_store *s, int64_t id, ks_error *e)
{
	sq_kpi_write w = {.id = id};
	return sq_write_tx(s, sq_kpi_delete_tx, &w, e);
}

/* ---- values ------------------------------------------------------------------- */

/* Does the org unit / KPI id exist? (prepared statement st, ?1 = id) */
static ks_err sq_kpi_exists(sq_conn *c, db_stmt *st, int64_t id, bool *found, ks_error *e)
{
	db_reset(st);
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	*found = rc == DB_ROW;
	return rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

static ks_err sq_kpi_values_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_kpi_write *w = arg;
	db_stmt *unit = NULL, *kpi = NULL, *up = NULL;
	ks_err err = sq_cprep(c, "SELECT 1 FROM org_units WHERE id = ?1", &unit, e);
	if (!err)
		err = sq_cprep(c, "SELECT 1 FROM kpis WHERE id = ?1", &kpi, e);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO kpi_values(kpi_id, unit_id, period, value, source, updated_at)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(kpi_id, unit_id, period) DO UPDATE"
			       " SET value = excluded.value, source = excluded.source, updated_at = excluded.updated_at",
			       &up, e);
	int64_t now = clock_now(s->clock);
	int64_t last_kpi = 0;
	for (size_t i = 0; !err && i < w->n; i++) {
		const store_kpi_value *v = &w->v[i];
		bool found = true;
		if (v->kpi_id != last_kpi) {
			err = sq_kpi_exists(c, kpi, v->kpi_id, &found, e);
			if (!err && !found)
				err = ks_fail(e, KS_ERR_REF, NULL, "no KPI with id %lld", (long long)v->kpi_id);
			if (err == KS_ERR_REF && e)
				snprintf(e->field, sizeof e->field, "%.20s[%zu].kpi_id", w->prefix, i);
			last_kpi = v->kpi_id;
		}
		if (!err)
			err = sq_kpi_exists(c, unit, v->unit_id, &found, e);
		if (!err && !found) {
			err = ks_fail(e, KS_ERR_REF, NULL, "no org unit with id %lld", (long long)v->unit_id);
			if (e)
				snprintf(e->field, sizeof e->field, "%.20s[%zu].unit_id", w->prefix, i);
		}
		if (err)
			break;
		db_reset(up);
		db_bind_int64(up, 1, v->kpi_id);
		db_bind_int64(up, 2, v->unit_id);
		db_bind_text(up, 3, v->period, -1, DB_STATIC);
		db_bind_double(up, 4, v->value);
		db_bind_text(up, 5, w->source, -1, DB_STATIC);
		db_bind_int64(up, 6, now);
		int rc = db_step(up);
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
	}
	db_finalize(unit);
	db_finalize(kpi);
	db_finalize(up);
	return err;
}

ks_err store_kpi_values_put(ks_store *s, const store_kpi_value *v, size_t n, const char *source,
			    const char *field_prefix, ks_error *e)
{
	if (strcmp(source, "api") != 0 && strcmp(source, "import") != 0 && strcmp(source, "demo") != 0)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "unknown KPI value source %.20s", source);
	sq_kpi_write w = {.v = v, .n = n, .source = source, .prefix = field_prefix ? field_prefix : "values"};
	return sq_write_tx(s, sq_kpi_values_tx, &w, e);
}

static void sq_kpi_value_row(db_stmt *st, void *elem)
{
	store_kpi_value *v = elem;
	memset(v, 0, sizeof *v);
	v->kpi_id = db_column_int64(st, 0);
	v->unit_id = db_column_int64(st, 1);
	sq_kpi_copy(v->period, sizeof v->period, sq_ctext(st, 2));
	v->value = db_column_double(st, 3);
	sq_kpi_copy(v->source, sizeof v->source, sq_ctext(st, 4));
	v->updated_at = db_column_int64(st, 5);
}

ks_err store_kpi_values_get(ks_store *s, int64_t kpi_id, const char *from, const char *to,
			    store_kpi_value **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT kpi_id, unit_id, period, value, source, updated_at FROM kpi_values"
			      " WHERE (?1 = 0 OR kpi_id = ?1) AND (?2 IS NULL OR period >= ?2)"
			      " AND (?3 IS NULL OR period <= ?3) ORDER BY kpi_id, unit_id, period",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, kpi_id);
		if (from)
			db_bind_text(st, 2, from, -1, DB_STATIC);
		if (to)
			db_bind_text(st, 3, to, -1, DB_STATIC);
		err = sq_collect(c, st, sizeof **out, sq_kpi_value_row, 0, (void **)out, n, NULL, e);
	}
	sq_release(s, c);
	return err;
}

/* ---- org units ------------------------------------------------------------------ */

static void sq_kpi_unit_row(db_stmt *st, void *elem)
{
	store_kpi_unit *u = elem;
	memset(u, 0, sizeof *u);
	u->id = db_column_int64(st, 0);
	u->parent_id = db_column_int64(st, 1);
	sq_kpi_copy(u->kind, sizeof u->kind, sq_ctext(st, 2));
	sq_kpi_copy(u->name, sizeof u->name, sq_ctext(st, 3));
}

ks_err store_kpi_units(ks_store *s, store_kpi_unit **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT id, coalesce(parent_id, 0), kind, name FROM org_units ORDER BY id", &st, e);
	if (!err)
		err = sq_collect(c, st, sizeof **out, sq_kpi_unit_row, 0, (void **)out, n, NULL, e);
	sq_release(s, c);
	return err;
}

/* ---- targets -------------------------------------------------------------------- */

static void sq_kpi_target_row(db_stmt *st, void *elem)
{
	store_kpi_target *t = elem;
	memset(t, 0, sizeof *t);
	sq_kpi_copy(t->kpi, sizeof t->kpi, sq_ctext(st, 0));
	t->unit_id = db_column_int64(st, 1);
	sq_kpi_copy(t->period, sizeof t->period, sq_ctext(st, 2));
	t->target = db_column_double(st, 3);
	t->set_by = db_column_int64(st, 4);
	t->updated_at = db_column_int64(st, 5);
}

ks_err store_kpi_targets_list(ks_store *s, const char *kpi, int64_t unit_id, store_kpi_target **out,
			      size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT kpi, unit_id, period, target, coalesce(set_by, 0), updated_at FROM kpi_targets"
			      " WHERE (?1 IS NULL OR kpi = ?1) AND (?2 = 0 OR unit_id = ?2)"
			      " ORDER BY kpi, unit_id, period",
			      &st, e);
	if (!err) {
		if (kpi)
			db_bind_text(st, 1, kpi, -1, DB_STATIC);
		db_bind_int64(st, 2, unit_id);
		err = sq_collect(c, st, sizeof **out, sq_kpi_target_row, 0, (void **)out, n, NULL, e);
	}
	sq_release(s, c);
	return err;
}

static ks_err sq_kpi_target_put_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_kpi_write *w = arg;
	bool found = false;
	ks_err err = sq_row_exists(c, "org_units", w->t->unit_id, &found, e);
	if (!err && !found)
		return ks_fail(e, KS_ERR_REF, "unit_id",
			       "no org unit with id %lld: goals are set for teams, not for individual people",
			       (long long)w->t->unit_id);
	db_stmt *st = NULL;
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO kpi_targets(kpi, unit_id, period, target, set_by, updated_at)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(kpi, unit_id, period) DO UPDATE"
			       " SET target = excluded.target, set_by = excluded.set_by, updated_at = excluded.updated_at",
			       &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, w->t->kpi, -1, DB_STATIC);
	db_bind_int64(st, 2, w->t->unit_id);
	db_bind_text(st, 3, w->t->period, -1, DB_STATIC);
	db_bind_double(st, 4, w->t->target);
	sq_bind_id(st, 5, w->t->set_by);
	db_bind_int64(st, 6, clock_now(s->clock));
	return sq_cstep(c, st, e);
}

ks_err store_kpi_target_put(ks_store *s, const store_kpi_target *t, ks_error *e)
{
	sq_kpi_write w = {.t = t};
	return sq_write_tx(s, sq_kpi_target_put_tx, &w, e);
}

static ks_err sq_kpi_target_delete_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_kpi_write *w = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "DELETE FROM kpi_targets WHERE kpi = ?1 AND unit_id = ?2 AND period = ?3", &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, w->kpi, -1, DB_STATIC);
	db_bind_int64(st, 2, w->id);
	db_bind_text(st, 3, w->period, -1, DB_STATIC);
	err = sq_cstep(c, st, e);
	if (!err && db_changes(c->db) == 0)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such target");
	return err;
}

ks_err store_kpi_target_delete(ks_store *s, const char *kpi, int64_t unit_id, const char *period,
			       ks_error *e)
{
	sq_kpi_write w = {.kpi = kpi, .id = unit_id, .period = period};
	return sq_write_tx(s, sq_kpi_target_delete_tx, &w, e);
}

/* ---- counts of the store-based soft KPIs ---------------------------------------- */

static void sq_kpi_count_row(db_stmt *st, void *elem)
{
	store_kpi_count *k = elem;
	memset(k, 0, sizeof *k);
	k->unit_id = db_column_int64(st, 0);
	sq_kpi_copy(k->period, sizeof k->period, sq_ctext(st, 1));
	k->num = db_column_int64(st, 2);
	k->den = db_column_int64(st, 3);
	k->person = db_column_type(st, 4) == DB_INTEGER ? db_column_int64(st, 4) : 0;
}

/* UTC bounds a day wider than the local months from..to: the times a row
 * of those months can have in any zone (the exact cut is ks_local_month). */
static void sq_kpi_bounds(const char *from, const char *to, int64_t *lo, int64_t *hi)
{
	int y = 0, m = 0;
	*lo = 0;
	*hi = INT64_MAX;
	if (from && sscanf(from, "%4d-%2d", &y, &m) == 2)
		*lo = clock_days_from_civil(y, m, 1) * 86400 - 86400;
	if (to && sscanf(to, "%4d-%2d", &y, &m) == 2)
		*hi = clock_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400 + 86400;
}

static ks_err sq_kpi_counts(ks_store *s, const char *sql, const char *from, const char *to, int64_t as_of,
			    store_kpi_count **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	int64_t lo, hi;
	sq_kpi_bounds(from, to, &lo, &hi);
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err) {
		db_bind_int64(st, 1, lo);
		db_bind_int64(st, 2, hi);
		db_bind_text(st, 3, from ? from : "0000-00", -1, DB_STATIC);
		db_bind_text(st, 4, to ? to : "9999-99", -1, DB_STATIC);
		db_bind_int64(st, 5, as_of);
		err = sq_collect(c, st, sizeof **out, sq_kpi_count_row, 0, (void **)out, n, NULL, e);
	}
	sq_release(s, c);
	return err;
}

ks_err store_kpi_response_counts(ks_store *s, const char *from, const char *to, store_kpi_count **out,
				 size_t *n, ks_error *e)
{
	/* as_of (?5) is not used: an invitation's completion is a fact, and
	 * the rate is about customers, not about one employee. */
	return sq_kpi_counts(s,
			     "SELECT team_id, m, total(completed_at IS NOT NULL), count(*), employee_id FROM"
			     " (SELECT team_id, employee_id, completed_at, ks_local_month(sent_at) AS m FROM invitations"
			     "  WHERE sent_at IS NOT NULL AND team_id IS NOT NULL AND sent_at >= ?1 AND sent_at < ?2)"
			     " WHERE m >= ?3 AND m <= ?4 GROUP BY team_id, m, employee_id ORDER BY team_id, m, employee_id",
			     from, to, 0, out, n, e);
}

ks_err store_kpi_sla_counts(ks_store *s, const char *from, const char *to, int64_t as_of,
			    store_kpi_count **out, size_t *n, ks_error *e)
{
	/* done: the earlier of resolved_at and closed_at (a case closed
	 * without a resolution step has only closed_at), counted only when
	 * before as_of, like a deadline passed. */
	return sq_kpi_counts(s,
			     "SELECT team_id, m, total(done IS NOT NULL AND (deadline IS NULL OR done <= deadline)),"
			     " count(*), owner_user_id FROM"
			     " (SELECT team_id, owner_user_id, deadline, ks_local_month(opened_at) AS m,"
			     "   CASE WHEN min(coalesce(resolved_at, closed_at), coalesce(closed_at, resolved_at)) < ?5"
			     "   THEN min(coalesce(resolved_at, closed_at), coalesce(closed_at, resolved_at)) END AS done"
			     "  FROM cases WHERE team_id IS NOT NULL AND opened_at >= ?1 AND opened_at < ?2)"
			     " WHERE m >= ?3 AND m <= ?4 AND (done IS NOT NULL OR (deadline IS NOT NULL AND deadline < ?5))"
			     " GROUP BY team_id, m, owner_user_id ORDER BY team_id, m, owner_user_id",
			     from, to, as_of, out, n, e);
}

ks_err store_kpi_nps_counts(ks_store *s, const char *from, const char *to, store_kpi_count **out,
			    size_t *n, ks_error *e)
{
	return sq_kpi_counts(s,
			     "SELECT team_id, m, total(nps >= 9) - total(nps <= 6), count(*), NULL FROM"
			     " (SELECT team_id, nps, ks_local_month(received_at) AS m FROM responses"
			     "  WHERE nps IS NOT NULL AND team_id IS NOT NULL AND received_at >= ?1 AND received_at < ?2)"
			     " WHERE m >= ?3 AND m <= ?4 GROUP BY team_id, m ORDER BY team_id, m",
			     from, to, 0, out, n, e);
}

int64_t store_kpi_as_of(ks_store *s)
{
	return tz_day_start(&s->tz, tz_local_day(&s->tz, clock_now(s->clock)));
}
