/* demo_pulse.h — the demo's employee pulse (issue 17, part P): a year of
 * monthly eNPS waves to the demo's employees (docs/GOVERNANCE.md "Employee
 * pulse (eNPS)").
 *
 * Per wave 60-75% of the employees answer (the rate varies by wave). Each
 * team has its own level of engagement and its own drift over the year, so
 * team eNPS differs and moves; the demo's small teams (five people) seldom
 * reach five respondents and are hidden, with a neighbour protecting them
 * (docs/PRIVACY.md "Employee pulse"). About a third of the answers carry a
 * comment from a small bank of plausible ones (nl, a few en). The waves
 * open on the first Monday of each month at 09:00 local time of the twelve
 * months before now, open 7 days; the last one is still open when now falls
 * inside it. Deterministic apart from the answers' random ids.
 */
#ifndef KS_DEMO_PULSE_H
#define KS_DEMO_PULSE_H

#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

#define DEMO_PULSE_WAVES 12

/* Writes the waves, one transaction each. *waves (may be NULL) gets how
 * many were written. */
ks_err demo_pulse_generate(ks_store *s, uint64_t seed, int64_t now, int *waves, ks_error *e);

#endif
