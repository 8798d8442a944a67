/* cli_import_data.c — `klantstem import customers|products|holdings|events`
 * (see cli_import_data.h and docs/IMPORT.md).
 *
 * Three steps: the file is read whole (the encoding converted when the user
 * names one), each column (CSV) or member (JSON Lines) gets its target once
 * — a field, a custom attribute, or dropped — by the mapping, and each
 * record becomes an idata_in that idata_check checks and store_idata_put
 * writes.
 *
 * Two passes over the file held in memory (issue 16 H8): the check pass
 * maps and checks every record and resolves its references in a read
 * transaction (store_idata_begin_check: no write lock, so a running
 * server's writes go on), telling every bad record — unknown customers
 * included — and writing --skip-bad's reject file. Only a file that passed
 * (or whose bad rows are rejected) is written: the write pass takes the
 * write lock, maps the good records again and writes them. A bad file
 * without --skip-bad and --dry-run never take the lock.
 */
#define _XOPEN_SOURCE 700 /* strptime, for the mapping's date formats */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cli_import.h"
#include "cli/cli_import_data.h"
#include "cli/cli_util.h"
#include "core/csv.h"
#include "core/clock.h"
#include "core/tz.h"
#include "core/utf8.h"
#include "model/idata.h"
#include "store/store.h"

#define IMD_FILE_MAX (2048u << 20)
#define IMD_SEP_MARK '\x1F'   /* a semicolon file's ',' while the reader runs */
#define IMD_NOTES_MAX 10      /* duplicate ids told one by one */
#define IMD_REASON_MAX 1024

/* ==== options ============================================================== */

typedef struct imd_opts {
	idata_kind kind;
	const char *db, *file, *mapping, *rejects, *format, *encoding, *time_zone;
	bool dry_run;
} imd_opts;

static const char *const imd_usage =
	"usage: klantstem import customers|products|holdings|events --db DB FILE\n"
	"         [--mapping MAP] [--skip-bad REJECTS] [--format csv|jsonl]\n"
	"         [--encoding utf-8|latin1|cp1252] [--time-zone ZONE] [--dry-run]\n"
	"  Load the organisation's own data from a CSV (comma or semicolon, with or\n"
	"  without a byte order mark) or JSON Lines file; without a mapping the\n"
	"  columns are the field names of POST /api/v1/import/KIND:\n"
	"    customers  external_id, name, email, language, customer_since, city,\n"
	"               birth_year, segment, phone; any other column [a-z0-9_]{1,32}\n"
	"               is a custom attribute\n"
	"    products   external_id, name, category\n"
	"    holdings   customer_external_id, product_external_id, since, until\n"
	"    events     external_id (optional), customer_external_id, kind,\n"
	"               occurred_at, channel, detail\n"
	"  Rows are upserted by external id; a file is one transaction. Every bad\n"
	"  row is told as FILE:LINE: column 'x': message and then nothing is\n"
	"  written (exit 1), unless --skip-bad writes the bad rows with a reason to\n"
	"  REJECTS and imports the rest. --mapping renames, drops and recodes\n"
	"  columns (a JSON file). Times without an offset are local times of\n"
	"  --time-zone (default Europe/Amsterdam). --dry-run checks only.\n"
	"  docs/IMPORT.md has the formats.\n";

bool cli_import_data_kind(const char *kind)
{
	idata_kind k;
	return idata_kind_parse(kind, &k);
}

/* argv[0] is the kind. Returns 0, -1 after --help, or an exit code. */
static int imd_parse(int argc, char **argv, imd_opts *o)
{
	memset(o, 0, sizeof *o);
	idata_kind_parse(argv[0], &o->kind);
	const cli_opt opts[] = {
		{"--db", &o->db, NULL}, {"--mapping", &o->mapping, NULL}, {"--skip-bad", &o->rejects, NULL},
		{"--format", &o->format, NULL}, {"--encoding", &o->encoding, NULL},
		{"--time-zone", &o->time_zone, NULL}, {"--dry-run", NULL, &o->dry_run}, {NULL, NULL, NULL},
	};
	int rc = cli_parse_opts("import", imd_usage, argc - 1, argv + 1, opts, &o->file);
	if (rc)
		return rc;
	if (!o->db || !o->file)
		return cli_usage_error("import", imd_usage, "%s", "--db DB and a FILE are required");
	if (o->format && strcmp(o->format, "csv") != 0 && strcmp(o->format, "jsonl") != 0)
		return cli_usage_error("import", imd_usage, "--format is csv or jsonl, not '%s'", o->format);
	if (o->encoding && strcasecmp(o->encoding, "utf-8") != 0 && strcasecmp(o->encoding, "utf8") != 0 &&
	    strcasecmp(o->encoding, "latin1") != 0 && strcasecmp(o->encoding, "cp1252") != 0)
		return cli_usage_error("import", imd_usage, "--encoding is utf-8, latin1 or cp1252, not '%s'",
				       o->encoding);
	return 0;
}

/* ==== the file ============================================================== */

/* windows-1252's 0x80..0x9F (0: a byte it does not define, kept as the C1
 * control of the same number, as the WHATWG Encoding Standard decodes it). */
static const unsigned short imd_cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
	0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
	0x0153, 0, 0x017E, 0x0178};

/* buf (len bytes) from windows-1252 to UTF-8: a new NUL-terminated buffer
 * (the caller's), NULL when out of memory. --encoding latin1 is read as
 * windows-1252 too (H8), as browsers do (WHATWG): files labelled Latin-1
 * are nearly always Windows files, whose 0x80..0x9F are printable (the
 * euro sign, quotes, dashes), while in ISO-8859-1 they are invisible C1
 * controls. A byte windows-1252 does not define (0x81, 0x8D, 0x8F, 0x90,
 * 0x9D) becomes its C1 control, which the field check refuses with the
 * record's line and column (--skip-bad rejects that record only). A table
 * of 32 rather than iconv: glibc's WINDOWS-1252 fails the whole file at
 * such a byte, with no position. */
static char *imd_to_utf8(const char *buf, size_t len, size_t *out_len)
{
	char *out = malloc(len * 3 + 1), *p = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned c = (unsigned char)buf[i];
		if (c >= 0x80 && c <= 0x9F && imd_cp1252[c - 0x80])
			c = imd_cp1252[c - 0x80];
		if (c < 0x80) {
			*p++ = (char)c;
		} else if (c < 0x800) {
			*p++ = (char)(0xC0 | c >> 6);
			*p++ = (char)(0x80 | (c & 0x3F));
		} else {
			*p++ = (char)(0xE0 | c >> 12);
			*p++ = (char)(0x80 | ((c >> 6) & 0x3F));
			*p++ = (char)(0x80 | (c & 0x3F));
		}
	}
	*p = '\0';
	*out_len = (size_t)(p - out);
	return out;
}

/* The file's bytes as UTF-8 (converted when --encoding names an 8-bit
 * one), without a byte order mark. Returns 0 or 1 after telling why. */
static int imd_read(const imd_opts *o, char **buf, size_t *len, char **raw, size_t *raw_len)
{
	*buf = csv_slurp(o->file, IMD_FILE_MAX, len);
	if (!*buf)
		return cli_fail("%s: %s", o->file, strerror(errno));
	/* --skip-bad writes each bad record's bytes as the file has them
	 * (before conversion, trimming and unquoting): a copy of the file */
	if (o->rejects) {
		*raw = malloc(*len + 1);
		if (!*raw)
			return cli_fail("out of memory");
		memcpy(*raw, *buf, *len + 1);
		*raw_len = *len;
	}
	if (o->encoding && strncasecmp(o->encoding, "utf", 3) != 0) {
		size_t n = 0;
		/* a UTF-8 byte order mark in a file said to be 8-bit: a spreadsheet
		 * wrote it; converted it would be the text "ï»¿" in the first name */
		csv_skip_bom(*buf, len);
		char *u = imd_to_utf8(*buf, *len, &n);
		free(*buf);
		*buf = u;
		*len = n;
		if (!u)
			return cli_fail("out of memory");
	}
	csv_skip_bom(*buf, len);
	if ((*buf)[strspn(*buf, " \t\r\n")] == '\0') {
		free(*buf);
		*buf = NULL;
		return cli_fail("%s: the file is empty", o->file);
	}
	return 0;
}

/* JSON Lines when --format says so, or the name ends in .jsonl / .ndjson /
 * .json, or (another name) the first thing in it is a '{'. */
static bool imd_is_jsonl(const imd_opts *o, const char *buf)
{
	if (o->format)
		return strcmp(o->format, "jsonl") == 0;
	const char *dot = strrchr(o->file, '.');
	if (dot && (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0 ||
		    strcasecmp(dot, ".json") == 0))
		return true;
	if (dot && (strcasecmp(dot, ".csv") == 0 || strcasecmp(dot, ".txt") == 0))
		return false;
	return buf[strspn(buf, " \t\r\n")] == '{';
}

/* ==== the mapping =========================================================== */

/* A mapping file (docs/IMPORT.md):
 *   {"columns": {"TARGET": "SOURCE COLUMN", ...},   renames
 *    "drop":    ["SOURCE COLUMN", ...],              ignored columns
 *    "values":  {"TARGET": {"FROM": "TO", ...}},     recodes (null: empty)
 *    "dates":   {"TARGET": "%d-%m-%Y"}}              strptime formats
 * TARGET is a field of the kind (or, customers, an attribute key). */
typedef struct imd_map {
	json_t *root, *columns, *drop, *values, *dates;
} imd_map;

static bool imd_date_field(idata_kind k, int f)
{
	return (k == IDATA_CUSTOMERS && f == IDC_SINCE) ||
	       (k == IDATA_HOLDINGS && (f == IDH_SINCE || f == IDH_UNTIL)) ||
	       (k == IDATA_EVENTS && f == IDE_OCCURRED_AT);
}

/* A target name of the mapping: a field, or (customers) an attribute key. */
static bool imd_target_ok(idata_kind k, const char *t)
{
	return idata_field(k, t) >= 0 || (k == IDATA_CUSTOMERS && idata_attr_key_ok(t));
}

static int imd_map_fail(const char *path, const char *where, const char *what)
{
	return cli_fail("%s: %s: %s", path, where, what);
}

/* Checks each member of obj (NULL = fine) as a target with a value of the
 * json type t (JSON_OBJECT / JSON_STRING). */
static int imd_map_targets(const imd_opts *o, json_t *obj, const char *name, json_type t)
{
	const char *key;
	json_t *v;
	char where[128];
	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return imd_map_fail(o->mapping, name, "must be an object");
	json_object_foreach(obj, key, v) {
		snprintf(where, sizeof where, "%s.%.64s", name, key);
		if (!imd_target_ok(o->kind, key))
			return imd_map_fail(o->mapping, where, o->kind == IDATA_CUSTOMERS
				? "not a customer field nor an attribute key ([a-z0-9_]{1,32})"
				: "not a field of this kind");
		if (json_typeof(v) != t)
			return imd_map_fail(o->mapping, where, t == JSON_STRING ? "must be a string" : "must be an object");
		if (strcmp(name, "dates") == 0 && !imd_date_field(o->kind, idata_field(o->kind, key)))
			return imd_map_fail(o->mapping, where, "not a date or time field");
	}
	return 0;
}

static int imd_map_load(const imd_opts *o, imd_map *m)
{
	memset(m, 0, sizeof *m);
	if (!o->mapping)
		return 0;
	json_error_t je;
	m->root = json_load_file(o->mapping, JSON_REJECT_DUPLICATES, &je);
	if (!m->root && je.line < 1) /* not read at all: no such file */
		return cli_fail("%s", je.text);
	if (!m->root)
		return cli_fail("%s:%d: not a JSON mapping: %s", o->mapping, je.line, je.text);
	if (!json_is_object(m->root))
		return cli_fail("%s: a mapping is a JSON object", o->mapping);
	const char *key;
	json_t *v;
	json_object_foreach(m->root, key, v) {
		if (strcmp(key, "columns") && strcmp(key, "drop") && strcmp(key, "values") && strcmp(key, "dates"))
			return cli_fail("%s: '%.64s': unknown member (columns, drop, values, dates)", o->mapping, key);
	}
	m->columns = json_object_get(m->root, "columns");
	m->drop = json_object_get(m->root, "drop");
	m->values = json_object_get(m->root, "values");
	m->dates = json_object_get(m->root, "dates");
	if (imd_map_targets(o, m->columns, "columns", JSON_STRING) ||
	    imd_map_targets(o, m->values, "values", JSON_OBJECT) || imd_map_targets(o, m->dates, "dates", JSON_STRING))
		return 1;
	size_t i;
	json_array_foreach(m->drop, i, v) {
		if (!json_is_string(v))
			return cli_fail("%s: drop[%zu]: must be a string", o->mapping, i);
	}
	if (m->drop && !json_is_array(m->drop))
		return cli_fail("%s: drop: must be an array of column names", o->mapping);
	/* H8: one source column taken for two targets is a mistake, not "the
	 * last one wins" */
	json_object_foreach(m->columns, key, v) {
		const char *k2;
		json_t *v2;
		json_object_foreach(m->columns, k2, v2) {
			if (strcmp(k2, key) == 0)
				break;
			if (strcmp(json_string_value(v2), json_string_value(v)) == 0)
				return cli_fail("%s: columns.%.64s and columns.%.64s: both take the source column '%.64s'",
						o->mapping, k2, key, json_string_value(v));
		}
	}
	json_object_foreach(m->values, key, v) {
		const char *from;
		json_t *to;
		json_object_foreach(v, from, to) {
			if (!json_is_string(to) && !json_is_null(to))
				return cli_fail("%s: values.%.64s.%.64s: must be a string or null", o->mapping, key, from);
		}
	}
	return 0;
}

/* What a source column becomes. */
typedef struct imd_target {
	const char *source;     /* the column as the file names it */
	int field;              /* -1: an attribute (attr) or dropped */
	const char *attr;       /* customers: the attribute's key */
	bool drop;
	json_t *values;         /* the mapping's recoding (borrowed), or NULL */
	const char *date_fmt;   /* the mapping's format, or NULL */
} imd_target;

static char *imd_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

/* The target of source column src; false (with *why) when it has none. */
static bool imd_target_of(idata_kind k, const imd_map *m, const char *src, imd_target *t, const char **why)
{
	memset(t, 0, sizeof *t);
	t->source = src;
	t->field = -1;
	size_t i;
	json_t *v;
	json_array_foreach(m->drop, i, v) {
		if (strcmp(json_string_value(v), src) == 0) {
			t->drop = true;
			return true;
		}
	}
	const char *name = src, *key;
	json_object_foreach(m->columns, key, v) {
		if (strcmp(json_string_value(v), src) == 0)
			name = key;
	}
	int n = 0;
	const char *const *f = idata_fields(k, &n);
	for (int j = 0; j < n; j++)
		if (strcasecmp(f[j], name) == 0)
			t->field = j;
	if (t->field >= 0)
		name = f[t->field];
	else if (k == IDATA_CUSTOMERS && idata_attr_key_ok(name))
		t->attr = name;
	else {
		*why = k == IDATA_CUSTOMERS
			? "not a customer field, and not a custom attribute name ([a-z0-9_]{1,32}); a --mapping can "
			  "rename or drop it"
			: "unknown column; a --mapping can rename or drop it";
		return false;
	}
	t->values = json_object_get(m->values, name);
	t->date_fmt = json_string_value(json_object_get(m->dates, name));
	return true;
}

/* ==== one run ================================================================ */

typedef struct imd_run {
	const imd_opts *o;
	ks_tz tz;
	store_idata *x;
	bool jsonl, semi;
	bool writing;           /* the write pass (else the check pass) */
	unsigned char *badrec;  /* per record (CSV row / JSON Lines line): bad in the check pass */
	size_t n_badrec;
	ks_store *s;
	/* --skip-bad: the file's bytes as read, and where each line starts */
	char *raw;
	size_t raw_len, *line_at, n_lines;
	store_idata_counts checked; /* the check pass's counts (what --dry-run tells) */
	int64_t lock_ms;        /* when the write session took the lock (clock_mono_ms) */
	/* errors: told on stderr up to IMP_MAX_MESSAGES */
	long bad, messages, notes;
	/* the record under way */
	int line;
	const char *src[IDATA_MAX_FIELDS];    /* source column of each field */
	const char *attr_src[IDATA_MAX_ATTRS];
	const idata_in *in;
	char reason[IMD_REASON_MAX];
	size_t reason_len;
	bool rec_bad;
	/* --skip-bad */
	FILE *rej;
	long rejected;
	/* value buffers of the record under way (dates formatted by the mapping) */
	char datebuf[IDATA_MAX_FIELDS][64];
	char numbuf[IDATA_MAX_FIELDS + IDATA_MAX_ATTRS][40];
} imd_run;

static void imd_say(imd_run *r, const char *col, const char *field, const char *msg)
{
	r->rec_bad = true;
	/* appended piece by piece at character boundaries: a column's name is
	 * the file's own text, of any length, and a reason with a character cut
	 * in two loses every non-ASCII letter in a JSON Lines reject file */
	char part[512] = "";
	size_t pl = 0;
	if (col) {
		bool both = field && strcmp(col, field) != 0;
		utf8_append(part, sizeof part, &pl, "column '");
		utf8_append(part, sizeof part, &pl, col);
		utf8_append(part, sizeof part, &pl, both ? "' (" : "': ");
		if (both) {
			utf8_append(part, sizeof part, &pl, field);
			utf8_append(part, sizeof part, &pl, "): ");
		}
	}
	utf8_append(part, sizeof part, &pl, msg);
	if (r->messages++ < IMP_MAX_MESSAGES)
		fprintf(stderr, "%s:%d: %s\n", r->o->file, r->line, part);
	if (r->reason_len)
		utf8_append(r->reason, sizeof r->reason, &r->reason_len, "; ");
	utf8_append(r->reason, sizeof r->reason, &r->reason_len, part);
}

/* idata_err_fn: field is a field name or an attribute's key. */
static void imd_field_error(void *arg, const char *field, const char *msg)
{
	imd_run *r = arg;
	int f = idata_field(r->o->kind, field);
	const char *col = f >= 0 ? r->src[f] : NULL;
	for (int i = 0; !col && i < r->in->n_attrs; i++)
		if (strcmp(r->in->attr_key[i], field) == 0)
			col = r->attr_src[i];
	imd_say(r, col ? col : field, field, msg);
}

static void imd_begin_record(imd_run *r, int line)
{
	r->line = line;
	r->reason_len = 0;
	r->reason[0] = '\0';
	r->rec_bad = false;
	memset(r->src, 0, sizeof r->src);
}

/* v as the mapping makes it: recoded by values, a date by its format
 * (into buf). NULL after telling why it is bad. */
static const char *imd_apply(imd_run *r, const imd_target *t, const char *v, char *buf, size_t n)
{
	json_t *to = t->values ? json_object_get(t->values, v) : NULL;
	if (to)
		v = json_is_string(to) ? json_string_value(to) : "";
	if (!t->date_fmt || *v == '\0')
		return v;
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_mday = 1;
	const char *end = strptime(v, t->date_fmt, &tm);
	int y = tm.tm_year + 1900, mo = tm.tm_mon + 1;
	int64_t day = clock_days_from_civil(y, mo, tm.tm_mday);
	int cy, cm, cd;
	clock_civil(day, &cy, &cm, &cd);
	if (!end || *end != '\0' || cd != tm.tm_mday || cm != mo) {
		char msg[160];
		snprintf(msg, sizeof msg, "'%.40s' is not a date in the mapping's format '%.40s'", v, t->date_fmt);
		imd_say(r, t->source, idata_fields(r->o->kind, NULL)[t->field], msg);
		return NULL;
	}
	if (t->field != IDE_OCCURRED_AT || r->o->kind != IDATA_EVENTS)
		snprintf(buf, n, "%04d-%02d-%02d", y, mo, tm.tm_mday);
	else if (strstr(t->date_fmt, "%z"))
		snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y % 10000, mo % 100, tm.tm_mday % 100,
			 tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, tm.tm_gmtoff < 0 ? '-' : '+',
			 (int)(labs(tm.tm_gmtoff) / 3600 % 100), (int)(labs(tm.tm_gmtoff) % 3600 / 60));
	else
		snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
	return buf;
}

/* Adds the value of target t to in; false when the record names it twice. */
static void imd_set(imd_run *r, idata_in *in, const imd_target *t, const char *v)
{
	if (t->drop)
		return;
	if (t->field >= 0) {
		if (in->v[t->field]) {
			imd_say(r, t->source, NULL, "a second value for the same field");
			return;
		}
		v = imd_apply(r, t, v, r->datebuf[t->field], sizeof r->datebuf[0]);
		if (!v)
			return;
		in->v[t->field] = v;
		r->src[t->field] = t->source;
		return;
	}
	if (in->n_attrs == IDATA_MAX_ATTRS) {
		imd_say(r, t->source, NULL, "more than 64 custom attributes");
		return;
	}
	v = imd_apply(r, t, v, r->datebuf[0], sizeof r->datebuf[0]);
	r->attr_src[in->n_attrs] = t->source;
	in->attr_key[in->n_attrs] = t->attr;
	in->attr_val[in->n_attrs++] = v ? v : "";
}

/* CSV: the original fields; JSON Lines: the object (or the line's text). */
typedef struct imd_orig {
	const csv_row *row;
	json_t *obj;
	const char *text;
	int line_end;           /* the first line after the record */
} imd_orig;

/* Lines [first, end) of the file as read (1-based; end past the last line:
 * to the end), without the line ends and blank lines after them, nor a
 * byte order mark. Builds the line index on first use; false when out of
 * memory. */
static bool imd_raw_lines(imd_run *r, int first, int end, const char **p, size_t *n)
{
	if (!r->line_at) {
		size_t k = 1;
		for (size_t i = 0; i < r->raw_len; i++)
			k += r->raw[i] == '\n';
		r->line_at = malloc((k + 1) * sizeof *r->line_at);
		if (!r->line_at)
			return false;
		r->line_at[0] = r->raw_len >= 3 && memcmp(r->raw, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
		r->n_lines = 1;
		for (size_t i = 0; i < r->raw_len; i++)
			if (r->raw[i] == '\n')
				r->line_at[r->n_lines++] = i + 1;
		r->line_at[r->n_lines] = r->raw_len;
	}
	size_t a = first >= 1 && (size_t)first <= r->n_lines ? (size_t)first - 1 : r->n_lines;
	size_t b = end >= 1 && (size_t)end - 1 <= r->n_lines ? (size_t)end - 1 : r->n_lines;
	size_t from = r->line_at[a], to = r->line_at[b < a ? a : b];
	while (to > from && (r->raw[to - 1] == '\n' || r->raw[to - 1] == '\r'))
		to--;
	*p = r->raw + from;
	*n = to - from;
	return true;
}

/* s as JSON text; a message quoting a value cut in the middle of a UTF-8
 * sequence gets '?' for its bytes past ASCII. */
static json_t *imd_json_text(char *s)
{
	json_t *j = json_string(s);
	for (char *c = s; !j && *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	return j ? j : json_string(s);
}

static void imd_csv_field(FILE *f, const char *s, char sep)
{
	if (strpbrk(s, "\"\r\n") || strchr(s, sep) || strchr(s, ',')) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
}

/* The bad record as the file has it, with why: CSV its line(s) byte for
 * byte and a last column reason; JSON Lines {"line","reason","original"}
 * ("original_base64" when the line is not UTF-8). */
static void imd_reject(imd_run *r, const imd_orig *orig)
{
	char reason[IMD_REASON_MAX + 32];
	snprintf(reason, sizeof reason, "line %d: %s", r->line, r->reason);
	r->rejected++;
	const char *raw = NULL;
	size_t n = 0;
	if (!imd_raw_lines(r, r->line, orig->line_end, &raw, &n)) {
		raw = "";
		n = 0;
	}
	if (r->jsonl) {
		json_t *o = json_pack("{s:i, s:o}", "line", r->line, "reason", imd_json_text(reason));
		json_t *text = json_stringn(raw, n);
		if (o && text) {
			json_object_set_new(o, "original", text);
		} else if (o) {
			size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
			char *b64 = malloc(cap);
			if (b64)
				json_object_set_new(o, "original_base64", json_string(sodium_bin2base64(
					b64, cap, (const unsigned char *)raw, n, sodium_base64_VARIANT_ORIGINAL)));
			free(b64);
		}
		char *out = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (out)
			fprintf(r->rej, "%s\n", out);
		free(out);
		json_decref(o);
		return;
	}
	fwrite(raw, 1, n, r->rej);
	fputc(r->semi ? ';' : ',', r->rej);
	imd_csv_field(r->rej, reason, r->semi ? ';' : ',');
	fputs("\r\n", r->rej);
}

/* Was record i bad in the check pass? (Then the write pass skips it.) */
static bool imd_skip(const imd_run *r, size_t i)
{
	return r->writing && i < r->n_badrec && r->badrec[i];
}

/* A bad record: told already; counted, marked for the write pass, rejected. */
static void imd_bad(imd_run *r, size_t i, const imd_orig *orig)
{
	r->bad++;
	if (i < r->n_badrec)
		r->badrec[i] = 1;
	if (r->rej)
		imd_reject(r, orig);
}

/* Check one record and put it into the session (the check pass: resolve
 * and count; the write pass: write). A bad one is told, and rejected or
 * counted; in the write pass (a record that passed the check) it means
 * the database changed meanwhile: the file fails. */
static int imd_record(imd_run *r, size_t i, idata_in *in, const imd_orig *orig)
{
	idata_rec rec;
	r->in = in;
	idata_check(r->o->kind, in, &r->tz, &rec, imd_field_error, r);
	if (!r->rec_bad) {
		ks_error e;
		ks_error_clear(&e);
		bool dup = false;
		ks_err err = store_idata_put(r->x, &rec, &dup, &e);
		if (err && err != KS_ERR_REF && err != KS_ERR_INVALID && err != KS_ERR_CONFLICT)
			return cli_report(&e, NULL); /* the database failed: stop */
		if (err)
			imd_field_error(r, e.field[0] ? e.field : "", e.message);
		else if (dup && !r->writing && r->notes++ < IMD_NOTES_MAX)
			fprintf(stderr, "%s:%d: note: this %s came earlier in the file; the last row counts\n",
				r->o->file, r->line, r->o->kind == IDATA_HOLDINGS ? "customer and product" : "external_id");
	}
	if (r->rec_bad && r->writing)
		return cli_fail("%s:%d: the database changed since the check (see above); nothing imported",
				r->o->file, r->line);
	if (r->rec_bad)
		imd_bad(r, i, orig);
	return 0;
}

static void imd_progress(const imd_run *r, long done, long total, bool tty)
{
	if (!tty || total < 10000 || (done % 16384 != 0 && done != total))
		return;
	int pct = (int)(done * 100 / total), w = pct / 4;
	fprintf(stderr, "\r%s [%.*s%*s] %3d%% %ld/%ld", idata_kind_name(r->o->kind), w,
		"#########################", 25 - w, "", pct, done, total);
	if (done == total)
		fputs("\r\033[K", stderr);
	fflush(stderr);
}

/* After the check pass: end its read transaction; a file with bad rows
 * and no --skip-bad stops here (nothing written, no lock taken), a dry run
 * too; otherwise the write session takes the lock and r->writing is set. */
static int imd_write_pass(imd_run *r)
{
	store_idata_counts_get(r->x, &r->checked);
	store_idata_rollback(r->x);
	r->x = NULL;
	if (r->bad && !r->rej) {
		if (r->messages > IMP_MAX_MESSAGES)
			fprintf(stderr, "%s: ... and %ld more messages\n", r->o->file, r->messages - IMP_MAX_MESSAGES);
		fprintf(stderr, "klantstem: %s: %ld bad row%s; nothing imported\n", r->o->file, r->bad,
			r->bad == 1 ? "" : "s");
		return 1;
	}
	if (r->o->dry_run)
		return 0;
	ks_error e;
	ks_error_clear(&e);
	r->lock_ms = clock_mono_ms();
	if (store_idata_begin(r->s, r->o->kind, &r->x, &e))
		return cli_report(&e, NULL);
	r->writing = true;
	return 0;
}

/* ==== CSV ===================================================================== */

static void imd_unmark(csv_doc *d)
{
	for (int i = 0; i < d->n; i++)
		for (int f = 0; f < d->rows[i].n; f++)
			for (char *c = d->rows[i].field[f]; (c = strchr(c, IMD_SEP_MARK)) != NULL; c++)
				*c = ',';
}

/* The header's targets into t (d->rows[0].n of them); errors on line 1. */
static int imd_csv_header(imd_run *r, const imd_map *m, const csv_doc *d, imd_target *t)
{
	const csv_row *h = &d->rows[0];
	int bad = 0, nf = 0;
	const char *const *f = idata_fields(r->o->kind, &nf);
	bool have[IDATA_MAX_FIELDS] = {0};
	for (int i = 0; i < h->n; i++) {
		const char *why = NULL;
		char *name = imd_trim(h->field[i]);
		if (!imd_target_of(r->o->kind, m, name, &t[i], &why)) {
			fprintf(stderr, "%s:1: column '%s': %s\n", r->o->file, name, why);
			bad++;
			continue;
		}
		for (int j = 0; j < i; j++)
			if (!t[i].drop && !t[j].drop && t[i].field == t[j].field &&
			    (t[i].field >= 0 || strcmp(t[i].attr, t[j].attr) == 0)) {
				fprintf(stderr, "%s:1: column '%s': a second column for %s\n", r->o->file, name,
					t[i].field >= 0 ? f[t[i].field] : t[i].attr);
				bad++;
			}
		if (t[i].field >= 0)
			have[t[i].field] = true;
	}
	/* the required fields (idata_check tells each row, but one line is enough) */
	static const int req[IDATA__KINDS][3] = {{IDC_EXTERNAL_ID, -1, -1}, {IDP_EXTERNAL_ID, IDP_NAME, -1},
						   {IDH_CUSTOMER, IDH_PRODUCT, -1},
						   {IDE_CUSTOMER, IDE_KIND, IDE_OCCURRED_AT}};
	for (int j = 0; j < 3; j++) {
		int k = req[r->o->kind][j];
		if (k >= 0 && !have[k]) {
			fprintf(stderr, "%s:1: column '%s': the header has no such column; it is required\n",
				r->o->file, f[k]);
			bad++;
		}
	}
	/* a mapping's source that the header does not have is a typo */
	const char *key;
	json_t *v;
	json_object_foreach(m->columns, key, v) {
		bool found = false;
		for (int i = 0; i < h->n && !found; i++)
			found = strcmp(imd_trim(h->field[i]), json_string_value(v)) == 0;
		if (!found) {
			fprintf(stderr, "%s:1: column '%s': the mapping takes it for %s, the header does not have it\n",
				r->o->file, json_string_value(v), key);
			bad++;
		}
	}
	return bad;
}

/* The missing-value words (NA, N/A, n.v.t., nvt: imp_missing) are empty
 * only in a numeric or date column (H8): in a text column they are text — a
 * customer named "Na", a segment "NA" — and an empty cell there would clear
 * the stored field. */
static bool imd_missing_applies(idata_kind k, const imd_target *t)
{
	return t->field >= 0 && (imd_date_field(k, t->field) || (k == IDATA_CUSTOMERS && t->field == IDC_BIRTH_YEAR));
}

/* One pass over the CSV rows (targets t of the header). */
static int imd_csv_pass(imd_run *r, const csv_doc *d, const imd_target *t)
{
	bool tty = isatty(2);
	int rc = 0;
	for (int i = 1; !rc && i < d->n; i++) {
		const csv_row *row = &d->rows[i];
		if (imd_skip(r, (size_t)i))
			continue;
		idata_in in;
		memset(&in, 0, sizeof in);
		imd_begin_record(r, row->line);
		imd_orig orig = {.row = row, .line_end = i + 1 < d->n ? d->rows[i + 1].line : INT_MAX};
		if (row->n != d->rows[0].n) {
			char msg[96];
			snprintf(msg, sizeof msg, "%d fields where the header has %d", row->n, d->rows[0].n);
			imd_say(r, NULL, NULL, msg);
			imd_bad(r, (size_t)i, &orig);
			continue;
		}
		for (int c = 0; c < row->n; c++) {
			char *v = imd_trim(row->field[c]);
			imd_set(r, &in, &t[c], imp_missing(v) && imd_missing_applies(r->o->kind, &t[c]) ? "" : v);
		}
		rc = imd_record(r, (size_t)i, &in, &orig);
		imd_progress(r, i, d->n - 1, tty);
	}
	return rc;
}

static int imd_csv(imd_run *r, const imd_map *m, char *buf, size_t len)
{
	r->semi = csv_semicolon_file(buf, len);
	if (r->semi && memchr(buf, IMD_SEP_MARK, len)) {
		free(buf);
		return cli_fail("%s: the file holds a control character (0x1F)", r->o->file);
	}
	if (r->semi)
		csv_semicolons_to_commas(buf, len, IMD_SEP_MARK);
	csv_doc d;
	int bad_line = 0;
	const char *why = "";
	if (!csv_parse(buf, len, &d, &bad_line, &why)) {
		csv_free(&d);
		return cli_fail("%s:%d: bad CSV: %s", r->o->file, bad_line, why);
	}
	if (r->semi)
		imd_unmark(&d);
	imd_target *t = d.n ? calloc((size_t)d.rows[0].n, sizeof *t) : NULL;
	int rc = d.n < 2 ? cli_fail("%s:2: no rows below the header (nothing to import)", r->o->file)
	       : !t ? cli_fail("out of memory") : imd_csv_header(r, m, &d, t) ? 1 : 0;
	if (!rc && r->rej) {
		const char *h = NULL;
		size_t hn = 0;
		if (!imd_raw_lines(r, 1, d.n > 1 ? d.rows[1].line : 2, &h, &hn))
			rc = cli_fail("out of memory");
		else
			fprintf(r->rej, "%.*s%creason\r\n", (int)hn, h, r->semi ? ';' : ',');
	}
	r->n_badrec = (size_t)d.n;
	if (!rc && !(r->badrec = calloc(r->n_badrec, 1)))
		rc = cli_fail("out of memory");
	if (!rc)
		rc = imd_csv_pass(r, &d, t);
	if (!rc)
		rc = imd_write_pass(r);
	if (!rc && r->writing)
		rc = imd_csv_pass(r, &d, t);
	free(t);
	csv_free(&d);
	return rc;
}

/* ==== JSON Lines ============================================================== */

static int imd_jsonl_line(imd_run *r, const imd_map *m, size_t rec, char *text, size_t n)
{
	imd_orig orig = {.text = text, .line_end = r->line + 1};
	if (!idata_text_ok(text)) {
		imd_say(r, NULL, NULL, "not valid UTF-8 (a file in another encoding? use --encoding latin1 or cp1252)");
		imd_bad(r, rec, &orig);
		return 0;
	}
	json_error_t je;
	json_t *obj = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(obj)) {
		char msg[256];
		if (obj) /* JSON, but an array, string, ... */
			snprintf(msg, sizeof msg, "not a JSON object");
		else     /* H8: where on the line jansson stopped */
			snprintf(msg, sizeof msg, "not a JSON object: column %d: %s", je.column, je.text);
		imd_say(r, NULL, NULL, msg);
		imd_bad(r, rec, &orig);
		json_decref(obj);
		return 0;
	}
	orig.obj = obj;
	idata_in in;
	memset(&in, 0, sizeof in);
	imd_target t[IDATA_MAX_FIELDS + IDATA_MAX_ATTRS];
	int nt = 0, k = 0;
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		const char *why = NULL;
		if (nt == IDATA_MAX_FIELDS + IDATA_MAX_ATTRS) {
			imd_say(r, key, NULL, "too many members");
			break;
		}
		if (!imd_target_of(r->o->kind, m, key, &t[nt], &why)) {
			imd_say(r, key, NULL, why);
			continue;
		}
		const char *s = idata_json_text(v, r->numbuf[k], sizeof r->numbuf[0]);
		if (!s) {
			imd_say(r, key, NULL, "must be a string, number, boolean or null");
			continue;
		}
		if (v && !json_is_string(v))
			k++;
		imd_set(r, &in, &t[nt++], s);
	}
	int rc = imd_record(r, rec, &in, &orig);
	json_decref(obj);
	return rc;
}

/* One pass over the lines; each is cut out and put back (buf is read
 * twice). *records: the lines that are not blank. */
static int imd_jsonl_pass(imd_run *r, const imd_map *m, char *buf, size_t len, long total, long *records)
{
	bool tty = isatty(2);
	int rc = 0, line = 0;
	long done = 0;
	*records = 0;
	for (char *p = buf; !rc && p < buf + len;) {
		char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		char *end = nl ? nl : buf + len;
		char cr = end > p ? end[-1] : 0;
		line++;
		*end = '\0';
		if (cr == '\r')
			end[-1] = '\0';
		if (p[strspn(p, " \t\r")] != '\0' && !imd_skip(r, (size_t)line)) {
			imd_begin_record(r, line);
			rc = imd_jsonl_line(r, m, (size_t)line, p, strlen(p));
			++*records;
		}
		if (cr == '\r')
			end[-1] = '\r';
		if (nl)
			*nl = '\n';
		imd_progress(r, ++done, total, tty);
		p = end + 1;
	}
	return rc;
}

static int imd_jsonl(imd_run *r, const imd_map *m, char *buf, size_t len)
{
	long total = 0, records = 0;
	for (size_t i = 0; i < len; i++)
		total += buf[i] == '\n';
	total += len && buf[len - 1] != '\n';
	r->n_badrec = (size_t)total + 2;
	if (!(r->badrec = calloc(r->n_badrec, 1)))
		return cli_fail("out of memory");
	int rc = imd_jsonl_pass(r, m, buf, len, total, &records);
	if (!rc && records == 0)
		rc = cli_fail("%s: no records (nothing to import)", r->o->file);
	if (!rc)
		rc = imd_write_pass(r);
	if (!rc && r->writing)
		rc = imd_jsonl_pass(r, m, buf, len, total, &records);
	return rc;
}

/* ==== the command ============================================================= */

static void imd_summary(const imd_run *r, const store_idata_counts *k, int64_t ms)
{
	double s = (double)ms / 1000.0;
	long rows = k->ok + r->rejected;
	printf("%s: %ld %s in %.2f s (%.0f rows/s): %ld added, %ld updated", r->o->file, rows,
	       idata_kind_name(r->o->kind), s, s > 0 ? (double)rows / s : 0.0, k->added, k->updated);
	if (k->kept)
		printf(", %ld already there", k->kept);
	if (k->duplicates)
		printf(", %ld repeated id%s in the file (the last row counts)", k->duplicates,
		       k->duplicates == 1 ? "" : "s");
	if (r->o->rejects)
		printf(", %ld rejected to %s", r->rejected, r->o->rejects);
	printf("%s\n", r->o->dry_run ? " (dry run: nothing written)" : "");
}

/* KLANTSTEM_IMPORT_LOCK_MS=1 in the environment: the write lock's hold
 * time on stderr (bench/import measures with it). */
static void imd_lock_note(const imd_run *r)
{
	const char *v = getenv("KLANTSTEM_IMPORT_LOCK_MS");
	if (v && *v == '1')
		fprintf(stderr, "%s: write lock held %lld ms\n", r->o->file, (long long)(clock_mono_ms() - r->lock_ms));
}

static int imd_finish(imd_run *r, int rc, int64_t t0)
{
	ks_error e;
	ks_error_clear(&e);
	if (rc || !r->writing) {
		store_idata_rollback(r->x);
		r->x = NULL;
		if (!rc)
			imd_summary(r, &r->checked, clock_mono_ms() - t0);
		return rc;
	}
	store_idata_counts k;
	store_idata_counts_get(r->x, &k);
	ks_err err = store_idata_commit(r->x, r->o->file, false, r->rejected, &e);
	r->x = NULL;
	imd_lock_note(r);
	if (err)
		return cli_report(&e, NULL);
	imd_summary(r, &k, clock_mono_ms() - t0);
	return 0;
}

static int imd_main(const imd_opts *o)
{
	int64_t t0 = clock_mono_ms();
	imd_run *r = calloc(1, sizeof *r);
	if (!r)
		return cli_fail("out of memory");
	r->o = o;
	tz_default(&r->tz);
	ks_error e;
	ks_error_clear(&e);
	imd_map m;
	memset(&m, 0, sizeof m);
	char *buf = NULL;
	size_t len = 0;
	int rc = o->time_zone && tz_lookup(o->time_zone, &r->tz, &e) ? cli_report(&e, NULL) : 0;
	if (!rc)
		rc = cli_db_exists(o->db) || imd_map_load(o, &m) || imd_read(o, &buf, &len, &r->raw, &r->raw_len);
	if (!rc && o->rejects && !(r->rej = fopen(o->rejects, "wb")))
		rc = cli_fail("%s: %s", o->rejects, strerror(errno));
	if (!rc && (store_open(o->db, NULL, &r->s, &e) || store_idata_begin_check(r->s, o->kind, &r->x, &e)))
		rc = cli_report(&e, NULL);
	if (!rc) {
		r->jsonl = imd_is_jsonl(o, buf);
		rc = r->jsonl ? imd_jsonl(r, &m, buf, len) : imd_csv(r, &m, buf, len);
		if (r->jsonl)
			free(buf);
		buf = NULL; /* the CSV reader took it */
		rc = imd_finish(r, rc, t0);
	} else {
		free(buf);
	}
	if (r->rej && fclose(r->rej) != 0 && !rc)
		rc = cli_fail("%s: %s", o->rejects, strerror(errno));
	store_close(r->s);
	json_decref(m.root);
	free(r->badrec);
	free(r->raw);
	free(r->line_at);
	free(r);
	return rc;
}

int cli_import_data_run(int argc, char **argv)
{
	imd_opts o;
	int rc = imd_parse(argc - 1, argv + 1, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	return imd_main(&o);
}
