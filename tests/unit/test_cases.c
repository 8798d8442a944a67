/* test_cases.c — the pure parts of the closed loop (src/cases/): working-day
 * deadlines, the quantile behind the SLA views, the status flow with
 * consent, the texts of the case mails, the customer message rendered once
 * from its template and the digest of escalations (issue 13).
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
#include "cases/message.h"
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
	/* the handler's whole message, nothing added around it (issue 13) */
	assert_string_equal(text.data, "You told us X; we did Y.");
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

/* Render text for Oliver (en) by Lotte of Energie BV; why / code out. */
static ks_err render(const char *text, const char *customer, const char *employee, ks_buf *out, char *why,
		     const char **code)
{
	cases_msg_vars v = {.customer_name = customer, .employee_name = employee, .organisation = "Energie BV",
			    .lang = "en", .ui_lang = "en"};
	buf_reset(out);
	return cases_msg_render(text, &v, out, why, 256, code);
}

static void test_message_render(void **state)
{
	(void)state;
	ks_buf out;
	buf_init(&out, 65536);
	char why[256];
	const char *code = NULL;
	assert_int_equal(render("Dear {customer_name},\n\nSorry.\n\nKind regards,\n{employee_name}\n{organisation}",
				"Oliver Grant", "Lotte Lead", &out, why, &code),
			 KS_OK);
	assert_string_equal(out.data, "Dear Oliver Grant,\n\nSorry.\n\nKind regards,\nLotte Lead\nEnergie BV");
	/* rendered once: a value that looks like a placeholder stays as it is */
	assert_int_equal(render("Hi {customer_name}", "{employee_name}", "Lotte", &out, why, &code), KS_OK);
	assert_string_equal(out.data, "Hi {employee_name}");
	/* no name: "customer"; braces that are no placeholder are text */
	assert_int_equal(render("Dear {customer_name}, {} {Xy} {a", NULL, "Lotte", &out, why, &code), KS_OK);
	assert_string_equal(out.data, "Dear customer, {} {Xy} {a");
	/* refusals, each with its code and reason */
	assert_int_equal(render("Dear {customer_name},\n\n\xe2\x80\xa6", "O", "L", &out, why, &code), KS_ERR_INVALID);
	assert_string_equal(code, "ellipsis");
	assert_int_equal(render("Dear {klantnaam}", "O", "L", &out, why, &code), KS_ERR_INVALID);
	assert_string_equal(code, "unknown_placeholder");
	assert_string_equal(why, "{klantnaam} is not a placeholder: use {customer_name}, {employee_name} or {organisation}");
	assert_int_equal(render("Bye, {employee_name}", "O", "", &out, why, &code), KS_ERR_INVALID);
	assert_string_equal(code, "empty_placeholder");
	assert_string_equal(why, "{employee_name} has no value here: write it out");
	/* the untouched template of either language, white space aside */
	assert_int_equal(render(cases_msg_template("nl"), "O", "L", &out, why, &code), KS_ERR_INVALID);
	assert_string_equal(code, "unedited");
	assert_int_equal(render("  Dear {customer_name},\n\nKind regards,\n{employee_name}\n{organisation}\n", "O", "L",
				&out, why, &code),
			 KS_ERR_INVALID);
	assert_string_equal(code, "unedited");
	assert_string_equal(cases_msg_template("en"),
			    "Dear {customer_name},\n\n\n\nKind regards,\n{employee_name}\n{organisation}");
	buf_free(&out);
}

static void test_digest(void **state)
{
	(void)state;
	cases_digest_item items[2] = {
		{.case_id = 7, .customer_name = "Anna", .reason = "NPS 2 (at most 6)", .team_name = "Team Noord",
		 .deadline = 1768917600},
		{.case_id = 9, .customer_name = NULL, .reason = "CES 2 (at most 3)", .team_name = NULL, .deadline = 0},
	};
	ks_buf subj, text;
	buf_init(&subj, 4096);
	buf_init(&text, 65536);
	assert_int_equal(cases_digest_build("en", "https://x.nl", items, 2, &subj, &text), KS_OK);
	assert_string_equal(subj.data, "2 cases are past their deadline");
	assert_string_equal(text.data,
			    "These cases were not followed up in time. Could you help their owners get them done?\n\n"
			    "- #7 Anna: NPS 2 (at most 6) (Team Noord), deadline 2026-01-20 15:00\n"
			    "  https://x.nl/#/case/7\n"
			    "- #9 (unknown): CES 2 (at most 3)\n"
			    "  https://x.nl/#/case/9\n"
			    "\nYour inbox: https://x.nl/#/cases?inbox=me\n");
	buf_reset(&subj);
	buf_reset(&text);
	assert_int_equal(cases_digest_build("nl", "https://x.nl", items, 1, &subj, &text), KS_OK);
	assert_string_equal(subj.data, "1 case is over de deadline");
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
		cmocka_unit_test(test_message_render),
		cmocka_unit_test(test_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
