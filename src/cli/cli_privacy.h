/* cli_privacy.h — `klantstem privacy ...`: a person's data and the
 * retention policy from the command line (issue 11), for the operator who
 * handles a request by mail or post (no HTTP, no login: whoever may open
 * the database may do this).
 *
 *   privacy export    --db FILE --customer ID | --employee ID   JSON on stdout
 *   privacy erase     --db FILE --customer ID | --employee ID   one transaction
 *   privacy retention --db FILE [--set KIND=MONTHS]... [--run]
 *
 * Every export and erasure is an audit entry without an actor ("via":
 * "cli"). An erasure while a server runs on the same file is complete in
 * the file; the server's in-memory index forgets the person's id at its
 * next start (the figures are the same either way). Exit codes as in
 * main.c: 0 success, 1 refused or failed (the message says why), 2 usage
 * error naming the option.
 */
#ifndef KS_CLI_PRIVACY_H
#define KS_CLI_PRIVACY_H

/* argv[0] is "privacy"; returns the exit code. */
int cli_privacy_run(int argc, char **argv);

#endif
