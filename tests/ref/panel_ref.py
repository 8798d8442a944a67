#!/usr/bin/python3
"""panel_ref.py — independent reference for src/governance/links.c (issue 17, L).

Generates a panel (units x months, missing cells, units that start late or stop
early, one unit with a single observation) deterministically and computes, with
numpy only and none of the product's code:
  * the fixed-effects regression hard(u,t+lag) = a_u + b soft(u,t) + e as the
    least-squares regression on unit DUMMIES (numpy.linalg.lstsq), not the
    within transformation the C code uses;
  * its CR1 cluster-robust variance: c * (X'X)^-1 (sum_g X_g'e_g e_g'X_g) (X'X)^-1
    over the full dummy design, c = G/(G-1) (N-1)/(N-2) (Cameron & Miller 2015);
  * t with G-1 df: p and the 95% interval from a t distribution written here
    (regularised incomplete beta by Lentz's continued fraction, the quantile by
    bisection) — not GSL;
  * the within-unit correlation as the correlation of the residuals of soft and
    hard on the dummies (numpy.corrcoef), Fisher-z interval with
    SE = 1/sqrt(N - G - 2) (statistics.NormalDist for the 0.975 quantile);
  * Benjamini-Hochberg (1995) q-values of a list of p-values, from the
    definition q_(i) = min_{j >= i} m p_(j) / j.
Units with fewer than two pairs at a lag are dropped, as the C code documents.

Writes tests/ref/panel_ref.json (checked in); tests/unit/test_governance_links.c
reads the panel and the expected numbers from it. Run:
  /usr/bin/python3 tests/ref/panel_ref.py > tests/ref/panel_ref.json
"""
import json
import math
import statistics
import sys

import numpy as np

SEED = 20261207
N_UNITS = 9
N_PERIODS = 20
TRUE_LAG = 2


def make_panel():
    rng = np.random.default_rng(SEED)
    soft = np.full((N_UNITS, N_PERIODS), np.nan)
    hard = np.full((N_UNITS, N_PERIODS), np.nan)
    for u in range(N_UNITS):
        # unequal lengths: unit u covers months start..stop-1
        start = int(rng.integers(0, 4))
        stop = N_PERIODS - int(rng.integers(0, 4))
        if u == N_UNITS - 1:          # one unit with one month only
            start, stop = 5, 6
        level_s = 20 + 15 * rng.standard_normal()
        level_h = 100 + 30 * rng.standard_normal()
        x = np.zeros(N_PERIODS)
        prev = 0.0
        for t in range(N_PERIODS):   # a drifting soft score (AR(1))
            prev = 0.6 * prev + 5 * rng.standard_normal()
            x[t] = level_s + prev
        for t in range(start, stop):
            soft[u, t] = round(x[t], 6)
            src = t - TRUE_LAG
            base = x[src] - level_s if src >= 0 else 0.0
            hard[u, t] = round(level_h - 0.8 * base + 4 * rng.standard_normal(), 6)
        # missing cells: about one in seven, in either series
        for t in range(N_PERIODS):
            r = rng.random()
            if r < 0.07:
                soft[u, t] = np.nan
            elif r < 0.14:
                hard[u, t] = np.nan
    return soft, hard


def pairs(soft, hard, lag):
    rows = []
    for u in range(soft.shape[0]):
        mine = [(u, t, soft[u, t], hard[u, t + lag])
                for t in range(soft.shape[1] - lag)
                if not np.isnan(soft[u, t]) and not np.isnan(hard[u, t + lag])]
        if len(mine) >= 2:
            rows.extend(mine)
    return rows


# ---- Student's t, written out (Numerical Recipes 6.4 / Lentz) -------------
def betacf(a, b, x):
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            return h
    raise RuntimeError("betacf did not converge")


def betainc(a, b, x):
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(lbt) * betacf(a, b, x) / a
    return 1 - math.exp(lbt) * betacf(b, a, 1 - x) / b


def t_two_sided_p(t, df):
    return betainc(df / 2, 0.5, df / (df + t * t))


def t_quantile_975(df):
    lo, hi = 0.0, 1000.0          # upper tail 0.025 = two-sided 0.05
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_two_sided_p(mid, df) > 0.05:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# ---- the estimators --------------------------------------------------------
def fe_fit(rows):
    units = sorted({r[0] for r in rows})
    G, N = len(units), len(rows)
    X = np.zeros((N, 1 + G))
    y = np.zeros(N)
    for i, (u, _t, s, h) in enumerate(rows):
        X[i, 0] = s
        X[i, 1 + units.index(u)] = 1
        y[i] = h
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    e = y - X @ coef
    bread = np.linalg.inv(X.T @ X)
    meat = np.zeros((1 + G, 1 + G))
    for u in units:
        idx = [i for i, r in enumerate(rows) if r[0] == u]
        sg = X[idx].T @ e[idx]
        meat += np.outer(sg, sg)
    c = G / (G - 1) * (N - 1) / (N - 2)
    V = c * bread @ meat @ bread
    beta, se = coef[0], math.sqrt(V[0, 0])
    df = G - 1
    tc = t_quantile_975(df)
    t = beta / se
    return {"beta": beta, "se": se, "t": t, "p": t_two_sided_p(t, df),
            "lo": beta - tc * se, "hi": beta + tc * se, "df": df}


def within_corr(rows):
    units = sorted({r[0] for r in rows})
    G, N = len(units), len(rows)
    D = np.zeros((N, G))
    for i, r in enumerate(rows):
        D[i, units.index(r[0])] = 1
    x = np.array([r[2] for r in rows])
    y = np.array([r[3] for r in rows])
    rx = x - D @ np.linalg.lstsq(D, x, rcond=None)[0]
    ry = y - D @ np.linalg.lstsq(D, y, rcond=None)[0]
    r = np.corrcoef(rx, ry)[0, 1]
    se = 1 / math.sqrt(N - G - 2)
    zc = statistics.NormalDist().inv_cdf(0.975)
    z = math.atanh(r)
    return {"r": r, "lo": math.tanh(z - zc * se), "hi": math.tanh(z + zc * se)}


def bh(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, m * p[i] / rank)
        q[i] = running
    return q


def main():
    soft, hard = make_panel()
    out = {"seed": SEED, "n_units": N_UNITS, "n_periods": N_PERIODS,
           "soft": [[None if np.isnan(v) else float(v) for v in row] for row in soft],
           "hard": [[None if np.isnan(v) else float(v) for v in row] for row in hard],
           "lags": []}
    for lag in range(7):
        rows = pairs(soft, hard, lag)
        entry = {"lag": lag, "n_pairs": len(rows),
                 "n_units": len({r[0] for r in rows}),
                 "n_periods": len({r[1] for r in rows})}
        entry["fit"] = {k: float(v) for k, v in fe_fit(rows).items()}
        entry["corr"] = {k: float(v) for k, v in within_corr(rows).items()}
        out["lags"].append(entry)
    rng = np.random.default_rng(SEED + 1)
    p = [float(v) for v in np.concatenate([rng.uniform(0, 0.01, 4), rng.uniform(0, 1, 14)])]
    p += [e["fit"]["p"] for e in out["lags"]]
    p.append(p[3])                  # a tie
    out["bh"] = {"p": p, "q": bh(p)}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
