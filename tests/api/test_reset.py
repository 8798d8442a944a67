#!/usr/bin/python3
"""Password reset by mail and the SMTP test (issue 13, docs/API.md
"Administration"), end to end against the SMTP sink (smtp_sink.py).

An admin asks for a reset link for an account (POST /users/{id}/password-
reset); the mail reaches the sink addressed to the account, in its
language, with a link BASE/#/reset/TOKEN. POST /auth/reset with that
token sets the password once: the old password, sessions and API tokens
stop; a second use, a changed link, an expired link (410) and a link
mailed before the person changed the password themself are refused.
"""

import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

START = 1_796_000_000          # 2026-11-30T... (a fixed test clock)
DAY = 86400
BASE = "http://klantstem.test"
COOKIE = "ks_session"
PW1 = "eerste-wachtwoord-1"
PW2 = "tweede-wachtwoord-2"
LINK = re.compile(re.escape(BASE) + r"/#/reset/([0-9]+\.[0-9]+\.[0-9a-f]{64})")


def anon(srv, method, path, body=None, headers=None):
    return srv.request(method, path, body, headers=dict(headers or {}), auth=False)


def login(srv, email, password):
    """(status, cookie, csrf)"""
    st, hd, body = anon(srv, "POST", "/api/v1/auth/login", {"email": email, "password": password})
    cookie = None
    for raw in hd.get_all("Set-Cookie") or []:
        name, _, value = raw.split(";")[0].partition("=")
        if name.strip() == COOKIE:
            cookie = value.strip()
    return st, cookie, body.get("csrf_token") if isinstance(body, dict) else None


def set_clock(srv, ts):
    st, _, b = srv.post("/api/v1/admin/clock", {"now": ks.iso(ts)})
    if st != 200:
        raise ks.FixtureError("POST /api/v1/admin/clock -> %s %s" % (st, ks.short(b)))


def mails_to(sink, addr):
    return [m for m in sink.mails() if m.addressed_to(addr)]


def reset_link(t, srv, sink, user, name):
    """Ask for a reset of user and return the token from the newest mail."""
    before = len(mails_to(sink, user["email"]))
    resp = srv.post("/api/v1/users/%d/password-reset" % user["id"], {})
    t.status(resp, 200, name + ": the admin's request is 200")
    deadline = time.time() + 10
    while time.time() < deadline and len(mails_to(sink, user["email"])) <= before:
        time.sleep(0.05)
    got = mails_to(sink, user["email"])
    if len(got) != before + 1:
        raise ks.FixtureError("%s: no reset mail for %s in the sink" % (name, user["email"]))
    newest = max(got, key=lambda m: os.path.getmtime(m.path))
    m = LINK.search(newest.text)
    if not m:
        raise ks.FixtureError("%s: no reset link in the mail: %r" % (name, newest.text[:400]))
    return m.group(1), resp, newest


def make_user(srv, lang="nl"):
    email = "%s@reset.test" % ks.uniq("r")
    return srv.create("users", {"email": email, "name": "Rita Reset", "role": "director",
                                "password": PW1, "language": lang})


def scenario_reset(t, srv, sink):
    user = make_user(srv)
    # a session and an API token, both to be ended by the reset
    st, cookie, csrf = login(srv, user["email"], PW1)
    t.eq(st, 200, "the new account logs in with its first password")
    st, _, tok = anon(srv, "POST", "/api/v1/auth/tokens", {"name": "script"},
                      {"Cookie": "%s=%s" % (COOKIE, cookie), "X-CSRF-Token": csrf})
    t.eq(st, 201, "the account makes an API token")
    token = tok["token"]

    link, resp, mail = reset_link(t, srv, sink, user, "reset")
    t.eq(resp[2], {"id": user["id"], "email": user["email"], "sent": True,
                   "expires_at": ks.iso(START + DAY)},
         "the reply names the account, says the mail was taken and when the link expires (24 h)")
    t.check(mail.subject.startswith("Nieuw wachtwoord"), "a Dutch account gets a Dutch subject",
            mail.subject)
    t.eq(link.split(".")[:2], [str(user["id"]), str(START + DAY)],
         "the link carries the account and its expiry")

    # refusals before the real use: none of them changes anything
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": link, "new_password": "kort"}),
            422, field="new_password", name="a new password under 10 bytes -> 422 new_password")
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"new_password": PW2}),
            422, field="token", name="no token -> 422 token")
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": link, "new_password": PW2, "extra": 1}),
            422, field="extra", name="an unknown member -> 422 naming it")
    flipped = link[:-1] + ("0" if link[-1] != "0" else "1")
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": flipped, "new_password": PW2}),
            422, field="token", name="a link with a changed MAC -> 422 token")
    uid, exp, mac = link.split(".")
    longer = "%s.%d.%s" % (uid, int(exp) + 30 * DAY, mac)
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": longer, "new_password": PW2}),
            422, field="token", name="a link with a later expiry written in -> 422 token")
    admin_id = srv.get("/api/v1/auth/me")[2]["user"]["id"]
    other = "%d.%s.%s" % (admin_id, exp, mac)
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": other, "new_password": PW2}),
            422, field="token", name="the MAC of one account on another account's id -> 422 token")
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": "abc", "new_password": PW2}),
            422, field="token", name="not a link at all -> 422 token")
    t.eq(login(srv, user["email"], PW1)[0], 200, "after the refusals the first password still logs in")

    resp = anon(srv, "POST", "/api/v1/auth/reset", {"token": link, "new_password": PW2})
    # two sessions: the one above and the one of the check right before
    t.eq((resp[0], resp[2]), (200, {"id": user["id"], "reset": True, "sessions_ended": 2,
                                    "tokens_revoked": 1}),
         "the link sets the password: 200, two sessions ended, one token revoked")
    t.eq(anon(srv, "GET", "/api/v1/auth/me", headers={"Authorization": "Bearer " + token})[0], 401,
         "the API token made before the reset is refused (401)")
    t.eq(anon(srv, "GET", "/api/v1/auth/me", headers={"Cookie": "%s=%s" % (COOKIE, cookie)})[0], 401,
         "the session from before the reset is refused (401)")
    t.eq(login(srv, user["email"], PW1)[0], 401, "the old password no longer logs in")
    t.eq(login(srv, user["email"], PW2)[0], 200, "the new password logs in")
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": link, "new_password": "derde-wachtwoord"}),
            422, field="token", name="the same link a second time -> 422 token")
    t.eq(login(srv, user["email"], PW2)[0], 200, "after the refused second use the new password stands")
    rows = srv.sql("SELECT action, object_id FROM audit_log WHERE action LIKE 'auth.reset%' ORDER BY id")
    t.eq(rows, [("auth.reset_sent", user["id"]), ("auth.reset_used", user["id"])],
         "the audit log holds the mailed link and its use, nothing of the refusals")
    return user


def scenario_expiry(t, srv, sink):
    user = make_user(srv, "en")
    now = START + 2 * DAY
    set_clock(srv, now)
    t.status(srv.request("PUT", "/api/v1/settings", {"organisation_name": "Energie Test BV"}), 200,
             "the organisation's name is set in /settings")
    late, _, mail = reset_link(t, srv, sink, user, "expiry")
    t.eq(mail.subject, "Set a new password for Energie Test BV",
         "an English account gets an English subject with the organisation's name from /settings")
    t.check("An administrator of Energie Test BV asked" in mail.text, "the text names the organisation too",
            mail.text[:300])
    set_clock(srv, now + DAY)
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": late, "new_password": PW2}),
            410, code="gone", field="token", name="24 h after it was mailed the link has expired: 410 token")
    t.eq(login(srv, user["email"], PW1)[0], 200, "the expired link changed nothing")
    in_time, _, _ = reset_link(t, srv, sink, user, "in time")
    set_clock(srv, now + 2 * DAY - 1)
    t.status(anon(srv, "POST", "/api/v1/auth/reset", {"token": in_time, "new_password": PW2}), 200,
             "a second before its 24 hours are up the link still works")

    # a link mailed before the person changed the password themself dies
    st, cookie, csrf = login(srv, user["email"], PW2)
    before, _, _ = reset_link(t, srv, sink, user, "own change")
    st, _, _ = anon(srv, "POST", "/api/v1/auth/password", {"current_password": PW2, "new_password": PW1},
                    {"Cookie": "%s=%s" % (COOKIE, cookie), "X-CSRF-Token": csrf})
    t.eq(st, 200, "the person changes their own password")
    t.error(anon(srv, "POST", "/api/v1/auth/reset", {"token": before, "new_password": PW2}),
            422, field="token", name="a link mailed before the person's own change -> 422 token")


def scenario_refusals(t, srv, sink):
    user = make_user(srv)
    n = sink.count()
    t.status(srv.patch("/api/v1/users/%d" % user["id"], {"active": False}), 200, "the account is disabled")
    t.error(srv.post("/api/v1/users/%d/password-reset" % user["id"], {}), 409, field="active",
            name="no reset link for a disabled account: 409 active")
    t.error(srv.post("/api/v1/users/99999/password-reset", {}), 404, name="an unknown account: 404")
    t.eq(sink.count(), n, "neither refusal sent a mail")


def scenario_smtp_test(t, srv, sink):
    n = sink.count()
    st, _, me = srv.get("/api/v1/auth/me")
    admin = me["user"]["email"]
    resp = srv.post("/api/v1/admin/smtp-test", {})
    t.eq((resp[0], resp[2].get("to"), resp[2].get("sent")), (200, admin, True),
         "the SMTP test mails the admin's own address and says it was taken")
    sink.wait_count(n + 1)
    got = mails_to(sink, admin)
    t.check(any("testmail" in m.subject for m in got), "the test mail is in the sink, addressed to the admin",
            [m.subject for m in got])
    resp = srv.post("/api/v1/admin/smtp-test", {"to": "ops@reset.test"})
    t.eq((resp[0], resp[2].get("to"), resp[2].get("sent")), (200, "ops@reset.test", True),
         "the SMTP test goes to another address when asked")
    t.error(srv.post("/api/v1/admin/smtp-test", {"to": "geen adres"}), 422, field="to",
            name="to that is not an address -> 422 to")
    t.error(srv.post("/api/v1/admin/smtp-test", {"cc": "x@y.z"}), 422, field="cc",
            name="an unknown member -> 422 naming it")


def main(t):
    sink = smtp_sink.Sink()
    sink.start()
    srv = ks.Server(t, args=["--test-clock", ks.iso(START), "--smtp", sink.url, "--base-url", BASE, "--quiet"])
    try:
        t.healthz(srv.start(), "server starts with the SMTP sink")
        scenario_reset(t, srv, sink)
        scenario_refusals(t, srv, sink)
        scenario_smtp_test(t, srv, sink)
        scenario_expiry(t, srv, sink)
    finally:
        srv.stop()
        srv.cleanup()
        sink.stop()
        sink.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
