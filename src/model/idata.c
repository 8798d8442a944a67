/* idata.c — the fields of the organisation's own data and the one check of
 * a record (see idata.h). The rules follow the customers entity of model.c
 * (lengths, languages, the birth year's range, the phone's characters), so
 * a customer imported is a customer the API would accept.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/utf8.h"
#include "model/idata.h"

static const char *const idata_names[IDATA__KINDS] = {"customers", "products", "holdings", "events"};

static const char *const idata_customer_fields[] = {
	"external_id", "name", "email", "language", "customer_since", "city", "birth_year", "segment",
	"phone", NULL};
static const char *const idata_product_fields[] = {"external_id", "name", "category", NULL};
static const char *const idata_holding_fields[] = {"customer_external_id", "product_external_id", "since",
						   "until", NULL};
static const char *const idata_event_fields[] = {"external_id", "customer_external_id", "kind",
						 "occurred_at", "channel", "detail", NULL};
static const char *const *const idata_field_lists[IDATA__KINDS] = {
	idata_customer_fields, idata_product_fields, idata_holding_fields, idata_event_fields};

const char *const idata_event_kinds[] = {
	"mailing_sent", "mailing_opened", "mailing_clicked", "newsletter_subscribed",
	"newsletter_unsubscribed", "login", "account_action", "contact", NULL};

bool idata_kind_parse(const char *name, idata_kind *out)
{
	for (int k = 0; k < IDATA__KINDS; k++)
		if (name && strcmp(name, idata_names[k]) == 0) {
			*out = (idata_kind)k;
			return true;
		}
	return false;
}

const char *idata_kind_name(idata_kind k)
{
	return k < IDATA__KINDS ? idata_names[k] : "?";
}

const char *const *idata_fields(idata_kind k, int *n)
{
	const char *const *f = idata_field_lists[k];
	int i = 0;
	while (f[i])
		i++;
	if (n)
		*n = i;
	return f;
}

int idata_field(idata_kind k, const char *name)
{
	const char *const *f = idata_field_lists[k];
	for (int i = 0; f[i]; i++)
		if (strcmp(f[i], name) == 0)
			return i;
	return -1;
}

bool idata_attr_key_ok(const char *key)
{
	size_t n = strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_");
	return n >= 1 && n <= IDATA_ATTR_KEY_MAX && key[n] == '\0';
}

bool idata_text_ok(const char *s)
{
	/* H8: the C1 controls are refused too (see utf8_text_ok) */
	return utf8_text_ok(s, true);
}

const char *idata_json_text(const json_t *v, char *buf, size_t n)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_value(v);
	case JSON_INTEGER:
		snprintf(buf, n, "%lld", (long long)json_integer_value(v));
		return buf;
	case JSON_REAL: {
		/* 1980.0 is the year 1980 (exports write numbers as reals) */
		double d = json_real_value(v);
		if (d > -1e15 && d < 1e15 && d == (double)(long long)d)
			snprintf(buf, n, "%lld", (long long)d);
		else
			snprintf(buf, n, "%.15g", d);
		return buf;
	}
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "";
	default:
		return NULL;
	}
}

bool idata_customer_id_reserved(const char *external_id)
{
	return external_id && strncmp(external_id, IDATA_ERASED_PREFIX, strlen(IDATA_ERASED_PREFIX)) == 0;
}

/* ---- the check ------------------------------------------------------------ */

typedef struct idata_ck {
	const idata_in *in;
	idata_rec *out;
	const char *const *names;
	idata_err_fn err;
	void *arg;
	int bad;
} idata_ck;

static void idata_bad(idata_ck *k, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void idata_bad(idata_ck *k, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	k->err(k->arg, field, msg);
	k->bad++;
}

/* Why s fails idata_text_ok: a control character, or not UTF-8. */
static const char *idata_text_why(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n') || *p == 0x7F ||
		    (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			return "holds a control character (a byte the file's encoding does not define? see --encoding)";
	return "is not valid UTF-8 text (a file in another encoding? see --encoding)";
}

/* Field i as text: NULL when absent or empty (*given tells which). */
static const char *idata_text(idata_ck *k, int i, size_t max, bool required)
{
	const char *v = k->in->v[i];
	if (v)
		k->out->given |= 1u << i;
	if (v == NULL || *v == '\0') {
		if (required)
			idata_bad(k, k->names[i], "a value is required");
		return NULL;
	}
	if (!idata_text_ok(v)) {
		idata_bad(k, k->names[i], "%s", idata_text_why(v));
		return NULL;
	}
	if (strlen(v) > max) {
		idata_bad(k, k->names[i], "is longer than %zu bytes", max);
		return NULL;
	}
	k->out->s[i] = v;
	return v;
}

/* A customer's external id (field i), refused when it is a tombstone's. */
static void idata_customer_ref(idata_ck *k, int i)
{
	const char *v = idata_text(k, i, IDATA_TEXT_MAX, true);
	if (v && idata_customer_id_reserved(v)) {
		k->out->s[i] = NULL;
		/* its first 40 bytes at a character boundary: the id is up to 500
		 * (%.40s could split a character mid-message) */
		char shown[41];
		utf8_copy(shown, sizeof shown, v);
		idata_bad(k, k->names[i], "'%s': an id starting with '" IDATA_ERASED_PREFIX "' is an erased "
			  "customer's, never given to a customer", shown);
	}
}

static int idata_days_in_month(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

/* "YYYY-MM-DD" of a real day 1900..2100 at s; *y,*m,*d. */
static bool idata_ymd(const char *s, int *y, int *m, int *d)
{
	for (int i = 0; i < 10; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	*y = atoi(s);
	*m = (s[5] - '0') * 10 + (s[6] - '0');
	*d = (s[8] - '0') * 10 + (s[9] - '0');
	return *y >= 1900 && *y <= 2100 && *m >= 1 && *m <= 12 && *d >= 1 && *d <= idata_days_in_month(*y, *m);
}

/* A calendar day field into out->date[slot]. */
static void idata_date(idata_ck *k, int i, int slot)
{
	const char *v = idata_text(k, i, 10, false);
	int y, m, d;
	if (v == NULL)
		return;
	if (strlen(v) != 10 || !idata_ymd(v, &y, &m, &d)) {
		k->out->s[i] = NULL;
		idata_bad(k, k->names[i], "'%.40s' is not a date (YYYY-MM-DD)", v);
		return;
	}
	memcpy(k->out->date[slot], v, 11);
	k->out->s[i] = k->out->date[slot];
}

/* Two digits at s into *v (0..max). */
static bool idata_2(const char *s, int max, int *v)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return *v <= max;
}

/* A time: with Z or an offset as ISO 8601; without one (a bare date,
 * "YYYY-MM-DD HH:MM[:SS]", 'T' or ' ') a local time of tz. */
static bool idata_time(const char *v, const ks_tz *tz, int64_t *out)
{
	int y, mo, d, h = 0, mi = 0, se = 0;
	size_t n = strlen(v);
	if (n < 10 || !idata_ymd(v, &y, &mo, &d))
		return false;
	const char *p = v + 10;
	if (*p == 'T' || *p == ' ') {
		if (!idata_2(p + 1, 23, &h) || p[3] != ':' || !idata_2(p + 4, 59, &mi))
			return false;
		p += 6;
		if (*p == ':') {
			if (!idata_2(p + 1, 59, &se))
				return false;
			p += 3;
		}
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				;
	}
	int64_t local = clock_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	if (*p == '\0') {
		*out = tz_utc_of_local(tz, local);
		return true;
	}
	int oh, om;
	if (*p == 'Z' && p[1] == '\0') {
		*out = local;
		return true;
	}
	if ((*p != '+' && *p != '-') || !idata_2(p + 1, 23, &oh) || p[3] != ':' || !idata_2(p + 4, 59, &om) ||
	    p[6] != '\0')
		return false;
	*out = local - (int64_t)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
	return true;
}

static void idata_customer(idata_ck *k, const ks_tz *tz)
{
	(void)tz;
	idata_rec *r = k->out;
	/* in the order of the fields, so that a row's messages are too */
	idata_customer_ref(k, IDC_EXTERNAL_ID);
	idata_text(k, IDC_NAME, IDATA_TEXT_MAX, false);
	idata_text(k, IDC_EMAIL, IDATA_TEXT_MAX, false);
	const char *v = idata_text(k, IDC_LANGUAGE, 40, false);
	if (v) {
		char l[3] = {0};
		if (strlen(v) == 2) {
			l[0] = (char)(v[0] | 0x20);
			l[1] = (char)(v[1] | 0x20);
		}
		if (strcmp(l, "nl") != 0 && strcmp(l, "en") != 0) {
			r->s[IDC_LANGUAGE] = NULL;
			idata_bad(k, k->names[IDC_LANGUAGE], "'%.40s' is not a language (nl or en)", v);
		} else {
			memcpy(r->language, l, sizeof l);
			r->s[IDC_LANGUAGE] = r->language;
		}
	}
	idata_date(k, IDC_SINCE, 0);
	idata_text(k, IDC_CITY, IDATA_TEXT_MAX, false);
	v = idata_text(k, IDC_BIRTH_YEAR, 40, false);
	if (v) {
		/* "1980" or, as spreadsheets export numbers, "1980.0" */
		size_t d = strspn(v, "0123456789");
		bool ok = d == 4 && (v[4] == '\0' || strcmp(v + 4, ".0") == 0 || strcmp(v + 4, ",0") == 0);
		r->birth_year = ok ? atoi(v) : 0;
		if (!ok)
			idata_bad(k, k->names[IDC_BIRTH_YEAR], "'%.40s' is not a year", v);
		else if (r->birth_year < 1900 || r->birth_year > 2100)
			idata_bad(k, k->names[IDC_BIRTH_YEAR], "'%.40s' is not a year from 1900 to 2100", v);
		if (!ok || r->birth_year < 1900 || r->birth_year > 2100)
			r->s[IDC_BIRTH_YEAR] = NULL;
	}
	idata_text(k, IDC_SEGMENT, IDATA_TEXT_MAX, false);
	v = idata_text(k, IDC_PHONE, 40, false);
	if (v && (strspn(v, "0123456789 +-()") != strlen(v) || strpbrk(v, "0123456789") == NULL)) {
		r->s[IDC_PHONE] = NULL;
		idata_bad(k, k->names[IDC_PHONE],
			  "'%.40s' is not a phone number (digits, spaces, +, - and parentheses)", v);
	}
	for (int i = 0; i < k->in->n_attrs; i++) {
		const char *av = k->in->attr_val[i] ? k->in->attr_val[i] : "";
		if (!idata_text_ok(av))
			idata_bad(k, k->in->attr_key[i], "%s", idata_text_why(av));
		else if (strlen(av) > IDATA_TEXT_MAX)
			idata_bad(k, k->in->attr_key[i], "is longer than %d bytes", IDATA_TEXT_MAX);
		/* issue 16 (H10): the figures' names for "no value" and "the rarest
		 * values" (attr.<key>=unknown|other): a real value spelled so could
		 * not be told from them */
		else if (strcmp(av, "unknown") == 0 || strcmp(av, "other") == 0)
			idata_bad(k, k->in->attr_key[i], "'%s' is reserved in figures (no value / the rarest values): "
				  "leave the cell empty or use another word", av);
		r->attr_key[r->n_attrs] = k->in->attr_key[i];
		r->attr_val[r->n_attrs++] = av;
	}
}

static void idata_holding(idata_ck *k)
{
	idata_customer_ref(k, IDH_CUSTOMER);
	idata_text(k, IDH_PRODUCT, IDATA_TEXT_MAX, true);
	idata_date(k, IDH_SINCE, 0);
	idata_date(k, IDH_UNTIL, 1);
	const char *since = k->out->s[IDH_SINCE], *until = k->out->s[IDH_UNTIL];
	if (since && until && strcmp(until, since) < 0) {
		idata_bad(k, k->names[IDH_UNTIL], "'%s' is before since (%s)", until, since);
		k->out->s[IDH_UNTIL] = NULL;
	}
}

static void idata_event(idata_ck *k, const ks_tz *tz)
{
	idata_rec *r = k->out;
	idata_text(k, IDE_EXTERNAL_ID, IDATA_TEXT_MAX, false);
	idata_customer_ref(k, IDE_CUSTOMER);
	idata_text(k, IDE_CHANNEL, 64, false);
	idata_text(k, IDE_DETAIL, IDATA_DETAIL_MAX, false);
	const char *v = idata_text(k, IDE_KIND, 40, true);
	int i = 0;
	while (v && idata_event_kinds[i] && strcmp(idata_event_kinds[i], v) != 0)
		i++;
	if (v && !idata_event_kinds[i]) {
		r->s[IDE_KIND] = NULL;
		idata_bad(k, k->names[IDE_KIND],
			  "'%.40s' is not an event kind (mailing_sent, mailing_opened, mailing_clicked, "
			  "newsletter_subscribed, newsletter_unsubscribed, login, account_action, contact)", v);
	}
	v = idata_text(k, IDE_OCCURRED_AT, 40, true);
	int64_t lo = clock_days_from_civil(1970, 1, 1) * 86400, hi = clock_days_from_civil(2100, 1, 1) * 86400;
	if (v && (!idata_time(v, tz, &r->occurred_at) || r->occurred_at < lo || r->occurred_at >= hi)) {
		r->s[IDE_OCCURRED_AT] = NULL;
		idata_bad(k, k->names[IDE_OCCURRED_AT],
			  "'%.40s' is not a time (YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] local, or ISO 8601 with Z "
			  "or an offset; 1970-2099)", v);
	}
}

int idata_check(idata_kind kind, const idata_in *in, const ks_tz *tz, idata_rec *out, idata_err_fn err,
		void *arg)
{
	memset(out, 0, sizeof *out);
	out->kind = kind;
	idata_ck k = {.in = in, .out = out, .names = idata_field_lists[kind], .err = err, .arg = arg};
	switch (kind) {
	case IDATA_CUSTOMERS:
		idata_customer(&k, tz);
		break;
	case IDATA_PRODUCTS:
		idata_text(&k, IDP_EXTERNAL_ID, IDATA_TEXT_MAX, true);
		idata_text(&k, IDP_NAME, IDATA_TEXT_MAX, true);
		idata_text(&k, IDP_CATEGORY, IDATA_TEXT_MAX, false);
		break;
	case IDATA_HOLDINGS:
		idata_holding(&k);
		break;
	case IDATA_EVENTS:
	default:
		idata_event(&k, tz);
		break;
	}
	return k.bad;
}
