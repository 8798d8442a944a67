/* store_pulse.h — see issue 17 (governance). Included by store.h only. */
#ifndef KS_STORE_PULSE_H
#define KS_STORE_PULSE_H

#endif
