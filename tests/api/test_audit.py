#!/usr/bin/python3
"""The audit log (docs/PRIVACY.md, section 9; docs/API.md, "Audit log"): one
entry for each kind of action — login, failed login, exports (CSV figures, a
GDPR export, the audit log itself), user changes, invitation and alert rules,
settings, cases, goals, actions, erasures — with the actor, the client address,
the object and a detail that holds no password, token or score; GET
/api/v1/audit with its filters (actor, action, from/to) and keyset paging; the
CSV and JSON-lines export; admins only; and the table is append-only: UPDATE
and DELETE fail in the database itself."""

import csv
import io
import json
import os
import sys
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
from test_dashboard import PASSWORD, Session, make_user  # noqa: E402


def audit(srv, query=""):
    st, _, b = srv.get("/api/v1/audit?limit=500" + ("&" + query if query else ""))
    if st != 200:
        raise ks.FixtureError("GET /api/v1/audit?%s -> %s" % (query, ks.got(st, b)))
    return b["items"]


def last(srv, action):
    items = audit(srv, "action=" + action)
    return items[0] if items else {}


def main(t, srv):
    f = ks.base_fixture(srv)
    admin_id = srv.sql("SELECT id FROM users WHERE role = 'admin' ORDER BY id LIMIT 1")[0][0]
    expect = []  # (action, object_kind, object_id, actor) in the order done

    # ---- logins ----
    lead = make_user(srv, "team_lead", "Lotte Lead", unit_id=f["team"]["id"])
    e = last(srv, "user.create")
    t.eq((e.get("actor_user_id"), e.get("object_kind"), e.get("object_id"), e.get("detail")),
         (admin_id, "user", lead.user["id"], {"role": "team_lead"}), "user.create: actor, object, detail (role)")
    e = last(srv, "auth.login")
    t.eq((e.get("actor_user_id"), e.get("object_id"), e.get("client_addr")), (lead.user["id"], lead.user["id"], "127.0.0.1"),
         "auth.login: the user, from 127.0.0.1")
    st, _, b = srv.post("/api/v1/auth/login", {"email": lead.email, "password": "not-the-password-1"}, auth=False)
    t.check(st == 401, "a failed login: 401", ks.got(st, b))
    e = last(srv, "auth.login_failed")
    t.eq((e.get("actor_user_id"), e.get("detail")), (None, {"email": lead.email}),
         "auth.login_failed: no actor, the e-mail tried (never the password)")

    # ---- user change ----
    st, _, b = srv.patch("/api/v1/users/%d" % lead.user["id"], {"name": "Lotte L."})
    t.check(st == 200, "PATCH user: 200", ks.got(st, b))
    e = last(srv, "user.update")
    t.eq((e.get("actor_user_id"), e.get("object_id")), (admin_id, lead.user["id"]), "user.update: actor and user")

    # ---- rules and settings ----
    st, _, b = srv.request("PUT", "/api/v1/touchpoints/%d/rule" % f["tp1"]["id"], {"sample_pct": 50})
    t.check(st == 200, "PUT rule: 200", ks.got(st, b))
    e = last(srv, "rule.update")
    t.eq((e.get("object_kind"), e.get("object_id")), ("touchpoint", f["tp1"]["id"]), "rule.update: the touchpoint")
    st, _, b = srv.request("PUT", "/api/v1/alert-rules/4", {"words": "opzeggen,klacht", "enabled": True,
                                                             "sla_hours": 24})
    t.check(st == 200, "PUT alert rule: 200", ks.got(st, b))
    e = last(srv, "alert_rule.update")
    t.eq((e.get("object_kind"), e.get("object_id"), e.get("detail", {}).get("kind")), ("alert_rule", 4, "words"),
         "alert_rule.update: the rule")
    st, _, b = srv.request("PUT", "/api/v1/settings", {"verbatim_detail": "anonymous"})
    t.check(st == 200, "PUT settings: 200", ks.got(st, b))
    e = last(srv, "settings.update")
    t.eq(e.get("detail"), {"verbatim_detail": "anonymous"}, "settings.update: the new value")
    st, _, b = srv.request("PUT", "/api/v1/settings", {"form_of_address": "u", "organisation_name": "Audit BV"})
    t.check(st == 200, "PUT settings (the voice): 200", ks.got(st, b))
    t.eq(last(srv, "settings.update").get("detail"),
         {"form_of_address": "u", "organisation_name": "Audit BV", "logo_bytes": 0},
         "settings.update: the voice's new values only (no verbatim_detail, no logo bytes)")
    st, _, b = srv.request("PUT", "/api/v1/teams/%d/settings" % f["team"]["id"], {"share_colleague_scores": True})
    t.check(st == 200, "PUT team settings: 200", ks.got(st, b))
    t.eq(last(srv, "team_settings.update").get("object_id"), f["team"]["id"], "team_settings.update: the team")

    # ---- goal ----
    st, _, b = lead.put("/api/v1/teams/%d/goals" % f["team"]["id"], {"period": "2026-Q3", "metric": "nps", "target": 30})
    t.check(st == 200, "PUT goal (as the team lead): 200", ks.got(st, b))
    e = last(srv, "goal.set")
    t.eq((e.get("actor_user_id"), e.get("object_id"), e.get("detail")),
         (lead.user["id"], f["team"]["id"], {"period": "2026-Q3", "metric": "nps", "target": 30.0}),
         "goal.set: the lead, the team, period/metric/target")

    # ---- action ----
    st, _, a = srv.post("/api/v1/actions", {"title": "Terugbellen", "owner_id": admin_id,
                                            "start_date": "2026-05-01", "team_id": f["team"]["id"]})
    t.check(st == 201, "POST action: 201", ks.got(st, a))
    t.eq(last(srv, "action.create").get("object_id"), a.get("id"), "action.create: the action")
    st, _, b = srv.patch("/api/v1/actions/%d" % a.get("id", 0), {"status": "in_progress"})
    t.check(st == 200, "PATCH action: 200", ks.got(st, b))
    t.eq(last(srv, "action.update").get("detail"), {"from": "planned", "status": "in_progress"},
         "action.update: the status step")

    # ---- case ----
    c = srv.create("contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                "channel": "phone", "employee_id": f["emp1"]["id"]})
    st, _, r = srv.post("/api/v1/responses", {"contact_id": c["id"], "answers": {"nps": 1, "open": "slecht"}})
    case = srv.get("/api/v1/cases?customer_id=%d" % f["cust_nl"]["id"])[2]["items"][0]
    st, _, b = srv.patch("/api/v1/cases/%d" % case["id"], {"version": case["version"], "status": "contacted"})
    t.check(st == 200, "PATCH case: 200", ks.got(st, b))
    e = last(srv, "case.update")
    t.eq((e.get("object_kind"), e.get("object_id"), e.get("detail")), ("case", case["id"], {"status": "contacted"}),
         "case.update: the case and its new status")
    st, _, b = srv.post("/api/v1/cases/%d/notes" % case["id"], {"text": "Gebeld, geheime notitie"})
    t.check(st == 201, "POST note: 201", ks.got(st, b))
    e = last(srv, "case.note")
    t.eq((e.get("object_id"), e.get("detail")), (case["id"], {}), "case.note: the case, not the note's text")

    # ---- exports ----
    st, _, b = srv.get("/api/v1/metrics?group_by=team&format=csv")
    t.check(st == 200, "metrics CSV: 200", ks.got(st, b))
    e = last(srv, "export.metrics")
    t.eq(e.get("detail"), {"format": "csv", "path": "/api/v1/metrics"}, "export.metrics: the CSV export")
    st, _, b = srv.get("/api/v1/customers/%d/export" % f["cust_en"]["id"])
    t.check(st == 200, "GDPR export: 200", ks.got(st, b))
    e = last(srv, "export.customer")
    t.eq((e.get("object_kind"), e.get("object_id"), e.get("actor_user_id")), ("customer", f["cust_en"]["id"], admin_id),
         "export.customer: who exported whom")

    # ---- erasure ----
    st, _, b = srv.post("/api/v1/customers/%d/erase" % f["cust_en"]["id"])
    t.check(st == 200, "erase: 200", ks.got(st, b))
    e = last(srv, "customer.erase")
    t.check(e.get("object_id") == f["cust_en"]["id"] and e.get("actor_user_id") == admin_id
            and e.get("detail", {}).get("erasure_id") == b.get("erasure_id")
            and isinstance(e.get("detail", {}).get("counts"), dict),
            "customer.erase: who, whom, the erasure id and counts", ks.short(e))
    st, _, b = srv.request("PUT", "/api/v1/retention", {"open_text": 36})
    t.eq(last(srv, "retention.update").get("detail"), {"open_text": 36}, "retention.update: the change")

    # ---- no secrets, no scores ----
    everything = audit(srv)
    blob = json.dumps(everything)
    for secret in (PASSWORD, "not-the-password-1", ks.ADMIN_PASSWORD, srv.token, "geheime notitie", "slecht"):
        t.check(secret not in blob, "no entry holds %r" % secret[:12])
    t.check(not any(k in ("nps", "grade", "ces", "password", "token") for x in everything for k in x["detail"]),
            "no detail has a score or secret member")
    t.check(all(ks.iso_ok(x["at"]) for x in everything), "every entry has an ISO time")

    # ---- reading: filters and paging ----
    mine = audit(srv, "actor=%d" % lead.user["id"])
    t.check(mine and all(x["actor_user_id"] == lead.user["id"] for x in mine)
            and {x["action"] for x in mine} >= {"auth.login", "goal.set"},
            "filter actor: only the lead's entries", ks.short(mine))
    none = audit(srv, "actor=none")
    t.check(none and all(x["actor_user_id"] is None for x in none), "filter actor=none: system and anonymous")
    auth_items = audit(srv, "action=auth.*")
    t.check(auth_items and all(x["action"].startswith("auth.") for x in auth_items)
            and {"auth.login", "auth.login_failed"} <= {x["action"] for x in auth_items},
            "filter action=auth.*: a prefix", ks.short(auth_items))
    ids = [x["id"] for x in everything]
    t.check(ids == sorted(ids, reverse=True), "newest first")
    paged, cursor = [], None
    for _ in range(100):
        st, _, b = srv.get("/api/v1/audit?limit=3" + ("&cursor=%d" % cursor if cursor else ""))
        paged += [x["id"] for x in b["items"]]
        cursor = b["next_cursor"]
        if cursor is None:
            break
    t.eq(paged, ids, "keyset paging (limit 3) gives every entry once, in order")
    future = audit(srv, "from=2099-01-01")
    t.eq(future, [], "filter from: nothing from 2099 on")
    t.eq(len(audit(srv, "to=2000-01-01")), 0, "filter to: nothing before 2000")
    for q, field in (("action=Bad%20Name", "action"), ("limit=0", "limit"), ("actor=x", "actor"),
                     ("from=yesterday", "from"), ("colour=red", "colour")):
        st, _, b = srv.get("/api/v1/audit?" + q)
        t.check(st == 422 and b.get("error", {}).get("field") == field, "GET /audit?%s: 422 naming %s" % (q, field),
                ks.got(st, b))
    st, _, b = lead.get("/api/v1/audit")
    t.check(st == 403, "a team lead may not read the audit log: 403", ks.got(st, b))

    # ---- export ----
    st, hd, body = srv.get("/api/v1/audit/export?format=csv&action=auth.*")
    rows = list(csv.DictReader(io.StringIO(body))) if st == 200 and isinstance(body, str) else []
    t.check(st == 200 and "csv" in (hd.get("Content-Type") or "") and rows
            and all(r["action"].startswith("auth.") for r in rows)
            and {r["action"] for r in rows} >= {"auth.login", "auth.login_failed"},
            "export CSV: the filtered entries, parsed by Python's csv", ks.got(st, body))
    st, hd, body = srv.get("/api/v1/audit/export?format=jsonl")
    lines = [json.loads(x) for x in body.splitlines()] if st == 200 and isinstance(body, str) else []
    t.check(st == 200 and lines and lines[0]["action"] == "audit.export"
            and len(lines) == len(everything) + 2,
            "export JSON lines: every entry, the CSV export's and this export's own entries first",
            ks.short((st, len(lines), len(everything))))
    st, _, b = srv.get("/api/v1/audit/export?format=xml")
    t.check(st == 422 and b.get("error", {}).get("field") == "format", "export format=xml: 422 naming format",
            ks.got(st, b))

    # ---- append-only in the database itself ----
    # (issue 18: SQLite's triggers or PostgreSQL's; a connection per
    # statement, closed uncommitted, so a failed one leaves nothing open)
    for sql in ("UPDATE audit_log SET action = 'x' WHERE id = 1", "DELETE FROM audit_log WHERE id = 1",
                "DELETE FROM audit_log"):
        con = ks.db_connect(srv.db)
        try:
            con.execute(sql)
            con.commit()
            t.check(False, "%s fails" % sql)
        except Exception as ex:  # sqlite3's or psycopg2's error: the message tells
            t.check("append-only" in str(ex), "%s fails: %s" % (sql, ex))
        finally:
            con.close()
    t.eq(srv.sql("SELECT count(*) FROM audit_log WHERE action = 'x'")[0][0], 0, "the entries are unchanged")


if __name__ == "__main__":
    ks.run(main)
