/* pulse_page.h — the pulse's public answer page /p/{token}, its form's
 * parsing, and the invitation mail (issue 17 P).
 *
 * Owner: src/pulse/pulse_page.c. Pure functions (no I/O, no database, no
 * clock) but pulse_mail_pass, which sends what the store has queued over
 * the product's one SMTP path (src/mail). Pages are complete HTML5 with
 * inline CSS, no script, readable on a phone; every dynamic text is
 * HTML-escaped. lang "en" gives English, anything else Dutch.
 *
 * Form fields: enps (0..10), i1..i3 (1..5), open (the comment). Every
 * question but the comment is required: a figure of a group then always
 * rests on all of its respondents (pulse.c suppresses on that one count).
 */
#ifndef KS_PULSE_PAGE_H
#define KS_PULSE_PAGE_H

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"
#include "mail/mail.h"
#include "store/store.h"

typedef enum {
	PULSE_MSG_THANKS,
	PULSE_MSG_USED,          /* the link was used: one answer per person */
	PULSE_MSG_CLOSED,        /* the wave closed */
	PULSE_MSG_NOT_FOUND
} pulse_message;

/* What the person entered and what is wrong with it (field names as the
 * form's; "" = nothing wrong). */
typedef struct pulse_form {
	store_pulse_answer a;
	char comment[4 * STORE_PULSE_COMMENT_MAX + 1];
	char bad[8][8];          /* fields with an error */
	int n_bad;
} pulse_form;

/* The form: questions is the wave's JSON; org_name replaces {org}. f may
 * be NULL (a fresh form) or a refused post (its values and errors shown). */
ks_err pulse_page_form(ks_buf *out, const json_t *questions, const char *lang, const char *token,
		       const char *org_name, const pulse_form *f);
ks_err pulse_page_message(ks_buf *out, const char *lang, pulse_message kind);

/* Parse an application/x-www-form-urlencoded body for a wave with n_items
 * items. KS_OK with f filled when valid; KS_ERR_INVALID with f->bad set
 * otherwise (f keeps what could be read). */
ks_err pulse_form_parse(const char *body, size_t len, int n_items, pulse_form *f);

/* The invitation mail's subject and text part (plain UTF-8). */
typedef struct pulse_mail_input {
	const char *lang, *first_name, *org_name, *base_url, *token, *enps_question;
	int64_t closes_at;       /* shown as a date (UTC) when closes_on is NULL */
	const char *closes_on;   /* the local closing date, org time zone (YYYY-MM-DD) */
} pulse_mail_input;
ks_err pulse_mail_build(const pulse_mail_input *in, ks_buf *subject, ks_buf *text);

/* Send every due pulse invitation (claimed, sent, recorded). *sent and
 * *failed are added to; one bad message fails only itself. */
ks_err pulse_mail_pass(ks_store *s, const mail_config *mc, const char *base_url, const char *org_name,
		       int64_t now, int *sent, int *failed, ks_error *e);

#endif
