/* config.c — the HTTP layer's limits and trusted proxies, as set on the
 * command line (serve --http-limit NAME=VALUE, --trusted-proxy LIST). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "http/http_int.h"

void http_limits_default(http_limits *l)
{
	*l = (http_limits){
		.connections = HTTP_CONNECTIONS,
		.per_address = HTTP_PER_ADDRESS,
		.reserve = HTTP_RESERVE,
		.head_timeout_s = HTTP_HEAD_TIMEOUT_S,
		.body_timeout_s = HTTP_BODY_TIMEOUT_S,
		.reply_timeout_s = HTTP_REPLY_TIMEOUT_S,
		.reply_min_rate = HTTP_REPLY_MIN_RATE,
		.idle_timeout_s = HTTP_IDLE_TIMEOUT_S,
		.reply_budget = HTTP_REPLY_BUDGET,
		.reply_budget_address = HTTP_REPLY_BUDGET_ADDRESS,
		.slow_workers = 0,
		.slow_queue = HTTP_SLOW_QUEUE,
		.sndbuf = HTTP_SNDBUF,
	};
}

/* One settable limit: its name, where it lives, and its range. */
typedef struct limit_def {
	const char *name;
	size_t offset;
	bool is_size;            /* size_t (bytes) rather than unsigned */
	unsigned long long min, max;
} limit_def;

#define LIMIT_U(n, f, lo, hi) {n, offsetof(http_limits, f), false, lo, hi}
#define LIMIT_Z(n, f, lo, hi) {n, offsetof(http_limits, f), true, lo, hi}
static const limit_def limit_defs[] = {
	LIMIT_U("connections", connections, 16, 65536),
	LIMIT_U("per_address", per_address, 0, 65536),
	LIMIT_U("reserve", reserve, 0, 65536),
	LIMIT_U("head_timeout", head_timeout_s, 0, 3600),
	LIMIT_U("body_timeout", body_timeout_s, 0, 3600),
	LIMIT_U("reply_timeout", reply_timeout_s, 0, 3600),
	LIMIT_U("reply_min_rate", reply_min_rate, 0, 1u << 30),
	LIMIT_U("idle_timeout", idle_timeout_s, 1, 3600),
	LIMIT_Z("reply_budget", reply_budget, 0, 1ull << 40),
	LIMIT_Z("reply_budget_address", reply_budget_address, 0, 1ull << 40),
	LIMIT_U("slow_workers", slow_workers, 0, 256),
	LIMIT_U("slow_queue", slow_queue, 1, 65536),
	LIMIT_U("sndbuf", sndbuf, 0, 64u << 20),
	LIMIT_U("slow_all", slow_all, 0, 1),
};

ks_err http_limits_set(http_limits *l, const char *spec, ks_error *e)
{
	const char *eq = spec ? strchr(spec, '=') : NULL;
	if (eq == NULL)
		return ks_fail(e, KS_ERR_USAGE, "http-limit", "--http-limit wants NAME=VALUE, got '%s'",
			       spec ? spec : "");
	size_t nlen = (size_t)(eq - spec);
	for (size_t i = 0; i < sizeof limit_defs / sizeof limit_defs[0]; i++) {
		const limit_def *d = &limit_defs[i];
		if (strlen(d->name) != nlen || strncmp(d->name, spec, nlen) != 0)
			continue;
		char *end = NULL;
		errno = 0;
		unsigned long long v = strtoull(eq + 1, &end, 10);
		if (errno || end == eq + 1 || *end != '\0' || eq[1] == '-' || v < d->min || v > d->max)
			return ks_fail(e, KS_ERR_USAGE, "http-limit", "--http-limit %s wants %llu..%llu, got '%s'",
				       d->name, d->min, d->max, eq + 1);
		char *at = (char *)l + d->offset;
		if (d->is_size)
			*(size_t *)(void *)at = (size_t)v;
		else
			*(unsigned *)(void *)at = (unsigned)v;
		return KS_OK;
	}
	return ks_fail(e, KS_ERR_USAGE, "http-limit", "--http-limit: no limit named '%.*s'", (int)nlen, spec);
}

/* "A.B.C.D" or "A.B.C.D/BITS" into a network and mask (network order). */
static bool trusted_one(const char *s, size_t len, uint32_t *net, uint32_t *mask)
{
	char buf[32];
	if (len == 0 || len >= sizeof buf)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	unsigned bits = 32;
	char *slash = strchr(buf, '/');
	if (slash) {
		char *end = NULL;
		unsigned long b = strtoul(slash + 1, &end, 10);
		if (end == slash + 1 || *end != '\0' || b > 32)
			return false;
		bits = (unsigned)b;
		*slash = '\0';
	}
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	uint32_t m = bits == 0 ? 0 : htonl(~0u << (32 - bits));
	*mask = m;
	*net = a.s_addr & m;
	return true;
}

ks_err http_trusted_parse(http_trusted *t, const char *list, ks_error *e)
{
	memset(t, 0, sizeof *t);
	const char *p = list ? list : "";
	while (*p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		while (len && *p == ' ')
			p++, len--;
		while (len && p[len - 1] == ' ')
			len--;
		if (t->n == HTTP_TRUSTED_MAX)
			return ks_fail(e, KS_ERR_USAGE, "trusted-proxy", "--trusted-proxy: at most %d entries",
				       HTTP_TRUSTED_MAX);
		if (!trusted_one(p, len, &t->net[t->n], &t->mask[t->n]))
			return ks_fail(e, KS_ERR_USAGE, "trusted-proxy",
				       "--trusted-proxy wants IPv4 addresses (ADDR or ADDR/BITS) separated by commas, got '%s'",
				       list);
		t->n++;
		if (c == NULL)
			break;
		p = c + 1;
	}
	if (t->n == 0)
		return ks_fail(e, KS_ERR_USAGE, "trusted-proxy", "--trusted-proxy needs an address");
	return KS_OK;
}

bool http_trusted_has(const http_trusted *t, uint32_t addr)
{
	if (t == NULL)
		return false;
	for (size_t i = 0; i < t->n; i++)
		if ((addr & t->mask[i]) == t->net[i])
			return true;
	return false;
}
