/* sqlite_gdpr.c — a person's data on SQLite (issue 11): everything stored
 * about one customer or one employee as JSON (the right of access), the
 * erasure of it (the right to erasure), and the retention policy with its
 * clean-up. docs/PRIVACY.md, sections 7-8, says what is kept and why.
 *
 * Erasure keeps the numbers and drops the person: a customer's responses
 * stay with their scores, drivers, team, employee, touchpoint, channel,
 * language and time (every aggregate is unchanged), but lose the link to
 * the customer and to the contact, the open text (the FTS index follows by
 * its triggers, and is optimised so no token of it is left in its
 * segments) and the client key; everything else that names the customer
 * goes: contacts, invitations, cases with their notes, mails and response
 * links, and webhook events that carry the id; the customer row stays as
 * a tombstone of its id ("erased-ID", every other field empty, opted
 * out). An employee's responses lose the employee (they stay in the
 * team's and higher aggregates); their user accounts become tombstones
 * like store_user_delete's; the employee row keeps only its id and team. Each is one transaction on a
 * connection with secure_delete on (freed pages are zeroed), together with
 * the erasure record and its audit entry.
 */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

static ks_err sq_gdpr_run(sq_conn *c, const char *sql, int64_t a, int64_t b, int *changed, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	if (db_bind_parameter_count(st) >= 1)
		db_bind_int64(st, 1, a);
	if (db_bind_parameter_count(st) >= 2)
		db_bind_int64(st, 2, b);
	err = sq_cstep(c, st, e);
	if (!err && changed)
		*changed += db_changes(c->db);
	return err;
}

/* Columns never exported: credentials (a survey or unsubscribe link is a
 * key to act as the customer) and internal hashes. */
static bool sq_gdpr_secret(const char *col)
{
	static const char *const secret[] = {"token", "unsubscribe_token", "open_token", "password_hash",
					     "token_hash", "csrf", "body_hash", NULL};
	for (size_t i = 0; secret[i]; i++)
		if (strcmp(col, secret[i]) == 0)
			return true;
	return false;
}

/* A time column: "*_at" or a deadline; printed as ISO 8601 like the API. */
static bool sq_gdpr_time(const char *col)
{
	size_t n = strlen(col);
	return (n > 3 && strcmp(col + n - 3, "_at") == 0) || strcmp(col, "deadline") == 0;
}

/* The current row of st as an object: every column by its name (a column
 * added by a later migration comes along without a change here), times as
 * ISO 8601, secrets left out. */
static json_t *sq_gdpr_row(db_stmt *st)
{
	json_t *o = json_object();
	int n = db_column_count(st);
	for (int i = 0; o && i < n; i++) {
		const char *name = db_column_name(st, i);
		if (sq_gdpr_secret(name))
			continue;
		json_t *v;
		switch (db_column_type(st, i)) {
		case DB_INTEGER:
			v = sq_gdpr_time(name) ? sq_iso_or_null(db_column_int64(st, i))
					       : json_integer(db_column_int64(st, i));
			break;
		case DB_FLOAT:
			v = json_real(db_column_double(st, i));
			break;
		case DB_TEXT:
			v = json_string((const char *)db_column_text(st, i));
			break;
		default:
			v = json_null();
		}
		json_object_set_new(o, name, v);
	}
	return o;
}

/* Every row of sql (?1 = id) as an array of objects. */
static ks_err sq_gdpr_rows(sq_conn *c, const char *sql, int64_t id, json_t **out, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	json_t *arr = json_array();
	int rc;
	while (arr && (rc = db_step(st)) == DB_ROW)
		json_array_append_new(arr, sq_gdpr_row(st));
	if (arr == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	else if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	if (err) {
		json_decref(arr);
		return err;
	}
	*out = arr;
	return KS_OK;
}

/* Rows of sql under key in o; err passes through (the first failure wins). */
static ks_err sq_gdpr_put_rows(sq_conn *c, json_t *o, const char *key, const char *sql, int64_t id,
			       ks_err err, ks_error *e)
{
	json_t *arr = NULL;
	if (!err)
		err = sq_gdpr_rows(c, sql, id, &arr, e);
	if (!err)
		json_object_set_new(o, key, arr);
	return err;
}

/* For each element of arr (objects with an "id"), the rows of sql for that
 * id under key. */
static ks_err sq_gdpr_nest(sq_conn *c, json_t *arr, const char *key, const char *sql, ks_err err,
			   ks_error *e)
{
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item) {
		if (err)
			break;
		err = sq_gdpr_put_rows(c, item, key, sql, json_integer_value(json_object_get(item, "id")), err, e);
	}
	return err;
}

static const char *sq_subject_name(store_subject_kind k)
{
	return k == STORE_SUBJECT_CUSTOMER ? "customer" : "employee";
}

/* Was (kind, id) erased before? */
static ks_err sq_gdpr_erased(sq_conn *c, store_subject_kind k, int64_t id, bool *erased, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT 1 FROM erasures WHERE subject_kind = ?1 AND subject_id = ?2", &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, sq_subject_name(k), -1, DB_STATIC);
	db_bind_int64(st, 2, id);
	int64_t one = 0;
	err = sq_cfirst(c, st, &one, e);
	*erased = one == 1;
	return err;
}

/* The subject exists; otherwise KS_ERR_NOTFOUND, with *erased telling an
 * erased subject from one that never was. */
static ks_err sq_gdpr_subject(sq_conn *c, store_subject_kind k, int64_t id, bool *erased, ks_error *e)
{
	int64_t found = 0;
	*erased = false;
	ks_err err = sq_gdpr_erased(c, k, id, erased, e);
	if (!err && !*erased)
		err = sq_one_id(c, k == STORE_SUBJECT_CUSTOMER ? "SELECT 1 FROM customers WHERE id = ?1"
								: "SELECT 1 FROM employees WHERE id = ?1",
				id, &found, e);
	if (!err && found == 0)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no %s %" PRId64 "%s", sq_subject_name(k), id,
			      *erased ? " (erased)" : "");
	return err;
}

/* Webhook events whose payload names customer id: into *rows (when not
 * NULL) as the export shows them, without the survey link they carry (a
 * credential), and their ids into *ids (when not NULL; the caller frees).
 * Matched and stripped here, not in SQL: SQLite's json_valid/json_remove
 * have no PostgreSQL twin (issue 18), and a payload is a small document
 * the store wrote itself. The LIKE only skips events that cannot name a
 * customer; an unreadable payload names nobody (as json_valid did). */
typedef struct {
	int64_t *v;
	size_t n, cap;
} sq_id_list;

static bool sq_id_list_add(sq_id_list *l, int64_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		int64_t *p = realloc(l->v, cap * sizeof *p);
		if (p == NULL)
			return false;
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = id;
	return true;
}

static ks_err sq_gdpr_webhooks(sq_conn *c, int64_t id, json_t **rows, sq_id_list *ids, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT id, event, payload, status, created_at FROM webhook_outbox"
			      " WHERE payload LIKE '%customer_id%' ORDER BY id",
			      &st, e);
	if (err)
		return err;
	json_t *arr = rows ? json_array() : NULL;
	bool oom = rows && arr == NULL;
	int rc = DB_DONE;
	while (!oom && (rc = db_step(st)) == DB_ROW) {
		const char *text = (const char *)db_column_text(st, 2);
		json_t *p = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
		json_t *cid = json_object_get(p, "customer_id");
		if (json_is_integer(cid) && json_integer_value(cid) == id) {
			int64_t hook = db_column_int64(st, 0);
			json_object_del(p, "token");
			json_object_del(p, "survey_path");
			char *kept = rows ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
			json_t *row = kept ? json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)hook, "event",
						       (const char *)db_column_text(st, 1), "payload", kept, "status",
						       (const char *)db_column_text(st, 3), "created_at",
						       sq_iso_or_null(db_column_int64(st, 4)))
					   : NULL;
			free(kept);
			oom = (rows && json_array_append_new(arr, row) != 0) || (ids && !sq_id_list_add(ids, hook));
		}
		json_decref(p);
	}
	if (oom)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	else if (rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	if (err)
		json_decref(arr);
	else if (rows)
		*rows = arr;
	return err;
}

/* ---- export ---- */

static ks_err sq_gdpr_customer_json(sq_conn *c, int64_t id, json_t *o, ks_error *e)
{
	json_t *rows = NULL;
	ks_err err = sq_gdpr_rows(c, "SELECT * FROM customers WHERE id = ?1", id, &rows, e);
	if (!err) {
		json_t *cust = json_array_get(rows, 0);
		json_object_set(o, "customer", cust);
		json_object_set_new(o, "opt_out",
				    json_pack("{s:b, s:O}", "opted_out", !json_is_null(json_object_get(cust, "opted_out_at")),
					      "opted_out_at", json_object_get(cust, "opted_out_at")));
		json_decref(rows);
	}
	err = sq_gdpr_put_rows(c, o, "contacts", "SELECT * FROM contacts WHERE customer_id = ?1 ORDER BY id",
			       id, err, e);
	err = sq_gdpr_put_rows(c, o, "invitations",
			       "SELECT * FROM invitations WHERE customer_id = ?1 ORDER BY id", id, err, e);
	err = sq_gdpr_put_rows(c, o, "responses",
			       "SELECT * FROM responses WHERE customer_id = ?1 OR contact_id IN"
			       " (SELECT id FROM contacts WHERE customer_id = ?1) ORDER BY id",
			       id, err, e);
	err = sq_gdpr_nest(c, json_object_get(o, "responses"), "drivers",
			   "SELECT aspect, score FROM response_drivers WHERE response_id = ?1 ORDER BY aspect", err, e);
	err = sq_gdpr_nest(c, json_object_get(o, "responses"), "yesno",
			   "SELECT aspect, answer FROM response_yesno WHERE response_id = ?1 ORDER BY aspect", err, e);
	/* issue 14: what was read in their text is theirs too */
	err = sq_gdpr_nest(c, json_object_get(o, "responses"), "text_analysis",
			   "SELECT language, label, score, analyzed_at FROM text_analysis WHERE response_id = ?1",
			   err, e);
	err = sq_gdpr_nest(c, json_object_get(o, "responses"), "text_themes",
			   "SELECT theme, subtheme, label, score, mentions FROM text_themes WHERE response_id = ?1"
			   " ORDER BY rowid", err, e);
	err = sq_gdpr_put_rows(c, o, "cases", "SELECT * FROM cases WHERE customer_id = ?1 ORDER BY id", id, err,
			       e);
	json_t *cases = json_object_get(o, "cases");
	err = sq_gdpr_nest(c, cases, "notes",
			   "SELECT id, user_id, text, created_at FROM case_notes WHERE case_id = ?1 ORDER BY id", err,
			   e);
	err = sq_gdpr_nest(c, cases, "responses",
			   "SELECT response_id FROM case_responses WHERE case_id = ?1 ORDER BY response_id", err, e);
	err = sq_gdpr_nest(c, cases, "mails",
			   "SELECT id, kind, to_email, language, status, created_at, sent_at FROM case_mails"
			   " WHERE case_id = ?1 ORDER BY id",
			   err, e);
	/* issue 16 H1: the reviews and posts linked to them */
	err = sq_gdpr_put_rows(c, o, "mentions", "SELECT * FROM mentions WHERE customer_id = ?1 ORDER BY id", id, err,
			       e);
	/* issue 16 H3: invitations to write a review (the link's token is a credential: left out) */
	err = sq_gdpr_put_rows(c, o, "review_invitations",
			       "SELECT id, response_id, sent_at, clicked_at, clicks, reviewed_mention_id"
			       " FROM review_invitations WHERE customer_id = ?1 ORDER BY id",
			       id, err, e);
	/* issue 16 H6: the relationship survey waves they were drawn for (and why not invited) */
	err = sq_gdpr_put_rows(c, o, "relationship_samples",
			       "SELECT rs.wave_id, w.name AS wave, w.period, rs.stratum, rs.draw_rank, rs.excluded,"
			       " rs.excluded_at, rs.contact_id, rs.invitation_id FROM relationship_sample rs"
			       " JOIN relationship_waves w ON w.id = rs.wave_id WHERE rs.customer_id = ?1 ORDER BY rs.wave_id",
			       id, err, e);
	/* issue 16 H4: the organisation's own data about them (imported) */
	err = sq_gdpr_put_rows(c, o, "attributes",
			       "SELECT key, value FROM customer_attributes WHERE customer_id = ?1 ORDER BY key", id, err, e);
	err = sq_gdpr_put_rows(c, o, "products_held",
			       "SELECT p.external_id AS product_external_id, p.name AS product, p.category, h.since, h.until"
			       " FROM holdings h JOIN products p ON p.id = h.product_id WHERE h.customer_id = ?1"
			       " ORDER BY p.external_id",
			       id, err, e);
	err = sq_gdpr_put_rows(c, o, "events",
			       "SELECT id, external_id, kind, occurred_at, channel, detail FROM customer_events"
			       " WHERE customer_id = ?1 ORDER BY occurred_at, id",
			       id, err, e);
	json_t *hooks = NULL;
	if (!err)
		err = sq_gdpr_webhooks(c, id, &hooks, NULL, e);
	if (!err)
		json_object_set_new(o, "webhook_events", hooks);
	return err;
}

/* An employee's own data. The customers who answered about them are other
 * people: their ids, contacts and cases are not part of it. */
static ks_err sq_gdpr_employee_json(sq_conn *c, int64_t id, json_t *o, ks_error *e)
{
	json_t *rows = NULL;
	ks_err err = sq_gdpr_rows(c, "SELECT * FROM employees WHERE id = ?1", id, &rows, e);
	if (!err) {
		json_object_set(o, "employee", json_array_get(rows, 0));
		json_decref(rows);
	}
	err = sq_gdpr_put_rows(c, o, "users", "SELECT * FROM users WHERE employee_id = ?1 ORDER BY id", id, err,
			       e);
	err = sq_gdpr_put_rows(c, o, "responses",
			       "SELECT id, received_at, team_id, touchpoint_id, channel, language, nps, grade, ces,"
			       " open_text FROM responses WHERE employee_id = ?1 ORDER BY id",
			       id, err, e);
	err = sq_gdpr_put_rows(c, o, "case_notes",
			       "SELECT id, case_id, created_at FROM case_notes WHERE user_id IN"
			       " (SELECT id FROM users WHERE employee_id = ?1) ORDER BY id",
			       id, err, e);
	err = sq_gdpr_put_rows(c, o, "actions",
			       "SELECT id, title, status, start_date, deadline, created_at FROM actions"
			       " WHERE owner_id IN (SELECT id FROM users WHERE employee_id = ?1)"
			       " OR created_by IN (SELECT id FROM users WHERE employee_id = ?1) ORDER BY id",
			       id, err, e);
	/* Compliments (migration 015): those the person received, with the
	 * lead's note, and those their account gave. */
	err = sq_gdpr_put_rows(c, o, "compliments_received",
			       "SELECT id, response_id, from_user_id, note, created_at, mail_status, sent_at"
			       " FROM compliments WHERE employee_id = ?1 ORDER BY id",
			       id, err, e);
	err = sq_gdpr_put_rows(c, o, "compliments_given",
			       "SELECT id, response_id, employee_id, note, created_at FROM compliments"
			       " WHERE from_user_id IN (SELECT id FROM users WHERE employee_id = ?1) ORDER BY id",
			       id, err, e);
	/* issue 17 P: the pulse waves they were invited to (the link's token
	 * hash is a credential: left out; their answers are not linked to
	 * them, by design, so there are none to give) */
	err = sq_gdpr_put_rows(c, o, "pulse_invitations",
			       "SELECT id, wave_id, team_id, language, status, sent_at FROM pulse_invitations"
			       " WHERE employee_id = ?1 ORDER BY id",
			       id, err, e);
	return sq_gdpr_put_rows(c, o, "audit",
				"SELECT id, at, client_addr, action, object_kind, object_id FROM audit_log"
				" WHERE actor_user_id IN (SELECT id FROM users WHERE employee_id = ?1) ORDER BY id",
				id, err, e);
}

ks_err store_gdpr_export(ks_store *s, store_subject_kind k, int64_t id, json_t **out, bool *erased,
			 ks_error *e)
{
	bool was = false;
	sq_conn *c = sq_acquire(s);
	/* One read transaction: the parts agree with each other. */
	ks_err err = sq_exec(c, "BEGIN", e);
	if (!err)
		err = sq_gdpr_subject(c, k, id, &was, e);
	json_t *o = NULL;
	if (!err) {
		o = json_pack("{s:s, s:I, s:o}", "kind", sq_subject_name(k), "id", (json_int_t)id,
			      "exported_at", sq_iso_or_null(clock_now(s->clock)));
		err = o == NULL ? ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory")
		      : k == STORE_SUBJECT_CUSTOMER ? sq_gdpr_customer_json(c, id, o, e)
						    : sq_gdpr_employee_json(c, id, o, e);
	}
	sq_release(s, c); /* ends the read transaction */
	if (erased)
		*erased = was;
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return KS_OK;
}

/* ---- erasure ---- */

/* Set every column of row id of table that may be NULL to NULL, except
 * those in keep (NULL-terminated): a column a later migration adds (a
 * phone number) is blanked without a change here. table is a static name;
 * the column names come from the schema, never from input. */
static ks_err sq_gdpr_blank(sq_conn *c, const char *table, const char *const *keep, int64_t id,
			    ks_error *e)
{
	/* The nullable columns that are not the key, from each backend's
	 * catalogue (table is bound, never spliced). */
	const char *cols_sql =
		db_conn_kind(c->db) == DB_POSTGRES
			? "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
			  " AND table_name = ?1 AND is_nullable = 'YES' AND column_name <> 'id' ORDER BY ordinal_position"
			: "SELECT name FROM pragma_table_info(?1) WHERE \"notnull\" = 0 AND pk = 0";
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, cols_sql, &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, table, -1, DB_STATIC);
	ks_buf set;
	buf_init(&set, 1 << 16);
	ks_err berr = buf_printf(&set, "UPDATE \"%s\" SET id = id", table);
	int rc;
	while (!berr && (rc = db_step(st)) == DB_ROW) {
		const char *col = (const char *)db_column_text(st, 0);
		bool kept = false;
		for (size_t i = 0; keep[i]; i++)
			kept = kept || strcmp(keep[i], col) == 0;
		if (!kept)
			berr = buf_printf(&set, ", \"%s\" = NULL", col);
	}
	db_finalize(st);
	if (!berr)
		berr = buf_puts(&set, " WHERE id = ?1");
	if (berr) {
		buf_free(&set);
		return ks_fail(e, berr, NULL, "out of memory");
	}
	err = sq_gdpr_run(c, set.data, id, 0, NULL, e);
	buf_free(&set);
	return err;
}

static ks_err sq_erase_customer(ks_store *s, sq_conn *c, int64_t id, int64_t now, store_erase_counts *n,
				sq_text_buf *tb, ks_error *e)
{
	const char *cases = "(SELECT id FROM cases WHERE customer_id = ?1)";
	char sql[256];
	snprintf(sql, sizeof sql, "DELETE FROM case_mails WHERE case_id IN %s", cases);
	ks_err err = sq_gdpr_run(c, sql, id, 0, &n->case_mails, e);
	snprintf(sql, sizeof sql, "DELETE FROM case_notes WHERE case_id IN %s", cases);
	if (!err)
		err = sq_gdpr_run(c, sql, id, 0, &n->case_notes, e);
	snprintf(sql, sizeof sql, "DELETE FROM case_responses WHERE case_id IN %s", cases);
	if (!err)
		err = sq_gdpr_run(c, sql, id, 0, NULL, e);
	if (!err)
		err = sq_gdpr_run(c, "DELETE FROM cases WHERE customer_id = ?1", id, 0, &n->cases, e);
	/* The text first and on its own (only rows that have one): the FTS
	 * trigger then removes exactly the documents that were indexed. */
	if (!err) /* issue 14: the analysis goes with the text (and the index hears of it) */
		err = sq_text_remove(s, c,
				     "SELECT id FROM responses WHERE customer_id = ?1"
				     " OR contact_id IN (SELECT id FROM contacts WHERE customer_id = ?1)",
				     id, tb, e);
	if (!err)
		err = sq_gdpr_run(c,
				  "UPDATE responses SET open_text = NULL WHERE open_text IS NOT NULL AND"
				  " (customer_id = ?1 OR contact_id IN (SELECT id FROM contacts WHERE customer_id = ?1))",
				  id, 0, &n->open_texts, e);
	if (!err)
		err = sq_gdpr_run(c,
				  "UPDATE responses SET customer_id = NULL, contact_id = NULL, client_key = NULL,"
				  " contact_consent = NULL WHERE customer_id = ?1"
				  " OR contact_id IN (SELECT id FROM contacts WHERE customer_id = ?1)",
				  id, 0, &n->responses, e);
	if (!err)
		err = sq_gdpr_run(c,
				  "DELETE FROM invitations WHERE customer_id = ?1"
				  " OR contact_id IN (SELECT id FROM contacts WHERE customer_id = ?1)",
				  id, 0, &n->invitations, e);
	if (!err) /* issue 16 H3: review invitations (their token and click) go with the customer */
		err = sq_gdpr_run(c, "DELETE FROM review_invitations WHERE customer_id = ?1", id, 0, NULL, e);
	/* issue 16 H1: a review stays (a public text, counted in the mention
	 * figures), its link to the customer and its author's name go (H7:
	 * and the external id it named, which would link it again) */
	if (!err)
		err = sq_gdpr_run(c,
				  "UPDATE mentions SET customer_id = NULL, author = NULL, customer_external_id = NULL,"
				  " erased_at = ?2 WHERE customer_id = ?1", /* H9: marked, so no import restores them */
				  id, now, NULL, e);
	if (!err) /* issue 16 H6: their place in relationship samples goes (the strata's sizes stay) */
		err = sq_gdpr_run(c, "DELETE FROM relationship_sample WHERE customer_id = ?1", id, 0, NULL, e);
	/* issue 16 H4: the organisation's own data about them goes (the
	 * tombstone's external id becomes erased-N below, so an import never
	 * matches it again: the same id imported later is a new customer) */
	if (!err)
		err = sq_gdpr_run(c, "DELETE FROM customer_attributes WHERE customer_id = ?1", id, 0, NULL, e);
	if (!err)
		err = sq_gdpr_run(c, "DELETE FROM holdings WHERE customer_id = ?1", id, 0, NULL, e);
	if (!err)
		err = sq_gdpr_run(c, "DELETE FROM customer_events WHERE customer_id = ?1", id, 0, NULL, e);
	if (!err)
		err = sq_gdpr_run(c, "DELETE FROM contacts WHERE customer_id = ?1", id, 0, &n->contacts, e);
	sq_id_list hooks = {0};
	if (!err)
		err = sq_gdpr_webhooks(c, id, NULL, &hooks, e);
	for (size_t i = 0; !err && i < hooks.n; i++)
		err = sq_gdpr_run(c, "DELETE FROM webhook_outbox WHERE id = ?1", hooks.v[i], 0, &n->webhook_events, e);
	free(hooks.v);
	/* The row stays as a tombstone, so its id is never given to another
	 * customer (SQLite reuses the highest rowid once deleted) and the
	 * erasure record and audit entries keep meaning this one; it is opted
	 * out, so no invitation can reach a new contact filed under it. */
	/* issue 16 H8: erased_at (migration 023) marks the tombstone; every
	 * look-up by external id and the relationship frame skip it by that
	 * marker, not by the 'erased-' text (which the intakes refuse) */
	const char *keep[] = {"opted_out_at", "erased_at", NULL};
	if (!err)
		err = sq_gdpr_blank(c, "customers", keep, id, e);
	if (!err)
		err = sq_gdpr_run(c,
				  "UPDATE customers SET external_id = 'erased-' || id,"
				  " opted_out_at = coalesce(opted_out_at, ?2), erased_at = ?2 WHERE id = ?1",
				  id, now, NULL, e);
	return err;
}

static ks_err sq_erase_employee(sq_conn *c, int64_t id, int64_t now, store_erase_counts *n, ks_error *e)
{
	const char *users = "(SELECT id FROM users WHERE employee_id = ?1)";
	char sql[320];
	int64_t open_actions = 0;
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM actions WHERE status IN ('planned','in_progress') AND owner_id IN %s", users);
	ks_err err = sq_one_id(c, sql, id, &open_actions, e);
	/* As store_user_delete: an open action needs an owner who can act. */
	if (!err && open_actions > 0)
		return ks_fail(e, KS_ERR_CONFLICT, "id",
			       "the employee's account owns %" PRId64 " open improvement action%s: give %s another owner first",
			       open_actions, open_actions == 1 ? "" : "s", open_actions == 1 ? "it" : "them");
	/* Mails to the person's addresses (case notices), sent or not. */
	if (!err)
		err = sq_gdpr_run(c,
				  "DELETE FROM case_mails WHERE kind <> 'customer' AND (to_email IN"
				  " (SELECT email FROM users WHERE employee_id = ?1) OR to_email ="
				  " (SELECT email FROM employees WHERE id = ?1))",
				  id, 0, &n->case_mails, e);
	/* Burst alerts of the open-link guard (migration 011) to their accounts
	 * (counted with the case mails: mails to the person). */
	if (!err)
		err = sq_gdpr_run(c,
				  "DELETE FROM guard_mails WHERE to_email IN (SELECT email FROM users WHERE employee_id = ?1)",
				  id, 0, &n->case_mails, e);
	/* Compliments to the person: the lead's note may name them, and the
	 * mail would go to an address that is about to go. */
	if (!err)
		err = sq_gdpr_run(c, "DELETE FROM compliments WHERE employee_id = ?1", id, 0, NULL, e);
	snprintf(sql, sizeof sql, "DELETE FROM sessions WHERE user_id IN %s", users);
	if (!err)
		err = sq_gdpr_run(c, sql, id, 0, NULL, e);
	snprintf(sql, sizeof sql, "DELETE FROM api_tokens WHERE user_id IN %s", users);
	if (!err)
		err = sq_gdpr_run(c, sql, id, 0, NULL, e);
	snprintf(sql, sizeof sql,
		 "UPDATE cases SET owner_user_id = NULL, version = version + 1, updated_at = ?2"
		 " WHERE status IN ('new','contacted') AND owner_user_id IN %s",
		 users);
	if (!err)
		err = sq_gdpr_run(c, sql, id, now, NULL, e);
	/* The account stays as a tombstone (notes, actions, goals and audit
	 * entries keep a valid reference), the same as store_user_delete's. */
	if (!err)
		err = sq_gdpr_run(c,
				  "UPDATE users SET email = 'deleted-' || id || '@deleted.invalid',"
				  " name = 'deleted account ' || id, employee_id = NULL, unit_id = NULL,"
				  " password_hash = '!', disabled = 1, deleted_at = coalesce(deleted_at, ?2)"
				  " WHERE employee_id = ?1",
				  id, now, &n->users, e);
	if (!err)
		err = sq_gdpr_run(c, "UPDATE responses SET employee_id = NULL WHERE employee_id = ?1", id, 0,
				  &n->responses, e);
	if (!err)
		err = sq_gdpr_run(c, "UPDATE contacts SET employee_id = NULL WHERE employee_id = ?1", id, 0,
				  &n->contacts, e);
	if (!err)
		err = sq_gdpr_run(c, "UPDATE invitations SET employee_id = NULL WHERE employee_id = ?1", id, 0,
				  &n->invitations, e);
	if (!err) /* issue 17 P: their pulse invitations go (the answers never pointed at them) */
		err = sq_gdpr_run(c, "DELETE FROM pulse_invitations WHERE employee_id = ?1", id, 0, NULL, e);
	/* A tombstone, as for customers: the id is not reused. */
	const char *keep[] = {"active", NULL};
	if (!err)
		err = sq_gdpr_blank(c, "employees", keep, id, e);
	if (!err)
		err = sq_gdpr_run(c, "UPDATE employees SET first_name = '', last_name = '', active = 0 WHERE id = ?1",
				  id, 0, NULL, e);
	return err;
}

json_t *store_erase_counts_json(const store_erase_counts *n)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "responses", n->responses,
			 "open_texts", n->open_texts, "contacts", n->contacts, "invitations", n->invitations,
			 "cases", n->cases, "case_notes", n->case_notes, "case_mails", n->case_mails,
			 "webhook_events", n->webhook_events, "users", n->users);
}

static ks_err sq_erasure_record(ks_store *s, sq_conn *c, store_subject_kind k, int64_t id,
				store_erasure *x, const char *counts, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO erasures(subject_kind, subject_id, erased_at, erased_by, via, counts)"
			      " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
			      &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, sq_subject_name(k), -1, DB_STATIC);
	db_bind_int64(st, 2, id);
	db_bind_int64(st, 3, x->erased_at);
	sq_bind_id(st, 4, x->by_user_id);
	db_bind_text(st, 5, x->via && strcmp(x->via, "cli") == 0 ? "cli" : "api", -1, DB_STATIC);
	db_bind_text(st, 6, counts, -1, DB_STATIC);
	err = sq_cstep(c, st, e);
	if (err)
		return err;
	x->erasure_id = db_last_insert_rowid(c->db);
	char detail[512];
	snprintf(detail, sizeof detail, "{\"erasure_id\":%" PRId64 ",\"via\":\"%s\",\"counts\":%s}",
		 x->erasure_id, x->via && strcmp(x->via, "cli") == 0 ? "cli" : "api", counts);
	store_audit_entry a = {
		.at = x->erased_at,
		.actor_user_id = x->by_user_id,
		.client_addr = x->client_addr,
		.action = k == STORE_SUBJECT_CUSTOMER ? "customer.erase" : "employee.erase",
		.object_kind = sq_subject_name(k),
		.object_id = id,
		.detail = detail,
	};
	return sq_audit_insert(s, c, &a, e);
}

ks_err store_gdpr_erase(ks_store *s, store_subject_kind k, int64_t id, store_erasure *x, ks_error *e)
{
	memset(&x->counts, 0, sizeof x->counts);
	x->already = false;
	x->erasure_id = 0;
	x->erased_at = clock_now(s->clock);
	sq_conn *c = sq_acquire(s);
	/* Zero the pages the erased rows leave, so the text is not left in the
	 * file's free space; only for this connection and this transaction. */
	ks_err err = sq_exec(c, "PRAGMA secure_delete = ON", e);
	if (!err)
		err = sq_exec(c, "BEGIN IMMEDIATE", e);
	bool erased = false;
	if (!err)
		err = sq_gdpr_subject(c, k, id, &erased, e);
	/* Erased before: the tombstone's id still resolves, so whatever was
	 * filed under it since goes the same way. Nothing found: nothing done,
	 * nothing recorded (a second erase is harmless). */
	if (err == KS_ERR_NOTFOUND && erased) {
		err = KS_OK;
		if (e)
			ks_error_clear(e);
	}
	sq_text_buf tb = {0}; /* issue 14: removed analyses, for the text hook */
	if (!err)
		err = k == STORE_SUBJECT_CUSTOMER ? sq_erase_customer(s, c, id, x->erased_at, &x->counts, &tb, e)
						  : sq_erase_employee(c, id, x->erased_at, &x->counts, e);
	static const store_erase_counts none = {0};
	if (!err && erased && memcmp(&x->counts, &none, sizeof none) == 0) {
		x->already = true;
		sq_exec(c, "ROLLBACK", NULL);
		sq_exec(c, "PRAGMA secure_delete = OFF", NULL);
		sq_release(s, c);
		sq_text_buf_free(&tb);
		return KS_OK;
	}
	char *counts = NULL;
	if (!err) {
		json_t *cj = store_erase_counts_json(&x->counts);
		counts = cj ? json_dumps(cj, JSON_COMPACT) : NULL;
		json_decref(cj);
		if (counts == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	if (!err)
		err = sq_erasure_record(s, c, k, id, x, counts, e);
	/* Merge the full-text index into one segment: a deleted document's
	 * tokens stay in older segments (as delete markers beside them) until
	 * a merge, and the erased text must not survive there. (PostgreSQL,
	 * issue 18: a deleted row's tsvector goes with the row, migrations/pg/005;
	 * nothing to merge.) */
	if (!err && x->counts.open_texts > 0 && db_conn_kind(c->db) == DB_SQLITE)
		err = sq_exec(c, "INSERT INTO responses_fts(responses_fts) VALUES('optimize')", e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	free(counts);
	if (err)
		db_exec(c->db, "ROLLBACK");
	sq_exec(c, "PRAGMA secure_delete = OFF", NULL);
	sq_release(s, c);
	if (!err)
		sq_text_notify(s, &tb);
	sq_text_buf_free(&tb);
	return err;
}

/* ---- retention ---- */

static const char *const sq_retention_kinds[STORE_RETENTION__COUNT] = {
	[STORE_RETENTION_OPEN_TEXT] = "open_text",
	[STORE_RETENTION_CONTACTS] = "contacts",
	[STORE_RETENTION_CLOSED_CASES] = "closed_cases",
};

const char *store_retention_kind_name(store_retention_kind k)
{
	return k < STORE_RETENTION__COUNT ? sq_retention_kinds[k] : "";
}

ks_err store_retention_get(ks_store *s, store_retention *r, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT kind, months, coalesce(updated_by, 0), updated_at FROM retention_policy",
			      &st, e);
	int rc = DB_DONE;
	while (!err && (rc = db_step(st)) == DB_ROW) {
		const char *kind = sq_ctext(st, 0);
		for (int k = 0; k < STORE_RETENTION__COUNT; k++) {
			if (strcmp(kind, sq_retention_kinds[k]) != 0)
				continue;
			r->months[k] = db_column_int(st, 1);
			r->stored[k] = true;
			if (db_column_int64(st, 3) > r->updated_at) {
				r->updated_at = db_column_int64(st, 3);
				r->updated_by = db_column_int64(st, 2);
			}
		}
	}
	if (!err && rc != DB_DONE)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	sq_release(s, c);
	return err;
}

ks_err store_retention_put(ks_store *s, const store_retention *r, const store_audit_entry *audit,
			   ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	int64_t now = clock_now(s->clock);
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	for (int k = 0; !err && k < STORE_RETENTION__COUNT; k++) {
		if (!r->stored[k])
			continue;
		db_stmt *st = NULL;
		err = sq_cprep(c,
			       "INSERT INTO retention_policy(kind, months, updated_by, updated_at)"
			       " VALUES(?1, ?2, ?3, ?4) ON CONFLICT(kind) DO UPDATE SET months = excluded.months,"
			       " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
			       &st, e);
		if (err)
			break;
		db_bind_text(st, 1, sq_retention_kinds[k], -1, DB_STATIC);
		db_bind_int(st, 2, r->months[k]);
		sq_bind_id(st, 3, r->updated_by);
		db_bind_int64(st, 4, now);
		err = sq_cstep(c, st, e);
	}
	/* A new policy applies at the next pass of the scheduler: a last run
	 * at 0 is always due. */
	if (!err)
		err = sq_exec(c,
			      "INSERT INTO retention_state(id, last_run_at) VALUES(1, 0)"
			      " ON CONFLICT(id) DO UPDATE SET last_run_at = 0",
			      e);
	if (!err && audit)
		err = sq_audit_insert(s, c, audit, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	sq_release(s, c);
	return err;
}

ks_err store_retention_last_run(ks_store *s, int64_t *at, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_one_id(c, "SELECT coalesce((SELECT last_run_at FROM retention_state WHERE id = ?1), -1)",
			       1, at, e);
	sq_release(s, c);
	return err;
}

static ks_err sq_retention_open_text(ks_store *s, sq_conn *c, int64_t cut, store_retention_counts *n,
				     sq_text_buf *tb, ks_error *e)
{
	/* issue 14: the analysis goes with the text (and the index hears of it) */
	ks_err err = sq_text_remove(s, c,
				    "SELECT id FROM responses WHERE open_text IS NOT NULL AND received_at < ?1",
				    cut, tb, e);
	if (err)
		return err;
	return sq_gdpr_run(c,
			   "UPDATE responses SET open_text = NULL WHERE open_text IS NOT NULL AND received_at < ?1",
			   cut, 0, &n->open_texts, e);
}

/* Contacts older than the cut go with their invitations; responses keep
 * their scores and lose the contact. */
static ks_err sq_retention_contacts(sq_conn *c, int64_t cut, store_retention_counts *n, ks_error *e)
{
	const char *old = "(SELECT id FROM contacts WHERE occurred_at < ?1)";
	char sql[256];
	snprintf(sql, sizeof sql, "UPDATE responses SET contact_id = NULL WHERE contact_id IN %s", old);
	ks_err err = sq_gdpr_run(c, sql, cut, 0, NULL, e);
	snprintf(sql, sizeof sql,
		 "UPDATE cases SET resurvey_invitation_id = NULL WHERE resurvey_invitation_id IN"
		 " (SELECT id FROM invitations WHERE contact_id IN %s)",
		 old);
	if (!err)
		err = sq_gdpr_run(c, sql, cut, 0, NULL, e);
	snprintf(sql, sizeof sql, "DELETE FROM invitations WHERE contact_id IN %s", old);
	if (!err)
		err = sq_gdpr_run(c, sql, cut, 0, &n->invitations, e);
	if (!err)
		err = sq_gdpr_run(c, "DELETE FROM contacts WHERE occurred_at < ?1", cut, 0, &n->contacts, e);
	/* Delivered or abandoned webhook events of that age name customers too. */
	if (!err)
		err = sq_gdpr_run(c, "DELETE FROM webhook_outbox WHERE status <> 'pending' AND created_at < ?1",
				  cut, 0, NULL, e);
	return err;
}

static ks_err sq_retention_cases(sq_conn *c, int64_t cut, store_retention_counts *n, ks_error *e)
{
	const char *old = "(SELECT id FROM cases WHERE status IN ('resolved','closed')"
			  " AND coalesce(closed_at, resolved_at, opened_at) < ?1)";
	char sql[320];
	snprintf(sql, sizeof sql, "DELETE FROM case_mails WHERE case_id IN %s", old);
	ks_err err = sq_gdpr_run(c, sql, cut, 0, NULL, e);
	snprintf(sql, sizeof sql, "DELETE FROM case_notes WHERE case_id IN %s", old);
	if (!err)
		err = sq_gdpr_run(c, sql, cut, 0, NULL, e);
	snprintf(sql, sizeof sql, "DELETE FROM case_responses WHERE case_id IN %s", old);
	if (!err)
		err = sq_gdpr_run(c, sql, cut, 0, NULL, e);
	if (!err)
		err = sq_gdpr_run(c,
				  "DELETE FROM cases WHERE status IN ('resolved','closed')"
				  " AND coalesce(closed_at, resolved_at, opened_at) < ?1",
				  cut, 0, &n->cases, e);
	return err;
}

ks_err store_retention_apply(ks_store *s, const int64_t cut[STORE_RETENTION__COUNT], int64_t now,
			     store_retention_counts *n, ks_error *e)
{
	memset(n, 0, sizeof *n);
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_exec(c, "PRAGMA secure_delete = ON", e);
	if (!err)
		err = sq_exec(c, "BEGIN IMMEDIATE", e);
	sq_text_buf tb = {0}; /* issue 14: removed analyses, for the text hook */
	if (!err && cut[STORE_RETENTION_OPEN_TEXT])
		err = sq_retention_open_text(s, c, cut[STORE_RETENTION_OPEN_TEXT], n, &tb, e);
	if (!err && cut[STORE_RETENTION_CONTACTS])
		err = sq_retention_contacts(c, cut[STORE_RETENTION_CONTACTS], n, e);
	if (!err && cut[STORE_RETENTION_CLOSED_CASES])
		err = sq_retention_cases(c, cut[STORE_RETENTION_CLOSED_CASES], n, e);
	if (!err && n->open_texts > 0 && db_conn_kind(c->db) == DB_SQLITE) /* as in the erasure */
		err = sq_exec(c, "INSERT INTO responses_fts(responses_fts) VALUES('optimize')", e);
	if (!err)
		err = sq_gdpr_run(c,
				  "INSERT INTO retention_state(id, last_run_at) VALUES(1, ?1)"
				  " ON CONFLICT(id) DO UPDATE SET last_run_at = excluded.last_run_at",
				  now, 0, NULL, e);
	/* Only a pass that removed something is worth an entry (it runs
	 * hourly). */
	if (!err && (n->open_texts || n->contacts || n->invitations || n->cases)) {
		char detail[256];
		snprintf(detail, sizeof detail,
			 "{\"open_texts\":%d,\"contacts\":%d,\"invitations\":%d,\"cases\":%d}", n->open_texts,
			 n->contacts, n->invitations, n->cases);
		store_audit_entry a = {.at = now, .action = "retention.run", .object_kind = "retention",
				       .detail = detail};
		err = sq_audit_insert(s, c, &a, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err)
		db_exec(c->db, "ROLLBACK");
	sq_exec(c, "PRAGMA secure_delete = OFF", NULL);
	sq_release(s, c);
	if (!err)
		sq_text_notify(s, &tb);
	sq_text_buf_free(&tb);
	return err;
}
