/* parse.c — mentions_parse: the checks every record passes, the batch, the
 * generic layout (CSV through src/core/csv.c's reader, JSON arrays and JSON
 * Lines through jansson) and the time and number readers the formats share.
 * The vendor formats are in format.c and format_kiyoh.c.
 *
 * The input is checked for UTF-8 as a whole first, so that a file saved in
 * Windows-1252 fails with the line and column of its first bad byte rather
 * than somewhere inside a reader that says less.
 */
#include "mentions/parse_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/clock.h"
#include "core/utf8.h"

/* ---- small pieces ---------------------------------------------------------- */

char *mp_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

ks_err mp_set(char **slot, const char *s, ks_error *e)
{
	if (s == NULL)
		return KS_OK;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	free(*slot);
	*slot = NULL;
	if (n == 0)
		return KS_OK;
	if ((*slot = mp_strndup(s, n)) == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

void mp_where(const mentions_batch *b, int where, const char *field, char *out, size_t n)
{
	if (b->where_is_index)
		snprintf(out, n, "[%d].%s", where, field);
	else
		snprintf(out, n, "line %d: %s", where, field);
}

ks_err mp_fail(ks_error *e, ks_err code, const mentions_batch *b, int where, const char *field,
	       const char *fmt, ...)
{
	char name[64], msg[200];
	mp_where(b, where, field, name, sizeof name);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return ks_fail(e, code, name, "%s: %s", name, msg);
}

static int mp_digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int mp_days_in(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* The zone after the time: "", Z, +HH, +HHMM, +HH:MM; *off in seconds. */
static bool mp_zone(const char *p, int64_t *off)
{
	*off = 0;
	if (*p == ' ')
		p++; /* "2026-03-01 10:00:00 UTC", as some exports write it */
	if (*p == '\0' || ((*p == 'Z' || *p == 'z') && p[1] == '\0') || strcmp(p, "UTC") == 0 || strcmp(p, "GMT") == 0)
		return true;
	if (*p != '+' && *p != '-')
		return false;
	int sign = *p == '-' ? -1 : 1;
	p++;
	int hh = mp_digits(p, 2), mm = 0;
	if (hh < 0 || hh > 14)
		return false;
	p += 2;
	if (*p == ':' && *++p == '\0')
		return false; /* "+05:" is cut short, not +05:00 */
	if (*p) {
		if ((mm = mp_digits(p, 2)) < 0 || mm > 59 || p[2] != '\0')
			return false;
	}
	*off = sign * (hh * 3600 + mm * 60);
	return true;
}

/* Unix time as exports write it: 10 digits of seconds or 13 of
 * milliseconds, 2001-09-09 .. 2100 (fewer digits would be a compact date
 * as often as a time). */
static bool mp_epoch(const char *s, int64_t *out)
{
	size_t n = strspn(s, "0123456789");
	if (s[n] != '\0' || (n != 10 && n != 13))
		return false;
	int64_t v = strtoll(s, NULL, 10);
	if (n == 13)
		v /= 1000;
	if (v < 1000000000 || v > 4102444800)
		return false;
	*out = v;
	return true;
}

bool mp_time(const char *s, int64_t *out)
{
	if (s && mp_epoch(s, out))
		return true;
	if (s == NULL || strlen(s) < 10 || s[4] != '-' || s[7] != '-')
		return false;
	int y = mp_digits(s, 4), mo = mp_digits(s + 5, 2), d = mp_digits(s + 8, 2);
	if (y < 1970 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > mp_days_in(y, mo))
		return false;
	const char *p = s + 10;
	int hh = 0, mi = 0, ss = 0;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		hh = mp_digits(p, 2);
		if (hh < 0 || hh > 23 || p[2] != ':' || (mi = mp_digits(p + 3, 2)) < 0 || mi > 59)
			return false;
		p += 5;
		if (*p == ':') {
			if ((ss = mp_digits(p + 1, 2)) < 0 || ss > 60)
				return false;
			p += 3;
			if (*p == '.' || *p == ',') {
				p++;
				if (!isdigit((unsigned char)*p))
					return false;
				while (isdigit((unsigned char)*p))
					p++; /* fractions of a second are dropped */
			}
		}
	}
	int64_t off;
	if (!mp_zone(p, &off))
		return false;
	*out = clock_days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + (ss > 59 ? 59 : ss) - off;
	return *out >= 0;
}

bool mp_number(const char *s, double *out)
{
	char tmp[64];
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	while (n && s[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *comma = strchr(tmp, ',');
	if (comma && strchr(tmp, '.') == NULL && strchr(comma + 1, ',') == NULL)
		*comma = '.'; /* a decimal comma (Dutch spreadsheets) */
	for (char *p = tmp; *p; p++)
		if (!(isdigit((unsigned char)*p) || *p == '.' || *p == '-' || *p == '+' || *p == 'e' || *p == 'E'))
			return false; /* no hex, inf or nan from strtod */
	char *end;
	errno = 0;
	double v = strtod(tmp, &end);
	if (*end != '\0' || errno || !isfinite(v))
		return false;
	*out = v;
	return true;
}

/* First byte that is not UTF-8 (or NUL) in buf: false with its line and
 * column (1-based, columns in bytes). Overlongs, surrogates and code
 * points past U+10FFFF are refused as jansson refuses them (utf8_valid). */
static bool mp_utf8_ok(const char *buf, size_t len, int *line, int *col)
{
	size_t bad = len;
	bool valid = utf8_valid(buf, len, &bad);
	const char *nul = memchr(buf, '\0', bad);
	*line = 1;
	if (nul)
		bad = (size_t)(nul - buf);
	else if (valid)
		return true;
	size_t line_start = 0;
	for (size_t i = 0; i < bad; i++)
		if (buf[i] == '\n') {
			(*line)++;
			line_start = i + 1;
		}
	*col = (int)(bad - line_start) + 1;
	return false;
}

size_t mp_utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--; /* s[n] continues a character: cut before its first byte */
	return n;
}

/* ---- the batch ---------------------------------------------------------------- */

static void mp_free_one(mention_in *m)
{
	char **s[] = {&m->source, &m->source_id, &m->location, &m->author, &m->title, &m->text,
		      &m->url, &m->language, &m->customer_external_id, &m->reply_text};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		free(*s[i]);
}

void mentions_batch_free(mentions_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		mp_free_one(&b->items[i]);
	free(b->items);
	memset(b, 0, sizeof *b);
}

ks_err mentions_batch_add(mentions_batch *b, mention_in **out, ks_error *e)
{
	size_t max = b->max_records ? b->max_records : MP_MAX_RECORDS;
	if (b->n >= max)
		return ks_fail(e, KS_ERR_TOOBIG, "data", "more than %zu records in one batch", max);
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		mention_in *p = realloc(b->items, cap * sizeof *p);
		if (p == NULL)
			return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		b->items = p;
		b->cap = cap;
	}
	*out = &b->items[b->n++];
	memset(*out, 0, sizeof **out);
	return KS_OK;
}

static int mp_cmp_key(const mention_in *a, const mention_in *b)
{
	int c = strcmp(a->source, b->source);
	return c ? c : strcmp(a->source_id, b->source_id);
}

/* Sort helper: by key, then by updated_at, then by position, so the one of
 * equal keys that stays (the last after sorting) is the newest, and of
 * equally new ones the last in the input — as the store would keep it had
 * they come one by one: an export lists a review's versions in any order. */
static int mp_cmp_idx(const void *x, const void *y, void *arg)
{
	const mention_in *it = arg;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int c = mp_cmp_key(&it[i], &it[j]);
	if (c)
		return c;
	if (it[i].updated_at != it[j].updated_at)
		return it[i].updated_at < it[j].updated_at ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* A stable merge sort over indices (qsort_r is a GNU extension). */
static void mp_sort(size_t *idx, size_t *tmp, size_t n, const mention_in *it)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	mp_sort(idx, tmp, h, it);
	mp_sort(idx + h, tmp, n - h, it);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = mp_cmp_idx(&idx[i], &idx[j], (void *)it) <= 0 ? idx[i++] : idx[j++];
	while (i < h)
		tmp[k++] = idx[i++];
	while (j < n)
		tmp[k++] = idx[j++];
	memcpy(idx, tmp, n * sizeof *idx);
}

void mentions_batch_dedupe(mentions_batch *b)
{
	if (b->n < 2)
		return;
	size_t *idx = malloc(b->n * sizeof *idx), *tmp = malloc(b->n * sizeof *tmp);
	bool *drop = calloc(b->n, sizeof *drop);
	if (idx == NULL || tmp == NULL || drop == NULL) {
		/* without memory, keep them all: the store's upsert is still
		 * right (the later row wins or is unchanged), only the count is off */
		free(idx), free(tmp), free(drop);
		return;
	}
	for (size_t i = 0; i < b->n; i++)
		idx[i] = i;
	mp_sort(idx, tmp, b->n, b->items);
	for (size_t k = 0; k + 1 < b->n; k++)
		if (mp_cmp_key(&b->items[idx[k]], &b->items[idx[k + 1]]) == 0)
			drop[idx[k]] = true;
	size_t w = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (drop[i]) {
			mp_free_one(&b->items[i]);
			b->duplicates++;
		} else {
			b->items[w++] = b->items[i];
		}
	}
	b->n = w;
	free(idx), free(tmp), free(drop);
}

/* ---- checking one record -------------------------------------------------------- */

static bool mp_source_ok(char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 32)
		return false;
	for (char *p = s; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
			return false;
	}
	return true;
}

/* "en-GB", "NL_nl", "nl" -> the primary subtag in lower case. */
static bool mp_language(char *s)
{
	size_t n = 0;
	while (isalpha((unsigned char)s[n]))
		n++;
	if (n < 2 || n > 3 || (s[n] != '\0' && s[n] != '-' && s[n] != '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	s[n] = '\0';
	return true;
}

static ks_err mp_named(ks_error *e, ks_err code, const char *prefix, const char *field, const char *msg)
{
	char name[64];
	snprintf(name, sizeof name, "%s%s", prefix, field);
	return ks_fail(e, code, name, "%s: %s", name, msg);
}

static ks_err mp_check_rating(mention_in *m, const char *prefix, ks_error *e)
{
	if (!m->has_rating)
		return KS_OK;
	if (!(m->scale_min < m->scale_max))
		return mp_named(e, KS_ERR_RANGE, prefix, "scale_max", "scale_max must be above scale_min");
	if (m->rating < m->scale_min || m->rating > m->scale_max) {
		char msg[120];
		snprintf(msg, sizeof msg, "rating %g is outside its scale %g..%g", m->rating, m->scale_min,
			 m->scale_max);
		return mp_named(e, KS_ERR_RANGE, prefix, "rating", msg);
	}
	m->rating10 = (m->rating - m->scale_min) / (m->scale_max - m->scale_min) * 10.0;
	if (!isfinite(m->scale_max - m->scale_min) || !(m->rating10 >= 0 && m->rating10 <= 10))
		return mp_named(e, KS_ERR_RANGE, prefix, "scale_max", "the scale is too wide to compute with");
	return KS_OK;
}

ks_err mentions_check(mention_in *m, const char *prefix, ks_error *e)
{
	if (m->source == NULL)
		return mp_named(e, KS_ERR_INVALID, prefix, "source", "source is required");
	if (!mp_source_ok(m->source))
		return mp_named(e, KS_ERR_INVALID, prefix, "source", "source must be 1..32 of a-z 0-9 _ . -");
	if (m->source_id == NULL)
		return mp_named(e, KS_ERR_INVALID, prefix, "source_id", "source_id is required");
	if (m->created_at <= 0)
		return mp_named(e, KS_ERR_INVALID, prefix, "created_at", "created_at is required (ISO 8601)");
	if (m->text == NULL && !m->has_rating)
		return mp_named(e, KS_ERR_INVALID, prefix, "text", "a mention needs a text or a rating");
	if (m->language && !mp_language(m->language))
		return mp_named(e, KS_ERR_INVALID, prefix, "language", "language must be an ISO 639 code (nl, en, ...)");
	struct { const char *v; size_t max; const char *f; } lim[] = {
		{m->source_id, MP_MAX_SOURCE_ID, "source_id"}, {m->author, MP_MAX_SHORT, "author"},
		{m->location, MP_MAX_SHORT, "location"}, {m->title, MP_MAX_SHORT * 4, "title"},
		{m->customer_external_id, MP_MAX_SHORT, "customer_external_id"}, {m->url, MP_MAX_URL, "url"},
		{m->text, MP_MAX_TEXT, "text"}, {m->reply_text, MP_MAX_TEXT, "reply_text"},
		{m->language, MP_MAX_SHORT, "language"},
	};
	for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++) {
		if (lim[i].v == NULL)
			continue;
		size_t n = strlen(lim[i].v);
		int line, col;
		if (n > lim[i].max) {
			char msg[64];
			snprintf(msg, sizeof msg, "longer than %zu bytes", lim[i].max);
			return mp_named(e, KS_ERR_RANGE, prefix, lim[i].f, msg);
		}
		/* the readers' input is checked whole, but a reader that builds a
		 * value (a key, a cut) could still break a character: the store
		 * and every JSON reply need UTF-8 */
		if (!mp_utf8_ok(lim[i].v, n, &line, &col))
			return mp_named(e, KS_ERR_INVALID, prefix, lim[i].f, "not UTF-8 (or a NUL byte)");
	}
	if (m->updated_at < m->created_at)
		m->updated_at = m->created_at; /* none given, or a source that says less */
	return mp_check_rating(m, prefix, e);
}

ks_err mp_finish(mentions_batch *b, mention_in *m, ks_error *e)
{
	char prefix[40];
	if (b->where_is_index)
		snprintf(prefix, sizeof prefix, "[%d].", m->where);
	else
		snprintf(prefix, sizeof prefix, "line %d: ", m->where);
	return mentions_check(m, prefix, e);
}

/* ---- the generic layout ------------------------------------------------------------ */

static const char *const mp_generic_names[] = {
	"source", "source_id", "created_at", "updated_at", "author", "rating", "scale_min", "scale_max",
	"language", "title", "text", "url", "location", "customer_external_id", NULL,
};

static ks_err mp_generic_number(mentions_batch *b, mention_in *m, const char *name, const char *value,
				double *out, bool *seen, ks_error *e)
{
	if (!mp_number(value, out))
		return mp_fail(e, KS_ERR_INVALID, b, m->where, name, "\"%.40s\" is not a number", value);
	*seen = true;
	return KS_OK;
}

ks_err mp_generic_field(mentions_batch *b, mention_in *m, const char *name, const char *value, ks_error *e)
{
	struct { const char *n; char **slot; } text[] = {
		{"source", &m->source}, {"source_id", &m->source_id}, {"author", &m->author},
		{"language", &m->language}, {"title", &m->title}, {"text", &m->text}, {"url", &m->url},
		{"location", &m->location}, {"customer_external_id", &m->customer_external_id},
	};
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		if (strcmp(name, text[i].n) == 0)
			return mp_set(text[i].slot, value, e);
	const char *v = value;
	while (*v == ' ')
		v++;
	bool dummy;
	if (strcmp(name, "created_at") == 0 || strcmp(name, "updated_at") == 0) {
		int64_t *t = name[0] == 'c' ? &m->created_at : &m->updated_at;
		if (*v && !mp_time(v, t))
			return mp_fail(e, KS_ERR_INVALID, b, m->where, name,
				       "\"%.40s\" is not an ISO 8601 time (2026-12-07T09:30:00+01:00)", value);
		return KS_OK;
	}
	if (strcmp(name, "rating") == 0)
		return *v ? mp_generic_number(b, m, name, v, &m->rating, &m->has_rating, e) : KS_OK;
	if (strcmp(name, "scale_min") == 0)
		return *v ? mp_generic_number(b, m, name, v, &m->scale_min, &dummy, e) : KS_OK;
	if (strcmp(name, "scale_max") == 0)
		return *v ? mp_generic_number(b, m, name, v, &m->scale_max, &dummy, e) : KS_OK;
	return mp_fail(e, KS_ERR_INVALID, b, m->where, name,
		       "unknown column \"%.40s\" (docs/MENTIONS.md lists the generic layout)", name);
}

/* A rating without its scale is on 1..5 stars, the common case; a scale
 * given for one end only keeps the default for the other. */
static void mp_generic_defaults(mention_in *m, bool has_min, bool has_max)
{
	if (!has_min)
		m->scale_min = 1;
	if (!has_max)
		m->scale_max = 5;
}

ks_err mp_generic_object(mentions_batch *b, mention_in *m, const json_t *o, ks_error *e)
{
	if (!json_is_object(o))
		return mp_fail(e, KS_ERR_INVALID, b, m->where, "", "a record must be a JSON object");
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		char num[64];
		const char *s;
		if (json_is_null(v))
			continue;
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)), s = num;
		else if (json_is_real(v))
			snprintf(num, sizeof num, "%.17g", json_real_value(v)), s = num;
		else
			return mp_fail(e, KS_ERR_INVALID, b, m->where, key, "must be a string or a number");
		ks_err err = mp_generic_field(b, m, key, s, e);
		if (err)
			return err;
	}
	mp_generic_defaults(m, json_object_get(o, "scale_min") && !json_is_null(json_object_get(o, "scale_min")),
			    json_object_get(o, "scale_max") && !json_is_null(json_object_get(o, "scale_max")));
	return mp_finish(b, m, e);
}

ks_err mp_generic_json(const json_t *doc, mentions_batch *b, ks_error *e)
{
	if (!json_is_array(doc))
		return ks_fail(e, KS_ERR_INVALID, "data", "the generic JSON layout is an array of objects (or JSON Lines)");
	b->where_is_index = true;
	size_t i;
	const json_t *o;
	json_array_foreach(doc, i, o) {
		mention_in *m;
		ks_err err = mentions_batch_add(b, &m, e);
		if (err)
			return err;
		m->where = (int)i;
		if ((err = mp_generic_object(b, m, o, e)))
			return err;
	}
	return KS_OK;
}

ks_err mp_generic_jsonl(const char *buf, size_t len, mentions_batch *b, ks_error *e)
{
	int line = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && buf[j] != '\n')
			j++;
		line++;
		size_t k = i;
		while (k < j && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r'))
			k++;
		if (k < j) {
			json_error_t je;
			json_t *o = json_loadb(buf + i, j - i, 0, &je);
			if (o == NULL)
				return ks_fail(e, KS_ERR_BADJSON, NULL, "line %d, column %d: %s", line, je.column,
					       je.text);
			mention_in *m;
			ks_err err = mentions_batch_add(b, &m, e);
			if (!err) {
				m->where = line;
				err = mp_generic_object(b, m, o, e);
			}
			json_decref(o);
			if (err)
				return err;
		}
		i = j + 1;
	}
	return KS_OK;
}

/* The header: column -> name index (into mp_generic_names), each once. */
static ks_err mp_csv_header(const csv_row *h, int *col, ks_error *e)
{
	bool seen[16] = {false};
	for (int c = 0; c < h->n; c++) {
		char *f = h->field[c];
		for (char *p = f; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		while (*f == ' ')
			f++;
		size_t n = strlen(f);
		while (n && f[n - 1] == ' ')
			f[--n] = '\0';
		col[c] = -1;
		for (int k = 0; mp_generic_names[k]; k++)
			if (strcmp(f, mp_generic_names[k]) == 0)
				col[c] = k;
		if (col[c] < 0)
			return ks_fail(e, KS_ERR_INVALID, f, "line %d, column %d: unknown column \"%.40s\" (docs/MENTIONS.md)",
				       h->line, c + 1, f);
		if (seen[col[c]])
			return ks_fail(e, KS_ERR_INVALID, f, "line %d, column %d: column \"%s\" twice", h->line, c + 1,
				       f);
		seen[col[c]] = true;
	}
	static const char *const need[] = {"source", "source_id", "created_at"};
	for (size_t k = 0; k < 3; k++)
		if (!seen[k])
			return ks_fail(e, KS_ERR_INVALID, need[k], "line %d: the header has no column \"%s\"", h->line,
				       need[k]);
	if (!seen[5] && !seen[10])
		return ks_fail(e, KS_ERR_INVALID, "text", "line %d: the header needs a column \"text\" or \"rating\"",
			       h->line);
	return KS_OK;
}

static ks_err mp_csv_rows(const csv_doc *d, const int *col, mentions_batch *b, ks_error *e)
{
	for (int r = 1; r < d->n; r++) {
		const csv_row *row = &d->rows[r];
		if (row->n != d->rows[0].n)
			return ks_fail(e, KS_ERR_INVALID, NULL, "line %d: %d fields where the header has %d", row->line,
				       row->n, d->rows[0].n);
		mention_in *m;
		ks_err err = mentions_batch_add(b, &m, e);
		if (err)
			return err;
		m->where = row->line;
		bool has_min = false, has_max = false;
		for (int c = 0; c < row->n && !err; c++) {
			const char *name = mp_generic_names[col[c]];
			err = mp_generic_field(b, m, name, row->field[c], e);
			if (strcmp(name, "scale_min") == 0 && row->field[c][0])
				has_min = true;
			if (strcmp(name, "scale_max") == 0 && row->field[c][0])
				has_max = true;
		}
		if (err)
			return err;
		mp_generic_defaults(m, has_min, has_max);
		if ((err = mp_finish(b, m, e)))
			return err;
	}
	return KS_OK;
}

/* In a semicolon file the commas (decimal commas, commas in text) are
 * carried through the comma reader as 0x1F and put back in every field. */
static void mp_csv_restore(csv_doc *d)
{
	for (int r = 0; r < d->n; r++)
		for (int c = 0; c < d->rows[r].n; c++)
			for (char *p = d->rows[r].field[c]; *p; p++)
				if (*p == '\x1f')
					*p = ',';
}

/* The rows of a CSV document as csv_parse will see them — line ends
 * outside quotes after a line that is not empty (a doubled quote inside a
 * quoted field toggles twice) — and where the first ends. No allocation:
 * this decides whether the document is read at all. */
static size_t mp_csv_rows_count(const char *buf, size_t len, size_t *first_end)
{
	size_t rows = 0;
	bool quoted = false, empty = true;
	*first_end = len;
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];
		if (ch == '"')
			quoted = !quoted;
		if (ch == '\n' && !quoted) {
			if (!empty && rows++ == 0)
				*first_end = i + 1;
			empty = true;
		} else if (ch != '\r') {
			empty = false;
		}
	}
	if (!empty && rows++ == 0)
		*first_end = len;
	return rows;
}

/* buf[0..len) as comma CSV (a semicolon file turned into one), parsed into
 * *d (csv_free it, also on failure). */
static ks_err mp_csv_read(const char *buf, size_t len, bool semi, csv_doc *d, ks_error *e)
{
	memset(d, 0, sizeof *d);
	char *copy = mp_strndup(buf, len);
	if (copy == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (semi)
		csv_semicolons_to_commas(copy, len, '\x1f');
	int bad_line = 0;
	const char *why = NULL;
	if (!csv_parse(copy, len, d, &bad_line, &why))
		return ks_fail(e, KS_ERR_INVALID, NULL, "line %d: %s", bad_line, why);
	if (semi)
		mp_csv_restore(d);
	return KS_OK;
}

/* The header row alone, checked before the rest is read (a wrong file fails
 * at once, whatever its size). */
static ks_err mp_csv_header_first(const char *buf, size_t head_len, bool semi, ks_error *e)
{
	csv_doc h;
	ks_err err = mp_csv_read(buf, head_len, semi, &h, e);
	int *col = !err && h.n ? calloc((size_t)h.rows[0].n + 1, sizeof *col) : NULL;
	if (!err && h.n && col == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err && h.n)
		err = mp_csv_header(&h.rows[0], col, e);
	free(col);
	csv_free(&h);
	return err;
}

/* The whole document: header and rows into b. */
static ks_err mp_generic_csv_all(const char *buf, size_t len, bool semi, mentions_batch *b, ks_error *e)
{
	csv_doc d;
	ks_err err = mp_csv_read(buf, len, semi, &d, e);
	if (!err && d.n == 0)
		err = ks_fail(e, KS_ERR_INVALID, NULL, "line 1: the file is empty (a header row is needed)");
	int *col = !err ? calloc((size_t)d.rows[0].n + 1, sizeof *col) : NULL;
	if (!err && col == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err)
		err = mp_csv_header(&d.rows[0], col, e);
	if (!err)
		err = mp_csv_rows(&d, col, b, e);
	free(col);
	csv_free(&d);
	return err;
}

ks_err mp_generic_csv(const char *buf, size_t len, mentions_batch *b, ks_error *e)
{
	size_t head_len, max = b->max_records ? b->max_records : MP_MAX_RECORDS;
	size_t rows = mp_csv_rows_count(buf, len, &head_len);
	bool semi = csv_semicolon_file(buf, len);
	if (semi && memchr(buf, '\x1f', len))
		return ks_fail(e, KS_ERR_INVALID, NULL, "the file holds a control character (0x1F)");
	ks_err err = rows > 1 ? mp_csv_header_first(buf, head_len, semi, e) : KS_OK;
	if (err)
		return err;
	if (rows > max + 1)
		return ks_fail(e, KS_ERR_TOOBIG, "data", "%zu records where at most %zu are taken at once%s", rows - 1, max,
			       b->max_records ? " (klantstem import mentions reads larger files)" : "");
	return mp_generic_csv_all(buf, len, semi, b, e);
}


/* ---- dispatch ------------------------------------------------------------------------ */

typedef ks_err (*mp_json_fn)(const json_t *doc, mentions_batch *b, ks_error *e);

static const struct {
	const char *name;
	mp_json_fn json;
} mp_formats[] = {
	{"generic-csv", NULL}, {"generic-json", mp_generic_json}, {"trustpilot", mp_trustpilot},
	{"google", mp_google}, {"kiyoh", NULL}, {"appstore", mp_appstore}, {"social", mp_social},
};

static int mp_format_index(const char *format)
{
	for (size_t i = 0; format && i < sizeof mp_formats / sizeof mp_formats[0]; i++)
		if (strcmp(format, mp_formats[i].name) == 0)
			return (int)i;
	return -1;
}

bool mentions_format_known(const char *format)
{
	return mp_format_index(format) >= 0;
}

ks_err mentions_from_json(const char *format, const json_t *doc, mentions_batch *out, ks_error *e)
{
	return mentions_from_json_max(format, doc, 0, out, e);
}

ks_err mentions_from_json_max(const char *format, const json_t *doc, size_t max_records, mentions_batch *out,
			      ks_error *e)
{
	memset(out, 0, sizeof *out);
	out->max_records = max_records;
	int k = mp_format_index(format);
	if (k < 0 || mp_formats[k].json == NULL)
		return ks_fail(e, KS_ERR_INVALID, "format", "format must be one of generic-json, trustpilot, google, "
			       "appstore, social here (generic-csv and kiyoh are text)");
	ks_err err = mp_formats[k].json(doc, out, e);
	if (!err)
		mentions_batch_dedupe(out);
	return err;
}

/* The first record of a vendor document: doc[0], or key[0]. */
static const json_t *mp_first_record(const json_t *doc, const char *key)
{
	return json_array_get(json_is_array(doc) ? doc : json_object_get(doc, key), 0);
}

static const char *mp_guess_json(const json_t *doc)
{
	const json_t *r = mp_first_record(doc, "reviews");
	if (json_object_get(r, "starRating") || json_object_get(r, "reviewId"))
		return "google";
	if (json_object_get(r, "stars") || json_object_get(r, "consumer"))
		return "trustpilot";
	r = mp_first_record(doc, "data");
	const char *type = mp_jstr(r, "type");
	if (type && strcmp(type, "customerReviews") == 0)
		return "appstore";
	if (json_object_get(doc, "posts") || (json_is_object(doc) && r))
		return "social";
	return "generic-json";
}

const char *mentions_format_guess(const char *buf, size_t len)
{
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		buf += 3, len -= 3;
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i < len && buf[i] == '<')
		return "kiyoh";
	if (i == len || (buf[i] != '[' && buf[i] != '{'))
		return "generic-csv";
	json_t *doc = json_loadb(buf, len, 0, NULL);
	const char *f = doc ? mp_guess_json(doc) : "generic-json"; /* JSON Lines, or broken: say so there */
	json_decref(doc);
	return f;
}

static ks_err mp_parse_json(int k, const char *buf, size_t len, mentions_batch *out, ks_error *e)
{
	size_t i = 0;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (strcmp(mp_formats[k].name, "generic-json") == 0 && (i == len || buf[i] != '['))
		return mp_generic_jsonl(buf, len, out, e);
	json_error_t je;
	json_t *doc = json_loadb(buf, len, 0, &je);
	if (doc == NULL)
		return ks_fail(e, KS_ERR_BADJSON, NULL, "line %d, column %d: %s", je.line, je.column, je.text);
	ks_err err = mp_formats[k].json(doc, out, e);
	json_decref(doc);
	return err;
}

ks_err mentions_parse(const char *format, const char *buf, size_t len, mentions_batch *out, ks_error *e)
{
	return mentions_parse_max(format, buf, len, 0, out, e);
}

ks_err mentions_parse_max(const char *format, const char *buf, size_t len, size_t max_records, mentions_batch *out,
			  ks_error *e)
{
	memset(out, 0, sizeof *out);
	out->max_records = max_records;
	int k = mp_format_index(format);
	if (k < 0)
		return ks_fail(e, KS_ERR_USAGE, "format", "unknown format \"%.40s\" (generic-csv, generic-json, "
			       "trustpilot, google, kiyoh, appstore, social)", format ? format : "");
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		buf += 3, len -= 3; /* a byte order mark, as spreadsheets write */
	int line, col;
	if (!mp_utf8_ok(buf, len, &line, &col))
		return ks_fail(e, KS_ERR_INVALID, "encoding",
			       "line %d, column %d: not UTF-8 (or a NUL byte): save the file as UTF-8", line, col);
	ks_err err;
	if (mp_formats[k].json)
		err = mp_parse_json(k, buf, len, out, e);
	else if (strcmp(format, "kiyoh") == 0)
		err = mp_kiyoh(buf, len, out, e);
	else
		err = mp_generic_csv(buf, len, out, e);
	if (!err)
		mentions_batch_dedupe(out);
	return err;
}
