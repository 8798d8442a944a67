/* pulse.h — the employee engagement pulse (eNPS): anonymity rules and
 * results (issue 17, part P).
 *
 * A pulse answer carries no employee, no invitation and no time finer than
 * its wave (migration 026, docs/PRIVACY.md "Employee pulse"), so every
 * figure here is a count over a wave × org unit. Results of a wave are
 * always computed from the whole org tree at once and suppressed together
 * (src/disclose/suppress.h), then filtered to the reader's scope: two
 * requests with different scopes see the same hidden cells and cannot be
 * differenced.
 */
#ifndef KS_PULSE_H
#define KS_PULSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

/* The governance series' cell (src/governance/series.h uses the same one:
 * whichever header comes first defines it). */
#ifndef KS_GOV_CELL_DEFINED
#define KS_GOV_CELL_DEFINED
typedef struct gov_cell { double value; int64_t n; bool present; } gov_cell; /* n: answers (soft) or 1 (hard) */
#endif

/* Levels of the fixed hierarchy, the same numbers as GOV_LEVEL_* of
 * src/governance/series.h. */
#define PULSE_LEVEL_TEAM 0
#define PULSE_LEVEL_DEPARTMENT 1
#define PULSE_LEVEL_ORGANISATION 2

/* eNPS per unit (team/department/organisation) × month of the wave's opening, only cells with
 * >= the configured min group (default 5, never below 3) respondents and passing the pulse's
 * complementary suppression; others present=false. Same gov_cell shape.
 * from/to: 'YYYY-MM' inclusive (NULL = unbounded). A month with two waves
 * takes the later wave. Out arrays are parallel, n long, sorted by unit
 * then period; the caller frees each with free() (all NULL when n = 0). */
ks_err pulse_enps_cells(ks_store *s, int level, const char *from, const char *to,
                        /* out: parallel arrays, caller frees with free() */
                        int64_t **unit_ids, char (**periods)[8], gov_cell **cells, size_t *n, ks_error *e);

#endif
