/* sqlite_attr_scan.c — the organisation's own data about its customers
 * (migration 023: custom attributes, products, holdings, events) read in
 * bulk for the analytics index's attribute dimensions (issue 16, H5;
 * src/analytics/attr.c). One read transaction, so the rows and the import
 * run they belong to are one consistent snapshot. */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* Is the table there? A database older than migration 023 has none of
 * them: then there is nothing to scan (the index has no attributes). */
static ks_err sq_attr_has_table(sq_conn *c, const char *name, bool *out, ks_error *e)
{
	db_stmt *st;
	const char *sql = db_conn_kind(c->db) == DB_POSTGRES
				  ? "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema()"
				    " AND table_name = ?1"
				  : "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1";
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_text(st, 1, name, -1, DB_STATIC);
	rc = db_step(st);
	*out = rc == DB_ROW;
	db_finalize(st);
	return rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

static ks_err sq_attr_run_id(sq_conn *c, int64_t *run_id, ks_error *e)
{
	bool has = false;
	*run_id = 0;
	ks_err err = sq_attr_has_table(c, "import_runs", &has, e);
	if (err || !has)
		return err;
	db_stmt *st;
	int rc = db_prepare(c->db, "SELECT coalesce(max(id), 0) FROM import_runs", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	rc = db_step(st);
	if (rc == DB_ROW)
		*run_id = db_column_int64(st, 0);
	db_finalize(st);
	return rc == DB_ROW ? KS_OK : sq_fail(c, rc, e);
}

ks_err store_attr_run_id(ks_store *s, int64_t *run_id, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_attr_run_id(c, run_id, e);
	sq_release(s, c);
	return err;
}

/* 'YYYY-MM-DD' -> days since 1970-01-01; absent or unreadable -> dflt
 * (the import checks dates: an unreadable one is old data, read as open). */
static int32_t sq_attr_day(db_stmt *st, int col, int32_t dflt)
{
	const unsigned char *t = db_column_text(st, col);
	int y, m, d;
	char tail;
	if (t == NULL || sscanf((const char *)t, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return dflt;
	return (int32_t)clock_days_from_civil(y, m, d);
}

static const char *sq_attr_text(db_stmt *st, int col)
{
	const unsigned char *t = db_column_text(st, col);
	return t ? (const char *)t : "";
}

/* One statement, each row to the sink as kind. */
static ks_err sq_attr_pass(sq_conn *c, const char *sql, store_attr_kind kind, const store_attr_sink *k,
			   ks_error *e)
{
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	store_attr_row r;
	while ((rc = db_step(st)) == DB_ROW) {
		memset(&r, 0, sizeof r);
		r.kind = kind;
		switch (kind) {
		case STORE_ATTR_PRODUCT:
			r.product_id = db_column_int64(st, 0);
			r.text = sq_attr_text(st, 1);
			break;
		case STORE_ATTR_KEY:
			r.key = sq_attr_text(st, 0);
			r.count = db_column_int64(st, 1);
			break;
		case STORE_ATTR_VALUE:
			r.key = sq_attr_text(st, 0);
			r.text = sq_attr_text(st, 1);
			r.count = db_column_int64(st, 2);
			break;
		case STORE_ATTR_CUSTOMER:
			r.customer_id = db_column_int64(st, 0);
			r.key = sq_attr_text(st, 1);
			r.text = sq_attr_text(st, 2);
			break;
		case STORE_ATTR_HOLDING:
			r.customer_id = db_column_int64(st, 0);
			r.product_id = db_column_int64(st, 1);
			r.since_day = sq_attr_day(st, 2, INT32_MIN);
			r.until_day = sq_attr_day(st, 3, INT32_MAX);
			break;
		case STORE_ATTR_EVENT: {
			r.customer_id = db_column_int64(st, 0);
			const char *kd = sq_attr_text(st, 1);
			r.event = strcmp(kd, "login") == 0 ? STORE_ATTR_LOGIN
				: strcmp(kd, "newsletter_subscribed") == 0 ? STORE_ATTR_SUBSCRIBED : STORE_ATTR_UNSUBSCRIBED;
			r.at = db_column_int64(st, 2);
			break;
		}
		}
		if (!k->row(k->arg, &r)) {
			db_finalize(st);
			return ks_fail(e, KS_ERR_NOMEM, NULL, "analytics index: out of memory reading attributes");
		}
	}
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err store_attr_scan(ks_store *s, const store_attr_sink *k, int64_t *run_id, ks_error *e)
{
	/* Keys by how many customers have them (the index keeps the most
	 * common when there are more than it takes), values by frequency
	 * within their key (the most frequent get their own code), customers
	 * and events in customer order (the index searches them by customer). */
	static const struct {
		store_attr_kind kind;
		const char *sql;
	} pass[] = {
		{STORE_ATTR_PRODUCT, "SELECT id, name FROM products ORDER BY id"},
		{STORE_ATTR_KEY, "SELECT key, count(*) FROM customer_attributes GROUP BY key ORDER BY count(*) DESC, key"},
		{STORE_ATTR_VALUE, "SELECT key, value, count(*) FROM customer_attributes GROUP BY key, value"
				   " ORDER BY key, count(*) DESC, value"},
		{STORE_ATTR_CUSTOMER, "SELECT customer_id, key, value FROM customer_attributes ORDER BY customer_id"},
		{STORE_ATTR_HOLDING, "SELECT customer_id, product_id, since, until FROM holdings"
				     " ORDER BY customer_id, product_id"},
		{STORE_ATTR_EVENT, "SELECT customer_id, kind, occurred_at FROM customer_events"
				   " WHERE kind IN ('login', 'newsletter_subscribed', 'newsletter_unsubscribed')"
				   " ORDER BY customer_id, occurred_at, id"},
	};
	sq_conn *c = sq_acquire(s);
	bool has = false;
	*run_id = 0;
	ks_err err = sq_attr_has_table(c, "import_runs", &has, e);
	if (err || !has) {
		sq_release(s, c);
		return err;
	}
	err = sq_exec(c, "BEGIN", e);
	if (!err)
		err = sq_attr_run_id(c, run_id, e);
	for (size_t i = 0; !err && i < sizeof pass / sizeof pass[0]; i++)
		err = sq_attr_pass(c, pass[i].sql, pass[i].kind, k, e);
	sq_exec(c, err ? "ROLLBACK" : "COMMIT", NULL);
	sq_release(s, c);
	return err;
}
