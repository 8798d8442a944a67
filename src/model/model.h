/* model.h — the klantstem data model as C types and as data.
 *
 * Two views of the same tables:
 *  - C structs for the rows the product computes with (contacts, responses,
 *    surveys and their questions);
 *  - entity descriptors (model_entity) for the administrative resources
 *    (teams, employees, customers, journeys, touchpoints, surveys) that the
 *    JSON API creates, reads, lists and updates generically. The descriptors
 *    are static data: the store builds its SQL from them, never from input.
 *
 * Times are unix seconds (UTC) in C and in the database; the API speaks
 * ISO 8601. See docs/ARCHITECTURE.md and ../shared/DOMAIN.md.
 */
#ifndef KS_MODEL_H
#define KS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"

#define MODEL_MAX_QUESTIONS 24
#define MODEL_MAX_DRIVERS 16
#define MODEL_KEY_MAX 128     /* idempotency key length */
#define MODEL_TOKEN_LEN 32    /* survey link token: 32 url-safe chars */
#define MODEL_OPEN_MAX 4000   /* open answer, bytes */

/* ---- surveys ---------------------------------------------------------- */

typedef enum {
	MODEL_Q_NPS,     /* 0..10 likelihood to recommend */
	MODEL_Q_GRADE,   /* 1..10 Dutch school grade */
	MODEL_Q_CES,     /* 1..7 "made it easy" */
	MODEL_Q_DRIVER,  /* 1..10 rating of a named aspect */
	MODEL_Q_OPEN,    /* free text */
	MODEL_Q_YESNO    /* issue 13: yes (1) / no (0) about a named aspect */
} model_qtype;

typedef struct model_question {
	model_qtype type;
	char aspect[64];     /* drivers only: e.g. "vriendelijkheid" */
	char text_nl[300];
	char text_en[300];
	bool required;
} model_question;

typedef struct model_survey {
	int64_t id;
	char name[128];
	int n_questions;
	model_question q[MODEL_MAX_QUESTIONS];
} model_survey;

/* Parse and validate a survey's "questions" JSON array into s->q.
 * Rules: 1..MODEL_MAX_QUESTIONS items; type one of nps, grade, ces, driver,
 * open, yesno; at most one each of nps, grade, ces, open; drivers and yesno
 * questions need a unique "aspect"; "text" must hold non-empty "nl" and "en"
 * strings.
 * On error fills e with the field path (e.g. "questions[2].text.nl"). */
ks_err model_survey_questions_parse(const json_t *questions, model_survey *s, ks_error *e);
/* Inverse of the above: a new JSON array (caller owns the reference). */
json_t *model_survey_questions_json(const model_survey *s);
const char *model_qtype_name(model_qtype t);
/* Range of scores for a question type; open questions return 0,0. */
void model_qtype_range(model_qtype t, int *lo, int *hi);

/* ---- contacts and responses ------------------------------------------- */

/* Channels are a fixed list (seeded by migration 1). */
extern const char *const model_channels[];  /* NULL-terminated */
bool model_channel_valid(const char *code);
bool model_language_valid(const char *code); /* "nl" or "en" */

typedef struct model_contact {
	int64_t id;
	int64_t customer_id;
	int64_t employee_id;   /* 0 = none */
	int64_t team_id;       /* 0 = none; defaults to the employee's team */
	int64_t touchpoint_id;
	char channel[16];
	char reason[128];
	int64_t occurred_at;
	char token[MODEL_TOKEN_LEN + 1];  /* survey link token */
	int64_t expires_at;
} model_contact;

typedef struct model_driver_score {
	char aspect[64];
	int score;
} model_driver_score;

/* A response. Score fields are -1 when the question was not answered; id
 * fields 0 when unknown. open_text is borrowed (the caller owns it). */
typedef struct model_response {
	int64_t id;
	char client_key[MODEL_KEY_MAX + 1];  /* "" = not idempotent */
	int64_t contact_id;
	int64_t customer_id;
	int64_t employee_id;
	int64_t team_id;
	int64_t touchpoint_id;
	int64_t survey_id;
	char channel[16];
	char language[3];
	int nps;
	int grade;
	int ces;
	int n_drivers;
	model_driver_score drivers[MODEL_MAX_DRIVERS];
	/* issue 13: yes/no answers by aspect, score 1 yes / 0 no */
	int n_yesno;
	model_driver_score yesno[MODEL_MAX_DRIVERS];
	bool partial;          /* issue 13: only the score tapped in the mail so far */
	const char *open_text;
	int contact_consent;    /* may we contact you? 1 yes, 0 no, -1 not asked */
	int64_t received_at;
	char source[16];       /* api, survey, demo, import */
	uint64_t body_hash;    /* detects a reused client_key with another body */
} model_response;

void model_response_init(model_response *r);

/* ---- generic entities -------------------------------------------------- */

typedef enum {
	MODEL_F_TEXT,
	MODEL_F_INT,
	MODEL_F_BOOL,
	MODEL_F_DATE,    /* "YYYY-MM-DD", stored as text */
	MODEL_F_REF,     /* integer id of a row in ref_table */
	MODEL_F_ENUM,    /* one of enum_values */
	MODEL_F_JSON     /* validated by the entity's hook, stored as JSON text */
} model_ftype;

typedef struct model_field {
	const char *name;
	model_ftype type;
	bool required;            /* on create */
	bool unique;              /* violations give 409 naming the field */
	bool filterable;          /* usable as ?name=value on list */
	const char *ref_table;    /* MODEL_F_REF */
	long long min, max;       /* MODEL_F_INT range; MODEL_F_TEXT max length */
	const char *const *enum_values;  /* MODEL_F_ENUM, NULL-terminated */
} model_field;

struct model_entity;
/* Entity-specific checks beyond the field rules, run on create (existing ==
 * NULL) and on update (existing = the current row). obj is the validated,
 * complete new state. May normalise obj in place. */
typedef ks_err (*model_check_fn)(const struct model_entity *ent, json_t *obj,
				 const json_t *existing, ks_error *e);

typedef struct model_entity {
	const char *name;       /* API path segment: "teams" */
	const char *singular;   /* "team" */
	const char *table;      /* SQL table */
	const model_field *fields;
	size_t n_fields;
	model_check_fn check;   /* may be NULL */
} model_entity;

extern const model_entity model_entities[];
extern const size_t model_n_entities;
const model_entity *model_entity_find(const char *name);
const model_field *model_field_find(const model_entity *ent, const char *name);

/* Validate a JSON object against ent's fields: unknown fields, types, ranges,
 * enum values, text length; and, when for_create, required fields. Does not
 * check references (the store does). */
ks_err model_validate(const model_entity *ent, const json_t *obj, bool for_create, ks_error *e);

#endif
