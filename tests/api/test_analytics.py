#!/usr/bin/python3
"""The analytics endpoints (GET /api/v1/metrics, /metrics/trend,
/metrics/compare) on a demo database, against a brute-force reference
computed here in Python straight from the SQLite file (docs/API.md,
"Metrics"; shared/DOMAIN.md for the NPS classes, the adjusted-Wald variance
and the minimum n).

`klantstem demo --db F --scale 3` fills the database first (about 1,800
responses over 24 months), then the server is started on that file.

The reference groups every response by the documented keys: names of org
units, employees, touchpoints and journeys (org roll-ups through the parent
chain, "(none)" without one), channel / segment / city ("unknown" without
one), language, age band (age = response year - birth year), customer-since
band (response year - year of customer_since), UTC day, ISO week, month,
quarter, year."""

import csv
import datetime
import io
import math
import os
import sqlite3
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

ENTITY_DIMS = ("team", "department", "organisation", "employee", "touchpoint", "journey")
ALL_DIMS = ENTITY_DIMS + ("channel", "language", "segment", "age_band", "customer_since_band", "city",
                          "day", "week", "month", "quarter", "year")
MIN_N = 5
MIN_N_EMPLOYEE = 10
METRIC_KEYS = ("nps", "grade", "ces")


# ---------------------------------------------------------------------------
# reference


def c_round(x, decimals):
    """metrics_round: round half away from zero at `decimals` places
    (C round() on x * 10^decimals), never -0."""
    f = 10.0 if decimals == 1 else 100.0
    y = x * f
    a = abs(y)
    r = math.floor(a)
    if a - r >= 0.5:
        r += 1
    r = r if y >= 0 else -r
    v = r / f
    return 0.0 if v == 0 else v


def wire(x):
    """A real as the server writes it: jansson with JSON_REAL_PRECISION(10),
    i.e. "%.10g" (src/http/server.c)."""
    return float("%.10g" % x)


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
    """A filter time: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ -> unix seconds."""
    if len(s) == 10:
        d = datetime.date.fromisoformat(s)
        return int(datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc).timestamp())
    return ks.parse_iso(s)


def period_bounds(p):
    utc = datetime.timezone.utc

    def ts(y, m):
        return int(datetime.datetime(y, m, 1, tzinfo=utc).timestamp())
    if len(p) == 4:
        y = int(p)
        return ts(y, 1), ts(y + 1, 1)
    if "-Q" in p:
        y, q = int(p[:4]), int(p[6])
        m = (q - 1) * 3 + 1
        return ts(y, m), (ts(y + 1, 1) if q == 4 else ts(y, m + 3))
    y, m = int(p[:4]), int(p[5:7])
    return ts(y, m), (ts(y + 1, 1) if m == 12 else ts(y, m + 1))


class Counts:
    __slots__ = ("n", "nps_n", "p", "q", "d", "g_n", "g_sum", "g7", "g9", "c_n", "c_sum", "c5")

    def __init__(self):
        for k in self.__slots__:
            setattr(self, k, 0)

    def add(self, r):
        self.n += 1
        if r["nps"] is not None:
            self.nps_n += 1
            if r["nps"] >= 9:
                self.p += 1
            elif r["nps"] >= 7:
                self.q += 1
            else:
                self.d += 1
        if r["grade"] is not None:
            self.g_n += 1
            self.g_sum += r["grade"]
            self.g7 += r["grade"] >= 7
            self.g9 += r["grade"] >= 9
        if r["ces"] is not None:
            self.c_n += 1
            self.c_sum += r["ces"]
            self.c5 += r["ces"] >= 5

    def nps_value(self):
        return (self.p / self.nps_n - self.d / self.nps_n) * 100.0


class Reference:
    """Every response of the database file with its group labels."""

    def __init__(self, db):
        con = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(db), uri=True, timeout=10)
        try:
            self.units = {i: (p, k, n) for i, p, k, n in
                          con.execute("SELECT id, parent_id, kind, name FROM org_units")}
            self.emps = {i: n for i, n in
                         con.execute("SELECT id, first_name || ' ' || last_name FROM employees")}
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
            when = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
            iso = when.isocalendar()
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
                "day": when.strftime("%Y-%m-%d"),
                "week": "%04d-W%02d" % (iso[0], iso[1]),
                "month": when.strftime("%Y-%m"),
                "quarter": "%04d-Q%d" % (when.year, (when.month - 1) // 3 + 1),
                "year": "%04d" % when.year,
            }
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

    def keep(self, r, f):
        lo, hi = None, None
        if "period" in f:
            lo, hi = period_bounds(f["period"])
        if "from" in f:
            lo = parse_time(f["from"])
        if "to" in f:
            hi = parse_time(f["to"])
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

    def query(self, f, dims):
        """(total Counts, {group key: (labels, Counts)})."""
        total, groups = Counts(), {}
        for r in self.rows:
            if not self.keep(r, f):
                continue
            total.add(r)
            if dims:
                labels = tuple(r["key"][d] for d in dims)
                k = tuple(gkey(d, v) for d, v in zip(dims, labels))
                if k not in groups:
                    groups[k] = (labels, Counts())
                groups[k][1].add(r)
        return total, groups


def gkey(dim, v):
    return ("#", v["id"]) if dim in ENTITY_DIMS else v


def min_n_for(f, dims):
    return MIN_N_EMPLOYEE if "employee" in dims or "employee_id" in f else MIN_N


def metric_problems(obj, c, min_n, where):
    """Differences between one API metrics object (total or row) and the
    reference counts c."""
    p = []
    if obj.get("n") != c.n:
        return ["%s: n %r, reference %d" % (where, obj.get("n"), c.n)]
    if obj.get("min_n") != min_n:
        p.append("%s: min_n %r, expected %d" % (where, obj.get("min_n"), min_n))
    if c.n < min_n:
        if obj.get("insufficient") is not True:
            p.append("%s: n %d < min_n %d but insufficient is %r" % (where, c.n, min_n, obj.get("insufficient")))
        leaked = [k for k in METRIC_KEYS if k in obj]
        if leaked:
            p.append("%s: n %d < min_n but score blocks %s are present" % (where, c.n, leaked))
        return p
    if obj.get("insufficient") is not False:
        p.append("%s: insufficient is %r with n %d" % (where, obj.get("insufficient"), c.n))
    nps, grade, ces = obj.get("nps"), obj.get("grade"), obj.get("ces")
    if c.nps_n == 0:
        if nps is not None:
            p.append("%s: nps block without NPS answers" % where)
    elif not isinstance(nps, dict):
        p.append("%s: no nps block (nps_n %d)" % (where, c.nps_n))
    else:
        want = {"n": c.nps_n, "promoters": wire(c.p / c.nps_n), "passives": wire(c.q / c.nps_n),
                "detractors": wire(c.d / c.nps_n), "value": wire(c_round(c.nps_value(), 1))}
        for k, v in want.items():
            if nps.get(k) != v:
                p.append("%s: nps.%s %r, reference %r" % (where, k, nps.get(k), v))
    if c.g_n == 0:
        if grade is not None:
            p.append("%s: grade block without grades" % where)
    elif not isinstance(grade, dict):
        p.append("%s: no grade block" % where)
    else:
        want = {"n": c.g_n, "mean": wire(c_round(c.g_sum / c.g_n, 2)), "share_7plus": wire(c.g7 / c.g_n),
                "share_9plus": wire(c.g9 / c.g_n)}
        for k, v in want.items():
            if grade.get(k) != v:
                p.append("%s: grade.%s %r, reference %r" % (where, k, grade.get(k), v))
    if c.c_n == 0:
        if ces is not None:
            p.append("%s: ces block without CES answers" % where)
    elif not isinstance(ces, dict):
        p.append("%s: no ces block" % where)
    else:
        want = {"n": c.c_n, "mean": wire(c_round(c.c_sum / c.c_n, 2)), "share_5plus": wire(c.c5 / c.c_n)}
        for k, v in want.items():
            if ces.get(k) != v:
                p.append("%s: ces.%s %r, reference %r" % (where, k, ces.get(k), v))
    return p


def qs(params):
    return urllib.parse.urlencode(params, safe=",")


def check_metrics(t, srv, ref, f, dims, name):
    """GET /api/v1/metrics with filter f grouped by dims against the reference:
    the total, every row (same set of groups, none empty), and the sum."""
    params = dict(f)
    if dims:
        params["group_by"] = ",".join(dims)
    st, _, body = srv.get("/api/v1/metrics?" + qs(params))
    if not t.check(st == 200 and isinstance(body, dict), "%s: 200" % name, ks.got(st, body)):
        return None
    min_n = min_n_for(f, dims)
    total, groups = ref.query(f, dims)
    problems = metric_problems(body, total, min_n, "total")
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
            problems += metric_problems(row, c, min_n, "row %r" % (labels,))
        missing = [groups[k][0] for k in groups if k not in seen]
        if missing:
            problems.append("%d reference groups missing, e.g. %r" % (len(missing), missing[:3]))
        if n_sum != body.get("n"):
            problems.append("rows add up to n %d, total n %r" % (n_sum, body.get("n")))
    t.check(not problems, "%s: total and %d groups equal the reference" % (name, len(groups)),
            "\n".join(problems[:15]) + ("\n... %d problems" % len(problems) if len(problems) > 15 else ""))
    return body


# ---------------------------------------------------------------------------
# the checks


def test_groupings(t, srv, ref, months):
    for d in ALL_DIMS:
        check_metrics(t, srv, ref, {}, (d,), "group_by=%s" % d)
    for pair in (("team", "month"), ("department", "channel"), ("journey", "touchpoint"),
                 ("segment", "age_band"), ("employee", "quarter"), ("city", "language"),
                 ("week", "channel"), ("organisation", "customer_since_band"), ("month", "team")):
        check_metrics(t, srv, ref, {}, pair, "group_by=%s" % ",".join(pair))
    check_metrics(t, srv, ref, {}, (), "no group_by")

    # filters
    depts = sorted(i for i, u in ref.units.items() if u[1] == "department")
    teams = sorted(i for i, u in ref.units.items() if u[1] == "team")
    emp = sorted(ref.emps)[3]
    tp = sorted(ref.tps)[2]
    journey = sorted(ref.journeys)[1]
    m = months[len(months) // 2]
    lo, _ = period_bounds(m)
    t_mid = ref.rows[len(ref.rows) // 2]["t"]
    cases = [
        ({"team_id": str(depts[0])}, ("team",)),
        ({"team_id": str(depts[1])}, ("employee", "month")),
        ({"team_id": str(teams[2])}, ("department",)),
        ({"period": m}, ("team", "channel")),
        ({"period": m[:4]}, ("quarter",)),
        ({"period": "%s-Q%d" % (m[:4], (int(m[5:7]) - 1) // 3 + 1)}, ("month",)),
        ({"from": ks.iso(t_mid), "to": ks.iso(t_mid + 7 * 86400)}, ("day",)),
        ({"from": ks.iso(t_mid)}, ("year",)),
        ({"to": ks.iso(t_mid)}, ("year",)),
        ({"from": ks.iso(lo)[:10]}, ("month",)),
        ({"employee_id": str(emp)}, ("quarter",)),
        ({"touchpoint_id": str(tp)}, ("channel",)),
        ({"journey_id": str(journey)}, ("touchpoint",)),
        ({"channel": "phone", "language": "nl"}, ("segment",)),
        ({"language": "en"}, ("age_band",)),
        ({"segment": ref.rows[0]["segment_raw"]}, ("city",)),
        ({"city": ref.rows[1]["city_raw"]}, ("segment",)),
        ({"age_band": "35-44"}, ("customer_since_band",)),
        ({"customer_since_band": "3-5y"}, ("age_band",)),
        ({"team_id": "999999"}, ("team",)),   # matches nothing: an empty slice
        ({"city": "Atlantis"}, ()),
    ]
    for f, dims in cases:
        body = check_metrics(t, srv, ref, f, dims, "%s group_by=%s" % (qs(f), ",".join(dims)))
        if body is not None and f in ({"team_id": "999999"}, {"city": "Atlantis"}):
            t.check(body.get("n") == 0 and body.get("insufficient") is True and body.get("rows", []) == [],
                    "%s: empty slice -> n 0, insufficient, no rows" % qs(f), ks.short(body))


def test_min_n_and_csv(t, srv, ref):
    """Employee x quarter: many groups below 10. JSON masks them; the CSV
    (?format=csv and Accept: text/csv) has empty score cells and the note."""
    dims = ("employee", "quarter")
    body = check_metrics(t, srv, ref, {}, dims, "min_n: group_by=employee,quarter")
    if body is None:
        return
    rows = body.get("rows", [])
    small = [r for r in rows if r.get("n", 0) < 10]
    big = [r for r in rows if r.get("n", 0) >= 10]
    t.check(len(small) >= 3 and len(big) >= 3, "min_n: the data has groups on both sides of 10",
            "small %d, big %d" % (len(small), len(big)))
    t.check(body.get("min_n") == 10, "min_n: 10 when grouped by employee", ks.short(body.get("min_n")))
    t.check(all(r.get("insufficient") is True and not any(k in r for k in METRIC_KEYS)
                and r.get("min_n") == 10 for r in small),
            "min_n: rows with n < 10 have no score blocks and insufficient true",
            ks.short([r for r in small if any(k in r for k in METRIC_KEYS)][:3]))
    t.check(all(r.get("insufficient") is False and isinstance(r.get("nps"), dict) for r in big),
            "min_n: rows with n >= 10 have their scores", ks.short([r for r in big if "nps" not in r][:3]))
    st, _, b5 = srv.get("/api/v1/metrics?group_by=team")
    t.check(st == 200 and b5.get("min_n") == 5, "min_n: 5 when grouped by team", ks.got(st, b5))

    head = ["employee", "quarter", "n", "nps_n", "nps", "nps_low", "nps_high", "promoters", "passives",
            "detractors", "grade_mean", "grade_7plus", "grade_9plus", "ces_mean", "ces_5plus", "note"]
    score_cols = head[3:15]
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
            cell = dict(zip(head, line))
            if len(line) != len(head):
                problems.append("line of %d cells: %r" % (len(line), line))
                continue
            if cell["employee"] != row["employee"]["name"] or cell["quarter"] != row["quarter"]:
                problems.append("line %r for JSON row %r" % (line[:2], (row["employee"]["name"], row["quarter"])))
            if cell["n"] != str(row["n"]):
                problems.append("n %r, JSON %r" % (cell["n"], row["n"]))
            if row["n"] < 10:
                if any(cell[c] for c in score_cols) or cell["note"] != "not enough responses":
                    problems.append("masked line has scores or no note: %r" % line)
            else:
                if cell["note"] != "":
                    problems.append("note on a full line: %r" % line)
                nps = row.get("nps")
                if isinstance(nps, dict):
                    c = Counts()
                    c.nps_n, c.p, c.d = nps["n"], round(nps["promoters"] * nps["n"]), round(nps["detractors"] * nps["n"])
                    if cell["nps_n"] != str(nps["n"]) or cell["nps"] != "%.1f" % c.nps_value() \
                            or cell["promoters"] != "%.4f" % nps["promoters"]:
                        problems.append("scores %r, JSON %s" % (line, ks.short(nps)))
        total = lines[-1] if lines else []
        tcell = dict(zip(head, total))
        if tcell.get("employee") != "total" or tcell.get("quarter") != "" or tcell.get("n") != str(body.get("n")):
            problems.append("total line %r, JSON n %r" % (total, body.get("n")))
        t.check(not problems, "csv %s: lines match the JSON rows, masked lines empty with the note" % how,
                "\n".join(problems[:10]))


def test_sort(t, srv, ref, months):
    """sort=-nps on employees over one quarter (some below min_n 10)."""
    q = "%s-Q%d" % (months[-4][:4], (int(months[-4][5:7]) - 1) // 3 + 1)
    st, _, body = srv.get("/api/v1/metrics?group_by=employee&sort=-nps&period=" + q)
    if not t.check(st == 200 and isinstance(body, dict), "sort=-nps: 200", ks.got(st, body)):
        return
    rows = body.get("rows", [])
    st2, _, plain = srv.get("/api/v1/metrics?group_by=employee&period=" + q)
    t.check(sorted(r["employee"]["id"] or 0 for r in rows) == sorted(r["employee"]["id"] or 0 for r in plain.get("rows", [])),
            "sort=-nps: the same groups as unsorted")
    masked_seen = False
    problems = []
    prev = None
    for r in rows:
        if r.get("insufficient"):
            masked_seen = True
            continue
        if masked_seen:
            problems.append("unmasked row %s after a masked one" % r["employee"]["name"])
        v = r["nps"]["value"] if isinstance(r.get("nps"), dict) else None
        if v is not None and prev is not None and v > prev:
            problems.append("%s (%s) after %s" % (r["employee"]["name"], v, prev))
        prev = v if v is not None else prev
    t.check(not problems and any(r.get("insufficient") for r in rows),
            "sort=-nps: NPS descending, masked rows (there are some) last",
            "\n".join(problems[:8]) or "no masked rows: %s" % ks.short([r.get("n") for r in rows]))
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


def adj_wald(c):
    n1 = c.nps_n + 3
    p = (c.p + 0.75) / n1
    d = (c.d + 0.75) / n1
    return p - d, (p + d - (p - d) ** 2) / n1


def expected_verdict(a, b, min_n):
    """(verdict, z) of the NPS change from a to b (Rocks 2016 / MeasuringU)."""
    if a.nps_n == 0 or b.nps_n == 0:
        return "insufficient_data", None
    ea, va = adj_wald(a)
    eb, vb = adj_wald(b)
    z = (eb - ea) / math.sqrt(va + vb)
    if a.nps_n < min_n or b.nps_n < min_n:
        return "insufficient_data", z
    return ("real_change" if abs(z) >= 1.96 else "within_noise"), z


def test_trend(t, srv, ref):
    st, _, body = srv.get("/api/v1/metrics/trend?interval=month")
    if not t.check(st == 200 and isinstance(body, dict) and isinstance(body.get("points"), list),
                   "trend: 200 with points", ks.got(st, body)):
        return
    t.eq(body.get("interval"), "month", "trend: interval echoed")
    pts = body["points"]
    periods = [p.get("period") for p in pts]
    t.check(periods == sorted(periods) and len(set(periods)) == len(periods) and len(periods) >= 20,
            "trend: %d points in chronological order" % len(periods), ks.short(periods))
    _, groups = ref.query({}, ("month",))
    byp = {labels[0]: c for labels, c in groups.values()}
    problems = []
    t.check(set(periods) == set(byp), "trend: one point a month with responses",
            "api %s\nreference %s" % (sorted(set(periods) - set(byp)), sorted(set(byp) - set(periods))))
    verdicts = set()
    for i, p in enumerate(pts):
        c = byp.get(p.get("period"))
        if c is None:
            continue
        problems += metric_problems(p, c, MIN_N, "point %s" % p.get("period"))
        ch = p.get("nps_change")
        if i == 0:
            if ch is not None:
                problems.append("the first point has an nps_change")
            continue
        if not isinstance(ch, dict):
            problems.append("point %s: no nps_change" % p.get("period"))
            continue
        if ch.get("vs") != pts[i - 1].get("period"):
            problems.append("point %s: vs %r, expected %r" % (p.get("period"), ch.get("vs"), pts[i - 1].get("period")))
        want, z = expected_verdict(byp[pts[i - 1]["period"]], c, MIN_N)
        verdicts.add(ch.get("verdict"))
        if ch.get("verdict") != want:
            problems.append("point %s: verdict %r, reference %r (z %.4f)" % (p.get("period"), ch.get("verdict"), want, z))
        if z is not None and not (isinstance(ch.get("z"), (int, float)) and abs(ch["z"] - z) <= 0.01):
            problems.append("point %s: z %r, reference %.4f" % (p.get("period"), ch.get("z"), z))
    t.check(not problems, "trend: every point's metrics and nps_change (vs, z, verdict) equal the reference",
            "\n".join(problems[:10]))
    t.check(verdicts <= {"real_change", "within_noise", "insufficient_data"} and verdicts,
            "trend: verdicts from the documented set", ks.short(sorted(v for v in verdicts if v)))


def test_compare(t, srv, ref, months):
    m1, m2 = months[-4], months[-2]
    depts = sorted(i for i, u in ref.units.items() if u[1] == "department")
    for extra, name in (({}, "whole organisation"), ({"team_id": str(depts[0])}, "one department")):
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
        problems = metric_problems(body.get("a", {}), ta, MIN_N, "a") + metric_problems(body.get("b", {}), tb, MIN_N, "b")
        want, z = expected_verdict(ta, tb, MIN_N)
        ch = body.get("nps_change") or {}
        if ch.get("verdict") != want:
            problems.append("verdict %r, reference %r (z %s)" % (ch.get("verdict"), want, z))
        if z is not None and not (isinstance(ch.get("z"), (int, float)) and abs(ch["z"] - z) <= 0.01):
            problems.append("z %r, reference %.4f" % (ch.get("z"), z))
        if want != "insufficient_data" and ch.get("diff") != wire(c_round(tb.nps_value() - ta.nps_value(), 2)):
            problems.append("diff %r, reference %r" % (ch.get("diff"), tb.nps_value() - ta.nps_value()))
        if not isinstance(body.get("grade_change"), dict) or "verdict" not in body["grade_change"]:
            problems.append("no grade_change verdict")
        t.check(not problems, "compare %s: a, b and the NPS verdict (%s) equal the reference" % (name, want),
                "\n".join(problems))
    t.error(srv.get("/api/v1/metrics/compare?" + qs({"a.period": m1, "b.period": m1})), 422, "invalid", None,
            "compare: identical sides (a.period = b.period) -> 422")
    t.error(srv.get("/api/v1/metrics/compare?" + qs({"period": m1})), 422, "invalid", None,
            "compare: only shared parameters (identical sides) -> 422")


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
    t.error(srv.get("/api/v1/metrics?sort=colour"), 422, "invalid", "sort", "metrics: bad sort -> 422")
    t.error(srv.get("/api/v1/metrics?format=xml"), 422, "invalid", "format", "metrics: bad format -> 422")
    t.error(srv.get("/api/v1/metrics/trend?interval=decade"), 422, "invalid", "interval",
            "trend: bad interval -> 422")


def test_live_append(t, srv, ref):
    """A response POSTed through the API is in the very next metrics call,
    for a customer created just before (no segment, city or birth year:
    it groups as "unknown")."""
    st, _, before = srv.get("/api/v1/metrics")
    emp = sorted(ref.emps)[0]
    team = None
    for r in ref.rows:
        if r["employee"] == emp:
            team, tp = r["team_unit"], r["tp"]
            break
    cust = srv.create("customers", {"external_id": ks.uniq("live"), "language": "en"})
    st_e, _, emp_before = srv.get("/api/v1/metrics?employee_id=%d" % emp)
    body = {"client_key": ks.uniq("live"), "team_id": team, "employee_id": emp, "touchpoint_id": tp,
            "customer_id": cust["id"], "channel": "web", "answers": {"nps": 10, "grade": 9}}
    st_p, _, created = srv.post("/api/v1/responses", body)
    if not t.check(st_p == 201, "live: POST /responses -> 201", ks.got(st_p, created)):
        return
    st, _, after = srv.get("/api/v1/metrics")
    t.check(st == 200 and after.get("n") == before.get("n") + 1, "live: the next metrics call counts it (n + 1)",
            "before %s, after %s" % (before.get("n"), ks.short(after.get("n"))))
    st, _, emp_after = srv.get("/api/v1/metrics?employee_id=%d" % emp)
    t.check(st == 200 and emp_after.get("n") == emp_before.get("n") + 1,
            "live: ... also in the employee's slice", ks.short([emp_before.get("n"), emp_after.get("n")]))
    st, _, seg = srv.get("/api/v1/metrics?group_by=segment&language=en")
    unk = [r for r in seg.get("rows", []) if r.get("segment") == "unknown"] if st == 200 else []
    t.check(len(unk) == 1 and unk[0].get("n") == 1, "live: the new customer's response groups as segment unknown",
            ks.short(seg))
    ref2 = Reference(srv.db)
    t.eq(len(ref2.rows), len(ref.rows) + 1, "live: the database holds one more response")
    for dims in (("segment",), ("age_band",), ("customer_since_band",), ("employee", "month"), ("day",)):
        check_metrics(t, srv, ref2, {}, dims, "live: after the POST, group_by=%s" % ",".join(dims))
    test_unknown_band_filter(t, srv, ref2)


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
    srv = ks.Server(t)
    try:
        rc, out, err = ks.run_cli(["demo", "--db", srv.db, "--scale", "3"], timeout=300)
        if not t.check(rc == 0 and ks.sanitizer_report(err) is None, "demo --scale 3 fills the database",
                       "exit %s\n%s\n%s" % (rc, out[-2000:], err[-4000:])):
            return
        try:
            srv.start()
            t.check(True, "server starts on the demo database")
        except ks.FixtureError as ex:
            t.check(False, "server starts on the demo database", str(ex))
            return
        ref = Reference(srv.db)
        t.check(len(ref.rows) > 1000, "reference: %d responses read from the file" % len(ref.rows))
        months = sorted({r["key"]["month"] for r in ref.rows})
        test_groupings(t, srv, ref, months)
        test_min_n_and_csv(t, srv, ref)
        test_sort(t, srv, ref, months)
        test_trend(t, srv, ref)
        test_compare(t, srv, ref, months)
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
