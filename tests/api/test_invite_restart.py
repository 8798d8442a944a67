#!/usr/bin/python3
"""Invitations survive a crash (docs/API.md "The feedback loop"): "A send is
claimed (sending) before SMTP and recorded after ... After a crash, claimed
sends are sent again with the same Message-ID."

200 invitations fall due at once; a scheduler pass sends them to a slow SMTP
sink (smtp_sink.py stores each message, then waits before its 250) and the
server is SIGKILLed while it sends. After a restart on the same database
the scheduler runs until nothing is due. Then every invitation has exactly
one distinct Message-ID in the sink, at most the one message in flight at
the kill arrived twice (and then with the same Message-ID), and all 200
are listed as sent."""

import collections
import glob
import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

START = "2026-01-12T10:00:00Z"
N = 200
KILL_AT = 50          # mails in the sink when the server is killed
SINK_DELAY = 0.03     # seconds between storing a message and answering 250


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def main(t):
    for name, fn in (("invitations", body), ("case mails", case_mails)):
        sink = smtp_sink.Sink(delay=SINK_DELAY)
        srv = None
        try:
            sink.start()
            srv = ks.Server(t, args=["--test-clock", START, "--smtp", sink.url, "--sample-seed", "7",
                                     "--base-url", "https://feedback.example.nl", "--quiet"])
            hz = srv.start()
            t.eq(hz, {"status": "ok", "schema_version": max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))},
                 "%s: server starts with --test-clock and --smtp" % name)
            fn(t, srv, sink)
        finally:
            try:
                if srv is not None:
                    srv.stop()
            finally:
                if srv is not None:
                    srv.cleanup()
                sink.cleanup()


def kill_during_pass(srv, sink, kill_at):
    """Run a scheduler pass in the background and SIGKILL the server once
    kill_at mails are in the sink. Returns (mails at the kill, pass result)."""
    result = {}

    def pass_in_background():
        try:
            result["resp"] = srv.post("/api/v1/admin/scheduler/run", timeout=120)
        except Exception as ex:  # the kill cuts the connection: expected, reported below
            result["error"] = repr(ex)

    th = threading.Thread(target=pass_in_background, daemon=True)
    th.start()
    deadline = time.time() + 60
    while sink.count() < kill_at and time.time() < deadline and th.is_alive():
        time.sleep(0.003)
    at_kill = sink.count()
    srv.kill()
    th.join(30)
    return at_kill, result


CASES = 60


def case_mails(t, srv, sink):
    """The same for case mails (docs/API.md "Notifications and escalation":
    "a crash resends with the same Message-ID"): 60 detractors open 60
    cases, each an "opened" mail to the team lead; the server is killed
    while the pass sends them."""
    f = ks.base_fixture(srv)
    lead = "lead-crash@example.org"
    srv.create("users", {"email": lead, "name": "Lea Lead", "role": "team_lead", "unit_id": f["team"]["id"],
                         "password": "crash-lead-password"})
    for i in range(CASES):
        cu = srv.create("customers", {"external_id": "CM-%03d" % i, "name": "Klant %d" % i})
        must(srv.post("/api/v1/responses", {"client_key": "cm-%d" % i, "touchpoint_id": f["tp1"]["id"],
                                            "team_id": f["team"]["id"], "customer_id": cu["id"],
                                            "channel": "phone", "answers": {"nps": 1}}), 201, "detractor")
    ids = srv.sql("SELECT case_id, message_id FROM case_mails WHERE kind='opened' ORDER BY case_id")
    t.eq(len(ids), CASES, "case mails: %d opened mails in the outbox, one per case" % CASES)
    want_ids = {m for _, m in ids}
    at_kill, result = kill_during_pass(srv, sink, CASES // 4)
    t.check(CASES // 4 <= at_kill < CASES and "resp" not in result,
            "case mails: the server was SIGKILLed in the middle of the pass (%d of %d out)" % (at_kill, CASES),
            ks.short(result))
    srv.check_sanitizer()
    time.sleep(SINK_DELAY * 3)
    sink.delay = 0.0
    sink.stop()
    sink.start()
    claimed = srv.sql("SELECT count(*) FROM case_mails WHERE status='sending'")[0][0]
    recorded = srv.sql("SELECT count(*) FROM case_mails WHERE status='sent'")[0][0]
    t.check(1 <= claimed <= CASES - recorded,
            "case mails: at the kill the file holds claimed, unrecorded mails (%d; %d recorded)" % (claimed, recorded))
    srv.start()
    passes = []
    for _ in range(20):
        st = must(srv.post("/api/v1/admin/scheduler/run", timeout=120), 200, "scheduler/run after restart")
        passes.append(st)
        if not st.get("case_mails_sent"):
            break
    t.eq(sum(p.get("recovered", 0) for p in passes), claimed,
         "case mails: the restart recovers exactly the %d claimed mails" % claimed)
    t.eq(sum(p.get("case_mails_sent", 0) for p in passes), CASES - recorded,
         "case mails: after the restart exactly the %d not recorded as sent are sent" % (CASES - recorded))
    mails = sink.mails()
    t.eq({m.rcpt.strip().lower() for m in mails}, {lead}, "case mails: every mail went to the team lead")
    got = collections.Counter(m.message_id for m in mails)
    t.eq(set(got), {"<%s>" % m for m in want_ids},
         "case mails: the Message-IDs in the sink are exactly the %d the outbox assigned" % CASES)
    dups = {k: n for k, n in got.items() if n > 1}
    t.check(sum(n - 1 for n in dups.values()) <= 1,
            "case mails: at most the one in flight at the kill was delivered twice (same Message-ID)", dups)
    t.eq(srv.sql("SELECT status, count(*) FROM case_mails GROUP BY status"), [("sent", CASES)],
         "case mails: all %d are sent in the file" % CASES)


def body(t, srv, sink):
    survey = srv.create("surveys", {"name": "Na contact", "questions": ks.survey_questions()})
    journey = srv.create("journeys", {"name": "Storing melden"})
    tp = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Telefonisch contact",
                                    "survey_id": survey["id"]})
    must(srv.request("PUT", "/api/v1/touchpoints/%d/rule" % tp["id"],
                     {"delay_minutes": 0, "reminder_days": 0}), 200, "PUT rule")
    addr_of = {}      # e-mail -> invitation id
    decisions = collections.Counter()
    for i in range(N):
        email = "crash%03d@example.org" % i
        cu = srv.create("customers", {"external_id": "CR-%03d" % i, "email": email,
                                      "language": "nl" if i % 3 else "en"})
        c = srv.create("contacts", {"customer_id": cu["id"], "touchpoint_id": tp["id"], "channel": "phone"})
        inv = c.get("invitation") or {}
        decisions[inv.get("decision")] += 1
        addr_of[email] = inv.get("id")
    t.eq(dict(decisions), {"created": N}, "%d contacts -> %d invitations created, due now" % (N, N))

    # the pass, killed while it sends
    at_kill, result = kill_during_pass(srv, sink, KILL_AT)
    t.check(KILL_AT <= at_kill < N and "resp" not in result,
            "the server was SIGKILLed in the middle of the pass (%d of %d mails out)" % (at_kill, N),
            "mails at the kill: %d; pass result: %s" % (at_kill, ks.short(result)))
    srv.check_sanitizer()
    time.sleep(SINK_DELAY * 3)   # let the sink finish the message it was answering
    before_restart = sink.count()

    # a fast sink from now on, and the server back on the same database
    sink.delay = 0.0
    sink.stop()
    sink.start()
    # what the file says was claimed and never recorded: the restart must
    # recover exactly these (and at least the one in flight at the kill)
    claimed = srv.sql("SELECT (SELECT count(*) FROM invitations WHERE status='sending')"
                      " + (SELECT count(*) FROM invitations WHERE reminder_status='sending')"
                      " + (SELECT count(*) FROM case_mails WHERE status='sending')")[0][0]
    in_sink = srv.sql("SELECT count(*) FROM invitations WHERE status='sent'")[0][0]
    t.check(1 <= claimed <= N - in_sink,
            "at the kill the file holds claimed, unrecorded sends (%d; %d recorded sent)" % (claimed, in_sink))
    hz = srv.start()
    t.eq(hz, {"status": "ok", "schema_version": max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))},
         "server restarts on the same database")
    passes = []
    for _ in range(20):
        st = must(srv.post("/api/v1/admin/scheduler/run", timeout=120), 200, "scheduler/run after restart")
        passes.append(st)
        if not (st.get("sent") or st.get("retried") or st.get("reminders")):
            break
    sent_after = sum(p.get("sent", 0) for p in passes)
    recovered = sum(p.get("recovered", 0) for p in passes)
    t.check(all(p.get("failed") == 0 and p.get("retried") == 0 for p in passes)
            and not (passes[-1].get("sent") or passes[-1].get("retried")),
            "after the restart the scheduler sends the rest and then has nothing due",
            "passes: %s" % ks.short(passes))
    print("# mails at the kill %d, before the restart %d; after it: %d sent in %d passes, %d recovered"
          % (at_kill, before_restart, sent_after, len(passes), recovered), flush=True)
    t.eq(recovered, claimed, "the restart recovers exactly the %d claimed sends the file held" % claimed)
    t.eq(sent_after, N - in_sink, "after the restart exactly the %d not recorded as sent are sent" % (N - in_sink))

    # the sink, per invitation
    mails = sink.mails()
    per = collections.defaultdict(list)
    strangers = []
    for m in mails:
        a = m.rcpt.strip().lower()
        if a in addr_of:
            per[a].append(m)
        else:
            strangers.append(m)
    t.check(not strangers, "every mail in the sink is for one of the invitations",
            "strangers: %s" % strangers[:5])
    missing = sorted(set(addr_of) - set(per))
    t.check(not missing, "every one of the %d invitations got at least one mail" % N,
            "%d without a mail: %s" % (len(missing), missing[:10]))
    multi_id = {a: [m.message_id for m in ms] for a, ms in per.items()
                if len({m.message_id for m in ms}) != 1}
    t.check(not multi_id, "counting by Message-ID: exactly one distinct message per invitation",
            "invitations with several Message-IDs: %s" % ks.short(multi_id))
    no_id = [m for m in mails if not m.message_id]
    t.check(not no_id, "every mail has a Message-ID", "without: %s" % no_id[:5])
    ids = collections.Counter(m.message_id for m in mails)
    t.eq(len(ids), N, "%d distinct Message-IDs in the sink, one per invitation" % N)
    dups = {a: len(ms) for a, ms in per.items() if len(ms) > 1}
    t.check(sum(n - 1 for n in dups.values()) <= 1,
            "at most one message (the one in flight at the kill) was delivered twice",
            "delivered more than once: %s" % dups)
    print("# duplicates: %s" % (dups or "none"), flush=True)
    t.check(all(len({m.message_id for m in per[a]}) == 1 for a in dups),
            "a duplicate carries the same Message-ID as the first copy",
            ks.short({a: [m.message_id for m in per[a]] for a in dups}))
    t.eq(len(mails), N + sum(n - 1 for n in dups.values()), "mails in the sink = invitations + duplicates")

    # the API
    invs = srv.list_all("invitations", "touchpoint_id=%d" % tp["id"])
    status = collections.Counter(i.get("status") for i in invs)
    t.eq(dict(status), {"sent": N}, "GET /api/v1/invitations: all %d are status sent" % N)
    want_ids = set(addr_of.values())
    t.eq({i.get("id") for i in invs}, want_ids, "the listed invitations are exactly the %d created" % N)
    no_sent_at = [i.get("id") for i in invs if not ks.iso_ok(i.get("sent_at"))]
    t.check(not no_sent_at, "every invitation has sent_at", "without: %s" % no_sent_at[:10])
    st = must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler/run at the end")
    t.check(st.get("sent") == 0 and st.get("retried") == 0, "a last pass sends nothing",
            ks.short(st))
    t.eq(sink.count(), len(mails), "no mail arrived after the last pass")


if __name__ == "__main__":
    ks.run(main, start_server=False)
