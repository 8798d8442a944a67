#!/usr/bin/python3
"""Contact events, responses (idempotency, conflicts, validation) and metrics
(NPS with its adjusted-Wald interval, grade, CES, filters, minimum n), checked
against docs/API.md and shared/DOMAIN.md, and against the database file."""

import math
import os
import sys
import time
import urllib.parse

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
        ({"answers": {}}, "invalid", "answers", "no answers"),
        ({"answers": None}, "invalid", "answers", "answers null"),
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
    t.error(srv.post("/api/v1/responses", b), 422, "invalid", "answers",
            "responses: answers missing -> 422 invalid naming answers")
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
    # issue 14: GET adds the text analysis (test_text_store.py checks it)
    gg = {k: v for k, v in g.items() if k != "analysis"} if isinstance(g, dict) else g
    t.check(st == 200 and gg == r and isinstance(g.get("analysis"), dict),
            "responses: GET /responses/{id} -> 200, the stored response (plus its analysis)",
            "expected %s\n%s" % (ks.short(r), ks.got(st, g)))
    t.error(srv.get("/api/v1/responses/999999"), 404, "not_found", None, "responses: GET unknown id -> 404")
    all_items = srv.list_all("responses")
    ids = [i.get("id") for i in all_items]
    st, _, p1 = srv.get("/api/v1/responses?limit=2")
    st2, _, p2 = srv.get("/api/v1/responses?limit=2&cursor=%s" % (p1.get("next_cursor") if isinstance(p1, dict) else ""))
    got_ids = [i.get("id") for i in (p1.get("items", []) + p2.get("items", []))] \
        if isinstance(p1, dict) and isinstance(p2, dict) else None
    t.check(st == 200 and st2 == 200 and got_ids == ids[:4] and len(ids) == n0 + 6,
            "responses: list pages with limit=2 and cursor follow id order (the 6 stored above)",
            "all %s\npages %s" % (ids, got_ids))
    t.check(r["id"] in ids and ids == sorted(ids), "responses: list holds the response, ordered by id",
            "ids %s" % ids)
    return {"first": r, "key": key, "direct": d, "contact2": c2, "hkey": hkey, "ok3": ok3, "c3": c3}


# ---------------------------------------------------------------------------
# metrics


def wald(P, D, n):
    """Adjusted-Wald interval of the NPS (Rocks 2016), independently computed:
    (low, high, margin) as doubles; ks.adjusted_wald does the arithmetic."""
    adj, margin, _ = ks.adjusted_wald(P, D, n)
    return max(-100.0, adj - margin), min(100.0, adj + margin), margin


def expect_metrics(rows):
    """rows: list of (nps, grade, ces) with None for unanswered -> ks.Counts."""
    return ks.counts_of(rows)


def check_metrics(t, got_m, c, label, min_n=5):
    """Every printed figure of a slice that must be shown whole (no measure
    hidden): exactly the digits of the one rounding rule on the exact
    counts (ks.cell_json), field by field."""
    if not isinstance(got_m, dict):
        t.check(False, "%s: metrics body is an object" % label, ks.short(got_m))
        return
    want = ks.cell_json(c, min_n)
    t.eq(got_m.get("n"), c.n, "%s: n" % label)
    t.check(got_m.get("insufficient") is False, "%s: not marked insufficient" % label, ks.short(got_m))
    t.check(isinstance(got_m.get("filter"), dict), "%s: has a filter object" % label, ks.short(got_m))
    t.eq(got_m.get("hidden"), [], "%s: no measure hidden" % label)
    nps = got_m.get("nps") or {}
    en = want["nps"]
    t.eq(nps.get("n"), en["n"], "%s: nps.n" % label)
    for k in ("promoters", "passives", "detractors"):
        t.eq(nps.get(k), en[k], "%s: nps.%s share = %s (whole percent, half away from zero)" % (label, k, en[k]))
    t.eq(nps.get("value"), en["value"], "%s: nps.value (plain NPS) = %s" % (label, en["value"]))
    t.eq(nps.get("low"), en["low"], "%s: nps.low (adjusted Wald) = %s" % (label, en["low"]))
    t.eq(nps.get("high"), en["high"], "%s: nps.high (adjusted Wald) = %s" % (label, en["high"]))
    t.eq(nps.get("margin"), en["margin"], "%s: nps.margin = %s" % (label, en["margin"]))
    g = got_m.get("grade") or {}
    eg = want["grade"]
    t.eq(g.get("n"), eg["n"], "%s: grade.n" % label)
    t.eq(g.get("mean"), eg["mean"], "%s: grade.mean = %s" % (label, eg["mean"]))
    t.eq(g.get("share_7plus"), eg["share_7plus"], "%s: grade.share_7plus = %s" % (label, eg["share_7plus"]))
    t.eq(g.get("share_9plus"), eg["share_9plus"], "%s: grade.share_9plus = %s" % (label, eg["share_9plus"]))
    lo, hi = g.get("low"), g.get("high")
    t.check(lo == eg["low"] and hi == eg["high"] and lo < eg["mean"] < hi,
            "%s: grade low %s < mean < high %s" % (label, eg["low"], eg["high"]), ks.short(g))
    cc = got_m.get("ces") or {}
    ec = want["ces"]
    t.eq(cc.get("n"), ec["n"], "%s: ces.n" % label)
    t.eq(cc.get("mean"), ec["mean"], "%s: ces.mean = %s" % (label, ec["mean"]))
    t.eq(cc.get("share_5plus"), ec["share_5plus"], "%s: ces.share_5plus = %s" % (label, ec["share_5plus"]))
    t.eq(got_m.get("min_n"), min_n, "%s: min_n %d" % (label, min_n))
    t.eq(ks.cell_of(got_m), want, "%s: the whole cell equals the exact recomputation" % label)


def check_insufficient(t, got_m, n, min_n, label):
    ok = isinstance(got_m, dict) and got_m.get("insufficient") is True and got_m.get("n") == n \
        and got_m.get("min_n") == min_n and not any(k in got_m for k in ("nps", "grade", "ces", "hidden"))
    t.check(ok, "%s: n=%d < min_n=%d -> insufficient, no scores" % (label, n, min_n), ks.short(got_m))


def metrics(srv, query):
    return srv.get("/api/v1/metrics?" + query)


def check_filter(t, m, period, frm, to, label):
    """The filter echo: period label, time zone, from/to as local ISO times."""
    f = m.get("filter") if isinstance(m, dict) else None
    got_f = {k: (f or {}).get(k) for k in ("period", "time_zone", "from", "to")}
    t.eq(got_f, {"period": period, "time_zone": "Europe/Amsterdam", "from": frm, "to": to},
         "%s: filter echoes period, time_zone and local from/to" % label)


def post_rows(srv, f, tag, rows, team, emps, tp, channel, day0, step=DAY):
    """Post rows (nps, grade, ces) at day0 + i * step; emps: one employee
    row or a list to take in turn."""
    emps = emps if isinstance(emps, list) else [emps]
    for i, (nps, grade, ces) in enumerate(rows):
        answers = {k: v for k, v in (("nps", nps), ("grade", grade), ("ces", ces)) if v is not None}
        b = {"client_key": "%s-%s-%d" % (tag, channel, i), "touchpoint_id": tp["id"],
             "team_id": team["id"], "customer_id": f["cust_nl"]["id"],
             "channel": channel, "received_at": ks.iso(day0 + i * step), "answers": answers}
        emp = emps[i % len(emps)]
        if emp:
            b["employee_id"] = emp["id"]
        srv.create("responses", b)


def test_metrics(t, srv, f):
    """On a server of its own (srv2): team- and person-level figures are
    read from one canonical table of the whole organisation, where a small
    cell anywhere (the base fixture's one answer in a month) can hide a
    sibling to protect it. This fixture is built so that every unit cell
    either passes its threshold or is protected by a hidden sibling, and
    both teams checked for their values pass."""
    tag = ks.uniq("m")
    dept = srv.create("teams", {"name": "Metrics dept " + tag, "kind": "department",
                                "parent_id": f["org"]["id"]})
    ta = srv.create("teams", {"name": "Team A " + tag, "kind": "team", "parent_id": dept["id"]})
    tb = srv.create("teams", {"name": "Team B " + tag, "kind": "team", "parent_id": dept["id"]})
    ea = srv.create("employees", {"team_id": ta["id"], "first_name": "Anna", "last_name": "A"})
    eb = srv.create("employees", {"team_id": tb["id"], "first_name": "Bram", "last_name": "B"})
    eb2 = srv.create("employees", {"team_id": tb["id"], "first_name": "Bea", "last_name": "B"})
    ja = srv.create("journeys", {"name": "Journey A " + tag})
    jb = srv.create("journeys", {"name": "Journey B " + tag})
    tpa = srv.create("touchpoints", {"journey_id": ja["id"], "name": "TP A", "survey_id": f["survey"]["id"]})
    tpb = srv.create("touchpoints", {"journey_id": jb["id"], "name": "TP B", "survey_id": f["survey"]["id"]})

    # Team A: 6 promoters, 2 passives, 2 detractors -> NPS 40; one more with CES only.
    a_rows = [(9, 8, 7), (10, 9, 6), (9, 7, 5), (10, 10, 4), (9, 6, 7), (9, 8, 6),
              (7, 9, 3), (8, 7, 5), (3, 5, 6), (6, 8, 7), (None, None, 2)]
    # Team B: 5 responses on 2025-04-10 .. 14 (02:00 local), from two employees
    # (Bram 3, Bea 2), so the team's cell is a group's (min_n 5), not a person's.
    b_rows = [(0, 3, 1), (5, 6, 2), (10, 9, 7), (8, 7, 5), (9, 10, 6)]

    import calendar
    a0 = calendar.timegm((2025, 3, 1, 9, 0, 0))
    b0 = calendar.timegm((2025, 4, 10, 0, 0, 0))
    post_rows(srv, f, tag, a_rows, ta, ea, tpa, "shop", a0)
    post_rows(srv, f, tag, b_rows, tb, [eb, eb2], tpb, "field", b0)

    exp_a = expect_metrics(a_rows)
    t.check(exp_a.nps_n and 100 * (exp_a.p - exp_a.d) == 40 * exp_a.nps_n,
            "metrics: (test's own data) team A NPS is 40")
    st, _, m = metrics(srv, "team_id=%d" % ta["id"])
    t.check(st == 200, "metrics: GET ?team_id=A -> 200", ks.got(st, m))
    # every answer of team A comes from Anna: a person's cell (any slice)
    check_metrics(t, m, exp_a, "metrics team A (all answers from one employee: min_n 10)", 10)

    exp_b = expect_metrics(b_rows)
    st, _, m = metrics(srv, "team_id=%d" % tb["id"])
    check_metrics(t, m, exp_b, "metrics team B (two employees, n=5 = min_n)", 5)

    exp_d = expect_metrics(a_rows + b_rows)
    st, _, m = metrics(srv, "team_id=%d" % dept["id"])
    check_metrics(t, m, exp_d, "metrics department (rolls up teams A and B)")
    st, _, m = metrics(srv, "team_id=%d" % f["org"]["id"])
    t.check(st == 200 and isinstance(m, dict) and m.get("n") == len(a_rows) + len(b_rows)
            + srv.sql("SELECT count(*) FROM responses WHERE team_id = ?", (f["team"]["id"],))[0][0],
            "metrics: organisation rolls up every unit below it",
            ks.got(st, m))

    st, _, m = metrics(srv, "employee_id=%d" % ea["id"])
    check_metrics(t, m, exp_a, "metrics employee A (n=11 >= 10)", 10)
    st, _, m = metrics(srv, "employee_id=%d" % eb["id"])
    check_insufficient(t, m, 3, 10, "metrics employee B")
    st, _, m = metrics(srv, "team_id=%d&group_by=employee" % tb["id"])
    rows = m.get("rows", []) if st == 200 else []
    t.check(st == 200 and sorted((r["employee"]["id"], r["n"], r["min_n"], r["insufficient"]) for r in rows)
            == sorted([(eb["id"], 3, 10, True), (eb2["id"], 2, 10, True)])
            and ks.cell_of(m) == ks.cell_json(exp_b, 5),
            "metrics team B by employee: both people below 10 are insufficient, the team's total is shown (min_n 5)",
            ks.got(st, m))

    st, _, m = metrics(srv, "touchpoint_id=%d" % tpb["id"])
    check_metrics(t, m, exp_b, "metrics touchpoint B (n=5 = min_n)")
    st, _, m = metrics(srv, "journey_id=%d" % jb["id"])
    check_metrics(t, m, exp_b, "metrics journey B")
    st, _, m = metrics(srv, "journey_id=%d" % ja["id"])
    check_metrics(t, m, exp_a, "metrics journey A (one employee: min_n 10)", 10)
    st, _, m = metrics(srv, "channel=field")
    check_metrics(t, m, exp_b, "metrics channel=field")
    st, _, m = metrics(srv, "channel=shop&team_id=%d" % dept["id"])
    check_metrics(t, m, exp_a, "metrics channel=shop within the department (one employee: min_n 10)", 10)

    # periods: whole local days, weeks, months, quarters, years
    st, _, m = metrics(srv, "team_id=%d&from=2025-04-01&to=2025-05-01" % dept["id"])
    check_metrics(t, m, exp_b, "metrics department in April 2025")
    check_filter(t, m, "2025-04", "2025-04-01T00:00:00+02:00", "2025-05-01T00:00:00+02:00",
                 "metrics department from/to = April 2025")
    st, _, m2 = metrics(srv, "team_id=%d&period=2025-04" % dept["id"])
    t.check(st == 200 and isinstance(m, dict) and ks.cell_of(m2) == ks.cell_of(m),
            "metrics department period=2025-04 = from/to of that month", ks.got(st, m2))
    check_filter(t, m2, "2025-04", "2025-04-01T00:00:00+02:00", "2025-05-01T00:00:00+02:00",
                 "metrics department period=2025-04")
    st, _, m = metrics(srv, "team_id=%d&period=2025-04" % tb["id"])
    check_metrics(t, m, exp_b, "metrics team B period=2025-04 (a whole month: allowed for a team)")
    t.error(metrics(srv, "team_id=%d&from=2025-04-11&to=2025-04-13" % tb["id"]), 422, "invalid", "from",
            "metrics: team B 11..13 April (two days, no whole period) -> 422 naming from")
    t.error(metrics(srv, "team_id=%d&from=2025-04-11&to=2025-04-13" % dept["id"]), 422, "invalid", "from",
            "metrics: department 11..13 April (two days, no whole period) -> 422 naming from")
    t.error(metrics(srv, "team_id=%d&from=2025-04-11&to=2025-04-12" % tb["id"]), 422, "invalid", "period",
            "metrics: team B on one whole day -> 422 naming period (team figures per month, quarter, year)")
    t.error(metrics(srv, "team_id=%d&period=2025-W15" % tb["id"]), 422, "invalid", "period",
            "metrics: team B per ISO week -> 422 naming period")
    t.error(metrics(srv, "employee_id=%d&period=last_30d" % ea["id"]), 422, "invalid", "period",
            "metrics: an employee over last_30d -> 422 naming period")
    t.error(metrics(srv, "team_id=%d&group_by=day" % ta["id"]), 422, "invalid", "group_by",
            "metrics: team A grouped by day -> 422 naming group_by")
    t.error(srv.get("/api/v1/metrics/trend?interval=week&team_id=%d" % ta["id"]), 422, "invalid", "interval",
            "metrics/trend: team A per week -> 422 naming interval")
    t.error(metrics(srv, "team_id=%d&from=2025-04-11&to=2025-04-12" % dept["id"]), 422, "invalid", "period",
            "metrics: department on the whole local day 2025-04-11 -> 422 naming period (no days, at any level)")
    t.error(metrics(srv, "team_id=%d&period=2025-04-11" % dept["id"]), 422, "invalid", "period",
            "metrics: department period=2025-04-11 -> 422 naming period")
    st, _, march = metrics(srv, "team_id=%d&period=2025-03" % dept["id"])
    st2, _, m = metrics(srv, "team_id=%d&from=2025-03-01T00:00:00&to=2025-04-01T00:00:00" % dept["id"])
    t.check(st == 200 and st2 == 200 and ks.cell_of(m) == ks.cell_of(march) and march.get("n") == len(a_rows),
            "metrics: from/to as local wall-clock times of March 2025 give the cell of period=2025-03 (team A's %d)"
            % len(a_rows), ks.got(st2, m))
    check_filter(t, m, "2025-03", "2025-03-01T00:00:00+01:00", "2025-04-01T00:00:00+02:00",
                 "metrics department from/to = March 2025 (wall clock)")
    st, _, m = metrics(srv, "team_id=%d&from=2025-03-01T00:00:00%%2B01:00&to=2025-04-01T00:00:00%%2B02:00"
                       % dept["id"])
    t.check(st == 200 and ks.cell_of(m) == ks.cell_of(march),
            "metrics: from/to with offsets (+01:00, +02:00) naming March's local midnights -> that month",
            ks.got(st, m))
    t.error(metrics(srv, "team_id=%d&from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z" % dept["id"]),
            422, "invalid", "from", "metrics: UTC midnights are no local day -> 422 naming from")
    t.error(metrics(srv, "team_id=%d&from=2025-03-01T09:00:00Z&to=2025-03-06T09:00:00Z" % dept["id"]),
            422, "invalid", "from", "metrics: an arbitrary window of 5 days -> 422 naming from")
    t.error(metrics(srv, "team_id=%d&to=2025-01-01" % dept["id"]), 422, "invalid", "from",
            "metrics: to without from -> 422 naming from (the missing one)")
    t.error(metrics(srv, "team_id=%d&from=2025-01-01" % dept["id"]), 422, "invalid", "to",
            "metrics: from without to -> 422 naming to (the missing one)")
    st, _, m = metrics(srv, "team_id=%d&period=2024" % dept["id"])
    check_insufficient(t, m, 0, 5, "metrics before any response (period=2024)")

    # An id filter naming no row is a bad reference (docs/API.md, Filters): a
    # 422 naming it, not an empty slice that reads as "no responses yet".
    for param in ("team_id", "employee_id", "touchpoint_id", "journey_id"):
        t.error(metrics(srv, "%s=999999" % param), 422, "unknown_reference", param,
                "metrics: %s=999999 (no such row) -> 422 unknown_reference naming %s" % (param, param))
    t.error(srv.get("/api/v1/metrics/trend?team_id=999999"), 422, "unknown_reference", "team_id",
            "metrics/trend: team_id=999999 -> 422 unknown_reference naming team_id")
    t.error(metrics(srv, "from=notadate&to=2025-05-01"), 422, "invalid", "from",
            "metrics: from=notadate -> 422 naming from")
    t.error(metrics(srv, "from=notadate"), 422, "invalid", "to",
            "metrics: from=notadate alone -> 422 naming to (the missing one)")
    st, _, m = metrics(srv, "channel=fax")
    t.check(st == 422 and isinstance(m, dict) and (m.get("error") or {}).get("field") == "channel",
            "metrics: channel=fax -> 422 naming channel", ks.got(st, m))
    test_protecting_hide(t, srv, f, tpa, ta, exp_a)
    return {"ta": ta, "tb": tb, "dept": dept, "a_rows": a_rows, "b_rows": b_rows, "tag": tag}


def test_protecting_hide(t, srv, f, tp, ta, exp_a):
    """A department with a big team (8 answers, two employees) and a small
    one (2 answers, one employee): the small team is hidden by the minimum n,
    and the big one is hidden too, or the department minus the big team
    would give the small team's figures away. The department itself stays
    visible; team A elsewhere is not touched. When the small team's answers
    name no employee they give no one away: then nothing is hidden to
    protect them (docs/PRIVACY.md)."""
    tag = ks.uniq("p")
    dept = srv.create("teams", {"name": "Protect dept " + tag, "kind": "department", "parent_id": f["org"]["id"]})
    big = srv.create("teams", {"name": "Big " + tag, "kind": "team", "parent_id": dept["id"]})
    small = srv.create("teams", {"name": "Small " + tag, "kind": "team", "parent_id": dept["id"]})
    e1 = srv.create("employees", {"team_id": big["id"], "first_name": "Piet", "last_name": "P"})
    e2 = srv.create("employees", {"team_id": big["id"], "first_name": "Kees", "last_name": "K"})
    e3 = srv.create("employees", {"team_id": small["id"], "first_name": "Joke", "last_name": "J"})
    import calendar
    t0 = calendar.timegm((2025, 6, 2, 9, 0, 0))
    big_rows = [(10, None, None), (9, None, None), (8, None, None), (3, None, None), (10, None, None),
                (9, None, None), (7, None, None), (6, None, None)]
    small_rows = [(2, None, None), (10, None, None)]
    post_rows(srv, f, tag + "b", big_rows, big, [e1, e2], tp, "phone", t0, 3600)
    post_rows(srv, f, tag + "s", small_rows, small, [e3], tp, "phone", t0, 3600)
    cb, cs = expect_metrics(big_rows), expect_metrics(small_rows)
    st, _, m = metrics(srv, "team_id=%d" % small["id"])
    check_insufficient(t, m, 2, 10, "protect: the small team (n=2, one employee: a person's cell)")
    st, _, m = metrics(srv, "team_id=%d" % big["id"])
    t.check(st == 200 and ks.cell_of(m) == ks.cell_json(cb, 5, ["nps"]),
            "protect: the big team (n=8 >= 5) is hidden to protect its small sibling (nps null, hidden [nps])",
            ks.got(st, m))
    st, _, m = metrics(srv, "team_id=%d&group_by=team" % dept["id"])
    rows = {r["team"]["id"]: r for r in m.get("rows", [])} if st == 200 else {}
    t.check(st == 200 and ks.cell_of(rows.get(big["id"])) == ks.cell_json(cb, 5, ["nps"])
            and ks.cell_of(rows.get(small["id"])) == ks.cell_json(cs, 10)
            and ks.cell_of(m) == ks.cell_json(expect_metrics(big_rows + small_rows), 5),
            "protect: by team, both teams hidden and the department shown (no line with one hidden cell)",
            ks.got(st, m))
    st, _, m = metrics(srv, "team_id=%d&period=2025-06" % big["id"])
    t.check(st == 200 and ks.cell_of(m) == ks.cell_json(cb, 5, ["nps"]),
            "protect: the big team's June 2025 is hidden as well (the same cell in every reply)", ks.got(st, m))
    st, _, m = metrics(srv, "team_id=%d" % ta["id"])
    t.check(st == 200 and ks.cell_of(m) == ks.cell_json(exp_a, 10),
            "protect: team A in another department is still shown", ks.got(st, m))
    # the same shape, but the small team's answers name no employee
    dept2 = srv.create("teams", {"name": "Anon dept " + tag, "kind": "department", "parent_id": f["org"]["id"]})
    big2 = srv.create("teams", {"name": "Big2 " + tag, "kind": "team", "parent_id": dept2["id"]})
    anon = srv.create("teams", {"name": "Anon " + tag, "kind": "team", "parent_id": dept2["id"]})
    e4 = srv.create("employees", {"team_id": big2["id"], "first_name": "Wim", "last_name": "W"})
    e5 = srv.create("employees", {"team_id": big2["id"], "first_name": "Ria", "last_name": "R"})
    post_rows(srv, f, tag + "b2", big_rows, big2, [e4, e5], tp, "phone", t0, 3600)
    post_rows(srv, f, tag + "a2", small_rows, anon, None, tp, "phone", t0, 3600)
    st, _, m = metrics(srv, "team_id=%d&group_by=team" % dept2["id"])
    rows = {r["team"]["id"]: r for r in m.get("rows", [])} if st == 200 else {}
    t.check(st == 200 and ks.cell_of(rows.get(big2["id"])) == ks.cell_json(cb, 5)
            and ks.cell_of(rows.get(anon["id"])) == ks.cell_json(cs, 5),
            "protect: a small team whose answers name no one is hidden (n=2 < 5) but protects no one: "
            "its big sibling stays shown", ks.got(st, m))


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

    # a contact's ties cannot be given in the body (docs/API.md, Responses):
    # with contact_id, any of touchpoint_id, employee_id, team_id,
    # customer_id, channel -> 422 invalid naming the first of them in that
    # order; nothing stored, the contact still answerable with its own ties
    ties = [({"employee_id": f["emp2"]["id"], "channel": "chat"}, "employee_id", "a different employee and channel"),
            ({"channel": "chat"}, "channel", "a different channel"),
            ({"team_id": f["dept"]["id"]}, "team_id", "a different team"),
            ({"customer_id": f["cust_en"]["id"]}, "customer_id", "a different customer"),
            ({"touchpoint_id": f["tp2"]["id"]}, "touchpoint_id", "a different touchpoint"),
            ({"touchpoint_id": f["tp1"]["id"], "employee_id": f["emp1"]["id"]}, "touchpoint_id",
             "the contact's own touchpoint and employee restated")]
    for extra, field, what in ties:
        c4 = new_contact(srv, f)
        b = dict(extra, contact_id=c4["id"], answers={"nps": 9})
        t.error(srv.post("/api/v1/responses", b), 422, "invalid", field,
                "responses: contact_id with %s -> 422 invalid naming %s" % (what, field))
        t.eq(srv.sql("SELECT count(*) FROM responses WHERE contact_id = ?", (c4["id"],))[0][0], 0,
             "responses: contact_id with %s stored nothing for the contact" % what)
    st, _, r = srv.post("/api/v1/responses", {"contact_id": c4["id"], "answers": {"nps": 9}})
    t.eq((st, {k: r.get(k) for k in ("employee_id", "channel", "team_id", "touchpoint_id", "customer_id")}
          if isinstance(r, dict) else r),
         (201, {"employee_id": f["emp1"]["id"], "channel": "phone", "team_id": f["team"]["id"],
                "touchpoint_id": f["tp1"]["id"], "customer_id": f["cust_nl"]["id"]}),
         "responses: after the refusals the contact is answered with its own ties (201)")

    # times: offsets, impossible dates
    st, _, r = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 7},
                                              "received_at": "2026-11-01T11:00:00+01:00"})
    t.check(st == 201 and r.get("received_at") == "2026-11-01T10:00:00Z",
            "responses: received_at with +01:00 is stored as UTC", ks.got(st, r))
    for bad in ("2026-02-30", "2026-13-01T00:00:00Z", "2026-11-01T25:00:00Z", "2026-11-01T10:00:00+25:00"):
        before = resp_count(srv)
        t.error(srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 7},
                                               "received_at": bad}),
                422, "invalid", "received_at", "responses: received_at %s -> 422 invalid naming received_at" % bad)
        t.eq(resp_count(srv), before, "responses: received_at %s stored nothing" % bad)
    st, _, c = srv.post("/api/v1/contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                             "channel": "phone", "occurred_at": "2026-02-29"})
    t.error((st, None, c), 422, "invalid", "occurred_at",
            "contacts: occurred_at 2026-02-29 (not a leap year) -> 422 invalid naming occurred_at")

    # An explicit time is kept or refused, never silently replaced: event
    # times lie in 2000-01-01T00:00:00Z .. 2099-12-31T23:59:59Z (UTC, after
    # the offset is applied); outside -> 422 out_of_range naming the field,
    # nothing stored (docs/API.md, Contact events).
    cbase = {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"], "channel": "phone"}
    for when in ("1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2000-01-01T00:59:59+01:00",
                 "2100-01-01T00:00:00Z", "2099-12-31T23:59:59-01:00", "9999-12-31T23:59:59Z"):
        before = resp_count(srv)
        t.error(srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 7},
                                               "received_at": when}),
                422, "out_of_range", "received_at",
                "responses: received_at %s (outside 2000..2099) -> 422 out_of_range naming received_at" % when)
        t.eq(resp_count(srv), before, "responses: received_at %s stored nothing" % when)
        before = contact_count(srv)
        t.error(srv.post("/api/v1/contacts", dict(cbase, occurred_at=when)), 422, "out_of_range", "occurred_at",
                "contacts: occurred_at %s (outside 2000..2099) -> 422 out_of_range naming occurred_at" % when)
        t.eq(contact_count(srv), before, "contacts: occurred_at %s stored nothing" % when)
    for when, stored, expires in (("2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z", "2000-01-15T00:00:00Z"),
                                  ("2000-01-01T01:00:00+01:00", "2000-01-01T00:00:00Z", "2000-01-15T00:00:00Z"),
                                  ("2099-12-31T23:59:59Z", "2099-12-31T23:59:59Z", "2100-01-14T23:59:59Z")):
        st, _, r = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 7},
                                                  "received_at": when})
        t.eq((st, r.get("received_at") if isinstance(r, dict) else r), (201, stored),
             "responses: received_at %s (inside the range) -> 201, kept as %s" % (when, stored))
        st, _, c = srv.post("/api/v1/contacts", dict(cbase, occurred_at=when))
        t.eq((st, c.get("occurred_at"), c.get("expires_at")) if isinstance(c, dict) else (st, c),
             (201, stored, expires),
             "contacts: occurred_at %s -> 201, kept as %s, expires %s" % (when, stored, expires))

    # A long open answer is refused, never cut: at most 2,000 characters
    # (code points) and 4,000 bytes; over either -> 422 out_of_range naming
    # answers.open, nothing stored; at the limits it is stored whole.
    for text, what in ((("Lang verhaal. " * 400)[:5000], "5000 ASCII characters"),
                       ("x" * 2001, "2001 ASCII characters"),
                       ("😀" * 1001, "1001 emoji (4004 bytes)"),
                       ("é" * 2001, "2001 x e-acute (4002 bytes)")):
        before = resp_count(srv)
        t.error(srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"],
                                               "answers": {"nps": 7, "open": text}}),
                422, "out_of_range", "answers.open", "responses: an open answer of %s -> 422 naming answers.open" % what)
        t.eq(resp_count(srv), before, "responses: the over-long open answer (%s) stored nothing" % what)
    rid = None
    for text, what in ((("Lang verhaal. " * 400)[:2000], "exactly 2000 ASCII characters"),
                       ("é" * 2000, "2000 x e-acute (2000 characters, 4000 bytes)"),
                       ("😀" * 1000, "1000 emoji (4000 bytes)")):
        st, _, r = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"],
                                                  "answers": {"nps": 7, "open": text}})
        ok = st == 201 and isinstance(r, dict) and isinstance(r.get("id"), int)
        t.check(ok and (r.get("answers") or {}).get("open") == text,
                "responses: an open answer of %s -> 201, returned whole" % what,
                ks.got(st, ks.short(r, 300)))
        stored = srv.sql("SELECT open_text FROM responses WHERE id = ?", (r["id"],)) if ok else None
        t.eq(stored, [(text,)], "db: the open answer of %s is stored whole" % what)
        rid = rid or (r["id"] if ok else None)
    if rid is None:
        rid = srv.create("responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 7}})["id"]

    # routes that exist with other methods
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
    t.error(srv.get("/api/v1/responses?limit=0"), 422, "out_of_range", "limit",
            "responses: list limit=0 -> 422 out_of_range naming limit")
    t.error(srv.get("/api/v1/responses?limit=501"), 422, "out_of_range", "limit",
            "responses: list limit=501 -> 422 out_of_range naming limit")


def test_metrics_extremes(t, srv, f):
    """All promoters / all detractors: NPS +-100 and the interval clipped.
    The answers are from a past month: team figures count up to the start
    of today."""
    import calendar
    tag = ks.uniq("x")
    dept = srv.create("teams", {"name": "Extreme " + tag, "kind": "department", "parent_id": f["org"]["id"]})
    t0 = calendar.timegm((2025, 9, 1, 10, 0, 0))
    for label, scores in (("promoters", [10, 10, 9, 9, 10]), ("detractors", [0, 1, 2, 3, 6])):
        team = srv.create("teams", {"name": label + tag, "kind": "team", "parent_id": dept["id"]})
        for i, sc in enumerate(scores):
            srv.create("responses", {"client_key": "%s-%s-%d" % (tag, label, i), "team_id": team["id"],
                                     "touchpoint_id": f["tp1"]["id"], "answers": {"nps": sc},
                                     "received_at": ks.iso(t0 + i * 60)})
        st, _, m = metrics(srv, "team_id=%d" % team["id"])
        c = expect_metrics([(s, None, None) for s in scores])
        want = ks.cell_json(c, 5)
        P = sum(1 for x in scores if x >= 9)
        D = sum(1 for x in scores if x <= 6)
        low, high, margin = wald(P, D, len(scores))
        nps = (m.get("nps") or {}) if isinstance(m, dict) else {}
        want_v = 100.0 if label == "promoters" else -100.0
        t.eq(nps.get("value"), want_v, "metrics all %s: value %.1f" % (label, want_v))
        t.eq(nps.get("low"), ks.num_double(low, 1), "metrics all %s: low %s" % (label, ks.text_double(low, 1)))
        t.eq(nps.get("high"), ks.num_double(high, 1), "metrics all %s: high %s" % (label, ks.text_double(high, 1)))
        t.check(isinstance(nps.get("low"), (int, float)) and isinstance(nps.get("high"), (int, float))
                and -100 <= nps["low"] <= nps["high"] <= 100,
                "metrics all %s: interval within [-100, 100]" % label, ks.short(nps))
        t.eq(nps.get("margin"), ks.num_double(margin, 1),
             "metrics all %s: margin %s (before clipping)" % (label, ks.text_double(margin, 1)))
        t.check(m.get("grade") is None and m.get("ces") is None and m.get("hidden") == [] if isinstance(m, dict)
                else False, "metrics all %s: no grade/ces answers -> no grade/ces scores, nothing hidden" % label,
                ks.short(m))
        t.eq(ks.cell_of(m), want, "metrics all %s: the whole cell equals the exact recomputation" % label)


def test_rounding(t, srv, f):
    """Shares are whole percents rounded half away from zero on the exact
    fraction: 1 promoter in 8 is 12.5% -> 0.13 (a double 0.125 would do the
    same, so also 3 in 8 = 37.5% -> 0.38 and 5 in 8 = 62.5% -> 0.63), an NPS
    of 100 * 3/16 = 18.75 -> 18.8, a mean of 7.125 -> 7.13 (never -0.0)."""
    import calendar
    tag = ks.uniq("r")
    dept = srv.create("teams", {"name": "Rounding " + tag, "kind": "department", "parent_id": f["org"]["id"]})
    t0 = calendar.timegm((2025, 10, 6, 10, 0, 0))
    rows = [(10, 7, 5), (9, 7, 5), (9, 7, 1), (8, 8, 1), (8, 7, 1), (7, 7, 1), (6, 7, 1), (5, 7, 1)]
    rows16 = rows + [(9, 7, 7), (9, 8, 7), (8, 7, 7), (8, 7, 7), (7, 7, 7), (7, 7, 7), (7, 7, 7), (7, 8, 7)]
    team = srv.create("teams", {"name": "R8 " + tag, "kind": "team", "parent_id": dept["id"]})
    for i, (a, g, c) in enumerate(rows16):
        srv.create("responses", {"client_key": "%s-%d" % (tag, i), "team_id": team["id"],
                                 "touchpoint_id": f["tp1"]["id"], "answers": {"nps": a, "grade": g, "ces": c},
                                 "received_at": ks.iso(t0 + i * 60 + (0 if i < 8 else 86400 * 31))})
    c8 = expect_metrics(rows)
    t.check((c8.p, c8.a, c8.d, c8.g_sum, c8.c5) == (3, 3, 2, 57, 2),
            "rounding: (test's own data) 3/8 promoters, 3/8 passives, 2/8 detractors, grade sum 57, 2/8 CES 5+")
    st, _, m = metrics(srv, "team_id=%d&period=2025-10" % team["id"])
    nps = (m.get("nps") or {}) if st == 200 else {}
    t.eq((nps.get("promoters"), nps.get("passives"), nps.get("detractors")), (0.38, 0.38, 0.25),
         "rounding: shares 0.375 -> 0.38, 0.375 -> 0.38, 0.25")
    t.eq(nps.get("value"), 12.5, "rounding: NPS 100 * 1/8 = 12.5")
    t.eq(((m.get("grade") or {}).get("mean"), (m.get("ces") or {}).get("share_5plus")) if st == 200 else None,
         (7.13, 0.25), "rounding: grade mean 57/8 = 7.125 -> 7.13; CES 5+ 2/8 -> 0.25")
    t.eq(ks.cell_of(m), ks.cell_json(c8, 5), "rounding: the October cell equals the exact recomputation")
    c16 = expect_metrics(rows16)
    st, _, m = metrics(srv, "team_id=%d" % team["id"])
    t.check(st == 200 and (m.get("nps") or {}).get("value") == ks.num_exact(ks.Fraction(100 * (c16.p - c16.d), 16), 1)
            and (m.get("nps") or {}).get("value") == 18.8,
            "rounding: NPS 100 * 3/16 = 18.75 -> 18.8 (half away from zero on the exact value)", ks.got(st, m))
    t.eq(ks.cell_of(m), ks.cell_json(c16, 5), "rounding: the all-time cell equals the exact recomputation")
    st, hd, text = srv.get("/api/v1/metrics?team_id=%d&period=2025-10&format=csv" % team["id"])
    lines = text.strip().split("\r\n") if st == 200 and isinstance(text, str) else []
    t.check(len(lines) == 2 and lines[0] == ",".join(ks.CSV_HEADER)
            and lines[1].split(",") == ks.csv_fields(c8, 5),
            "rounding: the CSV prints the same digits (header %s)" % ",".join(ks.CSV_HEADER), ks.got(st, text))


# ---------------------------------------------------------------------------
# database


def test_db(t, srv, f, rs, srv2, ms):
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
    a = srv2.sql("SELECT count(*), count(CASE WHEN nps >= 9 THEN 1 END), count(CASE WHEN nps <= 6 THEN 1 END)"
                 " FROM responses WHERE team_id = ?",
                 (ms["ta"]["id"],))[0]
    t.eq(tuple(a), (11, 6, 2), "db: team A has 11 responses, 6 promoters, 2 detractors")
    rec = srv2.sql("SELECT received_at FROM responses WHERE client_key = ?", (ms["tag"] + "-field-0",))
    t.eq(rec[0][0] if rec else None, 1744243200, "db: received_at 2025-04-10T00:00:00Z stored as unix seconds")


def sql_counts(srv, team_id=None, before=None):
    """The counts of a slice straight from the file (ks.Counts); team_id
    rolls up; before: only responses received before that instant."""
    where, args = [], []
    if team_id is not None:
        where.append("team_id IN (WITH RECURSIVE sub(id) AS (SELECT CAST(? AS BIGINT) UNION ALL"
                     " SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub)")
        args.append(team_id)
    if before is not None:
        where.append("received_at < ?")
        args.append(before)
    c = ks.Counts()
    for nps, grade, ces, emp in srv.sql("SELECT nps, grade, ces, employee_id FROM responses"
                                        + (" WHERE " + " AND ".join(where) if where else ""), tuple(args)):
        c.add(nps, grade, ces, emp)
    return c


def printed_min_n(srv, team_id, before):
    """The min_n a cell prints: per measure 10 when its answers to that
    question name exactly one employee, else 5; the lowest of the answered
    measures (the highest when none is answered)."""
    where, args = ["received_at < ?"], [before]
    if team_id is not None:
        where.append("team_id IN (WITH RECURSIVE sub(id) AS (SELECT CAST(? AS BIGINT) UNION ALL"
                     " SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub)")
        args.append(team_id)
    thr = []
    for col in ("nps", "grade", "ces"):
        n, emps = srv.sql("SELECT count(%s), count(DISTINCT employee_id) FROM responses WHERE %s"
                          % (col, " AND ".join(where + ["%s IS NOT NULL" % col])), tuple(args))[0]
        thr.append((n > 0, 10 if emps == 1 else 5))
    answered = [v for has, v in thr if has]
    return min(answered) if answered else max(v for _, v in thr)


def test_consistency(t, srv, f, srv2, ms, label):
    """Metrics agree with the rows in the file, overall and per unit: every
    figure counts up to the start of today (local), and answers that name
    one employee make a person's cell. The cells must equal the
    recomputation, with only the hides the reply declares beyond the
    minimum n (none for these)."""
    today = ks.start_of_local_day(time.time())
    units = [(srv, "all", None, False), (srv, "org", f["org"]["id"], False),
             (srv, "fixture team", f["team"]["id"], True),
             (srv2, "team A", ms["ta"]["id"], True), (srv2, "team B", ms["tb"]["id"], True),
             (srv2, "department of A and B", ms["dept"]["id"], False)]
    for s, name, uid, team_level in units:
        c = sql_counts(s, uid, today)
        min_n = printed_min_n(s, uid, today)
        st, _, m = metrics(s, "" if uid is None else "team_id=%d" % uid)
        probs = ks.cell_problems(m, c, min_n, name) if st == 200 else [ks.got(st, m)]
        extra = set(m.get("hidden") or []) - set(ks.primary_hidden(c, min_n)) if isinstance(m, dict) else set()
        if st == 200 and extra:
            probs.append("%s: hidden %s beyond the minimum n" % (name, sorted(extra)))
        t.check(not probs, "%s: metrics for %s agree with the file (n=%d, nps n=%d P=%d D=%d, min_n %d)"
                % (label, name, c.n, c.nps_n, c.p, c.d, min_n), "\n".join(probs))


def test_long_labels(t, srv, f):
    """A segment and a city longer than the analytics index keeps (47 and 63
    bytes) are cut between letters: a letter cut in two is no JSON string,
    and the group would be lost from /metrics."""
    cust = srv.create("customers", {"external_id": ks.uniq("C-LONG"), "segment": "é" * 30, "city": "ö" * 40})
    for i in range(5):
        # a week ago: /metrics ends at the start of today
        when = time.strftime("%Y-%m-%dT10:00:00Z", time.gmtime(time.time() - 7 * 86400))
        st, _, r = srv.post("/api/v1/responses", {"client_key": ks.uniq("long"), "customer_id": cust["id"],
                                                  "channel": "web", "received_at": when,
                                                  "answers": {"nps": 10 - i}})
        t.status((st, None, r), 201, "long labels: answer %d of the customer with a 60-byte segment" % i)
    # 47 bytes end inside the 24th "é" (2 bytes each): 23 whole letters;
    # 63 bytes inside the 32nd "ö": 31 whole letters
    for dim, want in (("segment", "é" * 23), ("city", "ö" * 31)):
        st, _, m = metrics(srv, "group_by=" + dim)
        rows = m.get("rows", []) if isinstance(m, dict) else []
        got = [r.get("n") for r in rows if r.get(dim) == want]
        t.eq((st, got), (200, [5]), "group_by=%s: the long %s is a row of its 5 answers, cut between letters"
             % (dim, dim))
    st, _, m = metrics(srv, urllib.parse.urlencode({"segment": "é" * 23}))
    t.eq((st, m.get("n") if isinstance(m, dict) else m), (200, 5), "segment= the cut label filters its 5 answers")


def main(t, srv):
    f = ks.base_fixture(srv)
    contact = test_contacts(t, srv, f)
    rs = test_responses(t, srv, f, contact)
    # The metrics fixture on a server of its own (see test_metrics).
    srv2 = ks.Server(t)
    try:
        srv2.start()
        f2 = ks.base_fixture(srv2)
        ms = test_metrics(t, srv2, f2)
        test_response_edges(t, srv, f)
        test_metrics_extremes(t, srv2, f2)
        test_rounding(t, srv2, f2)
        test_db(t, srv, f, rs, srv2, ms)
        test_consistency(t, srv, f, srv2, ms, "consistency")
        srv.stop()
        srv.start()
        srv2.stop("second server exits 0 on SIGTERM")
        srv2.start()
        test_consistency(t, srv, f, srv2, ms, "consistency after restart")
        srv2.stop("second server exits 0 on SIGTERM")
    finally:
        srv2.cleanup()
    test_long_labels(t, srv, f)
    # after a clean stop, the file alone holds the same
    n_api = srv.count("responses")
    srv.stop()
    t.eq(srv.sql("SELECT count(*) FROM responses")[0][0], n_api,
         "db after SIGTERM: every response is in the file")
    if ks.is_pg_uri(srv.db):
        print("# skipped on PostgreSQL: integrity_check (SQLite's file; the server's pages are its own)")
    else:
        t.eq(srv.sql("PRAGMA integrity_check")[0][0], "ok", "db after SIGTERM: integrity_check ok")


if __name__ == "__main__":
    ks.run(main)
