/* store_kpis.h — part of the store's contract (store.h): hard KPIs (issue
 * 17, part K; migration 025, governance/sqlite_kpis.c): the catalogue,
 * monthly values per org unit, targets on org units, and the counts the
 * soft series take from the store (response rate, case SLA).
 *
 * Include "store/store.h", never this file. Rules of the catalogue (key
 * syntax, soft keys, periods) are checked by src/governance/kpi.h before a
 * write; the store checks what only the database knows (a duplicate key,
 * an org unit that does not exist, a builtin KPI). */
#ifndef KS_STORE_KPIS_H
#define KS_STORE_KPIS_H

#ifndef KS_STORE_H
#error "include store/store.h, not store_kpis.h"
#endif

#define STORE_KPI_NAME_MAX 200
#define STORE_KPI_UNIT_MAX 16

typedef struct store_kpi {
	int64_t id;
	char key[48];                    /* [a-z0-9_]{1,40} */
	char name_nl[STORE_KPI_NAME_MAX + 1];
	char name_en[STORE_KPI_NAME_MAX + 1];
	char unit[STORE_KPI_UNIT_MAX + 1];  /* 'EUR', '%', 'index', 'days' ... */
	bool higher_is_better;
	char department[12];             /* sales marketing finance operations hr service */
	char kind[8];                    /* output outcome impact */
	char aggregation[8];             /* sum mean last */
	bool builtin;                    /* the seed's: editable, not deletable */
	int64_t created_at;
} store_kpi;

/* The catalogue ordered by id. *out malloc'd (caller frees; NULL when empty). */
ks_err store_kpi_list(ks_store *s, store_kpi **out, size_t *n, ks_error *e);
/* One KPI by id or by key; KS_ERR_NOTFOUND. */
ks_err store_kpi_get(ks_store *s, int64_t id, store_kpi *out, ks_error *e);
ks_err store_kpi_by_key(ks_store *s, const char *key, store_kpi *out, ks_error *e);
/* Insert k (builtin is ignored: always 0); *id = the new row.
 * KS_ERR_CONFLICT naming "key" when the key exists. */
ks_err store_kpi_create(ks_store *s, const store_kpi *k, int64_t *id, ks_error *e);
/* Replace names, unit, direction, department, kind and aggregation of
 * k->id (key, builtin and created_at stay). KS_ERR_NOTFOUND. */
ks_err store_kpi_update(ks_store *s, const store_kpi *k, ks_error *e);
/* Delete a KPI with its values. KS_ERR_CONFLICT for a builtin one,
 * KS_ERR_NOTFOUND. Targets named by its key are deleted with it. */
ks_err store_kpi_delete(ks_store *s, int64_t id, ks_error *e);

/* ---- values ---- */
typedef struct store_kpi_value {
	int64_t kpi_id;
	int64_t unit_id;
	char period[8];                  /* 'YYYY-MM' */
	double value;
	int64_t updated_at;              /* reads only */
	char source[8];                  /* reads only: api import demo */
} store_kpi_value;

/* Upsert n values (checked by the caller: period syntax, finite value) in
 * ONE transaction: all or nothing. source: "api", "import" or "demo". A
 * unit that is no org unit: KS_ERR_REF with field
 * "<field_prefix>[i].unit_id" (prefix "values" for the API; the index i
 * is the position in v); a kpi_id that names no KPI: KS_ERR_REF
 * "<prefix>[i].kpi_id". The same (kpi, unit, period) twice: the later wins. */
ks_err store_kpi_values_put(ks_store *s, const store_kpi_value *v, size_t n, const char *source,
			    const char *field_prefix, ks_error *e);
/* The values of kpi_id (0 = every KPI) with period in [from, to] (NULL =
 * unbounded), ordered by kpi, unit, period. *out malloc'd (caller frees). */
ks_err store_kpi_values_get(ks_store *s, int64_t kpi_id, const char *from, const char *to,
			    store_kpi_value **out, size_t *n, ks_error *e);

/* ---- the org tree, for aggregation and checks ---- */
typedef struct store_kpi_unit {
	int64_t id, parent_id;           /* parent 0 = none */
	char kind[16];                   /* organisation department team */
	char name[201];
} store_kpi_unit;
/* Every org unit ordered by id. *out malloc'd (caller frees). */
ks_err store_kpi_units(ks_store *s, store_kpi_unit **out, size_t *n, ks_error *e);

/* ---- targets: goals on org units, never on a person ---- */
typedef struct store_kpi_target {
	char kpi[64];                    /* a hard key or a soft key ("theme:" + 47) */
	int64_t unit_id;
	char period[8];                  /* 'YYYY' | 'YYYY-Qn' | 'YYYY-MM' */
	double target;
	int64_t set_by;                  /* users.id, 0 = none */
	int64_t updated_at;              /* reads only */
} store_kpi_target;
/* Targets, filtered by kpi (NULL = any) and unit (0 = any), ordered by
 * kpi, unit, period. *out malloc'd (caller frees). */
ks_err store_kpi_targets_list(ks_store *s, const char *kpi, int64_t unit_id, store_kpi_target **out,
			      size_t *n, ks_error *e);
/* Create or replace; KS_ERR_REF naming "unit_id" when it is no org unit. */
ks_err store_kpi_target_put(ks_store *s, const store_kpi_target *t, ks_error *e);
/* KS_ERR_NOTFOUND when there is no such target. */
ks_err store_kpi_target_delete(ks_store *s, const char *kpi, int64_t unit_id, const char *period,
			       ks_error *e);

/* ---- counts of the store-based soft KPIs, per unit × local month ---- */
typedef struct store_kpi_count {
	int64_t unit_id;                 /* the unit the row is tied to (any level) */
	char period[8];                  /* 'YYYY-MM', local */
	int64_t num, den;
	int64_t person;                  /* the one person the rows are about (0: none named);
	                                  * a unit × month may take several rows, one per person */
} store_kpi_count;
/* Invitations sent (sent_at, local month) in [from, to] per invitation
 * team and employee (person): den = sent, num = of them completed. */
ks_err store_kpi_response_counts(ks_store *s, const char *from, const char *to, store_kpi_count **out,
				 size_t *n, ks_error *e);
/* Cases opened (local month) in [from, to] per case team and owner
 * (person: owner_user_id) whose verdict is
 * known as of as_of: den = closed or resolved, or past the deadline; num =
 * closed or resolved (the earlier of the two) by the deadline (a case
 * without a deadline that is closed counts as met). */
ks_err store_kpi_sla_counts(ks_store *s, const char *from, const char *to, int64_t as_of,
			    store_kpi_count **out, size_t *n, ks_error *e);
/* Responses with an NPS answer received (local month) in [from, to] per
 * response team: den = answers, num = promoters - detractors (the demo's
 * KPIs read the monthly NPS it generated; src/demo/demo_kpis.c). */
ks_err store_kpi_nps_counts(ks_store *s, const char *from, const char *to, store_kpi_count **out,
			    size_t *n, ks_error *e);
/* The start of today in the store's calendar (the default "as of" of the
 * soft series). */
int64_t store_kpi_as_of(ks_store *s);

#endif
