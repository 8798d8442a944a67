// pages/admin.js — "Beheer" / "Administration" (issue 13), for admins:
// the sections users (create; role, unit, language; disable / enable; a
// password reset link by mail; the account's API tokens with revoke),
// surveys and questions, touchpoint rules, alert rules, and the
// organisation's settings with an SMTP test. The sections other than users
// live in admin_config.js.
//
// Routes: #/admin (= users), #/admin/users, #/admin/surveys, #/admin/rules,
// #/admin/alerts, #/admin/settings, #/admin/widgets (issue 16 H3). The server
// checks every call (admin).

import { api, errorText, errorDetail } from '../api.js';
import { h, field, select, clear, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDateTime } from '../format.js';
import { panel, errorNotice } from '../widgets.js';
import { surveysSection, rulesSection, alertsSection, settingsSection } from './admin_config.js';
import { widgetsSection } from './widgets.js';  // public score widgets (issue 16 H3)

const ROLES = ['employee', 'team_lead', 'manager', 'director', 'admin'];
const SECTIONS = {
  users: usersSection,
  surveys: surveysSection,
  rules: rulesSection,
  alerts: alertsSection,
  settings: settingsSection,
  widgets: widgetsSection,  // public score widgets (issue 16 H3)
};

// A message in a status line: ok or error (shared with admin_config.js).
// detail: the server's own words when in another language (a title).
export function say(el, text, error = false, detail = null) {
  el.textContent = text;
  if (detail) el.title = detail; else el.removeAttribute('title');
  el.className = error ? 'error-text' : 'hint';
  el.setAttribute('role', error ? 'alert' : 'status');
  if (!error) announce(text);
}

// An API error in words: the field it names, when it names one.
export function errText(err) {
  if (err?.status === 403) return t('error.forbidden');
  return errorText(err);
}

// Every page of a list resource (keyset pagination, 500 a page).
export async function listAll(res, query = {}) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < 100; i++) {
    const page = await api('/' + res, { query: { ...query, limit: 500, cursor } });
    items.push(...(page.items || []));
    cursor = page.next_cursor;
    if (cursor === null || cursor === undefined) break;
  }
  return items;
}

// ---- users --------------------------------------------------------------------------

function unitOptions(units) {
  return [{ value: '', label: t('admin.users.nounit') }].concat(
    units.map((u) => ({ value: u.id, label: u.name + ' (' + t('admin.kind.' + u.kind) + ')' })));
}

function createForm(units, msg, onCreated) {
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 127, autocomplete: 'off' });
  const email = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' });
  const role = select(ROLES.map((r) => ({ value: r, label: t('role.' + r) })), 'employee', { name: 'role' });
  const unit = select(unitOptions(units), '', { name: 'unit_id' });
  const emp = h('input', { type: 'number', name: 'employee_id', min: 1, inputmode: 'numeric' });
  const language = select([{ value: 'nl', label: 'Nederlands' }, { value: 'en', label: 'English' }], 'nl', { name: 'language' });
  const pw = h('input', { type: 'password', name: 'password', required: true, minlength: 10, autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit', class: 'btn' }, t('admin.users.create'));
  const form = h('form', { id: 'user-create', novalidate: true },
    h('div', { class: 'form-row' },
      field(t('account.name'), name), field(t('account.email'), email),
      field(t('account.role'), role), field(t('admin.users.unit'), unit, t('admin.users.unit.hint')),
      field(t('admin.users.employee'), emp, t('admin.users.employee.hint')),
      field(t('admin.users.language'), language),
      field(t('admin.users.password'), pw, t('admin.users.password.hint'))),
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), email: email.value.trim(), role: role.value, language: language.value, password: pw.value };
    if (unit.value) body.unit_id = Number(unit.value);
    if (emp.value) body.employee_id = Number(emp.value);
    submit.disabled = true;
    try {
      const u = await api('/users', { method: 'POST', body });
      form.reset();
      say(msg, t('admin.users.created', { name: u.name }));
      await onCreated();
    } catch (err) {
      say(msg, errText(err), true, errorDetail(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// The API tokens of one account, with revoke.
async function showTokens(box, u) {
  clear(box).append(h('p', { class: 'loading' }, t('loading')));
  box.hidden = false;
  const msg = h('p', { class: 'hint', role: 'status', id: 'admin-tokens-msg' });
  async function load() {
    let res;
    try {
      res = await api('/users/' + u.id + '/tokens');
    } catch (err) {
      clear(box).append(errorNotice(err));
      return;
    }
    const items = res.items || [];
    const l = lang();
    const rows = items.map((tok) => {
      const revoke = h('button', { type: 'button', class: 'btn btn-secondary', dataset: { revokeToken: tok.id } }, t('account.tok.revoke'));
      revoke.setAttribute('aria-label', t('account.tok.revoke.named', { name: tok.name }));
      revoke.addEventListener('click', async () => {
        revoke.disabled = true;
        try {
          await api('/auth/tokens/' + tok.id, { method: 'DELETE' });
          await load();
          say(msg, t('account.tok.revoked', { name: tok.name }));
        } catch (err) {
          revoke.disabled = false;
          say(msg, errText(err), true, errorDetail(err));
        }
      });
      return h('tr', { dataset: { token: tok.id } },
        h('td', null, tok.name), h('td', null, fmtDateTime(tok.created_at, l)),
        h('td', null, fmtDateTime(tok.expires_at, l)),
        h('td', null, tok.last_used_at ? fmtDateTime(tok.last_used_at, l) : t('account.tok.never')),
        h('td', null, tok.expired ? t('account.tok.expired') : t('account.tok.live')), h('td', null, revoke));
    });
    clear(box).append(h('h3', { id: 'admin-tokens-title' }, t('admin.tokens.of', { name: u.name })), msg,
      items.length === 0 ? h('p', { class: 'hint', id: 'admin-tokens-none' }, t('account.tok.none'))
        : h('div', { class: 'table-wrap' }, h('table', { id: 'admin-tokens-table' },
          h('caption', { class: 'visually-hidden' }, t('admin.tokens.of', { name: u.name })),
          h('thead', null, h('tr', null, ['account.tok.name', 'account.tok.created', 'account.tok.expires', 'account.tok.used', 'account.tok.status', 'account.tok.action']
            .map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', null, rows))));
  }
  await load();
}

function userRow(u, me, units, msg, tokensBox, reload) {
  const self = u.id === me.id;
  const role = select(ROLES.map((r) => ({ value: r, label: t('role.' + r) })), u.role,
    { name: 'role', 'aria-label': t('admin.users.role.named', { name: u.name }), disabled: self });
  const unit = select(unitOptions(units), u.unit_id ?? '', { name: 'unit_id', 'aria-label': t('admin.users.unit.named', { name: u.name }) });
  const save = h('button', { type: 'button', class: 'btn btn-secondary', dataset: { save: u.id } }, t('admin.save'));
  save.setAttribute('aria-label', t('admin.users.save.named', { name: u.name }));
  save.addEventListener('click', async () => {
    const body = { unit_id: unit.value ? Number(unit.value) : null };
    if (!self) body.role = role.value;
    save.disabled = true;
    try {
      await api('/users/' + u.id, { method: 'PATCH', body });
      say(msg, t('admin.users.saved', { name: u.name }));
      await reload();
    } catch (err) {
      save.disabled = false;
      say(msg, errText(err), true, errorDetail(err));
    }
  });
  const actions = [save];
  if (!self) {
    const toggle = h('button', { type: 'button', class: 'btn btn-secondary', dataset: { toggle: u.id } },
      t(u.active ? 'account.users.disable' : 'account.users.enable'));
    toggle.setAttribute('aria-label', t(u.active ? 'account.users.disable.named' : 'account.users.enable.named', { name: u.name }));
    toggle.addEventListener('click', async () => {
      toggle.disabled = true;
      try {
        await api('/users/' + u.id, { method: 'PATCH', body: { active: !u.active } });
        say(msg, t(u.active ? 'account.users.disabled' : 'account.users.enabled', { name: u.name }));
        await reload();
      } catch (err) {
        toggle.disabled = false;
        say(msg, errText(err), true, errorDetail(err));
      }
    });
    actions.push(toggle);
  }
  if (u.active) {
    const reset = h('button', { type: 'button', class: 'btn btn-secondary', dataset: { reset: u.id } }, t('admin.users.reset'));
    reset.setAttribute('aria-label', t('admin.users.reset.named', { name: u.name }));
    reset.addEventListener('click', async () => {
      if (!window.confirm(t('admin.users.reset.confirm', { name: u.name, email: u.email }))) return;
      reset.disabled = true;
      try {
        const r = await api('/users/' + u.id + '/password-reset', { method: 'POST', body: {} });
        say(msg, t('admin.users.reset.sent', { email: r.email, until: fmtDateTime(r.expires_at, lang()) }));
      } catch (err) {
        say(msg, errText(err), true, errorDetail(err));
      } finally {
        reset.disabled = false;
      }
    });
    actions.push(reset);
  }
  const tokens = h('button', { type: 'button', class: 'btn btn-secondary', dataset: { tokens: u.id } }, t('admin.users.tokens'));
  tokens.setAttribute('aria-label', t('admin.tokens.of', { name: u.name }));
  tokens.addEventListener('click', () => showTokens(tokensBox, u).then(() => tokensBox.querySelector('h3')?.focus?.()));
  actions.push(tokens);
  return h('tr', { dataset: { user: u.id, active: u.active } },
    h('td', null, u.name), h('td', { class: 'cell-wrap' }, u.email), h('td', null, role), h('td', null, unit),
    h('td', null, t(u.active ? 'account.users.active' : 'account.users.inactive')),
    h('td', null, h('div', { class: 'row-actions' }, actions)));
}

async function usersSection(body, ctx) {
  const msg = h('p', { id: 'admin-users-msg', class: 'hint', role: 'status' });
  const list = h('div', { id: 'admin-users' });
  const tokensBox = h('div', { id: 'admin-tokens', class: 'panel', hidden: true, tabindex: '-1' });
  const units = (await listAll('teams')).sort((a, b) => a.name.localeCompare(b.name, lang()));
  async function reload() {
    let res;
    try {
      res = await api('/users');
    } catch (err) {
      clear(list).append(errorNotice(err));
      return;
    }
    clear(list).append(h('div', { class: 'table-wrap' }, h('table', { id: 'admin-users-table' },
      h('caption', null, t('account.users.caption')),
      h('thead', null, h('tr', null, ['account.name', 'account.email', 'account.role', 'admin.users.unit', 'account.users.status', 'account.tok.action']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', null, (res.items || []).map((u) => userRow(u, ctx.user, units, msg, tokensBox, reload))))));
  }
  body.append(
    panel(t('admin.users.new'), null, createForm(units, msg, reload)),
    panel(t('admin.users.title'), t('admin.users.sub'), msg, list),
    tokensBox);
  await reload();
}

// ---- the page -------------------------------------------------------------------------

export async function render(main, ctx) {
  const name = SECTIONS[ctx.args[0]] ? ctx.args[0] : 'users';
  main.append(h('h1', null, t('admin.title')));
  const links = Object.keys(SECTIONS).map((s) => {
    const a = h('a', { href: '#/admin/' + s, dataset: { section: s } }, t('admin.sec.' + s));
    if (s === name) a.setAttribute('aria-current', 'page');
    return h('li', null, a);
  });
  main.append(h('nav', { class: 'subnav', 'aria-label': t('admin.sections') }, h('ul', null, links)));
  const body = h('div', { id: 'admin-body', dataset: { section: name } });
  main.append(body);
  try {
    await SECTIONS[name](body, ctx);
  } catch (err) {
    body.append(errorNotice(err));
  }
}
