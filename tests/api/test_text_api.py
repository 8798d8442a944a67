#!/usr/bin/python3
"""The text API (issue 14; docs/API.md "Text analysis"): POST /text/analyze,
the taxonomy (GET, PUT, DELETE, POST themes), the sentiment model (GET,
PATCH, train, DELETE), the reanalysis (GET, POST, resumed after a kill)
and the verbatim explorer's theme= and sentiment= filters.

Expected values come from outside the server: the analysis of a sentence
is what `klantstem text analyze` prints for it (the same code, run as the
analyst's command, with --taxonomy FILE for an edited taxonomy); the
labelled examples and their classes are counted from what this test
posted (NPS 0-6 negative, 7-8 neutral, 9-10 positive); the evaluation is
checked for its own consistency (accuracy = trace / n of the confusion
matrix, rows = the classes' counts); the reanalysis's resumption is read
from the rows in the database file."""

import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

MIXED = "Vriendelijk personeel, maar ik moest veel te lang wachten en de factuur klopte niet"
PRAISE = "The technician was friendly and helpful"
PARKING_NL = "De parkeerplaats bij het kantoor was helemaal vol"
PARKING_EN = "Parking was a nightmare"
PARKING = {"id": "parking", "label": {"nl": "Parkeren", "en": "Parking"},
           "terms": {"nl": ["parkeerplaats", "parkeren"], "en": ["parking"]}}


def cli_analyze(texts, lang=None, taxonomy=None):
    """`klantstem text analyze --format jsonl` on the texts, one per line."""
    args = [ks.binary(), "text", "analyze", "--format", "jsonl"]
    if lang:
        args += ["--lang", lang]
    if taxonomy:
        args += ["--taxonomy", taxonomy]
    p = subprocess.run(args, input="\n".join(texts) + "\n", capture_output=True, text=True,
                       env=ks.sanitizer_env(), timeout=60)
    if p.returncode != 0:
        raise ks.FixtureError("klantstem text analyze: %s %s" % (p.returncode, p.stderr[-2000:]))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def api_from_cli(c):
    """The CLI's jsonl row in the shape of POST /text/analyze."""
    return {"language": c["lang"], "language_source": c["lang_source"],
            "sentiment": {"label": c["sentiment"], "score": c["score"]}, "from_model": c["model"],
            "themes": [{"theme": h["theme"], "subtheme": h["subtheme"], "sentiment": h["sentiment"],
                        "score": h["score"], "mentions": h["mentions"]} for h in c["themes"]]}


def stored_from_cli(c):
    """The analysis as GET /responses and /verbatims show it."""
    return {"language": c["lang"], "sentiment": {"label": c["sentiment"], "score": c["score"]},
            "themes": [{"theme": h["theme"], "subtheme": h["subtheme"], "sentiment": h["sentiment"]}
                       for h in c["themes"]]}


def rounded(an):
    if isinstance(an, dict) and isinstance(an.get("sentiment"), dict) \
            and isinstance(an["sentiment"].get("score"), float):
        an = dict(an)
        an["sentiment"] = dict(an["sentiment"], score=round(an["sentiment"]["score"], 3))
    return an


class Poster:
    def __init__(self, srv, f):
        self.srv, self.f, self.labelled, self.texts = srv, f, [], []

    def post(self, text, nps, lang="nl"):
        f = self.f
        answers = {}
        if nps is not None:
            answers["nps"] = nps
        if text:
            answers["open"] = text
        body = {"touchpoint_id": f["tp1"]["id"], "team_id": f["team"]["id"], "employee_id": f["emp1"]["id"],
                "customer_id": f["cust_" + lang]["id"], "channel": "phone", "language": lang,
                "received_at": "2026-11-02T10:00:00Z", "answers": answers}
        st, _, r = self.srv.post("/api/v1/responses", body)
        if st != 201:
            raise ks.FixtureError("POST /api/v1/responses -> %s" % ks.got(st, r))
        if text:
            self.texts.append(r["id"])
            if nps is not None:
                self.labelled.append((r["id"], 0 if nps <= 6 else 1 if nps <= 8 else 2))
        return r["id"]


def wait_job(srv, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st, _, j = srv.get("/api/v1/text/reanalyze")
        if st == 200 and not j.get("running"):
            return j
        time.sleep(0.1)
    raise ks.FixtureError("the reanalysis did not finish within %d s" % timeout)


def check_analyze(t, srv):
    want = [api_from_cli(c) for c in cli_analyze([MIXED, PRAISE])]
    st, _, a = srv.post("/api/v1/text/analyze", {"text": MIXED})
    t.eq((st, a), (200, want[0]), "analyze: a mixed Dutch sentence = what `klantstem text analyze` prints")
    st, _, a = srv.post("/api/v1/text/analyze", {"text": PRAISE, "language": "auto"})
    t.eq((st, a), (200, want[1]), "analyze: an English one, language auto = the CLI's")
    forced = api_from_cli(cli_analyze(["ok"], lang="en")[0])
    st, _, a = srv.post("/api/v1/text/analyze", {"text": "ok", "language": "en"})
    t.eq((st, a), (200, forced), "analyze: language en decides the language as the CLI's --lang en")
    t.eq(forced["language"], "en", "... and it is en")
    t.error(srv.post("/api/v1/text/analyze", {"language": "nl"}), 422, "invalid", "text",
            "analyze: no text -> 422 field text")
    t.error(srv.post("/api/v1/text/analyze", {"text": 5}), 422, "invalid", "text",
            "analyze: text not a string -> 422 field text")
    t.error(srv.post("/api/v1/text/analyze", {"text": "a" * 20001}), 422, "out_of_range", "text",
            "analyze: 20001 bytes -> 422 field text")
    st, _, a = srv.post("/api/v1/text/analyze", {"text": "a" * 20000})
    t.eq(st, 200, "analyze: 20000 bytes is still taken")
    t.error(srv.post("/api/v1/text/analyze", {"text": "goed", "language": "de"}), 422, "invalid", "language",
            "analyze: language de -> 422 field language")
    t.error(srv.post("/api/v1/text/analyze", {"text": "goed", "lang": "nl"}), 422, "invalid", "lang",
            "analyze: an unknown member -> 422 naming it")


BAD_TAXONOMIES = [
    ("version 2", lambda d: d.update(version=2), "version"),
    ("no themes", lambda d: d.update(themes=[]), "themes"),
    ("unknown field in a theme", lambda d: d["themes"][0].update(colour="red"), "themes[0].colour"),
    ("an id with capitals", lambda d: d["themes"][1].update(id="Wacht Tijd"), "themes[1].id"),
    ("the same theme id twice", lambda d: d["themes"][2].update(id=d["themes"][0]["id"]), "themes[2].id"),
    ("an empty term", lambda d: d["themes"][2]["subthemes"][0]["terms"]["nl"].insert(1, ""),
     "themes[2].subthemes[0].terms.nl[1]"),
    ("a label without en", lambda d: d["themes"][3]["label"].pop("en"), "themes[3].label.en"),
    ("a theme id longer than 47", lambda d: d["themes"][4].update(id="a" * 48), "themes[4].id"),
    ("subthemes not an array", lambda d: d["themes"][0].update(subthemes={}), "themes[0].subthemes"),
    # the analytics index keeps an answer's themes as a 64-bit set
    ("65 themes", lambda d: d["themes"].extend(
        {"id": "extra_%d" % i, "label": {"nl": "Extra %d" % i, "en": "Extra %d" % i},
         "subthemes": [{"id": "extra_%d" % i, "label": {"nl": "Extra", "en": "Extra"},
                        "terms": {"nl": ["extra%d" % i], "en": ["extra%d" % i]}}]}
        for i in range(65 - len(d["themes"]))), "themes"),
]


def check_taxonomy(t, srv, default_tax):
    st, _, g = srv.get("/api/v1/text/taxonomy")
    t.eq((st, g), (200, {"default": True, "version": 0, "updated_at": None, "taxonomy": default_tax}),
         "GET taxonomy: the shipped default (= `klantstem text taxonomy`), version 0, never updated")
    for name, change, field in BAD_TAXONOMIES:
        d = json.loads(json.dumps(default_tax))
        change(d)
        t.error(srv.request("PUT", "/api/v1/text/taxonomy", d), 422, "invalid", field,
                "PUT taxonomy, %s -> 422 field %s" % (name, field))
    st, _, r = srv.request("PUT", "/api/v1/text/taxonomy", b"{not json",
                           headers={"Content-Type": "application/json"})
    t.eq(st, 400, "PUT taxonomy: a body that is not JSON -> 400")
    st, _, g2 = srv.get("/api/v1/text/taxonomy")
    t.eq(g2, g, "GET taxonomy: unchanged after the refusals")
    st, _, j = srv.get("/api/v1/text/reanalyze")
    t.eq((st, j), (200, {"running": False, "done": 0, "total": 0, "reason": None, "started_at": None,
                          "finished_at": None}),
         "GET reanalyze: no job ever ran (a refused change starts none)")


def check_theme_add(t, srv, p, default_tax, tmpdir):
    # the answers before the theme exists
    ids = [p.post(PARKING_NL, 3, "nl"), p.post(PARKING_EN, None, "en"), p.post(MIXED, 6, "nl")]
    st, _, r = srv.get("/api/v1/responses/%d" % ids[0])
    t.check(st == 200 and not any(h["theme"] == "parking" for h in (r.get("analysis") or {}).get("themes", [1])),
            "before: the parking answer carries no parking theme", ks.got(st, r))

    t.error(srv.post("/api/v1/text/taxonomy/themes", dict(PARKING, id="waiting_time")), 409, "conflict", "id",
            "POST themes: an id the taxonomy has -> 409 field id")
    t.error(srv.post("/api/v1/text/taxonomy/themes", dict(PARKING, colour="red")), 422, "invalid", "colour",
            "POST themes: an unknown member -> 422 naming it")
    t.error(srv.post("/api/v1/text/taxonomy/themes", dict(PARKING, terms={"nl": ["parkeren", ""]})), 422,
            "invalid", "terms.nl[1]", "POST themes: an empty term -> 422 field terms.nl[1]")
    t.error(srv.post("/api/v1/text/taxonomy/themes", dict(PARKING, label={"nl": "Parkeren"})), 422,
            "invalid", "label.en", "POST themes: a label without en -> 422 field label.en")
    t.error(srv.post("/api/v1/text/taxonomy/themes", dict(PARKING, id="Park ing")), 422, "invalid", "id",
            "POST themes: a bad id -> 422 field id")

    st, _, g = srv.post("/api/v1/text/taxonomy/themes", PARKING)
    want_tax = json.loads(json.dumps(default_tax))
    want_tax["themes"].append({"id": "parking", "label": PARKING["label"],
                               "subthemes": [{"id": "parking", "label": PARKING["label"], "terms": PARKING["terms"]}]})
    t.check(st == 201 and g.get("default") is False and g.get("version") == 1 and ks.iso_ok(g.get("updated_at"))
            and g.get("taxonomy") == want_tax,
            "POST themes -> 201: the default + the new theme (one sub-theme of the same id), version 1",
            ks.got(st, g))
    job = wait_job(srv)
    n_texts = srv.sql("SELECT count(*) FROM responses WHERE open_text IS NOT NULL AND open_text <> ''")[0][0]
    t.check(job["reason"] == "taxonomy" and job["done"] == n_texts and job["total"] == n_texts
            and ks.iso_ok(job["started_at"]) and ks.iso_ok(job["finished_at"]),
            "GET reanalyze: the change's job (reason taxonomy) went over all %d answers" % n_texts, ks.short(job))

    tax_file = os.path.join(tmpdir, "tax.json")
    with open(tax_file, "w") as fh:
        json.dump(want_tax, fh)
    want = cli_analyze([PARKING_NL, PARKING_EN, MIXED], taxonomy=tax_file)
    t.check(any(h["theme"] == "parking" for h in want[0]["themes"]) and
            any(h["theme"] == "parking" for h in want[1]["themes"]),
            "the CLI with the new taxonomy finds parking in both parking answers", ks.short(want))
    got = [rounded(srv.get("/api/v1/responses/%d" % i)[2].get("analysis")) for i in ids]
    t.eq(got, [stored_from_cli(c) for c in want],
         "after the reanalysis the stored answers carry what the CLI gives with the new taxonomy")

    st, _, a = srv.post("/api/v1/text/analyze", {"text": PARKING_NL})
    t.eq((st, a), (200, api_from_cli(want[0])), "analyze uses the new taxonomy at once")
    st, _, au = srv.get("/api/v1/audit?action=text.theme_add")
    t.check(st == 200 and len(au.get("items", [])) == 1, "audit: one text.theme_add entry", ks.got(st, au))
    return ids, want_tax


def check_put_delete(t, srv, want_tax):
    st, _, g = srv.request("PUT", "/api/v1/text/taxonomy", want_tax)
    t.check(st == 200 and g["version"] == 2 and g["default"] is False and g["taxonomy"] == want_tax,
            "PUT taxonomy (valid) -> 200, version 2", ks.got(st, g))
    wait_job(srv)
    st, _, g = srv.request("DELETE", "/api/v1/text/taxonomy")
    t.check(st == 200 and g["version"] == 3 and g["default"] is True and
            not any(th["id"] == "parking" for th in g["taxonomy"]["themes"]),
            "DELETE taxonomy -> 200: the default again, version 3", ks.got(st, g))
    wait_job(srv)
    st, _, v = srv.get("/api/v1/verbatims?theme=parking")
    t.error((st, _, v), 422, "invalid", "theme", "verbatims: theme=parking after the reset -> 422 (no such theme)")
    # an answer still analysed under an older taxonomy (as between a change
    # and the end of its reanalysis) names a theme the taxonomy lacks: the
    # explorer takes that id while a stored analysis has it
    rid = srv.sql("SELECT response_id FROM text_analysis ORDER BY response_id LIMIT 1")[0][0]
    con = ks.db_connect(srv.db)
    con.execute("INSERT INTO text_themes(response_id, theme, subtheme, label, score, mentions)"
                " VALUES(?, 'legacy_theme', 'legacy_theme', 'negative', -0.5, 1)", (rid,))
    con.commit()
    st, _, v = srv.get("/api/v1/verbatims?theme=legacy_theme&limit=500")
    t.check(st == 200 and [i["response_id"] for i in v.get("items", [])] == [rid],
            "verbatims: a theme only an older analysis names -> 200, exactly that answer", ks.got(st, ks.short(v)))
    con.execute("DELETE FROM text_themes WHERE theme = 'legacy_theme'")
    con.commit()
    con.close()
    t.error(srv.get("/api/v1/verbatims?theme=legacy_theme"), 422, "invalid", "theme",
            "verbatims: once no analysis names it -> 422")
    st, _, g = srv.request("PUT", "/api/v1/text/taxonomy", want_tax)
    wait_job(srv)
    t.eq(st, 200, "PUT the parking taxonomy again -> 200")
    st, _, au = srv.get("/api/v1/audit?action=text.taxonomy_update")
    t.check(st == 200 and len(au.get("items", [])) == 2, "audit: two text.taxonomy_update entries",
            ks.got(st, au))
    st, _, au = srv.get("/api/v1/audit?action=text.taxonomy_reset")
    t.check(st == 200 and len(au.get("items", [])) == 1, "audit: one text.taxonomy_reset entry", ks.got(st, au))


def check_verbatims(t, srv, parking_ids):
    st, _, v = srv.get("/api/v1/verbatims?theme=parking&limit=500")
    t.eq((st, sorted(it["response_id"] for it in v.get("items", []))), (200, sorted(parking_ids[:2])),
         "verbatims?theme=parking: exactly the two parking answers")
    labels = dict(srv.sql("SELECT response_id, label FROM text_analysis"))
    for s in ("negative", "neutral", "positive"):
        st, _, v = srv.get("/api/v1/verbatims?sentiment=%s&limit=500" % s)
        got = sorted(it["response_id"] for it in v.get("items", []))
        t.eq((st, got), (200, sorted(i for i, l in labels.items() if l == s)),
             "verbatims?sentiment=%s: the answers whose stored label is %s" % (s, s))
    neg_parking = sorted(i for i in parking_ids[:2] if labels.get(i) == "negative")
    st, _, v = srv.get("/api/v1/verbatims?theme=parking&sentiment=negative")
    t.eq((st, sorted(it["response_id"] for it in v.get("items", []))), (200, neg_parking),
         "verbatims: theme and sentiment together")
    st, _, v = srv.get("/api/v1/verbatims?limit=500")
    items = v.get("items", []) if st == 200 else []
    ok = len(items) > 0
    for it in items:
        st2, _, r = srv.get("/api/v1/responses/%d" % it["response_id"])
        ok &= "analysis" in it and it["analysis"] == r.get("analysis")
        ok &= set(it) == {"response_id", "text", "nps", "grade", "band", "language", "received_at",
                          "touchpoint", "team", "employee", "analysis", "source"} - ({"nps", "grade"} - set(it))  # source: issue 16 H3
    t.check(ok, "verbatims: every item carries analysis, equal to GET /responses/{id}'s", ks.short(items[:2]))
    t.error(srv.get("/api/v1/verbatims?sentiment=angry"), 422, "invalid", "sentiment",
            "verbatims?sentiment=angry -> 422 field sentiment")
    t.error(srv.get("/api/v1/verbatims?theme=nope"), 422, "invalid", "theme",
            "verbatims?theme=nope -> 422 field theme")


NL_NEG = ["Ik ben zeer ontevreden over {x}", "Slechte service rond {x}, nooit meer", "Waardeloos geregeld: {x}",
          "Heel teleurgesteld in {x}", "Boos over {x}, echt slecht"]
NL_NEU = ["{x} was in orde", "Gewoon gemiddeld wat betreft {x}", "Niets bijzonders aan {x}",
          "{x} ging zoals verwacht", "Redelijk, {x} was normaal"]
NL_POS = ["Super tevreden over {x}, top!", "Uitstekend geholpen met {x}", "Geweldig, {x} was perfect",
          "Heel blij met {x}, fantastisch", "Prima en snel: {x}, dank jullie wel"]
EN_NEG = ["Terrible experience with {x}", "Very disappointed in {x}", "Awful {x}, never again"]
EN_NEU = ["{x} was okay", "Average {x}, nothing special", "{x} as expected"]
EN_POS = ["Excellent {x}, very happy", "Great {x}, thank you so much", "Wonderful {x}, perfect"]
TOPICS_NL = ["de monteur", "de factuur", "het contract", "de app", "de levering", "de wachttijd",
             "de medewerker", "het gesprek", "de website", "de prijs"]
TOPICS_EN = ["the technician", "the invoice", "the contract", "the app", "the delivery", "the staff"]


def check_model(t, srv, p):
    st, _, m = srv.get("/api/v1/text/model")
    t.eq((st, m), (200, {"active": False, "trained_at": None, "n_examples": 0, "n_features": 0, "bytes": 0,
                         "evaluation": None, "top": None, "retrain_days": 7, "min_examples": 200}),
         "GET model: none yet (lexicon only), retrain every 7 days from 200 examples")
    t.error(srv.patch("/api/v1/text/model", {"retrain_days": 366}), 422, "out_of_range", "retrain_days",
            "PATCH model: retrain_days 366 -> 422")
    t.error(srv.patch("/api/v1/text/model", {"min_examples": 10}), 422, "out_of_range", "min_examples",
            "PATCH model: min_examples 10 -> 422")
    t.error(srv.patch("/api/v1/text/model", {"min_examples": "200"}), 422, "invalid", "min_examples",
            "PATCH model: min_examples a string -> 422")
    t.error(srv.patch("/api/v1/text/model", {"days": 3}), 422, "invalid", "days",
            "PATCH model: an unknown member -> 422 naming it")
    st, _, m = srv.patch("/api/v1/text/model", {"retrain_days": 0, "min_examples": 250})
    t.check(st == 200 and m["retrain_days"] == 0 and m["min_examples"] == 250,
            "PATCH model: retrain_days 0 (never), min_examples 250 -> 200", ks.got(st, m))

    n0 = len(p.labelled)
    t.error(srv.post("/api/v1/text/model/train"), 422, "out_of_range", "examples",
            "train with %d labelled answers -> 422 field examples" % n0)
    st, _, m = srv.get("/api/v1/text/model")
    t.eq((st, m["active"], m["trained_at"]), (200, False, None), "... and the model is unchanged (none)")

    rnd = random.Random(14)
    while len(p.labelled) < 330:
        cls = rnd.randrange(3)
        nps = [rnd.randrange(0, 7), rnd.randrange(7, 9), rnd.randrange(9, 11)][cls]
        if rnd.random() < 0.75:
            text = rnd.choice([NL_NEG, NL_NEU, NL_POS][cls]).format(x=rnd.choice(TOPICS_NL))
            p.post(text, nps, "nl")
        else:
            text = rnd.choice([EN_NEG, EN_NEU, EN_POS][cls]).format(x=rnd.choice(TOPICS_EN))
            p.post(text, nps, "en")
    n = len(p.labelled)
    st, _, m = srv.patch("/api/v1/text/model", {"min_examples": 200})
    t.eq(st, 200, "PATCH model: min_examples back to 200")
    st, _, m = srv.post("/api/v1/text/model/train", timeout=300)
    ev = m.get("evaluation") if st == 200 else None
    t.check(st == 200 and m["active"] is True and ks.iso_ok(m["trained_at"]) and m["n_examples"] == n
            and m["n_features"] > 0 and m["bytes"] > 0,
            "train with %d labelled answers -> 200, active, n_examples %d" % (n, n), ks.got(st, m))
    per = [sum(1 for _, c in p.labelled if c == k) for k in range(3)]
    conf = ev.get("confusion") if isinstance(ev, dict) else None
    ok = isinstance(conf, list) and len(conf) == 3 and all(isinstance(r, list) and len(r) == 3 for r in conf)
    t.check(ok and [sum(r) for r in conf] == per and ev["n"] == n and ev["folds"] == 5,
            "evaluation: 5 folds, n %d, confusion rows = the posted classes %s" % (n, per), ks.short(ev))
    if ok:
        t.check(0 <= ev["accuracy"] <= 1 and abs(ev["accuracy"] - round(sum(conf[k][k] for k in range(3)) / n, 3))
                < 1e-9 and 0 <= ev["macro_f1"] <= 1 and 0 <= ev["lexicon_accuracy"] <= 1,
                "evaluation: accuracy in [0,1] = the confusion's trace / n (3 decimals)", ks.short(ev))
    top = m.get("top") if st == 200 else None
    t.check(isinstance(top, dict) and set(top) == {"nl", "en"} and
            all(set(top[l]) == {"negative", "neutral", "positive"} and
                all(isinstance(top[l][c], list) and 0 < len(top[l][c]) <= 10 for c in top[l]) for l in top),
            "top: nl and en, up to 10 features per class", ks.short(top))
    job = wait_job(srv)
    t.eq(job["reason"], "model", "the training started a reanalysis (reason model)")
    st, _, a = srv.post("/api/v1/text/analyze", {"text": "Heel teleurgesteld in de factuur"})
    t.check(st == 200 and a["from_model"] is True, "analyze: from_model true with a model", ks.got(st, a))
    return m


def check_restart(t, srv, m):
    srv.kill()
    srv.start()
    st, _, m2 = srv.get("/api/v1/text/model")
    t.check(st == 200 and m2["active"] is True and m2["trained_at"] == m["trained_at"] and
            m2["evaluation"] == m["evaluation"] and m2["n_features"] == m["n_features"] and m2["top"] == m["top"],
            "after kill -9 and a restart: the same model (trained_at, evaluation, features)", ks.got(st, m2))
    st, _, a = srv.post("/api/v1/text/analyze", {"text": "Heel teleurgesteld in de factuur"})
    t.check(st == 200 and a["from_model"] is True, "... and it is used", ks.got(st, a))


def check_resume(t, srv):
    """kill -9 in the middle of a reanalysis: the restarted server resumes
    the job after its last committed batch. A second server on the same
    file runs the job one answer per transaction (KS_TEXT_JOB_BATCH=1) so
    that it is still running when it is killed."""
    srv.kill()
    slow = ks.Server(t, db=srv.db, env={"KS_TEXT_JOB_BATCH": "1"})
    try:
        slow.start()
        ids = [r[0] for r in srv.sql("SELECT id FROM responses WHERE open_text IS NOT NULL AND open_text <> ''"
                                     " ORDER BY id")]
        st, _, j = slow.post("/api/v1/text/reanalyze")
        t.check(st == 202 and j["reason"] == "manual" and j["total"] == len(ids) and ks.iso_ok(j["started_at"]),
                "POST reanalyze -> 202, reason manual, total %d" % len(ids), ks.got(st, j))
        deadline = time.time() + 60
        while time.time() < deadline:
            st, _, j = slow.get("/api/v1/text/reanalyze")
            if st == 200 and j["done"] >= 5:
                break
            time.sleep(0.005)
        slow.kill()
        row = srv.sql("SELECT cursor, done, finished_at FROM text_reanalysis")
        cursor, done, fin = row[0] if row else (0, 0, 1)
        t.check(fin is None and 0 < done < len(ids) and cursor == ids[done - 1],
                "killed (-9) in the middle: the job row has its cursor at the last answer done (%d of %d)"
                % (done, len(ids)), ks.short(row))
        # what the resumed job writes, and only that, is there afterwards
        con = ks.db_connect(srv.db)
        if not ks.is_pg_uri(srv.db):  # PostgreSQL always checks foreign keys
            con.execute("PRAGMA foreign_keys = ON")
        con.execute("DELETE FROM text_analysis")
        con.commit()
        con.close()
        slow.start()
        job = wait_job(slow)
        t.check(job["reason"] == "manual" and job["done"] == len(ids) and job["total"] == len(ids)
                and ks.iso_ok(job["finished_at"]),
                "the restarted server resumes the job and ends it at done = total = %d" % len(ids), ks.short(job))
        have = sorted(r[0] for r in srv.sql("SELECT response_id FROM text_analysis"))
        t.eq(have, [i for i in ids if i > cursor],
             "it went on after its cursor: the answers after it are analysed again, those before it not")
        slow.stop("the second server exits 0 on SIGTERM")
    finally:
        slow.cleanup()
    srv.start()
    st, _, j = srv.post("/api/v1/text/reanalyze")
    wait_job(srv)
    have = sorted(r[0] for r in srv.sql("SELECT response_id FROM text_analysis"))
    t.eq(have, ids, "a new reanalysis analyses every answer again")


def check_delete_model(t, srv):
    st, _, m = srv.request("DELETE", "/api/v1/text/model")
    t.check(st == 200 and m["active"] is False and m["evaluation"] is None and m["top"] is None,
            "DELETE model -> 200, lexicon only", ks.got(st, m))
    j = wait_job(srv)
    t.eq(j["reason"], "model", "... with a reanalysis")
    want = api_from_cli(cli_analyze([MIXED])[0])
    st, _, a = srv.post("/api/v1/text/analyze", {"text": MIXED})
    t.eq((st, a), (200, want), "analyze: the lexicon's answer again (= the CLI's)")
    st, _, au = srv.get("/api/v1/audit?action=text.model_train")
    t.check(st == 200 and len(au.get("items", [])) == 1, "audit: one text.model_train entry (the refused one is not)",
            ks.got(st, au))
    st, _, au = srv.get("/api/v1/audit?action=text.model_delete")
    t.check(st == 200 and len(au.get("items", [])) == 1, "audit: one text.model_delete entry", ks.got(st, au))


def check_cli(t, srv, want_tax, parking_ids, tmpdir):
    """The command line on the server's database (stopped first): the
    stored taxonomy, --set with a bad file (the JSON path and the file
    named), and `text reanalyze --db` with the store's taxonomy."""
    srv.stop("server exits 0 on SIGTERM before the command-line checks")
    rc, out, err = ks.run_cli(["text", "taxonomy", "--db", srv.db])
    t.check(rc == 0 and json.loads(out or "null") == want_tax,
            "text taxonomy --db: prints the stored taxonomy (with parking)", ks.short((rc, out[:300], err)))
    bad = json.loads(json.dumps(want_tax))
    bad["themes"][2]["subthemes"][0]["terms"]["nl"].insert(1, "")
    bad_file = os.path.join(tmpdir, "bad.json")
    with open(bad_file, "w") as fh:
        json.dump(bad, fh)
    rc, out, err = ks.run_cli(["text", "taxonomy", "--db", srv.db, "--set", bad_file])
    t.check(rc == 1 and bad_file in err and "themes[2].subthemes[0].terms.nl[1]" in err,
            "text taxonomy --set a bad file: exit 1, naming the file and the JSON path", ks.short((rc, err)))
    con = ks.db_connect(srv.db)
    if not ks.is_pg_uri(srv.db):  # PostgreSQL always checks foreign keys
        con.execute("PRAGMA foreign_keys = ON")
    con.execute("DELETE FROM text_analysis")
    con.commit()
    con.close()
    rc, out, err = ks.run_cli(["text", "reanalyze", "--db", srv.db], timeout=300)
    t.eq(rc, 0, "text reanalyze --db: exit 0")
    got = sorted(r[0] for r in srv.sql("SELECT DISTINCT response_id FROM text_themes WHERE theme = 'parking'"))
    t.eq(got, sorted(parking_ids[:2]), "text reanalyze --db uses the stored taxonomy: the parking answers get parking")
    rc, out, err = ks.run_cli(["text", "taxonomy", "--db", srv.db, "--reset"])
    rc2, out2, _ = ks.run_cli(["text", "taxonomy", "--db", srv.db])
    t.check(rc == 0 and rc2 == 0 and json.loads(out2 or "null") == ks_default_taxonomy(),
            "text taxonomy --reset: the default again", ks.short((rc, err, out2[:200])))


def wait_model(srv, pred, timeout=120):
    deadline = time.time() + timeout
    m = None
    while time.time() < deadline:
        st, _, m = srv.get("/api/v1/text/model")
        if st == 200 and pred(m):
            return m
        time.sleep(0.1)
    return m


def check_schedule(t):
    """Scheduled training on a server with a test clock: the first look is
    an hour after start; then a model is trained when there is none (or it
    is older than retrain_days) and min_examples labelled answers exist."""
    now = 1796378400  # 2026-12-07T10:00:00Z
    srv = ks.Server(t, args=["--test-clock", ks.iso(now)])
    try:
        srv.start()
        f = ks.base_fixture(srv)
        p = Poster(srv, f)
        st, _, m = srv.patch("/api/v1/text/model", {"min_examples": 30, "retrain_days": 1})
        t.eq(st, 200, "schedule: PATCH model min_examples 30, retrain_days 1")
        rnd = random.Random(7)
        for cls in range(3):
            for i in range(15):
                nps = [rnd.randrange(0, 7), rnd.randrange(7, 9), rnd.randrange(9, 11)][cls]
                p.post(rnd.choice([NL_NEG, NL_NEU, NL_POS][cls]).format(x=TOPICS_NL[i % len(TOPICS_NL)]), nps)

        def run_at(ts):
            ks.set_clock(srv, ts)
            st, _, r = srv.post("/api/v1/admin/scheduler/run")
            if st != 200:
                raise ks.FixtureError("scheduler/run -> %s" % ks.got(st, r))

        run_at(now + 60)  # the first look only notes the time
        time.sleep(0.5)
        st, _, m = srv.get("/api/v1/text/model")
        t.eq((st, m["active"]), (200, False), "schedule: no training in the first hour after start")
        t1 = now + 60 + 3600
        run_at(t1)
        m = wait_model(srv, lambda m: m["active"])
        t.check(m["active"] is True and m["trained_at"] == ks.iso(t1) and m["n_examples"] == 45,
                "schedule: an hour later, no model and 45 >= 30 examples -> trained at the clock's time",
                ks.short(m))
        st, _, au = srv.get("/api/v1/audit?action=text.model_train")
        items = au.get("items", []) if st == 200 else []
        t.check(len(items) == 1 and items[0].get("detail") == {"scheduled": True}
                and items[0].get("actor_user_id") is None,
                "schedule: audit text.model_train by the system, detail scheduled", ks.short(items))
        run_at(t1 + 2 * 3600)
        time.sleep(0.5)
        st, _, m2 = srv.get("/api/v1/text/model")
        t.eq(m2["trained_at"], ks.iso(t1), "schedule: a model younger than retrain_days stays")
        t2 = t1 + 86400 + 3600
        run_at(t2)
        m3 = wait_model(srv, lambda m: m["trained_at"] != ks.iso(t1))
        t.eq(m3["trained_at"], ks.iso(t2), "schedule: older than 1 day -> retrained")
        st, _, m = srv.patch("/api/v1/text/model", {"retrain_days": 0})
        run_at(t2 + 3 * 86400)
        time.sleep(0.5)
        st, _, m4 = srv.get("/api/v1/text/model")
        t.eq(m4["trained_at"], ks.iso(t2), "schedule: retrain_days 0 -> never retrained")
        srv.stop("test-clock server exits 0 on SIGTERM")
    finally:
        srv.cleanup()


def ks_default_taxonomy():
    rc, out, err = ks.run_cli(["text", "taxonomy"])
    return json.loads(out) if rc == 0 else None


def main(t, srv):
    rc, out, err = ks.run_cli(["text", "taxonomy"])
    default_tax = json.loads(out) if rc == 0 else None
    if default_tax is None:
        raise ks.FixtureError("klantstem text taxonomy: %s %s" % (rc, err))
    f = ks.base_fixture(srv)
    p = Poster(srv, f)
    tmpdir = tempfile.mkdtemp(prefix="ks-text-")
    check_analyze(t, srv)
    check_taxonomy(t, srv, default_tax)
    parking_ids, want_tax = check_theme_add(t, srv, p, default_tax, tmpdir)
    check_put_delete(t, srv, want_tax)
    check_verbatims(t, srv, parking_ids)
    m = check_model(t, srv, p)
    check_restart(t, srv, m)
    check_resume(t, srv)
    check_delete_model(t, srv)
    # the stored taxonomy is the parking one again for the command line
    st, _, g = srv.request("PUT", "/api/v1/text/taxonomy", want_tax)
    t.eq(st, 200, "PUT the parking taxonomy before the command-line checks")
    wait_job(srv)
    check_cli(t, srv, want_tax, parking_ids, tmpdir)
    check_schedule(t)


if __name__ == "__main__":
    ks.run(main)
