/* cli_drivers.c — `klantstem drivers` (see cli_drivers.h): reads a CSV
 * table, streams its rows into the key-driver engine and prints weights
 * (raw and as a share of R²), intervals, ranks and R².
 *
 * The CSV comes the way spreadsheets write it: an optional UTF-8 byte order
 * mark, LF or CRLF, quoted fields, and — when the header has semicolons and
 * no comma (Dutch Excel) — ';' as the separator with ',' as the decimal
 * mark. The RFC 4180 reader (core/csv.c) knows commas only, so a semicolon
 * file is rewritten before it is read: outside quotes ';' becomes ',' and
 * ',' becomes '.'; inside quotes nothing changes (a quoted "7,5" is read as
 * 7.5 by number() below).
 *
 * Missing: an empty cell, NA, N/A, n.v.t. and n/a (any case), and every
 * --missing VALUE, are "no rating" (pairwise: never a low score). A row
 * without an outcome is skipped and counted. Anything else that is not a
 * finite number stops the run with FILE:LINE and the column.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cli/cli_drivers.h"
#include "core/csv.h"
#include "cli/cli_util.h"
#include "drivers/drivers.h"

#define FILE_MAX (1024u << 20)
#define MAX_MISSING 16

static const char *const usage =
	"usage: klantstem drivers --csv FILE --outcome COL --drivers COL1,COL2,...\n"
	"                         [--missing VALUE]... [--method relweights|shapley]\n"
	"                         [--bootstrap N] [--seed N] [--group COL]\n"
	"                         [--format table|json|csv]\n"
	"  Which drivers explain the outcome, and how much: each driver's share of\n"
	"  the explained variance (R²) with 95 % bootstrap intervals and ranks.\n"
	"  --method     relweights (Johnson 2000, default, up to 64 drivers) or\n"
	"               shapley (exact LMG over all subsets, up to 15 drivers)\n"
	"  --bootstrap  replicates for the intervals (default 1000, 0 = none)\n"
	"  --seed       the bootstrap's seed (default 15): same seed, same figures\n"
	"  --group      rows with the same value here are resampled together (e.g. a\n"
	"               customer id: one customer's answers are not independent)\n"
	"  --missing    a cell value meaning 'no rating' besides the empty cell, NA,\n"
	"               N/A and n.v.t. (repeatable)\n"
	"  The file may be comma- or semicolon-separated (then ',' is the decimal\n"
	"  mark), with or without a byte order mark, LF or CRLF. docs/DRIVERS.md\n"
	"  says what the figures mean and what they do not.\n";

typedef struct drv_cli_opts {
	const char *csv, *outcome, *drivers, *group, *format;
	const char *missing[MAX_MISSING];
	int n_missing;
	drv_opts eng;
} drv_cli_opts;

/* ---- arguments ---- */

static bool parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, drv_cli_opts *o)
{
	memset(o, 0, sizeof *o);
	drv_opts_default(&o->eng);
	o->format = "table";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return -1;
		}
		if (!v)
			return cli_usage_error("drivers", usage, "unknown or incomplete option '%s'", a);
		i++;
		if (strcmp(a, "--csv") == 0)
			o->csv = v;
		else if (strcmp(a, "--outcome") == 0)
			o->outcome = v;
		else if (strcmp(a, "--drivers") == 0)
			o->drivers = v;
		else if (strcmp(a, "--group") == 0)
			o->group = v;
		else if (strcmp(a, "--format") == 0) {
			if (strcmp(v, "table") && strcmp(v, "json") && strcmp(v, "csv"))
				return cli_usage_error("drivers", usage, "--format wants table, json or csv, got '%s'", v);
			o->format = v;
		} else if (strcmp(a, "--method") == 0) {
			if (!drv_method_parse(v, &o->eng.method))
				return cli_usage_error("drivers", usage, "--method wants relweights or shapley, got '%s'", v);
		} else if (strcmp(a, "--bootstrap") == 0) {
			if (!parse_int(v, 0, DRV_MAX_BOOTSTRAP, &n))
				return cli_usage_error("drivers", usage, "--bootstrap wants a number 0..%d, got '%s'",
						   DRV_MAX_BOOTSTRAP, v);
			o->eng.bootstrap = (int)n;
		} else if (strcmp(a, "--seed") == 0) {
			if (!parse_int(v, 0, INT64_MAX, &n))
				return cli_usage_error("drivers", usage, "--seed wants a number >= 0, got '%s'", v);
			o->eng.seed = (uint64_t)n;
		} else if (strcmp(a, "--missing") == 0) {
			if (o->n_missing == MAX_MISSING)
				return cli_usage_error("drivers", usage, "at most %d --missing values", MAX_MISSING);
			o->missing[o->n_missing++] = v;
		} else
			return cli_usage_error("drivers", usage, "unknown option '%s'", a);
	}
	if (!o->csv || !o->outcome || !o->drivers)
		return cli_usage_error("drivers", usage, "%s", "--csv FILE, --outcome COL and --drivers COL1,COL2,... are required");
	return 0;
}

/* ---- the file ---- */

static int load(const char *path, csv_doc *d)
{
	size_t len;
	char *buf = csv_slurp(path, FILE_MAX, &len);
	if (!buf)
		return cli_fail("%s: %s", path, strerror(errno));
	csv_skip_bom(buf, &len);
	if (csv_semicolon_file(buf, len))
		csv_semicolons_to_commas(buf, len, '.');  /* decimal commas */
	int bad_line;
	const char *why;
	if (!csv_parse(buf, len, d, &bad_line, &why)) {
		csv_free(d);
		return cli_fail("%s:%d: bad CSV: %s", path, bad_line, why);
	}
	if (d->n == 0) {
		csv_free(d);
		return cli_fail("%s:1: bad CSV: no header row", path);
	}
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static int column(const csv_doc *d, const char *path, const char *name, const char *what)
{
	for (int i = 0; i < d->rows[0].n; i++)
		if (strcmp(trim(d->rows[0].field[i]), name) == 0)
			return i;
	cli_fail("%s:1: no column '%s' (%s) in the header", path, name, what);
	return -1;
}

static bool is_missing(const drv_cli_opts *o, const char *s)
{
	if (!*s || strcasecmp(s, "NA") == 0 || strcasecmp(s, "N/A") == 0 ||
	    strcasecmp(s, "n.v.t.") == 0 || strcasecmp(s, "nvt") == 0)
		return true;
	for (int i = 0; i < o->n_missing; i++)
		if (strcmp(s, o->missing[i]) == 0)
			return true;
	return false;
}

/* A finite number; one ',' as the decimal mark is taken as '.'. */
static bool number(char *s, double *out)
{
	char *comma = strchr(s, ',');
	if (comma && !strchr(comma + 1, ',') && !strchr(s, '.'))
		*comma = '.';
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* FNV-1a: the group of a --group value */
static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

typedef struct table {
	int p;
	char **names;  /* p, pointers into the driver list copy */
	char *list;    /* the --drivers copy */
	int ycol, gcol, *xcol;
	long skipped;  /* rows without an outcome */
} table;

static void table_free(table *t)
{
	free(t->names);
	free(t->list);
	free(t->xcol);
}

static int split_drivers(const drv_cli_opts *o, table *t)
{
	t->list = strdup(o->drivers);
	if (!t->list)
		return cli_fail("out of memory");
	int p = 1;
	for (const char *c = t->list; *c; c++)
		p += *c == ',';
	if (p > DRV_MAX_DRIVERS)
		return cli_usage_error("drivers", usage, "at most %d drivers, got %d", DRV_MAX_DRIVERS, p);
	t->names = calloc((size_t)p, sizeof *t->names);
	t->xcol = calloc((size_t)p, sizeof *t->xcol);
	if (!t->names || !t->xcol)
		return cli_fail("out of memory");
	char *s = t->list;
	for (int i = 0; i < p; i++) {
		char *c = strchr(s, ',');
		if (c)
			*c = '\0';
		t->names[i] = trim(s);
		if (!*t->names[i])
			return cli_usage_error("drivers", usage, "--drivers has an empty name (at position %d)", i + 1);
		for (int k = 0; k < i; k++)
			if (strcmp(t->names[k], t->names[i]) == 0)
				return cli_usage_error("drivers", usage, "driver '%s' is named twice", t->names[i]);
		if (strcmp(t->names[i], o->outcome) == 0)
			return cli_usage_error("drivers", usage, "'%s' is the outcome and cannot also be a driver", t->names[i]);
		s = c ? c + 1 : s + strlen(s);
	}
	t->p = p;
	return 0;
}

static int cell(const drv_cli_opts *o, const csv_row *r, int col, const char *name, double *v)
{
	char *s = trim(r->field[col]);
	if (is_missing(o, s)) {
		*v = NAN;
		return 0;
	}
	if (!number(s, v))
		return cli_fail("%s:%d: column '%s': '%.40s' is not a number (missing: an empty cell, NA, "
			    "n.v.t. or --missing VALUE)",
			    o->csv, r->line, name, s);
	return 0;
}

/* The mean of each column's numbers (a first pass; bad cells are reported
 * by the second): the accumulator's centre, so that columns far from 0
 * (amounts, years) keep their precision. */
static void centre_of(const drv_cli_opts *o, const csv_doc *d, const table *t, double *c)
{
	double sum[DRV_MAX_DRIVERS + 1] = {0}, n[DRV_MAX_DRIVERS + 1] = {0}, v;
	int width = d->rows[0].n;
	for (int i = 1; i < d->n; i++) {
		const csv_row *r = &d->rows[i];
		if (r->n != width)
			continue;
		for (int j = 0; j <= t->p; j++) {
			char *s = trim(r->field[j == 0 ? t->ycol : t->xcol[j - 1]]);
			if (!is_missing(o, s) && number(s, &v))
				sum[j] += v, n[j]++;
		}
	}
	for (int j = 0; j <= t->p; j++)
		c[j] = n[j] > 0 ? sum[j] / n[j] : 0;
}

static int fill(const drv_cli_opts *o, const csv_doc *d, table *t, drv_acc *a, int groups)
{
	double x[DRV_MAX_DRIVERS], c[DRV_MAX_DRIVERS + 1];
	int width = d->rows[0].n;
	ks_error e;
	centre_of(o, d, t, c);
	if (drv_acc_center(a, c, &e))
		return cli_fail("%s: %s", o->csv, e.message);
	for (int i = 1; i < d->n; i++) {
		const csv_row *r = &d->rows[i];
		if (r->n != width)
			return cli_fail("%s:%d: %d fields where the header has %d", o->csv, r->line, r->n, width);
		double y;
		if (cell(o, r, t->ycol, o->outcome, &y))
			return 1;
		for (int j = 0; j < t->p; j++)
			if (cell(o, r, t->xcol[j], t->names[j], &x[j]))
				return 1;
		if (isnan(y)) {
			t->skipped++;
			continue;
		}
		/* without --group every row is its own unit: rows are dealt round the
		 * groups, so with up to `groups` rows this is the row bootstrap */
		int g = t->gcol >= 0 ? (int)(hash_str(trim(r->field[t->gcol])) % (uint32_t)groups)
				     : (int)((i - 1) % groups);
		drv_acc_add(a, g, y, x);
	}
	return 0;
}

/* ---- output ---- */

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *triple(double v, double lo, double hi)
{
	return json_pack("{s:o,s:o,s:o}", "value", num(v), "lo", num(lo), "hi", num(hi));
}

static int print_json(const drv_cli_opts *o, const table *t, const drv_result *r, long rows)
{
	json_t *drivers = json_array();
	for (int j = 0; j < r->p; j++) {
		const drv_driver *d = &r->driver[j];
		json_array_append_new(
			drivers,
			json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:{s:i,s:i,s:i},s:o,s:b,s:o}", "driver",
				  t->names[j], "n", (json_int_t)d->n_pairs, "mean", num(d->mean), "sd",
				  num(d->sd), "weight", triple(d->weight, d->weight_lo, d->weight_hi),
				  "share", triple(d->share, d->share_lo, d->share_hi), "rank", "value",
				  d->rank, "lo", d->rank_lo, "hi", d->rank_hi, "vs_noise",
				  triple(d->vs_noise, d->vs_noise_lo, d->vs_noise_hi), "shown_to_matter",
				  d->shown_to_matter, "beta", triple(d->beta, d->beta_lo, d->beta_hi)));
	}
	json_t *out = json_pack(
		"{s:s,s:s,s:I,s:I,s:I,s:o,s:{s:i,s:i,s:i,s:I},s:b,s:o,s:o}", "outcome", o->outcome,
		"method", drv_method_name(r->method), "n", (json_int_t)r->n, "rows", (json_int_t)rows,
		"rows_without_outcome", (json_int_t)t->skipped, "r2", triple(r->r2, r->r2_lo, r->r2_hi),
		"bootstrap", "replicates", r->bootstrap, "used", r->bootstrap_used, "groups",
		r->groups_used, "seed", (json_int_t)o->eng.seed, "repaired", r->repaired, "min_eigen",
		num(r->min_eigen), "drivers", drivers);
	if (!out)
		return cli_fail("out of memory");
	char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(out);
	if (!s)
		return cli_fail("out of memory");
	puts(s);
	free(s);
	return 0;
}

/* CSV: one row per driver, then a row "(model)" with R² in the weight
 * columns; empty cells where there is no interval. */
static void csv_num(double v)
{
	if (isfinite(v))
		printf(",%.10g", v);
	else
		fputs(",", stdout);
}

static void csv_name(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static int print_csv(const drv_result *r, const table *t)
{
	puts("driver,n,mean,sd,weight,weight_lo,weight_hi,share,share_lo,share_hi,rank,rank_lo,rank_hi,"
	     "vs_noise,vs_noise_lo,vs_noise_hi,shown_to_matter,beta,beta_lo,beta_hi");
	for (int j = 0; j < r->p; j++) {
		const drv_driver *d = &r->driver[j];
		csv_name(t->names[j]);
		printf(",%ld", d->n_pairs);
		csv_num(d->mean), csv_num(d->sd);
		csv_num(d->weight), csv_num(d->weight_lo), csv_num(d->weight_hi);
		csv_num(d->share), csv_num(d->share_lo), csv_num(d->share_hi);
		printf(",%d,%d,%d", d->rank, d->rank_lo, d->rank_hi);
		csv_num(d->vs_noise), csv_num(d->vs_noise_lo), csv_num(d->vs_noise_hi);
		printf(",%s", d->shown_to_matter ? "yes" : "no");
		csv_num(d->beta), csv_num(d->beta_lo), csv_num(d->beta_hi);
		putchar('\n');
	}
	printf("\"(model)\",%ld,,", r->n);
	csv_num(r->r2), csv_num(r->r2_lo), csv_num(r->r2_hi);
	puts(",1,1,1,,,,,,,,,,");
	return 0;
}

static void pct(double v)
{
	if (isfinite(v))
		printf(" %5.1f", 100 * v);
	else
		printf("     -");
}

static int print_table(const drv_cli_opts *o, const table *t, const drv_result *r, long rows)
{
	printf("outcome %s, %s, n = %ld of %ld rows (%ld without an outcome)\n", o->outcome,
	       r->method == DRV_SHAPLEY ? "Shapley/LMG" : "relative weights (Johnson)", r->n, rows,
	       t->skipped);
	printf("R² = %.3f", r->r2);
	if (r->bootstrap_used)
		printf(" [%.3f, %.3f], %d of %d bootstrap replicates over %d groups, seed %llu", r->r2_lo,
		       r->r2_hi, r->bootstrap_used, r->bootstrap, r->groups_used,
		       (unsigned long long)o->eng.seed);
	putchar('\n');
	if (r->repaired)
		puts("note: the pairwise correlations were not consistent; the matrix was repaired "
		     "(docs/DRIVERS.md)");
	int w = 6;
	for (int j = 0; j < r->p; j++)
		if ((int)strlen(t->names[j]) > w)
			w = (int)strlen(t->names[j]);
	printf("%-*s %7s %7s %7s %7s  share%%  lo    hi  rank  lo-hi  matters %9s\n", w, "driver", "n",
	       "mean", "weight", "lo", "beta");
	for (int k = 1; k <= r->p; k++)
		for (int j = 0; j < r->p; j++) {
			const drv_driver *d = &r->driver[j];
			if (d->rank != k)
				continue;
			printf("%-*s %7ld %7.2f %7.4f", w, t->names[j], d->n_pairs, d->mean, d->weight);
			if (isfinite(d->weight_lo))
				printf(" %7.4f", d->weight_lo);
			else
				printf(" %7s", "-");
			pct(d->share), pct(d->share_lo), pct(d->share_hi);
			printf(" %4d  %2d-%-2d  %-7s %9.4f\n", d->rank, d->rank_lo, d->rank_hi,
			       !r->bootstrap_used ? "?" : d->shown_to_matter ? "yes" : "not shown",
			       d->beta);
		}
	return 0;
}

/* ---- the command ---- */

static int analyse(const drv_cli_opts *o, table *t, const csv_doc *d)
{
	long rows = d->n - 1;
	int groups = rows < 1 ? 1 : rows > DRV_MAX_GROUPS ? DRV_MAX_GROUPS : (int)rows;
	drv_acc *a = NULL;
	ks_error e;
	/* fewer groups when many drivers would take too much memory */
	while (drv_acc_new(t->p, groups, &a, &e) == KS_ERR_RANGE && groups > 64)
		groups /= 2;
	if (!a)
		return cli_fail("drivers: %s", e.message);
	int rc = fill(o, d, t, a, groups);
	if (rc) {
		drv_acc_free(a);
		return rc;
	}
	drv_opts eng = o->eng;
	eng.names = (const char *const *)t->names;
	eng.outcome_name = o->outcome;
	drv_result r;
	if (drv_analyze(a, &eng, &r, &e)) {
		drv_acc_free(a);
		if (e.code == KS_ERR_INVALID && strcmp(e.field, "drivers") == 0)
			return cli_usage_error("drivers", usage, "%s", e.message);
		return cli_fail("%s: %s (%s)", o->csv, e.message, e.field);
	}
	drv_acc_free(a);
	if (strcmp(o->format, "json") == 0)
		rc = print_json(o, t, &r, rows);
	else if (strcmp(o->format, "csv") == 0)
		rc = print_csv(&r, t);
	else
		rc = print_table(o, t, &r, rows);
	drv_result_free(&r);
	return rc;
}

int cli_drivers_run(int argc, char **argv)
{
	drv_cli_opts o;
	int rc = parse_args(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	table t = {.gcol = -1};
	if ((rc = split_drivers(&o, &t))) {
		table_free(&t);
		return rc;
	}
	if (o.eng.method == DRV_SHAPLEY && t.p > DRV_MAX_SHAPLEY) {
		table_free(&t);
		return cli_usage_error("drivers", usage, "shapley takes at most %d drivers (exact over all subsets), got %d: "
				   "use --method relweights",
				   DRV_MAX_SHAPLEY, t.p);
	}
	csv_doc d;
	if ((rc = load(o.csv, &d))) {
		table_free(&t);
		return rc;
	}
	rc = 1;
	if ((t.ycol = column(&d, o.csv, o.outcome, "--outcome")) < 0)
		goto out;
	if (o.group && (t.gcol = column(&d, o.csv, o.group, "--group")) < 0)
		goto out;
	for (int j = 0; j < t.p; j++)
		if ((t.xcol[j] = column(&d, o.csv, t.names[j], "--drivers")) < 0)
			goto out;
	rc = analyse(&o, &t, &d);
out:
	csv_free(&d);
	table_free(&t);
	return rc;
}
