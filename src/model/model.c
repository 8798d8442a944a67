/* model.c — channels, survey questions and the entity descriptors. See model.h.
 *
 * The descriptors below mirror src/store/migrations/001_core.sql and the
 * resource table in docs/API.md; when a column changes, change it in all
 * three places.
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "model/idata.h"

#define MODEL_TEXT_MAX_DEFAULT 500  /* bytes, for text fields without a max */
#define MODEL_PATH_MAX 64           /* == sizeof ks_error.field */
_Static_assert(MODEL_PATH_MAX == sizeof(((ks_error *)0)->field), "error path buffer size");

/* ---- channels and languages ---------------------------------------------- */

/* Same order and codes as the channels rows seeded by 001_core.sql. */
const char *const model_channels[] = {"phone", "email", "chat", "shop", "web", "field", NULL};

static const char *const model_languages[] = {"nl", "en", NULL};
static const char *const model_unit_kinds[] = {"organisation", "department", "team", NULL};

static bool model_in_list(const char *const *list, const char *s)
{
	if (s == NULL)
		return false;
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

bool model_channel_valid(const char *code)
{
	return model_in_list(model_channels, code);
}

bool model_language_valid(const char *code)
{
	return model_in_list(model_languages, code);
}

void model_response_init(model_response *r)
{
	memset(r, 0, sizeof *r);
	r->nps = -1;
	r->grade = -1;
	r->ces = -1;
	r->contact_consent = -1;
}

/* ---- question types ------------------------------------------------------ */

static const char *const model_qtype_names[] = {
	[MODEL_Q_NPS] = "nps",
	[MODEL_Q_GRADE] = "grade",
	[MODEL_Q_CES] = "ces",
	[MODEL_Q_DRIVER] = "driver",
	[MODEL_Q_OPEN] = "open",
	[MODEL_Q_YESNO] = "yesno",  /* issue 13 */
};
#define MODEL_N_QTYPES ((int)(sizeof model_qtype_names / sizeof model_qtype_names[0]))

const char *model_qtype_name(model_qtype t)
{
	if ((int)t < 0 || (int)t >= MODEL_N_QTYPES)
		return "unknown";
	return model_qtype_names[t];
}

static bool model_qtype_from_name(const char *s, model_qtype *out)
{
	for (int i = 0; i < MODEL_N_QTYPES; i++) {
		if (strcmp(model_qtype_names[i], s) == 0) {
			*out = (model_qtype)i;
			return true;
		}
	}
	return false;
}

/* Scales: NPS 0-10 (Reichheld), the Dutch school grade 1-10, CES 1-7
 * (CES 2.0), drivers on the grade scale 1-10 (docs/API.md). */
void model_qtype_range(model_qtype t, int *lo, int *hi)
{
	int l = 0, h = 0;
	switch (t) {
	case MODEL_Q_NPS: l = 0; h = 10; break;
	case MODEL_Q_GRADE: l = 1; h = 10; break;
	case MODEL_Q_CES: l = 1; h = 7; break;
	case MODEL_Q_DRIVER: l = 1; h = 10; break;
	case MODEL_Q_OPEN: break;
	case MODEL_Q_YESNO: l = 0; h = 1; break;  /* issue 13: no 0, yes 1 */
	}
	if (lo)
		*lo = l;
	if (hi)
		*hi = h;
}

/* ---- survey questions: parse ---------------------------------------------- */

/* The error path of question idx, e.g. "questions[2]" + ".text.nl". The
 * suffixes are short constants and idx < MODEL_MAX_QUESTIONS, so the path
 * always fits ks_error.field. */
static const char *model_q_path(char *buf, size_t n, int idx, const char *suffix)
{
	snprintf(buf, n, "questions[%d]%s", idx, suffix);
	return buf;
}

/* Copy a JSON string that must be non-empty and fit dst (NUL included). */
static ks_err model_copy_text(const json_t *v, char *dst, size_t cap, const char *path,
			      ks_error *e)
{
	if (!json_is_string(v))
		return ks_fail(e, KS_ERR_INVALID, path, "%s must be a string", path);
	size_t len = json_string_length(v);
	if (len == 0)
		return ks_fail(e, KS_ERR_INVALID, path, "%s must not be empty", path);
	if (len >= cap)
		return ks_fail(e, KS_ERR_RANGE, path, "%s is longer than %zu bytes", path, cap - 1);
	memcpy(dst, json_string_value(v), len + 1);
	return KS_OK;
}

static ks_err model_q_parse_text(const json_t *text, model_question *q, int idx, ks_error *e)
{
	char p[MODEL_PATH_MAX];
	if (!json_is_object(text)) {
		model_q_path(p, sizeof p, idx, ".text");
		return ks_fail(e, KS_ERR_INVALID, p, "%s must be an object with \"nl\" and \"en\"", p);
	}
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)text, key, v) {
		if (model_language_valid(key))
			continue;
		model_q_path(p, sizeof p, idx, ".text");
		return ks_fail(e, KS_ERR_INVALID, p, "unknown language \"%s\" in %s (nl, en)", key, p);
	}
	ks_err rc = model_copy_text(json_object_get(text, "nl"), q->text_nl, sizeof q->text_nl,
				    model_q_path(p, sizeof p, idx, ".text.nl"), e);
	if (rc)
		return rc;
	return model_copy_text(json_object_get(text, "en"), q->text_en, sizeof q->text_en,
			       model_q_path(p, sizeof p, idx, ".text.en"), e);
}

static ks_err model_q_check_keys(const json_t *item, int idx, ks_error *e)
{
	static const char *const allowed[] = {"type", "text", "aspect", "required", NULL};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)item, key, v) {
		if (model_in_list(allowed, key))
			continue;
		char p[MODEL_PATH_MAX];
		model_q_path(p, sizeof p, idx, "");
		return ks_fail(e, KS_ERR_INVALID, p, "unknown field \"%s\" in %s", key, p);
	}
	return KS_OK;
}

static ks_err model_q_parse_type(const json_t *item, model_question *q, int idx, ks_error *e)
{
	const json_t *t = json_object_get(item, "type");
	if (json_is_string(t) && model_qtype_from_name(json_string_value(t), &q->type))
		return KS_OK;
	char p[MODEL_PATH_MAX];
	model_q_path(p, sizeof p, idx, ".type");
	return ks_fail(e, KS_ERR_INVALID, p, "%s must be one of nps, grade, ces, driver, open, yesno", p);
}

/* Only drivers carry an aspect; it names the rating in answers.drivers. */
static ks_err model_q_parse_aspect(const json_t *item, model_question *q, int idx, ks_error *e)
{
	char p[MODEL_PATH_MAX];
	model_q_path(p, sizeof p, idx, ".aspect");
	const json_t *a = json_object_get(item, "aspect");
	bool named = q->type == MODEL_Q_DRIVER || q->type == MODEL_Q_YESNO; /* issue 13 */
	if (!named) {
		if (a && !json_is_null(a))
			return ks_fail(e, KS_ERR_INVALID, p, "only driver and yesno questions have an aspect");
		return KS_OK;
	}
	if (a == NULL)
		return ks_fail(e, KS_ERR_INVALID, p, "a %s question needs an aspect",
			       model_qtype_name(q->type));
	return model_copy_text(a, q->aspect, sizeof q->aspect, p, e);
}

static ks_err model_q_parse_required(const json_t *item, model_question *q, int idx, ks_error *e)
{
	const json_t *r = json_object_get(item, "required");
	q->required = false;
	if (r == NULL || json_is_null(r))
		return KS_OK;
	if (!json_is_boolean(r)) {
		char p[MODEL_PATH_MAX];
		model_q_path(p, sizeof p, idx, ".required");
		return ks_fail(e, KS_ERR_INVALID, p, "%s must be true or false", p);
	}
	q->required = json_is_true(r);
	return KS_OK;
}

static ks_err model_q_parse(const json_t *item, model_question *q, int idx, ks_error *e)
{
	memset(q, 0, sizeof *q);
	if (!json_is_object(item)) {
		char p[MODEL_PATH_MAX];
		model_q_path(p, sizeof p, idx, "");
		return ks_fail(e, KS_ERR_INVALID, p, "%s must be an object", p);
	}
	ks_err rc = model_q_check_keys(item, idx, e);
	if (!rc)
		rc = model_q_parse_type(item, q, idx, e);
	if (!rc)
		rc = model_q_parse_aspect(item, q, idx, e);
	if (!rc)
		rc = model_q_parse_text(json_object_get(item, "text"), q, idx, e);
	if (!rc)
		rc = model_q_parse_required(item, q, idx, e);
	return rc;
}

/* Cross-question rules: one each of nps, grade, ces, open; drivers with
 * distinct aspects, at most MODEL_MAX_DRIVERS (a response has room for
 * that many driver scores). Question idx is parsed; earlier ones passed. */
static ks_err model_q_check_unique(const model_survey *s, int idx, ks_error *e)
{
	const model_question *q = &s->q[idx];
	char p[MODEL_PATH_MAX];
	int drivers = 0;
	for (int j = 0; j < idx; j++) {
		const model_question *o = &s->q[j];
		if (o->type != q->type)
			continue;
		if (q->type != MODEL_Q_DRIVER && q->type != MODEL_Q_YESNO)
			return ks_fail(e, KS_ERR_INVALID, model_q_path(p, sizeof p, idx, ".type"),
				       "only one %s question is allowed", model_qtype_name(q->type));
		if (strcmp(o->aspect, q->aspect) == 0)
			return ks_fail(e, KS_ERR_INVALID, model_q_path(p, sizeof p, idx, ".aspect"),
				       "duplicate aspect \"%s\"", q->aspect);
		drivers++;
	}
	if ((q->type == MODEL_Q_DRIVER || q->type == MODEL_Q_YESNO) && drivers >= MODEL_MAX_DRIVERS)
		return ks_fail(e, KS_ERR_RANGE, model_q_path(p, sizeof p, idx, ""),
			       "at most %d %s questions", MODEL_MAX_DRIVERS, model_qtype_name(q->type));
	return KS_OK;
}

ks_err model_survey_questions_parse(const json_t *questions, model_survey *s, ks_error *e)
{
	s->n_questions = 0;
	if (!json_is_array(questions))
		return ks_fail(e, KS_ERR_INVALID, "questions", "questions must be an array");
	size_t n = json_array_size(questions);
	if (n == 0)
		return ks_fail(e, KS_ERR_INVALID, "questions", "a survey needs at least one question");
	if (n > MODEL_MAX_QUESTIONS)
		return ks_fail(e, KS_ERR_RANGE, "questions", "at most %d questions",
			       MODEL_MAX_QUESTIONS);
	for (int i = 0; i < (int)n; i++) {
		ks_err rc = model_q_parse(json_array_get(questions, (size_t)i), &s->q[i], i, e);
		if (!rc)
			rc = model_q_check_unique(s, i, e);
		if (rc)
			return rc;
	}
	s->n_questions = (int)n;
	return KS_OK;
}

/* ---- survey questions: JSON ---------------------------------------------- */

static json_t *model_q_json(const model_question *q)
{
	json_t *o = json_pack("{s:s, s:{s:s, s:s}, s:b}",
			      "type", model_qtype_name(q->type),
			      "text", "nl", q->text_nl, "en", q->text_en,
			      "required", q->required);
	if (o == NULL || (q->type != MODEL_Q_DRIVER && q->type != MODEL_Q_YESNO))
		return o;
	if (json_object_set_new(o, "aspect", json_string(q->aspect)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *model_survey_questions_json(const model_survey *s)
{
	json_t *arr = json_array();
	if (arr == NULL)
		return NULL;
	for (int i = 0; i < s->n_questions; i++) {
		if (json_array_append_new(arr, model_q_json(&s->q[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* ---- entity checks ------------------------------------------------------- */

/* The value a field has in the new state: obj, else the stored row. */
static const json_t *model_current(const json_t *obj, const json_t *existing, const char *name)
{
	const json_t *v = json_object_get(obj, name);
	if (v == NULL && existing)
		v = json_object_get(existing, name);
	return v;
}

/* Columns declared NOT NULL with a DEFAULT in 001_core.sql (see
 * model_not_null): a create that leaves one out gets the default here, so
 * the row returned and the row stored agree whatever SQL the store builds.
 * On update (existing != NULL) the stored value stands. Takes ownership of
 * def. */
static ks_err model_default(json_t *obj, const json_t *existing, const char *name, json_t *def)
{
	if (def == NULL)
		return KS_ERR_NOMEM;
	json_t *v = json_object_get(obj, name);
	bool keep = existing != NULL || (v != NULL && !json_is_null(v));
	if (keep) {
		json_decref(def);
		return KS_OK;
	}
	return json_object_set_new(obj, name, def) == 0 ? KS_OK : KS_ERR_NOMEM;
}

/* The org tree is organisation -> department -> team (docs/API.md): an
 * organisation has no parent, the others need one. That the parent has the
 * right kind needs the database, so the store checks it. */
static ks_err model_check_team(const model_entity *ent, json_t *obj, const json_t *existing,
			       ks_error *e)
{
	(void)ent;
	const json_t *kind = model_current(obj, existing, "kind");
	const json_t *parent = model_current(obj, existing, "parent_id");
	bool has_parent = parent && !json_is_null(parent);
	const char *k = json_string_value(kind);
	if (k == NULL)
		return ks_fail(e, KS_ERR_INVALID, "kind", "kind is required");
	if (strcmp(k, "organisation") == 0 && has_parent)
		return ks_fail(e, KS_ERR_INVALID, "parent_id", "an organisation has no parent");
	if (strcmp(k, "organisation") != 0 && !has_parent)
		return ks_fail(e, KS_ERR_INVALID, "parent_id", "a %s needs a parent_id", k);
	return KS_OK;
}

static ks_err model_check_employee(const model_entity *ent, json_t *obj, const json_t *existing,
				   ks_error *e)
{
	(void)ent;
	if (model_default(obj, existing, "active", json_true()))
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

/* issue 13 (migration 016): a phone number is shown as a tel: link, so it
 * is checked lightly: digits with the separators people write (spaces,
 * + - ( )), at least one digit. Stricter (E.164) would refuse numbers as
 * customers' systems hold them; the length is the field's max. */
static bool model_phone_ok(const char *s)
{
	bool digit = false;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (strchr(" +-()", *s) == NULL)
			return false;
	}
	return digit;
}

static ks_err model_check_customer(const model_entity *ent, json_t *obj, const json_t *existing,
				   ks_error *e)
{
	(void)ent;
	const char *phone = json_string_value(json_object_get(obj, "phone"));
	if (phone && !model_phone_ok(phone))
		return ks_fail(e, KS_ERR_INVALID, "phone",
			       "phone may hold only digits, spaces, +, - and parentheses");
	/* issue 16 H8: an erased customer's tombstone id is never a customer's */
	const char *ext = json_string_value(json_object_get(obj, "external_id"));
	if (idata_customer_id_reserved(ext))
		return ks_fail(e, KS_ERR_INVALID, "external_id",
			       "an external_id starting with '" IDATA_ERASED_PREFIX "' is an erased customer's");
	if (model_default(obj, existing, "language", json_string("nl")))
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

static ks_err model_check_touchpoint(const model_entity *ent, json_t *obj, const json_t *existing,
				     ks_error *e)
{
	(void)ent;
	if (model_default(obj, existing, "position", json_integer(0)) ||
	    model_default(obj, existing, "moment_of_truth", json_false()))
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	return KS_OK;
}

/* questions arrive as an array from a body, or, when a PATCH leaves them
 * alone, from the stored row (where the store may hand over the JSON text);
 * either way obj ends up with the canonical array (defaults filled in, keys
 * in one order). A body must send an array. */
static ks_err model_check_survey(const model_entity *ent, json_t *obj, const json_t *existing,
				 ks_error *e)
{
	(void)ent;
	json_t *q = json_object_get(obj, "questions");
	json_t *loaded = NULL;
	if (q == NULL && existing)
		q = json_object_get(existing, "questions");
	if (q != json_object_get(obj, "questions") && json_is_string(q)) {
		loaded = json_loads(json_string_value(q), 0, NULL);
		if (loaded == NULL)
			return ks_fail(e, KS_ERR_INVALID, "questions", "questions are not valid JSON");
		q = loaded;
	}
	model_survey *s = calloc(1, sizeof *s); /* ~15 KiB: keep it off the stack */
	if (s == NULL) {
		json_decref(loaded);
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	ks_err rc = model_survey_questions_parse(q, s, e);
	json_decref(loaded);
	if (rc == KS_OK) {
		json_t *canon = model_survey_questions_json(s);
		if (canon == NULL || json_object_set_new(obj, "questions", canon) != 0)
			rc = ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	}
	free(s);
	return rc;
}

/* ---- entity descriptors --------------------------------------------------- */

#define MODEL_N(a) (sizeof(a) / sizeof((a)[0]))

static const model_field model_team_fields[] = {
	{.name = "name", .type = MODEL_F_TEXT, .required = true, .max = 200},
	{.name = "kind", .type = MODEL_F_ENUM, .required = true, .filterable = true,
	 .enum_values = model_unit_kinds},
	{.name = "parent_id", .type = MODEL_F_REF, .filterable = true, .ref_table = "org_units"},
};

static const model_field model_employee_fields[] = {
	{.name = "team_id", .type = MODEL_F_REF, .required = true, .filterable = true,
	 .ref_table = "org_units"},
	{.name = "first_name", .type = MODEL_F_TEXT, .required = true, .max = 500},
	{.name = "last_name", .type = MODEL_F_TEXT, .required = true, .max = 500},
	{.name = "email", .type = MODEL_F_TEXT, .max = 500},
	{.name = "external_id", .type = MODEL_F_TEXT, .unique = true, .max = 500},
	{.name = "active", .type = MODEL_F_BOOL},
};

static const model_field model_customer_fields[] = {
	{.name = "external_id", .type = MODEL_F_TEXT, .required = true, .unique = true,
	 .filterable = true, .max = 500},
	{.name = "name", .type = MODEL_F_TEXT, .max = 500},
	{.name = "email", .type = MODEL_F_TEXT, .max = 500},
	{.name = "language", .type = MODEL_F_ENUM, .enum_values = model_languages},
	{.name = "customer_since", .type = MODEL_F_DATE},
	{.name = "city", .type = MODEL_F_TEXT, .max = 500},
	{.name = "birth_year", .type = MODEL_F_INT, .min = 1900, .max = 2100},
	{.name = "segment", .type = MODEL_F_TEXT, .filterable = true, .max = 500},
	/* issue 13 (migration 016); format checked by model_check_customer */
	{.name = "phone", .type = MODEL_F_TEXT, .max = 40},
};

static const model_field model_journey_fields[] = {
	{.name = "name", .type = MODEL_F_TEXT, .required = true, .max = 500},
	{.name = "description", .type = MODEL_F_TEXT, .max = 2000},
};

static const model_field model_touchpoint_fields[] = {
	{.name = "journey_id", .type = MODEL_F_REF, .required = true, .filterable = true,
	 .ref_table = "journeys"},
	{.name = "name", .type = MODEL_F_TEXT, .required = true, .max = 500},
	{.name = "position", .type = MODEL_F_INT, .min = 0, .max = 1000},
	{.name = "moment_of_truth", .type = MODEL_F_BOOL},
	{.name = "survey_id", .type = MODEL_F_REF, .ref_table = "surveys"},
	/* issue 13 (migration 014): the name the customer reads, per language */
	{.name = "label_nl", .type = MODEL_F_TEXT, .max = 127},
	{.name = "label_en", .type = MODEL_F_TEXT, .max = 127},
};

/* name max 127: it must fit model_survey.name. */
static const model_field model_survey_fields[] = {
	{.name = "name", .type = MODEL_F_TEXT, .required = true,
	 .max = (long long)sizeof(((model_survey *)0)->name) - 1},
	{.name = "questions", .type = MODEL_F_JSON, .required = true},
};

const model_entity model_entities[] = {
	{"teams", "team", "org_units", model_team_fields, MODEL_N(model_team_fields),
	 model_check_team},
	{"employees", "employee", "employees", model_employee_fields,
	 MODEL_N(model_employee_fields), model_check_employee},
	{"customers", "customer", "customers", model_customer_fields,
	 MODEL_N(model_customer_fields), model_check_customer},
	{"journeys", "journey", "journeys", model_journey_fields, MODEL_N(model_journey_fields),
	 NULL},
	{"touchpoints", "touchpoint", "touchpoints", model_touchpoint_fields,
	 MODEL_N(model_touchpoint_fields), model_check_touchpoint},
	{"surveys", "survey", "surveys", model_survey_fields, MODEL_N(model_survey_fields),
	 model_check_survey},
};
const size_t model_n_entities = MODEL_N(model_entities);

const model_entity *model_entity_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < model_n_entities; i++)
		if (strcmp(model_entities[i].name, name) == 0)
			return &model_entities[i];
	return NULL;
}

const model_field *model_field_find(const model_entity *ent, const char *name)
{
	if (ent == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < ent->n_fields; i++)
		if (strcmp(ent->fields[i].name, name) == 0)
			return &ent->fields[i];
	return NULL;
}

/* ---- validation ----------------------------------------------------------- */

/* Server-assigned columns: a client may echo a row back, but not set them. */
static bool model_read_only(const model_entity *ent, const char *name)
{
	static const char *const common[] = {"id", "created_at", NULL};
	static const char *const touchpoint[] = {"open_token", "survey_url", NULL};
	if (model_in_list(common, name))
		return true;
	return strcmp(ent->name, "touchpoints") == 0 && model_in_list(touchpoint, name);
}

static ks_err model_validate_text(const model_field *f, const json_t *v, ks_error *e)
{
	if (!json_is_string(v))
		return ks_fail(e, KS_ERR_INVALID, f->name, "%s must be a string", f->name);
	size_t len = json_string_length(v);
	/* jansson rejects \u0000 by default; this keeps a stray NUL from ever
	 * truncating a value silently in C. */
	if (strlen(json_string_value(v)) != len)
		return ks_fail(e, KS_ERR_INVALID, f->name, "%s contains a NUL character", f->name);
	long long max = f->max > 0 ? f->max : MODEL_TEXT_MAX_DEFAULT;
	if ((long long)len > max)
		return ks_fail(e, KS_ERR_RANGE, f->name, "%s is longer than %lld bytes", f->name, max);
	if (f->required && len == 0)
		return ks_fail(e, KS_ERR_INVALID, f->name, "%s must not be empty", f->name);
	return KS_OK;
}

static ks_err model_validate_int(const model_field *f, const json_t *v, ks_error *e)
{
	if (!json_is_integer(v))
		return ks_fail(e, KS_ERR_INVALID, f->name, "%s must be an integer", f->name);
	json_int_t x = json_integer_value(v);
	if (f->min == 0 && f->max == 0) /* no range declared */
		return KS_OK;
	if (x < f->min || x > f->max)
		return ks_fail(e, KS_ERR_RANGE, f->name, "%s must be %lld..%lld", f->name, f->min,
			       f->max);
	return KS_OK;
}

static ks_err model_validate_ref(const model_field *f, const json_t *v, ks_error *e)
{
	if (!json_is_integer(v))
		return ks_fail(e, KS_ERR_INVALID, f->name, "%s must be an integer id", f->name);
	if (json_integer_value(v) <= 0)
		return ks_fail(e, KS_ERR_RANGE, f->name, "%s must be a positive id", f->name);
	return KS_OK;
}

/* Exactly "YYYY-MM-DD": clock_parse_iso checks the calendar but, being
 * sscanf-based, would also take "2024-1-011" or a timestamp. */
static ks_err model_validate_date(const model_field *f, const json_t *v, ks_error *e)
{
	const char *s = json_string_value(v);
	bool ok = s != NULL && json_string_length(v) == 10;
	for (int i = 0; ok && i < 10; i++)
		ok = (i == 4 || i == 7) ? s[i] == '-' : (s[i] >= '0' && s[i] <= '9');
	int64_t t;
	if (!ok || clock_parse_iso(s, &t) != KS_OK)
		return ks_fail(e, KS_ERR_INVALID, f->name, "%s must be a date YYYY-MM-DD", f->name);
	return KS_OK;
}

static ks_err model_validate_enum(const model_field *f, const json_t *v, ks_error *e)
{
	if (json_is_string(v) && model_in_list(f->enum_values, json_string_value(v)))
		return KS_OK;
	char allowed[160] = "";
	size_t used = 0;
	for (const char *const *p = f->enum_values; *p && used < sizeof allowed; p++) {
		int w = snprintf(allowed + used, sizeof allowed - used, "%s%s",
				 used ? ", " : "", *p);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	return ks_fail(e, KS_ERR_INVALID, f->name, "%s must be one of %s", f->name, allowed);
}

/* Optional columns that are NOT NULL with a DEFAULT in 001_core.sql: they
 * may be left out on create (the check hooks fill in the default) but never
 * set to null, which the database would refuse. */
static bool model_not_null(const model_entity *ent, const model_field *f)
{
	static const struct { const char *entity, *field; } cols[] = {
		{"employees", "active"},
		{"customers", "language"},
		{"touchpoints", "position"},
		{"touchpoints", "moment_of_truth"},
	};
	if (f->required)
		return true;
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
		if (strcmp(cols[i].entity, ent->name) == 0 && strcmp(cols[i].field, f->name) == 0)
			return true;
	return false;
}

static ks_err model_validate_value(const model_entity *ent, const model_field *f,
				   const json_t *v, ks_error *e)
{
	if (json_is_null(v)) {
		if (model_not_null(ent, f))
			return ks_fail(e, KS_ERR_INVALID, f->name, "%s must not be null", f->name);
		return KS_OK; /* null clears an optional field */
	}
	switch (f->type) {
	case MODEL_F_TEXT: return model_validate_text(f, v, e);
	case MODEL_F_INT: return model_validate_int(f, v, e);
	case MODEL_F_BOOL:
		if (json_is_boolean(v))
			return KS_OK;
		return ks_fail(e, KS_ERR_INVALID, f->name, "%s must be true or false", f->name);
	case MODEL_F_DATE: return model_validate_date(f, v, e);
	case MODEL_F_REF: return model_validate_ref(f, v, e);
	case MODEL_F_ENUM: return model_validate_enum(f, v, e);
	case MODEL_F_JSON: return KS_OK; /* the entity's check hook parses it */
	}
	return ks_fail(e, KS_ERR_INTERNAL, f->name, "field %s has no type", f->name);
}

static ks_err model_validate_required(const model_entity *ent, const json_t *obj, ks_error *e)
{
	for (size_t i = 0; i < ent->n_fields; i++) {
		const model_field *f = &ent->fields[i];
		if (f->required && json_object_get(obj, f->name) == NULL)
			return ks_fail(e, KS_ERR_INVALID, f->name, "%s is required", f->name);
	}
	return KS_OK;
}

ks_err model_validate(const model_entity *ent, const json_t *obj, bool for_create, ks_error *e)
{
	if (!json_is_object(obj))
		return ks_fail(e, KS_ERR_BADJSON, NULL, "the body must be a JSON object");
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		if (model_read_only(ent, key))
			return ks_fail(e, KS_ERR_INVALID, key, "%s is a read-only field", key);
		const model_field *f = model_field_find(ent, key);
		if (f == NULL)
			return ks_fail(e, KS_ERR_INVALID, key, "unknown field \"%s\" for a %s", key,
				       ent->singular);
		ks_err rc = model_validate_value(ent, f, v, e);
		if (rc)
			return rc;
	}
	return for_create ? model_validate_required(ent, obj, e) : KS_OK;
}
