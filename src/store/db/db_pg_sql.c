/* db_pg_sql.c — translate the store's SQL (SQLite's dialect) into
 * PostgreSQL's when a statement is prepared on a PostgreSQL connection.
 *
 * Why translate at all: the store's ~200 functions are written once
 * against db.h in SQLite's dialect (issue 18). Most of that SQL is standard
 * and runs as is; the differences below are small, local and mechanical,
 * so a translator is cheaper and safer than a second copy of every
 * statement. Anything a rule cannot express with the same meaning is
 * refused (NULL with a reason) rather than guessed: the store then picks a
 * dialect string with db_conn_kind().
 *
 * How: a small tokenizer (not regular expressions) splits the text into
 * tokens -- blanks and comments, '...' strings, "..." identifiers,
 * $tag$...$tag$ bodies, words, numbers, parameters, punctuation -- so that
 * nothing inside a string, a quoted identifier or a comment is ever
 * touched. Statements are split at ';' outside those, and each is
 * rewritten by these rules:
 *
 *   1. ?NNN and ? -> $N. PostgreSQL numbers parameters with $N only. A
 *      bare ? takes the highest number used so far plus one, as in SQLite
 *      (so "?, ?5, ?" is $1, $5, $6). ?0 and numbers over 32766 (SQLite's
 *      limit) are refused. A space follows $N when a word character comes
 *      next, because "$1abc" is a lexical error in PostgreSQL.
 *   2. BEGIN IMMEDIATE|EXCLUSIVE [TRANSACTION] -> BEGIN [TRANSACTION]
 *      (READ COMMITTED), and BEGIN [DEFERRED] [TRANSACTION] -> BEGIN
 *      [TRANSACTION] ISOLATION LEVEL REPEATABLE READ. The modes choose
 *      when SQLite takes its write lock; PostgreSQL has none to take, and
 *      db_pg.c keeps SQLite's one-writer rule with an advisory lock of its
 *      own (db_pg_exec, "the write lock"). A deferred SQLite transaction
 *      reads ONE snapshot from its first read to its end, and the store's
 *      read transactions rely on it (a GDPR export, a report's parts, a
 *      count and its page agree with each other); PostgreSQL's default,
 *      READ COMMITTED, takes a new snapshot per statement, so they get
 *      REPEATABLE READ, whose snapshot is taken at the first statement,
 *      as SQLite's. BEGIN IMMEDIATE stays READ COMMITTED: it holds the
 *      write lock from its start, so no other store writer commits while
 *      it runs, and its writes never meet PostgreSQL's serialization
 *      failures (40001). A deferred transaction that writes after
 *      reading gets them where SQLite would say SQLITE_BUSY_SNAPSHOT
 *      (db_pg.c maps 40001 to DB_BUSY) -- the store's writing
 *      transactions begin IMMEDIATE. A BEGIN with modes written out
 *      (ISOLATION LEVEL, READ ONLY) is passed on as written.
 *   3. PRAGMA ... -> nothing (the statement and its ';' are dropped; a
 *      statement that translates to "" is a no-op whose step is DB_DONE).
 *      Pragmas tune SQLite's file (journal, cache, foreign_keys); the
 *      server has its own settings.
 *   4. INSERT OR IGNORE INTO ... -> INSERT INTO ... ON CONFLICT DO NOTHING,
 *      the clause placed before a RETURNING at the statement's top level,
 *      else at its end. Same meaning for unique and primary-key
 *      conflicts. (SQLite also ignores NOT NULL and CHECK failures under OR
 *      IGNORE; the store does not rely on that.) INSERT OR ABORT -> INSERT
 *      (ABORT is the default).
 *   5. INSERT OR REPLACE / REPLACE INTO / OR FAIL / OR ROLLBACK: refused.
 *      REPLACE deletes the conflicting row (firing delete triggers and
 *      cascades) and inserts a new one; the nearest PostgreSQL statement,
 *      ON CONFLICT ... DO UPDATE, needs the conflict target and the column
 *      list spelled out, which both dialects accept -- the store writes
 *      that instead.
 *   6. GROUP_CONCAT(x [, sep] [ORDER BY ...]) -> string_agg((x)::text,
 *      sep|',' [ORDER BY ...]), DISTINCT kept in front. PostgreSQL has no
 *      group_concat; string_agg wants text (the cast keeps integer columns
 *      working) and an explicit separator (SQLite's default is ',').
 *   7. IFNULL( -> COALESCE(. Same meaning with two arguments.
 *   8. IIF(c, a, b) -> (CASE WHEN c THEN a ELSE b END). PostgreSQL has no
 *      iif; CASE is the standard spelling.
 *   9. MAX(a, b, ...) / MIN(a, b, ...) with two or more arguments ->
 *      GREATEST / LEAST. SQLite's scalar max/min; PostgreSQL's max/min are
 *      aggregates only. (GREATEST skips NULLs where SQLite's max returns
 *      NULL; the store's uses have non-NULL arguments.)
 *  10. TOTAL(x) -> COALESCE(SUM(x), 0::float8). SQLite's total is a sum
 *      that is 0.0, not NULL, over no rows and always a float.
 *  11. X'hex' -> '\xhex'::bytea. In PostgreSQL X'..' is a bit string.
 *  12. a IS b / a IS NOT b, b not NULL/TRUE/FALSE/UNKNOWN/DISTINCT ->
 *      a IS NOT DISTINCT FROM b / a IS DISTINCT FROM b. SQLite's IS is a
 *      NULL-safe comparison of any two values; PostgreSQL spells that out.
 *  13. x IN name (a table or CTE, no parentheses) -> x IN (SELECT * FROM
 *      name). SQLite's shorthand; PostgreSQL wants the subquery.
 *  14. FROM (SELECT ...) / JOIN (SELECT ...) without an alias -> the same
 *      with AS ks_subN. PostgreSQL 15 requires an alias on a subquery in
 *      FROM (16 no longer does); SQLite never did.
 *  15. SUM / TOTAL / AVG / MIN / MAX with one argument that is a
 *      comparison or logical expression (a top-level =, <, >, IS, IN,
 *      LIKE, BETWEEN, EXISTS, NOT, AND, OR outside a CASE) -> the argument
 *      cast: (x)::int. In SQLite a comparison is the integer 0 or 1 and
 *      "sum(nps >= 9)" counts; PostgreSQL has no sum(boolean). (A bare
 *      column that PostgreSQL types boolean -- a CTE's "cond AS flag" --
 *      is not seen here: the store defines such a column as
 *      iif(cond, 1, 0), an integer in both dialects.)
 *  16. The condition of CASE WHEN c THEN and of IIF(c, ...) that is not a
 *      comparison or logical expression (same test as rule 15) -> (c) <> 0.
 *      SQLite takes any number as a condition ("CASE WHEN ?8 & 16",
 *      "CASE WHEN moment_of_truth"); PostgreSQL wants a boolean, and the
 *      schema's flags are integers. (NULL stays "not true" either way.)
 *
 * Function-name rules (6-10) apply only to a word followed by '(' and not
 * preceded by '.', so a column named total is left alone.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store/db/db_pg_sql.h"

#define PG_SQL_MAX_PARAM 32766

typedef enum {
	TK_BLANK,  /* white space and comments */
	TK_STRING, /* '...', E'...' */
	TK_BLOB,   /* X'...' (rule 11) */
	TK_QIDENT, /* "...", `...`, [...] */
	TK_DOLLAR, /* $tag$ ... $tag$ (PostgreSQL function bodies) */
	TK_WORD,
	TK_NUMBER,
	TK_PARAM,    /* ? or ?NNN */
	TK_PG_PARAM, /* $NNN, already PostgreSQL's */
	TK_SEMI,
	TK_PUNCT, /* any other single character */
} tk_kind;

typedef struct {
	tk_kind kind;
	const char *s;
	size_t n;
} token;

typedef struct {
	token *t;
	size_t n, cap;
	/* output */
	char *out;
	size_t len, out_cap;
	bool oom;
	const char *refuse; /* set when the SQL cannot be translated */
	int max_param;
	int n_sub; /* rule 14's aliases */
} tr;

static bool is_word_start(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' || ch >= 0x80;
}

static bool is_word_char(unsigned char ch)
{
	return is_word_start(ch) || (ch >= '0' && ch <= '9') || ch == '$';
}

static bool is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

/* ---- tokenizer ------------------------------------------------------------ */

/* Length of a quoted run starting at s (s[0] is the opening quote), the
 * closing quote doubled to escape it; backslash escapes too when bs. An
 * unterminated run extends to the end (the server reports the error). */
static size_t quoted_len(const char *s, char close, bool bs)
{
	size_t i = 1;
	while (s[i]) {
		if (bs && s[i] == '\\' && s[i + 1]) {
			i += 2;
			continue;
		}
		if (s[i] == close) {
			if (s[i + 1] == close && close != ']') {
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
	return i;
}

/* $tag$...$tag$: length, or 0 when s does not open a dollar quote. */
static size_t dollar_len(const char *s)
{
	size_t t = 1;
	while (s[t] != '$' && is_word_char((unsigned char)s[t]))
		t++;
	if (s[t] != '$')
		return 0;
	size_t tag = t + 1; /* "$tag$" */
	const char *end = s + tag;
	for (;;) {
		const char *p = strchr(end, '$');
		if (!p)
			return strlen(s);
		if (strncmp(p, s, tag) == 0)
			return (size_t)(p - s) + tag;
		end = p + 1;
	}
}

static size_t token_len(const char *s, tk_kind *kind)
{
	unsigned char c = (unsigned char)s[0];
	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
		size_t i = 1;
		while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v')
			i++;
		*kind = TK_BLANK;
		return i;
	}
	if (c == '-' && s[1] == '-') {
		size_t i = 2;
		while (s[i] && s[i] != '\n')
			i++;
		*kind = TK_BLANK;
		return i;
	}
	if (c == '/' && s[1] == '*') {
		const char *e = strstr(s + 2, "*/");
		*kind = TK_BLANK;
		return e ? (size_t)(e - s) + 2 : strlen(s);
	}
	if (c == '\'') {
		*kind = TK_STRING;
		return quoted_len(s, '\'', false);
	}
	if ((c == 'E' || c == 'e') && s[1] == '\'') {
		*kind = TK_STRING;
		return 1 + quoted_len(s + 1, '\'', true);
	}
	if ((c == 'X' || c == 'x') && s[1] == '\'') {
		*kind = TK_BLOB;
		return 1 + quoted_len(s + 1, '\'', false);
	}
	if (c == '"' || c == '`' || c == '[') {
		*kind = TK_QIDENT;
		return quoted_len(s, c == '[' ? ']' : (char)c, false);
	}
	if (c == '$') {
		if (is_digit((unsigned char)s[1])) {
			size_t i = 1;
			while (is_digit((unsigned char)s[i]))
				i++;
			*kind = TK_PG_PARAM;
			return i;
		}
		size_t d = dollar_len(s);
		if (d) {
			*kind = TK_DOLLAR;
			return d;
		}
		*kind = TK_PUNCT;
		return 1;
	}
	if (c == '?') {
		size_t i = 1;
		while (is_digit((unsigned char)s[i]))
			i++;
		*kind = TK_PARAM;
		return i;
	}
	if (is_digit(c) || (c == '.' && is_digit((unsigned char)s[1]))) {
		size_t i = 1;
		for (;;) {
			unsigned char d = (unsigned char)s[i];
			if ((d == '+' || d == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E') &&
			    !(s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
				i++;
			else if (is_word_char(d) || d == '.')
				i++;
			else
				break;
		}
		*kind = TK_NUMBER;
		return i;
	}
	if (is_word_start(c)) {
		size_t i = 1;
		while (is_word_char((unsigned char)s[i]))
			i++;
		*kind = TK_WORD;
		return i;
	}
	*kind = c == ';' ? TK_SEMI : TK_PUNCT;
	return 1;
}

static bool tokenize(tr *x, const char *sql)
{
	for (const char *p = sql; *p;) {
		tk_kind k;
		size_t n = token_len(p, &k);
		if (x->n == x->cap) {
			size_t cap = x->cap ? x->cap * 2 : 64;
			token *t = realloc(x->t, cap * sizeof *t);
			if (!t)
				return false;
			x->t = t;
			x->cap = cap;
		}
		x->t[x->n++] = (token){ k, p, n };
		p += n;
	}
	return true;
}

/* ---- output --------------------------------------------------------------- */

static void put(tr *x, const char *s, size_t n)
{
	if (x->oom)
		return;
	if (x->len + n + 1 > x->out_cap) {
		size_t cap = x->out_cap ? x->out_cap : 256;
		while (x->len + n + 1 > cap)
			cap *= 2;
		char *o = realloc(x->out, cap);
		if (!o) {
			x->oom = true;
			return;
		}
		x->out = o;
		x->out_cap = cap;
	}
	memcpy(x->out + x->len, s, n);
	x->len += n;
	x->out[x->len] = '\0';
}

static void puts_(tr *x, const char *s)
{
	put(x, s, strlen(s));
}

/* ---- token helpers -------------------------------------------------------- */

static bool is_kw(const token *t, const char *kw)
{
	return t->kind == TK_WORD && t->n == strlen(kw) && strncasecmp(t->s, kw, t->n) == 0;
}

static bool is_punct(const token *t, char ch)
{
	return t->kind == TK_PUNCT && t->s[0] == ch;
}

/* The next token at or after i that is not blank, or `end`. */
static size_t next_sig(const tr *x, size_t i, size_t end)
{
	while (i < end && x->t[i].kind == TK_BLANK)
		i++;
	return i;
}

/* Index of the ')' closing the '(' at open, or end when unbalanced. */
static size_t close_paren(const tr *x, size_t open, size_t end)
{
	int depth = 0;
	for (size_t i = open; i < end; i++) {
		if (is_punct(&x->t[i], '('))
			depth++;
		else if (is_punct(&x->t[i], ')') && --depth == 0)
			return i;
	}
	return end;
}

/* Split the arguments of the call whose '(' is at open and ')' at close:
 * the indexes of the top-level commas go to commas[], at most max; the
 * return is their count (which may exceed max). */
static size_t split_args(const tr *x, size_t open, size_t close, size_t *commas, size_t max)
{
	int depth = 0;
	size_t n = 0;
	for (size_t i = open + 1; i < close; i++) {
		if (is_punct(&x->t[i], '('))
			depth++;
		else if (is_punct(&x->t[i], ')'))
			depth--;
		else if (depth == 0 && is_punct(&x->t[i], ',')) {
			if (n < max)
				commas[n] = i;
			n++;
		}
	}
	return n;
}

static void emit_range(tr *x, size_t from, size_t to);
static bool is_boolean_expr(const tr *x, size_t from, size_t to);

/* Rule 16: a condition, as a boolean. */
static void emit_condition(tr *x, size_t from, size_t to);

/* emit_range without the blanks at either end (a rewritten call's
 * arguments are spaced by the rewrite). */
static void emit_trim(tr *x, size_t from, size_t to)
{
	from = next_sig(x, from, to);
	while (to > from && x->t[to - 1].kind == TK_BLANK)
		to--;
	emit_range(x, from, to);
}

static void put_space(tr *x)
{
	if (x->len > 0 && x->out[x->len - 1] != ' ')
		puts_(x, " ");
}

static void emit_param(tr *x, size_t i)
{
	const token *t = &x->t[i];
	long num;
	if (t->n == 1) {
		num = x->max_param + 1;
	} else {
		num = 0;
		for (size_t k = 1; k < t->n && num <= PG_SQL_MAX_PARAM; k++)
			num = num * 10 + (t->s[k] - '0');
	}
	if (num < 1 || num > PG_SQL_MAX_PARAM) {
		x->refuse = "parameter number out of range (?1 to ?32766)";
		return;
	}
	if (num > x->max_param)
		x->max_param = (int)num;
	char buf[16];
	size_t n = 0;
	char digits[8];
	size_t nd = 0;
	for (long v = num; v > 0; v /= 10)
		digits[nd++] = (char)('0' + v % 10);
	buf[n++] = '$';
	while (nd)
		buf[n++] = digits[--nd];
	/* "$1abc" would be one bad token to PostgreSQL */
	if (i + 1 < x->n && (x->t[i + 1].kind == TK_WORD || x->t[i + 1].kind == TK_NUMBER))
		buf[n++] = ' ';
	put(x, buf, n);
}

/* Rule 11: X'ABCD' -> '\xABCD'::bytea */
static void emit_blob(tr *x, const token *t)
{
	puts_(x, "'\\x");
	if (t->n >= 3)
		put(x, t->s + 2, t->n - 3);
	puts_(x, "'::bytea");
}

/* Rule 6. fn at i, '(' at open, ')' at close. */
static void emit_group_concat(tr *x, size_t open, size_t close)
{
	size_t a = next_sig(x, open + 1, close);
	puts_(x, "string_agg(");
	if (a < close && is_kw(&x->t[a], "DISTINCT")) {
		puts_(x, "DISTINCT ");
		a++;
	}
	/* the value ends at a top-level ',' or ORDER (SQLite 3.44's
	 * group_concat(x, sep ORDER BY y)) */
	size_t comma = close, order = close;
	int depth = 0;
	for (size_t i = a; i < close; i++) {
		const token *t = &x->t[i];
		if (is_punct(t, '('))
			depth++;
		else if (is_punct(t, ')'))
			depth--;
		else if (depth == 0 && comma == close && is_punct(t, ','))
			comma = i;
		else if (depth == 0 && is_kw(t, "ORDER")) {
			order = i;
			break;
		}
	}
	size_t value_end = comma < order ? comma : order;
	puts_(x, "(");
	emit_trim(x, a, value_end);
	puts_(x, ")::text, ");
	if (comma < order)
		emit_trim(x, comma + 1, order);
	else
		puts_(x, "','");
	if (order < close) {
		put_space(x);
		emit_trim(x, order, close);
	}
	puts_(x, ")");
}

/* Rule 8: IIF(c, a, b) -> (CASE WHEN c THEN a ELSE b END) */
static bool emit_iif(tr *x, size_t open, size_t close)
{
	size_t c[2];
	if (split_args(x, open, close, c, 2) != 2) {
		x->refuse = "iif() needs three arguments";
		return false;
	}
	puts_(x, "(CASE WHEN ");
	emit_condition(x, open + 1, c[0]);
	puts_(x, " THEN ");
	emit_trim(x, c[0] + 1, c[1]);
	puts_(x, " ELSE ");
	emit_trim(x, c[1] + 1, close);
	puts_(x, " END)");
	return true;
}

/* Rule 15: does the argument [from, to) read as a boolean -- a
 * comparison or logical operator at its top level, outside CASE ... END
 * and brackets? ("->" and "->>" are JSON operators, not comparisons.) */
static bool is_boolean_expr(const tr *x, size_t from, size_t to)
{
	static const char *const ops[] = { "IS",  "IN",  "LIKE", "GLOB", "BETWEEN", "EXISTS",
					   "NOT", "AND", "OR",   "TRUE", "FALSE" };
	int depth = 0, cases = 0;
	for (size_t i = from; i < to; i++) {
		const token *t = &x->t[i];
		if (is_punct(t, '('))
			depth++;
		else if (is_punct(t, ')'))
			depth--;
		else if (is_kw(t, "CASE"))
			cases++;
		else if (is_kw(t, "END"))
			cases--;
		if (depth != 0 || cases != 0)
			continue;
		if (is_punct(t, '=') || is_punct(t, '<') || (is_punct(t, '!') && i + 1 < to && is_punct(&x->t[i + 1], '=')))
			return true;
		if (is_punct(t, '>') && !(i > from && (is_punct(&x->t[i - 1], '-') || is_punct(&x->t[i - 1], '>'))))
			return true;
		for (size_t k = 0; t->kind == TK_WORD && k < sizeof ops / sizeof ops[0]; k++)
			if (is_kw(t, ops[k]))
				return true;
	}
	return false;
}

/* The argument list of the call at open..close, rule 15 applied: a
 * single boolean argument is emitted as (x)::int. */
static void emit_agg_args(tr *x, size_t open, size_t close)
{
	if (split_args(x, open, close, NULL, 0) == 0 && is_boolean_expr(x, open + 1, close)) {
		puts_(x, "((");
		emit_trim(x, open + 1, close);
		puts_(x, ")::int)");
	} else {
		emit_range(x, open, close + 1);
	}
}

/* A function-name rule for the word at i when a '(' follows; returns the
 * index after the call when handled, 0 when the word is left as is. */
static size_t emit_function(tr *x, size_t i, size_t to)
{
	const token *t = &x->t[i];
	if (i > 0 && is_punct(&x->t[i - 1], '.'))
		return 0;
	size_t open = next_sig(x, i + 1, to);
	if (open >= to || !is_punct(&x->t[open], '('))
		return 0;
	if (is_kw(t, "IFNULL")) { /* rule 7 */
		puts_(x, "COALESCE");
		return i + 1;
	}
	size_t close = close_paren(x, open, to);
	if (close >= to)
		return 0; /* unbalanced: the server will say so */
	if (is_kw(t, "GROUP_CONCAT")) {
		emit_group_concat(x, open, close);
		return close + 1;
	}
	if (is_kw(t, "IIF")) {
		emit_iif(x, open, close);
		return close + 1;
	}
	if (is_kw(t, "TOTAL")) { /* rule 10 */
		puts_(x, "COALESCE(SUM");
		emit_agg_args(x, open, close);
		puts_(x, ", 0::float8)");
		return close + 1;
	}
	if ((is_kw(t, "MAX") || is_kw(t, "MIN")) && split_args(x, open, close, NULL, 0) > 0) { /* rule 9 */
		puts_(x, is_kw(t, "MAX") ? "GREATEST" : "LEAST");
		return i + 1;
	}
	if (is_kw(t, "SUM") || is_kw(t, "AVG") || is_kw(t, "MAX") || is_kw(t, "MIN")) {
		put(x, t->s, t->n);
		emit_range(x, i + 1, open); /* blanks between name and '(' */
		emit_agg_args(x, open, close);
		return close + 1;
	}
	return 0;
}

/* Rule 12 for the IS at i; returns the index after what it emitted. */
static size_t emit_is(tr *x, size_t i, size_t to)
{
	static const char *const keep[] = { "NULL", "TRUE", "FALSE", "UNKNOWN", "DISTINCT", "DOCUMENT", "JSON",
					     "NORMALIZED", "NFC", "NFD", "NFKC", "NFKD", "OF" };
	size_t a = next_sig(x, i + 1, to);
	bool neg = a < to && is_kw(&x->t[a], "NOT");
	size_t b = neg ? next_sig(x, a + 1, to) : a;
	bool plain = b < to;
	for (size_t k = 0; plain && k < sizeof keep / sizeof keep[0]; k++)
		if (is_kw(&x->t[b], keep[k]))
			plain = false;
	if (!plain) {
		put(x, x->t[i].s, x->t[i].n);
		return i + 1;
	}
	puts_(x, neg ? "IS DISTINCT FROM " : "IS NOT DISTINCT FROM ");
	return b;
}

/* Rule 13 for the IN at i. */
static size_t emit_in(tr *x, size_t i, size_t to)
{
	size_t a = next_sig(x, i + 1, to);
	put(x, x->t[i].s, x->t[i].n);
	if (a >= to || (x->t[a].kind != TK_WORD && x->t[a].kind != TK_QIDENT))
		return i + 1;
	/* name or schema.name, and no '(' after it (a table-valued call) */
	size_t end = a + 1;
	if (end + 1 < to && is_punct(&x->t[end], '.') &&
	    (x->t[end + 1].kind == TK_WORD || x->t[end + 1].kind == TK_QIDENT))
		end += 2;
	size_t after = next_sig(x, end, to);
	if (after < to && is_punct(&x->t[after], '('))
		return i + 1;
	puts_(x, " (SELECT * FROM ");
	for (size_t k = a; k < end; k++)
		put(x, x->t[k].s, x->t[k].n);
	puts_(x, ")");
	return end;
}

/* Rule 14 for the '(' at i: when it opens a subquery in FROM or JOIN with
 * no alias after its ')', emit it with one; returns the index after the
 * ')' then, 0 when the rule does not apply. */
static size_t emit_subquery(tr *x, size_t i, size_t to)
{
	static const char *const not_alias[] = { "WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "HAVING",
						 "WINDOW", "UNION", "INTERSECT", "EXCEPT", "JOIN", "LEFT",
						 "RIGHT", "INNER", "OUTER", "CROSS", "FULL", "NATURAL", "ON",
						 "USING", "RETURNING" };
	size_t prev = i;
	while (prev > 0 && x->t[prev - 1].kind == TK_BLANK)
		prev--;
	if (prev == 0 || !(is_kw(&x->t[prev - 1], "FROM") || is_kw(&x->t[prev - 1], "JOIN")))
		return 0;
	size_t first = next_sig(x, i + 1, to);
	if (first >= to || !(is_kw(&x->t[first], "SELECT") || is_kw(&x->t[first], "WITH") ||
			     is_kw(&x->t[first], "VALUES")))
		return 0;
	size_t close = close_paren(x, i, to);
	if (close >= to)
		return 0;
	size_t after = next_sig(x, close + 1, to);
	if (after < to && (x->t[after].kind == TK_QIDENT || x->t[after].kind == TK_WORD)) {
		bool alias = true;
		for (size_t k = 0; alias && k < sizeof not_alias / sizeof not_alias[0]; k++)
			if (is_kw(&x->t[after], not_alias[k]))
				alias = false;
		if (alias)
			return 0; /* "AS x" or "x": it has one */
	}
	put(x, "(", 1);
	emit_range(x, i + 1, close + 1);
	char name[24];
	snprintf(name, sizeof name, " AS ks_sub%d", ++x->n_sub);
	puts_(x, name);
	return close + 1;
}

static void emit_condition(tr *x, size_t from, size_t to)
{
	size_t a = next_sig(x, from, to);
	if (a >= to || is_boolean_expr(x, from, to)) {
		emit_range(x, from, to);
		return;
	}
	if (x->t[from].kind == TK_BLANK)
		puts_(x, " ");
	puts_(x, "(");
	emit_trim(x, from, to);
	puts_(x, ") <> 0");
	if (to > from && x->t[to - 1].kind == TK_BLANK)
		puts_(x, " ");
}

/* The END closing the CASE at i (CASE ... END nest), or `to`. */
static size_t case_end(const tr *x, size_t i, size_t to)
{
	int depth = 0;
	for (size_t k = i; k < to; k++) {
		if (is_kw(&x->t[k], "CASE"))
			depth++;
		else if (is_kw(&x->t[k], "END") && --depth == 0)
			return k;
	}
	return to;
}

/* Rule 16 for the CASE at i: a searched CASE's WHEN conditions made
 * boolean (a simple "CASE x WHEN v" compares values: left alone). Returns
 * the index after END, 0 when the rule does not apply. */
static size_t emit_case(tr *x, size_t i, size_t to)
{
	size_t first = next_sig(x, i + 1, to);
	size_t end = case_end(x, i, to);
	if (first >= to || !is_kw(&x->t[first], "WHEN") || end >= to)
		return 0;
	put(x, x->t[i].s, x->t[i].n);
	size_t k = i + 1;
	while (k < end && !x->refuse) {
		/* at a WHEN of this CASE (not of a nested one): its condition
		 * runs to the THEN at the same nesting */
		if (is_kw(&x->t[k], "WHEN")) {
			int depth = 0, nest = 0;
			size_t then = end;
			for (size_t j = k + 1; j < end; j++) {
				const token *t = &x->t[j];
				if (is_punct(t, '('))
					depth++;
				else if (is_punct(t, ')'))
					depth--;
				else if (is_kw(t, "CASE"))
					nest++;
				else if (is_kw(t, "END"))
					nest--;
				else if (depth == 0 && nest == 0 && is_kw(t, "THEN")) {
					then = j;
					break;
				}
			}
			put(x, x->t[k].s, x->t[k].n);
			emit_condition(x, k + 1, then);
			k = then;
			continue;
		}
		/* a result: up to the next WHEN / ELSE of this CASE */
		size_t j = k + 1;
		int depth = 0, nest = 0;
		for (; j < end; j++) {
			const token *t = &x->t[j];
			if (is_punct(t, '('))
				depth++;
			else if (is_punct(t, ')'))
				depth--;
			else if (is_kw(t, "CASE"))
				nest++;
			else if (is_kw(t, "END"))
				nest--;
			else if (depth == 0 && nest == 0 && (is_kw(t, "WHEN") || is_kw(t, "ELSE")))
				break;
		}
		emit_range(x, k, j);
		k = j;
	}
	put(x, x->t[end].s, x->t[end].n);
	return end + 1;
}

/* Emit tokens [from, to) with the token-level rules (1, 6-16). */
static void emit_range(tr *x, size_t from, size_t to)
{
	for (size_t i = from; i < to && !x->refuse;) {
		const token *t = &x->t[i];
		size_t next;
		if (t->kind == TK_PARAM) {
			emit_param(x, i);
		} else if (t->kind == TK_PG_PARAM) {
			long num = strtol(t->s + 1, NULL, 10);
			if (num > x->max_param && num <= PG_SQL_MAX_PARAM)
				x->max_param = (int)num;
			put(x, t->s, t->n);
		} else if (t->kind == TK_BLOB) {
			emit_blob(x, t);
		} else if (t->kind == TK_WORD && is_kw(t, "CASE") && (next = emit_case(x, i, to)) != 0) {
			i = next;
			continue;
		} else if (t->kind == TK_WORD && is_kw(t, "IS")) {
			i = emit_is(x, i, to);
			continue;
		} else if (t->kind == TK_WORD && is_kw(t, "IN")) {
			i = emit_in(x, i, to);
			continue;
		} else if (is_punct(t, '(')) {
			next = emit_subquery(x, i, to);
			if (next) {
				i = next;
				continue;
			}
			put(x, t->s, t->n);
		} else if (t->kind == TK_WORD) {
			next = emit_function(x, i, to);
			if (next) {
				i = next;
				continue;
			}
			put(x, t->s, t->n);
		} else {
			put(x, t->s, t->n);
		}
		i++;
	}
}

/* ---- statements ----------------------------------------------------------- */

/* Rules 2-5 on the statement [s, e) (without its ';'), then emit it.
 * Returns false when the statement is dropped (PRAGMA, empty). */
static bool emit_statement(tr *x, size_t s, size_t e)
{
	size_t first = next_sig(x, s, e);
	if (first >= e || is_kw(&x->t[first], "PRAGMA"))
		return false;
	if (is_kw(&x->t[first], "REPLACE")) {
		x->refuse = "REPLACE INTO is refused: write INSERT ... ON CONFLICT (...) DO UPDATE";
		return false;
	}
	size_t skip_from = e, skip_to = e; /* tokens to drop */
	size_t conflict_at = e;            /* where ON CONFLICT DO NOTHING goes */
	bool add_conflict = false;
	bool snapshot = false; /* rule 2: append REPEATABLE READ */
	if (is_kw(&x->t[first], "BEGIN")) { /* rule 2 */
		size_t m = next_sig(x, first + 1, e);
		bool locking = m < e && (is_kw(&x->t[m], "IMMEDIATE") || is_kw(&x->t[m], "EXCLUSIVE"));
		if (locking || (m < e && is_kw(&x->t[m], "DEFERRED"))) {
			skip_from = first + 1;
			skip_to = m + 1;
			m = next_sig(x, m + 1, e);
		}
		if (m < e && (is_kw(&x->t[m], "TRANSACTION") || is_kw(&x->t[m], "WORK")))
			m = next_sig(x, m + 1, e);
		/* modes written out (BEGIN ISOLATION LEVEL ...) are left alone */
		snapshot = !locking && m >= e;
	}
	/* rules 4-5: INSERT OR <action>, also after a WITH clause */
	int depth = 0;
	bool seen_conflict = false;
	size_t insert_at = e;
	for (size_t i = first; i < e; i++) {
		const token *t = &x->t[i];
		if (is_punct(t, '('))
			depth++;
		else if (is_punct(t, ')'))
			depth--;
		if (depth != 0 || t->kind != TK_WORD)
			continue;
		if (insert_at == e && is_kw(t, "INSERT")) {
			insert_at = i;
			size_t o = next_sig(x, i + 1, e);
			if (o >= e || !is_kw(&x->t[o], "OR"))
				continue;
			size_t a = next_sig(x, o + 1, e);
			if (a < e && is_kw(&x->t[a], "IGNORE"))
				add_conflict = true;
			else if (!(a < e && is_kw(&x->t[a], "ABORT"))) {
				x->refuse = "INSERT OR REPLACE/FAIL/ROLLBACK is refused: write INSERT ... ON "
					    "CONFLICT (...) DO UPDATE";
				return false;
			}
			skip_from = i + 1;
			skip_to = a + 1;
		} else if (insert_at < i && is_kw(t, "ON")) {
			size_t c = next_sig(x, i + 1, e);
			if (c < e && is_kw(&x->t[c], "CONFLICT"))
				seen_conflict = true;
		} else if (insert_at < i && is_kw(t, "RETURNING") && conflict_at == e) {
			conflict_at = i;
		}
	}
	if (seen_conflict)
		add_conflict = false;
	/* without RETURNING the clause goes after the last non-blank token */
	size_t last = e;
	while (last > first && x->t[last - 1].kind == TK_BLANK)
		last--;
	if (conflict_at == e)
		conflict_at = last;

	size_t from = s;
	if (skip_from < e) {
		emit_range(x, from, skip_from);
		from = skip_to;
	}
	if (add_conflict) {
		emit_range(x, from, conflict_at);
		puts_(x, conflict_at == last ? " ON CONFLICT DO NOTHING" : "ON CONFLICT DO NOTHING ");
		from = conflict_at;
	}
	if (snapshot) {
		emit_range(x, from, last);
		puts_(x, " ISOLATION LEVEL REPEATABLE READ");
		from = last;
	}
	emit_range(x, from, e);
	return true;
}

char *db_pg_sql_translate(const char *sqlite_sql, int *n_params, const char **why)
{
	tr x = { 0 };
	const char *reason = NULL;
	if (n_params)
		*n_params = 0;
	if (!tokenize(&x, sqlite_sql)) {
		reason = "out of memory";
		goto out;
	}
	put(&x, "", 0); /* "" when every statement is dropped */
	size_t s = 0;
	while (s < x.n && !x.refuse) {
		size_t e = s;
		while (e < x.n && x.t[e].kind != TK_SEMI)
			e++;
		if (emit_statement(&x, s, e) && e < x.n)
			put(&x, ";", 1);
		s = e + 1;
	}
	if (x.refuse)
		reason = x.refuse;
	else if (x.oom)
		reason = "out of memory";
out:
	free(x.t);
	if (reason) {
		free(x.out);
		if (why)
			*why = reason;
		return NULL;
	}
	if (n_params)
		*n_params = x.max_param;
	return x.out;
}

/* ---- per-execution shape -------------------------------------------------- */

/* May an expression "$N IS [NOT] NULL" that follows token `prev` and is
 * followed by `next` be replaced by TRUE or FALSE without changing how
 * the rest parses? Yes between the boolean connectives and brackets
 * (IS binds tighter than NOT, AND, OR), not next to an operator such as
 * "a = $1 IS NULL", which parses as "(a = $1) IS NULL". */
static bool fold_context(const token *prev, const token *next)
{
	static const char *const before[] = { "AND", "OR", "NOT", "WHERE", "WHEN", "THEN", "ELSE", "ON",
					      "HAVING", "SELECT" };
	static const char *const after[] = { "AND", "OR", "THEN", "ELSE", "END", "ORDER", "GROUP",
					     "LIMIT", "HAVING", "UNION", "FROM", "AS", "WHEN" };
	bool ok = !prev || is_punct(prev, '(') || is_punct(prev, ',');
	for (size_t k = 0; !ok && k < sizeof before / sizeof before[0]; k++)
		ok = is_kw(prev, before[k]);
	if (!ok)
		return false;
	if (!next || is_punct(next, ')') || is_punct(next, ',') || next->kind == TK_SEMI)
		return true;
	for (size_t k = 0; k < sizeof after / sizeof after[0]; k++)
		if (is_kw(next, after[k]))
			return true;
	return false;
}

static long pg_param_num(const token *t)
{
	long v = 0;
	for (size_t k = 1; k < t->n && v <= PG_SQL_MAX_PARAM; k++)
		v = v * 10 + (t->s[k] - '0');
	return v;
}

char *db_pg_sql_shape(const char *pg_sql, int n, const bool *is_null, bool *used)
{
	tr x = { 0 };
	for (int i = 0; i < n; i++)
		used[i] = false;
	if (!tokenize(&x, pg_sql)) {
		free(x.t);
		return NULL;
	}
	put(&x, "", 0);
	const token *prev = NULL; /* the last significant token emitted or folded */
	for (size_t i = 0; i < x.n; i++) {
		const token *t = &x.t[i];
		if (t->kind != TK_PG_PARAM) {
			put(&x, t->s, t->n);
			if (t->kind != TK_BLANK)
				prev = t;
			continue;
		}
		long num = pg_param_num(t);
		bool known = num >= 1 && num <= n;
		bool null = known && is_null[num - 1];
		/* $N IS [NOT] NULL */
		size_t a = next_sig(&x, i + 1, x.n), b = a < x.n ? next_sig(&x, a + 1, x.n) : x.n;
		bool neg = false;
		if (b < x.n && is_kw(&x.t[b], "NOT")) {
			neg = true;
			b = next_sig(&x, b + 1, x.n);
		}
		if (known && a < x.n && is_kw(&x.t[a], "IS") && b < x.n && is_kw(&x.t[b], "NULL")) {
			size_t after = next_sig(&x, b + 1, x.n);
			if (fold_context(prev, after < x.n ? &x.t[after] : NULL)) {
				puts_(&x, null != neg ? "TRUE" : "FALSE");
				prev = &x.t[b];
				i = b;
				continue;
			}
		}
		if (null) {
			puts_(&x, "NULL");
		} else {
			put(&x, t->s, t->n);
			if (known)
				used[num - 1] = true;
		}
		prev = t;
	}
	free(x.t);
	if (x.oom) {
		free(x.out);
		return NULL;
	}
	return x.out;
}
