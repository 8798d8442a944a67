/* cli_import_kpis.h — `klantstem import kpis --db DB FILE` (issue 17, part
 * K): monthly values of hard KPIs per org unit from a CSV file, all or
 * nothing (docs/GOVERNANCE.md "KPIs"). The parser is src/governance/kpi.h's,
 * the one POST /api/v1/kpis/import uses.
 */
#ifndef KS_CLI_IMPORT_KPIS_H
#define KS_CLI_IMPORT_KPIS_H

/* argv[0] is "import", argv[1] "kpis"; returns the exit code (0 done, 1 bad
 * file or database failure, 2 usage). */
int cli_import_kpis_run(int argc, char **argv);

#endif
