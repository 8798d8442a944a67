"""pulse_fx.py — what test_pulse.py and test_pulse_privacy.py share: a server
with an SMTP sink, an org tree with employees, role tokens, a wave mailed
through the SMTP sink and answered by the mailed links, and the expected eNPS computed here (never
with the product's helpers).

The eNPS interval is the adjusted-Wald interval of docs/STATISTICS.md §2
(Rocks 2016; MeasuringU), written out again below from the formula.
"""
import contextlib
import math
import re
import urllib.parse
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction

import ks
import user_fx
import smtp_sink

START = "2026-11-16T10:00:00Z"    # a Monday, 11:00 in Amsterdam
PERIOD = "2026-11"
LINK_RE = re.compile(r"(https://pulse\.example\.nl/p/[A-Za-z0-9_-]+)")


@contextlib.contextmanager
def server(t, clock=START, extra=()):
    """A server at the test clock whose pulse mails go to an SMTP sink;
    yields (srv, sink) and stops and cleans both up whatever happens."""
    sink = smtp_sink.Sink()
    sink.start()
    srv = ks.Server(t, args=["--test-clock", clock, "--base-url", "https://pulse.example.nl", "--smtp", sink.url]
                    + list(extra))
    try:
        srv.start()
        yield srv, sink
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()
            sink.stop()
            sink.cleanup()


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def half_up(q, decimals):
    """An exact value (Fraction or int) rounded half away from zero."""
    d = Decimal(q.numerator) / Decimal(q.denominator) if isinstance(q, Fraction) else Decimal(q)
    return float(d.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def enps_expected(scores):
    """{value, low, high, promoters, passives, detractors} of a list of 0..10."""
    n = len(scores)
    p = sum(1 for s in scores if s >= 9)
    d = sum(1 for s in scores if s <= 6)
    value = half_up(Fraction(100 * (p - d), n), 1)
    n3 = n + 3.0
    pp, dd = (p + 0.75) / n3, (d + 0.75) / n3
    var = (pp + dd - (pp - dd) ** 2) / n3
    adj = (pp - dd) * 100.0
    margin = 1.96 * math.sqrt(var) * 100.0
    return {"value": value, "low": max(-100.0, adj - margin), "high": min(100.0, adj + margin),
            "promoters": half_up(Fraction(p, n), 2), "passives": half_up(Fraction(n - p - d, n), 2),
            "detractors": half_up(Fraction(d, n), 2)}


def tree(srv, spec, tag):
    """spec: {dept name: {team name: employees}}. Returns (org id, {name: unit id},
    {team name: [employee ids]}); every employee has an address."""
    org = srv.create("teams", {"name": "Org " + tag, "kind": "organisation"})["id"]
    units, emps = {}, {}
    for dname, teams in spec.items():
        units[dname] = srv.create("teams", {"name": dname, "kind": "department", "parent_id": org})["id"]
        for tname, k in teams.items():
            units[tname] = srv.create("teams", {"name": tname, "kind": "team",
                                                "parent_id": units[dname]})["id"]
            emps[tname] = []
            for i in range(k):
                emps[tname].append(srv.create("employees", {
                    "team_id": units[tname], "first_name": "%s%d" % (tname, i), "last_name": "Test",
                    "email": "%s.%d.%s@example.org" % (tname.lower(), i, tag),
                    "external_id": "%s-%s-%d" % (tag, tname, i)})["id"])
    return org, units, emps


def token(db, role, unit=None, emp=None):
    return user_fx.role_token(db, role, "pulse", unit, emp)


class Client:
    def __init__(self, srv, tok):
        self.srv, self.tok = srv, tok

    def request(self, method, path, body=None):
        return ks.http_request(self.srv.port, method, path, body,
                               headers={"Authorization": "Bearer " + self.tok})

    def get(self, path):
        return self.request("GET", path)


def links(sink, wave_mails_before=0):
    """{recipient address: answer link} of the pulse mails in the sink (the
    latest mail per address)."""
    out = {}
    for m in sink.mails():
        found = LINK_RE.search(m.text)
        if found:
            out[m.rcpt.strip("<>").lower()] = found.group(1)
    return out


def answer(srv, link, enps, items=(4, 4, 4), comment=None, lang=None):
    path = urllib.parse.urlparse(link).path + ("?lang=%s" % lang if lang else "")
    fields = [("enps", str(enps))] + [("i%d" % (i + 1), str(v)) for i, v in enumerate(items)]
    if comment is not None:
        fields.append(("open", comment))
    return srv.form(path, fields)


def q(**kw):
    return urllib.parse.urlencode(kw)
