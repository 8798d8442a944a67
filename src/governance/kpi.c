/* kpi.c — the catalogue's rules and the CSV import of KPI values (kpi.h).
 *
 * The import reads the file whole with src/core/csv.c (the reader of every
 * import), checks every row against the catalogue and the org tree read
 * once, and hands the values to the store in one transaction: a file with
 * one bad row writes nothing, and the error names that row's line.
 */
#include "governance/kpi.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/csv.h"
#include "core/utf8.h"
#include "governance/series.h"

/* 1..max of a-z, 0-9 and _ */
static bool kpi_id_valid(const char *key, size_t max)
{
	size_t n = 0;
	for (const char *p = key; *p; p++, n++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return n >= 1 && n <= max;
}

bool kpi_key_valid(const char *key)
{
	return kpi_id_valid(key, KPI_KEY_MAX);
}

bool kpi_theme_key_valid(const char *key)
{
	return key != NULL && strncmp(key, "theme:", 6) == 0 && kpi_id_valid(key + 6, KPI_THEME_ID_MAX);
}

static bool kpi_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* "YYYY" with the year in 1900..2999. */
static bool kpi_year(const char *p)
{
	return kpi_digits(p, 4) && (p[0] == '1' ? p[1] == '9' : p[0] == '2');
}

bool kpi_period_valid(const char *p)
{
	if (strlen(p) != 7 || !kpi_year(p) || p[4] != '-' || !kpi_digits(p + 5, 2))
		return false;
	int m = (p[5] - '0') * 10 + (p[6] - '0');
	return m >= 1 && m <= 12;
}

bool kpi_target_period_valid(const char *p)
{
	size_t n = strlen(p);
	if (n == 4)
		return kpi_year(p);
	if (n == 7 && p[5] == 'Q')
		return kpi_year(p) && p[4] == '-' && p[6] >= '1' && p[6] <= '4';
	return kpi_period_valid(p);
}

static bool kpi_in(const char *v, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(v, list[i]) == 0)
			return true;
	return false;
}

bool kpi_department_valid(const char *d)
{
	static const char *const l[] = {"sales", "marketing", "finance", "operations", "hr", "service", NULL};
	return kpi_in(d, l);
}

bool kpi_kind_valid(const char *k)
{
	static const char *const l[] = {"output", "outcome", "impact", NULL};
	return kpi_in(k, l);
}

bool kpi_aggregation_valid(const char *a)
{
	static const char *const l[] = {"sum", "mean", "last", NULL};
	return kpi_in(a, l);
}

bool kpi_value_valid(double v)
{
	return isfinite(v) && fabs(v) <= KPI_VALUE_MAX;
}

static ks_err kpi_text(const char *v, const char *field, size_t max, ks_error *e)
{
	size_t n = strlen(v);
	if (n == 0 || n > max)
		return ks_fail(e, KS_ERR_INVALID, field, "%s must be 1 to %zu bytes", field, max);
	/* one line: a name is a label in tables and menus */
	bool ctl = false;
	for (const unsigned char *p = (const unsigned char *)v; *p && !ctl; p++)
		ctl = *p < 0x20 || *p == 0x7f;
	if (ctl || !utf8_text_ok(v, true))
		return ks_fail(e, KS_ERR_INVALID, field, "%s must be one line of UTF-8 text without control characters",
			       field);
	return KS_OK;
}

ks_err kpi_check(const store_kpi *k, ks_error *e)
{
	if (gov_kpi_is_soft(k->key))
		return ks_fail(e, KS_ERR_INVALID, "key",
			       "%.48s is a soft KPI's key: soft KPIs (nps, grade, ces, enps, response_rate, "
			       "case_sla, theme:<id>) are computed, never catalogued or imported", k->key);
	if (!kpi_key_valid(k->key))
		return ks_fail(e, KS_ERR_INVALID, "key", "key must be 1 to %d of a-z, 0-9 and _", KPI_KEY_MAX);
	ks_err err = kpi_text(k->name_nl, "name_nl", STORE_KPI_NAME_MAX, e);
	if (!err)
		err = kpi_text(k->name_en, "name_en", STORE_KPI_NAME_MAX, e);
	if (!err)
		err = kpi_text(k->unit, "unit", STORE_KPI_UNIT_MAX, e);
	if (!err && !kpi_department_valid(k->department))
		err = ks_fail(e, KS_ERR_INVALID, "department",
			      "department must be sales, marketing, finance, operations, hr or service");
	if (!err && !kpi_kind_valid(k->kind))
		err = ks_fail(e, KS_ERR_INVALID, "kind", "kind must be output, outcome or impact");
	if (!err && !kpi_aggregation_valid(k->aggregation))
		err = ks_fail(e, KS_ERR_INVALID, "aggregation", "aggregation must be sum, mean or last");
	return err;
}

/* ==== the CSV import =========================================================== */

#define KPI_SEP_MARK '\x1F'  /* a semicolon file's ',' (a decimal comma) while the reader runs */

enum { KC_KPI, KC_UNIT, KC_PERIOD, KC_VALUE, KC__N };
static const char *const kpi_cols[KC__N] = {"kpi", "unit", "period", "value"};

typedef struct kpi_imp {
	ks_store *s;
	store_kpi *kpis;
	size_t n_kpis;
	store_kpi_unit *units;
	size_t n_units;
	bool semi;
	int col[KC__N];      /* column index of each, -1 = missing */
	int n_cols;          /* the header's fields without the empty ones at its end */
} kpi_imp;

/* Trim spaces and tabs in place. */
static char *kpi_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* A line break inside a quoted name as the org tree stores it: a file
 * saved on Windows may carry CRLF there too. In place. */
static char *kpi_lf(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++)
		if (!(r[0] == '\r' && r[1] == '\n'))
			*w++ = *r;
	*w = '\0';
	return s;
}

static ks_err kpi_header(kpi_imp *x, const csv_row *h, ks_error *e)
{
	for (int c = 0; c < KC__N; c++)
		x->col[c] = -1;
	/* a spreadsheet that saw a cell beside the table writes a trailing
	 * separator on every line: empty columns at the end are no columns */
	x->n_cols = h->n;
	while (x->n_cols > 0 && kpi_trim(h->field[x->n_cols - 1])[0] == '\0')
		x->n_cols--;
	for (int i = 0; i < x->n_cols; i++) {
		char *name = kpi_trim(h->field[i]);
		if (name[0] == '\0')
			return ks_fail(e, KS_ERR_INVALID, "", "column %d has no name (the columns are kpi, unit, "
				       "period, value)", i + 1);
		int c = 0;
		while (c < KC__N && strcasecmp(name, kpi_cols[c]) != 0)
			c++;
		if (c == KC__N)
			return ks_fail(e, KS_ERR_INVALID, "", "unknown column '%.60s' (the columns are kpi, unit, "
				       "period, value)", name);
		if (x->col[c] >= 0)
			return ks_fail(e, KS_ERR_INVALID, kpi_cols[c], "column %s given twice", kpi_cols[c]);
		x->col[c] = i;
	}
	for (int c = 0; c < KC__N; c++)
		if (x->col[c] < 0)
			return ks_fail(e, KS_ERR_INVALID, kpi_cols[c], "column %s is missing (the header must "
				       "name kpi, unit, period and value)", kpi_cols[c]);
	return KS_OK;
}

static ks_err kpi_find_kpi(const kpi_imp *x, const char *key, int64_t *id, ks_error *e)
{
	if (key[0] == '\0')
		return ks_fail(e, KS_ERR_INVALID, "kpi", "kpi is empty");
	if (gov_kpi_is_soft(key))
		return ks_fail(e, KS_ERR_INVALID, "kpi", "%.48s is a soft KPI: soft KPIs are computed from the "
			       "answers, never imported", key);
	for (size_t i = 0; i < x->n_kpis; i++)
		if (strcmp(x->kpis[i].key, key) == 0) {
			*id = x->kpis[i].id;
			return KS_OK;
		}
	return ks_fail(e, KS_ERR_INVALID, "kpi", "no KPI with key '%.48s' (add it to the catalogue first)", key);
}

/* An org unit by id (digits, tried first) or by exact name. */
static ks_err kpi_find_unit(const kpi_imp *x, const char *v, int64_t *id, ks_error *e)
{
	if (v[0] == '\0')
		return ks_fail(e, KS_ERR_INVALID, "unit", "unit is empty");
	size_t n = strlen(v);
	if (n <= 18 && kpi_digits(v, n)) {
		int64_t want = strtoll(v, NULL, 10);
		for (size_t i = 0; i < x->n_units; i++)
			if (x->units[i].id == want) {
				*id = want;
				return KS_OK;
			}
	}
	size_t hits = 0;
	for (size_t i = 0; i < x->n_units; i++)
		if (strcmp(x->units[i].name, v) == 0) {
			*id = x->units[i].id;
			hits++;
		}
	if (hits > 1)
		return ks_fail(e, KS_ERR_INVALID, "unit", "%zu org units are named '%.100s': give the unit's id",
			       hits, v);
	if (hits == 0)
		return ks_fail(e, KS_ERR_INVALID, "unit", "no org unit '%.100s' (an org unit's id or exact name; "
			       "values are for teams, departments or the organisation)", v);
	return KS_OK;
}

/* Does v[0..n) read [+-]?D+(SEP D+)? with SEP sep (0: none), D a digit? */
static bool kpi_plain(const char *v, char sep)
{
	const char *p = v + (*v == '-' || *v == '+');
	size_t d = 0;
	while (p[d] >= '0' && p[d] <= '9')
		d++;
	if (d == 0)
		return false;
	p += d;
	if (*p == '\0')
		return true;
	if (sep == 0 || *p != sep || !(p[1] >= '0' && p[1] <= '9'))
		return false;
	for (p++; *p >= '0' && *p <= '9'; p++)
		;
	return *p == '\0';
}

/* 1.234 or -12.345.678,5: digits grouped by thousands with a point, then
 * maybe a decimal comma (a Dutch spreadsheet's number format). */
static bool kpi_grouped(const char *v)
{
	const char *p = v + (*v == '-' || *v == '+');
	size_t d = 0;
	while (p[d] >= '0' && p[d] <= '9')
		d++;
	if (d < 1 || d > 3)
		return false;
	p += d;
	bool group = false;
	while (*p == '.') {
		for (int i = 1; i <= 3; i++)
			if (!(p[i] >= '0' && p[i] <= '9'))
				return false;
		p += 4;
		group = true;
	}
	return group && (*p == '\0' || (*p == ',' && kpi_plain(p - 1, ',')));
}

/* A number as people write it in a CSV file, read the same whatever the
 * process's locale: strtod would take hex (0x1A), exponents (1e-999 is 0),
 * inf and nan, and a locale's own decimal separator. A comma file: digits
 * with an optional sign and decimal point (-41.5). A semicolon file
 * (decimal comma, whether the field is quoted or not): -41,5, and a point
 * only between groups of three digits (1.234,56 = 1234.56); any other
 * point is refused rather than guessed at (1.5 means 15 to some and 1,5 to
 * others). */
static ks_err kpi_number(char *v, bool semi, double *out, ks_error *e)
{
	if (v[0] == '\0')
		return ks_fail(e, KS_ERR_INVALID, "value", "value is empty");
	char buf[64];
	size_t n = strlen(v);
	bool ok = n < sizeof buf;
	if (ok && semi && strchr(v, '.')) {
		if (!kpi_grouped(v))
			return ks_fail(e, KS_ERR_INVALID, "value", "value '%.40s': a semicolon-separated file writes "
				       "decimals with a comma (41,5); a point only groups thousands (1.234,56)", v);
		size_t k = 0;
		for (const char *p = v; *p; p++)
			if (*p != '.')
				buf[k++] = *p;
		buf[k] = '\0';
	} else if (ok) {
		memcpy(buf, v, n + 1);
	}
	if (!ok || !kpi_plain(buf, semi ? ',' : '.'))
		return ks_fail(e, KS_ERR_INVALID, "value", "value '%.40s' is not a number (digits, a sign and a "
			       "decimal %s, e.g. %s)%s", v, semi ? "comma" : "point", semi ? "-41,5" : "-41.5",
			       !semi && strchr(v, ',') ? " (a decimal comma only in a semicolon-separated file)" : "");
	/* strtod reads the locale's decimal separator */
	char *sep = strchr(buf, semi ? ',' : '.');
	const char *dp = localeconv()->decimal_point;
	if (sep)
		*sep = dp && dp[0] && !dp[1] ? dp[0] : '.';
	errno = 0;
	char *end = NULL;
	double d = strtod(buf, &end);
	if (errno == ERANGE || !kpi_value_valid(d) || end == buf || *end != '\0')
		return ks_fail(e, KS_ERR_INVALID, "value", "value must be a finite number of at most 1e15");
	*out = d;
	return KS_OK;
}

static ks_err kpi_row(const kpi_imp *x, const csv_row *r, store_kpi_value *v, ks_error *e)
{
	memset(v, 0, sizeof *v);
	if (r->n < x->n_cols)
		return ks_fail(e, KS_ERR_INVALID, "", "%d fields where the header has %d", r->n, x->n_cols);
	for (int i = x->n_cols; i < r->n; i++)
		if (kpi_trim(r->field[i])[0] != '\0')
			return ks_fail(e, KS_ERR_INVALID, "", "%d fields where the header has %d (field %d is '%.40s')",
				       r->n, x->n_cols, i + 1, r->field[i]);
	/* a semicolon file's commas back (a unit's name may hold one); the
	 * value's, quoted or not, are its decimal comma (kpi_number) */
	for (int c = 0; x->semi && c < KC__N; c++)
		for (char *p = r->field[x->col[c]]; (p = strchr(p, KPI_SEP_MARK)) != NULL; p++)
			*p = ',';
	for (int c = 0; c < KC__N; c++)
		if (!utf8_text_ok(r->field[x->col[c]], true))
			return ks_fail(e, KS_ERR_INVALID, kpi_cols[c], "%s is not UTF-8 text (a file in another "
				       "encoding?)", kpi_cols[c]);
	ks_err err = kpi_find_kpi(x, kpi_trim(r->field[x->col[KC_KPI]]), &v->kpi_id, e);
	if (!err) {
		err = kpi_find_unit(x, kpi_lf(kpi_trim(r->field[x->col[KC_UNIT]])), &v->unit_id, e);
	}
	if (!err) {
		const char *p = kpi_trim(r->field[x->col[KC_PERIOD]]);
		if (!kpi_period_valid(p))
			err = ks_fail(e, KS_ERR_INVALID, "period", "period '%.20s' must be a month YYYY-MM", p);
		else
			memcpy(v->period, p, 8);
	}
	if (!err)
		err = kpi_number(kpi_trim(r->field[x->col[KC_VALUE]]), x->semi, &v->value, e);
	return err;
}

static int kpi_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Distinct KPI ids (unit false) or unit ids among v: sorted copies, not
 * pairs of rows (an import may hold 200,000). SIZE_MAX when out of memory. */
static size_t kpi_distinct_ids(const store_kpi_value *v, size_t n, bool unit)
{
	int64_t *ids = malloc((n ? n : 1) * sizeof *ids);
	if (ids == NULL)
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		ids[i] = unit ? v[i].unit_id : v[i].kpi_id;
	qsort(ids, n, sizeof *ids, kpi_cmp_i64);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += i == 0 || ids[i] != ids[i - 1];
	free(ids);
	return k;
}

static int kpi_cmp_value(const void *a, const void *b)
{
	const store_kpi_value *x = a, *y = b;
	if (x->kpi_id != y->kpi_id)
		return (x->kpi_id > y->kpi_id) - (x->kpi_id < y->kpi_id);
	if (x->unit_id != y->unit_id)
		return (x->unit_id > y->unit_id) - (x->unit_id < y->unit_id);
	return strcmp(x->period, y->period);
}

/* Distinct (kpi, unit, period) among v: the values stored. Sorts v (after
 * the store has them). */
static size_t kpi_distinct_values(store_kpi_value *v, size_t n)
{
	qsort(v, n, sizeof *v, kpi_cmp_value);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += i == 0 || kpi_cmp_value(&v[i], &v[i - 1]) != 0;
	return k;
}

static size_t kpi_distinct_periods(const store_kpi_value *v, size_t n)
{
	/* months 1900-01..2999-12: a bitmap of 13,200 bits */
	unsigned char seen[1650] = {0};
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int y = atoi(v[i].period), m = atoi(v[i].period + 5);
		size_t b = (size_t)(y - 1900) * 12 + (size_t)(m - 1);
		if (!(seen[b / 8] & (1u << (b % 8)))) {
			seen[b / 8] |= (unsigned char)(1u << (b % 8));
			k++;
		}
	}
	return k;
}

/* The rows of d (below the header) as values; *line at the first bad one. */
static ks_err kpi_rows(const kpi_imp *x, const csv_doc *d, store_kpi_value *v, int *line, ks_error *e)
{
	for (int i = 1; i < d->n; i++) {
		ks_err err = kpi_row(x, &d->rows[i], &v[i - 1], e);
		if (err) {
			*line = d->rows[i].line;
			return err;
		}
	}
	return KS_OK;
}

static ks_err kpi_import_doc(kpi_imp *x, csv_doc *d, kpi_import_counts *out, int *line, ks_error *e)
{
	if (d->n < 1) {
		*line = 1;
		return ks_fail(e, KS_ERR_INVALID, "", "the file is empty (a header kpi,unit,period,value and rows)");
	}
	*line = d->rows[0].line;
	ks_err err = kpi_header(x, &d->rows[0], e);
	if (err)
		return err;
	if (d->n < 2) {
		*line = 2;
		return ks_fail(e, KS_ERR_INVALID, "", "no rows below the header (nothing to import)");
	}
	if ((size_t)d->n - 1 > KPI_IMPORT_MAX_ROWS) {
		*line = 0;
		return ks_fail(e, KS_ERR_INVALID, "", "at most %d rows in one import", KPI_IMPORT_MAX_ROWS);
	}
	*line = 0;
	err = store_kpi_list(x->s, &x->kpis, &x->n_kpis, e);
	if (!err)
		err = store_kpi_units(x->s, &x->units, &x->n_units, e);
	if (err)
		return err;
	size_t n = (size_t)d->n - 1;
	store_kpi_value *v = calloc(n, sizeof *v);
	if (v == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	err = kpi_rows(x, d, v, line, e);
	if (!err) {
		/* the store names "rows[i].unit_id" if a unit vanished meanwhile */
		err = store_kpi_values_put(x->s, v, n, "import", "rows", e);
		if (err == KS_ERR_REF && e) {
			size_t i = strtoul(e->field + 5, NULL, 10);
			*line = i < n ? d->rows[i + 1].line : 0;
			snprintf(e->field, sizeof e->field, "%s", strstr(e->field, "unit_id") ? "unit" : "kpi");
			e->code = KS_ERR_INVALID;
			err = KS_ERR_INVALID;
		}
	}
	if (!err && out) {
		out->lines = n;
		out->kpis = kpi_distinct_ids(v, n, false);
		out->units = kpi_distinct_ids(v, n, true);
		out->periods = kpi_distinct_periods(v, n);
		out->rows = kpi_distinct_values(v, n);
	}
	free(v);
	return err;
}

ks_err kpi_import_csv(ks_store *s, char *buf, size_t len, kpi_import_counts *out, int *line, ks_error *e)
{
	kpi_imp x = {.s = s};
	*line = 0;
	if (out)
		memset(out, 0, sizeof *out);
	csv_skip_bom(buf, &len);
	buf[len] = '\0';
	/* CR-only line ends (an old Mac's or some exports'): read as LF; a CR
	 * in a quoted name is then the line break the org tree stores */
	bool cr_only = memchr(buf, '\n', len) == NULL;
	for (size_t i = 0; cr_only && i < len; i++)
		if (buf[i] == '\r')
			buf[i] = '\n';
	/* a NUL would end a field early, silently */
	const char *nul = memchr(buf, '\0', len);
	if (nul) {
		*line = 1;
		for (const char *p = buf; p < nul; p++)
			*line += *p == '\n';
		free(buf);
		return ks_fail(e, KS_ERR_INVALID, "", "the line holds a NUL byte (a binary file, or text in "
			       "UTF-16? save it as UTF-8 CSV)");
	}
	x.semi = csv_semicolon_file(buf, len);
	if (x.semi && memchr(buf, KPI_SEP_MARK, len)) {
		free(buf);
		return ks_fail(e, KS_ERR_INVALID, "", "the file holds a control character (0x1F)");
	}
	if (x.semi)
		csv_semicolons_to_commas(buf, len, KPI_SEP_MARK);
	csv_doc d;
	const char *why = "";
	if (!csv_parse(buf, len, &d, line, &why)) {
		csv_free(&d);
		return ks_fail(e, KS_ERR_INVALID, "", "bad CSV: %s", why);
	}
	ks_err err = kpi_import_doc(&x, &d, out, line, e);
	csv_free(&d);
	free(x.kpis);
	free(x.units);
	return err;
}
