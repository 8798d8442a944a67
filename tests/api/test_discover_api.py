#!/usr/bin/python3
"""Theme discovery (issue 14; docs/API.md "Theme discovery", docs/TEXT.md
"Theme discovery"): GET /api/v1/themes/discover finds a new recurring
complaint ("de parkeerplaats was vol") in the answers without a theme,
says it is rising against the previous period with the exact conditional
test (its p-value computed here from the binomial tail), shows the newest
three answers as examples under the organisation's verbatim_detail, keeps
a manager to their unit, leaves out answers that match a theme, and stops
offering the phrase once it is added to the taxonomy (POST
/api/v1/text/taxonomy/themes) and the answers are analysed again; bad
parameters are 422 naming the field.

The period is November 2026 (from/to given as UTC times), so the previous
period is the 30 days before it. Every answer's themes are checked in the
database first: the counts below rely on which answers have none."""

import math
import os
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import test_dashboard  # noqa: E402

PASSWORD = "discover-pw-1234"
FROM, TO = "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"
PREV_FROM = "2026-10-02T00:00:00Z"
PERIOD = "from=%s&to=%s" % (urllib.parse.quote(FROM), urllib.parse.quote(TO))

# this period, the team (newest last): the new complaint, five times
PARKING = ["Helaas: de parkeerplaats was vol", "De parkeerplaats was vol, zonde",
           "De parkeerplaats was vol.", "de parkeerplaats was vol", "De parkeerplaats was vol!"]
# three more in a team of another department (older: never the examples)
PARKING_OTHER = ["de parkeerplaats was vol", "De parkeerplaats was vol.", "Ach, de parkeerplaats was vol"]
# a recurring phrase in answers with a theme (waiting_time): never offered
THEMED = ["De koffieautomaat was kapot en ik moest lang wachten"] * 5
FILLER_NOW = ["Het gebouw is mooi", "Ik had een rode jas aan", "Mijn hond was mee"]
FILLER_PREV = ["Een leuke ervaring", "De lift deed het niet", "Mijn buurman raadde jullie aan",
               "Het regende buiten", "Ik kom graag terug", "De bloemen in de hal waren mooi",
               "Het was druk in de stad", "Wij wonen in Zwolle"]
ENGLISH = ["The car park was full", "the car park was full!", "The car park was full, sadly"]
EXAMPLE_KEYS_BAND = {"response_id", "text", "band", "language", "received_at", "employee"}


def rise_p(x, n, y, m):
    """P(X >= x), X ~ Bin(x + y, n / (n + m)): the exact conditional test
    of two Poisson rates, written out here."""
    t, q = x + y, n / (n + m)
    return sum(math.comb(t, k) * q ** k * (1 - q) ** (t - k) for k in range(x, t + 1))


def post(srv, f, team, emp, lang, text, nps, when):
    body = {"touchpoint_id": f["tp1"]["id"], "team_id": team, "channel": "phone", "language": lang,
            "received_at": when, "answers": {"nps": nps, "grade": 7, "open": text}}
    if emp:
        body["employee_id"] = emp
    st, _, r = srv.post("/api/v1/responses", body)
    if st != 201:
        raise ks.FixtureError("POST /api/v1/responses -> %s" % ks.got(st, r))
    return r["id"]


def fixture(srv):
    f = ks.base_fixture(srv)
    other_dept = srv.create("teams", {"name": "Andere afdeling " + ks.uniq("d"), "kind": "department",
                                      "parent_id": f["org"]["id"]})
    f["team2"] = srv.create("teams", {"name": "Team Zuid " + ks.uniq("t"), "kind": "team",
                                      "parent_id": other_dept["id"]})
    team, team2, emp = f["team"]["id"], f["team2"]["id"], f["emp1"]["id"]
    ids = {"parking": [], "parking_other": [], "themed": [], "filler": [], "prev": [], "english": []}
    # this period; the team's parking answers are the newest (Nov 20..24)
    for i, text in enumerate(PARKING_OTHER):
        ids["parking_other"].append(post(srv, f, team2, None, "nl", text, 4, "2026-11-0%dT09:00:00Z" % (5 + i)))
    for i, text in enumerate(THEMED):
        ids["themed"].append(post(srv, f, team, emp, "nl", text, 5, "2026-11-1%dT09:00:00Z" % i))
    for i, text in enumerate(FILLER_NOW):
        ids["filler"].append(post(srv, f, team, emp, "nl", text, 8, "2026-11-1%dT12:00:00Z" % (5 + i)))
    for i, text in enumerate(ENGLISH):
        ids["english"].append(post(srv, f, team, emp, "en", text, 6, "2026-11-1%dT15:00:00Z" % (5 + i)))
    for i, text in enumerate(PARKING):
        ids["parking"].append(post(srv, f, team, emp, "nl", text, 3 + i, "2026-11-2%dT09:00:00Z" % i))
    # the previous period: none of the phrase
    for i, text in enumerate(FILLER_PREV):
        ids["prev"].append(post(srv, f, team, emp, "nl", text, 9, "2026-10-1%dT09:00:00Z" % i))
    # outside both periods: never counted
    post(srv, f, team, emp, "nl", "De parkeerplaats was vol", 2, "2026-09-01T09:00:00Z")
    post(srv, f, team, emp, "nl", "De parkeerplaats was vol", 2, "2026-12-02T09:00:00Z")
    return f, ids


def themed_ids(srv):
    return {r[0] for r in srv.sql("SELECT DISTINCT response_id FROM text_themes")}


def analysed(srv):
    return {r[0]: r[1] for r in srv.sql("SELECT response_id, language FROM text_analysis")}


def make_user(srv, role, unit_id=None):
    email = "%s@discover.test" % ks.uniq(role)
    body = {"email": email, "name": role.title(), "role": role, "password": PASSWORD}
    if unit_id:
        body["unit_id"] = unit_id
    st, _, u = srv.post("/api/v1/users", body)
    if st != 201:
        raise ks.FixtureError("POST /api/v1/users -> %s" % ks.got(st, u))
    return test_dashboard.Session(srv, email, PASSWORD)


def phrase(body, stems):
    for p in body.get("phrases", []) if isinstance(body, dict) else []:
        if p.get("stems") == stems:
            return p
    return None


def check_preconditions(t, srv, ids):
    themed, langs = themed_ids(srv), analysed(srv)
    plain = ids["parking"] + ids["parking_other"] + ids["filler"] + ids["prev"] + ids["english"]
    t.check(all(i in langs for i in plain + ids["themed"]), "precondition: every answer is analysed",
            ks.short(langs))
    t.eq(sorted(i for i in plain if i in themed), [], "precondition: the phrase and filler answers carry no theme")
    t.eq(sorted(i for i in ids["themed"] if i in themed), sorted(ids["themed"]),
         "precondition: the coffee machine answers carry a theme (waiting_time)")
    t.eq([langs.get(i) for i in ids["english"]], ["en"] * 3, "precondition: the English answers are analysed as en")
    t.eq({langs.get(i) for i in ids["parking"] + ids["parking_other"] + ids["filler"] + ids["prev"]}, {"nl"},
         "precondition: the Dutch answers are analysed as nl")


def check_admin(t, srv, f, ids):
    st, _, body = srv.get("/api/v1/themes/discover?" + PERIOD)
    if not t.status((st, None, body), 200, "admin: GET /themes/discover -> 200"):
        return
    t.eq((body.get("from"), body.get("to"), body.get("previous"), body.get("language")),
         (FROM, TO, {"from": PREV_FROM, "to": FROM}, None), "admin: the period and the previous one")
    # nl: 5 + 3 phrase answers and 3 fillers this period, 8 fillers before;
    # en: 3 this period, none before
    t.eq((body.get("answers_without_theme"), body.get("answers_previous")), (14, 8),
         "admin: 14 answers without a theme this period (11 nl, 3 en), 8 the period before")
    t.eq([(p.get("phrase"), p.get("stems"), p.get("language"), p.get("n"), p.get("n_previous"))
          for p in body.get("phrases", [])],
         [("parkeerplaats was vol", "parkeerplat was vol", "nl", 8, 0),
          ("car park", "car park", "en", 3, 0),
          ("park was full", "park was full", "en", 3, 0)],
         "admin: the phrase (not its parts), then the English ones, n descending then phrase")
    p = phrase(body, "parkeerplat was vol")
    if not p:
        return
    want_p = rise_p(8, 11, 0, 8)  # (11/19)^8 = 0.0126
    t.check(p.get("rising") is True and p.get("growth") is None,
            "admin: rising (8 of 11 against 0 of 8), growth null (none before)", ks.short(p))
    t.near(p.get("p_value"), want_p, 1e-9, "admin: p = (11/19)^8")
    t.eq([e.get("response_id") for e in p.get("examples", [])], ids["parking"][::-1][:3],
         "admin: the newest three answers as examples")
    t.eq([e.get("text") for e in p.get("examples", [])], PARKING[::-1][:3], "admin: the examples' texts as typed")
    ex = p.get("examples", [])
    t.check(ex and all(set(e) == EXAMPLE_KEYS_BAND for e in ex) and
            all(e.get("employee") == {"id": f["emp1"]["id"], "name": "Sanne de Vries"} for e in ex) and
            [e.get("band") for e in ex] == ["passive", "detractor", "detractor"],
            "admin, verbatim_detail band (default): examples with employee and band, no nps or grade", ks.short(ex))
    en = phrase(body, "car park")
    t.check(en is not None and en.get("rising") is False and en.get("p_value") is None and en.get("growth") is None,
            "admin: an English phrase with no English answers before has no verdict", ks.short(en))
    t.check(phrase(body, "koffieautomat") is None and all("koffie" not in q.get("stems", "")
                                                          for q in body.get("phrases", [])),
            "admin: the coffee machine answers match a theme: not offered", ks.short(body.get("phrases")))
    # languages
    st, _, nl = srv.get("/api/v1/themes/discover?%s&language=nl" % PERIOD)
    t.eq((st, nl.get("language"), nl.get("answers_without_theme"), [q.get("stems") for q in nl.get("phrases", [])]),
         (200, "nl", 11, ["parkeerplat was vol"]), "language=nl: the Dutch answers only")
    st, _, en_body = srv.get("/api/v1/themes/discover?%s&language=en&limit=1" % PERIOD)
    t.eq((st, en_body.get("answers_without_theme"), [q.get("stems") for q in en_body.get("phrases", [])]),
         (200, 3, ["car park"]), "language=en&limit=1: the first English phrase")


def check_detail(t, srv):
    for value, keys in (("anonymous", EXAMPLE_KEYS_BAND - {"employee"}),
                        ("exact", EXAMPLE_KEYS_BAND | {"nps", "grade"})):
        st, _, b = srv.request("PUT", "/api/v1/settings", {"verbatim_detail": value})
        if not t.status((st, None, b), 200, "settings: verbatim_detail %s" % value):
            continue
        st, _, body = srv.get("/api/v1/themes/discover?" + PERIOD)
        p = phrase(body, "parkeerplat was vol") if st == 200 else None
        ex = p.get("examples", []) if p else []
        t.check(len(ex) == 3 and all(set(e) == keys for e in ex), "%s: the examples have %s"
                % (value, sorted(keys)), ks.short(ex))
        if value == "exact":
            t.eq([(e.get("nps"), e.get("grade")) for e in ex], [(7, 7), (6, 7), (5, 7)],
                 "exact: the examples' scores as posted")
    srv.request("PUT", "/api/v1/settings", {"verbatim_detail": "band"})


def check_roles(t, srv, f):
    mgr = make_user(srv, "manager", f["dept"]["id"])
    st, _, body = mgr.get("/api/v1/themes/discover?" + PERIOD)
    t.status((st, None, body), 200, "manager: 200")
    # the manager's department: 5 phrase answers and 3 fillers (nl), 3 en
    t.eq(body.get("answers_without_theme"), 11, "manager: only their department's answers (8 nl, 3 en)")
    p = phrase(body, "parkeerplat was vol")
    t.eq((p or {}).get("n"), 5, "manager: the phrase in 5 of their answers")
    t.check(p is not None and p.get("rising") is True, "manager: rising (5 of 8 against 0 of 8)", ks.short(p))
    t.near((p or {}).get("p_value"), rise_p(5, 8, 0, 8), 1e-9, "manager: p = 0.5^5 = 0.03125")
    director = make_user(srv, "director")
    st, _, body = director.get("/api/v1/themes/discover?" + PERIOD)
    t.eq((st, (phrase(body, "parkeerplat was vol") or {}).get("n")), (200, 8), "director: every unit (n 8)")
    lead = make_user(srv, "team_lead", f["team"]["id"])
    t.error(lead.get("/api/v1/themes/discover"), 403, "forbidden", None, "team lead: 403")


def check_errors(t, srv):
    base = "/api/v1/themes/discover?"
    t.error(srv.get(base + "from=gisteren"), 422, None, "from", "from=gisteren -> 422 field from")
    t.error(srv.get(base + "to=2026-13-45"), 422, None, "to", "to=2026-13-45 -> 422 field to")
    t.error(srv.get(base + "from=2026-11-02&to=2026-11-01"), 422, None, "to", "to before from -> 422 field to")
    t.error(srv.get(base + "from=2024-01-01&to=2026-01-01"), 422, "out_of_range", "from",
            "two years -> 422 field from (at most 366 days)")
    t.error(srv.get(base + "from=2030-01-01"), 422, "out_of_range", "from",
            "from after now without to -> 422 field from")
    for v in ("de", "NL", ""):
        t.error(srv.get(base + "language=" + v), 422, "invalid", "language", "language=%r -> 422" % v)
    for v in ("0", "51", "abc", "-1", ""):
        t.error(srv.get(base + "limit=" + v), 422, "out_of_range", "limit", "limit=%r -> 422" % v)
    t.error(srv.get(base + "team_id=1"), 422, None, "team_id", "an unknown parameter -> 422 naming it")


def wait_reanalysis(srv, timeout=60.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        st, _, last = srv.get("/api/v1/text/reanalyze")
        if st == 200 and last.get("running") is False and last.get("finished_at"):
            return last
        time.sleep(0.2)
    raise ks.FixtureError("reanalysis did not finish: %s" % ks.short(last))


def check_add_theme(t, srv, ids):
    theme = {"id": "parking", "label": {"nl": "Parkeren", "en": "Parking"},
             "terms": {"nl": ["parkeerplaats was vol"], "en": ["car park"]}}
    st, _, body = srv.post("/api/v1/text/taxonomy/themes", theme)
    if not t.status((st, None, body), 201, "POST /text/taxonomy/themes with the discovered phrase -> 201"):
        return
    wait_reanalysis(srv)
    themed = themed_ids(srv)
    t.eq(sorted(i for i in ids["parking"] + ids["parking_other"] + ids["english"] if i not in themed), [],
         "after reanalysis: the phrase's answers carry a theme")
    st, _, body = srv.get("/api/v1/themes/discover?" + PERIOD)
    t.eq((st, body.get("answers_without_theme"), body.get("phrases")), (200, 3, []),
         "after reanalysis: only the 3 fillers are without a theme; nothing is offered")


def main(t, srv):
    f, ids = fixture(srv)
    check_preconditions(t, srv, ids)
    check_admin(t, srv, f, ids)
    check_detail(t, srv)
    check_roles(t, srv, f)
    check_errors(t, srv)
    check_add_theme(t, srv, ids)
    srv.stop()
    srv.check_sanitizer()


if __name__ == "__main__":
    ks.run(main)
