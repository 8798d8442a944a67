"""test_attack.py — issue 11, findings 1, 3 and 4, and the HTTP layer's
"low" items (src/http/guard.c, pool.c, addr.c, headers.c; docs/SECURITY.md):

1. slow headers: ~500 sockets from other loopback addresses (Linux answers
   all of 127/8) trickle a header line every half second against a limit
   of 300; a fresh client from 127.0.0.1 still gets /healthz (the reserve
   evicts the oldest tricklers), and every attacking socket is closed by
   the head deadline (shortened with --http-limit);
2. the per-address limit: past it, connections from that address are cut
   at once while another address is served;
3. the slow pool: many parallel logins while /healthz is answered; with a
   one-thread pool and a queue of two, the overflow gets 503 with the JSON
   error envelope and Retry-After;
4. slow readers: with a small reply budget, big replies held by clients
   that do not read make the next big reply a 503 (small ones still pass);
   the budget comes back when they go; a reader that does not read is cut
   by the reply deadline;
5. --trusted-proxy: the login throttle counts the right-most untrusted
   X-Forwarded-For address behind a trusted proxy, the peer otherwise;
6. security headers by kind of reply: API JSON and CSV, the UI's HTML, and
   the public pages /s/{token} and /u/{token} (strict CSP whose style hashes
   match the page's own <style>, frame-ancestors 'none', no-referrer).

Only generous liveness bounds are timed here; latency belongs in
bench/attack.
"""

import base64
import hashlib
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

HEAD_TIMEOUT = 3


def sock_from(src, port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_now(s, wait):
    """True when the server closed s (EOF or reset) within wait seconds."""
    s.settimeout(wait)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def healthz(port, src="127.0.0.1", timeout=5.0):
    """GET /healthz on a new connection from src: the status, or an error text."""
    try:
        s = sock_from(src, port)
        s.settimeout(timeout)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(4096)
            if not d:
                break
            buf += d
        s.close()
        m = re.match(rb"HTTP/1\.1 (\d+)", buf)
        return int(m.group(1)) if m else "no answer: %r" % buf[:80]
    except OSError as ex:
        return "error: %s" % ex


# ---------------------------------------------------------------------------
# 1 and 2: connections


def test_slow_headers(t, srv):
    """494 trickling sockets from 13 addresses (38 each: under the
    per-address limit) against a limit of 300 - more than libmicrohttpd's
    own limit (450) would take: only the reserve's evictions keep room."""
    addrs = ["127.0.0.%d" % i for i in range(2, 15)]
    socks = []
    opened = []
    refused = 0
    for i in range(494):
        try:
            s = sock_from(addrs[i % len(addrs)], srv.port)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            s.setblocking(False)
            socks.append(s)
            opened.append(time.time())
        except OSError:
            refused += 1
    stop = threading.Event()
    alive_at_end = [0]

    def trickle():
        while not stop.is_set():
            n = 0
            for s in socks:
                try:
                    s.send(b"X-Slow: 1\r\n")
                    n += 1
                except OSError:
                    pass
            alive_at_end[0] = n
            stop.wait(0.5)

    th = threading.Thread(target=trickle)
    th.start()
    try:
        time.sleep(0.5)
        answers = [healthz(srv.port) for _ in range(3)]
        t.check(all(a == 200 for a in answers),
                "slow headers: a fresh client gets /healthz 200 during the attack", repr(answers))
        # the deadline: every attacking socket is closed within
        # head_timeout (+ the sweeper's tick and generous slack)
        deadline = max(opened) + HEAD_TIMEOUT + 5
        open_left = list(socks)
        while open_left and time.time() < deadline:
            time.sleep(0.25)
            still = []
            for s in open_left:
                try:
                    d = s.recv(4096)
                    if d:
                        still.append(s)  # an answer? keep watching
                except BlockingIOError:
                    still.append(s)
                except OSError:
                    pass
            open_left = still
        t.check(not open_left, "slow headers: every trickling socket is closed by the head deadline",
                "%d of %d still open %.1f s after the last one opened" %
                (len(open_left), len(socks), time.time() - max(opened)))
        t.check(healthz(srv.port) == 200, "slow headers: /healthz 200 after the attack")
    finally:
        stop.set()
        th.join()
        for s in socks:
            s.close()


def test_per_address(t, srv):
    socks = [sock_from("127.0.0.20", srv.port) for _ in range(50)]
    try:
        time.sleep(0.3)
        cut = [s for s in socks if closed_now(s, 0.05)]
        t.check(len(cut) >= 10, "per address: past 40 connections from one address, more are cut at once",
                "%d of 50 cut" % len(cut))
        t.check(len(cut) <= 12, "per address: the first 40 stay open", "%d of 50 cut" % len(cut))
        t.eq(healthz(srv.port, "127.0.0.21"), 200, "per address: another address is served meanwhile")
        t.eq(healthz(srv.port, "127.0.0.20"), "no answer: b''",
             "per address: one more from the full address gets no answer")
    finally:
        for s in socks:
            s.close()
    time.sleep(0.5)
    t.eq(healthz(srv.port, "127.0.0.20"), 200, "per address: served again once its connections are gone")


# ---------------------------------------------------------------------------
# 5: trusted proxy


def login_fail(srv, email, src="127.0.0.1", xff=None):
    body = json.dumps({"email": email, "password": "wrong-password-1"}).encode()
    head = ("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\nConnection: close\r\n" % len(body))
    if xff:
        head += "X-Forwarded-For: %s\r\n" % xff
    s = sock_from(src, srv.port)
    s.settimeout(30)
    s.sendall(head.encode() + b"\r\n" + body)
    buf = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
    s.close()
    m = re.match(rb"HTTP/1\.1 (\d+)", buf)
    return int(m.group(1)) if m else None


def test_trusted_proxy(t, srv):
    """The server trusts 127.0.0.1 (and not 127.0.0.3). Five failures of one
    account from one client address throttle that pair (429)."""
    email = "nobody-%s@test.local" % ks.uniq("tp")
    for _ in range(5):
        login_fail(srv, email, xff="198.51.100.7")
    t.eq(login_fail(srv, email, xff="198.51.100.7"), 429,
         "trusted proxy: the client behind the proxy is throttled after five failures")
    t.eq(login_fail(srv, email, xff="203.0.113.5, 198.51.100.7"), 429,
         "trusted proxy: an address the client wrote left of it does not escape the throttle")
    t.eq(login_fail(srv, email, xff="198.51.100.8"), 401,
         "trusted proxy: another client behind the same proxy is not throttled")
    t.eq(login_fail(srv, email, xff="198.51.100.8, 127.0.0.1"), 401,
         "trusted proxy: trusted hops on the right are skipped (the client is .8)")
    # a peer that is not trusted: its X-Forwarded-For means nothing
    email2 = "nobody-%s@test.local" % ks.uniq("tp")
    for i in range(5):
        login_fail(srv, email2, src="127.0.0.3", xff="198.51.100.%d" % (20 + i))
    t.eq(login_fail(srv, email2, src="127.0.0.3", xff="198.51.100.99"), 429,
         "trusted proxy: an untrusted peer is the client whatever X-Forwarded-For says")


# ---------------------------------------------------------------------------
# 6: security headers


def page_style_hashes(html):
    return ["'sha256-%s'" % base64.b64encode(hashlib.sha256(m.encode()).digest()).decode()
            for m in re.findall(r"<style>(.*?)</style>", html, re.S)]


def check_public_page(t, what, st, hd, body):
    csp = hd.get("Content-Security-Policy") or ""
    t.check("frame-ancestors 'none'" in csp and "default-src 'none'" in csp,
            "headers: %s has a strict CSP with frame-ancestors 'none'" % what, "status %s, CSP %r" % (st, csp))
    t.check("unsafe-inline" not in csp and "script-src" not in csp,
            "headers: %s allows no inline style or script by default" % what, csp)
    hashes = page_style_hashes(body if isinstance(body, str) else "")
    t.check(hashes and all(h in csp for h in hashes),
            "headers: %s: the CSP names the SHA-256 of the page's own <style> (the page keeps its look)" % what,
            "hashes %r, CSP %r" % (hashes, csp))
    t.eq(hd.get("Referrer-Policy"), "no-referrer", "headers: %s sends no referrer (the token is in the URL)" % what)
    t.eq(hd.get("X-Frame-Options"), "DENY", "headers: %s X-Frame-Options DENY" % what)
    t.eq(hd.get("Cache-Control"), "no-store", "headers: %s is not stored by caches" % what)
    t.eq(hd.get("X-Content-Type-Options"), "nosniff", "headers: %s nosniff" % what)


def test_headers(t, srv):
    f = ks.base_fixture(srv)
    c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f["emp1"]["id"]})
    for path, what in (("/healthz", "API JSON"), ("/api/v1/metrics?format=csv", "API CSV"),
                       ("/api/v1/no-such-thing", "API error")):
        st, hd, body = srv.get(path)
        csp = hd.get("Content-Security-Policy") or ""
        t.check("default-src 'none'" in csp and "frame-ancestors 'none'" in csp,
                "headers: %s (%s) carries a CSP that allows nothing" % (what, path), "status %s CSP %r" % (st, csp))
        for k, v in (("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"),
                     ("X-Frame-Options", "DENY")):
            t.eq(hd.get(k), v, "headers: %s %s: %s" % (what, k, v))
    st, hd, _ = srv.get("/", auth=False)
    csp = hd.get("Content-Security-Policy") or ""
    t.check(st == 200 and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp,
            "headers: the UI's HTML keeps its own CSP", "status %s CSP %r" % (st, csp))
    st, hd, body = srv.get("/s/" + c["token"], auth=False)
    t.eq(st, 200, "headers: the survey page answers")
    check_public_page(t, "GET /s/{token}", st, hd, body)
    st, hd, body = srv.get("/s/" + "Z" * 32, auth=False)
    check_public_page(t, "GET /s/{unknown} (404 page)", st, hd, body)
    st, hd, body = srv.get("/u/" + c["token"], auth=False)
    check_public_page(t, "GET /u/{token}", st, hd, body)
    st, hd, body = srv.form("/s/" + c["token"], {"nps": "9"})
    check_public_page(t, "POST /s/{token} (thank-you page)", st, hd, body)


# ---------------------------------------------------------------------------
# 3: the slow pool


def admin_email(srv):
    st, _, me = srv.get("/api/v1/auth/me")
    if st != 200:
        raise ks.FixtureError("GET /api/v1/auth/me -> %s %s" % (st, ks.short(me)))
    return (me.get("user") or me)["email"]


def parallel_logins(srv, email, n):
    out = [None] * n

    def go(i):
        try:
            out[i] = srv.request("POST", "/api/v1/auth/login",
                                 {"email": email, "password": ks.ADMIN_PASSWORD}, auth=False, timeout=60)
        except OSError as ex:
            out[i] = ("error", str(ex), None)

    ths = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for th in ths:
        th.start()
    return ths, out


def test_pool(t, srv):
    email = admin_email(srv)
    ths, out = parallel_logins(srv, email, 16)
    answers = []
    while any(th.is_alive() for th in ths) and len(answers) < 20:
        answers.append(healthz(srv.port, timeout=10))
        time.sleep(0.05)
    for th in ths:
        th.join()
    t.check(answers and all(a == 200 for a in answers),
            "pool: /healthz is answered while 16 logins hash (%d probes)" % len(answers), repr(answers))
    st = [r[0] for r in out]
    t.check(all(s in (200, 503) for s in st) and 200 in st,
            "pool: every login gets 200 or 503 (the queue holds 2)", repr(st))
    busy = [r for r in out if r[0] == 503]
    t.check(busy, "pool: a burst past the queue gets 503", repr(st))
    if busy:
        t.error(busy[0], 503, "unavailable", name="pool: the 503 carries the JSON error envelope")
        t.check((busy[0][1].get("Retry-After") or "").isdigit(), "pool: the 503 says Retry-After",
                repr(dict(busy[0][1])))
    st, _, body = srv.request("POST", "/api/v1/auth/login", {"email": email, "password": ks.ADMIN_PASSWORD},
                              auth=False)
    t.eq(st, 200, "pool: a login after the burst succeeds")
    st, _, body = srv.get("/api/v1/funnel")
    t.eq(st, 200, "pool: a report route (funnel) answers through the pool")


# ---------------------------------------------------------------------------
# 4: slow readers


BIG = "/api/v1/responses?limit=500"


def start_big(srv, src="127.0.0.1"):
    """Request BIG and never read: a tiny receive buffer keeps the reply in
    the server."""
    s = sock_from(src, srv.port, rcvbuf=2048)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
               % (BIG, srv.token)).encode())
    return s


def test_slow_readers(t, srv):
    st, _, body = srv.get(BIG)
    size = len(json.dumps(body))
    t.check(st == 200 and size > 120000, "budget: the big reply is big (%d bytes)" % size, ks.got(st, str(body)[:100]))
    held = [start_big(srv), start_big(srv)]
    try:
        time.sleep(1.0)
        st, hd, body = srv.get(BIG)
        t.error((st, hd, body), 503, "unavailable",
                name="budget: with two big replies unread, the next big reply is a 503 envelope")
        t.check((hd.get("Retry-After") or "").isdigit(), "budget: the 503 says Retry-After")
        t.eq(healthz(srv.port), 200, "budget: small replies still pass")
    finally:
        for s in held:
            s.close()
    time.sleep(1.0)
    st, _, _ = srv.get(BIG)
    t.eq(st, 200, "budget: once the slow readers are gone the big reply is served again")
    # the reply deadline: 2 s (+ size at 1 GB/s): a reader that does not read is cut
    s = start_big(srv)
    try:
        time.sleep(5.0)
        got = 0
        s.settimeout(5)
        cut = False
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    cut = True
                    break
                got += len(d)
        except socket.timeout:
            pass
        except OSError:
            cut = True
        t.check(cut and got < size, "budget: a reader that does not read is cut by the reply deadline",
                "cut %s after %d of ~%d bytes" % (cut, got, size))
    finally:
        s.close()


def test_pool_suspend(t, srv):
    """Every route on the pool (slow_all=1): handlers that suspend for the
    database writer (contacts, responses) still answer."""
    f = ks.base_fixture(srv)
    c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f["emp1"]["id"]})
    t.check(c.get("id"), "pool+writer: POST /contacts (suspended for the writer on a pool thread) -> 201")
    body = {"contact_id": c["id"], "answers": {"nps": 9}, "client_key": ks.uniq("k")}
    st, _, r = srv.post("/api/v1/responses", body)
    t.eq(st, 201, "pool+writer: POST /responses from the pool -> 201")
    st, _, r2 = srv.post("/api/v1/responses", body)
    t.eq(st, 200, "pool+writer: the same again -> 200 (idempotent)")
    out = [None] * 8

    def go(i):
        cc = srv.create("contacts", {"customer_id": f["cust_en"]["id"], "touchpoint_id": f["tp2"]["id"],
                                     "channel": "email"})
        out[i] = srv.post("/api/v1/responses", {"contact_id": cc["id"], "answers": {"nps": i}})[0]

    ths = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    t.check(all(s == 201 for s in out), "pool+writer: eight parallel writes through the pool -> 201", repr(out))


def main(t):
    # Server A: a fresh database, tight connection limits.
    a = ks.Server(t, args=["--http-limit", "connections=300", "--http-limit", "reserve=50",
                           "--http-limit", "per_address=40", "--http-limit", "head_timeout=%d" % HEAD_TIMEOUT,
                           "--trusted-proxy", "127.0.0.1,10.0.0.0/8"])
    try:
        t.healthz(a.start(), "server A starts")
        test_headers(t, a)
        test_per_address(t, a)
        test_slow_headers(t, a)
        test_trusted_proxy(t, a)
        a.stop()
        m = re.search(r"http guard: (\d+) refused \(address limit\), (\d+) refused \(full\), (\d+) evicted, "
                      r"(\d+) cut \(head\)", a.stderr())
        t.check(m is not None, "server A logs the guard's counts at stop", a.stderr()[-600:])
        if m:
            t.check(int(m.group(1)) >= 10, "guard log: connections refused over the address limit", m.group(0))
            t.check(int(m.group(3)) >= 100, "guard log: the reserve evicted the oldest trickling connections",
                    m.group(0))
            t.check(int(m.group(4)) >= 1, "guard log: connections cut at the head deadline", m.group(0))
    finally:
        a.cleanup()
    # Server C: every route on the slow pool.
    c = ks.Server(t, args=["--http-limit", "slow_all=1"])
    try:
        t.healthz(c.start(), "server C (slow_all) starts")
        test_pool_suspend(t, c)
        c.stop()
    finally:
        c.cleanup()
    # Server B: the demo organisation (big replies, reports), a one-thread
    # pool with a queue of two, a small reply budget.
    b = ks.Server(t, args=["--http-limit", "slow_workers=1", "--http-limit", "slow_queue=2",
                           "--http-limit", "reply_budget=300000", "--http-limit", "reply_budget_address=300000",
                           "--http-limit", "reply_timeout=2", "--http-limit", "reply_min_rate=1000000000",
                           "--http-limit", "sndbuf=4096"])
    try:
        rc, out, err = ks.run_cli(["demo", "--db", b.db, "--scale", "5"], timeout=300)
        if rc != 0:
            raise ks.FixtureError("demo --scale 5: rc %s %s" % (rc, err[-2000:]))
        t.healthz(b.start(), "server B (demo data) starts")
        test_pool(t, b)
        test_slow_readers(t, b)
        b.stop()
    finally:
        b.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
