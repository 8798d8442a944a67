#!/usr/bin/env python3
"""test_csv.py — the CSV export keeps names as text (issue 11, low: "CSV
cells starting with - plus a digit, tab or CR are not neutralised").

A spreadsheet reads a cell that starts with = + - @, a tab or a carriage
return as a formula ("CSV injection", OWASP). Units are named after such
texts; every name in `GET /api/v1/metrics?group_by=team&format=csv` must
come out as text: prefixed with ' and, where it holds a comma, quote, tab
or line break, quoted (RFC 4180, doubled quotes). The parse here is
Python's csv module, not the server's code.
"""
import calendar
import csv
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

NAMES = ["=HYPERLINK(\"http://x\")", "+31 team", "-1+1", "-2", "@SUM(A1)", "\tTab", "\rCR", "Plain, with comma",
         "Say \"hi\""]


def main(t, srv):
    f = ks.base_fixture(srv)
    tag = ks.uniq("csv")
    dept = srv.create("teams", {"name": "CSV " + tag, "kind": "department", "parent_id": f["org"]["id"]})
    t0 = calendar.timegm((2025, 5, 5, 10, 0, 0))
    ids = {}
    for i, name in enumerate(NAMES):
        team = srv.create("teams", {"name": name, "kind": "team", "parent_id": dept["id"]})
        ids[team["id"]] = name
        srv.create("responses", {"client_key": "%s-%d" % (tag, i), "team_id": team["id"],
                                 "touchpoint_id": f["tp1"]["id"], "answers": {"nps": 9},
                                 "received_at": ks.iso(t0 + i * 60)})
    st, hd, text = srv.get("/api/v1/metrics?team_id=%d&group_by=team&period=2025&format=csv" % dept["id"])
    if not t.check(st == 200 and isinstance(text, str), "CSV by team answers 200", ks.got(st, text)):
        return
    hdrs = {k.lower(): v for k, v in dict(hd).items()}
    t.eq(hdrs.get("content-disposition"), 'attachment; filename="klantstem-metrics.csv"',
         "the CSV export is a download named after its route (Content-Disposition)")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    t.eq(rows[0][0], "team", "the first column is the team")
    got = {r[0] for r in rows[1:] if r and r[0] != "total"}
    for name in NAMES:
        risky = name[0] in "=+-@\t\r"
        want = ("'" + name) if risky else name
        t.check(want in got, "team %r comes out as %r (%s)" % (name, want, "neutralised" if risky else "as is"),
                "cells: %r" % sorted(got))
    t.check(all(not c or c[0] not in "=+-@\t\r" for c in got),
            "no key cell starts with = + - @, tab or CR", sorted(got))
    t.eq(sorted(got), sorted(("'" + n) if n[0] in "=+-@\t\r" else n for n in NAMES),
         "the key column holds exactly the team names, the risky ones with a leading '")

    # one cell that needs both: a formula with a comma and quotes. The
    # whole reply as a literal: 6 promoters -> NPS 100.0, adjusted Wald
    # (6.75/9 - 0.75/9) +- 1.96 * sqrt((0.8333 - 0.6667^2) / 9) = 66.7 +- 40.7
    # -> low 25.9, high 100.0 (clamped); no grade, no CES.
    dept2 = srv.create("teams", {"name": "CSV2 " + tag, "kind": "department", "parent_id": f["org"]["id"]})
    team = srv.create("teams", {"name": '=X,"y"', "kind": "team", "parent_id": dept2["id"]})
    for i in range(6):
        srv.create("responses", {"client_key": "%s-q%d" % (tag, i), "team_id": team["id"],
                                 "touchpoint_id": f["tp1"]["id"], "answers": {"nps": 9},
                                 "received_at": ks.iso(t0 + i * 60)})
    st, hd, text = srv.get("/api/v1/metrics?team_id=%d&group_by=team&period=2025&format=csv" % dept2["id"])
    t.eq((st, text),
         (200, "team,n,nps_n,nps,nps_low,nps_high,promoters,passives,detractors,grade_n,grade_mean,grade_7plus,"
               "grade_9plus,ces_n,ces_mean,ces_5plus,note\r\n"
               "\"'=X,\"\"y\"\"\",6,6,100.0,25.9,100.0,1.00,0.00,0.00,,,,,,,,\r\n"
               "total,6,6,100.0,25.9,100.0,1.00,0.00,0.00,,,,,,,,\r\n"),
         "a team named =X,\"y\": the cell is quoted, its quotes doubled, a ' in front; the figures exact")
    rows = list(csv.reader(io.StringIO(text if isinstance(text, str) else "", newline="")))
    t.eq([r[0] for r in rows], ["team", "'=X,\"y\"", "total"],
         "round trip through Python's csv module: the name comes back whole, as text")


if __name__ == "__main__":
    ks.run(main)
