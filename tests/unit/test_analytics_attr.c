/* test_analytics_attr.c — the analytics index's attribute columns (issue
 * 16, H5): product held, login band, newsletter and custom attributes as
 * dimensions and filters of an_query, against counts made by hand.
 *
 * A temporary store (a file under /tmp named by pid) gets 60 customers and
 * 600 responses (noon UTC of a day in June..November 2025, so the local day
 * is the UTC day), then rows of migration 023's tables straight through
 * sqlite3: three products with since/until dates inside the period, logins
 * and newsletter (un)subscriptions at known times, a custom attribute
 * `tier` (3 values, some customers without), a key `code` (a value per
 * customer), and 19 keys in all (16 indexed, the three rarest not; the
 * API test covers the 254-value dictionary), and an import_runs row. The reference
 * keeps its own copy of all of it and counts by hand with the rules of
 * analytics.h: a product counts when since <= the local day < until, the
 * band counts logins in [t - 90 days, t), the newsletter is the latest
 * (un)subscription before t.
 * Then: groupings and filters; the bytes per row an_index_get_info states;
 * a second "import" (a new holding, a new import run) after an_index_attr_load
 * gives the new counts; an erased customer's rows fall to "unknown".
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

#define N_CUST 60
#define N_RESP 600
#define N_PROD 3
#define DAY 86400

static uint64_t rng = 0x6174747264696d73ULL;
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

typedef struct ref_resp {
	int cust;          /* index, -1 = no customer */
	int64_t t;
	int nps;
} ref_resp;

typedef struct ref_hold {
	int cust, prod;
	int64_t since, until;  /* unix seconds of the days' midnights UTC; 0 / INT64_MAX = open */
} ref_hold;

typedef struct ref_ev {
	int cust;
	int kind;          /* 0 login, 1 subscribed, 2 unsubscribed */
	int64_t at;
} ref_ev;

static struct {
	char path[160];
	ks_store *s;
	an_index *ix;
	int64_t cust_id[N_CUST], prod_id[N_PROD];
	ref_resp r[N_RESP];
	ref_hold h[400];
	int n_h;
	ref_ev ev[2000];
	int n_ev;
	const char *tier[N_CUST];  /* NULL = none */
	int erased;                /* customer index erased, -1 none */
} fx;

static const char *const PROD_NAME[N_PROD] = {"Basis", "Spaar", "Hypotheek"};

static void db_remove(const char *path)
{
	char p[200];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static int64_t t_of(int month, int day)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = 125;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	return (int64_t)timegm(&tm);
}

static void sql(sqlite3 *db, char *q)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, q, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "# %s: %s\n", q, err ? err : "?");
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_free(err);
	sqlite3_free(q);
}

static void day_text(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d", &tm);
}

static void add_holding(sqlite3 *db, int cust, int prod, int64_t since, int64_t until)
{
	fx.h[fx.n_h++] = (ref_hold){cust, prod, since, until};
	char s[16], u[16];
	day_text(since, s, sizeof s);
	day_text(until == INT64_MAX ? 0 : until, u, sizeof u);
	char *q = sqlite3_mprintf("INSERT OR REPLACE INTO holdings VALUES(%lld, %lld, %Q, %Q)",
				  (long long)fx.cust_id[cust], (long long)fx.prod_id[prod], since ? s : NULL,
				  until == INT64_MAX ? NULL : u);
	sql(db, q);
}

static int setup(void **state)
{
	(void)state;
	snprintf(fx.path, sizeof fx.path, "/tmp/ks_test_analytics_attr_%ld.db", (long)getpid());
	db_remove(fx.path);
	fx.erased = -1;
	ks_error e;
	ks_error_clear(&e);
	if (store_open(fx.path, NULL, &fx.s, &e))
		return -1;
	store_bulk *b = NULL;
	if (store_bulk_begin(fx.s, &b, &e))
		return -1;
	for (int i = 0; i < N_CUST; i++) {
		char ext[16];
		snprintf(ext, sizeof ext, "C%d", i);
		json_t *o = json_pack("{s:s, s:s, s:s}", "external_id", ext, "name", ext, "language", "nl");
		if (store_bulk_entity(b, model_entity_find("customers"), o, &fx.cust_id[i], &e))
			return -1;
		json_decref(o);
	}
	for (int i = 0; i < N_RESP; i++) {
		ref_resp *r = &fx.r[i];
		r->cust = i % 20 == 0 ? -1 : rnd(N_CUST);
		r->t = t_of(6 + rnd(6), 1 + rnd(28)) + 12 * 3600;
		r->nps = rnd(11);
		model_response mr;
		model_response_init(&mr);
		mr.customer_id = r->cust >= 0 ? fx.cust_id[r->cust] : 0;
		mr.nps = r->nps;
		mr.received_at = r->t;
		snprintf(mr.language, sizeof mr.language, "nl");
		if (store_bulk_response(b, &mr, &e))
			return -1;
	}
	if (store_bulk_commit(b, &e))
		return -1;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(fx.path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	sql(db, sqlite3_mprintf("BEGIN"));
	for (int p = 0; p < N_PROD; p++) {
		sql(db, sqlite3_mprintf("INSERT INTO products(external_id, name, created_at) VALUES('P%d', %Q, 0)", p,
					PROD_NAME[p]));
		fx.prod_id[p] = sqlite3_last_insert_rowid(db);
	}
	for (int c = 0; c < N_CUST; c++) {
		if (c % 2 == 0)
			add_holding(db, c, 0, 0, INT64_MAX);                       /* always */
		if (c % 3 == 0)
			add_holding(db, c, 1, t_of(8, 15), INT64_MAX);             /* from 15 August */
		if (c % 5 == 0)
			add_holding(db, c, 2, t_of(1, 1), t_of(10, 1));            /* until 1 October */
		int logins = c % 4 == 0 ? 0 : c % 4 == 1 ? 2 : c % 4 == 2 ? 7 : 30;
		for (int k = 0; k < logins; k++) {
			ref_ev *v = &fx.ev[fx.n_ev++];
			*v = (ref_ev){c, 0, t_of(3, 1) + rnd(270 * DAY)};
			sql(db, sqlite3_mprintf("INSERT INTO customer_events(customer_id, kind, occurred_at)"
						" VALUES(%lld, 'login', %lld)", (long long)fx.cust_id[c], (long long)v->at));
		}
		if (c % 3 != 2) {
			ref_ev *v = &fx.ev[fx.n_ev++];
			*v = (ref_ev){c, 1 + (c % 3 == 1), t_of(7, 1) + rnd(90 * DAY)};
			sql(db, sqlite3_mprintf("INSERT INTO customer_events(customer_id, kind, occurred_at)"
						" VALUES(%lld, %Q, %lld)", (long long)fx.cust_id[c],
						v->kind == 1 ? "newsletter_subscribed" : "newsletter_unsubscribed",
						(long long)v->at));
		}
		static const char *const tiers[] = {"goud", "zilver", "brons"};
		fx.tier[c] = c % 7 == 0 ? NULL : tiers[c % 3];
		if (fx.tier[c])
			sql(db, sqlite3_mprintf("INSERT INTO customer_attributes VALUES(%lld, 'tier', %Q)",
						(long long)fx.cust_id[c], fx.tier[c]));
		/* 17 more keys: k00 on every customer .. k16 on fewer (the rarest not indexed) */
		for (int k = 0; k < 17; k++)
			if (c < N_CUST - 3 * k)
				sql(db, sqlite3_mprintf("INSERT INTO customer_attributes VALUES(%lld, 'k%02d', 'v')",
							(long long)fx.cust_id[c], k));
	}
	/* code: a value of its own per customer */
	for (int c = 0; c < N_CUST; c++)
		sql(db, sqlite3_mprintf("INSERT INTO customer_attributes VALUES(%lld, 'code', 'c%03d')",
					(long long)fx.cust_id[c], c));
	sql(db, sqlite3_mprintf("INSERT INTO import_runs(kind, started_at, finished_at) VALUES('events', 1, 2)"));
	sql(db, sqlite3_mprintf("COMMIT"));
	sqlite3_close(db);
	if (an_index_build(fx.s, &fx.ix, &e) || an_index_attr_load(fx.ix, &e)) {
		fprintf(stderr, "# build: %s\n", e.message);
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

/* ---- by hand ---- */

static bool ref_holds(const ref_resp *r, int prod)
{
	if (r->cust < 0 || r->cust == fx.erased)
		return false;
	int64_t day = r->t - r->t % DAY;  /* noon UTC: the local day is the UTC day */
	for (int i = 0; i < fx.n_h; i++)
		if (fx.h[i].cust == r->cust && fx.h[i].prod == prod && fx.h[i].since <= day && day < fx.h[i].until)
			return true;
	return false;
}

static const char *ref_band(const ref_resp *r)
{
	if (r->cust < 0 || r->cust == fx.erased)
		return "unknown";
	int n = 0;
	for (int i = 0; i < fx.n_ev; i++)
		n += fx.ev[i].cust == r->cust && fx.ev[i].kind == 0 && fx.ev[i].at >= r->t - 90 * DAY && fx.ev[i].at < r->t;
	return n == 0 ? "none" : n <= 3 ? "1-3" : n <= 10 ? "4-10" : "11+";
}

static const char *ref_news(const ref_resp *r)
{
	const char *v = "unknown";
	int64_t best = -1;
	for (int i = 0; r->cust >= 0 && r->cust != fx.erased && i < fx.n_ev; i++)
		if (fx.ev[i].cust == r->cust && fx.ev[i].kind > 0 && fx.ev[i].at < r->t && fx.ev[i].at > best) {
			best = fx.ev[i].at;
			v = fx.ev[i].kind == 1 ? "yes" : "no";
		}
	return v;
}

static const char *ref_tier(const ref_resp *r)
{
	if (r->cust < 0 || r->cust == fx.erased || fx.tier[r->cust] == NULL)
		return "unknown";
	return fx.tier[r->cust];
}

/* n and NPS answers of the group key of an_query(dim) must be the hand count */
static void check_group(const an_result *res, const char *key, int64_t want)
{
	int64_t got = 0;
	for (size_t g = 0; g < res->n_groups; g++)
		if (strcmp(res->groups[g].key[0], key) == 0)
			got = res->groups[g].c.n;
	if (got != want)
		fprintf(stderr, "# group %s: %lld, expected %lld\n", key, (long long)got, (long long)want);
	assert_int_equal(got, want);
}

static void query(const char *dim, const an_filter *f, an_result *res)
{
	an_filter none;
	memset(&none, 0, sizeof none);
	an_dim d = an_dim_resolve(fx.ix, dim);
	assert_int_not_equal(d, AN_DIM_NONE);
	ks_error e;
	assert_int_equal(an_query(fx.ix, f ? f : &none, &d, 1, res, &e), KS_OK);
	assert_string_equal(res->dim_name[0], dim);
}

static void check_all(void)
{
	an_result res;
	/* products: a response in each product's group */
	query("product", NULL, &res);
	int64_t total_in = 0;
	for (int p = 0; p < N_PROD; p++) {
		int64_t n = 0;
		for (int i = 0; i < N_RESP; i++)
			n += ref_holds(&fx.r[i], p);
		total_in += n;
		check_group(&res, PROD_NAME[p], n);
	}
	int64_t sum = 0;
	for (size_t g = 0; g < res.n_groups; g++) {
		sum += res.groups[g].c.n;
		assert_true(res.groups[g].id[0] > 0);
	}
	assert_int_equal(sum, total_in);               /* overlapping groups */
	assert_int_equal(res.total.n, N_RESP);          /* the total counts every row once */
	an_result_free(&res);
	static const char *const bands[] = {"unknown", "none", "1-3", "4-10", "11+"};
	query("login_band", NULL, &res);
	for (int b = 0; b < 5; b++) {
		int64_t n = 0;
		for (int i = 0; i < N_RESP; i++)
			n += strcmp(ref_band(&fx.r[i]), bands[b]) == 0;
		check_group(&res, bands[b], n);
	}
	an_result_free(&res);
	static const char *const news[] = {"unknown", "yes", "no"};
	query("newsletter", NULL, &res);
	for (int b = 0; b < 3; b++) {
		int64_t n = 0;
		for (int i = 0; i < N_RESP; i++)
			n += strcmp(ref_news(&fx.r[i]), news[b]) == 0;
		check_group(&res, news[b], n);
	}
	an_result_free(&res);
	static const char *const tiers[] = {"unknown", "goud", "zilver", "brons"};
	query("attr.tier", NULL, &res);
	for (int b = 0; b < 4; b++) {
		int64_t n = 0;
		for (int i = 0; i < N_RESP; i++)
			n += strcmp(ref_tier(&fx.r[i]), tiers[b]) == 0;
		check_group(&res, tiers[b], n);
	}
	an_result_free(&res);
	/* filters: product x newsletter, attr x band */
	for (int p = 0; p < N_PROD; p++) {
		an_filter f;
		memset(&f, 0, sizeof f);
		f.product_id = fx.prod_id[p];
		snprintf(f.newsletter, sizeof f.newsletter, "yes");
		query("attr.tier", &f, &res);
		int64_t n = 0;
		for (int i = 0; i < N_RESP; i++)
			n += ref_holds(&fx.r[i], p) && strcmp(ref_news(&fx.r[i]), "yes") == 0;
		assert_int_equal(res.total.n, n);
		an_result_free(&res);
	}
	an_filter f;
	memset(&f, 0, sizeof f);
	snprintf(f.attr[0].key, sizeof f.attr[0].key, "tier");
	snprintf(f.attr[0].value, sizeof f.attr[0].value, "zilver");
	snprintf(f.login_band, sizeof f.login_band, "11+");
	query("product", &f, &res);
	int64_t n = 0;
	for (int i = 0; i < N_RESP; i++)
		n += strcmp(ref_tier(&fx.r[i]), "zilver") == 0 && strcmp(ref_band(&fx.r[i]), "11+") == 0;
	assert_int_equal(res.total.n, n);
	assert_true(n > 0);
	an_result_free(&res);
	/* unknown values keep nothing */
	snprintf(f.attr[0].value, sizeof f.attr[0].value, "platina");
	query("product", &f, &res);
	assert_int_equal(res.total.n, 0);
	an_result_free(&res);
}

static void test_groups_and_filters(void **state)
{
	(void)state;
	check_all();
}

static void test_caps_and_bytes(void **state)
{
	(void)state;
	/* 19 keys by customers: code, k00 (60), k01 (57), k02, k03, tier (51), k04 .. k13 (21)
	 * indexed (16); k14, k15, k16 the rarest are not */
	assert_int_equal(an_dim_resolve(fx.ix, "attr.k14"), AN_DIM_NONE);
	assert_int_equal(an_dim_resolve(fx.ix, "attr.k16"), AN_DIM_NONE);
	assert_int_not_equal(an_dim_resolve(fx.ix, "attr.k13"), AN_DIM_NONE);
	assert_int_not_equal(an_dim_resolve(fx.ix, "attr.tier"), AN_DIM_NONE);
	assert_int_not_equal(an_dim_resolve(fx.ix, "attr.k00"), AN_DIM_NONE);
	assert_int_equal(an_dim_resolve(fx.ix, "attr.nosuch"), AN_DIM_NONE);
	an_index_info info;
	an_index_get_info(fx.ix, &info);
	assert_int_equal(info.attr_keys, AN_ATTR_MAX_KEYS);
	assert_int_equal(info.attr_products, N_PROD);
	/* 22 bytes of the response columns + 2 (products) + 1 (band, newsletter) + 1 a key */
	assert_int_equal(info.bytes_per_row, 22 + 3 + AN_ATTR_MAX_KEYS);
	fprintf(stderr, "# %zu bytes a response with %d attribute keys; side tables %zu bytes\n",
		info.bytes_per_row, AN_ATTR_MAX_KEYS, info.attr_bytes);
	json_t *j = an_index_attr_json(fx.ix);
	assert_int_equal(json_array_size(json_object_get(j, "products")), N_PROD);
	assert_int_equal(json_array_size(json_object_get(j, "attributes")), AN_ATTR_MAX_KEYS);
	assert_int_equal(json_integer_value(json_object_get(j, "run")), 1);
	json_decref(j);
}

/* A second import: a new holding and a new run; the columns are rebuilt. */
static void test_reload(void **state)
{
	(void)state;
	sqlite3 *db;
	assert_int_equal(sqlite3_open(fx.path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	for (int c = 1; c < N_CUST; c += 2)
		add_holding(db, c, 0, t_of(9, 1), INT64_MAX);
	sql(db, sqlite3_mprintf("INSERT INTO import_runs(kind, started_at, finished_at) VALUES('holdings', 3, 4)"));
	sqlite3_close(db);
	ks_error e;
	assert_int_equal(an_index_attr_load(fx.ix, &e), KS_OK);
	check_all();
}

/* An erased customer's answers fall to "unknown" and out of every product. */
static void test_forget(void **state)
{
	(void)state;
	fx.erased = fx.r[1].cust >= 0 ? fx.r[1].cust : fx.r[2].cust;
	an_index_forget(fx.ix, fx.cust_id[fx.erased], 0);
	check_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups_and_filters),
		cmocka_unit_test(test_caps_and_bytes),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_forget),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
