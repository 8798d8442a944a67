/* scheduler.c — see scheduler.h. */
#include "invite/scheduler.h"
#include "privacy/retention.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cases/notify.h"
#include "survey/alert.h"
#include "coach/compliment.h" /* coaching (issue 13) */
#include "invite/message.h"
#include "invite/webhook.h"
#include "pulse/pulse.h"      /* employee pulse (issue 17 P) */
#include "pulse/pulse_page.h" /* employee pulse (issue 17 P) */

#define SCHED_BATCH 32
#define SCHED_MAX_PER_PASS 5000

struct invite_scheduler {
	ks_store *store;
	invite_config cfg;
	const ks_clock *clock;
	pthread_mutex_t pass_mu;   /* one pass at a time */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	bool background;
	pthread_t thread;
	int recovered;
	invite_pass_hook hook;     /* issue 17 (D): digests; NULL = none */
	void *hook_arg;
	/* issue 18 (ops): monotonic ms when the last pass ended (the start
	 * until then), for /readyz and the scheduler-lag metric; also moved
	 * on when a pass begins and by each message or webhook a pass
	 * finishes (sched_beat) */
	_Atomic int64_t last_pass_ms;
};

/* issue 18 (ops) review: a heartbeat per item, so that a long pass that
 * makes progress (a thousand invitations to a slow relay) does not read
 * as stalled; one stuck on a single item still does. */
static void sched_beat(invite_scheduler *sc)
{
	atomic_store(&sc->last_pass_ms, clock_mono_ms());
}

/* The survey's NPS question in the customer's language, for the one-click
 * scale in the mail. */
static void sched_nps_question(invite_scheduler *sc, const store_invite_job *j, char *out, size_t n)
{
	out[0] = '\0';
	model_survey *s = malloc(sizeof *s);
	if (s == NULL || j->survey_id == 0 || store_survey_get(sc->store, j->survey_id, s, NULL) != KS_OK) {
		free(s);
		return;
	}
	for (int i = 0; i < s->n_questions; i++)
		if (s->q[i].type == MODEL_Q_NPS)
			snprintf(out, n, "%s", strcmp(j->language, "en") == 0 ? s->q[i].text_en : s->q[i].text_nl);
	free(s);
}

static ks_err sched_compose(invite_scheduler *sc, const store_invite_job *j, int64_t now, ks_buf *msg,
			    ks_error *e)
{
	char question[320];
	sched_nps_question(sc, j, question, sizeof question);
	invite_message_input in = {
		.lang = j->language, .base_url = sc->cfg.base_url, .token = j->token,
		.unsubscribe_token = j->unsubscribe_token,
		.customer_name = j->customer_name[0] ? j->customer_name : NULL,
		.employee_first_name = j->employee_first_name[0] ? j->employee_first_name : NULL,
		.touchpoint_name = j->touchpoint_name, .nps_question = question[0] ? question : NULL,
		.org_name = j->org_name[0] ? j->org_name : sc->cfg.org_name, .reminder = j->reminder,
		.formal = j->formal, .logo = j->logo, .relationship = j->relationship};  /* issue 13: the organisation's voice */
	ks_buf subject, text, html;
	buf_init(&subject, 1024);
	buf_init(&text, 64 * 1024);
	buf_init(&html, 256 * 1024);
	char survey_url[512], unsub_url[512];
	invite_message_urls(sc->cfg.base_url, j->token, j->unsubscribe_token, survey_url,
			    sizeof survey_url, unsub_url, sizeof unsub_url);
	ks_err err = invite_message_build(&in, &subject, &text, &html);
	if (!err) {
		mail_message m = {.to = j->email, .subject = subject.data, .text = text.data,
				  .html = html.data, .message_id = j->message_id,
				  .list_unsubscribe_url = unsub_url};
		err = mail_message_check(&sc->cfg.mail, &m, e);
		if (!err)
			err = mail_compose(&sc->cfg.mail, &m, now, msg);
	} else {
		ks_fail(e, err, NULL, "cannot build the invitation text");
	}
	buf_free(&subject);
	buf_free(&text);
	buf_free(&html);
	return err;
}

/* Send a composed message to to, or, when composing failed (composed is
 * not KS_OK: a malformed address, say), count it a permanent failure of
 * that one message, not of the pass. detail gets the reason. Frees msg. */
static mail_outcome sched_deliver(invite_scheduler *sc, const char *to, ks_err composed,
				  const ks_error *ce, ks_buf *msg, char *detail, size_t n)
{
	mail_outcome outcome = MAIL_PERMFAIL;
	detail[0] = '\0';
	if (composed == KS_OK)
		mail_send(&sc->cfg.mail, to, msg, &outcome, detail, n);
	else
		snprintf(detail, n, "cannot compose: %.200s", ce->message);
	buf_free(msg);
	sched_beat(sc); /* issue 18 (ops) review */
	return outcome;
}

static store_send_outcome sched_store_outcome(mail_outcome o)
{
	return o == MAIL_SENT ? STORE_SEND_OK : o == MAIL_TEMPFAIL ? STORE_SEND_RETRY : STORE_SEND_GIVE_UP;
}

/* Send one claimed job and record what happened. */
static ks_err sched_send(invite_scheduler *sc, const store_invite_job *j, int64_t now,
			 invite_pass_stats *st, ks_error *e)
{
	ks_buf msg;
	buf_init(&msg, 1024 * 1024);
	ks_error ce;
	ks_error_clear(&ce);
	char detail[256];
	ks_err composed = sched_compose(sc, j, now, &msg, &ce);
	mail_outcome outcome = sched_deliver(sc, j->email, composed, &ce, &msg, detail, sizeof detail);
	store_send_outcome so = sched_store_outcome(outcome);
	if (outcome == MAIL_SENT)
		(*(j->reminder ? &st->reminders : &st->sent))++;
	else if (outcome == MAIL_TEMPFAIL)
		st->retried++;
	else
		st->failed++;
	return store_invite_record(sc->store, j, so, detail, now, e);
}

static ks_err sched_mail_pass(invite_scheduler *sc, int64_t now, invite_pass_stats *st, ks_error *e)
{
	store_invite_job *jobs = calloc(SCHED_BATCH, sizeof *jobs);
	if (jobs == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = KS_OK;
	for (int done = 0; !err && done < SCHED_MAX_PER_PASS;) {
		int n = 0;
		err = store_invite_claim(sc->store, now, jobs, SCHED_BATCH, &n, e);
		if (err || n == 0)
			break;
		for (int i = 0; !err && i < n; i++)
			err = sched_send(sc, &jobs[i], now, st, e);
		done += n;
	}
	free(jobs);
	return err;
}

/* ---- case mails (issue 6): the same SMTP path, plain text ---------------------------- */

static ks_err sched_case_compose(invite_scheduler *sc, const store_case_mail_job *j, int64_t now,
				 ks_buf *msg, ks_error *e)
{
	cases_mail_input in = {
		.kind = j->kind, .lang = j->language, .case_id = j->case_id, .reason = j->reason,
		.customer_name = j->customer_name, .team_name = j->team_name[0] ? j->team_name : NULL,
		.owner_name = j->owner_name[0] ? j->owner_name : NULL, .deadline = j->deadline,
		.open_text = j->open_text, .customer_message = j->customer_message,
		.base_url = sc->cfg.base_url, .org_name = sc->cfg.org_name};
	ks_buf subject, text;
	buf_init(&subject, 2048);
	buf_init(&text, 64 * 1024);
	ks_err err = cases_mail_build(&in, &subject, &text);
	if (err) {
		ks_fail(e, err, NULL, "cannot build the %s mail of case %lld", j->kind, (long long)j->case_id);
	} else {
		mail_message m = {.to = j->to_email, .subject = subject.data, .text = text.data,
				  .message_id = j->message_id};
		err = mail_message_check(&sc->cfg.mail, &m, e);
		if (!err)
			err = mail_compose(&sc->cfg.mail, &m, now, msg);
	}
	buf_free(&subject);
	buf_free(&text);
	return err;
}

static ks_err sched_case_send(invite_scheduler *sc, const store_case_mail_job *j, int64_t now,
			      invite_pass_stats *st, ks_error *e)
{
	ks_buf msg;
	buf_init(&msg, 1024 * 1024);
	ks_error ce;
	ks_error_clear(&ce);
	char detail[256];
	ks_err composed = sched_case_compose(sc, j, now, &msg, &ce);
	mail_outcome outcome = sched_deliver(sc, j->to_email, composed, &ce, &msg, detail, sizeof detail);
	if (outcome == MAIL_SENT)
		st->case_mails_sent++;
	else if (outcome == MAIL_PERMFAIL)
		st->case_mails_failed++;
	return store_case_mail_record(sc->store, j, sched_store_outcome(outcome), detail, now, e);
}

/* ---- digests (issue 13): one mail per person per pass ------------------------------- */

static ks_err sched_digest_compose(invite_scheduler *sc, const store_case_digest_job *j, int64_t now,
				   ks_buf *msg, ks_error *e)
{
	size_t n = json_array_size(j->cases);
	cases_digest_item *items = calloc(n ? n : 1, sizeof *items);
	if (items == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(j->cases, i);
		items[i] = (cases_digest_item){
			.case_id = json_integer_value(json_object_get(c, "case_id")),
			.customer_name = json_string_value(json_object_get(c, "customer_name")),
			.reason = json_string_value(json_object_get(c, "reason")),
			.team_name = json_string_value(json_object_get(c, "team_name")),
			.deadline = json_integer_value(json_object_get(c, "deadline"))};
	}
	ks_buf subject, text;
	buf_init(&subject, 2048);
	buf_init(&text, 256 * 1024);
	ks_err err = cases_digest_build(j->language, sc->cfg.base_url, items, n, &subject, &text);
	if (err) {
		ks_fail(e, err, NULL, "cannot build the digest to %s", j->to_email);
	} else {
		mail_message m = {.to = j->to_email, .subject = subject.data, .text = text.data,
				  .message_id = j->message_id};
		err = mail_message_check(&sc->cfg.mail, &m, e);
		if (!err)
			err = mail_compose(&sc->cfg.mail, &m, now, msg);
	}
	free(items);
	buf_free(&subject);
	buf_free(&text);
	return err;
}

static ks_err sched_digest_pass(invite_scheduler *sc, int64_t now, invite_pass_stats *st, ks_error *e)
{
	ks_err err = store_case_digest_bundle(sc->store, now, e);
	store_case_digest_job jobs[SCHED_BATCH];
	for (int done = 0; !err && done < SCHED_MAX_PER_PASS;) {
		int n = 0;
		err = store_case_digest_claim(sc->store, now, jobs, SCHED_BATCH, &n, e);
		if (err || n == 0)
			break;
		for (int i = 0; i < n; i++) {
			if (!err && json_array_size(jobs[i].cases) == 0) {
				/* its cases were erased meanwhile: nothing left to tell */
				err = store_case_digest_record(sc->store, &jobs[i], STORE_SEND_GIVE_UP,
							       "no cases left", now, e);
			} else if (!err) {
				ks_buf msg;
				buf_init(&msg, 1024 * 1024);
				ks_error ce;
				ks_error_clear(&ce);
				char detail[256];
				ks_err composed = sched_digest_compose(sc, &jobs[i], now, &msg, &ce);
				mail_outcome o = sched_deliver(sc, jobs[i].to_email, composed, &ce, &msg, detail,
							       sizeof detail);
				if (o == MAIL_SENT)
					st->case_mails_sent++;
				else if (o == MAIL_PERMFAIL)
					st->case_mails_failed++;
				err = store_case_digest_record(sc->store, &jobs[i], sched_store_outcome(o), detail,
							       now, e);
			}
			store_case_digest_job_clear(&jobs[i]);
		}
		done += n;
	}
	return err;
}

static ks_err sched_case_pass(invite_scheduler *sc, int64_t now, invite_pass_stats *st, ks_error *e)
{
	int escalated = 0;
	ks_err err = store_case_escalate(sc->store, now, &escalated, e);
	st->cases_escalated += escalated;
	if (err || !sc->cfg.mail_enabled)
		return err;
	/* the escalations go out as one digest per person (unless per case) */
	if (!sc->cfg.case_mail_per_case)
		err = sched_digest_pass(sc, now, st, e);
	store_case_mail_job jobs[SCHED_BATCH];
	for (int done = 0; !err && done < SCHED_MAX_PER_PASS;) {
		int n = 0;
		err = store_case_mail_claim(sc->store, now, jobs, SCHED_BATCH, &n, e);
		if (err || n == 0)
			break;
		for (int i = 0; i < n; i++) {
			if (!err)
				err = sched_case_send(sc, &jobs[i], now, st, e);
			store_case_mail_job_clear(&jobs[i]);
		}
		done += n;
	}
	return err;
}

static ks_err sched_webhook_pass(invite_scheduler *sc, int64_t now, invite_pass_stats *st, ks_error *e)
{
	store_webhook_job jobs[SCHED_BATCH];
	int n = 0;
	ks_err err = store_webhook_claim(sc->store, now, jobs, SCHED_BATCH, &n, e);
	for (int i = 0; i < n; i++) {
		int status = 0;
		char detail[256];
		ks_err rc = webhook_post(sc->cfg.webhook_url, sc->cfg.webhook_secret, jobs[i].event,
					 jobs[i].payload, now, 10, &status, detail, sizeof detail);
		(*(rc == KS_OK ? &st->webhooks_sent : &st->webhooks_failed))++;
		sched_beat(sc); /* issue 18 (ops) review */
		if (!err)
			err = store_webhook_record(sc->store, &jobs[i], rc == KS_OK, status, now, e);
		free(jobs[i].payload);
	}
	return err;
}

ks_err invite_scheduler_run(invite_scheduler *sc, invite_pass_stats *st, ks_error *e)
{
	pthread_mutex_lock(&sc->pass_mu);
	/* issue 18 (PG-BULK): a pass that begins is alive. Without this beat
	 * the time from the last pass's end to this pass's first sent message
	 * was the 1 s pause + the claims + one whole send: over 2 s with a
	 * 1 s relay (more on PostgreSQL, whose claims take longer), so a
	 * healthy long pass read as scheduler_stalled under
	 * --ready-scheduler-max 2. A pass stuck on one message still reads as
	 * stalled: no beat comes until it ends. */
	sched_beat(sc);
	int64_t now = clock_now(sc->clock);
	st->recovered += sc->recovered;
	sc->recovered = 0;
	ks_err err = KS_OK;
	/* issue 18 (NODES): on PostgreSQL the claims of nodes that are gone
	 * come back (at most once a minute), before this pass sends */
	int node_claims = 0;
	err = store_nodes_pass(sc->store, now, &node_claims, e);
	st->recovered += node_claims;
	if (node_claims)
		fprintf(stderr, "klantstem: scheduler: %d claims of stopped nodes back to pending\n", node_claims);
	if (sc->cfg.mail_enabled)
		err = sched_mail_pass(sc, now, st, e);
	if (!err)
		err = sched_case_pass(sc, now, st, e);
	/* open-link guard (issue 11): the admins' alert about a burst */
	if (!err && sc->cfg.mail_enabled) {
		int sent = 0, failed = 0;
		err = guard_alert_pass(sc->store, &sc->cfg.mail, sc->cfg.base_url, sc->cfg.org_name, now,
				       &sent, &failed, e);
		if (sent || failed)
			fprintf(stderr, "klantstem: scheduler: %d burst alerts sent, %d failed\n", sent,
				failed);
	}
	/* coaching (issue 13): a team lead's compliment, told to the employee */
	if (!err && sc->cfg.mail_enabled) {
		int sent = 0, failed = 0;
		err = coach_compliment_pass(sc->store, &sc->cfg.mail, sc->cfg.base_url, sc->cfg.org_name, now,
					    &sent, &failed, e);
		if (sent || failed)
			fprintf(stderr, "klantstem: scheduler: %d compliment mails sent, %d failed\n", sent,
				failed);
	}
	/* employee pulse (issue 17 P): close waves past their end (their
	 * results written once, pulse_schedule), open the cadence's next one,
	 * mail the invitations */
	if (!err) {
		int64_t opened = 0;
		err = pulse_schedule(sc->store, now, &opened, e);
		if (opened)
			fprintf(stderr, "klantstem: scheduler: pulse wave %lld opened\n", (long long)opened);
	}
	if (!err && sc->cfg.mail_enabled) {
		int sent = 0, failed = 0;
		err = pulse_mail_pass(sc->store, &sc->cfg.mail, sc->cfg.base_url, sc->cfg.org_name, now, &sent,
				      &failed, e);
		if (sent || failed)
			fprintf(stderr, "klantstem: scheduler: %d pulse invitations sent, %d failed\n", sent, failed);
	}
	/* end of employee pulse */
	if (!err && sc->cfg.webhook_url[0])
		err = sched_webhook_pass(sc, now, st, e);
	/* issue 17 (D): scheduled digests, queued once per period and sent */
	if (!err && sc->hook && sc->cfg.mail_enabled)
		err = sc->hook(sc->hook_arg, now, e);
	/* Expired sessions and long-expired API tokens (sqlite_auth.c). Not
	 * part of the pass's outcome: a failure waits for the next pass. */
	store_session_sweep(sc->store, now, NULL, NULL, NULL);
	/* Personal data past its retention (src/privacy/retention.c; hourly,
	 * reported on stderr, retried at the next pass). */
	retention_pass(sc->store, now, NULL);
	/* text (issue 14): a sentiment model older than text_retrain_days is
	 * retrained on the store's reanalysis thread (at most an hourly look) */
	store_text_schedule(sc->store, now);
	atomic_store(&sc->last_pass_ms, clock_mono_ms()); /* issue 18 (ops) */
	pthread_mutex_unlock(&sc->pass_mu);
	return err;
}

/* issue 18 (ops) */
bool invite_scheduler_last_pass(invite_scheduler *sc, int64_t *mono_ms)
{
	*mono_ms = atomic_load(&sc->last_pass_ms);
	return sc->background;
}

static void *sched_main(void *arg)
{
	invite_scheduler *sc = arg;
	pthread_mutex_lock(&sc->mu);
	while (!sc->stopping) {
		pthread_mutex_unlock(&sc->mu);
		invite_pass_stats st = {0};
		ks_error e;
		ks_error_clear(&e);
		if (invite_scheduler_run(sc, &st, &e) != KS_OK)
			fprintf(stderr, "klantstem: scheduler: %s\n", e.message);
		if (st.sent || st.reminders || st.retried || st.failed)
			fprintf(stderr, "klantstem: scheduler: %d sent, %d reminders, %d to retry, %d failed\n",
				st.sent, st.reminders, st.retried, st.failed);
		if (st.cases_escalated || st.case_mails_sent || st.case_mails_failed)
			fprintf(stderr, "klantstem: scheduler: %d cases escalated, %d case mails sent, %d failed\n",
				st.cases_escalated, st.case_mails_sent, st.case_mails_failed);
		pthread_mutex_lock(&sc->mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		if (!sc->stopping)
			pthread_cond_timedwait(&sc->cv, &sc->mu, &until);
	}
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

ks_err invite_scheduler_start(ks_store *store, const invite_config *cfg, const ks_clock *clock,
			      bool background, invite_scheduler **out, ks_error *e)
{
	invite_scheduler *sc = calloc(1, sizeof *sc);
	if (sc == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	sc->store = store;
	sc->cfg = *cfg;
	sc->clock = clock;
	atomic_store(&sc->last_pass_ms, clock_mono_ms()); /* issue 18 (ops) */
	pthread_mutex_init(&sc->pass_mu, NULL);
	pthread_mutex_init(&sc->mu, NULL);
	pthread_cond_init(&sc->cv, NULL);
	int case_mails = 0;
	ks_err err = store_invite_recover(store, &sc->recovered, e);
	if (!err)
		err = store_case_mail_recover(store, &case_mails, e);
	sc->recovered += case_mails;
	int pulse_mails = 0; /* employee pulse (issue 17 P) */
	if (!err)
		err = store_pulse_mail_recover(store, &pulse_mails, e);
	sc->recovered += pulse_mails;
	int guard_mails = 0; /* open-link guard (issue 11) */
	if (!err)
		err = store_guard_mail_recover(store, &guard_mails, e);
	sc->recovered += guard_mails;
	/* text (issue 14): the reanalysis thread, resuming a job a restart
	 * interrupted; it runs with a test clock too (it needs no time) */
	if (!err)
		err = store_text_jobs_start(store, e);
	if (!err && background) {
		if (pthread_create(&sc->thread, NULL, sched_main, sc) != 0)
			err = ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the scheduler thread");
		else
			sc->background = true;
	}
	if (err) {
		invite_scheduler_stop(sc);
		return err;
	}
	*out = sc;
	return KS_OK;
}

void invite_scheduler_set_hook(invite_scheduler *sc, invite_pass_hook fn, void *arg)
{
	pthread_mutex_lock(&sc->pass_mu);
	sc->hook = fn;
	sc->hook_arg = arg;
	pthread_mutex_unlock(&sc->pass_mu);
}

void invite_scheduler_stop(invite_scheduler *sc)
{
	if (sc == NULL)
		return;
	if (sc->background) {
		pthread_mutex_lock(&sc->mu);
		sc->stopping = true;
		pthread_cond_signal(&sc->cv);
		pthread_mutex_unlock(&sc->mu);
		pthread_join(sc->thread, NULL);
	}
	store_text_jobs_stop(sc->store); /* text (issue 14) */
	pthread_mutex_destroy(&sc->pass_mu);
	pthread_mutex_destroy(&sc->mu);
	pthread_cond_destroy(&sc->cv);
	free(sc);
}

json_t *invite_pass_stats_json(const invite_pass_stats *st)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "recovered",
			 st->recovered, "sent", st->sent, "reminders", st->reminders, "retried",
			 st->retried, "failed", st->failed, "webhooks_sent", st->webhooks_sent,
			 "webhooks_failed", st->webhooks_failed, "cases_escalated", st->cases_escalated,
			 "case_mails_sent", st->case_mails_sent, "case_mails_failed",
			 st->case_mails_failed);
}
