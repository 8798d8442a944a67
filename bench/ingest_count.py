#!/usr/bin/python3
"""bench/ingest_count.py — instructions per acknowledged POST /api/v1/responses,
counted with callgrind (a firm figure where wall-clock rates are noisy).

  /usr/bin/python3 bench/ingest_count.py [--bin build/release/klantstem]
        [--db URI] [-n 1000] [--warm 300] [--clients 8] [--keep]

Starts `klantstem serve` under `valgrind --tool=callgrind --instr-atstart=no
--separate-threads=yes` on a fresh database (a temporary SQLite file, or the
postgres:// URI given with --db: a database that may be written to), creates
an admin with a token, a journey and a touchpoint, posts --warm responses of
bench/ingest.lua's shape (unique client_key, nps = i % 11, grade =
1 + 7i % 10), switches instrumentation on, posts -n more from --clients
threads, switches it off and dumps. Prints instructions per response for
the whole server, for the group-commit writer thread (the thread whose
profile holds sq_writer_main) and for the closed loop inside it
(sq_cases_for_response, inclusive), plus rows per batch from the shutdown
line.
"""
import argparse
import glob
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/release/klantstem")
ap.add_argument("--db", default="")
ap.add_argument("-n", type=int, default=1000)
ap.add_argument("--warm", type=int, default=300)
ap.add_argument("--clients", type=int, default=8)
ap.add_argument("--keep", action="store_true")
ap.add_argument("--top", type=int, default=0, help="also print the writer's top N functions (inclusive)")
a = ap.parse_args()

work = tempfile.mkdtemp(prefix="ks-count.")
db = a.db or os.path.join(work, "bench.db")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(*args, inp=None):
    return subprocess.run(args, input=inp, capture_output=True, text=True, check=True).stdout


run(a.bin, "migrate", "--db", db)
out = run(a.bin, "user", "add", "--db", db, "--email", "bench@bench.local", "--name", "Bench",
          "--role", "admin", "--token", "bench", inp="bench-password-1\n")
token = re.search(r"^token: (\S+)", out, re.M).group(1)
port = free_port()
srv = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
                        "--callgrind-out-file=" + os.path.join(work, "cg.out.%p"),
                        a.bin, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port, "--quiet"],
                       stdout=open(os.path.join(work, "stdout.log"), "w"),
                       stderr=open(os.path.join(work, "stderr.log"), "w"))


def call(conn, method, path, body):
    conn.request(method, path, body=json.dumps(body),
                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


for _ in range(600):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", "/healthz")
        if c.getresponse().status == 200:
            break
    except OSError:
        time.sleep(0.2)
else:
    sys.exit("server did not come up: " + open(os.path.join(work, "stderr.log")).read())

c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
st, b = call(c, "POST", "/api/v1/journeys", {"name": "Bench journey"})
jid = json.loads(b)["id"]
st, b = call(c, "POST", "/api/v1/touchpoints", {"journey_id": jid, "name": "Bench touchpoint"})
tp = json.loads(b)["id"]
failures = []


def post_range(lo, hi, step):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    for i in range(lo, hi, step):
        st, body = call(conn, "POST", "/api/v1/responses",
                        {"client_key": "cnt-%d" % i, "touchpoint_id": tp, "language": "nl",
                         "answers": {"nps": i % 11, "grade": 1 + (i * 7) % 10}})
        if st // 100 != 2:
            failures.append((st, body[:200]))


def load(lo, hi):
    ts = [threading.Thread(target=post_range, args=(lo + k, hi, a.clients)) for k in range(a.clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


load(0, a.warm)
subprocess.run(["callgrind_control", "-i", "on", str(srv.pid)], capture_output=True, check=True)
load(a.warm, a.warm + a.n)
subprocess.run(["callgrind_control", "-i", "off", str(srv.pid)], capture_output=True, check=True)
subprocess.run(["callgrind_control", "-d", str(srv.pid)], capture_output=True, check=True)
srv.terminate()
srv.wait(timeout=120)
if failures:
    print("non-2xx replies:", len(failures), failures[0])

# the dump of -d (the ".1" part files); callgrind also writes a final dump
# at exit, which holds nothing counted (instrumentation was off)
total = 0
writer = None
loop = None
top = []
for f in sorted(glob.glob(os.path.join(work, "cg.out.*"))):
    text = open(f).read()
    # "summary:" is 0 in a dump with --instr-atstart=no; "totals:" holds the count
    m = re.search(r"^totals: (\d+)", text, re.M)
    if not m:
        continue
    n = int(m.group(1))
    total += n
    if "sq_writer_main" in text and n > 0:
        writer = (writer or 0) + n
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", f],
                             capture_output=True, text=True).stdout
        for line in ann.splitlines():
            mm = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S*:(\S+)", line) or re.match(r"\s*([\d,]+)\s+\S*:(\S+)", line)
            if not mm:
                continue
            v = int(mm.group(1).replace(",", ""))
            # the same function shows under several names (.part.0, both
            # paths of its file): the largest inclusive figure is the call
            if mm.group(2).startswith("sq_cases_for_response"):
                loop = max(loop or 0, v)
            top.append((v, mm.group(2)))
print("responses counted: %d (%d clients), database: %s" % (a.n, a.clients, "PostgreSQL" if a.db else "SQLite"))
print("instructions per response: server %.0f, writer thread %s, closed loop in it %s" % (
    total / a.n, "%.0f" % (writer / a.n) if writer else "?", "%.0f" % (loop / a.n) if loop else "?"))
gc = re.findall(r"group commit[^\n]*", open(os.path.join(work, "stderr.log")).read() +
                open(os.path.join(work, "stdout.log")).read())
if gc:
    print(gc[-1])
if a.top:
    seen = set()
    for v, fn in sorted(top, reverse=True):
        if fn in seen:
            continue
        seen.add(fn)
        print("%10.0f  %s" % (v / a.n, fn))
        if len(seen) >= a.top:
            break
if a.keep:
    print("kept", work)
else:
    shutil.rmtree(work)
