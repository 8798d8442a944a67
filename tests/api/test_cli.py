#!/usr/bin/python3
"""The command line: version, --help, usage errors, migrate, demo, and serve
(ready line, SIGTERM exits 0, consistent database)."""

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import shutil
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

TABLES = {"org_units", "employees", "customers", "channels", "surveys", "journeys", "touchpoints",
          "contacts", "responses", "response_drivers"}


def out_detail(rc, out, err):
    return "exit %s\nstdout: %s\nstderr: %s" % (rc, ks.short(out, 1500), ks.short(err, 1500))


def san(t, err, what):
    rep = ks.sanitizer_report(err)
    if rep:
        t.check(False, "%s: no sanitizer report" % what, rep[:8000])


def cli(t, args, what, timeout=30.0):
    rc, out, err = ks.run_cli(args, timeout=timeout)
    san(t, err, what)
    return rc, out, err


def usage_error(t, args, what, mention):
    """A usage error: non-zero exit (not a crash or a hang), a message on stderr
    mentioning one of the words in mention."""
    rc, out, err = cli(t, args, what, timeout=10.0)
    t.check(rc is not None and rc > 0, "%s: exits non-zero (and does not hang)" % what, out_detail(rc, out, err))
    low = err.lower()
    t.check(err.strip() != "" and any(m.lower() in low for m in mention),
            "%s: stderr explains (mentions %s)" % (what, " or ".join(mention)), out_detail(rc, out, err))


# issue 18: with KS_PG_URI the databases of migrate, demo and serve are
# fresh (empty) PostgreSQL databases on that server instead of new files;
# the checks read them through ks.db_connect. Dropped at the end.
PG_DBS = []


def new_db(d, name):
    """A database for a CLI run: a new file's path, or a fresh PostgreSQL
    database's URI."""
    if not ks.pg_mode():
        return os.path.join(d, name)
    pg_name, uri = ks.pg_new_database()
    PG_DBS.append(pg_name)
    return uri


def made(db):
    """The CLI made the database: the file exists, or (PostgreSQL) the
    schema version table is there."""
    if not ks.is_pg_uri(db):
        return os.path.exists(db)
    return "ks_schema_version" in tables(db)[0]


def tables(db):
    """(table names, schema version): PRAGMA user_version on SQLite,
    ks_schema_version's row on PostgreSQL (it has no user_version)."""
    if ks.is_pg_uri(db):
        con = ks.db_connect(db, readonly=True)
        try:
            names = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables"
                                               " WHERE table_schema = current_schema()"
                                               " AND table_type = 'BASE TABLE'")}
            uv = con.execute("SELECT version FROM ks_schema_version").fetchone()[0] \
                if "ks_schema_version" in names else 0
            return names, uv
        finally:
            con.close()
    con = sqlite3.connect(db)
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        uv = con.execute("PRAGMA user_version").fetchone()[0]
        return names, uv
    finally:
        con.close()


def count(db, table):
    con = ks.db_connect(db)
    try:
        return con.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        con.close()


class Serve:
    """serve on a given database, for the CLI checks."""

    def __init__(self, db, d):
        self.port = ks.free_port()
        ks.register_token(self.port, ks.admin_token(db))
        self.err = os.path.join(d, "serve.err.%d" % self.port)
        self.out = os.path.join(d, "serve.out.%d" % self.port)
        with open(self.err, "wb") as e, open(self.out, "wb") as o:
            self.p = ks.spawn([ks.binary(), "serve", "--db", db, "--listen",
                                       "127.0.0.1:%d" % self.port], stdout=o, stderr=e,
                                      stdin=subprocess.DEVNULL, env=ks.sanitizer_env())

    def text(self):
        with open(self.err, "rb") as e, open(self.out, "rb") as o:
            return o.read().decode("utf-8", "replace"), e.read().decode("utf-8", "replace")

    def ready(self, timeout=20.0):
        end = time.time() + timeout
        while time.time() < end and self.p.poll() is None:
            try:
                st, _, body = ks.http_request(self.port, "GET", "/healthz", timeout=2)
                if st == 200:
                    return body
            except OSError:
                pass
            time.sleep(0.05)
        return None

    def term(self, timeout=20.0):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                return None
        return self.p.returncode


def main(t):
    d = tempfile.mkdtemp(prefix="ks-cli-")
    try:
        run_all(t, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
        for name in PG_DBS:
            ks.pg_drop_database(name)


def run_all(t, d):
    b = ks.binary()
    if not os.path.exists(b):
        t.check(False, "binary exists", "no such file: %s" % b)
        return

    rc, out, err = cli(t, ["version"], "version")
    t.check(rc == 0 and any(ch.isdigit() for ch in out),
            "version: exit 0 and prints a version on stdout", out_detail(rc, out, err))

    rc, out, err = cli(t, ["--help"], "--help")
    text = out + err
    t.check(rc == 0 and "usage" in text.lower(), "--help: exit 0 with usage", out_detail(rc, out, err))
    t.check(all(w in text for w in ("serve", "migrate", "demo", "version")),
            "--help: lists serve, migrate, demo, version", out_detail(rc, out, err))
    rc, out, err = cli(t, ["serve", "--help"], "serve --help", timeout=10)
    text = out + err
    t.check(rc == 0 and "usage" in text.lower() and "--db" in text and "--listen" in text,
            "serve --help: exit 0, usage with --db and --listen", out_detail(rc, out, err))
    rc, out, err = cli(t, ["migrate", "--help"], "migrate --help", timeout=10)
    t.check(rc == 0 and "--db" in out + err, "migrate --help: exit 0, mentions --db", out_detail(rc, out, err))
    rc, out, err = cli(t, ["demo", "--help"], "demo --help", timeout=10)
    t.check(rc == 0 and "--scale" in out + err, "demo --help: exit 0, mentions --scale", out_detail(rc, out, err))

    # the route table as JSON (read by test_routes_roles.py)
    rc, out, err = cli(t, ["routes"], "routes", timeout=10)
    try:
        table = json.loads(out)
    except ValueError:
        table = None
    t.check(rc == 0 and isinstance(table, list) and len(table) > 50,
            "routes: exit 0, a JSON array of the routes on stdout", out_detail(rc, out, err))
    roles = {"public", "employee", "team_lead", "manager", "director", "admin"}
    bad = [r for r in table or [] if not isinstance(r, dict) or set(r) != {"method", "pattern", "roles"}
           or r["method"] not in ("GET", "POST", "PUT", "PATCH", "DELETE") or not r["pattern"].startswith("/")
           or not r["roles"] or not set(r["roles"]) <= roles or ("public" in r["roles"] and len(r["roles"]) > 1)]
    t.check(table is not None and not bad, "routes: every entry is {method, pattern, roles} with known roles",
            ks.short(bad[:5]))
    t.check(table is not None and {"method": "GET", "pattern": "/healthz", "roles": ["public"]} in table
            and {"method": "PUT", "pattern": "/api/v1/settings", "roles": ["admin"]} in table
            and {"method": "GET", "pattern": "/api/v1/cases", "roles": ["team_lead", "manager", "director", "admin"]}
            in table, "routes: /healthz public, PUT /settings admin, GET /cases leads and up (roles in rank order)",
            ks.short(table))
    t.check("routes" in cli(t, ["--help"], "--help")[1], "--help: lists routes")
    usage_error(t, ["routes", "--db", "x.db"], "routes with an option", ["routes", "option"])

    usage_error(t, ["frobnicate"], "unknown subcommand", ["frobnicate", "unknown"])
    usage_error(t, ["serve", "--listen", "127.0.0.1:%d" % ks.free_port()], "serve without --db", ["--db", "db"])
    usage_error(t, ["migrate"], "migrate without --db", ["--db", "db"])
    usage_error(t, ["demo"], "demo without --db", ["--db", "db"])
    db_bad = os.path.join(d, "bad.db")
    for listen in ("nonsense", "127.0.0.1:99999", "127.0.0.1:", "999.1.1.1:8080", "127.0.0.1:80a"):
        usage_error(t, ["serve", "--db", db_bad, "--listen", listen], "serve --listen %s" % listen,
                    ["listen", listen])
    usage_error(t, ["serve", "--db", db_bad, "--frobnicate"], "serve with an unknown option",
                ["frobnicate", "unknown"])
    usage_error(t, ["migrate", "--db", "/nonexistent-dir/x/ks.db"], "migrate into a missing directory",
                ["nonexistent-dir", "open", "cannot", "no such"])
    usage_error(t, ["demo", "--db", os.path.join(d, "demo-bad.db"), "--scale", "abc"],
                "demo --scale abc", ["scale"])

    # a port that is taken
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    busy = s.getsockname()[1]
    try:
        usage_error(t, ["serve", "--db", os.path.join(d, "busy.db"), "--listen", "127.0.0.1:%d" % busy],
                    "serve on a port in use", ["in use", "listen", "bind", str(busy)])
    finally:
        s.close()

    # migrate
    db = new_db(d, "m.db")
    rc, out, err = cli(t, ["migrate", "--db", db], "migrate")
    t.check(rc == 0 and made(db), "migrate --db NEW: exit 0, file created", out_detail(rc, out, err))
    if made(db):
        names, uv = tables(db)
        t.check(uv >= 1, "migrate: PRAGMA user_version >= 1 (got %s)" % uv, "")
        t.check(TABLES <= names, "migrate: the core tables exist", "missing: %s" % sorted(TABLES - names))
        # the six contact channels, and 'relationship' for the contacts of
        # relationship survey waves (issue 16 H6, migration 024)
        t.eq(count(db, "channels"), 7, "migrate: the six channels and relationship are seeded")
        rc, out, err = cli(t, ["migrate", "--db", db], "migrate again")
        names2, uv2 = tables(db)
        t.check(rc == 0 and uv2 == uv and names2 == names, "migrate twice: exit 0, schema unchanged",
                out_detail(rc, out, err))
        t.eq(count(db, "channels"), 7, "migrate twice: channels not seeded twice")

    # demo
    ddb = new_db(d, "demo.db")
    t0 = time.time()
    # (PostgreSQL: every row over the socket, slower than a local file)
    rc, out, err = cli(t, ["demo", "--db", ddb, "--scale", "2"], "demo --scale 2",
                       timeout=300 if ks.is_pg_uri(ddb) else 90)
    dt = time.time() - t0
    t.check(rc == 0, "demo --db F --scale 2: exit 0 (%.1f s)" % dt, out_detail(rc, out, err))
    if rc == 0 and made(ddb):
        counts = {tb: count(ddb, tb) for tb in ("org_units", "employees", "customers", "surveys", "journeys",
                                                 "touchpoints", "contacts", "responses")}
        t.check(all(v > 0 for v in counts.values()), "demo: every core table has rows", ks.short(counts))
        pg = ks.is_pg_uri(ddb)
        con = ks.db_connect(ddb)
        try:
            if pg:  # the server checks every foreign key at each write; its pages are its own
                print("# skipped on PostgreSQL: foreign_key_check and integrity_check (SQLite's file)")
                orphans, integ = [], "ok"
            else:
                orphans = con.execute("PRAGMA foreign_key_check").fetchall()
                integ = con.execute("PRAGMA integrity_check").fetchone()[0]
            bad_tree = con.execute(
                "SELECT count(*) FROM org_units c LEFT JOIN org_units p ON p.id = c.parent_id"
                " WHERE (c.kind = 'organisation' AND c.parent_id IS NOT NULL)"
                " OR (c.kind = 'department' AND (p.kind IS DISTINCT FROM 'organisation'))"
                " OR (c.kind = 'team' AND (p.kind IS DISTINCT FROM 'department'))").fetchone()[0]
            emp_not_team = con.execute(
                "SELECT count(*) FROM employees e JOIN org_units u ON u.id = e.team_id"
                " WHERE u.kind != 'team'").fetchone()[0]
        finally:
            con.close()
        t.check(not orphans and integ == "ok", "demo: foreign keys and integrity ok",
                "fk: %s integrity: %s" % (orphans[:5], integ))
        t.eq(bad_tree, 0, "demo: org tree is organisation -> department -> team")
        t.eq(emp_not_team, 0, "demo: every employee belongs to a unit of kind team")

        sv = Serve(ddb, d)
        h = sv.ready()
        t.check(h is not None, "serve on the demo database answers /healthz", ks.short(sv.text()))
        if h is not None:
            st, _, m = ks.http_request(sv.port, "GET", "/api/v1/metrics")
            t.check(st == 200 and isinstance(m, dict) and m.get("n") == counts["responses"],
                    "serve demo: /metrics n equals the responses in the file (%d)" % counts["responses"],
                    ks.got(st, m))
        rc = sv.term()
        o, e = sv.text()
        t.eq(rc, 0, "serve demo: SIGTERM -> exit 0")
        san(t, e, "serve demo")

    # serve lifecycle on a fresh file
    sdb = new_db(d, "serve.db")
    sv = Serve(sdb, d)
    h = sv.ready()
    o, e = sv.text()
    t.check(h is not None, "serve: a new database file is created and /healthz answers", ks.short((o, e)))
    t.check("listening" in (o + e).lower(), "serve: prints a line containing \"listening\"",
            "stdout: %s\nstderr: %s" % (ks.short(o), ks.short(e)))
    if h is not None:
        names, uv = tables(sdb)
        t.check(isinstance(h, dict) and h.get("schema_version") == uv and uv >= 1,
                "serve: healthz schema_version equals PRAGMA user_version", "healthz %s, user_version %s" % (h, uv))
        try:
            org = ks.http_request(sv.port, "POST", "/api/v1/teams", {"name": "CLI org", "kind": "organisation"})
            jr = ks.http_request(sv.port, "POST", "/api/v1/journeys", {"name": "CLI j"})
            tp = ks.http_request(sv.port, "POST", "/api/v1/touchpoints",
                                 {"journey_id": jr[2]["id"], "name": "CLI tp"})
            st, _, r = ks.http_request(sv.port, "POST", "/api/v1/responses",
                                       {"client_key": "cli-1", "touchpoint_id": tp[2]["id"],
                                        "answers": {"nps": 9}})
            t.check(org[0] == 201 and st == 201, "serve: writes work", ks.got(st, r))
        except Exception as ex:
            t.check(False, "serve: writes work", repr(ex))
    rc = sv.term()
    o, e = sv.text()
    t.check(rc == 0, "serve: SIGTERM -> exit 0", "exit %s\nstderr: %s" % (rc, e[-3000:]))
    san(t, e, "serve")
    if made(sdb):
        pg = ks.is_pg_uri(sdb)
        con = ks.db_connect(sdb)
        try:
            integ = "ok" if pg else con.execute("PRAGMA integrity_check").fetchone()[0]
            n = con.execute("SELECT count(*) FROM responses WHERE client_key = 'cli-1'").fetchone()[0]
        finally:
            con.close()
        if pg:
            print("# skipped on PostgreSQL: integrity_check and the WAL file (SQLite's file)")
        else:
            t.eq(integ, "ok", "serve: database integrity ok after SIGTERM")
        t.eq(n, 1, "serve: the response written before SIGTERM is in the file")
    if os.path.exists(sdb):
        wal = sdb + "-wal"
        t.check(not os.path.exists(wal) or os.path.getsize(wal) == 0,
                "serve: WAL checkpointed on graceful shutdown (no leftover -wal data)",
                "size %s" % (os.path.getsize(wal) if os.path.exists(wal) else None))

    # restart on the existing file: the data is still there
    sv = Serve(sdb, d)
    ok = sv.ready() is not None
    t.check(ok, "serve: restarts on the existing database", ks.short(sv.text()))
    if ok:
        st, _, body = ks.http_request(sv.port, "GET", "/api/v1/responses")
        keys = [i.get("client_key") for i in body.get("items", [])] if isinstance(body, dict) else None
        t.eq(keys, ["cli-1"], "serve: after a restart the API lists the earlier response")
    t.eq(sv.term(), 0, "serve: second SIGTERM -> exit 0")
    san(t, sv.text()[1], "serve (restart)")

if __name__ == "__main__":
    ks.run(main, start_server=False)
