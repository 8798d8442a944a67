/* index.c — building and maintaining the columnar response index. */
#include "analytics/index_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"

/* ---- id -> code maps ------------------------------------------------------ */

static uint64_t an_hash(int64_t id)
{
	uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ULL; /* Fibonacci hashing (Knuth) */
	return x ^ (x >> 29);
}

uint32_t an_codes_get(const an_codes *m, int64_t id)
{
	if (id <= 0)
		return 0;
	if (id < AN_DIRECT_MAX)
		return (size_t)id < m->dir_n ? m->dir[id] : 0;
	if (m->slots == 0)
		return 0;
	size_t mask = m->slots - 1;
	for (size_t i = an_hash(id) & mask;; i = (i + 1) & mask) {
		if (m->keys[i] == id)
			return m->vals[i];
		if (m->keys[i] == 0)
			return 0;
	}
}

static bool an_codes_grow(an_codes *m)
{
	size_t slots = m->slots ? m->slots * 2 : 1024;
	int64_t *keys = calloc(slots, sizeof *keys);
	uint32_t *vals = calloc(slots, sizeof *vals);
	if (keys == NULL || vals == NULL) {
		free(keys);
		free(vals);
		return false;
	}
	for (size_t i = 0; i < m->slots; i++) {
		if (m->keys[i] == 0)
			continue;
		size_t j = an_hash(m->keys[i]) & (slots - 1);
		while (keys[j])
			j = (j + 1) & (slots - 1);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->slots = slots;
	return true;
}

/* The code of id, assigned on first sight. 0 for id <= 0 or when max
 * codes are in use (the caller reports that). */
uint32_t an_codes_put(an_codes *m, int64_t id, uint32_t max)
{
	if (id <= 0)
		return 0;
	uint32_t c = an_codes_get(m, id);
	if (c)
		return c;
	if (m->n >= max)
		return 0;
	if (id >= AN_DIRECT_MAX && (m->n + 1) * 2 > m->slots && !an_codes_grow(m))
		return 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		int64_t *ids = realloc(m->ids, cap * sizeof *ids);
		if (ids == NULL)
			return 0;
		m->ids = ids;
		m->cap = cap;
	}
	if (m->n == 0)
		m->ids[m->n++] = 0; /* code 0 is "none" */
	c = (uint32_t)m->n;
	if (id < AN_DIRECT_MAX) {
		if ((size_t)id >= m->dir_n) {
			size_t n = m->dir_n ? m->dir_n : 1024;
			while (n <= (size_t)id)
				n *= 2;
			uint32_t *dir = realloc(m->dir, n * sizeof *dir);
			if (dir == NULL)
				return 0;
			memset(dir + m->dir_n, 0, (n - m->dir_n) * sizeof *dir);
			m->dir = dir;
			m->dir_n = n;
		}
		m->ids[m->n++] = id;
		m->dir[id] = c;
		return c;
	}
	m->ids[m->n++] = id;
	size_t mask = m->slots - 1;
	size_t i = an_hash(id) & mask;
	while (m->keys[i])
		i = (i + 1) & mask;
	m->keys[i] = id;
	m->vals[i] = c;
	return c;
}

void an_codes_free(an_codes *m)
{
	free(m->dir);
	free(m->keys);
	free(m->vals);
	free(m->ids);
	memset(m, 0, sizeof *m);
}

/* ---- string dictionaries ----------------------------------------------------- */

uint16_t an_dict_put(an_dict *d, const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (size_t i = 1; i < d->n; i++) /* few distinct values: segments, cities */
		if (strcmp(d->names[i], s) == 0)
			return (uint16_t)i;
	if (d->n >= 65535)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		char **names = realloc(d->names, cap * sizeof *names);
		if (names == NULL)
			return 0;
		d->names = names;
		d->cap = cap;
	}
	if (d->n == 0)
		d->names[d->n++] = strdup("");
	char *copy = strdup(s);
	if (copy == NULL)
		return 0;
	d->names[d->n] = copy;
	return (uint16_t)d->n++;
}

void an_dict_free(an_dict *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	memset(d, 0, sizeof *d);
}

/* ---- answers word --------------------------------------------------------------- */

const char *an_channel_name(unsigned code)
{
	if (code == AN_CHANNEL_RELATIONSHIP)
		return "relationship";
	return code >= 1 && code <= 6 ? model_channels[code - 1] : "";
}

static unsigned an_channel_code(const char *ch)
{
	for (unsigned i = 0; i < 6 && model_channels[i]; i++)
		if (strcmp(model_channels[i], ch) == 0)
			return i + 1;
	return strcmp(ch, "relationship") == 0 ? AN_CHANNEL_RELATIONSHIP : 0;
}

static uint16_t an_answers(const model_response *r)
{
	unsigned nps = r->nps >= 0 && r->nps <= 10 ? (unsigned)r->nps : AN_NPS_NONE;
	unsigned grade = r->grade >= 1 && r->grade <= 10 ? (unsigned)r->grade : 0;
	unsigned ces = r->ces >= 1 && r->ces <= 7 ? (unsigned)r->ces : 0;
	unsigned en = strcmp(r->language, "en") == 0;
	return AN_ANS(nps, grade, ces, an_channel_code(r->channel), en);
}

/* ---- appending rows ----------------------------------------------------------------- */

static bool an_reserve(an_index *ix, size_t need)
{
	if (need <= ix->cap)
		return true;
	size_t cap = ix->cap ? ix->cap : 1 << 16;
	while (cap < need)
		cap *= 2;
	void *p[6] = {realloc(ix->t, cap * 4), NULL, NULL, NULL, NULL, NULL};
	if (p[0] == NULL)
		return false;
	ix->t = p[0];
	if ((p[1] = realloc(ix->team, cap * 2)) == NULL)
		return false;
	ix->team = p[1];
	if ((p[2] = realloc(ix->emp, cap * 2)) == NULL)
		return false;
	ix->emp = p[2];
	if ((p[3] = realloc(ix->tp, cap * 2)) == NULL)
		return false;
	ix->tp = p[3];
	if ((p[4] = realloc(ix->cust, cap * 4)) == NULL)
		return false;
	ix->cust = p[4];
	if ((p[5] = realloc(ix->ans, cap * 2)) == NULL)
		return false;
	ix->ans = p[5];
	if (!an_text_reserve(ix, cap))
		return false;
	if (!an_drv_reserve(ix, cap))  /* issue 15 */
		return false;
	if (!an_attr_reserve(ix, cap))  /* issue 16 (H5) */
		return false;
	ix->cap = cap;
	return true;
}

/* Append one response (write lock held by the caller). */
static bool an_append_locked(an_index *ix, const model_response *r)
{
	if (!an_reserve(ix, ix->n + 1))
		return false;
	size_t i = ix->n;
	uint32_t t = r->received_at > 0 && r->received_at < UINT32_MAX ? (uint32_t)r->received_at : 0;
	ix->t[i] = t;
	ix->team[i] = (uint16_t)an_codes_put(&ix->units, r->team_id, 65535);
	ix->emp[i] = (uint16_t)an_codes_put(&ix->emps, r->employee_id, 65535);
	ix->tp[i] = (uint16_t)an_codes_put(&ix->tps, r->touchpoint_id, 65535);
	ix->cust[i] = an_codes_put(&ix->custs, r->customer_id, UINT32_MAX - 1);
	ix->ans[i] = an_answers(r);
	if (((ix->ans[i] >> 11) & 7u) == AN_CHANNEL_RELATIONSHIP)
		ix->n_relationship++;
	ix->tset[i] = 0;
	ix->doff[i] = 0;
	an_drv_set(ix, i, r->drivers, r->n_drivers);  /* issue 15 */
	if (ix->n == 0 || t < ix->min_t)
		ix->min_t = t;
	if (t > ix->max_t)
		ix->max_t = t;
	if (r->id > ix->last_id)
		ix->last_id = r->id;
	ix->n++;
	an_text_appended(ix, i, r->id);
	an_attr_appended(ix, i, r->customer_id, t);  /* issue 16 (H5) */
	return true;
}

static bool an_build_row(void *arg, const model_response *r)
{
	return an_append_locked(arg, r);
}

/* ---- dimension tables ------------------------------------------------------------------ */

static bool an_info_reserve(an_named **info, size_t *n, size_t need)
{
	if (need <= *n)
		return true;
	an_named *p = realloc(*info, need * sizeof *p);
	if (p == NULL)
		return false;
	memset(p + *n, 0, (need - *n) * sizeof *p);
	*info = p;
	*n = need;
	return true;
}

typedef struct an_names_ctx {
	an_index *ix;
	store_names_kind kind;
	bool oom;
} an_names_ctx;

static void an_names_row(void *arg, const store_named *row)
{
	an_names_ctx *c = arg;
	an_index *ix = c->ix;
	an_codes *codes;
	an_named **info;
	size_t *n;
	an_codes *parents = NULL;
	switch (c->kind) {
	case STORE_NAMES_UNITS: codes = &ix->units; info = &ix->unit_info; n = &ix->unit_info_n; parents = &ix->units; break;
	case STORE_NAMES_EMPLOYEES: codes = &ix->emps; info = &ix->emp_info; n = &ix->emp_info_n; parents = &ix->units; break;
	case STORE_NAMES_TOUCHPOINTS: codes = &ix->tps; info = &ix->tp_info; n = &ix->tp_info_n; parents = &ix->journeys; break;
	default: codes = &ix->journeys; info = &ix->journey_info; n = &ix->journey_info_n; break;
	}
	uint32_t code = an_codes_put(codes, row->id, 65535);
	uint32_t parent = parents ? an_codes_put(parents, row->parent_id, 65535) : 0;
	if (code == 0 || !an_info_reserve(info, n, codes->n + 1)) {
		c->oom = true;
		return;
	}
	an_named *x = &(*info)[code];
	snprintf(x->name, sizeof x->name, "%s", row->name);
	x->parent = parent;
	x->kind = row->kind[0];
	x->known = true;
}

static ks_err an_load_names(an_index *ix, ks_error *e)
{
	/* Journeys first so touchpoints find their parents' codes. */
	store_names_kind order[] = {STORE_NAMES_UNITS, STORE_NAMES_JOURNEYS, STORE_NAMES_TOUCHPOINTS,
				    STORE_NAMES_EMPLOYEES};
	for (size_t i = 0; i < 4; i++) {
		an_names_ctx c = {.ix = ix, .kind = order[i]};
		ks_err err = store_scan_names(ix->store, order[i], an_names_row, &c, e);
		if (err)
			return err;
		if (c.oom)
			return ks_fail(e, KS_ERR_NOMEM, NULL, "analytics index: out of memory or codes");
	}
	/* Units referenced only by parents need info slots too. */
	if (!an_info_reserve(&ix->unit_info, &ix->unit_info_n, ix->units.n + 1) ||
	    !an_info_reserve(&ix->emp_info, &ix->emp_info_n, ix->emps.n + 1) ||
	    !an_info_reserve(&ix->tp_info, &ix->tp_info_n, ix->tps.n + 1) ||
	    !an_info_reserve(&ix->journey_info, &ix->journey_info_n, ix->journeys.n + 1))
		return ks_fail(e, KS_ERR_NOMEM, NULL, "analytics index: out of memory");
	return KS_OK;
}

typedef struct an_cust_ctx {
	an_index *ix;
	bool oom;
} an_cust_ctx;

static void an_customer_row(void *arg, const store_customer_attrs *a)
{
	an_cust_ctx *c = arg;
	an_index *ix = c->ix;
	uint32_t code = an_codes_put(&ix->custs, a->id, UINT32_MAX - 1);
	if (code == 0) {
		c->oom = true;
		return;
	}
	if (code >= ix->cust_info_n) {
		size_t n = ix->cust_info_n ? ix->cust_info_n : 1024;
		while (n <= code)
			n *= 2;
		an_customer *p = realloc(ix->cust_info, n * sizeof *p);
		if (p == NULL) {
			c->oom = true;
			return;
		}
		memset(p + ix->cust_info_n, 0, (n - ix->cust_info_n) * sizeof *p);
		ix->cust_info = p;
		ix->cust_info_n = n;
	}
	an_customer *x = &ix->cust_info[code];
	x->segment = an_dict_put(&ix->segments, a->segment);
	x->city = an_dict_put(&ix->cities, a->city);
	x->birth_year = a->birth_year > 0 && a->birth_year < 65535 ? (uint16_t)a->birth_year : 0;
	x->since_year = a->since_year > 0 && a->since_year < 65535 ? (uint16_t)a->since_year : 0;
}

static ks_err an_load_customers(an_index *ix, int64_t only_id, ks_error *e)
{
	an_cust_ctx c = {.ix = ix};
	ks_err err = store_scan_customers(ix->store, only_id, an_customer_row, &c, e);
	if (!err && c.oom)
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "analytics index: out of memory");
	return err;
}

ks_err an_index_refresh_dims(an_index *ix, ks_error *e)
{
	pthread_rwlock_wrlock(&ix->lock);
	ks_err err = an_load_names(ix, e);
	ix->dims_version++;
	pthread_rwlock_unlock(&ix->lock);
	return err;
}

ks_err an_index_refresh_customer(an_index *ix, int64_t customer_id, ks_error *e)
{
	pthread_rwlock_wrlock(&ix->lock);
	ks_err err = an_load_customers(ix, customer_id, e);
	ix->dims_version++;
	pthread_rwlock_unlock(&ix->lock);
	return err;
}

/* Drop id from the map and return the code it had (0 = none). The code
 * stays allocated (the codes of other ids must not move) and maps back to
 * 0; a hashed slot keeps the tombstone -1, so later probes go past it. */
static uint32_t an_codes_forget(an_codes *m, int64_t id)
{
	uint32_t code = an_codes_get(m, id);
	if (code == 0)
		return 0;
	m->ids[code] = 0;
	if (id < AN_DIRECT_MAX) {
		m->dir[id] = 0;
		return code;
	}
	size_t mask = m->slots - 1;
	for (size_t i = an_hash(id) & mask;; i = (i + 1) & mask) {
		if (m->keys[i] == id) {
			m->keys[i] = -1;
			m->vals[i] = 0;
			return code;
		}
	}
}

void an_index_forget(an_index *ix, int64_t customer_id, int64_t employee_id)
{
	pthread_rwlock_wrlock(&ix->lock);
	uint32_t cust = an_codes_forget(&ix->custs, customer_id);
	uint32_t emp = an_codes_forget(&ix->emps, employee_id);
	for (size_t i = 0; (cust || emp) && i < ix->n; i++) {
		if (cust && ix->cust[i] == cust) {
			ix->cust[i] = 0;
			an_attr_clear_row(ix, i);  /* issue 16 (H5): its attributes are personal data */
		}
		if (emp && ix->emp[i] == emp)
			ix->emp[i] = 0;
	}
	if (cust && cust < ix->cust_info_n)
		memset(&ix->cust_info[cust], 0, sizeof ix->cust_info[cust]);
	an_attr_forget(ix, customer_id);
	an_attr_note_erased(ix, customer_id);  /* issue 16 (H10): a table being built forgets them too */
	if (emp && emp < ix->emp_info_n)
		memset(&ix->emp_info[emp], 0, sizeof ix->emp_info[emp]);
	ix->dims_version++;
	pthread_rwlock_unlock(&ix->lock);
}

/* ---- life cycle ------------------------------------------------------------------------ */

/* The store's commit hook: new rows enter the index before their
 * submitters are answered. Customers never seen before get their
 * attributes loaded (one primary-key read each). */
static void an_on_commit(void *arg, const model_response *const *rows, int n)
{
	an_index *ix = arg;
	int64_t unknown[64];
	int n_unknown = 0;
	pthread_rwlock_wrlock(&ix->lock);
	for (int i = 0; i < n; i++) {
		/* issue 18 (NODES): a row it holds already is not counted again
		 * (another node's row seen by the start scan and the follower) */
		if (an_text_row(ix, rows[i]->id) >= 0)
			continue;
		if (rows[i]->customer_id > 0 && an_codes_get(&ix->custs, rows[i]->customer_id) == 0 &&
		    n_unknown < 64)
			unknown[n_unknown++] = rows[i]->customer_id;
		an_append_locked(ix, rows[i]);
	}
	for (int i = 0; i < n_unknown; i++)
		an_load_customers(ix, unknown[i], NULL);
	if (n_unknown > 0)
		ix->dims_version++;
	pthread_rwlock_unlock(&ix->lock);
}

/* Issue 13: the store's update hook. A one-click response's answers
 * changed in place (completed by the form, changed, withdrawn): find its
 * row by the indexed fields it had (any row equal in all of them is an
 * equal choice: the counts come out the same) and rewrite its answers, so
 * the response is still counted once. Rows are appended in time order,
 * so the search runs back from the end and stops before `t`. The change
 * bumps dims_version: cached tables of the disclosure layer are stale. */
static void an_on_update(void *arg, const model_response *before, const model_response *after)
{
	an_index *ix = arg;
	uint32_t t = before->received_at > 0 && before->received_at < UINT32_MAX
			     ? (uint32_t)before->received_at : 0;
	uint16_t old_ans = an_answers(before);
	pthread_rwlock_wrlock(&ix->lock);
	uint16_t team = (uint16_t)an_codes_get(&ix->units, before->team_id);
	uint16_t emp = (uint16_t)an_codes_get(&ix->emps, before->employee_id);
	uint16_t tp = (uint16_t)an_codes_get(&ix->tps, before->touchpoint_id);
	uint32_t cust = an_codes_get(&ix->custs, before->customer_id);
	/* Issue 14: the id map finds the row itself; the search by fields
	 * stays for a row the map cannot place. */
	int64_t at = an_text_row(ix, before->id);
	/* issue 18 (NODES): found by id, the row is the response's whatever
	 * answers it holds (a follower may bring a change the start scan
	 * already saw): the answers are set, not compared */
	(void)old_ans;
	if (at >= 0 && ix->t[at] == t && ix->team[at] == team &&
	    ix->emp[at] == emp && ix->tp[at] == tp && ix->cust[at] == cust) {
		ix->ans[at] = an_answers(after);
		an_drv_set(ix, (size_t)at, after->drivers, after->n_drivers);  /* issue 15 */
		ix->dims_version++;
		pthread_rwlock_unlock(&ix->lock);
		return;
	}
	for (size_t i = ix->n; i-- > 0;) {
		if (ix->t[i] == t && ix->ans[i] == old_ans && ix->team[i] == team &&
		    ix->emp[i] == emp && ix->tp[i] == tp && ix->cust[i] == cust) {
			ix->ans[i] = an_answers(after);
			an_drv_set(ix, i, after->drivers, after->n_drivers);  /* issue 15 */
			ix->dims_version++;
			break;
		}
		if (ix->t[i] < t && i + 4096 < ix->n)
			break;  /* well before it: late arrivals are seconds, not thousands of rows */
	}
	pthread_rwlock_unlock(&ix->lock);
}

/* Issue 14: the store's text hook (after the commit hook has appended
 * the same responses, so their rows are found by id). A change of an
 * analysis changes no dimension: the disclosure cache sees it through
 * an_index_versions' hash of the text column. */
static void an_on_text(void *arg, const store_text_row *rows, int n)
{
	an_index_text(arg, rows, n);
}

/* issue 18 (NODES): another node changed what the index labels with, as
 * the API's refresh does after a local change (api_entities.c, gdpr). */
static void an_on_change(void *arg, const char *kind, int64_t ref_id)
{
	an_index *ix = arg;
	ks_error e;
	ks_error_clear(&e);
	ks_err err = KS_OK;
	if (strcmp(kind, "customer") == 0)
		err = an_index_refresh_customer(ix, ref_id, &e);
	else if (strcmp(kind, "names") == 0)
		err = an_index_refresh_dims(ix, &e);
	else if (strcmp(kind, "forget_customer") == 0)
		an_index_forget(ix, ref_id, 0);
	else if (strcmp(kind, "forget_employee") == 0) {
		an_index_forget(ix, 0, ref_id);
		err = an_index_refresh_dims(ix, &e);
	}
	if (err)
		fprintf(stderr, "klantstem: analytics index refresh failed: %s\n", e.message);
}

ks_err an_index_build(ks_store *s, an_index **out, ks_error *e)
{
	int64_t t0 = clock_mono_ms();
	an_index *ix = calloc(1, sizeof *ix);
	if (ix == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ix->store = s;
	tz_default(&ix->tz);
	an_attr_init(ix);  /* issue 16 (H5): columns come with an_index_attr_load */
	/* Prefer the writer: a steady stream of dashboard queries must not
	 * hold new responses out of the index. */
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&ix->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_rwlock_wrlock(&ix->lock);
	ks_err err = an_load_names(ix, e);
	if (!err)
		err = an_load_customers(ix, 0, e);
	if (!err)
		err = store_scan_responses(s, 0, an_build_row, ix, e);
	if (!err)
		err = an_text_build(ix, e);  /* issue 14: the analyses, by response id */
	if (!err)
		err = an_drv_build(ix, e);   /* issue 15: the driver ratings, by response id */
	/* Rows may name units, employees or touchpoints that were added since
	 * the names were read; load again so every code has its name. */
	if (!err)
		err = an_load_names(ix, e);
	pthread_rwlock_unlock(&ix->lock);
	if (err) {
		an_index_free(ix);
		return err;
	}
	ix->build_ms = clock_mono_ms() - t0;
	store_set_commit_hook(s, an_on_commit, ix);
	store_set_update_hook(s, an_on_update, ix);  /* issue 13 */
	store_set_text_hook(s, an_on_text, ix);      /* issue 14 */
	store_set_change_hook(s, an_on_change, ix);  /* issue 18 (NODES): set last, the follower waits for it */
	*out = ix;
	return KS_OK;
}

void an_index_free(an_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->t);
	free(ix->team);
	free(ix->emp);
	free(ix->tp);
	free(ix->cust);
	free(ix->ans);
	an_text_free(ix);
	an_drv_free(ix);  /* issue 15 */
	an_attr_free_all(ix);  /* issue 16 (H5) */
	an_codes_free(&ix->units);
	an_codes_free(&ix->emps);
	an_codes_free(&ix->tps);
	an_codes_free(&ix->journeys);
	an_codes_free(&ix->custs);
	free(ix->unit_info);
	free(ix->emp_info);
	free(ix->tp_info);
	free(ix->journey_info);
	free(ix->cust_info);
	an_dict_free(&ix->segments);
	an_dict_free(&ix->cities);
	pthread_rwlock_destroy(&ix->lock);
	free(ix);
}

void an_index_versions(an_index *ix, int64_t before, uint64_t *dims, size_t *rows_before)
{
	pthread_rwlock_rdlock(&ix->lock);
	*dims = ix->dims_version;
	size_t n = 0;
	for (size_t i = 0; i < ix->n; i++)
		n += (int64_t)ix->t[i] < before;
	*rows_before = n;
	*dims += an_text_changes(ix, before);  /* issue 14: analyses of those rows */
	pthread_rwlock_unlock(&ix->lock);
}

void an_index_get_info(an_index *ix, an_index_info *out)
{
	pthread_rwlock_rdlock(&ix->lock);
	out->rows = ix->n;
	out->bytes_per_row = 4 + 2 + 2 + 2 + 4 + 2 + 2 + 4  /* + tset (issue 14), doff (issue 15) */
			     + an_attr_row_bytes(ix);            /* issue 16 (H5) */
	size_t dims = (ix->unit_info_n + ix->emp_info_n + ix->tp_info_n + ix->journey_info_n) *
			      sizeof(an_named) +
		      ix->cust_info_n * sizeof(an_customer) +
		      (ix->units.slots + ix->emps.slots + ix->tps.slots + ix->journeys.slots +
		       ix->custs.slots) * 12 +
		      (ix->units.dir_n + ix->emps.dir_n + ix->tps.dir_n + ix->journeys.dir_n +
		       ix->custs.dir_n) * 4 +
		      an_text_bytes(ix) + an_drv_bytes(ix) + an_attr_bytes(ix);
	out->bytes_total = ix->cap * out->bytes_per_row + dims;
	out->build_ms = ix->build_ms;
	out->text_pending = ix->pending.n;
	out->attr_keys = ix->attr ? ix->attr->n_keys : 0;      /* issue 16 (H5) */
	out->attr_products = ix->attr && ix->attr->prods.n ? ix->attr->prods.n - 1 : 0;
	out->attr_bytes = an_attr_bytes(ix);
	out->attr_run = ix->attr ? ix->attr->run_id : 0;
	out->attr_build_ms = ix->attr ? ix->attr->build_ms : 0;
	pthread_rwlock_unlock(&ix->lock);
}

void an_index_set_tz(an_index *ix, const ks_tz *tz)
{
	ks_tz copy;
	if (tz)
		copy = *tz;
	else
		tz_default(&copy);
	copy.name[sizeof copy.name - 1] = '\0';
	pthread_rwlock_wrlock(&ix->lock);
	ix->tz = copy;
	ix->dims_version++;
	pthread_rwlock_unlock(&ix->lock);
}

bool an_unit_within(an_index *ix, int64_t unit, int64_t ancestor)
{
	pthread_rwlock_rdlock(&ix->lock);
	uint32_t target = an_codes_get(&ix->units, ancestor);
	uint32_t u = an_codes_get(&ix->units, unit);
	bool found = false;
	for (int depth = 0; u && target && depth < 8 && !found; depth++) {
		found = u == target;
		u = u < ix->unit_info_n ? ix->unit_info[u].parent : 0;
	}
	pthread_rwlock_unlock(&ix->lock);
	return found;
}

int64_t an_employee_team(an_index *ix, int64_t employee_id)
{
	pthread_rwlock_rdlock(&ix->lock);
	uint32_t c = an_codes_get(&ix->emps, employee_id);
	uint32_t team = c && c < ix->emp_info_n ? ix->emp_info[c].parent : 0;
	int64_t id = team && team < ix->units.n ? ix->units.ids[team] : 0;
	pthread_rwlock_unlock(&ix->lock);
	return id;
}
