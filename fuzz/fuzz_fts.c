/* fuzz_fts.c — the full-text search of open answers: the words a user
 * types become an FTS5 query (sq_fts_query in src/store/reports/sqlite_dashboard.c)
 * that runs against the real responses_fts index, through
 * store_verbatim_search, on the demo store of fuzz_app.h.
 *
 * Input: the search text (q= of GET /api/v1/verbatims).
 * Oracles: user text is never query syntax, so the search either answers
 * (a JSON object with an items array) or refuses the text as the client's
 * error (KS_ERR_INVALID / KS_ERR_RANGE naming q); a database error
 * (an FTS5 syntax error) is a failure.
 */
#include "fuzz_app.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_world_open();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = fz_cstr(data, size);
	store_verbatim_query vq;
	memset(&vq, 0, sizeof vq);
	vq.q = q;
	vq.limit = 5;
	json_t *out = NULL;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = store_verbatim_search(fz_w.store, &vq, &out, &e);
	if (err == KS_OK) {
		if (!json_is_array(json_object_get(out, "items")))
			fz_fail("search for %s: no items", q);
	} else if ((err != KS_ERR_INVALID && err != KS_ERR_RANGE) || strcmp(e.field, "q") != 0) {
		fz_fail("search for %s: error %d (%s) field %s", q, (int)err, e.message, e.field);
	}
	json_decref(out);
	free(q);
	return 0;
}
