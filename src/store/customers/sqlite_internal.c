/* sqlite_internal.c — the store's side of the organisation's own data
 * (issue 16, "Internal data"; store.h "internal data"): one bulk transaction
 * per import, an upsert per checked record (idata.h) with statements
 * prepared once per session, and the import_runs row written in the same
 * transaction just before COMMIT.
 *
 * Why a session and not one call per record: a million rows are one
 * transaction on a connection of the pool held for the session (the WAL is
 * written once, fsynced once at COMMIT, with synchronous=FULL kept) and a
 * few statements reused a million times.
 *
 * On SQLite the upserts have no RETURNING: RETURNING gathers its rows in an
 * ephemeral table, opened and closed at every execution, which took most of
 * the time of a million rows. Whether a row was inserted is told by the
 * connection's last insert rowid instead (set to 0 when the session starts;
 * the tables have no triggers there, and new rowids only grow), and the
 * row's id is looked up only when it is needed (a customer updated with
 * attributes).
 *
 * On PostgreSQL (issue 18) the last insert id cannot tell: an INSERT ... ON
 * CONFLICT DO UPDATE draws a sequence value even when it updates, customers
 * has triggers that insert elsewhere, and reading lastval() is one more
 * round trip per row. There the upsert returns its row's id and whether
 * the key was absent before the statement (a CTE reads the statement's
 * snapshot, taken before its insert): one round trip, no probe.
 */
#include "store/sqlite_int.h"

#include <sqlite3.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"

enum { SI_FIND, SI_UPSERT, SI_UPDATE, SI_ATTR_SET, SI_ATTR_DEL, SI_CUSTOMER, SI_PRODUCT, SI_ROW_KEY, SI__N };

/* Per kind: a look-up by the record's key (SI_FIND), its upsert (SI_UPSERT)
 * and, for holdings, an UPDATE (SI_UPDATE; NULL for the others). A field the
 * record does not have (its bit clear in the "given" parameter) keeps its
 * stored value on update; language keeps it also when given empty (NOT
 * NULL, 'nl' when new). Events have a second insert (in the SI_UPDATE slot)
 * for an event without an external_id: PostgreSQL takes one ON CONFLICT
 * clause per INSERT, and the two kinds of event conflict on different
 * keys (external_id, or row_key when there is none). The integer "given"
 * bits are compared with <> 0: PostgreSQL's CASE wants a boolean. The
 * stored values are named with their table: in PostgreSQL a bare column in
 * DO UPDATE is ambiguous with excluded's. */
static const char *const sq_idata_sql[IDATA__KINDS][3] = {
	{"SELECT id FROM customers WHERE external_id = ?1 AND erased_at IS NULL",
	 "INSERT INTO customers(external_id, name, email, language, customer_since, city, birth_year, segment,"
	 " phone, created_at) VALUES (?1, ?2, ?3, coalesce(?4, 'nl'), ?5, ?6, ?7, ?8, ?9, ?10)"
	 " ON CONFLICT(external_id) DO UPDATE SET"
	 " name = iif((?11 & 2) <> 0, excluded.name, customers.name),"
	 " email = iif((?11 & 4) <> 0, excluded.email, customers.email),"
	 " language = iif(?4 IS NOT NULL, excluded.language, customers.language),"
	 " customer_since = iif((?11 & 16) <> 0, excluded.customer_since, customers.customer_since),"
	 " city = iif((?11 & 32) <> 0, excluded.city, customers.city),"
	 " birth_year = iif((?11 & 64) <> 0, excluded.birth_year, customers.birth_year),"
	 " segment = iif((?11 & 128) <> 0, excluded.segment, customers.segment),"
	 " phone = iif((?11 & 256) <> 0, excluded.phone, customers.phone)"
	 " WHERE customers.erased_at IS NULL", /* H8: never an erased customer's tombstone (idata_check refuses its id) */
	 NULL},
	{"SELECT id FROM products WHERE external_id = ?1",
	 "INSERT INTO products(external_id, name, category, created_at) VALUES (?1, ?2, ?3, ?4)"
	 " ON CONFLICT(external_id) DO UPDATE SET name = excluded.name,"
	 " category = iif((?5 & 4) <> 0, excluded.category, products.category)",
	 NULL},
	{"SELECT 1 FROM holdings WHERE customer_id = ?1 AND product_id = ?2",
	 "INSERT INTO holdings(customer_id, product_id, since, until) VALUES (?1, ?2, ?3, ?4)",
	 "UPDATE holdings SET since = iif((?5 & 4) <> 0, ?3, since), until = iif((?5 & 8) <> 0, ?4, until)"
	 " WHERE customer_id = ?1 AND product_id = ?2"},
	/* an event with an external_id is updated by it; one without is known
	 * by its row_key and then left as it is (the same event: no change) */
	{"SELECT id FROM customer_events WHERE external_id = ?1",
	 "INSERT INTO customer_events(external_id, customer_id, kind, occurred_at, channel, detail, row_key)"
	 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	 " ON CONFLICT(external_id) DO UPDATE SET customer_id = excluded.customer_id, kind = excluded.kind,"
	 " occurred_at = excluded.occurred_at,"
	 " channel = iif((?8 & 16) <> 0, excluded.channel, customer_events.channel),"
	 " detail = iif((?8 & 32) <> 0, excluded.detail, customer_events.detail)",
	 "INSERT INTO customer_events(external_id, customer_id, kind, occurred_at, channel, detail, row_key)"
	 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(row_key) WHERE row_key IS NOT NULL DO NOTHING"},
};

struct store_idata {
	ks_store *s;
	sq_conn *c;            /* the session's connection, in its transaction */
	idata_kind kind;
	bool check;            /* H8: a check session (read transaction, nothing written) */
	db_stmt *st[SI__N];
	int64_t started_at, now;
	/* the keys written in this session, as 64-bit hashes (open addressing,
	 * cap a power of two, 0 = empty): a key again is a duplicate */
	uint64_t *seen;
	size_t seen_cap, seen_n;
	store_idata_counts k;
};

static uint64_t sq_idata_hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 1099511628211ull;
	return h;
}
#define SQ_IDATA_H0 14695981039346656037ull

/* Was h seen before in this session? Adds it. -1: out of memory. */
static int sq_idata_seen(store_idata *x, uint64_t h)
{
	if (h == 0)
		h = 1;
	if ((x->seen_n + 1) * 2 > x->seen_cap) {
		size_t cap = x->seen_cap ? x->seen_cap * 2 : 1024;
		uint64_t *t = calloc(cap, sizeof *t);
		if (t == NULL)
			return -1;
		for (size_t i = 0; i < x->seen_cap; i++) {
			if (x->seen[i] == 0)
				continue;
			size_t j = (size_t)x->seen[i] & (cap - 1);
			while (t[j])
				j = (j + 1) & (cap - 1);
			t[j] = x->seen[i];
		}
		free(x->seen);
		x->seen = t;
		x->seen_cap = cap;
	}
	size_t j = (size_t)h & (x->seen_cap - 1);
	while (x->seen[j] && x->seen[j] != h)
		j = (j + 1) & (x->seen_cap - 1);
	if (x->seen[j] == h)
		return 1;
	x->seen[j] = h;
	x->seen_n++;
	return 0;
}

static ks_err sq_idata_prepare(store_idata *x, ks_error *e)
{
	const char *sql[SI__N] = {
		sq_idata_sql[x->kind][0], sq_idata_sql[x->kind][1], sq_idata_sql[x->kind][2],
		"INSERT INTO customer_attributes(customer_id, key, value) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(customer_id, key) DO UPDATE SET value = excluded.value",
		"DELETE FROM customer_attributes WHERE customer_id = ?1 AND key = ?2",
		"SELECT id FROM customers WHERE external_id = ?1 AND erased_at IS NULL",
		"SELECT id FROM products WHERE external_id = ?1",
		"SELECT id FROM customer_events WHERE row_key = ?1",
	};
	static const char *const table[IDATA__KINDS] = {"customers", "products", NULL, "customer_events"};
	bool pg = db_conn_kind(x->c->db) == DB_POSTGRES;
	for (int i = 0; i < SI__N; i++) {
		char *wrapped = NULL;
		/* PostgreSQL: the upserts tell what they did (see the top) */
		if (pg && sql[i] && table[x->kind] && (i == SI_UPSERT || i == SI_UPDATE)) {
			ks_buf b;
			buf_init(&b, 4096);
			if (buf_printf(&b,
				       "WITH prior AS (SELECT id FROM %s WHERE external_id = ?1) %s"
				       " RETURNING id, NOT EXISTS (SELECT 1 FROM prior)",
				       table[x->kind], sql[i])) {
				buf_free(&b);
				return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
			}
			wrapped = buf_steal(&b, NULL);
		}
		ks_err err = sql[i] ? sq_cprep(x->c, wrapped ? wrapped : sql[i], &x->st[i], e) : KS_OK;
		free(wrapped);
		if (err)
			return err;
	}
	/* "inserted" is told by a change of the last insert rowid (SQLite;
	 * PostgreSQL: see sq_idata_upsert) */
	if (db_sqlite_handle(x->c->db))
		sqlite3_set_last_insert_rowid(db_sqlite_handle(x->c->db), 0);
	return KS_OK;
}

/* The session's connection settings, set before its BEGIN and put back
 * after its end (both PRAGMAs are no-ops inside a transaction):
 * - A million customers with their indexes are some 300 MB of pages: past
 *   a 256 MB cache SQLite spills dirty pages to the WAL mid-transaction and
 *   reads them back at each change (a million events took 3x as long as
 *   200,000 x 5). Up to 1 GiB, taken only as pages are used.
 * - Foreign keys are not checked per row: every customer_id and product_id
 *   written is the id a look-up found in this same transaction, which holds
 *   the write lock (nothing can delete the row in between), so the check
 *   could never fail; it was a third of an event's time (a random seek into
 *   customers).
 * Durability is untouched: the COMMIT is fsynced as every other write. */
#define SQ_IDATA_BEGIN "PRAGMA cache_size=-1048576; PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE"
#define SQ_IDATA_END "PRAGMA cache_size=-2000; PRAGMA foreign_keys=ON"

ks_err store_idata_begin(ks_store *s, idata_kind kind, store_idata **out, ks_error *e)
{
	store_idata *x = calloc(1, sizeof *x);
	if (x == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	x->kind = kind;
	x->s = s;
	x->started_at = x->now = clock_now(s->clock);
	x->c = sq_acquire(s);
	ks_err err = sq_exec(x->c, SQ_IDATA_BEGIN, e);
	if (!err)
		err = sq_idata_prepare(x, e);
	if (err) {
		store_idata_rollback(x);
		return err;
	}
	*out = x;
	return KS_OK;
}

/* H8: the file is checked whole in a read transaction (a snapshot: WAL
 * readers never block the server's writer) before the write session takes
 * the lock; a dry run never takes it. */
ks_err store_idata_begin_check(ks_store *s, idata_kind kind, store_idata **out, ks_error *e)
{
	store_idata *x = calloc(1, sizeof *x);
	if (x == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	x->kind = kind;
	x->s = s;
	x->check = true;
	x->started_at = x->now = clock_now(s->clock);
	x->c = sq_acquire(s);
	ks_err err = sq_exec(x->c, "BEGIN DEFERRED", e);
	if (!err)
		err = sq_idata_prepare(x, e);
	if (err) {
		store_idata_rollback(x);
		return err;
	}
	*out = x;
	return KS_OK;
}

/* Ends the session: rolls back what is not committed, puts the connection's
 * settings back and returns it to the pool; frees x. */
static void sq_idata_end(store_idata *x)
{
	for (int i = 0; i < SI__N; i++)
		db_finalize(x->st[i]);
	if (!db_get_autocommit(x->c->db))
		db_exec(x->c->db, "ROLLBACK");
	db_exec(x->c->db, SQ_IDATA_END);
	sq_release(x->s, x->c);
	free(x->seen);
	free(x);
}

void store_idata_rollback(store_idata *x)
{
	if (x != NULL)
		sq_idata_end(x);
}

/* Bind text or NULL. */
static void sq_idata_text(db_stmt *st, int i, const char *v)
{
	if (v)
		db_bind_text(st, i, v, -1, DB_STATIC);
	else
		db_bind_null(st, i);
}

/* Run st to its end: *id = column 0 of its row (0 when it returned none). */
static ks_err sq_idata_run(store_idata *x, db_stmt *st, int64_t *id, ks_error *e)
{
	int rc;
	if (id)
		*id = 0;
	while ((rc = db_step(st)) == DB_ROW)
		if (id)
			*id = db_column_int64(st, 0);
	ks_err err = rc == DB_DONE ? KS_OK : sq_fail(x->c, rc, e);
	db_reset(st);
	db_clear_bindings(st);
	return err;
}

/* The id of an external id by st (customers or products); KS_ERR_REF
 * naming field when there is none. */
static ks_err sq_idata_ref(store_idata *x, int si, const char *ext, const char *field, const char *what,
			   int64_t *id, ks_error *e)
{
	db_bind_text(x->st[si], 1, ext, -1, DB_STATIC);
	ks_err err = sq_idata_run(x, x->st[si], id, e);
	if (!err && *id == 0)
		err = ks_fail(e, KS_ERR_REF, field, "no %s '%.200s' (import the %ss first)", what, ext, what);
	return err;
}

/* Bind the fields first..last of r to the same parameter numbers (+1). */
static void sq_idata_bind(db_stmt *st, const idata_rec *r, int first, int last)
{
	for (int i = first; i <= last; i++)
		sq_idata_text(st, i + 1, r->s[i]);
}

/* Run the upsert st (bound by the caller): *inserted when it added a row
 * (then *id is the new row), *changed when it inserted or updated one. */
static ks_err sq_idata_upsert(store_idata *x, db_stmt *st, int64_t *id, bool *inserted, bool *changed,
			      ks_error *e)
{
	db_conn *db = x->c->db;
	if (db_conn_kind(db) == DB_POSTGRES) {
		/* a row (id, absent before) when it inserted or updated; none
		 * when the conflict left the row as it was */
		int rc;
		*inserted = *changed = false;
		while ((rc = db_step(st)) == DB_ROW) {
			*changed = true;
			*inserted = db_column_int(st, 1) != 0;
			if (*inserted)
				*id = db_column_int64(st, 0);
		}
		ks_err err = rc == DB_DONE ? KS_OK : sq_fail(x->c, rc, e);
		db_reset(st);
		db_clear_bindings(st);
		if (err)
			*inserted = *changed = false;
		return err;
	}
	int64_t before = db_last_insert_rowid(db);
	ks_err err = sq_idata_run(x, st, NULL, e);
	int64_t after = db_last_insert_rowid(db);
	*inserted = !err && after != before;
	*changed = !err && db_changes(db) > 0;
	if (*inserted)
		*id = after;
	return err;
}

static ks_err sq_idata_customer(store_idata *x, const idata_rec *r, bool *found, ks_error *e)
{
	db_stmt *st = x->st[SI_UPSERT];
	sq_idata_bind(st, r, IDC_EXTERNAL_ID, IDC_PHONE);
	if (r->s[IDC_BIRTH_YEAR])
		db_bind_int64(st, IDC_BIRTH_YEAR + 1, r->birth_year);
	db_bind_int64(st, 10, x->now);
	db_bind_int64(st, 11, r->given);
	int64_t id = 0;
	bool inserted = false, changed = false;
	ks_err err = sq_idata_upsert(x, st, &id, &inserted, &changed, e);
	*found = !inserted;
	if (!err && !inserted && r->n_attrs) {
		db_bind_text(x->st[SI_FIND], 1, r->s[IDC_EXTERNAL_ID], -1, DB_STATIC);
		err = sq_idata_run(x, x->st[SI_FIND], &id, e);
	}
	for (int i = 0; !err && i < r->n_attrs; i++) {
		bool del = r->attr_val[i][0] == '\0';
		if (del && inserted)
			continue; /* a new customer has nothing to remove */
		db_stmt *a = x->st[del ? SI_ATTR_DEL : SI_ATTR_SET];
		db_bind_int64(a, 1, id);
		db_bind_text(a, 2, r->attr_key[i], -1, DB_STATIC);
		if (!del)
			db_bind_text(a, 3, r->attr_val[i], -1, DB_STATIC);
		err = sq_idata_run(x, a, NULL, e);
	}
	return err;
}

static ks_err sq_idata_product(store_idata *x, const idata_rec *r, bool *found, ks_error *e)
{
	db_stmt *st = x->st[SI_UPSERT];
	sq_idata_bind(st, r, IDP_EXTERNAL_ID, IDP_CATEGORY);
	db_bind_int64(st, 4, x->now);
	db_bind_int64(st, 5, r->given);
	int64_t id = 0;
	bool inserted = false, changed = false;
	ks_err err = sq_idata_upsert(x, st, &id, &inserted, &changed, e);
	*found = !inserted;
	return err;
}

/* *found: the pair was held before this record. */
static ks_err sq_idata_holding(store_idata *x, const idata_rec *r, int64_t cust, int64_t prod, bool *found,
			       ks_error *e)
{
	int64_t one = 0;
	db_bind_int64(x->st[SI_FIND], 1, cust);
	db_bind_int64(x->st[SI_FIND], 2, prod);
	ks_err err = sq_idata_run(x, x->st[SI_FIND], &one, e);
	if (err)
		return err;
	*found = one != 0;
	db_stmt *st = x->st[*found ? SI_UPDATE : SI_UPSERT];
	db_bind_int64(st, 1, cust);
	db_bind_int64(st, 2, prod);
	sq_idata_text(st, 3, r->s[IDH_SINCE]);
	sq_idata_text(st, 4, r->s[IDH_UNTIL]);
	if (*found)
		db_bind_int64(st, 5, r->given);
	return sq_idata_run(x, st, NULL, e);
}

/* What an event without an external_id says, as its row_key: each part
 * ended by a NUL so that no two events run together into one key. */
static int64_t sq_idata_row_key(const idata_rec *r, int64_t cust)
{
	char num[48];
	int n = snprintf(num, sizeof num, "%lld|%lld", (long long)cust, (long long)r->occurred_at);
	uint64_t h = sq_idata_hash(SQ_IDATA_H0, num, (size_t)n + 1);
	const char *parts[3] = {r->s[IDE_KIND], r->s[IDE_CHANNEL], r->s[IDE_DETAIL]};
	for (int i = 0; i < 3; i++)
		h = parts[i] ? sq_idata_hash(h, parts[i], strlen(parts[i]) + 1) : sq_idata_hash(h, "\xff", 1);
	return (int64_t)(h >> 1);
}

/* *kept: an event without an id that was there already. */
static ks_err sq_idata_event(store_idata *x, const idata_rec *r, int64_t cust, bool *found, bool *kept,
			     ks_error *e)
{
	const char *ext = r->s[IDE_EXTERNAL_ID];
	db_stmt *st = x->st[ext ? SI_UPSERT : SI_UPDATE];
	sq_idata_text(st, 1, ext);
	db_bind_int64(st, 2, cust);
	sq_idata_text(st, 3, r->s[IDE_KIND]);
	db_bind_int64(st, 4, r->occurred_at);
	sq_idata_text(st, 5, r->s[IDE_CHANNEL]);
	sq_idata_text(st, 6, r->s[IDE_DETAIL]);
	if (ext)
		db_bind_int64(st, 8, r->given);
	else
		db_bind_int64(st, 7, sq_idata_row_key(r, cust));
	int64_t id = 0;
	bool inserted = false, changed = false;
	ks_err err = sq_idata_upsert(x, st, &id, &inserted, &changed, e);
	*found = !inserted;
	*kept = !err && !changed;
	return err;
}

/* A check session's put: the look-ups a write would make, nothing written.
 * *found: the record's row is stored; *kept: an event without an id that
 * is stored (or came earlier in the file, *key then 0: not a duplicate). */
static ks_err sq_idata_probe(store_idata *x, const idata_rec *r, int64_t cust, int64_t prod, bool *found,
			     bool *kept, uint64_t *key, ks_error *e)
{
	int64_t id = 0;
	db_stmt *st = x->st[SI_FIND];
	ks_err err = KS_OK;
	if (x->kind == IDATA_HOLDINGS) {
		db_bind_int64(st, 1, cust);
		db_bind_int64(st, 2, prod);
	} else if (x->kind == IDATA_EVENTS && !r->s[IDE_EXTERNAL_ID]) {
		int64_t rk = sq_idata_row_key(r, cust);
		int seen = sq_idata_seen(x, (uint64_t)rk ^ 0x5bd1e995ull);
		if (seen < 0)
			return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		st = x->st[SI_ROW_KEY];
		db_bind_int64(st, 1, rk);
		err = sq_idata_run(x, st, &id, e);
		*kept = seen || id != 0;
		*found = *kept;
		*key = 0;
		return err;
	} else {
		db_bind_text(st, 1, r->s[0], -1, DB_STATIC); /* field 0 is external_id of the other kinds */
	}
	err = sq_idata_run(x, st, &id, e);
	*found = id != 0;
	return err;
}

ks_err store_idata_put(store_idata *x, const idata_rec *r, bool *dup, ks_error *e)
{
	int64_t cust = 0, prod = 0;
	bool found = false, kept = false;
	ks_err err = KS_OK;
	uint64_t key = 0;
	const char *ext = NULL;
	*dup = false;
	switch (x->kind) {
	case IDATA_CUSTOMERS:
		err = x->check ? sq_idata_probe(x, r, 0, 0, &found, &kept, &key, e) : sq_idata_customer(x, r, &found, e);
		ext = r->s[IDC_EXTERNAL_ID];
		break;
	case IDATA_PRODUCTS:
		err = x->check ? sq_idata_probe(x, r, 0, 0, &found, &kept, &key, e) : sq_idata_product(x, r, &found, e);
		ext = r->s[IDP_EXTERNAL_ID];
		break;
	case IDATA_HOLDINGS:
		err = sq_idata_ref(x, SI_CUSTOMER, r->s[IDH_CUSTOMER], "customer_external_id", "customer", &cust, e);
		if (!err)
			err = sq_idata_ref(x, SI_PRODUCT, r->s[IDH_PRODUCT], "product_external_id", "product", &prod,
					   e);
		if (!err)
			err = x->check ? sq_idata_probe(x, r, cust, prod, &found, &kept, &key, e)
				       : sq_idata_holding(x, r, cust, prod, &found, e);
		key = sq_idata_hash(SQ_IDATA_H0, (int64_t[]){cust, prod}, 2 * sizeof(int64_t));
		break;
	case IDATA_EVENTS:
	default:
		err = sq_idata_ref(x, SI_CUSTOMER, r->s[IDE_CUSTOMER], "customer_external_id", "customer", &cust, e);
		if (!err)
			err = x->check ? sq_idata_probe(x, r, cust, 0, &found, &kept, &key, e)
				       : sq_idata_event(x, r, cust, &found, &kept, e);
		/* only an event with an id can come twice; one without is its row_key */
		ext = r->s[IDE_EXTERNAL_ID];
		break;
	}
	if (err)
		return err;
	if (ext)
		key = sq_idata_hash(SQ_IDATA_H0, ext, strlen(ext));
	int seen = key ? sq_idata_seen(x, key) : 0;
	if (seen < 0)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	x->k.ok++;
	if (seen) {
		*dup = true;
		x->k.duplicates++;
	} else if (kept) {
		x->k.kept++;   /* an event without an id that was there already */
	} else if (found) {
		x->k.updated++;
	} else {
		x->k.added++;
	}
	return KS_OK;
}

void store_idata_counts_get(const store_idata *x, store_idata_counts *out)
{
	*out = x->k;
}

ks_err store_idata_commit(store_idata *x, const char *file, bool via_api, long rejected, ks_error *e)
{
	sq_conn *c = x->c;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO import_runs(kind, file, rows_ok, rows_rejected, started_at, finished_at,"
			      " rows_added, rows_updated, duplicates, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
			      " ?9, ?10)",
			      &st, e);
	if (!err) {
		db_bind_text(st, 1, idata_kind_name(x->kind), -1, DB_STATIC);
		sq_idata_text(st, 2, file);
		db_bind_int64(st, 3, x->k.ok);
		db_bind_int64(st, 4, rejected);
		db_bind_int64(st, 5, x->started_at);
		db_bind_int64(st, 6, clock_now(x->s->clock));
		db_bind_int64(st, 7, x->k.added);
		db_bind_int64(st, 8, x->k.updated);
		db_bind_int64(st, 9, x->k.duplicates);
		db_bind_text(st, 10, via_api ? "api" : "cli", -1, DB_STATIC);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_idata_end(x); /* rolls back when the COMMIT failed */
	return err;
}
