// pages/digests.js — scheduled digests by mail (issue 17 D), for admins:
// per role on/off, the day and hour it goes out on the organisation's clock
// (weekly: employees and team leads, the last whole ISO week; monthly:
// managers and directors, the last whole month), "send now" for the last
// period or a chosen past one, and the recent sends with their status
// (GET|PUT /api/v1/digests/settings, POST /api/v1/digests/run,
// GET /api/v1/digests). docs/API.md "Digests", docs/GOVERNANCE.md "Digests".
//
// Route: #/digests. Every user switches their own digests off on the
// account page (pages/account.js, PUT /api/v1/me/digests).

import { api, errorText, errorDetail } from '../api.js';
import { h, field, select, clear } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDateTime } from '../format.js';
import { panel, errorNotice } from '../widgets.js';

const ROLES = ['employee', 'team_lead', 'manager', 'director'];

function say(el, text, error = false, detail = null) {
  el.textContent = text;
  if (detail) el.title = detail; else el.removeAttribute('title');
  el.className = error ? 'error-text' : 'hint';
  el.setAttribute('role', error ? 'alert' : 'status');
}

// The server names the field at fault as items[i].name: mark that control.
function markField(form, err) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const bad = err?.field ? form.querySelector('[data-field="' + CSS.escape(err.field) + '"]') : null;
  if (bad) {
    bad.setAttribute('aria-invalid', 'true');
    bad.focus();
  }
}

function hourOptions() {
  return Array.from({ length: 24 }, (_, i) => ({ value: String(i), label: String(i).padStart(2, '0') + ':00' }));
}

// One row of the settings table: the role, on/off, its day, its hour.
function settingRow(s, i) {
  const weekly = s.cadence === 'weekly';
  const label = t('dg.role.' + s.role);
  const on = h('input', { type: 'checkbox', name: 'enabled', checked: s.enabled, dataset: { field: `items[${i}].enabled` } });
  on.setAttribute('aria-label', t('dg.enabled.named', { role: label }));
  const day = weekly
    ? select([1, 2, 3, 4, 5, 6, 7].map((d) => ({ value: String(d), label: t('dg.weekday.' + d) })), String(s.weekday),
      { name: 'weekday', dataset: { field: `items[${i}].weekday` } })
    : select(Array.from({ length: 28 }, (_, k) => ({ value: String(k + 1), label: String(k + 1) })), String(s.day_of_month),
      { name: 'day_of_month', dataset: { field: `items[${i}].day_of_month` } });
  day.setAttribute('aria-label', t(weekly ? 'dg.weekday.named' : 'dg.day.named', { role: label }));
  const hour = select(hourOptions(), String(s.hour), { name: 'hour', dataset: { field: `items[${i}].hour` } });
  hour.setAttribute('aria-label', t('dg.hour.named', { role: label }));
  const row = h('tr', { dataset: { role: s.role } },
    h('th', { scope: 'row' }, label),
    h('td', null, t(weekly ? 'dg.weekly' : 'dg.monthly')),
    h('td', null, h('label', { class: 'check' }, on, t('dg.on'))),
    h('td', null, day), h('td', null, hour),
    h('td', null, s.last_period || '–'));
  const read = () => ({ role: s.role, enabled: on.checked, [weekly ? 'weekday' : 'day_of_month']: Number(day.value),
    hour: Number(hour.value) });
  return { row, read };
}

function settingsPanel(cur, onRun) {
  const msg = h('p', { class: 'hint', role: 'status', id: 'dg-msg' });
  const rows = cur.items.map(settingRow);
  const submit = h('button', { type: 'submit', class: 'btn', id: 'dg-save' }, t('dg.save'));
  const form = h('form', { id: 'dg-form', novalidate: true },
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'dg-settings' },
      h('caption', null, t('dg.settings.caption', { tz: cur.time_zone })),
      h('thead', null, h('tr', null, ...['dg.col.role', 'dg.col.cadence', 'dg.col.on', 'dg.col.day', 'dg.col.hour',
        'dg.col.last'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', null, rows.map((r) => r.row)))),
    h('p', { class: 'hint' }, t('dg.settings.note')),
    msg, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      await api('/digests/settings', { method: 'PUT', body: { items: rows.map((r) => r.read()) } });
      markField(form, null);
      say(msg, t('dg.saved'));
    } catch (err) {
      markField(form, err);
      say(msg, errorText(err), true, errorDetail(err));
    } finally {
      submit.disabled = false;
    }
  });

  // send now: the last whole period of the roles that are on, or a chosen role and past period
  const runMsg = h('p', { class: 'hint', role: 'status', id: 'dg-run-msg' });
  const role = select([{ value: '', label: t('dg.run.enabled_roles') },
    ...ROLES.map((r) => ({ value: r, label: t('dg.role.' + r) }))], '', { name: 'role', id: 'dg-run-role' });
  const period = h('input', { type: 'text', name: 'period', id: 'dg-run-period', placeholder: '2026-W49 / 2026-11',
    maxlength: 8, pattern: '\\d{4}-(W\\d{2}|\\d{2})' });
  const run = h('button', { type: 'submit', class: 'btn', id: 'dg-run' }, t('dg.run'));
  const runForm = h('form', { id: 'dg-run-form', novalidate: true },
    h('div', { class: 'form-row' }, field(t('dg.run.role'), role), field(t('dg.run.period'), period, t('dg.run.period.hint'))),
    runMsg, h('div', { class: 'form-actions' }, run));
  runForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    if (role.value) body.role = role.value;
    if (period.value.trim()) body.period = period.value.trim();
    run.disabled = true;
    period.removeAttribute('aria-invalid');
    try {
      // 202: queued; the server's scheduler sends them in its next passes
      const res = await api('/digests/run', { method: 'POST', body });
      say(runMsg, res.mail ? t('dg.run.done', { queued: res.queued }) : t('dg.run.nomail', { queued: res.queued }));
      onRun(res.mail && res.queued > 0);
    } catch (err) {
      if (err?.field === 'period') period.setAttribute('aria-invalid', 'true');
      say(runMsg, errorText(err), true, errorDetail(err));
    } finally {
      run.disabled = false;
    }
  });
  return panel(t('dg.settings.title'), t('dg.settings.sub'), form, h('h3', null, t('dg.run.title')), runForm);
}

function sendsPanel() {
  const body = h('div', { id: 'dg-sends' });
  async function load() {
    let res;
    try {
      res = await api('/digests?limit=100');
    } catch (err) {
      clear(body).append(errorNotice(err));
      return;
    }
    if (!res.items.length) {
      clear(body).append(h('p', { class: 'hint' }, t('dg.sends.none')));
      return;
    }
    clear(body).append(h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'dg-sends-table' },
      h('caption', null, t('dg.sends.caption')),
      h('thead', null, h('tr', null, ...['dg.col.user', 'dg.col.role', 'dg.col.period', 'dg.col.status', 'dg.col.sent',
        'dg.col.error'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', null, res.items.map((m) => h('tr', { dataset: { id: m.id, status: m.status } },
        h('td', null, m.user.name || m.user.email), h('td', null, t('dg.role.' + m.role)), h('td', null, m.period),
        h('td', null, t('dg.status.' + m.status)), h('td', null, m.sent_at ? fmtDateTime(m.sent_at, lang()) : '–'),
        h('td', null, m.last_error || '')))))));
  }
  return { el: panel(t('dg.sends.title'), t('dg.sends.sub'), body), load };
}

export async function render(main) {
  main.append(h('h1', null, t('dg.title')));
  main.append(h('p', { class: 'lead' }, t('dg.intro')));
  let cur;
  try {
    cur = await api('/digests/settings');
  } catch (err) {
    main.append(errorNotice(err));
    return;
  }
  const sends = sendsPanel();
  // after a run that queued mail: the table again a few times while the
  // scheduler's passes send them (each at most 32, one a second)
  let follow = null;
  const onRun = (queued) => {
    sends.load();
    clearTimeout(follow);
    let left = queued ? 5 : 0;
    const again = () => {
      if (left-- <= 0 || !sends.el.isConnected) return;
      follow = setTimeout(async () => { await sends.load(); again(); }, 1500);
    };
    again();
  };
  main.append(settingsPanel(cur, onRun));
  main.append(sends.el);
  await sends.load();
}

// The account page's switch (pages/account.js): the user's own digests.
export async function ownDigestsPanel() {
  const cur = await api('/me/digests');
  if (!cur.receives_digests) return null;
  const msg = h('p', { class: 'hint', role: 'status', id: 'own-digests-msg' });
  const box = h('input', { type: 'checkbox', id: 'own-digests', name: 'digests', checked: cur.digests });
  box.addEventListener('change', async () => {
    box.disabled = true;
    try {
      const res = await api('/me/digests', { method: 'PUT', body: { digests: box.checked } });
      box.checked = res.digests;
      say(msg, t(res.digests ? 'dg.own.on' : 'dg.own.off'));
    } catch (err) {
      box.checked = !box.checked;
      say(msg, errorText(err), true, errorDetail(err));
    } finally {
      box.disabled = false;
    }
  });
  return panel(t('dg.own.title'), null, h('label', { class: 'check' }, box, t('dg.own.label')),
    h('p', { class: 'hint' }, t('dg.own.hint')), msg);
}
