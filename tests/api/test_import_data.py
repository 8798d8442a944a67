#!/usr/bin/python3
"""The organisation's own data (issue 16, "Internal data"; docs/IMPORT.md):
`klantstem import customers|products|holdings|events` and
POST /api/v1/import/{kind}.

Files are made here as spreadsheets and exports write them (byte order mark,
CRLF, semicolons, a CR/LF inside a quoted field, NA, a Latin-1 file, a
repeated id, JSON Lines with numbers and nulls) and imported with the CLI
into the database of a running server. Every stored row is read back with
sqlite3 and compared with values written out in this test (dates, local
times converted with Python's zoneinfo, never with the product's helpers).
Unhappy paths: exact FILE:LINE: column messages, the whole file rolled back
after one bad row (nothing changed, no import_runs row), --skip-bad's reject
file byte for byte, upserts that keep the fields a file does not have, a
mapping that renames, drops, recodes and reads day-month-year dates, and the
same rules over the API (422 naming the item and the field, nothing
written). JSON Lines for every kind, --skip-bad's JSON reject file, --dry-run,
and the progress bar on a terminal (script(1)) but not elsewhere. The customer
timeline shows the events and the products held."""

import datetime
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import zoneinfo

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

RUNS = []
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


def imp(db, kind, path, *extra):
    rc, out, err = ks.run_cli(["import", kind, "--db", db, path] + list(extra), timeout=120)
    RUNS.append((path, err))
    return rc, out, err


def write(path, data):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def q(db, sql, args=()):
    con = ks.db_connect(db)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def fk_orphans(db):
    """Rows whose foreign key names no row: SQLite's PRAGMA
    foreign_key_check; on PostgreSQL (no such pragma) the keys an import
    writes, checked one by one."""
    if not ks.is_pg_uri(db):
        return q(db, "PRAGMA foreign_key_check")
    return q(db, "SELECT 'holdings', h.customer_id FROM holdings h WHERE NOT EXISTS (SELECT 1 FROM customers c"
                 " WHERE c.id = h.customer_id) OR NOT EXISTS (SELECT 1 FROM products p WHERE p.id = h.product_id)"
                 " UNION ALL SELECT 'customer_events', id FROM customer_events e WHERE NOT EXISTS"
                 " (SELECT 1 FROM customers c WHERE c.id = e.customer_id)"
                 " UNION ALL SELECT 'customer_attributes', a.customer_id FROM customer_attributes a WHERE NOT EXISTS"
                 " (SELECT 1 FROM customers c WHERE c.id = a.customer_id)")


def customers(db, ids):
    rows = q(db, "SELECT external_id, name, email, language, customer_since, city, birth_year, segment, phone"
                 " FROM customers WHERE external_id IN (%s) ORDER BY external_id" % ",".join("?" * len(ids)), ids)
    return {r[0]: r[1:] for r in rows}


def attrs(db, ext):
    return dict(q(db, "SELECT a.key, a.value FROM customer_attributes a JOIN customers c ON c.id = a.customer_id"
                      " WHERE c.external_id = ?", (ext,)))


def runs(db):
    return q(db, "SELECT kind, file, rows_ok, rows_rejected, rows_added, rows_updated, duplicates, source"
                 " FROM import_runs ORDER BY id")


def snapshot(db):
    """Everything an import may write."""
    return [q(db, "SELECT * FROM %s ORDER BY 1, 2" % t) for t in
            ("customers", "customer_attributes", "products", "holdings", "customer_events", "import_runs")]


def summary_re(path, n, kind, rest):
    return re.compile(r"^%s: %d %s in \d+\.\d\d s \(\d+ rows/s\): %s\n$" % (re.escape(path), n, kind, re.escape(rest)))


def epoch_local(y, mo, d, h=0, mi=0, s=0):
    return int(datetime.datetime(y, mo, d, h, mi, s, tzinfo=AMS).timestamp())


def epoch_utc(y, mo, d, h=0, mi=0, s=0):
    return int(datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc).timestamp())


# ---------------------------------------------------------------------------

def customers_csv(t, db, tmp):
    # A Dutch spreadsheet: BOM, semicolons, CRLF, a name with a line break
    # (CR LF inside quotes), NA and n.v.t. as missing, custom attributes.
    p = write(os.path.join(tmp, "klanten.csv"),
              "\ufeffexternal_id;name;email;language;customer_since;city;birth_year;segment;phone;loyalty;region_code\r\n"
              "K1;Anna de Vries;anna@voorbeeld.nl;NL;2019-04-01;Utrecht;1980;particulier;+31 30 123 4567;goud;U1\r\n"
              "K2;\"Bob\r\nJansen\";NA;en;n.v.t.;\"Den Haag; centrum\";1975.0;zakelijk;;;\r\n"
              "K3;Chantal;;;;Zwolle;;;;zilver;Z9\r\n")
    rc, out, err = imp(db, "customers", p)
    t.eq(rc, 0, "customers CSV (BOM, ';', CRLF, CR LF in quotes): exit 0")
    t.check(summary_re(p, 3, "customers", "3 added, 0 updated").match(out), "customers CSV: the summary line", out)
    t.eq(err, "", "customers CSV: nothing on stderr")
    t.eq(customers(db, ["K1", "K2", "K3"]), {
        "K1": ("Anna de Vries", "anna@voorbeeld.nl", "nl", "2019-04-01", "Utrecht", 1980, "particulier", "+31 30 123 4567"),
        "K2": ("Bob\r\nJansen", "NA", "en", None, "Den Haag; centrum", 1975, "zakelijk", None),
        "K3": ("Chantal", None, "nl", None, "Zwolle", None, None, None),
    }, "customers CSV: the stored rows (sqlite3; NA is text in the text column email, n.v.t. empty in the date "
       "column customer_since)")
    t.eq((attrs(db, "K1"), attrs(db, "K2"), attrs(db, "K3")),
         ({"loyalty": "goud", "region_code": "U1"}, {}, {"loyalty": "zilver", "region_code": "Z9"}),
         "customers CSV: custom attributes; an empty cell is none")
    t.eq(runs(db)[-1], ("customers", p, 3, 0, 3, 0, 0, "cli"), "customers CSV: its import_runs row")

    # an upsert: a file without name/email keeps them; city and loyalty change;
    # an empty attribute removes it; a repeated id: the last row counts
    p2 = write(os.path.join(tmp, "klanten2.csv"),
               "external_id,city,loyalty\n"
               "K1,Amersfoort,platina\n"
               "K3,Kampen,\n"
               "K4,Assen,brons\n"
               "K1,Amsterdam,diamant\n")
    rc, out, err = imp(db, "customers", p2)
    t.eq(rc, 0, "customers upsert: exit 0")
    t.check(summary_re(p2, 4, "customers", "1 added, 2 updated, 1 repeated id in the file (the last row counts)")
            .match(out), "customers upsert: the summary counts the repeat", out)
    t.eq(err, "%s:5: note: this external_id came earlier in the file; the last row counts\n" % p2,
         "customers upsert: the repeated id is told with its line")
    t.eq(customers(db, ["K1", "K3", "K4"]), {
        "K1": ("Anna de Vries", "anna@voorbeeld.nl", "nl", "2019-04-01", "Amsterdam", 1980, "particulier", "+31 30 123 4567"),
        "K3": ("Chantal", None, "nl", None, "Kampen", None, None, None),
        "K4": (None, None, "nl", None, "Assen", None, None, None),
    }, "customers upsert: fields the file lacks are kept, the last K1 row wins")
    t.eq((attrs(db, "K1"), attrs(db, "K3")), ({"loyalty": "diamant", "region_code": "U1"}, {"region_code": "Z9"}),
         "customers upsert: attributes updated, an empty one removed, others kept")
    t.eq(runs(db)[-1], ("customers", p2, 4, 0, 1, 2, 1, "cli"), "customers upsert: import_runs counts")


def customers_bad(t, db, tmp):
    before = snapshot(db)
    # line 3 holds a quoted line break, so the row after it starts on line 5
    p = write(os.path.join(tmp, "fout.csv"),
              "external_id,name,birth_year,customer_since,language,phone\n"
              "K1,Anna,1980,2019-04-01,nl,\n"
              "K9,\"Twee\nregels\",19x0,2024-02-30,de,\n"
              "K10,Goed,1990,2020-01-01,en,06-12345678\n"
              ",Zonder id,1850,,,bel mij\n")
    rc, out, err = imp(db, "customers", p)
    t.eq((rc, out), (1, ""), "bad customers: exit 1, no summary")
    t.eq(err.splitlines(), [
        "%s:3: column 'language': 'de' is not a language (nl or en)" % p,
        "%s:3: column 'customer_since': '2024-02-30' is not a date (YYYY-MM-DD)" % p,
        "%s:3: column 'birth_year': '19x0' is not a year" % p,
        "%s:6: column 'external_id': a value is required" % p,
        "%s:6: column 'birth_year': '1850' is not a year from 1900 to 2100" % p,
        "%s:6: column 'phone': 'bel mij' is not a phone number (digits, spaces, +, - and parentheses)" % p,
        "klantstem: %s: 2 bad rows; nothing imported" % p,
    ], "bad customers: every bad cell as FILE:LINE: column 'x': message, in the order of the fields "
       "(the line after a quoted break counted)")
    t.eq(snapshot(db), before, "bad customers: nothing written, K1 and K10 included, no import_runs row")

    for name, header, kind, msg in (
            ("kolom.csv", "external_id,Loyalty Level\nK1,goud\n", "customers",
             "column 'Loyalty Level': not a customer field, and not a custom attribute name ([a-z0-9_]{1,32}); "
             "a --mapping can rename or drop it"),
            ("prodkolom.csv", "external_id,name,colour\nP1,Fiets,rood\n", "products",
             "column 'colour': unknown column; a --mapping can rename or drop it"),
            ("geenid.csv", "name,city\nAnna,Utrecht\n", "customers",
             "column 'external_id': the header has no such column; it is required")):
        p = write(os.path.join(tmp, name), header)
        rc, out, err = imp(db, kind, p)
        t.eq((rc, err), (1, "%s:1: %s\n" % (p, msg)), "%s: refused at the header: %s" % (name, msg[:40]))
    t.eq(snapshot(db), before, "refused headers: nothing written")


def encoding(t, db, tmp):
    before = snapshot(db)
    raw = "external_id,name,city\nL1,Zoë,Sint-Oedenrode\nL2,José,Aalst\n".encode("latin-1")
    p = write(os.path.join(tmp, "latin1.csv"), raw)
    rc, out, err = imp(db, "customers", p)
    t.eq((rc, err.splitlines()), (1, [
        "%s:2: column 'name': is not valid UTF-8 text (a file in another encoding? see --encoding)" % p,
        "%s:3: column 'name': is not valid UTF-8 text (a file in another encoding? see --encoding)" % p,
        "klantstem: %s: 2 bad rows; nothing imported" % p]), "Latin-1 file: each line named, nothing imported")
    t.eq(snapshot(db), before, "Latin-1 file: nothing written")
    rc, out, err = imp(db, "customers", p, "--encoding", "latin1")
    t.eq(rc, 0, "Latin-1 file with --encoding latin1: exit 0")
    t.eq(q(db, "SELECT external_id, name, hex(name) FROM customers WHERE external_id IN ('L1','L2') ORDER BY 1"),
         [("L1", "Zoë", "5A6FC3AB"), ("L2", "José", "4A6F73C3A9")], "--encoding latin1: stored as UTF-8")
    # cp1252: the euro sign is 0x80 there (a C1 control in Latin-1)
    p = write(os.path.join(tmp, "cp1252.csv"), "external_id,name,tier\nL3,Prijs \x80 5,A\n".encode("latin-1"))
    rc, out, err = imp(db, "customers", p, "--encoding", "cp1252")
    t.eq((rc, q(db, "SELECT name FROM customers WHERE external_id='L3'")), (0, [("Prijs € 5",)]),
         "--encoding cp1252: 0x80 is the euro sign")


def skip_bad(t, db, tmp):
    p = write(os.path.join(tmp, "deels.csv"),
              "external_id;name;birth_year\r\n"
              "S1;Sanne;1991\r\n"
              "S2;\"Fout; met\r\nregel\";19x0\r\n"
              "S3;Sem;1992\r\n"
              ";Niemand;1800\r\n")
    rej = os.path.join(tmp, "deels.rejects.csv")
    rc, out, err = imp(db, "customers", p, "--skip-bad", rej)
    t.eq(rc, 0, "--skip-bad: exit 0")
    t.check(summary_re(p, 4, "customers", "2 added, 0 updated, 2 rejected to %s" % rej).match(out),
            "--skip-bad: the summary", out)
    with open(rej, "rb") as f:
        got = f.read()
    want = ("external_id;name;birth_year;reason\r\n"
            "S2;\"Fout; met\r\nregel\";19x0;line 3: column 'birth_year': '19x0' is not a year\r\n"
            ";Niemand;1800;\"line 6: column 'external_id': a value is required; column 'birth_year': "
            "'1800' is not a year from 1900 to 2100\"\r\n").encode()
    t.eq(got, want, "--skip-bad: the reject file holds the original rows and a reason column")
    t.eq(sorted(r[0] for r in q(db, "SELECT external_id FROM customers WHERE external_id LIKE 'S%'")),
         ["S1", "S3"], "--skip-bad: the good rows are stored")
    t.eq(runs(db)[-1], ("customers", p, 2, 2, 2, 0, 0, "cli"), "--skip-bad: import_runs has 2 ok, 2 rejected")


def mapping(t, db, tmp):
    m = write(os.path.join(tmp, "map.json"), json.dumps({
        "columns": {"external_id": "KlantNr", "name": "Naam", "customer_since": "Klant sinds",
                    "segment": "Soort", "loyalty": "Spaarpas"},
        "drop": ["Opmerking"],
        "values": {"segment": {"P": "particulier", "Z": "zakelijk"}, "loyalty": {"J": "ja", "N": None}},
        "dates": {"customer_since": "%d-%m-%Y"}}))
    p = write(os.path.join(tmp, "export.csv"),
              "KlantNr;Naam;Klant sinds;Soort;Spaarpas;Opmerking\n"
              "M1;Mia;03-11-2018;P;J;belt vaak\n"
              "M2;Max;1-2-2020;Z;N;\n"
              "M3;Mo;;X;;\n")
    rc, out, err = imp(db, "customers", p, "--mapping", m)
    t.eq((rc, err), (0, ""), "mapping: exit 0, no messages")
    t.eq(customers(db, ["M1", "M2", "M3"]), {
        "M1": ("Mia", None, "nl", "2018-11-03", None, None, "particulier", None),
        "M2": ("Max", None, "nl", "2020-02-01", None, None, "zakelijk", None),
        "M3": ("Mo", None, "nl", None, None, None, "X", None),
    }, "mapping: renamed columns, recoded segment, day-month-year dates, Opmerking dropped")
    t.eq((attrs(db, "M1"), attrs(db, "M2"), attrs(db, "M3")), ({"loyalty": "ja"}, {}, {}),
         "mapping: an attribute by its new name; null recodes to none")
    before = snapshot(db)
    p = write(os.path.join(tmp, "export2.csv"), "KlantNr;Naam;Klant sinds;Soort;Spaarpas;Opmerking\n"
                                                "M4;Mila;31-02-2019;P;J;\n")
    rc, out, err = imp(db, "customers", p, "--mapping", m)
    t.eq((rc, err.splitlines()), (1, [
        "%s:2: column 'Klant sinds' (customer_since): '31-02-2019' is not a date in the mapping's format '%%d-%%m-%%Y'" % p,
        "klantstem: %s: 1 bad row; nothing imported" % p]), "mapping: a bad date names the file's column and the field")
    bad = write(os.path.join(tmp, "badmap.json"), json.dumps({"columns": {"kleur": "Kleur"}}))
    rc, out, err = imp(db, "products", p, "--mapping", bad)
    t.eq((rc, err), (1, "klantstem: %s: columns.kleur: not a field of this kind\n" % bad),
         "mapping: a target that is no field is refused")
    for name, text, msg in (("nomap.json", None, "klantstem: unable to open %s: No such file or directory"),
                            ("kapot.json", '{"columns": ', "klantstem: %s:1: not a JSON mapping: unexpected token near end of file"),
                            ("typo.json", '{"column": {}}', "klantstem: %s: 'column': unknown member (columns, drop, values, dates)"),
                            ("getal.json", '{"columns": {"name": 5}}', "klantstem: %s: columns.name: must be a string")):
        mp = os.path.join(tmp, name)
        if text is not None:
            write(mp, text)
        rc, out, err = imp(db, "customers", p, "--mapping", mp)
        t.eq((rc, err), (1, msg % mp + "\n"), "mapping: %s is refused before any row" % name)
    t.eq(snapshot(db), before, "mapping errors: nothing written")


def products_holdings(t, db, tmp):
    p = write(os.path.join(tmp, "producten.jsonl"),
              '{"external_id": "P1", "name": "Zonnepanelen", "category": "energie"}\n'
              '\n'
              '{"external_id": "P2", "name": "Laadpaal", "category": null}\n')
    rc, out, err = imp(db, "products", p)
    t.eq(rc, 0, "products JSON Lines: exit 0")
    t.eq(q(db, "SELECT external_id, name, category FROM products ORDER BY 1"),
         [("P1", "Zonnepanelen", "energie"), ("P2", "Laadpaal", None)], "products JSON Lines: stored")
    p = write(os.path.join(tmp, "producten.csv"), "external_id,name,category\r\nP2,Laadpaal thuis,mobiliteit\r\nP3,Warmtepomp,energie\r\n")
    rc, out, err = imp(db, "products", p)
    t.check(rc == 0 and summary_re(p, 2, "products", "1 added, 1 updated").match(out), "products CSV: upsert", out + err)
    t.eq(q(db, "SELECT external_id, name, category FROM products WHERE external_id='P2'"),
         [("P2", "Laadpaal thuis", "mobiliteit")], "products CSV: P2 updated")

    p = write(os.path.join(tmp, "bezit.csv"),
              "customer_external_id,product_external_id,since,until\n"
              "K1,P1,2020-05-01,\n"
              "K1,P2,2021-01-15,2023-06-30\n"
              "K2,P1,2022-03-01,\n")
    rc, out, err = imp(db, "holdings", p)
    t.check(rc == 0 and summary_re(p, 3, "holdings", "3 added, 0 updated").match(out), "holdings CSV: exit 0", out + err)
    hold = "SELECT c.external_id, p.external_id, h.since, h.until FROM holdings h JOIN customers c ON c.id = h.customer_id" \
           " JOIN products p ON p.id = h.product_id ORDER BY 1, 2"
    t.eq(q(db, hold), [("K1", "P1", "2020-05-01", None), ("K1", "P2", "2021-01-15", "2023-06-30"),
                       ("K2", "P1", "2022-03-01", None)], "holdings CSV: stored")
    p = write(os.path.join(tmp, "bezit.jsonl"),
              '{"customer_external_id": "K2", "product_external_id": "P1", "until": "2024-12-31"}\n')
    rc, out, err = imp(db, "holdings", p)
    t.check(rc == 0 and summary_re(p, 1, "holdings", "0 added, 1 updated").match(out), "holdings JSON Lines: upsert", out + err)
    t.eq(q(db, hold)[-1], ("K2", "P1", "2022-03-01", "2024-12-31"), "holdings: until set, since kept")
    before = snapshot(db)
    p = write(os.path.join(tmp, "bezitfout.csv"),
              "customer_external_id,product_external_id,since,until\n"
              "K404,P1,2020-01-01,\n"
              "K1,P404,,\n"
              "K3,P3,2022-05-01,2021-01-01\n")
    rc, out, err = imp(db, "holdings", p)
    t.eq((rc, err.splitlines()), (1, [
        "%s:2: column 'customer_external_id': no customer 'K404' (import the customers first)" % p,
        "%s:3: column 'product_external_id': no product 'P404' (import the products first)" % p,
        "%s:4: column 'until': '2021-01-01' is before since (2022-05-01)" % p,
        "klantstem: %s: 3 bad rows; nothing imported" % p]), "holdings: unknown customer and product, until before since")
    t.eq(snapshot(db), before, "holdings errors: nothing written")


def events(t, db, tmp):
    p = write(os.path.join(tmp, "events.jsonl"), "\r\n".join([
        '{"external_id": "E1", "customer_external_id": "K1", "kind": "login", "occurred_at": "2026-03-01 10:00", "channel": "app"}',
        '{"external_id": "E2", "customer_external_id": "K1", "kind": "mailing_opened", "occurred_at": "2026-07-01T08:30:00Z", "detail": "zomeractie"}',
        '{"customer_external_id": "K1", "kind": "newsletter_subscribed", "occurred_at": "2026-01-05"}',
        '{"customer_external_id": "K2", "kind": "contact", "occurred_at": "2026-02-02T12:00:00+01:00", "channel": "phone", "detail": 42}',
    ]) + "\r\n")
    rc, out, err = imp(db, "events", p)
    t.check(rc == 0 and summary_re(p, 4, "events", "4 added, 0 updated").match(out), "events JSON Lines: exit 0", out + err)
    ev = "SELECT e.external_id, c.external_id, e.kind, e.occurred_at, e.channel, e.detail FROM customer_events e" \
         " JOIN customers c ON c.id = e.customer_id ORDER BY e.occurred_at"
    want = [(None, "K1", "newsletter_subscribed", epoch_local(2026, 1, 5), None, None),
            (None, "K2", "contact", epoch_utc(2026, 2, 2, 11), "phone", "42"),
            ("E1", "K1", "login", epoch_local(2026, 3, 1, 10), "app", None),
            ("E2", "K1", "mailing_opened", epoch_utc(2026, 7, 1, 8, 30), None, "zomeractie")]
    t.eq(q(db, ev), want, "events: local times (Europe/Amsterdam), Z and offsets, a number as detail")
    rc, out, err = imp(db, "events", p)
    t.check(rc == 0 and summary_re(p, 4, "events", "0 added, 2 updated, 2 already there").match(out),
            "events: a second import adds nothing (by id, or by content without one)", out + err)
    t.eq(q(db, ev), want, "events: unchanged after the re-import")

    p = write(os.path.join(tmp, "events.csv"),
              "external_id,customer_external_id,kind,occurred_at,channel,detail\n"
              "E1,K1,login,2026-03-01 11:15:30,web,\n"
              "E3,K3,account_action,2026-04-01T09:00:00Z,web,\"adres gewijzigd, nieuw: \"\"Kerkstraat 1\"\"\"\n")
    rc, out, err = imp(db, "events", p)
    t.check(rc == 0 and summary_re(p, 2, "events", "1 added, 1 updated").match(out), "events CSV: upsert by id", out + err)
    t.eq(q(db, ev + "")[-2:], [("E3", "K3", "account_action", epoch_utc(2026, 4, 1, 9), "web", 'adres gewijzigd, nieuw: "Kerkstraat 1"'),
                               ("E2", "K1", "mailing_opened", epoch_utc(2026, 7, 1, 8, 30), None, "zomeractie")],
         "events CSV: E3 stored with its quoted detail")
    t.eq(q(db, "SELECT occurred_at, channel FROM customer_events WHERE external_id='E1'"),
         [(epoch_local(2026, 3, 1, 11, 15, 30), "web")], "events CSV: E1 moved and its channel changed")

    before = snapshot(db)
    p = write(os.path.join(tmp, "eventsfout.jsonl"),
              b'{"customer_external_id": "K1", "kind": "logout", "occurred_at": "2026-03-01"}\n'
              b'{"customer_external_id": "K1", "kind": "login", "occurred_at": "01-03-2026", "channel": "caf\xe9"}\n'
              b'{"customer_external_id": "K1", "kind": "login", "occurred_at": "2026-03-01", "colour": "red"}\n'
              b'[1, 2]\n'
              b'{"customer_external_id": "K1", "kind": "login", "occurred_at": "2026-03-01", "detail": {"a": 1}}\n'
              b'{"external_id": "E404", "customer_external_id": "K404", "kind": "login", "occurred_at": "2026-03-01"}\n'
              b'{"customer_external_id": "K404", "kind": "login", "occurred_at": "2026-03-01"}\n')
    rc, out, err = imp(db, "events", p)
    kinds = "mailing_sent, mailing_opened, mailing_clicked, newsletter_subscribed, newsletter_unsubscribed, login, " \
            "account_action, contact"
    t.eq((rc, err.splitlines()), (1, [
        "%s:1: column 'kind': 'logout' is not an event kind (%s)" % (p, kinds),
        "%s:2: not valid UTF-8 (a file in another encoding? use --encoding latin1 or cp1252)" % p,
        "%s:3: column 'colour': unknown column; a --mapping can rename or drop it" % p,
        "%s:4: not a JSON object" % p,
        "%s:5: column 'detail': must be a string, number, boolean or null" % p,
        "%s:6: column 'customer_external_id': no customer 'K404' (import the customers first)" % p,
        "%s:7: column 'customer_external_id': no customer 'K404' (import the customers first)" % p,
        "klantstem: %s: 7 bad rows; nothing imported" % p]), "bad events: each line and member named, unknown customers too")
    p = write(os.path.join(tmp, "eventstijd.csv"), "customer_external_id,kind,occurred_at\nK1,login,01-03-2026\n")
    rc, out, err = imp(db, "events", p)
    t.eq(err.splitlines()[0], "%s:2: column 'occurred_at': '01-03-2026' is not a time (YYYY-MM-DD, YYYY-MM-DD "
         "HH:MM[:SS] local, or ISO 8601 with Z or an offset; 1970-2099)" % p, "bad events: a time in another format")
    t.eq(snapshot(db), before, "bad events: nothing written")


def jsonl_and_more(t, db, tmp):
    # customers as JSON Lines: numbers, null, an attribute, CRLF, a BOM
    p = write(os.path.join(tmp, "klanten.jsonl"),
              '\ufeff{"external_id": "J1", "name": "Jet", "birth_year": 1988, "segment": null, "tier": "A"}\r\n'
              '{"external_id": "J2", "name": "Jan\\nJansen", "birth_year": "1990.0", "language": "en"}\r\n')
    rc, out, err = imp(db, "customers", p)
    t.check(rc == 0 and summary_re(p, 2, "customers", "2 added, 0 updated").match(out), "customers JSON Lines: exit 0",
            out + err)
    t.eq(customers(db, ["J1", "J2"]), {"J1": ("Jet", None, "nl", None, None, 1988, None, None),
                                       "J2": ("Jan\nJansen", None, "en", None, None, 1990, None, None)},
         "customers JSON Lines: stored (a number as a year, an escaped line break)")
    t.eq(attrs(db, "J1"), {"tier": "A"}, "customers JSON Lines: a custom attribute")

    # --skip-bad with JSON Lines: each bad object with a reason member
    p = write(os.path.join(tmp, "deels.jsonl"),
              '{"external_id": "J3", "birth_year": 1977}\n'
              '{"external_id": "J4", "birth_year": "zeventig"}\n'
              'geen json\n'
              '{"external_id": "J5"}\n')
    rej = os.path.join(tmp, "deels.rejects.jsonl")
    rc, out, err = imp(db, "customers", p, "--skip-bad", rej)
    t.check(rc == 0 and summary_re(p, 4, "customers", "2 added, 0 updated, 2 rejected to %s" % rej).match(out),
            "JSON Lines --skip-bad: exit 0 and the summary", out + err)
    with open(rej, encoding="utf-8") as f:
        t.eq([json.loads(line) for line in f], [
            {"line": 2, "reason": "line 2: column 'birth_year': 'zeventig' is not a year",
             "original": '{"external_id": "J4", "birth_year": "zeventig"}'},
            {"line": 3, "reason": "line 3: not a JSON object: column 4: '[' or '{' expected near 'geen'",
             "original": "geen json"}],  # jansson's column: where it stopped, the last letter of 'geen'
            "JSON Lines --skip-bad: the reject file holds each bad line as it was, with its number and a reason")
    t.eq(sorted(r[0] for r in q(db, "SELECT external_id FROM customers WHERE external_id IN ('J3','J4','J5')")),
         ["J3", "J5"], "JSON Lines --skip-bad: the good objects are stored")

    # --dry-run: checked and counted, nothing written
    before = snapshot(db)
    p = write(os.path.join(tmp, "proef.csv"), "external_id,city\nJ1,Breda\nJ9,Tilburg\n")
    rc, out, err = imp(db, "customers", p, "--dry-run")
    t.check(rc == 0 and summary_re(p, 2, "customers", "1 added, 1 updated (dry run: nothing written)").match(out),
            "--dry-run: the counts", out + err)
    t.eq(snapshot(db), before, "--dry-run: nothing written")

    # a progress bar on a terminal (script(1) gives the command a pty)
    n = 20000
    p = write(os.path.join(tmp, "veel.csv"), "external_id,segment\n" + "".join("V%05d,mkb\n" % i for i in range(n)))
    cmd = "%s import customers --db %s %s" % (ks.binary(), db, p)
    r = subprocess.run(["script", "-qefc", cmd, "/dev/null"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=ks.sanitizer_env(), timeout=120)
    text = r.stdout.decode("utf-8", "replace")
    RUNS.append((p, text))
    t.check(r.returncode == 0 and "\rcustomers [#########################] 100% 20000/20000" in text
            and "\r\x1b[K" in text, "on a terminal: a progress bar on stderr, cleared at the end", ks.short(text))
    t.check(summary_re(p, n, "customers", "%d added, 0 updated" % n).search(text.split("\x1b[K")[-1].replace("\r\n", "\n")),
            "on a terminal: the summary with rows/s after the bar", ks.short(text[-300:]))
    rc, out, err = imp(db, "customers", p)
    t.check("[#" not in err, "not on a terminal: no progress bar", ks.short(err))


def api(t, srv, db):
    st, _, b = srv.post("/api/v1/import/customers", [
        {"external_id": "A1", "name": "Api Een", "birth_year": 1970, "loyalty": "goud", "city": None},
        {"external_id": "A2", "language": "EN", "customer_since": "2015-06-01"}])
    t.eq((st, b), (200, {"kind": "customers", "rows": 2, "added": 2, "updated": 0, "unchanged": 0, "duplicates": 0}),
         "API customers: 200 with the counts")
    t.eq(customers(db, ["A1", "A2"]), {"A1": ("Api Een", None, "nl", None, None, 1970, None, None),
                                       "A2": (None, None, "en", "2015-06-01", None, None, None, None)},
         "API customers: stored like the CLI stores them")
    t.eq(attrs(db, "A1"), {"loyalty": "goud"}, "API customers: an extra member is a custom attribute")
    t.eq(runs(db)[-1], ("customers", None, 2, 0, 2, 0, 0, "api"), "API customers: its import_runs row")
    # the running server reads the imported customers (CLI and API alike)
    st, _, b = srv.get("/api/v1/customers?external_id=K1")
    t.check(st == 200 and [c.get("city") for c in b.get("items", b.get("customers", []))] == ["Amsterdam"],
            "the running server sees a customer the CLI imported", ks.got(st, b))
    before = snapshot(db)
    for body, field, msg, name in (
            ([{"external_id": "A3"}, {"external_id": "A4", "birth_year": "19x0"}], "[1].birth_year",
             "[1] birth_year: '19x0' is not a year", "a bad year in item 1"),
            ([{"external_id": "A3", "Loyalty": "x"}], "[0].Loyalty",
             "Loyalty: unknown field (a custom attribute's name is [a-z0-9_]{1,32})", "an unknown member"),
            ([{"external_id": "A3", "birth_year": 1970.5}], "[0].birth_year",
             "[0] birth_year: '1970.5' is not a year", "a fraction"),
            ([{"external_id": "A3", "city": {"naam": "Gouda"}}], "[0].city",
             "city: must be a string, number, boolean or null", "an object as a value"),
            ([{"name": "zonder id"}], "[0].external_id", "[0] external_id: a value is required", "no external_id")):
        st, _, b = srv.post("/api/v1/import/customers", body)
        t.eq((st, b.get("error", {}).get("field") if isinstance(b, dict) else None), (422, field),
             "API customers 422: %s names %s" % (name, field))
        t.eq(b.get("error", {}).get("message") if isinstance(b, dict) else None, msg, "API customers 422: %s: message" % name)
    st, _, b = srv.post("/api/v1/import/holdings", [{"customer_external_id": "A1", "product_external_id": "P1"},
                                                    {"customer_external_id": "NOPE", "product_external_id": "P1"}])
    t.eq((st, b.get("error", {}).get("field")), (422, "[1].customer_external_id"),
         "API holdings: an unknown customer is 422 naming the item and field")
    st, _, b = srv.post("/api/v1/import/customers", {"external_id": "A5"})
    t.eq(st, 400, "API: an object instead of an array is 400")
    st, _, b = srv.post("/api/v1/import/customers", [])
    t.eq(st, 422, "API: an empty array is 422")
    st, _, b = srv.post("/api/v1/import/orders", [{"external_id": "O1"}])
    t.eq(st, 404, "API: an unknown kind is 404")
    t.eq(snapshot(db), before, "API refusals: nothing written (the good first item neither)")
    st, _, b = srv.post("/api/v1/import/events", [
        {"customer_external_id": "A1", "kind": "mailing_clicked", "occurred_at": "2026-05-05T10:00:00Z",
         "channel": "email", "detail": "voorjaarsactie"}])
    t.eq((st, b.get("added") if isinstance(b, dict) else None), (200, 1), "API events: 200, added")


def timeline(t, srv, db):
    cid = q(db, "SELECT id FROM customers WHERE external_id='K1'")[0][0]
    st, _, b = srv.get("/api/v1/customers/%d/timeline?limit=200" % cid)
    t.eq(st, 200, "timeline of K1: 200")
    items = b.get("items", []) if isinstance(b, dict) else []
    got = [(i["kind"], i["event"], i["at"], i.get("channel"), i.get("detail"), i.get("summary"))
           for i in items if i["kind"] == "event"]
    iso = ks.iso
    t.eq(got, [
        ("event", "mailing_opened", iso(epoch_utc(2026, 7, 1, 8, 30)), None, "zomeractie", "zomeractie"),
        ("event", "login", iso(epoch_local(2026, 3, 1, 11, 15, 30)), "web", None, "login"),
        ("event", "newsletter_subscribed", iso(epoch_local(2026, 1, 5)), None, None, "newsletter_subscribed"),
    ], "timeline: K1's internal events, newest first, with channel and detail")
    hold = [(i["event"], i["at"], i["product"]["name"], i["since"], i["until"]) for i in items if i["kind"] == "holding"]
    t.eq(hold, [("ended", iso(epoch_utc(2023, 6, 30)), "Laadpaal thuis", "2021-01-15", "2023-06-30"),
                ("started", iso(epoch_utc(2021, 1, 15)), "Laadpaal thuis", "2021-01-15", "2023-06-30"),
                ("started", iso(epoch_utc(2020, 5, 1)), "Zonnepanelen", "2020-05-01", None)],
         "timeline: products taken and ended, on their days")


def gdpr(t, srv, db, tmp):
    """A customer's export holds the imported data about them; erasure removes it."""
    cid = q(db, "SELECT id FROM customers WHERE external_id='K1'")[0][0]
    st, _, ex = srv.get("/api/v1/customers/%d/export" % cid)
    ex = ex if isinstance(ex, dict) else {}
    t.eq((st, ex.get("attributes")), (200, [{"key": "loyalty", "value": "diamant"}, {"key": "region_code", "value": "U1"}]),
         "export: the customer's custom attributes")
    t.eq(ex.get("products_held"), [
        {"product_external_id": "P1", "product": "Zonnepanelen", "category": "energie", "since": "2020-05-01", "until": None},
        {"product_external_id": "P2", "product": "Laadpaal thuis", "category": "mobiliteit", "since": "2021-01-15",
         "until": "2023-06-30"}], "export: the products they hold and held")
    t.eq([(e["external_id"], e["kind"], e["occurred_at"], e["channel"], e["detail"]) for e in ex.get("events", [])],
         [(None, "newsletter_subscribed", ks.iso(epoch_local(2026, 1, 5)), None, None),
          ("E1", "login", ks.iso(epoch_local(2026, 3, 1, 11, 15, 30)), "web", None),
          ("E2", "mailing_opened", ks.iso(epoch_utc(2026, 7, 1, 8, 30)), None, "zomeractie")],
         "export: their events, in time order (times in ISO 8601 like the rest of the export)")
    st, _, er = srv.post("/api/v1/customers/%d/erase" % cid, {"confirm": True})
    t.eq(st, 200, "erase: 200")
    t.eq([q(db, "SELECT count(*) FROM %s WHERE customer_id = ?" % tb, (cid,))[0][0]
          for tb in ("customer_attributes", "holdings", "customer_events")], [0, 0, 0],
         "erase: attributes, holdings and events of the customer are gone (sqlite3)")
    t.eq(q(db, "SELECT count(*) FROM holdings h JOIN customers c ON c.id = h.customer_id WHERE c.external_id = 'K2'"),
         [(1,)], "erase: another customer's holdings stay")
    p = write(os.path.join(tmp, "terug.csv"), "external_id,city\nK1,Utrecht\n")
    rc, out, err = imp(db, "customers", p)
    t.check(rc == 0 and summary_re(p, 1, "customers", "1 added, 0 updated").match(out),
            "after erasure the same external id imported again is a new customer, not the tombstone", out + err)
    erased_names(t, srv, db, tmp, cid)


def erased_names(t, srv, db, tmp, cid):
    """H8: the tombstone's id 'erased-N' never names a customer again — not in
    an import, its references, nor POST /api/v1/customers."""
    tomb_id = "erased-%d" % cid
    tomb = q(db, "SELECT external_id, name, email, segment, CASE WHEN erased_at IS NOT NULL THEN 1 ELSE 0 END"
                 " FROM customers WHERE id = ?", (cid,))
    t.eq(tomb, [(tomb_id, None, None, None, 1)], "erased: the tombstone is marked (erased_at) and keeps its id text")
    before = snapshot(db)
    p = write(os.path.join(tmp, "tomb.csv"), "external_id,name,email,segment,loyalty\n%s,Jan Jansen,jan@example.org,gold,ja\n"
              % tomb_id)
    rc, out, err = imp(db, "customers", p)
    t.eq((rc, err.splitlines()), (1, [
        "%s:2: column 'external_id': '%s': an id starting with 'erased-' is an erased customer's, never given to "
        "a customer" % (p, tomb_id), "klantstem: %s: 1 bad row; nothing imported" % p]),
         "erased: an import naming the tombstone's id is refused at FILE:LINE: column")
    p = write(os.path.join(tmp, "tomb_ev.csv"), "customer_external_id,kind,occurred_at,detail\n%s,login,2026-01-01,x\n"
              % tomb_id)
    rc, out, err = imp(db, "events", p)
    t.eq((rc, err.splitlines()[:1]), (1, [
        "%s:2: column 'customer_external_id': '%s': an id starting with 'erased-' is an erased customer's, never "
        "given to a customer" % (p, tomb_id)]), "erased: an event naming the tombstone is refused")
    for kind, body, field in (
            ("customers", [{"external_id": tomb_id, "name": "Jan"}], "[0].external_id"),
            ("events", [{"customer_external_id": tomb_id, "kind": "login", "occurred_at": "2026-01-01"}],
             "[0].customer_external_id"),
            ("holdings", [{"customer_external_id": tomb_id, "product_external_id": "P1"}], "[0].customer_external_id")):
        st, _, b = srv.post("/api/v1/import/" + kind, body)
        t.eq((st, b.get("error", {}).get("field") if isinstance(b, dict) else None), (422, field),
             "erased: POST /import/%s naming the tombstone: 422 naming %s" % (kind, field))
    # the refusal quotes 40 bytes of the id: 7 + 33 of "é" (2 bytes each) end
    # inside the 17th letter, so 16 whole ones (a cut letter showed as '?')
    st, _, b = srv.post("/api/v1/import/customers", [{"external_id": "erased-" + "é" * 40}])
    t.check(st == 422 and "'erased-%s': an id starting" % ("é" * 16) in b.get("error", {}).get("message", ""),
            "erased: the refusal quotes the long id's first 40 bytes cut between letters", ks.got(st, b))
    st, _, b = srv.post("/api/v1/customers", {"external_id": "erased-999999", "name": "Nieuw"})
    t.eq((st, b.get("error", {}).get("field") if isinstance(b, dict) else None), (422, "external_id"),
         "erased: POST /api/v1/customers with an 'erased-' id is 422 naming external_id (a later erasure "
         "would collide with it)")
    st, _, b = srv.patch("/api/v1/customers/%d" % cid, {"name": "Jan Jansen"})
    t.eq((st, b.get("error", {}).get("field") if isinstance(b, dict) else None), (422, "external_id"),
         "erased: PATCH of the tombstone (a name given back to the erased person) is 422")
    t.eq(snapshot(db), before, "erased: nothing written by any of the refusals; the tombstone is unchanged")
    # a customer stored before the intakes refused the prefix (written with
    # sqlite3 here) is a real customer: references to it still work
    con = ks.db_connect(db)
    con.execute("INSERT INTO customers(external_id, name, created_at) VALUES ('erased-legacy', 'Oud', 0)")
    con.commit()
    con.close()
    st, _, b = srv.post("/api/v1/import/events", [{"customer_external_id": "erased-legacy", "kind": "login",
                                                   "occurred_at": "2026-01-01"}])
    t.eq(st, 422, "erased: a reference to any 'erased-' id is refused, also a legacy customer's (the text alone is "
         "not trusted)")


def rejects_as_read(t, db, tmp):
    """H8: --skip-bad's reject file holds each bad record's bytes as the file
    has them: CSV untrimmed and unconverted (a Latin-1 row stays Latin-1),
    JSON Lines {"line","reason","original"} — original_base64 for a line
    that is not UTF-8 (it was lost before), and an object with a member
    'reason' of its own keeps it."""
    import base64
    raw = b'{"external_id":"R1","name":"Anna"}\n{"external_id":"R2","name":"Bj\xf6rn"}\n' \
          b'{"external_id":"R3","name":"Cor","reason":"x","birth_year":"19x0"}\n'
    p = write(os.path.join(tmp, "rej.jsonl"), raw)
    rej = os.path.join(tmp, "rej.out.jsonl")
    rc, out, err = imp(db, "customers", p, "--skip-bad", rej)
    t.check(rc == 0 and summary_re(p, 3, "customers", "1 added, 0 updated, 2 rejected to %s" % rej).match(out),
            "rejects JSONL: exit 0, 2 rejected", out + err)
    with open(rej, encoding="utf-8") as f:
        got = [json.loads(line) for line in f]
    t.eq(got, [
        {"line": 2, "reason": "line 2: not valid UTF-8 (a file in another encoding? use --encoding latin1 or cp1252)",
         "original_base64": base64.b64encode(b'{"external_id":"R2","name":"Bj\xf6rn"}').decode()},
        {"line": 3, "reason": "line 3: column 'birth_year': '19x0' is not a year",
         "original": '{"external_id":"R3","name":"Cor","reason":"x","birth_year":"19x0"}'}],
        "rejects JSONL: the non-UTF-8 line is written (base64), the object's own 'reason' member kept in original")
    t.eq(base64.b64decode(got[0]["original_base64"]) + b"\n", raw.split(b"\n", 1)[1].split(b"\n")[0] + b"\n",
         "rejects JSONL: original_base64 decodes to the line's bytes")
    # a source column named with 300 two-byte letters (a --mapping names it):
    # the reason keeps 511 bytes of "column '<name>' ...", cut between letters
    # ("column '" + 251 letters + "'"); a letter cut in two turned every
    # letter of the reason into '?'
    long_col = "é" * 300
    m = write(os.path.join(tmp, "rej_map.json"), json.dumps({"columns": {"birth_year": long_col}}))
    p = write(os.path.join(tmp, "rej_long.jsonl"), json.dumps({"external_id": "RL1", long_col: "negentig"}) + "\n")
    rej = os.path.join(tmp, "rej_long.out.jsonl")
    rc, out, err = imp(db, "customers", p, "--mapping", m, "--skip-bad", rej)
    with open(rej, encoding="utf-8") as f:
        got = [json.loads(line).get("reason") for line in f]
    t.eq((rc, got), (0, ["line 1: column '%s'" % ("é" * 251)]),
         "rejects JSONL: a reason naming a 600-byte column is cut between letters at 511 bytes")
    # CSV: Latin-1 with --encoding latin1; cells with blanks, NA and quotes
    raw = ("external_id;name;birth_year\r\n"
           "R4;  Zo\xeb  ;1980\r\n"
           "R5;\"Jos\xe9 \"\"de\"\" Wit\"; 19x0 \r\n"
           "R6; NA ;NA\r\n").encode("latin-1")
    p = write(os.path.join(tmp, "rej.csv"), raw)
    rej = os.path.join(tmp, "rej.out.csv")
    rc, out, err = imp(db, "customers", p, "--skip-bad", rej, "--encoding", "latin1")
    t.check(rc == 0 and summary_re(p, 3, "customers", "2 added, 0 updated, 1 rejected to %s" % rej).match(out),
            "rejects CSV: exit 0, 1 rejected", out + err)
    with open(rej, "rb") as f:
        t.eq(f.read(), "external_id;name;birth_year;reason\r\n"
                       "R5;\"Jos\xe9 \"\"de\"\" Wit\"; 19x0 ;line 3: column 'birth_year': '19x0' is not a year\r\n"
             .encode("latin-1"),
             "rejects CSV: the row's bytes as the file has them (Latin-1, quotes, blanks), then the reason")


def encodings_1252(t, db, tmp):
    """H8: --encoding latin1 is read as windows-1252 (WHATWG), so 0x80..0x9F are
    the euro sign and quotes, never invisible C1 controls; a byte cp1252 does
    not define fails its record with FILE:LINE: column (and --skip-bad rejects
    that record only); a UTF-8 BOM before an 8-bit file is dropped."""
    p = write(os.path.join(tmp, "l1252.csv"), b"external_id,name,city\nB1,Caf\xe9 \x80 \x93Zee\x94,Den Haag\n")
    rc, out, err = imp(db, "customers", p, "--encoding", "latin1")
    t.eq((rc, q(db, "SELECT name, hex(name) FROM customers WHERE external_id = 'B1'")),
         (0, [("Caf\u00e9 \u20ac \u201cZee\u201d", "Caf\u00e9 \u20ac \u201cZee\u201d".encode().hex().upper())]),
         "--encoding latin1: 0x80 is the euro sign, 0x93/0x94 the curly quotes (windows-1252)")
    p = write(os.path.join(tmp, "undef.csv"), b"external_id,name,city\nB2,ok,x\nB3,A\x81B,y\n")
    before = snapshot(db)
    rc, out, err = imp(db, "customers", p, "--encoding", "cp1252")
    t.eq((rc, err.splitlines()), (1, [
        "%s:3: column 'name': holds a control character (a byte the file's encoding does not define? see --encoding)" % p,
        "klantstem: %s: 1 bad row; nothing imported" % p]),
         "--encoding cp1252: an undefined byte (0x81) is told at its line and column, not as a whole-file failure")
    t.eq(snapshot(db), before, "--encoding cp1252 undefined byte: nothing written")
    rej = os.path.join(tmp, "undef.rej.csv")
    rc, out, err = imp(db, "customers", p, "--encoding", "cp1252", "--skip-bad", rej)
    t.eq((rc, sorted(r[0] for r in q(db, "SELECT external_id FROM customers WHERE external_id IN ('B2','B3')"))),
         (0, ["B2"]), "--encoding cp1252 --skip-bad: the other row is imported, the bad one rejected")
    with open(rej, "rb") as f:
        t.eq(f.read(), b"external_id,name,city,reason\r\nB3,A\x81B,y,line 3: column 'name': holds a control character "
                       b"(a byte the file's encoding does not define? see --encoding)\r\n",
             "--encoding cp1252 --skip-bad: the rejected row's original bytes")
    p = write(os.path.join(tmp, "bom1252.csv"), b"\xef\xbb\xbfexternal_id,name\nB4,Zo\xeb\n")
    rc, out, err = imp(db, "customers", p, "--encoding", "latin1")
    t.eq((rc, err, q(db, "SELECT name FROM customers WHERE external_id = 'B4'")), (0, "", [("Zo\u00eb",)]),
         "--encoding latin1 with a UTF-8 byte order mark: dropped before the conversion (the header is read)")
    # a C1 control in a UTF-8 file is refused too (U+0085, invisible when shown)
    p = write(os.path.join(tmp, "c1.csv"), "external_id,name\nB5,a\u0085b\n".encode())
    rc, out, err = imp(db, "customers", p)
    t.eq((rc, err.splitlines()[:1]), (1, [
        "%s:2: column 'name': holds a control character (a byte the file's encoding does not define? see --encoding)"
        % p]), "a C1 control (U+0085) in UTF-8 is refused with its line and column")


def jsonl_column_and_map_sources(t, db, tmp):
    """H8: a JSON Lines parse error names the column where the line went wrong;
    a mapping that takes one source column for two targets is refused naming both."""
    p = write(os.path.join(tmp, "kol.jsonl"), '{"external_id": "X1"}\n{"external_id": "X2", "name": }\n')
    rc, out, err = imp(db, "customers", p)
    col = len('{"external_id": "X2", "name": }')  # the '}' where a value was expected: its 1-based column
    t.eq((rc, err.splitlines()[0]), (1, "%s:2: not a JSON object: column %d: unexpected token near '}'" % (p, col)),
         "JSON Lines: the parse error names its column")
    mp = write(os.path.join(tmp, "twee.json"), json.dumps({"columns": {"name": "Naam", "city": "Naam"}}))
    c = write(os.path.join(tmp, "twee.csv"), "external_id,Naam\nX3,Ede\n")
    rc, out, err = imp(db, "customers", c, "--mapping", mp)
    t.eq((rc, err), (1, "klantstem: %s: columns.name and columns.city: both take the source column 'Naam'\n" % mp),
         "mapping: one source column for two targets is refused, naming both")


def missing_words(t, db, tmp):
    """H8: NA, N/A, n.v.t., nvt are empty only in numeric and date columns; in
    a text column they are text (a customer named "Na", a segment "NA")."""
    p = write(os.path.join(tmp, "na.csv"), "external_id,name,segment,birth_year,customer_since,city,club\n"
                                           "NA1,Na,NA,NA,nvt,N/A,nvt\n"
                                           "NA2,Jan,gold,1970,2020-01-01,Delft,x\n")
    rc, out, err = imp(db, "customers", p)
    t.eq((rc, err), (0, ""), "missing words: exit 0, nothing on stderr")
    t.eq(customers(db, ["NA1"]), {"NA1": ("Na", None, "nl", None, "N/A", None, "NA", None)},
         "missing words: name 'Na', segment 'NA', city 'N/A' kept as text; birth_year NA and customer_since nvt empty")
    t.eq(attrs(db, "NA1"), {"club": "nvt"}, "missing words: an attribute 'nvt' is text")
    p = write(os.path.join(tmp, "na2.csv"), "external_id,segment,birth_year\nNA2,NA,n.v.t.\n")
    rc, out, err = imp(db, "customers", p)
    t.eq((rc, customers(db, ["NA2"])["NA2"][5:7]), (0, (None, "NA")),
         "missing words: an update with segment NA sets 'NA' (does not clear it), birth_year n.v.t. clears it")


def hold_write_lock(db):
    """Another connection holding the store's write lock, in an open
    transaction: SQLite's BEGIN IMMEDIATE; on PostgreSQL the advisory lock
    the store's db_pg.c takes for every writing transaction (its key is
    PG_WRITE_LOCK there). Returns (connection, release(commit))."""
    if ks.is_pg_uri(db):
        con = ks.db_connect(db)
        con.execute("SELECT pg_advisory_xact_lock(1802728300)")

        def release(commit=False):
            (con.commit if commit else con.con.rollback)()
            con.close()
        return con, release
    con = sqlite3.connect(db, timeout=10, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")

    def release_sqlite(commit=False):
        con.execute("COMMIT" if commit else "ROLLBACK")
        con.close()
    return con, release_sqlite


def no_lock_to_check(t, db, tmp):
    """H8: the file is checked before the write lock is taken: with the lock
    held by another connection, a bad file is told at once (not after the
    10 s busy timeout, and not as 'database is locked') and --dry-run counts;
    neither ever takes the lock."""
    import time
    before = snapshot(db)
    bad = write(os.path.join(tmp, "slot_bad.csv"), "external_id,birth_year\nZ1,1980\nZ2,19x0\n")
    good = write(os.path.join(tmp, "slot_good.csv"), "external_id,name\nZ1,Zeno\nK2,Karel\n")
    _, release = hold_write_lock(db)
    try:
        t0 = time.monotonic()
        rc, out, err = imp(db, "customers", bad)
        took = time.monotonic() - t0
        t.eq((rc, err.splitlines()), (1, ["%s:3: column 'birth_year': '19x0' is not a year" % bad,
                                          "klantstem: %s: 1 bad row; nothing imported" % bad]),
             "lock held elsewhere: a bad file is told row by row, no lock error")
        t.check(took < 8, "lock held elsewhere: ... without waiting for the lock (%.1f s)" % took)
        t0 = time.monotonic()
        rc, out, err = imp(db, "customers", good, "--dry-run")
        took = time.monotonic() - t0
        t.check(rc == 0 and summary_re(good, 2, "customers", "1 added, 1 updated (dry run: nothing written)").match(out),
                "lock held elsewhere: --dry-run checks and counts", out + err)
        t.check(took < 8, "lock held elsewhere: --dry-run does not wait for the lock (%.1f s)" % took)
    finally:
        release()
    t.eq(snapshot(db), before, "no lock to check: nothing written")


def writer_waits(t, srv, db):
    """H8: while another process holds the write lock (an import, a sqlite3
    session) for longer than the busy timeout (10 s), a posted response waits
    and is written when the lock is free (201), not failed."""
    import threading
    import time
    f = ks.base_fixture(srv)
    c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f["emp1"]["id"]})
    _, release = hold_write_lock(db)
    out = {}

    def post():
        t0 = time.monotonic()
        out["resp"] = srv.post("/api/v1/responses", {"contact_id": c["id"], "answers": {"nps": 7},
                                                      "client_key": ks.uniq("busy")}, timeout=90)
        out["s"] = time.monotonic() - t0

    th = threading.Thread(target=post)
    th.start()
    time.sleep(12)
    held_alive = th.is_alive()
    release(commit=True)
    th.join(90)
    st, _, b = out.get("resp", (None, None, None))
    t.check(held_alive, "writer busy: the response waits while the lock is held (12 s)")
    t.eq(st, 201, "writer busy: the response is written once the lock is free -> 201")
    t.check(out.get("s", 0) >= 12, "writer busy: ... after the lock went (%.1f s)" % out.get("s", 0))
    t.eq(q(db, "SELECT nps FROM responses WHERE id = ?", ((b or {}).get("id", 0),)), [(7,)],
         "writer busy: the response is stored")


def main(t, srv):
    db = srv.db
    with tempfile.TemporaryDirectory() as tmp:
        customers_csv(t, db, tmp)
        customers_bad(t, db, tmp)
        encoding(t, db, tmp)
        skip_bad(t, db, tmp)
        mapping(t, db, tmp)
        products_holdings(t, db, tmp)
        events(t, db, tmp)
        jsonl_and_more(t, db, tmp)
        api(t, srv, db)
        timeline(t, srv, db)
        gdpr(t, srv, db, tmp)
        rejects_as_read(t, db, tmp)
        encodings_1252(t, db, tmp)
        jsonl_column_and_map_sources(t, db, tmp)
        missing_words(t, db, tmp)
        no_lock_to_check(t, db, tmp)
        writer_waits(t, srv, db)
    t.eq(fk_orphans(db), [], "every customer_id and product_id written names a stored row")
    for path, err in RUNS:
        rep = ks.sanitizer_report(err)
        if rep:
            t.check(False, "no sanitizer report: " + path, rep[:4000])
    t.check(all(ks.sanitizer_report(e) is None for _, e in RUNS), "no sanitizer report in %d import runs" % len(RUNS))


ks.run(main)
