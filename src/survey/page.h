/* page.h — the public survey page: render it, and parse what it posts.
 *
 * Owner: src/survey/page.c. Pure functions: no I/O, no database, no clock.
 * The HTTP layer (GET/POST /s/{token}, docs/API.md "Public survey page")
 * resolves the token, picks the language and calls these.
 *
 * Rendering: every page is a complete HTML5 document with its CSS inline
 * (the server does not serve static files), readable on a phone and usable
 * without JavaScript. All dynamic text is HTML-escaped. On any error the
 * buffer holds a partial page that the caller must discard.
 *
 * Languages: lang "en" (or "en-…") gives English; anything else, NULL
 * included, gives Dutch.
 *
 * Form field names: nps, grade, ces, open, d_<i> for the driver and y_<i>
 * for the yes/no question (values 1 yes, 0 no) at question index i (the
 * index, not the aspect, so names are always safe), plus the hidden nonce k.
 *
 * Every scale is one row at any width from 320 px (an NPS scale split over
 * two rows reads as two scales); its buttons are at least 48 px high and
 * share the row's width: 44 px or more in a 600 px wide window, about
 * 25 px at 320 px (11 x 44 px cannot fit in 320; WCAG 2.5.8 asks 24).
 */
#ifndef KS_SURVEY_PAGE_H
#define KS_SURVEY_PAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "model/model.h"

#define SURVEY_NONCE_MAX 64  /* characters of the hidden field k */

/* Limits on what one answer may hold (issue 11: a flood of long answers
 * grew the database by 60 MB). An open answer holds at most
 * SURVEY_OPEN_CHARS_MAX characters (Unicode code points, what a person
 * counts) and never more than MODEL_OPEN_MAX bytes; the JSON API applies
 * the same two. A posted form holds at most SURVEY_FIELDS_MAX name=value
 * pairs (ours sends one per question, k and contact). */
#define SURVEY_OPEN_CHARS_MAX 2000
#define SURVEY_FIELDS_MAX (MODEL_MAX_QUESTIONS + 8)
/* A too long answer is shown again whole so the customer can shorten it
 * (cutting it would lose their words), up to this many bytes: four times
 * what may be stored, far beyond what the textarea's maxlength lets a
 * browser send. */
#define SURVEY_OPEN_KEEP_MAX (4 * MODEL_OPEN_MAX)

/* Characters (code points) in n bytes of valid UTF-8. */
size_t survey_text_chars(const char *s, size_t n);

/* What is wrong with one question's answer. */
typedef enum {
	SURVEY_FE_NONE = 0,
	SURVEY_FE_REQUIRED,     /* a required question was not answered */
	SURVEY_FE_NOT_INTEGER,  /* a score that is not a whole number */
	SURVEY_FE_RANGE,        /* a score outside model_qtype_range() */
	SURVEY_FE_TOO_LONG      /* open answer over SURVEY_OPEN_CHARS_MAX characters
	                         * or MODEL_OPEN_MAX bytes */
} survey_field_error;

/* What is wrong with the form as a whole. */
typedef enum {
	SURVEY_GE_NONE = 0,
	SURVEY_GE_EMPTY,     /* not a single question answered */
	SURVEY_GE_ENCODING,  /* bad %-escape, invalid UTF-8 or NUL in the body */
	SURVEY_GE_FORM,      /* bad nonce or a field sent twice: not our form */
	SURVEY_GE_TOO_MANY   /* more than SURVEY_FIELDS_MAX fields: not our form */
} survey_general_error;

/* Errors of one submitted form, as codes rather than text so the page shows
 * them in its own language. Also carries back what the customer entered, so
 * the form shown again keeps it (a lost open answer is a lost customer).
 * Plain data owned by the caller; survey_form_parse() fills it. */
typedef struct survey_form_errors {
	int count;                                  /* questions with an error */
	survey_general_error general;
	survey_field_error q[MODEL_MAX_QUESTIONS];  /* by question index */
	int value[MODEL_MAX_QUESTIONS];             /* valid scores entered, else -1 */
	char open[SURVEY_OPEN_KEEP_MAX + 1];        /* open answer entered (cut to fit) */
	int consent;                                /* "may we contact you?": 1, 0, -1 not answered */
} survey_form_errors;

/* The one-message pages. */
typedef enum {
	SURVEY_MSG_THANKS,
	SURVEY_MSG_ALREADY_ANSWERED,
	SURVEY_MSG_NOT_FOUND,
	SURVEY_MSG_EXPIRED,
	SURVEY_MSG_TOO_MANY,     /* 429: too many answers from here or on this link */
	SURVEY_MSG_UNAVAILABLE   /* 503: answers cannot be stored now (storage full) */
} survey_message;

/* No errors, no values (all -1), no open text. */
void survey_form_errors_init(survey_form_errors *errs);

/* Append the survey form for s to out. token is the link token (the form
 * posts to /s/{token}); nonce goes into the hidden field k. touchpoint_name
 * and employee_first_name personalise the greeting; NULL or "" leaves them
 * out. prefill_nps 0..10 checks that NPS radio (-1: none). errs may be NULL;
 * when given, its messages are shown at the top (role="alert") and beside
 * each question, and its values are checked again (they win over
 * prefill_nps). Nothing is taken over; all pointers are borrowed.
 * Errors: KS_ERR_TOOBIG when out's cap is reached, KS_ERR_NOMEM,
 * KS_ERR_INTERNAL for a survey with a bad question count. */
ks_err survey_page_form(ks_buf *out, const model_survey *s, const char *lang,
			const char *token, const char *nonce,
			const char *touchpoint_name, const char *employee_first_name,
			int prefill_nps, const survey_form_errors *errs);

/* Append a short page for kind (thank you, already answered, not found,
 * expired, too many, unavailable) to out. Errors as for survey_page_form(). */
ks_err survey_page_message(ks_buf *out, const char *lang, survey_message kind);

/* ---- the organisation's voice (issue 13) ----------------------------------
 * One form of address per organisation, its name and logo on every page.
 * The functions above are these with the default voice (je, no name, no
 * logo). All pointers borrowed. */
typedef struct survey_voice {
	bool formal;           /* Dutch "u" rather than "je" */
	const char *org_name;  /* NULL or "" = none shown */
	bool logo;             /* show <img src="/logo"> (same origin: the page's CSP allows it) */
} survey_voice;

/* What the form page shows besides the survey. */
typedef struct survey_form_ctx {
	const char *lang, *token, *nonce;
	const char *touchpoint_name;      /* already the customer's label in lang */
	const char *employee_first_name;
	int prefill_nps;                  /* 0..10 checks that radio; -1 none */
	int saved_nps;                    /* 0..10: "your score N is saved" (one-click); -1 none */
	const survey_voice *voice;        /* NULL = the default voice */
} survey_form_ctx;

ks_err survey_page_form_voice(ks_buf *out, const model_survey *s, const survey_form_ctx *ctx,
			      const survey_form_errors *errs);
ks_err survey_page_message_voice(ks_buf *out, const char *lang, const survey_voice *voice,
				 survey_message kind);
/* issue 16 H3: the thank-you page with an invitation to write a public
 * review through review_href ("/r/{token}", borrowed; NULL = none). */
ks_err survey_page_thanks_review(ks_buf *out, const char *lang, const survey_voice *voice,
				 const char *review_href);
/* The unsubscribe pages (GET /u/{token}: confirm; POST: done; unknown
 * link), in the customer's language and the organisation's voice. token
 * may be NULL for the unknown-link page. */
typedef enum { SURVEY_UNSUB_CONFIRM, SURVEY_UNSUB_DONE, SURVEY_UNSUB_UNKNOWN } survey_unsub;
ks_err survey_page_unsubscribe(ks_buf *out, const char *lang, const survey_voice *voice,
			       survey_unsub kind, const char *token);

/* Parse an application/x-www-form-urlencoded body (len bytes, need not be
 * NUL-terminated) posted by the form of s.
 *
 * On success sets, for each answered question, r->nps, r->grade, r->ces or
 * appends to r->drivers (aspect copied from the question, in question
 * order); other fields of r are left alone, so the caller initialises r
 * (model_response_init) and sets r->open_text from *open_text_out.
 * *open_text_out becomes a malloc'd, trimmed copy of the open answer (CRLF
 * turned into LF) that the caller frees, or NULL when it is empty.
 *
 * nonce_out (nonce_cap bytes, may be NULL) receives the value of k, or ""
 * when absent; k must be at most SURVEY_NONCE_MAX of [A-Za-z0-9_-]. It is
 * filled whenever k is valid, even when the form has other errors, so the
 * page shown again can keep it.
 *
 * Unknown fields are ignored. Every error is collected in errs (may be NULL)
 * and the result is KS_ERR_RANGE when all errors are out-of-range scores or
 * a too long answer, else KS_ERR_INVALID; on error r is not touched and
 * *open_text_out is NULL. KS_ERR_NOMEM when memory runs out. */
ks_err survey_form_parse(const char *body, size_t len, const model_survey *s,
			 model_response *r, char **open_text_out,
			 char *nonce_out, size_t nonce_cap, survey_form_errors *errs);

#endif
