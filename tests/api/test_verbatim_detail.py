#!/usr/bin/python3
"""What a reader sees of other people's open answers (docs/PRIVACY.md
section 5, docs/API.md "Organisation settings"): the organisation's setting
verbatim_detail — exact, band (the default) or anonymous — on every route
that prints open answers (GET /api/v1/verbatims, /teams/{id}/wall,
/me/dashboard), for every role; the reader's own answers always exact;
GET|PUT /api/v1/settings with its refusals; the setting survives a restart.

A small organisation of its own: a department with two teams, six
employees (one the employee account's, one a colleague, and one each
linked to the team lead's, manager's, director's and admin's accounts),
open answers in every band, one without an NPS and some tied to no one.
Every expected item is built here from what was posted."""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import test_dashboard  # noqa: E402

PASSWORD = "verbatim-detail-pw"
FULL = {"response_id", "text", "nps", "grade", "band", "language", "received_at", "touchpoint", "team", "employee"}
BAND = FULL - {"nps", "grade"}
ANON = BAND - {"employee"}
DETAILS = ("exact", "band", "anonymous")


class TokenAdmin:
    """The test admin's API token: an admin without an employee record."""

    def __init__(self, srv):
        self.srv = srv
        st, _, body = srv.get("/api/v1/auth/me")
        if st != 200:
            raise ks.FixtureError("GET /auth/me with the admin token -> %s %s" % (st, ks.short(body)))
        self.user = body["user"]

    def get(self, path):
        return self.srv.get(path)

    def put(self, path, body, csrf=True):
        return self.srv.request("PUT", path, body)


def band_of(nps):
    if nps is None:
        return None
    return "promoter" if nps >= 9 else "passive" if nps >= 7 else "detractor"


# ---------------------------------------------------------------------------
# the organisation


def fixture(srv):
    tag = ks.uniq("vd")
    f = {"tag": tag}
    org = srv.create("teams", {"name": "Org " + tag, "kind": "organisation"})
    dept = srv.create("teams", {"name": "Afdeling " + tag, "kind": "department", "parent_id": org["id"]})
    f["dept"] = dept["id"]
    f["teams"] = {}
    for key in ("A", "B"):
        row = srv.create("teams", {"name": "Team %s %s" % (key, tag), "kind": "team", "parent_id": dept["id"]})
        f["teams"][key] = (row["id"], row["name"])
    f["team_of"] = {}  # unit id -> name
    for tid, name in f["teams"].values():
        f["team_of"][tid] = name
    # employees: who -> (id, name, team key)
    people = (("emp", "Eva", "A"), ("col", "Cas", "A"), ("lead", "Lotte", "A"),
              ("mgr", "Milan", "B"), ("dir", "Daan", "B"), ("adm", "Anna", "B"))
    f["emp"] = {}
    for who, first, team in people:
        row = srv.create("employees", {"team_id": f["teams"][team][0], "first_name": first,
                                       "last_name": "Proef", "external_id": "%s-%s" % (who, tag)})
        f["emp"][who] = (row["id"], first + " Proef", team)
    survey = srv.create("surveys", {"name": "Na contact " + tag, "questions": ks.survey_questions()})
    journey = srv.create("journeys", {"name": "Reis " + tag})
    tp = srv.create("touchpoints", {"journey_id": journey["id"], "name": "Telefoon " + tag, "position": 1,
                                    "survey_id": survey["id"]})
    f["tp"] = (tp["id"], tp["name"])
    cust = srv.create("customers", {"external_id": "C-" + tag, "name": "Klant", "language": "nl"})
    f["cust"] = cust["id"]
    return f


def post_answers(srv, f):
    """Open answers in every band for every employee; in team A also one
    without an NPS and two tied to no one. Returns the rows posted,
    newest (highest id) first: dicts with id, text, nps, grade, emp, team."""
    plan = []
    for who, (eid, _, team) in sorted(f["emp"].items()):
        for i, (nps, grade) in enumerate(((10, 9), (9, 8), (8, 7), (5, 6), (2, 3))):
            plan.append((eid, team, nps, grade, "antwoord %s %d over %s" % (f["tag"], i, who)))
    plan.append((f["emp"]["col"][0], "A", None, 6, "alleen een cijfer, over col"))
    plan.append((None, "A", 10, 9, "niet gekoppeld, blij"))
    plan.append((None, "A", 1, 2, "niet gekoppeld, boos"))
    rows = []
    for eid, team, nps, grade, text in plan:
        answers = {"grade": grade, "open": text}
        if nps is not None:
            answers["nps"] = nps
        body = {"client_key": ks.uniq("vd"), "team_id": f["teams"][team][0], "touchpoint_id": f["tp"][0],
                "customer_id": f["cust"], "channel": "phone", "language": "nl", "answers": answers}
        if eid:
            body["employee_id"] = eid
        r = srv.create("responses", body)
        rows.append({"id": r["id"], "text": text, "nps": nps, "grade": grade, "emp": eid,
                     "team": f["teams"][team][0]})
    rows.sort(key=lambda r: -r["id"])
    return rows


def make_user(srv, role, employee_id=None, unit_id=None):
    email = "%s@detail.test" % ks.uniq(role)
    body = {"email": email, "name": role.title(), "role": role, "password": PASSWORD}
    if employee_id:
        body["employee_id"] = employee_id
    if unit_id:
        body["unit_id"] = unit_id
    st, _, u = srv.post("/api/v1/users", body)
    if st != 201:
        raise ks.FixtureError("POST /api/v1/users %s -> %s %s" % (ks.short(body), st, ks.short(u)))
    return email


# ---------------------------------------------------------------------------
# what an item must be


def expected_item(f, row, reader_emp, detail, hide_colleague=False):
    """The item exactly as the reader must see it (received_at aside).
    hide_colleague: the Wall of Shame read by an employee (a colleague's
    name is left out, employee null)."""
    own = reader_emp is not None and row["emp"] == reader_emp
    keys = FULL if own or detail == "exact" else BAND if detail == "band" else ANON
    names = {eid: name for eid, name, _ in f["emp"].values()}
    item = {"response_id": row["id"], "text": row["text"], "band": band_of(row["nps"]), "language": "nl",
            "touchpoint": {"id": f["tp"][0], "name": f["tp"][1]},
            "team": {"id": row["team"], "name": f["team_of"][row["team"]]}}
    if "nps" in keys:
        item["nps"] = row["nps"]
        item["grade"] = row["grade"]
    if "employee" in keys:
        if row["emp"] is None or (hide_colleague and not own):
            item["employee"] = None
        else:
            item["employee"] = {"id": row["emp"], "name": names[row["emp"]]}
    return item


def item_problems(f, items, rows, reader_emp, detail, hide_colleague=False, explorer=False):
    """Every difference between the items and what the reader must see,
    in the order given by rows. explorer: the verbatim explorer's items also
    carry "analysis" (issue 14: an object or null, whatever the detail)."""
    probs = []
    if explorer:
        for it in items:
            an = it.get("analysis", "missing")
            if not (an is None or (isinstance(an, dict) and set(an) == {"language", "sentiment", "themes"})):
                probs.append("item %s: analysis %r" % (it.get("response_id"), an))
            if it.get("source") != "survey":  # issue 16 H3: every explorer item names its source
                probs.append("item %s: source %r" % (it.get("response_id"), it.get("source")))
        items = [{k: v for k, v in it.items() if k not in ("analysis", "source")} for it in items]
    got_ids = [it.get("response_id") for it in items]
    want_ids = [r["id"] for r in rows]
    if got_ids != want_ids:
        probs.append("ids %s, expected %s" % (got_ids, want_ids))
        return probs
    for it, row in zip(items, rows):
        want = expected_item(f, row, reader_emp, detail, hide_colleague)
        got = {k: v for k, v in it.items() if k != "received_at"}
        if "received_at" not in it or not ks.iso_ok(it["received_at"]):
            probs.append("item %d: received_at %r" % (row["id"], it.get("received_at")))
        if got != want:
            probs.append("item %d: members %s\n    got  %s\n    want %s"
                         % (row["id"], sorted(it), ks.short(got, 300), ks.short(want, 300)))
    return probs


def in_scope(f, rows, role, reader_emp):
    """The rows a role reads in the explorer (its default scope)."""
    if role == "employee":
        return [r for r in rows if r["emp"] == reader_emp]
    if role == "team_lead":
        return [r for r in rows if r["team"] == f["teams"]["A"][0]]
    return list(rows)  # manager (the department holds both teams), director, admin


# ---------------------------------------------------------------------------
# the checks per setting


def check_routes(t, f, rows, readers, detail):
    team_a = f["teams"]["A"][0]
    for name, (reader, role) in readers.items():
        emp = reader.user.get("employee_id")
        # the verbatim explorer
        st, _, body = reader.get("/api/v1/verbatims?limit=500")
        items = body.get("items", []) if st == 200 and isinstance(body, dict) else []
        probs = item_problems(f, items, in_scope(f, rows, role, emp), emp, detail, explorer=True) \
            if st == 200 else [ks.got(st, body)]
        t.check(not probs, "%s, %s: /verbatims — own answers exact, others %s" % (detail, name, detail),
                "\n".join(probs[:6]))
        # the walls of team A (every reader here may read them)
        for kind, ok in (("fame", lambda n: n is not None and n >= 9), ("shame", lambda n: n is not None and n <= 6)):
            want = [r for r in rows if r["team"] == team_a and ok(r["nps"])][:20]
            st, _, body = reader.get("/api/v1/teams/%d/wall?kind=%s" % (team_a, kind))
            items = body.get("items", []) if st == 200 and isinstance(body, dict) else []
            hide = kind == "shame" and role == "employee"
            probs = item_problems(f, items, want, emp, detail, hide) if st == 200 else [ks.got(st, body)]
            t.check(not probs and want, "%s, %s: Wall of %s — own answers exact, others %s%s"
                    % (detail, name, kind.title(), detail, " (colleagues unnamed)" if hide else ""),
                    "\n".join(probs[:6]))
        # the personal dashboard: only the reader's own answers, always exact
        st, _, d = reader.get("/api/v1/me/dashboard")
        mine = [r for r in rows if emp and r["emp"] == emp]
        promo = [r for r in mine if r["nps"] is not None and r["nps"] >= 9]
        probs = [ks.got(st, d)] if st != 200 else (
            item_problems(f, d.get("verbatims", []), mine[:10], emp, detail)
            + item_problems(f, d.get("compliments", []), promo[:10], emp, detail))
        t.check(not probs and (bool(mine) == bool(emp)),
                "%s, %s: /me/dashboard verbatims and compliments are the own answers, exact (%d)"
                % (detail, name, len(mine)), "\n".join(probs[:6]))


def check_anonymous_filter(t, f, rows, readers):
    """Anonymous: no filter on someone else's employee_id (it would name
    them); one's own stays allowed."""
    col = f["emp"]["col"][0]
    lead, _ = readers["team lead"]
    t.error(lead.get("/api/v1/verbatims?employee_id=%d" % col), 403, "forbidden", "employee_id",
            "anonymous: a team lead filtering on a colleague's employee_id -> 403 employee_id")
    admin, _ = readers["admin (token)"]
    t.error(admin.get("/api/v1/verbatims?employee_id=%d" % col), 403, "forbidden", "employee_id",
            "anonymous: an admin filtering on an employee_id -> 403 employee_id")
    own = lead.user["employee_id"]
    st, _, body = lead.get("/api/v1/verbatims?employee_id=%d&limit=500" % own)
    probs = item_problems(f, body.get("items", []), [r for r in rows if r["emp"] == own], own, "anonymous",
                          explorer=True) if st == 200 else [ks.got(st, body)]
    t.check(not probs, "anonymous: a team lead's filter on their own employee_id -> their answers, exact",
            "\n".join(probs[:4]))
    st, _, body = lead.get("/api/v1/verbatims?band=detractor&limit=500")
    want = [r for r in rows if r["team"] == f["teams"]["A"][0] and band_of(r["nps"]) == "detractor"]
    probs = item_problems(f, body.get("items", []), want, own, "anonymous", explorer=True) \
        if st == 200 else [ks.got(st, body)]
    t.check(not probs, "anonymous: the band filter stays (band=detractor)", "\n".join(probs[:4]))


# the organisation's voice shares the settings (issue 13, test_survey_page.py)
VOICE_DEFAULT = {"form_of_address": "je", "organisation_name": "", "logo_url": None}
SETTINGS_KEYS = {"verbatim_detail", "updated_at"} | set(VOICE_DEFAULT)


def put_setting(t, admin, value, name):
    st, _, body = admin.put("/api/v1/settings", {"verbatim_detail": value})
    return t.check(st == 200 and isinstance(body, dict) and set(body) == SETTINGS_KEYS
                   and body["verbatim_detail"] == value and ks.iso_ok(body.get("updated_at")),
                   name, ks.got(st, body))


def check_settings_api(t, srv, readers, admin2):
    for name, (reader, _) in readers.items():
        st, _, body = reader.get("/api/v1/settings")
        t.eq((st, body), (200, dict(VOICE_DEFAULT, verbatim_detail="band", updated_at=None)),
             "settings: GET as %s -> the default, band (never set)" % name)
    for name in ("director", "manager", "team lead", "employee"):
        reader, _ = readers[name]
        t.error(reader.put("/api/v1/settings", {"verbatim_detail": "exact"}), 403, "forbidden", None,
                "settings: PUT as %s -> 403" % name)
    t.error(admin2.put("/api/v1/settings", {"verbatim_detail": "exact"}, csrf=False), 403, "forbidden",
            "X-CSRF-Token", "settings: an admin's PUT with the session cookie but without the CSRF token -> 403")
    admin = readers["admin (token)"][0]
    for body, field, what in (({"verbatim_detail": "exacte"}, "verbatim_detail", "an unknown value"),
                              ({"verbatim_detail": "EXACT"}, "verbatim_detail", "a value in capitals"),
                              ({"verbatim_detail": 1}, "verbatim_detail", "a number"),
                              ({"verbatim_detail": None}, "verbatim_detail", "null"),
                              ({}, "verbatim_detail", "no verbatim_detail"),
                              ({"verbatim_detail": "exact", "show_scores": True}, "show_scores", "an unknown field")):
        t.error(admin.put("/api/v1/settings", body), 422, "invalid", field,
                "settings: PUT with %s -> 422 naming %s" % (what, field))
    t.error(admin.put("/api/v1/settings", ["exact"]), 400, None, None, "settings: PUT of a JSON array -> 400")
    t.error(admin.get("/api/v1/settings?verbatim_detail=exact"), 422, "invalid", "verbatim_detail",
            "settings: GET with a parameter -> 422 naming it")
    st, _, body = readers["employee"][0].get("/api/v1/settings")
    t.eq((st, body), (200, dict(VOICE_DEFAULT, verbatim_detail="band", updated_at=None)), "settings: refused PUTs changed nothing")
    t.eq(srv.sql("SELECT count(*) FROM org_settings")[0][0], 0, "settings: no row is stored until an admin sets it")


def main(t, srv):
    hz = srv.get("/healthz")[2]
    t.check(isinstance(hz, dict) and hz.get("schema_version", 0) >= 9, "schema version includes migration 009",
            ks.short(hz))
    f = fixture(srv)
    rows = post_answers(srv, f)
    emails = {
        "admin": make_user(srv, "admin", employee_id=f["emp"]["adm"][0]),
        "director": make_user(srv, "director", employee_id=f["emp"]["dir"][0]),
        "manager": make_user(srv, "manager", employee_id=f["emp"]["mgr"][0], unit_id=f["dept"]),
        "team lead": make_user(srv, "team_lead", employee_id=f["emp"]["lead"][0], unit_id=f["teams"]["A"][0]),
        "employee": make_user(srv, "employee", employee_id=f["emp"]["emp"][0]),
    }
    roles = {"admin": "admin", "director": "director", "manager": "manager", "team lead": "team_lead",
             "employee": "employee"}

    def login_all():
        readers = {name: (test_dashboard.Session(srv, email, PASSWORD), roles[name]) for name, email in emails.items()}
        readers["admin (token)"] = (TokenAdmin(srv), "admin")
        return readers

    readers = login_all()
    check_settings_api(t, srv, readers, readers["admin"][0])
    # the default is band
    check_routes(t, f, rows, readers, "band")
    admin_id = readers["admin"][0].user["id"]
    for value in DETAILS:
        if put_setting(t, readers["admin"][0], value, "settings: the admin sets %s -> 200" % value):
            st, _, body = readers["employee"][0].get("/api/v1/settings")
            t.check(st == 200 and body.get("verbatim_detail") == value,
                    "settings: every role reads the new value (%s)" % value, ks.got(st, body))
            t.eq(srv.sql("SELECT verbatim_detail, updated_by FROM org_settings"), [(value, admin_id)],
                 "settings: one row holds %s and the admin who set it" % value)
            check_routes(t, f, rows, readers, value)
    check_anonymous_filter(t, f, rows, readers)
    # exact through the API token too, then anonymous across a restart
    put_setting(t, readers["admin (token)"][0], "exact", "settings: an admin's API token sets exact -> 200")
    st, _, body = readers["admin (token)"][0].get("/api/v1/verbatims?employee_id=%d&limit=500" % f["emp"]["col"][0])
    t.check(st == 200 and all(set(it) == FULL | {"analysis", "source"} for it in body.get("items", [])) and body.get("items"),
            "exact: the employee_id filter and exact items are back", ks.got(st, body))
    put_setting(t, readers["admin"][0], "anonymous", "settings: back to anonymous before the restart")
    before = readers["admin"][0].get("/api/v1/settings")[2]
    srv.stop()
    srv.start()
    readers = login_all()
    st, _, after = readers["employee"][0].get("/api/v1/settings")
    t.eq((st, after), (200, before), "restart: the setting and its time survive a restart (anonymous)")
    check_routes(t, f, rows, readers, "anonymous")


if __name__ == "__main__":
    ks.run(main)
