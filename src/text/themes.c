/* themes.c — the taxonomy (JSON, validated with jansson; errors name the
 * path of the bad field) and theme matching through stems: a term is a
 * phrase of stems, matched against consecutive tokens (compound parts
 * included), so "wachtte", "wachten" and "wachttijd" all meet "wachten".
 * Each mention takes the lexicon score of the clause it stands in. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "text/text_int.h"

#define TERM_MAX_WORDS 6
static const char *const lang_keys[2] = { "nl", "en" };

static char *dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static bool valid_id(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static ks_err bad(ks_error *err, const char *path, const char *msg)
{
	return ks_fail(err, KS_ERR_INVALID, path, "taxonomy: %s: %s", path, msg);
}

static ks_err only_keys(json_t *o, const char *const *allowed, const char *path, ks_error *err)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, k) == 0;
		if (!ok) {
			char p[400];
			snprintf(p, sizeof p, "%s.%s", path, k);
			return bad(err, p, "unknown field");
		}
	}
	return KS_OK;
}

static ks_err get_label(json_t *o, const char *path, char **label, ks_error *err)
{
	char p[200];
	snprintf(p, sizeof p, "%s.label", path);
	json_t *l = json_object_get(o, "label");
	if (!json_is_object(l))
		return bad(err, p, "must be an object {\"nl\": ..., \"en\": ...}");
	for (int i = 0; i < 2; i++) {
		json_t *s = json_object_get(l, lang_keys[i]);
		char q[220];
		snprintf(q, sizeof q, "%s.%s", p, lang_keys[i]);
		if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 200)
			return bad(err, q, "must be a text of 1 to 200 characters");
		label[i] = dup(json_string_value(s));
		if (!label[i])
			return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	}
	static const char *const keys[] = { "nl", "en", NULL };
	return only_keys(l, keys, p, err);
}

static ks_err add_term(text_ctx *ctx, text_worker *w, int li, const char *term, int theme,
                       int sub, const char *path, ks_error *err)
{
	ks_err rc = text_tokenise(w, term, strlen(term), li, err);
	if (rc != KS_OK)
		return rc;
	if (w->n_toks == 0)
		return bad(err, path, "a term needs at least one word");
	if (w->n_toks > TERM_MAX_WORDS)
		return bad(err, path, "a term has at most 6 words");
	text_taxonomy *t = &ctx->tax;
	text_term *a = realloc(t->terms[li], (size_t)(t->n_terms[li] + 1) * sizeof *a);
	if (!a)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	t->terms[li] = a;
	text_term *tm = &a[t->n_terms[li]++];
	*tm = (text_term){ .theme = theme, .sub = sub, .n = w->n_toks };
	for (int i = 0; i < w->n_toks; i++) {
		const char *st = tok_stem(w, &w->toks[i]);
		int id = text_map_get(&ctx->stem_ids, st, strlen(st));
		if (id < 0) {
			id = (int)ctx->stem_ids.n;
			if (text_map_put(&ctx->stem_ids, st, strlen(st), id) != KS_OK)
				return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
		}
		tm->stems[i] = id;
	}
	return KS_OK;
}

/* pass 0: one-word Dutch terms that do not split join the compound
 * vocabulary; pass 1: compile the terms. */
static ks_err parse_terms(text_ctx *ctx, text_worker *w, json_t *terms, int theme, int sub,
                          const char *path, int pass, ks_error *err)
{
	char p[200];
	snprintf(p, sizeof p, "%s.terms", path);
	if (!json_is_object(terms))
		return bad(err, p, "must be an object {\"nl\": [...], \"en\": [...]}");
	static const char *const keys[] = { "nl", "en", NULL };
	ks_err rc = only_keys(terms, keys, p, err);
	int total = 0;
	for (int li = 0; rc == KS_OK && li < 2; li++) {
		json_t *arr = json_object_get(terms, lang_keys[li]);
		char q[220];
		snprintf(q, sizeof q, "%s.%s", p, lang_keys[li]);
		if (!arr)
			continue;
		if (!json_is_array(arr))
			return bad(err, q, "must be an array of texts");
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v) {
			char r[260];
			snprintf(r, sizeof r, "%s[%zu]", q, i);
			if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 100)
				return bad(err, r, "must be a text of 1 to 100 characters");
			total++;
			const char *s = json_string_value(v);
			if (pass == 1) {
				rc = add_term(ctx, w, li, s, theme, sub, r, err);
				if (rc != KS_OK)
					return rc;
			} else if (li == TEXT_NL && !strchr(s, ' ') && !text_splits(w, s, strlen(s))) {
				char *n = text_normalise(s, strlen(s));
				int sn;
				const char *st = n ? text_stem(w, TEXT_NL, n, strlen(n), &sn) : NULL;
				if (!st || text_map_put(&ctx->vocab[TEXT_NL], st, (size_t)sn, 1) != KS_OK) {
					free(n);
					return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
				}
				free(n);
			}
		}
	}
	if (rc == KS_OK && total == 0)
		return bad(err, p, "needs at least one term in nl or en");
	return rc;
}

static ks_err parse_theme(text_ctx *ctx, text_worker *w, json_t *th, int ti, int pass,
                          ks_error *err)
{
	char p[32];
	snprintf(p, sizeof p, "themes[%d]", ti);
	if (!json_is_object(th))
		return bad(err, p, "must be an object");
	static const char *const keys[] = { "id", "label", "subthemes", NULL };
	ks_err rc = only_keys(th, keys, p, err);
	if (rc != KS_OK)
		return rc;
	text_theme *t = &ctx->tax.themes[ti];
	json_t *id = json_object_get(th, "id");
	char q[64];
	snprintf(q, sizeof q, "%s.id", p);
	if (!json_is_string(id) || !valid_id(json_string_value(id)))
		return bad(err, q, "must be an id of a-z, 0-9 and _ (at most 64)");
	for (int j = 0; pass == 0 && j < ti; j++)
		if (strcmp(ctx->tax.themes[j].id, json_string_value(id)) == 0)
			return bad(err, q, "the same id twice");
	if (pass == 0 && (!(t->id = dup(json_string_value(id))) ||
	                  (rc = get_label(th, p, t->label, err)) != KS_OK))
		return rc != KS_OK ? rc : ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	json_t *subs = json_object_get(th, "subthemes");
	snprintf(q, sizeof q, "%s.subthemes", p);
	if (!json_is_array(subs) || json_array_size(subs) == 0 || json_array_size(subs) > 100)
		return bad(err, q, "must be an array of 1 to 100 sub-themes");
	if (pass == 0 && !(t->subs = calloc(json_array_size(subs), sizeof *t->subs)))
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	size_t si;
	json_t *s;
	json_array_foreach(subs, si, s) {
		char r[96];
		snprintf(r, sizeof r, "%s[%zu]", q, si);
		if (!json_is_object(s))
			return bad(err, r, "must be an object");
		static const char *const skeys[] = { "id", "label", "terms", NULL };
		if ((rc = only_keys(s, skeys, r, err)) != KS_OK)
			return rc;
		json_t *sid = json_object_get(s, "id");
		char u[128];
		snprintf(u, sizeof u, "%s.id", r);
		if (!json_is_string(sid) || !valid_id(json_string_value(sid)))
			return bad(err, u, "must be an id of a-z, 0-9 and _ (at most 64)");
		if (pass == 0) {
			for (size_t j = 0; j < si; j++)
				if (strcmp(t->subs[j].id, json_string_value(sid)) == 0)
					return bad(err, u, "the same id twice");
			if (!(t->subs[si].id = dup(json_string_value(sid))))
				return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
			t->n_subs++;
			if ((rc = get_label(s, r, t->subs[si].label, err)) != KS_OK)
				return rc;
		}
		rc = parse_terms(ctx, w, json_object_get(s, "terms"), ti, (int)si, r, pass, err);
		if (rc != KS_OK)
			return rc;
	}
	return KS_OK;
}

static int cmp_term(const void *a, const void *b)
{
	const text_term *x = a, *y = b;
	if (x->stems[0] != y->stems[0])
		return x->stems[0] < y->stems[0] ? -1 : 1;
	/* longer phrases first, then the taxonomy's order (stable) */
	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	if (x->theme != y->theme)
		return x->theme < y->theme ? -1 : 1;
	return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static ks_err index_terms(text_ctx *ctx, ks_error *err)
{
	for (int li = 0; li < 2; li++) {
		text_taxonomy *t = &ctx->tax;
		/* (fuzz_text_taxonomy) a language without terms has no array:
		 * qsort must not be given NULL, even for no elements */
		if (t->n_terms[li] > 0)
			qsort(t->terms[li], (size_t)t->n_terms[li], sizeof *t->terms[li], cmp_term);
		for (int i = t->n_terms[li] - 1; i >= 0; i--) {
			char k[16];
			int n = snprintf(k, sizeof k, "%d", t->terms[li][i].stems[0]);
			if (text_map_put(&t->first[li], k, (size_t)n, i) != KS_OK)
				return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
		}
	}
	return KS_OK;
}

ks_err text_taxonomy_parse(text_ctx *ctx, text_worker *w, const char *json, ks_error *err)
{
	json_error_t je;
	json_t *root = json_loads(json, 0, &je);
	if (!root)
		return ks_fail(err, KS_ERR_BADJSON, "taxonomy", "taxonomy: not JSON (line %d: %s)",
		               je.line, je.text);
	ks_err rc = KS_OK;
	json_t *themes = json_object_get(root, "themes");
	static const char *const keys[] = { "version", "themes", NULL };
	if (!json_is_object(root))
		rc = bad(err, "taxonomy", "must be an object {\"version\": 1, \"themes\": [...]}");
	else if ((rc = only_keys(root, keys, "taxonomy", err)) != KS_OK)
		;
	else if (!json_is_integer(json_object_get(root, "version")) ||
	         json_integer_value(json_object_get(root, "version")) != 1)
		rc = bad(err, "version", "must be 1");
	else if (!json_is_array(themes) || json_array_size(themes) == 0 ||
	         json_array_size(themes) > 200)
		rc = bad(err, "themes", "must be an array of 1 to 200 themes");
	else if (!(ctx->tax.themes = calloc(json_array_size(themes), sizeof *ctx->tax.themes)))
		rc = ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	for (int pass = 0; pass < 2 && rc == KS_OK; pass++) {
		for (size_t i = 0; i < json_array_size(themes) && rc == KS_OK; i++) {
			if (pass == 0)
				ctx->tax.n_themes++;
			rc = parse_theme(ctx, w, json_array_get(themes, i), (int)i, pass, err);
		}
	}
	if (rc == KS_OK)
		rc = index_terms(ctx, err);
	json_decref(root);
	return rc;
}

void text_taxonomy_free(text_taxonomy *t)
{
	for (int i = 0; i < t->n_themes; i++) {
		text_theme *th = &t->themes[i];
		for (int j = 0; j < th->n_subs; j++) {
			free(th->subs[j].id);
			free(th->subs[j].label[0]);
			free(th->subs[j].label[1]);
		}
		free(th->subs);
		free(th->id);
		free(th->label[0]);
		free(th->label[1]);
	}
	free(t->themes);
	for (int li = 0; li < 2; li++) {
		free(t->terms[li]);
		text_map_free(&t->first[li]);
	}
	memset(t, 0, sizeof *t);
}

static bool term_at(const text_worker *w, const int *ids, int i, const text_term *tm)
{
	if (i + tm->n > w->n_toks)
		return false;
	for (int k = 0; k < tm->n; k++)
		if (ids[i + k] != tm->stems[k])
			return false;
	return true;
}

typedef struct hit_acc {
	int theme, sub, mentions, last_clause;
	double sum;
} hit_acc;

ks_err text_themes(const text_worker *w, int li, text_result *r, ks_error *err)
{
	const text_ctx *ctx = w->ctx;
	const text_taxonomy *t = &ctx->tax;
	if (w->n_toks == 0 || t->n_terms[li] == 0)
		return KS_OK;
	int *ids = malloc((size_t)w->n_toks * sizeof *ids);
	hit_acc *acc = NULL;
	int n_acc = 0;
	if (!ids)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	for (int i = 0; i < w->n_toks; i++) {
		const char *st = tok_stem(w, &w->toks[i]);
		ids[i] = text_map_get(&ctx->stem_ids, st, strlen(st));
	}
	for (int i = 0; i < w->n_toks; i++) {
		if (ids[i] < 0)
			continue;
		char k[16];
		int kn = snprintf(k, sizeof k, "%d", ids[i]);
		int j = text_map_get(&t->first[li], k, (size_t)kn);
		for (; j >= 0 && j < t->n_terms[li] && t->terms[li][j].stems[0] == ids[i]; j++) {
			const text_term *tm = &t->terms[li][j];
			if (!term_at(w, ids, i, tm))
				continue;
			int clause = w->toks[i].clause, a;
			for (a = 0; a < n_acc; a++)
				if (acc[a].theme == tm->theme && acc[a].sub == tm->sub)
					break;
			if (a == n_acc) {
				hit_acc *na = realloc(acc, (size_t)(n_acc + 1) * sizeof *na);
				if (!na) {
					free(acc);
					free(ids);
					return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
				}
				acc = na;
				acc[n_acc++] = (hit_acc){ tm->theme, tm->sub, 0, -1, 0 };
			}
			/* one mention per sub-theme and clause */
			if (acc[a].last_clause == clause)
				continue;
			acc[a].last_clause = clause;
			acc[a].mentions++;
			acc[a].sum += w->clauses[clause].score;
		}
	}
	free(ids);
	if (n_acc) {
		r->themes = calloc((size_t)n_acc, sizeof *r->themes);
		if (!r->themes) {
			free(acc);
			return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
		}
		for (int a = 0; a < n_acc; a++) {
			text_theme_hit *h = &r->themes[a];
			h->theme = t->themes[acc[a].theme].id;
			h->subtheme = t->themes[acc[a].theme].subs[acc[a].sub].id;
			h->mentions = acc[a].mentions;
			h->score = acc[a].sum / acc[a].mentions;
			h->label = text_label_of(h->score);
		}
		r->n_themes = n_acc;
	}
	free(acc);
	return KS_OK;
}
