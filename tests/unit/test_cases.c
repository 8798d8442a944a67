/* test_cases.c — the pure parts of the closed loop (src/cases/): working-day
 * deadlines, the quantile behind the SLA views, the status flow with
 * consent, and the texts of the case mails.
 *
 * Deadlines are literals computed independently with Python's
 * zoneinfo("Europe/Amsterdam") by stepping minute by minute and counting
 * only Monday..Friday (tests/api/ks.py, working_deadline); quantiles are
 * Python's statistics.quantiles(method="inclusive") and worked by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cases/flow.h"
#include "cases/notify.h"
#include "cases/sla.h"

static void test_deadline_working_days(void **state)
{
	(void)state;
	/* Friday 2026-01-16 15:00 CET + 48 h -> Tuesday 15:00 CET */
	assert_int_equal(cases_deadline(1768572000, 48, true), 1768917600);
	/* Saturday: the clock starts Monday 00:00 -> Tuesday 24:00 CET */
	assert_int_equal(cases_deadline(1768644000, 48, true), 1768950000);
	/* Friday 15:00 + 9 h ends exactly at midnight */
	assert_int_equal(cases_deadline(1768572000, 9, true), 1768604400);
	/* across the March switch: Friday 13:00 CET -> Tuesday 13:00 CEST */
	assert_int_equal(cases_deadline(1774612800, 48, true), 1774954800);
	/* across the October switch: Friday 14:00 CEST -> Tuesday 14:00 CET */
	assert_int_equal(cases_deadline(1792756800, 48, true), 1793106000);
}

static void test_deadline_calendar(void **state)
{
	(void)state;
	assert_int_equal(cases_deadline(1768644000, 48, false), 1768644000 + 48 * 3600);
	assert_int_equal(cases_deadline(1768644000, 0, true), 1768644000);
	assert_int_equal(cases_deadline(1768644000, -5, false), 1768644000);
}

static void test_quantile(void **state)
{
	(void)state;
	const double x[] = {1, 3, 10, 30, 80};
	assert_true(fabs(cases_quantile(x, 5, 0.5) - 10.0) < 1e-12);
	/* h = 4 * 0.9 = 3.6: 30 + 0.6 * (80 - 30) = 60 */
	assert_true(fabs(cases_quantile(x, 5, 0.9) - 60.0) < 1e-12);
	assert_true(fabs(cases_quantile(x, 5, 0.0) - 1.0) < 1e-12);
	assert_true(fabs(cases_quantile(x, 5, 1.0) - 80.0) < 1e-12);
	const double y[] = {2, 4};
	assert_true(fabs(cases_quantile(y, 2, 0.9) - 3.8) < 1e-12);
	assert_true(fabs(cases_quantile(y, 2, 0.5) - 3.0) < 1e-12);
	const double z[] = {7};
	assert_true(fabs(cases_quantile(z, 1, 0.9) - 7.0) < 1e-12);
}

static void test_status_flow(void **state)
{
	(void)state;
	assert_true(cases_status_step("new", "contacted", false));
	assert_false(cases_status_step("new", "resolved", false));
	assert_false(cases_status_step("new", "contacted", true));
	assert_true(cases_status_step("new", "resolved", true));
	assert_true(cases_status_step("contacted", "resolved", false));
	assert_true(cases_status_step("resolved", "closed", false));
	assert_true(cases_status_step("closed", "new", false));
	assert_true(cases_status_step("resolved", "new", true));
	assert_false(cases_status_step("closed", "contacted", false));
	assert_false(cases_status_step("contacted", "new", false));
	assert_true(cases_status_step("contacted", "contacted", false));
	assert_false(cases_status_known("open"));
	assert_true(cases_status_open("contacted"));
	assert_false(cases_status_open("resolved"));

	const char *next[5];
	cases_status_next("new", false, next);
	assert_string_equal(next[0], "contacted");
	assert_null(next[1]);
	cases_status_next("new", true, next);
	assert_string_equal(next[0], "resolved");
	assert_null(next[1]);
	cases_status_next("resolved", false, next);
	assert_string_equal(next[0], "new");
	assert_string_equal(next[1], "closed");
	assert_null(next[2]);
	assert_true(cases_root_cause_known("wait_time"));
	assert_false(cases_root_cause_known("wachttijd"));
}

static void test_mail_opened(void **state)
{
	(void)state;
	cases_mail_input in = {.kind = "opened", .lang = "nl", .case_id = 17, .reason = "NPS 2 (at most 6)",
			       .customer_name = "Anna", .team_name = "Team Noord", .owner_name = NULL,
			       .deadline = 1768917600, .open_text = "Te laat", .base_url = "https://x.nl"};
	ks_buf subj, text;
	buf_init(&subj, 4096);
	buf_init(&text, 65536);
	assert_int_equal(cases_mail_build(&in, &subj, &text), KS_OK);
	assert_string_equal(subj.data, "Nieuwe case #17: NPS 2 (at most 6)");
	assert_non_null(strstr(text.data, "Klant: Anna\n"));
	assert_non_null(strstr(text.data, "Eigenaar: de wachtrij van het team\n"));
	assert_non_null(strstr(text.data, "2026-01-20 15:00"));   /* 14:00 UTC on the Amsterdam clock */
	assert_non_null(strstr(text.data, "\"Te laat\""));
	assert_non_null(strstr(text.data, "https://x.nl/#/case/17"));
	buf_reset(&subj);
	buf_reset(&text);
	in.lang = "en";
	in.kind = "overdue";
	in.owner_name = "Lotte";
	assert_int_equal(cases_mail_build(&in, &subj, &text), KS_OK);
	assert_string_equal(subj.data, "Case #17 is past its deadline");
	assert_non_null(strstr(text.data, "Owner: Lotte\n"));
	buf_free(&subj);
	buf_free(&text);
}

static void test_mail_customer(void **state)
{
	(void)state;
	cases_mail_input in = {.kind = "customer", .lang = "en", .case_id = 3, .customer_name = "Mary",
			       .customer_message = "You told us X; we did Y.", .org_name = "Energie BV"};
	ks_buf subj, text;
	buf_init(&subj, 4096);
	buf_init(&text, 65536);
	assert_int_equal(cases_mail_build(&in, &subj, &text), KS_OK);
	assert_string_equal(subj.data, "Your feedback to Energie BV");
	assert_non_null(strstr(text.data, "Dear Mary,\n\nYou told us X; we did Y.\n"));
	assert_null(strstr(text.data, "#/case/")); /* no staff link to a customer */
	buf_reset(&subj);
	buf_reset(&text);
	in.customer_message = "";
	assert_int_equal(cases_mail_build(&in, &subj, &text), KS_ERR_INVALID);
	in.kind = "nonsense";
	assert_int_equal(cases_mail_build(&in, &subj, &text), KS_ERR_INVALID);
	buf_free(&subj);
	buf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline_working_days),
		cmocka_unit_test(test_deadline_calendar),
		cmocka_unit_test(test_quantile),
		cmocka_unit_test(test_status_flow),
		cmocka_unit_test(test_mail_opened),
		cmocka_unit_test(test_mail_customer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
