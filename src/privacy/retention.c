/* retention.c — the retention policy and its clean-up; see retention.h. */
#include "privacy/retention.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

static const int retention_default[STORE_RETENTION__COUNT] = {
	[STORE_RETENTION_OPEN_TEXT] = RETENTION_DEFAULT_OPEN_TEXT,
	[STORE_RETENTION_CONTACTS] = RETENTION_DEFAULT_CONTACTS,
	[STORE_RETENTION_CLOSED_CASES] = RETENTION_DEFAULT_CLOSED_CASES,
};

void retention_defaults(store_retention *r)
{
	memset(r, 0, sizeof *r);
	for (int k = 0; k < STORE_RETENTION__COUNT; k++)
		r->months[k] = retention_default[k];
}

ks_err retention_get(ks_store *s, store_retention *r, ks_error *e)
{
	retention_defaults(r);
	return store_retention_get(s, r, e);
}

static bool retention_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t retention_cutoff(int64_t now, int months)
{
	if (months <= 0)
		return 0;
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	int m = tm.tm_year * 12 + tm.tm_mon - months;
	tm.tm_year = m / 12;
	tm.tm_mon = m % 12;
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int last = mdays[tm.tm_mon] + (tm.tm_mon == 1 && retention_leap(tm.tm_year + 1900));
	if (tm.tm_mday > last)
		tm.tm_mday = last;
	return (int64_t)timegm(&tm);
}

ks_err retention_run(ks_store *s, int64_t now, store_retention_counts *n, ks_error *e)
{
	store_retention r;
	ks_err err = retention_get(s, &r, e);
	if (err)
		return err;
	int64_t cut[STORE_RETENTION__COUNT];
	for (int k = 0; k < STORE_RETENTION__COUNT; k++)
		cut[k] = retention_cutoff(now, r.months[k]);
	store_retention_counts mine;
	return store_retention_apply(s, cut, now, n ? n : &mine, e);
}

ks_err retention_pass(ks_store *s, int64_t now, ks_error *e)
{
	int64_t last = 0;
	ks_error local;
	ks_error_clear(&local);
	ks_err err = store_retention_last_run(s, &last, &local);
	/* A clock moved back (tests) counts as due, like one moved ahead. */
	if (!err && last > 0 && now >= last && now - last < RETENTION_INTERVAL)
		return KS_OK;
	store_retention_counts n;
	/* The first pass on a database (a new one, or one just upgraded to
	 * this version) only starts the clock: the first clean-up comes an
	 * interval later, not while the operator (or a test) is still looking
	 * at the data as it was loaded. */
	static const int64_t keep_all[STORE_RETENTION__COUNT] = {0};
	if (!err && last < 0)
		err = store_retention_apply(s, keep_all, now, &n, &local);
	else if (!err)
		err = retention_run(s, now, &n, &local);
	if (err) {
		fprintf(stderr, "klantstem: retention: %s\n", local.message);
		if (e)
			*e = local;
		return err;
	}
	if (n.open_texts || n.contacts || n.cases)
		fprintf(stderr, "klantstem: retention: %d open answers, %d contacts, %d cases removed\n",
			n.open_texts, n.contacts, n.cases);
	return KS_OK;
}

json_t *retention_json(const store_retention *r)
{
	json_t *o = json_object();
	for (int k = 0; o && k < STORE_RETENTION__COUNT; k++)
		json_object_set_new(o, store_retention_kind_name((store_retention_kind)k),
				    json_pack("{s:i, s:i}", "months", r->months[k], "default", retention_default[k]));
	char at[32];
	clock_format_iso(r->updated_at, at, sizeof at);
	json_object_set_new(o, "updated_at", r->updated_at ? json_string(at) : json_null());
	json_object_set_new(o, "updated_by", r->updated_by ? json_integer(r->updated_by) : json_null());
	return o;
}

ks_err retention_from_json(const json_t *o, store_retention *r, ks_error *e)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v) {
		int k = 0;
		while (k < STORE_RETENTION__COUNT && strcmp(key, store_retention_kind_name((store_retention_kind)k)) != 0)
			k++;
		if (k == STORE_RETENTION__COUNT)
			return ks_fail(e, KS_ERR_INVALID, key,
				       "unknown field %.40s (open_text, contacts, closed_cases)", key);
		if (!json_is_integer(v))
			return ks_fail(e, KS_ERR_INVALID, key, "%s must be a whole number of months", key);
		json_int_t m = json_integer_value(v);
		if (m < 0 || m > RETENTION_MONTHS_MAX)
			return ks_fail(e, KS_ERR_RANGE, key, "%s must be 0..%d months (0 = keep for ever)", key,
				       RETENTION_MONTHS_MAX);
		r->months[k] = (int)m;
		r->stored[k] = true;
	}
	return KS_OK;
}
