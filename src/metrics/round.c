/* round.c — the one rounding rule of klantstem, and exact rationals.
 *
 * Rule: round half away from zero, once, on the exact value; a result of
 * zero is printed "0.0", never "-0.0". A figure that is a ratio of counts
 * (NPS, a mean, a share) is rounded as a ratio of integers: 100 * 3/16 is
 * 18.75 exactly and becomes 18.8, where (3.0/16 - 0.0) * 100 in doubles can
 * land on either side of the tie depending on the order of operations.
 * Values that are not ratios (interval bounds, z, p) have no exact decimal
 * to start from and are rounded from their double, by the same rule.
 */
#include "metrics/metrics.h"
#include "metrics/metrics_int.h"

#include <math.h>

static const int64_t metrics_pow10[19] = {
	1,
	10,
	100,
	1000,
	10000,
	100000,
	1000000,
	10000000,
	100000000,
	1000000000,
	10000000000,
	100000000000,
	1000000000000,
	10000000000000,
	100000000000000,
	1000000000000000,
	10000000000000000,
	100000000000000000,
	1000000000000000000,
};

static int metrics_clamp_decimals(int decimals)
{
	return decimals < 0 ? 0 : decimals > 18 ? 18 : decimals;
}

/* Round a long double half away from zero into int64, saturating. */
static int64_t metrics_roundl_to_int(long double v)
{
	if (isnan(v))
		return 0;
	long double r = roundl(v);
	if (r >= 9223372036854775807.0L)
		return INT64_MAX;
	if (r <= -9223372036854775808.0L)
		return INT64_MIN;
	return (int64_t)r;
}

/* Exact: N = num * 10^d; q = N / den truncates toward zero and r = N % den
 * has N's sign; the tie |r| / den = 1/2 and everything above it moves q one
 * step away from zero. |r| >= den - |r| is that test without computing
 * 2|r| (which could overflow). N is never INT64_MIN: num == INT64_MIN is
 * excluded and num * 10^d = -2^63 needs 5^d | 2^63, so d = 0. */
int64_t metrics_round_ratio_scaled(int64_t num, int64_t den, int decimals)
{
	if (den == 0)
		return 0;
	decimals = metrics_clamp_decimals(decimals);
	int64_t N;
	if (num != INT64_MIN && den != INT64_MIN &&
	    !__builtin_mul_overflow(num, metrics_pow10[decimals], &N)) {
		if (den < 0) {
			N = -N;
			den = -den;
		}
		int64_t q = N / den, r = N % den;
		int64_t ar = r < 0 ? -r : r;
		if (ar >= den - ar)
			q += N < 0 ? -1 : 1;
		return q;
	}
	/* Beyond int64 (|num| * 10^d > 2^63, counts beyond 10^14 or so): long
	 * double, 64 bits of mantissa; only a value within about 2^-64 of a
	 * tie can round the other way. */
	long double v = (long double)num / (long double)den;
	return metrics_roundl_to_int(v * (long double)metrics_pow10[decimals]);
}

int64_t metrics_round_scaled(double x, int decimals)
{
	decimals = metrics_clamp_decimals(decimals);
	return metrics_roundl_to_int((long double)x * (long double)metrics_pow10[decimals]);
}

ks_err metrics_put_fixed(ks_buf *b, int64_t scaled, int decimals)
{
	decimals = metrics_clamp_decimals(decimals);
	/* The magnitude in unsigned arithmetic, so INT64_MIN is fine too. */
	uint64_t mag = scaled < 0 ? (uint64_t)0 - (uint64_t)scaled : (uint64_t)scaled;
	uint64_t p = (uint64_t)metrics_pow10[decimals];
	const char *sign = scaled < 0 ? "-" : "";
	if (decimals == 0)
		return buf_printf(b, "%s%llu", sign, (unsigned long long)mag);
	return buf_printf(b, "%s%llu.%0*llu", sign, (unsigned long long)(mag / p), decimals,
			  (unsigned long long)(mag % p));
}

/* ---- exact rationals -------------------------------------------------------- */

static int64_t metrics_gcd(int64_t a, int64_t b)
{
	/* a, b > INT64_MIN, so their magnitudes fit. */
	if (a < 0)
		a = -a;
	if (b < 0)
		b = -b;
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static metrics_q metrics_q_inexact(long double v)
{
	metrics_q q = {0, 1, false, v};
	return q;
}

metrics_q metrics_q_of(int64_t num, int64_t den)
{
	if (den == 0)
		return metrics_q_inexact(0.0L);
	long double v = (long double)num / (long double)den;
	if (num == INT64_MIN || den == INT64_MIN)
		return metrics_q_inexact(v);
	if (den < 0) {
		num = -num;
		den = -den;
	}
	int64_t g = metrics_gcd(num, den);
	if (g > 1) {
		num /= g;
		den /= g;
	}
	metrics_q q = {num, den, true, v};
	return q;
}

/* a/b + s * c/d = (a d + s c b) / (b d), checked; s = +1 or -1. */
static metrics_q metrics_q_combine(metrics_q a, metrics_q b, int s)
{
	long double v = a.approx + (long double)s * b.approx;
	if (!a.exact || !b.exact)
		return metrics_q_inexact(v);
	int64_t ad, cb, bd, num;
	int64_t bn = s < 0 ? -b.num : b.num; /* b.num > INT64_MIN after metrics_q_of */
	if (__builtin_mul_overflow(a.num, b.den, &ad) || __builtin_mul_overflow(bn, a.den, &cb) ||
	    __builtin_mul_overflow(a.den, b.den, &bd) || __builtin_add_overflow(ad, cb, &num) ||
	    num == INT64_MIN)
		return metrics_q_inexact(v);
	metrics_q q = metrics_q_of(num, bd);
	q.approx = v;
	return q;
}

metrics_q metrics_q_add(metrics_q a, metrics_q b)
{
	return metrics_q_combine(a, b, 1);
}

metrics_q metrics_q_sub(metrics_q a, metrics_q b)
{
	return metrics_q_combine(a, b, -1);
}

metrics_q metrics_q_mul_int(metrics_q a, int64_t k)
{
	long double v = a.approx * (long double)k;
	int64_t num;
	if (!a.exact || __builtin_mul_overflow(a.num, k, &num) || num == INT64_MIN)
		return metrics_q_inexact(v);
	metrics_q q = metrics_q_of(num, a.den);
	q.approx = v;
	return q;
}

int64_t metrics_q_round(metrics_q a, int decimals)
{
	if (a.exact)
		return metrics_round_ratio_scaled(a.num, a.den, decimals);
	decimals = metrics_clamp_decimals(decimals);
	return metrics_roundl_to_int(a.approx * (long double)metrics_pow10[decimals]);
}
