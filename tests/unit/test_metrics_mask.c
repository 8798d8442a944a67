/* test_metrics_mask.c — what may be printed: the minimum n per measure
 * (answers to that question, not responses) and the caller's mask
 * (secondary suppression), in JSON (metrics_json_masked and the text
 * writer) and CSV.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"

static void add_many(metrics_counts *c, int n, int nps, int grade, int ces)
{
	for (int i = 0; i < n; i++)
		metrics_counts_add(c, nps, grade, ces);
}

/* The members text of a slice, compared whole. */
static void assert_members(const metrics_counts *c, int64_t min_n, const metrics_mask *show,
			   const char *want)
{
	ks_buf b;
	buf_init(&b, 4096);
	assert_int_equal(metrics_json_members_masked(&b, c, min_n, show), KS_OK);
	int eq = strcmp(b.data, want) == 0;
	if (!eq)
		print_error("got  %s\nwant %s\n", b.data, want);
	/* The jansson object is parsed from the same text. */
	json_t *o = metrics_json_masked(c, min_n, show);
	char *wrapped = NULL;
	size_t len = strlen(b.data) + 3;
	wrapped = test_malloc(len);
	memcpy(wrapped, "{", 2);
	strcat(wrapped, b.data);
	strcat(wrapped, "}");
	json_t *w = json_loads(wrapped, 0, NULL);
	bool same = o != NULL && w != NULL && json_equal(o, w);
	json_decref(o);
	json_decref(w);
	test_free(wrapped);
	buf_free(&b);
	assert_true(eq);
	assert_true(same);
}

/* 12 responses with 12 NPS answers (all 10) and 3 grades (8): the group
 * is big enough but its grade is not. NPS as in test_metrics_round's CSV
 * case: 100.0 [54.2, 100.0], margin 25.8. */
static void test_grade_hidden_by_its_own_n(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 3, 10, 8, -1);
	add_many(&c, 9, 10, -1, -1);
	assert_members(&c, 5, NULL,
		       "\"n\":12,\"min_n\":5,\"insufficient\":false,"
		       "\"nps\":{\"n\":12,\"promoters\":1.00,\"passives\":0.00,\"detractors\":0.00,"
		       "\"value\":100.0,\"low\":54.2,\"high\":100.0,\"margin\":25.8},"
		       "\"grade\":null,\"ces\":null,\"hidden\":[\"grade\"]");
	/* metrics_json_members is the same rule. */
	ks_buf b;
	buf_init(&b, 4096);
	assert_int_equal(metrics_json_members(&b, &c, 5), KS_OK);
	bool hidden = strstr(b.data, "\"grade\":null") != NULL;
	buf_free(&b);
	assert_true(hidden);
}

/* 12 responses, only 3 with an NPS answer, nothing else: no measure can
 * be printed, so the slice is insufficient, though n >= min_n. */
static void test_nothing_printable(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 3, 9, -1, -1);
	add_many(&c, 9, -1, -1, -1);
	assert_members(&c, 5, NULL,
		       "\"n\":12,\"min_n\":5,\"insufficient\":true,\"nps\":null,\"grade\":null,"
		       "\"ces\":null,\"hidden\":[\"nps\"]");
}

/* The mask hides what min_n alone would show (secondary suppression);
 * the reply does not say which rule hid it. A mask on a measure without
 * answers hides nothing worth naming. 5 responses: NPS 10 x5, grade 7 x5,
 * no CES. */
static void test_show_mask(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 5, 10, 7, -1);
	metrics_mask show = {false, true, false};
	assert_members(&c, 5, &show,
		       "\"n\":5,\"min_n\":5,\"insufficient\":false,\"nps\":null,"
		       "\"grade\":{\"n\":5,\"mean\":7.00,\"low\":7.00,\"high\":7.00,"
		       "\"share_7plus\":1.00,\"share_9plus\":0.00},\"ces\":null,\"hidden\":[\"nps\"]");
	metrics_mask none = {false, false, false};
	assert_members(&c, 5, &none,
		       "\"n\":5,\"min_n\":5,\"insufficient\":true,\"nps\":null,\"grade\":null,"
		       "\"ces\":null,\"hidden\":[\"nps\",\"grade\"]");
	/* show = true never overrides min_n. */
	metrics_mask all = {true, true, true};
	assert_members(&c, 6, &all, "\"n\":5,\"min_n\":6,\"insufficient\":true");
}

/* Fewer responses than min_n: n, min_n and insufficient only -- not even
 * which measures were answered. */
static void test_below_min_n_says_nothing(void **state)
{
	(void)state;
	metrics_counts c = {0};
	add_many(&c, 4, 10, 9, 7);
	assert_members(&c, 5, NULL, "\"n\":4,\"min_n\":5,\"insufficient\":true");
	metrics_mask show = {true, false, true};
	assert_members(&c, 5, &show, "\"n\":4,\"min_n\":5,\"insufficient\":true");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grade_hidden_by_its_own_n),
		cmocka_unit_test(test_nothing_printable),
		cmocka_unit_test(test_show_mask),
		cmocka_unit_test(test_below_min_n_says_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
