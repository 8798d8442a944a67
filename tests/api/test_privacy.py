#!/usr/bin/env python3
"""test_privacy.py — the attack suite of disclosure control (issue 10).

A person's hidden score must not be recoverable from any other view or
query. On a demo database (`klantstem demo --scale 4`, small enough that
many people's months fall under the thresholds) this file:

1. replays every attack the red team reported, as the role that made it,
   and asserts that it no longer works (a 422 naming the parameter, or a
   reply that holds nothing to subtract);
2. checks the disclosure rule itself across replies: for every team and
   every local month, quarter, year and all time, each cell is asked for on
   its own (team_id=T&period=P, employee_id=E&period=P) and in the grouped
   replies, and every relation a reader can form between published cells —
   a team is the sum of its employees and its answers naming no one; a
   quarter the sum of its months; a year of its quarters; all time of its
   years — must hold no hidden cell alone (a single hidden cell in such a
   relation is the visible total minus the visible rest; cells of answers
   that name no employee give no one away and count as known). Which cells have
   answers is taken from the database file and bucketed independently with
   Python's zoneinfo (Europe/Amsterdam), not from the server;
3. checks that a cell has the same visibility in every reply that shows it.

Thresholds: 5 answers for a group, 10 for a person, per measure.
"""
import datetime
import glob
import os
import sys
import urllib.parse
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

TZ = zoneinfo.ZoneInfo("Europe/Amsterdam")
MEASURES = ("nps", "grade", "ces")
PERSON_MIN = 10
GROUP_MIN = 5


# ---------------------------------------------------------------------------
# The reference: responses from the file, bucketed in local time


def local_month(ts):
    d = datetime.datetime.fromtimestamp(ts, TZ)
    return "%04d-%02d" % (d.year, d.month)


def quarter_of(month):
    return "%s-Q%d" % (month[:4], (int(month[5:7]) - 1) // 3 + 1)


class Reference:
    def __init__(self, db):
        con = ks.db_connect(db, readonly=True)
        self.kind = dict(con.execute("SELECT id, kind FROM org_units"))
        self.parent = dict(con.execute("SELECT id, parent_id FROM org_units"))
        self.emp_team = dict(con.execute("SELECT id, team_id FROM employees"))
        now = datetime.datetime.now(TZ)
        self.as_of = int(datetime.datetime(now.year, now.month, now.day, tzinfo=TZ).timestamp())
        self.rows = []
        for emp, team, tp, ch, t, nps, grade, ces in con.execute(
                "SELECT employee_id, team_id, touchpoint_id, channel, received_at, nps, grade, ces FROM responses"):
            self.rows.append({"emp": emp, "team": team, "tp": tp, "ch": ch, "t": t, "nps": nps, "grade": grade,
                              "ces": ces, "month": local_month(t)})
        con.close()
        self.teams = sorted(i for i, k in self.kind.items() if k == "team")
        self.months = sorted({r["month"] for r in self.rows if r["t"] < self.as_of})

    def in_period(self, r, period):
        if r["t"] >= self.as_of:
            return False
        if period == "":
            return True
        if len(period) == 4:
            return r["month"][:4] == period
        if "Q" in period:
            return quarter_of(r["month"]) == period
        return r["month"] == period

    def counts(self, pred, period):
        """Answers per measure of the rows matching pred in the period."""
        c = {m: 0 for m in MEASURES}
        c["n"] = 0
        for r in self.rows:
            if self.in_period(r, period) and pred(r):
                c["n"] += 1
                for m in MEASURES:
                    c[m] += r[m] is not None
        return c


# ---------------------------------------------------------------------------
# Access


def make_token(db, role, unit=None, emp=None):
    env = ks.sanitizer_env()
    env["KLANTSTEM_PASSWORD"] = "privacy-test-password"
    args = ["user", "add", "--db", db, "--email", "%s-%s@test.local" % (role, ks.uniq("p")),
            "--name", "Privacy %s" % role, "--role", role, "--token", "privacy"]
    if unit:
        args += ["--unit-id", str(unit)]
    if emp:
        args += ["--employee-id", str(emp)]
    rc, out, err = ks.run_cli(args, env=env)
    for line in out.splitlines():
        if line.startswith("token: "):
            return line[len("token: "):].strip()
    raise ks.FixtureError("cannot create a %s (rc %s): %s %s" % (role, rc, out, err))


class Client:
    def __init__(self, srv, token):
        self.srv = srv
        self.token = token

    def get(self, path):
        return ks.http_request(self.srv.port, "GET", path,
                               headers={"Authorization": "Bearer " + self.token})


def q(**kw):
    return urllib.parse.urlencode(kw)


def shown(cell, m):
    return isinstance(cell, dict) and isinstance(cell.get(m), dict)


# ---------------------------------------------------------------------------
# 1. The reported attacks


def test_reported_attacks(t, srv, ref, roles):
    admin, lead, manager, emp = roles["admin"], roles["lead"], roles["manager"], roles["employee"]
    team, emp_id = roles["team"], roles["employee_id"]
    month = ref.months[-1]

    # overlapping windows, at any level and for any role
    t.error(admin.get("/api/v1/metrics?" + q(employee_id=emp_id, **{"from": "2026-11-20", "to": "2026-12-07"})),
            422, "invalid", "from", "attack: overlapping day windows of one employee -> 422 naming from")
    t.error(admin.get("/api/v1/metrics?" + q(**{"from": "2026-11-20"})), 422, "invalid", "to",
            "attack: an open-ended window (from only) -> 422 naming to")
    t.error(emp.get("/api/v1/metrics?" + q(team_id=team, **{"from": "2026-11-01T18:18:42Z",
                                                           "to": "2026-12-01T18:18:43Z"})),
            422, "invalid", "from", "attack: an employee's team windows one second apart -> 422 naming from")
    t.error(admin.get("/api/v1/metrics?" + q(**{"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"})),
            422, "invalid", "from",
            "attack: a day window on UTC midnights (not a local day) -> 422 naming from")
    t.error(admin.get("/api/v1/metrics?" + q(**{"from": "2026-11-30T23:00:00Z", "to": "2026-12-01T23:00:00Z"})),
            422, "invalid", "period",
            "from/to on the local bounds of 1 December (23:00Z) are a whole day, but days are not given -> 422")
    st, _, body = admin.get("/api/v1/metrics?" + q(**{"from": "2026-11-30T23:00:00Z", "to": "2026-12-31T23:00:00Z"}))
    t.check(st == 200 and body.get("filter", {}).get("period") == "2026-12",
            "from/to on the local bounds of December (23:00Z) are the period 2026-12", ks.got(st, body))

    # a person's days, weeks and rolling windows: not shown at all
    t.error(lead.get("/api/v1/metrics/trend?" + q(employee_id=emp_id, interval="day")), 422, "invalid", "interval",
            "attack: an employee's daily trend (days under min-n with day-to-day diffs) -> 422 naming interval")
    t.error(lead.get("/api/v1/metrics?" + q(team_id=team, period="last_30d")), 422, "invalid", "period",
            "attack: a rolling window on a team -> 422 naming period")
    t.error(lead.get("/api/v1/metrics?" + q(team_id=team, period=month + "-03")), 422, "invalid", "period",
            "attack: one day of a team -> 422 naming period")
    t.error(admin.get("/api/v1/metrics/compare?" + q(**{"a.employee_id": emp_id, "a.from": "2026-11-01",
                                                        "a.to": "2026-11-04", "b.team_id": team,
                                                        "b.period": "2026-11"})),
            422, "invalid", "a.from", "attack: compare with a side of three days of one employee -> 422")
    t.error(emp.get("/api/v1/metrics/compare?" + q(**{"a.team_id": team, "a.from": "2026-11-02T10:00:00Z",
                                                      "a.to": "2026-11-02T11:00:00Z", "b.team_id": team,
                                                      "b.period": "2026-11"})),
            422, "invalid", "a.from", "attack: an employee compares a one-hour team window with the month -> 422")

    # shares say no more than whole percents; no 10-digit fractions
    st, _, body = admin.get("/api/v1/metrics?" + q(team_id=team, group_by="employee"))
    fracs = []
    for row in body.get("rows", []) + [body]:
        for m, keys in (("nps", ("promoters", "passives", "detractors")), ("grade", ("share_7plus", "share_9plus")),
                        ("ces", ("share_5plus",))):
            for k in keys:
                v = (row.get(m) or {}).get(k)
                if v is not None and round(v, 2) != v:
                    fracs.append((m, k, v))
    t.eq(fracs, [], "attack: every share is a whole percent (2 decimals), so it gives no exact count")

    # ranking people
    t.error(lead.get("/api/v1/metrics?" + q(team_id=team, group_by="employee", sort="-nps")), 422, "invalid",
            "sort", "attack: a team lead sorts the team's people by NPS -> 422 naming sort")
    t.error(manager.get("/api/v1/metrics?" + q(group_by="employee", sort="grade")), 422, "invalid", "sort",
            "attack: a manager ranks people by grade -> 422 naming sort")
    st, _, body = admin.get("/api/v1/metrics?" + q(group_by="employee", period=month[:4], sort="-nps"))
    rows = body.get("rows", []) if st == 200 else []
    flags = [shown(r, "nps") for r in rows]
    t.check(st == 200 and flags == sorted(flags, reverse=True),
            "an admin may sort people by NPS; every hidden NPS sorts after every shown one", ks.got(st, body))
    st, _, body = admin.get("/api/v1/metrics?" + q(group_by="employee", period=month[:4], sort="nps"))
    rows = body.get("rows", []) if st == 200 else []
    flags = [shown(r, "nps") for r in rows]
    t.check(st == 200 and flags == sorted(flags, reverse=True),
            "ascending too: hidden NPS last, so the order tells nothing about them", ks.got(st, body))

    # the improvement action's one-day window
    st, _, me = admin.get("/api/v1/auth/me")
    st, _, act = ks.http_request(srv.port, "POST", "/api/v1/actions",
                                 {"title": "Terugbellen", "owner_id": me["user"]["id"], "team_id": team,
                                  "start_date": month + "-01"},
                                 headers={"Authorization": "Bearer " + admin.token})
    if t.check(st == 201, "an improvement action on the team", ks.got(st, act)):
        aid = act["id"]
        t.error(admin.get("/api/v1/actions/%d/effect?window_days=1" % aid), 422, "out_of_range", "window_days",
                "attack: an action's effect over one day -> 422 naming window_days")
        t.error(admin.get("/api/v1/actions/%d/effect?window_days=10" % aid), 422, "out_of_range", "window_days",
                "an action's effect over 10 days (not whole weeks) -> 422 naming window_days")


def test_one_reply_totals(t, ref, roles):
    """Total minus the visible employees, in one reply, as a manager."""
    manager = roles["manager"]
    bad = []
    for team in roles["manager_teams"]:
        for period in ref.months[-6:]:
            st, _, body = manager.get("/api/v1/metrics?" + q(team_id=team, period=period, group_by="employee"))
            if st != 200:
                bad.append((team, period, st))
                continue
            for m in MEASURES:
                if not shown(body, m):
                    continue
                hid = [r for r in body["rows"] if not shown(r, m) and r.get("n", 0) > 0 and
                       r["employee"]["id"] and (m in r.get("hidden", []) or r.get("insufficient"))]
                # rows printed as insufficient may have no answers to m at all: ask the file
                really = []
                for r in hid:
                    eid = r["employee"]["id"]
                    pred = (lambda x, e=eid: x["emp"] == e and x["team"] == team) if eid else \
                        (lambda x: x["emp"] is None and x["team"] == team)
                    if ref.counts(pred, period)[m] > 0:
                        really.append(eid)
                if len(really) == 1:
                    bad.append((team, period, m, really))
    t.eq(bad, [], "attack: in no reply (team x month by employee, as a manager) is exactly one row hidden "
                  "beside a shown total (total minus the visible rows)")


# ---------------------------------------------------------------------------
# 2. Relations across replies


def periods_of(ref):
    months = ref.months[-15:]
    quarters = sorted({quarter_of(m) for m in months})
    years = sorted({m[:4] for m in months})
    return months, quarters, years


def collect_cells(t, ref, admin):
    """Every team's and employee's cell for every period, asked one by one."""
    months, quarters, years = periods_of(ref)
    cells = {}
    errors = []
    for team in ref.teams:
        emps = sorted(e for e, tm in ref.emp_team.items() if tm == team)
        for period in months + quarters + years + [""]:
            pq = {"period": period} if period else {}
            st, _, body = admin.get("/api/v1/metrics?" + q(team_id=team, **pq))
            if st != 200:
                errors.append(("team", team, period, st))
                continue
            cells[("t", team, period)] = body
            for e in emps:
                st, _, body = admin.get("/api/v1/metrics?" + q(employee_id=e, **pq))
                if st != 200:
                    errors.append(("emp", e, period, st))
                    continue
                cells[("e", e, period)] = body
            st, _, body = admin.get("/api/v1/metrics?" + q(team_id=team, group_by="employee", **pq))
            if st == 200:
                for r in body["rows"]:
                    key = ("e", r["employee"]["id"], period) if r["employee"]["id"] else ("r", team, period)
                    cells.setdefault(("g",) + key, r)
    t.eq(errors, [], "every team and employee cell of %d months, %d quarters, %d years and all time answers 200"
         % (len(months), len(quarters), len(years)))
    return cells


def test_relations(t, ref, cells):
    months, quarters, years = periods_of(ref)
    pred_of = {
        "t": lambda i: (lambda r: r["team"] == i),
        "e": lambda i: (lambda r: r["emp"] == i),
        "r": lambda i: (lambda r: r["team"] == i and r["emp"] is None),
    }
    cache = {}

    def has(kind, i, period, m):
        key = (kind, i, period)
        if key not in cache:
            cache[key] = ref.counts(pred_of[kind](i), period)
        return cache[key][m] > 0

    def names_someone(kind, i, period):
        """Does the cell hold any employee's answer? Only such a cell can
        give a person away (answers naming no one are no one's score)."""
        if kind == "r":
            return False
        return ref.counts(lambda r, p=pred_of[kind](i): p(r) and r["emp"] is not None, period)["n"] > 0

    def cell(kind, i, period):
        return cells.get((kind, i, period)) if kind != "r" else cells.get(("g", "r", i, period))

    def hidden(kind, i, period, m):
        c = cell(kind, i, period)
        return has(kind, i, period, m) and not shown(c, m)

    lines = []  # (name, total key, member keys)
    for team in ref.teams:
        emps = sorted(e for e, tm in ref.emp_team.items() if tm == team and any(r["emp"] == e for r in ref.rows))
        for period in months + quarters + years + [""]:
            lines.append(("team %d = its employees + no one, %s" % (team, period or "all time"),
                          ("t", team, period), [("e", e, period) for e in emps] + [("r", team, period)]))
        for kind, ids in (("t", [team]), ("e", emps)):
            for i in ids:
                for qu in quarters:
                    ms = [m for m in ref.months if quarter_of(m) == qu]
                    if all(m in months for m in ms):
                        lines.append(("%s %d: %s = its months" % (kind, i, qu), (kind, i, qu),
                                      [(kind, i, m) for m in ms]))
                all_years = sorted({m[:4] for m in ref.months})
                if set(all_years) <= set(years):
                    lines.append(("%s %d: all time = its years" % (kind, i), (kind, i, ""),
                                  [(kind, i, y) for y in all_years]))
                # the attack "group_by=employee minus group_by=employee,month"
                if set(ref.months) <= set(months):
                    lines.append(("%s %d: all time = its months" % (kind, i), (kind, i, ""),
                                  [(kind, i, m) for m in ref.months]))
    single = []
    checked = 0
    for name, total, members in lines:
        for m in MEASURES:
            if not shown(cell(*total), m):
                continue
            checked += 1
            hid = [k for k in members if hidden(*k, m) and names_someone(*k)]
            if len(hid) == 1:
                single.append((name, m, hid[0]))
    t.check(checked > 200, "relations checked: %d (line x measure with a shown total)" % checked)
    t.eq(single[:20], [], "no relation between published cells isolates one hidden cell "
                          "(%d relations with a single hidden member)" % len(single))
    some_hidden = sum(1 for k in cells if k[0] == "e" and any(hidden(*k, m) for m in MEASURES))
    t.check(some_hidden > 10, "the demo has hidden person cells to protect (%d)" % some_hidden)


def test_consistency(t, cells):
    """A cell asked for on its own and the same cell in a grouped reply."""
    diff = []
    for key, row in cells.items():
        if key[0] != "g" or key[1] != "e":
            continue
        alone = cells.get(key[1:])
        if alone is None:
            continue
        for m in MEASURES:
            if shown(alone, m) != shown(row, m):
                diff.append((key[1:], m, shown(alone, m), shown(row, m)))
    t.eq(diff[:20], [], "every employee cell has the same visibility alone and in its team's reply (%d differ)"
         % len(diff))


def test_thresholds(t, ref, cells, admin):
    """Per-measure minimum n, and the person threshold for one-person slices."""
    low_grade = [k for k, c in cells.items() if k[0] == "t" and shown(c, "nps") and not shown(c, "grade")
                 and 0 < ref.counts(lambda r, i=k[1]: r["team"] == i, k[2])["grade"] < GROUP_MIN]
    person_rule = []
    for k, c in cells.items():
        if k[0] != "t":
            continue
        cnt = ref.counts(lambda r, i=k[1]: r["team"] == i, k[2])
        for m in MEASURES:
            if 0 < cnt[m] < GROUP_MIN and shown(c, m):
                person_rule.append((k, m, cnt[m]))
    t.eq(person_rule, [], "no team cell shows a measure with fewer than 5 answers to it")
    emp_rule = [(k, m) for k, c in cells.items() if k[0] == "e" for m in MEASURES
                if shown(c, m) and ref.counts(lambda r, i=k[1]: r["emp"] == i, k[2])[m] < PERSON_MIN]
    t.eq(emp_rule, [], "no employee cell shows a measure with fewer than 10 answers to it")
    print("# team cells with NPS shown and too few grades: %d" % len(low_grade))

    # a slice whose answers to a question name one employee is that
    # person's score for that question, whatever the slice is: every
    # touchpoint x channel x month of the demo, against the file
    by = {}
    for r in ref.rows:
        if r["t"] >= ref.as_of or r["tp"] is None:
            continue
        by.setdefault((r["tp"], r["ch"], r["month"]), []).append(r)
    wrong, ones = [], 0
    for (tp, ch, month), rs in sorted(by.items())[:400]:
        thr = {}
        for m in MEASURES:
            emps = {r["emp"] for r in rs if r[m] is not None and r["emp"] is not None}
            thr[m] = PERSON_MIN if len(emps) == 1 else GROUP_MIN
        answered = [thr[m] for m in MEASURES if any(r[m] is not None for r in rs)]
        want_min = min(answered) if answered else max(thr.values())
        ones += any(v == PERSON_MIN for v in thr.values())
        st, _, body = admin.get("/api/v1/metrics?" + q(touchpoint_id=tp, channel=ch, period=month))
        over = [m for m in MEASURES if shown(body, m) and sum(r[m] is not None for r in rs) < thr[m]]
        if st != 200 or body.get("min_n") != want_min or over:
            wrong.append((tp, ch, month, st, body.get("min_n"), want_min, over))
    t.check(ones > 0, "the demo has touchpoint x channel x months whose answers to a question name one "
                      "employee (%d)" % ones)
    t.eq(wrong[:10], [], "per measure: the answers of one employee have the person threshold (10) in any "
                         "slice, and the printed min_n is the lowest threshold of the answered measures")


def test_change_blocks(t, ref, roles, cells):
    admin = roles["admin"]
    # an employee's monthly trend: a change only where both months are shown
    leaks = []
    for e in sorted({k[1] for k in cells if k[0] == "e"})[:12]:
        st, _, body = admin.get("/api/v1/metrics/trend?" + q(employee_id=e, interval="month"))
        if st != 200:
            leaks.append((e, st))
            continue
        pts = body["points"]
        for i, p in enumerate(pts):
            ch = p.get("nps_change") or {}
            prev_shown = i > 0 and shown(pts[i - 1], "nps")
            if ("diff" in ch or "se" in ch or "z" in ch) and not (shown(p, "nps") and prev_shown):
                leaks.append((e, p["period"], ch))
    t.eq(leaks, [], "attack: no NPS change figure beside a hidden month of an employee's trend")
    # compare with a hidden side
    hidden_key = next((k for k, c in sorted(cells.items(), key=lambda kv: str(kv[0]))
                       if k[0] == "e" and len(k[2]) == 7 and "Q" not in k[2] and not shown(c, "nps")
                       and c.get("n", 0) > 0), None)
    if t.check(hidden_key is not None, "an employee month with answers and a hidden NPS exists"):
        e, period = hidden_key[1], hidden_key[2]
        st, _, body = admin.get("/api/v1/metrics/compare?" + q(**{"a.employee_id": e, "a.period": period,
                                                                  "b.team_id": ref.emp_team[e],
                                                                  "b.period": period}))
        t.check(st == 200 and body["nps_change"] == {"verdict": "insufficient_data"} and
                body["grade_change"].get("diff") is None or (st == 200 and shown(body["a"], "grade")),
                "attack: compare with a hidden side prints only the verdict (no diff, se, z, p)",
                ks.got(st, body))


def main(t):
    srv = ks.Server(t)
    try:
        rc, out, err = ks.run_cli(["demo", "--db", srv.db, "--scale", "4"], timeout=300)
        if not t.check(rc == 0 and ks.sanitizer_report(err) is None, "demo --scale 4 fills the database",
                       "exit %s\n%s\n%s" % (rc, out[-2000:], err[-4000:])):
            return
        ref = Reference(srv.db)
        hz = srv.start()
        t.eq(hz, {"status": "ok", "schema_version": max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))},
             "server starts on the demo database")
        team = ref.teams[0]
        dept = ref.parent[team]
        emp_id = sorted(e for e, tm in ref.emp_team.items() if tm == team)[0]
        roles = {
            "admin": Client(srv, make_token(srv.db, "admin")),
            "director": Client(srv, make_token(srv.db, "director")),
            "manager": Client(srv, make_token(srv.db, "manager", unit=dept)),
            "lead": Client(srv, make_token(srv.db, "team_lead", unit=team)),
            "employee": Client(srv, make_token(srv.db, "employee", emp=emp_id)),
            "team": team, "employee_id": emp_id,
            "manager_teams": [i for i in ref.teams if ref.parent[i] == dept],
        }
        test_reported_attacks(t, srv, ref, roles)
        test_one_reply_totals(t, ref, roles)
        cells = collect_cells(t, ref, roles["admin"])
        test_relations(t, ref, cells)
        test_consistency(t, cells)
        test_thresholds(t, ref, cells, roles["admin"])
        test_change_blocks(t, ref, roles, cells)
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
