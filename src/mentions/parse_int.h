/* parse_int.h — what the format readers of src/mentions share (not for
 * callers outside the module: they see mentions.h). */
#ifndef KS_MENTIONS_PARSE_INT_H
#define KS_MENTIONS_PARSE_INT_H

#include <jansson.h>

#include "mentions/mentions.h"

/* The longest field values mentions_check takes (bytes), and records in
 * one batch. */
enum {
	MP_MAX_SOURCE_ID = 200,
	MP_MAX_SHORT = 500,      /* author, location, title, language, external id */
	MP_MAX_URL = 2000,
	MP_MAX_TEXT = 100000,
	MP_MAX_RECORDS = 1000000,
};

/* malloc'd copy of s[0..n) (NUL-terminated), NULL when out of memory. */
char *mp_strndup(const char *s, size_t n);
/* The length of s's longest prefix of at most max bytes that does not end
 * inside a UTF-8 character (s UTF-8). */
size_t mp_utf8_cut(const char *s, size_t max);
/* Sets *slot to a copy of s (NULL/"" after trimming: leaves it NULL). */
ks_err mp_set(char **slot, const char *s, ks_error *e);
/* ISO 8601: YYYY-MM-DD, optionally T or space and HH:MM[:SS[.frac]], and Z,
 * +HH, +HHMM or +HH:MM (no zone: UTC). Years 1970..2100. */
bool mp_time(const char *s, int64_t *out);
/* A decimal number, "." or "," as the decimal mark, spaces around. */
bool mp_number(const char *s, double *out);
/* Fails naming where.field: "line 12: created_at" or "[3].created_at". */
ks_err mp_fail(ks_error *e, ks_err code, const mentions_batch *b, int where, const char *field,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The field name as mp_fail writes it into out. */
void mp_where(const mentions_batch *b, int where, const char *field, char *out, size_t n);

/* JSON helpers for the vendor readers: a string member (NULL when absent,
 * null or not a string), a string member of a member, a number or numeric
 * string member. */
const char *mp_jstr(const json_t *o, const char *key);
const char *mp_jstr2(const json_t *o, const char *key, const char *sub);
/* The generic layout from one JSON object (keys as the CSV's columns;
 * unknown keys rejected); m->where must be set. */
ks_err mp_generic_object(mentions_batch *b, mention_in *m, const json_t *o, ks_error *e);
/* The generic layout from one named value (CSV cell, JSON member as text);
 * unknown names rejected. */
ks_err mp_generic_field(mentions_batch *b, mention_in *m, const char *name, const char *value, ks_error *e);
/* A required time member: fails naming it when absent or not ISO 8601. */
ks_err mp_jtime(mentions_batch *b, mention_in *m, const json_t *o, const char *key, const char *name,
		bool required, int64_t *out, ks_error *e);
/* Checks the record (mentions_check) with the record's where as prefix. */
ks_err mp_finish(mentions_batch *b, mention_in *m, ks_error *e);

/* The readers (format.c, format_kiyoh.c, parse.c). doc is the parsed JSON. */
ks_err mp_generic_csv(const char *buf, size_t len, mentions_batch *b, ks_error *e);
ks_err mp_generic_jsonl(const char *buf, size_t len, mentions_batch *b, ks_error *e);
ks_err mp_generic_json(const json_t *doc, mentions_batch *b, ks_error *e);
ks_err mp_trustpilot(const json_t *doc, mentions_batch *b, ks_error *e);
ks_err mp_google(const json_t *doc, mentions_batch *b, ks_error *e);
ks_err mp_appstore(const json_t *doc, mentions_batch *b, ks_error *e);
ks_err mp_social(const json_t *doc, mentions_batch *b, ks_error *e);
ks_err mp_kiyoh(const char *buf, size_t len, mentions_batch *b, ks_error *e);

#endif
