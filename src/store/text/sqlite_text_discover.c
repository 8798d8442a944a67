/* sqlite_text_discover.c — theme discovery (issue 14): the analysed open
 * answers without any theme row of a period and of the one before, within
 * the reader's scope, run through text_discover (src/text/discover.c) with
 * the store's current text context; the examples as verbatim items.
 *
 * The rows are read on a pool connection that is released before the
 * phrases are counted (a second or two for 100k answers: no connection is
 * held meanwhile); the counting uses a worker of its own made from a
 * counted reference to the current generation, so a taxonomy change during
 * the request neither waits for it nor frees the context under it.
 */
#include "store/sqlite_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "text/discover.h"

/* ?1 unit (with its subtree), ?2 employee, ?3 from, ?4 to, ?5 analysis
 * language ('' = any); newest first, so the examples are the latest. */
static const char *const sq_disc_sql =
	"WITH RECURSIVE sub(id) AS (SELECT ?1 WHERE ?1 <> 0"
	"  UNION SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id)"
	" SELECT r.id, ta.language, r.open_text"
	" FROM responses r JOIN text_analysis ta ON ta.response_id = r.id"
	" WHERE r.received_at >= ?3 AND r.received_at < ?4"
	" AND r.open_text IS NOT NULL AND r.open_text <> ''"
	" AND NOT EXISTS (SELECT 1 FROM text_themes th WHERE th.response_id = r.id)"
	" AND (?1 = 0 OR r.team_id IN sub) AND (?2 = 0 OR r.employee_id = ?2)"
	" AND (?5 = '' OR ta.language = ?5)"
	" ORDER BY r.received_at DESC, r.id DESC";

static const char *const sq_disc_example_sql =
	"SELECT r.id, r.open_text, r.nps, r.grade, r.language, r.received_at,"
	" coalesce(r.employee_id, 0), coalesce(em.first_name || ' ' || em.last_name, '')"
	" FROM responses r LEFT JOIN employees em ON em.id = r.employee_id WHERE r.id = ?1";

/* One period's answers: texts in one buffer (offsets until it is full). */
typedef struct sq_disc_set {
	int64_t *ids;
	size_t *off;
	text_disc_answer *a;
	int n, cap;
	char *buf;
	size_t used, cap_buf;
} sq_disc_set;

static void sq_disc_set_free(sq_disc_set *d)
{
	free(d->ids);
	free(d->off);
	free(d->a);
	free(d->buf);
}

static ks_err sq_disc_push(sq_disc_set *d, int64_t id, const char *lang, const char *text, size_t len)
{
	if (d->n == d->cap) {
		int cap = d->cap ? d->cap * 2 : 1024;
		int64_t *ids = realloc(d->ids, (size_t)cap * sizeof *ids);
		if (ids)
			d->ids = ids;
		size_t *off = realloc(d->off, (size_t)cap * sizeof *off);
		if (off)
			d->off = off;
		text_disc_answer *a = realloc(d->a, (size_t)cap * sizeof *a);
		if (a)
			d->a = a;
		if (!ids || !off || !a)
			return KS_ERR_NOMEM;
		d->cap = cap;
	}
	if (d->used + len + 1 > d->cap_buf) {
		size_t cap = d->cap_buf ? d->cap_buf : 65536;
		while (cap < d->used + len + 1)
			cap *= 2;
		char *b = realloc(d->buf, cap);
		if (!b)
			return KS_ERR_NOMEM;
		d->buf = b;
		d->cap_buf = cap;
	}
	memcpy(d->buf + d->used, text, len);
	d->buf[d->used + len] = '\0';
	d->ids[d->n] = id;
	d->off[d->n] = d->used;
	d->a[d->n] = (text_disc_answer){ NULL, len,
		strcmp(lang, "nl") == 0 ? TEXT_LANG_NL : strcmp(lang, "en") == 0 ? TEXT_LANG_EN
		                                                                  : TEXT_LANG_OTHER };
	d->used += len + 1;
	d->n++;
	return KS_OK;
}

static ks_err sq_disc_read(sq_conn *c, const store_discover_query *q, int64_t from, int64_t to,
			   sq_disc_set *d, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, sq_disc_sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, q->team_id);
	db_bind_int64(st, 2, q->employee_id);
	db_bind_int64(st, 3, from);
	db_bind_int64(st, 4, to);
	db_bind_text(st, 5, q->language, -1, DB_STATIC);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *text = (const char *)db_column_text(st, 2);
		size_t len = (size_t)db_column_bytes(st, 2);
		if (sq_disc_push(d, db_column_int64(st, 0), sq_ctext(st, 1), text ? text : "",
				 text ? len : 0) != KS_OK) {
			rc = DB_NOMEM;
			break;
		}
	}
	if (rc != DB_DONE)
		err = rc == DB_NOMEM ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory") : sq_fail(c, rc, e);
	db_finalize(st);
	/* the buffer no longer moves */
	for (int i = 0; i < d->n; i++)
		d->a[i].text = d->buf + d->off[i];
	return err;
}

/* A verbatim item of the example (docs/API.md "A verbatim item", without
 * team and touchpoint); NULL when the response is gone. */
static ks_err sq_disc_example(sq_conn *c, int64_t id, json_t **out, ks_error *e)
{
	*out = NULL;
	db_stmt *st;
	ks_err err = sq_cprep(c, sq_disc_example_sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		char when[32];
		clock_format_iso(db_column_int64(st, 5), when, sizeof when);
		bool has_nps = db_column_type(st, 2) != DB_NULL;
		int nps = db_column_int(st, 2);
		int64_t emp = db_column_int64(st, 6);
		*out = json_pack("{s:I, s:s, s:o, s:o, s:o, s:s, s:s, s:o}", "response_id", (json_int_t)id,
				 "text", sq_ctext(st, 1),
				 "nps", has_nps ? json_integer(nps) : json_null(),
				 "grade", db_column_type(st, 3) != DB_NULL
					 ? json_integer(db_column_int(st, 3)) : json_null(),
				 "band", !has_nps ? json_null()
					 : json_string(nps >= 9 ? "promoter" : nps >= 7 ? "passive" : "detractor"),
				 "language", sq_ctext(st, 4), "received_at", when,
				 "employee", emp ? json_pack("{s:I, s:s}", "id", (json_int_t)emp, "name",
							     sq_ctext(st, 7))
						 : json_null());
		if (!*out)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	} else if (rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

static json_t *sq_disc_num(double v)
{
	return isnan(v) || isinf(v) ? json_null() : json_real(v);
}

static ks_err sq_disc_json(ks_store *s, const sq_disc_set *cur, const text_disc_result *r, json_t **out,
			   ks_error *e)
{
	json_t *phrases = json_array();
	*out = json_pack("{s:i, s:i, s:o}", "answers_without_theme", r->answers, "answers_previous",
			 r->answers_previous, "phrases", phrases);
	if (!*out)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sq_conn *c = sq_acquire(s);
	ks_err err = KS_OK;
	for (int i = 0; i < r->n_phrases && !err; i++) {
		const text_disc_phrase *p = &r->phrases[i];
		json_t *ex = json_array();
		for (int k = 0; k < p->n_examples && !err; k++) {
			json_t *item = NULL;
			err = sq_disc_example(c, cur->ids[p->examples[k]], &item, e);
			if (item)
				json_array_append_new(ex, item);
		}
		json_t *ph = json_pack("{s:s, s:s, s:s, s:i, s:i, s:b, s:o, s:o, s:o}", "phrase", p->phrase,
				       "stems", p->stems, "language", text_lang_name(p->lang), "n", p->n,
				       "n_previous", p->n_previous, "rising", p->rising, "growth",
				       sq_disc_num(p->growth), "p_value", sq_disc_num(p->p_value), "examples", ex);
		if (!err && (!ph || json_array_append_new(phrases, ph) != 0))
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		else if (err)
			json_decref(ph);
	}
	sq_release(s, c);
	if (err) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

/* Runs text_discover with a worker of the current generation. */
static ks_err sq_disc_run(ks_store *s, const store_discover_query *q, const sq_disc_set *cur,
			  const sq_disc_set *prev, text_disc_result *r, ks_error *e)
{
	sq_text_gen *g = sq_text_gen_get(s);
	if (!g)
		return ks_fail(e, KS_ERR_UNAVAILABLE, NULL,
			       "text analysis is off (the language data is missing)");
	text_worker *w = NULL;
	ks_err err = text_worker_new(sq_text_gen_ctx(g), &w, e);
	if (!err) {
		text_disc_opts o;
		text_disc_opts_default(&o);
		o.limit = q->limit < 1 ? 1 : q->limit > 50 ? 50 : q->limit;
		if (q->min_n > 0)
			o.min_n = q->min_n;
		o.lang = strcmp(q->language, "nl") == 0 ? TEXT_LANG_NL
		       : strcmp(q->language, "en") == 0 ? TEXT_LANG_EN : TEXT_LANG_AUTO;
		err = text_discover(w, cur->a, cur->n, prev->a, prev->n, &o, r, e);
	}
	text_worker_free(w);
	sq_text_gen_put(g);
	return err;
}

ks_err store_text_discover(ks_store *s, const store_discover_query *q, json_t **out, ks_error *e)
{
	*out = NULL;
	sq_disc_set cur, prev;
	memset(&cur, 0, sizeof cur);
	memset(&prev, 0, sizeof prev);
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_disc_read(c, q, q->from, q->to, &cur, e);
	if (!err)
		err = sq_disc_read(c, q, q->prev_from, q->from, &prev, e);
	sq_release(s, c);
	text_disc_result r;
	memset(&r, 0, sizeof r);
	if (!err)
		err = sq_disc_run(s, q, &cur, &prev, &r, e);
	if (!err)
		err = sq_disc_json(s, &cur, &r, out, e);
	text_disc_result_free(&r);
	sq_disc_set_free(&cur);
	sq_disc_set_free(&prev);
	return err;
}
