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
        """resp is (status, headers, body); want an int or a tuple of ints."""
        st, _, body = resp
        wants = want if isinstance(want, tuple) else (want,)
        return self.check(st in wants, name,
                          "expected status: %s\n%s" % (" or ".join(map(str, wants)), got(st, body)))

    def error(self, resp, status, code=None, field=None, name=""):
        """Check an error response: status, the error envelope, code and field.
        code/field may be a tuple of accepted values; field=None skips it."""
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
            codes = code if isinstance(code, tuple) else (code,)
            if code is not None and err.get("code") not in codes:
                problems.append("code %r, expected %s" % (err.get("code"), " or ".join(map(repr, codes))))
            if field is not None:
                fields = field if isinstance(field, tuple) else (field,)
                f = err.get("field")
                ok = any((f == w) if not (isinstance(w, str) and w.endswith("*"))
                         else (isinstance(f, str) and f.startswith(w[:-1])) for w in fields)
                if not ok:
                    problems.append("field %r, expected %s" % (f, " or ".join(map(repr, fields))))
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


def http_request(port, method, path, body=None, headers=None, timeout=15.0, auth=True):
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

    # -- requests --
    def request(self, method, path, body=None, headers=None, timeout=15.0, auth=True):
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
        """Read-only query on the database file (fine while the server runs:
        WAL mode). Returns a list of tuples."""
        con = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(self.db), uri=True,
                              timeout=10)
        try:
            return con.execute(query, args).fetchall()
        finally:
            con.close()


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
                srv.start()
                t.check(True, "server starts and answers /healthz")
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
