/* sqlite_cases.c — the closed loop (issue 6): alert rules, cases opened by
 * them when a response arrives, their status flow with optimistic
 * concurrency, and notes. See store.h, "cases", and docs/API.md,
 * "Cases (closed loop)".
 *
 * Cases are opened by the group-commit writer inside the savepoint of the
 * response (sq_cases_for_response), so a response never commits without its
 * cases or the other way round. A partial UNIQUE index (customer_id, rule)
 * over open cases (new, contacted) keeps one open case per customer and
 * rule; a later response that fires the same rule is added to it.
 */
#include "store/sqlite_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQ_CASE_COLS                                                                            \
	"c.id, c.customer_id, coalesce(c.rule, ''), c.reason, c.status, c.opened_at,"            \
	" coalesce(c.closed_at, 0), coalesce(c.response_id, 0), coalesce(c.team_id, 0),"         \
	" coalesce(c.owner_user_id, 0), coalesce(c.deadline, 0), c.version, c.root_cause,"       \
	" c.outcome, c.consent, coalesce(c.updated_at, c.opened_at)"

static ks_err sq_cprep(sq_conn *c, const char *sql, sqlite3_stmt **st, ks_error *e)
{
	int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? KS_OK : sq_fail(c, rc, e);
}

/* Step a write statement to completion and finalize it. */
static ks_err sq_cstep(sq_conn *c, sqlite3_stmt *st, ks_error *e)
{
	int rc = sqlite3_step(st);
	ks_err err = rc == SQLITE_DONE || rc == SQLITE_ROW ? KS_OK : sq_fail(c, rc, e);
	sqlite3_finalize(st);
	return err;
}

static const char *sq_ctext(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* ---- alert rules ------------------------------------------------------------------ */

#define SQ_RULE_COLS "id, kind, threshold, coalesce(words, ''), sla_hours, enabled, coalesce(updated_at, 0)"

static void sq_rule_row(sqlite3_stmt *st, store_alert_rule *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 0);
	snprintf(r->kind, sizeof r->kind, "%s", sq_ctext(st, 1));
	r->has_threshold = sqlite3_column_type(st, 2) != SQLITE_NULL;
	r->threshold = sqlite3_column_int(st, 2);
	snprintf(r->words, sizeof r->words, "%s", sq_ctext(st, 3));
	r->sla_hours = sqlite3_column_int(st, 4);
	r->enabled = sqlite3_column_int(st, 5) != 0;
	r->updated_at = sqlite3_column_int64(st, 6);
}

static json_t *sq_iso_or_null(int64_t t)
{
	if (t == 0)
		return json_null();
	char buf[32];
	clock_format_iso(t, buf, sizeof buf);
	return json_string(buf);
}

json_t *store_alert_rule_json(const store_alert_rule *r)
{
	return json_pack("{s:I, s:s, s:o, s:o, s:i, s:b, s:o}", "id", (json_int_t)r->id, "kind", r->kind,
			 "threshold", r->has_threshold ? json_integer(r->threshold) : json_null(),
			 "words", r->words[0] ? json_string(r->words) : json_null(), "sla_hours",
			 r->sla_hours, "enabled", r->enabled, "updated_at", sq_iso_or_null(r->updated_at));
}

ks_err store_alert_rule_list(ks_store *s, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_RULE_COLS " FROM alert_rules ORDER BY id", &st, e);
	json_t *items = err ? NULL : json_array();
	int rc = SQLITE_DONE;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_alert_rule r;
		sq_rule_row(st, &r);
		json_array_append_new(items, store_alert_rule_json(&r));
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(c, rc, e);
	sqlite3_finalize(st);
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o}", "items", items);
	return KS_OK;
}

static ks_err sq_rule_load(sq_conn *c, int64_t id, store_alert_rule *out, ks_error *e)
{
	sqlite3_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_RULE_COLS " FROM alert_rules WHERE id = ?1", &st, e);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		sq_rule_row(st, out);
	else if (rc == SQLITE_DONE)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "alert rule %lld not found", (long long)id);
	else
		err = sq_fail(c, rc, e);
	sqlite3_finalize(st);
	return err;
}

ks_err store_alert_rule_get(ks_store *s, int64_t id, store_alert_rule *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_rule_load(c, id, out, e);
	sq_release(s, c);
	return err;
}

ks_err store_alert_rule_put(ks_store *s, store_alert_rule *r, ks_error *e)
{
	r->updated_at = clock_now(s->clock);
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "UPDATE alert_rules SET threshold = ?2, words = ?3, sla_hours = ?4,"
			      " enabled = ?5, updated_at = ?6 WHERE id = ?1",
			      &st, e);
	if (!err) {
		sqlite3_bind_int64(st, 1, r->id);
		if (r->has_threshold)
			sqlite3_bind_int(st, 2, r->threshold);
		if (r->words[0])
			sqlite3_bind_text(st, 3, r->words, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, r->sla_hours);
		sqlite3_bind_int(st, 5, r->enabled ? 1 : 0);
		sqlite3_bind_int64(st, 6, r->updated_at);
		err = sq_cstep(c, st, e);
	}
	if (!err && sqlite3_changes(c->db) != 1)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "alert rule %lld not found", (long long)r->id);
	sq_release(s, c);
	return err;
}

/* ---- opening cases (the writer, inside the response's savepoint) -------------------- */

/* Does the lower-cased text contain one of the comma-separated words? */
static bool sq_words_match(const char *lower, const char *words)
{
	char w[128];
	const char *p = words;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		if (n && n < sizeof w) {
			for (size_t i = 0; i < n; i++)
				w[i] = (char)tolower((unsigned char)p[i]);
			w[n] = '\0';
			if (strstr(lower, w))
				return true;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

/* Does rule r fire on response x? reason gets a short human description. */
static bool sq_rule_fires(const store_alert_rule *r, const model_response *x, const char *lower,
			  char *reason, size_t n)
{
	if (strcmp(r->kind, "nps_max") == 0 && r->has_threshold && x->nps >= 0 && x->nps <= r->threshold) {
		snprintf(reason, n, "NPS %d (at most %d)", x->nps, r->threshold);
		return true;
	}
	if (strcmp(r->kind, "grade_max") == 0 && r->has_threshold && x->grade >= 0 &&
	    x->grade <= r->threshold) {
		snprintf(reason, n, "grade %d (at most %d)", x->grade, r->threshold);
		return true;
	}
	if (strcmp(r->kind, "ces_max") == 0 && r->has_threshold && x->ces >= 0 && x->ces <= r->threshold) {
		snprintf(reason, n, "CES %d (at most %d)", x->ces, r->threshold);
		return true;
	}
	if (strcmp(r->kind, "words") == 0 && lower && r->words[0] && sq_words_match(lower, r->words)) {
		snprintf(reason, n, "signal words in the open answer");
		return true;
	}
	return false;
}

/* The team lead of a team (lowest user id), 0 when there is none. */
static ks_err sq_team_lead(sq_conn *c, int64_t team_id, int64_t *owner, ks_error *e)
{
	*owner = 0;
	if (team_id == 0)
		return KS_OK;
	sqlite3_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT id FROM users WHERE role = 'team_lead' AND unit_id = ?1"
			      " AND disabled = 0 ORDER BY id LIMIT 1",
			      &st, e);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, team_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*owner = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		err = sq_fail(c, rc, e);
	sqlite3_finalize(st);
	return err;
}

/* Open a case for rule on x, or find the customer's open case of that rule;
 * then link the response to it. */
static ks_err sq_case_open(sq_conn *c, const store_alert_rule *r, const model_response *x,
			   const char *reason, ks_error *e)
{
	int64_t owner = 0;
	ks_err err = sq_team_lead(c, x->team_id, &owner, e);
	sqlite3_stmt *st = NULL;
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO cases (customer_id, reason, status, opened_at, rule, response_id,"
			       " team_id, owner_user_id, deadline, version, updated_at)"
			       " VALUES (?1, ?2, 'new', ?3, ?4, ?5, ?6, ?7, ?8, 1, ?3)"
			       " ON CONFLICT (customer_id, rule) WHERE status IN ('new','contacted')"
			       " DO NOTHING",
			       &st, e);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, x->customer_id);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, x->received_at);
	sqlite3_bind_text(st, 4, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, x->id);
	sq_bind_id(st, 6, x->team_id);
	sq_bind_id(st, 7, owner);
	sqlite3_bind_int64(st, 8, x->received_at + (int64_t)r->sla_hours * 3600);
	err = sq_cstep(c, st, e);
	if (err)
		return err;
	int64_t case_id = 0;
	if (sqlite3_changes(c->db) == 1) {
		case_id = sqlite3_last_insert_rowid(c->db);
	} else {
		err = sq_cprep(c,
			       "SELECT id FROM cases WHERE customer_id = ?1 AND rule = ?2"
			       " AND status IN ('new','contacted')",
			       &st, e);
		if (err)
			return err;
		sqlite3_bind_int64(st, 1, x->customer_id);
		sqlite3_bind_text(st, 2, r->kind, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			case_id = sqlite3_column_int64(st, 0);
		else
			err = rc == SQLITE_DONE ? ks_fail(e, KS_ERR_INTERNAL, NULL, "open case vanished")
						: sq_fail(c, rc, e);
		sqlite3_finalize(st);
		if (!err)
			err = sq_cprep(c, "UPDATE cases SET updated_at = ?2 WHERE id = ?1", &st, e);
		if (err)
			return err;
		sqlite3_bind_int64(st, 1, case_id);
		sqlite3_bind_int64(st, 2, x->received_at);
		err = sq_cstep(c, st, e);
		if (err)
			return err;
	}
	err = sq_cprep(c, "INSERT OR IGNORE INTO case_responses (case_id, response_id) VALUES (?1, ?2)",
		       &st, e);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_int64(st, 2, x->id);
	return sq_cstep(c, st, e);
}

ks_err sq_cases_for_response(sq_conn *c, const model_response *x, ks_error *e)
{
	if (x->customer_id == 0 || x->id == 0)
		return KS_OK;
	/* Runs for every new response in the writer: a cached statement. */
	sqlite3_stmt *st = sq_stmt(c, SQ_ALERT_RULES, e);
	if (st == NULL)
		return KS_ERR_DB;
	ks_err err = KS_OK;
	store_alert_rule fired[8];
	char reasons[8][96];
	int n = 0, rc;
	char *lower = NULL;
	if (x->open_text && x->open_text[0]) {
		lower = strdup(x->open_text);
		if (lower == NULL)
			return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 8) {
		sq_rule_row(st, &fired[n]);
		if (sq_rule_fires(&fired[n], x, lower, reasons[n], sizeof reasons[n]))
			n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = sq_fail(c, rc, e);
	sqlite3_reset(st);
	free(lower);
	for (int i = 0; !err && i < n; i++)
		err = sq_case_open(c, &fired[i], x, reasons[i], e);
	return err;
}

/* ---- reading cases ------------------------------------------------------------------ */

static json_t *sq_opt_text(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? json_null()
							 : json_string(sq_ctext(st, i));
}

static json_t *sq_opt_id(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

static json_t *sq_case_row(sqlite3_stmt *st, int64_t now)
{
	const char *status = sq_ctext(st, 4);
	int64_t deadline = sqlite3_column_int64(st, 10);
	bool open = strcmp(status, "new") == 0 || strcmp(status, "contacted") == 0;
	const char *rule = sq_ctext(st, 2);
	json_t *consent = sqlite3_column_type(st, 14) == SQLITE_NULL
				  ? json_null()
				  : json_boolean(sqlite3_column_int(st, 14) != 0);
	return json_pack("{s:I, s:I, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:I, s:o, s:o,"
			 " s:o, s:o}",
			 "id", (json_int_t)sqlite3_column_int64(st, 0), "customer_id",
			 (json_int_t)sqlite3_column_int64(st, 1), "rule",
			 rule[0] ? json_string(rule) : json_null(), "reason", sq_ctext(st, 3), "status",
			 status, "opened_at", sq_iso_or_null(sqlite3_column_int64(st, 5)), "closed_at",
			 sq_iso_or_null(sqlite3_column_int64(st, 6)), "response_id",
			 sq_opt_id(sqlite3_column_int64(st, 7)), "team_id",
			 sq_opt_id(sqlite3_column_int64(st, 8)), "owner_user_id",
			 sq_opt_id(sqlite3_column_int64(st, 9)), "deadline", sq_iso_or_null(deadline),
			 "overdue", open && deadline && deadline < now, "version",
			 (json_int_t)sqlite3_column_int64(st, 11), "root_cause", sq_opt_text(st, 12),
			 "outcome", sq_opt_text(st, 13), "consent", consent, "updated_at",
			 sq_iso_or_null(sqlite3_column_int64(st, 15)));
}

/* ?1 unit (with its subtree), ?2 status, ?3 owner, ?4 customer, ?5 overdue
 * at (0 = no), ?6 cursor, ?7 limit. 0 / '' = any. */
static const char *const sq_case_list_sql =
	"WITH RECURSIVE sub(id) AS (SELECT ?1 WHERE ?1 <> 0"
	"  UNION SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id)"
	" SELECT " SQ_CASE_COLS " FROM cases c"
	" WHERE (?1 = 0 OR c.team_id IN sub) AND (?2 = '' OR c.status = ?2)"
	" AND (?3 = 0 OR c.owner_user_id = ?3) AND (?4 = 0 OR c.customer_id = ?4)"
	" AND (?5 = 0 OR (c.status IN ('new','contacted') AND c.deadline < ?5))"
	" AND c.id > ?6 ORDER BY c.id LIMIT ?7";

ks_err store_case_list(ks_store *s, const store_case_query *q, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st = NULL;
	ks_err err = sq_cprep(c, sq_case_list_sql, &st, e);
	json_t *items = err ? NULL : json_array();
	int64_t last = 0;
	int n = 0, rc = SQLITE_DONE;
	if (!err) {
		sqlite3_bind_int64(st, 1, q->team_id);
		sqlite3_bind_text(st, 2, q->status ? q->status : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, q->owner_user_id);
		sqlite3_bind_int64(st, 4, q->customer_id);
		sqlite3_bind_int64(st, 5, q->overdue ? q->now : 0);
		sqlite3_bind_int64(st, 6, q->after_id);
		sqlite3_bind_int(st, 7, q->limit + 1);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (n == q->limit) {
				n++;
				break;
			}
			last = sqlite3_column_int64(st, 0);
			json_array_append_new(items, sq_case_row(st, q->now));
			n++;
		}
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			err = sq_fail(c, rc, e);
	}
	sqlite3_finalize(st);
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 n > q->limit ? json_integer(last) : json_null());
	return KS_OK;
}

static json_t *sq_note_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:o, s:s, s:o}", "id", (json_int_t)sqlite3_column_int64(st, 0),
			 "user_id", sq_opt_id(sqlite3_column_int64(st, 1)), "text", sq_ctext(st, 2),
			 "created_at", sq_iso_or_null(sqlite3_column_int64(st, 3)));
}

/* Append every row of "SELECT ... WHERE case_id = ?1" to arr (row_fn or
 * column 0 as an integer). */
static ks_err sq_case_children(sq_conn *c, const char *sql, int64_t id, json_t *arr,
			       json_t *(*row_fn)(sqlite3_stmt *), ks_error *e)
{
	sqlite3_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, row_fn ? row_fn(st) : json_integer(sqlite3_column_int64(st, 0)));
	if (rc != SQLITE_DONE)
		err = sq_fail(c, rc, e);
	sqlite3_finalize(st);
	return err;
}

ks_err store_case_get(ks_store *s, int64_t id, int64_t now, json_t **out, int64_t *team_id,
		      ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st = NULL;
	json_t *row = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_CASE_COLS " FROM cases c WHERE c.id = ?1", &st, e);
	if (!err) {
		sqlite3_bind_int64(st, 1, id);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			row = sq_case_row(st, now);
			if (team_id)
				*team_id = sqlite3_column_int64(st, 8);
		} else if (rc == SQLITE_DONE) {
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "case %lld not found", (long long)id);
		} else {
			err = sq_fail(c, rc, e);
		}
		sqlite3_finalize(st);
	}
	json_t *notes = json_array(), *resp = json_array();
	if (!err)
		err = sq_case_children(c, "SELECT response_id FROM case_responses WHERE case_id = ?1"
					  " ORDER BY response_id",
				       id, resp, NULL, e);
	if (!err)
		err = sq_case_children(c, "SELECT id, coalesce(user_id, 0), text, created_at FROM case_notes"
					  " WHERE case_id = ?1 ORDER BY id",
				       id, notes, sq_note_row, e);
	sq_release(s, c);
	if (err) {
		json_decref(row);
		json_decref(notes);
		json_decref(resp);
		return err;
	}
	json_object_set_new(row, "response_ids", resp);
	json_object_set_new(row, "notes", notes);
	*out = row;
	return KS_OK;
}

/* ---- changing cases ------------------------------------------------------------------ */

static bool sq_status_known(const char *s)
{
	return strcmp(s, "new") == 0 || strcmp(s, "contacted") == 0 || strcmp(s, "resolved") == 0 ||
	       strcmp(s, "closed") == 0;
}

/* new -> contacted -> resolved -> closed; resolved/closed -> new reopens;
 * staying is no change. */
static bool sq_status_step(const char *from, const char *to)
{
	if (strcmp(from, to) == 0)
		return true;
	if (strcmp(to, "new") == 0)
		return strcmp(from, "resolved") == 0 || strcmp(from, "closed") == 0;
	return (strcmp(from, "new") == 0 && strcmp(to, "contacted") == 0) ||
	       (strcmp(from, "contacted") == 0 && strcmp(to, "resolved") == 0) ||
	       (strcmp(from, "resolved") == 0 && strcmp(to, "closed") == 0);
}

static ks_err sq_case_apply(ks_store *s, sq_conn *c, int64_t id, const store_case_patch *p, int64_t now,
			    ks_error *e)
{
	(void)s;
	sqlite3_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT status, version FROM cases WHERE id = ?1", &st, e);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	char status[16] = "";
	int64_t version = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(status, sizeof status, "%s", sq_ctext(st, 0));
		version = sqlite3_column_int64(st, 1);
	} else {
		err = rc == SQLITE_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "case %lld not found", (long long)id)
					: sq_fail(c, rc, e);
	}
	sqlite3_finalize(st);
	if (err)
		return err;
	if (version != p->version)
		return ks_fail(e, KS_ERR_CONFLICT, "version",
			       "the case changed meanwhile (version %lld, not %lld): reload and retry",
			       (long long)version, (long long)p->version);
	const char *to = p->has_status ? p->status : status;
	if (!sq_status_known(to))
		return ks_fail(e, KS_ERR_INVALID, "status", "status must be new, contacted, resolved or closed");
	if (!sq_status_step(status, to))
		return ks_fail(e, KS_ERR_INVALID, "status", "a case cannot go from %s to %s", status, to);
	if (p->has_owner && p->owner_user_id) {
		bool found = false;
		err = sq_row_exists(c, "users", p->owner_user_id, &found, e);
		if (!err && !found)
			err = ks_fail(e, KS_ERR_REF, "owner_user_id", "owner_user_id %lld does not exist",
				      (long long)p->owner_user_id);
		if (err)
			return err;
	}
	err = sq_cprep(c,
		       "UPDATE cases SET status = ?3,"
		       " closed_at = CASE WHEN ?3 = 'closed' THEN coalesce(closed_at, ?4)"
		       "  WHEN ?3 = 'new' THEN NULL ELSE closed_at END,"
		       " owner_user_id = CASE WHEN ?5 THEN ?6 ELSE owner_user_id END,"
		       " root_cause = CASE WHEN ?7 THEN ?8 ELSE root_cause END,"
		       " outcome = CASE WHEN ?9 THEN ?10 ELSE outcome END,"
		       " version = version + 1, updated_at = ?4"
		       " WHERE id = ?1 AND version = ?2",
		       &st, e);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, p->version);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int(st, 5, p->has_owner);
	sq_bind_id(st, 6, p->owner_user_id);
	sqlite3_bind_int(st, 7, p->has_root_cause);
	if (p->root_cause)
		sqlite3_bind_text(st, 8, p->root_cause, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, p->has_outcome);
	if (p->outcome)
		sqlite3_bind_text(st, 10, p->outcome, -1, SQLITE_STATIC);
	err = sq_cstep(c, st, e);
	if (err == KS_ERR_CONFLICT) /* reopened while another case of the rule is open */
		return ks_fail(e, KS_ERR_CONFLICT, "status",
			       "the customer already has an open case for this rule");
	if (!err && sqlite3_changes(c->db) != 1)
		err = ks_fail(e, KS_ERR_CONFLICT, "version", "the case changed meanwhile: reload and retry");
	return err;
}

ks_err store_case_update(ks_store *s, int64_t id, const store_case_patch *p, int64_t now, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err) {
		err = sq_case_apply(s, c, id, p, now, e);
		if (!err)
			err = sq_exec(c, "COMMIT", e);
		if (err)
			sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	sq_release(s, c);
	return err;
}

ks_err store_case_note_add(ks_store *s, int64_t case_id, int64_t user_id, const char *text,
			   int64_t now, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	sqlite3_stmt *st = NULL;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	bool begun = !err;
	if (!err)
		err = sq_cprep(c, "UPDATE cases SET updated_at = ?2 WHERE id = ?1", &st, e);
	if (!err) {
		sqlite3_bind_int64(st, 1, case_id);
		sqlite3_bind_int64(st, 2, now);
		err = sq_cstep(c, st, e);
	}
	if (!err && sqlite3_changes(c->db) != 1)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "case %lld not found", (long long)case_id);
	if (!err)
		err = sq_cprep(c, "INSERT INTO case_notes (case_id, user_id, text, created_at)"
				  " VALUES (?1, ?2, ?3, ?4)",
			       &st, e);
	int64_t note_id = 0;
	if (!err) {
		sqlite3_bind_int64(st, 1, case_id);
		sq_bind_id(st, 2, user_id);
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		err = sq_cstep(c, st, e);
		note_id = sqlite3_last_insert_rowid(c->db);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err && begun)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sq_release(s, c);
	if (err)
		return err;
	*out = json_pack("{s:I, s:I, s:o, s:s, s:o}", "id", (json_int_t)note_id, "case_id",
			 (json_int_t)case_id, "user_id", sq_opt_id(user_id), "text", text, "created_at",
			 sq_iso_or_null(now));
	return KS_OK;
}
