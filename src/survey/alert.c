/* alert.c — the burst alert mail. See alert.h. */
#include "survey/alert.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"

#define ALERT_BATCH 16

ks_err guard_alert_build(const guard_alert_input *in, ks_buf *subject, ks_buf *text)
{
	bool en = in->lang && strcmp(in->lang, "en") == 0;
	const char *tp = in->touchpoint_name && in->touchpoint_name[0] ? in->touchpoint_name : "?";
	char when[32];
	clock_format_iso(in->started_at, when, sizeof when);
	ks_err err = buf_printf(subject, en ? "[%s] Burst of answers on the open link of %s"
					    : "[%s] Golf antwoorden op de open link van %s",
				in->org_name ? in->org_name : "Klantstem", tp);
	if (!err)
		err = buf_printf(text,
				 en ? "Since %s the open link of touchpoint \"%s\" receives far more answers "
				      "than usual (burst %lld, %lld answers held so far).\n\n"
				      "These answers are stored but held: they count in no figure, funnel or "
				      "alert until an admin accepts them. Review them and accept or reject "
				      "them here:\n\n  %s/#/suspect\n\n"
				      "You get this mail once per burst.\n"
				    : "Sinds %s krijgt de open link van contactmoment \"%s\" veel meer "
				      "antwoorden dan gewoonlijk (golf %lld, tot nu toe %lld antwoorden "
				      "vastgehouden).\n\n"
				      "Deze antwoorden zijn opgeslagen maar tellen nergens mee (geen cijfer, "
				      "trechter of signaal) tot een beheerder ze accepteert. Bekijk ze en "
				      "accepteer of verwerp ze hier:\n\n  %s/#/suspect\n\n"
				      "Je krijgt deze mail een keer per golf.\n",
				 when, tp, (long long)in->burst_id, (long long)in->held,
				 in->base_url ? in->base_url : "");
	return err;
}

static mail_outcome guard_alert_send(const store_guard_mail_job *j, const mail_config *mc,
				     const char *base_url, const char *org_name, int64_t now,
				     char *detail, size_t n)
{
	guard_alert_input in = {.lang = j->language, .burst_id = j->burst_id,
				.touchpoint_name = j->touchpoint_name, .started_at = j->started_at,
				.held = j->held, .base_url = base_url, .org_name = org_name};
	ks_buf subject, text, msg;
	buf_init(&subject, 1024);
	buf_init(&text, 16 * 1024);
	buf_init(&msg, 64 * 1024);
	mail_outcome outcome = MAIL_PERMFAIL;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = guard_alert_build(&in, &subject, &text);
	if (!err) {
		mail_message m = {.to = j->to_email, .subject = subject.data, .text = text.data,
				  .message_id = j->message_id};
		err = mail_message_check(mc, &m, &e);
		if (!err)
			err = mail_compose(mc, &m, now, &msg);
	}
	if (err)
		snprintf(detail, n, "cannot compose: %.200s", e.message[0] ? e.message : ks_strerror(err));
	else
		mail_send(mc, j->to_email, &msg, &outcome, detail, n);
	buf_free(&subject);
	buf_free(&text);
	buf_free(&msg);
	return outcome;
}

ks_err guard_alert_pass(ks_store *s, const mail_config *mc, const char *base_url,
			const char *org_name, int64_t now, int *sent, int *failed, ks_error *e)
{
	store_guard_mail_job jobs[ALERT_BATCH];
	ks_err err = KS_OK;
	for (int round = 0; !err && round < 100; round++) {
		int n = 0;
		err = store_guard_mail_claim(s, now, jobs, ALERT_BATCH, &n, e);
		if (err || n == 0)
			break;
		for (int i = 0; !err && i < n; i++) {
			char detail[256] = "";
			mail_outcome o = guard_alert_send(&jobs[i], mc, base_url, org_name, now, detail,
							  sizeof detail);
			*(o == MAIL_SENT ? sent : failed) += o != MAIL_TEMPFAIL;
			err = store_guard_mail_record(s, &jobs[i],
						      o == MAIL_SENT ? STORE_SEND_OK
						      : o == MAIL_TEMPFAIL ? STORE_SEND_RETRY
									   : STORE_SEND_GIVE_UP,
						      detail, now, e);
		}
	}
	return err;
}
