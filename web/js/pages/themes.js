// pages/themes.js — why customers say what they say (issue 14): the themes
// of the open answers in a slice (#/themes?period=P&team_id=T&touchpoint_id=X),
// from GET /api/v1/themes: how often each theme comes up and in what mood
// (volume × sentiment, a chart with its table), the coverage, the trend per
// theme with the server's change verdict in words, and the NPS of the
// answers that mention a theme against those that don't (the difference
// with its interval; "not shown" when the server suppressed it). A theme
// opens the verbatim explorer filtered on it. Leads and up see the phrases
// no theme catches (GET /themes/discover); an admin adds one as a theme
// (POST /text/taxonomy/themes) and follows the re-analysis it starts (GET
// /text/reanalyze). The model panel shows what the sentiment model learned
// (GET /text/model) and, for admins, trains it (POST /text/model/train).
// The server decides the scope (a team lead: their team) and suppresses
// groups under the minimum n; the page shows what it was given.

import { api, errorText, errorDetail } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtInt, fmtPct, fmtNps, fmtDiff, fmtNumber, fmtRange, fmtDate, fmtDateTime, fmtPeriod } from '../format.js';
import { loadECharts } from '../charts.js';
import { panel, errorNotice, periodField, periodTag, changeText } from '../widgets.js';
import { periodDates } from './person.js';

const SENTIMENTS = ['negative', 'neutral', 'positive'];
const READ_TEXT = ['admin', 'director', 'manager'];  // /themes/discover, /text/model, /text/reanalyze

function settled(p) {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

// ---- labels ------------------------------------------------------------------------------

// GET /text/taxonomy → Map(theme id → {nl, en}). The themes reply names a
// theme in the account's language; the page speaks the UI's (NL/EN switch).
export async function themeLabels() {
  const res = await api('/text/taxonomy');
  const map = new Map();
  for (const th of res?.taxonomy?.themes || []) map.set(th.id, th.label || {});
  return map;
}

export function themeLabel(labels, id, fallback) {
  const l = labels?.get(id);
  return (l && (l[lang()] || l.nl || l.en)) || fallback || id;
}

// ---- numbers -----------------------------------------------------------------------------

// net = (positive − negative) / n, in [−1, 1]: written as the server sent
// it, with its sign (+0,35 / −0,12 / 0,00), never re-rounded to fewer digits.
export function fmtNet(v, l = lang()) {
  if (typeof v !== 'number') return '–';
  const s = String(Math.abs(v));
  const digits = s.includes('.') ? Math.min(3, s.split('.')[1].length) : 0;
  return fmtNumber(v, l, Math.max(2, digits), { sign: true });
}

// A theme row the server suppressed (under the minimum n, or hidden):
// no figures, "not enough responses".
export function themeSuppressed(th) {
  return Boolean(th.insufficient) || typeof th.n !== 'number' || !th.sentiment || typeof th.sentiment.negative !== 'number';
}

// The difference of the NPS with and without a theme, in words: null is
// "not shown" (suppressed, or no NPS); an interval that contains 0 is "not
// shown to matter"; otherwise higher or lower.
export function impactVerdict(d) {
  if (!d || typeof d.value !== 'number') return 'suppressed';
  if (typeof d.ci_low !== 'number' || typeof d.ci_high !== 'number') return 'suppressed';
  if (d.ci_low <= 0 && d.ci_high >= 0) return 'unclear';
  return d.value > 0 ? 'higher' : 'lower';
}

// ---- the slice ----------------------------------------------------------------------------

async function unitsInReach(user) {
  if (user.role === 'employee' || user.role === 'team_lead') return [];
  const query = user.role === 'manager' ? { parent_id: user.unit_id, limit: 500 } : { limit: 500 };
  const res = await api('/teams', { query });
  return res.items.filter((x) => x.kind !== 'organisation');
}

// The explorer's address for a theme in this slice (period → from/to).
export function explorerHref(slice, extra = {}) {
  const q = new URLSearchParams();
  const d = periodDates(slice.period || '');
  for (const [k, v] of Object.entries({ team_id: slice.team_id, employee_id: slice.employee_id,
    touchpoint_id: slice.touchpoint_id, from: d.from, to: d.to, ...extra })) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return '#/verbatims' + (s ? '?' + s : '');
}

// Months always (the route knows month, quarter and year; weeks would be
// too thin for a verdict anyway).
function trendInterval() {
  return 'month';
}

// ---- charts -------------------------------------------------------------------------------

// The charts this page drew: disposed when the page is drawn again (the
// router's disposeCharts only knows the charts of charts.js).
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

const SENT_COLOR = { negative: '#b3261e', neutral: '#8a949e', positive: '#18693f' };

// Stacked horizontal bars: per theme its negative, neutral and positive
// answers (the theme with the most answers on top).
async function volumeChart(el, rows) {
  const echarts = await loadECharts();
  const chart = echarts.init(el, null, { renderer: 'svg' });
  drawn.add(chart);
  const rev = [...rows].reverse();
  chart.setOption({
    animation: false,
    aria: ariaOf(el),
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, data: SENTIMENTS.map((s) => t('sentiment.' + s)) },
    tooltip: { trigger: 'axis', renderMode: 'richText', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: rev.map((r) => r.label), axisLabel: { width: 110, overflow: 'truncate' } },
    series: SENTIMENTS.map((s) => ({
      type: 'bar', stack: 'n', name: t('sentiment.' + s), data: rev.map((r) => r.sentiment[s] ?? 0),
      itemStyle: { color: SENT_COLOR[s] }, barMaxWidth: 28,
    })),
  });
  return chart;
}

// A chart panel whose figures are in the visible table after it.
function chartBox(label, draw, { tall = false } = {}) {
  const el = h('div', { class: 'chart' + (tall ? ' chart-tall' : ''), role: 'img', 'aria-label': label });
  requestAnimationFrame(() => {
    draw(el).then(() => { el.dataset.drawn = 'true'; }, () => {
      el.replaceWith(h('p', { class: 'notice' }, t('chart.unavailable')));
    });
  });
  return el;
}

// A sparkline of a theme's share per period, as SVG lines (no style
// attributes under the CSP; colours from app.css). Decorative: the words
// and the table say the same.
const SVG = 'http://www.w3.org/2000/svg';

function sparkline(points) {
  const w = 120, hgt = 32, pad = 3;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('class', 'sparkline');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const vals = points.map((p) => (typeof p.share === 'number' ? p.share : null));
  const nums = vals.filter((v) => v !== null);
  if (nums.length === 0) return svg;
  const hi = Math.max(...nums), lo = Math.min(0, ...nums);
  const span = hi - lo || 1;
  const x = (i) => (points.length === 1 ? w / 2 : pad + (i * (w - 2 * pad)) / (points.length - 1));
  const y = (v) => hgt - pad - ((v - lo) / span) * (hgt - 2 * pad);
  let run = [];
  const flush = () => {
    if (run.length > 1) {
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('points', run.join(' '));
      line.setAttribute('class', 'spark-line');
      svg.append(line);
    }
    run = [];
  };
  vals.forEach((v, i) => {
    if (v === null) { flush(); return; }
    run.push(x(i).toFixed(1) + ',' + y(v).toFixed(1));
    const dot = document.createElementNS(SVG, 'circle');
    dot.setAttribute('cx', x(i).toFixed(1));
    dot.setAttribute('cy', y(v).toFixed(1));
    dot.setAttribute('r', i === vals.length - 1 ? '2.5' : '1.5');
    dot.setAttribute('class', 'spark-dot');
    svg.append(dot);
  });
  flush();
  return svg;
}

// The trend's verdict in words: the change of the NPS of the answers that
// mention the theme, last period against the one before, as /metrics/trend
// judges it — "NPS van wie dit noemt: echte verandering (+4,2)", "binnen de
// ruis (−1,3)", "te weinig gegevens", "geen vorige periode".
export function trendVerdictText(v) {
  if (!v || !v.verdict) return t('themes.trend.none');
  return t('themes.trend.verdict', { v: changeText(v) });
}

// ---- panels -------------------------------------------------------------------------------

function summaryPanel(res, period) {
  const l = lang();
  const s = res.sentiment || {};
  return panel(t('themes.summary'), null, periodTag(period),
    h('dl', { class: 'theme-facts', id: 'themes-facts' },
      h('dt', null, t('themes.answers')), h('dd', { dataset: { value: res.answers } }, fmtInt(res.answers, l)),
      h('dt', null, t('themes.with_theme')), h('dd', { dataset: { value: res.with_theme ?? '' } },
        typeof res.with_theme === 'number' ? fmtInt(res.with_theme, l) : t('insufficient')),
      h('dt', null, t('themes.coverage')),
      h('dd', { id: 'themes-coverage', dataset: { value: res.coverage ?? '' } },
        typeof res.coverage === 'number' ? fmtPct(res.coverage, l) : t('themes.coverage.none')),
      h('dt', null, t('themes.sentiment')),
      h('dd', { id: 'themes-sentiment', dataset: { negative: s.negative ?? '', neutral: s.neutral ?? '', positive: s.positive ?? '' } },
        // null counts: the slice is under its threshold (or hidden to protect
        // another cell) — say so, never "0 negative"
        typeof s.negative === 'number'
          ? SENTIMENTS.map((k, i) => [i ? ' · ' : '', t('themes.sentiment.n.' + k, { n: fmtInt(s[k] ?? 0, l) })])
          : t('insufficient'))),
    h('p', { class: 'hint' }, t('themes.coverage.note')));
}

function volumeTable(rows, slice) {
  const l = lang();
  return h('div', { class: 'table-wrap' }, h('table', { id: 'themes-table', class: 'themes-table' },
    h('caption', null, t('themes.volume.caption')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('themes.col.theme')),
      h('th', { scope: 'col', class: 'num' }, t('themes.col.n')),
      h('th', { scope: 'col', class: 'num' }, t('themes.col.share')),
      SENTIMENTS.map((s) => h('th', { scope: 'col', class: 'num' }, t('sentiment.' + s))),
      h('th', { scope: 'col', class: 'num' }, t('themes.col.net')))),
    h('tbody', null, rows.map((r) => {
      const link = h('a', { href: explorerHref(slice, { theme: r.theme }), class: 'theme-link', dataset: { theme: r.theme },
        title: t('themes.examples', { theme: r.label }) }, r.label);
      if (themeSuppressed(r)) {
        return h('tr', { dataset: { theme: r.theme, insufficient: 'true' } },
          h('th', { scope: 'row' }, link),
          h('td', { class: 'num', dataset: { col: 'n', value: r.n ?? '' } }, typeof r.n === 'number' ? fmtInt(r.n, l) : ''),
          h('td', { class: 'num masked', colspan: '5' }, t('insufficient')));
      }
      return h('tr', { dataset: { theme: r.theme, insufficient: 'false' } },
        h('th', { scope: 'row' }, link),
        h('td', { class: 'num', dataset: { col: 'n', value: r.n } }, fmtInt(r.n, l)),
        h('td', { class: 'num', dataset: { col: 'share', value: r.share ?? '' } }, fmtPct(r.share, l)),
        SENTIMENTS.map((s) => h('td', { class: 'num', dataset: { col: s, value: r.sentiment[s] ?? '' } }, fmtInt(r.sentiment[s], l))),
        h('td', { class: 'num', dataset: { col: 'net', value: r.sentiment.net ?? '' } }, fmtNet(r.sentiment.net, l)));
    }))));
}

function volumePanel(rows, slice, period) {
  const shown = rows.filter((r) => !themeSuppressed(r));
  return panel(t('themes.volume'), null, periodTag(period),
    h('p', { class: 'hint' }, t('themes.volume.note')),
    shown.length ? chartBox(t('themes.volume.chart'), (el) => volumeChart(el, shown), { tall: shown.length > 8 }) : null,
    rows.length ? volumeTable(rows, slice) : h('p', { class: 'empty' }, t('themes.none')));
}

function npsWith(b) {
  if (!b || typeof b.nps !== 'number') return t('themes.impact.none');
  return fmtNps(b.nps, lang()) + ' (' + t('n.of', { n: fmtInt(b.n, lang()) }) + ')';
}

function impactPanel(rows, period) {
  const l = lang();
  const body = rows.map((r) => {
    const d = r.nps_difference;
    const verdict = impactVerdict(d);
    return h('tr', { dataset: { theme: r.theme, verdict } },
      h('th', { scope: 'row' }, r.label),
      h('td', { class: 'num', dataset: { col: 'with', value: r.nps_with?.nps ?? '' } }, npsWith(r.nps_with)),
      h('td', { class: 'num', dataset: { col: 'without', value: r.nps_without?.nps ?? '' } }, npsWith(r.nps_without)),
      verdict === 'suppressed'
        ? h('td', { class: 'num masked', dataset: { col: 'difference' } }, t('themes.impact.hidden'))
        : h('td', { class: 'num', dataset: { col: 'difference', value: d.value, low: d.ci_low, high: d.ci_high } },
          fmtDiff(d.value, l), h('br'), h('span', { class: 'hint' }, t('interval', { range: fmtRange(d.ci_low, d.ci_high, (v) => fmtDiff(v, l)) }))),
      h('td', { class: 'impact-verdict impact-' + verdict, dataset: { col: 'verdict' } }, t('themes.impact.' + verdict)));
  });
  return panel(t('themes.impact'), null, periodTag(period),
    h('p', { class: 'hint' }, t('themes.impact.note')),
    rows.length ? h('div', { class: 'table-wrap' }, h('table', { id: 'themes-impact-table' },
      h('caption', null, t('themes.impact.caption')),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, t('themes.col.theme')),
        h('th', { scope: 'col', class: 'num' }, t('themes.col.with')),
        h('th', { scope: 'col', class: 'num' }, t('themes.col.without')),
        h('th', { scope: 'col', class: 'num' }, t('themes.col.difference')),
        h('th', { scope: 'col' }, t('themes.col.verdict')))),
      h('tbody', null, body))) : h('p', { class: 'empty' }, t('themes.none')));
}

function trendPanel(rows, period) {
  const l = lang();
  const withTrend = rows.filter((r) => r.trend && Array.isArray(r.trend.points));
  const cards = withTrend.map((r) => {
    const pts = r.trend.points;
    const v = r.trend.verdict;
    const last = [...pts].reverse().find((p) => typeof p.share === 'number');
    return h('li', { class: 'theme-trend', dataset: { theme: r.theme, verdict: v?.verdict ?? '' } },
      h('h3', null, r.label),
      sparkline(pts),
      h('p', { class: 'trend-verdict' + (v?.verdict === 'real_change' ? ' is-real' : '') }, trendVerdictText(v),
        v?.period ? h('span', { class: 'hint' }, ' (' + (v.vs ? t('themes.trend.vs', { p: fmtPeriod(v.period, l), q: fmtPeriod(v.vs, l) }) : fmtPeriod(v.period, l)) + ')') : null),
      last ? h('p', { class: 'hint' }, t('themes.trend.last', { p: fmtPeriod(last.period, l), share: fmtPct(last.share, l) })) : null);
  });
  const table = h('div', { class: 'table-wrap' }, h('table', { id: 'themes-trend-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('themes.col.theme')), h('th', { scope: 'col' }, t('themes.col.period')),
      h('th', { scope: 'col', class: 'num' }, t('themes.col.n')), h('th', { scope: 'col', class: 'num' }, t('themes.col.share')),
      h('th', { scope: 'col', class: 'num' }, t('themes.col.net')))),
    h('tbody', null, withTrend.flatMap((r) => r.trend.points.map((p) => h('tr', { dataset: { theme: r.theme, period: p.period } },
      h('th', { scope: 'row' }, r.label), h('td', null, fmtPeriod(p.period, l)),
      h('td', { class: 'num' }, typeof p.n === 'number' ? fmtInt(p.n, l) : ''),
      h('td', { class: 'num' }, fmtPct(p.share, l)),
      typeof p.net === 'number' ? h('td', { class: 'num' }, fmtNet(p.net, l)) : h('td', { class: 'num masked' }, t('insufficient'))))))));
  return panel(t('themes.trend'), null, periodTag(period),
    h('p', { class: 'hint' }, t('themes.trend.note.' + (withTrend[0]?.trend?.interval || 'month'))),
    cards.length ? h('ul', { class: 'theme-trends', id: 'themes-trends' }, cards) : h('p', { class: 'empty' }, t('themes.none')),
    cards.length ? h('details', { class: 'as-table' }, h('summary', null, t('chart.table')), table) : null);
}

// ---- re-analysis progress -------------------------------------------------------------

// A progress line for GET /text/reanalyze: follow() polls until the run is
// over (or the page is left) and says how far it is; the end is announced.
export function reanalyzeBox(ctx) {
  const bar = h('progress', { max: '1', value: '0', 'aria-labelledby': 'reanalyze-text' });
  const text = h('p', { id: 'reanalyze-text', class: 'hint' });
  const box = h('div', { id: 'reanalyze', class: 'reanalyze', hidden: true }, text, bar);
  const show = (r) => {
    box.hidden = false;
    const total = r.total || 0, done = r.done || 0;
    bar.max = String(Math.max(1, total));
    bar.value = String(Math.min(done, Math.max(1, total)));
    box.dataset.running = r.running ? 'true' : 'false';
    box.dataset.done = String(done);
    box.dataset.total = String(total);
    text.textContent = r.running
      ? t('reanalyze.running', { done: fmtInt(done, lang()), total: fmtInt(total, lang()), reason: t('reanalyze.reason.' + (r.reason || 'manual')) })
      : t('reanalyze.done', { total: fmtInt(total, lang()) });
  };
  async function follow(first) {
    let r = first;
    let announced = false;
    for (;;) {
      if (!r) {
        try {
          r = await api('/text/reanalyze');
        } catch (err) {
          if (!ctx.alive()) return;
          box.hidden = false;
          text.textContent = errorText(err);
          return;
        }
      }
      if (!ctx.alive()) return;
      show(r);
      if (r.running && !announced) { announce(text.textContent); announced = true; }
      if (!r.running) {
        if (announced || first) announce(text.textContent);
        return r;
      }
      r = null;
      await new Promise((res) => setTimeout(res, 400));
    }
  }
  return { box, show, follow };
}

// ---- discovery ----------------------------------------------------------------------------

// "Wachten op monteur" → "wachten_op_monteur": a theme id from a phrase
// (letters and digits, accents dropped, underscores; at most 40).
export function slugOf(phrase) {
  return String(phrase || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40).replace(/_+$/, '') || 'thema';
}

const FORM_FIELDS = ['id', 'label.nl', 'label.en', 'terms.nl', 'terms.en'];

function lines(text) {
  return text.split(/\r?\n|,/).map((s) => s.trim()).filter(Boolean);
}

// The small form of "add as theme": id, labels nl/en, terms (one a line)
// prefilled from the phrase; POST /text/taxonomy/themes, then the
// re-analysis it starts until done.
function addThemeForm(p, ctx, progress) {
  const uid = 'add-' + slugOf(p.phrase);
  const inputs = {
    id: h('input', { type: 'text', name: 'id', value: slugOf(p.phrase), required: true, autocomplete: 'off', maxlength: '47' }),
    'label.nl': h('input', { type: 'text', name: 'label.nl', value: p.phrase, required: true }),
    'label.en': h('input', { type: 'text', name: 'label.en', value: p.phrase, required: true }),
    'terms.nl': h('textarea', { name: 'terms.nl', rows: '2' }, p.language === 'en' ? '' : p.phrase),
    'terms.en': h('textarea', { name: 'terms.en', rows: '2' }, p.language === 'en' ? p.phrase : ''),
  };
  const msg = h('p', { role: 'status', class: 'hint add-theme-msg' });
  const btn = h('button', { type: 'submit', class: 'btn' }, t('discover.add.save'));
  const form = h('form', { class: 'add-theme-form', id: uid, novalidate: true, dataset: { phrase: p.phrase } },
    h('div', { class: 'form-row' },
      field(t('discover.add.id'), inputs.id, t('discover.add.id.hint')),
      field(t('discover.add.label_nl'), inputs['label.nl']),
      field(t('discover.add.label_en'), inputs['label.en'])),
    h('div', { class: 'form-row' },
      field(t('discover.add.terms_nl'), inputs['terms.nl'], t('discover.add.terms.hint')),
      field(t('discover.add.terms_en'), inputs['terms.en'])),
    h('div', { class: 'form-actions' }, btn), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const el of Object.values(inputs)) el.removeAttribute('aria-invalid');
    msg.className = 'hint add-theme-msg';
    msg.textContent = '';
    const id = inputs.id.value.trim();
    const body = {
      id,
      label: { nl: inputs['label.nl'].value.trim(), en: inputs['label.en'].value.trim() },
      terms: { nl: lines(inputs['terms.nl'].value), en: lines(inputs['terms.en'].value) },
    };
    btn.disabled = true;
    try {
      await api('/text/taxonomy/themes', { method: 'POST', body });
      if (!ctx.alive()) return;
      form.dataset.added = 'true';
      for (const el of Object.values(inputs)) el.disabled = true;
      msg.textContent = t('discover.added', { theme: body.label[lang()] || id });
      announce(msg.textContent);
      progress.follow();
    } catch (err) {
      if (!ctx.alive()) return;
      btn.disabled = false;
      msg.className = 'error-text add-theme-msg';
      msg.textContent = errorText(err);
      msg.title = errorDetail(err) || '';
      // mark the control the server named ("terms.nl[1]" is terms.nl)
      const f = String(err.field || '').replace(/\[\d+\]$/, '');
      const el = inputs[FORM_FIELDS.find((k) => k === f) || ''];
      if (el) {
        el.setAttribute('aria-invalid', 'true');
        el.focus();
      }
    }
  });
  return form;
}

function phraseItem(p, user, ctx, progress) {
  const l = lang();
  const growth = typeof p.growth === 'number' ? t('discover.growth', { p: fmtPct(p.growth, l) }) : null;
  const li = h('li', { class: 'phrase', dataset: { phrase: p.phrase, n: p.n, previous: p.n_previous, rising: p.rising ? 'true' : 'false' } },
    h('h3', { class: 'phrase-head' }, h('span', { lang: p.language || null }, p.phrase),
      p.rising ? h('span', { class: 'badge badge-rising' }, h('span', { 'aria-hidden': 'true' }, '▲ '), t('discover.rising')) : null),
    h('p', { class: 'phrase-n' }, t('discover.n', { n: fmtInt(p.n, l), prev: fmtInt(p.n_previous, l) }),
      growth ? ' · ' + growth : null, p.language ? ' · ' + t('lang.' + p.language) : null),
    p.examples?.length ? h('ul', { class: 'phrase-examples', 'aria-label': t('discover.examples') }, p.examples.map((x) => h('li', null,
      h('blockquote', { lang: p.language || null }, x.text), ' ',
      h('a', { href: '#/response/' + x.response_id }, t('verbatim.open'))))) : null);
  if (user.role === 'admin') {
    const slot = h('div', { class: 'add-theme', id: 'add-slot-' + slugOf(p.phrase), hidden: true });
    const open = h('button', { type: 'button', class: 'btn btn-secondary btn-small add-theme-btn', 'aria-expanded': 'false',
      'aria-controls': slot.id }, t('discover.add'));
    open.addEventListener('click', () => {
      const show = slot.hidden;
      if (show && !slot.firstChild) slot.append(addThemeForm(p, ctx, progress));
      slot.hidden = !show;
      open.setAttribute('aria-expanded', String(show));
      if (show) slot.querySelector('input')?.focus();
    });
    li.append(open, slot);
  }
  return li;
}

function discoverPanel(ctx, progress) {
  const user = ctx.user;
  const langIn = select([{ value: '', label: t('verbatims.any') }, { value: 'nl', label: t('lang.nl') }, { value: 'en', label: t('lang.en') }],
    '', { name: 'discover-language', id: 'discover-language' });
  const head = h('p', { class: 'hint', id: 'discover-window' });
  const list = h('div', { id: 'discover-body', 'aria-live': 'polite' }, h('p', { class: 'loading' }, t('loading')));
  const box = h('section', { class: 'panel', id: 'themes-discover', 'aria-busy': 'true' },
    h('h2', null, t('discover.title')),
    h('p', { class: 'hint' }, t('discover.note')),
    h('div', { class: 'controls' }, field(t('verbatims.language'), langIn)),
    head, list);
  async function load() {
    box.setAttribute('aria-busy', 'true');
    delete box.dataset.ready;
    const res = await settled(api('/themes/discover', { query: langIn.value ? { language: langIn.value } : {} }));
    if (!ctx.alive()) return;
    if (!res.ok) {
      head.textContent = '';
      list.replaceChildren(errorNotice(res.error));
    } else {
      const d = res.value;
      const l = lang();
      head.textContent = t('discover.window', {
        from: fmtDate(d.from, l), to: fmtDate(d.to, l),
        pfrom: fmtDate(d.previous?.from, l), pto: fmtDate(d.previous?.to, l),
        n: fmtInt(d.answers_without_theme, l),
      });
      head.dataset.without = String(d.answers_without_theme ?? '');
      list.replaceChildren(d.phrases?.length
        ? h('ul', { class: 'phrases', id: 'discover-list' }, d.phrases.map((p) => phraseItem(p, user, ctx, progress)))
        : h('p', { class: 'empty' }, t('discover.none')));
    }
    box.setAttribute('aria-busy', 'false');
    box.dataset.ready = 'true';
  }
  langIn.addEventListener('change', load);
  load();
  return box;
}

// ---- the model ----------------------------------------------------------------------------

function pctOf(v) {
  return typeof v === 'number' ? fmtNumber(v * 100, lang(), 1) + '%' : '–';
}

function modelBody(m) {
  const l = lang();
  const ev = m.evaluation;
  const parts = [];
  parts.push(h('dl', { class: 'theme-facts', id: 'model-facts' },
    h('dt', null, t('model.state')),
    h('dd', { dataset: { active: m.active ? 'true' : 'false' } }, m.active ? t('model.active') : t('model.lexicon')),
    h('dt', null, t('model.trained_at')),
    h('dd', { dataset: { value: m.trained_at ?? '' } }, m.trained_at ? fmtDateTime(m.trained_at, l) : t('model.never')),
    h('dt', null, t('model.examples')), h('dd', { dataset: { value: m.n_examples ?? '' } }, fmtInt(m.n_examples ?? 0, l)),
    h('dt', null, t('model.features')), h('dd', null, fmtInt(m.n_features ?? 0, l))));
  if (ev) {
    parts.push(h('div', { class: 'table-wrap' }, h('table', { id: 'model-eval' },
      h('caption', null, t('model.eval.caption', { folds: ev.folds, n: fmtInt(ev.n, l) })),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('model.measure')),
        h('th', { scope: 'col', class: 'num' }, t('model.col.model')), h('th', { scope: 'col', class: 'num' }, t('model.col.lexicon')))),
      h('tbody', null,
        h('tr', { dataset: { measure: 'accuracy' } }, h('th', { scope: 'row' }, t('model.accuracy')),
          h('td', { class: 'num', dataset: { value: ev.accuracy } }, pctOf(ev.accuracy)),
          h('td', { class: 'num', dataset: { value: ev.lexicon_accuracy } }, pctOf(ev.lexicon_accuracy))),
        h('tr', { dataset: { measure: 'macro_f1' } }, h('th', { scope: 'row' }, t('model.macro_f1')),
          h('td', { class: 'num', dataset: { value: ev.macro_f1 } }, pctOf(ev.macro_f1)),
          h('td', { class: 'num', dataset: { value: ev.lexicon_macro_f1 } }, pctOf(ev.lexicon_macro_f1)))))));
    if (Array.isArray(ev.confusion) && ev.confusion.length === 3) {
      parts.push(h('details', { class: 'as-table' }, h('summary', null, t('model.confusion')),
        h('div', { class: 'table-wrap' }, h('table', { id: 'model-confusion' },
          h('caption', null, t('model.confusion.caption')),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('model.true')),
            SENTIMENTS.map((s) => h('th', { scope: 'col', class: 'num' }, t('model.predicted', { s: t('sentiment.' + s) }))))),
          h('tbody', null, ev.confusion.map((row, i) => h('tr', null, h('th', { scope: 'row' }, t('sentiment.' + SENTIMENTS[i])),
            row.map((c) => h('td', { class: 'num' }, fmtInt(c, l))))))))));
    }
  } else {
    parts.push(h('p', { class: 'hint', id: 'model-no-eval' }, t('model.eval.none')));
  }
  const top = m.top || {};
  const langs = ['nl', 'en'].filter((x) => top[x]);
  if (langs.length) {
    parts.push(h('h3', null, t('model.top')));
    parts.push(h('div', { class: 'grid grid-2 model-top' }, langs.map((x) => h('div', { dataset: { lang: x } },
      h('h4', null, t('lang.' + x)),
      h('div', { class: 'model-classes' }, SENTIMENTS.map((s) => h('div', { class: 'model-class', dataset: { class: s } },
        h('h5', null, t('sentiment.' + s)),
        (top[x][s] || []).length
          ? h('ol', { class: 'model-words', lang: x }, top[x][s].map((f) => h('li', { dataset: { feature: f.feature } },
            f.feature, ' ', h('span', { class: 'hint' }, '(' + fmtNumber(f.weight, l, 2, { sign: true }) + ')'))))
          : h('p', { class: 'empty' }, t('model.top.none')))))))));
  }
  parts.push(h('p', { class: 'hint' }, t('model.schedule', { days: m.retrain_days ?? '–', min: fmtInt(m.min_examples ?? 0, l) })));
  return parts;
}

function modelPanel(ctx, progress) {
  const box = h('section', { class: 'panel', id: 'themes-model', 'aria-busy': 'true' },
    h('h2', null, t('model.title')), h('p', { class: 'hint' }, t('model.note')));
  const body = h('div', { id: 'model-body' }, h('p', { class: 'loading' }, t('loading')));
  const msg = h('p', { role: 'status', class: 'hint', id: 'model-msg' });
  box.append(body);
  let minExamples = null;
  const draw = (m) => {
    minExamples = m.min_examples ?? minExamples;
    body.replaceChildren(...modelBody(m));
    body.dataset.trainedAt = m.trained_at ?? '';
  };
  if (ctx.user.role === 'admin') {
    const btn = h('button', { type: 'button', class: 'btn', id: 'model-train' }, t('model.train'));
    btn.addEventListener('click', async () => {
      btn.disabled = true;
      msg.className = 'hint';
      msg.textContent = t('model.training');
      box.setAttribute('aria-busy', 'true');
      try {
        const m = await api('/text/model/train', { method: 'POST' });
        if (!ctx.alive()) return;
        draw(m);
        msg.textContent = t('model.trained', { acc: pctOf(m.evaluation?.accuracy) });
        msg.dataset.result = 'trained';
        announce(msg.textContent);
        progress.follow();
      } catch (err) {
        if (!ctx.alive()) return;
        msg.className = 'error-text';
        msg.dataset.result = 'error';
        // 422 examples: too few labelled answers; 409: a training is already
        // running (the schedule's, or another admin's)
        msg.textContent = err.status === 422 && err.field === 'examples'
          ? t('model.few', { min: minExamples === null ? '–' : fmtInt(minExamples, lang()) })
          : err.status === 409 ? t('model.busy') : errorText(err);
        msg.dataset.status = String(err.status ?? '');
        msg.title = errorDetail(err) || '';
        announce(msg.textContent);
      } finally {
        btn.disabled = false;
        box.setAttribute('aria-busy', 'false');
      }
    });
    box.append(h('div', { class: 'form-actions' }, btn), msg);
  }
  settled(api('/text/model')).then((res) => {
    if (!ctx.alive()) return;
    if (res.ok) draw(res.value);
    else body.replaceChildren(errorNotice(res.error));
    box.setAttribute('aria-busy', 'false');
    box.dataset.ready = 'true';
  });
  return box;
}

// ---- person and team pages: the top themes -------------------------------------------------

// The themes most often positive and most often negative in a slice of
// /themes (a person's or a team's answers), up to n of each: a theme is
// "positive" when more of its mentions are positive than negative.
export function topThemes(rows, n = 3) {
  const shown = (rows || []).filter((r) => !themeSuppressed(r));
  const pos = shown.filter((r) => (r.sentiment.positive ?? 0) > (r.sentiment.negative ?? 0))
    .sort((a, b) => b.sentiment.positive - a.sentiment.positive || b.n - a.n).slice(0, n);
  const neg = shown.filter((r) => (r.sentiment.negative ?? 0) > (r.sentiment.positive ?? 0))
    .sort((a, b) => b.sentiment.negative - a.sentiment.negative || b.n - a.n).slice(0, n);
  return { positive: pos, negative: neg };
}

// The /themes reply of a slice was suppressed as a whole (a person under
// the threshold, a hidden score): no theme may show then.
export function sliceSuppressed(res) {
  if (res?.insufficient || (Array.isArray(res?.hidden) && res.hidden.includes('themes'))) return true;
  // every theme row hidden: say why, instead of an empty list that reads as "no themes"
  const rows = res?.themes || [];
  return rows.length > 0 && rows.every(themeSuppressed);
}

// The threshold that hid a slice: the rows' own (a person's cells have the
// person threshold, 10), else the reply's for a person or a group.
function thresholdOf(res, slice) {
  const own = (res.themes || []).map((r) => r.min_n).filter((n) => typeof n === 'number');
  if (own.length) return Math.max(...own);
  return (slice.employee_id ? res.min_n_person : res.min_n) ?? '';
}

// A panel for the person and team pages: the top themes (positive and
// negative) of GET /themes with the slice's filter, each linking to the
// explorer; the suppression sentence when the server hid them.
export function topThemesPanel(res, labels, slice, { id, period } = {}) {
  const l = lang();
  // a server without the themes route (404): no panel, the rest of the page as before
  if (!res.ok && res.error?.status === 404) return null;
  const box = panel(t('themes.top'), null, periodTag(period));
  box.id = id || 'themes-top';
  if (!res.ok) {
    box.append(errorNotice(res.error));
    return box;
  }
  const v = res.value;
  if (sliceSuppressed(v)) {
    box.dataset.suppressed = 'true';
    box.append(h('p', { class: 'notice', id: box.id + '-suppressed' }, t('themes.top.suppressed', { min: thresholdOf(v, slice) })));
    return box;
  }
  box.dataset.suppressed = 'false';
  const rows = (v.themes || []).map((r) => ({ ...r, label: themeLabel(labels, r.theme, r.label) }));
  const { positive, negative } = topThemes(rows);
  const item = (r, kind) => h('li', { dataset: { theme: r.theme, n: r.n, count: r.sentiment[kind] } },
    h('a', { href: explorerHref(slice, { theme: r.theme, sentiment: kind }) }, r.label), ' ',
    h('span', { class: 'hint' }, t('themes.top.count.' + kind, { k: fmtInt(r.sentiment[kind], l), n: fmtInt(r.n, l) })));
  const col = (kind, list) => h('div', { class: 'top-col', dataset: { kind } },
    h('h3', null, h('span', { 'aria-hidden': 'true', class: 'sent-mark sent-' + kind }, kind === 'positive' ? '▲ ' : '▼ '), t('themes.top.' + kind)),
    list.length ? h('ol', { class: 'top-themes' }, list.map((r) => item(r, kind))) : h('p', { class: 'empty' }, t('themes.top.none')));
  box.append(
    h('p', { class: 'hint' }, t('themes.top.note', { n: fmtInt(v.answers ?? 0, l) })),
    h('div', { class: 'grid grid-2' }, col('positive', positive), col('negative', negative)),
    h('p', null, h('a', { href: '#/themes' + (slice.team_id ? '?team_id=' + slice.team_id + (period ? '&period=' + encodeURIComponent(period) : '')
      : period ? '?period=' + encodeURIComponent(period) : '') }, t('themes.top.all'))));
  return box;
}

// ---- the page -----------------------------------------------------------------------------

export async function render(main, ctx) {
  disposeOwn();
  const user = ctx.user;
  const period = ctx.query.get('period') || '';
  const teamId = ctx.query.get('team_id') || '';
  const tpId = ctx.query.get('touchpoint_id') || '';
  main.append(h('h1', null, t('themes.title')));
  main.dataset.period = period || 'all';
  const reload = (over) => {
    const q = { period, team_id: teamId, touchpoint_id: tpId, ...over };
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v) s.set(k, v);
    ctx.navigate('#/themes' + (s.toString() ? '?' + s : ''));
  };
  const slice = { period, team_id: teamId, touchpoint_id: tpId };
  const query = { period, team_id: teamId, touchpoint_id: tpId, interval: trendInterval() };

  const [themes, labels, units, tps] = await Promise.all([
    settled(api('/themes', { query })),
    themeLabels().catch(() => new Map()),
    unitsInReach(user).catch(() => []),
    api('/touchpoints', { query: { limit: 500 } }).then((r) => r.items).catch(() => []),
  ]);
  if (!ctx.alive()) return;

  const controls = [periodField(period, (ev) => reload({ period: ev.target.value }))];
  if (units.length) {
    controls.push(field(t('themes.team'), select([{ value: '', label: t('themes.team.all') }, ...units.map((x) => ({ value: x.id, label: x.name }))],
      teamId, { name: 'team_id', id: 'themes-team', onchange: (ev) => reload({ team_id: ev.target.value }) })));
  }
  controls.push(field(t('verbatims.touchpoint'), select([{ value: '', label: t('verbatims.any') }, ...tps.map((x) => ({ value: x.id, label: x.name }))],
    tpId, { name: 'touchpoint_id', id: 'themes-touchpoint', onchange: (ev) => reload({ touchpoint_id: ev.target.value }) })));
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'controls' }, controls)));
  if (user.role === 'team_lead' || user.role === 'employee') {
    main.append(h('p', { class: 'hint', id: 'themes-scope' }, t('themes.scope.' + user.role)));
  }

  if (!themes.ok) {
    main.append(h('div', { id: 'themes-error' }, errorNotice(themes.error)));
  } else {
    const res = themes.value;
    const rows = (res.themes || []).map((r) => ({ ...r, label: themeLabel(labels, r.theme, r.label) }));
    main.dataset.answers = String(res.answers ?? '');
    main.append(h('div', { id: 'themes-summary' }, summaryPanel(res, period)));
    if (sliceSuppressed(res)) {
      main.append(h('p', { class: 'notice', id: 'themes-suppressed' }, t('themes.top.suppressed', { min: thresholdOf(res, slice) })));
    } else {
      main.append(h('div', { id: 'themes-volume' }, volumePanel(rows, slice, period)));
      main.append(h('div', { id: 'themes-impact' }, impactPanel(rows, period)));
      main.append(h('div', { id: 'themes-trend' }, trendPanel(rows, period)));
    }
  }

  if (READ_TEXT.includes(user.role)) {
    const progress = reanalyzeBox(ctx);
    main.append(h('div', { class: 'reanalyze-slot' }, progress.box));
    // a run already going (a taxonomy change, a trained model): show it
    settled(api('/text/reanalyze')).then((r) => {
      if (ctx.alive() && r.ok && r.value.running) progress.follow(r.value);
    });
    main.append(discoverPanel(ctx, progress));
    main.append(modelPanel(ctx, progress));
  }
}
