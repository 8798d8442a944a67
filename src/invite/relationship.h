/* relationship.h — the arithmetic of relationship surveys (issue 16, "The
 * silent mass"): how a wave's sample is spread over the strata, the random
 * order a draw walks, and the post-stratified NPS with its interval.
 *
 * Owner: src/invite/relationship.c. Pure functions: no I/O, no database, no
 * clock; only rel_allocate's caller-provided arrays. The store
 * (src/store/invite/sqlite_relationship.c) draws and counts; the API
 * (src/api/api_relationship.c) reports. Formulas and sources are beside the
 * code and in docs/STATISTICS.md §12.
 */
#ifndef KS_INVITE_RELATIONSHIP_H
#define KS_INVITE_RELATIONSHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum {
	REL_ALLOC_PROPORTIONAL,  /* n_h proportional to the stratum's size N_h */
	REL_ALLOC_EQUAL          /* the same n_h in every stratum (as far as N_h allows) */
} rel_allocation;

/* "proportional" / "equal" <-> the enum; false for another name. */
bool rel_allocation_parse(const char *name, rel_allocation *out);
const char *rel_allocation_name(rel_allocation a);

/* Spread a sample of n over h strata of sizes pop[0..h-1] (>= 0) into
 * out[0..h-1]: first min(min_per, pop[i]) each, then the rest by the
 * allocation with largest-remainder rounding (see relationship.c). Never
 * more than pop[i] in a stratum; when n >= sum(pop) everyone. The result
 * depends only on the order of the strata (the caller sorts them by name)
 * for ties. KS_ERR_RANGE naming "min_per_stratum" when the minimums alone
 * exceed n; KS_ERR_RANGE naming "sample_size" for n < 1. */
ks_err rel_allocate(const int64_t *pop, size_t h, int64_t n, int64_t min_per, rel_allocation mode,
		    int64_t *out, ks_error *e);

/* The random key of a customer in a draw with this seed:
 * splitmix64(seed ^ splitmix64(customer_id)). A stratum's customers sorted
 * by (key, id) are in a uniformly random order, so its first n_h eligible
 * ones are a simple random sample without replacement; the same seed gives
 * the same order, whatever the database's row order. */
uint64_t rel_key(uint64_t seed, int64_t customer_id);

/* A seed as 16 lower-case hex digits (out: 17 bytes) and back; parse is
 * false unless exactly 16 hex digits (either case). */
void rel_seed_format(uint64_t seed, char out[17]);
bool rel_seed_parse(const char *hex, uint64_t *out);

/* One stratum of the post-stratified NPS. */
typedef struct rel_stratum_nps {
	double pop_share;        /* W_h = N_h / N over the strata that have NPS answers */
	int64_t promoters, detractors, n;  /* NPS answers of the stratum's respondents */
} rel_stratum_nps;

/* The post-stratified NPS of h strata (those with n == 0 are left out and
 * the shares of the rest renormalised to sum 1):
 *   value = 100 * sum W_h (P_h - D_h) / n_h
 *   adj   = 100 * sum W_h (P_h - D_h) / (n_h + 3)     (adjusted-Wald centres)
 *   var   = sum W_h^2 var_h  (proportion units; var_h = metrics_nps_adjusted_wald)
 *   low, high = adj -+ 1.96 * 100 * sqrt(var), clipped to [-100, 100]
 * has is false when no stratum has an answer. */
typedef struct rel_nps {
	bool has;
	double value, adj, var, margin, low, high;
} rel_nps;
void rel_weighted_nps(const rel_stratum_nps *s, size_t h, rel_nps *out);

/* The same four figures for a plain (unweighted) NPS of P, D out of n,
 * from metrics_nps_adjusted_wald, so the gap below can take either side. */
void rel_plain_nps(int64_t promoters, int64_t detractors, int64_t n, rel_nps *out);

/* The gap a - b of two independent estimates: value = a.value - b.value,
 * centre a.adj - b.adj, se = 100 sqrt(a.var + b.var), interval centre -+
 * 1.96 se (not clipped: a gap runs from -200 to 200). has = both have. */
typedef struct rel_gap {
	bool has;
	double value, centre, se, low, high;
} rel_gap;
void rel_nps_gap(const rel_nps *a, const rel_nps *b, rel_gap *out);

#endif
