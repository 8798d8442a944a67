/* cli_users.c — see cli_users.h. */
#include "cli/cli_users.h"
#include "cli/cli_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "store/store.h"

#define CLI_USAGE_EXIT 2

typedef struct cli_users_opts {
	const char *cmd;         /* "users" or "tokens" */
	const char *sub;         /* list, disable, enable, delete, revoke */
	const char *db;
	const char *user;        /* --user ID|EMAIL */
	const char *id;          /* --id TOKEN_ID */
	bool help;
} cli_users_opts;

static const char *const cli_users_usage =
	"usage: klantstem users list    --db FILE\n"
	"       klantstem users disable --db FILE --user ID|EMAIL\n"
	"       klantstem users enable  --db FILE --user ID|EMAIL\n"
	"       klantstem users delete  --db FILE --user ID|EMAIL\n"
	"  Disabling ends the account's sessions and revokes its API tokens at once.\n"
	"  Deleting keeps a tombstone (no e-mail address, name or password) so cases,\n"
	"  notes and actions keep their author; its open cases go back to the team's\n"
	"  queue. The last active admin cannot be disabled or deleted; an account that\n"
	"  owns open improvement actions is not deleted (hand them over first).\n";

static const char *const cli_tokens_usage =
	"usage: klantstem tokens list   --db FILE [--user ID|EMAIL]\n"
	"       klantstem tokens revoke --db FILE --id TOKEN_ID\n"
	"  Lists API tokens (never their secret) with owner, expiry and last use;\n"
	"  revoke ends one at once.\n";

static const char *cli_users_usage_of(const char *cmd)
{
	return strcmp(cmd, "tokens") == 0 ? cli_tokens_usage : cli_users_usage;
}

static int cli_users_usage_error(const cli_users_opts *o, const char *msg, const char *arg)
{
	fprintf(stderr, "klantstem: %s%s%s%s\n%s", msg, arg ? " '" : "", arg ? arg : "", arg ? "'" : "",
		cli_users_usage_of(o->cmd));
	return CLI_USAGE_EXIT;
}

static int cli_users_parse(int argc, char **argv, cli_users_opts *o)
{
	memset(o, 0, sizeof *o);
	o->cmd = argv[0];
	int i = 1;
	if (argc > 1 && argv[1][0] != '-')
		o->sub = argv[i++];
	for (; i < argc; i++) {
		const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			o->help = true;
		else if (strcmp(a, "--db") == 0 && next)
			o->db = argv[++i];
		else if (strcmp(a, "--user") == 0 && next)
			o->user = argv[++i];
		else if (strcmp(a, "--id") == 0 && next && strcmp(o->cmd, "tokens") == 0)
			o->id = argv[++i];
		else
			return cli_users_usage_error(o, "unknown or incomplete option", a);
	}
	if (o->help)
		return 0;
	static const char *const users_subs[] = {"list", "disable", "enable", "delete", NULL};
	static const char *const tokens_subs[] = {"list", "revoke", NULL};
	const char *const *subs = strcmp(o->cmd, "tokens") == 0 ? tokens_subs : users_subs;
	bool known = false;
	for (size_t k = 0; o->sub && subs[k]; k++)
		known = known || strcmp(o->sub, subs[k]) == 0;
	if (!known)
		return cli_users_usage_error(o, o->sub ? "unknown sub-command" : "a sub-command is required",
					     o->sub);
	if (o->db == NULL)
		return cli_users_usage_error(o, "this command needs --db FILE", NULL);
	bool wants_user = strcmp(o->cmd, "users") == 0 && strcmp(o->sub, "list") != 0;
	if (wants_user && o->user == NULL)
		return cli_users_usage_error(o, "this command needs --user ID|EMAIL", NULL);
	if (strcmp(o->sub, "revoke") == 0 && o->id == NULL)
		return cli_users_usage_error(o, "tokens revoke needs --id TOKEN_ID", NULL);
	return 0;
}

/* --user as an id (all digits) or an e-mail address; a deleted account is
 * not found. */
static ks_err cli_users_find(ks_store *s, const char *spec, store_user *u, ks_error *e)
{
	int64_t id = 0;
	ks_err err = cli_parse_id(spec, &id) ? store_user_get(s, id, u, NULL, 0, e)
					     : store_user_by_email(s, spec, u, NULL, 0, e);
	if (err == KS_ERR_NOTFOUND || (!err && u->deleted))
		return ks_fail(e, KS_ERR_NOTFOUND, "user", "no account '%s' (give its id or e-mail address)",
			       spec);
	return err;
}

static ks_err cli_users_list(ks_store *s, ks_error *e)
{
	json_t *out = NULL;
	ks_err err = store_user_list(s, &out, e);
	if (err)
		return err;
	printf("%-6s %-10s %-9s %-32s %s\n", "id", "role", "status", "email", "name");
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(out, "items"), i, it) {
		printf("%-6lld %-10s %-9s %-32s %s\n", (long long)json_integer_value(json_object_get(it, "id")),
		       json_string_value(json_object_get(it, "role")),
		       json_is_true(json_object_get(it, "active")) ? "active" : "disabled",
		       json_string_value(json_object_get(it, "email")),
		       json_string_value(json_object_get(it, "name")));
	}
	json_decref(out);
	return KS_OK;
}

static ks_err cli_users_change(ks_store *s, const cli_users_opts *o, ks_error *e)
{
	store_user u;
	ks_err err = cli_users_find(s, o->user, &u, e);
	if (err)
		return err;
	if (strcmp(o->sub, "delete") == 0) {
		store_user_deleted d;
		err = store_user_delete(s, u.id, &d, e);
		if (!err)
			printf("user %lld (%s) deleted: %d sessions ended, %d tokens revoked, %d open cases back "
			       "to the team's queue\n", (long long)u.id, u.email, d.sessions, d.tokens,
			       d.cases_to_queue);
		return err;
	}
	bool disable = strcmp(o->sub, "disable") == 0;
	if (u.disabled == disable) {
		printf("user %lld (%s) is already %s\n", (long long)u.id, u.email, disable ? "disabled" : "active");
		return KS_OK;
	}
	u.disabled = disable;
	err = store_user_update(s, &u, e);
	if (!err)
		printf("user %lld (%s) %s\n", (long long)u.id, u.email,
		       disable ? "disabled: its sessions ended and its API tokens are revoked" : "enabled");
	return err;
}

static ks_err cli_tokens_list(ks_store *s, const cli_users_opts *o, ks_error *e)
{
	store_user u = {0};
	ks_err err = o->user ? cli_users_find(s, o->user, &u, e) : KS_OK;
	store_token *ts = NULL;
	size_t n = 0;
	if (!err)
		err = store_token_list(s, u.id, &ts, &n, e);
	if (err)
		return err;
	int64_t now = clock_now(NULL);
	printf("%-6s %-32s %-20s %-20s %-20s %s\n", "id", "user", "expires", "last used", "status", "name");
	for (size_t i = 0; i < n; i++) {
		char exp[32], used[32] = "never";
		clock_format_iso(ts[i].expires_at, exp, sizeof exp);
		if (ts[i].last_used_at)
			clock_format_iso(ts[i].last_used_at, used, sizeof used);
		printf("%-6lld %-32s %-20s %-20s %-20s %s\n", (long long)ts[i].id, ts[i].user_email, exp, used,
		       ts[i].expires_at <= now ? "expired" : "live", ts[i].name);
	}
	free(ts);
	return KS_OK;
}

static ks_err cli_tokens_revoke(ks_store *s, const cli_users_opts *o, ks_error *e)
{
	int64_t id = 0;
	if (!cli_parse_id(o->id, &id))
		return ks_fail(e, KS_ERR_USAGE, "id", "--id wants a token id (a positive number), got '%s'", o->id);
	store_token t;
	ks_err err = store_token_find(s, id, &t, e);
	if (err == KS_ERR_NOTFOUND)
		return ks_fail(e, KS_ERR_NOTFOUND, "id", "no API token with id %lld", (long long)id);
	if (!err)
		err = store_token_delete(s, id, e);
	if (!err)
		printf("token %lld (\"%s\" of %s) revoked\n", (long long)id, t.name, t.user_email);
	return err;
}

int cli_users_run(int argc, char **argv)
{
	cli_users_opts o;
	int rc = cli_users_parse(argc, argv, &o);
	if (rc)
		return rc;
	if (o.help) {
		fputs(cli_users_usage_of(o.cmd), stdout);
		return 0;
	}
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	/* store_open would create a missing file: a typo must not make an
	 * empty database that then "has no such user". */
	if (cli_db_exists(o.db))
		return 1;
	ks_err err = store_open(o.db, NULL, &s, &e);
	if (!err && strcmp(o.cmd, "tokens") == 0)
		err = strcmp(o.sub, "list") == 0 ? cli_tokens_list(s, &o, &e) : cli_tokens_revoke(s, &o, &e);
	else if (!err)
		err = strcmp(o.sub, "list") == 0 ? cli_users_list(s, &e) : cli_users_change(s, &o, &e);
	store_close(s);
	if (err == KS_ERR_USAGE) {
		fprintf(stderr, "klantstem: %s\n%s", e.message, cli_users_usage_of(o.cmd));
		return CLI_USAGE_EXIT;
	}
	return err ? cli_report(&e, "id") : 0;
}
