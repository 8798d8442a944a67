/* store_digest.h — part of the store's contract (store.h): scheduled
 * digests per role by mail (issue 17, part D; migration 027_digests.sql).
 *
 * The SQL is src/store/governance/sqlite_digest.c. The settings per role,
 * a user's own opt-out, the hashed tokens of their unsubscribe links, and the
 * outbox of digest mails: one row per user and period (UNIQUE), claimed,
 * recorded and recovered with the shared outbox steps (sqlite_outbox.c),
 * so a period is never sent twice, not even after a crash. What a digest
 * says is composed when it is sent (src/api/api_digest.c,
 * src/report/digest.c). Include "store/store.h", never this file. */
#ifndef KS_STORE_DIGEST_H
#define KS_STORE_DIGEST_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_digest.h"
#endif

/* employee, team_lead (weekly); manager, director (monthly) */
#define STORE_DIGEST_ROLES 4
#define STORE_DIGEST_MAX_ATTEMPTS 8

typedef struct store_digest_setting {
	char role[12];           /* employee | team_lead | manager | director */
	char cadence[8];         /* weekly | monthly: fixed per role */
	bool enabled;
	int weekday;             /* weekly: due from this ISO weekday (1 = Monday) ... */
	int day_of_month;        /* monthly: ... or from this day (1..28) ... */
	int hour;                /* ... at this hour (0..23) on the organisation's clock */
	char last_period[12];    /* the last period the schedule queued; "" = none */
	int64_t updated_by;      /* users.id; 0 = none */
	int64_t updated_at;      /* 0 = never changed */
} store_digest_setting;

/* The four rows in the order above. */
ks_err store_digest_settings_get(ks_store *s, store_digest_setting out[STORE_DIGEST_ROLES], ks_error *e);
/* Replace enabled, weekday, day_of_month and hour of each of the n rows
 * (validated by the caller), in one transaction; updated_by/_at are set.
 * KS_ERR_NOTFOUND (field role) for an unknown role: nothing is written. */
ks_err store_digest_settings_put(ks_store *s, const store_digest_setting *in, size_t n, int64_t by,
				 int64_t now, ks_error *e);

/* Queue the digest of period for every active user of role with an address
 * who has not opted out and has something to be told about (an employee
 * with employee_id, a team lead or manager with unit_id), with the user's
 * unit and employee record of now (checked again when it is claimed): one transaction, INSERT OR IGNORE against
 * UNIQUE(user_id, period), so a user already queued for the period is not
 * queued again. With schedule set it is the schedule's once-per-period
 * step: nothing happens when the role's last_period is period already, and
 * last_period becomes period in the same transaction. *queued = new rows. */
ks_err store_digest_queue(ks_store *s, const char *role, const char *period, bool schedule, int64_t now,
			  int *queued, ks_error *e);

/* A claimed digest; strings are copies, read when it is claimed (the
 * user's address, name and language of now). */
typedef struct store_digest_job {
	int64_t id, user_id;
	int attempts;            /* including this one */
	char role[12];           /* the role it was queued for */
	char period[12];
	char to_email[256];
	char name[128];
	char language[3];
	int64_t unit_id;         /* users.unit_id; 0 = none */
	int64_t employee_id;     /* users.employee_id; 0 = none */
	char message_id[128];
	/* a fresh random token for this mail's unsubscribe link (only its
	 * SHA-256 is stored, in digest_unsub_tokens); "" when skipped */
	char unsubscribe_token[72];
	/* why it is not sent: the user left since it was queued (opted out,
	 * disabled, deleted, without an address) or no longer has the role,
	 * unit or employee record it was queued for (its content follows the
	 * queued role); the pass records it failed with this reason */
	char skip[64];
} store_digest_job;
/* Claim up to max due rows ('sending', one transaction); each row that is
 * to be sent gets its unsubscribe token in the same transaction. */
ks_err store_digest_claim(ks_store *s, int64_t now, store_digest_job *jobs, int max, int *n, ks_error *e);
ks_err store_digest_record(ks_store *s, const store_digest_job *j, store_send_outcome outcome,
			   const char *detail, int64_t now, ks_error *e);
/* Claimed rows that were not tried (a pass that stopped on an error) back
 * to 'pending', their attempt not counted, so they need no restart. */
ks_err store_digest_release(ks_store *s, const store_digest_job *jobs, int n, ks_error *e);
/* Rows a crash left 'sending' back to 'pending' (sent again with their
 * Message-ID); *n = rows. */
ks_err store_digest_recover(ks_store *s, int *n, ks_error *e);
/* Recent rows, newest first, at most limit (1..500), optionally of one
 * status (NULL = any): {"items":[{"id","user":{"id","name","email"},"role",
 * "period","status","attempts","last_error","created_at","sent_at"}]}
 * (last_error: the SMTP server's words of the last failed try; null once sent).
 * *out belongs to the caller. */
ks_err store_digest_list(ks_store *s, const char *status, int limit, json_t **out, ks_error *e);

/* A user's own choice (false without a row). */
ks_err store_digest_optout_get(ks_store *s, int64_t user_id, bool *opted_out, ks_error *e);
ks_err store_digest_optout_set(ks_store *s, int64_t user_id, bool opted_out, int64_t now, ks_error *e);
/* The unsubscribe link: the user its token names, looked up by the token's
 * SHA-256 (*user_id, *language "nl"/"en"; either may be NULL) and, with
 * apply set, that user opted out.
 * KS_ERR_NOTFOUND for any other token. */
ks_err store_digest_unsubscribe(ks_store *s, const char *token, bool apply, int64_t now, int64_t *user_id,
				char language[3], ks_error *e);

/* What the digests tell that no other store call gives:
 * the compliments (issue 13) made in [from, to) to employee_id, or, with
 * employee_id 0, to the employees of the unit team_id and below, newest
 * first, at most limit: [{"text","note"|null,"from","from_user_id" (0 = none),
 * "employee","created_at"}]. */
ks_err store_digest_compliments(ks_store *s, int64_t employee_id, int64_t team_id, int64_t from, int64_t to,
				int limit, json_t **out, ks_error *e);

#endif
