/* pulse_page.c — the pulse's answer page, form parsing and invitation mail.
 * See pulse_page.h.
 */
#include "pulse/pulse_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8.h"
#include "survey/page.h"

#define PULSE_BATCH 16

static bool pulse_en(const char *lang)
{
	return lang && strncmp(lang, "en", 2) == 0;
}

static const char *pulse_css =
	"body{font-family:system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1b1f24}"
	"main{max-width:600px;margin:0 auto;padding:16px}"
	"h1{font-size:1.3rem}fieldset{border:0;margin:0 0 20px;padding:0}"
	"legend{font-weight:600;margin-bottom:8px}"
	".scale{display:flex;gap:2px;width:100%}"
	".scale label{flex:1 1 0;min-width:0;text-align:center}"
	".scale input{position:absolute;opacity:0}"
	".scale span{display:block;min-height:48px;line-height:48px;border:1px solid #8a94a3;border-radius:4px;"
	"background:#fff}"
	".scale input:checked+span{background:#1f5fbf;color:#fff;border-color:#1f5fbf}"
	".scale input:focus-visible+span{outline:3px solid #f0b400}"
	".ends{display:flex;justify-content:space-between;font-size:.85rem;color:#4a5361}"
	"textarea{width:100%;box-sizing:border-box;min-height:96px;font:inherit}"
	"button{min-height:48px;padding:0 24px;font:inherit;background:#1f5fbf;color:#fff;border:0;border-radius:4px}"
	".err{color:#b00020;font-weight:600}.note{font-size:.9rem;color:#4a5361}";

static ks_err pulse_head(ks_buf *b, const char *lang, const char *title)
{
	ks_err err = buf_printf(b, "<!DOCTYPE html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
				   "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
				   "<title>",
				pulse_en(lang) ? "en" : "nl");
	if (!err)
		err = buf_html(b, title);
	if (!err)
		err = buf_printf(b, "</title><style>%s</style></head><body><main>", pulse_css);
	return err;
}

static ks_err pulse_tail(ks_buf *b)
{
	return buf_puts(b, "</main></body></html>");
}

/* text with {org} replaced by org (escaped). */
static ks_err pulse_html_org(ks_buf *b, const char *text, const char *org)
{
	const char *p = text ? text : "";
	for (const char *q; (q = strstr(p, "{org}")) != NULL; p = q + 5) {
		char part[STORE_PULSE_TEXT_MAX];
		size_t n = (size_t)(q - p) < sizeof part - 1 ? (size_t)(q - p) : sizeof part - 1;
		memcpy(part, p, n);
		part[n] = '\0';
		ks_err err = buf_html(b, part);
		if (!err)
			err = buf_html(b, org && org[0] ? org : "");
		if (err)
			return err;
	}
	return buf_html(b, p);
}

static const char *pulse_text(const json_t *pair, const char *lang)
{
	const char *t = json_string_value(json_object_get(pair, pulse_en(lang) ? "en" : "nl"));
	return t ? t : "";
}

static bool pulse_bad(const pulse_form *f, const char *field)
{
	for (int i = 0; f && i < f->n_bad; i++)
		if (strcmp(f->bad[i], field) == 0)
			return true;
	return false;
}

static ks_err pulse_scale(ks_buf *b, const char *name, const char *legend_html_lang, const json_t *pair,
			  const char *org, int lo, int hi, int checked, const char *low_end, const char *high_end,
			  bool bad, const char *lang)
{
	(void)legend_html_lang;
	ks_err err = buf_printf(b, "<fieldset id=\"q_%s\"><legend>", name);
	if (!err)
		err = pulse_html_org(b, pulse_text(pair, lang), org);
	if (!err)
		err = buf_puts(b, "</legend>");
	if (!err && bad)
		err = buf_printf(b, "<p class=\"err\" role=\"alert\">%s</p>",
				 pulse_en(lang) ? "Please choose a score." : "Kies een score.");
	if (!err)
		err = buf_puts(b, "<div class=\"scale\">");
	for (int v = lo; !err && v <= hi; v++)
		err = buf_printf(b,
				 "<label><input type=\"radio\" name=\"%s\" value=\"%d\" required%s><span>%d</span>"
				 "</label>",
				 name, v, v == checked ? " checked" : "", v);
	if (!err)
		err = buf_printf(b, "</div><div class=\"ends\"><span>%s</span><span>%s</span></div></fieldset>",
				 low_end, high_end);
	return err;
}

ks_err pulse_page_form(ks_buf *out, const json_t *questions, const char *lang, const char *token,
		       const char *org_name, const pulse_form *f)
{
	bool en = pulse_en(lang);
	ks_err err = pulse_head(out, lang, en ? "Employee pulse" : "Medewerkerspuls");
	if (!err)
		err = buf_printf(out, "<h1>%s</h1><p class=\"note\">%s</p>",
				 en ? "How is work going?" : "Hoe gaat het op je werk?",
				 en ? "Anonymous: your answer is stored without your name, without a link to this "
				      "invitation and without a time. Your team's results are shown only when enough "
				      "colleagues answered."
				    : "Anoniem: je antwoord wordt bewaard zonder je naam, zonder verband met deze "
				      "uitnodiging en zonder tijdstip. De uitkomst van je team is alleen te zien als "
				      "genoeg collega's antwoordden.");
	if (!err && f && f->n_bad)
		err = buf_printf(out, "<p class=\"err\" role=\"alert\">%s</p>",
				 en ? "Some answers are missing or not valid; see below."
				    : "Er ontbreken antwoorden of ze kloppen niet; zie hieronder.");
	if (!err) {
		err = buf_puts(out, "<form method=\"post\" action=\"/p/");
		if (!err)
			err = buf_html(out, token);
		if (!err)
			err = buf_printf(out, "?lang=%s\">", en ? "en" : "nl");
	}
	if (!err)
		err = pulse_scale(out, "enps", NULL, json_object_get(questions, "enps"), org_name, 0, 10,
				  f && !pulse_bad(f, "enps") ? f->a.enps : -1, en ? "Not at all likely" : "Zeer onwaarschijnlijk",
				  en ? "Extremely likely" : "Zeer waarschijnlijk", pulse_bad(f, "enps"), lang);
	const json_t *items = json_object_get(questions, "items");
	for (size_t i = 0; !err && i < json_array_size(items) && i < STORE_PULSE_ITEMS; i++) {
		char name[4] = {'i', (char)('1' + i), '\0', '\0'};
		err = pulse_scale(out, name, NULL, json_array_get(items, i), org_name, 1, 5,
				  f && !pulse_bad(f, name) ? f->a.item[i] : -1,
				  en ? "Strongly disagree" : "Helemaal oneens", en ? "Strongly agree" : "Helemaal eens",
				  pulse_bad(f, name), lang);
	}
	if (!err)
		err = buf_puts(out, "<fieldset><legend><label for=\"open\">");
	if (!err)
		err = pulse_html_org(out, pulse_text(json_object_get(questions, "open"), lang), org_name);
	if (!err)
		err = buf_printf(out, "</label></legend>%s<textarea id=\"open\" name=\"open\" maxlength=\"%d\">",
				 pulse_bad(f, "open")
					 ? (en ? "<p class=\"err\" role=\"alert\">At most 2000 characters.</p>"
					       : "<p class=\"err\" role=\"alert\">Hoogstens 2000 tekens.</p>")
					 : "",
				 STORE_PULSE_COMMENT_MAX);
	if (!err && f)
		err = buf_html(out, f->comment);
	if (!err)
		err = buf_printf(out, "</textarea><p class=\"note\">%s</p></fieldset><button type=\"submit\">%s</button>"
				      "</form>",
				 en ? "Optional. Shown to your team lead and managers only as part of a group of at "
				      "least five colleagues, never per person."
				    : "Niet verplicht. Alleen zichtbaar als deel van een groep van minstens vijf "
				      "collega's, nooit per persoon.",
				 en ? "Send" : "Versturen");
	if (!err)
		err = pulse_tail(out);
	return err;
}

ks_err pulse_page_message(ks_buf *out, const char *lang, pulse_message kind)
{
	bool en = pulse_en(lang);
	const char *title, *text;
	switch (kind) {
	case PULSE_MSG_THANKS:
		title = en ? "Thank you" : "Dank je wel";
		text = en ? "Your answer has been stored, anonymously." : "Je antwoord is opgeslagen, anoniem.";
		break;
	case PULSE_MSG_USED:
		title = en ? "Already answered" : "Al beantwoord";
		text = en ? "This link has already been used: each invitation takes one answer."
			  : "Deze link is al gebruikt: elke uitnodiging neemt één antwoord.";
		break;
	case PULSE_MSG_CLOSED:
		title = en ? "This pulse has closed" : "Deze puls is gesloten";
		text = en ? "Answers are no longer taken for this round. You will be invited to the next one."
			  : "Voor deze ronde worden geen antwoorden meer aangenomen. Je krijgt een uitnodiging voor "
			    "de volgende.";
		break;
	default:
		title = en ? "Link not found" : "Link niet gevonden";
		text = en ? "This link is not valid. Use the link from your most recent invitation."
			  : "Deze link is niet geldig. Gebruik de link uit je laatste uitnodiging.";
		break;
	}
	ks_err err = pulse_head(out, lang, title);
	if (!err)
		err = buf_printf(out, "<h1>%s</h1><p>%s</p>", title, text);
	if (!err)
		err = pulse_tail(out);
	return err;
}

/* ---- the form ----------------------------------------------------------------- */

static int pulse_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* Replace every CR LF in v[0..n) by LF (in place, NUL-terminated); the new
 * length. */
static size_t pulse_crlf(char *v, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		if (!(v[i] == '\r' && i + 1 < n && v[i + 1] == '\n'))
			v[o++] = v[i];
	v[o] = '\0';
	return o;
}

/* %-decode [p, p + n) into out (cap bytes); false on a bad escape, a NUL
 * or an overflow. */
static bool pulse_decode(const char *p, size_t n, char *out, size_t cap, size_t *len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return false;
			int h = pulse_hex(p[i + 1]);
			int l = pulse_hex(p[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (c == '\0' || o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	*len = o;
	return true;
}

static void pulse_mark(pulse_form *f, const char *field)
{
	if (!pulse_bad(f, field) && f->n_bad < 8)
		snprintf(f->bad[f->n_bad++], sizeof f->bad[0], "%s", field);
}

static int pulse_int(const char *v, int lo, int hi)
{
	char *end = NULL;
	long x = strtol(v, &end, 10);
	if (v[0] == '\0' || *end != '\0' || x < lo || x > hi)
		return -1;
	return (int)x;
}

ks_err pulse_form_parse(const char *body, size_t len, int n_items, pulse_form *f)
{
	memset(f, 0, sizeof *f);
	f->a.enps = -1;
	for (int i = 0; i < STORE_PULSE_ITEMS; i++)
		f->a.item[i] = -1;
	bool seen[STORE_PULSE_ITEMS + 2] = {false};
	for (size_t pos = 0; pos < len;) {
		const char *amp = memchr(body + pos, '&', len - pos);
		size_t end = amp ? (size_t)(amp - body) : len;
		const char *eq = memchr(body + pos, '=', end - pos);
		if (eq) {
			char name[8], val[sizeof f->comment];
			size_t nl = 0, vl = 0;
			bool ok = pulse_decode(body + pos, (size_t)(eq - body) - pos, name, sizeof name, &nl) &&
				  pulse_decode(eq + 1, end - (size_t)(eq + 1 - body), val, sizeof val, &vl);
			if (!ok) {
				/* too long or broken: a comment's the only long field */
				if (strncmp(body + pos, "open=", 5) == 0)
					pulse_mark(f, "open");
				else
					pulse_mark(f, "form");
			} else if (strcmp(name, "enps") == 0 && !seen[0]) {
				seen[0] = true;
				f->a.enps = pulse_int(val, 0, 10);
			} else if (name[0] == 'i' && name[1] >= '1' && name[1] <= '3' && name[2] == '\0' &&
				   name[1] - '0' <= n_items && !seen[name[1] - '0']) {
				seen[name[1] - '0'] = true;
				f->a.item[name[1] - '1'] = pulse_int(val, 1, 5);
			} else if (strcmp(name, "open") == 0 && !seen[STORE_PULSE_ITEMS + 1]) {
				seen[STORE_PULSE_ITEMS + 1] = true;
				/* CRLF as LF (browsers send CRLF for a textarea's
				 * line breaks): the limit counts what is stored */
				vl = pulse_crlf(val, vl);
				snprintf(f->comment, sizeof f->comment, "%s", val);
				if (!utf8_valid(val, vl, NULL) || survey_text_chars(val, vl) > STORE_PULSE_COMMENT_MAX)
					pulse_mark(f, "open");
			}
		}
		pos = end + 1;
	}
	if (f->a.enps < 0)
		pulse_mark(f, "enps");
	for (int i = 0; i < n_items && i < STORE_PULSE_ITEMS; i++)
		if (f->a.item[i] < 0) {
			char name[4] = {'i', (char)('1' + i), '\0', '\0'};
			pulse_mark(f, name);
		}
	for (int i = n_items; i < STORE_PULSE_ITEMS; i++)
		f->a.item[i] = 0;
	/* a comment of only white space is no comment */
	const char *c = f->comment;
	while (*c == ' ' || *c == '\n' || *c == '\r' || *c == '\t')
		c++;
	f->a.comment = *c ? f->comment : NULL;
	return f->n_bad ? KS_ERR_INVALID : KS_OK;
}

/* ---- the mail ------------------------------------------------------------------- */

ks_err pulse_mail_build(const pulse_mail_input *in, ks_buf *subject, ks_buf *text)
{
	bool en = pulse_en(in->lang);
	const char *org = in->org_name && in->org_name[0] ? in->org_name : "Klantstem";
	char date[16];
	if (in->closes_on && in->closes_on[0]) {
		snprintf(date, sizeof date, "%s", in->closes_on);
	} else {
		time_t t = (time_t)in->closes_at;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof date, "%Y-%m-%d", &tm);
	}
	ks_err err = buf_printf(subject, en ? "[%s] How is work going? Two minutes, anonymous"
					    : "[%s] Hoe gaat het op je werk? Twee minuten, anoniem",
				org);
	if (!err)
		err = in->first_name && in->first_name[0]
			      ? buf_printf(text, en ? "Hello %s,\n\n" : "Hallo %s,\n\n", in->first_name)
			      : buf_puts(text, en ? "Hello,\n\n" : "Hallo,\n\n");
	if (!err && in->enps_question && in->enps_question[0]) {
		err = buf_puts(text, en ? "One question first:\n\n  " : "Eerst één vraag:\n\n  ");
		for (const char *p = in->enps_question; !err && *p; p++) {
			if (strncmp(p, "{org}", 5) == 0) {
				err = buf_puts(text, org);
				p += 4;
			} else {
				err = buf_append(text, p, 1);
			}
		}
		if (!err)
			err = buf_puts(text, "\n\n");
	}
	if (!err)
		err = buf_printf(text,
				 en ? "Answer here (open until %s):\n\n  %s/p/%s\n\n"
				      "Your answer is anonymous: it is stored without your name, without a link to this "
				      "mail and without a time, and results are shown only for groups of colleagues.\n"
				    : "Antwoord hier (open tot %s):\n\n  %s/p/%s\n\n"
				      "Je antwoord is anoniem: het wordt bewaard zonder je naam, zonder verband met deze "
				      "mail en zonder tijdstip, en uitkomsten zijn alleen per groep collega's te zien.\n",
				 date, in->base_url ? in->base_url : "", in->token);
	return err;
}

static mail_outcome pulse_send(const store_pulse_job *j, const mail_config *mc, const char *base_url,
			       const char *org_name, int64_t now, char *detail, size_t n)
{
	pulse_mail_input in = {.lang = j->language, .first_name = j->first_name, .org_name = org_name,
			       .base_url = base_url, .token = j->token, .enps_question = j->enps_question,
			       .closes_at = j->closes_at, .closes_on = j->closes_on};
	ks_buf subject, text, msg;
	buf_init(&subject, 1024);
	buf_init(&text, 32 * 1024);
	buf_init(&msg, 128 * 1024);
	mail_outcome outcome = MAIL_PERMFAIL;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = KS_OK;
	if (j->to_email[0] == '\0') {
		snprintf(detail, n, "the employee has no e-mail address");
		err = KS_ERR_INVALID;
	}
	if (!err)
		err = pulse_mail_build(&in, &subject, &text);
	if (!err) {
		mail_message m = {.to = j->to_email, .subject = subject.data, .text = text.data,
				  .message_id = j->message_id};
		err = mail_message_check(mc, &m, &e);
		if (!err)
			err = mail_compose(mc, &m, now, &msg);
		if (err)
			snprintf(detail, n, "cannot compose: %.200s", e.message[0] ? e.message : ks_strerror(err));
	}
	if (!err)
		mail_send(mc, j->to_email, &msg, &outcome, detail, n);
	buf_free(&subject);
	buf_free(&text);
	buf_free(&msg);
	return outcome;
}

ks_err pulse_mail_pass(ks_store *s, const mail_config *mc, const char *base_url, const char *org_name,
		       int64_t now, int *sent, int *failed, ks_error *e)
{
	store_pulse_job *jobs = calloc(PULSE_BATCH, sizeof *jobs);
	if (jobs == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = KS_OK;
	for (int round = 0; !err && round < 500; round++) {
		int n = 0;
		err = store_pulse_mail_claim(s, now, jobs, PULSE_BATCH, &n, e);
		if (err || n == 0)
			break;
		for (int i = 0; !err && i < n; i++) {
			char detail[256] = "";
			mail_outcome o = pulse_send(&jobs[i], mc, base_url, org_name, now, detail, sizeof detail);
			*(o == MAIL_SENT ? sent : failed) += o != MAIL_TEMPFAIL;
			err = store_pulse_mail_record(s, &jobs[i],
						      o == MAIL_SENT       ? STORE_SEND_OK
						      : o == MAIL_TEMPFAIL ? STORE_SEND_RETRY
									   : STORE_SEND_GIVE_UP,
						      detail, now, e);
		}
		/* the tokens of this batch are in the mails and nowhere else */
		memset(jobs, 0, PULSE_BATCH * sizeof *jobs);
	}
	free(jobs);
	return err;
}
