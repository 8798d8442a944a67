/* fuzz_survey_form.c — the public survey form: survey_form_parse on the
 * posted application/x-www-form-urlencoded body, then the form shown again
 * with what the customer entered (survey_page_form with errs), as the
 * handler of POST /s/{token} does (src/survey/page.c).
 *
 * Input: byte 0 picks the survey (bit 0: every question required; bit 1:
 * English page), the rest is the body.
 * Oracles: a result the header promises (KS_OK, KS_ERR_INVALID,
 * KS_ERR_RANGE) and consistent with errs; on success every score in its
 * range, drivers from the survey, the open answer trimmed, without CR,
 * valid UTF-8, at most MODEL_OPEN_MAX bytes; the nonce only [A-Za-z0-9_-];
 * and the page shown again is valid UTF-8 with every '<' its own, none
 * from the customer's words.
 */
#include <ctype.h>

#include <jansson.h>

#include "fuzz_util.h"
#include "survey/page.h"

static model_survey fz_surveys[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const char *const spec =
		"[{\"type\":\"nps\",\"text\":{\"nl\":\"Hoe waarschijnlijk <b>is</b> het?\",\"en\":\"How likely?\"}},"
		"{\"type\":\"grade\",\"text\":{\"nl\":\"Welk cijfer?\",\"en\":\"Which grade?\"}},"
		"{\"type\":\"ces\",\"text\":{\"nl\":\"Makkelijk?\",\"en\":\"Easy?\"}},"
		"{\"type\":\"driver\",\"aspect\":\"vriendelijkheid\",\"text\":{\"nl\":\"Vriendelijk?\",\"en\":\"Kind?\"}},"
		"{\"type\":\"driver\",\"aspect\":\"snelheid\",\"text\":{\"nl\":\"Snel?\",\"en\":\"Fast?\"}},"
		"{\"type\":\"open\",\"text\":{\"nl\":\"Waarom?\",\"en\":\"Why?\"}}]";
	for (int i = 0; i < 2; i++) {
		json_error_t je;
		json_t *q = json_loads(spec, 0, &je);
		size_t k;
		json_t *item;
		json_array_foreach(q, k, item)
			json_object_set_new(item, "required", json_boolean(i == 1 && k != 5));
		ks_error e;
		memset(&fz_surveys[i], 0, sizeof fz_surveys[i]);
		fz_surveys[i].id = 1;
		snprintf(fz_surveys[i].name, sizeof fz_surveys[i].name, "Fuzz");
		if (q == NULL || model_survey_questions_parse(q, &fz_surveys[i], &e) != KS_OK)
			fz_fail("setup: survey: %s", q ? e.message : je.text);
		json_decref(q);
	}
	return 0;
}

/* Occurrences of ch (memchr: the harness's own loops are instrumented and
 * slow). */
static size_t fz_count(const char *s, size_t n, char ch)
{
	size_t k = 0;
	for (const char *p = s, *end = s + n; (p = memchr(p, ch, (size_t)(end - p))) != NULL; p++)
		k++;
	return k;
}

static ks_err fz_render(const model_survey *s, const char *lang, const survey_form_errors *errs, ks_buf *out)
{
	buf_init(out, 1u << 20);
	return survey_page_form(out, s, lang, "tok_en-123", "nonce", "Balie <Noord>", "Anne", -1, errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode = fz_byte(&data, &size);
	const model_survey *s = &fz_surveys[mode & 1];
	const char *lang = mode & 2 ? "en" : "nl";
	model_response r;
	model_response_init(&r);
	char *open = NULL;
	char nonce[SURVEY_NONCE_MAX + 1];
	survey_form_errors errs;
	survey_form_errors_init(&errs);
	ks_err err = survey_form_parse((const char *)data, size, s, &r, &open, nonce, sizeof nonce, &errs);

	if (err != KS_OK && err != KS_ERR_INVALID && err != KS_ERR_RANGE)
		fz_fail("survey_form_parse returned %d", (int)err);
	if ((err == KS_OK) != (errs.count == 0 && errs.general == SURVEY_GE_NONE))
		fz_fail("result %d but %d question errors, general %d", (int)err, errs.count, (int)errs.general);
	if (err != KS_OK && open != NULL)
		fz_fail("an error left *open_text_out set");
	if (strnlen(nonce, sizeof nonce) == sizeof nonce)
		fz_fail("nonce not terminated");
	for (const char *p = nonce; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-'))
			fz_fail("nonce holds 0x%02x", (unsigned char)*p);
	if (strnlen(errs.open, sizeof errs.open) == sizeof errs.open)
		fz_fail("errs.open not terminated");
	if (err == KS_OK) {
		const int sc[3] = {r.nps, r.grade, r.ces};
		const model_qtype ty[3] = {MODEL_Q_NPS, MODEL_Q_GRADE, MODEL_Q_CES};
		for (int i = 0; i < 3; i++) {
			int lo, hi;
			model_qtype_range(ty[i], &lo, &hi);
			if (sc[i] != -1 && (sc[i] < lo || sc[i] > hi))
				fz_fail("%s score %d outside %d..%d", model_qtype_name(ty[i]), sc[i], lo, hi);
		}
		if (r.n_drivers < 0 || r.n_drivers > 2)
			fz_fail("%d drivers", r.n_drivers);
		for (int i = 0; i < r.n_drivers; i++)
			if ((strcmp(r.drivers[i].aspect, "vriendelijkheid") != 0 &&
			     strcmp(r.drivers[i].aspect, "snelheid") != 0) ||
			    r.drivers[i].score < 1 || r.drivers[i].score > 10)
				fz_fail("driver %s = %d", r.drivers[i].aspect, r.drivers[i].score);
		if (open) {
			size_t n = strlen(open);
			if (n == 0 || n > MODEL_OPEN_MAX)
				fz_fail("open answer of %zu bytes", n);
			if (strchr(open, '\r'))
				fz_fail("open answer holds CR");
			if (isspace((unsigned char)open[0]) || isspace((unsigned char)open[n - 1]))
				fz_fail("open answer not trimmed");
			if (!fz_utf8_ok((const unsigned char *)open, n))
				fz_fail("open answer is not UTF-8");
		}
	}
	free(open);

	/* The form again, with the customer's entries. Its markup must be the
	 * same as with an empty open answer: every '<' and '"' is the page's. */
	ks_buf page, plain;
	ks_err e1 = fz_render(s, lang, &errs, &page);
	survey_form_errors blank = errs;
	blank.open[0] = '\0';
	ks_err e2 = fz_render(s, lang, &blank, &plain);
	if (e1 != KS_OK || e2 != KS_OK)
		fz_fail("survey_page_form: %d / %d", (int)e1, (int)e2);
	if (!fz_utf8_ok((const unsigned char *)page.data, page.len))
		fz_fail("page is not UTF-8");
	if (fz_count(page.data, page.len, '<') != fz_count(plain.data, plain.len, '<') ||
	    fz_count(page.data, page.len, '"') != fz_count(plain.data, plain.len, '"'))
		fz_fail("the open answer %.200s added markup", errs.open);
	buf_free(&page);
	buf_free(&plain);
	return 0;
}
