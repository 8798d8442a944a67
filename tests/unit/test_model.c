/* test_model.c — entity validation and survey questions (model.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/model.h"

/* ---- helpers ------------------------------------------------------------- */

static json_t *js(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
	if (j == NULL) {
		print_error("bad test JSON: %s: %s\n", text, err.text);
		fail();
	}
	return j;
}

static const model_entity *ent(const char *name)
{
	const model_entity *e = model_entity_find(name);
	assert_non_null(e);
	return e;
}

/* Validate text against entity `name`; expect code and (if code) field. */
static void check_validate(const char *name, const char *text, bool create, ks_err code,
			   const char *field)
{
	json_t *obj = js(text);
	ks_error e;
	ks_error_clear(&e);
	ks_err rc = model_validate(ent(name), obj, create, &e);
	if (rc != code || (code && strcmp(e.field, field ? field : "") != 0)) {
		print_error("%s %s: got %s field \"%s\" (%s), want %s field \"%s\"\n", name, text,
			    ks_strerror(rc), e.field, e.message, ks_strerror(code),
			    field ? field : "");
		json_decref(obj);
		fail();
	}
	if (code)
		assert_int_equal(e.code, code);
	json_decref(obj);
}

#define valid(name, text, create) check_validate(name, text, create, KS_OK, NULL)
#define invalid(name, text, create, code, field) check_validate(name, text, create, code, field)

/* Parse a questions array; expect code and field path. */
static void check_questions(const char *text, ks_err code, const char *field)
{
	json_t *q = js(text);
	model_survey *s = calloc(1, sizeof *s);
	assert_non_null(s);
	ks_error e;
	ks_error_clear(&e);
	ks_err rc = model_survey_questions_parse(q, s, &e);
	bool ok = rc == code && (code == KS_OK || strcmp(e.field, field) == 0);
	if (!ok)
		print_error("%s: got %s field \"%s\" (%s), want %s field \"%s\"\n", text,
			    ks_strerror(rc), e.field, e.message, ks_strerror(code),
			    field ? field : "");
	free(s);
	json_decref(q);
	assert_true(ok);
}

/* A question object for building arrays by hand. */
static int q_text(char *out, size_t n, const char *type, const char *aspect)
{
	if (aspect)
		return snprintf(out, n,
				"{\"type\":\"%s\",\"aspect\":\"%s\",\"text\":{\"nl\":\"V\",\"en\":\"Q\"}}",
				type, aspect);
	return snprintf(out, n, "{\"type\":\"%s\",\"text\":{\"nl\":\"V\",\"en\":\"Q\"}}", type);
}

/* ---- static data ---------------------------------------------------------- */

static void test_channels_languages(void **state)
{
	(void)state;
	const char *want[] = {"phone", "email", "chat", "shop", "web", "field"};
	for (size_t i = 0; i < 6; i++) {
		assert_string_equal(model_channels[i], want[i]);
		assert_true(model_channel_valid(want[i]));
	}
	assert_null(model_channels[6]);
	assert_false(model_channel_valid("fax"));
	assert_false(model_channel_valid("Phone"));
	assert_false(model_channel_valid(""));
	assert_false(model_channel_valid(NULL));
	assert_true(model_language_valid("nl"));
	assert_true(model_language_valid("en"));
	assert_false(model_language_valid("de"));
	assert_false(model_language_valid(NULL));
}

static void test_qtypes(void **state)
{
	(void)state;
	int lo, hi;
	struct { model_qtype t; const char *name; int lo, hi; } cases[] = {
		{MODEL_Q_NPS, "nps", 0, 10},
		{MODEL_Q_GRADE, "grade", 1, 10},
		{MODEL_Q_CES, "ces", 1, 7},
		{MODEL_Q_DRIVER, "driver", 1, 10},
		{MODEL_Q_OPEN, "open", 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_string_equal(model_qtype_name(cases[i].t), cases[i].name);
		model_qtype_range(cases[i].t, &lo, &hi);
		assert_int_equal(lo, cases[i].lo);
		assert_int_equal(hi, cases[i].hi);
	}
	assert_string_equal(model_qtype_name((model_qtype)99), "unknown");
}

static void test_response_init(void **state)
{
	(void)state;
	model_response r;
	memset(&r, 0x5a, sizeof r);
	model_response_init(&r);
	assert_int_equal(r.nps, -1);
	assert_int_equal(r.grade, -1);
	assert_int_equal(r.ces, -1);
	assert_int_equal(r.n_drivers, 0);
	assert_int_equal(r.id, 0);
	assert_null(r.open_text);
	assert_string_equal(r.client_key, "");
}

static void test_entities_table(void **state)
{
	(void)state;
	const char *names[] = {"teams", "employees", "customers", "journeys", "touchpoints",
			       "surveys"};
	const char *tables[] = {"org_units", "employees", "customers", "journeys", "touchpoints",
				"surveys"};
	assert_int_equal(model_n_entities, 6);
	for (size_t i = 0; i < 6; i++) {
		const model_entity *e = ent(names[i]);
		assert_string_equal(e->table, tables[i]);
		assert_true(e->n_fields > 0);
		for (size_t j = 0; j < e->n_fields; j++) {
			const model_field *f = &e->fields[j];
			assert_ptr_equal(model_field_find(e, f->name), f);
			if (f->type == MODEL_F_REF)
				assert_non_null(f->ref_table);
			if (f->type == MODEL_F_ENUM)
				assert_non_null(f->enum_values);
		}
		assert_null(model_field_find(e, "id"));
		assert_null(model_field_find(e, "created_at"));
	}
	assert_string_equal(ent("teams")->singular, "team");
	assert_null(model_entity_find("team"));
	assert_null(model_entity_find("org_units"));
	assert_null(model_entity_find(NULL));

	const model_field *f = model_field_find(ent("customers"), "external_id");
	assert_true(f->required && f->unique && f->filterable);
	f = model_field_find(ent("teams"), "kind");
	assert_true(f->type == MODEL_F_ENUM && f->required && f->filterable);
	f = model_field_find(ent("teams"), "parent_id");
	assert_string_equal(f->ref_table, "org_units");
	f = model_field_find(ent("employees"), "team_id");
	assert_true(f->type == MODEL_F_REF && f->required && f->filterable);
	f = model_field_find(ent("employees"), "external_id");
	assert_true(f->unique && !f->required);
	f = model_field_find(ent("touchpoints"), "survey_id");
	assert_string_equal(f->ref_table, "surveys");
	f = model_field_find(ent("surveys"), "questions");
	assert_true(f->type == MODEL_F_JSON && f->required);
	assert_non_null(ent("surveys")->check);
}

/* ---- model_validate ------------------------------------------------------- */

static void test_validate_happy(void **state)
{
	(void)state;
	valid("teams", "{\"name\":\"Klantenservice\",\"kind\":\"department\",\"parent_id\":1}", true);
	valid("employees",
	      "{\"team_id\":3,\"first_name\":\"Anouk\",\"last_name\":\"de Vries\","
	      "\"email\":\"a@example.nl\",\"external_id\":\"E-1\",\"active\":true}", true);
	valid("customers",
	      "{\"external_id\":\"C-1\",\"name\":\"Jan\",\"email\":null,\"language\":\"en\","
	      "\"customer_since\":\"2024-02-29\",\"city\":\"Utrecht\",\"birth_year\":1900,"
	      "\"segment\":\"zakelijk\"}", true);
	valid("journeys", "{\"name\":\"Verhuizen\",\"description\":\"Van aanvraag tot sleutel\"}", true);
	valid("touchpoints",
	      "{\"journey_id\":1,\"name\":\"Monteur\",\"position\":1000,\"moment_of_truth\":false,"
	      "\"survey_id\":null}", true);
	valid("surveys", "{\"name\":\"Kort\",\"questions\":[]}", true); /* the hook checks them */
	/* An update may name any subset; an empty patch is valid. */
	valid("customers", "{\"birth_year\":2100}", false);
	valid("teams", "{}", false);
	/* Multi-byte UTF-8 counts in bytes: 100 x "é" (2 bytes) = 200 bytes. */
	char name[512] = "{\"name\":\"";
	for (int i = 0; i < 100; i++)
		strcat(name, "\xc3\xa9");
	strcat(name, "\",\"kind\":\"organisation\"}");
	valid("teams", name, true);
}

static void test_validate_not_object(void **state)
{
	(void)state;
	invalid("teams", "[1,2]", true, KS_ERR_BADJSON, NULL);
	invalid("teams", "\"x\"", false, KS_ERR_BADJSON, NULL);
	/* e may be NULL */
	json_t *a = json_array();
	assert_int_equal(model_validate(ent("teams"), a, true, NULL), KS_ERR_BADJSON);
	json_decref(a);
}

static void test_validate_unknown_and_read_only(void **state)
{
	(void)state;
	invalid("teams", "{\"name\":\"A\",\"kind\":\"team\",\"colour\":\"red\"}", true,
		KS_ERR_INVALID, "colour");
	invalid("customers", "{\"Name\":\"x\"}", false, KS_ERR_INVALID, "Name");
	invalid("teams", "{\"id\":4,\"name\":\"A\",\"kind\":\"team\"}", true, KS_ERR_INVALID, "id");
	invalid("journeys", "{\"created_at\":\"2026-01-01T00:00:00Z\"}", false, KS_ERR_INVALID,
		"created_at");
	invalid("touchpoints", "{\"open_token\":\"abc\"}", false, KS_ERR_INVALID, "open_token");
	/* open_token belongs to touchpoints only: elsewhere it is just unknown */
	invalid("journeys", "{\"open_token\":\"abc\"}", false, KS_ERR_INVALID, "open_token");
}

static void test_validate_types(void **state)
{
	(void)state;
	invalid("teams", "{\"name\":5}", false, KS_ERR_INVALID, "name");
	invalid("teams", "{\"name\":[\"a\"]}", false, KS_ERR_INVALID, "name");
	invalid("customers", "{\"birth_year\":\"1980\"}", false, KS_ERR_INVALID, "birth_year");
	invalid("customers", "{\"birth_year\":1980.0}", false, KS_ERR_INVALID, "birth_year");
	invalid("customers", "{\"birth_year\":true}", false, KS_ERR_INVALID, "birth_year");
	invalid("employees", "{\"active\":\"yes\"}", false, KS_ERR_INVALID, "active");
	invalid("employees", "{\"active\":1}", false, KS_ERR_INVALID, "active");
	invalid("teams", "{\"parent_id\":\"3\"}", false, KS_ERR_INVALID, "parent_id");
	invalid("touchpoints", "{\"journey_id\":1.5}", false, KS_ERR_INVALID, "journey_id");
	invalid("customers", "{\"language\":1}", false, KS_ERR_INVALID, "language");
}

static void test_validate_ranges(void **state)
{
	(void)state;
	invalid("customers", "{\"birth_year\":1899}", false, KS_ERR_RANGE, "birth_year");
	invalid("customers", "{\"birth_year\":2101}", false, KS_ERR_RANGE, "birth_year");
	invalid("customers", "{\"birth_year\":-9223372036854775808}", false, KS_ERR_RANGE,
		"birth_year");
	valid("touchpoints", "{\"position\":0}", false);
	invalid("touchpoints", "{\"position\":-1}", false, KS_ERR_RANGE, "position");
	invalid("touchpoints", "{\"position\":1001}", false, KS_ERR_RANGE, "position");
	invalid("teams", "{\"parent_id\":0}", false, KS_ERR_RANGE, "parent_id");
	invalid("employees", "{\"team_id\":-3}", false, KS_ERR_RANGE, "team_id");
}

static void test_validate_enums(void **state)
{
	(void)state;
	valid("teams", "{\"kind\":\"organisation\"}", false);
	valid("teams", "{\"kind\":\"team\"}", false);
	invalid("teams", "{\"kind\":\"division\"}", false, KS_ERR_INVALID, "kind");
	invalid("teams", "{\"kind\":\"Team\"}", false, KS_ERR_INVALID, "kind");
	invalid("customers", "{\"language\":\"de\"}", false, KS_ERR_INVALID, "language");

	ks_error e;
	json_t *o = js("{\"kind\":\"x\"}");
	model_validate(ent("teams"), o, false, &e);
	assert_non_null(strstr(e.message, "organisation, department, team"));
	json_decref(o);
}

static void test_validate_dates(void **state)
{
	(void)state;
	valid("customers", "{\"customer_since\":\"2024-02-29\"}", false);
	valid("customers", "{\"customer_since\":\"1999-12-31\"}", false);
	const char *bad[] = {
		"\"2023-02-29\"", "\"2024-13-01\"", "\"2024-00-10\"", "\"2024-04-31\"",
		"\"2024-1-011\"", "\"2024/01/01\"", "\"20240101\"", "\"2024-01-01T00:00:00Z\"",
		"\"2024-01-01 \"", "\" 2024-01-01\"", "\"+202-01-01\"", "\"\"", "20240101",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[128];
		snprintf(text, sizeof text, "{\"customer_since\":%s}", bad[i]);
		invalid("customers", text, false, KS_ERR_INVALID, "customer_since");
	}
}

static void test_validate_text_length(void **state)
{
	(void)state;
	char text[2200], body[2300];
	memset(text, 'a', 201);
	text[200] = '\0';
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", text);
	valid("teams", body, false);                       /* 200: the max */
	text[200] = 'a';
	text[201] = '\0';
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", text);
	invalid("teams", body, false, KS_ERR_RANGE, "name"); /* 201 */

	memset(text, 'b', 2001);
	text[2000] = '\0';
	snprintf(body, sizeof body, "{\"description\":\"%s\"}", text);
	valid("journeys", body, false);
	text[2000] = 'b';
	text[2001] = '\0';
	snprintf(body, sizeof body, "{\"description\":\"%s\"}", text);
	invalid("journeys", body, false, KS_ERR_RANGE, "description");

	memset(text, 'c', 501); /* default max 500 */
	text[501] = '\0';
	snprintf(body, sizeof body, "{\"city\":\"%s\"}", text);
	invalid("customers", body, false, KS_ERR_RANGE, "city");

	/* survey names must fit model_survey.name (127 bytes) */
	memset(text, 'd', 128);
	text[128] = '\0';
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", text);
	invalid("surveys", body, false, KS_ERR_RANGE, "name");
}

static void test_validate_nulls_and_required(void **state)
{
	(void)state;
	/* null clears an optional field ... */
	valid("customers", "{\"email\":null,\"birth_year\":null,\"customer_since\":null}", false);
	valid("teams", "{\"parent_id\":null}", false);
	/* ... but a required one can never be null, on create or update */
	invalid("teams", "{\"name\":null}", false, KS_ERR_INVALID, "name");
	invalid("teams", "{\"name\":null,\"kind\":\"team\"}", true, KS_ERR_INVALID, "name");
	/* missing on create names the first missing field */
	invalid("employees", "{\"team_id\":3,\"first_name\":\"A\"}", true, KS_ERR_INVALID,
		"last_name");
	invalid("customers", "{\"name\":\"x\"}", true, KS_ERR_INVALID, "external_id");
	invalid("surveys", "{\"name\":\"x\"}", true, KS_ERR_INVALID, "questions");
	invalid("surveys", "{\"name\":\"x\",\"questions\":null}", true, KS_ERR_INVALID,
		"questions");
	/* a required text must say something */
	invalid("journeys", "{\"name\":\"\"}", true, KS_ERR_INVALID, "name");
	valid("customers", "{\"external_id\":\"C\",\"city\":\"\"}", true);
	/* optional, but NOT NULL with a default in SQL: leave out, never null */
	invalid("employees", "{\"active\":null}", false, KS_ERR_INVALID, "active");
	invalid("customers", "{\"language\":null}", false, KS_ERR_INVALID, "language");
	invalid("touchpoints", "{\"position\":null}", false, KS_ERR_INVALID, "position");
	invalid("touchpoints", "{\"moment_of_truth\":null}", true, KS_ERR_INVALID,
		"moment_of_truth");
	valid("touchpoints", "{\"journey_id\":1,\"name\":\"T\"}", true);
}

/* ---- entity check hooks ---------------------------------------------------- */

static ks_err run_check(const char *name, json_t *obj, const char *existing, ks_error *e)
{
	const model_entity *en = ent(name);
	json_t *ex = existing ? js(existing) : NULL;
	ks_error_clear(e);
	ks_err rc = en->check ? en->check(en, obj, ex, e) : KS_OK;
	json_decref(ex);
	return rc;
}

static void test_check_teams(void **state)
{
	(void)state;
	ks_error e;
	json_t *o = js("{\"name\":\"Acme\",\"kind\":\"organisation\"}");
	assert_int_equal(run_check("teams", o, NULL, &e), KS_OK);
	json_decref(o);

	o = js("{\"name\":\"Acme\",\"kind\":\"organisation\",\"parent_id\":2}");
	assert_int_equal(run_check("teams", o, NULL, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "parent_id");
	json_decref(o);

	o = js("{\"name\":\"Sales\",\"kind\":\"department\"}");
	assert_int_equal(run_check("teams", o, NULL, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "parent_id");
	json_decref(o);

	o = js("{\"name\":\"Sales\",\"kind\":\"team\",\"parent_id\":null}");
	assert_int_equal(run_check("teams", o, NULL, &e), KS_ERR_INVALID);
	json_decref(o);

	/* an update that only renames keeps the stored kind and parent */
	o = js("{\"name\":\"Sales 2\"}");
	assert_int_equal(run_check("teams", o,
				   "{\"id\":5,\"name\":\"S\",\"kind\":\"team\",\"parent_id\":2}", &e),
			 KS_OK);
	json_decref(o);
}

static void test_check_defaults(void **state)
{
	(void)state;
	ks_error e;
	json_t *o = js("{\"team_id\":1,\"first_name\":\"A\",\"last_name\":\"B\",\"active\":null}");
	assert_int_equal(run_check("employees", o, NULL, &e), KS_OK);
	assert_true(json_is_true(json_object_get(o, "active")));
	json_decref(o);

	o = js("{\"team_id\":1,\"first_name\":\"A\",\"last_name\":\"B\",\"active\":false}");
	assert_int_equal(run_check("employees", o, NULL, &e), KS_OK);
	assert_true(json_is_false(json_object_get(o, "active")));
	json_decref(o);

	o = js("{\"external_id\":\"C\"}");
	assert_int_equal(run_check("customers", o, NULL, &e), KS_OK);
	assert_string_equal(json_string_value(json_object_get(o, "language")), "nl");
	json_decref(o);

	o = js("{\"journey_id\":1,\"name\":\"T\",\"position\":7}");
	assert_int_equal(run_check("touchpoints", o, NULL, &e), KS_OK);
	assert_int_equal(json_integer_value(json_object_get(o, "position")), 7);
	assert_true(json_is_false(json_object_get(o, "moment_of_truth")));
	json_decref(o);

	/* update: the stored value stands */
	o = js("{\"name\":\"Renamed\"}");
	assert_int_equal(run_check("customers", o, "{\"external_id\":\"C\",\"language\":\"en\"}", &e),
			 KS_OK);
	assert_null(json_object_get(o, "language"));
	json_decref(o);
}

static void test_check_surveys(void **state)
{
	(void)state;
	ks_error e;
	/* canonical form: required filled in, aspect only on drivers */
	json_t *o = js("{\"name\":\"S\",\"questions\":[{\"text\":{\"en\":\"Q\",\"nl\":\"V\"},"
		       "\"type\":\"nps\"},{\"type\":\"driver\",\"aspect\":\"snelheid\","
		       "\"required\":true,\"text\":{\"nl\":\"Snel?\",\"en\":\"Fast?\"}}]}");
	assert_int_equal(run_check("surveys", o, NULL, &e), KS_OK);
	json_t *want = js("[{\"type\":\"nps\",\"text\":{\"nl\":\"V\",\"en\":\"Q\"},\"required\":false},"
			  "{\"type\":\"driver\",\"text\":{\"nl\":\"Snel?\",\"en\":\"Fast?\"},"
			  "\"required\":true,\"aspect\":\"snelheid\"}]");
	assert_true(json_equal(json_object_get(o, "questions"), want));
	json_decref(want);
	json_decref(o);

	/* a patch without questions: the stored JSON text is parsed and kept */
	o = js("{\"name\":\"S2\"}");
	assert_int_equal(run_check("surveys", o,
				   "{\"id\":1,\"name\":\"S\",\"questions\":"
				   "\"[{\\\"type\\\":\\\"open\\\",\\\"text\\\":{\\\"nl\\\":\\\"a\\\","
				   "\\\"en\\\":\\\"b\\\"}}]\"}",
				   &e),
			 KS_OK);
	assert_true(json_is_array(json_object_get(o, "questions")));
	json_decref(o);

	o = js("{\"name\":\"S\",\"questions\":[]}");
	assert_int_equal(run_check("surveys", o, NULL, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "questions");
	json_decref(o);

	/* a body sends an array, never the text form */
	o = js("{\"name\":\"S\",\"questions\":\"[]\"}");
	assert_int_equal(run_check("surveys", o, NULL, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "questions");
	json_decref(o);

	o = js("{\"name\":\"S\"}");
	assert_int_equal(run_check("surveys", o, "{\"questions\":\"not json\"}", &e),
			 KS_ERR_INVALID);
	assert_int_equal(run_check("surveys", o, NULL, &e), KS_ERR_INVALID);
	assert_string_equal(e.field, "questions");
	json_decref(o);
}

/* ---- survey questions ----------------------------------------------------- */

static const char *full_survey =
	"[{\"type\":\"nps\",\"text\":{\"nl\":\"Zou u ons aanbevelen?\",\"en\":\"Would you recommend us?\"},\"required\":true},"
	" {\"type\":\"grade\",\"text\":{\"nl\":\"Welk cijfer?\",\"en\":\"Which grade?\"}},"
	" {\"type\":\"ces\",\"text\":{\"nl\":\"Makkelijk?\",\"en\":\"Easy?\"},\"required\":false},"
	" {\"type\":\"driver\",\"aspect\":\"vriendelijkheid\",\"text\":{\"nl\":\"Vriendelijk?\",\"en\":\"Friendly?\"}},"
	" {\"type\":\"driver\",\"aspect\":\"snelheid\",\"text\":{\"nl\":\"Snel?\",\"en\":\"Fast?\"}},"
	" {\"type\":\"open\",\"text\":{\"nl\":\"Toelichting\",\"en\":\"Comments\"},\"required\":null}]";

static void test_questions_happy(void **state)
{
	(void)state;
	json_t *q = js(full_survey);
	model_survey *s = calloc(1, sizeof *s);
	assert_non_null(s);
	s->id = 42;
	ks_error e;
	assert_int_equal(model_survey_questions_parse(q, s, &e), KS_OK);
	assert_int_equal(s->id, 42); /* untouched */
	assert_int_equal(s->n_questions, 6);
	assert_int_equal(s->q[0].type, MODEL_Q_NPS);
	assert_true(s->q[0].required);
	assert_string_equal(s->q[0].text_nl, "Zou u ons aanbevelen?");
	assert_string_equal(s->q[0].text_en, "Would you recommend us?");
	assert_string_equal(s->q[0].aspect, "");
	assert_int_equal(s->q[1].type, MODEL_Q_GRADE);
	assert_false(s->q[1].required);
	assert_int_equal(s->q[2].type, MODEL_Q_CES);
	assert_int_equal(s->q[3].type, MODEL_Q_DRIVER);
	assert_string_equal(s->q[3].aspect, "vriendelijkheid");
	assert_string_equal(s->q[4].aspect, "snelheid");
	assert_int_equal(s->q[5].type, MODEL_Q_OPEN);
	assert_false(s->q[5].required);
	free(s);
	json_decref(q);
}

static void test_questions_round_trip(void **state)
{
	(void)state;
	json_t *q = js(full_survey);
	model_survey *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
	assert_non_null(a);
	assert_non_null(b);
	ks_error e;
	assert_int_equal(model_survey_questions_parse(q, a, &e), KS_OK);
	json_t *j1 = model_survey_questions_json(a);
	assert_non_null(j1);
	assert_int_equal(json_array_size(j1), 6);
	/* the driver carries its aspect, the others do not */
	assert_string_equal(json_string_value(json_object_get(json_array_get(j1, 3), "aspect")),
			    "vriendelijkheid");
	assert_null(json_object_get(json_array_get(j1, 0), "aspect"));
	assert_true(json_is_true(json_object_get(json_array_get(j1, 0), "required")));

	assert_int_equal(model_survey_questions_parse(j1, b, &e), KS_OK);
	assert_int_equal(b->n_questions, a->n_questions);
	/* both structs were zeroed, and parse zeroes each question first */
	assert_memory_equal(a->q, b->q, sizeof a->q);
	json_t *j2 = model_survey_questions_json(b);
	assert_true(json_equal(j1, j2));
	json_decref(j2);
	json_decref(j1);
	json_decref(q);
	free(a);
	free(b);
}

static void test_questions_shape(void **state)
{
	(void)state;
	check_questions("[]", KS_ERR_INVALID, "questions");
	check_questions("{}", KS_ERR_INVALID, "questions");
	check_questions("null", KS_ERR_INVALID, "questions");
	check_questions("[1]", KS_ERR_INVALID, "questions[0]");
	check_questions("[{\"type\":\"nps\",\"text\":{\"nl\":\"a\",\"en\":\"b\"}},\"x\"]",
			KS_ERR_INVALID, "questions[1]");
	check_questions("[{\"type\":\"nps\",\"text\":{\"nl\":\"a\",\"en\":\"b\"},\"scale\":5}]",
			KS_ERR_INVALID, "questions[0]");
}

static void test_questions_types(void **state)
{
	(void)state;
	check_questions("[{\"type\":\"stars\",\"text\":{\"nl\":\"a\",\"en\":\"b\"}}]",
			KS_ERR_INVALID, "questions[0].type");
	check_questions("[{\"text\":{\"nl\":\"a\",\"en\":\"b\"}}]", KS_ERR_INVALID,
			"questions[0].type");
	check_questions("[{\"type\":3,\"text\":{\"nl\":\"a\",\"en\":\"b\"}}]", KS_ERR_INVALID,
			"questions[0].type");
	/* at most one each of nps, grade, ces, open */
	const char *single[] = {"nps", "grade", "ces", "open"};
	for (size_t i = 0; i < 4; i++) {
		char a[128], text[400];
		q_text(a, sizeof a, single[i], NULL);
		snprintf(text, sizeof text, "[%s,{\"type\":\"driver\",\"aspect\":\"x\","
			 "\"text\":{\"nl\":\"a\",\"en\":\"b\"}},%s]", a, a);
		check_questions(text, KS_ERR_INVALID, "questions[2].type");
	}
	check_questions("[{\"type\":\"nps\",\"text\":{\"nl\":\"a\",\"en\":\"b\"},\"required\":\"yes\"}]",
			KS_ERR_INVALID, "questions[0].required");
}

static void test_questions_aspects(void **state)
{
	(void)state;
	check_questions("[{\"type\":\"driver\",\"text\":{\"nl\":\"a\",\"en\":\"b\"}}]",
			KS_ERR_INVALID, "questions[0].aspect");
	check_questions("[{\"type\":\"driver\",\"aspect\":\"\",\"text\":{\"nl\":\"a\",\"en\":\"b\"}}]",
			KS_ERR_INVALID, "questions[0].aspect");
	check_questions("[{\"type\":\"driver\",\"aspect\":7,\"text\":{\"nl\":\"a\",\"en\":\"b\"}}]",
			KS_ERR_INVALID, "questions[0].aspect");
	check_questions("[{\"type\":\"nps\",\"aspect\":\"x\",\"text\":{\"nl\":\"a\",\"en\":\"b\"}}]",
			KS_ERR_INVALID, "questions[0].aspect");
	check_questions("[{\"type\":\"driver\",\"aspect\":\"snelheid\",\"text\":{\"nl\":\"a\",\"en\":\"b\"}},"
			" {\"type\":\"nps\",\"text\":{\"nl\":\"a\",\"en\":\"b\"}},"
			" {\"type\":\"driver\",\"aspect\":\"snelheid\",\"text\":{\"nl\":\"c\",\"en\":\"d\"}}]",
			KS_ERR_INVALID, "questions[2].aspect");
	/* 64 bytes does not fit aspect[64] with its NUL; 63 does */
	char text[512], aspect[65];
	memset(aspect, 'x', 64);
	aspect[64] = '\0';
	q_text(text + 1, sizeof text - 2, "driver", aspect);
	text[0] = '[';
	strcat(text, "]");
	check_questions(text, KS_ERR_RANGE, "questions[0].aspect");
	aspect[63] = '\0';
	q_text(text + 1, sizeof text - 2, "driver", aspect);
	strcat(text, "]");
	check_questions(text, KS_OK, NULL);
}

static void test_questions_text(void **state)
{
	(void)state;
	check_questions("[{\"type\":\"nps\",\"text\":{\"nl\":\"a\"}}]", KS_ERR_INVALID,
			"questions[0].text.en");
	check_questions("[{\"type\":\"nps\",\"text\":{\"en\":\"a\"}}]", KS_ERR_INVALID,
			"questions[0].text.nl");
	check_questions("[{\"type\":\"nps\",\"text\":{\"nl\":\"\",\"en\":\"a\"}}]", KS_ERR_INVALID,
			"questions[0].text.nl");
	check_questions("[{\"type\":\"nps\",\"text\":{\"nl\":\"a\",\"en\":null}}]", KS_ERR_INVALID,
			"questions[0].text.en");
	check_questions("[{\"type\":\"nps\",\"text\":\"a\"}]", KS_ERR_INVALID, "questions[0].text");
	check_questions("[{\"type\":\"nps\"}]", KS_ERR_INVALID, "questions[0].text");
	check_questions("[{\"type\":\"nps\",\"text\":{\"nl\":\"a\",\"en\":\"b\",\"de\":\"c\"}}]",
			KS_ERR_INVALID, "questions[0].text");
	/* text_nl[300]: 299 bytes fit, 300 do not */
	char body[800], t[301];
	memset(t, 'v', 300);
	t[300] = '\0';
	snprintf(body, sizeof body,
		 "[{\"type\":\"open\",\"text\":{\"nl\":\"%s\",\"en\":\"b\"}}]", t);
	check_questions(body, KS_ERR_RANGE, "questions[0].text.nl");
	t[299] = '\0';
	snprintf(body, sizeof body,
		 "[{\"type\":\"open\",\"text\":{\"nl\":\"%s\",\"en\":\"b\"}}]", t);
	check_questions(body, KS_OK, NULL);
}

/* Build "[q0,q1,...]" with the nps question first and n drivers. */
static char *survey_with_drivers(int n_drivers, int extra_open)
{
	size_t cap = 128 * (size_t)(n_drivers + 4);
	char *out = malloc(cap);
	assert_non_null(out);
	size_t used = (size_t)snprintf(out, cap, "[");
	for (int i = 0; i < n_drivers; i++) {
		char aspect[16], q[128];
		snprintf(aspect, sizeof aspect, "a%d", i);
		q_text(q, sizeof q, "driver", aspect);
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", q);
	}
	for (int i = 0; i < extra_open; i++) {
		char q[128];
		q_text(q, sizeof q, "open", NULL);
		used += (size_t)snprintf(out + used, cap - used, ",%s", q);
	}
	snprintf(out + used, cap - used, "]");
	return out;
}

static void test_questions_limits(void **state)
{
	(void)state;
	char *t = survey_with_drivers(MODEL_MAX_DRIVERS, 0);
	check_questions(t, KS_OK, NULL);
	free(t);
	t = survey_with_drivers(MODEL_MAX_DRIVERS + 1, 0); /* 17 drivers */
	check_questions(t, KS_ERR_RANGE, "questions[16]");
	free(t);
	t = survey_with_drivers(MODEL_MAX_QUESTIONS + 1, 0); /* 25 items: too many */
	check_questions(t, KS_ERR_RANGE, "questions");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_channels_languages),
		cmocka_unit_test(test_qtypes),
		cmocka_unit_test(test_response_init),
		cmocka_unit_test(test_entities_table),
		cmocka_unit_test(test_validate_happy),
		cmocka_unit_test(test_validate_not_object),
		cmocka_unit_test(test_validate_unknown_and_read_only),
		cmocka_unit_test(test_validate_types),
		cmocka_unit_test(test_validate_ranges),
		cmocka_unit_test(test_validate_enums),
		cmocka_unit_test(test_validate_dates),
		cmocka_unit_test(test_validate_text_length),
		cmocka_unit_test(test_validate_nulls_and_required),
		cmocka_unit_test(test_check_teams),
		cmocka_unit_test(test_check_defaults),
		cmocka_unit_test(test_check_surveys),
		cmocka_unit_test(test_questions_happy),
		cmocka_unit_test(test_questions_round_trip),
		cmocka_unit_test(test_questions_shape),
		cmocka_unit_test(test_questions_types),
		cmocka_unit_test(test_questions_aspects),
		cmocka_unit_test(test_questions_text),
		cmocka_unit_test(test_questions_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
