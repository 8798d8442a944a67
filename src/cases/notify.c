/* notify.c — see notify.h. */
#include "cases/notify.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "invite/rules.h"

static bool notify_en(const cases_mail_input *in)
{
	return in->lang && strcmp(in->lang, "en") == 0;
}

static const char *notify_or(const char *s, const char *dflt)
{
	return s && s[0] ? s : dflt;
}

/* "2026-11-27 15:00" on the Amsterdam wall clock: the people reading it
 * work there. */
static void notify_local(int64_t t, char *out, size_t n)
{
	time_t local = (time_t)(t + invite_amsterdam_offset(t));
	struct tm tm;
	gmtime_r(&local, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

/* The facts block every staff mail carries. */
static ks_err notify_facts(const cases_mail_input *in, bool en, ks_buf *text)
{
	char when[32] = "";
	if (in->deadline)
		notify_local(in->deadline, when, sizeof when);
	ks_err err = buf_printf(text, "%s: %s\n%s: %s\n", en ? "Customer" : "Klant",
				notify_or(in->customer_name, en ? "(unknown)" : "(onbekend)"),
				en ? "Reason" : "Reden", notify_or(in->reason, "-"));
	if (!err && in->team_name)
		err = buf_printf(text, "%s: %s\n", "Team", in->team_name);
	if (!err)
		err = buf_printf(text, "%s: %s\n", en ? "Owner" : "Eigenaar",
				 notify_or(in->owner_name, en ? "the team's queue" : "de wachtrij van het team"));
	if (!err && when[0])
		err = buf_printf(text, "%s: %s (%s)\n", en ? "Deadline" : "Deadline", when,
				 en ? "Amsterdam time" : "Nederlandse tijd");
	if (!err && in->open_text && in->open_text[0])
		err = buf_printf(text, "\n%s:\n\"%s\"\n", en ? "The customer wrote" : "De klant schreef",
				 in->open_text);
	if (!err)
		err = buf_printf(text, "\n%s: %s/#/case/%lld\n", en ? "Open the case" : "Open de case",
				 notify_or(in->base_url, ""), (long long)in->case_id);
	return err;
}

static ks_err notify_opened(const cases_mail_input *in, bool en, ks_buf *subject, ks_buf *text)
{
	ks_err err = buf_printf(subject, en ? "New case #%lld: %s" : "Nieuwe case #%lld: %s",
				(long long)in->case_id, notify_or(in->reason, "-"));
	if (!err)
		err = buf_puts(text, en ? "A customer needs a call back. A case was opened:\n\n"
					: "Een klant wil teruggebeld worden. Er is een case geopend:\n\n");
	if (!err)
		err = notify_facts(in, en, text);
	if (!err)
		err = buf_puts(text, en ? "\nCall the customer before the deadline, listen first, and note"
					  " what you agreed.\n"
					: "\nBel de klant voor de deadline, luister eerst, en noteer wat u"
					  " afspreekt.\n");
	return err;
}

static ks_err notify_overdue(const cases_mail_input *in, bool en, ks_buf *subject, ks_buf *text)
{
	ks_err err = buf_printf(subject, en ? "Case #%lld is past its deadline"
					    : "Case #%lld is over de deadline",
				(long long)in->case_id);
	if (!err)
		err = buf_puts(text, en ? "This case has not been followed up in time. Could you help the"
					  " owner get it done?\n\n"
					: "Deze case is niet op tijd opgepakt. Wilt u de eigenaar helpen"
					  " hem af te ronden?\n\n");
	if (!err)
		err = notify_facts(in, en, text);
	return err;
}

/* The handler's message as rendered by cases/message.h (greeting and
 * signature are theirs): sent as it is, nothing added around it. */
static ks_err notify_customer(const cases_mail_input *in, bool en, ks_buf *subject, ks_buf *text)
{
	if (in->customer_message == NULL || in->customer_message[0] == '\0')
		return KS_ERR_INVALID;
	const char *org = notify_or(in->org_name, "klantstem");
	ks_err err = buf_printf(subject, en ? "Your feedback to %s" : "Uw feedback aan %s", org);
	return err ? err : buf_puts(text, in->customer_message);
}

ks_err cases_digest_build(const char *lang, const char *base_url, const cases_digest_item *items, size_t n,
			  ks_buf *subject, ks_buf *text)
{
	bool en = lang && strcmp(lang, "en") == 0;
	const char *base = notify_or(base_url, "");
	ks_err err = n == 1 ? buf_puts(subject, en ? "1 case is past its deadline" : "1 case is over de deadline")
			    : buf_printf(subject, en ? "%zu cases are past their deadline"
						     : "%zu cases zijn over de deadline", n);
	if (!err)
		err = buf_puts(text, en ? "These cases were not followed up in time. Could you help their"
					  " owners get them done?\n\n"
					: "Deze cases zijn niet op tijd opgepakt. Wilt u de eigenaren helpen"
					  " ze af te ronden?\n\n");
	for (size_t i = 0; !err && i < n; i++) {
		char when[32] = "";
		if (items[i].deadline)
			notify_local(items[i].deadline, when, sizeof when);
		err = buf_printf(text, "- #%lld %s: %s", (long long)items[i].case_id,
				 notify_or(items[i].customer_name, en ? "(unknown)" : "(onbekend)"),
				 notify_or(items[i].reason, "-"));
		if (!err && items[i].team_name && items[i].team_name[0])
			err = buf_printf(text, " (%s)", items[i].team_name);
		if (!err && when[0])
			err = buf_printf(text, ", deadline %s", when);
		if (!err)
			err = buf_printf(text, "\n  %s/#/case/%lld\n", base, (long long)items[i].case_id);
	}
	if (!err)
		err = buf_printf(text, "\n%s: %s/#/cases?inbox=me\n", en ? "Your inbox" : "Uw inbox", base);
	return err;
}

ks_err cases_mail_build(const cases_mail_input *in, ks_buf *subject, ks_buf *text)
{
	bool en = notify_en(in);
	if (in->kind == NULL)
		return KS_ERR_INVALID;
	if (strcmp(in->kind, "opened") == 0)
		return notify_opened(in, en, subject, text);
	if (strcmp(in->kind, "overdue") == 0)
		return notify_overdue(in, en, subject, text);
	if (strcmp(in->kind, "customer") == 0)
		return notify_customer(in, en, subject, text);
	return KS_ERR_INVALID;
}
