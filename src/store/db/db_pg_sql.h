/* db_pg_sql.h — the store's SQL (SQLite's dialect) to PostgreSQL's, at
 * prepare time (issue 18). The rules and why each exists are in the
 * header comment of db_pg_sql.c. */
#ifndef KS_DB_PG_SQL_H
#define KS_DB_PG_SQL_H

#include <stdbool.h>

/* Translate one or more ';'-separated statements. Returns a malloc'd
 * string the caller frees (possibly "" when every statement was a no-op
 * such as PRAGMA), and sets *n_params (when not NULL) to the highest
 * parameter number used (0 when none). Returns NULL when the SQL uses a
 * construct PostgreSQL cannot run with the same meaning (INSERT OR
 * REPLACE) or on out of memory; *why (when not NULL) then points to a
 * static reason. */
char *db_pg_sql_translate(const char *sqlite_sql, int *n_params, const char **why);

/* Shape translated SQL (with $N parameters) for one execution with the
 * given NULL bindings (is_null[i] for $i+1, n of them):
 *   - "$N IS NULL" / "$N IS NOT NULL" between boolean connectives becomes
 *     TRUE or FALSE (the parameter's nullness is known now);
 *   - any other $N bound to NULL becomes the literal NULL.
 * Why: PostgreSQL infers a parameter's type from its first use, and in
 * the store's "(?1 IS NULL OR col = ?1)" that first use says nothing --
 * the server refuses it ("could not determine data type of parameter").
 * Once the test is folded away, the remaining uses type the parameter,
 * and an untyped NULL literal fits wherever the value would. used[i]
 * (n of them, written) tells whether $i+1 still occurs; a parameter that
 * no longer does must still be sent, with a type. Returns a malloc'd
 * string, NULL on out of memory. */
char *db_pg_sql_shape(const char *pg_sql, int n, const bool *is_null, bool *used);

#endif
