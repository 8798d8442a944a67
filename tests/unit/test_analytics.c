/* test_analytics.c — the analytics index (an_query) against a brute-force
 * reference.
 *
 * A temporary SQLite store (a file under /tmp named by pid, removed at the
 * end with its -wal/-shm files) is filled from a fixed seed through the
 * store_bulk_* API: one organisation, three departments, eight teams,
 * employees, customers with segments, cities, birth years and
 * customer_since dates, journeys with touchpoints, and a few thousand
 * responses with random (and missing) NPS, grade and CES answers, channels,
 * languages and times over three years, some exactly on day boundaries.
 * The index is built from it (an_index_build).
 *
 * The reference never touches the index or the store's read functions: it
 * opens the same file read-only with sqlite3_open_v2, SELECTs the raw rows,
 * the customer attributes and the org tree, and computes every group key in
 * plain C (month via gmtime_r, ISO week via strftime("%G-W%V"), age band
 * from the response's year minus the birth year, org roll-ups by walking
 * the parent chain) and counts by hand. For many (dims, filter)
 * combinations every group's metrics_counts from an_query must equal the
 * reference's, the groups must be the same set, the total must equal the
 * reference total and the sum of the groups, every group's and the
 * total's count of distinct employees (0, 1, 2 = two or more) must match,
 * and the order must be the natural one (names alphabetically with
 * "(none)"/"unknown" last, time chronologically, every first-dimension
 * value one contiguous block).
 *
 * Time buckets are local: the index's zone is Europe/Amsterdam unless told
 * otherwise. The reference takes the local wall clock as gmtime_r of
 * t + offset, the offset from its own reading of the EU rule (libc's
 * timegm for the last Sundays of March and October), never from
 * core/tz.c; test_other_zones switches both to London, Helsinki, UTC and a
 * +05:30 zone and back.
 *
 * Definitions the reference follows (docs/API.md, "Metrics"):
 *   - team_id filter: the unit and everything below it;
 *   - department/organisation: the ancestor of that kind of the response's
 *     unit; no unit -> "(none)";
 *   - age in the local year of the response (response year - birth_year):
 *     <25, 25-34, 35-44, 45-54, 55-64, 65+; no birth year or a negative
 *     age -> unknown (the data holds only adults);
 *   - customer_since_band from the response year - the year of
 *     customer_since: 0 -> <1y, 1-2 -> 1-2y, 3-5 -> 3-5y, 6-10 -> 6-10y,
 *     11+ -> >10y; none or negative -> unknown;
 *   - no channel / segment / city -> "unknown"; [from, to) in seconds.
 *
 * Finally responses are submitted through store_response_submit (the
 * commit hook) and must be visible to the very next an_query, and a fresh
 * index built from the file must agree with the reference again.
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
#include "core/tz.h"
#include "model/model.h"
#include "store/store.h"

/* The dimensions this reference knows: up to year. Issue 14's theme and
 * sentiment (rows in several groups or none) are test_analytics_text.c's. */
#define AN_DIMS_HERE (AN_DIM_YEAR + 1)

/* ---- the reference's clock ------------------------------------------------ */

/* The zone the reference buckets by: standard offset and the EU rule. */
static int ref_std = 3600;
static bool ref_eu = true;

/* 01:00 UTC on the last Sunday of month mon (0-based, a 31-day month). */
static int64_t ref_last_sunday_0100(int year, int mon)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = 31;
	tm.tm_hour = 1;
	time_t t = timegm(&tm);  /* also sets tm_wday */
	return (int64_t)t - (int64_t)tm.tm_wday * 86400;
}

/* Seconds east of UTC at t in the reference's zone. */
static int ref_offset(int64_t t)
{
	if (!ref_eu)
		return ref_std;
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	int y = tm.tm_year + 1900;
	bool summer = t >= ref_last_sunday_0100(y, 2) && t < ref_last_sunday_0100(y, 9);
	return ref_std + (summer ? 3600 : 0);
}

/* ---- a fixed-seed generator (splitmix64) -------------------------------- */

static uint64_t rng_state = 0x6b6c616e7473746dULL;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* 0 .. n-1 */
static int rnd(int n)
{
	return (int)(rng_next() % (uint64_t)n);
}

static bool chance(int percent)
{
	return rnd(100) < percent;
}

/* ---- the data set ----------------------------------------------------------- */

#define N_DEPTS 3
#define N_TEAMS 8
#define EMP_PER_TEAM 3
#define N_EMPS (N_TEAMS * EMP_PER_TEAM)
#define N_JOURNEYS 3
#define N_TPS 7
#define N_CUSTOMERS 300
#define N_RESPONSES 4000

/* 2023-06-15T00:00:00Z .. + 3 * 365 days */
#define T0 1686787200LL
#define T1 (T0 + 3LL * 365 * 86400)

static const char *const dept_names[N_DEPTS] = {"Klantenservice", "Buitendienst", "Verkoop"};
/* (Names that share a long prefix have a test of their own.) */
static const char *const team_names[N_TEAMS] = {
	"Telefonie Noord",
	"Klantenservice Alkmaar",
	"Klantenservice Almere",
	"Monteurs Oost",
	"Monteurs West",
	"Planning",
	"Zakelijk",
	"Particulier",
};
static const int team_dept[N_TEAMS] = {0, 0, 0, 1, 1, 1, 2, 2};
static const char *const first_names[] = {"Anna", "Bram", "Chantal", "Daan", "Eva", "Femke",
					   "Gijs", "Hanna", "Ilse", "Joost", "Kees", "Lotte"};
static const char *const last_names[] = {"de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer",
					  "de Boer", "Mulder", "Bos", "Vos"};
static const char *const journey_names[N_JOURNEYS] = {"Verhuizen", "Storing melden", "Nieuw contract"};
static const int tp_journey[N_TPS] = {0, 0, 1, 1, 1, 2, 2};
static const char *const tp_names[N_TPS] = {"Verhuizing doorgeven", "Eindafrekening", "Storing melden",
					    "Monteur aan huis", "Storing opgelost", "Offerte",
					    "Welkomstgesprek"};
static const char *const segments[] = {"particulier", "zakelijk", "mkb", "vve"};
static const char *const cities[] = {"Amsterdam", "Utrecht", "Zwolle", "Groningen", "Eindhoven", "Den Haag"};
static const char *const channels[] = {"phone", "email", "chat", "shop", "web", "field"};

typedef struct fixture {
	char path[128];
	ks_store *store;
	an_index *ix;
	an_index *ix2;   /* a second index built at the end (freed after the store) */
	int64_t org_id;
	int64_t dept_id[N_DEPTS];
	int64_t team_id[N_TEAMS];
	int64_t emp_id[N_EMPS];
	int64_t journey_id[N_JOURNEYS];
	int64_t tp_id[N_TPS];
	int64_t cust_id[N_CUSTOMERS];
	int64_t resp_t[N_RESPONSES];
} fixture;

static fixture fx;

static void db_remove(const char *path)
{
	char p[160];
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
	if (err)
		fprintf(stderr, "# bulk %s: %s (%s)\n", entity, e.message, e.field);
	json_decref(obj);
	return err ? 0 : id;
}

static int64_t random_time(void)
{
	int64_t days = (T1 - T0) / 86400;
	int64_t day = T0 / 86400 + rnd((int)days);
	int k = rnd(100);
	if (k < 5)
		return day * 86400;             /* UTC midnight exactly */
	if (k < 10)
		return day * 86400 + 86399;     /* the last second of the UTC day */
	int64_t local_midnight = day * 86400 - ref_offset(day * 86400);
	if (k < 15)
		return local_midnight;          /* Amsterdam midnight (23:00Z or 22:00Z) */
	if (k < 20)
		return local_midnight - 1;
	return day * 86400 + rnd(86400);
}

static bool fill(store_bulk *b)
{
	char name[160];
	fx.org_id = bulk_add(b, "teams", json_pack("{s:s, s:s}", "name", "Energie Test BV", "kind", "organisation"));
	for (int d = 0; d < N_DEPTS; d++)
		fx.dept_id[d] = bulk_add(b, "teams", json_pack("{s:s, s:s, s:I}", "name", dept_names[d], "kind",
							       "department", "parent_id", (json_int_t)fx.org_id));
	for (int t = 0; t < N_TEAMS; t++)
		fx.team_id[t] = bulk_add(b, "teams", json_pack("{s:s, s:s, s:I}", "name", team_names[t], "kind", "team",
							       "parent_id", (json_int_t)fx.dept_id[team_dept[t]]));
	for (int i = 0; i < N_EMPS; i++) {
		char ext[32];
		snprintf(ext, sizeof ext, "E%d", i);
		fx.emp_id[i] = bulk_add(b, "employees",
					json_pack("{s:I, s:s, s:s, s:s}", "team_id", (json_int_t)fx.team_id[i / EMP_PER_TEAM],
						  "first_name", first_names[i % 12], "last_name", last_names[(i * 7) % 10],
						  "external_id", ext));
	}
	for (int j = 0; j < N_JOURNEYS; j++)
		fx.journey_id[j] = bulk_add(b, "journeys", json_pack("{s:s}", "name", journey_names[j]));
	for (int i = 0; i < N_TPS; i++)
		fx.tp_id[i] = bulk_add(b, "touchpoints", json_pack("{s:I, s:s, s:i}", "journey_id",
								   (json_int_t)fx.journey_id[tp_journey[i]], "name",
								   tp_names[i], "position", i));
	for (int i = 0; i < N_CUSTOMERS; i++) {
		json_t *o = json_object();
		snprintf(name, sizeof name, "C%04d", i);
		json_object_set_new(o, "external_id", json_string(name));
		json_object_set_new(o, "language", json_string(chance(20) ? "en" : "nl"));
		if (!chance(10))
			json_object_set_new(o, "segment", json_string(segments[rnd(4)]));
		if (!chance(10))
			json_object_set_new(o, "city", json_string(cities[rnd(6)]));
		if (!chance(10))
			json_object_set_new(o, "birth_year", json_integer(1930 + rnd(75))); /* 1930..2004: adults */
		if (!chance(10)) {
			/* 2004-01-01 .. 2026-05-31; a date after some of the
			 * customer's responses is possible (negative tenure). */
			time_t since = (time_t)(1072915200LL + (int64_t)rnd(8187) * 86400);
			struct tm tm;
			gmtime_r(&since, &tm);
			strftime(name, sizeof name, "%Y-%m-%d", &tm);
			json_object_set_new(o, "customer_since", json_string(name));
		}
		fx.cust_id[i] = bulk_add(b, "customers", o);
		if (fx.cust_id[i] == 0)
			return false;
	}
	for (int i = 0; i < N_RESPONSES; i++) {
		model_response r;
		model_response_init(&r);
		r.received_at = random_time();
		/* Exact boundaries: new year, quarter, ISO week 2025-W01 (Monday
		 * 2024-12-30), one second either side, in UTC and then in
		 * Amsterdam: 2026-01-01 00:00 CET = 1767222000, 2024-12-30 00:00
		 * CET = 1735513200, 2025-04-01 00:00 CEST = 1743458400, and the
		 * switches of 2025 (2025-03-30 and 2025-10-26 01:00Z). */
		static const int64_t edges[] = {1704067200, 1704067199, 1735689600, 1735689599, 1735516800,
						1735516799, 1743465600, 1743465599, 1767225600, 1767225599,
						1767222000, 1767221999, 1735513200, 1735513199, 1743458400,
						1743458399, 1743296400, 1743296399, 1761440400, 1761440399};
		if (i < (int)(sizeof edges / sizeof edges[0]))
			r.received_at = edges[i];
		fx.resp_t[i] = r.received_at;
		if (!chance(10))
			r.customer_id = fx.cust_id[rnd(N_CUSTOMERS)];
		if (!chance(8)) {
			int t = rnd(N_TEAMS);
			r.team_id = fx.team_id[t];
			if (!chance(20))
				r.employee_id = fx.emp_id[t * EMP_PER_TEAM + rnd(EMP_PER_TEAM)];
		}
		if (!chance(10))
			r.touchpoint_id = fx.tp_id[rnd(N_TPS)];
		if (!chance(7))
			snprintf(r.channel, sizeof r.channel, "%s", channels[rnd(6)]);
		snprintf(r.language, sizeof r.language, "%s", chance(25) ? "en" : "nl");
		r.nps = chance(15) ? -1 : rnd(11);
		r.grade = chance(30) ? -1 : 1 + rnd(10);
		r.ces = chance(50) ? -1 : 1 + rnd(7);
		if (r.nps < 0 && r.grade < 0 && r.ces < 0)
			r.nps = rnd(11);
		snprintf(r.source, sizeof r.source, "import");
		ks_error e;
		ks_error_clear(&e);
		if (store_bulk_response(b, &r, &e)) {
			fprintf(stderr, "# bulk response: %s\n", e.message);
			return false;
		}
	}
	return true;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t last_ms;

static int group_setup(void **state)
{
	(void)state;
	int64_t t0 = mono_ms();
	snprintf(fx.path, sizeof fx.path, "/tmp/ks_test_analytics_%ld.db", (long)getpid());
	db_remove(fx.path);
	ks_error e;
	ks_error_clear(&e);
	if (store_open(fx.path, NULL, &fx.store, &e)) {
		fprintf(stderr, "# store_open: %s\n", e.message);
		return -1;
	}
	store_bulk *b = NULL;
	if (store_bulk_begin(fx.store, &b, &e))
		return -1;
	if (!fill(b)) {
		store_bulk_rollback(b);
		return -1;
	}
	if (store_bulk_commit(b, &e)) {
		fprintf(stderr, "# bulk commit: %s\n", e.message);
		return -1;
	}
	if (an_index_build(fx.store, &fx.ix, &e)) {
		fprintf(stderr, "# an_index_build: %s\n", e.message);
		return -1;
	}
	int64_t now = mono_ms();
	print_message("# setup: %d responses stored and indexed (%lld ms)\n", N_RESPONSES, (long long)(now - t0));
	last_ms = now;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	store_close(fx.store); /* first: its writer calls the hook until it stops */
	an_index_free(fx.ix);
	an_index_free(fx.ix2);
	db_remove(fx.path);
	return 0;
}

/* ---- the reference ----------------------------------------------------------- */

typedef struct ref_unit {
	int64_t parent;
	char kind[16];
	char name[160];
} ref_unit;

typedef struct ref_cust {
	bool exists;
	char segment[64];   /* "" = none */
	char city[64];
	int birth_year;     /* 0 = none */
	int since_year;     /* 0 = none */
} ref_cust;

/* One response with everything the reference needs, keys precomputed. */
typedef struct ref_row {
	int64_t t;
	int64_t team, employee, tp, journey, customer;
	int nps, grade, ces;
	char channel[16];
	char language[3];
	int64_t id[AN_DIM__COUNT];      /* entity dims: the entity id (0 = none) */
	char label[AN_DIM__COUNT][160];
} ref_row;

typedef struct reference {
	ref_unit *units;    /* by id */
	size_t n_units;
	ref_cust *custs;    /* by id */
	size_t n_custs;
	ref_row *rows;
	size_t n_rows;
} reference;

static reference ref;

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static bool is_entity_dim(an_dim d)
{
	return d == AN_DIM_TEAM || d == AN_DIM_DEPARTMENT || d == AN_DIM_ORGANISATION || d == AN_DIM_EMPLOYEE ||
	       d == AN_DIM_TOUCHPOINT || d == AN_DIM_JOURNEY;
}

/* The ancestor-or-self of unit u of the given kind; 0 when none. */
static int64_t ref_ancestor(int64_t u, const char *kind)
{
	for (int depth = 0; u > 0 && (size_t)u < ref.n_units && depth < 16; depth++) {
		if (strcmp(ref.units[u].kind, kind) == 0)
			return u;
		u = ref.units[u].parent;
	}
	return 0;
}

static bool ref_under(int64_t u, int64_t top)
{
	for (int depth = 0; u > 0 && (size_t)u < ref.n_units && depth < 16; depth++) {
		if (u == top)
			return true;
		u = ref.units[u].parent;
	}
	return false;
}

static const char *age_label(int age)
{
	if (age < 0)
		return "unknown";
	if (age < 25)
		return "<25";
	if (age < 35)
		return "25-34";
	if (age < 45)
		return "35-44";
	if (age < 55)
		return "45-54";
	if (age < 65)
		return "55-64";
	return "65+";
}

static const char *since_label(int years)
{
	if (years < 0)
		return "unknown";
	if (years < 1)
		return "<1y";
	if (years <= 2)
		return "1-2y";
	if (years <= 5)
		return "3-5y";
	if (years <= 10)
		return "6-10y";
	return ">10y";
}

static void ref_free(void)
{
	free(ref.units);
	free(ref.custs);
	free(ref.rows);
	memset(&ref, 0, sizeof ref);
}

/* (Re)read everything from the file, read-only, with plain sqlite3. */
static void ref_load(void)
{
	ref_free();
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(fx.path, &db, SQLITE_OPEN_READONLY, NULL);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	sqlite3_stmt *st = NULL;

	/* names by id: units, employees, touchpoints, journeys */
	int64_t max_id = 0;
	const char *max_sql = "SELECT max(m) FROM (SELECT max(id) m FROM org_units UNION ALL SELECT max(id) FROM employees"
			      " UNION ALL SELECT max(id) FROM touchpoints UNION ALL SELECT max(id) FROM journeys"
			      " UNION ALL SELECT max(id) FROM customers)";
	assert_int_equal(sqlite3_prepare_v2(db, max_sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	max_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	size_t n = (size_t)max_id + 1;
	/* Four name tables share one id space here only for convenience:
	 * each gets its own array. */
	ref_unit *units = calloc(n, sizeof *units);
	ref_unit *emps = calloc(n, sizeof *emps);      /* parent = team */
	ref_unit *tps = calloc(n, sizeof *tps);        /* parent = journey */
	ref_unit *journeys = calloc(n, sizeof *journeys);
	ref.custs = calloc(n, sizeof *ref.custs);
	assert_true(units && emps && tps && journeys && ref.custs);
	ref.units = units;
	ref.n_units = n;
	ref.n_custs = n;

	struct {
		const char *sql;
		ref_unit *into;
	} names[] = {
		{"SELECT id, coalesce(parent_id,0), kind, name FROM org_units", units},
		{"SELECT id, team_id, 'employee', first_name || ' ' || last_name FROM employees", emps},
		{"SELECT id, journey_id, 'touchpoint', name FROM touchpoints", tps},
		{"SELECT id, 0, 'journey', name FROM journeys", journeys},
	};
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(sqlite3_prepare_v2(db, names[k].sql, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(st, 0);
			ref_unit *u = &names[k].into[id];
			u->parent = sqlite3_column_int64(st, 1);
			snprintf(u->kind, sizeof u->kind, "%s", col_text(st, 2));
			snprintf(u->name, sizeof u->name, "%s", col_text(st, 3));
		}
		sqlite3_finalize(st);
	}

	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT id, segment, city, birth_year, customer_since FROM customers",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		ref_cust *c = &ref.custs[sqlite3_column_int64(st, 0)];
		c->exists = true;
		snprintf(c->segment, sizeof c->segment, "%s", col_text(st, 1));
		snprintf(c->city, sizeof c->city, "%s", col_text(st, 2));
		c->birth_year = sqlite3_column_type(st, 3) == SQLITE_NULL ? 0 : sqlite3_column_int(st, 3);
		const char *since = col_text(st, 4);
		c->since_year = since[0] ? atoi(since) : 0;
	}
	sqlite3_finalize(st);

	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM responses", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	size_t rows = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	ref.rows = calloc(rows ? rows : 1, sizeof *ref.rows);
	assert_non_null(ref.rows);

	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT customer_id, employee_id, team_id, touchpoint_id, channel, language,"
					    " nps, grade, ces, received_at FROM responses ORDER BY id",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && ref.n_rows < rows) {
		ref_row *r = &ref.rows[ref.n_rows++];
		r->customer = sqlite3_column_int64(st, 0); /* NULL reads as 0 */
		r->employee = sqlite3_column_int64(st, 1);
		r->team = sqlite3_column_int64(st, 2);
		r->tp = sqlite3_column_int64(st, 3);
		snprintf(r->channel, sizeof r->channel, "%s", col_text(st, 4));
		snprintf(r->language, sizeof r->language, "%s", col_text(st, 5));
		r->nps = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 6);
		r->grade = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 7);
		r->ces = sqlite3_column_type(st, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 8);
		r->t = sqlite3_column_int64(st, 9);
		r->journey = r->tp ? tps[r->tp].parent : 0;

		/* entity dims */
		r->id[AN_DIM_TEAM] = r->team;
		r->id[AN_DIM_DEPARTMENT] = ref_ancestor(r->team, "department");
		r->id[AN_DIM_ORGANISATION] = ref_ancestor(r->team, "organisation");
		r->id[AN_DIM_EMPLOYEE] = r->employee;
		r->id[AN_DIM_TOUCHPOINT] = r->tp;
		r->id[AN_DIM_JOURNEY] = r->journey;
		const ref_unit *tab[AN_DIM__COUNT] = {[AN_DIM_TEAM] = units, [AN_DIM_DEPARTMENT] = units,
						      [AN_DIM_ORGANISATION] = units, [AN_DIM_EMPLOYEE] = emps,
						      [AN_DIM_TOUCHPOINT] = tps, [AN_DIM_JOURNEY] = journeys};
		for (int d = AN_DIM_TEAM; d <= AN_DIM_JOURNEY; d++)
			snprintf(r->label[d], sizeof r->label[d], "%s",
				 r->id[d] ? tab[d][r->id[d]].name : "(none)");

		snprintf(r->label[AN_DIM_CHANNEL], 160, "%s", r->channel[0] ? r->channel : "unknown");
		snprintf(r->label[AN_DIM_LANGUAGE], 160, "%s", r->language);

		/* time: the local wall clock */
		time_t tt = (time_t)(r->t + ref_offset(r->t));
		struct tm tm;
		gmtime_r(&tt, &tm);
		int year = tm.tm_year + 1900;
		strftime(r->label[AN_DIM_DAY], 160, "%Y-%m-%d", &tm);
		strftime(r->label[AN_DIM_WEEK], 160, "%G-W%V", &tm);
		strftime(r->label[AN_DIM_MONTH], 160, "%Y-%m", &tm);
		snprintf(r->label[AN_DIM_QUARTER], 160, "%d-Q%d", year, tm.tm_mon / 3 + 1);
		snprintf(r->label[AN_DIM_YEAR], 160, "%d", year);

		/* customer attributes */
		const ref_cust *c = r->customer > 0 && (size_t)r->customer < ref.n_custs && ref.custs[r->customer].exists
					    ? &ref.custs[r->customer]
					    : NULL;
		snprintf(r->label[AN_DIM_SEGMENT], 160, "%s", c && c->segment[0] ? c->segment : "unknown");
		snprintf(r->label[AN_DIM_CITY], 160, "%s", c && c->city[0] ? c->city : "unknown");
		snprintf(r->label[AN_DIM_AGE_BAND], 160, "%s",
			 c && c->birth_year ? age_label(year - c->birth_year) : "unknown");
		snprintf(r->label[AN_DIM_SINCE_BAND], 160, "%s",
			 c && c->since_year ? since_label(year - c->since_year) : "unknown");
	}
	sqlite3_finalize(st);
	assert_int_equal(ref.n_rows, rows);
	free(emps);
	free(tps);
	free(journeys);
	sqlite3_close(db);
}

static bool ref_keep(const ref_row *r, const an_filter *f)
{
	if (f->from && r->t < f->from)
		return false;
	if (f->to && r->t >= f->to)
		return false;
	if (f->team_id && !ref_under(r->team, f->team_id))
		return false;
	if (f->employee_id && r->employee != f->employee_id)
		return false;
	if (f->touchpoint_id && r->tp != f->touchpoint_id)
		return false;
	if (f->journey_id && r->journey != f->journey_id)
		return false;
	if (f->channel[0] && strcmp(r->channel, f->channel) != 0)
		return false;
	if (f->language[0] && strcmp(r->language, f->language) != 0)
		return false;
	const ref_cust *c = r->customer > 0 && (size_t)r->customer < ref.n_custs ? &ref.custs[r->customer] : NULL;
	if (f->segment[0] && !(c && strcmp(c->segment, f->segment) == 0))
		return false;
	if (f->city[0] && !(c && strcmp(c->city, f->city) == 0))
		return false;
	if (f->age_band[0] && strcmp(r->label[AN_DIM_AGE_BAND], f->age_band) != 0)
		return false;
	if (f->since_band[0] && strcmp(r->label[AN_DIM_SINCE_BAND], f->since_band) != 0)
		return false;
	return true;
}

/* Counting by hand (the classes of docs/API.md; -1 = not answered). */
static void ref_count(metrics_counts *c, const ref_row *r)
{
	c->n++;
	if (r->nps >= 0) {
		c->nps_n++;
		if (r->nps >= 9)
			c->promoters++;
		else if (r->nps >= 7)
			c->passives++;
		else
			c->detractors++;
	}
	if (r->grade >= 1) {
		c->grade_n++;
		c->grade_sum += r->grade;
		c->grade_sumsq += r->grade * r->grade;
		c->grade_7plus += r->grade >= 7;
		c->grade_9plus += r->grade >= 9;
	}
	if (r->ces >= 1) {
		c->ces_n++;
		c->ces_sum += r->ces;
		c->ces_5plus += r->ces >= 5;
	}
}

/* The reference groups of one query: an open-addressing table of indices
 * into a growing array of groups. */
typedef struct ref_group {
	char key[200];          /* lookup key: "#id" for entity dims, else the label, joined by \x1f */
	const ref_row *first;   /* a row of the group, for its labels */
	metrics_counts c;
	int64_t emp;            /* the first employee seen, 0 = none */
	bool emps;              /* a second, different one seen */
	bool matched;
} ref_group;

typedef struct ref_result {
	uint32_t *slot;         /* 0 = empty, else group index + 1 */
	size_t slots;
	ref_group *g;
	size_t n, cap;
	metrics_counts total;
	int64_t emp;            /* as in ref_group, over the slice */
	bool emps;
} ref_result;

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void key_part(char *out, size_t n, an_dim d, int64_t id, const char *label)
{
	size_t len = strlen(out);
	if (is_entity_dim(d))
		snprintf(out + len, n - len, "%s#%lld", len ? "\x1f" : "", (long long)id);
	else
		snprintf(out + len, n - len, "%s%s", len ? "\x1f" : "", label);
}

static ref_group *ref_find(ref_result *rr, const char *key, bool add)
{
	size_t i = str_hash(key) & (rr->slots - 1);
	for (;; i = (i + 1) & (rr->slots - 1)) {
		uint32_t k = rr->slot[i];
		if (k == 0) {
			if (!add)
				return NULL;
			if (rr->n == rr->cap) {
				rr->cap = rr->cap ? rr->cap * 2 : 64;
				rr->g = realloc(rr->g, rr->cap * sizeof *rr->g);
				assert_non_null(rr->g);
			}
			ref_group *g = &rr->g[rr->n];
			memset(g, 0, sizeof *g);
			snprintf(g->key, sizeof g->key, "%s", key);
			rr->slot[i] = (uint32_t)++rr->n;
			return g;
		}
		if (strcmp(rr->g[k - 1].key, key) == 0)
			return &rr->g[k - 1];
	}
}

static void ref_note_emp(int64_t *emp, bool *emps, int64_t e)
{
	if (e == 0)
		return;
	if (*emp == 0)
		*emp = e;
	else if (*emp != e)
		*emps = true;
}

static int ref_persons(int64_t emp, bool emps)
{
	return emps ? 2 : emp ? 1 : 0;
}

static void ref_query(const an_filter *f, const an_dim *dims, int n_dims, ref_result *rr)
{
	memset(rr, 0, sizeof *rr);
	rr->slots = 1;
	while (rr->slots < 2 * ref.n_rows + 2)
		rr->slots *= 2;
	rr->slot = calloc(rr->slots, sizeof *rr->slot);
	assert_non_null(rr->slot);
	for (size_t i = 0; i < ref.n_rows; i++) {
		const ref_row *r = &ref.rows[i];
		if (!ref_keep(r, f))
			continue;
		ref_count(&rr->total, r);
		ref_note_emp(&rr->emp, &rr->emps, r->employee);
		if (n_dims == 0)
			continue;
		char key[200] = "";
		for (int k = 0; k < n_dims; k++)
			key_part(key, sizeof key, dims[k], r->id[dims[k]], r->label[dims[k]]);
		ref_group *g = ref_find(rr, key, true);
		if (g->first == NULL)
			g->first = r;
		ref_count(&g->c, r);
		ref_note_emp(&g->emp, &g->emps, r->employee);
	}
}

static void ref_result_free(ref_result *rr)
{
	free(rr->slot);
	free(rr->g);
}

/* ---- comparing ---------------------------------------------------------------- */

static void describe(char *out, size_t n, const an_filter *f, const an_dim *dims, int n_dims)
{
	size_t len = (size_t)snprintf(out, n, "group_by=");
	for (int i = 0; i < n_dims && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i ? "," : "", an_dim_name(dims[i]));
#define DESC_INT(field)                                                                            \
	if (f->field && len < n)                                                                   \
		len += (size_t)snprintf(out + len, n - len, " " #field "=%lld", (long long)f->field);
#define DESC_STR(field)                                                                            \
	if (f->field[0] && len < n)                                                                \
		len += (size_t)snprintf(out + len, n - len, " " #field "=%s", f->field);
	DESC_INT(from)
	DESC_INT(to)
	DESC_INT(team_id)
	DESC_INT(employee_id)
	DESC_INT(touchpoint_id)
	DESC_INT(journey_id)
	DESC_STR(channel)
	DESC_STR(language)
	DESC_STR(segment)
	DESC_STR(city)
	DESC_STR(age_band)
	DESC_STR(since_band)
#undef DESC_INT
#undef DESC_STR
}

static void counts_str(char *out, size_t n, const metrics_counts *c)
{
	snprintf(out, n,
		 "n=%lld nps_n=%lld P=%lld Q=%lld D=%lld grade_n=%lld sum=%lld sumsq=%lld 7+=%lld 9+=%lld "
		 "ces_n=%lld sum=%lld 5+=%lld",
		 (long long)c->n, (long long)c->nps_n, (long long)c->promoters, (long long)c->passives,
		 (long long)c->detractors, (long long)c->grade_n, (long long)c->grade_sum,
		 (long long)c->grade_sumsq, (long long)c->grade_7plus, (long long)c->grade_9plus,
		 (long long)c->ces_n, (long long)c->ces_sum, (long long)c->ces_5plus);
}

static bool counts_equal(const metrics_counts *a, const metrics_counts *b)
{
	return a->n == b->n && a->nps_n == b->nps_n && a->promoters == b->promoters &&
	       a->passives == b->passives && a->detractors == b->detractors && a->grade_n == b->grade_n &&
	       a->grade_sum == b->grade_sum && a->grade_sumsq == b->grade_sumsq &&
	       a->grade_7plus == b->grade_7plus && a->grade_9plus == b->grade_9plus && a->ces_n == b->ces_n &&
	       a->ces_sum == b->ces_sum && a->ces_5plus == b->ces_5plus;
}

static void counts_add(metrics_counts *a, const metrics_counts *b)
{
	a->n += b->n;
	a->nps_n += b->nps_n;
	a->promoters += b->promoters;
	a->passives += b->passives;
	a->detractors += b->detractors;
	a->grade_n += b->grade_n;
	a->grade_sum += b->grade_sum;
	a->grade_sumsq += b->grade_sumsq;
	a->grade_7plus += b->grade_7plus;
	a->grade_9plus += b->grade_9plus;
	a->ces_n += b->ces_n;
	a->ces_sum += b->ces_sum;
	a->ces_5plus += b->ces_5plus;
}

/* Dimensions whose natural order the test can state: time (labels sort
 * chronologically as strings) and names (alphabetically, byte order, with
 * "(none)" / "unknown" last). */
static bool orderable(an_dim d)
{
	return an_dim_is_time(d) || is_entity_dim(d) || d == AN_DIM_SEGMENT || d == AN_DIM_CITY;
}

/* <0, 0, >0 for labels x, y of dimension d in natural order. */
static int natural_cmp(an_dim d, const char *x, const char *y)
{
	if (!an_dim_is_time(d)) {
		const char *none = is_entity_dim(d) ? "(none)" : "unknown";
		bool xn = strcmp(x, none) == 0, yn = strcmp(y, none) == 0;
		if (xn != yn)
			return xn ? 1 : -1;
	}
	return strcmp(x, y);
}

static int mismatches;   /* over the current test: counts, groups, labels */
static int order_errors; /* over the current test: the order of the groups */
static int64_t index_ms; /* time spent in an_query */
static int queries_run;

#define REPORT_TO(counter, ...)                                                                    \
	do {                                                                                       \
		if ((counter)++ < 8) {                                                             \
			char q_[512];                                                              \
			describe(q_, sizeof q_, f, dims, n_dims);                                  \
			print_message("# MISMATCH [%s]: ", q_);                                    \
			print_message(__VA_ARGS__);                                                \
			print_message("\n");                                                       \
		}                                                                                  \
	} while (0)
#define REPORT(...) REPORT_TO(mismatches, __VA_ARGS__)
#define REPORT_ORDER(...) REPORT_TO(order_errors, __VA_ARGS__)

/* Run one query on ix and on the reference and compare everything. */
static void check_query_on(an_index *ix, const an_filter *f, const an_dim *dims, int n_dims)
{
	queries_run++;
	an_result res;
	ks_error e;
	ks_error_clear(&e);
	int64_t q0 = mono_ms();
	ks_err err = an_query(ix, f, dims, n_dims, &res, &e);
	index_ms += mono_ms() - q0;
	if (err) {
		REPORT("an_query failed: %s", e.message);
		return;
	}
	ref_result rr;
	ref_query(f, dims, n_dims, &rr);
	char a[400], b[400];

	if (!counts_equal(&res.total, &rr.total)) {
		counts_str(a, sizeof a, &res.total);
		counts_str(b, sizeof b, &rr.total);
		REPORT("total: index {%s} reference {%s}", a, b);
	}
	if (res.total_persons != ref_persons(rr.emp, rr.emps))
		REPORT("total persons %d, reference %d", res.total_persons, ref_persons(rr.emp, rr.emps));
	if (n_dims > 0) {
		metrics_counts sum = {0};
		for (size_t g = 0; g < res.n_groups; g++)
			counts_add(&sum, &res.groups[g].c);
		if (!counts_equal(&sum, &res.total))
			REPORT("the groups do not add up to the total");
		if (res.n_groups != rr.n)
			REPORT("%zu groups, reference %zu", res.n_groups, rr.n);
	} else if (res.n_groups != 0) {
		REPORT("no dimensions but %zu groups", res.n_groups);
	}
	for (size_t g = 0; n_dims > 0 && g < res.n_groups; g++) {
		const an_group *grp = &res.groups[g];
		char key[200] = "";
		for (int k = 0; k < n_dims; k++)
			key_part(key, sizeof key, dims[k], grp->id[k], grp->key[k]);
		ref_group *rg = ref_find(&rr, key, false);
		if (rg == NULL) {
			counts_str(a, sizeof a, &grp->c);
			REPORT("group [%s | %s] (ids %lld, %lld) not in the reference {%s}", grp->key[0],
			       n_dims > 1 ? grp->key[1] : "", (long long)grp->id[0], (long long)grp->id[1], a);
			continue;
		}
		if (grp->persons != ref_persons(rg->emp, rg->emps))
			REPORT("group [%s | %s]: persons %d, reference %d", grp->key[0], n_dims > 1 ? grp->key[1] : "",
			       grp->persons, ref_persons(rg->emp, rg->emps));
		if (rg->matched)
			REPORT("group [%s | %s] listed twice", grp->key[0], n_dims > 1 ? grp->key[1] : "");
		rg->matched = true;
		if (grp->c.n == 0)
			REPORT("group [%s] listed with n = 0", grp->key[0]);
		for (int k = 0; k < n_dims; k++)
			if (strcmp(grp->key[k], rg->first->label[dims[k]]) != 0)
				REPORT("label of dim %s: index '%s', reference '%s'", an_dim_name(dims[k]), grp->key[k],
				       rg->first->label[dims[k]]);
		if (!counts_equal(&grp->c, &rg->c)) {
			counts_str(a, sizeof a, &grp->c);
			counts_str(b, sizeof b, &rg->c);
			REPORT("group [%s | %s]: index {%s} reference {%s}", grp->key[0], n_dims > 1 ? grp->key[1] : "",
			       a, b);
		}
	}
	/* Order: the first dimension in contiguous blocks, in natural order;
	 * within a block the second in natural order. */
	for (size_t g = 1; n_dims > 0 && g < res.n_groups; g++) {
		const an_group *p = &res.groups[g - 1], *q = &res.groups[g];
		bool same0 = strcmp(p->key[0], q->key[0]) == 0 && p->id[0] == q->id[0];
		if (!same0) {
			for (size_t h = 0; h + 1 < g; h++)
				if (strcmp(res.groups[h].key[0], q->key[0]) == 0 && res.groups[h].id[0] == q->id[0]) {
					REPORT_ORDER("rows of %s '%s' are not contiguous (rows %zu and %zu)", an_dim_name(dims[0]),
					       q->key[0], h, g);
					break;
				}
			if (orderable(dims[0]) && natural_cmp(dims[0], p->key[0], q->key[0]) > 0)
				REPORT_ORDER("order of %s: '%s' before '%s'", an_dim_name(dims[0]), p->key[0], q->key[0]);
		} else if (n_dims == 2 && orderable(dims[1]) && natural_cmp(dims[1], p->key[1], q->key[1]) > 0) {
			REPORT_ORDER("order of %s within '%s': '%s' before '%s'", an_dim_name(dims[1]), p->key[0], p->key[1],
			       q->key[1]);
		}
	}
	ref_result_free(&rr);
	an_result_free(&res);
}

static void check_query(const an_filter *f, const an_dim *dims, int n_dims)
{
	check_query_on(fx.ix, f, dims, n_dims);
}

static void finish(const char *what)
{
	int64_t now = mono_ms();
	print_message("# %s: %d queries, %d count mismatches, %d order errors (%lld ms, %lld in an_query)\n",
		      what, queries_run, mismatches, order_errors, (long long)(now - last_ms), (long long)index_ms);
	index_ms = 0;
	last_ms = now;
	int m = mismatches, o = order_errors;
	mismatches = 0;
	order_errors = 0;
	queries_run = 0;
	assert_int_equal(m, 0);
	assert_int_equal(o, 0);
}

/* ---- the tests -------------------------------------------------------------------- */

static void test_reference_sane(void **state)
{
	(void)state;
	ref_load();
	assert_int_equal(ref.n_rows, N_RESPONSES);
	an_index_info info;
	an_index_get_info(fx.ix, &info);
	assert_int_equal(info.rows, N_RESPONSES);
	/* 16 + 2 (text analysis, issue 14) + 4 (driver ratings offset, issue 15) */
	assert_int_equal(info.bytes_per_row, 22);
	/* The data covers what the checks need: unknowns and several values. */
	int none_team = 0, none_channel = 0, none_cust = 0, unknown_age = 0, unknown_since = 0, w01 = 0;
	for (size_t i = 0; i < ref.n_rows; i++) {
		const ref_row *r = &ref.rows[i];
		none_team += r->team == 0;
		none_channel += r->channel[0] == '\0';
		none_cust += r->customer == 0;
		unknown_age += strcmp(r->label[AN_DIM_AGE_BAND], "unknown") == 0;
		unknown_since += strcmp(r->label[AN_DIM_SINCE_BAND], "unknown") == 0;
		w01 += strcmp(r->label[AN_DIM_WEEK], "2025-W01") == 0 &&
		       strncmp(r->label[AN_DIM_DAY], "2024-12", 7) == 0;
	}
	assert_true(none_team > 50 && none_channel > 50 && none_cust > 50);
	assert_true(unknown_age > 50 && unknown_since > 50);
	assert_true(w01 > 0); /* a response in December 2024 that belongs to ISO week 2025-W01 */
}

/* Every dimension on its own and the total without dimensions. */
static void test_every_dimension(void **state)
{
	(void)state;
	an_filter f;
	memset(&f, 0, sizeof f);
	check_query(&f, NULL, 0);
	for (int d = 1; d < AN_DIMS_HERE; d++) {
		an_dim dims[1] = {(an_dim)d};
		check_query(&f, dims, 1);
	}
	finish("every dimension");
}

/* Pairs: every dimension first and second, with partners at distance 1,
 * 5 and 11 in the enumeration (entity x time, entity x entity, time x
 * time, customer attribute x anything), and every pair of the org and
 * named dimensions, where the order of names matters most. Each an_query
 * costs ~10 ms under ASan (it rebuilds its day tables), so not all 272. */
static void test_pairs(void **state)
{
	(void)state;
	an_filter f;
	memset(&f, 0, sizeof f);
	const int n = AN_DIMS_HERE - 1;
	const int steps[] = {1, 5, 11};
	for (int d = 1; d < AN_DIMS_HERE; d++)
		for (size_t k = 0; k < 3; k++) {
			an_dim dims[2] = {(an_dim)d, (an_dim)(1 + (d - 1 + steps[k]) % n)};
			check_query(&f, dims, 2);
		}
	const an_dim named[] = {AN_DIM_TEAM, AN_DIM_DEPARTMENT, AN_DIM_EMPLOYEE, AN_DIM_TOUCHPOINT, AN_DIM_CITY};
	for (size_t i = 0; i < 5; i++)
		for (size_t j = 0; j < 5; j++)
			if (i != j) {
				an_dim dims[2] = {named[i], named[j]};
				check_query(&f, dims, 2);
			}
	finish("pairs");
}

/* Org roll-ups with team_id filters on every unit of the tree: a
 * department's or the organisation's id includes everything below it. */
static void test_org_rollups(void **state)
{
	(void)state;
	int64_t units[1 + N_DEPTS + N_TEAMS];
	int nu = 0;
	units[nu++] = fx.org_id;
	for (int d = 0; d < N_DEPTS; d++)
		units[nu++] = fx.dept_id[d];
	for (int t = 0; t < N_TEAMS; t++)
		units[nu++] = fx.team_id[t];
	const an_dim roll[] = {AN_DIM_TEAM, AN_DIM_DEPARTMENT, AN_DIM_ORGANISATION, AN_DIM_EMPLOYEE};
	for (int u = 0; u < nu; u++) {
		an_filter f;
		memset(&f, 0, sizeof f);
		f.team_id = units[u];
		check_query(&f, NULL, 0);
		for (int k = 0; k < 4; k++) {
			an_dim dims[2] = {roll[k], AN_DIM_QUARTER};
			check_query(&f, dims, 1);
			if (k == u % 4)
				check_query(&f, dims, 2);
		}
	}
	/* The department total under team_id = dept equals the sum of its teams. */
	for (int d = 0; d < N_DEPTS; d++) {
		an_filter f;
		memset(&f, 0, sizeof f);
		f.team_id = fx.dept_id[d];
		an_result whole;
		assert_int_equal(an_query(fx.ix, &f, NULL, 0, &whole, NULL), KS_OK);
		int64_t sum = 0;
		for (int t = 0; t < N_TEAMS; t++) {
			if (team_dept[t] != d)
				continue;
			f.team_id = fx.team_id[t];
			an_result one;
			assert_int_equal(an_query(fx.ix, &f, NULL, 0, &one, NULL), KS_OK);
			sum += one.total.n;
			an_result_free(&one);
		}
		assert_int_equal(whole.total.n, sum);
		assert_true(sum > 0);
		an_result_free(&whole);
	}
	finish("org roll-ups");
}

/* Filters that match nothing: an empty result, not an error. */
static void test_empty_slices(void **state)
{
	(void)state;
	an_dim dims[2] = {AN_DIM_TEAM, AN_DIM_MONTH};
	an_filter f;
	for (int k = 0; k < 9; k++) {
		memset(&f, 0, sizeof f);
		switch (k) {
		case 0: f.team_id = 999999; break;
		case 1: f.employee_id = 999999; break;
		case 2: f.touchpoint_id = 999999; break;
		case 3: f.journey_id = 999999; break;
		case 4: snprintf(f.city, sizeof f.city, "Atlantis"); break;
		case 5: snprintf(f.segment, sizeof f.segment, "ruimtevaart"); break;
		case 6: f.from = 1262304000; f.to = 1262304000 + 86400; break;  /* 2010-01-01: before the data */
		case 7: f.from = T1 + 86400 * 10; break;                         /* after the data */
		default: /* a real team with a real employee of another team */
			f.team_id = fx.team_id[0];
			f.employee_id = fx.emp_id[EMP_PER_TEAM * 3];
			break;
		}
		for (int nd = 0; nd <= 2; nd++) {
			an_result r;
			assert_int_equal(an_query(fx.ix, &f, dims, nd, &r, NULL), KS_OK);
			assert_int_equal(r.n_groups, 0);
			assert_int_equal(r.total.n, 0);
			assert_int_equal(r.total.nps_n, 0);
			an_result_free(&r);
			check_query(&f, dims, nd);
		}
	}
	finish("empty slices");
}

/* Period filters with exact second boundaries: from inclusive, to
 * exclusive, at response times, at midnight, one second either side. */
static void test_period_boundaries(void **state)
{
	(void)state;
	an_dim dims[2] = {AN_DIM_DAY, AN_DIM_CHANNEL};
	for (int k = 0; k < 30; k++) {
		an_filter f;
		memset(&f, 0, sizeof f);
		int64_t t = fx.resp_t[rnd(N_RESPONSES)];
		switch (k % 6) {
		case 0: f.from = t; f.to = t + 1; break;          /* exactly that second */
		case 1: f.from = t + 1; f.to = t + 86400; break;  /* just after it */
		case 2: f.from = t - 86400; f.to = t; break;      /* up to it, excluded */
		case 3: f.from = t / 86400 * 86400; f.to = f.from + 86400; break;  /* its day */
		case 4: f.from = t; break;                         /* open end */
		default: f.to = t; break;                          /* open start */
		}
		check_query(&f, dims, k % 2 ? 1 : 2);
		/* The second itself is in [t, t+1) and not in [t-86400, t). */
		if (k % 6 == 0) {
			an_result r;
			assert_int_equal(an_query(fx.ix, &f, NULL, 0, &r, NULL), KS_OK);
			assert_true(r.total.n >= 1);
			an_result_free(&r);
		}
	}
	/* Calendar periods around the edges in the data: 2024, 2025-Q1,
	 * December 2024, the day 2024-12-31. */
	static const int64_t periods[][2] = {{1704067200, 1735689600},
					     {1735689600, 1743465600},
					     {1733011200, 1735689600},
					     {1735603200, 1735689600}};
	for (size_t i = 0; i < sizeof periods / sizeof periods[0]; i++) {
		an_filter f;
		memset(&f, 0, sizeof f);
		f.from = periods[i][0];
		f.to = periods[i][1];
		an_dim d[2] = {AN_DIM_WEEK, AN_DIM_YEAR};
		check_query(&f, d, 1);
		check_query(&f, d, 2);
	}
	finish("period boundaries");
}

static const char *const age_bands[] = {"<25", "25-34", "35-44", "45-54", "55-64", "65+"};
static const char *const since_bands[] = {"<1y", "1-2y", "3-5y", "6-10y", ">10y"};

/* A random filter: each field with a small probability, mostly values that
 * exist, sometimes values that do not. */
static void random_filter(an_filter *f)
{
	memset(f, 0, sizeof *f);
	int fields = rnd(4);
	for (int i = 0; i < fields; i++) {
		switch (rnd(12)) {
		case 0: {
			int u = rnd(1 + N_DEPTS + N_TEAMS + 1);
			f->team_id = u == 0 ? fx.org_id : u <= N_DEPTS ? fx.dept_id[u - 1]
				   : u <= N_DEPTS + N_TEAMS ? fx.team_id[u - 1 - N_DEPTS] : 999999;
			break;
		}
		case 1: f->employee_id = chance(95) ? fx.emp_id[rnd(N_EMPS)] : 999999; break;
		case 2: f->touchpoint_id = fx.tp_id[rnd(N_TPS)]; break;
		case 3: f->journey_id = fx.journey_id[rnd(N_JOURNEYS)]; break;
		case 4: snprintf(f->channel, sizeof f->channel, "%s", channels[rnd(6)]); break;
		case 5: snprintf(f->language, sizeof f->language, "%s", chance(50) ? "nl" : "en"); break;
		case 6: snprintf(f->segment, sizeof f->segment, "%s", chance(90) ? segments[rnd(4)] : "onbekend"); break;
		case 7: snprintf(f->city, sizeof f->city, "%s", chance(90) ? cities[rnd(6)] : "Atlantis"); break;
		case 8: snprintf(f->age_band, sizeof f->age_band, "%s", age_bands[rnd(6)]); break;
		case 9: snprintf(f->since_band, sizeof f->since_band, "%s", since_bands[rnd(5)]); break;
		case 10: f->from = fx.resp_t[rnd(N_RESPONSES)]; break;
		default: f->to = fx.resp_t[rnd(N_RESPONSES)]; break;
		}
	}
}

/* Random (dims, filter) combinations. */
static void test_random_combinations(void **state)
{
	(void)state;
	for (int k = 0; k < 150; k++) {
		an_filter f;
		random_filter(&f);
		an_dim dims[2];
		int nd = rnd(3);
		dims[0] = (an_dim)(1 + rnd(AN_DIMS_HERE - 1));
		do
			dims[1] = (an_dim)(1 + rnd(AN_DIMS_HERE - 1));
		while (dims[1] == dims[0]);
		check_query(&f, dims, nd);
	}
	finish("random combinations");
}

/* Every single-value filter of every filterable field, grouped by each
 * dimension in turn (so each filter meets each key computation). */
static void test_each_filter_value(void **state)
{
	(void)state;
	for (int k = 0; k < 6 + 5 + 4 + 6 + 6 + 2; k++) {
		an_filter f;
		memset(&f, 0, sizeof f);
		int i = k;
		if (i < 6)
			snprintf(f.age_band, sizeof f.age_band, "%s", age_bands[i]);
		else if ((i -= 6) < 5)
			snprintf(f.since_band, sizeof f.since_band, "%s", since_bands[i]);
		else if ((i -= 5) < 4)
			snprintf(f.segment, sizeof f.segment, "%s", segments[i]);
		else if ((i -= 4) < 6)
			snprintf(f.city, sizeof f.city, "%s", cities[i]);
		else if ((i -= 6) < 6)
			snprintf(f.channel, sizeof f.channel, "%s", channels[i]);
		else
			snprintf(f.language, sizeof f.language, "%s", (i - 6) ? "en" : "nl");
		/* three dimensions a filter, rotating through all of them */
		for (int d = 0; d < 3; d++) {
			an_dim dims[1] = {(an_dim)(1 + (k * 3 + d) % (AN_DIMS_HERE - 1))};
			check_query(&f, dims, 1);
		}
	}
	for (int j = 0; j < N_JOURNEYS; j++) {
		an_filter f;
		memset(&f, 0, sizeof f);
		f.journey_id = fx.journey_id[j];
		an_dim dims[2] = {AN_DIM_TOUCHPOINT, AN_DIM_JOURNEY};
		check_query(&f, dims, 1);
		check_query(&f, dims, 2);
	}
	finish("each filter value");
}

/* docs/API.md lists "unknown" among the age_band and customer_since_band
 * values of the filters: filtering on it must give the rows that group as
 * "unknown", not an empty slice. */
static void test_filter_unknown_bands(void **state)
{
	(void)state;
	an_filter f;
	an_dim dims[1] = {AN_DIM_SEGMENT};
	memset(&f, 0, sizeof f);
	snprintf(f.age_band, sizeof f.age_band, "unknown");
	check_query(&f, NULL, 0);
	check_query(&f, dims, 1);
	memset(&f, 0, sizeof f);
	snprintf(f.since_band, sizeof f.since_band, "unknown");
	check_query(&f, NULL, 0);
	check_query(&f, dims, 1);
	finish("unknown bands as filters");
}

/* Names that share their first 30+ characters (long team names are common:
 * "Klantenservice Noord-Holland en Flevoland team ..."): the groups must
 * still be ordered by the whole name, and with a second dimension each
 * team's rows must stay together. A store of its own keeps this case out
 * of the other tests. */
static void test_order_long_names(void **state)
{
	(void)state;
	char path[160];
	snprintf(path, sizeof path, "/tmp/ks_test_analytics_%ld_names.db", (long)getpid());
	db_remove(path);
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_open(path, NULL, &s, &e), KS_OK);
	store_bulk *b = NULL;
	assert_int_equal(store_bulk_begin(s, &b, &e), KS_OK);
	static const char *const names[] = {
		"Klantenservice Noord-Holland en Flevoland team Zaandam",
		"Klantenservice Noord-Holland en Flevoland team Alkmaar",
		"Klantenservice Noord-Holland en Flevoland team Almere",
		"Klantenservice Noord-Holland en Flevoland team Hoorn",
	};
	int64_t org = bulk_add(b, "teams", json_pack("{s:s, s:s}", "name", "Org", "kind", "organisation"));
	int64_t dept = bulk_add(b, "teams", json_pack("{s:s, s:s, s:I}", "name", "Afdeling", "kind", "department",
						      "parent_id", (json_int_t)org));
	int64_t team[4];
	for (int i = 0; i < 4; i++)
		team[i] = bulk_add(b, "teams", json_pack("{s:s, s:s, s:I}", "name", names[i], "kind", "team",
							 "parent_id", (json_int_t)dept));
	/* Each team answers in January, February and March 2026. */
	for (int m = 0; m < 3; m++)
		for (int i = 0; i < 4; i++) {
			model_response r;
			model_response_init(&r);
			r.team_id = team[i];
			r.nps = 9;
			r.received_at = 1767225600 + (int64_t)m * 31 * 86400 + i;
			snprintf(r.language, sizeof r.language, "nl");
			assert_int_equal(store_bulk_response(b, &r, &e), KS_OK);
		}
	assert_int_equal(store_bulk_commit(b, &e), KS_OK);
	an_index *ix = NULL;
	assert_int_equal(an_index_build(s, &ix, &e), KS_OK);

	/* alphabetical: Alkmaar, Almere, Hoorn, Zaandam */
	static const int want[] = {1, 2, 3, 0};
	an_filter f;
	memset(&f, 0, sizeof f);
	an_dim dims[2] = {AN_DIM_TEAM, AN_DIM_MONTH};
	an_result r1, r2;
	assert_int_equal(an_query(ix, &f, dims, 1, &r1, &e), KS_OK);
	assert_int_equal(an_query(ix, &f, dims, 2, &r2, &e), KS_OK);
	char got1[4][100], got2[12][200];
	size_t n1 = r1.n_groups, n2 = r2.n_groups;
	for (size_t g = 0; g < n1 && g < 4; g++)
		snprintf(got1[g], sizeof got1[g], "%s", r1.groups[g].key[0]);
	for (size_t g = 0; g < n2 && g < 12; g++)
		snprintf(got2[g], sizeof got2[g], "%s %s", r2.groups[g].key[0], r2.groups[g].key[1]);
	an_result_free(&r1);
	an_result_free(&r2);
	store_close(s);
	an_index_free(ix);
	db_remove(path);

	assert_int_equal(n1, 4);
	assert_int_equal(n2, 12);
	for (int i = 0; i < 4; i++)
		assert_string_equal(got1[i], names[want[i]]);
	static const char *const months[] = {"2026-01", "2026-02", "2026-03"};
	for (int i = 0; i < 4; i++)
		for (int m = 0; m < 3; m++) {
			char w[200];
			snprintf(w, sizeof w, "%s %s", names[want[i]], months[m]);
			assert_string_equal(got2[i * 3 + m], w);
		}
}

/* ---- the organisation's time zone ------------------------------------------------------ */

/* The whole reference comparison again in other zones: summer time from
 * a different standard offset (London, Helsinki), none (UTC), and a
 * half-hour offset (+05:30, not in tz.h's table: the index then tabulates
 * by quarter hour). Back to Amsterdam at the end. */
static void test_other_zones(void **state)
{
	(void)state;
	static const ks_tz zones[] = {
		{"Europe/London", 0, true},
		{"Europe/Helsinki", 7200, true},
		{"UTC", 0, false},
		{"Test/Plus0530", 19800, false},
	};
	an_filter f;
	memset(&f, 0, sizeof f);
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
		an_index_set_tz(fx.ix, &zones[z]);
		ref_std = zones[z].std_offset;
		ref_eu = zones[z].eu_dst;
		ref_load();
		for (int d = AN_DIM_AGE_BAND; d < AN_DIMS_HERE; d++) {
			an_dim one[2] = {(an_dim)d, AN_DIM_TEAM};
			check_query(&f, one, 1);
			if (an_dim_is_time((an_dim)d))
				check_query(&f, one, 2);
		}
		an_filter g = f;
		snprintf(g.age_band, sizeof g.age_band, "25-34");
		an_dim q[1] = {AN_DIM_QUARTER};
		check_query(&g, q, 1);
		finish(zones[z].name);
	}
	an_index_set_tz(fx.ix, NULL);
	ref_std = 3600;
	ref_eu = true;
	ref_load();
	an_dim m[1] = {AN_DIM_MONTH};
	check_query(&f, m, 1);
	finish("back in Europe/Amsterdam");
}

/* A small store of its own for exact, hand-computed expectations. */
typedef struct mini {
	char path[160];
	ks_store *s;
	store_bulk *b;
	an_index *ix;
	int64_t dept;   /* the department of every team */
} mini;

static void mini_open(mini *m, const char *tag)
{
	memset(m, 0, sizeof *m);
	snprintf(m->path, sizeof m->path, "/tmp/ks_test_analytics_%ld_%s.db", (long)getpid(), tag);
	db_remove(m->path);
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_open(m->path, NULL, &m->s, &e), KS_OK);
	assert_int_equal(store_bulk_begin(m->s, &m->b, &e), KS_OK);
	int64_t org = bulk_add(m->b, "teams", json_pack("{s:s, s:s}", "name", "Org", "kind", "organisation"));
	m->dept = bulk_add(m->b, "teams", json_pack("{s:s, s:s, s:I}", "name", "Afdeling", "kind", "department",
						    "parent_id", (json_int_t)org));
	assert_true(org > 0 && m->dept > 0);
}

static int64_t mini_team(mini *m, const char *name)
{
	int64_t id = bulk_add(m->b, "teams", json_pack("{s:s, s:s, s:I}", "name", name, "kind", "team", "parent_id",
						      (json_int_t)m->dept));
	assert_true(id > 0);
	return id;
}

static void mini_add(mini *m, int64_t t, int64_t team, int64_t employee, int64_t customer)
{
	model_response r;
	model_response_init(&r);
	r.received_at = t;
	r.team_id = team;
	r.employee_id = employee;
	r.customer_id = customer;
	r.nps = 9;
	snprintf(r.language, sizeof r.language, "nl");
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_bulk_response(m->b, &r, &e), KS_OK);
}

static void mini_build(mini *m)
{
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(store_bulk_commit(m->b, &e), KS_OK);
	m->b = NULL;
	assert_int_equal(an_index_build(m->s, &m->ix, &e), KS_OK);
}

static void mini_close(mini *m)
{
	store_close(m->s);
	an_index_free(m->ix);
	db_remove(m->path);
}

/* "label=n label=n ..." of a one-dimension breakdown, in its order. */
static void groups_str(an_index *ix, const an_filter *f, an_dim d, char *out, size_t n)
{
	an_result r;
	an_dim dims[1] = {d};
	assert_int_equal(an_query(ix, f, dims, 1, &r, NULL), KS_OK);
	size_t len = 0;
	out[0] = '\0';
	for (size_t g = 0; g < r.n_groups && len < n; g++)
		len += (size_t)snprintf(out + len, n - len, "%s%s=%lld", g ? " " : "", r.groups[g].key[0],
					(long long)r.groups[g].c.n);
	an_result_free(&r);
}

static void expect_groups(an_index *ix, an_dim d, const char *want)
{
	an_filter f;
	memset(&f, 0, sizeof f);
	char got[512];
	groups_str(ix, &f, d, got, sizeof got);
	if (strcmp(got, want) != 0)
		print_error("# %s: got '%s', want '%s'\n", an_dim_name(d), got, want);
	assert_string_equal(got, want);
}

/* Five responses near local midnights, bucketed in three zones. The
 * times (checked with Python's zoneinfo):
 *   r1 1796081400 2026-11-30T23:30Z = 2026-12-01 00:30 CET    (Tue, W49)
 *   r2 1774996200 2026-03-31T22:30Z = 2026-04-01 00:30 CEST   (Wed, W14)
 *   r3 1798759800 2026-12-31T23:30Z = 2027-01-01 00:30 CET    (Fri, 2026-W53)
 *   r4 1796063399 2026-11-30T18:29:59Z = 19:29:59 CET         (Mon, W49)
 *   r5 1796063400 2026-11-30T18:30:00Z = 19:30 CET
 * In +05:30 r4 is 2026-11-30 23:59:59 and r5 2026-12-01 00:00:00. r3's
 * customer was born in 2002 and has been one since 2026-06-01: in
 * Amsterdam r3 is in 2027 (age 25, 1 year a customer), in UTC in 2026
 * (age 24, 0 years). */
static void test_local_time_buckets(void **state)
{
	(void)state;
	mini m;
	mini_open(&m, "local");
	int64_t team = mini_team(&m, "Team");
	int64_t cust = bulk_add(m.b, "customers", json_pack("{s:s, s:i, s:s}", "external_id", "C1", "birth_year", 2002,
							     "customer_since", "2026-06-01"));
	assert_true(team > 0 && cust > 0);
	mini_add(&m, 1796081400, team, 0, 0);
	mini_add(&m, 1774996200, team, 0, 0);
	mini_add(&m, 1798759800, team, 0, cust);
	mini_add(&m, 1796063399, team, 0, 0);
	mini_add(&m, 1796063400, team, 0, 0);
	mini_build(&m);

	/* Europe/Amsterdam, the default. */
	expect_groups(m.ix, AN_DIM_DAY, "2026-04-01=1 2026-11-30=2 2026-12-01=1 2027-01-01=1");
	expect_groups(m.ix, AN_DIM_WEEK, "2026-W14=1 2026-W49=3 2026-W53=1");
	expect_groups(m.ix, AN_DIM_MONTH, "2026-04=1 2026-11=2 2026-12=1 2027-01=1");
	expect_groups(m.ix, AN_DIM_QUARTER, "2026-Q2=1 2026-Q4=3 2027-Q1=1");
	expect_groups(m.ix, AN_DIM_YEAR, "2026=4 2027=1");
	expect_groups(m.ix, AN_DIM_AGE_BAND, "unknown=4 25-34=1");
	expect_groups(m.ix, AN_DIM_SINCE_BAND, "unknown=4 1-2y=1");

	/* The period "2026-12" as the API would turn it into [from, to):
	 * r1 only (r3 is in January, r4 and r5 in November). */
	ks_tz ams;
	tz_default(&ams);
	an_filter f;
	memset(&f, 0, sizeof f);
	assert_int_equal(tz_period_parse(&ams, "2026-12", 1796081400, "period", &f.from, &f.to, NULL, NULL), KS_OK);
	assert_int_equal(f.from, 1796079600);
	assert_int_equal(f.to, 1798758000);
	char got[256];
	groups_str(m.ix, &f, AN_DIM_DAY, got, sizeof got);
	assert_string_equal(got, "2026-12-01=1");

	/* UTC. */
	ks_tz utc;
	assert_int_equal(tz_lookup("UTC", &utc, NULL), KS_OK);
	an_index_set_tz(m.ix, &utc);
	expect_groups(m.ix, AN_DIM_DAY, "2026-03-31=1 2026-11-30=3 2026-12-31=1");
	expect_groups(m.ix, AN_DIM_WEEK, "2026-W14=1 2026-W49=3 2026-W53=1");
	expect_groups(m.ix, AN_DIM_MONTH, "2026-03=1 2026-11=3 2026-12=1");
	expect_groups(m.ix, AN_DIM_QUARTER, "2026-Q1=1 2026-Q4=4");
	expect_groups(m.ix, AN_DIM_YEAR, "2026=5");
	expect_groups(m.ix, AN_DIM_AGE_BAND, "unknown=4 <25=1");
	expect_groups(m.ix, AN_DIM_SINCE_BAND, "unknown=4 <1y=1");

	/* +05:30: quarter-hour steps. */
	ks_tz half = {"Test/Plus0530", 19800, false};
	an_index_set_tz(m.ix, &half);
	expect_groups(m.ix, AN_DIM_DAY, "2026-04-01=1 2026-11-30=1 2026-12-01=2 2027-01-01=1");
	expect_groups(m.ix, AN_DIM_MONTH, "2026-04=1 2026-11=1 2026-12=2 2027-01=1");

	/* NULL: back to the default. */
	an_index_set_tz(m.ix, NULL);
	expect_groups(m.ix, AN_DIM_MONTH, "2026-04=1 2026-11=2 2026-12=1 2027-01=1");
	mini_close(&m);
}

/* persons of each group and of the total, with the expectations of a
 * query. */
static void expect_persons(an_index *ix, const an_filter *f, an_dim d, const char *want, int want_total)
{
	an_result r;
	an_dim dims[1] = {d};
	assert_int_equal(an_query(ix, f, dims, d ? 1 : 0, &r, NULL), KS_OK);
	char got[512] = "";
	size_t len = 0;
	for (size_t g = 0; g < r.n_groups && len < sizeof got; g++)
		len += (size_t)snprintf(got + len, sizeof got - len, "%s%s:%d", g ? " " : "", r.groups[g].key[0],
					r.groups[g].persons);
	int total = r.total_persons;
	an_result_free(&r);
	if (strcmp(got, want) != 0 || total != want_total)
		print_error("# persons: got '%s' / %d, want '%s' / %d\n", got, total, want, want_total);
	assert_string_equal(got, want);
	assert_int_equal(total, want_total);
}

/* Distinct employees a group, capped at 2 (0 none, 1 one, 2 two or more).
 * Teams: A has Anna (twice) and Bram -> 2; B has Chantal twice and a row
 * without employee -> 1; C only rows without employee -> 0. */
static void test_persons(void **state)
{
	(void)state;
	mini m;
	mini_open(&m, "persons");
	int64_t t[3], emp[3];
	const char *teams[] = {"A", "B", "C"}, *names[] = {"Anna", "Bram", "Chantal"};
	for (int i = 0; i < 3; i++)
		t[i] = mini_team(&m, teams[i]);
	for (int i = 0; i < 3; i++)
		emp[i] = bulk_add(m.b, "employees", json_pack("{s:I, s:s, s:s}", "team_id", (json_int_t)t[i == 2],
							       "first_name", names[i], "last_name", "X"));
	const int64_t t0 = 1767225600;
	mini_add(&m, t0 + 1, t[0], emp[0], 0);
	mini_add(&m, t0 + 2, t[0], emp[0], 0);
	mini_add(&m, t0 + 3, t[0], emp[1], 0);
	mini_add(&m, t0 + 4, t[1], emp[2], 0);
	mini_add(&m, t0 + 5, t[1], 0, 0);
	mini_add(&m, t0 + 6, t[1], emp[2], 0);
	mini_add(&m, t0 + 7, t[2], 0, 0);
	mini_add(&m, t0 + 8, t[2], 0, 0);
	mini_build(&m);

	an_filter f;
	memset(&f, 0, sizeof f);
	expect_persons(m.ix, &f, AN_DIM_TEAM, "A:2 B:1 C:0", 2);
	expect_persons(m.ix, &f, AN_DIM_EMPLOYEE, "Anna X:1 Bram X:1 Chantal X:1 (none):0", 2);
	expect_persons(m.ix, &f, AN_DIM_NONE, "", 2);
	f.nps_only = true;  /* the NPS-only stride keeps them too */
	expect_persons(m.ix, &f, AN_DIM_TEAM, "A:2 B:1 C:0", 2);
	f.nps_only = false;
	f.team_id = t[1];
	expect_persons(m.ix, &f, AN_DIM_NONE, "", 1);
	expect_persons(m.ix, &f, AN_DIM_EMPLOYEE, "Chantal X:1 (none):0", 1);
	f.team_id = t[2];
	expect_persons(m.ix, &f, AN_DIM_NONE, "", 0);
	f.team_id = 0;
	f.from = t0 + 3;   /* Bram only in A; B's first Chantal row out */
	f.to = t0 + 5;
	expect_persons(m.ix, &f, AN_DIM_TEAM, "A:1 B:1", 2);
	f.from = t0 + 4;
	expect_persons(m.ix, &f, AN_DIM_TEAM, "B:1", 1);
	f.from = t0 + 5;
	f.to = t0 + 6;     /* one row without employee */
	expect_persons(m.ix, &f, AN_DIM_TEAM, "B:0", 0);
	f.from = t0 + 100; /* nothing */
	f.to = 0;
	expect_persons(m.ix, &f, AN_DIM_TEAM, "", 0);
	mini_close(&m);
}

/* Enough rows for two threads (each counts half the rows in index order,
 * and their groups are merged): every way two halves can combine. Row i
 * of 200000 goes to team i % 5; the first half and the second name:
 *   A  Anna  | Bram      -> 2 (each thread saw one)
 *   B  Cees  | Cees      -> 1
 *   C  none  | none      -> 0
 *   D  none  | Daan      -> 1
 *   E  Eva   | none      -> 1 */
static void test_persons_two_threads(void **state)
{
	(void)state;
	mini m;
	mini_open(&m, "persons2");
	const char *teams[] = {"A", "B", "C", "D", "E"};
	int64_t t[5];
	for (int i = 0; i < 5; i++)
		t[i] = mini_team(&m, teams[i]);
	const char *names[] = {"Anna", "Bram", "Cees", "Daan", "Eva"};
	const int team_of[] = {0, 0, 1, 3, 4};
	int64_t emp[5];
	for (int i = 0; i < 5; i++)
		emp[i] = bulk_add(m.b, "employees", json_pack("{s:I, s:s, s:s}", "team_id", (json_int_t)t[team_of[i]],
							       "first_name", names[i], "last_name", "Y"));
	const int64_t n = 200000, t0 = 1735689600;
	for (int64_t i = 0; i < n; i++) {
		bool second = i >= n / 2;
		int k = (int)(i % 5);
		int64_t e = 0;
		switch (k) {
		case 0: e = emp[second ? 1 : 0]; break;
		case 1: e = emp[2]; break;
		case 3: e = second ? emp[3] : 0; break;
		case 4: e = second ? 0 : emp[4]; break;
		default: break;
		}
		mini_add(&m, t0 + i * 60, t[k], e, 0);
	}
	mini_build(&m);
	an_filter f;
	memset(&f, 0, sizeof f);
	expect_persons(m.ix, &f, AN_DIM_TEAM, "A:2 B:1 C:0 D:1 E:1", 2);
	f.nps_only = true;
	expect_persons(m.ix, &f, AN_DIM_TEAM, "A:2 B:1 C:0 D:1 E:1", 2);
	f.team_id = t[3];
	expect_persons(m.ix, &f, AN_DIM_NONE, "", 1);
	f.team_id = t[2];
	expect_persons(m.ix, &f, AN_DIM_NONE, "", 0);
	mini_close(&m);
	int64_t now = mono_ms();
	print_message("# stores of their own: local time, persons, %lld rows on two threads (%lld ms)\n", (long long)n,
		      (long long)(now - last_ms));
	last_ms = now;
}

/* ---- appending through the commit hook ------------------------------------------------- */

static int64_t total_n(an_index *ix, const an_filter *f)
{
	an_result r;
	assert_int_equal(an_query(ix, f, NULL, 0, &r, NULL), KS_OK);
	int64_t n = r.total.n;
	an_result_free(&r);
	return n;
}

static int64_t entity_create(const char *entity, json_t *obj)
{
	ks_error e;
	ks_error_clear(&e);
	json_t *row = NULL;
	ks_err err = store_entity_create(fx.store, model_entity_find(entity), obj, &row, &e);
	json_decref(obj);
	if (err)
		print_error("# create %s: %s (%s)\n", entity, e.message, e.field);
	assert_int_equal(err, KS_OK);
	int64_t id = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	return id;
}

static void submit(model_response *r)
{
	ks_error e;
	ks_error_clear(&e);
	bool created = false;
	ks_err err = store_response_submit(fx.store, r, &created, &e);
	if (err)
		print_error("# submit: %s (%s)\n", e.message, e.field);
	assert_int_equal(err, KS_OK);
	assert_true(created);
}

static void test_commit_hook(void **state)
{
	(void)state;
	an_filter all;
	memset(&all, 0, sizeof all);
	int64_t n0 = total_n(fx.ix, &all);
	assert_int_equal(n0, N_RESPONSES);

	/* 1. An existing customer, team and employee, later than every row so
	 *    far (the day tables must grow). */
	model_response r;
	model_response_init(&r);
	r.customer_id = fx.cust_id[0];
	r.team_id = fx.team_id[3];
	r.employee_id = fx.emp_id[3 * EMP_PER_TEAM];
	r.touchpoint_id = fx.tp_id[2];
	snprintf(r.channel, sizeof r.channel, "phone");
	snprintf(r.client_key, sizeof r.client_key, "hook-1");
	r.nps = 10;
	r.grade = 9;
	r.received_at = 1788220800; /* 2026-09-01T00:00:00Z */
	submit(&r);
	assert_int_equal(total_n(fx.ix, &all), n0 + 1);
	an_filter f = all;
	f.from = 1788220800;
	f.to = 1788220801;
	assert_int_equal(total_n(fx.ix, &f), 1);
	f.team_id = fx.dept_id[team_dept[3]];
	assert_int_equal(total_n(fx.ix, &f), 1);

	/* 2. Earlier than every row (2021-03-01), no team, employee or customer. */
	model_response_init(&r);
	snprintf(r.client_key, sizeof r.client_key, "hook-2");
	r.touchpoint_id = fx.tp_id[6];
	r.ces = 2;
	r.received_at = 1614556800;
	submit(&r);
	assert_int_equal(total_n(fx.ix, &all), n0 + 2);

	/* 3. A customer created after the build and never announced to the
	 *    index: the hook loads its attributes. */
	int64_t cust = entity_create("customers", json_pack("{s:s, s:s, s:s, s:i, s:s}", "external_id", "NEW-1",
							     "segment", "nieuw segment", "city", "Nieuwstad",
							     "birth_year", 1990, "customer_since", "2026-02-01"));
	model_response_init(&r);
	snprintf(r.client_key, sizeof r.client_key, "hook-3");
	r.customer_id = cust;
	r.nps = 3;
	r.received_at = 1780000000; /* 2026-05-28 */
	submit(&r);
	memset(&f, 0, sizeof f);
	snprintf(f.city, sizeof f.city, "Nieuwstad");
	assert_int_equal(total_n(fx.ix, &f), 1);
	memset(&f, 0, sizeof f);
	snprintf(f.segment, sizeof f.segment, "nieuw segment");
	snprintf(f.age_band, sizeof f.age_band, "35-44"); /* 2026 - 1990 = 36 */
	snprintf(f.since_band, sizeof f.since_band, "<1y");
	assert_int_equal(total_n(fx.ix, &f), 1);

	/* 4. A new team with a new employee, announced with
	 *    an_index_refresh_dims as the API does after a create. */
	int64_t team = entity_create("teams", json_pack("{s:s, s:s, s:I}", "name", "Nieuw team", "kind", "team",
							 "parent_id", (json_int_t)fx.dept_id[2]));
	int64_t emp = entity_create("employees", json_pack("{s:I, s:s, s:s}", "team_id", (json_int_t)team,
							    "first_name", "Nina", "last_name", "Nieuw"));
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(an_index_refresh_dims(fx.ix, &e), KS_OK);
	for (int i = 0; i < 3; i++) {
		model_response_init(&r);
		snprintf(r.client_key, sizeof r.client_key, "hook-4-%d", i);
		r.team_id = team;
		r.employee_id = emp;
		r.customer_id = fx.cust_id[1 + i];
		snprintf(r.channel, sizeof r.channel, "chat");
		r.nps = 6 + i;
		r.grade = 5 + i;
		r.received_at = 1767225600 + i; /* 2026-01-01T00:00:0i */
		submit(&r);
		assert_int_equal(total_n(fx.ix, &all), n0 + 4 + i);
	}
	memset(&f, 0, sizeof f);
	f.team_id = fx.dept_id[2];
	an_dim dims[2] = {AN_DIM_TEAM, AN_DIM_EMPLOYEE};
	an_result res;
	assert_int_equal(an_query(fx.ix, &f, dims, 2, &res, NULL), KS_OK);
	bool seen = false;
	for (size_t g = 0; g < res.n_groups; g++)
		if (res.groups[g].id[0] == team) {
			seen = true;
			assert_string_equal(res.groups[g].key[0], "Nieuw team");
			assert_string_equal(res.groups[g].key[1], "Nina Nieuw");
			assert_int_equal(res.groups[g].c.n, 3);
		}
	an_result_free(&res);
	assert_true(seen);

	/* 5. A customer's attributes change (update + refresh, as the API). */
	ks_error_clear(&e);
	json_t *row = NULL;
	json_t *patch = json_pack("{s:s}", "city", "Verhuisd");
	assert_int_equal(store_entity_update(fx.store, model_entity_find("customers"), fx.cust_id[5], patch, &row, &e),
			 KS_OK);
	json_decref(patch);
	json_decref(row);
	assert_int_equal(an_index_refresh_customer(fx.ix, fx.cust_id[5], &e), KS_OK);

	/* The whole index against a fresh reference of the file. */
	ref_load();
	assert_int_equal(ref.n_rows, N_RESPONSES + 6);
	memset(&f, 0, sizeof f);
	check_query(&f, NULL, 0);
	for (int d = 1; d < AN_DIMS_HERE; d++) {
		an_dim one[2] = {(an_dim)d, AN_DIM_YEAR};
		check_query(&f, one, d % 3 == 0 && d != AN_DIM_YEAR ? 2 : 1);
	}
	for (int k = 0; k < 30; k++) {
		random_filter(&f);
		an_dim two[2] = {(an_dim)(1 + rnd(AN_DIMS_HERE - 1)), AN_DIM_MONTH};
		check_query(&f, two, two[0] == AN_DIM_MONTH ? 1 : 2);
	}
	finish("after the commit hook");

	/* A fresh index built from the file agrees too. */
	ks_error_clear(&e);
	assert_int_equal(an_index_build(fx.store, &fx.ix2, &e), KS_OK);
	memset(&f, 0, sizeof f);
	for (int d = 1; d < AN_DIMS_HERE; d++) {
		an_dim one[1] = {(an_dim)d};
		check_query_on(fx.ix2, &f, one, 1);
	}
	finish("rebuilt index");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reference_sane),
		cmocka_unit_test(test_every_dimension),
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_org_rollups),
		cmocka_unit_test(test_empty_slices),
		cmocka_unit_test(test_period_boundaries),
		cmocka_unit_test(test_random_combinations),
		cmocka_unit_test(test_each_filter_value),
		cmocka_unit_test(test_filter_unknown_bands),
		cmocka_unit_test(test_order_long_names),
		cmocka_unit_test(test_other_zones),
		cmocka_unit_test(test_local_time_buckets),
		cmocka_unit_test(test_persons),
		cmocka_unit_test(test_persons_two_threads),
		cmocka_unit_test(test_commit_hook),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	ref_free();
	return rc;
}
