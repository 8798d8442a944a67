/* flow.c — see flow.h. */
#include "cases/flow.h"

#include <string.h>

static const char *const flow_all[] = {"new", "contacted", "resolved", "closed", NULL};

/* A fixed list, so the Pareto of root causes adds up across teams; "other"
 * with a note covers the rest. */
const char *const cases_root_causes[] = {"wait_time", "communication", "staff",   "product", "price",
					 "billing",   "delivery",      "process", "other",   NULL};

bool cases_status_known(const char *s)
{
	for (size_t i = 0; flow_all[i]; i++)
		if (strcmp(flow_all[i], s) == 0)
			return true;
	return false;
}

bool cases_status_open(const char *s)
{
	return strcmp(s, "new") == 0 || strcmp(s, "contacted") == 0;
}

bool cases_status_step(const char *from, const char *to, bool no_consent)
{
	if (strcmp(from, to) == 0)
		return true;
	if (strcmp(to, "new") == 0)
		return strcmp(from, "resolved") == 0 || strcmp(from, "closed") == 0;
	if (strcmp(from, "new") == 0)
		return no_consent ? strcmp(to, "resolved") == 0 : strcmp(to, "contacted") == 0;
	return (strcmp(from, "contacted") == 0 && strcmp(to, "resolved") == 0) ||
	       (strcmp(from, "resolved") == 0 && strcmp(to, "closed") == 0);
}

void cases_status_next(const char *from, bool no_consent, const char *out[5])
{
	size_t n = 0;
	for (size_t i = 0; flow_all[i]; i++)
		if (strcmp(flow_all[i], from) != 0 && cases_status_step(from, flow_all[i], no_consent))
			out[n++] = flow_all[i];
	out[n] = NULL;
}

bool cases_root_cause_known(const char *code)
{
	for (size_t i = 0; cases_root_causes[i]; i++)
		if (strcmp(cases_root_causes[i], code) == 0)
			return true;
	return false;
}
