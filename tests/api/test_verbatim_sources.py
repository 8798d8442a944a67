#!/usr/bin/python3
"""The verbatim explorer's sources (issue 16 H3; docs/API.md "GET /api/v1/verbatims",
"Sources"): source=survey (default) | mentions | <a mention source> | all. Mentions and
answers in one list with a `source` member, newest first by time for `all` with a
keyset cursor; mentions filtered by unit (scope), language, period, theme, sentiment,
q; band / employee / touchpoint leave them out; employees get no mentions (403).
Expected lists are built here from what the test stored."""

import decimal
import json
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

PW = "verbatim-sources-pw"


def ids(items):
    return [(x.get("source"), x.get("response_id"), x.get("mention_id")) for x in items]


def as_browser(cursor):
    """next_cursor as a browser hands it back: JSON numbers are doubles, and
    String(n) prints the shortest digits that round-trip, padded with zeros
    (1.897003171316187e+18 -> '1897003171316187000'). Strings pass as given."""
    if isinstance(cursor, str):
        return cursor
    d = json.loads(json.dumps(cursor), parse_int=float)
    return "%d" % int(decimal.Decimal(repr(d)))


def walk(srv, query, limit, headers=None, browser=False):
    """Every page of a query with `limit`, following next_cursor (browser: as
    a browser's JSON would carry it)."""
    out, cursor = [], None
    for _ in range(80):
        q = query + "&limit=%d" % limit + ("&cursor=%s" % urllib.parse.quote(str(cursor)) if cursor is not None else "")
        st, _, b = srv.get("/api/v1/verbatims?" + q, headers=headers or {})
        if st != 200:
            raise ks.FixtureError("GET verbatims?%s -> %s" % (q, ks.got(st, b)))
        out += b["items"]
        cursor = b["next_cursor"]
        if cursor is None:
            return out
        if browser:
            cursor = as_browser(cursor)
    raise ks.FixtureError("paging does not end")


def cookie_of(srv, email):
    st, hd, b = ks.http_request(srv.port, "POST", "/api/v1/auth/login", {"email": email, "password": PW}, auth=False)
    if st != 200:
        raise ks.FixtureError("login %s -> %s" % (email, ks.got(st, b)))
    return (hd.get("Set-Cookie") or "").split(";")[0]


def main(t, srv):
    f = ks.base_fixture(srv)
    other = srv.create("teams", {"name": "Team Zuid " + ks.uniq("z"), "kind": "team", "parent_id": f["dept"]["id"]})
    # answers at known times, through the API with received_at
    answers = []
    for i, (nps, text, at, team) in enumerate([
            (9, "Heel vriendelijk geholpen door de monteur", "2026-03-01T10:00:00Z", f["team"]),
            (3, "Lang moeten wachten aan de telefoon", "2026-03-03T10:00:00Z", f["team"]),
            (8, "Prima, snel opgelost", "2026-03-05T10:00:00Z", other)]):
        emp = f["emp1"] if team is f["team"] else None
        body = {"client_key": ks.uniq("a"), "touchpoint_id": f["tp1"]["id"], "received_at": at,
                "answers": {"nps": nps, "open": text}}
        if emp:
            body["employee_id"] = emp["id"]
        else:
            body["team_id"] = team["id"]
        r = srv.create("responses", body)
        answers.append((r["id"], ks.parse_iso(at)))
    # mentions: two mapped to the team's location, one to none, one rating-only
    st, _, b = srv.post("/api/v1/mentions", [
        {"source": "google", "source_id": "g1", "created_at": "2026-03-02T10:00:00Z", "rating": "5",
         "text": "Vriendelijke monteur, alles netjes", "author": "Jan", "location": "Noord", "language": "nl"},
        {"source": "trustpilot", "source_id": "t1", "created_at": "2026-03-04T10:00:00Z", "rating": "1",
         "title": "Slecht", "text": "Nooit iemand aan de telefoon", "location": "Noord", "language": "nl"},
        {"source": "google", "source_id": "g2", "created_at": "2026-03-06T10:00:00Z", "rating": "4",
         "text": "Good service overall", "language": "en"},
        {"source": "google", "source_id": "g3", "created_at": "2026-03-07T10:00:00Z", "rating": "3"}])
    t.check(st == 200 and b.get("inserted") == 4, "fixture: four mentions stored", ks.got(st, b))
    st, _, b = srv.request("PUT", "/api/v1/mention-locations", {"location": "Noord", "unit_id": f["team"]["id"]})
    t.check(st == 200, "fixture: location Noord mapped to the team", ks.got(st, b))
    ms = {r["source_id"]: r for r in srv.get("/api/v1/mentions?limit=50")[2]["items"]}
    g1, t1, g2 = ms["g1"]["id"], ms["t1"]["id"], ms["g2"]["id"]
    a1, a2, a3 = [a[0] for a in answers]

    # default and survey: answers only, each with source "survey"
    st, _, b = srv.get("/api/v1/verbatims")
    t.eq(ids(b["items"]), [("survey", a3, None), ("survey", a2, None), ("survey", a1, None)],
         "default: the answers only, newest id first, source survey")
    st, _, b2 = srv.get("/api/v1/verbatims?source=survey")
    t.eq(b2, b, "source=survey is the default")

    # mentions alone, by source
    st, _, b = srv.get("/api/v1/verbatims?source=mentions")
    t.eq(ids(b["items"]), [("google", None, g2), ("trustpilot", None, t1), ("google", None, g1)],
         "source=mentions: mentions with text, newest id first (the rating-only one left out)")
    st, _, b = srv.get("/api/v1/verbatims?source=google")
    t.eq(ids(b["items"]), [("google", None, g2), ("google", None, g1)], "source=google: that source only")
    it = b["items"][1]
    t.check(it["rating"] == 5.0 and it["scale_min"] == 1.0 and it["scale_max"] == 5.0 and it["rating10"] == 10.0
            and it["band"] is None and it["employee"] is None and it["touchpoint"] is None
            and it["team"] == {"id": f["team"]["id"], "name": f["team"]["name"]} and it["author"] == "Jan"
            and it["received_at"] == "2026-03-02T10:00:00Z" and it.get("nps") is None,
            "a mention's item: its own scale and 0-10, its unit, no band/employee/touchpoint, created_at", it)
    t.check(isinstance(it.get("analysis"), dict) and it["analysis"]["sentiment"]["label"] in ("positive", "neutral", "negative"),
            "a mention's item carries its analysis", it.get("analysis"))

    # all: one list by time, an answer before a mention of the same second
    want_all = [("google", None, g2), ("survey", a3, None), ("trustpilot", None, t1), ("survey", a2, None),
                ("google", None, g1), ("survey", a1, None)]
    st, _, b = srv.get("/api/v1/verbatims?source=all")
    t.eq(ids(b["items"]), want_all, "source=all: answers and mentions newest first by time")
    for lim in (1, 2, 4):
        t.eq(ids(walk(srv, "source=all", lim)), want_all, "source=all paged by %d: the same list, no item twice" % lim)
    st, _, b = srv.get("/api/v1/verbatims?source=all&limit=2")
    t.eq(b["next_cursor"], "%d.a.%d" % (ks.parse_iso("2026-03-05T10:00:00Z"), a3),
         "source=all: next_cursor is the string 'time.a.id' of the last item, an answer")
    st, _, b = srv.get("/api/v1/verbatims?source=all&limit=3")
    t.eq(b["next_cursor"], "%d.m.%d" % (ks.parse_iso("2026-03-04T10:00:00Z"), t1),
         "source=all: a mention's next_cursor is 'time.m.id'")
    st, _, b = srv.get("/api/v1/verbatims?source=mentions&limit=1")
    t.eq(b["next_cursor"], g2, "source=mentions: next_cursor stays the mention id (a number below 2^53)")
    walk_m = walk(srv, "source=mentions", 1)
    t.eq(ids(walk_m), [("google", None, g2), ("trustpilot", None, t1), ("google", None, g1)],
         "source=mentions paged by 1: the same list")

    # filters
    cases = [
        ("source=all&team_id=%d" % f["team"]["id"], [("trustpilot", None, t1), ("survey", a2, None), ("google", None, g1),
                                                   ("survey", a1, None)], "team_id: the unit's answers and mapped mentions"),
        ("source=all&language=en", [("google", None, g2)], "language=en"),
        ("source=all&from=2026-03-03T00:00:00Z&to=2026-03-05T00:00:00Z",
         [("trustpilot", None, t1), ("survey", a2, None)], "from/to on received_at / created_at"),
        ("source=all&band=promoter", [("survey", a1, None)], "band leaves every mention out"),
        ("source=mentions&employee_id=%d" % f["emp1"]["id"], [], "employee_id leaves every mention out"),
        ("source=all&touchpoint_id=%d" % f["tp1"]["id"], [("survey", a3, None), ("survey", a2, None), ("survey", a1, None)],
         "touchpoint_id leaves every mention out"),
        ("source=all&q=" + urllib.parse.quote("monteur"), [("google", None, g1), ("survey", a1, None)],
         "q: the word in a mention's text and in an answer"),
        ("source=mentions&q=" + urllib.parse.quote("NOOIT telefoon"), [("trustpilot", None, t1)],
         "q on mentions: every word, case folded"),
        ("source=mentions&q=" + urllib.parse.quote("slecht"), [("trustpilot", None, t1)], "q on mentions: the title too"),
        ("source=mentions&q=jan", [("google", None, g1)], "q on mentions: the author too"),
    ]
    for q, want, what in cases:
        st, _, b = srv.get("/api/v1/verbatims?" + q)
        t.check(st == 200 and ids(b["items"]) == want, what, "expected %r\n%s" % (want, ks.got(st, b)))
    neg = [x for x in srv.get("/api/v1/verbatims?source=mentions")[2]["items"]
           if (x.get("analysis") or {}).get("sentiment", {}).get("label") == "negative"]
    st, _, b = srv.get("/api/v1/verbatims?source=mentions&sentiment=negative")
    t.check(st == 200 and ids(b["items"]) == ids(neg) and len(neg) >= 1,
            "sentiment=negative: the mentions whose analysis is negative", ks.got(st, b))

    # refusals
    for bad in ("Google", "a b", "x" * 33, ""):
        t.error(srv.get("/api/v1/verbatims?source=" + urllib.parse.quote(bad)), 422, field="source",
                name="source=%r -> 422 source" % bad)
    t.error(srv.get("/api/v1/verbatims?source=all&cursor=abc"), 422, field="cursor", name="a bad cursor -> 422 cursor")
    old_key = ks.parse_iso("2026-03-05T10:00:00Z") * 2 ** 30 + 2 ** 29 + a3
    for bad in (str(old_key), "1772445600.x.4", "1772445600.a.0", "1772445600.a.-1", "-1.a.3", " 1.a.3", "1.a.3 ",
                "1.a.3.4", "1.a.", ".a.3", "1..3", "1.A.3", "1.a.99999999999999999999", "+1.a.3", ""):
        t.error(srv.get("/api/v1/verbatims?source=all&cursor=" + urllib.parse.quote(bad)), 422, field="cursor",
                name="source=all: cursor %r -> 422 cursor" % bad)
    t.error(srv.get("/api/v1/verbatims?source=mentions&cursor=1.m.3"), 422, field="cursor",
            name="source=mentions: a merged cursor is not an id -> 422 cursor")

    # ties (issue 16 H7): 3 answers and 12 mentions in one second, newer than
    # the rest. Paged by 3 and 5 the boundaries fall inside the second; a
    # browser reading the cursor still gets every item once, in order: the
    # answers of the second by id, then its mentions by id, then the rest.
    tie_at = "2026-03-10T10:00:00Z"
    tie_a = [srv.create("responses", {"client_key": ks.uniq("ta"), "touchpoint_id": f["tp1"]["id"], "received_at": tie_at,
                                      "employee_id": f["emp1"]["id"], "answers": {"nps": 7, "open": "Gelijk moment %d" % i}})["id"]
             for i in range(3)]
    st, _, b = srv.post("/api/v1/mentions", [{"source": "kiyoh", "source_id": "tie-%02d" % i, "created_at": tie_at,
                                              "rating": "7", "scale_min": "1", "scale_max": "10",
                                              "text": "Zelfde seconde %d" % i} for i in range(12)])
    t.check(st == 200 and b.get("inserted") == 12, "fixture: twelve mentions of one second", ks.got(st, b))
    tie_m = [r[0] for r in srv.sql("SELECT id FROM mentions WHERE source_id LIKE 'tie-%'")]
    want_ties = ([("survey", a, None) for a in sorted(tie_a, reverse=True)]
                 + [("kiyoh", None, m) for m in sorted(tie_m, reverse=True)] + want_all)
    st, _, b = srv.get("/api/v1/verbatims?source=all&limit=100")
    t.eq(ids(b["items"]), want_ties, "ties: one page holds the second's answers, then its mentions, each by id")
    for lim in (3, 5):
        got = ids(walk(srv, "source=all", lim, browser=True))
        t.eq(got, want_ties, "ties paged by %d through a browser's JSON: all %d items, each once, in order"
             % (lim, len(want_ties)))
    st, _, b = srv.get("/api/v1/verbatims?source=all&limit=4")
    t.check(st == 200 and isinstance(b.get("next_cursor"), str)
            and b["next_cursor"] == "%d.m.%d" % (ks.parse_iso(tie_at), max(tie_m)),
            "ties: the cursor inside the second names the mention, as a string", ks.got(st, b))

    # scope: a team lead of the other team sees its answer and no unmapped or other mention
    srv.create("users", {"email": "lead-z@example.nl", "name": "Lead Zuid", "role": "team_lead", "unit_id": other["id"],
                         "password": PW})
    srv.create("users", {"email": "emp@example.nl", "name": "Sanne", "role": "employee", "employee_id": f["emp1"]["id"],
                         "password": PW})
    cookie = cookie_of(srv, "lead-z@example.nl")
    st, _, b = ks.http_request(srv.port, "GET", "/api/v1/verbatims?source=all", headers={"Cookie": cookie}, auth=False)
    t.check(st == 200 and ids(b["items"]) == [("survey", a3, None)],
            "team lead of the other team: its answer, no mention of another unit or of none", ks.got(st, b))
    cookie = cookie_of(srv, "emp@example.nl")
    for src in ("all", "mentions", "google"):
        r = ks.http_request(srv.port, "GET", "/api/v1/verbatims?source=" + src, headers={"Cookie": cookie}, auth=False)
        t.error(r, 403, field="source", name="employee: source=%s -> 403 source" % src)
    st, _, b = ks.http_request(srv.port, "GET", "/api/v1/verbatims?source=survey", headers={"Cookie": cookie}, auth=False)
    t.check(st == 200 and all(x["source"] == "survey" for x in b["items"]), "employee: source=survey -> 200, answers",
            ks.got(st, b))


ks.run(main)
