#!/usr/bin/python3
"""Scheduled digests per role by mail (issue 17, part D; docs/GOVERNANCE.md
"Digests", docs/API.md "Digests").

On a demo database (`klantstem demo --scale 10`, whose 24 months end today)
with the real SMTP sink (smtp_sink.py) and a test clock at 09:00 today:
- the schedule (every role on, due from Monday 00:00 / the 1st 00:00) sends
  each employee, team lead, manager and director exactly one digest for the
  last whole ISO week (weekly roles) or month (monthly roles) and nobody
  else; a second scheduler pass and POST /digests/run send nothing more;
- the employee's digest holds their own compliments of the week and none of
  a colleague's, only open answers about themselves, and their own NPS only
  as GET /metrics?employee_id= shows it (never below the person's 10);
- the team lead's digest holds the team goal's progress, recomputed here
  from the database file (value and status), and the team's open cases;
- the directors' and the manager's monthly digest holds the scores of GET
  /api/v1/metrics?period=YYYY-MM (and team_id= for the manager);
- the language follows users.language; a user who switched digests off
  gets none; the unsubscribe link works without login and only for its own
  user (a tampered token is a 404 and changes nothing);
- a SIGKILL while a pass sends, then a restart: no period twice, the rest
  sent, the one in flight at most twice with the same Message-ID;
- bad input is a 422 naming the field;
- (review fixes) a digest whose user changed role or unit after it was
  queued is not sent; employees without an employee record and leads or
  managers without a unit are not queued; the team lead's digest shows
  compliments only under the learning points' rule (the week's group
  minimum), none under verbatim_detail anonymous, and a sender's note only
  to its writer; a period whose moment passed while the server was down is
  sent afterwards (only the last one); POST /digests/run only queues (202)
  and a scheduler pass sends at most 32; the unsubscribe tokens are stored
  as their SHA-256 only; a failed record puts the batch's untried rows
  back to pending.
Every expected value is computed here, from the database file or by
Python's own calendar (zoneinfo), never with the product's helpers."""

import collections
import datetime
import hashlib
import os
import re
import sys
import threading
import time
from fractions import Fraction

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import user_fx  # noqa: E402
import smtp_sink  # noqa: E402

PASSWORD = "digest-test-password"
BASE = "https://feedback.example.nl"
NL_STATUS = {"reached": "behaald", "likely": "waarschijnlijk behaald",
             "too_close_to_call": "te dichtbij om te zeggen", "not_reached": "niet behaald",
             "insufficient_data": "nog te weinig antwoorden"}


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def local(ts):
    return ks.local_dt(ts)


def week_label(d):
    y, w, _ = d.isocalendar()
    return "%04d-W%02d" % (y, w)


def dec(v, places, lang):
    s = "%.*f" % (places, v)
    return s.replace(".", ",") if lang == "nl" else s


def digests(sink):
    """The digests in the sink (the compliment mails of the fixture are not),
    their text part with plain line ends."""
    out = [m for m in sink.mails() if m.message_id.startswith("<digest-")]
    for m in out:
        m.text = m.text.replace("\r\n", "\n")
    return out


def login(srv, email):
    """A session (cookie and CSRF token) of a user."""
    return user_fx.session(srv, email, PASSWORD)


def make_user(srv, role, name, language="nl", employee_id=None, unit_id=None):
    email = "%s@digest.test" % ks.uniq(role.replace("_", ""))
    body = {"email": email, "name": name, "role": role, "password": PASSWORD, "language": language}
    if employee_id:
        body["employee_id"] = employee_id
    if unit_id:
        body["unit_id"] = unit_id
    u = must(srv.post("/api/v1/users", body), 201, "POST /api/v1/users %s" % role)
    return {"id": u["id"], "email": email, "role": role, "language": language, "employee_id": employee_id,
            "unit_id": unit_id, "name": name}


def drain(srv, what="drain the digests"):
    """Scheduler passes until no queued digest is left untried (a pass sends
    at most 32); returns the number of passes."""
    for i in range(1, 80):
        must(srv.post("/api/v1/admin/scheduler/run", timeout=300), 200, what)
        if srv.sql("SELECT count(*) FROM digest_mails WHERE status IN ('pending', 'sending') AND attempts = 0")[0][0] == 0:
            return i
    raise ks.FixtureError("%s: digests still pending after 80 passes" % what)


def unsub_token(m):
    """The token of a digest's unsubscribe link (from the mail itself: the
    store keeps its SHA-256 only)."""
    found = re.findall(re.escape(BASE) + r"/d/([0-9a-f]{32})\b", m.text)
    return found[0] if found else None


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


def set_clock(srv, ts):
    must(srv.post("/api/v1/admin/clock", {"now": ks.iso(ts)}), 200, "set the test clock")


def section(text, title):
    """The lines of a section of the text part, up to the next blank line."""
    i = text.find("\n" + title + "\n")
    if i < 0:
        return None
    rest = text[i + len(title) + 2:]
    j = rest.find("\n\n")
    return rest if j < 0 else rest[:j]


def main(t):
    sink = smtp_sink.Sink()
    srv = None
    try:
        sink.start()
        now = int(time.time())
        today = local(now).date()
        nine = ks.local_midnight(today.year, today.month, today.day) + 9 * 3600
        srv = ks.Server(t, args=["--test-clock", ks.iso(nine), "--smtp", sink.url, "--base-url", BASE, "--quiet"])
        rc, out, err = ks.demo_into(srv.db, "10", 300)
        if not t.check(rc == 0, "demo --scale 10 fills the database", err[-2000:]):
            return
        srv.start()
        run(t, srv, sink, nine)
        crash(t, srv, sink, nine)
        record_fails(t, srv, sink, nine)
        srv.stop()
    finally:
        if srv is not None:
            srv.cleanup()
        sink.cleanup()


def pick_people(srv, wk_from, wk_to):
    """The demo's team lead's team; emp A: the employee of that team with the
    most open answers in the week; emp B: a colleague with a promoter's open
    answer; each with a promoter's open answer to compliment."""
    team = srv.sql("SELECT unit_id FROM users WHERE email = 'teamleider@demo.klantstem'")[0][0]
    taken = {r[0] for r in srv.sql("SELECT employee_id FROM users WHERE employee_id IS NOT NULL")}
    rows = srv.sql("SELECT e.id, (SELECT count(*) FROM responses r WHERE r.employee_id = e.id AND r.open_text <> ''"
                   " AND r.received_at >= ? AND r.received_at < ?),"
                   " (SELECT max(r.id) FROM responses r WHERE r.employee_id = e.id AND r.nps >= 9"
                   " AND r.open_text <> '') FROM employees e WHERE e.team_id = ? ORDER BY e.id",
                   (wk_from, wk_to, team))
    rows = [r for r in rows if r[0] not in taken and r[2] is not None]
    rows.sort(key=lambda r: (-r[1], r[0]))
    if len(rows) < 3:
        raise ks.FixtureError("the demo team %d has too few employees with praise: %s" % (team, rows))
    return team, rows[0], rows[1], rows[2]


def small_team(srv, team, wk_from, wk_to):
    """A new team beside the demo lead's, with 3 answers in the week (under
    the group minimum of 5), one a promoter's with a text, and its own
    team lead. Returns (unit id, response id, text, lead)."""
    parent = srv.sql("SELECT parent_id FROM org_units WHERE id = ?", (team,))[0][0]
    unit = srv.create("teams", {"name": "Team Klein " + ks.uniq("k"), "kind": "team", "parent_id": parent})["id"]
    emp = srv.create("employees", {"team_id": unit, "first_name": "Kees", "last_name": "Klein",
                                   "external_id": ks.uniq("KK")})["id"]
    tp = srv.sql("SELECT id FROM touchpoints ORDER BY id LIMIT 1")[0][0]
    text = "KLEIN-%s prima geholpen" % ks.uniq("t")
    rid = None
    for i, (nps, open_text) in enumerate(((10, text), (7, None), (3, None))):
        ans = {"nps": nps}
        if open_text:
            ans["open"] = open_text
        r = srv.create("responses", {"client_key": ks.uniq("klein"), "team_id": unit, "employee_id": emp,
                                     "touchpoint_id": tp, "channel": "phone",
                                     "received_at": ks.iso(wk_from + 86400 + i * 3600), "answers": ans})
        rid = rid or r["id"]
    n = srv.sql("SELECT count(*) FROM responses WHERE team_id = ? AND received_at >= ? AND received_at < ?",
                (unit, wk_from, wk_to))[0][0]
    if n != 3:
        raise ks.FixtureError("the small team has %d answers in the week, not 3" % n)
    lead = make_user(srv, "team_lead", "Kim Klein", "nl", unit_id=unit)
    return unit, rid, text, lead


def run(t, srv, sink, nine):
    today = local(nine).date()
    monday = today - datetime.timedelta(days=today.weekday())
    wk_start = monday - datetime.timedelta(days=7)
    week = week_label(wk_start)
    wk_from, wk_to = ks.local_period_bounds(week)
    first = today.replace(day=1)
    last_month_day = first - datetime.timedelta(days=1)
    month = "%04d-%02d" % (last_month_day.year, last_month_day.month)
    team, a_row, b_row, c_row = pick_people(srv, wk_from, wk_to)

    # the people: the demo's own team lead, manager, director and employee, and ours
    users = {r[1]: {"id": r[0], "email": r[1], "role": r[2], "language": r[3], "employee_id": r[4], "unit_id": r[5]}
             for r in srv.sql("SELECT id, email, role, language, employee_id, unit_id FROM users")}
    emp_a = make_user(srv, "employee", "Anna Engels", "en", employee_id=a_row[0])
    emp_b = make_user(srv, "employee", "Bram de Boer", "nl", employee_id=b_row[0])
    emp_c = make_user(srv, "employee", "Cor Claes", "nl", employee_id=c_row[0])
    director_en = make_user(srv, "director", "Diana Director", "en")
    lead_off = make_user(srv, "team_lead", "Olga Opt-out", "nl", unit_id=team)
    lead_l = make_user(srv, "team_lead", "Lotte Leider", "nl", unit_id=team)
    # nothing to tell: an employee without an employee record, a manager and a lead without a unit
    # (the API refuses such accounts now; older or imported rows may lack the link: made so in the file)
    spare = srv.sql("SELECT id FROM employees WHERE id NOT IN (SELECT employee_id FROM users WHERE employee_id IS NOT NULL)"
                    " ORDER BY id DESC LIMIT 1")[0][0]
    emp_none = make_user(srv, "employee", "Eva Zonder", "nl", employee_id=spare)
    mgr_none = make_user(srv, "manager", "Max Zonder", "nl", unit_id=team)
    lead_none = make_user(srv, "team_lead", "Lea Zonder", "nl", unit_id=team)
    con = ks.db_connect(srv.db)
    try:
        con.execute("UPDATE users SET employee_id = NULL WHERE id = ?", (emp_none["id"],))
        con.execute("UPDATE users SET unit_id = NULL WHERE id IN (?, ?)", (mgr_none["id"], lead_none["id"]))
        con.commit()
    finally:
        con.close()
    emp_none["employee_id"] = mgr_none["unit_id"] = lead_none["unit_id"] = None
    small_unit, small_rid, small_text, small_lead = small_team(srv, team, wk_from, wk_to)
    for u in (emp_a, emp_b, emp_c, director_en, lead_off, lead_l, emp_none, mgr_none, lead_none, small_lead):
        users[u["email"]] = u
    lead = users["teamleider@demo.klantstem"]
    manager = users["manager@demo.klantstem"]
    director = users["directeur@demo.klantstem"]

    # the own switch: GET says on, PUT off (with CSRF), GET says off
    s = login(srv, lead_off["email"])
    st, _, b = srv.request("GET", "/api/v1/me/digests", headers=s, auth=False)
    t.check(st == 200 and b == {"digests": True, "receives_digests": True},
            "GET /me/digests: on by default for a team lead", ks.got(st, b))
    nocsrf = {"Cookie": s["Cookie"]}
    t.error(srv.request("PUT", "/api/v1/me/digests", {"digests": False}, headers=nocsrf, auth=False), 403,
            name="PUT /me/digests without the CSRF token -> 403")
    t.error(srv.request("PUT", "/api/v1/me/digests", {"digests": "no"}, headers=s, auth=False), 422,
            field="digests", name="PUT /me/digests with a string -> 422 digests")
    t.error(srv.request("PUT", "/api/v1/me/digests", {"digests": False, "x": 1}, headers=s, auth=False), 422,
            field="x", name="PUT /me/digests with an unknown field -> 422 x")
    st, _, b = srv.request("PUT", "/api/v1/me/digests", {"digests": False}, headers=s, auth=False)
    t.check(st == 200 and b.get("digests") is False, "PUT /me/digests false -> 200, off", ks.got(st, b))
    st, _, b = srv.get("/api/v1/me/digests")
    t.check(st == 200 and b.get("digests") is True and b.get("receives_digests") is False,
            "GET /me/digests of the admin: on, but admins receive none", ks.got(st, b))

    # compliments made during the week: one to A, one to B (admin sends them)
    set_clock(srv, wk_from + 2 * 86400 + 12 * 3600)
    note_a, note_b = "NOTE-A-%s" % ks.uniq("n"), "NOTE-B-%s" % ks.uniq("n")
    must(srv.post("/api/v1/responses/%d/compliment" % a_row[2], {"note": note_a}), 201, "compliment to A")
    must(srv.post("/api/v1/responses/%d/compliment" % b_row[2], {"note": note_b}), 201, "compliment to B")
    # Lotte, a lead of the same team, compliments C with a note of her own
    note_l = "NOTE-L-%s" % ks.uniq("n")
    st, _, b = srv.request("POST", "/api/v1/responses/%d/compliment" % c_row[2], {"note": note_l},
                           headers=login(srv, lead_l["email"]), auth=False)
    if st != 201:
        raise ks.FixtureError("Lotte's compliment to C -> %s" % ks.got(st, b))
    # the small team's one promoter gets a compliment too
    must(srv.post("/api/v1/responses/%d/compliment" % small_rid, {"note": "NOTE-K"}), 201, "compliment in the small team")
    set_clock(srv, nine)
    # the team goal: NPS 20 over the quarter that holds the week's Sunday
    sunday = wk_start + datetime.timedelta(days=6)
    quarter = "%04d-Q%d" % (sunday.year, (sunday.month - 1) // 3 + 1)
    must(srv.request("PUT", "/api/v1/teams/%d/goals" % team, {"period": quarter, "metric": "nps", "target": 20}),
         200, "PUT team goal")

    # settings: bad input, then every role on
    st, _, b = srv.get("/api/v1/digests/settings")
    t.check(st == 200 and [(i["role"], i["cadence"], i["enabled"]) for i in b.get("items", [])] ==
            [("employee", "weekly", False), ("team_lead", "weekly", False), ("manager", "monthly", False),
             ("director", "monthly", False)],
            "GET /digests/settings: four roles, weekly and monthly, all off after the migration", ks.got(st, b))
    for body, field in (({"items": [{"role": "employee", "hour": 24}]}, "items[0].hour"),
                        ({"items": [{"role": "employee"}, {"role": "boss"}]}, "items[1].role"),
                        ({"items": [{"role": "manager", "day_of_month": 29}]}, "items[0].day_of_month"),
                        ({"items": [{"role": "manager", "weekday": 0}]}, "items[0].weekday"),
                        ({"items": [{"role": "manager", "enabled": 1}]}, "items[0].enabled"),
                        ({"items": [{"role": "manager", "colour": "red"}]}, "items[0].colour"),
                        ({"items": []}, "items"), ({"roles": []}, "roles")):
        t.error(srv.request("PUT", "/api/v1/digests/settings", body), 422, field=field,
                name="PUT /digests/settings %s -> 422 %s" % (ks.short(body, 80), field))
    st, _, b = srv.get("/api/v1/digests/settings")
    t.check(st == 200 and not any(i["enabled"] or i["hour"] != 8 for i in b["items"]),
            "a refused PUT changed nothing (all off, hour 8)", ks.short(b))
    # the schedule waits for its day and hour: employees on today at 23:00 -> nothing at 09:00
    wd = today.isoweekday()
    must(srv.request("PUT", "/api/v1/digests/settings",
                     {"items": [{"role": "employee", "enabled": True, "weekday": wd, "hour": 23}]}), 200, "PUT employee 23:00")
    must(srv.post("/api/v1/admin/scheduler/run", timeout=300), 200, "scheduler pass at 09:00")
    t.check(digests(sink) == [] and srv.sql("SELECT count(*) FROM digest_mails") == [(0,)] and
            srv.sql("SELECT last_period FROM digest_settings WHERE role = 'employee'") == [(None,)],
            "the schedule: employees due today at 23:00 -> nothing queued or sent at 09:00")
    set_clock(srv, nine + 14 * 3600)
    must(srv.post("/api/v1/admin/scheduler/run", timeout=300), 200, "scheduler pass at 23:00")
    drain(srv)
    emps = {u["email"].lower() for u in users.values() if u["role"] == "employee" and u["employee_id"]}
    got_e = collections.Counter(m.rcpt.strip().lower() for m in digests(sink))
    t.check(dict(got_e) == {e: 1 for e in emps} and
            srv.sql("SELECT last_period FROM digest_settings WHERE role = 'employee'") == [(week,)],
            "the schedule: at 23:00 every employee with an employee record gets the digest of %s (and only they: "
            "not Eva without one); last_period %s" % (week, week), dict(got_e))
    set_clock(srv, nine)
    on = {"items": [{"role": r, "enabled": True, "weekday": 1, "day_of_month": 1, "hour": 0}
                    for r in ("employee", "team_lead", "manager", "director")]}
    st, _, b = srv.request("PUT", "/api/v1/digests/settings", on)
    t.check(st == 200 and all(i["enabled"] and i["hour"] == 0 and i["weekday"] == 1 for i in b["items"]),
            "PUT /digests/settings: every role on, due from Monday / the 1st at 00:00", ks.got(st, b))

    # the schedule's pass (and the passes after it: a pass sends at most 32)
    must(srv.post("/api/v1/admin/scheduler/run", timeout=300), 200, "scheduler pass 1")
    drain(srv)
    mails = digests(sink)
    receivers = {u["email"]: u for u in users.values()
                 if (u["role"] == "employee" and u["employee_id"]) or (u["role"] in ("team_lead", "manager") and u["unit_id"])
                 or u["role"] == "director"}
    receivers.pop(lead_off["email"])
    got = collections.Counter(m.rcpt.strip().lower() for m in mails)
    t.eq(dict(got), {e.lower(): 1 for e in receivers},
         "pass 1 (the other roles due): exactly one digest to every employee, team lead, manager and director (%d), "
         "none to admins, to the one who switched them off, nor to an employee without an employee record or a "
         "lead or manager without a unit (nothing to tell)" % len(receivers))
    rows = srv.sql("SELECT u.email, m.role, m.period, m.status FROM digest_mails m JOIN users u ON u.id = m.user_id")
    t.eq(sorted(rows), sorted((e, u["role"], week if u["role"] in ("employee", "team_lead") else month, "sent")
                              for e, u in receivers.items()),
         "the outbox: one sent row per user for the last whole week (%s) or month (%s)" % (week, month))
    must(srv.post("/api/v1/admin/scheduler/run", timeout=300), 200, "scheduler pass 2")
    r3 = must(srv.post("/api/v1/digests/run", None, timeout=300), 202, "POST /digests/run")
    drain(srv)
    t.check(len(digests(sink)) == len(mails) and r3.get("queued") == 0 and "sent" not in r3,
            "a second pass and a run now (202, it only queues) send nothing more (same periods)", ks.short(r3))
    by = {m.rcpt.strip().lower(): m for m in mails}

    check_common(t, srv, by, receivers, week, month)
    check_employee(t, srv, by, emp_a, emp_b, emp_c, note_a, note_b, wk_from, wk_to)
    check_lead(t, srv, by[lead["email"]], team, quarter, nine, wk_from, wk_to)
    check_lead_compliments(t, srv, by, lead, lead_l, emp_c, note_a, note_b, note_l, small_lead, small_text)
    check_monthly(t, srv, by[director["email"]], "nl", month, None)
    check_monthly(t, srv, by[director_en["email"]], "en", month, None)
    check_monthly(t, srv, by[manager["email"]], "nl", month, manager["unit_id"])
    check_unsubscribe(t, srv, sink, by, emp_a, emp_b, week, wk_start)
    check_list_and_run_errors(t, srv, nine, week, month)
    check_anonymous(t, srv, sink, lead, lead_l, team, wk_start)
    check_scope_changed(t, srv, sink, month, manager["unit_id"])
    check_missed_moment(t, srv, sink, nine)


def check_common(t, srv, by, receivers, week, month):
    bad = []
    for email, u in receivers.items():
        m = by.get(email.lower())
        if m is None:
            bad.append("%s: no mail" % email)
            continue
        tok = unsub_token(m)
        stored = srv.sql("SELECT user_id FROM digest_unsub_tokens WHERE token_hash = ?", (sha256(tok or ""),))
        if stored != [(u["id"],)]:
            bad.append("%s: the SHA-256 of the link's token names user %s, not %d" % (email, stored, u["id"]))
        if tok and srv.sql("SELECT count(*) FROM digest_unsub_tokens WHERE token_hash = ?", (tok,))[0][0]:
            bad.append("%s: the token itself is stored" % email)
        unsub = "%s/d/%s" % (BASE, tok or "?")
        weekly = u["role"] in ("employee", "team_lead")
        period = week if weekly else month
        en = u["language"] == "en"
        subj = ("Your weekly digest " if en else "Je weekoverzicht ") if weekly else \
            ("Your monthly digest " if en else "Je maandoverzicht ")
        page = BASE + ("/#/me" if u["role"] == "employee" else "/#/team" if u["role"] == "team_lead" else "/#/org")
        if not m.subject.endswith(subj + period):
            bad.append("%s: subject %r" % (email, m.subject))
        if unsub not in m.text or unsub not in m.html or m.list_unsubscribe != "<%s>" % unsub:
            bad.append("%s: unsubscribe link %s missing (List-Unsubscribe %r)" % (email, unsub, m.list_unsubscribe))
        if page not in m.text or page not in m.html:
            bad.append("%s: page link %s missing" % (email, page))
        if ("Hello " if en else "Hallo ") not in m.text:
            bad.append("%s: greeting not in %s" % (email, u["language"]))
        if not m.html.lstrip().startswith("<!DOCTYPE html>") or ('lang="%s"' % u["language"]) not in m.html:
            bad.append("%s: no HTML part in its language" % email)
    t.check(not bad, "every digest: subject with its period, in the user's language (users.language), text and "
            "HTML parts, a link to its page and the user's own unsubscribe link (also as List-Unsubscribe); the store "
            "holds the link token's SHA-256 for that user, never the token", "\n".join(bad))
    if ks.pg_mode():  # the same question to PostgreSQL's catalogue (issue 18)
        cols = [r[0] for r in srv.sql("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('digest_prefs')"
                                      " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")]
    else:
        cols = [r[1] for r in srv.sql("PRAGMA table_info(digest_prefs)")]
    t.eq(cols, ["user_id", "opted_out", "updated_at"],
         "digest_prefs holds no unsubscribe token")


def check_employee(t, srv, by, emp_a, emp_b, emp_c, note_a, note_b, wk_from, wk_to):
    ma, mb = by[emp_a["email"].lower()], by[emp_b["email"].lower()]
    t.check(note_a in ma.text and note_b not in ma.text and note_a in ma.html and note_b not in ma.html,
            "employee A's digest holds A's compliment of the week and not colleague B's")
    t.check(note_b in mb.text and note_a not in mb.text, "employee B's digest holds B's compliment, not A's")
    t.check("Your new compliments" in ma.text and "Je nieuwe complimenten" in mb.text,
            "A's digest is in English, B's in Dutch (users.language)")
    for u, m in ((emp_a, ma), (emp_b, mb), (emp_c, by[emp_c["email"].lower()])):
        en = u["language"] == "en"
        own = srv.sql("SELECT open_text FROM responses WHERE employee_id = ? AND received_at >= ? AND received_at < ?"
                      " AND open_text <> '' AND nps IS NOT NULL AND nps <= 8 ORDER BY id DESC", (u["employee_id"], wk_from, wk_to))
        sec = section(m.text, "Learning points" if en else "Leerpunten") or ""
        quoted = re.findall(r'^  - "(.*)"$', sec, re.M)
        want = [re.sub(r"[\x00-\x1f\x7f]", " ", x[0]) for x in own[:10]]
        t.eq(quoted, want,
             "employee %s: the learning points are their own passive and detractor open answers of the week, newest "
             "first, at most 10 (%d)" % (u["name"], len(own)))
    # their own score of the month before the week's last day, only as /metrics shows it (person's min n 10)
    sunday = local(wk_to - 1)
    pm = sunday.month - 1 or 12
    py = sunday.year - (1 if sunday.month == 1 else 0)
    month = "%04d-%02d" % (py, pm)
    lo, hi = ks.local_period_bounds(month)
    below = 0
    for u in (emp_a, emp_b, emp_c):
        m = by[u["email"].lower()]
        en = u["language"] == "en"
        n = srv.sql("SELECT count(nps) FROM responses WHERE employee_id = ? AND received_at >= ? AND received_at < ?",
                    (u["employee_id"], lo, hi))[0][0]
        met = must(srv.get("/api/v1/metrics?employee_id=%d&period=%s" % (u["employee_id"], month)), 200, "metrics of a person")
        sec = section(m.text, "Your NPS" if en else "Jouw NPS") or ""
        if isinstance(met.get("nps"), dict):
            v = met["nps"]
            want = ("%s: NPS %s (95%% interval %s to %s)" if en else "%s: NPS %s (95%%-interval %s tot %s)") % (
                month, dec(v["value"], 1, u["language"]), dec(v["low"], 1, u["language"]), dec(v["high"], 1, u["language"]))
            t.check(n >= 10 and sec.strip() == want,
                    "employee %s: their own NPS of %s (%d answers) as GET /metrics shows it" % (u["name"], month, n), sec)
        else:
            below += n < 10
            want = ("%s: too few answers for a score yet (fewer than 10)." if en else
                    "%s: nog te weinig antwoorden voor een score (minder dan 10).") % month
            t.check(sec.strip() == want and not re.search(r"NPS -?\d", sec),
                    "employee %s: %d answers in %s, below the person's minimum: no score, no number" % (u["name"], n, month), sec)
    t.check(below >= 1, "(fixture) at least one employee is below the person's minimum n", below)


def check_lead(t, srv, m, team, quarter, nine, wk_from, wk_to):
    today0 = ks.start_of_local_day(nine)
    lo, hi = ks.local_period_bounds(quarter)
    c = ks.Counts()
    for nps, grade, ces, emp in srv.sql("SELECT nps, grade, ces, employee_id FROM responses WHERE team_id = ?"
                                        " AND received_at >= ? AND received_at < ?", (team, lo, min(hi, today0))):
        c.add(nps, grade, ces, emp)
    min_n = 10 if c.one_person() else 5
    status = ks.goal_status(c, "nps", 20, min_n)
    value = ks.text_exact(Fraction(100 * (c.p - c.d), c.nps_n), 1).replace(".", ",") if status != "insufficient_data" else "-"
    want = "  - NPS %s: doel 20,0, nu %s (%s)" % (quarter, value, NL_STATUS[status])
    t.check(want in m.text.split("\n"), "team lead: the team goal's progress, recomputed from the file (%d NPS answers)"
            % c.nps_n, "want %r in\n%s" % (want, section(m.text, "Teamdoel")))
    now = nine
    cases = srv.sql("SELECT count(*), coalesce(sum(deadline IS NOT NULL AND deadline < ?), 0) FROM cases"
                    " WHERE team_id = ? AND status IN ('new','contacted')", (now, team))[0]
    want = "%d open, waarvan %d over de deadline." % (cases[0], cases[1])
    t.check(want in m.text, "team lead: the team's open cases (%d, %d overdue)" % cases,
            section(m.text, "Open cases van het team"))
    n_week = srv.sql("SELECT count(*) FROM responses WHERE team_id = ? AND received_at >= ? AND received_at < ?",
                     (team, wk_from, wk_to))[0][0]
    sec = section(m.text, "Leerpunten") or ""
    if n_week >= 5:
        texts = {r[0] for r in srv.sql("SELECT open_text FROM responses WHERE team_id = ? AND received_at >= ?"
                                       " AND received_at < ? AND nps <= 8", (team, wk_from, wk_to))}
        quoted = re.findall(r'^  - "(.*)"$', sec, re.M)
        t.check(quoted and all(q in texts for q in quoted) and "NPS" not in sec,
                "team lead: the team's learning points are the week's passive and detractor texts, without scores or names",
                sec)
    else:
        t.check("Te weinig antwoorden" in sec, "team lead: too few answers in the week: no texts", sec)
    t.check(("Complimenten aan het team" in m.text) == (n_week >= 5),
            "team lead: the team's compliments section exactly when the week had >= 5 answers (%d)" % n_week)


def check_lead_compliments(t, srv, by, lead, lead_l, emp_c, note_a, note_b, note_l, small_lead, small_text):
    ml, mll = by[lead["email"].lower()], by[lead_l["email"].lower()]
    sec = section(ml.text, "Complimenten aan het team") or ""
    t.check(sec.count("  - ") >= 3 and not any(n in ml.text or n in ml.html for n in (note_a, note_b, note_l)),
            "team lead: the team's compliments of the week, without the notes others wrote to the employees", sec)
    secl = section(mll.text, "Complimenten aan het team") or ""
    t.check(note_l in secl and note_a not in mll.text and note_b not in mll.text,
            "team lead Lotte: her own note to C, nobody else's", secl)
    ms = by[small_lead["email"].lower()]
    t.check("Complimenten aan het team" not in ms.text and small_text not in ms.text and "NOTE-K" not in ms.text and
            small_text not in ms.html and "Te weinig antwoorden deze week" in ms.text,
            "team lead of a team with 3 answers in the week (< 5): no compliments, as no learning points (a "
            "compliment would name whom one of the few answers was about)", ms.text[:1500])


def check_anonymous(t, srv, sink, lead, lead_l, team, wk_start):
    prev = week_label(wk_start - datetime.timedelta(days=7))
    lo, hi = ks.local_period_bounds(prev)
    n_prev = srv.sql("SELECT count(*) FROM responses WHERE team_id = ? AND received_at >= ? AND received_at < ?",
                     (team, lo, hi))[0][0]
    st, _, cur = srv.get("/api/v1/settings")
    old = cur.get("verbatim_detail") if st == 200 and isinstance(cur, dict) else None
    must(srv.request("PUT", "/api/v1/settings", {"verbatim_detail": "anonymous"}), 200, "verbatim_detail anonymous")
    before = {m.message_id for m in digests(sink)}
    r = must(srv.post("/api/v1/digests/run", {"role": "team_lead", "period": prev}), 202, "run the team leads' " + prev)
    drain(srv)
    mine = (lead["email"].lower(), lead_l["email"].lower())
    new = [m for m in digests(sink) if m.message_id not in before and m.rcpt.strip().lower() in mine]
    t.check(n_prev >= 5 and len(new) == 2 and r.get("queued", 0) >= 2 and
            all("Complimenten aan het team" not in m.text and "Leerpunten" in m.text for m in new),
            "verbatim_detail anonymous: the team leads' digests of %s (%d answers) have no compliments section (a "
            "compliment names the employee)" % (prev, n_prev), [m.text[:800] for m in new])
    must(srv.request("PUT", "/api/v1/settings", {"verbatim_detail": old or "band"}), 200, "verbatim_detail back")


def check_scope_changed(t, srv, sink, month, mgr_unit):
    """A digest follows the role it was queued for: one whose user was
    demoted or lost their unit since is not sent."""
    dora = make_user(srv, "director", "Dora Degradatie", "en")
    mia = make_user(srv, "manager", "Mia Verhuisd", "nl", unit_id=mgr_unit)
    r1 = must(srv.post("/api/v1/digests/run", {"role": "director", "period": month}), 202, "queue Dora")
    r2 = must(srv.post("/api/v1/digests/run", {"role": "manager", "period": month}), 202, "queue Mia")
    t.check(r1.get("queued") == 1 and r2.get("queued") == 1,
            "POST /digests/run -> 202: Dora's director digest and Mia's manager digest queued, none sent yet",
            (ks.short(r1), ks.short(r2)))
    spare = srv.sql("SELECT id FROM employees WHERE id NOT IN (SELECT employee_id FROM users WHERE employee_id IS NOT NULL)"
                    " ORDER BY id DESC LIMIT 1")[0][0]
    other = srv.sql("SELECT id FROM org_units WHERE kind = 'department' AND id <> ? ORDER BY id LIMIT 1", (mgr_unit,))[0][0]
    must(srv.request("PATCH", "/api/v1/users/%d" % dora["id"], {"role": "employee", "employee_id": spare}), 200,
         "demote Dora")
    must(srv.request("PATCH", "/api/v1/users/%d" % mia["id"], {"unit_id": other}), 200, "Mia moves to another unit")
    drain(srv)
    got = [m.subject for m in digests(sink) if m.rcpt.strip().lower() in (dora["email"].lower(), mia["email"].lower())]
    rows = srv.sql("SELECT user_id, status, last_error FROM digest_mails WHERE user_id IN (?, ?) ORDER BY user_id",
                   (dora["id"], mia["id"]))
    t.check(got == [] and rows == [(dora["id"], "failed", "the user's role changed since it was queued"),
                                   (mia["id"], "failed", "the user's unit changed since it was queued")],
            "a director demoted to employee while her digest waited gets no organisation digest; a manager moved to "
            "another unit none of the old one (each recorded failed with the reason)", (got, rows))


def add_months(y, m, k):
    m += k
    return y + (m - 1) // 12, (m - 1) % 12 + 1


def check_missed_moment(t, srv, sink, nine):
    """The managers' digest is due on the 28th at 23:00; the server is down
    from before that moment until the 2nd of the month after: the missed
    period is sent when it comes back, and only that one."""
    today = local(nine).date()
    p0 = "%04d-%02d" % (today.year, today.month)
    y2, m2 = add_months(today.year, today.month, 2)
    items = [{"role": r, "enabled": False} for r in ("employee", "team_lead", "director")]
    items.append({"role": "manager", "enabled": True, "day_of_month": 28, "hour": 23})
    must(srv.request("PUT", "/api/v1/digests/settings", {"items": items}), 200, "managers on the 28th at 23:00")
    back = ks.local_midnight(y2, m2, 2) + 9 * 3600
    set_clock(srv, back)
    # the '@' looked for here, not in SQL: PostgreSQL's nocase collation allows no substring search
    n_mgr = sum(1 for (em,) in srv.sql("SELECT email FROM users u WHERE role = 'manager' AND disabled = 0"
                                       " AND deleted_at IS NULL AND unit_id IS NOT NULL AND NOT EXISTS"
                                       " (SELECT 1 FROM digest_prefs p WHERE p.user_id = u.id AND p.opted_out = 1)")
                if em.find("@") > 0)
    drain(srv, "the first passes after the restart")
    q = "SELECT period, count(*) FROM digest_mails WHERE role = 'manager' AND created_at >= ? GROUP BY period"
    rows = srv.sql(q, (back,))
    last = srv.sql("SELECT last_period FROM digest_settings WHERE role = 'manager'")[0][0]
    t.check(rows == [(p0, n_mgr)] and last == p0,
            "a server down across the 28th 23:00 of the month after %s queues %s's digests (%d managers) when it is back "
            "on the 2nd" % (p0, p0, n_mgr), (rows, last))
    must(srv.post("/api/v1/admin/scheduler/run", timeout=300), 200, "another pass")
    t.eq(srv.sql(q, (back,)), rows, "and nothing more: no backlog, the next month not due before the 28th")
    set_clock(srv, nine)
    must(srv.request("PUT", "/api/v1/digests/settings", {"items": [{"role": "manager", "enabled": False}]}), 200,
         "managers off")


def check_monthly(t, srv, m, lang, month, unit):
    q = "/api/v1/metrics?period=%s" % month + ("&team_id=%d" % unit if unit else "")
    met = must(srv.get(q), 200, "GET " + q)
    en = lang == "en"
    lines = m.text.split("\n")
    bad = []
    for label, key, field, places in (("NPS", "nps", "value", 1), ("Grade" if en else "Cijfer", "grade", "mean", 2),
                                      ("CES", "ces", "mean", 2)):
        blk = met.get(key)
        if isinstance(blk, dict):
            if "low" in blk:
                want = ("  - %s: %s (95%% interval %s to %s; n = %d)" if en else "  - %s: %s (95%%-interval %s tot %s; n = %d)") % (
                    label, dec(blk[field], places, lang), dec(blk["low"], places, lang), dec(blk["high"], places, lang), blk["n"])
            else:
                want = "  - %s: %s (n = %d)" % (label, dec(blk[field], places, lang), blk["n"])
        elif key in (met.get("hidden") or []):
            want = "  - %s: %s" % (label, "hidden (too few answers)" if en else "verborgen (te weinig antwoorden)")
        else:
            want = "  - %s: %s" % (label, "no answers" if en else "geen antwoorden")
        if want not in lines:
            bad.append("want %r" % want)
    want_n = ("%d answers." if en else "%d antwoorden.") % met["n"]
    if want_n not in lines:
        bad.append("want %r" % want_n)
    t.check(not bad and isinstance(met.get("nps"), dict),
            "%s digest (%s%s): the month's scores equal GET %s" % ("director" if not unit else "manager", lang,
                                                                  "" if not unit else ", unit %d" % unit, q),
            "\n".join(bad) + "\n" + (section(m.text, "Scores") or m.text[:2000]))
    t.check(("Improvement actions and their effect" if en else "Verbeteracties en hun effect") in m.text,
            "%s digest: the actions section" % lang)
    # the top three key drivers of the scope (the organisation's unit for a director), as GET /drivers/top3
    scope_unit = unit or srv.sql("SELECT id FROM org_units WHERE kind = 'organisation'")[0][0]
    top = must(srv.get("/api/v1/drivers/top3?team_id=%d&period=%s" % (scope_unit, month), timeout=120), 200, "top3")
    want = []
    for d in top["top3"]:
        mean = dec(d["mean"], 2, lang) if d.get("mean") is not None else "-"
        if isinstance(d.get("gain"), dict) and d["gain"].get("value") is not None:
            want.append(("  - %s: mean %s (n = %d); up to %s NPS points to gain" if en else
                         "  - %s: gemiddeld %s (n = %d); tot %s NPS-punten te winnen")
                        % (d["driver"], mean, d["n"], dec(d["gain"]["value"], 1, lang)))
        else:
            want.append(("  - %s: mean %s (n = %d)" if en else "  - %s: gemiddeld %s (n = %d)") % (d["driver"], mean, d["n"]))
    sec = section(m.text, "What drives the NPS most" if en else "Wat de NPS het meest bepaalt")
    got = [l for l in (sec or "").split("\n") if l.startswith("  - ")]
    t.check(sec is not None and got == want,
            "%s digest (%s): the top three drivers equal GET /drivers/top3 for unit %d (%d)"
            % ("director" if not unit else "manager", lang, scope_unit, len(want)), "want %r\ngot %r" % (want, sec))
    # the hard KPIs of the unit (the organisation for a director): as GET /api/v1/kpi-series reads them
    if unit:
        kind = srv.sql("SELECT kind FROM org_units WHERE id = ?", (unit,))[0][0]
        scope = unit
    else:
        kind, scope = "organisation", srv.sql("SELECT id FROM org_units WHERE kind = 'organisation'")[0][0]
    kpis = must(srv.get("/api/v1/kpis"), 200, "GET /api/v1/kpis")["kpis"]
    bad, shown = [], 0
    for k in kpis:
        ser = must(srv.get("/api/v1/kpi-series?kpi=%s&level=%s&from=%s&to=%s" % (k["key"], kind, month, month)), 200,
                   "kpi-series")
        row = [u for u in ser["units"] if u["unit_id"] == scope]
        v = row[0]["values"][0] if row else None
        shown += v is not None
        want = "  - %s %s: %s %s" % (k["name_en" if en else "name_nl"], month,
                                     dec(v, 2, lang) if v is not None else "-", k["unit"])
        if want not in lines:
            bad.append("want %r" % want)
    t.check(kpis and not bad, "%s digest (%s): the %d hard KPIs of the %s for %s as GET /kpi-series reads them (%d with "
            "a value)" % ("director" if not unit else "manager", lang, len(kpis), kind, month, shown),
            "\n".join(bad) + "\n" + (section(m.text, "KPI's") or ""))


def check_unsubscribe(t, srv, sink, by, emp_a, emp_b, week, wk_start):
    tok_a = unsub_token(by[emp_a["email"].lower()])
    link = "/d/" + tok_a
    st, _, page = srv.request("GET", link, auth=False)
    t.check(st == 200 and "Stop digests" in page and 'method="post"' in page,
            "GET /d/{token} without login: a page in the user's language (en) that asks", ks.got(st, page))
    t.eq(srv.sql("SELECT count(*) FROM digest_prefs WHERE user_id = ? AND opted_out = 1", (emp_a["id"],)), [(0,)],
         "GET /d/{token} changes nothing (a mail scanner's prefetch)")
    flip = tok_a[:-1] + ("0" if tok_a[-1] != "0" else "1")
    for bad_tok in (flip, tok_a.upper(), tok_a[:-1], tok_a + "0", "x" * 32):
        st, _, page = srv.request("POST", "/d/" + bad_tok, auth=False)
        t.check(st == 404, "POST /d/ with a tampered token (%s...) -> 404" % bad_tok[:6], ks.got(st, page))
    t.eq(srv.sql("SELECT count(*) FROM digest_prefs WHERE opted_out = 1"), [(1,)],
         "tampered tokens opted nobody out (only the team lead who switched off)")
    st, _, page = srv.request("POST", link, auth=False)
    t.check(st == 200 and "no more digests" in page, "POST /d/{token} without login -> 200", ks.got(st, page))
    t.eq(sorted(r[0] for r in srv.sql("SELECT user_id FROM digest_prefs WHERE opted_out = 1")),
         sorted(set([emp_a["id"]] + [r[0] for r in srv.sql("SELECT id FROM users WHERE name = 'Olga Opt-out'")])),
         "the link opted out exactly its own user")
    t.eq(srv.sql("SELECT actor_user_id, object_kind, object_id FROM audit_log WHERE action = 'digest.unsubscribe'"),
         [(None, "user", emp_a["id"])], "the audit log holds the unsubscription (anonymous actor, the user as object)")
    # a chosen past week for employees: A (unsubscribed) gets nothing, B one
    prev = week_label(wk_start - datetime.timedelta(days=7))
    n0 = len(digests(sink))
    r = must(srv.post("/api/v1/digests/run", {"period": prev, "role": "employee"}, timeout=300), 202,
             "POST /digests/run for %s" % prev)
    t.check(len(digests(sink)) == n0 and "sent" not in r, "POST /digests/run only queues (202): nothing sent yet",
            ks.short(r))
    drain(srv)
    new = digests(sink)[n0:]
    rcpts = collections.Counter(m.rcpt.strip().lower() for m in new)
    n_emp = srv.sql("SELECT count(*) FROM users WHERE role = 'employee' AND disabled = 0 AND deleted_at IS NULL"
                    " AND employee_id IS NOT NULL")[0][0]
    t.check(emp_a["email"].lower() not in rcpts and rcpts.get(emp_b["email"].lower()) == 1 and
            len(rcpts) == n_emp - 1 and all(v == 1 for v in rcpts.values()) and r.get("queued") == n_emp - 1 and
            all(m.subject.endswith(prev) for m in new),
            "run now for a past week (%s): every employee but the one who unsubscribed gets one" % prev, ks.short(r))
    again = must(srv.post("/api/v1/digests/run", {"period": prev, "role": "employee"}, timeout=300), 202, "run again")
    drain(srv)
    t.check(again.get("queued") == 0 and len(digests(sink)) == n0 + len(new),
            "the same period again sends nothing", ks.short(again))
    # switch back on by the account page: the next period reaches A again
    st, _, b = srv.request("PUT", "/api/v1/me/digests", {"digests": True}, headers=login(srv, emp_a["email"]), auth=False)
    t.check(st == 200 and b.get("digests") is True, "A switches digests on again in the account", ks.got(st, b))


def check_list_and_run_errors(t, srv, nine, week, month):
    st, _, b = srv.get("/api/v1/digests?limit=5")
    t.check(st == 200 and len(b.get("items", [])) == 5 and all(set(i) >= {"id", "user", "role", "period", "status",
                                                                         "attempts", "last_error", "sent_at"}
                                                                for i in b["items"]),
            "GET /digests?limit=5: the 5 most recent sends with status", ks.short(b))
    st, _, b = srv.get("/api/v1/digests?status=failed")
    t.check(st == 200 and b.get("items") == [], "GET /digests?status=failed: none failed", ks.short(b))
    t.error(srv.get("/api/v1/digests?status=lost"), 422, field="status", name="GET /digests?status=lost -> 422 status")
    t.error(srv.get("/api/v1/digests?limit=0"), 422, field="limit", name="GET /digests?limit=0 -> 422 limit")
    this_month = local(nine).strftime("%Y-%m")
    for body, field, why in (({"period": "2026-13"}, "period", "not a period"),
                             ({"period": week, "role": "director"}, "period", "a week for a monthly role"),
                             ({"period": month, "role": "employee"}, "period", "a month for a weekly role"),
                             ({"period": this_month, "role": "manager"}, "period", "a month that has not ended"),
                             ({"role": "admin"}, "role", "admins get no digest"),
                             ({"period": 202611}, "period", "a number"),
                             ({"when": "now"}, "when", "unknown field")):
        t.error(srv.post("/api/v1/digests/run", body), 422, field=field,
                name="POST /digests/run %s -> 422 %s (%s)" % (ks.short(body, 60), field, why))


def crash(t, srv, sink, nine):
    """A SIGKILL while a pass sends: no duplicates, the rest after a restart;
    a pass sends at most 32."""
    taken = {r[0] for r in srv.sql("SELECT employee_id FROM users WHERE employee_id IS NOT NULL")}
    free = [r[0] for r in srv.sql("SELECT id FROM employees ORDER BY id") if r[0] not in taken][:40]
    for i, e in enumerate(free):
        srv.create("users", {"email": "crash%02d@digest.test" % i, "name": "Crash %d" % i, "role": "employee",
                             "employee_id": e, "password": PASSWORD})
    today = local(nine).date()
    wk = today - datetime.timedelta(days=today.weekday() + 21)
    period = week_label(wk)
    n_emp = srv.sql("SELECT count(*) FROM digest_prefs p JOIN users u ON u.id = p.user_id WHERE u.role = 'employee'"
                    " AND p.opted_out = 1")[0][0]
    want = srv.sql("SELECT count(*) FROM users WHERE role = 'employee' AND disabled = 0 AND deleted_at IS NULL"
                   " AND employee_id IS NOT NULL")[0][0] - n_emp
    if len(free) < 40 or want <= 40:
        raise ks.FixtureError("crash: too few free employees (%d) for more than 40 digests (%d)" % (len(free), want))
    before = {m.message_id for m in digests(sink)}
    sink.delay = 0.25
    result = {}

    must(srv.post("/api/v1/digests/run", {"period": period, "role": "employee"}, timeout=300), 202, "queue " + period)

    def in_background():
        try:  # the scheduler's passes, one after another, as the server's own thread runs them
            while True:
                result["resp"] = srv.post("/api/v1/admin/scheduler/run", timeout=300)
        except Exception as ex:  # the kill cuts the connection
            result.pop("resp", None)
            result["error"] = repr(ex)

    th = threading.Thread(target=in_background, daemon=True)
    th.start()
    deadline = time.time() + 120
    n0 = sink.count()  # files only (cheap): every new mail here is a digest of the run
    while sink.count() - n0 < 6 and time.time() < deadline and th.is_alive():
        time.sleep(0.005)
    srv.kill()
    th.join(30)
    at_kill = len([m for m in digests(sink) if m.message_id not in before])
    t.check(6 <= at_kill < want and "resp" not in result,
            "crash: the server was SIGKILLed while the run sent (%d of %d out)" % (at_kill, want), ks.short(result))
    time.sleep(0.8)
    sink.delay = 0.0
    rows = srv.sql("SELECT status, count(*) FROM digest_mails WHERE period = ? GROUP BY status", (period,))
    t.check(sum(n for _, n in rows) == want and dict(rows).get("sending", 0) >= 1,
            "crash: all %d rows were queued before sending; a claimed one is left 'sending'" % want, rows)
    srv.start()
    left = srv.sql("SELECT count(*) FROM digest_mails WHERE period = ? AND status = 'pending'", (period,))[0][0]
    n1 = len(digests(sink))
    must(srv.post("/api/v1/admin/scheduler/run", timeout=300), 200, "scheduler pass after the restart")
    one = len(digests(sink)) - n1
    t.check(left > 32 and 1 <= one <= 32 and
            srv.sql("SELECT count(*) FROM digest_mails WHERE period = ? AND status = 'pending'", (period,))[0][0] == left - one,
            "one scheduler pass sends at most 32 digests (%d of %d waiting) and leaves the rest pending for the next "
            "pass (it holds the pass lock of every mail)" % (one, left))
    drain(srv, "scheduler passes after the restart")
    ids = {r[0] for r in srv.sql("SELECT message_id FROM digest_mails WHERE period = ?", (period,))}
    new = [m for m in digests(sink) if m.message_id not in before]
    got = collections.Counter(m.message_id for m in new)
    t.eq({k.strip("<>").split("@")[0] for k in got}, ids,
         "crash: after the restart every queued digest of %s was delivered, with the Message-ID the outbox gave it" % period)
    dups = {k: n for k, n in got.items() if n > 1}
    t.check(sum(n - 1 for n in dups.values()) <= 1,
            "crash: at most the one in flight at the kill was delivered twice, with the same Message-ID", dups)
    t.eq(srv.sql("SELECT status, count(*) FROM digest_mails WHERE period = ? GROUP BY status", (period,)),
         [("sent", want)], "crash: all %d are sent in the file, none twice in the outbox" % want)
    n2 = len(digests(sink))
    r = must(srv.post("/api/v1/digests/run", {"period": period, "role": "employee"}, timeout=300), 202, "run again")
    drain(srv)
    t.check(r.get("queued") == 0 and len(digests(sink)) == n2, "crash: the period run again queues and sends nothing",
            ks.short(r))


def record_fails(t, srv, sink, nine):
    """The outcome of the second digest of a batch cannot be written (a
    trigger refuses it): the pass stops, and the batch's digests not yet
    tried are back to pending at once, not 'sending' until a restart."""
    today = local(nine).date()
    period = week_label(today - datetime.timedelta(days=today.weekday() + 35))
    r = must(srv.post("/api/v1/digests/run", {"period": period, "role": "employee"}, timeout=300), 202, "queue " + period)
    ids = [x[0] for x in srv.sql("SELECT id FROM digest_mails WHERE period = ? ORDER BY id", (period,))]
    if len(ids) < 8 or r.get("queued") != len(ids):
        raise ks.FixtureError("record_fails: %d rows queued (%s)" % (len(ids), ks.short(r)))
    con = ks.db_connect(srv.db)
    try:
        if ks.pg_mode():  # the same trigger in PostgreSQL's dialect
            con.execute("CREATE FUNCTION test_record_fails() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                        " IF NEW.status = 'sent' AND OLD.id = %d THEN RAISE EXCEPTION 'test: no record'; END IF;"
                        " RETURN NEW; END $$" % ids[1])
            con.execute("CREATE TRIGGER test_record_fails BEFORE UPDATE OF status ON digest_mails"
                        " FOR EACH ROW EXECUTE FUNCTION test_record_fails()")
        else:
            con.execute("CREATE TRIGGER test_record_fails BEFORE UPDATE OF status ON digest_mails"
                        " WHEN NEW.status = 'sent' AND OLD.id = %d BEGIN SELECT RAISE(ABORT, 'test: no record'); END"
                        % ids[1])
        con.commit()
    finally:
        con.close()
    st, _, b = srv.post("/api/v1/admin/scheduler/run", timeout=300)
    rows = dict(srv.sql("SELECT id, status || '/' || attempts FROM digest_mails WHERE period = ?", (period,)))
    want = {i: "pending/0" for i in ids}
    want[ids[0]] = "sent/1"
    want[ids[1]] = "sending/1"  # sent, its outcome not written: sent again after a restart, same Message-ID
    t.check(st != 200 and rows == want,
            "a record that fails stops the pass (%d); the batch's other claimed digests are pending again at once, "
            "their attempt not counted" % st, (ks.short(b), rows))
    con = ks.db_connect(srv.db)
    try:
        con.execute("DROP TRIGGER test_record_fails ON digest_mails" if ks.pg_mode() else "DROP TRIGGER test_record_fails")
        if ks.pg_mode():
            con.execute("DROP FUNCTION test_record_fails()")
        con.commit()
    finally:
        con.close()
    drain(srv)
    t.eq(srv.sql("SELECT status, count(*) FROM digest_mails WHERE period = ? GROUP BY status", (period,)),
         [("sending", 1), ("sent", len(ids) - 1)], "the next passes send the rest")


if __name__ == "__main__":
    ks.run(main, start_server=False)
