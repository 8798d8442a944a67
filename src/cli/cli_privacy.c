/* cli_privacy.c — see cli_privacy.h. */
#include "cli/cli_privacy.h"
#include "cli/cli_util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "privacy/gdpr.h"
#include "privacy/retention.h"
#include "store/store.h"

#define CLI_PRIVACY_USAGE_EXIT 2
#define CLI_PRIVACY_SETS_MAX 8

typedef struct cli_privacy_opts {
	const char *sub;         /* export, erase, retention */
	const char *db;
	const char *customer, *employee;
	const char *sets[CLI_PRIVACY_SETS_MAX]; /* --set KIND=MONTHS */
	int n_sets;
	bool run;
	bool help;
} cli_privacy_opts;

static const char *const cli_privacy_usage =
	"usage: klantstem privacy export    --db FILE --customer ID | --employee ID\n"
	"       klantstem privacy erase     --db FILE --customer ID | --employee ID\n"
	"       klantstem privacy retention --db FILE [--set KIND=MONTHS]... [--run]\n"
	"  export prints everything stored about the person as JSON. erase removes\n"
	"  the person and keeps their scores anonymously in the figures (one\n"
	"  transaction; a second erase does nothing). retention prints the policy;\n"
	"  --set changes it (KIND: open_text, contacts, closed_cases; MONTHS 0..240,\n"
	"  0 = for ever), --run applies it now. docs/PRIVACY.md.\n";

static int cli_privacy_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "klantstem: %s%s%s%s\n%s", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "",
		cli_privacy_usage);
	return CLI_PRIVACY_USAGE_EXIT;
}

static int cli_privacy_option(cli_privacy_opts *o, const char *a, const char *next, int *i)
{
	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
		o->help = true;
		return 0;
	}
	if (strcmp(a, "--run") == 0) {
		o->run = true;
		return 0;
	}
	if (next == NULL)
		return cli_privacy_usage_error("unknown or incomplete option", a);
	if (strcmp(a, "--db") == 0)
		o->db = next;
	else if (strcmp(a, "--customer") == 0)
		o->customer = next;
	else if (strcmp(a, "--employee") == 0)
		o->employee = next;
	else if (strcmp(a, "--set") == 0 && o->n_sets < CLI_PRIVACY_SETS_MAX)
		o->sets[o->n_sets++] = next;
	else
		return cli_privacy_usage_error("unknown or incomplete option", a);
	(*i)++;
	return 0;
}

static int cli_privacy_parse(int argc, char **argv, cli_privacy_opts *o)
{
	memset(o, 0, sizeof *o);
	int i = 1;
	if (argc > 1 && argv[1][0] != '-')
		o->sub = argv[i++];
	for (; i < argc; i++) {
		int rc = cli_privacy_option(o, argv[i], i + 1 < argc ? argv[i + 1] : NULL, &i);
		if (rc)
			return rc;
	}
	if (o->help)
		return 0;
	bool person = o->sub && (strcmp(o->sub, "export") == 0 || strcmp(o->sub, "erase") == 0);
	if (!person && (o->sub == NULL || strcmp(o->sub, "retention") != 0))
		return cli_privacy_usage_error(o->sub ? "unknown sub-command" : "a sub-command is required",
					       o->sub);
	if (o->db == NULL)
		return cli_privacy_usage_error("this command needs --db FILE", NULL);
	if (person && (o->customer == NULL) == (o->employee == NULL))
		return cli_privacy_usage_error("give one of --customer ID or --employee ID", NULL);
	if (!person && (o->customer || o->employee))
		return cli_privacy_usage_error("retention takes no --customer or --employee", NULL);
	if (person && (o->n_sets || o->run))
		return cli_privacy_usage_error("--set and --run belong to retention", NULL);
	return 0;
}

/* --set KIND=MONTHS over r (the JSON rule of PUT /api/v1/retention). */
static int cli_privacy_sets(const cli_privacy_opts *o, store_retention *r)
{
	memset(r->stored, 0, sizeof r->stored);
	for (int k = 0; k < o->n_sets; k++) {
		char kind[32];
		const char *eq = strchr(o->sets[k], '=');
		long long m = -1;
		char *end = NULL;
		if (eq && (size_t)(eq - o->sets[k]) < sizeof kind) {
			snprintf(kind, sizeof kind, "%.*s", (int)(eq - o->sets[k]), o->sets[k]);
			errno = 0;
			m = strtoll(eq + 1, &end, 10);
			if (errno || end == eq + 1 || *end != '\0')
				m = -1;
		}
		if (eq == NULL || m < 0 || m > RETENTION_MONTHS_MAX)
			return cli_privacy_usage_error("--set wants KIND=MONTHS (MONTHS 0..240)", o->sets[k]);
		json_t *one = json_pack("{s:I}", kind, (json_int_t)m);
		ks_error e;
		ks_err err = one ? retention_from_json(one, r, &e) : KS_ERR_NOMEM;
		json_decref(one);
		if (err)
			return cli_privacy_usage_error("--set: unknown kind (open_text, contacts, closed_cases)",
						       o->sets[k]);
	}
	return 0;
}

static void cli_privacy_print(json_t *o)
{
	char *txt = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (txt)
		printf("%s\n", txt);
	free(txt);
	json_decref(o);
}

static ks_err cli_privacy_person(ks_store *s, const cli_privacy_opts *o, ks_error *e)
{
	store_subject_kind k = o->customer ? STORE_SUBJECT_CUSTOMER : STORE_SUBJECT_EMPLOYEE;
	int64_t id = 0;
	if (!cli_parse_id(o->customer ? o->customer : o->employee, &id))
		return ks_fail(e, KS_ERR_USAGE, o->customer ? "--customer" : "--employee",
			       "%s wants a positive id", o->customer ? "--customer" : "--employee");
	if (strcmp(o->sub, "erase") == 0) {
		store_erasure x = {.via = "cli"};
		ks_err err = gdpr_erase(s, NULL, k, id, &x, e);
		if (!err)
			cli_privacy_print(gdpr_erasure_json(k, id, &x));
		return err;
	}
	json_t *out = NULL;
	ks_err err = gdpr_export(s, k, id, &out, e);
	/* As over HTTP: no entry, no export. */
	audit_actor who = {0};
	if (!err)
		err = audit_record(s, &who, k == STORE_SUBJECT_CUSTOMER ? "export.customer" : "export.employee",
				   gdpr_subject_name(k), id, json_pack("{s:s}", "via", "cli"), e);
	if (err) {
		json_decref(out);
		return err;
	}
	cli_privacy_print(out);
	return KS_OK;
}

static ks_err cli_privacy_retention(ks_store *s, const cli_privacy_opts *o, ks_error *e)
{
	store_retention r;
	ks_err err = retention_get(s, &r, e);
	if (!err && o->n_sets) {
		if (cli_privacy_sets(o, &r))
			return ks_fail(e, KS_ERR_USAGE, "--set", "bad --set");
		json_t *d = json_object();
		for (int k = 0; d && k < STORE_RETENTION__COUNT; k++)
			if (r.stored[k])
				json_object_set_new(d, store_retention_kind_name((store_retention_kind)k),
						    json_integer(r.months[k]));
		json_object_set_new(d, "via", json_string("cli"));
		char *detail = audit_detail_text(d);
		store_audit_entry a = {.action = "retention.update", .object_kind = "retention", .detail = detail};
		err = detail ? store_retention_put(s, &r, &a, e) : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		free(detail);
	}
	store_retention_counts n = {0};
	if (!err && o->run)
		err = retention_run(s, clock_now(NULL), &n, e);
	if (!err)
		err = retention_get(s, &r, e);
	if (err)
		return err;
	json_t *out = retention_json(&r);
	if (out && o->run)
		json_object_set_new(out, "removed",
				    json_pack("{s:i, s:i, s:i, s:i}", "open_texts", n.open_texts, "contacts",
					      n.contacts, "invitations", n.invitations, "cases", n.cases));
	cli_privacy_print(out);
	return KS_OK;
}

int cli_privacy_run(int argc, char **argv)
{
	cli_privacy_opts o;
	int rc = cli_privacy_parse(argc, argv, &o);
	if (rc)
		return rc;
	if (o.help) {
		fputs(cli_privacy_usage, stdout);
		return 0;
	}
	/* store_open would create a missing file: a typo must not make an
	 * empty database. */
	if (cli_db_exists(o.db))
		return 1;
	/* --set is checked before the database is touched. */
	store_retention probe;
	retention_defaults(&probe);
	if (o.n_sets && (rc = cli_privacy_sets(&o, &probe)) != 0)
		return rc;
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = store_open(o.db, NULL, &s, &e);
	if (!err)
		err = strcmp(o.sub, "retention") == 0 ? cli_privacy_retention(s, &o, &e) : cli_privacy_person(s, &o, &e);
	store_close(s);
	if (err == KS_ERR_USAGE)
		return cli_privacy_usage_error(e.message, NULL);
	return err ? cli_report(&e, NULL) : 0;
}
