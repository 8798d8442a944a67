/* message.h — the texts of a survey invitation and its reminder, nl and en.
 *
 * invite_message_build() produces the subject, a plain-text part and an HTML
 * part, ready for mail_compose() (src/mail/mail.h): personal (customer and
 * employee first name when known), short, with the NPS question answerable
 * from the mail itself — eleven links base_url/s/TOKEN?nps=0..10 — and an
 * unsubscribe link base_url/u/UNSUBSCRIBE_TOKEN in the footer.
 *
 * The HTML uses inline styles only, no scripts, no image but the
 * organisation's own logo (base_url/logo, when it has one; its name is the
 * alt text), and every dynamic text is HTML-escaped. Each score link is at
 * least 44 px high (48 with its border) and as wide as the row allows. The subject and the text part are plain
 * UTF-8; control characters in names become spaces, so a stray newline in a
 * database row cannot break a header. Nothing is kept after a call returns.
 */
#ifndef KS_INVITE_MESSAGE_H
#define KS_INVITE_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

/* All strings borrowed, UTF-8. */
typedef struct invite_message_input {
	const char *lang;                 /* "nl" or "en" */
	const char *base_url;             /* "http://127.0.0.1:8080"; a trailing '/' is ignored */
	const char *token;                /* survey token -> base_url/s/TOKEN */
	const char *unsubscribe_token;    /* -> base_url/u/TOKEN */
	const char *customer_name;        /* NULL or "" = unknown: a greeting without name */
	const char *employee_first_name;  /* NULL or "" = unknown: "contact with ORG" */
	const char *touchpoint_name;      /* NULL or "" = the subject names no topic */
	const char *nps_question;         /* the survey's NPS text in lang; NULL or "" = default */
	const char *org_name;             /* required: the sender as the customer knows it */
	bool reminder;                    /* "Herinnering: " / "Reminder: " and a short nudge */
	/* issue 13: the organisation's voice */
	bool formal;                      /* Dutch "u" rather than "je" (English has one form) */
	bool logo;                        /* the organisation has a logo: base_url/logo on top */
	/* issue 16: a relationship survey (a customer drawn from the whole base,
	 * often without a recent contact): the subject and first paragraph ask
	 * about the organisation, never "you recently had contact with"; the
	 * employee and touchpoint are not named. */
	bool relationship;
} invite_message_input;

/* Append the subject (one line, no line end), the text part and the HTML part
 * to the caller's buffers (all three required; the caller owns and frees
 * them, also after an error, when their contents are unspecified).
 * Errors: KS_ERR_INVALID when lang is not nl/en, base_url is not an http(s)
 * URL without spaces or quotes, a token is empty or not URL-safe
 * ([A-Za-z0-9_-]), or org_name is missing; KS_ERR_TOOBIG / KS_ERR_NOMEM
 * from the buffers. */
ks_err invite_message_build(const invite_message_input *in, ks_buf *subject, ks_buf *text,
			    ks_buf *html);

/* Write base_url/s/TOKEN to survey_url and base_url/u/UNSUBSCRIBE_TOKEN to
 * unsub_url (either buffer may be NULL). Output is truncated to fit, always
 * NUL-terminated when n > 0; no validation (see invite_message_build). */
void invite_message_urls(const char *base_url, const char *token,
			 const char *unsubscribe_token, char *survey_url, size_t n1,
			 char *unsub_url, size_t n2);

#endif
