/* text_bench.c — src/text timed in-process (bench/text builds and runs it).
 *
 *   text_bench [SHORT [LONG [TRAIN [THREADS]]]]
 *
 * Generates deterministic texts (an LCG over phrase pools, Dutch and
 * English): SHORT comments of 1-2 phrases (~40 characters), LONG texts of
 * 12 phrases (~500 characters) and TRAIN labelled texts (NPS classes from
 * class-specific phrase pools with 20% of phrases from another class).
 * Prints a table: comments per second per core for the lexicon-only path
 * next to lexicon + model, the model's memory and blob size, training
 * time, the context's memory, and THREADS workers sharing one context. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/text.h"

static const char *const pos_nl[] = { "Heel vriendelijk geholpen", "Snel opgelost, top",
	"De monteur was vakkundig en op tijd", "Prima service", "Duidelijke uitleg over de factuur",
	"Super, bedankt", "Keurig nagekomen wat beloofd was", "Fijne medewerker aan de lijn" };
static const char *const neu_nl[] = { "Het was gemiddeld", "Redelijk, niets bijzonders",
	"Ging zoals verwacht", "De afspraak werd verzet", "Oké", "Ik heb een nieuw abonnement",
	"Helpdesk gebeld over mijn rekening", "Normaal contact" };
static const char *const neg_nl[] = { "Veel te lang gewacht", "Niemand belde terug, slecht",
	"De factuur klopte niet", "Onvriendelijke medewerker", "Storing nog steeds niet opgelost",
	"Te duur voor wat je krijgt", "De app werkt niet", "Helemaal niet tevreden" };
static const char *const pos_en[] = { "Very friendly and helpful", "Fixed it quickly, great",
	"The engineer was on time", "Excellent service", "Clear explanation of the bill" };
static const char *const neu_en[] = { "It was okay", "Nothing special", "As expected",
	"I called about my contract", "Average" };
static const char *const neg_en[] = { "Waited way too long", "Nobody called back, terrible",
	"The invoice was wrong", "Rude agent", "The app does not work" };

typedef struct pool { const char *const *p; int n; } pool;
#define POOL(a) { a, (int)(sizeof a / sizeof *a) }
static const pool pools[2][3] = {
	{ POOL(neg_nl), POOL(neu_nl), POOL(pos_nl) },
	{ POOL(neg_en), POOL(neu_en), POOL(pos_en) },
};

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* A text of k phrases of class c (20% from another class) into buf. */
static size_t gen(uint64_t *s, int c, int k, char *buf, size_t cap)
{
	int lang = lcg(s) % 4 == 0; /* a quarter English */
	size_t n = 0;
	for (int i = 0; i < k; i++) {
		int cc = lcg(s) % 5 == 0 ? (int)(lcg(s) % 3) : c;
		const pool *p = &pools[lang][cc];
		int m = snprintf(buf + n, cap - n, "%s%s", i ? ". " : "", p->p[lcg(s) % (uint64_t)p->n]);
		if (m < 0 || (size_t)m >= cap - n)
			break;
		n += (size_t)m;
	}
	return n;
}

typedef struct corpus {
	char *buf;
	size_t *off, *len;
	int *label;
	int n;
	size_t chars;
} corpus;

static corpus make(int n, int kmin, int kmax, uint64_t seed)
{
	corpus c = { malloc((size_t)n * 1024), malloc((size_t)n * sizeof(size_t)),
	             malloc((size_t)n * sizeof(size_t)), malloc((size_t)n * sizeof(int)), n, 0 };
	if (!c.buf || !c.off || !c.len || !c.label) {
		fprintf(stderr, "text_bench: out of memory\n");
		exit(1);
	}
	uint64_t s = seed;
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		c.label[i] = (int)(lcg(&s) % 3);
		int k = kmin + (int)(lcg(&s) % (uint64_t)(kmax - kmin + 1));
		c.off[i] = at;
		c.len[i] = gen(&s, c.label[i], k, c.buf + at, 1024);
		at += c.len[i] + 1;
		c.chars += c.len[i];
	}
	return c;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * 4;
}

typedef struct job {
	const text_ctx *ctx;
	const corpus *c;
	int from, to;
	int themes;
} job;

static void *run_job(void *arg)
{
	job *j = arg;
	text_worker *w;
	ks_error err = { 0 };
	if (text_worker_new(j->ctx, &w, &err) != KS_OK)
		return NULL;
	for (int i = j->from; i < j->to; i++) {
		text_result r;
		if (text_analyze(w, j->c->buf + j->c->off[i], j->c->len[i], TEXT_LANG_NL, false, &r, &err) ==
		    KS_OK)
			j->themes += r.n_themes;
		text_result_free(&r);
	}
	text_worker_free(w);
	return NULL;
}

/* Seconds for THREADS workers over corpus c (split evenly). */
static double timed(const text_ctx *ctx, const corpus *c, int threads)
{
	pthread_t th[16];
	job jobs[16];
	double t0 = now();
	for (int k = 0; k < threads; k++) {
		jobs[k] = (job){ ctx, c, c->n * k / threads, c->n * (k + 1) / threads, 0 };
		pthread_create(&th[k], NULL, run_job, &jobs[k]);
	}
	for (int k = 0; k < threads; k++)
		pthread_join(th[k], NULL);
	return now() - t0;
}

int main(int argc, char **argv)
{
	int n_short = argc > 1 ? atoi(argv[1]) : 200000;
	int n_long = argc > 2 ? atoi(argv[2]) : 20000;
	int n_train = argc > 3 ? atoi(argv[3]) : 5000;
	int threads = argc > 4 ? atoi(argv[4]) : 2;
	if (n_short < 1 || n_long < 1 || n_train < 100 || threads < 1 || threads > 16) {
		fprintf(stderr, "usage: text_bench [SHORT [LONG [TRAIN>=100 [THREADS 1..16]]]]\n");
		return 2;
	}
	corpus sh = make(n_short, 1, 2, 1), lg = make(n_long, 12, 12, 2), tr = make(n_train, 1, 3, 3);
	ks_error err = { 0 };
	long rss0 = rss_kb();
	double t0 = now();
	text_ctx *lex, *mod;
	if (text_ctx_new(&lex, NULL, &err) != KS_OK || text_ctx_new(&mod, NULL, &err) != KS_OK) {
		fprintf(stderr, "text_bench: %s\n", err.message);
		return 1;
	}
	double t_ctx = (now() - t0) / 2;
	long ctx_kb = (rss_kb() - rss0) / 2;

	text_example *ex = malloc((size_t)n_train * sizeof *ex);
	for (int i = 0; i < n_train; i++)
		ex[i] = (text_example){ tr.buf + tr.off[i], tr.len[i], (text_label)tr.label[i], TEXT_LANG_AUTO };
	text_worker *w;
	text_worker_new(lex, &w, &err);
	text_model *m;
	t0 = now();
	if (text_model_train(w, ex, n_train, NULL, &m, &err) != KS_OK) {
		fprintf(stderr, "text_bench: train: %s\n", err.message);
		return 1;
	}
	double t_train = now() - t0;
	unsigned char *blob;
	size_t blob_len;
	text_model_save(m, &blob, &blob_len, &err);
	size_t model_bytes = text_model_bytes(m);
	int n_feat = text_model_n_features(m);
	text_ctx_set_model(mod, m);
	text_eval ev;
	t0 = now();
	text_model_evaluate(w, ex, n_train, 5, NULL, &ev, &err);
	double t_eval = now() - t0;
	text_worker_free(w);

	/* warm-up, then one timed pass each */
	timed(lex, &sh, 1);
	double s_lex = timed(lex, &sh, 1), s_mod = timed(mod, &sh, 1);
	double l_lex = timed(lex, &lg, 1), l_mod = timed(mod, &lg, 1);
	double s_thr = timed(mod, &sh, threads);

	printf("text_bench: %d short comments (%.0f chars avg), %d long texts (%.0f chars avg), "
	       "one thread unless said\n\n", sh.n, (double)sh.chars / sh.n, lg.n, (double)lg.chars / lg.n);
	printf("%-34s %16s %16s %8s\n", "", "lexicon only", "lexicon + model", "ratio");
	printf("%-34s %16.0f %16.0f %8.2f\n", "short comments per second per core", sh.n / s_lex,
	       sh.n / s_mod, s_lex / s_mod);
	printf("%-34s %16.0f %16.0f %8.2f\n", "long texts per second per core", lg.n / l_lex,
	       lg.n / l_mod, l_lex / l_mod);
	printf("%-34s %16.2f %16.2f\n", "long texts MB per second per core",
	       (double)lg.chars / l_lex / 1e6, (double)lg.chars / l_mod / 1e6);
	printf("%-34s %16s %16.0f %8s\n", "", "", sh.n / s_thr, "");
	printf("  (short comments per second, %d threads sharing one context)\n\n", threads);
	printf("context: built in %.3f s, about %ld KB resident (profiles, lexicon, taxonomy)\n", t_ctx,
	       ctx_kb);
	printf("model:   %d texts, %d features, %zu bytes in memory, blob %zu bytes, trained in %.2f s\n",
	       n_train, n_feat, model_bytes, blob_len, t_train);
	printf("5-fold cross-validation on the generated set: model accuracy %.3f macro-F1 %.3f; "
	       "lexicon accuracy %.3f macro-F1 %.3f (%.2f s)\n", ev.accuracy, ev.macro_f1,
	       (double)ev.n_lexicon_correct / ev.n, ev.lexicon_macro_f1, t_eval);
	free(blob);
	free(ex);
	text_ctx_free(lex);
	text_ctx_free(mod);
	corpus *cs[] = { &sh, &lg, &tr };
	for (int i = 0; i < 3; i++) {
		free(cs[i]->buf);
		free(cs[i]->off);
		free(cs[i]->len);
		free(cs[i]->label);
	}
	return 0;
}
