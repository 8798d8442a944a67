#!/usr/bin/python3
"""Hard KPIs and the series of every KPI (issue 17, part K; docs/GOVERNANCE.md
"KPIs", docs/API.md "KPIs").

- the catalogue: the seed's seven KPIs as built-in defaults (this test's own
  table), create / read / edit / delete with every refusal (409 duplicate
  key, 422 naming the field, a soft key refused, 404, a built-in KPI edited
  by name but not deleted (409) nor given another aggregation);
- values: a batch is one transaction — one bad item (values[3].period, an
  unknown unit at values[2].unit_id) and nothing of it is stored;
- targets: on org units only; employee_id (and user_id) refused with the
  reason "goals are set for teams, not for individual people", a unit that
  is no org unit refused the same way;
- the series of hard KPIs aggregated up the org tree (sum, mean, last;
  a unit's own value first), computed by hand here;
- the soft NPS series equal to GET /api/v1/metrics?group_by=team,month cell
  by cell, a cell under min-n absent (null), with hand-computed NPS;
- response_rate and case_sla from rows written straight into the database
  (counts by hand; min-n 5);
- managers see only the units under their own;
- `klantstem import kpis` with a messy file (BOM, semicolons, CRLF, a quoted
  name with a line break, decimal commas) and a file with an error at a line
  (FILE:LINE: column: message, nothing written); POST /api/v1/kpis/import
  the same parser (lines[N].column).
"""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import user_fx  # noqa: E402

PASSWORD = "kpi-test-password"
NOW = "2026-06-15T10:00:00Z"

# The seed's KPIs (issue 17, contract): key -> (department, unit, higher, kind, aggregation)
DEFAULTS = {
    "share_of_wallet": ("sales", "%", True, "outcome", "mean"),
    "acquisition_cost": ("marketing", "EUR", False, "output", "mean"),
    "gross_margin": ("finance", "%", True, "impact", "mean"),
    "brand_value": ("marketing", "index", True, "impact", "last"),
    "cost_to_serve": ("operations", "EUR", False, "output", "mean"),
    "absenteeism": ("hr", "%", False, "outcome", "mean"),
    "attrition": ("hr", "%", False, "impact", "mean"),
}


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def token_for(srv, email):
    st, _, tok = srv.post("/api/v1/auth/tokens", {"name": "kpis"}, auth=False,
                          headers=user_fx.session(srv, email, PASSWORD))
    if st != 201:
        raise ks.FixtureError("token for %s -> %s" % (email, ks.got(st, tok)))
    return {"Authorization": "Bearer " + tok["token"]}


def user(srv, role, **extra):
    email = "%s-%s@kpis.test" % (role, ks.uniq("u"))
    srv.create("users", dict({"email": email, "name": role, "role": role, "password": PASSWORD}, **extra))
    return token_for(srv, email)


def new_kpi(**over):
    k = {"key": ks.uniq("k").replace("-", "_"), "name_nl": "Doorlooptijd", "name_en": "Lead time",
         "unit": "days", "higher_is_better": False, "department": "operations", "kind": "output",
         "aggregation": "mean"}
    k.update(over)
    return k


def series(srv, kpi, level, frm, to, headers=None):
    return srv.get("/api/v1/kpi-series?kpi=%s&level=%s&from=%s&to=%s" % (kpi, level, frm, to),
                   headers=headers)


def cells(body, only=None):
    """{unit_id: [values]} of a series reply (of the units in only, when given)."""
    return {u["unit_id"]: u["values"] for u in body["units"] if only is None or u["unit_id"] in only}


# ---------------------------------------------------------------------------


def test_catalogue(t, srv):
    st, _, b = srv.get("/api/v1/kpis")
    t.status((st, None, b), 200, "GET /kpis answers 200")
    got = {k["key"]: (k["department"], k["unit"], k["higher_is_better"], k["kind"], k["aggregation"])
           for k in b["kpis"] if k["builtin"]}
    t.eq(got, DEFAULTS, "the seven built-in KPIs of the seed, with department, unit, direction, kind, aggregation")
    names = {k["key"]: (k["name_nl"], k["name_en"]) for k in b["kpis"]}
    t.check(all(names[k][0] and names[k][1] and names[k][0] != "" for k in DEFAULTS),
            "every built-in KPI has a Dutch and an English name", ks.short(names))
    t.eq(names["cost_to_serve"][1], "Cost to serve", "cost_to_serve's English name")
    t.eq(names["absenteeism"][0], "Ziekteverzuim", "absenteeism's Dutch name")

    k = new_kpi()
    st, _, c = srv.post("/api/v1/kpis", k)
    t.status((st, None, c), 201, "POST /kpis creates a KPI (201)")
    t.eq({x: c.get(x) for x in k}, k, "the created KPI reads back as sent")
    t.eq(c.get("builtin"), False, "a created KPI is not builtin")
    t.error(srv.post("/api/v1/kpis", dict(k, name_en="Other")), 409, "conflict", "key",
            "the same key again -> 409 naming key")
    for key in ("nps", "enps", "response_rate", "theme:wachttijd"):
        t.error(srv.post("/api/v1/kpis", new_kpi(key=key)), 422, "invalid", "key",
                "a soft key (%s) as a hard KPI -> 422 key" % key)
    t.error(srv.post("/api/v1/kpis", new_kpi(key="Cost-To-Serve")), 422, "invalid", "key",
            "a key with capitals and a dash -> 422 key")
    t.error(srv.post("/api/v1/kpis", new_kpi(key="k" * 41)), 422, "invalid", "key", "a 41-byte key -> 422 key")
    t.error(srv.post("/api/v1/kpis", new_kpi(department="it")), 422, "invalid", "department",
            "department it -> 422 department")
    t.error(srv.post("/api/v1/kpis", new_kpi(kind="input")), 422, "invalid", "kind", "kind input -> 422 kind")
    t.error(srv.post("/api/v1/kpis", new_kpi(aggregation="median")), 422, "invalid", "aggregation",
            "aggregation median -> 422 aggregation")
    t.error(srv.post("/api/v1/kpis", new_kpi(higher_is_better="yes")), 422, "invalid", "higher_is_better",
            "higher_is_better a string -> 422 higher_is_better")
    t.error(srv.post("/api/v1/kpis", new_kpi(name_nl="")), 422, "invalid", "name_nl", "an empty name_nl -> 422")
    nk = new_kpi()
    del nk["name_en"]
    t.error(srv.post("/api/v1/kpis", nk), 422, "invalid", "name_en", "no name_en -> 422 name_en")
    t.error(srv.post("/api/v1/kpis", new_kpi(colour="red")), 422, "invalid", "colour",
            "an unknown member -> 422 naming it")
    t.error(srv.post("/api/v1/kpis", "{"), 400, "malformed_json", None, "malformed JSON -> 400")

    t.error(srv.get("/api/v1/kpis/987654"), 404, "not_found", None, "GET an unknown KPI -> 404")
    t.error(srv.request("PUT", "/api/v1/kpis/987654", {"name_en": "x"}), 404, "not_found", None,
            "PUT an unknown KPI -> 404")
    t.error(srv.request("DELETE", "/api/v1/kpis/987654"), 404, "not_found", None, "DELETE an unknown KPI -> 404")

    st, _, e = srv.request("PUT", "/api/v1/kpis/%d" % c["id"], {"name_en": "Throughput time", "aggregation": "sum"})
    t.status((st, None, e), 200, "PUT edits a KPI")
    t.eq((e["name_en"], e["aggregation"], e["name_nl"]), ("Throughput time", "sum", "Doorlooptijd"),
         "PUT changes what it names and keeps the rest")
    t.error(srv.request("PUT", "/api/v1/kpis/%d" % c["id"], {"key": "other_key"}), 422, "invalid", "key",
            "the key cannot be changed -> 422 key")

    cts = [k for k in b["kpis"] if k["key"] == "cost_to_serve"][0]
    st, _, e = srv.request("PUT", "/api/v1/kpis/%d" % cts["id"], {"name_nl": "Kosten per klant"})
    t.eq((st, e.get("name_nl"), e.get("builtin")), (200, "Kosten per klant", True),
         "a built-in KPI is renamed (200, still builtin)")
    t.error(srv.request("PUT", "/api/v1/kpis/%d" % cts["id"], {"aggregation": "sum"}), 422, "invalid",
            "aggregation", "a built-in KPI keeps its aggregation -> 422 aggregation")
    t.error(srv.request("DELETE", "/api/v1/kpis/%d" % cts["id"]), 409, "conflict", None,
            "a built-in KPI cannot be deleted -> 409")
    t.eq(srv.sql("SELECT count(*) FROM kpis WHERE key = 'cost_to_serve'")[0][0], 1, "... and it is still there")

    st, _, d = srv.request("DELETE", "/api/v1/kpis/%d" % c["id"])
    t.eq((st, d.get("deleted")), (200, True), "DELETE a created KPI -> 200")
    t.error(srv.get("/api/v1/kpis/%d" % c["id"]), 404, "not_found", None, "... then GET -> 404")
    return {k["key"]: k["id"] for k in b["kpis"]}


def test_values(t, srv, org):
    k = srv.create("kpis", new_kpi())
    a1, a2, b1 = org["a1"], org["a2"], org["b1"]
    good = [{"unit_id": a1, "period": "2026-01", "value": 1.5}, {"unit_id": a2, "period": "2026-01", "value": 2},
            {"unit_id": b1, "period": "2026-02", "value": -3.25}]
    path = "/api/v1/kpis/%d/values" % k["id"]
    t.error(srv.request("PUT", path, {"values": good + [{"unit_id": a1, "period": "2026-13", "value": 1}]}), 422,
            "invalid", "values[3].period", "month 13 at values[3] -> 422 values[3].period")
    t.error(srv.request("PUT", path, {"values": good[:2] + [{"unit_id": 987654, "period": "2026-02", "value": 1}]}),
            422, "unknown_reference", "values[2].unit_id", "an unknown unit at values[2] -> 422 values[2].unit_id")
    t.error(srv.request("PUT", path, {"values": [good[0], {"unit_id": a1, "period": "2026-01", "value": "1,5"}]}),
            422, "invalid", "values[1].value", "a string value -> 422 values[1].value")
    t.error(srv.request("PUT", path, {"values": [{"unit_id": a1, "period": "2026-01", "value": 1, "employee_id": 1}]}),
            422, "invalid", "values[0].employee_id", "a value for an employee -> 422 values[0].employee_id")
    t.error(srv.request("PUT", path, {"values": [{"unit_id": a1, "period": "2026-1", "value": 1}]}), 422, "invalid",
            "values[0].period", "period 2026-1 -> 422")
    t.error(srv.request("PUT", path, {"values": [{"unit_id": a1, "period": "2026-01", "value": 1e16}]}), 422,
            "invalid", "values[0].value", "a value past 1e15 -> 422")
    t.error(srv.request("PUT", path, {"values": []}), 422, "invalid", "values", "an empty batch -> 422 values")
    t.error(srv.request("PUT", "/api/v1/kpis/987654/values", {"values": good}), 404, "not_found", None,
            "values of an unknown KPI -> 404")
    t.eq(srv.sql("SELECT count(*) FROM kpi_values WHERE kpi_id = ?", (k["id"],))[0][0], 0,
         "after the refused batches nothing of them is stored (all or nothing)")
    st, _, w = srv.request("PUT", path, {"values": good})
    t.eq((st, w.get("written")), (200, 3), "a good batch is written (3)")
    st, _, g = srv.get(path)
    t.eq(sorted((v["unit_id"], v["period"], v["value"], v["source"]) for v in g["values"]),
         sorted((v["unit_id"], v["period"], float(v["value"]), "api") for v in good), "GET values reads them back")
    must(srv.request("PUT", path, {"values": [{"unit_id": a1, "period": "2026-01", "value": 9}]}), 200, "replace")
    st, _, g = srv.get(path + "?unit_id=%d" % a1)
    t.eq([(v["period"], v["value"]) for v in g["values"]], [("2026-01", 9.0)],
         "a value given again replaces the old one (unit_id filter)")
    t.error(srv.get(path + "?from=2026-00"), 422, "invalid", "from", "from=2026-00 -> 422 from")


def test_targets(t, srv, org):
    a1 = org["a1"]
    emp = org["emp"]
    for member in ("employee_id", "user_id"):
        st, _, b = srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "nps", "unit_id": a1, "period": "2026",
                                                                "target": 30, member: emp})
        t.error((st, None, b), 422, "invalid", member, "a target naming %s -> 422 %s" % (member, member))
        t.check("goals are set for teams, not for individual people" in (b.get("error") or {}).get("message", ""),
                "... with the reason: goals are set for teams, not for individual people", ks.short(b))
    st, _, b = srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "nps", "unit_id": 987654, "period": "2026",
                                                          "target": 30})
    t.error((st, None, b), 422, "unknown_reference", "unit_id", "a target on a unit that is no org unit -> 422")
    t.check("not for individual people" in b["error"]["message"], "... with the reason", ks.short(b))
    t.error(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "nps", "unit_id": a1, "period": "2026-Q5",
                                                       "target": 30}), 422, "invalid", "period", "2026-Q5 -> 422 period")
    t.error(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "no_such_kpi", "unit_id": a1, "period": "2026",
                                                       "target": 30}), 422, "invalid", "kpi", "an unknown KPI -> 422 kpi")
    t.eq(srv.sql("SELECT count(*) FROM kpi_targets")[0][0], 0, "no target was stored by the refused requests")
    for kpi, period, target in (("nps", "2026", 30), ("cost_to_serve", "2026-Q3", 41.5), ("theme:wachttijd",
                                                                                          "2026-07", 0.1)):
        st, _, b = srv.request("PUT", "/api/v1/kpi-targets", {"kpi": kpi, "unit_id": a1, "period": period,
                                                              "target": target})
        t.eq((st, b.get("kpi"), b.get("period"), b.get("target")), (200, kpi, period, target),
             "target %s %s on a team -> 200" % (kpi, period))
    st, _, b = srv.get("/api/v1/kpi-targets?unit_id=%d" % a1)
    t.eq(sorted((x["kpi"], x["period"], x["target"]) for x in b["targets"]),
         [("cost_to_serve", "2026-Q3", 41.5), ("nps", "2026", 30.0), ("theme:wachttijd", "2026-07", 0.1)],
         "GET kpi-targets lists them")
    st, _, b = srv.request("DELETE", "/api/v1/kpi-targets?kpi=nps&unit_id=%d&period=2026" % a1)
    t.eq((st, b.get("deleted")), (200, True), "DELETE a target -> 200")
    t.error(srv.request("DELETE", "/api/v1/kpi-targets?kpi=nps&unit_id=%d&period=2026" % a1), 404, "not_found", None,
            "DELETE it again -> 404")


def test_hard_series(t, srv, org):
    o, da, db, a1, a2, b1 = (org[k] for k in ("org", "da", "db", "a1", "a2", "b1"))
    # mean: Jan a1 10, a2 20, b1 7 -> da 15, db 7, org (15 + 7) / 2 = 11 (the mean of the departments)
    #       Feb da own 100, a1 40 -> da 100 (own first); db none -> org 100
    #       Mar nothing anywhere -> null
    mk = srv.create("kpis", new_kpi(aggregation="mean"))
    must(srv.request("PUT", "/api/v1/kpis/%d/values" % mk["id"], {"values": [
        {"unit_id": a1, "period": "2026-01", "value": 10}, {"unit_id": a2, "period": "2026-01", "value": 20},
        {"unit_id": b1, "period": "2026-01", "value": 7}, {"unit_id": da, "period": "2026-02", "value": 100},
        {"unit_id": a1, "period": "2026-02", "value": 40}]}), 200, "mean values")
    st, _, b = series(srv, mk["key"], "department", "2026-01", "2026-03")
    t.eq((st, b.get("periods")), (200, ["2026-01", "2026-02", "2026-03"]), "series: consecutive months from..to")
    t.eq(cells(b, (da, db)), {da: [15.0, 100.0, None], db: [7.0, None, None]},
         "mean: a department without its own value is the mean of its teams; its own value comes first")
    st, _, b = series(srv, mk["key"], "organisation", "2026-01", "2026-03")
    t.eq(cells(b), {o: [11.0, 100.0, None]}, "mean: the organisation is the mean of its departments' values")
    t.eq([u["n"] for u in b["units"]], [[2, 1, None]], "n: the departments it rests on")
    st, _, b = series(srv, mk["key"], "team", "2026-01", "2026-02")
    t.eq(cells(b, (a1, a2, b1)), {a1: [10.0, 40.0], a2: [20.0, None], b1: [7.0, None]}, "team level: the teams' own values")
    # sum: a1 3, a2 4, b1 5 -> da 7, db 5, org 12
    sk = srv.create("kpis", new_kpi(aggregation="sum"))
    must(srv.request("PUT", "/api/v1/kpis/%d/values" % sk["id"], {"values": [
        {"unit_id": a1, "period": "2026-04", "value": 3}, {"unit_id": a2, "period": "2026-04", "value": 4},
        {"unit_id": b1, "period": "2026-04", "value": 5}]}), 200, "sum values")
    st, _, b = series(srv, sk["key"], "organisation", "2026-04", "2026-04")
    t.eq(cells(b), {o: [12.0]}, "sum: the organisation is 3 + 4 + 5 = 12")
    st, _, b = series(srv, sk["key"], "department", "2026-04", "2026-04")
    t.eq(cells(b, (da, db)), {da: [7.0], db: [5.0]}, "sum: department A is 3 + 4")
    # last: the value updated most recently (the test clock moves between them)
    lk = srv.create("kpis", new_kpi(aggregation="last"))
    must(srv.request("PUT", "/api/v1/kpis/%d/values" % lk["id"], {"values": [
        {"unit_id": a2, "period": "2026-05", "value": 61}]}), 200, "last a2")
    must(srv.post("/api/v1/admin/clock", {"now": "2026-06-15T10:05:00Z"}), 200, "clock +5 min")
    must(srv.request("PUT", "/api/v1/kpis/%d/values" % lk["id"], {"values": [
        {"unit_id": a1, "period": "2026-05", "value": 52}]}), 200, "last a1")
    st, _, b = series(srv, lk["key"], "department", "2026-05", "2026-05")
    t.eq(cells(b)[da], [52.0], "last: the team value updated most recently (a1, five minutes later)")
    must(srv.post("/api/v1/admin/clock", {"now": NOW}), 200, "clock back")

    t.error(series(srv, "no_such_kpi", "team", "2026-01", "2026-02"), 422, "invalid", "kpi", "unknown kpi -> 422 kpi")
    t.error(series(srv, mk["key"], "employee", "2026-01", "2026-02"), 422, "invalid", "level",
            "level employee -> 422 level (nothing here is about one person)")
    t.error(series(srv, mk["key"], "team", "2026-13", "2026-02"), 422, "invalid", "from", "from 2026-13 -> 422 from")
    t.error(series(srv, mk["key"], "team", "2026-03", "2026-02"), 422, "invalid", "to", "to before from -> 422 to")
    t.error(series(srv, mk["key"], "team", "2010-01", "2026-02"), 422, "invalid", "to",
            "more than 120 months -> 422 to")
    t.error(srv.get("/api/v1/kpi-series?level=team"), 422, "invalid", "kpi", "no kpi -> 422 kpi")
    t.error(series(srv, "theme:", "team", "2026-01", "2026-02"), 422, "invalid", "kpi", "theme: without id -> 422")
    t.error(srv.get("/api/v1/kpi-series?kpi=nps&colour=red"), 422, "invalid", "colour", "unknown parameter -> 422")


def answers(srv, org, team, month_day, scores):
    for s in scores:
        must(srv.post("/api/v1/responses", {"client_key": ks.uniq("r"), "touchpoint_id": org["tp"],
                                            "team_id": team, "received_at": month_day + "T12:00:00Z",
                                            "answers": {"nps": s}}), 201, "response")


def nps_of(scores):
    p = sum(1 for s in scores if s >= 9)
    d = sum(1 for s in scores if s <= 6)
    return 100.0 * (p - d) / len(scores)


def test_soft_series(t, srv, org):
    a1, a2, b1 = org["a1"], org["a2"], org["b1"]
    feb_a1, feb_a2, feb_b1 = [10, 9, 9, 8, 3, 0], [9, 9, 7, 7, 6], [10, 10, 10, 9, 9, 8, 5]
    mar_a1, mar_a2 = [10, 9, 6, 6, 6, 7], [10, 9, 9]
    answers(srv, org, a1, "2026-02-10", feb_a1)
    answers(srv, org, a2, "2026-02-11", feb_a2)
    answers(srv, org, b1, "2026-02-12", feb_b1)
    answers(srv, org, a1, "2026-03-10", mar_a1)
    answers(srv, org, a2, "2026-03-11", mar_a2)
    time.sleep(0.3)
    st, _, b = series(srv, "nps", "team", "2026-01", "2026-03")
    t.status((st, None, b), 200, "nps series at team level")
    c = cells(b)
    t.near(c[a1][1], nps_of(feb_a1), 1e-6, "team A1 February NPS = (3 - 2) / 6 x 100, by hand")
    t.near(c[a2][1], nps_of(feb_a2), 1e-6, "team A2 February NPS = (2 - 1) / 5 x 100 (exactly min-n 5)")
    t.near(c[b1][1], nps_of(feb_b1), 1e-6, "team B1 February NPS")
    t.eq(c[a2][2], None, "team A2 March has 3 answers (< 5): absent, not a number")
    t.eq([u["n"][2] for u in b["units"] if u["unit_id"] == a2], [None], "... and its n is absent too")
    t.eq([c[a1][0], c[a2][0], c[b1][0]], [None, None, None], "January without answers: absent")
    # the same cells as /metrics?group_by=team,month shows them (disclosure included)
    st, _, m = srv.get("/api/v1/metrics?group_by=team,month")
    t.status((st, None, m), 200, "/metrics?group_by=team,month")
    shown = {}
    for row in m["rows"]:
        unit = row["team"]["id"]
        if unit in (a1, a2, b1):
            shown["%d %s" % (unit, row["month"])] = row["nps"]["value"] if row.get("nps") else None
    mine = {}
    for u in b["units"]:
        for p, v in zip(b["periods"], u["values"]):
            if "%d %s" % (u["unit_id"], p) in shown:
                mine["%d %s" % (u["unit_id"], p)] = None if v is None else round(v, 1)
    t.check(len(shown) >= 5, "metrics has the five team-month cells with answers", ks.short(shown))
    t.eq(mine, shown, "every cell of the nps series equals /metrics' (value to its decimal, or both absent)")
    st, _, d = series(srv, "nps", "department", "2026-02", "2026-02")
    t.near(cells(d)[org["da"]][0], nps_of(feb_a1 + feb_a2), 1e-6, "department A February NPS from its teams' 11 answers")
    st, _, b = series(srv, "enps", "team", "2026-02", "2026-03")
    t.eq((st, [v for u in b.get("units", []) for v in u["values"] if v is not None]), (200, []),
         "enps (the pulse's cells): without any pulse every cell is absent")
    t.error(series(srv, "theme:no_such_theme", "team", "2026-02", "2026-03"), 422, "invalid", "kpi",
            "a theme no analysed answer mentions -> 422 kpi")
    st, _, b = series(srv, "grade", "team", "2026-02", "2026-02")
    t.eq((st, [v for u in b.get("units", []) for v in u["values"] if v is not None]), (200, []),
         "grade: answers without a grade give no grade cell")
    st, _, o = series(srv, "nps", "organisation", "2026-02", "2026-03")
    t.near(cells(o)[org["org"]][1], nps_of(mar_a1 + mar_a2), 1e-6, "organisation March NPS (9 answers)")


def write_rows(srv, org):
    """Invitations and cases straight into the database (the server reads them)."""
    a1, a2 = org["a1"], org["a2"]
    con = ks.db_connect(srv.db, timeout=30)
    try:
        def ts(s):
            return int(time.mktime(time.strptime(s, "%Y-%m-%d %H:%M"))) - time.timezone
        cust = org["cust"]
        # response rate: a1 in April: 8 sent, 3 completed; a2 in April: 4 sent, 4 completed;
        # a1 in May: 5 sent, 5 completed; a never-sent invitation counts nowhere
        # b1 in June: 6 sent, all by one employee (that person's rate: threshold 10);
        # b1 in July: 10 sent by that employee, 7 completed
        emp = org["emp"]
        rows = [(a1, "2026-04-05 10:00", i < 3, None) for i in range(8)] + \
               [(a2, "2026-04-07 10:00", True, None) for _ in range(4)] + \
               [(a1, "2026-05-03 10:00", True, None) for _ in range(5)] + \
               [(org["b1"], "2026-06-03 10:00", True, emp) for _ in range(6)] + \
               [(org["b1"], "2026-07-03 10:00", i < 7, emp) for i in range(10)]
        # each invitation's contact first: PostgreSQL checks the foreign key (issue 18)
        for i, (team, sent, done, who) in [(-1, (a1, "2026-04-05 10:00", False, None))] + list(enumerate(rows)):
            con.execute("INSERT INTO contacts(id, customer_id, employee_id, team_id, touchpoint_id, channel,"
                        " occurred_at, token, expires_at) VALUES (?,?,?,?,?,?,?,?,?)",
                        (900000 + i, cust, who, team, org["tp"], "email", ts(sent), "kpi-test-%d" % i,
                         ts(sent) + 14 * 86400))
        for i, (team, sent, done, who) in enumerate(rows):
            con.execute("INSERT INTO invitations(contact_id, customer_id, touchpoint_id, team_id, employee_id,"
                        " channel, decision, status, sent_at, completed_at, created_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (900000 + i, cust, org["tp"], team, who, "email", "created", "sent", ts(sent),
                         ts(sent) + 3600 if done else None, ts(sent)))
        con.execute("INSERT INTO invitations(contact_id, customer_id, touchpoint_id, team_id, channel,"
                    " decision, status, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    (899999, cust, org["tp"], a1, "email", "skipped_no_email", "skipped", ts("2026-04-05 10:00")))
        # case SLA: a1 opened in April: 4 closed in time, 1 closed late, 1 open past its deadline,
        # 1 open before its deadline (no verdict yet: not counted) -> 4 / 6
        day = 86400
        op = ts("2026-04-02 09:00")
        cases = [(op, op + 2 * day, op + day, None)] * 4 + [(op, op + 2 * day, op + 3 * day, None),
                                                             (op, op + 2 * day, None, None),
                                                             (op, ts("2026-12-01 00:00"), None, None)]
        cases = [c + (a1, None) for c in cases]
        # b1: 6 cases of one owner opened in May (that person's record: threshold 10),
        # 10 of that owner in June, 8 of them closed in time
        owner = con.execute("SELECT min(id) FROM users").fetchone()[0]
        for month, k, late in (("2026-05-04 09:00", 6, 0), ("2026-06-04 09:00", 10, 2)):
            op = ts(month)
            cases += [(op, op + 2 * day, op + (3 if i < late else 1) * day, None, org["b1"], owner) for i in range(k)]
        for opened, deadline, closed, resolved, team, who in cases:
            con.execute("INSERT INTO cases(customer_id, reason, status, opened_at, closed_at, team_id, deadline,"
                        " resolved_at, owner_user_id) VALUES (?,?,?,?,?,?,?,?,?)",
                        (None, "laag", "closed" if closed else "new", opened, closed, team, deadline, resolved,
                         who))
        con.commit()
    finally:
        con.close()


def test_store_soft(t, srv, org):
    write_rows(srv, org)
    a1, a2, da = org["a1"], org["a2"], org["da"]
    b1, db, o = org["b1"], org["db"], org["org"]
    st, _, b = series(srv, "response_rate", "team", "2026-04", "2026-07")
    t.status((st, None, b), 200, "response_rate series")
    c = cells(b)
    t.eq(c[a2][0], None, "team A2 April: 4 sent (< 5): absent")
    t.eq(c[a1][0], None, "team A1 April (3 of 8) is hidden too: department A's 7/12 minus A1's "
         "3/8 would give A2's 4/4 (complementary suppression)")
    t.near(c[a1][1], 1.0, 1e-9, "team A1 May: 5 of 5 (A2 sent nothing in May: nothing to protect)")
    t.eq(c[b1][2], None, "team B1 June: 6 invitations all of one employee: that person's rate, under 10 -> absent")
    t.near(c[b1][3], 7 / 10, 1e-9, "team B1 July: 10 invitations of one employee, 7 completed (at the person "
           "threshold 10)")
    st, _, b = series(srv, "response_rate", "department", "2026-04", "2026-07")
    d = cells(b)
    t.near(d[da][0], 7 / 12, 1e-9, "department A April: (3 + 4) / (8 + 4), summed up the tree")
    t.eq(d[db][2], None, "department B June: only B1's hidden one-person cell below it -> hidden as well")
    st, _, b = series(srv, "response_rate", "organisation", "2026-06", "2026-06")
    t.eq(cells(b)[o][0], None, "organisation June: all of it is B1's hidden cell -> hidden")
    st, _, b = series(srv, "case_sla", "team", "2026-04", "2026-06")
    c = cells(b)
    t.near(c[a1][0], 4 / 6, 1e-9, "case SLA team A1 April: 4 closed in time of 6 with a verdict")
    t.eq([u["n"][0] for u in b["units"] if u["unit_id"] == a1], [6], "... n = 6")
    t.eq(c[b1][1], None, "case SLA team B1 May: 6 cases of one owner: that person's record, under 10 -> absent")
    t.near(c[b1][2], 8 / 10, 1e-9, "case SLA team B1 June: 10 cases of one owner, 8 in time (threshold 10 met)")
    st, _, b = series(srv, "case_sla", "department", "2026-05", "2026-05")
    t.eq(cells(b)[db][0], None, "case SLA department B May: its only cases are the owner's hidden ones")


def test_manager(t, srv, org):
    mgr = user(srv, "manager", unit_id=org["da"])
    st, _, b = series(srv, "nps", "team", "2026-02", "2026-02", headers=mgr)
    t.eq((st, sorted(u["unit_id"] for u in b.get("units", []))), (200, sorted([org["a1"], org["a2"]])),
         "a manager of department A sees its two teams only")
    st, _, b = series(srv, "nps", "organisation", "2026-02", "2026-02", headers=mgr)
    t.eq((st, b.get("units")), (200, []), "... and not the organisation above it")
    k = srv.sql("SELECT id FROM kpis WHERE key = 'cost_to_serve'")[0][0]
    must(srv.request("PUT", "/api/v1/kpis/%d/values" % k, {"values": [
        {"unit_id": org["a1"], "period": "2026-01", "value": 30}, {"unit_id": org["b1"], "period": "2026-01",
                                                                   "value": 31}]}), 200, "cts values")
    st, _, b = srv.get("/api/v1/kpis/%d/values" % k, headers=mgr)
    t.eq((st, sorted(v["unit_id"] for v in b["values"])), (200, [org["a1"]]),
         "a manager reads the values of units in scope only")
    t.error(srv.get("/api/v1/kpis/%d/values?unit_id=%d" % (k, org["b1"]), headers=mgr), 403, "forbidden", "unit_id",
            "a manager asking for a unit outside the scope -> 403 unit_id")
    t.error(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "nps", "unit_id": org["a1"], "period": "2026",
                                                       "target": 1}, headers=mgr), 403, "forbidden", None,
            "a manager does not set targets (403)")
    t.error(srv.post("/api/v1/kpis", new_kpi(), headers=mgr), 403, "forbidden", None,
            "a manager does not add KPIs (403)")
    d = user(srv, "director")
    t.error(srv.request("PUT", "/api/v1/kpis/%d/values" % k, {"values": [
        {"unit_id": org["a1"], "period": "2026-01", "value": 1}]}, headers=d), 403, "forbidden", None,
        "a director does not write values (admin only)")
    st, _, b = srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "attrition", "unit_id": org["da"],
                                                          "period": "2027", "target": 8}, headers=d)
    t.eq((st, b.get("kpi")), (200, "attrition"), "a director sets a department's target")
    lead = user(srv, "team_lead", unit_id=org["a1"])
    t.error(series(srv, "nps", "team", "2026-02", "2026-02", headers=lead), 403, "forbidden", None,
            "a team lead has no access to the KPI series (403)")


MESSY = ("\ufeffkpi;unit;period;value\r\n"
         "cost_to_serve;\"Team \"\"Noord\"\"\r\nwest\";2026-01;41,5\r\n"
         "cost_to_serve;%(a2)d;2026-01;38\r\n"
         "\r\n"
         "  absenteeism ; Afdeling A ;2026-01; 4,25 \r\n"
         "cost_to_serve;%(a2)d;2026-02;-1,75\r\n")


def test_import(t, srv, org):
    d = srv.dir
    messy = os.path.join(d, "messy.csv")
    with open(messy, "w", encoding="utf-8", newline="") as f:
        f.write(MESSY % org)
    before = srv.sql("SELECT count(*) FROM kpi_values")[0][0]
    rc, out, err = ks.run_cli(["import", "kpis", "--db", srv.db, messy])
    t.eq((rc, out.strip()), (0, "%s: 4 values of 2 KPIs for 3 units over 2 months imported" % messy),
         "import kpis: the messy file (BOM, semicolons, CRLF, a quoted name with a line break, decimal commas)",)
    t.check(ks.sanitizer_report(err) is None, "import kpis: no sanitizer report", err[-2000:])
    got = srv.sql("SELECT k.key, v.unit_id, v.period, v.value, v.source FROM kpi_values v JOIN kpis k ON"
                  " k.id = v.kpi_id WHERE v.source = 'import' ORDER BY 1, 2, 3")
    t.eq(sorted(got), sorted([("absenteeism", org["da"], "2026-01", 4.25, "import"),
                              ("cost_to_serve", org["a1"], "2026-01", 41.5, "import"),
                              ("cost_to_serve", org["a2"], "2026-01", 38.0, "import"),
                              ("cost_to_serve", org["a2"], "2026-02", -1.75, "import")]),
         "the four values as the file says (a unit by its exact name with a quote and a line break, or by id)")
    t.eq(srv.sql("SELECT count(*) FROM kpi_values")[0][0], before + 3,
         "three rows more: A1's January cost to serve (30, set above) was replaced")

    bad = os.path.join(d, "bad.csv")
    with open(bad, "w", encoding="utf-8", newline="") as f:
        f.write("kpi,unit,period,value\n"
                "cost_to_serve,%(a1)d,2026-03,40\n"
                "cost_to_serve,%(a1)d,2026-04,41\n"
                "cost_to_serve,%(a1)d,2026-13,42\n"
                "cost_to_serve,%(a1)d,2026-05,43\n" % org)
    before = srv.sql("SELECT count(*) FROM kpi_values")[0][0]
    rc, out, err = ks.run_cli(["import", "kpis", "--db", srv.db, bad])
    first = err.splitlines()[0] if err else ""
    t.eq((rc, first), (1, "%s:4: period: period '2026-13' must be a month YYYY-MM" % bad),
         "import kpis: a bad month at line 4 -> FILE:4: period: message, exit 1")
    t.check("nothing imported" in err, "... and says nothing was imported", err)
    t.eq(srv.sql("SELECT count(*) FROM kpi_values")[0][0], before, "... and nothing was (all or nothing)")
    cases = [
        ("kpi,unit,period,value\nnps,%(a1)d,2026-03,40\n", 2, "kpi", "soft KPI"),
        ("kpi,unit,period,value\ncost_to_serve,Nergens,2026-03,40\n", 2, "unit", "no org unit 'Nergens'"),
        ("kpi,unit,period,value\ncost_to_serve,%(a1)d,2026-03,\"1,5\"\n", 2, "value", "decimal comma only"),
        ("kpi,unit,period,value,extra\n", 1, "", "unknown column 'extra'"),
        ("kpi,unit,value\ncost_to_serve,1,2\n", 1, "period", "column period is missing"),
        ("kpi,unit,period,value\ncost_to_serve,%(a1)d,2026-03,\"4\n", 2, "", "bad CSV"),
        ("kpi,unit,period,value\ncost_to_serve,%(dup)s,2026-03,4\n", 2, "unit", "2 org units are named"),
    ]
    for i, (text, line, col, words) in enumerate(cases):
        p = os.path.join(d, "case%d.csv" % i)
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(text % org)
        rc, out, err = ks.run_cli(["import", "kpis", "--db", srv.db, p])
        first = err.splitlines()[0] if err else ""
        want = "%s:%d: %s" % (p, line, col + ": " if col else "")
        t.check(rc == 1 and first.startswith(want) and words in first,
                "import kpis: %r -> %s...%s" % (text[:40], want, words), err)
    latin = os.path.join(d, "latin1.csv")
    with open(latin, "wb") as f:
        # "Café" as a Latin-1 spreadsheet writes it: 0xE9 alone
        f.write(("kpi,unit,period,value\ncost_to_serve,%d,2026-03,4\n" % org["a2"]).encode() +
                b"cost_to_serve,Caf\xe9,2026-03,4\n")
    rc, out, err = ks.run_cli(["import", "kpis", "--db", srv.db, latin])
    first = err.splitlines()[0] if err else ""
    t.eq((rc, first), (1, "%s:3: unit: unit is not UTF-8 text (a file in another encoding?)" % latin),
         "import kpis: a Latin-1 byte at line 3 -> FILE:3: unit: not UTF-8")
    t.eq(srv.sql("SELECT count(*) FROM kpi_values")[0][0], before, "none of the bad files wrote anything")
    rc, out, err = ks.run_cli(["import", "kpis", "--db", os.path.join(d, "nope.db"), bad])
    t.eq(rc, 1, "import kpis: a database that is not there -> exit 1")
    rc, out, err = ks.run_cli(["import", "kpis", "--db", srv.db])
    t.eq(rc, 2, "import kpis without a FILE -> usage, exit 2")

    # the same parser over HTTP
    st, _, b = srv.request("POST", "/api/v1/kpis/import", (MESSY % org).encode("utf-8"),
                           headers={"Content-Type": "text/csv"})
    t.eq((st, b), (200, {"rows": 4, "lines": 4, "kpis": 2, "units": 3, "periods": 2}),
         "POST /kpis/import the messy file")
    with open(bad, encoding="utf-8") as f:
        text = f.read()
    before = srv.sql("SELECT count(*) FROM kpi_values")[0][0]
    st, _, b = srv.request("POST", "/api/v1/kpis/import", text.encode(), headers={"Content-Type": "text/csv"})
    t.error((st, None, b), 422, "invalid", "lines[4].period", "POST /kpis/import: the bad month -> 422 lines[4].period")
    t.check(b["error"]["message"].startswith("line 4: period:"), "... its message starts with the line",
            ks.short(b))
    t.eq(srv.sql("SELECT count(*) FROM kpi_values")[0][0], before, "... and nothing was written")
    t.error(srv.request("POST", "/api/v1/kpis/import", b"", headers={"Content-Type": "text/csv"}), 422, "invalid",
            None, "an empty body -> 422")
    # the web page's form: {"csv": text}
    st, _, b = srv.post("/api/v1/kpis/import", {"csv": MESSY % org})
    t.eq((st, b), (200, {"rows": 4, "lines": 4, "kpis": 2, "units": 3, "periods": 2}),
         "POST /kpis/import {\"csv\": text}")
    t.error(srv.post("/api/v1/kpis/import", {"csv": text}), 422, "invalid", "lines[4].period",
            "{\"csv\": the bad file} -> 422 lines[4].period")
    t.error(srv.post("/api/v1/kpis/import", {"csv": 5}), 422, "invalid", "csv", "{\"csv\": 5} -> 422 csv")
    t.error(srv.post("/api/v1/kpis/import", {"csv": "x", "file": "y"}), 422, "invalid", "file",
            "an unknown member beside csv -> 422 naming it")


WAIT = "vriendelijk maar het duurde veel te lang"  # friendliness and waiting_time
FINE = "prima"                                     # no theme


def theme_org(srv):
    """Two departments: X with teams T1 (10 answers, 5 about waiting, two employees) and T2
    (3 answers, 2 about waiting, two employees); Y with T3 (12 answers, 6 about waiting, three
    employees). All in March 2026."""
    f = ks.base_fixture(srv)
    o = f["org"]["id"]
    u = {"org": o, "base": f["dept"]["id"], "base_team": f["team"]["id"]}
    u["X"] = srv.create("teams", {"name": "Dept X", "kind": "department", "parent_id": o})["id"]
    u["Y"] = srv.create("teams", {"name": "Dept Y", "kind": "department", "parent_id": o})["id"]
    for name, dept in (("T1", "X"), ("T2", "X"), ("T3", "Y")):
        u[name] = srv.create("teams", {"name": name, "kind": "team", "parent_id": u[dept]})["id"]
    plan = {"T1": (2, [WAIT] * 5 + [FINE] * 5), "T2": (2, [WAIT] * 2 + [FINE]), "T3": (3, [WAIT, FINE] * 6)}
    for team, (k, texts) in plan.items():
        emps = [srv.create("employees", {"team_id": u[team], "first_name": "%s%d" % (team, i), "last_name": "x",
                                         "external_id": ks.uniq("E")})["id"] for i in range(k)]
        for i, text in enumerate(texts):
            must(srv.post("/api/v1/responses", {
                "touchpoint_id": f["tp1"]["id"], "team_id": u[team], "employee_id": emps[i % k],
                "customer_id": f["cust_nl"]["id"], "channel": "phone", "language": "nl",
                "received_at": "2026-03-%02dT10:00:00Z" % (3 + i), "answers": {"nps": 8, "open": text}}),
                201, "response with an open answer")
    return u, {"T1": (5, 10), "T2": (2, 3), "T3": (6, 12)}


def test_theme_shares(t):
    """H1: a theme share is a cell of the disclosure layer. Before, department X's 7/13 and team
    T1's 5/10 were shown, so T2's hidden 2/3 was their difference."""
    srv = ks.Server(t, args=["--test-clock", NOW, "--quiet"])
    try:
        t.healthz(srv.start(), "a second server for the theme shares")
        u, truth = theme_org(srv)
        time.sleep(2.0)  # the open answers are analysed in the background
        got = {}
        for level in ("team", "department", "organisation"):
            st, _, b = series(srv, "theme:waiting_time", level, "2026-03", "2026-03")
            t.status((st, None, b), 200, "theme:waiting_time series at %s level" % level)
            got.update({k: v[0] for k, v in cells(b).items()})
        t.eq(got[u["T2"]], None, "team T2 (2 of 3 about waiting: under min-n) -> absent")
        t.eq(got[u["T1"]], None, "team T1 (5 of 10) is hidden too: department X's 7/13 minus T1's 5/10 "
             "would give T2's 2/3 (complementary suppression, as /metrics?group_by=team,theme)")
        t.near(got[u["X"]], 7 / 13, 1e-9, "department X: 7 of its 13 analysed answers about waiting")
        t.near(got[u["org"]], 13 / 25, 1e-9, "the organisation: 13 of 25")
        # differencing across levels: a shown share whose units below, all but one, are shown
        # gives the last one away (numerators and denominators are known counts)
        tree = {u["X"]: [u["T1"], u["T2"]], u["Y"]: [u["T3"]], u["org"]: [u["X"], u["Y"]]}
        answered = {u["T1"], u["T2"], u["T3"], u["X"], u["Y"], u["org"]}
        leaks = []
        for parent, kids in tree.items():
            hidden = [k for k in kids if k in answered and got[k] is None]
            if got[parent] is not None and len(hidden) == 1:
                leaks.append((parent, hidden[0]))
        t.eq(leaks, [], "no shown share minus its shown units below gives a hidden one (team, department, "
             "organisation)")
        # every shown team share is one /metrics shows: its theme cell open, with that share
        st, _, m = srv.get("/api/v1/metrics?theme=waiting_time&group_by=team,month")
        t.status((st, None, m), 200, "/metrics?theme=waiting_time&group_by=team,month")
        open_cells = {r["team"]["id"]: r["n"] for r in m["rows"] if not r["insufficient"] and r["month"] == "2026-03"}
        shown = {k: v for k, v in got.items() if v is not None and k in (u["T1"], u["T2"], u["T3"])}
        t.check(all(k in open_cells and abs(open_cells[k] / truth[name][1] - shown[k]) < 1e-9
                    for name in ("T1", "T2", "T3") for k in [u[name]] if k in shown),
                "every shown team share has its theme cell open in /metrics, n / analysed answers",
                ks.short((shown, open_cells)))
        t.near(got[u["T3"]], 6 / 12, 1e-9, "team T3: 6 of 12 analysed answers about waiting (three employees)")
        t.near(got[u["Y"]], 6 / 12, 1e-9, "department Y: the same answers, the same share")
        test_big_tree(t, srv, u)
    finally:
        srv.stop()
        srv.cleanup()


def imp(srv, name, data):
    """`klantstem import kpis` of data (str or bytes) -> (rc, stdout first line, stderr first line, path)."""
    p = os.path.join(srv.dir, name)
    with open(p, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    rc, out, err = ks.run_cli(["import", "kpis", "--db", srv.db, p])
    return rc, out.strip(), (err.splitlines()[0] if err else ""), p


def stored(srv, unit, period):
    r = srv.sql("SELECT v.value FROM kpi_values v JOIN kpis k ON k.id = v.kpi_id WHERE k.key = 'cost_to_serve'"
                " AND v.unit_id = ? AND v.period = ?", (unit, period))
    return r[0][0] if r else None


def test_import_numbers(t, srv, org):
    """M2, L2-L8: numbers as spreadsheets write them, and the files they save."""
    a2 = org["a2"]
    # M2: a semicolon file's point groups thousands; any other point is refused, not guessed at
    rc, out, err, p = imp(srv, "thousands.csv", "kpi;unit;period;value\ncost_to_serve;%d;2027-01;1.234\n"
                          "cost_to_serve;%d;2027-02;1.234,56\ncost_to_serve;%d;2027-03;-12.345.678,5\n" % (a2, a2, a2))
    t.eq(rc, 0, "semicolon file with thousands points imports", )
    t.eq([stored(srv, a2, m) for m in ("2027-01", "2027-02", "2027-03")], [1234.0, 1234.56, -12345678.5],
         "1.234 -> 1234, 1.234,56 -> 1234.56, -12.345.678,5 -> -12345678.5 (not 1.234)")
    for v in ("1.5", "1.23", "1.2345", "12.34,5,6", ".5"):
        rc, out, err, p = imp(srv, "point.csv", "kpi;unit;period;value\ncost_to_serve;%d;2027-04;%s\n" % (a2, v))
        t.check(rc == 1 and err.startswith("%s:2: value: " % p) and "decimals with a comma" in err
                or rc == 1 and err.startswith("%s:2: value: " % p) and "not a number" in err,
                "semicolon file: %r is refused at line 2 naming value" % v, err)
    rc, out, err, p = imp(srv, "point.csv", "kpi;unit;period;value\ncost_to_serve;%d;2027-04;1.5\n" % a2)
    t.eq(err, "%s:2: value: value '1.5': a semicolon-separated file writes decimals with a comma (41,5); a point "
         "only groups thousands (1.234,56)" % p, "... 1.5 with the reason (a decimal comma file)")
    # L4: a quoted decimal comma in a semicolon file
    rc, out, err, p = imp(srv, "quoted.csv", "kpi;unit;period;value\ncost_to_serve;%d;2027-04;\"41,5\"\n" % a2)
    t.eq((rc, stored(srv, a2, "2027-04")), (0, 41.5), "semicolon file: a quoted \"41,5\" is 41.5")
    # L2: plain decimals only, whatever strtod would take
    for v in ("0x1A", "1e-999", "1e3", "inf", "nan", "1e999", "5.", "- 5", "+-5", "1" * 400):
        rc, out, err, p = imp(srv, "num.csv", "kpi,unit,period,value\ncost_to_serve,%d,2027-05,\"%s\"\n" % (a2, v))
        t.check(rc == 1 and err.startswith("%s:2: value: value " % p) and stored(srv, a2, "2027-05") is None,
                "comma file: %r refused at line 2 naming value, nothing stored" % v[:12], err)
    rc, out, err, p = imp(srv, "num.csv", "kpi,unit,period,value\ncost_to_serve,%d,2027-05,+7.25\n" % a2)
    t.eq((rc, stored(srv, a2, "2027-05")), (0, 7.25), "comma file: +7.25 is 7.25")
    # L3: a NUL byte names its line, nothing is cut short
    rc, out, err, p = imp(srv, "nul.csv", b"kpi,unit,period,value\ncost_to_serve,%d,2027-06,1\n"
                          b"cost_to_serve,%d\x00zz,2027-06,1\n" % (a2, a2))
    t.eq((rc, err), (1, "%s:3: the line holds a NUL byte (a binary file, or text in UTF-16? save it as UTF-8 CSV)"
                     % p), "a NUL byte at line 3 -> FILE:3: refused")
    t.eq(stored(srv, a2, "2027-06"), None, "... nothing of that file stored")
    st, _, b = srv.request("POST", "/api/v1/kpis/import", b"kpi,unit,period,value\ncost_to_serve,%d\x00,2027-06,1\n"
                           % a2, headers={"Content-Type": "text/csv"})
    t.error((st, None, b), 422, "invalid", "lines[2]", "POST /kpis/import with a NUL at line 2 -> 422 lines[2]")
    # L5: CR-only line ends; an empty trailing column (a trailing ';')
    rc, out, err, p = imp(srv, "cr.csv", "kpi,unit,period,value\rcost_to_serve,%d,2027-07,3\r" % a2)
    t.eq((rc, stored(srv, a2, "2027-07")), (0, 3.0), "CR-only line ends are read as lines")
    rc, out, err, p = imp(srv, "cr2.csv", "kpi,unit,period,value\rcost_to_serve,%d,2027-07,4\rcost_to_serve,%d,"
                          "2027-13,4\r" % (a2, a2))
    t.eq((rc, err), (1, "%s:3: period: period '2027-13' must be a month YYYY-MM" % p),
         "... and an error in such a file names its line (3)")
    rc, out, err, p = imp(srv, "trail.csv", "kpi;unit;period;value;\r\ncost_to_serve;%d;2027-08;2,5;\r\n"
                          "cost_to_serve;%d;2027-09;3;;\r\n" % (a2, a2))
    t.eq((rc, stored(srv, a2, "2027-08"), stored(srv, a2, "2027-09")), (0, 2.5, 3.0),
         "a trailing ';' on every line (empty columns at the end) is no column")
    rc, out, err, p = imp(srv, "trail2.csv", "kpi;unit;period;value\ncost_to_serve;%d;2027-10;1;x\n" % a2)
    t.eq((rc, err), (1, "%s:2: 5 fields where the header has 4 (field 5 is 'x')" % p),
         "a trailing field that is not empty is refused, naming it")
    rc, out, err, p = imp(srv, "gap.csv", "kpi;;unit;period;value\n")
    t.eq((rc, err), (1, "%s:1: column 2 has no name (the columns are kpi, unit, period, value)" % p),
         "an empty column name between others -> refused at line 1")
    # L6: the count is of values stored, not of lines
    rc, out, err, p = imp(srv, "dup.csv", "kpi,unit,period,value\ncost_to_serve,%d,2027-11,1\n"
                          "cost_to_serve,%d,2027-11,2\n" % (a2, a2))
    t.eq((rc, out), (0, "%s: 1 value of 1 KPI for 1 unit over 1 month imported (from 2 lines: a later line of the "
                     "same KPI, unit and month replaced an earlier one)" % p), "two lines of one value: 1 value")
    t.eq(stored(srv, a2, "2027-11"), 2.0, "... the later line's")
    st, _, b = srv.request("POST", "/api/v1/kpis/import", ("kpi,unit,period,value\ncost_to_serve,%d,2027-12,1\n"
                           "cost_to_serve,%d,2027-12,2\n" % (a2, a2)).encode(), headers={"Content-Type": "text/csv"})
    t.eq((st, b), (200, {"rows": 1, "lines": 2, "kpis": 1, "units": 1, "periods": 1}),
         "POST /kpis/import: rows = values stored (1), lines = lines read (2)")
    # L7: a theme key's id
    for kpi in ("theme:<img src=x onerror=alert(1)>", "theme:Wacht", "theme:" + "a" * 48, "theme:a b"):
        t.error(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": kpi, "unit_id": org["a1"], "period": "2027",
                                                           "target": 1}), 422, "invalid", "kpi",
                "target on %r -> 422 kpi" % kpi[:20])
        t.error(series(srv, kpi.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E"), "team", "2026-01",
                       "2026-02"), 422, "invalid", "kpi", "series of %r -> 422 kpi" % kpi[:20])
    st, _, b = srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "theme:" + "a" * 47, "unit_id": org["a1"],
                                                          "period": "2027", "target": 1})
    t.eq(st, 200, "a target on theme:<47 characters> (a stored taxonomy's longest id) is taken")
    # L8: from after this month without to names from
    t.error(srv.get("/api/v1/kpi-series?kpi=nps&level=team&from=2026-07"), 422, "invalid", "from",
            "from=2026-07 (after June 2026) without to -> 422 from")
    st, _, b = srv.get("/api/v1/kpi-series?kpi=nps&level=team&from=2026-06")
    t.eq((st, b.get("periods")), (200, ["2026-06"]), "from=this month without to -> this month")


def test_big_tree(t, srv, u):
    """L1: a hard KPI over 3,000 teams and ten years. Each unit's value was the aggregation of a scan
    of every unit for its children, per unit and month: 11 s here; now one pass bottom-up."""
    con = ks.db_connect(srv.db, timeout=30)
    try:
        # RETURNING id: the same on both backends (issue 18)
        depts = [con.execute("INSERT INTO org_units(parent_id, kind, name, created_at) VALUES (?,?,?,0) RETURNING id",
                             (u["org"], "department", "Big %d" % i)).fetchone()[0] for i in range(20)]
        teams = [con.execute("INSERT INTO org_units(parent_id, kind, name, created_at) VALUES (?,?,?,0) RETURNING id",
                             (depts[i % 20], "team", "Big team %d" % i)).fetchone()[0] for i in range(3000)]
        k = con.execute("SELECT id FROM kpis WHERE key = 'cost_to_serve'").fetchone()[0]
        # department Big 0 in June 2026: its teams 0, 20, 40 with 10, 20, 60 -> mean 30
        for team, v in zip(teams[0:60:20], (10, 20, 60)):
            con.execute("INSERT INTO kpi_values(kpi_id, unit_id, period, value, source, updated_at)"
                        " VALUES (?,?,?,?,?,?)", (k, team, "2026-06", v, "api", 1))
        con.commit()
    finally:
        con.close()
    for level in ("team", "department", "organisation"):
        t0 = time.time()
        st, _, b = series(srv, "cost_to_serve", level, "2016-07", "2026-06")
        took = time.time() - t0
        t.check(st == 200 and took < 3.0, "cost_to_serve over 3,020 units x 120 months at %s level in %.2f s "
                "(< 3 s under the sanitizers)" % (level, took), ks.short(b))
        t0 = time.time()
        st, _, r = series(srv, "response_rate", level, "2016-07", "2026-06")
        took = time.time() - t0
        t.check(st == 200 and took < 3.0, "response_rate (suppression over the tree) over 3,020 units x 120 "
                "months at %s level in %.2f s" % (level, took), ks.short(r))
        if level == "department":
            t.eq(cells(b, {depts[0]})[depts[0]][-1], 30.0, "department Big 0, June 2026: the mean of 10, 20, 60")
            t.eq([n for x in b["units"] if x["unit_id"] == depts[0] for n in x["n"][-1:]], [3], "... of 3 teams")


def fixture(srv):
    f = ks.base_fixture(srv)
    o = f["org"]["id"]
    da = srv.create("teams", {"name": "Afdeling A", "kind": "department", "parent_id": o})["id"]
    db = srv.create("teams", {"name": "Afdeling B", "kind": "department", "parent_id": o})["id"]
    a1 = srv.create("teams", {"name": "Team \"Noord\"\nwest", "kind": "team", "parent_id": da})["id"]
    a2 = srv.create("teams", {"name": "Team A2", "kind": "team", "parent_id": da})["id"]
    b1 = srv.create("teams", {"name": "Team B1", "kind": "team", "parent_id": db})["id"]
    dup = "Dubbel " + ks.uniq("d")
    srv.create("teams", {"name": dup, "kind": "team", "parent_id": db})
    srv.create("teams", {"name": dup, "kind": "team", "parent_id": db})
    return {"org": o, "da": da, "db": db, "a1": a1, "a2": a2, "b1": b1, "emp": f["emp1"]["id"],
            "tp": f["tp1"]["id"], "cust": f["cust_nl"]["id"], "dup": dup, "fixture_dept": f["dept"]["id"]}


def main(t):
    srv = ks.Server(t, args=["--test-clock", NOW, "--quiet"])
    try:
        t.healthz(srv.start(), "server starts in test mode")
        test_catalogue(t, srv)
        org = fixture(srv)
        test_values(t, srv, org)
        test_targets(t, srv, org)
        test_hard_series(t, srv, org)
        test_soft_series(t, srv, org)
        test_store_soft(t, srv, org)
        test_manager(t, srv, org)
        test_import(t, srv, org)
        test_import_numbers(t, srv, org)
    finally:
        srv.stop()
        srv.cleanup()
    test_theme_shares(t)


if __name__ == "__main__":
    ks.run(main, start_server=False)
