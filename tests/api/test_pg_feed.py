#!/usr/bin/python3
# ks-test: pg-only (tests/run runs it in the PostgreSQL pass only)
"""test_pg_feed.py — the change feed between nodes is pruned by the
followers' cursors, never by age, and a node that was taken for gone
rebuilds its in-memory copy instead of missing rows (issue 18, review;
src/store/pg_follow.c and sqlite_nodes.c explain both).

Two nodes A and B on one PostgreSQL database, on a test clock (A's
scheduler pass, which prunes, runs when the test asks). Another writer (a
psycopg2 transaction, as a third node or a script) inserts responses.

- a follower that is behind holds pruning back: B is stopped (SIGSTOP: its
  connections and its node lock stay), five responses are written and
  their feed rows made two hours old (as if B's follower had failed, or
  a transaction had been open, for that long); A's pass keeps them (the
  rule before deleted feed rows older than an hour, and B never counted
  those responses); B, continued, counts them within a second; once both
  followers have read past them (their beats), A's next pass deletes them;
- a node taken for gone: B stopped again and its node lock dropped (its
  LISTEN connection terminated), five more responses and a score change;
  once B's beat is older than 30 s, A's pass prunes past B's cursor and
  marks B (nodes.feed_pruned); B, continued, rebuilds from the tables: its
  count and NPS equal the database's, feed_pruned is cleared, its log says
  why.

Needs KS_PG_URI: fails, not skips, without it.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

CLOCK = "2026-01-12T10:00:00Z"
PAST = ks.parse_iso(CLOCK) - 3 * 86400
NODE_LOCK_CLASS = 0x6b6e  # SQ_NODE_LOCK_CLASS (src/store/sqlite_int.h)
STALE_S = 30              # SQ_NODE_STALE_S (src/store/sqlite_nodes.c)


def metrics(srv, org):
    st, _, body = srv.get("/api/v1/metrics?team_id=%d" % org)
    return body if st == 200 and isinstance(body, dict) else {}


def db_truth(srv, org_teams):
    """count(*) and the NPS of the fixture's teams, computed here."""
    rows = srv.sql("SELECT nps FROM responses WHERE team_id IN (%s)" % ",".join(str(int(x)) for x in org_teams))
    n = len(rows)
    scored = [r[0] for r in rows if r[0] is not None]
    nps = None
    if scored:
        pro = sum(1 for x in scored if x >= 9)
        det = sum(1 for x in scored if x <= 6)
        nps = round(100.0 * (pro - det) / len(scored))
    return n, nps


def wait_equal(srv, org, teams, timeout):
    """Seconds until the node's n and NPS equal the database's, or None."""
    t0 = time.time()
    while True:
        n, nps = db_truth(srv, teams)
        m = metrics(srv, org)
        got_nps = m.get("nps")
        if isinstance(got_nps, dict):
            got_nps = got_nps.get("value")
        if m.get("n") == n and (nps is None or (got_nps is not None and round(float(got_nps)) == nps)):
            return time.time() - t0
        if time.time() - t0 > timeout:
            return None
        time.sleep(0.05)


def write_responses(srv, f, k):
    """k responses committed by another writer; their ids."""
    con = ks.db_connect(srv.db, readonly=False)
    try:
        ids = [con.execute("INSERT INTO responses(team_id, touchpoint_id, channel, language, nps, received_at, source)"
                           " VALUES (?, ?, ?, 'nl', ?, ?, 'api') RETURNING id",
                           (f["team"]["id"], f["tp1"]["id"], f["channel"], 10 if i % 2 else 2, PAST)).fetchone()[0]
               for i in range(k)]
        con.commit()
        return ids
    finally:
        con.close()


def feed_rows(srv, ids):
    return srv.sql("SELECT count(*) FROM change_feed WHERE kind = 'response' AND ref_id IN (%s)"
                   % ",".join(str(int(x)) for x in ids))[0][0]


def node_row(srv, node):
    return srv.sql("SELECT feed_horizon, feed_pruned, extract(epoch FROM now())::bigint - seen_at FROM nodes"
                   " WHERE id = ?", (node,))[0]


def prune_pass(a, clock):
    """A's scheduler pass (its nodes pass: 61 s of its clock later)."""
    clock[0] += 61
    ks.set_clock(a, clock[0])
    st, _, body = a.post("/api/v1/admin/scheduler/run", timeout=120)
    if st != 200:
        raise ks.FixtureError("scheduler/run on A -> %s %s" % (st, ks.short(body)))


def wait_until(what, fn, timeout):
    t0 = time.time()
    while not fn():
        if time.time() - t0 > timeout:
            raise ks.FixtureError("waited %d s for %s" % (timeout, what))
        time.sleep(0.2)


def main(t):
    if not ks.pg_mode():
        t.check(False, "KS_PG_URI names a PostgreSQL server (tests/run's PostgreSQL pass sets it)")
        return
    args = ["--test-clock", CLOCK, "--quiet"]
    a = ks.Server(t, args=args)
    b = None
    stopped = [False]
    try:
        a.start()
        f = ks.base_fixture(a)
        f["channel"] = a.sql("SELECT code FROM channels ORDER BY code LIMIT 1")[0][0]
        org, teams = f["org"]["id"], [f["team"]["id"]]
        write_responses(a, f, 12)  # over min-n: the NPS is shown, and compared below
        b = ks.Server(t, db=a.db, args=args)
        b.start()
        clock = [ks.parse_iso(CLOCK)]
        node_a = a.sql("SELECT id FROM nodes WHERE pid = ?", (a.proc.pid,))[0][0]
        node_b = a.sql("SELECT id FROM nodes WHERE pid = ?", (b.proc.pid,))[0][0]
        t.check(wait_equal(b, org, teams, 2.0) is not None and metrics(b, org).get("nps") is not None,
                "fixture: B counts what the database holds, its NPS shown", ks.short(metrics(b, org)))
        wait_until("both nodes' cursors", lambda: node_row(a, node_a)[0] is not None
                   and node_row(a, node_b)[0] is not None, 15)

        # 1. a follower that is behind holds pruning back
        os.kill(b.proc.pid, signal.SIGSTOP)
        stopped[0] = True
        ids = write_responses(a, f, 5)
        con = ks.db_connect(a.db, readonly=False)
        try:
            con.execute("UPDATE change_feed SET at = at - 7200")
            con.commit()
        finally:
            con.close()
        prune_pass(a, clock)
        t.eq(feed_rows(a, ids), 5, "behind: A's pass keeps the 5 feed rows stopped B has not read, two hours old")
        os.kill(b.proc.pid, signal.SIGCONT)
        stopped[0] = False
        lat = wait_equal(b, org, teams, 2.0)
        t.check(lat is not None, "behind: B, continued, counts the 5 responses within 2 s (n and NPS as the database)",
                "B: %s, database: %s" % (ks.short(metrics(b, org)), db_truth(a, teams)))
        top = a.sql("SELECT max(xid) FROM change_feed WHERE kind = 'response' AND ref_id IN (%s)"
                    % ",".join(str(x) for x in ids))[0][0]
        wait_until("both cursors past the rows", lambda: (node_row(a, node_a)[0] or 0) > top
                   and (node_row(a, node_b)[0] or 0) > top, 25)
        prune_pass(a, clock)
        t.eq(feed_rows(a, ids), 0, "behind: once both followers read past them, A's next pass deletes the rows")

        # 2. a node taken for gone rebuilds from the tables
        os.kill(b.proc.pid, signal.SIGSTOP)
        stopped[0] = True
        lock_pids = a.sql("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND granted AND classid = ?"
                          " AND objid = ?", (NODE_LOCK_CLASS, node_b))
        t.eq(len(lock_pids), 1, "gone: B's node lock is held by one session")
        con = ks.db_connect(a.db, readonly=False)
        try:
            con.execute("SELECT pg_terminate_backend(?)", (lock_pids[0][0],)).fetchall()
            con.commit()
        finally:
            con.close()
        ids = write_responses(a, f, 5)
        first = a.sql("SELECT min(id) FROM responses WHERE team_id = ? AND nps IS NOT NULL", (teams[0],))[0][0]
        con = ks.db_connect(a.db, readonly=False)
        try:
            con.execute("UPDATE responses SET nps = CASE WHEN nps >= 9 THEN 0 ELSE 10 END WHERE id = ?", (first,))
            con.commit()
        finally:
            con.close()
        wait_until("B's beat %d s old" % STALE_S, lambda: node_row(a, node_b)[2] > STALE_S + 1, STALE_S + 20)
        prune_pass(a, clock)
        horizon_b, pruned_b, _ = node_row(a, node_b)
        t.check(pruned_b is not None and pruned_b > horizon_b and feed_rows(a, ids) == 0,
                "gone: A's pass prunes past B's cursor (B's lock free, its beat old) and marks B's row",
                "feed_horizon %s, feed_pruned %s, rows left %d" % (horizon_b, pruned_b, feed_rows(a, ids)))
        os.kill(b.proc.pid, signal.SIGCONT)
        stopped[0] = False
        lat = wait_equal(b, org, teams, 10.0)
        t.check(lat is not None, "gone: B, continued, rebuilds from the tables: n and NPS equal the database's",
                "B: %s, database: %s" % (ks.short(metrics(b, org)), db_truth(a, teams)))
        wait_until("B's feed_pruned cleared", lambda: node_row(a, node_b)[1] is None, 10)
        t.check(True, "gone: B clears its feed_pruned after the rebuild")

        # 3. a node away for over a day: its row is deleted (review, issue
        # 18: a missing row then read as "not pruned", and the node missed
        # the rows pruned past it for good)
        os.kill(b.proc.pid, signal.SIGSTOP)
        stopped[0] = True
        lock_pids = a.sql("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM"
                          " pg_database WHERE datname = current_database()) AND granted AND classid = ?"
                          " AND objid = ?", (NODE_LOCK_CLASS, node_b))
        con = ks.db_connect(a.db, readonly=False)
        try:
            for (pid,) in lock_pids:
                con.execute("SELECT pg_terminate_backend(?)", (pid,)).fetchall()
            con.execute("UPDATE nodes SET seen_at = seen_at - 90000 WHERE id = ?", (node_b,))
            con.commit()
        finally:
            con.close()
        ids = write_responses(a, f, 4)
        top = a.sql("SELECT max(xid) FROM change_feed WHERE kind = 'response' AND ref_id IN (%s)"
                    % ",".join(str(x) for x in ids))[0][0]
        wait_until("A's cursor past the rows", lambda: (node_row(a, node_a)[0] or 0) > top, 25)
        prune_pass(a, clock)
        left = a.sql("SELECT count(*) FROM nodes WHERE id = ?", (node_b,))[0][0]
        t.check(left == 0 and feed_rows(a, ids) == 0,
                "lost row: A's pass deletes the row of B (gone, last seen over a day ago, no claims) and prunes past it",
                "B's row %d, feed rows left %d" % (left, feed_rows(a, ids)))
        os.kill(b.proc.pid, signal.SIGCONT)
        stopped[0] = False
        lat = wait_equal(b, org, teams, 10.0)
        t.check(lat is not None, "lost row: B, continued, rebuilds from the tables: n and NPS equal the database's",
                "B: %s, database: %s" % (ks.short(metrics(b, org)), db_truth(a, teams)))
        wait_until("B's row back", lambda: a.sql("SELECT count(*) FROM nodes WHERE id = ?", (node_b,))[0][0] == 1, 10)
        back = a.sql("SELECT count(*), max(feed_pruned) FROM nodes WHERE id = ?", (node_b,))[0]
        t.eq([back[0], back[1]], [1, None], "lost row: B's row is back under its id, unmarked (it holds its cursor again)")
        b.stop()
        log = open(b.err_path, errors="replace").read() if b.err_path and os.path.exists(b.err_path) else ""
        t.check("were pruned" in log, "gone: B's log says why it rebuilt", log[-500:])
        t.check("registering it again" in log, "lost row: B's log says its row was put back", log[-500:])
        b.check_sanitizer()
        a.stop()
        a.check_sanitizer()
    finally:
        if b is not None and stopped[0]:
            os.kill(b.proc.pid, signal.SIGCONT)
        if b is not None:
            b.cleanup()
        a.cleanup()


ks.run(main, start_server=False)
