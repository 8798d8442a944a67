/* cli_copy.h — `klantstem copy` (docs/OPERATIONS.md "Moving to
 * PostgreSQL"): a database from one backend to the other, verified. */
#ifndef KS_CLI_COPY_H
#define KS_CLI_COPY_H

/* argv[0] is "copy"; returns the exit status (0; 1 refusal, failure or a
 * verification mismatch; 2 usage). */
int cli_copy_run(int argc, char **argv);

#endif
