/* cli_util.h — small pieces every klantstem subcommand shares: parsing an
 * id argument, reporting a ks_error, and refusing a database path that is
 * not there (store_open would create it: a typo must not make an empty
 * database that then "has no such user").
 */
#ifndef KS_CLI_UTIL_H
#define KS_CLI_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* A positive decimal id ("12"); false for anything else (sign, spaces,
 * trailing text, overflow, 0). *out is set only on success. */
bool cli_parse_id(const char *s, int64_t *out);

/* Print "klantstem: MESSAGE (FIELD)" on stderr, without the field when it
 * is empty or equals quiet_field (may be NULL). Returns 1, the exit status
 * of a refusal or failure. */
int cli_report(const ks_error *e, const char *quiet_field);

/* The exit status of a usage error (a bad or missing argument). */
#define CLI_EXIT_USAGE 2

/* Print "klantstem: MESSAGE" (printf-style) on stderr; returns 1, the exit
 * status of a refusal or failure. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "klantstem: COMMAND: MESSAGE", a blank line and the command's
 * usage text on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One option of a command: "--name VALUE" stores VALUE in *value, or a
 * flag ("--dry-run") sets *flag (exactly one of value and flag is set).
 * A table of options ends with {NULL}. */
typedef struct cli_opt {
	const char *name;
	const char **value;
	bool *flag;
} cli_opt;

/* Read args[0..n) against opts, with at most one positional argument
 * (*file, left NULL when none) and --help / -h (the usage on stdout). An
 * unknown option, one without its value or a second file is a usage error
 * (cli_usage_error with command and usage). Returns 0, -1 after --help,
 * or CLI_EXIT_USAGE. */
int cli_parse_opts(const char *command, const char *usage, int n, char **args, const cli_opt *opts,
		   const char **file);

/* 0 when db names a regular file; otherwise prints
 * "klantstem: no database file at 'DB'" and returns 1. */
int cli_db_exists(const char *db);

#endif
