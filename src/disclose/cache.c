/* cache.c — recently built canonical tables (disclose.h, dc_cache).
 *
 * A handful of entries, least recently used out. An entry is shared by
 * the requests that read it (a reference count) and freed by the last of
 * them once it is evicted. Built outside the lock: two requests that miss
 * at once both build, and the second keeps its own (same content).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disclose/canon.h"

#define DC_CACHE_ENTRIES 8

typedef struct dc_entry {
	an_filter key;        /* the canonical table's own filter (canon_key) */
	bool text;            /* a text table (dc_canon_text_get), not a base one */
	an_dim attr;          /* issue 16: an attribute table of this dimension (dc_canon_attr_get) */
	int64_t min_n, min_n_person, as_of;
	uint64_t dims;        /* an_index_versions */
	size_t rows;
	uint64_t used;        /* a clock for least recently used */
	int refs;             /* requests reading it, + 1 while cached */
	dc_canon *table;
} dc_entry;

struct dc_cache {
	pthread_mutex_t lock;
	uint64_t clock;
	dc_entry *slot[DC_CACHE_ENTRIES];
};

ks_err dc_cache_new(dc_cache **out)
{
	dc_cache *c = calloc(1, sizeof *c);
	if (c == NULL)
		return KS_ERR_NOMEM;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return KS_OK;
}

static void dc_entry_unref(dc_entry *x)
{
	if (x && --x->refs == 0) {
		dc_canon_free(x->table);
		free(x->table);
		free(x);
	}
}

void dc_cache_free(dc_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < DC_CACHE_ENTRIES; i++)
		dc_entry_unref(c->slot[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The filter a canonical table is built from: the request's, without the
 * unit, the employee and the window (the table holds them all). Zeroed
 * first so that it can be compared as bytes. */
static void dc_canon_key(const an_filter *f, an_filter *k)
{
	memset(k, 0, sizeof *k);
	memcpy(k->channel, f->channel, sizeof k->channel);
	memcpy(k->language, f->language, sizeof k->language);
	memcpy(k->segment, f->segment, sizeof k->segment);
	memcpy(k->age_band, f->age_band, sizeof k->age_band);
	memcpy(k->since_band, f->since_band, sizeof k->since_band);
	memcpy(k->city, f->city, sizeof k->city);
	k->touchpoint_id = f->touchpoint_id;
	k->journey_id = f->journey_id;
	k->nps_only = f->nps_only;
	/* Issue 14: a base table built under a theme or sentiment filter
	 * counts other answers than one without: they must not share an entry. */
	memcpy(k->theme, f->theme, sizeof k->theme);
	memcpy(k->sentiment, f->sentiment, sizeof k->sentiment);
	k->analysed = f->analysed;
	/* Issue 16 (H5): so do the filters on the organisation's own data. */
	k->product_id = f->product_id;
	memcpy(k->login_band, f->login_band, sizeof k->login_band);
	memcpy(k->newsletter, f->newsletter, sizeof k->newsletter);
	memcpy(k->attr, f->attr, sizeof k->attr);
}

static bool dc_entry_is(const dc_entry *x, const an_filter *k, bool text, an_dim attr, const dc_policy *pol,
			uint64_t dims, size_t rows)
{
	return x && x->text == text && x->attr == attr && x->dims == dims && x->rows == rows && x->as_of == pol->as_of && x->min_n == pol->min_n &&
	       x->min_n_person == pol->min_n_person && memcmp(&x->key, k, sizeof *k) == 0;
}

/* A table built without a cache is owned by the request alone: it is
 * recognised on release by not being in an entry. */
/* The text table: from the base table of the same filters without the
 * text ones (the text table holds those as layers). */
static ks_err dc_text_build(an_index *ix, const dc_policy *pol, const an_filter *f, dc_canon *t, ks_error *e)
{
	an_filter fb = *f;
	memset(fb.theme, 0, sizeof fb.theme);
	memset(fb.sentiment, 0, sizeof fb.sentiment);
	fb.analysed = 0;
	const dc_canon *base = NULL;
	ks_err err = dc_canon_get(ix, pol, &fb, &base, e);
	if (err)
		return err;
	err = dc_canon_build_text(ix, pol, &fb, base, t, e);
	dc_canon_release(pol, base);
	return err;
}

/* Issue 16: the attribute table of d, from the base table of the same
 * filters (f does not filter on d). */
static ks_err dc_attr_build(an_index *ix, const dc_policy *pol, const an_filter *f, an_dim d, dc_canon *t,
			    ks_error *e)
{
	const dc_canon *base = NULL;
	ks_err err = dc_canon_get(ix, pol, f, &base, e);
	if (err)
		return err;
	err = dc_canon_build_attr(ix, pol, f, d, base, t, e);
	dc_canon_release(pol, base);
	return err;
}

static ks_err dc_cache_get(an_index *ix, const dc_policy *pol, const an_filter *f, bool text, an_dim attr,
			   const dc_canon **out, ks_error *e)
{
	dc_cache *c = pol->cache;
	an_filter key, fk = *f;
	if (text) {
		memset(fk.theme, 0, sizeof fk.theme);
		memset(fk.sentiment, 0, sizeof fk.sentiment);
		fk.analysed = 0;
	}
	dc_canon_key(&fk, &key);
	/* The table counts rows before as_of only: today's answers arriving
	 * do not make it stale. */
	uint64_t dims;
	size_t rows;
	an_index_versions(ix, pol->as_of, &dims, &rows);
	if (c) {
		pthread_mutex_lock(&c->lock);
		for (int i = 0; i < DC_CACHE_ENTRIES; i++) {
			dc_entry *x = c->slot[i];
			if (dc_entry_is(x, &key, text, attr, pol, dims, rows)) {
				x->refs++;
				x->used = ++c->clock;
				*out = x->table;
				pthread_mutex_unlock(&c->lock);
				return KS_OK;
			}
		}
		pthread_mutex_unlock(&c->lock);
	}
	dc_canon *t = calloc(1, sizeof *t);
	if (t == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = attr ? dc_attr_build(ix, pol, f, attr, t, e)
		   : text ? dc_text_build(ix, pol, f, t, e) : dc_canon_build(ix, pol, f, t, e);
	if (err) {
		free(t);
		return err;
	}
	*out = t;
	dc_entry *x = c ? calloc(1, sizeof *x) : NULL;
	if (x == NULL)
		return KS_OK; /* no cache (or no memory for it): the request owns t */
	x->key = key;
	x->text = text;
	x->attr = attr;
	x->min_n = pol->min_n;
	x->min_n_person = pol->min_n_person;
	x->as_of = pol->as_of;
	x->dims = dims;
	x->rows = rows;
	x->table = t;
	t->entry = x;
	x->refs = 2; /* the cache and this request */
	pthread_mutex_lock(&c->lock);
	int victim = 0;
	for (int i = 0; i < DC_CACHE_ENTRIES; i++) {
		if (c->slot[i] == NULL) {
			victim = i;
			break;
		}
		if (c->slot[i]->used < c->slot[victim]->used)
			victim = i;
	}
	dc_entry *old = c->slot[victim];
	x->used = ++c->clock;
	c->slot[victim] = x;
	dc_entry_unref(old);
	pthread_mutex_unlock(&c->lock);
	return KS_OK;
}

/* Issue 16 (H10): no table is decided over an attribute-filtered slice —
 * its cells would be decided apart from the attribute table's layer of
 * the same answers, and the unfiltered total minus a shown one is the
 * hidden rest. The attribute and product tables take the other filters
 * and hold the value as a layer (dc_attr_guard). */
static ks_err dc_no_attr_filter(const an_filter *f, ks_error *e)
{
	if (!dc_filter_has_attr(f))
		return KS_OK;
	char name[48] = "attr";
	for (size_t i = 0; i < sizeof f->attr / sizeof f->attr[0]; i++)
		if (f->attr[i].key[0])
			snprintf(name, sizeof name, "attr.%.32s", f->attr[i].key);
	const char *field = f->product_id ? "product" : f->login_band[0] ? "login_band"
		: f->newsletter[0] ? "newsletter" : name;
	return ks_fail(e, KS_ERR_INVALID, field, "%s: a customer-attribute filter cannot be combined with this "
		       "reply (docs/PRIVACY.md section 6)", field);
}

ks_err dc_canon_get(an_index *ix, const dc_policy *pol, const an_filter *f, const dc_canon **out,
		    ks_error *e)
{
	ks_err err = dc_no_attr_filter(f, e);
	return err ? err : dc_cache_get(ix, pol, f, false, AN_DIM_NONE, out, e);
}

ks_err dc_canon_text_get(an_index *ix, const dc_policy *pol, const an_filter *f, const dc_canon **out,
			 ks_error *e)
{
	ks_err err = dc_no_attr_filter(f, e);
	return err ? err : dc_cache_get(ix, pol, f, true, AN_DIM_NONE, out, e);
}

ks_err dc_canon_attr_get(an_index *ix, const dc_policy *pol, const an_filter *f, an_dim d, const dc_canon **out,
			 ks_error *e)
{
	ks_err err = dc_no_attr_filter(f, e);
	return err ? err : dc_cache_get(ix, pol, f, false, d, out, e);
}

/* An entry evicted while requests still read it lives on until the last
 * of them lets go: the reference count, under the cache's lock. */
void dc_canon_release(const dc_policy *pol, const dc_canon *t)
{
	if (t->entry && pol->cache) {
		pthread_mutex_lock(&pol->cache->lock);
		dc_entry_unref(t->entry);
		pthread_mutex_unlock(&pol->cache->lock);
		return;
	}
	dc_canon *own = (dc_canon *)t;
	dc_canon_free(own);
	free(own);
}
