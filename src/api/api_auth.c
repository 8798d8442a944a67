/* api_auth.c — who is asking, and may they: sessions, tokens, roles, CSRF,
 * scope; and the account endpoints (login, logout, me, password, tokens,
 * users).
 *
 * Coaching, not judging: by default an employee sees the own scores and the
 * own team's aggregates, never a colleague's individual score (unless the
 * team agreed to share them: team setting share_colleague_scores, and then
 * only within the team); team leads
 * and managers see their unit and everything below it; directors and
 * admins see all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"

#define API_COOKIE "ks_session"

/* ---- establishing the principal --------------------------------------------- */

static void api_who_from_user(http_req *req, const store_user *u)
{
	http_principal *w = &req->who;
	w->authenticated = true;
	w->user_id = u->id;
	w->role = auth_role_from_name(u->role);
	w->employee_id = u->employee_id;
	w->unit_id = u->unit_id;
	snprintf(w->name, sizeof w->name, "%s", u->name);
	snprintf(w->email, sizeof w->email, "%s", u->email);
	snprintf(w->language, sizeof w->language, "%s", u->language);
}

static void api_identify(http_req *req)
{
	api_app *app = req->app;
	store_user u;
	char hash[AUTH_HASH_HEX + 1];
	const char *authz = http_header(req, "Authorization");
	if (authz && strncasecmp(authz, "Bearer ", 7) == 0) { /* the scheme is case-insensitive (RFC 7235) */
		auth_token_hash(authz + 7, hash);
		if (store_token_get(app->store, hash, &u, NULL) == KS_OK) {
			api_who_from_user(req, &u);
			req->who.via_token = true;
		}
		return;
	}
	const char *cookie = http_cookie(req, API_COOKIE);
	if (cookie == NULL || strlen(cookie) != AUTH_TOKEN_LEN)
		return;
	auth_token_hash(cookie, hash);
	if (store_session_get(app->store, hash, clock_now(app->clock), &u, req->who.csrf,
			      sizeof req->who.csrf, NULL) == KS_OK) {
		api_who_from_user(req, &u);
		snprintf(req->who.session_hash, sizeof req->who.session_hash, "%s", hash);
	}
}

static bool api_is_write(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

ks_err api_authorize(http_req *req, unsigned access, ks_error *e)
{
	api_identify(req);
	if (access == API_PUBLIC)
		return KS_OK;
	if (!req->who.authenticated)
		return ks_fail(e, KS_ERR_UNAUTHENTICATED, NULL, "log in first (session cookie or bearer token)");
	if ((access & API_ROLE(req->who.role)) == 0)
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "your role (%s) may not do this",
			       auth_role_name(req->who.role));
	/* A cookie travels with every request the browser makes, also those a
	 * hostile page triggers: writes must prove they come from our page. */
	if (!req->who.via_token && api_is_write(req->method)) {
		const char *t = http_header(req, "X-CSRF-Token");
		if (t == NULL || strcmp(t, req->who.csrf) != 0)
			return ks_fail(e, KS_ERR_FORBIDDEN, "X-CSRF-Token", "missing or wrong CSRF token");
	}
	return KS_OK;
}

/* ---- scope -------------------------------------------------------------------- */

ks_err api_scope(http_req *req, int64_t *team_id, int64_t *employee_id, bool by_employee, ks_error *e)
{
	api_app *app = req->app;
	const http_principal *w = &req->who;
	if (!w->authenticated)
		return KS_OK; /* public routes never reach here; tests without auth neither */
	if (w->role >= AUTH_ROLE_DIRECTOR)
		return KS_OK;
	int64_t home = w->unit_id;
	if (w->role == AUTH_ROLE_EMPLOYEE) {
		home = an_employee_team(app->index, w->employee_id);
		/* A colleague's scores only when the team agreed to share them
		 * (team setting share_colleague_scores, off by default), and
		 * then only a colleague in the same team. */
		bool colleague = *employee_id && *employee_id != w->employee_id;
		bool shared = false;
		store_team_settings ts;
		if ((colleague || by_employee) && home &&
		    store_team_settings_get(app->store, home, &ts, NULL) == KS_OK)
			shared = ts.share_colleague_scores;
		if (colleague && !(shared && an_employee_team(app->index, *employee_id) == home))
			return ks_fail(e, KS_ERR_FORBIDDEN, "employee_id",
				       "you see your own scores and your team's, not a colleague's");
		if (by_employee && !shared)
			return ks_fail(e, KS_ERR_FORBIDDEN, "group_by",
				       "scores per colleague are not shown to employees");
	}
	if (home == 0)
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "your account is not linked to a team or unit");
	if (*team_id && !an_unit_within(app->index, *team_id, home))
		return ks_fail(e, KS_ERR_FORBIDDEN, "team_id", "that unit is outside your scope");
	if (*employee_id && w->role != AUTH_ROLE_EMPLOYEE &&
	    !an_unit_within(app->index, an_employee_team(app->index, *employee_id), home))
		return ks_fail(e, KS_ERR_FORBIDDEN, "employee_id", "that employee is outside your scope");
	if (*team_id == 0 && *employee_id == 0)
		*team_id = home;
	return KS_OK;
}

/* ---- login, logout, me ------------------------------------------------------------ */

static ks_err api_json_text(const json_t *o, const char *name, const char **out, ks_error *e)
{
	const json_t *v = json_object_get(o, name);
	if (!json_is_string(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s is required", name);
	*out = json_string_value(v);
	return KS_OK;
}

/* The account, its CSRF token, and the organisation's time zone (the UI
 * prints every date in it). */
static json_t *api_me_json(http_req *req)
{
	const http_principal *w = &req->who;
	const api_app *app = req->app;
	return json_pack("{s:{s:I, s:s, s:s, s:s, s:o, s:o, s:s}, s:s, s:s}", "user", "id",
			 (json_int_t)w->user_id, "email", w->email, "name", w->name, "role",
			 auth_role_name(w->role), "employee_id",
			 w->employee_id ? json_integer(w->employee_id) : json_null(), "unit_id",
			 w->unit_id ? json_integer(w->unit_id) : json_null(), "language", w->language,
			 "csrf_token", w->csrf, "time_zone", app->tz.name);
}

/* A fresh session for every login, whatever cookie came in: an attacker
 * who planted a session id beforehand gains nothing (session fixation). */
static ks_err api_new_session(http_req *req, const store_user *u, ks_error *e)
{
	api_app *app = req->app;
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_HEX + 1], csrf[AUTH_TOKEN_LEN + 1];
	auth_token_new(token);
	auth_token_new(csrf);
	auth_token_hash(token, hash);
	ks_err err = store_session_create(app->store, hash, u->id, csrf,
					  clock_now(app->clock) + AUTH_SESSION_TTL, e);
	if (err)
		return err;
	memset(&req->who, 0, sizeof req->who);
	api_who_from_user(req, u);
	snprintf(req->who.csrf, sizeof req->who.csrf, "%s", csrf);
	snprintf(req->set_cookie, sizeof req->set_cookie,
		 API_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", token, AUTH_SESSION_TTL,
		 app->secure_cookies ? "; Secure" : "");
	return KS_OK;
}

/* Login CSRF: a foreign page can post a form (text/plain, urlencoded) to
 * the login route and switch a browser to the attacker's account. A form
 * cannot send application/json without a CORS preflight, and a browser
 * names the page's origin: the login takes only JSON, and only from its
 * own origin when the browser says where it comes from. */
static ks_err api_login_origin(http_req *req, ks_error *e)
{
	const char *ct = http_header(req, "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return ks_fail(e, KS_ERR_INVALID, "Content-Type", "the login takes JSON (Content-Type: application/json)");
	const char *origin = http_header(req, "Origin");
	const char *host = http_header(req, "Host");
	if (origin == NULL)
		return KS_OK;
	const char *o = strstr(origin, "://");
	o = o ? o + 3 : origin;
	if (host == NULL || strcmp(o, host) != 0)
		return ks_fail(e, KS_ERR_FORBIDDEN, "Origin", "a login from another site is refused");
	return KS_OK;
}

ks_err api_login(http_req *req, ks_error *e);
ks_err api_login(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	const char *email = NULL, *password = NULL;
	char addr[64];
	http_client_addr(req, addr, sizeof addr);
	int64_t now = clock_now(app->clock);
	ks_err err = api_login_origin(req, e);
	if (!err)
		err = api_body_object(req, &o, e);
	if (!err)
		err = api_json_text(o, "email", &email, e);
	if (!err)
		err = api_json_text(o, "password", &password, e);
	if (!err)
		err = auth_throttle_check(app->auth, email, addr, now, e);
	store_user u;
	char hash[AUTH_PW_STR] = "";
	bool ok = false;
	if (!err) {
		bool known = store_user_by_email(app->store, email, &u, hash, sizeof hash, NULL) == KS_OK;
		/* Verify even for unknown users, so timing does not tell which
		 * addresses have accounts. */
		ok = auth_password_verify(app->auth, known ? hash : NULL, password) && known && !u.disabled;
		if (!ok) {
			auth_throttle_fail(app->auth, email, addr, now);
			err = ks_fail(e, KS_ERR_UNAUTHENTICATED, NULL, "wrong e-mail address or password");
		}
	}
	if (!err) {
		auth_throttle_ok(app->auth, email);
		err = api_new_session(req, &u, e);
	}
	json_decref(o);
	if (err)
		return err;
	http_reply_json(req, 200, api_me_json(req));
	return KS_OK;
}

ks_err api_logout(http_req *req, ks_error *e);
ks_err api_logout(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	if (req->who.session_hash[0]) {
		ks_err err = store_session_delete(app->store, req->who.session_hash, e);
		if (err)
			return err;
	}
	snprintf(req->set_cookie, sizeof req->set_cookie,
		 API_COOKIE "=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0%s",
		 app->secure_cookies ? "; Secure" : "");
	http_reply_json(req, 200, json_pack("{s:b}", "logged_out", 1));
	return KS_OK;
}

ks_err api_me(http_req *req, ks_error *e);
ks_err api_me(http_req *req, ks_error *e)
{
	(void)e;
	http_reply_json(req, 200, api_me_json(req));
	return KS_OK;
}

ks_err api_password(http_req *req, ks_error *e);
ks_err api_password(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	const char *cur = NULL, *next = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_json_text(o, "current_password", &cur, e);
	if (!err)
		err = api_json_text(o, "new_password", &next, e);
	if (!err)
		err = auth_password_check(next, "new_password", e);
	store_user u;
	char hash[AUTH_PW_STR];
	char addr[64];
	http_client_addr(req, addr, sizeof addr);
	int64_t now = clock_now(app->clock);
	if (!err)
		err = store_user_get(app->store, req->who.user_id, &u, hash, sizeof hash, e);
	/* Guessing the current password here is guessing a login: the same
	 * counters (per account and per address) hold. */
	if (!err)
		err = auth_throttle_check(app->auth, u.email, addr, now, e);
	if (!err && !auth_password_verify(app->auth, hash, cur)) {
		auth_throttle_fail(app->auth, u.email, addr, now);
		err = ks_fail(e, KS_ERR_FORBIDDEN, "current_password", "the current password is wrong");
	}
	if (!err)
		auth_throttle_ok(app->auth, u.email);
	char fresh[AUTH_PW_STR];
	if (!err)
		err = auth_password_hash(app->auth, next, fresh, e);
	if (!err)
		err = store_user_set_password(app->store, u.id, fresh, e);
	/* Every old session ended with the password change; this one goes on
	 * with a new session. */
	if (!err && !req->who.via_token)
		err = api_new_session(req, &u, e);
	json_decref(o);
	if (err)
		return err;
	http_reply_json(req, 200, api_me_json(req));
	return KS_OK;
}

ks_err api_token_create(http_req *req, ks_error *e);
ks_err api_token_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	const char *name = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_json_text(o, "name", &name, e);
	if (!err && (strlen(name) == 0 || strlen(name) > 100))
		err = ks_fail(e, KS_ERR_INVALID, "name", "name must be 1..100 bytes");
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_HEX + 1];
	auth_token_new(token);
	auth_token_hash(token, hash);
	if (!err)
		err = store_token_create(app->store, hash, req->who.user_id, name, e);
	/* Shown once: only its hash is kept. (name lives in o: reply first.) */
	if (!err)
		http_reply_json(req, 201, json_pack("{s:s, s:s}", "name", name, "token", token));
	json_decref(o);
	return err;
}

/* ---- users (admin) ------------------------------------------------------------------- */

/* Fill u from a JSON body; role rules: an employee account needs an
 * employee_id, a team lead or manager a unit_id. */
ks_err api_user_from_json(const json_t *o, store_user *u, const char **password, ks_error *e);
ks_err api_user_from_json(const json_t *o, store_user *u, const char **password, ks_error *e)
{
	memset(u, 0, sizeof *u);
	const char *email = NULL, *name = NULL, *role = NULL;
	ks_err err = api_json_text(o, "email", &email, e);
	if (!err)
		err = api_json_text(o, "name", &name, e);
	if (!err)
		err = api_json_text(o, "role", &role, e);
	if (!err)
		err = api_json_text(o, "password", password, e);
	if (!err && (strchr(email, '@') == NULL || strlen(email) >= sizeof u->email))
		err = ks_fail(e, KS_ERR_INVALID, "email", "email must be an e-mail address");
	if (!err && (strlen(name) == 0 || strlen(name) >= sizeof u->name))
		err = ks_fail(e, KS_ERR_INVALID, "name", "name must be 1..127 bytes");
	if (!err && auth_role_from_name(role) == AUTH_ROLE_NONE)
		err = ks_fail(e, KS_ERR_INVALID, "role",
			      "role must be employee, team_lead, manager, director or admin");
	if (!err)
		err = api_json_id(o, "employee_id", &u->employee_id, e);
	if (!err)
		err = api_json_id(o, "unit_id", &u->unit_id, e);
	if (err)
		return err;
	auth_role r = auth_role_from_name(role);
	if (r == AUTH_ROLE_EMPLOYEE && u->employee_id == 0)
		return ks_fail(e, KS_ERR_INVALID, "employee_id", "an employee account needs employee_id");
	if ((r == AUTH_ROLE_TEAM_LEAD || r == AUTH_ROLE_MANAGER) && u->unit_id == 0)
		return ks_fail(e, KS_ERR_INVALID, "unit_id", "a team lead or manager needs unit_id");
	const json_t *lang = json_object_get(o, "language");
	snprintf(u->language, sizeof u->language, "%s",
		 json_is_string(lang) && model_language_valid(json_string_value(lang)) ? json_string_value(lang) : "nl");
	snprintf(u->email, sizeof u->email, "%s", email);
	snprintf(u->name, sizeof u->name, "%s", name);
	snprintf(u->role, sizeof u->role, "%s", role);
	return auth_password_check(*password, "password", e);
}

ks_err api_user_create(http_req *req, ks_error *e);
ks_err api_user_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	store_user u;
	const char *password = NULL;
	char hash[AUTH_PW_STR];
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_user_from_json(o, &u, &password, e);
	if (!err)
		err = auth_password_hash(app->auth, password, hash, e);
	if (!err)
		err = store_user_create(app->store, &u, hash, e);
	json_decref(o);
	if (err)
		return err;
	http_reply_json(req, 201, store_user_json(&u));
	return KS_OK;
}

ks_err api_user_list(http_req *req, ks_error *e);
ks_err api_user_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *out = NULL;
	ks_err err = store_user_list(app->store, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}
