/* sqlite_text_config.c — the organisation's text configuration (issue 14):
 * its taxonomy, its trained model and the settings of the scheduled
 * training (migration 018), and the one-off analysis of POST /text/analyze.
 *
 * A change is one transaction: the text_config row, the start of the
 * reanalysis job and the audit entry. The new context is built inside that
 * transaction from the row as it will be committed (sq_text_ctx_load on
 * the same connection), so a taxonomy that does not build is refused with
 * its JSON path and nothing changes; after COMMIT the store switches to
 * it. Changes are serialised by text_cfg_mu, so contexts are installed in
 * commit order.
 */
#include "store/sqlite_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "text/text.h"

extern const char text_taxonomy_default[];

/* Examples of the 5-fold evaluation (the latest; the model itself learns
 * from up to STORE_TEXT_TRAIN_MAX). Measured on a release build, one core:
 * training on 50,000 answers 5 s, evaluating 10,000 2 s, 50,000 23 s. */
#define SQ_EVAL_MAX 10000

/* The id length the analytics index keeps (store_text_row.themes). */
#define SQ_THEME_ID_MAX ((int)sizeof(((store_text_row *)0)->themes[0]) - 1)

static double sq_round3(double x)
{
	return round(x * 1000.0) / 1000.0;
}

/* ---- POST /text/analyze ---- */

static json_t *sq_result_json(const text_result *r)
{
	json_t *themes = json_array();
	for (int i = 0; themes && i < r->n_themes; i++) {
		const text_theme_hit *h = &r->themes[i];
		json_array_append_new(themes, json_pack("{s:s, s:s, s:s, s:f, s:i}", "theme", h->theme, "subtheme",
							 h->subtheme ? h->subtheme : "", "sentiment",
							 text_label_name(h->label), "score", sq_round3(h->score),
							 "mentions", h->mentions));
	}
	return json_pack("{s:s, s:s, s:{s:s, s:f}, s:b, s:o}", "language", text_lang_name(r->lang), "language_source",
			 text_lang_source_name(r->lang_source), "sentiment", "label", text_label_name(r->label),
			 "score", sq_round3(r->score), "from_model", r->from_model, "themes", themes);
}

ks_err store_text_analyze(ks_store *s, const char *text, size_t len, const char *lang, json_t **out,
			  ks_error *e)
{
	text_lang l = TEXT_LANG_AUTO;
	if (lang && strcmp(lang, "nl") == 0)
		l = TEXT_LANG_NL;
	else if (lang && strcmp(lang, "en") == 0)
		l = TEXT_LANG_EN;
	ks_error local;
	if (e == NULL)
		e = &local;
	sq_conn *c = sq_acquire(s);
	ks_error_clear(e);
	text_worker *w = sq_text_worker(s, c, e);
	ks_err err = KS_OK;
	if (w == NULL)
		err = e->message[0] ? e->code : ks_fail(e, KS_ERR_UNAVAILABLE, NULL,
							"text analysis is off (no language data)");
	text_result r;
	memset(&r, 0, sizeof r);
	if (!err)
		err = text_analyze(w, text, len, l, l != TEXT_LANG_AUTO, &r, e);
	if (!err && (*out = sq_result_json(&r)) == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	text_result_free(&r);
	sq_release(s, c); /* after the JSON: theme ids point into the worker's context */
	return err;
}

/* ---- one change: row, context, job, audit, switch ---- */

typedef ks_err (*sq_cfg_write_fn)(sq_conn *c, void *arg, int64_t now, ks_error *e);

static ks_err sq_cfg_change(ks_store *s, sq_cfg_write_fn write, void *arg, const char *reason,
			    const store_audit_entry *audit, ks_error *e)
{
	pthread_mutex_lock(&s->text_cfg_mu);
	sq_conn *c = sq_acquire(s);
	text_ctx *ctx = NULL;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = write(c, arg, clock_now(s->clock), e);
	if (!err)
		err = sq_text_ctx_load(c, &ctx, e);
	if (!err)
		err = sq_text_job_begin(s, c, reason, e);
	if (!err && audit)
		err = sq_audit_insert(s, c, audit, e);
	if (err) {
		db_exec(c->db, "ROLLBACK");
		text_ctx_free(ctx);
		sq_release(s, c);
		pthread_mutex_unlock(&s->text_cfg_mu);
		return err;
	}
	/* Switch while this transaction still holds the write lock: no writer
	 * batch can commit in between, so every answer after the job's upto
	 * (max id at this commit) is analysed with the new context. A writer
	 * batch that began before us committed before our BEGIN IMMEDIATE got
	 * the lock, so its answers are at most upto and the job redoes them. */
	err = sq_text_switch(s, ctx, e);  /* takes ctx, also on failure */
	if (!err && (err = sq_exec(c, "COMMIT", e)) != KS_OK) {
		/* not stored: back to the configuration that is */
		db_exec(c->db, "ROLLBACK");
		text_ctx *back = NULL;
		ks_error ignore;
		if (sq_text_ctx_load(c, &back, &ignore) == KS_OK)
			sq_text_switch(s, back, &ignore);
	} else if (err) {
		db_exec(c->db, "ROLLBACK");
	}
	sq_release(s, c);
	pthread_mutex_unlock(&s->text_cfg_mu);
	if (!err)
		sq_text_job_wake(s);
	return err;
}

/* ---- the taxonomy ---- */

ks_err store_text_taxonomy_get(ks_store *s, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT taxonomy, taxonomy_version, coalesce(taxonomy_updated_at, 0)"
			      " FROM text_config WHERE id = 1", &st, e);
	if (!err) {
		int rc = db_step(st);
		if (rc == DB_ROW) {
			bool def = db_column_type(st, 0) == DB_NULL;
			json_t *tax = json_loads(def ? text_taxonomy_default : sq_ctext(st, 0),
						 JSON_DECODE_ANY, NULL);
			*out = json_pack("{s:b, s:I, s:o, s:o}", "default", def, "version",
					 (json_int_t)db_column_int64(st, 1), "updated_at",
					 sq_iso_or_null(db_column_int64(st, 2)), "taxonomy",
					 tax ? tax : json_null());
			if (*out == NULL)
				err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		} else {
			err = rc == DB_DONE ? ks_fail(e, KS_ERR_INTERNAL, NULL, "no text configuration row")
						: sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

/* Themes the analytics index can keep: at most SQ_THEMES_MAX of them (it
 * keeps an answer's themes as a 64-bit set, src/analytics/text.c), each id
 * short enough to keep whole (the taxonomy itself allows 64 characters). */
#define SQ_THEMES_MAX 64
static ks_err sq_tax_ids_fit(const json_t *tax, ks_error *e)
{
	size_t i;
	json_t *th;
	json_t *themes = json_object_get(tax, "themes");
	if (json_array_size(themes) > SQ_THEMES_MAX)
		return ks_fail(e, KS_ERR_INVALID, "themes", "taxonomy: themes: at most %d themes", SQ_THEMES_MAX);
	json_array_foreach(themes, i, th) {
		json_t *id = json_object_get(th, "id");
		if (json_is_string(id) && json_string_length(id) > (size_t)SQ_THEME_ID_MAX) {
			char p[48];
			snprintf(p, sizeof p, "themes[%zu].id", i);
			return ks_fail(e, KS_ERR_INVALID, p, "taxonomy: %s: at most %d characters", p,
				       SQ_THEME_ID_MAX);
		}
	}
	return KS_OK;
}

static ks_err sq_tax_write(sq_conn *c, void *arg, int64_t now, ks_error *e)
{
	const char *text = arg;
	db_stmt *st;
	ks_err err = sq_cprep(c, "UPDATE text_config SET taxonomy = ?1, taxonomy_version = taxonomy_version + 1,"
			      " taxonomy_updated_at = ?2 WHERE id = 1", &st, e);
	if (err)
		return err;
	if (text)
		db_bind_text(st, 1, text, -1, DB_STATIC);
	db_bind_int64(st, 2, now);
	return sq_cstep(c, st, e);
}

ks_err store_text_taxonomy_put(ks_store *s, const json_t *taxonomy, const store_audit_entry *a,
			       json_t **out, ks_error *e)
{
	if (!sq_text_on(s))
		return ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "text analysis is off (no language data)");
	char *text = NULL;
	if (taxonomy) {
		ks_err err = json_is_object(taxonomy) ? sq_tax_ids_fit(taxonomy, e)
						      : ks_fail(e, KS_ERR_INVALID, "taxonomy",
								"taxonomy: must be an object {\"version\": 1, \"themes\": [...]}");
		if (err)
			return err;
		if ((text = json_dumps(taxonomy, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) == NULL)
			return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	ks_err err = sq_cfg_change(s, sq_tax_write, text, "taxonomy", a, e);
	free(text);
	return err ? err : store_text_taxonomy_get(s, out, e);
}

/* A field of the add-theme body as the taxonomy names it
 * ("themes[N].subthemes[0].terms.nl[1]") becomes the body's ("terms.nl[1]"). */
static void sq_theme_field(ks_error *e)
{
	const char *f = e->field;
	if (strncmp(f, "themes[", 7) != 0)
		return;
	const char *p = strchr(f, ']');
	if (p == NULL || p[1] != '.')
		return;
	p += 2;
	if (strncmp(p, "subthemes[0].", 13) == 0)
		p += 13;
	char tmp[sizeof e->field];
	snprintf(tmp, sizeof tmp, "%s", p);
	snprintf(e->field, sizeof e->field, "%s", tmp);
}

static ks_err sq_theme_body(const json_t *theme, ks_error *e)
{
	if (!json_is_object(theme))
		return ks_fail(e, KS_ERR_BADJSON, NULL, "the body must be a JSON object");
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)theme, k, v) {
		if (strcmp(k, "id") && strcmp(k, "label") && strcmp(k, "terms"))
			return ks_fail(e, KS_ERR_INVALID, k, "unknown field %s", k);
	}
	json_t *id = json_object_get(theme, "id");
	if (!json_is_string(id) || json_string_length(id) == 0 || json_string_length(id) > (size_t)SQ_THEME_ID_MAX)
		return ks_fail(e, KS_ERR_INVALID, "id", "id must be an id of a-z, 0-9 and _ (1 to %d characters)",
			       SQ_THEME_ID_MAX);
	if (json_object_get(theme, "label") == NULL)
		return ks_fail(e, KS_ERR_INVALID, "label", "label is required: {\"nl\": ..., \"en\": ...}");
	if (json_object_get(theme, "terms") == NULL)
		return ks_fail(e, KS_ERR_INVALID, "terms", "terms is required: {\"nl\": [...], \"en\": [...]}");
	return KS_OK;
}

ks_err store_text_theme_add(ks_store *s, const json_t *theme, const store_audit_entry *a, json_t **out,
			    ks_error *e)
{
	ks_err err = sq_theme_body(theme, e);
	if (err)
		return err;
	json_t *cur = NULL;
	/* Read and write under the change lock, so two adds do not lose one. */
	pthread_mutex_lock(&s->text_cfg_mu);
	err = store_text_taxonomy_get(s, &cur, e);
	json_t *tax = err ? NULL : json_object_get(cur, "taxonomy");
	json_t *themes = json_object_get(tax, "themes");
	const char *id = json_string_value(json_object_get(theme, "id"));
	size_t i;
	json_t *th;
	json_array_foreach(themes, i, th) {
		const char *tid = json_string_value(json_object_get(th, "id"));
		if (!err && tid && strcmp(tid, id) == 0)
			err = ks_fail(e, KS_ERR_CONFLICT, "id", "a theme with id %s exists", id);
	}
	if (!err) {
		json_t *label = json_object_get(theme, "label");
		json_array_append_new(themes,
				      json_pack("{s:s, s:O, s:[{s:s, s:O, s:O}]}", "id", id, "label", label, "subthemes",
						"id", id, "label", label, "terms", json_object_get(theme, "terms")));
	}
	pthread_mutex_unlock(&s->text_cfg_mu);
	/* Validation and the write: the same path as a PUT. The lock is not
	 * held across it (the change takes it), so a PUT in between wins
	 * over this add's base; an add is rare and the admin sees the result. */
	if (!err) {
		err = store_text_taxonomy_put(s, tax, a, out, e);
		if (err)
			sq_theme_field(e);
	}
	json_decref(cur);
	return err;
}

/* ---- the model ---- */

typedef struct sq_model_row {
	bool active;
	int64_t trained_at, n_examples;
	char *evaluation;        /* JSON text or NULL (malloc'd) */
	int retrain_days, min_examples;
} sq_model_row;

static ks_err sq_model_row_read(sq_conn *c, sq_model_row *m, ks_error *e)
{
	memset(m, 0, sizeof *m);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT model IS NOT NULL, coalesce(model_trained_at, 0),"
			      " coalesce(model_n_examples, 0), model_evaluation, retrain_days, min_examples"
			      " FROM text_config WHERE id = 1", &st, e);
	if (err)
		return err;
	int rc = db_step(st);
	if (rc == DB_ROW) {
		m->active = db_column_int(st, 0) != 0;
		m->trained_at = db_column_int64(st, 1);
		m->n_examples = db_column_int64(st, 2);
		if (db_column_type(st, 3) != DB_NULL && (m->evaluation = strdup(sq_ctext(st, 3))) == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		m->retrain_days = db_column_int(st, 4);
		m->min_examples = db_column_int(st, 5);
	} else {
		err = rc == DB_DONE ? ks_fail(e, KS_ERR_INTERNAL, NULL, "no text configuration row")
					: sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

/* {"nl":{"negative":[{"feature","weight"}x10],...},"en":{...}} */
static json_t *sq_model_top(const text_model *m)
{
	static const text_lang langs[2] = {TEXT_LANG_NL, TEXT_LANG_EN};
	json_t *top = json_object();
	for (int li = 0; top && li < 2; li++) {
		json_t *byl = json_object();
		for (int cl = 0; byl && cl < TEXT_N_LABELS; cl++) {
			const char *names[10];
			double weights[10];
			int k = text_model_top(m, (text_label)cl, langs[li], 10, names, weights);
			json_t *arr = json_array();
			for (int i = 0; arr && i < k; i++)
				json_array_append_new(arr, json_pack("{s:s, s:f}", "feature", names[i], "weight",
								     sq_round3(weights[i])));
			json_object_set_new(byl, text_label_name((text_label)cl), arr ? arr : json_null());
		}
		json_object_set_new(top, text_lang_name(langs[li]), byl ? byl : json_null());
	}
	return top ? top : json_null();
}

static json_t *sq_model_json(const sq_model_row *r, const text_model *m)
{
	json_t *ev = r->evaluation ? json_loads(r->evaluation, 0, NULL) : NULL;
	bool active = r->active && m != NULL;
	return json_pack("{s:b, s:o, s:I, s:i, s:I, s:o, s:o, s:i, s:i}", "active", active, "trained_at",
			 sq_iso_or_null(active ? r->trained_at : 0), "n_examples",
			 (json_int_t)(active ? r->n_examples : 0), "n_features", active ? text_model_n_features(m) : 0,
			 "bytes", (json_int_t)(active ? text_model_bytes(m) : 0), "evaluation",
			 active && ev ? ev : (json_decref(ev), json_null()), "top", active ? sq_model_top(m) : json_null(),
			 "retrain_days", r->retrain_days, "min_examples", r->min_examples);
}

ks_err store_text_model_get(ks_store *s, json_t **out, ks_error *e)
{
	/* Under the change lock: the row and the context in use agree. */
	pthread_mutex_lock(&s->text_cfg_mu);
	sq_conn *c = sq_acquire(s);
	sq_model_row r;
	ks_err err = sq_model_row_read(c, &r, e);
	sq_release(s, c);
	sq_text_gen *g = err ? NULL : sq_text_gen_get(s);
	if (!err && (*out = sq_model_json(&r, g ? text_ctx_model(sq_text_gen_ctx(g)) : NULL)) == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sq_text_gen_put(g);
	pthread_mutex_unlock(&s->text_cfg_mu);
	free(r.evaluation);
	return err;
}

/* The labelled examples: the latest answers with an NPS and an open text. */
typedef struct sq_examples {
	text_example *ex;
	char **texts;
	int n;
} sq_examples;

static void sq_examples_free(sq_examples *x)
{
	for (int i = 0; i < x->n; i++)
		free(x->texts[i]);
	free(x->texts);
	free(x->ex);
	memset(x, 0, sizeof *x);
}

static ks_err sq_examples_read(ks_store *s, sq_examples *x, ks_error *e)
{
	memset(x, 0, sizeof *x);
	x->ex = calloc(STORE_TEXT_TRAIN_MAX, sizeof *x->ex);
	x->texts = calloc(STORE_TEXT_TRAIN_MAX, sizeof *x->texts);
	if (x->ex == NULL || x->texts == NULL) {
		sq_examples_free(x);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT open_text, nps, coalesce(language, '') FROM responses"
			      " WHERE nps IS NOT NULL AND open_text IS NOT NULL AND open_text <> ''"
			      " ORDER BY id DESC LIMIT ?1", &st, e);
	if (!err) {
		db_bind_int(st, 1, STORE_TEXT_TRAIN_MAX);
		int rc;
		while (!err && (rc = db_step(st)) == DB_ROW) {
			char *t = strdup(sq_ctext(st, 0));
			if (t == NULL) {
				err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
				break;
			}
			const char *lang = sq_ctext(st, 2);
			x->texts[x->n] = t;
			x->ex[x->n] = (text_example){
				.text = t, .len = strlen(t), .label = text_label_from_nps(db_column_int(st, 1)),
				.prior = strcmp(lang, "nl") == 0 ? TEXT_LANG_NL
					 : strcmp(lang, "en") == 0 ? TEXT_LANG_EN : TEXT_LANG_AUTO};
			x->n++;
		}
		if (!err && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	if (err)
		sq_examples_free(x);
	return err;
}

static int sq_min_examples(ks_store *s)
{
	sq_conn *c = sq_acquire(s);
	int64_t n = 200;
	sq_one_id(c, "SELECT min_examples FROM text_config WHERE id = ?1", 1, &n, NULL);
	sq_release(s, c);
	return (int)n;
}

/* Evaluate (5 folds) and train on x with a worker of the current context
 * (made here: training runs for seconds and must not hold a connection). */
static ks_err sq_train(ks_store *s, const sq_examples *x, int min_examples, text_model **m, text_eval *ev,
		       ks_error *e)
{
	sq_text_gen *g = sq_text_gen_get(s);
	if (g == NULL)
		return ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "text analysis is off (no language data)");
	text_worker *w = NULL;
	ks_err err = text_worker_new(sq_text_gen_ctx(g), &w, e);
	text_train_opts o;
	text_train_opts_default(&o);
	o.min_examples = min_examples;
	/* The evaluation on the latest SQ_EVAL_MAX only (x is newest first):
	 * 5 fits over 50,000 would take half a minute of a request. */
	if (!err)
		err = text_model_evaluate(w, x->ex, x->n < SQ_EVAL_MAX ? x->n : SQ_EVAL_MAX, 5, &o, ev, e);
	if (!err)
		err = text_model_train(w, x->ex, x->n, &o, m, e);
	text_worker_free(w);
	sq_text_gen_put(g);
	if (err == KS_ERR_RANGE) /* too few of a class: the examples' fault */
		snprintf(e->field, sizeof e->field, "examples");
	return err;
}

static char *sq_eval_text(const text_eval *ev)
{
	json_t *conf = json_array();
	for (int t = 0; conf && t < TEXT_N_LABELS; t++)
		json_array_append_new(conf, json_pack("[i, i, i]", ev->confusion[t][0], ev->confusion[t][1],
						      ev->confusion[t][2]));
	json_t *o = json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:o}", "folds", 5, "n", ev->n, "accuracy",
			      sq_round3(ev->accuracy), "macro_f1", sq_round3(ev->macro_f1), "lexicon_accuracy",
			      sq_round3(ev->n ? (double)ev->n_lexicon_correct / ev->n : 0), "lexicon_macro_f1",
			      sq_round3(ev->lexicon_macro_f1), "confusion", conf ? conf : json_null());
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return text;
}

typedef struct sq_model_write {
	const unsigned char *blob;   /* NULL: remove the model */
	size_t len;
	int n_examples;
	const char *evaluation;
} sq_model_write;

static ks_err sq_model_write_fn(sq_conn *c, void *arg, int64_t now, ks_error *e)
{
	const sq_model_write *m = arg;
	db_stmt *st;
	ks_err err = sq_cprep(c, "UPDATE text_config SET model = ?1, model_trained_at = ?2, model_n_examples = ?3,"
			      " model_evaluation = ?4 WHERE id = 1", &st, e);
	if (err)
		return err;
	if (m->blob) {
		db_bind_blob(st, 1, m->blob, (int)m->len, DB_STATIC);
		db_bind_int64(st, 2, now);
		db_bind_int(st, 3, m->n_examples);
		db_bind_text(st, 4, m->evaluation, -1, DB_STATIC);
	}
	return sq_cstep(c, st, e);
}

/* Train, keep and switch; audit a (NULL: none). */
static ks_err sq_model_train(ks_store *s, const store_audit_entry *a, ks_error *e)
{
	if (!sq_text_on(s))
		return ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "text analysis is off (no language data)");
	if (pthread_mutex_trylock(&s->text_train_mu) != 0)
		return ks_fail(e, KS_ERR_CONFLICT, NULL, "a training is running; try again when it is done");
	int min = sq_min_examples(s);
	sq_examples x;
	ks_err err = sq_examples_read(s, &x, e);
	if (!err && x.n < min)
		err = ks_fail(e, KS_ERR_RANGE, "examples",
			      "%d labelled answers (an NPS and an open text); at least %d are needed", x.n, min);
	text_model *m = NULL;
	text_eval ev;
	if (!err)
		err = sq_train(s, &x, min, &m, &ev, e);
	unsigned char *blob = NULL;
	size_t len = 0;
	char *evaluation = NULL;
	if (!err)
		err = text_model_save(m, &blob, &len, e);
	if (!err && (evaluation = sq_eval_text(&ev)) == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sq_model_write w = {.blob = blob, .len = len, .n_examples = x.n, .evaluation = evaluation};
	if (!err)
		err = sq_cfg_change(s, sq_model_write_fn, &w, "model", a, e);
	text_model_free(m);
	free(blob);
	free(evaluation);
	sq_examples_free(&x);
	pthread_mutex_unlock(&s->text_train_mu);
	return err;
}

ks_err store_text_model_train(ks_store *s, const store_audit_entry *a, json_t **out, ks_error *e)
{
	ks_err err = sq_model_train(s, a, e);
	return err ? err : store_text_model_get(s, out, e);
}

ks_err store_text_model_delete(ks_store *s, const store_audit_entry *a, json_t **out, ks_error *e)
{
	if (!sq_text_on(s))
		return ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "text analysis is off (no language data)");
	sq_model_write w = {0};
	ks_err err = sq_cfg_change(s, sq_model_write_fn, &w, "model", a, e);
	return err ? err : store_text_model_get(s, out, e);
}

ks_err store_text_model_settings(ks_store *s, int retrain_days, int min_examples,
				 const store_audit_entry *a, json_t **out, ks_error *e)
{
	if (retrain_days > 365)
		return ks_fail(e, KS_ERR_RANGE, "retrain_days", "retrain_days must be 0..365 (0 = never)");
	if (min_examples >= 0 && (min_examples < 30 || min_examples > 1000000))
		return ks_fail(e, KS_ERR_RANGE, "min_examples", "min_examples must be 30..1000000");
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_cprep(c, "UPDATE text_config SET retrain_days = coalesce(?1, retrain_days),"
			       " min_examples = coalesce(?2, min_examples) WHERE id = 1", &st, e);
	if (!err) {
		if (retrain_days >= 0)
			db_bind_int(st, 1, retrain_days);
		if (min_examples >= 0)
			db_bind_int(st, 2, min_examples);
		err = sq_cstep(c, st, e);
	}
	if (!err && a)
		err = sq_audit_insert(s, c, a, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err)
		db_exec(c->db, "ROLLBACK");
	sq_release(s, c);
	if (!err && s->text_inited) { /* a shorter period may make a training due: look at the next pass */
		pthread_mutex_lock(&s->job_mu);
		if (s->retrain_checked_at != 0)
			s->retrain_checked_at = 1;
		pthread_mutex_unlock(&s->job_mu);
	}
	return err ? err : store_text_model_get(s, out, e);
}

/* ---- the scheduled training ---- */

void sq_text_retrain_run(ks_store *s)
{
	ks_error e;
	ks_error_clear(&e);
	store_audit_entry a = {.action = "text.model_train", .object_kind = "text_model",
			       .detail = "{\"scheduled\":true}"};
	if (sq_model_train(s, &a, &e) == KS_OK)
		fprintf(stderr, "klantstem: text: the sentiment model was retrained (scheduled)\n");
	else
		fprintf(stderr, "klantstem: text: scheduled training not done: %s\n", e.message);
}

/* Is a training due at now? Reads the row and, only when it is, counts
 * the labelled answers up to min_examples (a bounded scan). */
static bool sq_retrain_due(ks_store *s, int64_t now)
{
	sq_conn *c = sq_acquire(s);
	sq_model_row r;
	bool due = false;
	if (sq_model_row_read(c, &r, NULL) == KS_OK && r.retrain_days > 0 &&
	    (!r.active || now - r.trained_at >= (int64_t)r.retrain_days * 86400)) {
		db_stmt *st;
		int64_t n = 0;
		if (sq_cprep(c, "SELECT count(*) FROM (SELECT 1 FROM responses WHERE nps IS NOT NULL AND"
			     " open_text IS NOT NULL AND open_text <> '' LIMIT ?1)", &st, NULL) == KS_OK) {
			db_bind_int(st, 1, r.min_examples);
			sq_cfirst(c, st, &n, NULL);
		}
		due = n >= r.min_examples;
	}
	free(r.evaluation);
	sq_release(s, c);
	return due;
}

void store_text_schedule(ks_store *s, int64_t now)
{
	if (!s->text_inited)
		return;
	pthread_mutex_lock(&s->job_mu);
	bool look = s->job_started && !s->job_retrain;
	/* The first look is an hour after start: a server started on an
	 * existing database does not begin with a training. */
	if (look && s->retrain_checked_at == 0)
		s->retrain_checked_at = now, look = false;
	else if (look && now - s->retrain_checked_at < 3600)
		look = false;
	if (look)
		s->retrain_checked_at = now;
	pthread_mutex_unlock(&s->job_mu);
	if (!look || !sq_text_on(s) || !sq_retrain_due(s, now))
		return;
	pthread_mutex_lock(&s->job_mu);
	s->job_retrain = true;
	pthread_cond_signal(&s->job_cv);
	pthread_mutex_unlock(&s->job_mu);
}
