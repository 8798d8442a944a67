#!/usr/bin/python3
"""Mentions (issue 16 H1): reviews and social posts through POST /api/v1/mentions
in every format (documents shaped like each source's own, made here), the
idempotent upsert (an edit updates, an older one does not, an equal one only
with other content, the same batch twice changes nothing), the unhappy inputs (bad date, unknown column,
wrong encoding, duplicate id, CR inside a quoted field, BOM, missing ratings,
mixed languages), list filters and paging, the summary figures against values
computed here (t-interval and Wilson interval written out below, not the
product's), replies, location mapping, roles and scope, and the customer
timeline's mention items. docs/API.md "Mentions", docs/MENTIONS.md.
"""

import json
import math
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

PASSWORD = "mentions-test-password"


# ---- independent statistics ---------------------------------------------------

def t_pdf(x, df):
    c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
    return c * (1 + x * x / df) ** (-(df + 1) / 2)


def t_cdf(x, df):
    """P(T <= x) for x >= 0 by Simpson's rule on [0, x] (plus one half)."""
    n = 4000
    h = x / n
    s = t_pdf(0, df) + t_pdf(x, df)
    for i in range(1, n):
        s += (4 if i % 2 else 2) * t_pdf(i * h, df)
    return 0.5 + s * h / 3


def t_quantile_975(df):
    lo, hi = 0.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < 0.975:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def mean_ci(xs):
    n = len(xs)
    m = sum(xs) / n
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    half = t_quantile_975(n - 1) * s / math.sqrt(n)
    return m, max(0.0, m - half), min(10.0, m + half)


def wilson(k, n, z=1.959963984540054):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return p, max(0.0, c - half), min(1.0, c + half)


# ---- helpers ----------------------------------------------------------------------

def post(srv, body):
    return srv.post("/api/v1/mentions", body)


def by_source_id(srv, source):
    st, _, b = srv.get("/api/v1/mentions?limit=500&source=" + source)
    if st != 200:
        raise ks.FixtureError("list %s -> %s" % (source, ks.got(st, b)))
    return {m["source_id"]: m for m in b["items"]}


def count(srv):
    return srv.sql("SELECT count(*) FROM mentions")[0][0]


def token_for(srv, email, password):
    st, hd, body = srv.post("/api/v1/auth/login", {"email": email, "password": password}, auth=False)
    if st != 200:
        raise ks.FixtureError("login %s -> %s" % (email, ks.got(st, body)))
    cookie = hd.get("Set-Cookie", "").split(";")[0]
    st, _, tok = srv.post("/api/v1/auth/tokens", {"name": "m"}, auth=False,
                          headers={"Cookie": cookie, "X-CSRF-Token": body["csrf_token"]})
    if st != 201:
        raise ks.FixtureError("token -> %s" % ks.got(st, tok))
    return {"Authorization": "Bearer " + tok["token"]}


def user(srv, role, **extra):
    email = "%s-%s@mentions.test" % (role, ks.uniq("u"))
    srv.create("users", dict({"email": email, "name": "M " + role, "role": role, "password": PASSWORD}, **extra))
    return token_for(srv, email, PASSWORD)


def rec(sid, created, **kw):
    r = {"source": "shop", "source_id": sid, "created_at": created}
    r.update(kw)
    return r


# ---- intake: the generic layout ------------------------------------------------------

def generic(t, srv, f):
    batch = [
        rec("g1", "2026-03-01T10:00:00+01:00", rating=4, text="Snel en vriendelijk geholpen, echt top.",
            author="Jan", location="Utrecht", title="Top", url="https://shop.example/r/g1",
            customer_external_id=f["cust_nl"]["external_id"]),
        rec("g2", "2026-03-02", rating="7,5", scale_min=1, scale_max=10, text="Redelijk"),
        rec("g3", "2026-03-03T08:00:00Z", text="The delivery was late and nobody called me back.", language="en-GB"),
    ]
    st, _, b = post(srv, batch)
    t.eq((st, b), (200, {"format": "generic-json", "received": 3, "duplicates": 0, "inserted": 3, "updated": 0,
                         "unchanged": 0, "changed": True}), "a generic batch of 3: 3 inserted")
    audits = srv.sql("SELECT count(*) FROM audit_log WHERE action = 'mention.import'")[0][0]
    st, _, b = post(srv, batch)
    t.eq((st, b["inserted"], b["updated"], b["unchanged"], b["changed"]), (200, 0, 0, 3, False),
         "the same batch again changes nothing and says so (changed false, 3 unchanged)")
    t.eq(srv.sql("SELECT count(*) FROM audit_log WHERE action = 'mention.import'")[0][0], audits,
         "an import that changed nothing leaves no audit entry")
    m = by_source_id(srv, "shop")
    g1, g2, g3 = m["g1"], m["g2"], m["g3"]
    t.eq((g1["created_at"], g1["updated_at"]), ("2026-03-01T09:00:00Z", "2026-03-01T09:00:00Z"),
         "created_at with a +01:00 offset is stored in UTC; updated_at defaults to created_at")
    t.eq((g1["rating"], g1["scale_min"], g1["scale_max"], g1["rating10"]), (4.0, 1.0, 5.0, 7.5),
         "a rating without a scale is on 1..5 stars: 4 -> (4-1)/(5-1)*10 = 7.5")
    t.near(g2["rating10"], (7.5 - 1) / 9 * 10, 1e-9, "a decimal comma '7,5' on 1..10 -> 6.5/9*10")
    t.eq((g3["rating"], g3["rating10"], g3["language"]), (None, None, "en"),
         "a mention without a rating keeps none (never a zero); language en-GB -> en")
    t.eq((g1["author"], g1["title"], g1["url"], g1["location"], g1["customer_id"]),
         ("Jan", "Top", "https://shop.example/r/g1", "Utrecht", f["cust_nl"]["id"]),
         "author, title, url, location as given; customer_external_id links the customer")
    t.eq(g1["language"], "nl", "no language given: the text analysis finds nl")
    t.eq(g1["analysis"]["sentiment"]["label"], "positive", "the mention's text is analysed (sentiment positive)")
    t.eq(g3["analysis"]["sentiment"]["label"], "negative", "an English complaint is analysed as negative")
    t.check(all("nps" not in x for x in m.values()), "a mention has no NPS member")

    # edits: newer updates, equal or older does not
    newer = rec("g3", "2026-03-03T08:00:00Z", updated_at="2026-03-05T12:00:00+02:00", rating=2,
                text="Finally delivered, but late.")
    st, _, b = post(srv, [newer])
    t.eq((st, b["inserted"], b["updated"], b["unchanged"]), (200, 0, 1, 0), "an edited review (newer updated_at) updates")
    g3 = by_source_id(srv, "shop")["g3"]
    t.eq((g3["text"], g3["rating10"], g3["updated_at"]), ("Finally delivered, but late.", 2.5, "2026-03-05T10:00:00Z"),
         "the edit's text, rating and updated_at are stored")
    st, _, b = post(srv, [newer])
    t.eq((st, b["updated"], b["unchanged"]), (200, 0, 1), "the same edit again (equal updated_at, same content) is unchanged")
    st, _, b = post(srv, [rec("g3", "2026-03-03T08:00:00Z", updated_at="2026-03-04T00:00:00Z", text="stale older")])
    t.eq((st, b["updated"], b["unchanged"]), (200, 0, 1), "an older updated_at is unchanged")
    t.eq(by_source_id(srv, "shop")["g3"]["text"], "Finally delivered, but late.",
         "an older updated_at never overwrites the newer text")

    # times as exports write them: unix seconds, milliseconds, "UTC"
    st, _, b = post(srv, [rec("t1", 1767225600, text="a"), rec("t2", "1767225600000", text="b"),
                          rec("t3", "2026-01-01 00:00:00 UTC", text="c"), rec("t4", "2026-01-01T01:00+01", text="d")])
    m = by_source_id(srv, "shop")
    t.eq((st, [m[k]["created_at"] for k in ("t1", "t2", "t3", "t4")]), (200, ["2026-01-01T00:00:00Z"] * 4),
         "unix seconds (a number), milliseconds, a space and UTC, a +01 zone: the same instant")
    t.error(post(srv, [rec("t5", "20260101", text="e")]), 422, "invalid", "[0].created_at",
            "8 digits are no unix time (a compact date is refused, not misread)")

    # duplicates within one batch: the last wins, counted
    st, _, b = post(srv, [rec("d1", "2026-03-06", text="eerste"), rec("d2", "2026-03-06", text="ander"),
                          rec("d1", "2026-03-06", text="laatste")])
    t.eq((st, b["received"], b["duplicates"], b["inserted"]), (200, 3, 1, 2),
         "a duplicate id within one batch: 3 received, 1 duplicate, 2 inserted")
    t.eq(by_source_id(srv, "shop")["d1"]["text"], "laatste", "the last of the duplicates wins")
    t.eq(srv.sql("SELECT count(*) FROM mentions WHERE source='shop' AND source_id='d1'")[0][0], 1,
         "never a duplicate (source, source_id) row")


def same_time(t, srv):
    """Review H9: a change that keeps updated_at is taken (a reply added later
    with the same updateTime; an edit at a source without an update time);
    the same content again is unchanged; an older updated_at never overwrites."""
    rv = {"reviewId": "st-1", "name": "accounts/1/locations/9/reviews/st-1", "starRating": "FOUR",
          "comment": "Prima geholpen", "createTime": "2026-03-01T10:00:00Z", "updateTime": "2026-03-01T10:00:00Z",
          "reviewer": {"displayName": "An"}}
    st, _, b = post(srv, {"format": "google", "data": {"reviews": [rv]}})
    t.eq((st, b.get("inserted")), (200, 1), "a Google review without a reply: inserted")
    rv2 = dict(rv, reviewReply={"comment": "Dank u!", "updateTime": "2026-03-05T09:00:00Z"})
    st, _, b = post(srv, {"format": "google", "data": {"reviews": [rv2]}})
    t.eq((st, b.get("updated"), b.get("unchanged")), (200, 1, 0),
         "the reply added later, updateTime unchanged: updated")
    r = by_source_id(srv, "google")["st-1"]["reply"]
    t.eq((r["text"], r["at"]), ("Dank u!", "2026-03-05T09:00:00Z"), "the reply and its time are stored")
    st, _, b = post(srv, {"format": "google", "data": {"reviews": [rv2]}})
    t.eq((st, b.get("updated"), b.get("unchanged"), b.get("changed")), (200, 0, 1, False),
         "the same review with its reply again: unchanged")

    k = ("<f><locationName>Kampen</locationName><reviews><reviewId>st-k</reviewId><rating>9</rating>"
         "<dateSince>2026-03-01T10:00:00Z</dateSince><updatedSince>2026-03-01T10:00:00Z</updatedSince>%s"
         "</reviews></f>")
    st, _, b = post(srv, {"format": "kiyoh", "data": k % ""})
    t.eq((st, b.get("inserted")), (200, 1), "a Kiyoh review without the company's comment: inserted")
    st, _, b = post(srv, {"format": "kiyoh", "data": k % "<comment>Bedankt!</comment>"})
    t.eq((st, b.get("updated")), (200, 1), "its comment added later, updatedSince unchanged: updated")
    t.eq(srv.sql("SELECT reply_text FROM mentions WHERE source='kiyoh' AND source_id='st-k'"), [("Bedankt!",)],
         "the comment is stored as the reply")

    st, _, b = post(srv, [rec("st-g", "2026-03-01", text="Eerste versie", rating=2)])
    st, _, b = post(srv, [rec("st-g", "2026-03-01", text="Verbeterde versie", rating=4)])
    t.eq((st, b["updated"], b["unchanged"]), (200, 1, 0), "an edit at a source without updated_at: updated")
    t.eq(srv.sql("SELECT text, rating FROM mentions WHERE source='shop' AND source_id='st-g'"),
         [("Verbeterde versie", 4.0)], "with its text and rating")
    st, _, b = post(srv, [rec("st-g", "2026-03-01", text="Verbeterde versie", rating=4)])
    t.eq((st, b["updated"], b["unchanged"]), (200, 0, 1), "the same again: unchanged")
    st, _, b = post(srv, [rec("st-g", "2026-03-01", updated_at="2026-03-09", text="Derde versie", rating=5)])
    st, _, b = post(srv, [rec("st-g", "2026-03-01", updated_at="2026-03-08", text="Oude versie", rating=1)])
    t.eq((st, b["updated"], b["unchanged"]), (200, 0, 1), "other content with an older updated_at: unchanged")
    t.eq(srv.sql("SELECT text FROM mentions WHERE source='shop' AND source_id='st-g'"), [("Derde versie",)],
         "the newer text stays")


def stale_analysis(t, srv):
    """Review H9: an update that removes the text drops the old text's
    analysis — the summary's sentiment filter and the theme filter no longer
    count the mention for what it no longer says."""
    text = ("Verschrikkelijk slecht, nooit meer. De bezorging was een ramp en de klantenservice "
            "was onbeschoft aan de telefoon.")
    st, _, b = post(srv, [rec("sa-1", "2026-03-01", source="stale", rating=1, text=text)])
    t.eq((st, b.get("inserted")), (200, 1), "a complaint: inserted")
    mid = srv.sql("SELECT id FROM mentions WHERE source='stale'")[0][0]
    label = srv.sql("SELECT label FROM mention_analysis WHERE mention_id=?", (mid,))
    themes = [r[0] for r in srv.sql("SELECT DISTINCT theme FROM mention_themes WHERE mention_id=?", (mid,))]
    t.check(label == [("negative",)] and themes, "analysed as negative, with a theme", (label, themes))
    st, _, s = srv.get("/api/v1/mentions/summary?source=stale&sentiment=negative")
    t.eq((st, [g["n"] for g in s["groups"]]), (200, [1]), "summary?sentiment=negative counts it")
    theme = themes[0] if themes else "none"
    st, _, b = srv.get("/api/v1/mentions?source=stale&theme=" + theme)
    t.eq((st, b["total"]), (200, 1), "theme=%s finds it" % theme)

    st, _, b = post(srv, [rec("sa-1", "2026-03-01", source="stale", updated_at="2026-03-02", rating=5)])
    t.eq((st, b.get("updated")), (200, 1), "the edit without a text: updated")
    t.eq(srv.sql("SELECT (SELECT count(*) FROM mention_analysis WHERE mention_id=?1),"
                 " (SELECT count(*) FROM mention_themes WHERE mention_id=?1), text FROM mentions WHERE id=?1", (mid,)),
         [(0, 0, None)], "its analysis and themes are gone with the text")
    st, _, s = srv.get("/api/v1/mentions/summary?source=stale&sentiment=negative")
    t.eq((st, s["groups"]), (200, []), "summary?sentiment=negative no longer counts it")
    st, _, b = srv.get("/api/v1/mentions?source=stale&theme=" + theme)
    t.eq((st, b["total"]), (200, 0), "theme= no longer finds it")
    st, _, m = srv.get("/api/v1/mentions/%d" % mid)
    t.eq((st, m["analysis"], m["rating"]), (200, None, 5.0), "the mention shows no analysis, its new rating")
    st, _, s = srv.get("/api/v1/mentions/summary?source=stale")
    t.eq((st, [(g["n"], g["sentiment"]) for g in s["groups"]]), (200, [(1, None)]),
         "the summary still counts the mention, without a sentiment")


def csv_limits(t, srv):
    """Review H9: POST /mentions takes at most 10,000 records (413 naming data,
    nothing written); a generic CSV's header is judged before its rows."""
    before = count(srv)
    rows = "".join("lim,%d,2026-01-01,%d\n" % (i, i % 5 + 1) for i in range(10001))
    st, _, b = post(srv, {"format": "generic-csv", "data": "source,source_id,created_at,rating\n" + rows})
    t.check(st == 413 and b["error"]["field"] == "data" and "10001 records where at most 10000" in b["error"]["message"],
            "10,001 CSV rows in one request: 413 naming data", ks.got(st, b))
    arr = [rec(str(i), "2026-01-01", source="lim", rating=1) for i in range(10001)]
    st, _, b = post(srv, arr)
    t.check(st == 413 and b["error"]["field"] == "data", "10,001 JSON records in one request: 413 naming data",
            ks.got(st, b))
    st, _, b = post(srv, {"format": "generic-csv", "data": "source,source_id,created_at,stars\n" + rows * 4})
    t.check(st == 422 and b["error"]["field"] == "stars", "a wrong header under 40,004 rows: 422 naming the column",
            ks.got(st, b))
    t.eq(count(srv), before, "nothing written")


def generic_errors(t, srv):
    before = count(srv)
    cases = [
        ([rec("e1", "2026-03-01", text="ok"), rec("e2", "01-03-2026", text="x")], "[1].created_at", "invalid",
         "a bad date names the record index and created_at"),
        ([rec("e1", "2026-02-30", text="x")], "[0].created_at", "invalid", "30 February is no date"),
        ([rec("e1", "2026-03-01", text="x", stars=4)], "[0].stars", "invalid", "an unknown key is named"),
        ([rec("e1", "2026-03-01")], "[0].text", "invalid", "neither text nor rating"),
        ([rec("e1", "2026-03-01", rating=6)], "[0].rating", "out_of_range", "a rating outside its 1..5 scale"),
        ([rec("e1", "2026-03-01", rating=3, scale_min=5, scale_max=5)], "[0].scale_max", "out_of_range",
         "a scale with max not above min"),
        ([{"source": "Bad Source!", "source_id": "1", "created_at": "2026-03-01", "text": "x"}], "[0].source",
         "invalid", "a source outside [a-z0-9_.-]"),
        ([{"source_id": "1", "created_at": "2026-03-01", "text": "x"}], "[0].source", "invalid", "source missing"),
        ([rec("e1", "2026-03-01", rating="vier")], "[0].rating", "invalid", "a rating that is no number"),
        ([rec("e1", "2026-03-01", text=["a"])], "[0].text", "invalid", "a text that is an array"),
        ([rec("e1", "2026-03-01", text="x", language="dutch language")], "[0].language", "invalid",
         "a language that is no ISO code"),
        ({"format": "nope", "data": []}, "format", "invalid", "an unknown format"),
        ({"format": "trustpilot"}, "data", "invalid", "format without data"),
        ({"format": "generic-csv", "data": []}, "data", "invalid", "generic-csv data must be a string"),
        ({"format": "trustpilot", "data": [], "extra": 1}, "extra", "invalid", "an unknown member of the envelope"),
        ({"format": "generic-json", "data": {"source": "x"}}, "data", "invalid", "generic-json data that is no array"),
    ]
    for body, field, code, name in cases:
        t.error(post(srv, body), 422, code, field, name + " -> 422")
    t.eq(count(srv), before, "nothing is written by a batch with any bad record (the good first one neither)")
    big = [rec("b%d" % i, "2026-03-01", text="x" * 1000) for i in range(1100)]
    t.error(post(srv, big), 413, None, None, "a batch over 1 MiB -> 413 (the CLI takes files of any size)")
    t.error(srv.post("/api/v1/mentions", "[{\"source\": "), 400, None, None, "a body that is not JSON -> 400")
    t.error(srv.post("/api/v1/mentions", b'[{"source":"shop","source_id":"x","created_at":"2026-01-01","text":"caf\xe9"}]'),
            400, None, None, "a body in Latin-1 (not UTF-8) -> 400")


# ---- intake: CSV ---------------------------------------------------------------------

def generic_csv(t, srv):
    csv = ("\ufeffsource;source_id;created_at;rating;text;language\r\n"
           "winkel;c1;2026-04-01T09:00:00+02:00;4,5;\"Goed; snel\r\nen fijn\";\r\n"
           "winkel;c2;2026-04-02;;\"Slechte service, ik wacht al weken op antwoord van de helpdesk.\";\r\n"
           "winkel;c3;2026-04-03;1;\"Terrible, the parcel never arrived and support ignored me.\";\r\n"
           "winkel;c1;2026-04-01T09:00:00+02:00;5;\"Goed; snel\r\nen \"\"fijn\"\"\";nl\r\n")
    st, _, b = post(srv, {"format": "generic-csv", "data": csv})
    t.eq((st, b.get("received"), b.get("duplicates"), b.get("inserted")), (200, 4, 1, 3),
         "semicolon CSV with a BOM and CRLF: 4 rows, 1 duplicate id, 3 inserted")
    m = by_source_id(srv, "winkel")
    t.eq(m["c1"]["text"], "Goed; snel\r\nen \"fijn\"", "CR LF inside a quoted field and doubled quotes are kept")
    t.eq((m["c1"]["rating"], m["c1"]["rating10"]), (5.0, 10.0), "the later duplicate row wins (5 of 5 -> 10)")
    t.eq((m["c2"]["rating"], m["c2"]["rating10"]), (None, None), "an empty rating cell is no rating")
    t.eq((m["c2"]["language"], m["c3"]["language"]), ("nl", "en"), "mixed languages: nl and en detected per mention")
    st, _, b = post(srv, {"format": "generic-csv", "data": "source,source_id,created_at,rating\nwinkel,c9,2026-04-01,4.5\n"})
    t.eq((st, b.get("inserted")), (200, 1), "a comma CSV with a decimal point and only a rating column")
    t.error(post(srv, {"format": "generic-csv", "data": "source,source_id,created_at,text,stars\nw,1,2026-04-01,x,4\n"}),
            422, "invalid", "stars", "an unknown CSV column is named")
    t.error(post(srv, {"format": "generic-csv", "data": "source,source_id,text\nw,1,x\n"}),
            422, "invalid", "created_at", "a header without created_at")
    t.error(post(srv, {"format": "generic-csv", "data": "source,source_id,created_at,text\nw,1,2026-04-01,x\nw,2,gisteren,y\n"}),
            422, "invalid", "line 3: created_at", "a bad date in a CSV names line 3 and created_at")
    st, _, b = post(srv, {"format": "generic-csv", "data": "source,source_id,created_at,text\nw,1,2026-04-01\n"})
    t.check(st == 422 and "line 2" in b["error"]["message"], "a row with too few fields names its line",
            ks.got(st, b))
    st, _, b = post(srv, {"format": "generic-csv", "data": "source,source_id,created_at,text\nw,1,2026-04-01,\"open\n"})
    t.check(st == 422 and "line 2" in b["error"]["message"] and "quoted" in b["error"]["message"],
            "an unclosed quote names the line where it opens", ks.got(st, b))


# ---- intake: the vendor formats --------------------------------------------------------

def trustpilot(t, srv):
    doc = {"reviews": [
        {"id": "5f1a2b3c4d5e6f7a8b9c0d1e", "stars": 4, "title": "Prima bezorging",
         "text": "Pakket kwam een dag eerder dan verwacht.", "language": "nl",
         "createdAt": "2026-05-01T08:15:30.123Z", "updatedAt": None,
         "consumer": {"id": "c1", "displayName": "Petra V."}, "location": {"id": "l1", "name": "Amsterdam"},
         "companyReply": {"text": "Dank je wel, Petra!", "createdAt": "2026-05-02T09:00:00Z", "updatedAt": None}},
        {"id": "5f1a2b3c4d5e6f7a8b9c0d1f", "stars": 1, "title": "Never again", "text": "Rude staff.",
         "language": "en", "createdAt": "2026-05-03T10:00:00Z", "updatedAt": "2026-05-04T10:00:00Z",
         "consumer": {"displayName": "Tom"}, "location": None, "companyReply": None},
    ], "links": []}
    st, _, b = post(srv, {"format": "trustpilot", "data": doc})
    t.eq((st, b.get("format"), b.get("inserted")), (200, "trustpilot", 2), "Trustpilot reviews: 2 inserted")
    m = by_source_id(srv, "trustpilot")
    a, c = m["5f1a2b3c4d5e6f7a8b9c0d1e"], m["5f1a2b3c4d5e6f7a8b9c0d1f"]
    t.eq((a["rating"], a["scale_min"], a["scale_max"], a["rating10"], a["author"], a["title"], a["location"]),
         (4.0, 1.0, 5.0, 7.5, "Petra V.", "Prima bezorging", "Amsterdam"),
         "stars 4 of 5, consumer.displayName, title, location.name")
    t.eq((a["created_at"], a["updated_at"], a["url"]),
         ("2026-05-01T08:15:30Z", "2026-05-01T08:15:30Z", "https://www.trustpilot.com/reviews/5f1a2b3c4d5e6f7a8b9c0d1e"),
         "createdAt with milliseconds; updatedAt null -> createdAt; the review's URL")
    t.eq((a["reply"]["text"], a["reply"]["at"]), ("Dank je wel, Petra!", "2026-05-02T09:00:00Z"),
         "companyReply is stored as the recorded reply")
    t.eq((c["rating10"], c["updated_at"], c["reply"]["text"], c["location"]), (0.0, "2026-05-04T10:00:00Z", None, None),
         "1 star -> 0; updatedAt kept; no reply, no location")
    bad = {"reviews": [dict(doc["reviews"][1], id="x1", createdAt="3 mei 2026")]}
    t.error(post(srv, {"format": "trustpilot", "data": bad}), 422, "invalid", "[0].createdAt",
            "a Trustpilot review with a bad createdAt names it")
    t.error(post(srv, {"format": "trustpilot", "data": {"items": []}}), 422, "invalid", "reviews",
            "a Trustpilot document without reviews")


def google(t, srv):
    doc = {"reviews": [
        {"name": "accounts/111/locations/456/reviews/AbC1", "reviewId": "AbC1",
         "reviewer": {"displayName": "Kees", "profilePhotoUrl": "https://x"}, "starRating": "FIVE",
         "comment": "(Translated by Google) Very good\n\n(Original)\nHeel goed",
         "createTime": "2026-06-01T07:00:00.123456789Z", "updateTime": "2026-06-02T07:00:00Z",
         "reviewReply": {"comment": "Bedankt Kees", "updateTime": "2026-06-03T07:00:00Z"}},
        {"name": "accounts/111/locations/789/reviews/XyZ2", "reviewId": "XyZ2",
         "reviewer": {"isAnonymous": True}, "starRating": "STAR_RATING_UNSPECIFIED", "comment": "Geen mening",
         "createTime": "2026-06-04T07:00:00Z", "updateTime": "2026-06-04T07:00:00Z"},
        {"name": "accounts/111/locations/456/reviews/Q3", "reviewId": "Q3", "starRating": "TWO",
         "createTime": "2026-06-05T07:00:00Z", "updateTime": "2026-06-05T07:00:00Z"},
    ], "averageRating": 3.5, "totalReviewCount": 3, "nextPageToken": "t"}
    st, _, b = post(srv, {"format": "google", "data": doc})
    t.eq((st, b.get("inserted")), (200, 3), "Google Business Profile reviews: 3 inserted")
    m = by_source_id(srv, "google")
    t.eq((m["AbC1"]["rating10"], m["AbC1"]["text"], m["AbC1"]["author"], m["AbC1"]["location"]),
         (10.0, "Heel goed", "Kees", "locations/456"),
         "FIVE -> 10; the original of a Google translation; reviewer; the location from the name path")
    t.eq((m["AbC1"]["created_at"], m["AbC1"]["reply"]["text"], m["AbC1"]["reply"]["at"]),
         ("2026-06-01T07:00:00Z", "Bedankt Kees", "2026-06-03T07:00:00Z"), "nanoseconds dropped; reviewReply")
    t.eq((m["XyZ2"]["rating"], m["XyZ2"]["author"]), (None, None), "STAR_RATING_UNSPECIFIED is no rating")
    t.eq((m["Q3"]["rating10"], m["Q3"]["text"]), (2.5, None), "a star rating without a comment is kept (TWO -> 2.5)")
    st, _, b = post(srv, {"format": "google", "data": json.dumps(doc)})
    t.eq((st, b.get("unchanged")), (200, 3), "the same export given as its text (a string) is read the same: 3 unchanged")
    bad = {"reviews": [{"reviewId": "S6", "starRating": "SIX", "createTime": "2026-06-05T07:00:00Z"}]}
    t.error(post(srv, {"format": "google", "data": bad}), 422, "invalid", "[0].starRating", "starRating SIX -> 422")


KIYOH = """<?xml version="1.0" encoding="UTF-8"?>
<reviewFeedDto>
  <locationId>1050000</locationId>
  <locationName>Fietsenwinkel Zwolle</locationName>
  <averageRating>8.4</averageRating>
  <numberReviews>2</numberReviews>
  <reviews>
    <reviews>
      <reviewId>2f6c7c5e-0000-4000-8000-000000000001</reviewId>
      <reviewAuthor>Anja</reviewAuthor>
      <city>Zwolle</city>
      <rating>8</rating>
      <reviewContent>
        <reviewContent><questionGroup>DEFAULT_OVERALL</questionGroup><questionType>INT</questionType><rating>8</rating><order>0</order></reviewContent>
        <reviewContent><questionGroup>DEFAULT_ONELINER</questionGroup><questionType>TEXT</questionType><rating>Snelle reparatie</rating><order>1</order></reviewContent>
        <reviewContent><questionGroup>DEFAULT_OPINION</questionGroup><questionType>TEXT</questionType><rating>Binnen een uur klaar &amp; netjes uitgelegd.</rating><order>2</order></reviewContent>
        <reviewContent><questionGroup>DEFAULT_RECOMMEND</questionGroup><questionType>BOOLEAN</questionType><rating>true</rating><order>3</order></reviewContent>
      </reviewContent>
      <dateSince>2026-07-01T14:30:00.000+02:00</dateSince>
      <updatedSince>2026-07-01T14:35:00.000+02:00</updatedSince>
      <referenceCode/>
      <reviewLanguage>nl</reviewLanguage>
      <comment>Dank voor uw review!</comment>
    </reviews>
    <reviews>
      <reviewId>2f6c7c5e-0000-4000-8000-000000000002</reviewId>
      <reviewAuthor>Bert</reviewAuthor>
      <reviewContent>
        <reviewContent><questionGroup>DEFAULT_OVERALL</questionGroup><questionType>INT</questionType><rating>6</rating></reviewContent>
      </reviewContent>
      <dateSince>2026-07-02T10:00:00.000+02:00</dateSince>
    </reviews>
  </reviews>
</reviewFeedDto>
"""


def kiyoh(t, srv):
    st, _, b = post(srv, {"format": "kiyoh", "data": KIYOH})
    t.eq((st, b.get("inserted")), (200, 2), "a Kiyoh feed (XML): 2 reviews inserted")
    m = by_source_id(srv, "kiyoh")
    a = m["2f6c7c5e-0000-4000-8000-000000000001"]
    z = m["2f6c7c5e-0000-4000-8000-000000000002"]
    t.eq((a["rating"], a["scale_min"], a["scale_max"], a["title"], a["text"], a["author"], a["location"]),
         (8.0, 1.0, 10.0, "Snelle reparatie", "Binnen een uur klaar & netjes uitgelegd.", "Anja",
          "Fietsenwinkel Zwolle"),
         "score 8 on 1..10, the one-liner as title, the opinion as text, author, location name")
    t.near(a["rating10"], (8 - 1) / 9 * 10, 1e-9, "Kiyoh 8 of 1..10 -> 70/9")
    t.eq((a["created_at"], a["updated_at"], a["reply"]["text"]),
         ("2026-07-01T12:30:00Z", "2026-07-01T12:35:00Z", "Dank voor uw review!"),
         "dateSince/updatedSince with +02:00 in UTC; the company's comment as the reply")
    t.near(z["rating10"], (6 - 1) / 9 * 10, 1e-9, "no <rating>: the DEFAULT_OVERALL answer (6) is the score")
    st, _, b = post(srv, {"format": "kiyoh", "data": KIYOH.replace("</reviews>\n  </reviews>", "</reviews>\n")})
    t.check(st == 422 and "line" in b["error"]["message"], "malformed XML -> 422 naming a line", ks.got(st, b))
    st, _, b = post(srv, {"format": "kiyoh", "data": KIYOH.replace("2026-07-02T10:00:00.000+02:00", "gisteren")})
    t.check(st == 422 and b["error"]["field"].endswith("dateSince") and b["error"]["field"].startswith("line "),
            "a bad dateSince names the review's line and dateSince", ks.got(st, b))


def vm_hwm_kb(srv):
    with open("/proc/%d/status" % srv.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise ks.FixtureError("no VmHWM")


def kiyoh_bomb(t, srv):
    """An internal entity of 100,000 bytes used 3,000 times (a 300 MB text from
    a 300 KB body) is refused at its DOCTYPE: quickly, 422 naming data and the
    line, the server's peak memory about where it was (review H9)."""
    doc = ('<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY a "' + "A" * 100000 + '">]>\n<r><review>'
           "<reviewId>1</reviewId><rating>8</rating><dateSince>2026-01-01</dateSince><reviewContent>"
           "<reviewContent><questionGroup>DEFAULT_OPINION</questionGroup><rating>" + "&a;" * 3000 +
           "</rating></reviewContent></reviewContent></review></r>\n")
    before = vm_hwm_kb(srv)
    t0 = time.monotonic()
    st, _, b = srv.post("/api/v1/mentions", {"format": "kiyoh", "data": doc}, timeout=20)
    took = time.monotonic() - t0
    t.check(st == 422 and b["error"]["field"] == "data" and b["error"]["message"].startswith("line 2: ")
            and "DOCTYPE" in b["error"]["message"], "an entity bomb: 422 naming data and line 2", ks.got(st, b))
    t.check(took < 3, "refused in under 3 s", "%.1f s" % took)
    grew = vm_hwm_kb(srv) - before
    t.check(grew < 40000, "the server's peak memory grew by less than 40 MB", "%d kB" % grew)
    st, _, b = srv.post("/api/v1/mentions", {"format": "kiyoh", "data":
                        '<!DOCTYPE r SYSTEM "file:///etc/passwd">\n<r><x>&e;</x></r>'})
    t.check(st == 422 and b["error"]["field"] == "data" and "DOCTYPE" in b["error"]["message"],
            "an external DTD is refused too", ks.got(st, b))
    t.eq(len(by_source_id(srv, "kiyoh")), 2, "nothing stored from either (the 2 of kiyoh() stay)")


def appstore(t, srv):
    doc = {"data": [
        {"type": "customerReviews", "id": "00000001-aaaa",
         "attributes": {"rating": 2, "title": "Crasht", "body": "De app crasht bij het inloggen.",
                        "reviewerNickname": "fiets123", "createdDate": "2026-08-01T10:00:00-07:00",
                        "territory": "NLD"},
         "relationships": {"response": {"data": {"type": "customerReviewResponses", "id": "r-1"}}}},
        {"type": "customerReviews", "id": "00000002-bbbb",
         "attributes": {"rating": 5, "title": "Great", "body": "Works great.", "reviewerNickname": "joe",
                        "createdDate": "2026-08-02T10:00:00Z", "territory": "USA"},
         "relationships": {"response": {"data": None}}},
    ], "included": [{"type": "customerReviewResponses", "id": "r-1",
                     "attributes": {"responseBody": "Opgelost in 2.1", "lastModifiedDate": "2026-08-03T10:00:00Z",
                                    "state": "PUBLISHED"}}],
        "links": {"self": "https://api.appstoreconnect.apple.com/v1/apps/1/customerReviews"}}
    st, _, b = post(srv, {"format": "appstore", "data": doc})
    t.eq((st, b.get("inserted")), (200, 2), "App Store Connect customerReviews: 2 inserted")
    m = by_source_id(srv, "appstore")
    a = m["00000001-aaaa"]
    t.eq((a["rating10"], a["title"], a["text"], a["author"], a["location"], a["created_at"]),
         (2.5, "Crasht", "De app crasht bij het inloggen.", "fiets123", "NLD", "2026-08-01T17:00:00Z"),
         "rating 2 of 5, title, body, nickname, territory as location, -07:00 in UTC")
    t.eq((a["reply"]["text"], a["reply"]["at"], m["00000002-bbbb"]["reply"]["text"]),
         ("Opgelost in 2.1", "2026-08-03T10:00:00Z", None), "the developer response from 'included'")
    t.error(post(srv, {"format": "appstore", "data": {"data": [{"type": "customerReviews", "id": "z"}]}}),
            422, "invalid", "[0].attributes", "a review without attributes")


def social(t, srv):
    doc = {"posts": [
        {"id": 1789, "platform": "X", "author": "@klant_anna", "text": "Wachten op de monteur, al 3 uur. Waardeloos.",
         "time": "2026-09-01T12:00:00Z", "url": "https://x.example/status/1789"},
        {"id": "fb_22", "platform": "facebook", "user": {"name": "Bob B."},
         "message": "Thanks for the quick fix today!", "created_at": "2026-09-02T08:00:00+00:00"},
    ]}
    st, _, b = post(srv, {"format": "social", "data": doc})
    t.eq((st, b.get("inserted")), (200, 2), "a social-media export: 2 posts inserted")
    m = by_source_id(srv, "social")
    x = m["x:1789"]
    t.eq((x["author"], x["url"], x["rating"], x["language"]),
         ("@klant_anna", "https://x.example/status/1789", None, "nl"),
         "a post: numeric id with its platform as source_id, author, url, no rating, language detected")
    t.eq((m["facebook:fb_22"]["author"], m["facebook:fb_22"]["text"]), ("Bob B.", "Thanks for the quick fix today!"),
         "user.name and message are the author and text")
    t.error(post(srv, {"format": "social", "data": {"posts": [{"id": 3, "text": "x"}]}}), 422, "invalid",
            "[0].time", "a post without a time")


# ---- reading ----------------------------------------------------------------------------

def listing(t, srv):
    st, _, b = srv.get("/api/v1/mentions?source=shop&limit=2")
    total = srv.sql("SELECT count(*) FROM mentions WHERE source='shop'")[0][0]
    want = [r[0] for r in srv.sql("SELECT id FROM mentions WHERE source='shop' ORDER BY created_at DESC, id DESC")]
    t.eq((st, b["total"], [m["id"] for m in b["items"]]), (200, total, want[:2]),
         "list: newest first, limit 2, total of the filter")
    st, _, b2 = srv.get("/api/v1/mentions?source=shop&limit=2&offset=2")
    t.eq([m["id"] for m in b2["items"]], want[2:4], "offset pages on")
    st, _, b = srv.get("/api/v1/mentions?rated=true&source=shop")
    t.eq(sorted(m["source_id"] for m in b["items"]),
         sorted(r[0] for r in srv.sql("SELECT source_id FROM mentions WHERE source='shop' AND rating10 IS NOT NULL")),
         "rated=true: only mentions with a rating")
    st, _, b = srv.get("/api/v1/mentions?q=DELIVERED")
    t.eq(sorted(m["source_id"] for m in b["items"]), ["g3"], "q matches title/text/author without case")
    st, _, b = srv.get("/api/v1/mentions?sentiment=negative&source=winkel")
    want = sorted(r[0] for r in srv.sql("SELECT m.source_id FROM mentions m JOIN mention_analysis a ON a.mention_id = m.id"
                                        " WHERE m.source='winkel' AND a.label='negative'"))
    t.check(st == 200 and sorted(m["source_id"] for m in b["items"]) == want and want,
            "sentiment=negative filters by the analysis", ks.got(st, b))
    theme = srv.sql("SELECT theme FROM mention_themes GROUP BY theme ORDER BY count(*) DESC LIMIT 1")
    if theme:
        st, _, b = srv.get("/api/v1/mentions?limit=500&theme=" + theme[0][0])
        want = srv.sql("SELECT count(DISTINCT mention_id) FROM mention_themes WHERE theme=?", (theme[0][0],))[0][0]
        t.eq((st, b["total"]), (200, want), "theme= filters by the mention's themes")
    st, _, b = srv.get("/api/v1/mentions?from=2026-05-01&to=2026-06-01&limit=500")
    want = srv.sql("SELECT count(*) FROM mentions WHERE created_at >= ? AND created_at < ?",
                   (ks.parse_iso("2026-04-30T22:00:00Z"), ks.parse_iso("2026-05-31T22:00:00Z")))[0][0]
    t.eq((st, b["total"]), (200, want), "from/to are local days (Europe/Amsterdam)")
    t.error(srv.get("/api/v1/mentions?sentiment=angry"), 422, "invalid", "sentiment", "an unknown sentiment")
    t.error(srv.get("/api/v1/mentions?limit=0"), 422, "out_of_range", "limit", "limit 0")
    t.error(srv.get("/api/v1/mentions?stars=4"), 422, None, "stars", "an unknown parameter is named")
    st, _, b = srv.get("/api/v1/mentions/999999")
    t.eq(st, 404, "an unknown mention -> 404")


def summary(t, srv):
    # a source of its own with known ratings: 8 rated on 1..5, 2 without
    stars = [5, 4, 4, 3, 5, 1, 2, 5]
    # six of the rated ones with a text, so that the sentiment has enough
    # analysed mentions (8 with t1, t2) to be shown (review H9)
    texts = ["Fantastisch, super snel en vriendelijk geholpen!", "Heel goed geholpen, prima service.",
             "Goede service en snelle levering.", "Het was een ramp, slecht en traag.",
             "Uitstekend, echt top, aanrader!", "Verschrikkelijk slecht, nooit meer, boos en teleurgesteld."]
    batch = [rec("s%d" % i, "2026-10-%02dT10:00:00Z" % (i + 1), rating=s, text=None) for i, s in enumerate(stars)]
    for i, r in enumerate(batch):
        r["source"] = "stat"
        if i < len(texts):
            r["text"] = texts[i]
        else:
            del r["text"]
    batch += [{"source": "stat", "source_id": "t1", "created_at": "2026-10-20T10:00:00Z", "text": "Heel slecht"},
              {"source": "stat", "source_id": "t2", "created_at": "2026-10-31T23:30:00Z",  # 1 Nov local
               "text": "Fantastisch goed geholpen"}]
    st, _, b = post(srv, batch)
    t.eq((st, b.get("inserted")), (200, 10), "10 mentions for the summary")
    st, _, s = srv.get("/api/v1/mentions/summary?source=stat")
    t.eq((st, s["group_by"], len(s["groups"]), s["min_n"]), (200, "total", 1, 5), "without group_by: one group")
    g = s["groups"][0]
    r10 = [(x - 1) / 4 * 10 for x in stars]
    mean, low, high = mean_ci(r10)
    t.eq((g["n"], g["n_rated"]), (10, 8), "n counts every mention, n_rated the rated ones")
    t.near(g["rating10"]["mean"], mean, 1e-9, "average rating10 = mean of (stars-1)/4*10")
    t.near(g["rating10"]["low"], low, 1e-6, "its 95% t-interval, low end (t(0.975, 7) computed here)")
    t.near(g["rating10"]["high"], high, 1e-6, "its 95% t-interval, high end")
    k = sum(1 for x in r10 if x >= 7.5)
    p, wl, wh = wilson(k, len(r10))
    t.eq(g["share_4_5"]["k"], 5, "4-5 stars: 5 of 8")
    t.near(g["share_4_5"]["p"], p, 1e-12, "share of 4-5 stars")
    t.near(g["share_4_5"]["low"], wl, 1e-9, "Wilson interval, low end")
    t.near(g["share_4_5"]["high"], wh, 1e-9, "Wilson interval, high end")
    t.check("nps" not in g and "nps" not in json.dumps(s), "never an NPS in the summary")
    labels = dict(srv.sql("SELECT a.label, count(*) FROM mention_analysis a JOIN mentions m ON m.id = a.mention_id"
                          " WHERE m.source='stat' GROUP BY a.label"))
    na = sum(labels.values())
    t.eq(na, 8, "the 8 texts are analysed (counted in the table)")
    t.check(labels.get("positive", 0) >= 2 and labels.get("negative", 0) >= 2,
            "both positive and negative among them (so the shares differ)", labels)
    sent = g["sentiment"] or {}
    t.eq((sent.get("n"), g["hidden"]), (na, []), "sentiment over the 8 analysed mentions, shown (>= min_n 5)")
    for label in ("positive", "neutral", "negative"):
        t.near(sent.get(label, -1), labels.get(label, 0) / na, 1e-12,
               "sentiment share %s = %d of %d (counted in the table)" % (label, labels.get(label, 0), na))
    st, _, s = srv.get("/api/v1/mentions/summary?source=stat&group_by=month")
    months = {x["key"]: x for x in s["groups"]}
    t.eq(sorted(months), ["2026-10", "2026-11"], "group_by=month in local months (23:30Z on 31 Oct is November)")
    t.eq((months["2026-11"]["n"], months["2026-11"]["rating10"], months["2026-11"]["hidden"]), (1, None, ["sentiment"]),
         "a month with one unrated mention: n 1, no rating (nothing to hide), its one sentiment hidden")
    st, _, s = srv.get("/api/v1/mentions/summary?group_by=source")
    small = {x["key"]: x for x in s["groups"]}["trustpilot"]
    t.eq((small["n_rated"], small["rating10"], small["share_4_5"], "rating10" in small["hidden"]), (2, None, None, True),
         "a group with 2 ratings (< min_n 5) hides its average and share, and says so")
    ns = [x["n"] for x in s["groups"]]
    t.eq(ns, sorted(ns, reverse=True), "groups by n, largest first")
    t.error(srv.get("/api/v1/mentions/summary?group_by=stars"), 422, "invalid", "group_by", "an unknown group_by")


def reply(t, srv, f):
    mid = by_source_id(srv, "shop")["g1"]["id"]
    st, _, m = srv.request("PUT", "/api/v1/mentions/%d/reply" % mid, {"draft": "Dank je, Jan!"})
    t.eq((st, m["reply"]["draft"], m["reply"]["text"]), (200, "Dank je, Jan!", None), "a reply draft is kept")
    st, _, me = srv.get("/api/v1/auth/me")
    st, _, m = srv.request("PUT", "/api/v1/mentions/%d/reply" % mid, {"text": "Dank je wel, Jan!", "recorded": True})
    t.eq((st, m["reply"]["text"], m["reply"]["draft"], m["reply"]["by"]), (200, "Dank je wel, Jan!", None, me["user"]["id"]),
         "recording the reply: its text, by the caller, the draft cleared")
    t.check(ks.iso_ok(m["reply"]["at"]), "the recorded reply has a time", m["reply"])
    t.eq(srv.sql("SELECT count(*) FROM audit_log WHERE action='mention.reply' AND object_id=?", (mid,))[0][0], 1,
         "an audit entry mention.reply")
    for body, field, name in (({"text": "x"}, "recorded", "a text without recorded"),
                              ({"recorded": True}, "text", "recorded without a text"),
                              ({"draft": "a", "text": "b", "recorded": True}, "draft", "a draft and a text"),
                              ({"draft": 5}, "draft", "a draft that is a number"),
                              ({"draft": "a", "note": 1}, "note", "an unknown member")):
        t.error(srv.request("PUT", "/api/v1/mentions/%d/reply" % mid, body), 422, "invalid", field, name + " -> 422")
    t.error(srv.request("PUT", "/api/v1/mentions/999999/reply", {"draft": "x"}), 404, None, None, "reply to an unknown mention")
    # a later import without a reply keeps the recorded one
    st, _, b = post(srv, [rec("g1", "2026-03-01T10:00:00+01:00", updated_at="2026-03-09", rating=5,
                              text="Snel en vriendelijk geholpen, echt top.", location="Utrecht")])
    g1 = by_source_id(srv, "shop")["g1"]
    t.eq((g1["reply"]["text"], g1["rating"], g1["customer_id"]), ("Dank je wel, Jan!", 5.0, f["cust_nl"]["id"]),
         "an edit from the source without a reply or customer keeps the reply recorded here and the customer link")


def locations(t, srv, f):
    team = f["team"]["id"]
    n_utrecht = srv.sql("SELECT count(*) FROM mentions WHERE location='Utrecht'")[0][0]
    st, _, b = srv.request("PUT", "/api/v1/mention-locations", {"location": "Utrecht", "unit_id": team})
    t.eq((st, b), (200, {"location": "Utrecht", "unit_id": team, "relinked": n_utrecht}),
         "mapping a location links its stored mentions (relinked = their number)")
    g1 = by_source_id(srv, "shop")["g1"]
    t.eq(g1["unit"], {"id": team, "name": f["team"]["name"]}, "the mention shows its unit")
    st, _, b = post(srv, [rec("u2", "2026-03-10", text="Prima winkel", location="Utrecht")])
    t.eq(by_source_id(srv, "shop")["u2"]["unit"]["id"], team, "a new mention of a mapped location gets its unit on write")
    st, _, b = srv.get("/api/v1/mention-locations")
    items = {x["location"]: x for x in b["items"]}
    t.eq(items.get("Utrecht"), {"location": "Utrecht", "unit_id": team, "unit_name": f["team"]["name"],
                                "mentions": n_utrecht + 1}, "GET lists the mapping with its mentions")
    t.eq(items.get("Amsterdam", {}).get("unit_id", "absent"), None, "a location mentions name but not mapped: unit_id null")
    t.error(srv.request("PUT", "/api/v1/mention-locations", {"location": "Delft", "unit_id": 999999}), 422,
            "unknown_reference", "unit_id", "an unknown unit")
    t.error(srv.request("PUT", "/api/v1/mention-locations", {"location": "", "unit_id": team}), 422, "invalid",
            "location", "an empty location")
    st, _, b = srv.request("PUT", "/api/v1/mention-locations", {"location": "Delft", "unit_id": team})
    st, _, b = srv.request("DELETE", "/api/v1/mention-locations?location=Delft")
    t.eq((st, b), (200, {"location": "Delft", "relinked": 0}), "DELETE a mapping")
    t.error(srv.request("DELETE", "/api/v1/mention-locations?location=Delft"), 404, None, None, "DELETE it again -> 404")
    st, _, b = srv.request("PUT", "/api/v1/mention-locations", {"location": "Amsterdam", "unit_id": f["dept"]["id"]})
    t.eq((st, b["relinked"]), (200, srv.sql("SELECT count(*) FROM mentions WHERE location='Amsterdam'")[0][0]),
         "Amsterdam mapped to the department")
    st, _, s = srv.get("/api/v1/mentions/summary?group_by=unit")
    keys = {x["key"]: x["n"] for x in s["groups"]}
    t.eq(keys.get(team), n_utrecht + 1, "summary by unit: the team's mentions")
    t.eq(keys.get(0), srv.sql("SELECT count(*) FROM mentions WHERE unit_id IS NULL")[0][0], "unit key 0: not linked")


def roles(t, srv, f):
    team, dept = f["team"]["id"], f["dept"]["id"]
    other = srv.create("teams", {"name": ks.uniq("Zuid"), "kind": "team", "parent_id": dept})["id"]
    lead = user(srv, "team_lead", unit_id=team)
    manager = user(srv, "manager", unit_id=dept)
    director = user(srv, "director")
    employee = user(srv, "employee", employee_id=f["emp1"]["id"])
    in_team = srv.sql("SELECT count(*) FROM mentions WHERE unit_id = ?", (team,))[0][0]
    in_dept = srv.sql("SELECT count(*) FROM mentions WHERE unit_id IN (?, ?)", (team, dept))[0][0]
    st, _, b = srv.get("/api/v1/mentions?limit=500", headers=lead)
    t.eq((st, b["total"]), (200, in_team), "a team lead sees the mentions of their team only")
    t.check(all(m["customer_id"] is None for m in b["items"]), "a team lead gets no customer_id")
    st, _, b = srv.get("/api/v1/mentions?limit=500", headers=manager)
    t.eq((st, b["total"]), (200, in_dept), "a manager sees their department and the teams below")
    st, _, b = srv.get("/api/v1/mentions?limit=1", headers=director)
    t.eq((st, b["total"]), (200, count(srv)), "a director sees all mentions")
    t.error(srv.get("/api/v1/mentions?unit_id=%d" % other, headers=lead), 403, "forbidden", "unit_id",
            "a team lead asking for another team -> 403")
    t.error(srv.get("/api/v1/mentions?customer_id=%d" % f["cust_nl"]["id"], headers=lead), 403, "forbidden",
            "customer_id", "a team lead filtering by customer -> 403")
    unlinked = srv.sql("SELECT id FROM mentions WHERE unit_id IS NULL LIMIT 1")[0][0]
    linked = srv.sql("SELECT id FROM mentions WHERE unit_id = ? LIMIT 1", (team,))[0][0]
    t.status(srv.get("/api/v1/mentions/%d" % linked, headers=lead), 200, "a team lead reads a mention of their team")
    t.error(srv.get("/api/v1/mentions/%d" % unlinked, headers=lead), 403, "forbidden", None,
            "a team lead reading a mention of no unit -> 403")
    t.check(in_team >= 2, "the team has mentions to scope (fixture)", in_team)
    st, _, s = srv.get("/api/v1/mentions/summary", headers=lead)
    t.eq((st, [g["n"] for g in s["groups"]]), (200, [in_team]), "the summary is scoped the same way: one group of the team's n")
    st, _, s = srv.get("/api/v1/mentions/summary", headers=manager)
    t.eq((st, [g["n"] for g in s["groups"]]), (200, [in_dept]), "a manager's summary: the department's n")
    st, _, s = srv.get("/api/v1/mentions/summary", headers=director)
    t.eq((st, [g["n"] for g in s["groups"]]), (200, [count(srv)]), "a director's summary: every mention")
    t.error(srv.get("/api/v1/mentions", headers=employee), 403, "forbidden", None, "an employee -> 403")
    t.error(srv.post("/api/v1/mentions", [rec("r1", "2026-01-01", text="x")], headers=director), 403, "forbidden",
            None, "a director may not write mentions")
    t.error(srv.request("PUT", "/api/v1/mentions/%d/reply" % linked, {"draft": "x"}, headers=lead), 403, "forbidden",
            None, "a team lead may not record replies")
    t.error(srv.get("/api/v1/mention-locations", headers=lead), 403, "forbidden", None,
            "a team lead may not read the location mapping")
    t.error(srv.get("/api/v1/mentions", auth=False), 401, "unauthenticated", None, "no credentials -> 401")


def timeline(t, srv, f):
    cid = f["cust_nl"]["id"]
    st, _, b = srv.get("/api/v1/customers/%d/timeline?limit=200" % cid)
    items = [x for x in b.get("items", []) if x["kind"] == "mention"]
    want = srv.sql("SELECT id, source, rating, scale_max FROM mentions WHERE customer_id = ?", (cid,))
    posted = [x for x in items if x["event"] == "posted"]
    t.eq(sorted(x["id"] for x in posted), sorted(r[0] for r in want), "the customer's mentions are in their timeline")
    g1 = [x for x in posted if x["source"] == "shop"][0]
    t.eq((g1["summary"], g1["rating"], g1["rating10"], g1["link"]), ("shop \u00b7 5/5", 5.0, 10.0, "#/mention/%d" % g1["id"]),
         "a mention item: source and rating in the summary, rating10, its link")
    replied = [x for x in items if x["event"] == "replied"]
    t.eq([x["text"] for x in replied], ["Dank je wel, Jan!"], "the recorded reply is an item of its own")


def late_customer(t, srv):
    """issue 16 H7: a mention naming a customer not known yet is linked when
    that customer arrives — created through the API or imported — and shows
    in their timeline; erased, the id it named goes with the link."""
    ext = "LATE-" + ks.uniq("c")
    st, _, b = post(srv, [rec("late1", "2026-03-21T09:00:00Z", text="Snel geholpen", rating="4",
                              customer_external_id=ext)])
    t.check(st == 200 and b.get("inserted") == 1, "a mention naming an unknown customer is stored", ks.got(st, b))
    mid = by_source_id(srv, "shop")["late1"]["id"]
    st, _, m = srv.get("/api/v1/mentions/%d" % mid)
    t.eq((st, m.get("customer_id")), (200, None), "not linked while the customer is unknown")
    cust = srv.create("customers", {"external_id": ext, "name": "Late Klant", "language": "nl"})
    st, _, m = srv.get("/api/v1/mentions/%d" % mid)
    t.eq((st, m.get("customer_id")), (200, cust["id"]), "POST /customers with that external id links the mention")
    st, _, tl = srv.get("/api/v1/customers/%d/timeline?limit=50" % cust["id"])
    t.eq([x.get("id") for x in tl.get("items", []) if x.get("kind") == "mention" and x.get("event") == "posted"], [mid],
         "the mention is in the new customer's timeline")
    # a second one, linked by the internal data import (another way in)
    ext2 = "LATE-" + ks.uniq("i")
    post(srv, [rec("late2", "2026-03-22T09:00:00Z", text="Netjes", customer_external_id=ext2)])
    st, _, b = srv.post("/api/v1/import/customers", [{"external_id": ext2, "name": "Import Klant"}])
    t.check(st in (200, 201), "the customer imported through POST /import/customers", ks.got(st, b))
    got = srv.sql("SELECT m.customer_id = c.id FROM mentions m JOIN customers c ON c.external_id = ?"
                  " WHERE m.source = 'shop' AND m.source_id = 'late2'", (ext2,))
    t.eq(got, [(1,)], "an imported customer links the mention that named them")
    # a mention of a known customer that names nobody keeps the link; the
    # erasure drops the named id, so the same id used again links nothing
    st, _, b = srv.post("/api/v1/customers/%d/erase" % cust["id"], {"confirm": True})
    t.status((st, None, b), 200, "erase the late customer")
    t.eq(srv.sql("SELECT customer_id, customer_external_id FROM mentions WHERE source = 'shop' AND source_id = 'late1'"),
         [(None, None)], "erasure: the link and the external id the mention named are gone")
    again = srv.create("customers", {"external_id": ext, "name": "Nieuwe Klant", "language": "nl"})
    st, _, m = srv.get("/api/v1/mentions/%d" % mid)
    t.eq((st, m.get("customer_id")), (200, None), "a new customer with the erased one's id is not linked to the review")
    t.check(again["id"] != cust["id"], "fixture: a new customer", again)


def gdpr(t, srv, f):
    cid = f["cust_nl"]["id"]
    st, _, b = srv.get("/api/v1/customers/%d/export" % cid)
    t.eq((st, [m["source_id"] for m in b.get("mentions", [])]), (200, ["g1"]),
         "the GDPR export of a customer holds their linked mentions")
    st, _, b = srv.post("/api/v1/customers/%d/erase" % cid, {"confirm": True})
    t.status((st, None, b), 200, "erase the customer")
    t.eq(srv.sql("SELECT customer_id, author, text IS NOT NULL FROM mentions WHERE source='shop' AND source_id='g1'"),
         [(None, None, 1)], "erasure unlinks the review and drops its author's name; the public text stays")
    # review H9: the next import of the review (newer, with the author and
    # the customer's id) does not undo the erasure
    ext = f["cust_nl"]["external_id"]
    st, _, b = post(srv, [rec("g1", "2026-03-01T10:00:00+01:00", updated_at="2026-04-01", rating=5,
                              text="Snel en vriendelijk geholpen, echt top. Aangepast.", author="Jan",
                              customer_external_id=ext)])
    t.eq((st, b.get("updated")), (200, 1), "a newer copy of the erased customer's review: updated")
    t.eq(srv.sql("SELECT customer_id, author, customer_external_id, text, erased_at IS NOT NULL FROM mentions"
                 " WHERE source='shop' AND source_id='g1'"),
         [(None, None, None, "Snel en vriendelijk geholpen, echt top. Aangepast.", 1)],
         "its new text is taken; author, customer link and the named id stay erased (marked erased_at)")
    again = srv.create("customers", {"external_id": ext, "name": "Nieuwe klant", "language": "nl"})
    t.eq(srv.sql("SELECT customer_id, author FROM mentions WHERE source='shop' AND source_id='g1'"), [(None, None)],
         "a new customer with the erased one's external id is not linked to it (id %s)" % again.get("id"))
    st, _, b = post(srv, [rec("g1", "2026-03-01T10:00:00+01:00", updated_at="2026-04-02", rating=5, text="Weer",
                              author="Jan", customer_external_id=ext)])
    t.eq(srv.sql("SELECT customer_id, author FROM mentions WHERE source='shop' AND source_id='g1'"), [(None, None)],
         "nor by a copy naming that id once the customer exists")
    # a review naming the tombstone's own id ('erased-<id>') is linked to no
    # one: not when posted after the erasure, nor by an erasure renaming a
    # customer to the id a waiting review names
    tomb = "erased-%d" % cid
    st, _, b = post(srv, [rec("g-tomb", "2026-03-05T10:00:00+01:00", rating=2, text="Over de verwijderde klant.",
                              customer_external_id=tomb)])
    t.eq(srv.sql("SELECT customer_id FROM mentions WHERE source='shop' AND source_id='g-tomb'"), [(None,)],
         "a review naming the erased customer's tombstone id is not linked to it")
    other = srv.create("customers", {"external_id": "tomb-next", "name": "Nog een klant", "language": "nl"})
    st, _, b = post(srv, [rec("g-tomb2", "2026-03-05T11:00:00+01:00", rating=2, text="Wacht op een klant.",
                              customer_external_id="erased-%d" % other["id"])])
    st, _, b = srv.post("/api/v1/customers/%d/erase" % other["id"], {"confirm": True})
    t.status((st, None, b), 200, "erase a second customer")
    t.eq(srv.sql("SELECT customer_id FROM mentions WHERE source='shop' AND source_id='g-tomb2'"), [(None,)],
         "an erasure's rename does not link a waiting review that names the new tombstone id")


def reanalysis(t, srv):
    """A taxonomy change's reanalysis job covers the mentions too."""
    import time
    st, _, b = post(srv, [rec("ra1", "2026-03-20", text="De fietsbel was kapot bij aflevering.")])
    mid = by_source_id(srv, "shop")["ra1"]["id"]
    t.eq(srv.sql("SELECT count(*) FROM mention_themes WHERE mention_id = ? AND theme = 'bikebell'", (mid,))[0][0], 0,
         "before the new theme: the mention has no theme bikebell")
    time.sleep(1.1)
    st, _, b = srv.post("/api/v1/text/taxonomy/themes", {"id": "bikebell", "label": {"nl": "Fietsbel", "en": "Bike bell"},
                                                         "terms": {"nl": ["fietsbel"]}})
    t.check(st in (200, 201), "a theme added to the taxonomy", ks.got(st, b))
    found = 0
    for _ in range(100):
        found = srv.sql("SELECT count(*) FROM mention_themes WHERE mention_id = ? AND theme = 'bikebell'", (mid,))[0][0]
        if found:
            break
        time.sleep(0.2)
    t.eq(found, 1, "after the reanalysis job the stored mention has the new theme")


def reanalysis_error(t, srv):
    """Review H9: a database error in the mentions' part of `klantstem text
    reanalyze` is the command's error (exit 1, the message), and the batch's
    strings are freed (no leak report from the sanitizer)."""
    con = ks.db_connect(srv.db)
    if ks.is_pg_uri(srv.db):
        con.execute("CREATE FUNCTION h9_boom() RETURNS trigger LANGUAGE plpgsql AS"
                    " $f$BEGIN RAISE EXCEPTION 'h9 boom'; END$f$")
        con.execute("CREATE TRIGGER h9_boom BEFORE INSERT ON mention_analysis FOR EACH ROW EXECUTE FUNCTION h9_boom()")
    else:
        con.execute("CREATE TRIGGER h9_boom BEFORE INSERT ON mention_analysis BEGIN SELECT RAISE(ABORT, 'h9 boom'); END")
    con.commit()
    try:
        rc, out, err = ks.run_cli(["text", "reanalyze", "--db", srv.db], timeout=300)
    finally:
        con.execute("DROP TRIGGER h9_boom" + (" ON mention_analysis" if ks.is_pg_uri(srv.db) else ""))
        if ks.is_pg_uri(srv.db):
            con.execute("DROP FUNCTION h9_boom()")
        con.commit()
        con.close()
    t.check(rc == 1 and "h9 boom" in err, "the mentions' database error: exit 1 with its message", (rc, err[-2000:]))
    rep = ks.sanitizer_report(err)
    t.check(not rep, "no sanitizer report (the failed batch's strings are freed)", (rep or "")[-3000:])


def never_nps(t, srv):
    st, _, b = srv.get("/api/v1/metrics")
    t.eq((st, b.get("n")), (200, 0), "mentions never count in the survey figures (/metrics n stays 0)")


def main(t, srv):
    f = ks.base_fixture(srv)
    generic(t, srv, f)
    generic_errors(t, srv)
    csv_limits(t, srv)
    generic_csv(t, srv)
    trustpilot(t, srv)
    google(t, srv)
    kiyoh(t, srv)
    kiyoh_bomb(t, srv)
    appstore(t, srv)
    social(t, srv)
    listing(t, srv)
    summary(t, srv)
    reply(t, srv, f)
    locations(t, srv, f)
    roles(t, srv, f)
    timeline(t, srv, f)
    never_nps(t, srv)
    reanalysis(t, srv)
    late_customer(t, srv)
    gdpr(t, srv, f)
    same_time(t, srv)  # after the figures: its mentions would change them
    stale_analysis(t, srv)
    reanalysis_error(t, srv)


if __name__ == "__main__":
    ks.run(main)
