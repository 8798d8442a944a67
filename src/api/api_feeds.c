/* api_feeds.c — the mention feeds the pollers fetch (issue 16 H2):
 * GET/POST /api/v1/mention-feeds, GET/PUT/DELETE /api/v1/mention-feeds/{id},
 * POST /api/v1/mention-feeds/{id}/run (admins; docs/API.md "Mention feeds",
 * docs/POLLERS.md).
 *
 * auth_header is a secret (an API key or bearer token of the review site):
 * it is written, never read back — a feed says only whether it has one
 * ("auth_header": {"set": true}), and audit entries say the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "audit/audit.h"
#include "mentions/poll.h"

#define FD_INTERVAL_MIN 60
#define FD_INTERVAL_MAX 604800   /* a week */
#define FD_INTERVAL_DEFAULT 3600
#define FD_MAX 200               /* feeds in one organisation */

static const char *const fd_fields[] = {"name", "format", "url", "auth_header", "interval_s", "enabled", NULL};

static json_t *fd_time(int64_t t)
{
	if (t <= 0)
		return json_null();
	char iso[32];
	clock_format_iso(t, iso, sizeof iso);
	return json_string(iso);
}

/* "never" (not run yet), "ok", "failing" (the last run failed), "disabled". */
static const char *fd_state(const store_feed *f)
{
	if (!f->enabled)
		return "disabled";
	if (f->failures > 0)
		return "failing";
	return f->last_run_at ? "ok" : "never";
}

static json_t *fd_json(const store_feed *f)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:{s:b}, s:I, s:b, s:s, s:I, s:s?, s:I, s:I}", "id",
			      (json_int_t)f->id, "name", f->name, "format", f->format, "url", f->url,
			      "auth_header", "set", f->auth_header[0] != '\0', "interval_s",
			      (json_int_t)f->interval_s, "enabled", f->enabled, "state", fd_state(f), "failures",
			      (json_int_t)f->failures, "last_error", f->last_error[0] ? f->last_error : NULL,
			      "last_status", (json_int_t)f->last_status, "mentions_fetched",
			      (json_int_t)f->mentions_fetched);
	json_object_set_new(o, "cursor_updated_at", fd_time(f->cursor_updated_at));
	/* runs ended, ok or not: the page waits for it to change (two runs in
	 * one second have the same last_run_at) */
	json_object_set_new(o, "runs", json_integer((json_int_t)f->runs));
	json_object_set_new(o, "last_run_at", fd_time(f->last_run_at));
	json_object_set_new(o, "last_ok_at", fd_time(f->last_ok_at));
	json_object_set_new(o, "next_run_at", f->enabled ? fd_time(f->next_run_at) : json_null());
	json_object_set_new(o, "created_at", fd_time(f->created_at));
	json_object_set_new(o, "updated_at", fd_time(f->updated_at));
	json_object_set_new(o, "last_run",
			    f->last_run_at ? json_pack("{s:I, s:I, s:I, s:I, s:I}", "pages",
						       (json_int_t)f->last_pages, "received",
						       (json_int_t)f->last_received, "inserted",
						       (json_int_t)f->last_inserted, "updated",
						       (json_int_t)f->last_updated, "unchanged",
						       (json_int_t)f->last_unchanged)
					   : json_null());
	return o;
}

ks_err api_feed_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	store_feed *v = NULL;
	size_t n = 0;
	if (!err)
		err = store_feed_list(app->store, &v, &n, e);
	if (err)
		return err;
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, fd_json(&v[i]));
	free(v);
	http_reply_json(req, 200, json_pack("{s:o}", "feeds", arr));
	return KS_OK;
}

/* The feed of the path's {id} into *f (malloc'd: a feed is 4 KB). */
static ks_err fd_load(http_req *req, store_feed **f, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	*f = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (err)
		return err;
	*f = malloc(sizeof **f);
	if (*f == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	err = store_feed_get(app->store, id, *f, e);
	if (err) {
		free(*f);
		*f = NULL;
	}
	return err;
}

ks_err api_feed_get(http_req *req, ks_error *e)
{
	store_feed *f = NULL;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = fd_load(req, &f, e);
	if (err)
		return err;
	http_reply_json(req, 200, fd_json(f));
	free(f);
	return KS_OK;
}

/* ---- input ------------------------------------------------------------------- */

static ks_err fd_string(const json_t *o, const char *name, bool required, char *out, size_t n, size_t min,
			ks_error *e)
{
	json_t *v = json_object_get(o, name);
	if (v == NULL)
		return required ? ks_fail(e, KS_ERR_INVALID, name, "%s is required", name) : KS_OK;
	const char *s = json_string_value(v);
	if (s == NULL)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a string", name);
	if (strlen(s) < min || strlen(s) >= n)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be %zu to %zu bytes", name, min, n - 1);
	snprintf(out, n, "%s", s);
	return KS_OK;
}

/* Apply the body's members to *f (all members for a new feed, those given
 * for a change); every value checked, 422 naming the field. */
static ks_err fd_apply(const json_t *o, bool create, store_feed *f, ks_error *e)
{
	ks_err err = api_only_fields(o, fd_fields, "", e);
	if (!err)
		err = fd_string(o, "name", create, f->name, sizeof f->name, 1, e);
	if (!err && f->name[0] == '\0')
		err = ks_fail(e, KS_ERR_INVALID, "name", "name is required");
	char format[64] = "";
	if (!err)
		err = fd_string(o, "format", create, format, sizeof format, 1, e);
	if (!err && json_object_get(o, "format")) {
		if (!poll_format_ok(format))
			err = ks_fail(e, KS_ERR_INVALID, "format",
				      "format must be one of trustpilot, google, kiyoh, appstore, social, "
				      "generic-json, generic-csv");
		else
			snprintf(f->format, sizeof f->format, "%.23s", format);
	}
	if (!err && (create || json_object_get(o, "url"))) {
		const char *url = json_string_value(json_object_get(o, "url"));
		if (json_object_get(o, "url") && url == NULL)
			err = ks_fail(e, KS_ERR_INVALID, "url", "url must be a string");
		else
			err = poll_url_check(url, "url", e);
		if (!err)
			snprintf(f->url, sizeof f->url, "%s", url);
	}
	json_t *ah = json_object_get(o, "auth_header");
	if (!err && ah) {
		const char *h = json_string_value(ah);
		if (!json_is_null(ah) && h == NULL)
			err = ks_fail(e, KS_ERR_INVALID, "auth_header", "auth_header must be a string or null");
		else if (h && h[0])
			err = poll_auth_header_check(h, "auth_header", e);
		if (!err)
			snprintf(f->auth_header, sizeof f->auth_header, "%s", h ? h : "");
	}
	json_t *iv = json_object_get(o, "interval_s");
	if (!err && iv) {
		if (!json_is_integer(iv))
			err = ks_fail(e, KS_ERR_INVALID, "interval_s", "interval_s must be a whole number of seconds");
		else if (json_integer_value(iv) < FD_INTERVAL_MIN || json_integer_value(iv) > FD_INTERVAL_MAX)
			err = ks_fail(e, KS_ERR_RANGE, "interval_s", "interval_s must be %d to %d seconds",
				      FD_INTERVAL_MIN, FD_INTERVAL_MAX);
		else
			f->interval_s = json_integer_value(iv);
	}
	json_t *en = json_object_get(o, "enabled");
	if (!err && en) {
		if (!json_is_boolean(en))
			err = ks_fail(e, KS_ERR_INVALID, "enabled", "enabled must be true or false");
		else
			f->enabled = json_is_true(en);
	}
	return err;
}

/* The audit detail of a feed: its settings, the URL without its query (a
 * query may carry a key), and whether it has a secret, never the secret. */
static char *fd_audit_detail(const store_feed *f)
{
	char url[STORE_FEED_URL_MAX + 1];
	snprintf(url, sizeof url, "%s", f->url);
	url[strcspn(url, "?#")] = '\0';
	return audit_detail_text(json_pack("{s:s, s:s, s:s, s:I, s:b, s:b}", "name", f->name, "format", f->format,
					   "url", url, "interval_s", (json_int_t)f->interval_s, "enabled",
					   f->enabled, "auth_header_set", f->auth_header[0] != '\0'));
}

static void fd_audit_entry(http_req *req, const char *action, const char *detail, char *addr, size_t n,
			   store_audit_entry *a)
{
	http_client_addr(req, addr, n);
	*a = (store_audit_entry){.actor_user_id = req->who.user_id, .client_addr = addr, .action = action,
				 .object_kind = "mention_feed", .detail = detail};
}

ks_err api_feed_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	store_feed *f = calloc(1, sizeof *f);
	if (f == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	f->interval_s = FD_INTERVAL_DEFAULT;
	f->enabled = true;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = fd_apply(o, true, f, e);
	json_decref(o);
	store_feed *all = NULL;
	size_t n = 0;
	if (!err && (err = store_feed_list(app->store, &all, &n, e)) == KS_OK && n >= FD_MAX)
		err = ks_fail(e, KS_ERR_RANGE, NULL, "at most %d feeds", FD_MAX);
	free(all);
	char *detail = err ? NULL : fd_audit_detail(f);
	if (!err && detail == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	char addr[64];
	store_audit_entry a;
	fd_audit_entry(req, "mention_feed.create", detail, addr, sizeof addr, &a);
	int64_t id = 0;
	if (!err)
		err = store_feed_create(app->store, f, &a, &id, e);
	free(detail);
	if (!err)
		err = store_feed_get(app->store, id, f, e);
	if (!err)
		http_reply_json(req, 201, fd_json(f));
	free(f);
	return err;
}

ks_err api_feed_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_feed *old = NULL, *f = NULL;
	json_t *o = NULL;
	ks_err err = fd_load(req, &old, e);
	if (!err && (f = malloc(sizeof *f)) == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err) {
		*f = *old;
		err = api_body_object(req, &o, e);
	}
	if (!err)
		err = fd_apply(o, false, f, e);
	json_decref(o);
	/* Another URL or format is another feed: start it over. Another
	 * secret, or enabling it: try it now with no failures. */
	bool reset = !err && (strcmp(f->url, old->url) != 0 || strcmp(f->format, old->format) != 0);
	bool rearm = !err && (strcmp(f->auth_header, old->auth_header) != 0 || (f->enabled && !old->enabled) ||
			      f->interval_s != old->interval_s);
	char *detail = err ? NULL : fd_audit_detail(f);
	if (!err && detail == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	char addr[64];
	store_audit_entry a;
	fd_audit_entry(req, "mention_feed.update", detail, addr, sizeof addr, &a);
	if (!err)
		err = store_feed_update(app->store, f, rearm, reset, &a, e);
	free(detail);
	if (!err)
		err = store_feed_get(app->store, f->id, f, e);
	if (!err)
		http_reply_json(req, 200, fd_json(f));
	free(old);
	free(f);
	return err;
}

ks_err api_feed_delete(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_feed *f = NULL;
	ks_err err = fd_load(req, &f, e);
	char *detail = err ? NULL : fd_audit_detail(f);
	if (!err && detail == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	char addr[64];
	store_audit_entry a;
	fd_audit_entry(req, "mention_feed.delete", detail, addr, sizeof addr, &a);
	if (!err)
		err = store_feed_delete(app->store, f->id, &a, e);
	free(detail);
	if (!err)
		http_reply_json(req, 200, json_pack("{s:I, s:b}", "id", (json_int_t)f->id, "deleted", 1));
	free(f);
	return err;
}

/* Run the feed now, on this (slow-pool) thread, and answer with the run and
 * the feed as it is after it. A failed fetch is a 200 with "ok": false: the
 * request did what it asked; the feed shows the failure and its backoff.
 * A paged format (a backfill may take minutes), or any feed while another
 * run is in progress, is queued for the poller's thread instead (202, the
 * feed's runs counter moves when it ended): a slow worker, which logins
 * share, is held at most for one request's fetch. */
ks_err api_feed_run(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_feed *f = NULL;
	ks_err err = fd_load(req, &f, e);
	if (!err && app->poller == NULL)
		err = ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "the feed poller is not running");
	poll_result r;
	bool queued = false;
	if (!err)
		err = poll_run_feed(app->poller, f->id, &r, &queued, e);
	if (!err)
		err = store_feed_get(app->store, f->id, f, e);
	if (!err && queued) {
		/* a paged feed, or another feed is being fetched: the poller's
		 * thread runs this one next; the feed's runs tells when it did */
		api_audit(req, "mention_feed.run", "mention_feed", f->id, json_pack("{s:b}", "queued", 1));
		http_reply_json(req, 202, json_pack("{s:b, s:o}", "queued", 1, "feed", fd_json(f)));
	} else if (!err) {
		api_audit(req, "mention_feed.run", "mention_feed", f->id,
			  json_pack("{s:b, s:I, s:I, s:I}", "ok", r.ok, "inserted", (json_int_t)r.inserted,
				    "updated", (json_int_t)r.updated, "unchanged", (json_int_t)r.unchanged));
		json_t *run = poll_result_json(&r);
		json_object_set_new(run, "next_run_at", fd_time(r.next_run_at));
		http_reply_json(req, 200, json_pack("{s:o, s:o}", "run", run, "feed", fd_json(f)));
	}
	free(f);
	return err;
}
