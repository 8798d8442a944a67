#!/usr/bin/python3
"""The group-commit writer under concurrent intake (issue 18, INGEST).

The writer writes a batch of responses without a savepoint per response and,
when one of them fails, rolls that pass back and writes the batch again with
a savepoint each; it reads the alert rules, team leads and managers once per
transaction; a new case's triggers and history go in one statement each.
This test posts many responses at once — new ones (most opening a case, in
three teams: one with a lead, one whose department has a manager, none) mixed
with retries and reuses of one client_key (409) — and checks that every
answer is right and every case is exactly what the closed loop promises,
computed here from the seeded rules (nps <= 6, grade <= 5, words
'opzeggen,klacht,cancel,complaint'; docs/API.md, "Cases (closed loop)")."""

import os
import sys
import threading

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
from test_dashboard import make_user  # noqa: E402

N = 90          # new responses
THREADS = 12


def user_id(srv, role, name, unit_id):
    s = make_user(srv, role, name, unit_id=unit_id)
    rows = srv.sql("SELECT id, email FROM users WHERE name = ? ORDER BY id DESC", (name,))
    if not rows:
        raise ks.FixtureError("user %s not stored (%r)" % (name, s))
    return rows[0][0], rows[0][1]


def main(t, srv):
    f = ks.base_fixture(srv)
    team_a = f["team"]["id"]  # no lead; its department has a manager
    team_b = srv.create("teams", {"name": "Team Zuid " + ks.uniq("z"), "kind": "team",
                                  "parent_id": f["dept"]["id"]})["id"]
    lead_id, lead_mail = user_id(srv, "team_lead", "Lotte Lead Batch", team_b)
    mgr_id, mgr_mail = user_id(srv, "manager", "Mark Manager Batch", f["dept"]["id"])
    tp = f["tp1"]["id"]
    tag = ks.uniq("ib")

    def body(i):
        ans = {"nps": i % 11, "grade": 1 + (i * 7) % 10}
        if i % 5 == 0:
            ans["open"] = "Een KLACHT over de monteur (%d)" % i
        b = {"client_key": "%s-%d" % (tag, i), "touchpoint_id": tp, "answers": ans}
        team = (None, team_a, team_b)[i % 3]
        if team:
            b["team_id"] = team
        return b

    # the key others will retry and reuse
    k0 = {"client_key": tag + "-k0", "touchpoint_id": tp, "answers": {"nps": 9}}
    st, _, r0 = srv.post("/api/v1/responses", k0)
    t.check(st == 201 and isinstance(r0, dict), "first response with key k0 -> 201", ks.got(st, r0))
    k0_id = r0.get("id") if isinstance(r0, dict) else None
    k0_other = {"client_key": tag + "-k0", "touchpoint_id": tp, "answers": {"nps": 2}}

    # each thread: its share of the new responses, a retry of k0 and a reuse
    # of k0 with another body every third request
    got_new, got_retry, got_reuse = {}, [], []
    lock = threading.Lock()

    def worker(w):
        for j, i in enumerate(range(w, N, THREADS)):
            st, _, r = srv.post("/api/v1/responses", body(i))
            with lock:
                got_new[i] = (st, r)
            if j % 3 == 0:
                st, _, r = srv.post("/api/v1/responses", k0)
                with lock:
                    got_retry.append((st, r))
                st, _, r = srv.post("/api/v1/responses", k0_other)
                with lock:
                    got_reuse.append((st, r))

    ths = [threading.Thread(target=worker, args=(w,)) for w in range(THREADS)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()

    bad_new = [(i, ks.got(*v)) for i, v in sorted(got_new.items())
               if v[0] != 201 or not isinstance(v[1], dict) or v[1].get("client_key") != "%s-%d" % (tag, i)]
    t.check(len(got_new) == N and not bad_new, "all %d new responses -> 201 with their own client_key" % N,
            bad_new[:3])
    bad_retry = [ks.got(*v) for v in got_retry
                 if v[0] != 200 or not isinstance(v[1], dict) or v[1].get("id") != k0_id]
    t.check(got_retry and not bad_retry, "%d retries of k0 -> 200 with k0's id" % len(got_retry), bad_retry[:3])
    bad_reuse = [ks.got(*v) for v in got_reuse
                 if v[0] != 409 or not isinstance(v[1], dict)
                 or (v[1].get("error") or {}).get("field") != "client_key"]
    t.check(got_reuse and not bad_reuse, "%d reuses of k0 with another body -> 409 naming client_key"
            % len(got_reuse), bad_reuse[:3])

    ids = {i: v[1]["id"] for i, v in got_new.items() if v[0] == 201 and isinstance(v[1], dict)}
    stored = srv.sql("SELECT count(*) FROM responses WHERE client_key LIKE ?", (tag + "-%",))[0][0]
    t.eq(stored, N + 1, "stored: the new responses and k0 once")

    # the cases, as the rules promise them
    want = {}
    for i in range(N):
        nps, grade = i % 11, 1 + (i * 7) % 10
        fired = []
        if nps <= 6:
            fired.append("nps_max")
        if grade <= 5:
            fired.append("grade_max")
        if i % 5 == 0:
            fired.append("words")
        if fired:
            team = (None, team_a, team_b)[i % 3]
            want[i] = {"rules": fired, "priority": 2 if "words" in fired else 1,
                       "owner": lead_id if team == team_b else 0,
                       "mail": lead_mail if team == team_b else (mgr_mail if team == team_a else None)}
    rows = srv.sql("SELECT c.response_id, c.id, c.rule, c.priority, coalesce(c.owner_user_id, 0), c.status,"
                   " coalesce(c.team_id, 0) FROM cases c JOIN responses r ON r.id = c.response_id"
                   " WHERE r.client_key LIKE ?", (tag + "-%",))
    by_resp = {r[0]: r for r in rows}
    idx = {v: k for k, v in ids.items()}
    t.eq(sorted(idx.get(r[0], -1) for r in rows), sorted(want), "a case for exactly the responses a rule fired on")
    case_of = {idx.get(r[0]): r[1] for r in rows}
    wrong = []
    for i, w in sorted(want.items()):
        r = by_resp.get(ids.get(i))
        if r is None:
            continue
        if (r[2], r[3], r[4], r[5]) != (w["rules"][0], w["priority"], w["owner"], "new"):
            wrong.append((i, r, w))
    t.check(not wrong, "each case: its first rule, priority (2 with a signal word), owner (the team's lead), new",
            wrong[:3])

    hist = {}
    for cid, kind, rule, det, rid in srv.sql(
            "SELECT case_id, kind, coalesce(rule, ''), coalesce(detail, ''), coalesce(response_id, 0)"
            " FROM case_history ORDER BY id"):
        hist.setdefault(cid, []).append((kind, rule, det, rid))
    wrong = []
    for i, w in sorted(want.items()):
        cid = case_of.get(i)
        rid = ids.get(i)
        exp = [("opened", w["rules"][0], "", rid)] + [("trigger", k, "", rid) for k in w["rules"]]
        if w["priority"] == 2:
            exp.append(("priority", "", "1>2", 0))
        if hist.get(cid) != exp:
            wrong.append((i, hist.get(cid), exp))
    t.check(not wrong, "each case's history in order: opened, a trigger per rule, priority 1>2 for a signal word",
            wrong[:2])

    trig = {}
    for cid, rule, rid, en, nl in srv.sql("SELECT case_id, rule, response_id, reason_en, reason_nl"
                                          " FROM case_triggers ORDER BY id"):
        trig.setdefault(cid, []).append((rule, rid, en, nl))
    wrong = []
    for i, w in sorted(want.items()):
        nps, grade = i % 11, 1 + (i * 7) % 10
        reasons = {"nps_max": ("NPS %d (at most 6)" % nps, "NPS %d (hoogstens 6)" % nps),
                   "grade_max": ("grade %d (at most 5)" % grade, "cijfer %d (hoogstens 5)" % grade),
                   "words": ('signal word "klacht" in the open answer',
                             'signaalwoord "klacht" in het open antwoord')}
        exp = [(k, ids.get(i)) + reasons[k] for k in w["rules"]]
        if trig.get(case_of.get(i)) != exp:
            wrong.append((i, trig.get(case_of.get(i)), exp))
    t.check(not wrong, "each case's triggers: one per rule, with the reason in both languages", wrong[:2])

    cr = srv.sql("SELECT case_id, response_id FROM case_responses")
    t.eq(sorted(cr), sorted((case_of[i], ids[i]) for i in want if i in case_of and i in ids),
         "case_responses: each case holds its own response")

    mails = {}
    for cid, kind, to in srv.sql("SELECT case_id, kind, to_email FROM case_mails"):
        mails.setdefault(cid, []).append((kind, to))
    wrong = []
    for i, w in sorted(want.items()):
        exp = [("opened", w["mail"])] if w["mail"] else None
        if mails.get(case_of.get(i)) != exp:
            wrong.append((i, mails.get(case_of.get(i)), exp))
    t.check(not wrong, "'opened' mail: to the team's lead, else the manager above the team, none without a team",
            wrong[:3])

    # a rule change is seen by the next responses (the writer's rule memory
    # lasts one transaction)
    st, _, rules = srv.get("/api/v1/alert-rules")
    nps_rule = next((r for r in (rules or {}).get("items", []) if r.get("kind") == "nps_max"), None)
    if nps_rule is None:
        raise ks.FixtureError("no nps_max rule: %s" % ks.got(st, rules))
    put = {k: v for k, v in nps_rule.items() if v is not None and k not in ("id", "kind", "updated_at")}
    put["threshold"] = 2
    st, _, r = srv.request("PUT", "/api/v1/alert-rules/%d" % nps_rule["id"], put)
    t.check(st == 200, "PUT nps_max threshold 2 -> 200", ks.got(st, r))
    after = {}
    for nps in (3, 2):
        st, _, r = srv.post("/api/v1/responses", {"client_key": "%s-after-%d" % (tag, nps), "touchpoint_id": tp,
                                                  "answers": {"nps": nps}})
        after[nps] = r.get("id") if st == 201 and isinstance(r, dict) else None
    n3 = srv.sql("SELECT count(*) FROM cases WHERE response_id = ?", (after[3] or 0,))[0][0]
    n2 = srv.sql("SELECT count(*) FROM cases WHERE response_id = ?", (after[2] or 0,))[0][0]
    t.check(after[3] and after[2] and (n3, n2) == (0, 1),
            "after the change: nps 3 opens no case, nps 2 opens one", (after, n3, n2))


if __name__ == "__main__":
    ks.run(main)
