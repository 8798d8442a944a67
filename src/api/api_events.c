/* api_events.c — contact events and responses.
 *
 * POST /api/v1/responses is the hot path: the handler validates, checks
 * references on a read connection, then suspends the HTTP request and
 * queues the response for the store's group-commit writer. The reply is
 * sent only after the batch holding it is committed and fsync'd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "survey/page.h"

/* A full disk (503 storage_full): when to try again, in seconds. */
#define API_STORAGE_RETRY_S 300

/* ---- small JSON readers --------------------------------------------------- */

static ks_err api_text(const json_t *obj, const char *name, char *out, size_t cap, ks_error *e)
{
	const json_t *v = json_object_get(obj, name);
	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return KS_OK;
	if (!json_is_string(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a string", name);
	if (json_string_length(v) >= cap)
		return ks_fail(e, KS_ERR_RANGE, name, "%s is longer than %zu bytes", name, cap - 1);
	snprintf(out, cap, "%s", json_string_value(v));
	return KS_OK;
}

/* Event times must lie in 2000..2099: 0 means "now" internally, and the
 * analytics index keeps times as unsigned 32-bit seconds. */
#define API_TIME_MIN 946684800LL   /* 2000-01-01T00:00:00Z */
#define API_TIME_MAX 4102444800LL  /* 2100-01-01T00:00:00Z */

static ks_err api_time(const json_t *obj, const char *name, int64_t *out, ks_error *e)
{
	const json_t *v = json_object_get(obj, name);
	*out = 0;
	if (v == NULL || json_is_null(v))
		return KS_OK;
	if (!json_is_string(v) || clock_parse_iso(json_string_value(v), out) != KS_OK)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be an ISO 8601 date or time", name);
	if (*out < API_TIME_MIN || *out >= API_TIME_MAX)
		return ks_fail(e, KS_ERR_RANGE, name, "%s must lie between 2000 and 2099", name);
	return KS_OK;
}

static ks_err api_channel(const json_t *obj, char *out, size_t cap, bool required, ks_error *e)
{
	ks_err err = api_text(obj, "channel", out, cap, e);
	if (err)
		return err;
	if (out[0] == '\0')
		return required ? ks_fail(e, KS_ERR_INVALID, "channel", "channel is required") : KS_OK;
	if (!model_channel_valid(out))
		return ks_fail(e, KS_ERR_INVALID, "channel",
			       "channel must be one of phone, email, chat, shop, web, field");
	return KS_OK;
}

/* ---- contacts ------------------------------------------------------------------ */

static const char *const api_contact_keys[] = {"customer_id", "touchpoint_id", "channel",
						"employee_id", "team_id", "reason",
						"occurred_at", NULL};

static ks_err api_contact_parse(const json_t *o, model_contact *c, ks_error *e)
{
	memset(c, 0, sizeof *c);
	ks_err err = api_only_fields(o, api_contact_keys, "", e);
	if (!err)
		err = api_json_id(o, "customer_id", &c->customer_id, e);
	if (!err && c->customer_id == 0)
		err = ks_fail(e, KS_ERR_INVALID, "customer_id", "customer_id is required");
	if (!err)
		err = api_json_id(o, "touchpoint_id", &c->touchpoint_id, e);
	if (!err && c->touchpoint_id == 0)
		err = ks_fail(e, KS_ERR_INVALID, "touchpoint_id", "touchpoint_id is required");
	if (!err)
		err = api_channel(o, c->channel, sizeof c->channel, true, e);
	if (!err)
		err = api_json_id(o, "employee_id", &c->employee_id, e);
	if (!err)
		err = api_json_id(o, "team_id", &c->team_id, e);
	if (!err)
		err = api_text(o, "reason", c->reason, sizeof c->reason, e);
	if (!err)
		err = api_time(o, "occurred_at", &c->occurred_at, e);
	return err;
}

/* A contact request between suspension and completion (see responses below
 * for the pattern: the writer commits, then the request resumes). */
typedef struct api_contact_pending {
	http_req *req;
	ks_err rc;
	model_contact c;
	store_invite_result inv;
	ks_error e;
} api_contact_pending;

static void api_contact_done(void *arg, ks_err rc, const model_contact *c,
			     const store_invite_result *inv, const ks_error *e)
{
	api_contact_pending *p = arg;
	p->rc = rc;
	p->c = *c;
	p->inv = *inv;
	if (e)
		p->e = *e;
	http_resume(p->req);
}

static ks_err api_contact_finish(http_req *req, ks_error *e)
{
	api_contact_pending *p = req->pending;
	req->pending = NULL;
	if (p->rc) {
		ks_err rc = p->rc;
		*e = p->e;
		if (rc == KS_ERR_STORAGE_FULL)
			req->retry_after = API_STORAGE_RETRY_S;
		free(p);
		return rc;
	}
	snprintf(req->location, sizeof req->location, "/api/v1/contacts/%lld", (long long)p->c.id);
	json_t *out = store_contact_json(&p->c);
	char send_at[32] = "";
	if (p->inv.send_at)
		clock_format_iso(p->inv.send_at, send_at, sizeof send_at);
	json_object_set_new(out, "invitation",
			    json_pack("{s:I, s:s, s:o}", "id", (json_int_t)p->inv.invitation_id,
				      "decision", invite_reason_name(p->inv.reason), "send_at",
				      p->inv.send_at ? json_string(send_at) : json_null()));
	free(p);
	http_reply_json(req, 201, out);
	return KS_OK;
}

/* POST /api/v1/contacts goes through the group-commit writer like a
 * response: the contact, its invitation decision and its webhook are one
 * transaction, shared with whatever else the writer batches. */
ks_err api_contact_create(http_req *req, ks_error *e);
ks_err api_contact_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	api_contact_pending *p = calloc(1, sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_contact_parse(o, &p->c, e);
	json_decref(o);
	if (err) {
		free(p);
		return err;
	}
	p->req = req;
	req->pending = p;
	req->pending_free = free; /* when the client leaves before the commit */
	req->on_resume = api_contact_finish;
	http_suspend(req);
	err = store_contact_submit_async(app->store, &p->c, api_contact_done, p);
	if (err) {
		p->rc = err;
		ks_fail(&p->e, err, NULL, "the server is shutting down");
		http_resume(req);
	}
	return KS_OK;
}

ks_err api_contact_get(http_req *req, ks_error *e);
ks_err api_contact_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	model_contact c;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_contact_get(app->store, id, &c, e);
	if (err)
		return err;
	http_reply_json(req, 200, store_contact_json(&c));
	return KS_OK;
}

/* ---- responses -------------------------------------------------------------------- */

static const char *const api_response_keys[] = {
	"client_key", "contact_id", "touchpoint_id", "employee_id", "team_id", "customer_id",
	"channel", "language", "received_at", "source", "answers", NULL};
static const char *const api_answer_keys[] = {"nps", "grade", "ces", "drivers", "open",
					       "contact_consent", NULL};

static ks_err api_score(const json_t *answers, const char *name, int lo, int hi, int *out,
			ks_error *e)
{
	const json_t *v = json_object_get(answers, name);
	char field[48];
	snprintf(field, sizeof field, "answers.%s", name);
	*out = -1;
	if (v == NULL || json_is_null(v))
		return KS_OK;
	if (!json_is_integer(v))
		return ks_fail(e, KS_ERR_INVALID, field, "%s must be an integer", field);
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return ks_fail(e, KS_ERR_RANGE, field, "%s must be %d..%d", field, lo, hi);
	*out = (int)x;
	return KS_OK;
}

static ks_err api_drivers(const json_t *answers, model_response *r, ks_error *e)
{
	const json_t *d = json_object_get(answers, "drivers");
	if (d == NULL || json_is_null(d))
		return KS_OK;
	if (!json_is_object(d))
		return ks_fail(e, KS_ERR_INVALID, "answers.drivers",
			       "answers.drivers must be an object of aspect: score");
	const char *aspect;
	json_t *v;
	json_object_foreach((json_t *)d, aspect, v) {
		char field[96];
		snprintf(field, sizeof field, "answers.drivers.%.60s", aspect);
		if (r->n_drivers == MODEL_MAX_DRIVERS)
			return ks_fail(e, KS_ERR_RANGE, "answers.drivers", "at most %d driver ratings",
				       MODEL_MAX_DRIVERS);
		if (aspect[0] == '\0' || strlen(aspect) >= sizeof r->drivers[0].aspect)
			return ks_fail(e, KS_ERR_INVALID, field, "driver aspect must be 1..63 bytes");
		if (!json_is_integer(v))
			return ks_fail(e, KS_ERR_INVALID, field, "%s must be an integer", field);
		if (json_integer_value(v) < 1 || json_integer_value(v) > 10)
			return ks_fail(e, KS_ERR_RANGE, field, "%s must be 1..10", field);
		model_driver_score *ds = &r->drivers[r->n_drivers++];
		snprintf(ds->aspect, sizeof ds->aspect, "%s", aspect);
		ds->score = (int)json_integer_value(v);
	}
	return KS_OK;
}

static ks_err api_answers(const json_t *o, model_response *r, ks_error *e)
{
	const json_t *a = json_object_get(o, "answers");
	if (a == NULL)
		return ks_fail(e, KS_ERR_INVALID, "answers", "answers is required");
	if (!json_is_object(a))
		return ks_fail(e, KS_ERR_INVALID, "answers", "answers must be an object");
	ks_err err = api_only_fields(a, api_answer_keys, "answers.", e);
	if (!err)
		err = api_score(a, "nps", 0, 10, &r->nps, e);
	if (!err)
		err = api_score(a, "grade", 1, 10, &r->grade, e);
	if (!err)
		err = api_score(a, "ces", 1, 7, &r->ces, e);
	if (!err)
		err = api_drivers(a, r, e);
	if (err)
		return err;
	const json_t *consent = json_object_get(a, "contact_consent");
	if (consent && !json_is_null(consent)) {
		if (!json_is_boolean(consent))
			return ks_fail(e, KS_ERR_INVALID, "answers.contact_consent",
				       "answers.contact_consent must be true, false or null");
		r->contact_consent = json_is_true(consent);
	}
	const json_t *open = json_object_get(a, "open");
	if (open && !json_is_null(open)) {
		if (!json_is_string(open))
			return ks_fail(e, KS_ERR_INVALID, "answers.open", "answers.open must be a string");
		if (json_string_length(open) > MODEL_OPEN_MAX)
			return ks_fail(e, KS_ERR_RANGE, "answers.open", "answers.open is longer than %d bytes",
				       MODEL_OPEN_MAX);
		/* Only blanks is no answer at all. */
		const char *txt = json_string_value(open);
		/* The survey page's limit in characters (issue 11). */
		if (survey_text_chars(txt, json_string_length(open)) > SURVEY_OPEN_CHARS_MAX)
			return ks_fail(e, KS_ERR_RANGE, "answers.open",
				       "answers.open is longer than %d characters", SURVEY_OPEN_CHARS_MAX);
		if (txt[strspn(txt, " \t\r\n")] != '\0')
			r->open_text = txt; /* borrowed from o */
	}
	if (r->nps < 0 && r->grade < 0 && r->ces < 0 && r->n_drivers == 0 && r->open_text == NULL)
		return ks_fail(e, KS_ERR_INVALID, "answers", "at least one answer is required");
	return KS_OK;
}

/* A retry with the same client_key must carry the same content: hash the
 * canonical (sorted, compact) body. */
static uint64_t api_body_hash(const json_t *o)
{
	char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	uint64_t h = api_hash(txt, txt ? strlen(txt) : 0);
	free(txt);
	return h;
}

/* A contact already decides its touchpoint, employee, team, customer and
 * channel. Giving any of them beside contact_id is refused (even when equal
 * to the contact's own) rather than silently replaced: the caller learns at
 * once that its idea of the contact differs, and the check needs no
 * database lookup (docs/API.md, Responses). */
static ks_err api_contact_ties(const json_t *o, ks_error *e)
{
	const char *ties[] = {"touchpoint_id", "employee_id", "team_id", "customer_id", "channel"};
	for (size_t i = 0; i < sizeof ties / sizeof ties[0]; i++)
		if (json_object_get(o, ties[i]))
			return ks_fail(e, KS_ERR_INVALID, ties[i],
				       "%s comes from the contact; leave it out when contact_id is given", ties[i]);
	return KS_OK;
}

static ks_err api_response_parse(http_req *req, const json_t *o, model_response *r, ks_error *e)
{
	model_response_init(r);
	ks_err err = api_only_fields(o, api_response_keys, "", e);
	if (!err)
		err = api_text(o, "client_key", r->client_key, sizeof r->client_key, e);
	const char *hdr = http_header(req, "Idempotency-Key");
	if (!err && hdr && r->client_key[0] && strcmp(hdr, r->client_key) != 0)
		return ks_fail(e, KS_ERR_INVALID, "client_key",
			       "client_key and the Idempotency-Key header differ");
	if (!err && hdr && r->client_key[0] == '\0') {
		if (strlen(hdr) > MODEL_KEY_MAX)
			return ks_fail(e, KS_ERR_RANGE, "client_key", "Idempotency-Key is too long");
		/* A header is bytes, not JSON text: only visible ASCII is taken,
		 * so the key can be stored, echoed in JSON and compared as the
		 * body's client_key would be (a non-UTF-8 key once gave a 500
		 * with the row on disk: fuzz/pending). */
		for (const unsigned char *c = (const unsigned char *)hdr; *c; c++)
			if (*c < 0x21 || *c > 0x7e)
				return ks_fail(e, KS_ERR_INVALID, "client_key",
					       "Idempotency-Key may hold only visible ASCII characters");
		snprintf(r->client_key, sizeof r->client_key, "%s", hdr);
	}
	const char *ids[] = {"contact_id", "touchpoint_id", "employee_id", "team_id", "customer_id"};
	int64_t *dst[] = {&r->contact_id, &r->touchpoint_id, &r->employee_id, &r->team_id,
			  &r->customer_id};
	for (size_t i = 0; !err && i < 5; i++)
		err = api_json_id(o, ids[i], dst[i], e);
	if (!err)
		err = api_channel(o, r->channel, sizeof r->channel, false, e);
	if (!err && r->contact_id)
		err = api_contact_ties(o, e);
	char lang[16];
	if (!err)
		err = api_text(o, "language", lang, sizeof lang, e);
	if (!err && lang[0] && !model_language_valid(lang))
		err = ks_fail(e, KS_ERR_INVALID, "language", "language must be nl or en");
	if (!err && lang[0])
		memcpy(r->language, lang, sizeof r->language); /* "nl" or "en" and its NUL */
	if (!err)
		err = api_time(o, "received_at", &r->received_at, e);
	if (!err)
		err = api_text(o, "source", r->source, sizeof r->source, e);
	if (!err && r->source[0] == '\0')
		snprintf(r->source, sizeof r->source, "api");
	if (!err && strspn(r->source, "abcdefghijklmnopqrstuvwxyz_") != strlen(r->source))
		err = ks_fail(e, KS_ERR_INVALID, "source", "source must be lower-case letters and _");
	if (!err)
		err = api_answers(o, r, e);
	if (!err)
		r->body_hash = api_body_hash(o);
	return err;
}

/* State of a response request between suspension and completion. */
typedef struct api_pending {
	http_req *req;
	ks_err rc;
	bool created;
	model_response r;
	char *open_text;         /* owned copy, or NULL */
	ks_error e;
} api_pending;

static void api_pending_free(api_pending *p)
{
	free(p->open_text);
	free(p);
}

/* The HTTP layer's form of the above: a client that disconnects while its
 * response waits for the writer is closed without api_response_finish, and
 * its state (with the copy of the open answer) would leak. */
static void api_pending_release(void *p)
{
	api_pending_free(p);
}

/* Writer thread: record the outcome, wake the request. Nothing slow here:
 * the writer serves everyone. */
static void api_response_done(void *arg, ks_err rc, bool created, const model_response *r,
			      const ks_error *e)
{
	api_pending *p = arg;
	p->rc = rc;
	p->created = created;
	p->r.id = r->id;
	if (e)
		p->e = *e;
	http_resume(p->req);
}

/* ---- issue 18 (PERF): the 201 body written straight into a buffer ----
 * Building it as jansson objects and dumping them was a quarter of the
 * HTTP threads' instructions per ingested response. The shape is
 * store_response_json's, key for key (test_responses compares the POST
 * reply with GET /responses/{id}, which uses store_response_json). */

/* SEP"key":N or SEP"key":null (key is a literal: no escaping needed) */
static ks_err api_put_int(ks_buf *b, const char *sep, const char *key, int64_t v, bool present)
{
	char num[24];
	char *q = num + sizeof num;
	*--q = '\0';
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do
		*--q = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--q = '-';
	ks_err err = buf_puts(b, sep);
	if (!err)
		err = buf_puts(b, "\"");
	if (!err)
		err = buf_puts(b, key);
	if (!err)
		err = buf_puts(b, "\":");
	return err ? err : buf_puts(b, present ? q : "null");
}

/* ,"key":"text" or ,"key":null when text is NULL or empty */
static ks_err api_put_str(ks_buf *b, const char *key, const char *v)
{
	ks_err err = buf_puts(b, ",\"");
	if (!err)
		err = buf_puts(b, key);
	if (!err)
		err = buf_puts(b, "\":");
	if (!err)
		err = v && v[0] ? buf_json_str(b, v) : buf_puts(b, "null");
	return err;
}

/* ,"key":"text", always a string */
static ks_err api_put_text(ks_buf *b, const char *key, const char *v)
{
	ks_err err = buf_puts(b, ",\"");
	if (!err)
		err = buf_puts(b, key);
	if (!err)
		err = buf_puts(b, "\":");
	return err ? err : buf_json_str(b, v);
}

/* {"aspect":N,...} or, for yes/no, {"aspect":true,...} */
static ks_err api_put_aspects(ks_buf *b, const model_response *r, bool yesno)
{
	int n = yesno ? r->n_yesno : r->n_drivers;
	ks_err err = buf_puts(b, "{");
	for (int i = 0; !err && i < n; i++) {
		if (i)
			err = buf_puts(b, ",");
		if (!err)
			err = buf_json_str(b, yesno ? r->yesno[i].aspect : r->drivers[i].aspect);
		if (!err && yesno)
			err = buf_puts(b, r->yesno[i].score ? ":true" : ":false");
		else if (!err)
			err = buf_printf(b, ":%d", r->drivers[i].score);
	}
	return err ? err : buf_puts(b, "}");
}

/* ,"answers":{...} as store_response_json nests it */
static ks_err api_put_answers(ks_buf *b, const model_response *r)
{
	ks_err err = buf_puts(b, ",\"answers\":");
	if (!err)
		err = api_put_int(b, "{", "nps", r->nps, r->nps >= 0);
	if (!err)
		err = api_put_int(b, ",", "grade", r->grade, r->grade >= 0);
	if (!err)
		err = api_put_int(b, ",", "ces", r->ces, r->ces >= 0);
	if (!err)
		err = buf_puts(b, ",\"drivers\":");
	if (!err)
		err = api_put_aspects(b, r, false);
	if (!err)
		err = r->open_text ? api_put_text(b, "open", r->open_text) : buf_puts(b, ",\"open\":null");
	if (!err)
		err = buf_puts(b, r->contact_consent < 0 ? ",\"contact_consent\":null"
			       : r->contact_consent ? ",\"contact_consent\":true"
						     : ",\"contact_consent\":false");
	if (!err)
		err = buf_puts(b, ",\"yesno\":");
	if (!err)
		err = api_put_aspects(b, r, true);
	return err ? err : buf_puts(b, "}");
}

/* The reply body for r; NULL when out of memory (the caller answers 500). */
static char *api_response_body(const model_response *r, size_t *len)
{
	char iso[32];
	clock_format_iso(r->received_at, iso, sizeof iso);
	ks_buf b;
	buf_init(&b, (size_t)HTTP_BODY_MAX * 8);
	ks_err err = api_put_int(&b, "{", "id", r->id, true);
	if (!err)
		err = api_put_str(&b, "client_key", r->client_key);
	if (!err)
		err = api_put_int(&b, ",", "contact_id", r->contact_id, r->contact_id != 0);
	if (!err)
		err = api_put_int(&b, ",", "customer_id", r->customer_id, r->customer_id != 0);
	if (!err)
		err = api_put_int(&b, ",", "employee_id", r->employee_id, r->employee_id != 0);
	if (!err)
		err = api_put_int(&b, ",", "team_id", r->team_id, r->team_id != 0);
	if (!err)
		err = api_put_int(&b, ",", "touchpoint_id", r->touchpoint_id, r->touchpoint_id != 0);
	if (!err)
		err = api_put_int(&b, ",", "survey_id", r->survey_id, r->survey_id != 0);
	if (!err)
		err = api_put_str(&b, "channel", r->channel);
	if (!err)
		err = api_put_text(&b, "language", r->language);
	if (!err)
		err = api_put_answers(&b, r);
	if (!err)
		err = api_put_text(&b, "received_at", iso);
	if (!err)
		err = api_put_text(&b, "source", r->source);
	if (!err)
		err = buf_puts(&b, r->partial ? ",\"complete\":false}" : ",\"complete\":true}");
	if (err) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, len);
}

/* ---- end issue 18 (PERF) ---- */

/* Server thread, after resumption: shape the reply. */
static ks_err api_response_finish(http_req *req, ks_error *e)
{
	api_pending *p = req->pending;
	req->pending = NULL;
	ks_err rc = p->rc;
	if (rc) {
		*e = p->e;
		if (rc == KS_ERR_STORAGE_FULL)
			req->retry_after = API_STORAGE_RETRY_S;
		api_pending_free(p);
		return rc;
	}
	snprintf(req->location, sizeof req->location, "/api/v1/responses/%lld", (long long)p->r.id);
	size_t len = 0;
	char *body = api_response_body(&p->r, &len); /* issue 18 (PERF) */
	int status = p->created ? 201 : 200;
	api_pending_free(p);
	if (body == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_buf b = {.data = body, .len = len, .cap = len + 1, .max = len + 1};
	http_reply_buf(req, status, "application/json", &b);
	return KS_OK;
}

ks_err api_response_create(http_req *req, ks_error *e);
ks_err api_response_create(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *o = NULL;
	api_pending *p = malloc(sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	p->open_text = NULL;
	ks_err err = api_body_object(req, &o, e);
	if (!err)
		err = api_response_parse(req, o, &p->r, e);
	if (!err && p->r.open_text) {
		/* Keep our own copy: the JSON document goes away now. */
		p->open_text = strdup(p->r.open_text);
		if (p->open_text == NULL)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		p->r.open_text = p->open_text;
	}
	json_decref(o);
	if (!err)
		err = store_response_prepare(app->store, &p->r, e);
	if (err) {
		api_pending_free(p);
		return err;
	}
	p->rc = KS_OK;
	p->created = false;
	ks_error_clear(&p->e);
	p->req = req;
	req->pending = p;
	req->pending_free = api_pending_release;
	req->on_resume = api_response_finish;
	/* Suspend before queueing, so the writer can never resume a request
	 * that is not yet suspended. */
	http_suspend(req);
	err = store_response_submit_async(app->store, &p->r, api_response_done, p);
	if (err) {
		p->rc = err;
		ks_fail(&p->e, err, NULL, "the server is shutting down");
		http_resume(req);
	}
	return KS_OK;
}

ks_err api_response_get(http_req *req, ks_error *e);
ks_err api_response_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id;
	json_t *out = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_response_get(app->store, id, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

ks_err api_response_list(http_req *req, ks_error *e);
ks_err api_response_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_list_query q;
	json_t *out = NULL;
	ks_err err = api_page(req, &q, e);
	if (!err)
		err = store_response_list(app->store, &q, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}
