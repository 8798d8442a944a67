/* relationship.c — allocation, draw order and post-stratified NPS of
 * relationship surveys. See relationship.h and docs/STATISTICS.md §12.
 */
#include "invite/relationship.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics/metrics.h"

/* The z of every 95% interval of the product (metrics_int.h's METRICS_Z95). */
#define REL_Z95 1.96

bool rel_allocation_parse(const char *name, rel_allocation *out)
{
	if (name && strcmp(name, "proportional") == 0)
		*out = REL_ALLOC_PROPORTIONAL;
	else if (name && strcmp(name, "equal") == 0)
		*out = REL_ALLOC_EQUAL;
	else
		return false;
	return true;
}

const char *rel_allocation_name(rel_allocation a)
{
	return a == REL_ALLOC_EQUAL ? "equal" : "proportional";
}

/* ---- allocation ------------------------------------------------------------- */

/* Proportional allocation with largest-remainder rounding (W. G. Cochran,
 * Sampling Techniques, 3rd ed. 1977, §5.4 "proportional allocation":
 * n_h = n N_h / N; the rounding to whole units is Hamilton's largest
 * remainder method, as used for seat apportionment):
 *   q_h = r * R_h / R                  (R_h the room left in stratum h)
 *   n_h = floor(q_h), then the r - sum floor(q_h) units left go one each to
 *   the strata with the largest remainders r * R_h mod R, ties to the
 *   larger stratum, then to the earlier one (name order).
 * The remainders are compared as exact integers, never as doubles. A unit
 * goes only where q_h has a fraction, so q_h < R_h there and no stratum is
 * given more than its room. */
static void rel_alloc_proportional(const int64_t *room, size_t h, int64_t r, int64_t *out)
{
	int64_t total = 0, given = 0;
	for (size_t i = 0; i < h; i++)
		total += room[i];
	if (total == 0 || r <= 0)
		return;
	bool used[h];
	for (size_t i = 0; i < h; i++) {
		int64_t q = (int64_t)(((__int128)r * room[i]) / total);
		out[i] += q;
		given += q;
		used[i] = false;
	}
	for (int64_t left = r - given; left > 0; left--) {
		size_t best = h;
		int64_t best_rem = 0;
		for (size_t i = 0; i < h; i++) {
			int64_t rem = (int64_t)(((__int128)r * room[i]) % total);
			if (used[i] || rem == 0)
				continue;
			if (best == h || rem > best_rem || (rem == best_rem && room[i] > room[best])) {
				best = i;
				best_rem = rem;
			}
		}
		if (best == h)
			break;
		out[best]++;
		used[best] = true;  /* one of the remaining units per stratum at most */
	}
}

/* Equal allocation: r / k to each of the k strata with room, a stratum
 * with less room takes all it has and the rest is shared again among the
 * others (water-filling); the last r mod k units one each to the strata
 * with the most room left, ties to the earlier one. */
static void rel_alloc_equal(const int64_t *pop, size_t h, int64_t r, int64_t *out)
{
	while (r > 0) {
		int64_t open = 0;
		for (size_t i = 0; i < h; i++)
			open += out[i] < pop[i];
		if (open == 0)
			return;
		int64_t share = r / open;
		if (share == 0)
			break;
		for (size_t i = 0; i < h; i++) {
			if (out[i] >= pop[i])
				continue;
			int64_t add = pop[i] - out[i] < share ? pop[i] - out[i] : share;
			out[i] += add;
			r -= add;
		}
	}
	for (; r > 0; r--) {
		size_t best = h;
		for (size_t i = 0; i < h; i++)
			if (out[i] < pop[i] && (best == h || pop[i] - out[i] > pop[best] - out[best]))
				best = i;
		if (best == h)
			return;
		out[best]++;
	}
}

ks_err rel_allocate(const int64_t *pop, size_t h, int64_t n, int64_t min_per, rel_allocation mode,
		    int64_t *out, ks_error *e)
{
	if (n < 1)
		return ks_fail(e, KS_ERR_RANGE, "sample_size", "sample_size must be at least 1");
	int64_t total = 0, base = 0;
	for (size_t i = 0; i < h; i++) {
		out[i] = pop[i] < min_per ? pop[i] : min_per;
		base += out[i];
		total += pop[i];
	}
	if (n >= total) {  /* the whole frame */
		for (size_t i = 0; i < h; i++)
			out[i] = pop[i];
		return KS_OK;
	}
	if (base > n)
		return ks_fail(e, KS_ERR_RANGE, "min_per_stratum",
			       "min_per_stratum over %zu strata needs %lld, more than sample_size %lld", h,
			       (long long)base, (long long)n);
	if (mode == REL_ALLOC_EQUAL) {
		rel_alloc_equal(pop, h, n - base, out);
		return KS_OK;
	}
	int64_t room[h > 0 ? h : 1];
	for (size_t i = 0; i < h; i++)
		room[i] = pop[i] - out[i];
	rel_alloc_proportional(room, h, n - base, out);
	return KS_OK;
}

/* ---- the draw order ------------------------------------------------------------ */

/* splitmix64, the mixer of invite_sampled (rules.c): Steele, Lea & Flood,
 * "Fast splittable pseudorandom number generators" (OOPSLA 2014), with the
 * constants of Vigna's reference splitmix64.c (prng.di.unimi.it). Written
 * out here because docs/STATISTICS.md §12 promises this exact function to
 * anyone re-checking a draw. */
static uint64_t rel_splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15u;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

uint64_t rel_key(uint64_t seed, int64_t customer_id)
{
	/* Mixing the id first: seed ^ id alone would give nearby ids of two
	 * seeds differing in low bits the same keys, swapped. */
	return rel_splitmix64(seed ^ rel_splitmix64((uint64_t)customer_id));
}

void rel_seed_format(uint64_t seed, char out[17])
{
	snprintf(out, 17, "%016llx", (unsigned long long)seed);
}

bool rel_seed_parse(const char *hex, uint64_t *out)
{
	if (hex == NULL || strlen(hex) != 16)
		return false;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = hex[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

/* ---- post-stratified NPS ---------------------------------------------------------- */

static double rel_clip(double x)
{
	return x < -100.0 ? -100.0 : x > 100.0 ? 100.0 : x;
}

/* Post-stratification (Cochran §5A.9 / Lohr, Sampling: Design and Analysis,
 * 2nd ed. 2010, §4.4): each respondent of stratum h weighs
 *   w_h = (N_h / N) / (r_h / r)   (population share / respondent share),
 * so the weighted NPS is sum W_h NPS_h with W_h = N_h / N, and, the strata
 * being sampled independently, its variance is sum W_h^2 var(NPS_h) — the
 * stratified-mean variance of Cochran (5.3). var(NPS_h) is the product's
 * adjusted-Wald variance (metrics_nps_adjusted_wald; docs/STATISTICS.md §2)
 * and the interval is centred on the adjusted estimates, as for a plain NPS.
 * Treating the achieved n_h as fixed ignores the randomness of who answers,
 * the usual approximation of post-stratification (Lohr §4.4). */
void rel_weighted_nps(const rel_stratum_nps *s, size_t h, rel_nps *out)
{
	memset(out, 0, sizeof *out);
	double wsum = 0.0;
	for (size_t i = 0; i < h; i++)
		if (s[i].n > 0)
			wsum += s[i].pop_share;
	if (wsum <= 0.0)
		return;
	for (size_t i = 0; i < h; i++) {
		if (s[i].n <= 0)
			continue;
		double w = s[i].pop_share / wsum;
		double adj = 0.0;
		double v = metrics_nps_adjusted_wald(s[i].promoters, s[i].detractors, s[i].n, &adj, NULL);
		out->value += w * 100.0 * (double)(s[i].promoters - s[i].detractors) / (double)s[i].n;
		out->adj += w * adj;
		out->var += w * w * v;
	}
	out->has = true;
	out->margin = REL_Z95 * sqrt(out->var) * 100.0;
	out->low = rel_clip(out->adj - out->margin);
	out->high = rel_clip(out->adj + out->margin);
}

void rel_plain_nps(int64_t promoters, int64_t detractors, int64_t n, rel_nps *out)
{
	memset(out, 0, sizeof *out);
	if (n <= 0)
		return;
	out->has = true;
	out->value = 100.0 * (double)(promoters - detractors) / (double)n;
	out->var = metrics_nps_adjusted_wald(promoters, detractors, n, &out->adj, &out->margin);
	out->low = rel_clip(out->adj - out->margin);
	out->high = rel_clip(out->adj + out->margin);
}

/* Two independent estimates: var(a - b) = var(a) + var(b). The wave's
 * sample and the contact-driven respondents may share a customer; with a
 * random sample from a large base that overlap is small, and ignoring a
 * positive covariance only widens the interval. */
void rel_nps_gap(const rel_nps *a, const rel_nps *b, rel_gap *out)
{
	memset(out, 0, sizeof *out);
	if (!a->has || !b->has)
		return;
	out->has = true;
	out->value = a->value - b->value;
	out->centre = a->adj - b->adj;
	out->se = 100.0 * sqrt(a->var + b->var);
	out->low = out->centre - REL_Z95 * out->se;
	out->high = out->centre + REL_Z95 * out->se;
}
