// pages/org.js — the management and director view: the organisation's
// scores and honest trend (a marker only where the change is real), the
// overview per department and team, journeys × touchpoints as a heat map
// with the moments of truth marked, the breakdown explorer (any one or two
// dimensions, minimum-n masking shown, CSV export), the response funnel and
// the representativeness of the respondents; for admins, the
// organisation's setting of what readers see of others' open answers.
// A manager sees their own department: the server narrows every call.

import { api, csvUrl, showError } from '../api.js';
import { h, field, select, clear, append, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNps, fmtMean, fmtPct, fmtInt, keyLabel, keyId, locale } from '../format.js';
import { trendChart, barChart } from '../charts.js';
import { themeLabels, themeLabel } from './themes.js';
import { suggestedMoments } from './drivers.js';  // issue 15: moments of truth suggested by the data
import { kpiRow, panel, chartPanel, trendTable, groupTable, errorNotice, periodField, periodTag, trendPeriod, measureMissing, byName } from '../widgets.js';
import { exportLinks } from '../export.js';  // issue 17 (X): PDF and Excel of the breakdown

export const DIMS = ['team', 'department', 'employee', 'touchpoint', 'journey', 'channel', 'language', 'segment',
  'age_band', 'customer_since_band', 'city', 'month', 'quarter', 'year', 'theme', 'sentiment'];
const FUNNEL_STEPS = ['contacts', 'invited', 'delivered', 'opened', 'started', 'completed'];
export const REPR_DIMS = ['segment', 'age_band', 'customer_since_band', 'channel', 'language'];

function settled(p) {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

export async function render(main, ctx) {
  const user = ctx.user;
  const global = user.role === 'director' || user.role === 'admin';
  const period = ctx.query.get('period') || '';
  // issue 16 (H5): the organisation's own data as dimensions, once imported
  const attr = await settled(api('/metrics/dimensions'));
  if (!ctx.alive()) return;
  const dims = [...DIMS, ...attrDims(attr.ok ? attr.value : null)];
  const dimA = dims.includes(ctx.query.get('a')) ? ctx.query.get('a') : 'team';
  const dimB = dims.includes(ctx.query.get('b')) && ctx.query.get('b') !== dimA ? ctx.query.get('b') : '';
  const metric = ['nps', 'grade', 'ces'].includes(ctx.query.get('m')) ? ctx.query.get('m') : 'nps';
  main.append(h('h1', null, t('org.title')));
  const reload = (over) => {
    const q = { period, a: dimA, b: dimB, m: metric, ...over };
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v) s.set(k, v);
    ctx.navigate('#/org' + (s.toString() ? '?' + s : ''));
  };
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'controls' },
    periodField(period, (ev) => reload({ period: ev.target.value })))));

  const pq = { period };
  const explorerQuery = { ...pq, group_by: dimB ? dimA + ',' + dimB : dimA };
  const [total, trend, depts, teams, heat, tps, explorer] = await Promise.all([
    settled(api('/metrics', { query: pq })),
    settled(api('/metrics/trend', { query: trendPeriod(period) ? { period: trendPeriod(period) } : {} })),
    global ? settled(api('/metrics', { query: { ...pq, group_by: 'department' } })) : Promise.resolve(null),
    settled(api('/metrics', { query: { ...pq, group_by: 'team' } })),
    settled(api('/metrics', { query: { ...pq, group_by: 'journey,touchpoint' } })),
    settled(api('/touchpoints', { query: { limit: 500 } })),
    settled(api('/metrics', { query: explorerQuery })),
  ]);
  if (!ctx.alive()) return;
  if (explorer.ok) await nameTextKeys(explorer.value, [dimA, dimB]);
  if (!ctx.alive()) return;

  main.append(h('div', { id: 'org-kpis' }, periodTag(period), total.ok ? kpiRow(total.value) : errorNotice(total.error)));

  if (trend.ok) {
    main.append(h('div', { id: 'org-trend' }, chartPanel(t('org.trend'),
      (el) => trendChart(el, [{ name: t('nps'), points: trend.value.points }], { markChanges: true }),
      trendTable(trend.value.points), { note: t('org.trend.note') + ' ' + (trendPeriod(period) ? t('period.trend', { y: trendPeriod(period) }) : t('period.trend.all')) })));
  } else {
    main.append(errorNotice(trend.error));
  }

  const overview = [];
  if (depts) {
    overview.push(h('div', { id: 'org-departments' }, panel(t('org.departments'), null, periodTag(period),
      depts.ok ? groupTable(depts.value.rows || [], 'department') : errorNotice(depts.error))));
  }
  overview.push(h('div', { id: 'org-teams' }, panel(t('org.overview'), null, periodTag(period),
    teams.ok ? groupTable(teams.value.rows || [], 'team') : errorNotice(teams.error))));
  main.append(h('div', { class: overview.length > 1 ? 'grid grid-2' : 'grid' }, overview));

  main.append(h('div', { id: 'org-heat' }, panel(t('org.heat'), null,
    h('p', { class: 'hint' }, t('org.heat.note')), periodTag(period),
    heat.ok && tps.ok ? heatTable(heat.value, tps.value.items) : errorNotice(heat.ok ? tps.error : heat.error))));
  if (heat.ok && tps.ok) {
    // issue 15: the moments of truth the data suggest, marked beside the hand-set ones when they arrive
    const jids = [...new Set(tps.value.items.map((x) => x.journey_id).filter((x) => x !== null && x !== undefined))];
    suggestedMoments(jids, period).then((map) => {
      if (ctx.alive()) markSuggested(main.querySelector('#org-heat'), map);
    });
  }

  main.append(h('div', { id: 'org-explorer' }, explorerPanel({ dims, dimA, dimB, metric, explorerQuery, explorer, reload })));

  // The funnel is counted in SQL over every invitation (over a second on
  // the full demo, on a server thread): it is asked for only after the
  // rest, so the numbers above never wait behind it, and fills its panel
  // when it arrives.
  if (global) {
    // the funnel follows the page's period like the cards beside it (issue 13)
    const fq = period ? { period } : {};
    const funnelP = Promise.all([
      settled(api('/funnel', { query: fq })),
      settled(api('/funnel', { query: { ...fq, group_by: 'touchpoint' } })),
    ]);
    const slot = h('div', { id: 'org-funnel', 'aria-busy': 'true' },
      panel(t('org.funnel'), null, h('p', { class: 'loading' }, t('loading'))));
    main.append(slot);
    funnelP.then(([funnel, funnelTp]) => {
      if (!ctx.alive()) return;
      slot.replaceChildren(funnelPanel(funnel, funnelTp, tps));
      slot.firstChild?.insertBefore(periodTag(period), slot.firstChild.children[1] || null);
      slot.dataset.period = period || 'all';
      slot.setAttribute('aria-busy', 'false');
      slot.dataset.ready = 'true';
    });
    // Representativeness is counted in SQL too: asked for with the funnel.
    main.append(representPanel(ctx, period));
  }
  if (user.role === 'admin') main.append(settingsPanel(ctx));
}

// ---- the organisation's settings (admin) ----------------------------------------------------

// What readers see of other people's open answers (PUT /api/v1/settings,
// with the CSRF token like every write). The works council decides; the
// admin records it here.
const DETAILS = ['exact', 'band', 'anonymous'];

function settingsPanel(ctx) {
  const slot = h('div', { id: 'org-settings', 'aria-busy': 'true' },
    panel(t('org.settings'), null, h('p', { class: 'loading' }, t('loading'))));
  settled(api('/settings')).then((res) => {
    if (!ctx.alive()) return;
    const box = panel(t('org.settings'), null, h('p', { class: 'hint' }, t('org.settings.note')));
    if (!res.ok) box.append(errorNotice(res.error));
    else box.append(settingsForm(slot, res.value));
    slot.replaceChildren(box);
    slot.setAttribute('aria-busy', 'false');
    slot.dataset.ready = 'true';
  });
  return slot;
}

function settingsForm(slot, s) {
  const sel = select(DETAILS.map((d) => ({ value: d, label: t('org.settings.detail.' + d) })), s.verbatim_detail,
    { name: 'verbatim_detail', id: 'verbatim-detail-select' });
  const msg = h('p', { role: 'status', class: 'hint' });
  slot.dataset.value = s.verbatim_detail;
  const form = h('form', { class: 'settings-form', id: 'settings-form' },
    h('div', { class: 'form-row' }, field(t('org.settings.detail'), sel)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('org.settings.save'))),
    msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    msg.className = 'hint';
    try {
      const r = await api('/settings', { method: 'PUT', body: { verbatim_detail: sel.value } });
      sel.value = r.verbatim_detail;
      slot.dataset.value = r.verbatim_detail;
      msg.textContent = t('org.settings.saved');
      announce(t('org.settings.saved'));
    } catch (err) {
      msg.className = 'error-text';
      if (err.status === 403) msg.textContent = t('error.forbidden'); else showError(msg, err);
    }
  });
  return form;
}

// ---- heat map ---------------------------------------------------------------------

// The colour of a cell says only what the evidence says: the server's
// the row's nps_signal is "above" or "below" when the touchpoint's NPS differs from
// the rest of the reply's total beyond noise (z-test with false-discovery
// control), "noise" otherwise. No fixed cut-points: a cell without a
// signal, or with "noise", is neutral whatever its number.
export function heatClass(signal, hasValue = true) {
  if (!hasValue) return 'heat-none';
  if (signal === 'above') return 'heat-above';
  if (signal === 'below') return 'heat-below';
  return 'heat-neutral';
}

const SIGNAL_MARK = { above: '\u25b2', below: '\u25bc' };

function heatTable(res, touchpoints) {
  const l = lang();
  const byTp = new Map((res.rows || []).map((r) => [String(r.touchpoint?.id), r]));
  const journeys = new Map();
  for (const tp of touchpoints) {
    if (!journeys.has(tp.journey_id)) journeys.set(tp.journey_id, []);
    journeys.get(tp.journey_id).push(tp);
  }
  const names = new Map((res.rows || []).map((r) => [r.journey?.id, r.journey?.name]));
  let steps = 0;
  for (const list of journeys.values()) {
    list.sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || a.id - b.id);
    steps = Math.max(steps, list.length);
  }
  const head = h('tr', null, h('th', { scope: 'col' }, t('org.heat.journey')),
    Array.from({ length: steps }, (_, i) => h('th', { scope: 'col' }, t('org.heat.step', { n: i + 1 }))));
  const body = [...journeys.entries()].map(([jid, list]) => h('tr', { dataset: { journey: jid } },
    h('th', { scope: 'row' }, names.get(jid) || '#' + jid),
    Array.from({ length: steps }, (_, i) => {
      const tp = list[i];
      if (!tp) return h('td', null, '');
      const r = byTp.get(String(tp.id));
      const shown = r && !measureMissing(r, 'nps');
      const v = shown ? r.nps.value : null;
      const signal = shown && (r.nps_signal === 'above' || r.nps_signal === 'below') ? r.nps_signal : shown ? 'noise' : '';
      const mot = Boolean(tp.moment_of_truth);
      const td = h('td', { class: 'cell ' + heatClass(signal, shown) + (mot ? ' mot' : ''),
        dataset: { touchpoint: tp.id, mot: mot ? 'true' : 'false', value: v ?? '', signal } },
        // issue 15: the hand-set mark said in words too, and a place for the data's suggestion
        h('span', { class: 'cell-name' }, mot ? [h('span', { 'aria-hidden': 'true', class: 'mot-set' }, '\u2605 '),
          h('span', { class: 'visually-hidden' }, t('org.heat.mot.sr.set') + ': ')] : null, tp.name),
        h('span', { class: 'cell-mot-sug', hidden: true }, h('span', { 'aria-hidden': 'true' }, '\u25c6'),
          h('span', { class: 'visually-hidden' }, ' ' + t('org.heat.mot.sr.suggested'))),
        h('span', { class: 'cell-value' },
          shown ? fmtNps(v, l) : t('insufficient'),
          SIGNAL_MARK[signal] ? [' ', h('span', { class: 'cell-mark', 'aria-hidden': 'true' }, SIGNAL_MARK[signal]),
            h('span', { class: 'visually-hidden' }, ' (' + t('org.heat.' + signal) + ')')] : null),
        r ? h('span', { class: 'cell-n' }, t('n.of', { n: fmtInt(r.n, l) })) : null);
      if (mot) td.setAttribute('title', t('org.heat.mot.sr.set'));
      return td;
    })));
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'heat' }, h('thead', null, head), h('tbody', null, body)),
    h('p', { class: 'legend' },
      h('span', { class: 'heat-above' }, SIGNAL_MARK.above + ' ' + t('org.heat.above')),
      h('span', { class: 'heat-below' }, SIGNAL_MARK.below + ' ' + t('org.heat.below')),
      h('span', { class: 'heat-neutral' }, t('org.heat.noise')),
      h('span', { class: 'heat-none' }, t('insufficient')),
      h('span', { class: 'mot-legend', dataset: { mark: 'set' } }, t('org.heat.mot.set')),
      h('span', { class: 'mot-legend', dataset: { mark: 'suggested' }, hidden: true }, t('org.heat.mot.suggested'))));
}

// Issue 15: mark the touchpoints the data suggest as moments of truth
// (GET /drivers/moments per journey; map: touchpoint id → suggested, null
// when the server has no suggestion to give: then no mark and no legend).
export function markSuggested(box, map) {
  if (!box || !map) return;
  for (const td of box.querySelectorAll('table.heat td[data-touchpoint]')) {
    const known = map.has(td.dataset.touchpoint);
    const sug = known && map.get(td.dataset.touchpoint) === true;
    td.dataset.motSuggested = known ? String(sug) : '';
    td.querySelector('.cell-mot-sug').hidden = !sug;
  }
  const item = box.querySelector('.mot-legend[data-mark="suggested"]');
  if (item) item.hidden = false;
  box.dataset.motSuggested = 'ready';
}

// ---- explorer --------------------------------------------------------------------------

// Issue 14: the server keys theme groups by the taxonomy's id ("waiting_time")
// and sentiment groups by label ("negative"); the explorer names them in the
// UI's language (the id stays the row's key).
async function nameTextKeys(res, dims) {
  const labels = dims.includes('theme') ? await themeLabels().catch(() => null) : null;
  for (const r of res.rows || []) {
    for (const d of dims) {
      if (d === 'theme' && typeof r[d] === 'string') r[d] = { id: r[d], name: themeLabel(labels, r[d], r[d]) };
      if (d === 'sentiment' && typeof r[d] === 'string') r[d] = { id: r[d], name: t('sentiment.' + r[d]) };
      if ((d === 'login_band' || d === 'newsletter' || d.startsWith('attr.')) && typeof r[d] === 'string') {
        r[d] = { id: r[d], name: attrValueLabel(d, r[d]) };  // issue 16 (H5)
      }
    }
  }
}

// ---- issue 16 (H5): attribute dimensions --------------------------------------------
// product, login band and newsletter once anything was imported; a custom
// attribute by its key as the organisation named it (GET /metrics/dimensions).
function attrDims(list) {
  if (!list || (!list.run && !(list.products || []).length)) return [];
  return ['product', 'login_band', 'newsletter', ...(list.attributes || []).map((a) => a.dimension)];
}

export function dimLabel(d) {
  return d.startsWith('attr.') ? d.slice(5) : t('dim.' + d);
}

function attrValueLabel(d, v) {
  if (v === 'unknown' || v === 'other') return t('attrval.' + v);
  if (d === 'newsletter') return t('attrval.' + v);
  if (d === 'login_band') return v === 'none' ? t('attrval.none') : t('attrval.logins', { n: v });
  return v;
}

function cellValue(row, metric) {
  if (measureMissing(row, metric)) return null;
  return metric === 'nps' ? row.nps.value : row[metric].mean;
}

function fmtMetric(metric, v) {
  return metric === 'nps' ? fmtNps(v, lang()) : fmtMean(v, lang());
}

// A pivot or explorer cell without a figure: under the minimum n, or this
// measure hidden — a dot, with the reason for screen readers and on hover.
function maskedPivotCell(r, ck) {
  const reason = r.insufficient ? t('insufficient.long', { n: r.n, min: r.min_n }) : t('insufficient');
  return h('td', { class: 'num masked', title: reason,
    dataset: { key: ck, insufficient: r.insufficient ? 'true' : 'false', hidden: r.insufficient ? 'false' : 'true', n: r.n } },
    h('span', { 'aria-hidden': 'true' }, '\u00b7'), h('span', { class: 'visually-hidden' }, t('insufficient')));
}

function explorerPanel({ dims, dimA, dimB, metric, explorerQuery, explorer, reload }) {
  const dimOpts = dims.map((d) => ({ value: d, label: dimLabel(d) }));
  const a = select(dimOpts, dimA, { name: 'a', id: 'explorer-a' });
  const b = select([{ value: '', label: t('org.explorer.none') }, ...dimOpts], dimB, { name: 'b', id: 'explorer-b' });
  const m = select([{ value: 'nps', label: t('nps') }, { value: 'grade', label: t('grade') }, { value: 'ces', label: t('ces') }], metric, { name: 'm', id: 'explorer-m' });
  const form = h('form', { class: 'explorer-form' },
    h('div', { class: 'form-row' },
      field(t('org.explorer.a'), a), field(t('org.explorer.b'), b), field(t('org.explorer.metric'), m),
      h('div', { class: 'field' }, h('button', { type: 'submit', class: 'btn' }, t('org.explorer.apply')))));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    reload({ a: a.value, b: b.value === a.value ? '' : b.value, m: m.value });
  });
  const csv = h('a', { class: 'btn btn-secondary', id: 'explorer-csv', href: csvUrl('/metrics', explorerQuery),
    download: 'klantstem-' + explorerQuery.group_by.replace(',', '-') + '.csv' }, t('org.explorer.csv'));
  const box = panel(t('org.explorer'), null, periodTag(explorerQuery.period), form);
  if (!explorer.ok && explorer.error?.status === 422 && attrComboRefused(dimA, dimB)) {
    // issue 16 (H10): the server refuses what no attribute table protects (PRIVACY.md)
    box.append(h('p', { class: 'notice', id: 'explorer-attr-combo', role: 'status' }, t('org.explorer.attr_combo')));
    return box;
  }
  if (!explorer.ok) {
    box.append(errorNotice(explorer.error));
    return box;
  }
  const res = explorer.value;
  box.append(h('p', { class: 'hint' }, t('org.explorer.masked', { min: res.min_n })));
  if (/^(product|login_band|newsletter)$/.test(dimA) || /^(product|login_band|newsletter)$/.test(dimB)) {
    box.append(h('p', { class: 'hint', id: 'explorer-attr-note' }, t('org.explorer.attr_note')));
  }
  box.append(dimB ? pivotTable(res, dimA, dimB, metric) : oneDimTable(res, dimA, metric));
  box.append(h('div', { class: 'form-actions' }, csv, ...exportLinks(explorerQuery, 'explorer')));  // issue 17 (X)
  return box;
}

// Issue 16 (H10): a customer attribute (product, login band, newsletter,
// attr.<key>) goes only with units, employees and months, quarters or
// years, one attribute at a time: the server answers anything else 422,
// because no attribute table could protect its cells (docs/PRIVACY.md).
function attrComboRefused(dimA, dimB) {
  const isAttr = (d) => /^(product|login_band|newsletter)$/.test(d) || (d || '').startsWith('attr.');
  const partner = (d) => /^(organisation|department|team|employee|month|quarter|year)$/.test(d);
  if (!dimB) return false;
  return (isAttr(dimA) && !partner(dimB) && dimB !== dimA) || (isAttr(dimB) && !partner(dimA) && dimA !== dimB);
}

function oneDimTable(res, dim, metric) {
  if (metric === 'nps') return groupTable(res.rows || [], dim, { nameHeader: dimLabel(dim) });
  const l = lang();
  return h('div', { class: 'table-wrap' }, h('table', { dataset: { dim } },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, dimLabel(dim)), h('th', { scope: 'col', class: 'num' }, t('col.n')),
      h('th', { scope: 'col', class: 'num' }, t(metric)))),
    h('tbody', null, (dim === 'employee' ? byName(res.rows || [], dim) : res.rows || []).map((r) => {
      const v = cellValue(r, metric);
      return h('tr', { dataset: { key: keyId(r[dim]), insufficient: r.insufficient ? 'true' : 'false' } },
        h('th', { scope: 'row' }, keyLabel(r[dim])), h('td', { class: 'num' }, fmtInt(r.n, l)),
        v === null ? h('td', { class: 'num masked', dataset: { col: metric, hidden: r.insufficient ? 'false' : 'true' } }, t('insufficient'))
          : h('td', { class: 'num', dataset: { col: metric, value: v } }, fmtMetric(metric, v)));
    }))));
}

function pivotTable(res, dimA, dimB, metric) {
  const l = lang();
  const rowKeys = [], colKeys = [];
  const rowLabel = new Map(), colLabel = new Map(), cells = new Map();
  for (const r of res.rows || []) {
    const ra = keyId(r[dimA]), cb = keyId(r[dimB]);
    if (!rowLabel.has(ra)) { rowKeys.push(ra); rowLabel.set(ra, keyLabel(r[dimA])); }
    if (!colLabel.has(cb)) { colKeys.push(cb); colLabel.set(cb, keyLabel(r[dimB])); }
    cells.set(ra + '\u0000' + cb, r);
  }
  if (/^(day|week|month|quarter|year)$/.test(dimB)) colKeys.sort();
  // people by name, never by score
  const byLabel = (keys, labels) => keys.sort((x, y) => labels.get(x).localeCompare(labels.get(y), l, { sensitivity: 'base' }));
  if (dimA === 'employee') byLabel(rowKeys, rowLabel);
  if (dimB === 'employee') byLabel(colKeys, colLabel);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'pivot', dataset: { dimA, dimB } },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, dimLabel(dimA) + ' \\ ' + dimLabel(dimB)),
      colKeys.map((c) => h('th', { scope: 'col', class: 'num', dataset: { key: c } }, colLabel.get(c))))),
    h('tbody', null, rowKeys.map((rk) => h('tr', { dataset: { key: rk } },
      h('th', { scope: 'row' }, rowLabel.get(rk)),
      colKeys.map((ck) => {
        const r = cells.get(rk + '\u0000' + ck);
        if (!r) return h('td', { class: 'num' }, '');
        const v = cellValue(r, metric);
        if (v === null) return maskedPivotCell(r, ck);
        return h('td', { class: 'num', title: t('n.of', { n: fmtInt(r.n, l) }), dataset: { key: ck, value: v, n: r.n } },
          fmtMetric(metric, v));
      }))))));
}

// ---- funnel -----------------------------------------------------------------------------

function funnelPanel(funnel, funnelTp, tps) {
  const l = lang();
  if (!funnel.ok) return panel(t('org.funnel'), null, errorNotice(funnel.error));
  const all = funnel.value.rows?.[0];
  if (!all) return panel(t('org.funnel'), null, h('p', { class: 'empty' }, '–'));
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'funnel-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, ''), h('th', { scope: 'col', class: 'num' }, '#'),
      h('th', { scope: 'col', class: 'num' }, '%'))),
    h('tbody', null, FUNNEL_STEPS.map((s) => h('tr', { dataset: { step: s } },
      h('th', { scope: 'row' }, t('funnel.' + s)),
      h('td', { class: 'num', dataset: { value: all[s] } }, fmtInt(all[s], l)),
      h('td', { class: 'num' }, all.contacts ? fmtPct(all[s] / all.contacts, l) : '–'))))));
  const box = chartPanel(t('org.funnel'),
    (el) => barChart(el, FUNNEL_STEPS.map((s) => ({ label: t('funnel.' + s), value: all[s] })), { format: (v) => fmtInt(v, l) }),
    table, { small: true });
  box.insertBefore(h('p', { id: 'funnel-rate', dataset: { value: all.response_rate } },
    t('org.funnel.rate', { p: fmtPct(all.response_rate, l) })), box.children[1]);
  if (funnelTp && funnelTp.ok && tps.ok) {
    const names = new Map(tps.value.items.map((x) => [x.id, x.name]));
    box.append(h('div', { class: 'table-wrap' }, h('table', { class: 'funnel-touchpoints' },
      h('caption', null, t('col.touchpoint')),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('col.touchpoint')),
        h('th', { scope: 'col', class: 'num' }, t('funnel.invited')), h('th', { scope: 'col', class: 'num' }, t('funnel.completed')),
        h('th', { scope: 'col', class: 'num' }, t('col.rate')))),
      h('tbody', null, funnelTp.value.rows.map((r) => h('tr', { dataset: { key: r.key } },
        h('th', { scope: 'row' }, names.get(r.key) || '#' + r.key),
        h('td', { class: 'num' }, fmtInt(r.invited, l)), h('td', { class: 'num' }, fmtInt(r.completed, l)),
        h('td', { class: 'num', dataset: { value: r.response_rate } }, fmtPct(r.response_rate, l))))))));
  }
  return box;
}

// ---- representativeness --------------------------------------------------------------------

// Are the customers who answered like the customers who were asked? Per
// segment of one dimension, for the page's period: the server counts
// customers, tests each segment's share of the respondents against its
// share of the invited (exact binomial, Benjamini–Hochberg over the
// segments) and flags it only when the difference is both real and at
// least 10% (docs/STATISTICS.md §11). The flag is said in words, with ▼/▲
// beside it: never colour alone.
const REPR_MARK = { under_represented: '\u25bc', over_represented: '\u25b2' };

function representPanel(ctx, period) {
  const sel = select(REPR_DIMS.map((d) => ({ value: d, label: t('dim.' + d) })), 'segment',
    { name: 'dimension', id: 'repr-dimension' });
  const result = h('div', { class: 'repr-result', 'aria-live': 'polite' }, h('p', { class: 'loading' }, t('loading')));
  const slot = h('div', { id: 'org-represent', 'aria-busy': 'true' },
    panel(t('org.repr'), null,
      h('p', { class: 'hint' }, t('org.repr.note')), periodTag(period),
      h('form', { class: 'explorer-form', onsubmit: (ev) => ev.preventDefault() },
        h('div', { class: 'form-row' }, field(t('org.repr.dimension'), sel))),
      result));
  let seq = 0;
  const load = (dim) => {
    const mine = ++seq;
    slot.setAttribute('aria-busy', 'true');
    slot.dataset.ready = 'false';
    settled(api('/funnel/representativeness', { query: { dimension: dim, period } })).then((res) => {
      if (!ctx.alive() || mine !== seq) return;
      append(clear(result), [res.ok ? representTable(res.value, dim) : errorNotice(res.error)]);
      slot.setAttribute('aria-busy', 'false');
      slot.dataset.dimension = dim;
      slot.dataset.ready = 'true';
    });
  };
  sel.addEventListener('change', () => load(sel.value));
  load('segment');
  return slot;
}

// A share as the server rounded it (4 decimals): a percentage with 2.
function fmtShare(v, l) {
  if (v === null || v === undefined) return '–';
  return new Intl.NumberFormat(locale(l), { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v);
}

function segmentLabel(v) {
  const key = 'repr.value.' + v;
  const s = t(key);
  return s === key ? v : s;
}

function representTable(res, dim) {
  const l = lang();
  const rows = res.rows || [];
  const total = h('p', { class: 'repr-total', dataset: { invited: res.invited_customers, respondents: res.respondents } },
    t('org.repr.total', { n: fmtInt(res.invited_customers, l), r: fmtInt(res.respondents, l),
      p: fmtShare(res.response_rate, l) }));
  if (!rows.length) return [total, h('p', { class: 'empty' }, t('org.repr.empty'))];
  const num = (col, v, text) => h('td', { class: 'num', dataset: { col, value: v ?? '' } }, text);
  const cols = ['invited_customers', 'respondents', 'response_rate', 'respondent_share', 'invited_share', 'index', 'flag'];
  return [total, h('div', { class: 'table-wrap' }, h('table', { class: 'repr-table', dataset: { dim } },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('dim.' + dim)),
      cols.map((c) => h('th', { scope: 'col', class: c === 'flag' ? null : 'num' }, t('repr.col.' + c))))),
    h('tbody', null, rows.map((r) => {
      const mark = REPR_MARK[r.flag];
      const flagged = Boolean(mark);
      return h('tr', { dataset: { segment: r.segment, flag: r.flag } },
        h('th', { scope: 'row' }, segmentLabel(r.segment)),
        num('invited_customers', r.invited_customers, fmtInt(r.invited_customers, l)),
        num('respondents', r.respondents, fmtInt(r.respondents, l)),
        num('response_rate', r.response_rate, fmtShare(r.response_rate, l)),
        num('respondent_share', r.respondent_share, fmtShare(r.respondent_share, l)),
        num('invited_share', r.invited_share, fmtShare(r.invited_share, l)),
        num('index', r.index, r.index === null ? '–' : fmtMean(r.index, l, 3)),
        h('td', { dataset: { col: 'flag', value: r.flag },
          title: r.p_adj === null ? null : t('org.repr.p', { p: fmtMean(r.p, l, 4), q: fmtMean(r.p_adj, l, 4) }) },
          mark ? [h('span', { 'aria-hidden': 'true' }, mark), ' '] : null,
          flagged ? h('strong', null, t('repr.flag.' + r.flag)) : t('repr.flag.' + r.flag)));
    }))))];
}
