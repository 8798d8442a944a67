/* store_backup.h — a copy of a SQLite database file while the server runs
 * (`klantstem backup`) and putting such a copy back (`klantstem restore`).
 * File-level operations on the SQLite backend, apart from ks_store: the
 * copy is taken by another process than the server's. PostgreSQL has its
 * own tools (pg_dump, base backups; docs/OPERATIONS.md).
 */
#ifndef KS_STORE_BACKUP_H
#define KS_STORE_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* The tables whose row counts a backup and a restore print, in this order. */
#define STORE_BACKUP_N_TABLES 7
extern const char *const store_backup_tables[STORE_BACKUP_N_TABLES];

/* What was copied and checked. */
typedef struct store_backup_info {
	int schema_version;                     /* PRAGMA user_version of the copy */
	int64_t rows[STORE_BACKUP_N_TABLES];    /* count(*) per store_backup_tables[] */
	int64_t pages;                          /* database pages copied */
	int page_size;
	int steps;                              /* sqlite3_backup_step calls */
	double seconds;                         /* wall clock of the copy and its checks */
	double copy_seconds;                    /* of which the copy (the snapshot held) */
} store_backup_info;

/* How gently a backup reads: step_pages pages per sqlite3_backup_step and
 * pause_ms milliseconds between steps (step_pages 0 = 1024; a NULL
 * options = 1024 pages, 2 ms). */
typedef struct store_backup_options {
	int step_pages;
	int pause_ms;
	bool force; /* replace an existing file at the destination */
} store_backup_options;

/* Copy the klantstem database at src to the file dst while other processes
 * read and write src. The copy is one snapshot of src (a read transaction
 * held across all steps: in WAL mode it never blocks a writer), written to
 * a temporary file in dst's directory, fsynced, checked (integrity_check,
 * the schema version equals src's), then renamed to dst and the directory
 * fsynced: dst is either the whole checked copy or not there. An existing
 * dst is refused (KS_ERR_CONFLICT) unless opt->force. Errors name the file
 * in e->field ("src" or "dst"). *info is filled on success. */
ks_err store_backup(const char *src, const char *dst, const store_backup_options *opt,
		    store_backup_info *info, ks_error *e);

/* Put the backup file at backup in place as the database db. Refused
 * (KS_ERR_CONFLICT) while another process holds db open (a server, an
 * import); a backup that fails integrity_check, is not a klantstem
 * database or has a newer schema than this binary is refused
 * (KS_ERR_INVALID) and db is left untouched. An older schema is migrated
 * on the next open. Also refused (KS_ERR_CONFLICT) when it cannot tell
 * whether db is held (its -shm unreadable, or missing beside a non-empty
 * -wal) or the old db's WAL cannot be checkpointed. The checked copy gets
 * the old db's owner and mode; a -wal/-shm/-journal beside db is removed
 * (also when db itself is gone) before the copy is renamed over it.
 * e->field names the file at fault ("backup" or "db"). */
ks_err store_restore(const char *backup, const char *db, store_backup_info *info, ks_error *e);

/* When another process holds the SQLite database at db open, its pid (> 0);
 * 0 when none does (no -shm and no non-empty -wal, or an unlocked -shm);
 * -1 with errno set when it cannot tell (the -shm cannot be opened or
 * locked, or it is missing beside a non-empty -wal: errno EBUSY). */
long store_holder_pid(const char *db);

#endif
