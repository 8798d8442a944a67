#!/usr/bin/python3
"""Accounts and tokens (issue 11; docs/API.md "Accounts and access": API
tokens, users; src/api/api_auth.c, src/store/accounts/sqlite_auth.c,
src/cli/cli_users.c).

One server in test mode (`serve --test-clock`, so token expiry, the
throttle window and session expiry can be crossed by moving the clock),
accounts made through POST /api/v1/users with the test admin's token.

Covered: token expiry (default 90 days, expires_in_days 1..365, 422
otherwise; expired -> 401 and listed as expired), name / created_at /
last_used_at (marked at most once a minute), the own list and an admin's
list of a user's tokens (never a secret or hash), revocation (own; an
admin's of anyone; someone else's is 404 to others), a password change
(revokes every token, ends every other session, the changing browser goes
on; the reply says so), disabling (session, token and login refused at
once; enabling brings no old credential back), PATCH validation, an
admin's own account (409), deletion as a tombstone (409 while the account
owns open actions; references stay; the address is free again), the
last active admin (CLI: 409-like refusal), the login throttle per account
and address (429 with Retry-After; a colleague at the same address still
logs in), the sweep of expired sessions, the Secure cookie under an https
--base-url, and the `users` / `tokens` commands (exit codes, messages).
"""

import calendar
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

T0 = "2026-03-02T10:00:00Z"
T0_TS = calendar.timegm((2026, 3, 2, 10, 0, 0))
DAY = 86400
DOMAIN = "tokens.test"
COOKIE = "ks_session"


def pw(label):
    return "pw-%s-battery-staple" % label


def email(key):
    return "%s@%s" % (key, DOMAIN)


def api(srv, method, path, body=None, headers=None):
    """A request with exactly the given headers (no test-admin token)."""
    return srv.request(method, path, body, headers=dict(headers or {}), auth=False)


def bearer(token):
    return {"Authorization": "Bearer " + token}


def parse_cookie(hd):
    for raw in (hd.get_all("Set-Cookie") or []) if hd is not None else []:
        parts = [p.strip() for p in raw.split(";")]
        name, _, value = parts[0].partition("=")
        if name != COOKIE:
            continue
        attrs = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            attrs[k.strip().lower()] = v.strip()
        return value, attrs
    return None, {}


class Session:
    def __init__(self, srv, cookie, csrf):
        self.srv, self.cookie, self.csrf = srv, cookie, csrf

    def headers(self, csrf=True):
        h = {"Cookie": "%s=%s" % (COOKIE, self.cookie)}
        if csrf:
            h["X-CSRF-Token"] = self.csrf
        return h

    def get(self, path):
        return api(self.srv, "GET", path, headers=self.headers(False))

    def write(self, method, path, body=None, csrf=True):
        return api(self.srv, method, path, body, self.headers(csrf))


def login(srv, addr, password):
    resp = api(srv, "POST", "/api/v1/auth/login", {"email": addr, "password": password})
    st, hd, body = resp
    cookie, _ = parse_cookie(hd)
    sess = Session(srv, cookie, body.get("csrf_token")) if st == 200 and cookie and isinstance(body, dict) else None
    return resp, sess


def must_login(t, srv, key, password=None):
    resp, sess = login(srv, email(key), password or pw(key))
    if sess is None:
        t.check(False, "login as %s" % key, ks.got(resp[0], resp[2]))
        raise ks.FixtureError("cannot log in as %s: %s %s" % (key, resp[0], ks.short(resp[2])))
    return sess


def set_clock(srv, ts):
    st, _, b = srv.post("/api/v1/admin/clock", {"now": ks.iso(ts)})
    if st != 200:
        raise ks.FixtureError("POST /api/v1/admin/clock -> %s %s" % (st, ks.short(b)))


def me_status(srv, headers):
    return api(srv, "GET", "/api/v1/auth/me", headers=headers)[0]


def unauth(t, resp, name):
    return t.error(resp, 401, "unauthenticated", None, name)


def new_user(t, srv, key, role="director", **links):
    body = dict({"email": email(key), "name": "User %s" % key, "role": role, "password": pw(key)}, **links)
    st, _, u = srv.post("/api/v1/users", body)
    if st != 201:
        t.check(False, "fixture: create %s" % key, ks.got(st, u))
        raise ks.FixtureError("cannot create %s" % key)
    return u


def make_token(t, sess, name, days=None, what=""):
    body = {"name": name}
    if days is not None:
        body["expires_in_days"] = days
    st, _, b = sess.write("POST", "/api/v1/auth/tokens", body)
    if st != 201 or not isinstance(b, dict) or not b.get("token"):
        t.check(False, "create token %s %s" % (name, what), ks.got(st, b))
        raise ks.FixtureError("no token %s" % name)
    return b


# ---------------------------------------------------------------------------


def test_create(t, srv, now):
    s = must_login(t, srv, "tok")
    st, _, b = s.write("POST", "/api/v1/auth/tokens", {"name": "export script"})
    t.check(st == 201 and isinstance(b, dict) and isinstance(b.get("token"), str) and len(b["token"]) >= 40,
            "tokens: POST /auth/tokens {name} -> 201 with the secret", ks.got(st, b))
    t.eq(sorted(b) if isinstance(b, dict) else b,
         sorted(["id", "user_id", "user_email", "name", "created_at", "expires_at", "last_used_at", "expired",
                 "token"]), "tokens: the reply has id, name, times, owner and the secret")
    t.eq((b.get("created_at"), b.get("expires_at"), b.get("last_used_at"), b.get("expired")),
         (ks.iso(now), ks.iso(now + 90 * DAY), None, False),
         "tokens: created now, expiring after the default 90 days, never used")
    for days in (1, 365):
        st, _, c = s.write("POST", "/api/v1/auth/tokens", {"name": "d%d" % days, "expires_in_days": days})
        t.check(st == 201 and c.get("expires_at") == ks.iso(now + days * DAY),
                "tokens: expires_in_days %d -> expires %d days from now" % (days, days), ks.got(st, c))
    n = ks_count(srv, "SELECT count(*) FROM api_tokens")
    for bad in (0, 366, -5, "30", 1.5, None, True):
        t.error(s.write("POST", "/api/v1/auth/tokens", {"name": "bad", "expires_in_days": bad}), 422, "invalid",
                "expires_in_days", "tokens: expires_in_days %r -> 422 naming expires_in_days" % (bad,))
    t.error(s.write("POST", "/api/v1/auth/tokens", {"name": "x", "expires": 5}), 422, "invalid", "expires",
            "tokens: an unknown field -> 422 naming it")
    t.eq(ks_count(srv, "SELECT count(*) FROM api_tokens"), n, "tokens: the refused requests stored no token")
    return s, b


def ks_count(srv, sql, args=()):
    return srv.sql(sql, args)[0][0]


def test_list(t, srv, s, first, users):
    st, _, lst = s.get("/api/v1/auth/tokens")
    items = lst.get("items") if isinstance(lst, dict) else None
    t.check(st == 200 and isinstance(items, list) and len(items) == 3,
            "tokens: GET /auth/tokens -> 200 with the user's 3 tokens", ks.got(st, lst))
    items = items or []
    text = ks.short(lst, 100000)
    hashes = [r[0] for r in srv.sql("SELECT token_hash FROM api_tokens")]
    t.check(not any("token" == k or "hash" in k for it in items for k in it)
            and first["token"] not in text and not any(h in text for h in hashes),
            "tokens: the list shows neither the secret nor its hash", text[:800])
    t.check(all(it.get("user_id") == users["tok"]["id"] for it in items),
            "tokens: only the caller's own tokens are listed", text[:800])
    t.eq([it.get("name") for it in items], ["export script", "d1", "d365"], "tokens: listed by id with their names")
    # another user's list does not show them
    o = must_login(t, srv, "other")
    st, _, ol = o.get("/api/v1/auth/tokens")
    t.check(st == 200 and ol.get("items") == [], "tokens: another user's list is empty (not ours)", ks.got(st, ol))
    # an admin's view of the user
    path = "/api/v1/users/%d/tokens" % users["tok"]["id"]
    st, _, al = srv.get(path)
    t.check(st == 200 and [it.get("id") for it in al.get("items", [])] == [it.get("id") for it in items],
            "tokens: an admin lists the user's tokens (GET /users/{id}/tokens)", ks.got(st, al))
    t.check(first["token"] not in ks.short(al, 100000), "tokens: ... without the secret")
    st, _, b = o.get(path)
    t.check(st == 403, "tokens: a director may not list another user's tokens -> 403", ks.got(st, b))
    t.error(srv.get("/api/v1/users/999999/tokens"), 404, "not_found", None,
            "tokens: GET /users/{unknown}/tokens -> 404")
    return o


def test_last_used(t, srv, s, tok, now):
    h = bearer(tok["token"])

    def last():
        st, _, lst = s.get("/api/v1/auth/tokens")
        for it in (lst.get("items") or []) if isinstance(lst, dict) else []:
            if it.get("id") == tok["id"]:
                return it.get("last_used_at")
        return "missing"

    t.eq(me_status(srv, h), 200, "last use: the token works")
    t.eq(last(), ks.iso(now), "last use: marked at the first use")
    set_clock(srv, now + 30)
    me_status(srv, h)
    t.eq(last(), ks.iso(now), "last use: a use 30 s later does not write it again")
    set_clock(srv, now + 61)
    me_status(srv, h)
    t.eq(last(), ks.iso(now + 61), "last use: a use 61 s after the mark moves it")
    return now + 61


def test_expiry(t, srv, s, long_lived, now):
    tok = make_token(t, s, "one day", 1)
    h = bearer(tok["token"])
    t.eq(me_status(srv, h), 200, "expiry: a 1-day token works when made")
    set_clock(srv, now + DAY - 60)
    t.eq(me_status(srv, h), 200, "expiry: ... and a minute before its day is over")
    set_clock(srv, now + DAY + 60)
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=h), "expiry: a minute after its expiry -> 401")
    unauth(t, api(srv, "GET", "/api/v1/metrics", headers=h), "expiry: ... on every route")
    # (the session has ended by now too: list with the user's 90-day token)
    st, _, lst = api(srv, "GET", "/api/v1/auth/tokens", headers=bearer(long_lived["token"]))
    row = [it for it in (lst.get("items") or []) if it.get("id") == tok["id"]] if isinstance(lst, dict) else []
    t.check(st == 200 and row and row[0].get("expired") is True,
            "expiry: the expired token is listed with expired: true", ks.got(st, lst))
    set_clock(srv, now)
    return tok


def test_revoke(t, srv, s, o, users):
    mine = make_token(t, s, "to revoke")
    keep = make_token(t, s, "to keep")
    theirs = make_token(t, o, "other's")
    path = "/api/v1/auth/tokens/%d" % mine["id"]
    t.error(s.write("DELETE", path, csrf=False), 403, "forbidden", "X-CSRF-Token",
            "revoke: DELETE with the cookie but no CSRF token -> 403")
    t.eq(me_status(srv, bearer(mine["token"])), 200, "revoke: the refused DELETE left the token alive")
    st, _, b = s.write("DELETE", path)
    t.check(st == 200 and b == {"id": mine["id"], "revoked": True}, "revoke: DELETE own token -> 200",
            ks.got(st, b))
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(mine["token"])),
           "revoke: the revoked token -> 401 at once")
    t.eq(me_status(srv, bearer(keep["token"])), 200, "revoke: the user's other token still works")
    t.error(s.write("DELETE", path), 404, "not_found", None, "revoke: DELETE it again -> 404")
    t.error(s.write("DELETE", "/api/v1/auth/tokens/%d" % theirs["id"]), 404, "not_found", None,
            "revoke: another user's token -> 404 (as if it did not exist)")
    t.eq(me_status(srv, bearer(theirs["token"])), 200, "revoke: ... and that token still works")
    t.error(s.write("DELETE", "/api/v1/auth/tokens/abc"), 404, "not_found", None, "revoke: a non-numeric id -> 404")
    # a token revokes itself (no CSRF needed with a bearer token)
    st, _, b = api(srv, "DELETE", "/api/v1/auth/tokens/%d" % keep["id"], headers=bearer(keep["token"]))
    t.check(st == 200, "revoke: a token revokes itself with the bearer header -> 200", ks.got(st, b))
    t.eq(me_status(srv, bearer(keep["token"])), 401, "revoke: ... and is refused afterwards")
    st, _, b = srv.request("DELETE", "/api/v1/auth/tokens/%d" % theirs["id"])
    t.check(st == 200, "revoke: an admin revokes another user's token -> 200", ks.got(st, b))
    t.eq(me_status(srv, bearer(theirs["token"])), 401, "revoke: ... which is refused at once")


def test_password(t, srv, users):
    key = "pwc"
    a = must_login(t, srv, key)
    b = must_login(t, srv, key)
    t1 = make_token(t, a, "t1")
    t2 = make_token(t, b, "t2")
    new = "a-new-password-77"
    st, hd, body = a.write("POST", "/api/v1/auth/password", {"current_password": pw(key), "new_password": new})
    t.check(st == 200 and isinstance(body, dict), "password: change -> 200", ks.got(st, body))
    body = body if isinstance(body, dict) else {}
    t.eq((body.get("tokens_revoked"), body.get("sessions_ended")), (2, 2),
         "password: the reply counts 2 tokens revoked and 2 sessions ended")
    t.check("token" in (body.get("note") or "") and "session" in (body.get("note") or ""),
            "password: the reply says that tokens and other sessions ended", ks.short(body))
    for tok, what in ((t1, "t1"), (t2, "t2")):
        unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(tok["token"])),
               "password: API token %s -> 401 after the change" % what)
    unauth(t, b.get("/api/v1/auth/me"), "password: the other session -> 401")
    cookie, _ = parse_cookie(hd)
    c = Session(srv, cookie, body.get("csrf_token"))
    t.eq(c.get("/api/v1/auth/me")[0], 200, "password: the changing browser goes on (its new cookie works)")
    t.eq(ks_count(srv, "SELECT count(*) FROM api_tokens WHERE user_id = ?", (users[key]["id"],)), 0,
         "password: no token of the user is left in the database")
    t.eq(ks_count(srv, "SELECT count(*) FROM sessions WHERE user_id = ?", (users[key]["id"],)), 1,
         "password: one session of the user is left (the changing browser's)")


def test_disable(t, srv, users, admin):
    key = "dis"
    uid = users[key]["id"]
    s = must_login(t, srv, key)
    tok = make_token(t, s, "dis token")
    st, _, u = srv.patch("/api/v1/users/%d" % uid, {"active": False})
    t.check(st == 200 and u.get("active") is False and u.get("disabled") is True,
            "disable: PATCH /users/{id} {active:false} -> 200, active false", ks.got(st, u))
    unauth(t, s.get("/api/v1/auth/me"), "disable: the user's session -> 401 at once")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(tok["token"])),
           "disable: the user's API token -> 401 at once")
    resp, _ = login(srv, email(key), pw(key))
    wrong = api(srv, "POST", "/api/v1/auth/login", {"email": email(key), "password": "not-the-password-1"})
    unauth(t, resp, "disable: login with the right password -> 401")
    t.eq(resp[2], wrong[2], "disable: the same answer as a wrong password (the form tells nothing)")
    st, _, lst = srv.get("/api/v1/users")
    row = [it for it in lst.get("items", []) if it.get("id") == uid]
    t.check(row and row[0].get("active") is False, "disable: the user list shows active false", ks.short(row))
    st, _, u = srv.patch("/api/v1/users/%d" % uid, {"active": True})
    t.check(st == 200 and u.get("active") is True, "enable: PATCH {active:true} -> 200", ks.got(st, u))
    resp, s2 = login(srv, email(key), pw(key))
    t.check(s2 is not None, "enable: the user logs in again", ks.got(resp[0], resp[2]))
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(tok["token"])),
           "enable: the old token stays revoked (disabling revoked it)")
    unauth(t, s.get("/api/v1/auth/me"), "enable: the old session stays ended")

    # validation, 404, role
    p = "/api/v1/users/%d" % uid
    for body, field, what in (({"active": "no"}, "active", "active not a boolean"),
                              ({"role": "boss"}, "role", "unknown role"),
                              ({"role": "team_lead"}, "unit_id", "team lead without unit_id"),
                              ({"name": ""}, "name", "empty name"),
                              ({"email": "x@y"}, "email", "email is not changeable here"),
                              ({"language": "de"}, "language", "language de"),
                              ({"employee_id": -3}, "employee_id", "employee_id negative")):
        t.error(srv.patch(p, body), 422, "invalid", field, "patch: %s -> 422 naming %s" % (what, field))
    t.error(srv.patch(p, {"role": "team_lead", "unit_id": 999999}), 422, "unknown_reference", "unit_id",
            "patch: unit_id of no unit -> 422 unknown_reference")
    st, _, u = srv.patch(p, {"name": "Renamed", "role": "admin"})
    t.check(st == 200 and u.get("name") == "Renamed" and u.get("role") == "admin",
            "patch: name and role change -> 200", ks.got(st, u))
    t.eq(s2.get("/api/v1/users")[0], 200, "patch: the new role counts at once (the user lists users)")
    st, _, u = srv.patch(p, {"role": "director"})
    t.check(st == 200 and u.get("role") == "director", "patch: back to director", ks.got(st, u))
    t.eq(s2.get("/api/v1/users")[0], 403, "patch: ... and that counts at once too")
    t.error(srv.patch("/api/v1/users/999999", {"active": False}), 404, "not_found", None,
            "patch: unknown user -> 404")
    t.eq(s2.write("PATCH", p, {"name": "Self"})[0], 403, "patch: a director may not PATCH users -> 403")

    # the admin's own account
    me = "/api/v1/users/%d" % admin["id"]
    t.error(admin["sess"].write("PATCH", me, {"active": False}), 409, "conflict", "active",
            "own account: an admin cannot disable themself -> 409 naming active")
    t.error(admin["sess"].write("PATCH", me, {"role": "director"}), 409, "conflict", "role",
            "own account: an admin cannot change their own role -> 409 naming role")
    t.error(admin["sess"].write("DELETE", me), 409, "conflict", "id",
            "own account: an admin cannot delete themself -> 409")
    st, _, u = admin["sess"].write("PATCH", me, {"name": "Admin Renamed"})
    t.check(st == 200 and u.get("name") == "Admin Renamed", "own account: renaming it is fine -> 200",
            ks.got(st, u))


def test_disable_cases(t, srv):
    """issue 13: disabling a team lead moves their open cases back to the
    team's queue, each with an owner line in its history; enabling the
    account again gives none back. (The lead's address is outside DOMAIN:
    the account counts of this file stay as they are.)"""
    f = ks.base_fixture(srv, ks.uniq("dc"))
    lead = srv.create("users", {"email": ks.uniq("lead") + "@cases.test", "name": "Lotte Lead",
                                "role": "team_lead", "unit_id": f["team"]["id"], "password": pw("lead")})
    st, _, r = srv.post("/api/v1/responses", {"client_key": ks.uniq("k"), "touchpoint_id": f["tp1"]["id"],
                                              "team_id": f["team"]["id"], "customer_id": f["cust_nl"]["id"],
                                              "channel": "phone", "answers": {"nps": 1}})
    t.check(st == 201, "disable/cases: fixture: an NPS 1 answer for the lead's team", ks.got(st, r))
    items = srv.get("/api/v1/cases?customer_id=%d" % f["cust_nl"]["id"])[2].get("items", [])
    case0 = srv.get("/api/v1/cases/%d" % items[0]["id"])[2] if len(items) == 1 else {}
    t.check(case0.get("owner_user_id") == lead["id"] and case0.get("status") == "new",
            "disable/cases: fixture: one open case, owned by the team lead", ks.short(items))
    cid = case0.get("id", 0)

    def owner_lines(c):
        return [(h.get("kind"), h.get("user_id"), h.get("detail")) for h in c.get("history", [])
                if h.get("kind") == "owner"]
    t.eq(owner_lines(case0), [], "disable/cases: fixture: no owner change in the history yet")
    st, _, u = srv.patch("/api/v1/users/%d" % lead["id"], {"active": False})
    t.check(st == 200 and u.get("active") is False, "disable/cases: the lead is disabled -> 200", ks.got(st, u))
    st, _, c1 = srv.get("/api/v1/cases/%d" % cid)
    t.check(st == 200 and "owner_user_id" in c1 and c1["owner_user_id"] is None and c1.get("status") == "new",
            "disable/cases: the open case is back in the team's queue (owner null, still new)", ks.got(st, c1))
    t.eq(c1.get("version"), case0.get("version", 0) + 1,
         "disable/cases: the case's version moved by one (a stale edit is refused)")
    t.eq(owner_lines(c1), [("owner", None, "")],
         "disable/cases: the history names the change: one owner line to the queue, by no user")
    st, _, u = srv.patch("/api/v1/users/%d" % lead["id"], {"active": True})
    t.check(st == 200 and u.get("active") is True, "disable/cases: the lead is enabled again -> 200", ks.got(st, u))
    st, _, c2 = srv.get("/api/v1/cases/%d" % cid)
    t.check(st == 200 and c2.get("owner_user_id") is None and c2.get("version") == c1.get("version")
            and owner_lines(c2) == owner_lines(c1),
            "disable/cases: enabling gives the case not back (owner null, no new history line)", ks.got(st, c2))


def test_delete(t, srv, users):
    key = "del"
    uid = users[key]["id"]
    s = must_login(t, srv, key)
    tok = make_token(t, s, "del token")
    st, _, action = srv.post("/api/v1/actions", {"title": "Owned by del", "owner_id": uid,
                                                 "start_date": "2026-03-01", "theme": "wachttijd"})
    t.check(st == 201, "delete: fixture: an open improvement action owned by the user", ks.got(st, action))
    p = "/api/v1/users/%d" % uid
    r = srv.request("DELETE", p)
    t.error(r, 409, "conflict", "id", "delete: the owner of an open action -> 409")
    msg = ((r[2] or {}).get("error") or {}).get("message", "") if isinstance(r[2], dict) else ""
    t.check("1 open improvement action" in msg, "delete: the 409 says what still refers (1 open action)", msg)
    t.eq(me_status(srv, bearer(tok["token"])), 200, "delete: the refused delete changed nothing")
    st, _, c = srv.patch("/api/v1/actions/%d" % action["id"], {"status": "cancelled"})
    t.check(st == 200, "delete: the action is cancelled", ks.got(st, c))
    st, _, b = srv.request("DELETE", p)
    t.check(st == 200 and b.get("deleted") is True and b.get("tokens_revoked") == 1
            and b.get("sessions_ended") == 1, "delete: DELETE /users/{id} -> 200 with what ended", ks.got(st, b))
    unauth(t, s.get("/api/v1/auth/me"), "delete: the session -> 401")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(tok["token"])), "delete: the token -> 401")
    resp, _ = login(srv, email(key), pw(key))
    unauth(t, resp, "delete: the old login -> 401")
    t.error(srv.get(p), 404, "not_found", None, "delete: GET /users/{id} -> 404")
    t.error(srv.request("DELETE", p), 404, "not_found", None, "delete: deleting again -> 404")
    t.error(srv.patch(p, {"active": True}), 404, "not_found", None, "delete: PATCH of a deleted user -> 404")
    st, _, lst = srv.get("/api/v1/users")
    t.check(not any(it.get("id") == uid for it in lst.get("items", [])), "delete: the user list omits it")
    row = srv.sql("SELECT email, name, disabled, deleted_at IS NOT NULL, password_hash FROM users WHERE id = ?",
                  (uid,))
    t.check(row and row[0][0].endswith("@deleted.invalid") and email(key) not in row[0][1] and row[0][2] == 1
            and row[0][3] == 1 and not row[0][4].startswith("$argon2"),
            "delete: a tombstone stays: no address, name or password of the person, disabled", ks.short(row))
    st, _, a2 = srv.get("/api/v1/actions/%d" % action["id"])
    t.check(st == 200 and a2.get("owner_id") == uid, "delete: the cancelled action still names its owner (200)",
            ks.got(st, a2))
    st, _, again = srv.post("/api/v1/users", {"email": email(key), "name": "New del", "role": "director",
                                              "password": pw("del2")})
    t.check(st == 201 and again.get("id") != uid, "delete: the e-mail address is free for a new account -> 201",
            ks.got(st, again))


def test_throttle(t, srv, now):
    now += 3600
    set_clock(srv, now)
    for i in range(5):
        unauth(t, api(srv, "POST", "/api/v1/auth/login", {"email": email("thr"), "password": "guess-%d-xxxxx" % i}),
               "throttle: wrong password %d of 5 -> 401" % (i + 1))
    r = api(srv, "POST", "/api/v1/auth/login", {"email": email("thr"), "password": pw("thr")})
    t.error(r, 429, "too_many_requests", None, "throttle: the account from this address is locked -> 429")
    ra = r[1].get("Retry-After")
    t.eq(ra, "900", "throttle: 429 carries Retry-After 900 (the 15 minutes, on the fixed test clock)")
    msg = ((r[2] or {}).get("error") or {}).get("message", "") if isinstance(r[2], dict) else ""
    t.check("account" in msg and "minute" in msg, "throttle: the 429 says which limit and how long", msg)
    resp, _ = login(srv, email("thr2"), pw("thr2"))
    t.check(resp[0] == 200, "throttle: a colleague at the same address still logs in -> 200",
            ks.got(resp[0], resp[2]))
    set_clock(srv, now + 600)
    r = api(srv, "POST", "/api/v1/auth/login", {"email": email("thr"), "password": pw("thr")})
    ra = r[1].get("Retry-After")
    t.eq((r[0], ra), (429, "300"), "throttle: 10 minutes later still 429, Retry-After 300 (the 5 minutes left)")
    set_clock(srv, now + 16 * 60)
    resp, _ = login(srv, email("thr"), pw("thr"))
    t.check(resp[0] == 200, "throttle: after the window the right password logs in", ks.got(resp[0], resp[2]))
    return now + 16 * 60


def test_sweep(t, srv, now):
    must_login(t, srv, "tok")
    n = ks_count(srv, "SELECT count(*) FROM sessions")
    live = ks_count(srv, "SELECT count(*) FROM sessions WHERE expires_at > ?", (now,))
    t.check(n >= 1 and live >= 1, "sweep: session rows exist, at least the login just made is live",
            "rows %d, live %d" % (n, live))
    later = now + 13 * 3600
    set_clock(srv, later)
    due = ks_count(srv, "SELECT count(*) FROM sessions WHERE expires_at <= ?", (later,))
    t.eq(due, n, "sweep: 13 hours later every session row (sessions last 12 hours) has expired but is still there")
    st, _, b = srv.post("/api/v1/admin/scheduler/run", {})
    t.check(st == 200, "sweep: a scheduler pass runs", ks.got(st, b))
    t.eq(ks_count(srv, "SELECT count(*) FROM sessions WHERE expires_at <= ?", (later,)), 0,
         "sweep: after the pass no expired session row is left")
    return later


def test_secure(t, srv):
    srv2 = ks.Server(t, db=srv.db, args=["--base-url", "https://feedback.example.nl"])
    try:
        try:
            hz = srv2.start()
            t.healthz(hz, "secure: server with an https --base-url on the same database starts; /healthz ok")
        except ks.FixtureError as ex:
            t.check(False, "secure: server with an https --base-url starts", str(ex))
            return
        resp, s = login(srv2, email("tok"), pw("tok"))
        value, attrs = parse_cookie(resp[1])
        t.check(resp[0] == 200 and value and "secure" in attrs and "httponly" in attrs,
                "secure: with --base-url https://... the session cookie is Secure (no --secure-cookies)",
                "%s %s" % (resp[0], resp[1].get_all("Set-Cookie")))
        if s is not None:
            st, hd, _ = s.write("POST", "/api/v1/auth/logout")
            t.check(st == 200 and "secure" in parse_cookie(hd)[1], "secure: the logout cookie is Secure too")
    finally:
        srv2.stop("secure: the https server exits 0 on SIGTERM")
        srv2.cleanup()


# ---------------------------------------------------------------------------
# CLI


def cli(args):
    return ks.run_cli(args)


def cli_ok(t, args, what):
    rc, out, err = cli(args)
    t.check(rc == 0, "cli: %s -> exit 0" % what, "rc %s\nstdout %s\nstderr %s" % (rc, out, err))
    t.check(ks.sanitizer_report(err) is None, "cli: %s: no sanitizer report" % what, err[-3000:])
    return out


def cli_refused(t, args, code, mention, what):
    rc, out, err = cli(args)
    t.check(rc == code and mention in err and err.startswith("klantstem: "),
            "cli: %s -> exit %d, the message says '%s'" % (what, code, mention),
            "rc %s\nstdout %s\nstderr %s" % (rc, out, err))
    t.check(ks.sanitizer_report(err) is None, "cli: %s: no sanitizer report" % what, err[-3000:])


def test_cli(t, srv, users):
    db = srv.db
    out = cli_ok(t, ["users", "list", "--db", db], "users list")
    t.check(email("tok") in out and "director" in out and "$argon2" not in out,
            "cli: users list shows addresses and roles, no hashes", out[:1500])
    cli_refused(t, ["users", "disable", "--db", db, "--user", "nobody@" + DOMAIN], 1, "no account",
                "users disable of an unknown address")
    cli_refused(t, ["users", "disable", "--db", db], 2, "--user", "users disable without --user")
    cli_refused(t, ["users", "frobnicate", "--db", db], 2, "unknown sub-command", "users frobnicate")
    cli_refused(t, ["users", "list"], 2, "--db", "users list without --db")
    if ks.is_pg_uri(db):
        # issue 18: a URI naming a database that is not there (the server's
        # message), and none is created by the typo
        name = db.rsplit("/", 1)[1] + "_missing"
        cli_refused(t, ["users", "list", "--db", db + "_missing"], 1, 'database "%s" does not exist' % name,
                    "users list of a missing database")
        admin = ks.db_connect(os.environ["KS_PG_URI"], readonly=True)
        try:
            made = admin.execute("SELECT count(*) FROM pg_database WHERE datname = ?", (name,)).fetchone()[0]
        finally:
            admin.close()
        t.eq(made, 0, "cli: ... and no database was created by the typo")
    else:
        cli_refused(t, ["users", "list", "--db", db + ".missing"], 1, "no database file",
                    "users list of a missing file")
        t.check(not os.path.exists(db + ".missing"), "cli: ... and no database was created by the typo")

    # disable / enable a user while the server runs: refused at once
    s = must_login(t, srv, "cli")
    tok = make_token(t, s, "cli token")
    out = cli_ok(t, ["users", "disable", "--db", db, "--user", email("cli")], "users disable")
    t.check("disabled" in out, "cli: users disable says so", out)
    unauth(t, s.get("/api/v1/auth/me"), "cli: the disabled user's session is refused by the running server")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(tok["token"])),
           "cli: ... and the token")
    cli_ok(t, ["users", "enable", "--db", db, "--user", str(users["cli"]["id"])], "users enable by id")
    s = must_login(t, srv, "cli")

    # tokens
    tok = make_token(t, s, "cli listed")
    out = cli_ok(t, ["tokens", "list", "--db", db, "--user", email("cli")], "tokens list --user")
    t.check("cli listed" in out and tok["token"] not in out, "cli: tokens list names the token, not its secret",
            out)
    out = cli_ok(t, ["tokens", "list", "--db", db], "tokens list (all users)")
    t.check("cli listed" in out and email("tok") in out, "cli: tokens list without --user lists every user's",
                out[:1500])
    cli_ok(t, ["tokens", "revoke", "--db", db, "--id", str(tok["id"])], "tokens revoke")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(tok["token"])),
           "cli: the revoked token is refused by the running server")
    cli_refused(t, ["tokens", "revoke", "--db", db, "--id", str(tok["id"])], 1, "no API token",
                "tokens revoke of a revoked id")
    cli_refused(t, ["tokens", "revoke", "--db", db, "--id", "abc"], 2, "--id", "tokens revoke --id abc")
    cli_refused(t, ["tokens", "revoke", "--db", db], 2, "--id", "tokens revoke without --id")

    # delete through the CLI
    out = cli_ok(t, ["users", "delete", "--db", db, "--user", email("cli")], "users delete")
    t.check("deleted" in out, "cli: users delete says so", out)
    unauth(t, s.get("/api/v1/auth/me"), "cli: the deleted user's session is refused")

    # the last active admin: only the operator can reach it (an admin
    # acting through the API is always another active admin)
    admins = [r[0] for r in srv.sql("SELECT email FROM users WHERE role = 'admin' AND disabled = 0"
                                    " AND deleted_at IS NULL ORDER BY id")]
    t.check(len(admins) >= 2, "cli: fixture: at least two active admins", ks.short(admins))
    for a in admins[1:]:
        cli_ok(t, ["users", "disable", "--db", db, "--user", a], "disable admin %s" % a)
    cli_refused(t, ["users", "disable", "--db", db, "--user", admins[0]], 1, "last active admin",
                "users disable of the last active admin")
    cli_refused(t, ["users", "delete", "--db", db, "--user", admins[0]], 1, "last active admin",
                "users delete of the last active admin")
    t.eq(me_status(srv, bearer(srv.token)), 200, "cli: the last active admin still works")
    for a in admins[1:]:
        cli_ok(t, ["users", "enable", "--db", db, "--user", a], "enable admin %s again" % a)


# ---------------------------------------------------------------------------


def main(t):
    srv = ks.Server(t, args=["--test-clock", T0])
    try:
        try:
            hz = srv.start()
            t.healthz(hz, "server (test clock %s) starts; /healthz ok at the tree's schema version" % T0)
        except ks.FixtureError as ex:
            t.check(False, "server (test clock %s) starts" % T0, str(ex))
            return
        run_all(t, srv)
        srv.stop()
        test_secure(t, srv)
    finally:
        srv.stop()
        srv.cleanup()


def run_all(t, srv):
    users = {}
    for key in ("tok", "other", "pwc", "dis", "del", "thr", "thr2", "cli"):
        users[key] = new_user(t, srv, key)
    users["adm"] = new_user(t, srv, "adm", role="admin")
    admin = {"id": users["adm"]["id"], "sess": must_login(t, srv, "adm")}
    want = sorted([(email(k), "director", 0) for k in users if k != "adm"] + [(email("adm"), "admin", 0)])
    # the suffix is matched here: PostgreSQL's case-insensitive email
    # column (a nondeterministic collation) has no LIKE
    t.eq(sorted(r for r in srv.sql("SELECT email, role, disabled FROM users")
                if r[0].endswith("@" + DOMAIN)), want,
         "fixture (from the file): %d accounts of this test, 8 directors and 1 admin, none disabled" % len(want))
    now = T0_TS
    s, first = test_create(t, srv, now)
    o = test_list(t, srv, s, first, users)
    now = test_last_used(t, srv, s, first, now)
    test_expiry(t, srv, s, first, now)
    test_revoke(t, srv, s, o, users)
    test_password(t, srv, users)
    test_disable(t, srv, users, admin)
    test_disable_cases(t, srv)
    test_delete(t, srv, users)
    now = test_throttle(t, srv, now)
    test_cli(t, srv, users)
    test_sweep(t, srv, now)


if __name__ == "__main__":
    ks.run(main, start_server=False)
