/* gdpr.h — a person's rights over their data (issue 11): the export of
 * everything stored about a customer or an employee, and its erasure from
 * the database and from every derived copy the process keeps.
 *
 * The SQL is the store's (store_gdpr_export, store_gdpr_erase in
 * sqlite_gdpr.c); this module adds what the store cannot know about: the
 * analytics index, which holds customer and employee ids per response.
 * docs/PRIVACY.md, sections 7 and 8.
 */
#ifndef KS_GDPR_H
#define KS_GDPR_H

#include <stdint.h>

#include <jansson.h>

#include "analytics/analytics.h"
#include "core/error.h"
#include "store/store.h"

/* "customer" / "employee". */
const char *gdpr_subject_name(store_subject_kind k);

/* Everything stored about the person (store_gdpr_export); *out is the
 * caller's. KS_ERR_NOTFOUND when there is no such person, with a message
 * that says whether they were erased. */
ks_err gdpr_export(ks_store *s, store_subject_kind k, int64_t id, json_t **out, ks_error *e);

/* Erase the person (one transaction: store_gdpr_erase) and then drop them
 * from ix (may be NULL: the command line, whose server, if one runs on the
 * same file, forgets them at its next start). x as in store_gdpr_erase;
 * a second erase is KS_OK with x->already set. */
ks_err gdpr_erase(ks_store *s, an_index *ix, store_subject_kind k, int64_t id, store_erasure *x,
		  ks_error *e);

/* The reply of an erasure: {"kind","id","erased": true,"already_erased",
 * "erasure_id"|null,"erased_at"|null,"counts"}. New reference. */
json_t *gdpr_erasure_json(store_subject_kind k, int64_t id, const store_erasure *x);

#endif
