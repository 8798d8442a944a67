/* router.c — match method + path against a static route table. */
#include <stdio.h>
#include <string.h>

#include "http/http.h"

/* Compare one pattern with the path, capturing "{x}" segments into
 * req->param_buf. Returns true on a match. */
static bool route_match(const char *pattern, const char *path, http_req *req)
{
	size_t used = 0;
	req->n_params = 0;
	const char *p = pattern, *u = path;
	while (*p && *u) {
		if (*p != '/' || *u != '/')
			return false;
		p++;
		u++;
		const char *pe = strchr(p, '/');
		const char *ue = strchr(u, '/');
		size_t plen = pe ? (size_t)(pe - p) : strlen(p);
		size_t ulen = ue ? (size_t)(ue - u) : strlen(u);
		if (plen > 1 && p[0] == '{') {
			if (ulen == 0 || req->n_params == HTTP_MAX_PARAMS ||
			    used + ulen + 1 > sizeof req->param_buf)
				return false;
			memcpy(req->param_buf + used, u, ulen);
			req->param_buf[used + ulen] = '\0';
			req->params[req->n_params++] = req->param_buf + used;
			used += ulen + 1;
		} else if (plen != ulen || memcmp(p, u, plen) != 0) {
			return false;
		}
		p += plen;
		u += ulen;
	}
	return *p == '\0' && *u == '\0';
}

const http_route *http_route_find(const http_route *routes, size_t n, http_req *req, ks_err *err)
{
	bool path_known = false;
	req->allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!route_match(routes[i].pattern, req->path, req))
			continue;
		bool head_as_get = strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0;
		if (strcmp(routes[i].method, req->method) == 0 || head_as_get) {
			*err = KS_OK;
			return &routes[i];
		}
		path_known = true;
		size_t len = strlen(req->allow);
		if (strstr(req->allow, routes[i].method) == NULL)
			snprintf(req->allow + len, sizeof req->allow - len, "%s%s", len ? ", " : "",
				 routes[i].method);
	}
	*err = path_known ? KS_ERR_METHOD : KS_ERR_NOTFOUND;
	return NULL;
}
