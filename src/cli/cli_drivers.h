/* cli_drivers.h — `klantstem drivers`: key-driver analysis of any CSV table
 * for analysts (issue 15), the same engine as /api/v1/drivers (src/drivers).
 *
 *   drivers --csv FILE --outcome COL --drivers COL1,COL2,...
 *           [--missing VALUE]... [--method relweights|shapley]
 *           [--bootstrap N] [--seed N] [--group COL] [--format table|json|csv]
 *
 * Exit codes as in main.c: 0 success, 1 bad input file (the message names
 * file and line) or a model that cannot be fitted, 2 usage error.
 * docs/DRIVERS.md has the methods and examples.
 */
#ifndef KS_CLI_DRIVERS_H
#define KS_CLI_DRIVERS_H

/* argv[0] is "drivers"; returns the exit code. */
int cli_drivers_run(int argc, char **argv);

#endif
