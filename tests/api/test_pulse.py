#!/usr/bin/python3
"""Employee pulse (eNPS; issue 17 P; docs/API.md "Employee pulse"): settings
and their limits, a wave opened by an admin and by the schedule, invitations
mailed through the SMTP sink and answered by the mailed link on /p/{token}
(nl and en, one answer per link, closed waves), the results per unit with
eNPS, its interval and the item means computed here from the scores the test
gave, comments, and who sees which units.
"""
import concurrent.futures
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
from pulse_fx import START, PERIOD, server, must, enps_expected, tree, token, Client, links, answer, q  # noqa: E402

ORG_NAME = "Pulse BV"
SETTINGS = "/api/v1/pulse/settings"
WAVES = "/api/v1/pulse/waves"
RESULTS = "/api/v1/pulse/results"
DAY = 86400

T1 = [10, 9, 9, 7, 6, 3]
T1_ITEMS = [(5, 4, 3), (4, 4, 4), (5, 5, 5), (3, 2, 4), (2, 3, 3), (1, 1, 2)]
T1_COMMENTS = ["Meer tijd per klant", None, "Goede collega's", None, "Minder vergaderen", None]
T2 = [10, 10, 8, 5, 9]
T2_ITEMS = [(4, 5, 5), (5, 5, 4), (3, 3, 3), (2, 2, 1), (4, 4, 5)]


def test_settings(t, srv):
    st, _, s = srv.get(SETTINGS)
    t.eq(st, 200, "GET settings answers 200")
    t.eq({k: s.get(k) for k in ("enabled", "cadence_days", "open_days", "min_group", "min_group_comments",
                                "language")},
         {"enabled": False, "cadence_days": 28, "open_days": 7, "min_group": 5, "min_group_comments": 5,
          "language": "nl"}, "defaults: off, every 28 days, open 7 days, groups of 5, comments from 5")
    t.eq(s["questions"]["enps"], {"nl": "Hoe waarschijnlijk is het dat je {org} aanbeveelt als werkgever?",
                                  "en": "How likely are you to recommend us as a place to work?"},
         "the eNPS question in nl and en")
    t.eq(len(s["questions"]["items"]), 3, "three engagement items by default")
    t.check(s["questions"]["open"]["nl"] and s["questions"]["open"]["en"], "an open question in nl and en")
    for body, field in [({"min_group": 2}, "min_group"), ({"min_group": 0}, "min_group"),
                        ({"min_group_comments": 4}, "min_group_comments"),
                        ({"cadence_days": 0}, "cadence_days"), ({"open_days": 61}, "open_days"),
                        ({"enabled": "yes"}, "enabled"), ({"language": "de"}, "language"),
                        ({"min_groep": 5}, "min_groep"),
                        ({"questions": {"items": [{"nl": "a", "en": "b"}]}}, "questions.items"),
                        ({"questions": {"items": [{"nl": "a", "en": "b"}, {"nl": "c"}]}},
                         "questions.items[1].en"),
                        ({"questions": {"enps": {"nl": "x", "en": "y", "de": "z"}}}, "de")]:
        t.error(srv.request("PUT", SETTINGS, body), 422, field=field, name="PUT %s -> 422 naming %s" % (body, field))
    st, _, after = srv.get(SETTINGS)
    t.eq(after["min_group"], 5, "a refused PUT changes nothing")
    st, _, s2 = srv.request("PUT", SETTINGS, {"cadence_days": 91, "min_group": 3,
                                              "questions": {"items": [{"nl": "A", "en": "A-en"},
                                                                      {"nl": "B", "en": "B-en"}]}})
    t.eq((st, s2.get("cadence_days"), s2.get("min_group"), [i["nl"] for i in s2["questions"]["items"]]),
         (200, 91, 3, ["A", "B"]), "a valid PUT: quarterly, groups of 3, two items")
    # back to three items and groups of 5 for the rest
    must(srv.request("PUT", SETTINGS, {"cadence_days": 28, "min_group": 5, "questions": {"items": [
        {"nl": "Ik krijg de ruimte om klanten goed te helpen.", "en": "I have the room to help customers well."},
        {"nl": "Ik weet wat er van mij verwacht wordt.", "en": "I know what is expected of me."},
        {"nl": "Ik ben trots op het werk van mijn team.", "en": "I am proud of my team's work."}]}}),
         200, "restore settings")


def scored(t, unit, scores, items, name):
    want = enps_expected(scores)
    got = unit.get("enps") or {}
    t.eq(unit.get("respondents"), len(scores), "%s: respondents" % name)
    t.eq({k: got.get(k) for k in ("value", "promoters", "passives", "detractors")},
         {k: want[k] for k in ("value", "promoters", "passives", "detractors")}, "%s: eNPS and shares" % name)
    t.near(got.get("low"), want["low"], 0.051, "%s: interval low (adjusted Wald)" % name)
    t.near(got.get("high"), want["high"], 0.051, "%s: interval high (adjusted Wald)" % name)
    means = [round(sum(it[i] for it in items) / len(items) + 1e-12, 2) for i in range(3)]
    t.eq([i.get("mean") for i in unit.get("items", [])], means, "%s: item means" % name)


def main(t):
    with server(t, extra=["--org-name", ORG_NAME]) as (srv, sink):
        run(t, srv, sink)


def run(t, srv, sink):
    test_settings(t, srv)
    org, units, emps = tree(srv, {"Service": {"Noord": 6, "Zuid": 5}}, ks.uniq("pulse"))
    # not invited: no address; invited but the mail bounces (the sink's 550)
    srv.create("employees", {"team_id": units["Noord"], "first_name": "Geen", "last_name": "Adres"})
    units["Los"] = srv.create("teams", {"name": "Los", "kind": "team", "parent_id": units["Service"]})["id"]
    srv.create("employees", {"team_id": units["Los"], "first_name": "Bounce", "last_name": "X",
                             "email": "perm.bounce@example.org"})
    director = Client(srv, token(srv.db, "director"))
    t.error(director.request("POST", WAVES, {}), 403, name="a director cannot open a wave (admin only)")
    t.error(srv.request("POST", WAVES, {"when": "now"}), 422, field="when", name="POST waves takes no fields")
    st, hd, w = srv.post(WAVES, {})
    t.eq((st, w.get("period"), w.get("status"), w.get("invited"), w.get("answered")),
         (201, PERIOD, "open", 12, 0), "an admin opens a wave: 12 employees with an address invited")
    wid = w["id"]
    t.eq(w.get("closes_at"), ks.iso(ks.parse_iso(START) + 7 * DAY), "it closes after open_days")
    t.eq(len(sink.mails()), 0, "nothing is mailed before the scheduler's pass")
    stats = must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
    t.check(stats is not None, "the scheduler pass runs")
    mails = sink.mails()
    t.eq(len(mails), 11, "11 invitations are delivered (the 12th gets the sink's 550 at RCPT)")
    got = links(sink)
    t.eq(len(got), 11, "each delivered mail carries a link, one per address")
    m = [x for x in mails if x.rcpt.strip("<>").startswith("noord.0.")]
    t.check(m and m[0].subject == "[%s] Hoe gaat het op je werk? Twee minuten, anoniem" % ORG_NAME,
            "the Dutch subject names the organisation", m and m[0].subject)
    t.check(m and "Hoe waarschijnlijk is het dat je %s aanbeveelt als werkgever?" % ORG_NAME in m[0].text,
            "the mail asks the eNPS question with the organisation's name")
    st, _, w = srv.get("%s/%d" % (WAVES, wid))
    t.eq((w.get("mail_sent"), w.get("mail_failed")), (11, 1), "the wave counts 11 sent, 1 failed")
    hashes = srv.sql("SELECT token_hash FROM pulse_invitations WHERE wave_id = ? AND status = 'sent'", (wid,))
    tokens = [urllib.parse.urlparse(v).path.rsplit("/", 1)[1] for v in got.values()]
    t.check(all(len(h[0]) == 64 for h in hashes) and not any(tok in h[0] for h in hashes for tok in tokens),
            "the database keeps a SHA-256 of each link, never the token")

    def link(team, i):
        return [v for a, v in got.items() if a.startswith("%s.%d." % (team.lower(), i))][0]

    # the page
    first = link("Noord", 0)
    path = urllib.parse.urlparse(first).path
    st, hd, page = srv.request("GET", path)
    t.eq(st, 200, "GET /p/{token} answers 200")
    t.check(isinstance(page, str) and "Hoe waarschijnlijk is het dat je %s aanbeveelt als werkgever?" % ORG_NAME in page
            and page.count('name="enps"') == 11 and page.count('name="i1"') == 5, "the Dutch page: 0-10 and 1-5 scales",
            ks.short(page))
    st, _, page_en = srv.request("GET", path + "?lang=en")
    t.check(st == 200 and "How likely are you to recommend us as a place to work?" in page_en, "?lang=en: English")
    st, _, bad = answer(srv, first, 11, T1_ITEMS[0])
    t.check(st == 422 and "Kies een score." in bad, "eNPS 11 is refused with the form again", ks.got(st, bad))
    st, _, bad = srv.form(path, [("enps", "9"), ("i1", "4"), ("i3", "4")])
    t.check(st == 422 and 'id="q_i2"' in bad, "a missing item is refused", ks.got(st, bad))
    st, _, bad = srv.form(path, [("enps", "9"), ("i1", "4"), ("i2", "4"), ("i3", "4"), ("open", "x" * 2001)])
    t.check(st == 422 and "2000" in bad, "a comment over 2000 characters is refused")
    t.eq(srv.sql("SELECT count(*) FROM pulse_answers")[0][0], 0, "no refused form stored anything")
    for i, s in enumerate(T1):
        st, _, body = answer(srv, link("Noord", i), s, T1_ITEMS[i], T1_COMMENTS[i])
        t.check(st == 201 and "Dank je wel" in body, "Noord %d answers: 201 thank you" % i, ks.got(st, body))
    for i, s in enumerate(T2[:-1]):
        st, _, body = answer(srv, link("Zuid", i), s, T2_ITEMS[i], lang="en" if i == 0 else None)
        t.check(st == 201, "Zuid %d answers" % i, ks.got(st, body))
    # one answer per link, also when the same form is sent eight times at once
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = sorted(ex.map(lambda _: answer(srv, link("Zuid", 4), T2[4], T2_ITEMS[4])[0], range(8)))
    t.eq(codes, [201] + [409] * 7, "eight simultaneous posts of one link: one 201, seven 409")
    st, _, body = answer(srv, first, 0, (1, 1, 1))
    t.check(st == 409 and "Al beantwoord" in body, "a used link: 409 and a clear page", ks.got(st, body))
    st, _, body = srv.request("GET", path)
    t.check(st == 409 and "al gebruikt" in body, "GET of a used link: 409 and a clear page")
    st, _, body = srv.request("GET", "/p/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    t.check(st == 404 and "niet gevonden" in body, "an unknown link: 404 page")
    t.eq(srv.sql("SELECT count(*) FROM pulse_answers"), [(11,)], "11 answers stored")
    t.eq(srv.sql("SELECT count(*) FROM pulse_used_tokens WHERE wave_id = ?", (wid,)), [(11,)],
         "11 links recorded as used (under a second hash, not on the invitations)")

    # nothing of an open wave: no figures, no comments, no count for others
    st, _, r = srv.get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq((st, r.get("available"), r.get("units"), r["wave"].get("answered")), (200, False, [], 11),
         "an open wave: no results yet (the admin sees only the organisation's count, 11)")
    st, _, c = srv.get("%s/%d/comments?%s" % (WAVES, wid, q(unit_id=org)))
    t.eq((st, c.get("shown"), c.get("items")), (200, False, []), "an open wave: no comments")
    t.error(srv.post(WAVES, {}), 409, name="a second wave while one is open: 409")
    must(srv.post("%s/%d/close" % (WAVES, wid)), 200, "close the wave")

    # results as an admin
    st, _, r = srv.get("%s?%s" % (RESULTS, q(wave=wid)))
    t.eq(st, 200, "results of the wave: 200")
    by = {u["unit_id"]: u for u in r.get("units", [])}
    t.eq(set(by), {org, units["Service"], units["Noord"], units["Zuid"], units["Los"]}, "an admin sees every unit")
    t.eq((r["wave"].get("answered"), r["wave"].get("response_rate")), (11, 0.92), "11 of 12 answered")
    scored(t, by[units["Noord"]], T1, T1_ITEMS, "Noord")
    scored(t, by[units["Zuid"]], T2, T2_ITEMS, "Zuid")
    scored(t, by[units["Service"]], T1 + T2, T1_ITEMS + T2_ITEMS, "Service")
    scored(t, by[org], T1 + T2, T1_ITEMS + T2_ITEMS, "organisation")
    t.eq((by[units["Los"]].get("shown"), by[units["Los"]].get("reason"), by[units["Los"]].get("respondents")),
         (False, "no_answers", 0), "a team without answers says so")
    t.eq(by[units["Noord"]].get("customer_nps"), {"n": None, "nps": None},
         "a team without customer answers has no customer NPS beside its eNPS")
    t.eq((by[units["Noord"]].get("comments"), by[units["Zuid"]].get("comments")), (True, True),
         "teams of 6 and 5 may show comments")
    st, _, c = srv.get("%s/%d/comments?%s" % (WAVES, wid, q(unit_id=units["Noord"])))
    t.eq((st, sorted(c.get("items", []))), (200, sorted(x for x in T1_COMMENTS if x)), "Noord's three comments")
    st, _, c = srv.get("%s/%d/comments?%s" % (WAVES, wid, q(unit_id=org)))
    t.eq(sorted(c.get("items", [])), sorted(x for x in T1_COMMENTS if x), "the organisation's comments: the same three")

    # who sees what
    lead = Client(srv, token(srv.db, "team_lead", unit=units["Zuid"]))
    manager = Client(srv, token(srv.db, "manager", unit=units["Service"]))
    emp = Client(srv, token(srv.db, "employee", emp=emps["Noord"][1]))
    for who, cl, want in [("director", director, {org, units["Service"], units["Noord"], units["Zuid"], units["Los"]}),
                          ("manager", manager, {units["Service"], units["Noord"], units["Zuid"], units["Los"]}),
                          ("team lead", lead, {units["Zuid"]}),
                          ("employee", emp, {org, units["Noord"]})]:
        st, _, r2 = cl.get("%s?%s" % (RESULTS, q(wave=wid)))
        t.eq((st, {u["unit_id"] for u in r2.get("units", [])}), (200, want), "%s sees %s" % (who, sorted(want)))
        if st == 200:
            same = all(u == by[u["unit_id"]] for u in r2["units"])
            t.check(same, "%s: every unit exactly as the admin's reply" % who)
    t.error(emp.get("%s?%s" % (RESULTS, q(wave=wid, unit_id=units["Zuid"]))), 403, field="unit_id",
            name="an employee asking for another team: 403 naming unit_id")
    t.error(lead.get("%s/%d/comments?%s" % (WAVES, wid, q(unit_id=units["Noord"]))), 403, field="unit_id",
            name="a team lead asking another team's comments: 403")
    t.error(emp.request("PUT", SETTINGS, {"enabled": True}), 403, name="an employee cannot change settings")
    t.error(director.request("PUT", SETTINGS, {"enabled": True}), 403, name="settings are the admins'")
    t.error(srv.get("%s?%s" % (RESULTS, q(wave=wid, team="x"))), 422, field="team", name="results: unknown parameter")
    t.error(srv.get("%s?%s" % (RESULTS, q(wave=999999))), 404, name="results of an unknown wave: 404")
    t.error(srv.get("%s?%s" % (RESULTS, q(**{"from": "2026-13"}))), 422, field="from", name="from must be a month")
    t.error(srv.get("%s?%s" % (WAVES, q(to="2026"))), 422, field="to", name="waves: to must be a month")
    t.eq(len(must(srv.get("%s?%s" % (WAVES, q(**{"from": "2026-12"}))), 200, "waves from")["items"]), 0,
         "waves from a later month: none")

    # closed: a link of the wave stops working
    st, _, body = srv.request("GET", urllib.parse.urlparse(link("Zuid", 4)).path)
    t.check(st == 409, "a used link stays 'already answered' after closing")

    # the schedule: on, every 28 days
    must(srv.request("PUT", SETTINGS, {"enabled": True}), 200, "pulse on")
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
    t.eq(len(must(srv.get(WAVES), 200, "waves")["items"]), 1, "no new wave before 28 days have passed")
    must(srv.post("/api/v1/admin/clock", {"now": ks.iso(ks.parse_iso(START) + 28 * DAY)}), 200, "clock +28 days")
    before = len(sink.mails())
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
    items = must(srv.get(WAVES), 200, "waves")["items"]
    t.eq([(i["period"], i["scheduled"], i["status"]) for i in items],
         [("2026-12", True, "open"), (PERIOD, False, "closed")], "28 days on, the scheduler opened December's wave")
    t.eq(len(sink.mails()) - before, 11, "and mailed its invitations (11 delivered, the bounce again refused)")
    st, _, rng = srv.get("%s?%s" % (RESULTS, q(**{"from": "2026-11", "to": "2026-12"})))
    t.eq((st, [x["wave"]["period"] for x in rng.get("waves", [])]), (200, ["2026-12", PERIOD]),
         "a range of months gives one result per wave, newest first")
    t.eq(srv.sql("SELECT count(*) FROM pulse_answers WHERE wave_id = ?", (items[0]["id"],)), [(0,)],
         "the new wave has no answers yet")
    # the first wave's link after a new one: closed page
    new_links = links(sink)
    st, _, body = srv.request("GET", urllib.parse.urlparse(new_links[[a for a in new_links if a.startswith("zuid.1.")][0]]).path)
    t.eq(st, 200, "a December link opens the form")
    must(srv.post("/api/v1/admin/clock", {"now": ks.iso(ks.parse_iso(START) + 36 * DAY)}), 200, "clock +36 days")
    must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
    st, _, body = srv.request("GET", urllib.parse.urlparse(new_links[[a for a in new_links if a.startswith("zuid.1.")][0]]).path)
    t.check(st == 410 and "gesloten" in body, "after open_days the link gives the 'closed' page (410)", ks.got(st, body))


def test_demo(t):
    """The demo: a year of monthly waves, 58-72% answering, eNPS per team
    varying, some teams hidden (and never one alone in a line)."""
    srv = ks.Server(t)
    try:
        rc, out, err = ks.run_cli(["demo", "--db", srv.db, "--scale", "2"], timeout=300)
        if not t.check(rc == 0 and ks.sanitizer_report(err) is None, "demo --scale 2 runs",
                       "exit %s\n%s" % (rc, err[-3000:])):
            return
        srv.start()
        waves = must(srv.get(WAVES), 200, "demo waves")["items"]
        periods = [w["period"] for w in waves]
        months = [int(p[:4]) * 12 + int(p[5:]) for p in periods]
        t.check(len(waves) == 12 and all(a - b == 1 for a, b in zip(months, months[1:])),
                "the demo holds 12 waves in 12 consecutive months", periods)
        rates = [w["answered"] / w["invited"] for w in waves]
        t.check(all(w["invited"] == 60 for w in waves), "each wave invites the demo's 60 employees")
        mean = sum(rates) / len(rates)
        t.check(0.58 <= mean <= 0.75 and min(rates) >= 0.45 and max(rates) <= 0.9,
                "about 60-75%% answer (mean %.2f)" % mean, rates)
        hidden_teams, values, bad = set(), set(), []
        for w in waves:
            r = must(srv.get("%s?%s" % (RESULTS, q(wave=w["id"]))), 200, "demo results")
            cells = {u["unit_id"]: u for u in r["units"]}
            for u in r["units"]:
                if u["level"] == "team":
                    if u["shown"]:
                        values.add(u["enps"]["value"])
                    elif u["reason"] != "no_answers":
                        hidden_teams.add(u["name"])
            for u in r["units"]:
                kids = [c for c in r["units"] if c["parent_id"] == u["unit_id"]]
                hid = [c for c in kids if not c["shown"] and c["reason"] != "no_answers"]
                if u["shown"] and kids and len(hid) == 1:
                    bad.append((w["period"], u["name"], hid[0]["name"]))
            t.check(all(not c["shown"] or c["respondents"] >= 5 for c in cells.values()),
                    "%s: every shown group has 5 or more respondents" % w["period"])
        # the customers' NPS beside each team is /metrics' own figure of that month
        last = [w for w in waves if w["status"] == "closed"][0]
        res = must(srv.get("%s?%s" % (RESULTS, q(wave=last["id"]))), 200, "demo results")
        met = must(srv.get("/api/v1/metrics?%s" % q(period=last["period"], group_by="team", measures="nps")), 200,
                   "metrics by team")
        want = {row["team"]["id"]: row.get("nps") for row in met.get("rows", [])}
        got = {u["unit_id"]: u["customer_nps"]["nps"] for u in res["units"] if u["level"] == "team"}
        t.eq({k: v for k, v in got.items() if v is not None}, {k: v for k, v in want.items() if v is not None and k in got},
             "each team's customer NPS is exactly /metrics' figure of the wave's month (%d teams shown)"
             % sum(1 for v in want.values() if v is not None))
        t.check(any(v is not None for v in got.values()), "some team has a customer NPS beside its eNPS")
        t.check(len(values) >= 5, "team eNPS varies (%d distinct values)" % len(values))
        # the governance series (part K) reads the pulse's own cells: a
        # team's eNPS of a month is the wave's figure, unrounded, or null
        # where the pulse hides it
        first, lastp = waves[-1]["period"], waves[0]["period"]
        ser = must(srv.get("/api/v1/kpi-series?%s" % q(kpi="enps", level="team", **{"from": first, "to": lastp})),
                   200, "kpi-series enps")
        mism = []
        for w in waves:
            r = must(srv.get("%s?%s" % (RESULTS, q(wave=w["id"]))), 200, "demo results")
            col = ser["periods"].index(w["period"])
            for u in r["units"]:
                if u["level"] != "team":
                    continue
                row = [x for x in ser["units"] if x["unit_id"] == u["unit_id"]][0]
                v = row["values"][col]
                if u["shown"] != (v is not None) or (v is not None and abs(v - u["enps"]["value"]) > 0.05 + 1e-9):
                    mism.append((w["period"], u["name"], u["shown"], v))
        t.eq(mism, [], "kpi-series enps per team x month = the pulse's shown eNPS, null where the pulse hides it")
        t.check(len(hidden_teams) >= 1, "some teams are small enough to be hidden", sorted(hidden_teams))
        t.eq(bad, [], "no line of any demo wave holds exactly one hidden team")
    finally:
        try:
            srv.stop()
        finally:
            srv.cleanup()


def test_schedule_local(t):
    """M2: the scheduler opens a wave at 09:00 on the organisation's clock
    (Europe/Amsterdam), counting the cadence in local days, so summer time
    does not shift it by an hour; never a second open wave."""
    with server(t, clock="2027-03-20T07:30:00Z") as (srv, sink):
        tree(srv, {"Dienst": {"Een": 3}}, ks.uniq("tz"))
        must(srv.request("PUT", SETTINGS, {"enabled": True, "cadence_days": 28}), 200, "pulse on, every 28 days")

        def at(iso):
            must(srv.post("/api/v1/admin/clock", {"now": iso}), 200, "clock " + iso)
            must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
            return [(w["opened_at"], w["status"]) for w in must(srv.get(WAVES), 200, "waves")["items"]]
        t.eq(at("2027-03-20T07:30:00Z"), [], "08:30 in Amsterdam (winter time): no wave yet")
        t.eq(at("2027-03-20T08:00:00Z"), [("2027-03-20T08:00:00Z", "open")], "09:00 in Amsterdam: the wave opens")
        t.eq(at("2027-03-20T09:00:00Z"), [("2027-03-20T08:00:00Z", "open")], "an hour later: still one wave")
        t.eq(at("2027-04-17T06:30:00Z"), [("2027-03-20T08:00:00Z", "closed")],
             "28 days on, 08:30 in Amsterdam (summer time): the old wave closed, no new one yet")
        t.eq(srv.sql("SELECT finalised, (SELECT count(*) FROM pulse_cells c WHERE c.wave_id = w.id) > 0"
                     " FROM pulse_waves w"), [(1, 1)],
             "the scheduler's close wrote the wave's results at once (pulse_cells)")
        t.eq(at("2027-04-17T07:00:00Z")[0], ("2027-04-17T07:00:00Z", "open"),
             "09:00 summer time (07:00 UTC, 28 x 24 h minus the DST hour): the next wave opens")
        t.error(srv.post(WAVES, {}), 409, name="send now while it is open: 409")
        t.eq(len(at("2027-05-20T08:00:00Z")), 3, "a month on: the open one closed, the next one opened")
        # the mail's closing date is the organisation's: a wave sent at 00:30
        # in Amsterdam (22:30 UTC the day before) closes on the local date
        # 7 days on, a day after its UTC date
        for w in must(srv.get(WAVES), 200, "waves")["items"]:
            if w["status"] == "open":
                must(srv.post("%s/%d/close" % (WAVES, w["id"])), 200, "close")
        must(srv.post("/api/v1/admin/clock", {"now": "2027-05-25T22:30:00Z"}), 200, "clock 00:30 local")
        n_before = len(sink.mails())
        w = must(srv.post(WAVES, {}), 201, "send now")
        t.eq(w["closes_at"], "2027-06-01T22:30:00Z", "it closes 7 days on (UTC)")
        must(srv.post("/api/v1/admin/scheduler/run"), 200, "scheduler run")
        new = sink.mails()[n_before:]
        t.check(len(new) == 3 and all("2027-06-02" in m.text and "2027-06-01" not in m.text for m in new),
                "the mails say it is open until 2027-06-02, the local date (not the UTC 2027-06-01)",
                [m.text[:400] for m in new[:1]])


def main_all(t):
    main(t)
    test_schedule_local(t)
    test_demo(t)


if __name__ == "__main__":
    ks.run(main_all, start_server=False)
