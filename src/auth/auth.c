/* auth.c — see auth.h. */
#include "auth/auth.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define AUTH_SLOTS 1024
#define AUTH_PROBES 16

typedef struct auth_slot {
	uint64_t key;       /* hash of the kind and the e-mail and/or address; 0 = free */
	int64_t since;      /* start of the current window */
	int fails;
} auth_slot;

struct auth_ctx {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int hashing;        /* argon2id runs in progress */
	char dummy[AUTH_PW_STR];  /* a real hash of nothing, for unknown users */
	auth_slot pairs[AUTH_SLOTS];   /* failures by account + client address */
	auth_slot emails[AUTH_SLOTS];  /* failures by account, from anywhere */
	auth_slot addrs[AUTH_SLOTS];   /* failures by client address, any account */
	auth_shared shared;            /* issue 18 (NODES): counts elsewhere when shared.get */
};

static const char *const auth_roles[] = {"", "employee", "team_lead", "manager", "director", "admin"};

const char *auth_role_name(auth_role r)
{
	return r > AUTH_ROLE_NONE && r <= AUTH_ROLE_ADMIN ? auth_roles[r] : "";
}

auth_role auth_role_from_name(const char *s)
{
	for (int r = AUTH_ROLE_EMPLOYEE; s && r <= AUTH_ROLE_ADMIN; r++)
		if (strcmp(auth_roles[r], s) == 0)
			return (auth_role)r;
	return AUTH_ROLE_NONE;
}

ks_err auth_ctx_new(auth_ctx **out)
{
	if (sodium_init() < 0)
		return KS_ERR_INTERNAL;
	auth_ctx *a = calloc(1, sizeof *a);
	if (a == NULL)
		return KS_ERR_NOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	*out = a;
	return KS_OK;
}

void auth_ctx_free(auth_ctx *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}

/* ---- passwords -------------------------------------------------------------- */

ks_err auth_password_check(const char *password, const char *field, ks_error *e)
{
	size_t n = password ? strlen(password) : 0;
	if (n < 10)
		return ks_fail(e, KS_ERR_INVALID, field, "a password needs at least 10 characters");
	if (n > 1024)
		return ks_fail(e, KS_ERR_RANGE, field, "a password may have at most 1024 bytes");
	return KS_OK;
}

/* Each argon2id computation takes 64 MiB: a gate keeps a burst of logins
 * from exhausting memory. */
static void auth_gate_enter(auth_ctx *a)
{
	pthread_mutex_lock(&a->mu);
	while (a->hashing >= AUTH_MAX_HASHING)
		pthread_cond_wait(&a->cv, &a->mu);
	a->hashing++;
	pthread_mutex_unlock(&a->mu);
}

static void auth_gate_leave(auth_ctx *a)
{
	pthread_mutex_lock(&a->mu);
	a->hashing--;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

ks_err auth_password_hash(auth_ctx *a, const char *password, char out[AUTH_PW_STR], ks_error *e)
{
	ks_err err = auth_password_check(password, "password", e);
	if (err)
		return err;
	auth_gate_enter(a);
	int rc = crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				   crypto_pwhash_MEMLIMIT_INTERACTIVE);
	auth_gate_leave(a);
	return rc == 0 ? KS_OK : ks_fail(e, KS_ERR_NOMEM, NULL, "cannot hash the password");
}

/* A login for an unknown address verifies against a real hash too, so the
 * answer takes as long as for a known one: timing must not reveal which
 * addresses have accounts. */
static const char *auth_dummy(auth_ctx *a)
{
	pthread_mutex_lock(&a->mu);
	if (a->dummy[0] == '\0') {
		char pw[AUTH_TOKEN_LEN + 1];
		auth_token_new(pw);
		if (crypto_pwhash_str(a->dummy, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
			a->dummy[0] = '\0'; /* out of memory: the next call tries again */
	}
	pthread_mutex_unlock(&a->mu);
	return a->dummy;
}

bool auth_password_verify(auth_ctx *a, const char *hash, const char *password)
{
	if (password == NULL || strlen(password) > 1024)
		return false;
	if (hash == NULL) {
		auth_gate_enter(a);
		bool same = crypto_pwhash_str_verify(auth_dummy(a), password, strlen(password)) == 0;
		auth_gate_leave(a);
		(void)same; /* a random password: never the same, and never a login */
		return false;
	}
	auth_gate_enter(a);
	bool ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	auth_gate_leave(a);
	return ok;
}

/* ---- tokens --------------------------------------------------------------------- */

void auth_token_new(char out[AUTH_TOKEN_LEN + 1])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out, AUTH_TOKEN_LEN + 1, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void auth_token_hash(const char *token, char out[AUTH_HASH_HEX + 1])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(out, AUTH_HASH_HEX + 1, h, sizeof h);
}

/* ---- throttling ------------------------------------------------------------------ */

/* FNV-1a 64 of kind, lower-cased a, a separator and lower-cased b (e-mail
 * addresses compare without case). */
static uint64_t auth_key(char kind, const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL;
	h = (h ^ (unsigned char)kind) * 1099511628211ULL;
	for (const char *p = a ? a : ""; *p; p++)
		h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 1099511628211ULL;
	h = (h ^ 0xffu) * 1099511628211ULL; /* no byte of text: "ab"+"c" is not "a"+"bc" */
	for (const char *p = b ? b : ""; *p; p++)
		h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 1099511628211ULL;
	return h ? h : 1;
}

static bool auth_slot_free(const auth_slot *s, int64_t now)
{
	return s->key == 0 || now - s->since >= AUTH_WINDOW;
}

/* The live slot of key in table t, or NULL. Looking never creates: a
 * flood of fresh e-mail addresses must not push out the counts that block
 * an attacker. */
static auth_slot *auth_slot_find(auth_slot *t, uint64_t key, int64_t now)
{
	for (size_t i = 0, j = key % AUTH_SLOTS; i < AUTH_PROBES; i++, j = (j + 1) % AUTH_SLOTS)
		if (t[j].key == key)
			return auth_slot_free(&t[j], now) ? NULL : &t[j];
	return NULL;
}

/* Count one failure for key. A new key takes a free or expired slot, else
 * the one with the fewest failures: blocking counts are the last to go. */
static void auth_slot_fail(auth_slot *t, uint64_t key, int64_t now)
{
	auth_slot *pick = NULL;
	for (size_t i = 0, j = key % AUTH_SLOTS; i < AUTH_PROBES; i++, j = (j + 1) % AUTH_SLOTS) {
		auth_slot *s = &t[j];
		if (s->key == key) {
			if (auth_slot_free(s, now)) {
				s->since = now;
				s->fails = 0;
			}
			s->fails++;
			return;
		}
		if (pick != NULL && auth_slot_free(pick, now))
			continue;
		if (pick == NULL || auth_slot_free(s, now) || s->fails < pick->fails)
			pick = s;
	}
	pick->key = key;
	pick->since = now;
	pick->fails = 1;
}

/* Seconds until the slot's window ends (at least 1), or 0 when the slot
 * does not block at limit. */
static int auth_slot_wait(const auth_slot *s, int limit, int64_t now)
{
	if (s == NULL || s->fails < limit)
		return 0;
	int64_t left = s->since + AUTH_WINDOW - now;
	return left > 0 ? (int)left : 1;
}

static ks_err auth_throttle_answer(int pair, int account, int address, int *retry_after, ks_error *e);

/* issue 18 (NODES) */
void auth_set_shared(auth_ctx *a, const auth_shared *sh)
{
	pthread_mutex_lock(&a->mu);
	if (a->shared.get == NULL)
		a->shared = *sh;
	pthread_mutex_unlock(&a->mu);
}

static bool auth_shared_get(auth_ctx *a, auth_shared *out)
{
	pthread_mutex_lock(&a->mu);
	*out = a->shared;
	pthread_mutex_unlock(&a->mu);
	return out->get != NULL;
}

/* The three keys of a login: pair, account, address. */
static void auth_keys(const char *email, const char *addr, int64_t keys[3])
{
	keys[0] = (int64_t)auth_key('p', email, addr);
	keys[1] = (int64_t)auth_key('e', email, NULL);
	keys[2] = (int64_t)auth_key('a', addr, NULL);
}
/* end issue 18 (NODES) */

ks_err auth_throttle_check(auth_ctx *a, const char *email, const char *addr, int64_t now,
			   int *retry_after, ks_error *e)
{
	auth_shared sh;
	int pair, account, address;
	if (auth_shared_get(a, &sh)) { /* issue 18 (NODES): the counts of every node */
		int64_t keys[3], since[3];
		int fails[3];
		auth_keys(email, addr, keys);
		sh.get(sh.arg, keys, 3, since, fails);
		auth_slot sl[3];
		for (int i = 0; i < 3; i++)
			sl[i] = (auth_slot){.key = (uint64_t)keys[i], .since = since[i], .fails = fails[i]};
		pair = auth_slot_wait(auth_slot_free(&sl[0], now) ? NULL : &sl[0], AUTH_MAX_FAIL_PAIR, now);
		account = auth_slot_wait(auth_slot_free(&sl[1], now) ? NULL : &sl[1], AUTH_MAX_FAIL_ACCOUNT, now);
		address = auth_slot_wait(auth_slot_free(&sl[2], now) ? NULL : &sl[2], AUTH_MAX_FAIL_ADDR, now);
		return auth_throttle_answer(pair, account, address, retry_after, e);
	}
	pthread_mutex_lock(&a->mu);
	pair = auth_slot_wait(auth_slot_find(a->pairs, auth_key('p', email, addr), now),
				  AUTH_MAX_FAIL_PAIR, now);
	account = auth_slot_wait(auth_slot_find(a->emails, auth_key('e', email, NULL), now),
				 AUTH_MAX_FAIL_ACCOUNT, now);
	address = auth_slot_wait(auth_slot_find(a->addrs, auth_key('a', addr, NULL), now),
				 AUTH_MAX_FAIL_ADDR, now);
	pthread_mutex_unlock(&a->mu);
	return auth_throttle_answer(pair, account, address, retry_after, e);
}

/* The answer to a check from the three counts' waits (seconds, 0 = not
 * blocking). */
static ks_err auth_throttle_answer(int pair, int account, int address, int *retry_after, ks_error *e)
{
	int wait = pair > account ? pair : account;
	wait = wait > address ? wait : address;
	if (retry_after)
		*retry_after = wait;
	if (wait == 0)
		return KS_OK;
	int minutes = (wait + 59) / 60;
	const char *why = pair ? "for this account from your address"
			  : account ? "for this account" : "from your address";
	return ks_fail(e, KS_ERR_TOO_MANY, NULL, "too many failed logins %s; try again in %d minute%s", why,
		       minutes, minutes == 1 ? "" : "s");
}

void auth_throttle_fail(auth_ctx *a, const char *email, const char *addr, int64_t now)
{
	auth_shared sh;
	if (auth_shared_get(a, &sh)) { /* issue 18 (NODES) */
		int64_t keys[3];
		auth_keys(email, addr, keys);
		for (int i = 0; i < 3; i++)
			sh.fail(sh.arg, keys[i], now, AUTH_WINDOW);
		return;
	}
	pthread_mutex_lock(&a->mu);
	auth_slot_fail(a->pairs, auth_key('p', email, addr), now);
	auth_slot_fail(a->emails, auth_key('e', email, NULL), now);
	auth_slot_fail(a->addrs, auth_key('a', addr, NULL), now);
	pthread_mutex_unlock(&a->mu);
}

void auth_throttle_ok(auth_ctx *a, const char *email, const char *addr)
{
	auth_shared sh;
	if (auth_shared_get(a, &sh)) { /* issue 18 (NODES) */
		sh.clear(sh.arg, (int64_t)auth_key('p', email, addr));
		return;
	}
	pthread_mutex_lock(&a->mu);
	uint64_t key = auth_key('p', email, addr);
	for (size_t i = 0, j = key % AUTH_SLOTS; i < AUTH_PROBES; i++, j = (j + 1) % AUTH_SLOTS)
		if (a->pairs[j].key == key)
			a->pairs[j].fails = 0;
	pthread_mutex_unlock(&a->mu);
}
