#!/usr/bin/python3
# ks-test: pg-only (tests/run runs it in the PostgreSQL pass only)
"""test_pg_backup.py — the PostgreSQL backup documented in
docs/OPERATIONS.md ("PostgreSQL: backup and restore"), done as a
self-hoster would: pg_dump of a live database in custom format while
responses keep arriving, pg_restore into a new database, a node started on
it. What the dump holds must be whole: every response acknowledged before
pg_dump started is there, /api/v1/metrics on the restored copy equals the
counts made with SQL on it, and new rows can be written (the identity
sequences came along, so no id collides).

Needs KS_PG_URI (tests/run's PostgreSQL pass sets it); fails without it.
"""
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal, ROUND_HALF_UP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

PG_BIN = "/usr/lib/postgresql/15/bin"


def pg_tool(name):
    p = os.path.join(PG_BIN, name)
    return p if os.path.exists(p) else name


def post_response(srv, f, key, nps, days_ago=3):
    body = {"touchpoint_id": f["tp1"]["id"], "employee_id": f["emp1"]["id"], "channel": "phone",
            "client_key": key, "answers": {"nps": nps},
            "received_at": ks.iso(int(time.time()) - days_ago * 86400)}
    st, _, data = srv.post("/api/v1/responses", body)
    return st


def main(t):
    if not ks.pg_mode():
        t.check(False, "KS_PG_URI names a PostgreSQL server (tests/run's PostgreSQL pass sets it)",
                "KS_PG_URI is not set")
        return
    src = ks.Server(t)
    dst = None
    restored_name = None
    dump = os.path.join(src.dir, "klantstem.dump")
    try:
        src.start()
        f = ks.base_fixture(src)
        before = [post_response(src, f, "pre-%d" % i, i % 11) for i in range(40)]
        t.eq(sorted(set(before)), [201], "40 responses acknowledged before the dump")

        # writes go on during the dump
        stop = threading.Event()
        during = []

        def writer():
            i = 0
            while not stop.is_set():
                i += 1
                during.append((post_response(src, f, "during-%d" % i, i % 11), "during-%d" % i))
        w = threading.Thread(target=writer, daemon=True)
        w.start()
        time.sleep(0.3)
        r = subprocess.run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", dump, src.db],
                           capture_output=True, text=True, timeout=120)
        stop.set()
        w.join(30)
        t.check(r.returncode == 0 and os.path.getsize(dump) > 0, "pg_dump --format=custom of the live database",
                r.stderr[-2000:])

        restored_name, restored_uri = ks.pg_new_database()
        r = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", restored_uri, dump],
                           capture_output=True, text=True, timeout=120)
        t.check(r.returncode == 0, "pg_restore into a new, empty database", r.stderr[-2000:])

        con = ks.db_connect(restored_uri, readonly=True)
        try:
            keys = {k for (k,) in con.execute("SELECT client_key FROM responses WHERE client_key IS NOT NULL")}
            version = con.execute("SELECT version FROM ks_schema_version").fetchall()
            n_sql = con.execute("SELECT count(*) FROM responses").fetchall()[0][0]
            nps_sql = con.execute("SELECT sum(CASE WHEN nps >= 9 THEN 1 ELSE 0 END),"
                                  " sum(CASE WHEN nps <= 6 THEN 1 ELSE 0 END) FROM responses").fetchall()[0]
        finally:
            con.close()
        t.eq(sorted(k for k in ("pre-%d" % i for i in range(40)) if k not in keys), [],
             "every response acknowledged before pg_dump started is in the backup")
        t.eq(version, [(ks.schema_version(),)], "the backup is at the schema version of the tree's migrations")
        t.check(len(during) > 0, "responses were being written while pg_dump ran (%d posts)" % len(during), "")

        dst = ks.Server(t, db=restored_uri)
        dst.start()
        st, _, m = dst.get("/api/v1/metrics")
        t.check(st == 200 and isinstance(m, dict), "a node starts on the restored database", ks.got(st, m))
        if isinstance(m, dict):
            t.eq(m.get("n"), n_sql, "/metrics on the restored copy counts the rows SQL counts there")
            prom, det = nps_sql
            # half away from zero on the exact value, as docs/STATISTICS.md says
            q = Decimal(int(prom) - int(det)) * 100 / Decimal(n_sql)
            want_nps = float(q.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
            t.eq((m.get("nps") or {}).get("value"), want_nps, "and its NPS is the one computed from those rows")
        t.eq(post_response(dst, f, "after-restore", 9), 201,
             "a new response on the restored copy is stored (the identity sequences came along)")
        dst.stop()
        src.stop()
    finally:
        if dst is not None:
            dst.cleanup()
        src.cleanup()
        if restored_name:
            ks.pg_drop_database(restored_name)


if __name__ == "__main__":
    ks.run(main, start_server=False)
