#!/usr/bin/python3
"""Every route × every role (docs/API.md "Accounts and access").

EXPECT below is this test's own table — written from docs/API.md, not read
from the product: per route pattern and method, the roles that may call it
and the exact status of a valid request. For every route the test sends
that valid request as anonymous (no credentials), employee, team lead,
manager, director and admin, and requires exactly:
- public routes: the success status for everyone, anonymous included;
- other routes: 401 `unauthenticated` for anonymous, the success status for
  each allowed role, 403 `forbidden` with field null for every other role.

The product's route table (`klantstem routes`, printed from api_routes[] at
run time) must hold exactly the routes listed here: a new route the table
does not list fails the suite until its row is added here, and so does a
listed route that has gone.

The callers are scoped to one team: the employee works in it, the team lead
leads it, the manager leads its department; every {id} names a row inside
that scope, so a refusal can only come from the role check.
"""

import json
import glob
import os
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

ROLES = ("employee", "team_lead", "manager", "director", "admin")
CALLERS = ("anonymous",) + ROLES

PUBLIC = frozenset(CALLERS)
ANY = frozenset(ROLES)
LEADS = frozenset(("team_lead", "manager", "director", "admin"))
GLOBAL = frozenset(("director", "admin"))
ADMIN = frozenset(("admin",))
TEAM_LEAD_GLOBAL = frozenset(("team_lead", "director", "admin"))
MANAGER_GLOBAL = frozenset(("manager", "director", "admin"))  # issue 17 K

# (method, pattern) -> (who may call it, status of a valid request)
EXPECT = {
    ("GET", "/healthz"): (PUBLIC, 200),
    ("GET", "/readyz"): (PUBLIC, 200),  # issue 18 (ops): readiness
    ("POST", "/api/v1/auth/login"): (PUBLIC, 200),
    ("POST", "/api/v1/auth/logout"): (ANY, 200),
    ("GET", "/api/v1/auth/me"): (ANY, 200),
    ("POST", "/api/v1/auth/password"): (ANY, 200),
    ("POST", "/api/v1/auth/tokens"): (ANY, 201),
    ("GET", "/api/v1/users"): (ADMIN, 200),
    ("POST", "/api/v1/users"): (ADMIN, 201),
    # accounts and tokens (issue 11)
    ("GET", "/api/v1/auth/tokens"): (ANY, 200),
    ("DELETE", "/api/v1/auth/tokens/{id}"): (ANY, 200),
    ("GET", "/api/v1/users/{id}"): (ADMIN, 200),
    ("PATCH", "/api/v1/users/{id}"): (ADMIN, 200),
    ("DELETE", "/api/v1/users/{id}"): (ADMIN, 200),
    ("GET", "/api/v1/users/{id}/tokens"): (ADMIN, 200),
    # administration (issue 13): this server has no --smtp, so a valid
    # request is 503 field smtp; a reset with a made-up link is 422
    ("POST", "/api/v1/admin/smtp-test"): (ADMIN, 503),
    ("POST", "/api/v1/users/{id}/password-reset"): (ADMIN, 503),
    ("POST", "/api/v1/auth/reset"): (PUBLIC, 422),
    ("POST", "/api/v1/contacts"): (ADMIN, 201),
    ("GET", "/api/v1/contacts/{id}"): (GLOBAL, 200),
    ("POST", "/api/v1/responses"): (ADMIN, 201),
    ("GET", "/api/v1/responses"): (GLOBAL, 200),
    ("GET", "/api/v1/responses/{id}"): (GLOBAL, 200),
    ("GET", "/api/v1/metrics"): (ANY, 200),
    ("GET", "/api/v1/metrics/trend"): (ANY, 200),
    ("GET", "/api/v1/metrics/compare"): (ANY, 200),
    # attribute dimensions (issue 16, H5): the pickers' list, /metrics' roles
    ("GET", "/api/v1/metrics/dimensions"): (ANY, 200),
    # issue 17 (X): the breakdown as PDF or XLSX, /metrics' roles and scope
    ("GET", "/api/v1/metrics/export"): (ANY, 200),
    # theme analytics (issue 14): /metrics' roles
    ("GET", "/api/v1/themes"): (ANY, 200),
    # key drivers (issue 15): /metrics' roles and scope
    ("GET", "/api/v1/drivers"): (ANY, 200),
    ("GET", "/api/v1/drivers/top3"): (ANY, 200),
    ("GET", "/api/v1/drivers/moments"): (ANY, 200),
    ("GET", "/s/{token}"): (PUBLIC, 200),
    ("POST", "/s/{token}"): (PUBLIC, 201),
    ("GET", "/api/v1/rules"): (LEADS, 200),
    ("GET", "/api/v1/touchpoints/{id}/rule"): (LEADS, 200),
    ("PUT", "/api/v1/touchpoints/{id}/rule"): (ADMIN, 200),
    ("GET", "/api/v1/touchpoints/{id}/qr.svg"): (LEADS, 200),
    ("GET", "/api/v1/invitations"): (GLOBAL, 200),
    ("POST", "/api/v1/customers/{id}/opt-out"): (ADMIN, 200),
    ("GET", "/api/v1/opt-outs"): (GLOBAL, 200),
    ("GET", "/api/v1/customers/{id}/timeline"): (GLOBAL, 200),  # customer timeline (issue 16)
    ("GET", "/api/v1/funnel"): (GLOBAL, 200),
    ("GET", "/api/v1/funnel/representativeness"): (GLOBAL, 200),
    ("GET", "/u/{token}"): (PUBLIC, 200),
    ("POST", "/u/{token}"): (PUBLIC, 200),
    ("POST", "/api/v1/admin/clock"): (ADMIN, 200),
    ("POST", "/api/v1/admin/scheduler/run"): (ADMIN, 200),
    ("GET", "/api/v1/me/dashboard"): (ANY, 200),
    ("GET", "/api/v1/verbatims"): (ANY, 200),
    ("GET", "/api/v1/teams/{id}/wall"): (ANY, 200),
    ("GET", "/api/v1/teams/{id}/goals"): (ANY, 200),
    ("PUT", "/api/v1/teams/{id}/goals"): (LEADS, 200),
    ("POST", "/api/v1/responses/{id}/compliment"): (LEADS, 201),  # coaching (issue 13)
    ("GET", "/api/v1/employees/{id}/drivers"): (ANY, 200),  # coaching (issue 13): scoped inside
    ("GET", "/api/v1/teams/{id}/settings"): (ANY, 200),
    ("PUT", "/api/v1/teams/{id}/settings"): (TEAM_LEAD_GLOBAL, 200),
    ("GET", "/api/v1/settings"): (ANY, 200),
    # customer voice (issue 13): the logo is public (404 until one is uploaded)
    ("GET", "/logo"): (PUBLIC, 404),
    ("GET", "/api/v1/yesno"): (GLOBAL, 200),
    ("PUT", "/api/v1/settings"): (ADMIN, 200),
    ("GET", "/api/v1/cases"): (LEADS, 200),
    ("GET", "/api/v1/cases/stats"): (LEADS, 200),
    ("GET", "/api/v1/case-root-causes"): (LEADS, 200),
    ("GET", "/api/v1/cases/{id}"): (LEADS, 200),
    ("PATCH", "/api/v1/cases/{id}"): (LEADS, 200),
    ("POST", "/api/v1/cases/{id}/notes"): (LEADS, 201),
    ("POST", "/api/v1/cases/{id}/message-preview"): (LEADS, 200),  # one case (issue 13)
    ("GET", "/api/v1/alert-rules"): (LEADS, 200),
    ("PUT", "/api/v1/alert-rules/{id}"): (ADMIN, 200),
    ("GET", "/api/v1/actions"): (ANY, 200),
    ("POST", "/api/v1/actions"): (LEADS, 201),
    ("GET", "/api/v1/actions/{id}"): (ANY, 200),
    ("PATCH", "/api/v1/actions/{id}"): (LEADS, 200),
    ("GET", "/api/v1/actions/{id}/effect"): (ANY, 200),
    # privacy and audit (issue 11)
    ("GET", "/api/v1/customers/{id}/export"): (ADMIN, 200),
    ("POST", "/api/v1/customers/{id}/erase"): (ADMIN, 200),
    ("GET", "/api/v1/employees/{id}/export"): (ADMIN, 200),
    ("POST", "/api/v1/employees/{id}/erase"): (ADMIN, 200),
    ("GET", "/api/v1/retention"): (ADMIN, 200),
    ("PUT", "/api/v1/retention"): (ADMIN, 200),
    ("GET", "/api/v1/audit"): (ADMIN, 200),
    ("GET", "/api/v1/audit/export"): (ADMIN, 200),
    # open-link guard (issue 11): held answers (an empty batch is a valid one)
    ("GET", "/api/v1/suspect-responses"): (ADMIN, 200),
    ("POST", "/api/v1/suspect-responses/accept"): (ADMIN, 200),
    ("POST", "/api/v1/suspect-responses/reject"): (ADMIN, 200),
    # theme discovery (issue 14): admins, directors and managers
    ("GET", "/api/v1/themes/discover"): (frozenset(("manager", "director", "admin")), 200),
    # text analysis (issue 14): anyone analyses and reads the taxonomy;
    # admins change taxonomy and model; managers and up read model and
    # reanalysis. The matrix has too few labelled answers to train: 422.
    ("POST", "/api/v1/text/analyze"): (ANY, 200),
    ("GET", "/api/v1/text/taxonomy"): (ANY, 200),
    ("PUT", "/api/v1/text/taxonomy"): (ADMIN, 200),
    ("DELETE", "/api/v1/text/taxonomy"): (ADMIN, 200),
    ("POST", "/api/v1/text/taxonomy/themes"): (ADMIN, 201),
    ("GET", "/api/v1/text/model"): (frozenset(("manager", "director", "admin")), 200),
    ("PATCH", "/api/v1/text/model"): (ADMIN, 200),
    ("DELETE", "/api/v1/text/model"): (ADMIN, 200),
    ("POST", "/api/v1/text/model/train"): (ADMIN, 422),
    ("GET", "/api/v1/text/reanalyze"): (frozenset(("manager", "director", "admin")), 200),
    ("POST", "/api/v1/text/reanalyze"): (ADMIN, 202),
    # mentions (issue 16 H1): leads and up read (scoped to their units), admins write
    ("POST", "/api/v1/mentions"): (ADMIN, 200),
    ("GET", "/api/v1/mentions"): (LEADS, 200),
    ("GET", "/api/v1/mentions/summary"): (LEADS, 200),
    ("GET", "/api/v1/mentions/{id}"): (LEADS, 200),
    ("PUT", "/api/v1/mentions/{id}/reply"): (ADMIN, 200),
    ("GET", "/api/v1/mention-locations"): (GLOBAL, 200),
    ("PUT", "/api/v1/mention-locations"): (ADMIN, 200),
    ("DELETE", "/api/v1/mention-locations"): (ADMIN, 200),
    # public score widgets (issue 16): admins publish; the widget itself is public
    ("GET", "/api/v1/widgets"): (ADMIN, 200),
    ("PUT", "/api/v1/widgets"): (ADMIN, 200),
    ("GET", "/w/{token}"): (PUBLIC, 200),
    # review invitations (issue 16 H3): admins set them up, directors and
    # admins read the counts; the customer's link is public and redirects
    ("GET", "/api/v1/review-invitations/settings"): (ADMIN, 200),
    ("PUT", "/api/v1/review-invitations/settings"): (ADMIN, 200),
    ("GET", "/api/v1/review-invitations/stats"): (GLOBAL, 200),
    ("GET", "/r/{token}"): (PUBLIC, 303),
    # pollers (issue 16 H2): mention feeds, admins only
    ("GET", "/api/v1/mention-feeds"): (ADMIN, 200),
    ("POST", "/api/v1/mention-feeds"): (ADMIN, 201),
    ("GET", "/api/v1/mention-feeds/{id}"): (ADMIN, 200),
    ("PUT", "/api/v1/mention-feeds/{id}"): (ADMIN, 200),
    ("DELETE", "/api/v1/mention-feeds/{id}"): (ADMIN, 200),
    ("POST", "/api/v1/mention-feeds/{id}/run"): (ADMIN, 200),
    # internal data (issue 16 H4): admins (and their API tokens) import
    ("POST", "/api/v1/import/{kind}"): (ADMIN, 200),
    # relationship surveys (issue 16 H6): directors read, admins write
    ("GET", "/api/v1/relationship/waves"): (GLOBAL, 200),
    ("POST", "/api/v1/relationship/waves"): (ADMIN, 201),
    ("GET", "/api/v1/relationship/waves/{id}"): (GLOBAL, 200),
    ("PUT", "/api/v1/relationship/waves/{id}"): (ADMIN, 200),
    ("DELETE", "/api/v1/relationship/waves/{id}"): (ADMIN, 200),
    ("POST", "/api/v1/relationship/waves/{id}/draw"): (ADMIN, 200),
    ("POST", "/api/v1/relationship/waves/{id}/send"): (ADMIN, 200),
    ("GET", "/api/v1/relationship/waves/{id}/report"): (GLOBAL, 200),
    ("GET", "/api/v1/relationship/schedule"): (GLOBAL, 200),
    ("PUT", "/api/v1/relationship/schedule"): (ADMIN, 200),
    # KPIs (issue 17 K): directors, admins and managers (their units) read;
    # admins write the catalogue and values, directors and admins targets
    ("GET", "/api/v1/kpis"): (MANAGER_GLOBAL, 200),
    ("POST", "/api/v1/kpis"): (ADMIN, 201),
    ("POST", "/api/v1/kpis/import"): (ADMIN, 200),
    ("GET", "/api/v1/kpis/{id}"): (MANAGER_GLOBAL, 200),
    ("PUT", "/api/v1/kpis/{id}"): (ADMIN, 200),
    ("DELETE", "/api/v1/kpis/{id}"): (ADMIN, 200),
    ("GET", "/api/v1/kpis/{id}/values"): (MANAGER_GLOBAL, 200),
    ("PUT", "/api/v1/kpis/{id}/values"): (ADMIN, 200),
    ("GET", "/api/v1/kpi-series"): (MANAGER_GLOBAL, 200),
    ("GET", "/api/v1/kpi-targets"): (MANAGER_GLOBAL, 200),
    ("PUT", "/api/v1/kpi-targets"): (GLOBAL, 200),
    ("DELETE", "/api/v1/kpi-targets"): (GLOBAL, 200),
    # governance links (issue 17 L): directors and admins
    ("GET", "/api/v1/governance/links"): (GLOBAL, 200),
    ("GET", "/api/v1/governance/map"): (GLOBAL, 200),
    ("GET", "/api/v1/governance/overview"): (GLOBAL, 200),
    # scheduled digests (issue 17 D): admins set up and run; each user their own switch;
    # /d/{token} is the mail's unsubscribe link (GET asks, POST opts out)
    ("GET", "/api/v1/digests/settings"): (ADMIN, 200),
    ("PUT", "/api/v1/digests/settings"): (ADMIN, 200),
    ("POST", "/api/v1/digests/run"): (ADMIN, 202),
    ("GET", "/api/v1/digests"): (ADMIN, 200),
    ("GET", "/api/v1/me/digests"): (ANY, 200),
    ("PUT", "/api/v1/me/digests"): (ANY, 200),
    ("GET", "/d/{token}"): (PUBLIC, 200),
    ("POST", "/d/{token}"): (PUBLIC, 200),
    # employee pulse (issue 17 P): settings and waves the admins', results and
    # comments everyone's (scoped inside); /p/{token} the employee's answer page
    ("GET", "/api/v1/pulse/settings"): (GLOBAL, 200),
    ("PUT", "/api/v1/pulse/settings"): (ADMIN, 200),
    ("GET", "/api/v1/pulse/waves"): (ANY, 200),
    ("POST", "/api/v1/pulse/waves"): (ADMIN, 201),
    ("GET", "/api/v1/pulse/waves/{id}"): (ANY, 200),
    ("POST", "/api/v1/pulse/waves/{id}/close"): (ADMIN, 200),
    ("GET", "/api/v1/pulse/waves/{id}/comments"): (ANY, 200),
    ("GET", "/api/v1/pulse/results"): (ANY, 200),
    ("GET", "/p/{token}"): (PUBLIC, 200),
    ("POST", "/p/{token}"): (PUBLIC, 201),
}
# The generic resources: names are read by every role (they label every
# dashboard), customers only by directors and admins; all writes by admins.
for _res, _read in (("teams", ANY), ("employees", ANY), ("journeys", ANY), ("touchpoints", ANY),
                    ("surveys", ANY), ("customers", GLOBAL)):
    EXPECT[("GET", "/api/v1/" + _res)] = (_read, 200)
    EXPECT[("POST", "/api/v1/" + _res)] = (ADMIN, 201)
    EXPECT[("GET", "/api/v1/%s/{id}" % _res)] = (_read, 200)
    EXPECT[("PATCH", "/api/v1/%s/{id}" % _res)] = (ADMIN, 200)
    EXPECT[("PUT", "/api/v1/%s/{id}" % _res)] = (ADMIN, 200)

PASSWORD = "role-matrix-password"


def must(resp, status, what):
    st, _, body = resp
    if st != status:
        raise ks.FixtureError("%s -> expected %s, %s" % (what, status, ks.got(st, body)))
    return body


def route_table():
    rc, out, err = ks.run_cli(["routes"])
    if rc != 0:
        raise ks.FixtureError("klantstem routes -> %s: %s %s" % (rc, out[-500:], err[-2000:]))
    return json.loads(out)


def token_for(srv, email, password):
    """Log in and make an API token for that account (cookie + CSRF)."""
    st, hd, body = srv.post("/api/v1/auth/login", {"email": email, "password": password}, auth=False)
    if st != 200:
        raise ks.FixtureError("login %s -> %s" % (email, ks.got(st, body)))
    cookie = hd.get("Set-Cookie", "").split(";")[0]
    st, _, tok = srv.post("/api/v1/auth/tokens", {"name": "matrix"}, auth=False,
                          headers={"Cookie": cookie, "X-CSRF-Token": body["csrf_token"]})
    if st != 201:
        raise ks.FixtureError("token for %s -> %s" % (email, ks.got(st, tok)))
    return tok["token"]


class Ctx:
    """The fixture: one team in scope of every caller, and the rows the
    routes' {id} and {token} name."""

    def __init__(self, srv, now):
        self.srv = srv
        self.now = now
        f = ks.base_fixture(srv)
        self.f = f
        team, dept = f["team"]["id"], f["dept"]["id"]
        self.team = team
        self.users, self.tokens, self.passwords, self.emails = {}, {}, {}, {}
        for role, extra in (("employee", {"employee_id": f["emp1"]["id"]}), ("team_lead", {"unit_id": team}),
                            ("manager", {"unit_id": dept}), ("director", {})):
            email = "%s-%s@matrix.test" % (role, ks.uniq("u"))
            u = srv.create("users", dict({"email": email, "name": "Matrix " + role, "role": role,
                                          "password": PASSWORD}, **extra))
            self.users[role] = u["id"]
            self.tokens[role] = token_for(srv, email, PASSWORD)
            self.passwords[role] = PASSWORD
            self.emails[role] = email
        self.tokens["admin"] = srv.token
        self.passwords["admin"] = ks.ADMIN_PASSWORD
        st, _, me = srv.get("/api/v1/auth/me")
        self.users["admin"] = me["user"]["id"]
        self.emails["admin"] = me["user"]["email"]
        self.login_email = "login-%s@matrix.test" % ks.uniq("l")
        srv.create("users", {"email": self.login_email, "name": "Login target", "role": "director",
                             "password": PASSWORD})
        # invitations: a rule on tp2 and a customer with an address
        must(srv.request("PUT", "/api/v1/touchpoints/%d/rule" % f["tp2"]["id"],
                         {"delay_minutes": 0, "quiet_start_hour": 0, "quiet_end_hour": 0}),
             200, "PUT rule")
        self.cust_mail = srv.create("customers", {"external_id": ks.uniq("cm"), "name": "Ans Mail",
                                                  "email": "ans@example.nl"})
        c = must(srv.post("/api/v1/contacts", {"customer_id": self.cust_mail["id"], "touchpoint_id": f["tp2"]["id"],
                                               "channel": "phone", "employee_id": f["emp1"]["id"]}),
                 201, "contact with an invitation")
        if c.get("invitation", {}).get("decision") != "created":
            raise ks.FixtureError("no invitation: %s" % ks.short(c))
        self.unsub = srv.sql("SELECT unsubscribe_token FROM invitations WHERE id=?",
                             (c["invitation"]["id"],))[0][0]
        # a contact per caller for the survey page, and one to read
        self.survey_token = {}
        for who in CALLERS:
            c = must(srv.post("/api/v1/contacts", {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"],
                                                   "channel": "phone", "employee_id": f["emp1"]["id"]}),
                     201, "contact for /s/")
            self.survey_token[who] = c["token"]
        self.contact = c["id"]
        # an unhappy answer in the team: a case, and a response to read
        r = must(srv.post("/api/v1/responses", {"client_key": ks.uniq("rk"), "touchpoint_id": f["tp1"]["id"],
                                                "employee_id": f["emp1"]["id"], "customer_id": f["cust_en"]["id"],
                                                "channel": "phone", "answers": {"nps": 2, "open": "slecht"}}),
                 201, "unhappy response")
        self.response = r["id"]
        # coaching (issue 13): a Wall of Fame item in the team, to compliment
        r = must(srv.post("/api/v1/responses", {"client_key": ks.uniq("rk"), "touchpoint_id": f["tp1"]["id"],
                                                "employee_id": f["emp1"]["id"], "customer_id": f["cust_nl"]["id"],
                                                "channel": "phone", "answers": {"nps": 10, "open": "top"}}),
                 201, "happy response")
        self.praise = r["id"]
        cases = must(srv.get("/api/v1/cases?customer_id=%d" % f["cust_en"]["id"]), 200, "cases")["items"]
        if len(cases) < 1:
            raise ks.FixtureError("the unhappy response opened no case")
        self.case = cases[0]["id"]
        self.alert_rule = must(srv.get("/api/v1/alert-rules"), 200, "alert rules")["items"][0]["id"]
        a = must(srv.post("/api/v1/actions", {"title": "Terugbellen", "owner_id": self.users["team_lead"],
                                              "start_date": "2026-01-05", "team_id": team,
                                              "touchpoint_id": f["tp1"]["id"]}), 201, "action")
        self.action = a["id"]
        self.optout_customer = srv.create("customers", {"external_id": ks.uniq("oo")})["id"]
        # rows the generic writes change (their own, so nothing else moves)
        self.row = {
            "teams": srv.create("teams", {"name": ks.uniq("T"), "kind": "team", "parent_id": dept})["id"],
            "employees": srv.create("employees", {"team_id": team, "first_name": "P", "last_name": "Q"})["id"],
            "journeys": srv.create("journeys", {"name": ks.uniq("J")})["id"],
            "touchpoints": srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": ks.uniq("TP")})["id"],
            "surveys": srv.create("surveys", {"name": ks.uniq("S"), "questions": ks.survey_questions()})["id"],
            "customers": srv.create("customers", {"external_id": ks.uniq("C")})["id"],
        }

    def refresh_tokens(self):
        """New API tokens for every caller (a password change revokes them
        all); the admin's becomes the harness's token too."""
        for role in ROLES:
            self.tokens[role] = token_for(self.srv, self.emails[role], self.passwords[role])
        self.srv.token = self.tokens["admin"]
        ks.register_token(self.srv.port, self.tokens["admin"])

    def fresh_token(self, who):
        """The id of a new API token of who (to revoke: not the one it calls with)."""
        if who == "anonymous":
            return 1
        return must(self.srv.post("/api/v1/auth/tokens", {"name": "matrix revoke"},
                                  headers={"Authorization": "Bearer " + self.tokens[who]}), 201, "token to revoke")["id"]

    def fresh_user(self):
        """The id of a new account (to delete)."""
        return self.srv.create("users", {"email": "%s@gone.test" % ks.uniq("g"), "name": "To delete",
                                         "role": "director", "password": PASSWORD})["id"]

    def new_body(self, res):
        f = self.f
        return {
            "teams": {"name": ks.uniq("T"), "kind": "team", "parent_id": f["dept"]["id"]},
            "employees": {"team_id": self.team, "first_name": "N", "last_name": ks.uniq("E")},
            "journeys": {"name": ks.uniq("J")},
            "touchpoints": {"journey_id": f["journey"]["id"], "name": ks.uniq("TP")},
            "surveys": {"name": ks.uniq("S"), "questions": ks.survey_questions()},
            "customers": {"external_id": ks.uniq("C")},
        }[res]

    def widget(self):
        """public score widgets (issue 16): one published widget of the
        organisation, made at first use (admin), kept by every PUT."""
        if getattr(self, "_widget", None) is None:
            item = {"scope": "organisation", "scope_id": self.f["org"]["id"], "measure": "grade",
                    "period": "2026", "enabled": True}
            st, _, b = self.srv.request("PUT", "/api/v1/widgets", {"widgets": [item]})
            if st != 200:
                raise ks.FixtureError("PUT /api/v1/widgets -> %s" % ks.got(st, b))
            w = b["widgets"][0]
            self._widget = {k: w[k] for k in ("token", "scope", "scope_id", "measure", "period", "enabled")}
        return self._widget

    def mention(self):
        """mentions (issue 16 H1): one review linked to the callers' team
        (its location mapped to the team), made at first use (admin)."""
        if getattr(self, "_mention", None) is None:
            loc = ks.uniq("Winkel")
            must(self.srv.request("PUT", "/api/v1/mention-locations", {"location": loc, "unit_id": self.team}),
                 200, "PUT mention-locations")
            must(self.srv.post("/api/v1/mentions", [{"source": "matrix", "source_id": loc, "location": loc,
                                                     "created_at": "2026-01-05", "rating": 4, "text": "Prima"}]),
                 200, "POST mentions")
            self._mention = self.srv.sql("SELECT id FROM mentions WHERE source_id = ?", (loc,))[0][0]
        return self._mention

    def digest_token(self):
        """scheduled digests (issue 17 D): an unsubscribe token of the
        admin's. The token goes into the store the way a digest's claim puts
        it (its SHA-256), as no digest is sent here."""
        if getattr(self, "_digest_token", None) is None:
            import hashlib
            import secrets
            tok = secrets.token_hex(16)
            con = ks.db_connect(self.srv.db)  # issue 18 (PGS-A): SQLite or PostgreSQL
            try:
                con.execute("INSERT INTO digest_unsub_tokens (token_hash, user_id, created_at)"
                            " SELECT ?, min(id), 0 FROM users WHERE role = 'admin'",
                            (hashlib.sha256(tok.encode()).hexdigest(),))
                con.commit()
            finally:
                con.close()
            self._digest_token = tok
        return self._digest_token

    def pulse_close_open(self):
        """employee pulse (issue 17 P): one wave may be open at a time (409
        otherwise): close the open one before a new wave."""
        for w in must(self.srv.get("/api/v1/pulse/waves"), 200, "GET pulse waves")["items"]:
            if w["status"] == "open":
                must(self.srv.post("/api/v1/pulse/waves/%d/close" % w["id"]), 200, "close pulse wave")

    def pulse_link(self, fresh):
        """employee pulse (issue 17 P): a link of emp1's invitation in a new
        wave (a fresh one for every answer). The token goes into the row the
        way the mail pass puts it (its SHA-256), as no mail is sent here."""
        if fresh or getattr(self, "_pulse_link", None) is None:
            import hashlib
            self.pulse_close_open()
            wid = must(self.srv.post("/api/v1/pulse/waves", {}), 201, "POST pulse wave")["id"]
            tok = "matrix" + ks.uniq("p").replace("-", "")
            con = ks.db_connect(self.srv.db)  # issue 18 (PGS-A): SQLite or PostgreSQL
            try:
                con.execute("UPDATE pulse_invitations SET token_hash = ? WHERE wave_id = ? AND employee_id = ?",
                            (hashlib.sha256(tok.encode()).hexdigest(), wid, self.f["emp1"]["id"]))
                con.commit()
            finally:
                con.close()
            self._pulse_wave = wid
            self._pulse_link = "/p/" + tok
        return self._pulse_link

    def review_link(self):
        """review invitations (issue 16 H3): one invitation's link, made at
        first use (admin switches them on, a promoter answers)."""
        if getattr(self, "_review", None) is None:
            srv = self.srv
            st, _, b = srv.request("PUT", "/api/v1/review-invitations/settings",
                                   {"url": "https://reviews.example.com/x", "enabled": True})
            if st != 200:
                raise ks.FixtureError("PUT review settings -> %s" % ks.got(st, b))
            cu = srv.create("customers", {"external_id": ks.uniq("rv"), "email": "rv@example.nl"})
            c = srv.create("contacts", {"customer_id": cu["id"], "touchpoint_id": self.f["tp1"]["id"],
                                        "channel": "web"})
            st, _, page = srv.form("/s/" + c["token"], {"nps": "10"})
            i = page.find('href="/r/') if isinstance(page, str) else -1
            if st != 201 or i < 0:
                raise ks.FixtureError("promoter answer without a review link: %s" % ks.got(st, page))
            self._review = page[i + 6:page.index('"', i + 6)]
        return self._review

    def feed(self, fresh=False):
        """pollers (issue 16 H2): the id of a mention feed (disabled; its URL
        refuses connections, so a run fails at once and answers 200); a new
        one when fresh (to delete)."""
        if fresh or getattr(self, "_feed", None) is None:
            st, _, b = self.srv.request("POST", "/api/v1/mention-feeds",
                                        {"name": ks.uniq("feed"), "format": "generic-json",
                                         "url": "http://127.0.0.1:9/feed.json", "enabled": False})
            if st != 201:
                raise ks.FixtureError("POST /api/v1/mention-feeds -> %s" % ks.got(st, b))
            if fresh:
                return b["id"]
            self._feed = b["id"]
        return self._feed

    def kpi(self, fresh=False):
        """KPIs (issue 17 K): the id of a KPI of the catalogue (not builtin:
        a builtin one cannot be deleted); a new one when fresh."""
        if fresh or getattr(self, "_kpi", None) is None:
            st, _, b = self.srv.request("POST", "/api/v1/kpis", {
                "key": ks.uniq("mk").replace("-", "_"), "name_nl": "Matrix", "name_en": "Matrix", "unit": "EUR",
                "higher_is_better": False, "department": "operations", "kind": "output", "aggregation": "mean"})
            if st != 201:
                raise ks.FixtureError("POST /api/v1/kpis -> %s" % ks.got(st, b))
            if fresh:
                return b["id"]
            self._kpi = b["id"]
        return self._kpi

    def rel_wave(self, drawn):
        """relationship surveys (issue 16 H6): a fresh draft wave, or one
        drawn (for send and report); every call a new one, since draw and
        send change its state."""
        st, _, b = self.srv.request("POST", "/api/v1/relationship/waves",
                                    {"name": ks.uniq("wave"), "survey_id": self.f["survey"]["id"], "sample_size": 2})
        if st != 201:
            raise ks.FixtureError("POST /api/v1/relationship/waves -> %s" % ks.got(st, b))
        if drawn:
            must(self.srv.request("POST", "/api/v1/relationship/waves/%d/draw" % b["id"], None), 200, "draw")
        return b["id"]

    def change_body(self, res):
        return {"teams": {"name": ks.uniq("T")}, "employees": {"first_name": ks.uniq("F")},
                "journeys": {"description": ks.uniq("D")}, "touchpoints": {"position": 7},
                "surveys": {"name": ks.uniq("S")}, "customers": {"name": ks.uniq("N")}}[res]

    def request(self, method, pattern, who):
        """(path, body, headers) of a valid request of this route by who."""
        f, srv = self.f, self.srv
        parts = pattern.strip("/").split("/")
        res = parts[2] if len(parts) > 2 and parts[0] == "api" else None
        body, headers = None, {}
        key = (method, pattern)
        ids = {
            "/api/v1/contacts/{id}": self.contact, "/api/v1/responses/{id}": self.response,
            "/api/v1/touchpoints/{id}/rule": f["tp2"]["id"], "/api/v1/touchpoints/{id}/qr.svg": f["tp1"]["id"],
            "/api/v1/customers/{id}/opt-out": self.optout_customer,
            "/api/v1/customers/{id}/timeline": self.optout_customer,  # customer timeline (issue 16)
            "/api/v1/cases/{id}": self.case, "/api/v1/cases/{id}/notes": self.case,
            "/api/v1/cases/{id}/message-preview": self.case,  # one case (issue 13)
            "/api/v1/alert-rules/{id}": self.alert_rule,
            "/api/v1/actions/{id}": self.action, "/api/v1/actions/{id}/effect": self.action,
            "/api/v1/responses/{id}/compliment": self.praise,  # coaching (issue 13)
            "/api/v1/employees/{id}/drivers": f["emp1"]["id"],  # coaching (issue 13)
        }
        if "/teams/{id}/" in pattern:
            path = pattern.replace("{id}", str(self.team))
        elif pattern in ids:
            path = pattern.replace("{id}", str(ids[pattern]))
        elif pattern.endswith("/{id}") and res in self.row:
            path = pattern.replace("{id}", str(self.row[res]))
        else:
            path = pattern
        if pattern.startswith("/api/v1/mentions/{id}"):  # mentions (issue 16 H1)
            path = pattern.replace("{id}", str(self.mention()))
        if key == ("DELETE", "/api/v1/mention-locations"):  # a fresh mapping each time
            loc = ks.uniq("Weg")
            if who == "admin":
                must(srv.request("PUT", "/api/v1/mention-locations", {"location": loc, "unit_id": self.team}),
                     200, "PUT mention-locations")
            path += "?location=" + loc
        if pattern == "/s/{token}":
            path = "/s/" + self.survey_token[who]
        elif pattern == "/u/{token}":
            path = "/u/" + self.unsub
        elif pattern == "/w/{token}":  # public score widgets (issue 16)
            path = "/w/" + self.widget()["token"]
        elif pattern.startswith("/api/v1/mention-feeds/{id}"):  # pollers (issue 16 H2)
            path = pattern.replace("{id}", str(self.feed(fresh=method == "DELETE")))
        elif pattern == "/r/{token}":  # review invitations (issue 16 H3)
            path = self.review_link()
        elif pattern == "/d/{token}":  # scheduled digests (issue 17 D)
            path = "/d/" + self.digest_token()
        elif pattern == "/p/{token}":  # employee pulse (issue 17 P)
            path = self.pulse_link(fresh=method == "POST")
        elif pattern.startswith("/api/v1/pulse/waves/{id}"):
            if pattern.endswith("/close"):  # a wave of its own (the link's is closed: one open at a time)
                self.pulse_close_open()
                self._pulse_link = None
                path = pattern.replace("{id}", str(must(srv.post("/api/v1/pulse/waves", {}), 201, "wave")["id"]))
            else:
                self.pulse_link(fresh=False)
                path = pattern.replace("{id}", str(self._pulse_wave))
            if pattern.endswith("/comments"):
                path += "?unit_id=%d" % self.team
        elif pattern.startswith("/api/v1/kpis/{id}"):  # KPIs (issue 17 K): a fresh one to delete
            path = pattern.replace("{id}", str(self.kpi(fresh=method == "DELETE")))
        elif pattern == "/api/v1/import/{kind}":  # internal data (issue 16 H4)
            path = "/api/v1/import/products"
        elif pattern.startswith("/api/v1/relationship/waves/{id}"):  # relationship surveys (issue 16 H6)
            drawn = pattern.endswith("/send") or pattern.endswith("/report")
            path = pattern.replace("{id}", str(self.rel_wave(drawn)))
        elif pattern in ("/api/v1/users/{id}", "/api/v1/users/{id}/tokens"):
            path = pattern.replace("{id}", str(self.fresh_user() if method == "DELETE" else self.users["director"]))
        elif key == ("DELETE", "/api/v1/auth/tokens/{id}"):
            path = pattern.replace("{id}", str(self.fresh_token(who)))
        if pattern.startswith("/api/v1/customers/{id}/e"):  # privacy (issue 11): a fresh person each time
            path = pattern.replace("{id}", str(srv.create("customers", {"external_id": ks.uniq("gd")})["id"]))
        elif pattern.startswith("/api/v1/employees/{id}/e"):
            path = pattern.replace("{id}", str(srv.create("employees", {"team_id": self.team, "first_name": "G",
                                                                      "last_name": "D"})["id"]))
        if key == ("POST", "/api/v1/auth/login"):
            body = {"email": self.login_email, "password": PASSWORD}
        elif key == ("POST", "/api/v1/auth/password"):
            pw = self.passwords.get(who, PASSWORD)
            body = {"current_password": pw, "new_password": pw}
        elif key == ("POST", "/api/v1/auth/tokens"):
            body = {"name": "matrix " + who}
        elif key == ("POST", "/api/v1/users"):
            body = {"email": "%s@new.test" % ks.uniq("n"), "name": "New", "role": "director", "password": PASSWORD}
        elif key == ("PATCH", "/api/v1/users/{id}"):
            body = {"name": "Matrix director"}
        elif key in (("DELETE", "/api/v1/users/{id}"), ("DELETE", "/api/v1/auth/tokens/{id}")):
            body = None
        elif method == "POST" and pattern == "/api/v1/" + str(res) and res in self.row:
            body = self.new_body(res)
        elif method in ("PATCH", "PUT") and res in self.row and pattern.endswith("/{id}"):
            body = self.change_body(res)
        elif key == ("POST", "/api/v1/contacts"):
            body = {"customer_id": f["cust_nl"]["id"], "touchpoint_id": f["tp1"]["id"], "channel": "web"}
        elif key == ("POST", "/api/v1/responses"):
            body = {"client_key": ks.uniq("m"), "touchpoint_id": f["tp1"]["id"], "answers": {"nps": 9}}
        elif key == ("GET", "/api/v1/teams/{id}/wall"):
            path += "?kind=fame"
        elif key == ("GET", "/api/v1/metrics/compare"):
            path += "?a.period=2026-01&b.period=2026-02"
        elif key == ("GET", "/api/v1/metrics/export"):  # issue 17 (X): format is required
            path += "?format=xlsx&lang=en"
        elif key == ("GET", "/api/v1/drivers"):  # key drivers (issue 15)
            path += "?bootstrap=0"
        elif key == ("GET", "/api/v1/drivers/top3"):
            path += "?bootstrap=0&team_id=%d" % self.team
        elif key == ("GET", "/api/v1/drivers/moments"):
            path += "?bootstrap=0&journey_id=%d" % f["journey"]["id"]
        elif key == ("GET", "/api/v1/governance/links"):  # issue 17 L: the lag is required
            path += "?soft=nps&hard=cost_to_serve&lag=2"
        elif key == ("GET", "/api/v1/governance/map"):  # issue 17 L
            path += "?lag=1"
        elif key == ("PUT", "/api/v1/kpis/{id}"):  # KPIs (issue 17 K)
            body = {"name_en": "Matrix KPI " + who}
        elif key == ("DELETE", "/api/v1/kpis/{id}"):
            body = None
        elif key == ("POST", "/api/v1/kpis"):
            body = {"key": ks.uniq("mk").replace("-", "_"), "name_nl": "Matrix", "name_en": "Matrix",
                    "unit": "EUR", "higher_is_better": False, "department": "operations", "kind": "output",
                    "aggregation": "mean"}
        elif key == ("PUT", "/api/v1/kpis/{id}/values"):
            body = {"values": [{"unit_id": self.team, "period": "2026-01", "value": 12.5}]}
        elif key == ("POST", "/api/v1/kpis/import"):
            body = "kpi,unit,period,value\ncost_to_serve,%d,2026-02,11\n" % self.team
        elif key == ("GET", "/api/v1/kpi-series"):
            path += "?kpi=cost_to_serve&level=team&from=2026-01&to=2026-03"
        elif key == ("PUT", "/api/v1/kpi-targets"):
            body = {"kpi": "nps", "unit_id": self.team, "period": "2026", "target": 30}
        elif key == ("DELETE", "/api/v1/kpi-targets"):  # a fresh target each time
            period = "2027-%02d" % (1 + len(getattr(self, "_targets", [])) % 12)
            self._targets = getattr(self, "_targets", []) + [period]
            if who in ("director", "admin"):
                must(srv.request("PUT", "/api/v1/kpi-targets", {"kpi": "nps", "unit_id": self.team,
                                                                "period": period, "target": 20}), 200, "PUT kpi-targets")
            path += "?kpi=nps&unit_id=%d&period=%s" % (self.team, period)
        elif key == ("GET", "/api/v1/pulse/results"):  # employee pulse (issue 17 P)
            path += "?wave=%d" % self._pulse_wave if getattr(self, "_pulse_wave", None) else ""
            if "?" not in path:
                self.pulse_link(fresh=False)
                path += "?wave=%d" % self._pulse_wave
        elif key == ("PUT", "/api/v1/pulse/settings"):
            body = {"enabled": False}
        elif key == ("POST", "/api/v1/pulse/waves"):
            body = {}
            self.pulse_close_open()  # one open wave at a time
            self._pulse_link = None
        elif key == ("POST", "/api/v1/pulse/waves/{id}/close"):
            body = None
        elif key == ("POST", "/p/{token}"):
            body = urllib.parse.urlencode({"enps": "8", "i1": "4", "i2": "4", "i3": "4"}).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        elif key == ("POST", "/s/{token}"):
            body = urllib.parse.urlencode({"nps": "8"}).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
        elif key == ("PUT", "/api/v1/touchpoints/{id}/rule"):
            body = {"delay_minutes": 0, "quiet_start_hour": 0, "quiet_end_hour": 0}
        elif key == ("POST", "/api/v1/admin/clock"):
            body = {"now": ks.iso(self.now)}
        elif key == ("PUT", "/api/v1/teams/{id}/goals"):
            body = {"period": "2026-Q4", "metric": "nps", "target": 30}
        elif key == ("POST", "/api/v1/responses/{id}/compliment"):  # coaching (issue 13)
            body = {"note": "van " + who}
        elif key == ("PUT", "/api/v1/teams/{id}/settings"):
            body = {"share_colleague_scores": False}
        elif key == ("PUT", "/api/v1/settings"):
            body = {"verbatim_detail": "band"}
        elif key == ("POST", "/api/v1/mention-feeds"):  # pollers (issue 16 H2)
            body = {"name": "matrix " + who, "format": "social", "url": "http://127.0.0.1:9/posts",
                    "enabled": False}
        elif key == ("PUT", "/api/v1/mention-feeds/{id}"):
            body = {"name": "matrix " + who}
        elif key in (("DELETE", "/api/v1/mention-feeds/{id}"), ("POST", "/api/v1/mention-feeds/{id}/run")):
            body = None
        elif key == ("PUT", "/api/v1/review-invitations/settings"):  # issue 16 H3
            body = {"min_nps": 9}
        elif key == ("POST", "/api/v1/import/{kind}"):  # internal data (issue 16 H4)
            body = [{"external_id": ks.uniq("prod"), "name": "Product " + who}]
        elif key == ("POST", "/api/v1/relationship/waves"):  # relationship surveys (issue 16 H6)
            body = {"name": "wave " + who, "survey_id": f["survey"]["id"], "sample_size": 2}
        elif key == ("PUT", "/api/v1/relationship/schedule"):
            body = {"enabled": False}
        elif key == ("PUT", "/api/v1/digests/settings"):  # scheduled digests (issue 17 D)
            body = {"items": [{"role": "director", "hour": 9}]}
        elif key == ("PUT", "/api/v1/me/digests"):
            body = {"digests": True}
        elif key in (("POST", "/api/v1/digests/run"), ("POST", "/d/{token}")):
            body = None
        elif key == ("PUT", "/api/v1/relationship/waves/{id}"):
            body = {"name": "wave " + who}
        elif key in (("DELETE", "/api/v1/relationship/waves/{id}"), ("POST", "/api/v1/relationship/waves/{id}/draw"),
                     ("POST", "/api/v1/relationship/waves/{id}/send")):
            body = None
        elif key == ("PATCH", "/api/v1/cases/{id}"):
            st, _, c = srv.get("/api/v1/cases/%d" % self.case)
            body = {"version": c["version"] if st == 200 else -1, "root_cause": "price"}
        elif key == ("POST", "/api/v1/cases/{id}/notes"):
            body = {"text": "gebeld door " + who}
        elif key == ("POST", "/api/v1/cases/{id}/message-preview"):  # one case (issue 13)
            body = {"customer_message": "Beste {customer_name},\n\nWe hebben het opgelost.\n\n" + who}
        elif key == ("PUT", "/api/v1/alert-rules/{id}"):
            body = {"sla_hours": 48}
        elif key == ("POST", "/api/v1/actions"):
            body = {"title": "Actie " + who, "owner_id": self.users["team_lead"], "start_date": "2026-02-02",
                    "team_id": self.team, "touchpoint_id": f["tp1"]["id"]}
        elif key == ("PATCH", "/api/v1/actions/{id}"):
            body = {"description": "door " + who}
        elif key in (("POST", "/api/v1/customers/{id}/erase"), ("POST", "/api/v1/employees/{id}/erase")):
            body = {"confirm": True}
        elif key == ("PUT", "/api/v1/retention"):
            body = {"open_text": 24}
        elif key == ("POST", "/api/v1/admin/smtp-test"):  # administration (issue 13)
            body = {}
        elif key == ("POST", "/api/v1/users/{id}/password-reset"):
            path = pattern.replace("{id}", str(self.users["director"]))
            body = {}
        elif key == ("POST", "/api/v1/auth/reset"):
            body = {"token": "1.9999999999." + "0" * 64, "new_password": "ein-neues-passwort"}
        elif key in (("POST", "/api/v1/suspect-responses/accept"), ("POST", "/api/v1/suspect-responses/reject")):
            body = {"ids": []}
        elif key == ("POST", "/api/v1/text/analyze"):  # text analysis (issue 14)
            body = {"text": "Prima geholpen door " + who}
        elif key == ("PUT", "/api/v1/text/taxonomy"):
            st, _, tx = srv.get("/api/v1/text/taxonomy")
            body = tx["taxonomy"] if st == 200 else {}
        elif key == ("POST", "/api/v1/text/taxonomy/themes"):
            body = {"id": ks.uniq("matrix").replace("-", "_"), "label": {"nl": "Matrix", "en": "Matrix"},
                    "terms": {"nl": ["matrixwoord"]}}
        elif key == ("PATCH", "/api/v1/text/model"):
            body = {"retrain_days": 7}
        elif key in (("DELETE", "/api/v1/text/taxonomy"), ("DELETE", "/api/v1/text/model"),
                     ("POST", "/api/v1/text/model/train"), ("POST", "/api/v1/text/reanalyze")):
            body = None
        elif key == ("POST", "/api/v1/mentions"):  # mentions (issue 16 H1)
            body = [{"source": "matrix", "source_id": ks.uniq("p"), "created_at": "2026-01-06", "text": "Goed"}]
        elif key == ("PUT", "/api/v1/mentions/{id}/reply"):
            body = {"draft": "Dank! " + who}
        elif key == ("PUT", "/api/v1/mention-locations"):
            body = {"location": ks.uniq("Plaats"), "unit_id": self.team}
        elif key == ("DELETE", "/api/v1/mention-locations"):
            body = None
        elif key == ("PUT", "/api/v1/widgets"):  # public score widgets (issue 16): the list kept
            body = {"widgets": [self.widget()]}
        elif method != "GET" and key not in (("POST", "/api/v1/auth/logout"), ("POST", "/u/{token}"),
                                            ("POST", "/api/v1/admin/scheduler/run"),
                                            ("POST", "/api/v1/customers/{id}/opt-out")):
            raise ks.FixtureError("no request body written for %s %s" % key)
        if who != "anonymous":
            headers["Authorization"] = "Bearer " + self.tokens[who]
        return path, body, headers


def main(t):
    now = int(time.time())
    srv = ks.Server(t, args=["--test-clock", ks.iso(now), "--quiet"])
    try:
        hz = srv.start()
        t.eq(hz, {"status": "ok", "schema_version": max(int(os.path.basename(p)[:3]) for p in glob.glob(os.path.join(ks.REPO, "src/store/migrations/[0-9][0-9][0-9]_*.sql")))},
             "server starts in test mode")
        run(t, srv, now)
    finally:
        srv.stop()
        srv.cleanup()


def run(t, srv, now):
    table = route_table()
    have = {(r["method"], r["pattern"]) for r in table}
    unlisted = sorted(have - set(EXPECT))
    t.check(not unlisted, "every route of the product's table has a row in this test's table (%d routes)"
            % len(have), "routes without a row in EXPECT (add them, with their roles):\n" +
            "\n".join("%s %s" % k for k in unlisted))
    gone = sorted(set(EXPECT) - have)
    t.check(not gone, "every route this test lists is in the product's table",
            "\n".join("%s %s" % k for k in gone))
    t.eq(len(table), len(have), "the route table has no duplicate method + pattern")

    ctx = Ctx(srv, now)
    for key in sorted(EXPECT, key=lambda k: (k[1], k[0])):
        if key not in have:
            continue
        allowed, ok_status = EXPECT[key]
        wrong = []
        for who in CALLERS:
            path, body, headers = ctx.request(key[0], key[1], who)
            st, hd, b = srv.request(key[0], path, body, headers=headers, auth=who != "anonymous")
            if who in allowed:
                want = ok_status
            elif who == "anonymous":
                want = 401
            else:
                want = 403
            err = b.get("error") if isinstance(b, dict) else None
            if st != want:
                wrong.append("%s: %s, expected %s (%s)" % (who, st, want, ks.short(b, 160)))
            elif want == 401 and (not isinstance(err, dict) or err.get("code") != "unauthenticated"):
                wrong.append("%s: 401 without code unauthenticated: %s" % (who, ks.short(b, 160)))
            elif want == 403 and (not isinstance(err, dict) or err.get("code") != "forbidden"
                                  or err.get("field") is not None):
                wrong.append("%s: 403 without code forbidden, field null: %s" % (who, ks.short(b, 160)))
        if key == ("POST", "/api/v1/auth/password"):
            ctx.refresh_tokens()
        names = "public" if allowed == PUBLIC else ",".join(r for r in ROLES if r in allowed)
        t.check(not wrong, "%s %s: %s -> %d, others 401/403" % (key[0], key[1], names, ok_status),
                "\n".join(wrong))


if __name__ == "__main__":
    ks.run(main, start_server=False)
