/* sla.c — see sla.h. */
#include "cases/sla.h"

#include "invite/rules.h"

#define SLA_HOUR 3600
#define SLA_DAY 86400

static int64_t sla_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Day of the week of a local day number (days since 1970-01-01, a
 * Thursday): 0 = Monday ... 6 = Sunday. */
static int sla_weekday(int64_t day)
{
	int64_t w = (day + 3) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

int64_t cases_deadline(int64_t start, int hours, bool working_days)
{
	if (hours <= 0)
		return start;
	if (!working_days)
		return start + (int64_t)hours * SLA_HOUR;
	/* Walk the local wall clock day by day, spending the remaining seconds
	 * on working days only, then read the result back as UTC. Local
	 * seconds keep the "same time of day" across a DST switch. */
	int64_t local = start + invite_amsterdam_offset(start);
	int64_t left = (int64_t)hours * SLA_HOUR;
	for (;;) {
		int64_t day = sla_floor_div(local, SLA_DAY);
		int64_t next_midnight = (day + 1) * SLA_DAY;
		if (sla_weekday(day) >= 5) {
			local = next_midnight;
			continue;
		}
		int64_t room = next_midnight - local;
		if (left <= room) {
			local += left;
			break;
		}
		left -= room;
		local = next_midnight;
	}
	return invite_utc_of_local(local);
}

double cases_quantile(const double *sorted, size_t n, double p)
{
	if (n == 1 || p <= 0)
		return sorted[0];
	if (p >= 1)
		return sorted[n - 1];
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)h;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}
