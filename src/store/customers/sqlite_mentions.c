/* sqlite_mentions.c — unsolicited feedback (issue 16, part H1) on SQLite:
 * the upsert of a parsed batch, the list, one mention, its reply, the
 * mapping of locations to org units, and the summary measures. Schema:
 * migrations/020_mentions.sql; the record is src/mentions/mentions.h.
 *
 * A mention's text is analysed (language, sentiment, themes) with the
 * store's text context on write, as an open answer is (sqlite_text.c), into
 * mention_analysis / mention_themes; a failed analysis never fails the
 * write. Mentions never enter the analytics index: no survey figure counts
 * them, and no NPS is ever made of stars (docs/MENTIONS.md).
 */
#include "store/sqlite_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <sodium.h>

#include "core/clock.h"
#include "text/text.h"

/* ---- text analysis ------------------------------------------------------------ */

static text_lang sq_m_prior(const char *language)
{
	if (language && strcmp(language, "nl") == 0)
		return TEXT_LANG_NL;
	if (language && strcmp(language, "en") == 0)
		return TEXT_LANG_EN;
	return TEXT_LANG_AUTO;
}

/* The analysis' statements, prepared once per batch (an import of 50,000
 * reviews otherwise spends seconds preparing, under the write lock). */
typedef struct sq_m_astmts {
	db_stmt *del, *ins, *theme, *lang, *del_themes;
} sq_m_astmts;

static void sq_m_astmts_free(sq_m_astmts *a)
{
	db_finalize(a->del_themes);
	db_finalize(a->del);
	db_finalize(a->ins);
	db_finalize(a->theme);
	db_finalize(a->lang);
	memset(a, 0, sizeof *a);
}

/* *slot prepared on first use, else reset with its bindings cleared. */
static ks_err sq_m_stmt(sq_conn *c, db_stmt **slot, const char *sql, ks_error *e)
{
	if (*slot) {
		db_reset(*slot);
		db_clear_bindings(*slot);
		return KS_OK;
	}
	return sq_cprep(c, sql, slot, e);
}

/* Step a cached write statement to its end (reset, not finalized). */
static ks_err sq_m_run(sq_conn *c, db_stmt *st, ks_error *e)
{
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE || rc == DB_ROW ? KS_OK : sq_fail(c, rc, e);
}

static ks_err sq_m_analysis_rows(sq_conn *c, sq_m_astmts *a, int64_t id, const text_result *r, int64_t now,
				 ks_error *e)
{
	ks_err err = sq_m_stmt(c, &a->del, "DELETE FROM mention_analysis WHERE mention_id = ?1", e);
	if (err)
		return err;
	db_bind_int64(a->del, 1, id);
	if ((err = sq_m_run(c, a->del, e)))
		return err;
	if ((err = sq_m_stmt(c, &a->ins, "INSERT INTO mention_analysis(mention_id, language, label, score, analyzed_at)"
			     " VALUES(?1, ?2, ?3, ?4, ?5)", e)))
		return err;
	db_bind_int64(a->ins, 1, id);
	db_bind_text(a->ins, 2, text_lang_name(r->lang), -1, DB_STATIC);
	db_bind_text(a->ins, 3, text_label_name(r->label), -1, DB_STATIC);
	db_bind_double(a->ins, 4, r->score);
	db_bind_int64(a->ins, 5, now);
	if ((err = sq_m_run(c, a->ins, e)))
		return err;
	for (int i = 0; i < r->n_themes && !err; i++) {
		const text_theme_hit *h = &r->themes[i];
		if ((err = sq_m_stmt(c, &a->theme, "INSERT INTO mention_themes(mention_id, theme, subtheme, label, score,"
				     " mentions) VALUES(?1, ?2, ?3, ?4, ?5, ?6)", e)))
			return err;
		db_bind_int64(a->theme, 1, id);
		db_bind_text(a->theme, 2, h->theme, -1, DB_STATIC);
		db_bind_text(a->theme, 3, h->subtheme ? h->subtheme : "", -1, DB_STATIC);
		db_bind_text(a->theme, 4, text_label_name(h->label), -1, DB_STATIC);
		db_bind_double(a->theme, 5, h->score);
		db_bind_int(a->theme, 6, h->mentions);
		err = sq_m_run(c, a->theme, e);
	}
	return err;
}

/* The language the mention is stored with when the source gave none: what
 * the analysis found, when it found it in the text (not a default). */
static ks_err sq_m_set_language(sq_conn *c, sq_m_astmts *a, int64_t id, const text_result *r, ks_error *e)
{
	if (r->lang == TEXT_LANG_OTHER || r->lang_source == TEXT_LANG_FROM_DEFAULT ||
	    r->lang_source == TEXT_LANG_FROM_PRIOR)
		return KS_OK;
	ks_err err = sq_m_stmt(c, &a->lang, "UPDATE mentions SET language = ?2 WHERE id = ?1", e);
	if (err)
		return err;
	db_bind_int64(a->lang, 1, id);
	db_bind_text(a->lang, 2, text_lang_name(r->lang), -1, DB_STATIC);
	return sq_m_run(c, a->lang, e);
}

/* Title and text as one text: a title is often the verdict in a few words. */
static char *sq_m_text_of(const mention_in *m)
{
	size_t nt = m->title ? strlen(m->title) : 0, nx = m->text ? strlen(m->text) : 0;
	if (nt + nx == 0)
		return NULL;
	char *s = malloc(nt + nx + 3);
	if (s)
		snprintf(s, nt + nx + 3, "%s%s%s", nt ? m->title : "", nt && nx ? ".\n" : "", nx ? m->text : "");
	return s;
}

/* The analysis of one mention, computed before its write. */
typedef struct sq_m_result {
	bool tried;              /* analysed before the write (whatever came of it) */
	bool done;               /* r holds a result (to store, then free) */
	text_result r;
} sq_m_result;

/* Analyse title and text with w (NULL: analysis off). A failure is logged
 * and leaves res->done false: the mention is stored without analysis, as
 * an open answer would be. */
static void sq_m_analyse_text(text_worker *w, const mention_in *m, sq_m_result *res)
{
	memset(res, 0, sizeof *res);
	res->tried = true;
	char *text = w ? sq_m_text_of(m) : NULL;
	if (text == NULL)
		return;
	ks_error e;
	ks_error_clear(&e);
	if (text_analyze(w, text, strlen(text), sq_m_prior(m->language), false, &res->r, &e) == KS_OK)
		res->done = true;
	else
		fprintf(stderr, "klantstem: mention %s/%s stored without text analysis: %s\n", m->source ? m->source : "",
			m->source_id ? m->source_id : "", e.message);
	free(text);
}

static void sq_m_result_free(sq_m_result *res)
{
	if (res->done)
		text_result_free(&res->r);
	res->done = false;
}

/* The analysis rows of mention id go (its themes first: they hang on it). */
static ks_err sq_m_analysis_clear(sq_conn *c, sq_m_astmts *a, int64_t id, ks_error *e)
{
	ks_err err = sq_m_stmt(c, &a->del_themes, "DELETE FROM mention_themes WHERE mention_id = ?1", e);
	if (!err) {
		db_bind_int64(a->del_themes, 1, id);
		err = sq_m_run(c, a->del_themes, e);
	}
	if (!err)
		err = sq_m_stmt(c, &a->del, "DELETE FROM mention_analysis WHERE mention_id = ?1", e);
	if (!err) {
		db_bind_int64(a->del, 1, id);
		err = sq_m_run(c, a->del, e);
	}
	return err;
}

/* Write the analysis rows (and the detected language) in the caller's
 * transaction. Computing the analysis may fail (then there is nothing to
 * write: the mention is stored without one); writing it fails only with
 * the database, and then the whole batch does. replaced: the mention's text
 * was just written, so an analysis of the old text is stale and goes when
 * there is no new one (the text removed, or its analysis failed) — else a
 * summary's sentiment and a theme filter would still count what the
 * mention no longer says. The reanalysis passes false: the text is the
 * same, and its old analysis is better than none. */
static ks_err sq_m_store_analysis(sq_conn *c, sq_m_astmts *a, int64_t id, const mention_in *m,
				  const sq_m_result *res, bool replaced, int64_t now, ks_error *e)
{
	if (!res->done)
		return replaced ? sq_m_analysis_clear(c, a, id, e) : KS_OK;
	ks_err err = sq_m_analysis_rows(c, a, id, &res->r, now, e);
	if (!err && m->language == NULL)
		err = sq_m_set_language(c, a, id, &res->r, e);
	return err;
}

/* Both at once (the reanalysis, inside its batch's transaction). */
static ks_err sq_m_analyse(ks_store *s, sq_conn *c, sq_m_astmts *a, int64_t id, const mention_in *m,
			   bool replaced, int64_t now, ks_error *e)
{
	ks_error we;
	ks_error_clear(&we);
	sq_m_result res;
	sq_m_analyse_text(sq_text_worker(s, c, &we), m, &res);
	ks_err err = sq_m_store_analysis(c, a, id, m, &res, replaced, now, e);
	sq_m_result_free(&res);
	return err;
}

/* ---- after a reanalysis job (sqlite_text_job.c) ------------------------------------ */

typedef struct sq_m_stale {
	int64_t id;
	mention_in m;            /* title, text, language: owned copies */
} sq_m_stale;

static void sq_m_stale_free(sq_m_stale *a, int n)
{
	for (int i = 0; i < n; i++) {
		free(a[i].m.title);
		free(a[i].m.text);
		free(a[i].m.language);
	}
}

static char *sq_m_dup(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? NULL : strdup(sq_ctext(st, i));
}

/* Up to n mentions after `after` analysed before `since` (or never). */
static ks_err sq_m_stale_read(sq_conn *c, int64_t after, int64_t since, int n, sq_m_stale *a, int *got,
			      ks_error *e)
{
	db_stmt *st;
	*got = 0;
	ks_err err = sq_cprep(c, "SELECT m.id, m.title, m.text, m.language FROM mentions m LEFT JOIN mention_analysis a"
			      " ON a.mention_id = m.id WHERE m.id > ?1 AND (m.title IS NOT NULL OR m.text IS NOT NULL)"
			      " AND (a.mention_id IS NULL OR a.analyzed_at <= ?2) ORDER BY m.id LIMIT ?3", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, after);
	db_bind_int64(st, 2, since);
	db_bind_int(st, 3, n);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		sq_m_stale *x = &a[(*got)++];
		memset(x, 0, sizeof *x);
		x->id = db_column_int64(st, 0);
		x->m.title = sq_m_dup(st, 1);
		x->m.text = sq_m_dup(st, 2);
		x->m.language = sq_m_dup(st, 3);
	}
	if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

static bool sq_m_job_stopping(ks_store *s)
{
	pthread_mutex_lock(&s->job_mu);
	bool stop = s->job_stop;
	pthread_mutex_unlock(&s->job_mu);
	return stop;
}

ks_err sq_mentions_reanalyse(ks_store *s, int n, int64_t *done, ks_error *e)
{
	*done = 0;
	sq_conn *c = sq_acquire(s);
	int64_t since = 0, after = 0;
	db_stmt *st;
	/* only after a finished job: its start is what "stale" is measured by */
	ks_err err = sq_cprep(c, "SELECT started_at FROM text_reanalysis WHERE id = 1 AND finished_at IS NOT NULL",
			      &st, e);
	if (!err)
		err = sq_cfirst(c, st, &since, e); /* 0: no finished job, nothing is stale */
	if (err || since == 0 || !sq_text_on(s)) {
		sq_release(s, c);
		return err;
	}
	sq_m_stale *a = calloc((size_t)n, sizeof *a);
	if (a == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sq_m_astmts as = {0};
	int got = n;
	while (!err && got == n && !sq_m_job_stopping(s)) {
		err = sq_exec(c, "BEGIN IMMEDIATE", e);
		if (!err)
			err = sq_m_stale_read(c, after, since, n, a, &got, e);
		/* a mention whose analysis fails keeps its old rows and is
		 * passed over (after moves on): retried after the next job */
		for (int i = 0; !err && i < got; i++)
			err = sq_m_analyse(s, c, &as, a[i].id, &a[i].m, false, clock_now(s->clock), e);
		if (!err)
			err = sq_exec(c, "COMMIT", e);
		if (err)
			db_exec(c->db, "ROLLBACK");
		else
			*done += got;
		if (!err && got)
			after = a[got - 1].id;
		/* what was read is freed whatever came of the batch (the strings
		 * of a failed one too) */
		sq_m_stale_free(a, got);
	}
	sq_m_astmts_free(&as);
	free(a);
	sq_release(s, c);
	return err;
}

/* ---- the upsert ------------------------------------------------------------------- */

/* The record's content hash (BLAKE2b, 16 bytes) over every field the source
 * gives, each tagged as present or absent and length-prefixed, so that two
 * different records never serialise alike. A change that keeps updated_at
 * (a reply added later: Google's reviewReply, Trustpilot's companyReply,
 * Kiyoh's comment, an App Store response; an edit at a source without an
 * update time) changes the hash, and the row is written. */
enum { SQ_M_HASH = 16 };

static void sq_m_hash_str(crypto_generichash_state *h, const char *s)
{
	unsigned char tag = s != NULL;
	uint64_t n = s ? strlen(s) : 0;
	crypto_generichash_update(h, &tag, 1);
	crypto_generichash_update(h, (const unsigned char *)&n, sizeof n);
	if (n)
		crypto_generichash_update(h, (const unsigned char *)s, n);
}

static void sq_m_hash_num(crypto_generichash_state *h, const void *v, size_t n)
{
	crypto_generichash_update(h, v, n);
}

static void sq_m_hash(const mention_in *m, unsigned char out[SQ_M_HASH])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, SQ_M_HASH);
	const char *strs[] = {m->location, m->author, m->title, m->text, m->url, m->language,
			      m->customer_external_id, m->reply_text};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		sq_m_hash_str(&h, strs[i]);
	int64_t t[] = {m->created_at, m->updated_at, m->reply_text ? m->reply_at : 0};
	sq_m_hash_num(&h, t, sizeof t);
	unsigned char rated = m->has_rating;
	sq_m_hash_num(&h, &rated, 1);
	if (rated) {
		double r[] = {m->rating, m->scale_min, m->scale_max};
		sq_m_hash_num(&h, r, sizeof r);
	}
	crypto_generichash_final(&h, out, SQ_M_HASH);
}

typedef struct sq_m_stmts {
	db_stmt *find, *ins, *upd, *unit, *cust;
	sq_m_astmts a;           /* the analysis' */
} sq_m_stmts;

static void sq_m_stmts_free(sq_m_stmts *q)
{
	db_finalize(q->find);
	db_finalize(q->ins);
	db_finalize(q->upd);
	db_finalize(q->unit);
	db_finalize(q->cust);
	sq_m_astmts_free(&q->a);
}

/* Columns ?3..?20 are the same in the insert and the update. */
static ks_err sq_m_stmts_prep(sq_conn *c, sq_m_stmts *q, ks_error *e)
{
	memset(q, 0, sizeof *q);
	ks_err err = sq_cprep(c, "SELECT id, updated_at, content_hash FROM mentions WHERE source = ?1 AND source_id = ?2",
			      &q->find, e);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO mentions(source, source_id, location, unit_id, author, title, text, url,"
			       " created_at, updated_at, rating, scale_min, scale_max, rating10, language, customer_id,"
			       " reply_text, reply_at, received_at, customer_external_id, content_hash) VALUES(?1, ?2, ?3,"
			       " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
			       &q->ins, e);
	/* A reply the source does not carry (NULL) keeps the one recorded here,
	 * and so does a customer link: a feed's copy of a review that an
	 * import linked to a customer has no customer id of its own. A mention
	 * whose author was erased (erased_at, sqlite_gdpr.c) never gets the
	 * author's name or a customer link back from a later copy. */
	if (!err)
		err = sq_cprep(c,
			       "UPDATE mentions SET location = ?3, unit_id = ?4,"
			       " author = CASE WHEN erased_at IS NULL THEN ?5 END, title = ?6, text = ?7,"
			       " url = ?8, created_at = ?9, updated_at = ?10, rating = ?11, scale_min = ?12,"
			       " scale_max = ?13, rating10 = ?14, language = ?15,"
			       " customer_id = CASE WHEN erased_at IS NULL THEN coalesce(?16, customer_id) END,"
			       " reply_text = coalesce(?17, reply_text), reply_at = coalesce(?18, reply_at), received_at = ?19,"
			       " customer_external_id = CASE WHEN erased_at IS NULL THEN coalesce(?20, customer_external_id) END,"
			       " content_hash = ?21 WHERE source = ?1 AND source_id = ?2",
			       &q->upd, e);
	if (!err)
		err = sq_cprep(c, "SELECT unit_id FROM mention_locations WHERE location = ?1", &q->unit, e);
	if (!err)
		err = sq_cprep(c, "SELECT id FROM customers WHERE external_id = ?1 AND erased_at IS NULL", &q->cust, e);
	return err;
}

/* One id by one text key (0 when none or key NULL). */
static int64_t sq_m_lookup(db_stmt *st, const char *key)
{
	int64_t id = 0;
	if (key == NULL)
		return 0;
	db_reset(st);
	db_bind_text(st, 1, key, -1, DB_STATIC);
	if (db_step(st) == DB_ROW)
		id = db_column_int64(st, 0);
	db_reset(st);
	return id;
}

static void sq_m_bind_text(db_stmt *st, int i, const char *s)
{
	if (s)
		db_bind_text(st, i, s, -1, DB_STATIC);
	else
		db_bind_null(st, i);
}

static void sq_m_bind(db_stmt *st, const sq_m_stmts *q, const mention_in *m, const unsigned char *hash,
		      int64_t now)
{
	db_reset(st);
	db_clear_bindings(st);
	sq_m_bind_text(st, 1, m->source);
	sq_m_bind_text(st, 2, m->source_id);
	sq_m_bind_text(st, 3, m->location);
	sq_bind_id(st, 4, sq_m_lookup(q->unit, m->location));
	sq_m_bind_text(st, 5, m->author);
	sq_m_bind_text(st, 6, m->title);
	sq_m_bind_text(st, 7, m->text);
	sq_m_bind_text(st, 8, m->url);
	db_bind_int64(st, 9, m->created_at);
	db_bind_int64(st, 10, m->updated_at);
	if (m->has_rating) {
		db_bind_double(st, 11, m->rating);
		db_bind_double(st, 12, m->scale_min);
		db_bind_double(st, 13, m->scale_max);
		db_bind_double(st, 14, m->rating10);
	}
	sq_m_bind_text(st, 15, m->language);
	sq_bind_id(st, 16, sq_m_lookup(q->cust, m->customer_external_id));
	sq_m_bind_text(st, 17, m->reply_text);
	if (m->reply_text && m->reply_at > 0)
		db_bind_int64(st, 18, m->reply_at);
	db_bind_int64(st, 19, now);
	/* issue 16 H7: kept, so the customer's later arrival links it (020) */
	sq_m_bind_text(st, 20, m->customer_external_id);
	db_bind_blob(st, 21, hash, SQ_M_HASH, DB_STATIC);
}

static ks_err sq_m_step(sq_conn *c, db_stmt *st, ks_error *e)
{
	int rc = db_step(st);
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_reset(st);
	return err;
}

/* The stored row of m's (source, source_id) (*id 0 when none), and whether
 * m is to be written: new, newer (updated_at), or as new with other content
 * (hash) — an older updated_at never overwrites. */
static ks_err sq_m_find(sq_conn *c, const sq_m_stmts *q, const mention_in *m, const unsigned char *hash,
			int64_t *id, bool *write, ks_error *e)
{
	db_reset(q->find);
	db_bind_text(q->find, 1, m->source, -1, DB_STATIC);
	db_bind_text(q->find, 2, m->source_id, -1, DB_STATIC);
	int rc = db_step(q->find);
	*id = 0;
	*write = true;
	if (rc == DB_ROW) {
		*id = db_column_int64(q->find, 0);
		int64_t updated = db_column_int64(q->find, 1);
		const void *old = db_column_blob(q->find, 2);
		bool same = old && db_column_bytes(q->find, 2) == SQ_M_HASH && memcmp(old, hash, SQ_M_HASH) == 0;
		*write = m->updated_at > updated || (m->updated_at == updated && !same);
	}
	db_reset(q->find);
	return rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

/* The one record: inserted, updated (newer updated_at, or as new with other
 * content) or left. res is
 * its analysis made before the transaction; when the row turned out to
 * need a write only now (a concurrent change), it is analysed here. */
static ks_err sq_m_upsert_one(ks_store *s, sq_conn *c, sq_m_stmts *q, const mention_in *m, sq_m_result *res,
			      int64_t now, mentions_counts *n, ks_error *e)
{
	int64_t id;
	bool write;
	unsigned char hash[SQ_M_HASH];
	sq_m_hash(m, hash);
	ks_err err = sq_m_find(c, q, m, hash, &id, &write, e);
	if (err)
		return err;
	if (!write) {
		n->unchanged++;
		return KS_OK;
	}
	db_stmt *st = id ? q->upd : q->ins;
	sq_m_bind(st, q, m, hash, now);
	if ((err = sq_m_step(c, st, e)))
		return err;
	bool replaced = id != 0;
	if (id)
		n->updated++;
	else
		n->inserted++;
	if (!id)
		id = db_last_insert_rowid(c->db);
	return res->tried ? sq_m_store_analysis(c, &q->a, id, m, res, replaced, now, e)
			  : sq_m_analyse(s, c, &q->a, id, m, replaced, now, e);
}

/* Before the write lock: the records that will be written (new, or newer
 * than the stored row) are analysed, so the transaction holds the lock
 * only for the SQL (analysis is most of an import's time: 50,000 reviews
 * take ~10 s of it, and the response writer waits on the same lock). */
static ks_err sq_m_prepare(ks_store *s, sq_conn *c, const sq_m_stmts *q, const mentions_batch *b, sq_m_result *res,
			   ks_error *e)
{
	ks_error we;
	ks_error_clear(&we);
	text_worker *w = sq_text_worker(s, c, &we);
	for (size_t i = 0; i < b->n; i++) {
		int64_t id;
		bool write;
		unsigned char hash[SQ_M_HASH];
		sq_m_hash(&b->items[i], hash);
		ks_err err = sq_m_find(c, q, &b->items[i], hash, &id, &write, e);
		if (err)
			return err;
		if (write)
			sq_m_analyse_text(w, &b->items[i], &res[i]);
	}
	return KS_OK;
}

static void sq_m_results_free(sq_m_result *res, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sq_m_result_free(&res[i]);
	free(res);
}

ks_err store_mentions_upsert(ks_store *s, const mentions_batch *b, mentions_counts *out, ks_error *e)
{
	mentions_counts n = {0, 0, 0};
	sq_m_result *res = calloc(b->n ? b->n : 1, sizeof *res);
	if (res == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sq_conn *c = sq_acquire(s);
	int64_t now = clock_now(s->clock);
	sq_m_stmts q;
	ks_err err = sq_m_stmts_prep(c, &q, e);
	if (!err)
		err = sq_m_prepare(s, c, &q, b, res, e);
	if (!err)
		err = sq_exec(c, "BEGIN IMMEDIATE", e);
	for (size_t i = 0; !err && i < b->n; i++)
		err = sq_m_upsert_one(s, c, &q, &b->items[i], &res[i], now, &n, e);
	sq_m_stmts_free(&q);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err && !db_get_autocommit(c->db))
		db_exec(c->db, "ROLLBACK");
	sq_release(s, c);
	sq_m_results_free(res, b->n);
	if (!err && out)
		*out = n;
	return err;
}

ks_err sq_mentions_upsert(ks_store *s, sq_conn *c, const mentions_batch *b, mentions_counts *out, ks_error *e)
{
	mentions_counts n = {0, 0, 0};
	/* not tried: each record to write is analysed in sq_m_upsert_one, in
	 * the caller's transaction (the caller chose to hold the lock) */
	sq_m_result *res = calloc(b->n ? b->n : 1, sizeof *res);
	if (res == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	int64_t now = clock_now(s->clock);
	sq_m_stmts q;
	ks_err err = sq_m_stmts_prep(c, &q, e);
	for (size_t i = 0; !err && i < b->n; i++)
		err = sq_m_upsert_one(s, c, &q, &b->items[i], &res[i], now, &n, e);
	sq_m_stmts_free(&q);
	sq_m_results_free(res, b->n);
	if (!err && out)
		*out = n;
	return err;
}

/* ---- reading --------------------------------------------------------------------- */

#define SQ_M_COLS                                                                                          \
	"m.id, m.source, m.source_id, m.location, m.unit_id, (SELECT name FROM org_units u WHERE u.id = m.unit_id)," \
	" m.author, m.title, m.text, m.url, m.created_at, m.updated_at, m.rating, m.scale_min, m.scale_max,"    \
	" m.rating10, m.language, m.customer_id, m.reply_draft, m.reply_text, m.reply_at, m.reply_by,"         \
	" m.received_at"

static json_t *sq_m_text(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null() : json_string(sq_ctext(st, i));
}

static json_t *sq_m_real(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null() : json_real(db_column_double(st, i));
}

static json_t *sq_m_int(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null() : json_integer(db_column_int64(st, i));
}

/* The analysis as GET /responses/{id} shows an open answer's. */
static json_t *sq_m_analysis_json(sq_conn *c, int64_t id)
{
	db_stmt *st;
	json_t *out = json_null();
	if (sq_cprep(c, "SELECT language, label, score FROM mention_analysis WHERE mention_id = ?1", &st, NULL))
		return out;
	db_bind_int64(st, 1, id);
	if (db_step(st) == DB_ROW)
		out = json_pack("{s:s, s:{s:s, s:f}, s:[]}", "language", sq_ctext(st, 0), "sentiment", "label",
				sq_ctext(st, 1), "score", db_column_double(st, 2), "themes");
	db_finalize(st);
	if (out == NULL || json_is_null(out))
		return out ? out : json_null();
	if (sq_cprep(c, "SELECT theme, subtheme, label FROM mention_themes WHERE mention_id = ?1 ORDER BY rowid", &st,
		     NULL))
		return out;
	db_bind_int64(st, 1, id);
	json_t *themes = json_object_get(out, "themes");
	while (db_step(st) == DB_ROW)
		json_array_append_new(themes, json_pack("{s:s, s:s, s:s}", "theme", sq_ctext(st, 0), "subtheme",
							 sq_ctext(st, 1), "sentiment", sq_ctext(st, 2)));
	db_finalize(st);
	return out;
}

static json_t *sq_m_row(sq_conn *c, db_stmt *st)
{
	int64_t id = db_column_int64(st, 0);
	json_t *unit = db_column_type(st, 4) == DB_NULL
			       ? json_null()
			       : json_pack("{s:I, s:s}", "id", (json_int_t)db_column_int64(st, 4), "name",
					   sq_ctext(st, 5));
	json_t *reply = json_pack("{s:o, s:o, s:o, s:o}", "draft", sq_m_text(st, 18), "text", sq_m_text(st, 19),
				  "at", sq_iso_or_null(db_column_int64(st, 20)), "by", sq_m_int(st, 21));
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(id));
	json_object_set_new(o, "source", json_string(sq_ctext(st, 1)));
	json_object_set_new(o, "source_id", json_string(sq_ctext(st, 2)));
	json_object_set_new(o, "location", sq_m_text(st, 3));
	json_object_set_new(o, "unit", unit ? unit : json_null());
	json_object_set_new(o, "author", sq_m_text(st, 6));
	json_object_set_new(o, "title", sq_m_text(st, 7));
	json_object_set_new(o, "text", sq_m_text(st, 8));
	json_object_set_new(o, "url", sq_m_text(st, 9));
	json_object_set_new(o, "created_at", sq_iso_or_null(db_column_int64(st, 10)));
	json_object_set_new(o, "updated_at", sq_iso_or_null(db_column_int64(st, 11)));
	json_object_set_new(o, "rating", sq_m_real(st, 12));
	json_object_set_new(o, "scale_min", sq_m_real(st, 13));
	json_object_set_new(o, "scale_max", sq_m_real(st, 14));
	json_object_set_new(o, "rating10", sq_m_real(st, 15));
	json_object_set_new(o, "language", sq_m_text(st, 16));
	json_object_set_new(o, "customer_id", sq_m_int(st, 17));
	json_object_set_new(o, "reply", reply ? reply : json_null());
	json_object_set_new(o, "received_at", sq_iso_or_null(db_column_int64(st, 22)));
	json_object_set_new(o, "analysis", sq_m_analysis_json(c, id));
	return o;
}

/* The filter as a WHERE clause of fixed text: every member is a bound
 * parameter that is NULL / 0 when it does not filter. */
#define SQ_M_WHERE                                                                                           \
	" WHERE (?1 IS NULL OR m.source = ?1) AND (?2 IS NULL OR m.location = ?2)"                              \
	" AND (?3 = 0 OR m.unit_id IN (WITH RECURSIVE sub(id) AS (SELECT ?3 UNION"                              \
	" SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub))"                  \
	" AND (?4 = 0 OR m.customer_id = ?4) AND (?5 = 0 OR m.created_at >= ?5)"                              \
	" AND (?6 = 0 OR m.created_at < ?6)"                                                                    \
	" AND (?7 IS NULL OR EXISTS (SELECT 1 FROM mention_themes t WHERE t.mention_id = m.id AND t.theme = ?7))" \
	" AND (?8 IS NULL OR EXISTS (SELECT 1 FROM mention_analysis a WHERE a.mention_id = m.id AND a.label = ?8))" \
	" AND (?9 IS NULL OR instr(lower(coalesce(m.title, '') || ' ' || coalesce(m.text, '') || ' '"         \
	" || coalesce(m.author, '')), lower(?9)) > 0) AND (?10 = 0 OR m.rating10 IS NOT NULL)"

static void sq_m_bind_query(db_stmt *st, const store_mention_query *q)
{
	sq_m_bind_text(st, 1, q->source);
	sq_m_bind_text(st, 2, q->location);
	db_bind_int64(st, 3, q->unit_id);
	db_bind_int64(st, 4, q->customer_id);
	db_bind_int64(st, 5, q->from);
	db_bind_int64(st, 6, q->to);
	sq_m_bind_text(st, 7, q->theme && q->theme[0] ? q->theme : NULL);
	sq_m_bind_text(st, 8, q->sentiment && q->sentiment[0] ? q->sentiment : NULL);
	sq_m_bind_text(st, 9, q->q && q->q[0] ? q->q : NULL);
	db_bind_int(st, 10, q->rated_only ? 1 : 0);
}

static ks_err sq_m_count(sq_conn *c, const store_mention_query *q, int64_t *total, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT count(*) FROM mentions m" SQ_M_WHERE, &st, e);
	if (err)
		return err;
	sq_m_bind_query(st, q);
	return sq_cfirst(c, st, total, e);
}

ks_err store_mentions_list(ks_store *s, const store_mention_query *q, json_t **out, ks_error *e)
{
	*out = NULL;
	int limit = q->limit > 0 && q->limit <= 500 ? q->limit : 50, offset = q->offset > 0 ? q->offset : 0;
	sq_conn *c = sq_acquire(s);
	int64_t total = 0;
	db_stmt *st = NULL;
	ks_err err = sq_exec(c, "BEGIN", e);
	if (!err)
		err = sq_m_count(c, q, &total, e);
	if (!err)
		err = sq_cprep(c, "SELECT " SQ_M_COLS " FROM mentions m" SQ_M_WHERE
				  " ORDER BY m.created_at DESC, m.id DESC LIMIT ?11 OFFSET ?12", &st, e);
	json_t *items = json_array();
	if (!err) {
		sq_m_bind_query(st, q);
		db_bind_int(st, 11, limit);
		db_bind_int(st, 12, offset);
		int rc;
		while ((rc = db_step(st)) == DB_ROW)
			json_array_append_new(items, sq_m_row(c, st));
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	if (!db_get_autocommit(c->db))
		db_exec(c->db, "COMMIT");
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o, s:I, s:i, s:i}", "items", items, "total", (json_int_t)total, "offset", offset,
			 "limit", limit);
	return KS_OK;
}

ks_err store_mention_get(ks_store *s, int64_t id, json_t **out, ks_error *e)
{
	*out = NULL;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT " SQ_M_COLS " FROM mentions m WHERE m.id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		int rc = db_step(st);
		if (rc == DB_ROW)
			*out = sq_m_row(c, st);
		else if (rc == DB_DONE)
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no mention %lld", (long long)id);
		else
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_mention_unit(ks_store *s, int64_t id, int64_t *unit_id, ks_error *e)
{
	*unit_id = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT coalesce(unit_id, 0) FROM mentions WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		int rc = db_step(st);
		if (rc == DB_ROW)
			*unit_id = db_column_int64(st, 0);
		else if (rc == DB_DONE)
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no mention %lld", (long long)id);
		else
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

/* ---- the reply --------------------------------------------------------------------- */

ks_err store_mention_reply(ks_store *s, int64_t id, const char *draft, const char *text, bool recorded,
			   int64_t user_id, int64_t at, json_t **out, ks_error *e)
{
	*out = NULL;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = recorded ? sq_cprep(c, "UPDATE mentions SET reply_text = ?2, reply_at = ?3, reply_by = ?4,"
					    " reply_draft = NULL WHERE id = ?1", &st, e)
			      : sq_cprep(c, "UPDATE mentions SET reply_draft = ?2 WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		const char *v = recorded ? text : draft;
		sq_m_bind_text(st, 2, v && v[0] ? v : NULL);
		if (recorded) {
			db_bind_int64(st, 3, at);
			sq_bind_id(st, 4, user_id);
		}
		err = sq_cstep(c, st, e);
	}
	if (!err && db_changes(c->db) == 0)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no mention %lld", (long long)id);
	sq_release(s, c);
	return err ? err : store_mention_get(s, id, out, e);
}

/* ---- locations ---------------------------------------------------------------------- */

ks_err store_mention_locations_list(ks_store *s, json_t **out, ks_error *e)
{
	*out = NULL;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	json_t *a = json_array();
	/* the mapped locations, and the ones mentions name that are not mapped yet */
	ks_err err = sq_cprep(c,
			      "SELECT l.location, l.unit_id, u.name, (SELECT count(*) FROM mentions m WHERE m.location ="
			      " l.location) FROM mention_locations l LEFT JOIN org_units u ON u.id = l.unit_id"
			      " UNION ALL SELECT m.location, NULL, NULL, count(*) FROM mentions m WHERE m.location IS"
			      " NOT NULL AND m.location NOT IN (SELECT location FROM mention_locations)"
			      " GROUP BY m.location ORDER BY 1",
			      &st, e);
	if (!err) {
		int rc;
		while ((rc = db_step(st)) == DB_ROW)
			json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:I}", "location", sq_ctext(st, 0), "unit_id",
							   sq_m_int(st, 1), "unit_name", sq_m_text(st, 2), "mentions",
							   (json_int_t)db_column_int64(st, 3)));
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	if (err)
		json_decref(a);
	else
		*out = a;
	return err;
}

/* Every mention of location gets unit (0: none); *n = rows changed. */
static ks_err sq_m_relink(sq_conn *c, const char *location, int64_t unit, int64_t *n, ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, "UPDATE mentions SET unit_id = ?2 WHERE location = ?1 AND unit_id IS DISTINCT FROM ?2",
			      &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, location, -1, DB_STATIC);
	sq_bind_id(st, 2, unit);
	err = sq_cstep(c, st, e);
	if (!err && n)
		*n = db_changes(c->db);
	return err;
}

ks_err store_mention_location_put(ks_store *s, const char *location, int64_t unit_id, int64_t *relinked,
				  ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	bool found = false;
	db_stmt *st;
	ks_err err = sq_row_exists(c, "org_units", unit_id, &found, e);
	if (!err && !found)
		err = ks_fail(e, KS_ERR_REF, "unit_id", "no org unit %lld", (long long)unit_id);
	if (!err)
		err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err && !(err = sq_cprep(c, "INSERT INTO mention_locations(location, unit_id) VALUES(?1, ?2)"
				       " ON CONFLICT(location) DO UPDATE SET unit_id = excluded.unit_id", &st, e))) {
		db_bind_text(st, 1, location, -1, DB_STATIC);
		db_bind_int64(st, 2, unit_id);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_m_relink(c, location, unit_id, relinked, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err && !db_get_autocommit(c->db))
		db_exec(c->db, "ROLLBACK");
	sq_release(s, c);
	return err;
}

ks_err store_mention_location_delete(ks_store *s, const char *location, int64_t *relinked, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err && !(err = sq_cprep(c, "DELETE FROM mention_locations WHERE location = ?1", &st, e))) {
		db_bind_text(st, 1, location, -1, DB_STATIC);
		err = sq_cstep(c, st, e);
		if (!err && db_changes(c->db) == 0)
			err = ks_fail(e, KS_ERR_NOTFOUND, "location", "no such location mapping");
	}
	if (!err)
		err = sq_m_relink(c, location, 0, relinked, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err && !db_get_autocommit(c->db))
		db_exec(c->db, "ROLLBACK");
	sq_release(s, c);
	return err;
}

/* ---- the summary ------------------------------------------------------------------------ */

/* The group key of each group_by, as fixed SQL text: column 0 key, 1 label;
 * what to GROUP BY (the unit's label reads m.unit_id in a subquery, which
 * PostgreSQL allows only when m.unit_id itself is grouped; no unit has id
 * 0, so grouping by it is grouping by column 0). */
static const struct {
	const char *name;
	const char *key;
	const char *group;
	const char *order;
} sq_m_groups[] = {
	{"total", "'all', 'all'", "1", "1"},
	{"source", "m.source, m.source", "1", "3 DESC, 1"},
	{"location", "coalesce(m.location, ''), coalesce(m.location, '')", "1", "3 DESC, 1"},
	{"unit", "coalesce(m.unit_id, 0), coalesce((SELECT name FROM org_units u WHERE u.id = m.unit_id), '')",
	 "m.unit_id", "3 DESC, 1"},
	{"month", "ks_local_month(m.created_at), ks_local_month(m.created_at)", "1", "1"},
};

/* Mean with a 95% t-interval: mean ± t(0.975, n-1) · s/√n, s the sample
 * standard deviation (Student 1908; any textbook, e.g. Moore, McCabe &
 * Craig, "Introduction to the Practice of Statistics", ch. 7.1). A rating
 * is bounded 0..10, so the ends are clipped there. n < 2: no interval. */
static json_t *sq_m_mean(int64_t n, double sum, double sumsq)
{
	if (n == 0)
		return json_null();
	double mean = sum / (double)n;
	if (n < 2)
		return json_pack("{s:f, s:n, s:n}", "mean", mean, "low", "high");
	double var = (sumsq - sum * sum / (double)n) / (double)(n - 1);
	double half = gsl_cdf_tdist_Pinv(0.975, (double)(n - 1)) * sqrt(var > 0 ? var : 0) / sqrt((double)n);
	return json_pack("{s:f, s:f, s:f}", "mean", mean, "low", fmax(0, mean - half), "high", fmin(10, mean + half));
}

/* A share k/n with the Wilson score interval (Wilson 1927, JASA 22:209;
 * Agresti & Coull 1998, Am. Stat. 52:119): with z = 1.959964 (95%),
 * centre (p + z²/2n) / (1 + z²/n), half-width z·√(p(1−p)/n + z²/4n²) / (1 + z²/n). */
static json_t *sq_m_share(int64_t k, int64_t n)
{
	if (n == 0)
		return json_null();
	const double z = 1.959963984540054;
	double p = (double)k / (double)n, nn = (double)n, d = 1 + z * z / nn;
	double centre = (p + z * z / (2 * nn)) / d;
	double half = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / d;
	return json_pack("{s:f, s:f, s:f, s:I}", "p", p, "low", fmax(0, centre - half), "high", fmin(1, centre + half),
			 "k", (json_int_t)k);
}

/* Columns after key, label: n, n_rated, sum, sum of squares, 4-5 stars,
 * analysed, positive, neutral, negative. */
#define SQ_M_AGG                                                                                             \
	", count(*), count(m.rating10), total(m.rating10), total(m.rating10 * m.rating10),"                     \
	" count(CASE WHEN m.rating10 >= 7.5 THEN 1 END), count(a.mention_id),"                                 \
	" count(CASE WHEN a.label = 'positive' THEN 1 END), count(CASE WHEN a.label = 'neutral' THEN 1 END),"   \
	" count(CASE WHEN a.label = 'negative' THEN 1 END)"                                                      \
	" FROM mentions m LEFT JOIN mention_analysis a ON a.mention_id = m.id"

static json_t *sq_m_group_json(db_stmt *st, int64_t min_n)
{
	int64_t n = db_column_int64(st, 2), rated = db_column_int64(st, 3);
	int64_t analysed = db_column_int64(st, 7);
	json_t *key = db_column_type(st, 0) == DB_INTEGER ? json_integer(db_column_int64(st, 0))
								     : sq_m_text(st, 0);
	json_t *g = json_pack("{s:o, s:s, s:I, s:I}", "key", key, "label", sq_ctext(st, 1), "n",
			      (json_int_t)n, "n_rated", (json_int_t)rated);
	json_t *hidden = json_array();
	/* each measure on its own count, as a survey cell's (docs/PRIVACY.md 1) */
	if (rated >= min_n) {
		json_object_set_new(g, "rating10", sq_m_mean(rated, db_column_double(st, 4),
							     db_column_double(st, 5)));
		json_object_set_new(g, "share_4_5", sq_m_share(db_column_int64(st, 6), rated));
	} else {
		json_object_set_new(g, "rating10", json_null());
		json_object_set_new(g, "share_4_5", json_null());
		if (rated > 0) {
			json_array_append_new(hidden, json_string("rating10"));
			json_array_append_new(hidden, json_string("share_4_5"));
		}
	}
	if (analysed >= min_n && analysed > 0) {
		double a = (double)analysed;
		json_object_set_new(g, "sentiment",
				    json_pack("{s:I, s:f, s:f, s:f}", "n", (json_int_t)analysed, "positive",
					      (double)db_column_int64(st, 8) / a, "neutral",
					      (double)db_column_int64(st, 9) / a, "negative",
					      (double)db_column_int64(st, 10) / a));
	} else {
		json_object_set_new(g, "sentiment", json_null());
		if (analysed > 0)
			json_array_append_new(hidden, json_string("sentiment"));
	}
	json_object_set_new(g, "hidden", hidden);
	return g;
}

ks_err store_mentions_summary(ks_store *s, const store_mention_query *q, const char *group_by, int64_t min_n,
			      json_t **out, ks_error *e)
{
	*out = NULL;
	size_t k = 0;
	for (size_t i = 0; group_by && i < sizeof sq_m_groups / sizeof sq_m_groups[0]; i++)
		if (strcmp(group_by, sq_m_groups[i].name) == 0)
			k = i;
	if (group_by && k == 0 && strcmp(group_by, "total") != 0)
		return ks_fail(e, KS_ERR_INVALID, "group_by", "group_by must be source, location, unit or month");
	char sql[2048];
	snprintf(sql, sizeof sql, "SELECT %s" SQ_M_AGG SQ_M_WHERE " GROUP BY %s ORDER BY %s", sq_m_groups[k].key,
		 sq_m_groups[k].group, sq_m_groups[k].order);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	json_t *groups = json_array();
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err) {
		sq_m_bind_query(st, q);
		int rc;
		while ((rc = db_step(st)) == DB_ROW)
			json_array_append_new(groups, sq_m_group_json(st, min_n));
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	if (err) {
		json_decref(groups);
		return err;
	}
	*out = json_pack("{s:s, s:o, s:I}", "group_by", sq_m_groups[k].name, "groups", groups, "min_n",
			 (json_int_t)min_n);
	return KS_OK;
}
