/* sqlite_drivers.c — what the key-driver analysis (issue 15) reads from the
 * database: every driver rating in response order, for building the
 * analytics index (the commit and update hooks keep it current after
 * that), and a journey's touchpoints in their order, for moments of
 * truth. */
#include "store/sqlite_int.h"
#include "core/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ks_err store_scan_drivers(ks_store *s, int64_t after_id, store_drivers_fn fn, void *arg, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	/* The primary key (response_id, aspect) of a WITHOUT ROWID table: the
	 * rows come in key order with no sort. */
	int rc = db_prepare(c->db,
				    "SELECT response_id, aspect, score FROM response_drivers"
				    " WHERE response_id > ?1 ORDER BY response_id, aspect", &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	db_bind_int64(st, 1, after_id);
	model_driver_score d[MODEL_MAX_DRIVERS];
	int n = 0;
	int64_t cur = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t id = db_column_int64(st, 0);
		if (id != cur && n > 0) {
			fn(arg, cur, d, n);
			n = 0;
		}
		cur = id;
		if (n == MODEL_MAX_DRIVERS)
			continue; /* the API accepts no more; a hand-made row beyond it is left out */
		const unsigned char *t = db_column_text(st, 1);
		snprintf(d[n].aspect, sizeof d[n].aspect, "%s", t ? (const char *)t : "");
		d[n].score = db_column_int(st, 2);
		n++;
	}
	if (rc == DB_DONE && n > 0)
		fn(arg, cur, d, n);
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	return err;
}

ks_err store_journey_touchpoints(ks_store *s, int64_t journey_id, store_journey_tp **out, size_t *n,
				 ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db,
				    "SELECT id, name, position, moment_of_truth FROM touchpoints"
				    " WHERE journey_id = ?1 ORDER BY position, id", &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	db_bind_int64(st, 1, journey_id);
	size_t cap = 0;
	ks_err err = KS_OK;
	while ((rc = db_step(st)) == DB_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			store_journey_tp *p = realloc(*out, cap * sizeof *p);
			if (p == NULL) {
				err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
				break;
			}
			*out = p;
		}
		store_journey_tp *tp = &(*out)[(*n)++];
		memset(tp, 0, sizeof *tp);
		tp->id = db_column_int64(st, 0);
		const unsigned char *t = db_column_text(st, 1);
		/* at a character boundary should a hand-made row be longer than
		 * the API's 500 bytes: a cut inside one is no JSON string */
		utf8_copy(tp->name, sizeof tp->name, (const char *)t);
		tp->position = db_column_int(st, 2);
		tp->moment_of_truth = db_column_int(st, 3) != 0;
	}
	if (!err && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}
