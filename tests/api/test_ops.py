#!/usr/bin/python3
"""Operations (issue 18, docs/OPERATIONS.md): GET /readyz, the Prometheus
metrics on --metrics-listen, and --log-format json.

The metrics text is read with prometheus_client's own parser (Debian
python3-prometheus-client), not with anything of the product's; expected
counts come from the requests this test makes itself. A full disk is a
small tmpfs filled with zeros (as in test_flood.py).
"""
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

CLOCK = "2026-12-01T09:00:00Z"


def scrape(port, path="/metrics", method="GET"):
    """(status, content type, text) of a request to the metrics listener."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode("utf-8")
    except urllib.error.HTTPError as ex:
        return ex.code, ex.headers.get("Content-Type"), ex.read().decode("utf-8", "replace")


def samples(text):
    """{(sample name, frozenset(labels)): value} and {family name: type}."""
    out, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out, types


def val(smp, name, **labels):
    return smp.get((name, frozenset(labels.items())), 0.0)


def status_class(st):
    return "%dxx" % (st // 100)


def test_readyz_healthy(t, srv):
    st, hd, b = srv.request("GET", "/readyz", auth=False)
    t.check(st == 200 and isinstance(b, dict) and b.get("ready") is True and b.get("reasons") == [],
            "GET /readyz (no auth) on a healthy server -> 200 {ready:true, reasons:[]}", ks.got(st, b))
    t.eq(b.get("schema_version") if isinstance(b, dict) else None, ks.schema_version(),
         "/readyz names the schema version of the tree's migrations")
    sch = b.get("scheduler") if isinstance(b, dict) else None
    t.check(isinstance(sch, dict) and sch.get("background") is True and 0 <= sch.get("last_pass_s_ago", -1) < 30,
            "/readyz: the background scheduler's last pass is under 30 s ago", sch)
    st, hd, b = srv.request("POST", "/readyz", {}, auth=False)
    t.eq(st, 405, "POST /readyz -> 405")


def test_metrics(t, srv, mport):
    st, ctype, _ = scrape(mport)
    t.check(st == 200 and ctype and ctype.startswith("text/plain; version=0.0.4"),
            "GET /metrics on --metrics-listen -> 200 text/plain; version=0.0.4", (st, ctype))
    st, _, _ = srv.request("GET", "/metrics", auth=False)
    t.eq(st, 404, "GET /metrics on the main port -> 404 (metrics only on their own listener)")
    st, _, _ = scrape(mport, "/api/v1/metrics")
    t.eq(st, 404, "the metrics listener answers nothing but /metrics (404)")
    st, _, _ = scrape(mport, "/metrics", method="POST")
    t.eq(st, 405, "POST /metrics on the metrics listener -> 405")

    f = ks.base_fixture(srv)
    _, _, before_txt = scrape(mport)
    before, _ = samples(before_txt)
    # 7 GETs of one route, with statuses seen by this client
    codes = {}
    for i in range(7):
        st, _, _ = srv.get("/api/v1/metrics?touchpoint_id=%d&period=2026-11" % f["tp1"]["id"])
        codes[status_class(st)] = codes.get(status_class(st), 0) + 1
    # 3 responses, one after the other: 3 group commits of one row each
    for i in range(3):
        st, _, b = srv.post("/api/v1/responses", {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 8},
                                                 "client_key": "ops-%d-%s" % (i, ks.uniq())})
        t.eq(st, 201, "POST /api/v1/responses %d -> 201" % (i + 1))
    # a link token in a path: counted under the route's pattern only
    tok = secrets.token_urlsafe(24)
    st_p, _, _ = srv.request("GET", "/p/" + tok, auth=False)
    time.sleep(0.2)  # the completion callback runs after the reply's last byte
    _, _, after_txt = scrape(mport)
    after, types = samples(after_txt)
    for cls, n in sorted(codes.items()):
        lab = dict(route="/api/v1/metrics", method="GET", code=cls)
        t.eq(val(after, "klantstem_http_requests_total", **lab) - val(before, "klantstem_http_requests_total", **lab),
             n, "requests_total{route=/api/v1/metrics,GET,%s} rose by exactly %d" % (cls, n))
    lab = dict(route="/p/{token}", method="GET", code=status_class(st_p))
    t.eq(val(after, "klantstem_http_requests_total", **lab) - val(before, "klantstem_http_requests_total", **lab),
         1, "GET /p/TOKEN counted once under route=\"/p/{token}\" (%s)" % status_class(st_p))
    t.check(tok not in after_txt, "the link token appears nowhere in the metrics text")
    t.eq(types.get("klantstem_http_request_duration_seconds"), "histogram", "the latency family is a histogram")
    t.eq(types.get("klantstem_http_requests"), "counter", "requests_total is a counter")
    # every histogram: buckets cumulative, +Inf = _count = the route's requests
    bad = []
    routes = {dict(k[1])["route"] for k in after if k[0] == "klantstem_http_request_duration_seconds_count"}
    for r in sorted(routes):
        bk = sorted(((float(dict(k[1])["le"]), v) for k, v in after.items()
                     if k[0] == "klantstem_http_request_duration_seconds_bucket" and dict(k[1])["route"] == r))
        cnt = val(after, "klantstem_http_request_duration_seconds_count", route=r)
        total = sum(v for k, v in after.items() if k[0] == "klantstem_http_requests_total" and dict(k[1])["route"] == r)
        vals = [v for _, v in bk]
        if vals != sorted(vals) or bk[-1][0] != float("inf") or bk[-1][1] != cnt or cnt != total:
            bad.append((r, vals, cnt, total))
    t.check(routes and not bad, "every route's latency buckets are cumulative; +Inf = _count = its requests_total "
            "(%d routes)" % len(routes), bad[:3])
    t.check("/api/v1/metrics" in routes and "/p/{token}" in routes, "histograms for both routes", sorted(routes))
    # the writer: 3 batches of one
    d = lambda n: val(after, n) - val(before, n)  # noqa: E731
    t.eq(d("klantstem_store_commits_total"), 3, "store commits_total rose by 3 (3 sequential responses)")
    t.eq(d("klantstem_store_batch_size_count"), 3, "batch_size_count rose by 3")
    t.eq(d("klantstem_store_batch_size_sum"), 3, "batch_size_sum rose by 3 (one row each)")
    def le1(smp):
        return sum(v for k, v in smp.items() if k[0] == "klantstem_store_batch_size_bucket"
                   and float(dict(k[1])["le"]) == 1.0)
    t.eq(le1(after) - le1(before), 3, "batch_size_bucket{le=1} rose by 3")
    t.eq(val(after, "klantstem_store_writer_queue_depth"), 0, "writer queue depth 0 when idle")
    t.eq(val(after, "klantstem_store_storage_full"), 0, "storage_full 0")
    t.eq(d("klantstem_index_rows"), 3, "index_rows rose by 3")
    t.check(val(after, "klantstem_index_bytes") > 0, "index_bytes > 0", val(after, "klantstem_index_bytes"))
    t.eq(val(after, "klantstem_http_requests_in_flight"), 0, "in-flight requests 0 when idle")
    t.eq(val(after, "klantstem_http_slow_queue_depth"), 0, "slow-pool queue depth 0 when idle")
    lag = val(after, "klantstem_scheduler_lag_seconds")
    t.check(0 <= lag < 30, "scheduler lag under 30 s", lag)
    return tok


LOG_SECRET = "Tk9TRUNSRVQxMjM0NTY3ODkw"


def probe_doubled_slashes(srv):
    """Token-like paths behind repeated slashes: the log must not show them."""
    for path in ("//s/" + LOG_SECRET, "/s//" + LOG_SECRET, "///u///" + LOG_SECRET + "/x"):
        srv.request("GET", path, auth=False)


def test_json_log(t, srv, tok):
    lines = [ln for ln in srv.stderr().splitlines() if ln.strip()]
    bad, objs = [], []
    for ln in lines:
        if ln.startswith("==") or ln.startswith("    #"):  # none expected; a sanitizer would fail the stop
            continue
        try:
            objs.append(json.loads(ln))
        except ValueError:
            bad.append(ln)
    t.check(lines and not bad, "--log-format json: every stderr line is one JSON object (%d lines)" % len(lines), bad[:3])
    t.check(all(isinstance(o, dict) and {"time", "level", "msg"} <= set(o) for o in objs),
            "every line has time, level and msg")
    acc = [o for o in objs if o.get("msg") == "access"]
    t.check(acc and all({"method", "route", "status", "bytes", "ms"} <= set(o) for o in acc),
            "access lines carry method, route, status, bytes, ms (%d)" % len(acc))
    n = sum(1 for o in acc if o["route"] == "/api/v1/metrics" and o["method"] == "GET")
    t.eq(n, 7, "7 access lines with route /api/v1/metrics")
    t.eq(sum(1 for o in acc if o["route"] == "/p/{token}"), 1, "the /p/ request is logged as route /p/{token}")
    t.check(tok not in srv.stderr(), "the link token appears nowhere in the log")
    t.check(LOG_SECRET not in srv.stderr(), "a token under //s/ or /s// appears nowhere in the JSON log")
    t.check(any(o.get("route") == "/s/..." for o in acc), "... it is logged as /s/...")
    t.check(any("listening" in o["msg"] for o in objs if o.get("msg") != "access"),
            "server messages are JSON too (the 'listening' line)")


def test_public_refused(t):
    db = tempfile.mktemp(prefix="ks-ops-", suffix=".db")
    try:
        r = subprocess.run([ks.binary(), "serve", "--db", db, "--listen", "127.0.0.1:0",
                            "--metrics-listen", "0.0.0.0:%d" % ks.free_port()],
                           capture_output=True, text=True, timeout=30, env=ks.sanitizer_env())
        t.check(r.returncode != 0 and "--metrics-listen-public" in r.stderr,
                "--metrics-listen 0.0.0.0:PORT without --metrics-listen-public is refused, naming the option",
                (r.returncode, r.stderr[-400:]))
    finally:
        for suf in ("", "-wal", "-shm", "-reserve"):
            if os.path.exists(db + suf):
                os.unlink(db + suf)


def mount_tmpfs(size):
    d = tempfile.mkdtemp(prefix="ks-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", d], capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(d)
        return None, (r.stderr or r.stdout).strip()
    return d, ""


def fill(path):
    chunk = b"\0" * (16 * 1024)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for size in (chunk, b"\0"):
        try:
            while True:
                os.write(fd, size)
        except OSError:
            pass
    os.close(fd)


def test_disk_full(t):
    d, why = mount_tmpfs("24m")
    if d is None:
        print("ok - # SKIP disk full: cannot mount a tmpfs (%s)" % why)
        return
    mport = ks.free_port()
    srv = ks.Server(t, db=os.path.join(d, "ks.db"), args=["--metrics-listen", "127.0.0.1:%d" % mport])
    try:
        srv.start()
        f = ks.base_fixture(srv)
        resp = {"touchpoint_id": f["tp1"]["id"], "answers": {"nps": 9}}
        t.status(srv.post("/api/v1/responses", resp), 201, "disk full: a write before -> 201")
        st, _, b = srv.request("GET", "/readyz", auth=False)
        t.eq(st, 200, "disk full: /readyz before -> 200")
        fill(os.path.join(d, "filler"))
        resp["answers"]["open"] = "z" * 1900
        st, _, b = srv.post("/api/v1/responses", dict(resp, client_key="full-1"))
        t.error((st, None, b), 503, "storage_full", None, "disk full: POST /api/v1/responses -> 503 storage_full")
        st, hd, b = srv.request("GET", "/readyz", auth=False)
        t.check(st == 503 and isinstance(b, dict) and b.get("ready") is False and "storage_full" in b.get("reasons", []),
                "disk full: /readyz -> 503 {ready:false, reasons:[storage_full,...]}", ks.got(st, b))
        st, _, hz = srv.request("GET", "/healthz", auth=False)
        t.eq(st, 200, "disk full: /healthz stays 200 (alive, not ready)")
        _, _, txt = scrape(mport)
        smp, _ = samples(txt)
        t.eq(val(smp, "klantstem_store_storage_full"), 1, "disk full: klantstem_store_storage_full 1")
        os.unlink(os.path.join(d, "filler"))
        # a drained node gets no writes: readiness must come back from probes alone
        st, _, b = srv.request("GET", "/readyz", auth=False)
        t.check(st == 503 and "storage_full" not in b.get("reasons", []),
                "space back, no write yet: the first /readyz no longer says storage_full", ks.got(st, b))
        t0 = time.time()
        st, b = wait_readyz(srv, 200, 20)
        t.check(st == 200 and b.get("reasons") == [],
                "space back, no write: /readyz -> 200 once the failed batch is 10 s old", ks.got(st, b))
        t.check(8 <= time.time() - t0 <= 20, "... after about 10 s (writer_failing held that long)",
                time.time() - t0)
        st, _, b = srv.post("/api/v1/responses", dict(resp, client_key="after-full"))
        t.eq(st, 201, "space back: the next write -> 201")
        st, _, b = srv.request("GET", "/readyz", auth=False)
        t.check(st == 200 and b.get("reasons") == [], "space back: /readyz -> 200 after the write", ks.got(st, b))
        srv.stop("disk full: server exits 0 on SIGTERM")
    finally:
        srv.kill()
        subprocess.run(["umount", d], capture_output=True)
        os.rmdir(d)


class Blackhole:
    """An SMTP server that accepts connections and never says a word: the
    scheduler's mail pass waits on it (the mail timeout is 30 s)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def wait_readyz(srv, want_status, timeout):
    deadline = time.time() + timeout
    st, b = None, None
    while time.time() < deadline:
        st, _, b = srv.request("GET", "/readyz", auth=False)
        if st == want_status:
            break
        time.sleep(0.2)
    return st, b


def test_scheduler_stalled(t):
    bh = Blackhole()
    srv = ks.Server(t, args=["--smtp", "smtp://127.0.0.1:%d" % bh.port, "--ready-scheduler-max", "2"])
    try:
        srv.start()
        st, _, b = srv.request("GET", "/readyz", auth=False)
        t.eq(st, 200, "scheduler: /readyz 200 while nothing is due")
        survey = srv.create("surveys", {"name": "Na contact ops", "questions": ks.survey_questions()})
        journey = srv.create("journeys", {"name": "Reis ops"})
        tp = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Contactmoment ops", "position": 1,
                                        "survey_id": survey["id"]})
        st, _, rule = srv.request("PUT", "/api/v1/touchpoints/%d/rule" % tp["id"],
                                  {"delay_minutes": 0, "quiet_start_hour": 0, "quiet_end_hour": 0})
        t.eq(st, 200, "scheduler: rule without delay or quiet hours -> 200")
        cust = srv.create("customers", {"external_id": ks.uniq("C-ops"), "name": "Klant ops",
                                        "email": "ops@example.org", "language": "nl"})
        st, _, c = srv.post("/api/v1/contacts", {"customer_id": cust["id"], "touchpoint_id": tp["id"],
                                                 "channel": "phone"})
        t.check(st == 201 and (c.get("invitation") or {}).get("decision") == "created",
                "scheduler: a contact with an invitation due now", ks.got(st, c))
        # the pass now waits on the silent SMTP server (up to 30 s)
        st, b = wait_readyz(srv, 503, 15)
        t.check(st == 503 and "scheduler_stalled" in (b or {}).get("reasons", []),
                "scheduler stuck in a mail pass: /readyz -> 503 reasons [scheduler_stalled]", ks.got(st, b))
        st, _, _ = srv.request("GET", "/healthz", auth=False)
        t.eq(st, 200, "scheduler stuck: /healthz stays 200")
        bh.close()  # the SMTP connection ends: the pass records a temporary failure and ends
        st, b = wait_readyz(srv, 200, 15)
        t.check(st == 200 and b.get("reasons") == [], "SMTP gone: the pass ends, /readyz -> 200 again", ks.got(st, b))
        srv.stop("scheduler: server exits 0 on SIGTERM")
    finally:
        bh.close()
        srv.kill()
        srv.cleanup()


def test_long_healthy_pass(t):
    """A pass that sends mail after mail to a slow relay (1 s each) makes
    progress: /readyz stays 200 with --ready-scheduler-max 2 throughout."""
    sink = smtp_sink.Sink(delay=1.0)
    sink.start()
    srv = ks.Server(t, args=["--smtp", sink.url, "--ready-scheduler-max", "2"])
    try:
        srv.start()
        survey = srv.create("surveys", {"name": "Lange ronde", "questions": ks.survey_questions()})
        journey = srv.create("journeys", {"name": "Reis lang"})
        tp = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Contactmoment lang", "position": 1,
                                        "survey_id": survey["id"]})
        st, _, _ = srv.request("PUT", "/api/v1/touchpoints/%d/rule" % tp["id"],
                               {"delay_minutes": 0, "quiet_start_hour": 0, "quiet_end_hour": 0})
        t.eq(st, 200, "long pass: rule without delay or quiet hours -> 200")
        n = 8
        for i in range(n):
            cust = srv.create("customers", {"external_id": ks.uniq("C-lang"), "name": "Klant %d" % i,
                                            "email": "lang%d@example.org" % i, "language": "nl"})
            srv.post("/api/v1/contacts", {"customer_id": cust["id"], "touchpoint_id": tp["id"], "channel": "phone"})
        t0 = time.time()
        bad = []
        while time.time() - t0 < 25 and len(sink.files()) < n:
            st, _, b = srv.request("GET", "/readyz", auth=False)
            if st != 200:
                bad.append((round(time.time() - t0, 1), st, (b or {}).get("reasons")))
            time.sleep(0.2)
        took = time.time() - t0
        t.eq(len(sink.files()), n, "long pass: the slow relay got all %d invitations" % n)
        t.check(took >= 5, "long pass: sending them took over 5 s (> --ready-scheduler-max 2)", took)
        t.eq(bad, [], "long pass: /readyz 200 at every probe while the pass makes progress")
        probe_doubled_slashes(srv)
        srv.stop("long pass: server exits 0 on SIGTERM")
        t.check(LOG_SECRET not in srv.stderr(), "a token under //s/ or /s// appears nowhere in the text log")
        t.check("/s/..." in srv.stderr(), "... it is logged as /s/...", srv.stderr()[-600:])
    finally:
        srv.kill()
        srv.cleanup()
        sink.stop()
        sink.cleanup()


def main(t):
    mport = ks.free_port()
    srv = ks.Server(t, args=["--metrics-listen", "127.0.0.1:%d" % mport, "--log-format", "json"])
    try:
        srv.start()
        test_readyz_healthy(t, srv)
        tok = test_metrics(t, srv, mport)
        probe_doubled_slashes(srv)
        srv.stop()
        test_json_log(t, srv, tok)
    finally:
        srv.kill()
        srv.cleanup()
    test_public_refused(t)
    test_disk_full(t)
    test_scheduler_stalled(t)
    test_long_healthy_pass(t)


ks.run(main, start_server=False)
