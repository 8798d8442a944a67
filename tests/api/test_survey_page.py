#!/usr/bin/python3
"""The public survey page (docs/API.md "Public survey page"): GET /s/TOKEN
renders the form in the customer's language, POST stores one response tied
to the contact; already answered 409, invalid 422, unknown 404, expired 410;
everything shown is HTML-escaped; the open per-touchpoint link works."""

import html
import os
import re
import sys
import threading
import time
from html.parser import HTMLParser

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

DAY = 86400


class Page(HTMLParser):
    """Collects <html lang>, forms and their inputs."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.lang = None
        self.forms = []
        self.inputs = []
        self.text = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v if v is not None else "") for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "form":
            self.forms.append(a)
        elif tag in ("input", "textarea", "select"):
            a["_tag"] = tag
            self.inputs.append(a)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        self.text.append(data)

    def post_forms(self):
        return [f for f in self.forms if f.get("method", "").lower() == "post"]

    def nonce(self):
        for i in self.inputs:
            if i.get("name") == "k" and i.get("type", "").lower() == "hidden":
                return i.get("value")
        return None

    def radios(self, name):
        return [i for i in self.inputs if i.get("type", "").lower() == "radio" and i.get("name") == name]

    def checked(self, name):
        return [i.get("value") for i in self.radios(name) if "checked" in i]

    def names(self):
        return {i.get("name") for i in self.inputs if i.get("name")}


def is_html(hd):
    return (hd.get("Content-Type") or "").lower().startswith("text/html")


def count_for_contact(srv, cid):
    return srv.sql("SELECT count(*) FROM responses WHERE contact_id = ?", (cid,))[0][0]


def page_of(srv, path):
    st, hd, body = srv.get(path)
    return st, hd, body, Page(body if isinstance(body, str) else "")


def driver_field(page):
    """The driver's form field: the radio group that is none of nps/grade/ces."""
    for name in sorted(page.names()):
        if name in ("nps", "grade", "ces", "open", "k"):
            continue
        vals = [r.get("value") for r in page.radios(name)]
        if vals == [str(v) for v in range(1, 11)]:
            return name
    return None


def contact(srv, f, cust="cust_nl", **extra):
    b = {"customer_id": f[cust]["id"], "touchpoint_id": f["tp1"]["id"], "channel": "phone",
         "employee_id": f["emp1"]["id"]}
    b.update(extra)
    return srv.create("contacts", b)


def test_form(t, srv, f):
    c = contact(srv, f)
    path = "/s/" + c["token"]
    st, hd, body, p = page_of(srv, path)
    t.check(st == 200 and is_html(hd), "page: GET /s/TOKEN -> 200 text/html",
            "got %s %r" % (st, hd.get("Content-Type")))
    t.check(ks.NPS_NL in body and ks.GRADE_NL in body and ks.CES_NL in body and ks.DRIVER_NL in body
            and ks.OPEN_NL in body, "page: nl customer sees every question in Dutch", body[:2000])
    t.check(ks.NPS_EN not in body, "page: nl customer does not see the English text", "")
    t.eq(p.lang, "nl", "page: <html lang=\"nl\"> for the nl customer")
    t.check(len(p.post_forms()) == 1, "page: one <form method=\"post\">", "forms: %s" % p.forms)
    k = p.nonce()
    t.check(bool(k), "page: a hidden input name=\"k\" with a value", "inputs: %s" % ks.short(p.inputs))
    t.eq([r.get("value") for r in p.radios("nps")], [str(v) for v in range(11)],
         "page: nps radios 0..10")
    t.eq(p.checked("nps"), [], "page: no nps radio checked without ?nps=")
    dname = driver_field(p)
    t.check(dname is not None, "page: a 1..10 radio group for the driver", "names: %s" % p.names())

    st, hd, body_en, p_en = page_of(srv, "/s/" + contact(srv, f, cust="cust_en")["token"])
    t.check(st == 200 and ks.NPS_EN in body_en and ks.OPEN_EN in body_en and ks.NPS_NL not in body_en,
            "page: en customer sees the English text", ks.got(st, body_en[:1500]))
    t.eq(p_en.lang, "en", "page: <html lang=\"en\"> for the en customer")
    st, hd, body_o, _ = page_of(srv, path + "?lang=en")
    t.check(st == 200 and ks.NPS_EN in body_o and ks.NPS_NL not in body_o,
            "page: ?lang=en overrides the customer's language", ks.got(st, body_o[:1500]))

    # a tap in the mail stores the score (issue 13): on a contact of its own
    st, hd, body8, p8 = page_of(srv, "/s/" + contact(srv, f)["token"] + "?nps=8")
    t.check(st == 200 and p8.checked("nps") == ["8"], "page: ?nps=8 checks the nps radio 8 (only)",
            "checked: %s" % p8.checked("nps"))
    # ?nps= is a convenience pre-fill: anything but 0..10 is ignored -> the
    # same 200 form with nothing checked, the value not reflected at all
    for bad in ("11", "-1", "abc", "8.0", "", "%3Cscript%3Ealert(5)%3C%2Fscript%3E"):
        st, hd, bodyb, pb = page_of(srv, path + "?nps=" + bad)
        t.check(st == 200 and is_html(hd) and len(pb.post_forms()) == 1 and pb.checked("nps") == []
                and "alert(5)" not in bodyb,
                "page: ?nps=%s -> 200 form, no radio checked, the value not reflected" % bad,
                "checked %s\n%s" % (pb.checked("nps"), ks.got(st, bodyb[:800])))
    # ?lang= other than nl/en is ignored: the customer's language (nl here)
    for bad in ("%3Cscript%3Ealert(6)%3C%2Fscript%3E", "fr", "EN"):
        st, hd, bodyl, pl = page_of(srv, path + "?lang=" + bad)
        t.check(st == 200 and pl.lang == "nl" and ks.NPS_NL in bodyl and "alert(6)" not in bodyl,
                "page: ?lang=%s -> 200 form in the customer's language (nl), the value not reflected" % bad,
                "lang %r\n%s" % (pl.lang, ks.got(st, bodyl[:800])))

    # submit
    before = srv.count("responses")
    fields = {"k": k, "nps": "9", "grade": "8", "ces": "6", "open": "Heel vriendelijk & snel geholpen"}
    if dname:
        fields[dname] = "7"
    st, hd, tb = srv.form(path, fields)
    t.check(st == 201 and is_html(hd) and "bedankt" in tb.lower(),
            "page: POST the form -> 201 Dutch thank-you page", ks.got(st, tb[:1500]))
    rows = srv.sql("SELECT id, nps, grade, ces, open_text, employee_id, team_id, touchpoint_id, customer_id,"
                   " channel FROM responses WHERE contact_id = ?", (c["id"],))
    want = (9, 8, 6, "Heel vriendelijk & snel geholpen", f["emp1"]["id"], f["team"]["id"], f["tp1"]["id"],
            f["cust_nl"]["id"], "phone")
    t.eq([r[1:] for r in rows], [want], "db: one response tied to the contact's employee/team/touchpoint")
    if rows:
        drv = srv.sql("SELECT aspect, score FROM response_drivers WHERE response_id = ?", (rows[0][0],))
        t.eq(drv, [("snelheid", 7)], "db: the driver answer is stored under its aspect")
        st, _, r = srv.get("/api/v1/responses/%d" % rows[0][0])
        t.check(st == 200 and r.get("contact_id") == c["id"] and r.get("team_id") == f["team"]["id"]
                and (r.get("answers") or {}).get("nps") == 9,
                "api: the survey response is readable via GET /responses/{id}", ks.got(st, r))
    t.eq(srv.count("responses"), before + 1, "api: responses count +1 after the form post")

    st, hd, ab = srv.form(path, fields)
    t.check(st == 409 and is_html(hd), "page: second POST -> 409 HTML page", ks.got(st, ab[:1500]))
    t.check(st == 409 and "<form" not in ab, "page: the 409 page is the 'already answered' message, no form",
            ab[:1500])
    st, hd, ab2 = srv.form(path, dict(fields, nps="2"))
    t.check(st == 409, "page: a different second POST -> 409 too", ks.got(st, ab2[:800]))
    t.eq(count_for_contact(srv, c["id"]), 1, "db: still one response for the contact")
    t.eq(srv.count("responses"), before + 1, "api: nothing stored by the second POSTs")


def test_invalid(t, srv, f):
    c = contact(srv, f)
    path = "/s/" + c["token"]
    _, _, _, p = page_of(srv, path)
    k = p.nonce() or ""
    cases = [
        ({"nps": "12"}, "nps=12"),
        ({"nps": "abc"}, "nps=abc"),
        ({"nps": "-1"}, "nps=-1"),
        ({"nps": "9", "grade": "0"}, "grade=0"),
        ({"nps": "9", "ces": "8"}, "ces=8"),
        ({"grade": "8"}, "the required nps left out"),
        ({}, "no answers at all"),
    ]
    for extra, what in cases:
        fields = dict(extra, k=k)
        st, hd, body = srv.form(path, fields)
        pg = Page(body if isinstance(body, str) else "")
        t.check(st == 422 and is_html(hd) and len(pg.post_forms()) == 1,
                "page: POST %s -> 422 with the form again" % what, ks.got(st, body[:1200]))
        t.check('role="alert"' in body or 'aria-invalid="true"' in body,
                "page: the 422 page for %s marks the error" % what, body[:3000])
        t.eq(count_for_contact(srv, c["id"]), 0, "db: nothing stored for %s" % what)
    # the entered open answer is kept, escaped
    st, hd, body = srv.form(path, {"k": k, "nps": "12", "open": "<script>alert(4)</script> graag sneller"})
    t.check(st == 422 and "<script>alert(4)" not in body,
            "page: the open answer shown again on a 422 page is escaped", ks.got(st, body[:3000]))
    t.check("graag sneller" in body, "page: the 422 page keeps the customer's open answer", body[:3000])
    st, hd, body = srv.form(path, {"k": k, "nps": "10"})
    t.check(st == 201, "page: after the 422s a valid POST -> 201", ks.got(st, body[:800]))
    t.eq(count_for_contact(srv, c["id"]), 1, "db: exactly one response after the valid POST")


def test_race(t, srv, f):
    """Two identical POSTs at once: one response."""
    c = contact(srv, f)
    path = "/s/" + c["token"]
    _, _, _, p = page_of(srv, path)
    fields = {"k": p.nonce() or "", "nps": "7", "grade": "7"}
    out = []
    barrier = threading.Barrier(4)

    def go():
        barrier.wait()
        try:
            out.append(srv.form(path, fields)[0])
        except OSError as ex:
            out.append(str(ex))

    th = [threading.Thread(target=go) for _ in range(4)]
    for x in th:
        x.start()
    for x in th:
        x.join()
    t.eq(sorted(out, key=str), [201, 409, 409, 409],
         "page: 4 simultaneous identical POSTs -> one 201 (thank you), three 409 (already answered)")
    t.eq(count_for_contact(srv, c["id"]), 1, "db: the simultaneous POSTs stored one response")


def test_not_found_and_expired(t, srv, f):
    for tok in ("A" * 32, "nope", "x" * 200):
        st, hd, body = srv.get("/s/" + tok)
        t.check(st == 404 and is_html(hd) and "<form" not in body,
                "page: unknown token %s... -> 404 friendly HTML page" % tok[:8], ks.got(st, body[:600]))
    st, hd, body = srv.form("/s/" + "A" * 32, {"nps": "9"})
    t.check(st == 404 and is_html(hd), "page: POST to an unknown token -> 404 HTML", ks.got(st, body[:600]))

    old = ks.iso(time.time() - 30 * DAY)
    c = contact(srv, f, occurred_at=old)
    path = "/s/" + c["token"]
    st, hd, body = srv.get(path)
    t.check(st == 410 and is_html(hd) and "<form" not in body,
            "page: contact from 30 days ago (expired after 14) -> GET 410 HTML", ks.got(st, body[:600]))
    st, hd, body = srv.form(path, {"nps": "9"})
    t.check(st == 410 and is_html(hd), "page: POST to the expired link -> 410", ks.got(st, body[:600]))
    t.eq(count_for_contact(srv, c["id"]), 0, "db: nothing stored through the expired link")
    # 13 days old still works
    c2 = contact(srv, f, occurred_at=ks.iso(time.time() - 13 * DAY))
    st, hd, body = srv.get("/s/" + c2["token"])
    t.check(st == 200, "page: a 13-day-old contact's link still opens (200)", ks.got(st, body[:400]))


def test_no_survey(t, srv, f):
    """A touchpoint without a survey has nothing to ask: its open link and
    its contacts' links are the 404 "this link does not work" page (GET and
    POST), without a form, and nothing is stored."""
    tp = srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": "Zonder vragenlijst"})
    c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": tp["id"], "channel": "shop"})
    for method, tok, what in (("GET", tp["open_token"], "open link"), ("GET", c["token"], "contact link"),
                              ("POST", tp["open_token"], "open link"), ("POST", c["token"], "contact link")):
        if method == "GET":
            st, hd, body = srv.get("/s/" + tok)
        else:
            st, hd, body = srv.form("/s/" + tok, {"nps": "9"})
        t.check(st == 404 and is_html(hd) and "<form" not in body and "Deze link werkt niet" in body,
                "page: %s %s of a touchpoint without survey -> 404 'Deze link werkt niet' page, no form"
                % (method, what), ks.got(st, body[:400]))
    t.eq(srv.sql("SELECT count(*) FROM responses WHERE touchpoint_id = ?", (tp["id"],))[0][0], 0,
         "db: nothing stored for the touchpoint without survey")


def test_injection(t, srv, f):
    evil = "<script>alert(1)</script>"
    tag = ks.uniq("x")
    s = srv.create("surveys", {"name": "Evil " + tag, "questions": [
        {"type": "nps", "text": {"nl": evil + " Zou je ons aanraden?", "en": evil + " Recommend us?"}},
        {"type": "driver", "aspect": "<b>snel</b>", "text": {"nl": "Snelheid \"<i>\" & zo", "en": "Speed"}},
        {"type": "open", "text": {"nl": "Nog iets?", "en": "Anything else?"}}]})
    tp = srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": "<script>alert(2)</script>",
                                    "survey_id": s["id"]})
    emp = srv.create("employees", {"team_id": f["team"]["id"], "first_name": "<img src=x onerror=alert(3)>",
                                   "last_name": "X"})
    c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": tp["id"],
                                "channel": "chat", "employee_id": emp["id"]})
    st, hd, body = srv.get("/s/" + c["token"])
    t.check(st == 200, "xss: the page with markup in its texts renders (200)", ks.got(st, body[:400]))
    t.check("<script>alert(" not in body and "<img src=x" not in body and "<b>snel" not in body
            and "<i>" not in body, "xss: no raw markup from data appears in the page", body[:4000])
    t.check("&lt;script&gt;alert(1)&lt;/script&gt;" in body,
            "xss: the question text appears escaped (&lt;script&gt;)", body[:4000])
    # the open link of the same touchpoint
    st, hd, body = srv.get("/s/" + tp["open_token"])
    t.check(st == 200 and "<script>alert(" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body,
            "xss: the open link page is escaped too", ks.got(st, body[:1500]))


def test_open_link(t, srv, f):
    tp = f["tp2"]
    path = "/s/" + tp["open_token"]
    t.check(tp.get("survey_url", "").endswith(path), "open link: the touchpoint's survey_url is /s/OPEN_TOKEN",
            ks.short(tp))

    def open_count():
        return srv.sql("SELECT count(*) FROM responses WHERE touchpoint_id = ? AND contact_id IS NULL",
                       (tp["id"],))[0][0]

    st, hd, body, p = page_of(srv, path)
    t.check(st == 200 and is_html(hd) and len(p.post_forms()) == 1 and ks.NPS_NL in body,
            "open link: GET /s/OPEN_TOKEN -> 200 form (Dutch by default)", ks.got(st, body[:800]))
    k1 = p.nonce()
    t.check(bool(k1), "open link: the form has a hidden k", "inputs: %s" % ks.short(p.inputs))
    st, hd, body = srv.get(path + "?lang=en")
    t.check(st == 200 and ks.NPS_EN in body, "open link: ?lang=en gives English", ks.got(st, body[:600]))
    n0 = open_count()
    fields = {"k": k1 or "", "nps": "10", "grade": "9", "open": "Top monteur"}
    st1, _, b1 = srv.form(path, fields)
    t.check(st1 == 201, "open link: POST -> 201", ks.got(st1, b1[:800]))
    st2, hd, b2 = srv.form(path, fields)
    t.check(st2 == 409 and is_html(hd) and "<form" not in b2,
            "open link: the same form (same k) posted again -> 409 'already answered' page",
            ks.got(st2, b2[:800]))
    t.eq(open_count(), n0 + 1, "open link: a double POST of the same form stores one response")
    rows = srv.sql("SELECT nps, grade, open_text, touchpoint_id, contact_id FROM responses"
                   " WHERE touchpoint_id = ? AND contact_id IS NULL ORDER BY id DESC LIMIT 1", (tp["id"],))
    t.eq(rows, [(10, 9, "Top monteur", tp["id"], None)], "db: the open-link response holds the answers")

    st, hd, body, p2 = page_of(srv, path)
    k2 = p2.nonce()
    t.check(st == 200 and k2 and k2 != k1, "open link: a new page load gives a new k",
            "k1 %r k2 %r" % (k1, k2))
    st, _, b3 = srv.form(path, {"k": k2 or "", "nps": "4"})
    t.check(st == 201, "open link: a second respondent (new k) -> 201", ks.got(st, b3[:800]))
    t.eq(open_count(), n0 + 2, "open link: two respondents, two responses")


def test_cross_paths(t, srv, f):
    """A contact answered through the API cannot be answered on the page, and
    the other way round; text in any script survives the form."""
    c = contact(srv, f)
    st, _, r = srv.post("/api/v1/responses", {"contact_id": c["id"], "answers": {"nps": 5}})
    t.check(st == 201, "cross: contact answered via the API (201)", ks.got(st, r))
    path = "/s/" + c["token"]
    _, _, _, p = page_of(srv, path)
    st, hd, body = srv.form(path, {"k": p.nonce() or "", "nps": "9"})
    t.check(st == 409 and is_html(hd), "cross: then the page POST -> 409 already answered", ks.got(st, body[:600]))
    t.eq(count_for_contact(srv, c["id"]), 1, "cross: still one response for the contact")

    c2 = contact(srv, f, cust="cust_en")
    path = "/s/" + c2["token"]
    _, _, _, p = page_of(srv, path)
    text = "\u00c7a va \u2014 dank je wel \U0001F44D\r\ntweede regel"
    st, hd, body = srv.form(path, {"k": p.nonce() or "", "nps": "9", "open": text})
    t.check(st == 201 and "thank" in body.lower(), "cross: POST with non-ASCII open text -> 201 English thank-you",
            ks.got(st, body[:600]))
    rows = srv.sql("SELECT open_text, language FROM responses WHERE contact_id = ?", (c2["id"],))
    t.eq([r[0] for r in rows], [text.replace("\r\n", "\n")],
         "cross: the open text is stored exactly (CRLF as LF)")
    t.eq([r[1] for r in rows], ["en"], "cross: the response's language is the page's (en)")
    st, _, r = srv.post("/api/v1/responses", {"contact_id": c2["id"], "answers": {"nps": 1}})
    t.error((st, _, r), 409, "conflict", None, "cross: then an API response to that contact -> 409")

    # bad encodings and oversize posts
    c3 = contact(srv, f)
    path = "/s/" + c3["token"]
    _, _, _, p = page_of(srv, path)
    k = p.nonce() or ""
    # a form that did not arrive intact is refused whole: 422, the form again
    # with the error marked, nothing stored (the contact stays answerable)
    for raw, what in (("nps=9&open=%ZZ", "a bad %-escape"), ("nps=9&open=%FF%FE", "invalid UTF-8"),
                      ("nps=9&open=%C3%28", "a broken UTF-8 sequence"), ("nps=9&open=a%00b", "a NUL byte"),
                      ("nps=9&op%ZZen=x", "a bad %-escape in a name")):
        st, hd, body = srv.form(path, "k=%s&%s" % (k, raw))
        pg = Page(body if isinstance(body, str) else "")
        t.check(st == 422 and is_html(hd) and len(pg.post_forms()) == 1 and 'role="alert"' in body
                and "Je antwoorden konden niet worden gelezen" in body,
                "page: POST with %s -> 422, the form again with 'Je antwoorden konden niet worden gelezen'" % what,
                ks.got(st, body[:600]))
        t.eq(count_for_contact(srv, c3["id"]), 0, "db: the POST with %s stored nothing" % what)
    st, hd, body = srv.form(path, {"k": k, "nps": "9"})
    t.check(st == 201, "page: after the refused encodings a clean POST -> 201", ks.got(st, body[:600]))

    # the open answer: at most 2,000 characters and 4,000 bytes (docs/API.md):
    # over either -> 422, the form again with the text kept; at the limit stored whole
    for text, what in ((("Lang verhaal. " * 400)[:5000], "5000 ASCII characters"), ("x" * 2001, "2001 characters"),
                       ("\U0001F600" * 1001, "1001 emoji (4004 bytes)")):
        cx = contact(srv, f)
        path = "/s/" + cx["token"]
        _, _, _, p = page_of(srv, path)
        st, hd, body = srv.form(path, {"k": p.nonce() or "", "nps": "6", "open": text})
        pg = Page(body if isinstance(body, str) else "")
        t.check(st == 422 and len(pg.post_forms()) == 1 and 'role="alert"' in body
                and "maximaal 2000 tekens" in body,
                "page: an open answer of %s -> 422, the form again marked 'maximaal 2000 tekens'" % what,
                ks.got(st, body[:600]))
        kept = re.search(r"<textarea[^>]*>(.*?)</textarea>", body if isinstance(body, str) else "", re.S)
        kept = html.unescape(kept.group(1)) if kept else None
        t.check(kept == text, "page: the 422 page for %s keeps the whole text in the textarea (not cut: the "
                "customer shortens it, the server does not)" % what,
                "sent %d characters / %d bytes; textarea holds %s" % (
                    len(text), len(text.encode()),
                    "nothing" if kept is None else "%d characters / %d bytes" % (len(kept), len(kept.encode()))))
        t.eq(count_for_contact(srv, cx["id"]), 0, "db: the open answer of %s stored nothing" % what)
    for text, what in ((("Lang verhaal. " * 400)[:2000], "exactly 2000 characters"),
                       ("\u00e9" * 2000, "2000 x e-acute (4000 bytes)"), ("\U0001F600" * 1000, "1000 emoji (4000 bytes)")):
        cx = contact(srv, f)
        path = "/s/" + cx["token"]
        _, _, _, p = page_of(srv, path)
        st, hd, body = srv.form(path, {"k": p.nonce() or "", "nps": "6", "open": text})
        t.eq((st, srv.sql("SELECT open_text FROM responses WHERE contact_id = ?", (cx["id"],))), (201, [(text,)]),
             "page: an open answer of %s -> 201, stored whole" % what)
    c4 = contact(srv, f)
    path = "/s/" + c4["token"]
    _, _, _, p = page_of(srv, path)
    big = "k=%s&nps=9&open=%s" % (p.nonce() or "", "x" * (1024 * 1024 + 10))
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, len(big))).encode()
    try:
        st, hd, body = ks.raw_exchange(srv.port, head, [big.encode()])
        t.check(st == 413, "page: a form body over 1 MiB -> 413", ks.got(st, str(body)[:300]))
    except OSError as ex:
        t.check(False, "page: a form body over 1 MiB -> 413", "no response: %r" % ex)
    t.eq(count_for_contact(srv, c4["id"]), 0, "page: nothing stored by the oversize form")


def main(t, srv):
    f = ks.base_fixture(srv)
    test_form(t, srv, f)
    test_invalid(t, srv, f)
    test_race(t, srv, f)
    test_not_found_and_expired(t, srv, f)
    test_no_survey(t, srv, f)
    test_injection(t, srv, f)
    test_open_link(t, srv, f)
    test_cross_paths(t, srv, f)


if __name__ == "__main__":
    ks.run(main)
