#!/usr/bin/python3
"""Accounts and access (docs/API.md, "Accounts and access"; src/api/api_auth.c,
src/auth/auth.c, the access masks in src/api/routes.c).

One server in test mode (`serve --test-clock`, so the 15-minute throttle
window and the 12-hour session lifetime can be crossed by moving the clock)
on a small organisation built through the API with the test admin's bearer
token:

    organisation
      department A: team A1 (employees ea1 = the employee account, ea1b),
                    team A2 (ea2)
      department B: team B1 (eb1)

with responses in every team, and one account per role (POST /api/v1/users):
employee (ea1), team_lead (unit A1), manager (unit department A), director,
admin; plus accounts for the password change and the throttling tests.

Covered: login (cookie attributes, same answer for a wrong password and an
unknown address, case of the address, field errors), the per-account-and-
address and per-address throttles (with Retry-After), /auth/me, logout, CSRF on cookie-authenticated writes,
session fixation, password change (other sessions end), API tokens, the role
of every access class on a route of that class (cookie and bearer), the
scope of metrics / trend / compare per role, the user list and user
validation, open text returned verbatim as JSON, and session expiry.

argon2id makes every login, failed login and account creation cost
~0.2-0.3 s under ASan: the test keeps their number around 60.
"""

import base64
import calendar
import concurrent.futures
import http.client
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

T0 = "2026-03-02T10:00:00Z"
T0_TS = calendar.timegm((2026, 3, 2, 10, 0, 0))
MIN = 60
DOMAIN = "klantstem.test"
COOKIE = "ks_session"


def pw(label):
    return "pw-%s-correct-horse" % label


def fake_token():
    """43 characters of url-safe base64 (the shape of a real session token)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def api(srv, method, path, body=None, headers=None):
    """A request with exactly the given headers (no test-admin token)."""
    return srv.request(method, path, body, headers=dict(headers or {}), auth=False)


def bearer(token):
    return {"Authorization": "Bearer " + token}


def set_cookies(hd):
    return (hd.get_all("Set-Cookie") or []) if hd is not None else []


def parse_cookie(hd):
    """The ks_session Set-Cookie of a response: (value, {attr_lower: value}) or (None, {})."""
    for raw in set_cookies(hd):
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
    """A browser-like client: the session cookie, and the CSRF token it got."""

    def __init__(self, srv, cookie, csrf, label):
        self.srv, self.cookie, self.csrf, self.label = srv, cookie, csrf, label

    def headers(self, csrf=True, extra=None):
        h = {"Cookie": "%s=%s" % (COOKIE, self.cookie)}
        if csrf is True:
            h["X-CSRF-Token"] = self.csrf
        elif isinstance(csrf, str):
            h["X-CSRF-Token"] = csrf
        h.update(extra or {})
        return h

    def get(self, path):
        return api(self.srv, "GET", path, headers=self.headers(csrf=False))

    def write(self, method, path, body=None, csrf=True):
        """csrf: True = this session's token, False = no header, a str = that header."""
        return api(self.srv, method, path, body, self.headers(csrf))


def login(srv, email, password, headers=None, body=None):
    """POST /api/v1/auth/login; returns (resp, Session or None)."""
    b = body if body is not None else {"email": email, "password": password}
    resp = api(srv, "POST", "/api/v1/auth/login", b, headers)
    st, hd, data = resp
    cookie, _ = parse_cookie(hd)
    sess = None
    if st == 200 and cookie and isinstance(data, dict):
        sess = Session(srv, cookie, data.get("csrf_token"), email)
    return resp, sess


def must_login(t, srv, email, password, name):
    resp, sess = login(srv, email, password)
    t.check(sess is not None, name, ks.got(resp[0], resp[2]))
    if sess is None:
        raise ks.FixtureError("cannot log in as %s: %s %s" % (email, resp[0], ks.short(resp[2])))
    return sess


def set_clock(srv, ts):
    st, _, b = srv.post("/api/v1/admin/clock", {"now": ks.iso(ts)})
    if st != 200:
        raise ks.FixtureError("POST /api/v1/admin/clock -> %s %s" % (st, ks.short(b)))


def unauth(t, resp, name):
    """401, code unauthenticated, and a WWW-Authenticate header."""
    st, hd, _ = resp
    ok = t.error(resp, 401, "unauthenticated", None, name)
    if st == 401:
        t.check(bool(hd.get("WWW-Authenticate")), name + " (WWW-Authenticate header)",
                "headers: %s" % dict(hd))
    return ok


def csrf_refused(t, resp, name):
    return t.error(resp, 403, "forbidden", "X-CSRF-Token", name)


def role_refused(t, resp, name):
    """403 for the role: code forbidden, no field (a CSRF refusal names X-CSRF-Token)."""
    st, _, body = resp
    err = body.get("error") if isinstance(body, dict) else None
    ok = st == 403 and isinstance(err, dict) and err.get("code") == "forbidden" \
        and err.get("field") is None
    return t.check(ok, name, "expected: 403 forbidden field=None\n" + ks.got(st, body))


def count(srv, sql, args=()):
    return srv.sql(sql, args)[0][0]


# ---------------------------------------------------------------------------
# fixture


def build_org(t, srv):
    tag = ks.uniq("auth")
    o = {}
    o["org"] = srv.create("teams", {"name": "Energie " + tag, "kind": "organisation"})
    o["deptA"] = srv.create("teams", {"name": "Afdeling A " + tag, "kind": "department",
                                      "parent_id": o["org"]["id"]})
    o["deptB"] = srv.create("teams", {"name": "Afdeling B " + tag, "kind": "department",
                                      "parent_id": o["org"]["id"]})
    o["A1"] = srv.create("teams", {"name": "Team A1 " + tag, "kind": "team", "parent_id": o["deptA"]["id"]})
    o["A2"] = srv.create("teams", {"name": "Team A2 " + tag, "kind": "team", "parent_id": o["deptA"]["id"]})
    o["B1"] = srv.create("teams", {"name": "Team B1 " + tag, "kind": "team", "parent_id": o["deptB"]["id"]})
    for key, team, first in (("ea1", "A1", "Sanne"), ("ea1b", "A1", "Joris"), ("ea2", "A2", "Fatima"),
                             ("eb1", "B1", "Pieter")):
        o[key] = srv.create("employees", {"team_id": o[team]["id"], "first_name": first,
                                          "last_name": "Test", "external_id": "%s-%s" % (key, tag)})
    o["cust"] = srv.create("customers", {"external_id": "C-" + tag, "name": "Henk Jansen", "language": "nl"})
    o["survey"] = srv.create("surveys", {"name": "Na contact " + tag, "questions": ks.survey_questions()})
    o["journey"] = srv.create("journeys", {"name": "Storing " + tag})
    o["tp"] = srv.create("touchpoints", {"journey_id": o["journey"]["id"], "name": "Telefoon",
                                         "position": 1, "survey_id": o["survey"]["id"]})
    # responses: A1 12 (6 by ea1, 6 by ea1b), A2 7, B1 9 (28); January and February 2026
    jan = calendar.timegm((2026, 1, 5, 9, 0, 0))
    feb = calendar.timegm((2026, 2, 5, 9, 0, 0))
    plan = (("ea1", "A1", 6), ("ea1b", "A1", 6), ("ea2", "A2", 7), ("eb1", "B1", 9))
    scores = (10, 9, 9, 8, 7, 3, 10, 6, 9)
    for emp, team, n in plan:
        for i in range(n):
            when = (jan if i % 2 == 0 else feb) + i * 3600
            srv.create("responses", {
                "client_key": "%s-%s-%d" % (tag, emp, i), "touchpoint_id": o["tp"]["id"],
                "employee_id": o[emp]["id"], "team_id": o[team]["id"], "customer_id": o["cust"]["id"],
                "channel": "phone", "received_at": ks.iso(when),
                "answers": {"nps": scores[i % len(scores)], "grade": 7 + i % 3}})
    units = srv.sql("WITH RECURSIVE sub(id) AS (SELECT CAST(? AS BIGINT) UNION ALL SELECT o.id FROM org_units o"
                    " JOIN sub ON o.parent_id = sub.id) SELECT o.kind, count(*) FROM org_units o"
                    " WHERE o.id IN (SELECT id FROM sub) GROUP BY o.kind ORDER BY o.kind", (o["org"]["id"],))
    per_emp = srv.sql("SELECT employee_id, team_id, count(*) FROM responses GROUP BY employee_id, team_id"
                      " ORDER BY employee_id")
    t.eq((units, per_emp),
         ([("department", 2), ("organisation", 1), ("team", 3)],
          sorted([(o[emp]["id"], o[team]["id"], n) for emp, team, n in plan])),
         "fixture (from the file): organisation, 2 departments, 3 teams; responses per employee and team "
         "ea1/A1 6, ea1b/A1 6, ea2/A2 7, eb1/B1 9 (28 in all)")
    return o


ACCOUNTS = (
    # key, role, links (filled from the org)
    ("emp", "employee", {"employee_id": "ea1"}),
    ("lead", "team_lead", {"unit_id": "A1"}),
    ("mgr", "manager", {"unit_id": "deptA"}),
    ("dir", "director", {}),
    ("adm", "admin", {}),
    ("pwu", "employee", {"employee_id": "ea2"}),
    ("thr", "director", {}),
)


def email(key):
    return "%s@%s" % (key, DOMAIN)


def create_users(t, srv, o):
    users = {}
    for key, role, links in ACCOUNTS:
        body = {"email": email(key), "name": "User %s" % key, "role": role, "password": pw(key)}
        for field, ref in links.items():
            body[field] = o[ref]["id"]
        st, _, u = srv.post("/api/v1/users", body)
        ok = st == 201 and isinstance(u, dict) and u.get("role") == role and u.get("email") == email(key)
        for field, ref in links.items():
            ok = ok and u.get(field) == o[ref]["id"]
        t.check(ok, "users: POST /api/v1/users (%s) -> 201 with role and links" % role, ks.got(st, u))
        if st != 201:
            raise ks.FixtureError("cannot create the %s account" % role)
        users[key] = u
    return users


# ---------------------------------------------------------------------------
# users: list and validation


def test_users(t, srv, o, users):
    st, hd, lst = srv.get("/api/v1/users")
    items = lst.get("items") if isinstance(lst, dict) else None
    t.check(st == 200 and isinstance(items, list), "users: GET /api/v1/users (admin token) -> 200 {items}",
            ks.got(st, lst))
    items = items or []
    text = ks.short(lst, 100000)
    bad_keys = sorted({k for it in items if isinstance(it, dict) for k in it
                       if "pass" in k.lower() or "hash" in k.lower()})
    t.check(not bad_keys and "$argon2" not in text,
            "users: the list carries no password or hash field and no argon2 string",
            "keys: %s\n%s" % (bad_keys, text[:1500]))
    by_mail = {it.get("email"): it for it in items if isinstance(it, dict)}
    t.check(all(by_mail.get(email(k), {}).get("role") == r for k, r, _ in ACCOUNTS),
            "users: the list holds every account with its role", text[:1500])
    t.check(all(by_mail.get(email(k), {}).get("id") == users[k]["id"] for k, _, _ in ACCOUNTS),
            "users: list ids equal the ids POST returned", text[:1500])

    n_users = count(srv, "SELECT count(*) FROM users")
    base = {"email": "new@" + DOMAIN, "name": "Nieuw", "role": "director", "password": pw("new")}
    cases = (
        (dict(base, role="superuser"), 422, "invalid", "role", "unknown role"),
        (dict(base, role="Admin"), 422, "invalid", "role", "role in another case"),
        ({k: v for k, v in base.items() if k != "role"}, 422, "invalid", "role", "role missing"),
        (dict(base, role="employee"), 422, "invalid", "employee_id", "employee without employee_id"),
        (dict(base, role="team_lead"), 422, "invalid", "unit_id", "team lead without unit_id"),
        (dict(base, role="manager"), 422, "invalid", "unit_id", "manager without unit_id"),
        (dict(base, role="employee", employee_id=999999), 422, "unknown_reference", "employee_id",
         "employee_id of no employee"),
        (dict(base, role="team_lead", unit_id=999999), 422, "unknown_reference", "unit_id",
         "unit_id of no unit"),
        (dict(base, role="employee", employee_id=o["ea1b"]["id"], unit_id=999999), 422, "unknown_reference",
         "unit_id", "a valid employee_id but unit_id of no unit"),
        (dict(base, password="short-pw1"), 422, "invalid", "password", "password of 9 characters"),
        ({k: v for k, v in base.items() if k != "password"}, 422, "invalid", "password", "password missing"),
        (dict(base, email="not-an-address"), 422, "invalid", "email", "e-mail without @"),
        ({k: v for k, v in base.items() if k != "email"}, 422, "invalid", "email", "e-mail missing"),
        (dict(base, email=email("dir")), 409, "conflict", "email", "duplicate e-mail"),
        (dict(base, email=email("dir").upper()), 409, "conflict", "email", "duplicate e-mail in another case"),
    )
    for body, status, code, field, what in cases:
        t.error(srv.post("/api/v1/users", body), status, code, field,
                "users: POST /api/v1/users with %s -> %d %s field %s" % (what, status, code, field))
    t.error(srv.post("/api/v1/users", "{\"email\": "), 400, "malformed_json", None,
            "users: POST /api/v1/users with malformed JSON -> 400")
    t.eq(count(srv, "SELECT count(*) FROM users"), n_users, "users: no account written by the refused requests")


# ---------------------------------------------------------------------------
# login


def test_login(t, srv, users):
    """Returns the employee's session."""
    resp, emp = login(srv, email("emp"), pw("emp"))
    st, hd, body = resp
    t.check(st == 200, "login: right password -> 200", ks.got(st, body))
    value, attrs = parse_cookie(hd)
    t.check(value is not None and len(value) >= 32, "login: Set-Cookie ks_session with a long random value",
            "Set-Cookie: %s" % set_cookies(hd))
    t.check("httponly" in attrs, "login: the session cookie is HttpOnly", "Set-Cookie: %s" % set_cookies(hd))
    t.check(attrs.get("samesite", "").lower() == "lax", "login: the session cookie is SameSite=Lax",
            "Set-Cookie: %s" % set_cookies(hd))
    t.check(attrs.get("path") == "/", "login: the session cookie has Path=/", "Set-Cookie: %s" % set_cookies(hd))
    t.check("secure" not in attrs, "login: no Secure attribute without --secure-cookies",
            "Set-Cookie: %s" % set_cookies(hd))
    t.check(attrs.get("max-age") == str(12 * 3600), "login: Max-Age is 12 hours (43200)",
            "Set-Cookie: %s" % set_cookies(hd))
    user = body.get("user") if isinstance(body, dict) else None
    csrf = body.get("csrf_token") if isinstance(body, dict) else None
    t.check(isinstance(csrf, str) and len(csrf) >= 32 and csrf != value,
            "login: the body has a csrf_token (not the cookie value)", ks.got(st, body))
    t.check(isinstance(user, dict) and user.get("email") == email("emp") and user.get("role") == "employee"
            and user.get("id") == users["emp"]["id"] and user.get("employee_id") == users["emp"]["employee_id"],
            "login: the body has the user (id, email, role, employee_id)", ks.got(st, body))
    t.check(isinstance(user, dict) and not any("pass" in k or "hash" in k for k in user),
            "login: the user in the body has no password fields", ks.got(st, body))
    t.check("application/json" in (hd.get("Content-Type") or ""), "login: answers application/json",
            "Content-Type: %s" % hd.get("Content-Type"))
    if emp is None:
        raise ks.FixtureError("the employee cannot log in")

    wrong = api(srv, "POST", "/api/v1/auth/login", {"email": email("emp"), "password": "wrong-password-1"})
    unauth(t, wrong, "login: wrong password -> 401 unauthenticated")
    t.check(parse_cookie(wrong[1])[0] is None, "login: no session cookie after a wrong password",
            "Set-Cookie: %s" % set_cookies(wrong[1]))
    unknown = api(srv, "POST", "/api/v1/auth/login", {"email": "nobody@" + DOMAIN, "password": "wrong-password-1"})
    unauth(t, unknown, "login: unknown e-mail -> 401 unauthenticated")
    t.check(isinstance(wrong[2], dict) and wrong[2] == unknown[2],
            "login: unknown e-mail and wrong password get the very same answer",
            "wrong password: %s\nunknown e-mail: %s" % (ks.short(wrong[2]), ks.short(unknown[2])))

    resp, emp2 = login(srv, email("emp").upper(), pw("emp"))
    t.check(resp[0] == 200 and emp2 is not None and (resp[2].get("user") or {}).get("id") == users["emp"]["id"],
            "login: the e-mail address in another case logs in the same account", ks.got(resp[0], resp[2]))
    t.check(emp2 is not None and emp2.cookie != emp.cookie and emp2.csrf != emp.csrf,
            "login: every login gets its own session and CSRF token",
            "first %s / second %s" % (emp.cookie, emp2 and emp2.cookie))

    fields = (
        ({"password": pw("emp")}, "email"),
        ({"email": email("emp")}, "password"),
        ({"email": 12, "password": pw("emp")}, "email"),
        ({"email": email("emp"), "password": None}, "password"),
        ({}, "email"),
    )
    for body, field in fields:
        r = api(srv, "POST", "/api/v1/auth/login", body)
        t.error(r, 422, "invalid", field, "login: %s -> 422 naming %s" % (ks.short(body), field))
        t.check(parse_cookie(r[1])[0] is None, "login: no cookie with the 422 (%s)" % field)
    for raw, what in (("{\"email\": \"a@b\", ", "truncated JSON"), ("[1, 2]", "a JSON array"),
                      ("email=a@b&password=x", "a form body")):
        t.error(api(srv, "POST", "/api/v1/auth/login", raw), 400, "malformed_json", None,
                "login: %s -> 400 malformed_json" % what)
    return emp, emp2


# ---------------------------------------------------------------------------
# session: me, logout, fixation


def test_session(t, srv, emp, emp2, users):
    st, _, me = emp.get("/api/v1/auth/me")
    t.check(st == 200 and isinstance(me, dict) and (me.get("user") or {}).get("id") == users["emp"]["id"]
            and (me.get("user") or {}).get("role") == "employee",
            "me: GET /api/v1/auth/me with the cookie -> 200, the employee", ks.got(st, me))
    t.check(isinstance(me, dict) and me.get("csrf_token") == emp.csrf,
            "me: returns the session's CSRF token (for a reloaded page)", ks.got(st, me))
    unauth(t, api(srv, "GET", "/api/v1/auth/me"), "me: without credentials -> 401")
    changed = emp.cookie[:-1] + ("B" if emp.cookie.endswith("A") else "A")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers={"Cookie": "%s=%s" % (COOKIE, changed)}),
           "me: a cookie with one character changed -> 401")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers={"Cookie": "other=" + emp.cookie}),
           "me: the session value under another cookie name -> 401")
    t.status(api(srv, "GET", "/api/v1/auth/me",
                 headers={"Cookie": "theme=dark; %s=%s; lang=nl" % (COOKIE, emp.cookie)}), 200,
             "me: the session cookie among other cookies -> 200")

    # logout of the second session
    csrf_refused(t, emp2.write("POST", "/api/v1/auth/logout", csrf=False),
                 "logout: with the cookie but no X-CSRF-Token -> 403 naming X-CSRF-Token")
    t.status(emp2.get("/api/v1/auth/me"), 200, "logout: the refused logout left the session alive")
    st, hd, body = emp2.write("POST", "/api/v1/auth/logout")
    t.check(st == 200 and isinstance(body, dict) and body.get("logged_out") is True,
            "logout: with the CSRF token -> 200 {logged_out:true}", ks.got(st, body))
    value, attrs = parse_cookie(hd)
    t.check(value == "" and attrs.get("max-age") == "0" and "httponly" in attrs,
            "logout: Set-Cookie clears ks_session (empty value, Max-Age=0, HttpOnly)",
            "Set-Cookie: %s" % set_cookies(hd))
    unauth(t, emp2.get("/api/v1/auth/me"), "logout: the old cookie -> 401 afterwards")
    unauth(t, emp2.write("POST", "/api/v1/auth/logout"), "logout: the old cookie cannot log out again -> 401")
    t.status(emp.get("/api/v1/auth/me"), 200, "logout: the user's other session is still alive")
    unauth(t, api(srv, "POST", "/api/v1/auth/logout"), "logout: without credentials -> 401")


def test_fixation(t, srv, users):
    """The manager logs in carrying a cookie an attacker planted. Returns the manager's session."""
    planted = fake_token()
    h = {"Cookie": "%s=%s" % (COOKIE, planted)}
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=h), "fixation: a made-up ks_session cookie -> 401")
    unauth(t, api(srv, "GET", "/api/v1/metrics", headers=h), "fixation: a made-up cookie reads no metrics -> 401")
    resp, mgr = login(srv, email("mgr"), pw("mgr"), headers=h)
    st, hd, body = resp
    t.check(st == 200 and mgr is not None, "fixation: login carrying the planted cookie -> 200", ks.got(st, body))
    value, _ = parse_cookie(hd)
    t.check(value is not None and value != "" and value != planted,
            "fixation: the login sets a NEW session value, not the planted one",
            "planted %s, Set-Cookie %s" % (planted, set_cookies(hd)))
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=h),
           "fixation: the planted value still does not authenticate after the login")
    if mgr is None:
        raise ks.FixtureError("the manager cannot log in")
    st, _, me = mgr.get("/api/v1/auth/me")
    t.check(st == 200 and (me.get("user") or {}).get("id") == users["mgr"]["id"],
            "fixation: the new cookie is the manager's session", ks.got(st, me))
    for bad in ("x", planted[:20], planted + "A", "", "%s; %s=%s" % (planted, COOKIE, planted)):
        r = api(srv, "GET", "/api/v1/auth/me", headers={"Cookie": "%s=%s" % (COOKIE, bad)})
        unauth(t, r, "fixation: ks_session=%r -> 401" % bad[:50])
    return mgr


# ---------------------------------------------------------------------------
# CSRF and API tokens


def test_csrf(t, srv, o, sess, users):
    dirs, adm, emp = sess["dir"], sess["adm"], sess["emp"]
    n_tok = count(srv, "SELECT count(*) FROM api_tokens")
    csrf_refused(t, dirs.write("POST", "/api/v1/auth/tokens", {"name": "no-csrf"}, csrf=False),
                 "csrf: cookie POST /auth/tokens without X-CSRF-Token -> 403 naming X-CSRF-Token")
    csrf_refused(t, dirs.write("POST", "/api/v1/auth/tokens", {"name": "wrong"}, csrf=fake_token()),
                 "csrf: cookie POST with a wrong X-CSRF-Token -> 403")
    csrf_refused(t, dirs.write("POST", "/api/v1/auth/tokens", {"name": "empty"}, csrf=""),
                 "csrf: cookie POST with an empty X-CSRF-Token -> 403")
    csrf_refused(t, dirs.write("POST", "/api/v1/auth/tokens", {"name": "other"}, csrf=emp.csrf),
                 "csrf: the CSRF token of another user's session -> 403")
    csrf_refused(t, dirs.write("POST", "/api/v1/auth/tokens", {"name": "cookie"}, csrf=dirs.cookie),
                 "csrf: the session cookie value as X-CSRF-Token -> 403")
    csrf_refused(t, dirs.write("POST", "/api/v1/auth/tokens", {"name": "prefix"}, csrf=dirs.csrf[:-1]),
                 "csrf: the CSRF token missing its last character -> 403")
    t.eq(count(srv, "SELECT count(*) FROM api_tokens"), n_tok, "csrf: no token written by the refused requests")
    st, _, b = dirs.write("POST", "/api/v1/auth/tokens", {"name": "with-csrf"})
    t.check(st == 201 and isinstance(b, dict) and isinstance(b.get("token"), str),
            "csrf: cookie POST /auth/tokens with the right X-CSRF-Token -> 201", ks.got(st, b))
    st, _, b = api(srv, "POST", "/api/v1/auth/tokens", {"name": "lower"},
                   dict(dirs.headers(csrf=False), **{"x-csrf-token": dirs.csrf}))
    t.check(st == 201, "csrf: the header name is case-insensitive (x-csrf-token) -> 201", ks.got(st, b))
    t.status(dirs.get("/api/v1/metrics"), 200, "csrf: cookie GET needs no CSRF token -> 200")

    # PUT and PATCH with the admin's cookie
    rule = "/api/v1/touchpoints/%d/rule" % o["tp"]["id"]
    csrf_refused(t, adm.write("PUT", rule, {"enabled": False}, csrf=False),
                 "csrf: admin cookie PUT %s without X-CSRF-Token -> 403" % rule)
    t.eq(count(srv, "SELECT count(*) FROM survey_rules"), 0, "csrf: the refused PUT wrote no rule")
    csrf_refused(t, adm.write("PUT", rule, {"enabled": False}, csrf=sess["mgr"].csrf),
                 "csrf: admin cookie PUT with another session's token -> 403")
    st, _, b = adm.write("PUT", rule, {"enabled": False, "delay_minutes": 60})
    t.check(st == 200 and isinstance(b, dict), "csrf: admin cookie PUT rule with the token -> 200", ks.got(st, b))
    team = "/api/v1/teams/%d" % o["org"]["id"]
    before = o["org"]["name"]
    csrf_refused(t, adm.write("PATCH", team, {"name": "Hacked"}, csrf=False),
                 "csrf: admin cookie PATCH a team without X-CSRF-Token -> 403")
    t.eq(count(srv, "SELECT count(*) FROM org_units WHERE name = 'Hacked'"), 0,
         "csrf: the refused PATCH changed nothing")
    st, _, b = adm.write("PATCH", team, {"name": before + " bv"})
    t.check(st == 200 and isinstance(b, dict) and b.get("name") == before + " bv",
            "csrf: admin cookie PATCH with the token -> 200", ks.got(st, b))
    csrf_refused(t, adm.write("POST", "/api/v1/responses",
                              {"touchpoint_id": o["tp"]["id"], "answers": {"nps": 0}}, csrf=False),
                 "csrf: admin cookie POST /responses without X-CSRF-Token -> 403")


def test_tokens(t, srv, sess, users):
    """Each role creates an API token with its session. Returns {key: token}."""
    tokens = {}
    for key in ("emp", "lead", "mgr", "dir", "adm"):
        st, hd, b = sess[key].write("POST", "/api/v1/auth/tokens", {"name": "token of %s" % key})
        tok = b.get("token") if isinstance(b, dict) else None
        t.check(st == 201 and isinstance(tok, str) and len(tok) >= 32 and b.get("name") == "token of %s" % key,
                "tokens: POST /api/v1/auth/tokens {name} (%s) -> 201 with the token" % key, ks.got(st, b))
        if not tok:
            raise ks.FixtureError("no API token for %s" % key)
        tokens[key] = tok
    stored = [r[0] for r in srv.sql("SELECT token_hash FROM api_tokens")]
    t.check(not any(tok in stored for tok in tokens.values()),
            "tokens: the database keeps only hashes, never the token shown", "stored: %s" % stored[:5])
    t.check(len(set(tokens.values())) == len(tokens), "tokens: every token is different")
    for key, tok in tokens.items():
        st, _, me = api(srv, "GET", "/api/v1/auth/me", headers=bearer(tok))
        t.check(st == 200 and (me.get("user") or {}).get("id") == users[key]["id"]
                and (me.get("user") or {}).get("role") == users[key]["role"],
                "tokens: Authorization: Bearer (%s) -> /auth/me is that user" % key, ks.got(st, me))
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(fake_token())),
           "tokens: a wrong bearer token -> 401")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(tokens["dir"][:-2])),
           "tokens: a truncated bearer token -> 401")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer("")), "tokens: an empty bearer token -> 401")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(sess["dir"].cookie)),
           "tokens: a session cookie value used as bearer token -> 401")
    unauth(t, api(srv, "GET", "/api/v1/auth/me", headers={"Cookie": "%s=%s" % (COOKIE, tokens["dir"])}),
           "tokens: an API token used as session cookie -> 401")
    unauth(t, api(srv, "GET", "/api/v1/auth/me",
                  headers=dict(bearer(fake_token()), Cookie="%s=%s" % (COOKIE, sess["dir"].cookie))),
           "tokens: a wrong bearer token is not rescued by a valid cookie -> 401")
    # bearer writes need no CSRF token
    st, _, b = api(srv, "POST", "/api/v1/auth/tokens", {"name": "by token"}, bearer(tokens["dir"]))
    t.check(st == 201 and isinstance(b, dict) and b.get("token"),
            "tokens: a bearer-token write needs no X-CSRF-Token -> 201", ks.got(st, b))
    for body, field, status in (({}, "name", 422), ({"name": ""}, "name", 422), ({"name": "x" * 101}, "name", 422),
                                ({"name": 5}, "name", 422)):
        t.error(api(srv, "POST", "/api/v1/auth/tokens", body, bearer(tokens["dir"])), status, "invalid", field,
                "tokens: POST %s -> 422 naming name" % ks.short(body)[:40])
    return tokens


# ---------------------------------------------------------------------------
# roles on routes


ROLES = ("emp", "lead", "mgr", "dir", "adm")
ALLOWED = {
    "admin": {"adm"},
    "global": {"dir", "adm"},
    "leads": {"lead", "mgr", "dir", "adm"},
    "any": set(ROLES),
}


def test_matrix(t, srv, o, sess, tokens):
    routes = (
        ("GET", "/api/v1/users", None, "admin"),
        ("POST", "/api/v1/teams", "team", "admin"),
        ("GET", "/api/v1/customers", None, "global"),
        ("GET", "/api/v1/responses", None, "global"),
        ("GET", "/api/v1/funnel", None, "global"),
        ("GET", "/api/v1/rules", None, "leads"),
        ("GET", "/api/v1/metrics", None, "any"),
        ("GET", "/api/v1/auth/me", None, "any"),
    )
    seq = [0]

    def body_for(kind):
        if kind != "team":
            return None
        seq[0] += 1
        return {"name": "Matrix team %d" % seq[0], "kind": "team", "parent_id": o["deptB"]["id"]}

    for method, path, kind, cls in routes:
        unauth(t, api(srv, method, path, body_for(kind)), "roles: %s %s without credentials -> 401" % (method, path))
        for key in ROLES:
            for via in ("cookie", "bearer"):
                b = body_for(kind)
                if via == "cookie":
                    r = sess[key].write(method, path, b) if method != "GET" else sess[key].get(path)
                else:
                    r = api(srv, method, path, b, bearer(tokens[key]))
                name = "roles: %s %s as %s (%s) -> " % (method, path, key, via)
                if key in ALLOWED[cls]:
                    t.check(200 <= r[0] < 300, name + "2xx", ks.got(r[0], r[2]))
                else:
                    role_refused(t, r, name + "403")
    names = [r[0] for r in srv.sql("SELECT name FROM org_units WHERE name LIKE 'Matrix team %' ORDER BY id")]
    t.eq(len(names), 2, "roles: only the admin's two POST /teams (cookie, bearer) created a team")

    # public routes: no credentials needed, bad credentials do not matter
    for hdrs, what in (({}, "no credentials"), (bearer(fake_token()), "a wrong bearer token"),
                       ({"Cookie": COOKIE + "=" + fake_token()}, "a made-up cookie")):
        t.status(api(srv, "GET", "/healthz", headers=hdrs), 200, "roles: GET /healthz with %s -> 200" % what)
        t.status(api(srv, "GET", "/s/" + o["tp"]["open_token"], headers=hdrs), 200,
                 "roles: GET /s/{open token} with %s -> 200" % what)
        t.status(api(srv, "GET", "/s/" + fake_token(), headers=hdrs), 404,
                 "roles: GET /s/{unknown token} with %s -> 404 (not 401)" % what)


# ---------------------------------------------------------------------------
# scope of metrics


def test_scope(t, srv, o, tokens):
    def n_team(*keys):
        ids = [o[k]["id"] for k in keys]
        return count(srv, "SELECT count(*) FROM responses WHERE team_id IN (%s)" % ",".join("?" * len(ids)), ids)

    def n_emp(key):
        return count(srv, "SELECT count(*) FROM responses WHERE employee_id = ?", (o[key]["id"],))

    n_all = count(srv, "SELECT count(*) FROM responses")
    A1, A2, B1, dA, dB, org = (o[k]["id"] for k in ("A1", "A2", "B1", "deptA", "deptB", "org"))
    ea1, ea1b, ea2, eb1 = (o[k]["id"] for k in ("ea1", "ea1b", "ea2", "eb1"))

    def m(key, query="", path="/api/v1/metrics"):
        return api(srv, "GET", path + ("?" + query if query else ""), headers=bearer(tokens[key]))

    def ok_n(key, query, want, what, path="/api/v1/metrics"):
        st, _, b = m(key, query, path)
        t.check(st == 200 and isinstance(b, dict) and b.get("n") == want,
                "scope: %s %s?%s -> 200, n = %d (%s)" % (key, path, query, want, what), ks.got(st, b))
        return b

    def refused(key, query, field, what, path="/api/v1/metrics"):
        t.error(m(key, query, path), 403, "forbidden", field,
                "scope: %s %s?%s -> 403 naming %s (%s)" % (key, path, query, field, what))

    # employee: the own team, the own scores, never a colleague's
    b = ok_n("emp", "", n_team("A1"), "the own team's count, from sqlite")
    t.eq((b.get("filter") or {}).get("team_id") if isinstance(b, dict) else None, A1,
         "scope: the employee's unfiltered metrics are narrowed to team A1 (filter.team_id)")
    ok_n("emp", "team_id=%d" % A1, n_team("A1"), "own team named")
    ok_n("emp", "employee_id=%d" % ea1, n_emp("ea1"), "own scores")
    refused("emp", "team_id=%d" % A2, "team_id", "another team of the same department")
    refused("emp", "team_id=%d" % B1, "team_id", "a team of the other department")
    refused("emp", "team_id=%d" % dA, "team_id", "the own department: wider than the team")
    refused("emp", "team_id=%d" % org, "team_id", "the organisation")
    refused("emp", "employee_id=%d" % ea1b, "employee_id", "a colleague in the own team")
    refused("emp", "employee_id=%d" % eb1, "employee_id", "an employee elsewhere")
    refused("emp", "group_by=employee", "group_by", "scores per colleague")
    refused("emp", "group_by=month,employee", "group_by", "employee as second dimension")
    refused("emp", "employee_id=%d&team_id=%d" % (ea1, A2), "team_id", "own id with another team")
    st, _, b = m("emp", "group_by=team")
    rows = b.get("rows") if isinstance(b, dict) else None
    t.check(st == 200 and isinstance(rows, list) and [r.get("team", {}).get("id") for r in rows] == [A1],
            "scope: employee group_by=team -> only the own team", ks.got(st, b))

    # team lead of A1
    ok_n("lead", "", n_team("A1"), "the own team by default")
    ok_n("lead", "team_id=%d" % A1, n_team("A1"), "own team")
    ok_n("lead", "employee_id=%d" % ea1b, n_emp("ea1b"), "a member of the own team")
    refused("lead", "team_id=%d" % B1, "team_id", "a team of the other department")
    refused("lead", "team_id=%d" % A2, "team_id", "a sibling team")
    refused("lead", "team_id=%d" % dA, "team_id", "the department above the own team")
    refused("lead", "employee_id=%d" % eb1, "employee_id", "an employee of the other department")
    refused("lead", "employee_id=%d" % ea2, "employee_id", "an employee of a sibling team")
    st, _, b = m("lead", "group_by=employee")
    rows = b.get("rows") if isinstance(b, dict) else None
    t.check(st == 200 and isinstance(rows, list)
            and sorted(r.get("employee", {}).get("id") for r in rows) == sorted([ea1, ea1b]),
            "scope: team lead group_by=employee -> only the own team's employees", ks.got(st, b))

    # manager of department A
    ok_n("mgr", "", n_team("A1", "A2"), "the own department by default")
    ok_n("mgr", "team_id=%d" % A2, n_team("A2"), "a team of the own department")
    ok_n("mgr", "team_id=%d" % dA, n_team("A1", "A2"), "the own department")
    ok_n("mgr", "employee_id=%d" % ea2, n_emp("ea2"), "an employee of the own department")
    refused("mgr", "team_id=%d" % B1, "team_id", "a team of the other department")
    refused("mgr", "team_id=%d" % dB, "team_id", "the other department")
    refused("mgr", "team_id=%d" % org, "team_id", "the organisation above")
    refused("mgr", "employee_id=%d" % eb1, "employee_id", "an employee of the other department")
    st, _, b = m("mgr", "group_by=team")
    rows = b.get("rows") if isinstance(b, dict) else None
    t.check(st == 200 and isinstance(rows, list)
            and sorted(r.get("team", {}).get("id") for r in rows) == sorted([A1, A2]),
            "scope: manager group_by=team -> the two teams of department A only", ks.got(st, b))

    # director and admin: everything
    for key in ("dir", "adm"):
        ok_n(key, "", n_all, "everything")
        ok_n(key, "team_id=%d" % B1, n_team("B1"), "any team")
        ok_n(key, "team_id=%d" % org, n_team("A1", "A2", "B1"), "the organisation")
        ok_n(key, "employee_id=%d" % eb1, n_emp("eb1"), "any employee")
    st, _, b = m("dir", "group_by=employee")
    rows = b.get("rows") if isinstance(b, dict) else None
    t.check(st == 200 and isinstance(rows, list) and len(rows) == 4,
            "scope: director group_by=employee -> all 4 employees", ks.got(st, b))

    # trend: the same scope
    def trend_n(key, query, want, what):
        st, _, b = m(key, query, "/api/v1/metrics/trend")
        pts = b.get("points") if isinstance(b, dict) else None
        total = sum(p.get("n", 0) for p in pts) if isinstance(pts, list) else None
        t.check(st == 200 and total == want,
                "scope: %s trend?%s -> 200, points sum to n = %d (%s)" % (key, query, want, what), ks.got(st, b))

    trend_n("emp", "", n_team("A1"), "the own team")
    trend_n("emp", "employee_id=%d" % ea1, n_emp("ea1"), "own scores")
    refused("emp", "team_id=%d" % A2, "team_id", "trend of another team", "/api/v1/metrics/trend")
    refused("emp", "employee_id=%d" % ea1b, "employee_id", "trend of a colleague", "/api/v1/metrics/trend")
    trend_n("lead", "team_id=%d" % A1, n_team("A1"), "own team")
    refused("lead", "team_id=%d" % B1, "team_id", "trend of the other department", "/api/v1/metrics/trend")
    trend_n("mgr", "team_id=%d" % A2, n_team("A2"), "a team of the own department")
    trend_n("mgr", "", n_team("A1", "A2"), "own department")
    refused("mgr", "team_id=%d" % B1, "team_id", "trend of the other department", "/api/v1/metrics/trend")
    trend_n("dir", "", n_all, "everything")

    # compare: each side scoped
    def cmp_ok(key, query, want_a, want_b, what):
        st, _, b = m(key, query, "/api/v1/metrics/compare")
        na = (b.get("a") or {}).get("n") if isinstance(b, dict) else None
        nb = (b.get("b") or {}).get("n") if isinstance(b, dict) else None
        t.check(st == 200 and (na, nb) == (want_a, want_b),
                "scope: %s compare?%s -> 200, n a/b = %d/%d (%s)" % (key, query, want_a, want_b, what),
                ks.got(st, b))

    def n_period(team_keys, month):
        ids = [o[k]["id"] for k in team_keys]
        lo = calendar.timegm((2026, month, 1, 0, 0, 0))
        hi = calendar.timegm((2026, month + 1, 1, 0, 0, 0))
        return count(srv, "SELECT count(*) FROM responses WHERE team_id IN (%s) AND received_at >= ? "
                     "AND received_at < ?" % ",".join("?" * len(ids)), ids + [lo, hi])

    cmp_ok("emp", "a.period=2026-01&b.period=2026-02", n_period(["A1"], 1), n_period(["A1"], 2),
           "both sides narrowed to the own team")
    cmp_ok("emp", "a.employee_id=%d&b.team_id=%d" % (ea1, A1), n_emp("ea1"), n_team("A1"), "self vs own team")
    refused("emp", "a.team_id=%d&b.team_id=%d" % (A1, A2), "team_id", "compare with another team",
            "/api/v1/metrics/compare")
    refused("emp", "a.team_id=%d&b.team_id=%d" % (B1, A1), "team_id", "another team on side a",
            "/api/v1/metrics/compare")
    refused("emp", "a.employee_id=%d&b.employee_id=%d" % (ea1, ea1b), "employee_id", "compare with a colleague",
            "/api/v1/metrics/compare")
    refused("emp", "team_id=%d&a.period=2026-01&b.period=2026-02" % A2, "team_id",
            "a plain team_id applies to both sides", "/api/v1/metrics/compare")
    cmp_ok("lead", "a.period=2026-01&b.period=2026-02", n_period(["A1"], 1), n_period(["A1"], 2), "own team")
    refused("lead", "a.team_id=%d&b.team_id=%d" % (A1, B1), "team_id", "the other department on side b",
            "/api/v1/metrics/compare")
    cmp_ok("mgr", "a.team_id=%d&b.team_id=%d" % (A1, A2), n_team("A1"), n_team("A2"), "two own teams")
    refused("mgr", "a.team_id=%d&b.team_id=%d" % (A1, B1), "team_id", "the other department on side b",
            "/api/v1/metrics/compare")
    cmp_ok("dir", "a.team_id=%d&b.team_id=%d" % (A1, B1), n_team("A1"), n_team("B1"), "any two teams")


# ---------------------------------------------------------------------------
# open text verbatim


def test_xss(t, srv, o, sess):
    text = "<script>alert(1)</script>"
    st, _, r = srv.post("/api/v1/responses", {"touchpoint_id": o["tp"]["id"], "team_id": o["B1"]["id"],
                                              "employee_id": o["eb1"]["id"],
                                              "received_at": "2026-02-20T12:00:00Z",
                                              "answers": {"nps": 9, "open": text}})
    t.check(st == 201 and isinstance(r, dict) and (r.get("answers") or {}).get("open") == text,
            "xss: POST /responses with open text <script>... -> 201, stored verbatim", ks.got(st, r))
    if st != 201:
        return
    for who, resp in (("admin token", srv.get("/api/v1/responses/%d" % r["id"])),
                      ("director cookie", sess["dir"].get("/api/v1/responses/%d" % r["id"]))):
        st, hd, g = resp
        t.check(st == 200 and isinstance(g, dict) and (g.get("answers") or {}).get("open") == text,
                "xss: GET /responses/{id} (%s) returns the open text as the JSON string, verbatim" % who,
                ks.got(st, g))
        t.check((hd.get("Content-Type") or "").startswith("application/json"),
                "xss: ... as application/json (%s)" % who, "Content-Type: %s" % hd.get("Content-Type"))
        t.eq(hd.get("X-Content-Type-Options"), "nosniff", "xss: ... with X-Content-Type-Options: nosniff (%s)" % who)
    items = srv.list_all("responses")
    t.check(any((i.get("answers") or {}).get("open") == text for i in items),
            "xss: the response list carries the text verbatim too")
    st, hd, _ = api(srv, "GET", "/api/v1/auth/me")
    t.eq(hd.get("X-Content-Type-Options"), "nosniff", "xss: error answers carry nosniff too")


# ---------------------------------------------------------------------------
# password change


def test_password(t, srv, users):
    key = "pwu"
    new1, new2 = "new-password-one-1", "new-password-two-2"
    a = must_login(t, srv, email(key), pw(key), "password: first session of the user -> 200")
    b = must_login(t, srv, email(key), pw(key), "password: second session of the user -> 200")
    st, _, tk = a.write("POST", "/api/v1/auth/tokens", {"name": "pw token"})
    token = tk.get("token") if isinstance(tk, dict) else None
    t.check(st == 201 and token, "password: the user creates an API token", ks.got(st, tk))

    path = "/api/v1/auth/password"
    csrf_refused(t, a.write("POST", path, {"current_password": pw(key), "new_password": new1}, csrf=False),
                 "password: change with the cookie but no X-CSRF-Token -> 403")
    t.error(a.write("POST", path, {"current_password": "not-the-password", "new_password": new1}),
            403, "forbidden", "current_password", "password: wrong current password -> 403 naming current_password")
    t.error(a.write("POST", path, {"current_password": pw(key), "new_password": "short-pw1"}),
            422, "invalid", "new_password", "password: new password of 9 characters -> 422 naming new_password")
    t.error(a.write("POST", path, {"current_password": pw(key)}),
            422, "invalid", "new_password", "password: new password missing -> 422 naming new_password")
    t.error(a.write("POST", path, {"new_password": new1}),
            422, "invalid", "current_password", "password: current password missing -> 422")
    t.error(a.write("POST", path, "{\"current_password\":"), 400, "malformed_json", None,
            "password: malformed JSON -> 400")
    t.status(b.get("/api/v1/auth/me"), 200, "password: the refused changes ended no session")
    unauth(t, api(srv, "POST", path, {"current_password": pw(key), "new_password": new1}),
           "password: change without credentials -> 401")

    st, hd, body = a.write("POST", path, {"current_password": pw(key), "new_password": new1})
    t.check(st == 200 and isinstance(body, dict) and (body.get("user") or {}).get("id") == users[key]["id"],
            "password: right current password -> 200 with the user", ks.got(st, body))
    value, attrs = parse_cookie(hd)
    fresh_csrf = body.get("csrf_token") if isinstance(body, dict) else None
    t.check(value and value != a.cookie and value != b.cookie and "httponly" in attrs
            and attrs.get("samesite", "").lower() == "lax",
            "password: the changing session gets a fresh HttpOnly SameSite=Lax cookie",
            "old %s; Set-Cookie %s" % (a.cookie, set_cookies(hd)))
    t.check(isinstance(fresh_csrf, str) and fresh_csrf and fresh_csrf != a.csrf,
            "password: ... and a fresh CSRF token", ks.got(st, body))
    unauth(t, b.get("/api/v1/auth/me"), "password: the user's other session ended -> 401")
    unauth(t, a.get("/api/v1/auth/me"), "password: the changing session's old cookie ended -> 401")
    if value:
        c = Session(srv, value, fresh_csrf, key)
        st, _, me = c.get("/api/v1/auth/me")
        t.check(st == 200 and (me.get("user") or {}).get("id") == users[key]["id"],
                "password: the fresh cookie keeps working", ks.got(st, me))
        csrf_refused(t, c.write("POST", "/api/v1/auth/tokens", {"name": "old csrf"}, csrf=a.csrf),
                     "password: the old CSRF token no longer works with the fresh cookie")
        t.status(c.write("POST", "/api/v1/auth/tokens", {"name": "fresh csrf"}), 201,
                 "password: the fresh CSRF token works for a write -> 201")
    resp, _ = login(srv, email(key), pw(key))
    unauth(t, resp, "password: the old password no longer logs in -> 401")
    resp, d = login(srv, email(key), new1)
    t.check(resp[0] == 200 and d is not None, "password: the new password logs in -> 200", ks.got(resp[0], resp[2]))

    # the change revoked every API token of the user (issue 11)
    if token:
        unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(token)),
               "password: the user's API token made before the change -> 401 (revoked)")
    # the change through an API token: no cookie, the sessions end, and the
    # token itself is revoked with the others
    token = None
    if d is not None:
        st, _, tk = d.write("POST", "/api/v1/auth/tokens", {"name": "pw token 2"})
        token = tk.get("token") if isinstance(tk, dict) else None
        t.check(st == 201 and token, "password: a new API token after the change", ks.got(st, tk))
    if token and d is not None:
        st, hd, body = api(srv, "POST", path, {"current_password": new1, "new_password": new2}, bearer(token))
        t.check(st == 200, "password: change with a bearer token (no CSRF needed) -> 200", ks.got(st, body))
        t.check(parse_cookie(hd)[0] is None, "password: a bearer-token change sets no session cookie",
                "Set-Cookie: %s" % set_cookies(hd))
        # two tokens: "fresh csrf" (above) and this one
        t.check(isinstance(body, dict) and body.get("tokens_revoked") == 2 and "revoked" in (body.get("note") or ""),
                "password: the reply says every token (this one too) is revoked", ks.got(st, body))
        unauth(t, d.get("/api/v1/auth/me"), "password: the bearer-token change ended the user's sessions")
        unauth(t, api(srv, "GET", "/api/v1/auth/me", headers=bearer(token)),
               "password: the token that made the change is revoked too -> 401")


# ---------------------------------------------------------------------------
# throttling and expiry


def test_throttle(t, srv, now):
    """5 failures for one address block it; other accounts go on. Returns the new clock."""
    key = "thr"
    for i, addr in enumerate((email(key),) * 4 + (email(key).upper(),)):
        r = api(srv, "POST", "/api/v1/auth/login", {"email": addr, "password": "wrong-guess-%d" % i})
        unauth(t, r, "throttle: wrong password %d of 5 for %s -> 401" % (i + 1, addr))
    r = api(srv, "POST", "/api/v1/auth/login", {"email": email(key), "password": pw(key)})
    t.error(r, 429, "too_many_requests", None,
            "throttle: the 6th attempt, with the RIGHT password, after 5 failures -> 429")
    ra = r[1].get("Retry-After") if r[1] is not None else None
    t.eq(ra, "900", "throttle: the 429 carries Retry-After 900 (the whole 15-minute window: the failures "
                    "and this attempt are at one instant of the fixed test clock)")
    t.check(parse_cookie(r[1])[0] is None, "throttle: the 429 sets no cookie", "Set-Cookie: %s" % set_cookies(r[1]))
    t.error(api(srv, "POST", "/api/v1/auth/login", {"email": email(key).upper(), "password": pw(key)}),
            429, "too_many_requests", None, "throttle: the same address in another case -> 429 too")
    t.error(api(srv, "POST", "/api/v1/auth/login", {"email": email(key), "password": "wrong-again"}),
            429, "too_many_requests", None, "throttle: a further wrong password -> 429 (not 401)")
    resp, _ = login(srv, email("dir"), pw("dir"))
    t.check(resp[0] == 200, "throttle: another account from the same client still logs in -> 200",
            ks.got(resp[0], resp[2]))
    now += 14 * MIN
    set_clock(srv, now)
    t.error(api(srv, "POST", "/api/v1/auth/login", {"email": email(key), "password": pw(key)}),
            429, "too_many_requests", None, "throttle: 14 minutes later still 429")
    now += 2 * MIN
    set_clock(srv, now)
    resp, _ = login(srv, email(key), pw(key))
    t.check(resp[0] == 200, "throttle: after the 15-minute window the right password logs in -> 200",
            ks.got(resp[0], resp[2]))
    return now


SPAM = 3000


def churn(srv, n):
    """n login attempts for fresh e-mail addresses on one keep-alive
    connection; stops at the first answer that is not 429 and returns
    (index, n, status), else None."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
    try:
        for i in range(n):
            body = json.dumps({"email": "churn-%d@%s" % (i, DOMAIN), "password": "wrong-guess-xx"})
            conn.request("POST", "/api/v1/auth/login", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 429:
                return (i + 1, n, r.status)
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)
        return None
    finally:
        conn.close()


ADDR_MAX = 100  # AUTH_MAX_FAIL_ADDR: failures from one address, any accounts


def test_throttle_addr(t, srv, now):
    """AUTH_MAX_FAIL_ADDR failures from one client address (whatever the
    accounts) block every login from it: looser than the per-account-and-
    address count, since behind a proxy the address is everyone's."""
    now += 16 * MIN  # a fresh window for the address
    set_clock(srv, now)
    def guess(i):
        return api(srv, "POST", "/api/v1/auth/login",
                   {"email": "guess-%d@%s" % (i, DOMAIN), "password": "wrong-guess-xx"})[0]

    # two at a time: the server hashes two passwords at once (AUTH_MAX_HASHING)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(guess, range(ADDR_MAX - 1)))
    t.check(codes == [401] * (ADDR_MAX - 1),
            "throttle: %d failures for as many different addresses -> 401 each" % (ADDR_MAX - 1), "got %s" % codes)
    resp, _ = login(srv, email("lead"), pw("lead"))
    t.check(resp[0] == 200, "throttle: after %d failures from the client a valid login still works -> 200"
            % (ADDR_MAX - 1), ks.got(resp[0], resp[2]))
    unauth(t, api(srv, "POST", "/api/v1/auth/login",
                  {"email": "guess-%d@%s" % (ADDR_MAX - 1, DOMAIN), "password": "wrong-guess-xx"}),
           "throttle: failure %d from the client -> 401" % ADDR_MAX)
    r = api(srv, "POST", "/api/v1/auth/login", {"email": email("lead"), "password": pw("lead")})
    t.error(r, 429, "too_many_requests", None,
            "throttle: after %d failures from the client even a valid login of another account -> 429" % ADDR_MAX)
    ra = r[1].get("Retry-After") if r[1] is not None else None
    t.eq(ra, "900", "throttle: the address's 429 carries Retry-After 900 (its 15-minute window, fixed test clock)")
    # Refused attempts must not make the server forget the count: a blocked
    # client that sends many cheap (refused) attempts for fresh addresses
    # still gets 429 for its next guess.
    first_other = churn(srv, SPAM)
    t.check(first_other is None,
            "throttle: %d more attempts for fresh e-mail addresses while blocked -> 429 each" % SPAM,
            "attempt %s of %s was answered %s (the address count was forgotten: the password was "
            "checked again)" % first_other if first_other else None)
    t.error(api(srv, "POST", "/api/v1/auth/login", {"email": email("lead"), "password": pw("lead")}),
            429, "too_many_requests", None,
            "throttle: after those the client is still blocked -> 429")
    now += 16 * MIN
    set_clock(srv, now)
    resp, sess = login(srv, email("lead"), pw("lead"))
    t.check(resp[0] == 200, "throttle: 15 minutes later the client may log in again -> 200",
            ks.got(resp[0], resp[2]))
    return now, sess


def test_expiry(t, srv, old, recent, tokens, recent_at):
    """Sessions live 12 hours; API tokens live far longer (90 days by
    default: tests/api/test_tokens.py)."""
    set_clock(srv, T0_TS + 12 * 3600 - MIN)
    t.status(old.get("/api/v1/auth/me"), 200, "expiry: a session is alive 11h59m after login")
    set_clock(srv, T0_TS + 12 * 3600 + MIN)
    unauth(t, old.get("/api/v1/auth/me"), "expiry: the session has ended 12h01m after login -> 401")
    if recent is not None:
        t.status(recent.get("/api/v1/auth/me"), 200,
                 "expiry: a session created %d minutes later is still alive" % ((recent_at - T0_TS) // MIN))
    t.status(api(srv, "GET", "/api/v1/auth/me", headers=bearer(tokens["emp"])), 200,
             "expiry: API tokens do not expire with the sessions")


# ---------------------------------------------------------------------------


def test_secure_restart(t, srv, tokens):
    """The same database under `serve --secure-cookies` (a restart, real clock):
    live API tokens still work, expired ones not; session cookies are
    marked Secure."""
    srv2 = ks.Server(t, db=srv.db, args=["--secure-cookies"])
    try:
        try:
            hz = srv2.start()
            t.healthz(hz, "secure: server with --secure-cookies on the same database starts; /healthz ok "
                          "at the tree's schema version")
        except ks.FixtureError as ex:
            t.check(False, "secure: server with --secure-cookies on the same database starts", str(ex))
            return
        st, _, me = api(srv2, "GET", "/api/v1/auth/me", headers=bearer(srv.token))
        t.check(st == 200 and (me.get("user") or {}).get("role") == "admin",
                "secure: an API token still works after a restart", ks.got(st, me))
        # made at the test clock (March 2026) for the default 90 days: on
        # the real clock of this restart it has expired
        unauth(t, api(srv2, "GET", "/api/v1/auth/me", headers=bearer(tokens["emp"])),
               "secure: a token whose 90 days are over on the real clock -> 401")
        resp, s = login(srv2, email("dir"), pw("dir"))
        value, attrs = parse_cookie(resp[1])
        t.check(resp[0] == 200 and value and "secure" in attrs and "httponly" in attrs
                and attrs.get("samesite", "").lower() == "lax",
                "secure: login sets ks_session with Secure, HttpOnly, SameSite=Lax",
                "%s; Set-Cookie: %s" % (ks.got(resp[0], resp[2]), set_cookies(resp[1])))
        if s is not None:
            st, hd, _ = s.write("POST", "/api/v1/auth/logout")
            value, attrs = parse_cookie(hd)
            t.check(st == 200 and value == "" and "secure" in attrs,
                    "secure: the logout cookie is marked Secure too", "Set-Cookie: %s" % set_cookies(hd))
    finally:
        srv2.stop("secure: server with --secure-cookies exits 0 on SIGTERM")
        srv2.cleanup()


def main(t):
    srv = ks.Server(t, args=["--test-clock", T0])
    try:
        try:
            hz = srv.start()
            t.healthz(hz, "server (test clock %s) starts; /healthz ok at the tree's schema version" % T0)
        except ks.FixtureError as ex:
            t.check(False, "server (test clock %s) starts and answers /healthz" % T0, str(ex))
            return
        tokens = run_all(t, srv)
        srv.stop()
        if tokens:
            test_secure_restart(t, srv, tokens)
    finally:
        srv.stop()
        srv.cleanup()


def run_all(t, srv):
    o = build_org(t, srv)
    users = create_users(t, srv, o)
    test_users(t, srv, o, users)
    emp, emp2 = test_login(t, srv, users)
    test_session(t, srv, emp, emp2, users)
    sess = {"emp": emp, "mgr": test_fixation(t, srv, users)}
    for key in ("lead", "dir", "adm"):
        sess[key] = must_login(t, srv, email(key), pw(key), "login: %s -> 200" % key)
    test_csrf(t, srv, o, sess, users)
    tokens = test_tokens(t, srv, sess, users)
    test_matrix(t, srv, o, sess, tokens)
    test_scope(t, srv, o, tokens)
    test_xss(t, srv, o, sess)
    test_password(t, srv, users)
    now = test_throttle(t, srv, T0_TS)
    now, recent = test_throttle_addr(t, srv, now)
    test_expiry(t, srv, emp, recent, tokens, now)
    test_login_origin_and_guessing(t, srv, now + 3600)
    return tokens


def test_login_origin_and_guessing(t, srv, now):
    """Issue 11, low findings: login CSRF (a form posting text/plain from a
    foreign page) and unlimited guesses of the current password."""
    set_clock(srv, now)  # past the address counters of the throttle tests
    addr = "guess-%s@test.local" % ks.uniq("g")
    password = "guess-password-1"
    st, _, u = srv.post("/api/v1/users", {"email": addr, "name": "Guess", "role": "director", "password": password})
    t.check(st == 201, "guessing: a director to guess for", ks.got(st, u))
    body = json.dumps({"email": addr, "password": password})
    t.error(api(srv, "POST", "/api/v1/auth/login", body, {"Content-Type": "text/plain"}), 422, "invalid",
            "Content-Type", "login with Content-Type text/plain (what a foreign form sends) -> 422 naming Content-Type")
    t.error(api(srv, "POST", "/api/v1/auth/login", body, {"Content-Type": "application/x-www-form-urlencoded"}),
            422, "invalid", "Content-Type", "login urlencoded -> 422 naming Content-Type")
    t.error(api(srv, "POST", "/api/v1/auth/login", body, {"Origin": "http://evil.example"}), 403, "forbidden",
            "Origin", "login with Origin http://evil.example -> 403 naming Origin")
    resp, sess = login(srv, addr, password, headers={"Origin": "http://127.0.0.1:%d" % srv.port})
    t.check(sess is not None, "login with the server's own Origin -> 200", ks.got(resp[0], resp[2]))
    if sess is None:
        return
    path = "/api/v1/auth/password"
    codes = []
    for i in range(6):
        st, _, b = sess.write("POST", path, {"current_password": "wrong-guess-%d" % i, "new_password": "another-pw-1"})
        codes.append(st)
    t.eq(codes, [403] * 5 + [429], "password: five wrong guesses of the current password -> 403, the sixth -> 429")
    st, _, b = sess.write("POST", path, {"current_password": password, "new_password": "another-pw-1"})
    t.eq(st, 429, "password: after that even the right current password waits (429): guessing is throttled")
    resp, _ = login(srv, addr, password)
    t.eq(resp[0], 429, "login of that account is throttled too (the same counters)")
    set_clock(srv, now + 16 * 60)
    st, _, b = sess.write("POST", path, {"current_password": password, "new_password": "another-pw-1"})
    t.check(st == 200, "password: 16 minutes later the right current password -> 200", ks.got(st, b))


if __name__ == "__main__":
    ks.run(main, start_server=False)
