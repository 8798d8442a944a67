/* addr.c — who the client is, behind trusted reverse proxies.
 *
 * A proxy appends the address it received the request from to
 * X-Forwarded-For, so the list reads "oldest, ..., newest". Everything left
 * of the last hop we trust was written by whoever sent the request and may
 * be forged; so the client is the right-most address that is not one of
 * our proxies. A peer that is not a trusted proxy is the client, whatever
 * its X-Forwarded-For says.
 */
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "http/http_int.h"

static void addr_text(uint32_t a, char *out, size_t n)
{
	struct in_addr ia = {.s_addr = a};
	if (inet_ntop(AF_INET, &ia, out, (socklen_t)n) == NULL)
		out[0] = '\0';
}

void http_client_resolve(const http_trusted *t, uint32_t peer, bool have_peer, const char *xff,
			 char *out, size_t n)
{
	if (n == 0)
		return;
	out[0] = '\0';
	if (!have_peer)
		return;
	addr_text(peer, out, n);
	if (xff == NULL || !http_trusted_has(t, peer))
		return;
	/* Walk the list from its right end. */
	size_t end = strlen(xff);
	while (end > 0) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		size_t a = start, b = end;
		while (a < b && (xff[a] == ' ' || xff[a] == '\t'))
			a++;
		while (b > a && (xff[b - 1] == ' ' || xff[b - 1] == '\t'))
			b--;
		char one[32];
		struct in_addr ia;
		if (b - a == 0 || b - a >= sizeof one)
			return; /* garbage from here on: the last good hop stands */
		memcpy(one, xff + a, b - a);
		one[b - a] = '\0';
		if (inet_pton(AF_INET, one, &ia) != 1)
			return;
		addr_text(ia.s_addr, out, n);
		if (!http_trusted_has(t, ia.s_addr))
			return;
		end = start > 0 ? start - 1 : 0;
	}
}
