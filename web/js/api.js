// api.js — the one way this UI talks to the server. The session lives in the
// HttpOnly cookie ks_session (the script never sees it); every request that
// changes something carries the session's CSRF token in X-CSRF-Token.

let csrfToken = null;

export function setCsrf(token) {
  csrfToken = token || null;
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || 'HTTP ' + status);
    this.status = status;
    this.code = err.code || null;
    this.field = err.field || null;
  }
}

// Query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

// api('/metrics', {query: {...}}) -> parsed JSON; throws ApiError.
export async function api(path, { method = 'GET', query, body, signal } = {}) {
  const url = '/api/v1' + path + qs(query);
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    signal,
  });
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('application/json')) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) {
    const e = new ApiError(res.status, data);
    if (res.status === 401 && path !== '/auth/login' && path !== '/auth/me') {
      window.dispatchEvent(new CustomEvent('ks:unauthenticated'));
    }
    throw e;
  }
  return data;
}

// The address of a CSV export of the same call (the session cookie goes
// along with a plain link).
export function csvUrl(path, query) {
  return '/api/v1' + path + qs({ ...query, format: 'csv' });
}
