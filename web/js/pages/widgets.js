// pages/widgets.js — the public score widgets (issue 16 H3, "Scores made
// public"): the admin section #/admin/widgets. Lists the widgets of
// GET /api/v1/widgets with what each shows, switches one on or off, deletes
// one, creates one (scope organisation / location / touchpoint with a picker
// of its rows, measure, period), shows the embed snippet (an <iframe> of
// /w/TOKEN) and the JSON address with copy buttons, and a live preview: the
// public page itself in an iframe, exactly what a visitor sees.
//
// The API keeps the list whole: every change PUTs the full list (tokens of
// the widgets that stay, so their public addresses stay too). The server
// checks every value and names the member it refuses; the refusal is shown
// at the form.

import { api, errorDetail } from '../api.js';
import { h, field, select, clear, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDateTime } from '../format.js';
import { panel, periodOptions, periodLabel } from '../widgets.js';
import { say, errText, listAll } from './admin.js';

const SCOPES = ['organisation', 'team', 'touchpoint'];
const MEASURES = ['grade', 'nps'];

// The rows a scope may name: units of kind organisation, any other unit
// (a location: department or team), or touchpoints.
function scopeRows(scope, units, tps) {
  if (scope === 'touchpoint') return tps.map((x) => ({ value: x.id, label: x.name }));
  const orgs = units.filter((u) => (scope === 'organisation') === (u.kind === 'organisation'));
  return orgs.map((u) => ({ value: u.id, label: u.name + (scope === 'team' ? ' (' + t('admin.kind.' + u.kind) + ')' : '') }));
}

// Whole periods only (docs/API.md): the two relative ones, then the
// calendar's recent months, quarters and years.
function widgetPeriods() {
  return [{ value: 'previous_quarter', label: t('wg.period.previous_quarter') },
    { value: 'previous_year', label: t('wg.period.previous_year') }]
    .concat(periodOptions().filter((o) => o.value !== ''));
}

function periodText(p) {
  if (p === 'previous_quarter' || p === 'previous_year') return t('wg.period.' + p);
  return periodLabel(p);
}

// What the widget shows, in words: "Cijfer — Team Noord — vorig kwartaal".
function scopeName(w, units, tps) {
  const list = w.scope === 'touchpoint' ? tps : units;
  const row = list.find((x) => x.id === w.scope_id);
  return row ? row.name : '#' + w.scope_id;
}

// The snippet a site pastes: the public page in an iframe, titled for
// screen readers, no border; the size fits the page's card.
export function embedSnippet(w, title) {
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return '<iframe src="' + esc(w.url) + '" title="' + esc(title) + '" width="260" height="170"'
    + ' style="border:0" loading="lazy"></iframe>';
}

// The fields of an item as PUT takes them back.
function putItem(w) {
  return { token: w.token, scope: w.scope, scope_id: w.scope_id, measure: w.measure, period: w.period, enabled: w.enabled };
}

function copyButton(id, textOf, msg) {
  return h('button', {
    type: 'button', class: 'btn btn-secondary btn-small', dataset: { copy: id },
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(textOf());
        say(msg, t('wg.copied'));
      } catch {
        // no clipboard (an http page, a denied permission): the text is
        // selected in its field so Ctrl+C copies it
        const el = document.getElementById(id);
        el?.focus();
        el?.select();
        say(msg, t('wg.copy.select'));
      }
    },
  }, t('wg.copy'));
}

function widgetItem(w, ctx) {
  const { units, tps, msg, save } = ctx;
  const name = scopeName(w, units, tps);
  const title = t('wg.measure.' + w.measure) + ' — ' + name;
  const snippetId = 'wg-snippet-' + w.token;
  const jsonId = 'wg-json-' + w.token;
  const snippet = h('textarea', { id: snippetId, readonly: true, rows: 3, class: 'code', dataset: { snippet: w.token } },
    embedSnippet(w, title));
  const json = h('input', { type: 'text', id: jsonId, readonly: true, value: w.json_url, class: 'code', dataset: { json: w.token } });
  const preview = h('div', { class: 'wg-preview', dataset: { preview: w.token } });
  const showPreview = () => {
    clear(preview);
    if (!w.enabled) {
      preview.append(h('p', { class: 'hint' }, t('wg.preview.off')));
      return;
    }
    // the public page from this origin (the snippet's address may be the
    // public host, which this browser need not reach)
    preview.append(h('iframe', {
      src: '/w/' + encodeURIComponent(w.token) + (lang() === 'en' ? '?lang=en' : ''),
      title: t('wg.preview.title', { name: title }), width: 260, height: 170, class: 'wg-frame',
    }));
  };
  const toggle = h('button', {
    type: 'button', class: 'btn btn-secondary btn-small', dataset: { toggle: w.token }, 'aria-pressed': String(w.enabled),
    onclick: () => save((list) => list.map((x) => (x.token === w.token ? { ...x, enabled: !x.enabled } : x)),
      t(w.enabled ? 'wg.disabled' : 'wg.enabled', { name: title })),
  }, t(w.enabled ? 'wg.disable' : 'wg.enable'));
  const del = h('button', {
    type: 'button', class: 'btn btn-secondary btn-small', dataset: { delete: w.token },
    onclick: () => {
      if (!window.confirm(t('wg.delete.confirm', { name: title }))) return;
      save((list) => list.filter((x) => x.token !== w.token), t('wg.deleted', { name: title }));
    },
  }, t('wg.delete'));
  del.setAttribute('aria-label', t('wg.delete.named', { name: title }));
  toggle.setAttribute('aria-label', t(w.enabled ? 'wg.disable.named' : 'wg.enable.named', { name: title }));
  const item = h('li', { class: 'panel admin-item wg-item', dataset: { token: w.token, enabled: String(w.enabled) } },
    h('h3', null, title),
    h('p', { class: 'wg-facts' },
      h('span', { class: 'badge' + (w.enabled ? '' : ' badge-off') }, t(w.enabled ? 'wg.on' : 'wg.off')), ' ',
      t('wg.scope.' + w.scope), ' · ', periodText(w.period),
      w.updated_at ? ' · ' + t('wg.updated', { when: fmtDateTime(w.updated_at, lang()) }) : null),
    h('div', { class: 'form-actions' }, toggle, del),
    field(t('wg.snippet'), snippet, t('wg.snippet.hint')), copyButton(snippetId, () => snippet.value, msg),
    field(t('wg.json'), json), copyButton(jsonId, () => json.value, msg),
    h('p', { class: 'wg-public' }, h('a', { href: w.url, target: '_blank', rel: 'noopener' }, t('wg.open'))),
    h('h4', null, t('wg.preview')), preview);
  showPreview();
  return item;
}

function createForm(ctx) {
  const { units, tps, save } = ctx;
  const msg = h('p', { class: 'hint', role: 'status', id: 'wg-create-msg' });
  const scope = select(SCOPES.map((s) => ({ value: s, label: t('wg.scope.' + s) })), 'organisation', { name: 'scope', id: 'wg-scope' });
  const rowHolder = h('div');
  let rowSel = null;
  const fillRows = () => {
    rowSel = select(scopeRows(scope.value, units, tps), '', { name: 'scope_id', id: 'wg-scope-id' });
    clear(rowHolder).append(field(t('wg.scope_id.' + scope.value), rowSel));
  };
  scope.addEventListener('change', fillRows);
  fillRows();
  const measure = select(MEASURES.map((m) => ({ value: m, label: t('wg.measure.' + m) })), 'grade', { name: 'measure', id: 'wg-measure' });
  const period = select(widgetPeriods(), 'previous_quarter', { name: 'period', id: 'wg-period' });
  const submit = h('button', { type: 'submit', class: 'btn', id: 'wg-create' }, t('wg.create'));
  const form = h('form', { id: 'wg-create-form', novalidate: true },
    field(t('wg.scope'), scope), rowHolder, field(t('wg.measure'), measure, t('wg.measure.hint')),
    field(t('wg.period'), period, t('wg.period.hint')), msg, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!rowSel.value) return say(msg, t('wg.scope_id.none'), true);
    const item = { scope: scope.value, scope_id: Number(rowSel.value), measure: measure.value, period: period.value, enabled: true };
    submit.disabled = true;
    await save((list) => list.concat([item]), t('wg.created'), { form, msg });
    submit.disabled = false;
  });
  return form;
}

export async function widgetsSection(body) {
  const [res, units, tps] = await Promise.all([api('/widgets'), listAll('teams'), listAll('touchpoints')]);
  let widgets = res.widgets || [];
  const msg = h('p', { class: 'hint', role: 'status', id: 'wg-msg' });
  const listEl = h('ul', { id: 'wg-list', class: 'plain-list' });
  const ctx = { units, tps, msg, save: null };

  function draw() {
    clear(listEl);
    if (widgets.length === 0) listEl.append(h('li', { class: 'empty' }, t('wg.none')));
    for (const w of widgets) listEl.append(widgetItem(w, ctx));
  }

  // PUT the list changed by change(list of PUT items); on a refusal the
  // list stays as it was and the message names the field.
  ctx.save = async (change, done, { form, msg: formMsg } = {}) => {
    const out = formMsg || msg;
    try {
      const r = await api('/widgets', { method: 'PUT', body: { widgets: change(widgets.map(putItem)) } });
      widgets = r.widgets || [];
      draw();
      say(msg, done);
      if (formMsg) say(formMsg, done);
      announce(done);
      if (form) for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    } catch (err) {
      // the server names e.g. widgets[3].period: the new item's control
      const m = /^widgets\[\d+\]\.(\w+)$/.exec(err?.field || '');
      const bad = form && m ? form.querySelector('[name="' + m[1] + '"]') : null;
      if (bad) {
        bad.setAttribute('aria-invalid', 'true');
        bad.focus();
      }
      // said with the control's own name ("Periode"), not the list index
      const named = m ? Object.assign(Object.create(Object.getPrototypeOf(err)), err, { field: m[1] }) : err;
      say(out, errText(named), true, errorDetail(err));
    }
  };

  draw();
  body.append(panel(t('wg.title'), t('wg.sub'), h('p', { class: 'hint' }, t('wg.note')), msg, listEl),
    panel(t('wg.new'), null, createForm(ctx)));
}
