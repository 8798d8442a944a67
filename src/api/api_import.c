/* api_import.c — POST /api/v1/import/{customers|products|holdings|events}
 * (issue 16, "Internal data"; docs/API.md "Import of internal data"): the
 * intake of `klantstem import KIND` over HTTP, for admins and their API
 * tokens. The body is a JSON array of objects with the field names of the
 * CLI's columns; each object is checked by idata_check (model/idata.h, the
 * CLI's own check) and written by the store's idata session: the whole
 * array in one transaction with its import_runs row, or nothing and a 422
 * naming the item and the field ("[3].birth_year").
 */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "model/idata.h"

#define IMPORT_MAX_ITEMS 10000   /* a larger set goes through the CLI */

/* The first bad field of the item under way. */
typedef struct imp_api_err {
	size_t index;
	bool bad;
	char field[64];
	char message[200];
} imp_api_err;

static void imp_api_field_error(void *arg, const char *field, const char *msg)
{
	imp_api_err *x = arg;
	if (x->bad)
		return;
	x->bad = true;
	snprintf(x->field, sizeof x->field, "[%zu].%.40s", x->index, field);
	snprintf(x->message, sizeof x->message, "%.40s: %s", field, msg);
}

/* item as an idata_in; numbers are written into nums (one slot per member). */
static ks_err imp_api_item(idata_kind kind, size_t i, json_t *item, idata_in *in,
			   char nums[][32], ks_error *e)
{
	memset(in, 0, sizeof *in);
	if (!json_is_object(item))
		return ks_fail(e, KS_ERR_INVALID, "", "[%zu] must be an object", i);
	const char *key;
	json_t *v;
	int k = 0;
	json_object_foreach(item, key, v) {
		char field[64];
		snprintf(field, sizeof field, "[%zu].%.40s", i, key);
		int f = idata_field(kind, key);
		bool attr = f < 0 && kind == IDATA_CUSTOMERS && idata_attr_key_ok(key);
		if (f < 0 && !attr)
			return ks_fail(e, KS_ERR_INVALID, field, "%s: unknown field%s", key,
				       kind == IDATA_CUSTOMERS ? " (a custom attribute's name is [a-z0-9_]{1,32})" : "");
		if (attr && in->n_attrs == IDATA_MAX_ATTRS)
			return ks_fail(e, KS_ERR_INVALID, field, "at most %d custom attributes", IDATA_MAX_ATTRS);
		if (k == IDATA_MAX_FIELDS + IDATA_MAX_ATTRS)
			return ks_fail(e, KS_ERR_INVALID, field, "%s: too many members", key);
		/* the values as a JSON Lines file's (one rule: idata_json_text) */
		const char *s = idata_json_text(v, nums[k], 32);
		if (s == NULL)
			return ks_fail(e, KS_ERR_INVALID, field, "%s: must be a string, number, boolean or null", key);
		if (s == nums[k])
			k++;
		if (attr) {
			in->attr_key[in->n_attrs] = key;
			in->attr_val[in->n_attrs++] = s;
		} else {
			in->v[f] = s;
		}
	}
	return KS_OK;
}

/* Every item into the session; the first bad one ends it with its 422. */
static ks_err imp_api_items(api_app *app, idata_kind kind, json_t *arr, store_idata *x, ks_error *e)
{
	char buf[IDATA_MAX_FIELDS + IDATA_MAX_ATTRS][32];
	size_t i;
	json_t *item;
	json_array_foreach(arr, i, item) {
		idata_in in;
		idata_rec rec;
		ks_err err = imp_api_item(kind, i, item, &in, buf, e);
		if (err)
			return err;
		imp_api_err bad = {.index = i};
		if (idata_check(kind, &in, &app->tz, &rec, imp_api_field_error, &bad))
			return ks_fail(e, KS_ERR_INVALID, bad.field, "[%zu] %s", i, bad.message);
		bool dup = false;
		err = store_idata_put(x, &rec, &dup, e);
		if (err == KS_ERR_REF || err == KS_ERR_INVALID) {
			char field[64];
			snprintf(field, sizeof field, "[%zu].%.40s", i, e->field);
			char msg[sizeof e->message];
			snprintf(msg, sizeof msg, "%s", e->message);
			return ks_fail(e, err, field, "[%zu] %s: %s", i, e->field, msg);
		}
		if (err)
			return err;
	}
	return KS_OK;
}

ks_err api_import_data(http_req *req, ks_error *e)
{
	api_app *app = req->app;
	idata_kind kind;
	if (!idata_kind_parse(req->params[0], &kind))
		return ks_fail(e, KS_ERR_NOTFOUND, NULL, "nothing to import as '%.40s' (customers, products, "
			       "holdings, events)", req->params[0]);
	ks_err err = api_only_params(req, (const char *const[]){NULL}, e);
	if (err)
		return err;
	json_error_t je;
	json_t *arr = req->body.len ? json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &je) : NULL;
	if (!json_is_array(arr)) {
		err = arr || req->body.len == 0
			? ks_fail(e, KS_ERR_BADJSON, NULL, "the body must be a JSON array of objects")
			: ks_fail(e, KS_ERR_BADJSON, NULL, "malformed JSON at line %d column %d: %s", je.line,
				  je.column, je.text);
		json_decref(arr);
		return err;
	}
	size_t n = json_array_size(arr);
	if (n == 0 || n > IMPORT_MAX_ITEMS) {
		json_decref(arr);
		return ks_fail(e, KS_ERR_INVALID, "", "the array holds 1 to %d objects (a larger set: "
			       "klantstem import)", IMPORT_MAX_ITEMS);
	}
	store_idata *x = NULL;
	err = store_idata_begin(app->store, kind, &x, e);
	if (!err)
		err = imp_api_items(app, kind, arr, x, e);
	json_decref(arr);
	store_idata_counts k = {0};
	if (x)
		store_idata_counts_get(x, &k);
	if (err) {
		store_idata_rollback(x);
		return err;
	}
	err = store_idata_commit(x, NULL, true, 0, e);
	if (err)
		return err;
	json_t *detail = json_pack("{s:s, s:I, s:I, s:I}", "kind", idata_kind_name(kind), "rows",
				   (json_int_t)k.ok, "added", (json_int_t)k.added, "updated", (json_int_t)k.updated);
	api_audit(req, "import", idata_kind_name(kind), 0, detail);
	http_reply_json(req, 200,
			json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "kind", idata_kind_name(kind), "rows",
				  (json_int_t)k.ok, "added", (json_int_t)k.added, "updated", (json_int_t)k.updated,
				  "unchanged", (json_int_t)k.kept, "duplicates", (json_int_t)k.duplicates));
	return KS_OK;
}
