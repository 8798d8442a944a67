/* message.c — see message.h.
 *
 * The wording lives in one table per language; the text and HTML parts are
 * written by the same sentence functions through a small writer that either
 * HTML-escapes (buf_html) or strips control characters, so the two parts
 * cannot drift apart. The writer's error is sticky: after the first failure
 * every write is a no-op and the error is returned at the end.
 *
 * The NPS wording follows Reichheld's question ("How likely is it that you
 * would recommend ... to a friend or colleague?", HBR 2003) with the usual
 * end labels of the 0-10 scale.
 */
#include "invite/message.h"

#include <stdio.h>
#include <string.h>

#define INVITE_BASE_MAX 200
#define INVITE_TOKEN_MAX 128
#define INVITE_URL_MAX 512

typedef struct invite_texts {
	const char *html_lang;
	const char *reminder_prefix;
	const char *subject_start;    /* + who [+ about + topic] + "?" */
	const char *about;
	const char *hello;            /* + [" " name] + "," */
	const char *contact_start;    /* + who [+ from + org] [+ about + topic] + contact_end */
	const char *from;
	const char *contact_end;
	const char *nudge;            /* reminders only */
	const char *question_start;   /* default question: + org + question_end */
	const char *question_end;
	const char *pick;             /* text part, above the numbered links */
	const char *low;
	const char *high;
	const char *out_of;           /* aria-label "N out of 10" */
	const char *open_text;        /* text part: + survey URL */
	const char *open_button;      /* HTML link to the survey */
	const char *minute;
	const char *thanks;
	const char *unsub_question;
	const char *unsub_link;
	/* a relationship survey (issue 16): no contact to refer to */
	const char *rel_subject;      /* + org + "?" */
	const char *rel_intro;        /* whole sentence(s) */
} invite_texts;

static const invite_texts texts_nl = {
	.html_lang = "nl",
	.reminder_prefix = "Herinnering: ",
	.subject_start = "Hoe was je contact met ",
	.about = " over ",
	.hello = "Hallo",
	.contact_start = "Je had onlangs contact met ",
	.from = " van ",
	.contact_end = ". We horen graag hoe dat ging.",
	.nudge = "Misschien heb je onze vorige e-mail gemist. Je antwoord helpt ons echt verder.",
	.question_start = "Hoe waarschijnlijk is het dat je ",
	.question_end = " aanbeveelt aan vrienden, familie of collega's?",
	.pick = "Kies een cijfer van 0 (zeer onwaarschijnlijk) tot 10 (zeer waarschijnlijk):",
	.low = "Zeer onwaarschijnlijk",
	.high = "Zeer waarschijnlijk",
	.out_of = " van 10",
	.open_text = "Of open de vragenlijst: ",
	.open_button = "Open de vragenlijst",
	.minute = "Het kost je maar een minuutje.",
	.thanks = "Alvast bedankt!",
	.unsub_question = "Geen uitnodigingen meer ontvangen?",
	.unsub_link = "Afmelden",
	.rel_subject = "Hoe tevreden ben je over ",
	.rel_intro = "We vragen een willekeurige groep klanten hoe zij over ons denken, ook als we "
		     "elkaar al een tijd niet gesproken hebben. Je bent een van hen en we horen "
		     "graag hoe het gaat.",
};

/* The same with "u" (issue 13): an organisation speaks to its customers in
 * one form of address, in mails and on every page. */
static const invite_texts texts_nl_u = {
	.html_lang = "nl",
	.reminder_prefix = "Herinnering: ",
	.subject_start = "Hoe was uw contact met ",
	.about = " over ",
	.hello = "Beste",
	.contact_start = "U had onlangs contact met ",
	.from = " van ",
	.contact_end = ". We horen graag hoe dat ging.",
	.nudge = "Misschien heeft u onze vorige e-mail gemist. Uw antwoord helpt ons echt verder.",
	.question_start = "Hoe waarschijnlijk is het dat u ",
	.question_end = " aanbeveelt aan vrienden, familie of collega's?",
	.pick = "Kies een cijfer van 0 (zeer onwaarschijnlijk) tot 10 (zeer waarschijnlijk):",
	.low = "Zeer onwaarschijnlijk",
	.high = "Zeer waarschijnlijk",
	.out_of = " van 10",
	.open_text = "Of open de vragenlijst: ",
	.open_button = "Open de vragenlijst",
	.minute = "Het kost u maar een minuutje.",
	.thanks = "Alvast bedankt!",
	.unsub_question = "Geen uitnodigingen meer ontvangen?",
	.unsub_link = "Afmelden",
	.rel_subject = "Hoe tevreden bent u over ",
	.rel_intro = "We vragen een willekeurige groep klanten hoe zij over ons denken, ook als we "
		     "elkaar al een tijd niet gesproken hebben. U bent een van hen en we horen "
		     "graag hoe het gaat.",
};

static const invite_texts texts_en = {
	.html_lang = "en",
	.reminder_prefix = "Reminder: ",
	.subject_start = "How was your contact with ",
	.about = " about ",
	.hello = "Hello",
	.contact_start = "You were recently in touch with ",
	.from = " from ",
	.contact_end = ". We would love to hear how it went.",
	.nudge = "You may have missed our earlier e-mail. Your answer really helps us.",
	.question_start = "How likely is it that you would recommend ",
	.question_end = " to a friend or colleague?",
	.pick = "Choose a number from 0 (not at all likely) to 10 (extremely likely):",
	.low = "Not at all likely",
	.high = "Extremely likely",
	.out_of = " out of 10",
	.open_text = "Or open the survey: ",
	.open_button = "Open the survey",
	.minute = "It only takes a minute.",
	.thanks = "Thank you!",
	.unsub_question = "Don't want these invitations?",
	.unsub_link = "Unsubscribe",
	.rel_subject = "How do you feel about ",
	.rel_intro = "We are asking a random group of customers what they think of us, also those "
		     "we have not been in touch with for a while. You are one of them, and we would "
		     "love to hear how things are going.",
};

/* ---- writer -------------------------------------------------------------- */

typedef struct writer {
	ks_buf *b;
	bool html;
	ks_err rc;
} writer;

/* Markup or other bytes known to be safe, written as they are. */
static void w_raw(writer *w, const char *s)
{
	if (!w->rc)
		w->rc = buf_puts(w->b, s);
}

/* Text: HTML-escaped in the HTML part; control characters become spaces in
 * the text part (and the subject), so no name can add a line. */
static void w_text(writer *w, const char *s)
{
	if (w->rc || s == NULL)
		return;
	if (w->html) {
		w->rc = buf_html(w->b, s);
		return;
	}
	for (const char *p = s; *p && !w->rc; p++) {
		unsigned char c = (unsigned char)*p;
		w->rc = (c < 0x20 || c == 0x7F) ? buf_puts(w->b, " ") : buf_append(w->b, p, 1);
	}
}

/* A name in the subject: at most SUBJECT_NAME_MAX bytes, cut on a UTF-8
 * character boundary and marked with "...". Two names of the longest the
 * API takes (500 bytes each) would pass mail.c's subject limit of 900, and
 * such a mail could never be sent. */
#define SUBJECT_NAME_MAX 400
static void w_text_cut(writer *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n <= SUBJECT_NAME_MAX) {
		w_text(w, s);
		return;
	}
	n = SUBJECT_NAME_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	char cut[SUBJECT_NAME_MAX + 4];
	memcpy(cut, s, n);
	memcpy(cut + n, "...", 4);
	w_text(w, cut);
}

static void w_int(writer *w, int n)
{
	if (!w->rc)
		w->rc = buf_printf(w->b, "%d", n);
}

static bool given(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* ---- validation and URLs --------------------------------------------------- */

static size_t base_len(const char *base_url)
{
	size_t n = strlen(base_url);
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	return n;
}

static bool base_url_valid(const char *u)
{
	if (u == NULL || strlen(u) > INVITE_BASE_MAX)
		return false;
	size_t scheme = strncmp(u, "https://", 8) == 0 ? 8 : strncmp(u, "http://", 7) == 0 ? 7 : 0;
	if (scheme == 0)
		return false;
	for (const char *p = u; *p; p++)
		if (*p <= ' ' || *p >= 0x7F || strchr("\"'<>\\`", *p))
			return false;
	return base_len(u) > scheme;  /* a host after the scheme */
}

static bool token_valid(const char *t)
{
	if (t == NULL || t[0] == '\0' || strlen(t) > INVITE_TOKEN_MAX)
		return false;
	for (const char *p = t; *p; p++) {
		char c = *p;
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_';
		if (!ok)
			return false;
	}
	return true;
}

static const invite_texts *texts_for(const char *lang, bool formal)
{
	if (lang == NULL)
		return NULL;
	if (strcmp(lang, "nl") == 0)
		return formal ? &texts_nl_u : &texts_nl;
	if (strcmp(lang, "en") == 0)
		return &texts_en;
	return NULL;
}

void invite_message_urls(const char *base_url, const char *token,
			 const char *unsubscribe_token, char *survey_url, size_t n1,
			 char *unsub_url, size_t n2)
{
	int blen = (int)base_len(base_url);
	if (survey_url != NULL && n1 > 0)
		snprintf(survey_url, n1, "%.*s/s/%s", blen, base_url, token);
	if (unsub_url != NULL && n2 > 0)
		snprintf(unsub_url, n2, "%.*s/u/%s", blen, base_url, unsubscribe_token);
}

/* ---- sentences shared by the three outputs ----------------------------------- */

typedef struct invite_ctx {
	const invite_message_input *in;
	const invite_texts *t;
	char survey_url[INVITE_URL_MAX];
	char unsub_url[INVITE_URL_MAX];
	char logo_url[INVITE_URL_MAX];
} invite_ctx;

/* The person (or, when unknown, the organisation) the customer spoke to. */
static const char *who(const invite_ctx *c)
{
	return given(c->in->employee_first_name) ? c->in->employee_first_name : c->in->org_name;
}

static void put_subject(writer *w, const invite_ctx *c)
{
	if (c->in->reminder)
		w_text(w, c->t->reminder_prefix);
	if (c->in->relationship) {
		w_text(w, c->t->rel_subject);
		w_text_cut(w, c->in->org_name);
		w_text(w, "?");
		return;
	}
	w_text(w, c->t->subject_start);
	w_text_cut(w, who(c));
	if (given(c->in->touchpoint_name)) {
		w_text(w, c->t->about);
		w_text_cut(w, c->in->touchpoint_name);
	}
	w_text(w, "?");
}

static void put_greeting(writer *w, const invite_ctx *c)
{
	w_text(w, c->t->hello);
	if (given(c->in->customer_name)) {
		w_text(w, " ");
		w_text(w, c->in->customer_name);
	}
	w_text(w, ",");
}

/* A relationship survey's customer had no recent contact (that is why they
 * were drawn), so the mail must not say they had. */
static void put_contact(writer *w, const invite_ctx *c)
{
	if (c->in->relationship) {
		w_text(w, c->t->rel_intro);
		return;
	}
	w_text(w, c->t->contact_start);
	w_text(w, who(c));
	if (given(c->in->employee_first_name)) {
		w_text(w, c->t->from);
		w_text(w, c->in->org_name);
	}
	if (given(c->in->touchpoint_name)) {
		w_text(w, c->t->about);
		w_text(w, c->in->touchpoint_name);
	}
	w_text(w, c->t->contact_end);
}

static void put_question(writer *w, const invite_ctx *c)
{
	if (given(c->in->nps_question)) {
		w_text(w, c->in->nps_question);
		return;
	}
	w_text(w, c->t->question_start);
	w_text(w, c->in->org_name);
	w_text(w, c->t->question_end);
}

/* base_url/s/TOKEN?nps=N — the survey page opens with N filled in. */
static void put_score_url(writer *w, const invite_ctx *c, int n)
{
	w_text(w, c->survey_url);
	w_raw(w, "?nps=");
	w_int(w, n);
}

/* ---- text part ----------------------------------------------------------- */

static void put_text(writer *w, const invite_ctx *c)
{
	put_greeting(w, c);
	w_raw(w, "\n\n");
	put_contact(w, c);
	if (c->in->reminder) {
		w_raw(w, "\n");
		w_text(w, c->t->nudge);
	}
	w_raw(w, "\n\n");
	put_question(w, c);
	w_raw(w, "\n");
	w_text(w, c->t->pick);
	w_raw(w, "\n\n");
	for (int n = 0; n <= 10; n++) {
		w_int(w, n);
		w_raw(w, n < 10 ? ":  " : ": ");
		put_score_url(w, c, n);
		w_raw(w, "\n");
	}
	w_raw(w, "\n");
	w_text(w, c->t->open_text);
	w_text(w, c->survey_url);
	w_raw(w, "\n");
	w_text(w, c->t->minute);
	w_raw(w, "\n\n");
	w_text(w, c->t->thanks);
	w_raw(w, "\n");
	w_text(w, c->in->org_name);
	w_raw(w, "\n\n-- \n");
	w_text(w, c->t->unsub_question);
	w_raw(w, " ");
	w_text(w, c->t->unsub_link);
	w_raw(w, ": ");
	w_text(w, c->unsub_url);
	w_raw(w, "\n");
}

/* ---- HTML part ------------------------------------------------------------- */

#define CSS_P "margin:0 0 16px;"
#define CSS_TABLE "role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\""
/* 44 px of line box + 2 px of border: a tap target of at least 44x44 px
 * wherever the row is 11 x 44 px wide (issue 13). */
#define CSS_SCORE                                                                       \
	"display:block;padding:0;line-height:46px;min-width:24px;text-align:center;"   \
	"font-weight:bold;font-size:16px;"                                            \
	"color:#1e40af;background-color:#eff6ff;border:1px solid #1e40af;"                  \
	"border-radius:4px;text-decoration:none;"
#define CSS_END "padding-top:6px;font-size:13px;color:#4b5563;"

static void put_html_head(writer *w, const invite_ctx *c)
{
	w_raw(w, "<!DOCTYPE html>\n<html lang=\"");
	w_raw(w, c->t->html_lang);
	w_raw(w, "\">\n<head>\n<meta charset=\"utf-8\">\n"
		 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		 "<title>");
	put_subject(w, c);
	w_raw(w, "</title>\n</head>\n"
		 "<body style=\"margin:0;padding:0;background-color:#f3f4f6;\">\n"
		 "<table " CSS_TABLE " style=\"background-color:#f3f4f6;\"><tr>"
		 "<td align=\"center\" style=\"padding:24px 12px;\">\n"
		 "<table " CSS_TABLE " style=\"max-width:560px;background-color:#ffffff;"
		 "border-radius:8px;\"><tr><td style=\"padding:28px 24px;"
		 "font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;"
		 "color:#1f2937;\">\n");
}

/* One score as a button-like link; 0 and 10 carry their end label for
 * screen readers, the visible labels sit under the row. */
static void put_html_score(writer *w, const invite_ctx *c, int n)
{
	w_raw(w, "<td style=\"padding:0 1px;width:9%;\"><a href=\"");
	put_score_url(w, c, n);
	w_raw(w, "\" aria-label=\"");
	w_int(w, n);
	w_text(w, c->t->out_of);
	if (n == 0 || n == 10) {
		w_text(w, ", ");
		w_text(w, n == 0 ? c->t->low : c->t->high);
	}
	w_raw(w, "\" style=\"" CSS_SCORE "\">");
	w_int(w, n);
	w_raw(w, "</a></td>\n");
}

static void put_html_scale(writer *w, const invite_ctx *c)
{
	w_raw(w, "<table " CSS_TABLE "><tr>\n");
	for (int n = 0; n <= 10; n++)
		put_html_score(w, c, n);
	w_raw(w, "</tr></table>\n<table " CSS_TABLE "><tr><td align=\"left\" style=\"" CSS_END
		 "\">");
	w_text(w, c->t->low);
	w_raw(w, "</td><td align=\"right\" style=\"" CSS_END "\">");
	w_text(w, c->t->high);
	w_raw(w, "</td></tr></table>\n");
}

/* The organisation's logo (when it has one) and name on top, so the
 * customer knows at a glance who asks (issue 13). */
static void put_html_sender(writer *w, const invite_ctx *c)
{
	w_raw(w, "<p style=\"margin:0 0 20px;font-weight:bold;font-size:18px;\">");
	if (c->in->logo) {
		w_raw(w, "<img src=\"");
		w_text(w, c->logo_url);
		w_raw(w, "\" alt=\"\" height=\"40\" style=\"height:40px;max-width:160px;"
			 "vertical-align:middle;margin-right:10px;border:0;\">");
	}
	w_text(w, c->in->org_name);
	w_raw(w, "</p>\n");
}

static void put_html_body(writer *w, const invite_ctx *c)
{
	put_html_sender(w, c);
	w_raw(w, "<p style=\"" CSS_P "\">");
	put_greeting(w, c);
	w_raw(w, "</p>\n<p style=\"" CSS_P "\">");
	put_contact(w, c);
	if (c->in->reminder) {
		w_raw(w, " ");
		w_text(w, c->t->nudge);
	}
	w_raw(w, "</p>\n<p style=\"margin:0 0 12px;font-weight:bold;\">");
	put_question(w, c);
	w_raw(w, "</p>\n");
	put_html_scale(w, c);
	w_raw(w, "<p style=\"margin:20px 0 16px;\">");
	w_text(w, c->t->minute);
	w_raw(w, " <a href=\"");
	w_text(w, c->survey_url);
	w_raw(w, "\" style=\"color:#1e40af;\">");
	w_text(w, c->t->open_button);
	w_raw(w, "</a></p>\n<p style=\"margin:0;\">");
	w_text(w, c->t->thanks);
	w_raw(w, "<br>");
	w_text(w, c->in->org_name);
	w_raw(w, "</p>\n</td></tr></table>\n");
}

static void put_html_footer(writer *w, const invite_ctx *c)
{
	w_raw(w, "<p style=\"margin:16px 0 0;font-family:Arial,Helvetica,sans-serif;"
		 "font-size:12px;color:#4b5563;\">");
	w_text(w, c->t->unsub_question);
	w_raw(w, " <a href=\"");
	w_text(w, c->unsub_url);
	w_raw(w, "\" style=\"color:#4b5563;\">");
	w_text(w, c->t->unsub_link);
	w_raw(w, "</a></p>\n</td></tr></table>\n</body>\n</html>\n");
}

/* ---- entry point ------------------------------------------------------------ */

static ks_err check_input(const invite_message_input *in)
{
	if (in == NULL || texts_for(in->lang, in->formal) == NULL || !base_url_valid(in->base_url))
		return KS_ERR_INVALID;
	if (!token_valid(in->token) || !token_valid(in->unsubscribe_token))
		return KS_ERR_INVALID;
	return given(in->org_name) ? KS_OK : KS_ERR_INVALID;
}

ks_err invite_message_build(const invite_message_input *in, ks_buf *subject, ks_buf *text,
			    ks_buf *html)
{
	if (subject == NULL || text == NULL || html == NULL)
		return KS_ERR_INVALID;
	ks_err rc = check_input(in);
	if (rc)
		return rc;
	invite_ctx c = { .in = in, .t = texts_for(in->lang, in->formal) };
	invite_message_urls(in->base_url, in->token, in->unsubscribe_token, c.survey_url,
			    sizeof c.survey_url, c.unsub_url, sizeof c.unsub_url);
	snprintf(c.logo_url, sizeof c.logo_url, "%.*s/logo", (int)base_len(in->base_url), in->base_url);

	writer ws = { subject, false, KS_OK };
	put_subject(&ws, &c);
	writer wt = { text, false, ws.rc };
	put_text(&wt, &c);
	writer wh = { html, true, wt.rc };
	put_html_head(&wh, &c);
	put_html_body(&wh, &c);
	put_html_footer(&wh, &c);
	return wh.rc;
}
