#!/usr/bin/python3
"""klantstem text (issue 14) on small files: exact JSONL and CSV output for a
few texts, CSV input with quoted newlines and "" quotes, a bad CSV line
reported as file:line, train / evaluate on a hand-made labelled set, the
model file, and exit codes (0 ok, 1 bad input, 2 usage).

Expected scores are worked out by hand from the rules in docs/TEXT.md and
the valences of src/text/lexicon.c (vriendelijk 2, traag -2, bad -2, top 3,
divided by 3; before "maar" a clause weighs 0.5, after it 2)."""

import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402


def cli(t, args, what):
    rc, out, err = ks.run_cli(args, timeout=60.0)
    rep = ks.sanitizer_report(err)
    if rep:
        t.check(False, "%s: no sanitizer report" % what, rep[:8000])
    return rc, out, err


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return p


NEG = ["De storing duurde dagen", "Weer een storing, slecht geregeld", "Storing niet opgelost",
       "Na de storing niemand gebeld", "storing op storing", "Een storing en geen excuses",
       "De storing kwam terug", "Storing, wachten, storing"]
NEU = ["Gemiddeld, niets bijzonders", "Het was gemiddeld", "Gemiddelde service", "gemiddeld geholpen",
       "Een gemiddeld gesprek", "Gemiddeld, zoals verwacht", "Gemiddeld snel", "gemiddeld"]
POS = ["Fantastisch geholpen", "Fantastische monteur", "Echt fantastisch", "Fantastisch, dank",
       "Fantastisch snel", "Een fantastische dag", "fantastisch", "Fantastisch en vriendelijk"]


def quote(s):
    return '"' + s.replace('"', '""') + '"'


def main(t):
    d = tempfile.mkdtemp(prefix="ks-text-")
    try:
        run(t, d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run(t, d):
    # ---- analyze: one text per line, the prior decides short texts ------
    lines = write(d, "lines.txt", "Top!\n\nvriendelijk maar traag\nnot bad at all\n")
    rc, out, err = cli(t, ["text", "analyze", "--prior", "nl", lines], "analyze lines")
    t.eq(rc, 0, "analyze: exit 0")
    t.eq(out.splitlines(), [
        '{"row":1,"lang":"nl","lang_source":"prior","sentiment":"positive","score":1.000,'
        '"model":false,"themes":[]}',
        '{"row":3,"lang":"nl","lang_source":"prior","sentiment":"negative","score":-0.400,'
        '"model":false,"themes":[{"theme":"friendliness","subtheme":"staff","sentiment":"positive",'
        '"score":0.667,"mentions":1},{"theme":"waiting_time","subtheme":"waiting",'
        '"sentiment":"negative","score":-0.667,"mentions":1}]}',
        '{"row":4,"lang":"en","lang_source":"words","sentiment":"positive","score":0.433,'
        '"model":false,"themes":[]}',
    ], "analyze: exact JSONL (prior nl; 'not bad at all' has three English-only words)")
    t.eq(err.strip(), "klantstem: text analyze: 3 texts, 1 empty skipped", "analyze: counts on stderr")
    rc, out, _ = cli(t, ["text", "analyze", "--prior", "en", lines], "analyze prior en")
    t.eq([l[:50] for l in out.splitlines()][0], '{"row":1,"lang":"en","lang_source":"prior","sentim',
         "analyze: 'Top!' follows the prior en")

    # ---- analyze a CSV column: quoted newline, "" inside quotes, empty ----
    csv = write(d, "in.csv", 'id,comment,nps\r\n1,"Heel vriendelijk,\nmaar het duurde veel te lang",6\r\n'
                '2,"Zei ""top"" en deed niets",5\r\n3,,9\r\n')
    rc, out, err = cli(t, ["text", "analyze", "--lang", "nl", "--format", "csv", "--csv", csv,
                           "--column", "comment"], "analyze csv")
    t.eq(rc, 0, "analyze --csv: exit 0")
    t.eq(out.splitlines(), [
        "row,lang,sentiment,score,themes",
        '1,nl,negative,-0.400,"friendliness/staff:+1.000;waiting_time/waiting:-0.750"',
        '2,nl,positive,1.000,""',
    ], "analyze --csv: exact CSV output ((0.5 * 1 + 2 * -0.75) / 2.5 = -0.4)")
    t.eq(err.strip(), "klantstem: text analyze: 2 texts, 1 empty skipped", "analyze --csv: empty text counted")

    # each row's stated language is its prior; an empty one: none
    pri = write(d, "prior.csv", "text,lang\nTop!,en\nTop!,nl\nTop!,\n")
    rc, out, _ = cli(t, ["text", "analyze", "--csv", pri, "--column", "text", "--lang-column", "lang"],
                     "analyze --lang-column")
    t.eq([(l.split('"lang":"')[1][:2], l.split('"lang_source":"')[1].split('"')[0]) for l in out.splitlines()],
         [("en", "prior"), ("nl", "prior"), ("nl", "default")],
         "analyze --lang-column: 'Top!' follows each row's language, nl by default")

    # ---- bad CSV: file and line, exit 1 -----------------------------------
    bad = write(d, "bad.csv", 'id,comment\n1,"fine\nstill fine"\n2,ab"c\n')
    rc, out, err = cli(t, ["text", "analyze", "--csv", bad, "--column", "comment"], "bad csv")
    t.eq(rc, 1, "bad CSV: exit 1")
    t.eq(err.strip(), "klantstem: %s:4: bad CSV: a quote inside an unquoted field" % bad,
         "bad CSV: message names file:line (line 4: a quoted newline came before)")
    t.eq(out, "", "bad CSV: nothing on stdout")
    open_q = write(d, "open.csv", 'id,comment\n1,ok\n2,"never closed\n3,x\n')
    rc, _, err = cli(t, ["text", "analyze", "--csv", open_q, "--column", "comment"], "open quote")
    t.eq((rc, err.strip()), (1, "klantstem: %s:3: bad CSV: a quoted field is not closed" % open_q),
         "bad CSV: an unclosed quote is reported at the line it opens")
    rc, _, err = cli(t, ["text", "analyze", "--csv", csv, "--column", "text"], "no column")
    t.eq((rc, err.strip()), (1, "klantstem: %s:1: no column 'text' in the header" % csv),
         "a missing column: exit 1 naming file:1")

    # ---- usage errors: exit 2 ---------------------------------------------
    for args, what in ((["text", "analyze", "--format", "xml"], "bad --format"),
                       (["text", "analyze", "--lang", "de"], "bad --lang"),
                       (["text", "frobnicate"], "unknown sub-command"),
                       (["text", "train", "--csv", csv], "train without --text/--label"),
                       (["text", "evaluate", "--csv", csv, "--text", "a", "--label", "b", "--folds", "1"],
                        "--folds 1")):
        rc, _, err = cli(t, args, what)
        t.eq(rc, 2, "usage error (%s): exit 2" % what)
        t.check("usage:" in err, "usage error (%s): usage on stderr" % what, err)

    # ---- train / evaluate on a hand-made labelled set ----------------------
    rows = ["text,label,lang"]
    for _ in range(5):
        rows += ["%s,negative,nl" % quote(s) for s in NEG]
        rows += ["%s,neutral,nl" % quote(s) for s in NEU]
        rows += ["%s,positive,nl" % quote(s) for s in POS]
    rows += ['"no label",,nl', ',positive,nl', '"bad label",great,nl']
    lab = write(d, "labelled.csv", "\n".join(rows) + "\n")
    rc, out, err = cli(t, ["text", "evaluate", "--csv", lab, "--text", "text", "--label", "label",
                           "--lang-column", "lang"], "evaluate")
    t.eq(rc, 0, "evaluate: exit 0")
    t.eq(err.strip(), "klantstem: %s: 120 labelled texts (words); skipped: 1 without label, 1 empty, "
         "1 bad label" % lab, "evaluate: counts of skipped rows")
    # lexicon: 22 of each 24 right (two neutral texts hold a positive word);
    # macro-F1 (1 + 12/14 + 16/18) / 3 = 0.915
    t.eq(out.splitlines(), [
        "texts 120, folds 5",
        "model:   accuracy 1.000, macro-F1 1.000",
        "lexicon: accuracy 0.917, macro-F1 0.915",
        "confusion (rows: true, columns: predicted by the model)",
        "            negative   neutral  positive",
        "negative          40         0         0",
        "neutral            0        40         0",
        "positive           0         0        40",
    ], "evaluate: exact report")
    model = os.path.join(d, "model.bin")
    rc, out, err = cli(t, ["text", "train", "--csv", lab, "--text", "text", "--label", "label",
                           "--out", model], "train")
    t.eq(rc, 0, "train: exit 0")
    t.check(out.startswith("model: 120 texts, "), "train: summary line", out)
    t.check("  positive nl   fantastisch(+" in out, "train: strongest positive nl feature shown", out)
    t.check("  negative nl   storing(+" in out, "train: strongest negative nl feature shown", out)
    with open(model, "rb") as f:
        t.eq(f.read(4), b"KSTM", "train --out: a model blob")
    one = write(d, "one.txt", "fantastisch\n")
    rc, out, _ = cli(t, ["text", "analyze", "--lang", "nl", "--model", model, one], "analyze --model")
    t.check(rc == 0 and '"sentiment":"positive"' in out and '"model":true' in out,
            "analyze --model: the model scores the text", out)
    junk = write(d, "junk.bin", "not a model")
    rc, _, err = cli(t, ["text", "analyze", "--model", junk, one], "bad model")
    t.eq((rc, err.strip()), (1, "klantstem: %s: not a klantstem text model (version 1)" % junk),
         "a file that is not a model: exit 1")

    # too little data: the lexicon stays (24 texts in stars 1-5)
    stars = write(d, "stars.csv", "text,stars\n" + "\n".join(
        ["%s,1" % quote(s) for s in NEG] + ["%s,3" % quote(s) for s in NEU] +
        ["%s,5" % quote(s) for s in POS]) + "\n")
    rc, out, err = cli(t, ["text", "train", "--csv", stars, "--text", "text", "--label", "stars"], "train small")
    t.eq(rc, 1, "train on 24 texts: exit 1")
    t.check("(stars 1-5)" in err and "too little labelled data: 24 texts, the model needs 100" in err,
            "train on 24 texts: stars recognised, too little data named", err)

    # the default taxonomy is valid JSON with the 13 themes
    rc, out, _ = cli(t, ["text", "taxonomy"], "taxonomy")
    import json
    ids = [th["id"] for th in json.loads(out)["themes"]] if rc == 0 else None
    t.eq(ids, ["waiting_time", "reachability", "friendliness", "expertise", "first_time_fix", "promises",
               "price", "billing", "communication", "technician", "app_website", "delivery", "contract"],
         "taxonomy: the default's themes")


if __name__ == "__main__":
    ks.run(main, start_server=False)
