/* digest.c — the text of a scheduled digest. See digest.h. */
#include "report/digest.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Both parts at once: every line goes to the text part as it is and to
 * the HTML part escaped, so the two never say different things. */
typedef struct dg_writer {
	ks_buf *text, *html;
	bool en;
	bool in_list;
	ks_err rc;
} dg_writer;

static const char *dg_s(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "";
}

/* The reader's language: a macro, so the compiler still checks both
 * literals as formats. */
#define dg_t(w, nl, en_) ((w)->en ? (en_) : (nl))

static void dg_end_list(dg_writer *w)
{
	if (w->in_list && !w->rc)
		w->rc = buf_puts(w->html, "</ul>\n");
	w->in_list = false;
}

/* s as a line of the text part (after lead) and, escaped, between the
 * tags open and close in the HTML part. */
static void dg_line(dg_writer *w, const char *lead, const char *open, const char *s, const char *close)
{
	if (!w->rc)
		w->rc = buf_printf(w->text, "%s%s\n", lead, s);
	if (!w->rc)
		w->rc = buf_puts(w->html, open);
	if (!w->rc)
		w->rc = buf_html(w->html, s);
	if (!w->rc)
		w->rc = buf_puts(w->html, close);
}

static void dg_heading(dg_writer *w, const char *title)
{
	dg_end_list(w);
	dg_line(w, "\n", "<h2 style=\"font-size:16px;margin:20px 0 6px\">", title, "</h2>\n");
}

static void dg_para(dg_writer *w, const char *s)
{
	dg_end_list(w);
	dg_line(w, "", "<p style=\"margin:4px 0\">", s, "</p>\n");
}

static void dg_item(dg_writer *w, const char *s)
{
	if (!w->in_list && !w->rc) {
		w->rc = buf_puts(w->html, "<ul style=\"margin:4px 0;padding-left:20px\">\n");
		w->in_list = true;
	}
	dg_line(w, "  - ", "<li>", s, "</li>\n");
}

/* A number as the reader writes it: "23.4" in English, "23,4" in Dutch. */
static void dg_num(const dg_writer *w, const json_t *v, int decimals, char *out, size_t n)
{
	snprintf(out, n, "%.*f", decimals, json_number_value(v));
	if (!w->en) {
		char *dot = strchr(out, '.');
		if (dot)
			*dot = ',';
	}
}

/* Text without control characters (a line break in a name or an answer
 * cannot break the layout of the text part), cut to fit n (n >= 1) on a
 * character boundary: half a UTF-8 sequence would make the whole mail
 * invalid, and mail_message_check would refuse the digest for good. */
static void dg_clean(const char *s, char *out, size_t n)
{
	size_t j = 0;
	for (; s && *s && j + 1 < n; s++)
		out[j++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
	/* Cut in the middle of a character (the next byte continues it): drop
	 * its bytes already copied, continuation bytes and then the lead byte.
	 * The input is UTF-8 (jansson checks every string it reads). */
	if (s && *s && ((unsigned char)*s & 0xC0) == 0x80) {
		while (j > 0 && ((unsigned char)out[j - 1] & 0xC0) == 0x80)
			j--;
		if (j > 0)
			j--;
	}
	out[j] = '\0';
}

/* ---- the parts ------------------------------------------------------------------------------ */

/* The part whose list is c[key]: NULL, and nothing written, when the
 * content has no such list; else the list, under its heading title, with
 * the line empty (NULL: none) when it has no items. */
static const json_t *dg_list(dg_writer *w, const json_t *c, const char *key, const char *title, const char *empty)
{
	const json_t *a = json_object_get(c, key);
	if (!json_is_array(a))
		return NULL;
	dg_heading(w, title);
	if (json_array_size(a) == 0 && empty)
		dg_para(w, empty);
	return a;
}

static void dg_compliments(dg_writer *w, const json_t *c, bool team)
{
	const json_t *list = dg_list(w, c, "compliments",
				     team ? dg_t(w, "Complimenten aan het team", "Compliments to the team")
					  : dg_t(w, "Je nieuwe complimenten", "Your new compliments"),
				     dg_t(w, "Deze week geen nieuwe complimenten.", "No new compliments this week."));
	if (list == NULL)
		return;
	size_t i;
	const json_t *k;
	json_array_foreach(list, i, k) {
		char text[1200], line[1700], from[160], emp[160];
		dg_clean(dg_s(k, "text"), text, sizeof text);
		dg_clean(dg_s(k, "from"), from, sizeof from);
		dg_clean(dg_s(k, "employee"), emp, sizeof emp);
		if (team)
			snprintf(line, sizeof line, "%s (%s %s): \"%s\"", emp, dg_t(w, "van", "from"), from, text);
		else
			snprintf(line, sizeof line, "%s %s: \"%s\"", dg_t(w, "Van", "From"), from, text);
		dg_item(w, line);
		const char *note = json_string_value(json_object_get(k, "note"));
		if (note && note[0]) {
			dg_clean(note, text, sizeof text);
			snprintf(line, sizeof line, "    %s", text);
			dg_item(w, line);
		}
	}
}

static void dg_learning(dg_writer *w, const json_t *c, bool team)
{
	const json_t *l = json_object_get(c, "learning");
	if (!json_is_object(l))
		return;
	dg_heading(w, dg_t(w, "Leerpunten", "Learning points"));
	char line[1600];
	if (!json_is_true(json_object_get(l, "shown"))) {
		snprintf(line, sizeof line,
			 dg_t(w, "Te weinig antwoorden deze week om leerpunten te tonen (minder dan %lld).",
			      "Too few answers this week to show learning points (fewer than %lld)."),
			 (long long)json_integer_value(json_object_get(l, "min_n")));
		dg_para(w, line);
		return;
	}
	const json_t *items = json_object_get(l, "items");
	if (json_array_size(items) == 0)
		dg_para(w, team ? dg_t(w, "Deze week geen open antwoorden met een verbeterpunt.",
				      "No open answers with something to improve this week.")
				: dg_t(w, "Deze week geen open antwoorden met een verbeterpunt voor jou.",
				       "No open answers with something to improve for you this week."));
	size_t i;
	const json_t *it;
	json_array_foreach(items, i, it) {
		char text[1200];
		dg_clean(dg_s(it, "text"), text, sizeof text);
		snprintf(line, sizeof line, "\"%s\"", text);
		dg_item(w, line);
	}
}

static void dg_my_score(dg_writer *w, const json_t *c)
{
	const json_t *m = json_object_get(c, "my_score");
	if (!json_is_object(m))
		return;
	char line[400], v[32], lo[32], hi[32];
	const json_t *nps = json_object_get(m, "nps");
	dg_heading(w, dg_t(w, "Jouw NPS", "Your NPS"));
	if (json_is_object(nps)) {
		dg_num(w, json_object_get(nps, "value"), 1, v, sizeof v);
		dg_num(w, json_object_get(nps, "low"), 1, lo, sizeof lo);
		dg_num(w, json_object_get(nps, "high"), 1, hi, sizeof hi);
		snprintf(line, sizeof line, dg_t(w, "%s: NPS %s (95%%-interval %s tot %s)", "%s: NPS %s (95%% interval %s to %s)"),
			 dg_s(m, "period"), v, lo, hi);
	} else {
		snprintf(line, sizeof line,
			 dg_t(w, "%s: nog te weinig antwoorden voor een score (minder dan %lld).",
			      "%s: too few answers for a score yet (fewer than %lld)."),
			 dg_s(m, "period"), (long long)json_integer_value(json_object_get(m, "min_n")));
	}
	dg_para(w, line);
}

static const char *dg_status(const dg_writer *w, const char *st)
{
	static const char *const names[][3] = {{"reached", "behaald", "reached"},
					       {"likely", "waarschijnlijk behaald", "likely"},
					       {"too_close_to_call", "te dichtbij om te zeggen", "too close to call"},
					       {"not_reached", "niet behaald", "not reached"},
					       {"insufficient_data", "nog te weinig antwoorden", "too few answers yet"}};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(st, names[i][0]) == 0)
			return names[i][w->en ? 2 : 1];
	return st;
}

static void dg_goals(dg_writer *w, const json_t *c)
{
	const json_t *goals = dg_list(w, c, "goals", dg_t(w, "Teamdoel", "Team goal"),
				      dg_t(w, "Het team heeft voor nu geen doel.", "The team has no goal for now."));
	if (goals == NULL)
		return;
	size_t i;
	const json_t *g;
	json_array_foreach(goals, i, g) {
		bool nps = strcmp(dg_s(g, "metric"), "nps") == 0;
		char target[32], value[32], line[400];
		dg_num(w, json_object_get(g, "target"), nps ? 1 : 2, target, sizeof target);
		const json_t *v = json_object_get(g, "value");
		if (json_is_number(v))
			dg_num(w, v, nps ? 1 : 2, value, sizeof value);
		else
			snprintf(value, sizeof value, "-");
		snprintf(line, sizeof line, dg_t(w, "%s %s: doel %s, nu %s (%s)", "%s %s: target %s, now %s (%s)"),
			 nps ? "NPS" : dg_t(w, "Cijfer", "Grade"), dg_s(g, "period"), target, value,
			 dg_status(w, dg_s(g, "status")));
		dg_item(w, line);
	}
}

static void dg_cases(dg_writer *w, const json_t *c)
{
	const json_t *cs = json_object_get(c, "cases");
	if (!json_is_object(cs))
		return;
	dg_heading(w, dg_t(w, "Open cases van het team", "Open cases of the team"));
	char line[600];
	snprintf(line, sizeof line, dg_t(w, "%lld open, waarvan %lld over de deadline.", "%lld open, %lld of them overdue."),
		 (long long)json_integer_value(json_object_get(cs, "open")),
		 (long long)json_integer_value(json_object_get(cs, "overdue")));
	dg_para(w, line);
	size_t i;
	const json_t *it;
	json_array_foreach(json_object_get(cs, "items"), i, it) {
		char reason[300];
		dg_clean(dg_s(it, "reason"), reason, sizeof reason);
		snprintf(line, sizeof line, "#%lld %s%s", (long long)json_integer_value(json_object_get(it, "id")), reason,
			 json_is_true(json_object_get(it, "overdue")) ? dg_t(w, " (over de deadline)", " (overdue)") : "");
		dg_item(w, line);
	}
}

/* A measure's line: its value with its interval, or why there is none
 * (hidden below its minimum n, or not asked at all). */
static void dg_score_line(dg_writer *w, const json_t *cell, const char *label, const char *measure,
			  const char *key, int decimals)
{
	char line[300], v[32], lo[32], hi[32];
	const json_t *m = json_object_get(cell, measure);
	if (!json_is_object(m)) {
		bool hidden = false;
		size_t i;
		const json_t *h;
		json_array_foreach(json_object_get(cell, "hidden"), i, h)
			hidden |= json_is_string(h) && strcmp(json_string_value(h), measure) == 0;
		snprintf(line, sizeof line, "%s: %s", label,
			 hidden ? dg_t(w, "verborgen (te weinig antwoorden)", "hidden (too few answers)")
				: dg_t(w, "geen antwoorden", "no answers"));
	} else {
		dg_num(w, json_object_get(m, key), decimals, v, sizeof v);
		if (json_object_get(m, "low")) {
			dg_num(w, json_object_get(m, "low"), decimals, lo, sizeof lo);
			dg_num(w, json_object_get(m, "high"), decimals, hi, sizeof hi);
			snprintf(line, sizeof line, dg_t(w, "%s: %s (95%%-interval %s tot %s; n = %lld)",
							 "%s: %s (95%% interval %s to %s; n = %lld)"),
				 label, v, lo, hi, (long long)json_integer_value(json_object_get(m, "n")));
		} else {
			snprintf(line, sizeof line, "%s: %s (n = %lld)", label, v,
				 (long long)json_integer_value(json_object_get(m, "n")));
		}
	}
	dg_item(w, line);
}

static void dg_scores(dg_writer *w, const json_t *c)
{
	const json_t *s = json_object_get(c, "scores");
	if (!json_is_object(s))
		return;
	dg_heading(w, dg_t(w, "Scores", "Scores"));
	char line[300];
	if (json_is_true(json_object_get(s, "insufficient"))) {
		snprintf(line, sizeof line,
			 dg_t(w, "Te weinig antwoorden deze maand voor scores (minder dan %lld).",
			      "Too few answers this month for scores (fewer than %lld)."),
			 (long long)json_integer_value(json_object_get(s, "min_n")));
		dg_para(w, line);
		return;
	}
	snprintf(line, sizeof line, dg_t(w, "%lld antwoorden.", "%lld answers."),
		 (long long)json_integer_value(json_object_get(s, "n")));
	dg_para(w, line);
	dg_score_line(w, s, "NPS", "nps", "value", 1);
	dg_score_line(w, s, dg_t(w, "Cijfer", "Grade"), "grade", "mean", 2);
	dg_score_line(w, s, "CES", "ces", "mean", 2);
}

static void dg_drivers(dg_writer *w, const json_t *c)
{
	const json_t *d = dg_list(w, c, "drivers", dg_t(w, "Wat de NPS het meest bepaalt", "What drives the NPS most"),
				  dg_t(w, "Deze maand toont geen driver een duidelijk effect (of te weinig beoordelingen).",
				       "No driver shows a clear effect this month (or too few ratings)."));
	if (d == NULL)
		return;
	size_t i;
	const json_t *it;
	json_array_foreach(d, i, it) {
		char line[400], v[32], g[32], aspect[160];
		dg_clean(dg_s(it, "aspect"), aspect, sizeof aspect);
		if (json_is_number(json_object_get(it, "score")))
			dg_num(w, json_object_get(it, "score"), 2, v, sizeof v);
		else
			snprintf(v, sizeof v, "-");
		if (json_is_number(json_object_get(it, "gain"))) {
			dg_num(w, json_object_get(it, "gain"), 1, g, sizeof g);
			snprintf(line, sizeof line,
				 dg_t(w, "%s: gemiddeld %s (n = %lld); tot %s NPS-punten te winnen",
				      "%s: mean %s (n = %lld); up to %s NPS points to gain"),
				 aspect, v, (long long)json_integer_value(json_object_get(it, "n")), g);
		} else {
			snprintf(line, sizeof line, dg_t(w, "%s: gemiddeld %s (n = %lld)", "%s: mean %s (n = %lld)"),
				 aspect, v, (long long)json_integer_value(json_object_get(it, "n")));
		}
		dg_item(w, line);
	}
}

static void dg_actions(dg_writer *w, const json_t *c)
{
	const json_t *a = dg_list(w, c, "actions",
				  dg_t(w, "Verbeteracties en hun effect", "Improvement actions and their effect"),
				  dg_t(w, "Geen lopende of afgeronde acties.", "No actions in progress or done."));
	if (a == NULL)
		return;
	size_t i;
	const json_t *it;
	json_array_foreach(a, i, it) {
		char line[700], title[300], ch[32];
		dg_clean(dg_s(it, "title"), title, sizeof title);
		const json_t *chg = json_object_get(it, "change");
		if (json_is_number(chg)) {
			dg_num(w, chg, 2, ch, sizeof ch); /* as the effect route gives it */
			const char *v = dg_s(it, "verdict");
			bool real = strcmp(v, "real_change") == 0;
			snprintf(line, sizeof line,
				 dg_t(w, "%s (%s, sinds %s): NPS-verandering t.o.v. de rest van de organisatie %s punten (%s) — samenhang, geen bewijs van oorzaak",
				      "%s (%s, since %s): NPS change against the rest of the organisation %s points (%s) — associated with, not proof of cause"),
				 title, dg_s(it, "status"), dg_s(it, "start_date"), ch,
				 real ? dg_t(w, "meer dan ruis", "beyond noise") : dg_t(w, "binnen de ruis", "within noise"));
		} else {
			snprintf(line, sizeof line,
				 dg_t(w, "%s (%s, sinds %s): effect nog niet te meten", "%s (%s, since %s): effect not measurable yet"),
				 title, dg_s(it, "status"), dg_s(it, "start_date"));
		}
		dg_item(w, line);
	}
}

static void dg_kpis(dg_writer *w, const json_t *c)
{
	const json_t *k = dg_list(w, c, "kpis", "KPI's", NULL);
	if (k == NULL)
		return;
	size_t i;
	const json_t *it;
	json_array_foreach(k, i, it) {
		char line[400], v[32], name[160], unit[48], period[16];
		dg_clean(dg_s(it, "name"), name, sizeof name);
		dg_clean(dg_s(it, "unit"), unit, sizeof unit);
		dg_clean(dg_s(it, "period"), period, sizeof period);
		const json_t *val = json_object_get(it, "value");
		if (json_is_number(val))
			dg_num(w, val, 2, v, sizeof v);
		else
			snprintf(v, sizeof v, "-");
		snprintf(line, sizeof line, "%s %s: %s %s", name, period, v, unit);
		dg_item(w, line);
	}
}

/* ---- the whole mail --------------------------------------------------------------------------- */

static void dg_intro(dg_writer *w, const json_t *c, bool weekly)
{
	char line[600], name[200], scope[200];
	dg_clean(dg_s(c, "name"), name, sizeof name);
	dg_clean(dg_s(c, "scope"), scope, sizeof scope);
	if (name[0])
		snprintf(line, sizeof line, dg_t(w, "Hallo %s,", "Hello %s,"), name);
	else
		snprintf(line, sizeof line, "%s", dg_t(w, "Hallo,", "Hello,"));
	dg_para(w, line);
	if (scope[0])
		snprintf(line, sizeof line,
			 weekly ? dg_t(w, "Dit is je weekoverzicht van %s tot en met %s (%s, %s).",
				       "This is your weekly digest from %s to %s (%s, %s).")
				: dg_t(w, "Dit is je maandoverzicht van %s tot en met %s (%s, %s).",
				       "This is your monthly digest from %s to %s (%s, %s)."),
			 dg_s(c, "from"), dg_s(c, "to"), dg_s(c, "period"), scope);
	else
		snprintf(line, sizeof line,
			 weekly ? dg_t(w, "Dit is je weekoverzicht van %s tot en met %s (%s).",
				       "This is your weekly digest from %s to %s (%s).")
				: dg_t(w, "Dit is je maandoverzicht van %s tot en met %s (%s).",
				       "This is your monthly digest from %s to %s (%s)."),
			 dg_s(c, "from"), dg_s(c, "to"), dg_s(c, "period"));
	dg_para(w, line);
}

static void dg_footer(dg_writer *w, const json_t *c)
{
	dg_end_list(w);
	const char *page = dg_s(c, "page_url"), *unsub = dg_s(c, "unsubscribe_url");
	if (!w->rc)
		w->rc = buf_printf(w->text, "\n%s\n  %s\n\n%s\n  %s\n",
				   dg_t(w, "Meer in de app:", "More in the app:"), page,
				   dg_t(w, "Geen overzichten meer ontvangen:", "Stop receiving digests:"), unsub);
	if (!w->rc)
		w->rc = buf_puts(w->html, "<p style=\"margin:20px 0 6px\"><a href=\"");
	if (!w->rc)
		w->rc = buf_html(w->html, page);
	if (!w->rc)
		w->rc = buf_printf(w->html, "\">%s</a></p>\n<p style=\"font-size:12px;color:#666\"><a href=\"",
				   dg_t(w, "Meer in de app", "More in the app"));
	if (!w->rc)
		w->rc = buf_html(w->html, unsub);
	if (!w->rc)
		w->rc = buf_printf(w->html, "\">%s</a></p>\n</body></html>\n",
				   dg_t(w, "Geen overzichten meer ontvangen", "Stop receiving digests"));
}

ks_err digest_build(const json_t *content, const char *lang, const char *org_name, ks_buf *subject,
		    ks_buf *text, ks_buf *html)
{
	const char *role = dg_s(content, "role");
	if (!role[0] || !dg_s(content, "page_url")[0] || !dg_s(content, "unsubscribe_url")[0])
		return KS_ERR_INVALID;
	bool team_lead = strcmp(role, "team_lead") == 0, employee = strcmp(role, "employee") == 0;
	bool weekly = team_lead || employee;
	dg_writer w = {.text = text, .html = html, .en = lang && strcmp(lang, "en") == 0};
	char org[160];
	dg_clean(org_name && org_name[0] ? org_name : "Klantstem", org, sizeof org);
	w.rc = buf_printf(subject, weekly ? dg_t(&w, "[%s] Je weekoverzicht %s", "[%s] Your weekly digest %s")
					  : dg_t(&w, "[%s] Je maandoverzicht %s", "[%s] Your monthly digest %s"),
			  org, dg_s(content, "period"));
	if (!w.rc)
		w.rc = buf_printf(html, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\"></head>\n"
					"<body style=\"font-family:sans-serif;font-size:14px;color:#222\">\n",
				  w.en ? "en" : "nl");
	dg_intro(&w, content, weekly);
	if (employee)
		dg_my_score(&w, content);
	dg_compliments(&w, content, team_lead);
	dg_learning(&w, content, team_lead);
	dg_goals(&w, content);
	dg_cases(&w, content);
	dg_scores(&w, content);
	dg_drivers(&w, content);
	dg_actions(&w, content);
	dg_kpis(&w, content);
	dg_footer(&w, content);
	return w.rc;
}
