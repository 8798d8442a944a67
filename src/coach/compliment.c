/* compliment.c — the compliment mail. See compliment.h. */
#include "coach/compliment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPLIMENT_BATCH 8

ks_err coach_compliment_build(const coach_compliment_input *in, ks_buf *subject, ks_buf *text)
{
	bool en = in->lang && strcmp(in->lang, "en") == 0;
	const char *first = in->first_name && in->first_name[0] ? in->first_name : NULL;
	const char *from = in->from_name && in->from_name[0] ? in->from_name : (en ? "Your team lead" : "Je teamleider");
	ks_err err = buf_printf(subject, en ? "[%s] A compliment from %s" : "[%s] Een compliment van %s",
				in->org_name ? in->org_name : "Klantstem", from);
	if (!err)
		err = first ? buf_printf(text, en ? "Hello %s,\n\n" : "Hallo %s,\n\n", first)
			    : buf_printf(text, en ? "Hello,\n\n" : "Hallo,\n\n");
	if (!err)
		err = buf_printf(text, en ? "%s sends you a compliment for what a customer wrote about you:\n\n"
					  : "%s geeft je een compliment voor wat een klant over je schreef:\n\n",
				 from);
	if (!err)
		err = buf_printf(text, "  \"%s\"\n\n", in->open_text ? in->open_text : "");
	if (!err && in->note && in->note[0])
		err = buf_printf(text, en ? "%s adds: \"%s\"\n\n" : "%s schrijft erbij: \"%s\"\n\n", from, in->note);
	if (!err)
		err = buf_printf(text, en ? "You see it on your own dashboard too:\n\n  %s/#/me\n"
					  : "Je ziet het ook op je eigen dashboard:\n\n  %s/#/me\n",
				 in->base_url ? in->base_url : "");
	return err;
}

static mail_outcome coach_compliment_send(const store_compliment_job *j, const mail_config *mc,
					  const char *base_url, const char *org_name, int64_t now,
					  char *detail, size_t n)
{
	coach_compliment_input in = {.lang = j->language, .first_name = j->employee_first,
				     .from_name = j->from_name, .open_text = j->open_text, .note = j->note,
				     .base_url = base_url, .org_name = org_name};
	ks_buf subject, text, msg;
	buf_init(&subject, 1024);
	buf_init(&text, 32 * 1024);
	buf_init(&msg, 128 * 1024);
	mail_outcome outcome = MAIL_PERMFAIL;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = coach_compliment_build(&in, &subject, &text);
	if (!err && j->to_email[0] == '\0') {
		/* the address went since (erased, removed): nothing to send */
		snprintf(detail, n, "the employee has no e-mail address");
		buf_free(&subject);
		buf_free(&text);
		buf_free(&msg);
		return MAIL_PERMFAIL;
	}
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

ks_err coach_compliment_pass(ks_store *s, const mail_config *mc, const char *base_url, const char *org_name,
			     int64_t now, int *sent, int *failed, ks_error *e)
{
	/* the jobs hold the texts: on the heap, not the scheduler's stack */
	store_compliment_job *jobs = calloc(COMPLIMENT_BATCH, sizeof *jobs);
	if (jobs == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = KS_OK;
	for (int round = 0; !err && round < 100; round++) {
		int n = 0;
		err = store_compliment_mail_claim(s, now, jobs, COMPLIMENT_BATCH, &n, e);
		if (err || n == 0)
			break;
		for (int i = 0; !err && i < n; i++) {
			char detail[256] = "";
			mail_outcome o = coach_compliment_send(&jobs[i], mc, base_url, org_name, now, detail,
							       sizeof detail);
			*(o == MAIL_SENT ? sent : failed) += o != MAIL_TEMPFAIL;
			err = store_compliment_mail_record(s, &jobs[i],
							   o == MAIL_SENT ? STORE_SEND_OK
							   : o == MAIL_TEMPFAIL ? STORE_SEND_RETRY
										: STORE_SEND_GIVE_UP,
							   detail, now, e);
		}
	}
	free(jobs);
	return err;
}
