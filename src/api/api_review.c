/* api_review.c — review invitations (issue 16, part H3): after a survey
 * answer, the thank-you page invites the customer to write a public review
 * on the organisation's review page (docs/API.md "Review invitations").
 * Whom: everyone who answered by default; "promoters" only is a setting
 * (issue 16 H7) that the admin page and the docs warn against — inviting
 * only the happy ones is "review gating", which Google's and Trustpilot's
 * review policies forbid and the Dutch ACM counts as misleading.
 *
 *   GET|PUT /api/v1/review-invitations/settings   admins: on/off, the page, audience, min NPS, interval
 *   GET /api/v1/review-invitations/stats          directors, admins: invited, clicked, wrote
 *   GET /r/{token}                                public: counts the click, 303 to the page
 *
 * Why the thank-you page and no mail: the invitation is made at the one
 * moment the customer has just told us how we did, on a page they are
 * reading; a second mail after the survey mail is one more message to a
 * customer the fatigue rules protect, and a review asked for by mail long
 * after the contact says less. The link goes through /r/{token} so a click
 * is counted without the review site's help, and the page can move.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api/api.h"
#include "audit/audit.h"
#include "metrics/metrics.h"

#define RV_Z 1.959963984540054 /* the normal 97.5 % quantile: 95 % intervals */

/* ---- settings ------------------------------------------------------------------- */

static json_t *rv_settings_json(const store_review_settings *o)
{
	char at[40] = "";
	if (o->updated_at)
		clock_format_iso(o->updated_at, at, sizeof at);
	return json_pack("{s:b, s:s, s:s, s:i, s:i, s:s?}", "enabled", o->enabled, "url", o->url, "audience",
			 store_review_audience_name(o->audience), "min_nps", o->min_nps, "interval_days",
			 o->interval_days, "updated_at", o->updated_at ? at : NULL);
}

ks_err api_review_settings_get(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_review_settings o;
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (!err)
		err = store_review_settings_get(app->store, &o, e);
	if (!err)
		http_reply_json(req, 200, rv_settings_json(&o));
	return err;
}

/* An https URL with a host, printable ASCII only: it goes into a Location
 * header and an href, so no space, quote, angle bracket or control byte
 * (libcurl's URL parser judges the rest). "" clears it. */
static ks_err rv_url_check(const char *url, ks_error *e)
{
	if (url[0] == '\0')
		return KS_OK;
	if (strlen(url) > STORE_REVIEW_URL_MAX)
		return ks_fail(e, KS_ERR_RANGE, "url", "url holds at most %d bytes", STORE_REVIEW_URL_MAX);
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
			return ks_fail(e, KS_ERR_INVALID, "url",
				       "url must be an https URL without spaces, quotes or non-ASCII characters "
				       "(percent-encode them)");
	CURLU *h = curl_url();
	if (h == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	char *scheme = NULL, *host = NULL;
	bool ok = curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		  curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK && strcmp(scheme, "https") == 0 &&
		  host[0] != '\0' && strncmp(url, "https://", 8) == 0;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(h);
	if (!ok)
		return ks_fail(e, KS_ERR_INVALID, "url",
			       "url must be an https:// URL of the organisation's review page");
	return KS_OK;
}

static ks_err rv_int_member(const json_t *v, const char *name, int lo, int hi, int *out, ks_error *e)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return ks_fail(e, KS_ERR_INVALID, name, "%s must be a whole number from %d to %d", name, lo, hi);
	*out = (int)json_integer_value(v);
	return KS_OK;
}

/* The members given, checked, into s and *set (STORE_REVIEW_SET_*); those
 * left out keep their stored value (store_review_settings_put merges under
 * its lock, and refuses "on" without a URL there). */
static ks_err rv_settings_from_json(const json_t *o, store_review_settings *s, unsigned *set, ks_error *e)
{
	static const char *const fields[] = {"enabled", "url", "audience", "min_nps", "interval_days", NULL};
	ks_err err = api_only_fields(o, fields, "", e);
	if (err)
		return err;
	if (json_object_size(o) == 0)
		return ks_fail(e, KS_ERR_INVALID, "enabled",
			       "give at least one of enabled, url, audience, min_nps, interval_days");
	const json_t *v;
	if ((v = json_object_get(o, "enabled")) != NULL) {
		if (!json_is_boolean(v))
			return ks_fail(e, KS_ERR_INVALID, "enabled", "enabled must be true or false");
		s->enabled = json_is_true(v);
		*set |= STORE_REVIEW_SET_ENABLED;
	}
	if ((v = json_object_get(o, "url")) != NULL) {
		if (!json_is_string(v))
			return ks_fail(e, KS_ERR_INVALID, "url", "url must be text");
		err = rv_url_check(json_string_value(v), e);
		if (err)
			return err;
		snprintf(s->url, sizeof s->url, "%s", json_string_value(v));
		*set |= STORE_REVIEW_SET_URL;
	}
	if ((v = json_object_get(o, "audience")) != NULL) { /* issue 16 H7 */
		if (!json_is_string(v) || !store_review_audience_parse(json_string_value(v), &s->audience))
			return ks_fail(e, KS_ERR_INVALID, "audience", "audience must be \"all\" or \"promoters\"");
		*set |= STORE_REVIEW_SET_AUDIENCE;
	}
	if ((v = json_object_get(o, "min_nps")) != NULL) {
		if ((err = rv_int_member(v, "min_nps", 0, 10, &s->min_nps, e)))
			return err;
		*set |= STORE_REVIEW_SET_MIN_NPS;
	}
	if ((v = json_object_get(o, "interval_days")) != NULL) {
		if ((err = rv_int_member(v, "interval_days", 1, 3650, &s->interval_days, e)))
			return err;
		*set |= STORE_REVIEW_SET_INTERVAL;
	}
	/* on without a page: refused early when the body says so; the store
	 * checks the merged row again under its lock */
	if ((*set & STORE_REVIEW_SET_ENABLED) && s->enabled && (*set & STORE_REVIEW_SET_URL) && s->url[0] == '\0')
		return ks_fail(e, KS_ERR_INVALID, "url", "set the review page's url before switching invitations on");
	return KS_OK;
}

ks_err api_review_settings_put(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	store_review_settings o;
	unsigned set = 0;
	json_t *body = NULL;
	char *detail = NULL;
	memset(&o, 0, sizeof o);
	ks_err err = api_body_object(req, &body, e);
	if (!err)
		err = rv_settings_from_json(body, &o, &set, e);
	/* issue 16 H7: the entry (the members asked for, as checked) is written
	 * in the change's own transaction: no change without its entry */
	if (!err && (detail = audit_detail_text(json_incref(body))) == NULL)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	json_decref(body);
	char addr[64];
	http_client_addr(req, addr, sizeof addr);
	store_audit_entry a = {.actor_user_id = req->who.user_id, .client_addr = addr,
			       .action = "review_settings.update", .object_kind = "review_settings", .detail = detail};
	o.updated_by = req->who.user_id;
	if (!err)
		err = store_review_settings_put(app->store, &o, set, &a, e);
	free(detail);
	if (err)
		return err;
	http_reply_json(req, 200, rv_settings_json(&o));
	return KS_OK;
}

/* ---- the counts ------------------------------------------------------------------- */

/* A time as ISO 8601 UTC (as GET /api/v1/settings), JSON null for 0. */
static json_t *rv_time_json(int64_t t)
{
	char at[40];
	if (t == 0)
		return json_null();
	clock_format_iso(t, at, sizeof at);
	return json_string(at);
}

/* x of n as {"n": x, "rate", "ci_low", "ci_high"}: the Wilson score interval
 * (Wilson 1927, JASA 22:209; Newcombe 1998, Statistics in Medicine 17:857,
 * method 3), which stays inside [0, 1] and keeps its coverage for small n
 * and rates near 0 — review rates are small. Rounded like every share
 * (METRICS_SHARE_DECIMALS). Without invitations the rate is null. */
static json_t *rv_rate_json(int64_t x, int64_t n)
{
	if (n <= 0)
		return json_pack("{s:I, s:n, s:n, s:n}", "n", (json_int_t)x, "rate", "ci_low", "ci_high");
	double nn = (double)n, p = (double)x / nn, z2 = RV_Z * RV_Z;
	double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
	double half = RV_Z / (1 + z2 / nn) * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
	double lo = centre - half < 0 ? 0 : centre - half, hi = centre + half > 1 ? 1 : centre + half;
	double scale = 1;
	for (int i = 0; i < METRICS_SHARE_DECIMALS; i++)
		scale *= 10;
	return json_pack("{s:I, s:f, s:f, s:f}", "n", (json_int_t)x, "rate",
			 (double)metrics_round_ratio_scaled(x, n, METRICS_SHARE_DECIMALS) / scale, "ci_low",
			 (double)metrics_round_scaled(lo, METRICS_SHARE_DECIMALS) / scale, "ci_high",
			 (double)metrics_round_scaled(hi, METRICS_SHARE_DECIMALS) / scale);
}

ks_err api_review_stats(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	int64_t from = 0, to = 0;
	store_review_stats st;
	ks_err err = api_only_params(req, (const char *const[]){"from", "to", NULL}, e);
	if (!err)
		err = api_time_range(req, &from, &to, e);
	if (!err)
		err = store_review_stats_get(app->store, from, to, &st, e);
	if (err)
		return err;
	/* issue 16 H7: the plain counts per audience in force when sent */
	json_t *by = json_object();
	for (int a = STORE_REVIEW_ALL; a <= STORE_REVIEW_PROMOTERS; a++)
		json_object_set_new(by, store_review_audience_name((store_review_audience)a),
				    json_pack("{s:I, s:I, s:I}", "invited", (json_int_t)st.by[a].invited, "clicked",
					      (json_int_t)st.by[a].clicked, "wrote", (json_int_t)st.by[a].wrote));
	http_reply_json(req, 200,
			json_pack("{s:o, s:o, s:I, s:o, s:o, s:o}", "from", rv_time_json(from), "to",
				  rv_time_json(to), "invited", (json_int_t)st.invited, "clicked",
				  rv_rate_json(st.clicked, st.invited), "wrote", rv_rate_json(st.wrote, st.invited),
				  "by_audience", by));
	return KS_OK;
}

/* ---- the link ---------------------------------------------------------------------- */

/* GET /r/{token}: count the click (once per token) and send the customer
 * on with 303 every time. Rate-limited per address like the widgets (the
 * open-link guard's bucket, keyed "r:" + token). */
ks_err api_review_click(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	const char *token = req->params[0];
	char addr[64], key[80], url[STORE_REVIEW_URL_MAX + 1];
	size_t len = strlen(token);
	bool ok = len >= 16 && len <= STORE_REVIEW_TOKEN_LEN;
	for (size_t i = 0; ok && i < len; i++)
		ok = (token[i] >= '0' && token[i] <= '9') || (token[i] >= 'a' && token[i] <= 'z') ||
		     (token[i] >= 'A' && token[i] <= 'Z') || token[i] == '-' || token[i] == '_';
	if (!ok)
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "no such review invitation");
	http_client_addr(req, addr, sizeof addr);
	snprintf(key, sizeof key, "r:%s", token);
	int wait = 0;
	if (app->guard && !guard_admit(app->guard, addr, key, false, clock_now(app->clock), &wait)) {
		req->retry_after = wait;
		return ks_fail(e, KS_ERR_TOO_MANY, NULL, "too many requests: try again in %d s", wait);
	}
	ks_err err = store_review_click(app->store, token, clock_now(app->clock), url, e);
	if (err)
		return err;
	if (strlen(url) >= sizeof req->location)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "the review page's URL is too long for a redirect");
	snprintf(req->location, sizeof req->location, "%s", url);
	ks_buf b;
	buf_init(&b, 4096);
	/* the body for clients that do not follow: the link itself */
	err = buf_puts(&b, "<!doctype html><meta charset=\"utf-8\"><title>Review</title><a href=\"");
	if (!err) /* issue 16 H7: escaped, as any text in HTML: an & of a query string is &amp; */
		err = buf_html(&b, url);
	if (!err)
		err = buf_puts(&b, "\">Review</a>\n");
	if (err) {
		buf_free(&b);
		return ks_fail(e, err, NULL, "could not build the reply");
	}
	http_reply_buf(req, 303, "text/html; charset=utf-8", &b);
	return KS_OK;
}

/* For the thank-you page (api_survey.c): the invitation for a just stored
 * response, as the link "/r/{token}" in href; false when none (off, not a
 * promoter under audience "promoters", no customer or address, opted out, invited lately, or an error:
 * a failure here never spoils the customer's thank-you page). */
bool api_review_offer(api_app *app, int64_t response_id, char *href, size_t n)
{
	char token[STORE_REVIEW_TOKEN_LEN + 1];
	bool offered = false;
	if (response_id <= 0 || store_review_offer(app->store, response_id, clock_now(app->clock), &offered, token,
						   NULL) != KS_OK || !offered)
		return false;
	snprintf(href, n, "/r/%s", token);
	return true;
}
