/* cli_util.c — see cli_util.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_util.h"
#include "store/store.h" /* store_is_pg_uri (issue 18) */

bool cli_parse_id(const char *s, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	long long v = s ? strtoll(s, &end, 10) : 0;
	if (s == NULL || *s == '\0' || errno || *end != '\0' || v < 1)
		return false;
	*out = v;
	return true;
}

int cli_report(const ks_error *e, const char *quiet_field)
{
	bool named = e->field[0] && (quiet_field == NULL || strcmp(e->field, quiet_field) != 0);
	if (named)
		fprintf(stderr, "klantstem: %s (%s)\n", e->message, e->field);
	else
		fprintf(stderr, "klantstem: %s\n", e->message);
	return 1;
}

int cli_db_exists(const char *db)
{
	struct stat st;
	/* issue 18 (PGS-D): a postgres:// URI is no file; store_open creates
	 * nothing on a server, so a typo fails there, naming the database */
	if (store_is_pg_uri(db))
		return 0;
	if (stat(db, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	fprintf(stderr, "klantstem: no database file at '%s'\n", db);
	return 1;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("klantstem: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_usage_error(const char *command, const char *usage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "klantstem: %s: ", command);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", usage);
	return CLI_EXIT_USAGE;
}

static const cli_opt *cli_find_opt(const cli_opt *opts, const char *name)
{
	for (; opts->name; opts++)
		if (strcmp(opts->name, name) == 0)
			return opts;
	return NULL;
}

int cli_parse_opts(const char *command, const char *usage, int n, char **args, const cli_opt *opts,
		   const char **file)
{
	*file = NULL;
	for (int i = 0; i < n; i++) {
		const char *a = args[i], *v = i + 1 < n ? args[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return -1;
		}
		if (a[0] == '-' && a[1] != '\0') {
			const cli_opt *o = cli_find_opt(opts, a);
			if (o && o->flag) {
				*o->flag = true;
				continue;
			}
			if (!o || !v)
				return cli_usage_error(command, usage, "unknown or incomplete option '%s'", a);
			*o->value = v;
			i++;
		} else if (*file) {
			return cli_usage_error(command, usage, "one file at a time ('%s' and '%s')", *file, a);
		} else {
			*file = a;
		}
	}
	return 0;
}
