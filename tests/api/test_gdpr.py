#!/usr/bin/python3
"""GDPR (docs/PRIVACY.md, sections 7-8; docs/API.md, "Privacy"): the export of
a customer holds every piece of their data (asserted against what this test
created); after the erasure the customer is gone from every table and column
of the database file (name, e-mail, phone number, city, open texts, note text)
and from the full-text index, while the figures of /api/v1/metrics are exactly
the same; a second erase is harmless; an employee's erasure keeps the team's
figures; the retention policy (GET/PUT /api/v1/retention) and its run by the
scheduler on the test clock remove exactly the open texts that are too old;
the CLI (`klantstem privacy export|erase|retention`)."""

import datetime
import json
import os
import sqlite3
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

CLOCK = "2026-06-10T10:00:00Z"
NOW = ks.parse_iso(CLOCK)
DAY = 86400


def fts_count(srv, word):
    """Answers the full-text index finds for one lower-case word: FTS5's
    MATCH on SQLite; on PostgreSQL (issue 18) responses_fts is a table
    with a tsvector of the folded words (migrations/pg/005)."""
    if ks.is_pg_uri(srv.db):
        return srv.sql("SELECT count(*) FROM responses_fts WHERE tsv @@ to_tsquery('simple', ?)", (word,))[0][0]
    return srv.sql("SELECT count(*) FROM responses_fts WHERE responses_fts MATCH ?", (word,))[0][0]


def at(days_ago):
    return ks.iso(NOW - days_ago * DAY)


def respond(srv, f, cust, days_ago, nps, text=None, emp="emp1", tp="tp1", drivers=None, grade=None):
    body = {"customer_id": cust["id"], "touchpoint_id": f[tp]["id"], "channel": "phone",
            "occurred_at": at(days_ago + 0.1)}
    if emp:
        body["employee_id"] = f[emp]["id"]
    c = srv.create("contacts", body)
    ans = {"nps": nps}
    if grade is not None:
        ans["grade"] = grade
    if text is not None:
        ans["open"] = text
    if drivers:
        ans["drivers"] = drivers
    st, _, r = srv.post("/api/v1/responses", {"contact_id": c["id"], "received_at": at(days_ago),
                                              "answers": ans})
    if st != 201:
        raise ks.FixtureError("POST /api/v1/responses -> %s" % ks.got(st, r))
    return c, r


def pg_text_cells(db):
    """all_text_cells on PostgreSQL (issue 18): every text, bytea (decoded)
    and tsvector cell of every table of the database's schema. The
    full-text index is a table there (responses_fts, migrations/pg/005):
    its tsvector holds the words of each indexed answer, so an erased
    text must be gone from it too."""
    con = ks.db_connect(db, readonly=True)
    try:
        out = []
        cols = con.execute("SELECT c.table_name, c.column_name FROM information_schema.columns c"
                           " JOIN information_schema.tables t ON t.table_schema = c.table_schema"
                           " AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'"
                           " WHERE c.table_schema = current_schema()"
                           " AND c.data_type IN ('text', 'bytea', 'tsvector', 'json', 'jsonb', 'character varying')"
                           " ORDER BY c.table_name, c.ordinal_position").fetchall()
        for tb, col in cols:
            for (v,) in con.execute('SELECT "%s" FROM "%s" WHERE "%s" IS NOT NULL' % (col, tb, col)):
                if isinstance(v, (bytes, memoryview)):
                    v = bytes(v).decode("utf-8", "replace")
                out.append((tb, col, v if isinstance(v, str) else json.dumps(v)))
        return out
    finally:
        con.close()


def all_text_cells(db):
    """Every text (and blob, decoded) cell of every table of the file,
    FTS shadow tables included, as (table, column, value)."""
    if ks.is_pg_uri(db):
        return pg_text_cells(db)
    con = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(db), uri=True, timeout=10)
    try:
        out = []
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for tb in tables:
            if tb == "responses_fts":  # the external-content view reads responses
                continue
            try:
                cols = [r[1] for r in con.execute('PRAGMA table_info("%s")' % tb)]
                for row in con.execute('SELECT * FROM "%s"' % tb):
                    for col, v in zip(cols, row):
                        if isinstance(v, bytes):
                            v = v.decode("utf-8", "replace")
                        if isinstance(v, str):
                            out.append((tb, col, v))
            except sqlite3.DatabaseError:
                continue
        return out
    finally:
        con.close()


def metrics_snapshot(srv, queries):
    out = {}
    for q in queries:
        st, _, b = srv.get("/api/v1/metrics?" + q)
        out[q] = (st, b)
    return out


def test_customer(t, srv, f):
    tag = ks.uniq("p")
    phone = "06-98765432"
    # issue 13: the customer's phone (migration 016) is personal data too
    petra = srv.create("customers", {"external_id": "CRM-" + tag, "name": "Petra Privacyvoorbeeld",
                                     "email": "petra.privacy@voorbeeld.nl", "language": "nl",
                                     "city": "Zwolle", "birth_year": 1981, "segment": "particulier",
                                     "customer_since": "2012-03-01", "phone": phone})
    texts = ["Monteur Zwartewaterkanaal kwam veel te laat", "Bel mij terug op " + phone + " graag"]
    c1, r1 = respond(srv, f, petra, 40, 2, texts[0], drivers={"snelheid": 3}, grade=4)
    c2, r2 = respond(srv, f, petra, 20, 9, texts[1], emp="emp2", tp="tp2")
    # others' answers: the aggregates must hold more than Petra's
    for i in range(12):
        respond(srv, f, f["cust_nl" if i % 2 else "cust_en"], 10 + i, i % 11,
                "Andere klant antwoord %d" % i if i % 3 == 0 else None, emp="emp1" if i % 2 else "emp2")
    cases = srv.get("/api/v1/cases?customer_id=%d" % petra["id"])[2]["items"]
    t.check(len(cases) >= 1, "fixture: the detractor answer opened a case for the customer", ks.short(cases))
    note_text = "Klant gebeld op " + phone + ", excuses aangeboden (Zwartewaterkanaal)"
    st, _, note = srv.post("/api/v1/cases/%d/notes" % cases[0]["id"], {"text": note_text})
    t.check(st == 201, "fixture: a note on the customer's case", ks.got(st, note))
    st, _, oo = srv.post("/api/v1/customers/%d/opt-out" % petra["id"])
    t.check(st == 200, "fixture: the customer opts out", ks.got(st, oo))

    # ---- export ----
    st, hd, ex = srv.get("/api/v1/customers/%d/export" % petra["id"])
    t.check(st == 200 and isinstance(ex, dict), "export: 200 with a JSON object", ks.got(st, ex))
    ex = ex if isinstance(ex, dict) else {}
    cu = ex.get("customer") or {}
    t.eq((ex.get("kind"), ex.get("id")), ("customer", petra["id"]), "export: names its subject")
    t.eq({k: cu.get(k) for k in ("id", "external_id", "name", "email", "city", "birth_year", "segment",
                                 "customer_since", "language", "phone")},
         {"id": petra["id"], "external_id": "CRM-" + tag, "name": "Petra Privacyvoorbeeld",
          "email": "petra.privacy@voorbeeld.nl", "city": "Zwolle", "birth_year": 1981,
          "segment": "particulier", "customer_since": "2012-03-01", "language": "nl",
          "phone": "06-98765432"},
         "export: the customer record, every field")
    t.check((ex.get("opt_out") or {}).get("opted_out") is True and ks.iso_ok(cu.get("opted_out_at")),
            "export: the opt-out with its time", ks.short(ex.get("opt_out")))
    t.eq(sorted(c["id"] for c in ex.get("contacts", [])), sorted([c1["id"], c2["id"]]),
         "export: exactly the customer's two contacts")
    t.check(all("token" not in c for c in ex.get("contacts", [])),
            "export: no survey link token (a credential) in the contacts", ks.short(ex.get("contacts")))
    t.eq(sorted(i["contact_id"] for i in ex.get("invitations", [])), sorted([c1["id"], c2["id"]]),
         "export: the invitation decision of each contact")
    t.check(all("unsubscribe_token" not in i for i in ex.get("invitations", [])),
            "export: no unsubscribe token", ks.short(ex.get("invitations")))
    rs = {r["id"]: r for r in ex.get("responses", [])}
    t.eq(sorted(rs), sorted([r1["id"], r2["id"]]), "export: exactly the customer's two responses")
    t.eq([(rs.get(r["id"], {}).get("open_text"), rs.get(r["id"], {}).get("nps")) for r in (r1, r2)],
         [(texts[0], 2), (texts[1], 9)], "export: each response's open text and score")
    t.eq(rs.get(r1["id"], {}).get("drivers"), [{"aspect": "snelheid", "score": 3}],
         "export: the driver rating of the first response")
    t.eq(rs.get(r1["id"], {}).get("grade"), 4, "export: the grade")
    exc = {c["id"]: c for c in ex.get("cases", [])}
    t.eq(sorted(exc), sorted(c["id"] for c in cases), "export: the customer's cases")
    notes = [n.get("text") for c in exc.values() for n in c.get("notes", [])]
    t.eq(notes, [note_text], "export: the note about the customer")
    t.check(r1["id"] in [x.get("response_id") for x in exc.get(cases[0]["id"], {}).get("responses", [])],
            "export: the case's responses", ks.short(exc))

    # ---- the figures before ----
    queries = ["", "group_by=team", "group_by=touchpoint", "group_by=channel", "group_by=month",
               "group_by=language", "group_by=employee", "period=2026", "team_id=%d&group_by=month" % f["team"]["id"]]
    before = metrics_snapshot(srv, queries)
    t.check(all(st == 200 for st, _ in before.values()), "metrics answer before the erasure",
            ks.short({q: v[0] for q, v in before.items()}))
    st, _, v = srv.get("/api/v1/verbatims?q=Zwartewaterkanaal")
    t.check(st == 200 and len(v.get("items", [])) == 1, "search finds the customer's open text before",
            ks.got(st, v))

    # ---- erase ----
    st, _, er = srv.post("/api/v1/customers/%d/erase" % petra["id"], {"confirm": True})
    t.check(st == 200 and er.get("erased") is True and er.get("already_erased") is False
            and isinstance(er.get("erasure_id"), int),
            "erase: 200, erased, with an erasure id", ks.got(st, er))
    cnt = (er or {}).get("counts") or {}
    t.eq((cnt.get("responses"), cnt.get("open_texts"), cnt.get("contacts"), cnt.get("invitations"),
          cnt.get("cases") >= 1, cnt.get("case_notes")), (2, 2, 2, 2, True, 1), "erase: the counts")

    # gone from every table and column of the file
    needles = ["Petra", "Privacyvoorbeeld", "petra.privacy@voorbeeld.nl", "98765432", "Zwolle",
               "Zwartewaterkanaal", "zwartewaterkanaal", "CRM-" + tag, texts[0], texts[1], note_text]
    hits = [(tb, col, val[:80]) for tb, col, val in all_text_cells(srv.db) for n in needles if n in val]
    t.check(hits == [], "after erase: no table or column holds the name, e-mail, phone, city, texts or note",
            ks.short(hits, 2000))
    ids = srv.sql("SELECT count(*) FROM responses WHERE customer_id = ? OR id IN (?, ?) AND"
                  " (open_text IS NOT NULL OR contact_id IS NOT NULL)", (petra["id"], r1["id"], r2["id"]))[0][0]
    t.eq(ids, 0, "after erase: no response links to the customer or a contact, none has text")
    kept = srv.sql("SELECT id, nps, grade, team_id, employee_id, touchpoint_id FROM responses WHERE id IN (?, ?)"
                   " ORDER BY id", (r1["id"], r2["id"]))
    t.eq(kept, [(r1["id"], 2, 4, f["team"]["id"], f["emp1"]["id"], f["tp1"]["id"]),
                (r2["id"], 9, None, f["team"]["id"], f["emp2"]["id"], f["tp2"]["id"])],
         "after erase: the responses keep their scores, team, employee and touchpoint")
    t.eq(srv.sql("SELECT score FROM response_drivers WHERE response_id = ?", (r1["id"],)), [(3,)],
         "after erase: the driver rating stays (an aggregate input)")
    tomb = srv.sql("SELECT external_id, name, email, city, birth_year, segment, customer_since, phone,"
                   " opted_out_at IS NOT NULL FROM customers WHERE id = ?", (petra["id"],))
    t.eq(tomb, [("erased-%d" % petra["id"], None, None, None, None, None, None, None, 1)],
         "after erase: the customer row is a tombstone of its id (nothing else, opted out)")
    for tb, col in (("contacts", "customer_id"), ("invitations", "customer_id"), ("cases", "customer_id")):
        n = srv.sql("SELECT count(*) FROM %s WHERE %s = ?" % (tb, col), (petra["id"],))[0][0]
        t.eq(n, 0, "after erase: no %s row names the customer" % tb)
    t.eq(srv.sql("SELECT count(*) FROM case_notes WHERE case_id IN (%s)" % ",".join(str(c["id"]) for c in cases))[0][0],
         0, "after erase: the case notes are gone")
    t.eq(fts_count(srv, "zwartewaterkanaal"), 0,
         "after erase: the FTS index does not match the text")
    st, _, v = srv.get("/api/v1/verbatims?q=Zwartewaterkanaal")
    t.check(st == 200 and v.get("items") == [], "after erase: search returns nothing", ks.got(st, v))
    rec = srv.sql("SELECT subject_kind, subject_id, erased_by IS NOT NULL, via FROM erasures")
    t.eq(rec, [("customer", petra["id"], 1, "api")], "after erase: one erasure record (who, when, no personal data)")

    after = metrics_snapshot(srv, queries)
    for q in queries:
        t.eq(after[q], before[q], "metrics exactly unchanged after the erasure: ?%s" % q)

    # the export and the erase of an erased customer
    st, _, b = srv.get("/api/v1/customers/%d/export" % petra["id"])
    t.check(st == 404 and "erased" in (b.get("error", {}).get("message", "") if isinstance(b, dict) else ""),
            "export after erase: 404 saying erased", ks.got(st, b))
    st, _, b = srv.post("/api/v1/customers/%d/erase" % petra["id"])
    t.check(st == 200 and b.get("already_erased") is True, "a second erase: 200, already_erased, nothing done",
            ks.got(st, b))
    t.eq(srv.sql("SELECT count(*) FROM erasures")[0][0], 1, "a second erase records nothing")
    # data filed under the erased id afterwards (a feeding system that did not stop) goes too
    late_c, late_r = respond(srv, f, petra, 1, 7, "Nagekomen tekst Zwartewaterkanaal")
    st, _, b = srv.post("/api/v1/customers/%d/erase" % petra["id"])
    t.check(st == 200 and b.get("already_erased") is False and b.get("counts", {}).get("contacts") == 1
            and b.get("counts", {}).get("open_texts") == 1,
            "erase again after new data under the id: that data is erased (a new erasure)", ks.got(st, b))
    t.eq(srv.sql("SELECT customer_id, contact_id, open_text FROM responses WHERE id = ?", (late_r["id"],)),
         [(None, None, None)], "the late response is anonymised")
    t.eq(srv.sql("SELECT count(*) FROM erasures WHERE subject_id = ? AND subject_kind = 'customer'",
                 (petra["id"],))[0][0], 2, "two erasure records")
    st, _, b = srv.post("/api/v1/customers/999999/erase")
    t.check(st == 404, "erase of an unknown customer: 404", ks.got(st, b))
    st, _, b = srv.post("/api/v1/customers/%d/erase" % f["cust_en"]["id"], {"confirm": False})
    t.check(st == 422 and b.get("error", {}).get("field") == "confirm", "erase with confirm false: 422 naming confirm",
            ks.got(st, b))
    st, _, b = srv.post("/api/v1/customers/%d/erase" % f["cust_en"]["id"], {"sure": True})
    t.check(st == 422 and b.get("error", {}).get("field") == "sure", "erase with an unknown member: 422 naming it",
            ks.got(st, b))
    return before, queries


def test_employee(t, srv, f):
    emp = srv.create("employees", {"team_id": f["team"]["id"], "first_name": "Wendelien",
                                   "last_name": "Vertrokkenvoorbeeld", "email": "wendelien@werk.example",
                                   "external_id": "E-" + ks.uniq("w")})
    f["emp3"] = emp
    st, _, u = srv.post("/api/v1/users", {"email": "wendelien.account@werk.example", "name": "Wendelien V",
                                          "role": "employee", "employee_id": emp["id"],
                                          "password": "een-lang-wachtwoord-123"})
    t.check(st == 201, "fixture: the employee has an account", ks.got(st, u))
    rs = [respond(srv, f, f["cust_en"], 5 + i, 7 + i, emp="emp3",
                  text="Er werd echt meegedacht" if i == 2 else None)[1] for i in range(3)]
    # a compliment on the Wall of Fame item (NPS 9 with a comment); the
    # lead's note names her, so it is her data and goes with the erasure
    note = "Mooi gedaan, Wendelien Vertrokkenvoorbeeld"
    st, _, cp = srv.post("/api/v1/responses/%d/compliment" % rs[2]["id"], {"note": note})
    t.eq(st, 201, "fixture: a compliment to the employee (201)")
    st, _, ex = srv.get("/api/v1/employees/%d/export" % emp["id"])
    t.eq([(x.get("response_id"), x.get("note")) for x in (ex.get("compliments_received") or [])],
         [(rs[2]["id"], note)], "employee export: the compliment received, with its note")
    t.check(st == 200 and ex.get("employee", {}).get("last_name") == "Vertrokkenvoorbeeld"
            and [x.get("email") for x in ex.get("users", [])] == ["wendelien.account@werk.example"]
            and all("password_hash" not in x for x in ex.get("users", []))
            and len(ex.get("responses", [])) == 3 and all("customer_id" not in r for r in ex.get("responses", [])),
            "employee export: the record, the account (no hash), their responses (no customer)", ks.got(st, ex))
    q = "team_id=%d" % f["team"]["id"]
    before = metrics_snapshot(srv, [q, "group_by=team", ""])
    st, _, er = srv.post("/api/v1/employees/%d/erase" % emp["id"])
    t.check(st == 200 and er.get("counts", {}).get("responses") == 3 and er.get("counts", {}).get("users") == 1,
            "employee erase: 200; 3 responses unlinked, 1 account a tombstone", ks.got(st, er))
    hits = [(tb, col) for tb, col, val in all_text_cells(srv.db)
            for n in ("Wendelien", "Vertrokkenvoorbeeld", "werk.example") if n in val]
    t.check(hits == [], "employee erase: name and addresses gone from every table", ks.short(hits))
    t.eq(srv.sql("SELECT count(*) FROM responses WHERE employee_id = ?", (emp["id"],))[0][0], 0,
         "employee erase: no response names them")
    t.eq(srv.sql("SELECT count(*) FROM compliments WHERE employee_id = ?", (emp["id"],))[0][0], 0,
         "employee erase: no compliment to them is left")
    t.eq(srv.sql("SELECT disabled, deleted_at IS NOT NULL FROM users WHERE id = ?", (u["id"],)), [(1, 1)],
         "employee erase: the account is disabled, a tombstone")
    after = metrics_snapshot(srv, [q, "group_by=team", ""])
    t.eq(after, before, "employee erase: the team's and the organisation's figures are unchanged")
    st, _, b = srv.post("/api/v1/employees/%d/erase" % emp["id"])
    t.check(st == 200 and b.get("already_erased") is True, "employee: a second erase is harmless", ks.got(st, b))


def test_retention(t, srv, f):
    st, _, r = srv.get("/api/v1/retention")
    t.check(st == 200 and r.get("open_text", {}).get("months") == 24 and r.get("contacts", {}).get("default") == 24
            and r.get("closed_cases", {}).get("default") == 24,
            "retention: defaults 24 / 24 / 24 months", ks.got(st, r))
    # the first pass on a database only starts the clock: nothing goes yet
    first = respond(srv, f, f["cust_nl"], 40 * 30, 8, "Retentie eerste pas")[1]
    st, _, b = srv.post("/api/v1/admin/scheduler/run")
    t.eq((st, srv.sql("SELECT open_text FROM responses WHERE id = ?", (first["id"],))),
         (200, [("Retentie eerste pas",)]), "retention: the first pass removes nothing (it starts the clock)")
    t.eq(srv.sql("SELECT last_run_at FROM retention_state"), [(NOW,)], "retention: the first pass recorded its time")
    for body, field in (({"open_text": -1}, "open_text"), ({"open_text": 241}, "open_text"),
                        ({"open_text": "24"}, "open_text"), ({"answers": 3}, "answers")):
        st, _, b = srv.request("PUT", "/api/v1/retention", body)
        t.check(st == 422 and b.get("error", {}).get("field") == field,
                "retention PUT %s: 422 naming %s" % (json.dumps(body), field), ks.got(st, b))
    st, _, r = srv.request("PUT", "/api/v1/retention", {"open_text": 24, "contacts": 0, "closed_cases": 0})
    t.check(st == 200 and r.get("contacts", {}).get("months") == 0 and r.get("updated_by") is not None,
            "retention PUT: stored, with who", ks.got(st, r))
    # texts 30 and 20 months old go at the next run, a text 23 months old stays
    cust = f["cust_nl"]
    old = [respond(srv, f, cust, d, 8, "Retentie oud %d maanden" % (d // 30))[1] for d in (30 * 30, 20 * 31 + 300)]
    young = respond(srv, f, cust, 23 * 30, 8, "Retentie jong blijft")[1]
    notext = respond(srv, f, cust, 30 * 30, 5)[1]
    ks.set_clock(srv, NOW + 2 * 3600)
    before = metrics_snapshot(srv, ["", "group_by=month"])
    st, _, b = srv.post("/api/v1/admin/scheduler/run")
    t.check(st == 200, "scheduler run (retention pass)", ks.got(st, b))
    cut = ks.parse_iso("2024-06-10T12:00:00Z")
    want_gone = sorted(i for (i,) in srv.sql("SELECT id FROM responses WHERE received_at < ?", (cut,)))
    t.check(set(r["id"] for r in old) <= set(want_gone), "fixture: the old texts are older than 24 months")
    texts = dict(srv.sql("SELECT id, open_text FROM responses WHERE id IN (%s)" %
                         ",".join(str(r["id"]) for r in old + [young, notext])))
    old.append(first)
    texts[first["id"]] = srv.sql("SELECT open_text FROM responses WHERE id = ?", (first["id"],))[0][0]
    t.eq([texts[r["id"]] for r in old] + [texts[young["id"]]], [None, None, None, "Retentie jong blijft"],
         "retention: exactly the texts older than 24 months are gone, the younger one stays")
    t.eq(srv.sql("SELECT count(*) FROM responses WHERE open_text IS NOT NULL AND received_at < ?", (cut,))[0][0], 0,
         "retention: no open text older than the cut remains")
    t.eq(srv.sql("SELECT count(*) FROM responses WHERE id IN (%s)" % ",".join(str(r["id"]) for r in old))[0][0], 3,
         "retention: the responses (scores) stay")
    st, _, v = srv.get("/api/v1/verbatims?q=Retentie")
    t.check(st == 200 and [x.get("text") for x in v.get("items", [])] == ["Retentie jong blijft"],
            "retention: search finds only the young text", ks.got(st, v))
    after = metrics_snapshot(srv, ["", "group_by=month"])
    t.eq(after, before, "retention: the figures are unchanged")
    a = srv.sql("SELECT detail FROM audit_log WHERE action = 'retention.run' ORDER BY id DESC LIMIT 1")
    t.check(a and json.loads(a[0][0]).get("open_texts") == 3, "retention: one audit entry with the counts",
            ks.short(a))

    # contacts (with their invitations), 24 months; closed cases, 1 month (40 days on: the test
    # admin's API token lives 90 days)
    open_cases = srv.sql("SELECT id, version FROM cases WHERE status IN ('new','contacted') ORDER BY id")
    t.check(len(open_cases) >= 2, "fixture: two open cases", open_cases)
    done_id = open_cases[0][0]
    for step in ("contacted", "resolved"):
        v = srv.sql("SELECT version FROM cases WHERE id = ?", (done_id,))[0][0]
        st, _, b = srv.patch("/api/v1/cases/%d" % done_id, {"version": v, "status": step})
        t.check(st == 200, "fixture: a case %s now" % step, ks.got(st, b))
    st, _, r = srv.request("PUT", "/api/v1/retention", {"contacts": 24, "closed_cases": 1})
    later = NOW + 2 * 3600 + 40 * DAY
    fresh = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                    "channel": "phone", "occurred_at": ks.iso(later - 3600)})
    ks.set_clock(srv, later)
    d = datetime.datetime.fromtimestamp(later, datetime.timezone.utc)
    cut2 = int(d.replace(year=d.year - 2).timestamp())
    n_old = srv.sql("SELECT count(*) FROM contacts WHERE occurred_at < ?", (cut2,))[0][0]
    n_kept = srv.sql("SELECT count(*) FROM contacts WHERE occurred_at >= ?", (cut2,))[0][0]
    n_resp_linked = srv.sql("SELECT count(*) FROM responses WHERE contact_id IN"
                            " (SELECT id FROM contacts WHERE occurred_at < ?)", (cut2,))[0][0]
    t.check(n_old > 0 and n_resp_linked > 0 and n_kept > 1, "fixture: contacts older and younger than 24 months",
            (n_old, n_kept, n_resp_linked))
    before = metrics_snapshot(srv, ["", "group_by=team"])
    n_resp = srv.sql("SELECT count(*) FROM responses")[0][0]
    st, _, b = srv.post("/api/v1/admin/scheduler/run")
    t.check(st == 200, "scheduler run 40 days on", ks.got(st, b))
    t.eq(srv.sql("SELECT count(*) FROM contacts WHERE occurred_at < ?", (cut2,))[0][0], 0,
         "retention: no contact older than 24 months is left")
    t.eq(srv.sql("SELECT count(*) FROM contacts")[0][0], n_kept, "retention: the younger contacts stay")
    t.eq(srv.sql("SELECT count(*) FROM invitations WHERE contact_id NOT IN (SELECT id FROM contacts)")[0][0], 0,
         "retention: the old contacts' invitations went with them")
    t.eq(srv.sql("SELECT count(*) FROM responses")[0][0], n_resp, "retention: every response stays (scores)")
    t.eq(srv.sql("SELECT count(*) FROM cases WHERE id = ?", (done_id,))[0][0], 0,
         "retention: the case resolved 40 days ago is gone (closed cases: 1 month)")
    t.eq(srv.sql("SELECT count(*) FROM cases WHERE id = ?", (open_cases[1][0],))[0][0], 1,
         "retention: an open case stays")
    t.eq(metrics_snapshot(srv, ["", "group_by=team"]), before, "retention: the figures are unchanged")


def test_cli(t, srv, f):
    cust = srv.create("customers", {"external_id": "CLI-" + ks.uniq("c"), "name": "Cornelis Commandoregel",
                                    "email": "cornelis@cli.example"})
    respond(srv, f, cust, 3, 6, "Cli tekst Kwakkelstraat")
    rc, out, err = ks.run_cli(["privacy", "export", "--db", srv.db, "--customer", str(cust["id"])])
    ok = False
    try:
        doc = json.loads(out)
        ok = doc.get("customer", {}).get("name") == "Cornelis Commandoregel" and \
            [r.get("open_text") for r in doc.get("responses", [])] == ["Cli tekst Kwakkelstraat"]
    except ValueError:
        pass
    t.check(rc == 0 and ok, "CLI privacy export --customer: the JSON export on stdout", ks.short((rc, out, err)))
    rc, out, err = ks.run_cli(["privacy", "erase", "--db", srv.db, "--customer", str(cust["id"])])
    t.check(rc == 0 and '"erased"' in out, "CLI privacy erase --customer: erased", ks.short((rc, out, err)))
    t.eq(srv.sql("SELECT name, email FROM customers WHERE id = ?", (cust["id"],)), [(None, None)],
         "CLI erase: name and e-mail gone")
    t.eq(srv.sql("SELECT via, erased_by FROM erasures WHERE subject_id = ? AND subject_kind = 'customer'",
                 (cust["id"],)), [("cli", None)], "CLI erase: recorded as via cli, by nobody")
    rc, out, err = ks.run_cli(["privacy", "erase", "--db", srv.db])
    t.check(rc == 2 and "--customer" in err, "CLI erase without a subject: usage error naming the option",
            ks.short((rc, out, err)))
    rc, out, err = ks.run_cli(["privacy", "retention", "--db", srv.db, "--set", "open_text=36"])
    t.check(rc == 0 and '"months": 36' in out.replace('"months":36', '"months": 36'),
            "CLI retention --set open_text=36", ks.short((rc, out, err)))
    rc, out, err = ks.run_cli(["privacy", "retention", "--db", srv.db, "--set", "open_text=abc"])
    t.check(rc == 2 and "open_text" in err, "CLI retention --set with a bad value: usage error naming it",
            ks.short((rc, out, err)))


def main(t):
    srv = ks.Server(t, args=["--test-clock", CLOCK])
    try:
        srv.start()
        t.healthz(srv.get("/healthz", auth=False)[2], "server starts (test clock %s)" % CLOCK)
        f = ks.base_fixture(srv)
        test_customer(t, srv, f)
        test_employee(t, srv, f)
        test_retention(t, srv, f)
        test_cli(t, srv, f)
        srv.stop()
    finally:
        srv.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
