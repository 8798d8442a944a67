/* test_api_unsubscribe.c — the unsubscribe page, GET /u/{token}
 * (src/api/api_invite.c).
 *
 * Regression test from fuzz/fuzz_api (issue 11): the page wrote whatever
 * the URL held after /u/ into its form (HTML-escaped), so /u/%FF%C7 gave a
 * page declared UTF-8 that was not. Only a token the store could have made
 * ([A-Za-z0-9_-], at most 64) gets the form; any other text gets the
 * "unknown link" page, 404, without a button.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"

ks_err api_unsubscribe_get(http_req *req, ks_error *e);

/* Run GET /u/token; returns the status, *page the HTML (free it). */
static int get_page(const char *token, char **page)
{
	http_req req;
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.path = "/u/x";
	req.params[0] = token;
	req.n_params = 1;
	ks_error e;
	ks_error_clear(&e);
	assert_int_equal(api_unsubscribe_get(&req, &e), KS_OK);
	assert_true(req.replied);
	*page = req.reply;
	return req.status;
}

static void test_token_gets_the_form(void **state)
{
	(void)state;
	char *page;
	assert_int_equal(get_page("Ab9_-xyz", &page), 200);
	assert_non_null(strstr(page, "action=\"/u/Ab9_-xyz\""));
	free(page);
}

static void test_other_text_gets_unknown_link(void **state)
{
	(void)state;
	static const char *const bad[] = {"\xff\xc7", "a b", "<b>", "x\"y", "caf\xc3\xa9", "", NULL};
	for (size_t i = 0; bad[i]; i++) {
		char *page;
		assert_int_equal(get_page(bad[i], &page), 404);
		assert_null(strstr(page, "<form"));
		assert_null(strchr(page, '\xff'));
		free(page);
	}
	char *page, longer[80];
	memset(longer, 'a', 65);
	longer[65] = '\0';
	assert_int_equal(get_page(longer, &page), 404);
	free(page);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_gets_the_form),
		cmocka_unit_test(test_other_text_gets_unknown_link),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
