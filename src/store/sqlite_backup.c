/* sqlite_backup.c — `klantstem backup` and `klantstem restore` on the SQLite
 * backend (store_backup.h).
 *
 * Why one read transaction across all steps: sqlite3_backup_step restarts
 * the copy from page 1 whenever another connection changed the source
 * between two steps. Under a server that writes every few milliseconds a
 * chunked copy of a large file would restart forever. In WAL mode a reader
 * never blocks the writer, so the backup holds one snapshot from the first
 * step to the last and still steps in chunks with a pause between them,
 * leaving the disk to the server; the cost is a WAL that grows until the
 * backup ends (its checkpoints cannot pass the snapshot).
 */
#include "store/store_backup.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

extern const int store_n_migrations;

const char *const store_backup_tables[STORE_BACKUP_N_TABLES] = {
	"customers", "surveys", "responses", "invitations", "cases", "users", "mentions",
};

/* SQLite's unix VFS: every connection to a WAL database holds a shared lock
 * on this byte of the -shm file while it is open (the "dead man switch";
 * UNIX_SHM_DMS in os_unix.c, (22 + 8) * 4 + 8). */
#define BK_SHM_DMS 128

static double bk_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

long store_holder_pid(const char *db)
{
	char shm[4096], wal[4096];
	if (snprintf(shm, sizeof shm, "%s-shm", db) >= (int)sizeof shm ||
	    snprintf(wal, sizeof wal, "%s-wal", db) >= (int)sizeof wal) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Read-only is enough for F_GETLK, and a -shm owned by another user
	 * (mode 0644) still opens; O_NONBLOCK so that a FIFO cannot hang us. */
	int fd = open(shm, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -1; /* cannot tell: never guess "nobody" */
		/* No -shm but a log with frames: a server may hold an unlinked
		 * -shm, or a crash left the log; either way it is not ours to drop. */
		struct stat ws;
		if (stat(wal, &ws) == 0 && ws.st_size > 0) {
			errno = EBUSY;
			return -1;
		}
		return 0;
	}
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = BK_SHM_DMS, .l_len = 1};
	long pid = 0;
	if (fcntl(fd, F_GETLK, &fl) != 0) {
		int en = errno;
		close(fd);
		errno = en;
		return -1;
	}
	if (fl.l_type != F_UNLCK)
		pid = fl.l_pid > 0 ? (long)fl.l_pid : 1;
	close(fd);
	return pid;
}

/* KS_OK when nobody holds db open; else the refusal naming why. */
static ks_err bk_not_held(const char *db, const char *field, ks_error *e)
{
	long pid = store_holder_pid(db);
	if (pid > 0)
		return ks_fail(e, KS_ERR_CONFLICT, field,
			       "%s: process %ld holds the database open (a running server?); stop it first", db, pid);
	if (pid < 0)
		return ks_fail(e, KS_ERR_CONFLICT, field,
			       "%s: cannot tell whether a server holds it (%s-shm: %s); stop the server and check "
			       "its -wal and -shm",
			       db, db, errno == EBUSY ? "missing beside a non-empty -wal" : strerror(errno));
	return KS_OK;
}

/* The directory of path, for temporary files and its fsync; caller frees. */
static char *bk_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return NULL;
	char *d = strdup(dirname(copy));
	free(copy);
	return d;
}

static ks_err bk_fsync_path(const char *path, bool dir, const char *field, ks_error *e)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return ks_fail(e, KS_ERR_IO, field, "%s: fsync: %s", path, strerror(err));
	}
	close(fd);
	return KS_OK;
}

/* A new empty file "DIR/.NAME.tmp-XXXXXX" beside final; its path in *tmp
 * (caller frees and unlinks). Same directory, so the rename is atomic. */
static ks_err bk_temp_beside(const char *final, const char *field, char **tmp, ks_error *e)
{
	char *dir = bk_dir_of(final);
	char *copy = strdup(final);
	if (dir == NULL || copy == NULL) {
		free(dir);
		free(copy);
		return ks_fail(e, KS_ERR_NOMEM, field, "out of memory");
	}
	size_t n = strlen(dir) + strlen(copy) + 32;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/.%s.tmp-XXXXXX", dir, basename(copy));
	free(dir);
	free(copy);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, field, "out of memory");
	int fd = mkstemp(p);
	if (fd < 0) {
		int err = errno;
		free(p);
		return ks_fail(e, KS_ERR_IO, field, "%s: %s", final,
			       err == ENOENT ? "no such directory" : strerror(err));
	}
	close(fd);
	*tmp = p;
	return KS_OK;
}

static void bk_unlink_side(const char *path, const char *suffix)
{
	char side[4096];
	if (snprintf(side, sizeof side, "%s%s", path, suffix) < (int)sizeof side)
		unlink(side);
}

/* A backup killed mid-way (SIGTERM, SIGKILL, a crash) leaves its
 * ".NAME.tmp-XXXXXX" beside the target. Those of this target untouched for
 * BK_STALE_S are removed: a running copy writes its file at every step
 * (--pause-ms is at most 10 s), so one that old is nobody's. */
#define BK_STALE_S 120
static void bk_drop_stale(const char *final)
{
	char *dir = bk_dir_of(final);
	char *copy = strdup(final);
	char prefix[512];
	DIR *d = NULL;
	if (dir == NULL || copy == NULL ||
	    snprintf(prefix, sizeof prefix, ".%s.tmp-", basename(copy)) >= (int)sizeof prefix ||
	    (d = opendir(dir)) == NULL)
		goto out;
	time_t now = time(NULL);
	size_t pl = strlen(prefix);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, pl) != 0 || strlen(de->d_name) != pl + 6)
			continue;
		char path[4096];
		struct stat st;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path &&
		    lstat(path, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > BK_STALE_S) {
			unlink(path);
			bk_unlink_side(path, "-journal");
			bk_unlink_side(path, "-wal");
			bk_unlink_side(path, "-shm");
			fprintf(stderr, "klantstem: removed %s, left by an earlier backup that did not finish\n",
				path);
		}
	}
out:
	if (d)
		closedir(d);
	free(dir);
	free(copy);
}

static void bk_discard(char *tmp)
{
	if (tmp == NULL)
		return;
	unlink(tmp);
	bk_unlink_side(tmp, "-wal");
	bk_unlink_side(tmp, "-shm");
	bk_unlink_side(tmp, "-journal");
	free(tmp);
}

static ks_err bk_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	ks_err err = KS_ERR_DB;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		err = KS_OK;
	}
	sqlite3_finalize(st);
	return err;
}

/* A klantstem database: a schema version and a responses table. -1 when
 * the file is not one (or not a database at all). */
static int bk_schema_version(sqlite3 *db)
{
	int64_t v = 0, has = 0;
	if (bk_int(db, "PRAGMA user_version", &v) ||
	    bk_int(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='responses'", &has))
		return -1;
	return v >= 1 && has == 1 ? (int)v : -1;
}

/* integrity_check, version and counts of the database file at path, opened
 * by its own connection. */
static ks_err bk_check(const char *path, const char *field, const char *name, store_backup_info *info,
		       ks_error *e)
{
	sqlite3 *db = NULL;
	ks_err err = KS_OK;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err = ks_fail(e, KS_ERR_INVALID, field, "%s: cannot open: %s", name, sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_busy_timeout(db, 10000);
	sqlite3_stmt *st = NULL;
	char first[200] = "";
	int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		snprintf(first, sizeof first, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (strcmp(first, "ok") != 0) {
		err = ks_fail(e, KS_ERR_INVALID, field, "%s: integrity check failed: %s", name,
			      first[0] ? first : sqlite3_errmsg(db));
		goto out;
	}
	info->schema_version = bk_schema_version(db);
	if (info->schema_version < 0) {
		err = ks_fail(e, KS_ERR_INVALID, field, "%s: not a klantstem database", name);
		goto out;
	}
	for (int i = 0; i < STORE_BACKUP_N_TABLES; i++) {
		char sql[96];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", store_backup_tables[i]);
		if (bk_int(db, sql, &info->rows[i]))
			info->rows[i] = -1; /* an old schema without the table */
	}
	int64_t pages = 0, psz = 0;
	bk_int(db, "PRAGMA page_count", &pages);
	bk_int(db, "PRAGMA page_size", &psz);
	info->pages = pages;
	info->page_size = (int)psz;
out:
	if (sqlite3_close(db) != SQLITE_OK && !err)
		err = ks_fail(e, KS_ERR_DB, field, "%s: close failed", name);
	return err;
}

/* Rename tmp to final (never over an existing file unless replace) and
 * fsync the directory. */
static ks_err bk_install(const char *tmp, const char *final, bool replace, const char *field, ks_error *e)
{
	ks_err err = bk_fsync_path(tmp, false, field, e);
	if (err)
		return err;
	if (replace) {
		if (rename(tmp, final) != 0)
			return ks_fail(e, KS_ERR_IO, field, "%s: renaming the checked copy %s onto it: %s", final,
				       tmp, strerror(errno));
	} else {
		/* link fails with EEXIST when the name appeared meanwhile */
		if (link(tmp, final) != 0) {
			int en = errno;
			return ks_fail(e, en == EEXIST ? KS_ERR_CONFLICT : KS_ERR_IO, field, "%s: %s", final,
				       en == EEXIST ? "exists (use --force to replace it)" : strerror(en));
		}
		unlink(tmp);
	}
	char *dir = bk_dir_of(final);
	if (dir == NULL)
		return ks_fail(e, KS_ERR_NOMEM, field, "out of memory");
	err = bk_fsync_path(dir, true, field, e);
	free(dir);
	return err;
}

/* The copy itself: one snapshot of src, step_pages at a time. */
static ks_err bk_copy(sqlite3 *from, sqlite3 *to, const store_backup_options *opt, store_backup_info *info,
		      const char *src, ks_error *e)
{
	int step = opt && opt->step_pages > 0 ? opt->step_pages : 1024;
	int pause = opt ? opt->pause_ms : 2;
	sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
	if (b == NULL)
		return ks_fail(e, KS_ERR_DB, "dst", "backup: %s", sqlite3_errmsg(to));
	int rc;
	int busy = 0;
	for (;;) {
		rc = sqlite3_backup_step(b, step);
		info->steps++;
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
			if (++busy > 5000) /* 10 s at 2 ms */
				break;
			sqlite3_sleep(2);
			continue;
		}
		if (rc != SQLITE_OK)
			break;
		if (pause > 0)
			sqlite3_sleep(pause);
	}
	info->pages = sqlite3_backup_pagecount(b);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		return ks_fail(e, KS_ERR_DB, "src", "%s: backup failed: %s", src, sqlite3_errstr(rc));
	return KS_OK;
}

ks_err store_backup(const char *src, const char *dst, const store_backup_options *opt,
		    store_backup_info *info, ks_error *e)
{
	memset(info, 0, sizeof *info);
	double t0 = bk_now();
	bool force = opt && opt->force;
	struct stat sb, ss;
	if (stat(dst, &sb) == 0 && stat(src, &ss) == 0 && sb.st_dev == ss.st_dev && sb.st_ino == ss.st_ino)
		return ks_fail(e, KS_ERR_CONFLICT, "dst", "%s: is the database itself", dst);
	if (!force && stat(dst, &sb) == 0)
		return ks_fail(e, KS_ERR_CONFLICT, "dst", "%s: exists (use --force to replace it)", dst);
	if (stat(dst, &sb) == 0) {
		ks_err held = bk_not_held(dst, "dst", e);
		if (held)
			return held;
	}
	sqlite3 *from = NULL, *to = NULL;
	char *tmp = NULL;
	ks_err err = KS_OK;
	if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err = ks_fail(e, KS_ERR_IO, "src", "%s: cannot open: %s", src, sqlite3_errmsg(from));
		goto out;
	}
	sqlite3_busy_timeout(from, 10000);
	/* The snapshot: every step reads this one read transaction. */
	if (sqlite3_exec(from, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		err = ks_fail(e, KS_ERR_DB, "src", "%s: %s", src, sqlite3_errmsg(from));
		goto out;
	}
	int version = bk_schema_version(from);
	if (version < 0) {
		err = ks_fail(e, KS_ERR_INVALID, "src", "%s: not a klantstem database", src);
		goto out;
	}
	bk_drop_stale(dst);
	err = bk_temp_beside(dst, "dst", &tmp, e);
	if (err)
		goto out;
	if (sqlite3_open_v2(tmp, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		err = ks_fail(e, KS_ERR_IO, "dst", "%s: cannot open: %s", tmp, sqlite3_errmsg(to));
		goto out;
	}
	err = bk_copy(from, to, opt, info, src, e);
	sqlite3_exec(from, "COMMIT", NULL, NULL, NULL);
	double copied = bk_now() - t0;
	/* The copy carries the source's WAL flag; a backup is one file that
	 * opens read-only without -wal and -shm beside it. The server turns
	 * WAL on again when it opens a restored copy. */
	if (!err && sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
		err = ks_fail(e, KS_ERR_DB, "dst", "%s: %s", tmp, sqlite3_errmsg(to));
	if (sqlite3_close(to) != SQLITE_OK && !err)
		err = ks_fail(e, KS_ERR_DB, "dst", "%s: close failed", tmp);
	to = NULL;
	if (err)
		goto out;
	int steps = info->steps;
	err = bk_check(tmp, "dst", dst, info, e);
	info->steps = steps;
	info->copy_seconds = copied;
	if (!err && info->schema_version != version)
		err = ks_fail(e, KS_ERR_INTERNAL, "dst", "%s: schema version %d, the source's is %d", dst,
			      info->schema_version, version);
	if (!err && stat(dst, &sb) == 0)
		err = bk_not_held(dst, "dst", e);
	if (!err) {
		/* A -wal left beside the name (an old database's) would be
		 * replayed onto the backup when it is opened. */
		bk_unlink_side(dst, "-wal");
		bk_unlink_side(dst, "-shm");
		bk_unlink_side(dst, "-journal");
		err = bk_install(tmp, dst, force, "dst", e);
	}
	if (!err) {
		free(tmp);
		tmp = NULL;
	}
out:
	sqlite3_close(to);
	sqlite3_close(from);
	bk_discard(tmp);
	info->seconds = bk_now() - t0;
	return err;
}

/* Byte copy of from into the (empty) file to, fsynced by bk_install. */
static ks_err bk_copy_file(const char *from, const char *to, ks_error *e)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return ks_fail(e, KS_ERR_IO, "backup", "%s: %s", from, strerror(errno));
	int out = open(to, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ks_err err = KS_OK;
	if (out < 0) {
		err = ks_fail(e, KS_ERR_IO, "db", "%s: %s", to, strerror(errno));
		goto done;
	}
	char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0) {
			err = ks_fail(e, KS_ERR_IO, "backup", "%s: %s", from, strerror(errno));
			break;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				err = ks_fail(e, KS_ERR_IO, "db", "%s: %s", to, strerror(errno));
				goto done;
			}
			off += w;
		}
	}
done:
	if (out >= 0)
		close(out);
	close(in);
	return err;
}

/* Fold the old database's WAL into it, so that its -wal may go. A failed
 * checkpoint with frames in the log refuses: someone may still need them. */
static ks_err bk_retire_old(const char *db, ks_error *e)
{
	sqlite3 *c = NULL;
	int rc = sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL);
	int log = -1, ck = -1;
	if (rc == SQLITE_OK)
		rc = sqlite3_wal_checkpoint_v2(c, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ck);
	char msg[200];
	snprintf(msg, sizeof msg, "%s", rc == SQLITE_OK ? "" : c ? sqlite3_errmsg(c) : sqlite3_errstr(rc));
	sqlite3_close(c);
	if (rc == SQLITE_OK && (log < 0 || ck >= log))
		return KS_OK;
	/* An old file that is no database (the reason for a restore) has no
	 * log to lose: only frames in a -wal make the failure matter. */
	char wal[4096];
	struct stat ws;
	if (snprintf(wal, sizeof wal, "%s-wal", db) < (int)sizeof wal && stat(wal, &ws) != 0)
		return KS_OK;
	if (ws.st_size == 0)
		return KS_OK;
	return ks_fail(e, KS_ERR_CONFLICT, "db",
		       "%s: cannot checkpoint its -wal (%s); nothing replaced: stop whatever uses it", db,
		       msg[0] ? msg : "incomplete");
}

/* The restored file keeps the replaced one's owner and mode: the server's
 * user must still open it after a root-run restore. */
static ks_err bk_keep_owner(const char *tmp, const struct stat *old, const char *db, ks_error *e)
{
	struct stat ts;
	if (stat(tmp, &ts) != 0)
		return ks_fail(e, KS_ERR_IO, "db", "%s: %s", tmp, strerror(errno));
	if ((ts.st_uid != old->st_uid || ts.st_gid != old->st_gid) && chown(tmp, old->st_uid, old->st_gid) != 0)
		return ks_fail(e, KS_ERR_IO, "db", "%s: cannot give the restored file the owner %ld:%ld: %s", db,
			       (long)old->st_uid, (long)old->st_gid, strerror(errno));
	if (chmod(tmp, old->st_mode & 07777) != 0)
		return ks_fail(e, KS_ERR_IO, "db", "%s: cannot give the restored file mode %04o: %s", db,
			       (unsigned)(old->st_mode & 07777), strerror(errno));
	return KS_OK;
}

ks_err store_restore(const char *backup, const char *db, store_backup_info *info, ks_error *e)
{
	memset(info, 0, sizeof *info);
	double t0 = bk_now();
	struct stat sb;
	if (stat(backup, &sb) != 0 || !S_ISREG(sb.st_mode))
		return ks_fail(e, KS_ERR_IO, "backup", "%s: %s", backup,
			       stat(backup, &sb) != 0 ? strerror(errno) : "not a regular file");
	struct stat ds, ws;
	if (stat(db, &ds) == 0 && ds.st_dev == sb.st_dev && ds.st_ino == sb.st_ino)
		return ks_fail(e, KS_ERR_CONFLICT, "db", "%s: is the backup itself", db);
	/* The byte copy below takes the main file only: a backup is one file
	 * (klantstem backup writes it so); a -wal beside it holds commits the
	 * copy would lose. */
	char side[4096];
	if (snprintf(side, sizeof side, "%s-wal", backup) < (int)sizeof side && stat(side, &ws) == 0 &&
	    ws.st_size > 0)
		return ks_fail(e, KS_ERR_INVALID, "backup",
			       "%s: has a -wal beside it (a database in use?); take a copy with klantstem backup",
			       backup);
	ks_err err = bk_not_held(db, "db", e);
	if (err)
		return err;
	char *tmp = NULL;
	err = bk_temp_beside(db, "db", &tmp, e);
	if (!err)
		err = bk_copy_file(backup, tmp, e);
	if (!err)
		err = bk_check(tmp, "backup", backup, info, e);
	if (!err && info->schema_version > store_n_migrations)
		err = ks_fail(e, KS_ERR_INVALID, "backup",
			      "%s: schema version %d is newer than this klantstem's %d; restore with a newer "
			      "klantstem", backup, info->schema_version, store_n_migrations);
	if (!err) /* started while we copied */
		err = bk_not_held(db, "db", e);
	bool exists = stat(db, &ds) == 0;
	if (!err && exists)
		err = bk_keep_owner(tmp, &ds, db, e);
	if (!err && exists)
		err = bk_retire_old(db, e);
	if (!err) {
		/* Always, also when the main file is gone: a -wal left beside the
		 * name would be replayed onto the restored file. */
		bk_unlink_side(db, "-wal");
		bk_unlink_side(db, "-shm");
		bk_unlink_side(db, "-journal");
		err = bk_install(tmp, db, true, "db", e);
	}
	if (!err) {
		free(tmp);
		tmp = NULL;
	}
	bk_discard(tmp);
	info->seconds = bk_now() - t0;
	return err;
}
