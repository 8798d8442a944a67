#!/usr/bin/python3
"""Public score widgets (issue 16, "Scores made public"): docs/API.md
"Public score widgets".

An admin publishes widgets (PUT /api/v1/widgets, the whole list); each is
public at /w/{token}.json and /w/{token} (an HTML snippet). The figures are
computed here from the answers this test posts (never with the product's
helpers) and must equal /api/v1/metrics for the same slice and period;
below the minimum n (5) the widget shows n and no value. Headers: no
cookie, cacheable (public, max-age=300, ETag, 304 on If-None-Match), CORS
on the JSON, framing allowed on /w only, inline style by its hash. Rate
limit per address (the open-link guard's default, 10 per 60 s; the test
clock stands still, so nothing refills): the 11th request is 429 with
Retry-After. Non-admins get 403; bad bodies 422 naming the field.
"""

import base64
import hashlib
import json
import os
import re
import sys
import urllib.parse
from fractions import Fraction

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

TEST_CLOCK = "2026-11-20T10:00:00Z"
PASSWORD = "widget-test-password"

# October 2026 (a whole month before the test clock): 7 answers on tp1 of
# the team. September: 3 answers on tp2 (below the minimum n of 5).
OCTOBER = [(10, 9), (9, 8), (9, 10), (8, 7), (6, 5), (3, 4), (10, 9)]
SEPTEMBER = [(9, 8), (7, 6), (2, 3)]


def nps_text(rows):
    """The NPS of the rows (points, 1 decimal) as the JSON number."""
    p = sum(1 for n, _ in rows if n >= 9)
    d = sum(1 for n, _ in rows if n <= 6)
    return ks.num_exact(Fraction(100 * (p - d), len(rows)), 1)


def grade_mean(rows):
    return ks.num_exact(Fraction(sum(g for _, g in rows), len(rows)), 2)


def post_answers(srv, f, rows, tp, month):
    for i, (nps, grade) in enumerate(rows):
        body = {"client_key": ks.uniq("wg"), "team_id": f["team"]["id"], "touchpoint_id": f[tp]["id"],
                "channel": "web", "received_at": "2026-%02d-%02dT10:00:00Z" % (month, 3 + i),
                "answers": {"nps": nps, "grade": grade}}
        st, _, b = srv.post("/api/v1/responses", body)
        if st != 201:
            raise ks.FixtureError("POST /responses -> %s" % ks.got(st, b))


def token_for(srv, email):
    st, hd, body = srv.post("/api/v1/auth/login", {"email": email, "password": PASSWORD}, auth=False)
    if st != 200:
        raise ks.FixtureError("login %s -> %s" % (email, ks.got(st, body)))
    cookie = hd.get("Set-Cookie", "").split(";")[0]
    st, _, tok = srv.post("/api/v1/auth/tokens", {"name": "widget"}, auth=False,
                          headers={"Cookie": cookie, "X-CSRF-Token": body["csrf_token"]})
    if st != 200 and st != 201:
        raise ks.FixtureError("token -> %s" % ks.got(st, tok))
    return tok["token"]


def put(srv, items, **kw):
    return srv.request("PUT", "/api/v1/widgets", {"widgets": items}, **kw)


def anon(srv, path, headers=None):
    return srv.request("GET", path, headers=headers, auth=False)


def main(t, srv):
    f = ks.base_fixture(srv)
    post_answers(srv, f, OCTOBER, "tp1", 10)
    post_answers(srv, f, SEPTEMBER, "tp2", 9)
    org, team, tp1, tp2 = f["org"]["id"], f["team"]["id"], f["tp1"]["id"], f["tp2"]["id"]

    # ---- nothing is public before it is published
    st, _, b = srv.get("/api/v1/widgets")
    t.eq((st, b), (200, {"widgets": []}), "GET /widgets: an empty list at first")

    items = [
        {"scope": "organisation", "scope_id": org, "measure": "grade", "period": "2026-10"},
        {"scope": "team", "scope_id": team, "measure": "nps", "period": "2026-10", "enabled": True},
        {"scope": "touchpoint", "scope_id": tp1, "measure": "grade", "period": "2026-10"},
        {"scope": "touchpoint", "scope_id": tp2, "measure": "nps", "period": "2026-09"},
        {"scope": "organisation", "scope_id": org, "measure": "nps", "period": "2026-10", "enabled": False},
        {"scope": "team", "scope_id": team, "measure": "grade", "period": "2026-10"},
    ]
    st, _, b = put(srv, items)
    ws = b.get("widgets", []) if isinstance(b, dict) else []
    if not t.check(st == 200 and len(ws) == 6, "PUT /widgets (admin) -> 200 with the 6 widgets", ks.got(st, b)):
        return
    for i, (w, want) in enumerate(zip(ws, items)):
        t.eq({k: w.get(k) for k in ("scope", "scope_id", "measure", "period", "enabled")},
             dict(want, enabled=want.get("enabled", True)), "widget %d stored as sent (enabled defaults to true)" % i)
        t.check(re.fullmatch(r"[0-9a-f]{24}", w.get("token", "")) is not None,
                "widget %d has a 24-hex token" % i, w.get("token"))
        t.check(w.get("url", "").endswith("/w/" + w.get("token", "?")) and w.get("json_url") == w.get("url", "") + ".json",
                "widget %d: url and json_url name /w/{token}" % i, w)
    t.eq(len({w["token"] for w in ws}), 6, "the six tokens differ")
    tok = [w["token"] for w in ws]
    st, _, b2 = srv.get("/api/v1/widgets")
    t.eq((st, b2), (200, b), "GET /widgets returns the list as PUT answered it")

    # ---- the JSON equals /metrics and the independent computation
    def metrics(q):
        st, _, m = srv.get("/api/v1/metrics?" + urllib.parse.urlencode(q))
        if st != 200:
            raise ks.FixtureError("/metrics %s -> %s" % (q, ks.got(st, m)))
        return m

    m_org = metrics({"period": "2026-10", "team_id": org})
    m_team = metrics({"period": "2026-10", "team_id": team})
    m_tp1 = metrics({"period": "2026-10", "touchpoint_id": tp1})
    m_tp2 = metrics({"period": "2026-09", "touchpoint_id": tp2})

    st, hd, j = anon(srv, "/w/%s.json" % tok[0])
    want = {"name": f["org"]["name"], "measure": "grade", "value": grade_mean(OCTOBER), "n": 7,
            "insufficient": False,
            "period": {"from": "2026-10-01T00:00:00+02:00", "to": "2026-11-01T00:00:00+01:00"},
            "updated_at": "2026-11-20T00:00:00+01:00"}
    t.eq((st, j), (200, want), "organisation grade: /w/{token}.json = the mean of the 7 October grades (7.43), n 7")
    t.eq((j.get("value"), j.get("n"), j.get("period", {}).get("from"), j.get("period", {}).get("to")),
         (m_org["grade"]["mean"], m_org["grade"]["n"], m_org["filter"]["from"], m_org["filter"]["to"]),
         "organisation grade: value, n and period equal /metrics for the same slice")

    st, _, j = anon(srv, "/w/%s.json" % tok[1])
    t.eq((st, j.get("measure"), j.get("value"), j.get("n"), j.get("name")),
         (200, "nps", nps_text(OCTOBER), 7, f["team"]["name"]),
         "team NPS: (4 promoters - 2 detractors) / 7 = 28.6, n 7")
    t.eq(j.get("value"), m_team["nps"]["value"], "team NPS equals /metrics' nps.value")

    st, _, j = anon(srv, "/w/%s.json" % tok[2])
    t.eq((st, j.get("value"), j.get("n"), j.get("name")), (200, m_tp1["grade"]["mean"], 7, f["tp1"]["name"]),
         "touchpoint grade equals /metrics with touchpoint_id")
    t.eq(j.get("value"), grade_mean(OCTOBER), "touchpoint grade = 7.43 computed from the answers")

    # ---- below the minimum n: no value, n shown
    st, _, j = anon(srv, "/w/%s.json" % tok[3])
    t.eq((st, j.get("value", "absent"), j.get("n"), j.get("insufficient")), (200, None, 3, True),
         "touchpoint with 3 answers (min n 5): value null, n 3, insufficient")
    t.eq((m_tp2.get("n"), m_tp2.get("insufficient"), m_tp2.get("nps")), (3, True, None), "/metrics agrees: n 3, insufficient, no NPS")
    st, hd, h = anon(srv, "/w/%s" % tok[3])
    t.check(st == 200 and "Te weinig reacties" in h and "n = 3" in h and "application/ld+json" not in h,
            "HTML below min n: 'Te weinig reacties', n = 3, no JSON-LD", h)
    st, hd, h = anon(srv, "/w/%s?lang=en" % tok[3])
    t.check(st == 200 and "Not enough responses" in h and 'lang="en"' in h, "?lang=en: 'Not enough responses'", h)
    t.check(not re.search(r"[-+]?\d+[.,]\d", h.split("<body>")[-1]), "no figure in the body below min n", h)

    # ---- the HTML snippet and its JSON-LD
    st, hd, h = anon(srv, "/w/%s" % tok[0])
    t.check(st == 200 and "7,43" in h and "n = 7" in h and "Gemiddeld rapportcijfer" in h
            and "2026-10-01 t/m 2026-10-31" in h,
            "HTML (nl): 7,43, n = 7, period 2026-10-01 t/m 2026-10-31", h)
    lds = re.findall(r'<script type="application/ld\+json">(.*?)</script>', h, re.S)
    ld = json.loads(lds[0]) if len(lds) == 1 else {}
    t.eq(ld, {"@context": "https://schema.org", "@type": "AggregateRating",
              "itemReviewed": {"@type": "Organization", "name": f["org"]["name"]},
              "ratingValue": "7.43", "bestRating": "10", "worstRating": "1", "ratingCount": 7},
         "grade widget: one schema.org AggregateRating, ratingCount = n")
    t.check("<script>" not in h and "<script " not in h.replace('<script type="application/ld+json">', ""),
            "no script other than the JSON-LD data block", h)
    styles = re.findall(r"<style>(.*?)</style>", h, re.S)
    csp = hd.get("Content-Security-Policy", "")
    want_hash = "'sha256-%s'" % base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode() if styles else "?"
    t.check(len(styles) == 1 and ("style-src " + want_hash) in csp and "default-src 'none'" in csp
            and "frame-ancestors *" in csp and "script-src" not in csp,
            "HTML CSP: default-src 'none', the style by its SHA-256, frame-ancestors *", csp)
    t.eq((hd.get("X-Frame-Options"), hd.get("Set-Cookie"), hd.get("Cache-Control"),
          hd.get("Access-Control-Allow-Origin"), (hd.get("Content-Type") or "").split(";")[0]),
         (None, None, "public, max-age=300", None, "text/html"),
         "HTML headers: no X-Frame-Options, no cookie, public max-age=300, no CORS")
    st, _, h = anon(srv, "/w/%s?lang=en" % tok[0])
    t.check(st == 200 and "7.43" in h and "Average grade" in h and "2026-10-01 to 2026-10-31" in h,
            "HTML (en): 7.43, 'Average grade'", h)
    st, _, h = anon(srv, "/w/%s" % tok[1])
    t.check(st == 200 and "+28,6" in h and "application/ld+json" not in h,
            "NPS widget: +28,6 and no AggregateRating (an NPS is not a rating)", h)

    # ---- JSON headers, ETag
    st, hd, _ = anon(srv, "/w/%s.json" % tok[2])
    etag = hd.get("ETag") or ""
    t.eq((st, hd.get("Access-Control-Allow-Origin"), hd.get("Cache-Control"), hd.get("Set-Cookie"),
          hd.get("X-Frame-Options"), bool(re.fullmatch(r'"[0-9a-f]{32}"', etag))),
         (200, "*", "public, max-age=300", None, None, True),
         "JSON headers: CORS *, public max-age=300, a quoted ETag, no cookie, no X-Frame-Options")
    t.check("default-src 'none'" in (hd.get("Content-Security-Policy") or ""), "JSON CSP default-src 'none'",
            hd.get("Content-Security-Policy"))
    st, hd2, body = anon(srv, "/w/%s.json" % tok[2], headers={"If-None-Match": etag})
    t.eq((st, body, hd2.get("ETag")), (304, "", etag), "If-None-Match with the ETag -> 304, empty, same ETag")
    # nothing else loosened
    st, hd, _ = srv.get("/api/v1/widgets")
    t.eq((hd.get("X-Frame-Options"), hd.get("Cache-Control"), hd.get("Access-Control-Allow-Origin")),
         ("DENY", "no-store", None), "the admin API keeps X-Frame-Options DENY, no-store, no CORS")

    # ---- disabled and unknown: the same 404
    st_d, hd_d, b_d = anon(srv, "/w/%s.json" % tok[4])
    st_u, _, b_u = anon(srv, "/w/%s.json" % ("0" * 24))
    st_x, _, b_x = anon(srv, "/w/not-a-token")
    t.eq((st_d, st_u, st_x), (404, 404, 404), "disabled, unknown and malformed tokens -> 404")
    t.eq(b_d, b_u, "disabled and unknown tokens answer the same body")
    t.eq(b_d.get("error", {}).get("code") if isinstance(b_d, dict) else None, "not_found", "404 code not_found")
    t.check(hd_d.get("Cache-Control") == "no-store", "a 404 is not cached", hd_d.get("Cache-Control"))
    t.error(anon(srv, "/w/%s?lang=de" % tok[0]), 422, field="lang", name="?lang=de -> 422 naming lang")

    # ---- rate limit per address: the 11th request in the window is 429
    got = [anon(srv, "/w/%s.json" % tok[5])[0] for _ in range(10)]
    t.eq(got, [200] * 10, "10 requests to one widget from one address -> 200")
    st, hd, b = anon(srv, "/w/%s" % tok[5])
    ra = hd.get("Retry-After") or ""
    t.check(st == 429 and ra.isdigit() and 1 <= int(ra) <= 60, "the 11th (HTML) -> 429 with Retry-After 1..60",
            "%s Retry-After=%r %s" % (st, ra, ks.short(b)))
    t.eq(anon(srv, "/w/%s.json" % tok[2])[0], 200, "another widget has its own allowance")

    # ---- who may publish
    for role in ("director", "manager"):
        email = "%s@widget.test" % ks.uniq(role)
        body = {"email": email, "name": role, "role": role, "password": PASSWORD}
        if role == "manager":
            body["unit_id"] = f["dept"]["id"]
        st, _, u = srv.post("/api/v1/users", body)
        if not t.check(st == 201, "create a %s" % role, ks.got(st, u)):
            continue
        bearer = {"Authorization": "Bearer " + token_for(srv, email)}
        t.error(put(srv, items, headers=bearer), 403, code="forbidden", name="PUT /widgets as %s -> 403" % role)
        t.error(srv.request("GET", "/api/v1/widgets", headers=bearer), 403, code="forbidden",
                name="GET /widgets as %s -> 403" % role)
    t.error(put(srv, items, auth=False), 401, name="PUT /widgets without credentials -> 401")

    # ---- bad bodies: 422 naming the field, the list unchanged
    keep = [{k: w[k] for k in ("token", "scope", "scope_id", "measure", "period", "enabled")} for w in ws]
    base = {"scope": "team", "scope_id": team, "measure": "nps", "period": "2026-10"}
    bad = [
        ({"widgets": {}}, "widgets", "widgets not an array"),
        ({"widgets": [], "colour": "red"}, "colour", "an unknown member"),
        ({"widgets": [dict(base, scope="planet")]}, "widgets[0].scope", "scope planet"),
        ({"widgets": [keep[0], dict(base, measure="ces")]}, "widgets[1].measure", "measure ces"),
        ({"widgets": [dict(base, period="last_90d")]}, "widgets[0].period", "a rolling period (last_90d)"),
        ({"widgets": [dict(base, period="2026-W40")]}, "widgets[0].period", "a week"),
        ({"widgets": [dict(base, scope_id=0)]}, "widgets[0].scope_id", "scope_id 0"),
        ({"widgets": [dict(base, scope_id=tp1 + 100000)]}, "widgets[0].scope_id", "a team that does not exist"),
        ({"widgets": [dict(base, scope="organisation")]}, "widgets[0].scope_id", "organisation scope naming a team"),
        ({"widgets": [dict(base, enabled="yes")]}, "widgets[0].enabled", "enabled not a boolean"),
        ({"widgets": [dict(base, colour=1)]}, "widgets[0].colour", "an unknown member of an item"),
        ({"widgets": [dict(base, token="f" * 24)]}, "widgets[0].token", "a token not in the list"),
        ({"widgets": [keep[0], keep[0]]}, "widgets[1].token", "the same token twice"),
        ({"widgets": [dict(base, scope=None)]}, "widgets[0].scope", "scope missing"),
    ]
    for body, field, what in bad:
        t.error(srv.request("PUT", "/api/v1/widgets", body), 422, field=field, name="PUT: %s -> 422 %s" % (what, field))
    st, _, b3 = srv.get("/api/v1/widgets")
    t.eq(b3, b2, "after the refused PUTs the list is unchanged")

    # ---- audit: each accepted PUT is one widget.update entry
    keep[4]["enabled"] = True
    st, _, b4 = put(srv, keep)
    t.eq((st, [w["token"] for w in b4.get("widgets", [])]), (200, tok), "PUT with the tokens keeps them (one re-enabled)")
    st, _, j = anon(srv, "/w/%s.json" % tok[4])
    t.eq((st, j.get("value"), j.get("n")), (200, m_org["nps"]["value"], 7), "the re-enabled widget is public again")
    st, _, a = srv.get("/api/v1/audit?action=widget.update")
    entries = a.get("items", []) if isinstance(a, dict) else []
    t.eq(len(entries), 2, "two accepted PUTs -> two widget.update audit entries")
    newest = entries[0].get("detail", {}).get("widgets", []) if entries else []
    t.eq([w.get("enabled") for w in newest], [True] * 6, "the newest entry holds the list as written")
    st, _, b5 = put(srv, [])
    t.eq((st, b5), (200, {"widgets": []}), "PUT [] unpublishes everything")
    t.eq(anon(srv, "/w/%s.json" % tok[0])[0], 404, "an unpublished widget -> 404")

    # ---- relative periods: the last complete quarter and year (test clock 2026-11-20)
    rel = [{"scope": "touchpoint", "scope_id": tp2, "measure": "nps", "period": "previous_quarter"},
           {"scope": "organisation", "scope_id": org, "measure": "grade", "period": "previous_year"}]
    st, _, b6 = put(srv, rel)
    rt = [w["token"] for w in b6.get("widgets", [])] if st == 200 else ["?", "?"]
    st, _, j = anon(srv, "/w/%s.json" % rt[0])
    t.eq((st, j.get("period"), j.get("n"), j.get("value", "absent")),
         (200, {"from": "2026-07-01T00:00:00+02:00", "to": "2026-10-01T00:00:00+02:00"}, 3, None),
         "previous_quarter on 2026-11-20 = 2026-Q3: September's 3 answers, no value")
    st, _, j = anon(srv, "/w/%s.json" % rt[1])
    t.eq((st, j.get("period"), j.get("n"), j.get("value", "absent")),
         (200, {"from": "2025-01-01T00:00:00+01:00", "to": "2026-01-01T00:00:00+01:00"}, 0, None),
         "previous_year = 2025: no answers, n 0, no value")

    # ---- updated_at moves only for a widget whose settings changed
    st, _, c = srv.post("/api/v1/admin/clock", {"now": "2026-11-21T10:00:00Z"})
    t.status((st, None, c), 200, "move the test clock a day")
    keep2 = [{k: w[k] for k in ("token", "scope", "scope_id", "measure", "period", "enabled")}
             for w in b6.get("widgets", [])]
    keep2[1]["enabled"] = False
    st, _, b7 = put(srv, keep2)
    t.eq([w.get("updated_at") for w in b7.get("widgets", [])],
         ["2026-11-20T11:00:00+01:00", "2026-11-21T11:00:00+01:00"],
         "an unchanged widget keeps its updated_at, a changed one gets the new time")

    # ---- names are escaped in the HTML and in the JSON-LD
    nasty = '<b>"Zuid"</b></script><script>alert(1)</script>'
    unit = srv.create("teams", {"name": nasty, "kind": "team", "parent_id": f["dept"]["id"]})
    for i in range(5):
        st, _, r = srv.post("/api/v1/responses", {"client_key": ks.uniq("x"), "team_id": unit["id"],
                                                  "channel": "web", "received_at": "2026-10-2%dT10:00:00Z" % i,
                                                  "answers": {"grade": 8}})
        t.status((st, None, r), 201, "an answer %d for the team with markup in its name" % i)
    st, _, b8 = put(srv, [{"scope": "team", "scope_id": unit["id"], "measure": "grade", "period": "2026-10"}])
    nt = b8["widgets"][0]["token"] if st == 200 else "?"
    st, _, h = anon(srv, "/w/" + nt)
    t.check(st == 200 and "<script>" not in h and "<b>" not in h
            and "&lt;b&gt;&quot;Zuid&quot;&lt;/b&gt;" in h and h.count("</script>") == 1
            and h.count("<script") == 1,
            "the name is escaped: no markup of it in the page, one <script> and one </script> (the JSON-LD's)", h)
    lds = re.findall(r'<script type="application/ld\+json">(.*?)</script>', h, re.S)
    ld = json.loads(lds[0]) if len(lds) == 1 else {}
    t.eq((ld.get("itemReviewed", {}).get("name"), ld.get("ratingValue"), ld.get("ratingCount")),
         (nasty, "8.00", 5), "the JSON-LD holds the name intact (< > & as \\u escapes) and 8.00 over 5")

    # ---- long names of two-byte letters: a team's 200 bytes (its limit) and a
    # touchpoint's 500 are shown whole (a cut inside a letter is no JSON string)
    long_team = srv.create("teams", {"name": "é" * 100, "kind": "team", "parent_id": f["dept"]["id"]})
    long_tp = srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": "ü" * 250, "position": 9})
    st, _, b9 = put(srv, [{"scope": "team", "scope_id": long_team["id"], "measure": "grade", "period": "2026-10"},
                          {"scope": "touchpoint", "scope_id": long_tp["id"], "measure": "nps", "period": "2026-10"}])
    lt = [w["token"] for w in b9.get("widgets", [])] if st == 200 else ["?", "?"]
    for tk, want, what in ((lt[0], "é" * 100, "a team's 200-byte name"), (lt[1], "ü" * 250, "a touchpoint's 500-byte name")):
        st, _, j = anon(srv, "/w/%s.json" % tk)
        t.eq((st, j.get("name") if isinstance(j, dict) else j), (200, want), "/w/{token}.json holds %s whole" % what)
        st, _, h = anon(srv, "/w/" + tk)
        t.check(st == 200 and want in h, "the widget page holds %s whole" % what, ks.got(st, h))


def run(t):
    # a server on the test clock: the figures are as of its start of day
    srv = ks.Server(t, args=["--test-clock", TEST_CLOCK])
    try:
        t.healthz(srv.start(), "server starts on the test clock")
        main(t, srv)
    finally:
        srv.stop()
        srv.cleanup()


if __name__ == "__main__":
    ks.run(run, start_server=False)
