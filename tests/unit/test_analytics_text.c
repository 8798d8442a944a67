/* test_analytics_text.c — the analytics index's text columns (issue 14):
 * the theme and sentiment dimensions and filters of an_query against a
 * brute-force reference.
 *
 * A temporary store (a file under /tmp named by pid, removed at the end)
 * gets two teams, four employees and 900 responses from a fixed seed
 * (random NPS, some without; noon of a day in four months of 2025, so no
 * local-midnight question arises). Analyses of a random two thirds are
 * written straight into text_analysis / text_themes with sqlite3 (one to
 * three sub-theme hits per theme: the index must see one theme, labelled by
 * the mean of its hits' scores, >= 0.1 positive, <= -0.1 negative — the
 * rule store.h states), then the index is built (store_scan_text).
 *
 * The reference keeps its own copy of every response and analysis, in
 * plain arrays, and counts by hand: an answer counts in each theme group
 * it mentions, rows without analysis in no theme or sentiment group, the
 * total is every row once. Every group's n, NPS answers, promoters,
 * detractors and distinct employees (0, 1, 2+) must match, for theme,
 * sentiment, team x theme, month x theme, theme x team, the per-theme
 * sentiment groupings (mentions labelled negative / positive), with theme,
 * sentiment and analysed filters. Then analyses are replaced and removed
 * through an_index_text (the text hook's entry), one arrives before its
 * response (kept until the row comes), 70,000 distinct theme sets pass
 * through one row (the set dictionary compacts), and 70 theme ids arrive
 * (only 64 are indexed) — each time against the reference again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "analytics/analytics.h"
#include "model/model.h"
#include "store/store.h"

#define N_RESP 900
#define N_EMPS 4
#define N_THEMES 6
#define MAX_REF 1200

static const char *const THEME_IDS[N_THEMES] = {"waiting_time", "friendliness", "price", "billing",
						"technician", "delivery"};
static const char *const LABELS[3] = {"negative", "neutral", "positive"};

/* ---- generator (splitmix64) ---- */
static uint64_t rng = 0x746578745f696478ULL;
static uint64_t next(void)
{
	uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}
static int rnd(int n)
{
	return (int)(next() % (uint64_t)n);
}

/* ---- the reference ---- */
typedef struct ref_row {
	int64_t id;
	int team;        /* 0 or 1 */
	int emp;         /* 0..N_EMPS-1 */
	int month;       /* 1..4 (2025-01 .. 2025-04) */
	int nps;         /* -1 none */
	int label;       /* -1 no analysis, 0..2 */
	int theme[70];   /* per theme index: -1 absent, 0..2 */
} ref_row;

static struct {
	char path[160];
	ks_store *s;
	an_index *ix;
	int64_t team_id[2], emp_id[N_EMPS];
	ref_row rows[MAX_REF];
	int n;
	int n_theme_ids;           /* theme indices in use (THEME_IDS, then "t64".. for the overflow test) */
	char theme_id[70][24];
} fx;

static void db_remove(const char *path)
{
	char p[200];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static int64_t bulk_add(store_bulk *b, const char *entity, json_t *obj)
{
	ks_error e;
	ks_error_clear(&e);
	int64_t id = 0;
	const model_entity *ent = model_entity_find(entity);
	ks_err err = obj && ent ? store_bulk_entity(b, ent, obj, &id, &e) : KS_ERR_INTERNAL;
	json_decref(obj);
	return err ? 0 : id;
}

/* noon UTC of day d of month m in 2025 */
static int64_t t_of(int month, int day)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = 125;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = 12;
	return (int64_t)timegm(&tm);
}

static void random_analysis(ref_row *r)
{
	r->label = rnd(3) == 0 ? -1 : rnd(3);
	for (int k = 0; k < 70; k++)
		r->theme[k] = -1;
	if (r->label < 0)
		return;
	for (int k = 0; k < N_THEMES; k++)
		if (rnd(3) == 0)
			r->theme[k] = rnd(3);
}

/* Sub-theme hits whose mean score gives label lab: one to three hits. */
static void write_hits(sqlite3 *db, int64_t id, const char *theme, int lab)
{
	static const double one[3] = {-0.6, 0.05, 0.7};
	/* two hits: means -0.3, 0.0, 0.25; three: -0.2, 0.0, 0.1 (edges) */
	static const double two[3][2] = {{-0.9, 0.3}, {-0.5, 0.5}, {0.8, -0.3}};
	static const double three[3][3] = {{-0.2, -0.2, -0.2}, {0.4, -0.4, 0.0}, {0.1, 0.1, 0.1}};
	int k = 1 + rnd(3);
	char *sql;
	for (int i = 0; i < k; i++) {
		double sc = k == 1 ? one[lab] : k == 2 ? two[lab][i] : three[lab][i];
		sql = sqlite3_mprintf("INSERT INTO text_themes VALUES(%lld, %Q, 'sub%d', 'neutral', %.17g, 1)",
				      (long long)id, theme, i, sc);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_free(sql);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(fx.path, sizeof fx.path, "/tmp/ks_test_analytics_text_%ld.db", (long)getpid());
	db_remove(fx.path);
	ks_error e;
	ks_error_clear(&e);
	if (store_open(fx.path, NULL, &fx.s, &e)) {
		fprintf(stderr, "# store_open: %s\n", e.message);
		return -1;
	}
	store_bulk *b = NULL;
	if (store_bulk_begin(fx.s, &b, &e))
		return -1;
	int64_t org = bulk_add(b, "teams", json_pack("{s:s, s:s}", "name", "Org", "kind", "organisation"));
	for (int i = 0; i < 2; i++)
		fx.team_id[i] = bulk_add(b, "teams", json_pack("{s:s, s:s, s:I}", "name", i ? "Zuid" : "Noord",
							       "kind", "team", "parent_id", (json_int_t)org));
	for (int i = 0; i < N_EMPS; i++) {
		char ext[16];
		snprintf(ext, sizeof ext, "E%d", i);
		fx.emp_id[i] = bulk_add(b, "employees", json_pack("{s:I, s:s, s:s, s:s}", "team_id",
								  (json_int_t)fx.team_id[i / 2], "first_name", "A",
								  "last_name", ext, "external_id", ext));
	}
	for (int i = 0; i < 6; i++) /* six themes */
		snprintf(fx.theme_id[i], sizeof fx.theme_id[i], "%s", THEME_IDS[i]);
	fx.n_theme_ids = N_THEMES;
	for (int i = 0; i < N_RESP; i++) {
		ref_row *r = &fx.rows[fx.n];
		r->emp = rnd(N_EMPS);
		r->team = r->emp / 2;
		r->month = 1 + rnd(4);
		r->nps = rnd(12) - 1;
		model_response mr;
		model_response_init(&mr);
		mr.team_id = fx.team_id[r->team];
		mr.employee_id = fx.emp_id[r->emp];
		mr.nps = r->nps;
		mr.received_at = t_of(r->month, 1 + rnd(28));
		snprintf(mr.language, sizeof mr.language, "nl");
		if (store_bulk_response(b, &mr, &e)) {
			fprintf(stderr, "# bulk response: %s\n", e.message);
			return -1;
		}
		r->id = mr.id;
		random_analysis(r);
		fx.n++;
	}
	if (store_bulk_commit(b, &e))
		return -1;
	/* analyses straight into the file */
	sqlite3 *db;
	assert_int_equal(sqlite3_open(fx.path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (int i = 0; i < fx.n; i++) {
		ref_row *r = &fx.rows[i];
		if (r->label < 0)
			continue;
		char *sql = sqlite3_mprintf("INSERT INTO text_analysis VALUES(%lld, 'nl', %Q, 0, 0)",
					    (long long)r->id, LABELS[r->label]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
		sqlite3_free(sql);
		for (int k = 0; k < N_THEMES; k++)
			if (r->theme[k] >= 0)
				write_hits(db, r->id, THEME_IDS[k], r->theme[k]);
	}
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	if (an_index_build(fx.s, &fx.ix, &e)) {
		fprintf(stderr, "# an_index_build: %s\n", e.message);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(fx.s);
	an_index_free(fx.ix);
	db_remove(fx.path);
	return 0;
}

/* ---- counting by hand ---- */

typedef struct ref_cell {
	char key[2][64];
	int64_t n, nps_n, p, d;
	int emps;       /* bitmask of employees */
} ref_cell;

typedef struct ref_query {
	const char *dims[2];   /* "theme", "sentiment", "team", "month" */
	int n_dims;
	int theme;             /* filter: theme index, -1 none */
	int sentiment;         /* filter: label, -1 none */
	int analysed;          /* filter: 0 any, 1 analysed, 2 with a theme, -1 without */
	int team;              /* filter: team index, -1 none */
} ref_query;

static bool ref_keep(const ref_query *q, const ref_row *r)
{
	if (q->team >= 0 && r->team != q->team)
		return false;
	if (q->theme >= 0 && (r->label < 0 || r->theme[q->theme] < 0))
		return false;
	if (q->sentiment >= 0 && r->label != q->sentiment)
		return false;
	bool any = false;
	for (int k = 0; k < fx.n_theme_ids && k < 64; k++)
		any = any || (r->label >= 0 && r->theme[k] >= 0);
	if (q->analysed == 1 && r->label < 0)
		return false;
	if (q->analysed == 2 && !any)
		return false;
	if (q->analysed == -1 && r->label >= 0)
		return false;
	return true;
}

/* The keys of row r in dimension d: several for a theme, none when the
 * row is in no group of d. */
static int ref_keys(const char *d, const ref_row *r, char keys[64][64])
{
	int n = 0;
	if (strcmp(d, "theme") == 0) {
		for (int k = 0; k < fx.n_theme_ids && k < 64; k++)
			if (r->label >= 0 && r->theme[k] >= 0)
				snprintf(keys[n++], 64, "%s", fx.theme_id[k]);
	} else if (strcmp(d, "theme_neg") == 0 || strcmp(d, "theme_pos") == 0) {
		int want = d[6] == 'n' ? 0 : 2;
		for (int k = 0; k < fx.n_theme_ids && k < 64; k++)
			if (r->label >= 0 && r->theme[k] == want)
				snprintf(keys[n++], 64, "%s", fx.theme_id[k]);
	} else if (strcmp(d, "sentiment") == 0) {
		if (r->label >= 0)
			snprintf(keys[n++], 64, "%s", LABELS[r->label]);
	} else if (strcmp(d, "team") == 0) {
		snprintf(keys[n++], 64, "%s", r->team ? "Zuid" : "Noord");
	} else {
		snprintf(keys[n++], 64, "2025-%02d", r->month);
	}
	return n;
}

static void ref_add(ref_cell *c, const ref_row *r)
{
	c->n++;
	if (r->nps >= 0) {
		c->nps_n++;
		c->p += r->nps >= 9;
		c->d += r->nps <= 6;
	}
	c->emps |= 1 << r->emp;
}

static int persons(int mask)
{
	return mask == 0 ? 0 : (mask & (mask - 1)) ? 2 : 1;
}

/* The internal per-theme sentiment dimensions have no name. */
static an_dim dim_of(const char *d)
{
	if (strcmp(d, "theme_neg") == 0)
		return AN_DIM_THEME_NEG;
	if (strcmp(d, "theme_pos") == 0)
		return AN_DIM_THEME_POS;
	return an_dim_from_name(d);
}

static void check(const ref_query *q, const char *what)
{
	static ref_cell cells[4096];
	int nc = 0;
	ref_cell total;
	memset(&total, 0, sizeof total);
	static char k0[64][64], k1[64][64];
	for (int i = 0; i < fx.n; i++) {
		const ref_row *r = &fx.rows[i];
		if (!ref_keep(q, r))
			continue;
		ref_add(&total, r);
		int n0 = q->n_dims > 0 ? ref_keys(q->dims[0], r, k0) : 0;
		int n1 = q->n_dims > 1 ? ref_keys(q->dims[1], r, k1) : 1;
		for (int a = 0; a < n0; a++)
			for (int b = 0; b < n1; b++) {
				int c = 0;
				while (c < nc && !(strcmp(cells[c].key[0], k0[a]) == 0 &&
						   (q->n_dims < 2 || strcmp(cells[c].key[1], k1[b]) == 0)))
					c++;
				if (c == nc) {
					memset(&cells[nc], 0, sizeof cells[nc]);
					snprintf(cells[nc].key[0], 64, "%s", k0[a]);
					if (q->n_dims == 2)
						snprintf(cells[nc].key[1], 64, "%s", k1[b]);
					nc++;
				}
				ref_add(&cells[c], r);
			}
	}
	an_filter f;
	memset(&f, 0, sizeof f);
	if (q->theme >= 0)
		snprintf(f.theme, sizeof f.theme, "%s", fx.theme_id[q->theme]);
	if (q->sentiment >= 0)
		snprintf(f.sentiment, sizeof f.sentiment, "%s", LABELS[q->sentiment]);
	f.analysed = (int8_t)q->analysed;
	if (q->team >= 0)
		f.team_id = fx.team_id[q->team];
	an_dim dims[2] = {q->n_dims > 0 ? dim_of(q->dims[0]) : AN_DIM_NONE,
			  q->n_dims > 1 ? dim_of(q->dims[1]) : AN_DIM_NONE};
	an_result res;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(an_query(fx.ix, &f, dims, q->n_dims, &res, &e), KS_OK);
	int bad = 0;
	if (res.total.n != total.n || res.total.nps_n != total.nps_n || res.total.promoters != total.p ||
	    res.total.detractors != total.d || res.total_persons != persons(total.emps)) {
		fprintf(stderr, "# %s: total n %lld/%lld nps_n %lld/%lld persons %d/%d\n", what,
			(long long)res.total.n, (long long)total.n, (long long)res.total.nps_n,
			(long long)total.nps_n, res.total_persons, persons(total.emps));
		bad++;
	}
	if ((int)res.n_groups != (q->n_dims ? nc : 0)) {
		fprintf(stderr, "# %s: %zu groups, reference %d\n", what, res.n_groups, nc);
		bad++;
	}
	for (size_t g = 0; g < res.n_groups; g++) {
		const an_group *gr = &res.groups[g];
		int c = 0;
		while (c < nc && !(strcmp(cells[c].key[0], gr->key[0]) == 0 &&
				   (q->n_dims < 2 || strcmp(cells[c].key[1], gr->key[1]) == 0)))
			c++;
		if (c == nc) {
			fprintf(stderr, "# %s: group %s/%s not in the reference\n", what, gr->key[0], gr->key[1]);
			bad++;
			continue;
		}
		const ref_cell *rc = &cells[c];
		if (gr->c.n != rc->n || gr->c.nps_n != rc->nps_n || gr->c.promoters != rc->p ||
		    gr->c.detractors != rc->d || gr->persons != persons(rc->emps)) {
			fprintf(stderr, "# %s: group %s/%s n %lld/%lld nps_n %lld/%lld p %lld/%lld d %lld/%lld "
				"persons %d/%d\n", what, gr->key[0], gr->key[1], (long long)gr->c.n,
				(long long)rc->n, (long long)gr->c.nps_n, (long long)rc->nps_n,
				(long long)gr->c.promoters, (long long)rc->p, (long long)gr->c.detractors,
				(long long)rc->d, gr->persons, persons(rc->emps));
			bad++;
		}
	}
	an_result_free(&res);
	assert_int_equal(bad, 0);
}

static void check_all(const char *what)
{
	static const char *const dimsets[][2] = {
		{"theme", NULL}, {"sentiment", NULL}, {"team", "theme"}, {"theme", "team"},
		{"month", "theme"}, {"month", "sentiment"}, {"sentiment", "team"}, {"theme", "sentiment"},
		{"theme_neg", NULL}, {"theme_pos", NULL}, {"month", "theme_neg"}, {"theme_pos", "team"},
		{NULL, NULL},
	};
	char name[160];
	for (size_t i = 0; i < sizeof dimsets / sizeof dimsets[0]; i++) {
		ref_query q = {.dims = {dimsets[i][0], dimsets[i][1]}, .n_dims = dimsets[i][0] ? dimsets[i][1] ? 2 : 1 : 0,
			       .theme = -1, .sentiment = -1, .team = -1};
		snprintf(name, sizeof name, "%s: %s x %s", what, q.dims[0] ? q.dims[0] : "-", q.dims[1] ? q.dims[1] : "-");
		check(&q, name);
		q.theme = 0;
		check(&q, name);
		q.theme = -1;
		q.sentiment = 2;
		check(&q, name);
		q.sentiment = -1;
		for (int a = -1; a <= 2; a++) {
			q.analysed = a;
			check(&q, name);
		}
		q.analysed = 0;
		q.team = 1;
		q.theme = 2;
		check(&q, name);
	}
}

/* ---- the tests ---- */

static void test_build(void **state)
{
	(void)state;
	check_all("built from the store");
	an_index_info info;
	an_index_get_info(fx.ix, &info);
	/* 16 + 2 (text analysis, issue 14) + 4 (driver ratings offset, issue 15) */
	assert_int_equal(info.bytes_per_row, 22);
	assert_int_equal(info.rows, N_RESP);
}

/* store_text_row of reference row r */
static void to_text_row(const ref_row *r, store_text_row *out)
{
	memset(out, 0, sizeof *out);
	out->response_id = r->id;
	out->label = r->label;
	for (int k = 0; k < fx.n_theme_ids && r->label >= 0 && out->n_themes < STORE_TEXT_MAX_THEMES; k++)
		if (r->theme[k] >= 0) {
			snprintf(out->themes[out->n_themes], sizeof out->themes[0], "%s", fx.theme_id[k]);
			out->theme_labels[out->n_themes++] = r->theme[k];
		}
}

static void test_hook_replaces_and_removes(void **state)
{
	(void)state;
	store_text_row rows[50];
	/* the disclosure cache's key: a changed analysis of a row before the
	 * cut changes it, of a row after it does not */
	uint64_t d_all0, d_none0, d_all1, d_none1;
	size_t n_all, n_none;
	an_index_versions(fx.ix, t_of(6, 1), &d_all0, &n_all);
	an_index_versions(fx.ix, t_of(1, 1) - 12 * 3600, &d_none0, &n_none);
	for (int round = 0; round < 6; round++) {
		int n = 0;
		for (int j = 0; j < 50; j++) {
			ref_row *r = &fx.rows[rnd(fx.n)];
			if (round % 2)
				random_analysis(r);
			else
				r->label = -1; /* removed: erased or its text cleared */
			to_text_row(r, &rows[n++]);
		}
		an_index_text(fx.ix, rows, n);
		check_all(round % 2 ? "after replacing analyses" : "after removing analyses");
		/* the same analyses again (what a reanalysis mostly brings):
		 * nothing changes, and nothing waits for a row that is there */
		an_index_text(fx.ix, rows, n);
		check_all("after the same analyses again");
		an_index_info info;
		an_index_get_info(fx.ix, &info);
		assert_int_equal(info.text_pending, 0);
	}
	an_index_versions(fx.ix, t_of(6, 1), &d_all1, &n_all);
	an_index_versions(fx.ix, t_of(1, 1) - 12 * 3600, &d_none1, &n_none);
	assert_true(d_all1 != d_all0);
	assert_true(d_none1 == d_none0);
	assert_int_equal(n_none, 0);
}

static void test_analysis_before_its_row(void **state)
{
	(void)state;
	/* the next response's id: the analysis arrives first (a held answer) */
	int64_t next_id = fx.rows[fx.n - 1].id + 1;
	ref_row *r = &fx.rows[fx.n];
	memset(r, 0, sizeof *r);
	r->id = next_id;
	r->emp = 3;
	r->team = 1;
	r->month = 2;
	r->nps = 10;
	r->label = 2;
	for (int k = 0; k < 70; k++)
		r->theme[k] = -1;
	r->theme[4] = 2;
	store_text_row tr;
	to_text_row(r, &tr);
	an_index_text(fx.ix, &tr, 1);
	an_index_info info;
	an_index_get_info(fx.ix, &info);
	assert_int_equal(info.text_pending, 1);  /* it waits for its row */
	model_response mr;
	model_response_init(&mr);
	mr.team_id = fx.team_id[1];
	mr.employee_id = fx.emp_id[3];
	mr.nps = 10;
	mr.received_at = t_of(2, 14);
	snprintf(mr.language, sizeof mr.language, "nl");
	bool created = false;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_response_submit(fx.s, &mr, &created, &e), KS_OK);
	assert_true(created);
	assert_int_equal(mr.id, next_id);
	fx.n++;
	check_all("an analysis that came before its response");
	an_index_get_info(fx.ix, &info);
	assert_int_equal(info.text_pending, 0);  /* applied, and gone from the list */
}

static void test_set_dictionary_compacts(void **state)
{
	(void)state;
	/* 17 theme ids, every subset of them once on the same row: more
	 * distinct sets than codes; only the last is live. */
	for (int k = N_THEMES; k < 17; k++)
		snprintf(fx.theme_id[k], sizeof fx.theme_id[k], "extra%02d", k);
	fx.n_theme_ids = 17;
	ref_row *r = &fx.rows[7];
	store_text_row tr;
	for (uint32_t m = 1; m <= 70000; m++) {
		r->label = (int)(m % 3);
		for (int k = 0; k < 17; k++)
			r->theme[k] = (m >> k) & 1 ? (int)((m + (uint32_t)k) % 3) : -1;
		to_text_row(r, &tr);
		an_index_text(fx.ix, &tr, 1);
	}
	check_all("after 70,000 distinct theme sets");
}

static void test_more_than_64_themes(void **state)
{
	(void)state;
	for (int k = 17; k < 70; k++)
		snprintf(fx.theme_id[k], sizeof fx.theme_id[k], "more%02d", k);
	fx.n_theme_ids = 70;
	store_text_row tr;
	for (int k = 17; k < 70; k++) {
		ref_row *r = &fx.rows[100 + k];
		r->label = 1;
		for (int j = 0; j < 70; j++)
			r->theme[j] = j == k ? 0 : -1;
		to_text_row(r, &tr);
		an_index_text(fx.ix, &tr, 1);
	}
	char ids[80][48];
	size_t n = an_index_theme_ids(fx.ix, ids, 80);
	assert_int_equal(n, 64);
	/* the reference counts the first 64 ids only (ref_keys, ref_keep) */
	check_all("with 70 theme ids");
	/* a theme beyond the 64th is no group, and as a filter keeps nothing */
	an_filter f;
	memset(&f, 0, sizeof f);
	snprintf(f.theme, sizeof f.theme, "more69");
	an_result res;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(an_query(fx.ix, &f, NULL, 0, &res, &e), KS_OK);
	assert_int_equal(res.total.n, 0);
	an_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_hook_replaces_and_removes),
		cmocka_unit_test(test_analysis_before_its_row),
		cmocka_unit_test(test_set_dictionary_compacts),
		cmocka_unit_test(test_more_than_64_themes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
