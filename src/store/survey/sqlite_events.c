/* sqlite_events.c — contact events, responses and metrics on SQLite.
 *
 * Responses are written by one writer thread with group commit: request
 * threads queue prepared responses; the writer takes everything queued (up
 * to batch_max), writes it in one transaction (one bad row cannot sink its
 * neighbours: sq_write_fast, then a savepoint per row), commits — one fsync
 * for the whole batch with synchronous=FULL — and only then reports each
 * outcome. A 2xx is therefore never sent for a response that is not on
 * disk.
 */
#include "store/sqlite_int.h"

#include <sqlite3.h>
#include "core/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define CONTACT_DEFAULT_TTL (14 * 86400)

/* ---- contacts -------------------------------------------------------------- */

static void sq_contact_row(db_stmt *st, model_contact *c)
{
	memset(c, 0, sizeof *c);
	c->id = db_column_int64(st, 0);
	c->customer_id = db_column_int64(st, 1);
	c->employee_id = db_column_int64(st, 2);
	c->team_id = db_column_int64(st, 3);
	c->touchpoint_id = db_column_int64(st, 4);
	snprintf(c->channel, sizeof c->channel, "%s", (const char *)db_column_text(st, 5));
	snprintf(c->reason, sizeof c->reason, "%s", (const char *)db_column_text(st, 6));
	c->occurred_at = db_column_int64(st, 7);
	snprintf(c->token, sizeof c->token, "%s", (const char *)db_column_text(st, 8));
	c->expires_at = db_column_int64(st, 9);
}

static ks_err sq_contact_load(sq_conn *c, sq_id id, int64_t key, const char *token,
			      model_contact *out, ks_error *e)
{
	db_stmt *st = sq_stmt(c, id, e);
	if (st == NULL)
		return KS_ERR_DB;
	if (token)
		db_bind_text(st, 1, token, -1, DB_STATIC);
	else
		db_bind_int64(st, 1, key);
	int rc = db_step(st);
	ks_err err = KS_OK;
	if (rc == DB_ROW)
		sq_contact_row(st, out);
	else if (rc == DB_DONE)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "contact not found");
	else
		err = sq_fail(c, rc, e);
	db_reset(st);
	return err;
}

/* Single-value lookup helper: runs statement id with one integer key and
 * copies column 0 as text (when txt) or integer (when num). */
static ks_err sq_lookup(sq_conn *c, sq_id id, int64_t key, char *txt, size_t n, int64_t *num,
			bool *found, ks_error *e)
{
	db_stmt *st = sq_stmt(c, id, e);
	if (st == NULL)
		return KS_ERR_DB;
	db_bind_int64(st, 1, key);
	int rc = db_step(st);
	*found = rc == DB_ROW;
	if (*found && txt) /* a first name is taken up to 500 bytes: cut between characters */
		utf8_copy(txt, n, (const char *)db_column_text(st, 0));
	if (*found && num)
		*num = db_column_int64(st, 0);
	db_reset(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return sq_fail(c, rc, e);
	return KS_OK;
}

static ks_err sq_require(sq_conn *c, sq_id id, int64_t key, const char *field, ks_error *e)
{
	bool found = false;
	ks_err err = sq_lookup(c, id, key, NULL, 0, NULL, &found, e);
	if (err)
		return err;
	if (!found)
		return ks_fail(e, KS_ERR_REF, field, "%s %lld does not exist", field, (long long)key);
	return KS_OK;
}

/* Resolve and check the references of a contact; fills team_id from the
 * employee when not given. */
static ks_err sq_contact_refs(sq_conn *c, model_contact *ct, ks_error *e)
{
	ks_err err = sq_require(c, SQ_EXISTS_CUSTOMER, ct->customer_id, "customer_id", e);
	if (!err)
		err = sq_require(c, SQ_EXISTS_TOUCHPOINT, ct->touchpoint_id, "touchpoint_id", e);
	if (err)
		return err;
	bool found = false;
	if (ct->employee_id) {
		int64_t team = 0;
		err = sq_lookup(c, SQ_EMPLOYEE_TEAM, ct->employee_id, NULL, 0, &team, &found, e);
		if (err)
			return err;
		if (!found)
			return ks_fail(e, KS_ERR_REF, "employee_id", "employee_id %lld does not exist",
				       (long long)ct->employee_id);
		if (ct->team_id == 0)
			ct->team_id = team;
	}
	if (ct->team_id) {
		char kind[32];
		err = sq_lookup(c, SQ_TEAM_KIND, ct->team_id, kind, sizeof kind, NULL, &found, e);
		if (err)
			return err;
		if (!found)
			return ks_fail(e, KS_ERR_REF, "team_id", "team_id %lld does not exist",
				       (long long)ct->team_id);
	}
	return KS_OK;
}

static ks_err sq_contact_insert(ks_store *s, sq_conn *c, model_contact *ct, ks_error *e)
{
	if (ct->occurred_at == 0)
		ct->occurred_at = clock_now(s->clock);
	if (ct->expires_at == 0)
		ct->expires_at = ct->occurred_at + CONTACT_DEFAULT_TTL;
	sq_token(ct->token);
	db_stmt *st = sq_stmt(c, SQ_CONTACT_INSERT, e);
	if (st == NULL)
		return KS_ERR_DB;
	db_bind_int64(st, 1, ct->customer_id);
	sq_bind_id(st, 2, ct->employee_id);
	sq_bind_id(st, 3, ct->team_id);
	db_bind_int64(st, 4, ct->touchpoint_id);
	db_bind_text(st, 5, ct->channel, -1, DB_STATIC);
	if (ct->reason[0])
		db_bind_text(st, 6, ct->reason, -1, DB_STATIC);
	db_bind_int64(st, 7, ct->occurred_at);
	db_bind_text(st, 8, ct->token, -1, DB_STATIC);
	db_bind_int64(st, 9, ct->expires_at);
	int rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return sq_fail(c, rc, e);
	ct->id = db_last_insert_rowid(c->db);
	return KS_OK;
}

/* The contact's part of a writer batch (inside its savepoint). */
static ks_err sq_contact_write(ks_store *s, sq_conn *c, model_contact *ct, store_invite_result *inv,
			       ks_error *e)
{
	ks_err err = sq_contact_refs(c, ct, e);
	if (!err)
		err = sq_contact_insert(s, c, ct, e);
	if (!err)
		err = sq_invite_decide(s, c, ct, inv, e);
	return err;
}

ks_err store_contact_get(ks_store *s, int64_t id, model_contact *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_contact_load(c, SQ_CONTACT_GET, id, NULL, out, e);
	sq_release(s, c);
	return err;
}

static json_t *sq_id_json(int64_t id)
{
	return id ? json_integer(id) : json_null();
}

json_t *store_contact_json(const model_contact *c)
{
	char occ[32], exp[32], url[64];
	clock_format_iso(c->occurred_at, occ, sizeof occ);
	clock_format_iso(c->expires_at, exp, sizeof exp);
	snprintf(url, sizeof url, "/s/%s", c->token);
	return json_pack("{s:I, s:I, s:o, s:o, s:I, s:s, s:o, s:s, s:s, s:s, s:s}",
			 "id", (json_int_t)c->id, "customer_id", (json_int_t)c->customer_id,
			 "employee_id", sq_id_json(c->employee_id), "team_id", sq_id_json(c->team_id),
			 "touchpoint_id", (json_int_t)c->touchpoint_id, "channel", c->channel,
			 "reason", c->reason[0] ? json_string(c->reason) : json_null(),
			 "occurred_at", occ, "token", c->token, "survey_url", url, "expires_at", exp);
}

/* ---- survey links ----------------------------------------------------------- */

/* ---- customer voice (issue 13) ------------------------------------------------- */

/* The touchpoint's names for the customer, per language. */
static ks_err sq_link_labels(sq_conn *c, store_link *l, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT coalesce(label_nl,''), coalesce(label_en,'') FROM touchpoints"
			      " WHERE id=?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, l->touchpoint_id);
	if (db_step(st) == DB_ROW) {
		snprintf(l->touchpoint_label_nl, sizeof l->touchpoint_label_nl, "%s", sq_ctext(st, 0));
		snprintf(l->touchpoint_label_en, sizeof l->touchpoint_label_en, "%s", sq_ctext(st, 1));
	}
	db_finalize(st);
	return KS_OK;
}

/* A contact whose response holds only the score tapped in the mail is not
 * answered yet: its form completes that response. */
static ks_err sq_link_partial(sq_conn *c, store_link *l, ks_error *e)
{
	l->partial_nps = -1;
	if (!l->answered)
		return KS_OK;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT id, complete, coalesce(nps,-1), coalesce(one_click_at,0)"
			      " FROM responses WHERE contact_id=?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, l->contact.id);
	if (db_step(st) == DB_ROW && db_column_int(st, 1) == 0) {
		l->answered = false;
		l->partial_id = db_column_int64(st, 0);
		l->partial_nps = db_column_int(st, 2);
		l->one_click_at = db_column_int64(st, 3);
	}
	db_finalize(st);
	return KS_OK;
}

/* Yes/no answers of r->id. */
static ks_err sq_response_yesno(sq_conn *c, const model_response *r, ks_error *e)
{
	for (int i = 0; i < r->n_yesno; i++) {
		db_stmt *st = NULL;
		ks_err err = sq_cprep(c, "INSERT INTO response_yesno(response_id, aspect, answer)"
				      " VALUES (?1, ?2, ?3)", &st, e);
		if (err)
			return err;
		db_bind_int64(st, 1, r->id);
		db_bind_text(st, 2, r->yesno[i].aspect, -1, DB_STATIC);
		db_bind_int(st, 3, r->yesno[i].score ? 1 : 0);
		if ((err = sq_cstep(c, st, e)))
			return err;
	}
	return KS_OK;
}

/* A one-click response: partial until the form completes it. */
static ks_err sq_response_mark_partial(sq_conn *c, const model_response *r, ks_error *e)
{
	if (!r->partial)
		return KS_OK;
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "UPDATE responses SET complete=0, one_click_at=received_at WHERE id=?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, r->id);
	return sq_cstep(c, st, e);
}

static ks_err sq_link_details(sq_conn *c, store_link *l, int64_t customer_id, int64_t employee_id,
			      ks_error *e)
{
	bool found = false;
	snprintf(l->language, sizeof l->language, "nl");
	ks_err err = KS_OK;
	if (customer_id)
		err = sq_lookup(c, SQ_CUSTOMER_LANG, customer_id, l->language, sizeof l->language, NULL,
				&found, e);
	if (!err && employee_id)
		err = sq_lookup(c, SQ_EMPLOYEE_NAME, employee_id, l->employee_first_name,
				sizeof l->employee_first_name, NULL, &found, e);
	if (err)
		return err;
	db_stmt *st = sq_stmt(c, SQ_TOUCHPOINT_SURVEY, e);
	if (st == NULL)
		return KS_ERR_DB;
	db_bind_int64(st, 1, l->touchpoint_id);
	if (db_step(st) == DB_ROW) {
		/* names are taken up to 500 bytes: cut at a character boundary */
		utf8_copy(l->touchpoint_name, sizeof l->touchpoint_name,
			  (const char *)db_column_text(st, 0));
		l->survey_id = db_column_int64(st, 1);
	}
	db_reset(st);
	return sq_link_labels(c, l, e);
}

ks_err store_link_resolve(ks_store *s, const char *token, store_link *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	if (token == NULL || strlen(token) != MODEL_TOKEN_LEN)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "unknown survey link");
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_contact_load(c, SQ_CONTACT_BY_TOKEN, 0, token, &out->contact, NULL);
	if (err == KS_OK) {
		out->is_contact = true;
		out->touchpoint_id = out->contact.touchpoint_id;
		err = sq_link_details(c, out, out->contact.customer_id, out->contact.employee_id, e);
		char key[MODEL_KEY_MAX + 1];
		if (!err)
			err = sq_lookup(c, SQ_CONTACT_ANSWER, out->contact.id, key, sizeof key, NULL,
					&out->answered, e);
		if (!err)
			err = sq_link_partial(c, out, e);
		if (!err && clock_now(s->clock) >= out->contact.expires_at)
			err = ks_fail(e, KS_ERR_GONE, NULL, "this survey link has expired");
		sq_release(s, c);
		return err;
	}
	if (err != KS_ERR_NOTFOUND) {
		sq_release(s, c);
		return ks_fail(e, err, NULL, "cannot resolve the survey link");
	}
	db_stmt *st = sq_stmt(c, SQ_TOUCHPOINT_BY_TOKEN, e);
	err = st ? KS_OK : KS_ERR_DB;
	if (st) {
		db_bind_text(st, 1, token, -1, DB_STATIC);
		int rc = db_step(st);
		if (rc == DB_ROW)
			out->touchpoint_id = db_column_int64(st, 0);
		else
			err = rc == DB_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "unknown survey link")
						: sq_fail(c, rc, e);
		db_reset(st);
	}
	if (!err)
		err = sq_link_details(c, out, 0, 0, e);
	sq_release(s, c);
	return err;
}

/* ---- responses: preparation (request thread) ---------------------------------- */

static ks_err sq_response_from_contact(sq_conn *c, model_response *r, ks_error *e)
{
	model_contact ct;
	ks_err err = sq_contact_load(c, SQ_CONTACT_GET, r->contact_id, NULL, &ct, NULL);
	if (err == KS_ERR_NOTFOUND)
		return ks_fail(e, KS_ERR_REF, "contact_id", "contact_id %lld does not exist",
			       (long long)r->contact_id);
	if (err)
		return ks_fail(e, err, NULL, "cannot read the contact");
	/* The contact is the truth about who served the customer where. */
	r->customer_id = ct.customer_id;
	r->employee_id = ct.employee_id;
	r->team_id = ct.team_id;
	r->touchpoint_id = ct.touchpoint_id;
	snprintf(r->channel, sizeof r->channel, "%s", ct.channel);
	char key[MODEL_KEY_MAX + 1] = "";
	bool answered = false;
	err = sq_lookup(c, SQ_CONTACT_ANSWER, ct.id, key, sizeof key, NULL, &answered, e);
	if (err)
		return err;
	if (answered && (r->client_key[0] == '\0' || strcmp(key, r->client_key) != 0))
		return ks_fail(e, KS_ERR_CONFLICT, "contact_id", "this contact has already been answered");
	return KS_OK;
}

static ks_err sq_response_refs(sq_conn *c, model_response *r, ks_error *e)
{
	ks_err err = KS_OK;
	bool found = false;
	if (r->customer_id)
		err = sq_require(c, SQ_EXISTS_CUSTOMER, r->customer_id, "customer_id", e);
	if (!err && r->touchpoint_id)
		err = sq_require(c, SQ_EXISTS_TOUCHPOINT, r->touchpoint_id, "touchpoint_id", e);
	if (!err && r->employee_id) {
		int64_t team = 0;
		err = sq_lookup(c, SQ_EMPLOYEE_TEAM, r->employee_id, NULL, 0, &team, &found, e);
		if (!err && !found)
			err = ks_fail(e, KS_ERR_REF, "employee_id", "employee_id %lld does not exist",
				      (long long)r->employee_id);
		if (!err && r->team_id == 0)
			r->team_id = team;
	}
	if (!err && r->team_id) {
		char kind[32];
		err = sq_lookup(c, SQ_TEAM_KIND, r->team_id, kind, sizeof kind, NULL, &found, e);
		if (!err && !found)
			err = ks_fail(e, KS_ERR_REF, "team_id", "team_id %lld does not exist",
				      (long long)r->team_id);
	}
	return err;
}

ks_err store_response_prepare(ks_store *s, model_response *r, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = KS_OK;
	if (r->contact_id)
		err = sq_response_from_contact(c, r, e);
	if (!err)
		err = sq_response_refs(c, r, e);
	if (!err && r->touchpoint_id && r->survey_id == 0) {
		db_stmt *st = sq_stmt(c, SQ_TOUCHPOINT_SURVEY, e);
		if (st == NULL) {
			err = KS_ERR_DB;
		} else {
			db_bind_int64(st, 1, r->touchpoint_id);
			if (db_step(st) == DB_ROW)
				r->survey_id = db_column_int64(st, 1);
			db_reset(st);
		}
	}
	if (!err && r->language[0] == '\0' && r->customer_id) {
		bool found = false;
		err = sq_lookup(c, SQ_CUSTOMER_LANG, r->customer_id, r->language, sizeof r->language,
				NULL, &found, e);
	}
	if (!err && r->language[0] == '\0')
		snprintf(r->language, sizeof r->language, "nl");
	if (!err && r->received_at == 0)
		r->received_at = clock_now(s->clock);
	sq_release(s, c);
	return err;
}

/* ---- responses: the writer ------------------------------------------------------ */

static ks_err sq_response_insert(sq_conn *c, model_response *r, bool *created, ks_error *e)
{
	db_stmt *st = sq_stmt(c, SQ_RESPONSE_INSERT, e);
	if (st == NULL)
		return KS_ERR_DB;
	if (r->client_key[0])
		db_bind_text(st, 1, r->client_key, -1, DB_STATIC);
	db_bind_int64(st, 2, (int64_t)r->body_hash);
	sq_bind_id(st, 3, r->contact_id);
	sq_bind_id(st, 4, r->customer_id);
	sq_bind_id(st, 5, r->employee_id);
	sq_bind_id(st, 6, r->team_id);
	sq_bind_id(st, 7, r->touchpoint_id);
	sq_bind_id(st, 8, r->survey_id);
	if (r->channel[0])
		db_bind_text(st, 9, r->channel, -1, DB_STATIC);
	db_bind_text(st, 10, r->language[0] ? r->language : "nl", -1, DB_STATIC);
	if (r->nps >= 0)
		db_bind_int(st, 11, r->nps);
	if (r->grade >= 0)
		db_bind_int(st, 12, r->grade);
	if (r->ces >= 0)
		db_bind_int(st, 13, r->ces);
	if (r->open_text)
		db_bind_text(st, 14, r->open_text, -1, DB_STATIC);
	db_bind_int64(st, 15, r->received_at);
	db_bind_text(st, 16, r->source[0] ? r->source : "api", -1, DB_STATIC);
	if (r->contact_consent >= 0)
		db_bind_int(st, 17, r->contact_consent);
	int rc = db_step(st);
	db_reset(st);
	if (rc != DB_DONE)
		return sq_fail(c, rc, e);
	*created = db_changes(c->db) == 1;
	if (*created) {
		r->id = db_last_insert_rowid(c->db);
		return KS_OK;
	}
	/* ON CONFLICT DO NOTHING fired: a retry of a known key, a reused key,
	 * or a second answer to the same contact. */
	if (r->client_key[0]) {
		st = sq_stmt(c, SQ_RESPONSE_BY_KEY, e);
		if (st == NULL)
			return KS_ERR_DB;
		db_bind_text(st, 1, r->client_key, -1, DB_STATIC);
		rc = db_step(st);
		int64_t id = rc == DB_ROW ? db_column_int64(st, 0) : 0;
		uint64_t hash = rc == DB_ROW ? (uint64_t)db_column_int64(st, 1) : 0;
		db_reset(st);
		if (id && hash == r->body_hash) {
			r->id = id;
			return KS_OK;
		}
		if (id)
			return ks_fail(e, KS_ERR_CONFLICT, "client_key",
				       "client_key was already used for a different response");
	}
	return ks_fail(e, KS_ERR_CONFLICT, "contact_id", "this contact has already been answered");
}

static ks_err sq_response_drivers(sq_conn *c, const model_response *r, ks_error *e)
{
	for (int i = 0; i < r->n_drivers; i++) {
		db_stmt *st = sq_stmt(c, SQ_RESPONSE_DRIVER, e);
		if (st == NULL)
			return KS_ERR_DB;
		db_bind_int64(st, 1, r->id);
		db_bind_text(st, 2, r->drivers[i].aspect, -1, DB_STATIC);
		db_bind_int(st, 3, r->drivers[i].score);
		int rc = db_step(st);
		db_reset(st);
		if (rc != DB_DONE)
			return sq_fail(c, rc, e);
	}
	return KS_OK;
}

static ks_err sq_step_once(sq_conn *c, sq_id id, ks_error *e)
{
	db_stmt *st = sq_stmt(c, id, e);
	if (st == NULL)
		return KS_ERR_DB;
	int rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

/* Write one queued item inside the open transaction; with sp, a savepoint
 * confines a failure to this item (without, the caller rolls the whole
 * transaction back on a failure: sq_write_fast). */
static ks_err sq_write_one(ks_store *s, sq_conn *c, wq_item *it, bool sp, bool *created, sq_text_buf *tb,
			   sq_case_cache *cc, ks_error *e)
{
	int tb_n = tb->n; /* issue 14 (text): the hook's row goes if the item does */
	ks_err err = sp ? sq_step_once(c, SQ_SAVEPOINT, e) : KS_OK;
	if (err)
		return err;
	model_response *r = &it->r;
	if (it->kind == WQ_CONTACT) {
		err = sq_contact_write(s, c, &it->c, &it->inv, e);
		*created = err == KS_OK;
	} else {
		err = sq_response_insert(c, r, created, e);
		if (!err && *created)
			err = sq_response_drivers(c, r, e);
		if (!err && *created)
			err = sq_response_yesno(c, r, e);
		if (!err && *created)
			err = sq_response_mark_partial(c, r, e);
		if (!err && *created && r->contact_id)
			err = sq_invite_completed(c, r->contact_id, r->received_at, e);
		/* Closed loop (issue 6, sqlite_cases.c): the cases its alert rules
		 * open commit with the response, in this savepoint, or not at all. */
		if (!err && *created)
			err = sq_cases_for_response_in(s, c, r, true, cc, e);
		/* text analysis (issue 14): with the response, never instead of it */
		if (!err && *created)
			sq_text_for_response(s, c, r, tb);
	}
	if (!sp)
		return err; /* the caller rolls back all: tb goes with it */
	if (!err)
		err = sq_step_once(c, SQ_RELEASE, e);
	else {
		sq_step_once(c, SQ_ROLLBACK_TO, NULL);
		sq_step_once(c, SQ_RELEASE, NULL);
	}
	if (err)
		tb->n = tb_n;
	return err;
}

typedef struct wq_result {
	ks_err rc;
	bool created;
	ks_error e;
} wq_result;

/* issue 18 (INGEST): a savepoint per item costs every page the item
 * touches a copy into the savepoint's journal — a third of the writer's
 * work for a response with a case. A batch of responses is therefore
 * first written without savepoints; when an item fails, that pass is
 * rolled back whole and the batch written again with a savepoint per
 * item, as before, so a bad item still sinks no neighbour and what
 * commits is the same. Contacts always take the savepoint pass (their
 * write fills in it->c and it->inv, which a second pass would see). */
static bool sq_batch_optimistic(const wq_item *batch)
{
	for (const wq_item *it = batch; it; it = it->next)
		if (it->kind != WQ_RESPONSE)
			return false;
	return true;
}

/* The optimistic pass over batch in the open transaction; false when an
 * item failed (the transaction must then be rolled back: it may hold part
 * of that item). */
static bool sq_write_fast(ks_store *s, wq_item *batch, wq_result *res, sq_text_buf *tb, sq_case_cache *cc)
{
	int i = 0;
	for (wq_item *it = batch; it; it = it->next, i++) {
		res[i].rc = sq_write_one(s, s->wconn, it, false, &res[i].created, tb, cc, &res[i].e);
		if (res[i].rc)
			return false;
	}
	return true;
}

/* Tell the commit hook about the rows this batch created. */
static void sq_notify_commit(ks_store *s, wq_item *batch, const wq_result *res, int n)
{
	const model_response **rows = calloc((size_t)n, sizeof *rows);
	if (rows == NULL)
		return;
	int k = 0, i = 0;
	for (wq_item *it = batch; it; it = it->next, i++)
		if (it->kind == WQ_RESPONSE && res[i].rc == KS_OK && res[i].created)
			rows[k++] = &it->r;
	if (k)
		s->commit_hook(s->commit_arg, rows, k);
	free(rows);
}

/* ---- a full disk (issue 11) --------------------------------------------------------
 * When the disk fills, every write fails with DB_FULL. Reads never
 * need space, but a login writes its session row and an admin's accept or
 * reject writes too. So the store keeps a reserve file next to the
 * database; the first DB_FULL deletes it (those small writes fit in
 * what it freed) and puts the writer in "storage full": responses and
 * contacts are refused with KS_ERR_STORAGE_FULL (503) without touching the
 * disk, until statvfs shows room for twice the reserve again; then the
 * reserve is made again and intake resumes. A failed batch is rolled back
 * whole, so nothing half-written remains and the writer never wedges. */

#define SQ_RESERVE_BYTES (4 * 1024 * 1024)

static bool sq_reserve_path(const ks_store *s, char *out, size_t n)
{
	if (s->pg || s->path == NULL || s->path[0] == '\0' || strcmp(s->path, ":memory:") == 0 ||
	    strncmp(s->path, "file:", 5) == 0)
		return false;
	int k = snprintf(out, n, "%s-reserve", s->path);
	return k > 0 && (size_t)k < n;
}

/* Make the reserve when it is missing; true when one exists afterwards.
 * One found on disk (left by another process) is used but not owned. */
static bool sq_reserve_make(ks_store *s)
{
	char p[4096];
	if (!sq_reserve_path(s, p, sizeof p))
		return false;
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST;
	int rc = posix_fallocate(fd, 0, SQ_RESERVE_BYTES);
	if (rc == 0)
		rc = fsync(fd);
	close(fd);
	if (rc != 0) {
		unlink(p);
		return false;
	}
	s->reserve_owned = true;
	return true;
}

static void sq_reserve_drop(ks_store *s)
{
	char p[4096];
	if (sq_reserve_path(s, p, sizeof p))
		unlink(p);
	s->reserve_owned = false;
}

/* Free bytes for unprivileged writers on the database's file system. */
static bool sq_storage_room(const ks_store *s)
{
	char dir[4096];
	if (!sq_reserve_path(s, dir, sizeof dir))
		return true;
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	struct statvfs vf;
	if (statvfs(dir, &vf) != 0)
		return true;
	return (unsigned long long)vf.f_bavail * vf.f_frsize >= 2ull * SQ_RESERVE_BYTES;
}

void sq_storage_failed(ks_store *s, ks_err err)
{
	if (err != KS_ERR_STORAGE_FULL)
		return;
	pthread_mutex_lock(&s->wq_mu);
	bool was = s->storage_full;
	s->storage_full = true;
	sq_reserve_drop(s);
	pthread_mutex_unlock(&s->wq_mu);
	if (!was)
		fprintf(stderr, "klantstem: storage full: intake refused (503 storage_full) until "
				"space is back; reserve released for logins and reads\n");
}

bool sq_storage_refuse(ks_store *s)
{
	pthread_mutex_lock(&s->wq_mu);
	bool refuse = s->storage_full;
	if (refuse && sq_storage_room(s) && sq_reserve_make(s)) {
		s->storage_full = false;
		refuse = false;
		fprintf(stderr, "klantstem: storage: space is back, intake resumes\n");
	}
	pthread_mutex_unlock(&s->wq_mu);
	return refuse;
}

/* issue 16 H8: how long the writer keeps trying to take the write lock
 * while another process holds it (`klantstem import`, a maintenance
 * sqlite3 session) before it fails the batch. Each BEGIN IMMEDIATE waits
 * up to SQ_BUSY_TIMEOUT_MS itself; the writer starts it again until this
 * bound, its submitters still waiting, so a response acknowledged to be
 * taken is written once the lock is free rather than lost after 10 s.
 * docs/ARCHITECTURE.md, "Writes". */
#define SQ_WRITER_BUSY_MAX_MS 60000

/* BEGIN IMMEDIATE on the writer's connection, again while the lock is
 * another process's (DB_BUSY), up to SQ_WRITER_BUSY_MAX_MS. */
static ks_err sq_writer_begin(ks_store *s, ks_error *e)
{
	int64_t t0 = clock_mono_ms();
	bool told = false;
	for (;;) {
		int rc = db_exec(s->wconn->db, "BEGIN IMMEDIATE");
		if (rc == DB_OK) {
			if (told)
				fprintf(stderr, "klantstem: writer: the write lock is free again after %.1f s\n",
					(double)(clock_mono_ms() - t0) / 1000.0);
			return KS_OK;
		}
		if ((rc & 0xff) != DB_BUSY || clock_mono_ms() - t0 >= SQ_WRITER_BUSY_MAX_MS)
			return sq_fail(s->wconn, rc, e);
		if (!told)
			fprintf(stderr, "klantstem: writer: another process holds the write lock; waiting "
				"(up to %d s)\n", SQ_WRITER_BUSY_MAX_MS / 1000);
		told = true;
	}
}

static void sq_write_batch(ks_store *s, wq_item *batch, int n)
{
	wq_result *res = calloc((size_t)n, sizeof *res);
	ks_error e;
	ks_error_clear(&e);
	ks_err txerr = KS_ERR_NOMEM;
	if (res && sq_storage_refuse(s))
		txerr = ks_fail(&e, KS_ERR_STORAGE_FULL, NULL,
				"the storage is full: nothing was written; try again later");
	else if (res)
		txerr = sq_writer_begin(s, &e);
	bool full = txerr == KS_ERR_STORAGE_FULL;
	sq_text_buf tb = {0}; /* issue 14 (text): the analyses for the text hook */
	/* issue 18 (INGEST): alert rules, leads and managers read once for
	 * this transaction, not per response (sqlite_cases.c says why) */
	sq_case_cache *cc = txerr ? NULL : sq_case_cache_new();
	bool done = false;
	if (!txerr && sq_batch_optimistic(batch)) {
		done = sq_write_fast(s, batch, res, &tb, cc);
		if (!done) { /* start again, each item in its savepoint */
			db_exec(s->wconn->db, "ROLLBACK");
			memset(res, 0, (size_t)n * sizeof *res);
			sq_text_buf_free(&tb);
			memset(&tb, 0, sizeof tb);
			sq_case_cache_free(cc); /* the lock was let go: read again */
			cc = sq_case_cache_new();
			txerr = sq_writer_begin(s, &e);
		}
	}
	int i = 0;
	for (wq_item *it = batch; !txerr && !done && it; it = it->next, i++) {
		res[i].rc = sq_write_one(s, s->wconn, it, true, &res[i].created, &tb, cc, &res[i].e);
		full |= res[i].rc == KS_ERR_STORAGE_FULL;
		/* DB_FULL and I/O errors may roll the whole transaction back:
		 * the next items must not run outside it (each savepoint would
		 * then commit on its own), so the batch fails as one. */
		if (res[i].rc && db_get_autocommit(s->wconn->db)) {
			txerr = res[i].rc;
			e = res[i].e;
		}
	}
	if (!txerr)
		txerr = sq_exec(s->wconn, "COMMIT", &e);
	if (txerr)
		db_exec(s->wconn->db, "ROLLBACK");
	else if (s->commit_hook)
		sq_notify_commit(s, batch, res, n);
	sq_case_cache_free(cc); /* its transaction is over */
	if (!txerr) /* issue 14 (text): after the commit hook saw the same responses */
		sq_text_notify(s, &tb);
	sq_text_buf_free(&tb);
	if (full || txerr == KS_ERR_STORAGE_FULL)
		sq_storage_failed(s, KS_ERR_STORAGE_FULL);
	pthread_mutex_lock(&s->wq_mu);
	s->n_batches++;
	s->n_rows += (uint64_t)n;
	/* issue 18 (ops): readiness and the batch-size histogram; counted
	 * before the callbacks answer, so a client that has its reply sees the
	 * batch in /readyz and the metrics */
	s->last_batch_failed = txerr != KS_OK;
	s->n_commits += txerr ? 0u : 1u;
	s->batch_hist[store_batch_bucket(n)]++;
	pthread_mutex_unlock(&s->wq_mu);
	i = 0;
	for (wq_item *it = batch, *next; it; it = next, i++) {
		next = it->next;
		ks_err rc = txerr ? txerr : res[i].rc;
		const ks_error *ie = txerr ? &e : &res[i].e;
		if (it->kind == WQ_CONTACT)
			it->ccb(it->arg, rc, &it->c, &it->inv, ie);
		else
			it->cb(it->arg, rc, !txerr && res[i].created, &it->r, ie);
		free(it->open_text);
		free(it);
	}
	free(res);
}

static void *sq_writer_main(void *arg)
{
	ks_store *s = arg;
	for (;;) {
		pthread_mutex_lock(&s->wq_mu);
		while (s->wq_head == NULL && !s->closing)
			pthread_cond_wait(&s->wq_cv, &s->wq_mu);
		if (s->wq_head == NULL && s->closing) {
			pthread_mutex_unlock(&s->wq_mu);
			return NULL;
		}
		/* Take up to batch_max items off the queue. */
		wq_item *batch = s->wq_head, *last = batch;
		int n = 1;
		while (last->next && n < s->batch_max) {
			last = last->next;
			n++;
		}
		s->wq_head = last->next;
		if (s->wq_head == NULL)
			s->wq_tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->wq_mu);
		sq_write_batch(s, batch, n);
	}
}

/* ---- the checkpointer ------------------------------------------------------------ */

#define SQ_CKPT_PAGES 1000  /* SQLite's own default auto-checkpoint threshold */

/* WAL hook on the writer's connection: instead of checkpointing inline (which
 * would hold up every response in the next batch), wake the checkpointer. */
static int sq_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	ks_store *s = arg;
	if (pages < SQ_CKPT_PAGES)
		return SQLITE_OK;
	pthread_mutex_lock(&s->ck_mu);
	s->ckpt_due = true;
	pthread_cond_signal(&s->ck_cv);
	pthread_mutex_unlock(&s->ck_mu);
	return SQLITE_OK;
}

static void *sq_checkpointer_main(void *arg)
{
	ks_store *s = arg;
	pthread_mutex_lock(&s->ck_mu);
	for (;;) {
		while (!s->ckpt_due && !s->ckpt_stop)
			pthread_cond_wait(&s->ck_cv, &s->ck_mu);
		if (s->ckpt_stop)
			break;
		s->ckpt_due = false;
		pthread_mutex_unlock(&s->ck_mu);
		/* PASSIVE: never blocks readers or the writer; whatever is still
		 * in use is left for the next round. */
		sqlite3_wal_checkpoint_v2(db_sqlite_handle(s->ckconn->db), NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&s->ck_mu);
	}
	pthread_mutex_unlock(&s->ck_mu);
	return NULL;
}

ks_err sq_checkpointer_start(ks_store *s, ks_error *e)
{
	pthread_mutex_init(&s->ck_mu, NULL);
	pthread_cond_init(&s->ck_cv, NULL);
	if (pthread_create(&s->ckpt, NULL, sq_checkpointer_main, s) != 0)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the checkpointer thread");
	s->ckpt_started = true;
	sqlite3_wal_hook(db_sqlite_handle(s->wconn->db), sq_wal_hook, s);
	return KS_OK;
}

void sq_checkpointer_stop(ks_store *s)
{
	if (!s->ckpt_started)
		return;
	pthread_mutex_lock(&s->ck_mu);
	s->ckpt_stop = true;
	pthread_cond_signal(&s->ck_cv);
	pthread_mutex_unlock(&s->ck_mu);
	pthread_join(s->ckpt, NULL);
	sqlite3_wal_hook(db_sqlite_handle(s->wconn->db), NULL, NULL);
	pthread_mutex_destroy(&s->ck_mu);
	pthread_cond_destroy(&s->ck_cv);
	s->ckpt_started = false;
}

ks_err sq_writer_start(ks_store *s, ks_error *e)
{
	sq_reserve_make(s); /* without one (no room at start) the store still runs */
	if (pthread_create(&s->writer, NULL, sq_writer_main, s) != 0)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the writer thread");
	s->writer_started = true;
	return KS_OK;
}

void sq_writer_stop(ks_store *s)
{
	sq_text_jobs_stop(s); /* issue 14: the reanalysis thread holds connections too */
	if (!s->writer_started)
		return;
	pthread_mutex_lock(&s->wq_mu);
	s->closing = true;
	pthread_cond_signal(&s->wq_cv);
	pthread_mutex_unlock(&s->wq_mu);
	pthread_join(s->writer, NULL); /* drains the queue first */
	s->writer_started = false;
	if (s->reserve_owned)
		sq_reserve_drop(s);
}

/* Hand an item to the writer; frees it when the store is closing. */
static ks_err sq_enqueue(ks_store *s, wq_item *it)
{
	pthread_mutex_lock(&s->wq_mu);
	if (s->closing) {
		pthread_mutex_unlock(&s->wq_mu);
		free(it->open_text);
		free(it);
		return KS_ERR_UNAVAILABLE;
	}
	if (s->wq_tail)
		s->wq_tail->next = it;
	else
		s->wq_head = it;
	s->wq_tail = it;
	s->n_enqueued++; /* issue 18 (ops): queue depth */
	pthread_cond_signal(&s->wq_cv);
	pthread_mutex_unlock(&s->wq_mu);
	return KS_OK;
}

ks_err store_response_submit_async(ks_store *s, const model_response *r, store_response_cb cb,
				   void *arg)
{
	wq_item *it = calloc(1, sizeof *it);
	if (it == NULL)
		return KS_ERR_NOMEM;
	it->kind = WQ_RESPONSE;
	it->r = *r;
	if (r->open_text) {
		it->open_text = strdup(r->open_text);
		if (it->open_text == NULL) {
			free(it);
			return KS_ERR_NOMEM;
		}
	}
	it->r.open_text = it->open_text;
	it->cb = cb;
	it->arg = arg;
	return sq_enqueue(s, it);
}

ks_err store_contact_submit_async(ks_store *s, const model_contact *c, store_contact_cb cb, void *arg)
{
	wq_item *it = calloc(1, sizeof *it);
	if (it == NULL)
		return KS_ERR_NOMEM;
	it->kind = WQ_CONTACT;
	it->c = *c;
	it->ccb = cb;
	it->arg = arg;
	return sq_enqueue(s, it);
}

/* The synchronous forms wait on their own little rendezvous. */
typedef struct sq_waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	ks_err rc;
	bool created;
	int64_t id;
	model_contact c;
	store_invite_result inv;
	ks_error e;
} sq_waiter;

static void sq_waiter_init(sq_waiter *w)
{
	memset(w, 0, sizeof *w);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
}

/* Wait for the writer, then release the rendezvous. */
static void sq_waiter_wait(sq_waiter *w)
{
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

static void sq_waiter_signal(sq_waiter *w, ks_err rc, const ks_error *e)
{
	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	if (e)
		w->e = *e;
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void sq_waiter_cb(void *arg, ks_err rc, bool created, const model_response *r,
			 const ks_error *e)
{
	sq_waiter *w = arg;
	w->created = created;
	w->id = r->id;
	sq_waiter_signal(w, rc, e);
}

static void sq_waiter_contact_cb(void *arg, ks_err rc, const model_contact *c,
				 const store_invite_result *inv, const ks_error *e)
{
	sq_waiter *w = arg;
	w->c = *c;
	w->inv = *inv;
	sq_waiter_signal(w, rc, e);
}

ks_err store_response_submit(ks_store *s, model_response *r, bool *created, ks_error *e)
{
	ks_err err = store_response_prepare(s, r, e);
	if (err)
		return err;
	sq_waiter w;
	sq_waiter_init(&w);
	err = store_response_submit_async(s, r, sq_waiter_cb, &w);
	if (err) {
		sq_waiter_signal(&w, err, NULL);
		sq_waiter_wait(&w);
		return ks_fail(e, err, NULL, "the store is closing");
	}
	sq_waiter_wait(&w);
	if (w.rc && e)
		*e = w.e;
	r->id = w.id;
	*created = w.created;
	return w.rc;
}

ks_err store_contact_create(ks_store *s, model_contact *ct, store_invite_result *inv, ks_error *e)
{
	sq_waiter w;
	sq_waiter_init(&w);
	ks_err err = store_contact_submit_async(s, ct, sq_waiter_contact_cb, &w);
	if (err) {
		sq_waiter_signal(&w, err, NULL);
		sq_waiter_wait(&w);
		return ks_fail(e, err, NULL, "the store is closing");
	}
	sq_waiter_wait(&w);
	if (w.rc) {
		if (e)
			*e = w.e;
		return w.rc;
	}
	*ct = w.c;
	if (inv)
		*inv = w.inv;
	return KS_OK;
}

/* ---- responses: reading ----------------------------------------------------- */


static json_t *sq_opt_score(int v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

json_t *store_response_json(const model_response *r)
{
	char iso[32];
	clock_format_iso(r->received_at, iso, sizeof iso);
	json_t *drivers = json_object();
	for (int i = 0; i < r->n_drivers; i++)
		json_object_set_new(drivers, r->drivers[i].aspect, json_integer(r->drivers[i].score));
	json_t *answers = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "nps", sq_opt_score(r->nps),
				    "grade", sq_opt_score(r->grade), "ces", sq_opt_score(r->ces),
				    "drivers", drivers, "open",
				    r->open_text ? json_string(r->open_text) : json_null(),
				    "contact_consent",
				    r->contact_consent < 0 ? json_null() : json_boolean(r->contact_consent));
	json_t *yesno = json_object();
	for (int i = 0; i < r->n_yesno; i++)
		json_object_set_new(yesno, r->yesno[i].aspect, json_boolean(r->yesno[i].score));
	json_object_set_new(answers, "yesno", yesno);
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:s, s:s, s:b}",
			 "id", (json_int_t)r->id, "client_key",
			 r->client_key[0] ? json_string(r->client_key) : json_null(), "contact_id",
			 sq_opt_id(r->contact_id), "customer_id", sq_opt_id(r->customer_id),
			 "employee_id", sq_opt_id(r->employee_id), "team_id", sq_opt_id(r->team_id),
			 "touchpoint_id", sq_opt_id(r->touchpoint_id), "survey_id",
			 sq_opt_id(r->survey_id), "channel",
			 r->channel[0] ? json_string(r->channel) : json_null(), "language", r->language,
			 "answers", answers, "received_at", iso, "source", r->source,
			 "complete", !r->partial);
}

static int sq_col_int(db_stmt *st, int col, int none)
{
	return db_column_type(st, col) == DB_NULL ? none : db_column_int(st, col);
}

static void sq_col_text(db_stmt *st, int col, char *out, size_t n)
{
	const unsigned char *t = db_column_text(st, col);
	snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* Issue 13: whether r is complete, and its yes/no answers. */
static void sq_response_voice(sq_conn *c, model_response *r)
{
	db_stmt *st = NULL;
	if (sq_cprep(c, "SELECT complete FROM responses WHERE id=?1", &st, NULL) == KS_OK) {
		db_bind_int64(st, 1, r->id);
		if (db_step(st) == DB_ROW)
			r->partial = db_column_int(st, 0) == 0;
		db_finalize(st);
	}
	if (sq_cprep(c, "SELECT aspect, answer FROM response_yesno WHERE response_id=?1 ORDER BY aspect",
		     &st, NULL) != KS_OK)
		return;
	db_bind_int64(st, 1, r->id);
	while (db_step(st) == DB_ROW && r->n_yesno < MODEL_MAX_DRIVERS) {
		model_driver_score *d = &r->yesno[r->n_yesno++];
		sq_col_text(st, 0, d->aspect, sizeof d->aspect);
		d->score = db_column_int(st, 1);
	}
	db_finalize(st);
}

/* Current row of a SQ_RESPONSE_GET-shaped statement as API JSON. */
static json_t *sq_response_row(sq_conn *c, db_stmt *st)
{
	model_response r;
	model_response_init(&r);
	r.id = db_column_int64(st, 0);
	sq_col_text(st, 1, r.client_key, sizeof r.client_key);
	r.contact_id = db_column_int64(st, 2);
	r.customer_id = db_column_int64(st, 3);
	r.employee_id = db_column_int64(st, 4);
	r.team_id = db_column_int64(st, 5);
	r.touchpoint_id = db_column_int64(st, 6);
	r.survey_id = db_column_int64(st, 7);
	sq_col_text(st, 8, r.channel, sizeof r.channel);
	sq_col_text(st, 9, r.language, sizeof r.language);
	r.nps = sq_col_int(st, 10, -1);
	r.grade = sq_col_int(st, 11, -1);
	r.ces = sq_col_int(st, 12, -1);
	r.open_text = (const char *)db_column_text(st, 13);
	r.received_at = db_column_int64(st, 14);
	sq_col_text(st, 15, r.source, sizeof r.source);
	r.contact_consent = sq_col_int(st, 16, -1);
	db_stmt *ds = sq_stmt(c, SQ_RESPONSE_DRIVERS, NULL);
	if (ds) {
		db_bind_int64(ds, 1, r.id);
		while (db_step(ds) == DB_ROW && r.n_drivers < MODEL_MAX_DRIVERS) {
			model_driver_score *d = &r.drivers[r.n_drivers++];
			sq_col_text(ds, 0, d->aspect, sizeof d->aspect);
			d->score = db_column_int(ds, 1);
		}
		db_reset(ds);
	}
	sq_response_voice(c, &r);
	json_t *o = store_response_json(&r);
	/* text analysis (issue 14): only next to a text the caller sees */
	if (o)
		json_object_set_new(o, "analysis", r.open_text ? sq_text_json(c, r.id) : json_null());
	return o;
}

ks_err store_response_get(ks_store *s, int64_t id, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = sq_stmt(c, SQ_RESPONSE_GET, e);
	ks_err err = st ? KS_OK : KS_ERR_DB;
	if (st) {
		db_bind_int64(st, 1, id);
		int rc = db_step(st);
		if (rc == DB_ROW)
			*out = sq_response_row(c, st);
		else if (rc == DB_DONE)
			err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "response %lld not found", (long long)id);
		else
			err = sq_fail(c, rc, e);
		db_reset(st);
	}
	sq_release(s, c);
	return err;
}

ks_err store_response_list(ks_store *s, const store_list_query *q, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st;
	int rc = db_prepare(c->db,
				    "SELECT id, client_key, contact_id, customer_id, employee_id, team_id,"
				    " touchpoint_id, survey_id, channel, language, nps, grade, ces, open_text,"
				    " received_at, source, contact_consent FROM responses WHERE id > ?1"
				    " ORDER BY id LIMIT ?2", &st);
	if (rc != DB_OK) {
		ks_err err = sq_fail(c, rc, e);
		sq_release(s, c);
		return err;
	}
	db_bind_int64(st, 1, q->after_id);
	db_bind_int(st, 2, q->limit + 1);
	json_t *items = json_array();
	int64_t last = 0;
	bool more = false;
	while ((rc = db_step(st)) == DB_ROW) {
		if ((int)json_array_size(items) == q->limit) {
			more = true;
			break;
		}
		last = db_column_int64(st, 0);
		json_array_append_new(items, sq_response_row(c, st));
	}
	ks_err err = rc == DB_ROW || rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	if (err) {
		json_decref(items);
		return err;
	}
	*out = json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 more ? json_integer(last) : json_null());
	return KS_OK;
}

/* ---- metrics ------------------------------------------------------------------------ */

ks_err store_metrics_counts(ks_store *s, const store_metrics_filter *f, metrics_counts *out,
			    ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = sq_stmt(c, SQ_METRICS, e);
	if (st == NULL) {
		sq_release(s, c);
		return KS_ERR_DB;
	}
	sq_bind_id(st, 1, f->team_id);
	sq_bind_id(st, 2, f->employee_id);
	sq_bind_id(st, 3, f->touchpoint_id);
	sq_bind_id(st, 4, f->journey_id);
	if (f->channel[0])
		db_bind_text(st, 5, f->channel, -1, DB_STATIC);
	if (f->from)
		db_bind_int64(st, 6, f->from);
	if (f->to)
		db_bind_int64(st, 7, f->to);
	int rc = db_step(st);
	ks_err err = KS_OK;
	if (rc == DB_ROW) {
		memset(out, 0, sizeof *out);
		int64_t *dst[] = {&out->n, &out->nps_n, &out->promoters, &out->passives,
				  &out->detractors, &out->grade_n, &out->grade_sum, &out->grade_sumsq,
				  &out->grade_7plus, &out->grade_9plus, &out->ces_n, &out->ces_sum,
				  &out->ces_5plus};
		for (int i = 0; i < 13; i++)
			*dst[i] = db_column_int64(st, i);
	} else {
		err = sq_fail(c, rc, e);
	}
	db_reset(st);
	sq_release(s, c);
	return err;
}

/* ---- bulk loading: sqlite_bulk.c (issue 18) ---- */

/* ==== customer voice (issue 13) ============================================== */

void store_set_update_hook(ks_store *s, store_update_fn fn, void *arg)
{
	s->update_hook = fn;
	s->update_arg = arg;
}

/* The indexed fields of the stored response id (what the update hook
 * needs to find the row it counted), and whether it is still partial. */
static ks_err sq_response_before(sq_conn *c, int64_t id, model_response *b, bool *partial,
				 ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT complete, coalesce(customer_id,0), coalesce(employee_id,0),"
			      " coalesce(team_id,0), coalesce(touchpoint_id,0), coalesce(channel,''),"
			      " language, coalesce(nps,-1), coalesce(grade,-1), coalesce(ces,-1),"
			      " received_at, coalesce(contact_id,0) FROM responses WHERE id=?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		model_response_init(b);
		b->id = id;
		*partial = db_column_int(st, 0) == 0;
		b->customer_id = db_column_int64(st, 1);
		b->employee_id = db_column_int64(st, 2);
		b->team_id = db_column_int64(st, 3);
		b->touchpoint_id = db_column_int64(st, 4);
		sq_col_text(st, 5, b->channel, sizeof b->channel);
		sq_col_text(st, 6, b->language, sizeof b->language);
		b->nps = db_column_int(st, 7);
		b->grade = db_column_int(st, 8);
		b->ces = db_column_int(st, 9);
		b->received_at = db_column_int64(st, 10);
		b->contact_id = db_column_int64(st, 11);
		b->partial = *partial;
	} else {
		err = rc == DB_DONE ? ks_fail(e, KS_ERR_NOTFOUND, NULL, "response %lld not found",
						  (long long)id)
					: sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

static void sq_bind_score(db_stmt *st, int i, int v)
{
	if (v >= 0)
		db_bind_int(st, i, v);
}

static ks_err sq_response_rewrite(sq_conn *c, const model_response *r, int64_t now, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "UPDATE responses SET nps=?2, grade=?3, ces=?4, open_text=?5,"
			      " contact_consent=?6, complete=?7,"
			      " one_click_at=CASE WHEN ?7=0 THEN ?8 ELSE one_click_at END WHERE id=?1",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, r->id);
	sq_bind_score(st, 2, r->nps);
	sq_bind_score(st, 3, r->grade);
	sq_bind_score(st, 4, r->ces);
	if (r->open_text)
		db_bind_text(st, 5, r->open_text, -1, DB_STATIC);
	sq_bind_score(st, 6, r->contact_consent);
	db_bind_int(st, 7, r->partial ? 0 : 1);
	db_bind_int64(st, 8, now);
	if ((err = sq_cstep(c, st, e)))
		return err;
	static const char *const clear[] = {"DELETE FROM response_drivers WHERE response_id=?1",
					    "DELETE FROM response_yesno WHERE response_id=?1",
					    "DELETE FROM text_analysis WHERE response_id=?1"};
	for (int i = 0; i < 3 && !err; i++) {
		if ((err = sq_cprep(c, clear[i], &st, e)))
			return err;
		db_bind_int64(st, 1, r->id);
		err = sq_cstep(c, st, e);
	}
	if (!err)
		err = sq_response_drivers(c, r, e);
	if (!err)
		err = sq_response_yesno(c, r, e);
	if (!err && r->contact_consent >= 0) {
		/* A case the tapped score opened learns the customer's answer to
		 * "may we contact you?" from the form, as a joining answer does. */
		if ((err = sq_cprep(c, "UPDATE cases SET consent = ?2 WHERE id IN"
				    " (SELECT case_id FROM case_responses WHERE response_id = ?1)", &st, e)))
			return err;
		db_bind_int64(st, 1, r->id);
		db_bind_int(st, 2, r->contact_consent);
		err = sq_cstep(c, st, e);
	}
	return err;
}

ks_err store_response_update_partial(ks_store *s, const model_response *r, int64_t now,
				     ks_error *e)
{
	if (sq_storage_refuse(s))
		return ks_fail(e, KS_ERR_STORAGE_FULL, NULL,
			       "the storage is full: nothing was written; try again later");
	sq_conn *c = sq_acquire(s);
	model_response before;
	bool partial = false;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (err) {
		sq_release(s, c);
		return err;
	}
	err = sq_response_before(c, r->id, &before, &partial, e);
	if (!err && !partial)
		err = ks_fail(e, KS_ERR_CONFLICT, "contact_id", "this contact has already been answered");
	if (!err)
		err = sq_response_rewrite(c, r, now, e);
	sq_text_buf tb = {0};
	if (!err) { /* issue 14: the new text's analysis, in this transaction */
		sq_text_for_response(s, c, r, &tb);
		if (tb.n == 0) /* the old analysis went (no new one): the index forgets it */
			sq_text_buf_gone(s, &tb, r->id);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err) {
		sq_exec(c, "ROLLBACK", NULL);
		sq_release(s, c);
		sq_text_buf_free(&tb);
		if (err == KS_ERR_STORAGE_FULL)
			sq_storage_failed(s, err);
		return err;
	}
	sq_release(s, c);
	model_response after = before;
	after.nps = r->nps;
	after.grade = r->grade;
	after.ces = r->ces;
	after.partial = r->partial;
	/* issue 15: the form's driver ratings reach the index's driver columns
	 * (a partial response has none before) */
	after.n_drivers = r->n_drivers;
	memcpy(after.drivers, r->drivers, sizeof after.drivers);
	if (s->update_hook && (after.nps != before.nps || after.grade != before.grade ||
			       after.ces != before.ces || after.n_drivers > 0))
		s->update_hook(s->update_arg, &before, &after);
	sq_text_notify(s, &tb); /* issue 14: after the update hook */
	sq_text_buf_free(&tb);
	return KS_OK;
}

ks_err store_yesno_report(ks_store *s, int64_t survey_id, int64_t from, int64_t to, int min_n,
			  json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT y.aspect, count(*), sum(y.answer) FROM response_yesno y"
			      " JOIN responses r ON r.id = y.response_id"
			      " WHERE (?1 = 0 OR r.survey_id = ?1) AND (?2 = 0 OR r.received_at >= ?2)"
			      " AND (?3 = 0 OR r.received_at < ?3) GROUP BY y.aspect ORDER BY y.aspect",
			      &st, e);
	json_t *items = err ? NULL : json_array();
	if (!err) {
		db_bind_int64(st, 1, survey_id);
		db_bind_int64(st, 2, from);
		db_bind_int64(st, 3, to);
		int rc;
		while ((rc = db_step(st)) == DB_ROW) {
			int64_t n = db_column_int64(st, 1), yes = db_column_int64(st, 2);
			/* the one rounding rule: half away from zero, 3 decimals */
			json_t *share = n >= min_n && n > 0
						? json_real((double)((yes * 2000 + n) / (2 * n)) / 1000.0)
						: json_null();
			json_array_append_new(items, json_pack("{s:s, s:I, s:I, s:o}", "aspect",
							       sq_ctext(st, 0), "n", (json_int_t)n,
							       "yes", (json_int_t)yes, "share_yes", share));
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
