#!/usr/bin/python3
"""Mention feed pollers (issue 16 H2; docs/POLLERS.md, docs/API.md "Mention feeds").

A local HTTP server (http.server on 127.0.0.1, a free port, one thread per
request) plays each source: Trustpilot (JSON, links rel=next-page,
startDateTime), Google Business Profile (JSON, nextPageToken, newest first,
no time filter), Kiyoh (XML, updatedSince), App Store Connect (JSON:API,
links.next, newest first), a social export (JSON, since=, links.next) and
the generic JSON layout (since=). It counts and keeps every request, and
can fail: 500, 429 with Retry-After, a response slower than the poll's
timeout, a body over 32 MiB, invalid JSON, a next link to another host.

The expected values are written here from the fixtures (how many reviews
each page holds, which the since parameter lets through), not read from
the product. The klantstem server runs on a test clock (--test-clock): a
feed is due when the test moves the clock past its next_run_at, which makes
the backoff schedule (1, 2, 4, 8 minutes, capped at 8 x the interval)
exact.
"""

import calendar
import http.server
import json
import os
import socketserver
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

T0 = calendar.timegm((2026, 12, 1, 9, 0, 0))   # the test clock at start
DAY = 86400


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def parse_since(s):
    """The since values the poller sends: Z, no zone (UTC) or .000+00:00."""
    s = s.replace(".000+00:00", "").rstrip("Z")
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%S"))


# ---------------------------------------------------------------------------
# the review sites


class Site:
    """What the fake sites serve; changed by the test between polls."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []          # (path, query dict, headers dict)
        self.base = None
        # reviews: dicts with id, created, updated, stars, text
        self.tp = []
        self.google = []
        self.kiyoh = []
        self.appstore = []
        self.social = []
        self.generic = []
        self.slow = {}              # path -> seconds to wait before answering
        self.gate = threading.Event()  # set: slow paths answer at once
        self.slow_page = None       # only this page= of a slow path waits
        self.fail_page = None       # this page= of /tp/reviews answers 500
        self.seen = {}              # path -> threading.Event set on first request

    def hits(self, path):
        with self.lock:
            return [q for p, q, _ in self.requests if p == path]

    def headers_of(self, path):
        with self.lock:
            return [h for p, _, h in self.requests if p == path]

    def wait_seen(self, path, timeout=20):
        with self.lock:
            ev = self.seen.setdefault(path, threading.Event())
        return ev.wait(timeout)


def since_of(q, name):
    v = q.get(name)
    return parse_since(v) if v else None


def tp_json(site, r):
    return {"id": r["id"], "stars": r["stars"], "title": "T " + r["id"], "text": r["text"],
            "createdAt": iso(r["created"]), "updatedAt": iso(r["updated"]),
            "consumer": {"displayName": "Klant " + r["id"]}, "language": "nl",
            "location": {"name": "Utrecht"}}


def page_of(items, q, size):
    page = int(q.get("page", "1"))
    return items[(page - 1) * size:page * size], page, len(items) > page * size


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"   # the body ends when the connection closes

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", ctype="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass

    def do_GET(self):
        site = self.server.site
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        with site.lock:
            site.requests.append((u.path, q, {k.lower(): v for k, v in self.headers.items()}))
            ev = site.seen.setdefault(u.path, threading.Event())
        ev.set()
        wait = site.slow.get(u.path)
        if wait and (site.slow_page is None or q.get("page") == site.slow_page) and not site.gate.is_set():
            site.gate.wait(wait)
        fn = getattr(self, "route_" + u.path.strip("/").replace("/", "_").replace(".", "_").replace("-", "_"),
                     None)
        if fn is None:
            return self.reply(404, {"error": "no such path " + u.path})
        return fn(site, q)

    # -- Trustpilot: startDateTime filters, perPage 2, links rel=next-page --
    def route_tp_reviews(self, site, q):
        if site.fail_page is not None and q.get("page") == site.fail_page:
            return self.reply(500, {"error": "page down"})
        since = since_of(q, "startDateTime")
        items = sorted([r for r in site.tp if since is None or r["updated"] >= since],
                       key=lambda r: -r["updated"])
        chunk, page, more = page_of(items, q, 2)
        links = [{"rel": "self", "href": "/tp/reviews", "method": "GET"}]
        if more:
            nq = dict(q, page=str(page + 1))
            links.append({"rel": "next-page", "method": "GET",
                          "href": site.base + "/tp/reviews?" + urllib.parse.urlencode(nq)})
        self.reply(200, {"reviews": [tp_json(site, r) for r in chunk], "links": links})

    # -- Google: pageSize 2, nextPageToken; newest first by updateTime only
    # with orderBy=updateTime desc (the API's default order is another) --
    def route_g_reviews(self, site, q):
        desc = q.get("orderBy") == "updateTime desc"
        items = sorted(site.google, key=lambda r: -r["updated"] if desc else r["updated"])
        page = int(q.get("pageToken", "p1")[1:])
        chunk = items[(page - 1) * 2:page * 2]
        words = ["ONE", "TWO", "THREE", "FOUR", "FIVE"]
        body = {"reviews": [{"reviewId": r["id"], "name": "accounts/1/locations/77/reviews/" + r["id"],
                             "reviewer": {"displayName": "G " + r["id"]}, "starRating": words[r["stars"] - 1],
                             "comment": r["text"], "createTime": iso(r["created"]),
                             "updateTime": iso(r["updated"])} for r in chunk],
                "averageRating": 4.2, "totalReviewCount": len(items)}
        if len(items) > page * 2:
            body["nextPageToken"] = "p%d" % (page + 1)
        self.reply(200, body)

    # -- Kiyoh: XML, updatedSince, the configured hash kept --
    def route_kiyoh_feed_xml(self, site, q):
        if q.get("hash") != "geheim123":
            return self.reply(403, "<error>bad hash</error>", "application/xml")
        since = since_of(q, "updatedSince")
        parts = []
        for r in site.kiyoh:
            if since is not None and r["updated"] < since:
                continue
            parts.append(
                "<reviews><reviewId>%s</reviewId><reviewAuthor>K %s</reviewAuthor><city>Utrecht</city>"
                "<rating>%d</rating><reviewContent>"
                "<reviewContent><questionGroup>DEFAULT_OVERALL</questionGroup><questionType>INT</questionType>"
                "<rating>%d</rating></reviewContent>"
                "<reviewContent><questionGroup>DEFAULT_OPINION</questionGroup><questionType>TEXT</questionType>"
                "<rating>%s</rating></reviewContent></reviewContent>"
                "<dateSince>%s</dateSince><updatedSince>%s</updatedSince><reviewLanguage>nl</reviewLanguage>"
                "</reviews>" % (r["id"], r["id"], r["stars"], r["stars"], r["text"],
                                iso(r["created"]).replace("Z", ".000+00:00"),
                                iso(r["updated"]).replace("Z", ".000+00:00")))
        xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><reviewFeedDto><locationId>1051245</locationId>"
               "<locationName>Winkel Utrecht</locationName><reviews>%s</reviews></reviewFeedDto>" % "".join(parts))
        self.reply(200, xml, "application/xml")

    # -- App Store Connect: JSON:API, limit 2, links.next; newest first only
    # with sort=-createdDate (createdDate ascending otherwise) --
    def route_as_v1_apps_42_customerReviews(self, site, q):
        desc = q.get("sort") == "-createdDate"
        items = sorted(site.appstore, key=lambda r: -r["created"] if desc else r["created"])
        cursor = int(q.get("cursor", "0"))
        chunk = items[cursor:cursor + 2]
        body = {"data": [{"type": "customerReviews", "id": r["id"],
                          "attributes": {"rating": r["stars"], "title": "A " + r["id"], "body": r["text"],
                                         "reviewerNickname": "nick" + r["id"], "createdDate": iso(r["created"]),
                                         "territory": "NLD"}} for r in chunk],
                "links": {"self": site.base + self.path}}
        if len(items) > cursor + 2:
            nq = dict(q, cursor=str(cursor + 2))
            body["links"]["next"] = site.base + "/as/v1/apps/42/customerReviews?" + urllib.parse.urlencode(nq)
        self.reply(200, body)

    # -- a social export: since=, links.next relative --
    def route_social_posts(self, site, q):
        since = since_of(q, "since")
        items = [r for r in site.social if since is None or r["updated"] >= since]
        chunk, page, more = page_of(items, q, 3)
        body = {"posts": [{"id": r["id"], "platform": "x", "author": "@" + r["id"], "text": r["text"],
                           "time": iso(r["created"]), "url": "https://x.example/" + r["id"]} for r in chunk]}
        if more:
            body["links"] = {"next": "/social/posts?" + urllib.parse.urlencode(dict(q, page=str(page + 1)))}
        self.reply(200, body)

    # -- the generic layout: since= filters on updated_at --
    def route_generic_json(self, site, q):
        since = since_of(q, "since")
        self.reply(200, [{"source": "webshop", "source_id": r["id"], "created_at": iso(r["created"]),
                          "updated_at": iso(r["updated"]), "text": r["text"], "rating": r["stars"],
                          "scale_min": 1, "scale_max": 5}
                         for r in site.generic if since is None or r["updated"] >= since])

    # -- failures --
    # -- the generic layout as CSV (BOM, semicolons): since= --
    def route_export_csv(self, site, q):
        since = since_of(q, "since")
        rows = [("c1", T0 - 3 * DAY, "Prima; snel"), ("c2", T0 - 2 * DAY, "Te laat")]
        body = "\ufeffsource;source_id;created_at;text;rating;scale_min;scale_max\r\n" + "".join(
            'csvshop;%s;%s;"%s";4;1;5\r\n' % (i, iso(c), txt) for i, c, txt in rows if since is None or c >= since)
        self.reply(200, body, "text/csv; charset=utf-8")

    def route_fail500(self, site, q):
        self.reply(500, {"error": "boom"})

    def route_fail429(self, site, q):
        self.reply(429, {"error": "slow down"}, headers=[("Retry-After", "300")])

    def route_fail503date(self, site, q):
        # Retry-After as an HTTP date, 10 minutes from now (real time)
        import email.utils
        self.reply(503, {"error": "maintenance"},
                   headers=[("Retry-After", email.utils.formatdate(time.time() + 600, usegmt=True))])

    def route_badjson(self, site, q):
        self.reply(200, '{"reviews": [{"id": "x1", "stars": 5,', "application/json")

    def route_huge(self, site, q):
        # 33 MiB without a Content-Length: the cap must hold on the stream
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * (1 << 20)
            for _ in range(33):
                self.wfile.write(chunk)
        except OSError:
            pass

    def route_cycle(self, site, q):
        # page 1 links to page 2, page 2 back to page 1
        page = q.get("page", "1")
        self.reply(200, {"posts": [{"id": "c" + page, "platform": "x", "author": "@c", "text": "rondje " + page,
                                    "time": iso(T0 - DAY)}],
                         "links": {"next": "/cycle?page=" + ("2" if page == "1" else "1")}})

    def route_offsite(self, site, q):
        self.reply(200, {"posts": [{"id": "o1", "platform": "x", "author": "@o", "text": "hallo",
                                    "time": iso(T0 - DAY)}],
                         "links": {"next": "http://elders.invalid/steal"}})

    def route_redirect(self, site, q):
        self.reply(302, "", headers=[("Location", site.base + "/tp/reviews")])

    def route_etag(self, site, q):
        if self.headers.get("If-None-Match") == '"v1"':
            return self.reply(304, "", headers=[("ETag", '"v1"')])
        self.reply(200, [{"source": "etagshop", "source_id": "e1", "created_at": iso(T0 - DAY),
                          "text": "Goed", "rating": 4, "scale_min": 1, "scale_max": 5}],
                   headers=[("ETag", '"v1"')])

    def route_slow_generic(self, site, q):
        self.route_generic_json(site, q)

    # -- an App Store proxy that ignores sort=: oldest first always --
    def route_as_asc(self, site, q):
        q = dict(q, sort="createdDate")
        return self.route_as_v1_apps_42_customerReviews(site, q)

    # -- H11, review LOW 4 --
    def route_go_nested(self, site, q):
        self.reply(302, "", headers=[("Location", site.base + "/nested/list")])

    def route_nested_list(self, site, q):
        # a relative next link: relative to /nested/list, where the page is
        page = q.get("page", "1")
        body = {"posts": [{"id": "n" + page, "platform": "x", "author": "@n", "text": "genest " + page,
                           "time": iso(T0 - DAY)}]}
        if page == "1":
            body["links"] = {"next": "list?page=2"}
        self.reply(200, body)

    def route_g_long(self, site, q):
        # Google with page tokens of 700 bytes
        tok = q.get("pageToken", "p1")
        page = int(tok[1:2])
        body = {"reviews": [{"reviewId": "gl%d" % page, "name": "accounts/1/locations/7/reviews/gl%d" % page,
                             "reviewer": {"displayName": "G"}, "starRating": "FOUR", "comment": "lang token",
                             "createTime": iso(T0 - DAY * page), "updateTime": iso(T0 - DAY * page)}]}
        if page < 3:
            body["nextPageToken"] = "p%d" % (page + 1) + "x" * 700
        self.reply(200, body)

    def route_g_huge_token(self, site, q):
        body = {"reviews": [{"reviewId": "gh1", "name": "accounts/1/locations/7/reviews/gh1",
                             "reviewer": {"displayName": "G"}, "starRating": "FOUR", "comment": "te lang",
                             "createTime": iso(T0 - DAY), "updateTime": iso(T0 - DAY)}],
                "nextPageToken": "y" * 2100}
        self.reply(200, body)

    def route_empty_next(self, site, q):
        page = q.get("page", "1")
        if page == "1":
            return self.reply(200, {"posts": [], "links": {"next": "/empty_next?page=2"}})
        self.reply(200, {"posts": [{"id": "en2", "platform": "x", "author": "@e", "text": "na leeg",
                                    "time": iso(T0 - DAY)}]})

    # -- H11, review MEDIUM 5 and 8: redirects and links to other origins --
    def route_to_other(self, site, q):
        # 302 to the other site (another host name, or another port)
        self.reply(302, "", headers=[("Location", site.other + "/generic.json")])

    def route_to_other_long(self, site, q):
        # 302 to the other site with 300 two-byte letters in the query, raw
        # UTF-8 in the header (http.server writes header text as Latin-1)
        loc = site.other + "/generic.json?q=" + "é" * 300
        self.reply(302, "", headers=[("Location", loc.encode("utf-8").decode("latin-1"))])

    def route_link_other(self, site, q):
        self.reply(200, {"posts": [{"id": "lo1", "platform": "x", "author": "@o", "text": "hallo",
                                    "time": iso(T0 - DAY)}],
                         "links": {"next": site.other + "/generic.json"}})

    def route_slow_fail(self, site, q):
        self.reply(500, {"error": "late boom"})

    # -- a social export oldest first (H11): since=, 2 a page, links.next, an
    # ETag per page that honours If-None-Match, as a real server would --
    def route_asc(self, site, q):
        since = since_of(q, "since")
        items = sorted([r for r in site.social if since is None or r["updated"] >= since],
                       key=lambda r: r["updated"])
        chunk, page, more = page_of(items, q, 2)
        body = {"posts": [{"id": r["id"], "platform": "x", "author": "@a", "text": r["text"],
                           "time": iso(r["created"])} for r in chunk]}
        if more:
            body["links"] = {"next": "/asc?" + urllib.parse.urlencode(dict(q, page=str(page + 1)))}
        raw = json.dumps(body)
        etag = '"%08x"' % (hash(raw) & 0xffffffff)
        if self.headers.get("If-None-Match") == etag:
            return self.reply(304, "", headers=[("ETag", etag)])
        self.reply(200, raw, headers=[("ETag", etag)])


class SiteServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_site():
    site = Site()
    httpd = SiteServer(("127.0.0.1", 0), Handler)
    httpd.site = site
    site.base = "http://127.0.0.1:%d" % httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return site, httpd


# ---------------------------------------------------------------------------
# helpers


def rev(i, created, updated=None, stars=4, text=None, prefix="r"):
    return {"id": "%s%d" % (prefix, i), "created": created, "updated": updated or created, "stars": stars,
            "text": text or "Review %s%d: prima service, snel geholpen" % (prefix, i)}


def must(t, resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> %s" % (what, ks.got(st, body)))
    return body


def new_feed(t, srv, name, fmt, url, **kw):
    body = {"name": name, "format": fmt, "url": url, "interval_s": kw.pop("interval_s", 3600),
            "enabled": kw.pop("enabled", False)}
    body.update(kw)
    return must(t, srv.post("/api/v1/mention-feeds", body), 201, "create feed " + name)


def run(srv, fid, timeout=30.0, wait=True):
    """POST .../run. A paged feed (or any while another runs) answers 202:
    with wait, wait until the feed's runs counter moves past its value
    before the request, and answer like a 200 from the feed as it is then
    (ok: failures back to 0; a failure adds one)."""
    before = None
    if wait:
        st, _, f = srv.get("/api/v1/mention-feeds/%d" % fid)
        before = f.get("runs") if st == 200 and isinstance(f, dict) else None
    resp = srv.request("POST", "/api/v1/mention-feeds/%d/run" % fid, timeout=timeout)
    if not wait or resp[0] != 202 or before is None:
        return resp
    end = time.time() + timeout
    f = None
    while time.time() < end:
        st, _, f = srv.get("/api/v1/mention-feeds/%d" % fid)
        if st == 200 and f["runs"] > before:
            break
        time.sleep(0.05)
    else:
        return resp
    r = dict(f["last_run"] or {}, ok=f["failures"] == 0, error=None if f["failures"] == 0 else f["last_error"],
             next_run_at=f["next_run_at"], not_modified=False, queued=True)
    return 200, resp[1], {"run": r, "feed": f}


def run_quietly(srv, fid):
    """run() on a thread whose server is killed or stopped meanwhile."""
    try:
        run(srv, fid, timeout=90)
    except (OSError, Exception):
        pass


def set_clock(t, srv, now):
    must(t, srv.post("/api/v1/admin/clock", {"now": iso(now)}), 200, "move the test clock")


def mentions(srv, source):
    return srv.sql("SELECT source_id, text, updated_at FROM mentions WHERE source = ? ORDER BY source_id",
                   (source,))


def wait_for(pred, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return pred()


# ---------------------------------------------------------------------------
# the checks


def check_api(t, srv, site):
    """Validation, the secret never read back, the audit entries."""
    base = {"name": "Trustpilot", "format": "trustpilot", "url": site.base + "/tp/reviews"}
    for field, bad in (("url", "ftp://example.org/x"), ("url", "file:///etc/passwd"), ("url", "http://"),
                       ("url", "https://user:pw@example.org/feed"), ("url", 17),
                       ("format", "nps"), ("format", None), ("interval_s", 59), ("interval_s", 604801),
                       ("interval_s", "3600"), ("auth_header", "Authorization Bearer x"),
                       ("auth_header", "Authorization: a\r\nX-Evil: 1"), ("enabled", "yes"), ("name", ""),
                       ("colour", "red")):
        body = dict(base)
        body[field] = bad
        t.error(srv.post("/api/v1/mention-feeds", body), 422, field=field,
                name="POST mention-feeds with %s=%r: 422 naming %s" % (field, bad, field))
    t.error(srv.post("/api/v1/mention-feeds", {"format": "google", "url": site.base + "/g"}), 422,
            field="name", name="a feed without a name: 422 naming name")
    secret = "Authorization: Bearer tp-geheim-42"
    f = new_feed(t, srv, "Trustpilot", "trustpilot", site.base + "/tp/reviews", auth_header=secret)
    t.eq(f["auth_header"], {"set": True}, "the new feed says its auth header is set, not what it is")
    t.eq((f["format"], f["interval_s"], f["enabled"], f["state"], f["failures"], f["last_error"],
          f["cursor_updated_at"], f["last_run"]),
         ("trustpilot", 3600, False, "disabled", 0, None, None, None), "a new feed: settings and no run yet")
    st, _, lst = srv.get("/api/v1/mention-feeds")
    t.check(st == 200 and "tp-geheim-42" not in json.dumps(lst), "the list never holds the secret", ks.short(lst))
    st, _, one = srv.get("/api/v1/mention-feeds/%d" % f["id"])
    t.check(st == 200 and "tp-geheim-42" not in json.dumps(one) and one["auth_header"] == {"set": True},
            "GET one feed: no secret, set true", ks.short(one))
    t.error(srv.request("PUT", "/api/v1/mention-feeds/%d" % f["id"], {"interval_s": 30}), 422,
            field="interval_s", name="PUT interval_s 30: 422 naming interval_s")
    t.error(srv.request("PUT", "/api/v1/mention-feeds/%d" % f["id"], {"url": "gopher://x"}), 422,
            field="url", name="PUT a gopher URL: 422 naming url")
    t.error(srv.get("/api/v1/mention-feeds/999999"), 404, name="GET an unknown feed: 404")
    t.error(srv.request("PUT", "/api/v1/mention-feeds/999999", {"name": "x"}), 404, name="PUT an unknown feed: 404")
    t.error(srv.request("DELETE", "/api/v1/mention-feeds/999999"), 404, name="DELETE an unknown feed: 404")
    t.error(run(srv, 999999), 404, name="run an unknown feed: 404")
    audit = srv.sql("SELECT action, object_id, detail FROM audit_log WHERE object_kind = 'mention_feed' "
                    "ORDER BY id")
    t.eq([(a, o) for a, o, _ in audit], [("mention_feed.create", f["id"])],
         "one audit entry for the creation (failed requests write none)")
    t.check(all("tp-geheim-42" not in d for _, _, d in audit) and '"auth_header_set":true' in audit[0][2],
            "the audit detail says the header is set, never the secret", ks.short(audit))
    # a change of name only keeps the secret; null clears it
    g = must(t, srv.request("PUT", "/api/v1/mention-feeds/%d" % f["id"], {"name": "TP NL"}), 200, "rename")
    t.eq((g["name"], g["auth_header"]), ("TP NL", {"set": True}), "a rename keeps the auth header")
    return f


def check_trustpilot(t, srv, site, f):
    """Paging by links rel=next-page, resume with startDateTime, the auth
    header and user agent on every page, nothing stored twice."""
    site.tp = [rev(i, T0 - (10 - i) * DAY, prefix="tp") for i in range(5)]  # tp0..tp4, tp4 newest
    resp = run(srv, f["id"])
    st, _, b = resp
    t.status(resp, 200, "run the Trustpilot feed now: 200")
    r = b.get("run", {}) if isinstance(b, dict) else {}
    t.eq((r.get("ok"), r.get("pages"), r.get("received"), r.get("inserted"), r.get("updated"),
          r.get("unchanged")), (True, 3, 5, 5, 0, 0), "first run: 3 pages of 2, 2, 1 reviews, 5 inserted")
    q = site.hits("/tp/reviews")
    t.eq([x.get("page", "1") for x in q], ["1", "2", "3"], "the poller followed next-page links 1, 2, 3")
    t.eq(["startDateTime" in x for x in q], [False, False, False], "first run: no startDateTime (no cursor yet)")
    hs = site.headers_of("/tp/reviews")
    t.eq({h.get("authorization") for h in hs}, {"Bearer tp-geheim-42"}, "the auth header went with every page")
    t.check(all(h.get("user-agent", "").startswith("klantstem/") for h in hs),
            "User-Agent klantstem/<version>", ks.short([h.get("user-agent") for h in hs]))
    t.eq([m[0] for m in mentions(srv, "trustpilot")], ["tp0", "tp1", "tp2", "tp3", "tp4"],
         "the five reviews are stored")
    feed = b["feed"]
    t.eq((feed["cursor_updated_at"], feed["failures"], feed["state"], feed["mentions_fetched"],
          feed["last_run"]), (iso(T0 - 6 * DAY), 0, "disabled", 5,
                              {"pages": 3, "received": 5, "inserted": 5, "updated": 0, "unchanged": 0}),
         "the cursor is the newest updatedAt stored (tp4); the last run's counts")
    # a new review; the second run asks from cursor - 1 h
    site.tp.append(rev(5, T0 - 2 * DAY, prefix="tp"))
    b2 = must(t, run(srv, f["id"]), 200, "second run")
    q2 = site.hits("/tp/reviews")[3:]
    t.eq([x.get("startDateTime") for x in q2], [time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0 - 6 * DAY - 3600))],
         "second run: one request with startDateTime = cursor - 1 hour (UTC, no zone)")
    t.eq((b2["run"]["received"], b2["run"]["inserted"], b2["run"]["unchanged"]), (2, 1, 1),
         "second run: the new review inserted, the overlap's one unchanged")
    t.eq(len(mentions(srv, "trustpilot")), 6, "six Trustpilot mentions, none twice")
    t.eq(b2["feed"]["cursor_updated_at"], iso(T0 - 2 * DAY), "the cursor moved to the new review")
    # H11, review LOW 6: a paged feed's run now does not hold an HTTP worker
    # for its pages: 202 at once, the thread runs it, runs counts it
    runs0 = b2["feed"]["runs"]
    n0 = len(site.hits("/tp/reviews"))
    st, _, b3 = run(srv, f["id"], wait=False)
    t.check(st == 202 and b3.get("queued") is True and "run" not in b3, "run now of a paged feed: 202 queued",
            ks.got(st, b3))
    done = wait_for(lambda: (lambda g: g if g[2]["runs"] == runs0 + 1 else None)(
        srv.get("/api/v1/mention-feeds/%d" % f["id"])))
    t.eq(((done or (0, 0, {}))[2].get("last_run"), len(site.hits("/tp/reviews")) - n0),
         ({"pages": 1, "received": 1, "inserted": 0, "updated": 0, "unchanged": 1}, 1),
         "the thread ran it: one page, the overlap's review unchanged; runs + 1")


def check_google(t, srv, site):
    """nextPageToken paging; no time filter, so the second run stops at the
    first page that is all older than the cursor."""
    site.google = [rev(i, T0 - (10 - i) * DAY, stars=1 + i % 5, prefix="g") for i in range(5)]
    f = new_feed(t, srv, "Google", "google", site.base + "/g/reviews?pageSize=2&orderBy=updateTime%20desc")
    b = must(t, run(srv, f["id"]), 200, "google run 1")
    q = site.hits("/g/reviews")
    t.eq([x.get("pageToken") for x in q], [None, "p2", "p3"], "Google: pages by nextPageToken")
    t.eq(q[1].get("pageSize"), "2", "the configured query stays on later pages")
    t.eq((b["run"]["inserted"], b["run"]["pages"]), (5, 3), "Google: 5 reviews in 3 pages")
    stored = srv.sql("SELECT source_id, rating, scale_max FROM mentions WHERE source = 'google' ORDER BY source_id")
    t.eq([(s, r) for s, r, _ in stored], [("g0", 1.0), ("g1", 2.0), ("g2", 3.0), ("g3", 4.0), ("g4", 5.0)],
         "Google star ratings ONE..FIVE stored as 1..5")
    b = must(t, run(srv, f["id"]), 200, "google run 2")
    t.eq(len(site.hits("/g/reviews")), 5, "second run: 2 requests (page 2 is all older than the cursor)")
    t.eq((b["run"]["inserted"], b["run"]["unchanged"]), (0, 4), "second run: nothing new, 4 seen again")


def check_kiyoh(t, srv, site):
    site.kiyoh = [rev(i, T0 - (5 - i) * DAY, stars=6 + i, prefix="k") for i in range(3)]
    f = new_feed(t, srv, "Kiyoh", "kiyoh", site.base + "/kiyoh/feed.xml?hash=geheim123&limit=100")
    b = must(t, run(srv, f["id"]), 200, "kiyoh run 1")
    t.eq((b["run"]["ok"], b["run"]["inserted"]), (True, 3), "Kiyoh: 3 reviews from the XML feed")
    t.eq(srv.sql("SELECT source_id, rating, scale_max FROM mentions WHERE source = 'kiyoh' ORDER BY source_id"),
         [("k0", 6.0, 10.0), ("k1", 7.0, 10.0), ("k2", 8.0, 10.0)], "Kiyoh scores stored as given, out of 10")
    # k1 edited: new text and a later updatedSince
    site.kiyoh[1] = dict(site.kiyoh[1], updated=T0 - DAY, text="Aangepast: toch niet zo snel")
    b = must(t, run(srv, f["id"]), 200, "kiyoh run 2")
    q = site.hits("/kiyoh/feed.xml")[-1]
    t.eq((q.get("hash"), q.get("limit"), q.get("updatedSince")),
         ("geheim123", "100", time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T0 - 3 * DAY - 3600)) + ".000+00:00"),
         "Kiyoh: the configured hash and limit kept, updatedSince = cursor - 1 h")
    t.eq((b["run"]["received"], b["run"]["updated"], b["run"]["unchanged"]), (2, 1, 1),
         "the edited review updates its row; k2 (in the overlap) unchanged")
    t.eq(srv.sql("SELECT text FROM mentions WHERE source = 'kiyoh' AND source_id = 'k1'"),
         [("Aangepast: toch niet zo snel",)], "the row holds the edited text")
    t.eq(srv.sql("SELECT count(*) FROM mentions WHERE source = 'kiyoh'"), [(3,)], "still 3 Kiyoh mentions")


def check_appstore(t, srv, site):
    site.appstore = [rev(i, T0 - (8 - i) * DAY, prefix="a") for i in range(5)]
    f = new_feed(t, srv, "App Store", "appstore",
                 site.base + "/as/v1/apps/42/customerReviews?sort=-createdDate&limit=2")
    b = must(t, run(srv, f["id"]), 200, "appstore run")
    t.eq([x.get("cursor") for x in site.hits("/as/v1/apps/42/customerReviews")], [None, "2", "4"],
         "App Store: links.next followed")
    t.eq((b["run"]["inserted"], b["run"]["pages"]), (5, 3), "App Store: 5 reviews in 3 pages")


def check_order(t, srv, site):
    """H11, review MEDIUM 3: Google and App Store have no time filter; the
    poller asks newest first itself (the configured URL need not), and stops
    at a page older than the cursor only when the page is newest first."""
    site.appstore = [rev(i, T0 - (8 - i) * DAY, prefix="ao") for i in range(5)]
    f = new_feed(t, srv, "AS no sort", "appstore", site.base + "/as/v1/apps/42/customerReviews?limit=2")
    n0 = len(site.hits("/as/v1/apps/42/customerReviews"))
    outs = []
    for k in range(2):
        if k == 1:
            site.appstore.append(rev(7, T0 - 600, prefix="ao"))
        b = must(t, run(srv, f["id"]), 200, "appstore no sort run %d" % (k + 1))
        outs.append((b["run"]["ok"], b["run"]["pages"], b["run"]["inserted"]))
    q = site.hits("/as/v1/apps/42/customerReviews")[n0:]
    t.eq([x.get("sort") for x in q], ["-createdDate"] * 5, "App Store: sort=-createdDate on every page")
    # run 2: page 1 = ao7 (new) and ao4 (the cursor's, in the overlap), page 2
    # = ao3 and ao2, all older than cursor - 1 h: the run stops there
    t.eq(outs, [(True, 3, 5), (True, 2, 1)],
         "App Store without sort= in its URL: run 2 finds the new review on page 1, stops after page 2")
    # a source that ignores sort= (oldest first): the run pages on
    site.appstore = [rev(i, T0 - (8 - i) * DAY, prefix="aa") for i in range(5)]
    g = new_feed(t, srv, "AS ascending", "appstore", site.base + "/as_asc?limit=2")
    b1 = must(t, run(srv, g["id"]), 200, "ascending run 1")
    site.appstore.append(rev(7, T0 - 600, prefix="aa"))
    b2 = must(t, run(srv, g["id"]), 200, "ascending run 2")
    t.eq(((b1["run"]["pages"], b1["run"]["inserted"]), (b2["run"]["pages"], b2["run"]["inserted"])),
         ((3, 5), (3, 1)), "oldest first although asked newest first: run 2 pages to the end, the new one stored")
    t.eq([m[0] for m in srv.sql("SELECT source_id FROM mentions WHERE source = 'appstore' AND source_id LIKE 'aa%' "
                                "ORDER BY 1")], ["aa0", "aa1", "aa2", "aa3", "aa4", "aa7"], "six stored")
    # Google without orderBy in its URL
    site.google = [rev(i, T0 - (10 - i) * DAY, prefix="go") for i in range(5)]
    h = new_feed(t, srv, "Google no order", "google", site.base + "/g/reviews?pageSize=2")
    n0 = len(site.hits("/g/reviews"))
    must(t, run(srv, h["id"]), 200, "google no order run 1")
    site.google.append(rev(9, T0 - 600, prefix="go"))
    b = must(t, run(srv, h["id"]), 200, "google no order run 2")
    q = site.hits("/g/reviews")[n0:]
    t.eq(([x.get("orderBy") for x in q], b["run"]["inserted"]), (["updateTime desc"] * 5, 1),
         "Google: orderBy=updateTime desc on every page; run 2 stores the new review (2 pages)")


def check_links(t, srv, site):
    """H11, review LOW 4: a relative next link after a redirect, long page
    tokens, an empty page that links on."""
    f = new_feed(t, srv, "Nested", "social", site.base + "/go_nested")
    b = must(t, run(srv, f["id"]), 200, "nested run")
    t.eq(([x.get("page") for x in site.hits("/nested/list")], b["run"]["ok"], b["run"]["inserted"]),
         ([None, "2"], True, 2), "a relative next link resolves against the redirect's target: /nested/list?page=2")
    g = new_feed(t, srv, "Long tokens", "google", site.base + "/g_long")
    b = must(t, run(srv, g["id"]), 200, "long token run")
    t.eq(([x.get("pageToken") for x in site.hits("/g_long")], b["run"]["inserted"]),
         ([None, "p2" + "x" * 700, "p3" + "x" * 700], 3), "a 702-byte page token is sent whole")
    h = new_feed(t, srv, "Huge token", "google", site.base + "/g_huge_token")
    b = must(t, run(srv, h["id"]), 200, "huge token run")
    t.check(b["run"]["ok"] is False and "next page token (2100 bytes)" in (b["run"]["error"] or "")
            and b["feed"]["cursor_updated_at"] is None and len(site.hits("/g_huge_token")) == 1,
            "a token that makes the URL too long fails the run clearly, the cursor stays", ks.got(200, b))
    e = new_feed(t, srv, "Empty next", "social", site.base + "/empty_next")
    b = must(t, run(srv, e["id"]), 200, "empty page run")
    t.eq((b["run"]["ok"], b["run"]["error"], b["feed"]["cursor_updated_at"], b["feed"]["failures"],
          [x.get("page") for x in site.hits("/empty_next")]),
         (False, "page 1 is empty but links to a next page", None, 1, [None]),
         "an empty page with a next link fails the run (the cursor stays)")


def check_social_generic(t, srv, site):
    site.social = [rev(i, T0 - (9 - i) * 3600, prefix="s") for i in range(4)]
    f = new_feed(t, srv, "Social", "social", site.base + "/social/posts")
    b = must(t, run(srv, f["id"]), 200, "social run")
    t.eq([x.get("page", "1") for x in site.hits("/social/posts")], ["1", "2"],
         "social: a relative links.next is resolved and followed")
    t.eq(b["run"]["inserted"], 4, "social: 4 posts")
    t.eq([m[0] for m in mentions(srv, "social")], ["x:s0", "x:s1", "x:s2", "x:s3"], "posts keyed by platform:id")
    c = new_feed(t, srv, "Cycle", "social", site.base + "/cycle?page=1")
    b = must(t, run(srv, c["id"]), 200, "cycle run")
    t.eq(([x.get("page") for x in site.hits("/cycle")], b["run"]["ok"], b["run"]["inserted"]),
         (["1", "2"], True, 2), "a link back to a page of the run ends it: 2 requests, 2 posts")
    # the generic layout: an edited record updates, an older copy does not
    site.generic = [rev(i, T0 - (4 - i) * DAY, prefix="w") for i in range(3)]
    g = new_feed(t, srv, "Webshop", "generic-json", site.base + "/generic.json")
    must(t, run(srv, g["id"]), 200, "generic run 1")
    site.generic[0] = dict(site.generic[0], updated=T0 - 3600, text="Bewerkt: levering was te laat")
    b = must(t, run(srv, g["id"]), 200, "generic run 2")
    q = site.hits("/generic.json")[-1]
    t.eq(q.get("since"), iso(T0 - 2 * DAY - 3600), "generic: since = cursor - 1 h")
    t.eq((b["run"]["received"], b["run"]["inserted"], b["run"]["updated"], b["run"]["unchanged"]), (2, 0, 1, 1),
         "generic: the edited record updates, w2 (in the overlap) is unchanged, w1 does not come")
    t.eq(mentions(srv, "webshop"), [("w0", "Bewerkt: levering was te laat", T0 - 3600),
                                    ("w1", site.generic[1]["text"], T0 - 3 * DAY),
                                    ("w2", site.generic[2]["text"], T0 - 2 * DAY)],
         "three webshop rows; w0 edited in place")
    # the generic layout as CSV
    v = new_feed(t, srv, "CSV", "generic-csv", site.base + "/export.csv")
    b1 = must(t, run(srv, v["id"]), 200, "csv run 1")
    b2 = must(t, run(srv, v["id"]), 200, "csv run 2")
    t.eq((b1["run"]["inserted"], site.hits("/export.csv")[-1].get("since"), b2["run"]["received"],
          b2["run"]["unchanged"]), (2, iso(T0 - 2 * DAY - 3600), 1, 1),
         "generic CSV (BOM, semicolons): 2 rows, then since= cursor - 1 h and only the newest again")
    t.eq(mentions(srv, "csvshop"), [("c1", "Prima; snel", T0 - 3 * DAY), ("c2", "Te laat", T0 - 2 * DAY)],
         "the CSV rows stored as written (a semicolon inside quotes kept)")
    # a record from the future moves the cursor only to the run's time
    site.generic.append(rev(9, T0 - DAY, updated=T0 + 400 * DAY, prefix="w"))
    b = must(t, run(srv, g["id"]), 200, "generic run 3")
    t.eq((b["run"]["inserted"], b["feed"]["cursor_updated_at"]), (1, iso(T0)),
         "an updated_at a year ahead: stored, the cursor stops at the run's time")
    site.generic.pop()


def check_failures(t, srv, site):
    """Each failure is recorded with its reason; nothing is stored; the
    cursor stays."""
    cases = (("fail500", "generic-json", "HTTP 500"),
             ("fail429", "generic-json", "HTTP 429 (Retry-After 300 s)"),
             ("fail503date", "generic-json", "HTTP 503 (Retry-After"),
             ("badjson", "trustpilot", "page 1"),
             ("huge", "generic-json", "larger than 32 MiB"),
             ("offsite", "social", "leaves the feed's host"))
    for path, fmt, want in cases:
        f = new_feed(t, srv, "F " + path, fmt, site.base + "/" + path)
        before = srv.sql("SELECT count(*) FROM mentions")[0][0]
        resp = run(srv, f["id"], timeout=60)
        st, _, b = resp
        r = b.get("run", {}) if isinstance(b, dict) else {}
        feed = b.get("feed", {}) if isinstance(b, dict) else {}
        t.check(st == 200 and r.get("ok") is False and want in (r.get("error") or ""),
                "%s: the run fails with '%s'" % (path, want), ks.got(st, b))
        t.eq((feed.get("failures"), feed.get("state"), feed.get("cursor_updated_at"),
              want in (feed.get("last_error") or "")), (1, "disabled", None, True),
             "%s: one failure recorded with its error, no cursor" % path)
        after = srv.sql("SELECT count(*) FROM mentions")[0][0]
        t.eq(after, before, "%s: nothing stored" % path)
        if path == "fail429":
            t.eq(r.get("next_run_at"), iso(T0 + 300), "429: the next try honours Retry-After 300 s")
        if path == "fail500":
            t.eq(r.get("next_run_at"), iso(T0 + 60), "500: the next try in 1 minute")
        if path == "fail503date":
            t.near(ks.parse_iso(r.get("next_run_at") or iso(0)) - T0, 600, 3,
                   "503 with Retry-After as an HTTP date 10 minutes ahead: the next try ~600 s later")


def check_timeout(t, srv, site):
    site.slow["/slow_generic"] = 8
    site.generic = [rev(0, T0 - DAY, prefix="w")]
    f = new_feed(t, srv, "Slow", "generic-json", site.base + "/slow_generic")
    t1 = time.time()
    st, _, b = run(srv, f["id"])
    took = time.time() - t1
    err = (b.get("run", {}) or {}).get("error") or "" if isinstance(b, dict) else ""
    t.check(st == 200 and b["run"]["ok"] is False and "timed out" in err.lower(),
            "a response slower than --feed-timeout 2 fails as a timeout", ks.got(st, b))
    t.check(took < 6, "the timeout ends the run after ~2 s (took %.1f s)" % took)
    del site.slow["/slow_generic"]


def check_conditional_redirect(t, srv, site):
    f = new_feed(t, srv, "ETag", "generic-json", site.base + "/etag")
    b1 = must(t, run(srv, f["id"]), 200, "etag run 1")
    b2 = must(t, run(srv, f["id"]), 200, "etag run 2")
    b3 = must(t, run(srv, f["id"]), 200, "etag run 3")
    hs = site.headers_of("/etag")
    qs = site.hits("/etag")
    # run 1 asked /etag, runs 2 and 3 /etag?since=cursor-1h: the ETag of
    # run 1 answered another URL, so run 2 sends none (H11, review HIGH 1)
    t.eq([(q.get("since"), h.get("if-none-match")) for q, h in zip(qs, hs)],
         [(None, None), (iso(T0 - DAY - 3600), None), (iso(T0 - DAY - 3600), '"v1"')],
         "If-None-Match only with the URL its ETag answered: runs 1 and 2 none, run 3 the ETag")
    t.eq((b1["run"]["inserted"], b2["run"]["not_modified"], b2["run"]["unchanged"], b3["run"]["not_modified"],
          b3["run"]["ok"], b3["run"]["received"]),
         (1, False, 1, True, True, 0), "304: a successful run that stores nothing")
    # a redirect within the site is followed, the secret goes along
    r = new_feed(t, srv, "Redirect", "trustpilot", site.base + "/redirect", auth_header="apikey: r-123")
    n0 = len(site.hits("/tp/reviews"))
    b = must(t, run(srv, r["id"]), 200, "redirect run")
    t.eq((b["run"]["ok"], b["run"]["unchanged"]), (True, 6), "a 302 to the reviews is followed; all 6 known")
    t.eq(site.headers_of("/tp/reviews")[n0].get("apikey"), "r-123", "the header follows a same-site redirect")


def check_paged_304(t, srv, site):
    """H11, review HIGH 1: a paged feed sends no validators. Its page 1
    unchanged (oldest first) says nothing of page 2, where a new post is."""
    site.social = [rev(i, T0 - 3000 + i * 600, prefix="asc") for i in range(3)]
    f = new_feed(t, srv, "Oldest first", "social", site.base + "/asc")
    outs = []
    for k in range(3):
        if k == 2:
            site.social.append(rev(9, T0 - 100, prefix="asc"))
        b = must(t, run(srv, f["id"]), 200, "asc run %d" % (k + 1))
        outs.append((b["run"]["ok"], b["run"]["not_modified"], b["run"]["pages"], b["run"]["inserted"]))
    t.eq(outs, [(True, False, 2, 3), (True, False, 2, 0), (True, False, 2, 1)],
         "oldest first, 2 a page: run 3 finds the new post on page 2 (page 1 is unchanged)")
    t.eq([h.get("if-none-match") for h in site.headers_of("/asc")], [None] * 6,
         "no If-None-Match on any page of a paged feed")
    t.eq([m[0] for m in mentions(srv, "social") if m[0].startswith("x:asc")],
         ["x:asc0", "x:asc1", "x:asc2", "x:asc9"], "all four posts stored")
    t.eq(must(t, srv.get("/api/v1/mention-feeds/%d" % f["id"]), 200, "get")["runs"], 3, "runs counts 3")


def check_generation(t, srv, site):
    """H11, review HIGH 2: a PUT changing the URL while a run on the old URL
    is in progress: the run's mentions are stored, but its cursor, validators
    and failure are not written to the feed that now has another URL."""
    site.gate.clear()
    site.slow["/slow_generic"] = 8
    site.generic = [rev(i, T0 - (4 - i) * DAY, prefix="gen") for i in range(3)]
    f = new_feed(t, srv, "Moved", "generic-json", site.base + "/slow_generic")
    n0 = len(site.hits("/slow_generic"))
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", run(srv, f["id"])), daemon=True)
    th.start()
    t.check(wait_for(lambda: len(site.hits("/slow_generic")) > n0, 20), "the run on the old URL is on its way")
    g = must(t, srv.request("PUT", "/api/v1/mention-feeds/%d" % f["id"], {"url": site.base + "/generic.json"}),
             200, "move the feed while it runs")
    site.gate.set()
    th.join(20)
    st, _, b = out.get("r", (0, None, {}))
    t.check(st == 200 and b["run"]["ok"] is True and b["run"]["inserted"] == 3, "the old URL's run ended ok, 3 stored",
            ks.got(st, b))
    feed = must(t, srv.get("/api/v1/mention-feeds/%d" % f["id"]), 200, "get")
    t.eq((g["cursor_updated_at"], feed["cursor_updated_at"], feed["last_ok_at"], feed["runs"]),
         (None, None, None, 1), "after the old run: still no cursor, no success recorded on the new URL; runs 1")
    t.eq(srv.sql("SELECT etag, etag_url FROM mention_feeds WHERE id = ?", (f["id"],)), [(None, None)],
         "no validators of the old URL")
    t.eq([m[0] for m in mentions(srv, "webshop") if m[0].startswith("gen")], ["gen0", "gen1", "gen2"],
         "the old run's mentions stay stored")
    n1 = len(site.hits("/generic.json"))
    must(t, run(srv, f["id"]), 200, "run on the new URL")
    t.eq([q.get("since") for q in site.hits("/generic.json")[n1:]], [None],
         "the new URL's first run asks for everything (no since from the old URL's run)")
    # the same with a failure: the old URL fails after the move
    site.gate.clear()
    site.slow["/slow_fail"] = 8
    h = new_feed(t, srv, "Moved failing", "generic-json", site.base + "/slow_fail")
    n0 = len(site.hits("/slow_fail"))
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", run(srv, h["id"])), daemon=True)
    th.start()
    t.check(wait_for(lambda: len(site.hits("/slow_fail")) > n0, 20), "the failing run is on its way")
    must(t, srv.request("PUT", "/api/v1/mention-feeds/%d" % h["id"], {"url": site.base + "/generic.json"}),
         200, "move the failing feed while it runs")
    site.gate.set()
    th.join(20)
    st, _, b = out.get("r", (0, None, {}))
    feed = must(t, srv.get("/api/v1/mention-feeds/%d" % h["id"]), 200, "get")
    t.eq((st, b.get("run", {}).get("ok"), feed["failures"], feed["last_error"], feed["next_run_at"], feed["runs"]),
         (200, False, 0, None, g["next_run_at"], 1),
         "the old URL's failure is not recorded on the moved feed (no failure, no backoff; runs 1)")
    del site.slow["/slow_generic"]
    del site.slow["/slow_fail"]


def start_site_at(addr, other):
    s2 = Site()
    h2 = SiteServer((addr, 0), Handler)
    h2.site = s2
    s2.base = "http://%s:%d" % (addr, h2.server_address[1])
    s2.other = other
    threading.Thread(target=h2.serve_forever, daemon=True).start()
    return s2, h2


def check_cross_origin(t, srv, site):
    """H11, review item 8: the secret header goes only to the feed's own
    origin — not after a redirect to another host name or another port, and
    a next link elsewhere fails the run before any request."""
    site.generic = [rev(0, T0 - DAY, prefix="xo")]
    host2, h2 = start_site_at("127.0.0.2", site.base)     # another host name (address)
    port2, h3 = start_site_at("127.0.0.1", site.base)     # the same host, another port
    host2.generic = port2.generic = site.generic
    try:
        for other, what in ((host2, "another host"), (port2, "another port")):
            site.other = other.base
            f = new_feed(t, srv, "X " + what, "generic-json", site.base + "/to_other",
                         auth_header="X-Key: geheim-" + what.replace(" ", "-"))
            b = must(t, run(srv, f["id"]), 200, "redirect to " + what)
            hs = other.headers_of("/generic.json")
            t.eq((b["run"]["ok"], b["run"]["inserted"] + b["run"]["unchanged"], [h.get("x-key") for h in hs],
                  [h.get("x-key") for h in site.headers_of("/to_other")][-1]),
                 (True, 1, [None], "geheim-" + what.replace(" ", "-")),
                 "a redirect to %s is followed without the secret header (the feed's host had it)" % what)
            g = new_feed(t, srv, "L " + what, "social", site.base + "/link_other", auth_header="X-Key: l-geheim")
            n0 = len(other.hits("/generic.json"))
            b = must(t, run(srv, g["id"]), 200, "next link to " + what)
            t.eq((b["run"]["ok"], "leaves the feed's host" in (b["run"]["error"] or ""),
                  len(other.hits("/generic.json")) - n0, b["feed"]["cursor_updated_at"]),
                 (False, True, 0, None), "a next link to %s fails the run; no request goes there" % what)
    finally:
        h2.shutdown()
        h3.shutdown()


def check_private(t, site):
    """H11, review MEDIUM 5: a redirect from a public host to a private
    address is refused. 127.0.0.1 counts as public here (--feed-test-public,
    test mode only); 127.0.0.2 is loopback, private. The feed's own host may
    be private (an admin's internal feed); --feed-allow-private lets
    redirects through; no proxy from the environment."""
    inner, h2 = start_site_at("127.0.0.2", site.base)
    inner.generic = [rev(0, T0 - DAY, prefix="pv")]
    site.other = inner.base
    env = {"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9"}
    for allow in (False, True):
        args = ["--test-clock", iso(T0), "--feed-timeout", "5", "--quiet", "--feed-test-public", "127.0.0.1"]
        srv = ks.Server(t, args=args + (["--feed-allow-private"] if allow else []), env=env)
        try:
            srv.start()
            n0 = len(inner.hits("/generic.json"))
            f = new_feed(t, srv, "Public", "generic-json", site.base + "/to_other")
            b = must(t, run(srv, f["id"]), 200, "public to private")
            if not allow:
                t.eq((b["run"]["ok"], (b["run"]["error"] or "")[:39], len(inner.hits("/generic.json")) - n0,
                      b["feed"]["failures"]),
                     (False, "refused to connect to 127.0.0.2 (a priv", 0, 1),
                     "a redirect from a public host to 127.0.0.2 is refused before connecting")
                # the refusal quotes the URL: 300 two-byte letters run past the
                # 511 bytes a run's error keeps; cut between letters, or the
                # error is no JSON string
                h = new_feed(t, srv, "Lang", "generic-json", site.base + "/to_other_long")
                b = must(t, run(srv, h["id"]), 200, "public to private, a long URL")
                head = "refused to connect to 127.0.0.2 (a private address) for %s/generic.json?q=" % inner.base
                want = head + "é" * ((511 - len(head.encode())) // 2)
                t.eq((b["run"]["ok"], b["run"]["error"], b["feed"]["last_error"]), (False, want, want),
                     "a refused redirect to a long URL: the error cut at 511 bytes between letters")
                g = new_feed(t, srv, "Internal", "generic-json", inner.base + "/generic.json")
                b = must(t, run(srv, g["id"]), 200, "own private host")
                t.eq((b["run"]["ok"], b["run"]["inserted"]), (True, 1),
                     "a feed configured on a private address is fetched (the admin's choice)")
            else:
                t.eq((b["run"]["ok"], len(inner.hits("/generic.json")) - n0), (True, 1),
                     "--feed-allow-private: the redirect to 127.0.0.2 is followed")
        finally:
            srv.stop()
            srv.cleanup()
    h2.shutdown()


def check_backoff(t, srv, site):
    """An enabled failing feed runs on the thread: 1, 2, 4, 8 minutes, then
    capped at 8 x interval (interval 60 s: 480 s)."""
    f = new_feed(t, srv, "Backoff", "generic-json", site.base + "/fail500", enabled=True, interval_s=60)
    now = T0
    want_delays = [60, 120, 240, 480, 480]
    seen = []
    for k, d in enumerate(want_delays):
        got = wait_for(lambda: (lambda g: g if g[2]["failures"] == k + 1 else None)(
            srv.get("/api/v1/mention-feeds/%d" % f["id"])))
        feed = got[2] if got else {}
        seen.append((feed.get("failures"), feed.get("next_run_at")))
        if feed.get("failures") != k + 1 or k == len(want_delays) - 1:
            break
        now = now + d
        set_clock(t, srv, now)
    t.eq(seen, [(k + 1, iso(T0 + sum(want_delays[:k + 1]))) for k in range(5)],
         "next_run_at grows 1, 2, 4, 8 minutes, then stays at 8 x the interval")
    time.sleep(1.5)  # a pass or two of the thread: nothing is due
    t.eq(len(site.hits("/fail500")), 1 + 5, "one request per due time, none in between (+1: the run-now of the 500 case)")
    # a success clears the failures
    site.generic = [rev(0, T0 - DAY, prefix="w")]
    g = must(t, srv.request("PUT", "/api/v1/mention-feeds/%d" % f["id"], {"url": site.base + "/generic.json"}),
             200, "point the feed at a working URL")
    t.eq((g["failures"], g["next_run_at"]), (0, iso(now)), "a new URL: no failures, due at once")
    ok = wait_for(lambda: (lambda r: r if r[2]["last_ok_at"] else None)(
        srv.get("/api/v1/mention-feeds/%d" % f["id"])))
    feed = ok[2] if ok else {}
    t.eq((feed.get("state"), feed.get("failures"), feed.get("next_run_at"), feed.get("last_error")),
         ("ok", 0, iso(now + 60), "HTTP 500"),
         "after a success: state ok, failures 0, next run one interval later, the last error kept")
    must(t, srv.request("PUT", "/api/v1/mention-feeds/%d" % f["id"], {"enabled": False}), 200, "disable")
    return now


def check_resume(t, srv, site):
    """H11, review finding 4: a run failing at page 3 of 4 resumes there, not
    at page 1; the cursor moves only at the end, to the newest of all pages.
    A resume page that fails itself (an expired token) is forgotten."""
    site.tp = [rev(i, T0 - (30 - i) * 3600, prefix="rs") for i in range(8)]  # 4 pages of 2, rs7 newest
    f = new_feed(t, srv, "Resume", "trustpilot", site.base + "/tp/reviews?x=1")
    site.fail_page = "3"
    n0 = len(site.hits("/tp/reviews"))
    b = must(t, run(srv, f["id"]), 200, "resume run 1 (page 3 fails)")
    t.eq(([q.get("page", "1") for q in site.hits("/tp/reviews")[n0:]], b["run"]["ok"], b["feed"]["cursor_updated_at"]),
         (["1", "2", "3"], False, None), "run 1: pages 1, 2 stored, page 3 fails; no cursor")
    site.fail_page = None
    n0 = len(site.hits("/tp/reviews"))
    b = must(t, run(srv, f["id"]), 200, "resume run 2")
    t.eq(([q.get("page", "1") for q in site.hits("/tp/reviews")[n0:]], b["run"]["ok"], b["run"]["inserted"],
          b["feed"]["cursor_updated_at"]),
         (["3", "4"], True, 4, iso(T0 - 23 * 3600)),
         "run 2 resumes at page 3: pages 3 and 4 (4 inserted); the cursor is rs7's, from run 1's page 1")
    t.eq(srv.sql("SELECT resume_url FROM mention_feeds WHERE id = ?", (f["id"],)), [(None,)],
         "a completed run clears the resume point")
    t.eq(srv.sql("SELECT count(*) FROM mentions WHERE source_id LIKE 'rs%'"), [(8,)], "all 8 stored once")
    # a resume page that fails itself is forgotten: the run after starts at page 1
    site.tp.append(rev(20, T0 - 3600, prefix="rs"))
    site.tp.append(rev(21, T0 - 1800, prefix="rs"))
    site.tp.append(rev(22, T0 - 900, prefix="rs"))
    g = new_feed(t, srv, "Resume stale", "trustpilot", site.base + "/tp/reviews?x=2")
    site.fail_page = "2"
    must(t, run(srv, g["id"]), 200, "stale run 1 (page 2 fails)")
    n0 = len(site.hits("/tp/reviews"))
    b = must(t, run(srv, g["id"]), 200, "stale run 2 (the resume page fails again)")
    site.fail_page = None
    b3 = must(t, run(srv, g["id"]), 200, "stale run 3")
    t.eq(([q.get("page", "1") for q in site.hits("/tp/reviews")[n0:]], b["run"]["ok"], b3["run"]["ok"]),
         (["2", "1", "2", "3", "4", "5", "6"], False, True),
         "the resume page failing again: forgotten, the next run starts at page 1 (6 pages of 11)")


def check_kill9(t, srv, site, now):
    """kill -9 while a run waits for page 3: pages 1-2 are stored, the cursor
    has not moved; after a restart the next run stores page 3 and finds
    pages 1-2 unchanged."""
    site.tp = [rev(i, now - (20 - i) * 3600, prefix="kk") for i in range(6)]  # 3 pages of 2
    f = new_feed(t, srv, "Kill", "trustpilot", site.base + "/tp/reviews")
    site.gate.clear()
    site.slow["/tp/reviews"] = 60
    site.slow_page = "3"
    n0 = len(site.hits("/tp/reviews"))
    th = threading.Thread(target=run_quietly, args=(srv, f["id"]), daemon=True)
    th.start()
    got3 = wait_for(lambda: any(q.get("page") == "3" for q in site.hits("/tp/reviews")[n0:]), 30)
    t.check(got3, "the run reached page 3")
    stored = srv.sql("SELECT count(*) FROM mentions WHERE source_id LIKE 'kk%'")[0][0]
    t.eq(stored, 4, "pages 1 and 2 are stored while page 3 is on its way")
    srv.kill()
    site.slow.pop("/tp/reviews", None)
    site.slow_page = None
    site.gate.set()
    t.eq(srv.sql("SELECT cursor_updated_at FROM mention_feeds WHERE id = ?", (f["id"],)), [(None,)],
         "after kill -9 the cursor has not moved")
    srv.start()
    n1 = len(site.hits("/tp/reviews"))
    b = must(t, run(srv, f["id"]), 200, "run after the restart")
    # H11, review finding 4: the run resumes after its last committed page
    t.eq(([q.get("page") for q in site.hits("/tp/reviews")[n1:]], b["run"]["inserted"], b["run"]["unchanged"],
          b["feed"]["cursor_updated_at"]),
         (["3"], 2, 0, iso(now - 15 * 3600)),
         "after the restart: the run resumes at page 3 (2 inserted); the cursor is kk5's, stored before the kill")
    t.eq(srv.sql("SELECT count(*), count(DISTINCT source_id) FROM mentions WHERE source_id LIKE 'kk%'"),
         [(6, 6)], "six mentions, none twice")


def check_queue(t, srv, site):
    """"Run now" while another feed is being fetched does not wait: 202, and
    the poller's thread runs it right after (disabled or not)."""
    site.gate.clear()
    site.slow["/slow_generic"] = 8
    site.generic = [rev(0, T0 - DAY, prefix="q")]
    f = new_feed(t, srv, "Slow first", "generic-json", site.base + "/slow_generic")
    g = new_feed(t, srv, "Waits", "generic-json", site.base + "/generic.json")
    n0 = len(site.hits("/slow_generic"))
    th = threading.Thread(target=run_quietly, args=(srv, f["id"]), daemon=True)
    th.start()
    t.check(wait_for(lambda: len(site.hits("/slow_generic")) > n0, 20), "the slow run is on its way")
    t1 = time.time()
    st, _, b = run(srv, g["id"], wait=False)
    t.check(st == 202 and isinstance(b, dict) and b.get("queued") is True and b["feed"]["id"] == g["id"]
            and time.time() - t1 < 1.5, "run now during another run: 202 queued at once", ks.got(st, b))
    done = wait_for(lambda: (lambda r: r[2] if r[2].get("last_ok_at") else None)(
        srv.get("/api/v1/mention-feeds/%d" % g["id"])), 15)
    t.eq((done or {}).get("last_run"), {"pages": 1, "received": 1, "inserted": 1, "updated": 0, "unchanged": 0},
         "the thread ran the queued feed after the slow one (disabled as it is)")
    th.join(10)
    del site.slow["/slow_generic"]


def check_shutdown(t, srv, site):
    """SIGTERM while a run-now waits for a slow feed and another is queued
    behind it: the server exits promptly; the queued one is not fetched."""
    site.gate.clear()
    site.slow["/slow_generic"] = 60
    f = new_feed(t, srv, "Slow stop", "generic-json", site.base + "/slow_generic")
    g = new_feed(t, srv, "Queued at stop", "generic-json", site.base + "/etag")
    n0 = len(site.hits("/slow_generic"))
    th = threading.Thread(target=run_quietly, args=(srv, f["id"]), daemon=True)
    th.start()
    t.check(wait_for(lambda: len(site.hits("/slow_generic")) > n0, 20), "the slow request is on its way")
    t.status(run(srv, g["id"], wait=False), 202, "a second run now is queued")
    e0 = len(site.hits("/etag"))
    t1 = time.time()
    srv.stop("SIGTERM during a slow feed: exit 0")
    took = time.time() - t1
    t.check(took < 4.0, "the server stopped %.1f s after SIGTERM (the transfer is aborted, not awaited)" % took)
    t.eq(len(site.hits("/etag")), e0, "the queued feed was not fetched after the stop began")
    site.gate.set()


def main(t):
    site, httpd = start_site()
    srv = ks.Server(t, args=["--test-clock", iso(T0), "--feed-timeout", "2", "--quiet"])
    try:
        t.healthz(srv.start(), "server starts in test mode")
        f = check_api(t, srv, site)
        check_trustpilot(t, srv, site, f)
        check_google(t, srv, site)
        check_kiyoh(t, srv, site)
        check_appstore(t, srv, site)
        check_order(t, srv, site)
        check_social_generic(t, srv, site)
        check_links(t, srv, site)
        check_cross_origin(t, srv, site)
        check_failures(t, srv, site)
        check_timeout(t, srv, site)
        check_queue(t, srv, site)
        check_conditional_redirect(t, srv, site)
        check_paged_304(t, srv, site)
        check_generation(t, srv, site)
        now = check_backoff(t, srv, site)
        check_kill9(t, srv, site, now)
        check_resume(t, srv, site)
        # delete: the feed goes, its mentions stay
        n = srv.sql("SELECT count(*) FROM mentions")[0][0]
        must(t, srv.request("DELETE", "/api/v1/mention-feeds/%d" % f["id"]), 200, "delete")
        t.error(srv.get("/api/v1/mention-feeds/%d" % f["id"]), 404, name="a deleted feed is gone")
        t.eq(srv.sql("SELECT count(*) FROM mentions")[0][0], n, "its mentions stay")
        t.eq(srv.sql("SELECT action FROM audit_log WHERE object_kind = 'mention_feed' AND object_id = ? "
                     "ORDER BY id", (f["id"],)),
             [("mention_feed.create",), ("mention_feed.update",), ("mention_feed.run",), ("mention_feed.run",),
              ("mention_feed.run",), ("mention_feed.delete",)], "audit: create, update, three runs, delete")
        check_shutdown(t, srv, site)
        check_private(t, site)
    except ks.FixtureError as ex:
        t.check(False, "fixture", str(ex))
    finally:
        srv.stop()
        srv.cleanup()
        httpd.shutdown()


if __name__ == "__main__":
    ks.run(main, start_server=False)
