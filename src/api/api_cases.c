/* api_cases.c — the closed loop (issue 6): cases opened by alert rules,
 * their status flow with optimistic concurrency, notes, and the alert
 * rules themselves. See docs/API.md, "Cases (closed loop)".
 *
 * Scope: directors and admins see every case; managers and team leads the
 * cases of their unit and everything below it (a case without a team only
 * the former); employees none (the routes refuse them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/analytics.h"
#include "api/api.h"
#include "cases/flow.h"
#include "cases/message.h"
#include "cases/notify.h"

#define API_CASE_TEXT_MAX 4000
#define API_WORDS_MAX 500

/* issue 13: the text in the requester's language (nl unless en). */
static const char *api_case_text_in(const http_req *req, const char *en, const char *nl)
{
	return strcmp(req->who.language, "en") == 0 ? en : nl;
}

/* The server texts the case pages show, in Dutch (issue 13): the English
 * message's start and its Dutch text; a trailing "%s" takes the rest of
 * the English message (a name). Mails and the API default stay English
 * for "en" readers. */
static const struct {
	const char *en, *nl;
} api_case_nl[] = {
	{"that case is outside your scope", "die case valt buiten uw bereik"},
	{"case ", "case niet gevonden"},
	{"the case changed meanwhile", "de case is intussen gewijzigd: laad opnieuw en probeer het nog eens"},
	{"the customer already has an open case", "de klant heeft al een open case: ga daarmee verder"},
	{"the customer did not consent", "de klant wil niet benaderd worden: los de case op zonder contact"},
	{"a case cannot go from", "deze stap in de status is niet toegestaan"},
	{"status must be new", "status moet new, contacted, resolved of closed zijn"},
	{"customer_message goes with", "een bericht aan de klant hoort bij de stap naar opgelost"},
	{"resurvey goes with", "een vervolgenquête hoort bij de stap naar opgelost"},
	{"customer_message must not be empty", "het bericht aan de klant is leeg"},
	{"customer_message must be a string", "het bericht aan de klant moet tekst zijn"},
	{"version (a positive integer)", "version (een positief geheel getal) ontbreekt"},
	{"root_cause must be one of", "kies een grondoorzaak uit de lijst, of geen"},
	{"text is required", "schrijf een notitie"},
	{"text must not be empty", "de notitie is leeg"},
	{"owner must be me", "owner moet me zijn"},
	{"overdue must be true or false", "overdue moet true of false zijn"},
	{"unknown parameter ", "onbekende parameter %s"},
	{"unknown field ", "onbekend veld %s"},
};

/* Put e's message in the requester's language and return err. */
static ks_err api_case_done(const http_req *req, ks_err err, ks_error *e)
{
	if (err == KS_OK || e == NULL || strcmp(req->who.language, "en") == 0)
		return err;
	for (size_t i = 0; i < sizeof api_case_nl / sizeof api_case_nl[0]; i++) {
		size_t n = strlen(api_case_nl[i].en);
		if (strncmp(e->message, api_case_nl[i].en, n) != 0)
			continue;
		if (n == 5 && strstr(e->message, "not found") == NULL) /* "case ": only "case N not found" */
			continue;
		char out[sizeof e->message];
		const char *pct = strstr(api_case_nl[i].nl, "%s");
		if (pct)
			snprintf(out, sizeof out, "%.*s%s", (int)(pct - api_case_nl[i].nl), api_case_nl[i].nl,
				 e->message + n);
		else
			snprintf(out, sizeof out, "%s", api_case_nl[i].nl);
		snprintf(e->message, sizeof e->message, "%s", out);
		break;
	}
	return err;
}

/* May the requester see a case of this team (0 = none)? */
static ks_err api_case_scope(http_req *req, int64_t team_id, ks_error *e)
{
	api_app *app = req->app;
	const http_principal *w = &req->who;
	if (!w->authenticated || w->role >= AUTH_ROLE_DIRECTOR)
		return KS_OK;
	if (w->role == AUTH_ROLE_EMPLOYEE || w->unit_id == 0 || team_id == 0 ||
	    !an_unit_within(app->index, team_id, w->unit_id))
		return ks_fail(e, KS_ERR_FORBIDDEN, NULL, "that case is outside your scope");
	return KS_OK;
}

/* The case as JSON, when the requester may see it; *team (may be NULL)
 * gets its team. */
static ks_err api_case_load(http_req *req, int64_t id, json_t **out, int64_t *team_out, ks_error *e)
{
	api_app *app = req->app;
	int64_t team = 0;
	ks_err err = store_case_get_lang(app->store, id, clock_now(app->clock), req->who.language, out, &team, e);
	if (team_out)
		*team_out = team;
	if (!err && (err = api_case_scope(req, team, e)) != KS_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return err;
}

/* ---- GET /api/v1/cases ------------------------------------------------------------ */

/* issue 13: escalated=true|false, escalated_to=me, inbox=me. */
static ks_err api_case_list_loop(http_req *req, store_case_query *q, ks_error *e)
{
	const char *v = http_query(req, "escalated");
	if (v) {
		if (strcmp(v, "true") == 0)
			q->escalated = 1;
		else if (strcmp(v, "false") == 0)
			q->escalated = 2;
		else
			return ks_fail(e, KS_ERR_INVALID, "escalated", "%s",
				       api_case_text_in(req, "escalated must be true or false",
							"escalated moet true of false zijn"));
	}
	int64_t me = req->who.user_id ? req->who.user_id : -1;
	v = http_query(req, "escalated_to");
	if (v) {
		if (strcmp(v, "me") != 0)
			return ks_fail(e, KS_ERR_INVALID, "escalated_to", "%s",
				       api_case_text_in(req, "escalated_to must be me", "escalated_to moet me zijn"));
		q->escalated_to = me;
	}
	v = http_query(req, "inbox");
	if (v) {
		if (strcmp(v, "me") != 0)
			return ks_fail(e, KS_ERR_INVALID, "inbox",
				       "%s", api_case_text_in(req, "inbox must be me", "inbox moet me zijn"));
		q->inbox_user = me;
		q->inbox_unit = req->who.unit_id;
	}
	return KS_OK;
}

ks_err api_case_list(http_req *req, ks_error *e);
ks_err api_case_list(http_req *req, ks_error *e)
{
	static const char *const params[] = {"status", "team_id", "owner", "owner_user_id", "customer_id",
					     "overdue", "limit", "cursor", "escalated", "escalated_to", "inbox",
					     "response_id", NULL};
	api_app *app = req->app;
	store_case_query q;
	store_list_query page;
	memset(&q, 0, sizeof q);
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_query_id(req, "team_id", &q.team_id, e);
	if (!err)
		err = api_query_id(req, "owner_user_id", &q.owner_user_id, e);
	if (!err)
		err = api_query_id(req, "customer_id", &q.customer_id, e);
	if (!err)
		err = api_query_id(req, "response_id", &q.response_id, e);
	q.status = http_query(req, "status");
	if (!err && q.status && strcmp(q.status, "new") != 0 && strcmp(q.status, "contacted") != 0 &&
	    strcmp(q.status, "resolved") != 0 && strcmp(q.status, "closed") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "status", "status must be new, contacted, resolved or closed");
	const char *owner = http_query(req, "owner");
	if (!err && owner) {
		if (strcmp(owner, "me") != 0)
			err = ks_fail(e, KS_ERR_INVALID, "owner", "owner must be me");
		else
			q.owner_user_id = req->who.user_id ? req->who.user_id : -1;
	}
	const char *overdue = http_query(req, "overdue");
	if (!err && overdue) {
		if (strcmp(overdue, "true") == 0)
			q.overdue = true;
		else if (strcmp(overdue, "false") != 0)
			err = ks_fail(e, KS_ERR_INVALID, "overdue", "overdue must be true or false");
	}
	if (!err)
		err = api_case_list_loop(req, &q, e);
	if (!err)
		err = api_page(req, &page, e);
	if (!err) {
		int64_t employee = 0;
		err = api_scope(req, &q.team_id, &employee, false, e);
	}
	json_t *out = NULL;
	if (!err) {
		q.lang = req->who.language;
		q.now = clock_now(app->clock);
		q.after_id = page.after_id;
		q.limit = page.limit;
		err = store_case_list(app->store, &q, &out, e);
	}
	if (err)
		return api_case_done(req, err, e);
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- GET /api/v1/cases/{id} ------------------------------------------------------------ */

/* The customer's language on a loaded case (nl unless en). */
static const char *api_case_customer_lang(const json_t *c)
{
	const char *l = json_string_value(json_object_get(json_object_get(c, "customer"), "language"));
	return l && strcmp(l, "en") == 0 ? "en" : "nl";
}

ks_err api_case_get(http_req *req, ks_error *e);
ks_err api_case_get(http_req *req, ks_error *e)
{
	int64_t id = 0;
	json_t *out = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_case_load(req, id, &out, NULL, e);
	if (err)
		return api_case_done(req, err, e);
	/* issue 13: the form starts from the template in the customer's language */
	json_object_set_new(out, "message_template",
			    json_string(cases_msg_template(api_case_customer_lang(out))));
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- PATCH /api/v1/cases/{id} ------------------------------------------------------------ */

/* An optional text member: absent (has false), null (clear) or a string. */
static ks_err api_case_text(const json_t *o, const char *name, bool *has, const char **out, ks_error *e)
{
	const json_t *v = json_object_get(o, name);
	*has = v != NULL;
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return KS_OK;
	if (!json_is_string(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a string or null", name);
	if (json_string_length(v) > API_CASE_TEXT_MAX)
		return ks_fail(e, KS_ERR_RANGE, name, "%s is longer than %d characters", name, API_CASE_TEXT_MAX);
	*out = json_string_value(v);
	return KS_OK;
}

/* An optional tri-state member: absent (has false), null (-1), true, false. */
static ks_err api_case_tri(const json_t *o, const char *name, bool *has, int *out, ks_error *e)
{
	const json_t *v = json_object_get(o, name);
	*has = v != NULL;
	*out = -1;
	if (v == NULL || json_is_null(v))
		return KS_OK;
	if (!json_is_boolean(v))
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be true, false or null", name);
	*out = json_is_true(v);
	return KS_OK;
}

/* The customer message and the re-survey, which go with a move to resolved. */
static ks_err api_case_closing(const json_t *o, store_case_patch *p, ks_error *e)
{
	bool has = false;
	ks_err err = api_case_text(o, "customer_message", &has, &p->customer_message, e);
	if (!err && has && p->customer_message == NULL)
		err = ks_fail(e, KS_ERR_INVALID, "customer_message", "customer_message must be a string");
	if (!err && p->customer_message && p->customer_message[strspn(p->customer_message, " \t\r\n")] == '\0')
		err = ks_fail(e, KS_ERR_INVALID, "customer_message", "customer_message must not be empty");
	const json_t *v = json_object_get(o, "resurvey");
	if (!err && v) {
		if (!json_is_boolean(v))
			return ks_fail(e, KS_ERR_INVALID, "resurvey", "resurvey must be true or false");
		p->resurvey = json_is_true(v);
	}
	return err;
}

static ks_err api_case_patch_parse(const json_t *o, store_case_patch *p, ks_error *e)
{
	static const char *const fields[] = {"version", "status", "owner_user_id", "root_cause", "outcome",
					     "relationship_restored", "customer_retained", "consent",
					     "customer_message", "resurvey", NULL};
	memset(p, 0, sizeof *p);
	ks_err err = api_only_fields(o, fields, "", e);
	if (err)
		return err;
	const json_t *v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return ks_fail(e, KS_ERR_INVALID, "version", "version (a positive integer) is required");
	p->version = json_integer_value(v);
	v = json_object_get(o, "status");
	if (v) {
		if (!json_is_string(v) || json_string_length(v) >= sizeof p->status)
			return ks_fail(e, KS_ERR_INVALID, "status",
				       "status must be new, contacted, resolved or closed");
		p->has_status = true;
		snprintf(p->status, sizeof p->status, "%s", json_string_value(v));
	}
	v = json_object_get(o, "owner_user_id");
	if (v) {
		p->has_owner = true;
		err = api_json_id(o, "owner_user_id", &p->owner_user_id, e);
		if (err)
			return err;
	}
	err = api_case_text(o, "root_cause", &p->has_root_cause, &p->root_cause, e);
	if (!err && p->root_cause && !cases_root_cause_known(p->root_cause))
		err = ks_fail(e, KS_ERR_INVALID, "root_cause",
			      "root_cause must be one of GET /api/v1/case-root-causes, or null");
	if (!err)
		err = api_case_text(o, "outcome", &p->has_outcome, &p->outcome, e);
	if (!err)
		err = api_case_tri(o, "relationship_restored", &p->has_restored, &p->restored, e);
	if (!err)
		err = api_case_tri(o, "customer_retained", &p->has_retained, &p->retained, e);
	if (!err)
		err = api_case_tri(o, "consent", &p->has_consent, &p->consent, e);
	if (!err)
		err = api_case_closing(o, p, e);
	return err;
}

/* A case goes only to someone who can see it and work it: an active
 * account that may read cases (team lead and up), whose unit holds the
 * case's team unless they are a director or admin. A team lead must not
 * hand a case (with its customer's data) to an employee or to another
 * unit's lead. */
static ks_err api_case_owner_ok(http_req *req, int64_t owner, int64_t team, ks_error *e)
{
	api_app *app = req->app;
	store_user u;
	ks_err err = store_user_get(app->store, owner, &u, NULL, 0, NULL);
	if (err)
		return ks_fail(e, KS_ERR_REF, "owner_user_id", "user %lld does not exist", (long long)owner);
	auth_role role = auth_role_from_name(u.role);
	bool ok = !u.disabled && role >= AUTH_ROLE_TEAM_LEAD &&
		  (role >= AUTH_ROLE_DIRECTOR ||
		   (u.unit_id && team && an_unit_within(app->index, team, u.unit_id)));
	return ok ? KS_OK
		  : ks_fail(e, KS_ERR_INVALID, "owner_user_id",
			    "user %lld cannot see this case: owners are team leads, managers of its unit, "
			    "directors or admins", (long long)owner);
}

/* issue 13: render the handler's message once (cases/message.h), for the
 * case as loaded; a refused text is KS_ERR_INVALID naming field. */
static ks_err api_case_render(http_req *req, const json_t *cur, const char *text, const char *field,
			      ks_buf *out, ks_error *e)
{
	api_app *app = req->app;
	const json_t *cu = json_object_get(cur, "customer");
	cases_msg_vars v = {.customer_name = json_string_value(json_object_get(cu, "name")),
			    .employee_name = req->who.name,
			    .organisation = app->invite ? app->invite->org_name : NULL,
			    .lang = api_case_customer_lang(cur), .ui_lang = req->who.language};
	char why[256];
	ks_err err = cases_msg_render(text, &v, out, why, sizeof why, NULL);
	if (err == KS_ERR_INVALID)
		return ks_fail(e, KS_ERR_INVALID, field, "%s", why);
	return err ? ks_fail(e, err, field, "%s", api_case_text_in(req, "the message is too long",
									"het bericht is te lang"))
		   : KS_OK;
}

ks_err api_case_patch(http_req *req, ks_error *e);
ks_err api_case_patch(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0, team = 0;
	json_t *body = NULL, *cur = NULL, *out = NULL;
	store_case_patch p;
	ks_buf msg;
	buf_init(&msg, 64 * 1024);
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_case_load(req, id, &cur, &team, e);
	if (!err)
		err = api_body_object(req, &body, e);
	if (!err)
		err = api_case_patch_parse(body, &p, e);
	if (!err && p.customer_message) {
		err = api_case_render(req, cur, p.customer_message, "customer_message", &msg, e);
		p.customer_message = msg.data;
	}
	json_decref(cur);
	p.by_user_id = req->who.user_id;
	if (!err && p.has_owner && p.owner_user_id)
		err = api_case_owner_ok(req, p.owner_user_id, team, e);
	if (!err)
		err = store_case_update(app->store, id, &p, clock_now(app->clock), e);
	json_decref(body);
	buf_free(&msg);
	if (!err)
		err = store_case_get_lang(app->store, id, clock_now(app->clock), req->who.language, &out, NULL, e);
	if (err)
		return api_case_done(req, err, e);
	api_audit(req, "case.update", "case", id, json_pack("{s:s?}", "status", p.has_status ? p.status : NULL));
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- POST /api/v1/cases/{id}/message-preview (issue 13) --------------------------------- */

/* The exact mail the customer would get for {"customer_message": text}:
 * {to, language, subject, text}; to is null when it would not be sent
 * (no address). A refused text: 422 naming customer_message. */
ks_err api_case_message_preview(http_req *req, ks_error *e);
ks_err api_case_message_preview(http_req *req, ks_error *e)
{
	static const char *const fields[] = {"customer_message", NULL};
	api_app *app = req->app;
	int64_t id = 0;
	json_t *body = NULL, *cur = NULL;
	ks_buf msg, subject, text;
	buf_init(&msg, 64 * 1024);
	buf_init(&subject, 2048);
	buf_init(&text, 64 * 1024);
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_case_load(req, id, &cur, NULL, e);
	if (!err)
		err = api_body_object(req, &body, e);
	if (!err)
		err = api_only_fields(body, fields, "", e);
	const json_t *t = body ? json_object_get(body, "customer_message") : NULL;
	if (!err && (!json_is_string(t) || json_string_value(t)[strspn(json_string_value(t), " \t\r\n")] == '\0'))
		err = ks_fail(e, KS_ERR_INVALID, "customer_message", "%s",
			      api_case_text_in(req, "customer_message must not be empty",
					       "customer_message mag niet leeg zijn"));
	if (!err && json_string_length(t) > API_CASE_TEXT_MAX)
		err = ks_fail(e, KS_ERR_RANGE, "customer_message", "%s",
			      api_case_text_in(req, "customer_message is too long", "customer_message is te lang"));
	if (!err)
		err = api_case_render(req, cur, json_string_value(t), "customer_message", &msg, e);
	const char *lang = cur ? api_case_customer_lang(cur) : "nl";
	if (!err) {
		cases_mail_input in = {.kind = "customer", .lang = lang, .case_id = id,
				       .customer_message = msg.data,
				       .org_name = app->invite ? app->invite->org_name : NULL};
		err = cases_mail_build(&in, &subject, &text);
		if (err)
			ks_fail(e, err, "customer_message", "cannot build the mail");
	}
	json_t *out = NULL;
	if (!err) {
		const json_t *to = json_object_get(json_object_get(cur, "customer"), "email");
		out = json_pack("{s:O, s:s, s:s, s:s}", "to", to ? to : json_null(), "language", lang,
				"subject", subject.data, "text", text.data);
	}
	json_decref(cur);
	json_decref(body);
	buf_free(&msg);
	buf_free(&subject);
	buf_free(&text);
	if (err)
		return api_case_done(req, err, e);
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* ---- GET /api/v1/cases/stats -------------------------------------------------------------- */

ks_err api_case_stats(http_req *req, ks_error *e);
ks_err api_case_stats(http_req *req, ks_error *e)
{
	static const char *const params[] = {"team_id", "from", "to", NULL};
	api_app *app = req->app;
	store_case_stats_query q;
	memset(&q, 0, sizeof q);
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_query_id(req, "team_id", &q.team_id, e);
	if (!err)
		err = api_time_range(req, &q.from, &q.to, e);
	if (!err) {
		int64_t employee = 0;
		err = api_scope(req, &q.team_id, &employee, false, e);
	}
	json_t *out = NULL;
	if (!err) {
		q.now = clock_now(app->clock);
		err = store_case_stats(app->store, &q, &out, e);
	}
	if (err)
		return err;
	json_object_set_new(out, "team_id", q.team_id ? json_integer(q.team_id) : json_null());
	http_reply_json(req, 200, out);
	return KS_OK;
}

ks_err api_case_root_causes(http_req *req, ks_error *e);
ks_err api_case_root_causes(http_req *req, ks_error *e)
{
	(void)e;
	json_t *items = json_array();
	for (size_t i = 0; cases_root_causes[i]; i++)
		json_array_append_new(items, json_string(cases_root_causes[i]));
	http_reply_json(req, 200, json_pack("{s:o}", "items", items));
	return KS_OK;
}

/* ---- POST /api/v1/cases/{id}/notes ------------------------------------------------------- */

ks_err api_case_note_add(http_req *req, ks_error *e);
ks_err api_case_note_add(http_req *req, ks_error *e)
{
	static const char *const fields[] = {"text", NULL};
	api_app *app = req->app;
	int64_t id = 0;
	json_t *body = NULL, *cur = NULL, *out = NULL;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = api_case_load(req, id, &cur, NULL, e);
	json_decref(cur);
	if (!err)
		err = api_body_object(req, &body, e);
	if (!err)
		err = api_only_fields(body, fields, "", e);
	const json_t *t = body ? json_object_get(body, "text") : NULL;
	if (!err && !json_is_string(t))
		err = ks_fail(e, KS_ERR_INVALID, "text", "text is required");
	if (!err) {
		const char *s = json_string_value(t);
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (*s == '\0')
			err = ks_fail(e, KS_ERR_INVALID, "text", "text must not be empty");
		else if (json_string_length(t) > API_CASE_TEXT_MAX)
			err = ks_fail(e, KS_ERR_RANGE, "text", "text is longer than %d characters",
				      API_CASE_TEXT_MAX);
	}
	if (!err)
		err = store_case_note_add(app->store, id, req->who.user_id, json_string_value(t),
					  clock_now(app->clock), &out, e);
	json_decref(body);
	if (err)
		return api_case_done(req, err, e);
	api_audit(req, "case.note", "case", id, NULL);
	http_reply_json(req, 201, out);
	return KS_OK;
}

/* ---- alert rules ------------------------------------------------------------------------- */

ks_err api_alert_rule_list(http_req *req, ks_error *e);
ks_err api_alert_rule_list(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	json_t *out = NULL;
	ks_err err = store_alert_rule_list(app->store, &out, e);
	if (err)
		return err;
	http_reply_json(req, 200, out);
	return KS_OK;
}

/* Apply body to r: threshold (score kinds, within the score's scale),
 * words (the words kind), sla_hours (1..8760), enabled. */
static ks_err api_alert_rule_parse(const json_t *o, store_alert_rule *r, ks_error *e)
{
	static const char *const fields[] = {"threshold", "words", "window_days", "sla_hours",
					     "working_days", "enabled", NULL};
	ks_err err = api_only_fields(o, fields, "", e);
	if (err)
		return err;
	bool words_kind = strcmp(r->kind, "words") == 0;
	const json_t *v = json_object_get(o, "threshold");
	if (v) {
		int lo = 0, hi = 10;
		if (strcmp(r->kind, "grade_max") == 0)
			lo = 1;
		else if (strcmp(r->kind, "ces_max") == 0)
			lo = 1, hi = 7;
		if (words_kind)
			return ks_fail(e, KS_ERR_INVALID, "threshold", "a words rule has no threshold");
		if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
			return ks_fail(e, KS_ERR_RANGE, "threshold", "threshold must be %d..%d", lo, hi);
		r->threshold = (int)json_integer_value(v);
		r->has_threshold = true;
	}
	v = json_object_get(o, "words");
	if (v) {
		if (!words_kind)
			return ks_fail(e, KS_ERR_INVALID, "words", "only the words rule has words");
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > API_WORDS_MAX)
			return ks_fail(e, KS_ERR_INVALID, "words",
				       "words must be comma-separated words (1..%d characters)", API_WORDS_MAX);
		snprintf(r->words, sizeof r->words, "%s", json_string_value(v));
	}
	v = json_object_get(o, "sla_hours");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 8760)
			return ks_fail(e, KS_ERR_RANGE, "sla_hours", "sla_hours must be 1..8760");
		r->sla_hours = (int)json_integer_value(v);
	}
	v = json_object_get(o, "window_days");
	if (v) {
		if (strcmp(r->kind, "repeat_low") != 0)
			return ks_fail(e, KS_ERR_INVALID, "window_days", "only the repeat_low rule has window_days");
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 730)
			return ks_fail(e, KS_ERR_RANGE, "window_days", "window_days must be 1..730");
		r->window_days = (int)json_integer_value(v);
	}
	v = json_object_get(o, "working_days");
	if (v) {
		if (!json_is_boolean(v))
			return ks_fail(e, KS_ERR_INVALID, "working_days", "working_days must be true or false");
		r->working_days = json_is_true(v);
	}
	v = json_object_get(o, "enabled");
	if (v) {
		if (!json_is_boolean(v))
			return ks_fail(e, KS_ERR_INVALID, "enabled", "enabled must be true or false");
		r->enabled = json_is_true(v);
	}
	return KS_OK;
}

ks_err api_alert_rule_put(http_req *req, ks_error *e);
ks_err api_alert_rule_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t id = 0;
	json_t *body = NULL;
	store_alert_rule r;
	ks_err err = api_param_id(req, 0, &id, e);
	if (!err)
		err = store_alert_rule_get(app->store, id, &r, e);
	if (!err)
		err = api_body_object(req, &body, e);
	if (!err)
		err = api_alert_rule_parse(body, &r, e);
	json_decref(body);
	if (!err)
		err = store_alert_rule_put(app->store, &r, e);
	if (err)
		return err;
	api_audit(req, "alert_rule.update", "alert_rule", r.id, json_pack("{s:s, s:b}", "kind", r.kind, "enabled", r.enabled));
	http_reply_json(req, 200, store_alert_rule_json(&r));
	return KS_OK;
}
