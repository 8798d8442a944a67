/* cli_text.c — `klantstem text ...` (see cli_text.h): reads texts from a
 * file, stdin or a CSV column and writes one result per text. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_text.h"
#include "core/csv.h"
#include "text/text.h"
#include "cli/cli_util.h"   /* reanalyze (issue 14, store) */
#include "store/store.h"

#define FILE_MAX (256u << 20)

static const char *const usage =
	"usage: klantstem text analyze  [--lang auto|nl|en] [--prior nl|en] [--format jsonl|csv]\n"
	"                               [--taxonomy FILE] [--model FILE]\n"
	"                               [FILE | --csv FILE --column NAME [--lang-column COL]]\n"
	"       klantstem text train    --csv FILE --text COL --label COL [--lang-column COL]\n"
	"                               [--out MODEL]\n"
	"       klantstem text evaluate --csv FILE --text COL --label COL [--lang-column COL]\n"
	"                               [--folds N]\n"
	"       klantstem text taxonomy [--db FILE [--set TAXONOMY.json | --reset]]\n"
	"       klantstem text reanalyze --db FILE [--batch N]\n"
	"  analyze   one text per line of FILE (or stdin), or per row of a CSV column;\n"
	"            --lang nl|en takes the language as given, --prior is the customer's\n"
	"            stated language (a prior: see docs/TEXT.md), --lang-column a CSV\n"
	"            column with each row's stated language\n"
	"  train     a sentiment model from labelled texts: labels NPS 0-10, stars 1-5 or\n"
	"            negative/neutral/positive; shows what it learned\n"
	"  evaluate  k-fold cross-validation (default 5): accuracy, macro-F1, confusion\n"
	"  taxonomy  print the default taxonomy (JSON) to edit; with --db the\n"
	"            organisation's, --set stores an edited one (checked as PUT\n"
	"            /api/v1/text/taxonomy checks it), --reset goes back to the\n"
	"            default; the stored answers are analysed again when the server\n"
	"            starts (or by `text reanalyze --db`)\n"
	"  reanalyze analyse every stored open answer again (after a taxonomy or model\n"
	"            change), N answers per transaction (default 500)\n";

/* ---- CSV (RFC 4180): the reader is core/csv.c ---------------------------- */

static int csv_load(const char *path, csv_doc *d)
{
	size_t len;
	char *buf = csv_slurp(path, FILE_MAX, &len);
	if (!buf)
		return cli_fail("%s: %s", path, strerror(errno));
	int bad_line;
	const char *why;
	if (!csv_parse(buf, len, d, &bad_line, &why)) {
		csv_free(d);
		return cli_fail("%s:%d: bad CSV: %s", path, bad_line, why);
	}
	if (d->n == 0) {
		csv_free(d);
		return cli_fail("%s:1: bad CSV: no header row", path);
	}
	return 0;
}

static int csv_column(const csv_doc *d, const char *path, const char *name, int *col)
{
	for (int i = 0; i < d->rows[0].n; i++)
		if (strcmp(d->rows[0].field[i], name) == 0) {
			*col = i;
			return 0;
		}
	return cli_fail("%s:1: no column '%s' in the header", path, name);
}

/* ---- options ------------------------------------------------------------- */

typedef struct text_opts {
	const char *lang, *prior, *format, *taxonomy, *model, *csv, *column;
	const char *text_col, *label_col, *lang_col, *out, *input;
	int folds;
} text_opts;

static int parse_opts(int argc, char **argv, text_opts *o)
{
	memset(o, 0, sizeof *o);
	o->folds = 5;
	static const struct { const char *name; size_t off; } opt[] = {
		{ "--lang", offsetof(text_opts, lang) }, { "--prior", offsetof(text_opts, prior) },
		{ "--format", offsetof(text_opts, format) }, { "--taxonomy", offsetof(text_opts, taxonomy) },
		{ "--model", offsetof(text_opts, model) }, { "--csv", offsetof(text_opts, csv) },
		{ "--column", offsetof(text_opts, column) }, { "--text", offsetof(text_opts, text_col) },
		{ "--label", offsetof(text_opts, label_col) },
		{ "--lang-column", offsetof(text_opts, lang_col) }, { "--out", offsetof(text_opts, out) },
	};
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--folds") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error("text", usage, "--folds needs a value");
			char *end;
			errno = 0;
			long v = strtol(argv[++i], &end, 10);
			if (errno || *end || v < 2 || v > 100)
				return cli_usage_error("text", usage, "--folds must be 2..100");
			o->folds = (int)v;
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof opt / sizeof *opt; k++)
			if (strcmp(a, opt[k].name) == 0)
				break;
		if (k < sizeof opt / sizeof *opt) {
			if (i + 1 >= argc)
				return cli_usage_error("text", usage, "%s needs a value", a);
			*(const char **)((char *)o + opt[k].off) = argv[++i];
			continue;
		}
		if (a[0] == '-' && a[1] != '\0')
			return cli_usage_error("text", usage, "unknown option '%s'", a);
		if (o->input)
			return cli_usage_error("text", usage, "one input file at most ('%s')", a);
		o->input = a;
	}
	return 0;
}

static bool lang_arg(const char *s, text_lang *l)
{
	if (!s || strcmp(s, "auto") == 0)
		*l = TEXT_LANG_AUTO;
	else if (strcmp(s, "nl") == 0)
		*l = TEXT_LANG_NL;
	else if (strcmp(s, "en") == 0)
		*l = TEXT_LANG_EN;
	else
		return false;
	return true;
}

/* Context with the optional taxonomy and model files. */
static int make_ctx(const text_opts *o, text_ctx **ctx)
{
	char *tax = NULL;
	size_t len;
	ks_error err = { 0 };
	if (o->taxonomy && !(tax = csv_slurp(o->taxonomy, FILE_MAX, &len)))
		return cli_fail("%s: %s", o->taxonomy, strerror(errno));
	ks_err rc = text_ctx_new(ctx, tax, &err);
	free(tax);
	if (rc != KS_OK)
		return cli_fail("%s%s%s", o->taxonomy ? o->taxonomy : "", o->taxonomy ? ": " : "", err.message);
	if (o->model) {
		char *blob = csv_slurp(o->model, FILE_MAX, &len);
		text_model *m;
		if (!blob) {
			text_ctx_free(*ctx);
			return cli_fail("%s: %s", o->model, strerror(errno));
		}
		rc = text_model_load((unsigned char *)blob, len, &m, &err);
		free(blob);
		if (rc != KS_OK) {
			text_ctx_free(*ctx);
			return cli_fail("%s: %s", o->model, err.message);
		}
		text_ctx_set_model(*ctx, m);
	}
	return 0;
}

/* ---- analyze ------------------------------------------------------------- */

static void print_result(const text_result *r, int row, bool csv)
{
	if (csv) {
		printf("%d,%s,%s,%.3f,\"", row, text_lang_name(r->lang), text_label_name(r->label), r->score);
		for (int i = 0; i < r->n_themes; i++)
			printf("%s%s/%s:%+.3f", i ? ";" : "", r->themes[i].theme, r->themes[i].subtheme,
			       r->themes[i].score);
		printf("\"\n");
		return;
	}
	printf("{\"row\":%d,\"lang\":\"%s\",\"lang_source\":\"%s\",\"sentiment\":\"%s\",\"score\":%.3f,"
	       "\"model\":%s,\"themes\":[", row, text_lang_name(r->lang),
	       text_lang_source_name(r->lang_source), text_label_name(r->label), r->score,
	       r->from_model ? "true" : "false");
	for (int i = 0; i < r->n_themes; i++)
		printf("%s{\"theme\":\"%s\",\"subtheme\":\"%s\",\"sentiment\":\"%s\",\"score\":%.3f,"
		       "\"mentions\":%d}", i ? "," : "", r->themes[i].theme, r->themes[i].subtheme,
		       text_label_name(r->themes[i].label), r->themes[i].score, r->themes[i].mentions);
	printf("]}\n");
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static int analyze(const text_opts *o)
{
	text_lang lang, prior;
	if (!lang_arg(o->lang, &lang))
		return cli_usage_error("text", usage, "--lang must be auto, nl or en");
	if (!lang_arg(o->prior, &prior))
		return cli_usage_error("text", usage, "--prior must be nl or en");
	bool csv_out = o->format && strcmp(o->format, "csv") == 0;
	if (o->format && !csv_out && strcmp(o->format, "jsonl") != 0)
		return cli_usage_error("text", usage, "--format must be jsonl or csv");
	if (o->csv && (!o->column || o->input))
		return cli_usage_error("text", usage, "--csv FILE needs --column NAME and no other input file");
	if ((o->column || o->lang_col) && !o->csv)
		return cli_usage_error("text", usage, "--column and --lang-column need --csv FILE");
	text_ctx *ctx;
	text_worker *w;
	ks_error err = { 0 };
	int rc = make_ctx(o, &ctx);
	if (rc)
		return rc;
	if (text_worker_new(ctx, &w, &err) != KS_OK) {
		text_ctx_free(ctx);
		return cli_fail("%s", err.message);
	}
	bool force = lang != TEXT_LANG_AUTO;
	text_lang pr = force ? lang : prior;
	int done = 0, empty = 0;
	if (csv_out)
		printf("row,lang,sentiment,score,themes\n");
	if (o->csv) {
		csv_doc d;
		int col = 0;
		if ((rc = csv_load(o->csv, &d)) != 0)
			goto out;
		int gcol = -1;
		if ((rc = csv_column(&d, o->csv, o->column, &col)) != 0 ||
		    (o->lang_col && (rc = csv_column(&d, o->csv, o->lang_col, &gcol)) != 0)) {
			csv_free(&d);
			goto out;
		}
		for (int i = 1; i < d.n && rc == 0; i++) {
			const char *t = col < d.rows[i].n ? d.rows[i].field[col] : "";
			if (blank(t, strlen(t))) {
				empty++;
				continue;
			}
			/* the row's stated language, when given, is its prior */
			text_lang rp = pr;
			if (!force && gcol >= 0 && gcol < d.rows[i].n && d.rows[i].field[gcol][0] &&
			    !lang_arg(d.rows[i].field[gcol], &rp))
				rp = pr;
			text_result r;
			if (text_analyze(w, t, strlen(t), rp, force, &r, &err) != KS_OK)
				rc = cli_fail("%s:%d: %s", o->csv, d.rows[i].line, err.message);
			else
				print_result(&r, i, csv_out);
			text_result_free(&r);
			done++;
		}
		csv_free(&d);
	} else {
		size_t len;
		char *buf = csv_slurp(o->input ? o->input : "-", FILE_MAX, &len);
		if (!buf) {
			rc = cli_fail("%s: %s", o->input ? o->input : "stdin", strerror(errno));
			goto out;
		}
		int line = 0;
		for (char *p = buf; p < buf + len && rc == 0;) {
			char *nl = memchr(p, '\n', (size_t)(buf + len - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(buf + len - p);
			line++;
			if (blank(p, n)) {
				empty++;
			} else {
				text_result r;
				if (text_analyze(w, p, n, pr, force, &r, &err) != KS_OK)
					rc = cli_fail("%s:%d: %s", o->input ? o->input : "stdin", line, err.message);
				else
					print_result(&r, line, csv_out);
				text_result_free(&r);
				done++;
			}
			p += n + 1;
		}
		free(buf);
	}
	if (rc == 0)
		fprintf(stderr, "klantstem: text analyze: %d texts, %d empty skipped\n", done, empty);
out:
	text_worker_free(w);
	text_ctx_free(ctx);
	return rc;
}

/* ---- train / evaluate ---------------------------------------------------- */

typedef enum scale { SCALE_WORDS, SCALE_STARS, SCALE_NPS } scale;

static bool int_label(const char *s, long *v)
{
	char *end;
	errno = 0;
	*v = strtol(s, &end, 10);
	return *s && !errno && !*end;
}

/* Labelled examples from a CSV; *skipped_* count what was left out. */
static int load_examples(const text_opts *o, csv_doc *d, text_example **ex, int *n,
                         int *no_label, int *no_text, int *bad_label)
{
	int tcol = 0, lcol = 0, gcol = -1, rc;
	if ((rc = csv_load(o->csv, d)) != 0)
		return rc;
	if ((rc = csv_column(d, o->csv, o->text_col, &tcol)) != 0 ||
	    (rc = csv_column(d, o->csv, o->label_col, &lcol)) != 0 ||
	    (o->lang_col && (rc = csv_column(d, o->csv, o->lang_col, &gcol)) != 0)) {
		csv_free(d);
		return rc;
	}
	/* the scale: words, stars when every number is 1..5, else NPS */
	scale sc = SCALE_WORDS;
	bool stars = true, any = false;
	for (int i = 1; i < d->n; i++) {
		long v;
		if (lcol < d->rows[i].n && int_label(d->rows[i].field[lcol], &v)) {
			any = true;
			stars &= v >= 1 && v <= 5;
		}
	}
	if (any)
		sc = stars ? SCALE_STARS : SCALE_NPS;
	*ex = calloc((size_t)d->n, sizeof **ex);
	if (!*ex) {
		csv_free(d);
		return cli_fail("out of memory");
	}
	*n = *no_label = *no_text = *bad_label = 0;
	for (int i = 1; i < d->n; i++) {
		csv_row *r = &d->rows[i];
		const char *t = tcol < r->n ? r->field[tcol] : "";
		const char *l = lcol < r->n ? r->field[lcol] : "";
		if (!*l) {
			(*no_label)++;
			continue;
		}
		if (blank(t, strlen(t))) {
			(*no_text)++;
			continue;
		}
		text_label lab;
		long v;
		if (strcmp(l, "negative") == 0 || strcmp(l, "negatief") == 0)
			lab = TEXT_NEGATIVE;
		else if (strcmp(l, "neutral") == 0 || strcmp(l, "neutraal") == 0)
			lab = TEXT_NEUTRAL;
		else if (strcmp(l, "positive") == 0 || strcmp(l, "positief") == 0)
			lab = TEXT_POSITIVE;
		else if (int_label(l, &v) && sc == SCALE_STARS)
			lab = v <= 2 ? TEXT_NEGATIVE : v == 3 ? TEXT_NEUTRAL : TEXT_POSITIVE;
		else if (int_label(l, &v) && v >= 0 && v <= 10)
			lab = text_label_from_nps((int)v);
		else {
			(*bad_label)++;
			continue;
		}
		text_lang g = TEXT_LANG_AUTO;
		if (gcol >= 0 && gcol < r->n)
			lang_arg(r->field[gcol], &g);
		(*ex)[(*n)++] = (text_example){ t, strlen(t), lab, g };
	}
	fprintf(stderr, "klantstem: %s: %d labelled texts (%s); skipped: %d without label, "
	        "%d empty, %d bad label\n", o->csv, *n,
	        sc == SCALE_WORDS ? "words" : sc == SCALE_STARS ? "stars 1-5" : "NPS 0-10",
	        *no_label, *no_text, *bad_label);
	return 0;
}

static void print_top(const text_model *m)
{
	static const text_lang langs[] = { TEXT_LANG_NL, TEXT_LANG_EN, TEXT_LANG_AUTO };
	for (int c = 0; c < TEXT_N_LABELS; c++)
		for (size_t l = 0; l < 3; l++) {
			const char *names[8];
			double wt[8];
			int k = text_model_top(m, (text_label)c, langs[l], langs[l] == TEXT_LANG_AUTO ? 2 : 8,
			                       names, wt);
			if (!k)
				continue;
			printf("  %-8s %-4s", text_label_name((text_label)c),
			       langs[l] == TEXT_LANG_AUTO ? "lex" : text_lang_name(langs[l]));
			for (int i = 0; i < k; i++)
				printf(" %s(%+.2f)", strchr(names[i], ':') ? strrchr(names[i], ':') + 1 : names[i],
				       wt[i]);
			printf("\n");
		}
}

static int train_or_eval(const text_opts *o, bool eval)
{
	if (!o->csv || !o->text_col || !o->label_col)
		return cli_usage_error("text", usage, "%s needs --csv FILE --text COL --label COL", eval ? "evaluate" : "train");
	if (o->input)
		return cli_usage_error("text", usage, "unexpected argument '%s'", o->input);
	text_ctx *ctx;
	text_worker *w = NULL;
	ks_error err = { 0 };
	int rc = make_ctx(o, &ctx);
	if (rc)
		return rc;
	csv_doc d;
	text_example *ex = NULL;
	int n = 0, nl = 0, nt = 0, nb = 0;
	if (text_worker_new(ctx, &w, &err) != KS_OK) {
		rc = cli_fail("%s", err.message);
		goto out0;
	}
	if ((rc = load_examples(o, &d, &ex, &n, &nl, &nt, &nb)) != 0)
		goto out0;
	text_train_opts to;
	text_train_opts_default(&to);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (eval) {
		text_eval e;
		if (text_model_evaluate(w, ex, n, o->folds, &to, &e, &err) != KS_OK) {
			rc = cli_fail("%s: %s", o->csv, err.message);
			goto out;
		}
		printf("texts %d, folds %d\n", e.n, o->folds);
		printf("model:   accuracy %.3f, macro-F1 %.3f\n", e.accuracy, e.macro_f1);
		printf("lexicon: accuracy %.3f, macro-F1 %.3f\n", (double)e.n_lexicon_correct / e.n,
		       e.lexicon_macro_f1);
		printf("confusion (rows: true, columns: predicted by the model)\n");
		printf("%-10s %9s %9s %9s\n", "", "negative", "neutral", "positive");
		for (int c = 0; c < 3; c++)
			printf("%-10s %9d %9d %9d\n", text_label_name((text_label)c), e.confusion[c][0],
			       e.confusion[c][1], e.confusion[c][2]);
	} else {
		text_model *m;
		if (text_model_train(w, ex, n, &to, &m, &err) != KS_OK) {
			rc = cli_fail("%s: %s", o->csv, err.message);
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
		printf("model: %d texts, %d features, %zu bytes in memory, trained in %.2f s\n",
		       text_model_n_examples(m), text_model_n_features(m), text_model_bytes(m), secs);
		printf("strongest features per class and language:\n");
		print_top(m);
		if (o->out) {
			unsigned char *blob;
			size_t len;
			FILE *f = NULL;
			if (text_model_save(m, &blob, &len, &err) != KS_OK)
				rc = cli_fail("%s", err.message);
			else if (!(f = fopen(o->out, "wb")) || fwrite(blob, 1, len, f) != len)
				rc = cli_fail("%s: %s", o->out, strerror(errno));
			if (f && fclose(f) != 0 && rc == 0)
				rc = cli_fail("%s: %s", o->out, strerror(errno));
			if (rc == 0)
				printf("written: %s (%zu bytes)\n", o->out, len);
			if (rc == 0 || f)
				free(blob);
		}
		text_model_free(m);
	}
out:
	free(ex);
	csv_free(&d);
out0:
	text_worker_free(w);
	text_ctx_free(ctx);
	return rc;
}

/* ---- reanalyze (issue 14: the stored answers) ---------------------------- */

static void reanalyze_progress(void *arg, const store_reanalyze_counts *k)
{
	(void)arg;
	printf("analysed %lld, failed %lld\n", (long long)k->analyzed, (long long)k->failed);
	fflush(stdout);
}

static int reanalyze(int argc, char **argv)
{
	const char *db = NULL;
	long batch = 500;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			char *end;
			batch = strtol(argv[++i], &end, 10);
			if (*end || batch < 1 || batch > 100000)
				return cli_usage_error("text", usage, "--batch must be 1..100000");
		} else
			return cli_usage_error("text", usage, "unknown option '%s'", argv[i]);
	}
	if (db == NULL)
		return cli_usage_error("text", usage, "reanalyze needs --db FILE");
	if (cli_db_exists(db))
		return 1;
	ks_store *s;
	ks_error e;
	ks_error_clear(&e);
	if (store_open(db, NULL, &s, &e))
		return cli_report(&e, NULL);
	store_reanalyze_counts k;
	ks_err err = store_text_reanalyze(s, (int)batch, reanalyze_progress, NULL, &k, &e);
	store_close(s);
	if (err)
		return cli_report(&e, NULL);
	printf("done: %lld answers analysed, %lld failed\n", (long long)k.analyzed, (long long)k.failed);
	return k.failed ? 1 : 0;
}

/* ---- taxonomy --db (issue 14: the organisation's, in the store) ---------- */

/* Store the taxonomy of file (NULL: the default again) in s. */
static int taxonomy_store(ks_store *s, const char *file)
{
	json_t *tax = NULL;
	if (file) {
		size_t len;
		char *buf = csv_slurp(file, FILE_MAX, &len);
		if (buf == NULL)
			return cli_fail("%s: %s", file, strerror(errno));
		json_error_t je;
		tax = json_loadb(buf, len, 0, &je);
		free(buf);
		if (tax == NULL)
			return cli_fail("%s: not JSON (line %d: %s)", file, je.line, je.text);
	}
	ks_error e;
	ks_error_clear(&e);
	store_audit_entry a = {.action = file ? "text.taxonomy_update" : "text.taxonomy_reset",
			       .object_kind = "text_taxonomy", .client_addr = "cli"};
	json_t *out = NULL;
	ks_err err = store_text_taxonomy_put(s, tax, &a, &out, &e);
	json_decref(tax);
	if (err && e.field[0])
		return cli_fail("%s: %s (field %s)", file ? file : "taxonomy", e.message, e.field);
	if (err)
		return cli_report(&e, NULL);
	printf("taxonomy %s: version %lld; the stored answers are analysed again when the server starts"
	       " (or run `klantstem text reanalyze --db`)\n",
	       file ? "stored" : "reset to the default",
	       (long long)json_integer_value(json_object_get(out, "version")));
	json_decref(out);
	return 0;
}

static int taxonomy_db(int argc, char **argv)
{
	const char *db = NULL, *set = NULL;
	bool reset = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			db = argv[++i];
		else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
			set = argv[++i];
		else if (strcmp(argv[i], "--reset") == 0)
			reset = true;
		else
			return cli_usage_error("text", usage, "unknown option '%s'", argv[i]);
	}
	if (db == NULL)
		return cli_usage_error("text", usage, "taxonomy --set / --reset need --db FILE");
	if (set && reset)
		return cli_usage_error("text", usage, "--set and --reset exclude each other");
	if (cli_db_exists(db))
		return 1;
	ks_store *s;
	ks_error e;
	ks_error_clear(&e);
	if (store_open(db, NULL, &s, &e))
		return cli_report(&e, NULL);
	int rc = 0;
	if (set || reset)
		rc = taxonomy_store(s, set);
	else {
		json_t *out = NULL;
		if (store_text_taxonomy_get(s, &out, &e) != KS_OK)
			rc = cli_report(&e, NULL);
		else {
			char *text = json_dumps(json_object_get(out, "taxonomy"), JSON_INDENT(1) | JSON_PRESERVE_ORDER);
			if (text)
				printf("%s\n", text);
			free(text);
			rc = text ? 0 : cli_fail("out of memory");
		}
		json_decref(out);
	}
	store_close(s);
	return rc;
}

int cli_text_run(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : 0;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "reanalyze") == 0)
		return reanalyze(argc - 2, argv + 2);
	if (strcmp(sub, "taxonomy") == 0 && argc > 2)
		return taxonomy_db(argc - 2, argv + 2);
	text_opts o;
	int rc = parse_opts(argc - 2, argv + 2, &o);
	if (rc)
		return rc;
	if (strcmp(sub, "analyze") == 0)
		return analyze(&o);
	if (strcmp(sub, "train") == 0)
		return train_or_eval(&o, false);
	if (strcmp(sub, "evaluate") == 0)
		return train_or_eval(&o, true);
	if (strcmp(sub, "taxonomy") == 0) {
		text_ctx *ctx;
		ks_error err = { 0 };
		if (text_ctx_new(&ctx, NULL, &err) != KS_OK)
			return cli_fail("%s", err.message);
		text_ctx_free(ctx);
		extern const char text_taxonomy_default[];
		fputs(text_taxonomy_default, stdout);
		return 0;
	}
	return cli_usage_error("text", usage, "unknown sub-command '%s'", sub);
}
