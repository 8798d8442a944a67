/* sqlite_suspect.c — answers held by the open-link guard (issue 11) and
 * the alert mails about their bursts. See store.h, "open-link guard", and
 * migration 011.
 *
 * Held answers live in suspect_responses, not in responses: every reader
 * of responses (metrics, funnel, analytics index, alert rules, verbatims,
 * exports) leaves them out without knowing they exist. Accepting moves
 * them into responses (the analytics index hears of them through the
 * commit hook, as of the writer's rows); rejecting deletes them. Each
 * call is one transaction on a pool connection.
 */
#include "store/sqlite_int.h"
#include "core/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MAIL_MAX_ATTEMPTS 8

static const sq_outbox sq_guard_mails = {"guard_mails", "status", GUARD_MAIL_MAX_ATTEMPTS, false, 0};

/* sq_write_tx, and a full disk puts the store in "storage full". */
static ks_err sq_sus_tx(ks_store *s, sq_tx_fn fn, void *arg, ks_error *e)
{
	ks_err err = sq_write_tx(s, fn, arg, e);
	sq_storage_failed(s, err);
	return err;
}

/* ---- holding ------------------------------------------------------------------ */

typedef struct sq_hold_args {
	model_response *r;
	const char *addr;
	int64_t quiet_s;
	bool created;
	int64_t burst_id;
	bool new_burst;
} sq_hold_args;

/* A retry of the same form (same client_key) already counted or held:
 * *dup true (same body) or KS_ERR_CONFLICT (another body). */
static ks_err sq_hold_dup(sq_conn *c, const char *table_sql, const model_response *r, bool *dup,
			  ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, table_sql, &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, r->client_key, -1, DB_STATIC);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		if ((uint64_t)db_column_int64(st, 0) == r->body_hash)
			*dup = true;
		else
			err = ks_fail(e, KS_ERR_CONFLICT, "client_key",
				      "client_key was already used for a different response");
	} else if (rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

/* One alert per burst: a mail to every active admin, queued with the burst. */
static ks_err sq_hold_alert(sq_conn *c, int64_t burst_id, int64_t now, ks_error *e)
{
	char tok[MODEL_TOKEN_LEN + 1];
	sq_token(tok);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO guard_mails (burst_id, to_email, language, next_attempt_at,"
			      " message_id, created_at)"
			      " SELECT ?1, email, language, ?2,"
			      " 'guard-' || ?1 || '-' || id || '-' || ?3 || '@klantstem', ?2"
			      " FROM users WHERE role = 'admin' AND disabled = 0",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, burst_id);
	db_bind_int64(st, 2, now);
	db_bind_text(st, 3, tok, -1, DB_TRANSIENT);
	return sq_cstep(c, st, e);
}

/* The touchpoint's open burst (a held answer within quiet_s), or a new one. */
static ks_err sq_hold_burst(sq_conn *c, sq_hold_args *a, ks_error *e)
{
	const model_response *r = a->r;
	ks_err err = KS_OK;
	db_stmt *st = NULL;
	err = sq_cprep(c,
		       "SELECT id FROM suspect_bursts WHERE touchpoint_id = ?1 AND last_at >= ?2"
		       " ORDER BY id DESC LIMIT 1",
		       &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, r->touchpoint_id);
	db_bind_int64(st, 2, r->received_at - a->quiet_s);
	err = sq_cfirst(c, st, &a->burst_id, e);
	if (err || a->burst_id)
		return err;
	err = sq_cprep(c,
		       "INSERT INTO suspect_bursts (touchpoint_id, started_at, last_at) VALUES (?1, ?2, ?2)",
		       &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, r->touchpoint_id);
	db_bind_int64(st, 2, r->received_at);
	err = sq_cstep(c, st, e);
	if (err)
		return err;
	a->burst_id = db_last_insert_rowid(c->db);
	a->new_burst = true;
	return sq_hold_alert(c, a->burst_id, r->received_at, e);
}

/* The driver ratings as a JSON object text (malloc'd), NULL when none. */
static char *sq_drivers_text(const model_response *r)
{
	if (r->n_drivers == 0)
		return NULL;
	json_t *o = json_object();
	for (int i = 0; i < r->n_drivers; i++)
		json_object_set_new(o, r->drivers[i].aspect, json_integer(r->drivers[i].score));
	char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return txt;
}

static ks_err sq_hold_insert(sq_conn *c, sq_hold_args *a, ks_error *e)
{
	const model_response *r = a->r;
	char *drivers = sq_drivers_text(r);
	if (r->n_drivers && drivers == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO suspect_responses (burst_id, client_key, body_hash, touchpoint_id,"
			      " survey_id, channel, language, nps, grade, ces, drivers, open_text,"
			      " contact_consent, received_at, source, client_addr)"
			      " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, a->burst_id);
		if (r->client_key[0])
			db_bind_text(st, 2, r->client_key, -1, DB_STATIC);
		db_bind_int64(st, 3, (int64_t)r->body_hash);
		db_bind_int64(st, 4, r->touchpoint_id);
		sq_bind_id(st, 5, r->survey_id);
		if (r->channel[0])
			db_bind_text(st, 6, r->channel, -1, DB_STATIC);
		db_bind_text(st, 7, r->language[0] ? r->language : "nl", -1, DB_STATIC);
		if (r->nps >= 0)
			db_bind_int(st, 8, r->nps);
		if (r->grade >= 0)
			db_bind_int(st, 9, r->grade);
		if (r->ces >= 0)
			db_bind_int(st, 10, r->ces);
		if (drivers)
			db_bind_text(st, 11, drivers, -1, DB_STATIC);
		if (r->open_text)
			db_bind_text(st, 12, r->open_text, -1, DB_STATIC);
		if (r->contact_consent >= 0)
			db_bind_int(st, 13, r->contact_consent);
		db_bind_int64(st, 14, r->received_at);
		db_bind_text(st, 15, r->source[0] ? r->source : "survey", -1, DB_STATIC);
		db_bind_text(st, 16, a->addr ? a->addr : "", -1, DB_STATIC);
		err = sq_cstep(c, st, e);
	}
	free(drivers);
	if (err)
		return err;
	a->r->id = db_last_insert_rowid(c->db);
	err = sq_cprep(c,
		       "UPDATE suspect_bursts SET held = held + 1, last_at = max(last_at, ?2) WHERE id = ?1",
		       &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->burst_id);
	db_bind_int64(st, 2, r->received_at);
	return sq_cstep(c, st, e);
}

static ks_err sq_hold_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_hold_args *a = arg;
	bool dup = false;
	ks_err err = KS_OK;
	if (a->r->client_key[0]) {
		err = sq_hold_dup(c, "SELECT body_hash FROM responses WHERE client_key = ?1", a->r, &dup, e);
		if (!err && !dup)
			err = sq_hold_dup(c, "SELECT body_hash FROM suspect_responses WHERE client_key = ?1",
					  a->r, &dup, e);
	}
	if (err || dup)
		return err;
	err = sq_hold_burst(c, a, e);
	if (!err)
		err = sq_hold_insert(c, a, e);
	a->created = err == KS_OK;
	return err;
}

ks_err store_suspect_hold(ks_store *s, model_response *r, const char *client_addr, int64_t quiet_s,
			  bool *created, int64_t *burst_id, bool *new_burst, ks_error *e)
{
	if (r->touchpoint_id == 0 || r->contact_id != 0)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "only answers to an open link are held");
	if (sq_storage_refuse(s))
		return ks_fail(e, KS_ERR_STORAGE_FULL, NULL,
			       "the storage is full: nothing was written; try again later");
	sq_hold_args a = {.r = r, .addr = client_addr, .quiet_s = quiet_s};
	ks_err err = sq_sus_tx(s, sq_hold_tx, &a, e);
	*created = a.created;
	if (burst_id)
		*burst_id = a.burst_id;
	if (new_burst)
		*new_burst = !err && a.new_burst;
	return err;
}

/* ---- reading ------------------------------------------------------------------------- */

#define SQ_SUS_COLS                                                                         \
	"s.id, s.burst_id, s.touchpoint_id, s.survey_id, s.channel, s.language, s.nps, s.grade," \
	" s.ces, s.drivers, s.open_text, s.contact_consent, s.received_at, s.source,"           \
	" s.client_key, s.body_hash, s.client_addr"

static json_t *sq_sus_score(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null()
							  : json_integer(db_column_int(st, i));
}

static json_t *sq_sus_json(db_stmt *st)
{
	json_t *drivers = NULL;
	if (db_column_type(st, 9) != DB_NULL)
		drivers = json_loads(sq_ctext(st, 9), 0, NULL);
	json_t *consent = db_column_type(st, 11) == DB_NULL
				  ? json_null()
				  : json_boolean(db_column_int(st, 11));
	json_t *answers = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "nps", sq_sus_score(st, 6),
				    "grade", sq_sus_score(st, 7), "ces", sq_sus_score(st, 8), "drivers",
				    drivers ? drivers : json_object(), "open", sq_opt_text(st, 10),
				    "contact_consent", consent);
	return json_pack("{s:I, s:I, s:I, s:o, s:s, s:o, s:o, s:s, s:s}", "id",
			 (json_int_t)db_column_int64(st, 0), "burst_id",
			 (json_int_t)db_column_int64(st, 1), "touchpoint_id",
			 (json_int_t)db_column_int64(st, 2), "survey_id",
			 sq_opt_id(db_column_int64(st, 3)), "language", sq_ctext(st, 5), "answers",
			 answers, "received_at", sq_iso_or_null(db_column_int64(st, 12)), "source",
			 sq_ctext(st, 13), "client_addr", sq_ctext(st, 16));
}

ks_err store_suspect_list(ks_store *s, const store_suspect_query *q, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT " SQ_SUS_COLS " FROM suspect_responses s"
			      " WHERE s.id > ?1 AND (?2 = 0 OR s.burst_id = ?2) ORDER BY s.id LIMIT ?3",
			      &st, e);
	json_t *items = json_array();
	int64_t last = 0;
	bool more = false;
	if (!err) {
		db_bind_int64(st, 1, q->after_id);
		db_bind_int64(st, 2, q->burst_id);
		db_bind_int(st, 3, q->limit + 1);
		int rc;
		while ((rc = db_step(st)) == DB_ROW) {
			if ((int)json_array_size(items) == q->limit) {
				more = true;
				break;
			}
			last = db_column_int64(st, 0);
			json_array_append_new(items, sq_sus_json(st));
		}
		if (rc != DB_ROW && rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	int64_t total = 0;
	if (!err) {
		err = sq_cprep(c, "SELECT count(*) FROM suspect_responses WHERE ?1 = 0 OR burst_id = ?1",
			       &st, e);
		if (!err) {
			db_bind_int64(st, 1, q->burst_id);
			err = sq_cfirst(c, st, &total, e);
		}
	}
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o, s:I, s:o}", "items", items, "total", (json_int_t)total, "next_cursor",
			 more ? json_integer(last) : json_null());
	return KS_OK;
}

ks_err store_suspect_bursts(ks_store *s, int limit, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT b.id, b.touchpoint_id, t.name, b.started_at, b.last_at, b.held,"
			      " b.accepted, b.rejected,"
			      " (SELECT count(*) FROM guard_mails m WHERE m.burst_id = b.id),"
			      " (SELECT count(*) FROM guard_mails m WHERE m.burst_id = b.id"
			      "  AND m.status = 'sent')"
			      " FROM suspect_bursts b LEFT JOIN touchpoints t ON t.id = b.touchpoint_id"
			      " ORDER BY b.id DESC LIMIT ?1",
			      &st, e);
	json_t *items = json_array();
	if (!err) {
		db_bind_int(st, 1, limit);
		int rc;
		while ((rc = db_step(st)) == DB_ROW) {
			json_array_append_new(
				items,
				json_pack("{s:I, s:{s:I, s:s}, s:o, s:o, s:I, s:I, s:I, s:{s:I, s:I}}",
					  "id", (json_int_t)db_column_int64(st, 0), "touchpoint",
					  "id", (json_int_t)db_column_int64(st, 1), "name",
					  sq_ctext(st, 2), "started_at",
					  sq_iso_or_null(db_column_int64(st, 3)), "last_at",
					  sq_iso_or_null(db_column_int64(st, 4)), "held",
					  (json_int_t)db_column_int64(st, 5), "accepted",
					  (json_int_t)db_column_int64(st, 6), "rejected",
					  (json_int_t)db_column_int64(st, 7), "alert_mails", "queued",
					  (json_int_t)db_column_int64(st, 8), "sent",
					  (json_int_t)db_column_int64(st, 9)));
		}
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o}", "items", items);
	return KS_OK;
}

/* ---- deciding: accept or reject --------------------------------------------------------- */

typedef struct sq_decide_args {
	const int64_t *ids;
	size_t n_ids;
	int64_t burst_id;
	bool accept;
	int64_t now;
	model_response *rows;    /* accepted rows for the commit hook (malloc'd) */
	size_t n_rows, cap_rows;
	sq_text_buf tb;          /* their analyses, for the text hook after it */
	int done;
} sq_decide_args;

/* The held answer id as a response (open_text left NULL: the commit hook
 * does not read it). *found false when it is not held. */
static ks_err sq_decide_load(sq_conn *c, int64_t id, model_response *r, int64_t *burst, bool *found,
			     ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT " SQ_SUS_COLS " FROM suspect_responses s WHERE s.id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	*found = rc == DB_ROW;
	model_response_init(r);
	if (*found) {
		*burst = db_column_int64(st, 1);
		r->touchpoint_id = db_column_int64(st, 2);
		r->survey_id = db_column_int64(st, 3);
		snprintf(r->channel, sizeof r->channel, "%s", sq_ctext(st, 4));
		snprintf(r->language, sizeof r->language, "%s", sq_ctext(st, 5));
		for (int k = 0; k < 3; k++) {
			int *dst[] = {&r->nps, &r->grade, &r->ces};
			if (db_column_type(st, 6 + k) != DB_NULL)
				*dst[k] = db_column_int(st, 6 + k);
		}
		if (db_column_type(st, 11) != DB_NULL)
			r->contact_consent = db_column_int(st, 11);
		r->received_at = db_column_int64(st, 12);
		snprintf(r->source, sizeof r->source, "%s", sq_ctext(st, 13));
		snprintf(r->client_key, sizeof r->client_key, "%s", sq_ctext(st, 14));
		r->body_hash = (uint64_t)db_column_int64(st, 15);
	} else if (rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

/* Issue 14: an accepted answer's open text is analysed in the accepting
 * transaction, as an arriving one's is in the writer's; its index row goes
 * to tb for the text hook after the commit. */
static ks_err sq_decide_analyse(ks_store *s, sq_conn *c, const model_response *r, sq_text_buf *tb,
				ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT open_text FROM responses WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, r->id);
	int rc = db_step(st);
	if (rc == DB_ROW && db_column_type(st, 0) != DB_NULL) {
		model_response t = *r;
		t.open_text = sq_ctext(st, 0);
		sq_text_for_response(s, c, &t, tb);
	} else if (rc != DB_ROW && rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

/* Move held answer id into responses (with its drivers) as a new row;
 * *moved false when its client_key was counted meanwhile (a duplicate). */
static ks_err sq_decide_move(ks_store *s, sq_conn *c, int64_t id, model_response *r, bool *moved,
			     sq_text_buf *tb, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO responses (client_key, body_hash, touchpoint_id, survey_id,"
			      " channel, language, nps, grade, ces, open_text, received_at, source,"
			      " contact_consent)"
			      " SELECT client_key, body_hash, touchpoint_id, survey_id, channel, language,"
			      " nps, grade, ces, open_text, received_at, source, contact_consent"
			      " FROM suspect_responses WHERE id = ?1 ON CONFLICT DO NOTHING RETURNING id",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	/* RETURNING, not the last rowid: PostgreSQL's lastval() follows the
	 * triggers' sequences too (issue 18); no row = the conflict */
	err = sq_cfirst(c, st, &r->id, e);
	*moved = !err && r->id > 0;
	if (err || !*moved)
		return err;
	/* json_each's value is text on PostgreSQL (migrations/pg/001): the
	 * score column wants the integer it is */
	err = sq_cprep(c,
		       "INSERT INTO response_drivers (response_id, aspect, score)"
		       " SELECT ?1, j.key, CAST(j.value AS BIGINT) FROM suspect_responses s, json_each(s.drivers) j"
		       " WHERE s.id = ?2 AND s.drivers IS NOT NULL",
		       &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, r->id);
	db_bind_int64(st, 2, id);
	err = sq_cstep(c, st, e);
	/* An open link has no customer, so no alert rule opens a case; the
	 * call keeps accepted answers on the same path as arriving ones. */
	if (!err)
		err = sq_cases_for_response(s, c, r, true, e);
	if (!err)
		err = sq_decide_analyse(s, c, r, tb, e);
	return err;
}

static ks_err sq_decide_keep(sq_decide_args *a, const model_response *r)
{
	if (a->n_rows == a->cap_rows) {
		size_t cap = a->cap_rows ? a->cap_rows * 2 : 64;
		model_response *p = realloc(a->rows, cap * sizeof *p);
		if (p == NULL)
			return KS_ERR_NOMEM;
		a->rows = p;
		a->cap_rows = cap;
	}
	a->rows[a->n_rows++] = *r;
	return KS_OK;
}

static ks_err sq_decide_one(ks_store *s, sq_conn *c, sq_decide_args *a, int64_t id, ks_error *e)
{
	model_response r;
	int64_t burst = 0;
	bool found = false, moved = false;
	ks_err err = sq_decide_load(c, id, &r, &burst, &found, e);
	if (!err && !found)
		return ks_fail(e, KS_ERR_NOTFOUND, "ids", "response %lld is not held", (long long)id);
	if (!err && a->accept)
		err = sq_decide_move(s, c, id, &r, &moved, &a->tb, e);
	if (!err && moved && sq_decide_keep(a, &r) != KS_OK)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	db_stmt *st = NULL;
	if (!err)
		err = sq_cprep(c, "DELETE FROM suspect_responses WHERE id = ?1", &st, e);
	if (!err) {
		db_bind_int64(st, 1, id);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_cprep(c,
			       a->accept ? "UPDATE suspect_bursts SET held = held - 1, accepted = accepted + 1"
					   " WHERE id = ?1"
					 : "UPDATE suspect_bursts SET held = held - 1, rejected = rejected + 1"
					   " WHERE id = ?1",
			       &st, e);
	if (!err) {
		db_bind_int64(st, 1, burst);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		a->done++;
	return err;
}

static ks_err sq_decide_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	sq_decide_args *a = arg;
	ks_err err = KS_OK;
	for (size_t i = 0; !err && i < a->n_ids; i++)
		err = sq_decide_one(s, c, a, a->ids[i], e);
	if (err || a->burst_id == 0)
		return err;
	/* A whole burst: every answer it still holds. */
	int64_t *ids = NULL;
	size_t n = 0;
	db_stmt *st = NULL;
	err = sq_cprep(c, "SELECT id FROM suspect_responses WHERE burst_id = ?1 ORDER BY id", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->burst_id);
	int rc;
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t *p = (n & (n - 1)) == 0 ? realloc(ids, (n ? n * 2 : 1) * sizeof *ids) : ids;
		if (p == NULL) {
			rc = DB_NOMEM;
			break;
		}
		ids = p;
		ids[n++] = db_column_int64(st, 0);
	}
	if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	for (size_t i = 0; !err && i < n; i++)
		err = sq_decide_one(s, c, a, ids[i], e);
	free(ids);
	return err;
}

ks_err store_suspect_decide(ks_store *s, bool accept, const int64_t *ids, size_t n_ids,
			    int64_t burst_id, int64_t now, int *n, ks_error *e)
{
	if (burst_id > 0) {
		bool found = false;
		sq_conn *c = sq_acquire(s);
		ks_err err = sq_row_exists(c, "suspect_bursts", burst_id, &found, e);
		sq_release(s, c);
		if (err)
			return err;
		if (!found)
			return ks_fail(e, KS_ERR_NOTFOUND, "burst_id", "burst %lld does not exist",
				       (long long)burst_id);
	}
	sq_decide_args a = {.ids = ids, .n_ids = n_ids, .burst_id = burst_id, .accept = accept,
			    .now = now};
	ks_err err = sq_sus_tx(s, sq_decide_tx, &a, e);
	/* Counted from now on: the analytics index hears of the moved rows
	 * after the commit, as it hears of the writer's. */
	if (!err && a.n_rows && s->commit_hook) {
		const model_response **rows = calloc(a.n_rows, sizeof *rows);
		if (rows) {
			for (size_t i = 0; i < a.n_rows; i++)
				rows[i] = &a.rows[i];
			s->commit_hook(s->commit_arg, rows, (int)a.n_rows);
		}
		free(rows);
	}
	if (!err)
		sq_text_notify(s, &a.tb);
	sq_text_buf_free(&a.tb);
	free(a.rows);
	*n = err ? 0 : a.done;
	return err;
}

/* ---- the alert mails -------------------------------------------------------------------- */

ks_err store_guard_mail_recover(ks_store *s, int *n, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_outbox_recover(c, &sq_guard_mails, n, e);
	sq_release(s, c);
	return err;
}

typedef struct sq_gclaim_args {
	int64_t now;
	store_guard_mail_job *jobs;
	int max, n;
} sq_gclaim_args;

static void sq_guard_mail_row(db_stmt *st, store_guard_mail_job *j)
{
	memset(j, 0, sizeof *j);
	j->id = db_column_int64(st, 0);
	j->burst_id = db_column_int64(st, 1);
	snprintf(j->to_email, sizeof j->to_email, "%s", sq_ctext(st, 2));
	snprintf(j->language, sizeof j->language, "%s", sq_ctext(st, 3));
	j->attempts = db_column_int(st, 4) + 1;
	snprintf(j->message_id, sizeof j->message_id, "%s", sq_ctext(st, 5));
	/* names are taken up to 500 bytes: cut at a character boundary, or the
	 * mail check refuses the mail */
	utf8_copy(j->touchpoint_name, sizeof j->touchpoint_name, sq_ctext(st, 6));
	j->started_at = db_column_int64(st, 7);
	j->held = db_column_int64(st, 8);
}

static ks_err sq_guard_claim_tx(ks_store *s, sq_conn *c, void *arg, ks_error *e)
{
	(void)s;
	sq_gclaim_args *a = arg;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT m.id, m.burst_id, m.to_email, m.language, m.attempts, m.message_id,"
			      " coalesce(t.name, ''), b.started_at, b.held + b.accepted + b.rejected"
			      " FROM guard_mails m JOIN suspect_bursts b ON b.id = m.burst_id"
			      " LEFT JOIN touchpoints t ON t.id = b.touchpoint_id"
			      " WHERE m.status = 'pending' AND m.next_attempt_at <= ?1"
			      " ORDER BY m.next_attempt_at, m.id LIMIT ?2",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, a->now);
	db_bind_int(st, 2, a->max);
	int rc = DB_DONE;
	while (a->n < a->max && (rc = db_step(st)) == DB_ROW)
		sq_guard_mail_row(st, &a->jobs[a->n++]);
	if (rc != DB_ROW && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	/* issue 18 (review): a row another node claimed first (0 rows
	 * changed: the claim changes only a row still pending and due) is
	 * left out; the claimed ones keep their order */
	int kept = 0;
	for (int i = 0; !err && i < a->n; i++) {
		err = sq_outbox_mark_sending(c, &sq_guard_mails, a->jobs[i].id, a->jobs[i].attempts, a->now, e);
		if (err || db_changes(c->db) == 0)
			continue;
		if (kept != i)
			a->jobs[kept] = a->jobs[i];
		kept++;
	}
	if (!err)
		a->n = kept;
	return err;
}

ks_err store_guard_mail_claim(ks_store *s, int64_t now, store_guard_mail_job *jobs, int max, int *n,
			      ks_error *e)
{
	*n = 0;
	int64_t due = 0;
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_one_id(c, "SELECT count(*) FROM guard_mails WHERE status = 'pending'"
				  " AND next_attempt_at <= ?1",
			       now, &due, e);
	sq_release(s, c);
	if (err || due == 0)
		return err;
	sq_gclaim_args a = {.now = now, .jobs = jobs, .max = max};
	err = sq_sus_tx(s, sq_guard_claim_tx, &a, e);
	*n = err ? 0 : a.n;
	return err;
}

ks_err store_guard_mail_record(ks_store *s, const store_guard_mail_job *j, store_send_outcome outcome,
			       const char *detail, int64_t now, ks_error *e)
{
	return sq_outbox_record_one(s, &sq_guard_mails, j->id, j->attempts, outcome, detail, now, e);
}
