#!/usr/bin/env python3
"""test_privacy_random.py — the property test of issue 10: for random
organisations and random queries, no reply (nor any combination of replies
within the allowed query grammar) pins down a hidden cell.

For each of a fixed list of seeds (deterministic: the test is not flaky) a
fresh server gets a random small organisation through the API: one
organisation, 2-3 departments, 2-3 teams each, 0-4 employees per team, and
responses over 4-8 past local months (Europe/Amsterdam; some on the first
and last local hour of a month, where local and UTC months differ), with
answers that name an employee and answers that name no one (on a team, a
department, the organisation or no unit at all: self-service), random NPS,
grade and CES with some missing. Each employee's months are drawn around
the thresholds (5 answers for a group, 10 for a person's cell), where leaks
live.

Then many random queries of the allowed grammar are asked as admin (the
strongest reader): GET /api/v1/metrics filtered on no unit, any unit or an
employee; period a month, a quarter, a year or all time; group_by none,
team, department, employee, month, quarter, year or a pair (employee,month,
team,month, team,quarter, ...); and /metrics/trend?interval=month|quarter|
year with the same filters. Every cell of every reply (total, rows, points)
is collected with the responses it covers, computed here from what was
posted (unit, employee and local period membership with zoneinfo; the
reply's n must agree), and for each measure whether it is shown (an
object) or hidden.

The attacker model:
  * a shown measure of a cell reveals its answer counts exactly (worst
    case: promoters, passives and detractors, the grade and CES histograms
    are known — the cell's count vector is known); a hidden measure reveals
    nothing but the cell's number of responses n;
  * answers that name no employee are KNOWN to the attacker (docs/PRIVACY.md:
    they are no one's score; the design must protect people's scores even
    if every anonymous answer were known), and so is every atom without
    answers to a measure (the engine treats empty cells as known);
  * the unknowns are the count vectors of the answers that name an
    employee, per atom, an atom being (employee, local month, the customer's
    tier — issue 16: every answer's customer has an imported attribute `tier`,
    gold, silver or none, and attr.tier is grouped alone and with month, team
    and employee): the finest
    cell the grammar can address. Every cell of every reply is a union of
    whole atoms (plus anonymous answers).
So a cell is a 0/1 vector over the atoms (for a measure: the atoms with
answers to it). A hidden measure of a cell that holds at least one
employee's answer is pinned down exactly when its atom vector lies in the
linear span, over the rationals, of the atom vectors of the cells that show
that measure (the known n's constrain only the sum of each count vector,
which is no part of what is hidden, so they do not change this).

The property (the main assertion), per measure (NPS, grade and CES are
decided on their own): no hidden cell's vector lies in that span. The
weaker per-pair form of the issue is also counted and reported: no hidden
cell equals a shown cell, nor the sum or difference of two shown cells (two
cells of one reply or of any two replies) — implied by the span property.

Exact arithmetic: incremental Gaussian elimination modulo a Mersenne prime p
chosen above the Hadamard bound d^(d/2) of the d x d minors of 0/1 matrices
with d columns (d = the number of atoms); see ModSpan for why the rank
modulo such a p equals the rational rank. A counterexample (the hidden cell,
the shown cells and the rational coefficients that give it) is printed with
the query of each cell.
"""
import datetime
import os
import random
import sys
import threading
import time
import urllib.parse
import zoneinfo
from fractions import Fraction

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

TZ = zoneinfo.ZoneInfo("Europe/Amsterdam")
MEASURES = ("nps", "grade", "ces")
GROUP_MIN = 5
PERSON_MIN = 10

SEEDS = (1, 2, 3, 4, 5, 6)
QUERIES_PER_ORG = 1500
# The server's clock, after every generated month (the last is 2026-03): the cut "as of
# the start of today" of team- and person-level slices then changes nothing.
TEST_CLOCK = "2026-11-20T10:00:00Z"
POST_THREADS = 4

GROUPINGS = ("", "team", "department", "employee", "month", "quarter", "year",
             "employee,month", "employee,quarter", "employee,year", "team,month", "team,quarter",
             "team,year", "department,month", "department,quarter")
# issue 16 (H5): odd seeds add a custom attribute of the answering customer (imported),
# with its filters; even seeds the products those customers hold (several a customer:
# groups overlap). Not both in one organisation: here every gold customer holds both
# products, so the two dimensions nest by construction, a relation across dimensions
# that no table holds (docs/PRIVACY.md section 6; together they gave 265 such cells).
TIER_GROUPINGS = ("attr.tier", "attr.tier,month", "team,attr.tier", "employee,attr.tier")
PRODUCT_GROUPINGS = ("product", "product,month", "team,product", "employee,product")
TIERS = ("gold", "silver", None)  # None: a customer without the attribute ("unknown")
TIERS_FILTERED = ("gold", "unknown")
# the products each tier's customer holds (since long before the answers): gold both,
# silver the first, none neither
HOLDS = {"gold": ("P1", "P2"), "silver": ("P1",), None: ()}
ATTR_FILTERED_GROUPINGS = ("", "team", "employee", "month", "employee,month", "attr.tier")
# issue 16 (H10, review of H5): replies no attribute table protects — a second attribute-like
# filter (login_band=unknown: no customer has events, so it keeps every answer), a grouping
# by channel or touchpoint (every answer is by phone, with no touchpoint: one group, the
# whole slice) — must be refused (422 naming the parameter). If one answers, its cells are
# the tier slice's and go into the span check like any other (before the fix: an
# employee's hidden silver cell was the total minus the shown gold cell).
REFUSED_VARIANTS = (("", "gold|login_band=unknown"), ("employee", "gold|login_band=unknown"),
                    ("", "gold|newsletter=unknown"), ("channel", "gold"), ("touchpoint", "gold"),
                    ("employee,channel", "gold"), ("attr.tier,channel", None), ("attr.tier,touchpoint", None))
NO_OP_DIMS = ("channel", "touchpoint")
INTERVALS = ("month", "quarter", "year")


# ---------------------------------------------------------------------------
# The calendar, in local time


def local_month(ts):
    d = datetime.datetime.fromtimestamp(ts, TZ)
    return "%04d-%02d" % (d.year, d.month)


def quarter_of(month):
    return "%s-Q%d" % (month[:4], (int(month[5:7]) - 1) // 3 + 1)


def month_add(y, m, k):
    i = y * 12 + m - 1 + k
    return i // 12, i % 12 + 1


def days_in(y, m):
    ny, nm = month_add(y, m, 1)
    return (datetime.date(ny, nm, 1) - datetime.date(y, m, 1)).days


def local_ts(y, m, d, hh, mm):
    return int(datetime.datetime(y, m, d, hh, mm, tzinfo=TZ).timestamp())


# ---------------------------------------------------------------------------
# A random organisation (plain data, so that a counterexample can be shrunk)


def random_org(seed):
    """{"depts": [[team, ...], ...] with a team a list of employee keys,
    "responses": [(emp key or None, unit key or None, ts, nps, grade, ces)]}.
    Unit keys: "o", ("d", i), ("t", i, j); employee keys ("e", i, j, k)."""
    rng = random.Random(seed)
    depts = []
    for i in range(rng.choice((2, 3))):
        teams = []
        for j in range(rng.choice((2, 3))):
            teams.append([("e", i, j, k) for k in range(rng.choice((0, 1, 2, 2, 3, 3, 4)))])
        depts.append(teams)
    y, m = month_add(2024, 9, rng.randrange(12))
    months = [month_add(y, m, k) for k in range(rng.randint(4, 8))]
    p_nps, p_grade, p_ces = rng.choice((0.95, 0.85)), rng.choice((0.8, 0.65)), rng.choice((0.6, 0.4))

    def when(ym):
        yy, mm = ym
        r = rng.random()
        if r < 0.08:   # the first local hour of the month: still last month in UTC
            return local_ts(yy, mm, 1, 0, rng.randrange(60))
        if r < 0.16:   # the last local hour of the month
            return local_ts(yy, mm, days_in(yy, mm), 23, rng.randrange(60))
        return local_ts(yy, mm, rng.randint(1, days_in(yy, mm)), rng.randint(6, 21), rng.randrange(60))

    def answers():
        a = [rng.randint(0, 10) if rng.random() < p_nps else None,
             rng.randint(1, 10) if rng.random() < p_grade else None,
             rng.randint(1, 7) if rng.random() < p_ces else None]
        if a == [None, None, None]:   # a response answers something
            a[0] = rng.randint(0, 10)
        return a

    responses = []
    for i, teams in enumerate(depts):
        for j, emps in enumerate(teams):
            for e in emps:
                # an employee's usual load per month sits around a threshold
                level = rng.choice((2, 4, 6, 9, 11, 13))
                for ym in months:
                    if rng.random() < 0.12:
                        continue
                    for _ in range(max(0, int(round(rng.gauss(level, 2.5))))):
                        responses.append((e, ("t", i, j), when(ym)) + tuple(answers()))
            for ym in months:   # answers on the team naming no one
                for _ in range(rng.choice((0, 0, 0, 1, 2, 3, 5))):
                    responses.append((None, ("t", i, j), when(ym)) + tuple(answers()))
        for ym in months:       # on the department
            for _ in range(rng.choice((0, 0, 0, 1, 2))):
                responses.append((None, ("d", i), when(ym)) + tuple(answers()))
    for ym in months:           # on the organisation, and on no unit (self-service)
        for _ in range(rng.choice((0, 0, 0, 1))):
            responses.append((None, "o", when(ym)) + tuple(answers()))
        for _ in range(rng.choice((0, 0, 1, 2))):
            responses.append((None, None, when(ym)) + tuple(answers()))
    return {"seed": seed, "depts": depts, "months": months, "responses": responses}


def with_tiers(spec):
    """Issue 16 (H5): each answer's customer has tier gold, silver or none
    (spec["tiers"], one per response); drawn apart, so the organisation and
    its answers are those of the same seed without attributes (and
    test_privacy_themes, which builds its own, is unchanged)."""
    trng = random.Random(spec["seed"] * 7919 + 16)
    return dict(spec, tiers=[trng.choice(TIERS) for _ in spec["responses"]])


def build_org(srv, spec, tag):
    """Create the organisation through the API; returns (unit ids by key,
    employee ids by key, names)."""
    units, emps, names = {}, {}, {}
    o = srv.create("teams", {"name": "Org %s" % tag, "kind": "organisation"})
    units["o"] = o["id"]
    names[("u", o["id"])] = "org"
    for i, teams in enumerate(spec["depts"]):
        d = srv.create("teams", {"name": "Dept %d %s" % (i, tag), "kind": "department", "parent_id": o["id"]})
        units[("d", i)] = d["id"]
        names[("u", d["id"])] = "dept%d" % i
        for j, team in enumerate(teams):
            t = srv.create("teams", {"name": "Team %d.%d %s" % (i, j, tag), "kind": "team",
                                     "parent_id": d["id"]})
            units[("t", i, j)] = t["id"]
            names[("u", t["id"])] = "team%d.%d" % (i, j)
            for e in team:
                row = srv.create("employees", {"team_id": t["id"], "first_name": "E%d%d%d" % e[1:],
                                               "last_name": "Test", "external_id": "E-%s-%d-%d-%d" % ((tag,) + e[1:])})
                emps[e] = row["id"]
                names[("e", row["id"])] = "emp%d.%d.%d" % e[1:]
    # issue 16 (H5): three customers, imported with their attribute (the CLI, server running)
    tiers = spec.get("tiers")
    cust = {}
    if tiers is not None:
        path = os.path.join(srv.dir, "tiers-%s.csv" % tag)
        with open(path, "w", encoding="utf-8") as f:
            f.write("external_id,name,language,tier\n")
            for tier in TIERS:
                f.write("T-%s-%s,Klant %s,nl,%s\n" % (tag, tier or "none", tier or "none", tier or ""))
        rc, out, err = ks.run_cli(["import", "customers", "--db", srv.db, path], timeout=60)
        if rc != 0:
            raise ks.FixtureError("import customers failed: %s %s" % (out[-500:], err[-1500:]))
        cust = {tier: srv.sql("SELECT id FROM customers WHERE external_id = ?",
                              ("T-%s-%s" % (tag, tier or "none"),))[0][0] for tier in TIERS}
        for kind, lines in (("products", ["external_id,name", "P1-%s,Basis" % tag, "P2-%s,Extra" % tag]),
                            ("holdings", ["customer_external_id,product_external_id,since"] +
                             ["T-%s-%s,%s-%s,2000-01-01" % (tag, tier or "none", p, tag)
                              for tier in TIERS for p in HOLDS[tier]])):
            path = os.path.join(srv.dir, "%s-%s.csv" % (kind, tag))
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            rc, out, err = ks.run_cli(["import", kind, "--db", srv.db, path], timeout=60)
            if rc != 0:
                raise ks.FixtureError("import %s failed: %s %s" % (kind, out[-500:], err[-1500:]))
        spec["product_ids"] = {p: srv.sql("SELECT id FROM products WHERE external_id = ?", ("%s-%s" % (p, tag),))[0][0]
                               for p in ("P1", "P2")}
    errors = []
    pending = list(enumerate(spec["responses"]))

    def worker(part):
        for k, (e, u, ts, nps, grade, ces) in part:
            body = {"client_key": "%s-%d" % (tag, k), "channel": "phone", "received_at": ks.iso(ts),
                    "answers": {a: v for a, v in (("nps", nps), ("grade", grade), ("ces", ces)) if v is not None}}
            if tiers is not None:
                body["customer_id"] = cust[tiers[k]]
            if e is not None:
                body["employee_id"] = emps[e]
            elif u is not None:
                body["team_id"] = units[u]
            st, _, b = srv.post("/api/v1/responses", body)
            if st != 201:
                errors.append((body, st, b))
    threads = [threading.Thread(target=worker, args=(pending[w::POST_THREADS],)) for w in range(POST_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise ks.FixtureError("POST /responses failed: %s" % ks.short(errors[:3]))
    # the attribute columns are rebuilt after the import (within about a second)
    run = srv.sql("SELECT max(id) FROM import_runs")[0][0] if tiers is not None else None
    deadline = time.time() + 20
    while run and ("import run %d)" % run) not in srv.stderr() and time.time() < deadline:
        time.sleep(0.1)
    return units, emps, names


# ---------------------------------------------------------------------------
# What was posted, as blocks: (employee, month) atoms and anonymous blocks


class Model:
    """Responses summed per block (employee or None, unit id or None, local
    month); the sets of blocks every filter, period and group key selects."""

    def __init__(self, spec, units, emps):
        self.parent = {}
        self.kind = {units["o"]: "o"}
        for key, uid in units.items():
            if key == "o":
                continue
            self.kind[uid] = key[0]
            self.parent[uid] = units["o"] if key[0] == "d" else units[("d", key[1])]
        self.emp_team = {eid: units[("t", e[1], e[2])] for e, eid in emps.items()}
        blocks = {}
        tiers = spec.get("tiers")
        for k, (e, u, ts, nps, grade, ces) in enumerate(spec["responses"]):
            eid = emps[e] if e is not None else None
            uid = self.emp_team[eid] if eid is not None else (units[u] if u is not None else None)
            key = (eid, uid, local_month(ts))
            if tiers is not None:  # issue 16: the customer's tier splits the blocks
                key += (tiers[k] or "unknown",)
            b = blocks.setdefault(key, {"n": 0, "nps": 0, "grade": 0, "ces": 0})
            b["n"] += 1
            for m, v in zip(MEASURES, (nps, grade, ces)):
                b[m] += v is not None
        self.keys = sorted(blocks, key=lambda k: (k[0] is None, k[0] or 0, k[1] or 0) + k[2:])
        self.tiers = tiers is not None
        self.seed = spec["seed"]
        self.blocks = [blocks[k] for k in self.keys]
        self.months = sorted({k[2] for k in self.keys})
        first, last = self.months[0], self.months[-1]
        y, m = int(first[:4]), int(first[5:])
        self.period_labels = []
        while "%04d-%02d" % (y, m) <= last:
            self.period_labels.append("%04d-%02d" % (y, m))
            y, m = month_add(y, m, 1)
        qs = sorted({quarter_of(x) for x in self.period_labels})
        ys = sorted({x[:4] for x in self.period_labels})
        self.period_labels += qs + ys

        def anc(uid):
            out = set()
            while uid is not None:
                out.add(uid)
                uid = self.parent.get(uid)
            return out

        def dept_of(uid):
            for a in anc(uid) if uid is not None else ():
                if self.kind[a] == "d":
                    return a
            return None

        self.sel = {}
        for i, key in enumerate(self.keys):
            eid, uid, month = key[:3]
            picks = [("filter", "none", None), ("period", month), ("period", quarter_of(month)),
                     ("period", month[:4]), ("period", ""), ("team", uid), ("department", dept_of(uid)),
                     ("employee", eid), ("month", month), ("quarter", quarter_of(month)), ("year", month[:4])]
            if len(key) > 3:
                picks.append(("attr.tier", key[3]))
                tier = None if key[3] == "unknown" else key[3]
                picks += [("product", spec["product_ids"][p]) for p in HOLDS[tier]]
            picks += [("filter", "unit", a) for a in (anc(uid) if uid is not None else ())]
            if eid is not None:
                picks.append(("filter", "emp", eid))
            for p in picks:
                self.sel.setdefault(p, set()).add(i)
        self.sel = {k: frozenset(v) for k, v in self.sel.items()}

    def select(self, key):
        return self.sel.get(key, frozenset())

    def count(self, cell, what):
        return sum(self.blocks[i][what] for i in cell)

    def emp_atoms(self, cell, m):
        """The atoms (block indexes) of the cell that name an employee and
        hold answers to m."""
        return frozenset(i for i in cell if self.keys[i][0] is not None and self.blocks[i][m] > 0)


# ---------------------------------------------------------------------------
# Queries and their cells


def all_queries(model, units, emps):
    filters = [("none", None)] + [("unit", u) for u in sorted(units.values())] + \
        [("emp", e) for e in sorted(emps.values())]
    periods = [""] + model.period_labels
    out = []
    for f in filters:
        for p in periods:
            for g in GROUPINGS + (() if not model.tiers else TIER_GROUPINGS if model.seed % 2 else PRODUCT_GROUPINGS):
                out.append(("metrics", f, p, g, None))
            for iv in INTERVALS:
                out.append(("trend", f, p, iv, None))
            if model.tiers and model.seed % 2:  # issue 16 (H5): a filter on one tier, with the unit and time groupings
                for v in TIERS_FILTERED:
                    for g in ATTR_FILTERED_GROUPINGS:
                        out.append(("metrics", f, p, g, v))
                    out.append(("trend", f, p, "month", v))
                for g, v in REFUSED_VARIANTS:
                    out.append(("metrics", f, p, g, v))
                out.append(("trend", f, p, "month", "gold|login_band=unknown"))
    return out


def refused_variant(q):
    """The parameters a 422 may name when q is a combination no attribute
    table protects (REFUSED_VARIANTS), else None."""
    _, _, _, g, tier = q
    if tier and "|" in tier:
        return ("attr.tier", tier.split("|")[1].split("=")[0])
    if any(d in NO_OP_DIMS for d in (g or "").split(",")) and (tier or "attr.tier" in g):
        return ("attr.tier",)
    return None


def query_path(q):
    kind, (fk, fid), period, g, tier = q
    params = []
    if fk == "unit":
        params.append(("team_id", fid))
    elif fk == "emp":
        params.append(("employee_id", fid))
    if period:
        params.append(("period", period))
    if tier:
        params.append(("attr.tier", tier.split("|")[0]))
        if "|" in tier:
            params.append(tuple(tier.split("|")[1].split("=")))
    if kind == "trend":
        params.append(("interval", g))
        return "/api/v1/metrics/trend?" + urllib.parse.urlencode(params)
    if g:
        params.append(("group_by", g))
    return "/api/v1/metrics" + ("?" + urllib.parse.urlencode(params) if params else "")


def reply_cells(q, body):
    """[(label, {dim: key}, cell object)] of a reply."""
    kind, _, _, g, _ = q
    if kind == "trend":
        return [("point %s" % p.get("period"), {g: p.get("period")}, p) for p in body.get("points", [])]
    out = [("total", {}, body)]
    dims = g.split(",") if g else []
    for r in body.get("rows", []):
        keys = {}
        for d in dims:
            v = r.get(d)
            keys[d] = v.get("id") if isinstance(v, dict) else v
        out.append(("row " + ",".join("%s=%s" % (d, keys[d]) for d in dims), keys, r))
    return out


def cell_blocks(model, q, keys):
    _, (fk, fid), period, _, tier = q
    s = model.select(("filter", fk, fid)) & model.select(("period", period))
    if tier:
        s &= model.select(("attr.tier", tier.split("|")[0]))
    for d, v in keys.items():
        if d not in NO_OP_DIMS:  # one group, the whole slice (REFUSED_VARIANTS)
            s &= model.select((d, v))
    return s


def shown(cell, m):
    return isinstance(cell, dict) and isinstance(cell.get(m), dict)


# ---------------------------------------------------------------------------
# Exact linear algebra


MERSENNE_EXPONENTS = (61, 89, 107, 127, 521, 607, 1279, 2203, 2281, 3217, 4253, 4423, 9689, 9941, 11213)


def prime_for(d):
    """A prime p > d^(d/2). Every minor of a 0/1 matrix with d columns is a
    k x k determinant with k <= d whose rows have Euclidean norm <= sqrt(k),
    so by Hadamard's inequality its absolute value is at most k^(k/2) <=
    d^(d/2) < p. A nonzero integer of absolute value below p is nonzero
    modulo p, and zero stays zero; the rank of a matrix is the size of its
    largest nonzero minor; so rank modulo p equals the rational rank of any
    set of these vectors, and "v lies in the span of S" (rank(S + v) ==
    rank(S)) is decided exactly. Not a probabilistic argument."""
    need = max(d, 2) ** ((max(d, 2) + 1) // 2)
    for e in MERSENNE_EXPONENTS:
        if (1 << e) - 1 > need:
            return (1 << e) - 1
    raise ValueError("no prime for %d atoms" % d)


class ModSpan:
    """Incremental Gaussian elimination of sparse vectors (dicts column ->
    int) modulo p, kept in reduced row echelon form: each basis row has a
    pivot column with coefficient 1 and 0 in every other pivot column, so a
    vector is reduced in one pass over its pivot columns."""

    def __init__(self, p):
        self.p = p
        self.rows = {}    # pivot -> row (dict)
        self.by_col = {}  # column -> pivots whose row is nonzero there

    def reduce(self, vec):
        p = self.p
        v = dict(vec)
        for c in [c for c in v if c in self.rows]:
            a = v.get(c, 0) % p
            if not a:
                continue
            for k, x in self.rows[c].items():
                y = (v.get(k, 0) - a * x) % p
                if y:
                    v[k] = y
                else:
                    v.pop(k, None)
        return v

    def contains(self, vec):
        return not self.reduce(vec)

    def add(self, vec):
        """Add a vector; True when it raised the rank."""
        p = self.p
        v = self.reduce(vec)
        if not v:
            return False
        piv = min(v)
        inv = pow(v[piv], p - 2, p)
        v = {k: x * inv % p for k, x in v.items()}
        for q in list(self.by_col.get(piv, ())):   # clear the new pivot column elsewhere
            row = self.rows[q]
            a = row.get(piv, 0)
            if not a:
                continue
            for k, x in v.items():
                y = (row.get(k, 0) - a * x) % p
                if y:
                    if k not in row:
                        self.by_col.setdefault(k, set()).add(q)
                    row[k] = y
                elif k in row:
                    del row[k]
                    self.by_col[k].discard(q)
        self.rows[piv] = v
        for k in v:
            self.by_col.setdefault(k, set()).add(piv)
        return True


def in_span_exact(target, vectors):
    """Rational coefficients c with sum c_i vectors_i == target (all 0/1
    vectors as frozensets), or None. Fraction Gaussian elimination: used
    only to state a counterexample."""
    cols = sorted(set(target).union(*vectors)) if vectors else sorted(target)
    n = len(vectors)
    # equations: one per column; unknowns: c_0..c_{n-1}
    rows = [[Fraction(1 if c in v else 0) for v in vectors] + [Fraction(1 if c in target else 0)] for c in cols]
    piv_of = []
    r = 0
    for j in range(n):
        k = next((i for i in range(r, len(rows)) if rows[i][j] != 0), None)
        if k is None:
            continue
        rows[r], rows[k] = rows[k], rows[r]
        a = rows[r][j]
        rows[r] = [x / a for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][j] != 0:
                f = rows[i][j]
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[r])]
        piv_of.append(j)
        r += 1
    if any(row[n] != 0 for row in rows[r:]):
        return None
    c = [Fraction(0)] * n
    for i, j in enumerate(piv_of):
        c[j] = rows[i][n]
    return c


def minimal_combination(target, vectors, p):
    """A subset of vectors whose span holds target, from which no vector can
    be dropped, and its rational coefficients."""
    def spans(vs):
        s = ModSpan(p)
        for v in vs:
            s.add({a: 1 for a in v})
        return s.contains({a: 1 for a in target})
    keep = list(vectors)
    for v in sorted(vectors, key=len, reverse=True):
        trial = [x for x in keep if x is not v]
        if spans(trial):
            keep = trial
    return keep, in_span_exact(target, keep)


def check_algebra(t):
    """The modular span test against exact rational elimination, on random
    small 0/1 systems and on one where the prime matters: (1,1,0), (0,1,1),
    (1,0,1) span (1,0,0) over the rationals (half of v1 - v2 + v3), not
    modulo 2 (their determinant is 2)."""
    rng = random.Random(20261207)
    wrong = []
    for trial in range(300):
        d = rng.randint(2, 7)
        vs = [frozenset(a for a in range(d) if rng.random() < 0.5) for _ in range(rng.randint(1, 6))]
        target = frozenset(a for a in range(d) if rng.random() < 0.5)
        span = ModSpan(prime_for(d))
        for v in vs:
            span.add({a: 1 for a in v})
        exact = in_span_exact(target, vs)
        if span.contains({a: 1 for a in target}) != (exact is not None):
            wrong.append((d, [sorted(v) for v in vs], sorted(target)))
    tri = [frozenset((0, 1)), frozenset((1, 2)), frozenset((0, 2))]
    coef = in_span_exact(frozenset((0,)), tri)
    big, two = ModSpan(prime_for(3)), ModSpan(2)
    for v in tri:
        big.add({a: 1 for a in v})
        two.add({a: 1 for a in v})
    t.check(not wrong and coef == [Fraction(1, 2), Fraction(-1, 2), Fraction(1, 2)] and big.contains({0: 1})
            and not two.contains({0: 1}),
            "the span test modulo a prime above the Hadamard bound agrees with exact rational elimination "
            "(300 random systems; a determinant-2 system that modulo 2 would miss)", ks.short(wrong[:3]))


# ---------------------------------------------------------------------------
# One organisation


class OrgResult:
    def __init__(self):
        self.queries = 0
        self.cells = 0
        self.hidden_checked = 0
        self.pairs = 0
        self.reply_pairs = 0
        self.span_leaks = []
        self.pair_leaks = []
        self.n_wrong = []
        self.status_wrong = []
        self.refused = 0
        self.refused_wrong = []
        self.threshold_wrong = []
        self.atoms = 0
        self.rank = {}


def check_org(t, srv, spec, n_queries, result, describe=True):
    tag = "s%s" % spec["seed"]
    units, emps, names = build_org(srv, spec, tag)
    model = Model(spec, units, emps)
    rng = random.Random(1000003 * spec["seed"] + 7)
    qs = all_queries(model, units, emps)
    if n_queries is not None and n_queries < len(qs):
        qs = rng.sample(qs, n_queries)
    result.queries += len(qs)
    # per measure, the distinct atom vectors of shown and of hidden cells
    shown_vecs = {m: {} for m in MEASURES}    # vector -> (path, cell label) of the first reply showing it
    hidden_vecs = {m: {} for m in MEASURES}   # vector -> (path, cell label, under its threshold)
    for q in qs:
        path = query_path(q)
        st, _, body = srv.get(path)
        fields = refused_variant(q)
        if fields is not None:
            err = body.get("error", {}) if isinstance(body, dict) else {}
            if st == 422 and err.get("field") in fields:
                result.refused += 1
                continue
            result.refused_wrong.append((path, st, ks.short(body, 200)))
        if st != 200 or not isinstance(body, dict):
            if fields is None:
                result.status_wrong.append((path, st, ks.short(body, 200)))
            continue
        for label, keys, cell in reply_cells(q, body):
            result.cells += 1
            blocks = cell_blocks(model, q, keys)
            n = model.count(blocks, "n")
            if cell.get("n") != n:
                result.n_wrong.append((path, label, cell.get("n"), n))
                continue
            persons = {model.keys[i][0] for i in blocks} - {None}
            person = q[1][0] == "emp" or keys.get("employee") is not None
            for m in MEASURES:
                cnt = model.count(blocks, m)
                vec = model.emp_atoms(blocks, m)
                # a cell whose answers to m name one employee is that person's for m
                # (PRIVACY.md section 1: thresholds per measure)
                persons_m = {model.keys[i][0] for i in vec}
                if shown(cell, m):
                    if cnt < (PERSON_MIN if person or len(persons_m) == 1 else GROUP_MIN):
                        result.threshold_wrong.append((path, label, m, cnt, sorted(persons)))
                    if vec:
                        shown_vecs[m].setdefault(vec, (path, label))
                elif cnt > 0 and vec:
                    # one place that hides it; one under its threshold if there is one
                    under = cnt < cell.get("min_n", GROUP_MIN)
                    if vec not in hidden_vecs[m] or (under and not hidden_vecs[m][vec][2]):
                        hidden_vecs[m][vec] = (path, label, under)
    nq = len(qs)
    result.reply_pairs += nq * (nq + 1) // 2

    def atom_text(i):
        eid, _, month = model.keys[i][:3]
        return "/".join([names[("e", eid)], month] + list(model.keys[i][3:]))

    for m in MEASURES:
        atoms = sorted({a for v in list(shown_vecs[m]) + list(hidden_vecs[m]) for a in v})
        result.atoms = max(result.atoms, len(atoms))
        p = prime_for(len(atoms))
        span = ModSpan(p)
        basis = []
        for v in sorted(shown_vecs[m], key=lambda v: (len(v), sorted(v))):
            if span.add({a: 1 for a in v}):
                basis.append(v)
        result.rank[m] = result.rank.get(m, 0) + len(basis)
        shown_set = set(shown_vecs[m])
        for h, where in sorted(hidden_vecs[m].items(), key=lambda kv: (len(kv[0]), sorted(kv[0]))):
            result.hidden_checked += 1
            # the per-pair form: h == s, s1 + s2 (disjoint), s1 - s2 (s2 inside s1)
            pair = None
            if h in shown_set:
                pair = ("equals", shown_vecs[m][h])
            for s in shown_set:
                if pair:
                    break
                result.pairs += 1
                if s < h and (h - s) in shown_set:
                    pair = ("sum", shown_vecs[m][s], shown_vecs[m][h - s])
                elif h < s and (s - h) in shown_set:
                    pair = ("difference", shown_vecs[m][s], shown_vecs[m][s - h])
            if pair:
                result.pair_leaks.append((spec["seed"], m, where, pair))
            if not span.contains({a: 1 for a in h}):
                continue
            leak = {"seed": spec["seed"], "measure": m, "hidden": where, "under": where[2],
                    "hidden_atoms": [(atom_text(a), model.blocks[a][m]) for a in sorted(h)]}
            if describe and sum(1 for x in result.span_leaks if x["measure"] == m and x["seed"] == spec["seed"]) < 8:
                keep, coef = minimal_combination(h, basis, p)
                leak["combination"] = [(str(c), shown_vecs[m][v], [atom_text(a) for a in sorted(v)])
                                       for c, v in zip(coef or [], keep)]
            result.span_leaks.append(leak)
    return model


def describe_pair(leak):
    seed, m, hidden, pair = leak
    sign = {"equals": "", "sum": " + ", "difference": " - "}[pair[0]]
    return "seed %s, measure %s: hidden %s [%s]%s = %s" % (
        seed, m, hidden[1], hidden[0], " (under its threshold)" if hidden[2] else "",
        sign.join("shown %s [%s]" % w for w in pair[1:]))


def describe_leak(leak):
    lines = ["seed %s, measure %s: hidden cell %s  [%s]%s" % (
        leak["seed"], leak["measure"], leak["hidden"][1], leak["hidden"][0],
        " (under its threshold)" if leak["under"] else ""),
             "  its employee atoms (answers to %s): %s" % (leak["measure"], ", ".join(
                 "%s=%d" % a for a in leak["hidden_atoms"]))]
    for c, (path, label), atoms in leak.get("combination", []):
        lines.append("  %s%s x shown %s  [%s]  atoms %s" % ("" if c.startswith("-") else "+", c, label, path,
                                                            ",".join(atoms)))
    return "\n".join(lines)


# ---------------------------------------------------------------------------


def main(t):
    started = time.time()
    check_algebra(t)
    total = OrgResult()
    orgs = 0
    for seed in SEEDS:
        spec = with_tiers(random_org(seed))
        srv = ks.Server(t, args=["--test-clock", TEST_CLOCK])
        try:
            srv.start()
            check_org(t, srv, spec, QUERIES_PER_ORG, total)
            orgs += 1
        finally:
            try:
                srv.stop("server (seed %d) exits 0 on SIGTERM" % seed)
            finally:
                srv.cleanup()
    t.check(orgs == len(SEEDS), "%d random organisations built through the API (seeds %s), up to %d atoms"
            % (orgs, ",".join(map(str, SEEDS)), total.atoms))
    t.eq(total.status_wrong[:10], [], "%d queries of the allowed grammar, every one answers 200" % total.queries)
    t.eq(total.refused_wrong[:10], [], "%d combinations no attribute table protects (two attribute-like "
         "filters, an attribute with a channel or touchpoint grouping) answer 422 naming the parameter"
         % total.refused)
    t.check(total.refused > 20, "such combinations asked: %d" % total.refused)
    t.eq(total.n_wrong[:10], [], "%d cells, each with the n of the responses it covers (local months, "
                                 "unit subtrees, employees)" % total.cells)
    t.eq(total.threshold_wrong[:10], [], "no shown measure with fewer than 5 answers, or fewer than 10 in a "
                                         "person's cell")
    t.check(total.hidden_checked > 100, "hidden cells with an employee's answers to check: %d (shown ranks "
            "nps/grade/ces summed over the organisations: %s)" % (
                total.hidden_checked, "/".join(str(total.rank.get(m, 0)) for m in MEASURES)))
    t.check(not total.pair_leaks,
            "per pair of replies (%d pairs of replies, %d hidden x shown cell pairs): no hidden cell equals a "
            "shown cell or the sum or difference of two (%d do)" % (total.reply_pairs, total.pairs,
                                                                      len(total.pair_leaks)),
            "\n".join(describe_pair(x) for x in sorted(total.pair_leaks, key=lambda x: not x[2][2])[:6]))
    leaks = sorted(total.span_leaks, key=lambda x: (not x["under"], len(x.get("combination", ())) or 99,
                                                    len(x["hidden_atoms"])))
    t.check(not leaks,
            "span: none of %d hidden cells (per measure, employee atoms) lies in the rational span of the "
            "shown cells (%d do, %d of them under their threshold)" % (
                total.hidden_checked, len(leaks), sum(1 for x in leaks if x["under"])),
            "\n".join(describe_leak(x) for x in leaks[:6]))
    print("# %d organisations, %d queries, %d cells, %d hidden cells checked, %.1f s"
          % (orgs, total.queries, total.cells, total.hidden_checked, time.time() - started), flush=True)


if __name__ == "__main__":
    ks.run(main, start_server=False)
