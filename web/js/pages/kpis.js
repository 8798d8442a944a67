// pages/kpis.js — the hard KPIs (issue 17, part K; docs/GOVERNANCE.md
// "KPIs"): #/kpis for directors and admins (the server checks every call).
//
// - the catalogue: name, unit, direction, department, kind, aggregation,
//   built-in or not; admins add and edit a KPI (a built-in one only its
//   names) and delete one that is not built in;
// - values per org unit × month: one KPI at one level as a table, from GET
//   /api/v1/kpi-series (a department without its own value shows its
//   teams' aggregate, marked);
// - the import (admins): a CSV pasted or chosen as a file, sent as
//   {"csv": text}; a refused file shows the line at fault beside the
//   server's reason (lines[N].column);
// - targets per org unit (directors and admins): goals are set for teams,
//   never for individual people — the form has no person to choose.

import { api, errorDetail } from '../api.js';
import { h, field, select, clear } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNumber, fmtPeriod } from '../format.js';
import { panel, errorNotice } from '../widgets.js';
import { say, errText, listAll } from './admin.js';

const DEPARTMENTS = ['sales', 'marketing', 'finance', 'operations', 'hr', 'service'];
const KINDS = ['output', 'outcome', 'impact'];
const AGGREGATIONS = ['sum', 'mean', 'last'];
const LEVELS = ['team', 'department', 'organisation'];
const SOFT = ['nps', 'grade', 'ces', 'enps', 'response_rate', 'case_sla'];

function kpiName(k) {
  return (lang() === 'en' ? k.name_en : k.name_nl) || k.key;
}

function fmtValue(v) {
  if (v === null || v === undefined) return '–';
  const a = Math.abs(v);
  return fmtNumber(v, lang(), a >= 100 ? 0 : a >= 10 ? 1 : 2);
}

// The months YYYY-MM of the last n up to this one.
function lastMonths(n, now = new Date()) {
  const out = [];
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 15));
    out.push(d.toISOString().slice(0, 7));
  }
  return out;
}

// ---- the catalogue ------------------------------------------------------------------------

function catalogueTable(kpis, ctx) {
  const rows = kpis.map((k) => h('tr', { dataset: { kpi: k.key } },
    h('th', { scope: 'row' }, kpiName(k), k.builtin ? [' ', h('span', { class: 'badge badge-off' }, t('kpis.builtin'))] : null),
    h('td', { class: 'code' }, k.key),
    h('td', null, k.unit),
    h('td', null, t(k.higher_is_better ? 'kpis.higher' : 'kpis.lower')),
    h('td', null, t('kpis.dept.' + k.department)),
    h('td', null, t('kpis.kind.' + k.kind)),
    h('td', null, t('kpis.agg.' + k.aggregation)),
    ctx.admin ? h('td', null,
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', dataset: { edit: k.key },
        'aria-label': t('kpis.edit.named', { name: kpiName(k) }), onclick: () => ctx.edit(k) }, t('kpis.edit')),
      k.builtin ? null : h('button', { type: 'button', class: 'btn btn-secondary btn-small', dataset: { delete: k.key },
        'aria-label': t('kpis.delete.named', { name: kpiName(k) }), onclick: () => ctx.remove(k) }, t('kpis.delete')))
      : null));
  return h('table', { class: 'table', id: 'kpi-catalogue' },
    h('caption', null, t('kpis.catalogue.caption')),
    h('thead', null, h('tr', null,
      [t('kpis.col.name'), t('kpis.col.key'), t('kpis.col.unit'), t('kpis.col.direction'), t('kpis.col.department'),
        t('kpis.col.kind'), t('kpis.col.aggregation')].map((c) => h('th', { scope: 'col' }, c)),
      ctx.admin ? h('th', { scope: 'col' }, t('kpis.col.actions')) : null)),
    h('tbody', null, rows));
}

// The add / edit form; kpi null = a new one. A built-in KPI changes only its names.
function kpiForm(kpi, onSaved, onCancel) {
  const msg = h('p', { class: 'hint', role: 'status', id: 'kpi-form-msg' });
  const fixed = Boolean(kpi?.builtin);
  const key = h('input', { type: 'text', name: 'key', id: 'kpi-key', required: true, maxlength: 40, class: 'code',
    pattern: '[a-z0-9_]{1,40}', value: kpi?.key ?? '', disabled: Boolean(kpi) });
  const nameNl = h('input', { type: 'text', name: 'name_nl', id: 'kpi-name-nl', required: true, maxlength: 200, value: kpi?.name_nl ?? '' });
  const nameEn = h('input', { type: 'text', name: 'name_en', id: 'kpi-name-en', required: true, maxlength: 200, value: kpi?.name_en ?? '' });
  const unit = h('input', { type: 'text', name: 'unit', id: 'kpi-unit', required: true, maxlength: 16, value: kpi?.unit ?? 'EUR', disabled: fixed });
  const dir = select([{ value: 'true', label: t('kpis.higher') }, { value: 'false', label: t('kpis.lower') }],
    String(kpi ? kpi.higher_is_better : true), { name: 'higher_is_better', id: 'kpi-direction', disabled: fixed });
  const dept = select(DEPARTMENTS.map((d) => ({ value: d, label: t('kpis.dept.' + d) })), kpi?.department ?? 'operations',
    { name: 'department', id: 'kpi-department', disabled: fixed });
  const kind = select(KINDS.map((k) => ({ value: k, label: t('kpis.kind.' + k) })), kpi?.kind ?? 'output',
    { name: 'kind', id: 'kpi-kind', disabled: fixed });
  const agg = select(AGGREGATIONS.map((a) => ({ value: a, label: t('kpis.agg.' + a) })), kpi?.aggregation ?? 'mean',
    { name: 'aggregation', id: 'kpi-aggregation', disabled: fixed });
  const submit = h('button', { type: 'submit', class: 'btn', id: 'kpi-save' }, t(kpi ? 'kpis.save' : 'kpis.add'));
  const cancel = kpi ? h('button', { type: 'button', class: 'btn btn-secondary', id: 'kpi-cancel', onclick: onCancel }, t('kpis.cancel')) : null;
  const form = h('form', { id: 'kpi-form', novalidate: true, dataset: { editing: kpi ? kpi.id : '' } },
    h('div', { class: 'form-row' }, field(t('kpis.col.key'), key, t('kpis.key.hint')), field(t('kpis.col.unit'), unit)),
    h('div', { class: 'form-row' }, field(t('kpis.name_nl'), nameNl), field(t('kpis.name_en'), nameEn)),
    h('div', { class: 'form-row' }, field(t('kpis.col.direction'), dir), field(t('kpis.col.department'), dept)),
    h('div', { class: 'form-row' }, field(t('kpis.col.kind'), kind, t('kpis.kind.hint')), field(t('kpis.col.aggregation'), agg, t('kpis.agg.hint'))),
    fixed ? h('p', { class: 'hint' }, t('kpis.builtin.hint')) : null,
    msg, h('div', { class: 'form-actions' }, submit, cancel));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const body = { name_nl: nameNl.value.trim(), name_en: nameEn.value.trim() };
    if (!fixed) Object.assign(body, { unit: unit.value.trim(), higher_is_better: dir.value === 'true', department: dept.value,
      kind: kind.value, aggregation: agg.value });
    if (!kpi) body.key = key.value.trim();
    submit.disabled = true;
    try {
      const saved = await api(kpi ? '/kpis/' + kpi.id : '/kpis', { method: kpi ? 'PUT' : 'POST', body });
      onSaved(saved, t(kpi ? 'kpis.saved' : 'kpis.added', { name: kpiName(saved) }));
    } catch (err) {
      const bad = err?.field ? form.querySelector('[name="' + err.field + '"]') : null;
      if (bad) {
        bad.setAttribute('aria-invalid', 'true');
        bad.focus();
      }
      say(msg, err?.status === 422 && err.field ? t('kpis.invalid', { field: err.field, msg: err.serverMessage || '' }) : errText(err),
        true, errorDetail(err));
    }
    submit.disabled = false;
  });
  return form;
}

// ---- values per unit × month ------------------------------------------------------------------

function valuesPanel(kpis) {
  const months = lastMonths(12);
  const kpiSel = select([...kpis.map((k) => ({ value: k.key, label: kpiName(k) })),
    ...SOFT.map((s) => ({ value: s, label: t('kpis.soft.' + s) }))], kpis.find((k) => k.key === 'cost_to_serve') ? 'cost_to_serve' : kpis[0]?.key,
  { id: 'values-kpi', name: 'kpi' });
  const level = select(LEVELS.map((l) => ({ value: l, label: t('kpis.level.' + l) })), 'team', { id: 'values-level', name: 'level' });
  const from = h('input', { type: 'month', id: 'values-from', name: 'from', value: months[0] });
  const to = h('input', { type: 'month', id: 'values-to', name: 'to', value: months[months.length - 1] });
  const out = h('div', { id: 'values-table', 'aria-live': 'polite' });
  const msg = h('p', { class: 'hint', role: 'status', id: 'values-msg' });
  async function load() {
    clear(out);
    try {
      const s = await api('/kpi-series', { query: { kpi: kpiSel.value, level: level.value, from: from.value, to: to.value } });
      const head = h('tr', null, h('th', { scope: 'col' }, t('kpis.col.unit_name')), s.periods.map((p) => h('th', { scope: 'col' }, fmtPeriod(p, lang()))));
      const body = s.units.map((u) => h('tr', { dataset: { unit: u.unit_id } },
        h('th', { scope: 'row' }, u.name || String(u.unit_id)),
        u.values.map((v, i) => h('td', { class: 'num', dataset: { period: s.periods[i] },
          title: !s.soft && u.n[i] > 1 ? t('kpis.aggregated', { n: u.n[i] }) : null },
        fmtValue(v), !s.soft && u.n[i] > 1 ? '*' : null))));
      out.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'values' },
        h('caption', null, t('kpis.values.caption', { kpi: kpiSel.options[kpiSel.selectedIndex].text, level: t('kpis.level.' + level.value) })),
        h('thead', null, head), h('tbody', null, body))),
      h('p', { class: 'hint' }, s.soft ? t('kpis.values.soft', { n: s.min_n }) : t('kpis.values.aggregated')));
      say(msg, '');
    } catch (err) {
      say(msg, errText(err), true, errorDetail(err));
    }
  }
  const show = h('button', { type: 'button', class: 'btn', id: 'values-show', onclick: load }, t('kpis.values.show'));
  for (const el of [kpiSel, level]) el.addEventListener('change', load);
  load();
  return panel(t('kpis.values.title'), t('kpis.values.sub'),
    h('div', { class: 'form-row' }, field(t('kpis.col.kpi'), kpiSel), field(t('kpis.col.level'), level),
      field(t('kpis.from'), from), field(t('kpis.to'), to)),
    h('div', { class: 'form-actions' }, show), msg, out);
}

// ---- the import ------------------------------------------------------------------------------

function importPanel(onDone) {
  const text = h('textarea', { id: 'import-csv', name: 'csv', rows: 8, class: 'code', spellcheck: 'false',
    placeholder: 'kpi,unit,period,value\ncost_to_serve,Team Telefonie Noord,2026-10,41.50' });
  const file = h('input', { type: 'file', id: 'import-file', accept: '.csv,text/csv' });
  file.addEventListener('change', async () => {
    if (file.files && file.files[0]) text.value = await file.files[0].text();
  });
  const msg = h('p', { class: 'hint', role: 'status', id: 'import-msg' });
  const where = h('pre', { class: 'code import-line', id: 'import-line', hidden: true });
  const send = h('button', { type: 'button', class: 'btn', id: 'import-send', onclick: async () => {
    where.hidden = true;
    send.disabled = true;
    try {
      const r = await api('/kpis/import', { method: 'POST', body: { csv: text.value } });
      say(msg, t('kpis.import.done', { rows: r.rows, kpis: r.kpis, units: r.units, periods: r.periods }));
      onDone();
    } catch (err) {
      const m = /^lines\[(\d+)\](?:\.(\w+))?$/.exec(err?.field || '');
      if (m) {
        const n = Number(m[1]);
        // the server's "line N: column: reason", without what the sentence already says
        const reason = (err.serverMessage || '').replace(/^line \d+: /, '').replace(new RegExp('^' + (m[2] || '') + ': '), '');
        say(msg, t('kpis.import.line', { line: n, column: m[2] || '–', msg: reason }), true);
        const lines = text.value.replace(/^\ufeff/, '').split(/\r?\n/);
        where.textContent = n + ': ' + (lines[n - 1] ?? '');
        where.hidden = false;
      } else {
        say(msg, errText(err), true, errorDetail(err));
      }
    }
    send.disabled = false;
  } }, t('kpis.import.send'));
  return panel(t('kpis.import.title'), t('kpis.import.sub'),
    h('p', { class: 'hint' }, t('kpis.import.hint')),
    field(t('kpis.import.paste'), text), field(t('kpis.import.file'), file),
    h('div', { class: 'form-actions' }, send), msg, where);
}

// ---- targets --------------------------------------------------------------------------------

function targetsPanel(kpis, units) {
  const unitName = new Map(units.map((u) => [u.id, u.name]));
  const keys = [...kpis.map((k) => ({ value: k.key, label: kpiName(k) })), ...SOFT.map((s) => ({ value: s, label: t('kpis.soft.' + s) }))];
  const kpiSel = select(keys, keys[0]?.value, { id: 'target-kpi', name: 'kpi' });
  const unitSel = select(units.map((u) => ({ value: u.id, label: u.name + ' (' + t('kpis.level.' + u.kind) + ')' })),
    units[0]?.id, { id: 'target-unit', name: 'unit_id' });
  const period = h('input', { type: 'text', id: 'target-period', name: 'period', required: true, maxlength: 7,
    value: String(new Date().getUTCFullYear() + 1), placeholder: '2027, 2027-Q1, 2027-03' });
  const value = h('input', { type: 'number', id: 'target-value', name: 'target', step: 'any', required: true });
  const msg = h('p', { class: 'hint', role: 'status', id: 'target-msg' });
  const list = h('tbody', { id: 'targets-body' });
  async function load() {
    clear(list);
    const r = await api('/kpi-targets');
    if (r.targets.length === 0) list.append(h('tr', null, h('td', { colspan: 5, class: 'empty' }, t('kpis.targets.none'))));
    for (const x of r.targets) {
      const k = kpis.find((c) => c.key === x.kpi);
      list.append(h('tr', { dataset: { target: x.kpi + '|' + x.unit_id + '|' + x.period } },
        h('td', null, k ? kpiName(k) : (SOFT.includes(x.kpi) ? t('kpis.soft.' + x.kpi) : x.kpi)),
        h('td', null, unitName.get(x.unit_id) || String(x.unit_id)),
        h('td', null, x.period), h('td', { class: 'num' }, fmtValue(x.target)),
        h('td', null, h('button', { type: 'button', class: 'btn btn-secondary btn-small', onclick: async () => {
          try {
            await api('/kpi-targets', { method: 'DELETE', query: { kpi: x.kpi, unit_id: x.unit_id, period: x.period } });
            say(msg, t('kpis.targets.deleted'));
            load();
          } catch (err) {
            say(msg, errText(err), true, errorDetail(err));
          }
        } }, t('kpis.delete')))));
    }
  }
  const form = h('form', { id: 'target-form', novalidate: true },
    h('div', { class: 'form-row' }, field(t('kpis.col.kpi'), kpiSel), field(t('kpis.targets.unit'), unitSel, t('kpis.targets.unit.hint')),
      field(t('kpis.targets.period'), period, t('kpis.targets.period.hint')), field(t('kpis.targets.value'), value)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn', id: 'target-save' }, t('kpis.targets.save'))), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('/kpi-targets', { method: 'PUT', body: { kpi: kpiSel.value, unit_id: Number(unitSel.value),
        period: period.value.trim(), target: Number(value.value) } });
      say(msg, t('kpis.targets.saved'));
      load();
    } catch (err) {
      say(msg, err?.status === 422 && err.field ? t('kpis.invalid', { field: err.field, msg: err.serverMessage || '' }) : errText(err),
        true, errorDetail(err));
    }
  });
  load().catch((err) => say(msg, errText(err), true, errorDetail(err)));
  return panel(t('kpis.targets.title'), t('kpis.targets.sub'),
    h('p', { class: 'hint', id: 'targets-teams-note' }, t('kpis.targets.teams')),
    form,
    h('table', { class: 'table', id: 'targets' }, h('caption', null, t('kpis.targets.caption')),
      h('thead', null, h('tr', null, [t('kpis.col.kpi'), t('kpis.targets.unit'), t('kpis.targets.period'), t('kpis.targets.value'), '']
        .map((c) => h('th', { scope: 'col' }, c)))), list));
}

// ---- the page --------------------------------------------------------------------------------

export async function render(main, ctx) {
  const admin = ctx?.user?.role === 'admin';
  main.append(h('h1', null, t('kpis.title')), h('p', { class: 'lead' }, t('kpis.lead')));
  let kpis;
  let units;
  try {
    kpis = (await api('/kpis')).kpis || [];
    units = (await listAll('teams')).sort((a, b) => LEVELS.indexOf(b.kind) - LEVELS.indexOf(a.kind) || a.id - b.id);
  } catch (err) {
    main.append(errorNotice(err));
    return;
  }
  const msg = h('p', { class: 'hint', role: 'status', id: 'kpis-msg' });
  const tableHolder = h('div', { id: 'kpi-catalogue-holder' });
  const formHolder = h('div', { id: 'kpi-form-holder' });
  const formTitle = h('h3', { id: 'kpi-form-title' });
  const cat = {
    admin,
    edit: (k) => showForm(k),
    remove: async (k) => {
      if (!window.confirm(t('kpis.delete.confirm', { name: kpiName(k) }))) return;
      try {
        await api('/kpis/' + k.id, { method: 'DELETE' });
        kpis = kpis.filter((x) => x.id !== k.id);
        draw();
        say(msg, t('kpis.deleted', { name: kpiName(k) }));
      } catch (err) {
        say(msg, errText(err), true, errorDetail(err));
      }
    },
  };
  function draw() {
    clear(tableHolder);
    tableHolder.append(h('div', { class: 'table-wrap' }, catalogueTable(kpis, cat)));
  }
  function showForm(k) {
    if (!admin) return;
    clear(formHolder);
    formTitle.textContent = k ? t('kpis.edit.title', { name: kpiName(k) }) : t('kpis.add.title');
    formHolder.append(kpiForm(k, (saved, text) => {
      const i = kpis.findIndex((x) => x.id === saved.id);
      if (i >= 0) kpis[i] = saved; else kpis.push(saved);
      draw();
      showForm(null);
      say(msg, text);
    }, () => showForm(null)));
    if (k) formHolder.querySelector('#kpi-name-nl')?.focus();
  }
  draw();
  showForm(null);
  main.append(panel(t('kpis.catalogue.title'), t('kpis.catalogue.sub'), msg, tableHolder,
    admin ? [formTitle, formHolder] : h('p', { class: 'hint' }, t('kpis.catalogue.readonly'))));
  const values = valuesPanel(kpis);
  main.append(values);
  if (admin) main.append(importPanel(() => values.querySelector('#values-show')?.click()));
  main.append(targetsPanel(kpis, units));
}
