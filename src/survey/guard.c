/* guard.c — token buckets for the open-link guard. See guard.h. */
#include "survey/guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_KEY_MAX 96  /* "a|" + an IPv4 address + "|" + a 32-char token fits */
#define GUARD_PROBE 16    /* slots looked at for one key */

typedef struct guard_slot {
	char key[GUARD_KEY_MAX];  /* "" = free */
	double tokens;
	int64_t last;             /* time of the last refill, seconds */
} guard_slot;

struct survey_guard {
	pthread_mutex_t mu;
	guard_config cfg;
	guard_slot *slots;        /* GUARD_SLOTS of them */
};

void guard_config_default(guard_config *c)
{
	c->addr_limit = 10;
	c->addr_window_s = 60;
	c->link_limit = 600;
	c->link_window_s = 3600;
	c->normal_limit = 60;
	c->normal_window_s = 3600;
	c->quiet_s = 900;
}

/* A whole number lo..1000000 in the n bytes at s. */
static bool guard_number(const char *s, size_t n, long lo, int *out)
{
	char num[16];
	if (n == 0 || n >= sizeof num)
		return false;
	memcpy(num, s, n);
	num[n] = '\0';
	char *end = NULL;
	errno = 0;
	long v = strtol(num, &end, 10);
	if (errno || *end != '\0' || v < lo || v > 1000000)
		return false;
	*out = (int)v;
	return true;
}

/* One "key=value" of len bytes. */
static bool guard_setting(guard_config *c, const char *p, size_t len)
{
	const char *eq = memchr(p, '=', len);
	if (eq == NULL)
		return false;
	size_t kn = (size_t)(eq - p), vn = len - kn - 1;
	const char *v = eq + 1;
	int *limit = NULL, *window = NULL;
	if (kn == 4 && memcmp(p, "addr", 4) == 0)
		limit = &c->addr_limit, window = &c->addr_window_s;
	else if (kn == 4 && memcmp(p, "link", 4) == 0)
		limit = &c->link_limit, window = &c->link_window_s;
	else if (kn == 6 && memcmp(p, "normal", 6) == 0)
		limit = &c->normal_limit, window = &c->normal_window_s;
	else if (kn == 5 && memcmp(p, "quiet", 5) == 0)
		return guard_number(v, vn, 1, &c->quiet_s);
	else if (kn == 6 && memcmp(p, "window", 6) == 0) {
		int w;
		if (!guard_number(v, vn, 1, &w))
			return false;
		c->addr_window_s = c->link_window_s = c->normal_window_s = w;
		return true;
	}
	if (limit == NULL)
		return false;
	const char *slash = memchr(v, '/', vn);
	if (slash == NULL)
		return guard_number(v, vn, 0, limit);
	size_t ln = (size_t)(slash - v);
	return guard_number(v, ln, 0, limit) && guard_number(slash + 1, vn - ln - 1, 1, window);
}

ks_err guard_config_parse(const char *spec, guard_config *c, ks_error *e)
{
	const char *p = spec ? spec : "";
	while (*p) {
		size_t len = strcspn(p, ",");
		if (!guard_setting(c, p, len))
			return ks_fail(e, KS_ERR_USAGE, "open-link-guard",
				       "--open-link-guard: bad setting '%.*s' (addr=N[/SECONDS], link=..., "
				       "normal=..., window=SECONDS, quiet=SECONDS; N 0..1000000)",
				       (int)(len > 60 ? 60 : len), p);
		p += len;
		if (*p == ',')
			p++;
	}
	return KS_OK;
}

ks_err guard_new(const guard_config *c, survey_guard **out)
{
	survey_guard *g = calloc(1, sizeof *g);
	if (g)
		g->slots = calloc(GUARD_SLOTS, sizeof *g->slots);
	if (g == NULL || g->slots == NULL) {
		free(g);
		return KS_ERR_NOMEM;
	}
	g->cfg = *c;
	pthread_mutex_init(&g->mu, NULL);
	*out = g;
	return KS_OK;
}

void guard_free(survey_guard *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->mu);
	free(g->slots);
	free(g);
}

void guard_get_config(const survey_guard *g, guard_config *out)
{
	*out = g->cfg; /* never changes after guard_new */
}

static uint64_t guard_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The bucket of key (limit per window seconds), refilled up to now (mu
 * held). A new or reused slot starts full. Never NULL: the longest-idle
 * slot of the probe run gives way. */
static guard_slot *guard_bucket(survey_guard *g, const char *key, int limit, int window,
				int64_t now)
{
	size_t start = (size_t)(guard_hash(key) % GUARD_SLOTS);
	guard_slot *victim = NULL;
	for (size_t k = 0; k < GUARD_PROBE; k++) {
		guard_slot *sl = &g->slots[(start + k) % GUARD_SLOTS];
		if (strcmp(sl->key, key) == 0) {
			double rate = (double)limit / (double)window;
			if (now > sl->last)
				sl->tokens += (double)(now - sl->last) * rate;
			if (sl->tokens > limit)
				sl->tokens = limit;
			sl->last = now > sl->last ? now : sl->last;
			return sl;
		}
		/* A free slot, or one idle a whole window (full again: as good as
		 * new), or else the longest idle. */
		if (victim == NULL || sl->key[0] == '\0' || sl->last < victim->last)
			victim = sl;
	}
	snprintf(victim->key, sizeof victim->key, "%s", key);
	victim->tokens = limit;
	victim->last = now;
	return victim;
}

static int guard_wait(const guard_slot *sl, int limit, int window)
{
	double need = (1.0 - sl->tokens) * (double)window / (double)limit;
	int s = (int)need;
	if ((double)s < need)
		s++;
	return s < 1 ? 1 : s;
}

bool guard_admit(survey_guard *g, const char *addr, const char *token, bool open_link, int64_t now,
		 int *retry_after)
{
	char ka[GUARD_KEY_MAX], kl[GUARD_KEY_MAX];
	snprintf(ka, sizeof ka, "a|%.40s|%.40s", addr && addr[0] ? addr : "?", token);
	snprintf(kl, sizeof kl, "l|%.40s", token);
	int la = g->cfg.addr_limit, ll = open_link ? g->cfg.link_limit : 0;
	*retry_after = 0;
	pthread_mutex_lock(&g->mu);
	guard_slot *a = la > 0 ? guard_bucket(g, ka, la, g->cfg.addr_window_s, now) : NULL;
	guard_slot *l = ll > 0 ? guard_bucket(g, kl, ll, g->cfg.link_window_s, now) : NULL;
	int wait = 0;
	if (a && a->tokens < 1.0)
		wait = guard_wait(a, la, g->cfg.addr_window_s);
	if (l && l->tokens < 1.0) {
		int w = guard_wait(l, ll, g->cfg.link_window_s);
		wait = w > wait ? w : wait;
	}
	if (wait == 0) {
		if (a)
			a->tokens -= 1.0;
		if (l)
			l->tokens -= 1.0;
	}
	pthread_mutex_unlock(&g->mu);
	*retry_after = wait;
	return wait == 0;
}

bool guard_normal(survey_guard *g, const char *token, int64_t now)
{
	int limit = g->cfg.normal_limit;
	if (limit <= 0)
		return true;
	char kn[GUARD_KEY_MAX];
	snprintf(kn, sizeof kn, "n|%.40s", token);
	pthread_mutex_lock(&g->mu);
	guard_slot *sl = guard_bucket(g, kn, limit, g->cfg.normal_window_s, now);
	bool ok = sl->tokens >= 1.0;
	if (ok)
		sl->tokens -= 1.0;
	pthread_mutex_unlock(&g->mu);
	return ok;
}
