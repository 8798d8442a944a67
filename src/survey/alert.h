/* alert.h — the mail that tells admins about a burst on an open link
 * (issue 11): its text, and the pass that sends the queued ones.
 *
 * Owner: src/survey/alert.c. One mail per admin per burst is queued by the
 * store in the transaction that opens the burst (store_suspect_hold); the
 * scheduler calls guard_alert_pass every pass, so it goes out over the
 * same SMTP path, retries and crash recovery as the case mails.
 */
#ifndef KS_SURVEY_ALERT_H
#define KS_SURVEY_ALERT_H

#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "mail/mail.h"
#include "store/store.h"

typedef struct guard_alert_input {
	const char *lang;             /* nl | en (anything else: nl) */
	int64_t burst_id;
	const char *touchpoint_name;  /* "" = unknown */
	int64_t started_at;
	int64_t held;                 /* answers held so far */
	const char *base_url;         /* web root, no trailing '/' */
	const char *org_name;
} guard_alert_input;

/* Append the subject (one line) and the plain-text body. KS_ERR_TOOBIG /
 * KS_ERR_NOMEM from the buffers. Pure. */
ks_err guard_alert_build(const guard_alert_input *in, ks_buf *subject, ks_buf *text);

/* Send every due alert mail (claimed, sent, recorded). *sent and *failed
 * are added to. Errors are the store's; one bad message is a permanent
 * failure of that message only. */
ks_err guard_alert_pass(ks_store *s, const mail_config *mc, const char *base_url,
			const char *org_name, int64_t now, int *sent, int *failed, ks_error *e);

#endif
