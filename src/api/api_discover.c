/* api_discover.c — GET /api/v1/themes/discover (issue 14): the frequent and
 * rising phrases of the open answers that match no theme, offered as new
 * themes (docs/API.md "Theme discovery", docs/TEXT.md "Theme discovery").
 *
 * Roles: admin, director, manager (the route's mask). Which answers count
 * is the verbatim explorer's scope (api_verbatim_scope: a manager their
 * unit and below), and the examples are verbatim items shown as the
 * organisation's verbatim_detail says (api_verbatim_detail: under
 * "anonymous" no employee, under "band" no score) — the same functions
 * the explorer uses, so a reader learns nothing here the explorer hides.
 * Phrase counts are counts of words, not scores: no minimum-n applies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

#define API_DISC_DAYS 90          /* the default period: the last 90 days */
#define API_DISC_MAX_DAYS 366     /* the longest period asked for */
#define API_DISC_LIMIT 20
#define API_DISC_LIMIT_MAX 50
#define API_DAY 86400

static json_t *api_disc_iso(int64_t t)
{
	char buf[32];
	clock_format_iso(t, buf, sizeof buf);
	return json_string(buf);
}

/* from/to (api_time_range's forms), defaulting to the last 90 days up to
 * now; at most a year, so one request cannot read every answer ever. */
static ks_err api_disc_period(http_req *req, int64_t *from, int64_t *to, ks_error *e)
{
	api_app *app = req->app;
	ks_err err = api_time_range(req, from, to, e);
	if (err)
		return err;
	if (*to == 0)
		*to = clock_now(app->clock);
	if (*from == 0)
		*from = *to - API_DISC_DAYS * API_DAY;
	if (*from >= *to)
		return ks_fail(e, KS_ERR_RANGE, "from", "from must be before to (now when to is not given)");
	if (*to - *from > (int64_t)API_DISC_MAX_DAYS * API_DAY)
		return ks_fail(e, KS_ERR_RANGE, "from", "the period is at most %d days", API_DISC_MAX_DAYS);
	return KS_OK;
}

static ks_err api_disc_limit(http_req *req, int *limit, ks_error *e)
{
	const char *v = http_query(req, "limit");
	*limit = API_DISC_LIMIT;
	if (v == NULL)
		return KS_OK;
	char *end = NULL;
	long n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < 1 || n > API_DISC_LIMIT_MAX)
		return ks_fail(e, KS_ERR_RANGE, "limit", "limit must be 1..%d", API_DISC_LIMIT_MAX);
	*limit = (int)n;
	return KS_OK;
}

static ks_err api_disc_query(http_req *req, store_discover_query *q, ks_error *e)
{
	static const char *const params[] = {"from", "to", "language", "limit", NULL};
	memset(q, 0, sizeof *q);
	ks_err err = api_only_params(req, params, e);
	if (!err)
		err = api_disc_period(req, &q->from, &q->to, e);
	if (!err)
		err = api_disc_limit(req, &q->limit, e);
	const char *lang = http_query(req, "language");
	if (!err && lang && strcmp(lang, "nl") != 0 && strcmp(lang, "en") != 0)
		err = ks_fail(e, KS_ERR_INVALID, "language", "language must be nl or en");
	if (!err && lang)
		snprintf(q->language, sizeof q->language, "%s", lang);
	q->prev_from = q->from - (q->to - q->from);
	if (!err)
		err = api_verbatim_scope(req, &q->team_id, &q->employee_id, e);
	return err;
}

ks_err api_themes_discover(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_discover_query q;
	ks_err err = api_disc_query(req, &q, e);
	store_verbatim_detail detail = STORE_DETAIL_BAND;
	if (!err)
		err = api_detail_get(req, &detail, e);
	json_t *out = NULL;
	if (!err)
		err = store_text_discover(app->store, &q, &out, e);
	if (err)
		return err;
	size_t i;
	json_t *ph;
	json_array_foreach(json_object_get(out, "phrases"), i, ph)
		api_verbatim_detail(req, detail, json_object_get(ph, "examples"));
	json_object_set_new(out, "from", api_disc_iso(q.from));
	json_object_set_new(out, "to", api_disc_iso(q.to));
	json_object_set_new(out, "previous", json_pack("{s:o, s:o}", "from", api_disc_iso(q.prev_from), "to",
						       api_disc_iso(q.from)));
	json_object_set_new(out, "language", q.language[0] ? json_string(q.language) : json_null());
	http_reply_json(req, 200, out);
	return KS_OK;
}
