#!/usr/bin/python3
"""Key drivers (issue 15; docs/API.md "Key drivers", docs/PRIVACY.md):
GET /api/v1/drivers, /api/v1/drivers/top3 and /api/v1/drivers/moments.

Responses with driver ratings of a known structure are posted: in October
2026 team Noord's NPS follows speed (snelheid) closely and friendliness
(vriendelijkheid) a little, in September the other way round; friendliness
is "not applicable" on every seventh answer. Other teams give the
organisation's unit means (one of them is one employee's, one has three
answers: neither may count towards the best quartile). From the posted data
alone the test computes, with numpy, Johnson's (2000) relative weights on
the pairwise-complete correlations (R's cor(use = "pairwise")), R², the
unstandardised slopes, and for two drivers the Shapley (LMG) weights in
closed form — w1 = (r_y1² + R² − r_y2²)/2 — then the means, shares of
ratings >= 8, the organisation's mean and best quartile (type 7 quantile of
the unit means), quadrants, gains, the top three and the change verdicts.

Moments of truth: a journey of three touchpoints where the customer's score
at the end follows the second touchpoint's; earlier visits outside the
window do not count. Suppression for small slices and one person's slices,
422s naming the field, scope for a team lead, and a new response in the
analysis right after its 201."""

import math
import os
import random
import sys
from fractions import Fraction

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

A, B, P = "snelheid", "vriendelijkheid", "punctualiteit"
PERIOD, PREV = "2026-10", "2026-09"
PASSWORD = "drivers-test-password"
WAIT = "het duurde veel te lang voordat ik geholpen werd"
FINE = "prima"
Z = 1.96


# ---------------------------------------------------------------------------
# independent statistics (numpy)

def y_of(nps):
    return 100.0 if nps >= 9 else 0.0 if nps >= 7 else -100.0


def pairwise(cols):
    """Pairwise-complete sds and correlation matrix of the columns (NaN =
    missing): each pair over the rows that have both, with that pair's own
    means and variances (R's cor(use = "pairwise.complete.obs"))."""
    q = len(cols)
    sd = np.zeros(q)
    R = np.eye(q)
    for j in range(q):
        v = cols[j][~np.isnan(cols[j])]
        sd[j] = np.std(v, ddof=1)
    for j in range(q):
        for k in range(j + 1, q):
            m = ~np.isnan(cols[j]) & ~np.isnan(cols[k])
            R[j, k] = R[k, j] = np.corrcoef(cols[j][m], cols[k][m])[0, 1]
    return sd, R


def relweights(y, X):
    """Johnson (2000): Rxx = V diag(l) V', Lambda = V diag(sqrt l) V',
    beta = Lambda^-1 r_xy, eps_j = sum_k Lambda_jk^2 beta_k^2; R² = sum eps.
    Also the OLS slopes b_j = (Rxx^-1 r_xy)_j sd_y / sd_j and the pairwise r."""
    sd, R = pairwise([y] + list(X))
    Rxx, rxy = R[1:, 1:], R[1:, 0]
    ev, V = np.linalg.eigh(Rxx)
    Lam = V @ np.diag(np.sqrt(ev)) @ V.T
    bl = np.linalg.solve(Lam, rxy)
    eps = (Lam ** 2) @ (bl ** 2)
    bs = np.linalg.solve(Rxx, rxy)
    slopes = bs * sd[0] / sd[1:]
    return eps, float(eps.sum()), slopes, R


def lmg2(R):
    """Shapley / LMG weights of two drivers in closed form."""
    ry1, ry2, r12 = R[0, 1], R[0, 2], R[1, 2]
    r2 = (ry1 ** 2 + ry2 ** 2 - 2 * ry1 * ry2 * r12) / (1 - r12 ** 2)
    return [(ry1 ** 2 + r2 - ry2 ** 2) / 2, (ry2 ** 2 + r2 - ry1 ** 2) / 2], r2


def quantile7(v, q):
    """Hyndman & Fan type 7 (linear between order statistics)."""
    v = sorted(v)
    h = (len(v) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (h - lo) * (v[hi] - v[lo])


def r4(x):
    return round(x, 4)


def near(t, got, want, tol, name):
    ok = got is not None and want is not None and abs(got - want) <= tol
    t.check(ok, name, "got %r want %r (tol %g)" % (got, want, tol))


# ---------------------------------------------------------------------------
# fixture

class Login:
    """A logged-in user (session cookie)."""

    def __init__(self, srv, role, unit_id):
        import re
        email = "%s@drivers.test" % ks.uniq(role)
        st, _, u = srv.post("/api/v1/users", {"email": email, "name": role, "role": role, "password": PASSWORD,
                                              "unit_id": unit_id})
        if st != 201:
            raise ks.FixtureError("POST /users -> %s" % ks.got(st, u))
        st, hd, body = srv.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, auth=False)
        self.cookie = None
        for sc in (hd.get_all("Set-Cookie") or []) if hd is not None else []:
            m = re.match(r"ks_session=([^;]+)", sc)
            if m:
                self.cookie = m.group(1)
        if st != 200 or not self.cookie:
            raise ks.FixtureError("login -> %s" % ks.got(st, body))
        self.srv = srv

    def get(self, path):
        return self.srv.request("GET", path, headers={"Cookie": "ks_session=" + self.cookie}, auth=False)


def post(srv, f, team, emp, day, month, nps, drivers, tp="tp1", customer=None, hour=10, text=None):
    body = {"touchpoint_id": f[tp]["id"], "team_id": f[team]["id"], "employee_id": f[emp]["id"],
            "channel": "phone", "language": "nl",
            "received_at": "2026-%02d-%02dT%02d:00:00Z" % (month, day, hour),
            "answers": {"nps": nps} if nps is not None else {}}
    if drivers:
        body["answers"]["drivers"] = drivers
    if text:
        body["answers"]["open"] = text
    if customer:
        body["customer_id"] = customer
    st, _, r = srv.post("/api/v1/responses", body)
    if st != 201:
        raise ks.FixtureError("POST /responses -> %s" % ks.got(st, r))
    return r


def clamp(v):
    return max(0, min(10, int(round(v))))


def build(srv):
    f = ks.base_fixture(srv)
    tag = ks.uniq("drv")
    for k in ("team2", "team3", "team4", "team5", "team6", "team7"):
        f[k] = srv.create("teams", {"name": "Team %s %s" % (k, tag), "kind": "team", "parent_id": f["dept"]["id"]})
    for k, team in (("emp3", "team2"), ("emp4", "team2"), ("emp5", "team3"), ("emp6", "team4"), ("emp8", "team5"),
                    ("emp9", "team5"), ("emp10", "team6"), ("emp11", "team6"),
                    ("emp12", "team7"), ("emp13", "team7")):
        f[k] = srv.create("employees", {"team_id": f[team]["id"], "first_name": k, "last_name": tag,
                                        "external_id": ks.uniq(k)})
    rnd = random.Random(15)
    rows = []  # (month, team, emp, nps, a, b or None)

    def add(month, team, emp, nps, a, b, text=None):
        d = {A: a}
        if b is not None:
            d[B] = b
        post(srv, f, team, emp, len(rows) % 28 + 1, month, nps, d, text=text)
        rows.append((month, team, emp, nps, a, b, text))

    for i in range(120):  # October, team Noord: speed drives
        a, b = rnd.randint(2, 10), rnd.randint(2, 10)
        nps = clamp(7 + 1.1 * (a - 6) + 0.2 * (b - 6) + rnd.gauss(0, 1.0))
        # every other answer has an open text: a complaint about waiting when the score is low
        text = None if i % 4 >= 2 else WAIT if nps <= 6 and i % 3 else FINE
        add(10, "team", "emp1" if i % 2 else "emp2", nps, a, None if i % 7 == 0 else b, text)
    for i in range(120):  # September, team Noord: friendliness drives
        a, b = rnd.randint(2, 10), rnd.randint(2, 10)
        nps = clamp(7 + 0.15 * (a - 6) + 1.1 * (b - 6) + rnd.gauss(0, 1.0))
        add(9, "team", "emp1" if i % 2 else "emp2", nps, a, b)
    for i in range(20):  # the organisation's other units in October
        add(10, "team2", "emp3" if i % 2 else "emp4", rnd.randint(6, 10), rnd.randint(7, 10), rnd.randint(5, 9))
        add(10, "team5", "emp8" if i % 2 else "emp9", rnd.randint(5, 10), rnd.randint(6, 10), rnd.randint(6, 10))
    for i in range(12):  # one employee's team: no unit of the quartile
        add(10, "team3", "emp5", 10, 10, 10)
    for i in range(3):  # three answers: below the unit minimum
        add(10, "team4", "emp6", 9, 10, 10)
    for i in range(16):  # emp13's 4 ratings are "thin": no mean holds them
        add(10, "team7", "emp12" if i < 12 else "emp13", 8, 5 + i % 4 if i < 12 else 10, 6)
    for i in range(12):  # ... but their 12 of September are not (no NPS question: no NPS cell)
        add(9, "team7", "emp13", None, 3, 6)
    for i in range(12):  # an aspect of another survey, never rated with speed or friendliness
        post(srv, f, "team7", "emp12", i + 1, 10, None, {P: 5 + i % 3})
    return f, rows


def thin_free(rows, col):
    """The ratings a mean may hold: not those of an employee with 1 to 9
    ratings of the aspect in the month (their own page would not show
    them; docs/PRIVACY.md section 4)."""
    per = {}
    for r in rows:
        if r[col] is not None:
            per[(r[0], r[2])] = per.get((r[0], r[2]), 0) + 1
    return [r for r in rows if r[col] is not None and per[(r[0], r[2])] >= 10]


# ---------------------------------------------------------------------------
# checks

def expect_slice(rows):
    y = np.array([y_of(r[3]) for r in rows])
    xa = np.array([float(r[4]) for r in rows])
    xb = np.array([float(r[5]) if r[5] is not None else np.nan for r in rows])
    return y, xa, xb


def check_drivers(t, srv, f, rows):
    oct_team = [r for r in rows if r[0] == 10 and r[1] == "team"]
    oct_all = [r for r in rows if r[0] == 10]
    y, xa, xb = expect_slice(oct_team)
    eps, r2, slopes, R = relweights(y, [xa, xb])
    q = "/api/v1/drivers?period=%s&team_id=%d" % (PERIOD, f["team"]["id"])
    st, _, b = srv.get(q)
    t.status((st, None, b), 200, "GET /drivers?period=2026-10&team_id=<Noord> -> 200")
    if st != 200:
        return None
    t.eq((b["suppressed"], b["n"], b["outcome"], b["method"]), (False, 120, "nps", "relweights"),
         "shown, n = 120 NPS answers, outcome nps, relative weights by default")
    t.eq(b["bootstrap"], 1000, "1000 bootstrap replicates by default (within the time budget)")
    t.eq([d["driver"] for d in b["drivers"]], [A, B], "the two aspects, in the order first seen")
    near(t, b["r2"]["value"], r4(r2), 0.00011, "R² = r_xy' Rxx^-1 r_xy of the pairwise correlations (%.4f)" % r2)
    t.check(b["r2"]["lo"] <= b["r2"]["value"] <= b["r2"]["hi"], "R²'s interval holds it", b["r2"])
    d = {x["driver"]: x for x in b["drivers"]}
    for j, (name, col) in enumerate(((A, xa), (B, xb))):
        x = d[name]
        ratings = [int(v) for v in col if not np.isnan(v)]
        t.eq(x["n"], len(ratings), "%s: n = its ratings in the slice (%d)" % (name, len(ratings)))
        t.eq(x["mean"], ks.num_exact(Fraction(sum(ratings), len(ratings)), 2), "%s: mean of its ratings" % name)
        t.eq(x["good_share"], ks.num_exact(Fraction(sum(1 for v in ratings if v >= 8), len(ratings)), 2),
             "%s: good_share = share of ratings >= 8" % name)
        near(t, x["weight"]["value"], r4(eps[j]), 0.00011, "%s: relative weight (Johnson 2000) %.4f" % (name, eps[j]))
        near(t, x["share"]["value"], round(eps[j] / r2, 3), 0.0011, "%s: share = weight / R²" % name)
        near(t, x["beta"]["value"], round(slopes[j], 2), 0.011, "%s: OLS slope %.2f NPS points per rating point"
             % (name, slopes[j]))
        t.check(x["weight"]["lo"] <= x["weight"]["value"] <= x["weight"]["hi"], "%s: weight in its interval" % name,
                x["weight"])
    t.eq((d[A]["rank"]["value"], d[B]["rank"]["value"]), (1, 2), "speed ranks first, friendliness second")
    t.eq(d[A]["shown_to_matter"], True, "speed is shown to matter (October's planted driver)")
    for name in (A, B):
        vn = d[name].get("vs_noise") or {}
        t.check(vn.get("lo") is not None and vn["lo"] <= vn["value"] <= vn["hi"]
                and d[name]["shown_to_matter"] == (vn["lo"] > 0),
                "%s: vs_noise has its interval, and shown_to_matter is exactly its lower bound above 0" % name, vn)

    # the organisation's same-period units: Noord, team2, team5 (team3 is one
    # employee's, team4 has three answers)
    quart, orgm = {}, {}
    for j, name in enumerate((A, B)):
        col = 4 + j
        vals = [r[col] for r in thin_free(oct_all, col)]
        orgm[name] = Fraction(sum(vals), len(vals))
        means = []
        for team in ("team", "team2", "team5"):
            v = [r[col] for r in oct_all if r[1] == team and r[col] is not None]
            means.append(sum(v) / len(v))
        quart[name] = quantile7(means, 0.75)
        t.eq(d[name]["org_mean"], ks.num_exact(orgm[name], 2),
             "%s: org_mean = the mean of October's ratings without thin ones (emp6's 3, emp13's 4)" % name)
        near(t, d[name]["org_best_quartile"], round(quart[name], 2), 0.0051,
             "%s: org_best_quartile = 75th percentile of 3 unit means (not the one-person, 3-answer or "
             "thin-plus-one-person teams)" % name)
    shares = {n: d[n]["share"]["value"] for n in (A, B)}
    mean_share = sum(eps / r2) / 2
    for j, name in enumerate((A, B)):
        ratings = [int(v) for v in (xa if j == 0 else xb) if not np.isnan(v)]
        imp = eps[j] / r2 >= mean_share
        good = Fraction(sum(ratings), len(ratings)) >= orgm[name]
        want = ("keep" if good else "improve_first") if imp else ("maintain" if good else "less_urgent")
        t.eq(d[name]["quadrant"], want, "%s: quadrant %s (share %s vs mean share, mean vs org mean)"
             % (name, want, shares[name]))
        # gain = beta * max(0, best quartile - unit mean)
        gap = max(0.0, quart[name] - sum(ratings) / len(ratings))
        near(t, d[name]["gain"]["value"], round(slopes[j] * gap, 1), 0.051,
             "%s: gain = beta x gap = %.2f x %.2f" % (name, slopes[j], gap))
        near(t, d[name]["gain"]["lo"], d[name]["beta"]["lo"] * gap, 0.05 + 0.005 * gap,
             "%s: gain's lo = beta_lo x gap" % name)
        near(t, d[name]["gain"]["hi"], d[name]["beta"]["hi"] * gap, 0.05 + 0.005 * gap,
             "%s: gain's hi = beta_hi x gap" % name)
    t.check(d[A]["gain"]["value"] > 0, "speed has a gain: Noord is below the best quartile", d[A]["gain"])
    want_top = [x["driver"] for x in sorted(b["drivers"], key=lambda x: -(x["gain"] or {"value": 0})["value"])
                if x["shown_to_matter"] and x["gain"] and x["gain"]["value"] > 0][:3]
    t.eq(b["top3"], want_top, "top3 = drivers shown to matter with a gain, by gain")
    t.eq(b["top3"][:1], [A], "speed tops the three")

    # Shapley (LMG) in closed form
    st, _, s = srv.get(q + "&method=shapley&bootstrap=200")
    if st == 200:
        w, r2s = lmg2(R)
        ds = {x["driver"]: x for x in s["drivers"]}
        t.eq((s["method"], s["bootstrap"]), ("shapley", 200), "method=shapley&bootstrap=200 as asked")
        near(t, ds[A]["weight"]["value"], r4(w[0]), 0.00011, "shapley: speed = (r_y1² + R² - r_y2²)/2 = %.4f" % w[0])
        near(t, ds[B]["weight"]["value"], r4(w[1]), 0.00011, "shapley: friendliness = %.4f" % w[1])
        near(t, s["r2"]["value"], r4(r2s), 0.00011, "shapley: R² the same")
    else:
        t.check(False, "method=shapley -> 200", ks.got(st, s))

    # top3 of the team page
    st, _, tp = srv.get("/api/v1/drivers/top3?period=%s&team_id=%d" % (PERIOD, f["team"]["id"]))
    t.status((st, None, tp), 200, "GET /drivers/top3 -> 200")
    if st == 200:
        t.eq([x["driver"] for x in tp["top3"]], b["top3"], "top3 route: the same three as /drivers")
        t.eq((tp["team"]["id"], tp["suppressed"]), (f["team"]["id"], False), "top3 names the team, shown")
        t.eq(tp.get("model_error", "absent"), None, "top3: a team with a model has model_error null")
        if tp["top3"]:
            t.eq((tp["top3"][0]["gain"], tp["top3"][0]["mean"], tp["top3"][0]["org_best_quartile"]),
                 (d[A]["gain"], d[A]["mean"], d[A]["org_best_quartile"]), "top3: gain, mean and quartile as /drivers")
    return b


def analyse(text):
    """The themes `klantstem text analyze` (the analyst's command line)
    finds in a text: the store analyses every open answer the same way."""
    import json
    import subprocess
    p = ks.spawn([ks.binary(), "text", "analyze", "--lang", "nl", "--format", "jsonl"], stdin=subprocess.PIPE,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ks.sanitizer_env())
    so, se = p.communicate((text + "\n").encode(), timeout=60)
    if p.returncode != 0:
        raise ks.FixtureError("text analyze: rc %s %s" % (p.returncode, se[-400:]))
    return sorted({h["theme"] for h in json.loads(so.decode().strip().splitlines()[0])["themes"]})


def check_themes(t, srv, f, rows):
    """themes=1: the themes of the analysed answers are drivers too (1 when
    the answer mentions it, 0 when not, missing without an open answer)."""
    themes = {WAIT: analyse(WAIT), FINE: analyse(FINE)}
    t.check("waiting_time" in themes[WAIT], "the complaint mentions waiting_time (text analyze)", themes)
    oct_team = [r for r in rows if r[0] == 10 and r[1] == "team"]
    y, xa, xb = expect_slice(oct_team)
    analysed = [r for r in oct_team if r[6]]
    cols, names = [xa, xb], [A, B]
    for th in sorted(set(themes[WAIT]) | set(themes[FINE])):
        m = sum(1 for r in analysed if th in themes[r[6]])
        if m >= 10 and len(analysed) - m >= 10:  # mentioned and not, 10 times each
            cols.append(np.array([np.nan if not r[6] else 1.0 if th in themes[r[6]] else 0.0 for r in oct_team]))
            names.append(th)
    eps, r2, slopes, _ = relweights(y, cols)
    st, _, b = srv.get("/api/v1/drivers?period=%s&team_id=%d&themes=1" % (PERIOD, f["team"]["id"]))
    t.status((st, None, b), 200, "GET /drivers?themes=1 -> 200")
    if st != 200:
        return
    d = {x["driver"]: x for x in b["drivers"]}
    t.eq(sorted(x["driver"] for x in b["drivers"] if x["in_model"]), sorted(names),
         "themes=1: the model holds speed, friendliness and the themes mentioned and not 10 times each")
    near(t, b["r2"]["value"], r4(r2), 0.00011, "themes=1: R² with the theme presences %.4f" % r2)
    for j, name in enumerate(names):
        near(t, d[name]["weight"]["value"], r4(eps[j]), 0.00011, "themes=1: %s's weight %.4f" % (name, eps[j]))
    w = d.get("waiting_time", {})
    m = sum(1 for r in analysed if "waiting_time" in themes[r[6]])
    t.eq((w.get("kind"), w.get("n"), w.get("mean"), w.get("good_share")),
         ("theme", len(analysed), ks.num_exact(Fraction(m, len(analysed)), 2), None),
         "waiting_time: a theme over the %d analysed answers, mean = its share of them" % len(analysed))
    if "waiting_time" in names:
        k = names.index("waiting_time")
        t.check(slopes[k] < 0 and w.get("lower_is_better") is True,
                "waiting_time goes with a lower score: lower_is_better", (slopes[k], w.get("lower_is_better")))
        # only Noord has open answers (of both its employees): its share is the organisation's
        # and the only unit's
        t.eq((w.get("org_mean"), w.get("org_best_quartile"), (w.get("gain") or {}).get("value")),
             (w.get("mean"), w.get("mean"), 0.0),
             "waiting_time: org share and its best (25th percentile) quartile are Noord's own, no gain")
    st, _, b0 = srv.get("/api/v1/drivers?period=%s&team_id=%d" % (PERIOD, f["team"]["id"]))
    t.eq(sorted(x["driver"] for x in b0.get("drivers", [])), [B, A] if B < A else [A, B],
         "without themes=1 the themes are not drivers")


THEME_TERMS = ["wachttijd", "bereikbaar", "vriendelijk", "deskundig", "opgelost", "afspraak", "prijs",
               "factuur", "communicatie", "monteur", "app", "levering", "contract"]


def check_model_cap(t, srv, f):
    """At most 24 drivers in one model (the engine's memory per request):
    16 aspects rated in every answer and 13 themes mentioned in about half
    of them are 29 candidates; the 24 most rated come in, the other 5 are
    left out as too_many_drivers and keep their n."""
    rnd = random.Random(24)
    aspects = ["w%02d" % i for i in range(1, 17)]
    for i in range(80):
        d = {a: rnd.randint(1, 10) for a in aspects}
        nps = clamp(5 + 0.4 * (d["w01"] - 5) + rnd.gauss(0, 1.5))
        words = [w for w in THEME_TERMS if rnd.random() < 0.5] or [THEME_TERMS[0]]
        post(srv, f, "team6", "emp10" if i % 2 else "emp11", i % 28 + 1, 11, nps, d,
             text="Over de " + ", de ".join(words) + ".")
    st, _, b = srv.get("/api/v1/drivers?period=2026-11&team_id=%d&themes=1&bootstrap=0" % f["team6"]["id"])
    t.status((st, None, b), 200, "model cap: GET /drivers?themes=1 with 29 candidates -> 200")
    if st != 200:
        return
    ds = b.get("drivers", [])
    inm = [x for x in ds if x["in_model"]]
    cut = [x for x in ds if x["left_out"] == "too_many_drivers"]
    t.check(len(inm) + len(cut) > 24, "model cap: more than 24 candidates (%d)" % (len(inm) + len(cut)),
            [(x["driver"], x["left_out"]) for x in ds])
    t.eq(len(inm), 24, "model cap: 24 drivers in the model")
    t.check(cut and max(x["n"] for x in cut) <= min(x["n"] for x in inm) and all(x["weight"] is None for x in cut),
            "model cap: the ones left out are no more rated than any in the model, and have no weight",
            [(x["driver"], x["n"]) for x in cut])
    t.check(all(x["mean"] is not None for x in cut), "model cap: ... but keep their mean",
            [(x["driver"], x["mean"]) for x in cut])


def check_compare(t, srv, f, rows):
    base = "/api/v1/drivers?team_id=%d" % f["team"]["id"]
    st, _, now = srv.get(base + "&period=" + PERIOD)
    st2, _, before = srv.get(base + "&period=" + PREV)
    st3, _, c = srv.get(base + "&period=%s&compare=%s" % (PERIOD, PREV))
    if (st, st2, st3) != (200, 200, 200):
        t.check(False, "compare replies -> 200", (st, st2, ks.short(c)))
        return
    sep = [r for r in rows if r[0] == 9 and r[1] == "team"]
    y, xa, xb = expect_slice(sep)
    eps, _, _, _ = relweights(y, [xa, xb])
    bw = {x["driver"]: x for x in before["drivers"]}
    near(t, bw[B]["weight"]["value"], r4(eps[1]), 0.00011, "September: friendliness's weight %.4f" % eps[1])
    ch = {x["driver"]: x for x in c["change"]["drivers"]}
    t.eq((c["change"]["period"], c["change"]["suppressed"], sorted(ch)), (PREV, False, sorted([A, B])),
         "change: the compared period, both drivers")
    nw = {x["driver"]: x for x in now["drivers"]}
    for name, want in ((A, "rose"), (B, "fell")):
        x = ch[name]
        t.eq((x["weight_before"], x["weight_after"]), (bw[name]["weight"]["value"], nw[name]["weight"]["value"]),
             "%s: weight_before / weight_after are the two periods' weights" % name)
        near(t, x["diff"]["value"], x["weight_after"] - x["weight_before"], 0.00011, "%s: diff = after - before" % name)
        # the interval from the two bootstraps: se = (hi - lo) / (2 * 1.96) each, independent
        sa = (nw[name]["weight"]["hi"] - nw[name]["weight"]["lo"]) / (2 * Z)
        sb = (bw[name]["weight"]["hi"] - bw[name]["weight"]["lo"]) / (2 * Z)
        se = math.sqrt(sa * sa + sb * sb)
        near(t, x["diff"]["lo"], x["diff"]["value"] - Z * se, 0.0003, "%s: diff's lo = diff - 1.96 se" % name)
        near(t, x["diff"]["hi"], x["diff"]["value"] + Z * se, 0.0003, "%s: diff's hi = diff + 1.96 se" % name)
        t.eq(x["verdict"], want, "%s %s from September to October (the interval excludes 0)" % (name, want))


def check_privacy(t, srv, f):
    for team, n, why in (("team4", 3, "three answers, below the unit minimum of 5"),
                         ("team3", 12, "every answer names one employee")):
        st, _, b = srv.get("/api/v1/drivers?period=%s&team_id=%d" % (PERIOD, f[team]["id"]))
        t.eq((st, b.get("suppressed"), b.get("n"), b.get("drivers"), b.get("top3"), b.get("r2")),
             (200, True, n, [], [], None), "%s: suppressed, n only, no driver figure (%s)" % (team, why))
        st, _, b = srv.get("/api/v1/drivers/top3?period=%s&team_id=%d" % (PERIOD, f[team]["id"]))
        t.eq((st, b.get("suppressed"), b.get("top3")), (200, True, []), "%s: top3 suppressed too" % team)
    # team7: 16 answers of two employees, shown; emp13's 4 ratings stay out of the means
    st, _, b = srv.get("/api/v1/drivers?period=%s&team_id=%d&bootstrap=0" % (PERIOD, f["team7"]["id"]))
    d = {x["driver"]: x for x in b.get("drivers", [])}
    a12 = [5 + i % 4 for i in range(12)]
    t.eq((st, b.get("suppressed"), d.get(A, {}).get("n"), d.get(A, {}).get("mean_n"), d.get(A, {}).get("mean")),
         (200, False, 16, 12, ks.num_exact(Fraction(sum(a12), 12), 2)),
         "team7: n counts all 16 ratings, the mean only emp12's 12 (emp13 has 4 this month: thin)")
    t.eq([x.get("vs_noise", "absent") for x in b.get("drivers", [])], [None] * len(b.get("drivers", [])),
         "bootstrap=0: no vs_noise interval (nothing is shown to matter without replicates)")
    p = d.get(P, {})
    t.eq((p.get("in_model"), p.get("left_out"), p.get("weight"), p.get("n"), p.get("mean")),
         (False, "not_rated_with_other_drivers", None, 12, 6.0),
         "team7: punctuality, never rated with the others, is listed outside the model with its mean")
    st, _, b = srv.get("/api/v1/drivers?period=2026&team_id=%d&bootstrap=0" % f["team7"]["id"])
    d = {x["driver"]: x for x in b.get("drivers", [])}
    t.eq((st, d.get(A, {}).get("n"), d.get(A, {}).get("mean_n"), d.get(A, {}).get("mean")),
         (200, 28, 24, ks.num_exact(Fraction(sum(a12) + 12 * 3, 24), 2)),
         "team7 in 2026: emp13's 12 September ratings count, their 4 of October (a thin month) do not")
    st, _, m = srv.get("/api/v1/metrics?period=%s&team_id=%d" % (PERIOD, f["team4"]["id"]))
    t.eq((st, m.get("nps")), (200, None), "team4: /metrics hides its NPS too (the same rule)")
    st, _, b = srv.get("/api/v1/drivers?period=%s&employee_id=%d" % (PERIOD, f["emp1"]["id"]))
    t.eq((st, b.get("suppressed"), b.get("drivers")), (200, True, []),
         "employee_id=<60 answers>: one person's slice is suppressed")
    st, _, b = srv.get("/api/v1/drivers?period=%s&team_id=%d&compare=2026-08" % (PERIOD, f["team"]["id"]))
    t.eq((st, b.get("change", {}).get("suppressed"), b.get("change", {}).get("drivers")), (200, True, []),
         "compare with an empty month: the change is suppressed, no weight of it")


def check_errors(t, srv, f):
    base = "/api/v1/drivers?period=%s&team_id=%d" % (PERIOD, f["team"]["id"])
    cases = [(base + "&outcome=revenue", "outcome"), (base + "&method=ridge", "method"),
             (base + "&bootstrap=5000", "bootstrap"), (base + "&bootstrap=-1", "bootstrap"),
             (base + "&bootstrap=ten", "bootstrap"), (base + "&compare=2026-W40", "compare"),
             (base + "&compare=yesterday", "compare"), (base + "&colour=red", "colour"),
             ("/api/v1/drivers/moments?period=2026", "journey_id"),
             ("/api/v1/drivers/moments?journey_id=%d&window_days=0" % f["journey"]["id"], "window_days"),
             ("/api/v1/drivers/moments?journey_id=%d&window_days=400" % f["journey"]["id"], "window_days"),
             ("/api/v1/drivers/moments?journey_id=999999", "journey_id"),
             ("/api/v1/drivers/top3?period=2026-10", "team_id"),
             ("/api/v1/drivers/top3?team_id=%d&outcome=grade" % f["team"]["id"], "outcome"),
             ("/api/v1/drivers?period=2026-10-03", "period"), (base + "&themes=yes", "themes")]
    for path, field in cases:
        st, _, b = srv.get(path)
        t.error((st, None, b), 422, field=field, name="%s -> 422 naming %s" % (path.split("/api/v1/")[1], field))


def check_scope(t, srv, f):
    lead = Login(srv, "team_lead", f["team"]["id"])
    st, _, b = lead.get("/api/v1/drivers?period=%s&bootstrap=0" % PERIOD)
    t.eq((st, b.get("n"), b.get("filter", {}).get("team_id")), (200, 121, f["team"]["id"]),
         "a team lead without team_id gets their own unit (as /metrics)")
    st, _, b = lead.get("/api/v1/drivers?period=%s&team_id=%d&bootstrap=0" % (PERIOD, f["team2"]["id"]))
    t.error((st, None, b), 403, name="a team lead asking another team's drivers -> 403")
    st, _, b = lead.get("/api/v1/drivers/moments?journey_id=%d&team_id=%d" % (f["journey"]["id"], f["team2"]["id"]))
    t.error((st, None, b), 403, name="... and its moments of truth -> 403")


def check_new_response(t, srv, f, before):
    q = "/api/v1/drivers?period=%s&team_id=%d&bootstrap=0" % (PERIOD, f["team"]["id"])
    st1, _, b1 = srv.get(q)
    st2, _, b2 = srv.get(q)  # the second from the kept replies
    t.check(st1 == st2 == 200 and b1 == b2 and b1.get("n") == 120, "the same request twice: the same reply",
            (st1, st2, ks.short(b1), ks.short(b2)))
    post(srv, f, "team", "emp1", 15, 10, 10, {A: 10, B: 10})
    st, _, b = srv.get(q)
    d = {x["driver"]: x for x in b.get("drivers", [])}
    old = {x["driver"]: x for x in before["drivers"]}
    t.eq((st, b.get("n"), d.get(A, {}).get("n"), d.get(B, {}).get("n")),
         (200, 121, old[A]["n"] + 1, old[B]["n"] + 1),
         "a response posted for October is in the analysis right after its 201 (n and both drivers' n + 1)")


# ---------------------------------------------------------------------------
# moments of truth

def check_moments(t, srv, f):
    tag = ks.uniq("mot")
    j = srv.create("journeys", {"name": "Verhuizen " + tag})
    tps = [srv.create("touchpoints", {"journey_id": j["id"], "name": name, "position": pos,
                                      "moment_of_truth": pos == 1, "survey_id": f["survey"]["id"]})
           for pos, name in ((1, "Melden"), (2, "Aansluiten"), (3, "Eindafrekening"))]
    for k, tp in enumerate(tps):
        f["m%d" % k] = tp
    rnd = random.Random(7)
    custs = [srv.create("customers", {"external_id": ks.uniq("mc")})["id"] for _ in range(44)]
    vec = []  # per analysed customer: (y, s1 or NaN, s2)
    for i, c in enumerate(custs):
        day = 10 + i % 18
        emp = "emp10" if i % 2 else "emp11"  # two employees: not one person's answers
        s1, s2 = rnd.randint(0, 10), rnd.randint(0, 10)
        far = i % 5 == 0  # T1 100 days before: outside the 90-day window
        m1 = (6, day) if far else (9, day + 10)  # September day+10 (20 days before) or June-ish
        if far:
            post(srv, f, "team6", emp, day, 6, s1, None, tp="m0", customer=c)
        else:
            post(srv, f, "team6", emp, min(m1[1], 28), 9, s1, None, tp="m0", customer=c)
        post(srv, f, "team6", emp, day - 5, 10, s2, None, tp="m1", customer=c)
        if i >= 40:
            continue  # no answer at the end of the journey: not analysed
        end = clamp(s2 + rnd.gauss(0, 0.8))
        if i % 9 == 0:  # an earlier end answer: the latest is the outcome
            post(srv, f, "team6", emp, day - 8, 10, rnd.randint(0, 10), None, tp="m2", customer=c)
        post(srv, f, "team6", emp, day, 10, end, None, tp="m2", customer=c)
        vec.append((y_of(end), np.nan if far else float(s1), float(s2)))
    y = np.array([v[0] for v in vec])
    x1 = np.array([v[1] for v in vec])
    x2 = np.array([v[2] for v in vec])
    eps, r2, _, _ = relweights(y, [x1, x2])
    st, _, b = srv.get("/api/v1/drivers/moments?journey_id=%d&period=%s" % (j["id"], PERIOD))
    t.status((st, None, b), 200, "GET /drivers/moments -> 200")
    if st != 200:
        return
    t.eq((b["journey"]["id"], b["n_customers"], b["suppressed"], b["window_days"]), (j["id"], 40, False, 90),
         "moments: 40 customers with an answer at the last touchpoint and an earlier one in 90 days")
    t.eq(b["outcome_touchpoint"]["id"], tps[2]["id"], "the outcome is the journey's last touchpoint's score")
    got = {x["touchpoint"]["id"]: x for x in b["touchpoints"]}
    t.eq(sorted(got), sorted([tps[0]["id"], tps[1]["id"]]), "the two earlier touchpoints are the drivers")
    t1, t2 = got.get(tps[0]["id"]), got.get(tps[1]["id"])
    if not t1 or not t2:
        return
    t.eq((t1["n"], t2["n"]), (int((~np.isnan(x1)).sum()), 40),
         "visits in the window: T1 only where it was within 90 days (%d), T2 for all" % int((~np.isnan(x1)).sum()))
    near(t, b["r2"]["value"], r4(r2), 0.00011, "moments: R² of the pairwise model %.4f" % r2)
    near(t, t2["weight"]["value"], r4(eps[1]), 0.00011, "moments: T2's relative weight %.4f" % eps[1])
    near(t, t1["weight"]["value"], r4(eps[0]), 0.00011, "moments: T1's relative weight %.4f" % eps[0])
    t.check(all((x.get("vs_noise") or {}).get("lo") is not None and x["shown_to_matter"] == (x["vs_noise"]["lo"] > 0)
                for x in (t1, t2)), "moments: each touchpoint's vs_noise decides shown_to_matter", [t1.get("vs_noise"), t2.get("vs_noise")])
    t.eq((t2["shown_to_matter"], t2["moment_of_truth_suggested"], t2["moment_of_truth_set"]), (True, True, False),
         "T2 drives the end score: shown to matter, suggested as moment of truth (not set by hand)")
    t.eq((t1["moment_of_truth_suggested"], t1["moment_of_truth_set"]), (False, True),
         "T1: not suggested (second of two: not in the top third), the hand flag shown beside it")
    # a touchpoint's name of 500 bytes (its limit) of two-byte letters is
    # named whole (a cut inside a letter would be no JSON string)
    st, _, p = srv.patch("/api/v1/touchpoints/%d" % tps[1]["id"], {"name": "ë" * 250})
    t.status((st, None, p), 200, "PATCH a touchpoint's name to 250 two-byte letters")
    st, _, p = srv.patch("/api/v1/touchpoints/%d" % tps[2]["id"], {"name": "ï" * 250})
    t.status((st, None, p), 200, "PATCH the last touchpoint's name to 250 two-byte letters")
    st, _, b2 = srv.get("/api/v1/drivers/moments?journey_id=%d&period=%s" % (j["id"], PERIOD))
    names = {x["touchpoint"]["id"]: x["touchpoint"]["name"] for x in b2.get("touchpoints", [])} if st == 200 else {}
    t.eq((st, names.get(tps[1]["id"])), (200, "ë" * 250), "moments: the touchpoint's 500-byte name is named whole")
    t.check(st == 200 and "(%s)" % ("ï" * 250) in b2.get("outcome", ""),
            "moments: the outcome's text names the last touchpoint's 500-byte name whole", b2.get("outcome"))
    st, _, b = srv.get("/api/v1/drivers/moments?journey_id=%d&period=%s&window_days=3" % (j["id"], PERIOD))
    t.eq((st, b.get("suppressed"), b.get("n_customers"), b.get("touchpoints")), (200, True, 0, []),
         "window_days=3: no earlier visit within 3 days, no customer analysed (suppressed)")
    # a journey with three customers: below the unit minimum
    j2 = srv.create("journeys", {"name": "Klein " + tag})
    s1 = srv.create("touchpoints", {"journey_id": j2["id"], "name": "Een", "position": 1})
    s2 = srv.create("touchpoints", {"journey_id": j2["id"], "name": "Twee", "position": 2})
    f["s1"], f["s2"] = s1, s2
    for k, c in enumerate(custs[:3]):
        post(srv, f, "team6", "emp1%d" % (k % 2), 5, 10, 8, None, tp="s1", customer=c)
        post(srv, f, "team6", "emp1%d" % (k % 2), 9, 10, 9, None, tp="s2", customer=c)
    st, _, b = srv.get("/api/v1/drivers/moments?journey_id=%d&period=%s" % (j2["id"], PERIOD))
    t.eq((st, b.get("suppressed"), b.get("touchpoints"), b.get("r2")), (200, True, [], None),
         "a journey of three customers: suppressed, no touchpoint figure")


# ---------------------------------------------------------------------------
# a one-click answer completed by the form (its own server: a test clock)

def set_clock(srv, iso):
    st, _, b = srv.post("/api/v1/admin/clock", {"now": iso})
    if st != 200:
        raise ks.FixtureError("POST /api/v1/admin/clock %s -> %s" % (iso, ks.got(st, b)))


def one_click_main(t):
    import re
    srv = ks.Server(t, args=["--test-clock", "2026-10-20T09:00:00Z"])
    try:
        srv.start()
        f = ks.base_fixture(srv)  # its survey: nps, grade, ces, driver "snelheid" (field d_3), open
        ratings = []
        for i in range(20):
            v = 3 + i % 7
            post(srv, f, "team", "emp1" if i % 2 else "emp2", i + 1, 10, 8, {A: v})
            ratings.append(v)
        c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                    "channel": "phone", "employee_id": f["emp1"]["id"]})
        path = "/s/" + c["token"]
        st, _, _ = srv.get(path + "?nps=9")
        t.eq(st, 200, "one-click: the tap stores a partial response")
        q = "/api/v1/drivers?period=2026-10&team_id=%d&bootstrap=0" % f["team"]["id"]
        set_clock(srv, "2026-11-02T09:00:00Z")
        st, _, b = srv.get(q)
        d = {x["driver"]: x for x in b.get("drivers", [])}
        t.eq((st, b.get("n"), d.get(A, {}).get("n")), (200, 21, 20),
             "one-click: the tapped score counts (n 21), without a rating yet (20)")
        set_clock(srv, "2026-10-20T09:05:00Z")
        st, _, page = srv.get(path)
        m = re.search(r'name="k"[^>]*value="([^"]*)"', page if isinstance(page, str) else "") or \
            re.search(r'value="([^"]*)"[^>]*name="k"', page if isinstance(page, str) else "")
        st, _, body = srv.form(path, {"k": m.group(1) if m else "", "nps": "9", "d_3": "4"})
        t.eq(st, 201, "one-click: the form completes it with speed 4")
        set_clock(srv, "2026-11-02T09:00:00Z")
        st, _, b = srv.get(q)
        d = {x["driver"]: x for x in b.get("drivers", [])}
        t.eq((st, b.get("n"), d.get(A, {}).get("n"), d.get(A, {}).get("mean")),
             (200, 21, 21, ks.num_exact(Fraction(sum(ratings) + 4, 21), 2)),
             "one-click: the form's rating is in the analysis at once (the update hook), the answer still once")
    finally:
        try:
            srv.stop("one-click: server exits 0 on SIGTERM")
        finally:
            srv.cleanup()


def main(t, srv):
    f, rows = build(srv)
    before = check_drivers(t, srv, f, rows)
    check_themes(t, srv, f, rows)
    check_model_cap(t, srv, f)
    check_compare(t, srv, f, rows)
    check_privacy(t, srv, f)
    check_errors(t, srv, f)
    if before:
        check_new_response(t, srv, f, before)
    check_scope(t, srv, f)
    check_moments(t, srv, f)
    one_click_main(t)


if __name__ == "__main__":
    ks.run(main)
