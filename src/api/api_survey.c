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
 *
 * The one-click score (issue 13, docs/API.md "One-click score"): a GET of
 * a contact's link with ?nps=N stores N at once as a partial response
 * (complete false, source "one-click"), counted like any other; the form
 * posted later completes that same row. The page cannot confirm with a
 * script (its CSP allows none), so the GET stores; against mail scanners,
 * which open every link of a mail within a second or two, a second,
 * different score within API_SCANNER_S of the last tap withdraws the
 * score (the response stays partial without NPS) until a tap after that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api/api.h"
#include "survey/page.h"

#define API_PAGE_MAX (256 * 1024)
/* Two different taps closer than this are a scanner opening every link. */
#define API_SCANNER_S 10

/* The organisation's voice for a page (issue 13); logo only as a flag. */
static void api_page_voice(api_app *app, store_voice *v, survey_voice *out)
{
	memset(v, 0, sizeof *v);
	if (store_voice_get(app->store, v, false, NULL) != KS_OK)
		memset(v, 0, sizeof *v);
	out->formal = v->formal;
	out->org_name = v->organisation_name;
	out->logo = v->logo_len > 0;  /* the page needs to know, not the bytes */
}

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
	store_voice sv;
	survey_voice v;
	api_page_voice(req->app, &sv, &v);
	buf_init(&b, API_PAGE_MAX);
	ks_err err = survey_page_message_voice(&b, lang, &v, kind);
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, status, "text/html; charset=utf-8", &b);
	return KS_OK;
}

/* issue 16 H3: the thank-you page with the review invitation's link. */
static ks_err api_page_thanks_review(http_req *req, const char *lang, const char *review_href)
{
	ks_buf b;
	store_voice sv;
	survey_voice v;
	api_page_voice(req->app, &sv, &v);
	buf_init(&b, API_PAGE_MAX);
	ks_err err = survey_page_thanks_review(&b, lang, &v, review_href);
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, 201, "text/html; charset=utf-8", &b);
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

/* The touchpoint as the customer reads it in lang (issue 13). */
static const char *api_page_touchpoint(const store_link *l, const char *lang)
{
	if (strcmp(lang, "en") == 0 && l->touchpoint_label_en[0])
		return l->touchpoint_label_en;
	if (l->touchpoint_label_nl[0])
		return l->touchpoint_label_nl;
	return l->touchpoint_name;
}

static ks_err api_page_form(http_req *req, int status, const store_link *l, const model_survey *s,
			    const char *nonce, int prefill, int saved, const survey_form_errors *errs)
{
	ks_buf b;
	store_voice sv;
	survey_voice v;
	api_page_voice(req->app, &sv, &v);
	const char *lang = api_page_lang(req, l);
	survey_form_ctx ctx = {.lang = lang, .token = req->params[0], .nonce = nonce,
			       .touchpoint_name = api_page_touchpoint(l, lang),
			       .employee_first_name = l->employee_first_name,
			       .prefill_nps = prefill, .saved_nps = saved, .voice = &v};
	buf_init(&b, API_PAGE_MAX);
	ks_err err = survey_page_form_voice(&b, s, &ctx, errs);
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, status, "text/html; charset=utf-8", &b);
	return KS_OK;
}

static bool api_survey_has_nps(const model_survey *s)
{
	for (int i = 0; i < s->n_questions; i++)
		if (s->q[i].type == MODEL_Q_NPS)
			return true;
	return false;
}

/* A tap in the mail: store it as the contact's partial response, change
 * it, or (a scanner's burst) withdraw it. Returns the score now saved, or
 * -1. Failures leave the page as it was: the form still takes the score. */
static int api_one_click_at(http_req *req, const store_link *l, int nps, bool again)
{
	api_app *app = req->app;
	int64_t now = clock_now(app->clock);
	model_response r;
	model_response_init(&r);
	r.nps = nps;
	r.partial = true;
	if (l->partial_id == 0) {
		r.contact_id = l->contact.id;
		r.survey_id = l->survey_id;
		snprintf(r.language, sizeof r.language, "%s", api_page_lang(req, l));
		snprintf(r.source, sizeof r.source, "one-click");
		/* one per contact: a reload, a second tab or a retry is a repeat */
		snprintf(r.client_key, sizeof r.client_key, "one-click:%lld", (long long)l->contact.id);
		r.body_hash = (uint64_t)nps + 1;
		bool created = false;
		ks_err err = store_response_submit(app->store, &r, &created, NULL);
		if (err != KS_ERR_CONFLICT || again)
			return err == KS_OK ? nps : -1;
		/* Another tap got there first (a scanner opens every link at
		 * once): take it as a second tap, so the burst rule applies. */
		store_link now_l;
		if (store_link_resolve(app->store, req->params[0], &now_l, NULL) != KS_OK || now_l.partial_id == 0)
			return -1;
		return api_one_click_at(req, &now_l, nps, true);
	}
	if (l->partial_nps == nps)
		return nps;  /* the same tap again */
	r.id = l->partial_id;
	bool burst = l->one_click_at > 0 && now - l->one_click_at < API_SCANNER_S;
	if (burst)
		r.nps = -1;
	if (store_response_update_partial(app->store, &r, now, NULL) != KS_OK)
		return l->partial_nps;
	return r.nps;
}

static int api_one_click(http_req *req, const store_link *l, int nps)
{
	return api_one_click_at(req, l, nps, false);
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
	int saved = -1;
	if (l.is_contact && prefill >= 0 && api_survey_has_nps(s))
		saved = api_one_click(req, &l, prefill);
	else if (l.is_contact && l.partial_id && l.partial_nps >= 0)
		saved = prefill = l.partial_nps;  /* opened again without a score */
	char nonce[MODEL_TOKEN_LEN + 1];
	api_nonce(nonce);
	err = api_page_form(req, 200, &l, s, nonce, prefill, saved, NULL);
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
		return api_page_form(req, 422, &p->l, &p->s, p->nonce, -1, -1, &p->errs);
	}
	p->r.open_text = open;
	api_page_response(&p->l, lang, p->nonce, &p->r);
	bool created = false;
	if (p->l.partial_id) {
		/* the form completes the one-click response: the same row */
		p->r.id = p->l.partial_id;
		err = store_response_update_partial(app->store, &p->r, clock_now(app->clock), e);
		created = err == KS_OK;
	} else {
		err = api_survey_submit(req, p, &created, e);
	}
	free(open);
	if (err == KS_ERR_CONFLICT || (err == KS_OK && !created))
		return api_page_message(req, 409, lang, SURVEY_MSG_ALREADY_ANSWERED);
	if (err == KS_ERR_STORAGE_FULL || err == KS_ERR_UNAVAILABLE) {
		req->retry_after = API_STORAGE_RETRY;
		return api_page_message(req, 503, lang, SURVEY_MSG_UNAVAILABLE);
	}
	if (err)
		return err;
	/* issue 16 H3: the customer may be invited to write a public review
	 * (everyone who answered, or promoters only: the audience setting, H7) */
	char review[64];
	if (p->l.is_contact && p->r.nps >= 0 && api_review_offer(app, p->r.id, review, sizeof review))
		return api_page_thanks_review(req, lang, review);
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

/* ==== customer voice (issue 13) ============================================== */

/* Past this many questions a survey loses customers halfway (docs/API.md). */
#define API_SURVEY_SHORT 4
/* The share of "yes" is shown from this many answers (docs/PRIVACY.md's min n). */
#define API_YESNO_MIN_N 5

/* Does Dutch text address the reader as "je" (formal false) or "u"
 * (true)? Whole words only, any case: "Je", "jouw", "uw". */
static bool api_text_addresses(const char *text, bool formal)
{
	static const char *const je[] = {"je", "jij", "jou", "jouw", NULL};
	static const char *const u[] = {"u", "uw", NULL};
	const char *const *words = formal ? u : je;
	for (const char *p = text; *p;) {
		while (*p && !((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
			p++;
		const char *start = p;
		while (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || (unsigned char)*p >= 0x80)
			p++;
		size_t n = (size_t)(p - start);
		for (size_t i = 0; n > 0 && words[i]; i++)
			if (strlen(words[i]) == n && strncasecmp(start, words[i], n) == 0)
				return true;
	}
	return false;
}

/* The first Dutch question text in the other form of address. */
static void api_warn_address(api_app *app, const json_t *questions, json_t *w)
{
	store_voice v;
	if (store_voice_get(app->store, &v, false, NULL) != KS_OK)
		return;
	bool formal = v.formal;
	store_voice_free(&v);
	for (size_t i = 0; i < json_array_size(questions); i++) {
		const char *nl = json_string_value(json_object_get(
			json_object_get(json_array_get(questions, i), "text"), "nl"));
		if (nl == NULL || !api_text_addresses(nl, !formal))
			continue;
		char field[64];
		snprintf(field, sizeof field, "questions[%zu].text.nl", i);
		json_array_append_new(w, json_pack("{s:s, s:s, s:s}", "code", "form_of_address", "field", field,
						   "message", formal ? "the organisation says u; this question says je"
								     : "the organisation says je; this question says u"));
		return;
	}
}

void api_survey_warnings(api_app *app, const model_entity *ent, json_t *row)
{
	if (ent == NULL || row == NULL || strcmp(ent->name, "surveys") != 0)
		return;
	json_t *w = json_array();
	const json_t *questions = json_object_get(row, "questions");
	if (json_array_size(questions) > API_SURVEY_SHORT)
		json_array_append_new(w, json_pack("{s:s, s:s, s:s}", "code", "long_survey", "field",
						   "questions", "message",
						   "more than four questions: customers drop out of long surveys "
						   "(keep to the NPS, one open question and at most two drivers)"));
	api_warn_address(app, questions, w);
	json_object_set_new(row, "warnings", w);
}

/* GET /logo: the organisation's uploaded logo, for its customer pages and
 * mails. Its type was checked by its first bytes when it was uploaded. */
ks_err api_logo_get(http_req *req, ks_error *e);
ks_err api_logo_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_voice v;
	ks_err err = store_voice_get(app->store, &v, true, e);
	if (err)
		return err;
	if (v.logo == NULL) {
		store_voice_free(&v);
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no logo");
	}
	ks_buf b;
	buf_init(&b, STORE_LOGO_MAX + 1);
	err = buf_append(&b, (const char *)v.logo, v.logo_len);
	static const char *const types[] = {"image/png", "image/jpeg", "image/gif"};
	const char *type = types[0];
	for (size_t i = 0; i < 3; i++)
		if (strcmp(v.logo_type, types[i]) == 0)
			type = types[i];
	store_voice_free(&v);
	if (err) {
		buf_free(&b);
		return err;
	}
	http_reply_buf(req, 200, type, &b);
	return KS_OK;
}

/* GET /api/v1/yesno?survey_id=&from=&to=: the share of "yes" per yes/no
 * question, organisation-wide (no person in it). */
ks_err api_yesno_report(http_req *req, ks_error *e);
ks_err api_yesno_report(http_req *req, ks_error *e)
{
	static const char *const params[] = {"survey_id", "from", "to", NULL};
	api_app *app = req->app;
	int64_t survey_id = 0, from = 0, to = 0;
	json_t *out = NULL;
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_query_id(req, "survey_id", &survey_id, e);
	if (!err)
		err = api_time_range(req, &from, &to, e);
	if (!err)
		err = store_yesno_report(app->store, survey_id, from, to, API_YESNO_MIN_N, &out, e);
	if (err)
		return err;
	json_object_set_new(out, "min_n", json_integer(API_YESNO_MIN_N));
	http_reply_json(req, 200, out);
	return KS_OK;
}
