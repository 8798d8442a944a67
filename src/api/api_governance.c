/* api_governance.c — the governance routes for directors (issue 17, part L):
 *   GET /api/v1/governance/links     one soft × hard pair: lagged within-unit
 *                                    correlations 0..6 and the fixed-effects
 *                                    regression at the lag the user chose
 *   GET /api/v1/governance/map       every soft KPI × every hard KPI at one
 *                                    lag, with Benjamini-Hochberg q-values
 *   GET /api/v1/governance/overview  the page's data: the catalogue's KPIs per
 *                                    department with trend and target, the
 *                                    organisation's soft KPIs, team goals
 *
 * The numbers come from part K's series (src/governance/series.h, under the
 * API's disclosure policy: a soft cell /metrics would hide is missing here
 * too) and the statistics of src/governance/links.h. The words say
 * "associated with" / "hangt samen met": these are links in past data, and
 * the lag is the user's, never the best of seven (choosing the best lag
 * after looking would make its p-value meaningless). docs/API.md
 * "Governance", docs/GOVERNANCE.md "Soft and hard: links".
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/tz.h"
#include "governance/kpi.h"
#include "governance/links.h"
#include "governance/series.h"
#include "metrics/metrics.h"

/* The soft KPIs of the map and the overview (theme shares are many: the
 * pair explorer takes them one at a time). */
static const char *const gv_soft_keys[] = {"nps", "grade", "ces", "enps", "response_rate", "case_sla"};
#define GV_N_SOFT (sizeof gv_soft_keys / sizeof gv_soft_keys[0])
#define GV_FDR_Q 0.05
#define GV_DEFAULT_MONTHS 24
#define GV_FIRST_MONTH (1900 * 12)   /* 1900-01, the first month kpi_period_valid takes */
#define GV_MAX_UNITS_PARAM 256

/* ---- names and wording ------------------------------------------------------------- */

typedef struct gv_soft_name {
	const char *key, *nl, *en;
	double step;              /* the step a sentence speaks of, in the series' unit */
	const char *step_nl, *step_en;
} gv_soft_name;

/* nps and enps are -100..100 points, grade 1..10, ces 1..7; response_rate,
 * case_sla and theme shares are shares 0..1 (series.h), so a sentence
 * speaks of one percentage point. */
static const gv_soft_name gv_soft_names[] = {
	{"nps", "NPS", "NPS", 1, "1 punt", "1-point"},
	{"grade", "rapportcijfer", "grade", 1, "1 punt", "1-point"},
	{"ces", "CES", "CES", 1, "1 punt", "1-point"},
	{"enps", "eNPS", "eNPS", 1, "1 punt", "1-point"},
	{"response_rate", "respons", "response rate", 0.01, "1 procentpunt", "1-percentage-point"},
	{"case_sla", "cases binnen SLA", "cases within SLA", 0.01, "1 procentpunt", "1-percentage-point"},
};

static gv_soft_name gv_soft_name_of(const char *key)
{
	for (size_t i = 0; i < sizeof gv_soft_names / sizeof gv_soft_names[0]; i++)
		if (strcmp(gv_soft_names[i].key, key) == 0)
			return gv_soft_names[i];
	/* theme:<id> */
	return (gv_soft_name){key, "aandeel van het thema", "share of the theme", 0.01, "1 procentpunt",
			      "1-percentage-point"};
}

static const char *gv_level_word(int level, bool nl)
{
	if (level == GOV_LEVEL_DEPARTMENT)
		return nl ? "afdelingen" : "departments";
	return "teams";
}

/* "in the same month", "one month later", "3 months later". */
static void gv_lag_text(int lag, bool nl, char *out, size_t n)
{
	if (lag == 0)
		snprintf(out, n, "%s", nl ? "in dezelfde maand" : "in the same month");
	else if (lag == 1)
		snprintf(out, n, "%s", nl ? "een maand later" : "one month later");
	else
		snprintf(out, n, nl ? "%d maanden later" : "%d months later", lag);
}

/* A number for a sentence: 2 decimals from 0.1 up, else 3 significant
 * digits; a decimal comma in Dutch. */
static void gv_num(double v, bool nl, char *out, size_t n)
{
	if (!isfinite(v)) {
		snprintf(out, n, "-");
		return;
	}
	if (fabs(v) >= 0.1 || v == 0)
		snprintf(out, n, "%.2f", v);
	else
		snprintf(out, n, "%.3g", v);
	if (nl)
		for (char *c = out; *c; c++)
			if (*c == '.')
				*c = ',';
}

static void gv_p_text(double p, bool nl, char *out, size_t n)
{
	if (p < 0.001)
		snprintf(out, n, "p < %s", nl ? "0,001" : "0.001");
	else {
		char b[16];
		snprintf(b, sizeof b, "%.3f", p < 1 ? p : 1.0);
		if (nl)
			for (char *c = b; *c; c++)
				if (*c == '.')
					*c = ',';
		snprintf(out, n, "p = %s", b);
	}
}

static json_t *gv_real(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* What a hard KPI is, for the sentences and the reply. */
typedef struct gv_hard {
	char key[48], name_nl[STORE_KPI_NAME_MAX + 1], name_en[STORE_KPI_NAME_MAX + 1];
	char unit[STORE_KPI_UNIT_MAX + 1];
	bool higher_is_better;
} gv_hard;

static void gv_hard_from(const store_kpi *k, gv_hard *h)
{
	snprintf(h->key, sizeof h->key, "%s", k->key);
	snprintf(h->name_nl, sizeof h->name_nl, "%s", k->name_nl);
	snprintf(h->name_en, sizeof h->name_en, "%s", k->name_en);
	snprintf(h->unit, sizeof h->unit, "%s", k->unit);
	h->higher_is_better = k->higher_is_better;
}

/* The sentence of one regression, in one language. Direction-aware: every
 * soft KPI is "higher is better", so beta < 0 is favourable exactly when
 * the hard KPI is "lower is better" (a fall in cost to serve is good). */
static void gv_sentence(const links_fit *f, const char *soft_key, const gv_hard *h, int level, bool nl,
			ks_buf *b)
{
	gv_soft_name sn = gv_soft_name_of(soft_key);
	const char *soft = nl ? sn.nl : sn.en, *hard = nl ? h->name_nl : h->name_en;
	const char *units = gv_level_word(level, nl);
	char lagt[48], x[32], lo[32], hi[32], pt[48];
	gv_lag_text(f->base.lag, nl, lagt, sizeof lagt);
	if (f->base.reason != LINKS_ENOUGH) {
		buf_printf(b, nl ? "Te weinig gegevens voor %s en %s %s op het niveau van %s: "
				    : "Not enough data for %s and %s %s at the level of %s: ",
			      soft, hard, lagt, units);
		switch (f->base.reason) {
		case LINKS_FEW_UNITS:
			buf_printf(b, nl ? "%zu %s met minstens twee maanden van beide (minstens %d nodig)."
					    : "%zu %s with at least two months of both (at least %d needed).",
				      f->base.n_units, units, LINKS_MIN_UNITS);
			break;
		case LINKS_FEW_PERIODS:
			buf_printf(b, nl ? "%zu maanden (minstens %d nodig)." : "%zu months (at least %d needed).",
				      f->base.n_periods, LINKS_MIN_PERIODS);
			break;
		case LINKS_FEW_PAIRS:
			buf_printf(b, nl ? "%zu paren van maanden (minstens %d nodig)."
					    : "%zu pairs of months (at least %d needed).",
				      f->base.n_pairs, LINKS_MIN_PAIRS);
			break;
		default:
			/* which KPI stands still: a constant hard KPI has nothing to explain */
			if (f->base.soft_still && f->base.hard_still)
				buf_printf(b, nl ? "%s en %s bewegen niet binnen de %s." : "%s and %s do not move within the %s.",
					      soft, hard, units);
			else
				buf_printf(b, nl ? "%s beweegt niet binnen de %s." : "%s does not move within the %s.",
					      f->base.hard_still ? hard : soft, units);
		}
		return;
	}
	gv_p_text(f->p, nl, pt, sizeof pt);
	gv_num(f->lo * sn.step, nl, lo, sizeof lo);
	gv_num(f->hi * sn.step, nl, hi, sizeof hi);
	bool clear = f->p < 0.05 && (f->lo > 0 || f->hi < 0);
	if (!clear) {
		buf_printf(b, nl ? "Op het niveau van %s hangt %s niet duidelijk samen met %s %s: het 95%%-interval "
				      "(%s tot %s %s per %s) omvat nul (%zu %s, %zu maanden, %zu paren; %s)."
				    : "At the level of %s, %s is not clearly associated with %s %s: the 95%% interval "
				      "(%s to %s %s per %s) includes zero (%zu %s, %zu months, %zu pairs; %s).",
			      units, soft, hard, lagt, lo, hi, h->unit, nl ? sn.step_nl : sn.step_en, f->base.n_units,
			      units, f->base.n_periods, f->base.n_pairs, pt);
	} else {
		bool up = f->beta > 0;
		bool good = up == h->higher_is_better;
		gv_num(fabs(f->beta * sn.step), nl, x, sizeof x);
		/* the interval in the sentence's own direction: "0.26 to 0.29 lower" */
		double a = fabs(f->lo * sn.step), z = fabs(f->hi * sn.step);
		gv_num(a < z ? a : z, nl, lo, sizeof lo);
		gv_num(a < z ? z : a, nl, hi, sizeof hi);
		if (nl)
			buf_printf(b,
				      "Op het niveau van %s hangt een %s hogere %s in een maand samen met %s %s %s %s "
				      "%s (95%%-interval: %s tot %s %s %s; %zu %s, %zu maanden, %zu paren; %s). %s: %s %s "
				      "is beter.",
				      units, sn.step_nl, soft, x, h->unit, up ? "hogere" : "lagere", hard, lagt, lo, hi,
				      h->unit, up ? "hoger" : "lager",
				      f->base.n_units, units, f->base.n_periods, f->base.n_pairs, pt,
				      good ? "Gunstig" : "Ongunstig", h->higher_is_better ? "hogere" : "lagere", hard);
		else
			buf_printf(b,
				      "At the level of %s, a %s higher %s in a month is associated with a %s %s %s %s "
				      "%s (95%% interval: %s to %s %s %s; %zu %s, %zu months, %zu pairs; %s). %s: %s %s "
				      "is better.",
				      units, sn.step_en, soft, x, h->unit, up ? "higher" : "lower", hard, lagt, lo, hi,
				      h->unit, up ? "higher" : "lower",
				      f->base.n_units, units, f->base.n_periods, f->base.n_pairs, pt,
				      good ? "Favourable" : "Unfavourable", h->higher_is_better ? "higher" : "lower",
				      hard);
	}
	if (f->base.n_units < LINKS_FEW_CLUSTERS)
		buf_printf(b, nl ? " Met maar %zu %s is het interval minder betrouwbaar dan het lijkt."
				    : " With only %zu %s the interval is less reliable than it looks.",
			      f->base.n_units, units);
	buf_printf(b, "%s", nl ? " Een samenhang in eerdere gegevens, geen bewijs dat het een het ander drijft."
				  : " An association in past data, not proof that one drives the other.");
}

/* ---- parameters -------------------------------------------------------------------- */

typedef struct gv_params {
	int level;
	int lag;
	char from[8], to[8];
	int64_t *units;          /* the chosen units (sorted), NULL = every unit of the level */
	size_t n_units;
	int64_t department;      /* echo only; resolved into units */
} gv_params;

static void gv_params_free(gv_params *p)
{
	free(p->units);
	p->units = NULL;
}

static ks_err gv_level_param(http_req *req, int *level, ks_error *e)
{
	const char *v = http_query(req, "level");
	if (!v || strcmp(v, "team") == 0)
		*level = GOV_LEVEL_TEAM;
	else if (strcmp(v, "department") == 0)
		*level = GOV_LEVEL_DEPARTMENT;
	else
		return ks_fail(e, KS_ERR_INVALID, "level", "level must be team or department");
	return KS_OK;
}

static ks_err gv_lag_param(http_req *req, int *lag, ks_error *e)
{
	const char *v = http_query(req, "lag");
	if (!v || !*v)
		return ks_fail(e, KS_ERR_INVALID, "lag", "lag is required: 0..%d months, chosen before looking",
			       LINKS_MAX_LAG);
	if (v[1] != '\0' || v[0] < '0' || v[0] > '9' || v[0] - '0' > LINKS_MAX_LAG)
		return ks_fail(e, KS_ERR_RANGE, "lag", "lag must be a whole number of months 0..%d", LINKS_MAX_LAG);
	*lag = v[0] - '0';
	return KS_OK;
}

static int gv_month_index(const char *p)
{
	return ((p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0')) * 12 +
	       ((p[5] - '0') * 10 + (p[6] - '0')) - 1;
}

static void gv_month_label(int idx, char out[8])
{
	char b[32];
	snprintf(b, sizeof b, "%04d-%02d", (idx / 12) % 10000, idx % 12 + 1);
	memcpy(out, b, 7);
	out[7] = '\0';
}

/* from/to 'YYYY-MM'; by default the 24 whole months before the current
 * local month (the current one is not over: its soft cells still move). */
static ks_err gv_window_param(http_req *req, gv_params *p, ks_error *e)
{
	api_app *app = req->app;
	const char *from = http_query(req, "from"), *to = http_query(req, "to");
	if (from && !kpi_period_valid(from))
		return ks_fail(e, KS_ERR_INVALID, "from", "from must be a month YYYY-MM");
	if (to && !kpi_period_valid(to))
		return ks_fail(e, KS_ERR_INVALID, "to", "to must be a month YYYY-MM");
	int y, mo, d, h, mi, s;
	tz_civil(&app->tz, clock_now(app->clock), &y, &mo, &d, &h, &mi, &s);
	int ti = to ? gv_month_index(to) : y * 12 + (mo - 1) - 1;
	int fi = from ? gv_month_index(from) : ti - (GV_DEFAULT_MONTHS - 1);
	/* A default bound never leaves the months a period may name
	 * (1900-01 on): to=1900-05 alone is a window from 1900-01, not a 422
	 * naming a from nobody gave. An error names a parameter given. */
	if (!from && fi < GV_FIRST_MONTH)
		fi = GV_FIRST_MONTH;
	if (fi > ti && !to)
		return ks_fail(e, KS_ERR_RANGE, "from", "from must not be after the last whole month, %04d-%02d",
			       ti / 12, ti % 12 + 1);
	if (fi > ti)
		return ks_fail(e, KS_ERR_RANGE, "to", "to must not be before from");
	if (ti - fi + 1 > GOV_MAX_PERIODS)
		return ks_fail(e, KS_ERR_RANGE, "from", "at most %d months", GOV_MAX_PERIODS);
	gv_month_label(fi, p->from);
	gv_month_label(ti, p->to);
	return KS_OK;
}

static int gv_cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* units=ID,ID,... (units of the level) or department=ID (level team: the
 * teams under it). Checked against the org tree: 422 naming the parameter. */
static ks_err gv_units_param(http_req *req, gv_params *p, ks_error *e)
{
	api_app *app = req->app;
	const char *uv = http_query(req, "units"), *dv = http_query(req, "department");
	if (!uv && !dv)
		return KS_OK;
	if (uv && dv)
		return ks_fail(e, KS_ERR_INVALID, "units", "give units or department, not both");
	store_kpi_unit *tree = NULL;
	size_t nt = 0;
	ks_err err = store_kpi_units(app->store, &tree, &nt, e);
	if (err)
		return err;
	const char *kind = p->level == GOV_LEVEL_DEPARTMENT ? "department" : "team";
	p->units = calloc(uv ? GV_MAX_UNITS_PARAM : (nt ? nt : 1), sizeof(int64_t));
	if (!p->units) {
		free(tree);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	if (dv) {
		char *end;
		errno = 0;
		long long d = strtoll(dv, &end, 10);
		size_t i = 0;
		while (i < nt && !(tree[i].id == d && strcmp(tree[i].kind, "department") == 0))
			i++;
		if (p->level != GOV_LEVEL_TEAM)
			err = ks_fail(e, KS_ERR_INVALID, "department", "department= chooses teams: use it with level=team");
		else if (errno || *end || d <= 0 || i == nt)
			err = ks_fail(e, KS_ERR_INVALID, "department", "department must be the id of a department");
		p->department = d;
		for (size_t j = 0; !err && j < nt; j++)
			if (tree[j].parent_id == d && strcmp(tree[j].kind, "team") == 0)
				p->units[p->n_units++] = tree[j].id;
	} else {
		const char *c = uv;
		while (!err) {
			char *end;
			errno = 0;
			long long id = strtoll(c, &end, 10);
			size_t i = 0;
			while (i < nt && tree[i].id != id)
				i++;
			if (errno || end == c || id <= 0 || (*end && *end != ','))
				err = ks_fail(e, KS_ERR_INVALID, "units", "units must be ids separated by commas");
			else if (i == nt || strcmp(tree[i].kind, kind) != 0)
				err = ks_fail(e, KS_ERR_INVALID, "units", "unit %lld is not a %s", id, kind);
			else if (p->n_units == GV_MAX_UNITS_PARAM)
				err = ks_fail(e, KS_ERR_RANGE, "units", "at most %d units", GV_MAX_UNITS_PARAM);
			else
				p->units[p->n_units++] = id;
			if (err || !*end)
				break;
			c = end + 1;
		}
	}
	free(tree);
	if (err) {
		gv_params_free(p);
		return err;
	}
	qsort(p->units, p->n_units, sizeof(int64_t), gv_cmp_id);
	return KS_OK;
}

static bool gv_chosen(const gv_params *p, int64_t id)
{
	return !p->units || bsearch(&id, p->units, p->n_units, sizeof(int64_t), gv_cmp_id) != NULL;
}

static ks_err gv_common_params(http_req *req, gv_params *p, bool with_lag, ks_error *e)
{
	*p = (gv_params){0};
	ks_err err = gv_level_param(req, &p->level, e);
	if (!err && with_lag)
		err = gv_lag_param(req, &p->lag, e);
	if (!err)
		err = gv_window_param(req, p, e);
	if (!err)
		err = gv_units_param(req, p, e);
	return err;
}

/* ---- panels ------------------------------------------------------------------------ */

static ks_err gv_series(api_app *app, const char *kpi, int level, const gv_params *p, gov_series *out,
			ks_error *e)
{
	dc_policy pol = api_policy(app);
	return gov_series_get_pol(app->store, app->index, &pol, kpi, level, p->from, p->to, out, e);
}

/* The panel of the chosen units that both series carry (both hold every
 * unit of the level, ascending, over the same months). soft/hard are
 * malloc'd (caller frees both). */
typedef struct gv_panel {
	links_panel lp;
	double *soft, *hard;
} gv_panel;

static ks_err gv_panel_make(const gov_series *s, const gov_series *h, const gv_params *p, gv_panel *out,
			    ks_error *e)
{
	*out = (gv_panel){0};
	if (s->n_periods != h->n_periods)
		return ks_fail(e, KS_ERR_INTERNAL, NULL, "series of different lengths");
	size_t T = s->n_periods, cap = s->n_units < h->n_units ? s->n_units : h->n_units;
	out->soft = calloc(cap * T + 1, sizeof(double));
	out->hard = calloc(cap * T + 1, sizeof(double));
	if (!out->soft || !out->hard) {
		free(out->soft);
		free(out->hard);
		*out = (gv_panel){0};
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	size_t nu = 0;
	for (size_t i = 0, j = 0; i < s->n_units && j < h->n_units;) {
		if (s->unit_ids[i] < h->unit_ids[j]) {
			i++;
		} else if (s->unit_ids[i] > h->unit_ids[j]) {
			j++;
		} else {
			if (gv_chosen(p, s->unit_ids[i])) {
				for (size_t t = 0; t < T; t++) {
					const gov_cell *a = &s->cells[i * T + t], *b = &h->cells[j * T + t];
					out->soft[nu * T + t] = a->present ? a->value : NAN;
					out->hard[nu * T + t] = b->present ? b->value : NAN;
				}
				nu++;
			}
			i++;
			j++;
		}
	}
	out->lp = (links_panel){.n_units = nu, .n_periods = T, .soft = out->soft, .hard = out->hard};
	return KS_OK;
}

static void gv_panel_free(gv_panel *p)
{
	free(p->soft);
	free(p->hard);
	*p = (gv_panel){0};
}

static json_t *gv_base_json(const links_base *b)
{
	return json_pack("{s:i, s:I, s:I, s:I, s:b, s:o}", "lag", b->lag, "n_units", (json_int_t)b->n_units,
			 "n_periods", (json_int_t)b->n_periods, "n_pairs", (json_int_t)b->n_pairs, "enough",
			 b->reason == LINKS_ENOUGH, "reason",
			 b->reason == LINKS_ENOUGH ? json_null() : json_string(links_reason_name(b->reason)));
}

static json_t *gv_fit_json(const links_fit *f)
{
	json_t *o = gv_base_json(&f->base);
	json_object_set_new(o, "beta", gv_real(f->beta));
	json_object_set_new(o, "se", gv_real(f->se));
	json_object_set_new(o, "t", gv_real(f->t));
	json_object_set_new(o, "df", gv_real(f->df));
	json_object_set_new(o, "p", gv_real(f->p));
	json_object_set_new(o, "ci_low", gv_real(f->lo));
	json_object_set_new(o, "ci_high", gv_real(f->hi));
	json_object_set_new(o, "few_units", json_boolean(f->base.reason == LINKS_ENOUGH &&
							  f->base.n_units < LINKS_FEW_CLUSTERS));
	return o;
}

static json_t *gv_hard_json(const store_kpi *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "key", k->key, "name_nl", k->name_nl, "name_en",
			 k->name_en, "unit", k->unit, "higher_is_better", k->higher_is_better, "department",
			 k->department, "kind", k->kind);
}

static json_t *gv_soft_json(const char *key)
{
	gv_soft_name sn = gv_soft_name_of(key);
	return json_pack("{s:s, s:s, s:s, s:b}", "key", key, "name_nl", sn.nl, "name_en", sn.en,
			 "higher_is_better", 1);
}

static json_t *gv_minimums_json(void)
{
	return json_pack("{s:i, s:i, s:i}", "units", LINKS_MIN_UNITS, "periods", LINKS_MIN_PERIODS, "pairs",
			 LINKS_MIN_PAIRS);
}

static json_t *gv_units_json(const gv_params *p)
{
	if (!p->units)
		return json_null();
	json_t *a = json_array();
	for (size_t i = 0; i < p->n_units; i++)
		json_array_append_new(a, json_integer(p->units[i]));
	return a;
}

/* The hard side: a catalogue key, never a soft one. */
static ks_err gv_hard_param(api_app *app, const char *v, store_kpi *k, ks_error *e)
{
	if (!v || !*v)
		return ks_fail(e, KS_ERR_INVALID, "hard", "hard is required: a KPI key of the catalogue");
	if (gov_kpi_is_soft(v))
		return ks_fail(e, KS_ERR_INVALID, "hard", "%s is a soft KPI: the hard side is a KPI of the catalogue",
			       strlen(v) > 40 ? "the key" : v);
	ks_error e2;
	ks_error_clear(&e2);
	ks_err err = store_kpi_by_key(app->store, v, k, &e2);
	if (err == KS_ERR_NOTFOUND)
		return ks_fail(e, KS_ERR_INVALID, "hard", "no KPI with this key in the catalogue");
	if (err && e)
		*e = e2;
	return err;
}

static ks_err gv_soft_param(const char *v, ks_error *e)
{
	if (!v || !*v)
		return ks_fail(e, KS_ERR_INVALID, "soft", "soft is required: nps, grade, ces, enps, response_rate, "
							 "case_sla or theme:<id>");
	if (!gov_kpi_is_soft(v))
		return ks_fail(e, KS_ERR_INVALID, "soft", "not a soft KPI: nps, grade, ces, enps, response_rate, "
							 "case_sla or theme:<id>");
	if (strlen(v) >= 48)
		return ks_fail(e, KS_ERR_INVALID, "soft", "soft key too long");
	return KS_OK;
}

/* A series error about "kpi" names the route's parameter instead. */
static ks_err gv_rename(ks_err err, ks_error *e, const char *field)
{
	if (err && e && strcmp(e->field, "kpi") == 0)
		snprintf(e->field, sizeof e->field, "%s", field);
	return err;
}

/* ---- GET /api/v1/governance/links -------------------------------------------------- */

ks_err api_gov_links(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	static const char *const allowed[] = {"soft", "hard", "level", "lag", "from", "to", "units", "department",
					      NULL};
	gv_params p = {0};
	store_kpi hk;
	gov_series ss = {0}, hs = {0};
	gv_panel pan = {0};
	json_t *corr = NULL;
	const char *soft = http_query(req, "soft");
	ks_err err = api_only_params(req, allowed, e);
	if (!err)
		err = gv_soft_param(soft, e);
	if (!err)
		err = gv_hard_param(app, http_query(req, "hard"), &hk, e);
	if (!err)
		err = gv_common_params(req, &p, true, e);
	if (!err)
		err = gv_rename(gv_series(app, soft, p.level, &p, &ss, e), e, "soft");
	if (!err)
		err = gv_rename(gv_series(app, hk.key, p.level, &p, &hs, e), e, "hard");
	if (!err)
		err = gv_panel_make(&ss, &hs, &p, &pan, e);
	if (err)
		goto out;
	corr = json_array();
	for (int lag = 0; lag <= LINKS_MAX_LAG && !err; lag++) {
		links_corr c;
		err = links_correlation(&pan.lp, lag, &c, e);
		if (err)
			break;
		json_t *o = gv_base_json(&c.base);
		json_object_set_new(o, "r", gv_real(c.r));
		json_object_set_new(o, "ci_low", gv_real(c.lo));
		json_object_set_new(o, "ci_high", gv_real(c.hi));
		json_array_append_new(corr, o);
	}
	links_fit f;
	if (!err)
		err = links_regression(&pan.lp, p.lag, &f, e);
	if (err)
		goto out;
	gv_hard gh;
	gv_hard_from(&hk, &gh);
	ks_buf nl, en;
	buf_init(&nl, 4096);
	buf_init(&en, 4096);
	gv_sentence(&f, soft, &gh, p.level, true, &nl);
	gv_sentence(&f, soft, &gh, p.level, false, &en);
	char lag_nl[160], lag_en[160];
	snprintf(lag_nl, sizeof lag_nl,
		 "De vertraging (%d %s) is door u gekozen, niet de sterkste van de zeven uitgezocht.", p.lag,
		 p.lag == 1 ? "maand" : "maanden");
	snprintf(lag_en, sizeof lag_en, "The lag (%d %s) is the one you chose, not the strongest of the seven.",
		 p.lag, p.lag == 1 ? "month" : "months");
	json_t *body = json_pack(
		"{s:o, s:o, s:s, s:s, s:s, s:o, s:i, s:s, s:{s:s, s:s}, s:o, s:o, s:{s:s, s:s}, s:o, s:o}", "soft",
		gv_soft_json(soft), "hard", gv_hard_json(&hk), "level", gov_level_name(p.level), "from", p.from, "to",
		p.to, "units", gv_units_json(&p), "lag", p.lag, "lag_chosen_by", "user", "lag_note", "nl", lag_nl,
		"en", lag_en, "correlations", corr, "regression", gv_fit_json(&f), "sentence", "nl",
		nl.data ? nl.data : "", "en", en.data ? en.data : "", "minimums", gv_minimums_json(), "caveats",
		json_pack("{s:s, s:s}", "nl",
			  "Alleen samenhang: deze cijfers tonen niet wat wat drijft. De intervallen van de correlaties nemen maanden als "
			  "onafhankelijk en zijn daardoor te smal; de regressie houdt met geclusterde standaardfouten "
			  "rekening met samenhang binnen een eenheid.",
			  "en",
			  "Association only: these figures do not show what drives what. The correlations' intervals treat months as independent "
			  "and are too narrow for it; the regression's clustered standard errors allow for dependence "
			  "within a unit."));
	corr = NULL;
	buf_free(&nl);
	buf_free(&en);
	if (!body) {
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	http_reply_json(req, 200, body);
out:
	json_decref(corr);
	gv_panel_free(&pan);
	gov_series_free(&ss);
	gov_series_free(&hs);
	gv_params_free(&p);
	return err;
}

/* ---- GET /api/v1/governance/map ---------------------------------------------------- */

/* Every soft KPI × every hard KPI of the catalogue at the user's lag. The
 * family of the false-discovery control is the pairs with enough data
 * (Benjamini & Hochberg 1995 over their p-values, metrics_fdr_bh); a pair
 * is flagged only when its q < 0.05. */
ks_err api_gov_map(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	static const char *const allowed[] = {"level", "lag", "from", "to", "units", "department", NULL};
	gv_params p = {0};
	store_kpi *hk = NULL;
	size_t nh = 0;
	gov_series ss[GV_N_SOFT];
	bool avail[GV_N_SOFT] = {false};
	links_fit *fits = NULL;
	double *pv = NULL, *qv = NULL;
	memset(ss, 0, sizeof ss);
	ks_err err = api_only_params(req, allowed, e);
	if (!err)
		err = gv_common_params(req, &p, true, e);
	if (!err)
		err = store_kpi_list(app->store, &hk, &nh, e);
	for (size_t s = 0; s < GV_N_SOFT && !err; s++) {
		ks_error e2;
		ks_error_clear(&e2);
		ks_err r = gv_series(app, gv_soft_keys[s], p.level, &p, &ss[s], &e2);
		avail[s] = r == KS_OK;
		if (r && r != KS_ERR_UNAVAILABLE) {
			err = r;
			if (e)
				*e = e2;
		}
	}
	if (!err && nh) {
		fits = calloc(nh * GV_N_SOFT, sizeof *fits);
		pv = calloc(nh * GV_N_SOFT, sizeof(double));
		qv = calloc(nh * GV_N_SOFT, sizeof(double));
		if (!fits || !pv || !qv)
			err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	size_t nfam = 0;
	for (size_t h = 0; h < nh && !err; h++) {
		gov_series hs = {0};
		err = gv_series(app, hk[h].key, p.level, &p, &hs, e);
		for (size_t s = 0; s < GV_N_SOFT && !err; s++) {
			links_fit *f = &fits[h * GV_N_SOFT + s];
			if (!avail[s])
				continue;
			gv_panel pan;
			err = gv_panel_make(&ss[s], &hs, &p, &pan, e);
			if (!err)
				err = links_regression(&pan.lp, p.lag, f, e);
			gv_panel_free(&pan);
			if (!err && f->base.reason == LINKS_ENOUGH && isfinite(f->p))
				pv[nfam++] = f->p;
		}
		gov_series_free(&hs);
	}
	if (err)
		goto out;
	if (nfam)
		metrics_fdr_bh(pv, nfam, GV_FDR_Q, qv);  /* q-values; the flags below use q < 0.05 strictly */
	json_t *pairs = json_array(), *hard = json_array(), *soft = json_array();
	size_t k = 0, flagged = 0;
	for (size_t s = 0; s < GV_N_SOFT; s++) {
		json_t *so = gv_soft_json(gv_soft_keys[s]);
		json_object_set_new(so, "available", json_boolean(avail[s]));
		json_array_append_new(soft, so);
	}
	for (size_t h = 0; h < nh; h++) {
		json_array_append_new(hard, gv_hard_json(&hk[h]));
		for (size_t s = 0; s < GV_N_SOFT; s++) {
			links_fit *f = &fits[h * GV_N_SOFT + s];
			json_t *o;
			if (!avail[s]) {
				o = json_pack("{s:i, s:I, s:I, s:I, s:b, s:s}", "lag", p.lag, "n_units", (json_int_t)0,
					      "n_periods", (json_int_t)0, "n_pairs", (json_int_t)0, "enough", 0, "reason",
					      "soft_kpi_not_available");
			} else {
				o = gv_fit_json(f);
			}
			json_object_set_new(o, "soft", json_string(gv_soft_keys[s]));
			json_object_set_new(o, "hard", json_string(hk[h].key));
			if (avail[s] && f->base.reason == LINKS_ENOUGH && isfinite(f->p)) {
				double q = qv[k++];
				bool flag = q < GV_FDR_Q;
				flagged += flag;
				json_object_set_new(o, "q", json_real(q));
				json_object_set_new(o, "flag", json_boolean(flag));
				json_object_set_new(o, "sign", json_string(f->beta > 0 ? "positive"
									   : f->beta < 0 ? "negative" : "zero"));
				json_object_set_new(o, "direction",
						    json_string(f->beta == 0 ? "none"
								: (f->beta > 0) == hk[h].higher_is_better ? "favourable"
													  : "unfavourable"));
			} else {
				json_object_set_new(o, "q", json_null());
				json_object_set_new(o, "flag", json_false());
				json_object_set_new(o, "sign", json_null());
				json_object_set_new(o, "direction", json_null());
			}
			json_array_append_new(pairs, o);
		}
	}
	json_t *body = json_pack(
		"{s:s, s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:s, s:f, s:I, s:I}, s:o, s:{s:s, s:s}}", "level",
		gov_level_name(p.level), "lag", p.lag, "lag_chosen_by", "user", "from", p.from, "to", p.to, "units",
		gv_units_json(&p), "soft", soft, "hard", hard, "pairs", pairs, "fdr", "method", "benjamini-hochberg",
		"q", GV_FDR_Q, "family", (json_int_t)nfam, "flagged", (json_int_t)flagged, "minimums",
		gv_minimums_json(), "note", "nl",
		"Een vlag betekent: samenhang die de controle op valse ontdekkingen over de hele kaart doorstaat "
		"(q < 0,05). Samenhang, niet wat wat drijft.",
		"en",
		"A flag means: an association that survives the false-discovery control across the whole map "
		"(q < 0.05). Association, not what drives what.");
	if (!body) {
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	http_reply_json(req, 200, body);
out:
	for (size_t s = 0; s < GV_N_SOFT; s++)
		gov_series_free(&ss[s]);
	free(fits);
	free(pv);
	free(qv);
	free(hk);
	gv_params_free(&p);
	return err;
}

/* ---- GET /api/v1/governance/overview ----------------------------------------------- */

static const char *const gv_departments[] = {"sales", "marketing", "finance", "operations", "hr", "service"};
static const char *const gv_kinds[] = {"output", "outcome", "impact"};

/* The months [*lo, *hi] (month indexes) a target period covers; its
 * specificity (3 a month, 2 a quarter, 1 a year). */
static int gv_target_months(const char *period, int *lo, int *hi)
{
	int y = (period[0] - '0') * 1000 + (period[1] - '0') * 100 + (period[2] - '0') * 10 + (period[3] - '0');
	if (period[4] == '\0') {
		*lo = y * 12;
		*hi = *lo + 11;
		return 1;
	}
	if (period[5] == 'Q') {
		*lo = y * 12 + 3 * (period[6] - '1');
		*hi = *lo + 2;
		return 2;
	}
	*lo = *hi = gv_month_index(period);
	return 3;
}

/* Is the value on target, as the KPI's direction reads it? */
static json_t *gv_met(double value, double target, bool higher_is_better)
{
	return json_boolean(higher_is_better ? value >= target : value <= target);
}

/* The latest present value of row u in months [lo, hi] of the series
 * (indexes of the window's first month fi). */
static bool gv_latest(const gov_series *g, size_t u, int fi, int lo, int hi, double *v, char *period)
{
	for (size_t t = g->n_periods; t-- > 0;) {
		int m = fi + (int)t;
		if (m < lo || m > hi || !g->cells[u * g->n_periods + t].present)
			continue;
		*v = g->cells[u * g->n_periods + t].value;
		memcpy(period, g->periods[t], 8);
		return true;
	}
	return false;
}

/* One series row as {"values":[...], "latest":{period,value}|null}. */
static void gv_row_json(json_t *o, const gov_series *g, size_t u)
{
	json_t *vals = json_array(), *latest = json_null();
	for (size_t t = 0; t < g->n_periods; t++) {
		const gov_cell *c = &g->cells[u * g->n_periods + t];
		json_array_append_new(vals, c->present ? json_real(c->value) : json_null());
		if (c->present) {
			json_decref(latest);
			latest = json_pack("{s:s, s:f}", "period", g->periods[t], "value", c->value);
		}
	}
	json_object_set_new(o, "values", vals);
	json_object_set_new(o, "latest", latest);
}

static size_t gv_row_of(const gov_series *g, int64_t unit)
{
	for (size_t i = 0; i < g->n_units; i++)
		if (g->unit_ids[i] == unit)
			return i;
	return (size_t)-1;
}

/* The organisation's target for kpi covering the window's last month: the
 * most specific (a month before a quarter before a year); [*lo, *hi] the
 * months its period covers. */
static json_t *gv_org_target(api_app *app, const char *kpi, int64_t org, int ti, double *target, int *tlo,
			     int *thi, ks_error *e, ks_err *err)
{
	store_kpi_target *t = NULL;
	size_t n = 0;
	*err = store_kpi_targets_list(app->store, kpi, org, &t, &n, e);
	json_t *best = json_null();
	int best_spec = 0;
	for (size_t i = 0; !*err && i < n; i++) {
		int lo, hi, spec = gv_target_months(t[i].period, &lo, &hi);
		if (ti < lo || ti > hi || spec <= best_spec)
			continue;
		best_spec = spec;
		*target = t[i].target;
		*tlo = lo;
		*thi = hi;
		json_decref(best);
		best = json_pack("{s:s, s:f}", "period", t[i].period, "target", t[i].target);
	}
	free(t);
	return best;
}

/* The catalogue per department (sales ... service) and kind, each KPI with
 * the organisation's monthly values and its current target. */
static ks_err gv_overview_departments(api_app *app, const gv_params *p, int64_t org, json_t *out, ks_error *e)
{
	store_kpi *k = NULL;
	size_t nk = 0;
	ks_err err = store_kpi_list(app->store, &k, &nk, e);
	int ti = gv_month_index(p->to), fi = gv_month_index(p->from);
	for (size_t d = 0; d < sizeof gv_departments / sizeof gv_departments[0] && !err; d++) {
		json_t *dep = json_pack("{s:s}", "department", gv_departments[d]), *kinds = json_object();
		for (size_t kd = 0; kd < 3; kd++)
			json_object_set_new(kinds, gv_kinds[kd], json_array());
		for (size_t i = 0; i < nk && !err; i++) {
			if (strcmp(k[i].department, gv_departments[d]) != 0)
				continue;
			gov_series g = {0};
			err = gv_series(app, k[i].key, GOV_LEVEL_ORGANISATION, p, &g, e);
			if (err)
				break;
			json_t *o = gv_hard_json(&k[i]);
			json_object_set_new(o, "aggregation", json_string(k[i].aggregation));
			size_t u = gv_row_of(&g, org);
			if (u == (size_t)-1 && g.n_units)
				u = 0;
			if (u != (size_t)-1)
				gv_row_json(o, &g, u);
			/* The target is judged on the latest value inside its own
			 * period: a 2027 target is not "met" by December 2026. */
			double target = NAN, v = NAN;
			int tlo = 0, thi = -1;
			char vp[8] = "";
			json_t *tj = gv_org_target(app, k[i].key, org, ti, &target, &tlo, &thi, e, &err);
			bool have = isfinite(target) && u != (size_t)-1 && gv_latest(&g, u, fi, tlo, thi, &v, vp);
			if (json_is_object(tj)) {
				json_object_set_new(tj, "value", have ? json_real(v) : json_null());
				json_object_set_new(tj, "value_period", have ? json_string(vp) : json_null());
			}
			json_object_set_new(o, "target", tj);
			json_object_set_new(o, "on_target", have ? gv_met(v, target, k[i].higher_is_better) : json_null());
			json_array_append_new(json_object_get(kinds, k[i].kind), o);
			gov_series_free(&g);
		}
		json_object_set_new(dep, "kpis", kinds);
		json_array_append_new(out, dep);
	}
	free(k);
	return err;
}

/* The organisation's soft KPIs month by month (a KPI the product cannot
 * compute here, eNPS without the pulse, is listed as not available). */
static ks_err gv_overview_soft(api_app *app, const gv_params *p, int64_t org, json_t *out, ks_error *e)
{
	ks_err err = KS_OK;
	for (size_t s = 0; s < GV_N_SOFT && !err; s++) {
		gov_series g = {0};
		ks_error e2;
		ks_error_clear(&e2);
		ks_err r = gv_series(app, gv_soft_keys[s], GOV_LEVEL_ORGANISATION, p, &g, &e2);
		json_t *o = gv_soft_json(gv_soft_keys[s]);
		json_object_set_new(o, "available", json_boolean(r == KS_OK));
		if (r == KS_OK) {
			size_t u = gv_row_of(&g, org);
			if (u == (size_t)-1 && g.n_units)
				u = 0;
			if (u != (size_t)-1)
				gv_row_json(o, &g, u);
		} else if (r != KS_ERR_UNAVAILABLE) {
			err = r;
			if (e)
				*e = e2;
		}
		json_array_append_new(out, o);
		gov_series_free(&g);
	}
	return err;
}

/* Targets on teams (kpi_targets): each with the team's value — the latest
 * month of the target's period inside the window — and whether it is met.
 * Goals belong to teams: the table has no person column, and the KPI
 * routes refuse one. */
static ks_err gv_overview_team_targets(api_app *app, const gv_params *p, const store_kpi_unit *tree, size_t nt,
				       json_t *out, ks_error *e)
{
	store_kpi_target *t = NULL;
	size_t n = 0;
	ks_err err = store_kpi_targets_list(app->store, NULL, 0, &t, &n, e);
	int fi = gv_month_index(p->from);
	/* One team-level series per KPI, not per target: the list comes
	 * ordered by kpi, so the series of the previous target is reused
	 * until the key changes (432 targets on 7 KPIs: 7 series). */
	gov_series g = {0};
	ks_error e3;
	ks_err r = KS_OK;
	const char *g_kpi = NULL;
	for (size_t i = 0; i < n && !err; i++) {
		size_t u = 0;
		while (u < nt && tree[u].id != t[i].unit_id)
			u++;
		if (u == nt || strcmp(tree[u].kind, "team") != 0)
			continue;
		bool higher = true;
		json_t *names;
		if (gov_kpi_is_soft(t[i].kpi)) {
			gv_soft_name sn = gv_soft_name_of(t[i].kpi);
			names = json_pack("{s:s, s:s}", "nl", sn.nl, "en", sn.en);
		} else {
			store_kpi k;
			ks_error e2;
			if (store_kpi_by_key(app->store, t[i].kpi, &k, &e2) != KS_OK)
				continue;  /* a target naming a deleted KPI goes with it; skip a race */
			higher = k.higher_is_better;
			names = json_pack("{s:s, s:s}", "nl", k.name_nl, "en", k.name_en);
		}
		if (!g_kpi || strcmp(g_kpi, t[i].kpi) != 0) {
			gov_series_free(&g);
			g = (gov_series){0};
			ks_error_clear(&e3);
			r = gv_series(app, t[i].kpi, GOV_LEVEL_TEAM, p, &g, &e3);
			g_kpi = t[i].kpi;
		}
		double v = NAN;
		char vp[8] = "";
		int lo, hi;
		gv_target_months(t[i].period, &lo, &hi);
		size_t row = r == KS_OK ? gv_row_of(&g, t[i].unit_id) : (size_t)-1;
		bool have = row != (size_t)-1 && gv_latest(&g, row, fi, lo, hi, &v, vp);
		json_array_append_new(
			out, json_pack("{s:s, s:o, s:I, s:s, s:s, s:f, s:b, s:o, s:o, s:o}", "kpi", t[i].kpi, "name", names,
				       "team_id", (json_int_t)t[i].unit_id, "team_name", tree[u].name, "period",
				       t[i].period, "target", t[i].target, "higher_is_better", higher, "value",
				       have ? json_real(v) : json_null(), "value_period",
				       have ? json_string(vp) : json_null(), "met",
				       have ? gv_met(v, t[i].target, higher) : json_null()));
		if (r && r != KS_ERR_UNAVAILABLE && r != KS_ERR_INVALID) {
			err = r;
			if (e)
				*e = e3;
		}
	}
	gov_series_free(&g);
	free(t);
	return err;
}

/* The team goals of the dashboards (team_goals: NPS or grade per team and
 * period) with their progress, as GET /teams/{id}/goals shows them. */
static ks_err gv_overview_goals(api_app *app, const store_kpi_unit *tree, size_t nt, json_t *out, ks_error *e)
{
	ks_err err = KS_OK;
	for (size_t u = 0; u < nt && !err; u++) {
		if (strcmp(tree[u].kind, "team") != 0)
			continue;
		store_goal *g = NULL;
		size_t n = 0;
		err = store_goal_list(app->store, tree[u].id, &g, &n, e);
		json_t *goals = json_array();
		for (size_t i = 0; i < n && !err; i++) {
			json_t *o = NULL;
			err = api_goal_json(app, &g[i], &o, e);
			if (!err)
				json_array_append_new(goals, o);
		}
		free(g);
		if (!err && json_array_size(goals))
			json_array_append_new(out, json_pack("{s:I, s:s, s:o}", "team_id", (json_int_t)tree[u].id,
							     "team_name", tree[u].name, "goals", goals));
		else
			json_decref(goals);
	}
	return err;
}

ks_err api_gov_overview(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	static const char *const allowed[] = {"from", "to", NULL};
	gv_params p = {0};
	store_kpi_unit *tree = NULL;
	size_t nt = 0;
	json_t *deps = json_array(), *soft = json_array(), *targets = json_array(), *goals = json_array();
	ks_err err = api_only_params(req, allowed, e);
	if (!err)
		err = gv_window_param(req, &p, e);
	if (!err)
		err = store_kpi_units(app->store, &tree, &nt, e);
	int64_t org = 0;
	for (size_t i = 0; !err && i < nt && !org; i++)
		if (strcmp(tree[i].kind, "organisation") == 0)
			org = tree[i].id;
	if (!err)
		err = gv_overview_departments(app, &p, org, deps, e);
	if (!err)
		err = gv_overview_soft(app, &p, org, soft, e);
	if (!err)
		err = gv_overview_team_targets(app, &p, tree, nt, targets, e);
	if (!err)
		err = gv_overview_goals(app, tree, nt, goals, e);
	if (err)
		goto out;
	json_t *periods = json_array();
	for (int m = gv_month_index(p.from); m <= gv_month_index(p.to); m++) {
		char l[8];
		gv_month_label(m, l);
		json_array_append_new(periods, json_string(l));
	}
	json_t *body = json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:{s:s, s:s}}", "from", p.from, "to", p.to,
				 "organisation_id", (json_int_t)org, "periods", periods, "departments", deps, "soft",
				 soft, "team_targets", targets, "team_goals", goals, "goals_note", "nl",
				 "Doelen gelden per team, nooit per persoon.", "en",
				 "Goals are set per team, never per person.");
	deps = soft = targets = goals = NULL;
	if (!body) {
		err = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	http_reply_json(req, 200, body);
out:
	json_decref(deps);
	json_decref(soft);
	json_decref(targets);
	json_decref(goals);
	free(tree);
	return err;
}
