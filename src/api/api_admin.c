/* api_admin.c — administration (issue 13): a password reset link mailed by
 * an admin, setting a new password with it, and a test mail through the
 * configured SMTP server. docs/API.md "Administration".
 *
 * The reset link holds no row of its own: it is
 *   USER_ID "." EXPIRES "." MAC
 * where MAC is BLAKE2b-256 (hex) of "ks-reset:v1:USER_ID:EXPIRES" keyed
 * with a hash of the account's current password hash. So the link
 *   - cannot be made without reading the database (the password hash and
 *     its random salt are never returned by any endpoint);
 *   - works once: setting the password changes the hash, and with it the
 *     key, so the same link no longer verifies (a password change of the
 *     person's own kills it too);
 *   - carries its own expiry (RESET_TTL), covered by the MAC.
 * The mail is sent while the admin waits (this route runs on the slow
 * pool), so the admin learns at once whether the SMTP server took it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "core/buf.h"
#include "mail/mail.h"

#define RESET_TTL (24 * 3600)       /* a reset link lives 24 hours */
#define RESET_MAC_HEX 64
#define RESET_TOKEN_MAX 96          /* "ID.EXPIRES.MAC" with room to spare */

/* The MAC of a reset link for (user_id, expires), keyed by the password
 * hash the account has now. out: RESET_MAC_HEX + 1 bytes. */
static void admin_reset_mac(const char *pw_hash, int64_t user_id, int64_t expires,
			    char out[RESET_MAC_HEX + 1])
{
	unsigned char key[crypto_generichash_KEYBYTES];
	crypto_generichash(key, sizeof key, (const unsigned char *)pw_hash, strlen(pw_hash), NULL, 0);
	char msg[80];
	int n = snprintf(msg, sizeof msg, "ks-reset:v1:%" PRId64 ":%" PRId64, user_id, expires);
	unsigned char mac[32];
	crypto_generichash(mac, sizeof mac, (const unsigned char *)msg, (size_t)n, key, sizeof key);
	sodium_bin2hex(out, RESET_MAC_HEX + 1, mac, sizeof mac);
	sodium_memzero(key, sizeof key);
}

/* Split "ID.EXPIRES.MAC"; false when it is not of that form. */
static bool admin_reset_parse(const char *tok, int64_t *user_id, int64_t *expires, const char **mac)
{
	if (strlen(tok) > RESET_TOKEN_MAX)
		return false;
	char *end = NULL;
	long long id = strtoll(tok, &end, 10);
	if (end == tok || *end != '.' || id <= 0)
		return false;
	const char *p = end + 1;
	long long exp = strtoll(p, &end, 10);
	if (end == p || *end != '.' || exp <= 0)
		return false;
	*mac = end + 1;
	if (strlen(*mac) != RESET_MAC_HEX)
		return false;
	*user_id = id;
	*expires = exp;
	return true;
}

/* Is mail configured? The reset and the test need it. */
static ks_err admin_mail_ready(const api_app *app, ks_error *e)
{
	if (app->invite == NULL || !app->invite->mail_enabled)
		return ks_fail(e, KS_ERR_UNAVAILABLE, "smtp",
			       "no mail server is configured (serve --smtp): nothing can be sent");
	return KS_OK;
}

/* Compose and send one text mail now. *sent tells whether the SMTP server
 * accepted it; detail says what it answered. */
static ks_err admin_mail_send(const api_app *app, const char *to, const char *subject, const char *text,
			      const char *message_id, bool *sent, char *detail, size_t detail_n,
			      ks_error *e)
{
	const mail_config *mc = &app->invite->mail;
	mail_message m = {.to = to, .subject = subject, .text = text, .message_id = message_id};
	ks_buf msg;
	buf_init(&msg, 64 * 1024);
	ks_err err = mail_message_check(mc, &m, e);
	if (!err)
		err = mail_compose(mc, &m, clock_now(app->clock), &msg);
	mail_outcome outcome = MAIL_PERMFAIL;
	if (!err)
		err = mail_send(mc, to, &msg, &outcome, detail, detail_n);
	buf_free(&msg);
	if (err)
		return err;
	*sent = outcome == MAIL_SENT;
	return KS_OK;
}

/* The organisation's name for a mail: the one set in /settings, else the
 * one of `serve --org-name`, else "Klantstem". */
static void admin_org_name(const api_app *app, char *out, size_t n)
{
	store_voice v;
	memset(&v, 0, sizeof v);
	ks_error e;
	bool have = store_voice_get(app->store, &v, false, &e) == KS_OK;
	if (have && v.organisation_name[0])
		snprintf(out, n, "%s", v.organisation_name);
	else
		snprintf(out, n, "%s", app->invite->org_name[0] ? app->invite->org_name : "Klantstem");
	if (have)
		store_voice_free(&v);
}

/* The reset mail's text in the account's language. */
static void admin_reset_text(const store_user *u, const char *link, const char *org, char *subject,
			     size_t sn, char *text, size_t tn)
{
	if (strcmp(u->language, "en") == 0) {
		snprintf(subject, sn, "Set a new password for %s", org);
		snprintf(text, tn,
			 "Hello %s,\n\nAn administrator of %s asked for a new password for your account "
			 "(%s). Choose one here:\n\n  %s\n\nThe link works once and for 24 hours. Setting "
			 "the password ends every session and revokes every API token of your account.\n"
			 "Did you not expect this mail? Then ignore it: your password stays as it is.\n",
			 u->name, org, u->email, link);
	} else {
		snprintf(subject, sn, "Nieuw wachtwoord voor %s", org);
		snprintf(text, tn,
			 "Hallo %s,\n\nEen beheerder van %s heeft een nieuw wachtwoord voor je account "
			 "(%s) aangevraagd. Kies het hier:\n\n  %s\n\nDe link werkt een keer en 24 uur lang. "
			 "Een nieuw wachtwoord beëindigt alle sessies en trekt alle API-tokens van je "
			 "account in.\nVerwachtte je deze mail niet? Negeer hem dan: je wachtwoord blijft "
			 "zoals het is.\n",
			 u->name, org, u->email, link);
	}
}

/* POST /users/{id}/password-reset (admin): mail the account a link to set
 * a new password. 200 {"id","email","sent","expires_at"}; 503 field smtp
 * without a mail server or when it refused. */
ks_err api_admin_reset_send(http_req *req, ks_error *e);
ks_err api_admin_reset_send(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	store_user u;
	char hash[AUTH_PW_STR] = "";
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_user_get(app->store, id, &u, hash, sizeof hash, e);
	if (err == KS_ERR_NOTFOUND || (!err && u.deleted))
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such user");
	if (!err && u.disabled)
		err = ks_fail(e, KS_ERR_CONFLICT, "active", "the account is disabled: enable it first");
	if (!err)
		err = admin_mail_ready(app, e);
	if (err)
		return err;
	int64_t expires = clock_now(app->clock) + RESET_TTL;
	char mac[RESET_MAC_HEX + 1], link[512], subject[256], text[2048], mid[96], detail[256] = "";
	admin_reset_mac(hash, u.id, expires, mac);
	sodium_memzero(hash, sizeof hash);
	snprintf(link, sizeof link, "%s/#/reset/%" PRId64 ".%" PRId64 ".%s", app->base_url ? app->base_url : "",
		 u.id, expires, mac);
	char org[128];
	admin_org_name(app, org, sizeof org);
	admin_reset_text(&u, link, org, subject, sizeof subject, text, sizeof text);
	snprintf(mid, sizeof mid, "reset-%" PRId64 "-%" PRId64, u.id, expires);
	bool sent = false;
	err = admin_mail_send(app, u.email, subject, text, mid, &sent, detail, sizeof detail, e);
	sodium_memzero(link, sizeof link);
	sodium_memzero(text, sizeof text);
	if (err)
		return err;
	if (!sent)
		return ks_fail(e, KS_ERR_UNAVAILABLE, "smtp", "the mail server did not take the mail: %.180s",
			       detail);
	api_audit(req, "auth.reset_sent", "user", u.id, NULL);
	char when[32];
	clock_format_iso(expires, when, sizeof when);
	http_reply_json(req, 200, json_pack("{s:I, s:s, s:b, s:s}", "id", (json_int_t)u.id, "email", u.email,
					    "sent", 1, "expires_at", when));
	return KS_OK;
}

/* POST /auth/reset (public) {"token","new_password"}: set the password
 * with a mailed link. 410 field token when it expired; 422 field token
 * when it is not a link of this server or was used already. Ends every
 * session and revokes every token, like a password change. */
ks_err api_admin_reset_use(http_req *req, ks_error *e);
ks_err api_admin_reset_use(http_req *req, ks_error *e)
{
	static const char *const fields[] = {"token", "new_password", NULL};
	api_app *app = req->app;
	json_t *o = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, fields, "", e);
	const char *tok = NULL, *next = NULL;
	if (!err) {
		tok = json_string_value(json_object_get(o, "token"));
		next = json_string_value(json_object_get(o, "new_password"));
		if (tok == NULL)
			err = ks_fail(e, KS_ERR_INVALID, "token", "token is required (a string)");
		else if (next == NULL)
			err = ks_fail(e, KS_ERR_INVALID, "new_password", "new_password is required (a string)");
	}
	if (!err)
		err = auth_password_check(next, "new_password", e);
	int64_t id = 0, expires = 0;
	const char *mac = NULL;
	if (!err && !admin_reset_parse(tok, &id, &expires, &mac))
		err = ks_fail(e, KS_ERR_INVALID, "token", "not a valid reset link");
	if (!err && expires <= clock_now(app->clock))
		err = ks_fail(e, KS_ERR_GONE, "token", "the reset link has expired: ask for a new one");
	store_user u;
	char hash[AUTH_PW_STR] = "";
	if (!err) {
		err = store_user_get(app->store, id, &u, hash, sizeof hash, e);
		if (err == KS_ERR_NOTFOUND || (!err && (u.deleted || u.disabled || !hash[0])))
			err = KS_ERR_INVALID;
		char want[RESET_MAC_HEX + 1];
		if (!err) {
			admin_reset_mac(hash, id, expires, want);
			if (sodium_memcmp(want, mac, RESET_MAC_HEX) != 0)
				err = KS_ERR_INVALID;
		}
		sodium_memzero(hash, sizeof hash);
		if (err == KS_ERR_INVALID)
			err = ks_fail(e, KS_ERR_INVALID, "token",
				      "the reset link is not valid (it works once): ask for a new one");
	}
	char fresh[AUTH_PW_STR];
	if (!err)
		err = auth_password_hash(app->auth, next, fresh, e);
	json_decref(o);
	int sessions = 0, tokens = 0;
	if (!err)
		err = store_user_set_password(app->store, id, fresh, NULL, NULL, 0, &sessions, &tokens, e);
	if (err)
		return err;
	api_audit(req, "auth.reset_used", "user", id, NULL);
	http_reply_json(req, 200, json_pack("{s:I, s:b, s:i, s:i}", "id", (json_int_t)id, "reset", 1,
					    "sessions_ended", sessions, "tokens_revoked", tokens));
	return KS_OK;
}

/* POST /admin/smtp-test (admin) {"to"?}: send a short test mail to "to"
 * (default: the admin's own address) now. 200 {"to","sent","detail"}
 * whatever the SMTP server said (the admin wants to read it); 503 field
 * smtp when no server is configured. */
ks_err api_admin_smtp_test(http_req *req, ks_error *e);
ks_err api_admin_smtp_test(http_req *req, ks_error *e)
{
	static const char *const fields[] = {"to", NULL};
	api_app *app = req->app;
	json_t *o = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, fields, "", e);
	store_user me;
	if (!err)
		err = store_user_get(app->store, req->who.user_id, &me, NULL, 0, e);
	const char *to = me.email;
	json_t *jt = o ? json_object_get(o, "to") : NULL;
	if (!err && jt && !json_is_null(jt)) {
		to = json_string_value(jt);
		if (to == NULL || strchr(to, '@') == NULL || strlen(to) > 254)
			err = ks_fail(e, KS_ERR_INVALID, "to", "to must be an e-mail address");
	}
	if (!err)
		err = admin_mail_ready(app, e);
	char subject[256], text[512], mid[64], detail[256] = "", addr[256];
	bool sent = false;
	if (!err) {
		snprintf(addr, sizeof addr, "%s", to);
		char org[128];
		admin_org_name(app, org, sizeof org);
		snprintf(subject, sizeof subject, "Klantstem: testmail / test mail (%s)", org);
		snprintf(text, sizeof text,
			 "Deze testmail laat zien dat Klantstem mail kan versturen.\n"
			 "This test mail shows that Klantstem can send mail.\n");
		unsigned char r[8];
		randombytes_buf(r, sizeof r);
		char hex[17];
		sodium_bin2hex(hex, sizeof hex, r, sizeof r);
		snprintf(mid, sizeof mid, "smtp-test-%s", hex);
		err = admin_mail_send(app, addr, subject, text, mid, &sent, detail, sizeof detail, e);
		if (err == KS_ERR_INVALID && e && e->field[0] && strcmp(e->field, "to") != 0)
			err = ks_fail(e, KS_ERR_INVALID, "to", "to must be an e-mail address");
	}
	json_decref(o);
	if (err)
		return err;
	api_audit(req, "admin.smtp_test", NULL, 0, NULL);
	http_reply_json(req, 200, json_pack("{s:s, s:b, s:s}", "to", addr, "sent", sent, "detail", detail));
	return KS_OK;
}
