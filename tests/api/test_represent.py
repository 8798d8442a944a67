#!/usr/bin/python3
"""Representativeness and the funnel's local calendar (docs/API.md "The
feedback loop (invitations)", docs/STATISTICS.md "Representativeness of
the respondents"):

- counted in customers: a customer invited twice counts once per segment,
  beside the invitation counts (`invitations`, `completed`);
- per segment the exact two-sided binomial test of its respondents against
  its invited share, Benjamini-Hochberg adjusted over the segments of the
  reply; a flag only when significant (p_adj <= 0.05) AND material (index
  < 0.9 or > 1.1). The expected p-values are computed here independently:
  exact binomial probabilities with math.comb on fractions, BH by hand;
- age and customer-since in the local year of the contact (Amsterdam),
  with the analytics index's bands;
- the funnel's months are local: a contact at 2026-11-30T23:30Z is in
  December;
- the window is period= or from/to over whole local periods, echoed with
  the time zone; a malformed one is a 422.

One server (test clock 2026-12-15) holds every scenario, each in its own
local month, so the periods keep them apart."""

import concurrent.futures
import math
import glob
import os
import sys
from fractions import Fraction

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

CLOCK = "2026-12-15T10:00:00Z"
Q = 0.05
REPR = "/api/v1/funnel/representativeness"


# ---------------------------------------------------------------------------
# the statistics, independently of src/metrics


def binom_p(k, n, p0):
    """Two-sided exact binomial p-value, minimum-likelihood rule (R's
    binom.test): the total probability of the outcomes at most as likely
    as k (relative tolerance 1e-7), in exact rational arithmetic."""
    p0 = Fraction(p0)
    q0 = 1 - p0
    pmf = [math.comb(n, i) * p0 ** i * q0 ** (n - i) for i in range(n + 1)]
    lim = pmf[k] * (1 + Fraction(1, 10 ** 7))
    return min(1.0, float(sum(x for x in pmf if x <= lim)))


def bh(ps):
    """Benjamini-Hochberg adjusted p-values, step-up, by hand."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    adj = [1.0] * m
    run = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        run = min(run, ps[i] * m / rank)
        adj[i] = run
    return adj


def round_half_away(x, d):
    s = Fraction(x) * 10 ** d
    n = math.floor(abs(s) + Fraction(1, 2))
    return float((n if s >= 0 else -n) / Fraction(10 ** d))


def expected(segments):
    """segments: {label: (invited_customers, respondents)} -> {label: row}
    with shares, index, p, p_adj and the flag, all from the counts."""
    labels = sorted(segments)
    inv_all = sum(segments[s][0] for s in labels)
    resp_all = sum(segments[s][1] for s in labels)
    ps = [binom_p(segments[s][1], resp_all, Fraction(segments[s][0], inv_all)) for s in labels]
    adj = bh(ps)
    out = {}
    for s, p, pa in zip(labels, ps, adj):
        inv, resp = segments[s]
        index = Fraction(resp * inv_all, resp_all * inv)
        if pa > Q:
            flag = "within_noise"
        elif index < Fraction(9, 10):
            flag = "under_represented"
        elif index > Fraction(11, 10):
            flag = "over_represented"
        else:
            flag = "small_difference"
        out[s] = {"invited_customers": inv, "respondents": resp,
                  "invited_share": Fraction(inv, inv_all), "respondent_share": Fraction(resp, resp_all),
                  "response_rate": Fraction(resp, inv), "index": index, "p": p, "p_adj": pa, "flag": flag}
    return out, inv_all, resp_all


def check_rows(t, body, want, name):
    """The reply's rows against expected(): counts exactly, ratios to their
    printed decimals (half away from zero), p and p_adj to 4 decimals."""
    rows = {r.get("segment"): r for r in (body or {}).get("rows", [])} if isinstance(body, dict) else {}
    t.eq(sorted(rows), sorted(want), "%s: one row per segment" % name)
    decimals = {"invited_share": 4, "respondent_share": 4, "response_rate": 4, "index": 3, "p": 4, "p_adj": 4}
    for s, w in sorted(want.items()):
        r = rows.get(s, {})
        bad = []
        for k in ("invited_customers", "respondents"):
            if r.get(k) != w[k]:
                bad.append("%s %r, expected %r" % (k, r.get(k), w[k]))
        for k, d in decimals.items():
            v = r.get(k)
            exact = round_half_away(w[k], d)
            # p is a double on both sides: allow the last printed digit
            tol = 10 ** -d * (1.01 if k in ("p", "p_adj") else 1e-6)
            if not isinstance(v, (int, float)) or abs(v - exact) > tol:
                bad.append("%s %r, expected %s (exactly %.8f)" % (k, v, exact, float(w[k])))
        if r.get("flag") != w["flag"] or r.get("under_represented") != (w["flag"] == "under_represented") \
                or r.get("over_represented") != (w["flag"] == "over_represented"):
            bad.append("flag %r under %r over %r, expected %s" % (r.get("flag"), r.get("under_represented"),
                                                                 r.get("over_represented"), w["flag"]))
        t.check(not bad, "%s: %s: %d invited, %d respondents, index %.3f, p_adj %.4f -> %s"
                % (name, s, w["invited_customers"], w["respondents"], float(w["index"]), w["p_adj"], w["flag"]),
                "; ".join(bad) + "\n" + ks.short(r))


def test_long_segment(t, srv, w):
    """August: segments of 300 and 250 bytes of two-byte letters, alike in their
    first 127 bytes: one row labelled with those bytes cut between letters
    (63 of them) — a letter cut in two is no JSON string."""
    name = "august"
    custs = [srv.create("customers", {"external_id": ks.uniq("R-LONG"), "language": "nl", "segment": seg,
                                      "email": "lang.%d@example.org" % i})
             for i, seg in enumerate(("ç" * 150, "ç" * 150, "ç" * 100 + "d" * 50))]
    contacts = [w.contact(c, "2026-08-0%dT09:00:00Z" % (i + 1)) for i, c in enumerate(custs)]
    w.respond(contacts[0])
    body = get(t, srv, REPR + "?dimension=segment&period=2026-08", name)
    t.eq([(r.get("segment"), r.get("invited_customers"), r.get("respondents")) for r in body.get("rows", [])],
         [("ç" * 63, 3, 1)], "%s: one row for the long segments, 63 whole letters, 3 invited, 1 respondent" % name)


# ---------------------------------------------------------------------------
# plumbing


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def parallel(fn, items, workers=8):
    """fn over items on a few threads (the writer commits them in groups)."""
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(fn, items))


class World:
    def __init__(self, srv):
        self.srv = srv
        self.n = 0
        survey = srv.create("surveys", {"name": "Na contact", "questions": ks.survey_questions()})
        journey = srv.create("journeys", {"name": "Storing melden"})
        self.tp = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Telefonisch contact",
                                             "position": 1, "survey_id": survey["id"]})
        # every contact invited: no fatigue, no sampling
        must(srv.request("PUT", "/api/v1/touchpoints/%d/rule" % self.tp["id"],
                         {"fatigue_days": 0, "sample_pct": 100}), 200, "PUT rule")

    def customers(self, segment, n, **kw):
        def one(i):
            b = {"external_id": "R-%s-%d" % (segment, i), "name": "Klant %s %d" % (segment, i),
                 "language": "nl", "email": "%s.%d@example.org" % (segment, i), "segment": segment}
            b.update(kw)
            return self.srv.create("customers", b)
        return parallel(one, range(n))

    def contact(self, cust, at, channel="phone"):
        st, _, c = self.srv.post("/api/v1/contacts", {"customer_id": cust["id"], "touchpoint_id": self.tp["id"],
                                                      "channel": channel, "occurred_at": at})
        if st != 201 or (c.get("invitation") or {}).get("decision") != "created":
            raise ks.FixtureError("POST /api/v1/contacts at %s -> %s" % (at, ks.got(st, c)))
        return c

    def respond(self, contact):
        must(self.srv.post("/api/v1/responses", {"contact_id": contact["id"], "answers": {"nps": 8}}), 201,
             "POST /api/v1/responses for contact %d" % contact["id"])

    def month(self, custs, day, n_respond_of):
        """A contact for every customer in custs on `day` (minutes apart);
        responses for the customers whose index is in n_respond_of."""
        base = ks.parse_iso(day + "T09:00:00Z")
        contacts = parallel(lambda ic: self.contact(ic[1], ks.iso(base + 60 * ic[0])), list(enumerate(custs)))
        parallel(self.respond, [c for i, c in enumerate(contacts) if i in n_respond_of])
        return contacts


def get(t, srv, path, name):
    st, _, body = srv.get(path)
    t.check(st == 200 and isinstance(body, dict), "%s: GET %s -> 200" % (name, path), ks.got(st, body))
    return body if isinstance(body, dict) else {}


# ---------------------------------------------------------------------------
# scenarios


def test_flags(t, srv, w, groot, midden, klein):
    """March: a large segment at index 0.87 with many customers is flagged;
    a small one far below its share but on few customers is noise."""
    name = "march"
    custs = groot + midden + klein
    respond = set(range(120)) | set(range(240, 240 + 103)) | set(range(380, 380 + 7))
    w.month(custs, "2026-03-10", respond)
    body = get(t, srv, REPR + "?dimension=segment&period=2026-03", name)
    want, inv_all, resp_all = expected({"groot": (240, 120), "midden": (140, 103), "klein": (20, 7)})
    check_rows(t, body, want, name)
    t.check(abs(float(want["groot"]["index"]) - 0.87) < 0.001 and want["groot"]["flag"] == "under_represented",
            "%s: the large segment sits at index 0.87 and is flagged under-represented" % name)
    t.check(want["klein"]["index"] < Fraction(8, 10) and want["klein"]["flag"] == "within_noise",
            "%s: the small segment at index %.2f is not flagged (p_adj %.2f)"
            % (name, float(want["klein"]["index"]), want["klein"]["p_adj"]))
    t.eq({k: body.get(k) for k in ("invited_customers", "respondents", "invitations", "completed")},
         {"invited_customers": 400, "respondents": 230, "invitations": 400, "completed": 230},
         "%s: totals in customers and in invitations" % name)
    t.eq(body.get("test"), {"name": "binomial_two_sided_exact", "n": resp_all, "invited_base": inv_all,
                            "adjust": "benjamini_hochberg", "q": 0.05, "under_below": 0.9, "over_above": 1.1},
         "%s: the test and its thresholds are in the reply" % name)
    t.eq({k: body.get(k) for k in ("dimension", "period", "from", "to", "time_zone")},
         {"dimension": "segment", "period": "2026-03", "from": "2026-03-01T00:00:00+01:00",
          "to": "2026-04-01T00:00:00+02:00", "time_zone": "Europe/Amsterdam"},
         "%s: the window echoed in local time with its offsets (summer time starts 29 March)" % name)
    # the same month asked as from/to, and the quarter holding it
    b2 = get(t, srv, REPR + "?dimension=segment&from=2026-03-01&to=2026-04-01", name)
    t.eq(b2.get("rows"), body.get("rows"), "%s: from=2026-03-01&to=2026-04-01 is the same window" % name)
    t.eq(b2.get("period"), "2026-03", "%s: from/to of a whole month is labelled as that month" % name)


def test_immaterial(t, srv, w, groot, klein):
    """April: a segment significantly but only slightly below its share
    (index 0.94) is not flagged; the one far above it is."""
    name = "april"
    respond = set(range(130)) | set(range(240, 260))
    w.month(groot + klein, "2026-04-14", respond)
    body = get(t, srv, REPR + "?dimension=segment&period=2026-04", name)
    want, _, _ = expected({"groot": (240, 130), "klein": (20, 20)})
    check_rows(t, body, want, name)
    t.check(want["groot"]["p_adj"] <= Q and want["groot"]["flag"] == "small_difference",
            "%s: significant (p_adj %.4f) at index %.3f, within 0.9..1.1: small_difference, not flagged"
            % (name, want["groot"]["p_adj"], float(want["groot"]["index"])))
    t.eq(want["klein"]["flag"], "over_represented", "%s: the small segment answering in full is over-represented"
         % name)


def test_distinct(t, srv, w, midden):
    """May: customers invited twice count once; invitations count each."""
    name = "may"
    x, y, z = midden[:3]
    cx1 = w.contact(x, "2026-05-04T09:00:00Z", "phone")
    w.contact(x, "2026-05-11T09:00:00Z", "email")
    cy1 = w.contact(y, "2026-05-04T10:00:00Z", "phone")
    cy2 = w.contact(y, "2026-05-18T10:00:00Z", "phone")
    w.contact(z, "2026-05-05T10:00:00Z", "chat")
    for c in (cx1, cy1, cy2):
        w.respond(c)
    body = get(t, srv, REPR + "?dimension=segment&period=2026-05", name)
    rows = body.get("rows") or []
    t.eq([{k: r.get(k) for k in ("segment", "invited_customers", "respondents", "invitations", "completed")}
          for r in rows],
         [{"segment": "midden", "invited_customers": 3, "respondents": 2, "invitations": 5, "completed": 3}],
         "%s: by segment: 3 customers invited (5 invitations), 2 responded (3 completed)" % name)
    t.check(rows and rows[0].get("response_rate") == round_half_away(Fraction(2, 3), 4),
            "%s: response rate per customer 2/3" % name, ks.short(rows))
    body = get(t, srv, REPR + "?dimension=channel&period=2026-05", name)
    got = {r.get("segment"): [r.get(k) for k in ("invited_customers", "respondents", "invitations", "completed")]
           for r in body.get("rows") or []}
    t.eq(got, {"chat": [1, 0, 1, 0], "email": [1, 0, 1, 0], "phone": [2, 2, 3, 3]},
         "%s: by channel: a customer invited by phone and e-mail counts once in each" % name)
    t.eq([body.get(k) for k in ("invited_customers", "respondents", "invitations", "completed")], [3, 2, 5, 3],
         "%s: totals count each customer once" % name)
    t.eq([(body.get("test") or {}).get(k) for k in ("n", "invited_base")], [2, 4],
         "%s: the test's base is the segments' counts summed" % name)


def test_age(t, srv, w):
    """Age and customer-since in the contact's local year."""
    name = "age"
    a, b = w.customers("leeftijd", 2, birth_year=2001, customer_since="2025-03-01")
    c = w.customers("onbekend", 1)[0]
    w.contact(a, "2025-06-15T10:00:00Z")
    w.contact(b, "2025-12-31T23:30:00Z")   # 2026-01-01 00:30 in Amsterdam
    w.contact(c, "2026-01-20T10:00:00Z")
    w.contact(w.customers("dertiger", 1, birth_year=1990)[0], "2026-06-10T10:00:00Z")

    def segs(q):
        body = get(t, srv, REPR + q, name)
        return {r.get("segment"): r.get("invited_customers") for r in body.get("rows") or []}

    t.eq(segs("?dimension=age_band&period=2025"), {"<25": 1},
         "%s: born 2001, contact in 2025: 24, <25 (not the clock's 2026)" % name)
    t.eq(segs("?dimension=age_band&period=2026-01"), {"25-34": 1, "unknown": 1},
         "%s: born 2001, contact 2025-12-31T23:30Z = 2026 in Amsterdam: 25, 25-34; no birth year: unknown" % name)
    t.eq(segs("?dimension=customer_since_band&period=2026-01"), {"1-2y": 1, "unknown": 1},
         "%s: customer since 2025, contact in local 2026: 1-2y" % name)
    t.eq(segs("?dimension=customer_since_band&period=2025"), {"<1y": 1},
         "%s: customer since 2025, contact in 2025: <1y" % name)
    body = get(t, srv, REPR + "?dimension=age_band&period=2026", name)
    t.eq([r.get("segment") for r in body.get("rows") or []], ["unknown", "25-34", "35-44"],
         "%s: bands in their order, unknown first (as the analytics index codes them)" % name)


def test_local_month(t, srv, w, klein):
    name = "local month"
    w.contact(klein[0], "2026-11-30T23:30:00Z")   # 2026-12-01 00:30 in Amsterdam
    body = get(t, srv, "/api/v1/funnel?group_by=month&period=2026-12", name)
    t.eq([(r.get("key"), r.get("contacts"), r.get("invited")) for r in body.get("rows") or []],
         [("2026-12", 1, 1)], "%s: the contact at 2026-11-30T23:30Z is in December" % name)
    t.eq({k: body.get(k) for k in ("group_by", "period", "from", "to", "time_zone")},
         {"group_by": "month", "period": "2026-12", "from": "2026-12-01T00:00:00+01:00",
          "to": "2027-01-01T00:00:00+01:00", "time_zone": "Europe/Amsterdam"},
         "%s: the funnel echoes its window in local time" % name)
    body = get(t, srv, "/api/v1/funnel?group_by=month&period=2026-11", name)
    t.eq(body.get("rows"), [], "%s: nothing in November" % name)
    body = get(t, srv, "/api/v1/funnel?group_by=month", name)
    months = {r.get("key"): r.get("contacts") for r in body.get("rows") or []}
    t.check(months.get("2026-12") == 1 and "2026-11" not in months and months.get("2026-03") == 400
            and months.get("2026-04") == 260 and months.get("2026-05") == 5
            and months.get("2025-12") is None and months.get("2026-01") == 2,
            "%s: all time by local month: 2025-12-31T23:30Z counts in 2026-01" % name, ks.short(months))
    body = get(t, srv, "/api/v1/funnel?period=2026-Q1", name)
    rows = body.get("rows") or []
    t.check(len(rows) == 1 and rows[0].get("contacts") == 402 and body.get("to") == "2026-04-01T00:00:00+02:00",
            "%s: period=2026-Q1 is the local quarter (402 contacts)" % name, ks.short(body))


def test_boundary(t, srv, w, groot, midden):
    """September: a segment at index exactly 0.9, significantly (p_adj <=
    0.05), is not flagged — the rule is "below 0.9" — and the other one,
    far above its share, is; the funnel by channel and by team over
    from/to of the same month, against counts kept here."""
    name = "september"
    org = srv.create("teams", {"name": "Repr BV", "kind": "organisation"})
    dept = srv.create("teams", {"name": "Repr Dept", "kind": "department", "parent_id": org["id"]})
    teams = [srv.create("teams", {"name": "Repr Team %s" % x, "kind": "team", "parent_id": dept["id"]})
             for x in ("A", "B")]
    custs = groot[:200] + midden[:50]
    respond = set(range(108)) | set(range(200, 200 + 42))
    base = ks.parse_iso("2026-09-08T08:00:00Z")
    chans = ("phone", "email", "chat")

    def contact(ic):
        i, cu = ic
        st, _, c = srv.post("/api/v1/contacts", {"customer_id": cu["id"], "touchpoint_id": w.tp["id"],
                                                 "channel": chans[i % 3], "team_id": teams[i % 2]["id"],
                                                 "occurred_at": ks.iso(base + 60 * i)})
        if st != 201 or (c.get("invitation") or {}).get("decision") != "created":
            raise ks.FixtureError("POST /api/v1/contacts -> %s" % ks.got(st, c))
        return c
    contacts = parallel(contact, list(enumerate(custs)))
    parallel(w.respond, [c for i, c in enumerate(contacts) if i in respond])
    want, _, _ = expected({"groot": (200, 108), "midden": (50, 42)})
    t.check(want["groot"]["index"] == Fraction(9, 10) and want["groot"]["p_adj"] <= Q
            and want["groot"]["flag"] == "small_difference" and want["midden"]["flag"] == "over_represented",
            "%s: the fixture puts groot at index 0.9 exactly, p_adj %.4f" % (name, want["groot"]["p_adj"]))
    body = get(t, srv, REPR + "?dimension=segment&from=2026-09-01&to=2026-10-01", name)
    check_rows(t, body, want, name)
    t.eq({k: body.get(k) for k in ("period", "from", "to")},
         {"period": "2026-09", "from": "2026-09-01T00:00:00+02:00", "to": "2026-10-01T00:00:00+02:00"},
         "%s: from/to of the local month echoed as that month" % name)

    def tally(key_of):
        out = {}
        for i in range(len(custs)):
            k = key_of(i)
            row = out.setdefault(k, {"contacts": 0, "invited": 0, "completed": 0})
            row["contacts"] += 1
            row["invited"] += 1
            row["completed"] += i in respond
        return out
    q = "from=2026-09-01&to=2026-10-01"
    body = get(t, srv, "/api/v1/funnel?group_by=channel&" + q, name)
    got = {r.get("key"): {k: r.get(k) for k in ("contacts", "invited", "completed")} for r in body.get("rows") or []}
    t.eq(got, tally(lambda i: chans[i % 3]), "%s: funnel by channel over from/to: contacts, invited, completed" % name)
    body = get(t, srv, "/api/v1/funnel?group_by=team&" + q, name)
    got = {r.get("key"): {k: r.get(k) for k in ("contacts", "invited", "completed")} for r in body.get("rows") or []}
    t.eq(got, tally(lambda i: teams[i % 2]["id"]), "%s: funnel by team over from/to" % name)
    body = get(t, srv, "/api/v1/funnel?group_by=month&from=2026-09-01&to=2026-10-01", name)
    t.eq([(r.get("key"), r.get("contacts"), r.get("completed")) for r in body.get("rows") or []],
         [("2026-09", 250, 150)], "%s: funnel by month over from/to: the one month" % name)


def test_errors(t, srv):
    name = "errors"
    for path in ("/api/v1/funnel", REPR):
        t.error(srv.get(path + "?period=2026-13"), 422, "invalid", "period",
                "%s: %s?period=2026-13 -> 422 naming period" % (name, path))
        t.error(srv.get(path + "?period=maart"), 422, "invalid", "period",
                "%s: %s?period=maart -> 422 naming period" % (name, path))
        t.error(srv.get(path + "?from=2026-03-01&to=2026-03-15"), 422, "invalid", "from",
                "%s: %s from/to not a whole period -> 422" % (name, path))
        t.error(srv.get(path + "?from=2026-03-01"), 422, "invalid", "to",
                "%s: %s from without to -> 422 naming to" % (name, path))
        t.error(srv.get(path + "?perod=2026-03"), 422, "invalid", "perod",
                "%s: %s with an unknown parameter -> 422 naming it" % (name, path))
    t.error(srv.get(REPR + "?dimension=shoe_size"), 422, "invalid", "dimension",
            "%s: dimension=shoe_size -> 422 naming dimension" % name)
    body = get(t, srv, REPR + "?dimension=segment&period=2026-07", name)
    t.eq([body.get("rows"), body.get("invited_customers"), body.get("respondents")], [[], 0, 0],
         "%s: an empty month: no rows, nothing counted" % name)
    body = get(t, srv, REPR + "?dimension=segment&period=2026-12", name)
    r = (body.get("rows") or [{}])[0]
    t.check(r.get("flag") == "no_respondents" and r.get("index") is None and r.get("p") is None
            and r.get("respondent_share") is None and r.get("under_represented") is False,
            "%s: no respondents: no index, no test, no flag" % name, ks.short(body))


def main(t):
    srv = ks.Server(t, args=["--test-clock", CLOCK, "--sample-seed", "7"])
    try:
        try:
            hz = srv.start()
            t.eq(hz, {"status": "ok", "schema_version": max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))},
                 "server starts")
        except ks.FixtureError as ex:
            t.check(False, "server starts", str(ex))
            return
        try:
            w = World(srv)
            groot = w.customers("groot", 240)
            midden = w.customers("midden", 140)
            klein = w.customers("klein", 20)
        except ks.FixtureError as ex:
            t.check(False, "fixture", str(ex))
            return
        for fn, args in ((test_flags, (groot, midden, klein)), (test_immaterial, (groot, klein)),
                         (test_distinct, (midden,)), (test_age, ()), (test_local_month, (klein,)),
                         (test_boundary, (groot, midden)), (test_long_segment, ())):
            try:
                fn(t, srv, w, *args)
            except ks.FixtureError as ex:
                t.check(False, "%s: setup step failed" % fn.__name__, str(ex))
        test_errors(t, srv)
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
