/* auth.h — accounts, passwords, sessions, API tokens and login throttling.
 *
 * Passwords: argon2id via libsodium's crypto_pwhash_str (interactive limits,
 * 64 MiB each, so at most AUTH_MAX_HASHING run at once). Tokens: 32 random
 * bytes, url-safe base64; only their BLAKE2b-256 hash is stored; API tokens
 * expire (AUTH_TOKEN_DAYS by default, at most AUTH_TOKEN_MAX_DAYS). Sessions
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
/* API tokens live AUTH_TOKEN_DAYS days unless created with another number
 * of days, at most AUTH_TOKEN_MAX_DAYS: a leaked token stops by itself. */
#define AUTH_TOKEN_DAYS 90
#define AUTH_TOKEN_MAX_DAYS 365
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

/* Login throttling, over a window of AUTH_WINDOW seconds from the first
 * failure of a count:
 *   - AUTH_MAX_FAIL_PAIR failures of one account from one client address
 *     block that pair: a guesser is stopped, and colleagues behind the
 *     same address (a proxy, an office NAT) still log in;
 *   - AUTH_MAX_FAIL_ACCOUNT failures of one account from anywhere block the
 *     account (guessing spread over many addresses);
 *   - AUTH_MAX_FAIL_ADDR failures from one address, whatever the accounts,
 *     block the address (one client trying many accounts). Looser, because
 *     behind a proxy it is shared by everyone.
 * E-mail addresses compare without case. auth_throttle_check before
 * verifying: KS_ERR_TOO_MANY with *retry_after (may be NULL) the seconds
 * until the longest blocking window ends (0 when not blocked);
 * auth_throttle_fail after a failure; auth_throttle_ok after a success
 * (clears the pair's count; the account's and address's counts run out
 * with their window). */
#define AUTH_WINDOW (15 * 60)
#define AUTH_MAX_FAIL_PAIR 5
#define AUTH_MAX_FAIL_ACCOUNT 20
#define AUTH_MAX_FAIL_ADDR 100
ks_err auth_throttle_check(auth_ctx *a, const char *email, const char *addr, int64_t now,
			   int *retry_after, ks_error *e);
void auth_throttle_fail(auth_ctx *a, const char *email, const char *addr, int64_t now);
void auth_throttle_ok(auth_ctx *a, const char *email, const char *addr);

/* issue 18 (NODES): the throttle's counts kept outside this process (the
 * database when several nodes serve it: src/api/api_nodes.c), so that a
 * guesser spread over the nodes meets the limits of one node. Keys are the
 * throttle's hashes (no e-mail or address leaves the process in clear).
 * fail counts one failure of key at now (a new window when the last began
 * window seconds ago or more); get gives n keys' window starts and
 * failures (0 / 0 when none); clear puts a key's failures to 0. A failing
 * call is logged by the callee and counts as nothing. The first call wins;
 * later ones are ignored (set before or during use, from any thread). */
typedef struct auth_shared {
	void *arg;
	void (*fail)(void *arg, int64_t key, int64_t now, int window);
	void (*get)(void *arg, const int64_t *keys, int n, int64_t *since, int *fails);
	void (*clear)(void *arg, int64_t key);
} auth_shared;
void auth_set_shared(auth_ctx *a, const auth_shared *sh);
/* end issue 18 (NODES) */

#endif
