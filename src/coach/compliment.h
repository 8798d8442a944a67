/* compliment.h — the mail that tells an employee about a compliment from
 * their team lead on a Wall of Fame item (issue 13): its text, and the pass
 * that sends the queued ones.
 *
 * Owner: src/coach/compliment.c. The compliment and its mail are stored
 * in one transaction (store_compliment_create, the row is the outbox); the
 * scheduler calls coach_compliment_pass every pass, so it goes out over the
 * same SMTP path, retries and crash recovery as the case mails.
 */
#ifndef KS_COACH_COMPLIMENT_H
#define KS_COACH_COMPLIMENT_H

#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "mail/mail.h"
#include "store/store.h"

typedef struct coach_compliment_input {
	const char *lang;         /* nl | en (anything else: nl) */
	const char *first_name;   /* the employee's; "" = none */
	const char *from_name;    /* who sends the compliment */
	const char *open_text;    /* what the customer wrote */
	const char *note;         /* the sender's own words; "" = none */
	const char *base_url;     /* web root, no trailing '/' */
	const char *org_name;
} coach_compliment_input;

/* Append the subject (one line) and the plain-text body. KS_ERR_TOOBIG /
 * KS_ERR_NOMEM from the buffers. Pure. */
ks_err coach_compliment_build(const coach_compliment_input *in, ks_buf *subject, ks_buf *text);

/* Send every due compliment mail (claimed, sent, recorded). *sent and
 * *failed are added to. Errors are the store's; one bad message is a
 * permanent failure of that message only. */
ks_err coach_compliment_pass(ks_store *s, const mail_config *mc, const char *base_url, const char *org_name,
			     int64_t now, int *sent, int *failed, ks_error *e);

#endif
