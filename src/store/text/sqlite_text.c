/* sqlite_text.c — the text analysis of open answers (issue 14): written by
 * the writer with the response, shown with it, renewed by the reanalysis
 * job (sqlite_text_job.c), and told to the analytics index through the
 * text hook after each commit. Schema: migrations/017_text_analysis.sql.
 *
 * The store's text context is a generation (below): built at open from the
 * organisation's taxonomy and model (sqlite_text_config.c), replaced on a
 * change. Each connection gets a text_worker on first use, and again after
 * a switch, since a connection has one holder at a time (the writer's for
 * new answers, a pool connection's for a survey page that completes a
 * partial answer, for the job or for POST /text/analyze). A failed analysis
 * never fails the response: it is logged and the response is stored
 * without an analysis row.
 */
#include "store/sqlite_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "text/text.h"

/* One generation of the text context: the store holds a reference while
 * it is current, each connection's worker one while it lives. refs is
 * atomic so a connection closing (which has no store at hand) can drop
 * its reference without the store's lock; it is only raised under text_mu
 * while the store's own reference keeps the generation alive. */
struct sq_text_gen {
	text_ctx *ctx;
	atomic_int refs;
};

void sq_text_gen_put(sq_text_gen *g)
{
	if (g && atomic_fetch_sub(&g->refs, 1) == 1) {
		text_ctx_free(g->ctx);
		free(g);
	}
}

text_ctx *sq_text_gen_ctx(sq_text_gen *g)
{
	return g ? g->ctx : NULL;
}

sq_text_gen *sq_text_gen_get(ks_store *s)
{
	pthread_mutex_lock(&s->text_mu);
	sq_text_gen *g = s->text_gen;
	if (g)
		atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&s->text_mu);
	return g;
}

ks_err sq_text_switch(ks_store *s, text_ctx *ctx, ks_error *e)
{
	sq_text_gen *g = malloc(sizeof *g);
	if (g == NULL) {
		text_ctx_free(ctx);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	g->ctx = ctx;
	atomic_init(&g->refs, 1);
	pthread_mutex_lock(&s->text_mu);
	sq_text_gen *old = s->text_gen;
	s->text_gen = g;
	pthread_mutex_unlock(&s->text_mu);
	sq_text_gen_put(old);
	return KS_OK;
}

/* The shipped default taxonomy (src/text/taxonomy_default.c). */
extern const char text_taxonomy_default[];

ks_err sq_text_ctx_load(sq_conn *c, text_ctx **out, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT taxonomy, model FROM text_config WHERE id = 1", &st, e);
	if (err)
		return err;
	text_ctx *ctx = NULL;
	text_model *m = NULL;
	int rc = db_step(st);
	if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	const char *tax = rc == DB_ROW ? (const char *)db_column_text(st, 0) : NULL;
	if (!err)
		err = text_ctx_new(&ctx, tax, e);
	if (!err && rc == DB_ROW && db_column_type(st, 1) == DB_BLOB)
		err = text_model_load(db_column_blob(st, 1), (size_t)db_column_bytes(st, 1), &m, e);
	db_finalize(st);
	if (err) {
		text_ctx_free(ctx);
		return err;
	}
	text_ctx_set_model(ctx, m);
	*out = ctx;
	return KS_OK;
}

void sq_text_open(ks_store *s)
{
	pthread_mutex_init(&s->text_mu, NULL);
	pthread_mutex_init(&s->text_cfg_mu, NULL);
	pthread_mutex_init(&s->text_train_mu, NULL);
	pthread_mutex_init(&s->job_mu, NULL);
	pthread_cond_init(&s->job_cv, NULL);
	s->text_inited = true;
	ks_error e;
	ks_error_clear(&e);
	text_ctx *ctx = NULL;
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_text_ctx_load(c, &ctx, &e);
	sq_release(s, c);
	if (err && e.field[0]) {
		/* The stored taxonomy or model no longer loads (a newer
		 * binary's rules): the default keeps answers analysed. */
		fprintf(stderr, "klantstem: stored text configuration not used: %s\n", e.message);
		ks_error_clear(&e);
		err = text_ctx_new(&ctx, NULL, &e);
	}
	if (!err && sq_text_switch(s, ctx, &e) == KS_OK)
		return;
	/* Without the language data the product still takes answers. */
	fprintf(stderr, "klantstem: text analysis off: %s\n", e.message);
}

void sq_text_close(ks_store *s)
{
	if (!s->text_inited)
		return;
	sq_text_jobs_stop(s);
	sq_text_gen_put(s->text_gen);
	s->text_gen = NULL;
	pthread_mutex_destroy(&s->text_mu);
	pthread_mutex_destroy(&s->text_cfg_mu);
	pthread_mutex_destroy(&s->text_train_mu);
	pthread_mutex_destroy(&s->job_mu);
	pthread_cond_destroy(&s->job_cv);
	s->text_inited = false;
}

void sq_text_conn_free(sq_conn *c)
{
	text_worker_free(c->text_w);
	c->text_w = NULL;
	sq_text_gen_put(c->text_wgen);
	c->text_wgen = NULL;
}

/* c's worker for the current generation: made on first use and remade
 * after a switch (the old one's reference goes, freeing the old context
 * with its last worker); NULL when analysis is off. */
text_worker *sq_text_worker(ks_store *s, sq_conn *c, ks_error *e)
{
	pthread_mutex_lock(&s->text_mu);
	sq_text_gen *g = s->text_gen;
	bool stale = c->text_wgen != g;
	if (stale && g)
		atomic_fetch_add(&g->refs, 1);
	pthread_mutex_unlock(&s->text_mu);
	if (!stale)
		return c->text_w;
	sq_text_conn_free(c);
	if (g == NULL)
		return NULL;
	if (text_worker_new(g->ctx, &c->text_w, e) != KS_OK) {
		c->text_w = NULL;
		sq_text_gen_put(g);
		return NULL;
	}
	c->text_wgen = g;
	return c->text_w;
}

/* Is analysis on (language data found)? */
bool sq_text_on(ks_store *s)
{
	pthread_mutex_lock(&s->text_mu);
	bool on = s->text_gen != NULL;
	pthread_mutex_unlock(&s->text_mu);
	return on;
}

static text_lang sq_text_prior(const char *language)
{
	if (language && strcmp(language, "nl") == 0)
		return TEXT_LANG_NL;
	if (language && strcmp(language, "en") == 0)
		return TEXT_LANG_EN;
	return TEXT_LANG_AUTO;
}

/* Write r's rows (replacing any) on c, inside the caller's transaction. */
static ks_err sq_text_rows(sq_conn *c, int64_t id, const text_result *r, int64_t now, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, "DELETE FROM text_analysis WHERE response_id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	if ((err = sq_cstep(c, st, e)))
		return err;
	if ((err = sq_cprep(c, "INSERT INTO text_analysis(response_id, language, label, score, analyzed_at)"
			       " VALUES(?1, ?2, ?3, ?4, ?5)", &st, e)))
		return err;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, text_lang_name(r->lang), -1, DB_STATIC);
	db_bind_text(st, 3, text_label_name(r->label), -1, DB_STATIC);
	db_bind_double(st, 4, r->score);
	db_bind_int64(st, 5, now);
	if ((err = sq_cstep(c, st, e)))
		return err;
	for (int i = 0; i < r->n_themes && !err; i++) {
		const text_theme_hit *h = &r->themes[i];
		if ((err = sq_cprep(c, "INSERT INTO text_themes(response_id, theme, subtheme, label, score,"
				       " mentions) VALUES(?1, ?2, ?3, ?4, ?5, ?6)", &st, e)))
			return err;
		db_bind_int64(st, 1, id);
		db_bind_text(st, 2, h->theme, -1, DB_STATIC);
		db_bind_text(st, 3, h->subtheme ? h->subtheme : "", -1, DB_STATIC);
		db_bind_text(st, 4, text_label_name(h->label), -1, DB_STATIC);
		db_bind_double(st, 5, h->score);
		db_bind_int(st, 6, h->mentions);
		err = sq_cstep(c, st, e);
	}
	return err;
}

/* ---- the rows the analytics index keeps (store_set_text_hook) ---- */

void store_set_text_hook(ks_store *s, store_text_fn fn, void *arg)
{
	s->text_hook = fn;
	s->text_arg = arg;
}

void sq_text_buf_free(sq_text_buf *b)
{
	free(b->rows);
	memset(b, 0, sizeof *b);
}

/* The next free row of b, zeroed; NULL when out of memory (the hook then
 * misses it: logged). */
static store_text_row *sq_text_buf_next(sq_text_buf *b)
{
	if (b->n == b->cap) {
		int cap = b->cap ? b->cap * 2 : 16;
		store_text_row *p = realloc(b->rows, (size_t)cap * sizeof *p);
		if (p == NULL) {
			fprintf(stderr, "klantstem: text hook: out of memory, a row is lost\n");
			return NULL;
		}
		b->rows = p;
		b->cap = cap;
	}
	store_text_row *row = &b->rows[b->n++];
	memset(row, 0, sizeof *row);
	return row;
}

void sq_text_buf_gone(ks_store *s, sq_text_buf *b, int64_t response_id)
{
	store_text_row *row = s->text_hook && b ? sq_text_buf_next(b) : NULL;
	if (row) {
		row->response_id = response_id;
		row->label = -1;
	}
}

void sq_text_notify(ks_store *s, sq_text_buf *b)
{
	if (s->text_hook && b->n)
		s->text_hook(s->text_arg, b->rows, b->n);
	b->n = 0;
}

static int sq_text_label_of(const char *name)
{
	if (strcmp(name, "negative") == 0)
		return TEXT_NEGATIVE;
	if (strcmp(name, "positive") == 0)
		return TEXT_POSITIVE;
	return TEXT_NEUTRAL;
}

/* Collapsing sub-theme hits into top-level themes: the sum and count of
 * their scores per theme, turned into labels by sq_text_row_close. */
typedef struct sq_theme_acc {
	double sum[STORE_TEXT_MAX_THEMES];
	int n[STORE_TEXT_MAX_THEMES];
} sq_theme_acc;

static void sq_text_row_theme(store_text_row *row, sq_theme_acc *acc, const char *theme, double score)
{
	int i = 0;
	while (i < row->n_themes && strcmp(row->themes[i], theme) != 0)
		i++;
	if (i == row->n_themes) {
		if (row->n_themes == STORE_TEXT_MAX_THEMES)
			return;
		snprintf(row->themes[i], sizeof row->themes[i], "%s", theme);
		row->n_themes++;
		acc->sum[i] = 0;
		acc->n[i] = 0;
	}
	acc->sum[i] += score;
	acc->n[i]++;
}

static void sq_text_row_close(store_text_row *row, const sq_theme_acc *acc)
{
	for (int i = 0; i < row->n_themes; i++) {
		double m = acc->n[i] ? acc->sum[i] / acc->n[i] : 0;
		row->theme_labels[i] = m >= 0.1 ? TEXT_POSITIVE : m <= -0.1 ? TEXT_NEGATIVE : TEXT_NEUTRAL;
	}
}

static void sq_text_buf_result(ks_store *s, sq_text_buf *b, int64_t id, const text_result *r)
{
	store_text_row *row = s->text_hook && b ? sq_text_buf_next(b) : NULL;
	if (row == NULL)
		return;
	row->response_id = id;
	row->label = (int)r->label;
	sq_theme_acc acc;
	for (int i = 0; i < r->n_themes; i++)
		sq_text_row_theme(row, &acc, r->themes[i].theme, r->themes[i].score);
	sq_text_row_close(row, &acc);
}

ks_err sq_text_remove(ks_store *s, sq_conn *c, const char *ids_sql, int64_t arg, sq_text_buf *b,
		      ks_error *e)
{
	ks_buf sql;
	buf_init(&sql, 1 << 16);
	if (buf_printf(&sql, "DELETE FROM text_analysis WHERE response_id IN (%s) RETURNING response_id", ids_sql)) {
		buf_free(&sql);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	db_stmt *st;
	ks_err err = sq_cprep(c, sql.data, &st, e);
	buf_free(&sql);
	if (err)
		return err;
	db_bind_int64(st, 1, arg);
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		sq_text_buf_gone(s, b, db_column_int64(st, 0));
	if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

#define SQ_TEXT_SCAN_CHUNK 512

ks_err store_scan_text(ks_store *s, int64_t after_id, store_text_fn fn, void *arg, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT a.response_id, a.label, t.theme, t.score FROM text_analysis a"
			      " LEFT JOIN text_themes t ON t.response_id = a.response_id"
			      " WHERE a.response_id > ?1 ORDER BY a.response_id, t.rowid", &st, e);
	if (err) {
		sq_release(s, c);
		return err;
	}
	db_bind_int64(st, 1, after_id);
	store_text_row *rows = malloc(SQ_TEXT_SCAN_CHUNK * sizeof *rows);
	if (rows == NULL) {
		db_finalize(st);
		sq_release(s, c);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	int n = 0, rc;
	sq_theme_acc acc;
	store_text_row *row = NULL;
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t id = db_column_int64(st, 0);
		if (row == NULL || row->response_id != id) {
			if (row)
				sq_text_row_close(row, &acc);
			if (n == SQ_TEXT_SCAN_CHUNK) {
				fn(arg, rows, n);
				n = 0;
			}
			row = &rows[n++];
			memset(row, 0, sizeof *row);
			row->response_id = id;
			row->label = sq_text_label_of(sq_ctext(st, 1));
		}
		if (db_column_type(st, 2) != DB_NULL)
			sq_text_row_theme(row, &acc, sq_ctext(st, 2), db_column_double(st, 3));
	}
	if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	else if (row) {
		sq_text_row_close(row, &acc);
		fn(arg, rows, n);
	}
	db_finalize(st);
	sq_release(s, c);
	free(rows);
	return err;
}

/* issue 18 (NODES): one response's row as store_scan_text gives it, for the
 * follower of another node's changes (pg_follow.c) */
ks_err sq_text_row_read(sq_conn *c, int64_t id, store_text_row *row, ks_error *e)
{
	memset(row, 0, sizeof *row);
	row->response_id = id;
	row->label = -1;
	db_stmt *st;
	int rc = db_prepare(c->db, "SELECT a.label, t.theme, t.score FROM text_analysis a"
				       " LEFT JOIN text_themes t ON t.response_id = a.response_id"
				       " WHERE a.response_id = ?1 ORDER BY t.rowid", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_int64(st, 1, id);
	sq_theme_acc acc;
	while ((rc = db_step(st)) == DB_ROW) {
		if (row->label < 0)
			row->label = sq_text_label_of(sq_ctext(st, 0));
		if (db_column_type(st, 1) != DB_NULL)
			sq_text_row_theme(row, &acc, sq_ctext(st, 1), db_column_double(st, 2));
	}
	if (row->label >= 0)
		sq_text_row_close(row, &acc);
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}
/* end issue 18 (NODES) */

/* Analyse text with w and write the rows inside a savepoint of its own, so
 * a failure leaves the enclosing transaction (and the response) intact.
 * The index's row goes to b when it is written. */
ks_err sq_text_analyse_into(ks_store *s, sq_conn *c, text_worker *w, int64_t id, const char *text,
			    const char *language, int64_t now, sq_text_buf *b, ks_error *e)
{
	text_result r;
	memset(&r, 0, sizeof r);
	ks_err err = text_analyze(w, text, strlen(text), sq_text_prior(language), false, &r, e);
	if (err)
		return err;
	if ((err = sq_exec(c, "SAVEPOINT text_analysis", e)) == KS_OK) {
		err = sq_text_rows(c, id, &r, now, e);
		if (err)
			db_exec(c->db, "ROLLBACK TO text_analysis");
		db_exec(c->db, "RELEASE text_analysis");
		if (!err)
			sq_text_buf_result(s, b, id, &r);
	}
	text_result_free(&r);
	return err;
}

void sq_text_for_response(ks_store *s, sq_conn *c, const model_response *r, sq_text_buf *b)
{
	if (r->open_text == NULL || r->open_text[0] == '\0')
		return;
	ks_error e;
	ks_error_clear(&e);
	text_worker *w = sq_text_worker(s, c, &e);
	if (w == NULL && e.message[0] == '\0')
		return; /* analysis is off */
	if (w == NULL || sq_text_analyse_into(s, c, w, r->id, r->open_text, r->language, clock_now(s->clock), b, &e))
		fprintf(stderr, "klantstem: response %lld stored without text analysis: %s\n",
			(long long)r->id, e.message);
}

json_t *sq_text_json(sq_conn *c, int64_t id)
{
	db_stmt *st;
	if (sq_cprep(c, "SELECT language, label, score FROM text_analysis WHERE response_id = ?1", &st, NULL))
		return json_null();
	db_bind_int64(st, 1, id);
	json_t *out = json_null();
	if (db_step(st) == DB_ROW)
		out = json_pack("{s:s, s:{s:s, s:f}, s:[]}", "language", sq_ctext(st, 0), "sentiment",
				"label", sq_ctext(st, 1), "score", db_column_double(st, 2), "themes");
	db_finalize(st);
	if (out == NULL || json_is_null(out))
		return out ? out : json_null();
	if (sq_cprep(c, "SELECT theme, subtheme, label FROM text_themes WHERE response_id = ?1 ORDER BY rowid",
		     &st, NULL))
		return out;
	db_bind_int64(st, 1, id);
	json_t *themes = json_object_get(out, "themes");
	while (db_step(st) == DB_ROW)
		json_array_append_new(themes, json_pack("{s:s, s:s, s:s}", "theme", sq_ctext(st, 0), "subtheme",
							 sq_ctext(st, 1), "sentiment", sq_ctext(st, 2)));
	db_finalize(st);
	return out;
}

ks_err store_text_theme_in_use(ks_store *s, const char *theme, bool *used, ks_error *e)
{
	*used = false;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT 1 FROM text_themes WHERE theme = ?1 LIMIT 1", &st, e);
	if (!err) {
		db_bind_text(st, 1, theme, -1, DB_STATIC);
		int rc = db_step(st);
		*used = rc == DB_ROW;
		if (rc != DB_ROW && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}
