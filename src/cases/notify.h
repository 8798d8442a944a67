/* notify.h — the texts of the mails about cases.
 *
 * Owner: src/cases/notify.c. Pure: builds text, sends nothing (the
 * scheduler sends through mail.h, the same SMTP path as invitations).
 * Three kinds:
 *   "opened"   to the owner (or the team's queue) when an alert rule opens a case;
 *   "overdue"  to the manager (and the owner) when a case passes its deadline;
 *   "customer" to the customer when the case is resolved: the handler's
 *              whole message, rendered once by cases/message.h (greeting
 *              and signature included), sent as it is.
 * And the digest (issue 13): one mail per person per scheduler pass that
 * lists the cases escalated to them, a link for each.
 * Every text names the case and, for staff, links to it in the web UI.
 */
#ifndef KS_CASES_NOTIFY_H
#define KS_CASES_NOTIFY_H

#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct cases_mail_input {
	const char *kind;             /* opened | overdue | customer */
	const char *lang;             /* nl | en (anything else: nl) */
	int64_t case_id;
	const char *reason;           /* the rule's description of why */
	const char *customer_name;    /* NULL or "" = not known */
	const char *team_name;        /* NULL = none */
	const char *owner_name;       /* NULL = the team's queue */
	int64_t deadline;             /* 0 = none */
	const char *open_text;        /* the customer's words; NULL = none */
	const char *customer_message; /* kind customer: the handler's text */
	const char *base_url;         /* web root, no trailing '/' */
	const char *org_name;
} cases_mail_input;

/* Append the subject (one line, UTF-8) and the plain-text body to the
 * caller's buffers. KS_ERR_INVALID for an unknown kind or a customer mail
 * without a message; KS_ERR_TOOBIG / KS_ERR_NOMEM from the buffers. */
ks_err cases_mail_build(const cases_mail_input *in, ks_buf *subject, ks_buf *text);

/* One line per case of a digest. */
typedef struct cases_digest_item {
	int64_t case_id;
	const char *customer_name;    /* NULL or "" = not known */
	const char *reason;
	const char *team_name;        /* NULL or "" = none */
	int64_t deadline;             /* 0 = none */
} cases_digest_item;

/* The digest of n escalated cases in lang (nl | en, else nl): subject and
 * plain text with a link per case. KS_ERR_TOOBIG / KS_ERR_NOMEM from the
 * buffers. */
ks_err cases_digest_build(const char *lang, const char *base_url, const cases_digest_item *items, size_t n,
			  ks_buf *subject, ks_buf *text);

#endif
