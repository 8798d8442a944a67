/* units.c — see units.h. */
#include "analytics/units.h"

#include "analytics/index_int.h"

char an_unit_kind(an_index *ix, int64_t unit_id)
{
	pthread_rwlock_rdlock(&ix->lock);
	uint32_t c = an_codes_get(&ix->units, unit_id);
	char kind = c && c < ix->unit_info_n && ix->unit_info[c].known ? ix->unit_info[c].kind : 0;
	pthread_rwlock_unlock(&ix->lock);
	return kind;
}

int64_t an_unit_parent(an_index *ix, int64_t unit_id)
{
	pthread_rwlock_rdlock(&ix->lock);
	uint32_t c = an_codes_get(&ix->units, unit_id);
	uint32_t p = c && c < ix->unit_info_n ? ix->unit_info[c].parent : 0;
	int64_t id = p && p < ix->units.n ? ix->units.ids[p] : 0;
	pthread_rwlock_unlock(&ix->lock);
	return id;
}
