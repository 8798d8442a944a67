/* cli_import_mentions.c — `klantstem import mentions --db DB [--format F]
 * FILE`: one file of reviews or posts, parsed by src/mentions (every format
 * of mentions_parse; without --format it is guessed from the content) and
 * written by store_mentions_upsert in one transaction: a bad record and
 * nothing is written. Errors read "FILE:LINE: column 'x': message" (a CSV
 * or JSON Lines line, or an XML review's line) or "FILE: record [i]: field
 * 'x': message" (a JSON array's index), as `import responses` prints them.
 */
#include "cli/cli_import_mentions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "core/csv.h"
#include "mentions/mentions.h"
#include "store/store.h"

#define IMM_MAX_BYTES ((size_t)1 << 30) /* 1 GiB: far past any review export */

static const char *const imm_usage =
	"usage: klantstem import mentions --db DB [--format FORMAT] FILE\n"
	"  Load reviews and social posts (docs/MENTIONS.md). FORMAT: generic-csv,\n"
	"  generic-json (an array or JSON Lines), trustpilot, google, kiyoh,\n"
	"  appstore, social; without --format it is guessed from the content.\n"
	"  The generic layout's columns: source, source_id, created_at (required),\n"
	"  text or rating (one required), updated_at, author, rating, scale_min,\n"
	"  scale_max, language, title, url, location, customer_external_id.\n"
	"  A review seen before is updated only when its updated_at is newer.\n"
	"  The whole file is one transaction: any bad record and nothing is\n"
	"  written (exit 1), reported as FILE:LINE: column 'x': message.\n";

typedef struct imm_opts {
	const char *db, *format, *file;
} imm_opts;

static int imm_parse(int argc, char **argv, imm_opts *o)
{
	memset(o, 0, sizeof *o);
	const cli_opt opts[] = {{"--db", &o->db, NULL}, {"--format", &o->format, NULL}, {NULL, NULL, NULL}};
	int rc = cli_parse_opts("import mentions", imm_usage, argc - 2, argv + 2, opts, &o->file);
	if (rc)
		return rc;
	if (!o->db || !o->file)
		return cli_usage_error("import mentions", imm_usage, "%s", "--db DB and a FILE are required");
	if (o->format && !mentions_format_known(o->format))
		return cli_usage_error("import mentions", imm_usage, "unknown format '%s'", o->format);
	return 0;
}

/* The parser's error with the file's name in front: its field is "line N:
 * NAME" or "[i].NAME" (or only a name), its message starts with the field. */
static int imm_report(const char *path, const ks_error *e)
{
	const char *msg = e->message;
	size_t fl = strlen(e->field);
	if (fl && strncmp(msg, e->field, fl) == 0 && strncmp(msg + fl, ": ", 2) == 0)
		msg += fl + 2;
	int line = 0, col = 0, used = 0;
	if (sscanf(msg, "line %d, column %d: %n", &line, &col, &used) == 2 && used > 0) {
		fprintf(stderr, "%s:%d: column %d: %s\n", path, line, col, msg + used);
	} else if (sscanf(e->field, "line %d: %n", &line, &used) == 1 && used > 0) {
		fprintf(stderr, "%s:%d: column '%s': %s\n", path, line, e->field + used, msg);
	} else if (e->field[0] == '[') {
		const char *dot = strchr(e->field, '.');
		fprintf(stderr, "%s: record %.*s: field '%s': %s\n", path, dot ? (int)(dot - e->field) : (int)fl,
			e->field, dot ? dot + 1 : "", msg);
	} else if (e->field[0] && strncmp(msg, "line ", 5) != 0) {
		fprintf(stderr, "%s: %s (%s)\n", path, msg, e->field);
	} else if (sscanf(msg, "line %d: %n", &line, &used) == 1 && used > 0) {
		fprintf(stderr, "%s:%d: %s\n", path, line, msg + used);
	} else {
		fprintf(stderr, "%s: %s\n", path, msg);
	}
	fprintf(stderr, "klantstem: %s: nothing imported\n", path);
	return 1;
}

static int imm_store(const imm_opts *o, const char *format, const mentions_batch *b)
{
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	store_options so = {0};
	mentions_counts n = {0, 0, 0};
	if (store_open(o->db, &so, &s, &e))
		return cli_report(&e, NULL);
	ks_err err = store_mentions_upsert(s, b, &n, &e);
	store_close(s);
	if (err) {
		fprintf(stderr, "klantstem: %s: nothing imported\n", o->file);
		return cli_report(&e, NULL);
	}
	printf("%s: %zu record%s (%s), %zu duplicate%s in the file: %lld inserted, %lld updated, "
	       "%lld unchanged\n",
	       o->file, b->n + b->duplicates, b->n + b->duplicates == 1 ? "" : "s", format, b->duplicates,
	       b->duplicates == 1 ? "" : "s", (long long)n.inserted, (long long)n.updated, (long long)n.unchanged);
	return 0;
}

int cli_import_mentions_run(int argc, char **argv)
{
	imm_opts o;
	int rc = imm_parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (cli_db_exists(o.db))
		return 1;
	size_t len = 0;
	char *buf = csv_slurp(o.file, IMM_MAX_BYTES, &len);
	if (buf == NULL)
		return cli_fail("%s: %s", o.file, errno == EFBIG ? "larger than 1 GiB" : strerror(errno));
	const char *format = o.format ? o.format : mentions_format_guess(buf, len);
	mentions_batch b;
	ks_error e;
	ks_error_clear(&e);
	if (mentions_parse(format, buf, len, &b, &e))
		rc = imm_report(o.file, &e);
	else if (b.n == 0)
		rc = cli_fail("%s: no mentions in the file (format %s)", o.file, format);
	else
		rc = imm_store(&o, format, &b);
	mentions_batch_free(&b);
	free(buf);
	return rc;
}
