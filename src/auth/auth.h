/* auth.h — accounts, passwords, sessions, API tokens and login throttling.
 *
 * Passwords: argon2id via libsodium's crypto_pwhash_str (interactive limits,
 * 64 MiB each, so at most AUTH_MAX_HASHING run at once). Tokens: 32 random
 * bytes, url-safe base64; only their BLAKE2b-256 hash is stored. Sessions
 * live 12 hours; each carries its own CSRF token, which every state-changing
 * request made with the session cookie must echo in X-CSRF-Token.
 *
 * The auth_ctx is the module's only state (throttle counters and the
 * hashing gate); callers own it: auth_ctx_new / auth_ctx_free.
 */
#ifndef KS_AUTH_H
#define KS_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/clock.h"
#include "core/error.h"

#define AUTH_TOKEN_LEN 43          /* base64url of 32 bytes, no padding */
#define AUTH_HASH_HEX 64           /* BLAKE2b-256 as hex */
#define AUTH_PW_STR 128            /* crypto_pwhash_STRBYTES */
#define AUTH_SESSION_TTL (12 * 3600)
#define AUTH_MAX_HASHING 2

/* Roles, from least to most reach. */
typedef enum {
	AUTH_ROLE_NONE = 0,
	AUTH_ROLE_EMPLOYEE,
	AUTH_ROLE_TEAM_LEAD,
	AUTH_ROLE_MANAGER,
	AUTH_ROLE_DIRECTOR,
	AUTH_ROLE_ADMIN
} auth_role;

const char *auth_role_name(auth_role r);
auth_role auth_role_from_name(const char *s);  /* AUTH_ROLE_NONE when unknown */

typedef struct auth_ctx auth_ctx;
ks_err auth_ctx_new(auth_ctx **out);
void auth_ctx_free(auth_ctx *a);

/* argon2id. out receives a NUL-terminated string. Passwords are 10..1024 bytes. */
ks_err auth_password_hash(auth_ctx *a, const char *password, char out[AUTH_PW_STR], ks_error *e);
/* hash NULL: the user does not exist; takes as long and returns false. */
bool auth_password_verify(auth_ctx *a, const char *hash, const char *password);
ks_err auth_password_check(const char *password, const char *field, ks_error *e);

/* A fresh random token and the hex hash under which it is stored. */
void auth_token_new(char out[AUTH_TOKEN_LEN + 1]);
void auth_token_hash(const char *token, char out[AUTH_HASH_HEX + 1]);

/* Login throttling: at most 5 failures per e-mail and 20 per client address
 * in 15 minutes; then KS_ERR_TOO_MANY until the window has passed.
 * auth_throttle_check before verifying, auth_throttle_fail after a failure,
 * auth_throttle_ok after a success (clears the e-mail's count). */
ks_err auth_throttle_check(auth_ctx *a, const char *email, const char *addr, int64_t now, ks_error *e);
void auth_throttle_fail(auth_ctx *a, const char *email, const char *addr, int64_t now);
void auth_throttle_ok(auth_ctx *a, const char *email);

#endif
