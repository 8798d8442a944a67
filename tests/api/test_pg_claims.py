#!/usr/bin/python3
# ks-test: pg-only (tests/run runs it in the PostgreSQL pass only)
"""test_pg_claims.py — an outbox claim that comes second changes nothing and
sends nothing (issue 18, review).

Several nodes' schedulers claim from the same outboxes on one PostgreSQL
database. A claim selects the due rows, then marks each 'sending'; when
another node marked a row between the two, the marking UPDATE must change
nothing (it is conditional on the row being still due as selected) and the
claim must leave that row out (db_changes() 0). Four claims did not check:
digests, burst alerts (guard mails), pulse invitations and compliments —
safe only while the one-writer lock serialises every claim.

Here the other node is a psycopg2 transaction that marks row 1 of an outbox
'sending' for node 424242 (whose node lock it holds, so recovery leaves it
alone) and does not commit yet; the node's scheduler pass selects row 1
(still pending in its snapshot) and its UPDATE waits for the row's lock
(seen in pg_stat_activity); then the other transaction commits. Expected:
row 1 is exactly as the other node left it and no mail carries its
Message-ID; row 2 of the same outbox is claimed and recorded by the pass
(sent, attempts 1). One outbox at a time, so each claim's own UPDATE meets
the race. The same for a relationship wave's send (race_wave).

Needs KS_PG_URI: fails, not skips, without it.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

CLOCK = "2026-01-12T10:00:00Z"
OTHER_NODE = 424242
LATER = 1893456000  # 2030: not due until race() makes a row due
NODE_LOCK_CLASS = 0x6b6e  # SQ_NODE_LOCK_CLASS (src/store/sqlite_int.h)


def one(con, sql, args=()):
    return con.execute(sql, args).fetchone()[0]


def fixture(srv, t0):
    """Two rows in each of the four outboxes, due only when race() makes
    them due (one outbox per pass); {kind: (table, status column, [id1,
    id2], [message-id prefix 1, 2])}."""
    con = ks.db_connect(srv.db, readonly=False)
    try:
        user = one(con, "SELECT min(id) FROM users")
        org = one(con, "INSERT INTO org_units(kind, name, created_at) VALUES ('organisation', 'Org', 0) RETURNING id")
        emps = [one(con, "INSERT INTO employees(team_id, first_name, last_name, email, created_at)"
                         " VALUES (?, ?, 'Jansen', ?, 0) RETURNING id", (org, "Emp%d" % i, "emp%d@example.org" % i))
                for i in (1, 2)]
        journey = one(con, "INSERT INTO journeys(name, created_at) VALUES ('J', 0) RETURNING id")
        tp = one(con, "INSERT INTO touchpoints(journey_id, name, open_token, created_at)"
                      " VALUES (?, 'T', ?, 0) RETURNING id", (journey, ks.uniq("open")))
        resps = [one(con, "INSERT INTO responses(language, received_at, nps, employee_id, touchpoint_id, source)"
                          " VALUES ('nl', ?, 10, ?, ?, 'api') RETURNING id", (t0 - 3600, emps[i], tp)) for i in (0, 1)]
        burst = one(con, "INSERT INTO suspect_bursts(touchpoint_id, started_at, last_at, held)"
                         " VALUES (?, ?, ?, 30) RETURNING id", (tp, t0 - 600, t0 - 60))
        wave = one(con, "INSERT INTO pulse_waves(period, opened_at, closes_at, questions)"
                        " VALUES ('2026-01', ?, ?, '{}') RETURNING id", (t0 - 3600, t0 + 7 * 86400))
        out = {}
        ids = [one(con, "INSERT INTO digest_mails(user_id, role, period, next_attempt_at, message_id, created_at)"
                        " SELECT id, role, ?, %d, ?, 0" % LATER + " FROM users WHERE id = ? RETURNING id",
                   (period, "dg-%s@klantstem" % period, user)) for period in ("2026-W01", "2026-W02")]
        out["digest"] = ("digest_mails", "status", ids, ["dg-2026-W01@", "dg-2026-W02@"])
        ids = [one(con, "INSERT INTO guard_mails(burst_id, to_email, next_attempt_at, message_id, created_at)"
                        " VALUES (?, ?, %d, ?, 0) RETURNING id" % LATER, (burst, "admin%d@example.org" % i, "guard-%d@klantstem" % i))
               for i in (1, 2)]
        out["guard"] = ("guard_mails", "status", ids, ["guard-1@", "guard-2@"])
        ids = [one(con, "INSERT INTO pulse_invitations(wave_id, employee_id, team_id, language, next_attempt_at)"
                        " VALUES (?, ?, ?, 'nl', %d) RETURNING id" % LATER, (wave, e, org)) for e in emps]
        out["pulse"] = ("pulse_invitations", "status", ids, ["pulse-%d-" % i for i in ids])
        ids = [one(con, "INSERT INTO compliments(response_id, employee_id, from_user_id, created_at, next_attempt_at,"
                        " message_id) VALUES (?, ?, ?, 0, %d, ?) RETURNING id" % LATER,
                   (resps[i], emps[i], user, "compl-%d@klantstem" % i)) for i in (0, 1)]
        out["compliment"] = ("compliments", "mail_status", ids, ["compl-0@", "compl-1@"])
        con.commit()
        return out
    finally:
        con.close()


def waiting_update(srv, table):
    """Is a session of the database waiting for a lock in an UPDATE of table?"""
    rows = srv.sql("SELECT query FROM pg_stat_activity WHERE datname = current_database()"
                   " AND wait_event_type = 'Lock' AND query LIKE ?", ("UPDATE %s SET%%" % table,))
    return rows[0][0] if rows else None


def race(t, srv, sink, kind, table, col, ids, prefixes, t0):
    con = ks.db_connect(srv.db, readonly=False)
    try:
        con.execute("UPDATE %s SET next_attempt_at = 0 WHERE id IN (?, ?)" % table, tuple(ids))
        con.commit()
    finally:
        con.close()
    other = ks.db_connect(srv.db, readonly=False)
    try:
        other.execute("SELECT pg_advisory_lock(?, ?)", (NODE_LOCK_CLASS, OTHER_NODE)).fetchall()
        other.commit()  # the session lock stays; the claim below is one transaction
        other.execute("UPDATE %s SET %s = 'sending', attempts = attempts + 1, claimed_by = ?%s WHERE id = ?"
                      % (table, col, ", claimed_at = %d" % t0 if kind in ("pulse", "compliment") else ""),
                      (OTHER_NODE, ids[0]))
        out = {}

        def run():
            out["resp"] = srv.post("/api/v1/admin/scheduler/run", timeout=120)

        th = threading.Thread(target=run, daemon=True)
        th.start()
        deadline = time.time() + 20
        waited = None
        while time.time() < deadline and th.is_alive():
            waited = waiting_update(srv, table)
            if waited:
                print("# %s: waiting: %s" % (kind, waited[:300]), flush=True)
                break
            time.sleep(0.02)
        t.check(waited is not None, "%s: the pass's claim of row 1 waits for the other node's uncommitted claim" % kind,
                "pass answered %s" % ks.short(out.get("resp")))
        other.commit()
        th.join(120)
        st = (out.get("resp") or (None,))[0]
        t.eq(st, 200, "%s: the scheduler pass answers 200" % kind)
        row1 = srv.sql("SELECT %s, attempts, claimed_by FROM %s WHERE id = ?" % (col, table), (ids[0],))[0]
        t.eq(list(row1), ["sending", 1, OTHER_NODE],
             "%s: row 1 stays as the other node claimed it (sending, attempts 1, its node)" % kind)
        row2 = srv.sql("SELECT %s, attempts FROM %s WHERE id = ?" % (col, table), (ids[1],))[0]
        t.eq(list(row2), ["sent", 1], "%s: row 2, not raced, is claimed and sent by the pass" % kind)
        ids_sent = [m.message_id for m in sink.mails()]
        t.eq([m for m in ids_sent if m.strip("<").startswith(prefixes[0])], [],
             "%s: no mail carries row 1's Message-ID (%s...)" % (kind, prefixes[0]))
        t.eq(len([m for m in ids_sent if m.strip("<").startswith(prefixes[1])]), 1,
             "%s: row 2's mail went out once" % kind)
    finally:
        other.rollback()
        other.close()


def race_wave(t, srv):
    """The relationship wave's send marks each sample row it sends; a row
    another node's send marked first (here: excluded, uncommitted while the
    send reads its chunk) must not be sent again: its UPDATE changes nothing
    and the chunk is rolled back (409), no customer invited twice."""
    survey = srv.create("surveys", {"name": ks.uniq("Relatie"), "questions": ks.survey_questions()})
    for i in range(6):
        srv.create("customers", {"external_id": ks.uniq("rel%d" % i), "language": "nl",
                                 "email": "rel%d@example.org" % i})
    st, _, w = srv.post("/api/v1/relationship/waves", {"name": ks.uniq("Q1 relatie"), "survey_id": survey["id"],
                                                      "period": "2026-01", "sample_size": 4})
    if st != 201:
        raise ks.FixtureError("POST relationship/waves -> %s %s" % (st, ks.short(w)))
    st, _, d = srv.post("/api/v1/relationship/waves/%d/draw" % w["id"], None)
    if st != 200:
        raise ks.FixtureError("draw -> %s %s" % (st, ks.short(d)))
    selected = srv.sql("SELECT customer_id FROM relationship_sample WHERE wave_id = ? AND excluded IS NULL"
                   " AND invitation_id IS NULL ORDER BY stratum, draw_rank", (w["id"],))
    if len(selected) < 2:
        raise ks.FixtureError("the draw selected %d customers" % len(selected))
    raced = selected[0][0]
    other = ks.db_connect(srv.db, readonly=False)
    try:
        other.execute("UPDATE relationship_sample SET excluded = 'fatigue', excluded_at = 'send'"
                      " WHERE wave_id = ? AND customer_id = ?", (w["id"], raced))
        out = {}

        def run():
            out["resp"] = srv.post("/api/v1/relationship/waves/%d/send" % w["id"], timeout=120)

        th = threading.Thread(target=run, daemon=True)
        th.start()
        deadline = time.time() + 20
        waited = None
        while time.time() < deadline and th.is_alive() and waited is None:
            waited = waiting_update(srv, "relationship_sample")
            time.sleep(0.02)
        t.check(waited is not None, "wave: the send's mark of the raced row waits for the other node's mark",
                "send answered %s" % ks.short(out.get("resp")))
        other.commit()
        th.join(120)
    finally:
        other.rollback()
        other.close()
    t.error(out.get("resp") or (None, None, None), 409, "conflict", "status",
            "wave: the send that met the row marked meanwhile answers 409 naming status")
    t.eq(srv.sql("SELECT count(*) FROM invitations WHERE channel = 'relationship'")[0][0], 0,
         "wave: its chunk is rolled back: no invitation made")
    t.eq(list(srv.sql("SELECT excluded, invitation_id FROM relationship_sample WHERE wave_id = ? AND customer_id = ?",
                      (w["id"], raced))[0]), ["fatigue", None], "wave: the raced row is as the other node left it")
    st, _, body = srv.post("/api/v1/relationship/waves/%d/send" % w["id"])
    t.eq(st, 200, "wave: sent again, the send goes through")
    t.eq(srv.sql("SELECT count(*) FROM invitations WHERE channel = 'relationship'")[0][0], len(selected) - 1,
         "wave: each of the other %d selected customers invited once, the raced one not" % (len(selected) - 1))


def main(t):
    if not ks.pg_mode():
        t.check(False, "KS_PG_URI names a PostgreSQL server (tests/run's PostgreSQL pass sets it)")
        return
    sink = smtp_sink.Sink()
    sink.start()
    srv = ks.Server(t, args=["--test-clock", CLOCK, "--smtp", sink.url, "--base-url", "https://feedback.example.nl"])
    try:
        srv.start()
        t0 = ks.parse_iso(CLOCK)
        rows = fixture(srv, t0)
        for kind in ("digest", "guard", "pulse", "compliment"):
            table, col, ids, prefixes = rows[kind]
            race(t, srv, sink, kind, table, col, ids, prefixes, t0)
        race_wave(t, srv)
        srv.stop()
        srv.check_sanitizer()
    finally:
        srv.cleanup()
        sink.cleanup()


ks.run(main, start_server=False)
