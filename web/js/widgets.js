// widgets.js — the building blocks the pages share: score cards, tables of
// groups under the minimum-n rule, verbatims, chart panels with their table.

import { h, field, select } from './dom.js';
import { t, lang } from './i18n.js';
import { errorText, errorDetail } from './api.js';
import { fmtNps, fmtDiff, fmtMean, fmtPct, fmtInt, fmtRange, fmtDate, fmtPeriod, localDay, band, keyLabel, keyId } from './format.js';

// ---- score cards -------------------------------------------------------------

function insufficientCard(kind, title, m) {
  return h('section', { class: 'kpi insufficient', dataset: { kpi: kind, insufficient: 'true' } },
    h('h3', null, title),
    h('p', { class: 'kpi-value' }, t('insufficient')),
    h('p', { class: 'kpi-n' }, t('insufficient.long', { n: fmtInt(m?.n ?? 0, lang()), min: m?.min_n ?? '' })));
}

// Whether measure kind of a metrics object has no figure to show: the whole
// group is under the minimum n, or this one measure is null (too few answered
// that question, or it is hidden — per-measure minimum n, complementary
// suppression — see m.hidden). Either way the page says "not enough
// responses", never a "0" or "–" that could be read as a value.
export function measureMissing(m, kind) {
  return !m || Boolean(m.insufficient) || !m[kind] || (Array.isArray(m.hidden) && m.hidden.includes(kind));
}

// The colour class of a change: only a real change has a direction; noise,
// too little data, no previous period, or no change at all stay neutral.
export function changeClass(c) {
  if (!c || c.verdict !== 'real_change' || typeof c.diff !== 'number' || c.diff === 0) return 'change-none';
  return c.diff > 0 ? 'change-up' : 'change-down';
}

// One card for one metric of a /metrics result m ({n, min_n, insufficient,
// hidden, nps, grade, ces}). kind: nps | grade | ces. The value itself is
// never coloured by its sign or a threshold: only a change block
// ({verdict, diff}, e.g. m.nps_change) with a real change colours it.
export function kpiCard(kind, m, title, change = m?.[kind + '_change']) {
  const l = lang();
  title = title || t(kind);
  if (measureMissing(m, kind)) {
    if (m && !m.insufficient) {
      // enough responses, but too few answered this question (or it is hidden)
      return h('section', { class: 'kpi insufficient', dataset: { kpi: kind, insufficient: 'true', hidden: 'true' } },
        h('h3', null, title), h('p', { class: 'kpi-value' }, t('insufficient')));
    }
    return insufficientCard(kind, title, m);
  }
  const b = m[kind];
  let value, interval = null, extra = [];
  const cls = 'kpi-value ' + changeClass(change);
  if (kind === 'nps') {
    value = h('p', { class: cls, dataset: { value: b.value } }, fmtNps(b.value, l));
    interval = t('interval', { range: fmtRange(b.low, b.high, (v) => fmtNps(v, l)) });
    extra = [h('p', { class: 'kpi-extra' }, t('nps.shares', {
      p: fmtPct(b.promoters, l), q: fmtPct(b.passives, l), d: fmtPct(b.detractors, l) }))];
  } else if (kind === 'grade') {
    value = h('p', { class: cls, dataset: { value: b.mean } }, fmtMean(b.mean, l));
    interval = t('interval', { range: fmtRange(b.low, b.high, (v) => fmtMean(v, l)) });
    extra = [h('p', { class: 'kpi-extra' }, t('share7', { p: fmtPct(b.share_7plus, l) }) + ' · ' + t('share9', { p: fmtPct(b.share_9plus, l) }))];
  } else {
    value = h('p', { class: cls, dataset: { value: b.mean } }, fmtMean(b.mean, l));
    extra = [h('p', { class: 'kpi-extra' }, t('share5', { p: fmtPct(b.share_5plus, l) }))];
  }
  return h('section', { class: 'kpi', dataset: { kpi: kind } },
    h('h3', null, title),
    value,
    change ? h('p', { class: 'kpi-change', dataset: { verdict: change.verdict ?? '' } }, changeText(change)) : null,
    interval ? h('p', { class: 'kpi-interval' }, interval) : null,
    extra,
    h('p', { class: 'kpi-n', dataset: { n: b.n } }, t('n.responses', { n: fmtInt(b.n, l) })));
}

export function kpiRow(m, kinds = ['nps', 'grade', 'ces']) {
  return h('div', { class: 'kpis' }, kinds.map((k) => kpiCard(k, m)));
}

// ---- tables -----------------------------------------------------------------------

// A cell for a figure that is not there: the group under the minimum n
// (the row says so once, in its NPS column) or this measure hidden.
function maskedCell(m, col) {
  const hidden = !m.insufficient;
  return h('td', { class: 'num masked', dataset: { col, hidden: hidden ? 'true' : 'false' } }, t('insufficient'));
}

function npsCell(m) {
  if (measureMissing(m, 'nps')) return maskedCell(m, 'nps');
  return h('td', { class: 'num', dataset: { col: 'nps', value: m.nps.value } }, fmtNps(m.nps.value, lang()));
}

function intervalCell(m) {
  if (measureMissing(m, 'nps')) return h('td', { class: 'num', dataset: { col: 'interval' } }, '');
  const l = lang();
  return h('td', { class: 'num', dataset: { col: 'interval' } }, fmtRange(m.nps.low, m.nps.high, (v) => fmtNps(v, l)));
}

function meanCell(m, kind) {
  if (m.insufficient) return h('td', { class: 'num', dataset: { col: kind } }, '');
  if (measureMissing(m, kind)) return maskedCell(m, kind);
  return h('td', { class: 'num', dataset: { col: kind, value: m[kind].mean } }, fmtMean(m[kind].mean, lang()));
}

// People are listed by name, never by score (no ranking of colleagues).
export function byName(rows, dim) {
  return [...rows].sort((a, b) => keyLabel(a[dim]).localeCompare(keyLabel(b[dim]), lang(), { sensitivity: 'base' })
    || keyId(a[dim]).localeCompare(keyId(b[dim]), undefined, { numeric: true }));
}

// Rows of /metrics?group_by=dim: name, n, NPS, interval, grade, CES. A row
// under the minimum n says so instead of showing a score. Employees are
// always listed alphabetically.
export function groupTable(rows, dim, { caption, nameHeader, link, own } = {}) {
  const l = lang();
  if (dim === 'employee') rows = byName(rows, dim);
  const nameCell = (r) => {
    const mine = own ? own(r) : false;
    const name = link ? h('a', { href: link(r), title: t('person.link', { name: keyLabel(r[dim]) }) }, keyLabel(r[dim]))
      : keyLabel(r[dim]);
    return h('th', { scope: 'row' }, name, mine ? [' ', h('strong', { class: 'own-mark' }, t('me.own'))] : null);
  };
  const body = rows.map((r) => h('tr', { class: own && own(r) ? 'own-row' : null,
    dataset: { key: keyId(r[dim]), insufficient: r.insufficient ? 'true' : 'false', own: own && own(r) ? 'true' : 'false' } },
    nameCell(r),
    h('td', { class: 'num', dataset: { col: 'n', value: r.n } }, fmtInt(r.n, l)),
    npsCell(r), intervalCell(r), meanCell(r, 'grade'), meanCell(r, 'ces')));
  return h('div', { class: 'table-wrap' },
    h('table', { dataset: { dim } },
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, nameHeader || t('dim.' + dim)),
        h('th', { scope: 'col', class: 'num' }, t('col.n')),
        h('th', { scope: 'col', class: 'num' }, t('col.nps')),
        h('th', { scope: 'col', class: 'num' }, t('col.interval')),
        h('th', { scope: 'col', class: 'num' }, t('col.grade')),
        h('th', { scope: 'col', class: 'num' }, t('col.ces')))),
      h('tbody', null, body)));
}

// Trend points as a table (period, n, NPS, interval, change verdict).
export function trendTable(points) {
  const l = lang();
  return h('div', { class: 'table-wrap' }, h('table', { class: 'trend-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('col.period')), h('th', { scope: 'col', class: 'num' }, t('col.n')),
      h('th', { scope: 'col', class: 'num' }, t('col.nps')), h('th', { scope: 'col', class: 'num' }, t('col.interval')),
      h('th', { scope: 'col' }, t('col.change')))),
    h('tbody', null, points.map((p) => h('tr', { dataset: { key: p.period } },
      h('th', { scope: 'row' }, fmtPeriod(p.period, l)),
      h('td', { class: 'num' }, fmtInt(p.n, l)), npsCell(p), intervalCell(p),
      h('td', { class: changeClass(p.nps_change), dataset: { col: 'change', verdict: p.nps_change?.verdict ?? '', diff: p.nps_change?.diff ?? '' } },
        changeText(p.nps_change)))))));
}

// A change block in words: "echte verandering (+4,2)", "binnen de ruis
// (+1,3)", "te weinig gegevens", "geen vorige periode". diff (the adjusted
// difference the z-test uses) is shown with its one decimal as sent; with
// insufficient_data the server sends none.
export function changeText(c) {
  if (!c || !c.verdict) return '';
  const has = typeof c.diff === 'number' && !Number.isNaN(c.diff);
  if (c.verdict === 'real_change' || c.verdict === 'within_noise') {
    return has ? t('change.' + c.verdict, { d: fmtDiff(c.diff, lang()) }) : t('change.' + c.verdict + '.nodiff');
  }
  return t('change.' + c.verdict);
}

// ---- verbatims ------------------------------------------------------------------------

const SEEN = 'ks.seen';

// Remember what was shown, so the response page can show it again to a
// role that may not read /responses/{id} itself.
export function rememberVerbatim(item) {
  try {
    const seen = JSON.parse(sessionStorage.getItem(SEEN) || '{}');
    seen[item.response_id] = item;
    const keys = Object.keys(seen);
    if (keys.length > 300) for (const k of keys.slice(0, keys.length - 300)) delete seen[k];
    sessionStorage.setItem(SEEN, JSON.stringify(seen));
  } catch { /* storage full or off: the page then shows less */ }
}

export function seenVerbatim(id) {
  try { return JSON.parse(sessionStorage.getItem(SEEN) || '{}')[id] || null; } catch { return null; }
}

export function scoreBadge(nps) {
  if (nps === null || nps === undefined) return null;
  const b = band(nps);
  // The number with its label beside it ("NPS 9"): a bare 9 in a coloured
  // circle says nothing to a newcomer or a screen reader.
  return h('span', { class: 'score-labelled' },
    h('span', { class: 'score-label', 'aria-hidden': 'true' }, t('nps')),
    ' ',
    h('span', { class: 'score ' + b, title: t('verbatim.score', { n: nps }), 'aria-label': t('verbatim.score', { n: nps }) }, String(nps)));
}

// The band in words, no number: what the organisation's setting
// (verbatim_detail band or anonymous) leaves of someone else's score.
export function bandBadge(b) {
  if (!b) return null;
  return h('span', { class: 'score score-band ' + b, title: t('verbatims.band.' + b), dataset: { band: b } }, t('verbatim.band.' + b));
}

// An item carries nps only when the reader may see the exact score (their
// own answer, or the setting exact); employee only when not anonymous.
export function verbatimItem(v, { showTeam = true, showEmployee = true, isNew = false, action = null, employeeLink = null } = {}) {
  const l = lang();
  const b = v.band || band(v.nps) || '';
  const exact = typeof v.nps === 'number';
  const emp = showEmployee && v.employee
    ? (employeeLink ? h('a', { class: 'v-employee', href: employeeLink(v.employee) }, v.employee.name)
      : h('span', { class: 'v-employee' }, v.employee.name))
    : null;
  return h('li', { class: 'verbatim ' + b + (isNew ? ' is-new' : ''),
    dataset: { responseId: v.response_id, band: b, exact: exact ? 'true' : 'false', new: isNew ? 'true' : 'false' } },
    isNew ? h('span', { class: 'badge badge-new' }, t('me.new')) : null,
    h('blockquote', { class: 'verbatim-text', lang: v.language || null }, v.text ?? ''),
    h('div', { class: 'meta' },
      exact ? scoreBadge(v.nps) : bandBadge(b),
      v.grade !== null && v.grade !== undefined ? h('span', null, t('grade') + ' ' + v.grade) : null,
      v.touchpoint ? h('span', { class: 'v-touchpoint' }, v.touchpoint.name) : null,
      showTeam && v.team ? h('span', { class: 'v-team' }, v.team.name) : null,
      emp,
      h('time', { datetime: v.received_at }, fmtDate(v.received_at, l)),
      h('a', { href: '#/response/' + v.response_id, onclick: () => rememberVerbatim(v) }, t('verbatim.open'))),
    action ? action(v) : null);
}

// opts.isNew(v) marks an item as new; the other options go to verbatimItem.
export function verbatimList(items, opts = {}) {
  if (!items || items.length === 0) return h('p', { class: 'empty' }, t('verbatims.none'));
  return h('ul', { class: 'verbatims' }, items.map((v) => verbatimItem(v, { ...opts, isNew: opts.isNew ? opts.isNew(v) : false })));
}

// ---- driver ratings (issue 13) --------------------------------------------------------------

// GET /employees/ID/drivers: one row per aspect, the mean (two decimals,
// as sent) or, under the person threshold or with a thin month, "not
// enough responses" — never a number.
export function driversTable(res) {
  const l = lang();
  if (!res.aspects?.length) return h('p', { class: 'empty' }, t('drivers.none'));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'drivers-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('drivers.aspect')),
      h('th', { scope: 'col', class: 'num' }, t('col.n')), h('th', { scope: 'col', class: 'num' }, t('drivers.mean')))),
    h('tbody', null, res.aspects.map((a) => h('tr', { dataset: { aspect: a.aspect, insufficient: a.insufficient ? 'true' : 'false' } },
      h('th', { scope: 'row' }, a.aspect),
      h('td', { class: 'num' }, fmtInt(a.n, l)),
      a.insufficient
        ? h('td', { class: 'num masked', title: t('drivers.reason.' + a.reason) }, t('insufficient'))
        : h('td', { class: 'num', dataset: { value: a.mean } }, fmtMean(a.mean, l)))))),
    h('p', { class: 'hint' }, t('drivers.note', { min: res.min_n })));
}

// ---- panels ------------------------------------------------------------------------------

export function panel(title, sub, ...body) {
  return h('section', { class: 'panel' },
    h('h2', null, title, sub ? h('span', { class: 'sub' }, sub) : null), body);
}

// A panel with a chart drawn by draw(el) and the same numbers as a table.
export function chartPanel(title, draw, table, { note, label, small } = {}) {
  const el = h('div', { class: 'chart' + (small ? ' chart-small' : ''), role: 'img', 'aria-label': label || title });
  const p = panel(title, null,
    el,
    note ? h('p', { class: 'chart-note' }, note) : null,
    h('details', { class: 'as-table' }, h('summary', null, t('chart.table')), table));
  // drawn after the panel is in the page (ECharts needs its size)
  requestAnimationFrame(() => {
    draw(el).then(() => {
      el.dataset.drawn = 'true';
      performance.mark('ks-chart');
    }, () => {
      el.replaceWith(h('p', { class: 'notice' }, t('chart.unavailable')));
      p.querySelector('details')?.setAttribute('open', '');
    });
  });
  return p;
}

export function errorNotice(err) {
  if (err && err.status === 403) return h('p', { class: 'notice notice-error', role: 'alert', dataset: { status: 403 } }, t('error.forbidden'));
  return h('p', { class: 'notice notice-error', role: 'alert', title: errorDetail(err), dataset: { status: err?.status ?? '' } },
    t('error.load', { msg: errorText(err) }));
}

// ---- period choice -----------------------------------------------------------------------

// Whole local periods only: the server gives team- and person-level
// figures per month, quarter or year, or all time (docs/PRIVACY.md: a day,
// a week or "the last 30 days" is a 422 — two overlapping windows would
// reveal one person's answers by subtraction), so the choices are the same
// on every page and the picker says why. The current period is still
// running: it is labelled "lopend / in progress" wherever it is shown.
export function periodOptions() {
  const { y, m } = localDay();
  const q = Math.floor((m - 1) / 3) + 1;
  const pm = m === 1 ? 12 : m - 1, py = m === 1 ? y - 1 : y;
  const pq = q === 1 ? 4 : q - 1, pqy = q === 1 ? y - 1 : y;
  const month = (yy, mm) => yy + '-' + String(mm).padStart(2, '0');
  const running = (label) => t('period.running', { p: label });
  return [
    { value: '', label: t('period.all') },
    { value: month(y, m), label: running(t('period.month', { p: fmtPeriod(month(y, m), lang()) })) },
    { value: month(py, pm), label: t('period.month', { p: fmtPeriod(month(py, pm), lang()) }) },
    { value: y + '-Q' + q, label: running(t('period.quarter', { p: y + '-Q' + q })) },
    { value: pqy + '-Q' + pq, label: t('period.quarter', { p: pqy + '-Q' + pq }) },
    { value: String(y), label: running(t('period.year', { y })) },
    { value: String(y - 1), label: t('period.year', { y: y - 1 }) },
  ];
}

// Is the period (YYYY, YYYY-Qn, YYYY-MM; '' = all time) still running
// today in the organisation's calendar? All time always is.
export function periodRunning(p) {
  const { y, m } = localDay();
  if (!p) return true;
  let r = /^(\d{4})$/.exec(p);
  if (r) return +r[1] === y;
  r = /^(\d{4})-Q([1-4])$/.exec(p);
  if (r) return +r[1] === y && +r[2] === Math.floor((m - 1) / 3) + 1;
  r = /^(\d{4})-(\d{2})$/.exec(p);
  if (r) return +r[1] === y && +r[2] === m;
  return false;
}

// The period in words, with "(lopend)" when it is still running.
export function periodLabel(p, { plain = false } = {}) {
  const found = plain ? null : periodOptions().find((o) => o.value === (p || ''));
  if (found) return found.label;
  if (!p) return t('period.all');
  let label = p;
  if (/^\d{4}$/.test(p)) label = t('period.year', { y: p });
  else if (/^\d{4}-Q[1-4]$/.test(p)) label = t('period.quarter', { p });
  else if (/^\d{4}-\d{2}$/.test(p)) label = t('period.month', { p: fmtPeriod(p, lang()) });
  return periodRunning(p) && !plain ? t('period.running', { p: label }) : label;
}

// The period before p, of the same length ('' for all time: none).
export function previousPeriod(p) {
  let r = /^(\d{4})$/.exec(p || '');
  if (r) return String(+r[1] - 1);
  r = /^(\d{4})-Q([1-4])$/.exec(p || '');
  if (r) return +r[2] === 1 ? (+r[1] - 1) + '-Q4' : r[1] + '-Q' + (+r[2] - 1);
  r = /^(\d{4})-(\d{2})$/.exec(p || '');
  if (r) return +r[2] === 1 ? (+r[1] - 1) + '-12' : r[1] + '-' + String(+r[2] - 1).padStart(2, '0');
  return '';
}

// The window of a trend that follows the page's period: the months of the
// period's year (a month or quarter shows its year around it), or every
// month for all time.
export function trendPeriod(p) {
  const r = /^(\d{4})/.exec(p || '');
  return r ? r[1] : '';
}

// A line under a panel's title saying which period it shows ("lopend"
// when it is still running), so no panel follows the picker unlabelled.
export function periodTag(p) {
  const running = periodRunning(p) && p;
  return h('p', { class: 'period-tag hint', dataset: { period: p || 'all', running: running ? 'true' : 'false' } },
    t('period.shown', { p: periodLabel(p, { plain: true }) }), running ? ' \u2014 ' + t('period.partial') : null);
}

export function periodField(value, onchange) {
  const sel = select(periodOptions(), value, { name: 'period', onchange, 'aria-describedby': 'period-note' });
  return h('div', { class: 'period-field' }, field(t('period'), sel),
    h('p', { class: 'hint', id: 'period-note' }, t('period.note')));
}
