#!/usr/bin/python3
"""bench/ops/run.py — what the Prometheus counters (issue 18, src/http/prom.c)
cost on a hot route: the same server binary with and without
--metrics-listen (without it nothing is counted), loaded by wrk over
loopback, rounds alternating A/B/A/B so drift on a shared machine hits both.
Prints one table row per configuration: requests/s (median of the rounds),
wrk's latency p50 and p99, and the ratio to the run without metrics.

  KS_BIN=build/release/klantstem ROUNDS=3 DURATION=5s CONNECTIONS=32 \
  ROUTES=/healthz,/api/v1/auth/me /usr/bin/python3 bench/ops/run.py

Needs wrk (Debian package wrk).
"""
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KS_BIN = os.environ.get("KS_BIN", os.path.join(ROOT, "build/release/klantstem"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = os.environ.get("DURATION", "5s")
CONNECTIONS = os.environ.get("CONNECTIONS", "32")
THREADS = os.environ.get("THREADS", "2")
ROUTES = os.environ.get("ROUTES", "/healthz,/api/v1/auth/me").split(",")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(db, metrics):
    port = free_port()
    args = [KS_BIN, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port, "--quiet", "--web-root", ""]
    mport = None
    if metrics:
        mport = free_port()
        args += ["--metrics-listen", "127.0.0.1:%d" % mport]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1).read()
            return p, port, mport
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit("bench/ops: the server did not start")


def unit_ms(v, u):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]


def wrk(port, path, token):
    out = subprocess.run(["wrk", "-t", THREADS, "-c", CONNECTIONS, "-d", DURATION, "--latency",
                          "-H", "Authorization: Bearer " + token, "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {m.group(1): unit_ms(m.group(2), m.group(3))
           for m in re.finditer(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    non2 = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat.get("50"), lat.get("99"), int(non2.group(1)) if non2 else 0


def main():
    d = tempfile.mkdtemp(prefix="ks-bench-ops-")
    db = os.path.join(d, "bench.db")
    subprocess.run([KS_BIN, "migrate", "--db", db], check=True, capture_output=True)
    out = subprocess.run([KS_BIN, "user", "add", "--db", db, "--email", "bench@bench.local", "--name", "Bench",
                          "--role", "admin", "--token", "bench"], capture_output=True, text=True,
                         env=dict(os.environ, KLANTSTEM_PASSWORD="bench-password-1"), check=True).stdout
    token = re.search(r"^token: (\S+)", out, re.M).group(1)
    res = {}
    for r in range(ROUNDS):
        for metrics in (False, True):
            p, port, mport = start(db, metrics)
            try:
                for path in ROUTES:
                    res.setdefault((path, metrics), []).append(wrk(port, path, token))
                if metrics:  # the counts are real: one scrape per round
                    txt = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport).read().decode()
                    assert "klantstem_http_requests_total" in txt
            finally:
                p.terminate()
                p.wait()
    print("bench/ops: %s, %d rounds x %s, wrk -t%s -c%s, loopback, %d cores" %
          (os.path.basename(KS_BIN), ROUNDS, DURATION, THREADS, CONNECTIONS, os.cpu_count()))
    print("%-18s %-16s %12s %9s %9s %8s %8s" % ("route", "metrics", "req/s (med)", "p50 ms", "p99 ms", "ratio", "non-2xx"))
    for path in ROUTES:
        base = statistics.median(x[0] for x in res[(path, False)])
        for metrics in (False, True):
            xs = res[(path, metrics)]
            rps = statistics.median(x[0] for x in xs)
            print("%-18s %-16s %12.0f %9.3f %9.3f %8.3f %8d" % (
                path, "--metrics-listen" if metrics else "off", rps, statistics.median(x[1] for x in xs),
                statistics.median(x[2] for x in xs), rps / base, sum(x[3] for x in xs)))


main()
