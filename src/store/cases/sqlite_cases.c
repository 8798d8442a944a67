/* sqlite_cases.c — the closed loop (issue 6): alert rules, cases opened by
 * them when a response arrives, their status flow with optimistic
 * concurrency, and notes. See store.h, "cases", and docs/API.md,
 * "Cases (closed loop)".
 *
 * Cases are opened by the group-commit writer in the transaction of the
 * response (sq_cases_for_response), so a response never commits without its
 * cases or the other way round. A partial UNIQUE index (customer_id, rule)
 * over open cases (new, contacted) keeps one open case per customer and
 * rule; a later response that fires the same rule is added to it.
 */
#include "store/sqlite_int.h"
#include "core/utf8.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases/flow.h"
#include "cases/sla.h"

/* ---- alert rules ------------------------------------------------------------------ */

/* The same columns as the writer's cached SQ_ALERT_RULES. */
#define SQ_RULE_COLS                                                                     \
	"id, kind, threshold, coalesce(words, ''), sla_hours, enabled, coalesce(updated_at, 0)," \
	" coalesce(window_days, 0), working_days"

static void sq_rule_row(db_stmt *st, store_alert_rule *r)
{
	memset(r, 0, sizeof *r);
	r->id = db_column_int64(st, 0);
	snprintf(r->kind, sizeof r->kind, "%s", sq_ctext(st, 1));
	r->has_threshold = db_column_type(st, 2) != DB_NULL;
	r->threshold = db_column_int(st, 2);
	snprintf(r->words, sizeof r->words, "%s", sq_ctext(st, 3));
	r->sla_hours = db_column_int(st, 4);
	r->enabled = db_column_int(st, 5) != 0;
	r->updated_at = db_column_int64(st, 6);
	r->window_days = db_column_int(st, 7);
	r->working_days = db_column_int(st, 8) != 0;
}

json_t *store_alert_rule_json(const store_alert_rule *r)
{
	return json_pack("{s:I, s:s, s:o, s:o, s:o, s:i, s:b, s:b, s:o}", "id", (json_int_t)r->id,
			 "kind", r->kind, "threshold",
			 r->has_threshold ? json_integer(r->threshold) : json_null(), "words",
			 r->words[0] ? json_string(r->words) : json_null(), "window_days",
			 r->window_days ? json_integer(r->window_days) : json_null(), "sla_hours",
			 r->sla_hours, "working_days", r->working_days, "enabled", r->enabled,
			 "updated_at", sq_iso_or_null(r->updated_at));
}

ks_err store_alert_rule_list(ks_store *s, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_RULE_COLS " FROM alert_rules ORDER BY id", &st, e);
	json_t *items = err ? NULL : json_array();
	int rc = DB_DONE;
	while (!err && (rc = db_step(st)) == DB_ROW) {
		store_alert_rule r;
		sq_rule_row(st, &r);
		json_array_append_new(items, store_alert_rule_json(&r));
	}
	if (!err && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
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
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_RULE_COLS " FROM alert_rules WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		sq_rule_row(st, out);
	else if (rc == DB_DONE)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "alert rule %lld not found", (long long)id);
	else
		err = sq_fail(c, rc, e);
	db_finalize(st);
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
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "UPDATE alert_rules SET threshold = ?2, words = ?3, sla_hours = ?4,"
			      " enabled = ?5, updated_at = ?6, window_days = ?7, working_days = ?8"
			      " WHERE id = ?1",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, r->id);
		if (r->has_threshold)
			db_bind_int(st, 2, r->threshold);
		if (r->words[0])
			db_bind_text(st, 3, r->words, -1, DB_STATIC);
		db_bind_int(st, 4, r->sla_hours);
		db_bind_int(st, 5, r->enabled ? 1 : 0);
		db_bind_int64(st, 6, r->updated_at);
		if (r->window_days)
			db_bind_int(st, 7, r->window_days);
		db_bind_int(st, 8, r->working_days ? 1 : 0);
		err = sq_cstep(c, st, e);
	}
	if (!err && db_changes(c->db) != 1)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "alert rule %lld not found", (long long)r->id);
	sq_release(s, c);
	return err;
}

/* ---- opening cases (the writer, inside the response's savepoint) -------------------- */

/* Does the lower-cased text contain one of the comma-separated words?
 * The first match goes to hit (for the reason). */
static bool sq_words_match(const char *lower, const char *words, char *hit, size_t hit_n)
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
			if (strstr(lower, w)) {
				snprintf(hit, hit_n, "%s", w);
				return true;
			}
		}
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}

/* A rule that fired on a response, with its reason in both UI languages
 * (written once: a later change of the threshold must not rewrite why a
 * case was opened). */
typedef struct sq_fired {
	store_alert_rule r;
	char en[160], nl[160];
} sq_fired;

/* ---- the writer's per-transaction memory (issue 18, INGEST) ---------------------------
 * The group-commit writer runs the closed loop for every response of a
 * batch inside one transaction. What each of them would read alike — the
 * enabled alert rules, a team's lead, the manager a new case is announced
 * to — is read once per transaction into an sq_case_cache, which
 * sq_write_batch makes before BEGIN and frees after COMMIT or ROLLBACK.
 *
 * Why it cannot be stale: nothing in it outlives the transaction, and the
 * writer's transaction writes no alert rules and no users. On SQLite the
 * writer holds the write lock (BEGIN IMMEDIATE) for the whole batch, so no
 * other connection or process can change them before the cache is gone.
 * On PostgreSQL (READ COMMITTED, several nodes) a rule or user change
 * another node commits while a batch runs is used from the next batch on
 * (milliseconds later): the batch behaves as if its responses had been
 * handled just before that change, as they would have been had they
 * arrived a moment sooner. So no version row or change_feed entry is
 * needed to invalidate it across nodes. Callers outside the writer pass
 * no cache and read everything fresh, as before. */

#define SQ_CC_RULES 16 /* seeded: one rule per kind; more rows = no caching */
#define SQ_CC_TEAMS 8  /* teams remembered per transaction; more = read fresh */

typedef struct sq_cc_team {
	int64_t team_id;
	bool has_lead, has_manager;
	int64_t lead, manager;
} sq_cc_team;

struct sq_case_cache {
	bool rules_loaded; /* rules[0..n_rules) are every enabled rule, in id order */
	int n_rules;
	store_alert_rule rules[SQ_CC_RULES];
	int n_teams;
	sq_cc_team teams[SQ_CC_TEAMS];
};

sq_case_cache *sq_case_cache_new(void)
{
	return calloc(1, sizeof(sq_case_cache));
}

void sq_case_cache_free(sq_case_cache *cc)
{
	free(cc);
}

/* The team's entry in cc, made when there is room; NULL: read fresh. */
static sq_cc_team *sq_cc_team_of(sq_case_cache *cc, int64_t team_id)
{
	if (cc == NULL)
		return NULL;
	for (int i = 0; i < cc->n_teams; i++)
		if (cc->teams[i].team_id == team_id)
			return &cc->teams[i];
	if (cc->n_teams == SQ_CC_TEAMS)
		return NULL;
	sq_cc_team *t = &cc->teams[cc->n_teams++];
	memset(t, 0, sizeof *t);
	t->team_id = team_id;
	return t;
}

/* Does rule f->r fire on response x by its own answers? repeat_low also
 * needs the customer's history: the caller checks that (sq_repeat_low). */
static bool sq_rule_fires(sq_fired *f, const model_response *x, const char *lower)
{
	const store_alert_rule *r = &f->r;
	char word[128];
	if (strcmp(r->kind, "nps_max") == 0 && r->has_threshold && x->nps >= 0 && x->nps <= r->threshold) {
		snprintf(f->en, sizeof f->en, "NPS %d (at most %d)", x->nps, r->threshold);
		snprintf(f->nl, sizeof f->nl, "NPS %d (hoogstens %d)", x->nps, r->threshold);
		return true;
	}
	if (strcmp(r->kind, "grade_max") == 0 && r->has_threshold && x->grade >= 0 &&
	    x->grade <= r->threshold) {
		snprintf(f->en, sizeof f->en, "grade %d (at most %d)", x->grade, r->threshold);
		snprintf(f->nl, sizeof f->nl, "cijfer %d (hoogstens %d)", x->grade, r->threshold);
		return true;
	}
	if (strcmp(r->kind, "ces_max") == 0 && r->has_threshold && x->ces >= 0 && x->ces <= r->threshold) {
		snprintf(f->en, sizeof f->en, "CES %d (at most %d)", x->ces, r->threshold);
		snprintf(f->nl, sizeof f->nl, "CES %d (hoogstens %d)", x->ces, r->threshold);
		return true;
	}
	if (strcmp(r->kind, "words") == 0 && lower && r->words[0] &&
	    sq_words_match(lower, r->words, word, sizeof word)) {
		/* a word is up to 127 bytes: its first 100 at a character boundary
		 * (%.100s could split one, and the case's reason would be no JSON) */
		char shown[101];
		utf8_copy(shown, sizeof shown, word);
		snprintf(f->en, sizeof f->en, "signal word \"%s\" in the open answer", shown);
		snprintf(f->nl, sizeof f->nl, "signaalwoord \"%s\" in het open antwoord", shown);
		return true;
	}
	if (strcmp(r->kind, "repeat_low") == 0 && r->has_threshold && r->window_days > 0 && x->nps >= 0 &&
	    x->nps <= r->threshold) {
		snprintf(f->en, sizeof f->en, "second NPS of at most %d within %d days", r->threshold,
			 r->window_days);
		snprintf(f->nl, sizeof f->nl, "tweede NPS van hoogstens %d binnen %d dagen", r->threshold,
			 r->window_days);
		return true;
	}
	return false;
}

/* repeat_low: did the customer give another NPS <= threshold in the
 * window_days before x? */
static ks_err sq_repeat_low(sq_conn *c, const store_alert_rule *r, const model_response *x, bool *fires,
			    ks_error *e)
{
	*fires = false;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT 1 FROM responses WHERE customer_id = ?1 AND id <> ?2 AND nps <= ?3"
			      " AND received_at >= ?4 AND received_at <= ?5 LIMIT 1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, x->customer_id);
	db_bind_int64(st, 2, x->id);
	db_bind_int(st, 3, r->threshold);
	db_bind_int64(st, 4, x->received_at - (int64_t)r->window_days * 86400);
	db_bind_int64(st, 5, x->received_at);
	int64_t one = 0;
	err = sq_cfirst(c, st, &one, e);
	*fires = one != 0;
	return err;
}

/* The team lead of a team (lowest user id), 0 when there is none. */
static ks_err sq_team_lead(sq_conn *c, sq_case_cache *cc, int64_t team_id, int64_t *owner, ks_error *e)
{
	*owner = 0;
	if (team_id == 0)
		return KS_OK;
	sq_cc_team *t = sq_cc_team_of(cc, team_id);
	if (t && t->has_lead) {
		*owner = t->lead;
		return KS_OK;
	}
	ks_err err = sq_one_id(c,
			       "SELECT id FROM users WHERE role = 'team_lead' AND unit_id = ?1"
			       " AND disabled = 0 ORDER BY id LIMIT 1",
			       team_id, owner, e);
	if (!err && t) {
		t->lead = *owner;
		t->has_lead = true;
	}
	return err;
}

/* The parent of org unit `unit`; *has false when the unit is unknown or
 * has none. */
static ks_err sq_unit_parent(sq_conn *c, int64_t unit, int64_t *parent, bool *has, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT parent_id FROM org_units WHERE id = ?1 AND parent_id IS NOT NULL", &st,
			      e);
	if (err)
		return err;
	db_bind_int64(st, 1, unit);
	int rc = db_step(st);
	*has = rc == DB_ROW;
	*parent = *has ? db_column_int64(st, 0) : 0;
	if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

/* The nearest manager at or above the team: the team's own (lowest user
 * id), else its parent unit's, and so on up; else the first director.
 * Walked a unit at a time (issue 18, INGEST): one recursive query with
 * ORDER BY built two temporary tables per call, several times the cost
 * of these keyed look-ups. The bound only guards against a cycle in
 * org_units, which the API does not let one make. */
ks_err sq_case_manager(sq_conn *c, int64_t team_id, int64_t *manager, ks_error *e)
{
	*manager = 0;
	int64_t unit = team_id;
	bool up = true;
	ks_err err = KS_OK;
	for (int depth = 0; !err && up && *manager == 0 && depth < 10000; depth++) {
		err = sq_one_id(c,
				"SELECT id FROM users WHERE role = 'manager' AND unit_id = ?1 AND disabled = 0"
				" ORDER BY id LIMIT 1",
				unit, manager, e);
		if (!err && *manager == 0)
			err = sq_unit_parent(c, unit, &unit, &up, e);
	}
	if (!err && *manager == 0)
		err = sq_one_id(c,
				"SELECT id FROM users WHERE role = 'director' AND disabled = 0 AND ?1 = ?1"
				" ORDER BY id LIMIT 1",
				0, manager, e);
	return err;
}

ks_err sq_case_mail_queue(ks_store *s, sq_conn *c, int64_t case_id, const char *kind,
			  int64_t user_id, int64_t customer_id, int64_t now, ks_error *e)
{
	(void)s;
	char token[MODEL_TOKEN_LEN + 1], msgid[128];
	sq_token(token);
	snprintf(msgid, sizeof msgid, "case-%" PRId64 "-%s-%s@klantstem", case_id, kind, token);
	db_stmt *st = NULL;
	/* The address is read now, so a later change of it does not reroute a
	 * queued mail; no row (no user, no e-mail) queues nothing. */
	ks_err err = sq_cprep(c,
			      "INSERT INTO case_mails (case_id, kind, to_email, language, next_attempt_at,"
			      " message_id, created_at)"
			      " SELECT ?1, ?2, email, language, ?3, ?4, ?3 FROM users"
			      "  WHERE ?5 <> 0 AND id = ?5 AND disabled = 0"
			      " UNION ALL SELECT ?1, ?2, email, language, ?3, ?4, ?3 FROM customers"
			      "  WHERE ?6 <> 0 AND id = ?6 AND email IS NOT NULL AND email <> ''",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, case_id);
	db_bind_text(st, 2, kind, -1, DB_STATIC);
	db_bind_int64(st, 3, now);
	db_bind_text(st, 4, msgid, -1, DB_TRANSIENT);
	db_bind_int64(st, 5, user_id);
	db_bind_int64(st, 6, customer_id);
	return sq_cstep(c, st, e);
}

json_t *sq_case_event(sq_conn *c, int64_t case_id, ks_error *e)
{
	db_stmt *st = NULL;
	if (sq_cprep(c,
		     "SELECT id, customer_id, coalesce(rule, ''), reason, status, coalesce(team_id, 0),"
		     " coalesce(owner_user_id, 0), coalesce(deadline, 0), opened_at,"
		     " coalesce(closed_at, 0), coalesce(escalated_to_user_id, 0), root_cause, outcome"
		     " FROM cases WHERE id = ?1",
		     &st, e))
		return NULL;
	db_bind_int64(st, 1, case_id);
	json_t *o = NULL;
	int rc = db_step(st);
	if (rc == DB_ROW) {
		o = json_object();
		json_object_set_new(o, "case_id", json_integer(db_column_int64(st, 0)));
		json_object_set_new(o, "customer_id", sq_opt_id(db_column_int64(st, 1)));
		json_object_set_new(o, "rule", json_string(sq_ctext(st, 2)));
		json_object_set_new(o, "reason", json_string(sq_ctext(st, 3)));
		json_object_set_new(o, "status", json_string(sq_ctext(st, 4)));
		json_object_set_new(o, "team_id", sq_opt_id(db_column_int64(st, 5)));
		json_object_set_new(o, "owner_user_id", sq_opt_id(db_column_int64(st, 6)));
		json_object_set_new(o, "deadline", sq_iso_or_null(db_column_int64(st, 7)));
		json_object_set_new(o, "opened_at", sq_iso_or_null(db_column_int64(st, 8)));
		json_object_set_new(o, "closed_at", sq_iso_or_null(db_column_int64(st, 9)));
		json_object_set_new(o, "escalated_to_user_id", sq_opt_id(db_column_int64(st, 10)));
		json_object_set_new(o, "root_cause", sq_opt_text(st, 11));
		json_object_set_new(o, "outcome", sq_opt_text(st, 12));
	} else {
		ks_fail(e, rc == DB_DONE ? KS_ERR_NOTFOUND : KS_ERR_DB, NULL, "case %" PRId64 " not readable",
			case_id);
	}
	db_finalize(st);
	return o;
}

/* sq_case_manager through the writer's per-transaction cache. */
static ks_err sq_cc_manager(sq_conn *c, sq_case_cache *cc, int64_t team_id, int64_t *manager, ks_error *e)
{
	sq_cc_team *t = sq_cc_team_of(cc, team_id);
	if (t && t->has_manager) {
		*manager = t->manager;
		return KS_OK;
	}
	ks_err err = sq_case_manager(c, team_id, manager, e);
	if (!err && t) {
		t->manager = *manager;
		t->has_manager = true;
	}
	return err;
}

/* A new case was opened: tell its owner (or, for the team's queue, the
 * manager above it) and the webhook listeners. */
static ks_err sq_case_announce(ks_store *s, sq_conn *c, sq_case_cache *cc, int64_t case_id, int64_t team_id,
			       int64_t owner, int64_t now, ks_error *e)
{
	int64_t to = owner;
	ks_err err = to ? KS_OK : sq_cc_manager(c, cc, team_id, &to, e);
	if (!err && to)
		err = sq_case_mail_queue(s, c, case_id, "opened", to, 0, now, e);
	if (!err && s->webhooks) {
		json_t *ev = sq_case_event(c, case_id, e);
		err = ev ? sq_webhook_queue(s, c, "case.opened", ev, e) : KS_ERR_DB;
	}
	return err;
}

static void sq_bind_opt_text(db_stmt *st, int i, const char *v)
{
	if (v)
		db_bind_text(st, i, v, -1, DB_TRANSIENT);
}

ks_err sq_case_history(sq_conn *c, const sq_hist *h, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO case_history (case_id, at, kind, user_id, rule, response_id,"
			      " from_status, to_status, other_case_id, detail)"
			      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, h->case_id);
	db_bind_int64(st, 2, h->at);
	db_bind_text(st, 3, h->kind, -1, DB_STATIC);
	sq_bind_id(st, 4, h->user_id);
	sq_bind_opt_text(st, 5, h->rule);
	sq_bind_id(st, 6, h->response_id);
	sq_bind_opt_text(st, 7, h->from_status);
	sq_bind_opt_text(st, 8, h->to_status);
	sq_bind_id(st, 9, h->other_case_id);
	sq_bind_opt_text(st, 10, h->detail);
	return sq_cstep(c, st, e);
}

ks_err sq_case_priority(sq_conn *c, int64_t case_id, int64_t at, ks_error *e)
{
	int64_t before = 0, after = 0;
	ks_err err = sq_one_id(c, "SELECT priority FROM cases WHERE id = ?1", case_id, &before, e);
	if (!err)
		err = sq_one_id(c,
				"UPDATE cases SET priority = 1 + (SELECT count(DISTINCT t.rule) FROM case_triggers t"
				" WHERE t.case_id = ?1 AND t.rule IN ('repeat_low','words')) WHERE id = ?1"
				" RETURNING priority",
				case_id, &after, e);
	if (err || after <= before)
		return err;
	char detail[48]; /* two int64 and ">" */
	snprintf(detail, sizeof detail, "%" PRId64 ">%" PRId64, before, after);
	sq_hist h = {.case_id = case_id, .at = at, .kind = "priority", .detail = detail};
	return sq_case_history(c, &h, e);
}

/* The priority sq_case_priority computes for a case whose triggers are
 * exactly the rules in f: 1 + the distinct kinds among them that raise it
 * (repeat_low, words). A new case has no other triggers, so its priority
 * is known without reading them back (issue 18, INGEST). */
static int sq_fired_priority(const sq_fired *f, int n)
{
	bool repeat = false, words = false;
	for (int i = 0; i < n; i++) {
		repeat |= strcmp(f[i].r.kind, "repeat_low") == 0;
		words |= strcmp(f[i].r.kind, "words") == 0;
	}
	return 1 + (repeat ? 1 : 0) + (words ? 1 : 0);
}

/* A new case's triggers, history and response, in three statements
 * instead of one per row (issue 18, INGEST): the triggers are f (distinct
 * kinds: alert_rules.kind is UNIQUE, so none is ignored as a repeat), and
 * the history is what sq_case_insert, sq_case_triggers_add and
 * sq_case_priority write for them, in that order — "opened" (the first
 * rule), a "trigger" line per rule, and "priority" 1>N when the rules
 * raised it (sq_case_insert wrote N into the row). */
static ks_err sq_case_fresh_rows(sq_conn *c, int64_t case_id, const sq_fired *f, int n,
				 const model_response *x, int priority, ks_error *e)
{
	char sql[1024];
	size_t k = (size_t)snprintf(sql, sizeof sql,
				    "INSERT INTO case_triggers (case_id, rule, response_id, reason_en,"
				    " reason_nl, created_at) VALUES");
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(sql + k, sizeof sql - k, "%s (?1, ?%d, ?2, ?%d, ?%d, ?3)",
				      i ? "," : "", 4 + 3 * i, 5 + 3 * i, 6 + 3 * i);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, case_id);
	db_bind_int64(st, 2, x->id);
	db_bind_int64(st, 3, x->received_at);
	for (int i = 0; i < n; i++) {
		db_bind_text(st, 4 + 3 * i, f[i].r.kind, -1, DB_STATIC);
		db_bind_text(st, 5 + 3 * i, f[i].en, -1, DB_STATIC);
		db_bind_text(st, 6 + 3 * i, f[i].nl, -1, DB_STATIC);
	}
	if ((err = sq_cstep(c, st, e)))
		return err;

	/* ?1 case, ?2 at, ?3 response, ?4 the priority's detail, ?5.. the rules */
	k = (size_t)snprintf(sql, sizeof sql,
			     "INSERT INTO case_history (case_id, at, kind, rule, response_id, detail)"
			     " VALUES (?1, ?2, 'opened', ?5, ?3, NULL)");
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(sql + k, sizeof sql - k, ", (?1, ?2, 'trigger', ?%d, ?3, NULL)", 5 + i);
	if (priority > 1)
		snprintf(sql + k, sizeof sql - k, ", (?1, ?2, 'priority', NULL, NULL, ?4)");
	if ((err = sq_cprep(c, sql, &st, e)))
		return err;
	char detail[24];
	snprintf(detail, sizeof detail, "1>%d", priority);
	db_bind_int64(st, 1, case_id);
	db_bind_int64(st, 2, x->received_at);
	db_bind_int64(st, 3, x->id);
	if (priority > 1)
		db_bind_text(st, 4, detail, -1, DB_TRANSIENT);
	for (int i = 0; i < n; i++)
		db_bind_text(st, 5 + i, f[i].r.kind, -1, DB_STATIC);
	if ((err = sq_cstep(c, st, e)))
		return err;

	if ((err = sq_cprep(c, "INSERT INTO case_responses (case_id, response_id) VALUES (?1, ?2)", &st, e)))
		return err;
	db_bind_int64(st, 1, case_id);
	db_bind_int64(st, 2, x->id);
	return sq_cstep(c, st, e);
}

/* Open the customer's one case for the rules that fired on x (the first
 * rule names it; the deadline is the earliest of their SLAs), with its
 * triggers, history and priority (sq_case_fresh_rows). */
static ks_err sq_case_insert(ks_store *s, sq_conn *c, sq_case_cache *cc, const sq_fired *f, int n,
			     const model_response *x, bool notify, int64_t *case_id, ks_error *e)
{
	int64_t owner = 0, deadline = 0;
	for (int i = 0; i < n; i++) {
		int64_t d = cases_deadline(x->received_at, f[i].r.sla_hours, f[i].r.working_days);
		if (deadline == 0 || d < deadline)
			deadline = d;
	}
	ks_err err = sq_team_lead(c, cc, x->team_id, &owner, e);
	db_stmt *st = NULL;
	if (!err)
		err = sq_cprep(c,
			       "INSERT INTO cases (customer_id, reason, status, opened_at, rule, response_id,"
			       " team_id, owner_user_id, deadline, version, updated_at, consent, priority)"
			       " VALUES (?1, ?2, 'new', ?3, ?4, ?5, ?6, ?7, ?8, 1, ?3, ?9, ?10)",
			       &st, e);
	if (err)
		return err;
	sq_bind_id(st, 1, x->customer_id);
	db_bind_text(st, 2, f[0].en, -1, DB_STATIC);
	db_bind_int64(st, 3, x->received_at);
	db_bind_text(st, 4, f[0].r.kind, -1, DB_STATIC);
	db_bind_int64(st, 5, x->id);
	sq_bind_id(st, 6, x->team_id);
	sq_bind_id(st, 7, owner);
	db_bind_int64(st, 8, deadline);
	if (x->contact_consent >= 0)
		db_bind_int(st, 9, x->contact_consent);
	int priority = sq_fired_priority(f, n);
	db_bind_int(st, 10, priority);
	err = sq_cstep(c, st, e);
	if (err)
		return err;
	*case_id = db_last_insert_rowid(c->db);
	err = sq_case_fresh_rows(c, *case_id, f, n, x, priority, e);
	if (!err && notify)
		err = sq_case_announce(s, c, cc, *case_id, x->team_id, owner, x->received_at, e);
	return err;
}

/* x joins the customer's open case: its consent is the latest answer. The
 * deadline stays as it was promised (a repeat raises the priority, it
 * does not move the date under the owner's feet). */
static ks_err sq_case_join(sq_conn *c, int64_t case_id, const model_response *x, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "UPDATE cases SET updated_at = ?2, consent = coalesce(?3, consent) WHERE id = ?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, case_id);
	db_bind_int64(st, 2, x->received_at);
	if (x->contact_consent >= 0)
		db_bind_int(st, 3, x->contact_consent);
	return sq_cstep(c, st, e);
}

/* Each rule that fired is a trigger on the case (once per rule and
 * response) and a line in its history; then the priority follows them. */
static ks_err sq_case_triggers_add(sq_conn *c, int64_t case_id, const sq_fired *f, int n,
				   const model_response *x, ks_error *e)
{
	ks_err err = KS_OK;
	for (int i = 0; !err && i < n; i++) {
		db_stmt *st = NULL;
		err = sq_cprep(c,
			       "INSERT OR IGNORE INTO case_triggers (case_id, rule, response_id, reason_en,"
			       " reason_nl, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       &st, e);
		if (err)
			break;
		db_bind_int64(st, 1, case_id);
		db_bind_text(st, 2, f[i].r.kind, -1, DB_STATIC);
		db_bind_int64(st, 3, x->id);
		db_bind_text(st, 4, f[i].en, -1, DB_STATIC);
		db_bind_text(st, 5, f[i].nl, -1, DB_STATIC);
		db_bind_int64(st, 6, x->received_at);
		err = sq_cstep(c, st, e);
		if (!err && db_changes(c->db) == 1) {
			sq_hist h = {.case_id = case_id, .at = x->received_at, .kind = "trigger",
				     .rule = f[i].r.kind, .response_id = x->id};
			err = sq_case_history(c, &h, e);
		}
	}
	if (err)
		return err;
	db_stmt *st = NULL;
	err = sq_cprep(c, "INSERT OR IGNORE INTO case_responses (case_id, response_id) VALUES (?1, ?2)", &st,
		       e);
	if (err)
		return err;
	db_bind_int64(st, 1, case_id);
	db_bind_int64(st, 2, x->id);
	err = sq_cstep(c, st, e);
	return err ? err : sq_case_priority(c, case_id, x->received_at, e);
}

/* Read every enabled rule into cc once per transaction; with more than
 * fit, cc stays unloaded and each response reads them itself. */
static ks_err sq_cc_rules_load(sq_conn *c, sq_case_cache *cc, ks_error *e)
{
	db_stmt *st = sq_stmt(c, SQ_ALERT_RULES, e);
	if (st == NULL)
		return KS_ERR_DB;
	int rc, n = 0;
	while ((rc = db_step(st)) == DB_ROW && n < SQ_CC_RULES)
		sq_rule_row(st, &cc->rules[n++]);
	ks_err err = KS_OK;
	if (rc == DB_DONE) {
		cc->n_rules = n;
		cc->rules_loaded = true;
	} else if (rc != DB_ROW) {
		err = sq_fail(c, rc, e);
	}
	db_reset(st);
	return err;
}

/* The rules that fire on x, into f (at most max); from cc's rules when it
 * holds them. */
static ks_err sq_rules_fired(sq_conn *c, sq_case_cache *cc, const model_response *x, sq_fired *f, int max,
			     int *n, ks_error *e)
{
	*n = 0;
	if (cc && !cc->rules_loaded) {
		ks_err err = sq_cc_rules_load(c, cc, e);
		if (err)
			return err;
	}
	bool cached = cc && cc->rules_loaded;
	/* Runs for every new response in the writer: a cached statement. */
	db_stmt *st = cached ? NULL : sq_stmt(c, SQ_ALERT_RULES, e);
	if (!cached && st == NULL)
		return KS_ERR_DB;
	char *lower = NULL;
	if (x->open_text && x->open_text[0]) {
		lower = strdup(x->open_text);
		if (lower == NULL)
			return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	int rc = DB_DONE;
	ks_err err = KS_OK;
	if (cached) {
		for (int i = 0; i < cc->n_rules && *n < max; i++) {
			f[*n].r = cc->rules[i];
			if (sq_rule_fires(&f[*n], x, lower))
				(*n)++;
		}
	} else {
		while (*n < max && (rc = db_step(st)) == DB_ROW) {
			sq_rule_row(st, &f[*n].r);
			if (sq_rule_fires(&f[*n], x, lower))
				(*n)++;
		}
		if (*n < max && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_reset(st);
	}
	free(lower);
	/* repeat_low also needs the customer's history */
	for (int i = 0; !err && i < *n; i++) {
		bool fires = true;
		if (strcmp(f[i].r.kind, "repeat_low") == 0)
			err = sq_repeat_low(c, &f[i].r, x, &fires, e);
		if (!err && !fires) {
			memmove(&f[i], &f[i + 1], (size_t)(*n - i - 1) * sizeof *f);
			(*n)--;
			i--;
		}
	}
	return err;
}

ks_err sq_cases_for_response(ks_store *s, sq_conn *c, const model_response *x, bool notify,
			     ks_error *e)
{
	return sq_cases_for_response_in(s, c, x, notify, NULL, e);
}

ks_err sq_cases_for_response_in(ks_store *s, sq_conn *c, const model_response *x, bool notify,
				sq_case_cache *cc, ks_error *e)
{
	if (x->id == 0)
		return KS_OK;
	sq_fired f[8];
	int n = 0;
	ks_err err = sq_rules_fired(c, cc, x, f, 8, &n, e);
	if (err || n == 0)
		return err;
	/* An answer without a known customer (an open link) is a case of its
	 * own: nothing tells whose other answers it could join. */
	int64_t case_id = 0;
	if (x->customer_id)
		err = sq_one_id(c, "SELECT id FROM cases WHERE customer_id = ?1 AND status IN ('new','contacted')",
				x->customer_id, &case_id, e);
	if (err)
		return err;
	if (case_id == 0)
		return sq_case_insert(s, c, cc, f, n, x, notify, &case_id, e);
	err = sq_case_join(c, case_id, x, e);
	return err ? err : sq_case_triggers_add(c, case_id, f, n, x, e);
}

/* ---- replaying stored responses ------------------------------------------------------ */

static void sq_replay_row(db_stmt *st, model_response *x)
{
	model_response_init(x);
	x->id = db_column_int64(st, 0);
	x->customer_id = db_column_int64(st, 1);
	x->team_id = db_column_int64(st, 2);
	x->nps = db_column_type(st, 3) == DB_NULL ? -1 : db_column_int(st, 3);
	x->grade = db_column_type(st, 4) == DB_NULL ? -1 : db_column_int(st, 4);
	x->ces = db_column_type(st, 5) == DB_NULL ? -1 : db_column_int(st, 5);
	x->open_text = (const char *)db_column_text(st, 6);
	x->received_at = db_column_int64(st, 7);
	x->contact_consent = db_column_type(st, 8) == DB_NULL ? -1 : db_column_int(st, 8);
}

ks_err store_case_replay(ks_store *s, int64_t since, int *n, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	*n = 0;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	bool begun = !err;
	if (!err)
		err = sq_cprep(c,
			       "SELECT id, coalesce(customer_id, 0), coalesce(team_id, 0), nps, grade, ces,"
			       " open_text, received_at, contact_consent FROM responses"
			       " WHERE received_at >= ?1"
			       " AND id NOT IN (SELECT response_id FROM case_responses) ORDER BY received_at, id",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, since);
		int rc;
		while (!err && (rc = db_step(st)) == DB_ROW) {
			model_response x;
			sq_replay_row(st, &x);
			err = sq_cases_for_response(s, c, &x, false, e);
		}
		if (!err && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	if (!err) {
		int64_t total = 0;
		err = sq_one_id(c, "SELECT count(*) FROM cases WHERE opened_at >= ?1", since, &total, e);
		*n = (int)total;
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err && begun)
		db_exec(c->db, "ROLLBACK");
	sq_release(s, c);
	return err;
}

/* ---- reading cases ------------------------------------------------------------------ */

json_t *sq_opt_text(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null()
							 : json_string(sq_ctext(st, i));
}

json_t *sq_opt_id(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

static json_t *sq_opt_bool(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null()
							 : json_boolean(db_column_int(st, i) != 0);
}

/* Column order of sq_case_row; names joined in for the inbox. */
#define SQ_CASE_COLS                                                                               \
	"c.id, c.customer_id, coalesce(c.rule, ''), c.reason, c.status, c.opened_at,"               \
	" coalesce(c.closed_at, 0), coalesce(c.response_id, 0), coalesce(c.team_id, 0),"            \
	" coalesce(c.owner_user_id, 0), coalesce(c.deadline, 0), c.version, c.root_cause,"          \
	" c.outcome, c.consent, coalesce(c.updated_at, c.opened_at), cu.name, ou.name, t.name,"     \
	" coalesce(c.first_contact_at, 0), coalesce(c.resolved_at, 0), coalesce(c.escalated_at, 0)," \
	" coalesce(c.escalated_to_user_id, 0), c.relationship_restored, c.customer_retained,"       \
	" c.customer_message, c.customer_message_status, coalesce(c.resurvey_invitation_id, 0),"    \
	" c.priority, " SQ_CASE_REASON_IN("?20") ","                                              \
	" (SELECT group_concat(rule) FROM (SELECT DISTINCT t2.rule FROM case_triggers t2"            \
	"  WHERE t2.case_id = c.id ORDER BY t2.rule))"
#define SQ_CASE_FROM                                                                  \
	" FROM cases c LEFT JOIN customers cu ON cu.id = c.customer_id"                \
	" LEFT JOIN users ou ON ou.id = c.owner_user_id LEFT JOIN org_units t ON t.id = c.team_id"

static void sq_case_set_time(json_t *o, const char *name, db_stmt *st, int i)
{
	json_object_set_new(o, name, sq_iso_or_null(db_column_int64(st, i)));
}

static const char *sq_priority_name(int p)
{
	return p >= 3 ? "urgent" : p == 2 ? "high" : "normal";
}

/* "nps_max,words" -> ["nps_max","words"] */
static json_t *sq_split_rules(const char *csv)
{
	json_t *a = json_array();
	while (*csv) {
		const char *end = strchr(csv, ',');
		size_t n = end ? (size_t)(end - csv) : strlen(csv);
		if (n)
			json_array_append_new(a, json_stringn(csv, n));
		if (!end)
			break;
		csv = end + 1;
	}
	return a;
}

static json_t *sq_case_row(db_stmt *st, int64_t now)
{
	const char *status = sq_ctext(st, 4);
	int64_t deadline = db_column_int64(st, 10);
	bool no_consent = db_column_type(st, 14) != DB_NULL && db_column_int(st, 14) == 0;
	const char *rule = sq_ctext(st, 2);
	const char *next[5];
	cases_status_next(status, no_consent, next);
	json_t *nexts = json_array();
	for (int i = 0; next[i]; i++)
		json_array_append_new(nexts, json_string(next[i]));
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(db_column_int64(st, 0)));
	json_object_set_new(o, "customer_id", sq_opt_id(db_column_int64(st, 1)));
	json_object_set_new(o, "customer_name", sq_opt_text(st, 16));
	json_object_set_new(o, "rule", rule[0] ? json_string(rule) : json_null());
	json_object_set_new(o, "reason", json_string(sq_ctext(st, 29)));
	json_object_set_new(o, "priority", json_string(sq_priority_name(db_column_int(st, 28))));
	json_object_set_new(o, "rules", sq_split_rules(sq_ctext(st, 30)));
	json_object_set_new(o, "escalated", json_boolean(db_column_int64(st, 21) != 0));
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "next_statuses", nexts);
	sq_case_set_time(o, "opened_at", st, 5);
	sq_case_set_time(o, "closed_at", st, 6);
	json_object_set_new(o, "response_id", sq_opt_id(db_column_int64(st, 7)));
	json_object_set_new(o, "team_id", sq_opt_id(db_column_int64(st, 8)));
	json_object_set_new(o, "team_name", sq_opt_text(st, 18));
	json_object_set_new(o, "owner_user_id", sq_opt_id(db_column_int64(st, 9)));
	json_object_set_new(o, "owner_name", sq_opt_text(st, 17));
	json_object_set_new(o, "deadline", sq_iso_or_null(deadline));
	json_object_set_new(o, "overdue", json_boolean(cases_status_open(status) && deadline && deadline < now));
	json_object_set_new(o, "version", json_integer(db_column_int64(st, 11)));
	json_object_set_new(o, "root_cause", sq_opt_text(st, 12));
	json_object_set_new(o, "outcome", sq_opt_text(st, 13));
	json_object_set_new(o, "relationship_restored", sq_opt_bool(st, 23));
	json_object_set_new(o, "customer_retained", sq_opt_bool(st, 24));
	json_object_set_new(o, "consent", sq_opt_bool(st, 14));
	sq_case_set_time(o, "first_contact_at", st, 19);
	sq_case_set_time(o, "resolved_at", st, 20);
	sq_case_set_time(o, "escalated_at", st, 21);
	json_object_set_new(o, "escalated_to_user_id", sq_opt_id(db_column_int64(st, 22)));
	json_object_set_new(o, "customer_message", sq_opt_text(st, 25));
	json_object_set_new(o, "customer_message_status", json_string(sq_ctext(st, 26)));
	json_object_set_new(o, "resurvey_invitation_id", sq_opt_id(db_column_int64(st, 27)));
	sq_case_set_time(o, "updated_at", st, 15);
	return o;
}

/* ?1 unit (with its subtree), ?2 status, ?3 owner, ?4 customer, ?5 overdue
 * at (0 = no), ?6 cursor (the inbox: an offset), ?7 limit, ?8 escalated
 * (0 any, 1 yes, 2 no), ?9 escalated to, ?10 inbox user, ?11 inbox unit,
 * ?12 now, ?13 response; ?20 language. 0 / '' = any. */
static const char *const sq_case_list_sql =
	"WITH RECURSIVE sub(id) AS (SELECT ?1 WHERE ?1 <> 0"
	"  UNION SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id),"
	" mine(id) AS (SELECT ?11 WHERE ?11 <> 0"
	"  UNION SELECT o.id FROM org_units o JOIN mine ON o.parent_id = mine.id)"
	" SELECT " SQ_CASE_COLS SQ_CASE_FROM
	" WHERE (?1 = 0 OR c.team_id IN sub) AND (?2 = '' OR c.status = ?2)"
	" AND (?3 = 0 OR c.owner_user_id = ?3) AND (?4 = 0 OR c.customer_id = ?4)"
	" AND (?5 = 0 OR (c.status IN ('new','contacted') AND c.deadline < ?5))"
	" AND (?8 = 0 OR (?8 = 1 AND c.escalated_at IS NOT NULL AND c.status IN ('new','contacted'))"
	"  OR (?8 = 2 AND c.escalated_at IS NULL))"
	" AND (?9 = 0 OR c.escalated_to_user_id = ?9)"
	" AND (?13 = 0 OR c.id IN (SELECT case_id FROM case_responses WHERE response_id = ?13))"
	" AND (?10 = 0 OR (c.status IN ('new','contacted') AND (c.owner_user_id = ?10"
	"  OR c.escalated_to_user_id = ?10 OR (c.owner_user_id IS NULL AND c.team_id IN mine))))"
	" AND (?10 <> 0 OR c.id > ?6)"
	" ORDER BY CASE WHEN ?10 <> 0 AND c.deadline < ?12 THEN 0 ELSE 1 END,"
	"  CASE WHEN ?10 <> 0 AND c.escalated_to_user_id = ?10 THEN 0 ELSE 1 END,"
	"  CASE WHEN ?10 <> 0 THEN c.deadline ELSE 0 END, c.id"
	" LIMIT ?7 OFFSET CASE WHEN ?10 <> 0 THEN ?6 ELSE 0 END";

static void sq_bind_lang(db_stmt *st, const char *lang)
{
	/* ?20: after every numbered parameter of the statements that read SQ_CASE_COLS */
	db_bind_text(st, 20, lang && strcmp(lang, "en") == 0 ? "en" : "nl", -1, DB_STATIC);
}

ks_err store_case_list(ks_store *s, const store_case_query *q, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sq_case_list_sql, &st, e);
	json_t *items = err ? NULL : json_array();
	int64_t last = 0;
	int n = 0, rc = DB_DONE;
	if (!err) {
		db_bind_int64(st, 1, q->team_id);
		db_bind_text(st, 2, q->status ? q->status : "", -1, DB_STATIC);
		db_bind_int64(st, 3, q->owner_user_id);
		db_bind_int64(st, 4, q->customer_id);
		db_bind_int64(st, 5, q->overdue ? q->now : 0);
		db_bind_int64(st, 6, q->after_id);
		db_bind_int(st, 7, q->limit + 1);
		db_bind_int(st, 8, q->escalated);
		db_bind_int64(st, 9, q->escalated_to);
		db_bind_int64(st, 10, q->inbox_user);
		db_bind_int64(st, 11, q->inbox_unit);
		db_bind_int64(st, 12, q->now);
		db_bind_int64(st, 13, q->response_id);
		sq_bind_lang(st, q->lang);
		while ((rc = db_step(st)) == DB_ROW) {
			if (n == q->limit) {
				n++;
				break;
			}
			last = db_column_int64(st, 0);
			json_array_append_new(items, sq_case_row(st, q->now));
			n++;
		}
		if (rc != DB_ROW && rc != DB_DONE)
			err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	if (q->inbox_user) /* an offset: the inbox is not in id order */
		last = q->after_id + q->limit;
	*out = json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 n > q->limit ? json_integer(last) : json_null());
	return KS_OK;
}

static json_t *sq_note_row(db_stmt *st)
{
	return json_pack("{s:I, s:o, s:o, s:s, s:o}", "id", (json_int_t)db_column_int64(st, 0),
			 "user_id", sq_opt_id(db_column_int64(st, 1)), "user_name",
			 sq_opt_text(st, 4), "text", sq_ctext(st, 2), "created_at",
			 sq_iso_or_null(db_column_int64(st, 3)));
}

static json_t *sq_opt_score_col(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null()
							 : json_integer(db_column_int(st, i));
}

static json_t *sq_case_response_row(db_stmt *st)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_integer(db_column_int64(st, 0)));
	json_object_set_new(o, "received_at", sq_iso_or_null(db_column_int64(st, 1)));
	json_object_set_new(o, "touchpoint_id", sq_opt_id(db_column_int64(st, 2)));
	json_object_set_new(o, "touchpoint_name", sq_opt_text(st, 3));
	json_object_set_new(o, "nps", sq_opt_score_col(st, 4));
	json_object_set_new(o, "grade", sq_opt_score_col(st, 5));
	json_object_set_new(o, "ces", sq_opt_score_col(st, 6));
	json_object_set_new(o, "open_text", sq_opt_text(st, 7));
	json_object_set_new(o, "language", json_string(sq_ctext(st, 8)));
	json_object_set_new(o, "contact_consent", sq_opt_bool(st, 9));
	return o;
}

static json_t *sq_case_customer_row(db_stmt *st)
{
	/* phone (migration 016): null when unknown; the case page calls it */
	return json_pack("{s:I, s:o, s:o, s:s, s:b, s:o}", "id", (json_int_t)db_column_int64(st, 0),
			 "name", sq_opt_text(st, 1), "email", sq_opt_text(st, 2), "language",
			 sq_ctext(st, 3), "opted_out", db_column_type(st, 4) != DB_NULL,
			 "phone", sq_opt_text(st, 5));
}

/* Append every row of "SELECT ... WHERE ... = ?1" to arr (row_fn or
 * column 0 as an integer). */
static ks_err sq_case_children(sq_conn *c, const char *sql, int64_t id, json_t *arr,
			       json_t *(*row_fn)(db_stmt *), ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW)
		json_array_append_new(arr, row_fn ? row_fn(st) : json_integer(db_column_int64(st, 0)));
	if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

static json_t *sq_trigger_row(db_stmt *st)
{
	return json_pack("{s:s, s:o, s:s, s:o}", "rule", sq_ctext(st, 0), "response_id",
			 sq_opt_id(db_column_int64(st, 1)), "reason", sq_ctext(st, 2), "at",
			 sq_iso_or_null(db_column_int64(st, 3)));
}

static json_t *sq_history_row(db_stmt *st)
{
	json_t *o = json_pack("{s:s, s:o, s:o, s:o}", "kind", sq_ctext(st, 0), "at",
			      sq_iso_or_null(db_column_int64(st, 1)), "user_id",
			      sq_opt_id(db_column_int64(st, 2)), "user_name", sq_opt_text(st, 3));
	json_object_set_new(o, "rule", sq_opt_text(st, 4));
	json_object_set_new(o, "response_id", sq_opt_id(db_column_int64(st, 5)));
	json_object_set_new(o, "from_status", sq_opt_text(st, 6));
	json_object_set_new(o, "to_status", sq_opt_text(st, 7));
	json_object_set_new(o, "other_case_id", sq_opt_id(db_column_int64(st, 8)));
	json_object_set_new(o, "detail", sq_opt_text(st, 9));
	return o;
}

static json_t *sq_other_case_row(db_stmt *st)
{
	return json_pack("{s:I, s:s, s:o, s:s}", "id", (json_int_t)db_column_int64(st, 0), "status",
			 sq_ctext(st, 1), "opened_at", sq_iso_or_null(db_column_int64(st, 2)), "reason",
			 sq_ctext(st, 3));
}

static json_t *sq_employee_row(db_stmt *st)
{
	return json_pack("{s:I, s:s, s:o}", "id", (json_int_t)db_column_int64(st, 0), "name",
			 sq_ctext(st, 1), "team_name", sq_opt_text(st, 2));
}

/* issue 13: the triggers and history of the case, the employee who served
 * the customer (on the response that opened it), the customer's other
 * cases. Reasons in lang. */
static ks_err sq_case_loop_details(sq_conn *c, int64_t id, int64_t customer_id, const char *lang,
				   json_t *row, ks_error *e)
{
	bool en = lang && strcmp(lang, "en") == 0;
	json_t *trig = json_array(), *hist = json_array(), *others = json_array(), *emp = json_array();
	ks_err err = sq_case_children(c, en ? "SELECT rule, coalesce(response_id, 0), reason_en, created_at"
					      " FROM case_triggers WHERE case_id = ?1 ORDER BY id"
					    : "SELECT rule, coalesce(response_id, 0), reason_nl, created_at"
					      " FROM case_triggers WHERE case_id = ?1 ORDER BY id",
				      id, trig, sq_trigger_row, e);
	if (!err)
		err = sq_case_children(c, "SELECT h.kind, h.at, coalesce(h.user_id, 0), u.name, h.rule,"
					  " coalesce(h.response_id, 0), h.from_status, h.to_status,"
					  " coalesce(h.other_case_id, 0), h.detail FROM case_history h"
					  " LEFT JOIN users u ON u.id = h.user_id WHERE h.case_id = ?1 ORDER BY h.id",
				       id, hist, sq_history_row, e);
	if (!err)
		err = sq_case_children(c, en ? "SELECT o.id, o.status, o.opened_at, " SQ_CASE_REASON_IN("'en'")
					      " FROM cases o JOIN cases c ON c.id = o.id WHERE o.customer_id ="
					      " (SELECT customer_id FROM cases WHERE id = ?1) AND o.id <> ?1"
					      " ORDER BY o.id"
					    : "SELECT o.id, o.status, o.opened_at, " SQ_CASE_REASON_IN("'nl'")
					      " FROM cases o JOIN cases c ON c.id = o.id WHERE o.customer_id ="
					      " (SELECT customer_id FROM cases WHERE id = ?1) AND o.id <> ?1"
					      " ORDER BY o.id",
				       id, others, sq_other_case_row, e);
	if (!err)
		err = sq_case_children(c, "SELECT em.id, em.first_name || ' ' || em.last_name, t.name"
					  " FROM cases c JOIN responses r ON r.id = c.response_id"
					  " JOIN employees em ON em.id = r.employee_id"
					  " LEFT JOIN org_units t ON t.id = em.team_id WHERE c.id = ?1",
				       id, emp, sq_employee_row, e);
	(void)customer_id;
	json_object_set_new(row, "triggers", trig);
	json_object_set_new(row, "history", hist);
	json_object_set_new(row, "other_cases", others);
	json_t *e0 = json_array_get(emp, 0);
	json_object_set(row, "employee", e0 ? e0 : json_null());
	json_decref(emp);
	return err;
}

static ks_err sq_case_details(sq_conn *c, int64_t id, int64_t customer_id, json_t *row, ks_error *e)
{
	json_t *notes = json_array(), *ids = json_array(), *resp = json_array(), *cust = json_array();
	ks_err err = sq_case_children(c, "SELECT response_id FROM case_responses WHERE case_id = ?1"
					 " ORDER BY response_id",
				      id, ids, NULL, e);
	if (!err)
		err = sq_case_children(c, "SELECT n.id, coalesce(n.user_id, 0), n.text, n.created_at, u.name"
					  " FROM case_notes n LEFT JOIN users u ON u.id = n.user_id"
					  " WHERE n.case_id = ?1 ORDER BY n.id",
				       id, notes, sq_note_row, e);
	if (!err)
		err = sq_case_children(c, "SELECT r.id, r.received_at, coalesce(r.touchpoint_id, 0), tp.name,"
					  " r.nps, r.grade, r.ces, r.open_text, r.language, r.contact_consent"
					  " FROM case_responses cr JOIN responses r ON r.id = cr.response_id"
					  " LEFT JOIN touchpoints tp ON tp.id = r.touchpoint_id"
					  " WHERE cr.case_id = ?1 ORDER BY r.id",
				       id, resp, sq_case_response_row, e);
	if (!err)
		err = sq_case_children(c, "SELECT id, name, email, language, opted_out_at, phone FROM customers"
					  " WHERE id = ?1",
				       customer_id, cust, sq_case_customer_row, e);
	json_object_set_new(row, "response_ids", ids);
	json_object_set_new(row, "notes", notes);
	json_object_set_new(row, "responses", resp);
	json_t *c0 = json_array_get(cust, 0);
	json_object_set(row, "customer", c0 ? c0 : json_null());
	json_decref(cust);
	return err;
}

ks_err store_case_get(ks_store *s, int64_t id, int64_t now, json_t **out, int64_t *team_id,
		      ks_error *e)
{
	return store_case_get_lang(s, id, now, "nl", out, team_id, e);
}

ks_err store_case_get_lang(ks_store *s, int64_t id, int64_t now, const char *lang, json_t **out,
			   int64_t *team_id, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	json_t *row = NULL;
	int64_t customer = 0;
	ks_err err = sq_cprep(c, "SELECT " SQ_CASE_COLS SQ_CASE_FROM " WHERE c.id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		sq_bind_lang(st, lang);
		int rc = db_step(st);
		if (rc == DB_ROW) {
			row = sq_case_row(st, now);
			customer = db_column_int64(st, 1);
			if (team_id)
				*team_id = db_column_int64(st, 8);
		} else if (rc == DB_DONE) {
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "case %lld not found", (long long)id);
		} else {
			err = sq_fail(c, rc, e);
		}
		db_finalize(st);
	}
	if (!err)
		err = sq_case_details(c, id, customer, row, e);
	if (!err)
		err = sq_case_loop_details(c, id, customer, lang, row, e);
	sq_release(s, c);
	if (err) {
		json_decref(row);
		return err;
	}
	*out = row;
	return KS_OK;
}
