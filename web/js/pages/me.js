// pages/me.js — the personal dashboard (GET /api/v1/me/dashboard): my NPS,
// grade and CES with their intervals for the chosen period, my trend beside
// my team's, what customers said about me (what is new since my last visit
// marked), compliments from customers and from my team lead, and
// colleagues only when the team agreed to share (my own row marked). A
// coaching instrument: no ranking anywhere.

import { api } from '../api.js';
import { h } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDate, fmtLastDay } from '../format.js';
import { trendChart } from '../charts.js';
import { kpiCard, panel, chartPanel, trendTable, verbatimList, groupTable, errorNotice, periodField, periodTag, driversTable } from '../widgets.js';

// When this user last saw the page (their own browser only: it is a
// convenience, not a record). Items received after it are "new".
const VISIT = 'ks.me.visit.';

function lastVisit(userId) {
  try { return localStorage.getItem(VISIT + userId); } catch { return null; }
}

function rememberVisit(userId, iso) {
  try { localStorage.setItem(VISIT + userId, iso); } catch { /* storage off: nothing is new next time */ }
}

export async function render(main, ctx) {
  const l = lang();
  const period = ctx.query.get('period') || '';
  main.append(h('h1', null, t('me.title')));
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'controls' },
    periodField(period, (ev) => ctx.navigate('#/me' + (ev.target.value ? '?period=' + encodeURIComponent(ev.target.value) : ''))))));
  let d;
  try {
    d = await api('/me/dashboard', { query: period ? { period } : {} });
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  const seenBefore = lastVisit(d.user?.id);
  const isNew = (v) => Boolean(seenBefore) && typeof v.received_at === 'string' && v.received_at > seenBefore;
  const isNewCompliment = (c) => Boolean(seenBefore) && typeof c.created_at === 'string' && c.created_at > seenBefore;
  rememberVisit(d.user?.id, new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));

  // [from, to): the first day, and the organisation's calendar day before "to"
  const win = d.window ? fmtDate(d.window.from, l) + ' \u2013 ' + fmtLastDay(d.window.to, l) : '';
  main.append(h('p', { class: 'hint', id: 'me-window', dataset: { period: d.window?.period ?? '' } },
    (win ? win + '. ' : '') + t('me.coaching')));
  main.append(periodTag(d.window?.period ?? period));
  if (!d.user?.employee_id) main.append(h('p', { class: 'notice' }, t('me.no.employee')));

  const teamName = d.team?.name || t('me.team');
  const cols = [];
  if (d.user?.employee_id) {
    cols.push(h('section', { class: 'panel', id: 'me-mine', dataset: { block: 'me' } },
      h('h2', null, t('me.mine')),
      h('div', { class: 'kpi-pair' }, kpiCard('nps', d.me, t('me.nps')), kpiCard('grade', d.me, t('me.grade')),
        kpiCard('ces', d.me, t('me.ces')))));
  }
  if (d.team) {
    cols.push(h('section', { class: 'panel', id: 'me-team', dataset: { block: 'team', teamId: d.team.id } },
      h('h2', null, t('me.team'), h('span', { class: 'sub' }, teamName)),
      h('div', { class: 'kpi-pair' },
        kpiCard('nps', d.team, t('me.team.nps', { team: teamName })),
        kpiCard('grade', d.team, t('me.team.grade', { team: teamName })),
        kpiCard('ces', d.team, t('me.team.ces', { team: teamName })))));
  }
  if (cols.length) main.append(h('div', { class: 'grid grid-2' }, cols));

  // my ratings per aspect (the person rule of /employees/ID/drivers)
  if (d.user?.employee_id) {
    const slot = h('div', { id: 'me-drivers', 'aria-busy': 'true' });
    main.append(slot);
    // the same window as the cards above (by default the current year)
    api('/employees/' + d.user.employee_id + '/drivers', { query: d.window?.period ? { period: d.window.period } : {} }).then(
      (res) => panel(t('me.drivers'), null, driversTable(res)), (err) => panel(t('me.drivers'), null, errorNotice(err)))
      .then((box) => {
        if (!ctx.alive()) return;
        slot.replaceChildren(box);
        slot.setAttribute('aria-busy', 'false');
        slot.dataset.ready = 'true';
      });
  }

  const series = [];
  if (d.me_trend) series.push({ name: t('chart.me'), points: d.me_trend, color: '#1f5f8b' });
  if (d.team_trend) series.push({ name: teamName, points: d.team_trend, color: '#8a5a00' });
  if (series.length) {
    // One person's month is often below the minimum n: then say so, rather
    // than draw a line from too few answers.
    const mineThin = d.me_trend && !d.me_trend.some((p) => !p.insufficient);
    main.append(h('div', { id: 'me-trend' }, chartPanel(t('me.trend'), (el) => trendChart(el, series),
      h('div', null, series.map((s) => h('div', null, h('h3', null, s.name), trendTable(s.points)))),
      { note: [t('me.window') + '.', mineThin ? t('me.trend.thin', { min: d.me_trend[0]?.min_n ?? 10 }) : null].filter(Boolean).join(' ') })));
  }

  // Compliments from the team lead (issue 13), then what customers said:
  // the compliments (promoters) and the other comments, each item once.
  const received = d.compliments_received || [];
  const receivedBox = panel(t('me.received'), null);
  if (!received.length) receivedBox.append(h('p', { class: 'empty' }, t('me.received.none')));
  else {
    receivedBox.append(h('ul', { class: 'compliments-received' }, received.map((c) => h('li', {
      class: 'compliment' + (isNewCompliment(c) ? ' is-new' : ''),
      dataset: { responseId: c.response_id, new: isNewCompliment(c) ? 'true' : 'false' } },
    isNewCompliment(c) ? h('span', { class: 'badge badge-new' }, t('me.new')) : null,
    h('p', null, h('strong', null, t('me.received.item', { from: c.from?.name || '' })), ' ',
      h('time', { datetime: c.created_at }, fmtDate(c.created_at, l))),
    h('blockquote', { class: 'verbatim-text' }, c.text ?? ''),
    c.note ? h('p', { class: 'compliment-note-text' }, t('me.received.note', { note: c.note })) : null))));
  }
  main.append(h('div', { id: 'me-received' }, receivedBox));

  const compliments = d.compliments || [];
  const promoted = new Set(compliments.map((v) => v.response_id));
  const others = (d.verbatims || []).filter((v) => !promoted.has(v.response_id));
  const fresh = [...compliments, ...others].filter(isNew).length;
  main.append(h('p', { class: 'hint', id: 'me-new', dataset: { count: fresh } }, seenBefore ? t('me.new.count', { n: fresh }) : ''));
  main.append(h('div', { class: 'grid grid-2' },
    h('div', { id: 'me-compliments' }, panel(t('me.compliments'), null,
      verbatimList(compliments, { showTeam: false, showEmployee: false, isNew }))),
    h('div', { id: 'me-verbatims' }, panel(t('me.other'), null,
      verbatimList(others, { showTeam: false, showEmployee: false, isNew })))));
  main.append(h('p', null, h('a', { id: 'me-all', href: '#/verbatims' }, t('me.all'))));

  if (d.colleagues_shared && Array.isArray(d.colleagues)) {
    main.append(h('div', { id: 'me-colleagues' }, panel(t('me.colleagues'), null,
      h('p', { class: 'hint' }, t('me.colleagues.note')),
      groupTable(d.colleagues, 'employee', { own: (r) => r.employee?.id === d.user?.employee_id }))));
  } else if (d.team) {
    main.append(h('p', { class: 'hint', id: 'me-colleagues-off' }, t('me.colleagues.off')));
  }
}
