/* mail.h — composing and sending e-mail over SMTP (libcurl).
 *
 * Two steps, so that a message can be built (and tested) without a network:
 *   mail_compose()  builds one RFC 5322 message with a text/plain and an
 *                   optional text/html part, both quoted-printable (RFC 2045);
 *   mail_send()     hands a composed message to the SMTP server in
 *                   cfg->url and says whether it was accepted, should be
 *                   retried later, or will never be accepted.
 *
 * libcurl must be initialised once per process before the first send:
 * src/cli/main.c calls mail_global_init() at start-up, before any thread is
 * started, and mail_global_cleanup() at exit. Tests do the same.
 *
 * Addresses are plain ASCII "local@domain" (no SMTPUTF8, RFC 6531).
 * Nothing here keeps a pointer to its arguments after it returns.
 */
#ifndef KS_MAIL_H
#define KS_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

/* Where and how to send. TLS:
 *  - url "smtps://host:465": implicit TLS from the first byte (RFC 8314);
 *  - url "smtp://host:587" with require_tls: STARTTLS (RFC 3207) is
 *    mandatory, the send fails (TEMPFAIL) if the server does not offer it
 *    (CURLUSESSL_ALL);
 *  - url "smtp://..." without require_tls: plain SMTP, no STARTTLS attempt
 *    (CURLUSESSL_NONE) — meant for a relay on localhost or in a trusted
 *    network. There is deliberately no "try TLS if offered" mode: an
 *    opportunistic handshake that fails certificate checks would stop mail
 *    that the operator meant to go out in the clear.
 * Certificates are always verified when TLS is used. */
typedef struct mail_config {
	char url[256];      /* smtp://host:port or smtps://host:port */
	char user[128];     /* "" = no authentication */
	char pass[128];
	bool require_tls;
	char from[256];     /* "Klantstem <noreply@example.org>" or a bare address */
	long timeout_s;     /* connect and whole-transfer limit; <= 0 means 30 */
} mail_config;

/* One message. All strings are borrowed, UTF-8, NUL-terminated. */
typedef struct mail_message {
	const char *to;          /* bare address: exactly one '@', no spaces */
	const char *subject;     /* RFC 2047 encoded when not plain ASCII */
	const char *text;        /* required; '\n' or "\r\n" line ends */
	const char *html;        /* NULL = text/plain only, no multipart */
	/* Without <>. The caller makes it unique and stable per invitation so a
	 * resend carries the same id. If it holds no '@', "@" and the domain of
	 * cfg->from are appended (RFC 5322 §3.6.4 wants id-left "@" id-right). */
	const char *message_id;
	/* NULL = none. Otherwise "List-Unsubscribe: <url>" (RFC 2369) and
	 * "List-Unsubscribe-Post: List-Unsubscribe=One-Click" (RFC 8058, which
	 * wants an https URL in production). */
	const char *list_unsubscribe_url;
} mail_message;

/* Check everything mail_compose() would reject, naming the field at fault in
 * *e (may be NULL): "to", "subject", "text", "html", "message_id",
 * "list_unsubscribe_url" or "from". CR or LF in a header value (header
 * injection), a malformed address, invalid UTF-8 in the subject or a body
 * -> KS_ERR_INVALID. */
ks_err mail_message_check(const mail_config *cfg, const mail_message *m, ks_error *e);

/* Append the complete message (headers, blank line, body; CRLF line ends) to
 * *out. date_unix is the Date header (UTC, RFC 5322 §3.3). The multipart
 * boundary is derived from the message id, so the same input gives the same
 * bytes. Errors: KS_ERR_INVALID as mail_message_check() (call that to learn
 * the field), KS_ERR_TOOBIG / KS_ERR_NOMEM from the buffer. On error *out
 * may hold a partial message; the caller still owns and frees it. */
ks_err mail_compose(const mail_config *cfg, const mail_message *m, int64_t date_unix,
		    ks_buf *out);

/* Append s quoted-printable encoded (RFC 2045 §6.7) to *out: lines of at most
 * 76 characters with "=" soft breaks, '=' and non-printable bytes as =XX,
 * whitespace before a line end encoded, line ends ('\n' or "\r\n") as CRLF.
 * Exposed for tests and for other MIME writers. */
ks_err mail_qp_encode(ks_buf *out, const char *s);

typedef enum {
	MAIL_SENT,      /* the server accepted the message (250 after DATA) */
	MAIL_TEMPFAIL,  /* try again later: no connection, timeout, 4xx reply */
	MAIL_PERMFAIL   /* do not retry: 5xx reply or unusable recipient */
} mail_outcome;

/* Stable lower-case name: "sent", "tempfail", "permfail". */
const char *mail_outcome_name(mail_outcome o);

/* Send a composed message to to_addr (the SMTP envelope recipient; the To
 * header is not read). One libcurl easy handle per call, so calls from
 * different threads are independent. Envelope sender: the bare address in
 * cfg->from.
 *
 * Classification (libcurl returns a generic error for SMTP refusals, so the
 * last reply code, CURLINFO_RESPONSE_CODE, decides — RFC 5321 §4.2.1):
 *   transfer OK                                      -> MAIL_SENT
 *   reply 5xx (not an authentication failure)        -> MAIL_PERMFAIL
 *   invalid to_addr                                  -> MAIL_PERMFAIL
 *   reply 4xx, connection refused, couldn't resolve,
 *   timeout, dropped connection, TLS or login failure,
 *   anything else                                    -> MAIL_TEMPFAIL
 * Login failures (even 535) count as temporary: the message and recipient
 * are fine, the operator has to fix the configuration.
 *
 * detail (may be NULL) receives a one-line human description, never the
 * password. Returns KS_OK whenever *out says what happened; otherwise
 * KS_ERR_INVALID for a NULL argument or an unusable cfg (url not smtp:// or
 * smtps://, no address in from), KS_ERR_NOMEM, KS_ERR_INTERNAL; then *out
 * (if not NULL) is MAIL_TEMPFAIL, so a caller that only reads *out retries
 * rather than drops the message while the configuration gets fixed. */
ks_err mail_send(const mail_config *cfg, const char *to_addr, const ks_buf *message,
		 mail_outcome *out, char *detail, size_t detail_n);

/* curl_global_init / curl_global_cleanup. Not thread-safe: main() calls them
 * once, before starting and after stopping every thread. */
ks_err mail_global_init(void);
void mail_global_cleanup(void);

#endif
