#!/usr/bin/python3
"""Relationship surveys (issue 16, "The silent mass"; docs/API.md "Relationship
surveys", docs/STATISTICS.md §12): waves drawn from ALL customers, stratified
by segment, with the fatigue rules of contact invitations; sent through the
invitation machinery (mails in the SMTP sink, the survey page, the funnel);
the report's NPS (unweighted and post-stratified), the contact-driven NPS of
the same period, the gap and its interval, representativeness against the
whole customer base, and the minimum-n rules.

Every expected number is computed here, independently of the product: the
allocation by hand and by a Hamilton apportionment written below with
fractions, the draw order with a Python splitmix64, the NPS figures with
numpy from the answers the test itself gave.
"""
import concurrent.futures
import contextlib
import math
import os
import sys
import time
import traceback
import urllib.parse
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import smtp_sink  # noqa: E402

START = "2026-11-16T10:00:00Z"   # a Monday, 11:00 in Amsterdam: outside quiet hours
PERIOD = "2026-Q4"
DAY = 86400
MIN_N = 5                         # serve's group minimum
M64 = (1 << 64) - 1
WAVES = "/api/v1/relationship/waves"


# ---------------------------------------------------------------------------
# plumbing

@contextlib.contextmanager
def server(t, sink=None, extra=(), env=None):
    args = ["--test-clock", START, "--base-url", "https://feedback.example.nl"]
    if sink is not None:
        args += ["--smtp", sink.url]
    srv = ks.Server(t, args=args + list(extra), env=env)
    try:
        srv.start()
        yield srv
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()


def scenario(t, name, fn, *args):
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


def customers(srv, spec, tag, email=True):
    """spec: [(segment or None, count)]; returns {segment or "": [ids]}."""
    jobs = []
    for seg, count in spec:
        for i in range(count):
            body = {"external_id": "%s-%s-%d" % (tag, seg or "none", i), "language": "nl"}
            if seg is not None:
                body["segment"] = seg
            if email:
                body["email"] = "%s.%s.%d@example.org" % (tag, seg or "none", i)
            jobs.append((seg or "", body))
    out = {}
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        rows = list(ex.map(lambda j: (j[0], srv.create("customers", j[1])), jobs))
    for seg, row in rows:
        out.setdefault(seg, []).append(row["id"])
    return out


def survey(srv):
    return srv.create("surveys", {"name": ks.uniq("Relatie"), "questions": ks.survey_questions()})


def wave(srv, survey_id, **kw):
    body = {"name": ks.uniq("Q4 relatie"), "survey_id": survey_id, "period": PERIOD}
    body.update(kw)
    return must(srv.post(WAVES, body), 201, "POST %s" % WAVES)


def draw(srv, wid, seed=None):
    body = {"seed": seed} if seed is not None else None
    return must(srv.post("%s/%d/draw" % (WAVES, wid), body), 200, "draw wave %d" % wid)


def sample(srv, wid):
    """{stratum: [(customer_id, excluded, excluded_at, invitation_id)] by draw_rank}."""
    out = {}
    for row in srv.sql("SELECT stratum, customer_id, excluded, excluded_at, invitation_id FROM relationship_sample"
                       " WHERE wave_id = ? ORDER BY stratum, draw_rank", (wid,)):
        out.setdefault(row[0], []).append(row[1:])
    return out


def selected(srv, wid):
    return {k: sorted(r[0] for r in v if r[1] is None) for k, v in sample(srv, wid).items()}


def day(srv, k):
    """The test clock k days after START (answers count from the next local day)."""
    must(srv.post("/api/v1/admin/clock", {"now": ks.iso(ks.parse_iso(START) + k * DAY)}), 200, "clock +%d days" % k)


def run_sched(srv):
    return must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")


# ---------------------------------------------------------------------------
# independent references

def hamilton(pops, n, min_per=0):
    """Largest-remainder (Hamilton) apportionment with exact fractions, after
    min(min_per, N_h) each; ties to the larger stratum, then the earlier."""
    if n >= sum(pops):
        return list(pops)
    base = [min(min_per, p) for p in pops]
    room = [p - b for p, b in zip(pops, base)]
    r, total = n - sum(base), sum(room)
    if total == 0:
        return base
    q = [Fraction(r * x, total) for x in room]
    out = [b + int(x) for b, x in zip(base, q)]
    left = r - sum(int(x) for x in q)
    order = sorted((i for i in range(len(pops)) if q[i] - int(q[i]) > 0),
                   key=lambda i: (-(q[i] - int(q[i])), -room[i], i))
    for i in order[:left]:
        out[i] += 1
    return out


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def key(seed, cid):
    return splitmix64(seed ^ splitmix64(cid))


def draw_order(seed, ids):
    return sorted(ids, key=lambda c: (key(seed, c), c))


def rnd(x, d):
    return float(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP)) \
        if x >= 0 else -float(Decimal(repr(float(-x))).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP))


def wald(scores):
    """(plain NPS, adjusted centre, variance as a proportion difference) of a list of 0..10 scores
    — Rocks (2016) adjusted Wald, docs/STATISTICS.md §2, with numpy."""
    s = np.asarray(scores)
    n = s.size
    p, d = np.sum(s >= 9), np.sum(s <= 6)
    pa, da = (p + 0.75) / (n + 3), (d + 0.75) / (n + 3)
    return 100.0 * (p - d) / n, 100.0 * (pa - da), (pa + da - (pa - da) ** 2) / (n + 3)


def binom_p(k, n, num, den):
    """Exact two-sided binomial p ("minlike", as R's binom.test) in rational arithmetic."""
    p0 = Fraction(num, den)
    pmf = [math.comb(n, i) * p0 ** i * (1 - p0) ** (n - i) for i in range(n + 1)]
    lim = pmf[k] * Fraction(10000001, 10000000)
    return float(min(Fraction(1), sum(x for x in pmf if x <= lim)))


def bh(ps):
    """Benjamini-Hochberg adjusted p-values, step-up, written out."""
    n = len(ps)
    order = sorted(range(n), key=lambda i: ps[i])
    adj = [0.0] * n
    best = 1.0
    for rank in range(n, 0, -1):
        i = order[rank - 1]
        best = min(best, ps[i] * n / rank)
        adj[i] = min(1.0, best)
    return adj


def flag(rs, r, ns, n, padj):
    if r == 0:
        return "no_respondents"
    if padj > 0.05:
        return "within_noise"
    if 10 * rs * n < 9 * r * ns:
        return "under_represented"
    if 10 * rs * n > 11 * r * ns:
        return "over_represented"
    return "small_difference"


def near(t, got, want, d, name):
    """got (a rounded JSON number) equals want rounded to d decimals (or, at a
    rounding boundary, the neighbour)."""
    ok = isinstance(got, (int, float)) and (got == rnd(want, d) or
                                            abs(got - want) <= 0.5 * 10 ** -d + 1e-9)
    return t.check(ok, name, "got %r, want %r (%.6f)" % (got, rnd(want, d), want))


# ---------------------------------------------------------------------------
# scenarios

def test_long_segment(t):
    """A segment of 300 bytes of two-byte letters: the report's stratum keeps
    127 bytes of it, cut between letters (63 of them) — a letter cut in two
    is no JSON string."""
    name = "long segment"
    with server(t) as srv:
        customers(srv, [("ç" * 150, 6), ("kort", 4)], "ls", email=False)
        w = wave(srv, survey(srv)["id"], sample_size=5)
        draw(srv, w["id"])
        rep = must(srv.get("%s/%d/report" % (WAVES, w["id"])), 200, "report")
        t.eq(sorted((x.get("stratum"), x.get("population")) for x in rep.get("strata", [])),
             [("kort", 4), ("ç" * 63, 6)], "%s: the report's strata, the long one as 63 whole letters" % name)


def test_allocation(t):
    """600/300/100 with n = 100 -> 60/30/10; sample sizes per stratum as allocated."""
    name = "allocation 600/300/100"
    with server(t) as srv:
        ids = customers(srv, [("a-groot", 600), ("b-midden", 300), ("c-klein", 100)], "al")
        sv = survey(srv)
        w = wave(srv, sv["id"], sample_size=100)
        d = draw(srv, w["id"])
        t.eq(d["draw"]["population"], 1000, "%s: the frame is every customer (1000)" % name)
        t.eq(d["draw"]["allocated"], 100, "%s: 100 allocated" % name)
        t.eq(d["status"], "drawn", "%s: status drawn" % name)
        t.check(len(d["seed"]) == 16 and all(c in "0123456789abcdef" for c in d["seed"]),
                "%s: a 16-hex seed from randombytes" % name, d["seed"])
        alloc = dict(srv.sql("SELECT stratum, allocated FROM relationship_strata WHERE wave_id = ?", (w["id"],)))
        t.eq(alloc, {"a-groot": 60, "b-midden": 30, "c-klein": 10}, "%s: allocated 60/30/10" % name)
        sel = selected(srv, w["id"])
        t.eq({k: len(v) for k, v in sel.items()}, {"a-groot": 60, "b-midden": 30, "c-klein": 10},
             "%s: 60/30/10 drawn" % name)
        t.check(all(set(v) <= set(ids[k]) for k, v in sel.items()), "%s: each drawn from its own segment" % name)
        # the draw is the first n_h of the stratum in the documented key order
        seed = int(d["seed"], 16)
        want = {k: sorted(draw_order(seed, ids[k])[:len(sel[k])]) for k in sel}
        t.eq(sel, want, "%s: the sample is the first n_h by splitmix64(seed ^ splitmix64(id))" % name)
        # answers from 60 of "a-groot" and one each of the others: the wave's
        # respondents are far from the base's make-up, and the flags say so
        must(srv.post("%s/%d/send" % (WAVES, w["id"])), 200, "send")
        cids = dict(srv.sql("SELECT customer_id, contact_id FROM relationship_sample WHERE wave_id = ?"
                            " AND contact_id IS NOT NULL", (w["id"],)))
        answered = {"a-groot": sel["a-groot"][:60], "b-midden": sel["b-midden"][:1], "c-klein": sel["c-klein"][:1]}
        for k, cs in answered.items():
            for c in cs:
                must(srv.post("/api/v1/responses", {"client_key": ks.uniq("al"), "contact_id": cids[c],
                                                    "answers": {"nps": 9}}), 201, "response")
        day(srv, 1)
        rep = must(srv.get("%s/%d/report" % (WAVES, w["id"])), 200, "report")
        st = {x["stratum"]: x for x in rep["strata"]}
        keys = ["a-groot", "b-midden", "c-klein"]
        base = {"a-groot": 600, "b-midden": 300, "c-klein": 100}
        R = 62
        ps = [binom_p(len(answered[k]), R, base[k], 1000) for k in keys]
        adj = bh(ps)
        for k, pv, pa in zip(keys, ps, adj):
            near(t, st[k]["p"], pv, 4, "%s [%s]: binomial p against the base share" % (name, k))
            near(t, st[k]["p_adj"], pa, 4, "%s [%s]: BH-adjusted p" % (name, k))
        t.eq([st[k]["flag"] for k in keys], ["over_represented", "under_represented", "under_represented"],
             "%s: a-groot over-represented, b-midden and c-klein under (as the reference: %s)"
             % (name, [flag(len(answered[k]), R, base[k], 1000, pa) for k, pa in zip(keys, adj)]))
        t.eq([st[k]["contact_flag"] for k in keys], ["no_respondents"] * 3,
             "%s: no contact-driven answers: no_respondents" % name)
        t.eq(rep["relationship"]["weighted_note"], "stratum_below_min_n",
             "%s: one answer in two strata: no weighted NPS" % name)
        # a second draw without a seed gets another seed
        w2 = wave(srv, sv["id"], sample_size=100)
        d2 = draw(srv, w2["id"])
        t.check(d2["seed"] != d["seed"], "%s: another draw, another random seed" % name, (d["seed"], d2["seed"]))


def test_small_frame(t):
    """7/5/3 (the 3 without a segment: their own stratum), largest remainders,
    equal allocation, minimum per stratum, reproducibility, 422s and 409s."""
    name = "7/5/3"
    with server(t) as srv:
        ids = customers(srv, [("a", 7), ("b", 5), (None, 3)], "sm")
        sv = survey(srv)
        pops = [3, 7, 5]   # strata by name: "" (no segment), "a", "b"
        cases = [
            ("proportional n=10", dict(sample_size=10), [2, 5, 3]),
            ("proportional n=4", dict(sample_size=4), [1, 2, 1]),
            ("equal n=10", dict(sample_size=10, allocation="equal"), [3, 4, 3]),
            ("equal n=12", dict(sample_size=12, allocation="equal"), [3, 5, 4]),
            ("min 3, n=10", dict(sample_size=10, min_per_stratum=3), [3, 4, 3]),
            ("n over the frame", dict(sample_size=50), [3, 7, 5]),
        ]
        for label, kw, want in cases:
            if kw.get("allocation") != "equal":
                t.eq(hamilton(pops, kw["sample_size"], kw.get("min_per_stratum", 0)), want,
                     "%s %s: the hand-worked allocation agrees with the Hamilton reference" % (name, label))
            w = wave(srv, sv["id"], **kw)
            draw(srv, w["id"], "00000000000000%02x" % w["id"])
            got = dict(srv.sql("SELECT stratum, allocated FROM relationship_strata WHERE wave_id = ?", (w["id"],)))
            t.eq([got.get(""), got.get("a"), got.get("b")], want, "%s %s: allocated %s" % (name, label, want))
            t.eq([len(selected(srv, w["id"]).get(k, [])) for k in ("", "a", "b")], want,
                 "%s %s: drawn %s" % (name, label, want))

        # reproducibility: the same seed, the same sample; the sample is the reference's
        seed_hex = "0123456789abcdef"
        wa, wb = wave(srv, sv["id"], sample_size=4), wave(srv, sv["id"], sample_size=4)
        da, db = draw(srv, wa["id"], seed_hex), draw(srv, wb["id"], seed_hex.upper())
        t.eq(da["seed"], seed_hex, "%s: the given seed is kept" % name)
        sa, sb = selected(srv, wa["id"]), selected(srv, wb["id"])
        t.eq(sa, sb, "%s: same seed -> same sample" % name)
        seed = int(seed_hex, 16)
        ref = {k: sorted(draw_order(seed, ids[k])[:n]) for k, n in (("", 1), ("a", 2), ("b", 1))}
        t.eq(sa, ref, "%s: the sample equals the Python splitmix64 draw" % name)
        other = "fedcba9876543210"
        ref2 = {k: sorted(draw_order(int(other, 16), ids[k])[:n]) for k, n in (("", 1), ("a", 2), ("b", 1))}
        wc = wave(srv, sv["id"], sample_size=4)
        draw(srv, wc["id"], other)
        t.eq(selected(srv, wc["id"]), ref2, "%s: another seed -> the reference's other sample" % name)
        t.check(ref2 != ref, "%s: the two seeds give different samples here" % name)

        # bad input: 422 naming the field
        bad = [({"survey_id": sv["id"], "sample_size": 5}, "name"),
               ({"name": "x", "sample_size": 5}, "survey_id"),
               ({"name": "x", "survey_id": sv["id"]}, "sample_size"),
               ({"name": "x", "survey_id": sv["id"], "sample_size": 0}, "sample_size"),
               ({"name": "x", "survey_id": sv["id"], "sample_size": 5, "allocation": "neyman"}, "allocation"),
               ({"name": "x", "survey_id": sv["id"], "sample_size": 5, "period": "last_90d"}, "period"),
               ({"name": "x", "survey_id": sv["id"], "sample_size": 5, "fatigue_days": 400}, "fatigue_days"),
               ({"name": "x", "survey_id": sv["id"], "sample_size": 5, "replace_excluded": "yes"}, "replace_excluded"),
               ({"name": "x", "survey_id": sv["id"], "sample_size": 5, "min_per_stratum": 6}, "min_per_stratum"),
               ({"name": "x", "survey_id": sv["id"], "sample_size": 5, "colour": "red"}, "colour"),
               ({"name": "x", "survey_id": sv["id"], "sample_size": 5, "status": "sent"}, "status"),
               ({"name": "x", "survey_id": 99999, "sample_size": 5}, "survey_id")]
        for body, field in bad:
            t.error(srv.post(WAVES, body), 422, field=field, name="%s: POST %s -> 422 naming %s" % (name, body, field))
        w = wave(srv, sv["id"], sample_size=10, min_per_stratum=4)
        t.error(srv.post("%s/%d/draw" % (WAVES, w["id"]), {"seed": "xyz"}), 422, field="seed",
                name="%s: a bad seed -> 422 naming seed" % name)
        t.error(srv.post("%s/%d/draw" % (WAVES, w["id"]), None), 422, field="min_per_stratum",
                name="%s: minimums over n (4+4+3 > 10) -> 422 naming min_per_stratum" % name)
        t.eq(srv.get("%s/%d" % (WAVES, w["id"]))[2].get("status"), "draft",
             "%s: a failed draw leaves the draft (one transaction)" % name)
        t.eq(srv.sql("SELECT count(*) FROM relationship_sample WHERE wave_id = ?", (w["id"],))[0][0], 0,
             "%s: ... and no sample row" % name)
        # state rules: 409 naming the field
        t.error(srv.post("%s/%d/send" % (WAVES, w["id"])), 409, field="status",
                name="%s: sending a draft -> 409" % name)
        t.error(srv.get("%s/%d/report" % (WAVES, w["id"])), 409, field="status",
                name="%s: the report of a draft -> 409" % name)
        t.error(srv.post("%s/%d/draw" % (WAVES, wa["id"])), 409, field="status",
                name="%s: drawing twice -> 409" % name)
        t.error(srv.request("PUT", "%s/%d" % (WAVES, wa["id"]), {"sample_size": 9}), 409, field="sample_size",
                name="%s: changing the size of a drawn wave -> 409 naming sample_size" % name)
        st, _, b = srv.request("PUT", "%s/%d" % (WAVES, wa["id"]), {"name": "Nieuwe naam"})
        t.check(st == 200 and b.get("name") == "Nieuwe naam", "%s: renaming a drawn wave -> 200" % name, ks.got(st, b))
        t.error(srv.request("PUT", "%s/%d" % (WAVES, wa["id"]), {"status": "closed"}), 409, field="status",
                name="%s: closing an unsent wave -> 409" % name)
        st, _, b = srv.request("PUT", "%s/%d" % (WAVES, w["id"]), {"sample_size": 12, "allocation": "equal"})
        t.check(st == 200 and b.get("sample_size") == 12 and b.get("allocation") == "equal",
                "%s: a draft may change anything" % name, ks.got(st, b))
        st, _, b = srv.request("DELETE", "%s/%d" % (WAVES, wa["id"]))
        t.check(st == 200, "%s: delete a drawn wave -> 200" % name, ks.got(st, b))
        t.eq(srv.get("%s/%d" % (WAVES, wa["id"]))[0], 404, "%s: ... then 404" % name)
        t.eq(srv.sql("SELECT count(*) FROM relationship_sample WHERE wave_id = ?", (wa["id"],))[0][0], 0,
             "%s: ... with its sample" % name)
        st, _, lst = srv.get(WAVES)
        t.check(st == 200 and [x["id"] for x in lst["items"]] == sorted([x["id"] for x in lst["items"]], reverse=True)
                and wa["id"] not in [x["id"] for x in lst["items"]], "%s: the list, newest first" % name, ks.got(st, lst))
        # audit entries
        st, _, au = srv.get("/api/v1/audit?limit=500&action=relationship_wave.*")
        acts = sorted({a["action"] for a in au.get("items", [])}) if st == 200 else []
        t.eq(acts, ["relationship_wave.create", "relationship_wave.delete", "relationship_wave.draw",
                    "relationship_wave.update"], "%s: audit entries for create, update, draw, delete" % name)


def test_fatigue_send_report(t, sink):
    """Fatigue, opt-out and no-email exclusions (counted, replaced from the
    stratum or not), customers without contacts drawn, the mails, the survey
    page, the funnel, an opt-out between draw and send, and the report's
    figures against numpy, with min-n suppression on the way."""
    name = "send and report"
    with server(t, sink) as srv:
        ids = customers(srv, [("particulier", 40), ("zakelijk", 20), (None, 10)], "rp")
        noemail = customers(srv, [("zakelijk", 2)], "rpx", email=False)["zakelijk"]
        sv = survey(srv)
        journey = srv.create("journeys", {"name": "Storing"})
        tp = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Telefoon", "survey_id": sv["id"]})
        must(srv.request("PUT", "/api/v1/touchpoints/%d/rule" % tp["id"], {"enabled": True, "fatigue_days": 30,
                                                                            "delay_minutes": 0}),
             200, "the touchpoint's rule")
        # contacts 10 days ago for 6 particulier customers: invited -> fatigued now
        must(srv.post("/api/v1/admin/clock", {"now": ks.iso(ks.parse_iso(START) - 10 * DAY)}), 200, "clock back")
        fatigued = ids["particulier"][:6]
        contacts = {}
        for cid in fatigued:
            c = must(srv.post("/api/v1/contacts", {"customer_id": cid, "touchpoint_id": tp["id"], "channel": "phone",
                                                   "occurred_at": ks.iso(ks.parse_iso(START) - 10 * DAY)}),
                     201, "a contact")
            contacts[cid] = c
        run_sched(srv)   # their invitations go out then (and would be fatigue for 30 days)
        must(srv.post("/api/v1/admin/clock", {"now": START}), 200, "clock now")
        opted = ids["particulier"][6]
        must(srv.post("/api/v1/customers/%d/opt-out" % opted), 200, "opt-out")

        # a census of the frame: every exclusion counted, nobody replaced
        wc = wave(srv, sv["id"], sample_size=1000)
        dc = draw(srv, wc["id"], "1111111111111111")
        t.eq(dc["draw"]["population"], 72, "%s: the frame is all 72 customers" % name)
        t.eq(dc["draw"]["excluded"], {"fatigue": 6, "opted_out": 1, "no_email": 2},
             "%s: exclusions counted by reason (6 fatigue, 1 opted out, 2 without e-mail)" % name)
        t.eq(dc["draw"]["selected"], 63, "%s: 63 eligible selected" % name)
        no_contact = set(ids["zakelijk"]) | set(ids[""])
        t.check(no_contact <= {c for v in selected(srv, wc["id"]).values() for c in v},
                "%s: customers without any contact are drawn" % name)
        srv.request("DELETE", "%s/%d" % (WAVES, wc["id"]))

        # replacement within the stratum: the walk goes on past excluded customers
        seed = 0x2222222222222222
        for repl in (True, False):
            w = wave(srv, sv["id"], sample_size=35, replace_excluded=repl)   # 42+... -> see allocation below
            draw(srv, w["id"], "%016x" % seed)
            pops = [10, 40, 22]
            alloc = hamilton(pops, 35)
            rows = sample(srv, w["id"])
            order = draw_order(seed, ids["particulier"])
            n_h = alloc[1]
            bad = set(fatigued) | {opted}
            want_sel, want_exc, taken = [], [], 0
            for c in order:
                if taken == n_h:
                    break
                if c in bad:
                    want_exc.append(c)
                    if not repl:
                        taken += 1
                else:
                    want_sel.append(c)
                    taken += 1
            got = rows.get("particulier", [])
            t.eq(sorted(r[0] for r in got if r[1] is None), sorted(want_sel),
                 "%s: replace_excluded=%s: the selected particulier customers follow the key order" % (name, repl))
            t.eq(sorted(r[0] for r in got if r[1] is not None), sorted(want_exc),
                 "%s: replace_excluded=%s: the excluded met on the way are recorded" % (name, repl))
            if repl:
                t.eq(len(want_sel), n_h, "%s: with replacement the stratum gets its %d" % (name, n_h))
            srv.request("DELETE", "%s/%d" % (WAVES, w["id"]))

        # the wave we send: 35 of 72 -> proportional over (10, 40, 22)
        w = wave(srv, sv["id"], sample_size=35)
        d = draw(srv, w["id"], "3333333333333333")
        sel = selected(srv, w["id"])
        # an opt-out between draw and send: excluded at the send
        late = sel["zakelijk"][0]
        must(srv.post("/api/v1/customers/%d/opt-out" % late), 200, "late opt-out")
        s = must(srv.post("%s/%d/send" % (WAVES, w["id"])), 200, "send")
        n_sel = sum(len(v) for v in sel.values())
        t.eq(s["send"], {"invited": n_sel - 1, "excluded": 1}, "%s: send invites all but the late opt-out" % name)
        t.eq(s["status"], "sent", "%s: status sent" % name)
        t.eq(srv.sql("SELECT excluded, excluded_at FROM relationship_sample WHERE wave_id = ? AND customer_id = ?",
                     (w["id"], late)), [("opted_out", "send")], "%s: the late opt-out is recorded at the send" % name)
        inv = srv.sql("SELECT i.channel, i.decision, i.status, c.channel FROM relationship_sample rs"
                      " JOIN invitations i ON i.id = rs.invitation_id JOIN contacts c ON c.id = rs.contact_id"
                      " WHERE rs.wave_id = ?", (w["id"],))
        t.check(len(inv) == n_sel - 1 and all(r == ("relationship", "created", "scheduled", "relationship") for r in inv),
                "%s: each invited customer has a relationship contact and a scheduled invitation" % name, inv[:3])
        t.error(srv.post("%s/%d/send" % (WAVES, w["id"])), 409, field="status", name="%s: sending twice -> 409" % name)
        t.error(srv.request("DELETE", "%s/%d" % (WAVES, w["id"])), 409, field="status",
                name="%s: a sent wave cannot be deleted" % name)

        # mails through the scheduler into the sink
        stats = run_sched(srv)
        t.eq(stats.get("sent"), n_sel - 1, "%s: the scheduler sends one mail per invitation" % name)
        emails = {cid: "rp.%s.%d@example.org" % (seg or "none", i) for seg in ids for i, cid in enumerate(ids[seg])}
        want_to = sorted(emails[c] for v in sel.values() for c in v if c != late)
        deadline = time.time() + 10
        while len([m for m in sink.mails() if m.message_id.startswith("<rel-")]) < len(want_to) \
                and time.time() < deadline:
            time.sleep(0.05)
        mails = [m for m in sink.mails() if m.message_id.startswith("<rel-%d-" % w["id"])]
        got_to = sorted(m.rcpt.strip().strip("<>") for m in mails)
        t.eq(got_to, want_to, "%s: the sink holds one relationship mail to each invited customer" % name)
        by_rcpt = {m.rcpt.strip().strip("<>"): m for m in mails}
        tok = dict(srv.sql("SELECT cu.email, c.token FROM relationship_sample rs JOIN contacts c ON c.id = rs.contact_id"
                           " JOIN customers cu ON cu.id = rs.customer_id WHERE rs.wave_id = ?", (w["id"],)))
        t.check(all(("/s/%s?nps=" % tok[a]) in by_rcpt[a].text for a in by_rcpt if a in tok) and len(tok) == len(by_rcpt),
                "%s: each mail links to its own relationship survey token" % name)
        # drawn from the whole base: the mail asks about the organisation and
        # never claims a recent contact (nor names an employee or touchpoint)
        t.eq(sorted(set(m.subject for m in mails)), ["Hoe tevreden ben je over Klantstem?"],
             "%s: the subject asks how satisfied the customer is with the organisation" % name)
        t.check(all("onlangs" not in m.text and "We vragen een willekeurige groep klanten" in m.text
                    for m in mails),
                "%s: the text says why they were asked, never 'onlangs contact'" % name,
                [m.text[:200] for m in mails[:1]])

        # responses: through the survey page for one, the API for the rest
        tokens = dict(srv.sql("SELECT rs.customer_id, c.token FROM relationship_sample rs JOIN contacts c"
                              " ON c.id = rs.contact_id WHERE rs.wave_id = ?", (w["id"],)))
        cids = dict(srv.sql("SELECT customer_id, contact_id FROM relationship_sample WHERE wave_id = ?"
                            " AND contact_id IS NOT NULL", (w["id"],)))
        answers = {}

        def answer(cid, score):
            must(srv.post("/api/v1/responses", {"client_key": ks.uniq("rel"), "contact_id": cids[cid],
                                                "answers": {"nps": score}}), 201, "a response")
            answers[cid] = score

        strata_sel = {k: [c for c in v if c != late] for k, v in sel.items()}
        # the page: GET /s/TOKEN, then the funnel counts it as opened
        first = strata_sel["particulier"][0]
        st, _, _ = srv.get("/s/%s" % tokens[first], auth=False)
        t.eq(st, 200, "%s: the survey page opens from a relationship token" % name)

        # phase 0: 4 answers -> everything below min n
        plan = {"particulier": [10, 9, 9, 10, 8, 7, 6, 3, 9, 10, 0, 9, 10, 5, 9, 8, 10, 2, 9],
                "zakelijk": [6, 6, 9, 2, 7, 10],
                "": [9, 10]}
        for cid, sc in zip(strata_sel["particulier"][:4], plan["particulier"][:4]):
            answer(cid, sc)
        rep = must(srv.get("%s/%d/report" % (WAVES, w["id"])), 200, "report")
        t.eq(rep["relationship"]["unweighted"].get("n"), 0,
             "%s: answers of today are not counted yet (every figure as of the start of today)" % name)
        t.eq(rep["period"]["to"], ks.iso(ks.parse_iso("2026-11-15T23:00:00Z")),
             "%s: ... and the reply shows the cut (local midnight) as the period's to" % name)
        day(srv, 1)
        rep = must(srv.get("%s/%d/report" % (WAVES, w["id"])), 200, "report")
        t.eq(rep["relationship"]["unweighted"].get("n"), 4, "%s: the next day the 4 answers count" % name)
        t.check(rep["relationship"]["unweighted"].get("insufficient") is True
                and rep["relationship"]["unweighted"].get("nps") is None,
                "%s: 4 answers: the wave's NPS is withheld (min n 5)" % name, rep["relationship"])
        t.check(rep["relationship"]["weighted"] is None and rep["gap"]["weighted"] == {"verdict": "insufficient_data"},
                "%s: ... and so are the weighted NPS and the gap" % name, rep["gap"])

        # phase 1: the rest of the plan; the no-segment stratum has 2 (< 5)
        for k, scores in plan.items():
            done = 4 if k == "particulier" else 0
            for cid, sc in zip(strata_sel[k][done:len(scores)], scores[done:]):
                answer(cid, sc)
        # contact-driven responses in the period, from 8 other customers (and
        # their segments), on the phone touchpoint
        cd_scores = {}
        cd_plan = [(ids["particulier"][-1], 10), (ids["particulier"][-2], 3), (ids["particulier"][-3], 8),
                   (ids["zakelijk"][-1], 9), (ids["zakelijk"][-2], 0), (ids["zakelijk"][-3], 6),
                   (fatigued[0], 10), (fatigued[1], 9)]
        # H8: two customers answer again after a second contact (their latest
        # answer is the one the gap counts)
        cd_plan += [(ids["zakelijk"][-1], 2), (ids["zakelijk"][-2], 10), (ids["zakelijk"][-1], 4)]
        cd_all = []
        for cid, sc in cd_plan:
            body = {"client_key": ks.uniq("cd"), "customer_id": cid, "touchpoint_id": tp["id"], "channel": "phone",
                    "answers": {"nps": sc}}
            if cid in contacts:
                body = {"client_key": ks.uniq("cd"), "contact_id": contacts[cid]["id"], "answers": {"nps": sc}}
            must(srv.post("/api/v1/responses", body), 201, "a contact-driven response")
            cd_scores[cid] = sc   # the latest, by the order of posting
            cd_all.append(sc)
        cd_scores = {"all": cd_all, "latest": cd_scores}
        day(srv, 2)
        rep = must(srv.get("%s/%d/report" % (WAVES, w["id"])), 200, "report")
        t.eq(rep["relationship"]["weighted"], None, "%s: a stratum with 2 answers: no weighted NPS" % name)
        t.eq(rep["relationship"]["weighted_note"], "stratum_below_min_n", "%s: ... and the reason" % name)
        t.check(all(s["nps"] is None for s in rep["strata"]),
                "%s: ... and no stratum's NPS (the total minus the shown ones would give it away)" % name,
                [s["nps"] for s in rep["strata"]])
        t.check(rep["relationship"]["unweighted"].get("nps") is not None,
                "%s: the unweighted NPS over %d answers is shown" % (name, len(answers)), rep["relationship"])

        # phase 2: 3 more in the no-segment stratum -> every stratum >= 5
        for cid, sc in zip(strata_sel[""][2:5], [6, 10, 9]):
            answer(cid, sc)
        day(srv, 3)
        rep = must(srv.get("%s/%d/report" % (WAVES, w["id"])), 200, "report")
        check_report(t, name, rep, ids, strata_sel, answers, cd_scores, contacts, w, late)
        check_metrics_apart(t, name, srv, rep["period"]["to"])

        # the reminder (the touchpoint's rule: 3 days) goes to the unanswered only
        unanswered = sorted(emails[c] for v in strata_sel.values() for c in v if c not in answers)
        stats = run_sched(srv)
        t.eq(stats.get("reminders"), len(unanswered), "%s: 3 days on, one reminder per unanswered invitation" % name)
        deadline = time.time() + 10
        while len([m for m in sink.mails() if m.message_id.startswith("<r-rel-%d-" % w["id"])]) < len(unanswered) \
                and time.time() < deadline:
            time.sleep(0.05)
        t.eq(sorted(m.rcpt.strip().strip("<>") for m in sink.mails() if m.message_id.startswith("<r-rel-%d-" % w["id"])),
             unanswered, "%s: the reminders reach exactly the customers who have not answered" % name)

        # the funnel knows the wave: channel relationship
        st, _, fun = srv.get("/api/v1/funnel?group_by=channel&period=%s" % PERIOD)
        rows = {r.get("key"): r for r in fun.get("rows", [])} if st == 200 else {}
        rel = rows.get("relationship", {})
        t.check(rel.get("invited") == n_sel - 1 and rel.get("completed") == len(answers) and rel.get("opened", 0) >= 1,
                "%s: the funnel counts the wave under channel relationship (invited, opened, completed)" % name,
                ks.short(fun))
        # closing
        st, _, b = srv.request("PUT", "%s/%d" % (WAVES, w["id"]), {"status": "closed"})
        t.check(st == 200 and b.get("status") == "closed" and b.get("closed_at"), "%s: a sent wave closes" % name,
                ks.got(st, b))
        # a GDPR erasure of a respondent: the erasure goes through (the
        # sample's contact and invitation links are cleared), the wave keeps
        # the sample row and counts one respondent fewer
        gone = strata_sel["particulier"][0]
        st, _, ex = srv.get("/api/v1/customers/%d/export" % gone)
        mine = (ex or {}).get("relationship_samples") if st == 200 else None
        t.check(isinstance(mine, list) and len(mine) == 1 and mine[0].get("wave_id") == w["id"]
                and mine[0].get("stratum") == "particulier" and mine[0].get("excluded") is None,
                "%s: the customer's GDPR export lists the wave they were drawn for" % name, ks.got(st, mine))
        st, _, b = srv.post("/api/v1/customers/%d/erase" % gone, {"confirm": True})
        t.check(st == 200, "%s: erasing a sampled respondent -> 200" % name, ks.got(st, b))
        t.eq(srv.sql("SELECT count(*) FROM relationship_sample WHERE customer_id = ?", (gone,)), [(0,)],
             "%s: ... their place in the sample goes with them" % name)
        t.eq(srv.sql("SELECT population FROM relationship_strata WHERE wave_id = ? AND stratum = 'particulier'",
                     (w["id"],)), [(40,)], "%s: ... the frame's stratum size stays (the weights do not move)" % name)
        rep2 = must(srv.get("%s/%d/report" % (WAVES, w["id"])), 200, "report after erasure")
        t.eq(rep2["relationship"]["unweighted"]["n"], len(answers) - 1, "%s: ... and the wave has one answer fewer" % name)
        w3 = wave(srv, sv["id"], sample_size=1000)
        d3 = draw(srv, w3["id"])
        t.eq(d3["draw"]["population"], 71, "%s: an erased customer is not in a later frame" % name)
        # H8: the frame skips tombstones by their marker (erased_at), not by
        # the id's text: a real customer whose id starts with 'erased-' (stored
        # before the intakes refused such ids; written with sqlite3 here) is in it
        con = ks.db_connect(srv.db)
        con.execute("INSERT INTO customers(external_id, segment, created_at) VALUES ('erased-7 legacy', 'zakelijk', 0)")
        con.commit()
        con.close()
        w4 = wave(srv, sv["id"], sample_size=1000)
        d4 = draw(srv, w4["id"])
        t.eq(d4["draw"]["population"], 72, "%s: a real customer with an 'erased-' id is in the frame, the "
             "tombstone is not" % name)


def check_metrics_apart(t, name, srv, cut_iso):
    """/metrics and the rest of the analytics engine describe contact-driven
    answers: a wave's answers are left out unless channel=relationship asks
    for them. The reference is the responses table read directly."""
    cut = ks.parse_iso(cut_iso)
    def ref(where):
        rows = srv.sql("SELECT nps FROM responses WHERE nps IS NOT NULL AND received_at < ? AND " + where, (cut,))
        a = [r[0] for r in rows]
        return len(a), round((sum(v >= 9 for v in a) - sum(v <= 6 for v in a)) * 100.0 / len(a), 1) if a else None
    def got(q):
        st, _, b = srv.get("/api/v1/metrics?period=%s%s" % (PERIOD, q))
        nps = b.get("nps") if st == 200 else None
        return (b.get("n") if st == 200 else st), (nps.get("value") if isinstance(nps, dict) else nps)
    n_cd, nps_cd = ref("coalesce(channel, '') <> 'relationship'")
    n_rel, nps_rel = ref("channel = 'relationship'")
    t.check(n_rel >= 5 and n_cd >= 5, "%s: both kinds of answer are in the period (%d, %d)" % (name, n_rel, n_cd))
    t.eq(got(""), (n_cd, nps_cd), "%s: /metrics without a channel counts the contact-driven answers only" % name)
    t.eq(got("&channel=relationship"), (n_rel, nps_rel),
         "%s: /metrics?channel=relationship gives the wave's answers" % name)
    st, _, b = srv.get("/api/v1/metrics?period=%s&group_by=channel" % PERIOD)
    keys = sorted((r.get("channel") or {}).get("name", r.get("channel")) if isinstance(r.get("channel"), dict)
                  else r.get("channel") for r in (b or {}).get("rows", []))
    t.check(st == 200 and "relationship" not in keys and keys,
            "%s: group_by=channel lists the contact channels, not the wave's" % name, ks.got(st, keys))


def check_report(t, name, rep, ids, sel, answers, cd_scores, contacts, w, late):
    frame = {"": 10, "particulier": 40, "zakelijk": 22}
    N = sum(frame.values())
    by = {}
    for cid, sc in answers.items():
        k = next(k for k, v in sel.items() if cid in v)
        by.setdefault(k, []).append(sc)
    allsc = list(answers.values())
    # unweighted: the product's cell
    v, adj, var = wald(allsc)
    un = rep["relationship"]["unweighted"]
    near(t, un["nps"]["value"], v, 1, "%s: unweighted NPS" % name)
    near(t, un["nps"]["low"], max(-100, adj - 1.96 * 100 * np.sqrt(var)), 1, "%s: unweighted low" % name)
    near(t, un["nps"]["high"], min(100, adj + 1.96 * 100 * np.sqrt(var)), 1, "%s: unweighted high" % name)
    # post-stratified: W_h = N_h / N, var = sum W_h^2 var_h
    W = {k: frame[k] / N for k in by}
    wv = sum(W[k] * wald(by[k])[0] for k in by)
    wa = sum(W[k] * wald(by[k])[1] for k in by)
    wvar = sum(W[k] ** 2 * wald(by[k])[2] for k in by)
    we = rep["relationship"]["weighted"]
    t.check(we is not None, "%s: every stratum has >= 5 answers: the weighted NPS is shown" % name, rep["relationship"])
    if we is None:
        return
    near(t, we["value"], wv, 1, "%s: weighted NPS = sum W_h NPS_h" % name)
    near(t, we["low"], max(-100, wa - 1.96 * 100 * np.sqrt(wvar)), 1, "%s: weighted low" % name)
    near(t, we["high"], min(100, wa + 1.96 * 100 * np.sqrt(wvar)), 1, "%s: weighted high" % name)
    t.check(abs(wv - v) > 0.5, "%s: the weights matter here (weighted %.2f vs unweighted %.2f)" % (name, wv, v))
    # contact-driven: every non-relationship response of the period; the
    # gap's side (H8): each customer once, their latest answer
    cd_all, cd_scores = cd_scores["all"], cd_scores["latest"]
    cd = rep["contact_driven"]
    near(t, cd["nps"]["value"], wald(cd_all)[0], 1, "%s: contact-driven NPS (every answer; relationship answers "
         "excluded)" % name)
    t.eq(cd["n"], len(cd_all), "%s: contact-driven n counts only contact responses, repeats included" % name)
    t.eq(cd["excludes"], "relationship", "%s: the contact-driven figure says what it excludes" % name)
    cv, cadj, cvar = wald(list(cd_scores.values()))
    t.eq(cd["gap_basis"]["n"], len(cd_scores), "%s: the gap's contact side: each customer once (%d of %d answers)"
         % (name, len(cd_scores), len(cd_all)))
    near(t, cd["gap_basis"]["nps"]["value"], cv, 1, "%s: ... their latest answers' NPS" % name)
    t.check(abs(wald(cd_all)[0] - cv) > 0.5, "%s: the repeats matter here (%.2f vs %.2f)" % (name, wald(cd_all)[0], cv))
    # the gap: weighted - contact-driven, se = sqrt(v1 + v2)
    g = rep["gap"]["weighted"]
    se = 100 * np.sqrt(wvar + cvar)
    near(t, g["value"], wv - cv, 1, "%s: gap value" % name)
    near(t, g["se"], se, 2, "%s: gap se = 100 sqrt(v1 + v2)" % name)
    near(t, g["low"], (wa - cadj) - 1.96 * se, 1, "%s: gap low" % name)
    near(t, g["high"], (wa - cadj) + 1.96 * se, 1, "%s: gap high" % name)
    want_verdict = ("relationship_higher" if (wa - cadj) - 1.96 * se > 0 else
                    "relationship_lower" if (wa - cadj) + 1.96 * se < 0 else "within_noise")
    t.eq(g["verdict"], want_verdict, "%s: gap verdict" % name)
    ug = rep["gap"]["unweighted"]
    near(t, ug["value"], v - cv, 1, "%s: unweighted gap value" % name)
    # strata: representativeness against the whole base, weights, stratum NPS
    st = {s["stratum"]: s for s in rep["strata"]}
    t.eq(sorted(st), ["", "particulier", "zakelijk"], "%s: one row per segment (no segment = \"\")" % name)
    t.eq(rep["base"], N, "%s: the base is every customer" % name)
    r_tot = len(allsc)
    inv_tot = sum(len(v) for v in sel.values())
    cd_cust = {}
    for cid in cd_scores:
        k = "particulier" if cid in ids["particulier"] else "zakelijk" if cid in ids["zakelijk"] else ""
        cd_cust.setdefault(k, set()).add(cid)
    cd_inv = {}
    for cid in contacts:
        cd_inv.setdefault("particulier", set()).add(cid)
    cd_tot = sum(len(v) for v in cd_cust.values())
    cd_inv_tot = sum(len(v) for v in cd_inv.values())
    for k in ("", "particulier", "zakelijk"):
        s = st[k]
        r_h = len(by.get(k, []))
        t.eq(s["population"], frame[k], "%s [%s]: population" % (name, k))
        near(t, s["base_share"], frame[k] / N, 4, "%s [%s]: base share" % (name, k))
        t.eq(s["invited"], len(sel[k]), "%s [%s]: invited" % (name, k))
        near(t, s["invited_share"], len(sel[k]) / inv_tot, 4, "%s [%s]: invited share" % (name, k))
        t.eq(s["respondents"], r_h, "%s [%s]: respondents" % (name, k))
        near(t, s["respondent_share"], r_h / r_tot, 4, "%s [%s]: respondent share" % (name, k))
        near(t, s["index"], (r_h / r_tot) / (frame[k] / N), 3, "%s [%s]: index vs the whole base" % (name, k))
        near(t, s["weight"], (frame[k] / N) / (r_h / r_tot), 3, "%s [%s]: weight = base share / respondent share"
             % (name, k))
        near(t, s["nps"]["value"], wald(by[k])[0], 1, "%s [%s]: the stratum's NPS" % (name, k))
        c_r = len(cd_cust.get(k, ()))
        t.eq(s["contact_respondents"], c_r, "%s [%s]: contact-driven respondents" % (name, k))
        if c_r:
            near(t, s["contact_index"], (c_r / cd_tot) / (frame[k] / N), 3,
                 "%s [%s]: contact-driven index vs the whole base" % (name, k))
        else:
            t.eq(s["contact_index"], 0.0, "%s [%s]: no contact-driven respondents: index 0" % (name, k))
        t.eq(s["contact_invited"], len(cd_inv.get(k, ())), "%s [%s]: contact-driven invited" % (name, k))
    # the binomial test of each stratum's respondents against its base share, BH over the strata
    for label, key_p, key_adj, key_flag, counts in (
            ("wave", "p", "p_adj", "flag", {k: len(by.get(k, [])) for k in frame}),
            ("contact-driven", "contact_p", "contact_p_adj", "contact_flag",
             {k: len(cd_cust.get(k, ())) for k in frame})):
        R = sum(counts.values())
        keys = sorted(frame)
        ps = [binom_p(counts[k], R, frame[k], N) for k in keys]
        adj = bh(ps)
        for k, pv, pa in zip(keys, ps, adj):
            near(t, st[k][key_p], pv, 4, "%s [%s]: %s binomial p against the base share" % (name, k, label))
            near(t, st[k][key_adj], pa, 4, "%s [%s]: %s BH-adjusted p" % (name, k, label))
            t.eq(st[k][key_flag], flag(counts[k], R, frame[k], N, pa), "%s [%s]: %s flag" % (name, k, label))
    t.eq(rep["contact_driven"]["respondents"], cd_tot, "%s: contact-driven respondents (customers)" % name)
    t.eq(rep["contact_driven"]["invited_customers"], cd_inv_tot, "%s: contact-driven invited customers" % name)
    t.eq(st["zakelijk"]["excluded"]["opted_out"], 1, "%s: the late opt-out counts in its stratum" % name)


def waves_now(srv):
    st, _, b = srv.get(WAVES)
    return b["items"] if st == 200 else []


def wait_for(pred, seconds=8.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def test_schedule(t):
    """A wave per quarter: made, drawn and sent by the server's own thread on
    the (test) clock, once per quarter, from day_of_month of the quarter's
    first month on; a failed draw is recorded and the quarter not retried."""
    name = "schedule"
    SCHED = "/api/v1/relationship/schedule"
    with server(t) as srv:
        customers(srv, [("a", 6), ("b", 4), (None, 2)], "sc")
        sv = survey(srv)
        st, _, b = srv.get(SCHED)
        t.check(st == 200 and b.get("enabled") is False and b.get("last_period") is None
                and b.get("current_quarter") == "2026-Q4" and b.get("sample_size") == 400,
                "%s: off by default, the current quarter named" % name, ks.got(st, b))
        for body, field in (({"enabled": True}, "survey_id"), ({"day_of_month": 29}, "day_of_month"),
                            ({"day_of_month": 0}, "day_of_month"), ({"allocation": "x"}, "allocation"),
                            ({"enabled": "yes"}, "enabled"), ({"often": 1}, "often"),
                            ({"survey_id": 99999}, "survey_id")):
            t.error(srv.request("PUT", SCHED, body), 422, field=field, name="%s: PUT %s -> 422 naming %s" % (name, body, field))
        time.sleep(1.5)
        t.eq(waves_now(srv), [], "%s: while off, no wave" % name)
        st, _, b = srv.request("PUT", SCHED, {"enabled": True, "survey_id": sv["id"], "sample_size": 4, "day_of_month": 20})
        t.check(st == 200 and b.get("enabled") is True and b.get("day_of_month") == 20, "%s: switched on" % name, ks.got(st, b))
        # 16 November is in the quarter's second month: due whatever the day
        got = wait_for(lambda: [w for w in waves_now(srv) if w["status"] == "sent"])
        t.check(len(got) == 1 and got[0]["period"] == "2026-Q4" and got[0]["name"] == "Relatieonderzoek 2026-Q4"
                and got[0]["invited"] == 4 and got[0]["seed"],
                "%s: the thread made, drew and sent the 2026-Q4 wave" % name, got)
        time.sleep(2.0)
        t.eq(len(waves_now(srv)), 1, "%s: one wave per quarter (not again a pass later)" % name)
        st, _, b = srv.get(SCHED)
        t.check(b.get("last_period") == "2026-Q4" and b.get("last_wave_id") == got[0]["id"] and b.get("last_error") is None
                and b.get("current_quarter_done") is True, "%s: the schedule records the quarter and its wave" % name, b)
        # 5 January: the first month of 2027-Q1, before day 20 -> nothing yet
        must(srv.post("/api/v1/admin/clock", {"now": "2027-01-05T10:00:00Z"}), 200, "clock")
        time.sleep(2.5)
        t.eq(len(waves_now(srv)), 1, "%s: 5 January, before day 20 of the quarter: no wave yet" % name)
        must(srv.post("/api/v1/admin/clock", {"now": "2027-01-20T10:00:00Z"}), 200, "clock")
        got = wait_for(lambda: [w for w in waves_now(srv) if w["period"] == "2027-Q1" and w["status"] == "sent"])
        t.check(len(got) == 1 and got[0]["invited"] == 4, "%s: 20 January: the 2027-Q1 wave, sent" % name, waves_now(srv))
        # a draw that cannot be made: the wave stays a draft, the error is kept
        must(srv.request("PUT", SCHED, {"min_per_stratum": 4}), 200, "min 4 x 3 strata > 4")
        must(srv.post("/api/v1/admin/clock", {"now": "2027-04-21T10:00:00Z"}), 200, "clock")
        got = wait_for(lambda: [w for w in waves_now(srv) if w["period"] == "2027-Q2"])
        t.check(len(got) == 1 and got[0]["status"] == "draft", "%s: a failed draw leaves the quarter's wave a draft" % name, got)
        b = wait_for(lambda: srv.get(SCHED)[2] if srv.get(SCHED)[2].get("last_error") else None, 4.0) or srv.get(SCHED)[2]
        t.check(b.get("last_period") == "2027-Q2" and "min_per_stratum" in (b.get("last_error") or ""),
                "%s: ... the schedule keeps the error" % name, b)
        time.sleep(1.5)
        t.eq(len(waves_now(srv)), 3, "%s: ... and does not try the quarter again" % name)
        st, _, au = srv.get("/api/v1/audit?limit=500&action=relationship_schedule.*")
        t.check(st == 200 and len(au.get("items", [])) == 2, "%s: each accepted PUT (2) is in the audit log" % name,
                ks.got(st, au))


def test_send_chunks(t):
    """H8: a wave is sent in committed chunks (KS_REL_SEND_CHUNK=4 here): a
    failure in the third chunk leaves the first two chunks' 8 customers
    invited and the wave drawn (a send under way: no delete); the same POST
    then invites the other 12, nobody twice, and the wave is sent."""
    name = "chunks"
    with server(t, env={"KS_REL_SEND_CHUNK": "4"}) as srv:
        customers(srv, [("p", 12), ("z", 5), ("x", 3)], "ch")
        sv = survey(srv)
        w = wave(srv, sv["id"], sample_size=20)
        draw(srv, w["id"], "00000000000000aa")
        order = [r[0] for r in srv.sql("SELECT customer_id FROM relationship_sample WHERE wave_id = ? AND excluded IS NULL"
                                       " ORDER BY stratum, draw_rank", (w["id"],))]
        t.eq(len(order), 20, "%s: all 20 selected (a census)" % name)
        con = ks.db_connect(srv.db)
        if ks.is_pg_uri(srv.db):  # the same trigger in PostgreSQL's terms (issue 18)
            con.execute("CREATE FUNCTION h8_boom() RETURNS trigger LANGUAGE plpgsql AS"
                        " $f$BEGIN IF NEW.customer_id = %d THEN RAISE EXCEPTION 'h8 boom'; END IF;"
                        " RETURN NEW; END$f$" % order[10])
            con.execute("CREATE TRIGGER h8_boom BEFORE INSERT ON invitations FOR EACH ROW EXECUTE FUNCTION h8_boom()")
        else:
            con.execute("CREATE TRIGGER h8_boom BEFORE INSERT ON invitations WHEN NEW.customer_id = %d"
                        " BEGIN SELECT RAISE(ABORT, 'h8 boom'); END" % order[10])
        con.commit()
        st, _, b = srv.post("%s/%d/send" % (WAVES, w["id"]))
        t.check(st >= 400, "%s: the send fails in the third chunk (the 11th customer)" % name, ks.got(st, b))
        invited = [r[0] for r in srv.sql("SELECT customer_id FROM relationship_sample WHERE wave_id = ?"
                                         " AND invitation_id IS NOT NULL ORDER BY stratum, draw_rank", (w["id"],))]
        t.eq(invited, order[:8], "%s: the two committed chunks (8 customers) stay invited" % name)
        t.eq(srv.sql("SELECT count(*) FROM invitations WHERE channel = 'relationship'"), [(8,)],
             "%s: ... with 8 invitations, the failed chunk rolled back" % name)
        wv = must(srv.get("%s/%d" % (WAVES, w["id"])), 200, "wave after the failure")
        t.check(wv["status"] == "drawn" and wv["touchpoint_id"], "%s: the wave is still drawn, its touchpoint set "
                "(a send under way)" % name, ks.got(200, wv))
        st, _, b = srv.request("DELETE", "%s/%d" % (WAVES, w["id"]))
        t.eq(st, 409, "%s: a wave whose send is under way cannot be deleted" % name)
        con.execute("DROP TRIGGER h8_boom" + (" ON invitations" if ks.is_pg_uri(srv.db) else ""))
        if ks.is_pg_uri(srv.db):
            con.execute("DROP FUNCTION h8_boom()")
        con.commit()
        con.close()
        d = must(srv.post("%s/%d/send" % (WAVES, w["id"])), 200, "send again")
        t.eq((d["status"], d["send"]), ("sent", {"invited": 20, "excluded": 0}),
             "%s: sent again: the rest goes out, the totals are the wave's" % name)
        t.eq(srv.sql("SELECT count(*), count(DISTINCT customer_id) FROM invitations WHERE channel = 'relationship'"),
             [(20, 20)], "%s: every selected customer has exactly one invitation" % name)
        st, _, b = srv.post("%s/%d/send" % (WAVES, w["id"]))
        t.eq(st, 409, "%s: a sent wave is not sent again" % name)

        # H8 (item 9): stratum x (3 of 20 customers) gives no answer; p and z
        # give 6 and 5: the weighted NPS renormalises over p and z and says so
        cids = dict(srv.sql("SELECT rs.customer_id, rs.contact_id FROM relationship_sample rs WHERE rs.wave_id = ?",
                            (w["id"],)))
        seg = dict(srv.sql("SELECT id, segment FROM customers"))
        scores = {"p": [10, 9, 9, 3, 8, 10], "z": [6, 2, 9, 10, 0]}
        for k, sc in scores.items():
            for cid, v in zip([c for c in order if seg[c] == k], sc):
                must(srv.post("/api/v1/responses", {"client_key": ks.uniq("ch"), "contact_id": cids[cid],
                                                    "answers": {"nps": v}}), 201, "a wave answer")
        day(srv, 1)
        rep = must(srv.get("%s/%d/report" % (WAVES, w["id"])), 200, "report")
        r = rep["relationship"]
        t.eq((r["weighted_note"], r["weighted_left_out"]), ("strata_without_answers", ["x"]),
             "%s: the weighted NPS names the stratum left out (no answers) and says the weights were renormalised"
             % name)
        # independent: W_h = N_h / (N_p + N_z) over the answering strata
        nps = {k: 100.0 * (sum(v >= 9 for v in sc) - sum(v <= 6 for v in sc)) / len(sc) for k, sc in scores.items()}
        want = (12 * nps["p"] + 5 * nps["z"]) / 17
        near(t, r["weighted"]["value"], want, 1, "%s: ... the weighted NPS over p and z (weights 12/17, 5/17)" % name)


def main(t):
    sink = smtp_sink.Sink()
    sink.start()
    try:
        scenario(t, "allocation", test_allocation)
        scenario(t, "long segment", test_long_segment)
        scenario(t, "small frame", test_small_frame)
        scenario(t, "send and report", test_fatigue_send_report, sink)
        scenario(t, "schedule", test_schedule)
        scenario(t, "send in chunks", test_send_chunks)
    finally:
        sink.stop()
        sink.cleanup()


if __name__ == "__main__":
    ks.run(main, start_server=False)
