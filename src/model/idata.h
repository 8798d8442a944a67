/* idata.h — the organisation's own data about its customers (issue 16,
 * "Internal data"): the four kinds of record an import brings (customers,
 * products, holdings, events), their field names, and the one check of a
 * record that both intakes share — `klantstem import KIND` (cli_import_data.c,
 * a CSV or JSON Lines row) and POST /api/v1/import/KIND (api_import.c, an
 * object of a JSON array). docs/IMPORT.md describes the fields.
 *
 * The check needs no database: it turns a record of texts into a checked
 * idata_rec (dates as 'YYYY-MM-DD', times as unix seconds), reporting every
 * bad field through a callback so that a file's user sees all of a row's
 * faults at once. The store then resolves the external ids and writes
 * (store.h, "internal data").
 */
#ifndef KS_MODEL_IDATA_H
#define KS_MODEL_IDATA_H

#include <stdbool.h>
#include <stdint.h>

#include <stddef.h>

#include <jansson.h>

#include "core/tz.h"

typedef enum { IDATA_CUSTOMERS, IDATA_PRODUCTS, IDATA_HOLDINGS, IDATA_EVENTS, IDATA__KINDS } idata_kind;

#define IDATA_MAX_FIELDS 9     /* customers have the most */
#define IDATA_MAX_ATTRS 64     /* custom attributes of one customer record */
#define IDATA_ATTR_KEY_MAX 32  /* [a-z0-9_]{1,32} */
#define IDATA_TEXT_MAX 500     /* bytes of a name, e-mail address, city, attribute value... */
#define IDATA_DETAIL_MAX 2000  /* bytes of an event's detail */

/* The field indexes of each kind (the order of idata_fields). */
enum { IDC_EXTERNAL_ID, IDC_NAME, IDC_EMAIL, IDC_LANGUAGE, IDC_SINCE, IDC_CITY, IDC_BIRTH_YEAR,
       IDC_SEGMENT, IDC_PHONE };
enum { IDP_EXTERNAL_ID, IDP_NAME, IDP_CATEGORY };
enum { IDH_CUSTOMER, IDH_PRODUCT, IDH_SINCE, IDH_UNTIL };
enum { IDE_EXTERNAL_ID, IDE_CUSTOMER, IDE_KIND, IDE_OCCURRED_AT, IDE_CHANNEL, IDE_DETAIL };

/* "customers" -> IDATA_CUSTOMERS etc.; false for anything else. */
bool idata_kind_parse(const char *name, idata_kind *out);
const char *idata_kind_name(idata_kind k);
/* The field names of k (static, NULL-terminated); *n gets their count. */
const char *const *idata_fields(idata_kind k, int *n);
/* The index of field name in k's fields (exact), or -1. */
int idata_field(idata_kind k, const char *name);
/* A custom attribute's key: [a-z0-9_]{1,32}. */
bool idata_attr_key_ok(const char *key);
/* The event kinds (static, NULL-terminated). */
extern const char *const idata_event_kinds[];

/* One record as the sender wrote it. v[i] is field i of idata_fields:
 * NULL = the record does not have the field (a CSV without the column, an
 * object without the member), "" = given and empty. Blanks around a value
 * are the caller's to trim. Customers only: attributes, keys already
 * checked with idata_attr_key_ok. Borrowed pointers. */
typedef struct idata_in {
	const char *v[IDATA_MAX_FIELDS];
	int n_attrs;
	const char *attr_key[IDATA_MAX_ATTRS];
	const char *attr_val[IDATA_MAX_ATTRS];
} idata_in;

/* A checked record. s[i] is field i's value to store: NULL = SQL NULL
 * (given empty), pointing into the idata_in or into the rec itself (dates);
 * given has bit i set when the record has field i (an update leaves the
 * others as they are). Attributes as in the idata_in ("" = remove). */
typedef struct idata_rec {
	idata_kind kind;
	unsigned given;
	const char *s[IDATA_MAX_FIELDS];
	int64_t birth_year;       /* customers, when s[IDC_BIRTH_YEAR] */
	int64_t occurred_at;      /* events: unix seconds */
	char date[2][11];         /* normalised dates the s[] may point at */
	char language[3];
	int n_attrs;
	const char *attr_key[IDATA_MAX_ATTRS];
	const char *attr_val[IDATA_MAX_ATTRS];
} idata_rec;

/* Told once per bad field: field is the field name (or the attribute's
 * key), msg the reason without the field, e.g. "'19x0' is not a year". */
typedef void (*idata_err_fn)(void *arg, const char *field, const char *msg);

/* Check in as a record of kind k into *out (valid while in's texts are).
 * Times without an offset ("2026-03-01 10:00", a bare date) are local
 * times of tz. Returns the number of bad fields (0 = *out is good). */
int idata_check(idata_kind k, const idata_in *in, const ks_tz *tz, idata_rec *out, idata_err_fn err,
		void *arg);

/* A JSON member's value as a record's text (JSON Lines files and the API
 * alike): a string as it is, a number in decimal (a whole real without its
 * ".0"), true / false, null as "" (empty). NULL for an object or array.
 * Numbers are written into buf (at least 32 bytes). */
const char *idata_json_text(const json_t *v, char *buf, size_t n);

/* issue 16 H8: 'erased-…' is the external id of an erased customer's
 * tombstone (sqlite_gdpr.c), never a customer's: every intake that names a
 * customer by external id (imports, their references, POST/PUT
 * /api/v1/customers) refuses it, so no data is ever attached to an erased
 * person again. */
#define IDATA_ERASED_PREFIX "erased-"
bool idata_customer_id_reserved(const char *external_id);

/* Valid UTF-8 without control characters other than tab, CR and LF (C0,
 * DEL, and the C1 controls U+0080..U+009F). */
bool idata_text_ok(const char *s);

#endif
