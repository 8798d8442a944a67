/* test_governance_series.c — the rules of src/governance/kpi.c and the edge
 * cases of the hard series (src/governance/series.c) on a real store: keys,
 * periods, soft keys, levels; a window across a year end, one month, the
 * 120-month limit; a department without teams; sum over the children that
 * have a value; last with a tie; a unit's own value first; values outside
 * the window; the JSON shape with absent cells; the CSV import's line
 * numbers (BOM, blank lines, a quoted field over two lines), a later row
 * winning, and a batch naming its bad index. Expected values are written
 * out here by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "governance/kpi.h"
#include "governance/series.h"
#include "store/sqlite_int.h"

static void db_remove(const char *path)
{
	char p[200];
	unlink(path);
	snprintf(p, sizeof p, "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", path);
	unlink(p);
}

static void test_rules(void **state)
{
	(void)state;
	char k40[41], k41[42];
	memset(k40, 'a', 40);
	k40[40] = '\0';
	memset(k41, 'a', 41);
	k41[41] = '\0';
	assert_true(kpi_key_valid("cost_to_serve"));
	assert_true(kpi_key_valid("a"));
	assert_true(kpi_key_valid(k40));
	assert_false(kpi_key_valid(k41));
	assert_false(kpi_key_valid(""));
	assert_false(kpi_key_valid("Cost"));
	assert_false(kpi_key_valid("a-b"));
	assert_false(kpi_key_valid("a b"));
	/* theme:<id>: 1..47 of a-z, 0-9 and _ (issue 17 review L7), the
	 * longest id a stored taxonomy may have: longer than a hard key */
	char t47[6 + 47 + 1], t48[6 + 48 + 1];
	snprintf(t47, sizeof t47, "theme:%.47s", "abcdefghijklmnopqrstuvwxyz_0123456789abcdefghijk");
	snprintf(t48, sizeof t48, "theme:%.48s", "abcdefghijklmnopqrstuvwxyz_0123456789abcdefghijkl");
	assert_int_equal(strlen(t47), 53);
	assert_int_equal(strlen(t48), 54);
	assert_true(kpi_theme_key_valid("theme:waiting_time"));
	assert_true(kpi_theme_key_valid(t47));
	assert_false(kpi_theme_key_valid(t48));
	assert_false(kpi_theme_key_valid("theme:"));
	assert_false(kpi_theme_key_valid("theme:<img src=x>"));
	assert_false(kpi_theme_key_valid("theme:Wacht"));
	assert_false(kpi_theme_key_valid("nps"));

	assert_true(kpi_period_valid("2026-01"));
	assert_true(kpi_period_valid("1900-12"));
	assert_true(kpi_period_valid("2999-12"));
	assert_false(kpi_period_valid("2026-00"));
	assert_false(kpi_period_valid("2026-13"));
	assert_false(kpi_period_valid("1899-12"));
	assert_false(kpi_period_valid("3000-01"));
	assert_false(kpi_period_valid("2026-1"));
	assert_false(kpi_period_valid("2026-01x"));
	assert_false(kpi_period_valid("2026/01"));
	assert_false(kpi_period_valid("2026"));

	assert_true(kpi_target_period_valid("2026"));
	assert_true(kpi_target_period_valid("2026-Q1"));
	assert_true(kpi_target_period_valid("2026-Q4"));
	assert_true(kpi_target_period_valid("2026-07"));
	assert_false(kpi_target_period_valid("2026-Q0"));
	assert_false(kpi_target_period_valid("2026-Q5"));
	assert_false(kpi_target_period_valid("2026-q1"));
	assert_false(kpi_target_period_valid("202"));
	assert_false(kpi_target_period_valid("1899"));

	assert_true(gov_kpi_is_soft("nps"));
	assert_true(gov_kpi_is_soft("enps"));
	assert_true(gov_kpi_is_soft("case_sla"));
	assert_true(gov_kpi_is_soft("theme:wachttijd"));
	assert_true(gov_kpi_is_soft("theme:"));
	assert_false(gov_kpi_is_soft("themes"));
	assert_false(gov_kpi_is_soft("nps_x"));
	assert_false(gov_kpi_is_soft("NPS"));
	assert_false(gov_kpi_is_soft(NULL));

	assert_int_equal(gov_level_from_name("team"), GOV_LEVEL_TEAM);
	assert_int_equal(gov_level_from_name("department"), GOV_LEVEL_DEPARTMENT);
	assert_int_equal(gov_level_from_name("organisation"), GOV_LEVEL_ORGANISATION);
	assert_int_equal(gov_level_from_name("employee"), -1);
	assert_int_equal(gov_level_from_name(NULL), -1);
	assert_null(gov_level_name(3));

	assert_true(kpi_value_valid(-1e15));
	assert_false(kpi_value_valid(1.0000001e15));

	store_kpi k = {.key = "nps", .name_nl = "a", .name_en = "b", .unit = "%", .department = "sales",
		       .kind = "output", .aggregation = "sum"};
	ks_error e;
	assert_int_equal(kpi_check(&k, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "key");
	snprintf(k.key, sizeof k.key, "ok_key");
	assert_int_equal(kpi_check(&k, &e), KS_OK);
	snprintf(k.unit, sizeof k.unit, "%s", "");
	assert_int_equal(kpi_check(&k, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "unit");
	snprintf(k.unit, sizeof k.unit, "EUR");
	snprintf(k.name_en, sizeof k.name_en, "tab\there");
	assert_int_equal(kpi_check(&k, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "name_en");
}

/* The store of the series tests: organisation 1; departments 2 (teams 4,
 * 5) and 3 (no teams); a KPI of each aggregation. */
typedef struct fx {
	char path[80];
	ks_store *s;
	int64_t sum, mean, last;
} fx;

static int64_t fx_kpi(fx *f, const char *key, const char *agg)
{
	store_kpi k = {.higher_is_better = true};
	snprintf(k.key, sizeof k.key, "%s", key);
	snprintf(k.name_nl, sizeof k.name_nl, "%s", key);
	snprintf(k.name_en, sizeof k.name_en, "%s", key);
	snprintf(k.unit, sizeof k.unit, "EUR");
	snprintf(k.department, sizeof k.department, "operations");
	snprintf(k.kind, sizeof k.kind, "output");
	snprintf(k.aggregation, sizeof k.aggregation, "%s", agg);
	int64_t id = 0;
	assert_int_equal(store_kpi_create(f->s, &k, &id, NULL), KS_OK);
	return id;
}

static int fx_setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	snprintf(f->path, sizeof f->path, "/tmp/ks_test_gov_series_%ld.db", (long)getpid());
	db_remove(f->path);
	assert_int_equal(store_open(f->path, NULL, &f->s, NULL), KS_OK);
	sq_conn *c = sq_acquire(f->s);
	assert_int_equal(sq_exec(c,
				 "INSERT INTO org_units(id, parent_id, kind, name, created_at) VALUES"
				 " (1, NULL, 'organisation', 'Org', 0), (2, 1, 'department', 'D2', 0),"
				 " (3, 1, 'department', 'D3', 0), (4, 2, 'team', 'T4', 0), (5, 2, 'team', 'T5', 0)",
				 NULL),
			 KS_OK);
	sq_release(f->s, c);
	f->sum = fx_kpi(f, "k_sum", "sum");
	f->mean = fx_kpi(f, "k_mean", "mean");
	f->last = fx_kpi(f, "k_last", "last");
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	fx *f = *state;
	store_close(f->s);
	db_remove(f->path);
	free(f);
	return 0;
}

static void put(fx *f, int64_t kpi, int64_t unit, const char *period, double v)
{
	store_kpi_value x = {.kpi_id = kpi, .unit_id = unit, .value = v};
	snprintf(x.period, sizeof x.period, "%s", period);
	ks_error e;
	assert_int_equal(store_kpi_values_put(f->s, &x, 1, "api", "values", &e), KS_OK);
}

static const gov_cell *cell(const gov_series *g, int64_t unit, const char *period)
{
	const gov_cell *c = gov_series_cell(g, unit, period);
	assert_non_null(c);
	return c;
}

static void test_window(void **state)
{
	fx *f = *state;
	gov_series g;
	ks_error e;
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_DEPARTMENT, "2025-11", "2026-02", &g, &e), KS_OK);
	assert_int_equal(g.n_periods, 4);
	assert_string_equal(g.periods[0], "2025-11");
	assert_string_equal(g.periods[1], "2025-12");
	assert_string_equal(g.periods[2], "2026-01");
	assert_string_equal(g.periods[3], "2026-02");
	assert_int_equal(g.n_units, 2);
	assert_int_equal(g.unit_ids[0], 2);
	assert_int_equal(g.unit_ids[1], 3);
	for (size_t i = 0; i < g.n_units * g.n_periods; i++)
		assert_false(g.cells[i].present);   /* nothing stored yet */
	assert_null(gov_series_cell(&g, 4, "2026-01"));   /* a team is no row at department level */
	assert_null(gov_series_cell(&g, 2, "2026-03"));   /* past the window */
	gov_series_free(&g);
	assert_int_equal(g.n_units, 0);
	gov_series_free(&g);   /* twice is fine */

	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_TEAM, "2026-05", "2026-05", &g, &e), KS_OK);
	assert_int_equal(g.n_periods, 1);
	assert_int_equal(g.n_units, 2);
	gov_series_free(&g);

	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_TEAM, "2016-01", "2025-12", &g, &e), KS_OK);
	assert_int_equal(g.n_periods, 120);
	assert_string_equal(g.periods[119], "2025-12");
	gov_series_free(&g);
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_TEAM, "2015-12", "2025-12", &g, &e),
			 KS_ERR_INVALID);
	assert_string_equal(e.field, "to");
	assert_int_equal(g.n_units, 0);
	assert_null(g.cells);
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_TEAM, "2026-02", "2026-01", &g, &e),
			 KS_ERR_INVALID);
	assert_string_equal(e.field, "to");
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_TEAM, "2026-1", "2026-02", &g, &e),
			 KS_ERR_INVALID);
	assert_string_equal(e.field, "from");
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", 3, "2026-01", "2026-02", &g, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "level");
	assert_int_equal(gov_series_get(f->s, NULL, "no_such", GOV_LEVEL_TEAM, "2026-01", "2026-02", &g, &e),
			 KS_ERR_INVALID);
	assert_string_equal(e.field, "kpi");
	assert_int_equal(gov_series_get(f->s, NULL, "", GOV_LEVEL_TEAM, "2026-01", "2026-02", &g, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "kpi");
}

static void test_aggregation(void **state)
{
	fx *f = *state;
	/* sum, 2026-01: T4 3, T5 missing -> D2 = 3 (the children that have
	 * one); D3 own 10 -> organisation 13. 2026-02: D2 own 100 beside T4 1,
	 * T5 2 -> D2 100, organisation 100 (D3 none). A value outside the
	 * window (2025-06) counts nowhere. */
	put(f, f->sum, 4, "2026-01", 3);
	put(f, f->sum, 3, "2026-01", 10);
	put(f, f->sum, 2, "2026-02", 100);
	put(f, f->sum, 4, "2026-02", 1);
	put(f, f->sum, 5, "2026-02", 2);
	put(f, f->sum, 4, "2025-06", 999);
	gov_series g;
	ks_error e;
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_DEPARTMENT, "2026-01", "2026-02", &g, &e), KS_OK);
	assert_true(cell(&g, 2, "2026-01")->present);
	assert_true(cell(&g, 2, "2026-01")->value == 3.0);
	assert_int_equal(cell(&g, 2, "2026-01")->n, 1);   /* one team below it had a value */
	assert_true(cell(&g, 3, "2026-01")->value == 10.0);
	assert_true(cell(&g, 2, "2026-02")->value == 100.0);
	assert_int_equal(cell(&g, 2, "2026-02")->n, 1);   /* its own */
	assert_false(cell(&g, 3, "2026-02")->present);    /* a department without teams and without a value */
	gov_series_free(&g);
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_ORGANISATION, "2026-01", "2026-02", &g, &e), KS_OK);
	assert_true(cell(&g, 1, "2026-01")->value == 13.0);
	assert_int_equal(cell(&g, 1, "2026-01")->n, 2);
	assert_true(cell(&g, 1, "2026-02")->value == 100.0);
	json_t *j = gov_series_json(&g, NULL, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "organisation");
	json_t *vals = json_object_get(json_array_get(json_object_get(j, "units"), 0), "values");
	assert_true(json_real_value(json_array_get(vals, 0)) == 13.0);
	assert_true(json_real_value(json_array_get(vals, 1)) == 100.0);
	json_decref(j);
	gov_series_free(&g);
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_ORGANISATION, "2025-05", "2025-05", &g, &e), KS_OK);
	j = gov_series_json(&g, NULL, NULL);
	assert_true(json_is_null(json_array_get(json_object_get(json_array_get(json_object_get(j, "units"), 0), "values"), 0)));
	assert_true(json_is_null(json_array_get(json_object_get(json_array_get(json_object_get(j, "units"), 0), "n"), 0)));
	json_decref(j);
	gov_series_free(&g);

	/* mean, 2026-03: T4 1, T5 4 -> D2 2.5; D3 7 -> organisation (2.5 + 7) / 2 = 4.75 */
	put(f, f->mean, 4, "2026-03", 1);
	put(f, f->mean, 5, "2026-03", 4);
	put(f, f->mean, 3, "2026-03", 7);
	assert_int_equal(gov_series_get(f->s, NULL, "k_mean", GOV_LEVEL_ORGANISATION, "2026-03", "2026-03", &g, &e), KS_OK);
	assert_true(cell(&g, 1, "2026-03")->value == 4.75);
	gov_series_free(&g);

	/* last, 2026-04: T4 and T5 written in the same second -> a tie: the
	 * higher unit id (T5) */
	store_kpi_value two[2] = {{.kpi_id = f->last, .unit_id = 4, .period = "2026-04", .value = 40},
				  {.kpi_id = f->last, .unit_id = 5, .period = "2026-04", .value = 50}};
	assert_int_equal(store_kpi_values_put(f->s, two, 2, "api", "values", &e), KS_OK);
	assert_int_equal(gov_series_get(f->s, NULL, "k_last", GOV_LEVEL_DEPARTMENT, "2026-04", "2026-04", &g, &e), KS_OK);
	assert_true(cell(&g, 2, "2026-04")->value == 50.0);
	gov_series_free(&g);
	/* the same (kpi, unit, period) twice in one batch: the later wins */
	store_kpi_value again[2] = {{.kpi_id = f->last, .unit_id = 4, .period = "2026-05", .value = 1},
				    {.kpi_id = f->last, .unit_id = 4, .period = "2026-05", .value = 2}};
	assert_int_equal(store_kpi_values_put(f->s, again, 2, "api", "values", &e), KS_OK);
	assert_int_equal(gov_series_get(f->s, NULL, "k_last", GOV_LEVEL_TEAM, "2026-05", "2026-05", &g, &e), KS_OK);
	assert_true(cell(&g, 4, "2026-05")->value == 2.0);
	assert_false(cell(&g, 5, "2026-05")->present);
	gov_series_free(&g);
}

static int64_t count_values(fx *f)
{
	sq_conn *c = sq_acquire(f->s);
	int64_t n = -1;
	assert_int_equal(sq_one_id(c, "SELECT count(*) FROM kpi_values WHERE ?1 > 0", 1, &n, NULL), KS_OK);
	sq_release(f->s, c);
	return n;
}

static void test_batch_and_import(void **state)
{
	fx *f = *state;
	ks_error e;
	int64_t before = count_values(f);
	store_kpi_value v[3] = {{.kpi_id = f->sum, .unit_id = 4, .period = "2027-01", .value = 1},
				{.kpi_id = f->sum, .unit_id = 5, .period = "2027-01", .value = 2},
				{.kpi_id = f->sum, .unit_id = 77, .period = "2027-01", .value = 3}};
	assert_int_equal(store_kpi_values_put(f->s, v, 3, "api", "values", &e), KS_ERR_REF);
	assert_string_equal(e.field, "values[2].unit_id");
	assert_int_equal(count_values(f), before);   /* all or nothing */
	v[2].unit_id = 5;
	v[1].kpi_id = 999;
	assert_int_equal(store_kpi_values_put(f->s, v, 3, "import", "rows", &e), KS_ERR_REF);
	assert_string_equal(e.field, "rows[1].kpi_id");
	assert_int_equal(count_values(f), before);
	assert_int_equal(store_kpi_values_put(f->s, v, 1, "bulk", "rows", &e), KS_ERR_INTERNAL);

	/* line numbers: a BOM, a blank line, a quoted field over two lines */
	const char *doc = "\xef\xbb\xbfkpi,unit,period,value\n"
			  "k_sum,T4,2027-02,1\n"
			  "\n"
			  "k_sum,\"T\n5\",2027-02,2\n"
			  "k_sum,T5,2027-2,3\n";
	char *buf = strdup(doc);
	int line = -1;
	kpi_import_counts k;
	assert_int_equal(kpi_import_csv(f->s, buf, strlen(doc), &k, &line, &e), KS_ERR_INVALID);
	assert_int_equal(line, 4);   /* "T\n5" is no unit; its row starts on line 4 */
	assert_string_equal(e.field, "unit");
	const char *doc2 = "kpi,unit,period,value\r\n"
			   "k_sum,T4,2027-02,1\r\n"
			   "\r\n"
			   "k_sum,5,2027-02,2\r\n"
			   "k_sum,\"T5\",2027-2,3\r\n";
	buf = strdup(doc2);
	assert_int_equal(kpi_import_csv(f->s, buf, strlen(doc2), &k, &line, &e), KS_ERR_INVALID);
	assert_int_equal(line, 5);
	assert_string_equal(e.field, "period");
	assert_int_equal(count_values(f), before);
	const char *doc3 = "VALUE;Period;KPI;Unit\n"
			   "1,5;2027-03;k_sum;T4\n"
			   "-2;2027-03;k_sum;5\n"
			   "2,25;2027-03;k_sum;T4\n"
			   "7;2027-04;k_mean;D3\n";
	buf = strdup(doc3);
	assert_int_equal(kpi_import_csv(f->s, buf, strlen(doc3), &k, &line, &e), KS_OK);
	assert_int_equal(k.rows, 3);    /* values stored: T4 2027-03 given twice is one */
	assert_int_equal(k.lines, 4);
	assert_int_equal(k.kpis, 2);
	assert_int_equal(k.units, 3);
	assert_int_equal(k.periods, 2);
	assert_int_equal(count_values(f), before + 3);   /* T4 2027-03 given twice: one row, the later */
	gov_series g;
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_DEPARTMENT, "2027-03", "2027-03", &g, &e), KS_OK);
	assert_true(cell(&g, 2, "2027-03")->value == 0.25);   /* 2.25 + -2 */
	gov_series_free(&g);
	/* a semicolon file's thousands points (review M2) and a quoted decimal
	 * comma (L4): k_sum of D2 in 2027-06 is T4's + T5's */
	const char *doc4 = "kpi;unit;period;value;\r"
			   "k_sum;T4;2027-06;1.234,5;\r"
			   "k_sum;T5;2027-06;\"0,25\";\r";
	buf = strdup(doc4);
	assert_int_equal(kpi_import_csv(f->s, buf, strlen(doc4), &k, &line, &e), KS_OK);
	assert_int_equal(gov_series_get(f->s, NULL, "k_sum", GOV_LEVEL_DEPARTMENT, "2027-06", "2027-06", &g, &e), KS_OK);
	assert_true(cell(&g, 2, "2027-06")->value == 1234.75);
	gov_series_free(&g);
	static const char *const bad[] = {"kpi,unit,period,value\nk_sum,T4,2027-07,0x1A\n",
					  "kpi,unit,period,value\nk_sum,T4,2027-07,1e-999\n",
					  "kpi,unit,period,value\nk_sum,T4,2027-07,inf\n",
					  "kpi;unit;period;value\nk_sum;T4;2027-07;1.5\n", NULL};
	for (int i = 0; bad[i]; i++) {
		buf = strdup(bad[i]);
		assert_int_equal(kpi_import_csv(f->s, buf, strlen(bad[i]), &k, &line, &e), KS_ERR_INVALID);
		assert_int_equal(line, 2);
		assert_string_equal(e.field, "value");
	}
	char nul[] = "kpi,unit,period,value\nk_sum,T4,2027-07,1\nk_sum,T4\0x,2027-07,1\n";
	buf = malloc(sizeof nul);
	memcpy(buf, nul, sizeof nul);
	assert_int_equal(kpi_import_csv(f->s, buf, sizeof nul - 1, &k, &line, &e), KS_ERR_INVALID);
	assert_int_equal(line, 3);
	buf = strdup("");
	assert_int_equal(kpi_import_csv(f->s, buf, 0, &k, &line, &e), KS_ERR_INVALID);
	assert_int_equal(line, 1);
	buf = strdup("kpi,unit,period,value\n");
	assert_int_equal(kpi_import_csv(f->s, buf, strlen("kpi,unit,period,value\n"), &k, &line, &e), KS_ERR_INVALID);
	assert_int_equal(line, 2);
	buf = strdup("kpi,unit,period,value\nk_sum,T4,2027-05,1,9\n");
	assert_int_equal(kpi_import_csv(f->s, buf, strlen("kpi,unit,period,value\nk_sum,T4,2027-05,1,9\n"), &k, &line, &e),
			 KS_ERR_INVALID);
	assert_int_equal(line, 2);
	assert_string_equal(e.field, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test_setup_teardown(test_window, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_aggregation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch_and_import, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
