/* db_pg_sql.h — the store's SQL (SQLite's dialect) to PostgreSQL's, at
 * prepare time (issue 18). The rules and why each exists are in the
 * header comment of db_pg_sql.c. */
#ifndef KS_DB_PG_SQL_H
#define KS_DB_PG_SQL_H

/* Translate one or more ';'-separated statements. Returns a malloc'd
 * string the caller frees (possibly "" when every statement was a no-op
 * such as PRAGMA), and sets *n_params (when not NULL) to the highest
 * parameter number used (0 when none). Returns NULL when the SQL uses a
 * construct PostgreSQL cannot run with the same meaning (INSERT OR
 * REPLACE) or on out of memory; *why (when not NULL) then points to a
 * static reason. */
char *db_pg_sql_translate(const char *sqlite_sql, int *n_params, const char **why);

#endif
