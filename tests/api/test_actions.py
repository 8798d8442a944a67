#!/usr/bin/python3
"""Improvement actions (docs/API.md, "Improvement actions"): CRUD with
validation (422 naming the field, unknown references, the status flow),
scope per role (team lead, manager, employee) and the measured effect:
GET /api/v1/actions/{id}/effect on responses with a known change (a real
change, identical distributions, too few answers). Expected differences
are computed here from the exact counts posted."""

import datetime
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

PASSWORD = "actions-test-pw"
KEYS = {"id", "title", "description", "theme", "owner_id", "owner_name", "status", "start_date", "deadline",
        "journey_id", "touchpoint_id", "team_id", "created_by", "created_at", "updated_at"}


class Session:
    """A logged-in user (session cookie, CSRF token on writes)."""

    def __init__(self, srv, email):
        self.srv = srv
        st, hd, body = srv.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, auth=False)
        cookie = None
        for sc in (hd.get_all("Set-Cookie") or []) if hd is not None else []:
            m = re.match(r"ks_session=([^;]+)", sc)
            if m:
                cookie = m.group(1)
        if st != 200 or not cookie or not isinstance(body, dict):
            raise ks.FixtureError("login %s -> %s %s" % (email, st, ks.short(body)))
        self.cookie = cookie
        self.csrf = body.get("csrf_token")
        self.user = body.get("user")

    def get(self, path):
        return self.srv.request("GET", path, headers={"Cookie": "ks_session=" + self.cookie}, auth=False)

    def send(self, method, path, body):
        h = {"Cookie": "ks_session=" + self.cookie, "X-CSRF-Token": self.csrf}
        return self.srv.request(method, path, body, headers=h, auth=False)


def make_user(srv, role, employee_id=None, unit_id=None):
    email = "%s@actions.test" % ks.uniq(role)
    body = {"email": email, "name": role.title(), "role": role, "password": PASSWORD}
    if employee_id:
        body["employee_id"] = employee_id
    if unit_id:
        body["unit_id"] = unit_id
    st, _, u = srv.post("/api/v1/users", body)
    if st != 201:
        raise ks.FixtureError("POST /api/v1/users %s -> %s %s" % (ks.short(body), st, ks.short(u)))
    return Session(srv, email)


def day(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")


def nps_of(p, d, n):
    return 100.0 * (p - d) / n


def post_scores(srv, tag, tp, scores, t0):
    for i, s in enumerate(scores):
        srv.create("responses", {"client_key": "%s-%d" % (tag, i), "touchpoint_id": tp, "channel": "phone",
                                 "received_at": ks.iso(t0 + i * 60), "answers": {"nps": s}})


def test_crud(t, srv, f, me):
    base = {"title": "Terugbelbelofte nakomen", "owner_id": me, "start_date": "2026-03-01",
            "touchpoint_id": f["tp1"]["id"], "team_id": f["team"]["id"]}
    st, _, a = srv.post("/api/v1/actions", dict(base, description="Bel binnen 24 uur terug",
                                                deadline="2026-06-01", journey_id=f["journey"]["id"]))
    t.check(st == 201 and isinstance(a, dict) and set(a) == KEYS, "POST /actions -> 201 with every field",
            ks.got(st, a))
    t.eq((a.get("status"), a.get("start_date"), a.get("deadline"), a.get("created_by")),
         ("planned", "2026-03-01", "2026-06-01", me), "new action: planned, dates as given, created_by the caller")
    t.eq(a.get("owner_name"), srv.sql("SELECT name FROM users WHERE id = ?", (me,))[0][0],
         "new action: owner_name is the owner's name (for roles that cannot list users)")
    aid = a["id"]
    st, _, g = srv.get("/api/v1/actions/%d" % aid)
    t.eq((st, g), (200, a), "GET /actions/{id} returns the stored action")
    st, _, th = srv.post("/api/v1/actions", {"title": "Uitleg factuur", "owner_id": me,
                                             "start_date": "2026-04-01", "theme": "factuur onduidelijk"})
    t.check(st == 201 and th.get("theme") == "factuur onduidelijk" and th.get("team_id") is None,
            "an action from a theme alone (no team, no touchpoint)", ks.got(st, th))

    # validation: 422 naming the field
    bad = [
        ({k: v for k, v in base.items() if k != "title"}, "invalid", "title", "missing title"),
        (dict(base, title="   "), "invalid", "title", "blank title"),
        (dict(base, title=5), "invalid", "title", "title not a string"),
        (dict(base, title="x" * 201), "out_of_range", "title", "title over 200 bytes"),
        ({k: v for k, v in base.items() if k != "owner_id"}, "invalid", "owner_id", "missing owner_id"),
        (dict(base, owner_id=999999), "unknown_reference", "owner_id", "unknown owner"),
        (dict(base, touchpoint_id=999999), "unknown_reference", "touchpoint_id", "unknown touchpoint"),
        (dict(base, team_id=999999), "unknown_reference", "team_id", "unknown team"),
        (dict(base, journey_id=999999), "unknown_reference", "journey_id", "unknown journey"),
        (dict(base, start_date="2026-02-31"), "invalid", "start_date", "start_date that does not exist"),
        (dict(base, start_date="1 maart"), "invalid", "start_date", "start_date not a date"),
        ({k: v for k, v in base.items() if k != "start_date"}, "invalid", "start_date", "missing start_date"),
        (dict(base, deadline="2026-02-01"), "out_of_range", "deadline", "deadline before start_date"),
        (dict(base, status="done"), "invalid", "status", "a new action cannot be done"),
        (dict(base, status="later"), "invalid", "status", "unknown status"),
        (dict(base, colour="red"), "invalid", "colour", "unknown field"),
        ({"title": "x", "owner_id": me, "start_date": "2026-03-01"}, "invalid", "touchpoint_id",
         "no insight (no touchpoint, team, journey or theme)"),
    ]
    for body, code, field, what in bad:
        t.error(srv.post("/api/v1/actions", body), 422, code, field, "POST /actions: %s -> 422" % what)
    # a touchpoint on another journey
    j2 = srv.create("journeys", {"name": "Verhuizen " + ks.uniq("j")})
    t.error(srv.post("/api/v1/actions", dict(base, journey_id=j2["id"])), 422, "invalid", "touchpoint_id",
            "POST /actions: touchpoint not on the journey -> 422")
    t.error(srv.post("/api/v1/actions", "[1]"), 400, None, None, "POST /actions: body not an object -> 400")

    # status flow
    path = "/api/v1/actions/%d" % aid
    t.error(srv.patch(path, {"status": "done"}), 422, "invalid", "status", "PATCH planned -> done refused")
    st, _, p = srv.patch(path, {"status": "in_progress", "title": "Terugbelbelofte altijd nakomen"})
    t.check(st == 200 and p.get("status") == "in_progress" and p.get("title") == "Terugbelbelofte altijd nakomen"
            and p.get("description") == "Bel binnen 24 uur terug",
            "PATCH planned -> in_progress, other fields kept", ks.got(st, p))
    t.error(srv.patch(path, {"status": "planned"}), 422, "invalid", "status", "PATCH in_progress -> planned refused")
    t.error(srv.patch(path, {"deadline": "2026-01-01"}), 422, "out_of_range", "deadline",
            "PATCH deadline before start_date -> 422")
    t.error(srv.patch(path, {"owner_id": 888888}), 422, "unknown_reference", "owner_id",
            "PATCH unknown owner -> 422")
    t.error(srv.patch(path, {"title": None}), 422, "invalid", "title", "PATCH title null -> 422")
    st, _, p = srv.patch(path, {"status": "done", "deadline": None})
    t.check(st == 200 and p.get("status") == "done" and p.get("deadline") is None,
            "PATCH in_progress -> done, deadline cleared", ks.got(st, p))
    t.error(srv.patch(path, {"status": "in_progress"}), 422, "invalid", "status", "PATCH done -> in_progress refused")
    t.error(srv.patch(path, {"status": "cancelled"}), 422, "invalid", "status", "PATCH done -> cancelled refused")
    st, _, c = srv.patch("/api/v1/actions/%d" % th["id"], {"status": "cancelled"})
    t.check(st == 200 and c.get("status") == "cancelled", "PATCH planned -> cancelled", ks.got(st, c))
    t.error(srv.get("/api/v1/actions/999999"), 404, "not_found", None, "GET unknown action -> 404")
    t.error(srv.patch("/api/v1/actions/999999", {"status": "done"}), 404, "not_found", None,
            "PATCH unknown action -> 404")

    # list: filters, pagination, unknown parameters
    st, _, lst = srv.get("/api/v1/actions?status=done")
    t.check(st == 200 and [x["id"] for x in lst.get("items", [])] == [aid] and lst.get("next_cursor") is None,
            "GET /actions?status=done lists the done action", ks.got(st, lst))
    st, _, lst = srv.get("/api/v1/actions?limit=1")
    t.check(st == 200 and len(lst["items"]) == 1 and lst.get("next_cursor") == lst["items"][0]["id"],
            "GET /actions?limit=1 -> one item and a cursor", ks.got(st, lst))
    st, _, lst2 = srv.get("/api/v1/actions?limit=1&cursor=%d" % lst["next_cursor"])
    t.check(st == 200 and lst2["items"] and lst2["items"][0]["id"] > lst["items"][0]["id"],
            "the cursor gives the next page", ks.got(st, lst2))
    t.error(srv.get("/api/v1/actions?stat=done"), 422, "invalid", "stat", "GET /actions unknown parameter -> 422")
    t.error(srv.get("/api/v1/actions?status=later"), 422, "invalid", "status", "GET /actions bad status -> 422")
    return aid


def test_scope(t, srv, f, me):
    team2 = srv.create("teams", {"name": "Team Zuid " + ks.uniq("t"), "kind": "team",
                                 "parent_id": f["dept"]["id"]})
    a1 = srv.create("actions", {"title": "A team 1", "owner_id": me, "start_date": "2026-05-01",
                                "team_id": f["team"]["id"]})
    a2 = srv.create("actions", {"title": "A team 2", "owner_id": me, "start_date": "2026-05-01",
                                "team_id": team2["id"]})
    a0 = srv.create("actions", {"title": "A organisation", "owner_id": me, "start_date": "2026-05-01",
                                "touchpoint_id": f["tp2"]["id"]})
    lead = make_user(srv, "team_lead", unit_id=f["team"]["id"])
    mgr = make_user(srv, "manager", unit_id=f["dept"]["id"])
    emp = make_user(srv, "employee", employee_id=f["emp1"]["id"])
    mine = {a1["id"], a2["id"], a0["id"]}

    def ids(sess):
        st, _, b = sess.get("/api/v1/actions?limit=500")
        return st, {x["id"] for x in b.get("items", [])} & mine if isinstance(b, dict) else None

    t.eq(ids(lead), (200, {a1["id"], a0["id"]}), "team lead lists own team's and team-less actions, not team 2's")
    t.eq(ids(mgr), (200, mine), "manager lists the department's teams' actions and team-less ones")
    t.eq(ids(emp), (200, {a1["id"]}), "employee lists only the own team's actions")
    st, _, got = lead.get("/api/v1/actions/%d" % a1["id"])
    t.eq((st, got), (200, a1), "team lead reads own team's action: 200, the row as created")
    t.error(lead.get("/api/v1/actions/%d" % a2["id"]), 403, "forbidden", None, "team lead reads team 2's action -> 403")
    t.error(lead.get("/api/v1/actions?team_id=%d" % team2["id"]), 403, "forbidden", "team_id",
            "team lead lists team 2 -> 403 team_id")
    t.error(emp.get("/api/v1/actions/%d" % a0["id"]), 403, "forbidden", None, "employee reads team-less action -> 403")
    st, _, got = emp.get("/api/v1/actions/%d" % a1["id"])
    t.eq((st, got), (200, a1), "employee reads own team's action: 200, the row as created")
    t.error(emp.send("POST", "/api/v1/actions", {"title": "x", "owner_id": me, "start_date": "2026-05-01",
                                                 "team_id": f["team"]["id"]}), 403, "forbidden", None,
            "employee creates an action -> 403")
    t.error(emp.send("PATCH", "/api/v1/actions/%d" % a1["id"], {"title": "y"}), 403, "forbidden", None,
            "employee changes an action -> 403")
    body = {"title": "Lead action", "owner_id": lead.user["id"], "start_date": "2026-05-01",
            "team_id": f["team"]["id"]}
    st, _, la = lead.send("POST", "/api/v1/actions", body)
    t.check(st == 201 and la.get("created_by") == lead.user["id"], "team lead creates an action for own team",
            ks.got(st, la))
    t.error(lead.send("POST", "/api/v1/actions", dict(body, team_id=team2["id"])), 403, "forbidden", "team_id",
            "team lead creates for team 2 -> 403 team_id")
    t.error(lead.send("POST", "/api/v1/actions", dict(body, team_id=None, theme="wachttijd")), 403, "forbidden",
            "team_id", "team lead creates a team-less action -> 403 team_id")
    st, _, got = lead.send("PATCH", "/api/v1/actions/%d" % a1["id"], {"status": "in_progress"})
    t.eq((st, got.get("id"), got.get("status")), (200, a1["id"], "in_progress"), "team lead moves own team's action on")
    t.error(lead.send("PATCH", "/api/v1/actions/%d" % a1["id"], {"team_id": team2["id"]}), 403, "forbidden",
            "team_id", "team lead moves an action to team 2 -> 403")
    t.error(lead.send("PATCH", "/api/v1/actions/%d" % a0["id"], {"title": "z"}), 403, "forbidden", "team_id",
            "team lead changes a team-less action -> 403")
    st, _, got = mgr.send("PATCH", "/api/v1/actions/%d" % a2["id"], {"status": "cancelled"})
    t.eq((st, got.get("id"), got.get("status")), (200, a2["id"], "cancelled"),
         "manager changes an action of a team in the department")
    t.status(emp.get("/api/v1/actions/%d/effect" % a1["id"]), 200, "employee reads the effect of own team's action")
    t.error(emp.get("/api/v1/actions/%d/effect" % a2["id"]), 403, "forbidden", None,
            "employee reads the effect of team 2's action -> 403")


def window_counts(srv, lo, hi, tp=None, exclude_tp=None):
    """NPS counts of the responses received in [lo, hi), from the file."""
    q = "SELECT nps, employee_id FROM responses WHERE received_at >= ? AND received_at < ? AND nps IS NOT NULL"
    args = [lo, hi]
    if tp is not None:
        q += " AND touchpoint_id = ?"
        args.append(tp)
    if exclude_tp is not None:
        q += " AND (touchpoint_id IS NULL OR touchpoint_id <> ?)"
        args.append(exclude_tp)
    c = ks.Counts()
    for nps, emp in srv.sql(q, tuple(args)):
        c.add(nps, None, None, emp)
    return c


def expect_did(srv, tpid, lo, mid, hi, min_n=5):
    """before, after, nps_change and vs_rest of one comparison of the
    effect, recomputed from the file: the unit's own change (adjusted-Wald
    z-test) and the difference in differences against everything else in
    the same windows."""
    ub, ua = window_counts(srv, lo, mid, tp=tpid), window_counts(srv, mid, hi, tp=tpid)
    cb, ca = window_counts(srv, lo, mid, exclude_tp=tpid), window_counts(srv, mid, hi, exclude_tp=tpid)
    before = dict(ks.cell_json(ub, min_n), **{"from": ks.local_iso(lo), "to": ks.local_iso(mid)})
    after = dict(ks.cell_json(ua, min_n), **{"from": ks.local_iso(mid), "to": ks.local_iso(hi)})
    return {"before": before, "after": after, "nps_change": ks.public(ks.compare_nps(ub, ua, min_n)),
            "vs_rest": ks.public(ks.did_nps(ub, ua, cb, ca, min_n))}


def did_part(o):
    keys = ("n", "min_n", "insufficient", "nps", "grade", "ces", "hidden", "from", "to")
    return {"before": {k: o["before"][k] for k in keys if k in o.get("before", {})},
            "after": {k: o["after"][k] for k in keys if k in o.get("after", {})},
            "nps_change": o.get("nps_change"), "vs_rest": o.get("vs_rest")} if isinstance(o, dict) else o


def test_effect(t, srv, f, me):
    """Windows of whole local days around the start date (local midnight),
    cut at the start of today: after = [start, start + len), before = the
    len days just before, len = min(window_days, days since the start);
    season = the same windows 364 days earlier, placebo = one window
    earlier. Expected figures from the file."""
    now = time.time()
    today = ks.start_of_local_day(now)
    today_d = ks.local_dt(now).date()
    start_d = today_d - datetime.timedelta(days=30)
    start = start_d.isoformat()

    def mid(d):
        return ks.local_midnight(d.year, d.month, d.day)

    def shift(days):
        return mid(start_d + datetime.timedelta(days=days))

    start_ts = mid(start_d)
    L = 30
    before_t0 = shift(-L) + 3600
    after_t0 = start_ts + 3600

    def tp(name):
        return srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": name + ks.uniq("tp")})

    def action(tpid, title):
        return srv.create("actions", {"title": title, "owner_id": me, "start_date": start, "touchpoint_id": tpid,
                                      "status": "in_progress"})

    # 1: NPS 0 before (100 promoters, 100 detractors), +60 after (140 / 40 / 20)
    tpa = tp("Monteur ")
    before = [10] * 100 + [3] * 100
    after = [9] * 140 + [8] * 40 + [2] * 20
    post_scores(srv, ks.uniq("ba"), tpa["id"], before, before_t0)
    post_scores(srv, ks.uniq("aa"), tpa["id"], after, after_t0)
    post_scores(srv, ks.uniq("oa"), tpa["id"], [0] * 30, shift(-45) + 3600)  # the placebo's before window
    post_scores(srv, ks.uniq("ta"), tpa["id"], [10] * 7, today + 3600)  # today: not counted yet
    a = action(tpa["id"], "Monteur belt vooraf")
    st, _, eff = srv.get("/api/v1/actions/%d/effect" % a["id"])
    ch = eff.get("nps_change", {}) if isinstance(eff, dict) else {}
    t.check(st == 200 and {"before", "after", "nps_change", "vs_rest", "season", "placebo", "interpretation"} <= set(eff),
            "effect -> 200 with before, after, nps_change, vs_rest, season, placebo, interpretation", ks.got(st, eff))
    if st != 200:
        return
    t.eq((eff["before"].get("n"), eff["after"].get("n")), (200, 200),
         "effect counts exactly the two windows (not today's answers, not the older ones)")
    t.eq(eff["before"].get("nps", {}).get("value"), 0.0, "before: NPS 0.0")
    t.eq(eff["after"].get("nps", {}).get("value"), 60.0, "after: NPS 60.0")
    want = expect_did(srv, tpa["id"], shift(-L), start_ts, shift(L))
    t.eq(ch.get("diff_plain"), 60.0, "nps_change.diff_plain = 60.00, the plain difference of the exact counts")
    t.eq(ch.get("diff"), ks.num_exact(ks.Fraction(100 * 120, 203) - 0, 2),
         "nps_change.diff = %s, the adjusted-Wald difference z tests: 100 (P - D)/(n + 3)"
         % ks.text_exact(ks.Fraction(100 * 120, 203), 2))
    t.check(all(isinstance(ch.get(k), (int, float)) for k in ("se", "z", "p")) and ch.get("z", 0) > 1.96
            and ch.get("p", 1) < 0.05, "nps_change has se, z > 1.96, p < 0.05", ks.short(ch))
    t.eq(ch.get("verdict"), "real_change", "verdict real_change")
    t.eq(ch, want["nps_change"], "nps_change (diff, diff_plain, se, z, p, verdict) equals the recomputation")
    t.eq(did_part(eff), want, "before, after (local windows), nps_change and vs_rest equal the recomputation")
    t.eq(eff.get("vs_rest"), {"verdict": "insufficient_data"},
         "vs_rest: nothing else in the organisation answered -> insufficient_data only")
    t.eq((eff["before"].get("to"), eff["after"].get("from")), (ks.local_iso(start_ts), ks.local_iso(start_ts)),
         "the windows meet at the start date's local midnight (%s)" % ks.local_iso(start_ts))
    t.check(eff["after"].get("to") == ks.local_iso(today) and eff.get("window_days") == 91
            and eff.get("days_measured") == L,
            "after window cut at the start of today (default window_days 91 = 13 weeks, 30 days measured)", ks.short(eff))
    t.check(str(eff.get("interpretation", "")).startswith("associated with"),
            "interpretation says \"associated with ...\"", ks.short(eff.get("interpretation")))
    t.eq(eff.get("slice"), {"touchpoint_id": tpa["id"], "journey_id": None, "team_id": None},
         "slice: the action's touchpoint")
    t.eq(did_part(eff.get("season")), expect_did(srv, tpa["id"], shift(-L - 364), shift(-364), shift(L - 364)),
         "season: the same windows 364 days earlier (empty: insufficient_data)")
    pl = expect_did(srv, tpa["id"], shift(-2 * L), shift(-L), start_ts)
    t.eq(did_part(eff.get("placebo")), pl, "placebo: the same test one window earlier, equal to the recomputation")
    t.check(pl["nps_change"].get("verdict") == "real_change" and pl["before"]["n"] == 30,
            "placebo: (test's own data) the 30 older detractors make a change there", ks.short(pl))
    st, _, e14 = srv.get("/api/v1/actions/%d/effect?window_days=14" % a["id"])
    w14 = expect_did(srv, tpa["id"], shift(-14), start_ts, shift(14))
    t.eq((st, e14.get("before", {}).get("n"), e14.get("after", {}).get("n"), e14.get("window_days"),
          e14.get("days_measured")), (200, 0, 200, 14, 14), "window_days=14: two weeks either side of the start")
    t.eq(did_part(e14), w14, "window_days=14: before, after and the changes equal the recomputation")
    st, _, e7 = srv.get("/api/v1/actions/%d/effect?window_days=728" % a["id"])
    t.check(st == 200 and e7.get("window_days") == 728 and e7.get("days_measured") == L,
            "window_days=728 (104 weeks): allowed, still cut at today", ks.got(st, e7))
    for bad in ("0", "10", "3", "6", "735", "730", "731", "7.5", "abc", ""):
        t.error(srv.get("/api/v1/actions/%d/effect?window_days=%s" % (a["id"], bad)), 422, "out_of_range",
                "window_days", "window_days=%s (not whole weeks 7..728) -> 422 naming window_days" % bad)
    t.error(srv.get("/api/v1/actions/%d/effect?days=3" % a["id"]), 422, "invalid", "days",
            "effect: unknown parameter -> 422")
    t.error(srv.get("/api/v1/actions/999999/effect"), 404, "not_found", None, "effect of unknown action -> 404")

    # 2: identical distributions before and after
    tpb = tp("Balie ")
    same = [10] * 30 + [7] * 20 + [4] * 30
    post_scores(srv, ks.uniq("bb"), tpb["id"], same, before_t0)
    post_scores(srv, ks.uniq("ab"), tpb["id"], same, after_t0)
    b = action(tpb["id"], "Balie vriendelijker")
    st, _, eff = srv.get("/api/v1/actions/%d/effect" % b["id"])
    ch = eff.get("nps_change", {}) if isinstance(eff, dict) else {}
    t.check(st == 200 and ch.get("diff") == 0.0 and ch.get("diff_plain") == 0.0 and ch.get("verdict") == "within_noise",
            "identical distributions -> diff 0, within_noise", ks.got(st, eff))
    want = expect_did(srv, tpb["id"], shift(-L), start_ts, shift(L))
    t.eq(did_part(eff), want, "identical distributions: before, after, nps_change and vs_rest equal the recomputation")
    t.check(want["vs_rest"].get("verdict") == "real_change" and eff.get("vs_rest", {}).get("diff", 0) < 0,
            "vs_rest: against the rest (the first touchpoint's +60) the unchanged slice fell behind: real_change, diff < 0",
            ks.short(eff.get("vs_rest")))

    # 3: too few answers
    tpc = tp("Chat ")
    post_scores(srv, ks.uniq("bc"), tpc["id"], [3, 4], before_t0)
    post_scores(srv, ks.uniq("ac"), tpc["id"], [10, 10, 9], after_t0)
    c = action(tpc["id"], "Chat sneller")
    st, _, eff = srv.get("/api/v1/actions/%d/effect" % c["id"])
    t.check(st == 200 and eff.get("nps_change") == {"verdict": "insufficient_data"}
            and eff.get("vs_rest") == {"verdict": "insufficient_data"}
            and eff["before"].get("n") == 2 and eff["after"].get("n") == 3,
            "few responses -> insufficient_data, and nothing but the verdict", ks.got(st, eff))
    t.eq(did_part(eff), expect_did(srv, tpc["id"], shift(-L), start_ts, shift(L)),
         "few responses: the windows print n only (insufficient)")

    # a theme-only action names no slice to measure
    th = srv.create("actions", {"title": "Thema", "owner_id": me, "start_date": start, "theme": "wachttijd"})
    t.error(srv.get("/api/v1/actions/%d/effect" % th["id"]), 422, "invalid", "touchpoint_id",
            "effect of an action without touchpoint, journey or team -> 422")


RACE_PAIRS = 40


def test_race(t, srv, f, me):
    """Two status changes of one planned action at the same moment:
    "cancelled" (A) and "in_progress" (B), both allowed from planned. The
    update is conditional on the status it was checked against, so the
    outcome is one of exactly three, whatever the timing:
    - both read "planned": one wins (200), the other gets 409 field status;
    - A, then B: B is refused, cancelled -> in_progress (422 field status);
    - B, then A: both 200 (in_progress -> cancelled is allowed).
    In every case the stored status is the last 200's: no change is lost.
    Over RACE_PAIRS pairs the first case must show up at least once (two
    requests released together overlap about one time in three here)."""
    import threading
    seen, bad = {}, []
    for i in range(RACE_PAIRS):
        a = srv.create("actions", {"title": "Race %d" % i, "owner_id": me, "start_date": "2026-05-01",
                                   "team_id": f["team"]["id"]})
        res = [None, None]
        gate = threading.Barrier(2)

        def change(k, status, aid=a["id"]):
            gate.wait()
            res[k] = srv.patch("/api/v1/actions/%d" % aid, {"status": status})
        ths = [threading.Thread(target=change, args=(0, "cancelled")),
               threading.Thread(target=change, args=(1, "in_progress"))]
        for th in ths:
            th.start()
        for th in ths:
            th.join(30)
        sts = tuple(r[0] if r else None for r in res)
        final = srv.get("/api/v1/actions/%d" % a["id"])[2].get("status")
        errs = [((r[2] or {}).get("error") or {}) for r in res if r and r[0] >= 400]
        allowed = {(200, 409): "cancelled", (409, 200): "in_progress",
                   (200, 422): "cancelled", (200, 200): "cancelled"}
        ok = sts in allowed and final == allowed[sts] and all(
            (e.get("code"), e.get("field")) == ({409: "conflict", 422: "invalid"}[st], "status")
            for e, st in zip(errs, [x for x in sts if x >= 400]))
        seen[sts] = seen.get(sts, 0) + 1
        if not ok:
            bad.append((sts, final, errs))
    t.check(not bad, "race: %d pairs of concurrent status changes end as one of the three serial outcomes, "
            "the stored status the last 200's (no lost update)" % RACE_PAIRS, ks.short(bad[:5]))
    t.check(seen.get((200, 409), 0) + seen.get((409, 200), 0) >= 1,
            "race: at least one pair overlapped and its loser got 409 field status", str(seen))


def main(t, srv):
    f = ks.base_fixture(srv)
    st, _, who = srv.get("/api/v1/auth/me")
    if st != 200:
        raise ks.FixtureError("GET /api/v1/auth/me -> %s %s" % (st, ks.short(who)))
    me = who["user"]["id"]
    test_crud(t, srv, f, me)
    test_scope(t, srv, f, me)
    test_effect(t, srv, f, me)
    test_race(t, srv, f, me)


if __name__ == "__main__":
    ks.run(main)
