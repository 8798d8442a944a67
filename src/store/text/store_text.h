/* store_text.h — part of the store's contract (store.h): text analysis: each
 * answer's analysis, the organisation's taxonomy and model, theme discovery.
 *
 * The SQL behind it is in this folder (src/store/text/). Include
 * "store/store.h", never this file: store.h includes the domains in the
 * order their types need, and its contracts (transactions, ownership,
 * errors) hold here too. */
#ifndef KS_STORE_TEXT_H
#define KS_STORE_TEXT_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_text.h"
#endif

/* ==== text analysis (issue 14, sqlite_text.c) ============================== */

typedef struct store_reanalyze_counts {
	int64_t analyzed;   /* answers with fresh rows */
	int64_t failed;     /* analysis failed: logged, old rows kept */
} store_reanalyze_counts;
typedef void (*store_reanalyze_fn)(void *arg, const store_reanalyze_counts *so_far);

/* Re-run the analysis over every stored open answer, batch answers per
 * transaction (<= 0: 500), calling progress after each batch. Replaces
 * existing rows. KS_ERR_INTERNAL when the store has no text context. */
ks_err store_text_reanalyze(ks_store *s, int batch, store_reanalyze_fn progress, void *arg,
			    store_reanalyze_counts *out, ks_error *e);

/* ---- what the analytics index keeps of each analysis ----------------------
 * One answer's analysis as the index needs it: its sentiment label and its
 * top-level themes, each with the label of the clauses it stood in.
 * label: 0 negative, 1 neutral, 2 positive (text_label's values), or -1 =
 * the response has no analysis any more (erased, its text removed by
 * retention). Theme ids are the taxonomy's ("waiting_time"); a theme
 * appears once however many of its sub-themes were hit (its label: the
 * mean of their scores, >= 0.1 positive, <= -0.1 negative). */
#define STORE_TEXT_MAX_THEMES 16
typedef struct store_text_row {
	int64_t response_id;
	int label;
	int n_themes;
	char themes[STORE_TEXT_MAX_THEMES][48];
	int theme_labels[STORE_TEXT_MAX_THEMES];
} store_text_row;
typedef void (*store_text_fn)(void *arg, const store_text_row *rows, int n);

/* Called after every commit that wrote, replaced or removed analyses:
 * the writer's batches and the survey form's rewrite (after the commit
 * hook has been given the same responses), each reanalyze batch, GDPR
 * erasure and retention (label -1). Rows are valid during the call only;
 * the hook must not call back into the store's write paths. */
void store_set_text_hook(ks_store *s, store_text_fn fn, void *arg);

/* *used: does any stored analysis name theme id `theme` (a theme removed
 * from the taxonomy does until its answers are reanalysed)? */
ks_err store_text_theme_in_use(ks_store *s, const char *theme, bool *used, ks_error *e);

/* Every stored analysis with response_id > after_id, in response_id
 * order, to fn in chunks (for building the index at start-up). */
ks_err store_scan_text(ks_store *s, int64_t after_id, store_text_fn fn, void *arg, ks_error *e);

/* ---- the organisation's text configuration (issue 14, text) ---------------
 * sqlite_text_config.c and sqlite_text_job.c; JSON shapes: docs/API.md
 * "Text analysis". Every change (taxonomy, model) is one transaction with
 * its audit entry (a: NULL = none) and the start of a reanalysis of every
 * stored answer; then the store's analysis switches to the new context.
 * *out (when given) is a new reference owned by the caller. */

/* POST /text/analyze: text[0..len) analysed with the current taxonomy and
 * model; lang "nl" / "en" decide the language (as the CLI's --lang), NULL
 * or "auto" detect it. KS_ERR_UNAVAILABLE when analysis is off. */
ks_err store_text_analyze(ks_store *s, const char *text, size_t len, const char *lang, json_t **out,
			  ks_error *e);

/* {"default","version","updated_at","taxonomy"}. */
ks_err store_text_taxonomy_get(ks_store *s, json_t **out, ks_error *e);
/* Store taxonomy (NULL = back to the shipped default). A bad one:
 * KS_ERR_INVALID / KS_ERR_BADJSON with field = its JSON path, nothing
 * changed. */
ks_err store_text_taxonomy_put(ks_store *s, const json_t *taxonomy, const store_audit_entry *a,
			       json_t **out, ks_error *e);
/* Add a theme {"id","label":{"nl","en"},"terms":{"nl":[..],"en":[..]}} with
 * one sub-theme of the same id. KS_ERR_CONFLICT (field "id") when a theme
 * has that id; KS_ERR_INVALID naming the body's field. */
ks_err store_text_theme_add(ks_store *s, const json_t *theme, const store_audit_entry *a, json_t **out,
			    ks_error *e);

/* {"active","trained_at","n_examples","n_features","bytes","evaluation",
 *  "top","retrain_days","min_examples"}. */
ks_err store_text_model_get(ks_store *s, json_t **out, ks_error *e);
/* Train on the latest STORE_TEXT_TRAIN_MAX answers with an NPS and an open
 * text (a 5-fold evaluation over the latest 10,000 of them first), keep
 * and use the model. Fewer than
 * min_examples, or too few of a class: KS_ERR_RANGE field "examples",
 * nothing changed; KS_ERR_CONFLICT when a training runs already. */
#define STORE_TEXT_TRAIN_MAX 50000
ks_err store_text_model_train(ks_store *s, const store_audit_entry *a, json_t **out, ks_error *e);
/* Remove the model (lexicon only again). */
ks_err store_text_model_delete(ks_store *s, const store_audit_entry *a, json_t **out, ks_error *e);
/* Settings of the scheduled training; < 0 = unchanged. retrain_days 0..365
 * (0 = never), min_examples 30..1000000; KS_ERR_RANGE naming the field. */
ks_err store_text_model_settings(ks_store *s, int retrain_days, int min_examples,
				 const store_audit_entry *a, json_t **out, ks_error *e);

/* {"running","done","total","reason","started_at","finished_at"}. */
ks_err store_text_job_get(ks_store *s, json_t **out, ks_error *e);
/* Start (or restart) a reanalysis; reason "manual" for a request. */
ks_err store_text_job_start(ks_store *s, const char *reason, const store_audit_entry *a, json_t **out,
			    ks_error *e);
/* The server's background work: the reanalysis thread (resuming a job a
 * restart interrupted) and the scheduled trainings it runs. The store
 * stops the thread at close; stop is idempotent. */
ks_err store_text_jobs_start(ks_store *s, ks_error *e);
void store_text_jobs_stop(ks_store *s);
/* Called by the scheduler's pass: when the model is older than
 * retrain_days (or there is none) and min_examples labelled answers exist,
 * the job thread trains a new one. Looks at most hourly (clock time). */
void store_text_schedule(ks_store *s, int64_t now);

/* ---- theme discovery (issue 14, discovery; sqlite_text_discover.c) --------
 * GET /api/v1/themes/discover: the analysed open answers without any theme
 * row received in [from, to) (the period) and in [prev_from, from) (the one
 * before), within the reader's scope, run through text_discover
 * (src/text/discover.h) with the store's current text context. */
typedef struct store_discover_query {
	int64_t prev_from, from, to;
	int64_t team_id;         /* a unit and everything below it; 0 = all */
	int64_t employee_id;     /* 0 = any */
	char language[3];        /* analysis language "nl" / "en"; "" = both */
	int limit;               /* phrases, 1..50 */
	int min_n;               /* answers a phrase needs; <= 0: 3 */
} store_discover_query;

/* *out (the caller's): {"answers_without_theme","answers_previous",
 * "phrases":[{"phrase","stems","language","n","n_previous","rising",
 * "growth"|null,"p_value"|null,"examples":[item...]}]}, an item being a
 * verbatim item without team and touchpoint ({"response_id","text","nps",
 * "grade","band","language","received_at","employee"}): the caller applies
 * verbatim_detail. KS_ERR_UNAVAILABLE when analysis is off. */
ks_err store_text_discover(ks_store *s, const store_discover_query *q, json_t **out, ks_error *e);
/* ---- end of theme discovery ---- */


#endif
