/* store_invite.h — part of the store's contract (store.h): survey rules,
 * invitations, opt-outs and the funnel; the customer voice (one-click scores,
 * yes/no questions, the organisation's voice); relationship surveys.
 *
 * The SQL behind it is in this folder (src/store/invite/). Include
 * "store/store.h", never this file: store.h includes the domains in the
 * order their types need, and its contracts (transactions, ownership,
 * errors) hold here too. */
#ifndef KS_STORE_INVITE_H
#define KS_STORE_INVITE_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_invite.h"
#endif

/* ---- survey rules, invitations, opt-outs, funnel (sqlite_invite.c) ----- */

/* The rule of a touchpoint; *found false (and out = defaults) when none. */
ks_err store_rule_get(ks_store *s, int64_t touchpoint_id, invite_rule *out, bool *found, ks_error *e);
/* Create or replace the rule of rule->touchpoint_id (validated by the caller). */
ks_err store_rule_put(ks_store *s, const invite_rule *rule, ks_error *e);
json_t *store_rule_json(const invite_rule *r);
ks_err store_rule_list(ks_store *s, json_t **out, ks_error *e);

/* Queue webhook events in the outbox (off by default: nobody to deliver to). */
void store_set_webhooks(ks_store *s, bool enabled);
/* Seed for the sampling decision (fixed in tests; random per database otherwise). */
void store_set_sample_seed(ks_store *s, uint64_t seed);
/* The organisation's calendar (see store_options.tz). Call before the
 * store is shared between threads. */
void store_set_tz(ks_store *s, const ks_tz *tz);

/* A send the scheduler must do: an invitation or its reminder. Strings are
 * copies owned by the job. */
typedef struct store_invite_job {
	int64_t invitation_id;
	bool reminder;
	int attempts;            /* including this one */
	char email[256];
	char customer_name[128];
	char language[3];
	char employee_first_name[64];
	char touchpoint_name[128];
	char token[MODEL_TOKEN_LEN + 1];
	char unsubscribe_token[MODEL_TOKEN_LEN + 1];
	char message_id[128];
	int64_t survey_id;
	bool formal;             /* issue 13: the organisation says "u" */
	char org_name[128];      /* issue 13: "" = the server's --org-name */
	bool logo;               /* issue 13: the organisation uploaded a logo */
	bool relationship;       /* issue 16: the contact is a relationship wave's (channel 'relationship') */
} store_invite_job;

/* After a crash, sends that were claimed but never recorded ("sending") go
 * back to "scheduled", to be sent again with the same Message-ID. Returns
 * the number of rows reset in *n. */
ks_err store_invite_recover(ks_store *s, int *n, ks_error *e);
/* Claim up to max due sends (initial and reminders) at time now: each is
 * marked "sending" in one transaction before any mail leaves. Reminders of
 * answered, expired or opted-out invitations are marked skipped instead. */
ks_err store_invite_claim(ks_store *s, int64_t now, store_invite_job *jobs, int max, int *n,
			  ks_error *e);
typedef enum { STORE_SEND_OK, STORE_SEND_RETRY, STORE_SEND_GIVE_UP } store_send_outcome;
/* Record the outcome of a claimed send. RETRY schedules the next attempt
 * with exponential backoff (after 8 attempts it gives up). */
ks_err store_invite_record(ks_store *s, const store_invite_job *job, store_send_outcome outcome,
			   const char *detail, int64_t now, ks_error *e);

/* Funnel events from the survey page; unknown tokens are ignored. */
ks_err store_invite_opened(ks_store *s, int64_t contact_id, bool started, int64_t now, ks_error *e);
/* Opt out for good by the unsubscribe token (KS_ERR_NOTFOUND when unknown)
 * or by customer id. Pending invitations and reminders are cancelled. */
ks_err store_optout_token(ks_store *s, const char *token, int64_t now, ks_error *e);
ks_err store_optout_customer(ks_store *s, int64_t customer_id, int64_t now, ks_error *e);
ks_err store_optout_list(ks_store *s, const store_list_query *q, json_t **out, ks_error *e);

typedef struct store_invite_filter {
	const char *status;      /* NULL = any */
	const char *decision;
	int64_t touchpoint_id;
	int64_t customer_id;
} store_invite_filter;
ks_err store_invitation_list(ks_store *s, const store_invite_filter *f, const store_list_query *q,
			     json_t **out, ks_error *e);

/* Response funnel grouped by one of "touchpoint", "team", "channel",
 * "month" (the contact's local month on the store's calendar, "YYYY-MM"),
 * or NULL for one total row; [from, to) on the contact time, 0 = open. */
ks_err store_funnel(ks_store *s, const char *group_by, int64_t from, int64_t to, json_t **out,
		    ks_error *e);

/* Respondents against everyone invited, counted in customers: the
 * invitations decided "created" whose contact falls in [from, to) (0 =
 * open), per segment of the dimension "age_band", "customer_since_band",
 * "channel", "language" or "segment". Age and customer-since are taken in
 * the local year of the contact (the store's calendar) with the bands of
 * the analytics index. A customer counts once per segment however often
 * invited; one whose invitations fall in two segments (two channels, a
 * birthday across a band) counts once in each. */
typedef struct store_repr_row {
	char segment[128];          /* the label (longer ones are cut) */
	int64_t invited_customers;  /* distinct customers invited */
	int64_t respondents;        /* distinct customers with a completed invitation */
	int64_t invitations;        /* invitations created */
	int64_t completed;          /* invitations completed */
} store_repr_row;
typedef struct store_repr {
	store_repr_row *rows;       /* malloc'd (NULL when none); bands in their order
	                             * ("unknown" first, as the index codes them),
	                             * other segments by label */
	size_t n;
	/* The same four over the whole window, each customer once. */
	int64_t invited_customers, respondents, invitations, completed;
} store_repr;
/* KS_ERR_INVALID naming "dimension" for another dimension. Release *out
 * with store_repr_free (also after a failure: then it is empty). */
ks_err store_representativeness(ks_store *s, const char *dimension, int64_t from, int64_t to,
				store_repr *out, ks_error *e);
void store_repr_free(store_repr *r);

/* Webhook outbox: claim up to max due events, then record each outcome. */
typedef struct store_webhook_job {
	int64_t id;
	int attempts;
	char event[64];
	char *payload;           /* owned: free() */
} store_webhook_job;
ks_err store_webhook_claim(ks_store *s, int64_t now, store_webhook_job *jobs, int max, int *n,
			   ks_error *e);
ks_err store_webhook_record(ks_store *s, const store_webhook_job *job, bool ok, int http_status,
			    int64_t now, ks_error *e);

/* ==== customer voice (issue 13; sqlite_events.c, sqlite_invite.c, 014) ====
 * The one-click score, yes/no answers, and how the organisation speaks to
 * its customers. */

/* Called after a response's answers changed in place (a one-click score
 * completed by the form, changed by a second tap, or withdrawn), with the
 * row before and after: only nps, grade, ces differ (and the drivers:
 * issue 15, after carries the form's driver ratings). Whoever keeps a
 * derived copy (the analytics index) updates it, so the response is still
 * counted once. The rows are valid during the call only. */
typedef void (*store_update_fn)(void *arg, const model_response *before,
				const model_response *after);
void store_set_update_hook(ks_store *s, store_update_fn fn, void *arg);

/* Change the stored answers of the partial response r->id (which must be
 * partial: KS_ERR_CONFLICT otherwise) to r's nps, grade, ces, drivers,
 * yes/no answers, open text and consent, in one transaction; the row's
 * tied fields and received_at stay. r->partial false completes it; true
 * keeps it partial (a second tap in the mail) and sets one_click_at to
 * `now`. The update hook hears of the change after the commit. */
ks_err store_response_update_partial(ks_store *s, const model_response *r, int64_t now,
				     ks_error *e);

/* Share of "yes" per yes/no aspect over complete and partial responses of
 * survey_id (0 = all) received in [from, to) (0 = open):
 * {"items":[{"aspect","n","yes","share_yes"}]} by aspect; share_yes is a
 * fraction with 3 decimals, null below min_n answers. Caller owns *out. */
ks_err store_yesno_report(ks_store *s, int64_t survey_id, int64_t from, int64_t to, int min_n,
			  json_t **out, ks_error *e);

#define STORE_LOGO_MAX 65536   /* bytes of the uploaded logo */
/* The organisation's voice: one row at most (defaults without it). */
typedef struct store_voice {
	bool formal;                    /* "u" rather than "je" */
	char organisation_name[128];    /* "" = none */
	char logo_type[16];             /* "" = no logo; image/png, image/jpeg, image/gif */
	unsigned char *logo;            /* malloc'd, logo_len bytes; NULL = none */
	size_t logo_len;
	int64_t updated_by, updated_at;
} store_voice;
/* *out is filled; the caller frees out->logo (store_voice_free). With
 * with_logo false the image is not read: out->logo stays NULL and
 * out->logo_len tells its size (0 = none) — what a page needs to know. */
ks_err store_voice_get(ks_store *s, store_voice *out, bool with_logo, ks_error *e);
/* Create or replace the row (v->updated_at set to now). */
ks_err store_voice_put(ks_store *s, store_voice *v, int64_t now, ks_error *e);
void store_voice_free(store_voice *v);
/* The language of the customer an unsubscribe token belongs to ("nl" when
 * the token is unknown: the page must not tell which tokens exist). */
void store_unsub_language(ks_store *s, const char *token, char lang[3]);

/* ==== end of customer voice ================================================ */

/* ==== relationship surveys (issue 16 H6; sqlite_relationship.c, 024) ========
 * A wave samples ALL customers, stratified by segment ('' = no segment),
 * with the fatigue rules of contact invitations; sending creates a contact
 * with channel "relationship" on the wave's relationship touchpoint and an
 * invitation per customer, so the scheduler, reminders, survey page and
 * funnel serve waves as they serve contacts. docs/API.md "Relationship
 * surveys", docs/STATISTICS.md §12. */
typedef struct store_rel_wave {
	int64_t id;
	char name[208];
	int64_t survey_id;
	int64_t touchpoint_id;        /* 0 until sent */
	char period[24];              /* whole month, quarter or year label */
	int64_t sample_size;
	char allocation[16];          /* "proportional" | "equal" */
	int64_t min_per_stratum;
	bool replace_excluded;        /* an excluded customer is replaced from the same stratum */
	int fatigue_days;             /* 0..365, as invite_rule.fatigue_days */
	char seed[17];                /* 16 hex digits; "" before the draw */
	char status[8];               /* draft | drawn | sent | closed */
	int64_t population;           /* frame size at the draw; 0 before */
	int64_t created_by;           /* 0 = none */
	int64_t created_at, drawn_at, sent_at, closed_at;  /* 0 = not yet */
	/* Filled by get and list: sample rows selected (not excluded), excluded
	 * (any reason, draw or send), invitations created, respondents. */
	int64_t selected, excluded, invited, respondents;
} store_rel_wave;

/* Insert w (validated by the caller; status draft): KS_ERR_REF naming
 * "survey_id" when the survey does not exist. Sets w->id, w->created_at. */
ks_err store_rel_wave_create(ks_store *s, store_rel_wave *w, ks_error *e);
/* KS_ERR_NOTFOUND when there is no such wave. */
ks_err store_rel_wave_get(ks_store *s, int64_t id, store_rel_wave *out, ks_error *e);
/* Every wave, newest first; *out malloc'd (caller frees; NULL when none). */
ks_err store_rel_wave_list(ks_store *s, store_rel_wave **out, size_t *n, ks_error *e);
/* Write every editable field of w (name, survey_id, period, sample_size,
 * allocation, min_per_stratum, replace_excluded, fatigue_days, status,
 * closed_at) if the stored status is still expect_status: KS_ERR_CONFLICT
 * naming "status" when it changed meanwhile; KS_ERR_REF "survey_id". */
ks_err store_rel_wave_update(ks_store *s, const store_rel_wave *w, const char *expect_status,
			     ks_error *e);
/* Delete a draft or drawn wave with its sample; KS_ERR_CONFLICT naming
 * "status" once sent (its invitations and answers stay the record). */
ks_err store_rel_wave_delete(ks_store *s, int64_t id, ks_error *e);

/* What a draw did, per stratum and in total. */
typedef struct store_rel_draw_result {
	int64_t population, allocated, selected;
	int64_t fatigue, opted_out, no_email;   /* excluded at the draw, by reason */
	size_t strata;
} store_rel_draw_result;
/* Draw the sample of a draft wave with seed: the frame (every customer not
 * erased) read in one snapshot without the write lock, strata by segment,
 * rel_allocate, each stratum in rel_key order, invite_decide's opt-out /
 * e-mail / fatigue checks at the current time; then the sample written in
 * one transaction, status drawn. KS_ERR_CONFLICT naming "status" unless
 * draft, or when the wave changed between the read and the write;
 * KS_ERR_RANGE from rel_allocate; KS_ERR_RANGE naming "sample_size" when
 * there are no customers. */
ks_err store_rel_draw(ks_store *s, int64_t id, uint64_t seed, store_rel_draw_result *out, ks_error *e);
/* Send a drawn wave: the relationship touchpoint of its survey (made on
 * first use, with a disabled rule; set on the wave in a first transaction),
 * then per selected customer the same checks again (an opt-out since the
 * draw is excluded with excluded_at "send"), a contact and a scheduled
 * invitation (sent by the scheduler at once, out of quiet hours), in
 * committed chunks of 1,000 (H8): called again after a failure it goes on
 * with the customers not sent yet. Status becomes sent with the last chunk.
 * *invited / *excluded: the wave's totals. KS_ERR_CONFLICT naming "status"
 * unless drawn. */
ks_err store_rel_send(ks_store *s, int64_t id, int64_t *invited, int64_t *excluded, ks_error *e);

/* The counts of a wave's report. */
typedef struct store_rel_stratum {
	char stratum[128];
	bool in_frame;                 /* false: a segment that appeared after the draw */
	int64_t population, allocated; /* the frame at the draw */
	int64_t selected, fatigue, opted_out, no_email;
	int64_t invited;               /* customers with a relationship invitation created */
	metrics_counts rel;            /* the wave's responses; rel.n = respondents */
	int64_t cd_invited;            /* customers with a contact invitation created, contact in the period */
	int64_t cd_respondents;        /* customers with a contact-driven response in the period */
} store_rel_stratum;
typedef struct store_rel_report {
	store_rel_stratum *strata;     /* malloc'd; frame strata by name, then new segments */
	size_t n;
	metrics_counts rel;            /* the whole wave */
	metrics_counts cd;             /* every response received in [from, to) that is not a
	                                * relationship response (channel <> 'relationship') */
	int64_t cd_invited, cd_respondents;  /* customers, each once */
	metrics_counts cd_once;        /* H8: as cd, each customer once — their latest NPS answer
	                                * in [from, to) (an answer without a customer alone): the
	                                * gap's contact-driven side, whose answers must be
	                                * independent */
} store_rel_report;
/* One read transaction. Contact-driven figures over [from, to); every
 * answer counted (the wave's too) received before as_of (0 = no cut: the
 * API passes the start of today, docs/PRIVACY.md §3). Release with
 * store_rel_report_free (also after a failure). */
ks_err store_rel_report_counts(ks_store *s, int64_t id, int64_t from, int64_t to, int64_t as_of,
			       store_rel_report *out, ks_error *e);
void store_rel_report_free(store_rel_report *r);

/* A wave per quarter (relationship_schedule, one row; src/invite/rel_schedule.c
 * runs it). */
typedef struct store_rel_schedule {
	bool enabled;
	int64_t survey_id;            /* 0 = none chosen */
	int64_t sample_size;
	char allocation[16];
	int64_t min_per_stratum;
	bool replace_excluded;
	int fatigue_days;
	int day_of_month;             /* 1..28 of the quarter's first month */
	char last_period[24];         /* "" = none made yet */
	int64_t last_wave_id;         /* 0 = none */
	char last_error[256];
	int64_t updated_by, updated_at;
} store_rel_schedule;
/* The schedule, or the defaults (off, 400, proportional, 30 days, day 1). */
ks_err store_rel_schedule_get(ks_store *s, store_rel_schedule *out, ks_error *e);
/* Write the settings (not last_*): KS_ERR_REF naming "survey_id". */
ks_err store_rel_schedule_put(ks_store *s, const store_rel_schedule *in, ks_error *e);
/* In one transaction: when the schedule is on and period (a quarter label)
 * has no scheduled wave yet, make its draft wave and record period as
 * done, so a quarter gets one wave however often this runs. *wave_id 0 =
 * nothing to do. */
ks_err store_rel_schedule_claim(ks_store *s, const char *period, int64_t *wave_id, ks_error *e);
/* Remember why the last scheduled wave failed ("" = it did not). */
ks_err store_rel_schedule_note(ks_store *s, const char *error, ks_error *e);
/* ==== end of relationship surveys ============================================ */

#endif
