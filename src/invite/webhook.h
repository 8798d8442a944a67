/* webhook.h — outgoing webhooks, signed with HMAC-SHA256.
 *
 * Owner: src/invite/webhook.c, on libcurl (easy interface) and libsodium.
 * Each call is one blocking POST: run it from a worker, never from an HTTP
 * thread. curl_global_init(CURL_GLOBAL_DEFAULT) must have run once before
 * any thread starts, as libcurl requires (curl_global_init(3)): main does
 * it through mail_global_init() (src/mail/mail.h); tests call
 * curl_global_init() in their setup. This module never calls it.
 *
 * Signing scheme (after Stripe's "Stripe-Signature", docs.stripe.com/webhooks):
 * the receiver gets
 *   X-Klantstem-Timestamp: <ts>              unix seconds, decimal
 *   X-Klantstem-Signature: sha256=<hex>      64 lower-case hex digits
 * where hex = HMAC-SHA256(key = the endpoint's secret, message = "<ts>.<body>"),
 * i.e. the decimal timestamp, one '.', then the raw request body byte for
 * byte. Binding the timestamp into the MAC lets a receiver reject replays
 * older than a few minutes; it should compare in constant time.
 */
#ifndef KS_INVITE_WEBHOOK_H
#define KS_INVITE_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define WEBHOOK_EVENT_MAX 64  /* event names: 1..64 of [A-Za-z0-9._-] */

/* HMAC-SHA256 (RFC 2104, FIPS 180-4; libsodium crypto_auth_hmacsha256, which
 * takes a key of any length) of msg under key, as 64 lower-case hex digits
 * and a NUL in out_hex. The primitive under webhook_sign(). */
void webhook_hmac_hex(const void *key, size_t keylen, const void *msg, size_t len,
                      char out_hex[65]);

/* The signature of a delivery: webhook_hmac_hex(secret, "<ts>.<body>") with
 * body the len bytes at body (not necessarily NUL-terminated). */
void webhook_sign(const char *secret, int64_t ts, const char *body, size_t len,
                  char out_hex[65]);

/* POST json_body to url with the headers
 *   Content-Type: application/json
 *   X-Klantstem-Event: <event>
 *   X-Klantstem-Timestamp: <ts>
 *   X-Klantstem-Signature: sha256=<webhook_sign(secret, ts, json_body)>
 * waiting at most timeout_s seconds (> 0) for the whole exchange.
 *
 * KS_OK for a 2xx answer. KS_ERR_IO for anything else: a non-2xx status
 * (redirects are not followed, so 3xx too) with it in *http_status, or a
 * connection failure (refused, DNS, TLS, timeout) with *http_status 0.
 * KS_ERR_INVALID, before any I/O, for a NULL argument, a url that is not
 * http:// or https://, an empty secret, an event name outside
 * WEBHOOK_EVENT_MAX's alphabet, or timeout_s <= 0; KS_ERR_NOMEM when
 * libcurl cannot allocate. detail (n bytes, may be NULL when n == 0)
 * receives a one-line human explanation, never the secret; "" on success.
 * http_status may be NULL. No argument is retained after the call. */
ks_err webhook_post(const char *url, const char *secret, const char *event,
                    const char *json_body, int64_t ts, long timeout_s, int *http_status,
                    char *detail, size_t n);

#endif
