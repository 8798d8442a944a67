#!/usr/bin/python3
"""The outbox queues in the Prometheus metrics (issue 18, operations):
klantstem_outbox_due{kind} and klantstem_outbox_oldest_due_seconds{kind}
on --metrics-listen, for invitations, their reminders and the other mail
and webhook queues.

The server runs on a test clock (the scheduler passes only on request), so
the queue stands still between scrapes. Expected values come from the
contacts this test posts, the rule's delay and reminder days and the
clock it sets, worked out here; the metrics text is read with
prometheus_client's own parser (Debian python3-prometheus-client).
"""
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

START = "2026-01-12T10:00:00Z"   # a Monday, 11:00 in Amsterdam: inside the rule's send hours
MIN, HOUR, DAY = 60, 3600, 86400
KINDS = ["invitation", "reminder", "case_mail", "case_digest", "digest", "pulse", "guard_alert",
         "compliment", "webhook"]


def at(seconds):
    return ks.iso(ks.parse_iso(START) + seconds)


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode("utf-8")
    due, oldest, types = {}, {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            if s.name == "klantstem_outbox_due":
                due[s.labels.get("kind")] = s.value
            elif s.name == "klantstem_outbox_oldest_due_seconds":
                oldest[s.labels.get("kind")] = s.value
    return due, oldest, types


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def set_clock(srv, seconds):
    must(srv.post("/api/v1/admin/clock", {"now": at(seconds)}), 200, "POST /api/v1/admin/clock")


def run_sched(srv):
    return must(srv.post("/api/v1/admin/scheduler/run"), 200, "POST /api/v1/admin/scheduler/run")


def contact(srv, cust, tp):
    return must(srv.post("/api/v1/contacts", {"customer_id": cust["id"], "touchpoint_id": tp["id"],
                                               "channel": "phone"}), 201, "POST /api/v1/contacts")


def expect(t, port, want_due, want_oldest, name):
    """Every kind present; the named kinds at the values given, the rest 0."""
    due, oldest, types = scrape(port)
    t.eq(sorted(due), sorted(KINDS), "%s: klantstem_outbox_due has one sample per kind" % name)
    t.eq(sorted(oldest), sorted(KINDS), "%s: klantstem_outbox_oldest_due_seconds has one sample per kind" % name)
    t.eq({k: due.get(k) for k in KINDS}, {k: float(want_due.get(k, 0)) for k in KINDS},
         "%s: rows due per kind" % name)
    t.eq({k: oldest.get(k) for k in KINDS}, {k: float(want_oldest.get(k, 0)) for k in KINDS},
         "%s: age of the oldest due row per kind" % name)
    return types


def main(t):
    mport = ks.free_port()
    sink = smtp_sink.Sink()
    sink.start()
    srv = ks.Server(t, args=["--test-clock", START, "--smtp", sink.url,
                             "--metrics-listen", "127.0.0.1:%d" % mport])
    try:
        srv.start()
        survey = srv.create("surveys", {"name": "Na contact", "questions": ks.survey_questions()})
        journey = srv.create("journeys", {"name": "Storing"})
        tp = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Telefoon", "position": 1,
                                        "survey_id": survey["id"]})
        must(srv.request("PUT", "/api/v1/touchpoints/%d/rule" % tp["id"],
                         {"delay_minutes": 120, "fatigue_days": 0, "reminder_days": 3}), 200, "PUT rule")
        custs = [srv.create("customers", {"external_id": ks.uniq("C%d" % i), "name": "Klant %d" % i,
                                          "email": "klant%d@example.org" % i, "language": "nl"})
                 for i in range(3)]

        types = expect(t, mport, {}, {}, "an empty queue")
        t.eq([types.get("klantstem_outbox_due"), types.get("klantstem_outbox_oldest_due_seconds")],
             ["gauge", "gauge"], "both families are gauges")

        # contacts at 10:00 and 10:10: their invitations are due at 12:00 and 12:10
        contact(srv, custs[0], tp)
        set_clock(srv, 10 * MIN)
        contact(srv, custs[1], tp)
        expect(t, mport, {}, {}, "two invitations scheduled, not yet due")

        set_clock(srv, 2 * HOUR + 5 * MIN)
        contact(srv, custs[2], tp)  # due at 14:05: not counted at 12:05
        expect(t, mport, {"invitation": 1}, {"invitation": 5 * MIN},
               "12:05: one due (since 12:00, 300 s), the 12:10 and 14:05 ones not yet")

        set_clock(srv, 2 * HOUR + 30 * MIN)
        expect(t, mport, {"invitation": 2}, {"invitation": 30 * MIN},
               "12:30, no pass yet: two due, the oldest for 1800 s")

        st = run_sched(srv)
        t.eq(st.get("sent"), 2, "fixture: the pass at 12:30 sends the two due invitations")
        expect(t, mport, {}, {}, "after the pass: nothing due")

        # their reminders: sent at 12:30 with 3 reminder days -> due at 12:30 three days on
        set_clock(srv, 3 * DAY + 2 * HOUR + 30 * MIN + 2 * HOUR)
        st = srv.sql("SELECT count(*), min(reminder_at) FROM invitations WHERE reminder_status = 'scheduled'"
                     " AND status = 'sent'")
        n_rem, first_rem = st[0]
        t.eq([n_rem, first_rem], [2, ks.parse_iso(at(3 * DAY + 2 * HOUR + 30 * MIN))],
             "fixture: two reminders scheduled, three days after the send")
        # the 14:05 invitation is due too (not sent: no pass since)
        expect(t, mport, {"invitation": 1, "reminder": 2},
               {"invitation": 3 * DAY + 2 * HOUR + 30 * MIN + 2 * HOUR - (4 * HOUR + 5 * MIN), "reminder": 2 * HOUR},
               "three days on, no pass: the third invitation and both reminders due, with their ages")
        # one of them answers: its reminder is no longer waiting
        tok = srv.sql("SELECT id FROM invitations WHERE status = 'sent' ORDER BY id LIMIT 1")[0][0]
        inv = must(srv.get("/api/v1/invitations?limit=10&touchpoint_id=%d" % tp["id"]), 200, "GET /invitations")
        first = [x for x in inv["items"] if x.get("id") == tok][0]
        must(srv.post("/api/v1/responses", {"client_key": "om-1", "contact_id": first["contact_id"],
                                            "answers": {"nps": 9}}), 201, "POST /api/v1/responses")
        expect(t, mport, {"invitation": 1, "reminder": 1},
               {"invitation": 3 * DAY + 2 * HOUR + 30 * MIN + 2 * HOUR - (4 * HOUR + 5 * MIN), "reminder": 2 * HOUR},
               "one invited customer answered: one reminder left due")
        srv.stop()
    finally:
        srv.kill()
        srv.cleanup()
        sink.stop()


ks.run(main, start_server=False)
