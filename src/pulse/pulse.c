/* pulse.c — eNPS results and anonymity rules (see pulse.h). */
#include "pulse/pulse.h"

#include <stdlib.h>

ks_err pulse_enps_cells(ks_store *s, int level, const char *from, const char *to,
			int64_t **unit_ids, char (**periods)[8], gov_cell **cells, size_t *n, ks_error *e)
{
	(void)s; (void)level; (void)from; (void)to;
	*unit_ids = NULL; *periods = NULL; *cells = NULL; *n = 0;
	return ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "pulse_enps_cells: not implemented yet");
}
