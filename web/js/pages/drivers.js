// pages/drivers.js — what drives the score (issue 15): key-driver analysis
// of a slice (#/drivers?outcome&period&team_id&touchpoint_id&journey_id
// &segment&method&compare&mj), from GET /api/v1/drivers: per driver (the
// survey's aspect ratings) its weight as a share of the model's R² with a
// 95% interval, its rank with the range of ranks, its mean and share of
// good ratings, and the quadrant of importance × performance (a chart and
// its table twin); R² with its interval and n; the top three for the unit
// (the expected NPS gain if it reached the organisation's best quartile,
// with its interval), each of which becomes an improvement action in one
// click (POST /api/v1/actions); the change against another period in words
// (rose / fell / no change); and per journey the moments of truth (GET
// /api/v1/drivers/moments): which touchpoints move the relationship score,
// the flag set by hand beside the one the data suggest.
// The server decides the scope (a team lead: their unit) and suppresses a
// slice under the disclosure minimum: the page then shows the sentence and
// no figure. Exports the top-three panel (team page) and the suggested
// moments of truth (the org page's heat map).

import { api, errorText, errorDetail } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtInt, fmtMean, fmtPct, fmtDiff, fmtNumber, fmtRange, todayIso } from '../format.js';
import { loadECharts } from '../charts.js';
import { panel, errorNotice, periodField, periodTag, periodOptions, periodLabel, previousPeriod } from '../widgets.js';

export const OUTCOMES = ['nps', 'grade', 'ces'];
export const METHODS = ['relweights', 'shapley'];
export const QUADRANTS = ['improve_first', 'keep', 'less_urgent', 'maintain'];
// a mark per quadrant besides its colour (and its name in every place it shows)
const Q_SYMBOL = { keep: 'circle', improve_first: 'diamond', maintain: 'rect', less_urgent: 'triangle' };
const Q_COLOR = { keep: '#18693f', improve_first: '#b3261e', maintain: '#1f5f8b', less_urgent: '#5b6773' };
const Q_BG = { keep: '#e3f3ea', improve_first: '#fbe6e4', maintain: '#e6eff6', less_urgent: '#f0f2f4' };
const MAY_ACT = ['team_lead', 'manager', 'director', 'admin'];  // POST /actions (employees change nothing)

function settled(p) {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

// ---- words and numbers ------------------------------------------------------------------

// A driver's name in the UI's language: the aspects the product knows have
// a label in both languages; any other aspect (an organisation's own
// survey) is shown as the survey names it.
export function driverLabel(code) {
  const key = 'kd.driver.' + code;
  const s = t(key);
  return s === key ? String(code) : s;
}

// A share of R² (0..1) as a percentage with one decimal: 0.342 → "34,2%".
export function fmtShare(v, l = lang()) {
  return typeof v === 'number' ? fmtNumber(v * 100, l, 1) + '%' : '–';
}

// R² (0..1) with three decimals.
export function fmtR2(v, l = lang()) {
  return typeof v === 'number' ? fmtNumber(v, l, 3) : '–';
}

const num = (v) => typeof v === 'number' && Number.isFinite(v);

// Whether the driver is shown to matter: the server's flag; without one,
// its weight's interval lies above 0.
export function shownToMatter(d) {
  if (typeof d.shown_to_matter === 'boolean') return d.shown_to_matter;
  return num(d.weight?.lo) && d.weight.lo > 0;
}

// A reply (or one driver) the server suppressed: no figures at all.
export function suppressedReply(res) {
  return Boolean(res?.suppressed) || Boolean(res?.insufficient);
}

// The sentence of a suppressed slice, with the minimum when the reply has it.
function suppressedText(res) {
  const l = lang();
  if (num(res?.min_n)) return t('kd.suppressed.min', { n: fmtInt(res.n ?? 0, l), min: fmtInt(res.min_n, l) });
  return t('kd.suppressed');
}

// ---- the slice ----------------------------------------------------------------------------

const SLICE_KEYS = ['outcome', 'method', 'period', 'team_id', 'touchpoint_id', 'journey_id', 'segment', 'compare', 'mj'];

function sliceOf(query) {
  const s = {};
  for (const k of SLICE_KEYS) s[k] = query.get(k) || '';
  if (!OUTCOMES.includes(s.outcome)) s.outcome = 'nps';
  if (!METHODS.includes(s.method)) s.method = 'relweights';
  return s;
}

function hrefOf(slice) {
  const q = new URLSearchParams();
  for (const k of SLICE_KEYS) {
    const v = slice[k];
    if (v === '' || v === undefined || v === null) continue;
    if (k === 'outcome' && v === 'nps') continue;
    if (k === 'method' && v === 'relweights') continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return '#/drivers' + (s ? '?' + s : '');
}

// The query of GET /drivers for a slice (the filters of /metrics).
export function driversQuery(slice) {
  const q = { outcome: slice.outcome };
  if (slice.method && slice.method !== 'relweights') q.method = slice.method;
  for (const k of ['period', 'team_id', 'touchpoint_id', 'journey_id', 'segment', 'compare']) if (slice[k]) q[k] = slice[k];
  return q;
}

async function unitsInReach(user) {
  if (user.role === 'employee' || user.role === 'team_lead') return [];
  const query = user.role === 'manager' ? { parent_id: user.unit_id, limit: 500 } : { limit: 500 };
  const res = await api('/teams', { query });
  return res.items || [];
}

// The segments of the organisation, from the breakdown (the only list of them).
async function segments(period) {
  const res = await api('/metrics', { query: { group_by: 'segment', measures: 'nps', ...(period ? { period } : {}) } });
  return (res.rows || []).map((r) => r.segment).filter((s) => typeof s === 'string' && s);
}

// ---- charts -------------------------------------------------------------------------------

const drawn = new Set();

function disposeOwn() {
  for (const c of drawn) {
    try { c.dispose(); } catch { /* already gone */ }
  }
  drawn.clear();
}
window.addEventListener('hashchange', disposeOwn);
window.addEventListener('resize', () => { for (const c of drawn) c.resize(); });

// ECharts' own aria text is English and replaces the label: keep the
// page's label and say where the numbers are (as charts.js does).
function ariaOf(el) {
  const label = el.getAttribute('aria-label') || '';
  return { enabled: true, decal: { show: true }, label: { description: (label ? label + '. ' : '') + t('chart.aria.table') } };
}

// Where each driver stands: x = performance, y = importance. Performance
// is the unit's mean against the organisation's mean of that driver (in
// rating points: the quadrant's rule), or, when the reply has no
// organisation means, the mean against the mean of the means. Importance is
// the share of R², divided at the mean share (the quadrant's rule).
export function quadrantPoints(drivers) {
  const withOrg = drivers.every((d) => num(d.org_mean) && num(d.mean));
  const means = drivers.map((d) => d.mean).filter(num);
  const avgMean = means.length ? means.reduce((a, b) => a + b, 0) / means.length : 0;
  const shares = drivers.map((d) => d.share?.value).filter(num);
  const yThr = shares.length ? shares.reduce((a, b) => a + b, 0) / shares.length : 0;
  const pts = drivers.filter((d) => num(d.mean) && num(d.share?.value)).map((d) => ({
    driver: d.driver, quadrant: d.quadrant,
    x: withOrg ? d.mean - d.org_mean : d.mean - avgMean,
    y: d.share.value,
  }));
  return { pts, xThr: 0, yThr, relative: withOrg };
}

async function quadrantChart(el, drivers) {
  const echarts = await loadECharts();
  const chart = echarts.init(el, null, { renderer: 'svg' });
  drawn.add(chart);
  const l = lang();
  const { pts, yThr, relative } = quadrantPoints(drivers);
  const narrow = el.clientWidth < 480;  // a phone: smaller type, the legend on more lines
  const span = Math.max(0.25, ...pts.map((p) => Math.abs(p.x))) * 1.25;
  const xMin = -Math.ceil(span * 10) / 10, xMax = Math.ceil(span * 10) / 10;
  const yMax = Math.min(1, Math.ceil(Math.max(yThr * 2, ...pts.map((p) => p.y)) * 1.15 * 20) / 20);
  // the four quadrants as labelled areas: importance up, performance right
  const area = (q, x0, x1, y0, y1, pos) => [
    { name: t('kd.q.' + q), xAxis: x0, yAxis: y0, itemStyle: { color: Q_BG[q] },
      label: { position: pos, color: '#1c2630', fontWeight: 600, fontSize: narrow ? 10 : 12 } },
    { xAxis: x1, yAxis: y1 }];
  const series = QUADRANTS.map((q, i) => ({
    type: 'scatter', name: t('kd.q.' + q), symbol: Q_SYMBOL[q], symbolSize: 14,
    itemStyle: { color: Q_COLOR[q] },
    data: pts.filter((p) => p.quadrant === q).map((p) => ({ name: driverLabel(p.driver), value: [p.x, p.y] })),
    label: { show: true, position: 'right', formatter: (p) => p.name, color: '#1c2630', fontSize: narrow ? 10 : 12 },
    markArea: i === 0 ? { silent: true, data: [
      area('improve_first', xMin, 0, yThr, yMax, 'insideTopLeft'),
      area('keep', 0, xMax, yThr, yMax, 'insideTopRight'),
      area('less_urgent', xMin, 0, 0, yThr, 'insideBottomLeft'),
      area('maintain', 0, xMax, 0, yThr, 'insideBottomRight'),
    ] } : undefined,
    z: 3,
  }));
  chart.setOption({
    animation: false,
    aria: ariaOf(el),
    grid: { left: 8, right: narrow ? 12 : 24, top: 28, bottom: narrow ? 84 : 60, containLabel: true },
    legend: { bottom: 0, itemGap: narrow ? 6 : 10, textStyle: { fontSize: narrow ? 11 : 12 }, data: QUADRANTS.map((q) => t('kd.q.' + q)) },
    tooltip: { trigger: 'item', renderMode: 'richText',
      formatter: (p) => p.name + '\n' + t('kd.col.share') + ': ' + fmtShare(p.value[1], l) + '\n'
        + (relative ? t('kd.axis.vs_org') : t('kd.axis.vs_avg')) + ': ' + fmtNumber(p.value[0], l, 2, { sign: true }) },
    xAxis: { type: 'value', min: xMin, max: xMax, name: relative ? t('kd.axis.performance') : t('kd.axis.performance.avg'),
      nameLocation: 'middle', nameGap: 26, nameTextStyle: { fontSize: narrow ? 10 : 12 }, axisLabel: { formatter: (v) => fmtNumber(v, l, 1, { sign: true }) }, splitLine: { show: false } },
    yAxis: { type: 'value', min: 0, max: yMax, name: t('kd.axis.importance'), nameLocation: 'end',
      nameTextStyle: { align: 'left', fontSize: narrow ? 10 : 12 },
      axisLabel: { formatter: (v) => fmtNumber(v * 100, l, 0) + '%' }, splitLine: { show: false } },
    series,
  });
  return chart;
}

// A chart whose figures are in the visible table after it.
function chartBox(label, draw) {
  const el = h('div', { class: 'chart chart-quadrant', role: 'img', 'aria-label': label });
  requestAnimationFrame(() => {
    draw(el).then(() => { el.dataset.drawn = 'true'; }, () => {
      el.replaceWith(h('p', { class: 'notice' }, t('chart.unavailable')));
    });
  });
  return el;
}

// ---- panels -------------------------------------------------------------------------------

function intervalText(o, f) {
  if (!o || !num(o.lo) || !num(o.hi)) return '';
  return t('interval', { range: fmtRange(o.lo, o.hi, f) });
}

function summaryPanel(res, slice) {
  const l = lang();
  const r2 = res.r2 || {};
  return panel(t('kd.summary'), null, periodTag(slice.period),
    h('dl', { class: 'theme-facts', id: 'kd-facts' },
      h('dt', null, t('kd.outcome')), h('dd', { dataset: { value: res.outcome ?? slice.outcome } }, t('kd.outcome.' + (res.outcome ?? slice.outcome))),
      h('dt', null, t('kd.n')), h('dd', { id: 'kd-n', dataset: { value: res.n ?? '' } }, fmtInt(res.n, l)),
      h('dt', null, t('kd.r2')),
      h('dd', { id: 'kd-r2', dataset: { value: r2.value ?? '', lo: r2.lo ?? '', hi: r2.hi ?? '' } },
        fmtR2(r2.value, l), num(r2.lo) ? ' (' + intervalText(r2, (v) => fmtR2(v, l)) + ')' : '',
        num(r2.value) ? h('span', { class: 'hint kd-r2-words' }, ' — ' + t('kd.r2.words', { p: fmtPct(r2.value, l), outcome: t('kd.outcome.' + (res.outcome ?? slice.outcome)) })) : null),
      h('dt', null, t('kd.method')), h('dd', { dataset: { value: res.method ?? slice.method } }, t('kd.method.' + (res.method ?? slice.method)))));
}

export function quadrantWords(q) {
  return QUADRANTS.includes(q) ? t('kd.q.' + q) : '–';
}

function driverTable(drivers) {
  const l = lang();
  return h('div', { class: 'table-wrap' }, h('table', { id: 'kd-table', class: 'kd-table' },
    h('caption', null, t('kd.table.caption')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('kd.col.driver')),
      h('th', { scope: 'col', class: 'num' }, t('col.n')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.mean')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.good')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.share')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.rank')),
      h('th', { scope: 'col' }, t('kd.col.matters')),
      h('th', { scope: 'col' }, t('kd.col.quadrant')))),
    h('tbody', null, drivers.map((d) => {
      const matters = shownToMatter(d);
      const s = d.share || {}, r = d.rank || {};
      return h('tr', { dataset: { driver: d.driver, quadrant: d.quadrant ?? '', matters: String(matters) } },
        h('th', { scope: 'row' }, driverLabel(d.driver)),
        h('td', { class: 'num', dataset: { col: 'n', value: d.n ?? '' } }, fmtInt(d.n, l)),
        h('td', { class: 'num', dataset: { col: 'mean', value: d.mean ?? '' } }, fmtMean(d.mean, l),
          num(d.org_mean) ? h('span', { class: 'hint kd-org' }, ' ' + t('kd.org_mean', { v: fmtMean(d.org_mean, l) })) : null),
        h('td', { class: 'num', dataset: { col: 'good', value: d.good_share ?? '' } }, fmtPct(d.good_share, l)),
        h('td', { class: 'num', dataset: { col: 'share', value: s.value ?? '', lo: s.lo ?? '', hi: s.hi ?? '' } },
          fmtShare(s.value, l), h('br'), h('span', { class: 'hint' }, intervalText(s, (v) => fmtShare(v, l)))),
        h('td', { class: 'num', dataset: { col: 'rank', value: r.value ?? '', lo: r.lo ?? '', hi: r.hi ?? '' } },
          fmtInt(r.value, l), num(r.lo) && num(r.hi) ? h('span', { class: 'hint' }, ' ' + t('kd.rank.range', { lo: fmtInt(r.lo, l), hi: fmtInt(r.hi, l) })) : null),
        h('td', { class: 'kd-matters' + (matters ? '' : ' kd-not-shown'), dataset: { col: 'matters' } },
          matters ? t('kd.matters.yes') : t('kd.matters.no')),
        h('td', { class: 'kd-quadrant', dataset: { col: 'quadrant', value: d.quadrant ?? '' } },
          h('span', { class: 'q-mark q-' + (d.quadrant ?? 'none'), 'aria-hidden': 'true' }, Q_MARK[d.quadrant] ?? ''), ' ', quadrantWords(d.quadrant)));
    }))));
}

const Q_MARK = { keep: '\u25cf', improve_first: '\u25c6', maintain: '\u25a0', less_urgent: '\u25b2' };

function quadrantPanel(res, slice) {
  const drivers = res.drivers || [];
  const box = panel(t('kd.quadrant'), null, periodTag(slice.period),
    h('p', { class: 'hint' }, t('kd.quadrant.note')));
  box.id = 'kd-quadrant';
  if (!drivers.length) {
    box.append(h('p', { class: 'empty' }, t('kd.none')));
    return box;
  }
  box.append(chartBox(t('kd.quadrant.chart'), (el) => quadrantChart(el, drivers)));
  box.append(h('ul', { class: 'kd-q-legend legend', id: 'kd-q-legend' }, QUADRANTS.map((q) => h('li', { dataset: { quadrant: q } },
    h('span', { class: 'q-mark q-' + q, 'aria-hidden': 'true' }, Q_MARK[q]), ' ', h('strong', null, t('kd.q.' + q)), ': ', t('kd.q.' + q + '.what')))));
  box.append(driverTable(drivers));
  box.append(h('p', { class: 'hint' }, t('kd.matters.note')));
  return box;
}

// ---- top three and "make it an action" ------------------------------------------------------

// The top three in the order the server gave, each with its driver row
// ({driver, gain, mean, org_best_quartile}).
export function topThree(res) {
  const byName = new Map((res.drivers || []).map((d) => [d.driver, d]));
  const list = res.top3 || [];
  return list.map((x) => (typeof x === 'string' ? byName.get(x) || { driver: x } : x)).slice(0, 3);
}

// The action's title and description, naming the driver and the expected gain.
export function actionText(d, unitName) {
  const l = lang();
  const g = d.gain || {};
  const gain = num(g.value) ? fmtDiff(g.value, l) : '–';
  const interval = num(g.lo) && num(g.hi) ? fmtRange(g.lo, g.hi, (v) => fmtDiff(v, l)) : '–';
  return {
    title: t('kd.action.title', { driver: driverLabel(d.driver) }).slice(0, 200),
    description: t('kd.action.desc', {
      driver: driverLabel(d.driver), unit: unitName || t('kd.unit.org'), gain, interval,
      mean: fmtMean(d.mean, l), best: fmtMean(d.org_best_quartile, l),
    }).slice(0, 4000),
  };
}

// The slice of the action: the unit, touchpoint and journey analysed (a
// team lead's and a manager's actions are their unit's; an analysis of the
// whole organisation is the organisation's unit).
function actionSlice(slice, user, orgUnitId) {
  const body = {};
  if (slice.team_id) body.team_id = Number(slice.team_id);
  else if (user.role === 'team_lead' || user.role === 'manager') body.team_id = user.unit_id;
  else if (orgUnitId) body.team_id = orgUnitId;
  if (slice.touchpoint_id) body.touchpoint_id = Number(slice.touchpoint_id);
  if (slice.journey_id) body.journey_id = Number(slice.journey_id);
  return body;
}

function actionButton(d, { user, ctx, slice, unitName, orgUnitId }) {
  const msg = h('p', { role: 'status', class: 'hint kd-action-msg' });
  const btn = h('button', { type: 'button', class: 'btn btn-small kd-action-btn', dataset: { driver: d.driver } },
    t('kd.action.make'), h('span', { class: 'visually-hidden' }, ': ' + driverLabel(d.driver)));
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    msg.className = 'hint kd-action-msg';
    msg.textContent = t('kd.action.making');
    const text = actionText(d, unitName);
    const body = { ...text, owner_id: user.id, start_date: todayIso(), status: 'planned', ...actionSlice(slice, user, orgUnitId) };
    try {
      const a = await api('/actions', { method: 'POST', body });
      if (!ctx.alive()) return;
      msg.dataset.actionId = String(a.id);
      msg.replaceChildren(t('kd.action.made', { title: a.title }), ' ',
        h('a', { href: '#/actions' + (a.journey_id ? '?journey_id=' + a.journey_id : ''), class: 'kd-action-link', dataset: { actionId: a.id } },
          t('kd.action.open')));
      btn.dataset.created = 'true';
      btn.textContent = t('kd.action.done');
      announce(t('kd.action.made', { title: a.title }));
    } catch (err) {
      if (!ctx.alive()) return;
      btn.disabled = false;
      msg.className = 'error-text kd-action-msg';
      msg.textContent = err.status === 403 ? t('kd.action.forbidden') : errorText(err);
      msg.title = errorDetail(err) || '';
      msg.dataset.status = String(err.status ?? '');
      announce(msg.textContent);
    }
  });
  return h('div', { class: 'kd-action' }, btn, msg);
}

function gainText(d) {
  const l = lang();
  const g = d.gain;
  if (!g || !num(g.value)) return t('kd.gain.none');
  return t('kd.gain', { v: fmtDiff(g.value, l) }) + (num(g.lo) && num(g.hi) ? ' (' + intervalText(g, (v) => fmtDiff(v, l)) + ')' : '');
}

// The top three of a unit: res is a /drivers or a /drivers/top3 reply
// (settled: {ok, value} or {ok:false, error}). opts: user, ctx, slice
// (what an action is about), unitName, orgUnitId, id, period, outcome.
export function top3Panel(res, opts) {
  const { user, id = 'kd-top3', period = '', outcome = 'nps' } = opts;
  const box = panel(t('kd.top3'), null, periodTag(period));
  box.id = id;
  if (!res.ok) {
    box.append(errorNotice(res.error));
    return box;
  }
  const v = res.value;
  if (suppressedReply(v)) {
    box.dataset.suppressed = 'true';
    box.append(h('p', { class: 'notice kd-suppressed', id: id + '-suppressed' }, suppressedText(v)));
    return box;
  }
  box.dataset.suppressed = 'false';
  const top = topThree(v);
  box.append(h('p', { class: 'hint' }, t('kd.top3.note')));
  if (outcome !== 'nps') {
    box.append(h('p', { class: 'empty', id: id + '-nps-only' }, t('kd.top3.nps_only')));
    return box;
  }
  if (!top.length) {
    box.append(h('p', { class: 'empty' }, t('kd.top3.none')));
    return box;
  }
  const l = lang();
  const may = MAY_ACT.includes(user.role);
  box.append(h('ol', { class: 'kd-top3' }, top.map((d) => h('li', {
    dataset: { driver: d.driver, gain: d.gain?.value ?? '', lo: d.gain?.lo ?? '', hi: d.gain?.hi ?? '' } },
    h('h3', null, driverLabel(d.driver)),
    h('p', { class: 'kd-gain' }, gainText(d)),
    num(d.mean) ? h('p', { class: 'hint kd-where' }, t('kd.where', { mean: fmtMean(d.mean, l), best: fmtMean(d.org_best_quartile, l) })) : null,
    may ? actionButton(d, opts) : null))));
  return box;
}

// ---- change against another period ---------------------------------------------------------

const VERDICTS = ['rose', 'fell', 'no_change'];

function changePanel(res, slice, reload) {
  const l = lang();
  const opts = periodOptions().filter((o) => o.value !== (slice.period || ''));
  const sel = select([{ value: '', label: t('kd.change.none') }, ...opts], slice.compare, { name: 'compare', id: 'kd-compare',
    onchange: (ev) => reload({ compare: ev.target.value }) });
  const box = panel(t('kd.change'), null, h('p', { class: 'hint' }, t('kd.change.note')),
    h('div', { class: 'controls' }, field(t('kd.change.with'), sel)));
  box.id = 'kd-change';
  if (!slice.compare) {
    const prev = previousPeriod(slice.period);
    if (prev) box.append(h('p', null, h('a', { href: hrefOf({ ...slice, compare: prev }), id: 'kd-compare-prev' }, t('kd.change.prev', { p: periodLabel(prev, { plain: true }) }))));
    return box;
  }
  const c = res.change;
  if (!c || !Array.isArray(c.drivers)) {
    box.append(h('p', { class: 'notice', id: 'kd-change-none' }, t('kd.change.unavailable')));
    return box;
  }
  box.append(h('p', { class: 'hint' }, t('kd.change.which', { a: periodLabel(c.period ?? slice.compare, { plain: true }), b: periodLabel(slice.period, { plain: true }) })));
  box.append(h('div', { class: 'table-wrap' }, h('table', { id: 'kd-change-table' },
    h('caption', null, t('kd.change.caption')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('kd.col.driver')),
      h('th', { scope: 'col', class: 'num' }, t('kd.change.before')),
      h('th', { scope: 'col', class: 'num' }, t('kd.change.after')),
      h('th', { scope: 'col', class: 'num' }, t('kd.change.diff')),
      h('th', { scope: 'col' }, t('kd.change.verdict')))),
    h('tbody', null, c.drivers.map((x) => {
      const verdict = VERDICTS.includes(x.verdict) ? x.verdict : 'no_change';
      const d = x.diff || {};
      return h('tr', { dataset: { driver: x.driver, verdict } },
        h('th', { scope: 'row' }, driverLabel(x.driver)),
        h('td', { class: 'num', dataset: { col: 'before', value: x.weight_before ?? '' } }, fmtR2(x.weight_before, l)),
        h('td', { class: 'num', dataset: { col: 'after', value: x.weight_after ?? '' } }, fmtR2(x.weight_after, l)),
        h('td', { class: 'num', dataset: { col: 'diff', value: d.value ?? '', lo: d.lo ?? '', hi: d.hi ?? '' } },
          num(d.value) ? fmtNumber(d.value, l, 3, { sign: true }) : '–', h('br'),
          h('span', { class: 'hint' }, intervalText(d, (v) => fmtNumber(v, l, 3, { sign: true })))),
        h('td', { class: 'kd-verdict kd-verdict-' + verdict, dataset: { col: 'verdict' } },
          h('span', { 'aria-hidden': 'true' }, verdict === 'rose' ? '\u25b2 ' : verdict === 'fell' ? '\u25bc ' : ''),
          t('kd.change.' + verdict)));
    })))));
  return box;
}

// ---- moments of truth -----------------------------------------------------------------------

// How the hand-set flag and the data's suggestion compare, as a key.
export function motAgreement(set, suggested) {
  if (set && suggested) return 'both';
  if (set) return 'hand_only';
  if (suggested) return 'data_only';
  return 'neither';
}

function motTable(res) {
  const l = lang();
  const rows = res.touchpoints || [];
  return h('div', { class: 'table-wrap' }, h('table', { id: 'kd-mot-table' },
    h('caption', null, t('kd.mot.caption', { journey: res.journey?.name ?? '' })),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('col.touchpoint')),
      h('th', { scope: 'col', class: 'num' }, t('col.n')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.share')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.rank')),
      h('th', { scope: 'col' }, t('kd.mot.set')),
      h('th', { scope: 'col' }, t('kd.mot.suggested')),
      h('th', { scope: 'col' }, t('kd.mot.compare')))),
    h('tbody', null, rows.map((r) => {
      const set = Boolean(r.moment_of_truth_set);
      const sug = Boolean(r.moment_of_truth_suggested);
      const w = r.weight || {};
      const share = num(r.share) ? r.share : r.share?.value;
      const rank = num(r.rank) ? r.rank : r.rank?.value;
      const agree = motAgreement(set, sug);
      const hidden = suppressedReply(r);
      return h('tr', { dataset: { touchpoint: r.touchpoint?.id ?? '', set: String(set), suggested: String(sug), agreement: agree,
        matters: String(hidden ? false : shownToMatter(r)) } },
        h('th', { scope: 'row' }, r.touchpoint?.name ?? ''),
        h('td', { class: 'num', dataset: { col: 'n', value: r.n ?? '' } }, fmtInt(r.n, l)),
        hidden ? h('td', { class: 'num masked', colspan: '2' }, t('insufficient'))
          : [h('td', { class: 'num', dataset: { col: 'share', value: share ?? '', lo: w.lo ?? '', hi: w.hi ?? '' } },
            fmtShare(share, l), h('br'), h('span', { class: 'hint' }, num(w.lo) && num(w.hi) ? t('kd.mot.weight', { range: fmtRange(w.lo, w.hi, (v) => fmtR2(v, l)) }) : ''),
            shownToMatter(r) ? null : h('span', { class: 'hint kd-not-shown' }, [h('br'), t('kd.matters.no')])),
          h('td', { class: 'num', dataset: { col: 'rank', value: rank ?? '' } }, fmtInt(rank, l))],
        h('td', { dataset: { col: 'set' } }, set ? [h('span', { 'aria-hidden': 'true', class: 'mot-mark' }, '\u2605 '), t('kd.mot.yes')] : t('kd.mot.no')),
        h('td', { dataset: { col: 'suggested' } }, sug ? [h('span', { 'aria-hidden': 'true', class: 'mot-mark' }, '\u25c6 '), t('kd.mot.yes')] : t('kd.mot.no')),
        h('td', { class: 'kd-agree kd-agree-' + agree, dataset: { col: 'compare' } }, t('kd.mot.' + agree)));
    }))));
}

function motPanel(ctx, slice, journeys) {
  const sel = select(journeys.map((j) => ({ value: j.id, label: j.name })), slice.mj || slice.journey_id || journeys[0]?.id,
    { name: 'mj', id: 'kd-mot-journey' });
  const body = h('div', { id: 'kd-mot-body', 'aria-live': 'polite' }, h('p', { class: 'loading' }, t('loading')));
  const box = h('section', { class: 'panel', id: 'kd-mot', 'aria-busy': 'true' },
    h('h2', null, t('kd.mot')),
    h('p', { class: 'hint' }, t('kd.mot.note')),
    periodTag(slice.period),
    journeys.length ? h('div', { class: 'controls' }, field(t('kd.mot.journey'), sel)) : null,
    body);
  if (!journeys.length) {
    body.replaceChildren(h('p', { class: 'empty' }, t('kd.mot.nojourney')));
    box.setAttribute('aria-busy', 'false');
    box.dataset.ready = 'true';
    return box;
  }
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    box.setAttribute('aria-busy', 'true');
    delete box.dataset.ready;
    const q = { journey_id: sel.value };
    if (slice.period) q.period = slice.period;
    const r = await settled(api('/drivers/moments', { query: q }));
    if (!ctx.alive() || mine !== seq) return;
    if (!r.ok) body.replaceChildren(errorNotice(r.error));
    else if (suppressedReply(r.value)) body.replaceChildren(h('p', { class: 'notice kd-suppressed', id: 'kd-mot-suppressed' }, suppressedText(r.value)));
    else {
      const v = r.value;
      const l = lang();
      body.replaceChildren(
        h('p', { id: 'kd-mot-n', dataset: { value: v.n_customers ?? '' } }, t('kd.mot.customers', { n: fmtInt(v.n_customers, l), journey: v.journey?.name ?? '' })),
        v.outcome ? h('p', { class: 'hint' }, t('kd.mot.outcome', { o: t('kd.mot.outcome.' + v.outcome) === 'kd.mot.outcome.' + v.outcome ? v.outcome : t('kd.mot.outcome.' + v.outcome) })) : null,
        (v.touchpoints || []).length ? motTable(v) : h('p', { class: 'empty' }, t('kd.none')),
        h('p', { class: 'legend kd-mot-legend' }, h('span', null, '\u2605 ' + t('kd.mot.legend.set')), h('span', null, '\u25c6 ' + t('kd.mot.legend.suggested'))));
    }
    box.dataset.journey = sel.value;
    box.setAttribute('aria-busy', 'false');
    box.dataset.ready = 'true';
  };
  sel.addEventListener('change', () => {
    // the address keeps the journey chosen (a link shows the same view)
    ctx.setQuery({ ...slice, outcome: slice.outcome === 'nps' ? '' : slice.outcome,
      method: slice.method === 'relweights' ? '' : slice.method, mj: sel.value });
    load();
  });
  load();
  return box;
}

// ---- the org page's heat map: the suggested moments of truth ---------------------------------

// GET /drivers/moments for each journey: Map(touchpoint id → suggested),
// or null when the server has no such route or refuses it (no mark then).
export async function suggestedMoments(journeyIds, period) {
  const replies = await Promise.all(journeyIds.map((id) => settled(api('/drivers/moments', { query: { journey_id: id, ...(period ? { period } : {}) } }))));
  if (replies.every((r) => !r.ok)) return null;
  const map = new Map();
  for (const r of replies) {
    if (!r.ok || suppressedReply(r.value)) continue;
    for (const x of r.value.touchpoints || []) map.set(String(x.touchpoint?.id), Boolean(x.moment_of_truth_suggested));
  }
  return map;
}

// ---- the page -----------------------------------------------------------------------------

export async function render(main, ctx) {
  disposeOwn();
  const user = ctx.user;
  const slice = sliceOf(ctx.query);
  main.append(h('h1', null, t('kd.title')));
  main.dataset.outcome = slice.outcome;
  const reload = (over) => ctx.navigate(hrefOf({ ...slice, ...over }));

  const [res, units, tps, journeys, segs] = await Promise.all([
    settled(api('/drivers', { query: driversQuery(slice) })),
    unitsInReach(user).catch(() => []),
    api('/touchpoints', { query: { limit: 500 } }).then((r) => r.items || []).catch(() => []),
    api('/journeys', { query: { limit: 500 } }).then((r) => r.items || []).catch(() => []),
    segments(slice.period).catch(() => []),
  ]);
  if (!ctx.alive()) return;

  // the slice
  const controls = [
    field(t('kd.outcome'), select(OUTCOMES.map((o) => ({ value: o, label: t('kd.outcome.' + o) })), slice.outcome,
      { name: 'outcome', id: 'kd-outcome', onchange: (ev) => reload({ outcome: ev.target.value }) })),
    periodField(slice.period, (ev) => reload({ period: ev.target.value, compare: '' })),
  ];
  const pickable = units.filter((x) => x.kind !== 'organisation');
  if (pickable.length) {
    controls.push(field(t('kd.unit'), select([{ value: '', label: t('kd.unit.all') }, ...pickable.map((x) => ({ value: x.id, label: x.name }))],
      slice.team_id, { name: 'team_id', id: 'kd-team', onchange: (ev) => reload({ team_id: ev.target.value }) })));
  }
  const jList = journeys;
  controls.push(field(t('kd.journey'), select([{ value: '', label: t('verbatims.any') }, ...jList.map((x) => ({ value: x.id, label: x.name }))],
    slice.journey_id, { name: 'journey_id', id: 'kd-journey', onchange: (ev) => reload({ journey_id: ev.target.value, touchpoint_id: '' }) })));
  const tpList = slice.journey_id ? tps.filter((x) => String(x.journey_id) === String(slice.journey_id)) : tps;
  controls.push(field(t('verbatims.touchpoint'), select([{ value: '', label: t('verbatims.any') }, ...tpList.map((x) => ({ value: x.id, label: x.name }))],
    slice.touchpoint_id, { name: 'touchpoint_id', id: 'kd-touchpoint', onchange: (ev) => reload({ touchpoint_id: ev.target.value }) })));
  const segList = segs.includes(slice.segment) || !slice.segment ? segs : [...segs, slice.segment];
  controls.push(field(t('dim.segment'), select([{ value: '', label: t('verbatims.any') }, ...segList.map((x) => ({ value: x, label: x }))],
    slice.segment, { name: 'segment', id: 'kd-segment', onchange: (ev) => reload({ segment: ev.target.value }) })));
  controls.push(field(t('kd.method'), select(METHODS.map((m) => ({ value: m, label: t('kd.method.' + m) })), slice.method,
    { name: 'method', id: 'kd-method', onchange: (ev) => reload({ method: ev.target.value }) })));
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'controls kd-controls' }, controls)));
  if (user.role === 'team_lead') main.append(h('p', { class: 'hint', id: 'kd-scope' }, t('kd.scope.team_lead')));
  if (user.role === 'manager' && !slice.team_id) main.append(h('p', { class: 'hint', id: 'kd-scope' }, t('kd.scope.manager')));

  main.append(h('details', { class: 'panel kd-method-note', id: 'kd-method-note' },
    h('summary', null, t('kd.method.about')),
    h('p', null, t('kd.method.note.' + slice.method)),
    h('p', null, t('kd.method.note.ci')),
    h('p', null, t('kd.method.note.missing')),
    h('p', null, t('kd.method.note.cause'))));

  const unitName = slice.team_id ? (units.find((x) => String(x.id) === String(slice.team_id))?.name ?? null) : null;
  const orgUnitId = units.find((x) => x.kind === 'organisation')?.id ?? null;

  if (!res.ok) {
    main.append(h('div', { id: 'kd-error' }, errorNotice(res.error)));
  } else if (suppressedReply(res.value)) {
    main.dataset.suppressed = 'true';
    main.append(h('div', { id: 'kd-summary' }, panel(t('kd.summary'), null, periodTag(slice.period),
      h('p', { class: 'notice kd-suppressed', id: 'kd-suppressed' }, suppressedText(res.value)))));
  } else {
    const v = res.value;
    main.dataset.suppressed = 'false';
    main.append(h('div', { id: 'kd-summary' }, summaryPanel(v, slice)));
    main.append(quadrantPanel(v, slice));
    main.append(top3Panel({ ok: true, value: v }, { user, ctx, slice, unitName, orgUnitId, period: slice.period, outcome: v.outcome ?? slice.outcome }));
    main.append(changePanel(v, slice, reload));
  }
  main.append(motPanel(ctx, slice, jList));
}
