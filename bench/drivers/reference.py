#!/usr/bin/python3
"""bench/drivers/reference.py — the reference of bench/drivers/run: the same
1M x p complete rows (written by drivers_bench as float64 y, x1..xp) analysed
with numpy the textbook way, matrix in memory: np.corrcoef over the rows
(BLAS), Johnson's relative weights by np.linalg.eigh, Shapley over all
2^p subsets by np.linalg.solve, and a row bootstrap (resample the rows,
np.corrcoef, relative weights) for REPS replicates, extrapolated to the
engine's replicate count. Prints "name seconds" lines and the check values."""

import itertools
import math
import sys
import time

import numpy as np

path, p, reps, target = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
D = np.fromfile(path, dtype=np.float64).reshape(-1, p + 1)


def relweights(R):
    Rxx, r = R[1:, 1:], R[1:, 0]
    lam, V = np.linalg.eigh(Rxx)
    L = V @ np.diag(np.sqrt(lam)) @ V.T
    b = np.linalg.solve(L, r)
    return (L ** 2) @ (b ** 2), float(r @ np.linalg.solve(Rxx, r))


t0 = time.perf_counter()
R = np.corrcoef(D, rowvar=False)
t1 = time.perf_counter()
w, r2 = relweights(R)
t2 = time.perf_counter()
print("ref_corr %.4f" % (t1 - t0))
print("ref_relweights_fit %.6f" % (t2 - t1))
print("ref_check_r2 %.6f" % r2)
print("ref_check_weight_1 %.6f" % w[0])

Rxx, r = R[1:, 1:], R[1:, 0]
t0 = time.perf_counter()
r2s = {(): 0.0}
for k in range(1, p + 1):
    for S in itertools.combinations(range(p), k):
        idx = list(S)
        r2s[S] = float(r[idx] @ np.linalg.solve(Rxx[np.ix_(idx, idx)], r[idx]))
phi = np.zeros(p)
for j in range(p):
    for S, v in r2s.items():
        if j in S:
            continue
        k = len(S)
        phi[j] += math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p) * \
            (r2s[tuple(sorted(S + (j,)))] - v)
t1 = time.perf_counter()
print("ref_shapley_fit %.4f" % (t1 - t0))
print("ref_check_shapley_1 %.6f" % phi[0])

rng = np.random.default_rng(15)
n = D.shape[0]
t0 = time.perf_counter()
for _ in range(reps):
    Db = D[rng.integers(0, n, n)]
    relweights(np.corrcoef(Db, rowvar=False))
t1 = time.perf_counter()
print("ref_relweights_boot %.4f" % ((t1 - t0) / reps * target))
