"""test_hardening.py — the low-severity findings of issue 11, one test each:

1. every /api/v1 reply (JSON, CSV, errors) carries Cache-Control: no-store;
   static files keep their own caching;
2. only the UI's files leave the web root (/, /index.html, /js/, /css/,
   /img/, /vendor/): package.json, package-lock.json, node_modules are 404;
3. control characters, '"' and '\\' in the path are escaped in the access
   log (no forged log lines);
4. more than 100 query arguments -> 431, an over-long URL -> 414, both fast
   and with the JSON error envelope;
5. a body announced above 1 MiB gets a 413 envelope, not a reset.
"""

import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

WEB = os.path.join(ks.REPO, "web")


def hget(hd, name):
    return hd.get(name) if hasattr(hd, "get") else None


def test_no_store(t, srv):
    cases = [
        ("GET", "/api/v1/metrics", {}, True, 200, "JSON 200"),
        ("GET", "/api/v1/metrics?format=csv", {}, True, 200, "CSV 200"),
        ("GET", "/api/v1/no-such-thing", {}, True, 404, "404 error"),
        ("GET", "/api/v1/metrics?bogus=1", {}, True, 422, "422 error"),
        ("GET", "/api/v1/metrics", {}, False, 401, "401 error"),
        ("DELETE", "/api/v1/metrics", {}, True, 405, "405 error"),
    ]
    for method, path, hdrs, auth, want, what in cases:
        st, hd, body = srv.request(method, path, headers=hdrs, auth=auth)
        t.eq((st, hget(hd, "Cache-Control")), (want, "no-store"),
             "no-store: %s %s (%s) carries Cache-Control: no-store" % (method, path, what))
    st, hd, body = srv.request("GET", "/api/v1/metrics?format=csv")
    t.check(st == 200 and "text/csv" in (hget(hd, "Content-Type") or ""),
            "no-store: the CSV case really is CSV", ks.got(st, str(body)[:200]))
    # static files keep their caching
    st, hd, _ = srv.request("GET", "/vendor/echarts.esm.min.js", auth=False)
    t.check(st == 200 and hget(hd, "Cache-Control") == "public, max-age=3600",
            "no-store: /vendor/ files are still cacheable for an hour",
            "status %s, Cache-Control %r" % (st, hget(hd, "Cache-Control")))
    st, hd, _ = srv.request("GET", "/css/app.css", auth=False)
    t.check(st == 200 and hget(hd, "Cache-Control") == "no-cache",
            "no-store: other static files keep no-cache",
            "status %s, Cache-Control %r" % (st, hget(hd, "Cache-Control")))


def test_static_scope(t, srv):
    for path, fname in (("/", "index.html"), ("/index.html", "index.html"), ("/js/app.js", "js/app.js"),
                        ("/css/app.css", "css/app.css"), ("/img/favicon.svg", "img/favicon.svg"),
                        ("/vendor/echarts.esm.min.js", "vendor/echarts.esm.min.js"), ("/app/team/3", "index.html")):
        st, _, body = srv.request("GET", path, auth=False)
        with open(os.path.join(WEB, fname), "rb") as fh:
            want = fh.read().decode("utf-8", errors="replace")
        t.check(st == 200 and body == want, "static: %s is served (200, the bytes of web/%s)" % (path, fname),
                ks.got(st, str(body)[:200]))
    refused = ["/package.json", "/package-lock.json", "/node_modules/.package-lock.json",
               "/node_modules/echarts/package.json", "/js/node_modules/x.js",
               "/index.htm", "/favicon.ico", "/README.txt", "/app.json"]
    # a node_modules file that really exists
    nm = os.path.join(WEB, "node_modules")
    if os.path.isdir(nm):
        for name in sorted(os.listdir(nm)):
            pj = os.path.join(nm, name, "package.json")
            if os.path.isfile(pj):
                refused.append("/node_modules/%s/package.json" % name)
                break
    for path in refused:
        st, hd, body = srv.request("GET", path, auth=False)
        t.check(st == 404, "static: %s is not served (404)" % path,
                ks.got(st, str(body)[:200]))
    for path in ("/package.json", "/package-lock.json"):
        st, _, _ = srv.request("HEAD", path, auth=False)
        t.check(st == 404, "static: HEAD %s -> 404" % path, "status %s" % st)


def test_log_injection(t, srv):
    forged = "access GET /forged 200 0 0ms"
    path = ("/api/v1/x%0a" + forged.replace(" ", "%20") + "%0d%0a%22%5c%1b[31m").encode()
    try:
        st, _, body = ks.raw_exchange(srv.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                                      b"Connection: close\r\n\r\n")
        t.check(st == 404, "log: the request with %0a/%0d in the path answers 404",
                ks.got(st, body))
    except (OSError, ConnectionError) as ex:
        t.check(False, "log: the request with %0a/%0d in the path answers", str(ex))
    err = ""
    deadline = time.time() + 5
    while time.time() < deadline:
        err = srv.stderr()
        if "/api/v1/x" in err:
            break
        time.sleep(0.05)
    lines = err.splitlines()
    t.check(not any(l.startswith(forged) for l in lines),
            "log: no forged access line from %0a in the path", err[-2000:])
    t.check(not any("\r" in l or "\x1b" in l for l in err.split("\n")),
            "log: no raw CR or ESC byte in the log", repr(err[-1000:]))
    mine = [l for l in lines if "/api/v1/x" in l]
    t.check(len(mine) == 1 and "\\x0a" in mine[0] and "\\x0d" in mine[0]
            and "\\x22" in mine[0] and "\\x5c" in mine[0] and "\\x1b" in mine[0],
            "log: the request is one access line with \\xHH escapes", "\n".join(mine) or err[-2000:])


def timed_raw(srv, head, chunks=(), timeout=10.0):
    t0 = time.time()
    r = ks.raw_exchange(srv.port, head, chunks, timeout=timeout)
    return r, time.time() - t0


def test_query_limits(t, srv):
    for n in (500, 1000):
        q = "&".join("a%d=1" % i for i in range(n)).encode()
        try:
            r, took = timed_raw(srv, b"GET /api/v1/metrics?" + q + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            t.error(r, 431, "too_many_arguments", None,
                    "query: %d arguments -> 431 too_many_arguments" % n)
            t.check(took < 3.0, "query: %d arguments answered at once" % n, "took %.1f s" % took)
            t.check(r[1].get("cache-control") == "no-store", "query: the 431 is no-store",
                    str(r[1]))
        except (OSError, ConnectionError) as ex:
            t.check(False, "query: %d arguments -> 431" % n, "no response: %s" % ex)
    # 100 arguments is still an ordinary request (here: a 422 on the unknown one)
    q = "&".join("a%d=1" % i for i in range(100)).encode()
    r = ks.raw_exchange(srv.port, b"GET /api/v1/metrics?" + q + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    t.error(r, 422, "invalid", "a0", "query: 100 arguments reach the handler (422 on a0)")
    # a long URL with few arguments
    q = b"period=" + b"x" * 12000
    try:
        r, took = timed_raw(srv, b"GET /api/v1/metrics?" + q + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        t.error(r, 414, "uri_too_long", None, "query: a 12 KB URL -> 414 uri_too_long")
        t.check(took < 3.0, "query: the long URL is answered at once", "took %.1f s" % took)
    except (OSError, ConnectionError) as ex:
        t.check(False, "query: a 12 KB URL -> 414", "no response: %s" % ex)
    st, _, _ = srv.request("GET", "/healthz")
    t.check(st == 200, "query: the server still answers afterwards", "status %s" % st)


def test_big_body(t, srv):
    body = b"x" * (5 * 1024 * 1024)
    for i in range(2):
        try:
            r = ks.http_request(srv.port, "POST", "/api/v1/journeys", body=body, timeout=30)
            t.error(r, 413, "too_large", None,
                    "body: a 5 MiB body sent by http.client -> 413 too_large (run %d)" % (i + 1))
        except (OSError, ConnectionError) as ex:
            t.check(False, "body: a 5 MiB body -> 413 (run %d)" % (i + 1),
                    "no response: %r" % ex)
    # a client that waits for 100 Continue is answered without sending a byte
    head = (b"POST /api/v1/journeys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body))
    try:
        r, took = timed_raw(srv, head, timeout=5)
        t.error(r, 413, "too_large", None, "body: Expect: 100-continue + 5 MiB -> 413 at once")
        t.check(took < 3.0, "body: the 100-continue refusal does not wait", "took %.1f s" % took)
    except (OSError, ConnectionError) as ex:
        t.check(False, "body: Expect: 100-continue + 5 MiB -> 413", "no response: %s" % ex)
    st, _, _ = srv.request("GET", "/healthz")
    t.check(st == 200, "body: the server still answers afterwards", "status %s" % st)


def main(t):
    srv = ks.Server(t, args=["--web-root", WEB])
    try:
        hz = srv.start()
        t.eq(hz, {"status": "ok", "schema_version": max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))},
             "server starts with --web-root %s" % WEB)
        test_no_store(t, srv)
        test_static_scope(t, srv)
        test_log_injection(t, srv)
        test_query_limits(t, srv)
        test_big_body(t, srv)
    finally:
        srv.stop()
        srv.cleanup()


ks.run(main, start_server=False)
