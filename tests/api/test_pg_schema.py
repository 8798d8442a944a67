#!/usr/bin/python3
# ks-test: pg-only (tests/run runs it in the PostgreSQL pass only)
"""test_pg_schema.py — the PostgreSQL schema equals SQLite's (issue 18).

src/store/migrations/NNN_name.sql (SQLite) and src/store/migrations/pg/
NNN_name.sql (PostgreSQL 15) must build the same schema, so that one store
runs on both. This test applies every SQLite migration to a fresh SQLite
file (Python's sqlite3, each in one transaction) and every PostgreSQL
migration to a fresh database (psql -1, each in one transaction), and
compares what they made, read from each catalogue (PRAGMA table_xinfo /
index_list / foreign_key_list; pg_attribute / pg_index / pg_constraint):

  * the same files (numbers and names) on both sides;
  * the same tables; per table the same columns in the same order, with
    the mapped type (INTEGER -> bigint, REAL -> double precision, TEXT ->
    text, BLOB -> bytea), nullability, default and collation;
  * the same primary keys and UNIQUE constraints, the same named indexes
    (columns or expressions, uniqueness, partial WHERE), the same foreign
    keys with their ON DELETE, the same triggers;
  * the rows the migrations seed;
  * behaviour: a base row per table (defaults read back equal), and for
    each CHECK the same sample values accepted and refused on both (the
    samples derived from the CHECK texts; every CHECK refuses one);
  * the triggers' effects: audit_log refuses UPDATE and DELETE with the
    same message; mentions link to a customer created or renamed later;
    review invitations are credited and uncredited; full-text search finds
    the same answers (the store's FTS5 query against ks_fts_query());
  * the data migrations: rows written at version 9 and 12 come out of the
    later migrations (010's token copy, 013's case merge, 023's erased_at)
    the same on both;
  * the SQL functions pg/001 defines for the store's SQLite-dialect SQL.

PostgreSQL: $KS_PG_URI names a server (a fresh database is made there with
scripts/pg-cluster newdb); unset, the test starts its own cluster with
scripts/pg-cluster start in a temporary directory and stops it after.
"""

import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ks  # noqa: E402

MIG = os.path.join(ks.REPO, "src", "store", "migrations")
PG_CLUSTER = os.path.join(ks.REPO, "scripts", "pg-cluster")
PSQL = "/usr/lib/postgresql/15/bin/psql" if os.path.exists("/usr/lib/postgresql/15/bin/psql") else "psql"

# SQLite's declared type -> PostgreSQL's (format_type)
TYPE_MAP = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"}
# FTS5 tables: in PostgreSQL a table of rowid, the FTS5 columns, and tsv
FTS_EXTRA_FIRST = [("rowid", "bigint", True)]
FTS_EXTRA_LAST = [("tsv", "tsvector", True)]
# Tables whose implicit SQLite rowid is an explicit last column in
# PostgreSQL (an identity), because the store orders by it (pg/017, pg/020).
PG_ROWID_TABLES = {"text_themes", "mention_themes"}
# Objects PostgreSQL has beyond SQLite's, each for a reason in its migration.
PG_ONLY_INDEXES = {"responses_fts": {"responses_fts_tsv"}}          # 005: the GIN index
PG_ONLY_TRIGGERS = {("audit_log", "audit_log_no_truncate")}         # 012: TRUNCATE
# issue 18 (NODES): 028's change feed, filled on PostgreSQL only (one node on SQLite)
PG_ONLY_TRIGGERS |= {("responses", "ks_feed_responses_ins"), ("responses", "ks_feed_responses_upd"),
                     ("text_analysis", "ks_feed_text_ins"), ("text_analysis", "ks_feed_text_upd"),
                     ("text_analysis", "ks_feed_text_del"), ("text_config", "ks_feed_text_config"),
                     ("customers", "ks_feed_customers"), ("org_units", "ks_feed_org_units"),
                     ("employees", "ks_feed_employees"), ("touchpoints", "ks_feed_touchpoints"),
                     ("journeys", "ks_feed_journeys")}
# end issue 18 (NODES)
# Columns whose seeded value is the time of the migration ('now').
NOW_COLUMNS = {("kpis", "created_at"), ("api_tokens", "expires_at")}


class PgError(Exception):
    pass


# ---------------------------------------------------------------------------
# PostgreSQL through psql


def psql(uri, sql, single_tx=False):
    """Run sql on uri; stdout (unaligned, tuples only). PgError on failure."""
    args = [PSQL, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", uri]
    if single_tx:
        args.append("-1")
    env = dict(os.environ, PGOPTIONS="-c client_min_messages=warning")
    p = subprocess.run(args, input=sql, capture_output=True, text=True, env=env, timeout=300)
    if p.returncode != 0:
        raise PgError(p.stderr.strip() or ("psql exit %d" % p.returncode))
    return p.stdout


def pg_json(uri, query):
    """Rows of query as a list of dicts (json_agg), [] for none."""
    out = psql(uri, "SELECT coalesce(json_agg(q), '[]') FROM (%s) AS q;" % query)
    return json.loads(out)


def lit(v):
    """A value as an SQL literal both dialects read alike."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, bytes):
        return None  # per dialect: see blob_lit
    return "'" + v.replace("'", "''") + "'"


def blob_lit(v, pg):
    return ("'\\x%s'::bytea" % v.hex()) if pg else ("X'%s'" % v.hex())


def val_lit(v, pg):
    return blob_lit(v, pg) if isinstance(v, bytes) else lit(v)


class Cluster:
    """A database to test in: a fresh one on $KS_PG_URI's server, or on a
    cluster of our own."""

    def __init__(self):
        self.dir = None
        self.uri = None

    def __enter__(self):
        base = os.environ.get("KS_PG_URI")
        if not base:
            self.dir = tempfile.mkdtemp(prefix="ks-pgschema-")
            os.chmod(self.dir, 0o755)
            p = subprocess.run(["sh", PG_CLUSTER, "start", self.dir], capture_output=True, text=True,
                               timeout=180)
            if p.returncode != 0:
                raise ks.FixtureError("scripts/pg-cluster start failed: " + p.stderr)
            base = p.stdout.strip().splitlines()[-1]
        name = "ks_pgschema_%d" % os.getpid()
        p = subprocess.run(["sh", PG_CLUSTER, "newdb", base, name], capture_output=True, text=True,
                           timeout=120)
        if p.returncode != 0:
            raise ks.FixtureError("scripts/pg-cluster newdb failed: " + p.stderr)
        self.uri = p.stdout.strip().splitlines()[-1]
        self.base = base
        return self

    def fresh(self, name):
        p = subprocess.run(["sh", PG_CLUSTER, "newdb", self.base, name], capture_output=True, text=True,
                           timeout=120)
        if p.returncode != 0:
            raise ks.FixtureError("scripts/pg-cluster newdb failed: " + p.stderr)
        return p.stdout.strip().splitlines()[-1]

    def drop(self, uri):
        server = uri.rsplit("/", 1)[0]
        name = uri.rsplit("/", 1)[1].split("?")[0]
        try:
            psql(server + "/postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE);" % name)
        except PgError:
            pass

    def __exit__(self, *exc):
        if self.dir is not None:
            subprocess.run(["sh", PG_CLUSTER, "stop", self.dir], capture_output=True, timeout=120)
            shutil.rmtree(self.dir, ignore_errors=True)
        elif self.uri:
            self.drop(self.uri)
        return False


# ---------------------------------------------------------------------------
# the migrations


def migration_files():
    lite = sorted(glob.glob(os.path.join(MIG, "*.sql")))
    pg = sorted(glob.glob(os.path.join(MIG, "pg", "*.sql")))
    return lite, pg


def strip_quoted(sql):
    """sql without its '...' literals and -- comments kept (for the ? rule)."""
    return re.sub(r"'(?:[^']|'')*'", "''", sql)


def apply_lite(db, files):
    for f in files:
        with open(f, encoding="utf-8") as fh:
            db.executescript("BEGIN;\n" + fh.read() + "\nCOMMIT;")


def apply_pg(uri, files):
    for f in files:
        with open(f, encoding="utf-8") as fh:
            try:
                psql(uri, fh.read(), single_tx=True)
            except PgError as ex:
                raise PgError("%s: %s" % (os.path.basename(f), ex))


# ---------------------------------------------------------------------------
# the schema of each side, in one shape


def norm_expr(s):
    """An expression or predicate in a form both catalogues' texts reach:
    lower case, PostgreSQL's casts and = ANY (ARRAY[..]) undone, no blanks
    or parentheses."""
    if s is None:
        return None
    s = s.lower()
    s = re.sub(r"::(double precision|character varying|[a-z_]+)(\[\])?", "", s)
    s = re.sub(r"=\s*any\s*\(\s*array\s*\[(.*?)\]\s*\)", r" in (\1)", s)
    s = re.sub(r"[\s()\"]", "", s)
    return s


def norm_default(s):
    if s is None:
        return None
    s = norm_expr(s)
    return s


def split_top(s):
    """Split s at its top-level commas."""
    out, depth, cur, q = [], 0, "", False
    for ch in s:
        if ch == "'":
            q = not q
        if not q and ch == "(":
            depth += 1
        elif not q and ch == ")":
            depth -= 1
        if not q and depth == 0 and ch == ",":
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [x.strip() for x in out]


def paren_body(s, start):
    """The text inside the parenthesis that opens at s[start]."""
    depth, q = 0, False
    for i in range(start, len(s)):
        ch = s[i]
        if ch == "'":
            q = not q
        elif not q and ch == "(":
            depth += 1
        elif not q and ch == ")":
            depth -= 1
            if depth == 0:
                return s[start + 1:i]
    raise ValueError("unbalanced: " + s)


def lite_checks(sql):
    """The CHECK expressions in a CREATE TABLE text (SQLite keeps the text,
    ALTER TABLE ADD COLUMN included)."""
    out = []
    for m in re.finditer(r"\bCHECK\s*\(", sql, re.I):
        out.append(paren_body(sql, m.end() - 1).strip())
    return out


def lite_schema(db):
    tables = {}
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"
                      " AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    virtual = {n for n, s in rows if s.upper().startswith("CREATE VIRTUAL TABLE")}
    for name, sql in rows:
        if any(name.startswith(v + "_") for v in virtual):
            continue  # an FTS5 shadow table
        cols = []
        pk = []
        for cid, cname, ctype, notnull, dflt, cpk, hidden in db.execute("PRAGMA table_xinfo(%s)" % name):
            if hidden:
                continue
            cols.append((cname, ctype.upper(), bool(notnull) or cpk > 0, dflt))
            if cpk:
                pk.append((cpk, cname))
        collations = set()
        for m in re.finditer(r"(\w+)\s+[^,]*?\bCOLLATE\s+(\w+)", sql, re.I):
            collations.add((m.group(1), m.group(2).lower()))
        uniques, named = set(), {}
        for _seq, iname, unique, origin, partial in db.execute("PRAGMA index_list(%s)" % name):
            if origin == "u":
                cols_u = tuple(r[2] for r in db.execute("PRAGMA index_info(%s)" % iname))
                uniques.add(cols_u)
            elif origin == "c":
                isql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (iname,)).fetchone()[0]
                on = re.search(r"\bON\s+\w+\s*\(", isql, re.I)
                body = paren_body(isql, on.end() - 1)
                where = None
                rest = isql[on.end() - 1 + len(body) + 2:]
                w = re.search(r"\bWHERE\b(.*)$", rest, re.I | re.S)
                if w:
                    where = norm_expr(w.group(1))
                named[iname] = (bool(unique), tuple(norm_expr(c) for c in split_top(body)), where)
        fks = set()
        for _id, _seq, ref, frm, to, _upd, ondel, _match in db.execute("PRAGMA foreign_key_list(%s)" % name):
            fks.add((frm, ref, to, ondel.upper()))
        tables[name] = {
            "virtual": name in virtual,
            "sql": sql,
            "columns": cols,
            "pk": tuple(c for _, c in sorted(pk)),
            "uniques": uniques,
            "indexes": named,
            "fks": fks,
            "collations": collations,
            "checks": lite_checks(sql),
        }
    triggers = {(t, n) for n, t in db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")}
    return tables, triggers


PG_CATALOG_SQL = {
    "columns": """
        SELECT c.relname AS t, a.attname AS col, format_type(a.atttypid, a.atttypmod) AS type,
               a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity AS ident,
               CASE WHEN a.attcollation <> 0 AND a.attcollation <> 100 THEN co.collname END AS coll
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
         WHERE c.relkind = 'r' AND n.nspname = current_schema()
         ORDER BY c.relname, a.attnum""",
    "constraints": """
        SELECT c.relname AS t, k.contype AS kind, k.conname AS name,
               (SELECT array_agg(a.attname ORDER BY x.i) FROM unnest(k.conkey) WITH ORDINALITY AS x(n, i)
                  JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.n) AS cols,
               rc.relname AS ref,
               (SELECT array_agg(a.attname ORDER BY x.i) FROM unnest(k.confkey) WITH ORDINALITY AS x(n, i)
                  JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.n) AS refcols,
               k.confdeltype AS ondel, pg_get_constraintdef(k.oid) AS def, k.conindid AS indid
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_class rc ON rc.oid = k.confrelid
         WHERE n.nspname = current_schema()""",
    "indexes": """
        SELECT c.relname AS t, i.relname AS name, x.indisunique AS uniq,
               (SELECT array_agg(pg_get_indexdef(x.indexrelid, k, true) ORDER BY k)
                  FROM generate_series(1, x.indnkeyatts) AS k) AS cols,
               pg_get_expr(x.indpred, x.indrelid) AS pred,
               EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) AS of_constraint
          FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema()""",
    "triggers": """
        SELECT c.relname AS t, g.tgname AS name FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE NOT g.tgisinternal AND n.nspname = current_schema()""",
}

ONDEL = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def pg_schema(uri):
    cat = {k: pg_json(uri, q) for k, q in PG_CATALOG_SQL.items()}
    tables = {}
    for r in cat["columns"]:
        t = tables.setdefault(r["t"], {"columns": [], "pk": (), "uniques": set(), "indexes": {},
                                       "fks": set(), "collations": set(), "ident": set()})
        dflt = r["dflt"]
        t["columns"].append((r["col"], r["type"], r["notnull"], dflt))
        if r["ident"]:
            t["ident"].add(r["col"])
        if r["coll"]:
            t["collations"].add((r["col"], r["coll"]))
    for r in cat["constraints"]:
        t = tables.get(r["t"])
        if t is None:
            continue
        if r["kind"] == "p":
            t["pk"] = tuple(r["cols"])
        elif r["kind"] == "u":
            t["uniques"].add(tuple(r["cols"]))
        elif r["kind"] == "f":
            t["fks"].add((r["cols"][0], r["ref"], r["refcols"][0], ONDEL[r["ondel"]]))
    for r in cat["indexes"]:
        t = tables.get(r["t"])
        if t is None or r["of_constraint"]:
            continue
        t["indexes"][r["name"]] = (r["uniq"], tuple(norm_expr(c) for c in r["cols"]), norm_expr(r["pred"]))
    triggers = {(r["t"], r["name"]) for r in cat["triggers"]}
    return tables, triggers


def compare_schema(t, lite, pg):
    lt, ltrig = lite
    pt, ptrig = pg
    t.eq(sorted(pt), sorted(lt), "the same tables on both sides")
    col_diffs, key_diffs, idx_diffs, fk_diffs, coll_diffs = [], [], [], [], []
    for name in sorted(set(lt) & set(pt)):
        a, b = lt[name], pt[name]
        if a["virtual"]:
            want = FTS_EXTRA_FIRST + [(c[0], "text", False) for c in a["columns"]] + FTS_EXTRA_LAST
            got = [(c[0], c[1], c[2]) for c in b["columns"]]
            if got != want:
                col_diffs.append("%s: FTS table %s, expected %s" % (name, got, want))
            extra = set(b["indexes"]) - PG_ONLY_INDEXES.get(name, set())
            if extra:
                idx_diffs.append("%s: indexes %s" % (name, sorted(extra)))
            continue
        want = [(c, TYPE_MAP.get(ty, "?" + ty), nn, norm_default(d)) for c, ty, nn, d in a["columns"]]
        got = []
        for c, ty, nn, d in b["columns"]:
            got.append((c, ty, nn, norm_default(d)))
        if name in PG_ROWID_TABLES and got and got[-1][:3] == ("rowid", "bigint", True):
            got.pop()
        if got != want:
            lines = ["%s:" % name]
            for i in range(max(len(got), len(want))):
                w = want[i] if i < len(want) else None
                g = got[i] if i < len(got) else None
                if w != g:
                    lines.append("  column %d: SQLite %s, PostgreSQL %s" % (i + 1, w, g))
            col_diffs.append("\n".join(lines))
        # an INTEGER PRIMARY KEY is SQLite's rowid: the identity here, except
        # where the key is another table's id (a plain key, pg/001)
        if a["pk"] != b["pk"]:
            key_diffs.append("%s: primary key %s, expected %s" % (name, b["pk"], a["pk"]))
        if a["uniques"] != b["uniques"]:
            key_diffs.append("%s: UNIQUE %s, expected %s" % (name, sorted(b["uniques"]), sorted(a["uniques"])))
        pidx = {k: v for k, v in b["indexes"].items() if k not in PG_ONLY_INDEXES.get(name, set())}
        if a["indexes"] != pidx:
            for k in sorted(set(a["indexes"]) | set(pidx)):
                if a["indexes"].get(k) != pidx.get(k):
                    idx_diffs.append("%s.%s: SQLite %s, PostgreSQL %s" % (name, k, a["indexes"].get(k), pidx.get(k)))
        if a["fks"] != b["fks"]:
            fk_diffs.append("%s: SQLite %s, PostgreSQL %s" % (name, sorted(a["fks"]), sorted(b["fks"])))
        if a["collations"] != b["collations"]:
            coll_diffs.append("%s: SQLite %s, PostgreSQL %s" % (name, sorted(a["collations"]), sorted(b["collations"])))
    t.check(not col_diffs, "per table the same columns, in order, with the mapped types, nullability and defaults",
            "\n".join(col_diffs))
    t.check(not key_diffs, "the same primary keys and UNIQUE constraints", "\n".join(key_diffs))
    t.check(not idx_diffs, "the same named indexes (columns, uniqueness, partial WHERE)", "\n".join(idx_diffs))
    t.check(not fk_diffs, "the same foreign keys with the same ON DELETE", "\n".join(fk_diffs))
    t.check(not coll_diffs, "the same column collations (users.email: NOCASE / nocase)", "\n".join(coll_diffs))
    t.eq(sorted(ptrig - PG_ONLY_TRIGGERS), sorted(ltrig), "the same triggers, by table and name")
    # identity exactly where SQLite has a rowid alias that is no other table's id
    ident_diffs = []
    for name in sorted(set(lt) & set(pt)):
        a, b = lt[name], pt[name]
        if a["virtual"]:
            continue
        alias = set()
        if len(a["pk"]) == 1:
            c = [c for c in a["columns"] if c[0] == a["pk"][0]][0]
            refs = {f[0] for f in a["fks"]}
            if c[1] == "INTEGER" and "WITHOUT ROWID" not in a["sql"].upper() and c[0] not in refs:
                alias.add(c[0])
        if name in PG_ROWID_TABLES:
            alias.add("rowid")   # the implicit rowid made explicit (pg/017, pg/020)
        if b["ident"] != alias:
            ident_diffs.append("%s: identity %s, expected %s" % (name, sorted(b["ident"]), sorted(alias)))
    t.check(not ident_diffs, "an identity column exactly for each INTEGER PRIMARY KEY that is no foreign key",
            "\n".join(ident_diffs))


# ---------------------------------------------------------------------------
# rows


def norm_value(v):
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v


def lite_rows(db, table, cols):
    order = ", ".join("%s IS NULL, %s" % (c, c) for c in cols)
    return [[norm_value(v) for v in r] for r in db.execute(
        "SELECT %s FROM %s ORDER BY %s" % (", ".join(cols), table, order))]


def pg_rows(uri, table, cols):
    # NULLs first, as SQLite orders them
    order = ", ".join("%s IS NOT NULL, %s" % (c, c) for c in cols)
    q = "SELECT json_agg(json_build_array(%s) ORDER BY %s) FROM %s" % (", ".join(cols), order, table)
    out = psql(uri, q + ";").strip()
    rows = json.loads(out) if out else None
    return [[norm_value(v) for v in r] for r in rows or []]


def rows_equal(lrows, prows, table, cols, now_cols=()):
    """Compare row lists; columns in now_cols may differ by up to 10 min."""
    if len(lrows) != len(prows):
        return False
    idx = [i for i, c in enumerate(cols) if (table, c) in now_cols or c in now_cols]
    for a, b in zip(lrows, prows):
        for i, (x, y) in enumerate(zip(a, b)):
            if i in idx and isinstance(x, int) and isinstance(y, int):
                if abs(x - y) > 600:
                    return False
            elif x != y:
                return False
    return True


def compare_all_rows(t, db, uri, lt, name, now_cols=NOW_COLUMNS, skip=()):
    diffs, total = [], 0
    for table in sorted(lt):
        if lt[table]["virtual"] or table in skip:
            continue
        cols = [c[0] for c in lt[table]["columns"]]
        a, b = lite_rows(db, table, cols), pg_rows(uri, table, cols)
        total += len(a)
        if not rows_equal(a, b, table, cols, now_cols):
            diffs.append("%s:\n  SQLite     %s\n  PostgreSQL %s" % (table, ks.short(a, 1500), ks.short(b, 1500)))
    t.check(not diffs and total > 0, name + " (%d rows)" % total, "\n".join(diffs))


# ---------------------------------------------------------------------------
# CHECK constraints and defaults, by behaviour


GENERIC = {
    "INTEGER": [0, 1, 2, -1, 5, 7, 100],
    "REAL": [0.0, 1.0, -0.5, 10.5, 5.25],
    "TEXT": ["x", "", "zz", "http://a.example/x", "https://a.example/x", "HTTPS://A.EXAMPLE/X",
             "ftp://a.example/x", "x" * 7],
    "BLOB": [b"x"],
}


def candidates(ctype, checks_of_col):
    """Values to probe a column with: its type's generic ones, and values
    around the literals of the CHECKs that name it."""
    vals = list(GENERIC.get(ctype, []))
    for chk in checks_of_col:
        strs = re.findall(r"'((?:[^']|'')*)'", chk)
        nums = [int(n) for n in re.findall(r"(?<![\w'])-?\d+(?![\w'])", re.sub(r"'(?:[^']|'')*'", "", chk))]
        if ctype == "TEXT":
            for s in strs:
                s = s.replace("''", "'")
                if "%" in s:
                    vals += [s.replace("%", "a.example"), s.upper().replace("%", "A.EXAMPLE"),
                             "x" + s.replace("%", "")]
                else:
                    vals += [s, s.upper(), s + "x"]
            for n in nums:
                for k in (n - 1, n, n + 1):
                    if 0 <= k <= 70000:
                        vals.append("x" * k)
        elif ctype == "INTEGER":
            for n in nums:
                vals += [n - 1, n, n + 1]
        elif ctype == "REAL":
            for n in nums:
                vals += [float(n) - 0.5, float(n), float(n) + 0.5]
        elif ctype == "BLOB":
            for n in nums:
                for k in (n - 1, n, n + 1):
                    if 0 <= k <= 70000:
                        vals.append(b"x" * k)
    vals.append(None)
    out, seen = [], set()
    for v in vals:
        k = (type(v).__name__, v)
        if k not in seen:
            seen.add(k)
            out.append(v)
    return out


def mentions(chk, col):
    return re.search(r"\b%s\b" % re.escape(col), re.sub(r"'(?:[^']|'')*'", "", chk)) is not None


def lite_try(db, table, row):
    """Insert row into the emptied table inside a savepoint, roll it back:
    'ok' or the kind of refusal."""
    cols = list(row)
    db.execute("SAVEPOINT probe")
    try:
        db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(cols) or "rowid",
                                                       ", ".join("?" for _ in cols) or "NULL"),
                   [row[c] for c in cols])
        return "ok", None
    except sqlite3.IntegrityError as ex:
        msg = str(ex)
        if msg.startswith("CHECK constraint failed"):
            return "check", msg[len("CHECK constraint failed: "):]
        if msg.startswith("NOT NULL constraint failed"):
            return "notnull", msg
        return "other", msg
    finally:
        db.execute("ROLLBACK TO probe")
        db.execute("RELEASE probe")


def pg_insert_sql(table, row):
    cols = list(row)
    if not cols:
        return "INSERT INTO %s DEFAULT VALUES" % table
    return "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(cols),
                                                ", ".join(val_lit(row[c], True) for c in cols))


PG_TRY = r"""
CREATE FUNCTION pg_temp.ks_try(q text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	BEGIN
		EXECUTE q;
		RAISE SQLSTATE 'KSOK0';
	EXCEPTION WHEN SQLSTATE 'KSOK0' THEN
		RETURN 'ok';
	WHEN check_violation THEN
		RETURN 'check';
	WHEN not_null_violation THEN
		RETURN 'notnull';
	WHEN others THEN
		RETURN 'other ' || SQLSTATE || ' ' || SQLERRM;
	END;
END $f$;
"""


def probe_checks(t, db, uri, lt):
    """Per table: a base row (required columns only, fixed until SQLite
    takes it), the defaults it reads back, and every CHECK column probed."""
    base_fail, default_diffs, check_diffs, unrefused = [], [], [], []
    probes = []  # (table, column, value, lite outcome)
    bases = {}
    db.execute("BEGIN")
    try:
        for table in sorted(lt):
            info = lt[table]
            if info["virtual"]:
                continue
            db.execute("DELETE FROM %s" % table) if table != "audit_log" else None
            checks = info["checks"]
            ctype = {c[0]: c[1] for c in info["columns"]}
            # the key too, given (an identity in PostgreSQL, or a plain key
            # where it is another table's id)
            required = [c[0] for c in info["columns"] if c[2] and c[3] is None]
            row = {c: GENERIC[ctype[c]][1] if ctype[c] != "BLOB" else b"x" for c in required}
            for c in required:
                if ctype[c] == "TEXT":
                    row[c] = "x"
            ok = False
            for _ in range(12):
                res, detail = lite_try(db, table, row)
                if res == "ok":
                    ok = True
                    break
                if res != "check":
                    break
                cols = [c for c in required if mentions(detail, c)]
                fixed = False
                for c in cols:
                    for v in candidates(ctype[c], [detail]):
                        if v is None:
                            continue
                        trial = dict(row, **{c: v})
                        r2, d2 = lite_try(db, table, trial)
                        if r2 == "ok" or (r2 == "check" and d2 != detail):
                            row = trial
                            fixed = True
                            break
                    if fixed:
                        break
                if not fixed:
                    break
            if not ok:
                base_fail.append("%s: %s" % (table, lite_try(db, table, row)))
                continue
            bases[table] = row
            for c, cty, _nn, _d in info["columns"]:
                cks = [k for k in checks if mentions(k, c)]
                if not cks:
                    continue
                for v in candidates(cty, cks):
                    if v is None and c in info["pk"]:
                        # SQLite's quirks, refused by PostgreSQL: NULL
                        # into a rowid key takes the next id, and a
                        # NULL text key is allowed in a rowid table
                        continue
                    trial = dict(row, **{c: v})
                    res, detail = lite_try(db, table, trial)
                    probes.append((table, c, v, res, detail))
    finally:
        db.execute("ROLLBACK")
    # every CHECK text refused at least one sample
    for table in sorted(bases):
        for k in lt[table]["checks"]:
            if not any(p[0] == table and p[3] == "check" and p[4] == k for p in probes):
                unrefused.append("%s: CHECK (%s)" % (table, k))
    # PostgreSQL: the same rows into copies of the tables (LIKE: columns,
    # defaults, NOT NULL, CHECKs, identity; no foreign keys or unique
    # indexes, which SQLite did not meet either in its emptied tables)
    stmts = [PG_TRY, "BEGIN;"]
    for table in sorted(bases):
        stmts.append("CREATE TEMP TABLE probe_%s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
                     " INCLUDING IDENTITY);" % (table, table))
    values = []
    for table in sorted(bases):
        values.append(pg_insert_sql("probe_" + table, bases[table]))
    for table, c, v, _res, _d in probes:
        values.append(pg_insert_sql("probe_" + table, dict(bases[table], **{c: v})))
    stmts.append("SELECT json_agg(pg_temp.ks_try(q) ORDER BY n) FROM (VALUES %s) AS v(n, q);" %
                 ", ".join("(%d, %s)" % (i, lit(q)) for i, q in enumerate(values)))
    # the base rows, really inserted, read back with their defaults
    for table in sorted(bases):
        stmts.append(pg_insert_sql("probe_" + table, bases[table]) + ";")
    stmts.append("SELECT json_object_agg(t, r) FROM (%s) AS x(t, r);" % " UNION ALL ".join(
        "SELECT '%s', (SELECT json_agg(p) FROM probe_%s p)" % (tb, tb) for tb in sorted(bases)))
    stmts.append("ROLLBACK;")
    out = psql(uri, "\n".join(stmts)).strip().splitlines()
    outcomes, readback = json.loads(out[0]), json.loads(out[1])
    nb = len(bases)
    for i, table in enumerate(sorted(bases)):
        if outcomes[i] != "ok":
            base_fail.append("%s: PostgreSQL refuses SQLite's base row %s: %s" % (table, bases[table], outcomes[i]))
    for (table, c, v, res, detail), pres in zip(probes, outcomes[nb:]):
        pkind = pres.split(" ")[0]
        if pkind != res:
            check_diffs.append("%s.%s = %s: SQLite %s%s, PostgreSQL %s" % (
                table, c, ks.short(v, 40), res, (" (%s)" % detail) if detail else "", pres))
    # defaults: SQLite's base row read back, against PostgreSQL's
    db.execute("BEGIN")
    try:
        for table in sorted(bases):
            info = lt[table]
            if table != "audit_log":
                db.execute("DELETE FROM %s" % table)
            row = bases[table]
            cols = list(row)
            db.execute("INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(cols) or "rowid",
                                                           ", ".join("?" for _ in cols) or "NULL"),
                       [row[c] for c in cols])
            names = [c[0] for c in info["columns"]]
            lrow = [norm_value(v) for v in db.execute("SELECT %s FROM %s" % (", ".join(names), table)).fetchone()]
            prow = (readback.get(table) or [{}])[0]
            prow = [norm_value(prow.get(n)) for n in names]
            if lrow != prow:
                default_diffs.append("%s: SQLite %s, PostgreSQL %s" % (table, lrow, prow))
    finally:
        db.execute("ROLLBACK")
    t.check(not base_fail, "a base row per table is taken by both (%d tables)" % len(bases), "\n".join(base_fail))
    t.check(not default_diffs, "the base rows read back equal: the same defaults (%d tables)" % len(bases),
            "\n".join(default_diffs))
    t.check(not unrefused, "every CHECK refuses one of the samples derived from its text",
            "\n".join(unrefused))
    t.check(not check_diffs and len(probes) > 100,
            "the CHECKs accept and refuse the same %d sample rows on both" % len(probes),
            "\n".join(check_diffs[:60]))


# ---------------------------------------------------------------------------
# triggers' effects


def run_both(db, uri, statements):
    """Run the same statements on both sides (autocommit each)."""
    for s in statements:
        db.execute(s)
    psql(uri, ";\n".join(statements) + ";")


def refusal_both(db, uri, statement):
    """(SQLite's message, PostgreSQL's SQLSTATE and message) of a statement
    expected to fail; None where it succeeded."""
    lite = None
    db.execute("SAVEPOINT r")
    try:
        db.execute(statement)
    except sqlite3.Error as ex:
        lite = str(ex)
    db.execute("ROLLBACK TO r")
    db.execute("RELEASE r")
    out = psql(uri, """
CREATE FUNCTION pg_temp.ks_err(q text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE q;
	RETURN NULL;
EXCEPTION WHEN others THEN
	RETURN SQLSTATE || ' ' || SQLERRM;
END $f$;
SELECT pg_temp.ks_err(%s);""" % lit(statement)).strip()
    return lite, (out or None)


def check_audit(t, db, uri):
    run_both(db, uri, ["INSERT INTO audit_log (at, action) VALUES (1000, 'test.append')"])
    for st in ("UPDATE audit_log SET action = 'test.rewritten'", "DELETE FROM audit_log"):
        lite, pg = refusal_both(db, uri, st)
        t.check(lite == "audit_log is append-only" and pg == "P0001 audit_log is append-only",
                "audit_log refuses %s on both with the same message" % st.split()[0],
                "SQLite: %r\nPostgreSQL: %r" % (lite, pg))
    lite, pg = refusal_both(db, uri, "TRUNCATE audit_log")
    t.eq(pg, "P0001 audit_log is append-only", "PostgreSQL's audit_log refuses TRUNCATE too")
    t.eq(pg_json(uri, "SELECT action FROM audit_log"), [{"action": "test.append"}],
         "the audit row is still there, unchanged")


def check_link_triggers(t, db, uri):
    run_both(db, uri, [
        "INSERT INTO customers (id, external_id, created_at) VALUES (901, 'c-901', 0)",
        "INSERT INTO responses (id, customer_id, language, received_at, source) VALUES (901, 901, 'nl', 100, 'test')",
        "INSERT INTO review_invitations (id, response_id, customer_id, token, sent_at)"
        " VALUES (901, 901, 901, 'token-901-xxxxxxxx', 100)",
        # a mention naming a customer that does not exist yet
        "INSERT INTO mentions (id, source, source_id, created_at, updated_at, received_at, customer_external_id)"
        " VALUES (901, 'google', 'm901', 200, 200, 200, 'c-902')",
        # a mention of customer 901 after the invitation: credits it
        "INSERT INTO mentions (id, source, source_id, created_at, updated_at, received_at, customer_id)"
        " VALUES (902, 'google', 'm902', 300, 300, 300, 901)",
        # the customer arrives: mention 901 links to it
        "INSERT INTO customers (id, external_id, created_at) VALUES (902, 'c-902', 0)",
        "INSERT INTO responses (id, customer_id, language, received_at, source) VALUES (902, 902, 'nl', 150, 'test')",
        "INSERT INTO review_invitations (id, response_id, customer_id, token, sent_at)"
        " VALUES (902, 902, 902, 'token-902-xxxxxxxx', 150)",
        # moved after the invitation: credits invitation 902
        "UPDATE mentions SET created_at = 250 WHERE id = 901",
        # moved before its invitation: the credit is taken back
        "UPDATE mentions SET created_at = 50 WHERE id = 902",
        # renamed to an erasure's id (any case): never linked
        "INSERT INTO mentions (id, source, source_id, created_at, updated_at, received_at, customer_external_id)"
        " VALUES (903, 'kiyoh', 'm903', 400, 400, 400, 'ERASED-903')",
        "INSERT INTO customers (id, external_id, created_at) VALUES (903, 'x-903', 0)",
        "UPDATE customers SET external_id = 'ERASED-903' WHERE id = 903",
        # renamed to an id a mention names: linked
        "INSERT INTO mentions (id, source, source_id, created_at, updated_at, received_at, customer_external_id)"
        " VALUES (904, 'kiyoh', 'm904', 500, 500, 500, 'c-905')",
        "INSERT INTO customers (id, external_id, created_at) VALUES (904, 'y-904', 0)",
        "UPDATE customers SET external_id = 'c-905' WHERE id = 904",
    ])
    want_m = [[901, 902], [902, 901], [903, None], [904, 904]]
    want_r = [[901, None], [902, 901]]
    lm = lite_rows(db, "mentions", ["id", "customer_id"])
    pm = pg_rows(uri, "mentions", ["id", "customer_id"])
    t.eq(lm, want_m, "SQLite: mentions link to the customer created or renamed later, not to an erased one")
    t.eq(pm, want_m, "PostgreSQL: the same links")
    lr = lite_rows(db, "review_invitations", ["id", "reviewed_mention_id"])
    pr = pg_rows(uri, "review_invitations", ["id", "reviewed_mention_id"])
    t.eq(lr, want_r, "SQLite: review invitations credited, and uncredited when the review moves before them")
    t.eq(pr, want_r, "PostgreSQL: the same credits")


# The store's FTS5 queries (sqlite_dashboard.c sq_fts_query's shape).
FTS_TEXTS = [
    (801, "Één keer goed geholpen door de monteur"),
    (802, "De e-mail was snel, maar de chat niet"),
    (803, None),
    (804, "GEHOLPEN? Nee. Opzeggen!"),
    (805, "Crème brûlée bij de koffie, café was dicht"),
]
FTS_QUERIES = ['"een"', '"EEN"', '"gehol" *', '"geholpen"', '"een" AND "keer"', '"mail"', '"e-mail"',
               '"snel" *', '"niets"', '"creme"', '"cafe" AND "dicht"', '"koffie" AND "thee"',
               '"goed geholpen"', '"de" *', '"opzeg" *']


def check_fts(t, db, uri):
    stm = []
    for rid, text in FTS_TEXTS:
        stm.append("INSERT INTO responses (id, language, received_at, source, open_text) VALUES (%d, 'nl', 1, 'test', %s)"
                   % (rid, lit(text)))
    stm += ["UPDATE responses SET open_text = 'Alsnog: de monteur kwam te laat' WHERE id = 803",
            "UPDATE responses SET open_text = NULL WHERE id = 802",
            "UPDATE responses SET open_text = 'de chat was snel' WHERE id = 802",
            "DELETE FROM responses WHERE id = 805"]
    run_both(db, uri, stm)
    diffs = []
    for q in FTS_QUERIES + ['"monteur"', '"laat"', '"chat"', '"brulee"']:
        a = [r[0] for r in db.execute("SELECT rowid FROM responses_fts WHERE responses_fts MATCH ? ORDER BY rowid",
                                      (q,))]
        b = [r["rowid"] for r in pg_json(uri, "SELECT rowid FROM responses_fts WHERE tsv @@ ks_fts_query(%s)"
                                              " ORDER BY rowid" % lit(q))]
        if a != b:
            diffs.append("%s: SQLite %s, PostgreSQL %s" % (q, a, b))
    t.check(not diffs, "full-text search: the store's FTS5 queries find the same answers on both (%d queries)"
            % (len(FTS_QUERIES) + 4), "\n".join(diffs))
    t.eq(pg_json(uri, "SELECT rowid FROM responses_fts WHERE rowid BETWEEN 800 AND 899 ORDER BY rowid"),
         [{"rowid": 801}, {"rowid": 802}, {"rowid": 803}, {"rowid": 804}],
         "PostgreSQL's index holds exactly the answers with a text")


# ---------------------------------------------------------------------------
# data migrations: rows written at an older version, migrated on both


FIXTURE_V9 = [
    "INSERT INTO org_units (id, parent_id, kind, name, created_at) VALUES (1, NULL, 'organisation', 'Org', 0)",
    "INSERT INTO org_units (id, parent_id, kind, name, created_at) VALUES (2, 1, 'team', 'Team', 0)",
    "INSERT INTO customers (id, external_id, created_at) VALUES (1, 'c1', 0)",
    "INSERT INTO customers (id, external_id, created_at) VALUES (2, 'c2', 0)",
    "INSERT INTO customers (id, external_id, created_at) VALUES (3, 'c3', 0)",
    "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (1, 'a@x.nl', 'A', 'admin', 'h', 0)",
    "INSERT INTO users (id, email, name, role, password_hash, created_at) VALUES (2, 'm@x.nl', 'M', 'manager', 'h', 0)",
    "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ('hash-b', 1, 'later', 20000)",
    "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ('hash-a', 2, 'earlier', 10000)",
] + [
    "INSERT INTO responses (id, customer_id, team_id, language, nps, received_at, source)"
    " VALUES (%d, %d, 2, 'nl', %d, %d, 'test')" % (i, c, n, rt)
    for i, c, n, rt in [(1, 1, 3, 9000), (2, 1, 2, 19000), (3, 1, 1, 29000), (4, 2, 5, 4000), (5, 2, 6, 8500),
                        (6, 3, 0, 900)]
] + [
    "INSERT INTO cases (id, customer_id, reason, status, opened_at, closed_at, rule, response_id, team_id,"
    " owner_user_id, deadline, version, first_contact_at, resolved_at, escalated_at, escalated_to_user_id)"
    " VALUES " + v for v in [
        "(1, 1, 'NPS of at most 6', 'new', 10000, NULL, 'nps_max', 1, 2, NULL, 50000, 1, NULL, NULL, NULL, NULL)",
        "(2, 1, 'signal words in the open answer', 'contacted', 20000, NULL, 'words', 2, 2, 1, 40000, 3,"
        " 25000, NULL, 45000, 2)",
        "(3, 1, 'second NPS of at most 6 within 90 days', 'new', 30000, NULL, 'repeat_low', 3, 2, NULL, 60000, 1,"
        " NULL, NULL, NULL, NULL)",
        "(4, 2, 'grade of at most 5', 'resolved', 5000, NULL, 'grade_max', 4, 2, 1, 7000, 2, 6000, 8000, NULL, NULL)",
        "(5, 2, 'NPS of at most 6', 'new', 9000, NULL, 'nps_max', 5, 2, NULL, 12000, 1, NULL, NULL, NULL, NULL)",
        "(6, 3, 'NPS of at most 6', 'closed', 1000, 3000, 'nps_max', 6, 2, 2, 2500, 4, 1200, 2000, 1500, 2)",
    ]
] + [
    "INSERT INTO case_responses (case_id, response_id) VALUES (%d, %d)" % p
    for p in [(1, 1), (2, 2), (2, 1), (3, 3), (3, 1), (4, 4), (5, 5), (6, 6)]
] + [
    "INSERT INTO case_notes (id, case_id, user_id, text, created_at) VALUES (1, 2, 1, 'called', 26000)",
    "INSERT INTO case_notes (id, case_id, user_id, text, created_at) VALUES (2, 3, NULL, 'again', 31000)",
    "INSERT INTO case_mails (id, case_id, kind, to_email, status, attempts, next_attempt_at, message_id,"
    " created_at, sent_at) VALUES (1, 3, 'opened', 'a@x.nl', 'sent', 1, 30000, 'mid-1', 30000, 30001)",
    "INSERT INTO case_mails (id, case_id, kind, to_email, status, attempts, next_attempt_at, message_id,"
    " created_at, sent_at) VALUES (2, 2, 'overdue', 'm@x.nl', 'pending', 0, 41000, 'mid-2', 41000, NULL)",
]
FIXTURE_V12 = [
    "INSERT INTO erasures (id, subject_kind, subject_id, erased_at, erased_by, via) VALUES (1, 'customer', 3, 40000, NULL, 'cli')",
    "INSERT INTO erasures (id, subject_kind, subject_id, erased_at, erased_by, via) VALUES (2, 'customer', 3, 50000, 1, 'api')",
    "INSERT INTO erasures (id, subject_kind, subject_id, erased_at, erased_by, via) VALUES (3, 'employee', 1, 60000, 1, 'api')",
    "INSERT INTO audit_log (id, at, action) VALUES (1, 1000, 'case.update')",
]


def check_data_migrations(t, cl, lite_files, pg_files, tmp):
    db = sqlite3.connect(os.path.join(tmp, "data.db"), isolation_level=None)
    uri = cl.fresh("ks_pgschema_data_%d" % os.getpid())
    try:
        apply_lite(db, lite_files[:9])
        apply_pg(uri, pg_files[:9])
        run_both(db, uri, FIXTURE_V9)
        apply_lite(db, lite_files[9:12])
        apply_pg(uri, pg_files[9:12])
        run_both(db, uri, FIXTURE_V12)
        apply_lite(db, lite_files[12:])
        apply_pg(uri, pg_files[12:])
        lt, _ = lite_schema(db)
        compare_all_rows(t, db, uri, lt,
                         "rows written at versions 9 and 12 come out of 010 (tokens), 013 (one case per customer)"
                         " and 023 (erased_at) the same on both",
                         now_cols=NOW_COLUMNS | {("case_history", "at")})
        # and what 013 made of them, computed by hand
        t.eq(lite_rows(db, "cases", ["id", "customer_id", "status", "deadline", "escalated_at",
                                     "escalated_to_user_id", "owner_user_id", "version", "priority"]),
             [[1, 1, "new", 40000, 45000, 2, 1, 2, 3], [4, 2, "resolved", 7000, None, None, 1, 2, 1],
              [5, 2, "new", 12000, None, None, None, 1, 1], [6, 3, "closed", 2500, 1500, 2, 2, 4, 1]],
             "013 merged customer 1's three open cases into the oldest (earliest deadline and escalation)")
        t.eq(pg_rows(uri, "case_responses", ["case_id", "response_id"]),
             [[1, 1], [1, 2], [1, 3], [4, 4], [5, 5], [6, 6]],
             "PostgreSQL: the merged case holds each response once (INSERT OR IGNORE's ON CONFLICT)")
        t.eq(pg_rows(uri, "customers", ["id", "erased_at"]), [[1, None], [2, None], [3, 50000]],
             "PostgreSQL: 023 gives an erased customer the time of its last erasure")
        t.eq(pg_rows(uri, "api_tokens", ["id", "token_hash"]), [[1, "hash-a"], [2, "hash-b"]],
             "PostgreSQL: 010 numbers the tokens in the order they were made")
        # the identities continue after the copied and seeded ids
        nxt = pg_json(uri, "SELECT (SELECT nextval(pg_get_serial_sequence('api_tokens', 'id'))) AS tok,"
                           " (SELECT nextval(pg_get_serial_sequence('alert_rules', 'id'))) AS rule,"
                           " (SELECT nextval(pg_get_serial_sequence('case_history', 'id'))) AS hist")
        hist = db.execute("SELECT max(id) FROM case_history").fetchone()[0]
        t.eq(nxt, [{"tok": 3, "rule": 6, "hist": hist + 1}],
             "PostgreSQL: the next ids follow the migrated and seeded rows")
        # ks_sync_identities(): after explicit ids (demo, copy) every
        # identity continues after its table's largest id
        psql(uri, "INSERT INTO org_units (id, kind, name, created_at) VALUES (70, 'team', 'Explicit', 0);"
                  " INSERT INTO surveys (id, name, questions, created_at) VALUES (41, 's', '[]', 0);"
                  " SELECT ks_sync_identities();")
        nxt = pg_json(uri, "SELECT (SELECT nextval(pg_get_serial_sequence('org_units', 'id'))) AS units,"
                           " (SELECT nextval(pg_get_serial_sequence('surveys', 'id'))) AS surveys,"
                           " (SELECT nextval(pg_get_serial_sequence('journeys', 'id'))) AS journeys")
        t.eq(nxt, [{"units": 71, "surveys": 42, "journeys": 1}],
             "PostgreSQL: ks_sync_identities() moves every identity past its table's largest id")
    finally:
        db.close()
        cl.drop(uri)


# ---------------------------------------------------------------------------
# the SQLite functions pg/001 defines


FUNC_CASES = [
    ("ifnull(NULL, 3)", "3"), ("ifnull(2, 3)", "2"),
    ("iif(1 < 2, 'a', 'b')", "a"), ("iif(6 & 2, 'a', 'b')", "a"), ("iif(4 & 2, 'a', 'b')", "b"),
    ("instr('abc@d.nl', '@')", "4"), ("instr('abc', 'z')", "0"),
    ("max(3, 5)", "5"), ("min(3, 5)", "3"), ("max(NULL, 1)", None), ("min(2.5, 1)", "1"),
    ("max(7, 2)", "7"),
    ("hex('ab')", "6162"), ("length(randomblob(8))", "8"), ("length(hex(randomblob(20)))", "40"),
    ("json_extract('{\"customer_id\": 42, \"a\": {\"b\": [1, \"x\"]}}', '$.customer_id')", "42"),
    ("json_extract('{\"a\": {\"b\": [1, \"x\"]}}', '$.a.b[1]')", "x"),
    ("json_extract('{\"a\": 1}', '$.zz')", None),
    ("strftime('%s', '2026-01-01')", "1767225600"),
    ("strftime('%Y-%m-%d %H:%M:%S', '2026-03-05 10:11:12')", "2026-03-05 10:11:12"),
    ("strftime('%s', '2026-03-05T10:11:12')", "1772705472"),
    ("strftime('%j', '2026-03-05')", "064"),
    ("strftime('%s', 'no date')", None),
    ("(SELECT total(x) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3) AS v)", "6"),
    ("(SELECT total(x > 1) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3) AS v)", "2"),
    ("(SELECT total(x) FROM (SELECT 1 AS x) AS v WHERE x > 5)", "0"),
    ("(SELECT sum(x > 1) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3) AS v)", "2"),
    ("(SELECT sum(x > 1) FROM (SELECT 1 AS x) AS v WHERE x > 5)", None),
    ("(SELECT max(x > 2) FROM (SELECT 1 AS x UNION ALL SELECT 3) AS v)", "1"),
    ("(SELECT min(x > 2) FROM (SELECT 1 AS x UNION ALL SELECT 3) AS v)", "0"),
    ("(SELECT group_concat(x) FROM (SELECT 'a' AS x UNION ALL SELECT NULL UNION ALL SELECT 'b') AS v)", None),
    ("(SELECT group_concat(x, ';') FROM (SELECT 'a' AS x) AS v)", "a"),
    ("(SELECT count(*) FROM json_each('[3, \"x\", null]'))", "3"),
    ("(SELECT value FROM json_each('[3, \"x\"]') WHERE CAST(key AS INTEGER) = 1)", "x"),
    ("(SELECT value FROM json_each('{\"speed\": 7, \"tone\": 9}') WHERE key = 'tone')", "9"),
]


def check_functions(t, db, uri):
    diffs = []
    for expr, want in FUNC_CASES:
        lv = db.execute("SELECT " + expr).fetchone()[0]
        lv = None if lv is None else str(norm_value(lv))
        pv = psql(uri, "SELECT CASE WHEN v IS NULL THEN '<null>' ELSE CAST(v AS text) END FROM (SELECT %s AS v) AS q;"
                  % expr).strip()
        pv = None if pv == "<null>" else {"true": "1", "false": "0"}.get(pv, pv)
        if pv is not None and re.fullmatch(r"-?\d+\.0+", pv):
            pv = pv.split(".")[0]
        # group_concat's order is SQLite's business: compare as sets
        if expr.startswith("(SELECT group_concat(x) FROM") and lv and pv:
            lv, pv = ",".join(sorted(lv.split(","))), ",".join(sorted(pv.split(",")))
            want = lv if want is None else want
        if expr.startswith("(SELECT group_concat(x) FROM"):
            want = "a,b"
            lv = ",".join(sorted(lv.split(","))) if lv else lv
            pv = ",".join(sorted(pv.split(","))) if pv else pv
        if lv != want or pv != want:
            diffs.append("%s: expected %r, SQLite %r, PostgreSQL %r" % (expr, want, lv, pv))
    t.check(not diffs, "the SQLite functions pg/001 defines give SQLite's results (%d expressions)" % len(FUNC_CASES),
            "\n".join(diffs))
    # ks_local_month / ks_local_year: the store's C functions in SQLite;
    # expected values by hand (Europe/Amsterdam: CET +1 in winter, CEST +2
    # from the last Sunday of March 01:00 UTC)
    cases = [
        (None, 1704063599, "2023-12", 2023),   # 2023-12-31 23:59:59 CET
        (None, 1704063600, "2024-01", 2024),   # 2024-01-01 00:00:00 CET
        ("Europe/Amsterdam", 1711839600, "2024-03", 2024),  # 2024-03-31 01:00 CEST (DST began 01:00 UTC)
        ("Europe/Amsterdam", 1714514400, "2024-05", 2024),  # 2024-04-30 22:00 UTC = 2024-05-01 00:00 CEST
        ("Europe/Amsterdam", 1714514399, "2024-04", 2024),
        ("UTC", 1704063600, "2023-12", 2023),  # 2023-12-31 23:00 UTC
        ("Europe/London", 1714518000, "2024-05", 2024),  # 2024-05-01 00:00 BST
        ("Europe/London", 1714517999, "2024-04", 2024),
    ]
    got = []
    for tz, ts, _m, _y in cases:
        pre = "" if tz is None else "SET klantstem.tz = %s;" % lit(tz)
        out = psql(uri, pre + "SELECT ks_local_month(%d) || ' ' || ks_local_year(%d);" % (ts, ts)).strip()
        got.append(out)
    t.eq(got, ["%s %d" % (m, y) for _tz, _ts, m, y in cases],
         "ks_local_month / ks_local_year: the month and year in klantstem.tz (Europe/Amsterdam when unset)")
    t.eq(psql(uri, "SELECT ks_local_month(NULL) IS NULL AND ks_local_year(NULL) IS NULL;").strip(), "t",
         "ks_local_month / ks_local_year of NULL are NULL")


# ---------------------------------------------------------------------------


def main(t):
    lite_files, pg_files = migration_files()
    t.eq([os.path.basename(f) for f in pg_files], [os.path.basename(f) for f in lite_files],
         "one PostgreSQL migration per SQLite migration, with the same number and name (%d)" % len(lite_files))
    bad = []
    for f in pg_files:
        with open(f, encoding="utf-8") as fh:
            text = fh.read()
        code = strip_quoted(text)
        if "?" in code:
            bad.append("%s: a question mark outside a quoted literal" % os.path.basename(f))
        if re.search(r"^\s*(BEGIN|COMMIT|ROLLBACK)\s*;", code, re.I | re.M):
            bad.append("%s: transaction control" % os.path.basename(f))
    t.check(not bad, "no PostgreSQL migration has a ? outside quotes or its own BEGIN/COMMIT", "\n".join(bad))
    tmp = tempfile.mkdtemp(prefix="ks-pgschema-lite-")
    try:
        with Cluster() as cl:
            db = sqlite3.connect(os.path.join(tmp, "lite.db"), isolation_level=None)
            apply_lite(db, lite_files)
            try:
                apply_pg(cl.uri, pg_files)
                t.check(True, "every PostgreSQL migration applies, each in one transaction")
            except PgError as ex:
                t.check(False, "every PostgreSQL migration applies, each in one transaction", str(ex))
                return
            lite = lite_schema(db)
            pg = pg_schema(cl.uri)
            compare_schema(t, lite, pg)
            compare_all_rows(t, db, cl.uri, lite[0], "the migrations seed the same rows")
            probe_checks(t, db, cl.uri, lite[0])
            check_audit(t, db, cl.uri)
            check_link_triggers(t, db, cl.uri)
            check_fts(t, db, cl.uri)
            check_functions(t, db, cl.uri)
            db.close()
            check_data_migrations(t, cl, lite_files, pg_files, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ks.run(main, start_server=False)
