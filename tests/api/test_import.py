#!/usr/bin/python3
"""`klantstem import responses` (issue 15; docs/IMPORT.md).

An organisation is made through the API (two teams, an employee, a journey
with two touchpoints, customers); the server stops; a generated file of 200
rows (byte order mark, CRLF, quoted open answers with commas, quotes and
line breaks, driver ratings with NA / n.v.t. / empty, touchpoints by name
and by id, employees by e-mail, customers by external id, dates and times
with and without an offset, rows with and without client_key) is imported.
From the file alone the test computes the counts, the NPS and the number of
ratings per aspect, and compares them with the database (sqlite3 or PostgreSQL) and, after
a restart, with /api/v1/metrics and /api/v1/drivers. Then: a re-import adds
nothing; a semicolon file with decimal commas and unquoted commas in its
text; a file with three bad rows (one after a quoted line break, so the
line numbers must count it) is refused with the three FILE:LINE messages
and the database unchanged; --dry-run writes nothing; an empty file, a
header-only file, an unknown column and a reused client_key are refused."""

import os
import random
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

A, B = "snelheid", "vriendelijkheid"
MISSING = ["", "NA", "n.v.t.", "N/A", " "]


RUNS = []  # stderr of every import run: checked for sanitizer reports at the end


def imp(path, db, *extra):
    rc, out, err = ks.run_cli(["import", "responses", "--db", db, path] + list(extra), timeout=120)
    RUNS.append((path, err))
    return rc, out, err


def counts(db):
    con = ks.db_connect(db)
    try:
        return tuple(con.execute(q).fetchone()[0] for q in (
            "SELECT count(*) FROM responses",
            "SELECT count(*) FROM response_drivers",
            "SELECT count(*) FROM text_analysis"))
    finally:
        con.close()


def write(path, text, bom=False, crlf=False):
    if crlf:
        text = text.replace("\n", "\r\n")
    with open(path, "wb") as f:
        f.write((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def quote(v):
    v = str(v)
    if any(c in v for c in ',"\n\r;'):
        return '"' + v.replace('"', '""') + '"'
    return v


def no_sanitizer(t, err, name):
    rep = ks.sanitizer_report(err)
    t.check(rep is None, name + ": no sanitizer report", (rep or "")[:4000])


def make_org(t, srv):
    def post(path, body):
        st, _, b = srv.post(path, body)
        if st != 201:
            raise ks.FixtureError("POST %s -> %s" % (path, ks.got(st, b)))
        return b
    org = post("/api/v1/teams", {"name": "Org " + ks.uniq("o"), "kind": "organisation"})
    dep = post("/api/v1/teams", {"name": "Dep " + ks.uniq("d"), "kind": "department", "parent_id": org["id"]})
    noord = post("/api/v1/teams", {"name": "Import Noord", "kind": "team", "parent_id": dep["id"]})
    zuid = post("/api/v1/teams", {"name": "Import Zuid", "kind": "team", "parent_id": dep["id"]})
    emp = post("/api/v1/employees", {"team_id": zuid["id"], "first_name": "Ans", "last_name": "Import",
                                     "email": "Ans.Import@example.test"})
    # a second one: answers that all name one person get no driver figures (PRIVACY.md)
    emp2 = post("/api/v1/employees", {"team_id": noord["id"], "first_name": "Bert", "last_name": "Import",
                                      "email": "bert@example.test"})
    j = post("/api/v1/journeys", {"name": "Import journey"})
    balie = post("/api/v1/touchpoints", {"journey_id": j["id"], "name": "Balie, centrum"})
    tel = post("/api/v1/touchpoints", {"journey_id": j["id"], "name": "Telefoon"})
    cust = {}
    for i, lang in enumerate(["nl", "en", "nl"]):
        c = post("/api/v1/customers", {"external_id": "K-%d" % i, "language": lang})
        cust["K-%d" % i] = (c["id"], lang)
    return {"noord": noord["id"], "zuid": zuid["id"], "emp": emp["id"], "emp2": emp2["id"], "balie": balie["id"],
            "tel": tel["id"], "cust": cust}


OPEN = ['Snel geholpen, dank "jullie" wel', "Te lang gewacht\nen niemand belde terug",
        "Vriendelijk, maar, traag", "", "prima", "The staff were rude, and slow"]


def gen_rows(rng, org, n):
    """n rows as dicts (the file's values) and what each should store."""
    rows, want = [], []
    for i in range(n):
        day = "2025-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28))
        when = rng.choice([day, day + "T10:15:00Z", day + "T23:30:00+01:00"])
        tp_name, tp_id = rng.choice([("Balie, centrum", org["balie"]), ("Telefoon", org["tel"])])
        tp = rng.choice([tp_name, str(tp_id)])
        has_nps = i % 10 != 0                 # every tenth row: grade only, no drivers
        nps = rng.randint(0, 10) if has_nps else None
        grade = rng.randint(1, 10) if (not has_nps or rng.random() < 0.5) else None
        ces = rng.randint(1, 7) if rng.random() < 0.3 else None
        da = rng.randint(1, 10) if has_nps and rng.random() < 0.8 else None
        db_ = rng.randint(1, 10) if has_nps and rng.random() < 0.7 else None
        emp = rng.choice(["ans.import@EXAMPLE.test", str(org["emp2"])]) if rng.random() < 0.3 else ""
        team = "Import Noord" if not emp and rng.random() < 0.5 else ""
        cust = rng.choice(["", "K-0", "K-1"])
        text = OPEN[i % len(OPEN)]
        key = "file-a-%d" % i if i % 2 == 0 else ""
        rows.append({"received_at": when, "touchpoint": tp,
                     "nps": "" if nps is None else nps, "grade": "" if grade is None else grade,
                     "ces": "" if ces is None else ces,
                     "driver:" + A: rng.choice(MISSING) if da is None else da,
                     "driver:" + B: rng.choice(MISSING) if db_ is None else db_,
                     "open": text, "employee": emp, "team": team,
                     "customer_external_id": cust, "client_key": key})
        want.append({"nps": nps, "grade": grade, "ces": ces, A: da, B: db_, "open": text.strip() or None,
                     "tp": tp_id, "team": (org["zuid"] if "@" in emp else org["noord"]) if emp else org["noord"] if team else None,
                     "lang": org["cust"][cust][1] if cust else "nl"})
    return rows, want


COLS = ["received_at", "touchpoint", "nps", "grade", "ces", "driver:" + A, "Driver:" + B, "open",
        "employee", "team", "customer_external_id", "client_key"]


def csv_text(rows, cols=COLS, sep=","):
    head = sep.join(cols) + "\n"
    keys = [c if not c.lower().startswith("driver:") else "driver:" + c.split(":", 1)[1] for c in cols]
    return head + "".join(sep.join(quote(r[k]) for k in keys) + "\n" for r in rows)


def nps_of(scores):
    p = sum(1 for s in scores if s >= 9)
    d = sum(1 for s in scores if s <= 6)
    return 100.0 * (p - d) / len(scores)


def check_stored(t, db, want, org):
    con = ks.db_connect(db)
    got = con.execute("SELECT count(*), sum(nps IS NOT NULL), sum(grade IS NOT NULL), sum(ces IS NOT NULL),"
                      " sum(open_text IS NOT NULL), sum(source='import') FROM responses").fetchone()
    exp = (len(want), sum(w["nps"] is not None for w in want), sum(w["grade"] is not None for w in want),
           sum(w["ces"] is not None for w in want), sum(w["open"] is not None for w in want), len(want))
    t.eq(got, exp, "stored: rows, nps, grade, ces, open answers, all with source 'import'")
    for asp in (A, B):
        n = con.execute("SELECT count(*), sum(score) FROM response_drivers WHERE aspect=?", (asp,)).fetchone()
        t.eq(n, (sum(w[asp] is not None for w in want), sum(w[asp] or 0 for w in want)),
             "stored: ratings of %s (count, sum) as in the file; NA, n.v.t., N/A, blanks are none" % asp)
    per_tp = dict(con.execute("SELECT touchpoint_id, count(*) FROM responses GROUP BY 1").fetchall())
    t.eq(per_tp, {tp: sum(w["tp"] == tp for w in want) for tp in (org["balie"], org["tel"])},
         "touchpoints resolved by name (with a comma) and by id")
    per_team = dict(con.execute("SELECT coalesce(team_id,0), count(*) FROM responses GROUP BY 1").fetchall())
    exp_team = {}
    for w in want:
        exp_team[w["team"] or 0] = exp_team.get(w["team"] or 0, 0) + 1
    t.eq(per_team, exp_team, "teams by name, and the employee's team when only the employee (by e-mail, any case) is given")
    langs = dict(con.execute("SELECT language, count(*) FROM responses GROUP BY 1").fetchall())
    exp_l = {}
    for w in want:
        exp_l[w["lang"]] = exp_l.get(w["lang"], 0) + 1
    t.eq(langs, exp_l, "language from the customer (external id), else nl")
    texts = sorted(r[0] for r in con.execute("SELECT open_text FROM responses WHERE open_text IS NOT NULL"))
    t.eq(texts, sorted(w["open"] for w in want if w["open"]),
         "open answers stored exactly (quotes, commas, line breaks; CRLF inside a quoted field kept as written)")
    con.close()


def main(t, srv):
    org = make_org(t, srv)
    srv.stop("server stops before the import")
    db, d = srv.db, srv.dir
    rng = random.Random(15)
    rows, want = gen_rows(rng, org, 200)
    path = os.path.join(d, "answers.csv")
    # CRLF everywhere, also inside the quoted open answer with a line break
    write(path, csv_text(rows), bom=True, crlf=True)
    for w in want:
        if w["open"]:
            w["open"] = w["open"].replace("\n", "\r\n")
    before = counts(db)
    t.eq(before, (0, 0, 0), "fixture: no responses yet")

    rc, out, err = imp(path, db)
    t.eq((rc, out.strip()), (0, "200 responses added, 0 skipped as imported before"),
         "import of 200 rows (BOM, CRLF, quotes): exit 0 and the counts")
    t.check(err == "" or ks.sanitizer_report(err) is None, "import: nothing alarming on stderr", err[-2000:])
    no_sanitizer(t, err, "import")
    check_stored(t, db, want, org)
    n_open = sum(1 for w in want if w["open"])
    c = counts(db)
    t.eq(c[2], n_open, "text analysis: every open answer analysed in the import, as the writer does")
    con = ks.db_connect(db)
    unanalysed = con.execute("SELECT count(*) FROM responses r WHERE open_text IS NOT NULL AND NOT EXISTS"
                             " (SELECT 1 FROM text_analysis a WHERE a.response_id = r.id)").fetchone()[0]
    con.close()
    t.eq(unanalysed, 0, "text analysis: no open answer without its analysis")

    # the product sees them: restart and ask
    srv.start()
    resp = srv.get("/api/v1/metrics?period=2025")
    st, _, m = resp
    nps_scores = [w["nps"] for w in want if w["nps"] is not None]
    grades = [w["grade"] for w in want if w["grade"] is not None]
    t.status(resp, 200, "GET /metrics after the import")
    t.eq(m.get("n"), 200, "/metrics n = the file's rows")
    t.eq((m.get("nps") or {}).get("n"), len(nps_scores), "/metrics nps.n = the file's NPS answers")
    t.near((m.get("nps") or {}).get("value"), nps_of(nps_scores), 0.051, "/metrics NPS = computed from the file")
    t.eq((m.get("grade") or {}).get("n"), len(grades), "/metrics grade.n = the file's grades")
    t.near((m.get("grade") or {}).get("mean"), sum(grades) / len(grades), 0.051,
           "/metrics grade mean = computed from the file")
    resp = srv.get("/api/v1/drivers?period=2025&bootstrap=0")
    st, _, dr = resp
    t.status(resp, 200, "GET /drivers after the import")
    by = {x["driver"]: x for x in (dr.get("drivers") or [])}
    t.eq(sorted(by), sorted([A, B]), "/drivers lists the file's aspects")
    for asp in (A, B):
        t.eq((by.get(asp) or {}).get("n"), sum(1 for w in want if w[asp] is not None and w["nps"] is not None),
             "/drivers n of %s = the file's ratings" % asp)
    t.eq(dr.get("n"), len(nps_scores), "/drivers n = answers with the outcome (nps)")
    srv.stop("server stops after the checks")

    # re-import: nothing new (client_key, or the row itself when it has none)
    rc, out, err = imp(path, db)
    t.eq((rc, out.strip()), (0, "0 responses added, 200 skipped as imported before"),
         "re-import of the same file adds nothing")
    t.eq(counts(db), c, "re-import: database unchanged")

    # semicolon file, decimal commas, unquoted commas in text, missing columns
    semi = os.path.join(d, "semi.csv")
    srows = ["received_at;Touchpoint;NPS;grade;open;driver:%s;client_key" % A,
             "2025-06-01;Telefoon;9;8,0;goed, snel, vriendelijk;7;semi-1",
             "2025-06-02;Telefoon;3;7.0;slecht;n.v.t.;semi-2",
             '2025-06-03;"Balie, centrum";10;;"a ""quoted"" one; with semicolon";10;semi-3']
    write(semi, "\n".join(srows) + "\n")
    rc, out, err = imp(semi, db)
    t.eq((rc, out.strip()), (0, "3 responses added, 0 skipped as imported before"),
         "semicolon file: exit 0, 3 added")
    con = ks.db_connect(db)
    got = con.execute("SELECT nps, grade, open_text FROM responses WHERE client_key LIKE 'semi-%'"
                      " ORDER BY client_key").fetchall()
    con.close()
    t.eq(got, [(9, 8, "goed, snel, vriendelijk"), (3, 7, "slecht"),
               (10, None, 'a "quoted" one; with semicolon')],
         "semicolon file: whole grades written 8,0 and 7.0, commas in unquoted text kept")
    c = counts(db)

    # three bad rows: nothing written, three messages with their lines
    bad = os.path.join(d, "bad.csv")
    good = gen_rows(random.Random(7), org, 6)[0]
    for i, r in enumerate(good):
        r["client_key"] = "bad-file-%d" % i
    good[0]["open"] = "two\nlines"          # lines 2-3, and good[1] (OPEN[1]) lines 4-5
    good[2]["touchpoint"] = "Kassa"        # line 6
    good[3]["nps"] = 11                    # line 7
    good[3]["grade"] = ""
    good[5]["received_at"] = "2025-13-45"  # line 9
    write(bad, csv_text(good))
    rc, out, err = imp(bad, db)
    lines = [l for l in err.splitlines() if l.startswith(bad + ":")]
    t.eq(rc, 1, "bad rows: exit 1")
    t.eq(lines, ["%s:6: column 'touchpoint': no touchpoint has the id or name 'Kassa'" % bad,
                 "%s:7: column 'nps': '11' is not a whole number 0..10" % bad,
                 "%s:9: column 'received_at': '2025-13-45' is not a date (YYYY-MM-DD) or time "
                 "(YYYY-MM-DDTHH:MM:SSZ)" % bad],
         "bad rows: the three FILE:LINE: column messages (lines count the quoted line break)")
    t.check("3 bad rows; nothing imported" in err, "bad rows: the summary says nothing was imported", err)
    t.eq(out, "", "bad rows: no success line")
    t.eq(counts(db), c, "bad rows: database unchanged (responses, ratings, analyses)")
    no_sanitizer(t, err, "bad rows")

    # --dry-run: checks, counts, writes nothing
    dry = os.path.join(d, "dry.csv")
    drows = gen_rows(random.Random(8), org, 20)[0]
    for i, r in enumerate(drows):
        r["client_key"] = "dry-%d" % i
    drows[0]["client_key"] = "file-a-0"  # imported before
    drows[0].update(rows[0])
    write(dry, csv_text(drows))
    rc, out, err = imp(dry, db, "--dry-run")
    t.eq((rc, out.strip()), (0, "dry run: 19 responses would be added, 1 skipped as imported before; "
                                "nothing written"), "--dry-run: exit 0 and what it would do")
    t.eq(counts(db), c, "--dry-run: database unchanged")

    # a reused client_key with other content is an error (as in POST /responses)
    reuse = os.path.join(d, "reuse.csv")
    r2 = dict(rows[0])
    r2["nps"] = 0 if rows[0]["nps"] != 0 else 1
    r2["grade"] = ""
    write(reuse, csv_text([r2]))
    rc, out, err = imp(reuse, db)
    t.eq((rc, [l for l in err.splitlines() if l.startswith(reuse)]),
         (1, ["%s:2: column 'client_key': client_key 'file-a-0' was already used for a different response" % reuse]),
         "a client_key imported before with other answers: exit 1 naming line and column")

    # files that are not a table of responses
    empty = os.path.join(d, "empty.csv")
    write(empty, "", bom=True)
    rc, out, err = imp(empty, db)
    t.eq((rc, err.strip()), (1, "klantstem: %s: the file is empty (it needs a header row and rows below it)" % empty),
         "empty file (a byte order mark only): exit 1, clear message")
    head = os.path.join(d, "head.csv")
    write(head, ",".join(COLS) + "\r\n")
    rc, out, err = imp(head, db)
    t.eq((rc, err.strip()), (1, "klantstem: %s:2: no rows below the header (nothing to import)" % head),
         "header-only file: exit 1, clear message")
    unk = os.path.join(d, "unknown.csv")
    write(unk, "received_at,touchpoint,nps,speed\n2025-01-01,Telefoon,8,7\n")
    rc, out, err = imp(unk, db)
    t.check(rc == 1 and ("%s:1: column 'speed': unknown column" % unk) in err,
            "unknown column: exit 1 naming it on line 1", err)
    rc, out, err = imp(unk, db, "--drivers", "speed=snelheid", "--dry-run")
    t.eq((rc, out.strip()), (0, "dry run: 1 responses would be added, 0 skipped as imported before; nothing written"),
         "--drivers COL=ASPECT maps a column to an aspect")
    rc, out, err = imp(unk, db, "--drivers", "speed=snelheid,pace", "--dry-run")
    t.check(rc == 1 and ("%s:1: column 'pace': --drivers names it, the header does not have it" % unk) in err,
            "--drivers naming a column the file lacks: exit 1", err)
    sci = os.path.join(d, "sci.csv")
    write(sci, "received_at,touchpoint,nps,grade\n2025-01-01,Telefoon,1e1,\n2025-01-01,Telefoon,,7,5\n"
          '2025-01-01,Telefoon,,"7,5"\n')
    rc, out, err = imp(sci, db)
    t.eq([l for l in err.splitlines() if l.startswith(sci)],
         ["%s:2: column 'nps': '1e1' is not a whole number 0..10" % sci,
          "%s:3: 5 fields where the header has 4" % sci,
          "%s:4: column 'grade': '7,5' is not a whole number 1..10" % sci],
         "numbers: no exponent, a comma file's unquoted 7,5 is two fields, a quoted 7,5 no whole grade")
    utf = os.path.join(d, "utf8.csv")
    bad_texts = [b"caf\xe9", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe0\x80\xaf", b"a\x01b"]
    with open(utf, "wb") as f:
        f.write(b"received_at,touchpoint,nps,open\n")
        for b in bad_texts:
            f.write(b"2025-01-01,Telefoon,8," + b + b"\n")
        f.write("2025-01-01,Telefoon,8,caf\u00e9 \U0001F600 \u20ac\n".encode("utf-8"))
    rc, out, err = imp(utf, db, "--dry-run")
    t.eq((rc, [l for l in err.splitlines() if l.startswith(utf)]),
         (1, ["%s:%d: column 'open': not UTF-8 text" % (utf, i + 2) for i in range(len(bad_texts))]),
         "open answers: Latin-1, overlong, surrogate, past U+10FFFF, control characters refused; "
         "valid UTF-8 (2, 3, 4 bytes) taken")
    nohead = os.path.join(d, "noscore.csv")
    write(nohead, "received_at,touchpoint,open\n2025-01-01,Telefoon,hallo\n")
    rc, out, err = imp(nohead, db)
    t.check(rc == 1 and "needs at least one of the columns nps, grade and ces" in err,
            "a header without nps, grade and ces: exit 1", err)
    rc, out, err = imp(os.path.join(d, "missing.csv"), db)
    t.check(rc == 1 and "No such file" in err, "a missing file: exit 1", err)
    rc, out, err = ks.run_cli(["import", "budgets", "--db", db, path])
    t.check(rc == 2 and "cannot import 'budgets' (known: responses, mentions, customers, products, holdings, events, kpis)" in err,
            "an unknown kind: usage error (exit 2)", err)
    # every import reads its options the same way (cli_parse_opts)
    for kind, cmd in (("responses", "import"), ("customers", "import"), ("mentions", "import mentions")):
        rc, out, err = ks.run_cli(["import", kind, "--db", db, path, "--bogus", "x"])
        t.check(rc == 2 and ("klantstem: %s: unknown or incomplete option '--bogus'" % cmd) in err and "usage:" in err,
                "import %s: an unknown option is a usage error naming it (exit 2)" % kind, err)
        rc, out, err = ks.run_cli(["import", kind, path, "--db"])
        t.check(rc == 2 and ("klantstem: %s: unknown or incomplete option '--db'" % cmd) in err,
                "import %s: an option without its value is a usage error (exit 2)" % kind, err)
        rc, out, err = ks.run_cli(["import", kind, "--db", db, path, path + ".2"])
        t.check(rc == 2 and ("one file at a time ('%s' and '%s.2')" % (path, path)) in err,
                "import %s: a second file is a usage error (exit 2)" % kind, err)
        rc, out, err = ks.run_cli(["import", kind, "--help"])
        t.check(rc == 0 and out.startswith("usage: klantstem import") and err == "",
                "import %s --help: the usage on stdout, exit 0" % kind, (rc, out[:60], err))
    many = os.path.join(d, "many.csv")
    write(many, "received_at,touchpoint,nps\n" + "".join("2025-01-01,Telefoon,%d\n" % (20 + i) for i in range(60))
          + "2025-01-01,Telefoon\n")
    rc, out, err = imp(many, db)
    msgs = [l for l in err.splitlines() if l.startswith(many + ":")]
    t.eq((rc, len(msgs), msgs[0] if msgs else None, msgs[-1] if msgs else None),
         (1, 51, "%s:2: column 'nps': '20' is not a whole number 0..10" % many, "%s: ... and 11 more messages" % many),
         "61 bad rows: 50 messages, then how many more")
    t.check("61 bad rows; nothing imported" in err, "61 bad rows: all counted in the summary", err[-300:])
    short = os.path.join(d, "short.csv")
    write(short, "received_at,touchpoint,nps,nps\n2025-01-01,Telefoon,8\n")
    rc, out, err = imp(short, db)
    t.check(rc == 1 and ("%s:1: column 'nps': the header names it twice" % short) in err,
            "a column named twice: exit 1 on line 1", err)
    t.eq(counts(db), c, "after the refusals: database unchanged")

    reports = ["%s: %s" % (p, ks.sanitizer_report(e)[:2000]) for p, e in RUNS if ks.sanitizer_report(e)]
    t.check(len(RUNS) > 15 and not reports, "no sanitizer report (leaks included) in any of the %d import runs" % len(RUNS),
            "\n".join(reports))
    srv.start()  # ks.run stops it and checks its exit and sanitizer report


ks.run(main)
