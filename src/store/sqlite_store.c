/* sqlite_store.c — the SQLite backend: opening, the connection pool,
 * migrations, statement cache and the generic entity operations.
 *
 * Concurrency model: request threads take a connection from a small pool
 * (WAL lets readers run beside the one writer); responses go through the
 * single writer thread in sqlite_events.c. Administrative writes (entities,
 * contacts) run as BEGIN IMMEDIATE transactions on a pool connection; the
 * busy timeout serialises them against the writer.
 */
#include "store/sqlite_int.h"

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"

extern const char *const store_migrations[];
extern const int store_n_migrations;
/* issue 18: the same migrations in PostgreSQL's dialect (migrations/pg/) */
extern const char *const store_pg_migrations[];
extern const int store_pg_n_migrations;

static const char *const sq_sql[SQ__COUNT] = {
	[SQ_CONTACT_GET] =
		"SELECT id, customer_id, coalesce(employee_id,0), coalesce(team_id,0), touchpoint_id,"
		" channel, coalesce(reason,''), occurred_at, token, expires_at FROM contacts WHERE id=?1",
	[SQ_CONTACT_BY_TOKEN] =
		"SELECT id, customer_id, coalesce(employee_id,0), coalesce(team_id,0), touchpoint_id,"
		" channel, coalesce(reason,''), occurred_at, token, expires_at FROM contacts WHERE token=?1",
	[SQ_CONTACT_INSERT] =
		"INSERT INTO contacts(customer_id, employee_id, team_id, touchpoint_id, channel, reason,"
		" occurred_at, token, expires_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
	[SQ_CONTACT_ANSWER] = "SELECT coalesce(client_key,'') FROM responses WHERE contact_id=?1",
	[SQ_TOUCHPOINT_BY_TOKEN] =
		"SELECT id, name, coalesce(survey_id,0) FROM touchpoints WHERE open_token=?1",
	[SQ_TOUCHPOINT_SURVEY] = "SELECT name, coalesce(survey_id,0) FROM touchpoints WHERE id=?1",
	[SQ_CUSTOMER_LANG] = "SELECT language FROM customers WHERE id=?1",
	[SQ_EMPLOYEE_TEAM] = "SELECT team_id FROM employees WHERE id=?1",
	[SQ_EMPLOYEE_NAME] = "SELECT first_name FROM employees WHERE id=?1",
	[SQ_EXISTS_CUSTOMER] = "SELECT 1 FROM customers WHERE id=?1",
	[SQ_EXISTS_TOUCHPOINT] = "SELECT 1 FROM touchpoints WHERE id=?1",
	[SQ_TEAM_KIND] = "SELECT kind FROM org_units WHERE id=?1",
	[SQ_SURVEY_GET] = "SELECT id, name, questions FROM surveys WHERE id=?1",
	[SQ_RESPONSE_INSERT] =
		"INSERT INTO responses(client_key, body_hash, contact_id, customer_id, employee_id,"
		" team_id, touchpoint_id, survey_id, channel, language, nps, grade, ces, open_text,"
		" received_at, source, contact_consent)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"
		" ON CONFLICT DO NOTHING",
	[SQ_RESPONSE_BY_KEY] = "SELECT id, body_hash FROM responses WHERE client_key=?1",
	[SQ_RESPONSE_DRIVER] =
		"INSERT INTO response_drivers(response_id, aspect, score) VALUES(?1,?2,?3)",
	[SQ_RESPONSE_GET] =
		"SELECT id, client_key, contact_id, customer_id, employee_id, team_id, touchpoint_id,"
		" survey_id, channel, language, nps, grade, ces, open_text, received_at, source,"
		" contact_consent FROM responses WHERE id=?1",
	[SQ_RESPONSE_DRIVERS] =
		"SELECT aspect, score FROM response_drivers WHERE response_id=?1 ORDER BY aspect",
	/* One pass over the responses in the slice. ?1 team (with its whole
	 * subtree, by a recursive walk of org_units), ?2 employee, ?3 touchpoint,
	 * ?4 journey, ?5 channel, ?6 from (inclusive), ?7 to (exclusive). */
	[SQ_METRICS] =
		"WITH RECURSIVE sub(id) AS (SELECT ?1 WHERE ?1 IS NOT NULL"
		"  UNION ALL SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id)"
		" SELECT count(*), count(nps), total(nps >= 9), total(nps BETWEEN 7 AND 8), total(nps <= 6),"
		"  count(grade), total(grade), total(grade*grade), total(grade >= 7), total(grade >= 9),"
		"  count(ces), total(ces), total(ces >= 5)"
		" FROM responses r"
		" WHERE (?1 IS NULL OR r.team_id IN (SELECT id FROM sub))"
		"  AND (?2 IS NULL OR r.employee_id = ?2)"
		"  AND (?3 IS NULL OR r.touchpoint_id = ?3)"
		"  AND (?4 IS NULL OR r.touchpoint_id IN (SELECT id FROM touchpoints WHERE journey_id = ?4))"
		"  AND (?5 IS NULL OR r.channel = ?5)"
		"  AND (?6 IS NULL OR r.received_at >= ?6)"
		"  AND (?7 IS NULL OR r.received_at < ?7)",
	/* Per-response savepoints in the writer's batches, prepared once. */
	[SQ_SAVEPOINT] = "SAVEPOINT r",
	[SQ_RELEASE] = "RELEASE r",
	[SQ_ROLLBACK_TO] = "ROLLBACK TO r",
	/* The funnel's last step, written with the response itself. */
	[SQ_INVITE_COMPLETED] =
		"UPDATE invitations SET completed_at = ?2,"
		" started_at = coalesce(started_at, ?2), opened_at = coalesce(opened_at, ?2),"
		" reminder_status = CASE WHEN reminder_status = 'scheduled' THEN 'skipped'"
		"   ELSE reminder_status END"
		" WHERE contact_id = ?1 AND completed_at IS NULL",
	/* Every authenticated request looks its caller up: prepared once. The
	 * column list matches sq_user_row in sqlite_auth.c. */
	[SQ_TOKEN_USER] =
		"SELECT u.id, u.email, u.name, u.role, coalesce(u.employee_id,0), coalesce(u.unit_id,0),"
		" u.language, u.disabled, '', t.id, coalesce(t.last_used_at, 0)"
		" FROM users u JOIN api_tokens t ON t.user_id = u.id"
		" WHERE t.token_hash = ?1 AND t.expires_at > ?2 AND u.disabled = 0",
	[SQ_SESSION_USER] =
		"SELECT u.id, u.email, u.name, u.role, coalesce(u.employee_id,0), coalesce(u.unit_id,0),"
		" u.language, u.disabled, se.csrf FROM users u JOIN sessions se ON se.user_id = u.id"
		" WHERE se.token_hash = ?1 AND se.expires_at > ?2 AND u.disabled = 0",
	/* Alert rules, read for every new response (sqlite_cases.c, whose
	 * sq_rule_row reads these columns). */
	[SQ_ALERT_RULES] =
		"SELECT id, kind, threshold, coalesce(words, ''), sla_hours, enabled, coalesce(updated_at, 0),"
		" coalesce(window_days, 0), working_days FROM alert_rules WHERE enabled = 1 ORDER BY id",
};

/* ---- errors, statements, connections -------------------------------- */

static const char *sq_unique_column(const char *msg)
{
	/* "UNIQUE constraint failed: customers.external_id" -> "external_id" */
	const char *p = strstr(msg, "constraint failed: ");
	if (p == NULL)
		return NULL;
	const char *dot = strchr(p, '.');
	return dot ? dot + 1 : NULL;
}

ks_err sq_fail(sq_conn *c, int rc, ks_error *e)
{
	const char *msg = c ? db_errmsg(c->db) : db_errstr(rc);
	int ext = c ? db_extended_errcode(c->db) : rc;
	if (ext == DB_CONSTRAINT_UNIQUE || ext == DB_CONSTRAINT_PRIMARYKEY) {
		char field[64];
		const char *col = sq_unique_column(msg);
		snprintf(field, sizeof field, "%s", col ? col : "");
		char *comma = strchr(field, ',');
		if (comma)
			*comma = '\0';
		return ks_fail(e, KS_ERR_CONFLICT, field[0] ? field : NULL,
			       "%s is already taken", field[0] ? field : "a unique value");
	}
	if (ext == DB_CONSTRAINT_FOREIGNKEY)
		return ks_fail(e, KS_ERR_REF, NULL, "a referenced row does not exist");
	if ((ext & 0xff) == DB_CONSTRAINT)
		return ks_fail(e, KS_ERR_INVALID, NULL, "constraint failed: %s", msg);
	/* open-link guard (issue 11): the disk (or max_page_count) is full. */
	if ((ext & 0xff) == DB_FULL)
		return ks_fail(e, KS_ERR_STORAGE_FULL, NULL,
			       "the storage is full: nothing was written; try again later");
	return ks_fail(e, KS_ERR_DB, NULL, "database error: %s", msg);
}

db_stmt *sq_stmt(sq_conn *c, sq_id id, ks_error *e)
{
	db_stmt *st = c->stmt[id];
	if (st == NULL) {
		int rc = db_prepare_persistent(c->db, sq_sql[id], &st);
		if (rc != DB_OK) {
			sq_fail(c, rc, e);
			return NULL;
		}
		c->stmt[id] = st;
		return st;
	}
	db_reset(st);
	db_clear_bindings(st);
	return st;
}

ks_err sq_exec(sq_conn *c, const char *sql, ks_error *e)
{
	int rc = db_exec(c->db, sql);
	return rc == DB_OK ? KS_OK : sq_fail(c, rc, e);
}

void sq_bind_id(db_stmt *st, int i, int64_t id)
{
	if (id > 0)
		db_bind_int64(st, i, id);
	else
		db_bind_null(st, i);
}

void sq_token(char out[MODEL_TOKEN_LEN + 1])
{
	unsigned char raw[MODEL_TOKEN_LEN * 3 / 4];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, MODEL_TOKEN_LEN + 1, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* SQL functions of the organisation's calendar (SQLite's strftime knows
 * only UTC and the host's zone, not EU summer time):
 *   ks_local_month(t)  "YYYY-MM" of the unix time t on s->tz;
 *   ks_local_year(t)   its year, an integer.
 * NULL for NULL. The zone is read through the store (store_set_tz), so
 * every connection agrees with the analytics index and the API. */
static void sq_fn_local(sqlite3_context *cx, sqlite3_value **argv, bool month)
{
	const ks_store *s = sqlite3_user_data(cx);
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(cx);
		return;
	}
	int y, mo, d, h, mi, sec;
	tz_civil(&s->tz, sqlite3_value_int64(argv[0]), &y, &mo, &d, &h, &mi, &sec);
	if (!month) {
		sqlite3_result_int(cx, y);
		return;
	}
	char label[16];
	int n = snprintf(label, sizeof label, "%04d-%02d", y, mo);
	sqlite3_result_text(cx, label, n, SQLITE_TRANSIENT);
}

static void sq_fn_local_month(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sq_fn_local(cx, argv, true);
}

static void sq_fn_local_year(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
	(void)argc;
	sq_fn_local(cx, argv, false);
}

static int sq_functions(sqlite3 *db, ks_store *s)
{
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
	int rc = sqlite3_create_function(db, "ks_local_month", 1, flags, s, sq_fn_local_month, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(db, "ks_local_year", 1, flags, s, sq_fn_local_year, NULL, NULL);
	return rc;
}

/* A SQLite connection to the file at path, with the organisation's
 * calendar functions and the durability settings. */
static ks_err sq_conn_open_sqlite(ks_store *s, const char *path, bool scratch, sq_conn *c, ks_error *e)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	sqlite3 *h = NULL;
	int rc = sqlite3_open_v2(path, &h, flags, NULL);
	if (rc != SQLITE_OK) {
		ks_fail(e, KS_ERR_IO, NULL, "cannot open database %s: %s", path,
			h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close(h);
		return KS_ERR_IO;
	}
	sqlite3_busy_timeout(h, SQ_BUSY_TIMEOUT_MS);
	rc = sq_functions(h, s);
	if (rc != SQLITE_OK) {
		ks_fail(e, KS_ERR_DB, NULL, "cannot register SQL functions: %s", sqlite3_errmsg(h));
		sqlite3_close(h);
		return KS_ERR_DB;
	}
	c->db = db_wrap_sqlite(h);
	if (c->db == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	/* WAL: readers never block the writer. synchronous=FULL: the WAL is
	 * fsync'd at every commit, so a committed row survives power loss, not
	 * only a crash of the process. */
	return sq_exec(c, scratch ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				    " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
				  : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				    " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
		       e);
}

/* Set the session's zone for ks_local_month/year (functions of the
 * PostgreSQL schema, reading the setting klantstem.tz). The name comes
 * from tz.c's table, never from input; quoted all the same. */
static ks_err sq_pg_set_tz(ks_store *s, sq_conn *c, ks_error *e)
{
	char sql[96];
	snprintf(sql, sizeof sql, "SET klantstem.tz = '%s'", s->tz.name);
	if (strchr(s->tz.name, '\'') != NULL)
		return ks_fail(e, KS_ERR_INVALID, "time_zone", "bad zone name");
	ks_err err = sq_exec(c, sql, e);
	if (!err)
		c->tz_gen = s->tz_gen;
	return err;
}

/* A PostgreSQL session (issue 18): synchronous_commit on (db_open_pg), the
 * busy timeout as lock_timeout, the organisation's zone. */
static ks_err sq_conn_open_pg(ks_store *s, const char *uri, sq_conn *c, ks_error *e)
{
	char *why = NULL;
	c->db = db_open_pg(uri, &why);
	if (c->db == NULL) {
		/* db_open_pg's reason names what failed ("cannot connect to
		 * PostgreSQL: ...") -- not prefixed twice */
		ks_fail(e, KS_ERR_IO, NULL, "%s", why ? why : "PostgreSQL: out of memory");
		free(why);
		return KS_ERR_IO;
	}
	if (db_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS) != DB_OK)
		return sq_fail(c, db_extended_errcode(c->db), e);
	ks_err err = sq_pg_set_tz(s, c, e);
	if (!err) /* issue 18 (NODES): klantstem.node (once registered) */
		err = sq_node_session(s, c, e);
	return err;
}

static ks_err sq_conn_open(ks_store *s, const char *path, bool scratch, sq_conn **out, ks_error *e)
{
	sq_conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = store_is_pg_uri(path) ? sq_conn_open_pg(s, path, c, e)
					   : sq_conn_open_sqlite(s, path, scratch, c, e);
	if (err) {
		db_close(c->db);
		free(c);
		return err;
	}
	*out = c;
	return KS_OK;
}

bool store_is_pg_uri(const char *path)
{
	return path && (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0);
}

bool store_is_pg(const ks_store *s)
{
	return s->pg;
}

static void sq_conn_close(sq_conn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < SQ__COUNT; i++)
		db_finalize(c->stmt[i]);
	sq_text_conn_free(c); /* issue 14 */
	db_close(c->db);
	free(c);
}

sq_conn *sq_acquire(ks_store *s)
{
	pthread_mutex_lock(&s->pool_mu);
	while (s->free_conns == NULL)
		pthread_cond_wait(&s->pool_cv, &s->pool_mu);
	sq_conn *c = s->free_conns;
	s->free_conns = c->next_free;
	pthread_mutex_unlock(&s->pool_mu);
	/* The zone changed since this session set it (store_set_tz): a
	 * failure leaves the old zone and is retried at the next acquire. */
	if (s->pg && c->tz_gen != s->tz_gen) {
		ks_error ignored;
		sq_pg_set_tz(s, c, &ignored);
	}
	return c;
}

void sq_release(ks_store *s, sq_conn *c)
{
	/* A transaction left open by an error path must not leak into the
	 * next user of the connection. */
	if (!db_get_autocommit(c->db))
		db_exec(c->db, "ROLLBACK");
	pthread_mutex_lock(&s->pool_mu);
	c->next_free = s->free_conns;
	s->free_conns = c;
	pthread_cond_signal(&s->pool_cv);
	pthread_mutex_unlock(&s->pool_mu);
}

ks_err sq_row_exists(sq_conn *c, const char *table, int64_t id, bool *found, ks_error *e)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id=?1", table);
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	*found = rc == DB_ROW;
	db_finalize(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return sq_fail(c, rc, e);
	return KS_OK;
}

ks_err sq_collect(sq_conn *c, db_stmt *st, size_t elem, sq_elem_fn row_fn, size_t limit,
		  void **out, size_t *n, bool *more, ks_error *e)
{
	char *v = NULL;
	size_t cap = 0, len = 0;
	int rc;
	if (more)
		*more = false;
	while ((rc = db_step(st)) == DB_ROW) {
		if (limit && len == limit) {
			if (more)
				*more = true;
			continue;
		}
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			char *nv = realloc(v, ncap * elem);
			if (nv == NULL) {
				rc = DB_NOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		row_fn(st, v + len++ * elem);
	}
	ks_err err = KS_OK;
	if (rc != DB_DONE)
		err = rc == DB_NOMEM ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory") : sq_fail(c, rc, e);
	db_finalize(st);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	*n = len;
	return KS_OK;
}

/* ---- migrations ---------------------------------------------------------- */

/* PostgreSQL (issue 18): the version lives in ks_schema_version (no
 * user_version there), and nodes starting together take turns through an
 * advisory lock held for the whole run, so each migration runs once. */
#define SQ_PG_MIGRATE_LOCK 0x6b73 /* "ks" */

static ks_err sq_pg_version(sq_conn *c, int *version, ks_error *e)
{
	ks_err err = sq_exec(c, "CREATE TABLE IF NOT EXISTS ks_schema_version (version INT NOT NULL);"
				" INSERT INTO ks_schema_version SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM ks_schema_version)",
			     e);
	if (err)
		return err;
	db_stmt *st;
	int rc = db_prepare(c->db, "SELECT version FROM ks_schema_version", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	*version = db_step(st) == DB_ROW ? db_column_int(st, 0) : 0;
	db_finalize(st);
	return KS_OK;
}

/* Bring the database from version to the newest of the n migrations in
 * sql[]: each migration and its version bump commit together or not at
 * all. The migrations are in the backend's own dialect and run
 * untranslated; the version lives in user_version (SQLite) or
 * ks_schema_version (PostgreSQL). */
static ks_err sq_migrate_from(ks_store *s, sq_conn *c, int version, const char *const *sql, int n,
			      ks_error *e)
{
	if (version > n)
		return ks_fail(e, KS_ERR_DB, NULL, "database schema version %d is newer than this klantstem (%d)",
			       version, n);
	for (int v = version; v < n; v++) {
		/* PostgreSQL: READ COMMITTED (native: a translated BEGIN is
		 * REPEATABLE READ, db_pg_sql.c), as before -- the migrate lock
		 * orders the nodes, and a migration's UPDATE of rows a running
		 * node changes waits for it instead of failing with 40001. */
		ks_err err = s->pg ? (db_exec_native(c->db, "BEGIN") == DB_OK ? KS_OK
								: sq_fail(c, db_extended_errcode(c->db), e))
				   : sq_exec(c, "BEGIN IMMEDIATE", e);
		if (err)
			return err;
		if (db_exec_native(c->db, sql[v]) != DB_OK)
			err = sq_fail(c, db_extended_errcode(c->db), e);
		if (!err) {
			char bump[64];
			if (s->pg)
				snprintf(bump, sizeof bump, "UPDATE ks_schema_version SET version = %d", v + 1);
			else
				snprintf(bump, sizeof bump, "PRAGMA user_version=%d", v + 1);
			err = sq_exec(c, bump, e);
		}
		if (!err)
			err = sq_exec(c, "COMMIT", e);
		if (err) {
			db_exec(c->db, "ROLLBACK");
			return err;
		}
	}
	s->version = n;
	return KS_OK;
}

static ks_err sq_pg_migrate(ks_store *s, sq_conn *c, ks_error *e)
{
	char sql[80];
	snprintf(sql, sizeof sql, "SELECT pg_advisory_lock(%d)", SQ_PG_MIGRATE_LOCK);
	ks_err err = sq_exec(c, sql, e);
	if (err)
		return err;
	int version = 0;
	err = sq_pg_version(c, &version, e);
	if (!err)
		err = sq_migrate_from(s, c, version, store_pg_migrations, store_pg_n_migrations, e);
	snprintf(sql, sizeof sql, "SELECT pg_advisory_unlock(%d)", SQ_PG_MIGRATE_LOCK);
	db_exec(c->db, sql);
	return err;
}

static ks_err sq_migrate(ks_store *s, sq_conn *c, ks_error *e)
{
	if (s->pg)
		return sq_pg_migrate(s, c, e);
	db_stmt *st;
	int rc = db_prepare(c->db, "PRAGMA user_version", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	int version = db_step(st) == DB_ROW ? db_column_int(st, 0) : 0;
	db_finalize(st);
	return sq_migrate_from(s, c, version, store_migrations, store_n_migrations, e);
}

/* ---- open / close ---------------------------------------------------------- */

ks_err store_open(const char *path, const store_options *opt, ks_store **out, ks_error *e)
{
	if (sodium_init() < 0)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "libsodium failed to initialise");
	ks_store *s = calloc(1, sizeof *s);
	if (s == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	s->path = strdup(path);
	s->pg = store_is_pg_uri(path);
	s->clock = opt ? opt->clock : NULL;
	if (opt && opt->tz.name[0])
		s->tz = opt->tz;
	else
		tz_default(&s->tz);
	bool scratch = opt && opt->scratch;
	s->batch_max = opt && opt->batch_max > 0 ? opt->batch_max : 4096;
	randombytes_buf(&s->sample_seed, sizeof s->sample_seed);
	int pool = opt && opt->pool_size > 0 ? opt->pool_size : 4;
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_cond_init(&s->pool_cv, NULL);
	pthread_mutex_init(&s->wq_mu, NULL);
	pthread_cond_init(&s->wq_cv, NULL);
	s->all_conns = calloc((size_t)pool, sizeof *s->all_conns);
	if (s->path == NULL || s->all_conns == NULL) {
		store_close(s);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	ks_err err = sq_conn_open(s, path, scratch, &s->wconn, e);
	if (!err)
		err = sq_migrate(s, s->wconn, e);
	bool node = opt && opt->node; /* issue 18 (review): a command is not a node */
	if (!err && node) /* issue 18 (NODES): PostgreSQL: this node's row, before the pool's sessions */
		err = sq_node_register(s, s->wconn, e);
	for (int i = 0; !err && i < pool; i++) {
		err = sq_conn_open(s, path, scratch, &s->all_conns[i], e);
		if (!err) {
			s->all_conns[i]->next_free = s->free_conns;
			s->free_conns = s->all_conns[i];
			s->n_conns++;
		}
	}
	/* PostgreSQL checkpoints by itself: no checkpointer there. */
	if (!err && !s->pg)
		err = sq_conn_open(s, path, scratch, &s->ckconn, e);
	if (!err && !s->pg)
		err = sq_checkpointer_start(s, e);
	if (!err)
		sq_text_open(s); /* issue 14: before the writer, which analyses */
	if (!err)
		err = sq_writer_start(s, e);
	if (!err && node) /* issue 18 (NODES): the other nodes' changes (PostgreSQL) */
		err = pg_follow_start(s, e);
	if (!err)
		s->funnel = s->pg ? NULL : sq_funnel_cache_new(path); /* issue 13: NULL = count every time */
	if (err) {
		store_close(s);
		return err;
	}
	*out = s;
	return KS_OK;
}

void store_close(ks_store *s)
{
	if (s == NULL)
		return;
	pg_follow_stop(s); /* issue 18 (NODES): first: it calls the hooks */
	sq_writer_stop(s);
	sq_checkpointer_stop(s);
	sq_conn_close(s->ckconn);
	for (int i = 0; i < s->n_conns; i++)
		sq_conn_close(s->all_conns[i]);
	if (s->wconn) {
		/* Fold the WAL back into the main file so the database is one
		 * self-contained file after a clean shutdown. Only when nobody
		 * else writes (issue 16 H8): a TRUNCATE checkpoint waits for
		 * another process's writer and blocks new writers while it waits,
		 * so a `klantstem import` ending beside a running server would
		 * hold up its responses; without the busy timeout it gives up at
		 * once and the server's own checkpoints fold the WAL later. */
		if (!s->pg) {
			db_busy_timeout(s->wconn->db, 0);
			db_exec(s->wconn->db, "PRAGMA wal_checkpoint(TRUNCATE)");
		}
		sq_conn_close(s->wconn);
	}
	sq_text_close(s); /* issue 14 */
	free(s->all_conns);
	sq_funnel_cache_free(s->funnel); /* issue 13 */
	pthread_mutex_destroy(&s->pool_mu);
	pthread_cond_destroy(&s->pool_cv);
	pthread_mutex_destroy(&s->wq_mu);
	pthread_cond_destroy(&s->wq_cv);
	free(s->path);
	free(s);
}

void store_set_webhooks(ks_store *s, bool enabled)
{
	s->webhooks = enabled;
}

void store_set_sample_seed(ks_store *s, uint64_t seed)
{
	s->sample_seed = seed;
}

void store_set_tz(ks_store *s, const ks_tz *tz)
{
	s->tz = *tz;
	s->tz_gen++;
}

int store_schema_version(ks_store *s)
{
	return s->version;
}

void store_stats(ks_store *s, uint64_t *batches, uint64_t *rows)
{
	pthread_mutex_lock(&s->wq_mu);
	*batches = s->n_batches;
	*rows = s->n_rows;
	pthread_mutex_unlock(&s->wq_mu);
}

/* ---- generic entities ---------------------------------------------------- */

/* Columns a table gets from the server rather than from the request. */
static bool sq_has_open_token(const model_entity *ent)
{
	return strcmp(ent->table, "touchpoints") == 0;
}

static ks_err sq_bind_json(db_stmt *st, int i, const model_field *f, const json_t *v)
{
	if (v == NULL || json_is_null(v))
		return db_bind_null(st, i) == DB_OK ? KS_OK : KS_ERR_DB;
	int rc;
	switch (f->type) {
	case MODEL_F_BOOL:
		rc = db_bind_int(st, i, json_is_true(v));
		break;
	case MODEL_F_INT:
	case MODEL_F_REF:
		rc = db_bind_int64(st, i, json_integer_value(v));
		break;
	case MODEL_F_JSON: {
		char *txt = json_dumps(v, JSON_COMPACT);
		if (txt == NULL)
			return KS_ERR_NOMEM;
		rc = db_bind_text(st, i, txt, -1, DB_TRANSIENT);
		free(txt);
		break;
	}
	default:
		rc = db_bind_text(st, i, json_string_value(v), -1, DB_TRANSIENT);
		break;
	}
	return rc == DB_OK ? KS_OK : KS_ERR_DB;
}

/* Check every reference field present in obj. Runs inside the caller's
 * transaction, so the referenced rows cannot vanish before the insert. */
static ks_err sq_check_refs(sq_conn *c, const model_entity *ent, const json_t *obj, ks_error *e)
{
	for (size_t i = 0; i < ent->n_fields; i++) {
		const model_field *f = &ent->fields[i];
		const json_t *v = json_object_get(obj, f->name);
		if (f->type != MODEL_F_REF || v == NULL || json_is_null(v))
			continue;
		bool found = false;
		ks_err err = sq_row_exists(c, f->ref_table, json_integer_value(v), &found, e);
		if (err)
			return err;
		if (!found)
			return ks_fail(e, KS_ERR_REF, f->name, "%s %lld does not exist", f->name,
				       (long long)json_integer_value(v));
	}
	return KS_OK;
}

static ks_err sq_unit_kind(sq_conn *c, int64_t id, char *kind, size_t n, ks_error *e)
{
	db_stmt *st = sq_stmt(c, SQ_TEAM_KIND, e);
	if (st == NULL)
		return KS_ERR_DB;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		snprintf(kind, n, "%s", (const char *)db_column_text(st, 0));
	db_reset(st);
	if (rc == DB_ROW)
		return KS_OK;
	if (rc == DB_DONE)
		return KS_ERR_NOTFOUND;
	return sq_fail(c, rc, e);
}

/* The organisation tree has three fixed levels: organisation (no parent),
 * department (under an organisation), team (under a department). Employees
 * belong to a team. Keeping the levels fixed keeps roll-ups unambiguous and
 * makes cycles impossible. */
static ks_err sq_check_tree(sq_conn *c, const model_entity *ent, const json_t *state,
			    int64_t self_id, ks_error *e)
{
	char kind[32];
	ks_err err;
	if (strcmp(ent->table, "employees") == 0) {
		const json_t *t = json_object_get(state, "team_id");
		if (!json_is_integer(t))
			return KS_OK;
		err = sq_unit_kind(c, json_integer_value(t), kind, sizeof kind, e);
		if (err == KS_ERR_NOTFOUND)
			return ks_fail(e, KS_ERR_REF, "team_id", "team_id does not exist");
		if (err)
			return err;
		if (strcmp(kind, "team") != 0)
			return ks_fail(e, KS_ERR_INVALID, "team_id",
				       "team_id must be an org unit of kind team, not %s", kind);
		return KS_OK;
	}
	if (strcmp(ent->table, "org_units") != 0)
		return KS_OK;
	const char *my = json_string_value(json_object_get(state, "kind"));
	const json_t *p = json_object_get(state, "parent_id");
	bool has_parent = json_is_integer(p);
	if (my == NULL)
		return KS_OK;
	if (strcmp(my, "organisation") == 0) {
		if (has_parent)
			return ks_fail(e, KS_ERR_INVALID, "parent_id", "an organisation has no parent");
	} else {
		const char *want = strcmp(my, "department") == 0 ? "organisation" : "department";
		if (!has_parent)
			return ks_fail(e, KS_ERR_INVALID, "parent_id", "a %s needs a parent (%s)", my, want);
		if (json_integer_value(p) == self_id)
			return ks_fail(e, KS_ERR_INVALID, "parent_id", "a unit cannot be its own parent");
		err = sq_unit_kind(c, json_integer_value(p), kind, sizeof kind, e);
		if (err == KS_ERR_NOTFOUND)
			return ks_fail(e, KS_ERR_REF, "parent_id", "parent_id %lld does not exist",
				       (long long)json_integer_value(p));
		if (err)
			return err;
		if (strcmp(kind, want) != 0)
			return ks_fail(e, KS_ERR_INVALID, "parent_id",
				       "the parent of a %s must be a %s, not a %s", my, want, kind);
	}
	return KS_OK;
}

/* Prepare the statement built in sql (freed here; build_err is how building
 * it went) and bind, in field order, each field of ent present in obj as
 * ?1..?k. On success *out must be finalized by the caller. */
static ks_err sq_prepare_fields(sq_conn *c, ks_buf *sql, ks_err build_err, const model_entity *ent,
				const json_t *obj, db_stmt **out, int *k, ks_error *e)
{
	if (build_err) {
		buf_free(sql);
		return ks_fail(e, build_err, NULL, "cannot build statement");
	}
	db_stmt *st;
	int rc = db_prepare(c->db, sql->data, &st);
	buf_free(sql);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	ks_err err = KS_OK;
	*k = 0;
	for (size_t i = 0; i < ent->n_fields && !err; i++) {
		const json_t *v = json_object_get(obj, ent->fields[i].name);
		if (v != NULL)
			err = sq_bind_json(st, ++*k, &ent->fields[i], v);
	}
	if (err) {
		db_finalize(st);
		return ks_fail(e, err, NULL, "cannot bind values");
	}
	*out = st;
	return KS_OK;
}

ks_err sq_entity_insert(ks_store *s, sq_conn *c, const model_entity *ent, const json_t *obj,
			int64_t *id, ks_error *e)
{
	ks_buf cols, vals;
	buf_init(&cols, 4096);
	buf_init(&vals, 4096);
	int n = 0;
	ks_err err = KS_OK;
	for (size_t i = 0; i < ent->n_fields && !err; i++) {
		if (json_object_get(obj, ent->fields[i].name) == NULL)
			continue;
		n++;
		err = buf_printf(&cols, "%s, ", ent->fields[i].name);
		if (!err)
			err = buf_printf(&vals, "?%d, ", n);
	}
	if (!err)
		err = buf_printf(&cols, "created_at%s", sq_has_open_token(ent) ? ", open_token" : "");
	if (!err)
		err = buf_printf(&vals, "?%d%s", n + 1, sq_has_open_token(ent) ? ", ?" : "");
	ks_buf sql;
	buf_init(&sql, 16384);
	if (!err)
		err = buf_printf(&sql, "INSERT INTO %s (%s) VALUES (%s)", ent->table, cols.data, vals.data);
	buf_free(&cols);
	buf_free(&vals);
	db_stmt *st;
	int k = 0;
	err = sq_prepare_fields(c, &sql, err, ent, obj, &st, &k, e);
	if (err)
		return err;
	db_bind_int64(st, k + 1, clock_now(s->clock));
	if (sq_has_open_token(ent)) {
		char tok[MODEL_TOKEN_LEN + 1];
		sq_token(tok);
		db_bind_text(st, k + 2, tok, -1, DB_TRANSIENT);
	}
	int rc = db_step(st);
	db_finalize(st);
	if (rc != DB_DONE)
		return sq_fail(c, rc, e);
	*id = db_last_insert_rowid(c->db);
	return KS_OK;
}

static json_t *sq_column_json(db_stmt *st, int col, const model_field *f)
{
	int t = db_column_type(st, col);
	if (t == DB_NULL)
		return json_null();
	if (f && f->type == MODEL_F_BOOL)
		return json_boolean(db_column_int(st, col));
	if (f && f->type == MODEL_F_JSON) {
		json_t *v = json_loads((const char *)db_column_text(st, col), 0, NULL);
		return v ? v : json_null();
	}
	if (t == DB_INTEGER)
		return json_integer(db_column_int64(st, col));
	if (t == DB_FLOAT)
		return json_real(db_column_double(st, col));
	return json_string((const char *)db_column_text(st, col));
}

/* Turn the current row of "SELECT * FROM table" into API JSON. */
static json_t *sq_row_json(db_stmt *st, const model_entity *ent)
{
	json_t *o = json_object();
	int ncol = db_column_count(st);
	for (int i = 0; i < ncol; i++) {
		const char *name = db_column_name(st, i);
		if (strcmp(name, "created_at") == 0) {
			char iso[32];
			clock_format_iso(db_column_int64(st, i), iso, sizeof iso);
			json_object_set_new(o, name, json_string(iso));
			continue;
		}
		json_object_set_new(o, name, sq_column_json(st, i, model_field_find(ent, name)));
		if (strcmp(name, "open_token") == 0) {
			char url[64];
			snprintf(url, sizeof url, "/s/%s", (const char *)db_column_text(st, i));
			json_object_set_new(o, "survey_url", json_string(url));
		}
	}
	return o;
}

static ks_err sq_entity_get_on(sq_conn *c, const model_entity *ent, int64_t id, json_t **out,
			       ks_error *e)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE id=?1", ent->table);
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	ks_err err = KS_OK;
	if (rc == DB_ROW)
		*out = sq_row_json(st, ent);
	else if (rc == DB_DONE)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "%s %lld not found", ent->singular, (long long)id);
	else
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err store_entity_get(ks_store *s, const model_entity *ent, int64_t id, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_entity_get_on(c, ent, id, out, e);
	sq_release(s, c);
	return err;
}

ks_err store_entity_create(ks_store *s, const model_entity *ent, const json_t *obj, json_t **out,
			   ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	int64_t id = 0;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_check_refs(c, ent, obj, e);
	if (!err)
		err = sq_check_tree(c, ent, obj, 0, e);
	if (!err)
		err = sq_entity_insert(s, c, ent, obj, &id, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (!err)
		err = sq_entity_get_on(c, ent, id, out, e);
	sq_release(s, c);
	return err;
}

ks_err store_entity_list(ks_store *s, const model_entity *ent, const store_list_query *q,
			 json_t **out, ks_error *e)
{
	const model_field *ff = q->filter_field ? model_field_find(ent, q->filter_field) : NULL;
	if (q->filter_field && (ff == NULL || !ff->filterable))
		return ks_fail(e, KS_ERR_INVALID, q->filter_field, "cannot filter on %s", q->filter_field);
	char sql[256];
	/* Fetch one row more than asked to know whether a next page exists. */
	snprintf(sql, sizeof sql, "SELECT * FROM %s WHERE id > ?1%s%s%s ORDER BY id LIMIT ?2",
		 ent->table, ff ? " AND " : "", ff ? ff->name : "", ff ? " = ?3" : "");
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db, sql, &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	db_bind_int64(st, 1, q->after_id);
	db_bind_int(st, 2, q->limit + 1);
	if (ff) {
		if (ff->type == MODEL_F_BOOL || ff->type == MODEL_F_INT || ff->type == MODEL_F_REF)
			db_bind_int64(st, 3, strtoll(q->filter_value, NULL, 10));
		else
			db_bind_text(st, 3, q->filter_value, -1, DB_TRANSIENT);
	}
	json_t *items = json_array();
	int64_t last = 0;
	bool more = false;
	while ((rc = db_step(st)) == DB_ROW) {
		if ((int)json_array_size(items) == q->limit) {
			more = true;
			break;
		}
		last = db_column_int64(st, 0);
		json_array_append_new(items, sq_row_json(st, ent));
	}
	ks_err err = KS_OK;
	if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 more ? json_integer(last) : json_null());
	return KS_OK;
}

/* Refuse a kind change for a unit that has sub-units or employees: the
 * fixed levels of the tree would break. */
static ks_err sq_check_kind_change(sq_conn *c, const json_t *old, const json_t *patch, int64_t id,
				   ks_error *e)
{
	const char *nk = json_string_value(json_object_get(patch, "kind"));
	const char *ok = json_string_value(json_object_get(old, "kind"));
	if (nk == NULL || ok == NULL || strcmp(nk, ok) == 0)
		return KS_OK;
	db_stmt *st;
	int rc = db_prepare(c->db,
				    "SELECT (SELECT count(*) FROM org_units WHERE parent_id=?1)"
				    " + (SELECT count(*) FROM employees WHERE team_id=?1)", &st);
	if (rc != DB_OK)
		return sq_fail(c, rc, e);
	db_bind_int64(st, 1, id);
	int64_t members = db_step(st) == DB_ROW ? db_column_int64(st, 0) : 0;
	db_finalize(st);
	if (members > 0)
		return ks_fail(e, KS_ERR_CONFLICT, "kind",
			       "kind cannot change while the unit has sub-units or employees");
	return KS_OK;
}

static ks_err sq_entity_update_on(ks_store *s, sq_conn *c, const model_entity *ent, int64_t id,
				  const json_t *patch, ks_error *e)
{
	(void)s;
	json_t *old = NULL;
	ks_err err = sq_entity_get_on(c, ent, id, &old, e);
	if (err)
		return err;
	json_t *state = json_deep_copy(old);
	json_object_update(state, (json_t *)patch);
	err = sq_check_refs(c, ent, patch, e);
	if (!err)
		err = sq_check_tree(c, ent, state, id, e);
	if (!err && strcmp(ent->table, "org_units") == 0)
		err = sq_check_kind_change(c, old, patch, id, e);
	if (!err && ent->check)
		err = ent->check(ent, state, old, e);
	json_decref(state);
	json_decref(old);
	if (err)
		return err;
	ks_buf sql;
	buf_init(&sql, 16384);
	err = buf_printf(&sql, "UPDATE %s SET ", ent->table);
	int n = 0;
	for (size_t i = 0; i < ent->n_fields && !err; i++) {
		if (json_object_get(patch, ent->fields[i].name) == NULL)
			continue;
		err = buf_printf(&sql, "%s%s = ?%d", n ? ", " : "", ent->fields[i].name, n + 1);
		n++;
	}
	if (n == 0) {
		buf_free(&sql);
		return KS_OK; /* nothing to change */
	}
	if (!err)
		err = buf_printf(&sql, " WHERE id = ?%d", n + 1);
	db_stmt *st;
	int k = 0;
	err = sq_prepare_fields(c, &sql, err, ent, patch, &st, &k, e);
	if (err)
		return err;
	db_bind_int64(st, k + 1, id);
	int rc = db_step(st);
	db_finalize(st);
	return rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

ks_err store_entity_update(ks_store *s, const model_entity *ent, int64_t id, const json_t *patch,
			   json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_entity_update_on(s, c, ent, id, patch, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (!err)
		err = sq_entity_get_on(c, ent, id, out, e);
	sq_release(s, c);
	return err;
}

/* ---- surveys ------------------------------------------------------------------ */

ks_err store_survey_get(ks_store *s, int64_t id, model_survey *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = sq_stmt(c, SQ_SURVEY_GET, e);
	ks_err err = st ? KS_OK : KS_ERR_DB;
	if (st) {
		db_bind_int64(st, 1, id);
		int rc = db_step(st);
		if (rc == DB_ROW) {
			memset(out, 0, sizeof *out);
			out->id = db_column_int64(st, 0);
			snprintf(out->name, sizeof out->name, "%s", (const char *)db_column_text(st, 1));
			json_t *q = json_loads((const char *)db_column_text(st, 2), 0, NULL);
			err = q ? model_survey_questions_parse(q, out, e)
				: ks_fail(e, KS_ERR_DB, NULL, "survey %lld has unreadable questions", (long long)id);
			json_decref(q);
		} else if (rc == DB_DONE) {
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "survey %lld not found", (long long)id);
		} else {
			err = sq_fail(c, rc, e);
		}
		db_reset(st);
	}
	sq_release(s, c);
	return err;
}
