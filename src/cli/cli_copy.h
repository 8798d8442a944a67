/* cli_copy.h — `klantstem copy` (docs/OPERATIONS.md "Moving to
 * PostgreSQL"): a database from one backend to the other, verified. */
#ifndef KS_CLI_COPY_H
#define KS_CLI_COPY_H

/* argv[0] is "copy"; returns the exit status (0; 1 refusal, failure or a
 * verification mismatch; 2 usage). */
int cli_copy_run(int argc, char **argv);

/* `klantstem backup` / `restore` are SQLite's online backup: for a
 * postgres:// database (--db) print where to go instead (pg_dump,
 * pg_restore) and return 1; 0 when argv names no such database. argv[0]
 * is "backup" or "restore". */
int cli_copy_refuse_pg_backup(int argc, char **argv);

#endif
