/* rules.c — invitation decisions and send times. See rules.h. */
#include "invite/rules.h"

#include <stddef.h>

#include "core/tz.h"

#define DAY_S 86400
#define HOUR_S 3600

void invite_rule_defaults(invite_rule *r)
{
	*r = (invite_rule){
		.touchpoint_id = 0,
		.survey_id = 0,
		.enabled = true,
		.delay_minutes = 120,
		.quiet_start_hour = 21,
		.quiet_end_hour = 8,
		.sample_pct = 100,
		.fatigue_days = 30,
		.exclude_open_case = false,
		.expiry_days = 14,
		.reminder_days = 3,
	};
}

/* ---- validation ------------------------------------------------------- */

static ks_err check_range(ks_error *e, const char *field, int v, int lo, int hi)
{
	if (v >= lo && v <= hi)
		return KS_OK;
	return ks_fail(e, KS_ERR_RANGE, field, "%s must be %d..%d", field, lo, hi);
}

ks_err invite_rule_validate(const invite_rule *r, ks_error *e)
{
	if (r == NULL)
		return ks_fail(e, KS_ERR_INVALID, NULL, "no invitation rule");
	ks_err rc;
	if ((rc = check_range(e, "delay_minutes", r->delay_minutes, 0, 10080)))  /* a week */
		return rc;
	if ((rc = check_range(e, "quiet_start_hour", r->quiet_start_hour, 0, 23)))
		return rc;
	if ((rc = check_range(e, "quiet_end_hour", r->quiet_end_hour, 0, 23)))
		return rc;
	if ((rc = check_range(e, "sample_pct", r->sample_pct, 0, 100)))
		return rc;
	if ((rc = check_range(e, "fatigue_days", r->fatigue_days, 0, 365)))
		return rc;
	if ((rc = check_range(e, "expiry_days", r->expiry_days, 1, 90)))
		return rc;
	if ((rc = check_range(e, "reminder_days", r->reminder_days, 0, 30)))
		return rc;
	if (r->reminder_days >= r->expiry_days)
		return ks_fail(e, KS_ERR_RANGE, "reminder_days",
		               "reminder_days must be less than expiry_days (%d)", r->expiry_days);
	return KS_OK;
}

/* ---- the decision ----------------------------------------------------- */

const char *invite_reason_name(invite_reason r)
{
	switch (r) {
	case INVITE_CREATE: return "created";
	case INVITE_NO_RULE: return "no_rule";
	case INVITE_DISABLED: return "disabled";
	case INVITE_OPTED_OUT: return "opted_out";
	case INVITE_NO_EMAIL: return "no_email";
	case INVITE_OPEN_CASE: return "open_case";
	case INVITE_FATIGUE: return "fatigue";
	case INVITE_SAMPLED_OUT: return "sampled_out";
	}
	return "unknown";
}

/* splitmix64: one step of the generator of Steele, Lea & Flood, "Fast
 * splittable pseudorandom number generators" (OOPSLA 2014), with the
 * constants of Vigna's reference splitmix64.c (prng.di.unimi.it). A good
 * 64-bit mixer: nearby contact ids give unrelated outputs. */
static uint64_t splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

bool invite_sampled(uint64_t seed, int64_t contact_id, int pct)
{
	if (pct <= 0)
		return false;
	if (pct >= 100)
		return true;
	/* The modulo bias is below 10000 / 2^64: negligible. */
	uint64_t bucket = splitmix64(seed ^ (uint64_t)contact_id) % 10000u;
	return bucket < (uint64_t)pct * 100u;
}

static bool invite_fatigued(const invite_rule *rule, const invite_facts *f, int64_t contact_at)
{
	if (rule->fatigue_days <= 0 || f->last_invited_at == 0)
		return false;
	return contact_at - f->last_invited_at < (int64_t)rule->fatigue_days * DAY_S;
}

invite_reason invite_decide(const invite_rule *rule, const invite_facts *f, int64_t contact_at)
{
	if (rule == NULL)
		return INVITE_NO_RULE;
	if (!rule->enabled)
		return INVITE_DISABLED;
	if (f->opted_out)
		return INVITE_OPTED_OUT;
	if (!f->has_email)
		return INVITE_NO_EMAIL;
	if (rule->exclude_open_case && f->has_open_case)
		return INVITE_OPEN_CASE;
	if (invite_fatigued(rule, f, contact_at))
		return INVITE_FATIGUE;
	if (!invite_sampled(f->sample_seed, f->contact_id, rule->sample_pct))
		return INVITE_SAMPLED_OUT;
	return INVITE_CREATE;
}

/* ---- Amsterdam local time --------------------------------------------- */

/* Thin wrappers: the EU rule lives in core/tz.c, once. */
int invite_amsterdam_offset(int64_t utc)
{
	ks_tz z;
	tz_default(&z);
	return tz_offset(&z, utc);
}

int64_t invite_utc_of_local(int64_t local)
{
	ks_tz z;
	tz_default(&z);
	return tz_utc_of_local(&z, local);
}

/* Is the local hour in the window [start, end)? start == end: no window. */
static bool in_quiet(int hour, int start, int end)
{
	if (start == end)
		return false;
	if (start < end)
		return hour >= start && hour < end;
	return hour >= start || hour < end;  /* wraps midnight, e.g. 21..8 */
}

/* t, or the end of the quiet window t falls in. */
static int64_t out_of_quiet(const invite_rule *r, int64_t t)
{
	ks_tz z;
	tz_default(&z);
	int64_t day = tz_local_day(&z, t);
	int y, mo, d, hour, mi, s;
	tz_civil(&z, t, &y, &mo, &d, &hour, &mi, &s);
	if (!in_quiet(hour, r->quiet_start_hour, r->quiet_end_hour))
		return t;
	/* In a wrapping window the evening part ends tomorrow morning. */
	if (r->quiet_start_hour > r->quiet_end_hour && hour >= r->quiet_start_hour)
		day++;
	return tz_utc_of_local(&z, day * DAY_S + (int64_t)r->quiet_end_hour * HOUR_S);
}

int64_t invite_send_at(const invite_rule *r, int64_t contact_at)
{
	return out_of_quiet(r, contact_at + (int64_t)r->delay_minutes * 60);
}

int64_t invite_reminder_at(const invite_rule *r, int64_t sent_at)
{
	if (r->reminder_days == 0)
		return 0;
	return out_of_quiet(r, sent_at + (int64_t)r->reminder_days * DAY_S);
}

int64_t invite_expires_at(const invite_rule *r, int64_t sent_at)
{
	return sent_at + (int64_t)r->expiry_days * DAY_S;
}
