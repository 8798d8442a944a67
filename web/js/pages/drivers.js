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
import { themeLabels, themeLabel } from './themes.js';

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

// The taxonomy's theme names (themes=1 makes themes drivers too), loaded by
// the page; empty until then.
let themeNames = new Map();

// A driver's name in the UI's language: a theme by the taxonomy's label;
// the aspects the product knows have a label in both languages; any other
// aspect (an organisation's own survey) is shown as the survey names it.
export function driverLabel(code) {
  if (themeNames.has(code)) return themeLabel(themeNames, code, code);
  const key = 'kd.driver.' + code;
  const s = t(key);
  return s === key ? String(code) : s;
}

// A theme's "mean" is the share of analysed answers that mention it (a
// percentage); an aspect's the mean rating (two decimals).
const isTheme = (d) => d?.kind === 'theme';
function fmtLevel(d, v, l = lang()) {
  return isTheme(d) ? fmtPct(v, l) : fmtMean(v, l);
}

// A share of R² (0..1) as a percentage with one decimal: 0.342 → "34,2%".
export function fmtShare(v, l = lang()) {
  return typeof v === 'number' ? fmtNumber(v * 100, l, 1) + '%' : '–';
}

// R² and a weight (in R² units) with the server's four decimals, as sent.
export function fmtR2(v, l = lang()) {
  return typeof v === 'number' ? fmtNumber(v, l, 4) : '–';
}

const num = (v) => typeof v === 'number' && Number.isFinite(v);

// Whether the driver is shown to matter: the server's flag (its weight
// against an added pure-noise driver's, per bootstrap replicate, has an
// interval above 0: a relative weight itself is never negative); without
// a flag, its weight's interval lies above 0.
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

const SLICE_KEYS = ['outcome', 'method', 'period', 'team_id', 'touchpoint_id', 'journey_id', 'segment', 'themes', 'compare', 'mj'];

function sliceOf(query) {
  const s = {};
  for (const k of SLICE_KEYS) s[k] = query.get(k) || '';
  if (!OUTCOMES.includes(s.outcome)) s.outcome = 'nps';
  if (!METHODS.includes(s.method)) s.method = 'relweights';
  if (s.themes !== '1') s.themes = '';
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
  for (const k of ['period', 'team_id', 'touchpoint_id', 'journey_id', 'segment', 'themes', 'compare']) if (slice[k]) q[k] = slice[k];
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
// the share of R², divided at the mean share of the model's drivers (the
// quadrant's rule). The server decides the quadrant on the exact figures;
// the ones it sends are rounded, so a point whose rounded figures sit on a
// dividing line (or just across it) is drawn a hair inside the quadrant the
// server named, never on the other side of the line.
export function quadrantPoints(drivers) {
  const inModel = drivers.filter((d) => num(d.mean) && num(d.share?.value));
  const withOrg = inModel.length > 0 && inModel.every((d) => num(d.org_mean));
  const means = inModel.filter((d) => !isTheme(d)).map((d) => d.mean);
  const avgMean = means.length ? means.reduce((a, b) => a + b, 0) / means.length : 0;
  const shares = inModel.map((d) => d.share.value);
  const yThr = shares.length ? shares.reduce((a, b) => a + b, 0) / shares.length : 0;
  // better than the organisation is to the right: for a theme that goes with lower scores that is a smaller share
  const dir = (d) => (d.lower_is_better ? -1 : 1);
  const raw = inModel.map((d) => ({ d, x: dir(d) * (withOrg ? d.mean - d.org_mean : d.mean - avgMean), y: d.share.value }));
  const xSpan = Math.max(0.25, ...raw.map((p) => Math.abs(p.x)));
  const ySpan = Math.max(0.05, ...raw.map((p) => p.y));
  const pts = raw.map(({ d, x, y }) => {
    const q = d.quadrant, rx = x;
    if (QUADRANTS.includes(q)) {
      const good = q === 'keep' || q === 'maintain', important = q === 'keep' || q === 'improve_first';
      if (good && x < 0.005 * xSpan) x = 0.005 * xSpan;
      if (!good && x > -0.005 * xSpan) x = -0.005 * xSpan;
      if (important && y < yThr) y = yThr;
      if (!important && y >= yThr) y = Math.max(0, yThr - 0.005 * ySpan);
    }
    return { driver: d.driver, quadrant: q, x, y, rx, theme: isTheme(d) };
  });
  return { pts, xThr: 0, yThr, relative: withOrg, themes: inModel.some(isTheme) };
}

async function quadrantChart(el, drivers) {
  const echarts = await loadECharts();
  const chart = echarts.init(el, null, { renderer: 'svg' });
  drawn.add(chart);
  const l = lang();
  const { pts, yThr, relative, themes } = quadrantPoints(drivers);
  const narrow = el.clientWidth < 480;  // a phone: smaller type, the legend on more lines
  // where each driver was drawn, and the dividing lines: readable for tests and as a record
  el.dataset.points = JSON.stringify(pts.map((p) => [p.driver, p.quadrant, p.x, p.y]));
  el.dataset.dividers = JSON.stringify([0, yThr]);
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
    data: pts.filter((p) => p.quadrant === q).map((p) => ({ name: driverLabel(p.driver), value: [p.x, p.y], rx: p.rx, theme: p.theme })),
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
        + (relative ? t('kd.axis.vs_org') : t('kd.axis.vs_avg')) + ': '
        + (p.data.theme ? t('kd.pp', { v: fmtNumber(p.data.rx * 100, l, 0, { sign: true }) }) : fmtNumber(p.data.rx, l, 2, { sign: true })) },
    xAxis: { type: 'value', min: xMin, max: xMax,
      name: themes ? t('kd.axis.performance.mixed') : relative ? t('kd.axis.performance') : t('kd.axis.performance.avg'),
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
      h('dt', null, t('kd.method')), h('dd', { dataset: { value: res.method ?? slice.method } }, t('kd.method.' + (res.method ?? slice.method)),
        num(res.bootstrap) ? h('span', { class: 'hint', id: 'kd-bootstrap', dataset: { value: res.bootstrap, requested: res.bootstrap_requested ?? '' } },
          ' — ' + (res.bootstrap > 0 ? t('kd.bootstrap', { b: fmtInt(res.bootstrap, l) }) : t('kd.bootstrap.none'))
          + (num(res.bootstrap_requested) && res.bootstrap < res.bootstrap_requested && res.bootstrap > 0 ? ' ' + t('kd.bootstrap.fewer', { asked: fmtInt(res.bootstrap_requested, l) }) : '')) : null)),
    // no model for this slice (too few rows, a driver without variance, drivers that coincide): said, the server's words as a title
    res.model_error ? h('p', { class: 'notice', id: 'kd-model-error', title: res.model_error }, t('kd.model_error')) : null);
}

export function quadrantWords(q) {
  return QUADRANTS.includes(q) ? t('kd.q.' + q) : t('kd.q.none');
}

// A driver row: in the model (share, rank, whether it matters, quadrant),
// or rated too seldom in the slice to be (minimum n): then its count only,
// and "not in the model" in words.
function driverRow(d, minN) {
  const l = lang();
  const inModel = d.in_model !== false && num(d.share?.value);
  const matters = inModel && shownToMatter(d);
  const s = d.share || {}, r = d.rank || {};
  const cells = [
    h('th', { scope: 'row' }, driverLabel(d.driver),
      // a theme: its level is the share of answers that mention it (less is better for a complaint)
      isTheme(d) ? [h('br'), h('span', { class: 'hint kd-theme' }, t(d.lower_is_better ? 'kd.theme.mentioned.lower' : 'kd.theme.mentioned'))] : null),
    h('td', { class: 'num', dataset: { col: 'n', value: d.n ?? '' } }, fmtInt(d.n, l)),
    // the mean (and good share) may count fewer ratings than n: the server leaves out what a person's page could not show
    num(d.mean)
      ? h('td', { class: 'num', dataset: { col: 'mean', value: d.mean, n: d.mean_n ?? '' } }, fmtLevel(d, d.mean, l),
        num(d.org_mean) ? h('span', { class: 'hint kd-org' }, ' ' + t('kd.org_mean', { v: fmtLevel(d, d.org_mean, l) })) : null,

        num(d.mean_n) && d.mean_n !== d.n ? [h('br'), h('span', { class: 'hint kd-mean-n' }, t('kd.mean_n', { n: fmtInt(d.mean_n, l) }))] : null)
      : h('td', { class: 'num masked', dataset: { col: 'mean', n: d.mean_n ?? '' } }, t('insufficient')),
    num(d.good_share)
      ? h('td', { class: 'num', dataset: { col: 'good', value: d.good_share } }, fmtPct(d.good_share, l))
      : isTheme(d) ? h('td', { class: 'num', dataset: { col: 'good' } }, '–')  // a mention has no rating
        : h('td', { class: 'num masked', dataset: { col: 'good' } }, t('insufficient')),
  ];
  if (!inModel) {
    // rated too seldom here for the model, or the slice has no model at all
    const few = d.left_out === 'too_few_ratings' || (!d.left_out && num(d.n) && num(minN) && d.n < minN);
    const why = few ? t('kd.not_in_model', { min: minN ?? '' })
      : d.left_out === 'not_rated_with_other_drivers' ? t('kd.not_in_model.apart')
      : d.left_out === 'too_few_mentions' ? t('kd.not_in_model.mentions')
        : d.left_out ? t('kd.not_in_model.other') : t('kd.not_in_model.none');
    cells.push(h('td', { class: 'kd-not-shown', colspan: '4', dataset: { col: 'share', leftOut: d.left_out ?? '' } }, why));
  } else {
    cells.push(
      h('td', { class: 'num', dataset: { col: 'share', value: s.value ?? '', lo: s.lo ?? '', hi: s.hi ?? '' } },
        fmtShare(s.value, l), h('br'), h('span', { class: 'hint' }, intervalText(s, (v) => fmtShare(v, l)))),
      h('td', { class: 'num', dataset: { col: 'rank', value: r.value ?? '', lo: r.lo ?? '', hi: r.hi ?? '' } },
        fmtInt(r.value, l), num(r.lo) && num(r.hi) ? h('span', { class: 'hint' }, ' ' + t('kd.rank.range', { lo: fmtInt(r.lo, l), hi: fmtInt(r.hi, l) })) : null),
      h('td', { class: 'kd-matters' + (matters ? '' : ' kd-not-shown'), dataset: { col: 'matters' } },
        matters ? t('kd.matters.yes') : t('kd.matters.no'),
        // the weight against a pure-noise aspect's, when the reply has it: the interval the verdict is read from
        num(d.vs_noise?.lo) && num(d.vs_noise?.hi) ? [h('br'), h('span', { class: 'hint' },
          t('kd.matters.vs_noise', { range: fmtRange(d.vs_noise.lo, d.vs_noise.hi, (v) => fmtNumber(v, l, 4, { sign: true })) }))] : null),
      h('td', { class: 'kd-quadrant', dataset: { col: 'quadrant', value: d.quadrant ?? '' } },
        QUADRANTS.includes(d.quadrant) ? [h('span', { class: 'q-mark q-' + d.quadrant, 'aria-hidden': 'true' }, Q_MARK[d.quadrant]), ' '] : null,
        quadrantWords(d.quadrant)));
  }
  return h('tr', { dataset: { driver: d.driver, quadrant: d.quadrant ?? '', matters: String(matters), inModel: String(inModel) } }, cells);
}

function driverTable(drivers, minN) {
  return h('div', { class: 'table-wrap' }, h('table', { id: 'kd-table', class: 'kd-table' },
    h('caption', null, t('kd.table.caption')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('kd.col.driver')),
      h('th', { scope: 'col', class: 'num' }, t('col.n')),
      h('th', { scope: 'col', class: 'num' }, drivers.some(isTheme) ? t('kd.col.mean.themes') : t('kd.col.mean')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.good')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.share')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.rank')),
      h('th', { scope: 'col' }, t('kd.col.matters')),
      h('th', { scope: 'col' }, t('kd.col.quadrant')))),
    h('tbody', null, drivers.map((d) => driverRow(d, minN)))));
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
  if (drivers.some((d) => QUADRANTS.includes(d.quadrant))) box.append(chartBox(t('kd.quadrant.chart'), (el) => quadrantChart(el, drivers)));
  // the whole organisation against itself: every mean is the organisation's
  if (drivers.length && drivers.every((d) => !num(d.mean) || !num(d.org_mean) || d.mean === d.org_mean) && !slice.team_id) {
    box.append(h('p', { class: 'hint', id: 'kd-quadrant-org' }, t('kd.quadrant.org')));
  }
  box.append(h('ul', { class: 'kd-q-legend legend', id: 'kd-q-legend' }, QUADRANTS.map((q) => h('li', { dataset: { quadrant: q } },
    h('span', { class: 'q-mark q-' + q, 'aria-hidden': 'true' }, Q_MARK[q]), ' ', h('strong', null, t('kd.q.' + q)), ': ', t('kd.q.' + q + '.what')))));
  box.append(driverTable(drivers, res.min_n));
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
      mean: fmtLevel(d, d.mean, l), best: fmtLevel(d, d.org_best_quartile, l),
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
  const { user, id = 'kd-top3', period = '', outcome = 'nps', more = null } = opts;
  const box = panel(t('kd.top3'), null, periodTag(period));
  box.id = id;
  // after the list (or the sentence): the whole analysis of the unit
  const moreLink = () => (more ? h('p', null, h('a', { href: more, class: 'kd-more' }, t('kd.top3.more'))) : null);
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
    // no model for the unit is not "nothing to gain": say which it is
    box.append(v.model_error ? h('p', { class: 'notice', id: id + '-model-error', title: v.model_error }, t('kd.model_error'))
      : h('p', { class: 'empty', id: id + '-none' }, t('kd.top3.none')));
    const m = moreLink();
    if (m) box.append(m);
    return box;
  }
  const l = lang();
  const may = MAY_ACT.includes(user.role);
  box.append(h('ol', { class: 'kd-top3' }, top.map((d) => h('li', {
    dataset: { driver: d.driver, gain: d.gain?.value ?? '', lo: d.gain?.lo ?? '', hi: d.gain?.hi ?? '' } },
    h('h3', null, driverLabel(d.driver)),
    h('p', { class: 'kd-gain' }, gainText(d)),
    num(d.mean) ? h('p', { class: 'hint kd-where' }, t(isTheme(d) ? 'kd.where.theme' : 'kd.where',
      { mean: fmtLevel(d, d.mean, l), best: fmtLevel(d, d.org_best_quartile, l) })) : null,
    may ? actionButton(d, opts) : null))));
  const m = moreLink();
  if (m) box.append(m);
  return box;
}

// ---- change against another period ---------------------------------------------------------

const VERDICTS = ['rose', 'fell', 'no_change'];

function changePanel(res, slice, reload) {
  const l = lang();
  // whole periods other than the one shown (all time is no period to compare with)
  const opts = periodOptions().filter((o) => o.value && o.value !== (slice.period || ''));
  const sel = select([{ value: '', label: t('kd.change.off') }, ...opts], slice.compare, { name: 'compare', id: 'kd-compare',
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
  if (!c || !Array.isArray(c.drivers) || c.suppressed || !c.drivers.length) {
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
      // no verdict without intervals (no bootstrap): said so, not "no change"
      const verdict = VERDICTS.includes(x.verdict) ? x.verdict : 'none';
      const d = x.diff || {};
      return h('tr', { dataset: { driver: x.driver, verdict } },
        h('th', { scope: 'row' }, driverLabel(x.driver)),
        h('td', { class: 'num', dataset: { col: 'before', value: x.weight_before ?? '' } }, fmtR2(x.weight_before, l)),
        h('td', { class: 'num', dataset: { col: 'after', value: x.weight_after ?? '' } }, fmtR2(x.weight_after, l)),
        h('td', { class: 'num', dataset: { col: 'diff', value: d.value ?? '', lo: d.lo ?? '', hi: d.hi ?? '' } },
          num(d.value) ? fmtNumber(d.value, l, 4, { sign: true }) : '–', h('br'),
          h('span', { class: 'hint' }, intervalText(d, (v) => fmtNumber(v, l, 4, { sign: true })))),
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
  const end = res.outcome_touchpoint;
  return h('div', { class: 'table-wrap' }, h('table', { id: 'kd-mot-table' },
    h('caption', null, t('kd.mot.caption', { journey: res.journey?.name ?? '' })),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('col.touchpoint')),
      h('th', { scope: 'col', class: 'num' }, t('col.n')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.share')),
      h('th', { scope: 'col', class: 'num' }, t('kd.col.rank')),
      h('th', { scope: 'col' }, t('kd.col.matters')),
      h('th', { scope: 'col' }, t('kd.mot.set')),
      h('th', { scope: 'col' }, t('kd.mot.suggested')),
      h('th', { scope: 'col' }, t('kd.mot.compare')))),
    h('tbody', null, rows.map((r) => {
      const set = Boolean(r.moment_of_truth_set);
      const sug = Boolean(r.moment_of_truth_suggested);
      const sh = num(r.share) ? { value: r.share } : r.share || {};
      const w = r.weight || {};
      const rk = num(r.rank) ? { value: r.rank } : r.rank || {};
      const agree = motAgreement(set, sug);
      const inModel = num(sh.value);
      const matters = inModel && shownToMatter(r);
      return h('tr', { dataset: { touchpoint: r.touchpoint?.id ?? '', set: String(set), suggested: String(sug), agreement: agree,
        matters: String(matters) } },
        h('th', { scope: 'row' }, r.touchpoint?.name ?? ''),
        h('td', { class: 'num', dataset: { col: 'n', value: r.n ?? '' } }, fmtInt(r.n, l)),
        inModel
          ? [h('td', { class: 'num', dataset: { col: 'share', value: sh.value, lo: sh.lo ?? '', hi: sh.hi ?? '', weight: w.value ?? '' } },
            fmtShare(sh.value, l), h('br'), h('span', { class: 'hint' }, intervalText(sh, (v) => fmtShare(v, l)))),
          h('td', { class: 'num', dataset: { col: 'rank', value: rk.value ?? '', lo: rk.lo ?? '', hi: rk.hi ?? '' } }, fmtInt(rk.value, l),
            num(rk.lo) && num(rk.hi) ? h('span', { class: 'hint' }, ' ' + t('kd.rank.range', { lo: fmtInt(rk.lo, l), hi: fmtInt(rk.hi, l) })) : null),
          h('td', { class: 'kd-matters' + (matters ? '' : ' kd-not-shown'), dataset: { col: 'matters' } }, matters ? t('kd.matters.yes') : t('kd.matters.no'))]
          : h('td', { class: 'kd-not-shown', colspan: '3', dataset: { col: 'share' } }, t('kd.mot.no_model')),
        h('td', { dataset: { col: 'set' } }, set ? [h('span', { 'aria-hidden': 'true', class: 'mot-mark' }, '\u2605 '), t('kd.mot.yes')] : t('kd.mot.no')),
        h('td', { dataset: { col: 'suggested' } }, sug ? [h('span', { 'aria-hidden': 'true', class: 'mot-mark' }, '\u25c6 '), t('kd.mot.yes')] : t('kd.mot.no')),
        h('td', { class: 'kd-agree kd-agree-' + agree, dataset: { col: 'compare' } }, t('kd.mot.' + agree)));
    }),
    // the journey's last touchpoint: the score analysed, not a driver of it
    end ? h('tr', { class: 'kd-mot-end', dataset: { touchpoint: end.id, set: String(Boolean(end.moment_of_truth_set)), outcome: 'true' } },
      h('th', { scope: 'row' }, end.name),
      h('td', { colspan: '4', class: 'hint' }, t('kd.mot.end')),
      h('td', { dataset: { col: 'set' } }, end.moment_of_truth_set ? [h('span', { 'aria-hidden': 'true', class: 'mot-mark' }, '\u2605 '), t('kd.mot.yes')] : t('kd.mot.no')),
      h('td', { colspan: '2', class: 'hint', dataset: { col: 'suggested' } }, t('kd.mot.end.none'))) : null)));
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
      // (replaceChildren would write a null as the text "null")
      body.replaceChildren(...[
        h('p', { id: 'kd-mot-n', dataset: { value: v.n_customers ?? '' } }, t('kd.mot.customers', { n: fmtInt(v.n_customers, l), journey: v.journey?.name ?? '' })),
        v.outcome_touchpoint ? h('p', { class: 'hint', id: 'kd-mot-outcome', title: v.outcome || null }, t('kd.mot.outcome', {
          measure: t('kd.outcome.' + (v.outcome_measure || 'nps')), tp: v.outcome_touchpoint.name, days: v.window_days ?? 90 })) : null,
        num(v.r2?.value) ? h('p', { class: 'hint', id: 'kd-mot-r2', dataset: { value: v.r2.value } },
          t('kd.r2') + ': ' + fmtR2(v.r2.value, l) + (num(v.r2.lo) ? ' (' + intervalText(v.r2, (x) => fmtR2(x, l)) + ')' : '')) : null,
        v.model_error ? h('p', { class: 'notice', id: 'kd-mot-model-error', title: v.model_error }, t('kd.model_error')) : null,
        (v.touchpoints || []).length ? motTable(v) : h('p', { class: 'empty' }, t('kd.none')),
        h('p', { class: 'legend kd-mot-legend' }, h('span', null, '\u2605 ' + t('kd.mot.legend.set')), h('span', null, '\u25c6 ' + t('kd.mot.legend.suggested'))),
      ].filter(Boolean));
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

  const [res, units, tps, journeys, segs, names] = await Promise.all([
    settled(api('/drivers', { query: driversQuery(slice) })),
    unitsInReach(user).catch(() => []),
    api('/touchpoints', { query: { limit: 500 } }).then((r) => r.items || []).catch(() => []),
    api('/journeys', { query: { limit: 500 } }).then((r) => r.items || []).catch(() => []),
    segments(slice.period).catch(() => []),
    slice.themes ? themeLabels().catch(() => new Map()) : Promise.resolve(new Map()),
  ]);
  if (!ctx.alive()) return;
  themeNames = names;

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
  const themesBox = h('input', { type: 'checkbox', name: 'themes', id: 'kd-themes', checked: slice.themes === '1',
    onchange: (ev) => reload({ themes: ev.target.checked ? '1' : '' }) });
  controls.push(h('div', { class: 'field kd-themes-field' }, h('label', { class: 'check', for: 'kd-themes' }, themesBox, t('kd.themes'))));
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
