/* units.h — the org tree as the analytics index knows it, for callers that
 * reason about units (the disclosure-control layer). Thread-safe: each call
 * takes the index's read lock. */
#ifndef KS_AN_UNITS_H
#define KS_AN_UNITS_H

#include <stdint.h>

#include "analytics/analytics.h"

/* 'o' organisation, 'd' department, 't' team; 0 when the index does not
 * know the unit. */
char an_unit_kind(an_index *ix, int64_t unit_id);
/* The parent unit's id, 0 for the root or an unknown unit. */
int64_t an_unit_parent(an_index *ix, int64_t unit_id);

#endif
