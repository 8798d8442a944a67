// charts.js — ECharts (Apache-2.0, from npm, copied to /vendor by the
// Makefile; no CDN) with the SVG renderer. Tooltips use ECharts' rich-text
// mode, which draws text inside the chart instead of writing HTML: names
// from the API never pass through innerHTML. Every chart has a table beside
// it (a <details> "show as table") with the same numbers, for screen
// readers, for copying, and for when the chart cannot load.

import { t, lang } from './i18n.js';
import { fmtNps, fmtNpsTick, fmtPeriod } from './format.js';

let loader = null;
const live = new Set();

export function loadECharts() {
  if (!loader) loader = import('/vendor/echarts.esm.min.js');
  return loader;
}

export function disposeCharts() {
  for (const c of live) c.dispose();
  live.clear();
}

window.addEventListener('resize', () => {
  for (const c of live) c.resize();
});

const COLORS = { me: '#1f5f8b', team: '#8a5a00', band: '#1f5f8b', up: '#1e7d4f', down: '#b3261e', bar: '#1f5f8b' };

// ECharts' own aria text is English ("This is a chart about…") whatever
// the UI's language, and it replaces the element's aria-label: keep the
// label the page gave (in the UI's language) and say where the numbers are
// (issue 13).
function ariaOf(el) {
  if (el.dataset.ariaLabel === undefined) el.dataset.ariaLabel = el.getAttribute('aria-label') || '';
  const label = el.dataset.ariaLabel;
  return { enabled: true, label: { description: (label ? label + '. ' : '') + t('chart.aria.table') } };
}

async function init(el) {
  ariaOf(el);
  const echarts = await loadECharts();
  const chart = echarts.init(el, null, { renderer: 'svg' });
  live.add(chart);
  return chart;
}

function npsAxis(values) {
  const nums = values.filter((v) => typeof v === 'number');
  const lo = nums.length ? Math.min(...nums) : -100;
  const hi = nums.length ? Math.max(...nums) : 100;
  return {
    type: 'value',
    min: Math.max(-100, Math.floor((lo - 5) / 10) * 10),
    max: Math.min(100, Math.ceil((hi + 5) / 10) * 10),
    axisLabel: { formatter: (v) => fmtNpsTick(v, lang()) },
  };
}

// NPS per period with its 95% interval as a band. series: [{name, points,
// color}] where points are the API's trend points (insufficient ones have
// no nps block and leave a gap). markChanges: mark the points whose
// nps_change.verdict is real_change — and only those.
export async function trendChart(el, series, { markChanges = false } = {}) {
  const chart = await init(el);
  const periods = [...new Set(series.flatMap((s) => s.points.map((p) => p.period)))].sort();
  const labels = periods.map((p) => fmtPeriod(p, lang()));
  const opts = [];
  const all = [];
  // the interval band belongs to the first series that has any value
  const bandOf = Math.max(0, series.findIndex((s) => s.points.some((p) => p.nps && typeof p.nps.value === 'number')));
  series.forEach((s, i) => {
    const byPeriod = new Map(s.points.map((p) => [p.period, p]));
    const val = periods.map((p) => byPeriod.get(p)?.nps?.value ?? null);
    const low = periods.map((p) => byPeriod.get(p)?.nps?.low ?? null);
    const high = periods.map((p) => byPeriod.get(p)?.nps?.high ?? null);
    all.push(...val, ...(i === bandOf ? low : []), ...(i === bandOf ? high : []));
    if (i === bandOf) {
      // the interval band of the first series: an invisible base plus the width on top
      opts.push({ type: 'line', name: 'low', stack: 'ci', data: low, symbol: 'none', lineStyle: { opacity: 0 },
        silent: true, tooltip: { show: false }, connectNulls: false });
      opts.push({ type: 'line', name: t('chart.interval'), stack: 'ci', symbol: 'none', silent: true,
        data: high.map((h, k) => (h === null || low[k] === null ? null : h - low[k])),
        lineStyle: { opacity: 0 }, areaStyle: { color: s.color || COLORS.band, opacity: 0.15 },
        tooltip: { show: false }, connectNulls: false });
    }
    opts.push({ type: 'line', name: s.name, data: val, connectNulls: false, symbolSize: 6,
      itemStyle: { color: s.color || COLORS.me }, lineStyle: { width: 2.5, color: s.color || COLORS.me } });
    if (markChanges) {
      // which periods carry a marker: readable for tests and as a record
      el.dataset.marked = periods.filter((p) => byPeriod.get(p)?.nps_change?.verdict === 'real_change'
        && byPeriod.get(p)?.nps?.value !== undefined).join(',');
      const marks = periods.map((p) => {
        const pt = byPeriod.get(p);
        if (!pt || pt.nps_change?.verdict !== 'real_change' || pt.nps?.value === undefined) return null;
        const up = pt.nps_change.diff > 0;
        return { value: pt.nps.value, symbolRotate: up ? 0 : 180, itemStyle: { color: up ? COLORS.up : COLORS.down } };
      });
      opts.push({ type: 'scatter', name: t('chart.real_change'), data: marks, symbol: 'triangle', symbolSize: 14,
        z: 5, itemStyle: { color: COLORS.up } });
    }
  });
  chart.setOption({
    animation: false,
    aria: ariaOf(el),
    grid: { left: 44, right: 16, top: 36, bottom: 48 },
    legend: { top: 0, data: series.map((s) => s.name).concat(markChanges ? [t('chart.real_change')] : []) },
    tooltip: { trigger: 'axis', renderMode: 'richText', valueFormatter: (v) => (v === null || v === undefined ? '–' : fmtNps(v, lang())) },
    xAxis: { type: 'category', data: labels, axisLabel: { hideOverlap: true } },
    yAxis: npsAxis(all),
    series: opts,
  });
  return chart;
}

// Horizontal bars, top to bottom in the given order: [{label, value}].
export async function barChart(el, items, { format = (v) => String(v) } = {}) {
  const chart = await init(el);
  const rev = [...items].reverse();
  chart.setOption({
    animation: false,
    aria: ariaOf(el),
    grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
    tooltip: { trigger: 'axis', renderMode: 'richText', axisPointer: { type: 'shadow' }, valueFormatter: format },
    xAxis: { type: 'value', axisLabel: { formatter: format } },
    yAxis: { type: 'category', data: rev.map((i) => i.label) },
    series: [{ type: 'bar', data: rev.map((i) => i.value), itemStyle: { color: COLORS.bar },
      label: { show: true, position: 'right', formatter: (p) => format(p.value) } }],
  });
  return chart;
}

// Pareto: bars of counts in the given order (n descending) on the left axis,
// and the cumulative share (0..1) as a line on the right axis in percent.
// items: [{label, n, cumulative}].
export async function paretoChart(el, items, { barName = 'n', lineName = '%' } = {}) {
  const chart = await init(el);
  const pct = (v) => (v === null || v === undefined ? '–' : Math.round(v) + '%');
  chart.setOption({
    animation: false,
    aria: ariaOf(el),
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, data: [barName, lineName] },
    tooltip: { trigger: 'axis', renderMode: 'richText', axisPointer: { type: 'shadow' } },
    xAxis: { type: 'category', data: items.map((i) => i.label), axisLabel: { interval: 0, rotate: items.length > 4 ? 30 : 0 } },
    yAxis: [
      { type: 'value', minInterval: 1, name: barName },
      { type: 'value', min: 0, max: 100, axisLabel: { formatter: pct }, splitLine: { show: false } },
    ],
    series: [
      { type: 'bar', name: barName, data: items.map((i) => i.n), itemStyle: { color: COLORS.bar }, barMaxWidth: 72,
        label: { show: true, position: 'top' } },
      { type: 'line', name: lineName, yAxisIndex: 1, data: items.map((i) => Math.round((i.cumulative ?? 0) * 1000) / 10),
        symbolSize: 6, itemStyle: { color: COLORS.team }, lineStyle: { width: 2.5, color: COLORS.team },
        tooltip: { valueFormatter: pct } },
    ],
  });
  return chart;
}
