/* mail.c — see mail.h.
 *
 * Sources: RFC 5322 (message format), RFC 2045/2046 (MIME, quoted-printable,
 * multipart), RFC 2047 (encoded words), RFC 2369 and RFC 8058 (unsubscribe
 * headers), RFC 3834 (Auto-Submitted), RFC 5321 (SMTP reply codes).
 */
#include "mail/mail.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "core/utf8.h"

#define MAIL_ADDR_MAX 254      /* RFC 5321 §4.5.3.1.3 path minus <> */
#define MAIL_LOCAL_MAX 64      /* RFC 5321 §4.5.3.1.1 */
#define MAIL_ID_MAX 200
#define MAIL_URL_MAX 1000
#define MAIL_SUBJECT_MAX 900   /* stays under the 998-octet line limit */
#define MAIL_LINE_SOFT 78      /* RFC 5322 §2.1.1 "SHOULD" */
#define MAIL_QP_LINE 76        /* RFC 2045 §6.7 rule 5 */
#define MAIL_EW_RAW 39         /* bytes per encoded word: 52 base64 chars, so
				* "Subject: =?UTF-8?B?...?=" stays within 76 */
#define MAIL_TIMEOUT_DEFAULT 30L

/* ---- small checks ------------------------------------------------------- */

static bool has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static bool mail_utf8_ok(const char *s)
{
	return utf8_valid(s, strlen(s), NULL);
}

/* Visible ASCII that may appear in an address or a message id: no space,
 * no control characters, none of RFC 5322's specials except '@' and '.'. */
static bool atom_char(char c)
{
	if (c <= ' ' || c >= 0x7F)
		return false;
	return strchr("<>()[]\\,;:\"", c) == NULL;
}

/* A bare "local@domain": exactly one '@', both sides non-empty, the domain
 * a dot-separated name (RFC 5321 §4.1.2, without quoted local parts). */
static bool addr_valid(const char *a)
{
	size_t len = strlen(a);
	const char *at = strchr(a, '@');
	if (len == 0 || len > MAIL_ADDR_MAX || at == NULL || strchr(at + 1, '@'))
		return false;
	for (const char *p = a; *p; p++)
		if (!atom_char(*p))
			return false;
	const char *dom = at + 1;
	size_t local = (size_t)(at - a);
	if (local == 0 || local > MAIL_LOCAL_MAX || *dom == '\0')
		return false;
	if (dom[0] == '.' || a[len - 1] == '.' || strstr(dom, "..") != NULL)
		return false;
	return true;
}

static bool id_valid(const char *id)
{
	size_t len = strlen(id);
	if (len == 0 || len > MAIL_ID_MAX)
		return false;
	const char *at = strchr(id, '@');
	if (at && (at == id || at[1] == '\0' || strchr(at + 1, '@')))
		return false;
	for (const char *p = id; *p; p++)
		if (!atom_char(*p))
			return false;
	return true;
}

static bool url_valid(const char *u)
{
	size_t len = strlen(u);
	if (len == 0 || len > MAIL_URL_MAX)
		return false;
	if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
		return false;
	for (const char *p = u; *p; p++)
		if (*p <= ' ' || *p >= 0x7F || *p == '<' || *p == '>' || *p == '"')
			return false;
	return true;
}

static void copy_trimmed(char *dst, size_t n, const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
		s++, len -= 2;
	if (len >= n)
		len = n - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* Split cfg->from, "Name <addr>" or "addr", into its parts (name without
 * surrounding quotes). False when there is no valid address. */
static bool from_split(const char *from, char *name, size_t nn, char *addr, size_t an)
{
	if (has_crlf(from))
		return false;
	const char *lt = strchr(from, '<');
	if (lt == NULL) {
		copy_trimmed(name, nn, "", 0);
		copy_trimmed(addr, an, from, strlen(from));
		return addr_valid(addr);
	}
	const char *gt = strchr(lt, '>');
	if (gt == NULL || (size_t)(gt - lt - 1) >= an)
		return false;
	copy_trimmed(name, nn, from, (size_t)(lt - from));
	copy_trimmed(addr, an, lt + 1, (size_t)(gt - lt - 1));
	return addr_valid(addr);
}

/* ---- validation ---------------------------------------------------------- */

static ks_err check_header_text(const char *s, const char *field, ks_error *e)
{
	if (s == NULL)
		return ks_fail(e, KS_ERR_INVALID, field, "%s is required", field);
	if (has_crlf(s))
		return ks_fail(e, KS_ERR_INVALID, field, "%s must not contain CR or LF", field);
	return KS_OK;
}

static ks_err check_body(const char *s, const char *field, bool required, ks_error *e)
{
	if (s == NULL && required)
		return ks_fail(e, KS_ERR_INVALID, field, "%s is required", field);
	if (s != NULL && !mail_utf8_ok(s))
		return ks_fail(e, KS_ERR_INVALID, field, "%s is not valid UTF-8", field);
	return KS_OK;
}

ks_err mail_message_check(const mail_config *cfg, const mail_message *m, ks_error *e)
{
	char name[256], addr[MAIL_ADDR_MAX + 1];
	if (cfg == NULL || m == NULL)
		return ks_fail(e, KS_ERR_INVALID, NULL, "no configuration or message");
	if (!from_split(cfg->from, name, sizeof name, addr, sizeof addr) || !mail_utf8_ok(name))
		return ks_fail(e, KS_ERR_INVALID, "from", "from must hold one valid address");
	ks_err rc = check_header_text(m->to, "to", e);
	if (rc)
		return rc;
	if (!addr_valid(m->to))
		return ks_fail(e, KS_ERR_INVALID, "to", "to is not a valid e-mail address");
	if ((rc = check_header_text(m->subject, "subject", e)))
		return rc;
	if (!mail_utf8_ok(m->subject) || strlen(m->subject) > MAIL_SUBJECT_MAX)
		return ks_fail(e, KS_ERR_INVALID, "subject", "subject is not valid UTF-8 or too long");
	if ((rc = check_header_text(m->message_id, "message_id", e)))
		return rc;
	if (!id_valid(m->message_id))
		return ks_fail(e, KS_ERR_INVALID, "message_id",
			       "message_id must be visible ASCII without <>, spaces or a second '@'");
	if (m->list_unsubscribe_url != NULL) {
		if ((rc = check_header_text(m->list_unsubscribe_url, "list_unsubscribe_url", e)))
			return rc;
		if (!url_valid(m->list_unsubscribe_url))
			return ks_fail(e, KS_ERR_INVALID, "list_unsubscribe_url",
				       "list_unsubscribe_url must be an http(s) URL without spaces");
	}
	if ((rc = check_body(m->text, "text", true, e)))
		return rc;
	return check_body(m->html, "html", false, e);
}

/* ---- encoders ------------------------------------------------------------ */

static const char hexdig[] = "0123456789ABCDEF";

static ks_err base64_append(ks_buf *out, const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = { tab[(v >> 18) & 63], tab[(v >> 12) & 63],
			      i + 1 < n ? tab[(v >> 6) & 63] : '=',
			      i + 2 < n ? tab[v & 63] : '=' };
		ks_err rc = buf_append(out, q, 4);
		if (rc)
			return rc;
	}
	return KS_OK;
}

/* Encoded words "=?UTF-8?B?...?=" (RFC 2047 §4.1), each at most MAIL_EW_RAW
 * input bytes cut on a UTF-8 character boundary (§5 rule 3), separated by a
 * folding "CRLF SP" (§2: words on separate lines). */
static ks_err put_encoded_words(ks_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);
	bool first = true;
	while (left > 0) {
		size_t n = left < MAIL_EW_RAW ? left : MAIL_EW_RAW;
		while (n < left && n > 1 && (p[n] & 0xC0) == 0x80)
			n--;
		ks_err rc = buf_puts(out, first ? "=?UTF-8?B?" : "\r\n =?UTF-8?B?");
		if (!rc)
			rc = base64_append(out, p, n);
		if (!rc)
			rc = buf_puts(out, "?=");
		if (rc)
			return rc;
		first = false;
		p += n;
		left -= n;
	}
	return KS_OK;
}

/* ASCII header text, folded before a space when a line would pass 78
 * characters (RFC 5322 §2.2.3). col is the length already on the line. */
static ks_err put_folded(ks_buf *out, size_t col, const char *s)
{
	while (*s) {
		size_t word = strcspn(s + 1, " ") + 1;  /* leading space + word */
		if (col > 0 && col + word > MAIL_LINE_SOFT && *s == ' ') {
			ks_err rc = buf_puts(out, "\r\n");
			if (rc)
				return rc;
			col = 0;
		}
		ks_err rc = buf_append(out, s, word);
		if (rc)
			return rc;
		col += word;
		s += word;
	}
	return KS_OK;
}

static bool phrase_needs_quotes(const char *s)
{
	return strpbrk(s, "()<>[]:;@\\,.\"") != NULL;
}

static ks_err put_quoted(ks_buf *out, const char *s)
{
	ks_err rc = buf_puts(out, "\"");
	for (; !rc && *s; s++) {
		if (*s == '"' || *s == '\\')
			rc = buf_puts(out, "\\");
		if (!rc)
			rc = buf_append(out, s, 1);
	}
	return rc ? rc : buf_puts(out, "\"");
}

ks_err mail_qp_encode(ks_buf *out, const char *s)
{
	size_t col = 0;
	for (const char *p = s; *p;) {
		size_t eol = (p[0] == '\r' && p[1] == '\n') ? 2 : p[0] == '\n' ? 1 : 0;
		if (eol) {
			ks_err rc = buf_puts(out, "\r\n");
			if (rc)
				return rc;
			col = 0;
			p += eol;
			continue;
		}
		unsigned char c = (unsigned char)*p;
		bool last = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
		bool literal = (c >= 33 && c <= 126 && c != '=') ||
			       ((c == ' ' || c == '\t') && !last);  /* rule 3 */
		char tok[3] = { (char)c, 0, 0 };
		size_t len = 1;
		if (!literal) {  /* rules 1 and 2: "=XX", upper-case hex */
			tok[0] = '=', tok[1] = hexdig[c >> 4], tok[2] = hexdig[c & 15];
			len = 3;
		}
		/* rule 5: at most 76 per line, a soft break "=" counting as one */
		if (col + len > (last ? MAIL_QP_LINE : MAIL_QP_LINE - 1)) {
			ks_err rc = buf_puts(out, "=\r\n");
			if (rc)
				return rc;
			col = 0;
		}
		ks_err rc = buf_append(out, tok, len);
		if (rc)
			return rc;
		col += len;
		p++;
	}
	return KS_OK;
}

/* ---- headers ------------------------------------------------------------- */

static ks_err put_date(ks_buf *out, int64_t unix_s)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (unix_s < 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999)
		return KS_ERR_INVALID;
	/* RFC 5322 §3.3, English names regardless of locale */
	return buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
			  days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
			  tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Text a header may carry as it is: printable ASCII, space and tab, and
 * nothing a reader would decode as an encoded word ("=?", RFC 2047 §6.1).
 * Anything else travels as encoded words. */
static bool header_plain(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p >= 0x7F)
			return false;
	return strstr(s, "=?") == NULL;
}

static ks_err put_from(ks_buf *out, const char *from)
{
	char name[256], addr[MAIL_ADDR_MAX + 1];
	if (!from_split(from, name, sizeof name, addr, sizeof addr))
		return KS_ERR_INVALID;
	ks_err rc = buf_puts(out, "From: ");
	if (!rc && name[0] != '\0') {
		if (!header_plain(name))
			rc = put_encoded_words(out, name);  /* RFC 2047 §5 rule 3 */
		else if (phrase_needs_quotes(name))
			rc = put_quoted(out, name);
		else
			rc = buf_puts(out, name);
		if (!rc)
			rc = buf_puts(out, " ");
	}
	return rc ? rc : buf_printf(out, "<%s>\r\n", addr);
}

static ks_err put_subject(ks_buf *out, const char *subject)
{
	ks_err rc = buf_puts(out, "Subject: ");
	if (!rc)
		rc = header_plain(subject) ? put_folded(out, strlen("Subject: "), subject)
					   : put_encoded_words(out, subject);
	return rc ? rc : buf_puts(out, "\r\n");
}

static ks_err put_message_id(ks_buf *out, const char *id, const char *from)
{
	if (strchr(id, '@'))
		return buf_printf(out, "Message-ID: <%s>\r\n", id);
	char name[256], addr[MAIL_ADDR_MAX + 1];
	if (!from_split(from, name, sizeof name, addr, sizeof addr))
		return KS_ERR_INVALID;
	return buf_printf(out, "Message-ID: <%s%s>\r\n", id, strchr(addr, '@'));
}

/* A boundary that cannot occur in a quoted-printable body: "=_" is never
 * produced by the encoder, since a literal '=' is always written as =3D
 * (RFC 2045 §6.7, RFC 2046 §5.1.1). FNV-1a of the id keeps it stable. */
static void boundary_for(const char *id, char *b, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	snprintf(b, n, "=_ks_%016llx", (unsigned long long)h);
}

static ks_err put_headers(ks_buf *out, const mail_config *cfg, const mail_message *m,
			  int64_t date_unix)
{
	ks_err rc = put_date(out, date_unix);
	if (!rc)
		rc = put_from(out, cfg->from);
	if (!rc)
		rc = buf_printf(out, "To: <%s>\r\n", m->to);
	if (!rc)
		rc = put_subject(out, m->subject);
	if (!rc)
		rc = put_message_id(out, m->message_id, cfg->from);
	if (!rc)
		rc = buf_puts(out, "MIME-Version: 1.0\r\n"
				   "Auto-Submitted: auto-generated\r\n");
	if (!rc && m->list_unsubscribe_url)
		rc = buf_printf(out, "List-Unsubscribe: <%s>\r\n"
				     "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
				m->list_unsubscribe_url);
	return rc;
}

/* ---- body ---------------------------------------------------------------- */

static ks_err put_part_headers(ks_buf *out, const char *subtype)
{
	return buf_printf(out, "Content-Type: text/%s; charset=UTF-8\r\n"
			       "Content-Transfer-Encoding: quoted-printable\r\n\r\n", subtype);
}

static ks_err put_part(ks_buf *out, const char *boundary, const char *subtype,
		       const char *body)
{
	ks_err rc = buf_printf(out, "\r\n--%s\r\n", boundary);
	if (!rc)
		rc = put_part_headers(out, subtype);
	return rc ? rc : mail_qp_encode(out, body);
}

static ks_err put_body(ks_buf *out, const mail_message *m)
{
	if (m->html == NULL) {
		ks_err rc = put_part_headers(out, "plain");
		if (!rc)
			rc = mail_qp_encode(out, m->text);
		return rc ? rc : buf_puts(out, "\r\n");
	}
	char boundary[40];
	boundary_for(m->message_id, boundary, sizeof boundary);
	ks_err rc = buf_printf(out, "Content-Type: multipart/alternative;\r\n"
				    " boundary=\"%s\"\r\n\r\n"
				    "This is a multi-part message in MIME format.\r\n",
			       boundary);
	/* RFC 2046 §5.1.4: the preferred (richest) alternative comes last */
	if (!rc)
		rc = put_part(out, boundary, "plain", m->text);
	if (!rc)
		rc = put_part(out, boundary, "html", m->html);
	return rc ? rc : buf_printf(out, "\r\n--%s--\r\n", boundary);
}

ks_err mail_compose(const mail_config *cfg, const mail_message *m, int64_t date_unix,
		    ks_buf *out)
{
	if (out == NULL)
		return KS_ERR_INVALID;
	ks_err rc = mail_message_check(cfg, m, NULL);
	if (rc)
		return rc;
	rc = put_headers(out, cfg, m, date_unix);
	return rc ? rc : put_body(out, m);
}

/* ---- sending --------------------------------------------------------------- */

const char *mail_outcome_name(mail_outcome o)
{
	switch (o) {
	case MAIL_SENT: return "sent";
	case MAIL_TEMPFAIL: return "tempfail";
	case MAIL_PERMFAIL: return "permfail";
	}
	return "unknown";
}

ks_err mail_global_init(void)
{
	CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (cc == CURLE_OUT_OF_MEMORY)
		return KS_ERR_NOMEM;
	return cc == CURLE_OK ? KS_OK : KS_ERR_INTERNAL;
}

void mail_global_cleanup(void)
{
	curl_global_cleanup();
}

typedef struct send_reader {
	const char *data;
	size_t len;
	size_t pos;
} send_reader;

static size_t send_read(char *dst, size_t size, size_t nitems, void *arg)
{
	send_reader *r = arg;
	size_t room = size * nitems;
	size_t n = r->len - r->pos;
	if (n > room)
		n = room;
	memcpy(dst, r->data + r->pos, n);
	r->pos += n;
	return n;
}

static bool url_scheme_ok(const char *url)
{
	return strncmp(url, "smtp://", 7) == 0 || strncmp(url, "smtps://", 8) == 0;
}

static void set_detail(char *detail, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_detail(char *detail, size_t n, const char *fmt, ...)
{
	if (detail == NULL || n == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, n, fmt, ap);
	va_end(ap);
}

static CURLcode send_setup(CURL *h, const mail_config *cfg, const char *from_addr,
			   struct curl_slist *rcpt, send_reader *rd, char *errbuf)
{
	long timeout = cfg->timeout_s > 0 ? cfg->timeout_s : MAIL_TIMEOUT_DEFAULT;
	long use_ssl = cfg->require_tls || strncmp(cfg->url, "smtps://", 8) == 0
			       ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE;
	CURLcode c = curl_easy_setopt(h, CURLOPT_URL, cfg->url);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_MAIL_FROM, from_addr);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_READFUNCTION, send_read);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_READDATA, rd);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rd->len);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	if (!c)
		c = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (!c && cfg->user[0] != '\0')
		c = curl_easy_setopt(h, CURLOPT_USERNAME, cfg->user);
	if (!c && cfg->user[0] != '\0')
		c = curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->pass);
	return c;
}

static mail_outcome send_classify(CURLcode cc, long reply)
{
	if (cc == CURLE_OK)
		return MAIL_SENT;
	if (cc == CURLE_LOGIN_DENIED)
		return MAIL_TEMPFAIL;
	if (reply >= 500 && reply <= 599)
		return MAIL_PERMFAIL;
	return MAIL_TEMPFAIL;  /* 4xx, no connection, timeout, TLS, ... */
}

static ks_err send_perform(CURL *h, mail_outcome *out, const char *errbuf, char *detail,
			   size_t detail_n)
{
	CURLcode cc = curl_easy_perform(h);
	if (cc == CURLE_OUT_OF_MEMORY)
		return KS_ERR_NOMEM;
	long reply = 0;
	if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply) != CURLE_OK)
		reply = 0;
	*out = send_classify(cc, reply);
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
	if (*out == MAIL_SENT)
		set_detail(detail, detail_n, "sent: server replied %ld", reply);
	else if (reply > 0)
		set_detail(detail, detail_n, "%s: SMTP %ld: %s", mail_outcome_name(*out), reply, why);
	else
		set_detail(detail, detail_n, "%s: %s", mail_outcome_name(*out), why);
	return KS_OK;
}

ks_err mail_send(const mail_config *cfg, const char *to_addr, const ks_buf *message,
		 mail_outcome *out, char *detail, size_t detail_n)
{
	char name[256], from_addr[MAIL_ADDR_MAX + 1];
	set_detail(detail, detail_n, "%s", "");
	if (out != NULL)
		*out = MAIL_TEMPFAIL;  /* what an error return leaves: retry, never drop */
	if (cfg == NULL || message == NULL || message->len == 0 || out == NULL)
		return KS_ERR_INVALID;
	if (!url_scheme_ok(cfg->url)) {
		set_detail(detail, detail_n, "mail url must start with smtp:// or smtps://");
		return KS_ERR_INVALID;
	}
	if (!from_split(cfg->from, name, sizeof name, from_addr, sizeof from_addr)) {
		set_detail(detail, detail_n, "mail from holds no valid address");
		return KS_ERR_INVALID;
	}
	if (to_addr == NULL || !addr_valid(to_addr)) {
		*out = MAIL_PERMFAIL;
		set_detail(detail, detail_n, "permfail: invalid recipient address");
		return KS_OK;
	}
	CURL *h = curl_easy_init();
	if (h == NULL)
		return KS_ERR_NOMEM;
	struct curl_slist *rcpt = curl_slist_append(NULL, to_addr);
	if (rcpt == NULL) {
		curl_easy_cleanup(h);
		return KS_ERR_NOMEM;
	}
	send_reader rd = { message->data, message->len, 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	ks_err rc = KS_OK;
	CURLcode c = send_setup(h, cfg, from_addr, rcpt, &rd, errbuf);
	if (c == CURLE_OUT_OF_MEMORY)
		rc = KS_ERR_NOMEM;
	else if (c != CURLE_OK)
		rc = KS_ERR_INTERNAL;
	else
		rc = send_perform(h, out, errbuf, detail, detail_n);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(h);
	return rc;
}
