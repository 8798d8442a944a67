/* mentions.h — unsolicited feedback (issue 16, part H1): reviews and social
 * posts from any source, parsed into one source-neutral record.
 *
 * A mention is never an answer to a survey: it has no NPS and none is ever
 * derived from its stars. Its measures are its own (average rating on 0..10,
 * share of 4-5-star equivalents, sentiment); see docs/MENTIONS.md.
 *
 * Formats (mentions_parse's format argument):
 *   "generic-csv"   the generic layout as CSV (comma or semicolon, BOM ok)
 *   "generic-json"  the generic layout as a JSON array of objects or JSON Lines
 *   "trustpilot"    Trustpilot Business API reviews ({"reviews":[...]} or [...])
 *   "google"        Google Business Profile reviews ({"reviews":[...]})
 *   "kiyoh"         Kiyoh / Klantenvertellen XML feed
 *   "appstore"      App Store Connect customerReviews (JSON:API)
 *   "social"        a social-media export (posts; no rating)
 * mentions_format_known tells whether a name is one of these.
 */
#ifndef KS_MENTIONS_H
#define KS_MENTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/error.h"

/* One parsed mention. Strings are malloc'd and owned by the batch (freed by
 * mentions_batch_free); NULL = absent. */
typedef struct mention_in {
	char *source;               /* [a-z0-9_.-]{1,32} */
	char *source_id;            /* 1..200 bytes */
	char *location;             /* location or brand as the source names it */
	char *author, *title, *text, *url;
	char *language;             /* ISO code as given ("nl", "en", ...), NULL = detect */
	char *customer_external_id; /* links customers.external_id when it matches */
	int64_t created_at;         /* unix seconds UTC */
	int64_t updated_at;         /* unix seconds UTC; = created_at when the source has none */
	bool has_rating;
	double rating, scale_min, scale_max;  /* raw, as the source gives it */
	double rating10;            /* (rating-min)/(max-min)*10; only with has_rating */
	char *reply_text;           /* the organisation's public reply, when the source carries it */
	int64_t reply_at;           /* 0 = none */
	int where;                  /* line (CSV, JSON Lines, XML) or index (JSON array) of the record */
} mention_in;

typedef struct mentions_batch {
	mention_in *items;          /* n records, unique by (source, source_id) */
	size_t n, cap;
	size_t duplicates;          /* records dropped because another in the
	                               same input had the same (source, source_id):
	                               the newest (updated_at) wins, of equally
	                               new ones the last */
	bool where_is_index;        /* where is a 0-based index (JSON array), else a line */
	size_t max_records;         /* set by the parse: more records fail (KS_ERR_TOOBIG) */
} mentions_batch;

typedef struct mentions_counts {
	int64_t inserted;           /* new (source, source_id) */
	int64_t updated;            /* existing, and this one's updated_at is newer,
	                               or equal with other content */
	int64_t unchanged;          /* existing with a newer updated_at, or the
	                               same one and the same content */
} mentions_counts;

/* Parses buf[0..len) in format (see above) into *out (zeroed first; free it
 * with mentions_batch_free even on failure). buf need not be NUL-terminated
 * and is not modified. On error: KS_ERR_INVALID or KS_ERR_RANGE with
 * e->field naming the record and field ("line 12: created_at",
 * "[3].rating", "reviews[0].starRating") and e->message saying what is wrong;
 * KS_ERR_BADJSON when a JSON document cannot be read (message with line and
 * column); KS_ERR_INVALID naming the line on invalid UTF-8; KS_ERR_USAGE for
 * an unknown format. */
ks_err mentions_parse(const char *format, const char *buf, size_t len, mentions_batch *out, ks_error *e);

/* The same with at most max_records records (0: the default, 1,000,000):
 * more fail with KS_ERR_TOOBIG naming "data" — for a generic CSV before its
 * rows are read, so a request of many short lines costs no memory for them
 * (issue 16 H9: the API takes 10,000 a request). The header of a generic CSV
 * is checked before the rest is parsed. */
ks_err mentions_parse_max(const char *format, const char *buf, size_t len, size_t max_records, mentions_batch *out,
			  ks_error *e);

/* Frees what the batch holds; *b is reset to empty. NULL is a no-op. */
void mentions_batch_free(mentions_batch *b);

/* The same from a JSON document already parsed (the API's body): format is
 * a JSON format (not "generic-csv" or "kiyoh": those are text, give them to
 * mentions_parse). doc is borrowed. */
ks_err mentions_from_json(const char *format, const json_t *doc, mentions_batch *out, ks_error *e);
/* ... with at most max_records records (0: the default), as mentions_parse_max. */
ks_err mentions_from_json_max(const char *format, const json_t *doc, size_t max_records, mentions_batch *out,
			      ks_error *e);

bool mentions_format_known(const char *format);
/* The format a document most likely is, from its first bytes and keys:
 * "kiyoh" for XML, a vendor JSON format by its tell-tale members, else
 * "generic-json" for JSON and "generic-csv" for anything else. Static string. */
const char *mentions_format_guess(const char *buf, size_t len);

/* ---- building blocks shared by the readers and the API ------------------- */

/* Appends a zeroed record (*out points at it, owned by b). */
ks_err mentions_batch_add(mentions_batch *b, mention_in **out, ks_error *e);
/* Checks one record as the store needs it (source, source_id, created_at,
 * one of text/rating, scale, rating within scale, lengths, UTF-8), sets
 * rating10 and updated_at (when 0), and names "prefix.field" on failure. */
ks_err mentions_check(mention_in *m, const char *prefix, ks_error *e);
/* After every record is added and checked: drops duplicates of (source,
 * source_id), keeping the one with the largest updated_at (on a tie the
 * last), counting them in b->duplicates. */
void mentions_batch_dedupe(mentions_batch *b);

#endif
