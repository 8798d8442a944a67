#!/usr/bin/python3
"""The feedback loop (docs/API.md "The feedback loop (invitations)" and
"Public survey page"), end to end against a real SMTP server (smtp_sink.py,
aiosmtpd): survey rules, invitation decisions (created, fatigue across
touchpoints, sampling with a fixed seed, no_email, opted_out, no_rule,
disabled), quiet hours in Europe/Amsterdam, the mail itself (language,
parts, 0-10 one-click links, List-Unsubscribe), the survey page reached
from the mail, the funnel, expiry, one reminder, RFC 8058 one-click
opt-out, temporary and permanent SMTP failures, signed webhooks, QR codes,
representativeness, rule validation and the test-mode admin endpoints.

Every scenario runs on a fresh server (--test-clock, --smtp to the sink,
--sample-seed) so that one failure cannot spill into the next."""

import collections
import concurrent.futures
import contextlib
import hashlib
import hmac
import http.client
import http.server
import json
import math
import os
import re
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from html.parser import HTMLParser

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

MIN = 60
HOUR = 3600
DAY = 86400
START = "2026-01-12T10:00:00Z"   # a Monday in winter: Amsterdam is UTC+1 (11:00 local)
SEED = 424242
BASE_URL = "https://feedback.example.nl"
SURVEY_PATH_RE = re.compile(r"^/s/[A-Za-z0-9_-]{8,}$")
UNSUB_PATH_RE = re.compile(r"^/u/[A-Za-z0-9_-]{8,}$")

RULE_DEFAULTS = {"survey_id": None, "enabled": True, "delay_minutes": 120, "quiet_start_hour": 21,
                 "quiet_end_hour": 8, "sample_pct": 100, "fatigue_days": 30, "exclude_open_case": False,
                 "expiry_days": 14, "reminder_days": 3}


def at(base, seconds=0):
    """ISO time `seconds` after the ISO time `base`."""
    return ks.iso(ks.parse_iso(base) + seconds)


# ---------------------------------------------------------------------------
# servers and plumbing


@contextlib.contextmanager
def server(t, sink=None, clock=START, seed=SEED, base_url=None, extra=(), env=None):
    """A fresh server; stopped (exit status and sanitizer checked) at the end."""
    args = []
    if clock:
        args += ["--test-clock", clock]
    if sink is not None:
        args += ["--smtp", sink.url]
    if seed is not None:
        args += ["--sample-seed", str(seed)]
    if base_url:
        args += ["--base-url", base_url]
    args += list(extra)
    srv = ks.Server(t, args=args, env=env)
    try:
        srv.start()
        yield srv
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()


def scenario(t, name, fn, *args):
    """Run one scenario; a setup failure or an exception is one "not ok"
    and the next scenario still runs."""
    started = time.time()
    try:
        fn(t, *args)
    except ks.FixtureError as ex:
        t.check(False, "%s: setup step failed" % name, str(ex))
    except Exception:
        t.check(False, "%s: raised an exception" % name, traceback.format_exc())
    print("# %s: %.1f s" % (name, time.time() - started), flush=True)


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def set_clock(srv, iso):
    body = must(srv.post("/api/v1/admin/clock", {"now": iso}), 200, "POST /api/v1/admin/clock %s" % iso)
    if not isinstance(body, dict) or body.get("now") != iso:
        raise ks.FixtureError("POST /api/v1/admin/clock %s answered %s" % (iso, ks.short(body)))


def run_sched(srv):
    """One scheduler pass; returns its counters."""
    body = must(srv.post("/api/v1/admin/scheduler/run"), 200, "POST /api/v1/admin/scheduler/run")
    if not isinstance(body, dict):
        raise ks.FixtureError("scheduler/run answered %s" % ks.short(body))
    return body


def stats_eq(t, stats, want, name):
    """The named counters of a scheduler pass (others must be 0)."""
    keys = ("sent", "reminders", "retried", "failed")
    full = {k: want.get(k, 0) for k in keys}
    t.eq({k: stats.get(k) for k in keys}, full, name)


def put_rule(srv, tp_id, body):
    return must(srv.request("PUT", "/api/v1/touchpoints/%d/rule" % tp_id, body), 200,
                "PUT /api/v1/touchpoints/%d/rule %s" % (tp_id, ks.short(body)))


def new_contact(srv, cust, tp, channel="phone", emp=None, **extra):
    b = {"customer_id": cust["id"], "touchpoint_id": tp["id"], "channel": channel}
    if emp is not None:
        b["employee_id"] = emp["id"]
    b.update(extra)
    st, _, c = srv.post("/api/v1/contacts", b)
    if st != 201 or not isinstance(c, dict) or "id" not in c:
        raise ks.FixtureError("POST /api/v1/contacts %s -> %s" % (ks.short(b), ks.got(st, c)))
    return c


def decision(c):
    inv = c.get("invitation") if isinstance(c, dict) else None
    return inv.get("decision") if isinstance(inv, dict) else None


def invitation(srv, inv_id, customer_id):
    for row in srv.list_all("invitations", "customer_id=%d" % customer_id):
        if row.get("id") == inv_id:
            return row
    raise ks.FixtureError("invitation %s of customer %s not in GET /api/v1/invitations?customer_id="
                          % (inv_id, customer_id))


def customer(srv, tag, email=None, language="nl", **kw):
    b = {"external_id": ks.uniq("C-" + tag), "name": kw.pop("name", "Klant " + tag), "language": language}
    if email is not None:
        b["email"] = email
    b.update(kw)
    return srv.create("customers", b)


def mini_fixture(srv, n_tp=1, tag="m"):
    """A survey, a journey and n_tp touchpoints with that survey."""
    f = {"survey": srv.create("surveys", {"name": "Na contact " + tag, "questions": ks.survey_questions()})}
    f["journey"] = srv.create("journeys", {"name": "Reis " + tag})
    f["tps"] = [srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": "Contactmoment %s %d" % (tag, i),
                                           "position": i + 1, "survey_id": f["survey"]["id"]})
                for i in range(n_tp)]
    return f


def rows_of(body):
    """The rows of a funnel-like answer (documented only as "per group")."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for k in ("rows", "items", "groups", "segments"):
            if isinstance(body.get(k), list):
                return body[k]
    return []


def row_for(rows, value, keys):
    for r in rows:
        if isinstance(r, dict) and any(r.get(k) == value for k in keys):
            return r
    return None


def url_path(u):
    p = urllib.parse.urlsplit(u)
    return p.path + ("?" + p.query if p.query else "")


class Page(HTMLParser):
    """Forms, inputs and text of an HTML page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.inputs, self.forms = [], []
        self.feed(text if isinstance(text, str) else "")

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append(a)
        elif tag in ("input", "textarea", "select"):
            self.inputs.append(a)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def nonce(self):
        for i in self.inputs:
            if i.get("name") == "k" and i.get("type", "").lower() == "hidden":
                return i.get("value")
        return None

    def checked(self, name):
        return [i.get("value") for i in self.inputs
                if i.get("type", "").lower() == "radio" and i.get("name") == name and "checked" in i]


NL_WORDS = {"je", "jij", "jouw", "hoe", "met", "over", "het", "een", "de", "van", "ons", "onze", "wij", "we",
            "graag", "niet", "bij", "dat", "kies", "hallo", "bedankt", "vragenlijst", "uitnodigingen"}
EN_WORDS = {"you", "your", "how", "with", "about", "the", "a", "of", "our", "us", "would", "please", "thank",
            "hello", "from", "survey", "invitations", "likely", "recommend"}


def lang_score(text):
    """(Dutch-only words, English-only words) in text."""
    words = re.findall(r"[a-zà-ÿ]+", (text or "").lower())
    return sum(w in NL_WORDS for w in words), sum(w in EN_WORDS for w in words)


def is_lang(text, lang):
    nl, en = lang_score(text)
    return nl > en if lang == "nl" else en > nl


def nps_links(mail, part):
    """{score: url} of the /s/TOKEN?nps=N links in one part."""
    out = {}
    for u in mail.links(part):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(u).query)
        if "nps" in q:
            out.setdefault(q["nps"][0], []).append(u)
    return out


def wait_mails(sink, addr, n, timeout=5.0):
    """Mails to addr, once at least n are there (or the timeout passed)."""
    deadline = time.time() + timeout
    while True:
        ms = sink.mails(to=addr)
        if len(ms) >= n or time.time() >= deadline:
            return ms
        time.sleep(0.02)


def survey_path_of(mail):
    """The /s/TOKEN path the mail's one-click links point to (None if unclear)."""
    paths = {urllib.parse.urlsplit(u).path for v in nps_links(mail, "html").values() for u in v}
    return paths.pop() if len(paths) == 1 else None


def answer_via_page(t, srv, path, score, name):
    """GET path (a /s/TOKEN?nps=N link), POST the form with the hidden k; returns the POST status."""
    st, _, body = srv.get(path)
    k = Page(body).nonce()
    if st != 200 or not k:
        t.check(False, "%s: the survey page answers 200 with a hidden k" % name, ks.got(st, body))
        return st
    return srv.form(urllib.parse.urlsplit(path).path, {"nps": str(score), "k": k})[0]


# ---------------------------------------------------------------------------
# E2E: rule, decision, send time, the mail, the page, the response, the funnel


def test_e2e(t, sink):
    name = "e2e"
    with server(t, sink, base_url=BASE_URL) as srv:
        org = srv.create("teams", {"name": "Energie BV", "kind": "organisation"})
        dept = srv.create("teams", {"name": "Klantenservice", "kind": "department", "parent_id": org["id"]})
        team = srv.create("teams", {"name": "Team Noord", "kind": "team", "parent_id": dept["id"]})
        anna = srv.create("employees", {"team_id": team["id"], "first_name": "Anna", "last_name": "Verbeek",
                                        "external_id": ks.uniq("E")})
        nl_addr, en_addr = "henk.jansen@example.org", "mary.smith@example.org"
        c_nl = customer(srv, "nl", nl_addr, "nl", name="Henk Jansen")
        c_en = customer(srv, "en", en_addr, "en", name="Mary Smith")
        survey = srv.create("surveys", {"name": "Na contact", "questions": ks.survey_questions()})
        journey = srv.create("journeys", {"name": "Storing melden"})
        tp1 = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Telefonisch contact",
                                         "position": 1, "survey_id": survey["id"]})
        tp2 = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Monteur aan huis",
                                         "position": 2, "survey_id": survey["id"]})

        # the rule
        st, _, rule = srv.request("PUT", "/api/v1/touchpoints/%d/rule" % tp1["id"], {"delay_minutes": 120})
        want = dict(RULE_DEFAULTS, delay_minutes=120)
        t.check(st == 200 and isinstance(rule, dict)
                and {k: rule.get(k) for k in want} == want,
                "%s: PUT rule {delay_minutes:120} -> 200 with the defaults for the rest" % name, ks.got(st, rule))
        st, _, g = srv.get("/api/v1/touchpoints/%d/rule" % tp1["id"])
        t.check(st == 200 and isinstance(g, dict) and {k: g.get(k) for k in want} == want,
                "%s: GET the rule -> the same rule" % name, ks.got(st, g))
        st, _, lst = srv.get("/api/v1/rules")
        t.check(st == 200 and any(isinstance(r, dict) and r.get("touchpoint_id") == tp1["id"]
                                  and r.get("delay_minutes") == 120 for r in rows_of(lst)),
                "%s: GET /api/v1/rules lists the rule" % name, ks.got(st, lst))

        # the contact at 10:00 (the test clock) -> created, send at 12:00
        c = new_contact(srv, c_nl, tp1, emp=anna)
        t.eq(c.get("occurred_at"), START, "%s: occurred_at defaults to the test clock's now" % name)
        inv = c.get("invitation") or {}
        t.check(inv.get("decision") == "created" and isinstance(inv.get("id"), int),
                "%s: contact -> invitation decision created with an id" % name, ks.short(c))
        t.eq(inv.get("send_at"), at(START, 2 * HOUR), "%s: send_at = contact + 120 minutes (12:00Z)" % name)
        row = invitation(srv, inv["id"], c_nl["id"])
        t.check(row.get("status") == "scheduled" and row.get("decision") == "created"
                and row.get("contact_id") == c["id"] and row.get("touchpoint_id") == tp1["id"]
                and row.get("send_at") == at(START, 2 * HOUR) and row.get("sent_at") is None,
                "%s: the invitation is listed as scheduled for 12:00" % name, ks.short(row))

        set_clock(srv, at(START, 2 * HOUR - MIN))
        stats_eq(t, run_sched(srv), {}, "%s: scheduler at 11:59 sends nothing" % name)
        t.eq(len(sink.mails(to=nl_addr)), 0, "%s: no mail in the sink before 12:00" % name)
        set_clock(srv, at(START, 2 * HOUR))
        stats_eq(t, run_sched(srv), {"sent": 1}, "%s: scheduler at 12:00 sends 1" % name)
        mails = wait_mails(sink, nl_addr, 1)
        t.eq(len(mails), 1, "%s: exactly one mail for the customer in the sink" % name)
        row = invitation(srv, inv["id"], c_nl["id"])
        t.check(row.get("status") == "sent" and row.get("sent_at") == at(START, 2 * HOUR)
                and row.get("attempts") == 1,
                "%s: invitation status sent, sent_at 12:00, attempts 1" % name, ks.short(row))
        t.eq(row.get("expires_at"), at(START, 2 * HOUR + 14 * DAY),
             "%s: expires_at = sent_at + expiry_days (14)" % name)
        if not mails:
            return
        m = mails[0]

        # the mail
        t.check(nl_addr in m.to.lower() and nl_addr in m.rcpt.lower(),
                "%s: mail To and envelope recipient are the customer" % name, "To %r rcpt %r" % (m.to, m.rcpt))
        t.check(is_lang(m.subject, "nl"), "%s: Dutch subject for the nl customer" % name,
                "subject %r, (nl, en) words %s" % (m.subject, lang_score(m.subject)))
        t.check(is_lang(m.text, "nl") and is_lang(re.sub("<[^>]+>", " ", m.html), "nl"),
                "%s: Dutch text and HTML for the nl customer" % name, m.text[:800])
        t.check("multipart/alternative" in m.content_types and "text/plain" in m.content_types
                and "text/html" in m.content_types and m.text.strip() and m.html.strip(),
                "%s: multipart/alternative with a text/plain and a text/html part" % name,
                "parts: %s" % m.content_types)
        t.check("Anna" in m.text and "Anna" in m.html,
                "%s: the mail names the employee's first name (Anna) in both parts" % name, m.text[:800])
        t.check("Telefonisch contact" in m.text and "Telefonisch contact" in m.html,
                "%s: the mail names the touchpoint in both parts" % name, m.text[:800])
        for part in ("html", "text"):
            links = nps_links(m, part)
            t.eq(sorted(links, key=int) if all(k.isdigit() for k in links) else sorted(links),
                 [str(n) for n in range(11)], "%s: %s part has links ?nps=0..10" % (name, part))
            urls = [u for v in links.values() for u in v]
            paths = {urllib.parse.urlsplit(u).path for u in urls}
            t.check(len(paths) == 1 and SURVEY_PATH_RE.match(next(iter(paths)))
                    and all(u.startswith(BASE_URL + "/s/") for u in urls),
                    "%s: %s part: every score link is %s/s/TOKEN?nps=N with one token" % (name, part, BASE_URL),
                    "urls: %s" % urls[:12])
        spath = survey_path_of(m)
        t.check(spath is not None and nps_links(m, "text") and
                {urllib.parse.urlsplit(u).path for v in nps_links(m, "text").values() for u in v} == {spath},
                "%s: the text and HTML parts link to the same survey" % name, "html path %r" % spath)
        t.check(re.match(r"^<[^<>@\s]+@[^<>@\s]+>$", m.message_id) is not None,
                "%s: a Message-ID <...@...>" % name, "Message-ID %r" % m.message_id)
        unsub = m.unsubscribe_url()
        t.check(unsub is not None and unsub.startswith(BASE_URL + "/u/")
                and UNSUB_PATH_RE.match(urllib.parse.urlsplit(unsub).path),
                "%s: List-Unsubscribe <%s/u/TOKEN>" % (name, BASE_URL), "List-Unsubscribe %r" % m.list_unsubscribe)
        t.eq(m.list_unsubscribe_post.strip(), "List-Unsubscribe=One-Click",
             "%s: List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058)" % name)
        if spath is None:
            return

        # the page from the ?nps=9 link, and the form
        link9 = nps_links(m, "html").get("9", [None])[0]
        st, hd, body = srv.get(url_path(link9))
        p = Page(body)
        t.check(st == 200 and (hd.get("Content-Type") or "").startswith("text/html"),
                "%s: GET the ?nps=9 link -> 200 text/html" % name, ks.got(st, body))
        t.eq(p.checked("nps"), ["9"], "%s: the form has nps 9 pre-checked" % name)
        row = invitation(srv, inv["id"], c_nl["id"])
        # the tap stored the score (issue 13): the invitation is answered, no reminder follows
        t.check(row.get("opened_at") == at(START, 2 * HOUR) and row.get("started_at") == at(START, 2 * HOUR)
                and row.get("completed_at") == at(START, 2 * HOUR) and row.get("reminder_status") == "skipped",
                "%s: after the click: opened_at, started_at and completed_at set (the score is stored)"
                % name, ks.short(row))
        items = [r for r in srv.list_all("responses") if r.get("contact_id") == c["id"]]
        t.eq([((i.get("answers") or {}).get("nps"), i.get("complete"), i.get("source")) for i in items],
             [(9, False, "one-click")], "%s: the tap stored a partial response, nps 9, source one-click" % name)
        k = p.nonce()
        t.check(bool(k), "%s: the form carries a hidden k" % name, "inputs: %s" % ks.short(p.inputs))
        st, _, body = srv.form(spath, {"nps": "9", "k": k or ""})
        t.check(st == 201, "%s: POST the form with nps 9 -> 201" % name, ks.got(st, body))
        resp = [r for r in srv.list_all("responses") if r.get("contact_id") == c["id"]]
        t.eq(len(resp), 1, "%s: one response for the contact in GET /api/v1/responses" % name)
        if resp:
            r = resp[0]
            want = {"customer_id": c_nl["id"], "employee_id": anna["id"], "team_id": team["id"],
                    "touchpoint_id": tp1["id"], "nps": 9}
            got_ = {"customer_id": r.get("customer_id"), "employee_id": r.get("employee_id"),
                    "team_id": r.get("team_id"), "touchpoint_id": r.get("touchpoint_id"),
                    "nps": (r.get("answers") or {}).get("nps")}
            t.eq(got_, want, "%s: the response is tied to the contact's employee, team, touchpoint; nps 9" % name)
        row = invitation(srv, inv["id"], c_nl["id"])
        t.check(all(ks.iso_ok(row.get(k)) for k in ("opened_at", "started_at", "completed_at")),
                "%s: invitation shows opened_at, started_at and completed_at" % name, ks.short(row))

        st, _, fun = srv.get("/api/v1/funnel?group_by=touchpoint")
        fr = row_for(rows_of(fun), tp1["id"], ("key", "touchpoint_id", "group", "id"))
        want = {"invited": 1, "delivered": 1, "opened": 1, "started": 1, "completed": 1, "failed": 0,
                "contacts": 1, "not_invited": 0}
        t.check(st == 200 and fr is not None and {k: fr.get(k) for k in want} == want,
                "%s: funnel by touchpoint: invited, delivered, opened, started, completed all 1" % name,
                ks.got(st, fun))
        t.check(fr is not None and fr.get("response_rate") == 1.0,
                "%s: funnel response_rate 1.0" % name, ks.got(st, fun))
        t.error(srv.get("/api/v1/funnel?group_by=colour"), 422, "invalid", "group_by",
                "%s: funnel group_by=colour -> 422 naming group_by" % name)

        # the English customer on the other touchpoint
        put_rule(srv, tp2["id"], {"delay_minutes": 120})
        c2 = new_contact(srv, c_en, tp2, emp=anna, channel="field")
        t.check(decision(c2) == "created" and (c2.get("invitation") or {}).get("send_at") == at(START, 4 * HOUR),
                "%s: en contact at 12:00 -> created, send_at 14:00" % name, ks.short(c2))
        set_clock(srv, at(START, 4 * HOUR))
        stats_eq(t, run_sched(srv), {"sent": 1}, "%s: scheduler at 14:00 sends the en invitation" % name)
        me = wait_mails(sink, en_addr, 1)
        t.eq(len(me), 1, "%s: one mail for the en customer" % name)
        if me:
            t.check(is_lang(me[0].subject, "en") and is_lang(me[0].text, "en"),
                    "%s: English subject and text for the en customer" % name,
                    "subject %r\n%s" % (me[0].subject, me[0].text[:600]))
            t.check("Anna" in me[0].text and "Monteur aan huis" in me[0].text,
                    "%s: en mail names Anna and the touchpoint" % name, me[0].text[:600])
            t.check(me[0].message_id != m.message_id, "%s: each mail has its own Message-ID" % name,
                    "%r %r" % (me[0].message_id, m.message_id))

        # representativeness
        st, _, rep = srv.get("/api/v1/funnel/representativeness?dimension=language")
        rows = rows_of(rep)
        rnl = row_for(rows, "nl", ("segment", "key", "value", "language"))
        ren = row_for(rows, "en", ("segment", "key", "value", "language"))
        t.check(st == 200 and rnl is not None and ren is not None
                and (rnl.get("invited_customers"), rnl.get("respondents")) == (1, 1)
                and (ren.get("invited_customers"), ren.get("respondents")) == (1, 0),
                "%s: representativeness by language: nl 1 invited 1 respondent, en 1 invited 0" % name,
                ks.got(st, rep))
        t.check(rnl is not None and ren is not None and rnl.get("response_rate") == 1.0
                and ren.get("response_rate") == 0.0,
                "%s: representativeness response_rate nl 1.0, en 0.0" % name, ks.got(st, rep))
        t.error(srv.get("/api/v1/funnel/representativeness?dimension=shoe_size"), 422, "invalid", "dimension",
                "%s: representativeness dimension=shoe_size -> 422 naming dimension" % name)


# ---------------------------------------------------------------------------
# fatigue across touchpoints


def test_fatigue(t, sink):
    name = "fatigue"
    with server(t, sink) as srv:
        f = mini_fixture(srv, 3, "fat")
        tpa, tpb, tpc = f["tps"]
        put_rule(srv, tpa["id"], {"delay_minutes": 0})
        put_rule(srv, tpb["id"], {"delay_minutes": 0, "fatigue_days": 30})
        put_rule(srv, tpc["id"], {"delay_minutes": 0, "sample_pct": 0})
        x = customer(srv, "x", "fatigue.x@example.org")
        y = customer(srv, "y", "fatigue.y@example.org")
        z = customer(srv, "z", "fatigue.z@example.org")
        t.eq(decision(new_contact(srv, x, tpa)), "created", "%s: first contact (touchpoint A) -> created" % name)
        set_clock(srv, at(START, 10 * DAY))
        c = new_contact(srv, x, tpb)
        t.eq(decision(c), "fatigue", "%s: same customer, touchpoint B, 10 days later -> fatigue" % name)
        inv = c.get("invitation") or {}
        # a skipped decision is recorded too, with an id (docs/API.md: the
        # reply carries "invitation": {"id", "decision", "send_at"})
        rows = [r for r in srv.list_all("invitations", "customer_id=%d" % x["id"]) if r.get("id") == inv.get("id")]
        t.eq([(r.get("decision"), r.get("status"), r.get("touchpoint_id")) for r in rows], [("fatigue", "skipped", tpb["id"])],
             "%s: the fatigue decision is recorded under the reply's id (status skipped)" % name)
        t.eq(decision(new_contact(srv, y, tpb)), "created",
             "%s: another customer on touchpoint B the same day -> created" % name)
        t.eq(decision(new_contact(srv, z, tpc)), "sampled_out", "%s: sample_pct 0 -> sampled_out" % name)
        set_clock(srv, at(START, 11 * DAY))
        t.eq(decision(new_contact(srv, z, tpa)), "created",
             "%s: a sampled-out contact is no invitation: next day -> created" % name)
        set_clock(srv, at(START, 31 * DAY))
        t.eq(decision(new_contact(srv, x, tpb)), "created",
             "%s: 31 days after the first invitation (fatigue_days 30) -> created" % name)
        n = len(srv.list_all("invitations", "decision=fatigue"))
        t.eq(n, 1, "%s: GET /api/v1/invitations?decision=fatigue lists 1" % name)


# ---------------------------------------------------------------------------
# sampling with a fixed seed


N_SAMPLE = 400


def sampling_run(t, sink):
    """A fresh server, a touchpoint with sample_pct 30, N_SAMPLE customers
    (created concurrently, then taken in id order) and one contact each,
    created one after the other. Returns [(customer id, decision)]."""
    with server(t, sink) as srv:
        f = mini_fixture(srv, 1, "smp")
        tp = f["tps"][0]
        put_rule(srv, tp["id"], {"sample_pct": 30, "delay_minutes": 0})

        def mk(i):
            return srv.create("customers", {"external_id": "S-%04d" % i, "email": "s%04d@example.org" % i})

        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            custs = sorted(ex.map(mk, range(N_SAMPLE)), key=lambda c: c["id"])
        out = []
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=15)  # one keep-alive connection
        try:
            for cu in custs:
                b = {"customer_id": cu["id"], "touchpoint_id": tp["id"], "channel": "web"}
                conn.request("POST", "/api/v1/contacts", json.dumps(b),
                             {"Content-Type": "application/json",
                              "Authorization": "Bearer " + ks.TOKENS[srv.port]})
                r = conn.getresponse()
                data = ks.decode_body(r.headers, r.read())
                if r.status != 201:
                    raise ks.FixtureError("POST /api/v1/contacts %s -> %s" % (b, ks.got(r.status, data)))
                out.append((cu["id"], decision(data)))
        finally:
            conn.close()
        return out


def test_sampling(t, sink):
    name = "sampling"
    # two fresh servers with the same seed, side by side
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        a, b = [fu.result() for fu in [ex.submit(sampling_run, t, sink) for _ in range(2)]]
    decs = [d for _, d in a]
    t.check(set(decs) <= {"created", "sampled_out"}, "%s: every decision is created or sampled_out" % name,
            "decisions: %s" % sorted(set(map(str, decs))))
    share = decs.count("created") / float(len(decs))
    sd = math.sqrt(0.3 * 0.7 / N_SAMPLE)
    t.check(abs(share - 0.3) <= 3 * sd, "%s: share created %.3f within 3 sd (%.3f) of 0.30" % (name, share, 3 * sd),
            "created %d of %d" % (decs.count("created"), len(decs)))
    t.check(a == b, "%s: a second fresh server with the same --sample-seed decides identically" % name,
            "first differences: %s" % [(i, x, y) for i, (x, y) in enumerate(zip(a, b)) if x != y][:10])


# ---------------------------------------------------------------------------
# quiet hours (Europe/Amsterdam)


def test_quiet(t, sink):
    name = "quiet hours"
    winter = "2026-01-12T19:30:00Z"   # 20:30 CET
    with server(t, sink, clock=winter) as srv:
        f = mini_fixture(srv, 1, "q")
        tp = f["tps"][0]
        put_rule(srv, tp["id"], {"delay_minutes": 120, "reminder_days": 0})
        addr = "quiet.winter@example.org"
        cu = customer(srv, "qw", addr)
        c = new_contact(srv, cu, tp)
        t.check(decision(c) == "created" and (c.get("invitation") or {}).get("send_at") == "2026-01-13T07:00:00Z",
                "%s: 20:30 Amsterdam (19:30Z, winter) + 120 min -> send_at 08:00 local next day (07:00Z)" % name,
                ks.short(c))
        set_clock(srv, "2026-01-12T23:00:00Z")
        stats_eq(t, run_sched(srv), {}, "%s: scheduler at 23:00Z sends nothing" % name)
        set_clock(srv, "2026-01-13T06:59:00Z")
        stats_eq(t, run_sched(srv), {}, "%s: scheduler at 06:59Z sends nothing" % name)
        t.eq(len(sink.mails(to=addr)), 0, "%s: no mail before 07:00Z" % name)
        set_clock(srv, "2026-01-13T07:00:00Z")
        stats_eq(t, run_sched(srv), {"sent": 1}, "%s: scheduler at 07:00Z sends 1" % name)
        t.eq(len(wait_mails(sink, addr, 1)), 1, "%s: the mail arrived" % name)

        # summer: 20:30 CEST is 18:30Z; 22:30 local is quiet -> 08:00 CEST = 06:00Z
        set_clock(srv, "2026-07-13T18:30:00Z")
        addr2 = "quiet.summer@example.org"
        c2 = new_contact(srv, customer(srv, "qs", addr2), tp)
        t.check(decision(c2) == "created"
                and (c2.get("invitation") or {}).get("send_at") == "2026-07-14T06:00:00Z",
                "%s: 20:30 Amsterdam in summer (18:30Z) + 120 min -> 08:00 CEST (06:00Z)" % name, ks.short(c2))
        set_clock(srv, "2026-07-14T05:59:00Z")
        stats_eq(t, run_sched(srv), {}, "%s: summer: nothing at 05:59Z" % name)
        set_clock(srv, "2026-07-14T06:00:00Z")
        stats_eq(t, run_sched(srv), {"sent": 1}, "%s: summer: sent at 06:00Z" % name)


# ---------------------------------------------------------------------------
# expiry


def test_expiry(t, sink):
    name = "expiry"
    with server(t, sink) as srv:
        f = mini_fixture(srv, 1, "exp")
        tp = f["tps"][0]
        put_rule(srv, tp["id"], {"delay_minutes": 0, "expiry_days": 5, "reminder_days": 0})
        addr = "expiry@example.org"
        cu = customer(srv, "e", addr)
        c = new_contact(srv, cu, tp)
        inv = c.get("invitation") or {}
        t.eq(inv.get("decision"), "created", "%s: created" % name)
        set_clock(srv, at(START, 30))
        stats_eq(t, run_sched(srv), {"sent": 1}, "%s: sent" % name)
        row = invitation(srv, inv["id"], cu["id"])
        sent_at = row.get("sent_at")
        t.check(ks.iso_ok(sent_at) and row.get("expires_at") == at(sent_at, 5 * DAY),
                "%s: expires_at = sent_at + expiry_days (5)" % name, ks.short(row))
        ms = wait_mails(sink, addr, 1)
        spath = survey_path_of(ms[0]) if ms else None
        if spath is None or not ks.iso_ok(row.get("expires_at")):
            raise ks.FixtureError("no mail with a survey link, or no expires_at: %s %s" % (ms, ks.short(row)))
        exp = row["expires_at"]
        set_clock(srv, at(exp, -MIN))
        st, _, body = srv.get(spath)
        t.check(st == 200, "%s: the survey link answers 200 a minute before expires_at" % name, ks.got(st, body[:300]))
        k = Page(body).nonce()
        set_clock(srv, at(exp, MIN))
        st, _, body = srv.get(spath)
        t.check(st == 410, "%s: the survey link answers 410 a minute after expires_at" % name, ks.got(st, body[:300]))
        st, _, body = srv.form(spath, {"nps": "8", "k": k or ""})
        t.check(st == 410, "%s: POSTing the form after expiry -> 410" % name, ks.got(st, body[:300]))
        t.eq([r for r in srv.list_all("responses") if r.get("contact_id") == c["id"]], [],
             "%s: nothing stored after expiry" % name)


# ---------------------------------------------------------------------------
# one reminder


def test_reminder(t, sink):
    name = "reminder"
    with server(t, sink) as srv:
        f = mini_fixture(srv, 1, "rem")
        tp = f["tps"][0]
        put_rule(srv, tp["id"], {"delay_minutes": 0, "reminder_days": 3})
        a_addr, b_addr = "remind.a@example.org", "remind.b@example.org"
        ca, cb = customer(srv, "ra", a_addr), customer(srv, "rb", b_addr)
        ia = (new_contact(srv, ca, tp).get("invitation") or {})
        new_contact(srv, cb, tp)
        stats_eq(t, run_sched(srv), {"sent": 2}, "%s: both invitations sent" % name)
        ma, mb = wait_mails(sink, a_addr, 1), wait_mails(sink, b_addr, 1)
        if len(ma) != 1 or len(mb) != 1:
            raise ks.FixtureError("expected one mail each, got %s / %s" % (ma, mb))
        st = answer_via_page(t, srv, url_path(nps_links(mb[0], "html")["7"][0]), 7, name)
        t.check(st == 201, "%s: customer B answers through the mail link -> 201" % name, "status %s" % st)
        set_clock(srv, at(START, 3 * DAY - MIN))
        stats_eq(t, run_sched(srv), {}, "%s: no reminder a minute before 3 days" % name)
        set_clock(srv, at(START, 3 * DAY))
        stats_eq(t, run_sched(srv), {"reminders": 1}, "%s: at +3 days: exactly 1 reminder" % name)
        ma2 = wait_mails(sink, a_addr, 2)
        t.eq(len(ma2), 2, "%s: the unanswered customer got a second mail" % name)
        t.eq(len(sink.mails(to=b_addr)), 1, "%s: the customer who answered got no reminder" % name)
        if len(ma2) == 2:
            first, rem = ma2
            t.check(rem.subject != first.subject and re.search(r"(?i)herinnering|reminder", rem.subject),
                    "%s: the reminder's subject is marked as a reminder" % name,
                    "first %r, reminder %r" % (first.subject, rem.subject))
            t.check(survey_path_of(rem) is not None and survey_path_of(rem) == survey_path_of(first),
                    "%s: the reminder links to the same survey" % name,
                    "%r vs %r" % (survey_path_of(rem), survey_path_of(first)))
            t.check(rem.message_id and rem.message_id != first.message_id,
                    "%s: the reminder has its own Message-ID" % name, "%r %r" % (rem.message_id, first.message_id))
            t.check(rem.unsubscribe_url() is not None, "%s: the reminder has List-Unsubscribe" % name,
                    rem.list_unsubscribe)
        row = invitation(srv, ia.get("id"), ca["id"])
        t.check(row.get("status") == "sent" and row.get("reminder_status") not in (None, "scheduled"),
                "%s: invitation A: status sent, reminder_status no longer scheduled" % name, ks.short(row))
        set_clock(srv, at(START, 4 * DAY))
        stats_eq(t, run_sched(srv), {}, "%s: at +4 days: no further mail" % name)
        set_clock(srv, at(START, 10 * DAY))
        stats_eq(t, run_sched(srv), {}, "%s: at +10 days: still nothing" % name)
        t.eq((len(sink.mails(to=a_addr)), len(sink.mails(to=b_addr))), (2, 1),
             "%s: mails in the sink: A 2 (invitation, reminder), B 1" % name)


# ---------------------------------------------------------------------------
# opt-out


def test_optout(t, sink):
    name = "opt-out"
    with server(t, sink) as srv:
        f = mini_fixture(srv, 2, "opt")
        tp1, tp2 = f["tps"]
        put_rule(srv, tp1["id"], {"delay_minutes": 0, "reminder_days": 3})
        put_rule(srv, tp2["id"], {"delay_minutes": 120})
        c_addr, d_addr = "optout.c@example.org", "optout.d@example.org"
        cc, cd = customer(srv, "oc", c_addr), customer(srv, "od", d_addr)
        ic = new_contact(srv, cc, tp1).get("invitation") or {}
        idd = new_contact(srv, cd, tp2).get("invitation") or {}
        t.check(ic.get("decision") == "created" and idd.get("decision") == "created",
                "%s: two invitations created" % name, "%s %s" % (ic, idd))
        stats_eq(t, run_sched(srv), {"sent": 1}, "%s: customer C's invitation sent" % name)
        ms = wait_mails(sink, c_addr, 1)
        unsub = ms[0].unsubscribe_url() if ms else None
        if not unsub:
            raise ks.FixtureError("no List-Unsubscribe URL in %s" % ms)
        upath = urllib.parse.urlsplit(unsub).path

        def opted():
            return {r.get("customer_id") for r in srv.list_all("opt-outs")}

        st, hd, body = srv.get(upath)
        t.check(st == 200 and (hd.get("Content-Type") or "").startswith("text/html"),
                "%s: GET /u/TOKEN -> 200 page" % name, ks.got(st, body[:300]))
        t.check(cc["id"] not in opted(), "%s: GET /u/TOKEN alone does not opt out (prefetch-safe)" % name,
                "opt-outs: %s" % opted())
        set_clock(srv, at(START, HOUR))
        st, _, body = srv.form(upath, "List-Unsubscribe=One-Click")
        t.check(st == 200, "%s: POST /u/TOKEN (List-Unsubscribe=One-Click) -> 200" % name, ks.got(st, body[:300]))
        st, _, body = srv.post("/api/v1/customers/%d/opt-out" % cd["id"])
        t.check(st == 200, "%s: POST /api/v1/customers/{id}/opt-out -> 200" % name, ks.got(st, body))
        t.error(srv.post("/api/v1/customers/999999/opt-out"), 404, "not_found", None,
                "%s: opt-out of an unknown customer -> 404" % name)
        st, _, body = srv.form("/u/NoSuchToken0000000000000", "List-Unsubscribe=One-Click")
        t.check(st == 404, "%s: POST /u/ with an unknown token -> 404" % name, ks.got(st, body[:300]))
        got_ = opted()
        t.check({cc["id"], cd["id"]} <= got_, "%s: GET /api/v1/opt-outs lists both customers" % name,
                "opt-outs: %s" % got_)

        set_clock(srv, at(START, 2 * HOUR))
        stats_eq(t, run_sched(srv), {}, "%s: the pending invitation of the opted-out customer is not sent" % name)
        row = invitation(srv, idd.get("id"), cd["id"])
        t.check(row.get("status") not in ("scheduled", "sending", "sent"),
                "%s: the pending invitation is cancelled (status no longer scheduled)" % name, ks.short(row))
        set_clock(srv, at(START, 3 * DAY))
        stats_eq(t, run_sched(srv), {}, "%s: the pending reminder of the opted-out customer is not sent" % name)
        t.eq((len(sink.mails(to=c_addr)), len(sink.mails(to=d_addr))), (1, 0),
             "%s: sink: C only the first invitation, D nothing" % name)
        set_clock(srv, at(START, 40 * DAY))
        t.eq(decision(new_contact(srv, cc, tp1)), "opted_out",
             "%s: a contact 40 days later -> opted_out (via the mail link)" % name)
        t.eq(decision(new_contact(srv, cd, tp2)), "opted_out",
             "%s: a contact 40 days later -> opted_out (via the API)" % name)
        set_clock(srv, at(START, 41 * DAY))
        stats_eq(t, run_sched(srv), {}, "%s: nothing sent to opted-out customers later" % name)


# ---------------------------------------------------------------------------
# delivery failures: sink down, 4xx, 5xx; no e-mail


def test_delivery(t):
    name = "delivery"
    sink2 = smtp_sink.Sink()
    try:
        sink2.start()
        with server(t, sink2) as srv:
            f = mini_fixture(srv, 1, "dl")
            tp = f["tps"][0]
            put_rule(srv, tp["id"], {"delay_minutes": 0, "reminder_days": 0})
            addr = "down@example.org"
            cu = customer(srv, "down", addr)
            inv = new_contact(srv, cu, tp).get("invitation") or {}
            sink2.stop()
            stats_eq(t, run_sched(srv), {"retried": 1}, "%s: sink down: 1 to retry" % name)
            row = invitation(srv, inv.get("id"), cu["id"])
            t.check(row.get("status") == "scheduled" and row.get("attempts") == 1
                    and isinstance(row.get("last_error"), str) and row["last_error"].strip(),
                    "%s: sink down: status scheduled, attempts 1, last_error set" % name, ks.short(row))
            sink2.start()
            set_clock(srv, at(START, 30))
            stats_eq(t, run_sched(srv), {}, "%s: 30 s later (backoff 1 min) nothing is tried" % name)
            set_clock(srv, at(START, 2 * MIN))
            stats_eq(t, run_sched(srv), {"sent": 1}, "%s: sink up again, 2 min later: sent" % name)
            row = invitation(srv, inv.get("id"), cu["id"])
            t.check(row.get("status") == "sent" and row.get("attempts") == 2,
                    "%s: status sent after 2 attempts" % name, ks.short(row))
            t.eq(len(wait_mails(sink2, addr, 1)), 1, "%s: exactly one mail in the sink" % name)

            # 550 and 451 from the sink
            set_clock(srv, at(START, HOUR))
            pc = customer(srv, "perm", "perm-rejected@example.org")
            tc = customer(srv, "temp", "temp-later@example.org")
            ip = new_contact(srv, pc, tp).get("invitation") or {}
            it = new_contact(srv, tc, tp).get("invitation") or {}
            stats_eq(t, run_sched(srv), {"failed": 1, "retried": 1}, "%s: 550 -> failed 1, 451 -> retried 1" % name)
            rp = invitation(srv, ip.get("id"), pc["id"])
            t.check(rp.get("status") == "failed" and rp.get("attempts") == 1 and rp.get("last_error"),
                    "%s: 550: status failed, attempts 1, last_error set" % name, ks.short(rp))
            rt = invitation(srv, it.get("id"), tc["id"])
            t.check(rt.get("status") == "scheduled" and rt.get("attempts") == 1 and rt.get("last_error"),
                    "%s: 451: status scheduled, attempts 1, last_error set" % name, ks.short(rt))
            set_clock(srv, at(START, HOUR + DAY))
            stats_eq(t, run_sched(srv), {"retried": 1}, "%s: a day later: the 451 one retried, the 550 one not" % name)
            rp2 = invitation(srv, ip.get("id"), pc["id"])
            t.check(rp2.get("status") == "failed" and rp2.get("attempts") == 1,
                    "%s: 550: still failed, no new attempt" % name, ks.short(rp2))
            tries = []
            for d in range(2, 14):
                set_clock(srv, at(START, HOUR + d * DAY))
                run_sched(srv)
                rt = invitation(srv, it.get("id"), tc["id"])
                tries.append((rt.get("status"), rt.get("attempts")))
            t.check(tries and tries[-1] == ("failed", 8),
                    "%s: 451 every time: marked failed after 8 attempts, then left alone" % name,
                    "(status, attempts) per daily pass: %s" % tries)
            f_ = len(srv.list_all("invitations", "status=failed"))
            t.eq(f_, 2, "%s: GET /api/v1/invitations?status=failed lists 2" % name)
            st, _, fun = srv.get("/api/v1/funnel?group_by=touchpoint")
            fr = row_for(rows_of(fun), tp["id"], ("key", "touchpoint_id", "group", "id"))
            t.check(fr is not None and fr.get("failed") == 2 and fr.get("delivered") == 1
                    and fr.get("invited") == 3,
                    "%s: funnel: invited 3, delivered 1, failed 2" % name, ks.got(st, fun))

            # a customer without e-mail
            # the retry schedule, observed minute by minute (docs/API.md: "retried
            # with backoff (1, 2, 4 ... minutes, 8 attempts)"): after attempt k
            # nothing happens until 2^(k-1) minutes later, then attempt k+1
            base = ks.parse_iso(START) + 30 * DAY
            set_clock(srv, ks.iso(base))
            sc = customer(srv, "tempsched", "temp-schedule@example.org")
            isch = new_contact(srv, sc, tp).get("invitation") or {}
            run_sched(srv)
            seen = [(invitation(srv, isch.get("id"), sc["id"]).get("attempts"), 0)]
            t_k, early = base, []
            for k in range(1, 8):
                due = t_k + 60 * 2 ** (k - 1)
                set_clock(srv, ks.iso(due - 1))
                run_sched(srv)
                row = invitation(srv, isch.get("id"), sc["id"])
                if row.get("attempts") != k:
                    early.append((k, "1 s before", row.get("attempts"), row.get("status")))
                set_clock(srv, ks.iso(due))
                run_sched(srv)
                row = invitation(srv, isch.get("id"), sc["id"])
                seen.append((row.get("attempts"), due - base))
                t_k = due
            t.eq(seen, [(k, 60 * (2 ** (k - 1) - 1)) for k in range(1, 9)],
                 "%s: 451 each time: attempts 1..8 at 0, 1, 3, 7, 15, 31, 63, 127 minutes" % name)
            t.check(not early, "%s: never retried a second before its backoff ran out" % name, early)
            t.eq(row.get("status"), "failed", "%s: after the 8th attempt the invitation is failed" % name)
            set_clock(srv, ks.iso(t_k + DAY))
            run_sched(srv)
            t.eq(invitation(srv, isch.get("id"), sc["id"]).get("attempts"), 8,
                 "%s: a failed invitation is not tried again" % name)

            nc = customer(srv, "nomail", None)
            c = new_contact(srv, nc, tp)
            t.eq(decision(c), "no_email", "%s: customer without e-mail -> no_email" % name)
            before = sink2.count()
            st = run_sched(srv)
            t.check(st.get("sent") == 0 and sink2.count() == before,
                    "%s: no_email: nothing sent" % name, "stats %s, sink %d -> %d" % (st, before, sink2.count()))
            t.eq(sorted(m.rcpt for m in sink2.mails()), ["down@example.org"],
                 "%s: the sink holds only the one delivered mail" % name)
    finally:
        sink2.cleanup()


# ---------------------------------------------------------------------------
# webhook


class Hooks(http.server.BaseHTTPRequestHandler):
    got = []
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        with Hooks.lock:
            Hooks.got.append((self.path, dict((k.lower(), v) for k, v in self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


def test_webhook(t, sink):
    name = "webhook"
    secret = "wh-secret-" + ks.uniq("s")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    Hooks.got = []
    try:
        url = "http://127.0.0.1:%d/hooks/klantstem" % httpd.server_address[1]
        with server(t, sink, extra=["--webhook-url", url], env={"KLANTSTEM_WEBHOOK_SECRET": secret}) as srv:
            f = mini_fixture(srv, 1, "wh")
            tp = f["tps"][0]
            put_rule(srv, tp["id"], {"delay_minutes": 120})
            cu = customer(srv, "wh", "webhook@example.org")
            c = new_contact(srv, cu, tp)
            inv = c.get("invitation") or {}
            t.eq(inv.get("decision"), "created", "%s: invitation created" % name)
            st = run_sched(srv)
            t.eq((st.get("webhooks_sent"), st.get("webhooks_failed"), st.get("sent")), (1, 0, 0),
                 "%s: scheduler pass: webhooks_sent 1 (mail not due yet)" % name)
            with Hooks.lock:
                got_ = list(Hooks.got)
            t.eq(len(got_), 1, "%s: the listener got one POST" % name)
            if got_:
                path, hd, body = got_[0]
                t.eq(path, "/hooks/klantstem", "%s: POSTed to the configured path" % name)
                t.eq(hd.get("x-klantstem-event"), "invitation.created", "%s: X-Klantstem-Event invitation.created" % name)
                ts = hd.get("x-klantstem-timestamp") or ""
                sig = hd.get("x-klantstem-signature") or ""
                want = "sha256=" + hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
                t.check(ts != "" and hmac.compare_digest(sig, want),
                        "%s: X-Klantstem-Signature = sha256=HMAC-SHA256(secret, timestamp.body)" % name,
                        "timestamp %r\nsignature %r\nexpected  %r" % (ts, sig, want))
                bad = "sha256=" + hmac.new(b"not-the-secret", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
                t.check(sig != bad, "%s: the signature depends on the secret" % name, sig)
                try:
                    j = json.loads(body)
                except ValueError:
                    j = None
                want_j = {"event": "invitation.created", "invitation_id": inv.get("id"), "contact_id": c["id"],
                          "customer_id": cu["id"], "touchpoint_id": tp["id"], "send_at": inv.get("send_at")}
                t.eq({k: (j or {}).get(k) for k in want_j}, want_j, "%s: the JSON body names the invitation" % name)
                t.check(isinstance(j, dict) and isinstance(j.get("token"), str) and j.get("token")
                        and j.get("survey_path") == "/s/" + j["token"],
                        "%s: body has token and survey_path /s/TOKEN" % name, ks.short(j))
                t.check((hd.get("content-type") or "").startswith("application/json"),
                        "%s: Content-Type application/json" % name, hd.get("content-type"))
            st = run_sched(srv)
            t.eq(st.get("webhooks_sent"), 0, "%s: a second pass sends no webhook again" % name)
            new_contact(srv, customer(srv, "wh2", None), tp)
            st = run_sched(srv)
            with Hooks.lock:
                n = len(Hooks.got)
            t.check(st.get("webhooks_sent") == 0 and n == 1, "%s: a no_email contact fires no webhook" % name,
                    "stats %s, listener got %d" % (st, n))
    finally:
        httpd.shutdown()
        httpd.server_close()


# ---------------------------------------------------------------------------
# QR, rule validation, no_rule / disabled


def test_misc(t, sink):
    name = "rules"
    with server(t, sink) as srv:
        f = mini_fixture(srv, 2, "misc")
        tp, tp_free = f["tps"]

        st, hd, body = srv.get("/api/v1/touchpoints/%d/qr.svg" % tp["id"])
        text = body if isinstance(body, str) else ""
        t.check(st == 200 and (hd.get("Content-Type") or "").startswith("image/svg+xml")
                and (text.lstrip().startswith("<svg") or text.lstrip().startswith("<?xml"))
                and "</svg>" in text,
                "qr: GET /touchpoints/{id}/qr.svg -> 200 image/svg+xml, an <svg> document",
                "%s %r %r" % (st, hd.get("Content-Type"), text[:200]))
        t.error(srv.get("/api/v1/touchpoints/999999/qr.svg"), 404, "not_found", None,
                "qr: unknown touchpoint -> 404")

        cu = customer(srv, "r", "rules@example.org")
        t.eq(decision(new_contact(srv, cu, tp_free)), "no_rule", "%s: touchpoint without a rule -> no_rule" % name)

        put_rule(srv, tp["id"], {"delay_minutes": 5, "sample_pct": 50})
        r = put_rule(srv, tp["id"], {"fatigue_days": 10})
        t.eq({k: r.get(k) for k in RULE_DEFAULTS}, dict(RULE_DEFAULTS, fatigue_days=10),
             "%s: PUT replaces the rule (absent fields back to their defaults)" % name)
        good = dict(srv.get("/api/v1/touchpoints/%d/rule" % tp["id"])[2])
        path = "/api/v1/touchpoints/%d/rule" % tp["id"]
        bad = [
            ({"sample_pct": 101}, "out_of_range", "sample_pct"),
            ({"sample_pct": -1}, "out_of_range", "sample_pct"),
            ({"delay_minutes": 10081}, "out_of_range", "delay_minutes"),
            ({"quiet_start_hour": 24}, "out_of_range", "quiet_start_hour"),
            ({"quiet_end_hour": -1}, "out_of_range", "quiet_end_hour"),
            ({"fatigue_days": 366}, "out_of_range", "fatigue_days"),
            ({"expiry_days": 0}, "out_of_range", "expiry_days"),
            ({"expiry_days": 91}, "out_of_range", "expiry_days"),
            ({"reminder_days": 31, "expiry_days": 90}, "out_of_range", "reminder_days"),
            ({"reminder_days": 14}, "out_of_range", "reminder_days"),
            ({"sample_pct": "30"}, "invalid", "sample_pct"),
            ({"enabled": "yes"}, "invalid", "enabled"),
            ({"colour": "blue"}, "invalid", "colour"),
            ({"survey_id": 999999}, "unknown_reference", "survey_id"),
        ]
        for b, code, field in bad:
            t.error(srv.request("PUT", path, b), 422, code, field,
                    "%s: PUT %s -> 422 %s %s" % (name, json.dumps(b), code, field))
        st, _, now_ = srv.get(path)
        t.check(st == 200 and now_ == good, "%s: the rejected PUTs changed nothing" % name, ks.got(st, now_))
        t.error(srv.request("PUT", "/api/v1/touchpoints/999999/rule", {"delay_minutes": 5}), 404, "not_found",
                None, "%s: PUT the rule of an unknown touchpoint -> 404" % name)
        t.error(srv.request("PUT", path, b"{nope"), 400, "malformed_json", None,
                "%s: PUT a rule with a malformed body -> 400" % name)

        put_rule(srv, tp["id"], {"enabled": False})
        cu2 = customer(srv, "r2", "rules2@example.org")
        t.eq(decision(new_contact(srv, cu2, tp)), "disabled", "%s: disabled rule -> disabled" % name)
        stats_eq(t, run_sched(srv), {}, "%s: nothing to send for no_rule / disabled" % name)


def test_no_test_mode(t):
    with server(t, None, clock=None, seed=None) as srv:
        t.error(srv.post("/api/v1/admin/clock", {"now": START}), 404, "not_found", None,
                "admin: POST /api/v1/admin/clock without --test-clock -> 404")
        t.error(srv.post("/api/v1/admin/scheduler/run"), 404, "not_found", None,
                "admin: POST /api/v1/admin/scheduler/run without --test-clock -> 404")



# ---------------------------------------------------------------------------
# The organisation's voice (issue 13): one form of address, its name and
# logo, the touchpoint as the customer reads it, in the customer's language


PNG_1X1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
U_NPS_NL = "Hoe waarschijnlijk is het dat u ons aanbeveelt aan vrienden of familie?"


def test_voice(t, sink):
    name = "voice"
    import base64
    with server(t, sink, base_url=BASE_URL) as srv:
        st, _, s = srv.request("PUT", "/api/v1/settings", {
            "form_of_address": "u", "organisation_name": "Energie BV",
            "logo": "data:image/png;base64," + base64.b64encode(PNG_1X1).decode()})
        t.eq(st, 200, "%s: PUT the voice (u, Energie BV, a logo) -> 200" % name)
        org = srv.create("teams", {"name": "Energie Intern", "kind": "organisation"})
        dept = srv.create("teams", {"name": "Klantenservice", "kind": "department", "parent_id": org["id"]})
        team = srv.create("teams", {"name": "Team Noord", "kind": "team", "parent_id": dept["id"]})
        anna = srv.create("employees", {"team_id": team["id"], "first_name": "Anna", "last_name": "Verbeek",
                                        "external_id": ks.uniq("E")})
        nl_addr, en_addr = "henk.voice@example.org", "mary.voice@example.org"
        c_nl = customer(srv, "vnl", nl_addr, "nl", name="Henk Jansen")
        c_en = customer(srv, "ven", en_addr, "en", name="Mary Smith")
        survey = srv.create("surveys", {"name": "Kort", "questions": [
            {"type": "nps", "text": {"nl": U_NPS_NL, "en": ks.NPS_EN}, "required": True},
            {"type": "open", "text": {"nl": "Wat kunnen we beter doen?", "en": "What could we do better?"}}]})
        t.eq(survey.get("warnings"), [], "%s: a short survey in the organisation's form -> no warnings" % name)
        journey = srv.create("journeys", {"name": "Storing"})
        tp = srv.create("touchpoints", {"journey_id": journey["id"], "name": "STO-intern", "position": 1,
                                        "survey_id": survey["id"], "label_nl": "Storingsmelding",
                                        "label_en": "Reporting a fault"})
        t.eq((tp.get("label_nl"), tp.get("label_en")), ("Storingsmelding", "Reporting a fault"),
             "%s: the touchpoint keeps its labels per language" % name)
        put_rule(srv, tp["id"], {"delay_minutes": 120})
        new_contact(srv, c_nl, tp, emp=anna)
        new_contact(srv, c_en, tp, emp=anna)
        set_clock(srv, at(START, 2 * HOUR))
        stats_eq(t, run_sched(srv), {"sent": 2}, "%s: both invitations sent" % name)
        nl = wait_mails(sink, nl_addr, 1)
        en = wait_mails(sink, en_addr, 1)
        if not nl or not en:
            t.check(False, "%s: a mail for each customer" % name, "nl %d, en %d" % (len(nl), len(en)))
            return
        nl, en = nl[0], en[0]
        t.eq(nl.subject, "Hoe was uw contact met Anna over Storingsmelding?",
             "%s: the Dutch subject says uw and names the Dutch label" % name)
        t.eq(en.subject, "How was your contact with Anna about Reporting a fault?",
             "%s: the English customer's subject is English with the English label" % name)
        for phrase in ("Beste Henk Jansen,",
                       "U had onlangs contact met Anna van Energie BV over Storingsmelding. We horen graag hoe dat ging.",
                       U_NPS_NL, "Het kost u maar een minuutje.", "Alvast bedankt!\nEnergie BV"):
            t.check(phrase in nl.text.replace("\r\n", "\n"), "%s: the Dutch text part holds %r" % (name, phrase), nl.text[:1500])
        t.check(not re.search(r"\b(je|jij|jouw)\b", nl.text, re.I), "%s: the Dutch mail never says je" % name,
                nl.text[:1500])
        t.check("STO-intern" not in nl.text + nl.html + en.text + en.html + nl.subject + en.subject,
                "%s: the internal touchpoint name never reaches a customer" % name, "")
        for phrase in ("Hello Mary Smith,",
                       "You were recently in touch with Anna from Energie BV about Reporting a fault. "
                       "We would love to hear how it went.", "It only takes a minute."):
            t.check(phrase in en.text, "%s: the English text part holds %r" % (name, phrase), en.text[:1500])
        logo = '<img src="%s/logo" alt="" height="40"' % BASE_URL
        t.check(logo in nl.html and logo in en.html and "Energie BV</p>" in nl.html,
                "%s: the HTML parts show the logo and the organisation's name" % name, nl.html[:2000])
        scores = re.findall(r'<a href="[^"]*\?nps=\d+"[^>]*style="([^"]*)"', nl.html)
        t.check(len(scores) == 11 and all("line-height:46px" in x and "border:1px solid" in x for x in scores),
                "%s: every score link is 46 px of line plus its 1 px borders high (>= 44)" % name, scores[:2])
        # the unsubscribe pages in the customer's language and the voice
        for m, lang, confirm, done in ((en, "en", "Don't want to receive invitations to our short surveys any more?",
                                        "You will not receive invitations any more."),
                                       (nl, "nl", "Wilt u geen uitnodigingen voor onze korte vragenlijsten meer ontvangen?",
                                        "U ontvangt geen uitnodigingen meer.")):
            path = url_path(m.unsubscribe_url())
            st, hd, body = srv.get(path)
            t.check(st == 200 and ('<html lang="%s">' % lang) in body and confirm in html_text(body)
                    and "Energie BV" in body, "%s: GET the unsubscribe page -> %s, the voice's words" % (name, lang),
                    ks.got(st, body[:1500]))
            st, hd, body = srv.form(path, {"List-Unsubscribe": "One-Click"})
            t.check(st == 200 and done in html_text(body), "%s: unsubscribed -> %r" % (name, done),
                    ks.got(st, body[:1500]))
        # a GET only asks (it tells nobody which tokens exist); the POST knows
        st, hd, body = srv.form("/u/unknowntokenxyz", {"List-Unsubscribe": "One-Click"})
        t.check(st == 404 and "Deze afmeldlink kennen we niet." in html_text(body),
                "%s: POST to an unknown unsubscribe link -> 404 in Dutch" % name, ks.got(st, body[:800]))


def test_long_names(t, sink):
    """Names longer than an invitation keeps of them (the customer's and the
    touchpoint's 127 bytes, the employee's first name 63) are cut between
    letters: a letter cut in two made the mail check refuse the mail."""
    name = "long names"
    with server(t, sink, base_url=BASE_URL) as srv:
        f = mini_fixture(srv, 1, "long")
        tp = f["tps"][0]
        must(srv.patch("/api/v1/touchpoints/%d" % tp["id"], {"name": "ü" * 250}), 200, "PATCH the touchpoint's name")
        org = srv.create("teams", {"name": "Lang BV", "kind": "organisation"})
        dept = srv.create("teams", {"name": "Afdeling Lang", "kind": "department", "parent_id": org["id"]})
        team = srv.create("teams", {"name": "Team Lang", "kind": "team", "parent_id": dept["id"]})
        emp = srv.create("employees", {"team_id": team["id"], "first_name": "ñ" * 100, "last_name": "Lang",
                                       "external_id": ks.uniq("E")})
        addr = "lang@example.org"
        cu = customer(srv, "long", addr, "nl", name="ø" * 150)
        put_rule(srv, tp["id"], {"delay_minutes": 0})
        t.eq(decision(new_contact(srv, cu, tp, emp=emp)), "created", "%s: the contact -> an invitation" % name)
        stats_eq(t, run_sched(srv), {"sent": 1}, "%s: the scheduler sends it" % name)
        got = wait_mails(sink, addr, 1)
        body = got[0].text if len(got) == 1 else ""
        # 127 bytes of two-byte letters: 63 whole ones; 63 bytes: 31
        t.check(len(got) == 1 and all(c * k in body and c * (k + 1) not in body
                                      for c, k in (("ø", 63), ("ü", 63), ("ñ", 31))),
                "%s: the mail greets 63 letters of the customer's name, names 63 of the touchpoint's and "
                "31 of the employee's first name" % name, [(m.subject, m.text) for m in got])


N_TWO = 96            # three claim batches of 32 (scheduler.c's SCHED_BATCH)
TWO_PASSES = 3        # concurrent scheduler passes per server


def test_two_nodes(t, sink):
    """issue 18: two servers on one database (one SQLite file, or one
    PostgreSQL database) send the same due invitations side by side, several
    scheduler passes at once on each, to one SMTP sink: every invitation
    arrives exactly once. On PostgreSQL both claim passes can select the same
    due rows; the claim UPDATE names the state it claims from, so the second
    changes nothing and skips the row."""
    name = "two nodes"
    with server(t, sink, base_url=BASE_URL) as a:
        f = mini_fixture(a, 1, "two")
        tp = f["tps"][0]
        put_rule(a, tp["id"], {"delay_minutes": 0, "reminder_days": 0})
        addrs = {}
        for i in range(N_TWO):
            addr = "twee%03d@example.org" % i
            cu = customer(a, "two%03d" % i, addr, "nl")
            inv = (new_contact(a, cu, tp).get("invitation") or {})
            if inv.get("decision") != "created":
                raise ks.FixtureError("contact %d: no invitation created: %s" % (i, ks.short(inv)))
            addrs[addr] = inv["id"]
        b = ks.Server(t, db=a.db, args=["--test-clock", START, "--smtp", sink.url, "--sample-seed", str(SEED),
                                        "--base-url", BASE_URL])
        try:
            b.start()
            for srv in (a, b):
                set_clock(srv, START)
            ids = [r[0] for r in a.sql("SELECT id FROM invitations WHERE touchpoint_id = ? ORDER BY id",
                                       (tp["id"],))]
            # 1. another node's claim of every due invitation, not yet
            # committed while B's pass selects them: B's claim UPDATE waits
            # for the row locks (PostgreSQL) or B's transaction for the write
            # lock (SQLite), then finds them claimed and sends none. The
            # holder is node A (alive: its claims are not recovered).
            node_a = a.sql("SELECT id FROM nodes WHERE pid = ?", (a.proc.pid,)) if ks.pg_mode() else [(None,)]
            con = ks.db_connect(a.db, readonly=False)
            held = {}
            try:
                con.execute("UPDATE invitations SET status = 'sending', claimed_by = ? WHERE touchpoint_id = ?",
                            (node_a[0][0] if node_a else None, tp["id"]))

                def held_pass():
                    held["resp"] = b.post("/api/v1/admin/scheduler/run", timeout=120)

                th = threading.Thread(target=held_pass)
                th.start()
                time.sleep(1.5)  # B's pass is now waiting for the rows
                con.commit()
                th.join(60)
            finally:
                con.close()
            st, _, body = held.get("resp") or (None, None, None)
            t.check(st == 200 and isinstance(body, dict) and body.get("sent") == 0 and body.get("failed") == 0,
                    "%s: a pass on B while another node's claim of all %d is in flight sends none of them"
                    % (name, N_TWO), ks.got(st, body))
            t.eq(a.sql("SELECT status, count(*), max(attempts) FROM invitations WHERE touchpoint_id = ?"
                       " GROUP BY status", (tp["id"],)), [("sending", N_TWO, 0)],
                 "%s: ... and leaves them as claimed, no attempt counted" % name)
            t.eq(len([m for m in sink.mails() if m.rcpt.strip().strip('<>').lower() in addrs]), 0,
                 "%s: ... and no mail left" % name)
            # 2. the claims given back (as recovery does for a node that is
            # gone), then passes on both servers at once, three on each
            con = ks.db_connect(a.db, readonly=False)
            try:
                con.execute("UPDATE invitations SET status = 'scheduled', claimed_by = NULL WHERE touchpoint_id = ?",
                            (tp["id"],))
                con.commit()
            finally:
                con.close()
            answers, errors = [], []

            def passes(srv):
                try:
                    for _ in range(4):
                        st, _, body = srv.post("/api/v1/admin/scheduler/run", timeout=120)
                        answers.append((st, body))
                        if st != 200 or not (isinstance(body, dict) and body.get("sent")):
                            break
                except Exception as ex:  # noqa: BLE001 -- reported as a failed check below
                    errors.append(repr(ex))

            ths = [threading.Thread(target=passes, args=(srv,)) for srv in (a, b) for _ in range(TWO_PASSES)]
            for th in ths:
                th.start()
            for th in ths:
                th.join(180)
            t.check(not errors and all(st == 200 for st, _ in answers),
                    "%s: every scheduler pass on either server answers 200" % name,
                    (errors, [(st, ks.short(body)) for st, body in answers if st != 200][:5]))
            sent = sum(body.get("sent", 0) for st, body in answers if st == 200 and isinstance(body, dict))
            t.eq(sent, N_TWO, "%s: the passes of both servers report %d sent in all" % (name, N_TWO))
            # the reference: the invitations' own Message-IDs, read from the database
            ids = {r[0]: r[1] for r in a.sql("SELECT id, message_id FROM invitations WHERE touchpoint_id = ?",
                                             (tp["id"],))}
            want = {"<%s>" % ids[addrs[x]] for x in addrs}
            deadline = time.time() + 10
            while time.time() < deadline and len([m for m in sink.mails() if m.rcpt.strip().strip('<>').lower() in addrs]) < N_TWO:
                time.sleep(0.05)
            time.sleep(0.3)  # a second copy, if any, would arrive now
            got = collections.Counter(m.message_id for m in sink.mails() if m.rcpt.strip().strip('<>').lower() in addrs)
            t.eq(len(want), N_TWO, "%s: %d distinct Message-IDs stored" % (name, N_TWO))
            t.eq({k: got.get(k, 0) for k in sorted(want)}, {k: 1 for k in sorted(want)},
                 "%s: each of the %d invitations arrived exactly once (by Message-ID)" % (name, N_TWO))
            t.eq(sum(got.values()), N_TWO, "%s: no other mail to these addresses" % name)
            t.eq(a.sql("SELECT status, count(*), min(attempts), max(attempts) FROM invitations"
                       " WHERE touchpoint_id = ? GROUP BY status", (tp["id"],)),
                 [("sent", N_TWO, 1, 1)], "%s: every invitation sent after one attempt" % name)
        finally:
            try:
                b.stop()
            finally:
                b.cleanup()


def html_text(body):
    import html as htmlmod
    return htmlmod.unescape(body if isinstance(body, str) else "")

# ---------------------------------------------------------------------------


def main(t):
    sink = smtp_sink.Sink()
    try:
        sink.start()
        host, port = sink.url.rsplit("/", 1)[-1].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as so:
            greeting = so.recv(512)
        t.check(greeting.startswith(b"220"), "the SMTP sink starts and greets with 220", greeting)
        scenario(t, "e2e", test_e2e, sink)
        scenario(t, "fatigue", test_fatigue, sink)
        scenario(t, "sampling", test_sampling, sink)
        scenario(t, "quiet hours", test_quiet, sink)
        scenario(t, "expiry", test_expiry, sink)
        scenario(t, "reminder", test_reminder, sink)
        scenario(t, "opt-out", test_optout, sink)
        scenario(t, "delivery", test_delivery)
        scenario(t, "webhook", test_webhook, sink)
        scenario(t, "rules", test_misc, sink)
        scenario(t, "admin", test_no_test_mode)
        scenario(t, "voice", test_voice, sink)
        scenario(t, "long names", test_long_names, sink)
        scenario(t, "two nodes", test_two_nodes, sink)
    finally:
        sink.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
