/* sla.h — case deadlines and the numbers of the SLA views.
 *
 * Owner: src/cases/sla.c. Pure functions: no I/O, no clock, no allocation.
 * Times are unix seconds (UTC); "working days" are Monday to Friday on the
 * Europe/Amsterdam wall clock (invite_amsterdam_offset), public holidays
 * are not known and count as working days.
 */
#ifndef KS_CASES_SLA_H
#define KS_CASES_SLA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The deadline of a case opened at start with an SLA of hours. With
 * working_days, only hours on Monday to Friday count: a case opened on
 * Friday 15:00 with 48 hours is due Tuesday 15:00, one opened on Saturday
 * is due as if opened on Monday 00:00. hours <= 0 gives start. */
int64_t cases_deadline(int64_t start, int hours, bool working_days);

/* The p-quantile (0 <= p <= 1) of n sorted values by linear interpolation
 * between order statistics: Hyndman & Fan (1996), "Sample quantiles in
 * statistical packages", definition 7 (R's default, numpy's "linear",
 * Python's statistics.quantiles(method="inclusive")):
 *   h = (n - 1) p,  Q(p) = x[floor(h)] + (h - floor(h)) (x[floor(h)+1] - x[floor(h)])
 * with x zero-based. n must be > 0. */
double cases_quantile(const double *sorted, size_t n, double p);

#endif
