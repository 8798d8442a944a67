/* api.h — the JSON API v1 and the public survey page: where a request
 * enters the product. Handlers parse and validate input, call the store,
 * and shape the reply; they never touch SQL. See docs/API.md.
 */
#ifndef KS_API_H
#define KS_API_H

#include <stdint.h>

#include "core/clock.h"
#include "core/tz.h"
#include "disclose/disclose.h"
#include "analytics/analytics.h"
#include "auth/auth.h"
#include "http/http.h"
#include "invite/scheduler.h"
#include "store/store.h"
#include "survey/guard.h"

/* The application context handed to every handler (req->app). Borrowed
 * pointers; the caller of http_start owns them. */
typedef struct api_app {
	ks_store *store;
	ks_clock *clock;         /* movable only in test mode */
	invite_scheduler *scheduler;
	an_index *index;         /* every metric is read from here */
	auth_ctx *auth;
	bool secure_cookies;     /* behind TLS: mark the session cookie Secure */
	const char *base_url;    /* public root for survey links and QR codes */
	bool test_mode;          /* enables /api/v1/admin/clock and /scheduler/run */
	int64_t min_n;           /* minimum responses before a score is shown */
	int64_t min_n_employee;  /* the same for one employee's scores */
	ks_tz tz;                /* the organisation's calendar: every bucket and period */
	dc_cache *disclose;      /* recent canonical tables of disclosure control; may be NULL */
	/* open-link guard (issue 11): rate limits and burst holding on the
	 * public survey page (src/survey/guard.h); NULL = none */
	survey_guard *guard;
	/* administration (issue 13): the mail settings for reset links and
	 * the SMTP test (api_admin.c); NULL or mail_enabled false = no mail */
	const invite_config *invite;
	/* key drivers (issue 15): recent replies (api_drivers.c); NULL = none kept */
	struct api_drv_cache *drivers;
	/* pollers (issue 16 H2): the mention feeds' poller (src/mentions/poll.h),
	 * for "run now"; NULL = none */
	struct mention_poller *poller;
	/* issue 18 (ops): /readyz calls the scheduler stalled when its last
	 * pass ended longer ago than this (seconds; 0 = API_READY_SCHED_MAX_S) */
	int ready_sched_max_s;
} api_app;

/* ---- issue 18 (ops): readiness and metrics (api_ops.c) ---- */
#define API_READY_SCHED_MAX_S 30
/* GET /readyz: 200 {"ready":true,...} or 503 {"ready":false,"reasons":[...]} */
ks_err api_readyz(http_req *req, ks_error *e);
/* http_config.metrics_extra: the store's, scheduler's and index's families. */
void api_metrics_extra(void *app, ks_buf *out);
/* end issue 18 (ops) */

extern const http_route api_routes[];
extern const size_t api_n_routes;

/* ---- access (api_auth.c) ---- */

/* Route access masks: which roles may call a route at all. Scope (which
 * teams' numbers) is checked again inside the handlers. */
#define API_PUBLIC 0u
#define API_ROLE(r) (1u << (r))
#define API_ADMIN API_ROLE(AUTH_ROLE_ADMIN)
#define API_GLOBAL (API_ROLE(AUTH_ROLE_DIRECTOR) | API_ADMIN)
#define API_LEADS (API_ROLE(AUTH_ROLE_TEAM_LEAD) | API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL)
#define API_ANY (API_ROLE(AUTH_ROLE_EMPLOYEE) | API_LEADS)

/* The http_config authorize callback: session cookie or bearer token, role
 * check, CSRF check for cookie-authenticated writes. */
ks_err api_authorize(http_req *req, unsigned access, ks_error *e);

/* Narrow a metrics filter to what req->who may see: directors and admins
 * see everything; managers and team leads their own unit and below;
 * employees their own team's aggregates and their own scores. *team_id and
 * *employee_id are read and may be set. by_employee: the request groups by
 * employee. KS_ERR_FORBIDDEN when the request asks for more. */
ks_err api_scope(http_req *req, int64_t *team_id, int64_t *employee_id, bool by_employee, ks_error *e);

/* accounts and tokens (issue 11): api_auth.c; docs/API.md "Accounts and access" */
ks_err api_token_list(http_req *req, ks_error *e);
ks_err api_token_delete(http_req *req, ks_error *e);
ks_err api_user_get(http_req *req, ks_error *e);
ks_err api_user_patch(http_req *req, ks_error *e);
ks_err api_user_delete(http_req *req, ks_error *e);
ks_err api_user_token_list(http_req *req, ks_error *e);

/* open-link guard (issue 11): held answers of open-link bursts
 * (api_suspect.c); docs/API.md "Suspect responses" */
ks_err api_suspect_list(http_req *req, ks_error *e);
ks_err api_suspect_accept(http_req *req, ks_error *e);
ks_err api_suspect_reject(http_req *req, ks_error *e);

/* ---- numbers about people (api_disclose.c) ---- */

/* The disclosure policy of this request: thresholds, and "as of" the start
 * of today in the organisation's calendar. */
dc_policy api_policy(const api_app *app);

/* The time window of a metrics request (pfx "" or "a." / "b."): period=
 * (YYYY, YYYY-Qn, YYYY-MM, YYYY-Www, YYYY-MM-DD, last_Nd) or from/to, in the
 * organisation's local calendar. from/to must together be exactly one whole
 * local period: any other window lets two overlapping requests be
 * subtracted (docs/PRIVACY.md). 422 naming the parameter otherwise. */
typedef struct api_window {
	int64_t from, to;          /* 0, 0: all time */
	tz_period_kind kind;
	char label[24];            /* "2026-12", "2026-W53", "last_30d", "" (all time) */
} api_window;
ks_err api_window_parse(http_req *req, const char *pfx, api_window *w, ks_error *e);
/* The label dc_query takes: a month, quarter or year label, "" for all
 * time, NULL for any other window. */
const char *api_window_period(const api_window *w);
/* Every figure: only whole months, quarters, years or all time, buckets of
 * a month or longer, and counted as of the start of today (f->to is cut
 * there). 422 naming the parameter (period, or group_by / interval for
 * dims) otherwise. dim_param names the parameter that carried dims. */
ks_err api_window_guard(const api_app *app, an_filter *f, const api_window *w, const an_dim *dims,
			int n_dims, const char *dim_param, ks_error *e);
/* One cell as the API prints it (metrics_json_members_masked with the
 * cell's threshold and mask). */
ks_err api_cell_members(ks_buf *b, const metrics_counts *c, const dc_vis *v);
json_t *api_cell_json(const metrics_counts *c, const dc_vis *v);

/* ---- issue 14: theme analytics (api_metrics.c, api_themes.c) ---- */

/* /metrics' parameter check, filter and filter echo for other figure
 * routes: only the metrics filter parameters and extra (NULL-terminated);
 * the filter of the request with theme= and sentiment=, scoped and
 * windowed as /metrics does (dims carried by dim_param). */
ks_err api_metrics_params(http_req *req, const char *const *extra, ks_error *e);
ks_err api_metrics_filter(http_req *req, const an_dim *dims, int n_dims, const char *dim_param,
			  an_filter *f, api_window *w, ks_error *e);
json_t *api_metrics_filter_json(const api_app *app, const an_filter *f, const api_window *w);
/* /metrics/trend's verdicts: ch[g] = the NPS change of d's time group g
 * against the one just before (BH over the reply). ch has d->r.n_groups. */
void api_trend_verdicts(const api_app *app, const dc_reply *d, metrics_change *ch);
ks_err api_themes(http_req *req, ks_error *e);

/* ---- issue 17 (X): the reply of /metrics for its exports (api_metrics.c, api_export.c) ---- */
/* Checks the request's format parameter (422 naming "format"). */
typedef ks_err (*api_format_check)(http_req *req, ks_error *e);
/* The JSON text GET /api/v1/metrics answers for req's parameters (the
 * filter, group_by, sort, measures; extra: the NULL-terminated list of
 * parameters allowed besides the filter's; fmt checks format=), after
 * disclosure control: the one function behind /metrics' JSON and the PDF
 * and XLSX exports, so a cell hidden there is hidden in every file. *out
 * is initialised here and the caller's (buf_free) on success. */
ks_err api_metrics_reply(http_req *req, const char *const *extra, api_format_check fmt, ks_buf *out, ks_error *e);
/* GET /api/v1/metrics/export (api_export.c); docs/API.md "Reports and exports" */
ks_err api_metrics_export(http_req *req, ks_error *e);
/* ---- end of issue 17 (X) ---- */

/* ---- issue 15: key drivers (api_drivers.c); docs/API.md "Key drivers" ---- */
ks_err api_drivers_get(http_req *req, ks_error *e);
ks_err api_drivers_top3(http_req *req, ks_error *e);
ks_err api_drivers_moments(http_req *req, ks_error *e);
/* Recent replies of the three routes, keyed by the resolved request, the
 * thresholds, the "as of" cut and an_index_versions (so never stale);
 * thread-safe. Free after the last request (http_stop). NULL is fine. */
typedef struct api_drv_cache api_drv_cache;
ks_err api_drv_cache_new(api_drv_cache **out);
void api_drv_cache_free(api_drv_cache *c);
/* ---- end of key drivers ---- */

/* ---- issue 16 H2: mention feeds (api_feeds.c); docs/API.md "Mention feeds" ---- */
ks_err api_feed_list(http_req *req, ks_error *e);
ks_err api_feed_create(http_req *req, ks_error *e);
ks_err api_feed_get(http_req *req, ks_error *e);
ks_err api_feed_put(http_req *req, ks_error *e);
ks_err api_feed_delete(http_req *req, ks_error *e);
ks_err api_feed_run(http_req *req, ks_error *e);
/* ---- end of mention feeds ---- */

/* ---- issue 16: public score widgets (api_widget.c); docs/API.md "Public score widgets" ---- */
ks_err api_widget_list(http_req *req, ks_error *e);
ks_err api_widget_put(http_req *req, ks_error *e);
ks_err api_widget_public(http_req *req, ks_error *e);  /* /w/{token} and /w/{token}.json */
/* ---- end of public score widgets ---- */

/* ---- issue 16 (H4): internal data (api_import.c); docs/API.md "Import of internal data" ---- */
ks_err api_import_data(http_req *req, ks_error *e);  /* POST /api/v1/import/{kind} */
/* ---- end of internal data ---- */

/* ---- issue 16 H3: review invitations (api_review.c); docs/API.md "Review invitations" ---- */
ks_err api_review_settings_get(http_req *req, ks_error *e);
ks_err api_review_settings_put(http_req *req, ks_error *e);
ks_err api_review_stats(http_req *req, ks_error *e);
ks_err api_review_click(http_req *req, ks_error *e);   /* GET /r/{token} */
/* The thank-you page's invitation for a stored response: "/r/{token}" in
 * href (n bytes) and true, or false when there is none. */
bool api_review_offer(api_app *app, int64_t response_id, char *href, size_t n);
/* ---- end of review invitations ---- */

/* ---- issue 16 H1: mentions (api_mentions.c); docs/API.md "Mentions" ---- */
ks_err api_mentions_post(http_req *req, ks_error *e);
ks_err api_mentions_list(http_req *req, ks_error *e);
ks_err api_mentions_summary(http_req *req, ks_error *e);
ks_err api_mention_get(http_req *req, ks_error *e);
ks_err api_mention_reply(http_req *req, ks_error *e);
ks_err api_mention_locations_get(http_req *req, ks_error *e);
ks_err api_mention_locations_put(http_req *req, ks_error *e);
ks_err api_mention_locations_delete(http_req *req, ks_error *e);
/* ---- end of mentions ---- */

/* ---- issue 14: text analysis (api_text.c); docs/API.md "Text analysis" ---- */
ks_err api_text_analyze(http_req *req, ks_error *e);
ks_err api_text_taxonomy_get(http_req *req, ks_error *e);
ks_err api_text_taxonomy_put(http_req *req, ks_error *e);
ks_err api_text_taxonomy_delete(http_req *req, ks_error *e);
ks_err api_text_theme_add(http_req *req, ks_error *e);
ks_err api_text_model_get(http_req *req, ks_error *e);
ks_err api_text_model_settings(http_req *req, ks_error *e);
ks_err api_text_model_delete(http_req *req, ks_error *e);
ks_err api_text_model_train(http_req *req, ks_error *e);
ks_err api_text_reanalyze_get(http_req *req, ks_error *e);
ks_err api_text_reanalyze_post(http_req *req, ks_error *e);
/* The taxonomy in use ({"version","themes":[...]}); *out the caller's. */
ks_err api_text_taxonomy(api_app *app, json_t **out);

/* ---- issue 16 H6: relationship surveys (api_relationship.c); docs/API.md "Relationship surveys" ---- */
ks_err api_rel_wave_list(http_req *req, ks_error *e);
ks_err api_rel_wave_create(http_req *req, ks_error *e);
ks_err api_rel_wave_get(http_req *req, ks_error *e);
ks_err api_rel_wave_put(http_req *req, ks_error *e);
ks_err api_rel_wave_delete(http_req *req, ks_error *e);
ks_err api_rel_wave_draw(http_req *req, ks_error *e);
ks_err api_rel_wave_send(http_req *req, ks_error *e);
ks_err api_rel_wave_report(http_req *req, ks_error *e);
ks_err api_rel_schedule_get(http_req *req, ks_error *e);  /* a wave per quarter */
ks_err api_rel_schedule_put(http_req *req, ks_error *e);
/* ---- end of relationship surveys ---- */

/* ---- issue 17 K: KPIs (api_kpis.c); docs/API.md "KPIs" ---- */
ks_err api_kpi_list(http_req *req, ks_error *e);
ks_err api_kpi_create(http_req *req, ks_error *e);
ks_err api_kpi_get(http_req *req, ks_error *e);
ks_err api_kpi_put(http_req *req, ks_error *e);
ks_err api_kpi_delete(http_req *req, ks_error *e);
ks_err api_kpi_values_get(http_req *req, ks_error *e);
ks_err api_kpi_values_put(http_req *req, ks_error *e);
ks_err api_kpi_import(http_req *req, ks_error *e);
ks_err api_kpi_series(http_req *req, ks_error *e);
ks_err api_kpi_targets_get(http_req *req, ks_error *e);
ks_err api_kpi_target_put(http_req *req, ks_error *e);
ks_err api_kpi_target_delete(http_req *req, ks_error *e);
/* ---- end of KPIs ---- */

/* ---- issue 17 L: governance links (api_governance.c); docs/API.md "Governance" ---- */
ks_err api_gov_links(http_req *req, ks_error *e);
ks_err api_gov_map(http_req *req, ks_error *e);
ks_err api_gov_overview(http_req *req, ks_error *e);
/* ---- end of governance links ---- */

/* ---- issue 17 P: employee pulse (api_pulse.c); docs/API.md "Employee pulse" ---- */
ks_err api_pulse_settings_get(http_req *req, ks_error *e);
ks_err api_pulse_settings_put(http_req *req, ks_error *e);
ks_err api_pulse_wave_list(http_req *req, ks_error *e);
ks_err api_pulse_wave_open(http_req *req, ks_error *e);
ks_err api_pulse_wave_get(http_req *req, ks_error *e);
ks_err api_pulse_wave_close(http_req *req, ks_error *e);
ks_err api_pulse_results(http_req *req, ks_error *e);
ks_err api_pulse_comments(http_req *req, ks_error *e);
ks_err api_pulse_page_get(http_req *req, ks_error *e);   /* GET /p/{token} */
ks_err api_pulse_page_post(http_req *req, ks_error *e);  /* POST /p/{token} */
/* ---- end of employee pulse ---- */

/* ---- helpers shared by the handler files (api_util.c) ---- */

/* Parse the request body as a JSON object. KS_ERR_BADJSON when it is not. */
ks_err api_body_object(http_req *req, json_t **out, ks_error *e);
/* Path parameter i as a positive id; KS_ERR_NOTFOUND otherwise. */
ks_err api_param_id(http_req *req, size_t i, int64_t *id, ks_error *e);
/* Optional query argument as a positive id (0 when absent); 422 naming it otherwise. */
ks_err api_query_id(http_req *req, const char *name, int64_t *id, ks_error *e);
/* Optional query arguments from and to as times (YYYY-MM-DD = local
 * midnight in the organisation's zone, or ISO 8601; 0 when absent); 422
 * naming the one that is not a time, 422 field to when both are given and
 * to is not after from. For lists (cases, verbatims), not for figures:
 * metrics take api_window_parse. */
ks_err api_time_range(http_req *req, int64_t *from, int64_t *to, ks_error *e);
/* Is name one of the NULL-terminated list (an api_param_ok for api_query_only)? */
bool api_name_in(const char *name, void *list);
/* Only query parameters named in list; another -> 422 naming it. */
ks_err api_only_params(http_req *req, const char *const *list, ks_error *e);
/* Only members named in list; another -> 422 naming prefix + member (a
 * typo must not pass silently). */
ks_err api_only_fields(const json_t *o, const char *const *list, const char *prefix, ks_error *e);
/* Optional JSON member as a positive id (0 when absent or null). */
ks_err api_json_id(const json_t *obj, const char *name, int64_t *id, ks_error *e);
/* FNV-1a 64 of n bytes, folded to 63 bits (it is stored in a signed column). */
uint64_t api_hash(const char *p, size_t n);
/* Refuse query parameters that allowed(key, arg) rejects: 422 naming the
 * first unknown one, so a typo never silently widens a result. */
typedef bool (*api_param_ok)(const char *key, void *arg);
ks_err api_query_only(http_req *req, api_param_ok allowed, void *arg, ks_error *e);
/* Keyset pagination from ?limit= and ?cursor=. */
ks_err api_page(http_req *req, store_list_query *q, ks_error *e);
/* issue 16 H7: ?limit= alone (1..500, default 50), for a list whose cursor
 * is not an id (GET /verbatims?source=all). */
ks_err api_page_limit(http_req *req, int *limit, ks_error *e);

/* privacy and audit (issue 11) */

/* Record in the audit log that req's caller (req->who; none when not
 * logged in) did action to (kind, id) from http_client_addr. detail is
 * consumed (NULL = {}); audit_clean drops secrets and scores. Handlers
 * call it after their change succeeded; a failure is reported on stderr
 * and returned (changes ignore it: the change is done; exports must not
 * send data whose entry failed). See src/audit/audit.h for action names. */
ks_err api_audit(http_req *req, const char *action, const char *kind, int64_t id, json_t *detail);
/* The audit log (api_audit.c): GET /api/v1/audit and /api/v1/audit/export. */
ks_err api_audit_list(http_req *req, ks_error *e);
ks_err api_audit_export(http_req *req, ks_error *e);
/* GDPR (api_gdpr.c): export and erase a customer or an employee, the
 * retention policy. */
ks_err api_gdpr_customer_export(http_req *req, ks_error *e);
ks_err api_gdpr_customer_erase(http_req *req, ks_error *e);
ks_err api_gdpr_employee_export(http_req *req, ks_error *e);
ks_err api_gdpr_employee_erase(http_req *req, ks_error *e);
ks_err api_retention_get(http_req *req, ks_error *e);
ks_err api_retention_put(http_req *req, ks_error *e);
/* customer timeline (issue 16, api_timeline.c) */
ks_err api_customer_timeline(http_req *req, ks_error *e);

/* ---- issue 14: theme discovery (api_discover.c) ---- */
/* The verbatim explorer's rules, shared with every route that prints open
 * answers (api_dashboard.c): its scope (employees: the answers about
 * themselves; others: api_scope), the organisation's verbatim_detail, and
 * the one function that applies it to an array of verbatim items. */
ks_err api_verbatim_scope(http_req *req, int64_t *team_id, int64_t *employee_id, ks_error *e);
ks_err api_detail_get(http_req *req, store_verbatim_detail *d, ks_error *e);
void api_verbatim_detail(http_req *req, store_verbatim_detail d, json_t *items);
ks_err api_themes_discover(http_req *req, ks_error *e);
/* ---- end of theme discovery ---- */

/* ---- customer voice (issue 13; api_survey.c) ---- */
/* A survey's row gets "warnings": [{"code","field","message"}] — a
 * survey over four questions (short surveys are answered), Dutch question
 * texts in the other form of address than the organisation's. Other
 * entities are left alone. */
void api_survey_warnings(api_app *app, const model_entity *ent, json_t *row);

/* ---- issue 17 (D): scheduled digests (api_digest.c); docs/API.md "Digests" ---- */
ks_err api_digest_settings_get(http_req *req, ks_error *e);
ks_err api_digest_settings_put(http_req *req, ks_error *e);
ks_err api_digest_run(http_req *req, ks_error *e);
ks_err api_digest_list(http_req *req, ks_error *e);
ks_err api_me_digests_get(http_req *req, ks_error *e);
ks_err api_me_digests_put(http_req *req, ks_error *e);
ks_err api_digest_unsub_get(http_req *req, ks_error *e);   /* GET /d/{token}: asks */
ks_err api_digest_unsub_post(http_req *req, ks_error *e);  /* POST /d/{token}: opts out */
/* Put digests a crash left claimed back in the outbox and let the
 * scheduler's pass queue and send due digests (invite_scheduler_set_hook).
 * app must outlive the scheduler. */
ks_err api_digest_attach(api_app *app, ks_error *e);
/* Shared with api_dashboard.c and api_actions.c: a team goal with its
 * progress as GET /teams/{id}/goals prints it, and an action's effect over
 * an already scoped slice as GET /actions/{id}/effect prints it. */
ks_err api_goal_json(api_app *app, const store_goal *g, json_t **out, ks_error *e);
ks_err api_action_effect_of(api_app *app, const store_action *a, const an_filter *fs, int64_t days,
			    json_t **res, ks_error *e);
/* And a unit's top three key drivers over f (team_id set, from/to one whole
 * period named period) as GET /drivers/top3 prints them with its defaults
 * (NPS, relative weights, 1000 bootstrap replicates): *top3 is the array
 * (caller's); empty when the slice is suppressed or nothing shows. */
ks_err api_drivers_top3_of(api_app *app, const an_filter *f, const char *period, json_t **top3, ks_error *e);
/* ---- end of digests ---- */

#endif
