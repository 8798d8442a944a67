/* sqlite_copy.c — `klantstem copy`: one database into another across the
 * two backends, verified by row counts and checksums (store_copy.h says
 * what is copied and how the checksum is made).
 *
 * The catalogue is read from each backend's own tables (SQLite's
 * pragma_table_list / pragma_table_info / pragma_foreign_key_list,
 * PostgreSQL's pg_class / pg_attribute / pg_constraint): the schema is the
 * list of tables, so a table added by a later migration is copied without
 * a change here.
 */
#include "store/store_copy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "store/sqlite_int.h"

#define CP_MAX_TABLES 256
#define CP_MAX_COLS 128
#define CP_DEFAULT_BATCH 500       /* rows per INSERT into SQLite */
#define CP_DEFAULT_BATCH_PG 5000   /* rows per JSON batch into PostgreSQL */
/* Parameters per INSERT: under SQLite's default limit (32766) and
 * PostgreSQL's (65535). */
#define CP_MAX_PARAMS 30000

/* Tables that are not data: a PostgreSQL node's registration and the
 * change feed between nodes (rebuilt by each node), the schema version
 * (set by the migrations), the full-text table (filled by triggers on
 * responses on both backends). */
static const char *const cp_skip[] = {"nodes", "change_feed", "ks_schema_version", "responses_fts", NULL};

/* The configuration the migrations seed into a new database (001 channels,
 * 007/008 alert_rules, 018 text_config, 025 kpis, 026 pulse_settings, 027
 * digest_settings): a new destination holds these rows, and the copy
 * replaces them with the source's. A row in any other table means the
 * destination is in use. tests/api/test_copy.py checks this list against a
 * new database on both backends. */
static const char *const cp_seeded[] = {"channels",	  "alert_rules",    "text_config",
					"kpis",		  "pulse_settings", "digest_settings",
					NULL};

typedef struct cp_table {
	char name[STORE_COPY_NAME];
	char *cols[CP_MAX_COLS]; /* the source's columns, in order */
	int ncols;
	char *deps[CP_MAX_TABLES]; /* tables it references in dst (not itself) */
	int ndeps;
	bool self_ref;         /* a foreign key to itself: copy in key order */
	bool placed;
} cp_table;

typedef struct cp_ctx {
	ks_store *src, *dst;
	sq_conn *sc, *dc;
	cp_table *t;   /* CP_MAX_TABLES */
	int n;
	ks_error *e;
} cp_ctx;

static double cp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool cp_in(const char *const *list, const char *name)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static bool cp_pg(sq_conn *c)
{
	return db_conn_kind(c->db) == DB_POSTGRES;
}

static ks_err cp_fail(sq_conn *c, int rc, const char *what, ks_error *e)
{
	return ks_fail(e, KS_ERR_DB, NULL, "%s: %s", what, c ? db_errmsg(c->db) : db_errstr(rc));
}

/* The names one catalogue query gives (one text column, optional text
 * parameter): appended to out[*n] as malloc'd strings. */
static ks_err cp_names(sq_conn *c, const char *sql, const char *arg, char **out, int *n, int max, ks_error *e)
{
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK)
		return cp_fail(c, rc, "reading the catalogue", e);
	if (arg)
		db_bind_text(st, 1, arg, -1, DB_STATIC);
	ks_err err = KS_OK;
	while ((rc = db_step(st)) == DB_ROW && !err) {
		const char *v = (const char *)db_column_text(st, 0);
		if (*n >= max)
			err = ks_fail(e, KS_ERR_INTERNAL, NULL, "catalogue: more than %d names", max);
		else if ((out[*n] = strdup(v ? v : "")) == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "copy: out of memory");
		else
			(*n)++;
	}
	if (!err && rc != DB_DONE)
		err = cp_fail(c, rc, "reading the catalogue", e);
	db_finalize(st);
	return err;
}

static void cp_free_names(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
}

static ks_err cp_tables_of(sq_conn *c, char **out, int *n, ks_error *e)
{
	/* SQLite: 'table' leaves out views, the FTS5 table ('virtual') and
	 * its 'shadow' tables. */
	const char *sql = cp_pg(c)
		? "SELECT relname FROM pg_class WHERE relkind = 'r' "
		  "AND relnamespace = to_regnamespace(current_schema()) ORDER BY relname"
		: "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' "
		  "AND name NOT LIKE 'sqlite%' ORDER BY name";
	return cp_names(c, sql, NULL, out, n, CP_MAX_TABLES, e);
}

static ks_err cp_cols_of(sq_conn *c, const char *table, char **out, int *n, ks_error *e)
{
	/* PostgreSQL: generated columns (a tsvector) are made, not copied. */
	const char *sql = cp_pg(c)
		? "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(quote_ident(CAST(?1 AS TEXT))) "
		  "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum"
		: "SELECT name FROM pragma_table_info(?1) ORDER BY cid";
	return cp_names(c, sql, table, out, n, CP_MAX_COLS, e);
}

static ks_err cp_refs_of(sq_conn *c, const char *table, char **out, int *n, ks_error *e)
{
	const char *sql = cp_pg(c)
		? "SELECT DISTINCT f.relname FROM pg_constraint k JOIN pg_class f ON f.oid = k.confrelid "
		  "WHERE k.contype = 'f' AND k.conrelid = to_regclass(quote_ident(CAST(?1 AS TEXT)))"
		: "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)";
	return cp_names(c, sql, table, out, n, CP_MAX_TABLES, e);
}

static void cp_tables_free(cp_ctx *x)
{
	for (int i = 0; i < x->n; i++) {
		cp_free_names(x->t[i].cols, x->t[i].ncols);
		cp_free_names(x->t[i].deps, x->t[i].ndeps);
	}
	x->n = 0;
}

/* The tables both sides have (less cp_skip), with the source's columns,
 * each present in the destination, and the destination's foreign keys. */
static ks_err cp_catalogue(cp_ctx *x, cp_table *raw)
{
	char *st[CP_MAX_TABLES], *dt[CP_MAX_TABLES];
	int ns = 0, nd = 0;
	ks_err err = cp_tables_of(x->sc, st, &ns, x->e);
	if (!err)
		err = cp_tables_of(x->dc, dt, &nd, x->e);
	for (int i = 0; i < ns && !err; i++) {
		if (cp_in(cp_skip, st[i]))
			continue;
		bool both = false;
		for (int j = 0; j < nd && !both; j++)
			both = strcmp(st[i], dt[j]) == 0;
		if (!both) {
			err = ks_fail(x->e, KS_ERR_INVALID, NULL,
				      "table %s of the source is missing in the destination", st[i]);
			break;
		}
		cp_table *t = &raw[x->n++];
		memset(t, 0, sizeof *t);
		snprintf(t->name, sizeof t->name, "%s", st[i]);
		char *dcols[CP_MAX_COLS];
		int ndc = 0;
		err = cp_cols_of(x->sc, t->name, t->cols, &t->ncols, x->e);
		if (!err)
			err = cp_cols_of(x->dc, t->name, dcols, &ndc, x->e);
		/* PostgreSQL spells out SQLite's implicit rowid where the store
		 * orders by it (text_themes, mention_themes): copied both ways,
		 * SQLite reads and writes it under that name. */
		bool src_rowid = false;
		for (int k = 0; k < t->ncols; k++)
			src_rowid = src_rowid || strcmp(t->cols[k], "rowid") == 0;
		for (int j = 0; j < ndc && !err && !src_rowid; j++)
			if (strcmp(dcols[j], "rowid") == 0 && !cp_pg(x->sc)) {
				if (t->ncols >= CP_MAX_COLS || (t->cols[t->ncols] = strdup("rowid")) == NULL)
					err = ks_fail(x->e, KS_ERR_NOMEM, NULL, "copy: out of memory");
				else
					t->ncols++;
			}
		for (int k = 0; k < t->ncols && !err; k++) {
			bool has = !cp_pg(x->dc) && strcmp(t->cols[k], "rowid") == 0;
			for (int j = 0; j < ndc && !has; j++)
				has = strcmp(t->cols[k], dcols[j]) == 0;
			if (!has)
				err = ks_fail(x->e, KS_ERR_INVALID, NULL,
					      "column %s.%s of the source is missing in the destination", t->name,
					      t->cols[k]);
		}
		cp_free_names(dcols, ndc);
		if (!err)
			err = cp_refs_of(x->dc, t->name, t->deps, &t->ndeps, x->e);
		for (int k = 0; k < t->ndeps && !err; k++)
			if (strcmp(t->deps[k], t->name) == 0)
				t->self_ref = true;
	}
	cp_free_names(st, ns);
	cp_free_names(dt, nd);
	return err;
}

/* Order raw into x->t so that every table comes after those it references
 * (the destination checks foreign keys at each insert on PostgreSQL). */
static ks_err cp_order(cp_ctx *x, cp_table *raw)
{
	int n = x->n, placed = 0;
	while (placed < n) {
		int before = placed;
		for (int i = 0; i < n; i++) {
			if (raw[i].placed)
				continue;
			bool ready = true;
			for (int k = 0; k < raw[i].ndeps && ready; k++) {
				if (strcmp(raw[i].deps[k], raw[i].name) == 0)
					continue;
				for (int j = 0; j < n; j++)
					if (strcmp(raw[j].name, raw[i].deps[k]) == 0 && !raw[j].placed)
						ready = false;
			}
			if (ready) {
				raw[i].placed = true;
				x->t[placed++] = raw[i];
			}
		}
		if (placed == before) {
			for (int i = 0; i < n; i++)
				if (!raw[i].placed)
					return ks_fail(x->e, KS_ERR_INTERNAL, NULL,
						       "copy: the foreign keys of table %s form a cycle", raw[i].name);
		}
	}
	return KS_OK;
}

/* ---- the checksum ------------------------------------------------------ */

static uint64_t cp_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* splitmix64's finalizer: FNV's low bits alone would make a poor sum. */
static uint64_t cp_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t cp_row_hash(db_stmt *st, int ncols)
{
	uint64_t h = 14695981039346656037ULL;
	char num[40];
	for (int i = 0; i < ncols; i++) {
		int type = db_column_type(st, i);
		if (type == DB_FLOAT) {
			double v = db_column_double(st, i);
			if (v == (double)(int64_t)v && v > -9e15 && v < 9e15)
				type = DB_INTEGER;
		}
		switch (type) {
		case DB_NULL:
			h = cp_fnv(h, "\0N", 2);
			break;
		case DB_INTEGER:
			snprintf(num, sizeof num, "i%lld", (long long)db_column_int64(st, i));
			h = cp_fnv(h, num, strlen(num));
			break;
		case DB_FLOAT:
			snprintf(num, sizeof num, "i%.17g", db_column_double(st, i));
			h = cp_fnv(h, num, strlen(num));
			break;
		case DB_BLOB: {
			const unsigned char *b = db_column_blob(st, i);
			int n = db_column_bytes(st, i);
			h = cp_fnv(h, "b", 1);
			for (int k = 0; k < n; k++) {
				snprintf(num, sizeof num, "%02x", b[k]);
				h = cp_fnv(h, num, 2);
			}
			break;
		}
		default: {
			const unsigned char *s = db_column_text(st, i);
			h = cp_fnv(h, "t", 1);
			h = cp_fnv(h, s, (size_t)db_column_bytes(st, i));
			break;
		}
		}
		h = cp_fnv(h, "\x1f", 1);
	}
	return cp_mix(h);
}

/* ---- SQL texts ----------------------------------------------------------- */

static ks_err cp_select_sql(const cp_table *t, char *out, size_t n, ks_error *e)
{
	size_t len = (size_t)snprintf(out, n, "SELECT ");
	for (int i = 0; i < t->ncols && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s\"%s\"", i ? ", " : "", t->cols[i]);
	if (len < n)
		len += (size_t)snprintf(out + len, n - len, " FROM \"%s\"", t->name);
	/* A row can only follow the row it references: keys grow with time. */
	if (t->self_ref && len < n)
		len += (size_t)snprintf(out + len, n - len, " ORDER BY \"%s\"", t->cols[0]);
	if (len >= n)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "copy: SQL of table %s too long", t->name);
	return KS_OK;
}

/* INSERT INTO t (cols) VALUES (?,...),... for rows rows; malloc'd. On
 * PostgreSQL with OVERRIDING SYSTEM VALUE: the rowid columns are
 * GENERATED ALWAYS, and the copy keeps every id as it was. */
static char *cp_insert_sql(const cp_table *t, int rows, bool pg)
{
	size_t n = 96 + strlen(t->name);
	for (int i = 0; i < t->ncols; i++)
		n += strlen(t->cols[i]) + 4;
	n += (size_t)rows * ((size_t)t->ncols * 2 + 4);
	char *s = malloc(n);
	if (s == NULL)
		return NULL;
	size_t len = (size_t)snprintf(s, n, "INSERT INTO \"%s\" (", t->name);
	for (int i = 0; i < t->ncols; i++)
		len += (size_t)snprintf(s + len, n - len, "%s\"%s\"", i ? ", " : "", t->cols[i]);
	len += (size_t)snprintf(s + len, n - len, ")%s VALUES ", pg ? " OVERRIDING SYSTEM VALUE" : "");
	for (int r = 0; r < rows; r++) {
		s[len++] = r ? ',' : ' ';
		s[len++] = '(';
		for (int i = 0; i < t->ncols; i++) {
			if (i)
				s[len++] = ',';
			s[len++] = '?';
		}
		s[len++] = ')';
	}
	s[len] = '\0';
	return s;
}

/* Bind column i of the source row to parameter p of the insert, by the
 * value's own type (the destination converts on assignment). */
static void cp_bind(db_stmt *ins, int p, db_stmt *row, int i)
{
	switch (db_column_type(row, i)) {
	case DB_NULL:
		db_bind_null(ins, p);
		break;
	case DB_INTEGER:
		db_bind_int64(ins, p, db_column_int64(row, i));
		break;
	case DB_FLOAT:
		db_bind_double(ins, p, db_column_double(row, i));
		break;
	case DB_BLOB:
		db_bind_blob(ins, p, db_column_blob(row, i), db_column_bytes(row, i), DB_TRANSIENT);
		break;
	default:
		db_bind_text(ins, p, (const char *)db_column_text(row, i), db_column_bytes(row, i),
			     DB_TRANSIENT);
		break;
	}
}

/* ---- copy and count -------------------------------------------------------- */

/* The one integer a query without parameters gives. */
static ks_err cp_one(sq_conn *c, const char *sql, int64_t *out, ks_error *e)
{
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc == DB_OK && (rc = db_step(st)) == DB_ROW) {
		*out = db_column_int64(st, 0);
		rc = DB_OK;
	}
	db_finalize(st);
	return rc == DB_OK ? KS_OK : cp_fail(c, rc, sql, e);
}

static ks_err cp_count(sq_conn *c, const char *table, int64_t *n, ks_error *e)
{
	char sql[160];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", table);
	return cp_one(c, sql, n, e);
}


static ks_err cp_run_insert(cp_ctx *x, const cp_table *t, db_stmt *ins)
{
	int rc = db_step(ins);
	if (rc != DB_DONE) {
		char what[160];
		snprintf(what, sizeof what, "copying table %s", t->name);
		return cp_fail(x->dc, rc, what, x->e);
	}
	db_reset(ins);
	db_clear_bindings(ins);
	return KS_OK;
}

/* ---- into PostgreSQL: one JSON parameter per batch ----------------------
 *
 * db_pg writes a NULL parameter into the SQL text as NULL (db_pg.c says
 * why), so a multi-row VALUES whose NULLs fall differently in each batch
 * is a new statement to parse and plan every time: 12000 invitations took
 * 10 s. One JSON array of the batch's rows, unpacked by the server with
 * json_populate_recordset into the table's own row type, is one
 * statement text for the whole table, and PostgreSQL converts each value
 * to its column's type as it would a literal. */

static json_t *cp_json_value(db_stmt *row, int i)
{
	switch (db_column_type(row, i)) {
	case DB_NULL:
		return json_null();
	case DB_INTEGER:
		return json_integer((json_int_t)db_column_int64(row, i));
	case DB_FLOAT: {
		/* JSON has no infinity; PostgreSQL's float8 input reads it
		 * from a string (SQLite stores no NaN: it becomes NULL) */
		double d = db_column_double(row, i);
		return isinf(d) ? json_string(d > 0 ? "Infinity" : "-Infinity") : json_real(d);
	}
	case DB_BLOB: {
		/* bytea's input form: \x and hex */
		const unsigned char *b = db_column_blob(row, i);
		int n = db_column_bytes(row, i);
		char *hex = malloc((size_t)n * 2 + 3);
		if (hex == NULL)
			return NULL;
		memcpy(hex, "\\x", 2);
		for (int k = 0; k < n; k++)
			snprintf(hex + 2 + 2 * k, 3, "%02x", b[k]);
		hex[2 + 2 * n] = '\0';
		json_t *v = json_string(hex);
		free(hex);
		return v;
	}
	default:
		return json_stringn((const char *)db_column_text(row, i), (size_t)db_column_bytes(row, i));
	}
}

static char *cp_json_insert_sql(const cp_table *t)
{
	size_t n = 128 + 2 * strlen(t->name);
	for (int i = 0; i < t->ncols; i++)
		n += 2 * strlen(t->cols[i]) + 8;
	char *s = malloc(n);
	if (s == NULL)
		return NULL;
	size_t len = (size_t)snprintf(s, n, "INSERT INTO \"%s\" (", t->name);
	for (int i = 0; i < t->ncols; i++)
		len += (size_t)snprintf(s + len, n - len, "%s\"%s\"", i ? ", " : "", t->cols[i]);
	len += (size_t)snprintf(s + len, n - len, ") OVERRIDING SYSTEM VALUE SELECT ");
	for (int i = 0; i < t->ncols; i++)
		len += (size_t)snprintf(s + len, n - len, "%s\"%s\"", i ? ", " : "", t->cols[i]);
	snprintf(s + len, n - len, " FROM json_populate_recordset(NULL::\"%s\", CAST(?1 AS json))", t->name);
	return s;
}

static ks_err cp_json_flush(cp_ctx *x, const cp_table *t, db_stmt *ins, json_t *rows)
{
	char *text = json_dumps(rows, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_array_clear(rows);
	if (text == NULL)
		return ks_fail(x->e, KS_ERR_NOMEM, NULL, "copy: out of memory");
	db_bind_text(ins, 1, text, -1, DB_STATIC);
	ks_err err = cp_run_insert(x, t, ins);
	free(text);
	return err;
}

static ks_err cp_table_copy_pg(cp_ctx *x, const cp_table *t, int batch, store_copy_table *r)
{
	char sel[8192];
	ks_err err = cp_select_sql(t, sel, sizeof sel, x->e);
	if (err)
		return err;
	db_stmt *row = NULL, *ins = NULL;
	char *ins_sql = cp_json_insert_sql(t);
	json_t *rows = json_array();
	int rc = DB_OK;
	if (!ins_sql || !rows)
		err = ks_fail(x->e, KS_ERR_NOMEM, NULL, "copy: out of memory");
	else if ((rc = db_prepare(x->sc->db, sel, &row)) != DB_OK)
		err = cp_fail(x->sc, rc, "reading the source", x->e);
	else if ((rc = db_prepare(x->dc->db, ins_sql, &ins)) != DB_OK)
		err = cp_fail(x->dc, rc, "preparing the destination's insert", x->e);
	while (!err && (rc = db_step(row)) == DB_ROW) {
		r->src_rows++;
		r->src_sum += cp_row_hash(row, t->ncols);
		json_t *o = json_object();
		for (int i = 0; o && i < t->ncols; i++) {
			json_t *v = cp_json_value(row, i);
			if (v == NULL || json_object_set_new(o, t->cols[i], v)) {
				json_decref(o);
				o = NULL;
			}
		}
		if (o == NULL || json_array_append_new(rows, o))
			err = ks_fail(x->e, KS_ERR_NOMEM, NULL, "copy: out of memory");
		else if (json_array_size(rows) == (size_t)batch)
			err = cp_json_flush(x, t, ins, rows);
	}
	if (!err && rc != DB_DONE)
		err = cp_fail(x->sc, rc, "reading the source", x->e);
	if (!err && json_array_size(rows) > 0)
		err = cp_json_flush(x, t, ins, rows);
	json_decref(rows);
	db_finalize(row);
	db_finalize(ins);
	free(ins_sql);
	return err;
}

/* Copy one table; its source rows and checksum go to *r. The row count,
 * read first in the same snapshot, sizes the last, shorter batch. */
static ks_err cp_table_copy(cp_ctx *x, const cp_table *t, int batch, store_copy_table *r)
{
	char sel[8192];
	ks_err err = cp_select_sql(t, sel, sizeof sel, x->e);
	int64_t total = 0;
	if (!err)
		err = cp_count(x->sc, t->name, &total, x->e);
	if (err)
		return err;
	int per = batch;
	if (per * t->ncols > CP_MAX_PARAMS)
		per = CP_MAX_PARAMS / t->ncols;
	if (per < 1)
		per = 1;
	int tail_n = (int)(total % per);
	db_stmt *row = NULL, *full = NULL, *tail = NULL;
	char *full_sql = total >= per ? cp_insert_sql(t, per, cp_pg(x->dc)) : NULL;
	char *tail_sql = tail_n ? cp_insert_sql(t, tail_n, cp_pg(x->dc)) : NULL;
	int rc = DB_OK;
	if ((total >= per && !full_sql) || (tail_n && !tail_sql))
		err = ks_fail(x->e, KS_ERR_NOMEM, NULL, "copy: out of memory");
	else if ((rc = db_prepare(x->sc->db, sel, &row)) != DB_OK)
		err = cp_fail(x->sc, rc, "reading the source", x->e);
	else if ((full_sql && (rc = db_prepare(x->dc->db, full_sql, &full)) != DB_OK) ||
		 (tail_sql && (rc = db_prepare(x->dc->db, tail_sql, &tail)) != DB_OK))
		err = cp_fail(x->dc, rc, "preparing the destination's insert", x->e);
	/* Rows are bound into the batch as they are read (copied at bind:
	 * DB_TRANSIENT). */
	int64_t left = total;
	int in_batch = 0;
	while (!err && (rc = db_step(row)) == DB_ROW) {
		if (left <= 0) {
			err = ks_fail(x->e, KS_ERR_INTERNAL, NULL, "copy: table %s changed while read", t->name);
			break;
		}
		db_stmt *cur = left >= per ? full : tail;
		int cur_n = left >= per ? per : tail_n;
		r->src_rows++;
		r->src_sum += cp_row_hash(row, t->ncols);
		for (int i = 0; i < t->ncols; i++)
			cp_bind(cur, in_batch * t->ncols + i + 1, row, i);
		if (++in_batch == cur_n) {
			err = cp_run_insert(x, t, cur);
			left -= cur_n;
			in_batch = 0;
		}
	}
	if (!err && rc != DB_DONE)
		err = cp_fail(x->sc, rc, "reading the source", x->e);
	if (!err && left != 0)
		err = ks_fail(x->e, KS_ERR_INTERNAL, NULL, "copy: table %s changed while read", t->name);
	db_finalize(row);
	db_finalize(full);
	db_finalize(tail);
	free(full_sql);
	free(tail_sql);
	return err;
}

/* Rows and checksum of t read through c. */
static ks_err cp_table_sum(sq_conn *c, const cp_table *t, int64_t *rows, uint64_t *sum, ks_error *e)
{
	char sel[8192];
	ks_err err = cp_select_sql(t, sel, sizeof sel, e);
	if (err)
		return err;
	db_stmt *st;
	int rc = db_prepare(c->db, sel, &st);
	if (rc != DB_OK)
		return cp_fail(c, rc, "reading a table back", e);
	*rows = 0;
	*sum = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		(*rows)++;
		*sum += cp_row_hash(st, t->ncols);
	}
	db_finalize(st);
	if (rc != DB_DONE)
		return cp_fail(c, rc, "reading a table back", e);
	return KS_OK;
}

/* Refuse a destination in use: rows outside the seeded configuration. */
static ks_err cp_check_empty(cp_ctx *x)
{
	for (int i = 0; i < x->n; i++) {
		if (cp_in(cp_seeded, x->t[i].name))
			continue;
		int64_t n = 0;
		ks_err err = cp_count(x->dc, x->t[i].name, &n, x->e);
		if (err)
			return err;
		if (n > 0)
			return ks_fail(x->e, KS_ERR_CONFLICT, NULL,
				       "the destination is not empty: table %s holds %lld rows "
				       "(copy only into a new database)",
				       x->t[i].name, (long long)n);
	}
	return KS_OK;
}

static ks_err cp_exec(sq_conn *c, const char *sql, ks_error *e)
{
	int rc = db_exec(c->db, sql);
	return rc == DB_OK ? KS_OK : cp_fail(c, rc, sql, e);
}

static ks_err cp_sync(sq_conn *c, ks_error *e)
{
	if (!cp_pg(c))
		return KS_OK;
	db_stmt *st;
	int rc = db_prepare(c->db, "SELECT ks_sync_identities()", &st);
	if (rc == DB_OK) {
		rc = db_step(st);
		rc = rc == DB_ROW ? DB_DONE : rc;
	}
	db_finalize(st);
	return rc == DB_DONE ? KS_OK : cp_fail(c, rc, "moving the identity sequences", e);
}

/* The copy transaction on the destination. */
static ks_err cp_write(cp_ctx *x, int batch, int batch_pg, store_copy_report *out)
{
	/* SQLite checks foreign keys at commit; PostgreSQL at each row, hence
	 * the order. The seeded configuration goes first, in reverse order. */
	ks_err err = cp_exec(x->dc, "BEGIN IMMEDIATE", x->e);
	if (!err && !cp_pg(x->dc))
		err = cp_exec(x->dc, "PRAGMA defer_foreign_keys = ON", x->e);
	for (int i = x->n - 1; i >= 0 && !err; i--) {
		if (!cp_in(cp_seeded, x->t[i].name))
			continue;
		char sql[160];
		snprintf(sql, sizeof sql, "DELETE FROM \"%s\"", x->t[i].name);
		err = cp_exec(x->dc, sql, x->e);
	}
	for (int i = 0; i < x->n && !err; i++) {
		err = cp_pg(x->dc) ? cp_table_copy_pg(x, &x->t[i], batch_pg, &out->tables[i])
				   : cp_table_copy(x, &x->t[i], batch, &out->tables[i]);
		out->rows += out->tables[i].src_rows;
	}
	if (!err)
		err = cp_sync(x->dc, x->e);
	/* The feed rows this transaction's triggers wrote: there is no other
	 * node whose index they could update, and one node that starts later
	 * builds its index from the tables. */
	if (!err && cp_pg(x->dc))
		err = cp_exec(x->dc, "DELETE FROM change_feed", x->e);
	if (!err)
		err = cp_exec(x->dc, "COMMIT", x->e);
	return err;
}

static ks_err cp_verify(cp_ctx *x, bool have_src, store_copy_report *out)
{
	ks_err err = KS_OK;
	for (int i = 0; i < x->n && !err; i++) {
		store_copy_table *r = &out->tables[i];
		if (!have_src)
			err = cp_table_sum(x->sc, &x->t[i], &r->src_rows, &r->src_sum, x->e);
		if (!err)
			err = cp_table_sum(x->dc, &x->t[i], &r->dst_rows, &r->dst_sum, x->e);
		r->ok = r->src_rows == r->dst_rows && r->src_sum == r->dst_sum;
		if (!err && !r->ok)
			out->bad++;
	}
	return err;
}

/* The source is read in one snapshot: a server that writes to it meanwhile
 * does not tear the copy. */
static ks_err cp_snapshot(sq_conn *c, ks_error *e)
{
	if (cp_pg(c)) {
		int rc = db_exec_native(c->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
		return rc == DB_OK ? KS_OK : cp_fail(c, rc, "starting the source's snapshot", e);
	}
	ks_err err = cp_exec(c, "BEGIN", e);
	int64_t ignored;
	/* SQLite's deferred BEGIN takes its snapshot at the first read. */
	if (!err)
		err = cp_one(c, "SELECT count(*) FROM sqlite_schema", &ignored, e);
	return err;
}

ks_err store_copy(ks_store *src, ks_store *dst, const store_copy_options *opt, store_copy_report *out,
		  ks_error *e)
{
	memset(out, 0, sizeof *out);
	if (store_schema_version(src) != store_schema_version(dst))
		return ks_fail(e, KS_ERR_INVALID, NULL, "schema versions differ: source %d, destination %d",
			       store_schema_version(src), store_schema_version(dst));
	cp_ctx x = {.src = src, .dst = dst, .e = e};
	cp_table *raw = calloc(CP_MAX_TABLES, sizeof *raw);
	x.t = calloc(CP_MAX_TABLES, sizeof *x.t);
	if (!raw || !x.t) {
		free(raw);
		free(x.t);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "copy: out of memory");
	}
	x.sc = sq_acquire(src);
	x.dc = sq_acquire(dst);
	ks_err err = cp_snapshot(x.sc, e);
	if (!err)
		err = cp_catalogue(&x, raw);
	if (!err)
		err = cp_order(&x, raw);
	if (err) {
		/* the names belong to raw until ordered */
		for (int i = 0; i < x.n; i++) {
			cp_free_names(raw[i].cols, raw[i].ncols);
			cp_free_names(raw[i].deps, raw[i].ndeps);
		}
		x.n = 0;
	}
	free(raw);
	if (!err) {
		out->n = x.n;
		out->tables = calloc((size_t)(x.n ? x.n : 1), sizeof *out->tables);
		if (out->tables == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "copy: out of memory");
		for (int i = 0; !err && i < x.n; i++)
			snprintf(out->tables[i].name, sizeof out->tables[i].name, "%s", x.t[i].name);
	}
	int batch = opt && opt->batch_rows > 0 ? opt->batch_rows : CP_DEFAULT_BATCH;
	int batch_pg = opt && opt->batch_rows > 0 ? opt->batch_rows : CP_DEFAULT_BATCH_PG;
	bool verify_only = opt && opt->verify_only;
	if (!err && !verify_only)
		err = cp_check_empty(&x);
	double t0 = cp_now();
	if (!err && !verify_only) {
		err = cp_write(&x, batch, batch_pg, out);
		out->copy_seconds = cp_now() - t0;
	}
	double t1 = cp_now();
	if (!err)
		err = cp_verify(&x, !verify_only, out);
	out->verify_seconds = cp_now() - t1;
	cp_tables_free(&x);
	free(x.t);
	sq_release(dst, x.dc);   /* rolls back a failed copy */
	sq_release(src, x.sc);
	if (err)
		store_copy_report_free(out);
	return err;
}

void store_copy_report_free(store_copy_report *r)
{
	if (r == NULL)
		return;
	free(r->tables);
	r->tables = NULL;
	r->n = 0;
}

ks_err store_sync_identities(ks_store *s, ks_error *e)
{
	if (!store_is_pg(s))
		return KS_OK;
	sq_conn *c = sq_acquire(s);
	ks_err err = cp_sync(c, e);
	sq_release(s, c);
	return err;
}
