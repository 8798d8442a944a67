/* store_pulse.h — the employee engagement pulse (eNPS; issue 17 P).
 * Included by store.h only. SQL: src/store/governance/sqlite_pulse.c;
 * schema and the anonymity promise: migrations/026_pulse.sql. The rules
 * over these counts (min group, complementary suppression, who sees what)
 * are src/pulse/pulse.c's; the store only counts and stores.
 */
#ifndef KS_STORE_PULSE_H
#define KS_STORE_PULSE_H

#define STORE_PULSE_TEXT_MAX 400     /* bytes of a question text */
#define STORE_PULSE_COMMENT_MAX 2000 /* characters of a comment (the schema's CHECK) */
#define STORE_PULSE_ITEMS 3          /* engagement items: 2 or 3 */

typedef struct store_pulse_settings {
	bool enabled;
	int cadence_days;        /* 7..366 */
	int open_days;           /* 1..60 */
	int min_group;           /* >= 3 */
	int min_group_comments;  /* >= 5 */
	char language[3];        /* invitations to employees without an account language */
	char enps[2][STORE_PULSE_TEXT_MAX];              /* [0] nl, [1] en */
	char item[STORE_PULSE_ITEMS][2][STORE_PULSE_TEXT_MAX]; /* item[2] "" = two items */
	char open[2][STORE_PULSE_TEXT_MAX];
	int64_t updated_by, updated_at;
} store_pulse_settings;

/* The one row (the migration makes it). */
ks_err store_pulse_settings_get(ks_store *s, store_pulse_settings *out, ks_error *e);
/* Replace it (updated_at = now); the schema's CHECKs are the last guard:
 * callers validate first (KS_ERR_RANGE naming the field otherwise). */
ks_err store_pulse_settings_put(ks_store *s, const store_pulse_settings *in, int64_t now, ks_error *e);

typedef struct store_pulse_wave {
	int64_t id;
	char period[8];          /* 'YYYY-MM', local month of opening */
	int64_t opened_at, closes_at;
	char status[8];          /* open | closed */
	bool scheduled;
	int64_t invited, answered;     /* invitations made, answers stored */
	int64_t mail_sent, mail_failed;
	bool finalised;          /* its cells are written (pulse_cells) */
	json_t *questions;       /* owned: {enps:{nl,en}, items:[{nl,en}], open:{nl,en}} */
} store_pulse_wave;
void store_pulse_wave_clear(store_pulse_wave *w);

/* Open a wave now: the wave, and an invitation (the mail outbox row) for
 * every active employee with an e-mail address and a team (the team is
 * kept in the invitation: answers are filed under it), and the wave's
 * teams with their "composition changed" mark (pulse_wave_teams), in one
 * transaction; the question texts of the settings are copied into it.
 * *wave_id the new wave. period: the local month of now. KS_ERR_CONFLICT
 * when a wave is open already (two open waves would be two live sets of
 * links and results). */
ks_err store_pulse_wave_open(ks_store *s, int64_t now, bool scheduled, int64_t user_id, int64_t *wave_id,
			     ks_error *e);
/* KS_ERR_NOTFOUND when there is no such wave. out->questions owned. */
ks_err store_pulse_wave_get(ks_store *s, int64_t id, store_pulse_wave *out, ks_error *e);
/* All waves, newest first, up to max; *out malloc'd (each cleared with
 * store_pulse_wave_clear, then free). from/to: 'YYYY-MM' inclusive or
 * NULL. */
ks_err store_pulse_wave_list(ks_store *s, const char *from, const char *to, size_t max,
			     store_pulse_wave **out, size_t *n, ks_error *e);
/* Close a wave (its links stop working). KS_ERR_NOTFOUND. The caller
 * finalises it (src/pulse/pulse.c pulse_wave_close). */
ks_err store_pulse_wave_close(ks_store *s, int64_t id, ks_error *e);
/* The local hour (org time zone) at which the scheduler opens a wave. */
#define STORE_PULSE_OPEN_HOUR 9
/* The scheduler's step: close waves past closes_at; when enabled, no wave
 * is open, it is STORE_PULSE_OPEN_HOUR or later on the local clock, and
 * the newest wave opened cadence_days or more local days ago (or there is
 * none), open one (scheduled). *opened the new wave's id, 0 = none. */
ks_err store_pulse_schedule(ks_store *s, int64_t now, int64_t *opened, ks_error *e);

/* ---- the mail (the invitation rows are the outbox) ---- */
typedef struct store_pulse_job {
	int64_t id;              /* the invitation */
	int attempts;
	char to_email[256];
	char first_name[128];
	char language[3];
	char token[64];          /* fresh, only here and in the mail; its hash is stored */
	int64_t closes_at;
	char closes_on[16];      /* closes_at's local date (org time zone), YYYY-MM-DD */
	char message_id[96];
	char enps_question[STORE_PULSE_TEXT_MAX];  /* in language, {org} not yet replaced */
} store_pulse_job;
/* Crash recovery: 'sending' rows back to 'pending'. */
ks_err store_pulse_mail_recover(ks_store *s, int *n, ks_error *e);
/* Claim up to max due invitation mails of open waves; each gets a new
 * token (a retry's mail carries a new link: the old one never reached
 * anyone) whose hash replaces the stored one. */
ks_err store_pulse_mail_claim(ks_store *s, int64_t now, store_pulse_job *jobs, int max, int *n, ks_error *e);
ks_err store_pulse_mail_record(ks_store *s, const store_pulse_job *j, store_send_outcome outcome,
			       const char *detail, int64_t now, ks_error *e);

/* ---- the answer page ---- */
typedef struct store_pulse_link {
	int64_t wave_id;
	char language[3];
	bool answered;
	bool closed;             /* the wave closed or past closes_at */
	json_t *questions;       /* owned (json_decref) */
} store_pulse_link;
/* The invitation of a link token. KS_ERR_NOTFOUND for an unknown token. */
ks_err store_pulse_link_resolve(ks_store *s, const char *token, int64_t now, store_pulse_link *out,
				ks_error *e);

typedef struct store_pulse_answer {
	int enps;                /* 0..10 */
	int item[STORE_PULSE_ITEMS]; /* 1..5, 0 = not answered */
	const char *comment;     /* NULL / "" = none; borrowed */
} store_pulse_answer;
/* In one transaction: record the token as used under its second hash
 * (KS_ERR_CONFLICT when it already was, KS_ERR_GONE when the wave closed
 * or the invitation has no team, KS_ERR_NOTFOUND for an unknown token),
 * store the answer with a random id under the invitation's team (the
 * team at the wave's opening), count it on the wave. */
ks_err store_pulse_answer_submit(ks_store *s, const char *token, const store_pulse_answer *a, int64_t now,
				 ks_error *e);

/* ---- counts for results ---- */
typedef struct store_pulse_count {
	int64_t team_id;         /* the org unit the answers carry */
	int64_t n, promoters, passives, detractors;
	int64_t item_n[STORE_PULSE_ITEMS], item_sum[STORE_PULSE_ITEMS];
} store_pulse_count;
/* Per org unit of a wave's answers, *out malloc'd. */
ks_err store_pulse_counts(ks_store *s, int64_t wave_id, store_pulse_count **out, size_t *n, ks_error *e);

typedef struct store_pulse_unit {
	int64_t id, parent_id;   /* parent 0 = a root */
	char kind[16];           /* organisation | department | team */
	char name[128];
} store_pulse_unit;
/* Every org unit, by id; *out malloc'd. */
ks_err store_pulse_units(ks_store *s, store_pulse_unit **out, size_t *n, ks_error *e);
/* The team of an employee (0 when unknown). */
ks_err store_pulse_employee_team(ks_store *s, int64_t employee_id, int64_t *team_id, ks_error *e);

/* The comments of a wave's answers in the given org units (ids, n_ids),
 * in the random order of the answers' ids: a JSON array of strings (new
 * reference). */
ks_err store_pulse_comments(ks_store *s, int64_t wave_id, const int64_t *unit_ids, size_t n_ids, json_t **out,
			    ks_error *e);

/* The teams of a wave whose composition changed before it opened
 * (pulse_wave_teams), ascending; *ids malloc'd (NULL when n = 0). */
ks_err store_pulse_changed_teams(ks_store *s, int64_t wave_id, int64_t **ids, size_t *n, ks_error *e);

/* ---- a closed wave's results, written once (pulse_cells) ---- */
typedef enum store_pulse_state {
	STORE_PULSE_SHOWN,
	STORE_PULSE_HIDDEN,      /* too few, or protecting another cell */
	STORE_PULSE_CHANGED,     /* a team whose composition changed */
	STORE_PULSE_NONE         /* no answers */
} store_pulse_state;
typedef struct store_pulse_cell {
	int64_t unit_id, parent_id;   /* parent 0 = a root */
	int level;                    /* 0 team, 1 department, 2 organisation */
	char name[128];
	store_pulse_state state;
	/* 0 unless shown */
	int64_t n, promoters, passives, detractors;
	int64_t item_n[STORE_PULSE_ITEMS], item_sum[STORE_PULSE_ITEMS];
	bool comments;                /* shown and has comments to show */
	int min_group, min_group_comments; /* as at closing */
} store_pulse_cell;
typedef struct store_pulse_comment {
	int64_t unit_id;         /* the shown unit that shows it */
	const char *text;        /* borrowed */
} store_pulse_comment;
/* Write a closed wave's cells and comments and mark it finalised, in one
 * transaction; KS_OK without writing when it already is (a second closer
 * lost the race), KS_ERR_CONFLICT when the wave is still open. Figures of
 * cells not shown are written as 0 whatever the caller passes. */
ks_err store_pulse_finalise(ks_store *s, int64_t wave_id, const store_pulse_cell *cells, size_t n,
			    const store_pulse_comment *comments, size_t n_comments, ks_error *e);
/* A finalised wave's cells by unit id; *out malloc'd (NULL when n = 0). */
ks_err store_pulse_cells_get(ks_store *s, int64_t wave_id, store_pulse_cell **out, size_t *n, ks_error *e);
/* A finalised wave's comments of a unit, in their stored random order: a
 * new JSON array of strings. */
ks_err store_pulse_cell_comments(ks_store *s, int64_t wave_id, int64_t unit_id, json_t **out, ks_error *e);
/* Closed waves not yet finalised, ascending; *ids malloc'd. */
ks_err store_pulse_unfinalised(ks_store *s, int64_t **ids, size_t *n, ks_error *e);

/* ---- the demo (src/demo/demo_pulse.c) ---- */
/* Active employees with an e-mail address and their teams, by id; *emp and
 * *team malloc'd (caller frees both). */
ks_err store_pulse_staff(ks_store *s, int64_t **emp, int64_t **team, size_t *n, ks_error *e);
typedef struct store_pulse_demo_answer {
	int64_t team_id;
	store_pulse_answer a;
} store_pulse_demo_answer;
/* A past wave as a real one would have left it, in one transaction: opened
 * at opened_at, open open_days, closed when closed (the caller then
 * finalises it); an invitation per employees[i] in teams[i] (sent at
 * opened_at), the wave's teams, and the answers (random ids, no link to
 * the invitations, as always). *wave_id the new wave. */
ks_err store_pulse_demo_wave(ks_store *s, int64_t opened_at, int open_days, bool closed, const int64_t *employees,
			     const int64_t *teams, size_t n_inv, const store_pulse_demo_answer *answers, size_t n_ans,
			     int64_t *wave_id, ks_error *e);

#endif
