#!/usr/bin/python3
"""bench/attack.py — a second client's /healthz latency while the server is
attacked (issue 11, findings 1, 3, 4). Run through bench/attack, which builds
the release binary and the demo database; see bench/README.md.

For each server binary given (--bin, and --base for a comparison build), in
one run and on the same database, a prober opens a new connection every
PROBE_MS and asks /healthz (5 s timeout: slower counts as lost) while one
scenario runs:

  none          nothing else
  slow-hdr-1    CONNS sockets from one loopback address (127.0.0.2), each
                sending a header line every TRICKLE_S seconds and never
                finishing; a socket the server closes is opened again
  slow-hdr-N    the same from N = ADDRS addresses (127.0.0.2 ...)
  logins        LOGINS threads logging in (argon2id) in a loop
  reports       REPORTS threads asking GET /api/v1/funnel in a loop
  slow-readers  READERS sockets asking for a big breakdown and never reading

and prints p50 / p99 / max latency, probes lost, the server's peak RSS, and
what the attackers saw.
"""

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

BIG = "/api/v1/metrics?group_by=employee,month"


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def healthz_once(port, timeout):
    t0 = time.perf_counter()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.settimeout(max(0.01, timeout - (time.perf_counter() - t0)))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        s.close()
        if buf.startswith(b"HTTP/1.1 200"):
            return time.perf_counter() - t0
    except OSError:
        pass
    return None


class Prober(threading.Thread):
    def __init__(self, port, every):
        super().__init__(daemon=True)
        self.port, self.every = port, every
        self.lat, self.lost = [], 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t0 = time.perf_counter()
            v = healthz_once(self.port, 5.0)
            if v is None:
                self.lost += 1
            else:
                self.lat.append(v)
            rest = self.every - (time.perf_counter() - t0)
            if rest > 0:
                self.stop.wait(rest)


class Rss(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0
        self.stop = threading.Event()

    def now(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.now())
            self.stop.wait(0.1)


# ---- attackers ---------------------------------------------------------------


class SlowHeaders(threading.Thread):
    """n sockets from addrs, a header line every trickle seconds each."""

    def __init__(self, port, n, addrs, trickle):
        super().__init__(daemon=True)
        self.port, self.n, self.addrs, self.trickle = port, n, addrs, trickle
        self.stop = threading.Event()
        self.reopened = 0
        self.socks = []

    def open_one(self, i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((self.addrs[i % len(self.addrs)], 0))
            s.connect_ex(("127.0.0.1", self.port))
        except OSError:
            pass
        # [socket, next send, sent the request line yet]
        return [s, time.time() + (i % 100) * self.trickle / 100.0, False]

    def run(self):
        self.socks = [self.open_one(i) for i in range(self.n)]
        while not self.stop.is_set():
            now = time.time()
            budget = 400  # reopenings per pass: no reconnect storm
            for i, e in enumerate(self.socks):
                s = e[0]
                dead = False
                try:
                    d = s.recv(4096)
                    if d == b"":
                        dead = True
                except BlockingIOError:
                    pass
                except OSError as ex:
                    dead = ex.errno not in (107,)  # ENOTCONN: still connecting
                if not dead and now >= e[1]:
                    try:
                        s.send(b"X-Slow: 1\r\n" if e[2] else b"GET / HTTP/1.1\r\nHost: x\r\n")
                        e[2] = True
                        e[1] = now + self.trickle
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError as ex:
                        dead = ex.errno not in (107, 11)
                if dead and budget > 0:
                    budget -= 1
                    s.close()
                    self.reopened += 1
                    self.socks[i] = self.open_one(i)
            self.stop.wait(0.25)
        for e in self.socks:
            e[0].close()

    def note(self):
        return "%d sockets from %d address(es), %d closed by the server and reopened" % (
            self.n, len(self.addrs), self.reopened)


def login_body(email, password):
    return json.dumps({"email": email, "password": password})


class Logins(threading.Thread):
    def __init__(self, port, email, password, n):
        super().__init__(daemon=True)
        self.port, self.email, self.password, self.n = port, email, password, n
        self.stop = threading.Event()
        self.status = {}
        self.lock = threading.Lock()

    def one(self):
        while not self.stop.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                c.request("POST", "/api/v1/auth/login", login_body(self.email, self.password),
                          {"Content-Type": "application/json"})
                st = c.getresponse().status
                c.close()
            except OSError:
                st = "error"
            with self.lock:
                self.status[st] = self.status.get(st, 0) + 1

    def run(self):
        ths = [threading.Thread(target=self.one, daemon=True) for _ in range(self.n)]
        for t in ths:
            t.start()
        self.stop.wait()
        for t in ths:
            t.join(70)

    def note(self):
        return "%d threads; answers %s" % (self.n, dict(sorted(self.status.items(), key=str)))


class Reports(Logins):
    def __init__(self, port, cookie, n, path="/api/v1/funnel"):
        super().__init__(port, None, None, n)
        self.cookie, self.path = cookie, path

    def one(self):
        while not self.stop.is_set():
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                c.request("GET", self.path, headers={"Cookie": self.cookie})
                r = c.getresponse()
                r.read()
                st = r.status
                c.close()
            except OSError:
                st = "error"
            with self.lock:
                self.status[st] = self.status.get(st, 0) + 1


class SlowReaders(threading.Thread):
    def __init__(self, port, cookie, n, path):
        super().__init__(daemon=True)
        self.port, self.cookie, self.n, self.path = port, cookie, n, path
        self.stop = threading.Event()
        self.status = {}

    def run(self):
        socks = []
        for _ in range(self.n):
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.bind(("127.0.0.2", 0))  # not the prober's address
                s.connect(("127.0.0.1", self.port))
                s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n" % (self.path, self.cookie)).encode())
                socks.append(s)
            except OSError:
                pass
        self.stop.wait()
        for s in socks:  # what did they get? (the first bytes only)
            s.settimeout(0.2)
            try:
                m = re.match(rb"HTTP/1\.1 (\d+)", s.recv(64))
                st = int(m.group(1)) if m else "closed"
            except OSError:
                st = "closed"
            self.status[st] = self.status.get(st, 0) + 1
            s.close()

    def note(self):
        return "%d readers of %s; first bytes: %s" % (self.n, self.path, dict(sorted(self.status.items(), key=str)))


# ---- one server ----------------------------------------------------------------


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(binary, db, extra, log):
    port = free_port()
    p = subprocess.Popen([binary, "serve", "--db", db, "--listen", "127.0.0.1:%d" % port, "--quiet"] + extra,
                         stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if p.poll() is not None:
            sys.exit("%s exited with %s" % (binary, p.returncode))
        if healthz_once(port, 1.0) is not None:
            return p, port
        time.sleep(0.1)
    p.kill()
    sys.exit("%s did not answer /healthz" % binary)


def login_cookie(port, email, password):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/api/v1/auth/login", login_body(email, password), {"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("login as %s: %s" % (email, r.status))
    m = re.search(r"(ks_session=[^;]+)", r.getheader("Set-Cookie") or "")
    return m.group(1)


def settle(port, seconds=30):
    """Wait until /healthz answers quickly again."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = healthz_once(port, 2.0)
        if v is not None and v < 0.05:
            return
        time.sleep(0.2)


def run_binary(label, binary, db, extra, args, rows):
    log = open(os.path.join(args.tmp, "server-%s.log" % label), "wb")
    p, port = start(binary, db, extra, log)
    cookie = login_cookie(port, args.email, args.password)
    # warm the report cache and the page cache once
    healthz_once(port, 5.0)
    addrs = ["127.0.0.%d" % (2 + i) for i in range(args.addrs)]
    scenarios = [
        ("none", lambda: None),
        ("slow-hdr-1", lambda: SlowHeaders(port, args.conns, addrs[:1], args.trickle)),
        ("slow-hdr-%d" % len(addrs), lambda: SlowHeaders(port, args.conns, addrs, args.trickle)),
        ("logins", lambda: Logins(port, args.email, args.password, args.logins)),
        ("reports", lambda: Reports(port, cookie, args.reports)),
        ("slow-readers", lambda: SlowReaders(port, cookie, args.readers, BIG)),
    ]
    only = set(args.only.split(",")) if args.only else None
    for name, make in scenarios:
        if only and name not in only and not any(name.startswith(x + "-") for x in only):
            continue
        settle(port)
        rss = Rss(p.pid)
        rss.start()
        att = make()
        if att:
            att.start()
            time.sleep(args.warmup)
        # The prober runs in a process of its own: the attackers' threads
        # must not delay it (one interpreter lock).
        pr = subprocess.run([sys.executable, os.path.abspath(__file__), "--probe", str(port),
                             "--duration", str(args.duration), "--probe-ms", str(args.probe_ms),
                             "--bin", "-", "--db", "-"], capture_output=True, text=True)
        res = json.loads(pr.stdout)
        if att:
            att.stop.set()
            att.join(90)
        rss.stop.set()
        rss.join()
        rows.append((label, name, res["lat"], res["lost"], rss.peak, att.note() if att else ""))
        print_row(rows[-1], args)
    p.terminate()
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
    log.close()


def fmt_ms(v):
    return "-" if v != v else ("%.1f" % (v * 1000) if v < 10 else "%.0f" % (v * 1000))


HEADER = "%-8s %-13s %9s %9s %9s %6s %8s  %s" % ("server", "scenario", "p50 ms", "p99 ms", "max ms",
                                                "lost", "peak MB", "attackers")


def print_row(r, args):
    label, name, lat, lost, peak, note = r
    print("%-8s %-13s %9s %9s %9s %6d %8.0f  %s" % (label, name, fmt_ms(pct(lat, 50)), fmt_ms(pct(lat, 99)),
                                                     fmt_ms(max(lat) if lat else float("nan")), lost,
                                                     peak / 1048576.0, note), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--base", help="a second binary to compare (e.g. built before the fix)")
    ap.add_argument("--db", required=True, help="demo database (klantstem demo --db)")
    ap.add_argument("--base-db", help="the demo database built by --base (default --db)")
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--email", default="admin@demo.klantstem")
    ap.add_argument("--password", default="klantstem-demo")
    ap.add_argument("--duration", type=float, default=float(os.environ.get("DURATION", 10)))
    ap.add_argument("--warmup", type=float, default=float(os.environ.get("WARMUP", 4)))
    ap.add_argument("--probe-ms", type=float, default=float(os.environ.get("PROBE_MS", 50)))
    ap.add_argument("--conns", type=int, default=int(os.environ.get("CONNS", 4100)))
    ap.add_argument("--addrs", type=int, default=int(os.environ.get("ADDRS", 41)))
    ap.add_argument("--trickle", type=float, default=float(os.environ.get("TRICKLE_S", 10)))
    ap.add_argument("--logins", type=int, default=int(os.environ.get("LOGINS", 32)))
    ap.add_argument("--reports", type=int, default=int(os.environ.get("REPORTS", 4)))
    ap.add_argument("--readers", type=int, default=int(os.environ.get("READERS", 300)))
    ap.add_argument("--only", default=os.environ.get("ONLY", ""))
    ap.add_argument("--extra", default=os.environ.get("EXTRA", ""), help="extra serve options for --bin")
    ap.add_argument("--probe", type=int, help=argparse.SUPPRESS)  # internal: probe this port
    args = ap.parse_args()
    if args.probe:
        pr = Prober(args.probe, args.probe_ms / 1000.0)
        pr.start()
        time.sleep(args.duration)
        pr.stop.set()
        pr.join()
        print(json.dumps({"lat": pr.lat, "lost": pr.lost}))
        return
    print(HEADER, flush=True)
    rows = []
    if args.base:
        run_binary("base", args.base, args.base_db or args.db, [], args, rows)
    run_binary("new", args.bin, args.db, args.extra.split() if args.extra else [], args, rows)


if __name__ == "__main__":
    main()
