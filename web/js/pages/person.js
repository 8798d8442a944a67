// pages/person.js — one employee's page (#/person/ID?period=P), for team
// leads and up: the page a team lead opens before a one-to-one. Every
// number comes through the routes that keep the privacy rules — /metrics,
// /metrics/trend and /metrics/compare with employee_id (the person
// threshold of 10, disclosure control, whole periods only), /verbatims with
// employee_id (the organisation's verbatim_detail; under "anonymous" the
// server refuses the filter, and the page says so). The server decides the
// scope: a lead outside the employee's unit gets 403 on each panel. No
// ranking: this page shows one person against their own past, never
// against colleagues.

import { api } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { trendChart } from '../charts.js';
import { kpiRow, kpiCard, panel, chartPanel, trendTable, verbatimList, errorNotice, periodField, periodTag,
  periodLabel, previousPeriod, trendPeriod, driversTable } from '../widgets.js';
import { complimentAction } from './team.js';
import { topThemesPanel, themeLabels } from './themes.js';  // issue 14

function settled(p) {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

// [from, to) of a whole period as local dates for /verbatims (a date is
// local midnight there); {} for all time.
export function periodDates(p) {
  const pad = (n) => String(n).padStart(2, '0');
  let m = /^(\d{4})$/.exec(p || '');
  if (m) return { from: m[1] + '-01-01', to: (+m[1] + 1) + '-01-01' };
  m = /^(\d{4})-Q([1-4])$/.exec(p || '');
  if (m) {
    const q = +m[2], y = +m[1];
    return { from: y + '-' + pad(q * 3 - 2) + '-01', to: q === 4 ? (y + 1) + '-01-01' : y + '-' + pad(q * 3 + 1) + '-01' };
  }
  m = /^(\d{4})-(\d{2})$/.exec(p || '');
  if (m) {
    const y = +m[1], mo = +m[2];
    return { from: y + '-' + pad(mo) + '-01', to: mo === 12 ? (y + 1) + '-01-01' : y + '-' + pad(mo + 1) + '-01' };
  }
  return {};
}

function personData(id, period) {
  const prev = previousPeriod(period);
  const dates = periodDates(period);
  const v = (band) => settled(api('/verbatims', { query: { employee_id: id, limit: 10, ...dates, ...(band ? { band } : {}) } }));
  return Promise.all([
    settled(api('/employees/' + id)),
    settled(api('/metrics', { query: { employee_id: id, period } })),
    prev ? settled(api('/metrics/compare', { query: { employee_id: id, 'a.period': prev, 'b.period': period } })) : Promise.resolve(null),
    settled(api('/metrics/trend', { query: trendPeriod(period) ? { employee_id: id, period: trendPeriod(period) } : { employee_id: id } })),
    v(''), v('promoter'), v('detractor'),
    settled(api('/employees/' + id + '/drivers', { query: period ? { period } : {} })),
  ]);
}

// The cases opened from this person's slips on the page (GET
// /cases?response_id for each Wall of Shame item shown: the server scopes
// them). Cases are not listed per employee, so answers without a comment
// are not reached: the panel says so and links the inbox.
async function casesOf(shame, ctx) {
  const slot = document.getElementById('person-cases');
  const items = shame.ok ? shame.value.items : [];
  const replies = await Promise.all(items.map((v) => settled(api('/cases', { query: { response_id: v.response_id } }))));
  if (!ctx.alive() || !slot) return;
  const seen = new Map();
  let failed = null;
  for (const r of replies) {
    if (!r.ok) failed = r.error;
    else for (const c of r.value.items || []) seen.set(c.id, c);
  }
  const cases = [...seen.values()].sort((a, b) => b.id - a.id);
  const box = panel(t('person.cases'), null,
    failed ? errorNotice(failed) : cases.length
      ? h('ul', { class: 'person-cases' }, cases.map((c) => h('li', { dataset: { caseId: c.id, status: c.status } },
        h('a', { href: '#/case/' + c.id }, t('person.case', { id: c.id })), ' \u2014 ', t('case.status.' + c.status),
        c.reason ? ' \u2014 ' + c.reason : null)))
      : h('p', { class: 'empty' }, t('person.cases.empty')),
    h('p', { class: 'hint' }, t('person.cases.none'), ' ', h('a', { href: '#/cases' }, t('nav.cases'))));
  slot.replaceChildren(box);
  slot.setAttribute('aria-busy', 'false');
  slot.dataset.ready = 'true';
}

export async function render(main, ctx) {
  const id = Number(ctx.args[0]);
  const period = ctx.query.get('period') || '';
  const title = h('h1', null, t('person.title', { name: '#' + id }));
  main.append(title);
  main.dataset.employeeId = String(id);
  main.dataset.period = period || 'all';
  const go = (p) => ctx.navigate('#/person/' + id + (p ? '?period=' + encodeURIComponent(p) : ''));
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'controls' }, periodField(period, (ev) => go(ev.target.value)))));

  // the themes of the answers about this person (issue 14): GET /themes with
  // employee_id keeps the person threshold; a suppressed reply says so
  const themesP = settled(api('/themes', { query: { employee_id: id, period } }));
  const labelsP = themeLabels().catch(() => new Map());
  const [emp, metrics, compare, trend, all, fame, shame, drivers] = await personData(id, period);
  if (!ctx.alive()) return;
  const name = emp.ok ? emp.value.first_name + ' ' + emp.value.last_name : '#' + id;
  title.textContent = t('person.title', { name });
  const minN = metrics.ok ? metrics.value.min_n : 10;
  main.append(h('p', { class: 'hint', id: 'person-intro' }, t('person.intro', { min: minN })));

  main.append(h('div', { id: 'person-kpis' }, panel(t('person.scores'), null, periodTag(period),
    metrics.ok ? kpiRow(metrics.value) : errorNotice(metrics.error))));

  // this period against the previous one, with the server's change verdicts
  const cmp = panel(t('person.compare'), null);
  if (!compare) cmp.append(h('p', { class: 'hint' }, t('person.compare.none')));
  else if (!compare.ok) cmp.append(errorNotice(compare.error));
  else {
    const c = compare.value;
    cmp.append(h('div', { class: 'grid grid-2' },
      h('div', { dataset: { side: 'a', period: previousPeriod(period) } }, h('h3', null, t('person.compare.prev', { p: periodLabel(previousPeriod(period)) })),
        h('div', { class: 'kpi-pair' }, kpiCard('nps', c.a, t('nps'), null), kpiCard('grade', c.a, t('grade'), null))),
      h('div', { dataset: { side: 'b', period } }, h('h3', null, t('person.compare.cur', { p: periodLabel(period) })),
        h('div', { class: 'kpi-pair' }, kpiCard('nps', c.b, t('nps'), c.nps_change), kpiCard('grade', c.b, t('grade'), c.grade_change)))));
  }
  main.append(h('div', { id: 'person-compare' }, cmp));

  if (trend.ok) {
    main.append(h('div', { id: 'person-trend' }, chartPanel(t('person.trend'),
      (el) => trendChart(el, [{ name, points: trend.value.points }], { markChanges: true }),
      trendTable(trend.value.points),
      { note: t('org.trend.note') + ' ' + (trendPeriod(period) ? t('period.trend', { y: trendPeriod(period) }) : t('period.trend.all')) })));
  } else {
    main.append(h('div', { id: 'person-trend' }, errorNotice(trend.error)));
  }

  const list = (res, opts) => (res.ok ? verbatimList(res.value.items, { showTeam: false, showEmployee: false, ...opts }) : errorNotice(res.error));
  main.append(h('div', { class: 'grid grid-2' },
    h('div', { id: 'person-fame' }, panel(t('person.fame'), null, periodTag(period), list(fame, { action: complimentAction }))),
    h('div', { id: 'person-shame' }, panel(t('person.shame'), null, periodTag(period), list(shame)))));
  main.append(h('div', { id: 'person-verbatims' }, panel(t('person.verbatims'), null, periodTag(period), list(all),
    h('p', null, h('a', { id: 'person-all', href: '#/verbatims?employee_id=' + id }, t('person.all', { name }))))));
  const [themesRes, labels] = await Promise.all([themesP, labelsP]);  // issue 14
  if (!ctx.alive()) return;
  main.append(h('div', { id: 'person-themes' }, topThemesPanel(themesRes, labels, { employee_id: id, period }, { id: 'person-themes-panel', period })));

  // Drivers, and the cases of the slips shown (what it cannot reach is said, not left out silently).
  main.append(h('div', { class: 'grid grid-2' },
    h('div', { id: 'person-drivers' }, panel(t('person.drivers'), null, periodTag(period),
      drivers.ok ? driversTable(drivers.value) : errorNotice(drivers.error))),
    h('div', { id: 'person-cases', 'aria-busy': 'true' }, panel(t('person.cases'), null, h('p', { class: 'loading' }, t('loading'))))));
  main.dataset.ready = 'true';
  casesOf(shame, ctx);
}
