/* sqlite_dashboard.c — what the dashboards read and keep on SQLite: the
 * verbatim explorer (open answers with filters and FTS5 full-text search),
 * the Walls of Fame and Shame, team goals, team settings and the
 * organisation's settings (what readers see of other people's open
 * answers: kept here, applied by the API).
 *
 * Scope is not decided here: the API narrows every query to what the
 * requester may see before it arrives (src/api/api_dashboard.c).
 *
 * Full-text search: the user's words are never handed to FTS5 as query
 * syntax. Each word becomes a quoted string token ("geholpen", with any "
 * doubled) and the tokens are ANDed; a word ending in * becomes a quoted
 * prefix ("gehol" *). Words without a letter or digit are dropped, so
 * stray punctuation neither errors nor silently matches nothing.
 */
#include "store/sqlite_int.h"
#include "core/utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_FTS_MAX_WORDS 16
#define SQ_FTS_MAX_TEXT 200

/* ---- the FTS5 query from user text -------------------------------------------- */

/* Does the word hold something the unicode61 tokenizer keeps (an ASCII
 * letter or digit, or any non-ASCII character)? */
static bool sq_fts_wordy(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)w[i];
		if (ch >= 0x80 || isalnum(ch))
			return true;
	}
	return false;
}

/* Turn text into `"w1" AND "w2" *` in out (size n). *words is the number
 * of words kept. */
static ks_err sq_fts_query(const char *text, char *out, size_t n, int *words, ks_error *e)
{
	size_t len = 0;
	*words = 0;
	out[0] = '\0';
	if (strlen(text) > SQ_FTS_MAX_TEXT)
		return ks_fail(e, KS_ERR_RANGE, "q", "q must be at most %d bytes", SQ_FTS_MAX_TEXT);
	const char *p = text;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *w = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		size_t wn = (size_t)(p - w);
		bool prefix = false;
		while (wn > 0 && w[wn - 1] == '*') {
			prefix = true;
			wn--;
		}
		if (wn == 0 || !sq_fts_wordy(w, wn))
			continue;
		if (*words == SQ_FTS_MAX_WORDS)
			return ks_fail(e, KS_ERR_RANGE, "q", "q may hold at most %d words", SQ_FTS_MAX_WORDS);
		/* worst case: " AND " + quotes + every byte doubled + " *" */
		if (len + 5 + 2 + 2 * wn + 2 + 1 > n)
			return ks_fail(e, KS_ERR_RANGE, "q", "q is too long");
		if (*words > 0) {
			memcpy(out + len, " AND ", 5);
			len += 5;
		}
		out[len++] = '"';
		for (size_t i = 0; i < wn; i++) {
			if (w[i] == '"')
				out[len++] = '"';
			out[len++] = w[i];
		}
		out[len++] = '"';
		if (prefix) {
			memcpy(out + len, " *", 2);
			len += 2;
		}
		out[len] = '\0';
		(*words)++;
	}
	return KS_OK;
}

/* ---- verbatims ---------------------------------------------------------------- */

/* ?1 FTS5 query, ?2 unit (with its subtree, by a recursive walk of
 * org_units), ?3 employee, ?4 touchpoint, ?5 language, ?6 from (inclusive),
 * ?7 to (exclusive), ?8..?9 NPS range (?8 < 0: any), ?10 cursor (ids
 * below it), ?11 limit. 0 / '' = any. */
#define SQ_VERBATIM_SELECT                                                                        \
	"WITH RECURSIVE sub(id) AS (SELECT ?2 WHERE ?2 <> 0"                                      \
	"  UNION SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id)"                  \
	" SELECT r.id, r.open_text, r.nps, r.grade, r.language, r.received_at,"                   \
	"  coalesce(r.touchpoint_id, 0), coalesce(tp.name, ''), coalesce(r.team_id, 0),"          \
	"  coalesce(ou.name, ''), coalesce(r.employee_id, 0),"                                    \
	"  coalesce(em.first_name || ' ' || em.last_name, '')"                                    \
	" FROM responses r"                                                                       \
	" LEFT JOIN touchpoints tp ON tp.id = r.touchpoint_id"                                    \
	" LEFT JOIN org_units ou ON ou.id = r.team_id"                                            \
	" LEFT JOIN employees em ON em.id = r.employee_id"                                        \
	" WHERE r.open_text IS NOT NULL AND r.open_text <> ''"                                    \
	" AND (?2 = 0 OR r.team_id IN sub) AND (?3 = 0 OR r.employee_id = ?3)"                    \
	" AND (?4 = 0 OR r.touchpoint_id = ?4) AND (?5 = '' OR r.language = ?5)"                  \
	" AND (?6 = 0 OR r.received_at >= ?6) AND (?7 = 0 OR r.received_at < ?7)"                 \
	" AND (?8 < 0 OR r.nps BETWEEN ?8 AND ?9) AND (?10 = 0 OR r.id < ?10)"                    \
	/* text (issue 14): ?12 theme, ?13 sentiment label; NULL = any */                          \
	" AND (?12 IS NULL OR EXISTS (SELECT 1 FROM text_themes tt"                               \
	"  WHERE tt.response_id = r.id AND tt.theme = ?12))"                                      \
	" AND (?13 IS NULL OR EXISTS (SELECT 1 FROM text_analysis ta"                             \
	"  WHERE ta.response_id = r.id AND ta.label = ?13))"                                      \
	/* issue 16 H3/H7: the merged list's cursor: ?14 time (NULL = none), ?15 1 when   \
	 * the last item was an answer, ?16 its id; answers come before mentions of a second */ \
	" AND (?14 IS NULL OR r.received_at < ?14 OR (r.received_at = ?14 AND ?15 = 1 AND r.id < ?16))"

static const char *const sq_verbatim_sql =
	SQ_VERBATIM_SELECT " ORDER BY r.id DESC LIMIT ?11";
/* The walls (issue 13): newest first by when the customer answered (ids
 * follow the order of arrival, and imported answers arrive late). */
static const char *const sq_wall_sql =
	SQ_VERBATIM_SELECT " ORDER BY r.received_at DESC, r.id DESC LIMIT ?11";
/* The search's condition per dialect (issue 18): FTS5's MATCH on SQLite;
 * on PostgreSQL responses_fts is a table with a tsvector under a GIN index
 * (migrations/pg/005), and ks_fts_query() reads the same query text that
 * sq_fts_query builds for FTS5 — no translation rule can turn one into the
 * other, so the statement is chosen by db_conn_kind. */
#define SQ_FTS_SQLITE " AND r.id IN (SELECT rowid FROM responses_fts WHERE responses_fts MATCH ?1)"
#define SQ_FTS_PG " AND r.id IN (SELECT rowid FROM responses_fts WHERE tsv @@ ks_fts_query(?1))"
#define SQ_BY_ID " ORDER BY r.id DESC LIMIT ?11"
/* issue 16 H3: the merged list of answers and mentions is ordered by time */
#define SQ_BY_TIME " ORDER BY r.received_at DESC, r.id DESC LIMIT ?11"
static const char *const sq_verbatim_fts_sql[2] = {SQ_VERBATIM_SELECT SQ_FTS_SQLITE SQ_BY_ID,
						   SQ_VERBATIM_SELECT SQ_FTS_PG SQ_BY_ID};
static const char *const sq_verbatim_fts_time_sql[2] = {SQ_VERBATIM_SELECT SQ_FTS_SQLITE SQ_BY_TIME,
							SQ_VERBATIM_SELECT SQ_FTS_PG SQ_BY_TIME};

static const char *sq_band_name(int nps)
{
	return nps >= 9 ? "promoter" : nps >= 7 ? "passive" : "detractor";
}

static json_t *sq_ref_json(int64_t id, const unsigned char *name)
{
	if (id == 0)
		return json_null();
	return json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", name ? (const char *)name : "");
}

static json_t *sq_verbatim_row(db_stmt *st)
{
	char when[32];
	clock_format_iso(db_column_int64(st, 5), when, sizeof when);
	bool has_nps = db_column_type(st, 2) != DB_NULL;
	bool has_grade = db_column_type(st, 3) != DB_NULL;
	int nps = db_column_int(st, 2);
	const unsigned char *text = db_column_text(st, 1);
	const unsigned char *lang = db_column_text(st, 4);
	return json_pack("{s:I, s:s, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:o}",
			 "response_id", (json_int_t)db_column_int64(st, 0),
			 "text", text ? (const char *)text : "",
			 "nps", has_nps ? json_integer(nps) : json_null(),
			 "grade", has_grade ? json_integer(db_column_int(st, 3)) : json_null(),
			 "band", has_nps ? json_string(sq_band_name(nps)) : json_null(),
			 "language", lang ? (const char *)lang : "",
			 "received_at", when,
			 "touchpoint", sq_ref_json(db_column_int64(st, 6), db_column_text(st, 7)),
			 "team", sq_ref_json(db_column_int64(st, 8), db_column_text(st, 9)),
			 "employee", sq_ref_json(db_column_int64(st, 10), db_column_text(st, 11)));
}

static void sq_band_range(store_band b, int *lo, int *hi)
{
	switch (b) {
	case STORE_BAND_PROMOTER: *lo = 9; *hi = 10; break;
	case STORE_BAND_PASSIVE: *lo = 7; *hi = 8; break;
	case STORE_BAND_DETRACTOR: *lo = 0; *hi = 6; break;
	default: *lo = -1; *hi = -1; break;
	}
}

/* Run the query; *items gets up to q->limit rows, *more tells whether
 * another row follows. */
static ks_err sq_verbatim_run(ks_store *s, const store_verbatim_query *q, bool by_time, json_t **items,
			      bool *more, ks_error *e)
{
	char fts[SQ_FTS_MAX_TEXT * 2 + SQ_FTS_MAX_WORDS * 10 + 16];
	int words = 0;
	bool search = false; /* q holds more than white space */
	for (const char *p = q->q ? q->q : ""; *p && !search; p++)
		search = !isspace((unsigned char)*p);
	if (search) {
		ks_err err = sq_fts_query(q->q, fts, sizeof fts, &words, e);
		if (err)
			return err;
		if (words == 0)
			return ks_fail(e, KS_ERR_INVALID, "q", "q must contain a word to search for");
	}
	int limit = q->limit < 1 ? 1 : q->limit > 500 ? 500 : q->limit;
	int lo, hi;
	sq_band_range(q->band, &lo, &hi);
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int pg = db_conn_kind(c->db) == DB_POSTGRES;
	const char *sql = search ? (by_time ? sq_verbatim_fts_time_sql[pg] : sq_verbatim_fts_sql[pg])
				 : by_time ? sq_wall_sql : sq_verbatim_sql;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err) {
		sq_release(s, c);
		return err;
	}
	if (search)
		db_bind_text(st, 1, fts, -1, DB_STATIC);
	db_bind_int64(st, 2, q->team_id);
	db_bind_int64(st, 3, q->employee_id);
	db_bind_int64(st, 4, q->touchpoint_id);
	db_bind_text(st, 5, q->language, -1, DB_STATIC);
	db_bind_int64(st, 6, q->from);
	db_bind_int64(st, 7, q->to);
	db_bind_int(st, 8, lo);
	db_bind_int(st, 9, hi);
	/* issue 16 H3/H7: the merged list pages by its cursor (?14..?16) */
	bool keyed = q->source == STORE_VSRC_ALL;
	db_bind_int64(st, 10, keyed ? 0 : q->before_id);
	if (keyed && q->after.id) {
		db_bind_int64(st, 14, q->after.t);
		db_bind_int(st, 15, q->after.answer ? 1 : 0);
		db_bind_int64(st, 16, q->after.id);
	}
	db_bind_int(st, 11, limit + 1);
	if (q->theme) /* text (issue 14) */
		db_bind_text(st, 12, q->theme, -1, DB_STATIC);
	if (q->sentiment)
		db_bind_text(st, 13, q->sentiment, -1, DB_STATIC);
	json_t *arr = json_array();
	int rc, n = 0;
	*more = false;
	while ((rc = db_step(st)) == DB_ROW) {
		if (n == limit) {
			*more = true;
			continue;
		}
		json_t *row = sq_verbatim_row(st);
		/* text (issue 14): the explorer's items carry their analysis */
		if (row && q->with_analysis)
			json_object_set_new(row, "analysis", sq_text_json(c, db_column_int64(st, 0)));
		if (row == NULL || json_array_append_new(arr, row) != 0) {
			rc = DB_NOMEM;
			break;
		}
		n++;
	}
	if (rc != DB_DONE)
		err = rc == DB_NOMEM ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory") : sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	if (err) {
		json_decref(arr);
		return err;
	}
	*items = arr;
	return KS_OK;
}

/* ---- issue 16 H3: answers and mentions in one list --------------------------------- */

/* The order key of an explorer item: its time (at_unix), answer or
 * mention, id. */
static store_verbatim_cursor sq_verbatim_key(const json_t *it)
{
	json_t *rid = json_object_get(it, "response_id");
	store_verbatim_cursor k = {.t = json_integer_value(json_object_get(it, "at_unix")),
				   .answer = json_is_integer(rid)};
	k.id = json_integer_value(k.answer ? rid : json_object_get(it, "mention_id"));
	return k;
}

/* Whether a comes before b in the merged list: newer first, an answer
 * before a mention of the same second, then the higher id. */
static bool sq_verbatim_before(store_verbatim_cursor a, store_verbatim_cursor b)
{
	if (a.t != b.t)
		return a.t > b.t;
	if (a.answer != b.answer)
		return a.answer;
	return a.id > b.id;
}

bool store_verbatim_cursor_parse(const char *s, store_verbatim_cursor *out)
{
	/* digits '.' a|m '.' digits, nothing else: no sign, space or leading
	 * '+' that strtoll would take */
	const char *p = s;
	int64_t v[2] = {0, 0};
	char kind = 0;
	for (int part = 0; part < 2; part++) {
		const char *d = p;
		while (*p >= '0' && *p <= '9') {
			if (v[part] > (INT64_MAX - 9) / 10)
				return false;
			v[part] = v[part] * 10 + (*p++ - '0');
		}
		if (p == d || p - d > 18)
			return false;
		if (part == 0) {
			if (p[0] != '.' || (p[1] != 'a' && p[1] != 'm') || p[2] != '.')
				return false;
			kind = p[1];
			p += 3;
		}
	}
	if (*p != '\0' || v[1] < 1)
		return false;
	out->t = v[0];
	out->answer = kind == 'a';
	out->id = v[1];
	return true;
}

void store_verbatim_cursor_format(const store_verbatim_cursor *c, char out[STORE_VERBATIM_CURSOR_MAX])
{
	snprintf(out, STORE_VERBATIM_CURSOR_MAX, "%lld.%c.%lld", (long long)c->t, c->answer ? 'a' : 'm',
		 (long long)c->id);
}

/* Both lists are newest first by the same key: take the larger head until
 * limit items are taken; more when either has one left. at_unix (the
 * answers' time for the key) leaves the items. */
static json_t *sq_verbatim_merge(json_t *a, json_t *m, int limit, bool more_a, bool more_m, bool *more)
{
	json_t *out = json_array();
	size_t i = 0, j = 0, na = json_array_size(a), nm = json_array_size(m);
	while ((int)json_array_size(out) < limit && (i < na || j < nm)) {
		bool take_a = j >= nm ||
			      (i < na && sq_verbatim_before(sq_verbatim_key(json_array_get(a, i)),
							    sq_verbatim_key(json_array_get(m, j))));
		json_array_append(out, take_a ? json_array_get(a, i++) : json_array_get(m, j++));
	}
	*more = i < na || j < nm || more_a || more_m;
	return out;
}

static void sq_verbatim_mark_survey(json_t *items)
{
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		json_object_set_new(it, "source", json_string("survey"));
}

/* The answers' times as numbers for the merge (their JSON has ISO text). */
static ks_err sq_verbatim_times(ks_store *s, json_t *items, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT received_at FROM responses WHERE id = ?1", &st, e);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		if (err)
			break;
		db_reset(st);
		db_bind_int64(st, 1, json_integer_value(json_object_get(it, "response_id")));
		if (db_step(st) == DB_ROW)
			json_object_set_new(it, "at_unix", json_integer(db_column_int64(st, 0)));
	}
	db_finalize(st);
	sq_release(s, c);
	return err;
}

static ks_err sq_verbatim_all(ks_store *s, const store_verbatim_query *q, json_t **items, bool *more, ks_error *e)
{
	int limit = q->limit < 1 ? 1 : q->limit > 500 ? 500 : q->limit;
	json_t *a = NULL, *m = NULL;
	bool more_a = false, more_m = false;
	ks_err err = sq_verbatim_run(s, q, true, &a, &more_a, e);
	if (!err) {
		sq_verbatim_mark_survey(a);
		err = sq_verbatim_times(s, a, e);
	}
	if (!err)
		err = sq_verbatim_mentions(s, q, true, limit, &m, &more_m, e);
	if (!err)
		*items = sq_verbatim_merge(a, m, limit, more_a, more_m, more);
	json_decref(a);
	json_decref(m);
	return err;
}

ks_err store_verbatim_search(ks_store *s, const store_verbatim_query *q, json_t **out, ks_error *e)
{
	json_t *items = NULL;
	bool more = false;
	int limit = q->limit < 1 ? 1 : q->limit > 500 ? 500 : q->limit;
	ks_err err;
	if (q->source == STORE_VSRC_ALL)
		err = sq_verbatim_all(s, q, &items, &more, e);
	else if (q->source == STORE_VSRC_MENTIONS)
		err = sq_verbatim_mentions(s, q, false, limit, &items, &more, e);
	else
		err = sq_verbatim_run(s, q, false, &items, &more, e);
	if (err)
		return err;
	size_t n = json_array_size(items);
	json_t *next = json_null();
	json_t *last = n > 0 ? json_array_get(items, n - 1) : NULL;
	if (more && last && q->source == STORE_VSRC_ALL) {
		char cur[STORE_VERBATIM_CURSOR_MAX];
		store_verbatim_cursor k = sq_verbatim_key(last);
		store_verbatim_cursor_format(&k, cur);
		next = json_string(cur);
	}
	else if (more && last)
		next = json_copy(json_object_get(last, q->source == STORE_VSRC_MENTIONS ? "mention_id" : "response_id"));
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		json_object_del(it, "at_unix");
	*out = json_pack("{s:o, s:o}", "items", items, "next_cursor", next);
	return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}

ks_err store_wall(ks_store *s, int64_t team_id, bool fame, int64_t from, int64_t to, int limit, json_t **out,
		  ks_error *e)
{
	store_verbatim_query q;
	memset(&q, 0, sizeof q);
	q.team_id = team_id;
	q.from = from;
	q.to = to;
	q.band = fame ? STORE_BAND_PROMOTER : STORE_BAND_DETRACTOR;
	q.limit = limit < 1 ? 1 : limit > 50 ? 50 : limit;
	bool more = false;
	return sq_verbatim_run(s, &q, true, out, &more, e);
}

/* ---- goals --------------------------------------------------------------------- */

static void sq_goal_row(db_stmt *st, store_goal *g);

static void sq_goal_elem(db_stmt *st, void *elem)
{
	sq_goal_row(st, elem);
}

static void sq_goal_row(db_stmt *st, store_goal *g)
{
	memset(g, 0, sizeof *g);
	g->team_id = db_column_int64(st, 0);
	const unsigned char *p = db_column_text(st, 1), *m = db_column_text(st, 2);
	snprintf(g->period, sizeof g->period, "%s", p ? (const char *)p : "");
	snprintf(g->metric, sizeof g->metric, "%s", m ? (const char *)m : "");
	g->target = db_column_double(st, 3);
	g->set_by = db_column_int64(st, 4);
	g->updated_at = db_column_int64(st, 5);
}

#define SQ_GOAL_COLS "team_id, period, metric, target, coalesce(set_by, 0), updated_at"

ks_err store_goal_put(ks_store *s, store_goal *g, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	bool found = false;
	db_stmt *st;
	g->updated_at = clock_now(s->clock);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_row_exists(c, "org_units", g->team_id, &found, e);
	if (!err && !found)
		err = ks_fail(e, KS_ERR_NOTFOUND, "team_id", "unit %lld not found", (long long)g->team_id);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO team_goals(team_id, period, metric, target, set_by, updated_at)"
			       " VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
			       " ON CONFLICT(team_id, period, metric) DO UPDATE SET target = excluded.target,"
			       " set_by = excluded.set_by, updated_at = excluded.updated_at",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, g->team_id);
		db_bind_text(st, 2, g->period, -1, DB_STATIC);
		db_bind_text(st, 3, g->metric, -1, DB_STATIC);
		db_bind_double(st, 4, g->target);
		sq_bind_id(st, 5, g->set_by);
		db_bind_int64(st, 6, g->updated_at);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c); /* rolls back an open transaction */
	return err;
}

ks_err store_goal_get(ks_store *s, int64_t team_id, const char *period, const char *metric,
		      store_goal *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT " SQ_GOAL_COLS " FROM team_goals"
				 " WHERE team_id = ?1 AND period = ?2 AND metric = ?3", &st, e);
	if (!err) {
		db_bind_int64(st, 1, team_id);
		db_bind_text(st, 2, period, -1, DB_STATIC);
		db_bind_text(st, 3, metric, -1, DB_STATIC);
		int rc = db_step(st);
		if (rc == DB_ROW)
			sq_goal_row(st, out);
		else if (rc == DB_DONE)
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such goal");
		else
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_goal_list(ks_store *s, int64_t team_id, store_goal **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT " SQ_GOAL_COLS " FROM team_goals WHERE team_id = ?1"
				 " ORDER BY period, metric", &st, e);
	if (err) {
		sq_release(s, c);
		return err;
	}
	db_bind_int64(st, 1, team_id);
	void *v = NULL;
	err = sq_collect(c, st, sizeof(store_goal), sq_goal_elem, 0, &v, n, NULL, e);
	sq_release(s, c);
	if (!err)
		*out = v;
	return err;
}

/* ---- team settings ----------------------------------------------------------------- */

/* The kind of a unit ("" when it does not exist). */
static ks_err sq_unit_kind(sq_conn *c, int64_t id, char *kind, size_t n, ks_error *e)
{
	db_stmt *st = sq_stmt(c, SQ_TEAM_KIND, e);
	if (st == NULL)
		return KS_ERR_DB;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	const unsigned char *k = rc == DB_ROW ? db_column_text(st, 0) : NULL;
	snprintf(kind, n, "%s", k ? (const char *)k : "");
	db_reset(st);
	return rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

ks_err store_team_settings_get(ks_store *s, int64_t team_id, store_team_settings *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	out->team_id = team_id;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "SELECT (SELECT count(*) FROM org_units WHERE id = ?1),"
			      " (SELECT share_colleague_scores FROM team_settings WHERE team_id = ?1),"
			      " (SELECT updated_at FROM team_settings WHERE team_id = ?1)",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, team_id);
		int rc = db_step(st);
		if (rc != DB_ROW) {
			err = sq_fail(c, rc, e);
		} else if (db_column_int(st, 0) == 0) {
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "unit %lld not found", (long long)team_id);
		} else {
			out->share_colleague_scores = db_column_int(st, 1) != 0;
			out->updated_at = db_column_int64(st, 2);
		}
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_team_settings_put(ks_store *s, store_team_settings *t, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	char kind[16];
	db_stmt *st;
	t->updated_at = clock_now(s->clock);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_unit_kind(c, t->team_id, kind, sizeof kind, e);
	if (!err && kind[0] == '\0')
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "unit %lld not found", (long long)t->team_id);
	if (!err && strcmp(kind, "team") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "team_id", "settings belong to a team, not to a %s", kind);
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO team_settings(team_id, share_colleague_scores, updated_at)"
			       " VALUES(?1, ?2, ?3) ON CONFLICT(team_id) DO UPDATE SET"
			       " share_colleague_scores = excluded.share_colleague_scores,"
			       " updated_at = excluded.updated_at",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, t->team_id);
		db_bind_int(st, 2, t->share_colleague_scores ? 1 : 0);
		db_bind_int64(st, 3, t->updated_at);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c); /* rolls back an open transaction */
	return err;
}

/* ---- organisation settings ------------------------------------------------------------ */

static const char *const sq_detail_names[] = {
	[STORE_DETAIL_BAND] = "band",
	[STORE_DETAIL_EXACT] = "exact",
	[STORE_DETAIL_ANONYMOUS] = "anonymous",
};

const char *store_verbatim_detail_name(store_verbatim_detail d)
{
	if ((unsigned)d < sizeof sq_detail_names / sizeof sq_detail_names[0])
		return sq_detail_names[d];
	return "band";
}

bool store_verbatim_detail_parse(const char *name, store_verbatim_detail *out)
{
	for (size_t i = 0; name && i < sizeof sq_detail_names / sizeof sq_detail_names[0]; i++) {
		if (strcmp(name, sq_detail_names[i]) == 0) {
			*out = (store_verbatim_detail)i;
			return true;
		}
	}
	return false;
}

ks_err store_org_settings_get(ks_store *s, store_org_settings *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	out->verbatim_detail = STORE_DETAIL_BAND;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "SELECT verbatim_detail, coalesce(updated_by, 0), coalesce(updated_at, 0)"
			      " FROM org_settings WHERE id = 1",
			      &st, e);
	if (!err) {
		int rc = db_step(st);
		if (rc == DB_ROW) {
			const char *d = (const char *)db_column_text(st, 0);
			if (!store_verbatim_detail_parse(d, &out->verbatim_detail))
				err = ks_fail(e, KS_ERR_INTERNAL, NULL, "stored verbatim_detail %s is unknown",
					      d ? d : "(null)");
			out->updated_by = db_column_int64(st, 1);
			out->updated_at = db_column_int64(st, 2);
		} else if (rc != DB_DONE) {
			err = sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_org_settings_put(ks_store *s, store_org_settings *o, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	o->updated_at = clock_now(s->clock);
	ks_err err = sq_cprep(c,
			      "INSERT INTO org_settings(id, verbatim_detail, updated_by, updated_at)"
			      " VALUES(1, ?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET"
			      " verbatim_detail = excluded.verbatim_detail,"
			      " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
			      &st, e);
	if (!err) {
		db_bind_text(st, 1, store_verbatim_detail_name(o->verbatim_detail), -1, DB_STATIC);
		sq_bind_id(st, 2, o->updated_by);
		db_bind_int64(st, 3, o->updated_at);
		err = sq_cstep(c, st, e);
	}
	sq_release(s, c);
	return err;
}

/* ---- coaching: compliments (issue 13) -------------------------------------------- */

#define SQ_COMPLIMENT_MAX_ATTEMPTS 8

#define SQ_COMPLIMENT_RECLAIM_S 600 /* a claim never recorded (a crash) is due again */
static const sq_outbox sq_compliment_mails = {"compliments", "mail_status", SQ_COMPLIMENT_MAX_ATTEMPTS, true,
					      SQ_COMPLIMENT_RECLAIM_S};

ks_err store_compliment_target(ks_store *s, int64_t response_id, int64_t *employee_id, int64_t *team_id,
			       int *nps, bool *has_text, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT coalesce(employee_id, 0), coalesce(team_id, 0), coalesce(nps, -1),"
				 " open_text IS NOT NULL AND open_text <> '' FROM responses WHERE id = ?1",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, response_id);
		int rc = db_step(st);
		if (rc == DB_ROW) {
			*employee_id = db_column_int64(st, 0);
			*team_id = db_column_int64(st, 1);
			*nps = db_column_int(st, 2);
			*has_text = db_column_int(st, 3) != 0;
		} else if (rc == DB_DONE) {
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "response %lld not found", (long long)response_id);
		} else {
			err = sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}

/* The columns of a compliment as store_compliment_list prints it. */
#define SQ_COMPLIMENT_SELECT                                                                      \
	"SELECT k.id, k.response_id, coalesce(r.open_text, ''), r.received_at, k.from_user_id,"   \
	" coalesce(u.name, ''), k.note, k.created_at, k.mail_status"                              \
	" FROM compliments k JOIN responses r ON r.id = k.response_id"                            \
	" LEFT JOIN users u ON u.id = k.from_user_id"

static json_t *sq_compliment_row(db_stmt *st)
{
	return json_pack("{s:I, s:I, s:s, s:o, s:{s:I, s:s}, s:o, s:o, s:s}",
			 "id", (json_int_t)db_column_int64(st, 0),
			 "response_id", (json_int_t)db_column_int64(st, 1),
			 "text", sq_ctext(st, 2),
			 "received_at", sq_iso_or_null(db_column_int64(st, 3)),
			 "from", "id", (json_int_t)db_column_int64(st, 4), "name", sq_ctext(st, 5),
			 "note", sq_opt_text(st, 6),
			 "created_at", sq_iso_or_null(db_column_int64(st, 7)),
			 "mail_status", sq_ctext(st, 8));
}

/* Rows of SQ_COMPLIMENT_SELECT + where (?1 bound to arg, ?2 to limit). */
static ks_err sq_compliment_query(sq_conn *c, const char *sql, int64_t arg, int limit, json_t **out,
				  ks_error *e)
{
	db_stmt *st;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, arg);
	db_bind_int(st, 2, limit);
	json_t *arr = json_array();
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		json_array_append_new(arr, sq_compliment_row(st));
	if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	if (err)
		json_decref(arr);
	else
		*out = arr;
	return err;
}

ks_err store_compliment_list(ks_store *s, int64_t employee_id, int limit, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_compliment_query(c, SQ_COMPLIMENT_SELECT " WHERE k.employee_id = ?1"
					    " ORDER BY k.created_at DESC, k.id DESC LIMIT ?2",
					 employee_id, limit < 1 ? 1 : limit, out, e);
	sq_release(s, c);
	return err;
}

/* The insert: a mail is due when the employee has an address (their own,
 * else their account's, the first active one); none leaves it "none". The
 * address itself is looked up again when the mail is sent (SQ_COMPLIMENT_TO). */
static ks_err sq_compliment_insert(sq_conn *c, int64_t response_id, int64_t employee_id, int64_t from,
				   const char *note, int64_t now, ks_error *e)
{
	char tok[MODEL_TOKEN_LEN + 1];
	sq_token(tok);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "WITH a(email, lang) AS (SELECT coalesce(nullif(em.email, ''),"
			      "  (SELECT u.email FROM users u WHERE u.employee_id = em.id AND u.disabled = 0"
			      "   ORDER BY u.id LIMIT 1)),"
			      "  coalesce((SELECT u.language FROM users u WHERE u.employee_id = em.id"
			      "   AND u.disabled = 0 ORDER BY u.id LIMIT 1), 'nl')"
			      "  FROM employees em WHERE em.id = ?2)"
			      " INSERT INTO compliments (response_id, employee_id, from_user_id, note, created_at,"
			      "  language, mail_status, next_attempt_at, message_id)"
			      " SELECT ?1, ?2, ?3, nullif(?4, ''), ?5, a.lang,"
			      "  CASE WHEN a.email IS NULL THEN 'none' ELSE 'pending' END, ?5,"
			      "  'compliment-' || ?1 || '-' || ?3 || '-' || ?6 || '@klantstem' FROM a",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, response_id);
	db_bind_int64(st, 2, employee_id);
	db_bind_int64(st, 3, from);
	db_bind_text(st, 4, note ? note : "", -1, DB_STATIC);
	db_bind_int64(st, 5, now);
	db_bind_text(st, 6, tok, -1, DB_TRANSIENT);
	int rc = db_step(st);
	db_finalize(st);
	if (rc == DB_CONSTRAINT)
		return ks_fail(e, KS_ERR_CONFLICT, "response_id", "you already sent a compliment on this answer");
	if (rc != DB_DONE)
		return sq_fail(c, rc, e);
	if (db_changes(c->db) != 1)
		return ks_fail(e, KS_ERR_REF, "employee_id", "employee %lld not found", (long long)employee_id);
	return KS_OK;
}

ks_err store_compliment_create(ks_store *s, int64_t response_id, int64_t employee_id, int64_t from_user_id,
			       const char *note, int64_t now, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_compliment_insert(c, response_id, employee_id, from_user_id, note, now, e);
	int64_t id = err ? 0 : db_last_insert_rowid(c->db);
	json_t *rows = NULL;
	if (!err)
		err = sq_compliment_query(c, SQ_COMPLIMENT_SELECT " WHERE k.id = ?1 LIMIT ?2", id, 1, &rows, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c); /* rolls back an open transaction */
	sq_storage_failed(s, err);
	if (err) {
		json_decref(rows);
		return err;
	}
	*out = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return *out ? KS_OK : ks_fail(e, KS_ERR_INTERNAL, NULL, "the compliment was not read back");
}

/* The employee's address now: their own, else their active account's. */
#define SQ_COMPLIMENT_TO                                                                          \
	"coalesce(nullif(em.email, ''), (SELECT u2.email FROM users u2 WHERE u2.employee_id = k.employee_id" \
	" AND u2.disabled = 0 ORDER BY u2.id LIMIT 1))"

static void sq_compliment_job_row(db_stmt *st, store_compliment_job *j)
{
	memset(j, 0, sizeof *j);
	j->id = db_column_int64(st, 0);
	snprintf(j->to_email, sizeof j->to_email, "%s", sq_ctext(st, 1));
	snprintf(j->language, sizeof j->language, "%s", sq_ctext(st, 2));
	j->attempts = db_column_int(st, 3) + 1;
	snprintf(j->message_id, sizeof j->message_id, "%s", sq_ctext(st, 4));
	/* first names are taken up to 500 bytes: cut at a character boundary,
	 * or the mail check refuses the mail */
	utf8_copy(j->employee_first, sizeof j->employee_first, sq_ctext(st, 5));
	snprintf(j->from_name, sizeof j->from_name, "%s", sq_ctext(st, 6));
	snprintf(j->note, sizeof j->note, "%s", sq_ctext(st, 7));
	snprintf(j->open_text, sizeof j->open_text, "%s", sq_ctext(st, 8));
}

ks_err store_compliment_mail_claim(ks_store *s, int64_t now, store_compliment_job *jobs, int max, int *n,
				   ks_error *e)
{
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_cprep(c,
			       "SELECT k.id, coalesce(" SQ_COMPLIMENT_TO ", ''), k.language, k.attempts, k.message_id,"
			       " coalesce(em.first_name, ''), coalesce(u.name, ''), coalesce(k.note, ''),"
			       " coalesce(r.open_text, '')"
			       " FROM compliments k JOIN responses r ON r.id = k.response_id"
			       " LEFT JOIN employees em ON em.id = k.employee_id"
			       " LEFT JOIN users u ON u.id = k.from_user_id"
			       " WHERE ((k.mail_status = 'pending' AND k.next_attempt_at <= ?1)"
			       "  OR (k.mail_status = 'sending' AND k.claimed_at <= ?1 - ?3))"
			       " ORDER BY k.next_attempt_at, k.id LIMIT ?2",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, now);
		db_bind_int(st, 2, max);
		db_bind_int(st, 3, SQ_COMPLIMENT_RECLAIM_S);
		int rc = DB_DONE;
		while (*n < max && (rc = db_step(st)) == DB_ROW)
			sq_compliment_job_row(st, &jobs[(*n)++]);
		if (*n < max && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	int kept = 0;
	for (int i = 0; !err && i < *n; i++) {
		/* issue 18 (review): a row another node claimed since the
		 * SELECT is left out (db_changes() 0) */
		err = sq_outbox_mark_sending(c, &sq_compliment_mails, jobs[i].id, jobs[i].attempts, now, e);
		if (err || db_changes(c->db) != 1)
			continue;
		if (kept != i)
			jobs[kept] = jobs[i];
		kept++;
	}
	if (!err)
		*n = kept;
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	sq_storage_failed(s, err);
	if (err)
		*n = 0;
	return err;
}

ks_err store_compliment_mail_record(ks_store *s, const store_compliment_job *j, store_send_outcome outcome,
				    const char *detail, int64_t now, ks_error *e)
{
	return sq_outbox_record_one(s, &sq_compliment_mails, j->id, j->attempts, outcome, detail, now, e);
}

ks_err store_employee_drivers(ks_store *s, int64_t employee_id, int64_t from, int64_t to,
			      store_driver_score **out, size_t *n, ks_error *e)
{
	*out = NULL;
	*n = 0;
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	ks_err err = sq_cprep(c,
			      "SELECT d.aspect, r.received_at, d.score FROM response_drivers d"
			      " JOIN responses r ON r.id = d.response_id"
			      " WHERE r.employee_id = ?1 AND r.received_at >= ?2 AND r.received_at < ?3"
			      " ORDER BY d.aspect, r.received_at",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, employee_id);
		db_bind_int64(st, 2, from);
		db_bind_int64(st, 3, to);
		size_t cap = 0;
		int rc;
		while ((rc = db_step(st)) == DB_ROW) {
			if (*n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				store_driver_score *p = realloc(*out, ncap * sizeof *p);
				if (p == NULL) {
					err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
					break;
				}
				*out = p;
				cap = ncap;
			}
			store_driver_score *d = &(*out)[(*n)++];
			snprintf(d->aspect, sizeof d->aspect, "%s", sq_ctext(st, 0));
			d->at = db_column_int64(st, 1);
			d->score = db_column_int(st, 2);
		}
		if (!err && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}
