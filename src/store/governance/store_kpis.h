/* store_kpis.h — see issue 17 (governance). Included by store.h only. */
#ifndef KS_STORE_KPIS_H
#define KS_STORE_KPIS_H

#endif
