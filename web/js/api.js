// api.js — the one way this UI talks to the server. The session lives in the
// HttpOnly cookie ks_session (the script never sees it); every request that
// changes something carries the session's CSRF token in X-CSRF-Token.

import { t, lang } from './i18n.js';

let csrfToken = null;
// The account's language (from /auth/login and /auth/me): the case routes
// write their error messages in it (docs/API.md), every other route in
// English.
let accountLang = null;

export function setCsrf(token) {
  csrfToken = token || null;
}

export class ApiError extends Error {
  // path: the route asked (whose language the message is in); retryAfter:
  // the Retry-After header's seconds, or null.
  constructor(status, body, path = '', retryAfter = null) {
    const err = (body && body.error) || {};
    super(err.message || 'HTTP ' + status);
    this.status = status;
    this.code = err.code || null;
    this.field = err.field || null;
    this.serverMessage = typeof err.message === 'string' ? err.message : null;
    this.messageLang = path.startsWith('/cases') && accountLang ? accountLang : 'en';
    this.retryAfter = retryAfter;
  }
}

// ---- errors in the UI's language (issue 13) -------------------------------------------------
// The server's messages are English (the case routes': the account's
// language); the sentence shown is built here from the reply's code, its
// field and Retry-After, so a Dutch page never shows English text. The
// server's own message follows only when it is in the page's language and
// says more; otherwise it is a secondary detail (errorDetail, a title).

const STATUS_CODE = {
  400: 'malformed_json', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found',
  405: 'method_not_allowed', 409: 'conflict', 413: 'too_large', 414: 'uri_too_long',
  422: 'invalid', 429: 'too_many_requests', 431: 'too_many_arguments', 500: 'internal',
  503: 'unavailable',
};
const KNOWN_CODES = new Set(['invalid', 'out_of_range', 'unknown_reference', 'conflict', 'forbidden',
  'unauthenticated', 'not_found', 'too_large', 'too_many_requests', 'storage_full', 'unavailable',
  'malformed_json', 'method_not_allowed', 'uri_too_long', 'too_many_arguments', 'database_error',
  'internal', 'gone']);

// The label of a field the server named: its i18n label, else the raw name
// in quotes ("answers.open" and the like).
export function fieldLabel(name) {
  const key = 'field.' + name;
  const s = t(key);
  return s === key ? '‘' + name + '’' : '‘' + s + '’';
}

// "15 minuten" / "40 seconds" from Retry-After seconds.
function waitText(seconds) {
  if (seconds >= 90) {
    const m = Math.ceil(seconds / 60);
    return t(m === 1 ? 'err.minute' : 'err.minutes', { n: m });
  }
  return t(seconds === 1 ? 'err.second' : 'err.seconds', { n: seconds });
}

// The error's code: the reply's, else one from its HTTP status.
export function errorCode(err) {
  if (!(err instanceof ApiError)) {
    if (typeof err?.status === 'number') return STATUS_CODE[err.status] || 'internal';
    // fetch rejects with a TypeError when the server cannot be reached; any
    // other exception is this page's own fault
    return err instanceof TypeError && /fetch|network/i.test(err.message || '') ? 'network' : 'page';
  }
  if (err.code && KNOWN_CODES.has(err.code)) return err.code;
  if (err.status === 410) return 'gone';
  return STATUS_CODE[err.status] || (err.status >= 500 ? 'internal' : 'invalid');
}

// The server's message when it is in the page's language (and so may be
// shown after the sentence), else null.
function sameLangMessage(err) {
  if (!(err instanceof ApiError) || !err.serverMessage) return null;
  return err.messageLang === lang() ? err.serverMessage : null;
}

// The sentence for an error reply (or a failed fetch) in the UI's language.
export function errorText(err) {
  const code = errorCode(err);
  if (code === 'network' || code === 'page') return t('err.' + code);
  const withField = err?.field && t('err.' + code + '.field') !== 'err.' + code + '.field';
  let s = withField ? t('err.' + code + '.field', { field: fieldLabel(err.field) }) : t('err.' + code);
  if (typeof err?.retryAfter === 'number' && err.retryAfter > 0) s += ' ' + t('err.retry', { wait: waitText(err.retryAfter) });
  const more = sameLangMessage(err);
  if (more) s += ' (' + more + ')';
  return s;
}

// The server's message when the page does not show it (another language):
// for a title or a <details>, never the main text; null otherwise.
export function errorDetail(err) {
  if (!(err instanceof ApiError) || !err.serverMessage || sameLangMessage(err)) return null;
  return err.serverMessage;
}

// Put an error in an element: the sentence as its text (wrapped by wrap,
// a function of the sentence, when given) and the server's own words, when
// in another language, as its title.
export function showError(el, err, wrap) {
  const s = errorText(err);
  el.textContent = wrap ? wrap(s) : s;
  const d = errorDetail(err);
  if (d) el.title = d; else el.removeAttribute('title');
  el.dataset.code = errorCode(err);
  return el;
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
  if (res.ok && (path === '/auth/login' || path === '/auth/me') && data?.user?.language) {
    accountLang = data.user.language === 'en' ? 'en' : 'nl';
  }
  if (!res.ok) {
    const ra = Number.parseInt(res.headers.get('Retry-After') || '', 10);
    const e = new ApiError(res.status, data, path, Number.isFinite(ra) ? ra : null);
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
