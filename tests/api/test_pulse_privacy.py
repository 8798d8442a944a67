#!/usr/bin/python3
"""Anonymity attacks on the employee pulse (issue 17 P; docs/PRIVACY.md
"Employee pulse"), as for employee scores: a small team is hidden and cannot
be recovered by subtracting (department minus its other teams), two hidden
teams of one department never add up to fewer than the minimum either,
requests of different scopes cannot be differenced, comments of a small (or
hidden) team appear nowhere, comments take no filter, the limits cannot be
lowered (API and database), and the database holds no link from an answer to
a person, an invitation or a time.

Issue 17's review attacks, each failing without its fix:
  C1  reading an open wave before and after a colleague answers (results,
      comments, counts, the eNPS series) gives their answer: nothing of an
      open wave is computed;
  H2  moving a team to another department after the close and reading again
      re-cuts the wave and recovers a hidden team: a closed wave is served as
      written at closing;
  C2  the access log printed /p/<token>, whose SHA-256 is the invitation's
      token_hash: the log prints the route's pattern;
  H1  the answer's language was the invitation's: no language column;
  M1  a per-employee "answered" flag: used links are kept under a second hash;
  H3  fake employees put into a team subtract out: a team with members who
      joined in the 28 days before the opening is hidden ("composition
      changed"), and an answer is filed under the team at the opening;
  GDPR an erased employee's pulse invitations go, and are in their export.

The tree (employees per team, all answer, each with a comment naming the
team): Zorg: A 6, B 7, C 4 | Verkoop: E 5, F 8 | Staf: G 1, H 2, I 9; and a
second organisation Org2 with one department Solo of one team S 4.
With groups of 5: C (4), G (1), H (2), S (4) are hidden for being small; A
(the smallest shown team of Zorg) so that Zorg minus B does not give C; I
because Staf minus I would give G + H = 3 people; Solo and Org2 because
they hold S alone. The wave's total of answers is withheld from non-admins
then: it minus Org would give S.
"""
import hashlib
import os
import sqlite3
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
from pulse_fx import server, must, enps_expected, tree, token, Client, links, answer, q  # noqa: E402

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
    with server(t) as (srv, sink):
        run(t, srv, sink)


def tok_of(link):
    return urllib.parse.urlparse(link).path.rsplit("/", 1)[1]


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def mailed(srv, sink, emps, teams="ABCEFGHIS"):
    """The scheduler mails the open wave's invitations: {(team, i): link}."""
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
    got = links(sink)
    out = {}
    for tm in teams:
        for i in range(len(emps[tm])):
            out[(tm, i)] = [v for a, v in got.items() if a.startswith("%s.%d." % (tm.lower(), i))][0]
    return out


def answer_all(srv, lk, emps, skip=(), teams="ABCEFGHIS"):
    order = []
    for tm in teams:
        for i in range(len(emps[tm])):
            if (tm, i) in skip:
                continue
            st, _, body = answer(srv, lk[(tm, i)], score_of(tm, i), (3, 4, 5), "%s-%d" % (tm, i))
            if st != 201:
                raise ks.FixtureError("answer %s %d -> %s" % (tm, i, ks.got(st, body)))
            order.append("%s-%d" % (tm, i))
    return order


def snapshot(srv, roles, wid, units):
    """Everything a reader can ask about a wave and the month's eNPS."""
    out = []
    for who, cl in [("admin", None)] + list(roles.items()):
        get = cl.get if cl else srv.get
        out.append((who, "results", get("%s?%s" % (RESULTS, q(wave=wid)))[2]))
        out.append((who, "waves", get(WAVES)[2]))
        out.append((who, "wave", get("%s/%d" % (WAVES, wid))[2]))
        for u in units:
            out.append((who, "comments %d" % u, get("%s/%d/comments?%s" % (WAVES, wid, q(unit_id=u)))[2]))
    out.append(("admin", "series", srv.get("/api/v1/kpi-series?%s" % q(kpi="enps", level="team",
                                                                        **{"from": "2026-11", "to": "2026-11"}))[2]))
    return out


def table_columns(srv, table):
    """The table's columns in order, from either backend's catalogue (issue 18)."""
    if ks.pg_mode():
        return [r[0] for r in srv.sql("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(?)"
                                      " AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (table,))]
    return [r[1] for r in srv.sql("PRAGMA table_info(%s)" % table)]


def table_references(srv, table):
    """The tables the table's foreign keys refer to (a set)."""
    if ks.pg_mode():
        return {r[0] for r in srv.sql("SELECT f.relname FROM pg_constraint k JOIN pg_class f ON f.oid = k.confrelid"
                                      " WHERE k.contype = 'f' AND k.conrelid = to_regclass(?)", (table,))}
    return {r[2] for r in srv.sql("PRAGMA foreign_key_list(%s)" % table)}

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
    roles = {
        "director": Client(srv, token(srv.db, "director")),
        "manager Zorg": Client(srv, token(srv.db, "manager", unit=ids["Zorg"])),
        "manager Verkoop": Client(srv, token(srv.db, "manager", unit=ids["Verkoop"])),
        "lead B": Client(srv, token(srv.db, "team_lead", unit=ids["B"])),
        "lead C": Client(srv, token(srv.db, "team_lead", unit=ids["C"])),
        "lead F": Client(srv, token(srv.db, "team_lead", unit=ids["F"])),
        "employee C": Client(srv, token(srv.db, "employee", emp=emps["C"][0])),
        "employee E": Client(srv, token(srv.db, "employee", emp=emps["E"][0])),
        "employee F": Client(srv, token(srv.db, "employee", emp=emps["F"][0])),
        "employee S": Client(srv, token(srv.db, "employee", emp=emps["S"][0])),
    }
    wid = must(srv.post(WAVES, {}), 201, "open a wave")["id"]
    lk = mailed(srv, sink, emps)
    t.eq(len(lk), 46, "46 invitations mailed")
    order = answer_all(srv, lk, emps, skip=[("F", 7)])

    # ---- C1: reading an open wave before and after a colleague answers
    watch = [org, ids["Verkoop"], ids["F"]]
    before = snapshot(srv, roles, wid, watch)
    st, _, body = answer(srv, lk[("F", 7)], 0, (3, 4, 5), "F-7")
    t.eq(st, 201, "F's last colleague answers (0, with a comment)")
    order.append("F-7")
    after = snapshot(srv, roles, wid, watch)
    moved = sorted("%s %s" % (a[0], a[1]) for a, b in zip(before, after)
                   if a != b and not (a[0] == "admin" and a[1] in ("results", "waves", "wave")))
    t.eq(moved, [], "an open wave reads the same before and after F's last answer, for every role and "
         "request (results, comments, wave counts, the eNPS series) — the admin's organisation count aside")
    res = [x[2] for x in after if x[1] == "results"]
    t.check(all(r.get("units") == [] and r.get("available") is False for r in res),
            "an open wave has no units for anyone (its results come at closing)", res[1] if len(res) > 1 else res)
    t.check(all(x[2].get("items", []) == [] for x in after if x[1].startswith("comments")),
            "nor comments (for those who may ask: others get 403)")
    t.check(all(x[2].get("answered") is None for x in after if x[1] == "wave" and x[0] != "admin"),
            "nor an answer count for anyone but the admin")
    adm = [x[2] for x in after if x[0] == "admin" and x[1] == "wave"][0]
    t.eq(adm.get("answered"), 46, "the admin sees only the organisation's total (46)")
    ser = [x[2] for x in after if x[1] == "series"][0]
    t.check(all(v is None for row in ser.get("units", []) for v in row.get("values", [])),
            "the eNPS series holds nothing of the open wave", ser)

    # ---- the database holds no link
    cols = table_columns(srv, "pulse_answers")
    t.eq(sorted(cols), sorted(["id", "wave_id", "team_id", "enps", "item1", "item2", "item3", "comment"]),
         "pulse_answers: no employee, invitation, user, time or language column (H1: the invitation's language)")
    t.eq(sorted(table_references(srv, "pulse_answers")), ["org_units", "pulse_waves"],
         "pulse_answers refers only to its wave and its org unit")
    inv_cols = table_columns(srv, "pulse_invitations")
    t.check(not any("answer" in c or "response" in c or c == "used" for c in inv_cols),
            "M1: pulse_invitations holds nothing about answering (no answered flag, no time)", inv_cols)
    t.eq(sorted(table_columns(srv, "pulse_used_tokens")), ["hash", "wave_id"],
         "M1: used links are kept with no employee and no invitation")
    inv_hashes = {r[0] for r in srv.sql("SELECT token_hash FROM pulse_invitations WHERE wave_id = ?", (wid,))}
    used = {r[0] for r in srv.sql("SELECT hash FROM pulse_used_tokens WHERE wave_id = ?", (wid,))}
    toks = [tok_of(v) for v in lk.values()]
    t.check(all(sha(x) in inv_hashes for x in toks) and used == {sha("used:" + x) for x in toks},
            "M1: the invitation keeps SHA-256(token), the used table SHA-256('used:' + token)")
    t.eq(used & inv_hashes, set(), "M1: no used hash matches any invitation's: who answered is not stored")
    rows = srv.sql("SELECT id, comment FROM pulse_answers ORDER BY id")  # id is the rowid
    ids_in_table = [r[0] for r in rows]
    seq = [order.index(r[1]) for r in rows]
    t.check(all(i >= (1 << 40) for i in ids_in_table), "answer ids are large random numbers, not 1, 2, 3",
            ids_in_table[:5])
    rho = spearman(ids_in_table, seq)
    t.check(abs(rho) < 0.6, "the table's order (by id) does not follow the order of answering (|rho| < 0.6)",
            "rho = %.3f" % rho)
    inv = srv.sql("SELECT id FROM pulse_invitations WHERE wave_id = ? ORDER BY id", (wid,))
    t.check(len(inv) == 46 and seq != list(range(46)), "nor the order of the invitations")

    # ---- C2: no link token in the access log
    log = srv.stderr()
    t.check("POST /p/{token} 201" in log, "the access log names the answer route by its pattern",
            [x for x in log.splitlines() if "/p/" in x][:3])
    leaked = [x for x in toks if x in log]
    t.eq(leaked, [], "C2: none of the 46 used link tokens is in the access log")
    probes = {"/s/": "SurveyTok1234567", "/u/": "UnsubTok1234567", "/r/": "ReviewTok1234567",
              "/d/": "DigestTok1234567", "/w/": "WidgetTok1234567", "/p/": "PulseTok1234567/more"}
    for prefix, secret in probes.items():
        srv.request("GET", prefix + secret)
        srv.request("DELETE", prefix + secret)
    log = srv.stderr()
    t.eq([s for s in probes.values() if s.split("/")[0] in log], [],
         "C2: no token of /s/ /u/ /r/ /d/ /w/ /p/ reaches the log, for a GET, a 405 or an unmatched path")

    # ---- the limits
    t.error(srv.request("PUT", SETTINGS, {"min_group": 2}), 422, field="min_group", name="min group 2: 422")
    t.error(srv.request("PUT", SETTINGS, {"min_group_comments": 4}), 422, field="min_group_comments",
            name="comments from 4: 422")
    # a connection per statement: a refused statement leaves a PostgreSQL
    # transaction aborted, and closing without commit rolls back on both
    refused = (sqlite3.IntegrityError,)
    if ks.pg_mode():
        import psycopg2
        refused += (psycopg2.IntegrityError,)
    for sql in ("UPDATE pulse_settings SET min_group = 2", "UPDATE pulse_settings SET min_group_comments = 4"):
        con = ks.db_connect(srv.db)
        try:
            con.execute(sql)
            con.commit()
            t.check(False, "the schema refuses: %s" % sql)
        except refused:
            t.check(True, "the schema refuses: %s" % sql)
        finally:
            con.close()

    # ---- results: which units are hidden (written at closing)
    must(srv.post("%s/%d/close" % (WAVES, wid)), 200, "close the wave")
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
        if tm == "F":
            scores[7] = 0
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

    # ---- H2: a reorganisation after the close does not re-cut the wave.
    # Moving I (hidden, 9) from Staf to Verkoop and reading again would give
    # Verkoop + I - Verkoop = I on a recomputed tree.
    def units_of(r):
        return {u["unit_id"]: u for u in r.get("units", [])}
    must(srv.request("PUT", "/api/v1/teams/%d" % ids["I"], {"parent_id": ids["Verkoop"]}), 200, "move I to Verkoop")
    st, _, moved = srv.get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq((st, units_of(moved) == by), (200, True),
         "H2: after I moves to Verkoop the closed wave reads exactly as before (Verkoop 13, I hidden, its parent Staf)")
    t.eq(units_of(moved)[ids["Verkoop"]]["respondents"], 13, "H2: Verkoop still 13, not 13 + I's 9")
    st, _, mv = roles["manager Verkoop"].get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq(sorted(name_of[u["unit_id"]] for u in mv.get("units", [])), ["E", "F", "Verkoop"],
         "H2: Verkoop's manager sees the wave's Verkoop as it closed (I is not drawn in)")
    ser_moved = must(srv.get("/api/v1/kpi-series?%s" % q(kpi="enps", level="department",
                                                         **{"from": "2026-11", "to": "2026-11"})), 200, "series")
    vk = [row for row in ser_moved["units"] if row["unit_id"] == ids["Verkoop"]][0]["values"][0]
    want_vk = enps_expected([score_of(tm, i) if (tm, i) != ("F", 7) else 0
                             for tm in "EF" for i in range(len(emps[tm]))])["value"]
    t.check(vk is not None and abs(vk - want_vk) <= 0.05 + 1e-9,
            "H2: the eNPS series' Verkoop is the wave's, E and F only (%.1f)" % want_vk, vk)
    must(srv.request("PUT", "/api/v1/teams/%d" % ids["I"], {"parent_id": ids["Staf"]}), 200, "move I back")

    # ---- with groups of 3 (a new wave: a closed wave keeps the limits it
    # closed with), C's 4 are shown; its comments still are not (from 5)
    must(srv.request("PUT", SETTINGS, {"min_group": 3}), 200, "min group 3")
    st, _, r_old = srv.get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq((r_old.get("min_group"), units_of(r_old) == by), (5, True), "the closed wave keeps its groups of 5")
    wid3 = must(srv.post(WAVES, {}), 201, "open a wave (groups of 3)")["id"]
    lk3 = mailed(srv, sink, emps)
    answer_all(srv, lk3, emps)
    must(srv.post("%s/%d/close" % (WAVES, wid3)), 200, "close it")
    st, _, r3 = srv.get("%s?%s" % (RESULTS, q(wave=wid3)))
    by3 = {u["unit_id"]: u for u in r3["units"]}
    t.eq(sorted(name_of[u] for u, c in by3.items() if not c["shown"]), ["G", "H"],
         "groups of 3: only G (1) and H (2) hidden; G + H = 3 may be derived; S (4) and its lines shown")
    t.eq((by3[ids["C"]]["respondents"], by3[ids["C"]]["comments"]), (4, False), "C shown (4) but without comments")

    def comments3(unit):
        return sorted(must(srv.get("%s/%d/comments?%s" % (WAVES, wid3, q(unit_id=unit))), 200, "comments")["items"])
    t.eq(comments3(ids["Zorg"]), of("A", "B"), "Zorg's comments: A and B's, never C's")
    t.eq(comments3(ids["C"]), [], "C's own comments: none")
    t.check(len(r3["units"]) == 15, "15 units in the reply")
    must(srv.request("PUT", SETTINGS, {"min_group": 5}), 200, "min group 5 again")

    # ---- H3: fake employees put into E (5) before a wave, whose answers
    # the admin knows, would subtract out of E's figure
    fakes = []
    for k in range(2):
        fakes.append(srv.create("employees", {"team_id": ids["E"], "first_name": "Nep%d" % k, "last_name": "X",
                                              "email": "fake.%d.%s@example.org" % (k, ks.uniq("nep"))})["id"])
    wid4 = must(srv.post(WAVES, {}), 201, "open a wave after adding two employees to E")["id"]
    # after the opening one of F moves to B: the answer stays with F
    must(srv.request("PUT", "/api/v1/employees/%d" % emps["F"][0], {"team_id": ids["B"]}), 200, "move F0 to B")
    lk4 = mailed(srv, sink, emps)
    answer_all(srv, lk4, emps)
    fl = {a: v for a, v in links(sink).items() if a.startswith("fake.")}
    t.eq(len(fl), 2, "the two added employees are invited")
    for v in fl.values():
        must_st = answer(srv, v, 10, (5, 5, 5), "nep")[0]
        t.eq(must_st, 201, "an added employee answers 10")
    must(srv.post("%s/%d/close" % (WAVES, wid4)), 200, "close it")
    st, _, r4 = srv.get("%s?%s" % (RESULTS, q(wave=wid4)))
    by4 = units_of(r4)
    e4 = by4[ids["E"]]
    t.eq((e4["shown"], e4.get("reason"), e4.get("respondents"), "enps" in e4), (False, "composition_changed", None, False),
         "H3: E, two members joined just before the wave: hidden, 'composition changed'")
    t.eq(srv.sql("SELECT team_id, count(*) FROM pulse_answers WHERE wave_id = ? AND team_id IN (?, ?)"
                 " GROUP BY team_id ORDER BY team_id", (wid4, ids["B"], ids["F"])),
         sorted([(ids["B"], 7), (ids["F"], 8)]),
         "H3: F0's answer is filed under F (the team at the opening), not B, where F0 is now")
    t.eq((by4[ids["B"]].get("respondents"), by4[ids["Verkoop"]].get("respondents")), (7, 15),
         "H3: B reads 7 and Verkoop 15 (E's 7 with the added two, F's 8)")
    lines_check(t, units, [r4], "H3 wave")
    st, _, c4 = srv.get("%s/%d/comments?%s" % (WAVES, wid4, q(unit_id=ids["Verkoop"])))
    t.check("nep" not in c4.get("items", []) and not any(x.startswith("E-") for x in c4.get("items", [])),
            "H3: no comment of E either", c4.get("items"))
    must(srv.request("PUT", "/api/v1/employees/%d" % emps["F"][0], {"team_id": ids["F"]}), 200, "F0 back to F")

    # ---- GDPR: an erased employee's pulse invitations
    e1 = emps["E"][1]
    st, _, ex = srv.get("/api/v1/employees/%d/export" % e1)
    pin = ex.get("pulse_invitations") if st == 200 else None
    t.check(isinstance(pin, list) and sorted(x["wave_id"] for x in pin) == sorted([wid, wid3, wid4])
            and not any("token_hash" in x for x in pin),
            "the export of E1 lists their three pulse invitations (without the token hash)", pin)
    must(srv.post("/api/v1/employees/%d/erase" % e1, {"confirm": True}), 200, "erase E1")
    t.eq(srv.sql("SELECT count(*) FROM pulse_invitations WHERE employee_id = ?", (e1,)), [(0,)],
         "erasure deletes their pulse invitations (the answers never pointed at them)")
    st, _, again = srv.get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq(units_of(again) == by, True, "and the closed waves' results stay as they were")


if __name__ == "__main__":
    ks.run(main, start_server=False)
