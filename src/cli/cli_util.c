/* cli_util.c — see cli_util.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_util.h"

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
