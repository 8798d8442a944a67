/* gdpr.c — export and erasure of a person's data; see gdpr.h. */
#include "privacy/gdpr.h"

#include "core/clock.h"

const char *gdpr_subject_name(store_subject_kind k)
{
	return k == STORE_SUBJECT_CUSTOMER ? "customer" : "employee";
}

ks_err gdpr_export(ks_store *s, store_subject_kind k, int64_t id, json_t **out, ks_error *e)
{
	return store_gdpr_export(s, k, id, out, NULL, e);
}

ks_err gdpr_erase(ks_store *s, an_index *ix, store_subject_kind k, int64_t id, store_erasure *x,
		  ks_error *e)
{
	ks_err err = store_gdpr_erase(s, k, id, x, e);
	if (err || x->already || ix == NULL)
		return err;
	/* The rows were anonymised in the database: the index must agree, or
	 * it would go on holding the id (and, for an employee, the name) and a
	 * breakdown by employee would differ from the one after a restart. */
	an_index_forget(ix, k == STORE_SUBJECT_CUSTOMER ? id : 0, k == STORE_SUBJECT_EMPLOYEE ? id : 0);
	return KS_OK;
}

json_t *gdpr_erasure_json(store_subject_kind k, int64_t id, const store_erasure *x)
{
	char at[32] = "";
	if (!x->already)
		clock_format_iso(x->erased_at, at, sizeof at);
	return json_pack("{s:s, s:I, s:b, s:b, s:o, s:o, s:o}", "kind", gdpr_subject_name(k), "id",
			 (json_int_t)id, "erased", 1, "already_erased", x->already, "erasure_id",
			 x->already ? json_null() : json_integer(x->erasure_id), "erased_at",
			 x->already ? json_null() : json_string(at), "counts",
			 x->already ? json_null() : store_erase_counts_json(&x->counts));
}
