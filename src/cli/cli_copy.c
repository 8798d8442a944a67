/* cli_copy.c — `klantstem copy --from SRC --to DST [--verify-only]`: the
 * command line around store_copy (src/store/store_copy.h). SRC and DST are
 * each a SQLite file or a postgres:// URI. The table it prints (table,
 * rows, checksum, ok) is the proof an operator keeps of the move.
 */
#include "cli/cli_copy.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "store/store.h"
#include "store/store_copy.h"

static const char *const cp_usage =
	"usage: klantstem copy --from SRC --to DST [--verify-only] [--batch ROWS]\n"
	"  Copy a klantstem database from one backend to the other: SRC and DST are\n"
	"  each a SQLite file or a postgres://USER@HOST:PORT/DB URI. Both are opened\n"
	"  (and migrated) first; DST must be new (a new file, or an empty PostgreSQL\n"
	"  database). Every table is copied in one transaction on DST, then every\n"
	"  table is verified: row count and checksum on both sides. Stop the server\n"
	"  on SRC first, or its later writes are not in the copy.\n"
	"  --verify-only   only compare SRC and DST table by table, write nothing\n"
	"  --batch ROWS    rows per INSERT (default 500)\n"
	"  Exit status 1 on a refusal, a failure or any table that differs.\n";

/* The same database named twice: the same URI, or two names of one file. */
static bool cp_same(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return true;
	if (store_is_pg_uri(a) || store_is_pg_uri(b))
		return false;
	char ra[PATH_MAX], rb[PATH_MAX];
	return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

static int cp_open(const char *what, const char *db, ks_store **s)
{
	ks_error e;
	ks_error_clear(&e);
	if (store_open(db, NULL, s, &e)) {
		*s = NULL;
		return cli_fail("cannot open the %s %s: %s", what, db, e.message);
	}
	return 0;
}

static void cp_print(const store_copy_report *r, bool verify_only)
{
	printf("%-28s %12s %12s  %-16s %s\n", "table", "rows", "rows (dst)", "checksum", "ok");
	for (int i = 0; i < r->n; i++) {
		const store_copy_table *t = &r->tables[i];
		printf("%-28s %12lld %12lld  %016llx %s\n", t->name, (long long)t->src_rows,
		       (long long)t->dst_rows, (unsigned long long)t->src_sum, t->ok ? "ok" : "MISMATCH");
		if (!t->ok)
			printf("%-28s %12s %12s  %016llx (destination)\n", "", "", "",
			       (unsigned long long)t->dst_sum);
	}
	if (!verify_only) {
		double rps = r->copy_seconds > 0 ? (double)r->rows / r->copy_seconds : 0;
		printf("copied %lld rows of %d tables in %.2f s (%.0f rows/s), verified in %.2f s\n",
		       (long long)r->rows, r->n, r->copy_seconds, rps, r->verify_seconds);
	} else {
		printf("compared %d tables in %.2f s\n", r->n, r->verify_seconds);
	}
}

int cli_copy_run(int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *batch = NULL, *file = NULL;
	bool verify_only = false;
	const cli_opt opts[] = {{"--from", &from, NULL},
				{"--to", &to, NULL},
				{"--verify-only", NULL, &verify_only},
				{"--batch", &batch, NULL},
				{NULL, NULL, NULL}};
	int rc = cli_parse_opts("copy", cp_usage, argc - 1, argv + 1, opts, &file);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (file)
		return cli_usage_error("copy", cp_usage, "unexpected argument '%s'", file);
	if (!from || !to)
		return cli_usage_error("copy", cp_usage, "%s", "--from SRC and --to DST are required");
	store_copy_options o = {.verify_only = verify_only};
	if (batch) {
		char *end = NULL;
		long n = strtol(batch, &end, 10);
		if (end == batch || *end || n < 1 || n > 10000)
			return cli_usage_error("copy", cp_usage, "%s", "--batch must be a number 1..10000");
		o.batch_rows = (int)n;
	}
	if (cp_same(from, to))
		return cli_fail("--from and --to name the same database (%s)", from);
	/* store_open would create a missing file: a typo must not copy an
	 * empty database. */
	if (!store_is_pg_uri(from) && cli_db_exists(from))
		return 1;
	if (verify_only && !store_is_pg_uri(to) && cli_db_exists(to))
		return 1;
	ks_store *src = NULL, *dst = NULL;
	if (cp_open("source", from, &src))
		return 1;
	if (cp_open("destination", to, &dst)) {
		store_close(src);
		return 1;
	}
	store_copy_report r;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = store_copy(src, dst, &o, &r, &e);
	store_close(dst);
	store_close(src);
	if (err)
		return cli_fail("copy refused or failed, nothing written: %s", e.message);
	cp_print(&r, verify_only);
	int bad = r.bad;
	for (int i = 0; i < r.n; i++)
		if (!r.tables[i].ok)
			fprintf(stderr, "klantstem: table %s differs: %lld rows, checksum %016llx in the source; "
					"%lld rows, checksum %016llx in the destination\n",
				r.tables[i].name, (long long)r.tables[i].src_rows,
				(unsigned long long)r.tables[i].src_sum, (long long)r.tables[i].dst_rows,
				(unsigned long long)r.tables[i].dst_sum);
	store_copy_report_free(&r);
	return bad ? 1 : 0;
}

int cli_copy_refuse_pg_backup(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "--db") != 0 || !store_is_pg_uri(argv[i + 1]))
			continue;
		if (strcmp(argv[0], "restore") == 0)
			return cli_fail("restore puts a SQLite backup file in place; %s is a PostgreSQL database: "
					"restore it with pg_restore from a pg_dump archive, or move a SQLite backup "
					"into it with 'klantstem copy --from BACKUP --to URI' (docs/OPERATIONS.md)",
					argv[i + 1]);
		return cli_fail("backup copies a SQLite file; %s is a PostgreSQL database: back it up with "
				"pg_dump (pg_dump -Fc -f klantstem.dump 'URI'; pg_restore puts it back), "
				"see docs/OPERATIONS.md",
				argv[i + 1]);
	}
	return 0;
}
