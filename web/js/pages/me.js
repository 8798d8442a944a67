// pages/me.js — the personal dashboard (GET /api/v1/me/dashboard): my NPS
// and grade with their intervals, my trend beside my team's, what
// customers said about me, compliments, and colleagues only when the team
// agreed to share. A coaching instrument: no ranking anywhere.

import { api } from '../api.js';
import { h } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDate, fmtLastDay } from '../format.js';
import { trendChart } from '../charts.js';
import { kpiCard, panel, chartPanel, trendTable, verbatimList, groupTable, errorNotice } from '../widgets.js';

export async function render(main, ctx) {
  const l = lang();
  main.append(h('h1', null, t('me.title')));
  let d;
  try {
    d = await api('/me/dashboard');
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  // [from, to): the first day, and the organisation's calendar day before "to"
  const win = d.window ? fmtDate(d.window.from, l) + ' \u2013 ' + fmtLastDay(d.window.to, l) : '';
  main.append(h('p', { class: 'hint', id: 'me-window' }, t('me.window') + (win ? ' (' + win + ')' : '') + '. ' + t('me.coaching')));
  if (!d.user?.employee_id) main.append(h('p', { class: 'notice' }, t('me.no.employee')));

  const teamName = d.team?.name || t('me.team');
  const cols = [];
  if (d.user?.employee_id) {
    cols.push(h('section', { class: 'panel', id: 'me-mine', dataset: { block: 'me' } },
      h('h2', null, t('me.mine')),
      h('div', { class: 'kpi-pair' }, kpiCard('nps', d.me, t('me.nps')), kpiCard('grade', d.me, t('me.grade')))));
  }
  if (d.team) {
    cols.push(h('section', { class: 'panel', id: 'me-team', dataset: { block: 'team', teamId: d.team.id } },
      h('h2', null, t('me.team'), h('span', { class: 'sub' }, teamName)),
      h('div', { class: 'kpi-pair' },
        kpiCard('nps', d.team, t('me.team.nps', { team: teamName })),
        kpiCard('grade', d.team, t('me.team.grade', { team: teamName })))));
  }
  if (cols.length) main.append(h('div', { class: 'grid grid-2' }, cols));

  const series = [];
  if (d.me_trend) series.push({ name: t('chart.me'), points: d.me_trend, color: '#1f5f8b' });
  if (d.team_trend) series.push({ name: teamName, points: d.team_trend, color: '#8a5a00' });
  if (series.length) {
    // One person's month is often below the minimum n: then say so, rather
    // than draw a line from too few answers.
    const mineThin = d.me_trend && !d.me_trend.some((p) => !p.insufficient);
    main.append(h('div', { id: 'me-trend' }, chartPanel(t('me.trend'), (el) => trendChart(el, series),
      h('div', null, series.map((s) => h('div', null, h('h3', null, s.name), trendTable(s.points)))),
      { note: mineThin ? t('me.trend.thin', { min: d.me_trend[0]?.min_n ?? 10 }) : null })));
  }

  main.append(h('div', { class: 'grid grid-2' },
    h('div', { id: 'me-verbatims' }, panel(t('me.verbatims'), null, verbatimList(d.verbatims, { showTeam: false, showEmployee: false }))),
    h('div', { id: 'me-compliments' }, panel(t('me.compliments'), null, verbatimList(d.compliments, { showTeam: false, showEmployee: false })))));

  if (d.colleagues_shared && Array.isArray(d.colleagues)) {
    main.append(h('div', { id: 'me-colleagues' }, panel(t('me.colleagues'), null,
      h('p', { class: 'hint' }, t('me.colleagues.note')),
      groupTable(d.colleagues, 'employee'))));
  } else if (d.team) {
    main.append(h('p', { class: 'hint', id: 'me-colleagues-off' }, t('me.colleagues.off')));
  }
}
