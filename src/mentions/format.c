/* format.c — the JSON formats of review sites and social media, mapped onto
 * mention_in (docs/MENTIONS.md has each mapping). Vendor documents carry
 * many members we do not keep: unknown members are ignored here (unlike the
 * generic layout, whose columns are ours and where a typo must not pass).
 * A member we need that has the wrong type fails naming its JSON path.
 */
#include "mentions/parse_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const char *mp_jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *mp_jstr2(const json_t *o, const char *key, const char *sub)
{
	return mp_jstr(json_object_get(o, key), sub);
}

ks_err mp_jtime(mentions_batch *b, mention_in *m, const json_t *o, const char *key, const char *name,
		bool required, int64_t *out, ks_error *e)
{
	const json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v)) {
		if (required)
			return mp_fail(e, KS_ERR_INVALID, b, m->where, name, "%s is required", name);
		return KS_OK;
	}
	char num[32];
	const char *s = json_string_value(v);
	if (json_is_integer(v)) { /* unix seconds or milliseconds (social exports) */
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = num;
	}
	if (s == NULL || !mp_time(s, out))
		return mp_fail(e, KS_ERR_INVALID, b, m->where, name, "not an ISO 8601 time");
	return KS_OK;
}

/* An id member as text: a string, or an integer (social exports). */
static ks_err mp_jid(mentions_batch *b, mention_in *m, const json_t *o, const char *key, ks_error *e)
{
	const json_t *v = json_object_get(o, key);
	char num[32];
	if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return mp_set(&m->source_id, num, e);
	}
	if (!json_is_string(v) || json_string_length(v) == 0)
		return mp_fail(e, KS_ERR_INVALID, b, m->where, key, "%s is required (a string)", key);
	return mp_set(&m->source_id, json_string_value(v), e);
}

/* The records of a document: doc itself when it is an array, else the
 * array under key; where is the record's index in that array. */
static const json_t *mp_records(const json_t *doc, const char *key, ks_error *e)
{
	if (json_is_array(doc))
		return doc;
	const json_t *a = json_object_get(doc, key);
	if (!json_is_array(a)) {
		ks_fail(e, KS_ERR_INVALID, key, "expected a JSON array \"%s\" (or an array of records)", key);
		return NULL;
	}
	return a;
}

static ks_err mp_each(const json_t *doc, const char *key, mentions_batch *b,
		      ks_err (*one)(mentions_batch *, mention_in *, const json_t *, const json_t *, ks_error *),
		      ks_error *e)
{
	const json_t *a = mp_records(doc, key, e);
	if (a == NULL)
		return e ? e->code : KS_ERR_INVALID;
	b->where_is_index = true;
	size_t i;
	const json_t *o;
	json_array_foreach(a, i, o) {
		mention_in *m;
		ks_err err = mentions_batch_add(b, &m, e);
		if (err)
			return err;
		m->where = (int)i;
		if (!json_is_object(o))
			return mp_fail(e, KS_ERR_INVALID, b, m->where, "", "a record must be a JSON object");
		if ((err = one(b, m, o, doc, e)) || (err = mp_finish(b, m, e)))
			return err;
	}
	return KS_OK;
}

static ks_err mp_stars(mentions_batch *b, mention_in *m, const json_t *v, const char *name, double lo, double hi,
		       ks_error *e)
{
	if (v == NULL || json_is_null(v))
		return KS_OK; /* a missing rating is no rating, never a zero */
	if (!json_is_number(v))
		return mp_fail(e, KS_ERR_INVALID, b, m->where, name, "must be a number");
	m->has_rating = true;
	m->rating = json_number_value(v);
	m->scale_min = lo;
	m->scale_max = hi;
	return KS_OK;
}

/* ---- Trustpilot: Business API reviews ---------------------------------------------- */

static ks_err mp_tp_one(mentions_batch *b, mention_in *m, const json_t *o, const json_t *doc, ks_error *e)
{
	(void)doc;
	ks_err err = mp_set(&m->source, "trustpilot", e);
	if (!err)
		err = mp_jid(b, m, o, "id", e);
	if (!err)
		err = mp_stars(b, m, json_object_get(o, "stars"), "stars", 1, 5, e);
	if (!err)
		err = mp_jtime(b, m, o, "createdAt", "createdAt", true, &m->created_at, e);
	if (!err)
		err = mp_jtime(b, m, o, "updatedAt", "updatedAt", false, &m->updated_at, e);
	const json_t *loc = json_object_get(o, "location");
	const char *locname = json_is_string(loc) ? json_string_value(loc) : mp_jstr(loc, "name");
	const json_t *reply = json_object_get(o, "companyReply");
	if (!err)
		err = mp_set(&m->title, mp_jstr(o, "title"), e);
	if (!err)
		err = mp_set(&m->text, mp_jstr(o, "text"), e);
	if (!err)
		err = mp_set(&m->author, mp_jstr2(o, "consumer", "displayName"), e);
	if (!err)
		err = mp_set(&m->language, mp_jstr(o, "language"), e);
	if (!err)
		err = mp_set(&m->location, locname, e);
	if (!err)
		err = mp_set(&m->reply_text, mp_jstr(reply, "text"), e);
	if (!err && m->reply_text)
		err = mp_jtime(b, m, reply, json_object_get(reply, "updatedAt") &&
				    !json_is_null(json_object_get(reply, "updatedAt")) ? "updatedAt" : "createdAt",
			       "companyReply.createdAt", false, &m->reply_at, e);
	if (!err && m->source_id) {
		char url[300];
		snprintf(url, sizeof url, "https://www.trustpilot.com/reviews/%s", m->source_id);
		err = mp_set(&m->url, url, e);
	}
	return err;
}

ks_err mp_trustpilot(const json_t *doc, mentions_batch *b, ks_error *e)
{
	return mp_each(doc, "reviews", b, mp_tp_one, e);
}

/* ---- Google Business Profile: accounts.locations.reviews ----------------------------- */

static ks_err mp_google_stars(mentions_batch *b, mention_in *m, const char *s, ks_error *e)
{
	static const char *const words[] = {"ONE", "TWO", "THREE", "FOUR", "FIVE"};
	if (s == NULL || strcmp(s, "STAR_RATING_UNSPECIFIED") == 0)
		return KS_OK;
	for (int i = 0; i < 5; i++)
		if (strcmp(s, words[i]) == 0) {
			m->has_rating = true;
			m->rating = i + 1;
			m->scale_min = 1;
			m->scale_max = 5;
			return KS_OK;
		}
	return mp_fail(e, KS_ERR_INVALID, b, m->where, "starRating", "\"%.20s\" is not ONE..FIVE", s);
}

/* "accounts/1/locations/2/reviews/x" -> "locations/2": the location is
 * what mention_locations maps. */
static ks_err mp_google_location(mention_in *m, const char *name, ks_error *e)
{
	const char *p = name ? strstr(name, "locations/") : NULL;
	if (p == NULL)
		return KS_OK;
	const char *end = strchr(p + strlen("locations/"), '/');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	char buf[200];
	if (n >= sizeof buf)
		return KS_OK;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return mp_set(&m->location, buf, e);
}

/* Google shows a translated review as "(Translated by Google) ...
 * (Original) ...": keep what the customer wrote. */
static const char *mp_google_original(const char *s)
{
	const char *o = s ? strstr(s, "(Original)") : NULL;
	if (o && strncmp(s, "(Translated by Google)", 22) == 0)
		return o + strlen("(Original)");
	return s;
}

static ks_err mp_google_one(mentions_batch *b, mention_in *m, const json_t *o, const json_t *doc, ks_error *e)
{
	(void)doc;
	const json_t *reply = json_object_get(o, "reviewReply");
	ks_err err = mp_set(&m->source, "google", e);
	if (!err)
		err = mp_jid(b, m, o, "reviewId", e);
	if (!err)
		err = mp_google_stars(b, m, mp_jstr(o, "starRating"), e);
	if (!err)
		err = mp_jtime(b, m, o, "createTime", "createTime", true, &m->created_at, e);
	if (!err)
		err = mp_jtime(b, m, o, "updateTime", "updateTime", false, &m->updated_at, e);
	if (!err)
		err = mp_set(&m->text, mp_google_original(mp_jstr(o, "comment")), e);
	if (!err)
		err = mp_set(&m->author, mp_jstr2(o, "reviewer", "displayName"), e);
	if (!err)
		err = mp_google_location(m, mp_jstr(o, "name"), e);
	if (!err)
		err = mp_set(&m->reply_text, mp_jstr(reply, "comment"), e);
	if (!err && m->reply_text)
		err = mp_jtime(b, m, reply, "updateTime", "reviewReply.updateTime", false, &m->reply_at, e);
	return err;
}

ks_err mp_google(const json_t *doc, mentions_batch *b, ks_error *e)
{
	return mp_each(doc, "reviews", b, mp_google_one, e);
}

/* ---- App Store Connect: customerReviews (JSON:API) ----------------------------------- */

/* The response to a review, from "included" by the relationship's id. */
static const json_t *mp_as_response(const json_t *doc, const json_t *o)
{
	const char *rid = mp_jstr(json_object_get(json_object_get(json_object_get(o, "relationships"), "response"),
						  "data"),
				  "id");
	const json_t *inc = json_object_get(doc, "included");
	size_t i;
	const json_t *x;
	if (rid == NULL)
		return NULL;
	json_array_foreach(inc, i, x) {
		const char *id = mp_jstr(x, "id");
		if (id && strcmp(id, rid) == 0)
			return json_object_get(x, "attributes");
	}
	return NULL;
}

static ks_err mp_as_one(mentions_batch *b, mention_in *m, const json_t *o, const json_t *doc, ks_error *e)
{
	const json_t *a = json_object_get(o, "attributes");
	const json_t *resp = mp_as_response(doc, o);
	if (!json_is_object(a))
		return mp_fail(e, KS_ERR_INVALID, b, m->where, "attributes", "attributes is required (an object)");
	ks_err err = mp_set(&m->source, "appstore", e);
	if (!err)
		err = mp_jid(b, m, o, "id", e);
	if (!err)
		err = mp_stars(b, m, json_object_get(a, "rating"), "attributes.rating", 1, 5, e);
	if (!err)
		err = mp_jtime(b, m, a, "createdDate", "attributes.createdDate", true, &m->created_at, e);
	if (!err)
		err = mp_set(&m->title, mp_jstr(a, "title"), e);
	if (!err)
		err = mp_set(&m->text, mp_jstr(a, "body"), e);
	if (!err)
		err = mp_set(&m->author, mp_jstr(a, "reviewerNickname"), e);
	if (!err)
		err = mp_set(&m->location, mp_jstr(a, "territory"), e);
	if (!err && resp)
		err = mp_set(&m->reply_text, mp_jstr(resp, "responseBody"), e);
	if (!err && m->reply_text)
		err = mp_jtime(b, m, resp, "lastModifiedDate", "response.lastModifiedDate", false, &m->reply_at, e);
	return err;
}

ks_err mp_appstore(const json_t *doc, mentions_batch *b, ks_error *e)
{
	return mp_each(doc, "data", b, mp_as_one, e);
}

/* ---- a social-media export: posts ------------------------------------------------------ */

/* The first of the keys that is a string. */
static const char *mp_first(const json_t *o, const char *const *keys)
{
	for (; *keys; keys++) {
		const char *s = mp_jstr(o, *keys);
		if (s)
			return s;
	}
	return NULL;
}

static ks_err mp_social_id(mentions_batch *b, mention_in *m, const json_t *o, ks_error *e)
{
	ks_err err = mp_jid(b, m, o, "id", e);
	const char *platform = mp_first(o, (const char *const[]){"platform", "network", NULL});
	if (err || platform == NULL)
		return err;
	/* ids of two networks may collide: keep them apart (each part cut on a
	 * character boundary, never inside one) */
	char key[300];
	snprintf(key, sizeof key, "%.*s:%.*s", (int)mp_utf8_cut(platform, 40), platform,
		 (int)mp_utf8_cut(m->source_id, 200), m->source_id);
	for (char *p = key; *p && *p != ':'; p++)
		*p = (char)tolower((unsigned char)*p);
	return mp_set(&m->source_id, key, e);
}

static ks_err mp_social_one(mentions_batch *b, mention_in *m, const json_t *o, const json_t *doc, ks_error *e)
{
	(void)doc;
	static const char *const author_k[] = {"author", "handle", "username", "screen_name", NULL};
	static const char *const text_k[] = {"text", "message", "content", "full_text", "body", NULL};
	static const char *const url_k[] = {"url", "permalink", "link", NULL};
	static const char *const lang_k[] = {"language", "lang", NULL};
	const json_t *user = json_object_get(o, "author");
	if (!json_is_object(user))
		user = json_object_get(o, "user");
	const char *author = mp_first(o, author_k);
	if (author == NULL && json_is_object(user))
		author = mp_first(user, (const char *const[]){"handle", "username", "screen_name", "name", NULL});
	const char *timekey = json_object_get(o, "time") ? "time"
			      : json_object_get(o, "created_at") ? "created_at"
			      : json_object_get(o, "timestamp") ? "timestamp" : "date";
	if (!json_object_get(o, timekey))
		return mp_fail(e, KS_ERR_INVALID, b, m->where, "time",
			       "a post needs its time (time, created_at, timestamp or date)");
	ks_err err = mp_set(&m->source, "social", e);
	if (!err)
		err = mp_social_id(b, m, o, e);
	if (!err)
		err = mp_jtime(b, m, o, timekey, timekey, true, &m->created_at, e);
	if (!err)
		err = mp_set(&m->author, author, e);
	if (!err)
		err = mp_set(&m->text, mp_first(o, text_k), e);
	if (!err)
		err = mp_set(&m->url, mp_first(o, url_k), e);
	if (!err)
		err = mp_set(&m->language, mp_first(o, lang_k), e);
	if (!err)
		err = mp_set(&m->location, mp_first(o, (const char *const[]){"brand", "account", NULL}), e);
	return err;
}

ks_err mp_social(const json_t *doc, mentions_batch *b, ks_error *e)
{
	return mp_each(doc, json_object_get(doc, "posts") ? "posts" : "data", b, mp_social_one, e);
}
