/* poll.c — see poll.h; the design is docs/POLLERS.md.
 *
 * A run of one feed: build the first page's URL (the feed's URL with the
 * format's "since" parameter at cursor - POLL_OVERLAP_S when there is a
 * cursor), fetch it, parse it with mentions_parse, store it with
 * store_feed_page, find the next page's URL in the body (format by format),
 * and go on until there is none. The last page's store call also moves the
 * cursor to the largest updated_at the run stored. A failure on any page
 * ends the run as failed (pages stored so far stay: they are correct, and
 * the cursor did not move); the feed is tried again after a backoff.
 */
#include "mentions/poll.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "core/utf8.h"
#include "mentions/mentions.h"

/* ---- pure rules ------------------------------------------------------------ */

int64_t poll_backoff_s(int64_t failures, int64_t interval_s, int64_t retry_after_s)
{
	int64_t cap = interval_s > 0 && interval_s < POLL_BACKOFF_MAX_S / 8 ? interval_s * 8 : POLL_BACKOFF_MAX_S;
	int64_t d = POLL_BACKOFF_FIRST_S;
	for (int64_t i = 1; i < failures && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (retry_after_s > d)
		d = retry_after_s < POLL_BACKOFF_MAX_S ? retry_after_s : POLL_BACKOFF_MAX_S;
	return d;
}

/* How a format is fetched: its "since" query parameter (NULL: the source
 * has none; paging stops at the first page older than the cursor instead),
 * how the time is written, and where the next page's link is. */
typedef enum { POLL_NEXT_NONE, POLL_NEXT_TRUSTPILOT, POLL_NEXT_GOOGLE, POLL_NEXT_LINKS } poll_next_kind;
typedef enum { POLL_TIME_ISO_Z, POLL_TIME_ISO_LOCAL, POLL_TIME_ISO_OFFSET } poll_time_style;
typedef struct poll_format {
	const char *name;
	const char *since_param;
	poll_time_style style;
	poll_next_kind next;
	const char *accept;
	/* sources without a since filter: the order parameter set in the
	 * first URL (newest first), so that the run may stop at a page older
	 * than the cursor (still only when the page is in that order) */
	const char *order_param, *order_value;
} poll_format;

static const poll_format poll_formats[] = {
	/* Trustpilot business-units reviews: startDateTime (UTC, no zone
	 * suffix), links [{"rel":"next-page","href":...}] */
	{"trustpilot", "startDateTime", POLL_TIME_ISO_LOCAL, POLL_NEXT_TRUSTPILOT, "application/json", NULL, NULL},
	/* Google Business Profile reviews: no time filter; newest first when
	 * the URL asks orderBy=updateTime desc; nextPageToken -> pageToken */
	{"google", NULL, POLL_TIME_ISO_Z, POLL_NEXT_GOOGLE, "application/json", "orderBy", "updateTime desc"},
	/* Kiyoh / Klantenvertellen publication feed: updatedSince, one page
	 * (its limit is part of the configured URL) */
	{"kiyoh", "updatedSince", POLL_TIME_ISO_OFFSET, POLL_NEXT_NONE, "application/xml, text/xml", NULL, NULL},
	/* App Store Connect customerReviews (JSON:API): no time filter; newest
	 * first with sort=-createdDate in the URL; links.next */
	{"appstore", NULL, POLL_TIME_ISO_Z, POLL_NEXT_LINKS, "application/json", "sort", "-createdDate"},
	/* a social export endpoint, and the generic layouts: since=, links.next,
	 * next or paging.next */
	{"social", "since", POLL_TIME_ISO_Z, POLL_NEXT_LINKS, "application/json", NULL, NULL},
	/* one bare array (mentions_parse refuses an object for generic-json):
	 * one request, no next page */
	{"generic-json", "since", POLL_TIME_ISO_Z, POLL_NEXT_NONE, "application/json", NULL, NULL},
	{"generic-csv", "since", POLL_TIME_ISO_Z, POLL_NEXT_NONE, "text/csv", NULL, NULL},
};

static const poll_format *poll_format_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof poll_formats / sizeof poll_formats[0]; i++)
		if (strcmp(poll_formats[i].name, name) == 0)
			return &poll_formats[i];
	return NULL;
}

bool poll_format_ok(const char *format)
{
	return poll_format_find(format) != NULL && mentions_format_known(format);
}

/* The scheme and host of url (lower case) into out: "https://host:port". */
static bool poll_origin(const char *url, char *out, size_t n)
{
	CURLU *h = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	bool ok = h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		  curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		  curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
	if (ok) {
		snprintf(out, n, "%s://%s:%s", scheme, host, port);
		for (char *p = out; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(h);
	return ok;
}

ks_err poll_url_check(const char *url, const char *field, ks_error *e)
{
	if (url == NULL || url[0] == '\0')
		return ks_fail(e, KS_ERR_INVALID, field, "%s is required (an http:// or https:// URL)", field);
	if (strlen(url) > STORE_FEED_URL_MAX)
		return ks_fail(e, KS_ERR_INVALID, field, "%s is longer than %d bytes", field, STORE_FEED_URL_MAX);
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return ks_fail(e, KS_ERR_INVALID, field, "%s must start with http:// or https://", field);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return ks_fail(e, KS_ERR_INVALID, field, "%s must not hold spaces or control characters",
				       field);
	CURLU *h = curl_url();
	if (h == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	char *host = NULL, *user = NULL;
	ks_err err = KS_OK;
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
		err = ks_fail(e, KS_ERR_INVALID, field, "%s is not a valid URL with a host", field);
	else if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK)
		err = ks_fail(e, KS_ERR_INVALID, field,
			      "%s must not carry a user or password: put credentials in auth_header", field);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(h);
	return err;
}

ks_err poll_auth_header_check(const char *h, const char *field, ks_error *e)
{
	if (strlen(h) > STORE_FEED_AUTH_MAX)
		return ks_fail(e, KS_ERR_INVALID, field, "%s is longer than %d bytes", field, STORE_FEED_AUTH_MAX);
	const char *colon = strchr(h, ':');
	if (colon == NULL || colon == h)
		return ks_fail(e, KS_ERR_INVALID, field, "%s must be one header line \"Name: value\"", field);
	for (const char *p = h; p < colon; p++)
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL)
			return ks_fail(e, KS_ERR_INVALID, field, "%s: the header name has a character a name may "
				       "not have", field);
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '\0')
		return ks_fail(e, KS_ERR_INVALID, field, "%s has no value", field);
	for (const char *p = v; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return ks_fail(e, KS_ERR_INVALID, field, "%s must be one line without control characters",
				       field);
	return KS_OK;
}

/* ---- the poller ------------------------------------------------------------ */

struct mention_poller {
	ks_store *store;
	const ks_clock *clock;
	poll_config cfg;
	atomic_bool stopping;        /* read by curl's progress callback */
	pthread_mutex_t run_mu;      /* one run at a time */
	pthread_mutex_t mu;          /* the thread's sleep */
	pthread_cond_t cv;
	bool background;
	pthread_t thread;
	/* "run now" requests that found a run in progress, for the thread
	 * (under mu; ids, no duplicates) */
	int64_t queue[POLL_QUEUE_MAX];
	int n_queue;
};

void poll_config_default(poll_config *c, const char *version)
{
	memset(c, 0, sizeof *c);
	snprintf(c->user_agent, sizeof c->user_agent, "klantstem/%s", version ? version : "0");
	c->connect_timeout_s = 10;
	c->timeout_s = 60;
}

static void poll_note(poll_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void poll_note(poll_result *r, const char *fmt, ...)
{
	/* cut at a character boundary: a note can quote a URL longer than
	 * r->error, raw UTF-8 as a Location header had it, and a character cut
	 * in two is no JSON string (the feed's last_error, the run's error) */
	char whole[sizeof r->error + 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(whole, sizeof whole, fmt, ap);
	va_end(ap);
	utf8_copy(r->error, sizeof r->error, whole);
}

/* One page's response. */
typedef struct poll_body {
	char *data;
	size_t len, cap;
	bool too_big;
	char etag[256], last_modified[64];
} poll_body;

static size_t poll_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	poll_body *b = userdata;
	size_t n = size * nmemb;
	if (n > POLL_MAX_BODY - b->len) {
		b->too_big = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (d == NULL)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Keep the validators of the response (each new status line starts over). */
static size_t poll_header(char *ptr, size_t size, size_t nitems, void *userdata)
{
	poll_body *b = userdata;
	size_t n = size * nitems;
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		b->etag[0] = b->last_modified[0] = '\0';
		return n;
	}
	const char *names[] = {"etag:", "last-modified:"};
	char *outs[] = {b->etag, b->last_modified};
	size_t sizes[] = {sizeof b->etag, sizeof b->last_modified};
	for (int i = 0; i < 2; i++) {
		size_t k = strlen(names[i]);
		if (n <= k || strncasecmp(ptr, names[i], k) != 0)
			continue;
		const char *v = ptr + k;
		size_t vl = n - k;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl < sizes[i])
			snprintf(outs[i], sizes[i], "%.*s", (int)vl, v);
	}
	return n;
}

/* Called by curl at least about once a second, also while it waits:
 * returning non-zero aborts the transfer (shutdown). */
static int poll_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	mention_poller *p = clientp;
	return atomic_load(&p->stopping) ? 1 : 0;
}

static bool poll_add(struct curl_slist **h, const char *line)
{
	struct curl_slist *t = curl_slist_append(*h, line);
	if (t == NULL)
		return false;
	*h = t;
	return true;
}

/* The request headers of a page; NULL when out of memory. */
/* validators: send the stored ETag / Last-Modified (see poll_validators). */
static struct curl_slist *poll_headers(const store_feed *f, const poll_format *fmt, bool validators, bool auth)
{
	struct curl_slist *h = NULL;
	char line[STORE_FEED_AUTH_MAX + 64];
	snprintf(line, sizeof line, "Accept: %s", fmt->accept);
	bool ok = poll_add(&h, line);
	if (ok && auth && f->auth_header[0])
		ok = poll_add(&h, f->auth_header);
	if (ok && validators && f->etag[0]) {
		snprintf(line, sizeof line, "If-None-Match: %s", f->etag);
		ok = poll_add(&h, line);
	}
	if (ok && validators && f->last_modified[0]) {
		snprintf(line, sizeof line, "If-Modified-Since: %s", f->last_modified);
		ok = poll_add(&h, line);
	}
	if (ok)
		return h;
	curl_slist_free_all(h);
	return NULL;
}

typedef struct poll_fetch {
	long status;
	int64_t retry_after_s;
	bool stopped;
} poll_fetch;

/* ---- where a request may connect ------------------------------------------ */

/* Is a an address of this host or its networks: loopback, link-local
 * (169.254/16, fe80::/10: cloud metadata), RFC 1918, CGNAT 100.64/10,
 * 0/8, unique-local fc00::/7, ::, or an IPv4-mapped one of those? */
static bool poll_addr_private(const struct sockaddr *a)
{
	const unsigned char *b = NULL;
	if (a->sa_family == AF_INET) {
		b = (const unsigned char *)&((const struct sockaddr_in *)(const void *)a)->sin_addr;
	} else if (a->sa_family == AF_INET6) {
		const unsigned char *v6 = ((const struct sockaddr_in6 *)(const void *)a)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		static const unsigned char zero[15] = {0};
		if (memcmp(v6, mapped, 12) == 0)
			b = v6 + 12;
		else
			return (memcmp(v6, zero, 15) == 0 && v6[15] <= 1) ||      /* :: and ::1 */
			       (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80) ||        /* fe80::/10 */
			       (v6[0] & 0xfe) == 0xfc;                             /* fc00::/7 */
	} else {
		return true; /* not an internet address: never a feed */
	}
	return b[0] == 0 || b[0] == 10 || b[0] == 127 || (b[0] == 169 && b[1] == 254) ||
	       (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
	       (b[0] == 100 && (b[1] & 0xc0) == 64);
}

/* One exchange's connection rule (curl's open-socket callback). */
typedef struct poll_sock {
	const poll_config *cfg;
	bool private_ok;        /* this request may connect to a private address */
	bool opened_private;    /* it did */
	bool refused;
	char addr[INET6_ADDRSTRLEN];
} poll_sock;

/* Checked on the address curl is about to connect to (after DNS: a name
 * that resolves to 10.x is caught as well as a literal one). */
static curl_socket_t poll_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	poll_sock *ps = clientp;
	(void)purpose;
	const struct sockaddr *sa = &a->addr;
	const void *in = sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr
						  : (const void *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
		snprintf(ps->addr, sizeof ps->addr, "?");
	else if (inet_ntop(sa->sa_family, in, ps->addr, sizeof ps->addr) == NULL)
		snprintf(ps->addr, sizeof ps->addr, "?");
	bool priv = poll_addr_private(sa) &&
		    !(ps->cfg->test_public[0] && strcmp(ps->cfg->test_public, ps->addr) == 0);
	if (priv && !ps->private_ok && !ps->cfg->allow_private && ps->cfg->proxy[0] == '\0') {
		ps->refused = true;
		return CURL_SOCKET_BAD;
	}
	ps->opened_private = ps->opened_private || priv;
	return socket(a->family, a->socktype, a->protocol);
}

static ks_err poll_setopts(mention_poller *p, CURL *c, const char *url, struct curl_slist *headers,
			   poll_body *b, poll_sock *ps, char *errbuf)
{
	CURLcode cc = CURLE_OK;
#define PL_SET(opt, val) do { if (cc == CURLE_OK) cc = curl_easy_setopt(c, opt, val); } while (0)
	PL_SET(CURLOPT_ERRORBUFFER, errbuf);
	PL_SET(CURLOPT_URL, url);
	PL_SET(CURLOPT_PROTOCOLS_STR, "http,https");
	/* Redirects are followed by poll_get itself: it drops the secret
	 * header when a redirect leaves the feed's origin. */
	PL_SET(CURLOPT_FOLLOWLOCATION, 0L);
	PL_SET(CURLOPT_NOSIGNAL, 1L);
	PL_SET(CURLOPT_CONNECTTIMEOUT, p->cfg.connect_timeout_s);
	PL_SET(CURLOPT_TIMEOUT, p->cfg.timeout_s);
	PL_SET(CURLOPT_SSL_VERIFYPEER, 1L);
	PL_SET(CURLOPT_SSL_VERIFYHOST, 2L);
	PL_SET(CURLOPT_USERAGENT, p->cfg.user_agent);
	PL_SET(CURLOPT_HTTPHEADER, headers);
	PL_SET(CURLOPT_ACCEPT_ENCODING, "");  /* gzip/deflate when the server offers them */
	PL_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)POLL_MAX_BODY);
	PL_SET(CURLOPT_WRITEFUNCTION, poll_write);
	PL_SET(CURLOPT_WRITEDATA, b);
	PL_SET(CURLOPT_HEADERFUNCTION, poll_header);
	PL_SET(CURLOPT_HEADERDATA, b);
	PL_SET(CURLOPT_XFERINFOFUNCTION, poll_progress);
	PL_SET(CURLOPT_XFERINFODATA, p);
	PL_SET(CURLOPT_NOPROGRESS, 0L);
	/* no proxy from the environment (http_proxy would see the secret
	 * header of a plain-http feed): only serve --feed-proxy's */
	PL_SET(CURLOPT_PROXY, p->cfg.proxy);
	PL_SET(CURLOPT_OPENSOCKETFUNCTION, poll_opensocket);
	PL_SET(CURLOPT_OPENSOCKETDATA, ps);
#undef PL_SET
	if (cc == CURLE_OUT_OF_MEMORY)
		return KS_ERR_NOMEM;
	return cc == CURLE_OK ? KS_OK : KS_ERR_INTERNAL;
}

static bool poll_is_redirect(long st)
{
	return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

/* One exchange (no redirects): the body into b, the status into *fx. false
 * with r->error set when it failed below HTTP. */
static bool poll_exchange(mention_poller *p, CURL *c, const store_feed *f, const poll_format *fmt,
			  const char *url, bool validators, bool auth, poll_body *b, poll_fetch *fx,
			  poll_sock *ps, poll_result *r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = poll_headers(f, fmt, validators, auth);
	curl_easy_reset(c);
	b->len = 0;
	b->too_big = false;
	if (headers == NULL || poll_setopts(p, c, url, headers, b, ps, errbuf) != KS_OK) {
		curl_slist_free_all(headers);
		poll_note(r, "cannot set up the request (out of memory?)");
		return false;
	}
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(headers);
	long st = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	fx->status = st;
	r->status = st;
	if (cc == CURLE_ABORTED_BY_CALLBACK && atomic_load(&p->stopping)) {
		fx->stopped = true;
		poll_note(r, "stopped: the server is shutting down");
		return false;
	}
	if (ps->refused) {
		poll_note(r, "refused to connect to %s (a private address) for %s: a redirect from the feed's own "
			  "host may not lead into the local network (docs/POLLERS.md)", ps->addr, url);
		return false;
	}
	if (b->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		poll_note(r, "the response is larger than %u MiB", POLL_MAX_BODY >> 20);
		return false;
	}
	if (cc != CURLE_OK) {
		poll_note(r, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return false;
	}
	curl_off_t ra = -1;
	if ((st == 429 || st == 503) && curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
		fx->retry_after_s = (int64_t)ra;
	return true;
}

/* GET url, following up to POLL_MAX_REDIRECTS http(s) redirects; the
 * secret header goes only to the feed's own origin. true with fx->status
 * set when an HTTP answer came (any status). */
static bool poll_get(mention_poller *p, CURL *c, const store_feed *f, const poll_format *fmt,
		     const char *url, bool validators, poll_body *b, poll_fetch *fx, char *final_url,
		     bool *origin_private, poll_result *r)
{
	char origin[512] = "", here[STORE_FEED_URL_MAX + 1], o2[512];
	poll_origin(f->url, origin, sizeof origin);
	snprintf(here, sizeof here, "%s", url);
	for (int hop = 0;; hop++) {
		bool own = poll_origin(here, o2, sizeof o2) && strcmp(o2, origin) == 0;
		/* The feed's own host may be internal (the admin configured
		 * it); another host, reached by a redirect, may be only when
		 * the feed's own host is internal too: a public feed cannot
		 * point the poller at 169.254.169.254 or the intranet. */
		poll_sock ps = {.cfg = &p->cfg, .private_ok = own || *origin_private};
		bool ok = poll_exchange(p, c, f, fmt, here, validators, own, b, fx, &ps, r);
		if (own && ps.opened_private)
			*origin_private = true;
		if (!ok)
			return false;
		if (!poll_is_redirect(fx->status)) {
			/* a relative next link is relative to where the page came from */
			snprintf(final_url, STORE_FEED_URL_MAX + 1, "%s", here);
			return true;
		}
		char *loc = NULL;
		if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || loc == NULL) {
			poll_note(r, "HTTP %ld without a Location", fx->status);
			return false;
		}
		if (hop >= POLL_MAX_REDIRECTS) {
			poll_note(r, "more than %d redirects", POLL_MAX_REDIRECTS);
			return false;
		}
		if (strncasecmp(loc, "http://", 7) != 0 && strncasecmp(loc, "https://", 8) != 0) {
			poll_note(r, "a redirect to a scheme other than http or https");
			return false;
		}
		if (strlen(loc) > STORE_FEED_URL_MAX) {
			poll_note(r, "a redirect to a URL over %d bytes", STORE_FEED_URL_MAX);
			return false;
		}
		snprintf(here, sizeof here, "%s", loc);
	}
}

/* ---- URLs: the since parameter and the next page ------------------------- */

/* url with the query parameter name set to value (any earlier one of that
 * name removed) into out. */
static bool poll_url_param(const char *url, const char *name, const char *value, char *out, size_t n)
{
	CURLU *h = curl_url();
	char *q = NULL, *res = NULL;
	bool ok = h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK;
	if (ok && curl_url_get(h, CURLUPART_QUERY, &q, 0) == CURLUE_OK && q) {
		/* keep every pair but name's */
		size_t nl = strlen(name);
		char *kept = calloc(strlen(q) + 1, 1);
		ok = kept != NULL;
		for (char *s = q; ok && *s;) {
			char *amp = strchr(s, '&');
			size_t len = amp ? (size_t)(amp - s) : strlen(s);
			bool drop = len >= nl && strncmp(s, name, nl) == 0 && (len == nl || s[nl] == '=');
			if (!drop && len) {
				if (kept[0])
					strcat(kept, "&");
				strncat(kept, s, len);
			}
			s += len + (amp ? 1 : 0);
		}
		if (ok)
			ok = curl_url_set(h, CURLUPART_QUERY, kept[0] ? kept : NULL, 0) == CURLUE_OK;
		free(kept);
	}
	/* a Google page token can be long: never cut it (the URL's length is
	 * checked below) */
	size_t pn = strlen(name) + strlen(value) + 2;
	char *pair = ok ? malloc(pn) : NULL;
	ok = ok && pair != NULL;
	if (ok) {
		snprintf(pair, pn, "%s=%s", name, value);
		ok = curl_url_set(h, CURLUPART_QUERY, pair, CURLU_APPENDQUERY | CURLU_URLENCODE) == CURLUE_OK;
	}
	free(pair);
	if (ok)
		ok = curl_url_get(h, CURLUPART_URL, &res, 0) == CURLUE_OK && strlen(res) < n;
	if (ok)
		snprintf(out, n, "%s", res);
	curl_free(q);
	curl_free(res);
	curl_url_cleanup(h);
	return ok;
}

static void poll_since_text(int64_t t, poll_time_style style, char *out, size_t n)
{
	char iso[32];
	clock_format_iso(t, iso, sizeof iso); /* YYYY-MM-DDTHH:MM:SSZ */
	if (style == POLL_TIME_ISO_LOCAL)
		snprintf(out, n, "%.19s", iso);
	else if (style == POLL_TIME_ISO_OFFSET)
		snprintf(out, n, "%.19s.000+00:00", iso);
	else
		snprintf(out, n, "%s", iso);
}

/* A link found in a page, resolved against the page's URL, into out. It
 * must stay on the feed's origin: a feed's answer cannot send the poller
 * (and its secret header) elsewhere. */
static bool poll_resolve(const store_feed *f, const char *page_url, const char *link, char *out, size_t n,
			 poll_result *r)
{
	CURLU *h = curl_url();
	char *res = NULL;
	bool ok = h && curl_url_set(h, CURLUPART_URL, page_url, 0) == CURLUE_OK &&
		  curl_url_set(h, CURLUPART_URL, link, 0) == CURLUE_OK &&
		  curl_url_get(h, CURLUPART_URL, &res, 0) == CURLUE_OK && strlen(res) < n;
	if (ok)
		snprintf(out, n, "%s", res);
	curl_free(res);
	curl_url_cleanup(h);
	char o1[512], o2[512];
	if (!ok)
		poll_note(r, "the next page's link is not a usable URL");
	else if (!poll_origin(f->url, o1, sizeof o1) || !poll_origin(out, o2, sizeof o2) || strcmp(o1, o2) != 0)
		ok = false, poll_note(r, "the next page's link leaves the feed's host");
	return ok;
}

static const char *poll_jstr(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	if (b)
		v = json_object_get(v, b);
	const char *s = json_string_value(v);
	return s && s[0] ? s : NULL;
}

/* The next page's URL of a JSON page into out ("" = none). false with
 * r->error when the link is unusable. */
static bool poll_next(const store_feed *f, const poll_format *fmt, const char *first_url, const char *page_url,
		      const poll_body *b, char *out, size_t n, poll_result *r)
{
	out[0] = '\0';
	if (fmt->next == POLL_NEXT_NONE)
		return true;
	json_t *doc = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return true; /* a bare array (or JSON Lines): one page */
	}
	const char *link = NULL, *token = NULL;
	if (fmt->next == POLL_NEXT_TRUSTPILOT) {
		json_t *links = json_object_get(doc, "links"), *l;
		size_t i;
		json_array_foreach(links, i, l) {
			const char *rel = json_string_value(json_object_get(l, "rel"));
			if (rel && strcmp(rel, "next-page") == 0)
				link = poll_jstr(l, "href", NULL);
		}
	} else if (fmt->next == POLL_NEXT_GOOGLE) {
		token = poll_jstr(doc, "nextPageToken", NULL);
	} else {
		link = poll_jstr(doc, "links", "next");
		if (link == NULL)
			link = poll_jstr(doc, "next", NULL);
		if (link == NULL)
			link = poll_jstr(doc, "paging", "next");
	}
	bool ok = true;
	if (token && !poll_url_param(first_url, "pageToken", token, out, n)) {
		out[0] = '\0';
		ok = false;
		poll_note(r, "the next page token (%zu bytes) makes a URL over %d bytes", strlen(token),
			  STORE_FEED_URL_MAX);
	} else if (link) {
		ok = poll_resolve(f, page_url, link, out, n, r);
		if (!ok)
			out[0] = '\0';
	}
	json_decref(doc);
	return ok;
}

/* ---- one run --------------------------------------------------------------- */

typedef struct poll_run {
	mention_poller *p;
	const store_feed *f;
	const poll_format *fmt;
	int64_t since;              /* 0 = everything */
	int64_t max_updated;        /* largest updated_at stored by this run */
	CURL *curl;
	poll_body body;
	char first_url[STORE_FEED_URL_MAX + 1];
	char url[STORE_FEED_URL_MAX + 1];
	char next[STORE_FEED_URL_MAX + 1];
	char final_url[STORE_FEED_URL_MAX + 1]; /* url after its redirects */
	bool origin_private;        /* the feed's own host was reached on a private address */
	bool resumed;               /* starts at f->resume_url */
	char etag[256], last_modified[64];
	uint64_t seen[64];          /* hashes of the last pages' URLs: a cycle of links ends the run */
	int64_t prev_last_at;       /* updated_at of the previous page's last record, 0 = none */
} poll_run;

static uint64_t poll_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

#define POLL_SEEN (sizeof ((poll_run *)0)->seen / sizeof ((poll_run *)0)->seen[0])

/* Remember the URL of page number page (0-based). */
static void poll_remember(poll_run *run, const char *url, int64_t page)
{
	run->seen[(size_t)page % POLL_SEEN] = poll_hash(url);
}

/* Was url one of the last POLL_SEEN pages of this run? */
static bool poll_seen(const poll_run *run, const char *url)
{
	uint64_t h = poll_hash(url);
	for (size_t i = 0; i < POLL_SEEN; i++)
		if (run->seen[i] == h)
			return true;
	return false;
}

static void poll_http_error(const poll_fetch *fx, poll_result *r)
{
	r->retry_after_s = fx->retry_after_s;
	if (fx->retry_after_s)
		poll_note(r, "HTTP %ld (Retry-After %" PRId64 " s)", fx->status, fx->retry_after_s);
	else
		poll_note(r, "HTTP %ld", fx->status);
}

/* Parse one fetched page. */
static bool poll_parse(poll_run *run, mentions_batch *batch, poll_result *r)
{
	ks_error pe;
	ks_error_clear(&pe);
	ks_err err = mentions_parse(run->f->format, run->body.data ? run->body.data : "", run->body.len, batch,
				    &pe);
	if (err) {
		poll_note(r, "page %" PRId64 ": %s%s%s", r->pages + 1, pe.field, pe.field[0] ? ": " : "",
			  pe.message);
		return false;
	}
	return true;
}

/* Is every record of the page older than the run's since (sources without
 * a time filter, asked newest first: the later pages are older still)? Only
 * when the page really is newest first: a source that ignored the order
 * parameter (oldest first) has the new records on its last pages. */
static bool poll_page_old(const poll_run *run, const mentions_batch *b)
{
	if (run->fmt->since_param || run->since == 0 || b->n == 0)
		return false;
	for (size_t i = 0; i < b->n; i++) {
		if (b->items[i].updated_at >= run->since)
			return false;
		if (i > 0 && b->items[i].updated_at > b->items[i - 1].updated_at)
			return false; /* not newest first */
	}
	if (run->prev_last_at && b->items[0].updated_at > run->prev_last_at)
		return false;         /* older than the page before: not newest first either */
	return true;
}

static void poll_done_result(const poll_run *run, const poll_result *r, int64_t now, store_feed_result *d)
{
	memset(d, 0, sizeof *d);
	d->at = now;
	d->next_run_at = now + run->f->interval_s;
	d->status = r->status;
	d->max_updated_at = run->max_updated;
	d->generation = run->f->generation;
	/* a paged format keeps no validators: its page 1 unchanged says
	 * nothing of the pages after it */
	if (run->fmt->next == POLL_NEXT_NONE) {
		d->etag = run->etag;
		d->last_modified = run->last_modified;
		d->etag_url = run->first_url;
	}
	d->pages = r->pages;
	d->received = r->received;
	d->inserted = r->inserted;
	d->updated = r->updated;
	d->unchanged = r->unchanged;
}

/* Store one page (b may be empty); with last, also the run's end: the
 * cursor and the success. */
static bool poll_store_page(poll_run *run, poll_result *r, const mentions_batch *b, bool last)
{
	mention_poller *p = run->p;
	int64_t now = clock_now(p->clock);
	int64_t page_max = 0;
	for (size_t i = 0; i < b->n; i++)
		if (b->items[i].updated_at > page_max)
			page_max = b->items[i].updated_at;
	/* a time in the future (a wrong clock at the source) would put the
	 * cursor, and every later item, out of reach */
	if (page_max > now)
		page_max = now;
	r->received += (int64_t)b->n;
	int64_t old_max = run->max_updated;
	if (page_max > run->max_updated)
		run->max_updated = page_max;
	store_feed_result done;
	if (last)
		poll_done_result(run, r, now, &done);
	mentions_counts cnt = {0};
	ks_error se;
	ks_error_clear(&se);
	if (store_feed_page(p->store, run->f->id, b, last ? &done : NULL, &cnt, &se) != KS_OK) {
		run->max_updated = old_max;
		poll_note(r, "page %" PRId64 " could not be stored: %s%s%s", r->pages, se.field,
			  se.field[0] ? ": " : "", se.message);
		return false;
	}
	r->inserted += cnt.inserted, r->updated += cnt.updated, r->unchanged += cnt.unchanged;
	if (last) {
		r->next_run_at = done.next_run_at;
	} else if (store_feed_resume(p->store, run->f->id, run->f->generation, run->next, run->max_updated, &se) !=
		   KS_OK) {
		/* only the resume point is lost: a later failure starts over */
		fprintf(stderr, "klantstem: feed %" PRId64 ": cannot keep the resume point: %s\n", run->f->id,
			se.message);
	}
	return true;
}

/* A 2xx page: parse it and find the next one. *last: the run ends here.
 * false (r->error set) when the run fails. */
static bool poll_read_page(poll_run *run, poll_result *r, const poll_fetch *fx, mentions_batch *batch,
			   bool *last)
{
	if (r->pages == 0) {
		snprintf(run->etag, sizeof run->etag, "%s", run->body.etag);
		snprintf(run->last_modified, sizeof run->last_modified, "%s", run->body.last_modified);
	}
	if (fx->status != 204 && !poll_parse(run, batch, r))
		return false;
	r->pages++;
	if (!poll_next(run->f, run->fmt, run->first_url, run->final_url, &run->body, run->next, sizeof run->next,
		       r))
		return false;
	if (batch->n == 0 && run->next[0] && fx->status != 204) {
		/* an empty page that links on: a source mid-way through, not the
		 * end; a success would move the cursor past what did not come */
		poll_note(r, "page %" PRId64 " is empty but links to a next page", r->pages);
		return false;
	}
	poll_remember(run, run->url, r->pages);
	*last = run->next[0] == '\0' || batch->n == 0 || poll_page_old(run, batch) || poll_seen(run, run->next);
	if (batch->n > 0)
		run->prev_last_at = batch->items[batch->n - 1].updated_at;
	if (!*last && r->pages >= POLL_MAX_PAGES) {
		/* Ending here as a success would move the cursor past the pages
		 * not fetched (newest first: for good). A failure keeps it, and
		 * says so. */
		poll_note(r, "more than %d pages in one run: narrow the feed's URL (a start date, a larger page size)",
			  POLL_MAX_PAGES);
		return false;
	}
	return true;
}

/* Send the stored validators with this request? Only on the first
 * request of a format fetched in one request, and only when they answered
 * exactly this URL (since= included): a 304 then says the whole answer is
 * unchanged. A paged feed's page 1 unchanged says nothing of later pages
 * (a feed oldest first adds on its last page). */
static bool poll_validators(const poll_run *run, const poll_result *r)
{
	return r->pages == 0 && run->fmt->next == POLL_NEXT_NONE && strcmp(run->url, run->first_url) == 0 &&
	       run->f->etag_url[0] && strcmp(run->f->etag_url, run->first_url) == 0;
}

/* Fetch, parse and store the pages; true when the run completed (its last
 * page and the cursor stored). */
static bool poll_pages(poll_run *run, poll_result *r)
{
	mention_poller *p = run->p;
	/* A run that failed part-way resumes after its last committed page
	 * (the cursor has not moved, so since and first_url are the same):
	 * a long backfill failing at page N no longer starts at 1 forever. */
	snprintf(run->url, sizeof run->url, "%s", run->resumed ? run->f->resume_url : run->first_url);
	if (run->resumed)
		run->max_updated = run->f->resume_max_updated;
	for (;;) {
		poll_fetch fx = {0};
		bool first = poll_validators(run, r);
		bool got = poll_get(p, run->curl, run->f, run->fmt, run->url, first, &run->body, &fx, run->final_url,
				    &run->origin_private, r);
		if (run->resumed && r->pages == 0 && (!got || fx.status < 200 || fx.status > 299) && !fx.stopped) {
			/* the resume page itself failed (an expired page token): the
			 * next run starts at page 1 */
			ks_error se;
			ks_error_clear(&se);
			store_feed_resume(p->store, run->f->id, run->f->generation, NULL, 0, &se);
		}
		if (!got) {
			r->stopped = fx.stopped;
			return false;
		}
		mentions_batch batch = {0};
		bool last = true, ok = true;
		run->next[0] = '\0';
		if (first && fx.status == 304) {
			r->not_modified = true;
			snprintf(run->etag, sizeof run->etag, "%s", run->f->etag);
			snprintf(run->last_modified, sizeof run->last_modified, "%s", run->f->last_modified);
		} else if (fx.status < 200 || fx.status > 299) {
			poll_http_error(&fx, r);
			ok = false;
		} else {
			ok = poll_read_page(run, r, &fx, &batch, &last);
		}
		if (ok)
			ok = poll_store_page(run, r, &batch, last);
		mentions_batch_free(&batch);
		if (!ok || last)
			return ok;
		snprintf(run->url, sizeof run->url, "%s", run->next);
	}
}

/* The first page's URL: the feed's, with the since parameter. */
static bool poll_first_url(poll_run *run, poll_result *r)
{
	const store_feed *f = run->f;
	run->since = f->cursor_updated_at > POLL_OVERLAP_S ? f->cursor_updated_at - POLL_OVERLAP_S : 0;
	run->resumed = f->resume_url[0] != '\0' && run->fmt->next != POLL_NEXT_NONE;
	if (run->fmt->order_param) {
		/* newest first whatever the configured URL says */
		if (poll_url_param(f->url, run->fmt->order_param, run->fmt->order_value, run->first_url,
				   sizeof run->first_url))
			return true;
		poll_note(r, "cannot add %s= to the feed's URL", run->fmt->order_param);
		return false;
	}
	if (run->fmt->since_param == NULL || run->since == 0) {
		snprintf(run->first_url, sizeof run->first_url, "%s", f->url);
		return true;
	}
	char v[40];
	poll_since_text(run->since, run->fmt->style, v, sizeof v);
	if (poll_url_param(f->url, run->fmt->since_param, v, run->first_url, sizeof run->first_url))
		return true;
	poll_note(r, "cannot add %s= to the feed's URL", run->fmt->since_param);
	return false;
}

/* Run feed f (p->run_mu held) and record the outcome. */
static void poll_one(mention_poller *p, const store_feed *f, poll_result *r)
{
	memset(r, 0, sizeof *r);
	r->feed_id = f->id;
	if (atomic_load(&p->stopping)) { /* a queued run after poll_shutdown */
		r->stopped = true;
		return;
	}
	poll_run *run = calloc(1, sizeof *run);
	if (run == NULL) {
		poll_note(r, "out of memory");
	} else {
		run->p = p;
		run->f = f;
		run->fmt = poll_format_find(f->format);
		run->curl = curl_easy_init();
		if (run->fmt == NULL)
			poll_note(r, "unknown format '%s'", f->format);
		else if (run->curl == NULL)
			poll_note(r, "cannot start libcurl (out of memory?)");
		else if (poll_first_url(run, r))
			r->ok = poll_pages(run, r);
		curl_easy_cleanup(run->curl);
		free(run->body.data);
		free(run);
	}
	if (r->ok || r->stopped)
		return;
	/* A failed run: back off. */
	int64_t now = clock_now(p->clock);
	r->next_run_at = now + poll_backoff_s(f->failures + 1, f->interval_s, r->retry_after_s);
	store_feed_result fr = {.at = now, .next_run_at = r->next_run_at, .status = r->status,
				.generation = f->generation,
				.error = r->error, .pages = r->pages, .received = r->received,
				.inserted = r->inserted, .updated = r->updated, .unchanged = r->unchanged};
	ks_error se;
	ks_error_clear(&se);
	if (store_feed_failed(p->store, f->id, &fr, &se) != KS_OK && se.code != KS_ERR_NOTFOUND)
		fprintf(stderr, "klantstem: feed %" PRId64 ": cannot record the failure: %s\n", f->id, se.message);
}

/* Queue id for the thread (once) and wake it. */
static ks_err poll_enqueue(mention_poller *p, int64_t id, ks_error *e)
{
	ks_err err = KS_OK;
	pthread_mutex_lock(&p->mu);
	bool have = false;
	for (int i = 0; i < p->n_queue; i++)
		have = have || p->queue[i] == id;
	if (!have && p->n_queue == POLL_QUEUE_MAX)
		err = ks_fail(e, KS_ERR_TOO_MANY, NULL, "%d feeds already wait for a run; try again later",
			      POLL_QUEUE_MAX);
	else if (!have)
		p->queue[p->n_queue++] = id;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return err;
}

ks_err poll_run_feed(mention_poller *p, int64_t id, poll_result *out, bool *queued, ks_error *e)
{
	memset(out, 0, sizeof *out);
	*queued = false;
	if (atomic_load(&p->stopping))
		return ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "the poller is stopping");
	store_feed *f = malloc(sizeof *f);
	if (f == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	ks_err err = store_feed_get(p->store, id, f, e);
	/* A paged format may take many pages (a backfill: minutes): the
	 * thread runs it, so an HTTP slow worker, which logins share, is not
	 * held; one request (bounded by the page timeout) runs here. */
	const poll_format *fmt = err ? NULL : poll_format_find(f->format);
	if (!err && p->background && fmt && fmt->next != POLL_NEXT_NONE) {
		err = poll_enqueue(p, id, e);
		*queued = err == KS_OK;
	} else if (!err && pthread_mutex_trylock(&p->run_mu) != 0) {
		err = p->background ? poll_enqueue(p, id, e)
				    : ks_fail(e, KS_ERR_CONFLICT, NULL, "a feed is being fetched; try again shortly");
		*queued = err == KS_OK;
	} else if (!err) {
		/* read again under the lock: a run that just ended changed
		 * failures and cursor */
		err = store_feed_get(p->store, id, f, e);
		if (!err)
			poll_one(p, f, out);
		pthread_mutex_unlock(&p->run_mu);
	}
	free(f);
	if (!err && out->stopped)
		err = ks_fail(e, KS_ERR_UNAVAILABLE, NULL, "the server is shutting down");
	return err;
}

/* ---- the thread ------------------------------------------------------------ */

/* The "run now" requests first, enabled or not. */
static void poll_queued(mention_poller *p, store_feed *f)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int64_t id = p->n_queue ? p->queue[0] : 0;
		if (p->n_queue)
			memmove(p->queue, p->queue + 1, (size_t)--p->n_queue * sizeof p->queue[0]);
		pthread_mutex_unlock(&p->mu);
		if (id == 0 || atomic_load(&p->stopping))
			return;
		pthread_mutex_lock(&p->run_mu);
		poll_result r;
		if (store_feed_get(p->store, id, f, NULL) == KS_OK)
			poll_one(p, f, &r);
		pthread_mutex_unlock(&p->run_mu);
	}
}

static void poll_pass(mention_poller *p)
{
	int64_t *ids = NULL;
	size_t n = 0;
	ks_error e;
	ks_error_clear(&e);
	store_feed *f = malloc(sizeof *f);
	if (f == NULL)
		return;
	poll_queued(p, f);
	if (store_feed_due(p->store, clock_now(p->clock), 16, &ids, &n, &e) != KS_OK) {
		fprintf(stderr, "klantstem: feeds: %s\n", e.message);
		free(f);
		return;
	}
	for (size_t i = 0; i < n && !atomic_load(&p->stopping); i++) {
		poll_queued(p, f);
		pthread_mutex_lock(&p->run_mu);
		/* still due? "run now" may have run it while we waited */
		bool due = store_feed_get(p->store, ids[i], f, NULL) == KS_OK && f->enabled &&
			   f->next_run_at <= clock_now(p->clock);
		poll_result r;
		if (due)
			poll_one(p, f, &r);
		pthread_mutex_unlock(&p->run_mu);
	}
	free(f);
	free(ids);
}

static void *poll_main(void *arg)
{
	mention_poller *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!atomic_load(&p->stopping)) {
		pthread_mutex_unlock(&p->mu);
		poll_pass(p);
		pthread_mutex_lock(&p->mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		if (!atomic_load(&p->stopping) && p->n_queue == 0)
			pthread_cond_timedwait(&p->cv, &p->mu, &until);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

ks_err poll_start(ks_store *store, const ks_clock *clock, const poll_config *cfg, bool background,
		  mention_poller **out, ks_error *e)
{
	*out = NULL;
	mention_poller *p = calloc(1, sizeof *p);
	if (p == NULL)
		return ks_fail(e, KS_ERR_NOMEM, NULL, "out of memory");
	p->store = store;
	p->clock = clock;
	if (cfg)
		p->cfg = *cfg;
	else
		poll_config_default(&p->cfg, NULL);
	atomic_init(&p->stopping, false);
	pthread_mutex_init(&p->run_mu, NULL);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (background) {
		if (pthread_create(&p->thread, NULL, poll_main, p) != 0) {
			poll_stop(p);
			return ks_fail(e, KS_ERR_INTERNAL, NULL, "cannot start the feed poller thread");
		}
		p->background = true;
	}
	*out = p;
	return KS_OK;
}

void poll_shutdown(mention_poller *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	atomic_store(&p->stopping, true);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void poll_stop(mention_poller *p)
{
	if (p == NULL)
		return;
	poll_shutdown(p);
	if (p->background)
		pthread_join(p->thread, NULL);
	/* a "run now" in progress (an HTTP worker) ends with its transfer */
	pthread_mutex_lock(&p->run_mu);
	pthread_mutex_unlock(&p->run_mu);
	pthread_mutex_destroy(&p->run_mu);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

json_t *poll_result_json(const poll_result *r)
{
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:s?, s:I}", "ok", r->ok, "status",
			 (json_int_t)r->status, "pages", (json_int_t)r->pages, "received",
			 (json_int_t)r->received, "inserted", (json_int_t)r->inserted, "updated",
			 (json_int_t)r->updated, "unchanged", (json_int_t)r->unchanged, "not_modified",
			 r->not_modified, "retry_after_s", (json_int_t)r->retry_after_s, "error",
			 r->error[0] ? r->error : NULL, "next_run_at", (json_int_t)r->next_run_at);
}
