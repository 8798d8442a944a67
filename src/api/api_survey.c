/* api_survey.c — the public survey page, GET and POST /s/{token}.
 *
 * The token is a contact's invitation token (one answer per contact) or a
 * touchpoint's open link (any number of answers). Each rendered form
 * carries a random nonce k; the response's client_key is derived from it,
 * so a double submit of the same form stores one response.
 *
 * The open-link guard (issue 11, src/survey/guard.h) sits in front of
 * every POST: over a rate limit the customer gets a friendly 429 page with
 * Retry-After; a valid answer on an open link beyond the normal rate is
 * stored but held as suspect (store_suspect_hold) and counts nowhere until
 * an admin accepts it. The customer sees the same thank-you page either
 * way: telling a flood which answers are held would only help it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "survey/page.h"

#define API_PAGE_MAX (256 * 1024)

static const char *api_page_lang(http_req *req, const store_link *l)
{
	const char *q = http_query(req, "lang");
	if (q && (strcmp(q, "en") == 0 || strcmp(q, "nl") == 0))
		return q;
	return l->language[0] ? l->language : "nl";
}

static ks_err api_page_message(http_req *req, int status, const char *lang, survey_message kind)
{
	ks_buf b;
	buf_init(&b, API_PAGE_MAX);
	ks_err err = survey_page_message(&b, lang, kind);
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, status, "text/html; charset=utf-8", &b);
	return KS_OK;
}

/* Resolve the token; on a dead link reply with the friendly page and
 * return false. */
static bool api_page_link(http_req *req, store_link *l, model_survey *s, ks_err *err)
{
	api_app *app = req->app;
	ks_error e;
	ks_err rc = store_link_resolve(app->store, req->params[0], l, &e);
	if (rc == KS_OK && l->survey_id)
		rc = store_survey_get(app->store, l->survey_id, s, &e);
	else if (rc == KS_OK)
		rc = KS_ERR_NOTFOUND; /* a touchpoint without a survey */
	*err = KS_OK;
	if (rc == KS_OK)
		return true;
	const char *lang = api_page_lang(req, l);
	if (rc == KS_ERR_NOTFOUND)
		*err = api_page_message(req, 404, lang, SURVEY_MSG_NOT_FOUND);
	else if (rc == KS_ERR_GONE)
		*err = api_page_message(req, 410, lang, SURVEY_MSG_EXPIRED);
	else
		*err = rc;
	return false;
}

static void api_nonce(char out[MODEL_TOKEN_LEN + 1])
{
	unsigned char raw[MODEL_TOKEN_LEN * 3 / 4];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, MODEL_TOKEN_LEN + 1, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static ks_err api_page_form(http_req *req, int status, const store_link *l, const model_survey *s,
			    const char *nonce, int prefill, const survey_form_errors *errs)
{
	ks_buf b;
	buf_init(&b, API_PAGE_MAX);
	ks_err err = survey_page_form(&b, s, api_page_lang(req, l), req->params[0], nonce,
				      l->touchpoint_name, l->employee_first_name, prefill, errs);
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, status, "text/html; charset=utf-8", &b);
	return KS_OK;
}

ks_err api_survey_get(http_req *req, ks_error *e);
ks_err api_survey_get(http_req *req, ks_error *e)
{
	(void)e;
	store_link l;
	model_survey *s = malloc(sizeof *s);
	if (s == NULL)
		return KS_ERR_NOMEM;
	ks_err err;
	if (!api_page_link(req, &l, s, &err)) {
		free(s);
		return err;
	}
	if (l.answered) {
		free(s);
		return api_page_message(req, 200, api_page_lang(req, &l), SURVEY_MSG_ALREADY_ANSWERED);
	}
	/* ?nps=N: the score clicked in the invitation e-mail. */
	int prefill = -1;
	const char *q = http_query(req, "nps");
	if (q && q[0] >= '0' && q[0] <= '9' && (q[1] == '\0' || (q[0] == '1' && q[1] == '0' && q[2] == '\0')))
		prefill = atoi(q);
	/* The funnel: opened, and started when a score was clicked in the mail. */
	api_app *app = req->app;
	if (l.is_contact)
		store_invite_opened(app->store, l.contact.id, prefill >= 0, clock_now(app->clock), NULL);
	char nonce[MODEL_TOKEN_LEN + 1];
	api_nonce(nonce);
	err = api_page_form(req, 200, &l, s, nonce, prefill, NULL);
	free(s);
	return err;
}

/* What a POST of the form becomes. */
static void api_page_response(const store_link *l, const char *lang, const char *nonce,
			      model_response *r)
{
	if (l->is_contact)
		r->contact_id = l->contact.id;
	else
		r->touchpoint_id = l->touchpoint_id;
	r->survey_id = l->survey_id;
	snprintf(r->language, sizeof r->language, "%s", lang);
	snprintf(r->source, sizeof r->source, "survey");
	if (nonce[0])
		snprintf(r->client_key, sizeof r->client_key, "web:%s", nonce);
}

typedef struct api_post {
	store_link l;
	model_survey s;
	model_response r;
	survey_form_errors errs;
	char nonce[SURVEY_NONCE_MAX + 1];
	char addr[64];           /* the client's address (http_client_addr) */
} api_post;

/* Seconds a customer is asked to wait when the answers cannot be stored. */
#define API_STORAGE_RETRY 300

/* The rate limits of the guard: false (and the 429 page) when over one. */
static bool api_survey_admit(http_req *req, api_post *p, ks_err *err)
{
	api_app *app = req->app;
	int wait = 0;
	*err = KS_OK;
	if (app->guard == NULL ||
	    guard_admit(app->guard, p->addr, req->params[0], !p->l.is_contact, clock_now(app->clock),
			&wait))
		return true;
	req->retry_after = wait;
	*err = api_page_message(req, 429, api_page_lang(req, &p->l), SURVEY_MSG_TOO_MANY);
	return false;
}

/* Store the parsed answer: counted through the writer, or, for an open
 * link in a burst, held as suspect. */
static ks_err api_survey_submit(http_req *req, api_post *p, bool *created, ks_error *e)
{
	api_app *app = req->app;
	if (p->l.is_contact || app->guard == NULL ||
	    guard_normal(app->guard, req->params[0], clock_now(app->clock)))
		return store_response_submit(app->store, &p->r, created, e);
	guard_config cfg;
	guard_get_config(app->guard, &cfg);
	ks_err err = store_response_prepare(app->store, &p->r, e);
	if (!err)
		err = store_suspect_hold(app->store, &p->r, p->addr, cfg.quiet_s, created, NULL, NULL, e);
	return err;
}

static ks_err api_survey_store(http_req *req, api_post *p, ks_error *e)
{
	api_app *app = req->app;
	const char *lang = api_page_lang(req, &p->l);
	char *open = NULL;
	if (p->l.is_contact)
		store_invite_opened(app->store, p->l.contact.id, true, clock_now(app->clock), NULL);
	ks_err err = survey_form_parse(req->body.data ? req->body.data : "", req->body.len, &p->s,
				       &p->r, &open, p->nonce, sizeof p->nonce, &p->errs);
	if (err) {
		if (p->nonce[0] == '\0')
			api_nonce(p->nonce);
		return api_page_form(req, 422, &p->l, &p->s, p->nonce, -1, &p->errs);
	}
	p->r.open_text = open;
	api_page_response(&p->l, lang, p->nonce, &p->r);
	bool created = false;
	err = api_survey_submit(req, p, &created, e);
	free(open);
	if (err == KS_ERR_CONFLICT || (err == KS_OK && !created))
		return api_page_message(req, 409, lang, SURVEY_MSG_ALREADY_ANSWERED);
	if (err == KS_ERR_STORAGE_FULL || err == KS_ERR_UNAVAILABLE) {
		req->retry_after = API_STORAGE_RETRY;
		return api_page_message(req, 503, lang, SURVEY_MSG_UNAVAILABLE);
	}
	if (err)
		return err;
	return api_page_message(req, 201, lang, SURVEY_MSG_THANKS);
}

ks_err api_survey_post(http_req *req, ks_error *e);
ks_err api_survey_post(http_req *req, ks_error *e)
{
	api_post *p = calloc(1, sizeof *p);
	if (p == NULL)
		return KS_ERR_NOMEM;
	model_response_init(&p->r);
	survey_form_errors_init(&p->errs);
	ks_err err;
	http_client_addr(req, p->addr, sizeof p->addr);
	if (api_page_link(req, &p->l, &p->s, &err) && api_survey_admit(req, p, &err)) {
		if (p->l.answered)
			err = api_page_message(req, 409, api_page_lang(req, &p->l),
					       SURVEY_MSG_ALREADY_ANSWERED);
		else
			err = api_survey_store(req, p, e);
	}
	free(p);
	return err;
}
