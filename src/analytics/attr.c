/* attr.c — the organisation's own data as dimensions of the analytics
 * index (issue 16, H5): products held, login band, newsletter state and
 * custom attributes per response (index_int.h, an_attr).
 *
 * Built aside from one read transaction of the store (store_attr_scan):
 * the dictionaries, the source rows sorted by customer, then every row's
 * values from a copy of the rows' times and customers taken under a short
 * read lock. Swapped in under the write lock, with the rows that arrived
 * meanwhile computed there, and dims_version bumped (the disclosure cache
 * keys on it). Queries run on the old columns until the swap. A response
 * that arrives later is computed at its arrival from the same source rows:
 * what the organisation imported last, at the response's own time. A
 * later import recomputes every row.
 */
#include "analytics/index_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/utf8.h"

_Static_assert(AN_DIM_ATTR_LAST - AN_DIM_ATTR0 + 1 == AN_ATTR_MAX_KEYS, "one dimension per key slot");

#define AN_LOGIN_WINDOW (90 * 86400)
#define AN_PSETS_MAX 65535u

/* ---- product sets ------------------------------------------------------------ */

static uint64_t an_pset_hash(const uint16_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ n; /* FNV-1a over the codes */
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static bool an_pset_eq(const an_psets *s, uint32_t code, const uint16_t *p, size_t n)
{
	return s->len[code] == n && memcmp(s->pool + s->off[code], p, n * sizeof *p) == 0;
}

static bool an_psets_rehash(an_psets *s, size_t slots)
{
	uint32_t *slot = calloc(slots, sizeof *slot);
	if (slot == NULL)
		return false;
	for (uint32_t c = 1; c < s->n; c++) {
		size_t i = an_pset_hash(s->pool + s->off[c], s->len[c]) & (slots - 1);
		while (slot[i])
			i = (i + 1) & (slots - 1);
		slot[i] = c;
	}
	free(s->slot);
	s->slot = slot;
	s->n_slots = slots;
	return true;
}

/* The code of the set p[0..n) (ascending product codes), added on first
 * sight; 0 for the empty set, or when the dictionary is full (the row is
 * then in no product group: logged by the caller). */
static uint16_t an_psets_put(an_psets *s, const uint16_t *p, size_t n)
{
	if (n == 0)
		return 0;
	if (s->n == 0) {
		s->cap = 256;
		s->off = calloc(s->cap, sizeof *s->off);
		s->len = calloc(s->cap, sizeof *s->len);
		if (s->off == NULL || s->len == NULL)
			return 0;
		s->n = 1;
	}
	if ((s->n + 1) * 2 > s->n_slots && !an_psets_rehash(s, s->n_slots ? s->n_slots * 2 : 1024))
		return 0;
	size_t mask = s->n_slots - 1, i = an_pset_hash(p, n) & mask;
	for (; s->slot[i]; i = (i + 1) & mask)
		if (an_pset_eq(s, s->slot[i], p, n))
			return (uint16_t)s->slot[i];
	if (s->n > AN_PSETS_MAX - 1)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap * 2;
		uint32_t *off = realloc(s->off, cap * sizeof *off);
		if (off)
			s->off = off;
		uint16_t *len = realloc(s->len, cap * sizeof *len);
		if (len)
			s->len = len;
		if (off == NULL || len == NULL)
			return 0;
		s->cap = cap;
	}
	if (s->pool_n + n > s->pool_cap) {
		size_t cap = s->pool_cap ? s->pool_cap : 1024;
		while (cap < s->pool_n + n)
			cap *= 2;
		uint16_t *pool = realloc(s->pool, cap * sizeof *pool);
		if (pool == NULL)
			return 0;
		s->pool = pool;
		s->pool_cap = cap;
	}
	uint32_t c = (uint32_t)s->n++;
	s->off[c] = (uint32_t)s->pool_n;
	s->len[c] = (uint16_t)n;
	memcpy(s->pool + s->pool_n, p, n * sizeof *p);
	s->pool_n += n;
	s->slot[i] = c;
	return (uint16_t)c;
}

static void an_psets_free(an_psets *s)
{
	free(s->off);
	free(s->len);
	free(s->pool);
	free(s->slot);
	memset(s, 0, sizeof *s);
}

/* ---- the attribute tables ------------------------------------------------------ */

static void an_attr_destroy(an_attr *a)
{
	if (a == NULL)
		return;
	for (size_t k = 0; k < AN_ATTR_MAX_KEYS; k++)
		an_dict_free(&a->vals[k]);
	an_codes_free(&a->prods);
	free(a->pname);
	an_psets_free(&a->psets);
	free(a->hold);
	free(a->ev);
	free(a->cattr);
	free(a->pset);
	free(a->misc);
	free(a->av);
	free(a);
}

static bool an_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t cap2 = *cap ? *cap * 2 : 1024;
	while (cap2 < need)
		cap2 *= 2;
	void *q = realloc(*p, cap2 * elem);
	if (q == NULL)
		return false;
	*p = q;
	*cap = cap2;
	return true;
}

static int an_attr_key_slot(const an_attr *a, const char *key)
{
	for (size_t k = 0; k < a->n_keys; k++)
		if (strcmp(a->key[k], key) == 0)
			return (int)k;
	return -1;
}

/* The code of a value of slot k: the dictionary's, "other" beyond it. */
static uint8_t an_attr_value_code(const an_attr *a, int k, const char *v)
{
	if (v == NULL || *v == '\0')
		return 0;
	const an_dict *d = &a->vals[k];
	for (size_t i = 1; i < d->n; i++)  /* most common first: short searches */
		if (strcmp(d->names[i], v) == 0)
			return (uint8_t)i;
	return AN_ATTR_OTHER;
}

typedef struct an_attr_scan {
	an_attr *a;
	bool warned_keys;
	const bool *stop;  /* issue 16 (H10): the server is stopping: the scan ends early */
	bool stopped;
} an_attr_scan;

static bool an_attr_stopping(const bool *stop)
{
	return stop && __atomic_load_n(stop, __ATOMIC_RELAXED);
}

static bool an_attr_scan_row(void *arg, const store_attr_row *r)
{
	an_attr_scan *sc = arg;
	an_attr *a = sc->a;
	if (an_attr_stopping(sc->stop)) {
		sc->stopped = true;
		return false;  /* the scan stops: no table (below, not "out of memory") */
	}
	switch (r->kind) {
	case STORE_ATTR_PRODUCT: {
		uint32_t c = an_codes_put(&a->prods, r->product_id, 65535);
		if (c == 0)
			return true;  /* beyond 65,534 products: not indexed */
		char (*pn)[96] = realloc(a->pname, (a->prods.n + 1) * sizeof *pn);
		if (pn == NULL)
			return false;
		a->pname = pn;
		/* at a character boundary: a cut inside one is not a JSON string,
		 * and the product would drop out of /metrics/dimensions */
		utf8_copy(a->pname[c], sizeof a->pname[c], r->text);
		return true;
	}
	case STORE_ATTR_KEY:
		if (an_attr_key_slot(a, r->key) >= 0)
			return true;
		if (a->n_keys == AN_ATTR_MAX_KEYS) {
			if (!sc->warned_keys)
				fprintf(stderr, "klantstem: analytics index: more than %d attribute keys: '%s' and "
					"rarer ones are not dimensions\n", AN_ATTR_MAX_KEYS, r->key);
			sc->warned_keys = true;
			return true;
		}
		snprintf(a->key[a->n_keys++], sizeof a->key[0], "%s", r->key);
		return true;
	case STORE_ATTR_VALUE: {
		int k = an_attr_key_slot(a, r->key);
		if (k < 0 || r->text[0] == '\0')
			return true;
		if (a->vals[k].n > AN_ATTR_MAX_VALUES)  /* names[0] is "" */
			a->overflow[k] = true;
		else if (an_dict_put(&a->vals[k], r->text) == 0)
			return false;
		return true;
	}
	case STORE_ATTR_CUSTOMER: {
		int k = an_attr_key_slot(a, r->key);
		if (k < 0)
			return true;
		if (a->n_cattr == 0 || a->cattr[a->n_cattr - 1].cust != r->customer_id) {
			if (!an_grow((void **)&a->cattr, &a->cattr_cap, a->n_cattr + 1, sizeof *a->cattr))
				return false;
			memset(&a->cattr[a->n_cattr], 0, sizeof a->cattr[0]);
			a->cattr[a->n_cattr++].cust = r->customer_id;
		}
		a->cattr[a->n_cattr - 1].v[k] = an_attr_value_code(a, k, r->text);
		return true;
	}
	case STORE_ATTR_HOLDING: {
		uint32_t c = an_codes_get(&a->prods, r->product_id);
		if (c == 0)
			return true;
		if (!an_grow((void **)&a->hold, &a->hold_cap, a->n_hold + 1, sizeof *a->hold))
			return false;
		a->hold[a->n_hold++] = (an_hold){r->customer_id, (uint16_t)c, r->since_day, r->until_day};
		return true;
	}
	case STORE_ATTR_EVENT:
		if (!an_grow((void **)&a->ev, &a->ev_cap, a->n_ev + 1, sizeof *a->ev))
			return false;
		/* before 1970 or after 2106: outside every response's reach */
		a->ev[a->n_ev++] = (an_event){r->customer_id, r->at < 0 ? 0 : r->at > UINT32_MAX ? UINT32_MAX : (uint32_t)r->at,
					      (uint8_t)r->event};
		return true;
	}
	return true;
}

/* First index i in [0, n) whose cust >= id, over elem-sized records that
 * start with their customer id (an_hold, an_event, an_cattr). */
static size_t an_lower(const void *base, size_t n, size_t elem, int64_t id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t c;
		memcpy(&c, (const char *)base + mid * elem, sizeof c);
		if (c < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* login count -> band code: 1 none, 2 1-3, 3 4-10, 4 11+ */
static uint8_t an_login_band(unsigned n)
{
	return n == 0 ? 1 : n <= 3 ? 2 : n <= 10 ? 3 : 4;
}

typedef struct an_attr_vals {
	uint16_t pset;
	uint8_t misc;
	uint8_t av[AN_ATTR_MAX_KEYS];
} an_attr_vals;

/* The values of a response of customer cust (0 = none) received at t. */
static void an_attr_compute(an_attr *a, const ks_tz *tz, int64_t cust, int64_t t, bool have_logins,
			    an_attr_vals *out)
{
	memset(out, 0, sizeof *out);
	if (cust <= 0)
		return;
	int64_t day = tz_local_day(tz, t);
	uint16_t held[256];
	size_t n = 0;
	for (size_t i = an_lower(a->hold, a->n_hold, sizeof *a->hold, cust);
	     i < a->n_hold && a->hold[i].cust == cust; i++) {
		const an_hold *h = &a->hold[i];
		if (h->since <= day && day < h->until && n < 256) {
			size_t j = n++;  /* insertion: ascending codes */
			for (; j > 0 && held[j - 1] > h->product; j--)
				held[j] = held[j - 1];
			held[j] = h->product;
		}
	}
	out->pset = an_psets_put(&a->psets, held, n);
	unsigned logins = 0;
	uint8_t news = 0;
	for (size_t i = an_lower(a->ev, a->n_ev, sizeof *a->ev, cust); i < a->n_ev && a->ev[i].cust == cust; i++) {
		const an_event *ev = &a->ev[i];
		if ((int64_t)ev->at >= t)
			break;  /* by time within the customer */
		if (ev->kind == STORE_ATTR_LOGIN)
			logins += (int64_t)ev->at >= t - AN_LOGIN_WINDOW;
		else
			news = ev->kind == STORE_ATTR_SUBSCRIBED ? 1 : 2;
	}
	out->misc = (uint8_t)((have_logins ? an_login_band(logins) : 0) | news << 3);
	size_t c = an_lower(a->cattr, a->n_cattr, sizeof *a->cattr, cust);
	if (c < a->n_cattr && a->cattr[c].cust == cust)
		memcpy(out->av, a->cattr[c].v, sizeof out->av);
}

/* Are there logins at all? Without any, every band is "unknown" (no data
 * about logins was imported), not "none". Once per build. */
static bool an_attr_any_login(const an_attr *a)
{
	for (size_t i = 0; i < a->n_ev; i++)
		if (a->ev[i].kind == STORE_ATTR_LOGIN)
			return true;
	return false;
}

static void an_attr_store(an_attr *a, size_t row, const an_attr_vals *v)
{
	a->pset[row] = v->pset;
	a->misc[row] = v->misc;
	if (a->n_keys)
		memcpy(a->av + row * a->n_keys, v->av, a->n_keys);
}

static bool an_attr_cols(an_attr *a, size_t cap)
{
	if (cap <= a->cap)
		return true;
	uint16_t *p = realloc(a->pset, cap * sizeof *p);
	if (p == NULL)
		return false;
	a->pset = p;
	uint8_t *m = realloc(a->misc, cap);
	if (m == NULL)
		return false;
	a->misc = m;
	if (a->n_keys) {
		uint8_t *v = realloc(a->av, cap * a->n_keys);
		if (v == NULL)
			return false;
		a->av = v;
	}
	a->cap = cap;
	return true;
}

/* ---- hooks of index.c (write lock held) ------------------------------------------ */

bool an_attr_reserve(an_index *ix, size_t cap)
{
	return ix->attr == NULL || an_attr_cols(ix->attr, cap);
}

void an_attr_appended(an_index *ix, size_t row, int64_t customer_id, int64_t t)
{
	an_attr *a = ix->attr;
	if (a == NULL || row >= a->cap)
		return;
	an_attr_vals v;
	an_attr_compute(a, &ix->tz, customer_id, t, a->have_logins, &v);
	an_attr_store(a, row, &v);
}

void an_attr_clear_row(an_index *ix, size_t row)
{
	an_attr_vals none;
	memset(&none, 0, sizeof none);
	if (ix->attr && row < ix->attr->cap)
		an_attr_store(ix->attr, row, &none);
}

static void an_attr_forget_in(an_attr *a, int64_t customer_id)
{
	if (a == NULL || customer_id <= 0)
		return;
	/* Ids stay sorted: a negative id keeps the order's shape for the
	 * searches of other customers only if it sorts where it was, so the
	 * rows are emptied in place instead (no customer has id -1). */
	for (size_t i = an_lower(a->hold, a->n_hold, sizeof *a->hold, customer_id);
	     i < a->n_hold && a->hold[i].cust == customer_id; i++)
		a->hold[i].until = a->hold[i].since;  /* never held */
	for (size_t i = an_lower(a->ev, a->n_ev, sizeof *a->ev, customer_id);
	     i < a->n_ev && a->ev[i].cust == customer_id; i++)
		a->ev[i].at = UINT32_MAX;  /* after every response */
	size_t c = an_lower(a->cattr, a->n_cattr, sizeof *a->cattr, customer_id);
	if (c < a->n_cattr && a->cattr[c].cust == customer_id)
		memset(a->cattr[c].v, 0, sizeof a->cattr[c].v);
}

void an_attr_forget(an_index *ix, int64_t customer_id)
{
	an_attr_forget_in(ix->attr, customer_id);
}

void an_attr_note_erased(an_index *ix, int64_t customer_id)
{
	if (ix->attr_building == 0 || customer_id <= 0)
		return;
	if (ix->attr_erased_n == ix->attr_erased_cap) {
		size_t cap = ix->attr_erased_cap ? 2 * ix->attr_erased_cap : 16;
		int64_t *p = realloc(ix->attr_erased, cap * sizeof *p);
		if (p == NULL) {
			ix->attr_erased_lost = true;
			return;
		}
		ix->attr_erased = p;
		ix->attr_erased_cap = cap;
	}
	ix->attr_erased[ix->attr_erased_n++] = customer_id;
}

size_t an_attr_bytes(const an_index *ix)
{
	const an_attr *a = ix->attr;
	if (a == NULL)
		return 0;
	size_t b = a->hold_cap * sizeof *a->hold + a->ev_cap * sizeof *a->ev + a->cattr_cap * sizeof *a->cattr +
		   a->psets.cap * 6 + a->psets.pool_cap * 2 + a->psets.n_slots * 4 + a->prods.cap * (8 + 96) +
		   a->prods.dir_n * 4 + a->prods.slots * 12;
	for (size_t k = 0; k < a->n_keys; k++)
		for (size_t i = 0; i < a->vals[k].n; i++)
			b += strlen(a->vals[k].names[i]) + 1 + sizeof(char *);
	return b;
}

size_t an_attr_row_bytes(const an_index *ix)
{
	return ix->attr ? 2 + 1 + ix->attr->n_keys : 0;
}

int an_attr_slot(const an_index *ix, const char *key)
{
	return ix->attr ? an_attr_key_slot(ix->attr, key) : -1;
}

/* ---- building aside and swapping ----------------------------------------------------- */

/* The rows' times and customers, copied under a short read lock. */
typedef struct an_attr_snap {
	size_t n;
	uint32_t *t;
	int64_t *cust;
	ks_tz tz;
} an_attr_snap;

static bool an_attr_snapshot(an_index *ix, an_attr *a, an_attr_snap *s)
{
	memset(s, 0, sizeof *s);
	pthread_rwlock_rdlock(&ix->lock);
	const an_attr *old = ix->attr;
	if (old) {
		/* a key keeps its slot: a reply's dimension names stay right */
		for (size_t k = 0; k < old->n_keys; k++)
			memcpy(a->key[k], old->key[k], sizeof a->key[k]);
		a->n_keys = old->n_keys;
	}
	s->n = ix->n;
	s->tz = ix->tz;
	s->t = malloc((s->n ? s->n : 1) * sizeof *s->t);
	s->cust = malloc((s->n ? s->n : 1) * sizeof *s->cust);
	bool ok = s->t && s->cust;
	for (size_t i = 0; ok && i < s->n; i++) {
		s->t[i] = ix->t[i];
		uint32_t c = ix->cust[i];
		s->cust[i] = c < ix->custs.n ? ix->custs.ids[c] : 0;
	}
	pthread_rwlock_unlock(&ix->lock);
	return ok;
}

static ks_err an_attr_build(an_index *ix, ks_error *e)
{
	int64_t t0 = clock_mono_ms();
	an_attr *a = calloc(1, sizeof *a);
	if (a == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	an_attr_snap snap;
	an_attr_scan sc = {.a = a, .stop = &ix->attr_stop};
	store_attr_sink sink = {.row = an_attr_scan_row, .arg = &sc};
	/* issue 16 (H10): erasures from now on are replayed on this table */
	pthread_rwlock_wrlock(&ix->lock);
	ix->attr_building++;
	pthread_rwlock_unlock(&ix->lock);
	ks_err err = an_attr_snapshot(ix, a, &snap) ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	if (!err)
		err = store_attr_scan(ix->store, &sink, &a->run_id, e);
	if (sc.stopped)
		err = ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "shutting down");
	if (!err && !an_attr_cols(a, snap.n ? snap.n : 1))
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	bool have_logins = a->have_logins = !err && an_attr_any_login(a);
	for (size_t i = 0; !err && i < snap.n; i++) {
		if ((i & 65535u) == 0 && an_attr_stopping(&ix->attr_stop))  /* issue 16 (H10) */
			err = ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "shutting down");
		an_attr_vals v;
		an_attr_compute(a, &snap.tz, snap.cust[i], snap.t[i], have_logins, &v);
		an_attr_store(a, i, &v);
	}
	if (!err && a->psets.n >= AN_PSETS_MAX)
		fprintf(stderr, "klantstem: analytics index: more than %u distinct sets of products: "
			"the rest count in no product group\n", AN_PSETS_MAX - 1);
	pthread_rwlock_wrlock(&ix->lock);
	bool ok = !err && !ix->attr_erased_lost;
	/* issue 16 (H10): customers erased since the scan began leave this table too */
	for (size_t i = 0; ok && i < ix->attr_erased_n; i++)
		an_attr_forget_in(a, ix->attr_erased[i]);
	if (--ix->attr_building == 0) {
		ix->attr_erased_n = 0;
		ix->attr_erased_lost = false;
	}
	if (err) {
		pthread_rwlock_unlock(&ix->lock);
		free(snap.t);
		free(snap.cust);
		an_attr_destroy(a);
		return err;
	}
	ok = ok && an_attr_cols(a, ix->cap > snap.n ? ix->cap : snap.n);
	for (size_t i = snap.n; ok && i < ix->n; i++) {
		/* arrived while building: computed as at arrival */
		uint32_t c = ix->cust[i];
		an_attr_vals v;
		an_attr_compute(a, &ix->tz, c < ix->custs.n ? ix->custs.ids[c] : 0, ix->t[i], have_logins, &v);
		an_attr_store(a, i, &v);
	}
	for (size_t i = 0; ok && i < snap.n && i < ix->n; i++)
		if (ix->cust[i] == 0 && snap.cust[i] != 0) {
			/* erased while building */
			an_attr_vals none;
			memset(&none, 0, sizeof none);
			an_attr_store(a, i, &none);
		}
	an_attr *old = NULL;
	if (ok) {
		a->build_ms = clock_mono_ms() - t0;
		old = ix->attr;
		ix->attr = a;
		ix->dims_version++;  /* cached disclosure tables are stale */
	}
	pthread_rwlock_unlock(&ix->lock);
	free(snap.t);
	free(snap.cust);
	if (!ok) {
		an_attr_destroy(a);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory (or an erasure not recorded): the old table stays");
	}
	an_attr_destroy(old);
	return KS_OK;
}

static void an_attr_log(an_index *ix, const char *what);

ks_err an_index_attr_load(an_index *ix, ks_error *e)
{
	ks_err err = an_attr_build(ix, e);
	if (!err)
		an_attr_log(ix, "loaded");
	return err;
}

/* The serve log's line: what the columns cost (docs/ARCHITECTURE.md). */
static void an_attr_log(an_index *ix, const char *what)
{
	an_index_info info;
	an_index_get_info(ix, &info);
	fprintf(stderr, "klantstem: analytics index: attributes %s in %lld ms (import run %lld): %zu keys, %zu "
		"products, %zu bytes a response (of them %zu for attributes), %zu bytes of side tables\n", what,
		(long long)info.attr_build_ms, (long long)info.attr_run, info.attr_keys, info.attr_products,
		info.bytes_per_row, info.attr_keys + 3, info.attr_bytes);
}

static int64_t an_attr_run_of(an_index *ix)
{
	pthread_rwlock_rdlock(&ix->lock);
	int64_t r = ix->attr ? ix->attr->run_id : -1;
	pthread_rwlock_unlock(&ix->lock);
	return r;
}

static void *an_attr_watch_main(void *arg)
{
	an_index *ix = arg;
	pthread_mutex_lock(&ix->attr_mu);
	while (!ix->attr_stop) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ix->attr_interval_ms / 1000;
		until.tv_nsec += (long)(ix->attr_interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ix->attr_cv, &ix->attr_mu, &until);
		if (ix->attr_stop)
			break;
		pthread_mutex_unlock(&ix->attr_mu);
		int64_t run = 0;
		ks_error e;
		ks_error_clear(&e);
		if (store_attr_run_id(ix->store, &run, &e) == KS_OK && run != an_attr_run_of(ix)) {
			if (an_attr_build(ix, &e) != KS_OK)
				fprintf(stderr, "klantstem: analytics index: attributes not reloaded: %s\n", e.message);
			else
				an_attr_log(ix, "reloaded");
		}
		pthread_mutex_lock(&ix->attr_mu);
	}
	pthread_mutex_unlock(&ix->attr_mu);
	return NULL;
}

void an_attr_init(an_index *ix)
{
	pthread_mutex_init(&ix->attr_mu, NULL);
	pthread_cond_init(&ix->attr_cv, NULL);
}

ks_err an_index_attr_watch(an_index *ix, int interval_ms, ks_error *e)
{
	if (ix->attr_watching)
		return KS_OK;
	ix->attr_interval_ms = interval_ms > 0 ? interval_ms : 1000;
	ix->attr_stop = false;
	if (pthread_create(&ix->attr_thread, NULL, an_attr_watch_main, ix) != 0)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the import watcher: %s", strerror(errno));
	ix->attr_watching = true;
	return KS_OK;
}

void an_index_attr_stop(an_index *ix)
{
	if (ix == NULL || !ix->attr_watching)
		return;
	pthread_mutex_lock(&ix->attr_mu);
	__atomic_store_n(&ix->attr_stop, true, __ATOMIC_RELAXED);  /* a rebuild reads it unlocked (H10) */
	pthread_cond_signal(&ix->attr_cv);
	pthread_mutex_unlock(&ix->attr_mu);
	pthread_join(ix->attr_thread, NULL);
	ix->attr_watching = false;
}

void an_attr_free_all(an_index *ix)
{
	an_index_attr_stop(ix);
	an_attr_destroy(ix->attr);
	ix->attr = NULL;
	free(ix->attr_erased);
	ix->attr_erased = NULL;
	pthread_mutex_destroy(&ix->attr_mu);
	pthread_cond_destroy(&ix->attr_cv);
}

/* ---- names --------------------------------------------------------------------------- */

bool an_dim_is_attr(an_dim d)
{
	return d >= AN_DIM_ATTR0 && d <= AN_DIM_ATTR_LAST;
}

an_dim an_dim_resolve(an_index *ix, const char *name)
{
	if (name == NULL || strncmp(name, "attr.", 5) != 0)
		return an_dim_from_name(name);
	pthread_rwlock_rdlock(&ix->lock);
	int k = an_attr_slot(ix, name + 5);
	pthread_rwlock_unlock(&ix->lock);
	return k >= 0 ? (an_dim)(AN_DIM_ATTR0 + k) : AN_DIM_NONE;
}

/* an_dim_label without the lock (the caller holds it). */
void an_dim_label_locked(const an_index *ix, an_dim d, char *out, size_t n)
{
	if (an_dim_is_attr(d)) {
		size_t k = (size_t)(d - AN_DIM_ATTR0);
		snprintf(out, n, "attr.%s", ix->attr && k < ix->attr->n_keys ? ix->attr->key[k] : "");
		return;
	}
	snprintf(out, n, "%s", an_dim_name(d));
}

void an_dim_label(an_index *ix, an_dim d, char *out, size_t n)
{
	pthread_rwlock_rdlock(&ix->lock);
	an_dim_label_locked(ix, d, out, n);
	pthread_rwlock_unlock(&ix->lock);
}

bool an_index_has_product(an_index *ix, int64_t product_id)
{
	pthread_rwlock_rdlock(&ix->lock);
	bool found = ix->attr && an_codes_get(&ix->attr->prods, product_id) != 0;
	pthread_rwlock_unlock(&ix->lock);
	return found;
}

json_t *an_index_attr_json(an_index *ix)
{
	json_t *products = json_array(), *attrs = json_array();
	pthread_rwlock_rdlock(&ix->lock);
	const an_attr *a = ix->attr;
	for (size_t c = 1; a && c < a->prods.n; c++)
		json_array_append_new(products, json_pack("{s:I, s:s}", "id", (json_int_t)a->prods.ids[c], "name",
							  a->pname[c]));
	for (size_t k = 0; a && k < a->n_keys; k++) {
		json_t *vals = json_array();
		for (size_t i = 1; i < a->vals[k].n; i++)
			json_array_append_new(vals, json_string(a->vals[k].names[i]));
		if (a->overflow[k])
			json_array_append_new(vals, json_string("other"));
		char dim[48];
		snprintf(dim, sizeof dim, "attr.%s", a->key[k]);
		json_array_append_new(attrs, json_pack("{s:s, s:s, s:o}", "key", a->key[k], "dimension", dim,
						       "values", vals));
	}
	int64_t run = a ? a->run_id : 0;
	pthread_rwlock_unlock(&ix->lock);
	return json_pack("{s:o, s:o, s:I}", "products", products, "attributes", attrs, "run", (json_int_t)run);
}
