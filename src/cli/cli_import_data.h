/* cli_import_data.h — `klantstem import customers|products|holdings|events
 * --db DB FILE [--mapping MAP] [--skip-bad REJECTS] [--format csv|jsonl]
 * [--encoding utf-8|latin1|cp1252] [--time-zone ZONE] [--dry-run]`: the
 * organisation's own data (issue 16, "Internal data"; docs/IMPORT.md).
 *
 * The file (CSV or JSON Lines) is read here, renamed by the mapping, and
 * each record is checked by idata_check (model/idata.h — the same check as
 * POST /api/v1/import/KIND) and written by the store's idata session: the
 * whole file in one transaction. Every error is "FILE:LINE: column 'COL':
 * message", as `import responses` writes them. Without --skip-bad one bad
 * record and nothing is written (exit 1); with it the bad records go to the
 * REJECTS file (the original record and a reason) and the rest commits.
 * Exit codes: 0 success, 1 bad file or database failure, 2 usage error.
 */
#ifndef KS_CLI_IMPORT_DATA_H
#define KS_CLI_IMPORT_DATA_H

#include <stdbool.h>

/* Is kind one this command imports ("customers", ...)? */
bool cli_import_data_kind(const char *kind);

/* argv[0] is "import", argv[1] the kind; returns the exit code. */
int cli_import_data_run(int argc, char **argv);

#endif
