/* fuzz_model.c — JSON entity validation (src/model/model.c): every entity
 * descriptor's model_validate on create and on update, the entity's own
 * check (as api_entities.c runs it), and the survey question parser
 * model_survey_questions_parse with its inverse.
 *
 * Input: byte 0 picks the entity (and bit 7: update instead of create),
 * the rest is the JSON body.
 * Oracles: results are KS_OK or a 4xx-class error naming a field; what
 * validates as a survey's questions prints (model_survey_questions_json) as
 * JSON that parses back to the same questions.
 */
#include "fuzz_util.h"
#include "model/model.h"

static bool fz_client_error(ks_err err)
{
	return err == KS_ERR_INVALID || err == KS_ERR_RANGE || err == KS_ERR_REF || err == KS_ERR_BADJSON;
}

static void fz_questions(const json_t *q)
{
	model_survey s, t;
	memset(&s, 0, sizeof s);
	memset(&t, 0, sizeof t);
	ks_error e;
	ks_err err = model_survey_questions_parse(q, &s, &e);
	if (err && !fz_client_error(err))
		fz_fail("model_survey_questions_parse returned %d", (int)err);
	if (err)
		return;
	if (s.n_questions < 1 || s.n_questions > MODEL_MAX_QUESTIONS)
		fz_fail("%d questions", s.n_questions);
	json_t *j = model_survey_questions_json(&s);
	if (j == NULL)
		fz_fail("model_survey_questions_json gave NULL");
	err = model_survey_questions_parse(j, &t, &e);
	if (err)
		fz_fail("questions do not parse back: %s (%s)", e.message, e.field);
	json_t *j2 = model_survey_questions_json(&t);
	if (!json_equal(j, j2))
		fz_fail("questions change on the way back");
	json_decref(j);
	json_decref(j2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned pick = fz_byte(&data, &size);
	const model_entity *ent = &model_entities[(pick & 0x7f) % model_n_entities];
	bool create = (pick & 0x80) == 0;
	json_error_t je;
	json_t *obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (obj == NULL)
		return 0;
	if (json_is_object(obj)) {
		ks_error e;
		ks_error_clear(&e);
		ks_err err = model_validate(ent, obj, create, &e);
		if (!err && create && ent->check)
			err = ent->check(ent, obj, NULL, &e);
		if (err && !fz_client_error(err))
			fz_fail("%s: validation returned %d (%s)", ent->name, (int)err, e.message);
		if (err && e.message[0] == '\0')
			fz_fail("%s: error %d without a message", ent->name, (int)err);
		json_t *q = json_object_get(obj, "questions");
		if (q)
			fz_questions(q);
	} else {
		fz_questions(obj);
	}
	json_decref(obj);
	return 0;
}
