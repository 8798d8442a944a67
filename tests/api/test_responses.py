#!/usr/bin/python3
"""Contact events, responses (idempotency, conflicts, validation) and metrics
(NPS with its adjusted-Wald interval, grade, CES, filters, minimum n), checked
against docs/API.md and shared/DOMAIN.md, and against the database file."""

import math
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

DAY = 86400


def resp_count(srv):
    return srv.count("responses")


def contact_count(srv):
    return srv.sql("SELECT count(*) FROM contacts")[0][0]


# ---------------------------------------------------------------------------
# contacts


def test_contacts(t, srv, f):
    body = {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"], "channel": "phone",
            "employee_id": f["emp1"]["id"], "reason": "storing"}
    st, _, c = srv.post("/api/v1/contacts", body)
    ok = st == 201 and isinstance(c, dict)
    t.check(ok and isinstance(c.get("id"), int) and c.get("customer_id") == f["cust_nl"]["id"]
            and c.get("touchpoint_id") == f["tp1"]["id"] and c.get("channel") == "phone"
            and c.get("employee_id") == f["emp1"]["id"],
            "contacts: create -> 201 with id and the given fields", ks.got(st, c))
    if not ok:
        raise ks.FixtureError("cannot create a contact")
    t.eq(c.get("team_id"), f["team"]["id"], "contacts: team_id defaults to the employee's team")
    tok = c.get("token")
    t.check(isinstance(tok, str) and len(tok) >= 16 and all(ch.isalnum() or ch in "-_" for ch in tok),
            "contacts: token is a long url-safe string", ks.got(st, c))
    t.eq(c.get("survey_url"), "/s/%s" % tok, "contacts: survey_url is /s/TOKEN")
    t.check(ks.iso_ok(c.get("occurred_at")) and ks.iso_ok(c.get("expires_at"))
            and abs(ks.parse_iso(c["occurred_at"]) - time.time()) < 120,
            "contacts: occurred_at defaults to now (ISO 8601 UTC)", ks.got(st, c))
    if ks.iso_ok(c.get("occurred_at")) and ks.iso_ok(c.get("expires_at")):
        t.eq(ks.parse_iso(c["expires_at"]) - ks.parse_iso(c["occurred_at"]), 14 * DAY,
             "contacts: expires_at is occurred_at + 14 days")
    st, _, g = srv.get("/api/v1/contacts/%d" % c["id"])
    t.check(st == 200 and isinstance(g, dict) and g.get("token") == tok and g.get("id") == c["id"]
            and g.get("team_id") == f["team"]["id"],
            "contacts: GET /contacts/{id} -> 200 with the same token", ks.got(st, g))
    t.error(srv.get("/api/v1/contacts/999999"), 404, "not_found", None, "contacts: GET unknown id -> 404")

    # explicit occurred_at with an offset, explicit team
    st, _, c2 = srv.post("/api/v1/contacts", {
        "customer_id": f["cust_en"]["id"], "touchpoint_id": f["tp2"]["id"], "channel": "field",
        "employee_id": f["emp2"]["id"], "team_id": f["dept"]["id"],
        "occurred_at": "2026-11-01T11:00:00+01:00"})
    t.check(st == 201 and c2.get("occurred_at") == "2026-11-01T10:00:00Z"
            and c2.get("expires_at") == "2026-11-15T10:00:00Z",
            "contacts: occurred_at with +01:00 is stored as UTC; expires 14 days later",
            ks.got(st, c2))
    t.check(st == 201 and c2.get("team_id") == f["dept"]["id"],
            "contacts: an explicit team_id is kept (not replaced by the employee's team)", ks.got(st, c2))
    st, _, c3 = srv.post("/api/v1/contacts", {
        "customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"], "channel": "web",
        "occurred_at": "2026-10-05"})
    t.check(st == 201 and c3.get("occurred_at") == "2026-10-05T00:00:00Z"
            and c3.get("employee_id") is None and c3.get("team_id") is None,
            "contacts: date-only occurred_at, no employee -> employee_id and team_id null",
            ks.got(st, c3))
    t.check(st == 201 and c3.get("token") != tok, "contacts: every contact gets its own token", ks.got(st, c3))

    base = {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"], "channel": "phone"}
    bad = [
        (dict(base, channel="fax"), "invalid", "channel", "channel \"fax\""),
        ({k: v for k, v in base.items() if k != "channel"}, "invalid", "channel", "missing channel"),
        (dict(base, customer_id=999999), "unknown_reference", "customer_id", "customer_id 999999"),
        (dict(base, touchpoint_id=999999), "unknown_reference", "touchpoint_id", "touchpoint_id 999999"),
        (dict(base, employee_id=999999), "unknown_reference", "employee_id", "employee_id 999999"),
        (dict(base, team_id=999999), "unknown_reference", "team_id", "team_id 999999"),
        ({k: v for k, v in base.items() if k != "customer_id"}, "invalid", "customer_id", "missing customer_id"),
        ({k: v for k, v in base.items() if k != "touchpoint_id"}, "invalid", "touchpoint_id",
         "missing touchpoint_id"),
        (dict(base, customer_id="1"), "invalid", "customer_id", "customer_id as a string"),
        (dict(base, occurred_at="yesterday"), "invalid", "occurred_at", "occurred_at \"yesterday\""),
        (dict(base, mood="happy"), "invalid", "mood", "unknown field mood"),
    ]
    for b, code, field, what in bad:
        before = contact_count(srv)
        t.error(srv.post("/api/v1/contacts", b), 422, code, field,
                "contacts: %s -> 422 %s %s" % (what, code, field))
        after = contact_count(srv)
        t.check(before == after, "contacts: %s: nothing written" % what, "before %d after %d" % (before, after))
    t.error(srv.post("/api/v1/contacts", b'[1]'), 400, "malformed_json", None,
            "contacts: a JSON array body -> 400 malformed_json")
    return c


def new_contact(srv, f, cust="cust_nl", emp="emp1", tp="tp1", channel="phone", **extra):
    b = {"customer_id": f[cust]["id"], "touchpoint_id": f[tp]["id"], "channel": channel}
    if emp:
        b["employee_id"] = f[emp]["id"]
    b.update(extra)
    return srv.create("contacts", b)


# ---------------------------------------------------------------------------
# responses


def test_responses(t, srv, f, contact):
    key = ks.uniq("r")
    body = {"client_key": key, "contact_id": contact["id"], "language": "nl",
            "answers": {"nps": 9, "grade": 8, "ces": 6, "drivers": {"snelheid": 7},
                        "open": "Prima geholpen"}}
    n0 = resp_count(srv)
    st, _, r = srv.post("/api/v1/responses", body)
    ok = st == 201 and isinstance(r, dict) and isinstance(r.get("id"), int)
    t.check(ok, "responses: via contact_id -> 201 with an id", ks.got(st, r))
    if not ok:
        raise ks.FixtureError("cannot store a response")
    tied = {"customer_id": f["cust_nl"]["id"], "employee_id": f["emp1"]["id"], "team_id": f["team"]["id"],
            "touchpoint_id": f["tp1"]["id"], "channel": "phone", "contact_id": contact["id"]}
    t.eq({k: r.get(k) for k in tied}, tied,
         "responses: customer, employee, team, touchpoint and channel copied from the contact")
    ans = r.get("answers") or {}
    t.eq({k: ans.get(k) for k in ("nps", "grade", "ces", "drivers", "open")},
         body["answers"], "responses: answers come back as sent")
    t.check(ks.iso_ok(r.get("received_at")) and abs(ks.parse_iso(r["received_at"]) - time.time()) < 120,
            "responses: received_at defaults to now (ISO 8601 UTC)", ks.got(st, r))
    t.eq(resp_count(srv), n0 + 1, "responses: list count +1")

    st2, _, r2 = srv.post("/api/v1/responses", body)
    t.check(st2 == 200 and isinstance(r2, dict) and r2.get("id") == r["id"],
            "responses: same client_key and same body again -> 200 with the same id", ks.got(st2, r2))
    t.check(isinstance(r2, dict) and r2.get("answers") == r.get("answers"),
            "responses: the retry returns the stored row", ks.got(st2, r2))
    t.eq(resp_count(srv), n0 + 1, "responses: retry stored nothing new")

    changed = dict(body, answers=dict(body["answers"], nps=3))
    t.error(srv.post("/api/v1/responses", changed), 409, "conflict", None,
            "responses: same client_key, different body -> 409 conflict")
    other = dict(body, client_key=ks.uniq("r-other"))
    t.error(srv.post("/api/v1/responses", other), 409, "conflict", None,
            "responses: a second response to the same contact (other key) -> 409 conflict")
    nokey = {k: v for k, v in body.items() if k != "client_key"}
    t.error(srv.post("/api/v1/responses", nokey), 409, "conflict", None,
            "responses: a second response to the same contact (no key) -> 409 conflict")
    t.eq(resp_count(srv), n0 + 1, "responses: the conflicts stored nothing")

    # Idempotency-Key header
    c2 = new_contact(srv, f, cust="cust_en", emp="emp2", tp="tp2", channel="email")
    hkey = ks.uniq("hdr")
    hbody = {"contact_id": c2["id"], "answers": {"nps": 6, "open": "Duurde lang"}}
    st, _, h1 = srv.post("/api/v1/responses", hbody, headers={"Idempotency-Key": hkey})
    t.check(st == 201 and isinstance(h1, dict) and h1.get("team_id") == f["team"]["id"]
            and h1.get("channel") == "email",
            "responses: with an Idempotency-Key header -> 201", ks.got(st, h1))
    st, _, h2 = srv.post("/api/v1/responses", hbody, headers={"Idempotency-Key": hkey})
    t.check(st == 200 and isinstance(h2, dict) and isinstance(h1, dict) and h2.get("id") == h1.get("id"),
            "responses: same Idempotency-Key and body again -> 200, same id", ks.got(st, h2))
    t.error(srv.post("/api/v1/responses", dict(hbody, answers={"nps": 10}),
                     headers={"Idempotency-Key": hkey}),
            409, "conflict", None, "responses: same Idempotency-Key, different body -> 409")
    t.eq(resp_count(srv), n0 + 2, "responses: header retries stored one row")
    t.eq(srv.sql("SELECT count(*) FROM responses WHERE client_key = ?", (hkey,))[0][0], 1,
         "db: the Idempotency-Key is stored as the response's client_key")

    # without a contact
    dkey = ks.uniq("direct")
    dbody = {"client_key": dkey, "touchpoint_id": f["tp2"]["id"], "employee_id": f["emp2"]["id"],
             "team_id": f["team"]["id"], "customer_id": f["cust_en"]["id"], "channel": "chat",
             "language": "en", "received_at": "2026-11-01T10:00:00Z", "source": "api",
             "answers": {"nps": 10, "drivers": {"snelheid": 9}}}
    st, _, d = srv.post("/api/v1/responses", dbody)
    want = {"touchpoint_id": f["tp2"]["id"], "employee_id": f["emp2"]["id"], "team_id": f["team"]["id"],
            "customer_id": f["cust_en"]["id"], "channel": "chat", "contact_id": None,
            "received_at": "2026-11-01T10:00:00Z", "language": "en"}
    t.check(st == 201 and isinstance(d, dict) and {k: d.get(k) for k in want} == want,
            "responses: via touchpoint_id without contact -> 201 with the given fields",
            "expected %s\n%s" % (ks.short(want), ks.got(st, d)))
    st, _, d2 = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"grade": 7},
                                              "received_at": "2026-11-02"})
    t.check(st == 201 and isinstance(d2, dict) and d2.get("received_at") == "2026-11-02T00:00:00Z",
            "responses: a minimal response (touchpoint, one grade, date-only received_at) -> 201",
            ks.got(st, d2))
    t.eq(resp_count(srv), n0 + 4, "responses: count after the direct responses")

    # validation
    c3 = new_contact(srv, f)
    ok_body = {"contact_id": c3["id"], "answers": {"nps": 8}}
    bad = [
        ({"answers": {"nps": 11}}, "out_of_range", "answers.nps", "nps 11"),
        ({"answers": {"nps": -1}}, "out_of_range", "answers.nps", "nps -1"),
        ({"answers": {"grade": 0}}, "out_of_range", "answers.grade", "grade 0"),
        ({"answers": {"grade": 11}}, "out_of_range", "answers.grade", "grade 11"),
        ({"answers": {"ces": 8}}, "out_of_range", "answers.ces", "ces 8"),
        ({"answers": {"ces": 0}}, "out_of_range", "answers.ces", "ces 0"),
        ({"answers": {"drivers": {"snelheid": 11}}}, "out_of_range", "answers.drivers*", "driver 11"),
        ({"answers": {"drivers": {"snelheid": 0}}}, "out_of_range", "answers.drivers*", "driver 0"),
        ({"answers": {"nps": "9"}}, "invalid", "answers.nps", "nps \"9\" (string)"),
        ({"answers": {"nps": 8.5}}, "invalid", "answers.nps", "nps 8.5"),
        ({"answers": {}}, "invalid", None, "no answers"),
        ({"answers": None}, "invalid", None, "answers null"),
        ({"answers": "negen"}, "invalid", "answers", "answers as a string"),
        ({"answers": {"nps": 8, "stars": 5}}, "invalid", "answers.stars", "unknown answer stars"),
        ({"answers": {"drivers": [7]}}, "invalid", "answers.drivers", "drivers as an array"),
        ({"answers": {"drivers": {"snelheid": "7"}}}, "invalid", "answers.drivers*", "a driver score \"7\""),
        ({"answers": {"open": 5}}, "invalid", "answers.open", "open answer 5 (number)"),
        ({"language": "fr"}, "invalid", "language", "language \"fr\""),
        ({"contact_id": 999999}, "unknown_reference", "contact_id", "contact_id 999999"),
        ({"contact_id": "abc"}, "invalid", "contact_id", "contact_id \"abc\""),
        ({"client_key": 12}, "invalid", "client_key", "client_key 12 (number)"),
        ({"received_at": "soon"}, "invalid", "received_at", "received_at \"soon\""),
        ({"colour": "blue"}, "invalid", "colour", "unknown field colour"),
    ]
    for change, code, field, what in bad:
        b = dict(ok_body, **change)
        before = resp_count(srv)
        t.error(srv.post("/api/v1/responses", b), 422, code, field,
                "responses: %s -> 422 %s %s" % (what, code, field))
        t.eq(resp_count(srv), before, "responses: %s: nothing stored" % what)
    b = {"contact_id": c3["id"]}
    t.error(srv.post("/api/v1/responses", b), 422, "invalid", None, "responses: answers missing -> 422 invalid")
    direct_bad = [
        ({"touchpoint_id": 999999}, "unknown_reference", "touchpoint_id"),
        ({"touchpoint_id": f["tp1"]["id"], "employee_id": 999999}, "unknown_reference", "employee_id"),
        ({"touchpoint_id": f["tp1"]["id"], "team_id": 999999}, "unknown_reference", "team_id"),
        ({"touchpoint_id": f["tp1"]["id"], "customer_id": 999999}, "unknown_reference", "customer_id"),
        ({"touchpoint_id": f["tp1"]["id"], "channel": "fax"}, "invalid", "channel"),
    ]
    for extra, code, field in direct_bad:
        before = resp_count(srv)
        b = dict(extra, answers={"nps": 5})
        t.error(srv.post("/api/v1/responses", b), 422, code, field,
                "responses: without contact, %s -> 422 %s" % (ks.short(extra), field))
        t.eq(resp_count(srv), before, "responses: bad %s stored nothing" % field)
    t.error(srv.post("/api/v1/responses", b'{"answers": {"nps": 9}'), 400, "malformed_json", None,
            "responses: truncated JSON -> 400")
    st, _, oo = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"open": "Alleen tekst"}})
    t.check(st == 201 and (oo.get("answers") or {}).get("open") == "Alleen tekst"
            and (oo.get("answers") or {}).get("nps") is None,
            "responses: an open answer alone is an answer -> 201", ks.got(st, oo))
    # the contact is still answerable after all those failures
    st, _, ok3 = srv.post("/api/v1/responses", ok_body)
    t.check(st == 201, "responses: the contact can still be answered after the failed attempts",
            ks.got(st, ok3))

    # read
    st, _, g = srv.get("/api/v1/responses/%d" % r["id"])
    t.check(st == 200 and g == r, "responses: GET /responses/{id} -> 200, the stored response",
            "expected %s\n%s" % (ks.short(r), ks.got(st, g)))
    t.error(srv.get("/api/v1/responses/999999"), 404, "not_found", None, "responses: GET unknown id -> 404")
    all_items = srv.list_all("responses")
    ids = [i.get("id") for i in all_items]
    st, _, p1 = srv.get("/api/v1/responses?limit=2")
    st2, _, p2 = srv.get("/api/v1/responses?limit=2&cursor=%s" % (p1.get("next_cursor") if isinstance(p1, dict) else ""))
    got_ids = [i.get("id") for i in (p1.get("items", []) + p2.get("items", []))] \
        if isinstance(p1, dict) and isinstance(p2, dict) else None
    t.check(st == 200 and st2 == 200 and got_ids == ids[:4] and len(ids) >= 5,
            "responses: list pages with limit=2 and cursor follow id order",
            "all %s\npages %s" % (ids, got_ids))
    t.check(r["id"] in ids and ids == sorted(ids), "responses: list holds the response, ordered by id",
            "ids %s" % ids)
    return {"first": r, "key": key, "direct": d, "contact2": c2, "hkey": hkey, "ok3": ok3, "c3": c3}


# ---------------------------------------------------------------------------
# metrics


def wald(P, D, n):
    """Adjusted-Wald interval of the NPS (Rocks 2016), independently computed."""
    n2 = n + 3.0
    p = (P + 0.75) / n2
    d = (D + 0.75) / n2
    var = (p + d - (p - d) ** 2) / n2
    margin = 1.96 * math.sqrt(var) * 100
    adj = (p - d) * 100
    return max(-100.0, adj - margin), min(100.0, adj + margin), margin


def expect_metrics(rows):
    """rows: list of (nps, grade, ces) with None for unanswered."""
    npss = [r[0] for r in rows if r[0] is not None]
    grades = [r[1] for r in rows if r[1] is not None]
    cess = [r[2] for r in rows if r[2] is not None]
    P = sum(1 for x in npss if x >= 9)
    D = sum(1 for x in npss if x <= 6)
    A = len(npss) - P - D
    n = len(npss)
    low, high, margin = wald(P, D, n)
    return {
        "n": len(rows),
        "nps": {"n": n, "promoters": P / n, "passives": A / n, "detractors": D / n,
                "value": (P - D) * 100.0 / n, "low": low, "high": high, "margin": margin},
        "grade": {"n": len(grades), "mean": sum(grades) / len(grades),
                  "share_7plus": sum(1 for g in grades if g >= 7) / len(grades),
                  "share_9plus": sum(1 for g in grades if g >= 9) / len(grades)},
        "ces": {"n": len(cess), "mean": sum(cess) / len(cess),
                "share_5plus": sum(1 for c in cess if c >= 5) / len(cess)},
    }


def check_metrics(t, got_m, exp, label):
    if not isinstance(got_m, dict):
        t.check(False, "%s: metrics body is an object" % label, ks.short(got_m))
        return
    t.eq(got_m.get("n"), exp["n"], "%s: n" % label)
    t.check(got_m.get("insufficient") in (None, False), "%s: not marked insufficient" % label,
            ks.short(got_m))
    t.check(isinstance(got_m.get("filter"), dict), "%s: has a filter object" % label, ks.short(got_m))
    nps = got_m.get("nps") or {}
    en = exp["nps"]
    t.eq(nps.get("n"), en["n"], "%s: nps.n" % label)
    for k in ("promoters", "passives", "detractors"):
        t.near(nps.get(k), en[k], 0.001, "%s: nps.%s share" % (label, k))
    t.near(nps.get("value"), en["value"], 0.1, "%s: nps.value (plain NPS) = %.1f" % (label, en["value"]))
    t.near(nps.get("low"), en["low"], 0.1, "%s: nps.low (adjusted Wald) = %.1f" % (label, en["low"]))
    t.near(nps.get("high"), en["high"], 0.1, "%s: nps.high (adjusted Wald) = %.1f" % (label, en["high"]))
    t.near(nps.get("margin"), en["margin"], 0.1, "%s: nps.margin = %.1f" % (label, en["margin"]))
    g = got_m.get("grade") or {}
    eg = exp["grade"]
    t.eq(g.get("n"), eg["n"], "%s: grade.n" % label)
    t.near(g.get("mean"), eg["mean"], 0.01, "%s: grade.mean = %.2f" % (label, eg["mean"]))
    t.near(g.get("share_7plus"), eg["share_7plus"], 0.001, "%s: grade.share_7plus" % label)
    t.near(g.get("share_9plus"), eg["share_9plus"], 0.001, "%s: grade.share_9plus" % label)
    lo, hi = g.get("low"), g.get("high")
    t.check(isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo <= eg["mean"] <= hi
            and lo < hi, "%s: grade low < mean < high" % label, ks.short(g))
    c = got_m.get("ces") or {}
    ec = exp["ces"]
    t.eq(c.get("n"), ec["n"], "%s: ces.n" % label)
    t.near(c.get("mean"), ec["mean"], 0.01, "%s: ces.mean = %.2f" % (label, ec["mean"]))
    t.near(c.get("share_5plus"), ec["share_5plus"], 0.001, "%s: ces.share_5plus" % label)


def check_insufficient(t, got_m, n, min_n, label):
    ok = isinstance(got_m, dict) and got_m.get("insufficient") is True and got_m.get("n") == n \
        and got_m.get("min_n") == min_n and not any(k in got_m for k in ("nps", "grade", "ces"))
    t.check(ok, "%s: n=%d < min_n=%d -> insufficient, no scores" % (label, n, min_n), ks.short(got_m))


def metrics(srv, query):
    return srv.get("/api/v1/metrics?" + query)


def test_metrics(t, srv, f):
    tag = ks.uniq("m")
    dept = srv.create("teams", {"name": "Metrics dept " + tag, "kind": "department",
                                "parent_id": f["org"]["id"]})
    ta = srv.create("teams", {"name": "Team A " + tag, "kind": "team", "parent_id": dept["id"]})
    tb = srv.create("teams", {"name": "Team B " + tag, "kind": "team", "parent_id": dept["id"]})
    ea = srv.create("employees", {"team_id": ta["id"], "first_name": "Anna", "last_name": "A"})
    eb = srv.create("employees", {"team_id": tb["id"], "first_name": "Bram", "last_name": "B"})
    ja = srv.create("journeys", {"name": "Journey A " + tag})
    jb = srv.create("journeys", {"name": "Journey B " + tag})
    tpa = srv.create("touchpoints", {"journey_id": ja["id"], "name": "TP A", "survey_id": f["survey"]["id"]})
    tpb = srv.create("touchpoints", {"journey_id": jb["id"], "name": "TP B", "survey_id": f["survey"]["id"]})

    # Team A: 6 promoters, 2 passives, 2 detractors -> NPS 40; one more with CES only.
    a_rows = [(9, 8, 7), (10, 9, 6), (9, 7, 5), (10, 10, 4), (9, 6, 7), (9, 8, 6),
              (7, 9, 3), (8, 7, 5), (3, 5, 6), (6, 8, 7), (None, None, 2)]
    # Team B: 5 responses on 2025-04-10 .. 14.
    b_rows = [(0, 3, 1), (5, 6, 2), (10, 9, 7), (8, 7, 5), (9, 10, 6)]

    def post(rows, team, emp, tp, channel, day0):
        for i, (nps, grade, ces) in enumerate(rows):
            answers = {k: v for k, v in (("nps", nps), ("grade", grade), ("ces", ces)) if v is not None}
            b = {"client_key": "%s-%s-%d" % (tag, channel, i), "touchpoint_id": tp["id"],
                 "employee_id": emp["id"], "team_id": team["id"], "customer_id": f["cust_nl"]["id"],
                 "channel": channel, "received_at": ks.iso(day0 + i * DAY), "answers": answers}
            srv.create("responses", b)

    import calendar
    a0 = calendar.timegm((2025, 3, 1, 9, 0, 0))
    b0 = calendar.timegm((2025, 4, 10, 0, 0, 0))
    post(a_rows, ta, ea, tpa, "shop", a0)
    post(b_rows, tb, eb, tpb, "field", b0)

    exp_a = expect_metrics(a_rows)
    t.near(exp_a["nps"]["value"], 40.0, 1e-9, "metrics: (test's own data) team A NPS is 40")
    st, _, m = metrics(srv, "team_id=%d" % ta["id"])
    t.check(st == 200, "metrics: GET ?team_id=A -> 200", ks.got(st, m))
    check_metrics(t, m, exp_a, "metrics team A")
    t.eq(m.get("min_n") if isinstance(m, dict) else None, 5, "metrics team A: min_n 5")

    exp_d = expect_metrics(a_rows + b_rows)
    st, _, m = metrics(srv, "team_id=%d" % dept["id"])
    check_metrics(t, m, exp_d, "metrics department (rolls up teams A and B)")
    st, _, m = metrics(srv, "team_id=%d" % f["org"]["id"])
    t.check(st == 200 and isinstance(m, dict) and m.get("n") == len(a_rows) + len(b_rows)
            + srv.sql("SELECT count(*) FROM responses WHERE team_id = ?", (f["team"]["id"],))[0][0],
            "metrics: organisation rolls up every unit below it",
            ks.got(st, m))

    st, _, m = metrics(srv, "employee_id=%d" % ea["id"])
    check_metrics(t, m, exp_a, "metrics employee A (n=11 >= 10)")
    t.eq(m.get("min_n") if isinstance(m, dict) else None, 10, "metrics employee A: min_n 10")
    st, _, m = metrics(srv, "employee_id=%d" % eb["id"])
    check_insufficient(t, m, 5, 10, "metrics employee B")

    exp_b = expect_metrics(b_rows)
    st, _, m = metrics(srv, "touchpoint_id=%d" % tpb["id"])
    check_metrics(t, m, exp_b, "metrics touchpoint B (n=5 = min_n)")
    st, _, m = metrics(srv, "journey_id=%d" % jb["id"])
    check_metrics(t, m, exp_b, "metrics journey B")
    st, _, m = metrics(srv, "journey_id=%d" % ja["id"])
    check_metrics(t, m, exp_a, "metrics journey A")
    st, _, m = metrics(srv, "channel=field")
    check_metrics(t, m, exp_b, "metrics channel=field")
    st, _, m = metrics(srv, "channel=shop&team_id=%d" % dept["id"])
    check_metrics(t, m, exp_a, "metrics channel=shop within the department")

    # period: from inclusive, to exclusive
    st, _, m = metrics(srv, "team_id=%d&from=2025-04-01&to=2025-05-01" % dept["id"])
    check_metrics(t, m, exp_b, "metrics department in April 2025")
    st, _, m = metrics(srv, "team_id=%d&from=2025-04-11&to=2025-04-13" % tb["id"])
    check_insufficient(t, m, 2, 5, "metrics team B 11..13 April (from inclusive, to exclusive)")
    st, _, m = metrics(srv, "team_id=%d&from=2025-03-01T09:00:00Z&to=2025-03-06T09:00:00Z" % ta["id"])
    t.check(st == 200 and isinstance(m, dict) and m.get("n") == 5,
            "metrics: from/to with times: [first, sixth) of team A gives 5", ks.got(st, m))
    st, _, m = metrics(srv, "team_id=%d&from=2025-03-01T10:00:00%%2B01:00&to=2025-03-02T09:00:00Z" % ta["id"])
    t.check(st == 200 and isinstance(m, dict) and m.get("n") == 1,
            "metrics: from with an offset (+01:00) is UTC-correct", ks.got(st, m))
    st, _, m = metrics(srv, "team_id=%d&to=2025-01-01" % dept["id"])
    check_insufficient(t, m, 0, 5, "metrics before any response")

    st, _, m = metrics(srv, "team_id=999999")
    t.check(st in (200, 404, 422), "metrics: unknown team_id answers (200 empty, or an error)", ks.got(st, m))
    if st == 200:
        check_insufficient(t, m, 0, 5, "metrics unknown team")
    st, _, m = metrics(srv, "from=notadate")
    t.check(st == 422 and isinstance(m, dict) and (m.get("error") or {}).get("field") == "from",
            "metrics: from=notadate -> 422 naming from", ks.got(st, m))
    st, _, m = metrics(srv, "channel=fax")
    t.check(st == 422 and isinstance(m, dict) and (m.get("error") or {}).get("field") == "channel",
            "metrics: channel=fax -> 422 naming channel", ks.got(st, m))
    return {"ta": ta, "tb": tb, "a_rows": a_rows, "b_rows": b_rows, "tag": tag}


def test_response_edges(t, srv, f):
    import json as _json
    import threading
    # the same body re-serialised (other key order, other whitespace) is the same body
    c = new_contact(srv, f)
    key = ks.uniq("ro")
    b1 = '{"client_key": "%s", "contact_id": %d, "answers": {"nps": 8, "grade": 7}}' % (key, c["id"])
    b2 = '{ "answers" : { "grade" : 7 , "nps" : 8 } ,\n "contact_id" : %d , "client_key" : "%s" }' % (c["id"], key)
    st1, _, r1 = srv.post("/api/v1/responses", b1.encode())
    st2, _, r2 = srv.post("/api/v1/responses", b2.encode())
    t.check(st1 == 201 and st2 == 200 and isinstance(r2, dict) and r2.get("id") == r1.get("id"),
            "idempotency: the same body with other key order and whitespace -> 200, same id",
            "first %s\nretry %s" % (ks.got(st1, r1), ks.got(st2, r2)))

    # many identical requests at once: one row, every answer names it
    c2 = new_contact(srv, f)
    key2 = ks.uniq("conc")
    body = {"client_key": key2, "contact_id": c2["id"], "answers": {"nps": 10}}
    out = []
    barrier = threading.Barrier(8)

    def go():
        barrier.wait()
        try:
            st, _, r = srv.post("/api/v1/responses", body)
            out.append((st, r.get("id") if isinstance(r, dict) else r))
        except OSError as ex:
            out.append((repr(ex), None))

    th = [threading.Thread(target=go) for _ in range(8)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    sts = sorted(o[0] for o in out if isinstance(o[0], int))
    ids = {o[1] for o in out}
    t.check(len(sts) == 8 and sts.count(201) == 1 and sts.count(200) == 7 and len(ids) == 1,
            "idempotency: 8 simultaneous identical POSTs -> one 201, seven 200, one id", "got %s" % out)
    t.eq(srv.sql("SELECT count(*) FROM responses WHERE client_key = ?", (key2,))[0][0], 1,
         "idempotency: the simultaneous POSTs stored one row")

    # two different keys racing for one contact: one wins, the other 409
    c3 = new_contact(srv, f)
    out = []
    barrier = threading.Barrier(6)

    def race(i):
        barrier.wait()
        try:
            st, _, r = srv.post("/api/v1/responses", {"client_key": "%s-race-%d" % (key2, i),
                                                      "contact_id": c3["id"], "answers": {"nps": i}})
            out.append(st)
        except OSError as ex:
            out.append(repr(ex))

    th = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    t.check(sorted(out) == [201, 409, 409, 409, 409, 409],
            "contacts: 6 different keys racing for one contact -> one 201, five 409", "got %s" % out)
    t.eq(srv.sql("SELECT count(*) FROM responses WHERE contact_id = ?", (c3["id"],))[0][0], 1,
         "contacts: the race stored one response for the contact")

    # a contact's ties cannot be overridden by the body
    c4 = new_contact(srv, f)
    st, _, r = srv.post("/api/v1/responses", {"contact_id": c4["id"], "employee_id": f["emp2"]["id"],
                                              "channel": "chat", "answers": {"nps": 9}})
    t.check(st == 422 or (st == 201 and r.get("employee_id") == f["emp1"]["id"] and r.get("channel") == "phone"),
            "responses: contact_id with a different employee/channel -> 422, or the contact's values win",
            ks.got(st, r))

    # times: offsets, impossible dates
    st, _, r = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 7},
                                              "received_at": "2026-11-01T11:00:00+01:00"})
    t.check(st == 201 and r.get("received_at") == "2026-11-01T10:00:00Z",
            "responses: received_at with +01:00 is stored as UTC", ks.got(st, r))
    for bad in ("2026-02-30", "2026-13-01T00:00:00Z", "2026-11-01T25:00:00Z", "2026-11-01T10:00:00+25:00"):
        before = resp_count(srv)
        t.error(srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 7},
                                               "received_at": bad}),
                422, None, "received_at", "responses: received_at %s -> 422 naming received_at" % bad)
        t.eq(resp_count(srv), before, "responses: received_at %s stored nothing" % bad)
    st, _, c = srv.post("/api/v1/contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                             "channel": "phone", "occurred_at": "2026-02-29"})
    t.error((st, None, c), 422, None, "occurred_at", "contacts: occurred_at 2026-02-29 (not a leap year) -> 422")

    # an explicit time is kept or refused, never silently replaced; output stays ISO 8601
    st, _, r = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 7},
                                              "received_at": "1970-01-01T00:00:00Z"})
    t.check(st == 422 or (st == 201 and r.get("received_at") == "1970-01-01T00:00:00Z"),
            "responses: received_at 1970-01-01T00:00:00Z -> kept as given, or 422 (not replaced by now)",
            ks.got(st, r))
    st, _, c = srv.post("/api/v1/contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                             "channel": "phone", "occurred_at": "1970-01-01T00:00:00Z"})
    t.check(st == 422 or (st == 201 and c.get("occurred_at") == "1970-01-01T00:00:00Z"),
            "contacts: occurred_at 1970-01-01T00:00:00Z -> kept as given, or 422 (not replaced by now)",
            ks.got(st, c))
    st, _, c = srv.post("/api/v1/contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                             "channel": "phone", "occurred_at": "9999-12-31T23:59:59Z"})
    t.check(st == 422 or (st == 201 and ks.iso_ok(c.get("occurred_at")) and ks.iso_ok(c.get("expires_at"))),
            "contacts: occurred_at 9999-12-31T23:59:59Z -> 422, or ISO 8601 occurred_at/expires_at",
            ks.got(st, c))

    # a long open answer is stored whole or refused, never cut
    long_text = ("Lang verhaal. " * 400)[:5000]
    st, _, r = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"],
                                              "answers": {"nps": 7, "open": long_text}})
    t.check((st == 201 and (r.get("answers") or {}).get("open") == long_text) or st == 422,
            "responses: a 5000-byte open answer -> 201 stored whole, or 422 (never truncated)",
            ks.got(st, r))

    # routes that exist with other methods
    rid = r.get("id") if isinstance(r, dict) and r.get("id") else 1
    for method, path, want in (("PATCH", "/api/v1/responses/%d" % rid, {"GET"}),
                               ("DELETE", "/api/v1/responses/%d" % rid, {"GET"}),
                               ("DELETE", "/api/v1/contacts/%d" % c4["id"], {"GET"}),
                               ("PUT", "/api/v1/responses", {"GET", "POST"}),
                               ("POST", "/api/v1/metrics", {"GET"})):
        st, hd, body = srv.request(method, path, {"x": 1} if method != "DELETE" else None)
        allow = {m.strip().upper() for m in (hd.get("Allow") or "").split(",") if m.strip()}
        t.check(st == 405 and want <= allow and method not in allow,
                "405: %s %s -> 405 with Allow %s" % (method, path, ",".join(sorted(want))),
                "Allow %r\n%s" % (hd.get("Allow"), ks.got(st, body)))
    t.error(srv.get("/api/v1/responses?limit=0"), 422, None, "limit", "responses: list limit=0 -> 422 limit")
    t.error(srv.get("/api/v1/responses?limit=501"), 422, None, "limit", "responses: list limit=501 -> 422 limit")


def test_metrics_extremes(t, srv, f):
    """All promoters / all detractors: NPS +-100 and the interval clipped."""
    tag = ks.uniq("x")
    dept = srv.create("teams", {"name": "Extreme " + tag, "kind": "department", "parent_id": f["org"]["id"]})
    for label, scores in (("promoters", [10, 10, 9, 9, 10]), ("detractors", [0, 1, 2, 3, 6])):
        team = srv.create("teams", {"name": label + tag, "kind": "team", "parent_id": dept["id"]})
        for i, sc in enumerate(scores):
            srv.create("responses", {"client_key": "%s-%s-%d" % (tag, label, i), "team_id": team["id"],
                                     "touchpoint_id": f["tp1"]["id"], "answers": {"nps": sc}})
        st, _, m = metrics(srv, "team_id=%d" % team["id"])
        P = sum(1 for x in scores if x >= 9)
        D = sum(1 for x in scores if x <= 6)
        low, high, margin = wald(P, D, len(scores))
        nps = (m.get("nps") or {}) if isinstance(m, dict) else {}
        want_v = 100.0 if label == "promoters" else -100.0
        t.near(nps.get("value"), want_v, 0.05, "metrics all %s: value %.0f" % (label, want_v))
        t.near(nps.get("low"), low, 0.1, "metrics all %s: low %.1f" % (label, low))
        t.near(nps.get("high"), high, 0.1, "metrics all %s: high %.1f" % (label, high))
        t.check(isinstance(nps.get("low"), (int, float)) and isinstance(nps.get("high"), (int, float))
                and -100 <= nps["low"] <= nps["high"] <= 100,
                "metrics all %s: interval within [-100, 100]" % label, ks.short(nps))
        t.near(nps.get("margin"), margin, 0.1, "metrics all %s: margin %.1f (before clipping)" % (label, margin))
        t.check(m.get("grade") is None and m.get("ces") is None if isinstance(m, dict) else False,
                "metrics all %s: no grade/ces answers -> no grade/ces scores" % label, ks.short(m))


# ---------------------------------------------------------------------------
# database


def test_db(t, srv, f, rs, ms):
    rows = srv.sql("SELECT id, client_key, contact_id, customer_id, employee_id, team_id, touchpoint_id,"
                   " survey_id, channel, language, nps, grade, ces, open_text, source FROM responses"
                   " WHERE id = ?", (rs["first"]["id"],))
    want = (rs["first"]["id"], rs["key"], rs["first"]["contact_id"], f["cust_nl"]["id"], f["emp1"]["id"],
            f["team"]["id"], f["tp1"]["id"], f["survey"]["id"], "phone", "nl", 9, 8, 6, "Prima geholpen")
    t.eq(rows[0][:14] if rows else None, want,
         "db: the contact's response row holds the tied fields, survey and scores")
    drv = srv.sql("SELECT aspect, score FROM response_drivers WHERE response_id = ?", (rs["first"]["id"],))
    t.eq(drv, [("snelheid", 7)], "db: the driver score is in response_drivers")
    n_api = srv.count("responses")
    n_db = srv.sql("SELECT count(*) FROM responses")[0][0]
    t.eq(n_db, n_api, "db: responses row count matches the API list")
    dup = srv.sql("SELECT client_key, count(*) FROM responses WHERE client_key IS NOT NULL"
                  " GROUP BY client_key HAVING count(*) > 1")
    t.eq(dup, [], "db: no client_key stored twice")
    per_contact = srv.sql("SELECT count(*) FROM responses WHERE contact_id = ?", (rs["first"]["contact_id"],))
    t.eq(per_contact[0][0], 1, "db: one response for the answered contact")
    a = srv.sql("SELECT count(*), sum(nps >= 9), sum(nps <= 6) FROM responses WHERE team_id = ?",
                (ms["ta"]["id"],))[0]
    t.eq(tuple(a), (11, 6, 2), "db: team A has 11 responses, 6 promoters, 2 detractors")
    rec = srv.sql("SELECT received_at FROM responses WHERE client_key = ?", (ms["tag"] + "-field-0",))
    t.eq(rec[0][0] if rec else None, 1744243200, "db: received_at 2025-04-10T00:00:00Z stored as unix seconds")


def sql_counts(srv, team_id=None):
    """n, nps_n, promoters, detractors straight from the file; team_id rolls up."""
    if team_id is None:
        where, args = "", ()
    else:
        where = (" WHERE team_id IN (WITH RECURSIVE sub(id) AS (SELECT ? UNION ALL"
                 " SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub)")
        args = (team_id,)
    return tuple(srv.sql("SELECT count(*), count(nps), coalesce(sum(nps >= 9), 0), coalesce(sum(nps <= 6), 0)"
                         " FROM responses" + where, args)[0])


def test_consistency(t, srv, f, ms, label):
    """Metrics agree with the rows in the file, overall and per unit."""
    units = [("all", None), ("org", f["org"]["id"]), ("fixture team", f["team"]["id"]),
             ("team A", ms["ta"]["id"]), ("team B", ms["tb"]["id"])]
    for name, uid in units:
        n, nps_n, P, D = sql_counts(srv, uid)
        st, _, m = metrics(srv, "" if uid is None else "team_id=%d" % uid)
        ok = st == 200 and isinstance(m, dict) and m.get("n") == n
        if ok and not m.get("insufficient") and nps_n:
            nps = m.get("nps") or {}
            ok = nps.get("n") == nps_n and abs(nps.get("value", 1e9) - (P - D) * 100.0 / nps_n) <= 0.05
        t.check(ok, "%s: metrics for %s agree with the file (n=%d, nps n=%d P=%d D=%d)"
                % (label, name, n, nps_n, P, D), ks.got(st, m))


def main(t, srv):
    f = ks.base_fixture(srv)
    contact = test_contacts(t, srv, f)
    rs = test_responses(t, srv, f, contact)
    ms = test_metrics(t, srv, f)
    test_response_edges(t, srv, f)
    test_metrics_extremes(t, srv, f)
    test_db(t, srv, f, rs, ms)
    test_consistency(t, srv, f, ms, "consistency")
    srv.stop()
    srv.start()
    test_consistency(t, srv, f, ms, "consistency after restart")
    # after a clean stop, the file alone holds the same
    n_api = srv.count("responses")
    srv.stop()
    t.eq(srv.sql("SELECT count(*) FROM responses")[0][0], n_api,
         "db after SIGTERM: every response is in the file")
    t.eq(srv.sql("PRAGMA integrity_check")[0][0], "ok", "db after SIGTERM: integrity_check ok")


if __name__ == "__main__":
    ks.run(main)
