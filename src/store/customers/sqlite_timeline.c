/* sqlite_timeline.c — one customer's history in time order (issue 16): the
 * contacts, the invitation events, the responses and the case events, on
 * SQLite. The rows are the GDPR export's (sqlite_gdpr.c: every table that
 * names a customer), read here as events: one query of UNION ALL branches,
 * each branch one kind of event with the same columns, so a later kind
 * (mentions, internal events) is one more branch and one more case in
 * sq_tl_item. Everything is read in one transaction: a page never shows a
 * case's status change without the case's opening.
 */
#include "store/sqlite_int.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

/* Columns: 0 at, 1 kind, 2 event, 3 id, 4 rank (orders events of one
 * second: contact before invitation before response before case, as they
 * happen), 5 sub (orders within a rank), 6..9 n1..n4, 10..12 s1..s3.
 * n1..n4 are numbers in every branch and s1..s3 texts (PostgreSQL wants
 * one type per column of a UNION, and types a NULL by the branches before
 * it: the first branch's n4 is a typed NULL). */
static const char sq_tl_sql[] =
	"SELECT occurred_at, 'contact', 'contact', id, 1, id, touchpoint_id, employee_id, team_id,"
	" CAST(NULL AS BIGINT),"
	" channel, (SELECT name FROM touchpoints t WHERE t.id = touchpoint_id), reason"
	" FROM contacts WHERE customer_id = ?1"
	" UNION ALL SELECT sent_at, 'invitation', 'sent', id, 2, id, contact_id, NULL, NULL, NULL, channel, NULL,"
	" NULL FROM invitations WHERE customer_id = ?1 AND sent_at IS NOT NULL"
	" UNION ALL SELECT reminder_sent_at, 'invitation', 'reminded', id, 3, id, contact_id, NULL, NULL, NULL,"
	" channel, NULL, NULL FROM invitations WHERE customer_id = ?1 AND reminder_sent_at IS NOT NULL"
	" UNION ALL SELECT opened_at, 'invitation', 'opened', id, 4, id, contact_id, NULL, NULL, NULL, channel,"
	" NULL, NULL FROM invitations WHERE customer_id = ?1 AND opened_at IS NOT NULL"
	" UNION ALL SELECT completed_at, 'invitation', 'completed', id, 5, id, contact_id, NULL, NULL, NULL,"
	" channel, NULL, NULL FROM invitations WHERE customer_id = ?1 AND completed_at IS NOT NULL"
	/* a failed invitation keeps no time of failing: it is shown when it
	 * was to go out (its contact's time when it had none) */
	" UNION ALL SELECT coalesce(i.send_at, (SELECT occurred_at FROM contacts k WHERE k.id = i.contact_id)),"
	" 'invitation', 'failed', i.id, 2, i.id, i.contact_id, NULL, NULL, NULL, i.channel, NULL, NULL"
	" FROM invitations i WHERE i.customer_id = ?1 AND i.status = 'failed'"
	" UNION ALL SELECT received_at, 'response', 'received', id, 6, id, nps, grade, ces, contact_consent,"
	" channel, open_text, NULL FROM responses WHERE customer_id = ?1 OR contact_id IN"
	" (SELECT id FROM contacts WHERE customer_id = ?1)"
	" UNION ALL SELECT h.at, 'case', h.kind, h.case_id, 7, h.id, h.response_id, NULL, NULL, NULL,"
	" h.from_status, h.to_status,"
	" CASE WHEN h.kind = 'status' AND h.to_status = 'resolved' THEN c.customer_message"
	" WHEN h.kind = 'opened' THEN " SQ_CASE_REASON_IN("?2") " WHEN h.kind = 'message' THEN h.detail END"
	" FROM case_history h JOIN cases c ON c.id = h.case_id WHERE c.customer_id = ?1"
	" AND h.kind IN ('opened', 'status', 'message')"
	" UNION ALL SELECT opted_out_at, 'opt_out', 'opt_out', id, 8, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
	" FROM customers WHERE id = ?1 AND opted_out_at IS NOT NULL"
	/* internal data (issue 16, H4): the organisation's own events (event:
	 * their kind; s1 channel, s2 detail) and products held (event started /
	 * ended at the day's first second UTC; n1 since, n2 until as those
	 * seconds, written back as days by sq_tl_day; s1 name, s2 category); id
	 * is the event's or the product's */
	" UNION ALL SELECT occurred_at, 'event', kind, id, 0, id, NULL, NULL, NULL, NULL, channel, detail, NULL"
	" FROM customer_events WHERE customer_id = ?1"
	" UNION ALL SELECT CAST(strftime('%s', h.since) AS BIGINT), 'holding', 'started', h.product_id, 0,"
	" h.product_id, CAST(strftime('%s', h.since) AS BIGINT), CAST(strftime('%s', h.until) AS BIGINT), NULL,"
	" NULL, p.name, p.category, NULL"
	" FROM holdings h JOIN products p ON p.id = h.product_id WHERE h.customer_id = ?1 AND h.since IS NOT NULL"
	" UNION ALL SELECT CAST(strftime('%s', h.until) AS BIGINT), 'holding', 'ended', h.product_id, 0,"
	" h.product_id, CAST(strftime('%s', h.since) AS BIGINT), CAST(strftime('%s', h.until) AS BIGINT), NULL,"
	" NULL, p.name, p.category, NULL"
	" FROM holdings h JOIN products p ON p.id = h.product_id WHERE h.customer_id = ?1 AND h.until IS NOT NULL"
	/* mentions (issue 16 H1): a review or post of this customer (n1 rating,
	 * n2 scale_max, n4 rating10 as reals; s1 source, s2 title, s3 text) and
	 * the organisation's recorded reply (s3 its text) */
	" UNION ALL SELECT created_at, 'mention', 'posted', id, 9, id, rating, scale_max, NULL, rating10, source,"
	" title, text FROM mentions WHERE customer_id = ?1"
	" UNION ALL SELECT reply_at, 'mention', 'replied', id, 9, id, NULL, NULL, NULL, NULL, source, NULL,"
	" reply_text FROM mentions WHERE customer_id = ?1 AND reply_at IS NOT NULL"
	" ORDER BY 1 DESC, 5 DESC, 6 DESC";

static json_t *sq_tl_int(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null()
							  : json_integer(db_column_int64(st, i));
}

static json_t *sq_tl_text(db_stmt *st, int i)
{
	return db_column_type(st, i) == DB_NULL ? json_null() : json_string(sq_ctext(st, i));
}

/* Column i, a day's first second UTC, as the day 'YYYY-MM-DD' (a holding's
 * since and until); null when NULL. */
static json_t *sq_tl_day(db_stmt *st, int i)
{
	if (db_column_type(st, i) == DB_NULL)
		return json_null();
	time_t t = (time_t)db_column_int64(st, i);
	struct tm tm;
	char day[32];
	if (gmtime_r(&t, &tm) == NULL || strftime(day, sizeof day, "%Y-%m-%d", &tm) == 0)
		return json_null();
	return json_string(day);
}

/* A short line of the item in no language (the UI writes its own): the
 * touchpoint, the event, the scores, the case's reason or status change. */
static json_t *sq_tl_summary(db_stmt *st, const char *kind)
{
	char buf[128];
	size_t n = sizeof buf;
	/* names and reasons as stored: a cut could split a UTF-8 sequence */
	if (strcmp(kind, "contact") == 0)
		return json_string(sq_ctext(st, 11));
	if (strcmp(kind, "case") == 0 && strcmp(sq_ctext(st, 2), "opened") == 0)
		return json_string(sq_ctext(st, 12));
	/* internal data (issue 16, H4): the product; the event's detail */
	if (strcmp(kind, "holding") == 0 || (strcmp(kind, "event") == 0 && db_column_type(st, 11) != DB_NULL))
		return json_string(sq_ctext(st, strcmp(kind, "holding") == 0 ? 10 : 11));
	if (strcmp(kind, "mention") == 0) { /* mentions (issue 16 H1): "google · 4/5" */
		if (db_column_type(st, 6) == DB_NULL)
			return json_string(sq_ctext(st, 10));
		snprintf(buf, n, "%s \xc2\xb7 %g/%g", sq_ctext(st, 10), db_column_double(st, 6),
			 db_column_double(st, 7));
		return json_string(buf);
	}
	if (strcmp(kind, "response") == 0) {
		size_t used = 0;
		buf[0] = '\0';
		for (int i = 0; i < 3; i++) {
			if (db_column_type(st, 6 + i) == DB_NULL || used >= n)
				continue;
			int v = db_column_int(st, 6 + i);
			const char *sep = used ? " \xc2\xb7 " : "";
			used += (size_t)(i == 0   ? snprintf(buf + used, n - used, "%sNPS %d", sep, v)
					 : i == 1 ? snprintf(buf + used, n - used, "%s%d/10", sep, v)
						  : snprintf(buf + used, n - used, "%sCES %d/7", sep, v));
		}
	} else if (strcmp(kind, "case") == 0 && strcmp(sq_ctext(st, 2), "status") == 0) {
		snprintf(buf, n, "%s \xe2\x86\x92 %s", sq_ctext(st, 10), sq_ctext(st, 11));
	} else {
		/* statuses and event names are short ASCII words */
		snprintf(buf, n, "%s", sq_ctext(st, 2));
	}
	return json_string(buf);
}

/* The kind-specific members and the link of the current row. */
static void sq_tl_fields(sq_conn *c, db_stmt *st, const char *kind, int64_t id, json_t *o)
{
	char link[64];
	link[0] = '\0';
	if (strcmp(kind, "contact") == 0) {
		json_object_set_new(o, "touchpoint",
				    json_pack("{s:o, s:o}", "id", sq_tl_int(st, 6), "name", sq_tl_text(st, 11)));
		json_object_set_new(o, "employee_id", sq_tl_int(st, 7));
		json_object_set_new(o, "team_id", sq_tl_int(st, 8));
		json_object_set_new(o, "channel", sq_tl_text(st, 10));
		json_object_set_new(o, "reason", sq_tl_text(st, 12));
	} else if (strcmp(kind, "invitation") == 0) {
		json_object_set_new(o, "contact_id", sq_tl_int(st, 6));
		json_object_set_new(o, "channel", sq_tl_text(st, 10));
	} else if (strcmp(kind, "response") == 0) {
		json_object_set_new(o, "nps", sq_tl_int(st, 6));
		json_object_set_new(o, "grade", sq_tl_int(st, 7));
		json_object_set_new(o, "ces", sq_tl_int(st, 8));
		json_object_set_new(o, "contact_consent",
				    db_column_type(st, 9) == DB_NULL ? json_null()
									      : json_boolean(db_column_int(st, 9)));
		json_object_set_new(o, "channel", sq_tl_text(st, 10));
		json_object_set_new(o, "open_text", sq_tl_text(st, 11));
		/* the analysis only beside an open text, as GET /responses/{id} */
		json_object_set_new(o, "analysis",
				    db_column_type(st, 11) == DB_NULL ? json_null() : sq_text_json(c, id));
		snprintf(link, sizeof link, "#/response/%" PRId64, id);
	} else if (strcmp(kind, "case") == 0) {
		json_object_set_new(o, "response_id", sq_tl_int(st, 6));
		json_object_set_new(o, "from_status", sq_tl_text(st, 10));
		json_object_set_new(o, "to_status", sq_tl_text(st, 11));
		json_object_set_new(o, "text", sq_tl_text(st, 12));
		snprintf(link, sizeof link, "#/case/%" PRId64, id);
	} else if (strcmp(kind, "event") == 0) { /* internal data (issue 16, H4) */
		json_object_set_new(o, "channel", sq_tl_text(st, 10));
		json_object_set_new(o, "detail", sq_tl_text(st, 11));
	} else if (strcmp(kind, "holding") == 0) { /* internal data (issue 16, H4) */
		json_object_set_new(o, "product", json_pack("{s:I, s:o, s:o}", "id", (json_int_t)id, "name",
							    sq_tl_text(st, 10), "category", sq_tl_text(st, 11)));
		json_object_set_new(o, "since", sq_tl_day(st, 6));
		json_object_set_new(o, "until", sq_tl_day(st, 7));
	}
	if (strcmp(kind, "mention") == 0) { /* mentions (issue 16 H1) */
		json_object_set_new(o, "source", sq_tl_text(st, 10));
		json_object_set_new(o, "rating", db_column_type(st, 6) == DB_NULL
							 ? json_null() : json_real(db_column_double(st, 6)));
		json_object_set_new(o, "scale_max", db_column_type(st, 7) == DB_NULL
							    ? json_null() : json_real(db_column_double(st, 7)));
		json_object_set_new(o, "rating10", db_column_type(st, 9) == DB_NULL
							   ? json_null() : json_real(db_column_double(st, 9)));
		json_object_set_new(o, "title", sq_tl_text(st, 11));
		json_object_set_new(o, "text", sq_tl_text(st, 12));
		snprintf(link, sizeof link, "#/mention/%" PRId64, id);
	}
	json_object_set_new(o, "link", link[0] ? json_string(link) : json_null());
}

/* The item of the current row. */
static json_t *sq_tl_item(sq_conn *c, db_stmt *st)
{
	const char *kind = sq_ctext(st, 1);
	int64_t id = db_column_int64(st, 3);
	json_t *o = json_pack("{s:o, s:s, s:s, s:I}", "at", sq_iso_or_null(db_column_int64(st, 0)), "kind",
			      kind, "event", sq_ctext(st, 2), "id", (json_int_t)id);
	if (o)
		json_object_set_new(o, "summary", sq_tl_summary(st, kind));
	if (o)
		sq_tl_fields(c, st, kind, id, o);
	return o;
}

/* Items before `before` (0: none), newest first: at least limit unless
 * there are fewer; a second is never split over two pages (the cursor is
 * a time), so a page runs past limit by the items of its last second. */
static ks_err sq_tl_items(sq_conn *c, int64_t id, const char *lang, int64_t before, int limit, json_t *items,
			  int64_t *next, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, sq_tl_sql, &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, lang && strcmp(lang, "en") == 0 ? "en" : "nl", -1, DB_STATIC);
	int rc, n = 0;
	int64_t last = 0;
	*next = 0;
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t at = db_column_int64(st, 0);
		if (before && at >= before)
			continue;
		if (n >= limit && at != last) {
			*next = last;
			break;
		}
		json_t *item = sq_tl_item(c, st);
		if (item == NULL || json_array_append_new(items, item)) {
			rc = DB_NOMEM;
			break;
		}
		last = at;
		n++;
	}
	if (rc == DB_NOMEM)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	else if (rc != DB_DONE && rc != DB_ROW)
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

static ks_err sq_tl_customer(sq_conn *c, int64_t id, json_t **out, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c, "SELECT name FROM customers WHERE id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, id);
	int rc = db_step(st);
	if (rc == DB_ROW)
		*out = json_pack("{s:I, s:o}", "id", (json_int_t)id, "name", sq_tl_text(st, 0));
	else if (rc == DB_DONE)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no customer %" PRId64, id);
	else
		err = sq_fail(c, rc, e);
	db_finalize(st);
	return err;
}

ks_err store_timeline_customer(ks_store *s, int64_t id, const char *lang, int64_t before, int limit, json_t **out,
			       ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	json_t *cust = NULL, *items = json_array();
	int64_t next = 0;
	/* One read transaction: the parts agree with each other. */
	ks_err err = items ? sq_exec(c, "BEGIN", e) : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err)
		err = sq_tl_customer(c, id, &cust, e);
	if (!err)
		err = sq_tl_items(c, id, lang, before, limit, items, &next, e);
	sq_release(s, c); /* ends the read transaction */
	if (!err) {
		*out = json_pack("{s:o, s:o, s:o}", "customer", cust, "items", items, "next",
				 next ? sq_iso_or_null(next) : json_null());
		if (*out == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		return err;
	}
	json_decref(cust);
	json_decref(items);
	return err;
}
