/* message.h — the message to the customer when a case is resolved
 * (issue 13): one template with named placeholders, rendered once.
 *
 * Owner: src/cases/message.c. Pure: no I/O, no allocation beyond the
 * caller's buffer.
 *
 * The handler writes the whole mail (greeting, their words, signature);
 * {customer_name}, {employee_name} and {organisation} are filled in here
 * and nothing is added around it, so the mail the customer reads is the
 * text the form showed. A text that still holds the ellipsis of the
 * suggestion ("…"), an unknown placeholder, a placeholder without a value,
 * or the untouched template is refused: such a mail would read wrong.
 */
#ifndef KS_CASES_MESSAGE_H
#define KS_CASES_MESSAGE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct cases_msg_vars {
	const char *customer_name;  /* NULL / "" = not known: "klant" / "customer" */
	const char *employee_name;  /* the handler; NULL / "" = no value */
	const char *organisation;   /* NULL / "" = no value */
	const char *lang;           /* the customer's: nl | en (else nl) */
	const char *ui_lang;        /* the handler's, for why: nl | en (else nl) */
} cases_msg_vars;

/* The template the form starts from, in lang (nl | en, else nl): a
 * greeting with {customer_name}, an empty middle for the handler's own
 * words, and a signature with {employee_name} and {organisation}. A
 * static string. */
const char *cases_msg_template(const char *lang);

/* Render text into out. KS_ERR_INVALID with why (room for why_n bytes) in
 * v->ui_lang for a refused text (see above); KS_ERR_TOOBIG / KS_ERR_NOMEM
 * from the buffer. why_code gets a stable code: "ellipsis",
 * "unknown_placeholder", "empty_placeholder", "unedited" (may be NULL). */
ks_err cases_msg_render(const char *text, const cases_msg_vars *v, ks_buf *out, char *why, size_t why_n,
			const char **why_code);

#endif
