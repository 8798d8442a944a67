/* store_digest.h — see issue 17 (governance). Included by store.h only. */
#ifndef KS_STORE_DIGEST_H
#define KS_STORE_DIGEST_H

#endif
