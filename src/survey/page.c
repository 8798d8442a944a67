/* page.c — the public survey page. See page.h.
 *
 * Rendering writes through a small "sticky error" wrapper around ks_buf so a
 * page reads top to bottom instead of as a ladder of `if (rc) return rc;`.
 * Parsing decodes the body itself (it is tiny and must be strict: a
 * permissive decoder is where smuggled NULs and broken UTF-8 get in).
 */
#include "survey/page.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* ======================================================================
 * Language
 * ====================================================================== */

/* SURVEY_NL_U: Dutch with "u" — the organisation's form of address
 * (issue 13), the same on every page and in its mails. */
typedef enum { SURVEY_NL, SURVEY_NL_U, SURVEY_EN } survey_lang;

static survey_lang survey_lang_of(const char *lang, bool formal)
{
	if (lang && lang[0] == 'e' && lang[1] == 'n' && (lang[2] == '\0' || lang[2] == '-'))
		return SURVEY_EN;
	return formal ? SURVEY_NL_U : SURVEY_NL;
}

/* The lang attribute comes from here, never from the caller's string. */
static const char *survey_lang_code(survey_lang l)
{
	return l == SURVEY_EN ? "en" : "nl";
}

/* Keeps both wordings side by side where they are used. */
static const char *tr(survey_lang l, const char *nl, const char *en)
{
	return l == SURVEY_EN ? en : nl;
}

/* The same where Dutch addresses the customer: "je" or "u". */
static const char *tu(survey_lang l, const char *je, const char *u, const char *en)
{
	return l == SURVEY_EN ? en : l == SURVEY_NL_U ? u : je;
}

static bool survey_has(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* ======================================================================
 * Output with a sticky error
 * ====================================================================== */

typedef struct survey_out {
	ks_buf *b;
	ks_err rc;  /* first failure; later writes are skipped */
} survey_out;

static void out_puts(survey_out *o, const char *s)
{
	if (o->rc == KS_OK)
		o->rc = buf_puts(o->b, s);
}

static void out_html(survey_out *o, const char *s)
{
	if (o->rc == KS_OK)
		o->rc = buf_html(o->b, s);
}

static void out_int(survey_out *o, int v)
{
	if (o->rc == KS_OK)
		o->rc = buf_printf(o->b, "%d", v);
}

/* id="q3-err" style attributes: prefix, question index, suffix. */
static void out_qid(survey_out *o, int i, const char *suffix)
{
	out_puts(o, "q");
	out_int(o, i);
	out_puts(o, suffix);
}

/* The token is resolved by the store and url-safe already; encoding anything
 * else anyway means a surprise in the token can never break the attribute or
 * the path. */
static void out_path_segment(survey_out *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		char tmp[4] = {(char)*p, 0, 0, 0};
		bool safe = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			    *p == '.' || *p == '~';
		if (!safe) {
			tmp[0] = '%';
			tmp[1] = hex[*p >> 4];
			tmp[2] = hex[*p & 0xF];
		}
		out_puts(o, tmp);
	}
}

/* ======================================================================
 * Page frame
 * ====================================================================== */

/* Inline because the server serves no static files. System fonts, no
 * images; radios are visually replaced by large tap targets but stay real,
 * focusable inputs, so keyboard and screen readers work without JS. */
static const char survey_css[] =
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:#f3f4f6;color:#1f2328;"
	"font:1rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\n"
	"main{max-width:40rem;margin:1.5rem auto;padding:1.25rem 1.5rem;background:#fff;"
	"border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}\n"
	"@media (max-width:30rem){main{margin:0;border-radius:0;padding:1rem .5rem}}\n"
	".org{display:flex;align-items:center;gap:.6rem;margin:0 0 1rem;font-weight:600;color:#57606a}\n"
	".org img{max-height:2.5rem;max-width:10rem}\n"
	".saved{margin:1rem 0;padding:.75rem 1rem;border-left:4px solid #1a7f37;background:#f0fff4}\n"
	"h1{font-size:1.4rem;line-height:1.3;margin:0 0 .5rem}\n"
	"fieldset{border:0;margin:1.75rem 0 0;padding:0;min-width:0}\n"
	"legend{font-weight:600;padding:0;margin-bottom:.6rem}\n"
	".req{color:#b42318}\n"
	/* one row at any width: every button a column of equal share */
	".scale{position:relative;display:grid;gap:2px;grid-auto-flow:column;"
	"grid-auto-columns:minmax(0,1fr)}\n"
	"@media (min-width:36rem){.scale{gap:.35rem}}\n"
	".choice{gap:.35rem}\n"
	".scale input{position:absolute;opacity:0;width:1px;height:1px;margin:0}\n"
	".scale label{display:flex;align-items:center;justify-content:center;"
	"min-height:3rem;min-width:0;border:1px solid #8c959f;border-radius:.5rem;"
	"font-weight:600;cursor:pointer;user-select:none}\n"
	".scale label:hover{border-color:#0b5cad}\n"
	".scale input:checked+label{background:#0b5cad;border-color:#0b5cad;color:#fff}\n"
	".scale input:focus-visible+label{outline:3px solid #f0b429;outline-offset:2px}\n"
	"@media (forced-colors:active){.scale input:checked+label{border:3px solid Highlight}}\n"
	".ends{display:flex;justify-content:space-between;gap:1rem;margin:.35rem 0 0;"
	"font-size:.85rem;color:#57606a}\n"
	".ends span:last-child{text-align:right}\n"
	"textarea{display:block;width:100%;min-height:7rem;padding:.6rem;font:inherit;"
	"border:1px solid #8c959f;border-radius:.5rem}\n"
	"textarea:focus-visible{outline:3px solid #f0b429;outline-offset:2px}\n"
	"button{display:block;width:100%;min-height:3rem;margin-top:1.75rem;font:inherit;"
	"font-weight:600;color:#fff;background:#0b5cad;border:0;border-radius:.5rem;cursor:pointer}\n"
	"button:focus-visible{outline:3px solid #f0b429;outline-offset:2px}\n"
	".alert{margin:1rem 0;padding:.75rem 1rem;border-left:4px solid #b42318;background:#fef3f2}\n"
	".alert p{margin:0;font-weight:600}\n"
	".alert ul{margin:.4rem 0 0;padding-left:1.2rem}\n"
	".alert a{color:#b42318}\n"
	".err{margin:0 0 .5rem;color:#b42318;font-weight:600}\n"
	".note{color:#57606a;font-size:.9rem}\n"
	".sr{position:absolute;width:1px;height:1px;overflow:hidden;"
	"clip:rect(0 0 0 0);white-space:nowrap}\n";

static void survey_org(survey_out *o, const survey_voice *v)
{
	if (v == NULL || (!survey_has(v->org_name) && !v->logo))
		return;
	out_puts(o, "<header class=\"org\">");
	if (v->logo)  /* same origin: allowed by the page's CSP (img-src 'self') */
		out_puts(o, "<img src=\"/logo\" alt=\"\">");
	if (survey_has(v->org_name)) {
		out_puts(o, "<span>");
		out_html(o, v->org_name);
		out_puts(o, "</span>");
	}
	out_puts(o, "</header>\n");
}

static void survey_head(survey_out *o, survey_lang l, const char *title, const survey_voice *v)
{
	out_puts(o, "<!doctype html>\n<html lang=\"");
	out_puts(o, survey_lang_code(l));
	/* no-referrer: the URL holds the customer's personal token. */
	out_puts(o, "\">\n<head>\n<meta charset=\"utf-8\">\n"
		 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		 "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
		 "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
	out_html(o, title);
	out_puts(o, "</title>\n<style>\n");
	out_puts(o, survey_css);
	out_puts(o, "</style>\n</head>\n<body>\n<main>\n");
	survey_org(o, v);
}

static void survey_foot(survey_out *o)
{
	out_puts(o, "</main>\n</body>\n</html>\n");
}

/* ======================================================================
 * Questions
 * ====================================================================== */

static const char *survey_qtext(const model_question *q, survey_lang l)
{
	const char *t = l == SURVEY_EN ? q->text_en : q->text_nl;
	if (t[0] == '\0')  /* the model requires both; be kind if one is empty */
		t = l == SURVEY_EN ? q->text_nl : q->text_en;
	return t;
}

/* The form field of question i; shared by render and parse so they agree. */
static void survey_field_name(const model_question *q, int i, char *name, size_t cap)
{
	const char *fixed = NULL;
	switch (q->type) {
	case MODEL_Q_NPS: fixed = "nps"; break;
	case MODEL_Q_GRADE: fixed = "grade"; break;
	case MODEL_Q_CES: fixed = "ces"; break;
	case MODEL_Q_OPEN: fixed = "open"; break;
	case MODEL_Q_DRIVER: break;
	case MODEL_Q_YESNO: break;
	}
	if (fixed)
		snprintf(name, cap, "%s", fixed);
	else
		snprintf(name, cap, q->type == MODEL_Q_YESNO ? "y_%d" : "d_%d", i);
}

/* Words under both ends of a scale. */
static void survey_scale_ends(model_qtype t, survey_lang l, const char **lo, const char **hi)
{
	switch (t) {
	case MODEL_Q_NPS:
		*lo = tr(l, "Zeer onwaarschijnlijk", "Not at all likely");
		*hi = tr(l, "Zeer waarschijnlijk", "Extremely likely");
		return;
	case MODEL_Q_CES:
		*lo = tr(l, "Helemaal mee oneens", "Strongly disagree");
		*hi = tr(l, "Helemaal mee eens", "Strongly agree");
		return;
	case MODEL_Q_GRADE:
	case MODEL_Q_DRIVER:
	case MODEL_Q_OPEN:
	case MODEL_Q_YESNO:
		break;
	}
	*lo = tr(l, "Zeer slecht", "Very poor");
	*hi = tr(l, "Uitstekend", "Excellent");
}

static void survey_put_field_error(survey_out *o, survey_lang l, const model_question *q,
				   survey_field_error fe)
{
	int lo = 0, hi = 0;
	switch (fe) {
	case SURVEY_FE_NONE:
		return;
	case SURVEY_FE_REQUIRED:
		out_puts(o, tr(l, "Deze vraag is verplicht.", "This question is required."));
		return;
	case SURVEY_FE_NOT_INTEGER:
	case SURVEY_FE_RANGE:
		model_qtype_range(q->type, &lo, &hi);
		out_puts(o, tr(l, "Kies een score van ", "Choose a score from "));
		out_int(o, lo);
		out_puts(o, tr(l, " tot en met ", " to "));
		out_int(o, hi);
		out_puts(o, ".");
		return;
	case SURVEY_FE_TOO_LONG:
		out_puts(o, tu(l, "Je antwoord is te lang: maximaal ", "Uw antwoord is te lang: maximaal ", "Your answer is too long: at most "));
		out_int(o, SURVEY_OPEN_CHARS_MAX);
		out_puts(o, tr(l, " tekens.", " characters."));
		return;
	}
}

static void survey_put_general_error(survey_out *o, survey_lang l, survey_general_error ge)
{
	switch (ge) {
	case SURVEY_GE_NONE:
		out_puts(o, tr(l, "Controleer de gemarkeerde vragen.",
			       "Please check the questions marked below."));
		return;
	case SURVEY_GE_EMPTY:
		out_puts(o, tr(l, "Beantwoord minstens één vraag.",
			       "Please answer at least one question."));
		return;
	case SURVEY_GE_ENCODING:
		out_puts(o, tu(l, "Je antwoorden konden niet worden gelezen. Probeer het nog eens.",
			       "Uw antwoorden konden niet worden gelezen. Probeer het nog eens.",
			       "We could not read your answers. Please try again."));
		return;
	case SURVEY_GE_FORM:
	case SURVEY_GE_TOO_MANY:
		out_puts(o, tr(l, "Het formulier kwam niet goed aan. Laad de pagina opnieuw en probeer het nog eens.",
			       "The form did not arrive intact. Please reload the page and try again."));
		return;
	}
}

/* The summary at the top: one live region, with links to each question. */
static void survey_alert(survey_out *o, survey_lang l, const model_survey *s,
			 const survey_form_errors *errs)
{
	if (errs == NULL || (errs->count == 0 && errs->general == SURVEY_GE_NONE))
		return;
	out_puts(o, "<div class=\"alert\" role=\"alert\">\n<p>");
	survey_put_general_error(o, l, errs->general);
	out_puts(o, "</p>\n");
	if (errs->count > 0) {
		out_puts(o, "<ul>\n");
		for (int i = 0; i < s->n_questions; i++) {
			if (errs->q[i] == SURVEY_FE_NONE)
				continue;
			out_puts(o, "<li><a href=\"#");
			out_qid(o, i, "\">");
			out_html(o, survey_qtext(&s->q[i], l));
			out_puts(o, "</a> ");
			survey_put_field_error(o, l, &s->q[i], errs->q[i]);
			out_puts(o, "</li>\n");
		}
		out_puts(o, "</ul>\n");
	}
	out_puts(o, "</div>\n");
}

/* <fieldset> with legend and, when there is one, the error beside it. */
static void survey_question_open_tag(survey_out *o, survey_lang l, const model_question *q,
				     int i, survey_field_error fe)
{
	out_puts(o, "<fieldset id=\"");
	out_qid(o, i, "\"");
	if (fe != SURVEY_FE_NONE) {
		out_puts(o, " aria-describedby=\"");
		out_qid(o, i, "-err\"");
	}
	out_puts(o, ">\n<legend id=\"");
	out_qid(o, i, "-t\">");
	out_html(o, survey_qtext(q, l));
	if (q->required)  /* "required" itself is on the inputs, for AT */
		out_puts(o, "<span class=\"req\" aria-hidden=\"true\"> *</span>");
	out_puts(o, "</legend>\n");
	if (fe != SURVEY_FE_NONE) {
		out_puts(o, "<p class=\"err\" id=\"");
		out_qid(o, i, "-err\">");
		survey_put_field_error(o, l, q, fe);
		out_puts(o, "</p>\n");
	}
}

static void survey_radio(survey_out *o, int i, const char *name, int v, bool required,
			 bool checked, bool invalid, const char *end_word, const char *text)
{
	out_puts(o, "<input type=\"radio\" id=\"");
	out_qid(o, i, "-");
	out_int(o, v);
	out_puts(o, "\" name=\"");
	out_puts(o, name);  /* built by survey_field_name: [a-z0-9_] only */
	out_puts(o, "\" value=\"");
	out_int(o, v);
	out_puts(o, "\"");
	if (required)
		out_puts(o, " required");
	if (checked)
		out_puts(o, " checked");
	if (invalid)
		out_puts(o, " aria-invalid=\"true\"");
	out_puts(o, "><label for=\"");
	out_qid(o, i, "-");
	out_int(o, v);
	out_puts(o, "\">");
	if (text)
		out_html(o, text);
	else
		out_int(o, v);
	if (end_word) {  /* the ends are read out with the number itself */
		out_puts(o, "<span class=\"sr\"> (");
		out_html(o, end_word);
		out_puts(o, ")</span>");
	}
	out_puts(o, "</label>\n");
}

static void survey_scale(survey_out *o, survey_lang l, const model_question *q, int i,
			 int value, bool invalid)
{
	char name[16];
	int lo = 0, hi = 0;
	const char *lo_word, *hi_word;
	survey_field_name(q, i, name, sizeof name);
	model_qtype_range(q->type, &lo, &hi);
	survey_scale_ends(q->type, l, &lo_word, &hi_word);

	out_puts(o, "<div class=\"scale\">\n");
	for (int v = lo; v <= hi; v++) {
		const char *end_word = v == lo ? lo_word : v == hi ? hi_word : NULL;
		survey_radio(o, i, name, v, q->required, v == value, invalid, end_word, NULL);
	}
	out_puts(o, "</div>\n<p class=\"ends\" aria-hidden=\"true\"><span>");
	out_html(o, lo_word);
	out_puts(o, "</span><span>");
	out_html(o, hi_word);
	out_puts(o, "</span></p>\n");
}

static void survey_textarea(survey_out *o, const model_question *q, int i, const char *text,
			    bool invalid)
{
	out_puts(o, "<textarea id=\"");
	out_qid(o, i, "-open\" name=\"open\" rows=\"5\" maxlength=\"");
	out_int(o, SURVEY_OPEN_CHARS_MAX);
	out_puts(o, "\" aria-labelledby=\"");
	out_qid(o, i, "-t\"");
	if (q->required)
		out_puts(o, " required");
	if (invalid)
		out_puts(o, " aria-invalid=\"true\"");
	out_puts(o, ">");
	out_html(o, text);
	out_puts(o, "</textarea>\n");
}

/* Yes first: the order a person says it in. Values 1 and 0. */
static void survey_yesno(survey_out *o, survey_lang l, const model_question *q, int i, int value,
			 bool invalid)
{
	char name[16];
	survey_field_name(q, i, name, sizeof name);
	out_puts(o, "<div class=\"scale choice\">\n");
	survey_radio(o, i, name, 1, q->required, value == 1, invalid, NULL, tr(l, "Ja", "Yes"));
	survey_radio(o, i, name, 0, q->required, value == 0, invalid, NULL, tr(l, "Nee", "No"));
	out_puts(o, "</div>\n");
}

static void survey_question(survey_out *o, survey_lang l, const model_survey *s, int i,
			    int prefill_nps, const survey_form_errors *errs)
{
	const model_question *q = &s->q[i];
	survey_field_error fe = errs ? errs->q[i] : SURVEY_FE_NONE;
	bool invalid = fe != SURVEY_FE_NONE;

	survey_question_open_tag(o, l, q, i, fe);
	if (q->type == MODEL_Q_OPEN) {
		survey_textarea(o, q, i, errs ? errs->open : "", invalid);
	} else if (q->type == MODEL_Q_YESNO) {
		survey_yesno(o, l, q, i, errs ? errs->value[i] : -1, invalid);
	} else {
		int value = errs ? errs->value[i] : -1;
		if (value < 0 && q->type == MODEL_Q_NPS && prefill_nps >= 0 && prefill_nps <= 10)
			value = prefill_nps;
		survey_scale(o, l, q, i, value, invalid);
	}
	out_puts(o, "</fieldset>\n");
}

/* "May we contact you about your answer?" — optional, after the
 * questions: a case opened by this response respects the answer (issue 6). */
static void survey_consent(survey_out *o, survey_lang l, int value)
{
	static const char *const vals[] = {"yes", "no"};
	out_puts(o, "<fieldset class=\"q\">\n<legend id=\"q-contact-t\">");
	out_puts(o, tu(l, "Mogen we contact met je opnemen over je antwoord?",
		       "Mogen we contact met u opnemen over uw antwoord?",
		       "May we contact you about your answer?"));
	out_puts(o, "</legend>\n<div class=\"scale choice\">\n");
	for (int v = 0; v < 2; v++) {
		out_puts(o, "<input type=\"radio\" id=\"q-contact-");
		out_puts(o, vals[v]);
		out_puts(o, "\" name=\"contact\" value=\"");
		out_puts(o, vals[v]);
		out_puts(o, value == 1 - v ? "\" checked>" : "\">");
		out_puts(o, "<label for=\"q-contact-");
		out_puts(o, vals[v]);
		out_puts(o, "\">");
		out_puts(o, v == 0 ? tr(l, "Ja, graag", "Yes, please") : tr(l, "Nee, liever niet", "No, thank you"));
		out_puts(o, "</label>\n");
	}
	out_puts(o, "</div>\n</fieldset>\n");
}

static void survey_greeting(survey_out *o, survey_lang l, const char *touchpoint,
			    const char *employee)
{
	out_puts(o, "<h1>");
	out_puts(o, tr(l, "Hoe hebben we het gedaan?", "How did we do?"));
	out_puts(o, "</h1>\n<p>");
	if (survey_has(employee)) {
		out_puts(o, tu(l, "Je had onlangs contact met ", "U had onlangs contact met ", "You were recently in touch with "));
		out_html(o, employee);
		if (survey_has(touchpoint)) {
			out_puts(o, " (");
			out_html(o, touchpoint);
			out_puts(o, ")");
		}
		out_puts(o, ". ");
	} else if (survey_has(touchpoint)) {
		out_puts(o, tu(l, "Je had onlangs contact met ons: ", "U had onlangs contact met ons: ", "You were recently in touch with us: "));
		out_html(o, touchpoint);
		out_puts(o, ". ");
	}
	out_puts(o, tu(l, "We horen graag hoe het ging; het kost je nog geen minuut.",
		       "We horen graag hoe het ging; het kost u nog geen minuut.",
		       "We would love to hear how it went; it takes less than a minute."));
	out_puts(o, "</p>\n");
}

static bool survey_any_required(const model_survey *s)
{
	for (int i = 0; i < s->n_questions; i++)
		if (s->q[i].required)
			return true;
	return false;
}

/* The one-click score was stored: say so, and that the rest is welcome
 * but not needed (the customer may close the page now). */
static void survey_saved(survey_out *o, survey_lang l, int nps)
{
	if (nps < 0 || nps > 10)
		return;
	out_puts(o, "<p class=\"saved\" role=\"status\">");
	out_puts(o, tu(l, "Bedankt! Je score ", "Bedankt! Uw score ", "Thank you! Your score "));
	out_int(o, nps);
	out_puts(o, tu(l, " is opgeslagen. Wil je ons nog iets meer vertellen? Dat kan hieronder; sluiten mag ook.",
		       " is opgeslagen. Wilt u ons nog iets meer vertellen? Dat kan hieronder; sluiten mag ook.",
		       " has been saved. Would you like to tell us a little more? You can below; closing this page is fine too."));
	out_puts(o, "</p>\n");
}

static const survey_voice survey_default_voice = {false, NULL, false};

ks_err survey_page_form(ks_buf *out, const model_survey *s, const char *lang,
			const char *token, const char *nonce,
			const char *touchpoint_name, const char *employee_first_name,
			int prefill_nps, const survey_form_errors *errs)
{
	survey_form_ctx ctx = {.lang = lang, .token = token, .nonce = nonce,
			       .touchpoint_name = touchpoint_name,
			       .employee_first_name = employee_first_name,
			       .prefill_nps = prefill_nps, .saved_nps = -1, .voice = NULL};
	return survey_page_form_voice(out, s, &ctx, errs);
}

ks_err survey_page_form_voice(ks_buf *out, const model_survey *s, const survey_form_ctx *ctx,
			      const survey_form_errors *errs)
{
	if (out == NULL || s == NULL || ctx == NULL || s->n_questions < 0 ||
	    s->n_questions > MODEL_MAX_QUESTIONS)
		return KS_ERR_INTERNAL;
	const survey_voice *v = ctx->voice ? ctx->voice : &survey_default_voice;
	survey_lang l = survey_lang_of(ctx->lang, v->formal);
	const char *token = ctx->token, *nonce = ctx->nonce;
	int prefill_nps = ctx->prefill_nps;
	survey_out o = {out, KS_OK};

	survey_head(&o, l, tr(l, "Hoe hebben we het gedaan?", "How did we do?"), v);
	survey_greeting(&o, l, ctx->touchpoint_name, ctx->employee_first_name);
	if (errs == NULL)
		survey_saved(&o, l, ctx->saved_nps);
	if (survey_any_required(s))
		out_puts(&o, tr(l, "<p class=\"note\">Vragen met een <span class=\"req\">*</span> zijn verplicht.</p>\n",
				"<p class=\"note\">Questions marked <span class=\"req\">*</span> are required.</p>\n"));
	survey_alert(&o, l, s, errs);

	out_puts(&o, "<form method=\"post\" action=\"/s/");
	out_path_segment(&o, token);
	out_puts(&o, "\" accept-charset=\"utf-8\">\n<input type=\"hidden\" name=\"k\" value=\"");
	out_html(&o, nonce);
	out_puts(&o, "\">\n");
	for (int i = 0; i < s->n_questions; i++)
		survey_question(&o, l, s, i, prefill_nps, errs);
	survey_consent(&o, l, errs ? errs->consent : -1);
	out_puts(&o, "<button type=\"submit\">");
	out_puts(&o, tr(l, "Versturen", "Send"));
	out_puts(&o, "</button>\n</form>\n<p class=\"note\">");
	/* DOMAIN.md: feedback goes back to the team as coaching, not as a verdict. */
	out_puts(&o, tu(l, "Je antwoorden gaan naar het team dat je heeft geholpen, zodat zij ervan kunnen leren.",
			"Uw antwoorden gaan naar het team dat u heeft geholpen, zodat zij ervan kunnen leren.",
			"Your answers go to the team that helped you, so they can learn from them."));
	out_puts(&o, "</p>\n");
	survey_foot(&o);
	return o.rc;
}

ks_err survey_page_message(ks_buf *out, const char *lang, survey_message kind)
{
	return survey_page_message_voice(out, lang, NULL, kind);
}

/* issue 16 H3 (review invitations): the thank-you page may carry an
 * invitation to write a public review; review_href NULL = none. */
static ks_err survey_page_message_with(ks_buf *out, const char *lang, const survey_voice *voice,
				       survey_message kind, const char *review_href);

ks_err survey_page_message_voice(ks_buf *out, const char *lang, const survey_voice *voice,
				 survey_message kind)
{
	return survey_page_message_with(out, lang, voice, kind, NULL);
}

ks_err survey_page_thanks_review(ks_buf *out, const char *lang, const survey_voice *voice,
				 const char *review_href)
{
	return survey_page_message_with(out, lang, voice, SURVEY_MSG_THANKS, review_href);
}

/* The invitation: a plain link (no script on this page), opened where the
 * customer is; the review site is another organisation's page. Worded for
 * any answer, good or bad (issue 16 H7: everyone who answered is invited by
 * default; asking only the happy ones is review gating). */
static void survey_review_invite(survey_out *o, survey_lang l, const char *href)
{
	out_puts(o, "<section class=\"review\" aria-labelledby=\"review-h\">\n<h2 id=\"review-h\">");
	out_html(o, tu(l, "Wil je anderen over ons vertellen?", "Wilt u anderen over ons vertellen?",
		       "Would you tell others about us?"));
	out_puts(o, "</h2>\n<p>");
	out_html(o, tu(l, "Een eerlijke review, positief of kritisch, helpt anderen kiezen. Het is helemaal vrijwillig.",
		       "Een eerlijke review, positief of kritisch, helpt anderen kiezen. Het is helemaal vrijwillig.",
		       "An honest review, positive or critical, helps others choose. It is entirely up to you."));
	out_puts(o, "</p>\n<p><a href=\"");
	out_html(o, href);
	out_puts(o, "\" rel=\"noopener\">");
	out_html(o, tr(l, "Schrijf een review", "Write a review"));
	out_puts(o, "</a></p>\n</section>\n");
}

static ks_err survey_page_message_with(ks_buf *out, const char *lang, const survey_voice *voice,
				       survey_message kind, const char *review_href)
{
	if (out == NULL)
		return KS_ERR_INTERNAL;
	const survey_voice *v = voice ? voice : &survey_default_voice;
	survey_lang l = survey_lang_of(lang, v->formal);
	const char *title, *body;
	switch (kind) {
	case SURVEY_MSG_THANKS:
		title = tu(l, "Bedankt voor je feedback!", "Bedankt voor uw feedback!", "Thank you for your feedback!");
		body = tu(l, "We hebben je antwoorden goed ontvangen. Het team gebruikt ze om het nog beter te doen.",
			  "We hebben uw antwoorden goed ontvangen. Het team gebruikt ze om het nog beter te doen.",
			  "We have received your answers. The team will use them to do even better.");
		break;
	case SURVEY_MSG_ALREADY_ANSWERED:
		title = tu(l, "Je hebt deze vragenlijst al ingevuld", "U heeft deze vragenlijst al ingevuld", "You have already answered this survey");
		body = tu(l, "Bedankt! We hebben je antwoorden al ontvangen; je hoeft niets meer te doen.",
			  "Bedankt! We hebben uw antwoorden al ontvangen; u hoeft niets meer te doen.",
			  "Thank you! We already have your answers; there is nothing more to do.");
		break;
	case SURVEY_MSG_NOT_FOUND:
		title = tr(l, "Deze link werkt niet", "This link does not work");
		body = tu(l, "We kunnen deze vragenlijst niet vinden. Controleer of je de volledige link uit je e-mail of bericht hebt gebruikt.",
			  "We kunnen deze vragenlijst niet vinden. Controleer of u de volledige link uit uw e-mail of bericht heeft gebruikt.",
			  "We cannot find this survey. Please check that you used the complete link from your email or message.");
		break;
	case SURVEY_MSG_EXPIRED:
		title = tr(l, "Deze link is verlopen", "This link has expired");
		body = tu(l, "Deze vragenlijst kan niet meer worden ingevuld. Bedankt dat je de moeite nam!",
			  "Deze vragenlijst kan niet meer worden ingevuld. Bedankt dat u de moeite nam!",
			  "This survey is no longer open. Thank you for taking the trouble!");
		break;
	case SURVEY_MSG_TOO_MANY:
		title = tr(l, "Even geduld, alsjeblieft", "Just a moment, please");
		body = tu(l, "We krijgen op dit moment erg veel antwoorden tegelijk. Probeer het over een paar minuten nog eens; je antwoorden zijn nog niet verstuurd.",
			  "We krijgen op dit moment erg veel antwoorden tegelijk. Probeer het over een paar minuten nog eens; uw antwoorden zijn nog niet verstuurd.",
			  "We are receiving a great many answers at once right now. Please try again in a few minutes; your answers have not been sent yet.");
		break;
	case SURVEY_MSG_UNAVAILABLE:
		title = tr(l, "Even niet beschikbaar", "Temporarily unavailable");
		body = tu(l, "We kunnen je antwoorden op dit moment niet opslaan. Probeer het later nog eens; je antwoorden zijn nog niet verstuurd.",
			  "We kunnen uw antwoorden op dit moment niet opslaan. Probeer het later nog eens; uw antwoorden zijn nog niet verstuurd.",
			  "We cannot store your answers right now. Please try again later; your answers have not been sent yet.");
		break;
	default:
		return KS_ERR_INTERNAL;
	}
	survey_out o = {out, KS_OK};
	survey_head(&o, l, title, v);
	out_puts(&o, "<h1>");
	out_html(&o, title);
	out_puts(&o, "</h1>\n<p>");
	out_html(&o, body);
	out_puts(&o, "</p>\n");
	if (review_href && kind == SURVEY_MSG_THANKS)
		survey_review_invite(&o, l, review_href);
	survey_foot(&o);
	return o.rc;
}

/* ======================================================================
 * Parsing application/x-www-form-urlencoded
 * ====================================================================== */

void survey_form_errors_init(survey_form_errors *errs)
{
	memset(errs, 0, sizeof *errs);
	for (int i = 0; i < MODEL_MAX_QUESTIONS; i++)
		errs->value[i] = -1;
	errs->consent = -1;
}

static int survey_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}


size_t survey_text_chars(const char *s, size_t n)
{
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xC0) != 0x80; /* every byte but continuations */
	return chars;
}

/* Decode one name or value of n bytes into out (room for n + 1; decoding
 * never grows). '+' is a space, %XX a byte. False on a broken escape, a NUL
 * (literal or %00) or invalid UTF-8: none of them can come from our form. */
static bool survey_decode(const char *in, size_t n, char *out, size_t *out_len)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (n - i < 3)
				return false;
			int hi = survey_hex((unsigned char)in[i + 1]);
			int lo = survey_hex((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			return false;
		out[j++] = (char)c;
	}
	out[j] = '\0';
	*out_len = j;
	return utf8_valid(out, j, NULL);
}

typedef enum { SURVEY_INT_OK, SURVEY_INT_BAD, SURVEY_INT_BIG } survey_int_result;

/* A whole number: optional '-', then digits. "-1" is a number (out of
 * range, which is the more helpful message); " 5", "5.0", "0x5" are not.
 * More than 9 digits is too big for any scale and could overflow an int. */
static survey_int_result survey_parse_int(const char *s, int *out)
{
	bool neg = *s == '-';
	const char *p = s + (neg ? 1 : 0);
	if (*p == '\0')
		return SURVEY_INT_BAD;
	int v = 0;
	size_t digits = 0;
	for (; *p; p++, digits++) {
		if (*p < '0' || *p > '9')
			return SURVEY_INT_BAD;
		if (digits < 9)
			v = v * 10 + (*p - '0');
	}
	if (digits > 9)
		return SURVEY_INT_BIG;
	*out = neg ? -v : v;
	return SURVEY_INT_OK;
}

/* State of one parse. */
typedef struct survey_parse {
	const model_survey *s;
	survey_form_errors *errs;
	bool seen[MODEL_MAX_QUESTIONS];
	bool seen_k;
	char *open;          /* malloc'd valid open answer, or NULL */
	char *nonce_out;
	size_t nonce_cap;
} survey_parse;

static void survey_set_general(survey_form_errors *errs, survey_general_error ge)
{
	/* One slot: an unreadable body explains everything else. */
	if (errs->general == SURVEY_GE_NONE || ge == SURVEY_GE_ENCODING)
		errs->general = ge;
}

static void survey_set_error(survey_form_errors *errs, int i, survey_field_error fe)
{
	if (errs->q[i] == SURVEY_FE_NONE)
		errs->count++;
	errs->q[i] = fe;
}

static void survey_take_nonce(survey_parse *p, const char *v, size_t n)
{
	if (p->seen_k || n > SURVEY_NONCE_MAX) {
		survey_set_general(p->errs, SURVEY_GE_FORM);
		return;
	}
	p->seen_k = true;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-';
		if (!ok) {
			survey_set_general(p->errs, SURVEY_GE_FORM);
			return;
		}
	}
	if (p->nonce_out == NULL)
		return;
	if (n >= p->nonce_cap) {  /* never cut a nonce: a cut one matches nothing */
		survey_set_general(p->errs, SURVEY_GE_FORM);
		return;
	}
	memcpy(p->nonce_out, v, n);
	p->nonce_out[n] = '\0';
}

static void survey_take_score(survey_parse *p, int i, const char *v)
{
	if (v[0] == '\0')  /* sent but empty: not answered */
		return;
	int lo = 0, hi = 0, score = 0;
	model_qtype_range(p->s->q[i].type, &lo, &hi);
	switch (survey_parse_int(v, &score)) {
	case SURVEY_INT_BAD:
		survey_set_error(p->errs, i, SURVEY_FE_NOT_INTEGER);
		return;
	case SURVEY_INT_BIG:
		survey_set_error(p->errs, i, SURVEY_FE_RANGE);
		return;
	case SURVEY_INT_OK:
		break;
	}
	if (score < lo || score > hi) {
		survey_set_error(p->errs, i, SURVEY_FE_RANGE);
		return;
	}
	p->errs->value[i] = score;
}

/* Browsers send textarea line breaks as CRLF; store LF so the length limit
 * counts what the customer typed. Returns the new length. */
static size_t survey_normalise_newlines(char *s, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r') {
			if (i + 1 < n && s[i + 1] == '\n')
				i++;
			s[j++] = '\n';
			continue;
		}
		s[j++] = s[i];
	}
	s[j] = '\0';
	return j;
}

static bool survey_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static ks_err survey_take_open(survey_parse *p, int i, char *v, size_t n)
{
	n = survey_normalise_newlines(v, n);
	while (n > 0 && survey_is_space(v[n - 1]))
		n--;
	while (n > 0 && survey_is_space(*v))
		v++, n--;
	if (n == 0)
		return KS_OK;

	/* Keep what fits for the form shown again, cut on a character boundary. */
	size_t keep = n;
	if (keep > SURVEY_OPEN_KEEP_MAX) {
		keep = SURVEY_OPEN_KEEP_MAX;
		while (keep > 0 && ((unsigned char)v[keep] & 0xC0) == 0x80)
			keep--;
	}
	memcpy(p->errs->open, v, keep);
	p->errs->open[keep] = '\0';
	if (n > MODEL_OPEN_MAX || survey_text_chars(v, n) > SURVEY_OPEN_CHARS_MAX) {
		survey_set_error(p->errs, i, SURVEY_FE_TOO_LONG);
		return KS_OK;
	}
	p->open = malloc(n + 1);
	if (p->open == NULL)
		return KS_ERR_NOMEM;
	memcpy(p->open, v, n);
	p->open[n] = '\0';
	return KS_OK;
}

/* Index of the question whose field is name, or -1. */
static int survey_question_for(const model_survey *s, const char *name)
{
	char want[16];
	for (int i = 0; i < s->n_questions; i++) {
		survey_field_name(&s->q[i], i, want, sizeof want);
		if (strcmp(want, name) == 0)
			return i;
	}
	return -1;
}

static ks_err survey_take_field(survey_parse *p, const char *name, char *v, size_t n)
{
	if (strcmp(name, "k") == 0) {
		survey_take_nonce(p, v, n);
		return KS_OK;
	}
	if (strcmp(name, "contact") == 0) {
		/* yes / no; anything else (or twice) counts as not answered */
		int yes = strcmp(v, "yes") == 0 ? 1 : strcmp(v, "no") == 0 ? 0 : -1;
		p->errs->consent = p->errs->consent == -1 ? yes : -1;
		return KS_OK;
	}
	int i = survey_question_for(p->s, name);
	if (i < 0)
		return KS_OK;  /* unknown fields are ignored (e.g. a submit button's name) */
	if (p->seen[i]) {  /* radios and one textarea never send a field twice */
		survey_set_general(p->errs, SURVEY_GE_FORM);
		return KS_OK;
	}
	p->seen[i] = true;
	if (p->s->q[i].type == MODEL_Q_OPEN)
		return survey_take_open(p, i, v, n);
	survey_take_score(p, i, v);
	return KS_OK;
}

/* One "name=value" of n bytes. scratch has room for n + 2. Returns
 * KS_ERR_INVALID (and sets the general error) when it cannot be decoded. */
static ks_err survey_take_pair(survey_parse *p, const char *pair, size_t n, char *scratch)
{
	const char *eq = memchr(pair, '=', n);
	size_t name_n = eq ? (size_t)(eq - pair) : n;
	size_t value_n = eq ? n - name_n - 1 : 0;
	char *name = scratch, *value = NULL;
	size_t name_len = 0, value_len = 0;

	if (!survey_decode(pair, name_n, name, &name_len))
		goto bad;
	value = name + name_len + 1;
	if (!survey_decode(eq ? eq + 1 : "", value_n, value, &value_len))
		goto bad;
	return survey_take_field(p, name, value, value_len);
bad:
	survey_set_general(p->errs, SURVEY_GE_ENCODING);
	return KS_ERR_INVALID;
}

static bool survey_answered(const survey_parse *p, int i)
{
	if (p->s->q[i].type == MODEL_Q_OPEN)
		return p->open != NULL;
	return p->errs->value[i] >= 0;
}

/* After all fields: nothing answered, required questions left open. */
static void survey_check_complete(survey_parse *p)
{
	int answered = 0;
	for (int i = 0; i < p->s->n_questions; i++)
		answered += survey_answered(p, i);
	/* A customer who tried (and got a score wrong) needs that message, not
	 * "answer at least one question". */
	if (answered == 0 && p->errs->count == 0)
		survey_set_general(p->errs, SURVEY_GE_EMPTY);
	for (int i = 0; i < p->s->n_questions; i++)
		if (p->s->q[i].required && !survey_answered(p, i) && p->errs->q[i] == SURVEY_FE_NONE)
			survey_set_error(p->errs, i, SURVEY_FE_REQUIRED);
}

/* RANGE only when every error is a value outside its limits. */
static ks_err survey_result(const survey_form_errors *errs)
{
	if (errs->general != SURVEY_GE_NONE)
		return KS_ERR_INVALID;
	for (int i = 0; i < MODEL_MAX_QUESTIONS; i++)
		if (errs->q[i] == SURVEY_FE_REQUIRED || errs->q[i] == SURVEY_FE_NOT_INTEGER)
			return KS_ERR_INVALID;
	return errs->count > 0 ? KS_ERR_RANGE : KS_OK;
}

/* Copy the valid answers into r, in question order. Checks capacity first
 * so that r is either fully updated or not touched. */
static ks_err survey_fill_response(const survey_parse *p, model_response *r)
{
	const model_survey *s = p->s;
	int drivers = 0, yesno = 0;
	for (int i = 0; i < s->n_questions; i++) {
		drivers += s->q[i].type == MODEL_Q_DRIVER && p->errs->value[i] >= 0;
		yesno += s->q[i].type == MODEL_Q_YESNO && p->errs->value[i] >= 0;
	}
	if (r->n_drivers < 0 || r->n_drivers > MODEL_MAX_DRIVERS - drivers ||
	    r->n_yesno < 0 || r->n_yesno > MODEL_MAX_DRIVERS - yesno)
		return KS_ERR_INTERNAL;  /* the survey has more drivers than a response holds */

	for (int i = 0; i < s->n_questions; i++) {
		int v = p->errs->value[i];
		if (v < 0)
			continue;
		switch (s->q[i].type) {
		case MODEL_Q_NPS: r->nps = v; break;
		case MODEL_Q_GRADE: r->grade = v; break;
		case MODEL_Q_CES: r->ces = v; break;
		case MODEL_Q_OPEN: break;
		case MODEL_Q_DRIVER: {
			_Static_assert(sizeof r->drivers[0].aspect == sizeof s->q[0].aspect,
				       "aspect sizes differ");
			model_driver_score *d = &r->drivers[r->n_drivers++];
			memcpy(d->aspect, s->q[i].aspect, sizeof d->aspect);
			d->aspect[sizeof d->aspect - 1] = '\0';
			d->score = v;
			break;
		}
		case MODEL_Q_YESNO: {
			model_driver_score *d = &r->yesno[r->n_yesno++];
			memcpy(d->aspect, s->q[i].aspect, sizeof d->aspect);
			d->aspect[sizeof d->aspect - 1] = '\0';
			d->score = v;
			break;
		}
		}
	}
	r->contact_consent = p->errs->consent;
	return KS_OK;
}

ks_err survey_form_parse(const char *body, size_t len, const model_survey *s,
			 model_response *r, char **open_text_out,
			 char *nonce_out, size_t nonce_cap, survey_form_errors *errs)
{
	survey_form_errors local;
	if (errs == NULL)
		errs = &local;
	survey_form_errors_init(errs);
	if (open_text_out)
		*open_text_out = NULL;
	if (nonce_out && nonce_cap > 0)
		nonce_out[0] = '\0';
	if (s == NULL || r == NULL || open_text_out == NULL || (body == NULL && len > 0) ||
	    (nonce_out != NULL && nonce_cap == 0) ||
	    s->n_questions < 0 || s->n_questions > MODEL_MAX_QUESTIONS || len > SIZE_MAX - 2)
		return KS_ERR_INTERNAL;

	survey_parse p = {.s = s, .errs = errs, .nonce_out = nonce_out, .nonce_cap = nonce_cap};
	char *scratch = malloc(len + 2);  /* decoded name + value + two NULs */
	if (scratch == NULL)
		return KS_ERR_NOMEM;

	ks_err rc = KS_OK;
	size_t pos = 0, fields = 0;
	while (pos < len) {
		const char *amp = memchr(body + pos, '&', len - pos);
		size_t end = amp ? (size_t)(amp - body) : len;
		if (end > pos && ++fields > SURVEY_FIELDS_MAX) {
			/* Not our form: stop before decoding any more of it. */
			survey_set_general(errs, SURVEY_GE_TOO_MANY);
			rc = KS_ERR_INVALID;
			break;
		}
		if (end > pos)  /* "a=1&&b=2" and a trailing '&' are harmless */
			rc = survey_take_pair(&p, body + pos, end - pos, scratch);
		if (rc)
			break;
		pos = end + 1;
	}
	free(scratch);
	if (rc == KS_ERR_NOMEM)
		goto fail;
	if (rc == KS_OK)  /* after a broken body, "required" would be noise */
		survey_check_complete(&p);
	rc = survey_result(errs);
	if (rc == KS_OK)
		rc = survey_fill_response(&p, r);
	if (rc)
		goto fail;
	*open_text_out = p.open;
	return KS_OK;
fail:
	free(p.open);
	return rc;
}

/* ======================================================================
 * The unsubscribe pages (issue 13: the customer's language and the
 * organisation's voice, like every other customer page)
 * ====================================================================== */

ks_err survey_page_unsubscribe(ks_buf *out, const char *lang, const survey_voice *voice,
			       survey_unsub kind, const char *token)
{
	if (out == NULL || (kind == SURVEY_UNSUB_CONFIRM && !survey_has(token)))
		return KS_ERR_INTERNAL;
	const survey_voice *v = voice ? voice : &survey_default_voice;
	survey_lang l = survey_lang_of(lang, v->formal);
	const char *title, *body;
	switch (kind) {
	case SURVEY_UNSUB_CONFIRM:
		title = tr(l, "Afmelden voor uitnodigingen", "Unsubscribe from invitations");
		body = tu(l, "Wil je geen uitnodigingen voor onze korte vragenlijsten meer ontvangen?",
			  "Wilt u geen uitnodigingen voor onze korte vragenlijsten meer ontvangen?",
			  "Don't want to receive invitations to our short surveys any more?");
		break;
	case SURVEY_UNSUB_DONE:
		title = tr(l, "Afgemeld", "Unsubscribed");
		body = tu(l, "Je ontvangt geen uitnodigingen meer.", "U ontvangt geen uitnodigingen meer.",
			  "You will not receive invitations any more.");
		break;
	case SURVEY_UNSUB_UNKNOWN:
		title = tr(l, "Onbekende link", "Unknown link");
		body = tr(l, "Deze afmeldlink kennen we niet.", "We do not know this unsubscribe link.");
		break;
	default:
		return KS_ERR_INTERNAL;
	}
	survey_out o = {out, KS_OK};
	survey_head(&o, l, title, v);
	out_puts(&o, "<h1>");
	out_html(&o, title);
	out_puts(&o, "</h1>\n<p>");
	out_html(&o, body);
	out_puts(&o, "</p>\n");
	if (kind == SURVEY_UNSUB_CONFIRM) {
		out_puts(&o, "<form method=\"post\" action=\"/u/");
		out_path_segment(&o, token);
		out_puts(&o, "\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
			     "<button type=\"submit\">");
		out_puts(&o, tr(l, "Afmelden", "Unsubscribe"));
		out_puts(&o, "</button></form>\n");
	}
	survey_foot(&o);
	return o.rc;
}
