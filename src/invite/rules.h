/* rules.h — whether a contact event gets a survey invitation, and when.
 *
 * Owner: src/invite/rules.c. Pure functions: no I/O, no database, no clock,
 * no allocation. The caller (the invitation job) gathers the facts about a
 * contact from the store and asks invite_decide(); for INVITE_CREATE it
 * schedules the e-mail at invite_send_at(), the link's expiry at
 * invite_expires_at() and the reminder at invite_reminder_at().
 *
 * Times are unix seconds (UTC). "Local time" is Europe/Amsterdam, computed
 * by core/tz.h (tz_default) from the EU summer-time rule, not from the
 * system's tz database, so results do not depend on the host's TZ setting.
 */
#ifndef KS_INVITE_RULES_H
#define KS_INVITE_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* The invitation rule of one touchpoint. Plain data owned by the caller. */
typedef struct invite_rule {
	int64_t touchpoint_id;
	int64_t survey_id;
	bool enabled;
	int delay_minutes;     /* after the contact; default 120; 0..10080 */
	int quiet_start_hour;  /* default 21 */
	int quiet_end_hour;    /* default 8: no mail in [21:00, 08:00) local time.
	                        * start == end means no quiet window at all. */
	int sample_pct;        /* share of eligible contacts invited, 0..100; default 100 */
	int fatigue_days;      /* at most one invitation per customer per N days,
	                        * across all touchpoints; default 30; 0 = no limit */
	bool exclude_open_case;  /* no invitation while the customer has an open case */
	int expiry_days;       /* link valid N days after sending; default 14; 1..90 */
	int reminder_days;     /* one reminder N days after sending when unanswered;
	                        * 0 = none; default 3; 0..30 and < expiry_days */
} invite_rule;

/* Fill *r with the defaults above: enabled, ids 0, no open-case exclusion. */
void invite_rule_defaults(invite_rule *r);

/* Check every range above. KS_ERR_RANGE names the offending field exactly as
 * spelled in the struct (e.g. "delay_minutes"); KS_ERR_INVALID for r NULL. */
ks_err invite_rule_validate(const invite_rule *r, ks_error *e);

/* What the store knows about the contact and its customer. Plain data. */
typedef struct invite_facts {
	bool opted_out;         /* the customer asked not to be surveyed */
	bool has_email;
	bool has_open_case;
	int64_t last_invited_at;  /* latest invitation to this customer, any touchpoint; 0 = never */
	int64_t contact_id;
	uint64_t sample_seed;   /* per installation (or per rule), fixed */
} invite_facts;

/* The outcome of invite_decide(). Values are stable; names are stored. */
typedef enum {
	INVITE_CREATE,
	INVITE_NO_RULE,
	INVITE_DISABLED,
	INVITE_OPTED_OUT,
	INVITE_NO_EMAIL,
	INVITE_OPEN_CASE,
	INVITE_FATIGUE,
	INVITE_SAMPLED_OUT
} invite_reason;

/* Stable snake_case name: "created", "no_rule", "disabled", "opted_out",
 * "no_email", "open_case", "fatigue", "sampled_out" ("unknown" otherwise).
 * Static storage. */
const char *invite_reason_name(invite_reason r);

/* Decide for the contact at contact_at. rule NULL = the touchpoint has no
 * rule; f must not be NULL. The first failing check wins, in this order:
 * no rule, disabled, opted out, no e-mail, open case (only when
 * rule->exclude_open_case), fatigue, sampling. Sampling is last so that
 * sample_pct is a share of the eligible contacts.
 *
 * Fatigue: blocked when f->last_invited_at != 0, fatigue_days > 0 and
 * contact_at - last_invited_at < fatigue_days * 86400. So with N = 30 an
 * invitation 29 days 23:59:59 earlier blocks, one exactly 30 days earlier
 * does not. An invitation later than the contact (events processed out of
 * order) also blocks. */
invite_reason invite_decide(const invite_rule *rule, const invite_facts *f, int64_t contact_at);

/* Is this contact in the sample? splitmix64(seed ^ contact_id) mod 10000
 * < pct * 100; pct <= 0 never, pct >= 100 always. Deterministic on
 * purpose: a retried or replayed decision for the same contact gives the
 * same answer (no double or lost invitations after a crash), and tests
 * use a fixed seed instead of a random generator. */
bool invite_sampled(uint64_t seed, int64_t contact_id, int pct);

/* UTC offset of Europe/Amsterdam at the instant utc, in seconds: 3600 (CET)
 * or 7200 (CEST, from the last Sunday of March 01:00 UTC up to the last
 * Sunday of October 01:00 UTC; Directive 2000/84/EC, art. 2 and 3). Valid
 * for 1996 on, when the EU rule took its current form. A wrapper over
 * tz_offset() with tz_default(). */
int invite_amsterdam_offset(int64_t utc);
/* The first instant whose Amsterdam wall clock reads local (seconds since
 * 1970-01-01 00:00 local time): the summer one in the October overlap, the
 * moment the clock jumps to in the March gap. A wrapper over
 * tz_utc_of_local() with tz_default(). */
int64_t invite_utc_of_local(int64_t local);

/* When to send: contact_at + delay_minutes, moved to quiet_end_hour:00 local
 * time when that falls in the quiet window (the same day for the morning
 * part of a window, the next day after quiet_start_hour when it wraps
 * midnight). r must be valid. */
int64_t invite_send_at(const invite_rule *r, int64_t contact_at);

/* The reminder: sent_at + reminder_days * 86400 (elapsed days), moved out of
 * the quiet window like invite_send_at(); 0 when reminder_days == 0. */
int64_t invite_reminder_at(const invite_rule *r, int64_t sent_at);

/* The link's expiry: sent_at + expiry_days * 86400. Not moved: quiet hours
 * concern e-mail, not the link. */
int64_t invite_expires_at(const invite_rule *r, int64_t sent_at);

#endif
