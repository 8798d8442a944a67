/* report.c — what the PDF and the XLSX of a breakdown share: the labels in
 * both languages, the period in words and the rows read from a /metrics
 * reply (report.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "core/utf8.h"
#include "report/report.h"

bool report_lang_parse(const char *s, report_lang *out)
{
	if (s && strcmp(s, "nl") == 0)
		*out = REPORT_NL;
	else if (s && strcmp(s, "en") == 0)
		*out = REPORT_EN;
	else
		return false;
	return true;
}

/* ---- labels ------------------------------------------------------------------- */

typedef struct report_text {
	const char *key, *nl, *en;
} report_text;

static const report_text report_texts[] = {
	/* fixed texts */
	{"report", "Rapport", "Report"},
	{"scores", "Scores", "Scores"},
	{"by", "per", "by"},
	{"and", "en", "and"},
	{"organisation_name", "Organisatie", "Organisation"},
	{"period", "Periode", "Period"},
	{"window", "Van en tot", "From and to"},
	{"filters", "Filters", "Filters"},
	{"no_filters", "geen: alle reacties in de periode", "none: every response in the period"},
	{"all_time", "alle tijd", "all time"},
	{"generated", "Gemaakt op", "Generated on"},
	{"hidden", "te weinig reacties", "not enough responses"},
	{"hidden_some", "te weinig reacties voor", "not enough responses for"},
	{"total", "Totaal", "Total"},
	{"col.n", "Reacties", "Responses"},
	{"col.nps", "NPS", "NPS"},
	{"col.nps_low", "NPS laag (95%)", "NPS low (95%)"},
	{"col.nps_high", "NPS hoog (95%)", "NPS high (95%)"},
	{"col.interval", "95%-interval", "95% interval"},
	{"col.nps_n", "NPS-antwoorden", "NPS answers"},
	{"col.grade", "Cijfer", "Grade"},
	{"col.grade_n", "Cijfer-antwoorden", "Grade answers"},
	{"col.ces", "CES", "CES"},
	{"col.ces_n", "CES-antwoorden", "CES answers"},
	{"col.note", "Opmerking", "Note"},
	{"col.bar", "NPS (-100 tot 100)", "NPS (-100 to 100)"},
	{"m.nps", "NPS", "NPS"},
	{"m.grade", "cijfer", "grade"},
	{"m.ces", "CES", "CES"},
	{"sheet.table", "Uitsplitsing", "Breakdown"},
	{"sheet.about", "Over", "About"},
	{"min_n", "Regel voor kleine aantallen", "Rule for small numbers"},
	{"interval_note",
	 "Het NPS-interval is een 95%-betrouwbaarheidsinterval (aangepaste Wald-methode).",
	 "The NPS interval is a 95% confidence interval (adjusted Wald)."},
	{"none", "(geen)", "(none)"},
	{"measures", "Gemeten", "Measures"},
	{"nps_only", "alleen NPS (cijfer en CES niet geteld)", "NPS only (grade and CES not counted)"},
	/* dimensions */
	{"team", "Team", "Team"},
	{"department", "Afdeling", "Department"},
	{"organisation", "Organisatie", "Organisation"},
	{"employee", "Medewerker", "Employee"},
	{"touchpoint", "Contactmoment", "Touchpoint"},
	{"journey", "Klantreis", "Journey"},
	{"channel", "Kanaal", "Channel"},
	{"language", "Taal", "Language"},
	{"segment", "Segment", "Segment"},
	{"age_band", "Leeftijd", "Age"},
	{"customer_since_band", "Klant sinds", "Customer since"},
	{"city", "Plaats", "City"},
	{"day", "Dag", "Day"},
	{"week", "Week", "Week"},
	{"month", "Maand", "Month"},
	{"quarter", "Kwartaal", "Quarter"},
	{"year", "Jaar", "Year"},
	{"theme", "Thema", "Theme"},
	{"sentiment", "Sentiment", "Sentiment"},
	{"product", "Product", "Product"},
	{"login_band", "Inlogfrequentie", "Login frequency"},
	{"newsletter", "Nieuwsbrief", "Newsletter"},
	/* filter parameters */
	{"team_id", "Team of afdeling", "Team or department"},
	{"employee_id", "Medewerker", "Employee"},
	{"touchpoint_id", "Contactmoment", "Touchpoint"},
	{"journey_id", "Klantreis", "Journey"},
};

const char *report_label(report_lang lang, const char *key)
{
	if (key == NULL)
		return "";
	for (size_t i = 0; i < sizeof report_texts / sizeof report_texts[0]; i++)
		if (strcmp(report_texts[i].key, key) == 0)
			return lang == REPORT_EN ? report_texts[i].en : report_texts[i].nl;
	if (strncmp(key, "attr.", 5) == 0 && key[5])
		return key + 5;
	return key;
}

/* ---- UTF-8 ---------------------------------------------------------------------- */

/* ---- values in words --------------------------------------------------------------- */

static const report_text report_values[] = {
	{"sentiment:negative", "Negatief", "Negative"},
	{"sentiment:neutral", "Neutraal", "Neutral"},
	{"sentiment:positive", "Positief", "Positive"},
	{"newsletter:yes", "ja", "yes"},
	{"newsletter:no", "nee", "no"},
	{"login_band:none", "geen logins", "no logins"},
	{"*:unknown", "onbekend", "unknown"},
	{"*:other", "overig", "other"},
};

static const char *report_value_table(report_lang lang, const char *dim, const char *value)
{
	bool attr = strcmp(dim, "newsletter") == 0 || strcmp(dim, "login_band") == 0 || strncmp(dim, "attr.", 5) == 0;
	for (size_t i = 0; i < sizeof report_values / sizeof report_values[0]; i++) {
		const char *k = report_values[i].key, *colon = strchr(k, ':');
		size_t dl = (size_t)(colon - k);
		bool dim_ok = (dl == 1 && k[0] == '*' && attr) || (strlen(dim) == dl && strncmp(dim, k, dl) == 0);
		if (dim_ok && strcmp(colon + 1, value) == 0)
			return lang == REPORT_EN ? report_values[i].en : report_values[i].nl;
	}
	return NULL;
}

void report_value_words(report_lang lang, const json_t *theme_labels, const char *dim, const char *value,
			char *out, size_t n)
{
	const char *w = dim && value ? report_value_table(lang, dim, value) : NULL;
	if (w) {
		utf8_copy(out, n, w);
		return;
	}
	if (dim && value && strcmp(dim, "theme") == 0) {
		const json_t *l = json_object_get(theme_labels, value);
		const char *s = json_string_value(json_object_get(l, lang == REPORT_EN ? "en" : "nl"));
		if (s == NULL)
			s = json_string_value(json_object_get(l, lang == REPORT_EN ? "nl" : "en"));
		if (s && s[0]) {
			utf8_copy(out, n, s);
			return;
		}
	}
	if (dim && value && strcmp(dim, "login_band") == 0 && value[0] >= '0' && value[0] <= '9') {
		snprintf(out, n, "%s logins", value);
		return;
	}
	utf8_copy(out, n, value);
}

/* ---- periods in words -------------------------------------------------------------- */

static const char *const report_months[2][12] = {
	{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
	 "oktober", "november", "december"},
	{"January", "February", "March", "April", "May", "June", "July", "August", "September",
	 "October", "November", "December"},
};

static const char *report_month(report_lang lang, int m)
{
	return m >= 1 && m <= 12 ? report_months[lang == REPORT_EN][m - 1] : "?";
}

void report_period_words(report_lang lang, const char *label, char *out, size_t n)
{
	int y = 0, m = 0, d = 0, q = 0, w = 0, days = 0;
	char tail = 0;
	bool en = lang == REPORT_EN;
	if (label == NULL || label[0] == '\0')
		snprintf(out, n, "%s", report_label(lang, "all_time"));
	else if (sscanf(label, "last_%dd%c", &days, &tail) == 1)
		snprintf(out, n, en ? "last %d days" : "laatste %d dagen", days);
	else if (sscanf(label, "%4d-Q%1d%c", &y, &q, &tail) == 2)
		snprintf(out, n, en ? "Q%d %d" : "%de kwartaal %d", q, y);
	else if (sscanf(label, "%4d-W%2d%c", &y, &w, &tail) == 2)
		snprintf(out, n, en ? "week %d of %d" : "week %d van %d", w, y);
	else if (sscanf(label, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3)
		snprintf(out, n, en ? "%3$s %2$d, %1$d" : "%2$d %3$s %1$d", y, d, report_month(lang, m));
	else if (sscanf(label, "%4d-%2d%c", &y, &m, &tail) == 2)
		snprintf(out, n, "%s %d", report_month(lang, m), y);
	else if (sscanf(label, "%4d%c", &y, &tail) == 1)
		snprintf(out, n, "%d", y);
	else
		snprintf(out, n, "%s", label);
}

/* "2026-11-01T00:00:00+01:00" as a date in words; end: the window's end is
 * exclusive, so a bound at local midnight reads as the day before. */
static void report_date_words(report_lang lang, const char *iso, bool end, char *out, size_t n)
{
	int y, m, d, hh, mm, ss;
	if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &m, &d, &hh, &mm, &ss) != 6) {
		snprintf(out, n, "%s", iso);
		return;
	}
	if (end && hh == 0 && mm == 0 && ss == 0) {
		struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d - 1, .tm_hour = 12};
		time_t t = timegm(&tm); /* normalises day 0 to the month before */
		gmtime_r(&t, &tm);
		y = tm.tm_year + 1900;
		m = tm.tm_mon + 1;
		d = tm.tm_mday;
	}
	if (lang == REPORT_EN)
		snprintf(out, n, "%s %d, %d", report_month(lang, m), d, y);
	else
		snprintf(out, n, "%d %s %d", d, report_month(lang, m), y);
}

void report_window_words(report_lang lang, const report_table *t, char *out, size_t n)
{
	char a[48] = "", b[48] = "";
	if (t->from[0] == '\0' && t->to[0] == '\0') {
		snprintf(out, n, "%s", report_label(lang, "all_time"));
		return;
	}
	if (t->from[0])
		report_date_words(lang, t->from, false, a, sizeof a);
	if (t->to[0])
		report_date_words(lang, t->to, true, b, sizeof b);
	if (lang == REPORT_EN)
		snprintf(out, n, "%s%s%s%s", a[0] ? "from " : "", a, a[0] && b[0] ? " to " : b[0] ? "up to " : "", b);
	else
		snprintf(out, n, "%s%s%s%s", a[0] ? "van " : "", a, a[0] && b[0] ? " t/m " : b[0] ? "t/m " : "", b);
}

void report_page_words(report_lang lang, int page, int pages, char *out, size_t n)
{
	snprintf(out, n, lang == REPORT_EN ? "Page %d of %d" : "Pagina %d van %d", page, pages);
}

void report_min_n_words(report_lang lang, int64_t min_n, int64_t min_n_person, char *out, size_t n)
{
	if (lang == REPORT_EN)
		snprintf(out, n,
			 "A score (NPS, grade, CES) is shown only from %lld answers to its question, and from "
			 "%lld for one employee. Below that only the number of responses is given, with \"not "
			 "enough responses\"; a cell may also be hidden because it could otherwise be derived "
			 "from the others.", (long long)min_n, (long long)min_n_person);
	else
		snprintf(out, n,
			 "Een score (NPS, cijfer, CES) wordt pas getoond vanaf %lld antwoorden op die vraag, en "
			 "vanaf %lld voor één medewerker. Daaronder staat alleen het aantal reacties, met \"te "
			 "weinig reacties\"; een cel kan ook verborgen zijn omdat hij anders uit de andere af te "
			 "leiden is.", (long long)min_n, (long long)min_n_person);
}

/* A dimension's label inside a sentence: "Medewerker" -> "medewerker"
 * (an attribute's own key stays as the organisation wrote it). */
static void report_dim_word(report_lang lang, const char *dim, char *out, size_t n)
{
	snprintf(out, n, "%s", report_label(lang, dim));
	if (strncmp(dim, "attr.", 5) != 0 && out[0] >= 'A' && out[0] <= 'Z' && out[1] >= 'a' && out[1] <= 'z')
		out[0] = (char)(out[0] - 'A' + 'a');
}

void report_title(report_lang lang, const report_table *t, char *out, size_t n)
{
	const char *s = report_label(lang, "scores");
	char a[64], b[64];
	report_dim_word(lang, t->dim[0], a, sizeof a);
	report_dim_word(lang, t->dim[1], b, sizeof b);
	if (t->n_dims == 0)
		snprintf(out, n, "%s", s);
	else if (t->n_dims == 1)
		snprintf(out, n, "%s %s %s", s, report_label(lang, "by"), a);
	else
		snprintf(out, n, "%s %s %s %s %s", s, report_label(lang, "by"), a, report_label(lang, "and"), b);
}

void report_row_note(report_lang lang, const report_row *r, char *out, size_t n)
{
	static const char *const names[] = {"m.nps", "m.grade", "m.ces"};
	out[0] = '\0';
	if (r->insufficient) {
		snprintf(out, n, "%s", report_label(lang, "hidden"));
		return;
	}
	size_t used = 0;
	for (int i = 0; i < REPORT_M_COUNT; i++) {
		if (r->m[i].state != REPORT_HIDDEN)
			continue;
		int k = snprintf(out + used, n - used, "%s %s", used ? "," : report_label(lang, "hidden_some"),
				 report_label(lang, names[i]));
		if (k < 0 || (size_t)k >= n - used)
			return;
		used += (size_t)k;
	}
}

/* ---- reading a reply ------------------------------------------------------------------ */


static double report_num(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* A group's key: {"id","name"} for entities, a string for values. */
static void report_key(const json_t *v, char *out, size_t n)
{
	if (json_is_object(v))
		v = json_object_get(v, "name");
	if (json_is_string(v))
		utf8_copy(out, n, json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else
		out[0] = '\0';
}

/* One cell as metrics_json_members_masked prints it. */
static ks_err report_cell(const json_t *c, report_row *r, ks_error *e)
{
	if (!json_is_object(c) || !json_is_integer(json_object_get(c, "n")))
		return ks_fail(e, KS_ERR_INVALID, NULL, "not a /metrics cell");
	r->n = json_integer_value(json_object_get(c, "n"));
	r->insufficient = json_is_true(json_object_get(c, "insufficient"));
	static const char *const keys[] = {"nps", "grade", "ces"};
	const json_t *hidden = json_object_get(c, "hidden");
	for (int i = 0; i < REPORT_M_COUNT; i++) {
		report_measure *m = &r->m[i];
		memset(m, 0, sizeof *m);
		const json_t *o = json_object_get(c, keys[i]);
		if (json_is_object(o)) {
			m->state = REPORT_SHOWN;
			m->n = json_integer_value(json_object_get(o, "n"));
			m->value = report_num(o, i == REPORT_M_NPS ? "value" : "mean");
			m->low = report_num(o, "low");
			m->high = report_num(o, "high");
			continue;
		}
		size_t j;
		const json_t *h;
		json_array_foreach(hidden, j, h)
			if (json_is_string(h) && strcmp(json_string_value(h), keys[i]) == 0)
				m->state = REPORT_HIDDEN;
		if (r->insufficient)
			m->state = REPORT_HIDDEN;
	}
	return KS_OK;
}

ks_err report_table_read(const json_t *reply, report_table *t, ks_error *e)
{
	memset(t, 0, sizeof *t);
	ks_err err = report_cell(reply, &t->total, e);
	if (err)
		return err;
	const json_t *f = json_object_get(reply, "filter");
	const char *p = json_string_value(json_object_get(f, "period"));
	utf8_copy(t->period, sizeof t->period, p ? p : "");
	p = json_string_value(json_object_get(f, "from"));
	utf8_copy(t->from, sizeof t->from, p ? p : "");
	p = json_string_value(json_object_get(f, "to"));
	utf8_copy(t->to, sizeof t->to, p ? p : "");
	const json_t *gb = json_object_get(reply, "group_by");
	size_t i;
	const json_t *v;
	json_array_foreach(gb, i, v) {
		if (i >= 2 || !json_is_string(v))
			return ks_fail(e, KS_ERR_INVALID, NULL, "not a /metrics reply: group_by");
		utf8_copy(t->dim[i], sizeof t->dim[i], json_string_value(v));
		t->n_dims = (int)i + 1;
	}
	const json_t *rows = json_object_get(reply, "rows");
	size_t nr = json_array_size(rows);
	t->rows = calloc(nr ? nr : 1, sizeof *t->rows);
	if (t->rows == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	json_array_foreach(rows, i, v) {
		report_row *r = &t->rows[i];
		err = report_cell(v, r, e);
		for (int d = 0; !err && d < t->n_dims; d++)
			report_key(json_object_get(v, t->dim[d]), r->key[d], sizeof r->key[d]);
		if (err) {
			report_table_free(t);
			return err;
		}
		t->n_rows = i + 1;
	}
	return KS_OK;
}

void report_table_free(report_table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->n_rows = 0;
}

/* ---- the libraries' global state ---------------------------------------------------------- */

void report_global_init(void)
{
	/* fontconfig reads its configuration on first use; cairo's first text
	 * on two threads at once would race to do it. */
	FcInit();
}

void report_global_cleanup(void)
{
	/* cairo keeps font faces, scaled fonts and its fontconfig patterns in
	 * static caches, and fontconfig its configuration: reachable until
	 * exit, but released here so a leak check at exit sees only ours. */
	cairo_debug_reset_static_data();
	FcFini();
}
