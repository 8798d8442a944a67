// pages/review_settings.js — review invitations (issue 16 H3), a panel of
// the admin settings (#/admin/settings): on/off, the review page (https),
// whom to invite (issue 16 H7: everyone who answered, or promoters only with
// a warning — review gating breaks the review sites' policies), the lowest
// NPS invited under "promoters" and the interval per customer
// (GET|PUT /api/v1/review-invitations/settings), and how many were invited,
// followed the link and wrote a review, with their 95 % intervals
// (GET /api/v1/review-invitations/stats). docs/API.md "Review invitations".

import { api, errorDetail } from '../api.js';
import { h, field, select } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDateTime, fmtInt, fmtPct } from '../format.js';
import { panel } from '../widgets.js';
import { say, errText } from './admin.js';

function markField(form, err) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const bad = err?.field ? form.querySelector('[name="' + CSS.escape(err.field) + '"]') : null;
  if (bad) {
    bad.setAttribute('aria-invalid', 'true');
    bad.focus();
  }
}

// "40 % (12 %–74 %)" or "–" without invitations.
function rateText(r) {
  if (!r || r.rate === null || r.rate === undefined) return '–';
  return t('rv.rate', { rate: fmtPct(r.rate, lang()), low: fmtPct(r.ci_low, lang()), high: fmtPct(r.ci_high, lang()) });
}

function statsTable(s) {
  const row = (key, n, rate) => h('tr', { dataset: { stat: key } },
    h('th', { scope: 'row' }, t('rv.stat.' + key)), h('td', { class: 'num' }, fmtInt(n, lang())), h('td', null, rate));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'rv-stats' },
    h('caption', null, t('rv.stats.caption')),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('rv.stats.what')), h('th', { scope: 'col' }, t('rv.stats.n')),
      h('th', { scope: 'col' }, t('rv.stats.rate')))),
    h('tbody', null, row('invited', s.invited, ''), row('clicked', s.clicked.n, rateText(s.clicked)),
      row('wrote', s.wrote.n, rateText(s.wrote)))));  // the wrap scrolls on a phone
}

// issue 16 H7: the plain counts per audience in force when sent.
function audienceTable(s) {
  const by = s.by_audience || {};
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'rv-audience-stats' },
    h('caption', null, t('rv.by_audience.caption')),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('rv.audience')),
      ...['invited', 'clicked', 'wrote'].map((k) => h('th', { scope: 'col' }, t('rv.stat.' + k))))),
    h('tbody', null, ...['all', 'promoters'].map((a) => h('tr', { dataset: { audience: a } },
      h('th', { scope: 'row' }, t('rv.audience.' + a)),
      ...['invited', 'clicked', 'wrote'].map((k) => h('td', { class: 'num' }, fmtInt(by[a]?.[k] ?? 0, lang()))))))));
}

export async function reviewSettingsPanel() {
  const [cur, stats] = await Promise.all([api('/review-invitations/settings'), api('/review-invitations/stats')]);
  const msg = h('p', { class: 'hint', role: 'status', id: 'rv-msg' });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', checked: cur.enabled });
  const url = h('input', { type: 'url', name: 'url', value: cur.url, placeholder: 'https://', maxlength: 400, inputmode: 'url' });
  const audience = select(['all', 'promoters'].map((a) => ({ value: a, label: t('rv.audience.' + a) })), cur.audience,
    { name: 'audience', id: 'rv-audience' });
  // Always shown: why "everyone" is the default; stronger when promoters is chosen.
  const warning = h('p', { class: 'notice', id: 'rv-audience-warning', role: 'note' }, t('rv.audience.warning'));
  const showWarning = () => {
    warning.className = audience.value === 'promoters' ? 'notice notice-warn' : 'notice';
    warning.dataset.level = audience.value === 'promoters' ? 'warn' : 'info';
  };
  audience.setAttribute('aria-describedby', 'rv-audience-warning');  // read with the choice
  audience.addEventListener('change', showWarning);
  showWarning();
  const minNps = h('input', { type: 'number', name: 'min_nps', value: cur.min_nps, min: 0, max: 10, step: 1 });
  const interval = h('input', { type: 'number', name: 'interval_days', value: cur.interval_days, min: 1, max: 3650, step: 1 });
  const submit = h('button', { type: 'submit', class: 'btn', id: 'rv-save' }, t('admin.save'));
  const form = h('form', { id: 'rv-form', novalidate: true },
    h('label', { class: 'check' }, enabled, t('rv.enabled')),
    field(t('rv.url'), url, t('rv.url.hint')),
    field(t('rv.audience'), audience), warning,
    h('div', { class: 'form-row' }, field(t('rv.min_nps'), minNps, t('rv.min_nps.hint')),
      field(t('rv.interval_days'), interval)),
    cur.updated_at ? h('p', { class: 'hint' }, t('admin.alert.updated', { when: fmtDateTime(cur.updated_at, lang()) })) : null,
    msg, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const num = (el) => (el.value === '' || Number.isNaN(Number(el.value)) ? el.value : Number(el.value));
    submit.disabled = true;
    try {
      await api('/review-invitations/settings', {
        method: 'PUT',
        body: { enabled: enabled.checked, url: url.value.trim(), audience: audience.value, min_nps: num(minNps),
          interval_days: num(interval) },
      });
      markField(form, null);
      say(msg, t('rv.saved'));
    } catch (err) {
      markField(form, err);
      say(msg, errText(err), true, errorDetail(err));
    } finally {
      submit.disabled = false;
    }
  });
  return panel(t('rv.title'), t('rv.sub'), h('p', { class: 'hint' }, t('rv.note')), form, statsTable(stats),
    h('p', { class: 'hint' }, t('rv.stats.note')), audienceTable(stats));
}
