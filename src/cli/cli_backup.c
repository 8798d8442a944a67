/* cli_backup.c — `klantstem backup --db FILE --to FILE` and `klantstem
 * restore --from BACKUP --db FILE`: the command lines around store_backup
 * and store_restore (src/store/store_backup.h). Both print what the copy
 * holds (schema version and row counts) so that a scheduled backup's log
 * shows at a glance that it is not empty.
 */
#include "cli/cli_backup.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli/cli_util.h"
#include "store/store_backup.h"

static const char *const bk_usage =
	"usage: klantstem backup --db FILE --to FILE [--force] [--step-pages N] [--pause-ms MS]\n"
	"  Copy the database while the server runs and writes (SQLite online backup,\n"
	"  one consistent snapshot). The copy is written beside --to under a temporary\n"
	"  name, fsynced, checked (integrity_check, schema version) and only then\n"
	"  renamed to --to: that name holds a whole, checked backup or nothing.\n"
	"  --force          replace an existing file at --to\n"
	"  --step-pages N   pages copied per step (default 1024)\n"
	"  --pause-ms MS    pause between steps, leaving the disk to the server (default 2)\n";

static const char *const rs_usage =
	"usage: klantstem restore --from BACKUP --db FILE\n"
	"  Put a backup in place as the database FILE. Stop the server first: refused\n"
	"  while any process holds FILE open. The backup is checked (integrity_check,\n"
	"  a klantstem schema no newer than this binary's) before anything is\n"
	"  replaced; an older schema is migrated when the server next opens it.\n";

static int bk_int_opt(const char *cmd, const char *usage, const char *name, const char *v, int max, int *out)
{
	char *end = NULL;
	long n = v ? strtol(v, &end, 10) : 0;
	if (v == NULL)
		return 0;
	if (end == v || *end || n < 0 || n > max)
		return cli_usage_error(cmd, usage, "%s must be a number 0..%d", name, max);
	*out = (int)n;
	return 0;
}

static void bk_print(const char *verb, const char *file, const store_backup_info *in)
{
	printf("%s %s: schema version %d, %lld pages of %d bytes, integrity ok, %.2f s", verb, file,
	       in->schema_version, (long long)in->pages, in->page_size, in->seconds);
	if (in->copy_seconds > 0)
		printf(" (copy %.2f s, check %.2f s)", in->copy_seconds, in->seconds - in->copy_seconds);
	printf("\n");
	for (int i = 0; i < STORE_BACKUP_N_TABLES; i++)
		if (in->rows[i] >= 0)
			printf("  %-12s %lld\n", store_backup_tables[i], (long long)in->rows[i]);
}

int cli_backup_run(int argc, char **argv)
{
	const char *db = NULL, *to = NULL, *steps = NULL, *pause = NULL, *file = NULL;
	bool force = false;
	const cli_opt opts[] = {{"--db", &db, NULL},	       {"--to", &to, NULL},
				{"--force", NULL, &force},     {"--step-pages", &steps, NULL},
				{"--pause-ms", &pause, NULL}, {NULL, NULL, NULL}};
	int rc = cli_parse_opts("backup", bk_usage, argc - 1, argv + 1, opts, &file);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (file)
		return cli_usage_error("backup", bk_usage, "unexpected argument '%s'", file);
	if (!db || !to)
		return cli_usage_error("backup", bk_usage, "%s", "--db FILE and --to FILE are required");
	store_backup_options o = {.force = force};
	if ((rc = bk_int_opt("backup", bk_usage, "--step-pages", steps, 1 << 20, &o.step_pages)) ||
	    (rc = bk_int_opt("backup", bk_usage, "--pause-ms", pause, 10000, &o.pause_ms)))
		return rc;
	if (pause == NULL)
		o.pause_ms = 2;
	if (cli_db_exists(db))
		return 1;
	store_backup_info info;
	ks_error e;
	ks_error_clear(&e);
	if (store_backup(db, to, &o, &info, &e))
		return cli_fail("%s", e.message);
	bk_print("backup", to, &info);
	return 0;
}

int cli_restore_run(int argc, char **argv)
{
	const char *db = NULL, *from = NULL, *file = NULL;
	const cli_opt opts[] = {{"--db", &db, NULL}, {"--from", &from, NULL}, {NULL, NULL, NULL}};
	int rc = cli_parse_opts("restore", rs_usage, argc - 1, argv + 1, opts, &file);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (file)
		return cli_usage_error("restore", rs_usage, "unexpected argument '%s'", file);
	if (!db || !from)
		return cli_usage_error("restore", rs_usage, "%s", "--from BACKUP and --db FILE are required");
	store_backup_info info;
	ks_error e;
	ks_error_clear(&e);
	if (store_restore(from, db, &info, &e))
		return cli_fail("%s", e.message);
	bk_print("restored", db, &info);
	return 0;
}
