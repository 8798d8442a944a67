/* message.c — see message.h. */
#include "cases/message.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char msg_template_nl[] = "Beste {customer_name},\n\n\n\nMet vriendelijke groet,\n"
				      "{employee_name}\n{organisation}";
static const char msg_template_en[] = "Dear {customer_name},\n\n\n\nKind regards,\n"
				      "{employee_name}\n{organisation}";

static bool msg_en(const char *lang)
{
	return lang && strcmp(lang, "en") == 0;
}

const char *cases_msg_template(const char *lang)
{
	return msg_en(lang) ? msg_template_en : msg_template_nl;
}

/* The template with only white space changed counts as untouched. */
static bool msg_same_words(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n')
			a++;
		while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (*a++ != *b++)
			return false;
	}
}

/* The value of placeholder name (len n); *known false for another name. */
static const char *msg_value(const cases_msg_vars *v, const char *name, size_t n, bool *known)
{
	*known = true;
	if (n == 13 && memcmp(name, "customer_name", n) == 0)
		return v->customer_name && v->customer_name[0] ? v->customer_name
							       : msg_en(v->lang) ? "customer" : "klant";
	if (n == 13 && memcmp(name, "employee_name", n) == 0)
		return v->employee_name;
	if (n == 12 && memcmp(name, "organisation", n) == 0)
		return v->organisation;
	*known = false;
	return NULL;
}

ks_err cases_msg_render(const char *text, const cases_msg_vars *v, ks_buf *out, char *why, size_t why_n,
			const char **why_code)
{
	if (why_code)
		*why_code = NULL;
	if (why_n)
		why[0] = '\0';
	const char *code = NULL;
	if (strstr(text, "\xe2\x80\xa6")) { /* U+2026, the suggestion's "…" */
		code = "ellipsis";
		snprintf(why, why_n, "%s", msg_en(v->ui_lang) ? "replace the \xe2\x80\xa6 with your own words"
							    : "vervang de \xe2\x80\xa6 door uw eigen woorden");
	} else if (msg_same_words(text, msg_template_nl) || msg_same_words(text, msg_template_en)) {
		code = "unedited";
		snprintf(why, why_n, "%s", msg_en(v->ui_lang) ? "write your message to the customer"
							    : "schrijf uw bericht aan de klant");
	}
	if (code) {
		if (why_code)
			*why_code = code;
		return KS_ERR_INVALID;
	}
	ks_err err = KS_OK;
	const char *p = text;
	while (!err && *p) {
		const char *open = strchr(p, '{');
		const char *close = open ? strchr(open + 1, '}') : NULL;
		size_t n = close ? (size_t)(close - open - 1) : 0;
		bool word = close && n > 0 && strspn(open + 1, "abcdefghijklmnopqrstuvwxyz_") == n;
		if (!word) { /* no placeholder here: copy up to and including the brace */
			size_t upto = open ? (size_t)(open - p) + 1 : strlen(p);
			err = buf_append(out, p, upto);
			p += upto;
			continue;
		}
		bool known = false;
		const char *val = msg_value(v, open + 1, n, &known);
		if (!known || val == NULL || val[0] == '\0') {
			if (why_code)
				*why_code = known ? "empty_placeholder" : "unknown_placeholder";
			bool en = msg_en(v->ui_lang);
			if (known)
				snprintf(why, why_n,
					 en ? "{%.*s} has no value here: write it out"
					    : "{%.*s} heeft hier geen waarde: schrijf het uit",
					 (int)n, open + 1);
			else
				snprintf(why, why_n,
					 en ? "{%.*s} is not a placeholder: use {customer_name}, {employee_name} or"
					      " {organisation}"
					    : "{%.*s} is geen invulveld: gebruik {customer_name}, {employee_name} of"
					      " {organisation}",
					 (int)n, open + 1);
			return KS_ERR_INVALID;
		}
		err = buf_append(out, p, (size_t)(open - p));
		if (!err)
			err = buf_puts(out, val);
		p = close + 1;
	}
	return err;
}
