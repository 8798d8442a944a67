/* audit.h — the audit log: who did what, when, from where (issue 11).
 *
 * One entry per login, failed login, export (CSV figures, GDPR exports, the
 * audit log itself), change to users, rules, settings, cases, goals and
 * actions, and erasure. An entry holds the time, the acting user's id (0 =
 * the system or an anonymous caller), the client address, an action name,
 * the object's kind and id, and a small JSON detail. Entries are append-only
 * (store_audit_append; migration 012 refuses UPDATE and DELETE).
 *
 * Action names are "<object>.<verb>", lower case: auth.login,
 * auth.login_failed, auth.password, auth.token_create, auth.token_revoke,
 * user.create, user.update, user.delete, entity.create, entity.update,
 * rule.update, alert_rule.update, settings.update, team_settings.update,
 * customer.opt_out, case.update, case.note, goal.set, action.create,
 * action.update, export.metrics, export.customer, export.employee,
 * customer.erase, employee.erase, retention.update, retention.run,
 * audit.export. docs/PRIVACY.md lists them with their details.
 *
 * What never goes into a detail: a password, a token, a hash, a CSRF value
 * or a score (nps, grade, ces: the answers of one customer about one
 * employee are exactly the numbers disclosure control hides). audit_clean
 * removes such members at any depth, whatever a caller passes.
 *
 * When a write fails: changes are committed before their entry is written
 * (the entry is a second transaction, since the change's transaction lives
 * in another module's store function); a failed entry is reported on stderr
 * and the change stands. Erasures, retention changes and retention runs
 * write their entry in their own transaction (all or nothing). Exports of
 * personal data (GDPR exports, the audit log) are refused (5xx) when their
 * entry cannot be written: no such data leaves unlogged; an export of
 * figures (CSV) is logged after it is built, like a change.
 */
#ifndef KS_AUDIT_H
#define KS_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"
#include "store/store.h"

/* Longest detail kept (serialised JSON bytes); longer ones are replaced by
 * {"truncated": true} so an entry stays small. */
#define AUDIT_DETAIL_MAX 2048
#define AUDIT_ACTION_MAX 48

/* Who did it and from where. addr may be NULL or "". */
typedef struct audit_actor {
	int64_t user_id;         /* 0 = the system or an anonymous caller */
	const char *addr;
} audit_actor;

/* Is name a well-formed action ("<object>.<verb>", [a-z_.], at most
 * AUDIT_ACTION_MAX bytes)? */
bool audit_action_valid(const char *name);

/* Remove every member whose name is secret or a score (password*, *token*,
 * *hash*, csrf, secret*, nps*, grade*, ces*, score*) at any depth of obj.
 * NULL is a no-op. */
void audit_clean(json_t *obj);

/* The detail as stored: obj cleaned and serialised compactly with sorted
 * keys, cut to {"truncated":true} past AUDIT_DETAIL_MAX. obj is consumed
 * (decref'd; NULL = "{}"). Returns malloc'd text (free()), NULL when out
 * of memory. */
char *audit_detail_text(json_t *obj);

/* Append an entry. detail is consumed (NULL = {}). kind NULL = none,
 * object_id 0 = none. KS_ERR_INTERNAL for an ill-formed action name (a
 * bug of the caller); store errors otherwise. */
ks_err audit_record(ks_store *s, const audit_actor *who, const char *action, const char *kind,
		    int64_t object_id, json_t *detail, ks_error *e);

/* ---- reading and export ---- */

/* An entry as API JSON: {"id","at" (ISO 8601 UTC),"actor_user_id"|null,
 * "client_addr","action","object_kind"|null,"object_id"|null,"detail"
 * (the object)}. New reference; NULL when out of memory. */
json_t *audit_entry_json(const store_audit_entry *a);
/* The CSV header line (with its CRLF) and one entry as a CSV line: id, at,
 * actor_user_id, client_addr, action, object_kind, object_id, detail (the
 * JSON text, quoted). Text cells are quoted, and one that starts with = + -
 * @, tab or CR gets a leading ' (spreadsheet formula injection). */
extern const char audit_csv_header[];
ks_err audit_csv_line(ks_buf *b, const store_audit_entry *a);
/* One entry as a JSON line (audit_entry_json, compact, "\n"). */
ks_err audit_jsonl_line(ks_buf *b, const store_audit_entry *a);

#endif
