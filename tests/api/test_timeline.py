#!/usr/bin/python3
"""The customer timeline (issue 16; docs/API.md, "Customer timeline"):
GET /api/v1/customers/{id}/timeline lists one customer's contact, invitation
events, response (with its open answer and analysis) and case events, newest
first, each with exactly the fields asserted here; paging by `before` never
loses or repeats an item; directors and admins read it, a team lead (also
of the customer's team) and an employee get 403 like GET /customers/{id};
an unknown customer is 404; bad `before` / `limit` / unknown parameters
are 422 naming them; another customer's rows never appear."""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

CLOCK = "2026-06-10T10:00:00Z"
T0 = ks.parse_iso(CLOCK)
PASSWORD = "een-lang-wachtwoord-123"
TEXT = "De monteur kwam veel te laat en was onvriendelijk"


class Session:
    """A logged-in user (session cookie)."""

    def __init__(self, srv, email):
        self.srv = srv
        st, hd, body = srv.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, auth=False)
        cookie = None
        for sc in (hd.get_all("Set-Cookie") or []) if hd is not None else []:
            m = re.match(r"ks_session=([^;]+)", sc)
            if m:
                cookie = m.group(1)
        if st != 200 or not cookie:
            raise ks.FixtureError("login %s -> %s %s" % (email, st, ks.short(body)))
        self.cookie = cookie

    def get(self, path):
        return self.srv.request("GET", path, headers={"Cookie": "ks_session=" + self.cookie}, auth=False)


def make_user(srv, role, unit_id=None, employee_id=None, language=None):
    email = "%s@timeline.test" % ks.uniq(role)
    body = {"email": email, "name": role.title(), "role": role, "password": PASSWORD}
    if language:
        body["language"] = language
    if unit_id:
        body["unit_id"] = unit_id
    if employee_id:
        body["employee_id"] = employee_id
    st, _, u = srv.post("/api/v1/users", body)
    if st != 201:
        raise ks.FixtureError("POST /api/v1/users %s -> %s" % (role, ks.got(st, u)))
    return Session(srv, email)


def must(resp, status, what):
    st, _, b = resp
    if st != status:
        raise ks.FixtureError("%s -> %s" % (what, ks.got(st, b)))
    return b


def fixture(t, srv, f):
    """A contact at T0+60, its invitation sent at T0+300, the answer (NPS 2
    with an open text) at T0+3600 opening a case, the case contacted at
    T0+7200. Returns the rows."""
    cust = srv.create("customers", {"external_id": ks.uniq("TL"), "name": "Tineke Tijdlijn",
                                    "email": "tineke@tijdlijn.example", "language": "nl"})
    other = srv.create("customers", {"external_id": ks.uniq("TO"), "name": "Otto Ander", "language": "nl"})
    must(srv.request("PUT", "/api/v1/touchpoints/%d/rule" % f["tp1"]["id"], {"delay_minutes": 0}), 200, "PUT rule")
    ks.set_clock(srv, T0 + 60)
    c = must(srv.post("/api/v1/contacts", {"customer_id": cust["id"], "touchpoint_id": f["tp1"]["id"],
                                           "channel": "phone", "employee_id": f["emp1"]["id"],
                                           "reason": "storing", "occurred_at": ks.iso(T0 + 60)}), 201, "contact")
    inv = c.get("invitation") or {}
    t.eq(inv.get("decision"), "created", "fixture: the contact's invitation is created")
    # another customer's contact and answer must not show
    oc = must(srv.post("/api/v1/contacts", {"customer_id": other["id"], "touchpoint_id": f["tp2"]["id"],
                                            "channel": "phone", "occurred_at": ks.iso(T0 + 61)}), 201, "other contact")
    ks.set_clock(srv, T0 + 300)
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
    ks.set_clock(srv, T0 + 3600)
    r = must(srv.post("/api/v1/responses", {"contact_id": c["id"], "received_at": ks.iso(T0 + 3600),
                                            "answers": {"nps": 2, "grade": 4, "open": TEXT}}), 201, "response")
    must(srv.post("/api/v1/responses", {"contact_id": oc["id"], "received_at": ks.iso(T0 + 3600),
                                        "answers": {"nps": 1, "open": "Otto's eigen tekst"}}), 201, "other response")
    cases = must(srv.get("/api/v1/cases?customer_id=%d" % cust["id"]), 200, "cases")["items"]
    t.eq(len(cases), 1, "fixture: the detractor answer opened one case")
    case = cases[0]
    ks.set_clock(srv, T0 + 7200)
    v = srv.sql("SELECT version FROM cases WHERE id = ?", (case["id"],))[0][0]
    must(srv.patch("/api/v1/cases/%d" % case["id"], {"version": v, "status": "contacted"}), 200, "case contacted")
    return cust, other, c, inv, r, case


def expected(srv, f, cust, c, inv, r, case):
    """The items as docs/API.md describes them, from the fixture's known
    values (times set on the test clock) and the stored rows."""
    times = srv.sql("SELECT sent_at, opened_at, completed_at FROM invitations WHERE id = ?", (inv["id"],))[0]
    # the case's reason in the reader's language (the admin reads Dutch):
    # its first trigger's, as the case page shows it
    reason = srv.sql("SELECT reason_nl FROM case_triggers WHERE case_id = ? ORDER BY id LIMIT 1", (case["id"],))[0][0]
    a = srv.sql("SELECT language, label, score FROM text_analysis WHERE response_id = ?", (r["id"],))
    themes = srv.sql("SELECT theme, subtheme, label FROM text_themes WHERE response_id = ? ORDER BY rowid",
                     (r["id"],))
    analysis = None
    if a:
        analysis = {"language": a[0][0], "sentiment": {"label": a[0][1], "score": a[0][2]},
                    "themes": [{"theme": x, "subtheme": y, "sentiment": z} for x, y, z in themes]}
    items = [
        {"at": ks.iso(T0 + 7200), "kind": "case", "event": "status", "id": case["id"], "summary": "new \u2192 contacted", "response_id": None,
         "from_status": "new", "to_status": "contacted", "text": None, "link": "#/case/%d" % case["id"]},
        {"at": ks.iso(T0 + 3600), "kind": "case", "event": "opened", "id": case["id"], "summary": reason, "response_id": r["id"],
         "from_status": None, "to_status": None, "text": reason, "link": "#/case/%d" % case["id"]},
        {"at": ks.iso(T0 + 3600), "kind": "response", "event": "received", "id": r["id"], "summary": "NPS 2 \u00b7 4/10", "nps": 2, "grade": 4,
         "ces": None, "contact_consent": None, "channel": "phone", "open_text": TEXT, "analysis": analysis,
         "link": "#/response/%d" % r["id"]},
        # the answer to the invitation's contact opens and completes it
        {"at": ks.iso(T0 + 3600), "kind": "invitation", "event": "completed", "id": inv["id"], "summary": "completed",
         "contact_id": c["id"], "channel": "phone", "link": None},
        {"at": ks.iso(T0 + 3600), "kind": "invitation", "event": "opened", "id": inv["id"], "summary": "opened",
         "contact_id": c["id"], "channel": "phone", "link": None},
        {"at": ks.iso(T0 + 300), "kind": "invitation", "event": "sent", "id": inv["id"], "summary": "sent", "contact_id": c["id"],
         "channel": "phone", "link": None},
        {"at": ks.iso(T0 + 60), "kind": "contact", "event": "contact", "id": c["id"], "summary": "Telefonisch contact",
         "touchpoint": {"id": f["tp1"]["id"], "name": "Telefonisch contact"}, "employee_id": f["emp1"]["id"],
         "team_id": f["team"]["id"], "channel": "phone", "reason": "storing", "link": None},
    ]
    return items, times


def test_items(t, srv, f):
    cust, other, c, inv, r, case = fixture(t, srv, f)
    want, times = expected(srv, f, cust, c, inv, r, case)
    t.eq(times, (T0 + 300, T0 + 3600, T0 + 3600),
         "fixture: the invitation was sent at T0+300, opened and completed by the answer at T0+3600")
    st, _, tl = srv.get("/api/v1/customers/%d/timeline" % cust["id"])
    t.eq(st, 200, "GET timeline -> 200")
    t.eq(tl.get("customer"), {"id": cust["id"], "name": "Tineke Tijdlijn"}, "the customer's id and name")
    got = tl.get("items") or []
    t.eq(len(got), len(want), "as many items as events (%d)" % len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        t.eq(g, w, "item %d: %s %s with exactly its fields" % (i, w["kind"], w["event"]))
    t.eq(tl.get("next"), None, "one page: next is null")
    t.check("Otto" not in str(tl), "another customer's rows do not show")

    # paging: limit 1 never splits a second; the pages together are the list
    pages, cursor, seen = [], None, []
    for _ in range(10):
        q = "?limit=1" + ("&before=" + cursor if cursor else "")
        st, _, p = srv.get("/api/v1/customers/%d/timeline%s" % (cust["id"], q))
        if st != 200:
            t.check(False, "paging: 200", ks.got(st, p))
            break
        pages.append(len(p["items"]))
        seen += p["items"]
        cursor = p["next"]
        if cursor is None:
            break
    t.eq(seen, want, "paging with limit=1: every item once, in order")
    t.eq(pages, [1, 4, 1, 1], "paging: the four items of T0+3600 share a page (a second is never split)")
    st, _, p = srv.get("/api/v1/customers/%d/timeline?before=%s" % (cust["id"], ks.iso(T0 + 3600)))
    t.eq((st, [(x["kind"], x["event"]) for x in p.get("items", [])], p.get("next")),
         (200, [("invitation", "sent"), ("contact", "contact")], None), "before=T0+3600: only the items before it")
    st, _, p = srv.get("/api/v1/customers/%d/timeline?limit=2" % cust["id"])
    t.eq((len(p.get("items", [])), p.get("next")), (5, ks.iso(T0 + 3600)),
         "limit=2: the page runs on to the end of its last second; next is that second")
    return cust


def test_language_and_more(t, srv, f, cust):
    """The case's reason in English for an English reader; a reminder, a
    failed invitation and an opt-out as items."""
    en = make_user(srv, "director", language="en")
    st, _, tl = en.get("/api/v1/customers/%d/timeline" % cust["id"])
    opened = [x for x in tl.get("items", []) if x["kind"] == "case" and x["event"] == "opened"] if st == 200 else []
    want_en, want_nl = srv.sql("SELECT reason_en, reason_nl FROM case_triggers WHERE case_id = ? ORDER BY id LIMIT 1",
                               (opened[0]["id"] if opened else 0,))[0] if opened else (None, None)
    t.check(want_en and want_en != want_nl, "fixture: the case's reason differs in English and Dutch (%r, %r)"
            % (want_en, want_nl))
    t.eq([(x["summary"], x["text"]) for x in opened], [(want_en, want_en)],
         "an English reader reads the case's reason in English")

    # a reminder, then an opt-out
    must(srv.request("PUT", "/api/v1/touchpoints/%d/rule" % f["tp1"]["id"], {"delay_minutes": 0, "reminder_days": 1}),
         200, "PUT rule with a reminder after 1 day")
    rita = srv.create("customers", {"external_id": ks.uniq("TR"), "name": "Rita Rappel",
                                    "email": "rita@tijdlijn.example", "language": "nl"})
    t1 = T0 + 10 * 86400
    ks.set_clock(srv, t1)
    rc = must(srv.post("/api/v1/contacts", {"customer_id": rita["id"], "touchpoint_id": f["tp1"]["id"],
                                            "channel": "email", "occurred_at": ks.iso(t1)}), 201, "Rita's contact")
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run (send)")
    ks.set_clock(srv, t1 + 86400 + 60)
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run (reminder)")
    ks.set_clock(srv, t1 + 2 * 86400)
    must(srv.post("/api/v1/customers/%d/opt-out" % rita["id"], {}), 200, "Rita opts out")
    sent, reminded = srv.sql("SELECT sent_at, reminder_sent_at FROM invitations WHERE contact_id = ?", (rc["id"],))[0]
    t.check(sent and reminded and reminded > sent, "fixture: Rita's invitation was sent and reminded (%s, %s)"
            % (sent, reminded))
    st, _, tl = srv.get("/api/v1/customers/%d/timeline" % rita["id"])
    t.eq([(x["kind"], x["event"], x["at"]) for x in tl.get("items", [])],
         [("opt_out", "opt_out", ks.iso(t1 + 2 * 86400)), ("invitation", "reminded", ks.iso(reminded)),
          ("invitation", "sent", ks.iso(sent)), ("contact", "contact", ks.iso(t1))],
         "a contact, its invitation sent and reminded, then the opt-out: newest first")

    # a permanent refusal by the mail server: the invitation failed, shown
    # when it was to go out
    piet = srv.create("customers", {"external_id": ks.uniq("TP"), "name": "Piet Perm",
                                    "email": "perm-piet@tijdlijn.example", "language": "nl"})
    t2 = t1 + 3 * 86400
    ks.set_clock(srv, t2)
    pc = must(srv.post("/api/v1/contacts", {"customer_id": piet["id"], "touchpoint_id": f["tp1"]["id"],
                                            "channel": "phone", "occurred_at": ks.iso(t2)}), 201, "Piet's contact")
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run (refused)")
    status, send_at = srv.sql("SELECT status, send_at FROM invitations WHERE contact_id = ?", (pc["id"],))[0]
    t.eq(status, "failed", "fixture: the sink refused Piet's address for good (550): the invitation failed")
    st, _, tl = srv.get("/api/v1/customers/%d/timeline" % piet["id"])
    t.eq([(x["kind"], x["event"], x["at"], x.get("summary")) for x in tl.get("items", [])],
         [("invitation", "failed", ks.iso(send_at or t2), "failed"),
          ("contact", "contact", ks.iso(t2), "Telefonisch contact")],
         "a failed invitation is an item at the time it was to go out")


def test_access(t, srv, f, cust):
    path = "/api/v1/customers/%d/timeline" % cust["id"]
    lead = make_user(srv, "team_lead", unit_id=f["team"]["id"])
    t.error(lead.get(path), 403, "forbidden", None, "team lead of the customer's team: 403 (as GET /customers/{id})")
    t.error(lead.get("/api/v1/customers/%d" % cust["id"]), 403, "forbidden", None,
            "... the same as GET /customers/{id}")
    mgr = make_user(srv, "manager", unit_id=f["dept"]["id"])
    t.error(mgr.get(path), 403, "forbidden", None, "manager: 403")
    emp = make_user(srv, "employee", employee_id=f["emp1"]["id"])
    t.error(emp.get(path), 403, "forbidden", None, "employee (the contact's): 403")
    d = make_user(srv, "director")
    st, _, b = d.get(path)
    t.check(st == 200 and len(b.get("items", [])) >= 5, "director: 200 with the items", ks.got(st, b))
    t.error(srv.get("/api/v1/customers/999999/timeline"), 404, "not_found", None, "unknown customer: 404")
    for q, field, name in (("before=gisteren", "before", "before not a time"),
                           ("before=2026-13-01T00:00:00Z", "before", "before not a date"),
                           ("limit=0", "limit", "limit 0"), ("limit=201", "limit", "limit 201"),
                           ("limit=x", "limit", "limit not a number"), ("limit=", "limit", "limit empty"),
                           ("cursor=5", "cursor", "an unknown parameter")):
        st, _, b = srv.get(path + "?" + q)
        t.check(st == 422 and isinstance(b, dict) and (b.get("error") or {}).get("field") == field,
                "422 naming %s: %s" % (field, name), ks.got(st, b))
    st, _, b = srv.get(path + "?limit=200")
    t.eq(st, 200, "limit=200 -> 200")


def main(t):
    sink = smtp_sink.Sink()
    sink.start()
    srv = ks.Server(t, args=["--test-clock", CLOCK, "--smtp", sink.url, "--base-url", "https://ks.example"])
    try:
        srv.start()
        f = ks.base_fixture(srv)
        cust = test_items(t, srv, f)
        test_language_and_more(t, srv, f, cust)
        test_access(t, srv, f, cust)
        srv.stop()
    finally:
        srv.cleanup()
        sink.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
