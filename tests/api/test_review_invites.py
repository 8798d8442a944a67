#!/usr/bin/python3
"""Review invitations (issue 16 H3; docs/API.md "Review invitations").

After a survey answer with NPS >= the minimum (default 9) by a customer with an
e-mail address who has not opted out, and at most once per customer in
interval_days, the thank-you page links /r/{token}; the link counts its first
click and redirects (303) to the review page on every click. The settings are
off by default, the page must be https (422 naming the field otherwise). The
counts: invited, clicked, and wrote (a mention of the same customer created at
or after the invitation), with Wilson 95 % intervals computed here."""

import json
import math
import os
import re
import sqlite3
import sys
import threading
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

DAY = 86400
START = "2026-03-02T10:00:00Z"
T0 = 1772445600  # START as unix seconds
SETTINGS = "/api/v1/review-invitations/settings"
STATS = "/api/v1/review-invitations/stats"
REVIEW_URL = "https://www.example-reviews.nl/evaluate/energie-bv?lang=nl&ref=klantstem"
LINK = re.compile(r'href="(/r/[A-Za-z0-9_-]+)"')


def wilson(x, n, z=1.959963984540054):
    """Wilson score interval, written out from Wilson (1927) / Newcombe (1998)."""
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def r2(x):
    """Half away from zero to 2 places (the product's one rounding rule)."""
    q = abs(x) * 100
    v = math.floor(q + 0.5 + 1e-12) / 100
    return v if x >= 0 else -v


def customer(srv, tag, email=None):
    body = {"external_id": "RC-" + tag + "-" + ks.uniq("c"), "name": "Klant " + tag, "language": "nl"}
    if email:
        body["email"] = email
    return srv.create("customers", body)


def answer(srv, f, cust, nps):
    """A contact for cust and its survey answered with nps: (status, body, link or None)."""
    c = srv.create("contacts", {"customer_id": cust["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f["emp1"]["id"]})
    path = "/s/" + c["token"]
    st, _, page = srv.get(path)
    k = re.search(r'name="k" value="([^"]+)"', page).group(1)
    st, _, body = srv.form(path, {"k": k, "nps": str(nps)})
    m = LINK.search(body) if isinstance(body, str) else None
    return st, body, (m.group(1) if m else None)


def post_mention(t, srv, sid, created, cust=None, updated=None, source="trustpilot", what=None):
    """A review through POST /api/v1/mentions (the real intake), linked by the
    customer's external id; returns its id. A newer `updated` edits it."""
    rec = {"source": source, "source_id": sid, "created_at": ks.iso(created),
           "updated_at": ks.iso(updated if updated is not None else created),
           "rating": "5", "text": "Prima geholpen"}
    if cust is not None:
        rec["customer_external_id"] = cust["external_id"]
    st, _, b = srv.post("/api/v1/mentions", [rec])
    t.check(st == 200 and (b.get("inserted"), b.get("updated")) in ((1, 0), (0, 1)),
            what or "fixture: mention %s stored" % sid, ks.got(st, b))
    return srv.sql("SELECT id FROM mentions WHERE source = ? AND source_id = ?", (source, sid))[0][0]


def credits(srv, token_of):
    """{invitation token: the mention it credits or None} for the tokens given."""
    return {tok: srv.sql("SELECT reviewed_mention_id FROM review_invitations WHERE token = ?", (tok,))[0][0]
            for tok in token_of}


def test_settings(t, srv):
    st, _, b = srv.get(SETTINGS)
    t.check(st == 200 and b == {"enabled": False, "url": "", "audience": "all", "min_nps": 9, "interval_days": 180,
                                "updated_at": None},
            "settings: off by default, no page, audience all, min_nps 9, interval 180 days", ks.got(st, b))
    bad = [({"url": "http://www.example.nl/review"}, "url", "http URL"),
           ({"url": "ftp://example.nl/x"}, "url", "ftp URL"),
           ({"url": "https://"}, "url", "https without a host"),
           ({"url": "https://example.nl/a b"}, "url", "a space"),
           ({"url": "https://example.nl/\"><script>"}, "url", "a quote and brackets"),
           ({"url": "https://example.nl/" + "a" * 400}, "url", "over 400 bytes"),
           ({"url": 5}, "url", "not text"),
           ({"enabled": "yes"}, "enabled", "enabled not a boolean"),
           ({"enabled": True}, "url", "switched on without a page"),
           ({"min_nps": 11}, "min_nps", "min_nps 11"),
           ({"min_nps": -1}, "min_nps", "min_nps -1"),
           ({"min_nps": 8.5}, "min_nps", "min_nps not whole"),
           ({"audience": "happy"}, "audience", "audience not all/promoters"),
           ({"audience": "Promoters"}, "audience", "audience in capitals"),
           ({"audience": 1}, "audience", "audience not text"),
           ({"interval_days": 0}, "interval_days", "interval_days 0"),
           ({"interval_days": 3651}, "interval_days", "interval_days 3651"),
           ({"colour": "red"}, "colour", "an unknown member"),
           ({}, "enabled", "an empty object")]
    for body, field, what in bad:
        t.error(srv.request("PUT", SETTINGS, body), 422, field=field, name="settings: 422 %s names %s" % (what, field))
    t.error(srv.request("PUT", SETTINGS, "[1]"), 400, name="settings: a body that is not an object -> 400")
    st, _, b = srv.get(SETTINGS)
    t.check(st == 200 and b.get("enabled") is False and b.get("url") == "",
            "settings: refused PUTs changed nothing", ks.got(st, b))
    st, _, b = srv.request("PUT", SETTINGS, {"url": REVIEW_URL, "enabled": True})
    t.check(st == 200 and b.get("enabled") is True and b.get("url") == REVIEW_URL and b.get("min_nps") == 9
            and b.get("interval_days") == 180 and ks.iso_ok(b.get("updated_at")),
            "settings: PUT url + enabled -> 200, the rest kept", ks.got(st, b))
    rows = srv.sql("SELECT action, detail FROM audit_log WHERE action = 'review_settings.update'")
    t.eq(len(rows), 1, "settings: the change is one audit entry")
    t.eq(json.loads(rows[0][1]) if rows else None, {"enabled": True, "url": REVIEW_URL},
         "settings: its detail is the members changed")
    # issue 16 H7: two PUTs of different members at once both count (one
    # write lock around read, merge and write), each with its entry
    lost = 0
    for k in range(12):
        res = [None, None]

        def put(i, body):
            res[i] = srv.request("PUT", SETTINGS, body)[0]

        th = [threading.Thread(target=put, args=(0, {"min_nps": k % 11})),
              threading.Thread(target=put, args=(1, {"interval_days": 100 + k}))]
        for x in th:
            x.start()
        for x in th:
            x.join()
        st, _, b = srv.get(SETTINGS)
        if res != [200, 200] or (b.get("min_nps"), b.get("interval_days")) != (k % 11, 100 + k):
            lost += 1
    t.eq(lost, 0, "settings: 12 rounds of two PUTs at once (min_nps, interval_days): no change lost")
    t.eq(srv.sql("SELECT count(*) FROM audit_log WHERE action = 'review_settings.update'")[0][0], 25,
         "settings: one audit entry per accepted PUT (1 + 24)")
    st, _, b = srv.request("PUT", SETTINGS, {"min_nps": 9, "interval_days": 180})
    t.check(st == 200 and b.get("min_nps") == 9 and b.get("interval_days") == 180, "settings: back to 9 and 180",
            ks.got(st, b))
    st, _, b = srv.request("PUT", SETTINGS, {"url": ""})
    t.error((st, None, b), 422, field="url", name="settings: clearing the page while on -> 422 url")
    t.eq(srv.sql("SELECT count(*) FROM audit_log WHERE action = 'review_settings.update'")[0][0], 26,
         "settings: a refused PUT leaves no audit entry")


def main(t, srv):
    f = ks.base_fixture(srv)
    ks.set_clock(srv, T0)
    prom = customer(srv, "prom", "promoter@example.nl")
    # settings off: a promoter gets the plain thank-you page
    st, body, link = answer(srv, f, prom, 10)
    t.check(st == 201 and "Bedankt" in body and link is None,
            "off: promoter's thank-you page has no review link", ks.got(st, body))
    t.eq(srv.sql("SELECT count(*) FROM review_invitations")[0][0], 0, "off: no invitation stored")

    test_settings(t, srv)
    # the promoters-only audience (the default is everyone: see audience_all)
    st, _, b = srv.request("PUT", SETTINGS, {"audience": "promoters"})
    t.check(st == 200 and b.get("audience") == "promoters" and b.get("enabled") is True,
            "settings: audience promoters", ks.got(st, b))

    # promoter, the interval starts at this invitation
    st, body, link1 = answer(srv, f, prom, 9)
    t.check(st == 201 and link1 is not None and "Schrijf een review" in body,
            "promoter (9): thank-you page links /r/TOKEN with 'Schrijf een review'", ks.got(st, body))
    prom2 = customer(srv, "prom2", "p2@example.nl")
    st, body, link2 = answer(srv, f, prom2, 10)
    t.check(st == 201 and link2 is not None and link2 != link1, "promoter (10): invited with its own token",
            ks.got(st, body))
    rows = srv.sql("SELECT customer_id, sent_at, clicked_at, clicks FROM review_invitations ORDER BY id")
    t.eq(rows, [(prom["id"], T0, None, 0), (prom2["id"], T0, None, 0)],
         "two invitations stored with customer, sent_at = now, no click")

    for nps, what in ((8, "passive (8)"), (7, "passive (7)"), (6, "detractor (6)"), (0, "detractor (0)")):
        c = customer(srv, "p%d" % nps, "x%d@example.nl" % nps)
        st, body, link = answer(srv, f, c, nps)
        t.check(st == 201 and link is None and "Bedankt" in body, "%s: thanked, not invited" % what, ks.got(st, body))
    optout = customer(srv, "optout", "weg@example.nl")
    st, _, b = srv.post("/api/v1/customers/%d/opt-out" % optout["id"], {})
    t.check(st in (200, 201, 204), "fixture: opt-out recorded", ks.got(st, b))
    st, body, link = answer(srv, f, optout, 10)
    t.check(st == 201 and link is None, "opted-out promoter: not invited", ks.got(st, body))
    nomail = customer(srv, "nomail")
    st, body, link = answer(srv, f, nomail, 10)
    t.check(st == 201 and link is None, "promoter without e-mail: not invited", ks.got(st, body))
    st, body, link = answer(srv, f, prom, 10)
    t.check(st == 201 and link is None, "promoter invited today: not again within 180 days", ks.got(st, body))
    t.eq(srv.sql("SELECT count(*) FROM review_invitations")[0][0], 2, "still two invitations")

    # 179 days on: still inside the interval; 181: invited again
    ks.set_clock(srv, T0 + 179 * DAY)
    st, body, link = answer(srv, f, prom, 10)
    t.check(st == 201 and link is None, "179 days later: still not invited", ks.got(st, body))
    ks.set_clock(srv, T0 + 181 * DAY)
    st, body, link3 = answer(srv, f, prom, 10)
    t.check(st == 201 and link3 is not None and link3 not in (link1, link2),
            "181 days later: invited again with a new token", ks.got(st, body))

    # a lower minimum invites a passive
    st, _, b = srv.request("PUT", SETTINGS, {"min_nps": 8})
    t.check(st == 200 and b.get("min_nps") == 8 and b.get("enabled") is True, "settings: min_nps 8", ks.got(st, b))
    pas = customer(srv, "pas8", "pas8@example.nl")
    st, body, link4 = answer(srv, f, pas, 8)
    t.check(st == 201 and link4 is not None, "min_nps 8: an 8 is invited", ks.got(st, body))
    pas7 = customer(srv, "pas7", "pas7@example.nl")
    st, body, link = answer(srv, f, pas7, 7)
    t.check(st == 201 and link is None, "min_nps 8: a 7 is not", ks.got(st, body))

    # English customer: English invitation
    en = srv.create("customers", {"external_id": ks.uniq("en"), "name": "Mary", "language": "en",
                                  "email": "mary@example.com"})
    st, body, link5 = answer(srv, f, en, 9)
    t.check(st == 201 and link5 is not None and "Write a review" in body,
            "English customer: 'Write a review'", ks.got(st, body))

    # the click: counted once, redirected always
    now = T0 + 181 * DAY
    st, hd, b = srv.get(link1, auth=False)
    t.check(st == 303 and hd.get("Location") == REVIEW_URL, "click: 303 to the review page",
            "got %s Location %r" % (st, hd.get("Location")))
    # issue 16 H7: the body's link is HTML-escaped (the URL's & of a query string)
    href = REVIEW_URL.replace("&", "&amp;")
    t.check(isinstance(b, str) and ('<a href="%s">' % href) in b and "lang=nl&ref" not in b,
            "click: the body links the page with its & escaped as &amp;", b)
    ks.set_clock(srv, now + 60)
    st, hd, b = srv.get(link1, auth=False)
    t.check(st == 303 and hd.get("Location") == REVIEW_URL, "second click: 303 again",
            "got %s Location %r" % (st, hd.get("Location")))
    t.check("no-store" in (hd.get("Cache-Control") or ""), "click: not cacheable (each click reaches us)",
            hd.get("Cache-Control"))
    tok1 = link1[3:]
    t.eq(srv.sql("SELECT clicked_at, clicks FROM review_invitations WHERE token = ?", (tok1,)),
         [(now, 2)], "click: clicked_at is the first click, clicks 2")
    st, hd, b = srv.get(link4, auth=False)
    t.check(st == 303, "click on a second invitation: 303", ks.got(st, b))
    for bad in ("/r/" + "A" * 32, "/r/short", "/r/" + "%27" * 10 + "abcdefabcdef"):
        st, hd, b = srv.get(bad, auth=False)
        t.check(st == 404 and not hd.get("Location"), "unknown token %s: 404, no redirect" % bad[:12], ks.got(st, b))
    # the page moves: old links follow
    moved = "https://reviews.example.com/energie"
    st, _, b = srv.request("PUT", SETTINGS, {"url": moved})
    st, hd, b = srv.get(link2, auth=False)
    t.check(st == 303 and hd.get("Location") == moved, "a moved review page: old links go to the new one",
            "got %s Location %r" % (st, hd.get("Location")))
    # switched off: no new invitations, old links still lead to the page
    st, _, b = srv.request("PUT", SETTINGS, {"enabled": False})
    t.check(st == 200 and b.get("enabled") is False and b.get("url") == moved, "settings: off again", ks.got(st, b))
    late = customer(srv, "late", "late@example.nl")
    st, body, link = answer(srv, f, late, 10)
    t.check(st == 201 and link is None, "off: a promoter is not invited", ks.got(st, body))
    st, hd, b = srv.get(link5, auth=False)
    t.check(st == 303 and hd.get("Location") == moved, "off: an earlier link still redirects", ks.got(st, b))

    # wrote: a mention of the invited customer written after the invitation
    # (migration 021's triggers). prom: invitations at T0 and T0+181d; a
    # review at T0+200d credits the later one. prom2: one before its
    # invitation (not counted) and none after. pas (8): one after.
    post_mention(t, srv, "tp-1", T0 + 200 * DAY, prom)
    post_mention(t, srv, "tp-2", T0 - DAY, prom2)
    post_mention(t, srv, "tp-3", T0 + 181 * DAY + 3600, pas)
    post_mention(t, srv, "tp-4", T0 + 201 * DAY, prom)  # a second review: the invitation counts once
    rows = srv.sql("SELECT token, reviewed_mention_id IS NOT NULL FROM review_invitations ORDER BY id")
    want = {link1[3:]: 0, link2[3:]: 0, link3[3:]: 1, link4[3:]: 1, link5[3:]: 0}
    t.eq(dict(rows), want, "wrote: credited to the latest invitation sent before the review, once")
    # an unlinked mention linked later (a newer copy names the customer)
    post_mention(t, srv, "g-1", T0 + 190 * DAY, source="google")
    post_mention(t, srv, "g-1", T0 + 190 * DAY, en, updated=T0 + 191 * DAY, source="google")
    t.eq(srv.sql("SELECT reviewed_mention_id IS NOT NULL FROM review_invitations WHERE token = ?",
                 (link5[3:],)), [(1,)], "wrote: a mention linked to the customer later counts too")

    # the counts: 5 invitations; clicked: link1, link4, link2, link5; wrote: link3, link4, link5
    clicked = srv.sql("SELECT count(*) FROM review_invitations WHERE clicked_at IS NOT NULL")[0][0]
    t.eq(clicked, 4, "fixture: four invitations clicked")
    st, _, b = srv.get(STATS)
    exp = {"invited": 5}
    for k, x in (("clicked", 4), ("wrote", 3)):
        lo, hi = wilson(x, 5)
        exp[k] = {"n": x, "rate": r2(x / 5), "ci_low": r2(lo), "ci_high": r2(hi)}
    t.check(st == 200 and b.get("invited") == 5 and b.get("clicked") == exp["clicked"] and b.get("wrote") == exp["wrote"]
            and b.get("from") is None and b.get("to") is None,
            "stats: invited 5, clicked 4/5, wrote 3/5 with Wilson intervals",
            "expected %r\n%s" % (exp, ks.got(st, b)))
    # a window: only the invitations sent from day 100 on (link3, link4, link5)
    frm = ks.iso(T0 + 100 * DAY)
    st, _, b = srv.get(STATS + "?from=" + urllib.parse.quote(frm))
    lo, hi = wilson(2, 3)
    exp_c = {"n": 2, "rate": r2(2 / 3), "ci_low": r2(lo), "ci_high": r2(hi)}
    lo, hi = wilson(3, 3)
    exp_w = {"n": 3, "rate": 1.0, "ci_low": r2(lo), "ci_high": 1.0}
    t.check(st == 200 and b.get("invited") == 3 and b.get("wrote") == exp_w and b.get("clicked") == exp_c,
            "stats from day 100: invited 3, clicked 2/3, wrote 3/3",
            "expected clicked %r wrote %r\n%s" % (exp_c, exp_w, ks.got(st, b)))
    st, _, b = srv.get(STATS + "?to=" + urllib.parse.quote(frm))
    t.check(st == 200 and b.get("invited") == 2 and b.get("clicked", {}).get("n") == 2
            and b.get("wrote", {}).get("n") == 0, "stats to day 100: invited 2, clicked 2, wrote 0", ks.got(st, b))
    st, _, b = srv.get(STATS + "?from=2030-01-01")
    t.check(st == 200 and b.get("invited") == 0 and b.get("wrote") == {"n": 0, "rate": None, "ci_low": None,
                                                                        "ci_high": None},
            "stats of an empty window: 0 invited, rates null", ks.got(st, b))
    t.error(srv.get(STATS + "?from=gisteren"), 422, field="from", name="stats: from not a time -> 422 from")
    t.error(srv.get(STATS + "?from=2026-05-01&to=2026-04-01"), 422, field="to", name="stats: to before from -> 422 to")
    t.error(srv.get(STATS + "?period=2026"), 422, field="period", name="stats: unknown parameter -> 422 naming it")
    st, _, b = srv.get(STATS, auth=False)
    t.check(st == 401, "stats without a session -> 401", ks.got(st, b))

    # eight answers of one customer at once: one invitation, one page with the link
    st, _, b = srv.request("PUT", SETTINGS, {"enabled": True})
    twin = customer(srv, "twin", "twin@example.nl")
    forms = []
    for _ in range(8):
        ct = srv.create("contacts", {"customer_id": twin["id"], "touchpoint_id": f["tp1"]["id"], "channel": "phone"})
        page = srv.get("/s/" + ct["token"])[2]
        forms.append(("/s/" + ct["token"], re.search(r'name="k" value="([^"]+)"', page).group(1)))
    results = [None] * len(forms)

    def one(i):
        path, k = forms[i]
        st, _, body = srv.form(path, {"k": k, "nps": "10"})
        results[i] = (st, LINK.search(body) is not None if isinstance(body, str) else None)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(forms))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.check(all(r is not None and r[0] == 201 for r in results), "at once: eight answers stored", results)
    t.eq(sum(1 for r in results if r and r[1]), 1, "at once: exactly one thank-you page carries the link")
    t.eq(srv.sql("SELECT count(*) FROM review_invitations WHERE customer_id = ?", (twin["id"],))[0][0], 1,
         "at once: exactly one invitation stored")
    st, _, b = srv.request("PUT", SETTINGS, {"enabled": False})

    # the export of a customer holds their invitations, without the link's token (a credential)
    st, _, ex = srv.get("/api/v1/customers/%d/export" % prom["id"])
    rows = ex.get("review_invitations") if isinstance(ex, dict) else None
    want = [[i, r, ks.iso(sent), ks.iso(clk) if clk else None, n, m] for i, r, sent, clk, n, m in
            srv.sql("SELECT id, response_id, sent_at, clicked_at, clicks, reviewed_mention_id"
                    " FROM review_invitations WHERE customer_id = ? ORDER BY id", (prom["id"],))]  # times as ISO, as every export
    t.check(st == 200 and isinstance(rows, list) and len(rows) == 2
            and [[r.get(k) for k in ("id", "response_id", "sent_at", "clicked_at", "clicks", "reviewed_mention_id")]
                 for r in rows] == want,
            "export: the customer's two invitations, every column but the token", ks.got(st, rows))
    t.check(isinstance(rows, list) and all("token" not in r for r in rows) and link1[3:] not in str(ex),
            "export: no review link token anywhere in it", ks.short(rows))
    # the erasure of a customer takes their invitations along
    st, _, b = srv.request("PUT", SETTINGS, {"enabled": True})
    gone = customer(srv, "gone", "gone@example.nl")
    st, body, link6 = answer(srv, f, gone, 10)
    t.check(st == 201 and link6 is not None, "fixture: one more invitation", ks.got(st, body))
    st, _, b = srv.post("/api/v1/customers/%d/erase" % gone["id"], {})
    t.check(st == 200, "erasure of an invited customer -> 200", ks.got(st, b))
    t.eq(srv.sql("SELECT count(*) FROM review_invitations WHERE customer_id = ?", (gone["id"],))[0][0], 0,
         "erasure: the customer's invitation is gone")
    st, hd, b = srv.get(link6, auth=False)
    t.check(st == 404, "erasure: its link no longer works", ks.got(st, b))
    credit_moves(t, srv, f)
    audience_all(t, srv, f)


def audience_all(t, srv, f):
    """issue 16 H7: audience "all" (the default) invites everyone who answered,
    whatever the score (min_nps does not apply); the stats count per audience
    in force when each invitation was sent."""
    t2 = T0 + 600 * DAY
    ks.set_clock(srv, t2)
    st, _, b = srv.request("PUT", SETTINGS, {"audience": "all", "min_nps": 9, "interval_days": 180})
    t.check(st == 200 and b.get("audience") == "all", "audience: back to all", ks.got(st, b))
    det, pas = customer(srv, "aud-det", "aud-det@example.nl"), customer(srv, "aud-pas", "aud-pas@example.nl")
    st, body, link_d = answer(srv, f, det, 2)
    t.check(st == 201 and link_d is not None and "Schrijf een review" in body and "positief of kritisch" in body
            and "aanraadt" not in body,
            "audience all: a detractor (2) is invited, with words for any answer", ks.got(st, body))
    st, body, link_p = answer(srv, f, pas, 7)
    t.check(st == 201 and link_p is not None, "audience all: a passive (7) is invited", ks.got(st, body))
    st, body, link = answer(srv, f, det, 10)
    t.check(st == 201 and link is None, "audience all: the interval still holds", ks.got(st, body))
    t.eq(srv.sql("SELECT audience, count(*) FROM review_invitations GROUP BY audience ORDER BY audience"),
         [("all", 2), ("promoters", 9)], "audience: each invitation records the audience it was sent under")
    st, hd, b = srv.get(link_d, auth=False)
    t.check(st == 303, "fixture: the detractor's link clicked", ks.got(st, b))
    st, _, s = srv.get(STATS + "?from=" + urllib.parse.quote(ks.iso(t2)))
    t.check(st == 200 and s.get("invited") == 2 and s.get("by_audience") == {
        "all": {"invited": 2, "clicked": 1, "wrote": 0}, "promoters": {"invited": 0, "clicked": 0, "wrote": 0}},
        "stats: by_audience counts the window's two invitations under all", ks.got(st, s))
    st, _, s = srv.get(STATS)
    ba = s.get("by_audience") or {}
    t.check(st == 200 and ba.get("promoters", {}).get("invited") == 9 and ba.get("all", {}).get("invited") == 2
            and s.get("invited") == 11
            and s["clicked"]["n"] == ba["all"]["clicked"] + ba["promoters"]["clicked"]
            and s["wrote"]["n"] == ba["all"]["wrote"] + ba["promoters"]["wrote"],
            "stats: 9 invitations under promoters, 2 under all, the totals their sums", ks.got(st, s))


def credit_moves(t, srv, f):
    """issue 16 H7: a review credits one invitation at most, however it is
    edited, relinked or posted again (POST /api/v1/mentions, the triggers of
    migration 021). Invitations a at day 0 and b at day 2 of customer A, c at
    day 2 of customer B."""
    st, _, b = srv.request("PUT", SETTINGS, {"enabled": True, "interval_days": 1})
    t.check(st == 200 and b.get("interval_days") == 1, "credits: invitations on, one per day at most", ks.got(st, b))
    t1 = T0 + 400 * DAY
    ks.set_clock(srv, t1)
    ca, cb = customer(srv, "credA", "creda@example.nl"), customer(srv, "credB", "credb@example.nl")
    links = [answer(srv, f, ca, 10)[2]]
    ks.set_clock(srv, t1 + 2 * DAY)
    links += [answer(srv, f, ca, 10)[2], answer(srv, f, cb, 10)[2]]
    t.check(all(links), "credits: three invitations (A day 0, A day 2, B day 2)", links)
    a, b_, c = [x[3:] for x in links]
    toks = (a, b_, c)
    m1 = post_mention(t, srv, "cr-1", t1 + DAY, ca)
    t.eq(credits(srv, toks), {a: m1, b_: None, c: None}, "credits: a review on day 1 credits A's day-0 invitation")
    post_mention(t, srv, "cr-1", t1 + 3 * DAY, ca, updated=t1 + 3 * DAY, what="credits: the review edited to day 3")
    t.eq(credits(srv, toks), {a: m1, b_: None, c: None},
         "credits: edited past A's day-2 invitation it keeps its one credit (not two)")
    post_mention(t, srv, "cr-1", t1 + 3 * DAY, ca, updated=t1 + 4 * DAY, what="credits: the same review posted again")
    t.eq(credits(srv, toks), {a: m1, b_: None, c: None}, "credits: posted again unchanged in time, nothing moves")
    m2 = post_mention(t, srv, "cr-2", t1 + 4 * DAY, ca)
    t.eq(credits(srv, toks), {a: m1, b_: m2, c: None}, "credits: a second review of A credits A's day-2 invitation")
    post_mention(t, srv, "cr-1", t1 - DAY, ca, updated=t1 + 5 * DAY, what="credits: the first review dated before day 0")
    t.eq(credits(srv, toks), {a: None, b_: m2, c: None},
         "credits: written before every invitation now, the credit is taken back")
    post_mention(t, srv, "cr-2", t1 + 4 * DAY, cb, updated=t1 + 6 * DAY, what="credits: the second review relinked to B")
    t.eq(credits(srv, toks), {a: None, b_: None, c: m2},
         "credits: relinked to customer B, A's credit goes and B's invitation gets it")
    n = srv.sql("SELECT count(*), count(DISTINCT reviewed_mention_id) FROM review_invitations"
                " WHERE reviewed_mention_id IS NOT NULL")[0]
    t.eq(n[0], n[1], "credits: no mention credits two invitations anywhere in the table")
    st, _, s = srv.get(STATS + "?from=" + urllib.parse.quote(ks.iso(t1)))
    t.check(st == 200 and s.get("invited") == 3 and s.get("wrote", {}).get("n") == 1,
            "credits: stats of the three invitations: wrote 1", ks.got(st, s))
    con = ks.db_connect(srv.db)  # the unique index refuses a second credit outright
    integrity = (sqlite3.IntegrityError,)
    if ks.is_pg_uri(srv.db):
        import psycopg2
        integrity = (psycopg2.IntegrityError,)
    try:
        con.execute("UPDATE review_invitations SET reviewed_mention_id = ? WHERE token = ?", (m2, a))
        con.commit()
        refused = False
    except integrity:
        refused = True
    finally:
        con.close()
    t.eq(refused, True, "credits: the database refuses one mention on two invitations (unique index)")


srv_args = ["--test-clock", START]


def run():
    t = ks.Tap()
    srv = ks.Server(t, args=srv_args)
    try:
        hz = srv.start()
        t.healthz(hz, "server starts with --test-clock")
        main(t, srv)
    except ks.FixtureError as ex:
        t.check(False, "setup step failed", str(ex))
    finally:
        srv.stop()
        srv.cleanup()
    t.finish()
    sys.exit(1 if t.failed else 0)


if __name__ == "__main__":
    run()
