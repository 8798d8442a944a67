#!/usr/bin/python3
# ks-test: pg-only (tests/run runs it in the PostgreSQL pass only)
"""test_cluster.py — three klantstem nodes on one PostgreSQL database behind
nginx on loopback, one of them killed with SIGKILL under load (issue 18).

What must hold, checked against the database itself:
- no acknowledged response is lost: every client_key that got a 2xx through
  nginx is stored exactly once (clients retry a failed post with the same
  key, as a real client would: the post is idempotent);
- no mail twice: the SMTP sink receives each invitation's mail once; the one
  mail a killed node may have handed to SMTP without recording it comes again
  with the same Message-ID (at-least-once delivery, deduplicated by the
  receiver), at most once;
- every running node's /api/v1/metrics count equals the database's count
  within a second of the load ending, and so does the killed node's after it
  starts again.

Needs KS_PG_URI (tests/run's PostgreSQL pass sets it) and nginx; fails, not
skips, without them.
"""
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
LOAD_S = 6.0
KILL_AT_S = 2.0
POSTERS = 4
CONTACTS = 60

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream klantstem {{
{servers}
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://klantstem;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_connect_timeout 1s;
      proxy_read_timeout 15s;
      # a node that is down is skipped for new requests; a POST already
      # sent is not repeated by nginx (non_idempotent is off): the client
      # retries it with its client_key
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
    }}
  }}
}}
"""


class Nginx:
    def __init__(self, ports):
        self.dir = tempfile.mkdtemp(prefix="ks-nginx-")
        self.port = ks.free_port()
        servers = "\n".join("    server 127.0.0.1:%d max_fails=1 fail_timeout=2s;" % p for p in ports)
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.mkdir(os.path.join(self.dir, d))
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, servers=servers, port=self.port))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                st, _, _ = ks.http_request(self.port, "GET", "/healthz", timeout=1.0, auth=False)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise ks.FixtureError("nginx did not come up: %s" % self.errors())

    def errors(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def post(port, token, path, body, timeout=10.0):
    """One POST through nginx on a fresh connection: (status, body) or
    (None, error text) when the connection failed."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json",
                                                      "Authorization": "Bearer " + token})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        try:
            return r.status, json.loads(data)
        except ValueError:
            return r.status, data
    except (OSError, http.client.HTTPException) as ex:
        return None, str(ex)


class Poster(threading.Thread):
    """Posts responses with unique client keys until told to stop; a failed
    post (no answer, 502/503) is retried with the same key until it gets a
    definite answer. acked: keys answered 2xx; errors: other answers."""

    def __init__(self, port, token, tp_id, emp_id, tag, stop):
        super().__init__(daemon=True)
        self.port, self.token, self.tp, self.emp, self.tag, self.stop_ev = port, token, tp_id, emp_id, tag, stop
        self.acked, self.errors, self.retries = [], [], 0
        self.rng = random.Random(tag)

    def run(self):
        i = 0
        while not self.stop_ev.is_set():
            i += 1
            key = "%s-%d" % (self.tag, i)
            body = {"touchpoint_id": self.tp, "employee_id": self.emp, "channel": "phone",
                    "answers": {"nps": self.rng.randint(0, 10)}, "client_key": key,
                    # before today: /metrics counts up to the start of today
                    "received_at": ks.iso(int(time.time()) - 3 * 86400)}
            for attempt in range(40):
                st, data = post(self.port, self.token, "/api/v1/responses", body)
                if st in (200, 201):
                    self.acked.append(key)
                    break
                if st is None or st in (502, 503, 504):
                    self.retries += 1
                    time.sleep(0.05)
                    continue
                self.errors.append((st, ks.short(data)))
                break


def db_count(uri, sql, args=()):
    con = ks.db_connect(uri, readonly=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def node_total(srv, tp_id):
    st, _, body = srv.get("/api/v1/metrics?touchpoint_id=%d" % tp_id)
    if st != 200 or not isinstance(body, dict):
        return None
    return body.get("n")


def wait_equal(t, srv, tp_id, want, name, within=1.0):
    deadline = time.time() + within
    got_n = None
    while True:
        got_n = node_total(srv, tp_id)
        if got_n == want or time.time() >= deadline:
            break
        time.sleep(0.05)
    t.eq(got_n, want, name)


def main(t):
    if not ks.pg_mode():
        t.check(False, "KS_PG_URI names a PostgreSQL server (tests/run's PostgreSQL pass sets it)",
                "KS_PG_URI is not set")
        return
    if not os.path.exists(NGINX):
        t.check(False, "nginx is installed (scripts/install-deps)", NGINX)
        return
    name, uri = ks.pg_new_database()
    sink = smtp_sink.Sink(delay=0.05)
    nodes, ngx = [], None
    try:
        sink.start()
        args = ["--smtp", sink.url, "--quiet"]
        nodes = [ks.Server(t, db=uri, args=args) for _ in range(3)]
        for n in nodes:
            n.start()
        t.eq(len({n.port for n in nodes}), 3, "three nodes on one PostgreSQL database answer /healthz")
        a = nodes[0]
        f = ks.base_fixture(a)
        st, _, _ = a.request("PUT", "/api/v1/touchpoints/%d/rule" % f["tp2"]["id"], {"delay_minutes": 0})
        t.eq(st, 200, "a rule with no delay on touchpoint 2 (its invitations are due at once)")

        ngx = Nginx([n.port for n in nodes])
        ngx.start()

        # load: responses through nginx, contacts (each an invitation to mail)
        stop = threading.Event()
        posters = [Poster(ngx.port, a.token, f["tp1"]["id"], f["emp1"]["id"], ks.uniq("p%d" % i), stop)
                   for i in range(POSTERS)]
        customers = [a.create("customers", {"external_id": ks.uniq("C"), "name": "Klant %d" % i,
                                            "email": "klant%d@example.org" % i, "language": "nl"})
                     for i in range(CONTACTS)]
        started = time.time()
        for p in posters:
            p.start()
        contact_ids, contact_errors = [], []

        # contacts go to node 1, which stays up: a contact has no client
        # key, so a post cut off by the kill could not be retried safely;
        # their invitations are claimed and sent by whichever node's
        # scheduler gets there first
        def contacts():
            for c in customers:
                body = {"customer_id": c["id"], "touchpoint_id": f["tp2"]["id"], "channel": "phone"}
                st, _, data = a.post("/api/v1/contacts", body)
                if st == 201 and isinstance(data, dict):
                    contact_ids.append(data.get("id"))
                else:
                    contact_errors.append((st, ks.short(data)))
                time.sleep(LOAD_S / CONTACTS)
        ct = threading.Thread(target=contacts, daemon=True)
        ct.start()
        time.sleep(KILL_AT_S)
        killed = nodes[1]
        killed.kill()
        time.sleep(max(0.0, LOAD_S - (time.time() - started)))
        stop.set()
        for p in posters:
            p.join(60)
        ct.join(60)

        acked = [k for p in posters for k in p.acked]
        errors = [e for p in posters for e in p.errors]
        t.eq(errors, [], "no post got an answer other than 2xx or a retryable 502/503 (%d acked, %d retried)"
             % (len(acked), sum(p.retries for p in posters)))
        t.check(len(acked) > 50, "the load was real: more than 50 acknowledged responses", str(len(acked)))
        stored = db_count(uri, "SELECT client_key, count(*) FROM responses WHERE touchpoint_id = ?"
                          " GROUP BY client_key", (f["tp1"]["id"],))
        per_key = {k: n for k, n in stored}
        t.eq([k for k in acked if per_key.get(k) != 1], [],
             "every acknowledged response is stored exactly once (SIGKILL of a node lost none)")
        t.eq(contact_errors, [], "every contact was acknowledged")
        t.eq(len(set(contact_ids)), CONTACTS, "%d contacts, each stored once" % CONTACTS)

        # every running node agrees with the database within a second
        total = db_count(uri, "SELECT count(*) FROM responses WHERE touchpoint_id = ?", (f["tp1"]["id"],))[0][0]
        for i in (0, 2):
            wait_equal(t, nodes[i], f["tp1"]["id"], total,
                       "node %d's /metrics count equals the database's (%d) within a second" % (i + 1, total))
        killed.start()
        wait_equal(t, killed, f["tp1"]["id"], total,
                   "the killed node, started again, counts the same %d" % total, within=5.0)

        # mail: each invitation once (the surviving nodes take over the
        # killed node's claims within its lease)
        deadline = time.time() + 90
        while time.time() < deadline:
            pending = db_count(uri, "SELECT count(*) FROM invitations WHERE status IN ('scheduled', 'sending')")[0][0]
            if pending == 0:
                break
            time.sleep(0.5)
        inv = db_count(uri, "SELECT id, status, message_id FROM invitations ORDER BY id")
        t.eq(sorted({s for _, s, _ in inv}), ["sent"], "every invitation ends sent (%d)" % len(inv))
        mails = sink.mails()
        by_id = {}
        for m in mails:
            mid = m.message_id.strip("<>")   # the header's <...> around the stored id
            by_id[mid] = by_id.get(mid, 0) + 1
        want_ids = {mid for _, _, mid in inv}
        t.eq(set(by_id) - want_ids, set(), "every mail carries the Message-ID of its invitation")
        t.eq(sorted(want_ids - set(by_id)), [], "every invitation's mail arrived")
        twice = {k: v for k, v in by_id.items() if v > 1}
        t.check(len(twice) <= 1 and all(v == 2 for v in twice.values()),
                "no mail twice, except at most the one in flight at the kill, with the same Message-ID",
                str(twice))
        for n in nodes:
            n.stop()
    finally:
        if ngx:
            ngx.stop()
        for n in nodes:
            n.cleanup()
        sink.cleanup()
        ks.pg_drop_database(name)


if __name__ == "__main__":
    ks.run(main, start_server=False)
