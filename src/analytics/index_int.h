/* index_int.h — internals shared by index.c (building, appending,
 * dimension tables) and query.c (breakdowns). Not for other modules. */
#ifndef KS_INDEX_INT_H
#define KS_INDEX_INT_H

#include <pthread.h>

#include "analytics/analytics.h"

/* id (int64) -> dense code (uint32): a direct table for small ids, open
 * addressing for the rest. Code 0 = none. */
#define AN_DIRECT_MAX (1u << 24)
typedef struct an_codes {
	uint32_t *dir;       /* id -> code for ids below AN_DIRECT_MAX: rowids are
	                      * small and dense, and this is the start-up hot path */
	size_t dir_n;
	int64_t *keys;       /* slot -> id (0 = empty), for larger ids */
	uint32_t *vals;      /* slot -> code */
	size_t slots;
	int64_t *ids;        /* code -> id; ids[0] = 0 */
	size_t n;            /* codes in use, including 0 */
	size_t cap;
} an_codes;

/* string -> small code, for segments and cities. Code 0 = unknown/empty. */
typedef struct an_dict {
	char **names;        /* code -> name; names[0] = "" */
	size_t n, cap;
} an_dict;

typedef struct an_customer {
	uint16_t segment;    /* an_dict code */
	uint16_t city;       /* an_dict code */
	uint16_t birth_year; /* 0 = unknown */
	uint16_t since_year;
} an_customer;

typedef struct an_named {
	char name[160];
	uint32_t parent;     /* unit: parent unit code; employee: team code; tp: journey code */
	char kind;           /* units: 'o', 'd', 't' */
	bool known;          /* loaded from the store */
} an_named;

struct an_index {
	ks_store *store;
	pthread_rwlock_t lock;

	size_t n, cap;
	uint32_t *t;
	uint16_t *team;
	uint16_t *emp;
	uint16_t *tp;
	uint32_t *cust;
	uint16_t *ans;
	int64_t last_id;     /* highest response id in the index */
	uint32_t min_t, max_t;

	an_codes units, emps, tps, journeys, custs;
	an_named *unit_info, *emp_info, *tp_info, *journey_info;  /* by code */
	size_t unit_info_n, emp_info_n, tp_info_n, journey_info_n;
	an_customer *cust_info;
	size_t cust_info_n;
	an_dict segments, cities;
	ks_tz tz;            /* the organisation's zone (an_index_set_tz) */
	uint64_t dims_version; /* bumped under the write lock by changes of names, customers or
	                        * the zone, not by rows (an_index_versions) */
	int64_t build_ms;
};

/* answers word */
#define AN_NPS_NONE 15u
#define AN_ANS(nps, grade, ces, ch, en) \
	((uint16_t)((nps) | ((grade) << 4) | ((ces) << 8) | ((ch) << 11) | ((en) << 14)))

uint32_t an_codes_get(const an_codes *m, int64_t id);   /* 0 when unknown */
const char *an_channel_name(unsigned code);                /* 1-based; "" for 0 */

#endif
