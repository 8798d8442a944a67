/* audit.c — the audit log's entries: well-formed actions, details that hold
 * no secret and no score, and the shapes they are read and exported in.
 * Storage is the store's (sqlite_audit.c); see audit.h for the contract.
 */
#include "audit/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"

bool audit_action_valid(const char *name)
{
	if (name == NULL || name[0] == '\0' || strlen(name) > AUDIT_ACTION_MAX)
		return false;
	bool dot = false;
	for (const char *p = name; *p; p++) {
		if (*p == '.')
			dot = true;
		else if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
			return false;
	}
	return dot && name[0] != '.' && name[strlen(name) - 1] != '.';
}

/* A member name that must never be logged. Substring matches for the
 * secrets (an "api_token", a "session_hash"), prefixes for the scores
 * ("nps", "nps_change", "grade_mean"), so a caller's new field of the same
 * kind is caught without a change here. */
static bool audit_forbidden(const char *key)
{
	static const char *const inside[] = {"password", "token", "hash", "csrf", "secret", NULL};
	static const char *const starts[] = {"nps", "grade", "ces", "score", NULL};
	char low[64];
	size_t n = strlen(key);
	if (n >= sizeof low)
		n = sizeof low - 1;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)((key[i] >= 'A' && key[i] <= 'Z') ? key[i] + 32 : key[i]);
	low[n] = '\0';
	for (size_t i = 0; inside[i]; i++)
		if (strstr(low, inside[i]))
			return true;
	for (size_t i = 0; starts[i]; i++)
		if (strncmp(low, starts[i], strlen(starts[i])) == 0)
			return true;
	return false;
}

void audit_clean(json_t *obj)
{
	if (json_is_array(obj)) {
		size_t i;
		json_t *v;
		json_array_foreach(obj, i, v)
			audit_clean(v);
		return;
	}
	if (!json_is_object(obj))
		return;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(obj, tmp, key, v) {
		if (audit_forbidden(key))
			json_object_del(obj, key);
		else
			audit_clean(v);
	}
}

char *audit_detail_text(json_t *obj)
{
	if (obj == NULL)
		return strdup("{}");
	if (!json_is_object(obj)) {
		/* A detail is an object by contract; keep the value under a name
		 * rather than drop it. */
		json_t *wrap = json_pack("{s:o}", "value", obj);
		if (wrap == NULL)
			return NULL;
		obj = wrap;
	}
	audit_clean(obj);
	char *txt = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(obj);
	if (txt && strlen(txt) > AUDIT_DETAIL_MAX) {
		free(txt);
		txt = strdup("{\"truncated\":true}");
	}
	return txt;
}

ks_err audit_record(ks_store *s, const audit_actor *who, const char *action, const char *kind,
		    int64_t object_id, json_t *detail, ks_error *e)
{
	if (!audit_action_valid(action)) {
		json_decref(detail);
		return ks_fail(e, KS_ERR_INTERNAL, "action", "ill-formed audit action");
	}
	char *txt = audit_detail_text(detail);
	if (txt == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	store_audit_entry a = {
		.actor_user_id = who ? who->user_id : 0,
		.client_addr = who && who->addr ? who->addr : "",
		.action = action,
		.object_kind = kind,
		.object_id = object_id,
		.detail = txt,
	};
	ks_err err = store_audit_append(s, &a, e);
	free(txt);
	return err;
}

/* ---- reading and export ---- */

static json_t *audit_opt_id(int64_t id)
{
	return id > 0 ? json_integer(id) : json_null();
}

json_t *audit_entry_json(const store_audit_entry *a)
{
	char at[32];
	clock_format_iso(a->at, at, sizeof at);
	json_t *detail = json_loads(a->detail ? a->detail : "{}", 0, NULL);
	if (detail == NULL)
		detail = json_object();
	return json_pack("{s:I, s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "id", (json_int_t)a->id, "at", at,
			 "actor_user_id", audit_opt_id(a->actor_user_id), "client_addr",
			 a->client_addr ? a->client_addr : "", "action", a->action ? a->action : "",
			 "object_kind",
			 a->object_kind && a->object_kind[0] ? json_string(a->object_kind) : json_null(),
			 "object_id", audit_opt_id(a->object_id), "detail", detail);
}

const char audit_csv_header[] =
	"id,at,actor_user_id,client_addr,action,object_kind,object_id,detail\r\n";

/* A quoted CSV cell (RFC 4180); a leading formula character is defused
 * with ' (as the figures' CSV export does). */
static ks_err audit_csv_text(ks_buf *b, const char *s)
{
	ks_err err = buf_puts(b, "\"");
	if (!err && s && strchr("=+-@\t\r", s[0]) && s[0] != '\0')
		err = buf_puts(b, "'");
	for (const char *p = s; !err && p && *p; p++)
		err = *p == '"' ? buf_puts(b, "\"\"") : buf_append(b, p, 1);
	return err ? err : buf_puts(b, "\"");
}

ks_err audit_csv_line(ks_buf *b, const store_audit_entry *a)
{
	char at[32];
	clock_format_iso(a->at, at, sizeof at);
	ks_err err = buf_printf(b, "%lld,%s,", (long long)a->id, at);
	if (!err && a->actor_user_id > 0)
		err = buf_printf(b, "%lld", (long long)a->actor_user_id);
	if (!err)
		err = buf_puts(b, ",");
	if (!err)
		err = audit_csv_text(b, a->client_addr);
	if (!err)
		err = buf_puts(b, ",");
	if (!err)
		err = audit_csv_text(b, a->action);
	if (!err)
		err = buf_puts(b, ",");
	if (!err)
		err = audit_csv_text(b, a->object_kind);
	if (!err)
		err = buf_puts(b, ",");
	if (!err && a->object_id > 0)
		err = buf_printf(b, "%lld", (long long)a->object_id);
	if (!err)
		err = buf_puts(b, ",");
	if (!err)
		err = audit_csv_text(b, a->detail ? a->detail : "{}");
	return err ? err : buf_puts(b, "\r\n");
}

ks_err audit_jsonl_line(ks_buf *b, const store_audit_entry *a)
{
	json_t *o = audit_entry_json(a);
	char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (txt == NULL)
		return KS_ERR_NOMEM;
	ks_err err = buf_puts(b, txt);
	free(txt);
	return err ? err : buf_puts(b, "\n");
}
