/* fuzz_app.h — the product in-process for the route harnesses: a real
 * SQLite store (a file in /tmp holding the demo organisation at scale 1%,
 * opened once per process), the analytics index, the disclosure cache and
 * the route table, with requests handed to the real router, the real
 * api_authorize and the real handlers.
 *
 * What stands in for libmicrohttpd: src/http/server.c reads a request's
 * query arguments, headers and cookies through MHD_lookup_connection_value
 * and parks requests with MHD_suspend_connection / MHD_resume_connection.
 * This file defines those functions (and MHD_get_connection_values,
 * MHD_get_connection_info) in the
 * harness executable, which the linker prefers over libmicrohttpd's, on a
 * struct MHD_Connection of our own. So http_query, http_header,
 * http_cookie, http_reply_* and http_suspend / http_resume are the
 * product's code; only the socket and libmicrohttpd's own request parsing
 * (which splits and %-decodes the query, like fz_conn_set_query) are left
 * out. http_dispatch / http_finish are static in server.c: fz_request
 * repeats their few lines.
 */
#ifndef KS_FUZZ_APP_H
#define KS_FUZZ_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sqlite3.h>

#include "api/api.h"
#include "auth/auth.h"
#include "demo/demo.h"
#include "fuzz_util.h"

/* ---- the connection ------------------------------------------------------ */

#define FZ_MAX_KV 128

typedef struct fz_kv {
	enum MHD_ValueKind kind;
	char *key;
	char *value;   /* NULL: "?flag" without "=" */
} fz_kv;

struct MHD_Connection {
	fz_kv kv[FZ_MAX_KV];
	size_t n;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool resumed;
};

const char *MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind,
					const char *key)
{
	for (size_t i = 0; c && key && i < c->n; i++) {
		if (c->kv[i].kind != kind)
			continue;
		/* header names are case-insensitive, arguments and cookies not */
		bool same = kind == MHD_HEADER_KIND ? strcasecmp(c->kv[i].key, key) == 0
						    : strcmp(c->kv[i].key, key) == 0;
		if (same)
			return c->kv[i].value;
	}
	return NULL;
}

int MHD_get_connection_values(struct MHD_Connection *c, enum MHD_ValueKind kind,
			      MHD_KeyValueIterator it, void *cls)
{
	int n = 0;
	for (size_t i = 0; c && i < c->n; i++) {
		if ((c->kv[i].kind & kind) == 0)
			continue;
		n++;
		if (it && it(cls, c->kv[i].kind, c->kv[i].key, c->kv[i].value) != MHD_YES)
			break;
	}
	return n;
}

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *c,
							enum MHD_ConnectionInfoType t, ...)
{
	(void)c;
	(void)t;
	return NULL;
}

void MHD_suspend_connection(struct MHD_Connection *c)
{
	(void)c;
}

void MHD_resume_connection(struct MHD_Connection *c)
{
	pthread_mutex_lock(&c->mu);
	c->resumed = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static void fz_conn_add(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *k, size_t kn,
			const char *v, size_t vn, bool has_value)
{
	if (c->n == FZ_MAX_KV)
		return;
	fz_kv *kv = &c->kv[c->n++];
	kv->kind = kind;
	kv->key = strndup(k, kn);
	kv->value = has_value ? strndup(v, vn) : NULL;
	if (kv->key == NULL || (has_value && kv->value == NULL))
		abort();
}

static int fz_hex(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0'
	       : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
	       : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
					  : -1;
}

/* %-decode s in place, '+' as space (as libmicrohttpd does for arguments);
 * returns the new length. */
static size_t fz_unescape(char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && fz_hex(s[i + 1]) >= 0 && fz_hex(s[i + 2]) >= 0) {
			s[o++] = (char)(fz_hex(s[i + 1]) * 16 + fz_hex(s[i + 2]));
			i += 2;
		} else {
			s[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	return o;
}

/* "a=1&b=x%20y" into GET arguments. Returns false for a query the server
 * refuses before any handler (over HTTP_QUERY_MAX_ARGS arguments). */
static bool fz_conn_set_query(struct MHD_Connection *c, char *q)
{
	size_t args = 0;
	while (*q) {
		char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		char *eq = memchr(q, '=', len);
		if (++args > HTTP_QUERY_MAX_ARGS)
			return false;
		if (len > 0) {
			size_t kn = fz_unescape(q, eq ? (size_t)(eq - q) : len);
			if (eq) {
				size_t vn = fz_unescape(eq + 1, len - (size_t)(eq + 1 - q));
				fz_conn_add(c, MHD_GET_ARGUMENT_KIND, q, kn, eq + 1, vn, true);
			} else {
				fz_conn_add(c, MHD_GET_ARGUMENT_KIND, q, kn, NULL, 0, false);
			}
		}
		q += len + (amp ? 1 : 0);
	}
	return true;
}

/* "Name: value\tName: value": headers; a Cookie header also becomes
 * cookies ("a=1; b=2"). */
static void fz_conn_set_headers(struct MHD_Connection *c, char *h)
{
	while (*h) {
		char *line = fz_field(&h, '\t');
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line)
			continue;
		char *v = colon + 1;
		while (*v == ' ')
			v++;
		fz_conn_add(c, MHD_HEADER_KIND, line, (size_t)(colon - line), v, strlen(v), true);
		if ((size_t)(colon - line) != 6 || strncasecmp(line, "Cookie", 6) != 0)
			continue;
		while (*v) {
			char *ck = fz_field(&v, ';');
			while (*ck == ' ')
				ck++;
			char *eq = strchr(ck, '=');
			if (eq && eq != ck)
				fz_conn_add(c, MHD_COOKIE_KIND, ck, (size_t)(eq - ck), eq + 1, strlen(eq + 1), true);
		}
	}
}

static void fz_conn_free(struct MHD_Connection *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->kv[i].key);
		free(c->kv[i].value);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
}

/* ---- the application ------------------------------------------------------ */

#define FZ_NOW DEMO_DEFAULT_NOW
#define FZ_N_TOKENS 8
/* A session of the admin account, for requests that go through
 * api_authorize: "Cookie: ks_session=" FZ_SESSION plus "X-CSRF-Token: "
 * FZ_CSRF on writes. */
#define FZ_SESSION "fuzzsessionfuzzsessionfuzzsessionfuzzsessio"
#define FZ_CSRF "fuzzcsrf"

typedef struct fz_world {
	char path[128];
	ks_clock clock;
	ks_store *store;
	an_index *index;
	auth_ctx *auth;
	api_app app;
	http_principal who[AUTH_ROLE_ADMIN + 1];  /* by role; [0] unauthenticated */
	char survey_tokens[FZ_N_TOKENS][MODEL_TOKEN_LEN + 1];  /* contacts and open links */
	char unsub_tokens[2][MODEL_TOKEN_LEN + 1];
	int64_t team_id, dept_id, employee_id;
} fz_world;

static fz_world fz_w;

static void fz_world_remove_files(void)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[160];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s%s", fz_w.path, sfx[i]);
		unlink(p);
	}
}

static void fz_world_close(void)
{
	/* The store first: its writer feeds the index until it stops. */
	store_close(fz_w.store);
	an_index_free(fz_w.index);
	auth_ctx_free(fz_w.auth);
	dc_cache_free(fz_w.app.disclose);
	fz_world_remove_files();
}

static void fz_check(ks_err err, const ks_error *e, const char *what)
{
	if (err)
		fz_fail("setup: %s: %s (%s)", what, e->message, e->field);
}

/* Read one text column of the first rows of sql from the database file. */
static int fz_sql_texts(const char *sql, char (*out)[MODEL_TOKEN_LEN + 1], int max)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int n = 0;
	if (sqlite3_open_v2(fz_w.path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fz_fail("setup: %s: %s", sql, sqlite3_errmsg(db));
	while (n < max && sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(out[n], sizeof out[n], "%s", t ? (const char *)t : "");
		if (sqlite3_column_count(st) > 2) {
			fz_w.employee_id = sqlite3_column_int64(st, 0);
			fz_w.team_id = sqlite3_column_int64(st, 1);
			fz_w.dept_id = sqlite3_column_int64(st, 2);
		}
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void fz_user(auth_role role, const char *email, int64_t employee_id, int64_t unit_id)
{
	ks_error e;
	store_user u;
	memset(&u, 0, sizeof u);
	snprintf(u.email, sizeof u.email, "%s", email);
	snprintf(u.name, sizeof u.name, "Fuzz %s", auth_role_name(role));
	snprintf(u.role, sizeof u.role, "%s", auth_role_name(role));
	snprintf(u.language, sizeof u.language, "nl");
	u.employee_id = employee_id;
	u.unit_id = unit_id;
	/* Never verified by a harness (login and password routes are left
	 * out): a fixed string keeps argon2 out of the start-up. */
	fz_check(store_user_create(fz_w.store, &u, "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAA", &e),
		 &e, "store_user_create");
	http_principal *w = &fz_w.who[role];
	memset(w, 0, sizeof *w);
	w->authenticated = true;
	w->user_id = u.id;
	w->role = role;
	w->employee_id = employee_id;
	w->unit_id = unit_id;
	snprintf(w->csrf, sizeof w->csrf, "%s", FZ_CSRF);
	snprintf(w->name, sizeof w->name, "%s", u.name);
	snprintf(w->email, sizeof w->email, "%s", u.email);
	snprintf(w->language, sizeof w->language, "nl");
}

/* Once per process: a fresh database with the demo at 1% and its cases,
 * accounts of every role, one session; the index; the app. */
static void fz_world_open(void)
{
	ks_error e;
	ks_error_clear(&e);
	const char *tmp = getenv("TMPDIR");
	snprintf(fz_w.path, sizeof fz_w.path, "%s/ks-fuzz-%ld.db", tmp && *tmp ? tmp : "/tmp",
		 (long)getpid());
	fz_world_remove_files();
	atomic_store(&fz_w.clock.fixed, FZ_NOW);
	/* scratch: no fsync per commit (a database nobody relies on). */
	store_options so = {.clock = &fz_w.clock, .scratch = true};
	tz_default(&so.tz);
	fz_check(store_open(fz_w.path, &so, &fz_w.store, &e), &e, "store_open");
	demo_options dopt = {.seed = 0, .now = FZ_NOW, .scale_percent = 1};
	fz_check(demo_generate(fz_w.store, &dopt, NULL, &e), &e, "demo_generate");
	fz_check(an_index_build(fz_w.store, &fz_w.index, &e), &e, "an_index_build");
	an_index_set_tz(fz_w.index, &so.tz);
	if (auth_ctx_new(&fz_w.auth) != KS_OK)
		fz_fail("setup: auth_ctx_new");
	api_app *a = &fz_w.app;
	a->store = fz_w.store;
	a->clock = &fz_w.clock;
	a->index = fz_w.index;
	a->auth = fz_w.auth;
	a->base_url = "http://127.0.0.1:8080";
	a->min_n = 5;
	a->min_n_employee = 10;
	a->tz = so.tz;
	if (dc_cache_new(&a->disclose) != KS_OK)
		a->disclose = NULL;

	char ids[1][MODEL_TOKEN_LEN + 1];
	fz_sql_texts("SELECT e.id, e.team_id, coalesce(o.parent_id, 0) FROM employees e"
		     " JOIN org_units o ON o.id = e.team_id ORDER BY e.id LIMIT 1",
		     ids, 1);
	fz_user(AUTH_ROLE_EMPLOYEE, "employee@fuzz.example", fz_w.employee_id, fz_w.team_id);
	fz_user(AUTH_ROLE_TEAM_LEAD, "lead@fuzz.example", 0, fz_w.team_id);
	fz_user(AUTH_ROLE_MANAGER, "manager@fuzz.example", 0, fz_w.dept_id);
	fz_user(AUTH_ROLE_DIRECTOR, "director@fuzz.example", 0, 0);
	fz_user(AUTH_ROLE_ADMIN, "admin@fuzz.example", 0, 0);
	/* The closed loop's cases (owned by team leads where there is one). */
	int n_cases = 0;
	if (demo_cases(fz_w.store, FZ_NOW, &n_cases, &e) != KS_OK)
		fprintf(stderr, "fuzz: no demo cases: %s\n", e.message);
	char hash[AUTH_HASH_HEX + 1];
	auth_token_hash(FZ_SESSION, hash);
	fz_check(store_session_create(fz_w.store, hash, fz_w.who[AUTH_ROLE_ADMIN].user_id, FZ_CSRF,
				      FZ_NOW + 365 * 86400, &e),
		 &e, "store_session_create");

	/* Survey links: unanswered contacts, answered ones, open links. */
	int n = fz_sql_texts("SELECT c.token FROM contacts c WHERE NOT EXISTS"
			     " (SELECT 1 FROM responses r WHERE r.contact_id = c.id)"
			     " ORDER BY c.id DESC LIMIT 3",
			     fz_w.survey_tokens, 3);
	n += fz_sql_texts("SELECT c.token FROM contacts c JOIN responses r ON r.contact_id = c.id"
			  " ORDER BY c.id LIMIT 2",
			  fz_w.survey_tokens + n, 2);
	n += fz_sql_texts("SELECT open_token FROM touchpoints ORDER BY id", fz_w.survey_tokens + n,
			  FZ_N_TOKENS - n);
	for (; n < FZ_N_TOKENS; n++)
		snprintf(fz_w.survey_tokens[n], sizeof fz_w.survey_tokens[n], "unknown");
	n = fz_sql_texts("SELECT unsubscribe_token FROM invitations WHERE unsubscribe_token IS NOT NULL"
			 " ORDER BY id LIMIT 2",
			 fz_w.unsub_tokens, 2);
	for (; n < 2; n++)
		snprintf(fz_w.unsub_tokens[n], sizeof fz_w.unsub_tokens[n], "unknown");
	atexit(fz_world_close);
}

/* ---- one request ------------------------------------------------------------ */

typedef struct fz_request {
	const char *method;
	const char *path;
	char *query;           /* raw, as after '?' (modified) */
	char *headers;         /* fz_conn_set_headers form (modified) */
	const uint8_t *body;
	size_t body_len;
	int role;              /* auth_role; 0: api_authorize decides from the headers */
} fz_request;

typedef struct fz_reply {
	int status;
	char *body;            /* owned: free() */
	size_t len;
	const char *content_type;
	bool routed;           /* a route matched */
} fz_reply;

/* http_finish of server.c: run h, turn its error into the reply. */
static void fz_finish(http_req *req, http_handler h)
{
	ks_error e;
	ks_error_clear(&e);
	ks_err rc = h(req, &e);
	if (rc) {
		if (e.code == KS_OK)
			ks_fail(&e, rc, NULL, "%s", ks_strerror(rc));
		e.code = rc;
		http_reply_error(req, &e);
	} else if (!req->replied && !req->suspended) {
		ks_fail(&e, KS_ERR_INTERNAL, NULL, "handler gave no reply");
		http_reply_error(req, &e);
	}
}

/* Run one request through the router, authorization and handler (and,
 * for a suspended request, the writer and the resumption), like
 * http_dispatch. Returns false when the server would refuse the request
 * before routing (too many query arguments, oversize body). */
__attribute__((unused)) static bool fz_request_run(const fz_request *r, fz_reply *out)
{
	memset(out, 0, sizeof *out);
	if (r->body_len > HTTP_BODY_MAX)
		return false;
	struct MHD_Connection conn;
	memset(&conn, 0, sizeof conn);
	pthread_mutex_init(&conn.mu, NULL);
	pthread_cond_init(&conn.cv, NULL);
	http_req *req = calloc(1, sizeof *req);
	if (req == NULL)
		abort();
	if (!fz_conn_set_query(&conn, r->query)) {
		fz_conn_free(&conn);
		free(req);
		return false;
	}
	fz_conn_set_headers(&conn, r->headers);
	req->conn = &conn;
	req->app = &fz_w.app;
	req->method = r->method;
	req->path = r->path;
	buf_init(&req->body, HTTP_BODY_MAX);
	if (r->body_len && buf_append(&req->body, (const char *)r->body, r->body_len) != KS_OK)
		abort();
	ks_err rc;
	const http_route *route = http_route_find(api_routes, api_n_routes, req, &rc);
	if (route) {
		out->routed = true;
		ks_error e;
		ks_error_clear(&e);
		if (r->role > 0) {
			/* The role check of api_authorize: a handler never runs
			 * for a role its route does not admit. */
			req->who = fz_w.who[r->role];
			rc = route->access == API_PUBLIC || (route->access & API_ROLE(r->role))
				     ? KS_OK
				     : ks_fail(&e, KS_ERR_FORBIDDEN, NULL, "not for this role");
		} else {
			rc = api_authorize(req, route->access, &e);
		}
		if (rc) {
			e.code = rc;
			http_reply_error(req, &e);
		} else {
			fz_finish(req, route->handler);
		}
		if (req->suspended) {
			/* The writer thread resumes it; then the completion runs
			 * "on a server thread", as in http_access. */
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 30;
			pthread_mutex_lock(&conn.mu);
			while (!conn.resumed)
				if (pthread_cond_timedwait(&conn.cv, &conn.mu, &until) != 0)
					fz_fail("%s %s: suspended for 30 s, never resumed", r->method, r->path);
			pthread_mutex_unlock(&conn.mu);
			req->suspended = false;
			fz_finish(req, req->on_resume);
		}
	} else {
		ks_error e;
		ks_fail(&e, rc, NULL, "no such resource");
		http_reply_error(req, &e);
	}
	out->status = req->status;
	out->body = req->reply;
	out->len = req->reply_len;
	out->content_type = req->content_type;
	buf_free(&req->body);
	free(req);
	fz_conn_free(&conn);
	return true;
}

/* The oracles every reply must pass: no 5xx but 503 from any input (a
 * client's bytes are never the server's fault), a JSON reply that parses, an HTML
 * or CSV reply that is valid UTF-8. FZ_KEEP_GOING=1 (for triage) reports
 * a 5xx and goes on with the next input. */
__attribute__((unused)) static void fz_reply_check(const fz_request *r, const fz_reply *out)
{
	/* 503 is the server's state, not the input: shutting down, or a
	 * feature that needs configuration (no --smtp for a password reset). */
	bool bad = (out->status >= 500 && out->status != 503) || out->status < 200;
	if (bad && getenv("FZ_KEEP_GOING")) {
		/* triage: see what the next inputs make of the state */
		fprintf(stderr, "fuzz oracle (kept going): %s %s -> %d\n", r->method, r->path, out->status);
		return;
	}
	if (bad)
		fz_fail("%s %s?%s -> %d: %.*s", r->method, r->path, r->query, out->status,
			(int)(out->len > 2000 ? 2000 : out->len), out->body ? out->body : "");
	if (out->body == NULL || out->content_type == NULL)
		fz_fail("%s %s -> %d without a body", r->method, r->path, out->status);
	if (strncmp(out->content_type, "application/json", 16) == 0) {
		json_error_t je;
		json_t *j = json_loadb(out->body, out->len, 0, &je);
		if (j == NULL)
			fz_fail("%s %s -> %d: reply is not JSON (%s at %d): %.*s", r->method, r->path,
				out->status, je.text, je.position, (int)(out->len > 2000 ? 2000 : out->len),
				out->body);
		json_decref(j);
	} else if (!fz_utf8_ok((const unsigned char *)out->body, out->len)) {
		fz_fail("%s %s -> %d: %s reply is not UTF-8", r->method, r->path, out->status,
			out->content_type);
	}
}

#endif
