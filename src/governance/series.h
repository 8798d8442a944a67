/* series.h — every KPI, soft or hard, as one table of org units × months
 * (issue 17, part K). What the governance page, the links statistics (L),
 * the report and exports (X) and the digests (D) read.
 *
 * Hard KPIs (kpis.key) come from kpi_values: a unit's own value for the
 * month, else — for a department or the organisation — the KPI's
 * aggregation (sum / mean / last) of the units directly below that have a
 * value (their own or aggregated, recursively). Soft KPIs are computed:
 *  - nps, grade, ces: the analytics index through disclosure control
 *    (dc_query grouped by the level's unit and local month, all time, cut
 *    at the policy's as_of), so a cell is shown exactly when
 *    GET /api/v1/metrics?group_by=<level>,month shows it — min-n per
 *    measure and the complementary suppression of the canonical table;
 *  - response_rate: invitations sent in the month (local month of sent_at)
 *    to the unit or below, the share completed; n = sent;
 *  - case_sla: cases opened in the month for the unit or below whose
 *    verdict is known (closed or resolved, or past the deadline as of
 *    as_of): the share closed or resolved by their deadline; n = those;
 *  - theme:<id>: analysed answers of the unit × month, the share that
 *    mentions the theme; n = analysed answers;
 *  - enps: the pulse's cells (src/pulse/pulse.h), its own anonymity rules.
 * Below min-n a soft cell is absent (present=false, value 0), never a
 * number. There is no employee level: nothing here is about one person.
 *
 * Thread safety: as the store and the index; no state of its own.
 */
#ifndef KS_GOVERNANCE_SERIES_H
#define KS_GOVERNANCE_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "analytics/analytics.h"
#include "core/error.h"
#include "disclose/disclose.h"
#include "store/store.h"

/* The same numbers as PULSE_LEVEL_* (src/pulse/pulse.h). */
#define GOV_LEVEL_TEAM 0
#define GOV_LEVEL_DEPARTMENT 1
#define GOV_LEVEL_ORGANISATION 2

/* Shared with pulse.h: whichever header comes first defines it. */
#ifndef KS_GOV_CELL_DEFINED
#define KS_GOV_CELL_DEFINED
typedef struct gov_cell { double value; int64_t n; bool present; } gov_cell; /* n: answers (soft) or 1 (hard) */
#endif

/* Longest series: ten years of months. */
#define GOV_MAX_PERIODS 120

typedef struct gov_series {
	char kpi[64];
	int level;                 /* GOV_LEVEL_TEAM | GOV_LEVEL_DEPARTMENT | GOV_LEVEL_ORGANISATION */
	size_t n_units, n_periods;
	int64_t *unit_ids;         /* n_units, ascending: every unit of the level */
	char (*periods)[8];        /* n_periods 'YYYY-MM', ascending, consecutive months */
	gov_cell *cells;           /* n_units * n_periods, row-major by unit */
} gov_series;

/* The series of kpi (a hard key or a soft key) at level for the months
 * from..to ('YYYY-MM', inclusive, at most GOV_MAX_PERIODS). Soft cells
 * under the default policy: min-n 5, 10 for one person, counted as of the
 * start of today in the store's calendar, no cache. out is filled on
 * success (free with gov_series_free); on error it is left empty (safe to
 * free). Errors: KS_ERR_INVALID naming "kpi" (unknown hard key, malformed
 * soft key, a theme no analysed answer mentions), "level", "from" or "to";
 * enps passes on pulse_enps_cells' errors. */
ks_err gov_series_get(ks_store *s, an_index *ix, const char *kpi, int level, const char *from,
		      const char *to, gov_series *out, ks_error *e);
/* The same under pol (the API's api_policy(app): its thresholds, as_of and
 * cache). pol NULL = the default above. */
ks_err gov_series_get_pol(ks_store *s, an_index *ix, const dc_policy *pol, const char *kpi, int level,
			  const char *from, const char *to, gov_series *out, ks_error *e);
/* Frees the arrays and zeroes *g; NULL or an empty series are fine. */
void gov_series_free(gov_series *g);
/* Is key a soft KPI's key: nps, grade, ces, enps, response_rate, case_sla
 * or theme:<anything>? */
bool gov_kpi_is_soft(const char *key);
/* "team" | "department" | "organisation" -> GOV_LEVEL_*, -1 for anything
 * else; and back (NULL for an unknown level). */
int gov_level_from_name(const char *name);
const char *gov_level_name(int level);
/* The cell of unit × period, NULL when the series has no such row or
 * column. */
const gov_cell *gov_series_cell(const gov_series *g, int64_t unit_id, const char *period);
/* {"kpi","level","periods":[...],"units":[{"unit_id","values":[v|null],
 * "n":[...]}]} — absent cells are null; keep(unit_id, arg) chooses the
 * units (NULL = all). New reference, NULL when out of memory. */
json_t *gov_series_json(const gov_series *g, bool (*keep)(int64_t unit_id, void *arg), void *arg);

#endif
