/* webhook.c — signed outgoing webhooks. See webhook.h. */
#include "invite/webhook.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <sodium.h>

void webhook_hmac_hex(const void *key, size_t keylen, const void *msg, size_t len,
                      char out_hex[65])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out_hex, 65, mac, sizeof mac);
	sodium_memzero(&st, sizeof st);
}

void webhook_sign(const char *secret, int64_t ts, const char *body, size_t len,
                  char out_hex[65])
{
	char prefix[32];
	int plen = snprintf(prefix, sizeof prefix, "%" PRId64 ".", ts);
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	/* Streamed, so "<ts>.<body>" is never copied: same MAC as over the
	 * concatenation (the update calls only feed SHA-256 more bytes). */
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (size_t)plen);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out_hex, 65, mac, sizeof mac);
	sodium_memzero(&st, sizeof st);
}

/* ---- posting ---------------------------------------------------------- */

static void webhook_detail(char *detail, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void webhook_detail(char *detail, size_t n, const char *fmt, ...)
{
	if (detail == NULL || n == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, n, fmt, ap);
	va_end(ap);
}

static bool webhook_url_ok(const char *url)
{
	/* Schemes are case-insensitive (RFC 3986, 3.1). */
	return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static bool webhook_event_ok(const char *event)
{
	size_t len = strlen(event);
	if (len == 0 || len > WEBHOOK_EVENT_MAX)
		return false;
	for (const char *p = event; *p; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		          c == '.' || c == '_' || c == '-';
		if (!ok)
			return false;
	}
	return true;
}

static ks_err webhook_check(const char *url, const char *secret, const char *event,
                            const char *json_body, long timeout_s, char *detail, size_t n)
{
	if (url == NULL || secret == NULL || event == NULL || json_body == NULL) {
		webhook_detail(detail, n, "missing argument");
		return KS_ERR_INVALID;
	}
	if (!webhook_url_ok(url)) {
		webhook_detail(detail, n, "url must start with http:// or https://");
		return KS_ERR_INVALID;
	}
	if (secret[0] == '\0') {
		webhook_detail(detail, n, "empty webhook secret");
		return KS_ERR_INVALID;
	}
	if (!webhook_event_ok(event)) {
		webhook_detail(detail, n, "bad event name");
		return KS_ERR_INVALID;
	}
	if (timeout_s <= 0) {
		webhook_detail(detail, n, "timeout must be positive");
		return KS_ERR_INVALID;
	}
	return KS_OK;
}

static bool webhook_add(struct curl_slist **h, const char *line)
{
	struct curl_slist *t = curl_slist_append(*h, line);
	if (t == NULL)
		return false;
	*h = t;
	return true;
}

/* The request headers; NULL when out of memory. Free with curl_slist_free_all. */
static struct curl_slist *webhook_headers(const char *event, int64_t ts, const char *sig)
{
	char ev[32 + WEBHOOK_EVENT_MAX], tsl[64], sg[128];
	snprintf(ev, sizeof ev, "X-Klantstem-Event: %s", event);
	snprintf(tsl, sizeof tsl, "X-Klantstem-Timestamp: %" PRId64, ts);
	snprintf(sg, sizeof sg, "X-Klantstem-Signature: sha256=%s", sig);
	struct curl_slist *h = NULL;
	bool ok = webhook_add(&h, "Content-Type: application/json") &&
	          webhook_add(&h, "Expect:") &&  /* no "100-continue" round trip */
	          webhook_add(&h, ev) && webhook_add(&h, tsl) && webhook_add(&h, sg);
	if (ok)
		return h;
	curl_slist_free_all(h);
	return NULL;
}

/* The receiver's answer body is not needed: drop it. */
static size_t webhook_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	(void)ptr;
	(void)userdata;
	return size * nmemb;
}

static ks_err webhook_setup(CURL *c, const char *url, const char *json_body,
                            struct curl_slist *headers, long timeout_s, char *errbuf)
{
	CURLcode cc = CURLE_OK;
	/* Each call below returns CURLE_OK or an error; keep the first. */
#define WH_SET(opt, val) do { if (cc == CURLE_OK) cc = curl_easy_setopt(c, opt, val); } while (0)
	WH_SET(CURLOPT_ERRORBUFFER, errbuf);
	WH_SET(CURLOPT_URL, url);
	WH_SET(CURLOPT_PROTOCOLS_STR, "http,https");
	WH_SET(CURLOPT_FOLLOWLOCATION, 0L);
	WH_SET(CURLOPT_NOSIGNAL, 1L);  /* threads: no SIGALRM for DNS timeouts */
	WH_SET(CURLOPT_TIMEOUT, timeout_s);
	WH_SET(CURLOPT_USERAGENT, "klantstem-webhook/1");
	WH_SET(CURLOPT_HTTPHEADER, headers);
	WH_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json_body));
	WH_SET(CURLOPT_POSTFIELDS, json_body);
	WH_SET(CURLOPT_WRITEFUNCTION, webhook_discard);
#undef WH_SET
	if (cc == CURLE_OUT_OF_MEMORY)
		return KS_ERR_NOMEM;
	return cc == CURLE_OK ? KS_OK : KS_ERR_INTERNAL;
}

/* Run the transfer and classify its outcome. */
static ks_err webhook_perform(CURL *c, const char *errbuf, int *http_status, char *detail,
                              size_t n)
{
	CURLcode cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		webhook_detail(detail, n, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		if (cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL)
			return KS_ERR_INVALID;
		return cc == CURLE_OUT_OF_MEMORY ? KS_ERR_NOMEM : KS_ERR_IO;
	}
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	*http_status = (int)code;
	if (code >= 200 && code <= 299) {
		webhook_detail(detail, n, "%s", "");
		return KS_OK;
	}
	webhook_detail(detail, n, "receiver answered HTTP %ld", code);
	return KS_ERR_IO;
}

ks_err webhook_post(const char *url, const char *secret, const char *event,
                    const char *json_body, int64_t ts, long timeout_s, int *http_status,
                    char *detail, size_t n)
{
	int status_local = 0;
	if (http_status == NULL)
		http_status = &status_local;
	*http_status = 0;
	webhook_detail(detail, n, "%s", "");
	ks_err rc = webhook_check(url, secret, event, json_body, timeout_s, detail, n);
	if (rc)
		return rc;

	char sig[65];
	webhook_sign(secret, ts, json_body, strlen(json_body), sig);
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = webhook_headers(event, ts, sig);
	CURL *c = curl_easy_init();
	if (headers == NULL || c == NULL) {
		webhook_detail(detail, n, "out of memory");
		rc = KS_ERR_NOMEM;
		goto out;
	}
	rc = webhook_setup(c, url, json_body, headers, timeout_s, errbuf);
	if (rc) {
		webhook_detail(detail, n, "could not set up the request");
		goto out;
	}
	rc = webhook_perform(c, errbuf, http_status, detail, n);
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	return rc;
}
