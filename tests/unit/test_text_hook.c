/* test_text_hook.c — the store tells the analytics index of every analysis
 * it writes or removes (store_set_text_hook) and scans them all
 * (store_scan_text), issue 14. Each path is driven through the store's
 * public API: the writer's batch (after the commit hook), the survey form
 * completing a one-click answer, a reanalysis, GDPR erasure and retention
 * (label -1). Expected labels and themes are those `klantstem text analyze`
 * prints for the sentences used (docs/TEXT.md); the collapse of sub-themes
 * into themes is checked on rows written straight into the database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "store/store.h"

/* "Vriendelijk personeel, maar ik moest veel te lang wachten en de factuur
 * klopte niet": negative; friendliness +, waiting_time -, billing -. */
static const char *const MIXED =
	"Vriendelijk personeel, maar ik moest veel te lang wachten en de factuur klopte niet";
/* "The technician was friendly and helpful": positive; technician +,
 * friendliness +. */
static const char *const PRAISE = "The technician was friendly and helpful";

typedef struct seen {
	char log[64][16];        /* "commit" / "text" in the order heard */
	int n_log;
	store_text_row rows[64];
	int n_rows;
} seen;

static void on_text(void *arg, const store_text_row *rows, int n)
{
	seen *s = arg;
	snprintf(s->log[s->n_log++ % 64], sizeof s->log[0], "text");
	for (int i = 0; i < n && s->n_rows < 64; i++)
		s->rows[s->n_rows++] = rows[i];
}

static void on_commit(void *arg, const model_response *const *rows, int n)
{
	(void)rows;
	(void)n;
	seen *s = arg;
	snprintf(s->log[s->n_log++ % 64], sizeof s->log[0], "commit");
}

static void db_remove(const char *path)
{
	char p[200];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

typedef struct fx {
	char path[160];
	ks_store *s;
	seen seen;
	int64_t customer;
} fx;

static int64_t add_customer(ks_store *s)
{
	store_bulk *b = NULL;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_bulk_begin(s, &b, &e), KS_OK);
	json_t *o = json_pack("{s:s, s:s}", "external_id", "C-1", "language", "nl");
	int64_t id = 0;
	assert_int_equal(store_bulk_entity(b, model_entity_find("customers"), o, &id, &e), KS_OK);
	json_decref(o);
	assert_int_equal(store_bulk_commit(b, &e), KS_OK);
	return id;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	snprintf(f->path, sizeof f->path, "/tmp/ks_test_text_hook_%ld.db", (long)getpid());
	db_remove(f->path);
	ks_error e;
	ks_error_clear(&e);
	if (store_open(f->path, NULL, &f->s, &e) != KS_OK) {
		fprintf(stderr, "# store_open: %s\n", e.message);
		free(f);
		return -1;
	}
	f->customer = add_customer(f->s);
	store_set_commit_hook(f->s, on_commit, &f->seen);
	store_set_text_hook(f->s, on_text, &f->seen);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	store_close(f->s);
	db_remove(f->path);
	free(f);
	return 0;
}

static const store_text_row *row_of(const seen *s, int64_t id)
{
	for (int i = s->n_rows - 1; i >= 0; i--)
		if (s->rows[i].response_id == id)
			return &s->rows[i];
	return NULL;
}

/* The label the row gives theme, or -2 when the theme is not there. */
static int theme_label(const store_text_row *r, const char *theme)
{
	for (int i = 0; i < r->n_themes; i++)
		if (strcmp(r->themes[i], theme) == 0)
			return r->theme_labels[i];
	return -2;
}

static void assert_mixed(const store_text_row *r)
{
	assert_non_null(r);
	assert_int_equal(r->label, 0);
	assert_int_equal(r->n_themes, 3);
	assert_int_equal(theme_label(r, "friendliness"), 2);
	assert_int_equal(theme_label(r, "waiting_time"), 0);
	assert_int_equal(theme_label(r, "billing"), 0);
}

static int64_t submit(fx *f, const char *text, bool partial, int64_t at)
{
	model_response r;
	model_response_init(&r);
	r.customer_id = f->customer;
	r.nps = 5;
	r.open_text = text;
	r.partial = partial;
	r.received_at = at;
	snprintf(r.language, sizeof r.language, "nl");
	bool created = false;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_response_submit(f->s, &r, &created, &e), KS_OK);
	assert_true(created);
	return r.id;
}

typedef struct scan { store_text_row rows[64]; int n, calls; } scan;

static void on_scan(void *arg, const store_text_row *rows, int n)
{
	scan *s = arg;
	s->calls++;
	for (int i = 0; i < n && s->n < 64; i++)
		s->rows[s->n++] = rows[i];
}

static void test_paths(void **state)
{
	fx *f = *state;
	seen *sn = &f->seen;
	ks_error e;
	ks_error_clear(&e);

	/* the writer: the commit hook first, then the text hook, same batch */
	int64_t a = submit(f, MIXED, false, 1767225600);
	assert_int_equal(sn->n_log, 2);
	assert_string_equal(sn->log[0], "commit");
	assert_string_equal(sn->log[1], "text");
	assert_int_equal(sn->n_rows, 1);
	assert_int_equal(sn->rows[0].response_id, a);
	assert_mixed(&sn->rows[0]);

	/* no text: the commit hook only */
	int64_t b = submit(f, NULL, false, 1767225601);
	assert_int_equal(sn->n_log, 3);
	assert_null(row_of(sn, b));

	/* the survey form completes a one-click answer with a text */
	int64_t c = submit(f, NULL, true, 1767225602);
	int n_before = sn->n_rows;
	model_response u;
	model_response_init(&u);
	u.id = c;
	u.nps = 9;
	u.open_text = PRAISE;
	assert_int_equal(store_response_update_partial(f->s, &u, 1767225700, &e), KS_OK);
	assert_int_equal(sn->n_rows, n_before + 1);
	const store_text_row *r = row_of(sn, c);
	assert_non_null(r);
	assert_int_equal(r->label, 2);
	assert_int_equal(r->n_themes, 2);
	assert_int_equal(theme_label(r, "technician"), 2);
	assert_int_equal(theme_label(r, "friendliness"), 2);

	/* the scan gives both analyses, in id order */
	scan sc;
	memset(&sc, 0, sizeof sc);
	assert_int_equal(store_scan_text(f->s, 0, on_scan, &sc, &e), KS_OK);
	assert_int_equal(sc.n, 2);
	assert_int_equal(sc.rows[0].response_id, a);
	assert_mixed(&sc.rows[0]);
	assert_int_equal(sc.rows[1].response_id, c);
	assert_int_equal(sc.rows[1].label, 2);
	memset(&sc, 0, sizeof sc);
	assert_int_equal(store_scan_text(f->s, a, on_scan, &sc, &e), KS_OK);
	assert_int_equal(sc.n, 1);
	assert_int_equal(sc.rows[0].response_id, c);

	/* a reanalysis tells of every answer again */
	n_before = sn->n_rows;
	store_reanalyze_counts k;
	assert_int_equal(store_text_reanalyze(f->s, 1, NULL, NULL, &k, &e), KS_OK);
	assert_int_equal(k.analyzed, 2);
	assert_int_equal(sn->n_rows, n_before + 2);
	assert_mixed(&sn->rows[n_before]);
	assert_int_equal(sn->rows[n_before + 1].response_id, c);

	/* retention clears the older text: label -1 for it alone */
	n_before = sn->n_rows;
	int64_t cut[STORE_RETENTION__COUNT] = {0};
	cut[STORE_RETENTION_OPEN_TEXT] = 1767225601;
	store_retention_counts rc;
	assert_int_equal(store_retention_apply(f->s, cut, 1767300000, &rc, &e), KS_OK);
	assert_int_equal(rc.open_texts, 1);
	assert_int_equal(sn->n_rows, n_before + 1);
	assert_int_equal(sn->rows[n_before].response_id, a);
	assert_int_equal(sn->rows[n_before].label, -1);
	assert_int_equal(sn->rows[n_before].n_themes, 0);

	/* erasing the customer removes the other analysis */
	n_before = sn->n_rows;
	store_erasure x = {.via = "cli"};
	assert_int_equal(store_gdpr_erase(f->s, STORE_SUBJECT_CUSTOMER, f->customer, &x, &e), KS_OK);
	assert_int_equal(sn->n_rows, n_before + 1);
	assert_int_equal(sn->rows[n_before].response_id, c);
	assert_int_equal(sn->rows[n_before].label, -1);
	memset(&sc, 0, sizeof sc);
	assert_int_equal(store_scan_text(f->s, 0, on_scan, &sc, &e), KS_OK);
	assert_int_equal(sc.n, 0);
	assert_int_equal(sc.calls, 0);
}

/* Sub-themes collapse into their theme with the mean of their scores:
 * >= 0.1 positive, <= -0.1 negative, else neutral (values exact in binary). */
static void test_collapse(void **state)
{
	fx *f = *state;
	int64_t id[3];
	for (int i = 0; i < 3; i++)
		id[i] = submit(f, NULL, false, 1767225800 + i);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	static const double scores[3][2] = {{0.75, -0.5}, {0.25, -0.5}, {0.25, -0.25}};
	for (int i = 0; i < 3; i++) {
		char *sql = sqlite3_mprintf(
			"INSERT INTO text_analysis VALUES(%lld, 'nl', 'neutral', 0, 0);"
			"INSERT INTO text_themes VALUES(%lld, 'waiting_time', 'waiting', 'positive', %.2f, 1);"
			"INSERT INTO text_themes VALUES(%lld, 'waiting_time', 'response_time', 'negative', %.2f, 1);"
			"INSERT INTO text_themes VALUES(%lld, 'price', 'price', 'negative', -1, 2);",
			(long long)id[i], (long long)id[i], scores[i][0], (long long)id[i], scores[i][1],
			(long long)id[i]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_free(sql);
	}
	sqlite3_close(db);
	scan sc;
	memset(&sc, 0, sizeof sc);
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_scan_text(f->s, id[0] - 1, on_scan, &sc, &e), KS_OK);
	assert_int_equal(sc.n, 3);
	static const int want[3] = {2, 0, 1};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sc.rows[i].response_id, id[i]);
		assert_int_equal(sc.rows[i].label, 1);
		assert_int_equal(sc.rows[i].n_themes, 2);
		assert_string_equal(sc.rows[i].themes[0], "waiting_time");
		assert_int_equal(sc.rows[i].theme_labels[0], want[i]);
		assert_string_equal(sc.rows[i].themes[1], "price");
		assert_int_equal(sc.rows[i].theme_labels[1], 0);
	}
}

/* Switching contexts while answers are analysed (sqlite_text.c's
 * generations): writers keep submitting answers while the taxonomy is
 * changed back and forth and texts are analysed on pool connections. Under
 * ASan a context freed while a worker still used it would be reported;
 * every answer must end with its analysis. */
#define SW_WRITERS 3
#define SW_EACH 40

typedef struct sw_arg {
	fx *f;
	int failures;
} sw_arg;

static void *sw_writer(void *p)
{
	sw_arg *a = p;
	for (int i = 0; i < SW_EACH; i++) {
		model_response r;
		model_response_init(&r);
		r.customer_id = a->f->customer;
		r.nps = i % 11;
		r.open_text = i % 2 ? MIXED : "De parkeerplaats was vol, verder prima";
		r.received_at = 1767225600 + i;
		snprintf(r.language, sizeof r.language, "nl");
		bool created = false;
		ks_error e;
		ks_error_clear(&e);
		if (store_response_submit(a->f->s, &r, &created, &e) != KS_OK || !created)
			a->failures++;
	}
	return NULL;
}

static void *sw_analyser(void *p)
{
	sw_arg *a = p;
	for (int i = 0; i < SW_EACH; i++) {
		json_t *out = NULL;
		ks_error e;
		ks_error_clear(&e);
		if (store_text_analyze(a->f->s, MIXED, strlen(MIXED), NULL, &out, &e) != KS_OK)
			a->failures++;
		json_decref(out);
	}
	return NULL;
}

static void test_switch(void **state)
{
	fx *f = *state;
	store_set_commit_hook(f->s, NULL, NULL);
	store_set_text_hook(f->s, NULL, NULL);
	ks_error e;
	ks_error_clear(&e);
	json_t *cur = NULL;
	assert_int_equal(store_text_taxonomy_get(f->s, &cur, &e), KS_OK);
	json_t *tax = json_deep_copy(json_object_get(cur, "taxonomy"));
	json_array_append_new(json_object_get(tax, "themes"),
			      json_pack("{s:s, s:{s:s, s:s}, s:[{s:s, s:{s:s, s:s}, s:{s:[s]}}]}", "id", "parking",
					"label", "nl", "Parkeren", "en", "Parking", "subthemes", "id", "parking",
					"label", "nl", "Parkeren", "en", "Parking", "terms", "nl", "parkeerplaats"));
	json_decref(cur);
	pthread_t th[SW_WRITERS + 1];
	sw_arg args[SW_WRITERS + 1];
	for (int i = 0; i <= SW_WRITERS; i++) {
		args[i] = (sw_arg){.f = f};
		assert_int_equal(pthread_create(&th[i], NULL, i < SW_WRITERS ? sw_writer : sw_analyser, &args[i]), 0);
	}
	for (int k = 0; k < 20; k++) {
		json_t *out = NULL;
		assert_int_equal(store_text_taxonomy_put(f->s, k % 2 ? NULL : tax, NULL, &out, &e), KS_OK);
		json_decref(out);
	}
	for (int i = 0; i <= SW_WRITERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	json_decref(tax);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), count(a.response_id) FROM responses r"
					    " LEFT JOIN text_analysis a ON a.response_id = r.id"
					    " WHERE r.open_text IS NOT NULL", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), SW_WRITERS * SW_EACH);
	assert_int_equal(sqlite3_column_int(st, 1), SW_WRITERS * SW_EACH);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collapse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
