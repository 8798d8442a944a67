/* text.c — the index's text columns (issue 14): each analysed answer's
 * sentiment label and top-level themes, kept as one u16 code a row into a
 * dictionary of theme sets (index_int.h), the response id -> row map the
 * text hook needs to find a row, and the analyses that arrive before their
 * row. */
#include "analytics/index_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* ---- the tset column --------------------------------------------------------- */

bool an_text_reserve(an_index *ix, size_t cap)
{
	uint16_t *p = realloc(ix->tset, cap * sizeof *p);
	if (p == NULL)
		return false;
	ix->tset = p;
	return true;
}

/* ---- the dictionary of theme sets -------------------------------------------- */

static uint64_t an_tset_hash(const an_tset *s)
{
	uint64_t h = s->any * 0x9E3779B97F4A7C15ULL;
	h ^= (s->neg + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL;
	h ^= (s->pos + 0x85157AF5ULL) * 0x94D049BB133111EBULL;
	h ^= s->label;
	return h ^ (h >> 31);
}

static bool an_tset_eq(const an_tset *a, const an_tset *b)
{
	return a->any == b->any && a->neg == b->neg && a->pos == b->pos && a->label == b->label;
}

/* Slots for n sets: a power of two at least twice n + 1, whatever the
 * table has now (after a failed rehash it has none, and n may be large). */
static size_t an_tsets_slots_for(size_t n)
{
	size_t s = 512;
	while (s < 2 * (n + 1))
		s *= 2;
	return s;
}

static bool an_tsets_rehash(an_tsets *d, size_t n_slots)
{
	uint32_t *slot = calloc(n_slots, sizeof *slot);
	if (slot == NULL)
		return false;
	for (size_t c = 1; c < d->n; c++) {
		size_t i = an_tset_hash(&d->v[c]) & (n_slots - 1);
		while (slot[i])
			i = (i + 1) & (n_slots - 1);
		slot[i] = (uint32_t)c;
	}
	free(d->slot);
	d->slot = slot;
	d->n_slots = n_slots;
	return true;
}

static uint16_t an_tsets_find(const an_tsets *d, const an_tset *s)
{
	if (d->n_slots == 0)
		return 0;
	for (size_t i = an_tset_hash(s) & (d->n_slots - 1);; i = (i + 1) & (d->n_slots - 1)) {
		uint32_t c = d->slot[i];
		if (c == 0)
			return 0;
		if (an_tset_eq(&d->v[c], s))
			return (uint16_t)c;
	}
}

/* The code of s, added when new; 0 when the dictionary is full or out of
 * memory. */
static uint16_t an_tsets_put(an_tsets *d, const an_tset *s)
{
	uint16_t c = an_tsets_find(d, s);
	if (c)
		return c;
	if (d->n == 0)
		d->n = 1; /* code 0: no analysis (v[0] is allocated below) */
	if (d->n > AN_TSET_MAX)
		return 0;
	if (d->n >= d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		an_tset *v = realloc(d->v, cap * sizeof *v);
		if (v == NULL)
			return 0;
		memset(v + d->cap, 0, (cap - d->cap) * sizeof *v);
		d->v = v;
		d->cap = cap;
	}
	if ((d->n + 1) * 2 > d->n_slots && !an_tsets_rehash(d, an_tsets_slots_for(d->n + 1)))
		return 0;
	c = (uint16_t)d->n++;
	d->v[c] = *s;
	size_t i = an_tset_hash(s) & (d->n_slots - 1);
	while (d->slot[i])
		i = (i + 1) & (d->n_slots - 1);
	d->slot[i] = c;
	return c;
}

/* Renumber the dictionary to the codes rows (and pending analyses) still
 * use: reanalyses replace sets, and the codes of sets nobody has any more
 * would otherwise fill it. One pass over the column. */
static void an_tsets_compact(an_index *ix)
{
	an_tsets *d = &ix->sets;
	uint16_t *map = calloc(AN_TSET_MAX + 1, sizeof *map);
	an_tset *v = calloc(d->cap ? d->cap : 1, sizeof *v);
	if (map == NULL || v == NULL) {
		free(map);
		free(v);
		return;
	}
	size_t n = 1;
	for (size_t i = 0; i < ix->n; i++) {
		uint16_t c = ix->tset[i];
		if (c && map[c] == 0) {
			v[n] = d->v[c];
			map[c] = (uint16_t)n++;
		}
	}
	for (size_t i = 0; i < ix->pending.n; i++) {
		uint16_t c = ix->pending.code[i];
		if (c && map[c] == 0) {
			v[n] = d->v[c];
			map[c] = (uint16_t)n++;
		}
	}
	for (size_t i = 0; i < ix->n; i++)
		ix->tset[i] = map[ix->tset[i]];
	for (size_t i = 0; i < ix->pending.n; i++)
		ix->pending.code[i] = map[ix->pending.code[i]];
	free(d->v);
	d->v = v;
	d->n = n;
	free(map);
	if (!an_tsets_rehash(d, an_tsets_slots_for(d->n)))
		d->n_slots = 0; /* lookups then miss: a later put rebuilds it */
}

/* The code of a set, making room when the dictionary is full: compact it
 * once; if every code is still in use (65,535 distinct combinations), the
 * row keeps its themes without their own sentiment, and failing that its
 * label alone — counts by label stay exact either way. */
static uint16_t an_tset_code(an_index *ix, const an_tset *s)
{
	uint16_t c = an_tsets_put(&ix->sets, s);
	if (c)
		return c;
	an_tsets_compact(ix);
	if ((c = an_tsets_put(&ix->sets, s)) != 0)
		return c;
	an_tset coarse = {.any = s->any, .label = s->label};
	if ((c = an_tsets_put(&ix->sets, &coarse)) != 0)
		return c;
	an_tset bare = {.label = s->label};
	return an_tsets_put(&ix->sets, &bare);
}

/* ---- theme ids ---------------------------------------------------------------- */

/* The bit of a theme id, -1 when it has none: the 65th distinct id and
 * later ones are not indexed (logged once) until a restart builds the
 * dictionary from the themes stored then. */
static int an_theme_bit(an_index *ix, const char *id)
{
	an_dict *d = &ix->themes;
	for (size_t i = 1; i < d->n; i++)
		if (strcmp(d->names[i], id) == 0)
			return (int)i - 1;
	if (d->n > AN_MAX_THEMES) {
		if (!ix->warned_themes)
			fprintf(stderr, "klantstem: analytics index: more than %d themes; '%s' and later "
				"new themes are not counted until a restart\n", AN_MAX_THEMES, id);
		ix->warned_themes = true;
		return -1;
	}
	uint16_t c = an_dict_put(d, id);
	return c ? (int)c - 1 : -1;
}

static uint16_t an_row_code(an_index *ix, const store_text_row *r)
{
	if (r->label < 0 || r->label > 2)
		return 0;
	an_tset s = {.label = (uint8_t)(r->label + 1)};
	for (int i = 0; i < r->n_themes && i < STORE_TEXT_MAX_THEMES; i++) {
		char id[sizeof r->themes[i] + 1];
		memcpy(id, r->themes[i], sizeof r->themes[i]);
		id[sizeof r->themes[i]] = '\0';
		if (id[0] == '\0')
			continue;
		int b = an_theme_bit(ix, id);
		if (b < 0)
			continue;
		uint64_t bit = 1ULL << b;
		s.any |= bit;
		if (r->theme_labels[i] == 0)
			s.neg |= bit;
		else if (r->theme_labels[i] == 2)
			s.pos |= bit;
	}
	return an_tset_code(ix, &s);
}

/* ---- response id -> row ---------------------------------------------------------- */

/* The first run with id0 > id. */
static size_t an_runs_upper(const an_idmap *m, int64_t id)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->runs[mid].id0 <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int64_t an_text_row(const an_index *ix, int64_t id)
{
	const an_idmap *m = &ix->ids;
	size_t k = an_runs_upper(m, id);
	if (k == 0)
		return -1;
	const an_run *r = &m->runs[k - 1];
	if (id - r->id0 >= (int64_t)r->len)
		return -1;
	return (int64_t)r->row0 + (id - r->id0);
}

static bool an_idmap_add(an_idmap *m, int64_t id, size_t row)
{
	if (m->n > 0) {
		an_run *last = &m->runs[m->n - 1];
		if (id == last->id0 + (int64_t)last->len && row == (size_t)last->row0 + last->len) {
			last->len++;
			return true;
		}
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		an_run *p = realloc(m->runs, cap * sizeof *p);
		if (p == NULL)
			return false;
		m->runs = p;
		m->cap = cap;
	}
	size_t at = an_runs_upper(m, id); /* late ids go in id order */
	memmove(m->runs + at + 1, m->runs + at, (m->n - at) * sizeof *m->runs);
	m->runs[at] = (an_run){id, (uint32_t)row, 1};
	m->n++;
	return true;
}

/* ---- pending analyses -------------------------------------------------------------- */

static void an_pending_put(an_index *ix, int64_t id, uint16_t code)
{
	an_pending *p = &ix->pending;
	for (size_t i = 0; i < p->n; i++)
		if (p->id[i] == id) {
			p->code[i] = code;
			return;
		}
	if (p->n == AN_PENDING_MAX) {
		memmove(p->id, p->id + 1, (p->n - 1) * sizeof *p->id);
		memmove(p->code, p->code + 1, (p->n - 1) * sizeof *p->code);
		p->n--;
		fprintf(stderr, "klantstem: analytics index: too many analyses of responses not yet "
			"indexed; the oldest is dropped until a restart\n");
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		int64_t *ids = realloc(p->id, cap * sizeof *ids);
		if (ids == NULL)
			return;
		p->id = ids;
		uint16_t *codes = realloc(p->code, cap * sizeof *codes);
		if (codes == NULL)
			return;
		p->code = codes;
		p->cap = cap;
	}
	p->id[p->n] = id;
	p->code[p->n++] = code;
	if (id > p->max_id)
		p->max_id = id;
}

void an_text_appended(an_index *ix, size_t row, int64_t id)
{
	if (id <= 0)
		return;
	if (!an_idmap_add(&ix->ids, id, row))
		fprintf(stderr, "klantstem: analytics index: out of memory; response %lld's analysis "
			"will not be counted\n", (long long)id);
	an_pending *p = &ix->pending;
	/* Held answers are older than the rows the writer appends: most rows
	 * are above every pending id and skip the search. */
	for (size_t i = 0; id <= p->max_id && i < p->n; i++) {
		if (p->id[i] != id)
			continue;
		ix->tset[row] = p->code[i];
		p->n--;
		memmove(p->id + i, p->id + i + 1, (p->n - i) * sizeof *p->id);
		memmove(p->code + i, p->code + i + 1, (p->n - i) * sizeof *p->code);
		return;
	}
}

/* ---- changes, for the disclosure cache ---------------------------------------------- */

/* A change of an analysis of a row received before `before` must change
 * the disclosure cache's key (a canonical table built with a theme filter
 * counts it), while the rows of today must not (the cache would be rebuilt
 * on every answer). Changes are counted per UTC day of their row; the key
 * adds those of every day up to the one holding before - 1 (a change on
 * that day after `before` costs a rebuild, never a stale table). Counts
 * only grow, so the sum changes whenever one does: no collision. */
#define AN_DAYS (UINT32_MAX / 86400u + 1u)

static void an_text_changed(an_index *ix, size_t row)
{
	if (ix->tchg == NULL && (ix->tchg = calloc(AN_DAYS, sizeof *ix->tchg)) == NULL) {
		ix->dims_version++;  /* no table: every cached one goes */
		return;
	}
	ix->tchg[ix->t[row] / 86400u]++;
}

uint64_t an_text_changes(const an_index *ix, int64_t before)
{
	if (ix->tchg == NULL || before <= 0)
		return 0;
	int64_t last = (before - 1) / 86400;
	if (last >= (int64_t)AN_DAYS)
		last = AN_DAYS - 1;
	uint64_t sum = 0;
	for (int64_t d = 0; d <= last; d++)
		sum += ix->tchg[d];
	return sum;
}

/* ---- applying analyses ---------------------------------------------------------------- */

static void an_text_apply_locked(an_index *ix, const store_text_row *rows, int n)
{
	for (int i = 0; i < n; i++) {
		uint16_t code = an_row_code(ix, &rows[i]);
		int64_t row = an_text_row(ix, rows[i].response_id);
		if (row >= 0) {
			/* an unchanged analysis (most of a reanalysis) changes nothing */
			if (ix->tset[row] != code) {
				ix->tset[row] = code;
				if (!ix->building)
					an_text_changed(ix, (size_t)row);
			}
		} else {
			/* the row is not in the index yet (code 0: removed before it arrived) */
			an_pending_put(ix, rows[i].response_id, code);
		}
	}
}

void an_index_text(an_index *ix, const store_text_row *rows, int n)
{
	pthread_rwlock_wrlock(&ix->lock);
	an_text_apply_locked(ix, rows, n);
	pthread_rwlock_unlock(&ix->lock);
}

/* The store's scan at build: the write lock is already held. */
static void an_text_scan_row(void *arg, const store_text_row *rows, int n)
{
	an_text_apply_locked(arg, rows, n);
}

ks_err an_text_build(an_index *ix, ks_error *e)
{
	ix->building = true;
	ks_err err = store_scan_text(ix->store, 0, an_text_scan_row, ix, e);
	ix->building = false;
	return err;
}

void an_text_free(an_index *ix)
{
	free(ix->tset);
	free(ix->sets.v);
	free(ix->sets.slot);
	free(ix->ids.runs);
	free(ix->pending.id);
	free(ix->pending.code);
	free(ix->tchg);
	an_dict_free(&ix->themes);
}

size_t an_text_bytes(const an_index *ix)
{
	return ix->sets.cap * sizeof(an_tset) + ix->sets.n_slots * sizeof(uint32_t) +
	       ix->ids.cap * sizeof(an_run) + ix->pending.cap * (sizeof(int64_t) + sizeof(uint16_t)) +
	       ix->themes.n * 48 + (ix->tchg ? AN_DAYS * sizeof *ix->tchg : 0);
}

/* ---- what queries read ------------------------------------------------------------------ */

size_t an_index_theme_ids(an_index *ix, char (*out)[48], size_t max)
{
	pthread_rwlock_rdlock(&ix->lock);
	size_t n = 0;
	for (size_t i = 1; i < ix->themes.n && n < max; i++)
		snprintf(out[n++], 48, "%s", ix->themes.names[i]);
	pthread_rwlock_unlock(&ix->lock);
	return n;
}

/* ---- priv2: analysed answers by (unit, employee, month, theme set) ---------------------------- */

typedef struct an_tc_map {
	an_tclass *v;
	uint32_t *slot;          /* open addressing: key -> index + 1 */
	size_t n, cap, n_slots;
	uint64_t *key;           /* per entry: unit code << 48 | employee code << 32 | month */
} an_tc_map;

static size_t an_tc_hash(uint64_t k, uint64_t themes)
{
	uint64_t h = k * 0x9E3779B97F4A7C15ULL ^ (themes + 0x632BE59BD9B4E019ULL) * 0xBF58476D1CE4E5B9ULL;
	return (size_t)(h ^ (h >> 31));
}

static bool an_tc_grow(an_tc_map *m)
{
	size_t nc = m->cap ? m->cap * 2 : 1024, ns = nc * 2;
	an_tclass *v = realloc(m->v, nc * sizeof *v);
	if (v == NULL)
		return false;
	m->v = v;
	uint64_t *key = realloc(m->key, nc * sizeof *key);
	if (key == NULL)
		return false;
	m->key = key;
	uint32_t *slot = calloc(ns, sizeof *slot);
	if (slot == NULL)
		return false;
	free(m->slot);
	m->slot = slot;
	m->n_slots = ns;
	m->cap = nc;
	for (size_t i = 0; i < m->n; i++) {
		size_t s = an_tc_hash(m->key[i], m->v[i].themes) & (ns - 1);
		while (m->slot[s])
			s = (s + 1) & (ns - 1);
		m->slot[s] = (uint32_t)(i + 1);
	}
	return true;
}

/* The entry of (k, themes), added (zeroed) when new; NULL out of memory. */
static an_tclass *an_tc_get(an_tc_map *m, uint64_t k, uint64_t themes)
{
	if ((m->n + 1) * 2 > m->n_slots && !an_tc_grow(m))
		return NULL;
	size_t s = an_tc_hash(k, themes) & (m->n_slots - 1);
	for (; m->slot[s]; s = (s + 1) & (m->n_slots - 1)) {
		size_t i = m->slot[s] - 1;
		if (m->key[i] == k && m->v[i].themes == themes)
			return &m->v[i];
	}
	memset(&m->v[m->n], 0, sizeof m->v[0]);
	m->v[m->n].themes = themes;
	m->key[m->n] = k;
	m->slot[s] = (uint32_t)(++m->n);
	return &m->v[m->n - 1];
}

/* Rows come in time order: the local day of the last one is kept. */
typedef struct an_tc_day {
	int64_t lo, hi;
	int ym;
} an_tc_day;

static int an_tc_month(const an_index *ix, an_tc_day *d, int64_t t)
{
	if (t < d->lo || t >= d->hi) {
		int64_t day = tz_local_day(&ix->tz, t);
		int y, m, dd;
		clock_civil(day, &y, &m, &dd);
		d->lo = tz_day_start(&ix->tz, day);
		d->hi = tz_day_start(&ix->tz, day + 1);
		d->ym = y * 12 + m - 1;
	}
	return d->ym;
}

static bool an_tc_pass(const an_index *ix, const an_slice *sl, an_tc_map *m)
{
	uint8_t keep[AN_SLICE_CHUNK];
	an_tc_day day = {0, 0, 0};
	for (size_t s = 0; s < ix->n; s += AN_SLICE_CHUNK) {
		size_t n = ix->n - s < AN_SLICE_CHUNK ? ix->n - s : AN_SLICE_CHUNK;
		an_slice_keep(sl, s, n, keep);
		for (size_t i = 0; i < n; i++) {
			size_t r = s + i;
			uint16_t code = ix->tset[r];
			if (!keep[i] || code == 0)
				continue;
			int ym = an_tc_month(ix, &day, ix->t[r]);
			uint64_t k = (uint64_t)ix->team[r] << 48 | (uint64_t)ix->emp[r] << 32 | (uint32_t)ym;
			an_tclass *c = an_tc_get(m, k, ix->sets.v[code].any);
			if (c == NULL)
				return false;
			uint16_t a = ix->ans[r];
			c->ym = ym;
			c->n++;
			c->m[0] += (a & 15u) <= 10u;
			c->m[1] += ((a >> 4) & 15u) >= 1u && ((a >> 4) & 15u) <= 10u;
			c->m[2] += ((a >> 8) & 7u) >= 1u;
		}
	}
	return true;
}

ks_err an_text_classes(an_index *ix, const an_filter *f, an_tclass **out, size_t *n_out, char (*ids)[48],
		       size_t *n_ids, ks_error *e)
{
	*out = NULL;
	*n_out = *n_ids = 0;
	an_tc_map m;
	memset(&m, 0, sizeof m);
	pthread_rwlock_rdlock(&ix->lock);
	an_slice *sl = NULL;
	ks_err err = an_slice_new(ix, f, &sl, e);
	if (!err && ix->sets.v && !an_tc_pass(ix, sl, &m))
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; !err && i < m.n; i++) {
		uint64_t k = m.key[i];
		uint32_t u = (uint32_t)(k >> 48), em = (uint32_t)(k >> 32) & 0xFFFFu;
		m.v[i].unit_id = u < ix->units.n ? ix->units.ids[u] : 0;
		m.v[i].employee_id = em < ix->emps.n ? ix->emps.ids[em] : 0;
	}
	for (size_t i = 1; !err && i < ix->themes.n && *n_ids < AN_MAX_THEMES; i++)
		snprintf(ids[(*n_ids)++], 48, "%s", ix->themes.names[i]);
	an_slice_free(sl);
	pthread_rwlock_unlock(&ix->lock);
	free(m.slot);
	free(m.key);
	if (err) {
		free(m.v);
		return err;
	}
	*out = m.v;
	*n_out = m.n;
	return KS_OK;
}
