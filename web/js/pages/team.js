// pages/team.js — the team dashboard: NPS, grade and CES with intervals and
// trend; per touchpoint; per employee under the minimum n (alphabetical, no
// ranking); the team goal and its progress; what the team agreed to share;
// the Wall of Fame and the Wall of Shame, each item linking to its response.

import { api } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNps, fmtMean, fmtRange, currentQuarter } from '../format.js';
import { trendChart } from '../charts.js';
import { kpiRow, panel, chartPanel, trendTable, groupTable, verbatimList, errorNotice, periodField } from '../widgets.js';

// The teams this user can pick from: [{id, name}].
async function teamsInReach(user) {
  if (user.role === 'employee') {
    const emp = await api('/employees/' + user.employee_id);
    const team = await api('/teams/' + emp.team_id);
    return [{ id: team.id, name: team.name }];
  }
  if (user.role === 'team_lead') {
    const team = await api('/teams/' + user.unit_id);
    return [{ id: team.id, name: team.name }];
  }
  const query = user.role === 'manager' ? { parent_id: user.unit_id, limit: 500 } : { kind: 'team', limit: 500 };
  const res = await api('/teams', { query });
  return res.items.filter((x) => x.kind === 'team').map((x) => ({ id: x.id, name: x.name }));
}

function settled(p) {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

// Every call of one team's dashboard, started at once.
function teamData(id, period, leads) {
  const q = { team_id: id, period };
  return Promise.all([
    settled(api('/metrics', { query: q })),
    settled(api('/metrics/trend', { query: { team_id: id } })),
    settled(api('/metrics', { query: { ...q, group_by: 'touchpoint' } })),
    leads ? settled(api('/metrics', { query: { ...q, group_by: 'employee' } })) : Promise.resolve(null),
    settled(api('/teams/' + id + '/goals')),
    settled(api('/teams/' + id + '/settings')),
    settled(api('/teams/' + id + '/wall', { query: { kind: 'fame', limit: 10 } })),
    settled(api('/teams/' + id + '/wall', { query: { kind: 'shame', limit: 10 } })),
  ]);
}

export async function render(main, ctx) {
  const user = ctx.user;
  const period = ctx.query.get('period') || '';
  const leads = user.role !== 'employee';
  const title = h('h1', null, t('team.title'));
  main.append(title);
  // When the team is known up front (in the address, or a team lead's own),
  // its numbers are asked for together with the list of teams.
  const early = ctx.args[0] ? Number(ctx.args[0]) : user.role === 'team_lead' ? user.unit_id : null;
  const earlyData = early ? teamData(early, period, leads) : null;
  let teams;
  try {
    teams = await teamsInReach(user);
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  if (teams.length === 0) {
    main.append(h('p', { class: 'notice' }, t('team.none')));
    return;
  }
  const wanted = early || teams[0].id;
  const team = teams.find((x) => x.id === wanted) || { id: wanted, name: '#' + wanted };
  title.textContent = t('team.title') + ': ' + team.name;
  main.dataset.teamId = String(team.id);

  const go = (id, p) => ctx.navigate('#/team/' + id + (p ? '?period=' + encodeURIComponent(p) : ''));
  const controls = [];
  if (teams.length > 1) {
    controls.push(field(t('team.choose'), select(teams.map((x) => ({ value: x.id, label: x.name })), team.id,
      { name: 'team', id: 'team-select', onchange: (ev) => go(ev.target.value, period) })));
  }
  controls.push(periodField(period, (ev) => go(team.id, ev.target.value)));
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'controls' }, controls)));

  const [metrics, trend, touch, emps, goals, settings, fame, shame] = await (earlyData || teamData(team.id, period, leads));
  if (!ctx.alive()) return;

  main.append(h('div', { id: 'team-kpis' }, metrics.ok ? kpiRow(metrics.value) : errorNotice(metrics.error)));

  if (trend.ok) {
    main.append(h('div', { id: 'team-trend' }, chartPanel(t('team.trend'),
      (el) => trendChart(el, [{ name: team.name, points: trend.value.points }], { markChanges: true }),
      trendTable(trend.value.points), { note: t('org.trend.note') })));
  } else {
    main.append(errorNotice(trend.error));
  }

  main.append(h('div', { class: 'grid grid-2' },
    h('div', { id: 'team-goals' }, goalsPanel(team, goals, user, ctx)),
    h('div', { id: 'team-settings' }, settingsPanel(team, settings, user))));

  main.append(h('div', { id: 'team-touchpoints' }, panel(t('team.touchpoints'), null,
    touch.ok ? groupTable(touch.value.rows || [], 'touchpoint') : errorNotice(touch.error))));

  if (emps) {
    const minN = emps.ok ? emps.value.min_n : 10;
    main.append(h('div', { id: 'team-employees' }, panel(t('team.employees'), null,
      h('p', { class: 'hint' }, t('team.employees.note', { min: minN })),
      emps.ok ? groupTable(emps.value.rows || [], 'employee') : errorNotice(emps.error))));
  }

  const wall = (res, kind) => {
    const box = h('section', { class: 'panel wall-' + kind, id: 'wall-' + kind },
      h('h2', null, t('team.' + kind), h('span', { class: 'sub' }, t('team.' + kind + '.sub'))));
    if (!res.ok) box.append(errorNotice(res.error));
    else if (!res.value.items.length) box.append(h('p', { class: 'empty' }, t('team.wall.empty')));
    else box.append(verbatimList(res.value.items, { showTeam: false }));
    return box;
  };
  main.append(h('div', { class: 'grid grid-2' }, wall(fame, 'fame'), wall(shame, 'shame')));
}

// The goal's status as the server judged it, on the exact value with its
// interval: reached | likely | too_close_to_call | not_reached |
// insufficient_data. The page never compares the rounded value with the
// target itself. (An older server's `progress` is mapped onto the same words.)
const GOAL_STATUSES = ['reached', 'likely', 'too_close_to_call', 'not_reached', 'insufficient_data'];
const PROGRESS_STATUS = { reached: 'reached', not_reached: 'not_reached', insufficient: 'insufficient_data' };

export function goalStatus(g) {
  if (GOAL_STATUSES.includes(g.status)) return g.status;
  return PROGRESS_STATUS[g.progress] || 'insufficient_data';
}

function goalLine(g) {
  const l = lang();
  const f = g.metric === 'nps' ? (v) => fmtNps(v, l) : (v) => fmtMean(v, l);
  const a = g.actual || {};
  const hasValue = typeof a.value === 'number';
  const status = goalStatus(g);
  const hasRange = hasValue && typeof a.low === 'number' && typeof a.high === 'number';
  return h('div', { class: 'goal', dataset: { period: g.period, metric: g.metric, target: g.target, status } },
    h('div', { class: 'goal-head' },
      h('strong', null, t(g.metric) + ' · ' + g.period),
      h('span', { class: 'badge goal-' + status }, t('team.goal.status.' + status))),
    h('p', { class: 'goal-figures' },
      hasValue ? t('team.goal.target', { target: f(g.target), actual: f(a.value) }) : t('team.goal.target.none', { target: f(g.target) }),
      hasRange ? ' (' + t('interval', { range: fmtRange(a.low, a.high, f) }) + ')' : null));
}

function goalsPanel(team, goals, user, ctx) {
  const box = panel(t('team.goals'), null);
  const list = h('div', { class: 'goal-list' });
  const show = (items) => {
    list.replaceChildren(...(items.length ? items.map(goalLine) : [h('p', { class: 'empty' }, t('team.goal.none'))]));
  };
  if (!goals.ok) list.append(errorNotice(goals.error));
  else show(goals.value.items);
  box.append(list, h('p', { class: 'hint' }, t('team.goal.how')));
  if (user.role === 'employee') return box;

  // Leads and up set team goals (never individual ones).
  const periodIn = h('input', { type: 'text', name: 'period', value: currentQuarter(), pattern: '\\d{4}(-Q[1-4]|-\\d{2})?', required: true });
  const metricIn = select([{ value: 'nps', label: t('nps') }, { value: 'grade', label: t('grade') }], 'nps', { name: 'metric' });
  const targetIn = h('input', { type: 'number', name: 'target', value: '30', step: '0.1', min: '-100', max: '100', required: true });
  const msg = h('p', { role: 'status', class: 'hint' });
  const form = h('form', { class: 'goal-form', id: 'goal-form' },
    h('h3', null, t('team.goal.set')),
    h('div', { class: 'form-row' },
      field(t('team.goal.period'), periodIn), field(t('team.goal.metric'), metricIn), field(t('team.goal.value'), targetIn)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('team.goal.save'))),
    msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    msg.className = 'hint';
    try {
      await api('/teams/' + team.id + '/goals', { method: 'PUT',
        body: { period: periodIn.value.trim(), metric: metricIn.value, target: Number(targetIn.value) } });
      const fresh = await api('/teams/' + team.id + '/goals');
      if (!ctx.alive()) return;
      show(fresh.items);
      msg.textContent = t('team.goal.saved');
      announce(t('team.goal.saved'));
    } catch (err) {
      msg.className = 'error-text';
      msg.textContent = err.status === 403 ? t('error.forbidden') : t('error.load', { msg: err.message });
    }
  });
  box.append(form);
  return box;
}

function settingsPanel(team, settings, user) {
  const box = panel(t('team.settings'), null);
  if (!settings.ok) {
    box.append(errorNotice(settings.error));
    return box;
  }
  const s = settings.value;
  const mayChange = user.role === 'director' || user.role === 'admin' || (user.role === 'team_lead' && user.unit_id === team.id);
  const box2 = h('input', { type: 'checkbox', name: 'share_colleague_scores', id: 'share-scores', checked: s.share_colleague_scores, disabled: !mayChange });
  const msg = h('p', { role: 'status', class: 'hint' });
  box2.addEventListener('change', async () => {
    msg.textContent = '';
    try {
      const r = await api('/teams/' + team.id + '/settings', { method: 'PUT', body: { share_colleague_scores: box2.checked } });
      box2.checked = r.share_colleague_scores;
      msg.textContent = t('team.settings.saved');
      announce(t('team.settings.saved'));
    } catch (err) {
      box2.checked = !box2.checked;
      msg.className = 'error-text';
      msg.textContent = err.status === 403 ? t('error.forbidden') : t('error.load', { msg: err.message });
    }
  });
  box.append(h('label', { class: 'check', for: 'share-scores' }, box2, t('team.settings.share')), msg);
  return box;
}
