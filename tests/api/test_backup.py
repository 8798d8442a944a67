#!/usr/bin/python3
"""`klantstem backup` and `klantstem restore` (docs/OPERATIONS.md "Backup and
restore"): a backup taken while four threads post responses holds every
response acknowledged before it started, each whole, passes integrity_check
and matches the counts it printed; restored into a new path a server's
/api/v1/metrics counts what the test counts in the backup with sqlite3.
Unhappy paths: existing target, missing directory, not a klantstem
database, usage errors, restore beside a running server, corrupt and
newer-schema backups (nothing replaced), and a backup SIGKILLed mid-way
(nothing under the final name)."""

import datetime
import glob
import hashlib
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

THREADS = 4
TABLES = ("customers", "surveys", "responses", "invitations", "cases", "users", "mentions")


def body_for(f, key, i):
    return {"client_key": key, "touchpoint_id": f["tp1"]["id"], "employee_id": f["emp1"]["id"],
            "customer_id": f["cust_nl"]["id"], "channel": "web",
            "answers": {"nps": i % 11, "grade": 1 + i % 10, "open": "backup test %s" % key}}


class Load:
    """THREADS threads posting responses; acked[key] = (id, i, monotonic time of the 2xx)."""

    def __init__(self, srv, f, tag):
        self.srv, self.f, self.tag = srv, f, tag
        self.acked, self.bad = {}, []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.worker, args=(w,)) for w in range(THREADS)]

    def worker(self, w):
        i = 0
        while not self.stop.is_set():
            key = "%s-w%d-%d" % (self.tag, w, i)
            try:
                st, _, r = ks.http_request(self.srv.port, "POST", "/api/v1/responses",
                                           body_for(self.f, key, i), timeout=30)
            except Exception as ex:  # noqa: BLE001 - any failure is a finding
                with self.lock:
                    self.bad.append((key, repr(ex)))
                i += 1
                continue
            now = time.monotonic()
            with self.lock:
                if st in (200, 201) and isinstance(r, dict):
                    self.acked[key] = (r.get("id"), i, now)
                else:
                    self.bad.append((key, st, r))
            i += 1

    def start(self):
        for th in self.threads:
            th.start()

    def finish(self):
        self.stop.set()
        for th in self.threads:
            th.join(timeout=60)
        return not any(th.is_alive() for th in self.threads)

    def acked_before(self, t):
        with self.lock:
            return {k: v for k, v in self.acked.items() if v[2] < t}


def printed_counts(out):
    """{table: rows} from the CLI's '  table  N' lines."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^  ([a-z_]+) +(\d+)$", out, re.M)}


def sha(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def db_counts(path):
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return {tb: c.execute("SELECT count(*) FROM %s" % tb).fetchone()[0] for tb in TABLES}
    finally:
        c.close()


def check_backup_under_load(t, srv, f, work):
    tag = ks.uniq("bk")
    load = Load(srv, f, tag)
    load.start()
    time.sleep(1.0)
    backup = os.path.join(work, "backup.db")
    t_start = time.monotonic()
    before = load.acked_before(t_start)
    rc, out, err = ks.run_cli(["backup", "--db", srv.db, "--to", backup], timeout=120)
    t_end = time.monotonic()
    time.sleep(0.5)
    done = load.finish()
    t.check(done, "load threads finish", "")
    t.eq(load.bad, [], "every post during the backup is acknowledged (the writer is never blocked)")
    t.eq(rc, 0, "backup under load exits 0")
    t.eq(err, "", "backup under load writes nothing on stderr (no error, no sanitizer report)")
    t.check(len(before) >= 20, "responses were acknowledged before the backup started", len(before))
    with load.lock:
        during = sum(1 for v in load.acked.values() if t_start <= v[2] <= t_end)
    t.check(during > 0, "the server acknowledged responses while the backup ran", during)
    if rc != 0 or not os.path.exists(backup):
        return None
    t.eq(sorted(os.listdir(work)), ["backup.db"], "no temporary, -wal or -shm file beside the backup")
    c = sqlite3.connect("file:%s?mode=ro" % backup, uri=True)
    try:
        t.eq(c.execute("PRAGMA integrity_check").fetchall(), [("ok",)], "the backup passes integrity_check")
        t.eq(c.execute("PRAGMA user_version").fetchone()[0], ks.schema_version(),
             "the backup's schema version is the source's")
        rows = {k: (rid, nps, grade, txt) for k, rid, nps, grade, txt in c.execute(
            "SELECT client_key, id, nps, grade, open_text FROM responses WHERE client_key LIKE ?",
            (tag + "-%",))}
    finally:
        c.close()
    missing = [k for k in before if k not in rows]
    t.eq(missing, [], "every response acknowledged before the backup started is in it (%d)" % len(before))
    wrong_id = [k for k, v in before.items() if k in rows and rows[k][0] != v[0]]
    t.eq(wrong_id, [], "each under the id its 2xx gave")
    half = []
    for k, (rid, nps, grade, txt) in rows.items():
        i = int(k.rsplit("-", 1)[1])
        if (nps, grade, txt) != (i % 11, 1 + i % 10, "backup test %s" % k):
            half.append((k, nps, grade, txt))
    t.eq(half, [], "every response in the backup is whole (its nps, grade and text as posted)")
    unknown = [k for k in rows if k not in load.acked and not any(b[0] == k for b in load.bad)]
    t.eq(unknown, [], "the backup holds no response that was not posted")
    t.check(len(rows) < len(load.acked), "the backup is a snapshot: responses acknowledged after it are not in it",
            (len(rows), len(load.acked)))
    want = db_counts(backup)
    t.eq(printed_counts(out), want, "the counts the backup printed are the backup's (sqlite3 count(*))")
    t.check(re.search(r"schema version %d," % ks.schema_version(), out) is not None,
            "the backup prints its schema version", out)
    return backup


def check_restore(t, backup, work):
    target = os.path.join(work, "restored", "ks.db")
    os.makedirs(os.path.dirname(target))
    rc, out, err = ks.run_cli(["restore", "--from", backup, "--db", target])
    t.eq((rc, err), (0, ""), "restore into a new path exits 0")
    if rc != 0:
        return None
    t.eq(sha(target), sha(backup), "the restored file is the backup, byte for byte")
    t.eq(printed_counts(out), db_counts(backup), "restore prints the backup's counts")
    c = sqlite3.connect("file:%s?mode=ro" % backup, uri=True)
    try:
        n_resp = c.execute("SELECT count(*) FROM responses").fetchone()[0]
        n_nps = c.execute("SELECT count(*) FROM responses WHERE nps IS NOT NULL").fetchone()[0]
    finally:
        c.close()
    # the index counts answers up to the start of today: look from tomorrow
    tomorrow = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)).strftime(
        "%Y-%m-%dT12:00:00Z")
    srv2 = ks.Server(t, db=target, args=["--test-clock", tomorrow])
    try:
        hz = srv2.start()
        t.healthz(hz, "a server starts on the restored database")
        st, _, m = srv2.get("/api/v1/metrics")
        t.eq(st, 200, "/api/v1/metrics on the restored database is 200")
        if st == 200:
            t.eq(m.get("n"), n_resp, "/metrics n = the backup's responses counted with sqlite3 (%d)" % n_resp)
            t.eq((m.get("nps") or {}).get("n"), n_nps, "/metrics nps.n = the backup's nps answers")
        srv2.stop("the server on the restored database exits 0 on SIGTERM")
    finally:
        srv2.cleanup()
    return target


def check_backup_refusals(t, srv, backup, work):
    h = sha(backup)
    rc, out, err = ks.run_cli(["backup", "--db", srv.db, "--to", backup])
    t.eq(rc, 1, "backup onto an existing file exits 1")
    t.check("%s: exists (use --force to replace it)" % backup in err, "... naming the file and --force", err)
    t.eq(sha(backup), h, "... and leaves the existing file as it was")
    # a stale -wal beside the name (another database's log) must not be replayed onto the new backup
    c = sqlite3.connect(backup)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("DELETE FROM responses")
    c.commit()
    shutil.copyfile(backup + "-wal", os.path.join(work, "stale-wal"))
    c.close()
    shutil.copyfile(backup, os.path.join(work, "stale-main"))
    os.replace(os.path.join(work, "stale-wal"), backup + "-wal")
    open(backup + "-shm", "wb").close()  # as a crash leaves it (no -shm beside a -wal: refused)
    os.unlink(os.path.join(work, "stale-main"))
    rc, out, err = ks.run_cli(["backup", "--db", srv.db, "--to", backup, "--force"])
    t.eq(rc, 0, "backup --force onto an existing file exits 0")
    t.check(not os.path.exists(backup + "-wal"), "... and removes a stale -wal beside it", os.listdir(work))
    got = db_counts(backup)
    t.check(got["responses"] > 0 and got == printed_counts(out),
            "... whose log is not replayed: the new backup holds the printed counts", (got, out))
    t.eq(sorted(os.listdir(work)), ["backup.db", "restored"], "--force leaves no temporary file")
    h = sha(backup)
    rc, out, err = ks.run_cli(["backup", "--db", backup, "--to", backup, "--force"])
    t.eq(rc, 1, "backup of a file onto itself (--force) exits 1")
    t.check("%s: is the database itself" % backup in err, "... saying so", err)
    t.eq(sha(backup), h, "... and leaves it as it was")
    nodir = os.path.join(work, "no", "such", "b.db")
    rc, out, err = ks.run_cli(["backup", "--db", srv.db, "--to", nodir])
    t.eq(rc, 1, "backup into a missing directory exits 1")
    t.check("%s: no such directory" % nodir in err, "... naming the target", err)
    plain = os.path.join(work, "plain.db")
    c = sqlite3.connect(plain)
    c.execute("CREATE TABLE notes (x)")
    c.commit()
    c.close()
    rc, out, err = ks.run_cli(["backup", "--db", plain, "--to", os.path.join(work, "p.bak")])
    t.eq(rc, 1, "backup of a SQLite file that is not a klantstem database exits 1")
    t.check("%s: not a klantstem database" % plain in err, "... saying so", err)
    text = os.path.join(work, "text.db")
    with open(text, "w") as fh:
        fh.write("just some text, not a database at all\n" * 200)
    rc, out, err = ks.run_cli(["backup", "--db", text, "--to", os.path.join(work, "t.bak")])
    t.eq(rc, 1, "backup of a text file exits 1")
    t.check(text in err and "klantstem:" in err, "... naming the file", err)
    t.eq(sorted(p for p in os.listdir(work) if p.endswith(".bak") or ".tmp-" in p), [],
         "refused backups leave no file behind")
    rc, out, err = ks.run_cli(["backup", "--db", os.path.join(work, "absent.db"), "--to",
                               os.path.join(work, "a.bak")])
    t.eq(rc, 1, "backup of a missing database exits 1")
    t.check("no database file at" in err, "... saying there is none", err)
    for args, what in ((["backup", "--db", srv.db], "without --to"),
                       (["backup", "--to", backup], "without --db"),
                       (["backup", "--db", srv.db, "--to", backup, "--bogus"], "with an unknown option"),
                       (["backup", "--db", srv.db, "--to", backup, "--step-pages", "x"], "with a bad --step-pages"),
                       (["backup", "--db", srv.db, "--to", backup, "--pause-ms", "10001"], "with --pause-ms over 10000"),
                       (["backup", "--db", srv.db, "--to", backup, "--step-pages", "-1"], "with a negative --step-pages"),
                       (["restore", "--db", srv.db], "restore without --from")):
        rc, out, err = ks.run_cli(args)
        t.eq(rc, 2, "%s %s is a usage error (exit 2)" % (args[0], what))
        t.check("usage: klantstem %s" % args[0] in err, "... printing the usage", err)
    rc, out, err = ks.run_cli(["backup", "--help"])
    t.check(rc == 0 and "usage: klantstem backup" in out, "backup --help prints the usage, exit 0", (rc, out))


def check_restore_refusals(t, srv, f, backup, target, work):
    # a running server holds its database: refused, the server goes on
    before = sha(backup)
    rc, out, err = ks.run_cli(["restore", "--from", backup, "--db", srv.db])
    t.eq(rc, 1, "restore onto the database of a running server exits 1")
    t.check("holds the database open" in err and srv.db in err, "... naming the database and why", err)
    st, _, r = srv.post("/api/v1/responses", body_for(f, ks.uniq("after-refusal"), 3))
    t.check(st in (200, 201), "the server still takes responses after the refused restore", (st, r))
    t.eq(sha(backup), before, "the backup file is untouched")
    # corrupt backup: garbage over the middle pages
    h = sha(target)
    bad = os.path.join(work, "corrupt.db")
    shutil.copyfile(backup, bad)
    size = os.path.getsize(bad)
    with open(bad, "r+b") as fh:
        fh.seek(4096 * 2)
        fh.write(os.urandom(min(4096 * 4, max(0, size - 4096 * 2))))
    rc, out, err = ks.run_cli(["restore", "--from", bad, "--db", target])
    t.eq(rc, 1, "restore of a corrupt backup exits 1")
    t.check(bad in err and ("integrity check failed" in err or "cannot open" in err or "not a klantstem" in err),
            "... naming the backup and the failed check", err)
    t.eq(sha(target), h, "... and the database is not replaced")
    d = os.path.dirname(target)
    t.eq(sorted(p for p in os.listdir(d) if ".tmp-" in p), [], "... and leaves no temporary file")
    # a text file
    junk = os.path.join(work, "junk.db")
    with open(junk, "w") as fh:
        fh.write("not a backup\n" * 1000)
    rc, out, err = ks.run_cli(["restore", "--from", junk, "--db", target])
    t.eq(rc, 1, "restore of a text file exits 1")
    t.eq(sha(target), h, "... the database not replaced")
    # a newer schema
    newer = os.path.join(work, "newer.db")
    shutil.copyfile(backup, newer)
    c = sqlite3.connect(newer)
    c.execute("PRAGMA user_version=%d" % (ks.schema_version() + 1))
    c.commit()
    c.close()
    rc, out, err = ks.run_cli(["restore", "--from", newer, "--db", target])
    t.eq(rc, 1, "restore of a backup with a newer schema exits 1")
    t.check("schema version %d is newer" % (ks.schema_version() + 1) in err, "... saying so", err)
    t.eq(sha(target), h, "... the database not replaced")
    rc, out, err = ks.run_cli(["restore", "--from", srv.db, "--db", target])
    t.eq(rc, 1, "restore from a live database (a -wal beside it) exits 1")
    t.check("%s: has a -wal beside it" % srv.db in err, "... saying so", err)
    t.eq(sha(target), h, "... the database not replaced")
    rc, out, err = ks.run_cli(["restore", "--from", target, "--db", target])
    t.eq(rc, 1, "restore of a file onto itself exits 1")
    t.check("%s: is the backup itself" % target in err, "... saying so", err)
    t.eq(sha(target), h, "... and leaves it as it was")
    rc, out, err = ks.run_cli(["restore", "--from", os.path.join(work, "absent.bak"), "--db", target])
    t.eq(rc, 1, "restore from a missing file exits 1")
    # restore over an existing (stopped) database with a stale -wal beside it
    # (and the -shm a crash leaves: without it a non-empty -wal is refused)
    with open(target + "-wal", "wb") as fh:
        fh.write(b"stale")
    open(target + "-shm", "wb").close()
    rc, out, err = ks.run_cli(["restore", "--from", backup, "--db", target])
    t.eq((rc, err), (0, ""), "restore over a stopped database exits 0")
    t.check(not os.path.exists(target + "-wal") and not os.path.exists(target + "-shm"),
            "... and removes the old database's -wal and -shm", os.listdir(d))
    t.eq(db_counts(target), db_counts(backup), "... the database now holds the backup's rows")


def check_restore_sides(t, backup, target, work):
    """What lies beside the target: a leftover log when the main file is
    gone, a -shm that cannot be read, a -wal without -shm; owner and mode."""
    want = db_counts(backup)
    # 1. the main file gone, the old database's -wal (it deletes every response) and -shm left
    gone = os.path.join(work, "gone", "ks.db")
    os.makedirs(os.path.dirname(gone))
    shutil.copyfile(backup, gone)
    c = sqlite3.connect(gone)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA wal_autocheckpoint=0")
    c.execute("DELETE FROM responses")
    c.commit()
    shutil.copyfile(gone + "-wal", gone + ".aside-wal")
    shutil.copyfile(gone + "-shm", gone + ".aside-shm")
    c.close()
    os.unlink(gone)
    os.replace(gone + ".aside-wal", gone + "-wal")
    os.replace(gone + ".aside-shm", gone + "-shm")
    t.check(os.path.getsize(gone + "-wal") > 0, "(the leftover -wal holds frames)", os.path.getsize(gone + "-wal"))
    rc, out, err = ks.run_cli(["restore", "--from", backup, "--db", gone])
    t.eq((rc, err), (0, ""), "restore where only a leftover -wal and -shm remain exits 0")
    t.check(not os.path.exists(gone + "-wal") and not os.path.exists(gone + "-shm"),
            "... removing the leftover -wal and -shm", os.listdir(os.path.dirname(gone)))
    t.eq(db_counts(gone), want, "... and the leftover log is not replayed: the backup's rows (%d responses)"
         % want["responses"])
    # 2. a -shm that cannot be opened (here a symlink loop: ELOOP) - cannot tell who holds it
    h = sha(target)
    with open(target + "-wal", "wb") as fh:
        fh.write(b"w" * 4096)
    os.symlink(os.path.basename(target) + "-shm", target + "-shm")
    rc, out, err = ks.run_cli(["restore", "--from", backup, "--db", target])
    t.eq(rc, 1, "restore when the -shm cannot be opened exits 1")
    t.check("%s: cannot tell whether a server holds it" % target in err, "... saying it cannot tell", err)
    t.eq((sha(target), os.path.getsize(target + "-wal")), (h, 4096), "... the database and its -wal untouched")
    os.unlink(target + "-shm")
    # 3. no -shm but a non-empty -wal (a server holding an unlinked -shm, or a crash)
    rc, out, err = ks.run_cli(["restore", "--from", backup, "--db", target])
    t.eq(rc, 1, "restore with a non-empty -wal and no -shm exits 1")
    t.check("missing beside a non-empty -wal" in err and target in err, "... saying so", err)
    t.eq((sha(target), os.path.getsize(target + "-wal")), (h, 4096), "... the database and its -wal untouched")
    os.unlink(target + "-wal")
    # 4. owner and mode of the replaced file are kept
    os.chown(target, 4321, 4322)
    os.chmod(target, 0o640)
    rc, out, err = ks.run_cli(["restore", "--from", backup, "--db", target])
    t.eq((rc, err), (0, ""), "restore over a database owned by 4321:4322, mode 0640, exits 0")
    st = os.stat(target)
    t.eq((st.st_uid, st.st_gid, oct(st.st_mode & 0o7777)), (4321, 4322, "0o640"),
         "... and the restored file keeps that owner and mode")
    t.eq(db_counts(target), want, "... holding the backup's rows")


def check_restore_older(t, work):
    """A backup of the schema before the newest (built here from the tree's
    migration files, all but the last) restores, and the server migrates it."""
    files = sorted(glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))
    old = os.path.join(work, "older.db")
    c = sqlite3.connect(old)
    for path in files[:-1]:
        with open(path) as fh:
            c.executescript("BEGIN;\n" + fh.read() + "\n;COMMIT;")
    c.execute("PRAGMA user_version=%d" % (ks.schema_version() - 1))
    c.commit()
    c.close()
    target = os.path.join(work, "older-restored", "ks.db")
    os.makedirs(os.path.dirname(target))
    rc, out, err = ks.run_cli(["restore", "--from", old, "--db", target])
    t.eq((rc, err), (0, ""), "restore of a backup one schema version older exits 0")
    t.check("schema version %d," % (ks.schema_version() - 1) in out, "... printing its (older) version", out)
    srv2 = ks.Server(t, db=target)
    try:
        hz = srv2.start()
        t.healthz(hz, "a server on the restored older database migrates it to the tree's schema")
        srv2.stop("the server on the migrated database exits 0 on SIGTERM")
    finally:
        srv2.cleanup()
    c = sqlite3.connect("file:%s?mode=ro" % target, uri=True)
    try:
        t.eq(c.execute("PRAGMA user_version").fetchone()[0], ks.schema_version(),
             "the restored file is at the tree's schema version after the server opened it")
    finally:
        c.close()


def check_sigkill(t, srv, work):
    dest = os.path.join(work, "killed", "k.db")
    os.makedirs(os.path.dirname(dest))
    p = ks.spawn([ks.binary(), "backup", "--db", srv.db, "--to", dest, "--step-pages", "1", "--pause-ms", "40"],
                 env=ks.sanitizer_env())
    tmp = []
    deadline = time.time() + 20
    while time.time() < deadline and not tmp:
        tmp = glob.glob(os.path.join(os.path.dirname(dest), ".k.db.tmp-*"))
        time.sleep(0.02)
    time.sleep(0.3)
    running = p.poll() is None
    t.check(tmp and running, "a slow backup is mid-way (its temporary file exists, it runs)", (tmp, p.poll()))
    p.send_signal(signal.SIGKILL)
    p.wait()
    t.check(not os.path.exists(dest), "a backup killed with SIGKILL leaves no file under the final name",
            os.listdir(os.path.dirname(dest)))
    # the next backup to the same name is fine (the leftover has another name); it removes a
    # leftover of this target older than 2 minutes (a killed backup's), not a fresh one (maybe running)
    left = glob.glob(os.path.join(os.path.dirname(dest), ".k.db.tmp-??????"))
    t.eq(len(left), 1, "the killed backup left its temporary file")
    other = os.path.join(os.path.dirname(dest), ".other.db.tmp-BBBBBB")
    open(other, "wb").close()
    old = time.time() - 300
    for p in glob.glob(os.path.join(os.path.dirname(dest), ".k.db.tmp-*")) + [other]:
        os.utime(p, (old, old))
    fresh = os.path.join(os.path.dirname(dest), ".k.db.tmp-AAAAAA")
    open(fresh, "wb").close()
    rc, out, err = ks.run_cli(["backup", "--db", srv.db, "--to", dest])
    t.eq(rc, 0, "a backup after the killed one succeeds")
    t.eq(sorted(os.listdir(os.path.dirname(dest))), sorted(["k.db", ".k.db.tmp-AAAAAA", ".other.db.tmp-BBBBBB"]),
         "... removing the killed one's 5-minute-old temporary file, not a fresh one nor another target's")
    t.check(left and left[0] in err and "did not finish" in err, "... and saying so on stderr", err)


def check_pg_refusals(t, srv, f, work):
    """issue 18: on PostgreSQL `backup` and `restore` refuse the database and
    name the tools that do it (pg_dump, pg_restore); nothing is written."""
    before = srv.sql("SELECT count(*) FROM customers")[0][0]
    target = os.path.join(work, "pg.bak")
    rc, out, err = ks.run_cli(["backup", "--db", srv.db, "--to", target])
    t.eq((rc, out), (1, ""), "backup of a postgres:// database is refused (exit 1)")
    t.check("PostgreSQL database" in err and "pg_dump -Fc" in err and srv.db in err and "OPERATIONS.md" in err,
            "... saying it is a PostgreSQL database and pointing at pg_dump", err)
    t.check(not os.path.exists(target) and os.listdir(work) == [], "... and writing no file", os.listdir(work))
    rc, out, err = ks.run_cli(["backup", "--to", target, "--db", srv.db, "--force"])
    t.check(rc == 1 and "pg_dump" in err, "... whatever the order of the options", (rc, err))
    # the --from file need not exist: the database is refused before anything is read
    rc, out, err = ks.run_cli(["restore", "--from", os.path.join(work, "absent.bak"), "--db", srv.db])
    t.eq((rc, out), (1, ""), "restore into a postgres:// database is refused (exit 1)")
    t.check("pg_restore" in err and "klantstem copy" in err and srv.db in err,
            "... pointing at pg_restore and at klantstem copy for a SQLite backup", err)
    t.eq(srv.sql("SELECT count(*) FROM customers")[0][0], before, "... the database is untouched")
    # a SQLite file is still a backup's business: not refused as PostgreSQL
    rc, out, err = ks.run_cli(["backup", "--db", os.path.join(work, "absent.db"), "--to", target])
    t.check(rc == 1 and "pg_dump" not in err and "no database file" in err,
            "a SQLite path is not taken for PostgreSQL (missing file: its own message)", err)
    st, _, b = srv.get("/api/v1/customers")
    t.status((st, None, b), 200, "the server still serves after the refusals")


def main(t, srv):
    f = ks.base_fixture(srv)
    work = tempfile.mkdtemp(prefix="ks-backup-")
    if ks.pg_mode():
        try:
            check_pg_refusals(t, srv, f, work)
            print("# skipped on PostgreSQL: the online backup under load, restore, its refusals and the killed "
                  "backup are SQLite's file operations (tested in the SQLite pass); a PostgreSQL database is "
                  "pg_dump's", flush=True)
            check_restore_older(t, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    try:
        backup = check_backup_under_load(t, srv, f, work)
        if backup is None:
            return
        target = check_restore(t, backup, work)
        check_backup_refusals(t, srv, backup, work)
        if target:
            check_restore_refusals(t, srv, f, backup, target, work)
            if os.geteuid() == 0:
                check_restore_sides(t, backup, target, work)
            else:
                t.check(False, "check_restore_sides needs root (chown)", os.geteuid())
        check_restore_older(t, work)
        check_sigkill(t, srv, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


ks.run(main)
