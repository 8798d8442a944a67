/* model.c — what the organisation's own scored answers teach: an
 * L2-regularised multinomial logistic regression (negative / neutral /
 * positive) over the stems, bigrams and the lexicon score of a text.
 *
 * Features: "nl:u:STEM" (a stem; "!STEM" when negated), "nl:b:S1_S2" (two
 * stems in a row within a clause), "lex:pos" / "lex:neg" (the lexicon's
 * score). Stems and bigrams count once and are scaled by 1/sqrt(count) so
 * long and short texts weigh alike. A feature needs min_count texts.
 * Objective: mean log-loss + 1/(2 C n) |W|^2 (liblinear's C), minimised by
 * Nesterov's accelerated full-batch gradient descent from zero for a fixed
 * number of steps: deterministic, no random seed.
 *
 * Blob: "KSTM" u32 version(1) u32 n_features u32 n_examples, 3 f32 bias,
 * then per feature u16 length, name, 3 f32 weights (little-endian). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/text_int.h"

struct text_model {
	int n_feat;
	int n_examples;
	char **names;
	float *w;          /* n_feat x 3 */
	float bias[3];
	text_map index;    /* name -> feature */
};

void text_train_opts_default(text_train_opts *o)
{
	*o = (text_train_opts){ .min_examples = 100, .min_per_class = 10, .c = 1.0,
	                        .iterations = 300, .min_count = 2 };
}

void text_model_free(text_model *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n_feat; i++)
		free(m->names[i]);
	free(m->names);
	free(m->w);
	text_map_free(&m->index);
	free(m);
}

/* ---- features ---------------------------------------------------------- */

typedef void (*feat_fn)(void *arg, const char *name, size_t len, double val);

/* Emits the features of the text now in w (tokenised, scored). */
static void features(const text_worker *w, int li, double lex, feat_fn fn, void *arg)
{
	char buf[256];
	const char *L = li == TEXT_NL ? "nl" : "en";
	int nb = 0;
	for (int i = 0; i < w->n_toks; i++)
		nb += 1 + (i + 1 < w->n_toks && w->toks[i + 1].clause == w->toks[i].clause);
	double v = nb ? 1.0 / sqrt(nb) : 0;
	for (int i = 0; i < w->n_toks; i++) {
		const text_tok *t = &w->toks[i];
		int n = snprintf(buf, sizeof buf, "%s:u:%s%s", L, t->flags & TOK_NEGATED ? "!" : "",
		                 tok_stem(w, t));
		if (n > 0 && (size_t)n < sizeof buf)
			fn(arg, buf, (size_t)n, v);
		if (i + 1 < w->n_toks && w->toks[i + 1].clause == t->clause) {
			n = snprintf(buf, sizeof buf, "%s:b:%s_%s", L, tok_stem(w, t), tok_stem(w, t + 1));
			if (n > 0 && (size_t)n < sizeof buf)
				fn(arg, buf, (size_t)n, v);
		}
	}
	if (lex > 0)
		fn(arg, "lex:pos", 7, lex);
	if (lex < 0)
		fn(arg, "lex:neg", 7, -lex);
}

static void softmax3(double *z)
{
	double m = fmax(z[0], fmax(z[1], z[2])), s = 0;
	for (int c = 0; c < 3; c++)
		s += (z[c] = exp(z[c] - m));
	for (int c = 0; c < 3; c++)
		z[c] /= s;
}

typedef struct pred_arg {
	const text_model *m;
	double z[3];
} pred_arg;

static void pred_feat(void *arg, const char *name, size_t len, double val)
{
	pred_arg *p = arg;
	int f = text_map_get(&p->m->index, name, len);
	if (f < 0)
		return;
	for (int c = 0; c < 3; c++)
		p->z[c] += p->m->w[f * 3 + c] * val;
}

double text_model_predict(text_worker *w, const text_model *m, int li, double lex,
                          text_label *label)
{
	pred_arg p = { m, { m->bias[0], m->bias[1], m->bias[2] } };
	features(w, li, lex, pred_feat, &p);
	softmax3(p.z);
	int best = 0;
	for (int c = 1; c < 3; c++)
		if (p.z[c] > p.z[best])
			best = c;
	*label = (text_label)best;
	return p.z[TEXT_POSITIVE] - p.z[TEXT_NEGATIVE];
}

/* ---- the prepared data set --------------------------------------------- */

typedef struct prep {
	text_map names;    /* every feature seen -> tmp id */
	char **name_of;    /* tmp id -> name (points into nothing: own copy) */
	int n_names, cap_names;
	int *df;           /* texts per tmp id */
	int *start;        /* example i: entries [start[i], start[i+1]) */
	int *fid;
	double *fval;
	int n_ent, cap_ent;
	text_label *label;
	text_label *lex_label;
	int n;
	bool oom;
	int cur;           /* example being added */
} prep;

static void prep_feat(void *arg, const char *name, size_t len, double val)
{
	prep *p = arg;
	if (p->oom)
		return;
	int id = text_map_get(&p->names, name, len);
	if (id < 0) {
		if (p->n_names == p->cap_names) {
			int cap = p->cap_names ? p->cap_names * 2 : 1024;
			char **a = realloc(p->name_of, (size_t)cap * sizeof *a);
			int *d = a ? realloc(p->df, (size_t)cap * sizeof *d) : NULL;
			if (a)
				p->name_of = a;
			if (!d) {
				p->oom = true;
				return;
			}
			p->df = d;
			p->cap_names = cap;
		}
		id = p->n_names;
		char *s = malloc(len + 1);
		if (!s || text_map_put(&p->names, name, len, id) != KS_OK) {
			free(s);
			p->oom = true;
			return;
		}
		memcpy(s, name, len);
		s[len] = '\0';
		p->name_of[p->n_names++] = s;
		p->df[id] = 0;
	}
	/* the same feature twice in one text: add up */
	for (int e = p->start[p->cur]; e < p->n_ent; e++)
		if (p->fid[e] == id) {
			p->fval[e] += val;
			return;
		}
	if (p->n_ent == p->cap_ent) {
		int cap = p->cap_ent ? p->cap_ent * 2 : 4096;
		int *f = realloc(p->fid, (size_t)cap * sizeof *f);
		double *v = f ? realloc(p->fval, (size_t)cap * sizeof *v) : NULL;
		if (f)
			p->fid = f;
		if (!v) {
			p->oom = true;
			return;
		}
		p->fval = v;
		p->cap_ent = cap;
	}
	p->df[id]++;
	p->fid[p->n_ent] = id;
	p->fval[p->n_ent++] = val;
}

static void prep_free(prep *p)
{
	for (int i = 0; i < p->n_names; i++)
		free(p->name_of[i]);
	free(p->name_of);
	free(p->df);
	free(p->start);
	free(p->fid);
	free(p->fval);
	free(p->label);
	free(p->lex_label);
	text_map_free(&p->names);
}

static ks_err prep_build(text_worker *w, const text_example *ex, int n, prep *p, ks_error *err)
{
	memset(p, 0, sizeof *p);
	p->start = calloc((size_t)n + 1, sizeof *p->start);
	p->label = calloc((size_t)n + 1, sizeof *p->label);
	p->lex_label = calloc((size_t)n + 1, sizeof *p->lex_label);
	if (!p->start || !p->label || !p->lex_label)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	for (int i = 0; i < n; i++) {
		text_lang_source src;
		text_lang l = text_detect(w, ex[i].text, ex[i].len, ex[i].prior, &src);
		int li = text_li(l);
		ks_err rc = text_tokenise(w, ex[i].text, ex[i].len, li, err);
		if (rc != KS_OK)
			return rc;
		double lex = text_sentiment(w, li);
		p->cur = i;
		p->start[i] = p->n_ent;
		features(w, li, lex, prep_feat, p);
		if (p->oom)
			return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
		p->label[i] = ex[i].label;
		p->lex_label[i] = text_label_of(lex);
		p->n = i + 1;
		p->start[i + 1] = p->n_ent;
	}
	return KS_OK;
}

/* ---- fitting ----------------------------------------------------------- */

/* Mean gradient of the objective at x (nf x 3 weights then 3 biases). */
static void gradient(const prep *p, const bool *train, int n_train, const int *map, int nf,
                     double lambda, const double *x, double *g)
{
	memset(g, 0, (size_t)(nf * 3 + 3) * sizeof *g);
	const double *b = x + nf * 3;
	for (int i = 0; i < p->n; i++) {
		if (!train[i])
			continue;
		double z[3] = { b[0], b[1], b[2] };
		for (int e = p->start[i]; e < p->start[i + 1]; e++) {
			int f = map[p->fid[e]];
			if (f >= 0)
				for (int c = 0; c < 3; c++)
					z[c] += x[f * 3 + c] * p->fval[e];
		}
		softmax3(z);
		z[p->label[i]] -= 1.0;
		for (int e = p->start[i]; e < p->start[i + 1]; e++) {
			int f = map[p->fid[e]];
			if (f >= 0)
				for (int c = 0; c < 3; c++)
					g[f * 3 + c] += z[c] * p->fval[e] / n_train;
		}
		for (int c = 0; c < 3; c++)
			g[nf * 3 + c] += z[c] / n_train;
	}
	for (int j = 0; j < nf * 3; j++)
		g[j] += lambda * x[j];
}

static ks_err fit(const prep *p, const bool *train, const text_train_opts *o, text_model **out,
                  ks_error *err)
{
	*out = NULL;
	int n_train = 0;
	for (int i = 0; i < p->n; i++)
		n_train += train[i];
	/* document frequency within the training texts */
	int *df = calloc((size_t)p->n_names + 1, sizeof *df);
	int *map = malloc(((size_t)p->n_names + 1) * sizeof *map);
	text_model *m = calloc(1, sizeof *m);
	double *x = NULL, *prev = NULL, *y = NULL, *g = NULL;
	ks_err rc = KS_OK;
	int nf = 0;
	if (!df || !map || !m)
		goto oom;
	for (int i = 0; i < p->n; i++)
		for (int e = p->start[i]; train[i] && e < p->start[i + 1]; e++)
			df[p->fid[e]]++;
	nf = 0;
	for (int k = 0; k < p->n_names; k++)
		map[k] = df[k] >= o->min_count || strncmp(p->name_of[k], "lex:", 4) == 0 ? nf++ : -1;
	size_t dim = (size_t)nf * 3 + 3;
	x = calloc(dim, sizeof *x);
	prev = calloc(dim, sizeof *prev);
	y = calloc(dim, sizeof *y);
	g = calloc(dim, sizeof *g);
	m->names = calloc((size_t)nf + 1, sizeof *m->names);
	m->w = calloc((size_t)nf * 3 + 1, sizeof *m->w);
	m->n_feat = m->names ? nf : 0;
	if (!x || !prev || !y || !g || !m->names || !m->w)
		goto oom;
	double lambda = 1.0 / (o->c * (n_train ? n_train : 1));
	double step = 1.0 / (2.0 + lambda);
	for (int it = 0; it < o->iterations; it++) {
		double mom = (double)it / (it + 3);
		for (size_t j = 0; j < dim; j++)
			y[j] = x[j] + mom * (x[j] - prev[j]);
		gradient(p, train, n_train, map, nf, lambda, y, g);
		for (size_t j = 0; j < dim; j++) {
			prev[j] = x[j];
			x[j] = y[j] - step * g[j];
		}
	}
	m->n_examples = n_train;
	for (int k = 0; k < p->n_names; k++) {
		int f = map[k];
		if (f < 0)
			continue;
		size_t len = strlen(p->name_of[k]);
		if (!(m->names[f] = malloc(len + 1)) ||
		    text_map_put(&m->index, p->name_of[k], len, f) != KS_OK)
			goto oom;
		memcpy(m->names[f], p->name_of[k], len + 1);
	}
	for (int j = 0; j < nf * 3; j++)
		m->w[j] = (float)x[j];
	for (int c = 0; c < 3; c++)
		m->bias[c] = (float)x[nf * 3 + c];
	*out = m;
	m = NULL;
	goto done;
oom:
	rc = ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
done:
	text_model_free(m);
	free(df);
	free(map);
	free(x);
	free(prev);
	free(y);
	free(g);
	return rc;
}

/* ---- training and evaluation ------------------------------------------- */

static ks_err check_counts(const text_example *ex, int n, const text_train_opts *o, ks_error *err)
{
	int per[3] = { 0, 0, 0 };
	for (int i = 0; i < n; i++)
		per[ex[i].label]++;
	if (n < o->min_examples)
		return ks_fail(err, KS_ERR_RANGE, "examples",
		               "too little labelled data: %d texts, the model needs %d (the lexicon is used)",
		               n, o->min_examples);
	for (int c = 0; c < 3; c++)
		if (per[c] < o->min_per_class)
			return ks_fail(err, KS_ERR_RANGE, "examples",
			               "too few %s texts: %d, the model needs %d of each class",
			               text_label_name((text_label)c), per[c], o->min_per_class);
	return KS_OK;
}

ks_err text_model_train(text_worker *w, const text_example *ex, int n, const text_train_opts *o,
                        text_model **out, ks_error *err)
{
	*out = NULL;
	text_train_opts d;
	if (!o) {
		text_train_opts_default(&d);
		o = &d;
	}
	ks_err rc = check_counts(ex, n, o, err);
	if (rc != KS_OK)
		return rc;
	prep p;
	bool *train = malloc((size_t)n + 1);
	rc = train ? prep_build(w, ex, n, &p, err) : ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	if (rc == KS_OK) {
		memset(train, 1, (size_t)n);
		rc = fit(&p, train, o, out, err);
	}
	if (train)
		prep_free(&p);
	free(train);
	return rc;
}

static double macro_f1(const int cm[3][3])
{
	double sum = 0;
	for (int c = 0; c < 3; c++) {
		int tp = cm[c][c], fp = 0, fn = 0;
		for (int k = 0; k < 3; k++) {
			if (k != c) {
				fp += cm[k][c];
				fn += cm[c][k];
			}
		}
		sum += tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
	}
	return sum / 3;
}

/* Predicts example i of p with m, from the prepared features. */
static text_label predict_prep(const prep *p, const text_model *m, int i)
{
	double z[3] = { m->bias[0], m->bias[1], m->bias[2] };
	for (int e = p->start[i]; e < p->start[i + 1]; e++) {
		const char *name = p->name_of[p->fid[e]];
		int f = text_map_get(&m->index, name, strlen(name));
		if (f >= 0)
			for (int c = 0; c < 3; c++)
				z[c] += m->w[f * 3 + c] * p->fval[e];
	}
	int best = 0;
	for (int c = 1; c < 3; c++)
		if (z[c] > z[best])
			best = c;
	return (text_label)best;
}

ks_err text_model_evaluate(text_worker *w, const text_example *ex, int n, int folds,
                           const text_train_opts *o, text_eval *out, ks_error *err)
{
	memset(out, 0, sizeof *out);
	text_train_opts d;
	if (!o) {
		text_train_opts_default(&d);
		o = &d;
	}
	if (folds < 2 || folds > n)
		return ks_fail(err, KS_ERR_RANGE, "folds", "folds must be 2..%d (the number of texts)", n);
	ks_err rc = check_counts(ex, n, o, err);
	if (rc != KS_OK)
		return rc;
	prep p;
	int *fold = malloc((size_t)n * sizeof *fold);
	bool *train = malloc((size_t)n + 1);
	if (!fold || !train) {
		free(fold);
		free(train);
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	}
	int rank[3] = { 0, 0, 0 };
	for (int i = 0; i < n; i++)
		fold[i] = rank[ex[i].label]++ % folds;
	rc = prep_build(w, ex, n, &p, err);
	int lcm[3][3] = { { 0 } };
	for (int k = 0; rc == KS_OK && k < folds; k++) {
		for (int i = 0; i < n; i++)
			train[i] = fold[i] != k;
		text_model *m;
		rc = fit(&p, train, o, &m, err);
		for (int i = 0; rc == KS_OK && i < n; i++) {
			if (train[i])
				continue;
			text_label pr = predict_prep(&p, m, i);
			out->confusion[p.label[i]][pr]++;
			lcm[p.label[i]][p.lex_label[i]]++;
		}
		text_model_free(m);
	}
	if (rc == KS_OK) {
		int ok = 0;
		for (int c = 0; c < 3; c++) {
			ok += out->confusion[c][c];
			out->n_lexicon_correct += lcm[c][c];
		}
		out->n = n;
		out->accuracy = (double)ok / n;
		out->macro_f1 = macro_f1((const int(*)[3])out->confusion);
		out->lexicon_macro_f1 = macro_f1((const int(*)[3])lcm);
	}
	prep_free(&p);
	free(fold);
	free(train);
	return rc;
}

/* ---- inspection -------------------------------------------------------- */

size_t text_model_bytes(const text_model *m)
{
	size_t b = sizeof *m + (size_t)m->n_feat * (3 * sizeof(float) + sizeof(char *));
	for (int i = 0; i < m->n_feat; i++)
		b += strlen(m->names[i]) + 1;
	b += m->index.cap * (sizeof(char *) + sizeof(int)) + m->index.n * 8;
	return b;
}

int text_model_n_features(const text_model *m) { return m->n_feat; }
int text_model_n_examples(const text_model *m) { return m->n_examples; }

int text_model_top(const text_model *m, text_label c, text_lang l, int k, const char **names,
                   double *weights)
{
	const char *pre = l == TEXT_LANG_NL ? "nl:" : l == TEXT_LANG_EN ? "en:" : "lex:";
	int got = 0;
	for (int f = 0; f < m->n_feat; f++) {
		if (strncmp(m->names[f], pre, strlen(pre)) != 0)
			continue;
		double v = m->w[f * 3 + c];
		/* insertion into the sorted top-k; ties: earlier feature first */
		int pos = got;
		while (pos > 0 && weights[pos - 1] < v)
			pos--;
		if (pos >= k)
			continue;
		int last = got < k ? got : k - 1;
		for (int j = last; j > pos; j--) {
			weights[j] = weights[j - 1];
			names[j] = names[j - 1];
		}
		weights[pos] = v;
		names[pos] = m->names[f];
		if (got < k)
			got++;
	}
	return got;
}

/* ---- blob -------------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_f32(unsigned char *p, float f)
{
	uint32_t v;
	memcpy(&v, &f, 4);
	put_u32(p, v);
}

static float get_f32(const unsigned char *p)
{
	uint32_t v = get_u32(p);
	float f;
	memcpy(&f, &v, 4);
	return f;
}

ks_err text_model_save(const text_model *m, unsigned char **blob, size_t *len, ks_error *err)
{
	size_t n = 16 + 12;
	for (int i = 0; i < m->n_feat; i++)
		n += 2 + strlen(m->names[i]) + 12;
	unsigned char *b = malloc(n), *p = b;
	if (!b)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	memcpy(p, "KSTM", 4);
	put_u32(p + 4, 1);
	put_u32(p + 8, (uint32_t)m->n_feat);
	put_u32(p + 12, (uint32_t)m->n_examples);
	p += 16;
	for (int c = 0; c < 3; c++, p += 4)
		put_f32(p, m->bias[c]);
	for (int i = 0; i < m->n_feat; i++) {
		size_t l = strlen(m->names[i]);
		p[0] = (unsigned char)(l & 0xff);
		p[1] = (unsigned char)(l >> 8);
		memcpy(p + 2, m->names[i], l);
		p += 2 + l;
		for (int c = 0; c < 3; c++, p += 4)
			put_f32(p, m->w[i * 3 + c]);
	}
	*blob = b;
	*len = n;
	return KS_OK;
}

ks_err text_model_load(const unsigned char *blob, size_t len, text_model **out, ks_error *err)
{
	*out = NULL;
	if (len < 28 || memcmp(blob, "KSTM", 4) != 0 || get_u32(blob + 4) != 1)
		return ks_fail(err, KS_ERR_INVALID, "model", "not a klantstem text model (version 1)");
	uint32_t nf = get_u32(blob + 8);
	if (nf > (len - 28) / 14)
		return ks_fail(err, KS_ERR_INVALID, "model", "model blob is cut short");
	text_model *m = calloc(1, sizeof *m);
	if (!m)
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	m->n_examples = (int)get_u32(blob + 12);
	m->names = calloc((size_t)nf + 1, sizeof *m->names);
	m->w = calloc((size_t)nf * 3 + 1, sizeof *m->w);
	if (!m->names || !m->w) {
		text_model_free(m);
		return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
	}
	m->n_feat = (int)nf;
	const unsigned char *p = blob + 16, *end = blob + len;
	/* (fuzz_text_model) a weight that is not finite makes every score NaN;
	 * a name with a NUL byte or twice is not what text_model_save writes,
	 * and the index would not find it as written */
	const char *bad = NULL;
	for (int c = 0; c < 3; c++, p += 4)
		if (!isfinite(m->bias[c] = get_f32(p)))
			bad = "model blob holds a weight that is not a finite number";
	for (uint32_t i = 0; i < nf && !bad; i++) {
		if (end - p < 2)
			goto cut;
		size_t l = (size_t)p[0] | (size_t)p[1] << 8;
		if ((size_t)(end - p) < 2 + l + 12 || l == 0)
			goto cut;
		if (memchr(p + 2, '\0', l) != NULL) {
			bad = "model blob has a feature name with a NUL byte";
			break;
		}
		if (text_map_get(&m->index, (const char *)p + 2, l) >= 0) {
			bad = "model blob has a feature twice";
			break;
		}
		if (!(m->names[i] = malloc(l + 1)) ||
		    text_map_put(&m->index, (const char *)p + 2, l, (int)i) != KS_OK) {
			text_model_free(m);
			return ks_fail(err, KS_ERR_NOMEM, NULL, "out of memory");
		}
		memcpy(m->names[i], p + 2, l);
		m->names[i][l] = '\0';
		p += 2 + l;
		for (int c = 0; c < 3; c++, p += 4)
			if (!isfinite(m->w[i * 3 + c] = get_f32(p)))
				bad = "model blob holds a weight that is not a finite number";
	}
	if (bad) {
		text_model_free(m);
		return ks_fail(err, KS_ERR_INVALID, "model", "%s", bad);
	}
	if (p != end)
		goto cut;
	*out = m;
	return KS_OK;
cut:
	text_model_free(m);
	return ks_fail(err, KS_ERR_INVALID, "model", "model blob is cut short or has bytes too many");
}
