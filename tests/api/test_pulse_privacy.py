#!/usr/bin/python3
"""Anonymity attacks on the employee pulse (issue 17 P; docs/PRIVACY.md
"Employee pulse"), as for employee scores: a small team is hidden and cannot
be recovered by subtracting (department minus its other teams), two hidden
teams of one department never add up to fewer than the minimum either,
requests of different scopes cannot be differenced, comments of a small (or
hidden) team appear nowhere, comments take no filter, the limits cannot be
lowered (API and database), and the database holds no link from an answer to
a person, an invitation or a time.

The tree (employees per team, all answer, each with a comment naming the
team): Zorg: A 6, B 7, C 4 | Verkoop: E 5, F 8 | Staf: G 1, H 2, I 9; and a
second organisation Org2 with one department Solo of one team S 4.
With groups of 5: C (4), G (1), H (2), S (4) are hidden for being small; A
(the smallest shown team of Zorg) so that Zorg minus B does not give C; I
because Staf minus I would give G + H = 3 people; Solo and Org2 because
they hold S alone. The wave's total of answers is withheld from non-admins
then: it minus Org would give S.
"""
import os
import sqlite3
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402
from pulse_fx import START, must, enps_expected, tree, token, Client, links, answer, q  # noqa: E402

SPEC = {"Zorg": {"A": 6, "B": 7, "C": 4}, "Verkoop": {"E": 5, "F": 8}, "Staf": {"G": 1, "H": 2, "I": 9}}
DEPT_OF = {tm: d for d, teams in SPEC.items() for tm in teams}
WAVES = "/api/v1/pulse/waves"
RESULTS = "/api/v1/pulse/results"
SETTINGS = "/api/v1/pulse/settings"


def score_of(team, i):
    """A fixed, varied score per person: promoters, passives and detractors."""
    return [10, 3, 9, 7, 5, 10, 8, 2, 9][(ord(team) * 7 + i * 5) % 9]


def spearman(xs, ys):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0] * len(v)
        for k, i in enumerate(order):
            r[i] = k
        return r
    rx, ry = ranks(xs), ranks(ys)
    n = len(xs)
    d2 = sum((a - b) ** 2 for a, b in zip(rx, ry))
    return 1 - 6 * d2 / (n * (n * n - 1))


def lines_check(t, units, replies, who):
    """Every line parent = sum of children, as a reader sees it: no line with
    a shown parent has exactly one hidden member with answers, and what the
    hidden members sum to (parent minus shown members) is 0 or >= 5."""
    cells = {}
    for r in replies:
        for u in r.get("units", []):
            cells[u["unit_id"]] = u
    bad = []
    for parent, children in units["lines"].items():
        p = cells.get(parent)
        if p is None or not p.get("shown"):
            continue
        kids = [cells.get(c) for c in children]
        if any(k is None for k in kids):
            continue  # the reader does not see the whole line
        hidden = [k for k in kids if not k["shown"] and k.get("reason") != "no_answers"]
        derived = p["respondents"] - sum(k["respondents"] for k in kids if k["shown"])
        if len(hidden) == 1 or (0 < derived < 5):
            bad.append((p["name"], [k["name"] for k in hidden], derived))
    t.eq(bad, [], "%s: no line gives away a hidden team (one hidden member, or a hidden sum under 5)" % who)


def main(t):
    sink = smtp_sink.Sink()
    sink.start()
    srv = ks.Server(t, args=["--test-clock", START, "--base-url", "https://pulse.example.nl", "--smtp", sink.url])
    try:
        srv.start()
        run(t, srv, sink)
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()
            sink.stop()
            sink.cleanup()


def run(t, srv, sink):
    org, ids, emps = tree(srv, SPEC, ks.uniq("priv"))
    # a second organisation: one department, one team of 4 (line upon line)
    org2, ids2, emps2 = tree(srv, {"Solo": {"S": 4}}, ks.uniq("solo"))
    ids.update(ids2)
    emps.update(emps2)
    units = {"lines": {org: [ids[d] for d in SPEC], org2: [ids["Solo"]], ids["Solo"]: [ids["S"]]}}
    for d, teams in SPEC.items():
        units["lines"][ids[d]] = [ids[tm] for tm in teams]
    name_of = {v: k for k, v in ids.items()}
    name_of[org] = "Org"
    name_of[org2] = "Org2"
    wid = must(srv.post(WAVES, {}), 201, "open a wave")["id"]
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
    got = links(sink)
    t.eq(len(got), 46, "46 invitations mailed")
    order = []
    for tm in "ABCEFGHIS":
        for i in range(len(emps[tm])):
            link = [v for a, v in got.items() if a.startswith("%s.%d." % (tm.lower(), i))][0]
            st, _, body = answer(srv, link, score_of(tm, i), (3, 4, 5), "%s-%d" % (tm, i))
            if st != 201:
                raise ks.FixtureError("answer %s %d -> %s" % (tm, i, ks.got(st, body)))
            order.append("%s-%d" % (tm, i))

    # ---- the database holds no link
    cols = [r[1] for r in srv.sql("PRAGMA table_info(pulse_answers)")]
    t.eq(sorted(cols), sorted(["id", "wave_id", "team_id", "enps", "item1", "item2", "item3", "comment", "language"]),
         "pulse_answers: no employee, invitation, user or time column")
    t.eq(sorted({r[2] for r in srv.sql("PRAGMA foreign_key_list(pulse_answers)")}), ["org_units", "pulse_waves"],
         "pulse_answers refers only to its wave and its org unit")
    inv_cols = [r[1] for r in srv.sql("PRAGMA table_info(pulse_invitations)")]
    t.check(not any("answer_" in c or c == "answered_at" or "response" in c for c in inv_cols),
            "pulse_invitations: answered yes/no, no time, nothing pointing at an answer", inv_cols)
    t.eq(srv.sql("SELECT DISTINCT typeof(answered) FROM pulse_invitations"), [("integer",)],
         "the answered mark is a 0/1 flag")
    rows = srv.sql("SELECT id, comment FROM pulse_answers ORDER BY rowid")
    ids_in_table = [r[0] for r in rows]
    seq = [order.index(r[1]) for r in rows]
    t.check(all(i >= (1 << 40) for i in ids_in_table), "answer ids are large random numbers, not 1, 2, 3",
            ids_in_table[:5])
    rho = spearman(ids_in_table, seq)
    t.check(abs(rho) < 0.6, "the table's order (by id) does not follow the order of answering (|rho| < 0.6)",
            "rho = %.3f" % rho)
    inv = srv.sql("SELECT id FROM pulse_invitations WHERE wave_id = ? ORDER BY id", (wid,))
    t.check(len(inv) == 46 and seq != list(range(46)), "nor the order of the invitations")

    # ---- the limits
    t.error(srv.request("PUT", SETTINGS, {"min_group": 2}), 422, field="min_group", name="min group 2: 422")
    t.error(srv.request("PUT", SETTINGS, {"min_group_comments": 4}), 422, field="min_group_comments",
            name="comments from 4: 422")
    con = sqlite3.connect(srv.db, timeout=10)
    try:
        for sql in ("UPDATE pulse_settings SET min_group = 2", "UPDATE pulse_settings SET min_group_comments = 4"):
            try:
                con.execute(sql)
                con.commit()
                t.check(False, "the schema refuses: %s" % sql)
            except sqlite3.IntegrityError:
                t.check(True, "the schema refuses: %s" % sql)
    finally:
        con.rollback()
        con.close()

    # ---- results: which units are hidden
    st, _, admin = srv.get("%s?%s" % (RESULTS, q(wave=wid)))
    by = {u["unit_id"]: u for u in admin.get("units", [])}
    hidden = sorted(name_of[u] for u, c in by.items() if not c["shown"])
    t.eq(hidden, ["A", "C", "G", "H", "I", "Org2", "S", "Solo"],
         "hidden: C, G, H, S (small), A (protects C), I (protects G + H), Solo and Org2 (they are S)")
    for u, c in by.items():
        if not c["shown"]:
            t.check(c.get("respondents") is None and "enps" not in c and "items" not in c,
                    "%s hidden: no count, no eNPS, no items" % name_of[u], c)
    for tm in "BEF":
        scores = [score_of(tm, i) for i in range(len(emps[tm]))]
        want = enps_expected(scores)
        c = by[ids[tm]]
        t.eq((c["respondents"], c["enps"]["value"]), (len(scores), want["value"]), "%s shown with its eNPS" % tm)
    t.eq([by[ids[d]]["respondents"] for d in SPEC], [17, 13, 12], "departments shown with their respondents")
    t.eq(by[org]["respondents"], 42, "the organisation: 42")
    zorg = by[ids["Zorg"]]["respondents"] - by[ids["B"]]["respondents"]
    t.check(zorg == 10 and not by[ids["A"]]["shown"],
            "Zorg minus the shown B gives A + C together (10), not C's 4", zorg)
    lines_check(t, units, [admin], "admin")

    # ---- overlapping requests of other scopes
    roles = {
        "director": Client(srv, token(srv.db, "director")),
        "manager Zorg": Client(srv, token(srv.db, "manager", unit=ids["Zorg"])),
        "lead B": Client(srv, token(srv.db, "team_lead", unit=ids["B"])),
        "lead C": Client(srv, token(srv.db, "team_lead", unit=ids["C"])),
        "employee C": Client(srv, token(srv.db, "employee", emp=emps["C"][0])),
        "employee E": Client(srv, token(srv.db, "employee", emp=emps["E"][0])),
        "employee S": Client(srv, token(srv.db, "employee", emp=emps["S"][0])),
    }
    replies = [admin]
    for unit in [org, ids["Zorg"], ids["B"], ids["C"], ids["Staf"]]:
        replies.append(must(srv.get("%s?%s" % (RESULTS, q(wave=wid, unit_id=unit))), 200, "admin unit %d" % unit))
    for who, cl in roles.items():
        st, _, r = cl.get("%s?%s" % (RESULTS, q(wave=wid)))
        t.eq(st, 200, "%s reads the results" % who)
        replies.append(r)
    seen = {}
    differ = []
    for r in replies:
        for u in r.get("units", []):
            if u["unit_id"] in seen and seen[u["unit_id"]] != u:
                differ.append(name_of[u["unit_id"]])
            seen.setdefault(u["unit_id"], u)
    t.eq(differ, [], "every unit reads the same in every request, whatever its scope (nothing to difference)")
    lines_check(t, units, replies, "all requests together")
    st, _, lc = roles["lead C"].get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq([(u["name"], u["shown"], u["respondents"]) for u in lc.get("units", [])], [("C", False, None)],
         "C's own team lead sees C hidden, without a count")
    st, _, es = roles["employee S"].get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq(sorted((name_of[u["unit_id"]], u["shown"], u["respondents"]) for u in es.get("units", [])),
         [("Org", True, 42), ("Org2", False, None), ("S", False, None)],
         "an employee of S: both organisations (Org2 hidden, it is S) and S hidden")
    t.eq((es["wave"]["answered"], es["wave"]["response_rate"]), (None, None),
         "and no total of answers: 46 minus Org's 42 would give S's 4")
    st, _, wl = roles["employee S"].get("%s/%d" % (WAVES, wid))
    t.eq((st, wl.get("answered")), (200, None), "nor in the wave itself")
    t.eq(admin["wave"]["answered"], 46, "the admin, who runs the pulse, sees the total")
    st, _, ec = roles["employee C"].get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq(sorted((name_of[u["unit_id"]], u["shown"]) for u in ec.get("units", [])),
         [("C", False), ("Org", True), ("Org2", False)], "an employee of C sees the organisations and C hidden")

    # ---- comments
    all_comments = set()
    for who, cl in list(roles.items()) + [("admin", None)]:
        for u in by:
            path = "%s/%d/comments?%s" % (WAVES, wid, q(unit_id=u))
            st, _, c = cl.get(path) if cl else srv.get(path)
            if st == 200:
                all_comments |= set(c.get("items", []))
    leaked = sorted(x for x in all_comments if x[0] in "ACGHIS")
    t.eq(leaked, [], "no comment of a small or hidden team appears for any unit or role")

    def comments(unit):
        return sorted(must(srv.get("%s/%d/comments?%s" % (WAVES, wid, q(unit_id=unit))), 200, "comments")["items"])

    def of(*teams):
        return sorted("%s-%d" % (tm, i) for tm in teams for i in range(len(emps[tm])))
    t.eq(comments(org), of("B", "E", "F"), "the organisation's comments: B, E and F's only")
    t.eq(comments(ids["Zorg"]), of("B"), "Zorg's comments: B's only")
    t.eq(comments(ids["Verkoop"]), of("E", "F"), "Verkoop's: E and F's")
    t.eq(comments(ids["Staf"]), [], "Staf's: none (all its teams are hidden)")
    t.eq([by[ids[d]]["comments"] for d in SPEC], [True, True, False],
         "Staf (12 answers, every team hidden) does not offer comments it cannot show")
    st, _, cc = srv.get("%s/%d/comments?%s" % (WAVES, wid, q(unit_id=ids["C"])))
    t.eq((st, cc.get("shown"), cc.get("items")), (200, False, []), "C's comments: not shown, none")
    for param in ["team_id", "language", "enps", "employee_id", "from", "min_group", "wave", "sort"]:
        t.error(srv.get("%s/%d/comments?%s" % (WAVES, wid, q(unit_id=org, **{param: "1"}))), 422, field=param,
                name="comments refuse %s= (422 naming it)" % param)
    for param in ["language", "employee_id", "group_by", "enps"]:
        t.error(srv.get("%s?%s" % (RESULTS, q(wave=wid, **{param: "1"}))), 422, field=param,
                name="results refuse %s=" % param)
    t.error(srv.get("%s/%d/comments" % (WAVES, wid)), 422, field="unit_id", name="comments need a unit")

    # ---- with groups of 3, C's 4 are shown; its comments still are not (from 5)
    must(srv.request("PUT", SETTINGS, {"min_group": 3}), 200, "min group 3")
    st, _, r3 = srv.get("%s?%s" % (RESULTS, q(wave=wid)))
    by3 = {u["unit_id"]: u for u in r3["units"]}
    t.eq(sorted(name_of[u] for u, c in by3.items() if not c["shown"]), ["G", "H"],
         "groups of 3: only G (1) and H (2) hidden; G + H = 3 may be derived; S (4) and its lines shown")
    t.eq((by3[ids["C"]]["respondents"], by3[ids["C"]]["comments"]), (4, False), "C shown (4) but without comments")
    t.eq(comments(ids["Zorg"]), of("A", "B"), "Zorg's comments: A and B's, never C's")
    t.eq(comments(ids["C"]), [], "C's own comments: none")
    lines_check3 = [c for c in r3["units"]]
    t.check(len(lines_check3) == 15, "15 units in the reply")
    must(srv.request("PUT", SETTINGS, {"min_group": 5}), 200, "min group 5 again")


if __name__ == "__main__":
    ks.run(main, start_server=False)
