/* flow.h — the status flow of a case, and its root-cause categories.
 *
 * Owner: src/cases/flow.c. Pure functions.
 *
 *   new -> contacted -> resolved -> closed      resolved / closed -> new (reopen)
 *
 * A customer who said no to being contacted (consent false) is never
 * "contacted": their case goes new -> resolved directly (the team acts on
 * what was said without calling).
 */
#ifndef KS_CASES_FLOW_H
#define KS_CASES_FLOW_H

#include <stdbool.h>
#include <stddef.h>

/* new, contacted, resolved or closed? */
bool cases_status_known(const char *s);
/* Is from -> to allowed? Staying is always allowed (no change). */
bool cases_status_step(const char *from, const char *to, bool no_consent);
/* The statuses reachable from from in one step, NULL-terminated in out
 * (room for 4 and the NULL). */
void cases_status_next(const char *from, bool no_consent, const char *out[5]);
/* Is the status one of the open ones (new, contacted)? */
bool cases_status_open(const char *s);

/* The root-cause categories (codes; the UI translates them), NULL-terminated. */
extern const char *const cases_root_causes[];
bool cases_root_cause_known(const char *code);

#endif
