#!/usr/bin/python3
"""The analytics endpoints (GET /api/v1/metrics, /metrics/trend,
/metrics/compare) on a demo database, against a brute-force reference
computed here in Python straight from the SQLite file (docs/API.md,
"Metrics"; shared/DOMAIN.md for the NPS classes, the adjusted-Wald variance
and the minimum n; issue 10 and docs/PRIVACY.md for disclosure control).

`klantstem demo --db F --scale 3` fills the database first, then the server
is started on that file with a test clock inside the data's last month, so
that "the start of today" cuts it: every figure, at every level, counts the
answers up to that instant (the filter's `to` shows the cut). Figures are
given per whole local month, quarter, year or all time only: days, ISO
weeks and rolling windows (as period=, from/to or group_by / interval) are
422s, at every level.

The reference groups every response by the documented keys: names of org
units, employees, touchpoints and journeys (org roll-ups through the parent
chain, "(none)" without one), channel / segment / city ("unknown" without
one), language, age band (age = local year of the response - birth year),
customer-since band, and the LOCAL month, quarter and year of
Europe/Amsterdam (zoneinfo, not the server's table).

What the server may print is checked as properties, independently of how it
chooses its complementary hides: (a) per measure, a cell with fewer answers
than its threshold hides it: 5 for a group, 10 for a person's cell (a
named employee's row, a slice filtered by employee_id, or a cell whose
answers TO THAT MEASURE name exactly one employee); in the reply's own table
of groupings the canonical table cannot hold (touchpoint, channel, ...) one
threshold for the three measures, a person's when the group's answers name
exactly one employee, and the reply's total also hides what the canonical
table hides; the printed min_n is the lowest threshold of the measures the
cell has answers to; (b) every shown figure equals the exact recomputation
(one rounding rule, ks.cell_json); (c) no line of a reply (total = groups;
in two-way replies each row's and column's margin as shown by the one-way
reply) holds exactly one hidden sensitive cell for a measure (sensitive:
holding some employee's answers to it; answers naming no one are known);
(d) a cell of the organisation's canonical table (units and employees by
month, quarter, year and all time, for the same other filters) has the same
visibility in every reply of the run that shows it, and a reply's total the
canonical table does not serve hides at least what the table hides."""

import csv
import datetime
import io
import math
import glob
import os
import re
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

ENTITY_DIMS = ("team", "department", "organisation", "employee", "touchpoint", "journey")
TIME_DIMS = ("month", "quarter", "year")          # days and ISO weeks are refused (422)
ALL_DIMS = ENTITY_DIMS + ("channel", "language", "segment", "age_band", "customer_since_band", "city") + TIME_DIMS
# the groupings the canonical table holds: units, employees, months, quarters, years
CANON_DIMS = ("team", "department", "organisation", "employee") + TIME_DIMS
MIN_N = 5
MIN_N_EMPLOYEE = 10
METRIC_KEYS = ks.MEASURES
TEST_CLOCK = "2026-11-20T10:00:00Z"   # 11:00 in Amsterdam; the demo data runs on into December, so the
                                      # start of today cuts it
PASSWORD = "analytics-test-pw"


# ---------------------------------------------------------------------------
# reference


def age_band(age):
    if age is None or age < 0:
        return "unknown"
    for hi, lab in ((25, "<25"), (35, "25-34"), (45, "35-44"), (55, "45-54"), (65, "55-64")):
        if age < hi:
            return lab
    return "65+"


def since_band(years):
    if years is None or years < 0:
        return "unknown"
    if years < 1:
        return "<1y"
    if years <= 2:
        return "1-2y"
    if years <= 5:
        return "3-5y"
    if years <= 10:
        return "6-10y"
    return ">10y"


def parse_time(s):
    """A filter time: YYYY-MM-DD (local midnight) or an ISO time with Z."""
    if len(s) == 10:
        d = datetime.date.fromisoformat(s)
        return ks.local_midnight(d.year, d.month, d.day)
    return ks.parse_iso(s)


def period_kind(label):
    """0 all time, 1 year, 2 quarter, 3 month (finer is larger)."""
    if label == "":
        return 0
    if len(label) == 4:
        return 1
    if "-Q" in label:
        return 2
    return 3


class Counts(ks.Counts):
    """ks.Counts plus, per measure, the employees its answers name: each
    measure has its own threshold (a measure answered by one employee is
    that person's score) and its own sensitivity."""

    def __init__(self):
        super().__init__()
        self.memps = {m: set() for m in METRIC_KEYS}

    def add(self, nps=None, grade=None, ces=None, emp=None):
        super().add(nps, grade, ces, emp)
        for m, v in (("nps", nps), ("grade", grade), ("ces", ces)):
            if emp and v is not None:
                self.memps[m].add(emp)
        return self

    def merge(self, o, sign=1):
        super().merge(o, sign)
        if sign > 0:
            for m in METRIC_KEYS:
                self.memps[m] |= getattr(o, "memps", {}).get(m, set())
        return self

    def copy(self):
        return Counts().merge(self)

    def sensitive(self, m):
        """Does the cell hold some employee's answers to m? (Answers that
        name no one are known: they can be asked for on their own.)"""
        return bool(self.memps[m])


class Reference:
    """Every response of the database file with its group labels."""

    def __init__(self, db, as_of):
        self.as_of = as_of
        con = ks.db_connect(db, readonly=True)  # the file, or PostgreSQL (issue 18)
        try:
            self.units = {i: (p, k, n) for i, p, k, n in
                          con.execute("SELECT id, parent_id, kind, name FROM org_units")}
            self.emps = {i: n for i, n in
                         con.execute("SELECT id, first_name || ' ' || last_name FROM employees")}
            self.emp_team = dict(con.execute("SELECT id, team_id FROM employees"))
            self.tps = {i: (j, n) for i, j, n in con.execute("SELECT id, journey_id, name FROM touchpoints")}
            self.journeys = {i: n for i, n in con.execute("SELECT id, name FROM journeys")}
            custs = {r[0]: r[1:] for r in con.execute(
                "SELECT id, segment, city, birth_year, customer_since FROM customers")}
            raw = con.execute("SELECT id, customer_id, employee_id, team_id, touchpoint_id, channel, language,"
                              " nps, grade, ces, received_at FROM responses ORDER BY id").fetchall()
        finally:
            con.close()
        self.rows = []
        for (rid, cust, emp, team, tp, channel, lang, nps, grade, ces, t) in raw:
            when = ks.local_dt(t)
            c = custs.get(cust)
            seg, city, by, since = c if c else (None, None, None, None)
            journey = self.tps[tp][0] if tp in self.tps else None
            r = {"id": rid, "t": t, "customer": cust, "employee": emp, "team_unit": team, "tp": tp,
                 "journey_id": journey, "channel_raw": channel, "language_raw": lang, "segment_raw": seg,
                 "city_raw": city, "nps": nps, "grade": grade, "ces": ces}
            dept = self.ancestor(team, "department")
            org = self.ancestor(team, "organisation")
            r["key"] = {
                "team": self.ent(team, self.units.get(team, (0, 0, None))[2]),
                "department": self.ent(dept, self.units.get(dept, (0, 0, None))[2]),
                "organisation": self.ent(org, self.units.get(org, (0, 0, None))[2]),
                "employee": self.ent(emp, self.emps.get(emp)),
                "touchpoint": self.ent(tp, self.tps.get(tp, (0, None))[1]),
                "journey": self.ent(journey, self.journeys.get(journey)),
                "channel": channel or "unknown",
                "language": lang,
                "segment": seg or "unknown",
                "city": city or "unknown",
                "age_band": age_band(when.year - by if by else None),
                "customer_since_band": since_band(when.year - int(since[:4]) if since else None),
            }
            r["key"].update(ks.local_keys(t))
            self.rows.append(r)

    @staticmethod
    def ent(i, name):
        return {"id": i, "name": name if i else "(none)"}

    def ancestor(self, u, kind):
        for _ in range(16):
            if u is None or u not in self.units:
                return None
            if self.units[u][1] == kind:
                return u
            u = self.units[u][0]
        return None

    def under(self, u, top):
        for _ in range(16):
            if u is None or u not in self.units:
                return False
            if u == top:
                return True
            u = self.units[u][0]
        return False

    def kind(self, unit):
        return self.units.get(unit, (None, None, None))[1]

    def window(self, f):
        lo, hi = None, None
        if "period" in f:
            lo, hi = ks.local_period_bounds(f["period"])
        if "from" in f:
            lo = parse_time(f["from"])
        if "to" in f:
            hi = parse_time(f["to"])
        return lo, hi

    def keep(self, r, f, lo, hi):
        if lo is not None and r["t"] < lo:
            return False
        if hi is not None and r["t"] >= hi:
            return False
        if "team_id" in f and not self.under(r["team_unit"], int(f["team_id"])):
            return False
        for k, col in (("employee_id", "employee"), ("touchpoint_id", "tp"), ("journey_id", "journey_id")):
            if k in f and r[col] != int(f[k]):
                return False
        for k, col in (("channel", "channel_raw"), ("language", "language_raw"), ("segment", "segment_raw"),
                       ("city", "city_raw")):
            if k in f and r[col] != f[k]:
                return False
        for k in ("age_band", "customer_since_band"):
            if k in f and r["key"][k] != f[k]:
                return False
        return True

    def applied(self, f):
        """The window as the server must apply it: cut at the start of today
        (every level), empty (from = to = the cut) when it begins later."""
        lo, hi = self.window(f)
        hi = self.as_of if hi is None else min(hi, self.as_of)
        if lo is not None and lo > hi:
            lo = hi
        return lo, hi

    def query(self, f, dims):
        """(total Counts, {group key: (labels, Counts)}), as of the start of
        today."""
        lo, hi = self.applied(f)
        total, groups = Counts(), {}
        for r in self.rows:
            if not self.keep(r, f, lo, hi):
                continue
            total.add(r["nps"], r["grade"], r["ces"], r["employee"])
            if dims:
                labels = tuple(r["key"][d] for d in dims)
                k = tuple(gkey(d, v) for d, v in zip(dims, labels))
                if k not in groups:
                    groups[k] = (labels, Counts())
                groups[k][1].add(r["nps"], r["grade"], r["ces"], r["employee"])
        return total, groups


def gkey(dim, v):
    return ("#", v["id"]) if dim in ENTITY_DIMS else v


def canonical_reply(dims):
    """Can the canonical table hold every cell of a reply grouped by dims?
    (Every window the server accepts is a month, quarter, year or all time.)"""
    return all(d in CANON_DIMS for d in dims)


def person_cell(f, dims, labels):
    """One person's cell whatever its answers: a slice filtered by employee,
    or a named employee's row (not a reply's total, not "(none)")."""
    return "employee_id" in f or (labels is not None and
                                  any(d == "employee" and v.get("id") for d, v in zip(dims, labels)))


def canon_thresholds(f, dims, labels, c):
    """Per measure: a person's threshold for a person's cell or when the
    answers to THAT measure name exactly one employee (answers naming no one
    do not count), a group's otherwise."""
    p = person_cell(f, dims, labels)
    return {m: MIN_N_EMPLOYEE if p or len(c.memps[m]) == 1 else MIN_N for m in METRIC_KEYS}


def own_threshold(f, dims, labels, c):
    """A cell of a reply's own table: one threshold for the three measures,
    a person's when the cell's answers (all of them) name exactly one
    employee."""
    return MIN_N_EMPLOYEE if person_cell(f, dims, labels) or c.one_person() else MIN_N


def printed_min_n(thr, c):
    """The lowest threshold of the measures the cell has answers to (the
    highest when it has none)."""
    answered = [thr[m] for m in METRIC_KEYS if c.count(m) > 0]
    return min(answered) if answered else max(thr.values())


def row_expect(f, dims, labels, c):
    """(threshold per measure, printed min_n) of a group of a reply."""
    if canonical_reply(dims):
        thr = canon_thresholds(f, dims, labels, c)
        return thr, printed_min_n(thr, c)
    u = own_threshold(f, dims, labels, c)
    return {m: u for m in METRIC_KEYS}, u


def total_expect(f, dims, c):
    """(threshold per measure, printed min_n) of a reply's total. A reply
    the canonical table cannot hold has its own table's threshold, and its
    total is hidden where the canonical table's cell of the slice is (so at
    least under that cell's thresholds)."""
    canon = canon_thresholds(f, (), None, c)
    if canonical_reply(dims):
        return canon, printed_min_n(canon, c)
    u = own_threshold(f, (), None, c)
    return {m: max(u, canon[m]) for m in METRIC_KEYS}, u


def cell_check(obj, c, expect, where):
    """(a) and (b) for one printed cell: ks.cell_problems under the printed
    threshold, and every measure under its own threshold hidden."""
    thr, min_n = expect
    p = ks.cell_problems(obj, c, min_n, where)
    if isinstance(obj, dict):
        hid = ks.hidden_of(obj, c)
        for m in METRIC_KEYS:
            if 0 < c.count(m) < thr[m] and m not in hid:
                p.append("%s: %s shown from %d answers, under its threshold %d (%s)"
                         % (where, m, c.count(m), thr[m], "its answers name one employee" if len(c.memps[m]) == 1
                            else "a person's cell"))
    return p


def qs(params):
    return urllib.parse.urlencode(params, safe=",")


# ---------------------------------------------------------------------------
# cross-reply registry: (d) the canonical table


def strip_min_n(obj):
    """A cell's figures without its threshold (a wrong min_n is reported by
    the reply's own check)."""
    return {k: v for k, v in ks.cell_of(obj).items() if k != "min_n"}


class Canon:
    """Visibility of the cells of the organisation's canonical table seen in
    the replies of one run (one "start of today"): key -> (hidden measures,
    cell, where first seen). Rows: every answer ('a'), organisations,
    departments, teams, employees, each unit's residual ('r': its answers
    naming no one below it) and the answers of 'a', an organisation or a
    department naming no employee ('n'); columns: months, quarters, years,
    all time; one table per set of other filters."""

    DEPTH = {"a": 0, "o": 1, "d": 2, "t": 3, "e": 4, "r": 4, "n": 4}

    def __init__(self, ref):
        self.ref = ref
        self.seen = {}
        self.own = []          # totals of replies the table does not serve: (key, hidden, where)
        self.conflicts = []
        self.cells = 0

    def unit_row(self, u):
        k = self.ref.kind(u)
        return (k[0], u) if k in ("organisation", "department", "team") else None

    def filter_row(self, f):
        """The row a filter addresses: an employee, a unit, or every answer."""
        if "employee_id" in f:
            return ("e", int(f["employee_id"]))
        if "team_id" in f:
            return self.unit_row(int(f["team_id"]))
        return ("a",)

    def col(self, f, dims, labels):
        """The finer of the filter's period and the group's."""
        period = f.get("period", "")
        if "from" in f and "to" in f:
            period = f.get("_label", "")
        col = period
        for d, v in zip(dims, labels):
            if d in ("month", "quarter", "year"):
                gk = {"year": 1, "quarter": 2, "month": 3}[d]
                col = v if gk > period_kind(period) else period
        return col

    def key(self, f, dims, labels):
        """The canonical key of a cell (labels None: the reply's total), or
        None when the cell is none of the table's."""
        other = tuple(sorted((k, v) for k, v in f.items() if k not in ("team_id", "employee_id", "period", "from",
                                                                          "to", "_label")))
        fr = self.filter_row(f)
        if fr is None:
            return None
        row = fr
        no_one = False
        # units first (the intersection of a unit and an ancestor of it, the
        # filter's or another group's, is the unit itself), then the
        # employee: "(none)" is the answers naming no one inside the unit
        # the filter and the other dimensions come to
        for d, v in zip(dims, labels or ()):
            if d in ("team", "department"):
                r = self.unit_row(v["id"]) if v["id"] else None
                if r is None or r[0] != d[0]:
                    return None
            elif d == "organisation":
                r = ("o", v["id"]) if v["id"] else ("r", "a")       # "(none)": the residual of every answer
            elif d == "employee":
                if not v["id"]:
                    no_one = True
                    continue
                r = ("e", v["id"])
            elif d in ("month", "quarter", "year"):
                continue
            else:
                return None
            if self.DEPTH[r[0]] >= self.DEPTH[row[0]]:
                row = r
        if no_one:
            if row[0] == "t":
                row = ("r", row[1])                                  # a team's answers naming no one
            elif row[0] in ("a", "o", "d"):
                row = ("n", row[1] if len(row) > 1 else "a")         # answers naming no employee
            else:
                return None
        return (other, row, self.col(f, dims, labels if labels is not None else ()))

    def note(self, key, obj, c, where, own=False):
        """own: the total of a reply the table does not serve, forced hidden
        where the table hides it (it may hide more)."""
        if key is None:
            return
        self.cells += 1
        hid = frozenset(ks.hidden_of(obj, c))
        if own:
            self.own.append((key, hid, obj, where))
            return
        if key in self.seen:
            h0, obj0, w0 = self.seen[key]
            if h0 != hid or strip_min_n(obj0) != strip_min_n(obj):
                self.conflicts.append("%s: %s hides %s, but %s hides %s (%s vs %s)" % (
                    key, where, sorted(hid), w0, sorted(h0), ks.short(ks.cell_of(obj), 200),
                    ks.short(ks.cell_of(obj0), 200)))
        else:
            self.seen[key] = (hid, obj, where)

    def finish(self):
        """Compare the own-table totals with the canonical cells; returns
        how many were compared."""
        n = 0
        for key, hid, obj, where in self.own:
            if key not in self.seen:
                continue
            n += 1
            h0, obj0, w0 = self.seen[key]
            if not h0 <= hid:
                self.conflicts.append("%s: %s hides %s, but the canonical cell (%s) hides %s (%s vs %s)" % (
                    key, where, sorted(hid), w0, sorted(h0), ks.short(ks.cell_of(obj), 200),
                    ks.short(ks.cell_of(obj0), 200)))
        self.own = []
        return n


# ---------------------------------------------------------------------------
# one reply against the reference


def line_problems(total_obj, total_c, cells, where):
    """(c) the line total = sum of cells must not hold exactly one hidden
    sensitive cell for any measure: cells without answers to it, or whose
    answers to it name no employee, count as known. total_obj None: the
    total is known."""
    p = []
    for m in METRIC_KEYS:
        hidden = []
        if total_obj is not None and total_c.sensitive(m) and m in ks.hidden_of(total_obj, total_c):
            hidden.append("total")
        for name, obj, c in cells:
            if c.sensitive(m) and m in ks.hidden_of(obj, c):
                hidden.append(name)
        if len(hidden) == 1:
            p.append("%s: %s is the only hidden sensitive %s cell of its line (derivable)" % (where, hidden[0], m))
    return p


def check_metrics(t, srv, ref, f, dims, name, canon=None, margins=True):
    """GET /api/v1/metrics with filter f grouped by dims against the reference:
    the filter echo, the total, every row (same set of groups, none empty),
    the sum, the lines (c), and the canonical cells (d)."""
    params = {k: v for k, v in f.items() if not k.startswith("_")}
    if dims:
        params["group_by"] = ",".join(dims)
    st, _, body = srv.get("/api/v1/metrics?" + qs(params))
    if not t.check(st == 200 and isinstance(body, dict), "%s: 200" % name, ks.got(st, body)):
        return None
    total, groups = ref.query(f, dims)
    problems = cell_check(body, total, total_expect(f, dims, total), "total")
    # the filter as applied: local times, cut at the start of today
    lo, hi = ref.applied(f)
    fe = body.get("filter") or {}
    want_f = {"time_zone": "Europe/Amsterdam", "from": ks.local_iso(lo) if lo is not None else None,
              "to": ks.local_iso(hi)}
    got_f = {k: fe.get(k) for k in want_f}
    if got_f != want_f:
        problems.append("filter %s, expected %s" % (got_f, want_f))
    want_period = f.get("period", f.get("_label"))
    if fe.get("period") != want_period:
        problems.append("filter.period %r, expected %r" % (fe.get("period"), want_period))
    rows_seen = []
    if dims:
        rows = body.get("rows")
        if body.get("group_by") != list(dims):
            problems.append("group_by echoed as %r" % body.get("group_by"))
        if not isinstance(rows, list):
            problems.append("no rows")
            rows = []
        seen = set()
        n_sum = 0
        for row in rows:
            labels = tuple(row.get(d) for d in dims)
            try:
                k = tuple(gkey(d, v) for d, v in zip(dims, labels))
            except (TypeError, KeyError):
                problems.append("row with a bad key: %s" % ks.short(row, 200))
                continue
            if k in seen:
                problems.append("group %r listed twice" % (labels,))
            seen.add(k)
            n_sum += row.get("n", 0) if isinstance(row.get("n"), int) else 0
            if k not in groups:
                problems.append("group %r (n %r) not in the reference" % (labels, row.get("n")))
                continue
            want_labels, c = groups[k]
            if labels != want_labels:
                problems.append("labels %r, reference %r" % (labels, want_labels))
            problems += cell_check(row, c, row_expect(f, dims, labels, c), "row %r" % (labels,))
            rows_seen.append((labels, row, c))
        missing = [groups[k][0] for k in groups if k not in seen]
        if missing:
            problems.append("%d reference groups missing, e.g. %r" % (len(missing), missing[:3]))
        if n_sum != body.get("n"):
            problems.append("rows add up to n %d, total n %r" % (n_sum, body.get("n")))
        # (c) the lines of the reply
        problems += line_problems(body, total, [(repr(lb), r, c) for lb, r, c in rows_seen], "total line")
        if len(dims) == 2 and margins:
            for i in (0, 1):
                st1, _, one = srv.get("/api/v1/metrics?" + qs(dict(params, group_by=dims[i])))
                if st1 != 200:
                    problems.append("one-way reply by %s: %s" % (dims[i], st1))
                    continue
                _, g1 = ref.query(f, (dims[i],))
                mrow = {gkey(dims[i], r.get(dims[i])): r for r in one.get("rows", [])}
                by = {}
                for lb, r, c in rows_seen:
                    by.setdefault(gkey(dims[i], lb[i]), []).append(("%r" % (lb,), r, c))
                for mk, cells in by.items():
                    if mk in mrow and mk in g1:
                        problems += line_problems(mrow[mk], g1[mk][1], cells,
                                                  "margin %s=%r" % (dims[i], g1[mk][0][0]))
    # (d) the canonical cells: every cell of a reply the table holds; the
    # total of any other
    if canon is not None:
        own = not canonical_reply(dims)
        canon.note(canon.key(f, (), None), body, total, name + " total", own=own)
        if not own:
            for lb, r, c in rows_seen:
                canon.note(canon.key(f, dims, lb), r, c, "%s row %r" % (name, lb))
    t.check(not problems, "%s: total and %d groups equal the reference" % (name, len(groups)),
            "\n".join(problems[:15]) + ("\n... %d problems" % len(problems) if len(problems) > 15 else ""))
    return body


# ---------------------------------------------------------------------------
# the checks


def dates_of(period):
    """from/to as local dates (YYYY-MM-DD) of a period label."""
    lo, hi = ks.local_period_bounds(period)
    return ks.local_dt(lo).date().isoformat(), ks.local_dt(hi).date().isoformat()


def test_groupings(t, srv, ref, months, canon):
    for d in ALL_DIMS:
        check_metrics(t, srv, ref, {}, (d,), "group_by=%s" % d, canon)
    for pair in (("team", "month"), ("department", "channel"), ("journey", "touchpoint"),
                 ("segment", "age_band"), ("employee", "quarter"), ("city", "language"),
                 ("month", "channel"), ("organisation", "customer_since_band"), ("month", "team"),
                 ("employee", "channel"), ("team", "year"), ("employee", "team"), ("team", "department")):
        check_metrics(t, srv, ref, {}, pair, "group_by=%s" % ",".join(pair), canon)
    check_metrics(t, srv, ref, {}, (), "no group_by", canon)

    # filters
    depts = sorted(i for i, u in ref.units.items() if u[1] == "department")
    teams = sorted(i for i, u in ref.units.items() if u[1] == "team")
    org = next(i for i, u in ref.units.items() if u[1] == "organisation")
    emp = sorted(ref.emps)[3]
    tp = sorted(ref.tps)[2]
    journey = sorted(ref.journeys)[1]
    m = months[len(months) // 2]
    lo, hi = ks.local_period_bounds(m)
    mid = ref.rows[len(ref.rows) // 2]
    monday = datetime.date.fromisoformat(mid["key"]["day"])
    monday -= datetime.timedelta(days=monday.weekday())
    sunday_next = monday + datetime.timedelta(days=7)
    week = "%04d-W%02d" % monday.isocalendar()[:2]
    clock_month = ks.local_keys(ref.as_of)["month"]
    q = "%s-Q%d" % (m[:4], (int(m[5:7]) - 1) // 3 + 1)
    qf, qt = dates_of(q)
    mf, mt = dates_of(m)
    cases = [
        ({"team_id": str(depts[0])}, ("team",)),
        ({"team_id": str(depts[1])}, ("employee", "month")),
        ({"team_id": str(teams[2])}, ("department",)),
        ({"team_id": str(teams[2])}, ("employee",)),
        ({"team_id": str(teams[2])}, ("employee", "quarter")),
        ({"team_id": str(teams[2]), "period": m[:4]}, ("month",)),
        ({"team_id": str(teams[2]), "period": q}, ("employee",)),
        ({"team_id": str(teams[0]), "period": clock_month}, ("employee",)),
        ({"team_id": str(org)}, ("department",)),
        ({"period": m}, ("team", "channel")),
        ({"period": m}, ("team",)),
        ({"period": m}, ("channel",)),
        ({"period": m[:4]}, ("quarter",)),
        ({"period": m[:4]}, ("team", "quarter")),
        ({"period": q}, ("month",)),
        ({"period": clock_month}, ("team",)),
        ({"period": clock_month}, ("department",)),
        ({"period": "2026-12"}, ("team",)),        # a month no figure has reached yet ...
        ({"period": "2026-12"}, ()),               # ... at any level
        ({"from": qf, "to": qt, "_label": q}, ("language",)),
        ({"period": q}, ("channel",)),
        ({"period": m}, ("touchpoint",)),
        ({"from": mf, "to": mt, "_label": m}, ("team",)),
        ({"from": m[:4] + "-01-01", "to": "%d-01-01" % (int(m[:4]) + 1), "_label": m[:4]}, ("quarter",)),
        ({"employee_id": str(emp)}, ("quarter",)),
        ({"employee_id": str(emp)}, ("month",)),
        ({"employee_id": str(emp), "period": m[:4]}, ()),
        ({"touchpoint_id": str(tp)}, ("channel",)),
        ({"journey_id": str(journey)}, ("touchpoint",)),
        ({"channel": "phone", "language": "nl"}, ("segment",)),
        ({"language": "en"}, ("age_band",)),
        ({"segment": ref.rows[0]["segment_raw"]}, ("city",)),
        ({"city": ref.rows[1]["city_raw"]}, ("segment",)),
        ({"age_band": "35-44"}, ("customer_since_band",)),
        ({"customer_since_band": "3-5y"}, ("age_band",)),
        ({"city": "Atlantis"}, ()),            # matches nothing: an empty slice
    ]
    for f, dims in cases:
        name = "%s group_by=%s" % (qs({k: v for k, v in f.items() if not k.startswith("_")}), ",".join(dims))
        body = check_metrics(t, srv, ref, f, dims, name, canon)
        if body is not None and f == {"city": "Atlantis"}:
            t.check(body.get("n") == 0 and body.get("insufficient") is True and body.get("rows", []) == [],
                    "%s: empty slice -> n 0, insufficient, no rows" % qs(f), ks.short(body))
        if body is not None and f == {"period": "2026-12"}:
            t.check(body.get("n") == 0 and body.get("filter", {}).get("from") == body.get("filter", {}).get("to")
                    == ks.local_iso(ref.as_of),
                    "period=2026-12 %s: nothing yet (from = to = the start of today)"
                    % ("by team" if dims else "for the organisation"), ks.short(body.get("filter")))

    # an id that names no row is an error, not an empty slice (API.md,
    # Metrics filters)
    t.error(srv.get("/api/v1/metrics?team_id=999999&group_by=team"), 422, "unknown_reference", "team_id",
            "team_id=999999 group_by=team -> 422 unknown_reference naming team_id")

    # windows that are no whole local period, and days, weeks and rolling
    # windows at every level
    t_mid = mid["t"]
    day = mid["key"]["day"]
    nxt_day = (datetime.date.fromisoformat(day) + datetime.timedelta(days=1)).isoformat()
    for f, field, what in (
            ({"from": ks.iso(t_mid), "to": ks.iso(t_mid + 7 * 86400)}, "from", "an arbitrary 7-day window"),
            ({"from": ks.iso(t_mid)}, "to", "from alone"),
            ({"to": ks.iso(t_mid)}, "from", "to alone"),
            ({"from": ks.local_dt(lo).date().isoformat()}, "to", "a month's first day alone"),
            ({"from": ks.local_dt(lo).date().isoformat(), "to": ks.local_dt(hi + 86400).date().isoformat()}, "from",
             "a month and a day"),
            ({"from": m + "-01T00:00:00Z", "to": ks.iso(ks.parse_iso(m + "-01T00:00:00Z") + 86400 * 40)[:8]
              + "01T00:00:00Z"}, "from", "a month in UTC (not local midnights)"),
            ({"period": day}, "period", "the organisation on one day"),
            ({"period": week}, "period", "the organisation in one ISO week"),
            ({"period": "last_30d"}, "period", "the organisation over last_30d"),
            ({"period": "last_7d", "group_by": "channel"}, "period", "channels over last_7d"),
            ({"from": monday.isoformat(), "to": sunday_next.isoformat()}, "period",
             "the organisation over a whole ISO week (from/to)"),
            ({"from": day, "to": nxt_day, "group_by": "touchpoint"}, "period",
             "touchpoints over a whole day (from/to)"),
            ({"team_id": str(depts[0]), "period": day}, "period", "a department on one day"),
            ({"touchpoint_id": str(tp), "period": week}, "period", "a touchpoint in one ISO week"),
            ({"team_id": str(teams[0]), "period": day}, "period", "a team on one day"),
            ({"team_id": str(teams[0]), "period": week}, "period", "a team in one ISO week"),
            ({"team_id": str(teams[0]), "period": "last_30d"}, "period", "a team over last_30d"),
            ({"employee_id": str(emp), "from": monday.isoformat(), "to": sunday_next.isoformat()}, "period",
             "an employee over a whole ISO week (from/to)"),
            ({"group_by": "employee", "period": day}, "period", "by employee on one day"),
            ({"group_by": "day"}, "group_by", "the organisation by day"),
            ({"group_by": "week"}, "group_by", "the organisation by week"),
            ({"group_by": "week,channel"}, "group_by", "by week and channel"),
            ({"group_by": "touchpoint,day", "period": m}, "group_by", "a month's touchpoints by day"),
            ({"team_id": str(teams[0]), "group_by": "week"}, "group_by", "a team by week"),
            ({"group_by": "team,day"}, "group_by", "by team and day"),
            ({"employee_id": str(emp), "group_by": "day"}, "group_by", "an employee by day")):
        t.error(srv.get("/api/v1/metrics?" + qs(f)), 422, "invalid", field,
                "metrics: %s -> 422 naming %s" % (what, field))
    for f, what in (({"interval": "day"}, "the organisation per day"), ({"interval": "week", "channel": "web"},
                                                                         "channel web per week"),
                    ({"interval": "week", "employee_id": str(emp)}, "an employee per week"),
                    ({"interval": "day", "team_id": str(teams[0])}, "a team per day")):
        t.error(srv.get("/api/v1/metrics/trend?" + qs(f)), 422, "invalid", "interval",
                "trend: %s -> 422 naming interval" % what)


def test_min_n_and_csv(t, srv, ref, canon):
    """Employee x quarter: many groups below 10. JSON masks them; the CSV
    (?format=csv and Accept: text/csv) has the same digits, empty cells
    where JSON has null and the note."""
    dims = ("employee", "quarter")
    body = check_metrics(t, srv, ref, {}, dims, "min_n: group_by=employee,quarter", canon)
    if body is None:
        return
    rows = body.get("rows", [])
    people = [r for r in rows if r["employee"]["id"]]
    small = [r for r in people if r.get("n", 0) < 10]
    big = [r for r in people if r.get("n", 0) >= 10]
    t.check(len(small) >= 3 and len(big) >= 3, "min_n: the data has groups on both sides of 10",
            "small %d, big %d" % (len(small), len(big)))
    t.check(body.get("min_n") == 5, "min_n: the total of a reply by employee is no person's cell (min_n 5)",
            ks.short(body.get("min_n")))
    t.check(all(r.get("insufficient") is True and not any(k in r for k in METRIC_KEYS + ("hidden",))
                and r.get("min_n") == 10 for r in small),
            "min_n: rows with n < 10 have no score blocks and insufficient true",
            ks.short([r for r in small if any(k in r for k in METRIC_KEYS)][:3]))
    t.check(all(r.get("min_n") == 10 and "hidden" in r for r in big),
            "min_n: rows with n >= 10 carry their measures (shown or listed in hidden), min_n 10",
            ks.short([r for r in big if "hidden" not in r][:3]))
    t.check(any(isinstance(r.get("nps"), dict) for r in big),
            "min_n: some rows with n >= 10 show their NPS", ks.short(big[:2]))
    st, _, b5 = srv.get("/api/v1/metrics?group_by=team")
    t.check(st == 200 and b5.get("min_n") == 5, "min_n: 5 when grouped by team", ks.got(st, b5))

    _, groups = ref.query({}, dims)
    head = ["employee", "quarter"] + ks.CSV_HEADER
    for how, path, hdrs in (("?format=csv", "/api/v1/metrics?group_by=employee,quarter&format=csv", None),
                            ("Accept: text/csv", "/api/v1/metrics?group_by=employee,quarter",
                             {"Accept": "text/csv"})):
        st, hd, text = srv.get(path, headers=hdrs)
        ctype = (hd.get("Content-Type") or "") if hd else ""
        if not t.check(st == 200 and ctype.startswith("text/csv") and isinstance(text, str),
                       "csv %s: 200 text/csv" % how, "status %s, Content-Type %r" % (st, ctype)):
            continue
        table = list(csv.reader(io.StringIO(text)))
        t.eq(table[0] if table else None, head, "csv %s: header row" % how)
        lines = table[1:]
        t.check(len(lines) == len(rows) + 1, "csv %s: one line a group plus the total" % how,
                "%d lines, %d JSON rows" % (len(lines), len(rows)))
        problems = []
        for line, row in zip(lines, rows):
            if line[:2] != [row["employee"]["name"], row["quarter"]]:
                problems.append("line %r for JSON row %r" % (line[:2], (row["employee"]["name"], row["quarter"])))
                continue
            c = groups[(gkey("employee", row["employee"]), row["quarter"])][1]
            want = ks.csv_fields(c, row["min_n"], row.get("hidden") or [])
            if line[2:] != want:
                problems.append("line %r, expected %r (JSON %s)" % (line, want, ks.short(ks.cell_of(row), 300)))
        total = lines[-1] if lines else []
        tc, _ = ref.query({}, dims)
        want_t = ["total", ""] + ks.csv_fields(tc, body["min_n"], body.get("hidden") or [])
        if total != want_t:
            problems.append("total line %r, expected %r" % (total, want_t))
        t.check(not problems, "csv %s: lines carry the JSON's digits, hidden measures empty with the note" % how,
                "\n".join(problems[:10]))


class Session:
    """A logged-in user (session cookie)."""

    def __init__(self, srv, role, unit_id=None):
        email = "%s@analytics.test" % ks.uniq(role)
        body = {"email": email, "name": role.title(), "role": role, "password": PASSWORD}
        if unit_id:
            body["unit_id"] = unit_id
        st, _, u = srv.post("/api/v1/users", body)
        if st != 201:
            raise ks.FixtureError("POST /api/v1/users %s -> %s %s" % (ks.short(body), st, ks.short(u)))
        st, hd, b = srv.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, auth=False)
        m = None
        for sc in (hd.get_all("Set-Cookie") or []) if hd is not None else []:
            m = re.match(r"ks_session=([^;]+)", sc) or m
        if st != 200 or not m:
            raise ks.FixtureError("login %s -> %s %s" % (email, st, ks.short(b)))
        self.srv, self.cookie = srv, m.group(1)

    def get(self, path):
        return self.srv.request("GET", path, headers={"Cookie": "ks_session=" + self.cookie}, auth=False)


def shown_value(r, by):
    block = r.get(by) if isinstance(r.get(by), dict) else None
    return None if block is None else block["value" if by == "nps" else "mean"]


def test_sort(t, srv, ref, months):
    """sort by a score: shown groups in order, hidden groups last either
    way; people are not ranked below director."""
    q = "%s-Q%d" % (months[-4][:4], (int(months[-4][5:7]) - 1) // 3 + 1)
    st2, _, plain = srv.get("/api/v1/metrics?group_by=employee&period=" + q)
    for sort in ("-nps", "nps", "-grade", "ces"):
        st, _, body = srv.get("/api/v1/metrics?group_by=employee&sort=%s&period=%s" % (sort, q))
        if not t.check(st == 200 and isinstance(body, dict), "sort=%s: 200" % sort, ks.got(st, body)):
            continue
        rows = body.get("rows", [])
        t.check(sorted(r["employee"]["id"] or 0 for r in rows) == sorted(r["employee"]["id"] or 0 for r in plain.get("rows", []))
                and all(ks.cell_of(r) == ks.cell_of(next(p for p in plain["rows"] if p["employee"] == r["employee"]))
                        for r in rows),
                "sort=%s: the same groups with the same cells as unsorted" % sort)
        by, desc = sort.lstrip("-"), sort.startswith("-")
        vals = [shown_value(r, by) for r in rows]
        problems = []
        hidden_seen = False
        for r, v in zip(rows, vals):
            if v is None:
                hidden_seen = True
            elif hidden_seen:
                problems.append("shown %s after a hidden one" % r["employee"]["name"])
        shown = [v for v in vals if v is not None]
        if shown != sorted(shown, reverse=desc):
            problems.append("shown values not in order: %s" % shown)
        t.check(not problems and hidden_seen and shown,
                "sort=%s: shown %s in %s order, hidden groups (there are some) last" %
                (sort, by, "descending" if desc else "ascending"), "\n".join(problems[:8]) or ks.short(vals))
    st, _, asc = srv.get("/api/v1/metrics?group_by=team&sort=n")
    ns = [r["n"] for r in asc.get("rows", [])] if st == 200 else None
    t.check(ns is not None and ns == sorted(ns), "sort=n: ascending n", ks.short(ns))
    st, _, byname = srv.get("/api/v1/metrics?group_by=team")
    names = [r["team"]["name"] for r in byname.get("rows", [])] if st == 200 else None
    t.check(names is not None and names == sorted(names), "default order: team names alphabetically",
            ks.short(names))
    st, _, bytime = srv.get("/api/v1/metrics?group_by=month")
    ms = [r["month"] for r in bytime.get("rows", [])] if st == 200 else None
    t.check(ms is not None and ms == sorted(ms) and len(set(ms)) == len(ms),
            "default order: months chronologically", ks.short(ms))
    # coaching, not ranking
    teams = sorted(i for i, u in ref.units.items() if u[1] == "team")
    depts = sorted(i for i, u in ref.units.items() if u[1] == "department")
    for role, unit in (("team_lead", teams[0]), ("manager", depts[0])):
        s = Session(srv, role, unit)
        for sort in ("nps", "-grade", "ces"):
            t.error(s.get("/api/v1/metrics?group_by=employee&sort=" + sort), 422, "invalid", "sort",
                    "sort: a %s ranking people by %s -> 422 naming sort" % (role, sort))
        st, _, b = s.get("/api/v1/metrics?group_by=employee&sort=n")
        t.status((st, None, b), 200, "sort: a %s may order people by n" % role)
        st, _, b = s.get("/api/v1/metrics?group_by=team&sort=-nps")
        t.status((st, None, b), 200, "sort: a %s may order teams by NPS" % role)
    s = Session(srv, "director")
    st, _, b = s.get("/api/v1/metrics?group_by=employee&sort=-nps")
    t.status((st, None, b), 200, "sort: a director may order people by NPS")


def expected_signals(body, total, groups, dims):
    """nps_signal of each row key: the group against the rest of the reply's
    total (adjusted-Wald z), BH at 5% over the rows; only where the group's
    and the total's NPS are shown."""
    out, chs = {}, []
    if not isinstance(body.get("nps"), dict):
        return {}
    for row in body.get("rows", []):
        k = tuple(gkey(d, row.get(d)) for d in dims)
        c = groups[k][1]
        if not isinstance(row.get("nps"), dict):
            continue
        rest = total.copy().merge(c, -1)
        if rest.nps_n <= 0:
            continue
        ch = ks.compare_nps(rest, c, 1)
        out[k] = ch
        chs.append(ch)
    ks.bh(chs)
    return {k: ("above" if ch["_diff_adj"] > 0 else "below") if ch["verdict"] == "real_change" else "noise"
            for k, ch in out.items()}


def test_signals(t, srv, ref):
    for f, dims in (({}, ("team",)), ({}, ("touchpoint",)), ({}, ("channel",)), ({}, ("employee",)),
                    ({"period": sorted({r["key"]["quarter"] for r in ref.rows})[-3]}, ("department",))):
        st, _, body = srv.get("/api/v1/metrics?" + qs(dict(f, group_by=",".join(dims))))
        if not t.check(st == 200, "nps_signal %s: 200" % ",".join(dims), ks.got(st, body)):
            continue
        total, groups = ref.query(f, dims)
        want = expected_signals(body, total, groups, dims)
        got_s = {tuple(gkey(d, r.get(d)) for d in dims): r["nps_signal"] for r in body.get("rows", [])
                 if "nps_signal" in r}
        bad = [(k, got_s.get(k), want.get(k)) for k in set(got_s) | set(want) if got_s.get(k) != want.get(k)]
        t.check(not bad and set(want.values()) - {"noise"},
                "nps_signal by %s: above/below/noise where the row's and the total's NPS are shown, "
                "z-test against the rest with BH at 5%% (%d signals, %d not noise)"
                % (",".join(dims), len(want), sum(1 for v in want.values() if v != "noise")), ks.short(bad[:5]))


def months_adjacent(a, b):
    y, m = int(a[:4]), int(a[5:7])
    y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return b == "%04d-%02d" % (y, m)


def trend_problems(body, ref, f, interval="month"):
    """Every point's cell and its nps_change against the period just before
    (no_previous_period for the first and after a gap), BH over the reply."""
    _, groups = ref.query(f, (interval,))
    byp = {labels[0]: c for labels, c in groups.values()}
    pts = body.get("points") or []
    problems = []
    periods = [p.get("period") for p in pts]
    if periods != sorted(byp):
        problems.append("periods %s, reference %s" % (ks.short(periods, 300), ks.short(sorted(byp), 300)))
        return problems
    chs = []
    for i, p in enumerate(pts):
        c = byp[p["period"]]
        exp = row_expect(f, (interval,), (p["period"],), c)
        mn = exp[1]
        problems += cell_check(p, c, exp, "point %s" % p["period"])
        if i == 0:
            ch = {"verdict": "no_previous_period"}
        else:
            prev = pts[i - 1]
            pc = byp[prev["period"]]
            adjacent = months_adjacent(prev["period"], p["period"]) if interval == "month" else True
            if not adjacent:
                ch = {"verdict": "no_previous_period"}
            else:
                ch = ks.compare_nps(pc, c, max(row_expect(f, (interval,), (prev["period"],), pc)[1], mn))
                if "nps" in ks.hidden_of(prev, pc) or "nps" in ks.hidden_of(p, c):
                    ch = {"verdict": "insufficient_data"}
        chs.append(ch)
    ks.bh(chs)
    for i, (p, ch) in enumerate(zip(pts, chs)):
        want = dict(ks.public(ch), vs=pts[i - 1]["period"] if i else None)
        if p.get("nps_change") != want:
            problems.append("point %s: nps_change %s, expected %s" % (p["period"], ks.short(p.get("nps_change")),
                                                                      ks.short(want)))
    return problems


def note_trend(canon, ref, f, interval, body, name):
    """(d) every point of a trend is the canonical cell of its period."""
    _, g = ref.query(f, (interval,))
    for p in body.get("points", []):
        if (p.get("period"),) in g:
            canon.note(canon.key(dict(f, period=p["period"]), (), None), p, g[(p["period"],)][1],
                       "trend %s %s" % (name, p["period"]))


def test_trend(t, srv, ref, canon):
    st, _, body = srv.get("/api/v1/metrics/trend?interval=month")
    if not t.check(st == 200 and isinstance(body, dict) and isinstance(body.get("points"), list),
                   "trend: 200 with points", ks.got(st, body)):
        return
    t.eq(body.get("interval"), "month", "trend: interval echoed")
    pts = body["points"]
    periods = [p.get("period") for p in pts]
    t.check(periods == sorted(periods) and len(set(periods)) == len(periods) and len(periods) >= 20,
            "trend: %d points in chronological order" % len(periods), ks.short(periods))
    problems = trend_problems(body, ref, {})
    note_trend(canon, ref, {}, "month", body, "organisation")
    t.check(not problems, "trend: every point's cell and nps_change (diff, diff_plain, se, z, p, p_adj, fdr_q, "
            "verdict, vs) equal the reference", "\n".join(problems[:10]))
    verdicts = {p.get("nps_change", {}).get("verdict") for p in pts}
    t.check(pts and pts[0].get("nps_change") == {"verdict": "no_previous_period", "vs": None}
            and verdicts <= {"real_change", "within_noise", "insufficient_data", "no_previous_period"}
            and {"within_noise"} <= verdicts,
            "trend: the first point says no_previous_period (vs null); verdicts from the documented set",
            ks.short(sorted(v for v in verdicts if v)))
    t.check(all(p["nps_change"].get("fdr_q") == 0.05 and "p_adj" in p["nps_change"] for p in pts
                if p["nps_change"]["verdict"] in ("real_change", "within_noise")),
            "trend: every verdict is after Benjamini-Hochberg at 5% (p_adj, fdr_q)")
    # a slice with a gap between two months, and team/person trends (as of today)
    emp_months = {}
    for r in ref.rows:
        if r["employee"] and r["t"] < ref.as_of:
            emp_months.setdefault(r["employee"], set()).add(r["key"]["month"])
    gap_emp = next((e for e, ms in sorted(emp_months.items())
                    if any(not months_adjacent(a, b) for a, b in zip(sorted(ms), sorted(ms)[1:]))), None)
    teams = sorted(i for i, u in ref.units.items() if u[1] == "team")
    for f, name in (({"employee_id": str(gap_emp)}, "an employee with a gap"), ({"team_id": str(teams[1])}, "a team"),
                    ({"channel": "web"}, "channel web")):
        if f.get("employee_id") == "None":
            t.check(False, "trend: the demo data has an employee with a month without answers")
            continue
        st, _, body = srv.get("/api/v1/metrics/trend?" + qs(dict(f, interval="month")))
        problems = trend_problems(body, ref, f) if st == 200 else [ks.got(st, body)]
        gap = any(p["nps_change"].get("verdict") == "no_previous_period" for p in body.get("points", [])[1:]) \
            if st == 200 else False
        t.check(not problems and (gap or "employee_id" not in f),
                "trend %s: points and changes equal the reference%s" % (
                    name, " (after the gap: no_previous_period)" if "employee_id" in f else ""),
                "\n".join(problems[:10]))
        if st == 200:
            note_trend(canon, ref, f, "month", body, name)
    st, _, body = srv.get("/api/v1/metrics/trend?interval=quarter&team_id=%d" % teams[1])
    problems = trend_problems(body, ref, {"team_id": str(teams[1])}, "quarter") if st == 200 else [ks.got(st, body)]
    if st == 200:
        note_trend(canon, ref, {"team_id": str(teams[1])}, "quarter", body, "a team per quarter")
    t.check(not problems, "trend a team per quarter: points and changes equal the reference", "\n".join(problems[:10]))


def test_unit_rows(t, srv, ref, months, canon):
    """A team's slice grouped by its department or organisation has one row,
    which is the team's own cell: in every month it must show what the
    team's reply shows (and hide what it hides), and its line (total = the
    one row) must not hold one hidden cell."""
    teams = sorted(i for i, u in ref.units.items() if u[1] == "team")
    for dim in ("department", "organisation"):
        problems, replies = [], 0
        for team in teams:
            for m in months + sorted({mo[:4] for mo in months}):
                f = {"team_id": str(team), "period": m}
                st, _, body = srv.get("/api/v1/metrics?" + qs(dict(f, group_by=dim)))
                if st != 200:
                    problems.append("%s: %s" % (qs(f), ks.got(st, body)))
                    continue
                replies += 1
                total, groups = ref.query(f, (dim,))
                problems += cell_check(body, total, total_expect(f, (dim,), total), "%s total" % qs(f))
                cells = []
                for row in body.get("rows", []):
                    k = (gkey(dim, row.get(dim)),)
                    if k not in groups:
                        problems.append("%s: row %s not in the reference" % (qs(f), ks.short(row.get(dim))))
                        continue
                    c = groups[k][1]
                    problems += cell_check(row, c, row_expect(f, (dim,), (row.get(dim),), c), "%s row" % qs(f))
                    cells.append((dim, row, c))
                    canon.note(canon.key(f, (dim,), (row.get(dim),)), row, c, "%s group_by=%s row" % (qs(f), dim))
                problems += line_problems(body, total, cells, "%s group_by=%s" % (qs(f), dim))
                canon.note(canon.key(f, (dim,), None), body, total, "%s group_by=%s total" % (qs(f), dim))
        t.check(not problems, "team slices by %s (%d replies: every team, every month and year): the one row "
                "is the team's cell, shown or hidden as the team's own reply" % (dim, replies),
                "\n".join(problems[:12]))


def test_compare(t, srv, ref, months, canon):
    m1, m2 = months[-4], months[-2]
    depts = sorted(i for i, u in ref.units.items() if u[1] == "department")
    teams = sorted(i for i, u in ref.units.items() if u[1] == "team")
    for extra, name in (({}, "whole organisation"), ({"team_id": str(depts[0])}, "one department"),
                        ({"team_id": str(teams[0])}, "one team")):
        params = dict(extra)
        params["a.period"] = m1
        params["b.period"] = m2
        st, _, body = srv.get("/api/v1/metrics/compare?" + qs(params))
        if not t.check(st == 200 and isinstance(body, dict), "compare %s %s vs %s: 200" % (name, m1, m2),
                       ks.got(st, body)):
            continue
        fa, fb = dict(extra, period=m1), dict(extra, period=m2)
        ta, _ = ref.query(fa, ())
        tb, _ = ref.query(fb, ())
        ea, eb = total_expect(fa, (), ta), total_expect(fb, (), tb)
        ma, mb = ea[1], eb[1]
        problems = cell_check(body.get("a"), ta, ea, "a") + cell_check(body.get("b"), tb, eb, "b")
        mn = max(ma, mb)
        want = {"nps": ks.compare_nps(ta, tb, mn), "grade": ks.compare_grade(ta, tb, mn)}
        for m in ("nps", "grade"):
            if m in ks.hidden_of(body.get("a"), ta) or m in ks.hidden_of(body.get("b"), tb):
                want[m] = {"verdict": "insufficient_data"}
            if body.get(m + "_change") != ks.public(want[m]):
                problems.append("%s_change %s, expected %s" % (m, ks.short(body.get(m + "_change")),
                                                               ks.short(ks.public(want[m]))))
        if body.get("min_n") != mn:
            problems.append("min_n %r, expected %d" % (body.get("min_n"), mn))
        canon.note(canon.key(fa, (), None), body.get("a"), ta, "compare %s a" % name)
        canon.note(canon.key(fb, (), None), body.get("b"), tb, "compare %s b" % name)
        t.check(not problems, "compare %s: a, b, nps_change and grade_change (%s) equal the reference"
                % (name, want["nps"].get("verdict")), "\n".join(problems))
    t.error(srv.get("/api/v1/metrics/compare?" + qs({"a.period": m1, "b.period": m1})), 422, "invalid", None,
            "compare: identical sides (a.period = b.period) -> 422")
    t.error(srv.get("/api/v1/metrics/compare?" + qs({"period": m1})), 422, "invalid", None,
            "compare: only shared parameters (identical sides) -> 422")
    t.error(srv.get("/api/v1/metrics/compare?" + qs({"a.from": "2025-01-03", "a.to": "2025-01-10",
                                                     "b.period": m2})), 422, "invalid", "a.from",
            "compare: an arbitrary window on side a -> 422 naming a.from")
    t.error(srv.get("/api/v1/metrics/compare?" + qs({"a.period": m1, "b.period": "last_30d",
                                                     "team_id": str(teams[0])})), 422, "invalid", "b.period",
            "compare: a team over last_30d -> 422 naming b.period")
    t.error(srv.get("/api/v1/metrics/compare?" + qs({"a.period": m1, "b.period": "last_30d"})), 422, "invalid",
            "b.period", "compare: the organisation over last_30d -> 422 naming b.period")
    t.error(srv.get("/api/v1/metrics/compare?" + qs({"a.period": m1, "b.from": "2025-12-15", "b.to": "2025-12-22"})),
            422, "invalid", "b.period", "compare: the organisation over a whole ISO week on side b -> 422 naming b.period")


def test_errors(t, srv):
    t.error(srv.get("/api/v1/metrics?tean_id=3"), 422, "invalid", "tean_id",
            "metrics: unknown parameter -> 422 naming it")
    t.error(srv.get("/api/v1/metrics?group_by=team&perod=2026"), 422, "invalid", "perod",
            "metrics: unknown parameter beside good ones -> 422 naming it")
    t.error(srv.get("/api/v1/metrics/trend?interval=month&group_by=team"), 422, "invalid", "group_by",
            "trend: a parameter of another endpoint -> 422 naming it")
    t.error(srv.get("/api/v1/metrics/compare?a.period=2026&b.perod=2025"), 422, "invalid", "b.perod",
            "compare: unknown prefixed parameter -> 422 naming it")
    t.error(srv.get("/api/v1/metrics?group_by=colour"), 422, "invalid", "group_by", "metrics: bad group_by -> 422")
    t.error(srv.get("/api/v1/metrics?group_by=team,month,channel"), 422, "invalid", "group_by",
            "metrics: three dimensions -> 422")
    t.error(srv.get("/api/v1/metrics?group_by=team,team"), 422, "invalid", "group_by",
            "metrics: the same dimension twice -> 422")
    t.error(srv.get("/api/v1/metrics?period=2026-Q5"), 422, "invalid", "period", "metrics: period=2026-Q5 -> 422")
    t.error(srv.get("/api/v1/metrics?period=2026-13"), 422, "invalid", "period", "metrics: period=2026-13 -> 422")
    t.error(srv.get("/api/v1/metrics?period=2025-W54"), 422, "invalid", "period", "metrics: period=2025-W54 -> 422")
    t.error(srv.get("/api/v1/metrics?period=2026&from=2026-01-01&to=2027-01-01"), 422, "invalid", "period",
            "metrics: period and from/to together -> 422 naming period")
    t.error(srv.get("/api/v1/metrics?sort=colour"), 422, "invalid", "sort", "metrics: bad sort -> 422")
    t.error(srv.get("/api/v1/metrics?format=xml"), 422, "invalid", "format", "metrics: bad format -> 422")
    t.error(srv.get("/api/v1/metrics/trend?interval=decade"), 422, "invalid", "interval",
            "trend: bad interval -> 422")


def test_live_append(t, srv, ref):
    """A response POSTed through the API now (for a customer created just
    before: no segment, city or birth year, so it groups as "unknown") is
    counted nowhere today: every figure, the organisation's too, is as of
    the start of today. Once the test clock passes local midnight every
    level counts it."""
    emp = sorted(ref.emps)[0]
    team = None
    for r in ref.rows:
        if r["employee"] == emp:
            team, tp = r["team_unit"], r["tp"]
            break
    views = (("the organisation", {}, ()), ("the employee", {"employee_id": str(emp)}, ()),
             ("the team", {"team_id": str(team)}, ()), ("the english answers by segment", {"language": "en"},
                                                        ("segment",)))

    def get(f, dims):
        st, _, b = srv.get("/api/v1/metrics?" + qs(dict(f, group_by=",".join(dims)) if dims else f))
        return b if st == 200 and isinstance(b, dict) else {}

    before = {name: get(f, dims) for name, f, dims in views}
    cust = srv.create("customers", {"external_id": ks.uniq("live"), "language": "en"})
    body = {"client_key": ks.uniq("live"), "team_id": team, "employee_id": emp, "touchpoint_id": tp,
            "customer_id": cust["id"], "channel": "web", "answers": {"nps": 10, "grade": 9}}
    st_p, _, created = srv.post("/api/v1/responses", body)
    if not t.check(st_p == 201 and created.get("received_at") == TEST_CLOCK, "live: POST /responses -> 201 (received now)",
                   ks.got(st_p, created)):
        return None
    for name, f, dims in views:
        after = get(f, dims)
        same = ks.cell_of(after) == ks.cell_of(before[name]) and after.get("rows") == before[name].get("rows") \
            and (after.get("filter") or {}).get("to") == ks.local_iso(ref.as_of)
        t.check(bool(after) and same, "live: today %s: not counted (to = the start of today)" % name,
                ks.short([before[name].get("n"), after.get("n"), (after.get("filter") or {}).get("to")]))
    t.check(not any(r.get("segment") == "unknown" for r in get({"language": "en"}, ("segment",)).get("rows", [])),
            "live: no segment unknown yet among the english answers")
    # the same server, read back from the file as of the start of today: nothing moved
    ref_now = Reference(srv.db, ref.as_of)
    t.eq(len(ref_now.rows), len(ref.rows) + 1, "live: the database holds one more response")
    for f, dims in (({}, ()), ({}, ("segment",)), ({"employee_id": str(emp)}, ("month",))):
        check_metrics(t, srv, ref_now, f, dims, "live: after the POST, today, %s group_by=%s" % (qs(f), ",".join(dims)))
    # the next local day: 00:30 in Amsterdam
    nxt = ks.local_dt(ref.as_of).date() + datetime.timedelta(days=1)
    midnight = ks.local_midnight(nxt.year, nxt.month, nxt.day)
    ks.set_clock(srv, midnight + 1800)
    for name, f, dims in views[:3]:
        old = sum(1 for r in ref.rows if ref.keep(r, f, None, midnight))   # the file before the POST
        st, _, nx = srv.get("/api/v1/metrics?" + qs(f))
        t.check(st == 200 and nx.get("n") == old + 1 and (nx.get("filter") or {}).get("to") == ks.local_iso(midnight),
                "live: after local midnight %s: counted (n = the answers before midnight + 1 = %d)"
                % (name, old + 1), ks.short([old, nx.get("n"), (nx.get("filter") or {}).get("to")]))
    st, _, seg = srv.get("/api/v1/metrics?group_by=segment&language=en")
    unk = [r for r in seg.get("rows", []) if r.get("segment") == "unknown"] if st == 200 else []
    t.check(len(unk) == 1 and unk[0].get("n") == 1,
            "live: after local midnight the new customer's response groups as segment unknown", ks.short(seg))
    ref2 = Reference(srv.db, midnight)
    canon2 = Canon(ref2)
    for f, dims in (({}, ("segment",)), ({}, ("age_band",)), ({}, ("customer_since_band",)),
                    ({}, ("employee", "month")), ({}, ("month",)), ({"employee_id": str(emp)}, ("month",)),
                    ({"team_id": str(team)}, ("employee",))):
        check_metrics(t, srv, ref2, f, dims, "live: after the POST and a day, %s group_by=%s" % (qs(f), ",".join(dims)),
                      canon2)
    compared = canon2.finish()
    t.check(not canon2.conflicts, "live: no canonical cell shown in one reply and hidden in another (%d cells, "
            "%d totals of other replies)" % (canon2.cells, compared), "\n".join(canon2.conflicts[:10]))
    test_unknown_band_filter(t, srv, ref2)
    return ref2


def test_unknown_band_filter(t, srv, ref):
    """docs/API.md lists "unknown" among the age_band / customer_since_band
    filter values: it must select the responses that group as unknown
    (here: the one of the customer without a birth year or customer_since)."""
    for k in ("age_band", "customer_since_band"):
        check_metrics(t, srv, ref, {k: "unknown"}, (), "filter %s=unknown" % k)


def test_measures(t, srv):
    """measures=nps: the same NPS per group as the full count, grade and CES
    null; anything else than all/nps is a 422 naming measures."""
    st, _, full = srv.get("/api/v1/metrics?group_by=team,quarter")
    st2, _, nps = srv.get("/api/v1/metrics?group_by=team,quarter&measures=nps")
    if not t.check(st == 200 and st2 == 200, "measures=nps: both answer 200", ks.got(st2, nps)):
        return
    t.eq(len(nps["rows"]), len(full["rows"]), "measures=nps: as many groups as the full count")
    same = all(a.get("nps") == b.get("nps") and a["n"] == b["n"] for a, b in zip(full["rows"], nps["rows"]))
    t.check(same, "measures=nps: every group's n and nps block equal the full count's")
    t.check(all(r.get("grade") is None and r.get("ces") is None for r in nps["rows"] if not r["insufficient"]),
            "measures=nps: grade and ces are null")
    t.error(srv.get("/api/v1/metrics?measures=grade"), 422, "invalid", "measures",
            "measures=grade -> 422 naming measures")


def main(t):
    srv = ks.Server(t, args=["--test-clock", TEST_CLOCK])
    try:
        rc, out, err = ks.run_cli(["demo", "--db", srv.db, "--scale", "3"], timeout=300)
        if not t.check(rc == 0 and ks.sanitizer_report(err) is None, "demo --scale 3 fills the database",
                       "exit %s\n%s\n%s" % (rc, out[-2000:], err[-4000:])):
            return
        try:
            hz = srv.start()
            t.eq(hz, {"status": "ok", "schema_version": max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))},
                 "server starts on the demo database")
        except ks.FixtureError as ex:
            t.check(False, "server starts on the demo database", str(ex))
            return
        as_of = ks.start_of_local_day(ks.parse_iso(TEST_CLOCK))
        ref = Reference(srv.db, as_of)
        t.check(len(ref.rows) > 1000, "reference: %d responses read from the file" % len(ref.rows))
        t.check(any(r["t"] >= as_of for r in ref.rows) and any(r["t"] < as_of for r in ref.rows),
                "reference: the test clock's day cuts the data (team and person figures stop before it)")
        months = sorted({r["key"]["month"] for r in ref.rows if r["t"] < as_of})
        canon = Canon(ref)
        test_groupings(t, srv, ref, months, canon)
        test_min_n_and_csv(t, srv, ref, canon)
        test_sort(t, srv, ref, months)
        test_signals(t, srv, ref)
        test_trend(t, srv, ref, canon)
        test_compare(t, srv, ref, months, canon)
        test_unit_rows(t, srv, ref, months, canon)
        compared = canon.finish()
        t.check(not canon.conflicts and canon.cells > 500 and compared >= 10,
                "canonical table: no cell shown in one reply and hidden in another, and no total of another "
                "reply showing what the table hides (%d cells seen, %d such totals)" % (canon.cells, compared),
                "\n".join(canon.conflicts[:10]))
        test_errors(t, srv)
        test_live_append(t, srv, ref)
        test_measures(t, srv)
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
