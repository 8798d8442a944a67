#!/usr/bin/python3
"""klantstem drivers (issue 15) on generated CSV files, against an independent
computation written here with numpy:

  - pairwise-complete Pearson correlations (each pair over the rows where
    both are present), numpy.corrcoef per pair;
  - Johnson's (2000) relative weights: Rxx = V diag(l) V' (numpy.linalg.eigh),
    L = V diag(sqrt l) V', beta* = solve(L, r), eps = (L**2) @ beta***2;
  - Shapley / LMG: R² of every subset by numpy.linalg.solve, averaged over
    subsets with weights |S|!(p-|S|-1)!/p! (itertools, math.factorial);
  - slopes: numpy.linalg.lstsq with an intercept (complete data), or the
    standardised solve(Rxx, r) scaled by sd_y / sd_j (pairwise data).

Files come as spreadsheets write them: BOM, CRLF, quoted headers, a quoted
newline in a text column (line numbers must still be right), semicolons with
decimal commas, empty / NA / n.v.t. / --missing cells. Also: the bootstrap is
deterministic with its seed, a pure-noise driver is "not shown to matter"
while the true ones are, --group resamples customers, and bad input is
reported with FILE:LINE and exit status 1 (usage errors: 2)."""

import itertools
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

TOL = 1e-7


def cli(t, args, what, timeout=120.0):
    rc, out, err = ks.run_cli(["drivers"] + args, timeout=timeout)
    rep = ks.sanitizer_report(err)
    if rep:
        t.check(False, "%s: no sanitizer report" % what, rep[:8000])
    return rc, out, err


def run_json(t, args, what):
    rc, out, err = cli(t, args + ["--format", "json"], what)
    if not t.check(rc == 0, "%s: exit 0" % what, err[-2000:]):
        return None
    return json.loads(out)


# ---- the independent reference ---------------------------------------------

def pairwise_corr(D):
    q = D.shape[1]
    R = np.eye(q)
    for j in range(q):
        for k in range(j + 1, q):
            m = ~np.isnan(D[:, j]) & ~np.isnan(D[:, k])
            R[j, k] = R[k, j] = np.corrcoef(D[m, j], D[m, k])[0, 1]
    return R


def reference(y, X):
    """y (n), X (n x p) with NaN for missing; rows with NaN y dropped."""
    keep = ~np.isnan(y)
    y, X = y[keep], X[keep]
    D = np.column_stack([y, X])
    p = X.shape[1]
    R = pairwise_corr(D)
    Rxx, r = R[1:, 1:], R[1:, 0]
    lam, V = np.linalg.eigh(Rxx)
    L = V @ np.diag(np.sqrt(lam)) @ V.T
    bstar = np.linalg.solve(L, r)
    rw = (L ** 2) @ (bstar ** 2)
    beta_std = np.linalg.solve(Rxx, r)
    r2 = float(r @ beta_std)

    def r2s(S):
        if not S:
            return 0.0
        S = list(S)
        return float(r[S] @ np.linalg.solve(Rxx[np.ix_(S, S)], r[S]))

    cache = {}
    for k in range(p + 1):
        for S in itertools.combinations(range(p), k):
            cache[S] = r2s(S)
    sh = np.zeros(p)
    for j in range(p):
        others = [i for i in range(p) if i != j]
        for k in range(p):
            w = math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p)
            for S in itertools.combinations(others, k):
                sh[j] += w * (cache[tuple(sorted(S + (j,)))] - cache[S])
    sd = np.array([np.nanstd(D[:, j], ddof=1) for j in range(p + 1)])
    beta = beta_std * sd[0] / sd[1:]
    if not np.isnan(X).any():
        A = np.column_stack([np.ones(len(y)), X])
        beta = np.linalg.lstsq(A, y, rcond=None)[0][1:]
    npairs = [int((~np.isnan(X[:, j])).sum()) for j in range(p)]
    means = [float(np.nanmean(X[:, j])) for j in range(p)]
    return {"r2": r2, "relweights": rw, "shapley": sh, "beta": beta, "n": int(len(y)),
            "n_pairs": npairs, "mean": means}


def ranks(w):
    order = sorted(range(len(w)), key=lambda j: (-w[j], j))
    rk = [0] * len(w)
    for i, j in enumerate(order):
        rk[j] = i + 1
    return rk


def check_against(t, res, ref, method, names, what):
    if res is None:
        return
    t.eq(res["method"], method, "%s: method" % what)
    t.eq(res["n"], ref["n"], "%s: n" % what)
    t.near(res["r2"]["value"], ref["r2"], TOL, "%s: R² = %.6f" % (what, ref["r2"]))
    want = ref[method]
    got = [d["weight"]["value"] for d in res["drivers"]]
    t.eq([d["driver"] for d in res["drivers"]], names, "%s: drivers in the given order" % what)
    t.check(len(got) == len(want) and all(abs(a - b) < TOL for a, b in zip(got, want)),
            "%s: %s weights match numpy" % (what, method),
            "numpy:  %s\nengine: %s" % (list(want), got))
    t.check(all(abs(d["share"]["value"] - w / ref["r2"]) < TOL for d, w in zip(res["drivers"], want)),
            "%s: shares = weight / R²" % what)
    t.near(sum(got), ref["r2"], 1e-9, "%s: weights sum to R²" % what)
    t.eq([d["rank"]["value"] for d in res["drivers"]], ranks(list(want)), "%s: ranks" % what)
    gb = [d["beta"]["value"] for d in res["drivers"]]
    t.check(all(abs(a - b) < 1e-6 * max(1, abs(b)) for a, b in zip(gb, ref["beta"])),
            "%s: unstandardised slopes match" % what, "numpy:  %s\nengine: %s" % (list(ref["beta"]), gb))
    t.eq([d["n"] for d in res["drivers"]], ref["n_pairs"], "%s: n per driver" % what)
    t.check(all(abs(d["mean"] - m) < 1e-9 * max(1, abs(m)) for d, m in zip(res["drivers"], ref["mean"])),
            "%s: means per driver" % what)


# ---- data ------------------------------------------------------------------

def make(rng, n, coef, noise_cols=0, factor=0.5):
    p = len(coef)
    f = rng.normal(size=n)
    X = np.column_stack([factor * f + rng.normal(size=n) for _ in range(p)])
    y = X @ np.array(coef) + rng.normal(size=n)
    if noise_cols:
        X = np.column_stack([X] + [rng.normal(size=n) for _ in range(noise_cols)])
    return y, X


def fmt(v, decimal=".", missing=""):
    if np.isnan(v):
        return missing
    s = repr(float(v))
    return s.replace(".", decimal)


def write(path, text, bom=False, newline="\n"):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(("\ufeff" if bom else "") + text.replace("\n", newline))
    return path


def csv_text(header, rows, sep=","):
    return sep.join(header) + "\n" + "".join(sep.join(r) + "\n" for r in rows)


# ---- a published example ----------------------------------------------------
# Motor Trend's 1974 road tests (the "mtcars" data of Henderson & Velleman
# 1981, public): mpg on cyl, disp, hp, wt. The rwa package's documentation
# (Chan, "Regression methods" article, rwa_multiregress on mtcars) publishes
# Raw.RelWeight cyl 0.2096904, disp 0.1883043, hp 0.1799590, wt 0.2706812 and
# Rescaled.RelWeight 24.70914, 22.18908, 21.20570, 31.89607 (%); their sum is
# R² (0.8486349 from the rounded weights). Reproduced to the published decimals.
MTCARS = """car,mpg,cyl,disp,hp,wt
Mazda RX4,21.0,6,160.0,110,2.620
Mazda RX4 Wag,21.0,6,160.0,110,2.875
Datsun 710,22.8,4,108.0,93,2.320
Hornet 4 Drive,21.4,6,258.0,110,3.215
Hornet Sportabout,18.7,8,360.0,175,3.440
Valiant,18.1,6,225.0,105,3.460
Duster 360,14.3,8,360.0,245,3.570
Merc 240D,24.4,4,146.7,62,3.190
Merc 230,22.8,4,140.8,95,3.150
Merc 280,19.2,6,167.6,123,3.440
Merc 280C,17.8,6,167.6,123,3.440
Merc 450SE,16.4,8,275.8,180,4.070
Merc 450SL,17.3,8,275.8,180,3.730
Merc 450SLC,15.2,8,275.8,180,3.780
Cadillac Fleetwood,10.4,8,472.0,205,5.250
Lincoln Continental,10.4,8,460.0,215,5.424
Chrysler Imperial,14.7,8,440.0,230,5.345
Fiat 128,32.4,4,78.7,66,2.200
Honda Civic,30.4,4,75.7,52,1.615
Toyota Corolla,33.9,4,71.1,65,1.835
Toyota Corona,21.5,4,120.1,97,2.465
Dodge Challenger,15.5,8,318.0,150,3.520
AMC Javelin,15.2,8,304.0,150,3.435
Camaro Z28,13.3,8,350.0,245,3.840
Pontiac Firebird,19.2,8,400.0,175,3.845
Fiat X1-9,27.3,4,79.0,66,1.935
Porsche 914-2,26.0,4,120.3,91,2.140
Lotus Europa,30.4,4,95.1,113,1.513
Ford Pantera L,15.8,8,351.0,264,3.170
Ferrari Dino,19.7,6,145.0,175,2.770
Maserati Bora,15.0,8,301.0,335,3.570
Volvo 142E,21.4,4,121.0,109,2.780
"""
MTCARS_RAW = {"cyl": 0.2096904, "disp": 0.1883043, "hp": 0.1799590, "wt": 0.2706812}
MTCARS_RESCALED = {"cyl": 24.70914, "disp": 22.18908, "hp": 21.20570, "wt": 31.89607}


def published_example(t, d):
    f = write(os.path.join(d, "mtcars.csv"), MTCARS)
    res = run_json(t, ["--csv", f, "--outcome", "mpg", "--drivers", "cyl,disp,hp,wt", "--bootstrap", "0"],
                   "mtcars")
    if not res:
        return
    got = {x["driver"]: x for x in res["drivers"]}
    t.eq({k: round(got[k]["weight"]["value"], 7) for k in MTCARS_RAW}, MTCARS_RAW,
         "mtcars: raw relative weights = the rwa package's published Raw.RelWeight (7 decimals)")
    t.eq({k: round(100 * got[k]["share"]["value"], 5) for k in MTCARS_RESCALED}, MTCARS_RESCALED,
         "mtcars: shares = the published Rescaled.RelWeight (%, 5 decimals)")
    t.eq(round(res["r2"]["value"], 6), 0.848635,
         "mtcars: R² = the sum of the published weights (0.8486349 from their rounded values), 6 decimals")
    t.eq([x["driver"] for x in sorted(res["drivers"], key=lambda x: x["rank"]["value"])],
         ["wt", "cyl", "disp", "hp"], "mtcars: ranks wt, cyl, disp, hp as published")


# ---- the test --------------------------------------------------------------

def main(t):
    d = tempfile.mkdtemp(prefix="ks-drivers-")
    try:
        run(t, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run(t, d):
    published_example(t, d)
    rng = np.random.default_rng(20261207)
    names = ["speed", "friendliness", "expertise", "price", "app"]

    # 1. complete data; BOM, CRLF, a quoted header and a quoted comment with a
    #    newline in it
    y, X = make(rng, 400, [0.5, 0.3, 0.2, 0.1, 0.05])
    head = ["id", '"speed"', "friendliness", "expertise", "price", "app", "comment", "nps"]
    rows = []
    for i in range(400):
        c = '"slow, but ""kind""\nand helpful"' if i == 2 else "ok"
        rows.append([str(i)] + [fmt(v) for v in X[i]] + [c, fmt(y[i])])
    f1 = write(os.path.join(d, "complete.csv"), csv_text(head, rows), bom=True, newline="\r\n")
    ref = reference(y, X)
    args = ["--csv", f1, "--outcome", "nps", "--drivers", ",".join(names), "--bootstrap", "0"]
    check_against(t, run_json(t, args, "complete, relweights"), ref, "relweights", names,
                  "complete, relweights")
    res = run_json(t, args + ["--method", "shapley"], "complete, shapley")
    check_against(t, res, ref, "shapley", names, "complete, shapley")
    if res:
        t.check(all(d_["weight"]["lo"] is None and d_["shown_to_matter"] is False
                    for d_ in res["drivers"]),
                "without bootstrap: no intervals (null) and nothing shown to matter")

    # the CSV format carries the same numbers; the last row is the model
    rc, out, err = cli(t, args + ["--format", "csv"], "csv format")
    lines = out.strip().split("\n")
    t.eq(len(lines), 1 + len(names) + 1, "csv format: header, one row per driver, the model row")
    if len(lines) == 7:
        hdr = lines[0].split(",")
        t.eq(len(hdr), 20, "csv format: 20 columns")
        r0 = lines[1].split(",")
        t.eq(r0[0], '"speed"', "csv format: driver name quoted")
        t.near(float(r0[hdr.index("weight")]), ref["relweights"][0], TOL, "csv format: weight of speed")
        last = lines[-1].split(",")
        t.eq(last[0], '"(model)"', "csv format: model row")
        t.near(float(last[hdr.index("weight")]), ref["r2"], TOL, "csv format: R² in the model row")
        t.check(all(len(l.split(",")) == 20 for l in lines), "csv format: every row has 20 fields")

    # the table format names every driver and R²
    rc, out, err = cli(t, args, "table format")
    t.check(rc == 0 and "R² = %.3f" % ref["r2"] in out and all(n in out for n in names),
            "table format: R² and every driver", out + err)

    # 2. 30 % missing (empty, NA, n.v.t., and '-' with --missing), rows
    #    without an outcome skipped; pairwise reference
    y2, X2 = make(rng, 600, [0.6, 0.3, 0.15, 0.0, 0.2])
    Xm = X2.copy()
    Xm[rng.random(Xm.shape) < 0.3] = np.nan
    ym = y2.copy()
    ym[rng.random(600) < 0.05] = np.nan
    marks = ["", "NA", "n.v.t.", "-", "N/A"]
    rows = []
    for i in range(600):
        cells = [fmt(v, missing=marks[(i + j) % 5]) for j, v in enumerate(Xm[i])]
        rows.append(cells + [fmt(ym[i], missing="NA")])
    f2 = write(os.path.join(d, "missing.csv"), csv_text(names + ["score"], rows))
    ref2 = reference(ym, Xm)
    base2 = ["--csv", f2, "--outcome", "score", "--drivers", ",".join(names), "--missing", "-",
             "--bootstrap", "0"]
    res = run_json(t, base2, "missing, relweights")
    check_against(t, res, ref2, "relweights", names, "30 % missing, pairwise, relweights")
    if res:
        t.eq(res["rows_without_outcome"], int(np.isnan(ym).sum()), "missing: rows without outcome counted")
        t.eq(res["rows"], 600, "missing: rows read")
    check_against(t, run_json(t, base2 + ["--method", "shapley"], "missing, shapley"), ref2, "shapley",
                  names, "30 % missing, pairwise, shapley")
    rc, out, err = cli(t, base2[:-4] + ["--bootstrap", "0"], "'-' without --missing")
    t.check(rc == 1 and "missing.csv:" in err and "'-' is not a number" in err,
            "without --missing '-', '-' is a bad value named with file:line", err)

    # 3. semicolons with decimal commas (Dutch Excel) give the same figures as 1
    rows = []
    for i in range(400):
        rows.append([str(i)] + [fmt(v, ",") for v in X[i]] + ["ok", fmt(y[i], ",")])
    f3 = write(os.path.join(d, "semicolon.csv"), csv_text(
        ["id"] + names + ["comment", "nps"], rows, sep=";"), bom=True, newline="\r\n")
    check_against(t, run_json(t, ["--csv", f3, "--outcome", "nps", "--drivers", ",".join(names),
                                  "--bootstrap", "0"], "semicolon"), ref, "relweights", names,
                  "semicolon file with decimal commas")

    # 4. a binary outcome and skewed 1-10 ratings
    n4 = 1500
    lat = rng.normal(size=(n4, 4)) + 0.4 * rng.normal(size=(n4, 1))
    X4 = np.clip(np.floor(10.5 - np.exp(-0.8 * lat + 0.3)), 1, 10)
    y4 = ((lat @ np.array([0.9, 0.5, 0.2, 0.0]) + rng.normal(size=n4)) > 0.3).astype(float)
    X4[rng.random(X4.shape) < 0.3] = np.nan
    n4names = ["a", "b", "c", "d"]
    f4 = write(os.path.join(d, "binary.csv"), csv_text(
        n4names + ["promoter"], [[fmt(v) for v in X4[i]] + [fmt(y4[i])] for i in range(n4)]))
    ref4 = reference(y4, X4)
    for m in ("relweights", "shapley"):
        check_against(t, run_json(t, ["--csv", f4, "--outcome", "promoter", "--drivers", "a,b,c,d",
                                      "--bootstrap", "0", "--method", m], "binary " + m),
                      ref4, m, n4names, "binary outcome, skewed 1-10 scales, missing, " + m)

    # 4b. columns far from 0 against their spread (amounts): the CLI centres
    #     them, so the figures are those of the same data near 0
    y4b, X4b = make(rng, 500, [0.4, 0.2, 0.1])
    y4b = y4b + 1e6
    X4b = X4b + np.array([5e6, 0.0, 2e6])
    X4b[rng.random(X4b.shape) < 0.2] = np.nan
    f4b = write(os.path.join(d, "amounts.csv"), csv_text(
        ["revenue", "visits", "speed", "basket"],
        [[fmt(y4b[i])] + [fmt(v) for v in X4b[i]] for i in range(500)]))
    check_against(t, run_json(t, ["--csv", f4b, "--outcome", "revenue", "--drivers", "visits,speed,basket",
                                  "--bootstrap", "0"], "amounts"), reference(y4b, X4b), "relweights",
                  ["visits", "speed", "basket"], "columns around 1e6 (centred)")

    # 5. known ordering with a pure-noise driver; bootstrap seeded
    y5, X5 = make(rng, 2500, [0.5, 0.3, 0.15], noise_cols=1)
    n5 = ["first", "second", "third", "noise"]
    f5 = write(os.path.join(d, "known.csv"), csv_text(
        n5 + ["y"], [[fmt(v) for v in X5[i]] + [fmt(y5[i])] for i in range(2500)]))
    a5 = ["--csv", f5, "--outcome", "y", "--drivers", ",".join(n5), "--bootstrap", "300"]
    for m in ("relweights", "shapley"):
        res = run_json(t, a5 + ["--method", m], "known " + m)
        if not res:
            continue
        dr = res["drivers"]
        t.eq([x["rank"]["value"] for x in dr], [1, 2, 3, 4], "known ordering (%s): ranks 1..4" % m)
        t.eq([x["shown_to_matter"] for x in dr], [True, True, True, False],
             "known ordering (%s): the true drivers are shown to matter, the noise one not" % m)
        t.check(all(x["vs_noise"]["lo"] > 0 for x in dr[:3]) and
                dr[3]["vs_noise"]["lo"] <= 0 <= dr[3]["vs_noise"]["hi"],
                "known ordering (%s): intervals against noise exclude 0 for the true drivers, "
                "include 0 for the noise driver" % m, json.dumps(dr, indent=1)[:3000])
        t.check(all(x["weight"]["lo"] <= x["weight"]["value"] <= x["weight"]["hi"] for x in dr) and
                res["r2"]["lo"] <= res["r2"]["value"] <= res["r2"]["hi"],
                "known ordering (%s): each interval holds its estimate" % m)
        t.eq(res["bootstrap"], {"replicates": 300, "used": 300, "groups": 2500, "seed": 15},
             "known ordering (%s): 300 replicates over 2500 rows (row bootstrap)" % m)
    r1 = run_json(t, a5 + ["--seed", "7"], "seed 7")
    r2 = run_json(t, a5 + ["--seed", "7"], "seed 7 again")
    r3 = run_json(t, a5 + ["--seed", "8"], "seed 8")
    if r1 and r2 and r3:
        t.check(r1 == r2, "the same seed gives the same output")
        t.check(r1["drivers"][0]["weight"]["lo"] != r3["drivers"][0]["weight"]["lo"] and
                r1["r2"]["value"] == r3["r2"]["value"],
                "another seed gives other intervals and the same estimates")

    # 6. --group: one customer's rows are resampled together
    cust = [str(i // 5) for i in range(2500)]
    f6 = write(os.path.join(d, "grouped.csv"), csv_text(
        ["customer"] + n5 + ["y"], [[cust[i]] + [fmt(v) for v in X5[i]] + [fmt(y5[i])]
                                    for i in range(2500)]))
    res = run_json(t, ["--csv", f6, "--outcome", "y", "--drivers", ",".join(n5), "--bootstrap", "50",
                       "--group", "customer"], "grouped")
    if res:
        t.check(400 <= res["bootstrap"]["groups"] <= 500,
                "--group: the units resampled are the 500 customers (hashed to 4096 groups)",
                json.dumps(res["bootstrap"]))

    # ---- errors ----------------------------------------------------------
    def err_case(args, want_rc, needles, what):
        rc, out, err = cli(t, args, what)
        t.check(rc == want_rc and all(s in err for s in needles),
                "%s: exit %d, message names %s" % (what, want_rc, needles), "rc %s\n%s" % (rc, err))

    err_case(["--csv", f1, "--outcome", "nps", "--drivers", "speed,nope"], 1,
             ["complete.csv:1: no column 'nope'"], "unknown driver column")
    err_case(["--csv", f1, "--outcome", "grade", "--drivers", "speed"], 1,
             ["complete.csv:1: no column 'grade'"], "unknown outcome column")
    bad = write(os.path.join(d, "bad.csv"), "nps,speed,price\n9,8,7\n10,x7,6\n")
    err_case(["--csv", bad, "--outcome", "nps", "--drivers", "speed,price"], 1,
             ["bad.csv:3: column 'speed': 'x7' is not a number"], "a bad number")
    lines_ = ["nps,speed,price,comment", '9,8,7,"two\nlines"', "10,7,6,ok", "8,6"]
    short_ = write(os.path.join(d, "short.csv"), "\n".join(lines_) + "\n")
    err_case(["--csv", short_, "--outcome", "nps", "--drivers", "speed,price"], 1,
             ["short.csv:5: 2 fields where the header has 4"], "a short row after a quoted newline")
    quote_ = write(os.path.join(d, "quote.csv"), 'nps,speed\n9,8\n10,"7\n')
    err_case(["--csv", quote_, "--outcome", "nps", "--drivers", "speed"], 1,
             ["quote.csv:3: bad CSV"], "an open quote")
    err_case(["--csv", os.path.join(d, "none.csv"), "--outcome", "nps", "--drivers", "speed"], 1,
             ["none.csv: No such file"], "a missing file")
    few = write(os.path.join(d, "few.csv"), "nps,a,b,c\n1,2,3,4\n2,3,1,5\n3,1,2,2\n4,5,5,1\n")
    err_case(["--csv", few, "--outcome", "nps", "--drivers", "a,b,c"], 1,
             ["few.csv", "need at least 5", "(n)"], "too few rows")
    coll = write(os.path.join(d, "coll.csv"), csv_text(
        ["nps", "speed", "wait", "total"],
        [[fmt(y[i]), fmt(X[i, 0]), fmt(X[i, 1]), fmt(X[i, 0] + X[i, 1])] for i in range(400)]))
    err_case(["--csv", coll, "--outcome", "nps", "--drivers", "speed,wait,total", "--bootstrap", "0"], 1,
             ["collinear", "speed, wait, total"], "collinear drivers named")
    const = write(os.path.join(d, "const.csv"), csv_text(
        ["nps", "speed", "flat"], [[fmt(y[i]), fmt(X[i, 0]), "7"] for i in range(400)]))
    err_case(["--csv", const, "--outcome", "nps", "--drivers", "speed,flat", "--bootstrap", "0"], 1,
             ["flat has the same value in every row"], "a constant driver")
    wide = ",".join("x%d" % i for i in range(16))
    err_case(["--csv", f1, "--outcome", "nps", "--drivers", wide, "--method", "shapley"], 2,
             ["shapley takes at most 15 drivers"], "shapley with 16 drivers")
    err_case(["--csv", f1, "--drivers", "speed"], 2, ["--outcome COL"], "no --outcome")
    err_case(["--csv", f1, "--outcome", "nps", "--drivers", "speed", "--method", "lmg"], 2,
             ["--method wants relweights or shapley"], "bad --method")
    err_case(["--csv", f1, "--outcome", "nps", "--drivers", "speed", "--bootstrap", "-3"], 2,
             ["--bootstrap wants a number"], "bad --bootstrap")
    err_case(["--csv", f1, "--outcome", "nps", "--drivers", "speed,speed"], 2,
             ["named twice"], "a driver named twice")
    err_case(["--csv", f1, "--outcome", "nps", "--drivers", "speed,nps"], 2,
             ["is the outcome"], "the outcome as a driver")
    err_case(["--csv", f1, "--outcome", "nps", "--drivers", "speed", "--format", "xml"], 2,
             ["--format wants"], "bad --format")


if __name__ == "__main__":
    ks.run(main, start_server=False)
