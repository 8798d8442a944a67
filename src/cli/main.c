/* main.c — the klantstem command line: serve, demo, migrate, version.
 *
 * Exit codes: 0 success, 1 runtime failure (database, network), 2 usage
 * error (bad arguments). Messages go to stderr, prefixed "klantstem:".
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h> /* issue 18 (PKG): readlink */

#include <libxml/parser.h> /* issue 16 H9: xmlInitParser */

#include "analytics/analytics.h"
#include "api/api.h"
#include "auth/auth.h"
#include "demo/demo.h"
#include "http/http.h"
#include "invite/scheduler.h"
#include "mentions/poll.h" /* pollers (issue 16 H2) */
#include "invite/rel_schedule.h" /* a relationship survey wave per quarter (issue 16 H6) */
#include "mail/mail.h"
#include "store/store.h"
#include "cli/cli_users.h"
#include "cli/cli_privacy.h"
#include "cli/cli_text.h" /* text (issue 14) */
#include "cli/cli_drivers.h" /* drivers (issue 15) */
#include "cli/cli_import.h" /* import (issue 15) */
#include "cli/cli_import_data.h" /* import customers|products|holdings|events (issue 16, H4) */
#include "cli/cli_import_mentions.h" /* import mentions (issue 16, H1) */
#include "cli/cli_import_kpis.h" /* import kpis (issue 17, K) */
#include "report/report.h" /* issue 17 (X): the PDF/XLSX libraries' global state */
#include "core/jlog.h" /* issue 18 (ops): --log-format json */
#include "cli/cli_backup.h" /* backup, restore (issue 18) */
#include "cli/cli_copy.h" /* copy between backends (issue 18 PGS-D) */

#define KS_VERSION "0.1.0"
#define EXIT_USAGE 2

typedef struct cli_opts {
	const char *db;
	const char *listen;
	unsigned threads;
	bool quiet;
	int scale;
	bool help;
	/* the feedback loop (serve) */
	const char *base_url;
	const char *smtp_url;
	const char *smtp_user;
	bool smtp_tls;
	const char *mail_from;
	const char *org_name;
	const char *webhook_url;
	const char *test_clock;
	const char *sample_seed;
	bool secure_cookies;
	const char *web_root;   /* the UI's files; NULL: cli_web_root_default (issue 18 PKG) */
	const char *time_zone;  /* the organisation's calendar; default Europe/Amsterdam */
	http_limits http_limits;        /* --http-limit NAME=VALUE (src/http) */
	http_trusted trusted;           /* --trusted-proxy ADDR[,ADDR] */
	bool have_trusted;
	const char *open_link_guard; /* open-link guard (issue 11): limits, guard_config_parse */
	const char *case_mail;  /* one case (issue 13): escalation mails "digest" (default) or "per-case" */
	long feed_timeout;      /* pollers (issue 16 H2): seconds a feed page may take; 0 = 60 */
	/* pollers (issue 16 H11): docs/POLLERS.md "Where a poll may connect" */
	const char *feed_proxy;
	bool feed_allow_private;
	const char *feed_test_public;
	/* issue 18 (ops): docs/OPERATIONS.md */
	const char *metrics_listen;
	bool metrics_public;
	bool log_json;
	int log_fd;             /* the real stderr while jlog wraps fd 2 */
	long ready_sched_max;   /* /readyz: scheduler stalled after S seconds (0 = 30) */
	/* user add */
	const char *email;
	const char *name;
	const char *role;
	const char *employee_id;
	const char *unit_id;
	const char *language;
	const char *token_name;
} cli_opts;

static const char *const cli_usage_main =
	"usage: klantstem <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve    --db FILE [--listen ADDR:PORT] [--threads N] [--quiet]\n"
	"           run the HTTP server (default 127.0.0.1:8080)\n"
	"  demo     --db FILE [--scale PERCENT]   fill a new database with demo data\n"
	"  migrate  --db FILE                     create or upgrade the schema\n"
	"  user add --db FILE --email E --name N --role R [--employee-id N] [--unit-id N]\n"
	"           [--language nl|en] [--token NAME]   create an account (password on stdin\n"
	"           or in $KLANTSTEM_PASSWORD)\n"
	"  users    list|disable|enable|delete --db FILE [--user ID|EMAIL]   manage accounts\n"
	"  tokens   list|revoke --db FILE [--user ID|EMAIL] [--id N]        manage API tokens\n"
	"  privacy  export|erase|retention --db FILE [--customer ID|--employee ID]\n"
	"           a person's data and the retention policy (docs/PRIVACY.md)\n"
	"  text     analyze|train|evaluate|taxonomy   language, sentiment and themes of\n"
	"           free texts (docs/TEXT.md)\n"
	"  drivers  --csv FILE --outcome COL --drivers COL1,COL2,...   key-driver analysis\n"
	"           of any table: weights, shares of R², intervals, ranks (docs/DRIVERS.md)\n"
	"  import   responses --db FILE CSV [--dry-run]   load survey answers from a\n"
	"           spreadsheet, all or nothing (docs/IMPORT.md)\n"
	"  import   customers|products|holdings|events --db FILE FILE [--mapping MAP]\n"
	"           [--skip-bad REJECTS]   the organisation's own data, CSV or JSON Lines\n"
	"           (docs/IMPORT.md)\n"
	"  import   mentions --db FILE [--format F] FILE   reviews and social posts\n"
	"           (Trustpilot, Google, Kiyoh, App Store, social, generic CSV/JSON;\n"
	"           docs/MENTIONS.md)\n"
	"  import   kpis --db FILE FILE   monthly values of hard KPIs per org unit\n"
	"           (kpi,unit,period,value; docs/GOVERNANCE.md)\n"
	"  backup   --db FILE --to FILE [--force]   copy the database while the server\n"
	"           runs (docs/OPERATIONS.md \"Backup and restore\")\n"
	"  restore  --from BACKUP --db FILE   put a backup in place (server stopped)\n"
	"  copy     --from SRC --to DST [--verify-only]   move a database between\n"
	"           SQLite and PostgreSQL, verified (docs/OPERATIONS.md)\n"
	"  routes                                 print the route table (JSON)\n"
	"  version                                print the version\n"
	"\n"
	"Run 'klantstem <command> --help' for one command.\n";

static const char *cli_usage_for(const char *cmd)
{
	if (strcmp(cmd, "serve") == 0)
		return "usage: klantstem serve --db FILE [--listen ADDR:PORT] [options]\n"
		       "  Serve the JSON API (/api/v1), the survey pages (/s/TOKEN) and /healthz,\n"
		       "  and send due survey invitations.\n"
		       "  --listen ADDR:PORT   IPv4 address and port, default 127.0.0.1:8080 (port 0 = any free)\n"
		       "  --threads N          HTTP worker threads, default the number of cores\n"
		       "  --quiet              no access log on stderr\n"
		       "  --log-format FORMAT  text (default) or json: one JSON object per line for\n"
		       "                       access lines and server messages (docs/OPERATIONS.md)\n"
		       "  --metrics-listen ADDR:PORT  Prometheus metrics at GET /metrics on a second\n"
		       "                       listener (off by default; loopback addresses only ...)\n"
		       "  --metrics-listen-public  ... unless this is given too\n"
		       "  --ready-scheduler-max S  /readyz says scheduler_stalled when its last pass\n"
		       "                       ended more than S seconds ago (default 30)\n"
		       "  --web-root DIR       folder of the web UI, served at / (default: an installed\n"
		       "                       PREFIX/bin/klantstem serves PREFIX/share/klantstem/web,\n"
		       "                       any other ./web; when it does not exist the UI is off\n"
		       "                       and only the API runs)\n"
		       "  --base-url URL       public root of survey links in mails, default http://ADDR:PORT;\n"
		       "                       an https:// URL marks the session cookie Secure\n"
		       "  --secure-cookies     mark the session cookie Secure whatever --base-url says\n"
		       "  --smtp URL           smtp://host:port or smtps://host:port; without it no mail is sent\n"
		       "  --smtp-user USER     SMTP login; the password comes from $KLANTSTEM_SMTP_PASSWORD\n"
		       "  --smtp-tls           require STARTTLS\n"
		       "  --mail-from ADDR     sender, default \"Klantstem <noreply@localhost>\"\n"
		       "  --org-name NAME      organisation name in the mails\n"
		       "  --trusted-proxy ADDR[,ADDR]  reverse proxies (IPv4, ADDR/BITS too) whose\n"
		       "                       X-Forwarded-For names the client (docs/SECURITY.md)\n"
		       "  --http-limit NAME=VALUE  change a connection limit, deadline or budget of\n"
		       "                       src/http/http.h, e.g. head_timeout=15 (repeatable)\n"
		       "  --time-zone ZONE     the organisation's calendar for every day, week, month,\n"
		       "                       quarter and year (default Europe/Amsterdam; EU zones, UTC)\n"
		       "  --open-link-guard SPEC  limits of the public survey page (issue 11), default\n"
		       "                       addr=10/60,link=600/3600,normal=60/3600,quiet=900: posts\n"
		       "                       per address and link, posts per open link, answers per\n"
		       "                       open link counted at once (beyond: held as suspect), each\n"
		       "                       N per SECONDS; a burst ends after quiet seconds; 0 = off\n"
		       "  --case-mail MODE     escalation mails: digest (one per person per pass, the\n"
		       "                       default) or per-case\n"
		       "  --feed-timeout S     seconds one page of a mention feed may take (1..600,\n"
		       "                       default 60; docs/POLLERS.md)\n"
		       "  --feed-proxy URL     fetch mention feeds through this proxy (default none,\n"
		       "                       whatever http_proxy says)\n"
		       "  --feed-allow-private let a feed's redirects reach loopback, link-local and\n"
		       "                       private addresses (default: only the feed's own host)\n"
		       "  --webhook-url URL    POST signed invitation.created events there; the secret\n"
		       "                       comes from $KLANTSTEM_WEBHOOK_SECRET\n"
		       "  --sample-seed N      fixed seed for invitation sampling (tests)\n"
		       "  --test-clock TIME    test mode: the clock stands at TIME and moves only by\n"
		       "                       POST /api/v1/admin/clock; the scheduler runs only on\n"
		       "                       POST /api/v1/admin/scheduler/run\n"
		       "  SIGTERM or SIGINT stop it gracefully.\n";
	if (strcmp(cmd, "demo") == 0)
		return "usage: klantstem demo --db FILE [--scale PERCENT]\n"
		       "  Create FILE with a demo organisation: 8 teams, 60 employees, 20k customers,\n"
		       "  24 months of contacts and >100k responses. Refuses an existing database\n"
		       "  that already holds data. --scale shrinks or grows it (default 100).\n";
	if (strcmp(cmd, "migrate") == 0)
		return "usage: klantstem migrate --db FILE\n"
		       "  Create FILE if needed and apply pending schema migrations.\n";
	if (strcmp(cmd, "version") == 0)
		return "usage: klantstem version\n";
	if (strcmp(cmd, "routes") == 0)
		return "usage: klantstem routes\n"
		       "  Print the route table as JSON: method, pattern and the roles allowed\n"
		       "  (\"public\" for routes anyone may call). The tests read it.\n";
	if (strcmp(cmd, "user") == 0)
		return "usage: klantstem user add --db FILE --email E --name N --role R\n"
		       "         [--employee-id N] [--unit-id N] [--language nl|en] [--token NAME]\n"
		       "  Create an account. Roles: employee (needs --employee-id), team_lead and\n"
		       "  manager (need --unit-id: the team / department), director, admin.\n"
		       "  The password (10+ characters) is read from $KLANTSTEM_PASSWORD or the\n"
		       "  first line of standard input. --token also creates an API token for\n"
		       "  machine clients and prints it (it is shown only once).\n";
	return NULL;
}

static int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "klantstem: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", cmd ? cli_usage_for(cmd) : cli_usage_main);
	return EXIT_USAGE;
}

static bool cli_parse_uint(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	errno = 0;
	long v = s ? strtol(s, &end, 10) : 0;
	if (s == NULL || errno || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* The serve options that take a value. */
static bool cli_serve_option(cli_opts *o, const char *a, const char *v)
{
	const char *names[] = {"--base-url", "--smtp", "--smtp-user", "--mail-from", "--org-name",
			       "--webhook-url", "--test-clock", "--sample-seed", "--web-root", "--time-zone",
			       "--open-link-guard", "--case-mail"};
	const char **dst[] = {&o->base_url, &o->smtp_url, &o->smtp_user, &o->mail_from, &o->org_name,
			      &o->webhook_url, &o->test_clock, &o->sample_seed, &o->web_root,
			      &o->time_zone, &o->open_link_guard, &o->case_mail};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(a, names[i]) == 0) {
			*dst[i] = v;
			return true;
		}
	}
	return false;
}

static bool cli_user_option(cli_opts *o, const char *a, const char *v)
{
	const char *names[] = {"--email", "--name", "--role", "--employee-id", "--unit-id", "--language",
			       "--token"};
	const char **dst[] = {&o->email, &o->name, &o->role, &o->employee_id, &o->unit_id, &o->language,
			      &o->token_name};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(a, names[i]) == 0) {
			*dst[i] = v;
			return true;
		}
	}
	return false;
}

/* Parse the options after the command name. Returns 0 or an exit code. */
static int cli_parse(const char *cmd, int argc, char **argv, cli_opts *o)
{
	memset(o, 0, sizeof *o);
	o->listen = "127.0.0.1:8080";
	o->web_root = NULL; /* issue 18 (PKG): cli_web_root_default */
	http_limits_default(&o->http_limits);
	o->scale = 100;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		long v;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = true;
		} else if (strcmp(a, "--db") == 0 && next) {
			o->db = argv[++i];
		} else if (strcmp(a, "--listen") == 0 && next && strcmp(cmd, "serve") == 0) {
			o->listen = argv[++i];
		} else if (strcmp(a, "--metrics-listen") == 0 && next && strcmp(cmd, "serve") == 0) {
			o->metrics_listen = argv[++i]; /* issue 18 (ops) */
		} else if (strcmp(a, "--metrics-listen-public") == 0 && strcmp(cmd, "serve") == 0) {
			o->metrics_public = true;
		} else if (strcmp(a, "--ready-scheduler-max") == 0 && strcmp(cmd, "serve") == 0) {
			if (!cli_parse_uint(next, 1, 86400, &o->ready_sched_max))
				return cli_usage_error(cmd, "--ready-scheduler-max wants seconds 1..86400, got '%s'",
						       next ? next : "");
			i++;
		} else if (strcmp(a, "--log-format") == 0 && strcmp(cmd, "serve") == 0) {
			if (next == NULL || (strcmp(next, "json") != 0 && strcmp(next, "text") != 0))
				return cli_usage_error(cmd, "--log-format wants text or json, got '%s'",
						       next ? next : "");
			o->log_json = strcmp(argv[++i], "json") == 0;
		} else if (strcmp(a, "--threads") == 0 && strcmp(cmd, "serve") == 0) {
			if (!cli_parse_uint(next, 1, 256, &v))
				return cli_usage_error(cmd, "--threads wants a number 1..256, got '%s'",
						       next ? next : "");
			o->threads = (unsigned)v;
			i++;
		} else if (strcmp(a, "--quiet") == 0 && strcmp(cmd, "serve") == 0) {
			o->quiet = true;
		} else if (strcmp(a, "--smtp-tls") == 0 && strcmp(cmd, "serve") == 0) {
			o->smtp_tls = true;
		} else if (strcmp(a, "--feed-proxy") == 0 && next && strcmp(cmd, "serve") == 0) {
			o->feed_proxy = argv[++i]; /* pollers (issue 16 H11) */
		} else if (strcmp(a, "--feed-allow-private") == 0 && strcmp(cmd, "serve") == 0) {
			o->feed_allow_private = true;
		} else if (strcmp(a, "--feed-test-public") == 0 && next && strcmp(cmd, "serve") == 0) {
			o->feed_test_public = argv[++i]; /* tests: with --test-clock only */
		} else if (strcmp(a, "--feed-timeout") == 0 && strcmp(cmd, "serve") == 0) {
			/* pollers (issue 16 H2) */
			if (!cli_parse_uint(next, 1, 600, &o->feed_timeout))
				return cli_usage_error(cmd, "--feed-timeout wants seconds 1..600, got '%s'",
						       next ? next : "");
			i++;
		} else if (strcmp(a, "--http-limit") == 0 && next && strcmp(cmd, "serve") == 0) {
			ks_error le;
			if (http_limits_set(&o->http_limits, argv[++i], &le))
				return cli_usage_error(cmd, "%s", le.message);
		} else if (strcmp(a, "--trusted-proxy") == 0 && next && strcmp(cmd, "serve") == 0) {
			ks_error le;
			if (http_trusted_parse(&o->trusted, argv[++i], &le))
				return cli_usage_error(cmd, "%s", le.message);
			o->have_trusted = true;
		} else if (strcmp(a, "--secure-cookies") == 0 && strcmp(cmd, "serve") == 0) {
			o->secure_cookies = true;
		} else if (strcmp(cmd, "user") == 0 && next && cli_user_option(o, a, next)) {
			i++;
		} else if (strcmp(cmd, "serve") == 0 && next && cli_serve_option(o, a, next)) {
			i++;
		} else if (strcmp(a, "--scale") == 0 && strcmp(cmd, "demo") == 0) {
			if (!cli_parse_uint(next, 1, DEMO_MAX_SCALE, &v))
				return cli_usage_error(cmd, "--scale wants a percentage 1..1000, got '%s'",
						       next ? next : "");
			o->scale = (int)v;
			i++;
		} else {
			return cli_usage_error(cmd, "unknown or incomplete option '%s'", a);
		}
	}
	if (!o->help && o->db == NULL && strcmp(cmd, "version") != 0)
		return cli_usage_error(cmd, "%s needs --db FILE", cmd);
	return 0;
}

static int cli_fail(const ks_error *e)
{
	if (e->field[0])
		fprintf(stderr, "klantstem: %s (%s)\n", e->message, e->field);
	else
		fprintf(stderr, "klantstem: %s\n", e->message);
	return e->code == KS_ERR_USAGE ? EXIT_USAGE : 1;
}

/* Create an account through the same checks as POST /api/v1/users. */
ks_err api_user_from_json(const json_t *o, store_user *u, const char **password, ks_error *e);

static int cli_read_password(char *buf, size_t n)
{
	const char *env = getenv("KLANTSTEM_PASSWORD");
	if (env) {
		snprintf(buf, n, "%s", env);
		return 0;
	}
	if (fgets(buf, (int)n, stdin) == NULL)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* known_hash: an argon2id hash of the spec's password computed before (the
 * demo's five logins share one password: hash it once), or NULL. */
static ks_err cli_create_user(ks_store *s, auth_ctx *auth, json_t *spec, const char *known_hash,
			      const char *token_name, store_user *u, char *token, ks_error *e)
{
	const char *password = NULL;
	char hash[AUTH_PW_STR] = "";
	ks_err err = api_user_from_json(spec, u, &password, e);
	if (!err && known_hash)
		snprintf(hash, sizeof hash, "%s", known_hash);
	else if (!err)
		err = auth_password_hash(auth, password, hash, e);
	if (!err)
		err = store_user_create(s, u, hash, e);
	if (!err && token_name) {
		char th[AUTH_HASH_HEX + 1];
		auth_token_new(token);
		auth_token_hash(token, th);
		/* The operator's bootstrap token for machine intake: the longest
		 * lifetime a token may have (docs/API.md, API tokens). */
		err = store_token_create(s, th, u->id, token_name,
					 clock_now(NULL) + (int64_t)AUTH_TOKEN_MAX_DAYS * 86400, NULL, e);
	}
	return err;
}

static int cli_user(const cli_opts *o, const char *sub)
{
	if (sub == NULL || strcmp(sub, "add") != 0)
		return cli_usage_error("user", "%s", "the only user command is 'add'");
	if (o->email == NULL || o->name == NULL || o->role == NULL)
		return cli_usage_error("user", "%s", "user add needs --email, --name and --role");
	char password[1100];
	if (cli_read_password(password, sizeof password) != 0)
		return cli_usage_error("user", "%s", "no password on standard input or in $KLANTSTEM_PASSWORD");
	json_t *spec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "email", o->email, "name", o->name, "role",
				 o->role, "password", password, "language", o->language ? o->language : "nl");
	long v;
	if (o->employee_id && cli_parse_uint(o->employee_id, 1, 2147483647, &v))
		json_object_set_new(spec, "employee_id", json_integer(v));
	else if (o->employee_id)
		return json_decref(spec), cli_usage_error("user", "bad --employee-id '%s'", o->employee_id);
	if (o->unit_id && cli_parse_uint(o->unit_id, 1, 2147483647, &v))
		json_object_set_new(spec, "unit_id", json_integer(v));
	else if (o->unit_id)
		return json_decref(spec), cli_usage_error("user", "bad --unit-id '%s'", o->unit_id);
	ks_store *s = NULL;
	auth_ctx *auth = NULL;
	ks_error e;
	ks_error_clear(&e);
	store_user u;
	char token[AUTH_TOKEN_LEN + 1] = "";
	ks_err err = auth_ctx_new(&auth);
	if (!err)
		err = store_open(o->db, NULL, &s, &e);
	if (!err)
		err = cli_create_user(s, auth, spec, NULL, o->token_name, &u, token, &e);
	json_decref(spec);
	store_close(s);
	auth_ctx_free(auth);
	if (err)
		return cli_fail(&e);
	printf("user %lld: %s (%s)\n", (long long)u.id, u.email, u.role);
	if (token[0])
		printf("token: %s\n", token);
	return 0;
}

static int cli_migrate(const cli_opts *o)
{
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	if (store_open(o->db, NULL, &s, &e))
		return cli_fail(&e);
	printf("%s: schema version %d\n", o->db, store_schema_version(s));
	store_close(s);
	return 0;
}

/* The first org unit of a kind, for the demo's team lead and manager. */
static int64_t cli_first_unit(ks_store *s, const char *kind)
{
	store_list_query q = {.limit = 1, .filter_field = "kind", .filter_value = kind};
	json_t *out = NULL;
	if (store_entity_list(s, model_entity_find("teams"), &q, &out, NULL) != KS_OK)
		return 0;
	int64_t id = json_integer_value(json_object_get(json_array_get(json_object_get(out, "items"), 0), "id"));
	json_decref(out);
	return id;
}

#define CLI_DEMO_PASSWORD "klantstem-demo"

/* One login per role, printed for whoever runs `make demo`. */
static ks_err cli_demo_users(ks_store *s, ks_error *e)
{
	auth_ctx *auth = NULL;
	if (auth_ctx_new(&auth))
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot initialise libsodium");
	int64_t dept = cli_first_unit(s, "department"), team = 0;
	/* a team of that department, and an employee of that team */
	store_list_query q = {.limit = 1, .filter_field = "parent_id"};
	char dept_s[32];
	snprintf(dept_s, sizeof dept_s, "%lld", (long long)dept);
	q.filter_value = dept_s;
	json_t *out = NULL;
	if (store_entity_list(s, model_entity_find("teams"), &q, &out, NULL) == KS_OK) {
		team = json_integer_value(json_object_get(json_array_get(json_object_get(out, "items"), 0), "id"));
		json_decref(out);
	}
	char team_s[32];
	snprintf(team_s, sizeof team_s, "%lld", (long long)team);
	store_list_query qe = {.limit = 1, .filter_field = "team_id", .filter_value = team_s};
	int64_t emp = 0;
	if (store_entity_list(s, model_entity_find("employees"), &qe, &out, NULL) == KS_OK) {
		emp = json_integer_value(json_object_get(json_array_get(json_object_get(out, "items"), 0), "id"));
		json_decref(out);
	}
	struct { const char *email, *name, *role; int64_t emp, unit; } who[] = {
		{"admin@demo.klantstem", "Demo Admin", "admin", 0, 0},
		{"directeur@demo.klantstem", "Demo Directeur", "director", 0, 0},
		{"manager@demo.klantstem", "Demo Manager", "manager", 0, dept},
		{"teamleider@demo.klantstem", "Demo Teamleider", "team_lead", 0, team},
		{"medewerker@demo.klantstem", "Demo Medewerker", "employee", emp, 0},
	};
	char hash[AUTH_PW_STR];
	ks_err err = auth_password_hash(auth, CLI_DEMO_PASSWORD, hash, e);
	if (!err)
		printf("demo logins (password %s):\n", CLI_DEMO_PASSWORD);
	for (size_t i = 0; !err && i < sizeof who / sizeof who[0]; i++) {
		json_t *spec = json_pack("{s:s, s:s, s:s, s:s}", "email", who[i].email, "name", who[i].name,
					 "role", who[i].role, "password", CLI_DEMO_PASSWORD);
		if (who[i].emp)
			json_object_set_new(spec, "employee_id", json_integer(who[i].emp));
		if (who[i].unit)
			json_object_set_new(spec, "unit_id", json_integer(who[i].unit));
		store_user u;
		char token[AUTH_TOKEN_LEN + 1];
		err = cli_create_user(s, auth, spec, hash, NULL, &u, token, e);
		json_decref(spec);
		if (!err)
			printf("  %-10s %s\n", who[i].role, who[i].email);
	}
	auth_ctx_free(auth);
	return err;
}

static int cli_demo(const cli_opts *o)
{
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	/* demo.db is generated aside and renamed into place (Makefile): no
	 * need to fsync every one of its commits. */
	store_options so = {.scratch = true};
	if (store_open(o->db, &so, &s, &e))
		return cli_fail(&e);
	/* The 24 months end today, so the demo looks current when it is served. */
	demo_options opt = {.seed = 0, .now = clock_now(NULL) / 86400 * 86400,
			    .scale_percent = o->scale};
	demo_stats st;
	ks_err err = demo_generate(s, &opt, &st, &e);
	if (!err)
		err = cli_demo_users(s, &e);
	int n_cases = 0;
	if (!err)
		err = demo_cases(s, opt.now, &n_cases, &e);
	/* The bulk load skips the writer, so its open answers are analysed here
	 * in one pass (docs/TEXT.md); without the language data the demo is
	 * still made, only without analysis. */
	store_reanalyze_counts rc = {0};
	if (!err) {
		ks_error te;
		ks_error_clear(&te);
		if (store_text_reanalyze(s, 5000, NULL, NULL, &rc, &te))
			fprintf(stderr, "klantstem: demo without text analysis: %s\n", te.message);
	}
	store_close(s);
	if (err)
		return cli_fail(&e);
	printf("cases of the last 21 days: %d\n", n_cases);
	printf("open answers analysed: %lld\n", (long long)rc.analyzed);
	printf("demo data in %s (%lld ms): %d org units, %d employees, %d customers, "
	       "%d journeys, %d touchpoints, %d surveys, %d contacts, %d responses\n",
	       o->db, (long long)st.elapsed_ms, st.org_units, st.employees, st.customers, st.journeys,
	       st.touchpoints, st.surveys, st.contacts, st.responses);
	return 0;
}

static int cli_copy(char *dst, size_t n, const char *v, const char *what)
{
	if (v == NULL)
		return 0;
	if (strlen(v) >= n) {
		fprintf(stderr, "klantstem: %s is too long (at most %zu bytes)\n", what, n - 1);
		return EXIT_USAGE;
	}
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* The feedback loop's settings from the options and the environment
 * (secrets never go on the command line, where ps would show them). */
static int cli_invite_config(const cli_opts *o, const char *addr, unsigned port, ks_clock *clock,
			     invite_config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->base_url, sizeof c->base_url, "http://%s:%u", addr, port);
	snprintf(c->org_name, sizeof c->org_name, "Klantstem");
	snprintf(c->mail.from, sizeof c->mail.from, "Klantstem <noreply@localhost>");
	c->mail.timeout_s = 30;
	c->mail.require_tls = o->smtp_tls;
	c->mail_enabled = o->smtp_url != NULL;
	const char *pass = getenv("KLANTSTEM_SMTP_PASSWORD");
	const char *secret = getenv("KLANTSTEM_WEBHOOK_SECRET");
	int rc = cli_copy(c->base_url, sizeof c->base_url, o->base_url, "--base-url");
	if (!rc)
		rc = cli_copy(c->mail.url, sizeof c->mail.url, o->smtp_url, "--smtp");
	if (!rc)
		rc = cli_copy(c->mail.user, sizeof c->mail.user, o->smtp_user, "--smtp-user");
	if (!rc)
		rc = cli_copy(c->mail.pass, sizeof c->mail.pass, pass, "KLANTSTEM_SMTP_PASSWORD");
	if (!rc)
		rc = cli_copy(c->mail.from, sizeof c->mail.from, o->mail_from, "--mail-from");
	if (!rc)
		rc = cli_copy(c->org_name, sizeof c->org_name, o->org_name, "--org-name");
	if (!rc)
		rc = cli_copy(c->webhook_url, sizeof c->webhook_url, o->webhook_url, "--webhook-url");
	if (!rc)
		rc = cli_copy(c->webhook_secret, sizeof c->webhook_secret, secret, "KLANTSTEM_WEBHOOK_SECRET");
	if (rc)
		return rc;
	size_t bl = strlen(c->base_url);
	if (bl && c->base_url[bl - 1] == '/')
		c->base_url[bl - 1] = '\0';
	if (o->smtp_url && strncmp(o->smtp_url, "smtp://", 7) != 0 && strncmp(o->smtp_url, "smtps://", 8) != 0)
		return cli_usage_error("serve", "--smtp wants smtp://host:port or smtps://host:port, got '%s'",
				       o->smtp_url);
	/* one case (issue 13) */
	if (o->case_mail && strcmp(o->case_mail, "digest") != 0 && strcmp(o->case_mail, "per-case") != 0)
		return cli_usage_error("serve", "--case-mail wants digest or per-case, got '%s'", o->case_mail);
	c->case_mail_per_case = o->case_mail && strcmp(o->case_mail, "per-case") == 0;
	if (o->webhook_url && c->webhook_secret[0] == '\0')
		return cli_usage_error("serve", "%s", "--webhook-url needs $KLANTSTEM_WEBHOOK_SECRET");
	/* pollers (issue 16 H11) */
	if (o->feed_proxy && strlen(o->feed_proxy) >= sizeof ((poll_config *)0)->proxy)
		return cli_usage_error("serve", "--feed-proxy: a URL of at most %zu bytes",
				       sizeof ((poll_config *)0)->proxy - 1);
	if (o->feed_test_public && (o->test_clock == NULL || strlen(o->feed_test_public) >= 64))
		return cli_usage_error("serve", "%s", "--feed-test-public ADDR is for tests: only with --test-clock");
	long v;
	if (o->sample_seed && !cli_parse_uint(o->sample_seed, 0, 2147483647, &v))
		return cli_usage_error("serve", "--sample-seed wants a number, got '%s'", o->sample_seed);
	if (o->test_clock) {
		int64_t t = 0;
		if (clock_parse_iso(o->test_clock, &t) != KS_OK)
			return cli_usage_error("serve", "--test-clock wants an ISO 8601 time, got '%s'",
					       o->test_clock);
		clock->fixed = t;
	}
	return 0;
}

/* issue 18 (PKG): the UI's folder when --web-root is not given. An
 * installed binary (PREFIX/bin/klantstem from `make install` or the .deb)
 * serves PREFIX/share/klantstem/web, found from its own path, so one build
 * serves any PREFIX and the systemd unit needs no flag; a binary elsewhere
 * (build/..., in the source tree) serves ./web as before. buf (n bytes)
 * holds the answer when it is not the literal "web". */
static const char *cli_web_root_default(char *buf, size_t n)
{
	static const char tail[] = "/share/klantstem/web";
	ssize_t len = readlink("/proc/self/exe", buf, n - 1);
	if (len <= 0)
		return "web";
	buf[len] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0'; /* the binary's folder */
	slash = slash ? strrchr(buf, '/') : NULL;
	struct stat st;
	if (slash == NULL || strcmp(slash, "/bin") != 0 || (size_t)(slash - buf) + sizeof tail > n)
		return "web";
	memcpy(slash, tail, sizeof tail);
	return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : "web";
}
/* end issue 18 (PKG) */

static int cli_serve(const cli_opts *o)
{
	char addr[64];
	unsigned port;
	ks_error e;
	ks_error_clear(&e);
	if (http_parse_listen(o->listen, addr, sizeof addr, &port, &e))
		return cli_fail(&e);
	/* Block the stop signals in every thread; main waits for them below. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	ks_clock clock = {0};
	invite_config icfg;
	int rc = cli_invite_config(o, addr, port, &clock, &icfg);
	if (rc)
		return rc;
	ks_tz tz;
	tz_default(&tz);
	if (o->time_zone && tz_lookup(o->time_zone, &tz, &e))
		return cli_usage_error("serve", "--time-zone: %s", e.message);
	/* open-link guard (issue 11) */
	guard_config gcfg;
	guard_config_default(&gcfg);
	if (guard_config_parse(o->open_link_guard, &gcfg, &e))
		return cli_usage_error("serve", "%s", e.message);
	/* issue 18 (review): the server is a node on PostgreSQL; commands are not */
	store_options sopt = {.clock = &clock, .tz = tz, .node = true};
	ks_store *s = NULL;
	if (store_open(o->db, &sopt, &s, &e))
		return cli_fail(&e);
	if (o->sample_seed)
		store_set_sample_seed(s, strtoull(o->sample_seed, NULL, 10));
	store_set_webhooks(s, icfg.webhook_url[0] != '\0');
	an_index *ix = NULL;
	if (an_index_build(s, &ix, &e)) {
		store_close(s);
		return cli_fail(&e);
	}
	an_index_set_tz(ix, &tz);
	/* issue 16 (H5): the organisation's own data as dimensions, in the
	 * zone's days; rebuilt after each import (an_index_attr_watch below) */
	if (an_index_attr_load(ix, &e))
		fprintf(stderr, "klantstem: analytics index: no attribute dimensions: %s\n", e.message);
	an_index_info info;
	an_index_get_info(ix, &info);
	fprintf(stderr, "klantstem: analytics index: %zu responses, %zu bytes each, built in %lld ms\n",
		info.rows, info.bytes_per_row, (long long)info.build_ms);
	invite_scheduler *sched = NULL;
	if (invite_scheduler_start(s, &icfg, &clock, o->test_clock == NULL, &sched, &e)) {
		store_close(s);
		an_index_free(ix);
		return cli_fail(&e);
	}
	/* pollers (issue 16 H2): their own thread, on the same clock (in test
	 * mode a feed is due when the test moves the clock past its time) */
	poll_config pcfg;
	poll_config_default(&pcfg, KS_VERSION);
	if (o->feed_timeout)
		pcfg.timeout_s = o->feed_timeout;
	/* pollers (issue 16 H11); checked before anything started */
	if (o->feed_proxy)
		snprintf(pcfg.proxy, sizeof pcfg.proxy, "%s", o->feed_proxy);
	pcfg.allow_private = o->feed_allow_private;
	if (o->feed_test_public)
		snprintf(pcfg.test_public, sizeof pcfg.test_public, "%s", o->feed_test_public);
	mention_poller *poller = NULL;
	if (poll_start(s, &clock, &pcfg, true, &poller, &e)) {
		invite_scheduler_stop(sched);
		store_close(s);
		an_index_free(ix);
		return cli_fail(&e);
	}
	auth_ctx *auth = NULL;
	if (auth_ctx_new(&auth)) {
		poll_stop(poller);
		invite_scheduler_stop(sched);
		store_close(s);
		an_index_free(ix);
		fprintf(stderr, "klantstem: cannot initialise libsodium\n");
		return 1;
	}
	survey_guard *guard = NULL; /* without memory for it: no limits, as before issue 11 */
	if (guard_new(&gcfg, &guard) != KS_OK)
		guard = NULL;
	api_app app = {.store = s, .clock = &clock, .scheduler = sched, .base_url = icfg.base_url,
		       .index = ix, .auth = auth,
		       /* served over https (--base-url): the session cookie is Secure */
		       .secure_cookies = o->secure_cookies || strncmp(icfg.base_url, "https://", 8) == 0,
		       .test_mode = o->test_clock != NULL, .min_n = 5, .min_n_employee = 10,
		       .tz = tz, .guard = guard,
		       .invite = &icfg /* administration (issue 13): reset mails, SMTP test */};
	app.poller = poller; /* pollers (issue 16 H2): "run now" */
	app.ready_sched_max_s = (int)o->ready_sched_max; /* issue 18 (ops) */
	/* Without memory for the cache every request builds its own tables. */
	if (dc_cache_new(&app.disclose) != KS_OK)
		app.disclose = NULL;
	if (api_drv_cache_new(&app.drivers) != KS_OK)  /* key drivers (issue 15) */
		app.drivers = NULL;
	/* issue 17 (D): scheduled digests ride on the scheduler's pass */
	if (api_digest_attach(&app, &e))
		fprintf(stderr, "klantstem: digests off: %s\n", e.message);
	/* The web UI is optional: without its folder the API still runs. */
	struct stat wst;
	char web_buf[4096]; /* issue 18 (PKG) */
	const char *web_root = o->web_root ? o->web_root : cli_web_root_default(web_buf, sizeof web_buf);
	bool web = web_root[0] && stat(web_root, &wst) == 0 && S_ISDIR(wst.st_mode);
	if (!web)
		fprintf(stderr, "klantstem: web root '%s' is not a folder: web UI off (API only)\n",
			web_root);
	http_config cfg = {.listen = o->listen, .threads = o->threads, .access_log = !o->quiet,
			   .routes = api_routes, .n_routes = api_n_routes, .app = &app,
			   .authorize = api_authorize, .web_root = web ? web_root : NULL,
			   .limits = &o->http_limits, .trusted = o->have_trusted ? &o->trusted : NULL,
			   /* issue 18 (ops) */
			   .metrics_listen = o->metrics_listen, .metrics_public = o->metrics_public,
			   .metrics_extra = api_metrics_extra, .log_json = o->log_json,
			   .log_fd = o->log_fd};
	http_server *srv = NULL;
	if (http_start(&cfg, &srv, &e)) {
		poll_stop(poller);
		invite_scheduler_stop(sched);
		store_close(s);
		an_index_free(ix);
		auth_ctx_free(auth);
		dc_cache_free(app.disclose);
		api_drv_cache_free(app.drivers);
		guard_free(guard);
		return cli_fail(&e);
	}
	if (an_index_attr_watch(ix, 1000, &e))  /* issue 16 (H5): a finished import within ~1 s */
		fprintf(stderr, "klantstem: %s\n", e.message);
	fprintf(stderr, "klantstem: mail %s%s; webhooks %s%s\n",
		icfg.mail_enabled ? "via " : "off (no --smtp: invitations wait)",
		icfg.mail_enabled ? icfg.mail.url : "", icfg.webhook_url[0] ? "to " : "off",
		icfg.webhook_url);
	fprintf(stderr, "klantstem %s listening on http://%s:%u (database %s)\n", KS_VERSION, addr,
		http_port(srv), o->db);
	fprintf(stderr, "  health:  http://%s:%u/healthz\n  api:     http://%s:%u/api/v1/metrics\n",
		addr, http_port(srv), addr, http_port(srv));
	if (web)
		fprintf(stderr, "  web UI:  http://%s:%u/ (files from %s)\n", addr, http_port(srv),
			web_root);
	if (http_metrics_port(srv)) /* issue 18 (ops) */
		fprintf(stderr, "  metrics: http://%.*s:%u/metrics\n",
			(int)(strrchr(o->metrics_listen, ':') - o->metrics_listen), o->metrics_listen,
			http_metrics_port(srv));
	/* relationship surveys (issue 16 H6): the quarterly wave, on the same
	 * clock; without its thread the server runs on (no scheduled waves) */
	rel_scheduler *rel_sched = NULL;
	if (rel_scheduler_start(s, &clock, &tz, &rel_sched, &e))
		fprintf(stderr, "klantstem: %s\n", e.message);
	int sig = 0;
	sigwait(&stop, &sig);
	fprintf(stderr, "klantstem: %s received, finishing requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	poll_shutdown(poller); /* a feed's transfer ends now, not after its timeout */
	http_stop(srv, 10000);
	rel_scheduler_stop(rel_sched); /* issue 16 H6 */
	poll_stop(poller);
	invite_scheduler_stop(sched);
	an_index_attr_stop(ix);  /* issue 16 (H5): it reads the store */
	uint64_t batches, rows;
	store_stats(s, &batches, &rows);
	store_close(s);
	an_index_free(ix); /* after the store: its writer feeds the index until it stops */
	auth_ctx_free(auth);
	dc_cache_free(app.disclose); /* after http_stop: no request reads it any more */
	api_drv_cache_free(app.drivers);
	guard_free(guard);
	fprintf(stderr, "klantstem: group commit: %llu batches, %llu rows; stopped cleanly\n",
		(unsigned long long)batches, (unsigned long long)rows);
	return 0;
}

static int cli_run(int argc, char **argv);

/* `klantstem routes`: the route table (api_routes) as a JSON array on stdout. */
static int cli_routes(void)
{
	printf("[");
	for (size_t i = 0; i < api_n_routes; i++) {
		const http_route *r = &api_routes[i];
		printf("%s\n {\"method\": \"%s\", \"pattern\": \"%s\", \"roles\": [", i ? "," : "",
		       r->method, r->pattern);
		if (r->access == API_PUBLIC)
			printf("\"public\"");
		bool first = true;
		for (int role = AUTH_ROLE_EMPLOYEE; role <= AUTH_ROLE_ADMIN; role++) {
			if (r->access & API_ROLE(role)) {
				printf("%s\"%s\"", first ? "" : ", ", auth_role_name((auth_role)role));
				first = false;
			}
		}
		printf("]}");
	}
	printf("\n]\n");
	return 0;
}

int main(int argc, char **argv)
{
	/* issue 16 H9 (mentions): libxml2 2.9's lazy initialisation is not
	 * thread-safe (the Kiyoh reader runs in request and poller threads):
	 * once here, before any thread. */
	xmlInitParser();
	/* libcurl (SMTP, webhooks) wants its global set-up before any thread. */
	if (mail_global_init() != KS_OK) {
		fprintf(stderr, "klantstem: cannot initialise libcurl\n");
		return 1;
	}
	/* issue 17 (X): only the server renders reports (PDF/XLSX), so only it
	 * loads fontconfig's configuration (once, before any thread) and
	 * releases cairo's and fontconfig's caches at exit; other commands skip
	 * the cost. */
	bool reports = argc > 1 && strcmp(argv[1], "serve") == 0;
	if (reports)
		report_global_init();
	int rc = cli_run(argc, argv);
	if (reports)
		report_global_cleanup();
	/* end issue 17 (X) */
	mail_global_cleanup();
	return rc;
}

static int cli_run(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(NULL, "%s", "a command is required");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(cli_usage_main, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0)
		cmd = "version";
	if (strcmp(cmd, "users") == 0 || strcmp(cmd, "tokens") == 0)
		return cli_users_run(argc - 1, argv + 1);
	if (strcmp(cmd, "privacy") == 0)
		return cli_privacy_run(argc - 1, argv + 1);
	/* text understanding (issue 14) */
	if (strcmp(cmd, "text") == 0)
		return cli_text_run(argc - 1, argv + 1);
	/* key-driver analysis of a CSV table (issue 15) */
	if (strcmp(cmd, "drivers") == 0)
		return cli_drivers_run(argc - 1, argv + 1);
	/* issue 18: backup and restore of a SQLite database */
	/* issue 18 (PGS-D): a PostgreSQL database is pg_dump's, said plainly */
	if ((strcmp(cmd, "backup") == 0 || strcmp(cmd, "restore") == 0) &&
	    cli_copy_refuse_pg_backup(argc - 1, argv + 1))
		return 1;
	if (strcmp(cmd, "backup") == 0)
		return cli_backup_run(argc - 1, argv + 1);
	if (strcmp(cmd, "restore") == 0)
		return cli_restore_run(argc - 1, argv + 1);
	/* issue 18 (PGS-D): copy a database between SQLite and PostgreSQL */
	if (strcmp(cmd, "copy") == 0)
		return cli_copy_run(argc - 1, argv + 1);
	/* issue 17 (K): hard KPIs' values */
	if (strcmp(cmd, "import") == 0 && argc > 2 && strcmp(argv[2], "kpis") == 0)
		return cli_import_kpis_run(argc - 1, argv + 1);
	/* issue 16 (H1): reviews and social posts */
	if (strcmp(cmd, "import") == 0 && argc > 2 && strcmp(argv[2], "mentions") == 0)
		return cli_import_mentions_run(argc - 1, argv + 1);
	/* issue 16 (H4): the organisation's own data */
	if (strcmp(cmd, "import") == 0 && argc > 2 && cli_import_data_kind(argv[2]))
		return cli_import_data_run(argc - 1, argv + 1);
	/* import of a CSV file (issue 15) */
	if (strcmp(cmd, "import") == 0)
		return cli_import_run(argc - 1, argv + 1);
	if (cli_usage_for(cmd) == NULL)
		return cli_usage_error(NULL, "unknown command '%s'", cmd);
	if (strcmp(cmd, "routes") == 0)
		return argc == 2 ? cli_routes() : cli_usage_error(cmd, "%s", "routes takes no options");
	/* "user add ...": the sub-command comes before the options */
	const char *sub = NULL;
	int skip = 2;
	if (strcmp(cmd, "user") == 0 && argc > 2 && argv[2][0] != '-') {
		sub = argv[2];
		skip = 3;
	}
	cli_opts o;
	int rc = cli_parse(cmd, argc - skip, argv + skip, &o);
	if (rc)
		return rc;
	if (o.help) {
		fputs(cli_usage_for(cmd), stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("klantstem %s\n", KS_VERSION);
		return 0;
	}
	if (strcmp(cmd, "migrate") == 0)
		return cli_migrate(&o);
	if (strcmp(cmd, "user") == 0)
		return cli_user(&o, sub);
	if (strcmp(cmd, "demo") == 0)
		return cli_demo(&o);
	/* issue 18 (ops): --log-format json wraps stderr for the whole run */
	jlog *jl = NULL;
	if (o.log_json) {
		ks_error e;
		if (jlog_start(&jl, &e))
			return cli_fail(&e);
		o.log_fd = jlog_fd(jl);
	}
	int serve_rc = cli_serve(&o);
	jlog_stop(jl);
	return serve_rc;
}
