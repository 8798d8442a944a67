"""ks.py — shared helpers for the klantstem API tests (standard library only).

A test file does:

    import ks
    def main(t, srv):
        st, hd, body = srv.request("GET", "/healthz")
        t.check(st == 200, "healthz answers 200", ks.got(st, body))
    ks.run(main)

ks.run() starts the server on a fresh temporary database (KS_BIN, default
build/asan/klantstem relative to the repo root), runs main(t, srv), stops the
server with SIGTERM (exit 0 expected, no sanitizer report), prints TAP lines
("ok N - ..." / "not ok N - ..." with "# ..." diagnostics) and exits non-zero
when anything failed.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                   "AddressSanitizer:DEADLYSIGNAL", "ERROR: ThreadSanitizer")


def binary():
    """Path of the server binary: $KS_BIN (relative to cwd, else to the repo)."""
    b = os.environ.get("KS_BIN", "build/asan/klantstem")
    if os.path.isabs(b):
        return b
    if os.path.exists(b):
        return os.path.abspath(b)
    return os.path.join(REPO, b)


def sanitizer_env():
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:allocator_may_return_null=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def sanitizer_report(text):
    """The part of text from the first sanitizer mark on, or None."""
    idx = [text.find(m) for m in SANITIZER_MARKS if m in text]
    if not idx:
        return None
    start = text.rfind("\n", 0, min(idx)) + 1
    return text[start:]


def spawn(args, **kw):
    """subprocess.Popen, retried for a few seconds while the binary is being
    relinked (ETXTBSY, EACCES, ENOENT during a concurrent `make`)."""
    deadline = time.time() + 10.0
    while True:
        try:
            return subprocess.Popen(args, **kw)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def short(v, limit=600):
    """A compact printable form of a value for diagnostics."""
    if isinstance(v, (dict, list)):
        s = json.dumps(v, ensure_ascii=False, sort_keys=True)
    else:
        s = repr(v) if not isinstance(v, str) else v
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def got(status, body):
    return "got: %s %s" % (status, short(body))


def schema_version():
    """The schema version a migrated database has: the number of the highest
    src/store/migrations/NNN_*.sql in the tree (independent of the server)."""
    import glob
    files = glob.glob(os.path.join(REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql"))
    if not files:
        raise FixtureError("no migrations under src/store/migrations")
    return max(int(os.path.basename(p)[:3]) for p in files)


ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def iso_ok(v):
    return isinstance(v, str) and bool(ISO_RE.match(v))


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_iso(s):
    import calendar
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


# ---------------------------------------------------------------------------
# TAP


class FixtureError(Exception):
    """A setup step failed; the test cannot go on meaningfully."""


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.lock = threading.Lock()

    def check(self, cond, name, detail=None):
        with self.lock:
            self.n += 1
            name = name.replace("\n", " ")
            if cond:
                print("ok %d - %s" % (self.n, name), flush=True)
            else:
                self.failed += 1
                print("not ok %d - %s" % (self.n, name), flush=True)
                if detail:
                    for line in str(detail).splitlines():
                        print("#   " + line, flush=True)
        return bool(cond)

    def eq(self, got_v, want, name):
        return self.check(got_v == want, name,
                          "expected: %s\ngot:      %s" % (short(want), short(got_v)))

    def near(self, got_v, want, tol, name):
        ok = isinstance(got_v, (int, float)) and not isinstance(got_v, bool) \
            and abs(got_v - want) <= tol
        return self.check(ok, name, "expected: %s (+-%s)\ngot:      %s" % (want, tol, short(got_v)))

    def status(self, resp, want, name):
        """resp is (status, headers, body); want the one status the
        behaviour decides (an int: a check that accepts several outcomes
        cannot fail when the behaviour changes between them, issue 12)."""
        if not isinstance(want, int) or isinstance(want, bool):
            raise TypeError("Tap.status wants one int status, got %r" % (want,))
        st, _, body = resp
        return self.check(st == want, name, "expected status: %d\n%s" % (want, got(st, body)))

    def healthz(self, hz, name):
        """A /healthz body (as Server.start returns it) is exactly
        {"status":"ok","schema_version":N} with N the highest migration in
        the tree (not a constant: a server that did not migrate fails)."""
        return self.eq(hz, {"status": "ok", "schema_version": schema_version()}, name)

    def error(self, resp, status, code=None, field=None, name=""):
        """Check an error response: status, the error envelope, code and field.
        code/field are one value each (None skips that check; a field ending
        in "*" matches by prefix, for indexed names like "questions[1].text")."""
        for v in (code, field):
            if isinstance(v, (tuple, list, set)):
                raise TypeError("Tap.error wants one code and one field, got %r" % (v,))
        st, _, body = resp
        problems = []
        if st != status:
            problems.append("status %s, expected %s" % (st, status))
        err = body.get("error") if isinstance(body, dict) else None
        if not isinstance(err, dict):
            problems.append("no {\"error\":{...}} object in the body")
        else:
            for k in ("code", "message", "field"):
                if k not in err:
                    problems.append("error object lacks \"%s\"" % k)
            if code is not None and err.get("code") != code:
                problems.append("code %r, expected %r" % (err.get("code"), code))
            if field is not None:
                f = err.get("field")
                ok = (f == field) if not field.endswith("*") else (isinstance(f, str) and f.startswith(field[:-1]))
                if not ok:
                    problems.append("field %r, expected %r" % (f, field))
        want = "%s %s field=%s" % (status, code, field)
        return self.check(not problems, name,
                          "expected: %s\n%s\n%s" % (want, "; ".join(problems), got(st, body)))

    def finish(self):
        print("1..%d" % self.n, flush=True)
        if self.failed:
            print("# %d of %d failed" % (self.failed, self.n), flush=True)


# ---------------------------------------------------------------------------
# HTTP


# Bearer tokens of the test admin, by server port: every API request a test
# makes is authenticated as that admin unless it passes its own
# Authorization header (or auth=False). Tests of access control pass
# their own credentials.
TOKENS = {}
ADMIN_PASSWORD = "test-admin-password"


def admin_token(db):
    """Create (once per database) the test admin account with an API token
    via `klantstem user add`, and return the token."""
    env = sanitizer_env()
    env["KLANTSTEM_PASSWORD"] = ADMIN_PASSWORD
    rc, out, err = run_cli(["user", "add", "--db", db, "--email", "admin-%s@test.local" % uniq("a"),
                            "--name", "Test Admin", "--role", "admin", "--token", "tests"],
                           env=env)
    for line in out.splitlines():
        if line.startswith("token: "):
            return line[len("token: "):].strip()
    raise FixtureError("cannot create the test admin (rc %s): %s %s" % (rc, out, err))


def register_token(port, token):
    TOKENS[port] = token


# How long a request waits for its answer unless the test says otherwise.
# Generous: tests/run runs programs side by side on a few cores, and an
# answer that hashes a password or trains a model under the sanitizers can
# take many seconds there (issue 18 TESTRUN). A hung server still fails.
REQUEST_TIMEOUT = 60.0


def http_request(port, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT, auth=True):
    """One request on a fresh connection.
    body: dict/list -> JSON; str/bytes -> sent as is; None -> no body.
    Returns (status, headers, data): data is parsed JSON when the response
    says JSON (text if it does not parse), else text."""
    hdrs = {}
    data = None
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    elif isinstance(body, str):
        data = body.encode()
        hdrs["Content-Type"] = "application/json"
    elif isinstance(body, bytes):
        data = body
        hdrs["Content-Type"] = "application/json"
    if auth and port in TOKENS and not any(k.lower() == "authorization" for k in (headers or {})):
        hdrs["Authorization"] = "Bearer " + TOKENS[port]
    if headers:
        hdrs.update(headers)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        raw = r.read()
        return r.status, r.headers, decode_body(r.headers, raw)
    finally:
        conn.close()


def decode_body(headers, raw):
    ctype = (headers.get("Content-Type") or "").lower()
    text = raw.decode("utf-8", errors="replace")
    if "json" in ctype:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def raw_exchange(port, head, body_chunks=(), timeout=15.0):
    """Send raw bytes (head, then each chunk), tolerate the server closing
    early, then read one response. Returns (status, headers-dict, body-text)
    or raises if no response arrived at all."""
    if port in TOKENS and b"\r\nauthorization:" not in head.lower():
        first, rest = head.split(b"\r\n", 1)
        head = first + b"\r\nAuthorization: Bearer " + TOKENS[port].encode() + b"\r\n" + rest
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(head)
            for c in body_chunks:
                s.sendall(c)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                hdr, rest = buf.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", hdr)
                if m and len(rest) >= int(m.group(1)):
                    break
        if b"\r\n\r\n" not in buf:
            raise ConnectionError("no HTTP response (got %r)" % buf[:200])
        hdr, rest = buf.split(b"\r\n\r\n", 1)
        lines = hdr.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hd = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                hd[k.strip().lower()] = v.strip()
        text = rest.decode("utf-8", errors="replace")
        if "json" in hd.get("content-type", ""):
            try:
                return status, hd, json.loads(text)
            except ValueError:
                pass
        return status, hd, text
    finally:
        s.close()


# ---------------------------------------------------------------------------
# Server


class Server:
    """The server on a temporary database. start() / stop() / kill() may be
    called several times; the database stays until cleanup()."""

    def __init__(self, t, db=None, args=(), env=None):
        """args: extra `serve` options (e.g. ["--test-clock", "2026-01-12T10:00:00Z"]);
        env: extra environment variables for the server."""
        self.t = t
        self.dir = tempfile.mkdtemp(prefix="ks-api-")
        # issue 18: with KS_PG_URI every server runs on a database of its own
        # on that PostgreSQL server (made here, dropped by cleanup()).
        self.pg_db = None
        if db is None and pg_mode():
            self.pg_db, db = pg_new_database()
        self.db = db or os.path.join(self.dir, "ks.db")
        self.args = list(args)
        self.env = dict(env or {})
        self.proc = None
        self.port = None
        self.runs = 0
        self.err_path = None
        self.out_path = None
        self.token = None

    # -- lifecycle --
    def start(self):
        """Start and wait for /healthz. Raises FixtureError on failure."""
        last = ""
        if self.token is None:
            self.token = admin_token(self.db)
        for attempt in range(3):
            self.runs += 1
            self.port = free_port()
            register_token(self.port, self.token)
            self.err_path = os.path.join(self.dir, "stderr.%d" % self.runs)
            self.out_path = os.path.join(self.dir, "stdout.%d" % self.runs)
            with open(self.err_path, "wb") as ef, open(self.out_path, "wb") as of:
                env = sanitizer_env()
                env.update(self.env)
                self.proc = spawn(
                    [binary(), "serve", "--db", self.db, "--listen", "127.0.0.1:%d" % self.port]
                    + self.args,
                    stdout=of, stderr=ef, stdin=subprocess.DEVNULL, env=env)
            deadline = time.time() + READY_TIMEOUT
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    st, _, body = http_request(self.port, "GET", "/healthz", timeout=2.0)
                    if st == 200:
                        return body
                except (OSError, http.client.HTTPException):
                    pass
                time.sleep(0.05)
            last = self.stderr()
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise FixtureError("server did not answer /healthz within %.0f s; stderr:\n%s"
                                   % (READY_TIMEOUT, last[-4000:]))
            if "in use" not in last.lower():
                break
        raise FixtureError("server exited with %s before answering /healthz; stderr:\n%s"
                           % (self.proc.returncode, last[-4000:]))

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except (OSError, TypeError):
            return ""

    def stdout(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        except (OSError, TypeError):
            return ""

    def stop(self, name="server exits 0 on SIGTERM"):
        """SIGTERM, wait, and report exit status and sanitizer output as TAP."""
        if self.proc is None:
            return
        p, self.proc = self.proc, None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                self.t.check(False, name, "did not exit within %.0f s of SIGTERM; stderr tail:\n%s"
                             % (STOP_TIMEOUT, self.stderr()[-3000:]))
                self.check_sanitizer()
                return
        self.t.check(p.returncode == 0, name,
                     "exit status %s; stderr tail:\n%s" % (p.returncode, self.stderr()[-3000:]))
        self.check_sanitizer()

    def check_sanitizer(self):
        rep = sanitizer_report(self.stderr())
        self.t.check(rep is None, "no sanitizer report in server stderr (run %d)" % self.runs,
                     (rep or "")[:12000])

    def kill(self):
        """SIGKILL (no graceful shutdown)."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.pg_db:
            pg_drop_database(self.pg_db)
            self.pg_db = None

    # -- requests --
    def request(self, method, path, body=None, headers=None, timeout=REQUEST_TIMEOUT, auth=True):
        return http_request(self.port, method, path, body, headers, timeout, auth)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def form(self, path, fields, method="POST"):
        """POST an application/x-www-form-urlencoded body (fields: dict or
        list of pairs, or an already encoded str)."""
        data = fields if isinstance(fields, str) else urllib.parse.urlencode(fields)
        return self.request(method, path, data.encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def list_all(self, res, query=""):
        """Every item of a list resource, following next_cursor (limit 500)."""
        items, cursor = [], None
        for _ in range(1000):
            q = "limit=500" + ("&cursor=%s" % cursor if cursor is not None else "") + \
                ("&" + query if query else "")
            st, _, body = self.get("/api/v1/%s?%s" % (res, q))
            if st != 200 or not isinstance(body, dict):
                raise FixtureError("GET /api/v1/%s?%s -> %s" % (res, q, short(body)))
            items += body.get("items", [])
            cursor = body.get("next_cursor")
            if cursor is None:
                return items
        raise FixtureError("pagination of %s does not end" % res)

    def count(self, res, query=""):
        return len(self.list_all(res, query))

    def create(self, res, body, what=None):
        """POST and require 201; returns the row. Raises FixtureError."""
        st, _, data = self.post("/api/v1/" + res, body)
        if st != 201 or not isinstance(data, dict) or "id" not in data:
            raise FixtureError("fixture: POST /api/v1/%s %s -> %s %s"
                               % (res, short(body), st, short(data)))
        return data

    # -- database --
    def sql(self, query, args=()):
        """Read-only query on the database (fine while the server runs:
        WAL mode). Returns a list of tuples."""
        con = db_connect(self.db, readonly=True)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()


# ---------------------------------------------------------------------------
# The database under test: a SQLite file, or (issue 18) a PostgreSQL database
# when KS_PG_URI names a server (tests/run's PostgreSQL pass sets it).


def pg_mode():
    return bool(os.environ.get("KS_PG_URI"))


def is_pg_uri(db):
    return isinstance(db, str) and (db.startswith("postgres://") or db.startswith("postgresql://"))


def _pg_admin():
    import psycopg2
    con = psycopg2.connect(os.environ["KS_PG_URI"])
    con.autocommit = True
    return con


def pg_new_database():
    """A fresh, empty database on KS_PG_URI's server: (name, URI)."""
    name = "ks_" + re.sub(r"[^a-z0-9_]", "_", uniq("t").lower())
    con = _pg_admin()
    try:
        con.cursor().execute('CREATE DATABASE "%s"' % name)
    finally:
        con.close()
    base = urllib.parse.urlsplit(os.environ["KS_PG_URI"])
    return name, urllib.parse.urlunsplit((base.scheme, base.netloc, "/" + name, base.query, ""))


def pg_drop_database(name):
    try:
        con = _pg_admin()
        try:
            con.cursor().execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        finally:
            con.close()
    except Exception as ex:  # noqa: BLE001 — cleanup must not hide the test's result
        print("# cannot drop database %s: %s" % (name, ex), flush=True)


def _pg_value(v):
    # PostgreSQL's sum() of integers is numeric (a Decimal here); SQLite's
    # is an integer: give the tests what sqlite3 gives.
    from decimal import Decimal
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, memoryview):
        return bytes(v)
    return v


class _PgCursor:
    def __init__(self, cur):
        self.cur = cur

    def fetchall(self):
        return [tuple(_pg_value(v) for v in r) for r in self.cur.fetchall()] if self.cur.description else []

    def fetchone(self):
        r = self.cur.fetchone() if self.cur.description else None
        return tuple(_pg_value(v) for v in r) if r is not None else None

    def __iter__(self):
        return iter(self.fetchall())

    @property
    def rowcount(self):
        return self.cur.rowcount


class _PgConnection:
    """What the tests use of sqlite3.Connection, over psycopg2: execute()
    with ? or ?N placeholders, fetchall/fetchone, commit, close."""

    def __init__(self, uri, readonly):
        import psycopg2
        self.con = psycopg2.connect(uri)
        self.con.autocommit = readonly

    @staticmethod
    def _params(query, args):
        # ?N -> %(pN)s, ? -> %s, outside quotes; a literal % doubled
        out, i, n, q = [], 0, len(query), None
        named = False
        while i < n:
            ch = query[i]
            if q:
                out.append("%%" if ch == "%" else ch)
                if ch == q:
                    q = None
            elif ch in "'\"":
                q = ch
                out.append(ch)
            elif ch == "%":
                out.append("%%")
            elif ch == "?":
                j = i + 1
                while j < n and query[j].isdigit():
                    j += 1
                if j > i + 1:
                    out.append("%%(p%s)s" % query[i + 1:j])
                    named = True
                else:
                    out.append("%s")
                i = j
                continue
            else:
                out.append(ch)
            i += 1
        sql = "".join(out)
        if named:
            return sql, {"p%d" % (k + 1): v for k, v in enumerate(args)}
        return sql, tuple(args)

    def execute(self, query, args=()):
        sql, params = self._params(query, args)
        cur = self.con.cursor()
        cur.execute(sql, params)
        return _PgCursor(cur)

    def commit(self):
        self.con.commit()

    def rollback(self):
        self.con.rollback()

    def close(self):
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not self.con.autocommit:
            if exc[0] is None:
                self.con.commit()
            else:
                self.con.rollback()
        return False


def db_connect(db, readonly=False, timeout=10):
    """A connection to the database under test, with sqlite3's execute()
    interface on both backends."""
    if is_pg_uri(db):
        return _PgConnection(db, readonly)
    if readonly:
        return sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(db), uri=True, timeout=timeout)
    return sqlite3.connect(db, timeout=timeout)


# ---------------------------------------------------------------------------
# Fixture

_seq = [0]


def uniq(prefix="x"):
    _seq[0] += 1
    return "%s-%d-%d-%d" % (prefix, os.getpid(), int(time.time() * 1000) % 100000, _seq[0])


NPS_NL = "Hoe waarschijnlijk is het dat je ons aanbeveelt bij vrienden of familie?"
NPS_EN = "How likely are you to recommend us to a friend or colleague?"
GRADE_NL = "Welk rapportcijfer geef je ons contact?"
GRADE_EN = "What grade would you give this contact?"
CES_NL = "Het was gemakkelijk om mijn vraag geregeld te krijgen."
CES_EN = "It was easy to get my question sorted out."
DRIVER_NL = "Hoe snel werd je geholpen?"
DRIVER_EN = "How quickly were you helped?"
OPEN_NL = "Wat kunnen we beter doen?"
OPEN_EN = "What could we do better?"


def survey_questions():
    return [
        {"type": "nps", "text": {"nl": NPS_NL, "en": NPS_EN}, "required": True},
        {"type": "grade", "text": {"nl": GRADE_NL, "en": GRADE_EN}},
        {"type": "ces", "text": {"nl": CES_NL, "en": CES_EN}},
        {"type": "driver", "aspect": "snelheid", "text": {"nl": DRIVER_NL, "en": DRIVER_EN}},
        {"type": "open", "text": {"nl": OPEN_NL, "en": OPEN_EN}},
    ]


def base_fixture(srv, tag=None):
    """organisation -> department -> team, 2 employees, 2 customers (nl, en),
    a survey (nps, grade, ces, driver "snelheid", open), a journey and 2
    touchpoints with the survey. Returns a dict of rows."""
    tag = tag or uniq("fx")
    f = {}
    f["org"] = srv.create("teams", {"name": "Energie BV " + tag, "kind": "organisation"})
    f["dept"] = srv.create("teams", {"name": "Klantenservice " + tag, "kind": "department",
                                     "parent_id": f["org"]["id"]})
    f["team"] = srv.create("teams", {"name": "Team Noord " + tag, "kind": "team",
                                     "parent_id": f["dept"]["id"]})
    f["emp1"] = srv.create("employees", {"team_id": f["team"]["id"], "first_name": "Sanne",
                                         "last_name": "de Vries", "email": "sanne@example.nl",
                                         "external_id": "E1-" + tag})
    f["emp2"] = srv.create("employees", {"team_id": f["team"]["id"], "first_name": "Joris",
                                         "last_name": "Bakker", "external_id": "E2-" + tag})
    f["cust_nl"] = srv.create("customers", {"external_id": "C-NL-" + tag, "name": "Henk Jansen",
                                            "language": "nl", "city": "Utrecht",
                                            "birth_year": 1970, "segment": "particulier",
                                            "customer_since": "2015-06-01"})
    f["cust_en"] = srv.create("customers", {"external_id": "C-EN-" + tag, "name": "Mary Smith",
                                            "language": "en", "segment": "zakelijk"})
    f["survey"] = srv.create("surveys", {"name": "Na contact " + tag,
                                         "questions": survey_questions()})
    f["journey"] = srv.create("journeys", {"name": "Storing melden " + tag,
                                           "description": "Van melding tot oplossing"})
    f["tp1"] = srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": "Telefonisch contact",
                                          "position": 1, "moment_of_truth": True,
                                          "survey_id": f["survey"]["id"]})
    f["tp2"] = srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": "Monteur aan huis",
                                          "position": 2, "survey_id": f["survey"]["id"]})
    return f


# ---------------------------------------------------------------------------
# Running a test file


def run(main, start_server=True):
    """Run main(t, srv) (or main(t) when start_server is False) and exit."""
    t = Tap()
    srv = None
    started = time.time()
    try:
        if start_server:
            srv = Server(t)
            try:
                hz = srv.start()
                t.healthz(hz, "server starts; /healthz is ok at the schema version of the tree's migrations")
            except FixtureError as ex:
                t.check(False, "server starts and answers /healthz", str(ex))
                srv.check_sanitizer()
                srv.cleanup()
                srv = None
                t.finish()
                sys.exit(1)
            main(t, srv)
        else:
            main(t)
    except FixtureError as ex:
        t.check(False, "setup step failed", str(ex))
    except Exception:
        t.check(False, "test raised an exception", traceback.format_exc())
    finally:
        if srv is not None:
            try:
                srv.stop()
            finally:
                srv.cleanup()
    print("# %s: %.1f s" % (os.path.basename(sys.argv[0]), time.time() - started), flush=True)
    t.finish()
    sys.exit(1 if t.failed else 0)


def run_cli(args, timeout=30.0, env=None):
    """Run the binary with args; returns (rc, stdout, stderr); rc None on timeout."""
    try:
        p = spawn([binary()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                  env=env or sanitizer_env(), stdin=subprocess.DEVNULL)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    except OSError as ex:
        return None, "", "cannot run %s: %s" % (binary(), ex)


def demo_into(db, scale, timeout):
    """`klantstem demo` into db: (rc, out, err). On PostgreSQL the demo is made
    in a SQLite file and moved with `klantstem copy` (verified table by table):
    the demo's bulk load runs row by row on PostgreSQL, minutes under the
    sanitizers at this scale; the demo on PostgreSQL itself is test_copy's."""
    if not pg_mode():
        return run_cli(["demo", "--db", db, "--scale", scale], timeout=timeout)
    d = tempfile.mkdtemp(prefix="ks-demo-")
    try:
        f = os.path.join(d, "demo.db")
        rc, out, err = run_cli(["demo", "--db", f, "--scale", scale], timeout=timeout)
        if rc == 0:
            rc, out2, err = run_cli(["copy", "--from", f, "--to", db], timeout=timeout)
            out += out2
        print("# on PostgreSQL: demo made in SQLite, moved with klantstem copy (exit %s)" % rc, flush=True)
        return rc, out, err
    finally:
        shutil.rmtree(d, ignore_errors=True)


def working_deadline(start, hours):
    """The deadline of a case opened at unix time start with an SLA of
    hours counted on Monday..Friday of the Amsterdam wall clock — computed
    independently of src/cases/sla.c: step through time minute by minute
    (minute boundaries line up with local midnights, the offsets being
    whole hours) and count only the seconds whose local weekday is a
    working day."""
    import datetime
    from zoneinfo import ZoneInfo
    ams = ZoneInfo("Europe/Amsterdam")
    left = hours * 3600
    t = start
    while left > 0:
        step = 60 - (t % 60)
        if datetime.datetime.fromtimestamp(t, ams).weekday() < 5:
            use = min(step, left)
            left -= use
            t += use
        else:
            t += step
    return t


# ---------------------------------------------------------------------------
# Expected figures (issue 10, "honest and safe numbers"), computed here from
# counts, independently of src/metrics: one rounding rule, half away from
# zero applied once to the exact value (a ratio of counts as a Fraction, an
# interval bound from its double), and the JSON / CSV a cell must print
# given which of its measures are shown.

from decimal import Decimal, ROUND_HALF_UP  # noqa: E402
from fractions import Fraction  # noqa: E402
import math  # noqa: E402

MEASURES = ("nps", "grade", "ces")
CELL_KEYS = ("n", "min_n", "insufficient", "nps", "grade", "ces", "hidden")
Z95 = 1.96


def _scaled_text(scaled, decimals):
    sign = "-" if scaled < 0 else ""
    mag = abs(scaled)
    if decimals == 0:
        return "%s%d" % (sign, mag)
    p = 10 ** decimals
    return "%s%d.%0*d" % (sign, mag // p, decimals, mag % p)


def scaled_exact(q, decimals):
    """q (Fraction or int) times 10^decimals, rounded half away from zero."""
    q = Fraction(q) * (10 ** decimals)
    mag = abs(q)
    r = int(mag)
    if mag - r >= Fraction(1, 2):
        r += 1
    return -r if q < 0 else r


def scaled_double(x, decimals):
    """A double times 10^decimals (exactly, as Decimal), rounded half away
    from zero."""
    d = Decimal(x) * (Decimal(10) ** decimals)
    return int(d.to_integral_value(rounding=ROUND_HALF_UP))


def text_exact(q, decimals):
    """The text the server must print for the exact value q ("0.13", "-3.0")."""
    return _scaled_text(scaled_exact(q, decimals), decimals)


def text_double(x, decimals):
    return _scaled_text(scaled_double(x, decimals), decimals)


def num_exact(q, decimals):
    """What json.loads gives for that text."""
    return float(text_exact(q, decimals))


def num_double(x, decimals):
    return float(text_double(x, decimals))


class Counts:
    """Sufficient statistics of a slice (as metrics_counts), plus the
    employees whose answers it holds (for the person threshold)."""
    FIELDS = ("n", "nps_n", "p", "a", "d", "g_n", "g_sum", "g_sumsq", "g7", "g9", "c_n", "c_sum", "c5")

    def __init__(self):
        for k in self.FIELDS:
            setattr(self, k, 0)
        self.emps = set()
        self.no_emp = 0

    def add(self, nps=None, grade=None, ces=None, emp=None):
        self.n += 1
        if emp:
            self.emps.add(emp)
        else:
            self.no_emp += 1
        if nps is not None:
            self.nps_n += 1
            if nps >= 9:
                self.p += 1
            elif nps >= 7:
                self.a += 1
            else:
                self.d += 1
        if grade is not None:
            self.g_n += 1
            self.g_sum += grade
            self.g_sumsq += grade * grade
            self.g7 += grade >= 7
            self.g9 += grade >= 9
        if ces is not None:
            self.c_n += 1
            self.c_sum += ces
            self.c5 += ces >= 5
        return self

    def merge(self, o, sign=1):
        for k in self.FIELDS:
            setattr(self, k, getattr(self, k) + sign * getattr(o, k))
        if sign > 0:
            self.emps |= o.emps
            self.no_emp += o.no_emp
        return self

    def copy(self):
        c = Counts()
        return c.merge(self)

    def count(self, m):
        return {"nps": self.nps_n, "grade": self.g_n, "ces": self.c_n}[m]

    def one_person(self):
        """Do the answers name exactly one employee? Answers naming no one
        do not make it anyone else's: they can be asked for on their own
        (group_by=employee's "(none)" row) and subtracted."""
        return len(self.emps) == 1


def counts_of(rows):
    """rows: (nps, grade, ces) with None for unanswered."""
    c = Counts()
    for r in rows:
        c.add(*r[:3])
    return c


def adjusted_wald(P, D, n):
    """(adjusted estimate in points, margin in points, variance as a
    proportion difference) of the NPS, Rocks 2016, in the same double
    arithmetic as a C implementation of the formula would do it."""
    np_ = float(n) + 3.0
    p = (float(P) + 0.75) / np_
    d = (float(D) + 0.75) / np_
    var = (p + d - (p - d) * (p - d)) / np_
    if var < 0.0:
        var = 0.0
    return (p - d) * 100.0, Z95 * math.sqrt(var) * 100.0, var


def sample_var(n, s, ss):
    num, den = n * ss - s * s, n * (n - 1)
    return 0.0 if num <= 0 else float(num) / float(den)


def nps_block(c):
    adj, margin, _ = adjusted_wald(c.p, c.d, c.nps_n)
    low = max(-100.0, min(100.0, adj - margin))
    high = max(-100.0, min(100.0, adj + margin))
    n = c.nps_n
    return {"n": n, "promoters": num_exact(Fraction(c.p, n), 2), "passives": num_exact(Fraction(c.a, n), 2),
            "detractors": num_exact(Fraction(c.d, n), 2), "value": num_exact(Fraction(100 * (c.p - c.d), n), 1),
            "low": num_double(low, 1), "high": num_double(high, 1), "margin": num_double(margin, 1)}


def grade_bounds(c):
    """The grade interval as doubles (low, high); the mean when n < 2."""
    mean = float(c.g_sum) / float(c.g_n)
    if c.g_n < 2:
        return None
    half = Z95 * math.sqrt(sample_var(c.g_n, c.g_sum, c.g_sumsq)) / math.sqrt(float(c.g_n))
    return mean - half, mean + half


def grade_block(c):
    mean = num_exact(Fraction(c.g_sum, c.g_n), 2)
    b = grade_bounds(c)
    low, high = (mean, mean) if b is None else (num_double(b[0], 2), num_double(b[1], 2))
    return {"n": c.g_n, "mean": mean, "low": low, "high": high,
            "share_7plus": num_exact(Fraction(c.g7, c.g_n), 2), "share_9plus": num_exact(Fraction(c.g9, c.g_n), 2)}


def ces_block(c):
    return {"n": c.c_n, "mean": num_exact(Fraction(c.c_sum, c.c_n), 2),
            "share_5plus": num_exact(Fraction(c.c5, c.c_n), 2)}


def primary_hidden(c, min_n):
    """Measures the minimum-n rule alone hides: answers, but fewer than min_n
    (all answered measures when the cell has fewer than min_n responses)."""
    return [m for m in MEASURES if 0 < c.count(m) < min_n or (c.count(m) > 0 and c.n < min_n)]


def cell_json(c, min_n, hidden=()):
    """The cell members a reply must print for counts c under threshold
    min_n when, beyond the minimum n per measure, the measures in hidden are
    suppressed (complementary suppression)."""
    if c.n < min_n:
        return {"n": c.n, "min_n": min_n, "insufficient": True}
    out = {"n": c.n, "min_n": min_n}
    shown = {}
    for m, block in (("nps", nps_block), ("grade", grade_block), ("ces", ces_block)):
        k = c.count(m)
        shown[m] = k > 0 and k >= min_n and m not in hidden
        out[m] = block(c) if shown[m] else None
    out["insufficient"] = not any(shown.values())
    out["hidden"] = [m for m in MEASURES if c.count(m) > 0 and not shown[m]]
    return out


def cell_of(obj):
    """The cell members of a reply object (total, row, point, side)."""
    return {k: obj[k] for k in CELL_KEYS if isinstance(obj, dict) and k in obj}


def hidden_of(obj, c):
    """Measures a printed cell does not show although they have answers."""
    if not isinstance(obj, dict):
        return set(MEASURES)
    if obj.get("n", 0) < obj.get("min_n", 0) or "hidden" not in obj:
        return {m for m in MEASURES if c.count(m) > 0}
    return {m for m in MEASURES if c.count(m) > 0 and not isinstance(obj.get(m), dict)}


def cell_problems(obj, c, min_n, where):
    """Differences between a printed cell and counts c with threshold min_n:
    (a) every measure the minimum-n rule hides is hidden, (b) every shown
    figure equals the exact recomputation; "hidden" lists exactly the
    measures with answers that are not shown. The server's own choice of
    further (complementary) hides is taken from the reply and checked
    elsewhere (lines, cross-reply)."""
    if not isinstance(obj, dict):
        return ["%s: not an object: %s" % (where, short(obj, 200))]
    hid = obj.get("hidden") if isinstance(obj.get("hidden"), list) else []
    want = cell_json(c, min_n, [m for m in hid if m in MEASURES])
    got_c = cell_of(obj)
    if got_c == want:
        return []
    p = []
    for k in CELL_KEYS:
        if got_c.get(k, "<absent>") != want.get(k, "<absent>"):
            p.append("%s: %s %s, expected %s" % (where, k, short(got_c.get(k, "<absent>"), 200),
                                                 short(want.get(k, "<absent>"), 200)))
    return p


def csv_fields(c, min_n, hidden=()):
    """The measure columns of a CSV line (as metrics_csv_fields), as a list
    of strings: n,nps_n,nps,nps_low,nps_high,promoters,passives,detractors,
    grade_n,grade_mean,grade_7plus,grade_9plus,ces_n,ces_mean,ces_5plus,note."""
    if c.n < min_n:
        return [str(c.n)] + [""] * 14 + ["not enough responses"]
    j = cell_json(c, min_n, hidden)
    out = [str(c.n)]
    if j["nps"]:
        adj, margin, _ = adjusted_wald(c.p, c.d, c.nps_n)
        low = max(-100.0, min(100.0, adj - margin))
        high = max(-100.0, min(100.0, adj + margin))
        out += [str(c.nps_n), text_exact(Fraction(100 * (c.p - c.d), c.nps_n), 1), text_double(low, 1),
                text_double(high, 1)] + [text_exact(Fraction(k, c.nps_n), 2) for k in (c.p, c.a, c.d)]
    else:
        out += [""] * 7
    if j["grade"]:
        out += [str(c.g_n), text_exact(Fraction(c.g_sum, c.g_n), 2), text_exact(Fraction(c.g7, c.g_n), 2),
                text_exact(Fraction(c.g9, c.g_n), 2)]
    else:
        out += [""] * 4
    if j["ces"]:
        out += [str(c.c_n), text_exact(Fraction(c.c_sum, c.c_n), 2), text_exact(Fraction(c.c5, c.c_n), 2)]
    else:
        out += [""] * 3
    out.append("hidden: " + " ".join(j["hidden"]) if j["hidden"] else "")
    return out


CSV_HEADER = ["n", "nps_n", "nps", "nps_low", "nps_high", "promoters", "passives", "detractors", "grade_n",
              "grade_mean", "grade_7plus", "grade_9plus", "ces_n", "ces_mean", "ces_5plus", "note"]


# -- change tests, independently of src/metrics/change.c ---------------------


def p_two_sided(z):
    return math.erfc(abs(z) / math.sqrt(2.0))


def _change(diff_adj, diff_plain_q, diff_adj_q, var, enough, has):
    """A change block before any FDR step: dict with the raw doubles under
    "_p" / "_z" and the printed members."""
    if not has or not enough:
        return {"verdict": "insufficient_data"}
    se = math.sqrt(var)
    if se > 0:
        z = diff_adj / se
    else:
        z = 0.0 if diff_adj == 0.0 else math.copysign(math.inf, diff_adj)
    p = p_two_sided(z)
    out = {"diff": num_exact(diff_adj_q, 2), "diff_plain": num_exact(diff_plain_q, 2), "se": num_double(se, 3),
           "z": num_double(z, 3) if math.isfinite(z) else None, "p": num_double(p, 4),
           "verdict": "real_change" if abs(z) >= Z95 else "within_noise", "_p": p, "_z": z, "_diff_adj": diff_adj}
    return out


def nps_q(c, adjusted):
    return Fraction(100 * (c.p - c.d), c.nps_n + (3 if adjusted else 0))


def compare_nps(a, b, min_n):
    """The NPS change from a to b: z on the adjusted-Wald estimates and
    variances; diff = adjusted difference, diff_plain the plain one."""
    has = a.nps_n > 0 and b.nps_n > 0
    if not has:
        return {"verdict": "insufficient_data"}
    adj_a, _, va = adjusted_wald(a.p, a.d, a.nps_n)
    adj_b, _, vb = adjusted_wald(b.p, b.d, b.nps_n)
    return _change(adj_b - adj_a, nps_q(b, False) - nps_q(a, False), nps_q(b, True) - nps_q(a, True),
                   (va + vb) * 1e4, a.nps_n >= min_n and b.nps_n >= min_n, has)


def compare_grade(a, b, min_n):
    has = a.g_n > 1 and b.g_n > 1
    if not has:
        return {"verdict": "insufficient_data"}
    ma, mb = float(a.g_sum) / float(a.g_n), float(b.g_sum) / float(b.g_n)
    var = sample_var(a.g_n, a.g_sum, a.g_sumsq) / float(a.g_n) + sample_var(b.g_n, b.g_sum, b.g_sumsq) / float(b.g_n)
    q = Fraction(b.g_sum, b.g_n) - Fraction(a.g_sum, a.g_n)
    return _change(mb - ma, q, q, var, a.g_n >= min_n and b.g_n >= min_n, has)


def did_nps(ub, ua, cb, ca, min_n):
    """Difference in differences of the NPS: (ua - ub) - (ca - cb)."""
    s = (ub, ua, cb, ca)
    sign = (-1, 1, 1, -1)
    has = all(x.nps_n > 0 for x in s)
    if not has:
        return {"verdict": "insufficient_data"}
    var, diff_adj = 0.0, 0.0
    plain, adj = Fraction(0), Fraction(0)
    for x, sg in zip(s, sign):
        a, _, v = adjusted_wald(x.p, x.d, x.nps_n)
        var += v
        diff_adj += sg * a
        plain += sg * nps_q(x, False)
        adj += sg * nps_q(x, True)
    return _change(diff_adj, plain, adj, var * 1e4, all(x.nps_n >= min_n for x in s), has)


def bh(changes, q=0.05):
    """Benjamini-Hochberg over the changes that have a verdict
    (real_change / within_noise): p_adj, fdr_q and the verdict after it."""
    fam = [c for c in changes if c.get("verdict") in ("real_change", "within_noise")]
    m = len(fam)
    order = sorted(range(m), key=lambda i: (fam[i]["_p"], i))
    run = 1.0
    adj = [None] * m
    for k in range(m - 1, -1, -1):
        i = order[k]
        v = float(m) / float(k + 1) * fam[i]["_p"]
        run = min(run, v)
        adj[i] = run
    for c, pa in zip(fam, adj):
        c["p_adj"] = num_double(pa, 4)
        c["fdr_q"] = num_double(q, 4)
        c["_p_adj"] = pa
        c["verdict"] = "real_change" if pa <= q else "within_noise"
    return changes


def public(change):
    """A change block without the raw doubles kept for further steps."""
    return {k: v for k, v in change.items() if not k.startswith("_")}


def goal_status(c, metric, target, min_n):
    """reached / likely / too_close_to_call / not_reached /
    insufficient_data on the exact estimate with its 95% interval."""
    if metric == "nps":
        if c.nps_n <= 0 or c.nps_n < min_n:
            return "insufficient_data"
        adj, margin, _ = adjusted_wald(c.p, c.d, c.nps_n)
        low, high = max(-100.0, min(100.0, adj - margin)), max(-100.0, min(100.0, adj + margin))
        est = Fraction(100 * (c.p - c.d), c.nps_n)
    else:
        if c.g_n <= 0 or c.g_n < min_n:
            return "insufficient_data"
        b = grade_bounds(c)
        low, high = b if b else (c.g_sum / c.g_n,) * 2
        est = Fraction(c.g_sum, c.g_n)
    t = Fraction(target)
    if Fraction(low) >= t:
        return "reached"
    if Fraction(high) < t:
        return "not_reached"
    return "likely" if est >= t else "too_close_to_call"


# -- the organisation's calendar (zoneinfo, not src/core/tz.c) ---------------


def zone(name="Europe/Amsterdam"):
    from zoneinfo import ZoneInfo
    return ZoneInfo(name)


def local_dt(ts, tz=None):
    import datetime
    return datetime.datetime.fromtimestamp(ts, tz or zone())


def local_midnight(y, m, d, tz=None):
    """Unix time of local 00:00 of the date y-m-d."""
    import datetime
    return int(datetime.datetime(y, m, d, tzinfo=tz or zone()).timestamp())


def local_iso(ts, tz=None):
    """"2026-12-01T00:00:00+01:00": the local wall clock with its offset."""
    return local_dt(ts, tz).isoformat()


def start_of_local_day(ts, tz=None):
    d = local_dt(ts, tz)
    return local_midnight(d.year, d.month, d.day, tz)


def local_period_bounds(p, tz=None):
    """[from, to) of a period label YYYY, YYYY-Qn, YYYY-MM, YYYY-Www or
    YYYY-MM-DD in local time."""
    import datetime
    if len(p) == 4:
        y = int(p)
        return local_midnight(y, 1, 1, tz), local_midnight(y + 1, 1, 1, tz)
    if "-Q" in p:
        y, q = int(p[:4]), int(p[6])
        m = (q - 1) * 3 + 1
        return local_midnight(y, m, 1, tz), (local_midnight(y + 1, 1, 1, tz) if q == 4
                                             else local_midnight(y, m + 3, 1, tz))
    if "-W" in p:
        d0 = datetime.date.fromisocalendar(int(p[:4]), int(p[6:8]), 1)
        d1 = d0 + datetime.timedelta(days=7)
        return local_midnight(d0.year, d0.month, d0.day, tz), local_midnight(d1.year, d1.month, d1.day, tz)
    if len(p) == 10:
        d0 = datetime.date.fromisoformat(p)
        d1 = d0 + datetime.timedelta(days=1)
        return local_midnight(d0.year, d0.month, d0.day, tz), local_midnight(d1.year, d1.month, d1.day, tz)
    y, m = int(p[:4]), int(p[5:7])
    return local_midnight(y, m, 1, tz), (local_midnight(y + 1, 1, 1, tz) if m == 12
                                         else local_midnight(y, m + 1, 1, tz))


def local_keys(ts, tz=None):
    """day, week, month, quarter, year labels of an instant, local."""
    d = local_dt(ts, tz)
    iso = d.isocalendar()
    return {"day": d.strftime("%Y-%m-%d"), "week": "%04d-W%02d" % (iso[0], iso[1]), "month": d.strftime("%Y-%m"),
            "quarter": "%04d-Q%d" % (d.year, (d.month - 1) // 3 + 1), "year": "%04d" % d.year}


def set_clock(srv, ts):
    """Move the test clock (server started with --test-clock)."""
    st, _, b = srv.post("/api/v1/admin/clock", {"now": iso(ts)})
    if st != 200:
        raise FixtureError("POST /api/v1/admin/clock %s -> %s %s" % (iso(ts), st, short(b)))
    return b
