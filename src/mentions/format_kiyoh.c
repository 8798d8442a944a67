/* format_kiyoh.c — the Kiyoh / Klantenvertellen review feed (XML, scores
 * 1..10), read with libxml2.
 *
 * The feed (publication/review/feed.xml) looks like
 *   <reviewFeedDto><locationId/><locationName/><averageRating/>...
 *     <reviews><reviews>                      one review
 *       <reviewId/><reviewAuthor/><city/><rating/>  overall score 1..10
 *       <reviewContent><reviewContent>        one answered question
 *         <questionGroup>DEFAULT_OVERALL|DEFAULT_ONELINER|DEFAULT_OPINION|...
 *         <questionType>INT|TEXT|BOOLEAN</questionType><rating>answer</rating>
 *       </reviewContent>...</reviewContent>
 *       <dateSince/><updatedSince/><reviewLanguage/><comment/>  (company reply)
 *     </reviews>...</reviews></reviewFeedDto>
 * Element names vary a little between the Kiyoh and Klantenvertellen
 * tenants and over time, so a review is any element with a direct
 * <reviewId> child, wherever it is nested. The one-liner becomes the title,
 * the opinion the text; no entities are expanded and nothing is fetched
 * (XML_PARSE_NONET, no NOENT/DTDLOAD).
 */
#include "mentions/parse_int.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

static bool mk_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *mk_child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (mk_is(c, name))
			return c;
	return NULL;
}

/* The element's text (malloc'd by libxml2: xmlFree), NULL when absent. */
static char *mk_text(const xmlNode *n, const char *name)
{
	const xmlNode *c = n ? mk_child(n, name) : NULL;
	return c ? (char *)xmlNodeGetContent(c) : NULL;
}

static ks_err mk_set(char **slot, const xmlNode *n, const char *name, ks_error *e)
{
	char *s = mk_text(n, name);
	ks_err err = mp_set(slot, s, e);
	xmlFree(s);
	return err;
}

static ks_err mk_score(mentions_batch *b, mention_in *m, const char *s, ks_error *e)
{
	double v;
	if (s == NULL || s[strspn(s, " \t\r\n")] == '\0')
		return KS_OK;
	if (!mp_number(s, &v))
		return mp_fail(e, KS_ERR_INVALID, b, m->where, "rating", "\"%.20s\" is not a score 1..10", s);
	m->has_rating = true;
	m->rating = v;
	m->scale_min = 1;
	m->scale_max = 10;
	return KS_OK;
}

/* The answered questions: the one-liner, the opinion, and the overall score
 * when the review has no <rating> of its own. */
static ks_err mk_content(mentions_batch *b, mention_in *m, const xmlNode *rc, ks_error *e)
{
	ks_err err = KS_OK;
	for (const xmlNode *q = rc ? rc->children : NULL; q && !err; q = q->next) {
		if (q->type != XML_ELEMENT_NODE)
			continue;
		char *group = mk_text(q, "questionGroup");
		char *answer = mk_text(q, "rating");
		if (group && strcmp(group, "DEFAULT_ONELINER") == 0)
			err = mp_set(&m->title, answer, e);
		else if (group && strcmp(group, "DEFAULT_OPINION") == 0)
			err = mp_set(&m->text, answer, e);
		else if (group && strcmp(group, "DEFAULT_OVERALL") == 0 && !m->has_rating)
			err = mk_score(b, m, answer, e);
		xmlFree(group);
		xmlFree(answer);
	}
	return err;
}

static ks_err mk_time(mentions_batch *b, mention_in *m, const xmlNode *r, const char *name, bool required,
		      int64_t *out, ks_error *e)
{
	char *s = mk_text(r, name);
	ks_err err = KS_OK;
	if (s == NULL || *s == '\0') {
		if (required)
			err = mp_fail(e, KS_ERR_INVALID, b, m->where, name, "%s is required", name);
	} else if (!mp_time(s, out)) {
		err = mp_fail(e, KS_ERR_INVALID, b, m->where, name, "\"%.40s\" is not an ISO 8601 time", s);
	}
	xmlFree(s);
	return err;
}

static ks_err mk_review(mentions_batch *b, const xmlNode *r, const char *location, ks_error *e)
{
	mention_in *m;
	ks_err err = mentions_batch_add(b, &m, e);
	if (err)
		return err;
	m->where = (int)xmlGetLineNo((xmlNode *)r);
	char *score = mk_text(r, "rating");
	err = mp_set(&m->source, "kiyoh", e);
	if (!err)
		err = mk_set(&m->source_id, r, "reviewId", e);
	if (!err)
		err = mk_score(b, m, score, e);
	if (!err)
		err = mk_content(b, m, mk_child(r, "reviewContent"), e);
	if (!err)
		err = mk_time(b, m, r, "dateSince", true, &m->created_at, e);
	if (!err)
		err = mk_time(b, m, r, "updatedSince", false, &m->updated_at, e);
	if (!err)
		err = mk_set(&m->author, r, "reviewAuthor", e);
	if (!err)
		err = mk_set(&m->language, r, "reviewLanguage", e);
	if (!err)
		err = mk_set(&m->reply_text, r, "comment", e);
	if (!err)
		err = mp_set(&m->location, location, e);
	xmlFree(score);
	if (!err && m->source_id == NULL)
		err = mp_fail(e, KS_ERR_INVALID, b, m->where, "reviewId", "reviewId is empty");
	return err ? err : mp_finish(b, m, e);
}

static ks_err mk_walk(mentions_batch *b, const xmlNode *n, const char *location, int depth, ks_error *e)
{
	if (depth > 16)
		return KS_OK; /* a review feed is shallow; deeper is not one */
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		ks_err err = mk_child(c, "reviewId") ? mk_review(b, c, location, e)
						     : mk_walk(b, c, location, depth + 1, e);
		if (err)
			return err;
	}
	return KS_OK;
}

ks_err mp_kiyoh(const char *buf, size_t len, mentions_batch *b, ks_error *e)
{
	if (len > (size_t)0x7fffffff)
		return ks_fail(e, KS_ERR_TOOBIG, NULL, "the feed is too large");
	xmlDoc *doc = xmlReadMemory(buf, (int)len, NULL, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR |
								      XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
	if (doc == NULL) {
		const xmlError *x = xmlGetLastError();
		char why[128];
		snprintf(why, sizeof why, "%s", x && x->message ? x->message : "unreadable");
		size_t n = strlen(why);
		while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
			why[--n] = '\0'; /* libxml2 ends its messages with a line break */
		return ks_fail(e, KS_ERR_INVALID, NULL, "line %d: not well-formed XML: %s", x ? x->line : 0, why);
	}
	const xmlNode *root = xmlDocGetRootElement(doc);
	char *location = root ? mk_text(root, "locationName") : NULL;
	if (location == NULL && root)
		location = mk_text(root, "locationId");
	ks_err err = root ? mk_walk(b, root, location, 0, e)
			  : ks_fail(e, KS_ERR_INVALID, NULL, "line 1: the feed has no root element");
	xmlFree(location);
	xmlFreeDoc(doc);
	return err;
}
