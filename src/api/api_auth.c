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

/* issue 18 (NODES): api_nodes.c */
void api_nodes_share(api_app *app);

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
		if (store_token_get(app->store, hash, clock_now(app->clock), &u, NULL) == KS_OK) {
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

/* A session about to be stored: the cookie's value, its hash, its CSRF
 * token and when it ends. */
typedef struct api_session_new {
	char token[AUTH_TOKEN_LEN + 1];
	char hash[AUTH_HASH_HEX + 1];
	char csrf[AUTH_TOKEN_LEN + 1];
	int64_t expires_at;
} api_session_new;

static void api_session_prepare(api_app *app, api_session_new *n)
{
	auth_token_new(n->token);
	auth_token_new(n->csrf);
	auth_token_hash(n->token, n->hash);
	n->expires_at = clock_now(app->clock) + AUTH_SESSION_TTL;
}

/* The stored session n becomes this request's: the principal, the CSRF
 * token of the reply and the cookie. */
static void api_session_adopt(http_req *req, const store_user *u, const api_session_new *n)
{
	api_app *app = req->app;
	memset(&req->who, 0, sizeof req->who);
	api_who_from_user(req, u);
	snprintf(req->who.csrf, sizeof req->who.csrf, "%s", n->csrf);
	snprintf(req->who.session_hash, sizeof req->who.session_hash, "%s", n->hash);
	snprintf(req->set_cookie, sizeof req->set_cookie,
		 API_COOKIE "=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%d%s", n->token, AUTH_SESSION_TTL,
		 app->secure_cookies ? "; Secure" : "");
}

/* A fresh session for every login, whatever cookie came in: an attacker
 * who planted a session id beforehand gains nothing (session fixation). */
static ks_err api_new_session(http_req *req, const store_user *u, ks_error *e)
{
	api_app *app = req->app;
	api_session_new n;
	api_session_prepare(app, &n);
	ks_err err = store_session_create(app->store, n.hash, u->id, n.csrf, n.expires_at, e);
	if (!err)
		api_session_adopt(req, u, &n);
	return err;
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
	if (!err) {
		api_nodes_share(app); /* issue 18 (NODES): on PostgreSQL the counts of every node */
		err = auth_throttle_check(app->auth, email, addr, now, &req->retry_after, e);
	}
	store_user u;
	char hash[AUTH_PW_STR] = "";
	bool ok = false;
	if (!err) {
		bool known = store_user_by_email(app->store, email, &u, hash, sizeof hash, NULL) == KS_OK;
		/* Verify even for unknown users, so timing does not tell which
		 * addresses have accounts. A disabled account gets the answer of
		 * a wrong password: the login form does not tell who exists. */
		ok = auth_password_verify(app->auth, known ? hash : NULL, password) && known && !u.disabled;
		if (!ok) {
			auth_throttle_fail(app->auth, email, addr, now);
			api_audit(req, "auth.login_failed", "user", 0, json_pack("{s:s}", "email", email));
			err = ks_fail(e, KS_ERR_UNAUTHENTICATED, NULL, "wrong e-mail address or password");
		}
	}
	if (!err) {
		auth_throttle_ok(app->auth, email, addr);
		err = api_new_session(req, &u, e);
	}
	json_decref(o);
	api_audit(req, "auth.login", "user", req->who.user_id, NULL);
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

/* The current password, checked under the login throttle: guessing it
 * here is guessing a login, so the same counters hold. */
static ks_err api_password_verify(http_req *req, const store_user *u, const char *hash, const char *cur,
				  ks_error *e)
{
	api_app *app = req->app;
	char addr[64];
	http_client_addr(req, addr, sizeof addr);
	int64_t now = clock_now(app->clock);
	api_nodes_share(app); /* issue 18 (NODES) */
	ks_err err = auth_throttle_check(app->auth, u->email, addr, now, &req->retry_after, e);
	if (err)
		return err;
	if (!auth_password_verify(app->auth, hash, cur)) {
		auth_throttle_fail(app->auth, u->email, addr, now);
		return ks_fail(e, KS_ERR_FORBIDDEN, "current_password", "the current password is wrong");
	}
	auth_throttle_ok(app->auth, u->email, addr);
	return KS_OK;
}

/* A password change ends every other way into the account: all sessions
 * (a stolen one included) and all API tokens, in the transaction that
 * stores the new hash. A browser that made the change goes on with a new
 * session (a fresh cookie and CSRF token); a token that made it is revoked
 * with the rest. The reply says so. */
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
	if (!err)
		err = store_user_get(app->store, req->who.user_id, &u, hash, sizeof hash, e);
	if (!err)
		err = api_password_verify(req, &u, hash, cur, e);
	char fresh[AUTH_PW_STR];
	if (!err)
		err = auth_password_hash(app->auth, next, fresh, e);
	json_decref(o);
	api_session_new keep = {0};
	bool browser = !req->who.via_token;
	if (browser)
		api_session_prepare(app, &keep);
	int sessions = 0, tokens = 0;
	if (!err)
		err = store_user_set_password(app->store, u.id, fresh, browser ? keep.hash : NULL, keep.csrf,
					      keep.expires_at, &sessions, &tokens, e);
	if (err)
		return err;
	if (browser)
		api_session_adopt(req, &u, &keep);
	json_t *reply = api_me_json(req);
	json_object_set_new(reply, "sessions_ended", json_integer(sessions));
	json_object_set_new(reply, "tokens_revoked", json_integer(tokens));
	json_object_set_new(reply, "note", json_string(
		browser ? "password changed: every API token is revoked and every other session has ended;"
			  " this browser goes on with a new session"
			: "password changed: every API token (this one too) is revoked and every session has ended"));
	api_audit(req, "auth.password", "user", req->who.user_id, NULL);
	http_reply_json(req, 200, reply);
	return KS_OK;
}

/* ---- API tokens ------------------------------------------------------------------ */

/* A token as listed: never its secret or hash. */
static json_t *api_token_json(const store_token *t, int64_t now)
{
	char created[32], expires[32], used[32];
	clock_format_iso(t->created_at, created, sizeof created);
	clock_format_iso(t->expires_at, expires, sizeof expires);
	if (t->last_used_at)
		clock_format_iso(t->last_used_at, used, sizeof used);
	return json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:o, s:b}", "id", (json_int_t)t->id, "user_id",
			 (json_int_t)t->user_id, "user_email", t->user_email, "name", t->name, "created_at",
			 created, "expires_at", expires, "last_used_at",
			 t->last_used_at ? json_string(used) : json_null(), "expired", t->expires_at <= now);
}

/* expires_in_days: absent = AUTH_TOKEN_DAYS; else an integer 1..AUTH_TOKEN_MAX_DAYS. */
static ks_err api_token_days(const json_t *o, int64_t *days, ks_error *e)
{
	const json_t *v = json_object_get(o, "expires_in_days");
	*days = AUTH_TOKEN_DAYS;
	if (v == NULL)
		return KS_OK;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > AUTH_TOKEN_MAX_DAYS)
		return ks_fail(e, KS_ERR_INVALID, "expires_in_days",
			       "expires_in_days must be a whole number of days, 1..%d", AUTH_TOKEN_MAX_DAYS);
	*days = json_integer_value(v);
	return KS_OK;
}

ks_err api_token_create(http_req *req, ks_error *e);
ks_err api_token_create(http_req *req, ks_error *e)
{
	static const char *const fields[] = {"name", "expires_in_days", NULL};
	api_app *app = req->app;
	json_t *o = NULL;
	const char *name = NULL;
	int64_t days = 0;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_only_fields(o, fields, "", e);
	if (!err)
		err = api_json_text(o, "name", &name, e);
	if (!err && (strlen(name) == 0 || strlen(name) > 100))
		err = ks_fail(e, KS_ERR_INVALID, "name", "name must be 1..100 bytes");
	if (!err)
		err = api_token_days(o, &days, e);
	char token[AUTH_TOKEN_LEN + 1], hash[AUTH_HASH_HEX + 1];
	auth_token_new(token);
	auth_token_hash(token, hash);
	int64_t now = clock_now(app->clock);
	store_token t;
	if (!err)
		err = store_token_create(app->store, hash, req->who.user_id, name, now + days * 86400, &t, e);
	json_decref(o);
	if (err)
		return err;
	/* Shown once: only its hash is kept. */
	json_t *reply = api_token_json(&t, now);
	json_object_set_new(reply, "token", json_string(token));
	api_audit(req, "auth.token_create", "token", t.id, json_pack("{s:s}", "name", t.name));
	http_reply_json(req, 201, reply);
	return KS_OK;
}

static ks_err api_token_reply_list(http_req *req, int64_t user_id, ks_error *e)
{
	api_app *app = req->app;
	store_token *ts = NULL;
	size_t n = 0;
	ks_err err = store_token_list(app->store, user_id, &ts, &n, e);
	if (err)
		return err;
	int64_t now = clock_now(app->clock);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, api_token_json(&ts[i], now));
	free(ts);
	http_reply_json(req, 200, json_pack("{s:o}", "items", items));
	return KS_OK;
}

/* GET /auth/tokens: the caller's own tokens. */
ks_err api_token_list(http_req *req, ks_error *e);
ks_err api_token_list(http_req *req, ks_error *e)
{
	return api_token_reply_list(req, req->who.user_id, e);
}

/* The account addressed by the path, not deleted; 404 otherwise. */
static ks_err api_path_user(http_req *req, store_user *u, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_user_get(app->store, id, u, NULL, 0, e);
	if (err == KS_ERR_NOTFOUND || (!err && u->deleted))
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such user");
	return err;
}

/* GET /users/{id}/tokens (admin). */
ks_err api_user_token_list(http_req *req, ks_error *e);
ks_err api_user_token_list(http_req *req, ks_error *e)
{
	store_user u;
	ks_err err = api_path_user(req, &u, e);
	return err ? err : api_token_reply_list(req, u.id, e);
}

/* DELETE /auth/tokens/{id}: the caller's own token; an admin's, anyone's.
 * Someone else's token answers 404 like one that does not exist: ids do
 * not tell what others have. */
ks_err api_token_delete(http_req *req, ks_error *e);
ks_err api_token_delete(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	store_token t;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_token_find(app->store, id, &t, e);
	if (!err && t.user_id != req->who.user_id && req->who.role != AUTH_ROLE_ADMIN)
		err = KS_ERR_NOTFOUND;
	if (err == KS_ERR_NOTFOUND)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such token");
	if (!err)
		err = store_token_delete(app->store, id, e);
	if (err)
		return err;
	api_audit(req, "auth.token_revoke", "token", id, NULL);
	http_reply_json(req, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1));
	return KS_OK;
}

/* ---- users (admin) ------------------------------------------------------------------- */

/* What a role needs to be linked to: an employee account an employee, a
 * team lead or manager the unit they lead (their scope). */
static ks_err api_user_links(const char *role, int64_t employee_id, int64_t unit_id, ks_error *e)
{
	auth_role r = auth_role_from_name(role);
	if (r == AUTH_ROLE_EMPLOYEE && employee_id == 0)
		return ks_fail(e, KS_ERR_INVALID, "employee_id", "an employee account needs employee_id");
	if ((r == AUTH_ROLE_TEAM_LEAD || r == AUTH_ROLE_MANAGER) && unit_id == 0)
		return ks_fail(e, KS_ERR_INVALID, "unit_id", "a team lead or manager needs unit_id");
	return KS_OK;
}

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
	err = api_user_links(role, u->employee_id, u->unit_id, e);
	if (err)
		return err;
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
	api_audit(req, "user.create", "user", u.id, json_pack("{s:s}", "role", u.role));
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

ks_err api_user_get(http_req *req, ks_error *e);
ks_err api_user_get(http_req *req, ks_error *e)
{
	store_user u;
	ks_err err = api_path_user(req, &u, e);
	if (err)
		return err;
	http_reply_json(req, 200, store_user_json(&u));
	return KS_OK;
}

/* An optional link in a PATCH: absent keeps *id, null clears it. */
static ks_err api_patch_id(const json_t *o, const char *name, int64_t *id, ks_error *e)
{
	return json_object_get(o, name) ? api_json_id(o, name, id, e) : KS_OK;
}

/* Apply a PATCH body to u: name, role, language, active, employee_id,
 * unit_id; anything else is refused by name. */
static ks_err api_user_patch_apply(const json_t *o, store_user *u, ks_error *e)
{
	static const char *const fields[] = {"name", "role", "language", "active", "employee_id", "unit_id",
					     NULL};
	ks_err err = api_only_fields(o, fields, "", e);
	const json_t *v;
	if (!err && (v = json_object_get(o, "name")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= sizeof u->name)
			err = ks_fail(e, KS_ERR_INVALID, "name", "name must be 1..127 bytes");
		else
			snprintf(u->name, sizeof u->name, "%s", json_string_value(v));
	}
	if (!err && (v = json_object_get(o, "role")) != NULL) {
		if (!json_is_string(v) || auth_role_from_name(json_string_value(v)) == AUTH_ROLE_NONE)
			err = ks_fail(e, KS_ERR_INVALID, "role",
				      "role must be employee, team_lead, manager, director or admin");
		else
			snprintf(u->role, sizeof u->role, "%s", json_string_value(v));
	}
	if (!err && (v = json_object_get(o, "language")) != NULL) {
		if (!json_is_string(v) || !model_language_valid(json_string_value(v)))
			err = ks_fail(e, KS_ERR_INVALID, "language", "language must be nl or en");
		else
			snprintf(u->language, sizeof u->language, "%s", json_string_value(v));
	}
	if (!err && (v = json_object_get(o, "active")) != NULL) {
		if (!json_is_boolean(v))
			err = ks_fail(e, KS_ERR_INVALID, "active", "active must be true or false");
		else
			u->disabled = !json_is_true(v);
	}
	if (!err)
		err = api_patch_id(o, "employee_id", &u->employee_id, e);
	if (!err)
		err = api_patch_id(o, "unit_id", &u->unit_id, e);
	if (!err)
		err = api_user_links(u->role, u->employee_id, u->unit_id, e);
	return err;
}

/* PATCH /users/{id} (admin). Disabling ends the user's sessions and
 * revokes the tokens at once (store_user_update). An admin cannot disable
 * the own account or change its own role (the way to lock oneself out),
 * and the last active admin stays one (409 either way). */
ks_err api_user_patch(http_req *req, ks_error *e);
ks_err api_user_patch(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	store_user u = {0}, before;
	ks_err err = api_path_user(req, &u, e);
	if (!err)
		err = api_body_object(req, &o, e);
	before = u; /* the account as it was: the own-account rules compare */
	if (!err)
		err = api_user_patch_apply(o, &u, e);
	json_decref(o);
	bool self = !err && u.id == req->who.user_id;
	if (self && u.disabled && !before.disabled)
		err = ks_fail(e, KS_ERR_CONFLICT, "active", "you cannot disable your own account");
	if (self && !err && strcmp(u.role, before.role) != 0)
		err = ks_fail(e, KS_ERR_CONFLICT, "role", "you cannot change your own role");
	if (!err)
		err = store_user_update(app->store, &u, e);
	if (err)
		return err;
	api_audit(req, "user.update", "user", u.id, json_pack("{s:s, s:b}", "role", u.role, "disabled", u.disabled));
	http_reply_json(req, 200, store_user_json(&u));
	return KS_OK;
}

/* DELETE /users/{id} (admin): a tombstone (store_user_delete says what
 * stays and what goes). */
ks_err api_user_delete(http_req *req, ks_error *e);
ks_err api_user_delete(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_user u;
	store_user_deleted d;
	ks_err err = api_path_user(req, &u, e);
	if (!err && u.id == req->who.user_id)
		err = ks_fail(e, KS_ERR_CONFLICT, "id", "you cannot delete your own account");
	if (!err)
		err = store_user_delete(app->store, u.id, &d, e);
	if (err)
		return err;
	api_audit(req, "user.delete", "user", u.id, NULL);
	http_reply_json(req, 200, json_pack("{s:I, s:b, s:i, s:i, s:i}", "id", (json_int_t)u.id, "deleted", 1,
					    "sessions_ended", d.sessions, "tokens_revoked", d.tokens,
					    "cases_to_queue", d.cases_to_queue));
	return KS_OK;
}
