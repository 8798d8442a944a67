#!/usr/bin/python3
"""`klantstem import mentions --db DB [--format F] FILE` (issue 16 H1): files
made here as review exports are — a semicolon CSV with a byte order mark,
CRLF, a CR LF inside a quoted field, a duplicate id and a missing rating; a
Latin-1 file (wrong encoding); a bad date; an unknown column; a Kiyoh XML
feed and a Trustpilot JSON export found without --format — checked against
the database file: the counts printed, every row, all or nothing, and the
errors naming file, line and column. docs/MENTIONS.md. With KS_PG_URI the
database is a fresh PostgreSQL database on that server (issue 18).
"""

import calendar
import os
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402


def rows(db, q, args=()):
    con = ks.db_connect(db)
    try:
        return con.execute(q, args).fetchall()
    finally:
        con.close()


def write(d, name, data):
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


LOGS = []


def cli(args):
    rc, out, err = ks.run_cli(args, timeout=60)
    LOGS.append(out + err)
    return rc, out, err


def imp(db, path, *extra):
    return cli(["import", "mentions", "--db", db] + list(extra) + [path])


def utc(y, mo, d, h=0, mi=0):
    return calendar.timegm((y, mo, d, h, mi, 0))


def main(t):
    d = tempfile.mkdtemp(prefix="ks-immentions-")
    if ks.pg_mode():
        name, db = ks.pg_new_database()
        try:
            run(t, d, db)
        finally:
            ks.pg_drop_database(name)
    else:
        run(t, d, os.path.join(d, "k.db"))


def run(t, d, db):
    env = ks.sanitizer_env()
    env["KLANTSTEM_PASSWORD"] = "import-mentions-test"
    rc, out, err = ks.run_cli(["user", "add", "--db", db, "--email", "a@example.org", "--name", "A",
                               "--role", "admin"], env=env)
    if rc != 0:
        t.check(False, "a database for the test", err)
        return
    ext = "K-77"
    con = ks.db_connect(db)
    con.execute("INSERT INTO customers(external_id, name, created_at) VALUES(?, 'Iris', 0)", (ext,))
    con.commit()
    con.close()
    cust = rows(db, "SELECT id FROM customers WHERE external_id = ?", (ext,))[0][0]

    csv = ("\ufeffsource;source_id;created_at;rating;text;customer_external_id\r\n"
           "winkel;w1;2026-04-01T09:00:00+02:00;4,5;\"Goed; snel\r\nen fijn\";" + ext + "\r\n"
           "winkel;w2;2026-04-02;;\"Slechte service, ik wacht al weken op antwoord.\";\r\n"
           "winkel;w3;2026-04-03;1;\"Terrible, the parcel never arrived.\";\r\n"
           "winkel;w1;2026-04-01T09:00:00+02:00;5;\"Goed; snel\r\nen fijn!\";" + ext + "\r\n")
    p = write(d, "reviews.csv", csv)
    rc, out, err = imp(db, p)
    t.eq((rc, out.strip()), (0, "%s: 4 records (generic-csv), 1 duplicate in the file: 3 inserted, 0 updated, 0 unchanged" % p),
         "a semicolon CSV with BOM, CRLF, a quoted line break and a duplicate: the counts printed")
    got = rows(db, "SELECT source_id, created_at, rating, scale_min, scale_max, rating10, text, customer_id"
                   " FROM mentions ORDER BY source_id")
    t.eq(got, [("w1", utc(2026, 4, 1, 7), 5.0, 1.0, 5.0, 10.0, "Goed; snel\r\nen fijn!", cust),
               ("w2", utc(2026, 4, 2), None, None, None, None, "Slechte service, ik wacht al weken op antwoord.", None),
               ("w3", utc(2026, 4, 3), 1.0, 1.0, 5.0, 0.0, "Terrible, the parcel never arrived.", None)],
         "every row as the file says (the later duplicate wins; +02:00 in UTC; no rating stays none)")
    t.eq(rows(db, "SELECT source_id, language FROM mentions ORDER BY source_id"), [("w1", "nl"), ("w2", "nl"), ("w3", "en")],
         "languages detected per mention (Dutch and English in one file)")
    t.eq(rows(db, "SELECT count(*) FROM mention_analysis")[0][0], 3, "each mention's text is analysed")
    rc, out, err = imp(db, p)
    t.eq((rc, out.strip()), (0, "%s: 4 records (generic-csv), 1 duplicate in the file: 0 inserted, 0 updated, 3 unchanged" % p),
         "the same file again changes nothing")

    before = rows(db, "SELECT count(*) FROM mentions")[0][0]
    bad = [
        ("latin1.csv", "source,source_id,created_at,text\nwinkel,l1,2026-04-01,ok\nwinkel,l2,2026-04-02,caf\xe9 au lait\n".encode("latin-1"),
         "latin1.csv:3: column %d: not UTF-8" % (len("winkel,l2,2026-04-02,caf") + 1), "a Latin-1 file names the line and column of the first bad byte"),
        ("date.csv", "source,source_id,created_at,text\nwinkel,d1,2026-04-01,ok\nwinkel,d2,31-12-2026,nee\n",
         "date.csv:3: column 'created_at': \"31-12-2026\" is not an ISO 8601 time",
         "a bad date names the line and column"),
        ("column.csv", "source,source_id,created_at,text,stars\nwinkel,c1,2026-04-01,ok,4\n",
         "column.csv:1: column 5: unknown column \"stars\"", "an unknown column names its place in the header"),
        ("quote.csv", "source,source_id,created_at,text\nwinkel,q1,2026-04-01,\"open\nwinkel,q2,2026-04-02,x\n",
         "quote.csv:2: a quoted field is not closed", "an unclosed quote names the line it opens on"),
        ("rating.csv", "source,source_id,created_at,rating\nwinkel,r1,2026-04-01,6\n",
         "rating.csv:2: column 'rating': rating 6 is outside its scale 1..5", "a rating outside its scale"),
        ("empty.json", "[]", None, "an empty array"),
    ]
    for name, data, want, what in bad:
        path = write(d, name, data)
        rc, out, err = imp(db, path)
        if want is None:
            t.check(rc == 1 and "no mentions in the file" in err, what + ": exit 1, says so", err)
        else:
            t.check(rc == 1 and err.startswith(os.path.join(d, want)) and "nothing imported" in err,
                    what + ": exit 1, " + want, "rc %s\n%s" % (rc, err))
    t.eq(rows(db, "SELECT count(*) FROM mentions")[0][0], before,
         "all or nothing: the good rows before a bad one are not written")

    kiyoh = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<reviewFeedDto><locationName>Zwolle</locationName><reviews>\n"
             "<reviews><reviewId>k-1</reviewId><reviewAuthor>Anja</reviewAuthor><rating>10</rating>\n"
             "<reviewContent><reviewContent><questionGroup>DEFAULT_OPINION</questionGroup><rating>Top!</rating>"
             "</reviewContent></reviewContent><dateSince>2026-07-01T14:30:00.000+02:00</dateSince></reviews>\n"
             "<reviews><reviewId>k-2</reviewId><rating>3</rating><dateSince>2026-07-02</dateSince></reviews>\n"
             "</reviews></reviewFeedDto>\n")
    p = write(d, "feed.xml", kiyoh)
    rc, out, err = imp(db, p)
    t.eq((rc, out.strip()), (0, "%s: 2 records (kiyoh), 0 duplicates in the file: 2 inserted, 0 updated, 0 unchanged" % p),
         "a Kiyoh feed is recognised without --format")
    t.eq(rows(db, "SELECT source_id, rating10, location, author FROM mentions WHERE source='kiyoh' ORDER BY source_id"),
         [("k-1", 10.0, "Zwolle", "Anja"), ("k-2", (3 - 1) / 9 * 10, "Zwolle", None)], "its scores on 1..10")
    p = write(d, "feed2.xml", kiyoh.replace("2026-07-02", "2 juli"))
    rc, out, err = imp(db, p)
    t.check(rc == 1 and err.startswith(p + ":5: column 'dateSince'"), "a bad dateSince names the review's line",
            err)

    # review H9: an entity bomb (30 MB of text from 40 KB) stops at its DOCTYPE
    bomb = ('<?xml version="1.0"?>\n\n<!DOCTYPE r [<!ENTITY a "' + "A" * 10000 + '">]>\n<r><reviews>'
            "<reviewId>b</reviewId><rating>8</rating><dateSince>2026-01-01</dateSince><reviewContent><reviewContent>"
            "<questionGroup>DEFAULT_OPINION</questionGroup><rating>" + "&a;" * 3000 + "</rating></reviewContent>"
            "</reviewContent></reviews></r>\n")
    p = write(d, "bomb.xml", bomb)
    rc, out, err = imp(db, p)
    t.check(rc == 1 and err.startswith(p + ":3: the feed has a DOCTYPE") and "nothing imported" in err,
            "an entity bomb: FILE:LINE of its DOCTYPE, nothing imported", err)
    t.eq(rows(db, "SELECT count(*) FROM mentions WHERE source='kiyoh'")[0][0], 2, "no review of it stored")

    tp = ('{"reviews":[{"id":"tp-1","stars":2,"title":"Traag","text":"Lang gewacht.","createdAt":"2026-05-01T08:00:00Z",'
          '"updatedAt":null,"consumer":{"displayName":"Ed"},"language":"nl"}]}')
    p = write(d, "tp.json", tp)
    rc, out, err = imp(db, p)
    t.check(rc == 0 and "(trustpilot)" in out and "1 inserted" in out, "a Trustpilot export is recognised", out + err)
    rc, out, err = imp(db, write(d, "tp2.json", tp.replace("08:00:00Z", "08:00:00Z\"x")), "--format", "trustpilot")
    t.check(rc == 1 and "tp2.json:1:" in err, "broken JSON names the line", err)
    t.eq(rows(db, "SELECT rating10, author FROM mentions WHERE source='trustpilot'"), [(2.5, "Ed")], "its stars and author")
    edited = tp.replace('"updatedAt":null', '"updatedAt":"2026-05-03T08:00:00Z"').replace('"stars":2', '"stars":3')
    rc, out, err = imp(db, write(d, "tp3.json", edited), "--format", "trustpilot")
    t.check(rc == 0 and "0 inserted, 1 updated, 0 unchanged" in out, "an edited review updates", out + err)
    t.eq(rows(db, "SELECT rating10 FROM mentions WHERE source='trustpilot'"), [(5.0,)], "with its new stars")

    rc, out, err = imp(db, p, "--format", "yelp")
    t.check(rc == 2 and "unknown format" in err, "an unknown --format is a usage error (exit 2)", err)
    rc, out, err = imp(db, os.path.join(d, "missing.csv"))
    t.check(rc == 1 and "missing.csv" in err, "a missing file: exit 1 naming it", err)
    rc, out, err = cli(["import", "mentions", "--db", os.path.join(d, "nope.db"), p])
    t.check(rc == 1 and "no database" in err, "a database path that is not there is not created", err)
    rc, out, err = cli(["import", "mentions", "--db", db])
    t.check(rc == 2, "no file: usage error", err)
    rc, out, err = cli(["import", "mentions", "--help"])
    t.check(rc == 0 and "generic-csv" in out, "--help prints the formats", out + err)
    reports = [r for r in (ks.sanitizer_report(x) for x in LOGS) if r]
    t.check(not reports, "no sanitizer report in any of the %d runs" % len(LOGS), (reports or [""])[0][-3000:])


if __name__ == "__main__":
    ks.run(main, start_server=False)
