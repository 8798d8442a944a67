#!/usr/bin/python3
"""Closing the loop (issue 6; docs/API.md, "Cases (closed loop)"): on one
server with a test clock, the SMTP sink and a webhook listener on loopback:

- a detractor opens a case for the team lead with a deadline of 48 working
  hours (a Friday case is due on Tuesday), the "opened" mail reaches the
  lead through the sink, case.opened reaches the listener signed;
- a repeated low score joins the customer's one open case (issue 13): the
  case lists every rule that fired with its response, repeat_low raises its
  priority, and its history says so;
- past the deadline (moved clock) the case is escalated once to the
  manager above the team (mail + case.overdue), never before;
- consent: a customer who said no is never "contacted", gets no message
  and no re-survey; an opted-out customer neither; a rejected address
  marks the message failed;
- resolving with a message mails the customer exactly the rendered text
  (one greeting, one signature; issue 13), the
  re-survey invitation goes out a day later, closing fires case.closed;
- reopening gives a new deadline and clears the escalation;
- /cases/stats against the same numbers computed here from the cases
  (Python's statistics module for median and p90).
"""

import contextlib
import glob
import hashlib
import hmac
import http.server
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402
import test_invite  # noqa: E402
from test_dashboard import PASSWORD, Session, make_user  # noqa: E402
from test_invite import Hooks, must, run_sched, wait_mails  # noqa: E402

HOUR = 3600
START = "2026-01-16T14:00:00Z"   # a Friday, 15:00 in Amsterdam (CET)
BASE_URL = "https://feedback.example.nl"
ORG = "Energie BV"


def session_request(self, method, path, body=None):
    h = {"Cookie": "ks_session=" + self.cookie, "X-CSRF-Token": self.csrf}
    return self.srv.request(method, path, body, headers=h, auth=False)


Session.request = session_request


def set_clock(srv, ts):
    test_invite.set_clock(srv, ks.iso(ts))


def respond(srv, f, cust, nps, text=None, consent=None):
    c = srv.create("contacts", {"customer_id": cust["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f["emp1"]["id"]})
    ans = {"nps": nps}
    if text is not None:
        ans["open"] = text
    if consent is not None:
        ans["contact_consent"] = consent
    return must(srv.post("/api/v1/responses", {"contact_id": c["id"], "answers": ans}), 201, "POST /responses")


def cases_of(srv, cust, rule=None):
    body = must(srv.get("/api/v1/cases?customer_id=%d" % cust["id"]), 200, "GET /cases")
    return [c for c in body["items"] if rule is None or c["rule"] == rule]


def get_case(srv, cid):
    return must(srv.get("/api/v1/cases/%d" % cid), 200, "GET /cases/%d" % cid)


def hooks_of(event):
    """(headers, body) of every POST the listener got for event."""
    with Hooks.lock:
        got = list(Hooks.got)
    return [(hd, body) for _, hd, body in got if hd.get("x-klantstem-event") == event]


def signed(hd, body, secret):
    ts = hd.get("x-klantstem-timestamp") or ""
    want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return ts != "" and hmac.compare_digest(hd.get("x-klantstem-signature") or "", want)


@contextlib.contextmanager
def world(t, extra=()):
    sink = smtp_sink.Sink()
    sink.start()
    Hooks.got = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    secret = "case-hooks-" + ks.uniq("s")
    url = "http://127.0.0.1:%d/hooks" % httpd.server_address[1]
    srv = ks.Server(t, args=["--test-clock", START, "--smtp", sink.url, "--base-url", BASE_URL,
                             "--org-name", ORG, "--webhook-url", url] + list(extra),
                    env={"KLANTSTEM_WEBHOOK_SECRET": secret})
    try:
        srv.start()
        yield srv, sink, secret
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()
            httpd.shutdown()
            httpd.server_close()
            sink.cleanup()


def customer(srv, name, email, language="nl", phone=None):
    body = {"external_id": ks.uniq("C"), "name": name, "language": language}
    if email:
        body["email"] = email
    if phone:
        body["phone"] = phone
    return srv.create("customers", body)


def main(t):
    with world(t) as (srv, sink, secret):
        scenario(t, srv, sink, secret)
    with world(t) as (srv, sink, secret):
        targets(t, srv, sink)
    with world(t) as (srv, sink, secret):
        one_case(t, srv, sink)
    with world(t, ["--case-mail", "per-case"]) as (srv, sink, secret):
        per_case_mails(t, srv, sink)
    rc, out, err = ks.run_cli(["serve", "--db", "/nonexistent/x.db", "--case-mail", "weekly"])
    t.check(rc == 2 and "--case-mail wants digest or per-case, got 'weekly'" in err,
            "serve --case-mail weekly: a usage error naming the option", (rc, err[-300:]))
    merge_old(t)


def per_case_mails(t, srv, sink):
    """--case-mail per-case: each escalation its own mail, as before the digest."""
    t0 = ks.parse_iso(START)
    f = ks.base_fixture(srv)
    mgr = make_user(srv, "manager", "Mark Manager", unit_id=f["dept"]["id"])
    ids = []
    for name in ("Per A", "Per B", "Per C"):
        cu = customer(srv, name, None)
        answer(srv, f, f["team"]["id"], cu, {"nps": 1})
        ids.append(cases_of(srv, cu)[0]["id"])
    set_clock(srv, ks.working_deadline(t0, 48) + 1)
    st = run_sched(srv)
    wait_mails(sink, mgr.email, 6)
    time.sleep(0.3)
    got = [m for m in sink.mails(to=mgr.email) if "deadline" in m.subject]  # besides the queue's "opened" mails
    t.check(st.get("cases_escalated") == 3 and sorted(m.subject for m in got)
            == sorted("Case #%d is over de deadline" % i for i in ids)
            and srv.sql("SELECT count(*) FROM case_digests") == [(0,)],
            "--case-mail per-case: three escalations, three mails, no digest", [m.subject for m in got])

    # ---- answers without a known customer (an open link): each its own case
    anon = []
    for k in range(2):
        st, _, r = srv.post("/api/v1/responses", {"client_key": ks.uniq("open"), "touchpoint_id": f["tp1"]["id"],
                                                  "team_id": f["team"]["id"], "channel": "web",
                                                  "answers": {"nps": 0}})
        anon.append(r.get("id") if st == 201 else None)
    rows = srv.sql("SELECT c.id, c.customer_id FROM cases c JOIN case_responses cr ON cr.case_id = c.id"
                   " WHERE cr.response_id IN (?, ?) ORDER BY c.id", tuple(anon))
    t.check(len(rows) == 2 and rows[0][0] != rows[1][0] and all(r[1] is None for r in rows),
            "two open-link detractors (no customer): two cases, one each", rows)
    if rows:
        a = get_case(srv, rows[0][0])
        t.eq((a.get("customer_id"), a.get("customer"), a.get("other_cases"), a.get("status")), (None, None, [], "new"),
             "an open-link case: no customer, no other cases")

    # ---- a customer's name of 300 bytes and a team's of 200 (two-byte letters):
    # the mail keeps 127 bytes of each, cut between letters (63 of them), or
    # the mail check refuses the mail and the lead never gets it
    long_team = srv.create("teams", {"name": "ß" * 100, "kind": "team", "parent_id": f["dept"]["id"]})
    long_lead = make_user(srv, "team_lead", "Lange Lead", unit_id=long_team["id"])
    answer(srv, f, long_team["id"], customer(srv, "ø" * 150, None), {"nps": 1})
    run_sched(srv)
    got = wait_mails(sink, long_lead.email, 1)
    t.check(len(got) == 1 and "ø" * 63 in got[0].text and "ø" * 64 not in got[0].text
            and "ß" * 63 in got[0].text and "ß" * 64 not in got[0].text,
            "opened mail of a long-named customer in a long-named team: sent, 63 whole letters of each",
            [(m.subject, m.text) for m in got])


# ---------------------------------------------------------------------------
# issue 13: one case per unhappy customer, the message read right, the
# manager's inbox, one digest per person


def respond_answers(srv, f, cust, answers, team=None):
    """A response on a contact served by emp1 (Sanne de Vries)."""
    c = srv.create("contacts", {"customer_id": cust["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f["emp1"]["id"]})
    return must(srv.post("/api/v1/responses", {"contact_id": c["id"], "answers": answers}), 201, "POST /responses")


def sess_get(sess, path):
    st, _, body = sess.get(path)
    if st != 200 or not isinstance(body, dict):
        raise ks.FixtureError("GET %s as %s -> %s" % (path, sess.email, ks.got(st, body)))
    return body


def one_case(t, srv, sink):
    t0 = ks.parse_iso(START)
    f = ks.base_fixture(srv)
    lead = make_user(srv, "team_lead", "Lotte Lead", unit_id=f["team"]["id"])
    mgr_email = "%s@loop.test" % ks.uniq("mia")
    srv.create("users", {"email": mgr_email, "name": "Mia Manager", "role": "manager", "password": PASSWORD,
                         "unit_id": f["dept"]["id"], "language": "en"})
    mgr = Session(srv, mgr_email)
    oliver = customer(srv, "Oliver Grant", "oliver@example.org", "en", phone="+44 (0)20 7946-0958")

    # ---- one answer, three rules: one case listing three triggers
    r1 = respond_answers(srv, f, oliver, {"nps": 0, "grade": 4, "open": "I will cancel, this is a complaint"})
    items = cases_of(srv, oliver)
    t.eq(len(items), 1, "NPS 0, grade 4 and a signal word in one answer: exactly one case")
    cid = items[0]["id"] if items else 0
    c = sess_get(mgr, "/api/v1/cases/%d" % cid)
    t.eq([(x["rule"], x["response_id"], x["reason"]) for x in c.get("triggers", [])],
         [("nps_max", r1["id"], "NPS 0 (at most 6)"), ("grade_max", r1["id"], "grade 4 (at most 5)"),
          ("words", r1["id"], 'signal word "cancel" in the open answer')],
         "the case lists the three rules that fired, with the response and the reason in English for Mia")
    t.eq((c.get("priority"), c.get("rules"), c.get("reason")), ("high", ["grade_max", "nps_max", "words"],
                                                                 "NPS 0 (at most 6)"),
         "a signal word raises the priority to high; the case's reason is the first rule's")
    nl = get_case(srv, cid)
    t.eq([x["reason"] for x in nl.get("triggers", [])],
         ["NPS 0 (hoogstens 6)", "cijfer 4 (hoogstens 5)", 'signaalwoord "cancel" in het open antwoord'],
         "the same reasons in Dutch for a Dutch reader")
    t.eq((c.get("employee") or {}).get("name"), "Sanne de Vries", "the case names the employee who served the customer")
    t.eq((c.get("customer") or {}).get("phone"), "+44 (0)20 7946-0958",
         "the case shows the customer's phone (issue 13), as stored")

    # ---- a second low answer joins the open case and raises its priority
    r2 = respond_answers(srv, f, oliver, {"nps": 3})
    items = cases_of(srv, oliver)
    c = get_case(srv, cid)
    t.eq((len(items), c.get("response_ids"), c.get("priority")), (1, [r1["id"], r2["id"]], "urgent"),
         "a second low answer joins the open case; repeat_low raises the priority to urgent")
    t.eq([(x["rule"], x["response_id"]) for x in c.get("triggers", [])][3:],
         [("nps_max", r2["id"]), ("repeat_low", r2["id"])], "... and lists its two rules as triggers")
    t.eq([(h["kind"], h.get("rule"), h.get("response_id"), h.get("detail")) for h in c.get("history", [])],
         [("opened", "nps_max", r1["id"], None), ("trigger", "nps_max", r1["id"], None),
          ("trigger", "grade_max", r1["id"], None), ("trigger", "words", r1["id"], None),
          ("priority", None, None, "1>2"), ("trigger", "nps_max", r2["id"], None),
          ("trigger", "repeat_low", r2["id"], None), ("priority", None, None, "2>3")],
         "the history: opened, every trigger, each rise of the priority")

    # ---- the message: the template, refusals naming the field, the preview
    c = sess_get(mgr, "/api/v1/cases/%d" % cid)
    t.eq(c.get("message_template"), "Dear {customer_name},\n\n\n\nKind regards,\n{employee_name}\n{organisation}",
         "the form's template in the customer's language, with named placeholders")
    v = c["version"]
    resp = lead.request("PATCH", "/api/v1/cases/%d" % cid, {"version": v, "status": "contacted"})
    v = resp[2].get("version", v) if isinstance(resp[2], dict) else v
    path = "/api/v1/cases/%d" % cid
    t.error(lead.request("PATCH", path, {"version": v, "status": "resolved",
                                         "customer_message": c.get("message_template", "")}),
            422, None, "customer_message", "the untouched template -> 422 naming customer_message")
    st, _, b = lead.request("PATCH", path, {"version": v, "status": "resolved", "customer_message":
                                            "Dear {customer_name},\n\n\u2026\n\nKind regards,\n{employee_name}"})
    t.check(st == 422 and b["error"]["field"] == "customer_message"
            and b["error"]["message"] == "vervang de \u2026 door uw eigen woorden",
            "the literal \u2026 -> 422 naming customer_message (in Dutch for Lotte)", ks.got(st, b))
    st, _, b = mgr.request("POST", path + "/message-preview", {"customer_message": "Dear {klantnaam}, sorry"})
    t.check(st == 422 and b["error"]["field"] == "customer_message" and "{klantnaam}" in b["error"]["message"]
            and b["error"]["message"].startswith("{klantnaam} is not a placeholder"),
            "an unknown placeholder -> 422 naming the field and the placeholder (in English for Mia)", ks.got(st, b))
    t.eq((get_case(srv, cid)["version"], srv.sql("SELECT count(*) FROM case_mails WHERE to_email = ?",
                                                 ("oliver@example.org",))[0][0]),
         (v, 0), "refused messages change nothing and queue no mail")
    words = ("Dear {customer_name},\n\nYou told us our engineer came late twice. From now on we call an hour"
             " ahead.\n\nKind regards,\n{employee_name}\n{organisation}")
    want = ("Dear Oliver Grant,\n\nYou told us our engineer came late twice. From now on we call an hour"
            " ahead.\n\nKind regards,\nLotte Lead\n%s" % ORG)
    st, _, pv = lead.request("POST", path + "/message-preview", {"customer_message": words})
    t.eq((st, pv), (200, {"to": "oliver@example.org", "language": "en", "subject": "Your feedback to %s" % ORG,
                          "text": want}), "preview: the exact mail, rendered once")

    # ---- the server's texts in the reader's language
    st1, _, b1 = lead.request("PATCH", path, {"version": v + 7, "outcome": "x"})
    st2, _, b2 = mgr.request("PATCH", path, {"version": v + 7, "outcome": "x"})
    t.check((st1, b1["error"]["field"], b1["error"]["message"]) ==
            (409, "version", "de case is intussen gewijzigd: laad opnieuw en probeer het nog eens")
            and (st2, b2["error"]["field"]) == (409, "version") and b2["error"]["message"].startswith("the case changed"),
            "a stale version: 409 in Dutch for Lotte, in English for Mia", (b1, b2))

    # ---- resolve once: exactly one mail, exactly the preview
    resp = lead.request("PATCH", path, {"version": v, "status": "resolved", "customer_message": words})
    t.check(resp[0] == 200 and resp[2].get("customer_message") == want
            and resp[2].get("customer_message_status") == "queued",
            "resolve: the rendered message is stored and queued", ks.got(resp[0], resp[2]))
    v = resp[2].get("version", v) if isinstance(resp[2], dict) else v
    run_sched(srv)
    lead.request("PATCH", path, {"version": v, "status": "closed"})
    run_sched(srv)
    time.sleep(0.3)
    got = sink.mails(to="oliver@example.org")
    t.check(len(got) == 1 and got[0].subject == "Your feedback to %s" % ORG
            and got[0].text.replace("\r\n", "\n") == want + "\n",
            "exactly one mail in the sink, its text exactly the preview", [(m.subject, m.text) for m in got])
    t.eq(sum(m.text.count("Dear ") + m.text.count("Kind regards") for m in got), 2,
         "one greeting and one signature, not two")
    c = get_case(srv, cid)
    t.eq([(h["kind"], h.get("from_status"), h.get("to_status"), h.get("detail"), h.get("user_name"))
          for h in c.get("history", []) if h["kind"] in ("status", "message")],
         [("status", "new", "contacted", None, "Lotte Lead"), ("status", "contacted", "resolved", None, "Lotte Lead"),
          ("message", None, None, "queued", "Lotte Lead"), ("status", "resolved", "closed", None, "Lotte Lead")],
         "the history: each step with who took it, the message once")

    # ---- after closing, a new low answer opens a new case; they link each other
    respond_answers(srv, f, oliver, {"nps": 1})
    new = [x["id"] for x in cases_of(srv, oliver) if x["id"] != cid]
    cid2 = new[0] if new else 0
    t.eq((len(new), [o["id"] for o in get_case(srv, cid2).get("other_cases", [])],
          [o["id"] for o in get_case(srv, cid).get("other_cases", [])]), (1, [cid], [cid2]),
         "after closing, a new answer opens a new case; each lists the customer's other one")

    inbox_and_digest(t, srv, sink, f, t0, lead, mgr, cid2)


def inbox_and_digest(t, srv, sink, f, t0, lead, mgr, cid2):
    team2 = srv.create("teams", {"name": "Team Zonder Lead", "kind": "team", "parent_id": f["dept"]["id"]})["id"]
    qa = customer(srv, "Queue A", None)
    answer(srv, f, team2, qa, {"nps": 2})
    set_clock(srv, t0 + HOUR)          # a later deadline than the rest
    ca = customer(srv, "Klant A", None)
    answer(srv, f, f["team"]["id"], ca, {"nps": 2})
    set_clock(srv, t0 + 2 * HOUR)
    cb = customer(srv, "Klant B", None)
    answer(srv, f, team2, cb, {"nps": 4})
    escalated = [cid2] + [cases_of(srv, x)[0]["id"] for x in (qa, ca, cb)]
    qcase = get_case(srv, escalated[1])
    t.check(isinstance(qcase.get("customer"), dict) and "phone" in qcase["customer"]
            and qcase["customer"]["phone"] is None,
            "a customer without a phone: the case's customer.phone is null", ks.short(qcase.get("customer")))
    due = ks.working_deadline(t0 + 2 * HOUR, 48)
    set_clock(srv, due + 1)
    st = run_sched(srv)
    t.eq(st.get("cases_escalated"), 4, "past the deadlines: four cases escalated to Mia")
    # the manager's digest: one mail listing four links
    wait_mails(sink, mgr.email, 1)
    time.sleep(0.3)
    mine = [m for m in sink.mails(to=mgr.email) if "deadline" in m.subject]
    links = sorted(int(x) for x in __import__("re").findall(r"%s/#/case/(\d+)\n" % BASE_URL,
                                                             "".join(m.text.replace("\r\n", "\n") for m in mine)))
    t.check(len(mine) == 1 and mine[0].subject == "4 cases are past their deadline" and links == sorted(escalated),
            "four escalations to Mia: one digest (in English) with a link per case",
            [(m.subject, m.text) for m in mine])
    lotte = [m for m in sink.mails(to=lead.email) if "deadline" in m.subject]
    t.check(len(lotte) == 1 and lotte[0].subject == "2 cases zijn over de deadline",
            "the owner's two overdue cases: one digest in Dutch", [m.subject for m in lotte])
    # new cases after the escalation: one in the queue of team 2, one owned by Lotte
    cn = customer(srv, "Klant N", None)
    answer(srv, f, team2, cn, {"nps": 5})
    cm = customer(srv, "Klant M", None)
    answer(srv, f, f["team"]["id"], cm, {"nps": 5})
    queue_new = cases_of(srv, cn)[0]["id"]
    lotte_new = cases_of(srv, cm)[0]["id"]
    mgr = Session(srv, mgr.email)  # days passed on the test clock: the old session expired
    st, _, own = mgr.get("/api/v1/cases?owner=me")
    t.eq(len(own.get("items", [])) if st == 200 else None, 0, "Mia owns no case: owner=me is empty for her")
    inbox = sess_get(mgr, "/api/v1/cases?inbox=me")
    rows = {x["id"]: x for x in inbox["items"]}
    want = sorted(escalated, key=lambda i: (rows.get(i, {}).get("deadline") or "", i)) + [queue_new]
    t.eq([x["id"] for x in inbox["items"]], want,
         "Mia's inbox: the four escalated overdue cases first (earliest deadline first), then her unit's queue;"
         " not Lotte's own new case")
    t.check(lotte_new not in rows and all(rows[i]["overdue"] and rows[i]["escalated"] for i in escalated),
            "inbox rows say overdue and escalated", ks.short(inbox))
    esc = sess_get(mgr, "/api/v1/cases?escalated=true")
    t.eq(sorted(x["id"] for x in esc["items"]), sorted(escalated), "escalated=true: the four escalated open cases")
    od = sess_get(mgr, "/api/v1/cases?overdue=true&escalated=false")
    t.eq(od["items"], [], "overdue=true&escalated=false: none (every overdue case was escalated)")
    ne = sess_get(mgr, "/api/v1/cases?escalated=false&status=new")
    t.eq(sorted(x["id"] for x in ne["items"]), sorted([queue_new, lotte_new]), "escalated=false&status=new: the two new ones")
    t.error(mgr.get("/api/v1/cases?escalated=maybe"), 422, None, "escalated", "escalated=maybe -> 422")
    t.error(mgr.get("/api/v1/cases?inbox=you"), 422, None, "inbox", "inbox=you -> 422")

    # ---- crash-safe: a digest claimed but not recorded is sent again with the same Message-ID
    mid = mine[0].message_id if mine else ""
    srv.stop()
    con = ks.db_connect(srv.db)
    with con:
        # as a crash between claiming and recording leaves it: sending, still due
        n = con.execute("UPDATE case_digests SET status = 'sending', next_attempt_at = created_at"
                        " WHERE '<' || message_id || '>' = ?", (mid,)).rowcount
    con.close()
    srv.start()
    set_clock(srv, due + 5)
    run_sched(srv)
    wait_mails(sink, mgr.email, len(sink.mails(to=mgr.email)) + 1)
    again = [m for m in sink.mails(to=mgr.email) if "deadline" in m.subject]
    t.check(n == 1 and len(again) == 2 and again[0].message_id == again[1].message_id == mid,
            "a digest claimed before a crash is sent again with the same Message-ID",
            (n, [(m.subject, m.message_id) for m in again]))


def merge_old(t):
    """A database built at schema 012 with the old behaviour (a case per
    rule) is opened by this binary: migration 013 merges the duplicates."""
    d = tempfile.mkdtemp(prefix="ks-merge-")
    db = os.path.join(d, "old.db")
    here = os.path.dirname(os.path.abspath(__file__))
    files = sorted(glob.glob(os.path.join(here, "..", "..", "src", "store", "migrations", "*.sql")))[:12]
    con = sqlite3.connect(db)
    for p in files:
        with open(p, encoding="utf-8") as fh:
            con.executescript(fh.read())
    con.executescript("""
        PRAGMA user_version = 12;
        INSERT INTO org_units VALUES (1, NULL, 'organisation', 'Oud BV', 0), (2, 1, 'team', 'Team Oud', 0);
        INSERT INTO customers (id, external_id, name, language, created_at) VALUES
          (1, 'X1', 'Oliver Grant', 'en', 0), (2, 'X2', 'Nina Noor', 'nl', 0), (3, 'X3', 'Piet Post', 'nl', 0);
        INSERT INTO responses (id, customer_id, team_id, language, nps, grade, received_at, source) VALUES
          (10, 1, 2, 'en', 0, 4, 1000, 'api'), (11, 1, 2, 'en', 3, NULL, 2000, 'api'),
          (12, 2, 2, 'nl', 2, NULL, 1500, 'api'), (13, 3, 2, 'nl', 1, NULL, 500, 'api'),
          (14, 3, 2, 'nl', 2, NULL, 3000, 'api');
        INSERT INTO cases (id, customer_id, reason, status, opened_at, rule, response_id, team_id, deadline,
                           escalated_at, resolved_at) VALUES
          (1, 1, 'NPS 0 (at most 6)', 'new', 1000, 'nps_max', 10, 2, 9000, NULL, NULL),
          (2, 1, 'grade 4 (at most 5)', 'contacted', 1000, 'grade_max', 10, 2, 9000, NULL, NULL),
          (3, 1, 'second NPS of at most 6 within 90 days', 'new', 2000, 'repeat_low', 11, 2, 5000, 6000, NULL),
          (4, 2, 'NPS 2 (at most 6)', 'new', 1500, 'nps_max', 12, 2, 4102444800, NULL, NULL),
          (5, 3, 'NPS 1 (at most 6)', 'resolved', 500, 'nps_max', 13, 2, 4102444800, NULL, 900),
          (6, 3, 'NPS 2 (at most 6)', 'new', 3000, 'nps_max', 14, 2, 4102444800, NULL, NULL);
        INSERT INTO case_responses VALUES (1, 10), (1, 11), (2, 10), (3, 11), (4, 12), (5, 13), (6, 14);
        INSERT INTO case_notes (case_id, text, created_at) VALUES (2, 'belde terug', 1100);
        INSERT INTO case_mails (case_id, kind, to_email, next_attempt_at, message_id, created_at, status)
          VALUES (3, 'overdue', 'mgr@old.test', 6000, 'old-3@klantstem', 6000, 'sent');
    """)
    con.commit()
    con.close()
    srv = ks.Server(t, db=db)
    try:
        srv.start()
        open_per = srv.sql("SELECT customer_id, count(*) FROM cases WHERE status IN ('new','contacted')"
                           " GROUP BY customer_id ORDER BY customer_id")
        t.eq(open_per, [(1, 1), (2, 1), (3, 1)], "after the migration every customer has one open case")
        t.eq(srv.sql("SELECT id FROM cases ORDER BY id"), [(1,), (4,), (5,), (6,)],
             "Oliver's three cases merged into the oldest (1); the others untouched")
        c = get_case(srv, 1)
        t.eq(sorted((x["rule"], x["response_id"]) for x in c.get("triggers", [])),
             [("grade_max", 10), ("nps_max", 10), ("nps_max", 11), ("repeat_low", 11)],
             "the merged case lists the triggers of all three")
        t.eq((c.get("response_ids"), [n["text"] for n in c.get("notes", [])], c.get("deadline"), c.get("escalated_at"),
              c.get("priority")),
             ([10, 11], ["belde terug"], ks.iso(5000), ks.iso(6000), "high"),
             "responses and notes moved; the earliest deadline and the escalation kept; repeat_low: high")
        t.eq(srv.sql("SELECT case_id FROM case_mails WHERE message_id = 'old-3@klantstem'"), [(1,)],
             "the mails moved onto the case that stays")
        t.eq(sorted((h["kind"], h.get("other_case_id"), h.get("rule")) for h in c.get("history", [])
                    if h["kind"] == "merged"), [("merged", 2, "grade_max"), ("merged", 3, "repeat_low")],
             "the merge is in the history of the case that stays")
        t.eq(sorted(x["reason"] for x in c.get("triggers", [])),
             ["NPS 0 (hoogstens 6)", "NPS 0 (hoogstens 6)", "cijfer 4 (hoogstens 5)",
              "tweede NPS van hoogstens 6 binnen 90 dagen"],
             "the old reasons read in Dutch too")
        c4 = get_case(srv, 4)
        t.eq(([(x["rule"], x["response_id"]) for x in c4.get("triggers", [])], [h["kind"] for h in c4.get("history", [])]),
             ([("nps_max", 12)], ["opened", "trigger"]), "a case without duplicates: its trigger and history only")
        st, _, b = srv.post("/api/v1/responses", {"client_key": ks.uniq("k"), "team_id": 2, "customer_id": 1,
                                                  "channel": "phone", "answers": {"nps": 2}})
        t.eq((st, srv.sql("SELECT count(*) FROM cases WHERE customer_id = 1")), (201, [(1,)]),
             "a new low answer of Oliver's joins the merged case")
    except ks.FixtureError as ex:
        t.check(False, "merge test setup", str(ex))
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()
            shutil.rmtree(d, ignore_errors=True)


def answer(srv, f, team, cust, answers):
    """A response without a contact, tied to team and customer."""
    return must(srv.post("/api/v1/responses", {"client_key": ks.uniq("k"), "touchpoint_id": f["tp1"]["id"],
                                               "team_id": team, "customer_id": cust["id"], "channel": "phone",
                                               "answers": answers}), 201, "POST /responses")


def user(srv, role, name, email, unit_id=None):
    body = {"email": email, "name": name, "role": role, "password": "case-targets-pw"}
    if unit_id:
        body["unit_id"] = unit_id
    return srv.create("users", body)


def targets(t, srv, sink):
    """Who a case goes to: the rules' thresholds at their boundaries (NPS
    6/7, grade 5/6, CES 3/4), the nearest manager above the team (not the
    first manager by id), the first director when no unit above has a
    manager, and the case mails' retry schedule (1, 2, 4 ... minutes)."""
    t0 = ks.parse_iso(START)
    f = ks.base_fixture(srv)
    org, dept, team_a = f["org"]["id"], f["dept"]["id"], f["team"]["id"]
    dept_b = srv.create("teams", {"name": "Dept B", "kind": "department", "parent_id": org})["id"]
    team_b = srv.create("teams", {"name": "Team B", "kind": "team", "parent_id": dept_b})["id"]
    org2 = srv.create("teams", {"name": "Tweede BV", "kind": "organisation"})["id"]
    dept_c = srv.create("teams", {"name": "Dept C", "kind": "department", "parent_id": org2})["id"]
    team_c = srv.create("teams", {"name": "Team C", "kind": "team", "parent_id": dept_c})["id"]
    # ids in this order: the organisation's manager and the first director
    # come first, so "the first one by id" is never the right answer by luck
    olga = user(srv, "manager", "Olga Org", "olga@targets.test", org)
    dina = user(srv, "director", "Dina Director", "dina@targets.test")
    user(srv, "director", "Dirk Director", "dirk@targets.test")
    mark = user(srv, "manager", "Mark Dept", "mark@targets.test", dept)
    lotte = user(srv, "team_lead", "Lotte Lead", "lotte@targets.test", team_a)
    bert = user(srv, "team_lead", "Bert Lead", "temp-bert@targets.test", team_b)

    # ---- thresholds at their boundaries, over the API
    rules = {r["kind"]: r for r in must(srv.get("/api/v1/alert-rules"), 200, "alert rules")["items"]}
    t.eq({k: (rules[k]["threshold"], rules[k]["enabled"]) for k in ("nps_max", "grade_max", "ces_max")},
         {"nps_max": (6, True), "grade_max": (5, True), "ces_max": (3, True)},
         "default thresholds: NPS <= 6, grade <= 5, CES <= 3, all enabled")
    fired = {}
    for answers in ({"nps": 6}, {"nps": 7}, {"grade": 5}, {"grade": 6}, {"ces": 3}, {"ces": 4}):
        cu = customer(srv, "Grens %s" % ks.short(answers), None)
        answer(srv, f, team_a, cu, answers)
        fired[ks.short(answers)] = sorted(c["rule"] for c in cases_of(srv, cu))
    t.eq(fired, {'{"nps": 6}': ["nps_max"], '{"nps": 7}': [], '{"grade": 5}': ["grade_max"], '{"grade": 6}': [],
                 '{"ces": 3}': ["ces_max"], '{"ces": 4}': []},
         "a case opens at NPS 6, grade 5, CES 3 and not at NPS 7, grade 6, CES 4")

    # ---- who gets the case and its escalation
    ca = customer(srv, "Klant A", None)
    cb = customer(srv, "Klant B", None)
    cc = customer(srv, "Klant C", None)
    answer(srv, f, team_a, ca, {"nps": 1})
    answer(srv, f, team_b, cb, {"nps": 1})
    answer(srv, f, team_c, cc, {"nps": 1})
    case_a, case_b, case_c = (cases_of(srv, x, "nps_max")[0] for x in (ca, cb, cc))
    t.eq((case_a["owner_user_id"], case_b["owner_user_id"], case_c["owner_user_id"]), (lotte["id"], bert["id"], None),
         "owner: the team's lead (team A Lotte, team B Bert), none for team C (the queue)")
    due = ks.working_deadline(t0, 48)
    set_clock(srv, due + 1)
    st = run_sched(srv)
    t.eq(st.get("cases_escalated"), 6, "past the deadline all six open cases are escalated (3 boundary + A, B, C)")
    got = tuple(get_case(srv, c["id"]).get("escalated_to_user_id") for c in (case_a, case_b, case_c))
    t.eq(got, (mark["id"], olga["id"], dina["id"]),
         "escalated to: team A the department's manager (nearest, not the organisation's), team B the "
         "organisation's manager (no one on its department), team C the first director (no manager above)")
    opened_c = [m for m in sink.mails(to="dina@targets.test") if ("#%d" % case_c["id"]) in m.subject]
    t.eq(len(opened_c), 1, "the queue case of team C: its opened mail goes to the director")
    dig = [m for m in sink.mails(to="dina@targets.test") if m.subject.endswith("over de deadline")]
    t.check(len(dig) == 1 and ("/#/case/%d\n" % case_c["id"]) in dig[0].text.replace("\r\n", "\n"),
            "... and its escalation in the director's digest", [(m.subject, m.text) for m in dig])
    olga_m = sink.mails(to="olga@targets.test")
    t.check(len(olga_m) == 1 and olga_m[0].subject == "1 case is over de deadline"
            and ("/#/case/%d\n" % case_b["id"]) in olga_m[0].text.replace("\r\n", "\n"),
            "the organisation's manager got only team B's escalation", [(m.subject, m.text) for m in olga_m])

    # ---- the case mails' retry schedule: Bert's address is answered 451
    row = srv.sql("SELECT id, attempts, status FROM case_mails WHERE case_id=? AND kind='opened'", (case_b["id"],))
    if not row:
        t.check(False, "team B's opened mail is in the outbox")
        return
    mid = row[0][0]
    seen = [row[0][1:]]
    t_k = due + 1
    early = []
    for k in range(seen[0][0], 8):
        nxt = srv.sql("SELECT next_attempt_at FROM case_mails WHERE id=?", (mid,))[0][0]
        want_next = t_k + 60 * 2 ** (k - 1)
        if nxt != want_next:
            early.append((k, "next_attempt_at", nxt - t_k, "s after the attempt, want", want_next - t_k))
        set_clock(srv, want_next - 1)
        run_sched(srv)
        if srv.sql("SELECT attempts FROM case_mails WHERE id=?", (mid,))[0][0] != k:
            early.append((k, "retried a second early"))
        set_clock(srv, want_next)
        run_sched(srv)
        seen.append(srv.sql("SELECT attempts, status FROM case_mails WHERE id=?", (mid,))[0])
        t_k = want_next
    t.check(not early, "case mail 451: each retry comes 1, 2, 4 ... minutes after the attempt before", early)
    t.eq(seen[-1], (8, "failed"), "case mail 451 every time: failed after 8 attempts")


def scenario(t, srv, sink, secret):
    t0 = ks.parse_iso(START)
    f = ks.base_fixture(srv)
    lead = make_user(srv, "team_lead", "Lotte Lead", unit_id=f["team"]["id"])
    manager = make_user(srv, "manager", "Mark Manager", unit_id=f["dept"]["id"])
    anna = customer(srv, "Anna de Boer", "anna@example.org")

    # ---- a detractor: the case, its deadline, the owner's mail, case.opened
    r1 = respond(srv, f, anna, 2, "De monteur kwam twee keer te laat", consent=True)
    t.eq(r1["answers"].get("contact_consent"), True, "response: answers.contact_consent stored and echoed")
    items = cases_of(srv, anna, "nps_max")
    t.eq(len(items), 1, "detractor: one nps_max case")
    case = items[0] if items else {}
    cid = case.get("id", 0)
    due = ks.working_deadline(t0, 48)
    t.eq(ks.iso(due), "2026-01-20T14:00:00Z", "working-day reference: Friday 15:00 + 48 h -> Tuesday 15:00")
    t.eq((case.get("owner_user_id"), case.get("owner_name"), case.get("deadline"), case.get("consent"),
          case.get("customer_name"), case.get("next_statuses")),
         (lead.user["id"], "Lotte Lead", ks.iso(due), True, "Anna de Boer", ["contacted"]),
         "case: owner the team lead, deadline = 48 working hours, consent true, next step contacted")

    # ---- a repeated low score: the same case; repeat_low is a trigger on it
    r2 = respond(srv, f, anna, 4)
    r3 = respond(srv, f, anna, 1)
    items = cases_of(srv, anna)
    full = get_case(srv, cid)
    t.check(len(items) == 1 and full.get("response_ids") == [r1["id"], r2["id"], r3["id"]],
            "three low scores: still one case with the three responses", ks.short(full))
    t.eq([(x.get("rule"), x.get("response_id")) for x in full.get("triggers", [])],
         [("nps_max", r1["id"]), ("nps_max", r2["id"]), ("repeat_low", r2["id"]), ("nps_max", r3["id"]),
          ("repeat_low", r3["id"])],
         "the case lists every rule that fired, with its response (repeat_low on the 2nd and 3rd)")
    t.eq((full.get("priority"), full.get("rules"), full.get("deadline")), ("high", ["nps_max", "repeat_low"], ks.iso(due)),
         "repeat_low raised the priority to high; the deadline stays as promised")
    t.eq([(h["kind"], h.get("rule"), h.get("detail")) for h in full.get("history", []) if h["kind"] != "trigger"],
         [("opened", "nps_max", None), ("priority", None, "1>2")], "history: opened, then the priority rise")
    rl_id = cid
    t.eq([r["nps"] for r in full.get("responses", [])], [2, 4, 1], "GET case: the responses with their scores")
    t.eq((full.get("customer") or {}).get("email"), "anna@example.org", "GET case: the customer's e-mail")

    st = run_sched(srv)
    t.eq(st.get("case_mails_sent"), 1, "scheduler: one 'opened' mail for the one case")
    mails = wait_mails(sink, lead.email, 1)
    mine = [m for m in mails if ("#%d" % cid) in m.subject]
    t.check(len(mails) == 1 and len(mine) == 1, "the team lead got one mail in the sink, for the case",
            [m.subject for m in mails])
    if mine:
        m = mine[0]
        t.check(m.subject.startswith("Nieuwe case #%d" % cid) and "NPS 2" in m.subject,
                "opened mail: Dutch subject names the case and the reason", m.subject)
        t.check("%s/#/case/%d" % (BASE_URL, cid) in m.text and "twee keer te laat" in m.text
                and "Anna de Boer" in m.text and "2026-01-20 15:00" in m.text,
                "opened mail: link to the case, the customer, their words, the local deadline", m.text)
    opened = hooks_of("case.opened")
    t.eq(len(opened), 1, "webhook listener: one case.opened event")
    t.check(all(signed(hd, body, secret) for hd, body in opened),
            "case.opened: X-Klantstem-Signature = HMAC-SHA256(secret, timestamp.body)")
    bodies = [json.loads(b) for _, b in opened]
    t.check(any(b.get("case_id") == cid and b.get("customer_id") == anna["id"] and b.get("rule") == "nps_max"
                and b.get("event") == "case.opened" and b.get("deadline") == ks.iso(due) for b in bodies),
            "case.opened body: case_id, customer_id, rule, deadline", bodies)

    # ---- escalation: not before the deadline, once after it
    set_clock(srv, due - 60)
    st = run_sched(srv)
    t.eq(st.get("cases_escalated"), 0, "a minute before Tuesday's deadline: nothing is escalated")
    set_clock(srv, due + 1)
    st = run_sched(srv)
    t.eq(st.get("cases_escalated"), 1, "past the deadline: the nps_max case is escalated")
    c = get_case(srv, cid)
    t.eq((c.get("overdue"), c.get("escalated_to_user_id"), c.get("escalated_at")),
         (True, manager.user["id"], ks.iso(due + 1)), "escalated to the department's manager, overdue")
    t.eq(run_sched(srv).get("cases_escalated"), 0, "a later pass escalates nothing twice")
    mm = wait_mails(sink, manager.email, 1)
    t.check(len(mm) == 1 and mm[0].subject == "1 case is over de deadline"
            and ("%s/#/case/%d" % (BASE_URL, cid)) in mm[0].text,
            "the manager got one digest naming the case with its link", [(m.subject, m.text) for m in mm])
    t.eq(len(wait_mails(sink, lead.email, 2)), 2, "the owner got the digest too")
    over = hooks_of("case.overdue")
    t.check(len(over) == 1 and all(signed(hd, b, secret) for hd, b in over)
            and {json.loads(b)["case_id"] for _, b in over} == {cid}
            and all(json.loads(b)["escalated_to_user_id"] == manager.user["id"] for _, b in over),
            "webhook: case.overdue for the case, signed, naming the manager", [b for _, b in over])
    od = must(srv.get("/api/v1/cases?overdue=true"), 200, "overdue list")
    t.eq(sorted(x["id"] for x in od["items"]), [cid], "GET /cases?overdue=true: the case")

    # ---- the owner works the case: contacted, root cause, resolved with a message
    now = due + 2 * HOUR
    set_clock(srv, now)
    lead = Session(srv, lead.email)  # days passed on the test clock: the old session expired
    resp = lead.request("PATCH", "/api/v1/cases/%d" % cid, {"version": c["version"], "status": "contacted",
                                                             "root_cause": "wait_time"})
    t.check(resp[0] == 200 and resp[2].get("first_contact_at") == ks.iso(now)
            and resp[2].get("next_statuses") == ["resolved"],
            "owner: contacted -> first_contact_at now, next step resolved", ks.got(resp[0], resp[2]))
    v = resp[2].get("version", 0)
    t.error(lead.request("PATCH", "/api/v1/cases/%d" % cid, {"version": v, "customer_message": "Hallo"}),
            422, None, "customer_message", "customer_message without the move to resolved -> 422")
    t.error(lead.request("PATCH", "/api/v1/cases/%d" % cid,
                         {"version": v, "status": "resolved", "customer_message": "  "}),
            422, None, "customer_message", "blank customer_message -> 422")
    t.eq(get_case(srv, cid).get("version"), v, "refused changes leave the case as it was")
    words = ("Beste {customer_name},\n\nU vertelde ons dat de monteur te laat kwam. Wij bellen voortaan een uur"
             " vooraf.\n\nMet vriendelijke groet,\n{employee_name}\n{organisation}")
    # written out here, not by the product: one greeting, one signature
    sent_text = ("Beste Anna de Boer,\n\nU vertelde ons dat de monteur te laat kwam. Wij bellen voortaan een uur"
                 " vooraf.\n\nMet vriendelijke groet,\nLotte Lead\n%s\n" % ORG)
    resp = lead.request("PATCH", "/api/v1/cases/%d" % cid,
                        {"version": v, "status": "resolved", "customer_message": words, "resurvey": True,
                         "relationship_restored": True, "customer_retained": True})
    body = resp[2] if isinstance(resp[2], dict) else {}
    t.check(resp[0] == 200 and body.get("customer_message_status") == "queued"
            and body.get("resurvey_invitation_id") and body.get("resolved_at") == ks.iso(now)
            and body.get("relationship_restored") is True and body.get("customer_retained") is True,
            "resolve with a message and a re-survey -> queued, invitation made, outcome stored",
            ks.got(resp[0], body))
    inv_id = body.get("resurvey_invitation_id")
    st = run_sched(srv)
    got = wait_mails(sink, "anna@example.org", 1)
    t.check(len(got) == 1 and got[0].subject == "Uw feedback aan %s" % ORG
            and got[0].text.replace("\r\n", "\n") == sent_text,
            "the customer got exactly the rendered message in the sink (one greeting, one signature)",
            [(m.subject, m.text) for m in got])
    t.eq(get_case(srv, cid).get("customer_message_status"), "sent", "customer_message_status: sent")
    invs = must(srv.get("/api/v1/invitations?customer_id=%d" % anna["id"]), 200, "invitations")
    ri = [i for i in invs["items"] if i["id"] == inv_id]
    t.check(len(ri) == 1 and ri[0].get("status") == "scheduled" and ri[0].get("send_at") == ks.iso(now + 24 * HOUR),
            "re-survey: an invitation scheduled a day after resolving", ks.short(ri))
    set_clock(srv, now + 25 * HOUR)
    st = run_sched(srv)
    t.check(st.get("sent") == 1 and len(wait_mails(sink, "anna@example.org", 2)) == 2,
            "a day later the re-survey invitation is mailed", st)

    # ---- close: case.closed; reopen: a new deadline, escalation cleared
    now = now + 26 * HOUR
    set_clock(srv, now)
    lead = Session(srv, lead.email)
    v = get_case(srv, cid)["version"]
    resp = lead.request("PATCH", "/api/v1/cases/%d" % cid, {"version": v, "status": "closed"})
    t.check(resp[0] == 200 and resp[2].get("closed_at") == ks.iso(now), "close -> closed_at", ks.got(resp[0], resp[2]))
    run_sched(srv)
    closed = hooks_of("case.closed")
    t.check(len(closed) == 1 and signed(closed[0][0], closed[0][1], secret)
            and json.loads(closed[0][1]).get("case_id") == cid and json.loads(closed[0][1]).get("status") == "closed",
            "webhook: case.closed for the case, signed", [b for _, b in closed])
    resp = lead.request("PATCH", "/api/v1/cases/%d" % cid, {"version": v + 1, "status": "new"})
    b = resp[2] if isinstance(resp[2], dict) else {}
    t.check(resp[0] == 200 and b.get("deadline") == ks.iso(ks.working_deadline(now, 48))
            and b.get("escalated_at") is None and b.get("closed_at") is None and b.get("resolved_at") is None,
            "reopen: new deadline of 48 working hours from now, escalation and closing cleared", ks.got(resp[0], b))

    # ---- consent false: never contacted, no message, no re-survey
    bob = customer(srv, "Bob Bakker", "bob@example.org")
    respond(srv, f, bob, 0, consent=False)
    bc = cases_of(srv, bob, "nps_max")[0]
    t.eq((bc.get("consent"), bc.get("next_statuses")), (False, ["resolved"]),
         "no consent: the case says so and its next step is resolved")
    t.error(lead.request("PATCH", "/api/v1/cases/%d" % bc["id"], {"version": 1, "status": "contacted"}),
            422, None, "status", "no consent: PATCH contacted -> 422 field status")
    resp = lead.request("PATCH", "/api/v1/cases/%d" % bc["id"],
                        {"version": 1, "status": "resolved", "customer_message": "Sorry", "resurvey": True})
    t.check(resp[0] == 200 and resp[2].get("customer_message_status") == "no_consent"
            and resp[2].get("resurvey_invitation_id") is None,
            "no consent: resolve with a message -> no_consent, no re-survey", ks.got(resp[0], resp[2]))
    # ---- opted out: no message either
    cas = customer(srv, "Cas Claes", "cas@example.org")
    must(srv.post("/api/v1/customers/%d/opt-out" % cas["id"]), 200, "opt-out")
    respond(srv, f, cas, 3)
    cc = cases_of(srv, cas, "nps_max")[0]
    lead.request("PATCH", "/api/v1/cases/%d" % cc["id"], {"version": 1, "status": "contacted"})
    resp = lead.request("PATCH", "/api/v1/cases/%d" % cc["id"],
                        {"version": 2, "status": "resolved", "customer_message": "Sorry"})
    t.eq(resp[2].get("customer_message_status") if isinstance(resp[2], dict) else resp, "opted_out",
         "opted-out customer: resolve with a message -> opted_out")
    # ---- an address the mail server refuses: failed
    dirk = customer(srv, "Dirk Dekker", "perm-dirk@example.org")
    respond(srv, f, dirk, 3)
    dc = cases_of(srv, dirk, "nps_max")[0]
    lead.request("PATCH", "/api/v1/cases/%d" % dc["id"], {"version": 1, "status": "contacted"})
    lead.request("PATCH", "/api/v1/cases/%d" % dc["id"],
                 {"version": 2, "status": "resolved", "customer_message": "Sorry"})
    n_before = sink.count()
    st = run_sched(srv)
    t.eq(st.get("case_mails_failed"), 1, "a refused customer address: one failed case mail")
    t.eq(get_case(srv, dc["id"]).get("customer_message_status"), "failed", "customer_message_status: failed")
    t.check(not any("bob@" in m.rcpt or "cas@" in m.rcpt for m in sink.mails()),
            "no mail ever went to the customer without consent or the opted-out one",
            [m.rcpt for m in sink.mails()][n_before:])

    stats_check(t, srv, f, lead, now)


def stats_check(t, srv, f, lead, now):
    """A handful of cases contacted after known delays, then /cases/stats
    against the same figures computed here."""
    delays = [1, 3, 10, 30, 80]
    causes = ["wait_time", "wait_time", "billing", "wait_time", "staff"]
    opened_at = now
    made = []
    for i, d in enumerate(delays):
        cu = customer(srv, "Stat %d" % i, None)
        respond(srv, f, cu, 5)
        made.append(cases_of(srv, cu, "nps_max")[0])
    for i, (d, cause) in enumerate(zip(delays, causes)):
        set_clock(srv, opened_at + d * HOUR)
        lead = Session(srv, lead.email)
        lead.request("PATCH", "/api/v1/cases/%d" % made[i]["id"],
                     {"version": 1, "status": "contacted", "root_cause": cause})
    set_clock(srv, opened_at + 100 * HOUR)
    lead = Session(srv, lead.email)
    for c in made[:2]:
        lead.request("PATCH", "/api/v1/cases/%d" % c["id"], {"version": 2, "status": "resolved"})
        lead.request("PATCH", "/api/v1/cases/%d" % c["id"], {"version": 3, "status": "closed"})
    clock = opened_at + 100 * HOUR
    everything = must(srv.get("/api/v1/cases?limit=500"), 200, "all cases")["items"]
    got = must(srv.get("/api/v1/cases/stats"), 200, "GET /cases/stats")

    def hours(a, b):
        return (ks.parse_iso(b) - ks.parse_iso(a)) / 3600.0

    def summary(xs):
        if not xs:
            return {"n": 0, "median": None, "p90": None}
        xs = sorted(xs)
        p90 = statistics.quantiles(xs, n=10, method="inclusive")[8] if len(xs) > 1 else xs[0]
        return {"n": len(xs), "median": round(statistics.median(xs), 6), "p90": round(p90, 6)}

    def rounded(s):
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in (s or {}).items()}

    first = [hours(c["opened_at"], c["first_contact_at"]) for c in everything if c["first_contact_at"]]
    close = [hours(c["opened_at"], c["closed_at"]) for c in everything if c["status"] == "closed"]
    t.eq(rounded(got.get("time_to_first_contact_hours")), summary(first),
         "stats: time to first contact (n, median, p90) = statistics.quantiles(inclusive) over the cases")
    t.eq(rounded(got.get("time_to_close_hours")), summary(close), "stats: time to close (n, median, p90)")
    by = {s: sum(1 for c in everything if c["status"] == s) for s in ("new", "contacted", "resolved", "closed")}
    t.eq((got.get("opened"), got.get("by_status"), got.get("open")),
         (len(everything), by, by["new"] + by["contacted"]), "stats: opened, by status, open")
    due = met = 0
    for c in everything:
        answered = c["first_contact_at"] or c["resolved_at"]
        if answered or ks.parse_iso(c["deadline"]) < clock:
            due += 1
            if answered and ks.parse_iso(answered) <= ks.parse_iso(c["deadline"]):
                met += 1
    sla = got.get("sla") or {}
    t.check(sla.get("due") == due and sla.get("met") == met and abs((sla.get("rate") or 0) - met / due) < 1e-9,
            "stats: SLA due %d, met %d, rate met/due" % (due, met), sla)
    t.eq(got.get("overdue"), sum(1 for c in everything if c["overdue"]), "stats: overdue = cases listed overdue")
    counts = {}
    for c in everything:
        if c["root_cause"]:
            counts[c["root_cause"]] = counts.get(c["root_cause"], 0) + 1
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(counts.values())
    run = 0
    want = []
    for k, n in order:
        run += n
        want.append({"root_cause": k, "n": n, "share": round(n / total, 6), "cumulative_share": round(run / total, 6)})
    t.eq([rounded(x) for x in got.get("root_causes", [])], want,
         "stats: root-cause Pareto (n descending, share, cumulative share)")
    # The same figures as literals, for the cases opened in the hour of
    # `now` (Wednesday 2026-01-21 18:00Z): Bob (no consent: resolved at
    # once, no contact), Cas and Dirk (contacted and resolved at once) and
    # the five above (contacted after 1, 3, 10, 30, 80 h; the first two
    # closed at 100 h). Deadline 48 working hours: Friday 18:00Z; the 80 h
    # one (Sunday 02:00Z) missed it. Clock: 100 h on, Sunday 22:00Z.
    t.eq(ks.iso(opened_at), "2026-01-21T18:00:00Z", "stats: the cases below were opened on Wednesday 18:00Z")
    got = must(srv.get("/api/v1/cases/stats?from=%s&to=%s" % (ks.iso(opened_at), ks.iso(opened_at + HOUR))),
               200, "GET /cases/stats?from&to")
    t.eq({k: got.get(k) for k in ("opened", "open", "overdue", "by_status", "sla", "time_to_first_contact_hours",
                                  "time_to_close_hours", "root_causes")},
         {"opened": 8, "open": 3, "overdue": 3,
          "by_status": {"new": 0, "contacted": 3, "resolved": 3, "closed": 2},
          "sla": {"due": 8, "met": 7, "rate": 0.875},
          "time_to_first_contact_hours": {"n": 7, "median": 3.0, "p90": 50.0},
          "time_to_close_hours": {"n": 2, "median": 100.0, "p90": 100.0},
          "root_causes": [{"root_cause": "wait_time", "n": 3, "share": 0.6, "cumulative_share": 0.6},
                          {"root_cause": "billing", "n": 1, "share": 0.2, "cumulative_share": 0.8},
                          {"root_cause": "staff", "n": 1, "share": 0.2, "cumulative_share": 1.0}]},
         "stats over one hour's cases = literals worked out by hand (median of 0,0,1,3,10,30,80 = 3; "
         "p90 = 30 + 0.4 * 50 = 50; SLA 7 of 8)")
    other = srv.create("teams", {"name": "Team Oost " + ks.uniq("o"), "kind": "team", "parent_id": f["dept"]["id"]})
    ol = make_user(srv, "team_lead", "Olga Oost", unit_id=other["id"])
    st, _, empty = ol.get("/api/v1/cases/stats")
    t.check(st == 200 and empty.get("opened") == 0 and empty.get("sla", {}).get("rate") is None
            and empty.get("time_to_close_hours", {}).get("median") is None,
            "stats as the lead of a team without cases: zeros and nulls", ks.got(st, empty))
    t.error(ol.get("/api/v1/cases/stats?team_id=%d" % f["team"]["id"]), 403, None, "team_id",
            "stats: another team's team_id -> 403")
    t.error(srv.get("/api/v1/cases/stats?bogus=1"), 422, None, "bogus", "stats: unknown parameter -> 422")
    t.error(srv.get("/api/v1/cases/stats?from=2026-02-01&to=2026-01-01"), 422, None, "to",
            "stats: to before from -> 422")
    st, _, rc = srv.get("/api/v1/case-root-causes")
    t.eq((st, rc), (200, {"items": ["wait_time", "communication", "staff", "product", "price", "billing",
                                     "delivery", "process", "other"]}),
         "GET /case-root-causes lists exactly the nine categories of docs/API.md, in its order")


if __name__ == "__main__":
    ks.run(main, start_server=False)
