/* fuzz_mail.c — mail composition: mail_message_check / mail_compose
 * (src/mail/mail.c) on every field, mail_qp_encode, and the texts that go
 * into mails: invite_message_build (src/invite/message.c) and
 * cases_mail_build (src/cases/notify.c), each then composed as the
 * scheduler does.
 *
 * Input: byte 0 picks the mode (0 compose, 1 quoted-printable, 2
 * invitation, 3 case mail); the rest is fields separated by 0x1f (unit
 * separator): for compose to, subject, text, html ("-" = none),
 * message_id, list_unsubscribe_url ("" = none), from; for an invitation
 * lang, base_url, token, unsubscribe_token, customer, employee,
 * touchpoint, nps_question, org (bit 7 of byte 0: reminder); for a case
 * mail kind, lang, reason, customer, team, owner, open_text, message, org.
 * Oracles: mail_compose succeeds exactly when mail_message_check does; a
 * message is 7-bit, CRLF only, lines at most 998 octets, its text part is
 * mail_qp_encode of the text, a multipart boundary occurs only as the
 * three delimiters, the Subject's encoded words are each whole UTF-8 and
 * decode to the subject; quoted-printable decodes back to its input with
 * CRLF line ends, in lines of at most 76 characters with no white space
 * before a line end; invitation and case texts of valid UTF-8 input
 * compose without error and add no markup of their input to the HTML.
 */
#define _GNU_SOURCE /* memmem: the harness's own code is instrumented too */
#include <string.h>

#include "cases/notify.h"
#include "fuzz_util.h"
#include "invite/message.h"
#include "mail/mail.h"

#define FZ_SEP '\x1f'

static const mail_config fz_cfg = {.url = "smtp://127.0.0.1:25", .from = "Klantstem <noreply@example.org>"};

/* ---- quoted-printable -------------------------------------------------------- */

static int fz_hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void fz_qp_check(const char *s)
{
	ks_buf enc, want, got;
	buf_init(&enc, 64u << 20);
	buf_init(&want, 64u << 20);
	buf_init(&got, 64u << 20);
	if (mail_qp_encode(&enc, s) != KS_OK)
		fz_fail("mail_qp_encode failed");
	/* The input with '\n' and "\r\n" as CRLF. */
	for (const char *p = s; *p; p++) {
		if (*p == '\n' && (p == s || p[-1] != '\r'))
			buf_append(&want, "\r", 1);
		buf_append(&want, p, 1);
	}
	size_t col = 0;
	for (size_t i = 0; i < enc.len; i++) {
		unsigned char c = (unsigned char)enc.data[i];
		if (c == '\r') {
			if (i + 1 >= enc.len || enc.data[i + 1] != '\n')
				fz_fail("bare CR in quoted-printable");
			if (i > 0 && (enc.data[i - 1] == ' ' || enc.data[i - 1] == '\t'))
				fz_fail("white space before a line end");
			buf_append(&got, "\r\n", 2);
			i++;
			col = 0;
			continue;
		}
		if (c == '\n')
			fz_fail("bare LF in quoted-printable");
		if (++col > 76)
			fz_fail("quoted-printable line longer than 76");
		if (c < 33 && c != ' ' && c != '\t')
			fz_fail("control byte 0x%02x in quoted-printable", c);
		if (c > 126)
			fz_fail("8-bit byte in quoted-printable");
		if (c != '=') {
			buf_append(&got, (const char *)&c, 1);
			continue;
		}
		if (i + 2 < enc.len && enc.data[i + 1] == '\r' && enc.data[i + 2] == '\n') {
			i += 2; /* soft line break */
			col = 0;
			continue;
		}
		if (i + 2 >= enc.len || fz_hexval(enc.data[i + 1]) < 0 || fz_hexval(enc.data[i + 2]) < 0)
			fz_fail("bad = escape in quoted-printable");
		char ch = (char)(fz_hexval(enc.data[i + 1]) * 16 + fz_hexval(enc.data[i + 2]));
		buf_append(&got, &ch, 1);
		i += 2;
		col += 2;
		if (col > 76)
			fz_fail("quoted-printable line longer than 76");
	}
	if (got.len != want.len || (got.len && memcmp(got.data, want.data, got.len) != 0))
		fz_fail("quoted-printable does not decode to its input");
	buf_free(&enc);
	buf_free(&want);
	buf_free(&got);
}

/* ---- a composed message -------------------------------------------------------- */

static int fz_b64val(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26
	       : c >= '0' && c <= '9' ? c - '0' + 52 : c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 text[0..n) onto out; false when it is not base64. */
static bool fz_b64(const char *t, size_t n, ks_buf *out)
{
	if (n % 4)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++)
			v[k] = t[i + k] == '=' ? 0 : fz_b64val(t[i + k]);
		if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0)
			return false;
		unsigned x = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		char b[3] = {(char)(x >> 16), (char)(x >> 8), (char)x};
		size_t keep = t[i + 2] == '=' ? 1 : t[i + 3] == '=' ? 2 : 3;
		buf_append(out, b, keep);
	}
	return true;
}

static const char *fz_memmem(const char *h, size_t hn, const char *n, size_t nn)
{
	return nn == 0 ? h : memmem(h, hn, n, nn);
}

/* Where the headers end (the blank line), or n. */
static size_t hlen_guess(const char *d, size_t n)
{
	const char *h = fz_memmem(d, n, "\r\n\r\n", 4);
	return h ? (size_t)(h - d) : n;
}

static void fz_message_check(const mail_message *m, const ks_buf *msg)
{
	const char *d = msg->data;
	size_t n = msg->len, col = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '\r' && i + 1 < n && d[i + 1] == '\n') {
			i++;
			col = 0;
			continue;
		}
		if (c == '\r' || c == '\n')
			fz_fail("bare CR or LF at %zu", i);
		if (c == 0 || c > 126 || (i < hlen_guess(d, n) && c < 32 && c != '\t'))
			fz_fail("byte 0x%02x at %zu: not 7-bit printable", c, i);
		if (++col > 998)
			fz_fail("a line longer than 998 octets");
	}
	const char *hend = fz_memmem(d, n, "\r\n\r\n", 4);
	if (hend == NULL)
		fz_fail("no end of headers");
	size_t hlen = (size_t)(hend - d) + 2;
	/* The text part, exactly as mail_qp_encode writes it. */
	ks_buf qp;
	buf_init(&qp, 64u << 20);
	mail_qp_encode(&qp, m->text);
	if (fz_memmem(d + hlen, n - hlen, qp.data ? qp.data : "", qp.len) == NULL)
		fz_fail("text part is not the quoted-printable text");
	buf_free(&qp);
	/* Subject: unfold, then the encoded words or the plain text. */
	const char *sj = fz_memmem(d, hlen, "\r\nSubject: ", 11);
	if (sj == NULL && strncmp(d, "Subject: ", 9) != 0)
		fz_fail("no Subject header");
	sj = sj ? sj + 11 : d + 9;
	ks_buf val, dec;
	buf_init(&val, 1u << 20);
	buf_init(&dec, 1u << 20);
	for (const char *p = sj; p < d + hlen; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			if (p[2] != ' ' && p[2] != '\t')
				break;
			p += 1; /* CRLF before a space: a fold */
			continue;
		}
		buf_append(&val, p, 1);
	}
	buf_append(&val, "", 1);
	if (strstr(val.data, "=?UTF-8?B?")) {
		for (const char *w = strstr(val.data, "=?UTF-8?B?"); w; w = strstr(w, "=?UTF-8?B?")) {
			w += 10;
			const char *e = strstr(w, "?=");
			if (e == NULL)
				fz_fail("unterminated encoded word");
			size_t before = dec.len;
			if (!fz_b64(w, (size_t)(e - w), &dec))
				fz_fail("encoded word is not base64");
			if (!fz_utf8_ok((const unsigned char *)dec.data + before, dec.len - before))
				fz_fail("an encoded word splits a UTF-8 character");
			w = e + 2;
		}
		if (dec.len != strlen(m->subject) || memcmp(dec.data, m->subject, dec.len) != 0)
			fz_fail("encoded subject does not decode to the subject");
	} else if (strstr(val.data, "=?")) {
		fz_fail("plain Subject %.100s reads as an encoded word", val.data);
	} else if (strcmp(val.data, m->subject) != 0) {
		fz_fail("Subject header %.100s is not the subject %.100s", val.data, m->subject);
	}
	buf_free(&val);
	buf_free(&dec);
	/* A multipart boundary appears only as its three delimiters. */
	static const char mp[] = "\r\nContent-Type: multipart/alternative;\r\n boundary=\"";
	const char *b = fz_memmem(d, hlen, mp, sizeof mp - 1);
	if (m->html && b == NULL)
		fz_fail("html without a multipart boundary");
	if (b) {
		b += sizeof mp - 1;
		const char *be = memchr(b, '"', hlen - (size_t)(b - d));
		if (be == NULL)
			fz_fail("unterminated boundary");
		int k = 0;
		for (const char *p = d + hlen; (p = fz_memmem(p, n - (size_t)(p - d), b, (size_t)(be - b)));
		     p += be - b)
			k++;
		if (k != 3)
			fz_fail("boundary occurs %d times in the body", k);
	}
}

/* Compose m; the oracle that check and compose agree, and on success the
 * message checks. Returns the result of compose. */
static ks_err fz_compose(const mail_config *cfg, const mail_message *m)
{
	ks_error e;
	ks_err chk = mail_message_check(cfg, m, &e);
	ks_buf msg;
	buf_init(&msg, 64u << 20);
	ks_err err = mail_compose(cfg, m, 1793491200, &msg);
	if ((chk == KS_OK) != (err == KS_OK))
		fz_fail("mail_message_check says %d, mail_compose %d", (int)chk, (int)err);
	if (err == KS_OK)
		fz_message_check(m, &msg);
	else if (chk != KS_ERR_INVALID || e.field[0] == '\0')
		fz_fail("mail_message_check: %d without a field", (int)chk);
	buf_free(&msg);
	return err;
}

/* ---- invitation and case texts ----------------------------------------------------- */

static bool fz_all_utf8(char **f, int n)
{
	for (int i = 0; i < n; i++)
		if (!fz_utf8_ok((const unsigned char *)f[i], strlen(f[i])))
			return false;
	return true;
}

static size_t fz_count_lt(const ks_buf *b)
{
	size_t k = 0;
	for (size_t i = 0; i < b->len; i++)
		k += b->data[i] == '<';
	return k;
}

static void fz_invite(char **f, bool reminder)
{
	if (!fz_all_utf8(f, 9))
		return; /* names come from the database as UTF-8 (jansson checks) */
	invite_message_input in = {.lang = f[0], .base_url = f[1], .token = f[2], .unsubscribe_token = f[3],
				   .customer_name = f[4], .employee_first_name = f[5],
				   .touchpoint_name = f[6], .nps_question = f[7], .org_name = f[8],
				   .reminder = reminder};
	ks_buf subject, text, html;
	buf_init(&subject, 1u << 20);
	buf_init(&text, 1u << 20);
	buf_init(&html, 1u << 20);
	ks_err err = invite_message_build(&in, &subject, &text, &html);
	if (err != KS_OK && err != KS_ERR_INVALID)
		fz_fail("invite_message_build returned %d", (int)err);
	if (err == KS_OK) {
		buf_append(&subject, "", 1);
		buf_append(&text, "", 1);
		buf_append(&html, "", 1);
		/* The same texts with plain names: the HTML's markup is its own. */
		invite_message_input plain = in;
		plain.customer_name = *f[4] ? "x" : "";
		plain.employee_first_name = *f[5] ? "x" : "";
		plain.touchpoint_name = *f[6] ? "x" : "";
		plain.nps_question = *f[7] ? "x" : "";
		plain.org_name = "x";
		ks_buf s2, t2, h2;
		buf_init(&s2, 1u << 20);
		buf_init(&t2, 1u << 20);
		buf_init(&h2, 1u << 20);
		if (invite_message_build(&plain, &s2, &t2, &h2) != KS_OK)
			fz_fail("invite_message_build refuses plain names");
		if (fz_count_lt(&html) != fz_count_lt(&h2))
			fz_fail("a name added markup to the invitation's HTML");
		buf_free(&s2);
		buf_free(&t2);
		buf_free(&h2);
		char url[512];
		invite_message_urls(in.base_url, in.unsubscribe_token, in.unsubscribe_token, NULL, 0, url,
				    sizeof url);
		mail_message m = {.to = "klant@example.org", .subject = subject.data, .text = text.data,
				  .html = html.data, .message_id = "inv-1", .list_unsubscribe_url = url};
		ks_error e;
		if (mail_message_check(&fz_cfg, &m, &e) != KS_OK)
			fz_fail("the invitation cannot be sent: %s (%s)", e.message, e.field);
		fz_compose(&fz_cfg, &m);
	}
	buf_free(&subject);
	buf_free(&text);
	buf_free(&html);
}

static bool fz_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static void fz_case_mail(char **f, int64_t case_id)
{
	if (!fz_all_utf8(f, 9))
		return;
	/* The subject holds the reason (written by the product from the rule:
	 * "NPS 3 (at most 6)") or the organisation's name (--org-name): never
	 * a line break, unlike the names and texts that users type. */
	if (fz_has_control(f[2]) || fz_has_control(f[8]))
		return;
	cases_mail_input in = {.kind = f[0], .lang = f[1], .case_id = case_id, .reason = f[2],
			       .customer_name = f[3], .team_name = *f[4] ? f[4] : NULL,
			       .owner_name = *f[5] ? f[5] : NULL, .deadline = case_id * 3600,
			       .open_text = *f[6] ? f[6] : NULL, .customer_message = f[7],
			       .base_url = "https://feedback.example.org", .org_name = f[8]};
	ks_buf subject, text;
	buf_init(&subject, 1u << 20);
	buf_init(&text, 1u << 20);
	ks_err err = cases_mail_build(&in, &subject, &text);
	if (err != KS_OK && err != KS_ERR_INVALID)
		fz_fail("cases_mail_build returned %d", (int)err);
	if (err == KS_OK) {
		buf_append(&subject, "", 1);
		buf_append(&text, "", 1);
		mail_message m = {.to = "klant@example.org", .subject = subject.data, .text = text.data,
				  .message_id = "case-1"};
		ks_error e;
		if (mail_message_check(&fz_cfg, &m, &e) != KS_OK)
			fz_fail("the case mail cannot be sent: %s (%s): subject %.200s", e.message, e.field,
				subject.data);
		fz_compose(&fz_cfg, &m);
	}
	buf_free(&subject);
	buf_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode = fz_byte(&data, &size);
	char *s = fz_cstr(data, size);
	char *p = s;
	char *f[9];
	for (int i = 0; i < 9; i++)
		f[i] = fz_field(&p, FZ_SEP);
	switch (mode & 3) {
	case 0: {
		mail_config cfg = fz_cfg;
		if (*f[6])
			snprintf(cfg.from, sizeof cfg.from, "%s", f[6]);
		mail_message m = {.to = *f[0] ? f[0] : "klant@example.org", .subject = f[1], .text = f[2],
				  .html = strcmp(f[3], "-") == 0 ? NULL : f[3],
				  .message_id = *f[4] ? f[4] : "msg-1",
				  .list_unsubscribe_url = *f[5] ? f[5] : NULL};
		fz_compose(&cfg, &m);
		break;
	}
	case 1:
		fz_qp_check(s);
		break;
	case 2:
		fz_invite(f, (mode & 0x80) != 0);
		break;
	default:
		fz_case_mail(f, (int64_t)(mode >> 2));
		break;
	}
	free(s);
	return 0;
}
