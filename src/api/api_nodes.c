/* api_nodes.c — what the API shares with the other nodes of one database
 * (issue 18, NODES).
 *
 * On PostgreSQL several nodes may serve one database behind a load
 * balancer. Sessions, API tokens, settings and the scheduler's state are in
 * the database already. The login throttle (src/auth) counts in memory; on
 * PostgreSQL its counts are the database's instead (table login_throttle,
 * store_throttle_*), so that a guesser spread over N nodes meets the limits
 * of one node rather than N times them: one read per login and one upsert
 * per failure.
 *
 * What stays per node, and why that is acceptable: the open-link guard's
 * rate buckets (src/survey/guard.c) — a burst spread over N nodes is
 * allowed N times the per-node rate before answers are held, and each
 * node's burst detection sees its share; the answers are still stored and
 * reviewed, so the effect is a later alert, not lost data or a bypass of
 * a security check. The HTTP guard's per-address connection limits are a
 * node's own resources by nature. The test clock (--test-clock) is per
 * node: a test sets it on each node it uses.
 */
#include "api/api.h"

#include <stdio.h>

#include "auth/auth.h"
#include "store/store.h"

void api_nodes_share(api_app *app);

static void api_nodes_fail(void *arg, int64_t key, int64_t now, int window)
{
	ks_error e;
	ks_error_clear(&e);
	if (store_throttle_fail(arg, key, now, window, &e))
		fprintf(stderr, "klantstem: login throttle: %s\n", e.message);
}

static void api_nodes_get(void *arg, const int64_t *keys, int n, int64_t *since, int *fails)
{
	ks_error e;
	ks_error_clear(&e);
	if (store_throttle_get(arg, keys, n, since, fails, &e))
		fprintf(stderr, "klantstem: login throttle: %s\n", e.message);
}

static void api_nodes_clear(void *arg, int64_t key)
{
	ks_error e;
	ks_error_clear(&e);
	if (store_throttle_clear(arg, key, &e))
		fprintf(stderr, "klantstem: login throttle: %s\n", e.message);
}

/* Called before each throttled check (cheap: the first call wins). */
void api_nodes_share(api_app *app)
{
	if (app->auth == NULL || !store_is_pg(app->store))
		return;
	auth_shared sh = {.arg = app->store, .fail = api_nodes_fail, .get = api_nodes_get,
			  .clear = api_nodes_clear};
	auth_set_shared(app->auth, &sh);
}
