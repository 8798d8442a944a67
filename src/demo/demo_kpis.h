/* demo_kpis.h — the demo's hard KPIs (issue 17, part K): monthly values of
 * the seed's seven KPIs over the demo's months, with one relation built in
 * on purpose, for the links statistics to find (docs/GOVERNANCE.md "KPIs"):
 *
 *   in the four teams of "Klantenservice" (DEMO_KPI_RELATED_DEPT)
 *     cost_to_serve(team, t) = base(team) - DEMO_KPI_CTS_PER_NPS * (NPS(team, t-2) - mean NPS(team)) + noise
 *   with NPS(team, t) the monthly NPS the demo generated, read back from
 *   the store; in the other departments' teams cost to serve is base +
 *   noise, with no relation to NPS.
 *
 * Other KPIs carry no built-in relation: absenteeism and attrition per
 * team, share of wallet, acquisition cost and gross margin per department,
 * brand value for the organisation (a random walk). Deterministic: a
 * generator of its own seeded from the demo's seed, no clock.
 */
#ifndef KS_DEMO_KPIS_H
#define KS_DEMO_KPIS_H

#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

#define DEMO_KPI_RELATED_DEPT "Klantenservice"
#define DEMO_KPI_CTS_PER_NPS 0.25   /* EUR less cost to serve per NPS point, two months later */
#define DEMO_KPI_LAG 2

/* Writes the values (source "demo") of the months of [start, now) in one
 * transaction, after the responses are stored. *n (may be NULL) = values
 * written. A catalogue without the seed's KPIs writes nothing for the
 * missing ones. */
ks_err demo_kpis_generate(ks_store *s, uint64_t seed, int64_t start, int64_t now, size_t *n, ks_error *e);

#endif
