/* metrics_int.h — helpers shared by the files of src/metrics; not part of
 * the module's contract (that is metrics.h). */
#ifndef KS_METRICS_INT_H
#define KS_METRICS_INT_H

#include <stdbool.h>
#include <stdint.h>

/* z for a two-sided 95% interval (standard normal 0.975 quantile). */
#define METRICS_Z95 1.96

/* Sample variance s^2 from n, sum and sum of squares (n >= 2). */
double metrics_sample_var(int64_t n, int64_t sum, int64_t sumsq);

/* A rational number kept exact in int64 while it fits (num/den, den > 0,
 * reduced), and as a long double always; once an operation would overflow
 * it goes on in long double only (exact = false). */
typedef struct metrics_q {
	int64_t num, den;
	bool exact;
	long double approx;
} metrics_q;

metrics_q metrics_q_of(int64_t num, int64_t den);   /* den != 0 */
metrics_q metrics_q_add(metrics_q a, metrics_q b);
metrics_q metrics_q_sub(metrics_q a, metrics_q b);
metrics_q metrics_q_mul_int(metrics_q a, int64_t k);
/* Rounded half away from zero to `decimals`, times 10^decimals: exactly
 * (metrics_round_ratio_scaled) when exact, else from the long double. */
int64_t metrics_q_round(metrics_q a, int decimals);

#endif
