// pages/account.js — "Mijn account" / "My account": the account's facts,
// changing the password (which revokes every API token and ends every
// other session: the page says so), the own API tokens (listed without
// their secret, revoked with a button, a new one shown exactly once), and
// for admins the list of users to disable or enable.
//
// Route: #/account. Reached from the name in the header (app.js).

import { api, setCsrf, errorText, errorDetail } from '../api.js';
import { h, field, clear, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDateTime } from '../format.js';
import { panel, errorNotice } from '../widgets.js';
import { ownDigestsPanel } from './digests.js';  // issue 17 D: the own digests switch

const TOKEN_DAYS = 90;      // the server's default (AUTH_TOKEN_DAYS)
const TOKEN_MAX_DAYS = 365; // and its maximum

// A message in a status line: ok or error.
// detail: the server's own words when in another language (a title).
function say(el, text, error = false, detail = null) {
  el.textContent = text;
  if (detail) el.title = detail; else el.removeAttribute('title');
  el.className = error ? 'error-text' : 'hint';
  el.setAttribute('role', error ? 'alert' : 'status');
}

function factsPanel(user) {
  return panel(t('account.facts'), null,
    h('dl', { class: 'action-facts', id: 'account-facts' },
      h('dt', null, t('account.name')), h('dd', null, user.name),
      h('dt', null, t('account.email')), h('dd', null, user.email),
      h('dt', null, t('account.role')), h('dd', null, t('role.' + user.role))));
}

// ---- password ---------------------------------------------------------------------

function passwordPanel(onChanged) {
  const cur = h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, minlength: 10 });
  const again = h('input', { type: 'password', name: 'new_password_again', autocomplete: 'new-password', required: true });
  const msg = h('p', { id: 'password-msg', class: 'hint', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'btn' }, t('account.pw.submit'));
  const form = h('form', { id: 'password-form', novalidate: true },
    field(t('account.pw.current'), cur),
    field(t('account.pw.new'), next, t('account.pw.rule')),
    field(t('account.pw.again'), again),
    h('p', { class: 'hint' }, t('account.pw.effect')),
    msg,
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (next.value.length < 10) return say(msg, t('account.pw.short'), true);
    if (next.value !== again.value) return say(msg, t('account.pw.mismatch'), true);
    submit.disabled = true;
    try {
      const res = await api('/auth/password', { method: 'POST', body: { current_password: cur.value, new_password: next.value } });
      // this browser goes on with a fresh session: its new CSRF token
      setCsrf(res.csrf_token);
      form.reset();
      say(msg, t('account.pw.done', { tokens: res.tokens_revoked ?? 0 }));
      announce(msg.textContent);
      await onChanged();
    } catch (err) {
      if (err.status === 429) say(msg, errorText(err), true, errorDetail(err));
      else if (err.field === 'current_password') say(msg, t('account.pw.wrong'), true);
      else if (err.field === 'new_password') say(msg, t('account.pw.short'), true);
      else say(msg, errorText(err), true, errorDetail(err));
    } finally {
      submit.disabled = false;
    }
  });
  return panel(t('account.pw.title'), null, form);
}

// ---- tokens -------------------------------------------------------------------------

function tokenRow(tok, onRevoke) {
  const l = lang();
  const status = tok.expired ? t('account.tok.expired') : t('account.tok.live');
  const revoke = h('button', { type: 'button', class: 'btn', dataset: { revoke: tok.id } }, t('account.tok.revoke'));
  revoke.setAttribute('aria-label', t('account.tok.revoke.named', { name: tok.name }));
  revoke.addEventListener('click', () => onRevoke(tok, revoke));
  return h('tr', { dataset: { token: tok.id } },
    h('td', null, tok.name),
    h('td', null, fmtDateTime(tok.created_at, l)),
    h('td', null, fmtDateTime(tok.expires_at, l)),
    h('td', null, tok.last_used_at ? fmtDateTime(tok.last_used_at, l) : t('account.tok.never')),
    h('td', null, status),
    h('td', null, revoke));
}

function tokensPanel() {
  const body = h('div', { id: 'tokens' });
  const msg = h('p', { id: 'tokens-msg', class: 'hint', role: 'status' });
  const secret = h('div', { id: 'token-secret', hidden: true });

  async function revoke(tok, btn) {
    btn.disabled = true;
    try {
      await api('/auth/tokens/' + tok.id, { method: 'DELETE' });
      say(msg, t('account.tok.revoked', { name: tok.name }));
      announce(msg.textContent);
      await load();
    } catch (err) {
      btn.disabled = false;
      say(msg, errorText(err), true, errorDetail(err));
    }
  }

  async function load() {
    let res;
    try {
      res = await api('/auth/tokens');
    } catch (err) {
      clear(body).append(errorNotice(err));
      return;
    }
    const items = res.items || [];
    clear(body);
    if (items.length === 0) {
      body.append(h('p', { class: 'hint', id: 'tokens-none' }, t('account.tok.none')));
      return;
    }
    body.append(h('div', { class: 'table-wrap' }, h('table', { id: 'tokens-table' },
      h('caption', null, t('account.tok.caption')),
      h('thead', null, h('tr', null,
        ['account.tok.name', 'account.tok.created', 'account.tok.expires', 'account.tok.used', 'account.tok.status', 'account.tok.action']
          .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', null, items.map((tok) => tokenRow(tok, revoke))))));
  }

  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 100 });
  const days = h('input', { type: 'number', name: 'expires_in_days', min: 1, max: TOKEN_MAX_DAYS, value: TOKEN_DAYS, required: true });
  const submit = h('button', { type: 'submit', class: 'btn' }, t('account.tok.create'));
  const form = h('form', { id: 'token-form', novalidate: true },
    field(t('account.tok.name'), name),
    field(t('account.tok.days'), days, t('account.tok.days.hint', { max: TOKEN_MAX_DAYS })),
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = Number(days.value);
    if (!name.value.trim()) return say(msg, t('account.tok.name.missing'), true);
    if (!Number.isInteger(n) || n < 1 || n > TOKEN_MAX_DAYS) {
      return say(msg, t('account.tok.days.hint', { max: TOKEN_MAX_DAYS }), true);
    }
    submit.disabled = true;
    try {
      const res = await api('/auth/tokens', { method: 'POST', body: { name: name.value.trim(), expires_in_days: n } });
      // shown once: the server keeps only its hash
      clear(secret).append(
        h('p', { class: 'notice', role: 'status' }, t('account.tok.once', { name: res.name })),
        h('code', { id: 'token-value', class: 'token-value' }, res.token));
      secret.hidden = false;
      form.reset();
      days.value = TOKEN_DAYS;
      say(msg, '');
      await load();
    } catch (err) {
      say(msg, errorText(err), true, errorDetail(err));
    } finally {
      submit.disabled = false;
    }
  });
  return { el: panel(t('account.tok.title'), t('account.tok.sub'), secret, body, msg, form), load };
}

// ---- users (admin) --------------------------------------------------------------------

function usersPanel(me) {
  const body = h('div', { id: 'users' });
  const msg = h('p', { id: 'users-msg', class: 'hint', role: 'status' });

  async function toggle(u, btn) {
    btn.disabled = true;
    try {
      await api('/users/' + u.id, { method: 'PATCH', body: { active: !u.active } });
      say(msg, t(u.active ? 'account.users.disabled' : 'account.users.enabled', { name: u.name }));
      announce(msg.textContent);
      await load();
    } catch (err) {
      btn.disabled = false;
      say(msg, errorText(err), true, errorDetail(err));
    }
  }

  async function load() {
    let res;
    try {
      res = await api('/users');
    } catch (err) {
      clear(body).append(errorNotice(err));
      return;
    }
    const rows = (res.items || []).map((u) => {
      const self = u.id === me.id;
      const btn = self ? h('span', { class: 'hint' }, t('account.users.self'))
        : h('button', { type: 'button', class: 'btn', dataset: { toggle: u.id } },
          t(u.active ? 'account.users.disable' : 'account.users.enable'));
      if (!self) {
        btn.setAttribute('aria-label', t(u.active ? 'account.users.disable.named' : 'account.users.enable.named', { name: u.name }));
        btn.addEventListener('click', () => toggle(u, btn));
      }
      return h('tr', { dataset: { user: u.id, active: u.active } },
        h('td', null, u.name), h('td', null, u.email), h('td', null, t('role.' + u.role)),
        h('td', null, t(u.active ? 'account.users.active' : 'account.users.inactive')), h('td', null, btn));
    });
    clear(body).append(h('div', { class: 'table-wrap' }, h('table', { id: 'users-table' },
      h('caption', null, t('account.users.caption')),
      h('thead', null, h('tr', null,
        ['account.name', 'account.email', 'account.role', 'account.users.status', 'account.tok.action']
          .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', null, rows))));
  }
  return { el: panel(t('account.users.title'), t('account.users.sub'), msg, body), load };
}

export async function render(main, ctx) {
  const user = ctx.user;
  main.append(h('h1', null, t('account.title')));
  main.append(factsPanel(user));
  // issue 17 D: the own digests by mail (for the roles that receive them)
  try {
    const digests = await ownDigestsPanel();
    if (digests) main.append(digests);
  } catch (err) {
    main.append(errorNotice(err));
  }
  const tokens = tokensPanel();
  main.append(passwordPanel(() => tokens.load()));
  main.append(tokens.el);
  const users = user.role === 'admin' ? usersPanel(user) : null;
  if (users) main.append(users.el);
  await Promise.all([tokens.load(), users ? users.load() : null]);
}
