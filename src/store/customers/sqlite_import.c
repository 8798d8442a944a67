/* sqlite_import.c — the store's side of `klantstem import` (issue 15): one
 * bulk transaction for a whole file, the look-ups that turn what a
 * spreadsheet calls a touchpoint, employee, team or customer into ids, and
 * the idempotent insert of a response (see store.h, "import").
 *
 * The look-ups are prepared once per session: a 100k-row file makes four
 * of them per row. Names are matched exactly; an e-mail address without
 * regard to case (addresses are compared that way everywhere else).
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define SQ_IMP_N 9

/* Per kind: by id, by name (NULL = ids only). The second column is what
 * the kind brings along (a touchpoint's survey, an employee's team, a
 * customer's language). */
static const char *const sq_imp_sql[SQ_IMP_N] = {
	"SELECT id, coalesce(survey_id,0) FROM touchpoints WHERE id=?1",
	"SELECT id, coalesce(survey_id,0) FROM touchpoints WHERE name=?1 LIMIT 2",
	"SELECT id, team_id FROM employees WHERE id=?1",
	"SELECT id, team_id FROM employees WHERE lower(email)=lower(?1) LIMIT 2",
	"SELECT id, 0 FROM org_units WHERE id=?1",
	"SELECT id, 0 FROM org_units WHERE name=?1 LIMIT 2",
	"SELECT id, coalesce(language,'') FROM customers WHERE external_id=?1 AND erased_at IS NULL LIMIT 2", /* H8 */
	"SELECT body_hash FROM responses WHERE client_key=?1",
	NULL,
};

struct store_import {
	store_bulk *b;
	db_stmt *st[SQ_IMP_N];
};

ks_err store_import_begin(ks_store *s, store_import **out, ks_error *e)
{
	store_import *im = calloc(1, sizeof *im);
	if (im == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = store_bulk_begin(s, &im->b, e);
	for (int i = 0; !err && sq_imp_sql[i]; i++)
		err = sq_cprep(im->b->c, sq_imp_sql[i], &im->st[i], e);
	if (err) {
		store_import_rollback(im);
		return err;
	}
	*out = im;
	return KS_OK;
}

static void sq_imp_finalize(store_import *im)
{
	for (int i = 0; i < SQ_IMP_N; i++)
		db_finalize(im->st[i]);
}

ks_err store_import_commit(store_import *im, ks_error *e)
{
	sq_imp_finalize(im);
	ks_err err = store_bulk_commit(im->b, e);
	free(im);
	return err;
}

void store_import_rollback(store_import *im)
{
	if (im == NULL)
		return;
	sq_imp_finalize(im);
	store_bulk_rollback(im->b);
	free(im);
}

static bool sq_imp_digits(const char *v)
{
	size_t n = strspn(v, "0123456789");
	return n > 0 && n <= 18 && v[n] == '\0';
}

/* Run st (bound to v): up to two rows into *out; the count in *rows. */
static ks_err sq_imp_query(store_import *im, db_stmt *st, const char *v, bool as_id,
			   store_import_ref *out, int *rows, ks_error *e)
{
	if (as_id)
		db_bind_int64(st, 1, strtoll(v, NULL, 10));
	else
		db_bind_text(st, 1, v, -1, DB_STATIC);
	int rc;
	*rows = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		if ((*rows)++ == 0) {
			out->id = db_column_int64(st, 0);
			if (db_column_type(st, 1) == DB_TEXT)
				snprintf(out->language, sizeof out->language, "%s", sq_ctext(st, 1));
			else
				out->related_id = db_column_int64(st, 1);
		}
	}
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? KS_OK : sq_fail(im->b->c, rc, e);
}

ks_err store_import_lookup(store_import *im, store_import_kind kind, const char *value,
			   store_import_ref *out, ks_error *e)
{
	static const char *const what[] = {"touchpoints", "employees", "teams", "customers"};
	memset(out, 0, sizeof *out);
	int rows = 0;
	ks_err err = KS_OK;
	int k = (int)kind;
	if (kind != STORE_IMPORT_CUSTOMER && sq_imp_digits(value))
		err = sq_imp_query(im, im->st[2 * k], value, true, out, &rows, e);
	if (!err && rows == 0) {
		db_stmt *by_name = im->st[kind == STORE_IMPORT_CUSTOMER ? 6 : 2 * k + 1];
		err = sq_imp_query(im, by_name, value, false, out, &rows, e);
	}
	if (!err && rows > 1) {
		memset(out, 0, sizeof *out);
		return ks_fail(e, KS_ERR_CONFLICT, what[k], "several %s are called '%.200s': use the id",
			       what[k], value);
	}
	return err;
}

ks_err store_import_response(store_import *im, model_response *r, bool analyse, bool *created,
			     ks_error *e)
{
	*created = false;
	/* issue 18 (bulk): the responses waiting in the bulk queues are written
	 * first, so the key look-up sees this file's earlier rows too */
	if (r->client_key[0] && sq_bulk_flush(im->b, e))
		return KS_ERR_DB;
	if (r->client_key[0]) {
		db_stmt *st = im->st[7];
		db_bind_text(st, 1, r->client_key, -1, DB_STATIC);
		int rc = db_step(st);
		uint64_t hash = rc == DB_ROW ? (uint64_t)db_column_int64(st, 0) : 0;
		db_reset(st);
		db_clear_bindings(st);
		if (rc != DB_ROW && rc != DB_DONE)
			return sq_fail(im->b->c, rc, e);
		if (rc == DB_ROW)
			return hash == r->body_hash ? KS_OK
			       : ks_fail(e, KS_ERR_CONFLICT, "client_key",
					 "client_key '%.128s' was already used for a different response",
					 r->client_key);
	}
	ks_err err = store_bulk_response(im->b, r, e);
	if (err)
		return err;
	*created = true;
	/* As the writer does (sq_write_one): the answer is analysed in the same
	 * transaction, so the themes and sentiment are there with it. */
	if (analyse && !(err = sq_bulk_flush(im->b, e))) /* its rows refer to the response */
		sq_text_for_response(im->b->s, im->b->c, r, NULL);
	if (err)
		return err;
	return KS_OK;
}
