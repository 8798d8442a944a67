#!/usr/bin/python3
"""`klantstem copy --from SRC --to DST` (issue 18, docs/OPERATIONS.md "Moving
to PostgreSQL"): a demo database (SQLite) is copied to PostgreSQL and from
there to a new SQLite file. Every table holds the same rows on all three,
compared here row by row through sqlite3 and psycopg2 (not through the
product); the printed checksums agree across the backends; three servers
answer /api/v1/metrics alike; a new row after the copy gets the next id.
Unhappy paths: a destination in use, the same database twice, a bad URI,
a missing source, usage; a row changed or removed after the copy is found
by --verify-only, which names the table.

With KS_PG_URI unset the PostgreSQL step is a SQLite file (the same code
path on the reading side; the PostgreSQL pass of tests/run covers both)."""

import os
import re
import shutil
import sqlite3
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

# not data: a PostgreSQL node's registration and change feed (empty on SQLite)
NOT_COPIED = {"nodes", "change_feed"}
ROW = re.compile(r"^([a-z_0-9]+) +(\d+) +(\d+)  ([0-9a-f]{16}) (ok|MISMATCH)$", re.M)


def tables_of(path):
    """The data tables of a SQLite file, from its own catalogue (no FTS)."""
    c = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        names = [r[0] for r in c.execute("SELECT name FROM sqlite_schema WHERE type = 'table'"
                                         " AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'responses_fts%'"
                                         " ORDER BY name")]
        return {n: [r[1] for r in c.execute("PRAGMA table_info(%s)" % n)] for n in names if n not in NOT_COPIED}
    finally:
        c.close()


def norm(v):
    """One value as Python compares it across the drivers: a whole float is
    its int, a buffer its bytes."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, memoryview):
        return bytes(v)
    return v


def rows_of(db, table, cols):
    con = ks.db_connect(db, readonly=True)
    try:
        rows = con.execute("SELECT %s FROM %s" % (", ".join('"%s"' % c for c in cols), table)).fetchall()
    finally:
        con.close()
    return sorted((tuple(norm(v) for v in r) for r in rows), key=repr)


def compare_all(t, a, b, schema, what):
    bad = []
    n = 0
    for table, cols in sorted(schema.items()):
        ra, rb = rows_of(a, table, cols), rows_of(b, table, cols)
        n += len(ra)
        if ra != rb:
            only_a = [r for r in ra if r not in rb][:2]
            only_b = [r for r in rb if r not in ra][:2]
            bad.append((table, len(ra), len(rb), only_a, only_b))
    t.check(not bad and n > 20000, "%s: every row of every table (%d tables, %d rows) is the same" % (what, len(schema), n),
            bad[:3])
    return n


def printed(out):
    """{table: (rows, rows in dst, checksum, ok)} from the copy's table."""
    return {m.group(1): (int(m.group(2)), int(m.group(3)), m.group(4), m.group(5)) for m in ROW.finditer(out)}


def counts(db, schema):
    con = ks.db_connect(db, readonly=True)
    try:
        return {tb: con.execute("SELECT count(*) FROM %s" % tb).fetchone()[0] for tb in schema}
    finally:
        con.close()


def odd_rows(path):
    """Values that test a canonical form: quotes, a line break, emoji, a tab,
    NULLs, a float that is not short in decimal."""
    c = sqlite3.connect(path)
    try:
        ids = [r[0] for r in c.execute("SELECT id FROM customers ORDER BY id LIMIT 3")]
        c.execute("UPDATE customers SET name = ? WHERE id = ?", ("O'Neil \"Bob\"\nvan 't Hof 😀", ids[0]))
        c.execute("UPDATE customers SET name = ?, city = NULL, email = NULL WHERE id = ?", ("tab\there é", ids[1]))
        r = c.execute("SELECT kpi_id, unit_id, period FROM kpi_values ORDER BY 1, 2, 3 LIMIT 1").fetchone()
        c.execute("UPDATE kpi_values SET value = ? WHERE kpi_id = ? AND unit_id = ? AND period = ?",
                  (1.0 / 3.0,) + tuple(r))
        c.commit()
    finally:
        c.close()


def metrics_of(srv):
    out = {}
    for q in ("", "?group_by=team,month", "?group_by=touchpoint,segment", "?group_by=theme"):
        st, _, b = srv.get("/api/v1/metrics" + q, timeout=60)
        out[q] = (st, b)
    return out


def serve(t, db, name):
    srv = ks.Server(t, db=db)
    try:
        srv.start()
        m = metrics_of(srv)
        st, _, team = srv.post("/api/v1/teams", {"name": "Na de overstap", "kind": "team",
                                                   "parent_id": first_department(db)})
        srv.stop("server on %s exits 0 on SIGTERM" % name)
        return m, (st, team)
    finally:
        srv.cleanup()


def first_department(db):
    con = ks.db_connect(db, readonly=True)
    try:
        return con.execute("SELECT min(id) FROM org_units WHERE kind = 'department'").fetchone()[0]
    finally:
        con.close()


def max_id(db, table):
    con = ks.db_connect(db, readonly=True)
    try:
        return con.execute("SELECT max(id) FROM %s" % table).fetchone()[0]
    finally:
        con.close()


def main(t):
    work = tempfile.mkdtemp(prefix="ks-copy-")
    pg_names = []
    try:
        run(t, work, pg_names)
    finally:
        for n in pg_names:
            ks.pg_drop_database(n)
        shutil.rmtree(work, ignore_errors=True)


def new_db(work, pg_names, name):
    if ks.pg_mode():
        n, uri = ks.pg_new_database()
        pg_names.append(n)
        return uri
    return os.path.join(work, name)


def run(t, work, pg_names):
    a = os.path.join(work, "a.db")
    rc, out, err = ks.run_cli(["demo", "--db", a, "--scale", "2"], timeout=600)
    if not t.check(rc == 0, "demo --scale 2 fills the source (SQLite)", err[-2000:]):
        return
    odd_rows(a)
    schema = tables_of(a)
    b = new_db(work, pg_names, "b.db")
    c = os.path.join(work, "c.db")
    kind = "PostgreSQL" if ks.pg_mode() else "SQLite"

    # ---- SQLite -> PostgreSQL
    rc, out_ab, err = ks.run_cli(["copy", "--from", a, "--to", b], timeout=900)
    t.eq((rc, err), (0, ""), "copy SQLite -> %s exits 0, nothing on stderr" % kind)
    pab = printed(out_ab)
    t.eq(sorted(pab), sorted(schema), "... its table names every data table of the schema once", )
    want = counts(a, schema)
    t.eq({k: v[0] for k, v in pab.items()}, want, "... with the source's row count per table (counted here)")
    t.check(all(v[1] == v[0] and v[3] == "ok" for v in pab.values()),
            "... each verified: the same rows in the destination, checksum ok",
            [(k, v) for k, v in pab.items() if v[1] != v[0] or v[3] != "ok"])
    m = re.search(r"^copied (\d+) rows of (\d+) tables in [0-9.]+ s \((\d+) rows/s\)", out_ab, re.M)
    t.check(m and int(m.group(1)) == sum(want.values()) and int(m.group(2)) == len(schema),
            "... and the total: %d rows, %d tables, rows/s" % (sum(want.values()), len(schema)), out_ab[-400:])
    print("# copy SQLite -> %s: %s" % (kind, m.group(0) if m else "?"), flush=True)
    compare_all(t, a, b, schema, "SQLite -> %s" % kind)
    t.check(len(set(v[2] for v in pab.values() if v[0] > 0)) == len([v for v in pab.values() if v[0] > 0]),
            "the checksums of the non-empty tables all differ (a checksum of the rows, not of the count)")

    # ---- PostgreSQL -> a new SQLite file
    rc, out_bc, err = ks.run_cli(["copy", "--from", b, "--to", c], timeout=900)
    t.eq((rc, err), (0, ""), "copy %s -> a new SQLite file exits 0" % kind)
    pbc = printed(out_bc)
    t.eq({k: (v[0], v[2]) for k, v in pbc.items()}, {k: (v[0], v[2]) for k, v in pab.items()},
         "... the same rows and checksums per table as the first copy printed (one checksum on both backends)")
    compare_all(t, a, c, schema, "SQLite -> %s -> SQLite" % kind)
    con = sqlite3.connect("file:%s?mode=ro" % a, uri=True)
    th_a = con.execute("SELECT rowid, response_id, theme FROM text_themes ORDER BY rowid").fetchall()
    con.close()
    con = sqlite3.connect("file:%s?mode=ro" % c, uri=True)
    th_c = con.execute("SELECT rowid, response_id, theme FROM text_themes ORDER BY rowid").fetchall()
    fts = con.execute("SELECT count(*) FROM responses_fts WHERE responses_fts MATCH 'snel'").fetchone()[0]
    con.close()
    t.check(th_a == th_c and len(th_a) > 100, "text_themes keep their rowids (the order the store lists them in)",
            (len(th_a), len(th_c)))
    con = sqlite3.connect("file:%s?mode=ro" % a, uri=True)
    fts_a = con.execute("SELECT count(*) FROM responses_fts WHERE responses_fts MATCH 'snel'").fetchone()[0]
    con.close()
    t.check(fts == fts_a and fts > 0, "the full-text index of the last copy is filled (derived, not copied): "
            "'snel' in %d answers" % fts_a, (fts, fts_a))

    # ---- verify-only on untouched copies
    rc, out, err = ks.run_cli(["copy", "--from", a, "--to", c, "--verify-only"], timeout=600)
    t.check(rc == 0 and "compared %d tables" % len(schema) in out and "MISMATCH" not in out,
            "--verify-only of the source against the last copy: all tables ok, exit 0", (rc, out[-300:], err))

    # ---- refusals: nothing written
    before = counts(b, schema)
    rc, out, err = ks.run_cli(["copy", "--from", a, "--to", b], timeout=600)
    t.check(rc == 1 and "not empty" in err and re.search(r"table [a-z_]+ holds \d+ rows", err) and out == "",
            "copy into a destination in use is refused, naming a table that holds rows", (rc, out[-200:], err))
    t.eq(counts(b, schema), before, "... and the destination is unchanged")
    before_c = counts(c, schema)
    rc, out, err = ks.run_cli(["copy", "--from", b, "--to", c], timeout=600)
    t.check(rc == 1 and "not empty" in err, "... also a SQLite destination in use", (rc, err))
    t.eq(counts(c, schema), before_c, "... unchanged")
    rc, out, err = ks.run_cli(["copy", "--from", a, "--to", a])
    t.check(rc == 1 and "same database" in err, "the same file as source and destination is refused", (rc, err))
    rc, out, err = ks.run_cli(["copy", "--from", a, "--to", os.path.join(work, ".", "a.db")])
    t.check(rc == 1 and "same database" in err, "... also under another name of that file", (rc, err))
    if ks.pg_mode():
        rc, out, err = ks.run_cli(["copy", "--from", b, "--to", b])
        t.check(rc == 1 and "same database" in err, "... and the same URI", (rc, err))
    bad = "postgres://nobody@127.0.0.1:1/none"
    rc, out, err = ks.run_cli(["copy", "--from", a, "--to", bad])
    t.check(rc == 1 and "cannot open the destination" in err and bad in err,
            "a destination URI that cannot be reached: refused, naming it", (rc, err))
    missing = os.path.join(work, "absent.db")
    rc, out, err = ks.run_cli(["copy", "--from", missing, "--to", os.path.join(work, "d.db")])
    t.check(rc == 1 and "no database file" in err and not os.path.exists(os.path.join(work, "d.db"))
            and not os.path.exists(missing), "a missing source file is refused, and no file is made", (rc, err))
    rc, out, err = ks.run_cli(["copy", "--from", a])
    t.check(rc == 2 and "--to DST" in err, "usage: --to missing -> exit 2", (rc, err))
    rc, out, err = ks.run_cli(["copy", "--from", a, "--to", c, "--batch", "0"])
    t.check(rc == 2 and "--batch" in err, "usage: --batch 0 -> exit 2", (rc, err))
    rc, out, err = ks.run_cli(["copy", "--help"])
    t.check(rc == 0 and "--verify-only" in out, "copy --help", (rc, out))

    # ---- an injected mismatch is found and named
    con = ks.db_connect(b)
    try:
        cid = con.execute("SELECT min(id) FROM customers").fetchone()[0]
        seg = con.execute("SELECT segment FROM customers WHERE id = ?", (cid,)).fetchone()[0]
        con.execute("UPDATE customers SET segment = 'veranderd' WHERE id = ?", (cid,))
        rid = con.execute("SELECT min(response_id) FROM response_drivers").fetchone()[0]
        kept = con.execute("SELECT response_id, aspect, score FROM response_drivers WHERE response_id = ?",
                           (rid,)).fetchall()
        con.execute("DELETE FROM response_drivers WHERE response_id = ?", (rid,))
        con.commit()
    finally:
        con.close()
    gone = counts(a, {"response_drivers": 0})["response_drivers"] - counts(b, {"response_drivers": 0})["response_drivers"]
    rc, out, err = ks.run_cli(["copy", "--from", a, "--to", b, "--verify-only"], timeout=600)
    p = printed(out)
    bad_tables = sorted(k for k, v in p.items() if v[3] == "MISMATCH")
    t.eq((rc, bad_tables), (1, ["customers", "response_drivers"]),
         "--verify-only after a change in the destination: exit 1, exactly the two changed tables MISMATCH")
    t.eq(p.get("customers", (0, 0))[:2], (want["customers"], want["customers"]),
         "... customers: same count, other checksum (one field of one row changed)")
    t.eq(p.get("response_drivers", (0, 0))[:2], (want["response_drivers"], want["response_drivers"] - gone),
         "... response_drivers: %d rows fewer" % gone)
    t.check("table customers differs" in err and "table response_drivers differs" in err,
            "... and stderr names each table", err)

    # put back: then nothing differs again (no false alarm after a repair)
    con = ks.db_connect(b)
    try:
        con.execute("UPDATE customers SET segment = ? WHERE id = ?", (seg, cid))
        for r in kept:
            con.execute("INSERT INTO response_drivers (response_id, aspect, score) VALUES (?, ?, ?)", r)
        con.commit()
    finally:
        con.close()
    rc, out, err = ks.run_cli(["copy", "--from", a, "--to", b, "--verify-only"], timeout=600)
    t.check(rc == 0 and "MISMATCH" not in out and err == "", "... with the rows put back: all ok again, exit 0",
            (rc, [ln for ln in out.splitlines() if "MISMATCH" in ln], err))

    # ---- the three servers answer alike
    top = max_id(a, "org_units")
    ma, (sta, ta) = serve(t, a, "the source")
    mb, (stb, tb) = serve(t, b, kind)
    mc, (stc, tc) = serve(t, c, "the last copy")
    t.check(all(v[0] == 200 for v in ma.values()), "/api/v1/metrics answers on the source",
            {k: v[0] for k, v in ma.items()})
    t.check(ma["?group_by=team,month"][1].get("n", 0) > 1000, "... over the demo's responses",
            ks.short(ma["?group_by=team,month"][1]))
    t.eq(mb, ma, "/api/v1/metrics (total, team x month, touchpoint x segment, theme) on %s = on the source" % kind)
    t.eq(mc, ma, "... and on the last copy")
    # a new row after the copy takes the next id: PostgreSQL's sequences were moved past the copied ids
    t.eq((stb, tb.get("id")), (201, top + 1), "a team created on %s after the copy gets id max+1 (%d)" % (kind, top + 1))
    t.eq((sta, ta.get("id"), stc, tc.get("id")), (201, top + 1, 201, top + 1), "... as on the SQLite files")


    # ---- the demo itself on PostgreSQL: the same rows per table as on SQLite
    if ks.pg_mode():
        s1 = os.path.join(work, "s1.db")
        p1 = new_db(work, pg_names, "p1.db")
        rc1, _, err1 = ks.run_cli(["demo", "--db", s1, "--scale", "1"], timeout=600)
        rc2, out2, err2 = ks.run_cli(["demo", "--db", p1, "--scale", "1"], timeout=900)
        t.eq((rc1, rc2, err2), (0, 0, ""), "demo --scale 1 runs on PostgreSQL (and on SQLite)")
        m = re.search(r"demo data in \S+ \((\d+) ms\)", out2)
        print("# demo --scale 1 on PostgreSQL: %s ms" % (m.group(1) if m else "?"), flush=True)
        cs, cp = counts(s1, schema), counts(p1, schema)
        t.check(cs == cp and cs["responses"] > 500,
                "... every table holds as many rows as the SQLite demo's (%d responses)" % cs["responses"],
                {k: (cs[k], cp[k]) for k in cs if cs[k] != cp[k]})
        st = ks.Server(t, db=p1)
        try:
            st.start()
            code, _, b = st.post("/api/v1/teams", {"name": "Na de demo", "kind": "team",
                                                   "parent_id": first_department(p1)})
            t.eq((code, b.get("id")), (201, max_id(s1, "org_units") + 1),
                 "... and a team made after it gets the next id (the demo moved the sequences)")
            st.stop("server on the PostgreSQL demo exits 0 on SIGTERM")
        finally:
            st.cleanup()

ks.run(main, start_server=False)