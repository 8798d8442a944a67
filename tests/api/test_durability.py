#!/usr/bin/python3
"""Durability to the disk (docs/ARCHITECTURE.md "The path of a response"):
the writer commits with synchronous=FULL — the WAL is fdatasync'd at every
commit — concurrent submits share one commit (group commit), and a 2xx is
sent only after the commit's fsync has returned.

A SIGKILL (test_crash.py) cannot see any of this: the page cache survives
the death of a process. So the server runs under strace(1), which records
every fsync/fdatasync with the file it was for and makes each one return
DELAY seconds late (-e inject=...:delay_exit):
- one response at a time: every acknowledgement waits for a WAL sync
  (latency >= DELAY) and there is at least one WAL sync per response —
  synchronous=NORMAL syncs the WAL only at checkpoints, so both fail;
- CONCURRENT responses at once: they share commits (WAL syncs well below
  the number of rows; the writer's own count, printed at shutdown as
  "group commit: B batches, R rows", agrees) — one commit per response
  fails;
- every acknowledged row is in the file after a graceful stop.

On PostgreSQL (KS_PG_URI, issue 18) the same checks run with the commits
counted and delayed inside the database instead of strace (main_pg).
"""

import glob
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

DELAY = 0.3        # seconds strace adds to every fsync / fdatasync
SEQUENTIAL = 5     # responses posted one after the other
CONCURRENT = 40    # responses posted at the same moment


def wrapper(dirpath, real, trace_out):
    """A script that runs `serve` under strace and everything else (the
    CLI that makes the test admin) as is."""
    path = os.path.join(dirpath, "klantstem-strace")
    us = int(DELAY * 1e6)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "if [ \"$1\" = serve ]; then\n"
                "  exec strace -f -qq -y -e signal=none -e trace=fsync,fdatasync "
                "-e inject=fsync:delay_exit=%d -e inject=fdatasync:delay_exit=%d -o '%s' '%s' \"$@\"\n"
                "fi\n"
                "exec '%s' \"$@\"\n" % (us, us, trace_out, real, real))
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path


def wal_syncs(trace_out, db):
    """Number of fsync/fdatasync calls on the database's WAL so far."""
    try:
        with open(trace_out, "r", errors="replace") as f:
            text = f.read()
    except OSError:
        return 0
    wal = re.escape(db + "-wal")
    return len(re.findall(r"\b(?:fsync|fdatasync)\(\d+<%s>\)" % wal, text))


def server_pid(strace_pid):
    """The traced klantstem process (strace's child)."""
    for _ in range(100):
        try:
            with open("/proc/%d/task/%d/children" % (strace_pid, strace_pid)) as f:
                kids = f.read().split()
            if kids:
                return int(kids[0])
        except OSError:
            pass
        time.sleep(0.05)
    return None


def body_for(f, key, i):
    return {"client_key": key, "touchpoint_id": f["tp1"]["id"], "employee_id": f["emp1"]["id"],
            "customer_id": f["cust_nl"]["id"], "channel": "web",
            "answers": {"nps": i % 11, "grade": 1 + i % 10}}


# PostgreSQL (issue 18): the fsync is the server's (fsync and
# synchronous_commit on: COMMIT returns after the WAL is flushed); the
# store's side is that a 2xx comes only after its COMMIT has returned, and
# that concurrent submits share commits. Both are seen from inside the
# test's own database: a deferred constraint trigger on responses runs at
# COMMIT of every transaction that wrote one, records the transaction
# once (with the writer session's synchronous_commit) and makes that
# COMMIT return DELAY seconds late -- what strace's delayed fsync does on
# SQLite.
PG_SLOW_COMMIT = """
CREATE TABLE ks_test_commits (xid BIGINT PRIMARY KEY, sync TEXT NOT NULL);
CREATE FUNCTION ks_test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ks_test_commits (xid, sync) VALUES (txid_current(), current_setting('synchronous_commit'))
    ON CONFLICT DO NOTHING;
  IF FOUND THEN
    PERFORM pg_sleep(%s);
  END IF;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ks_test_slow_commit AFTER INSERT ON responses
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ks_test_slow_commit();
""" % DELAY


def pg_commits(srv):
    """(transactions that wrote responses so far, their synchronous_commit values)."""
    rows = srv.sql("SELECT sync, count(*) FROM ks_test_commits GROUP BY sync ORDER BY sync")
    return sum(n for _, n in rows), sorted(v for v, _ in rows)


def main_pg(t):
    srv = ks.Server(t, args=["--quiet"])
    try:
        hz = srv.start()
        t.eq(hz.get("status") if isinstance(hz, dict) else hz, "ok", "server starts on PostgreSQL")
        print("# PostgreSQL: no strace of the WAL (the server's own fsync); the commits are counted and"
              " delayed by a deferred trigger in the test's database instead")
        settings = dict(srv.sql("SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit',"
                                " 'wal_sync_method')"))
        t.check(settings.get("fsync") == "on" and settings.get("synchronous_commit") == "on",
                "PostgreSQL: fsync and synchronous_commit are on (a COMMIT returns after the WAL's flush)",
                ks.short(settings))
        con = ks.db_connect(srv.db)
        try:
            con.execute(PG_SLOW_COMMIT)
            con.commit()
        finally:
            con.close()
        run(t, srv, None)
    finally:
        srv.cleanup()


def main(t):
    if ks.pg_mode():
        main_pg(t)
        return
    if subprocess.call(["sh", "-c", "command -v strace"], stdout=subprocess.DEVNULL) != 0:
        t.check(False, "strace is installed (apt-get install strace)")
        return
    tmp = tempfile.mkdtemp(prefix="ks-dur-")
    trace_out = os.path.join(tmp, "strace.out")
    real = ks.binary()
    os.environ["KS_BIN"] = wrapper(tmp, real, trace_out)
    # LeakSanitizer cannot run under ptrace; the other tests run it
    srv = ks.Server(t, args=["--quiet"],
                    env={"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:allocator_may_return_null=0"})
    try:
        hz = srv.start()
        t.eq(hz, {"status": "ok", "schema_version": max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))},
             "server starts under strace")
        run(t, srv, trace_out)
    finally:
        if srv.proc is not None:
            srv.proc.kill()
            srv.proc.wait()
        srv.cleanup()
        os.environ["KS_BIN"] = real


def run(t, srv, trace_out):
    f = ks.base_fixture(srv)
    tag = ks.uniq("dur")
    pg = trace_out is None  # PostgreSQL (main_pg): commits counted by the trigger
    db = srv.db if pg else os.path.realpath(srv.db)

    def syncs_now():
        return pg_commits(srv)[0] if pg else wal_syncs(trace_out, db)

    # -- one at a time: each acknowledgement waits for its own WAL sync
    before = syncs_now()
    lat, bad = [], []
    for i in range(SEQUENTIAL):
        t0 = time.monotonic()
        st, _, r = srv.post("/api/v1/responses", body_for(f, "%s-s%d" % (tag, i), i))
        lat.append(time.monotonic() - t0)
        if st != 201:
            bad.append((i, st, r))
    t.check(not bad, "sequential: %d responses -> 201 each" % SEQUENTIAL,
            "\n".join("%d -> %s %s" % (i, s, ks.short(r, 200)) for i, s, r in bad))
    syncs = syncs_now() - before
    if pg:
        t.eq(syncs, SEQUENTIAL, "sequential: one COMMIT per response posted alone (%d)" % SEQUENTIAL)
    else:
        t.check(syncs >= SEQUENTIAL,
                "sequential: the WAL is fsync'd at every commit (synchronous=FULL): %d syncs for %d responses"
                % (syncs, SEQUENTIAL), "a synchronous=NORMAL writer syncs the WAL only at checkpoints")
    slow = [round(x, 3) for x in lat if x < DELAY]
    t.check(not slow, "sequential: no 201 arrives before its commit%s returned (each >= %.1f s)"
            % ("" if pg else "'s fsync", DELAY),
            "latencies (s): %s" % [round(x, 3) for x in lat])

    # -- at once: the submits share commits
    before = syncs_now()
    results = [None] * CONCURRENT
    lat2 = [None] * CONCURRENT
    go = threading.Event()

    def post(i):
        go.wait()
        t0 = time.monotonic()
        try:
            results[i] = ks.http_request(srv.port, "POST", "/api/v1/responses",
                                         body_for(f, "%s-c%d" % (tag, i), i), timeout=60)
        except Exception as ex:  # recorded and reported below, never ignored
            results[i] = (None, None, repr(ex))
        lat2[i] = time.monotonic() - t0

    threads = [threading.Thread(target=post, args=(i,)) for i in range(CONCURRENT)]
    for th in threads:
        th.start()
    go.set()
    for th in threads:
        th.join(timeout=120)
    bad = [(i, r[0], r[2]) for i, r in enumerate(results) if r is None or r[0] != 201]
    t.check(not bad, "concurrent: %d responses at once -> 201 each" % CONCURRENT,
            "\n".join("%d -> %s %s" % (i, s, ks.short(b, 200)) for i, s, b in bad[:10]))
    syncs = syncs_now() - before
    t.check(1 <= syncs <= CONCURRENT // 4,
            "concurrent: %d responses share commits: %d %s (1..%d)"
            % (CONCURRENT, syncs, "COMMITs" if pg else "WAL syncs", CONCURRENT // 4),
            "one commit per response would %s %d times" % ("COMMIT" if pg else "sync the WAL", CONCURRENT))
    slow = [round(x, 3) for x in lat2 if x is None or x < DELAY]
    t.check(not slow, "concurrent: no 201 arrives before a commit%s returned (each >= %.1f s)"
            % ("" if pg else "'s fsync", DELAY),
            "too fast (s): %s" % slow[:10])

    if pg:
        t.eq(pg_commits(srv)[1], ["on"], "PostgreSQL: the writer's session commits with synchronous_commit on")

    # -- graceful stop: the writer's own count, and the file
    spid = srv.proc.pid
    kpid = spid if pg else server_pid(spid)
    if kpid is None:
        t.check(False, "the traced server process is found")
        return
    os.kill(kpid, signal.SIGTERM)
    try:
        rc = srv.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        rc = "timeout"
    srv.proc = None
    t.eq(rc, 0, "server exits 0 on SIGTERM" + ("" if pg else " (under strace)"))
    srv.check_sanitizer()
    m = re.search(r"group commit: (\d+) batches, (\d+) rows", srv.stderr())
    t.check(m is not None, "the writer prints its group-commit count at shutdown", srv.stderr()[-2000:])
    if m:
        batches, rows = int(m.group(1)), int(m.group(2))
        total = SEQUENTIAL + CONCURRENT
        t.eq(rows, total, "group commit: the writer wrote exactly the %d rows posted" % total)
        t.check(batches <= SEQUENTIAL + CONCURRENT // 4,
                "group commit: %d batches for %d rows (at most %d: %d alone, the %d concurrent in <= %d)"
                % (batches, rows, SEQUENTIAL + CONCURRENT // 4, SEQUENTIAL, CONCURRENT, CONCURRENT // 4))
    stored = srv.sql("SELECT client_key FROM responses WHERE client_key LIKE ? ORDER BY client_key",
                     (tag + "-%",))
    want = sorted(["%s-s%d" % (tag, i) for i in range(SEQUENTIAL)] +
                  ["%s-c%d" % (tag, i) for i in range(CONCURRENT)])
    t.eq(sorted(k for (k,) in stored), want, "every acknowledged response is in the file once")


if __name__ == "__main__":
    ks.run(main, start_server=False)
