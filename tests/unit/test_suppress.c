/* test_suppress.c — the cell-suppression engine (src/disclose/suppress.c).
 *
 * Each case is a small table worked by hand: which cells the primary rule
 * hides (0 < count < threshold), and which one the complementary rule must
 * add so that no line holds exactly one hidden cell. Expected hidden sets
 * are literals; the engine's choice rule (the visible member with the
 * fewest answers, ties to the one added first, else the total) is what
 * makes them unique.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "disclose/suppress.h"

static size_t cell(sup_table *t, int64_t nps, int64_t grade, int64_t ces, int64_t min_n)
{
	int64_t c[SUP_MEASURES] = {nps, grade, ces};
	int64_t thr[SUP_MEASURES] = {min_n, min_n, min_n};
	size_t i = 0;
	assert_int_equal(sup_cell(t, c, thr, &i), KS_OK);
	return i;
}

static void line(sup_table *t, size_t total, const size_t *members, size_t n)
{
	assert_int_equal(sup_line(t, total), KS_OK);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sup_member(t, members[i]), KS_OK);
}

/* Team of 20 NPS answers = A 12 + B 6 + C 2 (person threshold 10):
 * primary hides B (6) and C (2); two hidden in the line: nothing more. */
static void test_two_hidden_need_nothing(void **state)
{
	(void)state;
	sup_table t;
	sup_init(&t);
	size_t team = cell(&t, 20, 0, 0, 5);
	size_t m[3] = {cell(&t, 12, 0, 0, 10), cell(&t, 6, 0, 0, 10), cell(&t, 2, 0, 0, 10)};
	line(&t, team, m, 3);
	sup_run(&t);
	assert_false(t.hidden[team][0]);
	assert_false(t.hidden[m[0]][0]);
	assert_true(t.hidden[m[1]][0]);
	assert_true(t.hidden[m[2]][0]);
	sup_free(&t);
}

/* Team 40 = A 15 + B 20 + C 5 (threshold 10): only C is hidden, so
 * 40 - 15 - 20 would give C; the smallest visible member, A (15), is
 * hidden too. */
static void test_one_hidden_hides_smallest_sibling(void **state)
{
	(void)state;
	sup_table t;
	sup_init(&t);
	size_t team = cell(&t, 40, 0, 0, 5);
	size_t m[3] = {cell(&t, 15, 0, 0, 10), cell(&t, 20, 0, 0, 10), cell(&t, 5, 0, 0, 10)};
	line(&t, team, m, 3);
	sup_run(&t);
	assert_false(t.hidden[team][0]);
	assert_true(t.hidden[m[0]][0]);
	assert_false(t.hidden[m[1]][0]);
	assert_true(t.hidden[m[2]][0]);
	sup_free(&t);
}

/* Per measure: the grade of B is under the threshold while its NPS is not;
 * only the grade line gets a second hide (A's grade, 11 < 30), A's NPS
 * stays. Empty measures (CES 0 everywhere) are known and never hidden. */
static void test_per_measure(void **state)
{
	(void)state;
	sup_table t;
	sup_init(&t);
	size_t team = cell(&t, 50, 44, 0, 5);
	size_t m[2] = {cell(&t, 20, 11, 0, 10), cell(&t, 30, 33, 0, 10)};
	/* B's grade made small by hand: 3 answers */
	t.count[m[1]][1] = 3;
	t.count[team][1] = 14;
	line(&t, team, m, 2);
	sup_run(&t);
	assert_false(t.hidden[m[0]][0]);
	assert_false(t.hidden[m[1]][0]);
	assert_true(t.hidden[m[1]][1]);
	assert_true(t.hidden[m[0]][1]);
	assert_false(t.hidden[team][1]);
	assert_false(t.hidden[team][2]);
	assert_false(t.hidden[m[0]][2]);
	sup_free(&t);
}

/* A line whose only other member is empty: total 3 = A 3 + B 0. A is
 * hidden (3 < 10) and B is known to be 0, so the total itself must go. */
static void test_total_goes_when_no_member_left(void **state)
{
	(void)state;
	sup_table t;
	sup_init(&t);
	size_t total = cell(&t, 12, 0, 0, 5);
	size_t m[2] = {cell(&t, 3, 0, 0, 10), cell(&t, 9, 0, 0, 5)};
	t.count[m[1]][0] = 0;
	t.count[total][0] = 3;
	line(&t, total, m, 2);
	sup_run(&t);
	assert_true(t.hidden[m[0]][0]);
	assert_true(t.hidden[total][0]);
	sup_free(&t);
}

/* Two crossing lines (a 2 x 2 table with margins): cell a is hidden; the
 * row line hides b (the smaller of the row), which leaves b's column with
 * one hidden cell, so d is hidden too; then every line holds two. */
static void test_crossing_lines_cascade(void **state)
{
	(void)state;
	sup_table t;
	sup_init(&t);
	/* rows r1 = a + b, r2 = c + d; columns k1 = a + c, k2 = b + d */
	size_t a = cell(&t, 3, 0, 0, 5), b = cell(&t, 20, 0, 0, 5);
	size_t c = cell(&t, 30, 0, 0, 5), d = cell(&t, 40, 0, 0, 5);
	size_t r1 = cell(&t, 23, 0, 0, 5), r2 = cell(&t, 70, 0, 0, 5);
	size_t k1 = cell(&t, 33, 0, 0, 5), k2 = cell(&t, 60, 0, 0, 5);
	size_t row1[2] = {a, b}, row2[2] = {c, d}, col1[2] = {a, c}, col2[2] = {b, d};
	line(&t, r1, row1, 2);
	line(&t, r2, row2, 2);
	line(&t, k1, col1, 2);
	line(&t, k2, col2, 2);
	sup_run(&t);
	assert_true(t.hidden[a][0]);
	assert_true(t.hidden[b][0]);
	assert_true(t.hidden[c][0]);
	assert_true(t.hidden[d][0]);
	assert_false(t.hidden[r1][0]);
	assert_false(t.hidden[k1][0]);
	/* every line: 0 or >= 2 hidden */
	for (size_t l = 0; l < t.n_lines; l++) {
		size_t h = 0;
		for (size_t i = t.line_off[l]; i < t.line_off[l + 1]; i++)
			h += t.hidden[t.line_cell[i]][0];
		assert_true(h == 0 || h >= 2);
	}
	sup_free(&t);
}

/* Answers that name no one give no one away: a dept of 40 = team A 35
 * (one of whose cells is a person's) + an anonymous team of 3, hidden by
 * its threshold but not sensitive, so A stays shown. Make the small cell
 * sensitive and A must go. */
static void test_not_sensitive_protects_nothing(void **state)
{
	(void)state;
	for (int sens = 0; sens < 2; sens++) {
		sup_table t;
		sup_init(&t);
		size_t dept = cell(&t, 38, 0, 0, 5);
		size_t m[2] = {cell(&t, 35, 0, 0, 5), cell(&t, 3, 0, 0, 5)};
		sup_sensitive(&t, m[1], 0, sens == 1);
		line(&t, dept, m, 2);
		sup_run(&t);
		assert_true(t.hidden[m[1]][0]);
		assert_false(t.hidden[dept][0]);
		if (sens)
			assert_true(t.hidden[m[0]][0]);
		else
			assert_false(t.hidden[m[0]][0]);
		sup_free(&t);
	}
}

/* A non-sensitive hidden cell never counts as protection: one sensitive
 * hidden (B, 4) and one anonymous hidden (C, 2) beside a shown total and A:
 * A is hidden too, since C might be known from elsewhere. */
static void test_anonymous_hide_is_no_protection(void **state)
{
	(void)state;
	sup_table t;
	sup_init(&t);
	size_t total = cell(&t, 46, 0, 0, 5);
	size_t m[3] = {cell(&t, 40, 0, 0, 5), cell(&t, 4, 0, 0, 5), cell(&t, 2, 0, 0, 5)};
	sup_sensitive(&t, m[2], 0, false);
	line(&t, total, m, 3);
	sup_run(&t);
	assert_true(t.hidden[m[1]][0]);
	assert_true(t.hidden[m[2]][0]);
	assert_true(t.hidden[m[0]][0]);
	assert_false(t.hidden[total][0]);
	sup_free(&t);
}

/* Thresholds per measure: the NPS of a cell answered by one employee
 * (threshold 10) while its grades come from two (threshold 5). */
static void test_threshold_per_measure(void **state)
{
	(void)state;
	sup_table t;
	sup_init(&t);
	int64_t c[SUP_MEASURES] = {7, 7, 0}, thr[SUP_MEASURES] = {10, 5, 5};
	size_t i = 0;
	assert_int_equal(sup_cell(&t, c, thr, &i), KS_OK);
	sup_run(&t);
	assert_true(t.hidden[i][0]);
	assert_false(t.hidden[i][1]);
	assert_false(t.hidden[i][2]);
	sup_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_hidden_need_nothing),
		cmocka_unit_test(test_one_hidden_hides_smallest_sibling),
		cmocka_unit_test(test_per_measure),
		cmocka_unit_test(test_total_goes_when_no_member_left),
		cmocka_unit_test(test_crossing_lines_cascade),
		cmocka_unit_test(test_not_sensitive_protects_nothing),
		cmocka_unit_test(test_anonymous_hide_is_no_protection),
		cmocka_unit_test(test_threshold_per_measure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
