#!/usr/bin/python3
"""The funnel's totals and its cache (issue 13, docs/API.md "The feedback
loop"): the total funnel is the sum of the touchpoint groups, and a result
is reused only while nothing was committed — a new contact or invitation
shows in the very next reply, in every grouping and window.

Expected counts come from what this test posted (the decision of each
contact as its reply gave it), not from the product's SQL.
"""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

NOW = 1_796_000_000
KEYS = ("contacts", "invited", "not_invited", "delivered", "opened", "started", "completed", "failed")


def counts(row):
    return {k: row[k] for k in KEYS}


def want(contacts, invited):
    return {"contacts": contacts, "invited": invited, "not_invited": contacts - invited, "delivered": 0,
            "opened": 0, "started": 0, "completed": 0, "failed": 0}


def funnel(t, srv, query=""):
    st, _, body = srv.get("/api/v1/funnel" + query)
    if st != 200:
        raise ks.FixtureError("GET /api/v1/funnel%s -> %s %s" % (query, st, ks.short(body)))
    return body["rows"]


def main(t):
    srv = ks.Server(t, args=["--test-clock", ks.iso(NOW), "--quiet"])
    try:
        t.healthz(srv.start(), "server starts")
        run(t, srv)
    finally:
        srv.stop()
        srv.cleanup()


def run(t, srv):
    t.eq(funnel(t, srv), [], "no invitations: the total funnel has no rows (as a GROUP BY over nothing)")
    t.eq(funnel(t, srv, "?group_by=touchpoint"), [], "no invitations: no touchpoint rows")
    f = ks.base_fixture(srv)
    for tp in (f["tp1"], f["tp2"]):
        st, _, b = srv.request("PUT", "/api/v1/touchpoints/%d/rule" % tp["id"],
                               {"delay_minutes": 0, "quiet_start_hour": 0, "quiet_end_hour": 0})
        if st != 200:
            raise ks.FixtureError("PUT rule -> %s %s" % (st, ks.short(b)))
    posted = {f["tp1"]["id"]: [0, 0], f["tp2"]["id"]: [0, 0]}  # touchpoint -> [contacts, invited]

    def contact(tp, email=True):
        cust = srv.create("customers", {"external_id": ks.uniq("fc"), "language": "nl",
                                        "email": ("%s@funnel.test" % ks.uniq("m")) if email else None})
        st, _, b = srv.post("/api/v1/contacts", {"customer_id": cust["id"], "touchpoint_id": tp["id"],
                                                 "channel": "phone", "team_id": f["team"]["id"]})
        if st != 201:
            raise ks.FixtureError("POST contacts -> %s %s" % (st, ks.short(b)))
        posted[tp["id"]][0] += 1
        posted[tp["id"]][1] += b["invitation"]["decision"] == "created"
        return b["invitation"]["decision"]

    decisions = [contact(f["tp1"]), contact(f["tp1"]), contact(f["tp1"], email=False), contact(f["tp2"])]
    t.eq(decisions, ["created", "created", "no_email", "created"],
         "four contacts: three invited, one without an e-mail address")

    def check(label):
        total_c = sum(v[0] for v in posted.values())
        total_i = sum(v[1] for v in posted.values())
        rows = funnel(t, srv)
        t.eq([(r["key"], counts(r)) for r in rows], [("all", want(total_c, total_i))],
             "%s: the total funnel is one row 'all' with %d contacts, %d invited" % (label, total_c, total_i))
        by_tp = funnel(t, srv, "?group_by=touchpoint")
        t.eq([(r["key"], counts(r)) for r in by_tp],
             [(k, want(v[0], v[1])) for k, v in sorted(posted.items())],
             "%s: per touchpoint as posted" % label)
        by_team = funnel(t, srv, "?group_by=team")
        t.eq([(r["key"], counts(r)) for r in by_team], [(f["team"]["id"], want(total_c, total_i))],
             "%s: per team: the one team" % label)
        return rows

    def repr_invited():
        st, _, b = srv.get("/api/v1/funnel/representativeness?dimension=language")
        return (st, b.get("invited_customers"), b.get("invitations"), [r["segment"] for r in b.get("rows", [])])

    t.eq(repr_invited(), (200, 3, 3, ["nl"]), "representativeness: three customers invited, all Dutch")
    t.eq(repr_invited(), (200, 3, 3, ["nl"]), "representativeness asked again: the same")
    first = check("before")
    t.eq(funnel(t, srv), first, "the same question again: the same reply")
    t.eq(first[0]["response_rate"], 0.0, "response rate 0 of 3 invited is 0.0, not null")

    # a commit between two identical questions shows in the second reply
    contact(f["tp2"])
    check("after one more contact")
    t.eq(repr_invited(), (200, 4, 4, ["nl"]), "representativeness after one more invited contact: four")
    contact(f["tp1"], email=False)
    check("after a contact without an e-mail address")

    # windows: the month of the test clock has everything, the one before nothing
    st, _, cur = srv.get("/api/v1/funnel?period=2026-11")
    st2, _, prev = srv.get("/api/v1/funnel?period=2026-10")
    t.eq((st, [counts(r) for r in cur["rows"]]), (200, [want(6, 4)]),
         "period 2026-11 (the test clock's month): all six contacts, four invited")
    t.eq((st2, prev["rows"]), (200, []), "period 2026-10: no rows")

    # both views asked at once (as the management view does) agree
    import threading
    out = {}

    def ask(q):
        out[q] = funnel(t, srv, q)
    th = [threading.Thread(target=ask, args=(q,)) for q in ("", "?group_by=touchpoint", "", "?group_by=touchpoint")]
    for x in th:
        x.start()
    for x in th:
        x.join()
    t.eq(counts(out[""][0]), want(6, 4), "asked in parallel: the total is right")
    t.eq(sum(r["contacts"] for r in out["?group_by=touchpoint"]), 6, "asked in parallel: the touchpoints add up")
    t.error(srv.get("/api/v1/funnel?group_by=colour"), 422, "invalid", "group_by", name="group_by=colour -> 422")


if __name__ == "__main__":
    ks.run(main, start_server=False)
