#!/usr/bin/python3
"""Text analysis of stored answers (issue 14; docs/TEXT.md, "In the store";
docs/API.md, "Responses"): every open answer is analysed by the writer in
the response's own transaction, so the rows are in the SQLite file before
the 201 returns; the response shows them as `analysis` (null without open
text); a survey-page form completing a one-click answer is analysed too;
the stated language is the prior of a short text; erasing the customer
removes them, and so does the retention run; `klantstem text reanalyze
--db` fills them again after they were deleted. Without the language data
the answers are stored all the same, without analysis.

The expected labels are those of the shipped lexicon and default taxonomy
(`klantstem text analyze` on the same sentences gives the same): a polite
but slow contact is friendliness/staff positive and waiting_time/waiting
negative, negative overall."""

import os
import re
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

NL = "vriendelijk maar het duurde veel te lang"
EN = "The staff were very friendly but the wait was far too long"
THEMES = [("friendliness", "staff", "positive"), ("waiting_time", "waiting", "negative")]


def post(srv, f, cust, lang, answers, received_at="2026-11-01T10:00:00Z"):
    body = {"touchpoint_id": f["tp1"]["id"], "employee_id": f["emp1"]["id"], "team_id": f["team"]["id"],
            "customer_id": f[cust]["id"], "channel": "phone", "language": lang,
            "received_at": received_at, "answers": answers}
    st, _, r = srv.post("/api/v1/responses", body)
    if st != 201:
        raise ks.FixtureError("POST /api/v1/responses -> %s" % ks.got(st, r))
    return r["id"]


def rows(srv, rid):
    # the score rounded here: PostgreSQL has no round() of a double to places
    a = [(lang, label, round(score, 3)) for lang, label, score in
         srv.sql("SELECT language, label, score FROM text_analysis WHERE response_id = ?", (rid,))]
    th = srv.sql("SELECT theme, subtheme, label FROM text_themes WHERE response_id = ? ORDER BY rowid", (rid,))
    return a, th


def api_analysis(lang, label, score):
    return {"language": lang, "sentiment": {"label": label, "score": score},
            "themes": [{"theme": a, "subtheme": b, "sentiment": c} for a, b, c in THEMES]}


def rounded(an):
    """The API's analysis with the score to 3 decimals (the float is the
    lexicon's mean; the test states it to 3 places)."""
    if not isinstance(an, dict) or not isinstance(an.get("sentiment"), dict):
        return an
    out = dict(an)
    out["sentiment"] = dict(an["sentiment"])
    if isinstance(out["sentiment"].get("score"), float):
        out["sentiment"]["score"] = round(out["sentiment"]["score"], 3)
    return out


def main(t, srv):
    f = ks.base_fixture(srv)

    # ---- stored with the response, before the 201 ----
    nl = post(srv, f, "cust_nl", "nl", {"nps": 6, "open": NL})
    a, th = rows(srv, nl)
    t.eq(a, [("nl", "negative", -0.467)], "db: the Dutch answer's analysis is in the file when the 201 returns")
    t.eq(th, THEMES, "db: its themes: friendliness/staff positive, waiting_time/waiting negative")

    en = post(srv, f, "cust_en", "en", {"nps": 5, "open": EN})
    a, th = rows(srv, en)
    t.eq(a, [("en", "negative", -0.6)], "db: the English answer: en, negative, -0.6")
    t.eq(th, THEMES, "db: the English answer has the same two themes")

    bare = post(srv, f, "cust_nl", "nl", {"nps": 9})
    t.eq(srv.sql("SELECT count(*) FROM text_analysis WHERE response_id = ?", (bare,)), [(0,)],
         "db: an answer without open text has no analysis row")
    t.eq(srv.sql("SELECT count(*) FROM text_themes WHERE response_id = ?", (bare,)), [(0,)],
         "db: ... and no theme rows")

    # the stated language is the prior for a text too short to tell
    short_en = post(srv, f, "cust_en", "en", {"nps": 8, "open": "ok"})
    short_nl = post(srv, f, "cust_nl", "nl", {"nps": 8, "open": "ok"})
    t.eq([rows(srv, short_en)[0], rows(srv, short_nl)[0]],
         [[("en", "positive", 0.333)], [("nl", "positive", 0.333)]],
         "db: \"ok\" is taken in the stated language (en, nl)")

    # ---- the survey page: a one-click score, then the form with the text ----
    c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f["emp1"]["id"]})
    st, _, page = srv.get("/s/%s?nps=3" % c["token"])
    m = re.search(r'name="k"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="k"', page if isinstance(page, str) else "")
    t.check(st == 200 and m is not None, "survey page: the tap in the mail (?nps=3) -> 200 form with a nonce",
            ks.got(st, page[:800] if isinstance(page, str) else page))
    pid = srv.sql("SELECT id FROM responses WHERE contact_id = ?", (c["id"],))
    t.eq([rows(srv, i)[0] for (i,) in pid], [[]], "db: the one-click partial answer (no text) has no analysis")
    k = (m.group(1) or m.group(2)) if m else ""
    st, _, tb = srv.form("/s/" + c["token"], {"k": k, "nps": "3", "open": NL})
    t.check(st == 201, "survey page: the form completes the answer with the text -> 201", ks.got(st, tb[:800]))
    t.eq([rows(srv, i) for (i,) in pid], [([("nl", "negative", -0.467)], THEMES)],
         "db: the completed survey answer has its analysis before the thank-you page returns")
    page_id = pid[0][0] if pid else 0

    # ---- the API ----
    st, _, g = srv.get("/api/v1/responses/%d" % nl)
    t.check(st == 200 and rounded(g.get("analysis")) == api_analysis("nl", "negative", -0.467),
            "GET /responses/{id}: analysis {language, sentiment {label, score}, themes}", ks.got(st, g))
    st, _, g = srv.get("/api/v1/responses/%d" % bare)
    t.check(st == 200 and "analysis" in g and g["analysis"] is None,
            "GET /responses/{id}: analysis null without open text", ks.got(st, g))
    st, _, lst = srv.get("/api/v1/responses?limit=100")
    by = {it["id"]: it for it in (lst or {}).get("items", [])} if st == 200 else {}
    t.check(rounded(by.get(en, {}).get("analysis")) == api_analysis("en", "negative", -0.6)
            and by.get(bare, {"analysis": 1}).get("analysis") is None,
            "GET /responses: the list carries the analysis (and null without text)", ks.got(st, lst))

    # ---- reanalyze ----
    before = srv.sql("SELECT response_id, language, label, score FROM text_analysis ORDER BY response_id")
    before_th = srv.sql("SELECT response_id, theme, subtheme, label FROM text_themes ORDER BY response_id, rowid")
    t.eq(len(before), 5, "db: five analysis rows before the reanalysis (five open answers)")
    con = ks.db_connect(srv.db)
    if not ks.is_pg_uri(srv.db):  # PostgreSQL always checks foreign keys
        con.execute("PRAGMA foreign_keys = ON")
    con.execute("DELETE FROM text_analysis")
    con.commit()
    con.close()
    t.eq(srv.sql("SELECT (SELECT count(*) FROM text_analysis) + (SELECT count(*) FROM text_themes)"), [(0,)],
         "db: the analysis deleted through SQL (themes cascade)")
    rc, out, err = ks.run_cli(["text", "reanalyze", "--db", srv.db, "--batch", "1"], timeout=120)
    t.check(rc == 0, "text reanalyze exits 0", "rc %r\n%s\n%s" % (rc, out, err))
    t.eq(out.splitlines(), ["analysed %d, failed 0" % i for i in (1, 2, 3, 4, 5, 5)]
         + ["done: 5 answers analysed, 0 failed"],
         "text reanalyze: progress per batch of 1 (the last one empty), then the total")
    t.eq(srv.sql("SELECT response_id, language, label, score FROM text_analysis ORDER BY response_id"), before,
         "db: reanalyze wrote the same five analysis rows back")
    t.eq(srv.sql("SELECT response_id, theme, subtheme, label FROM text_themes ORDER BY response_id, rowid"),
         before_th, "db: ... and the same six theme rows")
    t.eq(len(before_th), 6, "db: six theme rows (two per answer)")
    rc, out, err = ks.run_cli(["text", "reanalyze"])
    t.check(rc == 2 and "--db" in err, "text reanalyze without --db: usage error (2)", "rc %r %s" % (rc, err))
    if ks.is_pg_uri(srv.db):
        # a database the server does not have: store_open fails naming it
        missing = srv.db + "_missing"
        rc, out, err = ks.run_cli(["text", "reanalyze", "--db", missing])
        t.check(rc == 1 and '"%s" does not exist' % missing.rsplit("/", 1)[1] in err,
                "text reanalyze on a missing database: 1, naming it", "rc %r %s" % (rc, err))
    else:
        rc, out, err = ks.run_cli(["text", "reanalyze", "--db", srv.db + ".missing"])
        t.check(rc == 1 and "no database file" in err, "text reanalyze on a missing file: 1", "rc %r %s" % (rc, err))

    # ---- export: the analysis of the customer's texts is part of their data ----
    st, _, ex = srv.get("/api/v1/customers/%d/export" % f["cust_nl"]["id"])
    exr = {r.get("id"): r for r in (ex or {}).get("responses", [])} if st == 200 else {}
    got_an = [(a.get("language"), a.get("label"), round(a.get("score", 9), 3))
              for a in exr.get(nl, {}).get("text_analysis", [])]
    got_th = [(x.get("theme"), x.get("subtheme"), x.get("label")) for x in exr.get(nl, {}).get("text_themes", [])]
    t.check(got_an == [("nl", "negative", -0.467)] and got_th == THEMES,
            "export: the customer's response carries its text_analysis and text_themes",
            "%s %s\n%s" % (got_an, got_th, ks.got(st, exr.get(nl))))

    # ---- erase ----
    st, _, er = srv.post("/api/v1/customers/%d/erase" % f["cust_nl"]["id"], {"confirm": True})
    t.check(st == 200, "erase the Dutch customer -> 200", ks.got(st, er))
    t.eq(rows(srv, nl), ([], []), "db: the erased customer's analysis and themes are gone")
    t.eq(rows(srv, page_id), ([], []), "db: ... also of the survey-page answer (via the contact)")
    t.eq(rows(srv, en)[0], [("en", "negative", -0.6)], "db: another customer's analysis stays")
    st, _, g = srv.get("/api/v1/responses/%d" % nl)
    t.check(st == 200 and g.get("analysis") is None and g.get("open_text") is None,
            "GET /responses/{id} after erase: no text, analysis null", ks.got(st, g))


    # ---- retention: open texts older than a month go, and their analysis ----
    fresh = post(srv, f, "cust_en", "en", {"nps": 5, "open": EN},
                 received_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    old_with_text = [i for (i,) in srv.sql("SELECT id FROM responses WHERE open_text IS NOT NULL AND id <> ?"
                                           " ORDER BY id", (fresh,))]
    t.eq(old_with_text, [en, short_en], "fixture: the old answers that still have a text")
    rc, out, err = ks.run_cli(["privacy", "retention", "--db", srv.db, "--set", "open_text=1", "--run"])
    t.check(rc == 0, "privacy retention --set open_text=1 --run exits 0", "rc %r\n%s\n%s" % (rc, out, err))
    t.eq(srv.sql("SELECT response_id FROM text_analysis ORDER BY response_id"), [(fresh,)],
         "db: retention removed the analysis of the old texts; the fresh answer's stays")
    t.eq(srv.sql("SELECT DISTINCT response_id FROM text_themes"), [(fresh,)],
         "db: ... and their themes")

    without_language_data(t)


def without_language_data(t):
    """The language data missing (KS_TEXTCAT_DIR to an empty place): the
    server still takes answers, stores them without analysis and says so;
    reanalyze there refuses; with the data, reanalyze fills them."""
    srv2 = ks.Server(t, env={"KS_TEXTCAT_DIR": os.path.join(tempfile.gettempdir(), "no-textcat-%d" % os.getpid())})
    try:
        srv2.start()
        f = ks.base_fixture(srv2)
        rid = post(srv2, f, "cust_nl", "nl", {"nps": 6, "open": NL})
        t.eq(rows(srv2, rid), ([], []), "no language data: the answer is stored (201), without analysis")
        st, _, g = srv2.get("/api/v1/responses/%d" % rid)
        t.check(st == 200 and g.get("answers", {}).get("open") == NL and g.get("analysis") is None,
                "no language data: GET shows the text, analysis null", ks.got(st, g))
        t.check("text analysis off" in srv2.stderr(), "no language data: the server logs 'text analysis off'",
                srv2.stderr()[-2000:])
        env = ks.sanitizer_env()
        env.update(srv2.env)
        rc, out, err = ks.run_cli(["text", "reanalyze", "--db", srv2.db], env=env)
        t.check(rc == 1 and "text analysis is off" in err, "no language data: reanalyze refuses (1)",
                "rc %r\n%s\n%s" % (rc, out, err))
        rc, out, err = ks.run_cli(["text", "reanalyze", "--db", srv2.db])
        t.check(rc == 0 and out.splitlines()[-1:] == ["done: 1 answers analysed, 0 failed"],
                "with the data again: reanalyze analyses the one answer", "rc %r\n%s\n%s" % (rc, out, err))
        t.eq(rows(srv2, rid), ([("nl", "negative", -0.467)], THEMES), "db: its rows are there now")
        srv2.stop("server without language data exits 0 on SIGTERM")
    except ks.FixtureError as ex:
        t.check(False, "second server (no language data)", str(ex))
    finally:
        srv2.cleanup()


ks.run(main)
