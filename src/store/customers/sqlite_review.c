/* sqlite_review.c — review invitations (issue 16, part H3): the settings,
 * the decision after a survey answer, the click on /r/{token} and the
 * counts. See store.h; the tables are migrations/021_review_invites.sql.
 * "Wrote a review" is reviewed_mention_id, which the migration's triggers
 * set in the transaction that stores a mention of the invited customer.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <string.h>

#define SQ_REVIEW_DAY 86400

const char *store_review_audience_name(store_review_audience a)
{
	return a == STORE_REVIEW_PROMOTERS ? "promoters" : "all";
}

bool store_review_audience_parse(const char *name, store_review_audience *out)
{
	if (strcmp(name, "all") == 0)
		*out = STORE_REVIEW_ALL;
	else if (strcmp(name, "promoters") == 0)
		*out = STORE_REVIEW_PROMOTERS;
	else
		return false;
	return true;
}

static void sq_review_defaults(store_review_settings *o)
{
	memset(o, 0, sizeof *o);
	o->min_nps = 9;
	o->interval_days = 180;
}

/* The settings on c (inside the caller's transaction when it has one). */
static ks_err sq_review_settings(sq_conn *c, store_review_settings *out, ks_error *e)
{
	sq_review_defaults(out);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT enabled, url, min_nps, interval_days, coalesce(updated_by, 0),"
			      " coalesce(updated_at, 0), audience FROM review_settings WHERE id = 1",
			      &st, e);
	if (err)
		return err;
	int rc = db_step(st);
	if (rc == DB_ROW) {
		out->enabled = db_column_int(st, 0) != 0;
		snprintf(out->url, sizeof out->url, "%s", sq_ctext(st, 1));
		out->min_nps = db_column_int(st, 2);
		out->interval_days = db_column_int(st, 3);
		out->updated_by = db_column_int64(st, 4);
		out->updated_at = db_column_int64(st, 5);
		if (!store_review_audience_parse(sq_ctext(st, 6), &out->audience))
			out->audience = STORE_REVIEW_ALL; /* the CHECK allows no other */
	} else if (rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

ks_err store_review_settings_get(ks_store *s, store_review_settings *out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	ks_err err = sq_review_settings(c, out, e);
	sq_release(s, c);
	return err;
}

/* The stored settings with the members of o named in set (store.h). */
static void sq_review_merge(store_review_settings *cur, const store_review_settings *o, unsigned set)
{
	if (set & STORE_REVIEW_SET_ENABLED)
		cur->enabled = o->enabled;
	if (set & STORE_REVIEW_SET_URL)
		snprintf(cur->url, sizeof cur->url, "%s", o->url);
	if (set & STORE_REVIEW_SET_MIN_NPS)
		cur->min_nps = o->min_nps;
	if (set & STORE_REVIEW_SET_INTERVAL)
		cur->interval_days = o->interval_days;
	if (set & STORE_REVIEW_SET_AUDIENCE)
		cur->audience = o->audience;
	cur->updated_by = o->updated_by;
}

static ks_err sq_review_write(sq_conn *c, const store_review_settings *o, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "INSERT INTO review_settings(id, enabled, url, min_nps, interval_days, updated_by,"
			      " updated_at, audience) VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO UPDATE SET"
			      " enabled = excluded.enabled, url = excluded.url, min_nps = excluded.min_nps,"
			      " interval_days = excluded.interval_days, updated_by = excluded.updated_by,"
			      " updated_at = excluded.updated_at, audience = excluded.audience",
			      &st, e);
	if (!err) {
		db_bind_int(st, 1, o->enabled ? 1 : 0);
		db_bind_text(st, 2, o->url, -1, DB_STATIC);
		db_bind_int(st, 3, o->min_nps);
		db_bind_int(st, 4, o->interval_days);
		sq_bind_id(st, 5, o->updated_by);
		db_bind_int64(st, 6, o->updated_at);
		db_bind_text(st, 7, store_review_audience_name(o->audience), -1, DB_STATIC);
		err = sq_cstep(c, st, e);
	}
	return err;
}

ks_err store_review_settings_put(ks_store *s, store_review_settings *o, unsigned set, const store_audit_entry *audit,
				 ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	store_review_settings cur;
	/* issue 16 H7: IMMEDIATE, so the row read is the row changed (two PUTs
	 * of different members at once both count) */
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_review_settings(c, &cur, e);
	if (!err) {
		sq_review_merge(&cur, o, set);
		cur.updated_at = clock_now(s->clock);
		if (cur.enabled && cur.url[0] == '\0')
			err = ks_fail(e, KS_ERR_INVALID, "url", "set the review page's url before switching invitations on");
	}
	if (!err)
		err = sq_review_write(c, &cur, e);
	if (!err && audit)
		err = sq_audit_insert(s, c, audit, e);
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err)
		db_exec(c->db, "ROLLBACK");
	else
		*o = cur;
	sq_release(s, c);
	return err;
}

/* The invitation already made for this response, if any: *found, token. */
static ks_err sq_review_existing(sq_conn *c, int64_t response_id, bool *found,
				 char token[STORE_REVIEW_TOKEN_LEN + 1], ks_error *e)
{
	db_stmt *st = NULL;
	*found = false;
	ks_err err = sq_cprep(c, "SELECT token FROM review_invitations WHERE response_id = ?1", &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, response_id);
	int rc = db_step(st);
	if (rc == DB_ROW) {
		*found = true;
		snprintf(token, STORE_REVIEW_TOKEN_LEN + 1, "%s", sq_ctext(st, 0));
	} else if (rc != DB_DONE) {
		err = sq_fail(c, rc, e);
	}
	db_finalize(st);
	return err;
}

/* The customer of a response that may be invited: *customer_id (0 = none)
 * when (promoters only: min_nps >= 0) the NPS reaches min_nps, the customer
 * has an address, has not opted out and had no invitation since `since`.
 * One statement, so the rules read in one place. */
static ks_err sq_review_candidate(sq_conn *c, int64_t response_id, int min_nps, int64_t since,
				  int64_t *customer_id, ks_error *e)
{
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT r.customer_id FROM responses r JOIN customers cu ON cu.id = r.customer_id"
			      " WHERE r.id = ?1 AND (?2 < 0 OR (r.nps IS NOT NULL AND r.nps >= ?2))"
			      " AND cu.email IS NOT NULL AND trim(cu.email) <> '' AND cu.opted_out_at IS NULL"
			      " AND NOT EXISTS (SELECT 1 FROM review_invitations ri"
			      "  WHERE ri.customer_id = r.customer_id AND ri.sent_at > ?3)",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, response_id);
	db_bind_int(st, 2, min_nps);
	db_bind_int64(st, 3, since);
	return sq_cfirst(c, st, customer_id, e);
}

static ks_err sq_review_insert(sq_conn *c, int64_t response_id, int64_t customer_id, int64_t now,
			       const char *token, ks_error *e)
{
	db_stmt *st = NULL;
	/* the audience in force, read in this transaction (issue 16 H7) */
	ks_err err = sq_cprep(c,
			      "INSERT INTO review_invitations(response_id, customer_id, token, sent_at, audience)"
			      " VALUES(?1, ?2, ?3, ?4, coalesce((SELECT audience FROM review_settings WHERE id = 1), 'all'))",
			      &st, e);
	if (err)
		return err;
	db_bind_int64(st, 1, response_id);
	db_bind_int64(st, 2, customer_id);
	db_bind_text(st, 3, token, -1, DB_STATIC);
	db_bind_int64(st, 4, now);
	return sq_cstep(c, st, e);
}

/* What to do for a response now: *found with its token when it has an
 * invitation already, else *customer_id (0 = none) when one is due. Reads
 * only; off or without a page nothing is due. */
static ks_err sq_review_decide(sq_conn *c, int64_t response_id, int64_t now, bool *found,
			       char token[STORE_REVIEW_TOKEN_LEN + 1], int64_t *customer_id, ks_error *e)
{
	store_review_settings rs;
	*found = false;
	*customer_id = 0;
	ks_err err = sq_review_settings(c, &rs, e);
	if (err || !rs.enabled || rs.url[0] == '\0')
		return err;
	err = sq_review_existing(c, response_id, found, token, e);
	if (!err && !*found)
		err = sq_review_candidate(c, response_id, rs.audience == STORE_REVIEW_PROMOTERS ? rs.min_nps : -1,
					  now - (int64_t)rs.interval_days * SQ_REVIEW_DAY, customer_id, e);
	return err;
}

ks_err store_review_offer(ks_store *s, int64_t response_id, int64_t now, bool *offered,
			  char token[STORE_REVIEW_TOKEN_LEN + 1], ks_error *e)
{
	*offered = false;
	token[0] = '\0';
	int64_t customer_id = 0;
	bool found = false;
	sq_conn *c = sq_acquire(s);
	/* First without a write lock: every survey answer passes here, and
	 * most (invitations off, not a promoter, invited lately) need none —
	 * the writer's batches should not wait for them. */
	ks_err err = sq_review_decide(c, response_id, now, &found, token, &customer_id, e);
	if (err || found || customer_id == 0) {
		*offered = !err && found;
		sq_release(s, c);
		return err;
	}
	/* IMMEDIATE: decided again and inserted under one write lock, so two
	 * answers of one customer at once make one invitation. */
	err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_review_decide(c, response_id, now, &found, token, &customer_id, e);
	if (!err && !found && customer_id > 0) {
		char t[MODEL_TOKEN_LEN + 1];
		sq_token(t);
		snprintf(token, STORE_REVIEW_TOKEN_LEN + 1, "%s", t);
		err = sq_review_insert(c, response_id, customer_id, now, token, e);
	}
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err) {
		db_exec(c->db, "ROLLBACK");
		token[0] = '\0';
	}
	*offered = !err && (found || customer_id > 0);
	sq_release(s, c);
	return err;
}

ks_err store_review_click(ks_store *s, const char *token, int64_t now, char url[STORE_REVIEW_URL_MAX + 1],
			  ks_error *e)
{
	url[0] = '\0';
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	store_review_settings rs;
	ks_err err = sq_exec(c, "BEGIN IMMEDIATE", e);
	if (!err)
		err = sq_cprep(c,
			       "UPDATE review_invitations SET clicks = clicks + 1,"
			       " clicked_at = coalesce(clicked_at, ?2) WHERE token = ?1",
			       &st, e);
	if (!err) {
		db_bind_text(st, 1, token, -1, DB_STATIC);
		db_bind_int64(st, 2, now);
		err = sq_cstep(c, st, e);
	}
	if (!err && db_changes(c->db) == 0)
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such review invitation");
	if (!err)
		err = sq_review_settings(c, &rs, e);
	/* The page as set now: an organisation that moved its review page
	 * sends old links to the new one. Switched off still redirects: the
	 * customer was promised a page. */
	if (!err && rs.url[0] == '\0')
		err = ks_fail(e, KS_ERR_NOTFOUND, NULL, "no review page is set");
	if (!err)
		err = sq_exec(c, "COMMIT", e);
	if (err)
		db_exec(c->db, "ROLLBACK");
	else
		snprintf(url, STORE_REVIEW_URL_MAX + 1, "%s", rs.url);
	sq_release(s, c);
	return err;
}

ks_err store_review_stats_get(ks_store *s, int64_t from, int64_t to, store_review_stats *out, ks_error *e)
{
	memset(out, 0, sizeof *out);
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "SELECT audience, count(*), count(clicked_at), count(reviewed_mention_id)"
			      " FROM review_invitations WHERE (?1 = 0 OR sent_at >= ?1) AND (?2 = 0 OR sent_at < ?2)"
			      " GROUP BY audience",
			      &st, e);
	if (!err) {
		db_bind_int64(st, 1, from);
		db_bind_int64(st, 2, to);
		int rc;
		while ((rc = db_step(st)) == DB_ROW) {
			store_review_audience a;
			if (!store_review_audience_parse(sq_ctext(st, 0), &a))
				continue; /* the CHECK allows no other */
			store_review_counts *k = &out->by[a];
			k->invited = db_column_int64(st, 1);
			k->clicked = db_column_int64(st, 2);
			k->wrote = db_column_int64(st, 3);
			out->invited += k->invited;
			out->clicked += k->clicked;
			out->wrote += k->wrote;
		}
		if (rc != DB_DONE)
			err = sq_fail(c, rc, e);
		db_finalize(st);
	}
	sq_release(s, c);
	return err;
}
