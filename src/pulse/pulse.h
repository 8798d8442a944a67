/* pulse.h — the employee engagement pulse (eNPS): anonymity rules and
 * results (issue 17, part P).
 *
 * A pulse answer carries no employee, no invitation and no time finer than
 * its wave (migration 026, docs/PRIVACY.md "Employee pulse"), so every
 * figure here is a count over a wave × org unit. Results of a wave are
 * computed once, when it closes, from the whole org tree of that moment,
 * suppressed together (src/disclose/suppress.h) and written to the store
 * (pulse_wave_finalise); readers get those rows (pulse_result_load), cut to
 * their scope. So: nothing of an open wave can be read (no before/after a
 * colleague answered), two requests with different scopes see the same
 * hidden cells, and a reorganisation after the close does not re-cut a
 * past wave.
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

/* ---- results of one wave -------------------------------------------------- */

/* One org unit's figures in a wave. Counts are over the unit and every unit
 * below it (an answer carries the answerer's unit at the time). */
typedef struct pulse_cell {
	int64_t unit_id, parent_id;   /* parent 0 = a root */
	int level;                    /* PULSE_LEVEL_*, from org_units.kind */
	char name[128];
	int64_t n, promoters, passives, detractors;
	int64_t item_n[STORE_PULSE_ITEMS], item_sum[STORE_PULSE_ITEMS];
	/* after suppression: figures may not be printed (n < min group, or
	 * chosen to protect another cell of a line) */
	bool hidden;
	/* hidden because someone joined the team shortly before the wave
	 * opened (pulse_wave_teams) */
	bool changed;
	/* comments may be printed here: shown, n >= min_group_comments, and a
	 * comment source (below) within it */
	bool comments;
	/* this unit's own answers' comments may be pooled into a shown unit
	 * above (or here): the answers' own cell is shown and has
	 * n >= min_group_comments */
	bool comment_source;
} pulse_cell;

typedef struct pulse_result {
	int64_t wave_id;
	int min_group, min_group_comments;
	int n_items;                  /* the wave's engagement items (2 or 3) */
	size_t n;
	pulse_cell *cells;            /* one per org unit, ascending id; owned */
} pulse_result;

/* The whole tree's figures of a wave from its answers, with primary and
 * complementary suppression over the lines unit = sum of its children (and
 * its own answers, when a unit above a team holds some) and teams of
 * changed composition hidden — always the whole tree. Only
 * pulse_wave_finalise (at closing) calls it; readers use
 * pulse_result_load. KS_ERR_NOTFOUND for an unknown wave. out:
 * pulse_result_free. */
ks_err pulse_result_compute(ks_store *s, int64_t wave_id, pulse_result *out, ks_error *e);
/* Write a closed wave's result and comments once (store_pulse_finalise);
 * a finalised wave is left as it is. KS_ERR_CONFLICT for an open wave. */
ks_err pulse_wave_finalise(ks_store *s, int64_t wave_id, ks_error *e);
/* Close a wave and finalise it. KS_ERR_NOTFOUND. */
ks_err pulse_wave_close(ks_store *s, int64_t wave_id, ks_error *e);
/* The scheduler's pulse step: store_pulse_schedule, then finalise every
 * closed wave not yet finalised. *opened as store_pulse_schedule. */
ks_err pulse_schedule(ks_store *s, int64_t now, int64_t *opened, ks_error *e);
/* A closed wave's stored result (finalising it first if a crash left it
 * closed but not finalised): cells as at closing, comment_source false.
 * KS_ERR_CONFLICT while the wave is open: nothing of an open wave is
 * computed. KS_ERR_NOTFOUND. out: pulse_result_free. */
ks_err pulse_result_load(ks_store *s, int64_t wave_id, pulse_result *out, ks_error *e);
void pulse_result_free(pulse_result *r);
/* The cell of unit_id, or NULL. */
const pulse_cell *pulse_result_cell(const pulse_result *r, int64_t unit_id);
/* Is unit within ancestor (itself included)? */
bool pulse_result_within(const pulse_result *r, int64_t unit, int64_t ancestor);

/* eNPS of counts: 100 (P - D) / n with the adjusted-Wald 95% interval of
 * src/metrics (metrics_nps_adjusted_wald; docs/STATISTICS.md §2). */
typedef struct pulse_enps { double value, low, high; } pulse_enps;
void pulse_enps_of(int64_t promoters, int64_t detractors, int64_t n, pulse_enps *out);

/* The comments of a shown unit of a loaded result (its comments true), as
 * written at closing in a random order: a new JSON array; an empty one
 * when the unit may not show comments. */
ks_err pulse_result_comments(ks_store *s, const pulse_result *r, int64_t unit_id, json_t **out, ks_error *e);

/* eNPS per unit (team/department/organisation) × month of the wave's opening, only cells with
 * >= the configured min group (default 5, never below 3) respondents and passing the pulse's
 * complementary suppression; others present=false (with n 0 and value 0: a hidden cell's
 * count is what the suppression protects). Same gov_cell shape.
 * from/to: 'YYYY-MM' inclusive (NULL = unbounded). Open waves are skipped
 * (nothing is computed before a wave closes). A month with two waves
 * takes the later closed wave. Out arrays are parallel, n long, sorted by unit
 * then period; the caller frees each with free() (all NULL when n = 0). */
ks_err pulse_enps_cells(ks_store *s, int level, const char *from, const char *to,
                        /* out: parallel arrays, caller frees with free() */
                        int64_t **unit_ids, char (**periods)[8], gov_cell **cells, size_t *n, ks_error *e);

#endif
