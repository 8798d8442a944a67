// pages/governance.js — governance for directors (issue 17, part L):
// #/governance shows, per department, its output, outcome and impact KPIs
// side by side with their monthly trend and current target; the
// organisation's soft KPIs; the soft↔hard map (which soft KPIs move with
// which hard ones, with false-discovery control across the map); a pair
// explorer (a soft KPI, a hard KPI and a lag the reader chooses: the lag
// correlations with their intervals and the regression's sentence); and
// the team goals with their progress — goals per team, never per person.
// Directors and admins (GET /api/v1/governance/{overview,map,links},
// docs/API.md "Governance", docs/GOVERNANCE.md "Soft and hard: links").

import { api } from '../api.js';
import { h, field, select } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNumber, fmtPeriod } from '../format.js';
import { errorNotice, panel } from '../widgets.js';
import { loadECharts } from '../charts.js';

const SOFT = ['nps', 'grade', 'ces', 'enps', 'response_rate', 'case_sla'];
const KINDS = ['output', 'outcome', 'impact'];
const LAGS = [0, 1, 2, 3, 4, 5, 6];
const drawn = new Set();

function name(o, l) {
  return (l === 'en' ? o.name_en : o.name_nl) || o.key;
}

function softName(key) {
  return t('gov.soft.' + key);
}

// A KPI value in its unit: shares (response rate, SLA) as percentages.
function fmtValue(v, unit, l) {
  if (v === null || v === undefined) return '–';
  if (unit === 'share') return fmtNumber(v * 100, l, 1) + '%';
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return fmtNumber(v, l, digits) + (unit && unit !== 'index' ? (unit === '%' ? '%' : ' ' + unit) : '');
}

function softUnit(key) {
  return key === 'response_rate' || key === 'case_sla' ? 'share' : '';
}

async function lineChart(el, periods, values, target) {
  const echarts = await loadECharts();
  const chart = echarts.init(el, null, { renderer: 'svg' });
  drawn.add(chart);
  const l = lang();
  el.dataset.values = JSON.stringify(values);
  chart.setOption({
    animation: false,
    grid: { left: 4, right: 8, top: 10, bottom: 4, containLabel: true },
    xAxis: { type: 'category', data: periods.map((p) => fmtPeriod(p, l)), axisLabel: { fontSize: 10 } },
    yAxis: { type: 'value', scale: true, axisLabel: { fontSize: 10, formatter: (v) => fmtNumber(v, l, Math.abs(v) >= 10 ? 0 : 1) } },
    tooltip: { trigger: 'axis', renderMode: 'richText' },
    series: [{ type: 'line', data: values, connectNulls: false, symbolSize: 4, lineStyle: { color: '#1f5f8b' }, itemStyle: { color: '#1f5f8b' },
      markLine: target !== null && target !== undefined ? { silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#8a5a00' },
        label: { formatter: t('gov.target.short'), fontSize: 10 }, data: [{ yAxis: target }] } : undefined }],
  });
  return chart;
}

function chartBox(label, draw) {
  const el = h('div', { class: 'chart chart-small', role: 'img', 'aria-label': label });
  requestAnimationFrame(() => {
    draw(el).then(() => { el.dataset.drawn = 'true'; }, () => {
      el.replaceWith(h('p', { class: 'notice' }, t('chart.unavailable')));
    });
  });
  return el;
}

// ---- departments -------------------------------------------------------------------------

function onTargetText(k) {
  if (!k.target) return t('gov.target.none');
  const l = lang();
  const tt = t('gov.target.of', { target: fmtValue(k.target.target, k.unit, l), period: k.target.period });
  if (k.on_target === null || k.on_target === undefined) return tt;
  return tt + ' · ' + (k.on_target ? t('gov.target.met') : t('gov.target.not_met'));
}

function kpiCard(k, periods) {
  const l = lang();
  const latest = k.latest ? fmtValue(k.latest.value, k.unit, l) : '–';
  return h('article', { class: 'gov-kpi', dataset: { kpi: k.key, onTarget: String(k.on_target) } },
    h('h4', null, name(k, l)),
    h('p', { class: 'gov-kpi-value' }, latest,
      k.latest ? h('span', { class: 'sub' }, ' ' + fmtPeriod(k.latest.period, l)) : null),
    h('p', { class: 'hint' }, (k.higher_is_better ? t('gov.dir.higher') : t('gov.dir.lower')) + ' · ' + onTargetText(k)),
    (k.values || []).some((v) => v !== null)
      ? chartBox(t('gov.trend.of', { name: name(k, l) }), (el) => lineChart(el, periods, k.values, k.target ? k.target.target : null))
      : h('p', { class: 'hint' }, t('gov.no_values')));
}

function departmentsPanel(ov) {
  const deps = ov.departments.filter((d) => KINDS.some((k) => d.kpis[k].length));
  if (!deps.length) return panel(t('gov.departments'), null, h('p', { class: 'hint' }, t('gov.no_kpis')));
  return panel(t('gov.departments'), t('gov.departments.sub'),
    deps.map((d) => h('section', { class: 'gov-dept', dataset: { department: d.department } },
      h('h3', null, t('gov.dept.' + d.department)),
      h('div', { class: 'gov-kinds' }, KINDS.map((kind) => h('div', { class: 'gov-kind', dataset: { kind } },
        h('h4', { class: 'gov-kind-title' }, t('gov.kind.' + kind)),
        d.kpis[kind].length ? d.kpis[kind].map((k) => kpiCard(k, ov.periods)) : h('p', { class: 'hint' }, '–')))))));
}

function softPanel(ov) {
  const l = lang();
  const last = ov.periods.slice(-6);
  const off = ov.periods.length - last.length;
  return panel(t('gov.soft'), t('gov.soft.sub'), h('div', { class: 'table-wrap' }, h('table', { id: 'gov-soft' },
    h('caption', null, t('gov.soft.caption')),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('gov.kpi')), last.map((p) => h('th', { scope: 'col', class: 'num' }, fmtPeriod(p, l))))),
    h('tbody', null, ov.soft.map((s) => h('tr', { dataset: { soft: s.key } },
      h('th', { scope: 'row' }, softName(s.key)),
      s.available ? last.map((p, i) => h('td', { class: 'num' }, fmtValue(s.values ? s.values[off + i] : null, softUnit(s.key), l)))
        : h('td', { colspan: last.length }, t('gov.not_available'))))))));
}

// ---- the map ------------------------------------------------------------------------------

function pairWords(p, hard, l) {
  if (!p.enough) return p.reason === 'soft_kpi_not_available' ? t('gov.not_available') : t('gov.not_enough');
  const dir = p.sign === 'negative' ? 'gov.map.neg' : 'gov.map.pos';
  return t(dir, { hard: name(hard, l) }) + ' · q ' + fmtNumber(p.q, l, 3);
}

function mapPanel(m, onPick) {
  const l = lang();
  const hardBy = Object.fromEntries(m.hard.map((x) => [x.key, x]));
  const cell = (soft, hard) => m.pairs.find((p) => p.soft === soft && p.hard === hard);
  const table = h('table', { id: 'gov-map', class: 'gov-map', dataset: { lag: String(m.lag), level: m.level } },
    h('caption', null, t('gov.map.caption', { lag: m.lag, level: t('gov.level.' + m.level) })),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('gov.hard')), SOFT.map((s) => h('th', { scope: 'col' }, softName(s))))),
    h('tbody', null, m.hard.map((hk) => h('tr', null,
      h('th', { scope: 'row' }, name(hk, l)),
      SOFT.map((s) => {
        const p = cell(s, hk.key);
        if (!p) return h('td', null, '–');
        const cls = 'gov-cell' + (p.flag ? ' gov-flag gov-' + p.direction : '') + (p.enough ? '' : ' gov-none');
        const btn = h('button', { type: 'button', class: 'linklike', dataset: { soft: s, hard: hk.key } },
          (p.flag ? '● ' : '') + pairWords(p, hardBy[hk.key], l));
        btn.addEventListener('click', () => onPick(s, hk.key));
        return h('td', { class: cls, dataset: { soft: s, hard: hk.key, flag: String(p.flag), enough: String(p.enough) } }, btn);
      })))));
  return h('div', null,
    h('p', { class: 'hint' }, m.note[l] || m.note.nl),
    h('p', { class: 'hint', id: 'gov-map-fdr' }, t('gov.map.fdr', { family: m.fdr.family, flagged: m.fdr.flagged })),
    h('div', { class: 'table-wrap' }, table));
}

// ---- the pair explorer ----------------------------------------------------------------------

async function lagChart(el, corr, chosen) {
  const echarts = await loadECharts();
  const chart = echarts.init(el, null, { renderer: 'svg' });
  drawn.add(chart);
  const l = lang();
  el.dataset.points = JSON.stringify(corr.map((c) => [c.lag, c.r, c.ci_low, c.ci_high]));
  const ok = corr.filter((c) => c.enough);
  chart.setOption({
    animation: false,
    grid: { left: 8, right: 12, top: 16, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: corr.map((c) => t('gov.lag.n', { n: c.lag })), axisLabel: { fontSize: 11 } },
    yAxis: { type: 'value', min: -1, max: 1, name: t('gov.r'), axisLabel: { formatter: (v) => fmtNumber(v, l, 1) } },
    tooltip: { trigger: 'item', renderMode: 'richText' },
    series: [
      { type: 'boxplot', name: t('gov.interval'),
        data: corr.map((c) => (c.enough ? [c.ci_low, c.ci_low, c.r, c.ci_high, c.ci_high] : [])),
        itemStyle: { color: '#e7eef5', borderColor: '#1f5f8b' } },
      { type: 'scatter', name: t('gov.r'), symbolSize: 9,
        data: corr.map((c) => (c.enough ? { value: c.r, itemStyle: { color: c.lag === chosen ? '#8a5a00' : '#1f5f8b' } } : null)),
        markLine: { silent: true, symbol: 'none', lineStyle: { color: '#888' }, data: [{ yAxis: 0 }] } },
    ],
  });
  if (!ok.length) el.dataset.empty = 'true';
  return chart;
}

function corrTable(corr) {
  const l = lang();
  return h('table', { id: 'gov-corr' },
    h('caption', null, t('gov.corr.caption')),
    h('thead', null, h('tr', null, ['gov.lag', 'gov.r', 'gov.interval', 'gov.pairs', 'gov.units'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', null, corr.map((c) => h('tr', { dataset: { lag: c.lag } },
      h('th', { scope: 'row' }, t('gov.lag.n', { n: c.lag })),
      c.enough ? [h('td', { class: 'num' }, fmtNumber(c.r, l, 2)), h('td', { class: 'num' }, fmtNumber(c.ci_low, l, 2) + ' – ' + fmtNumber(c.ci_high, l, 2))]
        : [h('td', { colspan: 2 }, t('gov.not_enough') + ' (' + t('gov.reason.' + c.reason) + ')')],
      h('td', { class: 'num' }, String(c.n_pairs)), h('td', { class: 'num' }, String(c.n_units))))));
}

function explorerResult(box, res) {
  const l = lang();
  const r = res.regression;
  const el = chartBox(t('gov.lagchart'), (e) => lagChart(e, res.correlations, res.lag));
  el.classList.remove('chart-small');
  box.replaceChildren(...[
    h('p', { id: 'gov-sentence', class: 'gov-sentence', dataset: { enough: String(r.enough), p: r.p ?? '' } }, res.sentence[l] || res.sentence.nl),
    h('p', { class: 'hint', id: 'gov-lag-note' }, res.lag_note[l] || res.lag_note.nl),
    r.enough ? h('p', { class: 'hint', id: 'gov-fit' }, t('gov.fit', {
      beta: fmtNumber(r.beta, l, 3), lo: fmtNumber(r.ci_low, l, 3), hi: fmtNumber(r.ci_high, l, 3),
      p: r.p < 0.001 ? '< ' + fmtNumber(0.001, l, 3) : fmtNumber(r.p, l, 3), units: r.n_units, periods: r.n_periods, pairs: r.n_pairs })) : null,
    h('h3', null, t('gov.lagchart')),
    el,
    h('p', { class: 'chart-note' }, res.caveats[l] || res.caveats.nl),
    h('details', { class: 'as-table' }, h('summary', null, t('chart.table')), corrTable(res.correlations)),
  ].filter(Boolean));
}

function explorerPanel(ctx, hard, pick) {
  const l = lang();
  const soft = select(SOFT.map((s) => ({ value: s, label: softName(s) })), pick.soft, { name: 'soft', id: 'gov-x-soft' });
  const hardSel = select(hard.map((x) => ({ value: x.key, label: name(x, l) })), pick.hard, { name: 'hard', id: 'gov-x-hard' });
  const lag = select(LAGS.map((n) => ({ value: n, label: t('gov.lag.n', { n }) })), pick.lag, { name: 'lag', id: 'gov-x-lag' });
  const level = select(['team', 'department'].map((v) => ({ value: v, label: t('gov.level.' + v) })), pick.level, { name: 'level', id: 'gov-x-level' });
  const box = h('div', { id: 'gov-x-result', 'aria-live': 'polite' });
  const form = h('form', { id: 'gov-explorer', class: 'form form-inline' },
    field(t('gov.soft.one'), soft), field(t('gov.hard.one'), hardSel), field(t('gov.lag'), lag, t('gov.lag.hint')), field(t('gov.level'), level),
    h('button', { type: 'submit' }, t('gov.show')));
  // a slower reply to an earlier pair (the one the page opens with, say)
  // must not replace a newer one, nor put the newer pair's address on it
  let runSeq = 0;
  const run = async () => {
    const seq = ++runSeq;
    const query = { soft: soft.value, hard: hardSel.value, lag: lag.value, level: level.value };
    box.replaceChildren(h('p', { class: 'hint' }, t('loading')));
    try {
      const res = await api('/governance/links', { query });
      if (!ctx.alive() || seq !== runSeq) return;
      explorerResult(box, res);
      ctx.setQuery(query);
    } catch (err) {
      if (seq === runSeq) box.replaceChildren(errorNotice(err));
    }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
  // set() takes the whole pair as the map showed it: its lag and level too,
  // so the explorer opens on the numbers of the clicked cell
  const set = (s, hk, lg, lv) => {
    soft.value = s;
    hardSel.value = hk;
    if (lg !== undefined) lag.value = String(lg);
    if (lv !== undefined) level.value = lv;
  };
  return { el: panel(t('gov.explorer'), t('gov.explorer.sub'), form, box), run, set };
}

// ---- team goals -----------------------------------------------------------------------------

function goalsPanel(ov) {
  const l = lang();
  const targets = ov.team_targets;
  const goals = ov.team_goals;
  const note = h('p', { class: 'notice', id: 'gov-goals-note' }, ov.goals_note[l] || ov.goals_note.nl);
  const tTable = targets.length ? h('table', { id: 'gov-targets' },
    h('caption', null, t('gov.targets.caption')),
    h('thead', null, h('tr', null, ['gov.team', 'gov.kpi', 'gov.period', 'gov.target', 'gov.value', 'gov.progress'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', null, targets.map((x) => h('tr', { dataset: { team: x.team_id, kpi: x.kpi } },
      h('th', { scope: 'row' }, x.team_name), h('td', null, x.name[l] || x.name.nl), h('td', null, x.period),
      h('td', { class: 'num' }, fmtValue(x.target, softUnit(x.kpi), l)),
      h('td', { class: 'num' }, x.value === null ? '–' : fmtValue(x.value, softUnit(x.kpi), l) + ' (' + fmtPeriod(x.value_period, l) + ')'),
      h('td', null, x.met === null ? t('gov.progress.unknown') : x.met ? t('gov.target.met') : t('gov.target.not_met')))))) : null;
  const gTable = goals.length ? h('table', { id: 'gov-team-goals' },
    h('caption', null, t('gov.goals.caption')),
    h('thead', null, h('tr', null, ['gov.team', 'gov.kpi', 'gov.period', 'gov.target', 'gov.value', 'gov.progress'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', null, goals.flatMap((tm) => tm.goals.map((g) => h('tr', { dataset: { team: tm.team_id } },
      h('th', { scope: 'row' }, tm.team_name), h('td', null, softName(g.metric)), h('td', null, g.period),
      h('td', { class: 'num' }, fmtNumber(g.target, l, g.metric === 'nps' ? 0 : 1)),
      h('td', { class: 'num' }, g.actual && g.actual.value !== null && g.actual.value !== undefined ? fmtNumber(g.actual.value, l, g.metric === 'nps' ? 0 : 1) : '–'),
      h('td', null, t('gov.goal.' + g.status))))))) : null;
  return panel(t('gov.goals'), null, note,
    tTable ? h('div', { class: 'table-wrap' }, tTable) : null,
    gTable ? h('div', { class: 'table-wrap' }, gTable) : null,
    !tTable && !gTable ? h('p', { class: 'hint', id: 'gov-goals-none' }, t('gov.goals.none')) : null);
}

// ---- the page -------------------------------------------------------------------------------

export async function render(main, ctx) {
  for (const c of drawn) c.dispose();
  drawn.clear();
  main.append(h('h1', null, t('gov.title')), h('p', { class: 'lead' }, t('gov.intro')));
  const q = ctx.query;
  const level = q.get('level') === 'department' ? 'department' : 'team';
  const lagQ = Number(q.get('lag'));
  const lag = Number.isInteger(lagQ) && lagQ >= 0 && lagQ <= 6 && q.get('lag') !== null ? lagQ : 0;
  let ov;
  try {
    ov = await api('/governance/overview');
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  main.append(departmentsPanel(ov), softPanel(ov));
  const hard = ov.departments.flatMap((d) => KINDS.flatMap((k) => d.kpis[k]));
  const pick = { soft: SOFT.includes(q.get('soft')) ? q.get('soft') : 'nps',
    hard: hard.some((x) => x.key === q.get('hard')) ? q.get('hard') : (hard[0] ? hard[0].key : ''), lag, level };
  const explorer = explorerPanel(ctx, hard, pick);
  // the map at the explorer's lag and level
  const mapBox = h('div', { id: 'gov-map-box' }, h('p', { class: 'hint' }, t('loading')));
  const lagSel = select(LAGS.map((n) => ({ value: n, label: t('gov.lag.n', { n }) })), lag, { name: 'map-lag', id: 'gov-map-lag' });
  const levelSel = select(['team', 'department'].map((v) => ({ value: v, label: t('gov.level.' + v) })), level, { name: 'map-level', id: 'gov-map-level' });
  let mapSeq = 0;   // a slower reply to an earlier choice must not replace a newer map
  const loadMap = async () => {
    const seq = ++mapSeq;
    mapBox.replaceChildren(h('p', { class: 'hint' }, t('loading')));
    try {
      const m = await api('/governance/map', { query: { lag: lagSel.value, level: levelSel.value } });
      if (!ctx.alive() || seq !== mapSeq) return;
      mapBox.replaceChildren(mapPanel(m, (s, hk) => {
        explorer.set(s, hk, m.lag, m.level);   // the map's lag and level, not the explorer's
        explorer.run();
        explorer.el.scrollIntoView({ block: 'start' });
      }));
    } catch (err) {
      if (seq === mapSeq) mapBox.replaceChildren(errorNotice(err));
    }
  };
  lagSel.addEventListener('change', loadMap);
  levelSel.addEventListener('change', loadMap);
  main.append(panel(t('gov.map'), t('gov.map.sub'),
    h('div', { class: 'form form-inline', id: 'gov-map-controls' }, field(t('gov.lag'), lagSel, t('gov.lag.hint')), field(t('gov.level'), levelSel)),
    mapBox), explorer.el, goalsPanel(ov));
  loadMap();
  if (pick.hard) explorer.run();
}
