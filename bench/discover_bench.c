/* discover_bench.c — theme discovery (src/text/discover.c) timed
 * in-process (bench/discover builds and runs it).
 *
 *   discover_bench [N]     default 100000 answers per period
 *
 * Generates N answers for the period and N for the one before (an LCG
 * over sentence pools, 75% Dutch; a tenth of the answers carry a made-up
 * word, so the vocabulary grows as with real text), half of them matching
 * a theme of the default taxonomy, and times text_discover on one worker:
 * the figure that matters for GET /api/v1/themes/discover (the store reads
 * the rows first; that is SQLite's part). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text/discover.h"

static const char *const nl[] = {
	"De parkeerplaats was vol", "Koude koffie in de hal", "Het toilet was smerig",
	"De lift deed het niet", "Geen wifi in het gebouw", "Lange rij bij de kassa",
	"De monteur was vriendelijk", "Ik moest lang wachten", "De factuur klopte niet",
	"Prima geholpen", "De app crasht bij het inloggen", "Niemand belde terug",
	"Het formulier op de website is onduidelijk", "Mijn pakket kwam beschadigd aan",
	"De verwarming in de wachtkamer stond te hoog", "Muziek in de wacht was irritant",
};
static const char *const en[] = {
	"The car park was full", "Cold coffee in the lobby", "The toilet was dirty",
	"No wifi in the building", "I had to wait too long", "The invoice was wrong",
	"Friendly engineer", "The app crashes at login",
};

static uint64_t lcg(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

static void gen(uint64_t *s, int n, text_disc_answer *a, char *buf, size_t per)
{
	for (int i = 0; i < n; i++) {
		char *b = buf + (size_t)i * per;
		bool is_en = lcg(s) % 4 == 0;
		const char *const *pool = is_en ? en : nl;
		int np = is_en ? (int)(sizeof en / sizeof *en) : (int)(sizeof nl / sizeof *nl);
		int k = 1 + (int)(lcg(s) % 2), m = 0;
		for (int j = 0; j < k; j++)
			m += snprintf(b + m, per - (size_t)m, "%s%s", j ? ", " : "", pool[lcg(s) % (uint64_t)np]);
		if (lcg(s) % 10 == 0)
			m += snprintf(b + m, per - (size_t)m, " zq%llu", (unsigned long long)(lcg(s) % 100000));
		a[i] = (text_disc_answer){ b, (size_t)m, is_en ? TEXT_LANG_EN : TEXT_LANG_NL };
	}
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	if (n < 1)
		n = 1;
	size_t per = 160;
	char *buf = malloc((size_t)n * 2 * per);
	text_disc_answer *a = malloc((size_t)n * 2 * sizeof *a);
	text_ctx *ctx;
	text_worker *w;
	ks_error e = { 0 };
	if (!buf || !a || text_ctx_new(&ctx, NULL, &e) != KS_OK || text_worker_new(ctx, &w, &e) != KS_OK) {
		fprintf(stderr, "discover_bench: %s\n", e.message);
		return 1;
	}
	uint64_t s = 14;
	gen(&s, 2 * n, a, buf, per);
	text_disc_opts o;
	text_disc_opts_default(&o);
	text_disc_result r;
	double t0 = now();
	if (text_discover(w, a, n, a + n, n, &o, &r, &e) != KS_OK) {
		fprintf(stderr, "discover_bench: %s\n", e.message);
		return 1;
	}
	double dt = now() - t0;
	printf("answers per period        %d (+ %d the period before)\n", n, n);
	printf("without a theme           %d / %d\n", r.answers, r.answers_previous);
	printf("phrases shown             %d\n", r.n_phrases);
	printf("time                      %.3f s (one core)\n", dt);
	printf("answers per second        %.0f (both periods)\n", 2.0 * n / dt);
	for (int i = 0; i < r.n_phrases && i < 5; i++)
		printf("  %-40s n=%d prev=%d rising=%d\n", r.phrases[i].phrase, r.phrases[i].n,
		       r.phrases[i].n_previous, r.phrases[i].rising);
	text_disc_result_free(&r);
	text_worker_free(w);
	text_ctx_free(ctx);
	free(a);
	free(buf);
	return 0;
}
