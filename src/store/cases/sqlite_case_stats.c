/* sqlite_case_stats.c — the numbers of the closed loop (issue 6): open and
 * overdue cases, SLA compliance, time to first contact and to close, and
 * the root-cause Pareto. The rows come from SQL; the arithmetic is in C
 * (cases/sla.h) so it is tested on its own.
 *
 * Definitions (docs/API.md, "GET /api/v1/cases/stats"):
 *  - a case's first response is its first contact, or its resolution when
 *    the customer did not want to be contacted;
 *  - SLA "due": cases whose verdict is known — responded to, or past the
 *    deadline without a response; "met": responded to by the deadline;
 *    rate = met / due (null when nothing is due);
 *  - times in hours, median and 90th percentile by cases_quantile.
 */
#include "store/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "cases/flow.h"
#include "cases/sla.h"

typedef struct sq_stat_row {
	char status[12];
	char root_cause[24];
	int64_t opened_at, deadline, first_contact_at, resolved_at, closed_at;
} sq_stat_row;

static void sq_stat_fill(db_stmt *st, void *elem)
{
	sq_stat_row *r = elem;
	memset(r, 0, sizeof *r);
	snprintf(r->status, sizeof r->status, "%s", sq_ctext(st, 0));
	snprintf(r->root_cause, sizeof r->root_cause, "%s", sq_ctext(st, 1));
	r->opened_at = db_column_int64(st, 2);
	r->deadline = db_column_int64(st, 3);
	r->first_contact_at = db_column_int64(st, 4);
	r->resolved_at = db_column_int64(st, 5);
	r->closed_at = db_column_int64(st, 6);
}

static int sq_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* {"n", "median", "p90"} of n hours (sorted here). */
static json_t *sq_stat_hours(double *h, size_t n)
{
	if (n == 0)
		return json_pack("{s:i, s:n, s:n}", "n", 0, "median", "p90");
	qsort(h, n, sizeof *h, sq_cmp_double);
	return json_pack("{s:I, s:f, s:f}", "n", (json_int_t)n, "median", cases_quantile(h, n, 0.5), "p90",
			 cases_quantile(h, n, 0.9));
}

typedef struct sq_cause_n {
	const char *code;
	int64_t n;
} sq_cause_n;

static int sq_cmp_cause(const void *a, const void *b)
{
	const sq_cause_n *x = a, *y = b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->code, y->code);
}

/* The Pareto: causes by n descending, each with its share and the
 * cumulative share of all cases that have a root cause. */
static json_t *sq_stat_pareto(const sq_stat_row *rows, size_t n)
{
	sq_cause_n counts[16];
	size_t k = 0;
	int64_t total = 0;
	for (size_t i = 0; cases_root_causes[i] && k < 16; i++)
		counts[k++] = (sq_cause_n){cases_root_causes[i], 0};
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < k; j++)
			if (strcmp(rows[i].root_cause, counts[j].code) == 0) {
				counts[j].n++;
				total++;
			}
	qsort(counts, k, sizeof *counts, sq_cmp_cause);
	json_t *out = json_array();
	int64_t run = 0;
	for (size_t j = 0; j < k && counts[j].n > 0; j++) {
		run += counts[j].n;
		json_array_append_new(out, json_pack("{s:s, s:I, s:f, s:f}", "root_cause", counts[j].code, "n",
						     (json_int_t)counts[j].n, "share",
						     (double)counts[j].n / (double)total, "cumulative_share",
						     (double)run / (double)total));
	}
	return out;
}

static json_t *sq_stat_build(const sq_stat_row *rows, size_t n, int64_t now)
{
	int64_t by[4] = {0}, overdue = 0, due = 0, met = 0;
	static const char *const names[] = {"new", "contacted", "resolved", "closed"};
	double *first = calloc(n ? n : 1, sizeof *first), *close = calloc(n ? n : 1, sizeof *close);
	if (first == NULL || close == NULL) {
		free(first);
		free(close);
		return NULL;
	}
	size_t nf = 0, nc = 0;
	for (size_t i = 0; i < n; i++) {
		const sq_stat_row *r = &rows[i];
		for (int s = 0; s < 4; s++)
			if (strcmp(r->status, names[s]) == 0)
				by[s]++;
		bool open = cases_status_open(r->status);
		if (open && r->deadline && r->deadline < now)
			overdue++;
		int64_t answered = r->first_contact_at ? r->first_contact_at : r->resolved_at;
		if (answered || (r->deadline && r->deadline < now)) {
			due++;
			if (answered && (!r->deadline || answered <= r->deadline))
				met++;
		}
		if (r->first_contact_at)
			first[nf++] = (double)(r->first_contact_at - r->opened_at) / 3600.0;
		if (r->closed_at && strcmp(r->status, "closed") == 0)
			close[nc++] = (double)(r->closed_at - r->opened_at) / 3600.0;
	}
	json_t *out = json_pack(
		"{s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:o}, s:o, s:o, s:o}", "open",
		(json_int_t)(by[0] + by[1]), "overdue", (json_int_t)overdue, "opened", (json_int_t)n,
		"by_status", "new", (json_int_t)by[0], "contacted", (json_int_t)by[1], "resolved",
		(json_int_t)by[2], "closed", (json_int_t)by[3], "sla", "due", (json_int_t)due, "met",
		(json_int_t)met, "rate", due ? json_real((double)met / (double)due) : json_null(),
		"time_to_first_contact_hours", sq_stat_hours(first, nf), "time_to_close_hours",
		sq_stat_hours(close, nc), "root_causes", sq_stat_pareto(rows, n));
	free(first);
	free(close);
	return out;
}

ks_err store_case_stats(ks_store *s, const store_case_stats_query *q, json_t **out, ks_error *e)
{
	sq_conn *c = sq_acquire(s);
	db_stmt *st = NULL;
	ks_err err = sq_cprep(c,
			      "WITH RECURSIVE sub(id) AS (SELECT ?1 WHERE ?1 <> 0"
			      "  UNION SELECT o.id FROM org_units o JOIN sub ON o.parent_id = sub.id)"
			      " SELECT status, coalesce(root_cause, ''), opened_at, coalesce(deadline, 0),"
			      " coalesce(first_contact_at, 0), coalesce(resolved_at, 0), coalesce(closed_at, 0)"
			      " FROM cases WHERE (?1 = 0 OR team_id IN sub)"
			      " AND (?2 = 0 OR opened_at >= ?2) AND (?3 = 0 OR opened_at < ?3)",
			      &st, e);
	sq_stat_row *rows = NULL;
	size_t n = 0;
	if (!err) {
		db_bind_int64(st, 1, q->team_id);
		db_bind_int64(st, 2, q->from);
		db_bind_int64(st, 3, q->to);
		err = sq_collect(c, st, sizeof *rows, sq_stat_fill, 0, (void **)&rows, &n, NULL, e);
	}
	sq_release(s, c);
	if (err)
		return err;
	*out = sq_stat_build(rows, n, q->now);
	free(rows);
	return *out ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
}
