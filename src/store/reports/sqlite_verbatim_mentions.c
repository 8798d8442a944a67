/* sqlite_verbatim_mentions.c — the verbatim explorer's mentions (issue 16,
 * part H3): reviews and posts (migration 020, H1's tables) as explorer
 * items beside the open answers, with the explorer's filters where they
 * mean something for a mention. See sqlite_int.h (sq_verbatim_mentions)
 * and store.h (store_verbatim_query's source).
 *
 * A mention has no NPS band, employee or touchpoint: a filter on one of
 * them leaves every mention out (a review is not a promoter). Its unit is
 * the one mention_locations mapped its location to, so a team lead sees the
 * mentions of their unit's subtree and a director also the unmapped ones,
 * as GET /api/v1/mentions does. q is matched word by word as a substring of
 * title, text and author (ASCII case folded): mentions have no full-text
 * index, and a word ending in * is the same word without it.
 */
#include "store/sqlite_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_VM_MAX_WORDS 16

/* ?2 unit, ?3 employee, ?4 touchpoint, ?5 language, ?6 from, ?7 to,
 * ?8 band's lowest NPS (>= 0: a band asked), ?9 mention source (NULL = any),
 * ?10 cursor (mention id; 0 = none) or, merged, the cursor's time (NULL =
 * none) with ?14 1 when it was an answer and ?15 its id, ?11 limit,
 * ?12 theme, ?13 sentiment, ?16 words (JSON array; NULL = none). Two
 * orders, each a plain ORDER BY an index gives (the rowid; mentions_created)
 * so a page reads its rows and stops: an ORDER BY over a CASE sorted every
 * mention (40 ms for 30,000). */
#define SQ_VM_SELECT \
	"WITH RECURSIVE sub(id) AS (SELECT ?2 WHERE ?2 <> 0" \
	"  UNION SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id)" \
	" SELECT m.id, m.source, coalesce(m.text, ''), m.title, m.author, m.url, m.location," \
	"  m.rating, m.scale_min, m.scale_max, m.rating10, m.language, m.created_at," \
	"  coalesce(m.unit_id, 0), coalesce(ou.name, '')" \
	" FROM mentions m LEFT JOIN org_units ou ON ou.id = m.unit_id" \
	" WHERE (coalesce(m.text, '') <> '' OR coalesce(m.title, '') <> '')" \
	" AND (?2 = 0 OR m.unit_id IN sub) AND ?3 = 0 AND ?4 = 0 AND ?8 < 0" \
	" AND (?5 = '' OR m.language = ?5)" \
	" AND (?6 = 0 OR m.created_at >= ?6) AND (?7 = 0 OR m.created_at < ?7)" \
	" AND (?9 IS NULL OR m.source = ?9)" \
	" AND (?12 IS NULL OR EXISTS (SELECT 1 FROM mention_themes mt WHERE mt.mention_id = m.id AND mt.theme = ?12))" \
	" AND (?13 IS NULL OR EXISTS (SELECT 1 FROM mention_analysis ma WHERE ma.mention_id = m.id AND ma.label = ?13))" \
	" AND (?16 IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(?16) w WHERE instr(lower(coalesce(m.title, '')" \
	"  || ' ' || coalesce(m.text, '') || ' ' || coalesce(m.author, '')), lower(w.value)) = 0))"
static const char *const sq_vm_by_id_sql =
	SQ_VM_SELECT " AND (?10 = 0 OR m.id < ?10) ORDER BY m.id DESC LIMIT ?11";
static const char *const sq_vm_by_key_sql =
	SQ_VM_SELECT " AND (?10 IS NULL OR m.created_at < ?10 OR (m.created_at = ?10 AND (?14 = 1 OR m.id < ?15)))"
	" ORDER BY m.created_at DESC, m.id DESC LIMIT ?11";

/* q's words as a JSON array text (malloc'd, caller frees), NULL for none. */
static char *sq_vm_words(const char *q)
{
	json_t *arr = json_array();
	const char *p = q ? q : "";
	while (*p && json_array_size(arr) < SQ_VM_MAX_WORDS) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *w = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		size_t n = (size_t)(p - w);
		while (n > 0 && w[n - 1] == '*')
			n--;
		if (n > 0)
			json_array_append_new(arr, json_stringn(w, n));
	}
	char *out = json_array_size(arr) ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	return out;
}

static json_t *sq_vm_real(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null() : json_real(db_column_double(st, i));
}

static json_t *sq_vm_text(db_stmt *st, int i)
{
	const unsigned char *t = db_column_text(st, i);
	return t ? json_string((const char *)t) : json_null();
}

/* The mention's analysis as an answer's ({"language","sentiment":{"label",
 * "score"},"themes":[{"theme","subtheme","sentiment"}]}), or null. */
static json_t *sq_vm_analysis(sq_conn *c, int64_t id)
{
	db_stmt *st = NULL;
	json_t *out = json_null();
	if (sq_cprep(c, "SELECT language, label, score FROM mention_analysis WHERE mention_id = ?1", &st, NULL))
		return out;
	db_bind_int64(st, 1, id);
	if (db_step(st) == DB_ROW)
		out = json_pack("{s:s, s:{s:s, s:f}, s:[]}", "language", sq_ctext(st, 0), "sentiment", "label",
				sq_ctext(st, 1), "score", db_column_double(st, 2), "themes");
	db_finalize(st);
	if (!json_is_object(out) ||
	    sq_cprep(c, "SELECT theme, subtheme, label FROM mention_themes WHERE mention_id = ?1 ORDER BY rowid", &st,
		     NULL))
		return out;
	db_bind_int64(st, 1, id);
	json_t *themes = json_object_get(out, "themes");
	while (db_step(st) == DB_ROW)
		json_array_append_new(themes, json_pack("{s:s, s:s, s:s}", "theme", sq_ctext(st, 0), "subtheme",
							sq_ctext(st, 1), "sentiment", sq_ctext(st, 2)));
	db_finalize(st);
	return out;
}

static json_t *sq_vm_row(sq_conn *c, db_stmt *st)
{
	char when[32];
	int64_t at = db_column_int64(st, 12);
	clock_format_iso(at, when, sizeof when);
	int64_t unit = db_column_int64(st, 13);
	int64_t id = db_column_int64(st, 0);
	json_t *team = unit ? json_pack("{s:I, s:s}", "id", (json_int_t)unit, "name", sq_ctext(st, 14)) : json_null();
	json_t *row = json_pack("{s:s, s:n, s:I, s:s, s:o, s:o, s:o, s:o}", "source", sq_ctext(st, 1), "response_id",
				"mention_id", (json_int_t)id, "text", sq_ctext(st, 2), "title", sq_vm_text(st, 3),
				"author", sq_vm_text(st, 4), "url", sq_vm_text(st, 5), "location", sq_vm_text(st, 6));
	if (row == NULL) {
		json_decref(team);
		return NULL;
	}
	json_object_set_new(row, "rating", sq_vm_real(st, 7));
	json_object_set_new(row, "scale_min", sq_vm_real(st, 8));
	json_object_set_new(row, "scale_max", sq_vm_real(st, 9));
	json_object_set_new(row, "rating10", sq_vm_real(st, 10));
	json_object_set_new(row, "nps", json_null());
	json_object_set_new(row, "grade", json_null());
	json_object_set_new(row, "band", json_null());
	json_object_set_new(row, "language", json_string(sq_ctext(st, 11)));
	json_object_set_new(row, "received_at", json_string(when));
	json_object_set_new(row, "touchpoint", json_null());
	json_object_set_new(row, "team", team);
	json_object_set_new(row, "employee", json_null());
	json_object_set_new(row, "analysis", sq_vm_analysis(c, id));
	json_object_set_new(row, "at_unix", json_integer(at)); /* the merge's key; store_verbatim_search drops it */
	return row;
}

ks_err sq_verbatim_mentions(ks_store *s, const store_verbatim_query *q, bool by_key, int limit, json_t **items,
			    bool *more, ks_error *e)
{
	*items = NULL;
	*more = false;
	char *words = sq_vm_words(q->q);
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, by_key ? sq_vm_by_key_sql : sq_vm_by_id_sql, &st, e);
	if (err) {
		sq_release(s, c);
		free(words);
		return err;
	}
	db_bind_int64(st, 2, q->team_id);
	db_bind_int64(st, 3, q->employee_id);
	db_bind_int64(st, 4, q->touchpoint_id);
	db_bind_text(st, 5, q->language, -1, DB_STATIC);
	db_bind_int64(st, 6, q->from);
	db_bind_int64(st, 7, q->to);
	db_bind_int(st, 8, q->band == STORE_BAND_ANY ? -1 : 0);
	if (q->mention_source)
		db_bind_text(st, 9, q->mention_source, -1, DB_STATIC);
	if (!by_key) {
		db_bind_int64(st, 10, q->before_id);
	} else if (q->after.id) { /* issue 16 H7: the merged list's cursor */
		db_bind_int64(st, 10, q->after.t);
		db_bind_int(st, 14, q->after.answer ? 1 : 0);
		db_bind_int64(st, 15, q->after.id);
	}
	db_bind_int(st, 11, limit + 1);
	if (q->theme)
		db_bind_text(st, 12, q->theme, -1, DB_STATIC);
	if (q->sentiment)
		db_bind_text(st, 13, q->sentiment, -1, DB_STATIC);
	if (words)
		db_bind_text(st, 16, words, -1, DB_STATIC);
	json_t *arr = json_array();
	int rc, n = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		if (n == limit) {
			*more = true;
			continue;
		}
		json_t *row = sq_vm_row(c, st);
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
	free(words);
	if (err) {
		json_decref(arr);
		return err;
	}
	*items = arr;
	return KS_OK;
}
