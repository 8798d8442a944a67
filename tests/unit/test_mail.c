/* test_mail.c — composing (RFC 5322/2045/2047) and sending over SMTP
 * (src/mail/mail.c).
 *
 * The send tests talk to a real SMTP server: aiosmtpd (Debian's
 * python3-aiosmtpd, run with /usr/bin/python3) on a free port of 127.0.0.1,
 * with a small handler written to a temporary directory at run time. The
 * handler stores each accepted message as inbox/msg-N.eml (written to a
 * temporary name, then renamed) and answers RCPT TO with 451 for local parts
 * starting with "temp" and 550 for "perm". The server starts with the first
 * send test and is stopped (SIGTERM, then SIGKILL) in the group teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mail/mail.h"

#define DATE_2025_07_01 1751364000  /* Tue, 01 Jul 2025 10:00:00 +0000 */

/* ---- helpers: strings ----------------------------------------------------- */

static mail_config test_config(void)
{
	mail_config c;
	memset(&c, 0, sizeof c);
	snprintf(c.url, sizeof c.url, "smtp://127.0.0.1:1");
	snprintf(c.from, sizeof c.from, "Klantstem <noreply@example.org>");
	c.timeout_s = 10;
	return c;
}

static mail_message test_message(void)
{
	mail_message m = {
		.to = "jan@example.nl",
		.subject = "Hoe was je contact met Anna?",
		.text = "Hallo Jan,\n\nHoe was het?\n",
		.html = "<p>Hallo Jan,</p>\n<p>Hoe was het?</p>\n",
		.message_id = "inv-42.1@klantstem.example.org",
		.list_unsubscribe_url = "http://127.0.0.1:8080/u/UNSUB42",
	};
	return m;
}

/* Compose into a fresh NUL-terminated string (caller frees), or NULL. */
static char *compose(const mail_config *c, const mail_message *m, ks_err *rc_out)
{
	ks_buf b;
	buf_init(&b, 1 << 20);
	ks_err rc = mail_compose(c, m, DATE_2025_07_01, &b);
	if (rc_out)
		*rc_out = rc;
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

/* The value of header `name` (with its continuation lines, CRLFs kept),
 * searched in the header section only. Caller frees; NULL when absent. */
static char *header_value(const char *msg, const char *name)
{
	const char *end = strstr(msg, "\r\n\r\n");
	size_t nlen = strlen(name);
	for (const char *p = msg; p && p < end; p = strstr(p, "\r\n")) {
		if (p != msg)
			p += 2;
		if (strncmp(p, name, nlen) != 0 || p[nlen] != ':')
			continue;
		const char *v = p + nlen + 1;
		while (*v == ' ')
			v++;
		const char *e = strstr(v, "\r\n");
		while (e && (e[2] == ' ' || e[2] == '\t'))
			e = strstr(e + 2, "\r\n");
		size_t n = (size_t)(e - v);
		char *out = malloc(n + 1);
		memcpy(out, v, n);
		out[n] = '\0';
		return out;
	}
	return NULL;
}

static void assert_header(const char *msg, const char *name, const char *want)
{
	char *v = header_value(msg, name);
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

/* Every line ends in CRLF: no bare CR or LF anywhere. */
static void assert_crlf_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r')
			assert_true(i + 1 < n && s[i + 1] == '\n');
		if (s[i] == '\n')
			assert_true(i > 0 && s[i - 1] == '\r');
	}
}

/* Expected decoding of text given to the QP encoder: "\n" and "\r\n" are
 * line ends (CRLF), anything else is kept byte for byte. Caller frees. */
static char *crlf_normalise(const char *s)
{
	char *out = malloc(2 * strlen(s) + 1);
	size_t o = 0;
	for (const char *p = s; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;  /* the '\n' writes the CRLF */
		if (*p == '\n')
			out[o++] = '\r';
		out[o++] = *p;
	}
	out[o] = '\0';
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;  /* lower case is not what we write */
}

/* Decode quoted-printable (RFC 2045 §6.7), asserting what a strict reader
 * wants: CRLF line ends, at most 76 characters a line, no trailing
 * whitespace, '=' only as "=XX" (upper-case hex) or a soft break, only
 * printable ASCII. Caller frees. */
static char *qp_decode(const char *s, size_t n)
{
	assert_crlf_only(s, n);
	char *out = malloc(n + 1);
	size_t o = 0;
	size_t i = 0;
	while (i < n) {
		const char *eol = strstr(s + i, "\r\n");
		size_t end = eol && (size_t)(eol - s) < n ? (size_t)(eol - s) : n;
		size_t len = end - i;
		assert_true(len <= 76);
		bool soft = len > 0 && s[end - 1] == '=';
		if (!soft && len > 0)
			assert_true(s[end - 1] != ' ' && s[end - 1] != '\t');
		size_t content_end = end - (soft ? 1 : 0);
		for (size_t k = i; k < content_end; k++) {
			unsigned char c = (unsigned char)s[k];
			assert_true((c >= 33 && c <= 126) || c == ' ' || c == '\t');
			if (c != '=') {
				out[o++] = (char)c;
				continue;
			}
			assert_true(k + 2 < content_end);  /* "=XX" not cut by a line end */
			int hi = hexval(s[k + 1]), lo = hexval(s[k + 2]);
			assert_true(hi >= 0 && lo >= 0);
			out[o++] = (char)(hi * 16 + lo);
			k += 2;
		}
		if (!soft && end < n) {
			out[o++] = '\r';
			out[o++] = '\n';
		}
		i = end < n ? end + 2 : n;
	}
	out[o] = '\0';
	return out;
}

static void assert_qp_roundtrip(const char *input)
{
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(mail_qp_encode(&b, input), KS_OK);
	char *dec = qp_decode(b.len ? b.data : "", b.len);
	char *want = crlf_normalise(input);
	assert_string_equal(dec, want);
	free(dec);
	free(want);
	buf_free(&b);
}

static char *qp(const char *input)
{
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(mail_qp_encode(&b, input), KS_OK);
	if (b.len == 0)
		return calloc(1, 1);
	return buf_steal(&b, NULL);
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Append the base64 decoding of s[0..n) to out at *o. */
static void b64_decode(const char *s, size_t n, char *out, size_t *o)
{
	assert_int_equal(n % 4, 0);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = s[i + k] == '=' ? 0 : b64val(s[i + k]);
		for (int k = 0; k < 4; k++)
			assert_true(v[k] >= 0);
		unsigned u = ((unsigned)v[0] << 18) | ((unsigned)v[1] << 12) |
			     ((unsigned)v[2] << 6) | (unsigned)v[3];
		out[(*o)++] = (char)(u >> 16);
		if (s[i + 2] != '=')
			out[(*o)++] = (char)(u >> 8);
		if (s[i + 3] != '=')
			out[(*o)++] = (char)u;
	}
}

/* Decode a header value made only of RFC 2047 "B" words separated by
 * folding white space; each word at most 75 characters and holding whole
 * UTF-8 characters. Caller frees. */
static char *ew_decode(const char *v)
{
	char *out = malloc(strlen(v) + 1);
	size_t o = 0;
	const char *p = v;
	int words = 0;
	while (*p) {
		while (*p == ' ' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		assert_memory_equal(p, "=?UTF-8?B?", 10);
		const char *end = strstr(p + 10, "?=");
		assert_non_null(end);
		assert_true(end + 2 - p <= 75);
		size_t start = o;
		b64_decode(p + 10, (size_t)(end - p - 10), out, &o);
		assert_true(((unsigned char)out[start] & 0xC0) != 0x80);  /* no split character */
		p = end + 2;
		words++;
	}
	assert_true(words > 0);
	out[o] = '\0';
	return out;
}

/* The body of the part with this Content-Type, up to the next boundary. */
static char *part_body(const char *msg, const char *ctype)
{
	char *bnd = header_value(msg, "Content-Type");
	const char *b = strstr(bnd, "boundary=\"");
	assert_non_null(b);
	b += strlen("boundary=\"");
	char delim[128];
	snprintf(delim, sizeof delim, "\r\n--%.*s", (int)strcspn(b, "\""), b);
	free(bnd);
	char hdr[256];
	snprintf(hdr, sizeof hdr,
		 "Content-Type: %s; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
		 ctype);
	const char *start = strstr(msg, hdr);
	assert_non_null(start);
	start += strlen(hdr);
	const char *end = strstr(start, delim);
	assert_non_null(end);
	size_t n = (size_t)(end - start);
	char *out = malloc(n + 1);
	memcpy(out, start, n);
	out[n] = '\0';
	return out;
}

/* ---- compose --------------------------------------------------------------- */

static void test_compose_headers(void **state)
{
	(void)state;
	mail_config c = test_config();
	mail_message m = test_message();
	ks_err rc;
	char *msg = compose(&c, &m, &rc);
	assert_int_equal(rc, KS_OK);
	assert_header(msg, "Date", "Tue, 01 Jul 2025 10:00:00 +0000");
	assert_header(msg, "From", "Klantstem <noreply@example.org>");
	assert_header(msg, "To", "<jan@example.nl>");
	assert_header(msg, "Subject", "Hoe was je contact met Anna?");
	assert_header(msg, "Message-ID", "<inv-42.1@klantstem.example.org>");
	assert_header(msg, "MIME-Version", "1.0");
	assert_header(msg, "List-Unsubscribe", "<http://127.0.0.1:8080/u/UNSUB42>");
	assert_header(msg, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
	char *ct = header_value(msg, "Content-Type");
	assert_non_null(strstr(ct, "multipart/alternative;"));
	assert_non_null(strstr(ct, "boundary=\"=_ks_"));
	free(ct);
	assert_crlf_only(msg, strlen(msg));
	/* plain before html (RFC 2046 §5.1.4), closing delimiter at the end */
	const char *tp = strstr(msg, "Content-Type: text/plain; charset=UTF-8");
	const char *hp = strstr(msg, "Content-Type: text/html; charset=UTF-8");
	assert_non_null(tp);
	assert_non_null(hp);
	assert_true(tp < hp);
	size_t len = strlen(msg);
	assert_memory_equal(msg + len - 4, "--\r\n", 4);
	/* header lines stay within 78 characters here */
	const char *hend = strstr(msg, "\r\n\r\n");
	for (const char *p = msg; p < hend;) {
		const char *e = strstr(p, "\r\n");
		assert_true(e - p <= 78);
		p = e + 2;
	}
	free(msg);
}

static void test_compose_is_deterministic(void **state)
{
	(void)state;
	mail_config c = test_config();
	mail_message m = test_message();
	char *a = compose(&c, &m, NULL);
	char *b = compose(&c, &m, NULL);
	assert_string_equal(a, b);
	m.message_id = "inv-43.1@klantstem.example.org";
	char *d = compose(&c, &m, NULL);
	char *ba = header_value(a, "Content-Type");
	char *bd = header_value(d, "Content-Type");
	assert_string_not_equal(ba, bd);  /* the boundary follows the id */
	free(ba);
	free(bd);
	free(a);
	free(b);
	free(d);
}

static void test_compose_rfc2047_subject(void **state)
{
	(void)state;
	mail_config c = test_config();
	mail_message m = test_message();
	m.subject = "Hoe was je contact met Jeroen — é";
	char *msg = compose(&c, &m, NULL);
	char *v = header_value(msg, "Subject");
	assert_memory_equal(v, "=?UTF-8?B?", 10);
	char *dec = ew_decode(v);
	assert_string_equal(dec, m.subject);
	free(dec);
	free(v);

	/* long enough for several words: each cut on a character boundary */
	const char *longer = "Herinnering: Hoe was je contact met Jeroen — één vraag over "
			     "‘Verhuizing doorgeven’ en de afspraak in Den Haag — ëïöü";
	m.subject = longer;
	free(msg);
	msg = compose(&c, &m, NULL);
	v = header_value(msg, "Subject");
	assert_non_null(strstr(v, "?=\r\n =?UTF-8?B?"));
	dec = ew_decode(v);
	assert_string_equal(dec, longer);
	free(dec);
	free(v);
	free(msg);

	/* every shift of 2-, 3- and 4-byte characters against the word size */
	for (int shift = 0; shift < 48; shift++) {
		char subj[256];
		snprintf(subj, sizeof subj, "%.*sé—😀é—😀é—😀é—😀é—😀é—😀é—😀", shift,
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		m.subject = subj;
		msg = compose(&c, &m, NULL);
		v = header_value(msg, "Subject");
		dec = ew_decode(v);
		assert_string_equal(dec, subj);
		free(dec);
		free(v);
		free(msg);
	}
}

static void test_compose_long_ascii_subject_folded(void **state)
{
	(void)state;
	mail_config c = test_config();
	mail_message m = test_message();
	m.subject = "Herinnering: Hoe was je contact met Annemarie over Verhuizing doorgeven aan de gemeente?";
	char *msg = compose(&c, &m, NULL);
	char *v = header_value(msg, "Subject");
	assert_non_null(strstr(v, "\r\n "));
	/* unfolding (RFC 5322 §2.2.3: remove the CRLF) gives the subject back */
	char *u = malloc(strlen(v) + 1);
	size_t o = 0;
	for (const char *p = v; *p; p++)
		if (*p != '\r' && *p != '\n')
			u[o++] = *p;
	u[o] = '\0';
	assert_string_equal(u, m.subject);
	free(u);
	free(v);
	free(msg);
}

static void test_compose_qp_parts_roundtrip(void **state)
{
	(void)state;
	mail_config c = test_config();
	mail_message m = test_message();
	char longline[400];
	snprintf(longline, sizeof longline, "%s",
		 "Dit is een heel lange regel zonder einde die zeker langer is dan zesenzeventig "
		 "tekens, met a=b en een é, zodat het coderen zacht moet afbreken en nog eens "
		 "afbreken, en nog een laatste keer voor de zekerheid.   ");
	char text[1024];
	snprintf(text, sizeof text, "Hallo Jan,\n\n%s\n.hidden line\ntab at end\t\n=3D stays\n"
		 "From here\r\nwindows line\n", longline);
	m.text = text;
	m.html = "<p style=\"color:#123\">Hallo &amp; welkom — één</p>\n<a href=\"http://x/s/T?nps=10\">10</a>";
	char *msg = compose(&c, &m, NULL);

	char *tp = part_body(msg, "text/plain");
	char *dec = qp_decode(tp, strlen(tp));
	char *want = crlf_normalise(text);
	assert_string_equal(dec, want);
	free(dec);
	free(want);
	assert_non_null(strstr(tp, "a=3Db"));
	assert_non_null(strstr(tp, "=\r\n"));  /* soft breaks */
	assert_non_null(strstr(tp, "=C3=A9"));
	assert_non_null(strstr(tp, "end=09\r\n"));
	free(tp);

	char *hp = part_body(msg, "text/html");
	dec = qp_decode(hp, strlen(hp));
	want = crlf_normalise(m.html);
	assert_string_equal(dec, want);
	free(dec);
	free(want);
	free(hp);
	free(msg);
}

static void test_qp_encoder(void **state)
{
	(void)state;
	struct { const char *in, *out; } cases[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "a=b", "a=3Db" },
		{ "abc \n", "abc=20\r\n" },
		{ "abc\t", "abc=09" },
		{ "a b c", "a b c" },
		{ "x\r\ny", "x\r\ny" },
		{ "x\ry", "x=0Dy" },
		{ "é", "=C3=A9" },
		{ "\x01\x7f", "=01=7F" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *e = qp(cases[i].in);
		assert_string_equal(e, cases[i].out);
		free(e);
	}

	/* exactly 76 characters fit on a line; 77 need a soft break */
	char line[80];
	memset(line, 'x', 76);
	line[76] = '\0';
	char *e = qp(line);
	assert_string_equal(e, line);
	free(e);
	line[76] = 'y';
	line[77] = '\0';
	e = qp(line);
	assert_int_equal(strlen(e), 75 + 3 + 2);
	assert_memory_equal(e + 75, "=\r\nxy", 5);
	free(e);

	/* an escape is never split by a soft break */
	memset(line, 'x', 74);
	line[74] = '=';
	line[75] = 'z';
	line[76] = '\0';
	e = qp(line);
	assert_memory_equal(e + 74, "=\r\n=3Dz", 7);
	free(e);
}

static void test_qp_fuzz_roundtrip(void **state)
{
	(void)state;
	static const char alphabet[] = "ab .=\t\n\r\xc3\xa9\x01\xff-x";
	unsigned seed = 12345;
	char s[400];
	for (int round = 0; round < 2000; round++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 8) % (sizeof s - 1);
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			s[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
		}
		s[n] = '\0';
		assert_qp_roundtrip(s);
	}
}

static void test_compose_text_only_and_id_domain(void **state)
{
	(void)state;
	mail_config c = test_config();
	mail_message m = test_message();
	m.html = NULL;
	m.list_unsubscribe_url = NULL;
	m.message_id = "inv-42.1";
	char *msg = compose(&c, &m, NULL);
	assert_header(msg, "Content-Type", "text/plain; charset=UTF-8");
	assert_header(msg, "Content-Transfer-Encoding", "quoted-printable");
	assert_header(msg, "Message-ID", "<inv-42.1@example.org>");
	assert_null(strstr(msg, "List-Unsubscribe"));
	assert_null(strstr(msg, "multipart"));
	assert_crlf_only(msg, strlen(msg));
	free(msg);
}

static void test_compose_from_forms(void **state)
{
	(void)state;
	mail_message m = test_message();
	mail_config c = test_config();
	snprintf(c.from, sizeof c.from, "noreply@example.org");
	char *msg = compose(&c, &m, NULL);
	assert_header(msg, "From", "<noreply@example.org>");
	free(msg);

	snprintf(c.from, sizeof c.from, "Gemeente Voorbeeld, Klantcontact <noreply@example.org>");
	msg = compose(&c, &m, NULL);
	assert_header(msg, "From", "\"Gemeente Voorbeeld, Klantcontact\" <noreply@example.org>");
	free(msg);

	snprintf(c.from, sizeof c.from, "Gemeente Súdwest-Fryslân <noreply@example.org>");
	msg = compose(&c, &m, NULL);
	char *v = header_value(msg, "From");
	assert_memory_equal(v, "=?UTF-8?B?", 10);
	char *addr = strstr(v, " <noreply@example.org>");
	assert_non_null(addr);
	*addr = '\0';
	char *dec = ew_decode(v);
	assert_string_equal(dec, "Gemeente Súdwest-Fryslân");
	free(dec);
	free(v);
	free(msg);
}

/* CR or LF in any header field is refused, naming the field. */
static void test_compose_rejects_header_injection(void **state)
{
	(void)state;
	mail_config c = test_config();
	struct { const char *field; mail_message m; } cases[5];
	for (int i = 0; i < 5; i++)
		cases[i].m = test_message();
	cases[0].field = "to";
	cases[0].m.to = "jan@example.nl\r\nBcc: all@example.org";
	cases[1].field = "subject";
	cases[1].m.subject = "Hallo\r\nBcc: all@example.org";
	cases[2].field = "message_id";
	cases[2].m.message_id = "a@b\nX-Evil: 1";
	cases[3].field = "list_unsubscribe_url";
	cases[3].m.list_unsubscribe_url = "http://x/u/1>\r\nX-Evil: 1";
	cases[4].field = "subject";
	cases[4].m.subject = "only a bare LF\n";
	for (int i = 0; i < 5; i++) {
		ks_error e;
		ks_error_clear(&e);
		assert_int_equal(mail_message_check(&c, &cases[i].m, &e), KS_ERR_INVALID);
		assert_string_equal(e.field, cases[i].field);
		ks_err rc;
		char *msg = compose(&c, &cases[i].m, &rc);
		assert_int_equal(rc, KS_ERR_INVALID);
		assert_null(msg);
	}
	snprintf(c.from, sizeof c.from, "Evil\r\nBcc: x@y.z <a@b.c>");
	mail_message m = test_message();
	ks_error e;
	assert_int_equal(mail_message_check(&c, &m, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "from");
}

static void test_compose_rejects_bad_values(void **state)
{
	(void)state;
	mail_config c = test_config();
	const char *bad_to[] = { "", "jan", "jan@@example.nl", "jan @example.nl", "@example.nl",
				 "jan@", "a@b@c.nl", "jan@.nl", "jan@example.nl.", "jan@exa..mple.nl",
				 "<jan@example.nl>", "Jan <jan@example.nl>", "jan,piet@example.nl",
				 "jän@example.nl", NULL };
	for (int i = 0; bad_to[i]; i++) {
		mail_message m = test_message();
		m.to = bad_to[i];
		ks_error e;
		assert_int_equal(mail_message_check(&c, &m, &e), KS_ERR_INVALID);
		assert_string_equal(e.field, "to");
	}
	struct { const char *field; mail_message m; } cases[6];
	for (int i = 0; i < 6; i++)
		cases[i].m = test_message();
	cases[0].field = "message_id";
	cases[0].m.message_id = "<a@b>";
	cases[1].field = "message_id";
	cases[1].m.message_id = "a b@c";
	cases[2].field = "list_unsubscribe_url";
	cases[2].m.list_unsubscribe_url = "javascript:alert(1)";
	cases[3].field = "subject";
	cases[3].m.subject = "bad \xc3 utf-8";
	cases[4].field = "text";
	cases[4].m.text = NULL;
	cases[5].field = "html";
	cases[5].m.html = "\xff";
	for (int i = 0; i < 6; i++) {
		ks_error e;
		assert_int_equal(mail_message_check(&c, &cases[i].m, &e), KS_ERR_INVALID);
		assert_string_equal(e.field, cases[i].field);
	}
	mail_message m = test_message();
	assert_int_equal(mail_message_check(&c, &m, NULL), KS_OK);
	ks_buf b;
	buf_init(&b, 100);  /* too small */
	assert_int_equal(mail_compose(&c, &m, DATE_2025_07_01, &b), KS_ERR_TOOBIG);
	buf_free(&b);
}

/* ---- the SMTP sink ----------------------------------------------------------- */

static const char sink_py[] =
	"import itertools, os\n"
	"\n"
	"class Sink:\n"
	"    def __init__(self, directory):\n"
	"        self.dir = directory\n"
	"        self.seq = itertools.count()\n"
	"\n"
	"    @classmethod\n"
	"    def from_cli(cls, parser, *args):\n"
	"        if len(args) != 1:\n"
	"            parser.error('ks_sink.Sink needs a directory')\n"
	"        return cls(args[0])\n"
	"\n"
	"    async def handle_RCPT(self, server, session, envelope, address, options):\n"
	"        local = address.split('@', 1)[0].lower()\n"
	"        if local.startswith('temp'):\n"
	"            return '451 4.3.0 Mailbox busy, try again later'\n"
	"        if local.startswith('perm'):\n"
	"            return '550 5.1.1 No such user'\n"
	"        envelope.rcpt_tos.append(address)\n"
	"        return '250 OK'\n"
	"\n"
	"    async def handle_DATA(self, server, session, envelope):\n"
	"        n = next(self.seq)\n"
	"        tmp = os.path.join(self.dir, '.msg-%d.tmp' % n)\n"
	"        with open(tmp, 'wb') as f:\n"
	"            f.write(envelope.original_content)\n"
	"        os.rename(tmp, os.path.join(self.dir, 'msg-%d.eml' % n))\n"
	"        return '250 2.0.0 Queued'\n";

typedef struct sink {
	bool started;
	pid_t pid;
	int port;
	char dir[64];
	char inbox[128];
	int seen;   /* messages read so far: msg-0.eml, msg-1.eml, ... */
} sink;

static sink the_sink;

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_listening(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(s, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void sink_exec(const sink *s)
{
	char listen[32], pypath[128], log[128];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
	snprintf(pypath, sizeof pypath, "PYTHONPATH=%s", s->dir);
	snprintf(log, sizeof log, "%s/sink.log", s->dir);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	char *const argv[] = { "python3", "-m", "aiosmtpd", "-n", "-l", listen,
			       "-c", "ks_sink.Sink", (char *)s->inbox, NULL };
	char *const envp[] = { pypath, "PYTHONDONTWRITEBYTECODE=1", "PATH=/usr/bin:/bin", NULL };
	execve("/usr/bin/python3", argv, envp);
	_exit(127);
}

/* Start aiosmtpd once and wait (up to 20 s) until it accepts connections. */
static void sink_ensure(void)
{
	sink *s = &the_sink;
	if (s->started)
		return;
	snprintf(s->dir, sizeof s->dir, "/tmp/ks-mail-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->inbox, sizeof s->inbox, "%.63s/inbox", s->dir);
	assert_int_equal(mkdir(s->inbox, 0700), 0);
	char path[256];
	snprintf(path, sizeof path, "%.63s/ks_sink.py", s->dir);
	write_file(path, sink_py);
	s->port = free_port();
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0)
		sink_exec(s);
	s->started = true;
	for (int i = 0; i < 400; i++) {
		if (port_listening(s->port))
			return;
		int status;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			fail_msg("aiosmtpd exited before listening; see %s/sink.log", s->dir);
		}
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	fail_msg("aiosmtpd did not listen on port %d within 20 s", s->port);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char p[512];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			remove_dir(p);
		else
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void sink_stop(void)
{
	sink *s = &the_sink;
	if (!s->started)
		return;
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		int status;
		for (int i = 0; i < 100 && waitpid(s->pid, &status, WNOHANG) == 0; i++) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		if (waitpid(s->pid, &status, WNOHANG) == 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
		}
	}
	remove_dir(s->dir);
	memset(s, 0, sizeof *s);
}

/* The next stored message (caller frees), or NULL if there is none. */
static char *sink_next_message(size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/msg-%d.eml", the_sink.inbox, the_sink.seen);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	the_sink.seen++;
	ks_buf b;
	buf_init(&b, 1 << 20);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		assert_int_equal(buf_append(&b, chunk, n), KS_OK);
	fclose(f);
	*len = b.len;
	return b.len ? buf_steal(&b, len) : calloc(1, 1);
}

static mail_config sink_config(void)
{
	mail_config c = test_config();
	snprintf(c.url, sizeof c.url, "smtp://127.0.0.1:%d", the_sink.port);
	return c;
}

static mail_outcome send_to(const mail_config *c, const char *to, char *detail, size_t n)
{
	mail_message m = test_message();
	m.to = to;
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(mail_compose(c, &m, DATE_2025_07_01, &b), KS_OK);
	mail_outcome out = MAIL_SENT;
	assert_int_equal(mail_send(c, to, &b, &out, detail, n), KS_OK);
	buf_free(&b);
	return out;
}

/* ---- send ------------------------------------------------------------------ */

static void test_send_delivers(void **state)
{
	(void)state;
	sink_ensure();
	mail_config c = sink_config();
	mail_message m = test_message();
	m.to = "jan@example.nl";
	m.message_id = "inv-7.1@klantstem.example.org";
	/* a line starting with '.' must survive SMTP dot-stuffing (RFC 5321 §4.5.2) */
	m.text = "Hallo Jan,\n.\n.hidden line\n\nHoe was het? é\n";
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(mail_compose(&c, &m, DATE_2025_07_01, &b), KS_OK);
	mail_outcome out = MAIL_TEMPFAIL;
	char detail[256];
	assert_int_equal(mail_send(&c, m.to, &b, &out, detail, sizeof detail), KS_OK);
	assert_int_equal(out, MAIL_SENT);
	assert_string_equal(detail, "sent: server replied 250");

	size_t len = 0;
	char *got = sink_next_message(&len);
	assert_non_null(got);
	assert_non_null(strstr(got, "\r\nMessage-ID: <inv-7.1@klantstem.example.org>\r\n"));
	assert_int_equal(len, b.len);
	assert_memory_equal(got, b.data, b.len);  /* byte for byte */
	free(got);
	buf_free(&b);
}

static void test_send_tempfail_451(void **state)
{
	(void)state;
	sink_ensure();
	mail_config c = sink_config();
	char detail[256];
	assert_int_equal(send_to(&c, "temp-busy@example.nl", detail, sizeof detail), MAIL_TEMPFAIL);
	assert_non_null(strstr(detail, "451"));
	size_t len;
	assert_null(sink_next_message(&len));
}

static void test_send_permfail_550(void **state)
{
	(void)state;
	sink_ensure();
	mail_config c = sink_config();
	char detail[256];
	assert_int_equal(send_to(&c, "perm-gone@example.nl", detail, sizeof detail), MAIL_PERMFAIL);
	assert_non_null(strstr(detail, "550"));
	size_t len;
	assert_null(sink_next_message(&len));
}

static void test_send_connection_refused(void **state)
{
	(void)state;
	mail_config c = test_config();
	snprintf(c.url, sizeof c.url, "smtp://127.0.0.1:%d", free_port());
	char detail[256];
	assert_int_equal(send_to(&c, "jan@example.nl", detail, sizeof detail), MAIL_TEMPFAIL);
	assert_non_null(strstr(detail, "tempfail"));
}

static void test_send_tls_required_but_not_offered(void **state)
{
	(void)state;
	sink_ensure();
	mail_config c = sink_config();
	c.require_tls = true;  /* aiosmtpd here offers no STARTTLS */
	char detail[256];
	assert_int_equal(send_to(&c, "jan@example.nl", detail, sizeof detail), MAIL_TEMPFAIL);
	size_t len;
	assert_null(sink_next_message(&len));
}

static void test_send_argument_errors(void **state)
{
	(void)state;
	mail_config c = test_config();
	ks_buf b;
	buf_init(&b, 1024);
	assert_int_equal(buf_puts(&b, "Subject: x\r\n\r\nx\r\n"), KS_OK);
	mail_outcome out = MAIL_SENT;
	char detail[128];
	/* an unusable recipient is a permanent failure, decided before any I/O */
	assert_int_equal(mail_send(&c, "not an address", &b, &out, detail, sizeof detail), KS_OK);
	assert_int_equal(out, MAIL_PERMFAIL);
	assert_int_equal(mail_send(&c, "a@b.nl\r\nRCPT TO:<x@y.nl>", &b, &out, NULL, 0), KS_OK);
	assert_int_equal(out, MAIL_PERMFAIL);
	/* configuration and programming errors */
	snprintf(c.url, sizeof c.url, "http://127.0.0.1:1");
	out = MAIL_PERMFAIL;
	assert_int_equal(mail_send(&c, "a@b.nl", &b, &out, detail, sizeof detail), KS_ERR_INVALID);
	assert_non_null(strstr(detail, "smtp://"));
	assert_int_equal(out, MAIL_TEMPFAIL);
	c = test_config();
	snprintf(c.from, sizeof c.from, "Klantstem");
	assert_int_equal(mail_send(&c, "a@b.nl", &b, &out, detail, sizeof detail), KS_ERR_INVALID);
	c = test_config();
	assert_int_equal(mail_send(&c, "a@b.nl", NULL, &out, detail, sizeof detail), KS_ERR_INVALID);
	assert_int_equal(mail_send(&c, "a@b.nl", &b, NULL, detail, sizeof detail), KS_ERR_INVALID);
	buf_free(&b);
	assert_string_equal(mail_outcome_name(MAIL_SENT), "sent");
	assert_string_equal(mail_outcome_name(MAIL_TEMPFAIL), "tempfail");
	assert_string_equal(mail_outcome_name(MAIL_PERMFAIL), "permfail");
}

/* ---- main ---------------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return mail_global_init() == KS_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	sink_stop();
	mail_global_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compose_headers),
		cmocka_unit_test(test_compose_is_deterministic),
		cmocka_unit_test(test_compose_rfc2047_subject),
		cmocka_unit_test(test_compose_long_ascii_subject_folded),
		cmocka_unit_test(test_compose_qp_parts_roundtrip),
		cmocka_unit_test(test_qp_encoder),
		cmocka_unit_test(test_qp_fuzz_roundtrip),
		cmocka_unit_test(test_compose_text_only_and_id_domain),
		cmocka_unit_test(test_compose_from_forms),
		cmocka_unit_test(test_compose_rejects_header_injection),
		cmocka_unit_test(test_compose_rejects_bad_values),
		cmocka_unit_test(test_send_delivers),
		cmocka_unit_test(test_send_tempfail_451),
		cmocka_unit_test(test_send_permfail_550),
		cmocka_unit_test(test_send_connection_refused),
		cmocka_unit_test(test_send_tls_required_but_not_offered),
		cmocka_unit_test(test_send_argument_errors),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
