/* api_audit.c — the audit log over HTTP (issue 11): the one-line hook every
 * handler calls after a change (api_audit), and the admin's reads:
 *   GET /api/v1/audit          newest first, keyset paging, filters
 *   GET /api/v1/audit/export   the same filters as CSV or JSON lines
 * docs/API.md, "Audit log"; the contract of entries is src/audit/audit.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"

ks_err api_audit(http_req *req, const char *action, const char *kind, int64_t id, json_t *detail)
{
	api_app *app = req->app;
	char addr[64];
	http_client_addr(req, addr, sizeof addr);
	audit_actor who = {.user_id = req->who.authenticated ? req->who.user_id : 0, .addr = addr};
	ks_error e;
	ks_error_clear(&e);
	ks_err err = audit_record(app->store, &who, action, kind, id, detail, &e);
	if (err)
		fprintf(stderr, "klantstem: audit entry %s not written: %s\n", action, e.message);
	return err;
}

/* ---- reading ---- */

static const char *const api_audit_params[] = {"actor", "action", "from", "to", "cursor",
					       "limit", "format", NULL};

/* actor=<user id> or actor=none (the system and anonymous callers). */
static ks_err api_audit_filter(http_req *req, store_audit_query *q, int max_limit, ks_error *e)
{
	memset(q, 0, sizeof *q);
	ks_err err = api_only_params(req, api_audit_params, e);
	const char *actor = http_query(req, "actor");
	if (!err && actor && strcmp(actor, "none") == 0)
		q->actor_none = true;
	else if (!err)
		err = api_query_id(req, "actor", &q->actor_user_id, e);
	q->action = http_query(req, "action");
	if (!err && q->action && !audit_action_valid(q->action)) {
		/* "case.*" is a prefix: check what precedes the star. */
		char head[AUDIT_ACTION_MAX + 2];
		size_t n = strlen(q->action);
		bool ok = n >= 2 && n <= AUDIT_ACTION_MAX && q->action[n - 1] == '*' && q->action[n - 2] == '.';
		if (ok) {
			snprintf(head, sizeof head, "%.*sx", (int)(n - 1), q->action);
			ok = audit_action_valid(head);
		}
		if (!ok)
			err = ks_fail(e, KS_ERR_INVALID, "action",
				      "action must be an action name (case.update) or a prefix (case.*)");
	}
	if (!err)
		err = api_time_range(req, &q->from, &q->to, e);
	if (!err)
		err = api_query_id(req, "cursor", &q->before_id, e);
	q->limit = max_limit == 500 ? 50 : max_limit;
	const char *lim = http_query(req, "limit");
	if (!err && lim) {
		char *end = NULL;
		errno = 0;
		long v = strtol(lim, &end, 10);
		if (errno || *lim == '\0' || *end != '\0' || v < 1 || v > max_limit)
			return ks_fail(e, KS_ERR_RANGE, "limit", "limit must be 1..%d", max_limit);
		q->limit = (int)v;
	}
	return err;
}

typedef struct api_audit_page {
	json_t *items;
	int64_t last_id;
	ks_err err;
} api_audit_page;

static bool api_audit_item(void *arg, const store_audit_entry *a)
{
	api_audit_page *p = arg;
	json_t *o = audit_entry_json(a);
	if (o == NULL || json_array_append_new(p->items, o) != 0) {
		p->err = KS_ERR_NOMEM;
		return false;
	}
	p->last_id = a->id;
	return true;
}

ks_err api_audit_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_audit_query q;
	ks_err err = api_audit_filter(req, &q, 500, e);
	if (!err && http_query(req, "format"))
		err = ks_fail(e, KS_ERR_INVALID, "format", "format is for /api/v1/audit/export");
	if (err)
		return err;
	api_audit_page p = {.items = json_array()};
	bool more = false;
	err = p.items ? store_audit_scan(app->store, &q, api_audit_item, &p, &more, e) : KS_ERR_NOMEM;
	if (!err && p.err)
		err = ks_fail(e, p.err, NULL, "out of memory");
	if (err) {
		json_decref(p.items);
		return err;
	}
	http_reply_json(req, 200,
			json_pack("{s:o, s:o}", "items", p.items, "next_cursor",
				  more ? json_integer(p.last_id) : json_null()));
	return KS_OK;
}

/* ---- export ---- */

#define API_AUDIT_EXPORT_MAX (64u * 1024 * 1024)

typedef struct api_audit_out {
	ks_buf b;
	bool csv;
	ks_err err;
} api_audit_out;

static bool api_audit_line(void *arg, const store_audit_entry *a)
{
	api_audit_out *o = arg;
	o->err = o->csv ? audit_csv_line(&o->b, a) : audit_jsonl_line(&o->b, a);
	return o->err == KS_OK;
}

ks_err api_audit_export(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_audit_query q;
	ks_err err = api_audit_filter(req, &q, 100000, e);
	const char *fmt = http_query(req, "format");
	if (!err && fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "jsonl") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "format", "format must be csv or jsonl");
	if (err)
		return err;
	api_audit_out o = {.csv = fmt == NULL || strcmp(fmt, "csv") == 0};
	/* The export is itself an entry, written before the rows are read (so
	 * it is in the file it exports when the filters cover it). */
	json_t *d = json_pack("{s:s, s:s?, s:I}", "format", o.csv ? "csv" : "jsonl", "action",
			      q.action, "limit", (json_int_t)q.limit);
	err = api_audit(req, "audit.export", "audit_log", 0, d);
	if (err)
		return ks_fail(e, err, NULL, "the export could not be logged; nothing was exported");
	buf_init(&o.b, API_AUDIT_EXPORT_MAX);
	if (o.csv)
		err = buf_puts(&o.b, audit_csv_header);
	bool more = false;
	if (!err)
		err = store_audit_scan(app->store, &q, api_audit_line, &o, &more, e);
	if (!err && o.err)
		err = ks_fail(e, o.err, NULL, "the export is too large: narrow it with from/to");
	if (err) {
		buf_free(&o.b);
		return err;
	}
	http_reply_buf(req, 200, o.csv ? "text/csv; charset=utf-8" : "application/x-ndjson", &o.b);
	return KS_OK;
}
