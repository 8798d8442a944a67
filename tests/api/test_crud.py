#!/usr/bin/python3
"""Create / read / list / update of every resource in docs/API.md, and every
error of the "Errors" table: 400, 404, 405, 409, 413, 422 (invalid,
out_of_range, unknown_reference). After every failed create the list count
must be unchanged ("Nothing is written when an error is returned")."""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

MiB = 1024 * 1024


def check_row(t, resp, status, want, name):
    """A created/updated row: status, id, created_at, and the wanted fields."""
    st, _, body = resp
    problems = []
    if st != status:
        problems.append("status %s, expected %s" % (st, status))
    if not isinstance(body, dict):
        problems.append("body is not an object")
        body = {}
    if not isinstance(body.get("id"), int) or isinstance(body.get("id"), bool) or body.get("id", 0) <= 0:
        problems.append("id %r is not a positive integer" % body.get("id"))
    if not ks.iso_ok(body.get("created_at")):
        problems.append("created_at %r is not ISO 8601 UTC" % body.get("created_at"))
    for k, v in want.items():
        if k not in body:
            problems.append("field %s missing" % k)
        elif body[k] != v or type(body[k]) is not type(v):
            problems.append("%s = %s, expected %s" % (k, ks.short(body[k]), ks.short(v)))
    return t.check(not problems, name, "; ".join(problems) + "\n" + ks.got(st, body))


def failed_create(t, srv, res, body, status, code, field, name):
    """POST a bad body: check the error, and that the list count is unchanged."""
    before = srv.count(res)
    r = srv.post("/api/v1/" + res, body)
    t.error(r, status, code, field, name)
    after = srv.count(res)
    t.check(after == before, "%s: nothing written" % name,
            "count of %s before %d, after %d" % (res, before, after))


def get_same(t, srv, res, row, name):
    r = srv.get("/api/v1/%s/%d" % (res, row["id"]))
    t.check(r[0] == 200 and r[2] == row, name,
            "expected 200 %s\n%s" % (ks.short(row), ks.got(r[0], r[2])))


# ---------------------------------------------------------------------------


def test_health(t, srv):
    st, hd, body = srv.get("/healthz")
    t.check(st == 200 and isinstance(body, dict) and body.get("status") == "ok"
            and isinstance(body.get("schema_version"), int) and body["schema_version"] >= 1,
            "GET /healthz -> 200 {status: ok, schema_version >= 1}", ks.got(st, body))
    t.check("json" in (hd.get("Content-Type") or ""), "healthz Content-Type is JSON",
            "got Content-Type %r" % hd.get("Content-Type"))


def test_teams(t, srv):
    tag = ks.uniq("t")
    r = srv.post("/api/v1/teams", {"name": "Org " + tag, "kind": "organisation"})
    check_row(t, r, 201, {"name": "Org " + tag, "kind": "organisation", "parent_id": None},
              "teams: create organisation -> 201 with the row")
    org = r[2]
    r = srv.post("/api/v1/teams", {"name": "Dept " + tag, "kind": "department",
                                   "parent_id": org["id"]})
    check_row(t, r, 201, {"name": "Dept " + tag, "kind": "department", "parent_id": org["id"]},
              "teams: create department under the organisation -> 201")
    dept = r[2]
    r = srv.post("/api/v1/teams", {"name": "Team " + tag, "kind": "team", "parent_id": dept["id"]})
    check_row(t, r, 201, {"name": "Team " + tag, "kind": "team", "parent_id": dept["id"]},
              "teams: create team under the department -> 201")
    team = r[2]
    get_same(t, srv, "teams", team, "teams: GET /teams/{id} -> 200, same row as created")

    # hierarchy
    failed_create(t, srv, "teams", {"name": "Sub", "kind": "team", "parent_id": team["id"]},
                  422, None, "parent_id", "teams: a team whose parent is a team -> 422 parent_id")
    failed_create(t, srv, "teams", {"name": "Sub", "kind": "department", "parent_id": dept["id"]},
                  422, None, "parent_id", "teams: a department whose parent is a department -> 422 parent_id")
    failed_create(t, srv, "teams", {"name": "Sub", "kind": "team", "parent_id": org["id"]},
                  422, None, "parent_id", "teams: a team directly under an organisation -> 422 parent_id")
    failed_create(t, srv, "teams", {"name": "Org2", "kind": "organisation", "parent_id": org["id"]},
                  422, None, "parent_id", "teams: an organisation with a parent -> 422 parent_id")
    failed_create(t, srv, "teams", {"name": "Dept2", "kind": "department"},
                  422, None, "parent_id", "teams: a department without parent_id -> 422 parent_id")
    failed_create(t, srv, "teams", {"name": "T", "kind": "team", "parent_id": 999999},
                  422, "unknown_reference", "parent_id",
                  "teams: parent_id 999999 -> 422 unknown_reference parent_id")
    # field rules
    failed_create(t, srv, "teams", {"name": "X", "kind": "division"},
                  422, "invalid", "kind", "teams: kind \"division\" (enum) -> 422 invalid kind")
    failed_create(t, srv, "teams", {"kind": "organisation"},
                  422, "invalid", "name", "teams: missing name -> 422 invalid name")
    failed_create(t, srv, "teams", {"name": "X"},
                  422, "invalid", "kind", "teams: missing kind -> 422 invalid kind")
    failed_create(t, srv, "teams", {"name": 5, "kind": "organisation"},
                  422, "invalid", "name", "teams: name 5 (wrong type) -> 422 invalid name")
    failed_create(t, srv, "teams", {"name": "X", "kind": "team", "parent_id": "1"},
                  422, "invalid", "parent_id", "teams: parent_id \"1\" (string) -> 422 invalid parent_id")
    failed_create(t, srv, "teams", {"name": "X", "kind": "organisation", "colour": "red"},
                  422, "invalid", "colour", "teams: unknown field colour -> 422 invalid naming colour")

    # list filters
    st, _, body = srv.get("/api/v1/teams?kind=team&limit=500")
    items = body.get("items") if isinstance(body, dict) else None
    t.check(st == 200 and isinstance(items, list) and items
            and all(i.get("kind") == "team" for i in items)
            and any(i.get("id") == team["id"] for i in items),
            "teams: list ?kind=team gives only teams, ours among them", ks.got(st, body))
    st, _, body = srv.get("/api/v1/teams?parent_id=%d" % dept["id"])
    ids = [i.get("id") for i in body.get("items", [])] if isinstance(body, dict) else None
    t.check(st == 200 and ids == [team["id"]] and body.get("next_cursor") is None,
            "teams: list ?parent_id=DEPT gives exactly its one team, next_cursor null",
            ks.got(st, body))

    # update
    r = srv.patch("/api/v1/teams/%d" % team["id"], {"name": "Team Zuid " + tag})
    check_row(t, r, 200, {"name": "Team Zuid " + tag, "kind": "team", "parent_id": dept["id"],
                          "id": team["id"], "created_at": team["created_at"]},
              "teams: PATCH name -> 200, other fields unchanged")
    r = srv.get("/api/v1/teams/%d" % team["id"])
    t.check(r[0] == 200 and r[2].get("name") == "Team Zuid " + tag,
            "teams: GET after PATCH shows the new name", ks.got(r[0], r[2]))
    r = srv.request("PUT", "/api/v1/teams/%d" % team["id"], {"name": "Team West " + tag})
    check_row(t, r, 200, {"name": "Team West " + tag, "kind": "team"},
              "teams: PUT with the fields to change -> 200")
    r = srv.patch("/api/v1/teams/%d" % team["id"], {"parent_id": team["id"]})
    t.error(r, 422, None, "parent_id", "teams: PATCH a team's parent to a team -> 422 parent_id")
    r = srv.get("/api/v1/teams/%d" % team["id"])
    t.check(r[0] == 200 and r[2].get("parent_id") == dept["id"] and r[2].get("name") == "Team West " + tag,
            "teams: failed PATCH changed nothing", ks.got(r[0], r[2]))
    r = srv.patch("/api/v1/teams/%d" % team["id"], {"kind": "galaxy"})
    t.error(r, 422, "invalid", "kind", "teams: PATCH kind \"galaxy\" -> 422 invalid kind")
    r = srv.patch("/api/v1/teams/%d" % team["id"], {"shoe_size": 44})
    t.error(r, 422, "invalid", "shoe_size", "teams: PATCH unknown field -> 422 naming it")
    r = srv.patch("/api/v1/teams/999999", {"name": "ghost"})
    t.error(r, 404, "not_found", None, "teams: PATCH /teams/999999 -> 404 not_found")
    r = srv.patch("/api/v1/teams/%d" % team["id"], b'{"name": ')
    t.error(r, 400, "malformed_json", None, "teams: PATCH with truncated JSON -> 400 malformed_json")
    return {"org": org, "dept": dept, "team": team}


def test_employees(t, srv, tree):
    tag = ks.uniq("e")
    team, dept = tree["team"], tree["dept"]
    body = {"team_id": team["id"], "first_name": "Sanne", "last_name": "de Vries",
            "email": "sanne@example.nl", "external_id": "EMP-" + tag}
    r = srv.post("/api/v1/employees", body)
    check_row(t, r, 201, dict(body, active=True),
              "employees: create -> 201 with the row, active defaults to true")
    emp = r[2]
    r = srv.post("/api/v1/employees", {"team_id": team["id"], "first_name": "Joris",
                                       "last_name": "Bakker", "active": False})
    check_row(t, r, 201, {"first_name": "Joris", "active": False},
              "employees: create with active false -> 201")
    emp2 = r[2]
    get_same(t, srv, "employees", emp, "employees: GET /employees/{id} -> 200 same row")

    failed_create(t, srv, "employees", {"team_id": 999999, "first_name": "A", "last_name": "B"},
                  422, "unknown_reference", "team_id",
                  "employees: team_id 999999 -> 422 unknown_reference team_id")
    failed_create(t, srv, "employees", {"team_id": dept["id"], "first_name": "A", "last_name": "B"},
                  422, None, "team_id",
                  "employees: team_id of a department (not a team) -> 422 team_id")
    failed_create(t, srv, "employees", {"team_id": team["id"], "last_name": "B"},
                  422, "invalid", "first_name", "employees: missing first_name -> 422 invalid first_name")
    failed_create(t, srv, "employees", {"first_name": "A", "last_name": "B"},
                  422, "invalid", "team_id", "employees: missing team_id -> 422 invalid team_id")
    failed_create(t, srv, "employees", {"team_id": team["id"], "first_name": "A", "last_name": "B",
                                        "active": "yes"},
                  422, "invalid", "active", "employees: active \"yes\" -> 422 invalid active")
    failed_create(t, srv, "employees", {"team_id": str(team["id"]), "first_name": "A", "last_name": "B"},
                  422, "invalid", "team_id", "employees: team_id as a string -> 422 invalid team_id")
    failed_create(t, srv, "employees", {"team_id": team["id"], "first_name": "A", "last_name": "B",
                                        "external_id": "EMP-" + tag},
                  409, "conflict", "external_id",
                  "employees: duplicate external_id -> 409 conflict external_id")
    failed_create(t, srv, "employees", {"team_id": team["id"], "first_name": "A", "last_name": "B",
                                        "salary": 5000},
                  422, "invalid", "salary", "employees: unknown field salary -> 422 naming it")

    st, _, body = srv.get("/api/v1/employees?team_id=%d" % team["id"])
    ids = sorted(i.get("id") for i in body.get("items", [])) if isinstance(body, dict) else None
    t.eq(ids, sorted([emp["id"], emp2["id"]]), "employees: list ?team_id= gives the team's two employees")
    st, _, p1 = srv.get("/api/v1/employees?team_id=%d&limit=1" % team["id"])
    st2, _, p2 = srv.get("/api/v1/employees?team_id=%d&limit=1&cursor=%s"
                         % (team["id"], p1.get("next_cursor") if isinstance(p1, dict) else ""))
    t.check(st == 200 and st2 == 200 and [i["id"] for i in p1.get("items", [])] == [emp["id"]]
            and p1.get("next_cursor") == emp["id"]
            and [i["id"] for i in p2.get("items", [])] == [emp2["id"]] and p2.get("next_cursor") is None,
            "employees: filter + limit=1 + cursor pages through the team, next_cursor null at the end",
            "page1 %s\npage2 %s" % (ks.short(p1), ks.short(p2)))
    st, _, p = srv.get("/api/v1/employees?team_id=%d&limit=2" % team["id"])
    t.check(st == 200 and len(p.get("items", [])) == 2 and p.get("next_cursor") is None,
            "employees: a full last page (2 of 2, limit=2) has next_cursor null", ks.got(st, p))

    r = srv.patch("/api/v1/employees/%d" % emp["id"], {"active": False, "email": None})
    check_row(t, r, 200, {"active": False, "email": None, "first_name": "Sanne",
                          "external_id": "EMP-" + tag},
              "employees: PATCH active false, email null -> 200")
    r = srv.patch("/api/v1/employees/%d" % emp["id"], {"team_id": 999999})
    t.error(r, 422, "unknown_reference", "team_id",
            "employees: PATCH team_id 999999 -> 422 unknown_reference team_id")
    r = srv.patch("/api/v1/employees/%d" % emp2["id"], {"external_id": "EMP-" + tag})
    t.error(r, 409, "conflict", "external_id",
            "employees: PATCH external_id to one taken -> 409 conflict external_id")
    r = srv.get("/api/v1/employees/%d" % emp2["id"])
    t.check(r[0] == 200 and r[2].get("external_id") is None and r[2].get("team_id") == team["id"],
            "employees: failed PATCH changed nothing", ks.got(r[0], r[2]))


def test_customers(t, srv):
    tag = ks.uniq("c")
    r = srv.post("/api/v1/customers", {"external_id": "K-" + tag})
    check_row(t, r, 201, {"external_id": "K-" + tag, "language": "nl"},
              "customers: create with only external_id -> 201, language defaults to nl")
    c1 = r[2]
    full = {"external_id": "K2-" + tag, "name": "Mary Smith", "email": "mary@example.com",
            "language": "en", "customer_since": "2015-06-01", "city": "Utrecht",
            "birth_year": 1970, "segment": "zakelijk-" + tag, "phone": "+31 (0)30-123 45 67"}
    r = srv.post("/api/v1/customers", full)
    check_row(t, r, 201, full, "customers: create with every field -> 201 echoing them")
    c2 = r[2]
    get_same(t, srv, "customers", c2, "customers: GET /customers/{id} -> 200 same row")
    for y in (1900, 2100):
        r = srv.post("/api/v1/customers", {"external_id": "K%d-%s" % (y, tag), "birth_year": y})
        check_row(t, r, 201, {"birth_year": y}, "customers: birth_year %d (range edge) -> 201" % y)

    failed_create(t, srv, "customers", {"external_id": "K-" + tag, "name": "Dup"},
                  409, "conflict", "external_id",
                  "customers: duplicate external_id -> 409 conflict external_id")
    failed_create(t, srv, "customers", {"external_id": "X1-" + tag, "birth_year": 1899},
                  422, "out_of_range", "birth_year", "customers: birth_year 1899 -> 422 out_of_range")
    failed_create(t, srv, "customers", {"external_id": "X2-" + tag, "birth_year": 2101},
                  422, "out_of_range", "birth_year", "customers: birth_year 2101 -> 422 out_of_range")
    failed_create(t, srv, "customers", {"external_id": "X3-" + tag, "birth_year": "1970"},
                  422, "invalid", "birth_year", "customers: birth_year \"1970\" (string) -> 422 invalid")
    failed_create(t, srv, "customers", {"external_id": "X4-" + tag, "birth_year": 1970.5},
                  422, "invalid", "birth_year", "customers: birth_year 1970.5 -> 422 invalid")
    failed_create(t, srv, "customers", {"external_id": "X5-" + tag, "language": "fr"},
                  422, "invalid", "language", "customers: language \"fr\" (enum) -> 422 invalid language")
    failed_create(t, srv, "customers", {"external_id": "X6-" + tag, "customer_since": "2015-13-45"},
                  422, "invalid", "customer_since", "customers: customer_since 2015-13-45 -> 422 invalid")
    failed_create(t, srv, "customers", {"external_id": "X7-" + tag, "customer_since": "gisteren"},
                  422, "invalid", "customer_since", "customers: customer_since \"gisteren\" -> 422 invalid")
    failed_create(t, srv, "customers", {"name": "No Id"},
                  422, "invalid", "external_id", "customers: missing external_id -> 422 invalid external_id")
    failed_create(t, srv, "customers", {"external_id": 42},
                  422, "invalid", "external_id", "customers: external_id 42 (number) -> 422 invalid")
    # issue 13: phone — digits, spaces, + - ( ) only, at least one digit, at most 40 bytes
    for bad, why in (("030 123 45 67 ext. 5", "letters"), ("030/1234567", "a slash"),
                     ("+ ( ) -", "no digit"), ("", "empty"), ("0" * 41, "41 bytes")):
        failed_create(t, srv, "customers", {"external_id": "XP-" + tag, "phone": bad},
                      422, "out_of_range" if why == "41 bytes" else "invalid", "phone",
                      "customers: phone %r (%s) -> 422 naming phone" % (bad, why))
    failed_create(t, srv, "customers", {"external_id": "XP-" + tag, "phone": 306123456},
                  422, "invalid", "phone", "customers: phone 306123456 (number) -> 422 invalid phone")
    r = srv.post("/api/v1/customers", {"external_id": "KP-" + tag, "phone": "0" * 40})
    check_row(t, r, 201, {"phone": "0" * 40}, "customers: phone of 40 digits (the max) -> 201")
    failed_create(t, srv, "customers", {"external_id": "X8-" + tag, "shoe": 1},
                  422, "invalid", "shoe", "customers: unknown field shoe -> 422 naming it")

    st, _, body = srv.get("/api/v1/customers?segment=zakelijk-" + tag)
    ids = [i.get("id") for i in body.get("items", [])] if isinstance(body, dict) else None
    t.eq(ids, [c2["id"]], "customers: list ?segment= gives the one customer in it")
    st, _, body = srv.get("/api/v1/customers?external_id=K-" + tag)
    ids = [i.get("id") for i in body.get("items", [])] if isinstance(body, dict) else None
    t.eq(ids, [c1["id"]], "customers: list ?external_id= finds the customer")

    r = srv.patch("/api/v1/customers/%d" % c2["id"], {"city": "Zwolle"})
    check_row(t, r, 200, dict(full, city="Zwolle"), "customers: PATCH city -> 200, rest unchanged")
    r = srv.patch("/api/v1/customers/%d" % c2["id"], {"external_id": "K-" + tag})
    t.error(r, 409, "conflict", "external_id",
            "customers: PATCH external_id to one taken -> 409 conflict external_id")
    r = srv.patch("/api/v1/customers/%d" % c2["id"], {"birth_year": 3000})
    t.error(r, 422, "out_of_range", "birth_year", "customers: PATCH birth_year 3000 -> 422 out_of_range")
    r = srv.patch("/api/v1/customers/%d" % c2["id"], {"language": "de"})
    t.error(r, 422, "invalid", "language", "customers: PATCH language \"de\" -> 422 invalid")
    r = srv.patch("/api/v1/customers/%d" % c2["id"], {"phone": "bel me"})
    t.error(r, 422, "invalid", "phone", "customers: PATCH phone \"bel me\" -> 422 invalid phone")
    r = srv.get("/api/v1/customers/%d" % c2["id"])
    t.check(r[0] == 200 and r[2].get("external_id") == full["external_id"]
            and r[2].get("birth_year") == 1970 and r[2].get("language") == "en"
            and r[2].get("phone") == full["phone"],
            "customers: failed PATCHes changed nothing", ks.got(r[0], r[2]))
    r = srv.patch("/api/v1/customers/999999", {"city": "Nergens"})
    t.error(r, 404, "not_found", None, "customers: PATCH /customers/999999 -> 404")


def test_journeys_and_pagination(t, srv):
    tag = ks.uniq("j")
    r = srv.post("/api/v1/journeys", {"name": "Verhuizen " + tag, "description": "Van aanmelding tot eerste factuur"})
    check_row(t, r, 201, {"name": "Verhuizen " + tag, "description": "Van aanmelding tot eerste factuur"},
              "journeys: create -> 201 with the row")
    j = r[2]
    get_same(t, srv, "journeys", j, "journeys: GET /journeys/{id} -> 200 same row")
    failed_create(t, srv, "journeys", {"description": "zonder naam"},
                  422, "invalid", "name", "journeys: missing name -> 422 invalid name")
    failed_create(t, srv, "journeys", {"name": ["a"]},
                  422, "invalid", "name", "journeys: name as an array -> 422 invalid name")
    r = srv.patch("/api/v1/journeys/%d" % j["id"], {"description": None})
    check_row(t, r, 200, {"name": "Verhuizen " + tag, "description": None},
              "journeys: PATCH description null -> 200")

    # enough rows to see the default limit of 50
    have = srv.count("journeys")
    for i in range(max(0, 53 - have)):
        srv.create("journeys", {"name": "J%02d %s" % (i, tag)})
    all_items = srv.list_all("journeys")
    all_ids = [i["id"] for i in all_items]
    t.check(all_ids == sorted(all_ids) and len(set(all_ids)) == len(all_ids) and len(all_ids) >= 53,
            "journeys: list_all ordered by id, no duplicates", "ids: %s" % all_ids)
    st, _, body = srv.get("/api/v1/journeys")
    t.check(st == 200 and isinstance(body, dict) and len(body.get("items", [])) == 50
            and body.get("next_cursor") == body["items"][-1]["id"],
            "journeys: list without limit gives 50 items (default) and next_cursor = last id",
            ks.got(st, body))

    # walk in pages of 7
    seen, cursor, pages, ok = [], None, 0, True
    while pages < 100:
        q = "limit=7" + ("&cursor=%d" % cursor if cursor is not None else "")
        st, _, body = srv.get("/api/v1/journeys?" + q)
        if st != 200 or not isinstance(body, dict):
            ok = False
            break
        items = body.get("items", [])
        pages += 1
        if len(items) > 7:
            ok = False
        seen += [i["id"] for i in items]
        cursor = body.get("next_cursor")
        if cursor is None:
            break
        if items and cursor != items[-1]["id"]:
            ok = False
    t.check(ok and seen == all_ids and pages == (len(all_ids) + 6) // 7,
            "journeys: paging with limit=7 and cursor visits every row once, in order",
            "pages %d, seen %s\nexpected %s" % (pages, seen, all_ids))
    # a cursor in the middle
    mid = all_ids[10]
    st, _, body = srv.get("/api/v1/journeys?limit=3&cursor=%d" % mid)
    ids = [i["id"] for i in body.get("items", [])] if isinstance(body, dict) else None
    t.eq(ids, all_ids[11:14], "journeys: cursor=ID gives the rows after ID")
    st, _, body = srv.get("/api/v1/journeys?limit=500")
    t.check(st == 200 and body.get("next_cursor") is None and len(body.get("items", [])) == len(all_ids),
            "journeys: limit=500 is allowed, next_cursor null at the end", ks.got(st, body))
    r = srv.get("/api/v1/journeys?limit=0")
    t.error(r, 422, None, "limit", "journeys: limit=0 -> 422 naming limit")
    r = srv.get("/api/v1/journeys?limit=501")
    t.error(r, 422, None, "limit", "journeys: limit=501 -> 422 naming limit")
    r = srv.get("/api/v1/journeys?limit=abc")
    t.error(r, 422, None, "limit", "journeys: limit=abc -> 422 naming limit")
    return j


def test_surveys(t, srv):
    tag = ks.uniq("s")
    qs = ks.survey_questions()
    r = srv.post("/api/v1/surveys", {"name": "Na contact " + tag, "questions": qs})
    st, _, s = r
    check_row(t, r, 201, {"name": "Na contact " + tag}, "surveys: create -> 201 with the row")
    got_q = s.get("questions") if isinstance(s, dict) else None
    ok = isinstance(got_q, list) and len(got_q) == len(qs) and all(
        g.get("type") == w["type"] and g.get("text") == w["text"]
        and g.get("aspect") == w.get("aspect") for g, w in zip(got_q, qs))
    t.check(ok, "surveys: questions come back as sent (type, text, aspect, in order)",
            "sent %s\n%s" % (ks.short(qs), ks.got(st, got_q)))
    get_same(t, srv, "surveys", s, "surveys: GET /surveys/{id} -> 200 same row")

    def q(kind, **kw):
        d = {"type": kind, "text": {"nl": "Vraag " + kind, "en": "Question " + kind}}
        d.update(kw)
        return d

    bad = [
        ([q("nps"), q("nps")], "questions[1]*", "a second nps question"),
        ([q("grade"), q("open"), q("grade")], "questions[2]*", "a second grade question"),
        ([q("ces"), q("ces")], "questions[1]*", "a second ces question"),
        ([q("open"), q("open")], "questions[1]*", "a second open question"),
        ([q("driver", aspect="snelheid"), q("driver", aspect="snelheid")], "questions[1]*",
         "two drivers with the same aspect"),
        ([q("nps"), q("driver")], "questions[1]*", "a driver without aspect"),
        ([q("stars")], "questions[0]*", "type \"stars\""),
        ([{"type": "nps", "text": {"nl": "Alleen Nederlands"}}], "questions[0]*", "text without en"),
        ([{"type": "nps"}], "questions[0]*", "a question without text"),
        ([q("nps", colour="red")], "questions[0]*", "an unknown key in a question"),
        ([q("nps", required="ja")], "questions[0]*", "required \"ja\""),
        (["nps"], "questions[0]*", "a question that is a string"),
        ([], "questions", "an empty question list"),
        ("nps", "questions", "questions as a string"),
    ]
    for questions, field, what in bad:
        failed_create(t, srv, "surveys", {"name": "Bad " + tag, "questions": questions},
                      422, None, field, "surveys: %s -> 422 field %s" % (what, field))
    failed_create(t, srv, "surveys", {"name": "Bad " + tag},
                  422, "invalid", "questions", "surveys: missing questions -> 422 invalid questions")
    failed_create(t, srv, "surveys", {"questions": qs},
                  422, "invalid", "name", "surveys: missing name -> 422 invalid name")

    r = srv.patch("/api/v1/surveys/%d" % s["id"], {"name": "Hernoemd " + tag})
    t.check(r[0] == 200 and r[2].get("name") == "Hernoemd " + tag and r[2].get("questions") == s["questions"],
            "surveys: PATCH name -> 200, questions unchanged", ks.got(r[0], r[2]))
    r = srv.patch("/api/v1/surveys/%d" % s["id"], {"questions": [q("nps"), q("nps")]})
    t.error(r, 422, None, "questions[1]*", "surveys: PATCH with a duplicate nps -> 422 questions[1]...")
    r = srv.get("/api/v1/surveys/%d" % s["id"])
    t.check(r[0] == 200 and r[2].get("questions") == s["questions"],
            "surveys: failed PATCH left the questions alone", ks.got(r[0], r[2]))
    r = srv.patch("/api/v1/surveys/%d" % s["id"], {"questions": [q("nps"), q("open")]})
    t.check(r[0] == 200 and [x.get("type") for x in r[2].get("questions", [])] == ["nps", "open"],
            "surveys: PATCH questions -> 200 with the new list", ks.got(r[0], r[2]))
    return s


def test_touchpoints(t, srv, journey, survey):
    tag = ks.uniq("tp")
    body = {"journey_id": journey["id"], "name": "Telefoon " + tag, "position": 3,
            "moment_of_truth": True, "survey_id": survey["id"]}
    r = srv.post("/api/v1/touchpoints", body)
    check_row(t, r, 201, body, "touchpoints: create -> 201 with the row")
    tp = r[2]
    tok = tp.get("open_token")
    t.check(isinstance(tok, str) and len(tok) >= 16 and isinstance(tp.get("survey_url"), str)
            and tp["survey_url"].endswith("/s/" + tok),
            "touchpoints: output has open_token and survey_url ending in /s/OPEN_TOKEN",
            ks.got(r[0], tp))
    r = srv.post("/api/v1/touchpoints", {"journey_id": journey["id"], "name": "Winkel " + tag})
    check_row(t, r, 201, {"position": 0, "moment_of_truth": False, "survey_id": None},
              "touchpoints: defaults position 0, moment_of_truth false, survey_id null")
    tp2 = r[2]
    t.check(tp2.get("open_token") and tp2.get("open_token") != tok,
            "touchpoints: each touchpoint has its own open_token", ks.got(r[0], tp2))
    get_same(t, srv, "touchpoints", tp, "touchpoints: GET /touchpoints/{id} -> 200 same row")

    failed_create(t, srv, "touchpoints", {"journey_id": 999999, "name": "X"},
                  422, "unknown_reference", "journey_id",
                  "touchpoints: journey_id 999999 -> 422 unknown_reference journey_id")
    failed_create(t, srv, "touchpoints", {"journey_id": journey["id"], "name": "X", "survey_id": 999999},
                  422, "unknown_reference", "survey_id",
                  "touchpoints: survey_id 999999 -> 422 unknown_reference survey_id")
    failed_create(t, srv, "touchpoints", {"name": "X"},
                  422, "invalid", "journey_id", "touchpoints: missing journey_id -> 422 invalid")
    failed_create(t, srv, "touchpoints", {"journey_id": journey["id"], "name": "X", "moment_of_truth": "ja"},
                  422, "invalid", "moment_of_truth", "touchpoints: moment_of_truth \"ja\" -> 422 invalid")
    failed_create(t, srv, "touchpoints", {"journey_id": journey["id"], "name": "X", "position": "1"},
                  422, "invalid", "position", "touchpoints: position \"1\" -> 422 invalid")

    st, _, body = srv.get("/api/v1/touchpoints?journey_id=%d" % journey["id"])
    ids = sorted(i.get("id") for i in body.get("items", [])) if isinstance(body, dict) else None
    t.eq(ids, sorted([tp["id"], tp2["id"]]), "touchpoints: list ?journey_id= gives that journey's touchpoints")

    r = srv.patch("/api/v1/touchpoints/%d" % tp2["id"], {"position": 4, "survey_id": survey["id"]})
    check_row(t, r, 200, {"position": 4, "survey_id": survey["id"], "open_token": tp2["open_token"]},
              "touchpoints: PATCH position and survey_id -> 200, open_token unchanged")
    r = srv.patch("/api/v1/touchpoints/%d" % tp2["id"], {"survey_id": 999999})
    t.error(r, 422, "unknown_reference", "survey_id",
            "touchpoints: PATCH survey_id 999999 -> 422 unknown_reference")


def test_malformed(t, srv):
    cases = [
        (b'{"name": "x", "kind": "organisation"', "truncated JSON"),
        (b'{"name": "x", "kind": ', "JSON cut off after a colon"),
        (b'[{"name": "x", "kind": "organisation"}]', "a JSON array"),
        (b'"organisation"', "a JSON string"),
        (b"null", "JSON null"),
        (b"42", "a JSON number"),
        (b"", "an empty body"),
        (b"name=x&kind=organisation", "a form-encoded body"),
        (b'{"name": "x", "kind": "organisation"} {}', "two JSON values"),
        (b'{"name": "\xff\xfe", "kind": "organisation"}', "invalid UTF-8"),
        (b"{'name': 'x', 'kind': 'organisation'}", "single-quoted pseudo-JSON"),
    ]
    before = srv.count("teams")
    for raw, what in cases:
        r = srv.post("/api/v1/teams", raw)
        t.error(r, 400, "malformed_json", None, "malformed: POST /teams with %s -> 400 malformed_json" % what)
        if isinstance(r[2], dict) and isinstance(r[2].get("error"), dict):
            t.check(r[2]["error"].get("field", "missing") is None,
                    "malformed: %s -> error.field is null" % what, ks.got(r[0], r[2]))
    after = srv.count("teams")
    t.check(before == after, "malformed: no team written by any malformed body",
            "before %d after %d" % (before, after))


def test_routes(t, srv, tree):
    team = tree["team"]
    for path in ("/api/v1/teams/999999", "/api/v1/employees/999999", "/api/v1/customers/999999",
                 "/api/v1/journeys/999999", "/api/v1/touchpoints/999999", "/api/v1/surveys/999999"):
        t.error(srv.get(path), 404, "not_found", None, "404: GET %s -> not_found" % path)
    for path in ("/api/v1/nope", "/api/v1/teams/%d/members" % team["id"], "/api/v2/teams"):
        t.error(srv.get(path), 404, "not_found", None, "404: unknown route GET %s -> not_found" % path)
    st, _, body = srv.get("/no-such-page")
    t.check(st == 404, "404: GET /no-such-page -> 404", ks.got(st, body))

    def allow_set(hd):
        return {m.strip().upper() for m in (hd.get("Allow") or "").split(",") if m.strip()}

    cases = [
        ("DELETE", "/api/v1/teams", {"GET", "POST"}),
        ("PUT", "/api/v1/teams", {"GET", "POST"}),
        ("DELETE", "/api/v1/teams/%d" % team["id"], {"GET", "PATCH", "PUT"}),
        ("POST", "/api/v1/teams/%d" % team["id"], {"GET", "PATCH", "PUT"}),
        ("DELETE", "/api/v1/customers", {"GET", "POST"}),
        ("POST", "/healthz", {"GET"}),
    ]
    for method, path, want in cases:
        st, hd, body = srv.request(method, path, {"name": "x"} if method in ("POST", "PUT") else None)
        t.error((st, hd, body), 405, "method_not_allowed", None,
                "405: %s %s -> method_not_allowed" % (method, path))
        got_allow = allow_set(hd)
        t.check(want <= got_allow and method not in got_allow,
                "405: %s %s has an Allow header listing %s" % (method, path, ",".join(sorted(want))),
                "Allow: %r" % hd.get("Allow"))
    r = srv.request("DELETE", "/api/v1/teams/%d" % team["id"])
    r2 = srv.get("/api/v1/teams/%d" % team["id"])
    t.check(r2[0] == 200, "405: the team is still there after DELETE", ks.got(r2[0], r2[2]))


def test_edges(t, srv, tree):
    """Edge inputs: unicode round-trip, NUL, deep nesting, odd ids, cursors,
    read-only fields, keep-alive reuse after errors."""
    tag = ks.uniq("edge")
    name = "IJsselmonde \u00e9\u00eb\u00ef \u2014 \U0001F44D " + tag
    r = srv.post("/api/v1/journeys", {"name": name})
    t.check(r[0] == 201 and r[2].get("name") == name, "edges: non-ASCII text round-trips (201)",
            ks.got(r[0], r[2]))
    if r[0] == 201:
        g = srv.get("/api/v1/journeys/%d" % r[2]["id"])
        t.eq(g[2].get("name") if isinstance(g[2], dict) else None, name, "edges: non-ASCII text reads back the same")
    before = srv.count("journeys")
    r = srv.post("/api/v1/journeys", b'{"name": "a\\u0000b"}')
    t.error(r, 400, "malformed_json", None, "edges: a string with \\u0000 -> 400 malformed_json (the parser refuses NUL)")
    deep = b"[" * 200000 + b"]" * 200000
    r = srv.post("/api/v1/journeys", deep)
    t.error(r, 400, "malformed_json", None, "edges: 200000-deep nested arrays -> 400 (no crash)")
    deep_obj = b'{"name": "x", "description": ' + b'{"a":' * 50000 + b"1" + b"}" * 50000 + b"}"
    r = srv.post("/api/v1/journeys", deep_obj)
    t.error(r, 400, "malformed_json", None, "edges: 50000-deep nested object in a field -> 400 malformed_json (depth limit)")
    t.eq(srv.count("journeys"), before, "edges: nothing written by the odd bodies")

    org = tree["org"]
    for pid, what in ((0, "0"), (-1, "-1"), (2 ** 63 - 1, "2^63-1")):
        r = srv.post("/api/v1/teams", {"name": "T", "kind": "team", "parent_id": pid})
        t.check(r[0] == 422 and isinstance(r[2], dict) and (r[2].get("error") or {}).get("field") == "parent_id",
                "edges: parent_id %s -> 422 naming parent_id" % what, ks.got(r[0], r[2]))
    r = srv.post("/api/v1/teams", b'{"name": "T", "kind": "team", "parent_id": 99999999999999999999999}')
    t.error(r, 400, "malformed_json", None, "edges: parent_id beyond 64 bits -> 400 malformed_json (too big integer)")
    r = srv.post("/api/v1/teams", {"name": "T", "kind": "team", "parent_id": 1.0})
    t.error(r, 422, "invalid", "parent_id", "edges: parent_id 1.0 (a real) -> 422 invalid")
    for path in ("/api/v1/teams/99999999999999999999999", "/api/v1/teams/-1", "/api/v1/teams/abc",
                 "/api/v1/teams/1abc", "/api/v1/teams/0"):
        st, _, body = srv.get(path)
        t.check(st == 404, "edges: GET %s -> 404" % path, ks.got(st, body))
    r = srv.post("/api/v1/teams", {"name": "T", "kind": "organisation", "id": 5})
    t.error(r, 422, "invalid", "id", "edges: id in a create body -> 422 naming id")
    r = srv.patch("/api/v1/teams/%d" % org["id"], {"created_at": "2020-01-01T00:00:00Z"})
    t.error(r, 422, "invalid", "created_at", "edges: PATCH created_at -> 422 naming created_at")
    r = srv.patch("/api/v1/teams/%d" % org["id"], {})
    t.check(r[0] == 200 and r[2] == srv.get("/api/v1/teams/%d" % org["id"])[2],
            "edges: PATCH with {} -> 200, row unchanged", ks.got(r[0], r[2]))
    r = srv.get("/api/v1/journeys?cursor=abc")
    t.error(r, 422, None, "cursor", "edges: cursor=abc -> 422 naming cursor")
    st, _, body = srv.get("/api/v1/journeys?cursor=999999999")
    t.check(st == 200 and body.get("items") == [] and body.get("next_cursor") is None,
            "edges: a cursor past the end -> empty page, next_cursor null", ks.got(st, body))
    r = srv.get("/api/v1/teams?kind=galaxy")
    # a filter value no row can have narrows the list to nothing (it cannot
    # widen it): 200 and an empty page, as for any other value
    t.eq((r[0], r[2]), (200, {"items": [], "next_cursor": None}), "edges: list ?kind=galaxy -> 200, empty list")

    # query-string decoding in filters
    ext = "A+B &C=%/" + tag
    c = srv.create("customers", {"external_id": ext})
    import urllib.parse as _up
    st, _, body = srv.get("/api/v1/customers?external_id=" + _up.quote(ext, safe=""))
    ids = [i.get("id") for i in body.get("items", [])] if isinstance(body, dict) else None
    t.eq(ids, [c["id"]], "edges: a filter value with + & = %% / (percent-encoded) finds the row")

    # a very long URL is refused or answered, not fatal
    try:
        st, _, body = srv.get("/api/v1/teams?kind=" + "a" * 200000)
    except OSError as ex:
        st, body = None, repr(ex)
    t.eq(st, 414, "edges: a 200 KB URL -> 414 (the request line is bounded)")
    st, _, body = srv.get("/healthz")
    t.check(st == 200, "edges: server healthy after the long URL", ks.got(st, body))

    # keep-alive: several requests, errors among them, on one connection
    import http.client
    import json as _json
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    seq = []
    try:
        for method, path, body in (("GET", "/healthz", None),
                                   ("POST", "/api/v1/journeys", b'{"name": '),
                                   ("GET", "/api/v1/nope", None),
                                   ("POST", "/api/v1/journeys", _json.dumps({"name": "ka " + tag}).encode()),
                                   ("DELETE", "/api/v1/journeys", None),
                                   ("GET", "/api/v1/journeys?limit=1", None)):
            conn.request(method, path, body=body,
                         headers={"Content-Type": "application/json",
                                  "Authorization": "Bearer " + ks.TOKENS[srv.port]})
            resp = conn.getresponse()
            resp.read()
            seq.append(resp.status)
    except (OSError, http.client.HTTPException) as ex:
        seq.append(repr(ex))
    finally:
        conn.close()
    t.eq(seq, [200, 400, 404, 201, 405, 200],
         "edges: six requests on one keep-alive connection (errors among them) all answered")


def big_body(size, name):
    head = b'{"name": "%s"' % name.encode()
    return head + b" " * (size - len(head) - 1) + b"}"


def test_too_large(t, srv):
    port = srv.port
    before = srv.count("journeys")
    name_ok = ks.uniq("exact")
    body = big_body(MiB, name_ok)
    assert len(body) == MiB
    r = srv.post("/api/v1/journeys", body)
    t.check(r[0] == 201 and isinstance(r[2], dict) and r[2].get("name") == name_ok,
            "413: a body of exactly 1 MiB is accepted (201)", ks.got(r[0], r[2]))

    name_big = ks.uniq("big")
    body = big_body(MiB + 1, name_big)
    head = (b"POST /api/v1/journeys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    try:
        r = ks.raw_exchange(port, head, [body])
        t.error(r, 413, "too_large", None, "413: Content-Length 1 MiB + 1 -> 413 too_large")
    except OSError as ex:
        t.check(False, "413: Content-Length 1 MiB + 1 -> 413 too_large", "no response: %s" % ex)

    head = (b"POST /api/v1/journeys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10737418240\r\nConnection: close\r\n\r\n")
    try:
        r = ks.raw_exchange(port, head, [b'{"name": "huge"'], timeout=10)
        t.error(r, 413, "too_large", None,
                "413: Content-Length 10 GiB -> 413 too_large at once (without waiting for the body)")
    except OSError as ex:
        t.check(False, "413: Content-Length 10 GiB -> 413 at once", "no response: %s" % ex)

    name_chunk = ks.uniq("chunked")
    body = big_body(MiB + 64 * 1024, name_chunk)
    chunks = []
    for i in range(0, len(body), 64 * 1024):
        part = body[i:i + 64 * 1024]
        chunks.append(b"%x\r\n" % len(part) + part + b"\r\n")
    chunks.append(b"0\r\n\r\n")
    head = (b"POST /api/v1/journeys HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    try:
        r = ks.raw_exchange(port, head, chunks)
        t.error(r, 413, "too_large", None, "413: chunked body of 1 MiB + 64 KiB -> 413 too_large")
    except OSError as ex:
        t.check(False, "413: chunked body over 1 MiB -> 413 too_large", "no response: %s" % ex)

    # a small chunked body is fine
    name_small = ks.uniq("smallchunk")
    body = b'{"name": "%s"}' % name_small.encode()
    chunks = [b"%x\r\n" % 5 + body[:5] + b"\r\n", b"%x\r\n" % (len(body) - 5) + body[5:] + b"\r\n",
              b"0\r\n\r\n"]
    try:
        r = ks.raw_exchange(port, head, chunks)
        t.check(r[0] == 201 and isinstance(r[2], dict) and r[2].get("name") == name_small,
                "chunked: a small chunked body -> 201", ks.got(r[0], r[2]))
    except OSError as ex:
        t.check(False, "chunked: a small chunked body -> 201", "no response: %s" % ex)

    names = {j.get("name") for j in srv.list_all("journeys")}
    t.check(name_big not in names and name_chunk not in names and "huge" not in names,
            "413: nothing written for the oversize bodies", "names include big/chunked ones")
    after = srv.count("journeys")
    t.check(after == before + 2, "413: journeys count grew by exactly the two accepted bodies",
            "before %d after %d" % (before, after))
    st, _, body = srv.get("/healthz")
    t.check(st == 200, "server still healthy after the oversize bodies", ks.got(st, body))


def main(t, srv):
    test_health(t, srv)
    tree = test_teams(t, srv)
    test_employees(t, srv, tree)
    test_customers(t, srv)
    journey = test_journeys_and_pagination(t, srv)
    survey = test_surveys(t, srv)
    test_touchpoints(t, srv, journey, survey)
    test_malformed(t, srv)
    test_routes(t, srv, tree)
    test_edges(t, srv, tree)
    test_too_large(t, srv)


if __name__ == "__main__":
    ks.run(main)
