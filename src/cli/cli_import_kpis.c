/* cli_import_kpis.c — `klantstem import kpis --db DB FILE`: the file is read
 * whole (csv_slurp), checked and written by kpi_import_csv in one
 * transaction. An error reads "FILE:LINE: column: message" as every import's
 * does, and nothing is written; on success the counts are printed.
 */
#include "cli/cli_import_kpis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "core/csv.h"
#include "governance/kpi.h"
#include "store/store.h"

#define IMK_MAX_BYTES ((size_t)64 << 20) /* 64 MiB: 200,000 rows fit many times over */

static const char *const imk_usage =
	"usage: klantstem import kpis --db DB FILE\n"
	"  Load monthly values of hard KPIs (docs/GOVERNANCE.md \"KPIs\"). The CSV\n"
	"  (comma or semicolon, UTF-8, a BOM is fine) has a header naming the\n"
	"  columns kpi, unit, period, value: kpi a catalogue key (GET\n"
	"  /api/v1/kpis; soft KPIs such as nps are computed, never imported), unit\n"
	"  an org unit's id or exact name, period a month YYYY-MM, value a number\n"
	"  (a decimal comma in a semicolon file). A value given before for the\n"
	"  same KPI, unit and month is replaced. The whole file is one\n"
	"  transaction: any bad row and nothing is written (exit 1), reported as\n"
	"  FILE:LINE: column: message.\n";

int cli_import_kpis_run(int argc, char **argv)
{
	const char *db = NULL, *file = NULL;
	const cli_opt opts[] = {{"--db", &db, NULL}, {NULL, NULL, NULL}};
	int rc = cli_parse_opts("import kpis", imk_usage, argc - 2, argv + 2, opts, &file);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!db || !file)
		return cli_usage_error("import kpis", imk_usage, "%s", "--db DB and a FILE are required");
	if (cli_db_exists(db))
		return 1;
	size_t len = 0;
	char *buf = csv_slurp(file, IMK_MAX_BYTES, &len);
	if (buf == NULL)
		return cli_fail("%s: %s", file, errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	store_options so = {0};
	if (store_open(db, &so, &s, &e)) {
		free(buf);
		return cli_report(&e, NULL);
	}
	kpi_import_counts k;
	int line = 0;
	ks_err err = kpi_import_csv(s, buf, len, &k, &line, &e); /* takes buf */
	store_close(s);
	if (err) {
		if (line > 0 && e.field[0])
			fprintf(stderr, "%s:%d: %s: %s\n", file, line, e.field, e.message);
		else if (line > 0)
			fprintf(stderr, "%s:%d: %s\n", file, line, e.message);
		else
			fprintf(stderr, "%s: %s\n", file, e.message);
		fprintf(stderr, "klantstem: %s: nothing imported\n", file);
		return 1;
	}
	/* values: distinct (KPI, unit, month) stored; a file that gives one
	 * twice says so, rather than counting its lines as values */
	printf("%s: %zu value%s of %zu KPI%s for %zu unit%s over %zu month%s imported", file, k.rows,
	       k.rows == 1 ? "" : "s", k.kpis, k.kpis == 1 ? "" : "s", k.units, k.units == 1 ? "" : "s", k.periods,
	       k.periods == 1 ? "" : "s");
	if (k.lines != k.rows)
		printf(" (from %zu lines: a later line of the same KPI, unit and month replaced an earlier one)",
		       k.lines);
	printf("\n");
	return 0;
}
