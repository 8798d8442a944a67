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

#include "api/api.h"
#include "demo/demo.h"
#include "http/http.h"
#include "store/store.h"

#define KS_VERSION "0.1.0"
#define EXIT_USAGE 2

typedef struct cli_opts {
	const char *db;
	const char *listen;
	unsigned threads;
	bool quiet;
	int scale;
	bool help;
} cli_opts;

static const char *const cli_usage_main =
	"usage: klantstem <command> [options]\n"
	"\n"
	"commands:\n"
	"  serve    --db FILE [--listen ADDR:PORT] [--threads N] [--quiet]\n"
	"           run the HTTP server (default 127.0.0.1:8080)\n"
	"  demo     --db FILE [--scale PERCENT]   fill a new database with demo data\n"
	"  migrate  --db FILE                     create or upgrade the schema\n"
	"  version                                print the version\n"
	"\n"
	"Run 'klantstem <command> --help' for one command.\n";

static const char *cli_usage_for(const char *cmd)
{
	if (strcmp(cmd, "serve") == 0)
		return "usage: klantstem serve --db FILE [--listen ADDR:PORT] [--threads N] [--quiet]\n"
		       "  Serve the JSON API (/api/v1), the survey pages (/s/TOKEN) and /healthz.\n"
		       "  --listen   IPv4 address and port, default 127.0.0.1:8080 (port 0 = any free)\n"
		       "  --threads  HTTP worker threads, default the number of cores\n"
		       "  --quiet    no access log on stderr\n"
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

/* Parse the options after the command name. Returns 0 or an exit code. */
static int cli_parse(const char *cmd, int argc, char **argv, cli_opts *o)
{
	memset(o, 0, sizeof *o);
	o->listen = "127.0.0.1:8080";
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
		} else if (strcmp(a, "--threads") == 0 && strcmp(cmd, "serve") == 0) {
			if (!cli_parse_uint(next, 1, 256, &v))
				return cli_usage_error(cmd, "--threads wants a number 1..256, got '%s'",
						       next ? next : "");
			o->threads = (unsigned)v;
			i++;
		} else if (strcmp(a, "--quiet") == 0 && strcmp(cmd, "serve") == 0) {
			o->quiet = true;
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

static int cli_demo(const cli_opts *o)
{
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	if (store_open(o->db, NULL, &s, &e))
		return cli_fail(&e);
	/* The 24 months end today, so the demo looks current when it is served. */
	demo_options opt = {.seed = 0, .now = clock_now(NULL) / 86400 * 86400,
			    .scale_percent = o->scale};
	demo_stats st;
	ks_err err = demo_generate(s, &opt, &st, &e);
	store_close(s);
	if (err)
		return cli_fail(&e);
	printf("demo data in %s (%lld ms): %d org units, %d employees, %d customers, "
	       "%d journeys, %d touchpoints, %d surveys, %d contacts, %d responses\n",
	       o->db, (long long)st.elapsed_ms, st.org_units, st.employees, st.customers, st.journeys,
	       st.touchpoints, st.surveys, st.contacts, st.responses);
	return 0;
}

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

	ks_store *s = NULL;
	if (store_open(o->db, NULL, &s, &e))
		return cli_fail(&e);
	api_app app = {.store = s, .clock = NULL, .min_n = 5, .min_n_employee = 10};
	http_config cfg = {.listen = o->listen, .threads = o->threads, .access_log = !o->quiet,
			   .routes = api_routes, .n_routes = api_n_routes, .app = &app};
	http_server *srv = NULL;
	if (http_start(&cfg, &srv, &e)) {
		store_close(s);
		return cli_fail(&e);
	}
	fprintf(stderr, "klantstem %s listening on http://%s:%u (database %s)\n", KS_VERSION, addr,
		http_port(srv), o->db);
	fprintf(stderr, "  health:  http://%s:%u/healthz\n  api:     http://%s:%u/api/v1/metrics\n",
		addr, http_port(srv), addr, http_port(srv));
	int sig = 0;
	sigwait(&stop, &sig);
	fprintf(stderr, "klantstem: %s received, finishing requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	http_stop(srv, 10000);
	uint64_t batches, rows;
	store_stats(s, &batches, &rows);
	store_close(s);
	fprintf(stderr, "klantstem: group commit: %llu batches, %llu rows; stopped cleanly\n",
		(unsigned long long)batches, (unsigned long long)rows);
	return 0;
}

int main(int argc, char **argv)
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
	if (cli_usage_for(cmd) == NULL)
		return cli_usage_error(NULL, "unknown command '%s'", cmd);
	cli_opts o;
	int rc = cli_parse(cmd, argc - 2, argv + 2, &o);
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
	if (strcmp(cmd, "demo") == 0)
		return cli_demo(&o);
	return cli_serve(&o);
}
