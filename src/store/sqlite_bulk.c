/* sqlite_bulk.c — the store's bulk loading (store_survey.h, "bulk loading"):
 * the demo's data and `klantstem import`, one transaction on a connection
 * of their own, many rows per INSERT statement (issue 18).
 *
 * Why rows are gathered: on PostgreSQL every statement is a round trip to
 * the server, so the demo at scale 5 (57k rows) took 36 s one row a
 * statement. SQLite pays little per statement, and the same multi-row text
 * is no slower there, so both backends run one SQL text. A row waits in its
 * table's queue (its values copied) until the queue holds a statement's
 * worth of rows, or a caller needs the rows in the database (sq_bulk_flush).
 *
 * Why the ids are chosen here: a caller needs a row's id at once (a
 * contact's id goes into its invitation and response) while the row still
 * waits. The ids are the ones the database would give: on SQLite max(id)+1
 * onward (the bulk transaction holds the write lock from BEGIN IMMEDIATE,
 * and no table here is AUTOINCREMENT); on PostgreSQL blocks of the identity
 * sequence's next values, so a live server's other sessions never take an
 * id given here. On a fresh database both give 1, 2, 3 ..., so the demo's
 * data are the same on both backends and the same as one row a statement
 * gave (the demo moves PostgreSQL's sequences to max(id) afterwards, which
 * drops the unused rest of a block).
 *
 * Order: the queues are declared in the order of their foreign keys, and a
 * queue flushes the queues before it first, so every referenced row is in
 * the database before a statement with a row referring to it; rows of one
 * statement may refer to each other (a team to its department): both
 * backends check foreign keys at the end of the statement.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"

/* Rows per statement: a round trip per 500 rows costs little next to the
 * rows; the parameters stay under SQLite's 32766 and PostgreSQL's 65535. */
#define SQ_BULK_ROWS 500
#define SQ_BULK_MAX_PARAMS 30000
/* sqlite_events.c's CONTACT_DEFAULT_TTL: a contact's invitation window
 * when the caller gives none. */
#define SQ_BULK_CONTACT_TTL (14 * 86400)
/* PostgreSQL: ids are reserved in blocks that grow from 16 to this, so a
 * small table (twelve org units) leaves a small gap. */
#define SQ_BULK_ID_BLOCK 256
#define SQ_BULK_ID_TABLES 16

/* The queues, in foreign-key order. */
typedef enum {
	BQ_ENTITY,      /* one entity table at a time (customers, org units ...) */
	BQ_CONTACT,
	BQ_INVITATION,
	BQ_RESPONSE,
	BQ_DRIVER,
	BQ_YESNO,
	BQ_N
} bq_kind;

typedef enum { BQ_NULL, BQ_INT, BQ_TEXT } bq_type;

/* Statements of 2^0 .. 2^8 rows (bq_write). */
#define BQ_POW_SLOTS 9

typedef struct bq_val {
	bq_type type;
	int64_t i;   /* BQ_INT */
	size_t off;  /* BQ_TEXT: offset of its NUL-terminated copy in the queue's text */
} bq_val;

typedef struct bq_queue {
	char *head;     /* "INSERT INTO t(a, b) VALUES" (owned) */
	int ncol, cap;  /* columns; rows per full statement */
	int n, k;       /* rows complete; values of the row being added */
	bq_val *v;      /* cap * ncol */
	ks_buf text;
	db_stmt *st[1 + BQ_POW_SLOTS];  /* by bq_stmt's slot */
} bq_queue;

/* Ids reserved for one table: ids[at..n) are free. */
typedef struct bq_ids {
	char table[64];
	int64_t ids[SQ_BULK_ID_BLOCK];
	int at, n, block;
	int64_t top;  /* SQLite: the last id given */
	bool known;   /* SQLite: top read */
} bq_ids;

struct sq_bulk_q {
	bq_queue q[BQ_N];
	bq_ids ids[SQ_BULK_ID_TABLES];
	int n_ids;
};

/* ---- one queue -------------------------------------------------------------------------- */

static void bq_queue_clear(bq_queue *q)
{
	free(q->head);
	free(q->v);
	buf_free(&q->text);
	for (int i = 0; i <= BQ_POW_SLOTS; i++)
		db_finalize(q->st[i]);
	memset(q, 0, sizeof *q);
}

/* Make q the queue of head with ncol columns (q is empty). */
static ks_err bq_queue_set(bq_queue *q, const char *head, int ncol, ks_error *e)
{
	bq_queue_clear(q);
	q->head = strdup(head);
	q->ncol = ncol;
	q->cap = SQ_BULK_ROWS;
	if (q->cap * ncol > SQ_BULK_MAX_PARAMS)
		q->cap = SQ_BULK_MAX_PARAMS / ncol;
	q->v = calloc((size_t)q->cap * (size_t)ncol, sizeof *q->v);
	buf_init(&q->text, (size_t)1 << 30);
	if (q->head == NULL || q->v == NULL) {
		bq_queue_clear(q);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	return KS_OK;
}

static bq_val *bq_next(bq_queue *q)
{
	return &q->v[q->n * q->ncol + q->k++];
}

static void bq_int(bq_queue *q, int64_t v)
{
	bq_val *x = bq_next(q);
	x->type = BQ_INT;
	x->i = v;
}

static void bq_null(bq_queue *q)
{
	bq_next(q)->type = BQ_NULL;
}

/* An id column: 0 is NULL (as sq_bind_id). */
static void bq_id(bq_queue *q, int64_t id)
{
	if (id)
		bq_int(q, id);
	else
		bq_null(q);
}

/* A text, copied; NULL is NULL. */
static ks_err bq_text(bq_queue *q, const char *s, ks_error *e)
{
	bq_val *x = bq_next(q);
	if (s == NULL) {
		x->type = BQ_NULL;
		return KS_OK;
	}
	x->type = BQ_TEXT;
	x->off = q->text.len;
	if (buf_append(&q->text, s, strlen(s) + 1))
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

/* "INSERT ... VALUES (?, ?), (?, ?) ..." for rows rows. Bare ? and not
 * ?NNN: SQLite looks a ?NNN up in a list of the names so far, so a
 * statement of n numbered parameters took O(n^2) to prepare (half the
 * demo's time at 4500 parameters). db_pg_sql.c numbers bare ? in order. */
static ks_err bq_sql(const bq_queue *q, int rows, ks_buf *sql)
{
	ks_err err = buf_puts(sql, q->head);
	for (int r = 0; r < rows && !err; r++) {
		err = buf_puts(sql, r ? ", (" : " (");
		for (int c = 0; c < q->ncol && !err; c++)
			err = buf_puts(sql, c ? ", ?" : "?");
		if (!err)
			err = buf_puts(sql, ")");
	}
	return err;
}

/* The statement for rows rows: slot 0 is the full one (cap rows), slot
 * j >= 1 the one of 2^(j-1) rows; each is prepared once and reused. */
static ks_err bq_stmt(sq_conn *c, bq_queue *q, int slot, int rows, db_stmt **out, ks_error *e)
{
	if (q->st[slot] == NULL) {
		ks_buf sql;
		buf_init(&sql, (size_t)1 << 24);
		ks_err err = bq_sql(q, rows, &sql);
		int rc = err ? DB_NOMEM : db_prepare(c->db, sql.data, &q->st[slot]);
		buf_free(&sql);
		if (rc != DB_OK)
			return sq_fail(c, rc, e);
	}
	*out = q->st[slot];
	return KS_OK;
}

/* Rows [r0, r0 + rows) of q by the statement of slot. */
static ks_err bq_write_rows(sq_conn *c, bq_queue *q, int slot, int r0, int rows, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = bq_stmt(c, q, slot, rows, &st, e);
	if (err)
		return err;
	int p = 0;
	for (int i = r0 * q->ncol; i < (r0 + rows) * q->ncol; i++) {
		const bq_val *x = &q->v[i];
		p++;
		if (x->type == BQ_INT)
			db_bind_int64(st, p, x->i);
		else if (x->type == BQ_TEXT)
			db_bind_text(st, p, q->text.data + x->off, -1, DB_STATIC);
		else
			db_bind_null(st, p);
	}
	int rc = db_step(st);
	db_reset(st);
	db_clear_bindings(st);
	return rc == DB_DONE ? KS_OK : sq_fail(c, rc, e);
}

/* Write q's complete rows: a full queue in one statement, fewer rows (a
 * queue written early for the rows after it, or the last rows) in
 * statements of 256, 128 ... 1 rows. Why not one statement of exactly n:
 * it would be prepared anew each time, and preparing thousands of
 * parameters costs more than running them (a third of the demo's time on
 * SQLite); at most nine statements, each prepared once per session. */
static ks_err bq_write(sq_conn *c, bq_queue *q, ks_error *e)
{
	ks_err err = KS_OK;
	if (q->n == 0)
		return KS_OK;
	if (q->n == q->cap) {
		err = bq_write_rows(c, q, 0, 0, q->n, e);
	} else {
		int r0 = 0;
		for (int j = BQ_POW_SLOTS; j >= 1 && !err; j--) {
			int rows = 1 << (j - 1);
			if (q->n - r0 >= rows && rows <= q->cap) {
				err = bq_write_rows(c, q, j, r0, rows, e);
				r0 += rows;
			}
		}
		/* more than 511 rows under a cap above 512: the rest by 256s */
		while (!err && r0 < q->n) {
			int rows = q->n - r0 >= 256 ? 256 : 1;
			err = bq_write_rows(c, q, rows == 256 ? 9 : 1, r0, rows, e);
			r0 += rows;
		}
	}
	q->n = 0;
	buf_reset(&q->text);
	return err;
}

/* Write the queues up to and including last, in order. */
static ks_err bq_flush_to(store_bulk *b, bq_kind last, ks_error *e)
{
	ks_err err = KS_OK;
	for (int i = 0; i <= (int)last && !err; i++)
		err = bq_write(b->c, &b->q->q[i], e);
	return err;
}

/* The row being added to queue kind is complete: a full queue is written
 * (after the queues it refers to). */
static ks_err bq_row_done(store_bulk *b, bq_kind kind, ks_error *e)
{
	bq_queue *q = &b->q->q[kind];
	q->k = 0;
	q->n++;
	return q->n == q->cap ? bq_flush_to(b, kind, e) : KS_OK;
}

ks_err sq_bulk_flush(store_bulk *b, ks_error *e)
{
	return bq_flush_to(b, BQ_N - 1, e);
}

/* ---- ids ------------------------------------------------------------------------------- */

/* PostgreSQL: the next block of table's identity sequence. */
static ks_err bq_ids_reserve_pg(sq_conn *c, bq_ids *t, ks_error *e)
{
	t->block = t->block ? t->block * 2 : 16;
	if (t->block > SQ_BULK_ID_BLOCK)
		t->block = SQ_BULK_ID_BLOCK;
	db_stmt *st;
	ks_err err = sq_cprep(c, "SELECT nextval(pg_get_serial_sequence(?1, 'id'))"
			      " FROM generate_series(1, CAST(?2 AS INTEGER))", &st, e);
	if (err)
		return err;
	db_bind_text(st, 1, t->table, -1, DB_STATIC);
	db_bind_int(st, 2, t->block);
	int rc;
	t->at = t->n = 0;
	while ((rc = db_step(st)) == DB_ROW && t->n < SQ_BULK_ID_BLOCK)
		t->ids[t->n++] = db_column_int64(st, 0);
	err = rc == DB_DONE || rc == DB_ROW ? KS_OK : sq_fail(c, rc, e);
	db_finalize(st);
	if (!err && t->n == 0)
		err = ks_fail(e, KS_ERR_DB, NULL, "no ids from the sequence of %s", t->table);
	return err;
}

/* SQLite: the table's largest id, once (the write lock is held). */
static ks_err bq_ids_top_sqlite(sq_conn *c, bq_ids *t, ks_error *e)
{
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT coalesce(max(id), 0) FROM %s", t->table);
	db_stmt *st;
	ks_err err = sq_cprep(c, sql, &st, e);
	if (!err)
		err = sq_cfirst(c, st, &t->top, e);
	t->known = !err;
	return err;
}

/* The id the next row of table gets. */
static ks_err bq_take_id(store_bulk *b, const char *table, int64_t *id, ks_error *e)
{
	struct sq_bulk_q *bq = b->q;
	bq_ids *t = NULL;
	for (int i = 0; i < bq->n_ids && t == NULL; i++)
		if (strcmp(bq->ids[i].table, table) == 0)
			t = &bq->ids[i];
	if (t == NULL) {
		if (bq->n_ids == SQ_BULK_ID_TABLES || strlen(table) >= sizeof t->table)
			return ks_fail(e, KS_ERR_INTERNAL, NULL, "bulk load: too many tables");
		t = &bq->ids[bq->n_ids++];
		snprintf(t->table, sizeof t->table, "%s", table);
	}
	ks_err err = KS_OK;
	if (db_conn_kind(b->c->db) == DB_POSTGRES) {
		if (t->at == t->n)
			err = bq_ids_reserve_pg(b->c, t, e);
		if (!err)
			*id = t->ids[t->at++];
		return err;
	}
	if (!t->known)
		err = bq_ids_top_sqlite(b->c, t, e);
	if (!err)
		*id = ++t->top;
	return err;
}

/* ---- the session --------------------------------------------------------------------- */

static void bq_free(struct sq_bulk_q *q)
{
	if (q == NULL)
		return;
	for (int i = 0; i < BQ_N; i++)
		bq_queue_clear(&q->q[i]);
	free(q);
}

static const struct {
	const char *head;
	int ncol;
} bq_fixed[BQ_N] = {
	[BQ_CONTACT] = {"INSERT INTO contacts(id, customer_id, employee_id, team_id, touchpoint_id,"
			" channel, reason, occurred_at, token, expires_at) VALUES", 10},
	[BQ_INVITATION] = {"INSERT INTO invitations(contact_id, customer_id, touchpoint_id, team_id,"
			   " employee_id, channel, decision, status, send_at, attempts, sent_at,"
			   " expires_at, opened_at, started_at, completed_at, reminder_status,"
			   " created_at) VALUES", 17},
	[BQ_RESPONSE] = {"INSERT INTO responses(id, client_key, body_hash, contact_id, customer_id,"
			 " employee_id, team_id, touchpoint_id, survey_id, channel, language, nps,"
			 " grade, ces, open_text, received_at, source, contact_consent) VALUES", 18},
	[BQ_DRIVER] = {"INSERT INTO response_drivers(response_id, aspect, score) VALUES", 3},
	[BQ_YESNO] = {"INSERT INTO response_yesno(response_id, aspect, answer) VALUES", 3},
};

ks_err store_bulk_begin(ks_store *s, store_bulk **out, ks_error *e)
{
	store_bulk *b = calloc(1, sizeof *b);
	struct sq_bulk_q *q = calloc(1, sizeof *q);
	if (b == NULL || q == NULL) {
		free(b);
		free(q);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	b->s = s;
	b->q = q;
	ks_err err = KS_OK;
	for (int i = 0; i < BQ_N && !err; i++)
		if (bq_fixed[i].head)
			err = bq_queue_set(&q->q[i], bq_fixed[i].head, bq_fixed[i].ncol, e);
	if (err) {
		bq_free(q);
		free(b);
		return err;
	}
	b->c = sq_acquire(s);
	/* A bulk load touches far more pages than the default 2 MB cache holds;
	 * 256 MB keeps it in memory until the commit (reset on release). */
	err = sq_exec(b->c, "PRAGMA cache_size=-262144; BEGIN IMMEDIATE", e);
	if (err) {
		sq_release(s, b->c);
		bq_free(q);
		free(b);
		return err;
	}
	*out = b;
	return KS_OK;
}

/* Append to the entity queue one value of field f from v (as sqlite_store.c
 * binds a field: a boolean as 0/1, a JSON field as its compact text). */
static ks_err bq_field(bq_queue *q, const model_field *f, const json_t *v, ks_error *e)
{
	if (v == NULL || json_is_null(v)) {
		bq_null(q);
		return KS_OK;
	}
	switch (f->type) {
	case MODEL_F_BOOL:
		bq_int(q, json_is_true(v));
		return KS_OK;
	case MODEL_F_INT:
	case MODEL_F_REF:
		bq_int(q, json_integer_value(v));
		return KS_OK;
	case MODEL_F_JSON: {
		char *txt = json_dumps(v, JSON_COMPACT);
		if (txt == NULL)
			return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		ks_err err = bq_text(q, txt, e);
		free(txt);
		return err;
	}
	default:
		return bq_text(q, json_string_value(v), e);
	}
}

/* The entity queue's statement head for obj's fields; *ncol its columns.
 * The columns are those sq_entity_insert writes, with the id first. */
static ks_err bq_entity_head(const model_entity *ent, const json_t *obj, ks_buf *head, int *ncol)
{
	bool token = strcmp(ent->table, "touchpoints") == 0; /* sqlite_store.c's sq_has_open_token */
	ks_err err = buf_printf(head, "INSERT INTO %s(id", ent->table);
	*ncol = 1;
	for (size_t i = 0; i < ent->n_fields && !err; i++) {
		if (json_object_get(obj, ent->fields[i].name) == NULL)
			continue;
		err = buf_printf(head, ", %s", ent->fields[i].name);
		++*ncol;
	}
	if (!err)
		err = buf_puts(head, token ? ", created_at, open_token) VALUES" : ", created_at) VALUES");
	*ncol += token ? 2 : 1;
	return err;
}

ks_err store_bulk_entity(store_bulk *b, const model_entity *ent, const json_t *obj, int64_t *id,
			 ks_error *e)
{
	ks_err err = model_validate(ent, obj, true, e);
	if (!err && ent->check)
		err = ent->check(ent, (json_t *)obj, NULL, e);
	if (err)
		return err;
	ks_buf head;
	buf_init(&head, 16384);
	int ncol = 0;
	if (bq_entity_head(ent, obj, &head, &ncol)) {
		buf_free(&head);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	bq_queue *q = &b->q->q[BQ_ENTITY];
	/* another table or other fields: the rows so far go first */
	if (q->head == NULL || strcmp(q->head, head.data) != 0) {
		err = bq_write(b->c, q, e);
		if (!err)
			err = bq_queue_set(q, head.data, ncol, e);
	}
	buf_free(&head);
	if (!err)
		err = bq_take_id(b, ent->table, id, e);
	if (err)
		return err;
	bq_int(q, *id);
	for (size_t i = 0; i < ent->n_fields && !err; i++) {
		const json_t *v = json_object_get(obj, ent->fields[i].name);
		if (v != NULL)
			err = bq_field(q, &ent->fields[i], v, e);
	}
	bq_int(q, clock_now(b->s->clock));
	if (!err && strcmp(ent->table, "touchpoints") == 0) {
		char tok[MODEL_TOKEN_LEN + 1];
		sq_token(tok);
		err = bq_text(q, tok, e);
	}
	if (err) {
		q->k = 0; /* the row is dropped; the session fails anyway */
		return err;
	}
	return bq_row_done(b, BQ_ENTITY, e);
}

ks_err store_bulk_contact(store_bulk *b, model_contact *ct, ks_error *e)
{
	if (ct->occurred_at == 0)
		ct->occurred_at = clock_now(b->s->clock);
	if (ct->expires_at == 0)
		ct->expires_at = ct->occurred_at + SQ_BULK_CONTACT_TTL;
	sq_token(ct->token);
	ks_err err = bq_take_id(b, "contacts", &ct->id, e);
	if (err)
		return err;
	bq_queue *q = &b->q->q[BQ_CONTACT];
	bq_int(q, ct->id);
	bq_int(q, ct->customer_id);
	bq_id(q, ct->employee_id);
	bq_id(q, ct->team_id);
	bq_int(q, ct->touchpoint_id);
	err = bq_text(q, ct->channel, e);
	if (!err)
		err = bq_text(q, ct->reason[0] ? ct->reason : NULL, e);
	bq_int(q, ct->occurred_at);
	if (!err)
		err = bq_text(q, ct->token, e);
	bq_int(q, ct->expires_at);
	if (err) {
		q->k = 0;
		return err;
	}
	return bq_row_done(b, BQ_CONTACT, e);
}

/* Its answers to the driver and yes/no questions, queued. */
static ks_err bq_response_parts(store_bulk *b, const model_response *r, ks_error *e)
{
	ks_err err = KS_OK;
	bq_queue *q = &b->q->q[BQ_DRIVER];
	for (int i = 0; i < r->n_drivers && !err; i++) {
		bq_int(q, r->id);
		err = bq_text(q, r->drivers[i].aspect, e);
		bq_int(q, r->drivers[i].score);
		err = err ? (q->k = 0, err) : bq_row_done(b, BQ_DRIVER, e);
	}
	q = &b->q->q[BQ_YESNO];
	for (int i = 0; i < r->n_yesno && !err; i++) {
		bq_int(q, r->id);
		err = bq_text(q, r->yesno[i].aspect, e);
		bq_int(q, r->yesno[i].score ? 1 : 0);
		err = err ? (q->k = 0, err) : bq_row_done(b, BQ_YESNO, e);
	}
	return err;
}

ks_err store_bulk_response(store_bulk *b, model_response *r, ks_error *e)
{
	ks_err err = bq_take_id(b, "responses", &r->id, e);
	if (err)
		return err;
	bq_queue *q = &b->q->q[BQ_RESPONSE];
	bq_int(q, r->id);
	err = bq_text(q, r->client_key[0] ? r->client_key : NULL, e);
	bq_int(q, (int64_t)r->body_hash);
	bq_id(q, r->contact_id);
	bq_id(q, r->customer_id);
	bq_id(q, r->employee_id);
	bq_id(q, r->team_id);
	bq_id(q, r->touchpoint_id);
	bq_id(q, r->survey_id);
	if (!err)
		err = bq_text(q, r->channel[0] ? r->channel : NULL, e);
	if (!err)
		err = bq_text(q, r->language[0] ? r->language : "nl", e);
	if (r->nps >= 0)
		bq_int(q, r->nps);
	else
		bq_null(q);
	if (r->grade >= 0)
		bq_int(q, r->grade);
	else
		bq_null(q);
	if (r->ces >= 0)
		bq_int(q, r->ces);
	else
		bq_null(q);
	if (!err)
		err = bq_text(q, r->open_text, e);
	bq_int(q, r->received_at);
	if (!err)
		err = bq_text(q, r->source[0] ? r->source : "api", e);
	if (r->contact_consent >= 0)
		bq_int(q, r->contact_consent);
	else
		bq_null(q);
	if (err) {
		q->k = 0;
		return err;
	}
	err = bq_row_done(b, BQ_RESPONSE, e);
	return err ? err : bq_response_parts(b, r, e);
}

ks_err store_bulk_invitation_add(store_bulk *b, const store_bulk_invitation *inv, ks_error *e)
{
	const model_contact *ct = inv->contact;
	bool created = inv->reason == INVITE_CREATE;
	bq_queue *q = &b->q->q[BQ_INVITATION];
	bq_int(q, ct->id);
	bq_int(q, ct->customer_id);
	bq_int(q, ct->touchpoint_id);
	bq_id(q, ct->team_id);
	bq_id(q, ct->employee_id);
	ks_err err = bq_text(q, ct->channel, e);
	if (!err)
		err = bq_text(q, invite_reason_name(inv->reason), e);
	if (!err)
		err = bq_text(q, !created ? "skipped" : inv->sent_at ? "sent" : "failed", e);
	if (created)
		bq_int(q, inv->sent_at ? inv->sent_at : ct->occurred_at);
	else
		bq_null(q);
	bq_int(q, created ? 1 : 0);
	bq_id(q, inv->sent_at);
	bq_id(q, inv->sent_at ? inv->sent_at + 14 * 86400 : 0);
	bq_id(q, inv->opened_at);
	bq_id(q, inv->started_at);
	bq_id(q, inv->completed_at);
	if (!err)
		err = bq_text(q, "none", e);
	bq_int(q, ct->occurred_at);
	if (err) {
		q->k = 0;
		return err;
	}
	return bq_row_done(b, BQ_INVITATION, e);
}

ks_err store_bulk_commit(store_bulk *b, ks_error *e)
{
	ks_err err = sq_bulk_flush(b, e);
	bq_free(b->q);
	if (!err)
		err = sq_exec(b->c, "COMMIT", e);
	db_exec(b->c->db, "PRAGMA cache_size=-2000");
	sq_release(b->s, b->c); /* rolls back if the commit failed */
	free(b);
	return err;
}

void store_bulk_rollback(store_bulk *b)
{
	if (b == NULL)
		return;
	bq_free(b->q);
	db_exec(b->c->db, "PRAGMA cache_size=-2000");
	sq_release(b->s, b->c);
	free(b);
}
