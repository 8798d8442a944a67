// pages/privacy.js — privacy for admins (issue 11; docs/PRIVACY.md): export
// or erase a customer or an employee (the right of access and the right to
// erasure), the retention policy per kind of data, and the audit log of
// who did what, with filters, paging and the CSV / JSON-lines export.
// Every action here is itself an entry in the audit log (the server writes
// it); an erasure cannot be undone, so it asks twice.

import { api, qs, errorText, errorDetail } from '../api.js';
import { h, clear, field, select, announce } from '../dom.js';
import { t } from '../i18n.js';
import { panel, errorNotice } from '../widgets.js';

const KINDS = ['open_text', 'contacts', 'closed_cases'];

// The export as a file the admin can hand over (JSON, UTF-8).
function download(name, data) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// ---- export / erase ----------------------------------------------------------------

function personPanel() {
  const kind = select([{ value: 'customer', label: t('privacy.kind.customer') },
                       { value: 'employee', label: t('privacy.kind.employee') }], 'customer', { id: 'privacy-kind' });
  const id = h('input', { id: 'privacy-id', type: 'number', min: '1', step: '1', required: true, inputmode: 'numeric' });
  const out = h('div', { id: 'privacy-result', role: 'status' });
  const summary = h('div', { id: 'privacy-summary' });
  const path = () => '/' + (kind.value === 'customer' ? 'customers' : 'employees') + '/' + encodeURIComponent(id.value);
  const valid = () => /^[1-9][0-9]*$/.test(id.value);
  // title: the server's own words when in another language
  const show = (cls, text, title) => clear(out).append(h('p', { class: 'notice ' + cls, title }, text));

  const doExport = async () => {
    if (!valid()) return show('notice-error', t('privacy.id.invalid'));
    try {
      const data = await api(path() + '/export');
      clear(summary).append(exportSummary(data));
      download(kind.value + '-' + id.value + '.json', data);
      show('', t('privacy.exported'));
      announce(t('privacy.exported'));
    } catch (err) {
      show('notice-error', errorText(err), errorDetail(err));
    }
  };
  const doErase = async () => {
    if (!valid()) return show('notice-error', t('privacy.id.invalid'));
    const what = t('privacy.kind.' + kind.value) + ' ' + id.value;
    if (!window.confirm(t('privacy.erase.confirm', { what }))) return;
    try {
      const r = await api(path() + '/erase', { method: 'POST', body: { confirm: true } });
      clear(summary);
      if (r.already_erased) return show('', t('privacy.erase.already', { what }));
      const c = r.counts || {};
      show('', t('privacy.erased', { what, responses: c.responses ?? 0, texts: c.open_texts ?? 0,
        contacts: c.contacts ?? 0, cases: c.cases ?? 0 }));
      announce(t('privacy.erased.short'));
    } catch (err) {
      show('notice-error', errorText(err), errorDetail(err));
    }
  };
  return panel(t('privacy.person'), null,
    h('p', { class: 'hint' }, t('privacy.person.intro')),
    h('div', { class: 'form-row' }, field(t('privacy.kind'), kind), field(t('privacy.id'), id)),
    h('div', { class: 'form-row' },
      h('button', { type: 'button', class: 'btn', id: 'privacy-export', onclick: doExport }, t('privacy.export')),
      h('button', { type: 'button', class: 'btn btn-secondary', id: 'privacy-erase', onclick: doErase }, t('privacy.erase'))),
    out, summary);
}

// What the export holds, counted per part, so the admin sees it is whole.
function exportSummary(d) {
  const rows = [];
  for (const [k, v] of Object.entries(d)) {
    if (Array.isArray(v)) rows.push(h('tr', null, h('th', { scope: 'row' }, k), h('td', { class: 'num' }, String(v.length))));
  }
  return h('table', { class: 'table', id: 'privacy-export-summary' },
    h('caption', null, t('privacy.export.summary')),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('privacy.part')), h('th', { scope: 'col' }, t('privacy.rows')))),
    h('tbody', null, rows));
}

// ---- retention ----------------------------------------------------------------------

function retentionPanel(policy) {
  const inputs = {};
  const out = h('div', { id: 'retention-result', role: 'status' });
  const body = h('tbody');
  for (const k of KINDS) {
    inputs[k] = h('input', { type: 'number', min: '0', max: '240', step: '1', id: 'retention-' + k,
                              value: String(policy[k]?.months ?? '') });
    body.append(h('tr', null,
      h('th', { scope: 'row' }, h('label', { for: inputs[k].id }, t('retention.' + k))),
      h('td', null, inputs[k]),
      h('td', { class: 'hint' }, t('retention.default', { n: policy[k]?.default ?? '' }))));
  }
  const save = async () => {
    const change = {};
    for (const k of KINDS) change[k] = Number(inputs[k].value);
    try {
      const r = await api('/retention', { method: 'PUT', body: change });
      for (const k of KINDS) inputs[k].value = String(r[k]?.months ?? '');
      clear(out).append(h('p', { class: 'notice' }, t('saved')));
      announce(t('saved'));
    } catch (err) {
      clear(out).append(h('p', { class: 'notice notice-error', title: errorDetail(err) }, errorText(err)));
      if (err.field && inputs[err.field]) inputs[err.field].focus();
    }
  };
  return panel(t('retention.title'), null,
    h('p', { class: 'hint' }, t('retention.intro')),
    h('table', { class: 'table', id: 'retention-table' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('retention.kind')),
        h('th', { scope: 'col' }, t('retention.months')), h('th', { scope: 'col' }, t('retention.default.col')))),
      body),
    h('button', { type: 'button', class: 'btn', id: 'retention-save', onclick: save }, t('privacy.save')),
    out);
}

// ---- audit log ----------------------------------------------------------------------

function auditPanel() {
  const actor = h('input', { id: 'audit-actor', type: 'text', placeholder: t('audit.actor.hint'), size: 8 });
  const action = h('input', { id: 'audit-action', type: 'text', placeholder: 'case.*', size: 16 });
  const from = h('input', { id: 'audit-from', type: 'date' });
  const to = h('input', { id: 'audit-to', type: 'date' });
  const list = h('tbody', { id: 'audit-rows' });
  const status = h('div', { role: 'status', id: 'audit-status' });
  const more = h('button', { type: 'button', class: 'btn', id: 'audit-more', hidden: true }, t('audit.more'));
  const csv = h('a', { class: 'btn', id: 'audit-csv' }, t('audit.csv'));
  const jsonl = h('a', { class: 'btn', id: 'audit-jsonl' }, t('audit.jsonl'));
  let cursor = null;

  const filters = () => ({ actor: actor.value.trim(), action: action.value.trim(), from: from.value, to: to.value });
  const load = async (next) => {
    if (!next) {
      clear(list);
      cursor = null;
    }
    const f = filters();
    csv.href = '/api/v1/audit/export' + qs({ ...f, format: 'csv' });
    jsonl.href = '/api/v1/audit/export' + qs({ ...f, format: 'jsonl' });
    try {
      const r = await api('/audit', { query: { ...f, limit: 50, cursor } });
      for (const e of r.items) list.append(auditRow(e));
      cursor = r.next_cursor;
      more.hidden = cursor === null;
      clear(status).append(list.children.length ? '' : h('p', { class: 'hint' }, t('audit.none')));
    } catch (err) {
      clear(status).append(h('p', { class: 'notice notice-error', title: errorDetail(err) }, errorText(err)));
    }
  };
  more.addEventListener('click', () => load(true));
  const form = h('form', { class: 'form-row', id: 'audit-filter', onsubmit: (ev) => { ev.preventDefault(); load(false); } },
    field(t('audit.actor'), actor), field(t('audit.action'), action), field(t('audit.from'), from), field(t('audit.to'), to),
    h('button', { type: 'submit', class: 'btn' }, t('audit.filter')));
  load(false);
  return panel(t('audit.title'), null,
    h('p', { class: 'hint' }, t('audit.intro')),
    form,
    h('table', { class: 'table', id: 'audit-table' },
      h('thead', null, h('tr', null, ['audit.at', 'audit.actor', 'audit.addr', 'audit.action', 'audit.object', 'audit.detail']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
      list),
    status, more, h('div', { class: 'form-row' }, csv, jsonl));
}

function auditRow(e) {
  const obj = e.object_kind ? e.object_kind + (e.object_id !== null ? ' ' + e.object_id : '') : '';
  return h('tr', { dataset: { id: e.id, action: e.action } },
    h('td', null, e.at),
    h('td', null, e.actor_user_id === null ? t('audit.system') : String(e.actor_user_id)),
    h('td', null, e.client_addr || ''),
    h('td', null, h('code', null, e.action)),
    h('td', null, obj),
    h('td', null, h('code', null, JSON.stringify(e.detail))));
}

export async function render(main, ctx) {
  main.append(h('h1', null, t('privacy.title')));
  main.append(h('p', { class: 'hint' }, t('privacy.intro')));
  let policy;
  try {
    policy = await api('/retention');
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  main.append(h('div', { id: 'privacy-person' }, personPanel()));
  main.append(h('div', { id: 'privacy-retention' }, retentionPanel(policy)));
  main.append(h('div', { id: 'privacy-audit' }, auditPanel()));
}
