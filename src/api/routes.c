/* routes.c — the route table: every URL the server answers, in one place.
 * The router (src/http/router.c) and docs/API.md both follow this table.
 */
#include "api/api.h"

ks_err api_entity_create(http_req *req, ks_error *e);
ks_err api_entity_get(http_req *req, ks_error *e);
ks_err api_entity_list(http_req *req, ks_error *e);
ks_err api_entity_update(http_req *req, ks_error *e);
ks_err api_contact_create(http_req *req, ks_error *e);
ks_err api_contact_get(http_req *req, ks_error *e);
ks_err api_response_create(http_req *req, ks_error *e);
ks_err api_response_get(http_req *req, ks_error *e);
ks_err api_response_list(http_req *req, ks_error *e);
ks_err api_metrics(http_req *req, ks_error *e);
ks_err api_metrics_trend(http_req *req, ks_error *e);
ks_err api_metrics_compare(http_req *req, ks_error *e);
ks_err api_metrics_dimensions(http_req *req, ks_error *e);  /* issue 16 (H5) */
ks_err api_survey_get(http_req *req, ks_error *e);
ks_err api_rule_get(http_req *req, ks_error *e);
ks_err api_rule_put(http_req *req, ks_error *e);
ks_err api_rule_list(http_req *req, ks_error *e);
ks_err api_invitation_list(http_req *req, ks_error *e);
ks_err api_optout_customer(http_req *req, ks_error *e);
ks_err api_optout_list(http_req *req, ks_error *e);
ks_err api_funnel(http_req *req, ks_error *e);
ks_err api_representativeness(http_req *req, ks_error *e);
ks_err api_touchpoint_qr(http_req *req, ks_error *e);
ks_err api_unsubscribe_get(http_req *req, ks_error *e);
ks_err api_unsubscribe_post(http_req *req, ks_error *e);
ks_err api_logo_get(http_req *req, ks_error *e);      /* customer voice (issue 13) */
ks_err api_yesno_report(http_req *req, ks_error *e);  /* customer voice (issue 13) */
ks_err api_admin_clock(http_req *req, ks_error *e);
ks_err api_admin_scheduler_run(http_req *req, ks_error *e);
ks_err api_login(http_req *req, ks_error *e);
ks_err api_logout(http_req *req, ks_error *e);
ks_err api_me(http_req *req, ks_error *e);
ks_err api_password(http_req *req, ks_error *e);
ks_err api_token_create(http_req *req, ks_error *e);
ks_err api_user_create(http_req *req, ks_error *e);
ks_err api_user_list(http_req *req, ks_error *e);
ks_err api_survey_post(http_req *req, ks_error *e);
ks_err api_verbatims(http_req *req, ks_error *e);
ks_err api_team_wall(http_req *req, ks_error *e);
ks_err api_team_goals(http_req *req, ks_error *e);
ks_err api_team_goal_put(http_req *req, ks_error *e);
ks_err api_team_settings_get(http_req *req, ks_error *e);
ks_err api_team_settings_put(http_req *req, ks_error *e);
ks_err api_me_dashboard(http_req *req, ks_error *e);
ks_err api_compliment_create(http_req *req, ks_error *e); /* coaching (issue 13) */
ks_err api_employee_drivers(http_req *req, ks_error *e); /* coaching (issue 13) */
ks_err api_org_settings_get(http_req *req, ks_error *e);
ks_err api_org_settings_put(http_req *req, ks_error *e);
/* cases: the closed loop (api_cases.c) */
ks_err api_case_list(http_req *req, ks_error *e);
ks_err api_case_get(http_req *req, ks_error *e);
ks_err api_case_patch(http_req *req, ks_error *e);
ks_err api_case_note_add(http_req *req, ks_error *e);
ks_err api_case_message_preview(http_req *req, ks_error *e); /* one case (issue 13) */
ks_err api_alert_rule_list(http_req *req, ks_error *e);
ks_err api_case_stats(http_req *req, ks_error *e);
ks_err api_case_root_causes(http_req *req, ks_error *e);
ks_err api_alert_rule_put(http_req *req, ks_error *e);
/* administration (issue 13): reset links, SMTP test (api_admin.c) */
ks_err api_admin_reset_send(http_req *req, ks_error *e);
ks_err api_admin_reset_use(http_req *req, ks_error *e);
ks_err api_admin_smtp_test(http_req *req, ks_error *e);
/* improvement actions (api_actions.c) */
ks_err api_action_list(http_req *req, ks_error *e);
ks_err api_action_create(http_req *req, ks_error *e);
ks_err api_action_get(http_req *req, ks_error *e);
ks_err api_action_update(http_req *req, ks_error *e);
ks_err api_action_effect(http_req *req, ks_error *e);

static ks_err api_healthz(http_req *req, ks_error *e)
{
	(void)e;
	api_app *app = req->app;
	http_reply_json(req, 200, json_pack("{s:s, s:i}", "status", "ok", "schema_version",
					    store_schema_version(app->store)));
	return KS_OK;
}

/* Every route with who may call it (see api.h). Scope within a role is
 * checked again in the handlers (api_scope). */
#define API_ENTITY_ROUTES(res, read, write)                            \
	{"GET", "/api/v1/" res, api_entity_list, read},                 \
	{"POST", "/api/v1/" res, api_entity_create, write},             \
	{"GET", "/api/v1/" res "/{id}", api_entity_get, read},          \
	{"PATCH", "/api/v1/" res "/{id}", api_entity_update, write},    \
	{"PUT", "/api/v1/" res "/{id}", api_entity_update, write}

/* A row may leave out its last column (flags, e.g. HTTP_SLOW: run on the
 * slow pool, src/http/pool.c). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const http_route api_routes[] = {
	{"GET", "/healthz", api_healthz, API_PUBLIC},
	{"GET", "/readyz", api_readyz, API_PUBLIC}, /* issue 18 (ops): api_ops.c */
	{"POST", "/api/v1/auth/login", api_login, API_PUBLIC, HTTP_SLOW},
	{"POST", "/api/v1/auth/logout", api_logout, API_ANY},
	{"GET", "/api/v1/auth/me", api_me, API_ANY},
	{"POST", "/api/v1/auth/password", api_password, API_ANY, HTTP_SLOW},
	{"POST", "/api/v1/auth/tokens", api_token_create, API_ANY, HTTP_SLOW},
	{"GET", "/api/v1/users", api_user_list, API_ADMIN},
	{"POST", "/api/v1/users", api_user_create, API_ADMIN, HTTP_SLOW},
	/* accounts and tokens (issue 11): own tokens for every role; users and
	 * anyone's tokens for admins (api_token_delete checks the owner) */
	{"GET", "/api/v1/auth/tokens", api_token_list, API_ANY},
	{"DELETE", "/api/v1/auth/tokens/{id}", api_token_delete, API_ANY},
	{"GET", "/api/v1/users/{id}", api_user_get, API_ADMIN},
	{"PATCH", "/api/v1/users/{id}", api_user_patch, API_ADMIN},
	{"DELETE", "/api/v1/users/{id}", api_user_delete, API_ADMIN},
	{"GET", "/api/v1/users/{id}/tokens", api_user_token_list, API_ADMIN},
	/* names of teams, people, journeys and touchpoints label every dashboard */
	API_ENTITY_ROUTES("teams", API_ANY, API_ADMIN),
	API_ENTITY_ROUTES("employees", API_ANY, API_ADMIN),
	API_ENTITY_ROUTES("journeys", API_ANY, API_ADMIN),
	API_ENTITY_ROUTES("touchpoints", API_ANY, API_ADMIN),
	API_ENTITY_ROUTES("surveys", API_ANY, API_ADMIN),
	/* customers are personal data: only those who need them */
	API_ENTITY_ROUTES("customers", API_GLOBAL, API_ADMIN),
	/* machine intake (API tokens of admin accounts) */
	{"POST", "/api/v1/contacts", api_contact_create, API_ADMIN},
	{"GET", "/api/v1/contacts/{id}", api_contact_get, API_GLOBAL},
	{"POST", "/api/v1/responses", api_response_create, API_ADMIN},
	{"GET", "/api/v1/responses", api_response_list, API_GLOBAL},
	{"GET", "/api/v1/responses/{id}", api_response_get, API_GLOBAL},
	/* /metrics (CSV too) reads the in-memory index in milliseconds: it stays
	 * off the slow pool so it never waits behind a funnel count (issue 13) */
	{"GET", "/api/v1/metrics", api_metrics, API_ANY},
	{"GET", "/api/v1/metrics/trend", api_metrics_trend, API_ANY},
	{"GET", "/api/v1/metrics/compare", api_metrics_compare, API_ANY},
	{"GET", "/api/v1/metrics/dimensions", api_metrics_dimensions, API_ANY},  /* issue 16 (H5) */
	/* issue 17 (X): the breakdown as PDF or XLSX (api_export.c): /metrics' roles
	 * and scope; rendering takes a while, so the slow pool */
	{"GET", "/api/v1/metrics/export", api_metrics_export, API_ANY, HTTP_SLOW},
	/* theme analytics (issue 14, api_themes.c): /metrics' roles and scope */
	{"GET", "/api/v1/themes", api_themes, API_ANY},
	/* key drivers (issue 15, api_drivers.c): /metrics' roles and scope; the
	 * bootstrap takes up to seconds, so the slow pool */
	{"GET", "/api/v1/drivers", api_drivers_get, API_ANY, HTTP_SLOW},
	{"GET", "/api/v1/drivers/top3", api_drivers_top3, API_ANY, HTTP_SLOW},
	{"GET", "/api/v1/drivers/moments", api_drivers_moments, API_ANY, HTTP_SLOW},
	{"GET", "/s/{token}", api_survey_get, API_PUBLIC},
	{"POST", "/s/{token}", api_survey_post, API_PUBLIC},
	{"GET", "/api/v1/rules", api_rule_list, API_LEADS},
	{"GET", "/api/v1/touchpoints/{id}/rule", api_rule_get, API_LEADS},
	{"PUT", "/api/v1/touchpoints/{id}/rule", api_rule_put, API_ADMIN},
	{"GET", "/api/v1/touchpoints/{id}/qr.svg", api_touchpoint_qr, API_LEADS},
	{"GET", "/api/v1/invitations", api_invitation_list, API_GLOBAL},
	{"POST", "/api/v1/customers/{id}/opt-out", api_optout_customer, API_ADMIN},
	/* mentions (issue 16 H1): reviews and posts; read by leads and up
	 * (scope inside: their units), written by admins and API tokens */
	{"POST", "/api/v1/mentions", api_mentions_post, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/mentions", api_mentions_list, API_LEADS},
	{"GET", "/api/v1/mentions/summary", api_mentions_summary, API_LEADS},
	{"GET", "/api/v1/mentions/{id}", api_mention_get, API_LEADS},
	{"PUT", "/api/v1/mentions/{id}/reply", api_mention_reply, API_ADMIN},
	{"GET", "/api/v1/mention-locations", api_mention_locations_get, API_GLOBAL},
	{"PUT", "/api/v1/mention-locations", api_mention_locations_put, API_ADMIN},
	{"DELETE", "/api/v1/mention-locations", api_mention_locations_delete, API_ADMIN},
	/* customer timeline (issue 16): whoever reads the customer */
	{"GET", "/api/v1/customers/{id}/timeline", api_customer_timeline, API_GLOBAL},
	{"GET", "/api/v1/opt-outs", api_optout_list, API_GLOBAL},
	{"GET", "/api/v1/funnel", api_funnel, API_GLOBAL, HTTP_SLOW},
	{"GET", "/api/v1/funnel/representativeness", api_representativeness, API_GLOBAL, HTTP_SLOW},
	{"GET", "/u/{token}", api_unsubscribe_get, API_PUBLIC},
	{"POST", "/u/{token}", api_unsubscribe_post, API_PUBLIC},
	/* customer voice (issue 13): the logo on customer pages and mails;
	 * the share of "yes" of yes/no questions, organisation-wide */
	{"GET", "/logo", api_logo_get, API_PUBLIC},
	{"GET", "/api/v1/yesno", api_yesno_report, API_GLOBAL},
	{"POST", "/api/v1/admin/clock", api_admin_clock, API_ADMIN},
	{"POST", "/api/v1/admin/scheduler/run", api_admin_scheduler_run, API_ADMIN},
	/* administration (issue 13): mails go out while the caller waits */
	{"POST", "/api/v1/admin/smtp-test", api_admin_smtp_test, API_ADMIN, HTTP_SLOW},
	{"POST", "/api/v1/users/{id}/password-reset", api_admin_reset_send, API_ADMIN, HTTP_SLOW},
	{"POST", "/api/v1/auth/reset", api_admin_reset_use, API_PUBLIC, HTTP_SLOW},
	/* dashboards (api_dashboard.c): every role reads, scope inside; goals
	 * are set by leads and up, team settings by the team's own lead */
	{"GET", "/api/v1/me/dashboard", api_me_dashboard, API_ANY},
	{"GET", "/api/v1/verbatims", api_verbatims, API_ANY},
	{"GET", "/api/v1/teams/{id}/wall", api_team_wall, API_ANY},
	/* coaching (issue 13): a compliment on a Wall of Fame item, scope inside */
	{"POST", "/api/v1/responses/{id}/compliment", api_compliment_create, API_LEADS},
	{"GET", "/api/v1/employees/{id}/drivers", api_employee_drivers, API_ANY},
	{"GET", "/api/v1/teams/{id}/goals", api_team_goals, API_ANY},
	{"PUT", "/api/v1/teams/{id}/goals", api_team_goal_put, API_LEADS},
	{"GET", "/api/v1/teams/{id}/settings", api_team_settings_get, API_ANY},
	{"PUT", "/api/v1/teams/{id}/settings", api_team_settings_put,
	 API_ROLE(AUTH_ROLE_TEAM_LEAD) | API_GLOBAL},
	/* the organisation's settings (what readers see of other people's open
	 * answers): everyone may read them, an admin changes them */
	{"GET", "/api/v1/settings", api_org_settings_get, API_ANY},
	{"PUT", "/api/v1/settings", api_org_settings_put, API_ADMIN},
	/* cases (api_cases.c): leads, managers and up; scope inside */
	{"GET", "/api/v1/cases", api_case_list, API_LEADS},
	{"GET", "/api/v1/cases/stats", api_case_stats, API_LEADS, HTTP_SLOW},
	{"GET", "/api/v1/case-root-causes", api_case_root_causes, API_LEADS, HTTP_SLOW},
	{"GET", "/api/v1/cases/{id}", api_case_get, API_LEADS},
	{"PATCH", "/api/v1/cases/{id}", api_case_patch, API_LEADS},
	{"POST", "/api/v1/cases/{id}/notes", api_case_note_add, API_LEADS},
	/* one case (issue 13): the exact mail to the customer before it is sent */
	{"POST", "/api/v1/cases/{id}/message-preview", api_case_message_preview, API_LEADS},
	{"GET", "/api/v1/alert-rules", api_alert_rule_list, API_LEADS},
	{"PUT", "/api/v1/alert-rules/{id}", api_alert_rule_put, API_ADMIN},
	/* improvement actions (api_actions.c): every role reads within scope,
	 * team leads and up write within scope */
	{"GET", "/api/v1/actions", api_action_list, API_ANY},
	{"POST", "/api/v1/actions", api_action_create, API_LEADS},
	{"GET", "/api/v1/actions/{id}", api_action_get, API_ANY},
	{"PATCH", "/api/v1/actions/{id}", api_action_update, API_LEADS},
	{"GET", "/api/v1/actions/{id}/effect", api_action_effect, API_ANY},
	/* open-link guard (issue 11): answers held from a burst on an open
	 * link (api_suspect.c); admins decide */
	{"GET", "/api/v1/suspect-responses", api_suspect_list, API_ADMIN},
	{"POST", "/api/v1/suspect-responses/accept", api_suspect_accept, API_ADMIN},
	{"POST", "/api/v1/suspect-responses/reject", api_suspect_reject, API_ADMIN},
	/* privacy and audit (issue 11): admins only; every export and erasure
	 * is itself an audit entry */
	{"GET", "/api/v1/customers/{id}/export", api_gdpr_customer_export, API_ADMIN, HTTP_SLOW},
	{"POST", "/api/v1/customers/{id}/erase", api_gdpr_customer_erase, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/employees/{id}/export", api_gdpr_employee_export, API_ADMIN, HTTP_SLOW},
	{"POST", "/api/v1/employees/{id}/erase", api_gdpr_employee_erase, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/retention", api_retention_get, API_ADMIN},
	{"PUT", "/api/v1/retention", api_retention_put, API_ADMIN},
	{"GET", "/api/v1/audit", api_audit_list, API_ADMIN},
	{"GET", "/api/v1/audit/export", api_audit_export, API_ADMIN, HTTP_SLOW},
	/* theme discovery (issue 14, api_discover.c): phrases of the answers
	 * without a theme; counting them takes a while: the slow pool */
	{"GET", "/api/v1/themes/discover", api_themes_discover,
	 API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL, HTTP_SLOW},
	/* text analysis (issue 14, api_text.c): anyone analyses a text and
	 * reads the taxonomy; admins change it and the model; the model and
	 * the reanalysis are read by admins, directors and managers. Training,
	 * analysing and the changes (a new context is built) run on the slow
	 * pool. */
	{"POST", "/api/v1/text/analyze", api_text_analyze, API_ANY, HTTP_SLOW},
	{"GET", "/api/v1/text/taxonomy", api_text_taxonomy_get, API_ANY},
	{"PUT", "/api/v1/text/taxonomy", api_text_taxonomy_put, API_ADMIN, HTTP_SLOW},
	{"DELETE", "/api/v1/text/taxonomy", api_text_taxonomy_delete, API_ADMIN, HTTP_SLOW},
	{"POST", "/api/v1/text/taxonomy/themes", api_text_theme_add, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/text/model", api_text_model_get, API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL},
	{"PATCH", "/api/v1/text/model", api_text_model_settings, API_ADMIN},
	{"DELETE", "/api/v1/text/model", api_text_model_delete, API_ADMIN, HTTP_SLOW},
	{"POST", "/api/v1/text/model/train", api_text_model_train, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/text/reanalyze", api_text_reanalyze_get, API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL},
	{"POST", "/api/v1/text/reanalyze", api_text_reanalyze_post, API_ADMIN},
	/* mention feeds (issue 16 H2, api_feeds.c): admins only; "run now"
	 * fetches on the slow pool (a feed may take up to a minute a page) */
	{"GET", "/api/v1/mention-feeds", api_feed_list, API_ADMIN},
	{"POST", "/api/v1/mention-feeds", api_feed_create, API_ADMIN},
	{"GET", "/api/v1/mention-feeds/{id}", api_feed_get, API_ADMIN},
	{"PUT", "/api/v1/mention-feeds/{id}", api_feed_put, API_ADMIN},
	{"DELETE", "/api/v1/mention-feeds/{id}", api_feed_delete, API_ADMIN},
	{"POST", "/api/v1/mention-feeds/{id}/run", api_feed_run, API_ADMIN, HTTP_SLOW},
	/* public score widgets (issue 16, api_widget.c): admins choose what is
	 * published; /w/{token} (HTML) and /w/{token}.json are public, no
	 * session, cacheable, rate-limited per address */
	{"GET", "/api/v1/widgets", api_widget_list, API_ADMIN},
	{"PUT", "/api/v1/widgets", api_widget_put, API_ADMIN},
	{"GET", "/w/{token}", api_widget_public, API_PUBLIC},
	/* internal data (issue 16, H4, api_import.c): the intake of `klantstem
	 * import KIND` for admins and their API tokens; a whole array is one
	 * transaction, so the slow pool */
	{"POST", "/api/v1/import/{kind}", api_import_data, API_ADMIN, HTTP_SLOW},
	/* review invitations (issue 16 H3, api_review.c): admins set them up,
	 * directors and admins read the counts; /r/{token} is the customer's
	 * link from the thank-you page (public, counts the click, 303) */
	{"GET", "/api/v1/review-invitations/settings", api_review_settings_get, API_ADMIN},
	{"PUT", "/api/v1/review-invitations/settings", api_review_settings_put, API_ADMIN},
	{"GET", "/api/v1/review-invitations/stats", api_review_stats, API_GLOBAL},
	{"GET", "/r/{token}", api_review_click, API_PUBLIC},
	/* relationship surveys (issue 16 H6, api_relationship.c): directors
	 * read, admins write; draw and send are one transaction each */
	{"GET", "/api/v1/relationship/waves", api_rel_wave_list, API_GLOBAL},
	{"POST", "/api/v1/relationship/waves", api_rel_wave_create, API_ADMIN},
	{"GET", "/api/v1/relationship/waves/{id}", api_rel_wave_get, API_GLOBAL},
	{"PUT", "/api/v1/relationship/waves/{id}", api_rel_wave_put, API_ADMIN},
	{"DELETE", "/api/v1/relationship/waves/{id}", api_rel_wave_delete, API_ADMIN},
	{"POST", "/api/v1/relationship/waves/{id}/draw", api_rel_wave_draw, API_ADMIN, HTTP_SLOW},
	{"POST", "/api/v1/relationship/waves/{id}/send", api_rel_wave_send, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/relationship/waves/{id}/report", api_rel_wave_report, API_GLOBAL},
	{"GET", "/api/v1/relationship/schedule", api_rel_schedule_get, API_GLOBAL},
	{"PUT", "/api/v1/relationship/schedule", api_rel_schedule_put, API_ADMIN},
	/* employee pulse (issue 17 P, api_pulse.c): settings and waves are the
	 * admins'; results and comments everyone's, cut to their scope inside;
	 * /p/{token} is the employee's answer page */
	{"GET", "/api/v1/pulse/settings", api_pulse_settings_get, API_GLOBAL},
	{"PUT", "/api/v1/pulse/settings", api_pulse_settings_put, API_ADMIN},
	{"GET", "/api/v1/pulse/waves", api_pulse_wave_list, API_ANY},
	{"POST", "/api/v1/pulse/waves", api_pulse_wave_open, API_ADMIN},
	{"GET", "/api/v1/pulse/waves/{id}", api_pulse_wave_get, API_ANY},
	{"POST", "/api/v1/pulse/waves/{id}/close", api_pulse_wave_close, API_ADMIN},
	{"GET", "/api/v1/pulse/waves/{id}/comments", api_pulse_comments, API_ANY},
	{"GET", "/api/v1/pulse/results", api_pulse_results, API_ANY, HTTP_SLOW},
	{"GET", "/p/{token}", api_pulse_page_get, API_PUBLIC},
	{"POST", "/p/{token}", api_pulse_page_post, API_PUBLIC},
	/* end of employee pulse */
	/* governance links (issue 17 L, api_governance.c): directors and
	 * admins; series through disclosure control and the statistics, so
	 * the slow pool */
	{"GET", "/api/v1/governance/links", api_gov_links, API_GLOBAL, HTTP_SLOW},
	{"GET", "/api/v1/governance/map", api_gov_map, API_GLOBAL, HTTP_SLOW},
	{"GET", "/api/v1/governance/overview", api_gov_overview, API_GLOBAL, HTTP_SLOW},
	/* scheduled digests (issue 17 D, api_digest.c): admins set them up and
	 * run a pass (which sends mail: the slow pool); every user switches their
	 * own off or on; /d/{token} is the mail's unsubscribe link (no login) */
	{"GET", "/api/v1/digests/settings", api_digest_settings_get, API_ADMIN},
	{"PUT", "/api/v1/digests/settings", api_digest_settings_put, API_ADMIN},
	{"POST", "/api/v1/digests/run", api_digest_run, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/digests", api_digest_list, API_ADMIN},
	{"GET", "/api/v1/me/digests", api_me_digests_get, API_ANY},
	{"PUT", "/api/v1/me/digests", api_me_digests_put, API_ANY},
	{"GET", "/d/{token}", api_digest_unsub_get, API_PUBLIC},
	{"POST", "/d/{token}", api_digest_unsub_post, API_PUBLIC},
	/* issue 17 K: KPIs (api_kpis.c): directors, admins and managers (their
	 * units) read; admins change the catalogue and values, directors and
	 * admins the targets (on org units only); the import and the series
	 * (a disclosure table of the whole organisation) on the slow pool */
	{"GET", "/api/v1/kpis", api_kpi_list, API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL},
	{"POST", "/api/v1/kpis", api_kpi_create, API_ADMIN},
	{"POST", "/api/v1/kpis/import", api_kpi_import, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/kpis/{id}", api_kpi_get, API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL},
	{"PUT", "/api/v1/kpis/{id}", api_kpi_put, API_ADMIN},
	{"DELETE", "/api/v1/kpis/{id}", api_kpi_delete, API_ADMIN},
	{"GET", "/api/v1/kpis/{id}/values", api_kpi_values_get, API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL},
	{"PUT", "/api/v1/kpis/{id}/values", api_kpi_values_put, API_ADMIN, HTTP_SLOW},
	{"GET", "/api/v1/kpi-series", api_kpi_series, API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL, HTTP_SLOW},
	{"GET", "/api/v1/kpi-targets", api_kpi_targets_get, API_ROLE(AUTH_ROLE_MANAGER) | API_GLOBAL},
	{"PUT", "/api/v1/kpi-targets", api_kpi_target_put, API_GLOBAL},
	{"DELETE", "/api/v1/kpi-targets", api_kpi_target_delete, API_GLOBAL},
	/* end of issue 17 K */
};

const size_t api_n_routes = sizeof api_routes / sizeof api_routes[0];
