#!/usr/bin/python3
"""The closed loop (docs/API.md, "Cases (closed loop)"): alert rules open a
case when a response arrives (owner = the team's team lead, deadline =
received_at + SLA in working hours), never two open cases for one customer (issue 13), the
words rule, the status flow with optimistic concurrency (version), notes,
scope refusals, alert rules, and the open-case exclusion of invitations."""

import os
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
from test_dashboard import make_user  # noqa: E402


def respond(srv, f, cust="cust_nl", nps=None, grade=None, ces=None, text=None, emp="emp1"):
    c = srv.create("contacts", {"customer_id": f[cust]["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f[emp]["id"]})
    ans = {}
    if nps is not None:
        ans["nps"] = nps
    if grade is not None:
        ans["grade"] = grade
    if ces is not None:
        ans["ces"] = ces
    if text is not None:
        ans["open"] = text
    st, _, r = srv.post("/api/v1/responses", {"contact_id": c["id"], "answers": ans})
    if st != 201:
        raise ks.FixtureError("POST /api/v1/responses -> %s" % ks.got(st, r))
    return r


def cases_of(srv, cust_id, extra=""):
    st, _, body = srv.get("/api/v1/cases?customer_id=%d%s" % (cust_id, extra))
    if st != 200 or not isinstance(body, dict):
        raise ks.FixtureError("GET /api/v1/cases -> %s" % ks.got(st, body))
    return body["items"]


def patch(srv, cid, body, headers=None):
    return srv.request("PATCH", "/api/v1/cases/%d" % cid, body, headers=headers)


def main(t, srv):
    f = ks.base_fixture(srv)
    lead = make_user(srv, "team_lead", "Lotte Lead", unit_id=f["team"]["id"])
    # another team with its own lead: outside the first team's scope
    other = srv.create("teams", {"name": "Team Zuid " + ks.uniq("z"), "kind": "team",
                                 "parent_id": f["dept"]["id"]})
    other_lead = make_user(srv, "team_lead", "Otto Lead", unit_id=other["id"])
    employee = make_user(srv, "employee", "Eva Employee", employee_id=f["emp2"]["id"])

    # alert rules: the seeded defaults
    st, _, rules = srv.get("/api/v1/alert-rules")
    kinds = {r["kind"]: r for r in (rules or {}).get("items", [])} if st == 200 else {}
    four = [kinds.get(k, {}) for k in ("nps_max", "grade_max", "ces_max", "words")]
    t.check(kinds.get("nps_max", {}).get("threshold") == 6 and kinds.get("grade_max", {}).get("threshold") == 5
            and kinds.get("ces_max", {}).get("threshold") == 3
            and "opzeggen" in (kinds.get("words", {}).get("words") or "")
            and all(r.get("sla_hours") == 48 and r.get("working_days") is True and r.get("enabled") is True
                    for r in four),
            "alert rules: seeded NPS <= 6, grade <= 5, CES <= 3, words; SLA 48 working hours",
            ks.got(st, rules))
    rl = kinds.get("repeat_low", {})
    t.eq((rl.get("threshold"), rl.get("window_days"), rl.get("sla_hours"), rl.get("enabled")), (6, 90, 24, True),
         "alert rules: seeded repeat_low (second NPS <= 6 within 90 days, SLA 24 h)")
    # this file tests one rule at a time; repeat_low has its own test (test_case_loop.py)
    srv.request("PUT", "/api/v1/alert-rules/%d" % rl.get("id", 5), {"enabled": False})

    # a detractor opens exactly one case, owned by the team lead, deadline +48 h
    cust = f["cust_nl"]["id"]
    r1 = respond(srv, f, nps=3)
    items = cases_of(srv, cust)
    t.eq(len(items), 1, "detractor (nps 3): exactly one case for the customer")
    case = items[0] if items else {}
    t.eq((case.get("status"), case.get("rule"), case.get("response_id"), case.get("team_id"),
          case.get("owner_user_id"), case.get("version")),
         ("new", "nps_max", r1["id"], f["team"]["id"], lead.user["id"], 1),
         "detractor: case new, rule nps_max, response, team, owner = team lead, version 1")
    t.check(case.get("deadline") == ks.iso(ks.working_deadline(ks.parse_iso(r1["received_at"]), 48)),
            "detractor: deadline = received_at + 48 working hours (Mon-Fri, Amsterdam)", ks.short(case))
    n_sql = srv.sql("SELECT count(*) FROM cases WHERE customer_id = ?", (cust,))[0][0]
    t.eq(n_sql, 1, "detractor: one row in the cases table")

    # a second low score: still one open case, the response added to it
    r2 = respond(srv, f, nps=1)
    items = cases_of(srv, cust)
    t.eq(len(items), 1, "second low score of the same customer: still one open case")
    st, _, full = srv.get("/api/v1/cases/%d" % case.get("id", 0))
    t.check(st == 200 and full.get("response_ids") == [r1["id"], r2["id"]] and full.get("notes") == [],
            "GET case: both responses linked, no notes yet", ks.got(st, full))

    # promoter: no case; words rule fires on a passive score
    cust_en = f["cust_en"]["id"]
    respond(srv, f, cust="cust_en", nps=10, text="Top service")
    t.eq(len(cases_of(srv, cust_en)), 0, "promoter (nps 10): no case")
    respond(srv, f, cust="cust_en", nps=8, text="Ik wil OPZEGGEN als dit zo doorgaat")
    w = cases_of(srv, cust_en)
    t.check(len(w) == 1 and w[0].get("rule") == "words",
            "words rule: 'ik wil opzeggen' with nps 8 opens one words case", ks.short(w))

    # a response without a known customer (an open link) is a case of its own (issue 13)
    n_before = srv.sql("SELECT count(*) FROM cases")[0][0]
    st, _, r = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 0}})
    new = srv.sql("SELECT customer_id, response_id FROM cases WHERE id > (SELECT max(id) - 1 FROM cases)")
    t.check(st == 201 and srv.sql("SELECT count(*) FROM cases")[0][0] == n_before + 1
            and new == [(None, r.get("id"))],
            "response without a customer (nps 0): 201 and a case of its own, without customer", (ks.got(st, r), new))

    # filters: owner=me as the lead, overdue (none yet), status
    st, _, mine = lead.get("/api/v1/cases?owner=me")
    t.check(st == 200 and [c["id"] for c in mine["items"]] == [case["id"]] + [c["id"] for c in w],
            "team lead: owner=me lists the team's cases", ks.got(st, mine))
    st, _, od = srv.get("/api/v1/cases?overdue=true")
    t.check(st == 200 and od.get("items") == [], "overdue=true: nothing overdue yet", ks.got(st, od))

    # status flow
    cid = case["id"]
    resp = patch(srv, cid, {"version": 1, "status": "resolved"})
    t.error(resp, 422, None, "status", "PATCH new -> resolved (a jump) -> 422 field status")
    resp = patch(srv, cid, {"version": 1, "status": "contacted", "root_cause": "wait_time"})
    t.check(resp[0] == 200 and resp[2].get("status") == "contacted" and resp[2].get("version") == 2
            and resp[2].get("root_cause") == "wait_time",
            "PATCH new -> contacted with root_cause -> 200, version 2", ks.got(resp[0], resp[2]))
    t.error(patch(srv, cid, {"version": 1, "status": "resolved"}), 409, "conflict", "version",
            "PATCH with a stale version -> 409 field version")
    resp = patch(srv, cid, {"version": 2, "status": "resolved", "outcome": "teruggebeld"})
    t.check(resp[0] == 200 and resp[2].get("status") == "resolved", "PATCH contacted -> resolved -> 200",
            ks.got(resp[0], resp[2]))
    resp = patch(srv, cid, {"version": 3, "status": "closed"})
    t.check(resp[0] == 200 and resp[2].get("status") == "closed" and resp[2].get("closed_at"),
            "PATCH resolved -> closed -> 200 with closed_at", ks.got(resp[0], resp[2]))
    t.error(patch(srv, cid, {"version": 4, "status": "contacted"}), 422, None, "status",
            "PATCH closed -> contacted -> 422 field status")
    t.error(patch(srv, cid, {"version": 4, "bogus": 1}), 422, None, "bogus", "PATCH unknown field -> 422")
    t.error(patch(srv, cid, {"version": 4, "root_cause": "wachttijd"}), 422, None, "root_cause",
            "PATCH root_cause outside the categories -> 422 field root_cause")
    t.error(patch(srv, cid, {"status": "new"}), 422, None, "version", "PATCH without version -> 422")
    # closed: a new detractor opens a new case; the old one is not reopenable then
    respond(srv, f, nps=2)
    open_now = cases_of(srv, cust, "&status=new")
    t.eq(len(open_now), 1, "after closing, a new low score opens a new case")
    t.error(patch(srv, cid, {"version": 4, "status": "new"}), 409, "conflict", "status",
            "reopen while another open case of the rule exists -> 409")
    # reopen works once the other is closed
    nid = open_now[0]["id"] if open_now else 0
    for v, s in ((1, "contacted"), (2, "resolved"), (3, "closed")):
        patch(srv, nid, {"version": v, "status": s})
    resp = patch(srv, cid, {"version": 4, "status": "new"})
    t.check(resp[0] == 200 and resp[2].get("status") == "new" and resp[2].get("closed_at") is None,
            "reopen closed -> new -> 200, closed_at cleared", ks.got(resp[0], resp[2]))

    # two concurrent PATCHes with the same version: one 200, one 409
    results = []
    barrier = threading.Barrier(2)

    def go(label):
        barrier.wait()
        results.append(patch(srv, cid, {"version": 5, "outcome": label})[0])

    th = [threading.Thread(target=go, args=(x,)) for x in ("a", "b")]
    for x in th:
        x.start()
    for x in th:
        x.join()
    st, _, after = srv.get("/api/v1/cases/%d" % cid)
    t.check(sorted(results) == [200, 409] and after.get("version") == 6,
            "two concurrent PATCHes with version 5: exactly one 200 and one 409, version 6",
            "statuses %s; case %s" % (results, ks.short(after)))

    # notes
    st, _, note = lead.post_json("/api/v1/cases/%d/notes" % cid, {"text": "Klant gebeld, excuses"})
    t.check(st == 201 and note.get("text") == "Klant gebeld, excuses" and note.get("user_id") == lead.user["id"],
            "POST note as the team lead -> 201", ks.got(st, note))
    t.error(srv.post("/api/v1/cases/%d/notes" % cid, {"text": "  "}), 422, None, "text",
            "POST empty note -> 422")
    st, _, full = srv.get("/api/v1/cases/%d" % cid)
    t.check(st == 200 and [n["text"] for n in full.get("notes", [])] == ["Klant gebeld, excuses"],
            "GET case shows the note", ks.got(st, full))
    t.error(srv.get("/api/v1/cases/999999"), 404, "not_found", None, "GET unknown case -> 404")

    # scope
    # the role check (an employee) and the scope check (another team's lead)
    # both answer 403 forbidden with field null
    t.error(employee.get("/api/v1/cases"), 403, "forbidden", None, "employee: GET /cases -> 403 forbidden")
    t.error(employee.get("/api/v1/cases/%d" % cid), 403, "forbidden", None, "employee: GET a case -> 403 forbidden")
    t.error(other_lead.get("/api/v1/cases/%d" % cid), 403, "forbidden", None,
            "team lead of another team: GET the case -> 403 forbidden")
    st, _, ol = other_lead.get("/api/v1/cases")
    t.check(st == 200 and ol.get("items") == [], "team lead of another team: list is empty", ks.got(st, ol))
    t.error(other_lead.get("/api/v1/cases?team_id=%d" % f["team"]["id"]), 403, None, "team_id",
            "team lead of another team: ?team_id= of the first team -> 403")

    # the owner of a case must be able to see it (issue 11): not an employee,
    # not another team's lead, not a disabled or unknown account
    def lead_patch(body):
        h = {"Cookie": "ks_session=" + lead.cookie, "X-CSRF-Token": lead.csrf}
        return srv.request("PATCH", "/api/v1/cases/%d" % cid, body, headers=h, auth=False)

    st, _, cur = srv.get("/api/v1/cases/%d" % cid)
    ver = cur.get("version") if st == 200 else 0
    for who, label in ((employee, "an employee"), (other_lead, "another team's lead")):
        t.error(lead_patch({"version": ver, "owner_user_id": who.user["id"]}), 422, "invalid", "owner_user_id",
                "team lead: making %s the case owner -> 422 naming owner_user_id" % label)
    t.error(lead_patch({"version": ver, "owner_user_id": 999999}), 422, None, "owner_user_id",
            "team lead: an unknown user as owner -> 422 naming owner_user_id")
    manager = make_user(srv, "manager", "Mia Manager", unit_id=f["dept"]["id"])
    st, _, r = lead_patch({"version": ver, "owner_user_id": manager.user["id"]})
    t.check(st == 200 and r.get("owner_user_id") == manager.user["id"],
            "team lead: the manager of the case's department as owner -> 200", ks.got(st, r))
    st, _, r = lead_patch({"version": r.get("version", 0), "owner_user_id": lead.user["id"]})
    t.check(st == 200 and r.get("owner_user_id") == lead.user["id"], "team lead: back to the team's own lead -> 200",
            ks.got(st, r))

    # alert rules: PUT (admin) and its effect
    t.error(lead.put("/api/v1/alert-rules/1", {"enabled": False}), 403, "forbidden", None,
            "team lead: PUT alert rule -> 403 forbidden")
    t.error(srv.request("PUT", "/api/v1/alert-rules/1", {"threshold": 11}), 422, None, "threshold",
            "PUT nps threshold 11 -> 422")
    st, _, rr = srv.request("PUT", "/api/v1/alert-rules/1", {"enabled": False, "sla_hours": 24})
    t.check(st == 200 and rr.get("enabled") is False and rr.get("sla_hours") == 24,
            "PUT alert rule: disable nps_max, SLA 24 h -> 200", ks.got(st, rr))
    extra = srv.create("customers", {"external_id": ks.uniq("C-X"), "name": "Piet Puk", "language": "nl"})
    f["cust_x"] = extra
    respond(srv, f, cust="cust_x", nps=0)
    t.eq(len(cases_of(srv, extra["id"])), 0, "disabled nps_max rule: a detractor opens no case")
    srv.request("PUT", "/api/v1/alert-rules/1", {"enabled": True, "sla_hours": 48})

    # the open case excludes the next invitation when the rule says so
    st, _, rule = srv.request("PUT", "/api/v1/touchpoints/%d/rule" % f["tp1"]["id"],
                              {"exclude_open_case": True})
    t.eq((st, rule.get("exclude_open_case") if isinstance(rule, dict) else rule), (200, True),
         "PUT touchpoint rule exclude_open_case -> 200, stored")
    mail = srv.create("customers", {"external_id": ks.uniq("C-M"), "name": "Kees Mail", "language": "nl",
                                    "email": "kees@example.org"})
    f["cust_m"] = mail
    c = srv.create("contacts", {"customer_id": mail["id"], "touchpoint_id": f["tp1"]["id"], "channel": "phone"})
    t.eq((c.get("invitation") or {}).get("decision"), "created",
         "customer with an e-mail and no case: contact -> invitation created")
    respond(srv, f, cust="cust_m", grade=4)
    t.eq(len(cases_of(srv, mail["id"])), 1, "grade 4: one grade_max case")
    c = srv.create("contacts", {"customer_id": mail["id"], "touchpoint_id": f["tp1"]["id"], "channel": "phone"})
    t.eq((c.get("invitation") or {}).get("decision"), "open_case",
         "customer with an open case: next contact -> invitation decision open_case")

    # a signal word of 34 three-byte characters (102 bytes): the reason shows
    # its first 100 bytes cut between characters (33 of them; Dutch for this
    # admin), or the reason is no JSON string and the case has none
    wr = kinds.get("words", {})
    st, _, put_w = srv.request("PUT", "/api/v1/alert-rules/%d" % wr.get("id", 4),
                               {"words": wr.get("words", "opzeggen") + "," + "€" * 34})
    t.status((st, None, put_w), 200, "words rule: a word of 34 euro signs added")
    cust_w = srv.create("customers", {"external_id": ks.uniq("C-EUR"), "name": "Euro Klant", "language": "nl"})
    f["cust_w"] = cust_w
    respond(srv, f, cust="cust_w", nps=8, text="Dit kost " + "€" * 34 + " te veel")
    ew = cases_of(srv, cust_w["id"])
    t.eq([(c.get("rule"), c.get("reason")) for c in ew],
         [("words", 'signaalwoord "%s" in het open antwoord' % ("€" * 33))],
         "words rule: the reason names the long word's first 33 whole characters")
    srv.request("PUT", "/api/v1/alert-rules/%d" % wr.get("id", 4), {"words": wr.get("words", "opzeggen")})


def _session_post_json(self, path, body):
    h = {"Cookie": "ks_session=" + self.cookie, "X-CSRF-Token": self.csrf}
    return self.srv.request("POST", path, body, headers=h, auth=False)


if __name__ == "__main__":
    import test_dashboard
    test_dashboard.Session.post_json = _session_post_json
    ks.run(main)
