/* cli_import.c — `klantstem import` (see cli_import.h and docs/IMPORT.md).
 *
 * The shared part reads the file and reports bad rows; each kind maps a row
 * to its model struct without the database (a pure function, so every bad
 * cell of a row is found at once), then resolves the row's references and
 * writes it inside one store_import session. The first bad row stops the
 * writing but not the checking: the user sees every bad row of the file in
 * one run, and the transaction is rolled back.
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

#include "cli/cli_import.h"
#include "cli/cli_util.h"
#include "core/clock.h"
#include "core/utf8.h"
#include "model/model.h"
#include "store/store.h"
#include "survey/page.h"

#define IMP_FILE_MAX (1024u << 20)
#define IMP_SEP_MARK '\x1F'  /* a semicolon file's ',' while the reader runs */

/* ==== shared by every kind =============================================== */

void imp_error(imp_errors *er, int line, const char *col, const char *fmt, ...)
{
	if (line != er->last_line || er->bad_rows == 0)
		er->bad_rows++;
	er->last_line = line;
	if (er->messages++ >= IMP_MAX_MESSAGES)
		return;
	fprintf(stderr, "%s:%d: ", er->path, line);
	if (col)
		fprintf(stderr, "column '%s': ", col);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void imp_unmark(csv_doc *d)
{
	for (int r = 0; r < d->n; r++)
		for (int f = 0; f < d->rows[r].n; f++)
			for (char *c = d->rows[r].field[f]; (c = strchr(c, IMP_SEP_MARK)) != NULL; c++)
				*c = ',';
}

int imp_load(const char *path, csv_doc *d)
{
	memset(d, 0, sizeof *d);
	size_t len = 0;
	char *buf = csv_slurp(path, IMP_FILE_MAX, &len);
	if (!buf)
		return cli_fail("%s: %s", path, strerror(errno));
	csv_skip_bom(buf, &len);
	if (len == 0 || buf[strspn(buf, " \t\r\n")] == '\0') {
		free(buf);
		return cli_fail("%s: the file is empty (it needs a header row and rows below it)", path);
	}
	bool semi = csv_semicolon_file(buf, len);
	if (semi && memchr(buf, IMP_SEP_MARK, len)) {
		free(buf);
		return cli_fail("%s: the file holds a control character (0x1F)", path);
	}
	/* The RFC 4180 reader splits at ',' only: a comma of the file (a
	 * decimal comma, or one in unquoted text) becomes a mark that
	 * imp_unmark turns back after the split, so no field's text changes. */
	if (semi)
		csv_semicolons_to_commas(buf, len, IMP_SEP_MARK);
	int bad_line = 0;
	const char *why = "";
	if (!csv_parse(buf, len, d, &bad_line, &why)) {
		csv_free(d);
		memset(d, 0, sizeof *d);
		return cli_fail("%s:%d: bad CSV: %s", path, bad_line, why);
	}
	if (semi)
		imp_unmark(d);
	if (d->n < 2) {
		csv_free(d);
		memset(d, 0, sizeof *d);
		return cli_fail("%s:2: no rows below the header (nothing to import)", path);
	}
	return 0;
}

/* s without the blanks around it, in place. */
static char *imp_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

int imp_column(const csv_doc *d, const char *name)
{
	for (int i = 0; i < d->rows[0].n; i++)
		if (strcasecmp(imp_trim(d->rows[0].field[i]), name) == 0)
			return i;
	return -1;
}

bool imp_missing(const char *s)
{
	return *s == '\0' || strcasecmp(s, "NA") == 0 || strcasecmp(s, "N/A") == 0 ||
	       strcasecmp(s, "n.v.t.") == 0 || strcasecmp(s, "nvt") == 0;
}

bool imp_whole(const char *s, int lo, int hi, int *out)
{
	char num[32];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof num)
		return false;
	memcpy(num, s, n + 1);
	char *comma = strchr(num, ',');
	if (comma && !strchr(comma + 1, ',') && !strchr(num, '.'))
		*comma = '.';
	/* digits, a sign and a decimal mark only: strtod would also take
	 * "1e1", "0x9" and "inf" */
	if (strspn(num, "0123456789.-") != strlen(num) || !isdigit((unsigned char)num[num[0] == '-']))
		return false;
	char *end;
	errno = 0;
	double v = strtod(num, &end);
	if (errno || end == num || *end || !isfinite(v) || v != floor(v) || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

bool imp_text_ok(const char *s)
{
	return utf8_text_ok(s, false);
}

/* FNV-1a, 64 bits: the content hash behind derived keys and body_hash. */
static uint64_t imp_hash(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}
#define IMP_HASH0 14695981039346656037ull

/* ==== options ============================================================ */

typedef struct imp_opts {
	const char *db;
	const char *file;
	const char *drivers;  /* --drivers COL[=ASPECT],... */
	const char *ignore;   /* --ignore COL,... */
	bool dry_run;
} imp_opts;

typedef int (*imp_kind_fn)(const imp_opts *o, ks_store *s, csv_doc *d, imp_errors *er);

static int imp_responses(const imp_opts *o, ks_store *s, csv_doc *d, imp_errors *er);

static const struct {
	const char *name;
	imp_kind_fn run;
} imp_kinds[] = {
	{"responses", imp_responses},
};

/* Every kind `klantstem import` takes; main.c sends mentions, the
 * internal data kinds (issue 16) and kpis (issue 17) to their own commands
 * before this one. */
#define IMP_ALL_KINDS "responses, mentions, customers, products, holdings, events, kpis"

static const char *const imp_usage =
	"usage: klantstem import responses --db DB FILE [--dry-run]\n"
	"                                  [--drivers COL[=ASPECT],...] [--ignore COL,...]\n"
	"  Load survey answers from a CSV file (a header row, then one response a\n"
	"  row): received_at and touchpoint are required, and at least one of nps,\n"
	"  grade and ces a row; open, language, channel, employee, team,\n"
	"  customer_external_id and client_key may be given; every column\n"
	"  driver:ASPECT (or listed in --drivers) is a 1..10 rating of ASPECT.\n"
	"  Empty, NA, N/A and n.v.t. are no answer. Comma or semicolon files (then\n"
	"  ',' is the decimal mark), with or without a byte order mark, LF or CRLF.\n"
	"  Every bad row is reported as FILE:LINE: column 'x': message, and then\n"
	"  nothing is written (exit 1). Rows imported before (the same client_key,\n"
	"  or without one the same row) are skipped. --dry-run checks only.\n"
	"  docs/IMPORT.md has the format.\n";

/* argv[0] is the kind. Returns 0, -1 after --help, or an exit code. */
static int imp_parse(int argc, char **argv, imp_opts *o)
{
	memset(o, 0, sizeof *o);
	const cli_opt opts[] = {
		{"--db", &o->db, NULL}, {"--drivers", &o->drivers, NULL}, {"--ignore", &o->ignore, NULL},
		{"--dry-run", NULL, &o->dry_run}, {NULL, NULL, NULL},
	};
	int rc = cli_parse_opts("import", imp_usage, argc - 1, argv + 1, opts, &o->file);
	if (rc)
		return rc;
	if (!o->db || !o->file)
		return cli_usage_error("import", imp_usage, "%s", "--db DB and a FILE are required");
	return 0;
}

int cli_import_run(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		if (argc < 2)
			return cli_usage_error("import", imp_usage, "%s", "what to import? (" IMP_ALL_KINDS ")");
		fputs(imp_usage, stdout);
		return 0;
	}
	imp_kind_fn run = NULL;
	for (size_t i = 0; i < sizeof imp_kinds / sizeof imp_kinds[0]; i++)
		if (strcmp(argv[1], imp_kinds[i].name) == 0)
			run = imp_kinds[i].run;
	if (!run)
		return cli_usage_error("import", imp_usage, "cannot import '%s' (known: " IMP_ALL_KINDS ")", argv[1]);
	imp_opts o;
	int rc = imp_parse(argc - 1, argv + 1, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (cli_db_exists(o.db))
		return 1;
	csv_doc d;
	if (imp_load(o.file, &d))
		return 1;
	ks_store *s = NULL;
	ks_error e;
	ks_error_clear(&e);
	store_options so = {0};
	if (store_open(o.db, &so, &s, &e)) {
		csv_free(&d);
		return cli_report(&e, NULL);
	}
	imp_errors er = {.path = o.file};
	rc = run(&o, s, &d, &er);
	store_close(s);
	csv_free(&d);
	if (er.bad_rows) {
		if (er.messages > IMP_MAX_MESSAGES)
			fprintf(stderr, "%s: ... and %d more messages\n", o.file,
				er.messages - IMP_MAX_MESSAGES);
		fprintf(stderr, "klantstem: %s: %d bad row%s; nothing imported\n", o.file, er.bad_rows,
			er.bad_rows == 1 ? "" : "s");
		return 1;
	}
	return rc;
}

/* ==== responses ========================================================== */

enum { RC_RECEIVED, RC_TOUCHPOINT, RC_NPS, RC_GRADE, RC_CES, RC_OPEN, RC_LANGUAGE, RC_CHANNEL,
       RC_EMPLOYEE, RC_TEAM, RC_CUSTOMER, RC_KEY, RC_N };
static const char *const imp_resp_names[RC_N] = {
	"received_at", "touchpoint", "nps", "grade", "ces", "open", "language", "channel",
	"employee", "team", "customer_external_id", "client_key"};

/* Where a responses file keeps what: column numbers (-1 = absent). */
typedef struct imp_resp_cols {
	int col[RC_N];
	int n_drivers;
	int dcol[MODEL_MAX_DRIVERS];
	char aspect[MODEL_MAX_DRIVERS][64];
	const char *name[RC_N];                  /* as the header writes them */
	const char *dname[MODEL_MAX_DRIVERS];
	int width;                               /* fields in the header */
} imp_resp_cols;

/* Does the comma list name name (the part before any '=', any case)? *value
 * (may be NULL) then points at what follows '=', else at the entry itself. */
static bool imp_listed(const char *list, const char *name, const char **value)
{
	size_t nl = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		size_t key = eq ? (size_t)(eq - p) : n;
		if (key == nl && strncasecmp(p, name, nl) == 0) {
			if (value)
				*value = eq ? eq + 1 : p;
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void imp_add_driver(imp_resp_cols *c, imp_errors *er, int i, const char *col,
			   const char *aspect, size_t alen)
{
	while (alen && (*aspect == ' ' || *aspect == '\t')) {
		aspect++;
		alen--;
	}
	while (alen && (aspect[alen - 1] == ' ' || aspect[alen - 1] == '\t'))
		alen--;
	if (alen == 0 || alen >= sizeof c->aspect[0]) {
		imp_error(er, 1, col, "a driver's aspect must be 1..63 bytes");
		return;
	}
	for (int k = 0; k < c->n_drivers; k++)
		if (strlen(c->aspect[k]) == alen && strncmp(c->aspect[k], aspect, alen) == 0) {
			imp_error(er, 1, col, "aspect '%.*s' has a column already", (int)alen, aspect);
			return;
		}
	if (c->n_drivers == MODEL_MAX_DRIVERS) {
		imp_error(er, 1, col, "at most %d driver columns", MODEL_MAX_DRIVERS);
		return;
	}
	memcpy(c->aspect[c->n_drivers], aspect, alen);
	c->aspect[c->n_drivers][alen] = '\0';
	c->dname[c->n_drivers] = col;
	c->dcol[c->n_drivers++] = i;
}

/* The header's columns; errors on line 1. */
static void imp_resp_header(const imp_opts *o, const csv_doc *d, imp_resp_cols *c, imp_errors *er)
{
	memset(c, 0, sizeof *c);
	for (int k = 0; k < RC_N; k++)
		c->col[k] = -1;
	const csv_row *h = &d->rows[0];
	c->width = h->n;
	for (int i = 0; i < h->n; i++) {
		const char *f = imp_trim(h->field[i]);
		const char *aspect = NULL;
		int k = 0;
		while (k < RC_N && strcasecmp(f, imp_resp_names[k]) != 0)
			k++;
		if (k < RC_N) {
			if (c->col[k] >= 0)
				imp_error(er, 1, f, "the header names it twice");
			c->col[k] = i;
			c->name[k] = f;
		} else if (strncasecmp(f, "driver:", 7) == 0) {
			imp_add_driver(c, er, i, f, f + 7, strlen(f + 7));
		} else if (imp_listed(o->drivers, f, &aspect)) {
			const char *end = strchr(aspect, ',');
			imp_add_driver(c, er, i, f, aspect, end ? (size_t)(end - aspect) : strlen(aspect));
		} else if (!imp_listed(o->ignore, f, NULL)) {
			imp_error(er, 1, f, "unknown column (driver ratings are named driver:ASPECT or "
				  "listed in --drivers; --ignore skips a column)");
		}
	}
	/* a --drivers column the file does not have is a typo, not "no ratings" */
	for (const char *p = o->drivers; p && *p;) {
		size_t n = strcspn(p, ",=");
		char name[128];
		snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
		if (imp_column(d, name) < 0)
			imp_error(er, 1, name, "--drivers names it, the header does not have it");
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	for (int k = 0; k <= RC_TOUCHPOINT; k++)
		if (c->col[k] < 0)
			imp_error(er, 1, imp_resp_names[k], "the header has no such column; it is required");
	if (c->col[RC_NPS] < 0 && c->col[RC_GRADE] < 0 && c->col[RC_CES] < 0)
		imp_error(er, 1, NULL, "the header needs at least one of the columns nps, grade and ces");
}

/* The cell of column k, trimmed ("" when the row is short or k absent). */
static const char *imp_cell(const csv_row *row, int col)
{
	return col >= 0 && col < row->n ? imp_trim(row->field[col]) : "";
}

static void imp_score(const imp_resp_cols *c, const csv_row *row, imp_errors *er, int k,
		      model_qtype t, int *out)
{
	const char *v = imp_cell(row, c->col[k]);
	int lo, hi;
	model_qtype_range(t, &lo, &hi);
	*out = -1;
	if (!imp_missing(v) && !imp_whole(v, lo, hi, out)) {
		*out = -1;
		imp_error(er, row->line, c->name[k], "'%.40s' is not a whole number %d..%d", v, lo, hi);
	}
}

static void imp_copy(const imp_resp_cols *c, const csv_row *row, imp_errors *er, int k, char *dst,
		     size_t cap)
{
	const char *v = imp_cell(row, c->col[k]);
	dst[0] = '\0';
	if (imp_missing(v))
		return;
	if (strlen(v) >= cap || !imp_text_ok(v)) {
		imp_error(er, row->line, c->name[k], "'%.40s' is not a valid value (at most %zu bytes of text)",
			  v, cap - 1);
		return;
	}
	memcpy(dst, v, strlen(v) + 1);
}

/* What a row names that only the database can resolve. */
typedef struct imp_resp_refs {
	char touchpoint[512], employee[512], team[512], customer[512];
} imp_resp_refs;

/* Row -> response: every check that needs no database, with the model's
 * rules (ranges from model_qtype_range, channels and languages from the
 * model, the open answer's limits of POST /api/v1/responses). r->open_text
 * points into the row. Errors go to er. */
static void imp_response_from_row(const imp_resp_cols *c, const csv_row *row, imp_errors *er,
				  model_response *r, imp_resp_refs *refs)
{
	model_response_init(r);
	memset(refs, 0, sizeof *refs);
	snprintf(r->source, sizeof r->source, "import");
	if (row->n != c->width) {
		imp_error(er, row->line, NULL, "%d fields where the header has %d", row->n, c->width);
		return;
	}
	const char *v = imp_cell(row, c->col[RC_RECEIVED]);
	int64_t lo = clock_days_from_civil(2000, 1, 1) * 86400, hi = clock_days_from_civil(2100, 1, 1) * 86400;
	if (imp_missing(v))
		imp_error(er, row->line, c->name[RC_RECEIVED], "a date is required");
	else if (clock_parse_iso(v, &r->received_at) != KS_OK)
		imp_error(er, row->line, c->name[RC_RECEIVED],
			  "'%.40s' is not a date (YYYY-MM-DD) or time (YYYY-MM-DDTHH:MM:SSZ)", v);
	else if (r->received_at < lo || r->received_at >= hi)
		imp_error(er, row->line, c->name[RC_RECEIVED], "'%.40s' is not between 2000 and 2099", v);
	imp_copy(c, row, er, RC_TOUCHPOINT, refs->touchpoint, sizeof refs->touchpoint);
	if (refs->touchpoint[0] == '\0' && imp_missing(imp_cell(row, c->col[RC_TOUCHPOINT])))
		imp_error(er, row->line, c->name[RC_TOUCHPOINT], "a touchpoint (id or name) is required");
	imp_copy(c, row, er, RC_EMPLOYEE, refs->employee, sizeof refs->employee);
	imp_copy(c, row, er, RC_TEAM, refs->team, sizeof refs->team);
	imp_copy(c, row, er, RC_CUSTOMER, refs->customer, sizeof refs->customer);
	imp_copy(c, row, er, RC_KEY, r->client_key, sizeof r->client_key);
	imp_score(c, row, er, RC_NPS, MODEL_Q_NPS, &r->nps);
	imp_score(c, row, er, RC_GRADE, MODEL_Q_GRADE, &r->grade);
	imp_score(c, row, er, RC_CES, MODEL_Q_CES, &r->ces);
	if (r->nps < 0 && r->grade < 0 && r->ces < 0 &&
	    imp_missing(imp_cell(row, c->col[RC_NPS])) &&
	    imp_missing(imp_cell(row, c->col[RC_GRADE])) &&
	    imp_missing(imp_cell(row, c->col[RC_CES])))
		imp_error(er, row->line, NULL, "nps, grade and ces are all missing (one is required)");
	for (int i = 0; i < c->n_drivers; i++) {
		const char *dv = imp_cell(row, c->dcol[i]);
		int score, dlo, dhi;
		model_qtype_range(MODEL_Q_DRIVER, &dlo, &dhi);
		if (imp_missing(dv))
			continue;
		if (!imp_whole(dv, dlo, dhi, &score)) {
			imp_error(er, row->line, c->dname[i], "'%.40s' is not a whole number %d..%d", dv, dlo, dhi);
			continue;
		}
		model_driver_score *ds = &r->drivers[r->n_drivers++];
		snprintf(ds->aspect, sizeof ds->aspect, "%s", c->aspect[i]);
		ds->score = score;
	}
	char buf[16];
	imp_copy(c, row, er, RC_LANGUAGE, buf, sizeof buf);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (buf[0] && !model_language_valid(buf))
		imp_error(er, row->line, c->name[RC_LANGUAGE], "'%s' is not a language (nl or en)", buf);
	else if (buf[0])
		memcpy(r->language, buf, sizeof r->language);
	imp_copy(c, row, er, RC_CHANNEL, buf, sizeof buf);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (buf[0] && !model_channel_valid(buf))
		imp_error(er, row->line, c->name[RC_CHANNEL],
			  "'%s' is not a channel (phone, email, chat, shop, web, field)", buf);
	else if (buf[0])
		snprintf(r->channel, sizeof r->channel, "%s", buf);
	/* the open answer without blanks around it; only blanks, or NA, is none */
	const char *t = imp_cell(row, c->col[RC_OPEN]);
	t += strspn(t, " \t\r\n");
	size_t n = strlen(t);
	if (imp_missing(t))
		return;
	if (!imp_text_ok(t))
		imp_error(er, row->line, c->name[RC_OPEN], "not UTF-8 text");
	else if (n > MODEL_OPEN_MAX || survey_text_chars(t, n) > SURVEY_OPEN_CHARS_MAX)
		imp_error(er, row->line, c->name[RC_OPEN], "longer than %d characters (%d bytes)",
			  SURVEY_OPEN_CHARS_MAX, MODEL_OPEN_MAX);
	else
		r->open_text = t;
}

/* The row's content, for a derived client_key: every field as written. */
static uint64_t imp_row_hash(const csv_row *row)
{
	uint64_t h = IMP_HASH0;
	for (int i = 0; i < row->n; i++)
		h = imp_hash(h, row->field[i], strlen(row->field[i]) + 1);
	return h;
}

/* What a response says once resolved: a repeat of a client_key must say
 * the same (as POST /api/v1/responses checks with its body hash). */
static uint64_t imp_body_hash(const model_response *r)
{
	char b[256];
	int n = snprintf(b, sizeof b, "%lld|%lld|%lld|%lld|%lld|%s|%s|%d|%d|%d",
			 (long long)r->received_at, (long long)r->touchpoint_id, (long long)r->employee_id,
			 (long long)r->team_id, (long long)r->customer_id, r->channel, r->language, r->nps,
			 r->grade, r->ces);
	uint64_t h = imp_hash(IMP_HASH0, b, (size_t)n);
	for (int i = 0; i < r->n_drivers; i++) {
		n = snprintf(b, sizeof b, "|%s=%d", r->drivers[i].aspect, r->drivers[i].score);
		h = imp_hash(h, b, (size_t)n);
	}
	if (r->open_text)
		h = imp_hash(h, r->open_text, strlen(r->open_text));
	return h;
}

/* Identical rows without a client_key: the n-th copy gets key ":n", so a
 * file with two equal rows keeps both and its re-import adds neither.
 * Open addressing over the row hashes; cap a power of two. */
typedef struct imp_seen {
	uint64_t *hash;
	int *count;
	size_t cap;
} imp_seen;

static int imp_seen_next(imp_seen *t, uint64_t h)
{
	size_t i = (size_t)h & (t->cap - 1);
	while (t->count[i] && t->hash[i] != h)
		i = (i + 1) & (t->cap - 1);
	t->hash[i] = h;
	return ++t->count[i];
}

static void imp_resolve_one(store_import *im, const imp_resp_cols *c, const csv_row *row,
			    imp_errors *er, int k, store_import_kind kind, const char *value,
			    store_import_ref *ref, const char *what)
{
	ks_error e;
	ks_error_clear(&e);
	memset(ref, 0, sizeof *ref);
	if (!value[0])
		return;
	if (store_import_lookup(im, kind, value, ref, &e))
		imp_error(er, row->line, c->name[k], "%s", e.message);
	else if (ref->id == 0)
		imp_error(er, row->line, c->name[k], "no %s '%.200s'", what, value);
}

/* The row's references as ids (errors to er); the tied fields as
 * store_response_prepare fills them: the team from the employee, the
 * survey from the touchpoint, the language from the customer. */
static void imp_resolve(store_import *im, const imp_resp_cols *c, const csv_row *row,
			imp_errors *er, const imp_resp_refs *refs, model_response *r)
{
	store_import_ref tp, emp, team, cust;
	imp_resolve_one(im, c, row, er, RC_TOUCHPOINT, STORE_IMPORT_TOUCHPOINT, refs->touchpoint, &tp,
			"touchpoint has the id or name");
	imp_resolve_one(im, c, row, er, RC_EMPLOYEE, STORE_IMPORT_EMPLOYEE, refs->employee, &emp,
			"employee has the id or e-mail address");
	imp_resolve_one(im, c, row, er, RC_TEAM, STORE_IMPORT_TEAM, refs->team, &team,
			"team has the id or name");
	imp_resolve_one(im, c, row, er, RC_CUSTOMER, STORE_IMPORT_CUSTOMER, refs->customer, &cust,
			"customer has the external_id");
	r->touchpoint_id = tp.id;
	r->survey_id = tp.related_id;
	r->employee_id = emp.id;
	r->team_id = team.id ? team.id : emp.related_id;
	r->customer_id = cust.id;
	if (r->language[0] == '\0' && cust.language[0])
		memcpy(r->language, cust.language, sizeof r->language);
	if (r->language[0] == '\0')
		snprintf(r->language, sizeof r->language, "nl");
}

typedef struct imp_counts {
	long added, repeats;
} imp_counts;

static void imp_resp_rows(const imp_opts *o, store_import *im, const imp_resp_cols *c,
			  const csv_doc *d, imp_seen *seen, imp_errors *er, imp_counts *k)
{
	for (int i = 1; i < d->n; i++) {
		const csv_row *row = &d->rows[i];
		int before = er->messages;
		model_response r;
		imp_resp_refs refs;
		imp_response_from_row(c, row, er, &r, &refs);
		if (row->n != c->width)
			continue;
		imp_resolve(im, c, row, er, &refs, &r);
		if (r.client_key[0] == '\0') {
			uint64_t h = imp_row_hash(row);
			snprintf(r.client_key, sizeof r.client_key, "import:%016llx:%d", (unsigned long long)h,
				 imp_seen_next(seen, h));
		}
		/* After the first bad row nothing more is written (it will be
		 * rolled back); the checks go on so that every bad row is told. */
		if (er->messages != before || er->bad_rows)
			continue;
		r.body_hash = imp_body_hash(&r);
		bool created = false;
		ks_error e;
		ks_error_clear(&e);
		if (store_import_response(im, &r, !o->dry_run, &created, &e))
			imp_error(er, row->line, e.field[0] ? e.field : NULL, "%s", e.message);
		else if (created)
			k->added++;
		else
			k->repeats++;
	}
}

static int imp_responses(const imp_opts *o, ks_store *s, csv_doc *d, imp_errors *er)
{
	imp_resp_cols c;
	imp_resp_header(o, d, &c, er);
	if (er->bad_rows)
		return 1;
	imp_seen seen = {.cap = 16};
	while (seen.cap < (size_t)d->n * 2)
		seen.cap *= 2;
	seen.hash = calloc(seen.cap, sizeof *seen.hash);
	seen.count = calloc(seen.cap, sizeof *seen.count);
	store_import *im = NULL;
	ks_error e;
	ks_error_clear(&e);
	if (!seen.hash || !seen.count || store_import_begin(s, &im, &e)) {
		free(seen.hash);
		free(seen.count);
		return seen.hash && seen.count ? cli_report(&e, NULL) : cli_fail("out of memory");
	}
	imp_counts k = {0};
	imp_resp_rows(o, im, &c, d, &seen, er, &k);
	free(seen.hash);
	free(seen.count);
	if (er->bad_rows || o->dry_run) {
		store_import_rollback(im);
		if (!er->bad_rows)
			printf("dry run: %ld responses would be added, %ld skipped as imported before; "
			       "nothing written\n", k.added, k.repeats);
		return er->bad_rows ? 1 : 0;
	}
	if (store_import_commit(im, &e))
		return cli_report(&e, NULL);
	printf("%ld responses added, %ld skipped as imported before\n", k.added, k.repeats);
	return 0;
}
