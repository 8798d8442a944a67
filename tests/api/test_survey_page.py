#!/usr/bin/python3
"""The public survey page (docs/API.md "Public survey page"): GET /s/TOKEN
renders the form in the customer's language, POST stores one response tied
to the contact; already answered 409, invalid 422, unknown 404, expired 410;
everything shown is HTML-escaped; the open per-touchpoint link works."""

import base64
import html
import http.client
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


def test_long_names(t, srv, f):
    """The page keeps 127 bytes of the touchpoint's name (500 taken) and 63 of
    the employee's first name (500 taken): cut between letters, 63 and 31 of
    two bytes each — a letter cut in two is no valid text on the page."""
    tp = srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": "ü" * 250, "survey_id": f["survey"]["id"]})
    emp = srv.create("employees", {"team_id": f["team"]["id"], "first_name": "ñ" * 100, "last_name": "Lang"})
    c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": tp["id"], "channel": "chat",
                                "employee_id": emp["id"]})
    st, hd, body = srv.get("/s/" + c["token"])
    t.check(st == 200 and ("contact met %s (%s)." % ("ñ" * 31, "ü" * 63)) in body,
            "long names: the page names 31 letters of the first name and 63 of the touchpoint's", ks.got(st, body[:1500]))


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
    test_long_names(t, srv, f)
    test_open_link(t, srv, f)
    test_cross_paths(t, srv, f)
    voice_main(t)



# ---------------------------------------------------------------------------
# The customer's side (issue 13): the one-click score, yes/no questions,
# short surveys, the organisation's voice. A server of its own with a test
# clock, so the scanner window (10 s) and the month of the metrics are ours.

VOICE_START = "2026-03-10T09:00:00Z"
ONE_CLICK_Q = [
    {"type": "nps", "text": {"nl": ks.NPS_NL, "en": ks.NPS_EN}, "required": True},
    {"type": "yesno", "aspect": "op_tijd", "text": {"nl": "Was de monteur op tijd?",
                                                    "en": "Was the technician on time?"}},
    {"type": "driver", "aspect": "snelheid", "text": {"nl": ks.DRIVER_NL, "en": ks.DRIVER_EN}},
    {"type": "open", "text": {"nl": ks.OPEN_NL, "en": ks.OPEN_EN}},
]
# a 1x1 transparent PNG
PNG_1X1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def set_clock(srv, iso):
    st, _, b = srv.post("/api/v1/admin/clock", {"now": iso})
    if st != 200:
        raise ks.FixtureError("POST /api/v1/admin/clock %s -> %s" % (iso, ks.got(st, b)))


def after(iso, seconds):
    return ks.iso(ks.parse_iso(iso) + seconds)


def one_click_rows(srv, cid):
    return srv.sql("SELECT nps, complete, source FROM responses WHERE contact_id = ?", (cid,))


def saved_note(body):
    m = re.search(r'<p class="saved" role="status">(.*?)</p>', body, re.S)
    return m.group(1) if m else None


def nps_of(srv, query):
    st, _, m = srv.get("/api/v1/metrics?" + query)
    nps = (m or {}).get("nps") if isinstance(m, dict) else None
    return st, (m or {}).get("n"), (nps or {}).get("n"), (nps or {}).get("value")


def test_one_click(t, srv, f, short):
    tp = f["tp1"]
    # two employees: a slice of one person's answers would need 10 (docs/PRIVACY.md)
    cs = [contact(srv, f, employee_id=f["emp1" if i % 2 == 0 else "emp2"]["id"]) for i in range(5)]
    p0 = "/s/" + cs[0]["token"]
    st, hd, body, p = page_of(srv, p0 + "?nps=9")
    t.check(st == 200 and p.checked("nps") == ["9"], "one-click: GET ?nps=9 -> 200, 9 chosen", ks.got(st, body[:600]))
    t.eq(saved_note(body), "Bedankt! Je score 9 is opgeslagen. Wil je ons nog iets meer vertellen? "
         "Dat kan hieronder; sluiten mag ook.", "one-click: the page says the score is saved (je)")
    t.eq(one_click_rows(srv, cs[0]["id"]), [(9, 0, "one-click")],
         "one-click: the tap stored a partial response: nps 9, complete 0, source one-click")
    rid = srv.sql("SELECT id FROM responses WHERE contact_id = ?", (cs[0]["id"],))[0][0]
    st, _, r = srv.get("/api/v1/responses/%d" % rid)
    t.check(st == 200 and r.get("complete") is False and (r.get("answers") or {}).get("nps") == 9
            and r.get("contact_id") == cs[0]["id"] and r.get("touchpoint_id") == tp["id"],
            "one-click: GET /responses/ID -> complete false, nps 9, tied to the contact", ks.got(st, r))
    # idempotent: the same tap again, a reload, the link without a score
    for q in ("?nps=9", "?nps=9", ""):
        st, _, body, p = page_of(srv, p0 + q)
        t.check(st == 200 and p.checked("nps") == ["9"] and saved_note(body) is not None,
                "one-click: GET %s again -> 9 still chosen and saved" % (q or "without ?nps"), ks.got(st, body[:400]))
    t.eq(one_click_rows(srv, cs[0]["id"]), [(9, 0, "one-click")], "one-click: still one response after repeats")

    # a scanner opens every link within a second: a second, different score
    # within 10 s withdraws the score; a tap after that stores again
    st, _, body, p = page_of(srv, p0 + "?nps=0")
    t.check(st == 200 and saved_note(body) is None, "scanner: ?nps=0 at once after 9 -> nothing said saved",
            ks.got(st, body[:400]))
    t.eq(one_click_rows(srv, cs[0]["id"]), [(None, 0, "one-click")], "scanner: the score is withdrawn (nps NULL)")
    page_of(srv, p0 + "?nps=1")
    t.eq(one_click_rows(srv, cs[0]["id"]), [(None, 0, "one-click")], "scanner: a third tap in the burst changes nothing")
    set_clock(srv, after(VOICE_START, 60))
    st, _, body, p = page_of(srv, p0 + "?nps=9")
    t.check(saved_note(body) is not None and p.checked("nps") == ["9"], "one-click: a tap a minute later is saved",
            ks.got(st, body[:400]))
    t.eq(one_click_rows(srv, cs[0]["id"]), [(9, 0, "one-click")], "one-click: nps 9 stored again, one row")

    for c, score in zip(cs[1:], (10, 8, 3, 9)):
        page_of(srv, "/s/%s?nps=%d" % (c["token"], score))
    t.eq(srv.sql("SELECT count(*), CAST(sum(complete) AS BIGINT) FROM responses WHERE touchpoint_id = ?", (tp["id"],)),
         [(5, 0)], "one-click: five contacts tapped: five partial responses")
    # counted at once: 9, 10, 8, 3, 9 -> 3 promoters, 1 detractor of 5 = +40.0
    set_clock(srv, "2026-04-02T09:00:00Z")
    t.eq(nps_of(srv, "period=2026-03&touchpoint_id=%d" % tp["id"]), (200, 5, 5, 40.0),
         "metrics: the five partial responses count at once: n 5, +40.0")
    set_clock(srv, after(VOICE_START, 90))

    # the form completes the same response
    _, _, _, p = page_of(srv, p0)
    st, _, tb = srv.form(p0, {"k": p.nonce() or "", "nps": "9", "y_1": "1", "d_2": "7", "open": "Snel en vriendelijk"})
    t.check(st == 201 and "Bedankt voor je feedback!" in tb, "complete: POST the form -> 201 thank-you (je)",
            ks.got(st, tb[:600]))
    t.eq(srv.sql("SELECT id, nps, complete, open_text FROM responses WHERE contact_id = ?", (cs[0]["id"],)),
         [(rid, 9, 1, "Snel en vriendelijk")], "complete: the same row, now complete, with the open answer")
    t.eq(srv.sql("SELECT aspect, answer FROM response_yesno WHERE response_id = ?", (rid,)), [("op_tijd", 1)],
         "complete: the yes/no answer stored under its aspect (1 = yes)")
    t.eq(srv.sql("SELECT aspect, score FROM response_drivers WHERE response_id = ?", (rid,)), [("snelheid", 7)],
         "complete: the driver stored")
    st, _, r = srv.get("/api/v1/responses/%d" % rid)
    t.check(st == 200 and r.get("complete") is True and (r.get("answers") or {}).get("yesno") == {"op_tijd": True},
            "complete: GET /responses/ID -> complete true, yesno {op_tijd: true}", ks.got(st, r))
    st, _, body = srv.form(p0, {"k": p.nonce() or "", "nps": "2"})
    t.eq(st, 409, "complete: a second POST -> 409 already answered")
    st, _, body, _ = page_of(srv, p0 + "?nps=2")
    t.check(st == 200 and "al ingevuld" in body and "<form" not in body,
            "complete: a tap after completing -> the 'already answered' page", ks.got(st, body[:400]))
    t.eq(one_click_rows(srv, cs[0]["id"]), [(9, 1, "one-click")], "complete: nothing changed by the late tap")

    # a changed mind: c3 taps 7 after 3 (a minute later)
    set_clock(srv, after(VOICE_START, 180))
    page_of(srv, "/s/%s?nps=7" % cs[3]["token"])
    t.eq(one_click_rows(srv, cs[3]["id"]), [(7, 0, "one-click")], "one-click: a later tap changes the score (7)")

    # the detractor's tap (3) opened a case at once; consent is not known yet
    case_consent = ("SELECT c.consent FROM cases c JOIN case_responses cr ON cr.case_id = c.id"
                    " JOIN responses r ON r.id = cr.response_id WHERE r.contact_id = ?")
    t.eq(srv.sql(case_consent, (cs[3]["id"],)), [(None,)], "case: the tapped 3 opened one case, consent unknown")
    # yes/no on the others, with the form: yes, no, yes, yes; c3 also says "yes, contact me"
    for c, yes in zip(cs[1:], ("1", "0", "1", "1")):
        _, _, _, pc = page_of(srv, "/s/" + c["token"])
        fields = {"k": pc.nonce() or "", "nps": pc.checked("nps")[0] if pc.checked("nps") else "", "y_1": yes}
        if c is cs[3]:
            fields["contact"] = "yes"
        st, _, _ = srv.form("/s/" + c["token"], fields)
        t.eq(st, 201, "complete: contact %d's form -> 201" % c["id"])
    t.eq(srv.sql(case_consent, (cs[3]["id"],)), [(1,)], "case: the form's consent reaches the case the tap opened")
    t.eq(srv.sql("SELECT nps, complete FROM responses WHERE touchpoint_id = ? ORDER BY contact_id", (tp["id"],)),
         [(9, 1), (10, 1), (8, 1), (7, 1), (9, 1)], "complete: five responses, each complete, scores kept")

    # metrics count every response once: 9, 10, 8, 7, 9 -> 3 promoters, 0 detractors of 5 = +60.0
    # (the detractor's 3 was counted, then replaced by 7 in the index: still 5 answers)
    set_clock(srv, "2026-04-02T09:00:00Z")
    q = "period=2026-03&touchpoint_id=%d" % tp["id"]
    t.eq(nps_of(srv, q), (200, 5, 5, 60.0), "metrics: n 5, nps n 5, +60.0 (each one-click response counted once)")
    st, _, y = srv.get("/api/v1/yesno?survey_id=%d" % short["id"])
    t.eq((st, y), (200, {"items": [{"aspect": "op_tijd", "n": 5, "yes": 4, "share_yes": 0.8}], "min_n": 5}),
         "yes/no: GET /api/v1/yesno -> op_tijd 4 of 5 yes, share 0.8")
    srv.stop("one-click: the server stops")
    srv.start()
    set_clock(srv, "2026-04-02T09:00:00Z")
    t.eq(nps_of(srv, q), (200, 5, 5, 60.0), "metrics: the same after a restart (the index rebuilt from the database)")
    return cs


def test_scanner_at_once(t, srv, f):
    """A scanner opening all eleven links at the same moment: one row, the score withdrawn."""
    c = contact(srv, f)
    results = [None] * 11

    def fetch(n):
        results[n] = srv.get("/s/%s?nps=%d" % (c["token"], n))[0]
    threads = [threading.Thread(target=fetch, args=(n,)) for n in range(11)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.eq(results, [200] * 11, "scanner: eleven links opened at once -> eleven 200 pages")
    t.eq(one_click_rows(srv, c["id"]), [(None, 0, "one-click")],
         "scanner: eleven scores at once -> one partial response, its score withdrawn")


def test_yesno_small(t, srv, f, short):
    st, _, y = srv.get("/api/v1/yesno?survey_id=%d&from=2026-03-01&to=2026-03-02" % short["id"])
    t.eq((st, y), (200, {"items": [], "min_n": 5}), "yes/no: an empty window -> no items")
    t.error(srv.get("/api/v1/yesno?survey=1"), 422, "invalid", "survey", "yes/no: an unknown parameter -> 422")


def test_warnings(t, srv, f, short):
    t.eq(short.get("warnings"), [], "warnings: four questions -> none")
    st, _, s = srv.get("/api/v1/surveys/%d" % f["survey"]["id"])
    t.eq([w.get("code") for w in (s or {}).get("warnings", [None])], ["long_survey"],
         "warnings: the five-question survey -> long_survey")
    t.eq(((s or {}).get("warnings") or [{}])[0].get("field"), "questions", "warnings: the warning names questions")
    st, _, s2 = srv.patch("/api/v1/surveys/%d" % short["id"], {"questions": ONE_CLICK_Q + [
        {"type": "ces", "text": {"nl": ks.CES_NL, "en": ks.CES_EN}}]})
    t.check(st == 200 and [w.get("code") for w in s2.get("warnings", [])] == ["long_survey"],
            "warnings: PATCH to five questions -> 200 with long_survey", ks.got(st, s2))
    srv.patch("/api/v1/surveys/%d" % short["id"], {"questions": ONE_CLICK_Q})
    t.error(srv.post("/api/v1/surveys", {"name": "x", "questions": [
        {"type": "yesno", "text": {"nl": "Op tijd?", "en": "On time?"}}]}), 422, "invalid", "questions[0].aspect",
        "yesno: a yes/no question without an aspect -> 422 naming it")


def test_settings(t, srv):
    st, _, s = srv.get("/api/v1/settings")
    t.eq((st, s), (200, {"verbatim_detail": "band", "updated_at": None, "form_of_address": "je",
                         "organisation_name": "", "logo_url": None}), "settings: the defaults")
    for body, field in (({"form_of_address": "jij"}, "form_of_address"), ({"form_of_address": None}, "form_of_address"),
                        ({"organisation_name": 5}, "organisation_name"),
                        ({"organisation_name": "x" * 128}, "organisation_name"),
                        ({"logo": "https://example.org/logo.png"}, "logo"),
                        ({"logo": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}, "logo"),
                        ({"logo": "data:image/png;base64,R0lGODlhAQABAAAAACw="}, "logo"),
                        ({"logo": "data:image/png;base64,!!!"}, "logo"),
                        ({"logo": "data:image/png;base64," + base64.b64encode(PNG_1X1 + bytes(65536)).decode()}, "logo")):
        st, _, b = srv.request("PUT", "/api/v1/settings", body)
        t.check(st == 422 and ((b or {}).get("error") or {}).get("field") == field,
                "settings: PUT %s -> 422 naming %s" % (ks.short(body, 60), field), ks.got(st, b))
    t.eq(srv.sql("SELECT count(*) FROM org_voice")[0][0], 0, "settings: nothing stored by refused PUTs")
    t.eq(srv.get("/logo")[0], 404, "logo: GET /logo before an upload -> 404")
    body = {"form_of_address": "u", "organisation_name": "Energie BV",
            "logo": "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()}
    st, _, s = srv.request("PUT", "/api/v1/settings", body)
    t.check(st == 200 and {k: s.get(k) for k in ("verbatim_detail", "form_of_address", "organisation_name", "logo_url")}
            == {"verbatim_detail": "band", "form_of_address": "u", "organisation_name": "Energie BV", "logo_url": "/logo"}
            and ks.iso_ok(s.get("updated_at")), "settings: PUT u, a name and a PNG logo -> 200", ks.got(st, s))
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", "/logo")
    resp = conn.getresponse()
    st, hd, raw = resp.status, resp.headers, resp.read()
    conn.close()
    t.check(st == 200 and hd.get("Content-Type") == "image/png" and raw == PNG_1X1,
            "logo: GET /logo -> the PNG's bytes as image/png", "%s %r" % (st, hd.get("Content-Type")))
    t.eq(srv.sql("SELECT verbatim_detail FROM org_settings"), [], "settings: the voice leaves verbatim_detail unset")


def test_voice_pages(t, srv, f):
    c = contact(srv, f)
    path = "/s/" + c["token"]
    st, hd, body, p = page_of(srv, path)
    text = html.unescape(body)
    t.check(st == 200 and "U had onlangs contact met Sanne (Storingsmelding). We horen graag hoe het ging; "
            "het kost u nog geen minuut." in text,
            "u: the greeting says u and names the touchpoint's Dutch label", text[:2500])
    # the product's own words say u; the questions are the admin's (a warning tells them, below)
    own = text
    for q in (ks.NPS_NL, ks.GRADE_NL, ks.CES_NL, ks.DRIVER_NL, ks.OPEN_NL, "Was de monteur op tijd?"):
        own = own.replace(q, "")
    t.check("Mogen we contact met u opnemen over uw antwoord?" in own
            and not re.search(r"\b(je|jij|jou|jouw)\b", own.split("</style>")[-1], re.I),
            "u: the page's own words say u, never je", own[:3000])
    st, _, sv = srv.get("/api/v1/surveys/%d" % f["survey"]["id"])
    t.eq([(w.get("code"), w.get("field")) for w in (sv or {}).get("warnings", [])],
         [("long_survey", "questions"), ("form_of_address", "questions[0].text.nl")],
         "u: the survey whose questions say je gets a form_of_address warning naming the first")
    t.check('<header class="org"><img src="/logo" alt=""><span>Energie BV</span></header>' in body,
            "org: the name and the logo on the form", body[:3000])
    csp = hd.get("Content-Security-Policy") or ""
    t.check("img-src 'self' data:" in csp and "script-src" not in csp,
            "org: the page's CSP allows the same-origin logo and still no script", csp)
    st, _, body9, _ = page_of(srv, path + "?nps=9")
    t.eq(saved_note(body9), "Bedankt! Uw score 9 is opgeslagen. Wilt u ons nog iets meer vertellen? "
         "Dat kan hieronder; sluiten mag ook.", "u: the one-click note says u")
    st, _, tb = srv.form(path, {"k": p.nonce() or "", "nps": "9"})
    t.check(st == 201 and "<h1>Bedankt voor uw feedback!</h1>" in tb and "We hebben uw antwoorden goed ontvangen." in tb
            and "Energie BV" in tb, "u: the thank-you page says u and shows the organisation", ks.got(st, tb[:1500]))
    st, _, ab, _ = page_of(srv, path)
    t.check("U heeft deze vragenlijst al ingevuld" in html.unescape(ab), "u: the already-answered page says u", ab[:1500])
    # the English customer reads English, with the English label
    ce = contact(srv, f, cust="cust_en")
    st, _, be, pe = page_of(srv, "/s/" + ce["token"])
    te = html.unescape(be)
    t.check(st == 200 and pe.lang == "en" and "You were recently in touch with Sanne (Reporting a fault)." in te
            and "Storingsmelding" not in te and "<h1>How did we do?</h1>" in te,
            "en: the English customer gets the English page and label", te[:2500])
    t.check("Was the technician on time?" in te and re.search(r'<label for="q1-1">Yes</label>', be)
            and re.search(r'<label for="q1-0">No</label>', be), "en: the yes/no question with Yes / No", be[:4000])
    st, _, be9, _ = page_of(srv, "/s/%s?nps=9" % ce["token"])
    t.eq(saved_note(be9), "Thank you! Your score 9 has been saved. Would you like to tell us a little more? "
         "You can below; closing this page is fine too.", "en: the one-click note in English")


def voice_main(t):
    srv = ks.Server(t, args=["--test-clock", VOICE_START])
    try:
        srv.start()
        f = ks.base_fixture(srv)
        short = srv.create("surveys", {"name": "Kort", "questions": ONE_CLICK_Q})
        srv.patch("/api/v1/touchpoints/%d" % f["tp1"]["id"], {"survey_id": short["id"], "label_nl": "Storingsmelding",
                                                              "label_en": "Reporting a fault"})
        test_warnings(t, srv, f, short)
        test_one_click(t, srv, f, short)
        test_scanner_at_once(t, srv, f)
        test_yesno_small(t, srv, f, short)
        test_settings(t, srv)
        test_voice_pages(t, srv, f)
    finally:
        try:
            srv.stop("voice: server exits 0 on SIGTERM")
        finally:
            srv.cleanup()


if __name__ == "__main__":
    ks.run(main)
