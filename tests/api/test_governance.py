#!/usr/bin/python3
"""Governance links (issue 17, part L): GET /api/v1/governance/links, /map and
/overview.

Part 1, a fresh database: who may call them (directors and admins; 403 for
the others), every parameter's 422 naming it (lag 7, a missing lag, an
unknown KPI, a soft key as the hard side, a hard key as the soft side, ...),
"not enough data" with its reason where there is no data.

Part 2, the demo (`klantstem demo --scale KS_GOV_SCALE`, default 30): part K's
demo gives the four teams of "Klantenservice" a cost to serve that falls two
months after their NPS rises, and the other four teams none
(docs/GOVERNANCE.md "KPIs"). The test asks:
  - links level=team units=<the four> lag=2: beta < 0, p < 0.05, interval
    below zero, a favourable sentence; units=<the other four>: p > 0.05;
  - the numbers are those of an independent computation: the panel read
    from GET /api/v1/kpi-series (part K's route), the fixed-effects
    regression on unit dummies, CR1 cluster SE, t(G-1), the within
    correlations, from tests/ref/panel_ref.py (numpy) — 1e-6 relative (the
    API prints 10 significant digits);
  - department=<Klantenservice> is the same as units=<its teams>;
  - the map: every soft × hard pair; its q-values are Benjamini-Hochberg of
    its own p-values (recomputed here), flag iff q < 0.05;
  - no reply says "causes" / "veroorzaakt" (nor "oorzaak"), in any language.
"""

import os
import re
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ref"))
import ks  # noqa: E402
import user_fx  # noqa: E402
import panel_ref  # noqa: E402  (numpy; the independent reference of the statistics)

import numpy as np  # noqa: E402

PASSWORD = "governance-test-password"
SOFT = ("nps", "grade", "ces", "enps", "response_rate", "case_sla")
FORBIDDEN = re.compile(r"caus|veroorza|oorzaak", re.I)


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def as_cookie(srv, session, path):
    return srv.request("GET", path, headers={"Cookie": session["Cookie"]}, auth=False)


def q(params):
    return urllib.parse.urlencode(params)


def no_cause_words(t, body, what):
    text = str(body)
    m = FORBIDDEN.search(text)
    t.check(m is None, "%s: no 'causes'/'veroorzaakt' in the reply" % what,
            None if m is None else text[max(0, m.start() - 80):m.end() + 80])


# ---------------------------------------------------------------------------
# part 1: roles, parameters, not enough data


def test_fresh(t):
    srv = ks.Server(t)
    try:
        srv.start()
        f = ks.base_fixture(srv)
        users = {}
        for role, extra in (("employee", {"employee_id": f["emp1"]["id"]}), ("team_lead", {"unit_id": f["team"]["id"]}),
                            ("manager", {"unit_id": f["dept"]["id"]}), ("director", {})):
            email = "%s-%s@gov.test" % (role, ks.uniq("u"))
            srv.create("users", dict({"email": email, "name": "Gov " + role, "role": role, "password": PASSWORD},
                                     **extra))
            users[role] = user_fx.session(srv, email, PASSWORD)
        links = "/api/v1/governance/links?" + q({"soft": "nps", "hard": "cost_to_serve", "lag": 2})
        routes = (links, "/api/v1/governance/map?lag=0", "/api/v1/governance/overview")
        for path in routes:
            for role in ("employee", "team_lead", "manager"):
                t.error(as_cookie(srv, users[role], path), 403, "forbidden", None,
                        "%s: a %s is refused (403)" % (path.split("?")[0], role))
            t.status(as_cookie(srv, users["director"], path), 200, "%s: a director reads it" % path.split("?")[0])
            t.status(srv.request("GET", path, auth=False), 401, "%s: anonymous -> 401" % path.split("?")[0])

        # every parameter's 422 names it
        def bad(params, field, code, what, route="links"):
            t.error(srv.get("/api/v1/governance/%s?%s" % (route, q(params))), 422, code, field, what)

        base = {"soft": "nps", "hard": "cost_to_serve", "lag": 2}
        bad(dict(base, lag=7), "lag", "out_of_range", "links: lag 7 -> 422 lag")
        bad(dict(base, lag=-1), "lag", "out_of_range", "links: lag -1 -> 422 lag")
        bad(dict(base, lag="2.0"), "lag", "out_of_range", "links: lag 2.0 -> 422 lag")
        bad({"soft": "nps", "hard": "cost_to_serve"}, "lag", "invalid", "links: no lag -> 422 lag (the user chooses it)")
        bad(dict(base, hard="nps"), "hard", "invalid", "links: a soft key as the hard side -> 422 hard")
        bad(dict(base, hard="theme:3"), "hard", "invalid", "links: a theme share as the hard side -> 422 hard")
        bad(dict(base, hard="no_such_kpi"), "hard", "invalid", "links: an unknown hard KPI -> 422 hard")
        bad(dict(base, soft="cost_to_serve"), "soft", "invalid", "links: a hard key as the soft side -> 422 soft")
        bad(dict(base, soft="happiness"), "soft", "invalid", "links: an unknown soft KPI -> 422 soft")
        bad({"hard": "cost_to_serve", "lag": 1}, "soft", "invalid", "links: no soft -> 422 soft")
        bad(dict(base, soft="theme:99999"), "soft", "invalid", "links: an unknown theme -> 422 soft")
        bad(dict(base, level="organisation"), "level", "invalid", "links: level organisation -> 422 level")
        bad(dict(base, level="employee"), "level", "invalid", "links: level employee -> 422 level")
        bad(dict(base, **{"from": "2026-13"}), "from", "invalid", "links: from 2026-13 -> 422 from")
        bad(dict(base, **{"from": "2026-05", "to": "2026-04"}), "to", "out_of_range", "links: to before from -> 422 to")
        bad(dict(base, **{"from": "2010-01", "to": "2026-04"}), "from", "out_of_range",
            "links: more than 120 months -> 422 from")
        bad(dict(base, units="x"), "units", "invalid", "links: units=x -> 422 units")
        bad(dict(base, units=str(f["dept"]["id"])), "units", "invalid",
            "links: a department in units at level team -> 422 units")
        bad(dict(base, department=f["team"]["id"]), "department", "invalid",
            "links: department=<a team> -> 422 department")
        bad(dict(base, department=f["dept"]["id"], level="department"), "department", "invalid",
            "links: department= at level department -> 422 department")
        bad(dict(base, units=f["team"]["id"], department=f["dept"]["id"]), "units", "invalid",
            "links: units and department together -> 422 units")
        bad(dict(base, employee_id=f["emp1"]["id"]), "employee_id", "invalid",
            "links: an unknown parameter (employee_id) -> 422 naming it")
        # a default bound stays within the months a period may name, and a 422 names a parameter given
        w = must(srv.get("/api/v1/governance/links?" + q(dict(base, to="1900-05"))), 200, "links to=1900-05 alone")
        t.eq((w["from"], w["to"]), ("1900-01", "1900-05"),
             "links: to=1900-05 alone -> the window starts at 1900-01 (not a 422 naming from)")
        w = must(srv.get("/api/v1/governance/overview?to=1900-05"), 200, "overview to=1900-05 alone")
        t.eq(w["periods"], ["1900-0%d" % m for m in range(1, 6)], "overview: to=1900-05 alone -> 1900-01..05")
        bad(dict(base, **{"from": "2999-01"}), "from", "out_of_range",
            "links: from=2999-01 alone (after the last whole month) -> 422 naming from, not to")
        bad({"lag": 9}, "lag", "out_of_range", "map: lag 9 -> 422 lag", route="map")
        bad({}, "lag", "invalid", "map: no lag -> 422 lag", route="map")
        bad({"lag": 1, "soft": "nps"}, "soft", "invalid", "map: soft is no parameter of the map", route="map")
        bad({"lag": 1}, "lag", "invalid", "overview: lag is no parameter of the overview", route="overview")

        # no data: the numbers are withheld, with the reason
        body = must(srv.get(links + "&" + q({"from": "2026-01", "to": "2026-12"})), 200, "links")
        r = body["regression"]
        t.eq((r["enough"], r["reason"], r["beta"], r["p"], r["n_units"], r["n_pairs"]),
             (False, "too_few_units", None, None, 0, 0), "links without data: not enough data, too_few_units, no beta")
        t.eq([c["lag"] for c in body["correlations"]], list(range(7)), "links: correlations at lags 0..6")
        t.check(all(c["r"] is None and c["reason"] == "too_few_units" for c in body["correlations"]),
                "links without data: no correlation either", ks.short(body["correlations"]))
        t.check(body["sentence"]["en"].startswith("Not enough data") and
                body["sentence"]["nl"].startswith("Te weinig gegevens"),
                "links without data: the sentence says not enough data (nl, en)", ks.short(body["sentence"]))
        t.eq((body["lag"], body["lag_chosen_by"], body["from"], body["to"], body["level"]),
             (2, "user", "2026-01", "2026-12", "team"), "links: echoes the user's lag, window and level")
        t.eq(body["minimums"], {"units": 4, "periods": 6, "pairs": 30}, "links: the minimums are stated")
        no_cause_words(t, body, "links (no data)")
        m = must(srv.get("/api/v1/governance/map?lag=0&level=department"), 200, "map")
        hard_keys = sorted(k["key"] for k in must(srv.get("/api/v1/kpis"), 200, "kpis")["kpis"])
        t.eq(len(hard_keys), 7, "the catalogue holds the seed's seven KPIs")
        t.eq(sorted((p["soft"], p["hard"]) for p in m["pairs"]), sorted((s, h) for s in SOFT for h in hard_keys),
             "map: every soft KPI x every hard KPI of the catalogue, once each")
        t.check(all(p["flag"] is False and p["q"] is None and not p["enough"] for p in m["pairs"]),
                "map without data: no pair flagged, none with a q", ks.short(m["pairs"][:2]))
        t.eq(m["fdr"]["family"], 0, "map without data: the BH family is empty")
        no_cause_words(t, m, "map (no data)")
        o = must(srv.get("/api/v1/governance/overview?from=2026-01&to=2026-06"), 200, "overview")
        t.eq([d["department"] for d in o["departments"]],
             ["sales", "marketing", "finance", "operations", "hr", "service"], "overview: the six departments")
        ops = o["departments"][3]["kpis"]
        t.eq([k["key"] for k in ops["output"]], ["cost_to_serve"], "overview: operations' output KPI is cost_to_serve")
        t.eq(len(o["periods"]), 6, "overview: six months 2026-01..06")
        t.eq(o["goals_note"]["en"], "Goals are set per team, never per person.", "overview: goals per team, en")
        no_cause_words(t, o, "overview")
    finally:
        srv.stop()
        srv.cleanup()


# ---------------------------------------------------------------------------
# part 2: the demo's built-in lag


def series(srv, kpi, frm, to):
    b = must(srv.get("/api/v1/kpi-series?" + q({"kpi": kpi, "level": "team", "from": frm, "to": to})), 200,
             "kpi-series " + kpi)
    return b


def panel_from(soft_s, hard_s, units):
    """The (unit, t, soft, hard) rows of panel_ref from two kpi-series replies."""
    by_unit = {u["unit_id"]: u["values"] for u in hard_s["units"]}
    soft = []
    hard = []
    for u in soft_s["units"]:
        if u["unit_id"] not in units:
            continue
        soft.append([np.nan if v is None else v for v in u["values"]])
        hard.append([np.nan if v is None else v for v in by_unit[u["unit_id"]]])
    return np.array(soft, dtype=float), np.array(hard, dtype=float)


def rel_ok(got, want):
    """The API prints reals with 10 significant digits (and the series it
    reads them from too), so agreement is to 1e-6 relative, or 1e-9 absolute
    for numbers near zero; the statistics themselves are held to 1e-9 by
    tests/unit/test_governance_links.c."""
    return got is not None and abs(got - want) <= max(1e-6 * abs(want), 1e-9)


def latest_in(values, periods, months):
    """The last present value among the months (a set of 'YYYY-MM')."""
    best = None
    for p, v in zip(periods, values):
        if p in months and v is not None:
            best = (p, v)
    return best


def months_of(period):
    y = int(period[:4])
    if len(period) == 4:
        return {"%04d-%02d" % (y, m) for m in range(1, 13)}
    if period[5] == "Q":
        q0 = 3 * (int(period[6]) - 1)
        return {"%04d-%02d" % (y, q0 + m) for m in range(1, 4)}
    return {period}


def check_targets(t, srv, o, related):
    """Targets on the organisation and on teams, and a team goal, as the
    overview shows them: values and "met" worked out here from the series."""
    frm, to = o["from"], o["to"]
    periods = o["periods"]
    org = series_at(srv, "cost_to_serve", "organisation", frm, to)["units"][0]["values"]
    team = {u["unit_id"]: u["values"] for u in series_at(srv, "cost_to_serve", "team", frm, to)["units"]}
    year, quarter = to[:4], "%s-Q%d" % (to[:4], (int(to[5:7]) - 1) // 3 + 1)
    org_latest = [v for v in org if v is not None][-1]
    # the organisation: a year target it misses and a quarter target it meets; the quarter wins
    must(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "cost_to_serve", "unit_id": o["organisation_id"],
                                                   "period": year, "target": org_latest - 5}), 200, "org year target")
    must(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "cost_to_serve", "unit_id": o["organisation_id"],
                                                   "period": quarter, "target": org_latest + 1}), 200, "org quarter target")
    # two teams: one meets its year target (lower is better), one misses its month target
    a, b = related[0], related[1]
    la = latest_in(team[a], periods, months_of(year))
    lb = latest_in(team[b], periods, {to})
    must(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "cost_to_serve", "unit_id": a, "period": year,
                                                   "target": la[1] + 2}), 200, "team a target")
    must(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "cost_to_serve", "unit_id": b, "period": to,
                                                   "target": lb[1] - 2}), 200, "team b target")
    must(srv.request("PUT", "/api/v1/teams/%d/goals" % a, {"period": quarter, "metric": "nps", "target": 30}), 200,
         "team goal")
    o2 = must(srv.get("/api/v1/governance/overview"), 200, "overview with targets")
    k = o2["departments"][3]["kpis"]["output"][0]
    lq = latest_in(org, periods, months_of(quarter))
    t.eq((k["target"], k["latest"]["value"], k["on_target"]),
         ({"period": quarter, "target": org_latest + 1, "value": lq[1], "value_period": lq[0]}, org_latest,
          lq[1] <= org_latest + 1),
         "overview: the organisation's quarter target wins over its year target, judged on the quarter's "
         "latest value")
    # a target for next year, with a window ending in its January: no value of next year yet, so it is
    # neither met nor missed - the latest value of this year does not count for it
    nxt = str(int(year) + 1)
    must(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "cost_to_serve", "unit_id": o["organisation_id"],
                                                   "period": nxt, "target": org_latest + 1000}), 200,
         "org next-year target")
    o3 = must(srv.get("/api/v1/governance/overview?" + q({"to": nxt + "-01"})), 200, "overview to next January")
    k3 = o3["departments"][3]["kpis"]["output"][0]
    org3 = [v for v in series_at(srv, "cost_to_serve", "organisation", o3["from"], o3["to"])["units"][0]["values"]
            if v is not None]
    t.check(len(org3) > 0, "overview to next January: the window holds this year's values", ks.short(k3))
    t.eq((k3["target"], k3["on_target"]),
         ({"period": nxt, "target": org_latest + 1000, "value": None, "value_period": None}, None),
         "overview: a next-year target is not 'met' by a value of this year (no value in its period: null)")
    tt = {x["team_id"]: x for x in o2["team_targets"] if x["kpi"] == "cost_to_serve"}
    t.eq((tt[a]["period"], tt[a]["value_period"], tt[a]["value"], tt[a]["met"], tt[a]["higher_is_better"]),
         (year, la[0], la[1], True, False), "overview: team A's year target, its latest month of the year, met")
    t.eq((tt[b]["period"], tt[b]["value_period"], tt[b]["value"], tt[b]["met"]),
         (to, to, lb[1], False), "overview: team B's month target, not met")
    goals = {g["team_id"]: g["goals"] for g in o2["team_goals"]}
    t.eq([(g["metric"], g["period"], g["target"]) for g in goals.get(a, [])], [("nps", quarter, 30.0)],
         "overview: the team goal of team A with its progress")
    t.check(goals.get(a) and goals[a][0]["status"] in ("reached", "likely", "too_close_to_call", "not_reached",
                                                       "insufficient_data"),
            "overview: the goal carries a progress status", ks.short(goals.get(a)))
    t.eq(o2["goals_note"], {"nl": "Doelen gelden per team, nooit per persoon.",
                            "en": "Goals are set per team, never per person."}, "overview: goals per team, never per person")


def check_still_hard(t, srv, units, frm, to):
    """A hard KPI constant within every team, at values binary floating point
    cannot hold (0.1 (i+1) + 0.3): nothing to explain, so no beta, no p, no
    flag - the reason says the hard KPI does not move. (Taking each team's
    mean left rounding of 1e-17 that a regression fitted: a random t.)"""
    st, _, k = srv.post("/api/v1/kpis", {"key": "still_cost", "name_nl": "Vaste kosten", "name_en": "Fixed cost",
                                         "unit": "EUR", "higher_is_better": False, "department": "finance",
                                         "kind": "output", "aggregation": "mean"})
    if not t.check(st == 201, "create a hard KPI still_cost", ks.got(st, k)):
        return
    teams = sorted(u["id"] for u in units if u.get("kind") == "team")
    months = []
    y, m = int(frm[:4]), int(frm[5:7])
    while "%04d-%02d" % (y, m) <= to:
        months.append("%04d-%02d" % (y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    vals = [{"unit_id": u, "period": p, "value": 0.1 * (i + 1) + 0.3} for i, u in enumerate(teams) for p in months]
    must(srv.request("PUT", "/api/v1/kpis/%d/values" % k["id"], {"values": vals}), 200, "still_cost values")
    for lag in (0, 2):
        b = must(srv.get("/api/v1/governance/links?" + q({"soft": "nps", "hard": "still_cost", "level": "team",
                                                         "lag": lag, "from": frm, "to": to})), 200,
                 "links still_cost lag %d" % lag)
        r = b["regression"]
        t.eq((r["enough"], r["reason"], r["beta"], r["p"], r["n_units"]),
             (False, "no_variation_within_units", None, None, len(teams)),
             "links: a hard KPI constant within every team, lag %d -> no_variation_within_units, no beta, no p" % lag)
        t.check(all(c["r"] is None and c["reason"] == "no_variation_within_units"
                    for c in b["correlations"] if c["n_units"] >= 4 and c["n_pairs"] >= 30),
                "links: ... and no within correlation at any lag with enough pairs", ks.short(b["correlations"]))
        en, nl = b["sentence"]["en"], b["sentence"]["nl"]
        t.check(en.startswith("Not enough data") and "Fixed cost does not move within the teams" in en
                and "p =" not in en and "Vaste kosten beweegt niet binnen de teams" in nl and "p =" not in nl,
                "links: the sentence says the hard KPI does not move (no 'p = 1.000')", en + " | " + nl)
    mp = must(srv.get("/api/v1/governance/map?" + q({"level": "team", "lag": 0, "from": frm, "to": to})), 200,
              "map with still_cost")
    still = [p for p in mp["pairs"] if p["hard"] == "still_cost"]
    t.check(len(still) == len(SOFT) and all(not p["enough"] and p["flag"] is False and p["q"] is None
                                            for p in still),
            "map: a constant hard KPI is never flagged and never enters the BH family", ks.short(still))


def series_at(srv, kpi, level, frm, to):
    return must(srv.get("/api/v1/kpi-series?" + q({"kpi": kpi, "level": level, "from": frm, "to": to})), 200,
                "kpi-series %s %s" % (kpi, level))


def test_demo(t):
    scale = os.environ.get("KS_GOV_SCALE", "30")
    srv = ks.Server(t)
    try:
        rc, out, err = ks.demo_into(srv.db, scale, 900)
        if not t.check(rc == 0 and ks.sanitizer_report(err) is None, "demo --scale %s fills the database" % scale,
                       "exit %s\n%s\n%s" % (rc, out[-2000:], err[-4000:])):
            return
        srv.start()
        units = srv.list_all("teams")
        dept = {u["name"]: u["id"] for u in units if u.get("kind") == "department"}
        ks_id = dept.get("Klantenservice")
        related = sorted(u["id"] for u in units if u.get("kind") == "team" and u.get("parent_id") == ks_id)
        null = sorted(u["id"] for u in units if u.get("kind") == "team" and u.get("parent_id") != ks_id)
        t.eq((len(related), len(null)), (4, 4), "demo: four teams in Klantenservice, four elsewhere")
        base = {"soft": "nps", "hard": "cost_to_serve", "level": "team", "lag": 2}
        rel = must(srv.get("/api/v1/governance/links?" + q(dict(base, units=",".join(map(str, related))))), 200,
                   "links related")
        frm, to = rel["from"], rel["to"]
        r = rel["regression"]
        t.check(r["enough"] and r["beta"] < 0 and r["p"] < 0.05 and r["ci_high"] < 0,
                "demo: Klantenservice's teams - NPS is associated with a lower cost to serve two months later "
                "(beta < 0, p < 0.05)", ks.short(r))
        t.eq((r["n_units"], r["few_units"]), (4, True), "demo: it rests on the four teams, with the few-units caution")
        en, nl = rel["sentence"]["en"], rel["sentence"]["nl"]
        t.check("associated with" in en and "Favourable" in en and "two months later" not in en and
                "2 months later" in en, "demo: the English sentence: associated with, favourable, 2 months later", en)
        t.check("hangt" in nl and "samen met" in nl and "Gunstig" in nl and "lagere" in nl,
                "demo: the Dutch sentence: hangt samen met, gunstig, lagere", nl)
        no_cause_words(t, rel, "links (demo, related)")
        nul = must(srv.get("/api/v1/governance/links?" + q(dict(base, units=",".join(map(str, null))))), 200,
                   "links null")
        rn = nul["regression"]
        t.check(not rn["enough"] or rn["p"] > 0.05,
                "demo: the other four teams - no link found at lag 2 (p > 0.05)", ks.short(rn))
        t.check("not clearly associated" in nul["sentence"]["en"] or not rn["enough"],
                "demo: the null teams' sentence says not clearly associated", nul["sentence"]["en"])
        dl = must(srv.get("/api/v1/governance/links?" + q(dict(base, level="department"))), 200, "links dept level")
        t.eq((dl["regression"]["enough"], dl["regression"]["reason"], dl["regression"]["n_units"], dl["regression"]["beta"]),
             (False, "too_few_units", 3, None), "demo: three departments are too few units - no beta, the reason said")
        t.check(dl["sentence"]["en"].startswith("Not enough data") and "3 departments" in dl["sentence"]["en"]
                and "at least 4 needed" in dl["sentence"]["en"], "demo: the sentence says why (3 departments, 4 needed)",
                dl["sentence"]["en"])
        by_dept = must(srv.get("/api/v1/governance/links?" + q(dict(base, department=ks_id))), 200, "links dept")
        t.eq(by_dept["regression"], r, "demo: department=<Klantenservice> is units=<its four teams>")

        # the same numbers, computed independently from the series
        ss, hs = series(srv, "nps", frm, to), series(srv, "cost_to_serve", frm, to)
        for name, chosen, reply in (("related", related, rel), ("null", null, nul)):
            soft, hard = panel_from(ss, hs, set(chosen))
            for lag in range(7):
                rows = panel_ref.pairs(soft, hard, lag)
                c = reply["correlations"][lag]
                t.eq((c["n_pairs"], c["n_units"], c["n_periods"]),
                     (len(rows), len({x[0] for x in rows}), len({x[1] for x in rows})),
                     "demo %s lag %d: the counts of the pairs" % (name, lag))
                if not c["enough"]:
                    continue
                want = panel_ref.within_corr(rows)
                t.check(all(rel_ok(c[k], want[w]) for k, w in (("r", "r"), ("ci_low", "lo"), ("ci_high", "hi"))),
                        "demo %s lag %d: the within correlation and its interval (1e-6)" % (name, lag),
                        "got %s\nwant %s" % (c, want))
            rows = panel_ref.pairs(soft, hard, 2)
            if reply["regression"]["enough"]:
                want = panel_ref.fe_fit(rows)
                got = reply["regression"]
                t.check(all(rel_ok(got[k], want[w]) for k, w in (("beta", "beta"), ("se", "se"), ("p", "p"),
                                                                 ("ci_low", "lo"), ("ci_high", "hi"))),
                        "demo %s: beta, cluster SE, p and interval as the dummy regression computes them (1e-6)"
                        % name, "got %s\nwant %s" % (got, want))

        # the map: BH over its own p-values
        m = must(srv.get("/api/v1/governance/map?" + q({"level": "team", "lag": 2})), 200, "map")
        fam = [p for p in m["pairs"] if p["enough"]]
        t.eq(m["fdr"]["family"], len(fam), "map: the BH family is the pairs with enough data")
        want_q = panel_ref.bh([p["p"] for p in fam]) if fam else []
        t.check(all(rel_ok(p["q"], w) for p, w in zip(fam, want_q)),
                "map: q = Benjamini-Hochberg of the map's p-values", ks.short([(p["p"], p["q"]) for p in fam]))
        t.check(all(p["flag"] == (p["q"] < 0.05) for p in fam) and
                all(p["flag"] is False for p in m["pairs"] if not p["enough"]),
                "map: a pair is flagged iff q < 0.05", ks.short(m["pairs"]))
        t.check(any(p["soft"] == "nps" and p["hard"] == "cost_to_serve" and p["enough"] for p in m["pairs"]),
                "map: NPS x cost to serve has enough data at team level", ks.short(m["pairs"]))
        t.eq(m["fdr"]["flagged"], sum(1 for p in fam if p["flag"]), "map: flagged counts the flags")
        no_cause_words(t, m, "map (demo)")
        o = must(srv.get("/api/v1/governance/overview"), 200, "overview")
        ops = o["departments"][3]["kpis"]["output"][0]
        check_targets(t, srv, o, related)
        t.check(ops["key"] == "cost_to_serve" and len(ops["values"]) == len(o["periods"]) and
                any(v is not None for v in ops["values"]),
                "overview (demo): cost to serve month by month for the organisation", ks.short(ops))
        no_cause_words(t, o, "overview (demo)")
        check_still_hard(t, srv, units, frm, to)
    finally:
        srv.stop()
        srv.cleanup()


def main(t):
    if os.environ.get("KS_ONLY") != "demo":
        test_fresh(t)
    if os.environ.get("KS_ONLY") != "fresh":
        test_demo(t)


if __name__ == "__main__":
    ks.run(main, start_server=False)
