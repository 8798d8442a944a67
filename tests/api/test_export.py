#!/usr/bin/env python3
"""test_export.py — the breakdown as a file (issue 17, part X):
GET /api/v1/metrics/export?format=pdf|xlsx&lang=nl|en&<the /metrics parameters>.

The file is read back with tools that are not the product's: the PDF with
poppler (pdftotext for its words, pdfinfo for its pages, pdftoppm for its
pixels, read here from the raw PPM), the XLSX with openpyxl. What it must
say is taken from GET /api/v1/metrics with the same parameters and the same
caller — the export promises to be that reply as a file, hidden cells
included — and for the cells this test makes, from counts computed here
(ks.nps_block etc., independent of src/metrics).

A copy of the first page rendered to PNG stays in build/screenshots/ to be
looked at.
"""
import calendar
import http.client
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402
import user_fx  # noqa: E402

try:
    import openpyxl  # python3-openpyxl (scripts/install-deps)
except ImportError:  # the check below fails visibly instead of skipping
    openpyxl = None

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOTS = os.path.join(ks.REPO, "build", "screenshots")
T0 = calendar.timegm((2025, 5, 6, 10, 0, 0))


def raw_get(srv, path, token=None):
    """GET returning (status, headers as a lower-case dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + (token or srv.token)})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def get_json(srv, path, token=None):
    st, _, body = ks.http_request(srv.port, "GET", path,
                                  headers={"Authorization": "Bearer " + (token or srv.token)})
    return st, body


def make_token(db, role, unit=None, emp=None):
    return user_fx.role_token(db, role, "export", unit, emp)


def run(args, data=None):
    p = subprocess.run(args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise ks.FixtureError("%s failed: %s" % (args[0], p.stderr.decode("utf-8", "replace")))
    return p.stdout


class Pdf:
    """A PDF on disk with poppler's readings of it."""

    def __init__(self, data, name):
        self.dir = tempfile.mkdtemp(prefix="ks-export-")
        self.path = os.path.join(self.dir, name + ".pdf")
        with open(self.path, "wb") as f:
            f.write(data)
        info = run(["pdfinfo", self.path]).decode()
        m = re.search(r"^Pages:\s+(\d+)", info, re.M)
        self.pages = int(m.group(1)) if m else 0
        self.info = info
        self.text = run(["pdftotext", "-layout", "-enc", "UTF-8", self.path, "-"]).decode("utf-8")
        self.page_text = self.text.split("\f")[:self.pages]

    def line_of(self, name):
        """The text line (layout kept) holding name, or ""."""
        for line in self.text.splitlines():
            if name in line:
                return line
        return ""

    def ppm(self, page=1, dpi=50):
        """(width, height, bytes RGB) of a page rendered by pdftoppm."""
        prefix = os.path.join(self.dir, "p%d" % dpi)
        run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), self.path, prefix])
        files = [f for f in os.listdir(self.dir) if f.startswith("p%d-" % dpi) and f.endswith(".ppm")]
        with open(os.path.join(self.dir, sorted(files)[-1]), "rb") as f:
            data = f.read()
        # P6 header: magic, width, height, maxval, separated by whitespace
        fields, pos = [], 0
        while len(fields) < 4:
            while data[pos:pos + 1].isspace():
                pos += 1
            start = pos
            while not data[pos:pos + 1].isspace():
                pos += 1
            fields.append(data[start:pos])
        pos += 1
        if fields[0] != b"P6" or fields[3] != b"255":
            raise ks.FixtureError("not an 8-bit P6 PPM: %r" % fields)
        w, h = int(fields[1]), int(fields[2])
        os.remove(os.path.join(self.dir, sorted(files)[-1]))
        return w, h, data[pos:pos + w * h * 3]

    def png(self, dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        run(["pdftoppm", "-r", "80", "-f", "1", "-l", "1", "-png", "-singlefile", self.path, dest[:-4]])

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def count_pixels(img, box, pred):
    w, h, px = img
    x0, y0, x1, y1 = [int(v) for v in (box[0] * w, box[1] * h, box[2] * w, box[3] * h)]
    n = 0
    for y in range(y0, y1):
        row = y * w * 3
        for x in range(x0, x1):
            i = row + x * 3
            if pred(px[i], px[i + 1], px[i + 2]):
                n += 1
    return n


def dark(r, g, b):
    return r + g + b < 300


def green(r, g, b):  # the bars of positive NPS (#2E8B57)
    return g > 100 and g - r > 50 and g - b > 25


def nl_num(x, decimals):
    return ("%.*f" % (decimals, x)).replace(".", ",")


def key_name(row, dim):
    v = row.get(dim)
    return v.get("name") if isinstance(v, dict) else v


# ---------------------------------------------------------------------------
# fixture


def fixture(srv):
    f = ks.base_fixture(srv)
    tag = ks.uniq("ex")
    dept = srv.create("teams", {"name": "Afdeling Export " + tag, "kind": "department", "parent_id": f["org"]["id"]})
    t1 = srv.create("teams", {"name": "Team Één " + tag, "kind": "team", "parent_id": dept["id"]})
    t2 = srv.create("teams", {"name": "Team Zoë " + tag, "kind": "team", "parent_id": dept["id"]})
    t3 = srv.create("teams", {"name": "Team Klein " + tag, "kind": "team", "parent_id": dept["id"]})
    emile = srv.create("employees", {"team_id": t1["id"], "first_name": "Émile", "last_name": "Dubois " + tag})
    kees = srv.create("employees", {"team_id": t1["id"], "first_name": "Kees", "last_name": "Klein " + tag})
    counts = {k: ks.Counts() for k in ("t1", "t2", "t3", "emile", "kees")}
    seq = [0]

    def answer(team, emp, key, nps, grade=None, ces=None, who=None):
        seq[0] += 1
        answers = {"nps": nps}
        if grade is not None:
            answers["grade"] = grade
        if ces is not None:
            answers["ces"] = ces
        body = {"client_key": "%s-%d" % (tag, seq[0]), "team_id": team["id"], "touchpoint_id": f["tp1"]["id"],
                "answers": answers, "received_at": ks.iso(T0 + seq[0] * 3600)}
        if emp:
            body["employee_id"] = emp["id"]
        srv.create("responses", body)
        counts[key].add(nps, grade, ces, emp["id"] if emp else None)
        if who:
            counts[who].add(nps, grade, ces, emp["id"])

    # Team Één: Émile 12 answers (over the person threshold), Kees 3 (under it)
    for i, (n, g, c) in enumerate([(10, 9, 7), (9, 8, 6), (9, 9, 6), (8, 7, 5), (7, 8, 5), (10, 10, 7),
                                   (3, 4, 2), (6, 6, 4), (9, 8, 6), (10, 9, 7), (2, 5, 3), (9, 8, 6)]):
        answer(t1, emile, "t1", n, g, c, who="emile")
    for n, g, c in [(4, 5, 3), (5, 6, 4), (3, 4, 2)]:
        answer(t1, kees, "t1", n, g, c, who="kees")
    # Team Zoë: 7 NPS answers only
    for n in (10, 9, 9, 8, 6, 10, 9):
        answer(t2, None, "t2", n)
    # Team Klein: 2 answers, under every threshold
    for n in (10, 1):
        answer(t3, None, "t3", n, 7)
    return {"f": f, "tag": tag, "dept": dept, "t1": t1, "t2": t2, "t3": t3, "emile": emile, "kees": kees,
            "counts": counts}


# ---------------------------------------------------------------------------
# checks


def check_pdf_rows(t, pdf, reply, dim, what):
    """Every row of the /metrics reply is a line of the PDF with its n, and
    either its NPS and interval (Dutch decimals) or "te weinig reacties"."""
    for row in reply.get("rows", []):
        name = key_name(row, dim)
        line = pdf.line_of(name)
        if not t.check(line != "", "%s: %s has a line in the PDF" % (what, name), pdf.text[:3000]):
            continue
        cells = line[line.index(name) + len(name):].split()
        t.eq(cells[0] if cells else None, str(row["n"]), "%s: %s: the number of responses %d" % (what, name, row["n"]))
        if row.get("insufficient"):
            t.check("te weinig reacties" in line and not re.search(r"\d+,\d", line),
                    "%s: %s: 'te weinig reacties' and no score (n %d < min_n %d or hidden)"
                    % (what, name, row["n"], row["min_n"]), line)
            continue
        nps = row.get("nps")
        if isinstance(nps, dict):
            want = "%s %s – %s" % (nl_num(nps["value"], 1), nl_num(nps["low"], 1), nl_num(nps["high"], 1))
            t.check(want in re.sub(r"\s+", " ", line), "%s: %s: NPS and interval %s as /metrics" % (what, name, want), line)
        else:
            t.check("te weinig reacties" in line, "%s: %s: hidden NPS reads 'te weinig reacties'" % (what, name), line)


def xlsx_rows(data):
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return wb, [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def check_xlsx_rows(t, rows, reply, n_keys, note_hidden, what):
    """Each /metrics row is a sheet row with the same figures as numbers;
    hidden measures are empty cells with the note."""
    by_name = {r[0]: r for r in rows[1:]}
    for row in reply.get("rows", []):
        name = key_name(row, reply["group_by"][0])
        x = by_name.get(name)
        if not t.check(x is not None, "%s: %s is a row of the sheet" % (what, name), [r[0] for r in rows]):
            continue
        c = n_keys
        nps, grade, ces = row.get("nps"), row.get("grade"), row.get("ces")
        want = [row["n"],
                nps["value"] if nps else None, nps["low"] if nps else None, nps["high"] if nps else None,
                nps["n"] if nps else None,
                grade["mean"] if grade else None, grade["n"] if grade else None,
                ces["mean"] if ces else None, ces["n"] if ces else None]
        t.eq(x[c:c + 9], want, "%s: %s: n, NPS, low, high, NPS n, grade, grade n, CES, CES n as /metrics" % (what, name))
        hidden = row.get("insufficient") or bool(row.get("hidden"))
        note = x[c + 9]
        if hidden:
            t.check(isinstance(note, str) and note.startswith(note_hidden),
                    "%s: %s: the note says %r" % (what, name, note_hidden), note)
        else:
            t.eq(note, None, "%s: %s: no note when nothing is hidden" % (what, name))


def test_pdf_nl(t, srv, fx):
    dept = fx["dept"]
    q = "group_by=team&team_id=%d&period=2025" % dept["id"]
    st, reply = get_json(srv, "/api/v1/metrics?" + q)
    if not t.check(st == 200, "GET /metrics by team answers 200", ks.got(st, reply)):
        return
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=pdf&lang=nl&" + q)
    if not t.eq((st, hd.get("content-type")), (200, "application/pdf"), "PDF export: 200 application/pdf"):
        return
    t.eq(hd.get("content-disposition"), 'attachment; filename="klantstem-metrics-export.pdf"',
         "PDF export: a download with a fixed, safe file name")
    t.check(data.startswith(b"%PDF-"), "PDF export: the body is a PDF", data[:20])
    pdf = Pdf(data, "teams-nl")
    try:
        t.eq(pdf.pages, 1, "PDF export: four groups fit one page (pdfinfo)")
        t.check(re.search(r"^Page size:\s+841\.89 x 595\.28 pts \(A4\)", pdf.info, re.M),
                "PDF export: A4 landscape", pdf.info)
        text = pdf.text
        for want, why in [("Scores per team", "the title in Dutch"),
                          ("Energie BV export", "the organisation's name (settings)"),
                          ("Periode: 2025 (van 1 januari 2025 t/m 31 december 2025)", "the period in words"),
                          ("Filters: Team of afdeling: " + dept["name"], "the filter in words, the unit by name"),
                          ("Reacties", "the column of responses"), ("95%-interval", "the interval column"),
                          ("Totaal", "the total row"), ("Pagina 1 van 1", "the page number"),
                          ("Gemaakt op ", "the generation time"), ("(Europe/Amsterdam)", "in the organisation's zone"),
                          ("vanaf 5 antwoorden", "the min-n rule"), ("vanaf 10 voor één medewerker", "the person rule, accents intact")]:
            t.check(want in text, "PDF nl: %s (%r)" % (why, want), text[:3000])
        t.check(fx["t1"]["name"] in text and fx["t2"]["name"] in text,
                "PDF nl: team names with Dutch accents (Één, Zoë) come out as typed", text[:2000])
        check_pdf_rows(t, pdf, reply, "team", "PDF nl")
        # independent figures of Team Één: counts made here
        c1 = fx["counts"]["t1"]
        want = ks.nps_block(c1)
        row1 = [r for r in reply["rows"] if key_name(r, "team") == fx["t1"]["name"]]
        t.eq(row1[0].get("nps") if row1 else None, want, "Team Één's NPS in /metrics equals the counts made here")
        line = re.sub(r"\s+", " ", pdf.line_of(fx["t1"]["name"]))
        t.check("%s %s – %s" % (nl_num(want["value"], 1), nl_num(want["low"], 1), nl_num(want["high"], 1)) in line,
                "PDF nl: Team Één's NPS %s with interval [%s, %s] from the counts" % (want["value"], want["low"], want["high"]),
                line)
        t.check(nl_num(ks.grade_block(c1)["mean"], 2) in line and nl_num(ks.ces_block(c1)["mean"], 2) in line,
                "PDF nl: Team Één's grade %s and CES %s" % (ks.grade_block(c1)["mean"], ks.ces_block(c1)["mean"]), line)
        klein = pdf.line_of(fx["t3"]["name"])
        t.check("te weinig reacties" in klein and klein.split(fx["t3"]["name"])[1].split()[0] == "2",
                "PDF nl: Team Klein (2 responses) shows n 2 and 'te weinig reacties'", klein)
        # pixels: the table area is not blank, the bars are drawn
        img = pdf.ppm(1, 50)
        size = (math.ceil(841.89 * 50 / 72), math.ceil(595.28 * 50 / 72))
        t.eq(img[:2], size, "PDF page rendered at 50 dpi is %d x %d pixels (A4 landscape)" % size)
        inked = count_pixels(img, (0.04, 0.18, 0.96, 0.42), dark)
        t.check(inked > 400, "PDF nl: the table area has text and rules (%d dark pixels)" % inked)
        bars = count_pixels(img, (0.4, 0.18, 0.8, 0.42), green)
        t.check(bars > 20, "PDF nl: NPS bars are drawn in the bar column (%d green pixels)" % bars)
        empty = count_pixels(img, (0.04, 0.6, 0.96, 0.85), dark)
        t.eq(empty, 0, "PDF nl: below the table and notes the page is empty (a blank band, not noise)")
        pdf.png(os.path.join(SHOTS, "export-report-nl.png"))
    finally:
        pdf.cleanup()
    return reply


def test_pdf_en_long(t, srv, fx):
    """A table of 70 groups: several pages, each with the header and a page
    number, every group exactly once."""
    tag = ks.uniq("long")
    dept = srv.create("teams", {"name": "Lang " + tag, "kind": "department", "parent_id": fx["f"]["org"]["id"]})
    names = []
    for i in range(70):
        team = srv.create("teams", {"name": "Ploeg %02d %s" % (i, tag), "kind": "team", "parent_id": dept["id"]})
        names.append(team["name"])
        srv.create("responses", {"client_key": "%s-%d" % (tag, i), "team_id": team["id"],
                                 "touchpoint_id": fx["f"]["tp1"]["id"], "answers": {"nps": 9},
                                 "received_at": ks.iso(T0 + i * 60)})
    q = "group_by=team&team_id=%d&period=2025-05" % dept["id"]
    st, reply = get_json(srv, "/api/v1/metrics?" + q)
    t.eq((st, len(reply.get("rows", [])) if isinstance(reply, dict) else None), (200, 70), "/metrics: 70 teams")
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=pdf&lang=en&" + q)
    if not t.eq((st, hd.get("content-type")), (200, "application/pdf"), "long PDF: 200 application/pdf"):
        return
    pdf = Pdf(data, "long-en")
    try:
        t.check(pdf.pages >= 3, "long PDF: 70 rows take several pages (pdfinfo: %d)" % pdf.pages)
        pages = pdf.page_text
        t.eq(len(pages), pdf.pages, "long PDF: pdftotext sees as many pages as pdfinfo")
        for i, p in enumerate(pages):
            t.check("Page %d of %d" % (i + 1, pdf.pages) in p, "long PDF: page %d says 'Page %d of %d'" % (i + 1, i + 1, pdf.pages),
                    p[-400:])
            t.check("Responses" in p and "95% interval" in p, "long PDF: page %d repeats the table header" % (i + 1))
        seen = []
        for p in pages:
            seen += [n for n in names if n in p]
        t.eq(sorted(seen), sorted(names), "long PDF: each of the 70 teams on exactly one page")
        t.check("Total" in pages[-1] and "not enough responses" in pages[0],
                "long PDF: English labels; the total on the last page")
        t.check("Scores by team" in pages[0] and "Period: May 2025 (from May 1, 2025 to May 31, 2025)" in pages[0],
                "long PDF: English title and period in words", pages[0][:600])
        # the last page: rendered, with ink
        img = pdf.ppm(pdf.pages, 50)
        t.check(count_pixels(img, (0.04, 0.05, 0.96, 0.5), dark) > 100, "long PDF: the last page is not blank")
    finally:
        pdf.cleanup()


def test_xlsx(t, srv, fx, reply):
    if not t.check(openpyxl is not None, "python3-openpyxl is installed"):
        return
    dept = fx["dept"]
    q = "group_by=team&team_id=%d&period=2025" % dept["id"]
    for lang, sheets, head, note, total in [("en", ["Breakdown", "About"], "Responses", "not enough responses", "Total"),
                                            ("nl", ["Uitsplitsing", "Over"], "Reacties", "te weinig reacties", "Totaal")]:
        st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=xlsx&lang=%s&%s" % (lang, q))
        if not t.eq((st, hd.get("content-type")), (200, XLSX), "XLSX %s: 200 with the spreadsheet type" % lang):
            continue
        t.eq(hd.get("content-disposition"), 'attachment; filename="klantstem-metrics-export.xlsx"',
             "XLSX %s: a download named klantstem-metrics-export.xlsx" % lang)
        wb, rows = xlsx_rows(data)
        t.eq(wb.sheetnames, sheets, "XLSX %s: the sheets %s" % (lang, sheets))
        ws = wb.worksheets[0]
        t.eq(ws.freeze_panes, "A2", "XLSX %s: the header row is frozen" % lang)
        t.eq(rows[0][:2], ["Team", head], "XLSX %s: header labels in %s" % (lang, lang))
        t.eq(len(rows), 1 + len(reply["rows"]) + 1, "XLSX %s: a row per group and the total" % lang)
        check_xlsx_rows(t, rows, reply, 1, note, "XLSX " + lang)
        last = rows[-1]
        tot = reply
        t.eq([last[0], last[1], last[2]], [total, tot["n"], tot["nps"]["value"]], "XLSX %s: the total row as /metrics" % lang)
        r1 = [r for r in rows if r[0] == fx["t1"]["name"]][0]
        c1 = fx["counts"]["t1"]
        t.eq(r1[1:4], [c1.n, ks.nps_block(c1)["value"], ks.nps_block(c1)["low"]],
             "XLSX %s: Team Één's n, NPS, low from the counts made here" % lang)
        t.check(all(isinstance(v, (int, float)) for v in r1[1:10]), "XLSX %s: figures are numbers, not text" % lang, r1)
        i1 = [i for i, r in enumerate(rows) if r[0] == fx["t1"]["name"]][0] + 1
        t.eq([ws.cell(i1, c).number_format for c in (2, 3, 7)], ["0", "0.0", "0.00"],
             "XLSX %s: number formats of n, NPS and grade" % lang)
        r3 = [r for r in rows if r[0] == fx["t3"]["name"]][0]
        t.eq((r3[1], r3[2:10], r3[10]), (2, [None] * 8, note),
             "XLSX %s: Team Klein: n 2, every figure empty, the note %r" % (lang, note))
        about = {r[0]: r[1] for r in wb.worksheets[1].iter_rows(values_only=True) if r[0]}
        per = "Period" if lang == "en" else "Periode"
        t.eq(about.get(per), "2025", "XLSX %s: About: the period" % lang)
        unit = "Team or department" if lang == "en" else "Team of afdeling"
        t.eq(about.get(unit), dept["name"], "XLSX %s: About: the filter by name" % lang)
        rule = [v for v in about.values() if isinstance(v, str) and ("from 5 answers" in v or "vanaf 5 antwoorden" in v)]
        t.check(len(rule) == 1 and ("10 for one employee" in rule[0] or "10 voor één medewerker" in rule[0]),
                "XLSX %s: About: the min-n rule with 5 and 10" % lang, about)


def test_lead_and_employee(t, srv, fx):
    """A team lead's export holds only their scope; a hidden employee cell
    is not in the file; employees get exactly what /metrics gives them."""
    t1, kees, emile = fx["t1"], fx["kees"], fx["emile"]
    lead = make_token(srv.db, "team_lead", unit=t1["id"])
    q = "group_by=employee&period=2025"
    st, reply = get_json(srv, "/api/v1/metrics?" + q, lead)
    if not t.check(st == 200, "lead: /metrics by employee 200", ks.got(st, reply)):
        return
    names = sorted(key_name(r, "employee") for r in reply["rows"])
    # Kees's NPS computed here (3 answers: 4, 5, 3 — all detractors, -100.0);
    # the figures the file may print (the shown ones of /metrics) are left
    # out of the search so that a bound shared with them is no false alarm
    kb = ks.nps_block(fx["counts"]["kees"])
    shown = [x for r in [reply] + reply["rows"] if isinstance(r.get("nps"), dict)
             for x in (r["nps"]["value"], r["nps"]["low"], r["nps"]["high"])]
    kees_hidden = [x for x in (kb["value"], kb["low"], kb["high"]) if x == kb["value"] or x not in shown]
    t.eq(kb["value"], -100.0, "lead: Kees's NPS from the counts made here is -100.0 (three detractors)")
    # as the files print them (Dutch and English decimals), standing alone
    kees_words = [re.compile(r"(?<![\d.,])%s(?![\d])" % re.escape(w))
                  for x in kees_hidden for w in (nl_num(x, 1), "%.1f" % x)]
    t.eq(names, sorted([emile["first_name"] + " " + emile["last_name"], kees["first_name"] + " " + kees["last_name"]]),
         "lead: /metrics holds exactly the two employees of Team Één")
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=xlsx&lang=nl&" + q, lead)
    if t.eq(st, 200, "lead: XLSX export 200"):
        wb, rows = xlsx_rows(data)
        t.eq(sorted(r[0] for r in rows[1:-1]), names, "lead XLSX: the same two employees, nobody else")
        check_xlsx_rows(t, rows, reply, 1, "te weinig reacties", "lead XLSX")
        kname = kees["first_name"] + " " + kees["last_name"]
        kr = [r for r in rows if r[0] == kname]
        t.eq(kr[0][1:10] if kr else None, [3] + [None] * 8,
             "lead XLSX: Kees (3 answers, under the person threshold 10) has n 3 and no figure")
        about = {r[0]: r[1] for r in wb.worksheets[1].iter_rows(values_only=True) if r[0]}
        t.eq(about.get("Team of afdeling"), t1["name"], "lead XLSX: Over names the lead's own team as the filter")
        # Kees's hidden NPS, from this test's own counts: in no cell of either sheet
        cells = [v for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r if v is not None]
        leaks = [v for v in cells
                 if (isinstance(v, (int, float)) and not isinstance(v, bool) and any(abs(v - x) < 1e-9 for x in kees_hidden))
                 or (isinstance(v, str) and any(w.search(v) for w in kees_words))]
        t.eq(leaks, [], "lead XLSX: Kees's hidden NPS %s (value, low, high) is in no cell, About included" % kees_hidden)
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=pdf&lang=nl&" + q, lead)
    if t.eq(st, 200, "lead: PDF export 200"):
        pdf = Pdf(data, "lead")
        try:
            check_pdf_rows(t, pdf, reply, "employee", "lead PDF")
            t.check(fx["t2"]["name"] not in pdf.text and "Team Klein" not in pdf.text,
                    "lead PDF: no other team's name")
            t.eq([w.pattern for w in kees_words if w.search(pdf.text)], [],
                 "lead PDF: Kees's hidden NPS %s (value, low, high) is nowhere in the text" % kees_hidden)
        finally:
            pdf.cleanup()
    # outside the lead's scope: refused exactly as /metrics refuses it
    other = "group_by=team&team_id=%d&period=2025" % fx["t2"]["id"]
    st_m, b_m = get_json(srv, "/api/v1/metrics?" + other, lead)
    st, _, body = ks.http_request(srv.port, "GET", "/api/v1/metrics/export?format=pdf&" + other,
                                  headers={"Authorization": "Bearer " + lead})
    t.eq((st, body.get("error", {}).get("field") if isinstance(body, dict) else body),
         (st_m, b_m.get("error", {}).get("field") if isinstance(b_m, dict) else b_m),
         "lead: another team's export is refused like /metrics (%s)" % st_m)
    t.eq(st, 403, "lead: that is a 403")

    # an employee: a breakdown by employee follows /metrics (403 unless the team shares)
    emp = make_token(srv.db, "employee", emp=emile["id"])
    for shared in (False, True):
        if shared:
            st, _, b = ks.http_request(srv.port, "PUT", "/api/v1/teams/%d/settings" % t1["id"],
                                       {"share_colleague_scores": True}, headers={"Authorization": "Bearer " + lead})
            if not t.check(st == 200, "the lead lets Team Één share colleague scores", ks.got(st, b)):
                return
        st_m, b_m = get_json(srv, "/api/v1/metrics?" + q, emp)
        st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=xlsx&lang=en&" + q, emp)
        t.eq(st, st_m, "employee (sharing %s): export status %d as /metrics" % ("on" if shared else "off", st_m))
        if not shared:
            t.eq(st, 403, "employee: scores per colleague are refused (403)")
            err = json.loads(data.decode()) if data[:1] == b"{" else {}
            t.eq(err.get("error", {}).get("field"), "group_by", "employee: the refusal names group_by, as /metrics")
        elif st == 200:
            wb, rows = xlsx_rows(data)
            t.eq(sorted(r[0] for r in rows[1:-1]), sorted(key_name(r, "employee") for r in b_m["rows"]),
                 "employee (sharing on): the same colleagues as /metrics")
            check_xlsx_rows(t, rows, b_m, 1, "not enough responses", "employee XLSX")


def test_two_way_and_parallel(t, srv, fx):
    """A breakdown by two dimensions has both key columns; eight exports at
    once (PDF and XLSX on the slow pool's threads) each answer the same file
    content as one alone."""
    q = "group_by=team,month&team_id=%d&period=2025" % fx["dept"]["id"]
    st, reply = get_json(srv, "/api/v1/metrics?" + q)
    if not t.check(st == 200 and reply.get("group_by") == ["team", "month"], "/metrics by team and month", ks.got(st, reply)):
        return
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=xlsx&lang=nl&" + q)
    if t.eq(st, 200, "two-way XLSX: 200"):
        wb, rows = xlsx_rows(data)
        t.eq(rows[0][:3], ["Team", "Maand", "Reacties"], "two-way XLSX: two key columns, then the responses")
        t.eq([r[:3] for r in rows[1:-1]], [[key_name(r, "team"), r["month"], r["n"]] for r in reply["rows"]],
             "two-way XLSX: every (team, month) of /metrics in its order, with its n")
        t.eq(rows[-1][:3], ["Totaal", None, reply["n"]], "two-way XLSX: the total row")
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=pdf&lang=nl&" + q)
    if t.eq(st, 200, "two-way PDF: 200"):
        pdf = Pdf(data, "two-way")
        try:
            t.check("Scores per team en maand" in pdf.text, "two-way PDF: the title names both dimensions")
            lines = [re.sub(r"\s+", " ", l) for l in pdf.text.splitlines()]
            missing = [(key_name(r, "team"), r["month"], r["n"]) for r in reply["rows"]
                       if not any(l.find("%s %s %d" % (key_name(r, "team"), r["month"], r["n"])) >= 0 for l in lines)]
            t.eq(missing, [], "two-way PDF: a line 'team month n' for every row of /metrics")
        finally:
            pdf.cleanup()
    # in parallel
    base = "group_by=team&team_id=%d&period=2025" % fx["dept"]["id"]
    jobs = [("pdf", "nl"), ("xlsx", "en"), ("pdf", "en"), ("xlsx", "nl")] * 2
    out = [None] * len(jobs)

    def one(i, fmt, lang):
        try:
            out[i] = raw_get(srv, "/api/v1/metrics/export?format=%s&lang=%s&%s" % (fmt, lang, base))
        except Exception as ex:  # reported below
            out[i] = (None, {}, str(ex).encode())
    threads = [threading.Thread(target=one, args=(i, f, l)) for i, (f, l) in enumerate(jobs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.eq([o[0] for o in out], [200] * len(jobs), "eight exports at once: all 200")

    def content(o, fmt):
        if o[0] != 200:
            return None
        if fmt == "xlsx":
            wb, rows = xlsx_rows(o[2])
            return rows
        p = Pdf(o[2], "par")
        try:  # the text without the footer's generation minute
            return re.sub(r"Gemaakt op .*|Generated on .*", "", p.text)
        finally:
            p.cleanup()
    got = [content(o, f) for o, (f, _) in zip(out, jobs)]
    t.check(all(got[i] is not None and got[i] == got[i + 4] for i in range(4)),
            "eight exports at once: each file reads the same as its twin")


def test_long_name_and_no_grouping(t, srv, fx):
    """A team name of about 190 bytes is in the spreadsheet as /metrics
    prints it and cut further, with an ellipsis, in the PDF's column; an
    export without group_by is the total alone."""
    tag = ks.uniq("lang")
    dept = srv.create("teams", {"name": "Lange namen " + tag, "kind": "department", "parent_id": fx["f"]["org"]["id"]})
    long_name = ("Klantcontact één " * 10)[:150] + " " + tag  # ~190 bytes: a team name takes 200
    team = srv.create("teams", {"name": long_name, "kind": "team", "parent_id": dept["id"]})
    for i in range(6):
        srv.create("responses", {"client_key": "%s-%d" % (tag, i), "team_id": team["id"], "touchpoint_id": fx["f"]["tp1"]["id"],
                                 "answers": {"nps": 9}, "received_at": ks.iso(T0 + i * 60)})
    q = "group_by=team&team_id=%d&period=2025" % dept["id"]
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=xlsx&lang=nl&" + q)
    st_m, reply = get_json(srv, "/api/v1/metrics?" + q)
    shown = key_name(reply["rows"][0], "team") if st_m == 200 and reply.get("rows") else None
    t.check(shown and long_name.startswith(shown) and len(shown.encode()) <= 95,
            "long name: /metrics prints the name's first bytes (up to 95, its label size)", shown)
    if t.eq(st, 200, "long name: XLSX 200"):
        wb, rows = xlsx_rows(data)
        t.eq(rows[1][0], shown, "long name: in the spreadsheet exactly as /metrics prints it")
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=pdf&lang=nl&" + q)
    if t.eq(st, 200, "long name: PDF 200"):
        pdf = Pdf(data, "long-name")
        try:
            line = pdf.line_of("Klantcontact één Klantcontact")
            t.check("\u2026" in line and long_name not in pdf.text and "100,0" in line,
                    "long name: cut with an ellipsis in the PDF, its figures still on the line", line)
        finally:
            pdf.cleanup()
    q = "team_id=%d&period=2025" % dept["id"]
    st, reply = get_json(srv, "/api/v1/metrics?" + q)
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=xlsx&lang=en&" + q)
    if t.eq(st, 200, "no group_by: XLSX 200"):
        wb, rows = xlsx_rows(data)
        t.eq(rows, [[None, "Responses", "NPS", "NPS low (95%)", "NPS high (95%)", "NPS answers", "Grade", "Grade answers", "CES",
                     "CES answers", "Note"],
                    ["Total", 6, reply["nps"]["value"], reply["nps"]["low"], reply["nps"]["high"], 6, None, None, None, None, None]],
             "no group_by: the spreadsheet is the header and the total of /metrics")
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=pdf&lang=en&" + q)
    if t.eq(st, 200, "no group_by: PDF 200"):
        pdf = Pdf(data, "total")
        try:
            t.check("Scores\n" in pdf.text or pdf.text.lstrip().startswith("Scores"), "no group_by: the title is 'Scores'", pdf.text[:200])
            t.check(re.search(r"Total\s+6\s+100\.0", pdf.text), "no group_by: the total line, n 6 and NPS 100.0", pdf.text[:1500])
        finally:
            pdf.cleanup()


def test_filter_words(t, srv, fx):
    """Filters on text dimensions read as the web UI names them: the theme
    by its taxonomy label, the sentiment in words, in both languages."""
    q = "group_by=team&team_id=%d&period=2025&theme=waiting_time&sentiment=negative" % fx["dept"]["id"]
    st, reply = get_json(srv, "/api/v1/metrics?" + q)
    if not t.eq(st, 200, "/metrics with theme= and sentiment= answers 200"):
        return
    for lang, want in [("nl", "Filters: Team of afdeling: %s; Thema: Wachttijd; Sentiment: Negatief" % fx["dept"]["name"]),
                       ("en", "Filters: Team or department: %s; Theme: Waiting time; Sentiment: Negative" % fx["dept"]["name"])]:
        st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=pdf&lang=%s&%s" % (lang, q))
        if not t.eq(st, 200, "PDF %s with theme and sentiment filters: 200" % lang):
            continue
        pdf = Pdf(data, "words-" + lang)
        try:
            t.check(want in re.sub(r"\s+", " ", pdf.text), "PDF %s: %r" % (lang, want), pdf.text[:600])
        finally:
            pdf.cleanup()
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=xlsx&lang=en&" + q)
    if t.eq(st, 200, "XLSX with theme and sentiment filters: 200"):
        wb, rows = xlsx_rows(data)
        about = {r[0]: r[1] for r in wb.worksheets[1].iter_rows(values_only=True) if r[0]}
        t.eq((about.get("Theme"), about.get("Sentiment")), ("Waiting time", "Negative"), "XLSX About: theme and sentiment in words")


def flat(text):
    return re.sub(r"\s+", " ", text)


def xlsx_bad_parts(data):
    """The parts of an XLSX (zip) that are not valid UTF-8."""
    z = zipfile.ZipFile(io.BytesIO(data))
    bad = []
    for name in z.namelist():
        try:
            z.read(name).decode("utf-8")
        except UnicodeDecodeError as ex:
            bad.append("%s at %d" % (name, ex.start))
    return bad


def export_pdf(t, srv, q, what, token=None):
    """A Pdf of the export of q, or None (the failure reported)."""
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=pdf&" + q, token)
    if not t.eq((st, hd.get("content-type")), (200, "application/pdf"), "%s: PDF 200" % what):
        return None
    return Pdf(data, re.sub(r"\W+", "-", what)[:40])


def export_about(t, srv, q, what, token=None):
    """The XLSX of q read back: (About sheet as {label: value}, rows of sheet 1),
    or (None, None) with the failure reported; checks every part is UTF-8."""
    st, hd, data = raw_get(srv, "/api/v1/metrics/export?format=xlsx&" + q, token)
    if not t.eq((st, hd.get("content-type")), (200, XLSX), "%s: XLSX 200" % what):
        return None, None
    t.eq(xlsx_bad_parts(data), [], "%s: every part of the workbook is valid UTF-8" % what)
    try:
        wb, rows = xlsx_rows(data)
    except Exception as ex:  # noqa: BLE001 — a corrupt workbook is the failure
        t.check(False, "%s: openpyxl opens the workbook" % what, "%s: %s" % (type(ex).__name__, ex))
        return None, None
    return {r[0]: r[1] for r in wb.worksheets[1].iter_rows(values_only=True) if r[0]}, rows


def test_long_words(t, srv, fx):
    """Names written without spaces or in two-byte letters: a word wider than
    the page is ellipsized at a character (never cut inside one: cairo
    refuses the PDF), the heading's filter line keeps every word of
    ~500-byte names whatever their byte parity, and an employee's
    'first last' of ~520 bytes opens in a spreadsheet tool."""
    f = fx["f"]
    tag = ks.uniq("lw")
    # one word of 301 bytes: the old wrap cut it at byte 200, inside an é
    word = "Z" + "\u00e9" * 150
    tp = srv.create("touchpoints", {"journey_id": f["journey"]["id"], "name": word, "position": 7,
                                    "survey_id": f["survey"]["id"]})
    q = "group_by=team&period=2025&touchpoint_id=%d" % tp["id"]
    for lang, label in (("nl", "Contactmoment"), ("en", "Touchpoint")):
        pdf = export_pdf(t, srv, "lang=%s&%s" % (lang, q), "one 301-byte word (%s)" % lang)
        if pdf:
            try:
                m = re.search("%s: (Z\u00e9+)\u2026" % label, flat(pdf.text))
                t.check(m and 20 < len(m.group(1)) < len(word) and "\ufffd" not in pdf.text,
                        "one 301-byte word (%s): ellipsized at a whole character, '%s: Zéé…'" % (lang, label),
                        flat(pdf.text)[:400])
            finally:
                pdf.cleanup()
    about, _ = export_about(t, srv, "lang=en&" + q, "one 301-byte word")
    if about is not None:
        t.eq(about.get("Touchpoint"), word, "one 301-byte word: the spreadsheet's About holds it whole")

    # the heading's filter line: two names of 496 and 496+pad bytes (words
    # of three é) with a team: over 1024 bytes, once of each byte parity
    words = " ".join(["\u00e9\u00e9\u00e9"] * 71)
    for pad in (0, 1):
        j = srv.create("journeys", {"name": "J" * pad + words})
        tpw = srv.create("touchpoints", {"journey_id": j["id"], "name": words, "position": 1,
                                         "survey_id": f["survey"]["id"]})
        q = "group_by=team&period=2025&team_id=%d&touchpoint_id=%d&journey_id=%d" % (f["team"]["id"], tpw["id"], j["id"])
        want = "Filters: Team or department: %s; Touchpoint: %s; Journey: %s" % (f["team"]["name"], words, "J" * pad + words)
        pdf = export_pdf(t, srv, "lang=en&" + q, "filters of %d bytes" % len(want.encode()))
        if pdf:
            try:
                t.check(want in flat(pdf.text), "filters of %d bytes: every word of both names is printed"
                        % len(want.encode()), flat(pdf.text)[:1500])
            finally:
                pdf.cleanup()

    # words of 60 bytes of a narrow letter: the old line buffer of 300 bytes
    # dropped the words after it although the line had room
    narrow = " ".join(["\u00ed" * 30] * 8)
    j = srv.create("journeys", {"name": "Klantreis " + tag})
    tpn = srv.create("touchpoints", {"journey_id": j["id"], "name": narrow, "position": 1, "survey_id": f["survey"]["id"]})
    q = "group_by=team&period=2025&touchpoint_id=%d&journey_id=%d" % (tpn["id"], j["id"])
    pdf = export_pdf(t, srv, "lang=en&" + q, "eight narrow words")
    if pdf:
        try:
            t.check("Touchpoint: %s; Journey: Klantreis %s" % (narrow, tag) in flat(pdf.text),
                    "eight narrow words: all eight printed (wrapped, none dropped), then the journey",
                    flat(pdf.text)[:800])
        finally:
            pdf.cleanup()

    # an employee of 21 / 22 + 1 + 500 bytes: the old 520-byte line was cut
    # inside an é for one of the two, and the workbook did not open
    for first in ("A" * 21, "B" * 22):
        last = "\u00e9" * 250
        emp = srv.create("employees", {"team_id": f["team"]["id"], "first_name": first, "last_name": last})
        q = "group_by=month&period=2025&employee_id=%d" % emp["id"]
        about, _ = export_about(t, srv, "lang=en&" + q, "employee of %d bytes" % len((first + " " + last).encode()))
        if about is not None:
            t.eq(about.get("Employee"), first + " " + last, "employee of %d-byte first name: About holds the whole name" % len(first))
        pdf = export_pdf(t, srv, "lang=nl&" + q, "employee of %d-byte first name" % len(first))
        if pdf:
            try:
                t.check(re.search("Medewerker: %s \u00e9{20,249}\u2026" % first, flat(pdf.text)) and "\ufffd" not in pdf.text,
                        "employee of %d-byte first name: the PDF prints the name, its long last word ellipsized" % len(first),
                        flat(pdf.text)[:600])
            finally:
                pdf.cleanup()


def test_nps_only(t, srv, fx):
    """measures=nps: grade and CES were not counted, so neither file has
    their columns (an empty one or a dash would read "no answers"); both
    say NPS only was measured."""
    q = "group_by=team&team_id=%d&period=2025&measures=nps" % fx["dept"]["id"]
    st, reply = get_json(srv, "/api/v1/metrics?" + q)
    if not t.check(st == 200, "/metrics measures=nps: 200", ks.got(st, reply)):
        return
    t1 = fx["t1"]["name"]
    b1 = ks.nps_block(fx["counts"]["t1"])
    about, rows = export_about(t, srv, "lang=en&" + q, "measures=nps")
    if rows is not None:
        t.eq(rows[0], ["Team", "Responses", "NPS", "NPS low (95%)", "NPS high (95%)", "NPS answers", "Note"],
             "measures=nps XLSX: no grade or CES columns")
        r1 = [r for r in rows if r[0] == t1]
        c1 = fx["counts"]["t1"]
        t.eq(r1[0] if r1 else None, [t1, c1.n, b1["value"], b1["low"], b1["high"], c1.nps_n, None],
             "measures=nps XLSX: Team Één's n and NPS from the counts made here, nothing after them")
        t.eq(about.get("Measures"), "NPS only (grade and CES not counted)", "measures=nps XLSX: About says NPS only")
    pdf = export_pdf(t, srv, "lang=nl&" + q, "measures=nps nl")
    if pdf:
        try:
            head = flat(pdf.line_of("95%-interval"))
            t.check(head and "Cijfer" not in head and "CES" not in head,
                    "measures=nps PDF: the header has no Cijfer or CES column", head)
            line = flat(pdf.line_of(t1)).strip()
            t.check(line.endswith("%s %s – %s" % (nl_num(b1["value"], 1), nl_num(b1["low"], 1), nl_num(b1["high"], 1))),
                    "measures=nps PDF: Team Één's line ends with its NPS and interval (no dashes for grade and CES)", line)
            t.check("Gemeten: alleen NPS (cijfer en CES niet geteld)" in flat(pdf.text),
                    "measures=nps PDF: the heading says only NPS was measured", flat(pdf.text)[:600])
        finally:
            pdf.cleanup()
    # without measures the columns are there (the same breakdown)
    about, rows = export_about(t, srv, "lang=en&" + q.replace("&measures=nps", ""), "measures=all")
    if rows is not None:
        t.eq(rows[0][6:10], ["Grade", "Grade answers", "CES", "CES answers"], "measures=all XLSX: grade and CES columns")
        t.check("Measures" not in about, "measures=all XLSX: no 'Measures' line", about)


def test_product_filter(t, srv, fx):
    """The product filter reads as the product's name (as the pickers show
    it), not its id."""
    tag = ks.uniq("prod")
    name = "Spaarrekening \u00c9\u00e9n " + tag
    st, _, b = srv.post("/api/v1/import/products", [{"external_id": tag, "name": name}])
    if not t.check(st in (200, 201), "import one product", ks.got(st, b)):
        return
    pid = srv.sql("SELECT id FROM products WHERE external_id = ?", (tag,))[0][0]
    q = "group_by=team&period=2025&product=%d" % pid
    deadline = time.time() + 15
    st = None
    while time.time() < deadline:  # the index reloads within about a second of an import
        st, _ = get_json(srv, "/api/v1/metrics?" + q)
        if st == 200:
            break
        time.sleep(0.2)
    if not t.eq(st, 200, "/metrics with the new product: 200 once the index has it"):
        return
    pdf = export_pdf(t, srv, "lang=en&" + q, "product filter")
    if pdf:
        try:
            t.check("Filters: Product: %s" % name in flat(pdf.text) and "Product: %d" % pid not in flat(pdf.text),
                    "product filter PDF: 'Product: %s', not the id %d" % (name, pid), flat(pdf.text)[:600])
        finally:
            pdf.cleanup()
    about, _ = export_about(t, srv, "lang=nl&" + q, "product filter")
    if about is not None:
        t.eq(about.get("Product"), name, "product filter XLSX: Over names the product")


def test_errors(t, srv, fx):
    base = "/api/v1/metrics/export?group_by=team&period=2025"
    for q, field, why in [("", "format", "format is required"), ("&format=csv", "format", "csv is /metrics', not the export's"),
                          ("&format=PDF", "format", "format is lower case"),
                          ("&format=pdf&lang=de", "lang", "lang is nl or en"), ("&format=xlsx&lang=", "lang", "an empty lang"),
                          ("&format=pdf&grup_by=team", "grup_by", "a typo in a parameter"),
                          ("&format=pdf&group_by=bogus", "group_by", "an unknown dimension, as /metrics"),
                          ("&format=pdf&period=2025-13", "period", "a bad period, as /metrics")]:
        if "group_by=bogus" in q:
            resp = srv.get("/api/v1/metrics/export?period=2025" + q)
        elif "period=" in q:
            resp = srv.get("/api/v1/metrics/export?group_by=team" + q)
        else:
            resp = srv.get(base + q)
        t.error(resp, 422, field=field, name="export 422 naming %s: %s" % (field, why))
    st, _, _ = ks.http_request(srv.port, "GET", base + "&format=pdf", auth=False)
    t.eq(st, 401, "export without a login: 401")
    # the export is logged like the CSV
    st, _, data = raw_get(srv, base + "&format=xlsx&lang=en&team_id=%d" % fx["dept"]["id"])
    st2, _, b = srv.get("/api/v1/audit?limit=5&action=export.metrics")
    items = b.get("items", []) if isinstance(b, dict) else []
    t.eq(items[0].get("detail") if items else None, {"path": "/api/v1/metrics/export", "format": "xlsx", "lang": "en"},
         "the export is in the audit log (export.metrics: path, format, lang)")


def main(t, srv):
    st, _, b = srv.request("PUT", "/api/v1/settings", {"organisation_name": "Energie BV export"})
    if not t.check(st == 200, "organisation name set", ks.got(st, b)):
        return
    fx = fixture(srv)
    reply = test_pdf_nl(t, srv, fx)
    if reply:
        test_xlsx(t, srv, fx, reply)
    test_pdf_en_long(t, srv, fx)
    test_two_way_and_parallel(t, srv, fx)
    test_long_name_and_no_grouping(t, srv, fx)
    test_filter_words(t, srv, fx)
    test_lead_and_employee(t, srv, fx)
    test_long_words(t, srv, fx)
    test_nps_only(t, srv, fx)
    test_product_filter(t, srv, fx)
    test_errors(t, srv, fx)


if __name__ == "__main__":
    ks.run(main)
