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
 * the opinion the text.
 *
 * No feed has a DOCTYPE, and one is the way to an entity bomb (a 100 KB
 * document whose entity, repeated, is gigabytes of text): a DOCTYPE stops
 * the parser where it starts (a SAX hook, before the internal subset is
 * read) and the document is refused. Nothing is fetched (XML_PARSE_NONET,
 * no NOENT/DTDLOAD), and a field's text is its own text and CDATA children,
 * read up to one byte past the longest value mentions_check takes — never
 * xmlNodeGetContent, which would expand whatever it meets.
 */
#include "mentions/parse_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/SAX2.h>
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

/* A field's text is read up to this many bytes: one past the longest value
 * mentions_check takes, so that a longer one is still refused as too long. */
#define MK_TEXT_CAP ((size_t)MP_MAX_TEXT + 1)

/* The element's text (malloc'd: free), NULL when absent or out of memory:
 * its direct text and CDATA children joined, at most MK_TEXT_CAP bytes. */
static char *mk_text(const xmlNode *n, const char *name)
{
	const xmlNode *c = n ? mk_child(n, name) : NULL;
	if (c == NULL)
		return NULL;
	size_t len = 0;
	for (const xmlNode *t = c->children; t; t = t->next)
		if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) && t->content && len < MK_TEXT_CAP)
			len += strnlen((const char *)t->content, MK_TEXT_CAP - len);
	char *s = malloc(len + 1);
	if (s == NULL)
		return NULL;
	size_t k = 0;
	for (const xmlNode *t = c->children; t && k < len; t = t->next)
		if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) && t->content) {
			size_t m = strnlen((const char *)t->content, len - k);
			memcpy(s + k, t->content, m);
			k += m;
		}
	s[k] = '\0';
	return s;
}

static ks_err mk_set(char **slot, const xmlNode *n, const char *name, ks_error *e)
{
	char *s = mk_text(n, name);
	ks_err err = mp_set(slot, s, e);
	free(s);
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
		free(group);
		free(answer);
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
	free(s);
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
	free(score);
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

/* What the SAX hooks saw: the line of a DOCTYPE or entity declaration. */
typedef struct mk_guard {
	int doctype_line;        /* 0 = none */
} mk_guard;

static void mk_stop(void *ctx)
{
	xmlParserCtxt *p = ctx;
	mk_guard *g = p->_private;
	if (g->doctype_line == 0)
		g->doctype_line = xmlSAX2GetLineNumber(ctx);
	if (g->doctype_line == 0)
		g->doctype_line = 1;
	xmlStopParser(p);
}

static void mk_on_doctype(void *ctx, const xmlChar *name, const xmlChar *public_id, const xmlChar *system_id)
{
	(void)name, (void)public_id, (void)system_id;
	mk_stop(ctx);
}

static void mk_on_entity(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
			 const xmlChar *system_id, xmlChar *content)
{
	(void)name, (void)type, (void)public_id, (void)system_id, (void)content;
	mk_stop(ctx);
}

/* libxml2's message for the document (its trailing line break cut). */
static ks_err mk_not_xml(xmlParserCtxt *p, ks_error *e)
{
	const xmlError *x = xmlCtxtGetLastError(p);
	char why[128];
	snprintf(why, sizeof why, "%s", x && x->message ? x->message : "unreadable");
	size_t n = strlen(why);
	while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
		why[--n] = '\0';
	return ks_fail(e, KS_ERR_INVALID, "data", "line %d: not well-formed XML: %s", x && x->line > 0 ? x->line : 1,
		       why);
}

/* *doc the document (xmlFreeDoc), or NULL with the error (field "data",
 * message "line N: ..."). */
static ks_err mk_read(const char *buf, size_t len, xmlDoc **doc, ks_error *e)
{
	*doc = NULL;
	xmlParserCtxt *p = xmlNewParserCtxt();
	if (p == NULL || p->sax == NULL) {
		xmlFreeParserCtxt(p);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	mk_guard g = {0};
	p->_private = &g;
	p->sax->internalSubset = mk_on_doctype; /* called at <!DOCTYPE, before its [...] is read */
	p->sax->entityDecl = mk_on_entity;
	xmlDoc *d = xmlCtxtReadMemory(p, buf, (int)len, NULL, "UTF-8",
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS |
					      XML_PARSE_BIG_LINES);
	ks_err err = KS_OK;
	if (g.doctype_line || (d && (d->intSubset || d->extSubset))) {
		xmlFreeDoc(d);
		err = ks_fail(e, KS_ERR_INVALID, "data", "line %d: the feed has a DOCTYPE (entity declarations are"
			      " refused: a review feed has none)", g.doctype_line ? g.doctype_line : 1);
	} else if (d == NULL) {
		err = mk_not_xml(p, e);
	} else {
		*doc = d;
	}
	xmlFreeParserCtxt(p);
	return err;
}

ks_err mp_kiyoh(const char *buf, size_t len, mentions_batch *b, ks_error *e)
{
	if (len > (size_t)0x7fffffff)
		return ks_fail(e, KS_ERR_TOOBIG, "data", "the feed is too large");
	xmlDoc *doc;
	ks_err err = mk_read(buf, len, &doc, e);
	if (err)
		return err;
	const xmlNode *root = xmlDocGetRootElement(doc);
	char *location = root ? mk_text(root, "locationName") : NULL;
	if (location == NULL && root)
		location = mk_text(root, "locationId");
	err = root ? mk_walk(b, root, location, 0, e)
			  : ks_fail(e, KS_ERR_INVALID, "data", "line 1: the feed has no root element");
	free(location);
	xmlFreeDoc(doc);
	return err;
}
