#!/usr/bin/env python3
"""test_localtime.py — every bucket and period in the organisation's local
time, over the API (issue 10, item 5).

Responses are placed on the instants where UTC and Amsterdam disagree about
the day, week, month, quarter or year, and around both summer-time switches
of 2026 (29 March: 02:00 CET -> 03:00 CEST; 25 October: 03:00 CEST -> 02:00
CET) and the ISO week 53 of 2026 (Monday 28 December 2026 .. Sunday 3 January
2027). Every expected bucket is computed here with Python's zoneinfo, not
with the server's code; a second server with `--time-zone Europe/London`
shows that the zone is a setting, and `--time-zone UTC` that UTC buckets are
still available. Figures are given per month, quarter and year (days and ISO
weeks are refused: docs/PRIVACY.md), so the day and the ISO week 53 are
checked through the month, quarter and year they fall in, through the
period bounds the server echoes, and through the 422 a day or a week gets.
The servers' clocks stand at 2027-02-01, so every answer is before "today".
"""
import calendar
import datetime
import os
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

# (UTC instant, what it is about)
INSTANTS = [
    ("2026-11-30T23:30:00Z", "1 December 00:30 in Amsterdam, still November in UTC"),
    ("2026-03-31T22:30:00Z", "1 April (Q2) in Amsterdam, 31 March (Q1) in UTC"),
    ("2026-03-29T00:30:00Z", "01:30 CET on the spring-forward day"),
    ("2026-03-29T01:30:00Z", "03:30 CEST on the spring-forward day (02:xx does not exist)"),
    ("2026-03-28T23:30:00Z", "00:30 CET, 29 March local, 28 March UTC"),
    ("2026-10-24T22:30:00Z", "00:30 CEST, 25 October local, 24 October UTC"),
    ("2026-10-25T00:30:00Z", "02:30 CEST, the first of the two 02:30s"),
    ("2026-10-25T01:30:00Z", "02:30 CET, the second 02:30"),
    ("2026-10-25T22:30:00Z", "23:30 CET, still 25 October local"),
    ("2026-12-27T23:30:00Z", "Monday 28 December 00:30 local: ISO week 53 of 2026"),
    ("2026-12-31T23:30:00Z", "1 January 2027 00:30 local: 2027, Q1, but still ISO week 2026-W53"),
    ("2027-01-03T22:59:59Z", "Sunday 3 January 23:59:59 local: the last second of 2026-W53"),
    ("2027-01-03T23:00:00Z", "Monday 4 January 00:00 local: 2027-W01"),
]


def parse(s):
    return calendar.timegm(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timetuple())


def buckets(ts, zone):
    d = datetime.datetime.fromtimestamp(ts, zoneinfo.ZoneInfo(zone))
    iso = d.isocalendar()
    return {"day": d.strftime("%Y-%m-%d"), "week": "%04d-W%02d" % (iso[0], iso[1]),
            "month": d.strftime("%Y-%m"), "quarter": "%d-Q%d" % (d.year, (d.month - 1) // 3 + 1),
            "year": "%d" % d.year}


def counts_by(rows, dim):
    out = {}
    for r in rows:
        k = r[dim]
        out[k] = out.get(k, 0) + 1
    return out


def post_all(srv, f, tag):
    for i, (when, _) in enumerate(INSTANTS):
        srv.create("responses", {"client_key": "%s-%d" % (tag, i), "touchpoint_id": f["tp1"]["id"],
                                 "channel": "web", "received_at": when, "answers": {"nps": 9}})


CLOCK = "2027-02-01T12:00:00Z"


def check_zone(t, srv, zone, label):
    """Organisation-level breakdowns against zoneinfo."""
    want_rows = [buckets(parse(w), zone) for w, _ in INSTANTS]
    for dim in ("month", "quarter", "year"):
        st, _, m = srv.get("/api/v1/metrics?group_by=%s&channel=web" % dim)
        got = {r[dim]: r["n"] for r in m.get("rows", [])} if st == 200 else None
        t.eq(got, counts_by(want_rows, dim), "%s: group_by=%s buckets in %s" % (label, dim, zone))


def test_amsterdam(t, srv, f):
    post_all(srv, f, ks.uniq("lt"))
    check_zone(t, srv, "Europe/Amsterdam", "Amsterdam")
    # the months around the switches, read from the echoed filter: March
    # and October are one hour shorter and longer than their days
    for month, hours in (("2026-03", 31 * 24 - 1), ("2026-10", 31 * 24 + 1), ("2026-11", 30 * 24)):
        st, _, m = srv.get("/api/v1/metrics?channel=web&period=" + month)
        flt = m.get("filter", {}) if st == 200 else {}
        a = datetime.datetime.fromisoformat(flt.get("from") or "1970-01-01T00:00:00+00:00")
        b = datetime.datetime.fromisoformat(flt.get("to") or "1970-01-01T00:00:00+00:00")
        t.eq((b - a).total_seconds() / 3600, hours, "the local month %s lasts %d hours (filter %s .. %s)"
             % (month, hours, flt.get("from"), flt.get("to")))
    st, _, m = srv.get("/api/v1/metrics?channel=web&period=2026-03")
    t.check(st == 200 and m.get("n") == 3, "period=2026-03 holds the three answers of 29 March local (the "
            "28 March 23:30Z one among them), not the 31 March 22:30Z one (April)", ks.got(st, m))
    st, _, m = srv.get("/api/v1/metrics?channel=web&period=2026-10")
    t.check(st == 200 and m.get("n") == 4, "period=2026-10 holds the four answers of 25 October local, "
            "both 02:30s among them", ks.got(st, m))
    for p, field in (("2026-W53", "period"), ("2027-W53", "period"), ("2026-12-01", "period"),
                     ("last_30d", "period")):
        t.error(srv.get("/api/v1/metrics?channel=web&period=" + p), 422, "invalid", field,
                "period=%s: figures are per month, quarter or year -> 422 naming %s" % (p, field))
    t.error(srv.get("/api/v1/metrics?channel=web&from=2026-12-28&to=2027-01-04"), 422, "invalid", "period",
            "from/to on the local bounds of ISO week 53 (a whole week, but no month) -> 422")
    for dim in ("day", "week"):
        t.error(srv.get("/api/v1/metrics?channel=web&group_by=" + dim), 422, "invalid", "group_by",
                "group_by=%s -> 422 naming group_by" % dim)
        t.error(srv.get("/api/v1/metrics/trend?channel=web&interval=" + dim), 422, "invalid", "interval",
                "trend interval=%s -> 422 naming interval" % dim)
    st, _, m = srv.get("/api/v1/metrics?channel=web&period=2026-12")
    t.check(st == 200 and m.get("n") == 2 and (m.get("filter") or {}).get("from") == "2026-12-01T00:00:00+01:00",
            "period=2026-12 starts at local midnight and holds the 30 Nov 23:30Z response "
            "(and 27 Dec 23:30Z), not the 31 Dec 23:30Z one", ks.got(st, m))
    st, _, m = srv.get("/api/v1/metrics?channel=web&period=2026-Q2")
    t.check(st == 200 and m.get("n") == 1 and (m.get("filter") or {}).get("from") == "2026-04-01T00:00:00+02:00",
            "period=2026-Q2 starts at 1 April 00:00 CEST and holds the 31 Mar 22:30Z response", ks.got(st, m))
    # a response's own time is printed in UTC with Z; its local date is the UI's business
    st, _, tr = srv.get("/api/v1/metrics/trend?channel=web&interval=month")
    periods = [p["period"] for p in tr.get("points", [])] if st == 200 else []
    want = sorted(counts_by([buckets(parse(w), "Europe/Amsterdam") for w, _ in INSTANTS], "month"))
    t.eq(periods, want, "trend?interval=month lists the local months")
    rows = [buckets(parse(w), "Europe/Amsterdam") for w, _ in INSTANTS]
    for interval in ("quarter", "year"):
        st, _, tr = srv.get("/api/v1/metrics/trend?channel=web&interval=" + interval)
        got = [(p.get("period"), p.get("n")) for p in tr.get("points", [])] if st == 200 else (st, tr)
        t.eq(got, sorted(counts_by(rows, interval).items()),
             "trend?interval=%s: the local %ss with their counts (31 Dec 23:30Z is 2027)" % (interval, interval))
        t.eq(tr.get("interval") if st == 200 else None, interval, "trend?interval=%s echoes its interval" % interval)
    st, _, me = srv.get("/api/v1/auth/me")
    t.eq(me.get("time_zone") if st == 200 else None, "Europe/Amsterdam", "/auth/me names the time zone")


def test_other_zone(t, zone):
    srv = ks.Server(t, args=["--time-zone", zone, "--test-clock", CLOCK])
    try:
        srv.start()
        f = ks.base_fixture(srv)
        post_all(srv, f, ks.uniq("lz"))
        check_zone(t, srv, zone, "--time-zone " + zone)
        st, _, me = srv.get("/api/v1/auth/me")
        t.eq(me.get("time_zone") if st == 200 else None, zone, "/auth/me names %s" % zone)
        srv.stop("server with --time-zone %s exits 0 on SIGTERM" % zone)
    finally:
        srv.cleanup()


def test_bad_zone(t):
    rc, out, err = ks.run_cli(["serve", "--db", "/nonexistent/x.db", "--time-zone", "Mars/Olympus"])
    t.check(rc != 0 and "time-zone" in err and "Mars/Olympus" in err,
            "serve --time-zone Mars/Olympus: refused with a message naming the option and the zone",
            "rc %s\n%s" % (rc, err[-800:]))


def main(t, srv):
    f = ks.base_fixture(srv)
    test_amsterdam(t, srv, f)
    test_other_zone(t, "Europe/London")
    test_other_zone(t, "UTC")
    test_bad_zone(t)


def run_main(t):
    srv = ks.Server(t, args=["--test-clock", CLOCK])
    try:
        srv.start()
        main(t, srv)
        srv.stop()
    finally:
        srv.cleanup()


if __name__ == "__main__":
    ks.run(run_main, start_server=False)
