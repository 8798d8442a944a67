// pages/team.js — the team dashboard: NPS, grade and CES with intervals and
// trend; per touchpoint; per employee under the minimum n (alphabetical, no
// ranking); the team goal and its progress; what the team agreed to share;
// the Wall of Fame and the Wall of Shame, each item linking to its response.

import { api, errorText, errorDetail, showError } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNps, fmtMean, fmtRange, currentQuarter } from '../format.js';
import { trendChart } from '../charts.js';
import { kpiRow, panel, chartPanel, trendTable, groupTable, verbatimList, errorNotice, periodField, periodTag, trendPeriod } from '../widgets.js';
import { topThemesPanel, themeLabels } from './themes.js';  // issue 14
import { top3Panel } from './drivers.js';  // issue 15
import { teamMentionsPanel } from './mentions.js';  // issue 16 H3: reviews and posts of the unit
import { exportLinks } from '../export.js';  // issue 17 (X): PDF and Excel of a breakdown

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

// The page of one employee (team leads and up), keeping the period.
export function personHref(emp, period) {
  return '#/person/' + emp.id + (period ? '?period=' + encodeURIComponent(period) : '');
}

// "Send a compliment" on a Wall of Fame item: POST
// /responses/ID/compliment (the server mails the employee and shows it on
// their page; out of scope is a 403, a second one a 409).
export function complimentAction(v) {
  if (!v.employee) return null;
  const note = h('input', { type: 'text', name: 'note', maxlength: '500', class: 'compliment-note' });
  const msg = h('p', { role: 'status', class: 'hint compliment-msg' });
  const btn = h('button', { type: 'submit', class: 'btn btn-small' }, t('compliment.send'));
  const form = h('form', { class: 'compliment-form', dataset: { responseId: v.response_id } },
    field(t('compliment.note'), note), btn, msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    msg.className = 'hint compliment-msg';
    try {
      await api('/responses/' + v.response_id + '/compliment', { method: 'POST', body: note.value.trim() ? { note: note.value.trim() } : {} });
      msg.textContent = t('compliment.sent', { name: v.employee.name });
      form.dataset.sent = 'true';
      note.disabled = true;
      btn.textContent = t('compliment.done');
      announce(msg.textContent);
    } catch (err) {
      btn.disabled = false;
      msg.className = 'error-text compliment-msg';
      msg.textContent = err.status === 409 ? t('compliment.exists') : err.status === 403 ? t('compliment.forbidden')
        : errorText(err);
      msg.title = errorDetail(err) || '';
      if (err.status === 409) form.dataset.sent = 'true';
    }
  });
  // folded: one line under each item until the lead opens it
  return h('details', { class: 'compliment-box', dataset: { responseId: v.response_id } },
    h('summary', null, t('compliment.send')), form);
}

function settled(p) {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

// Every call of one team's dashboard, started at once.
// Every panel follows the page's period (issue 13): the trend shows the
// months of the period's year, the walls the period's comments.
function teamData(id, period, leads) {
  const q = { team_id: id, period };
  const wallQ = period ? { period } : {};
  return Promise.all([
    settled(api('/metrics', { query: q })),
    settled(api('/metrics/trend', { query: trendPeriod(period) ? { team_id: id, period: trendPeriod(period) } : { team_id: id } })),
    settled(api('/metrics', { query: { ...q, group_by: 'touchpoint' } })),
    leads ? settled(api('/metrics', { query: { ...q, group_by: 'employee' } })) : Promise.resolve(null),
    settled(api('/teams/' + id + '/goals')),
    settled(api('/teams/' + id + '/settings')),
    settled(api('/teams/' + id + '/wall', { query: { kind: 'fame', limit: 10, ...wallQ } })),
    settled(api('/teams/' + id + '/wall', { query: { kind: 'shame', limit: 10, ...wallQ } })),
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

  // the team's top themes (issue 14): GET /themes with team_id, the server's scope and suppression
  const themesP = Promise.all([
    api('/themes', { query: { team_id: team.id, period } }).then((value) => ({ ok: true, value }), (error) => ({ ok: false, error })),
    themeLabels().catch(() => new Map())]);
  // the team's top three drivers (issue 15): GET /drivers/top3, the server's scope and suppression
  const top3P = api('/drivers/top3', { query: { team_id: team.id, period } }).then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
  // issue 16 H3: the mentions linked to this unit (leads and up: the API's roles), asked for alongside
  const mentionsP = leads ? teamMentionsPanel(team, period).then((box) => ({ ok: true, box }), (error) => ({ ok: false, error })) : null;
  const [metrics, trend, touch, emps, goals, settings, fame, shame] = await (earlyData || teamData(team.id, period, leads));
  if (!ctx.alive()) return;

  main.append(h('div', { id: 'team-kpis' }, periodTag(period), metrics.ok ? kpiRow(metrics.value) : errorNotice(metrics.error)));
  // issue 16 H3: beside the survey NPS, never in it — stars have their own measures
  const mentions = mentionsP ? await mentionsP : null;
  if (!ctx.alive()) return;
  if (mentions && (mentions.ok || (mentions.error?.status !== 403 && mentions.error?.status !== 404))) {
    main.append(h('div', { id: 'team-mentions' }, mentions.ok ? mentions.box : errorNotice(mentions.error)));
  }

  if (trend.ok) {
    main.append(h('div', { id: 'team-trend' }, chartPanel(t('team.trend'),
      (el) => trendChart(el, [{ name: team.name, points: trend.value.points }], { markChanges: true }),
      trendTable(trend.value.points), { note: t('org.trend.note') + ' ' + (trendPeriod(period) ? t('period.trend', { y: trendPeriod(period) }) : t('period.trend.all')) })));
  } else {
    main.append(errorNotice(trend.error));
  }

  main.append(h('div', { class: 'grid grid-2' },
    h('div', { id: 'team-goals' }, goalsPanel(team, goals, user, ctx)),
    h('div', { id: 'team-settings' }, settingsPanel(team, settings, user))));

  main.append(h('div', { id: 'team-touchpoints' }, panel(t('team.touchpoints'), null, periodTag(period),
    touch.ok ? groupTable(touch.value.rows || [], 'touchpoint') : errorNotice(touch.error),
    // issue 17 (X): the same breakdown as a file
    touch.ok ? h('div', { class: 'form-actions' }, ...exportLinks({ team_id: team.id, period, group_by: 'touchpoint' }, 'team-touchpoints')) : null)));

  const [themesRes, labels] = await themesP;  // issue 14
  if (!ctx.alive()) return;
  // an employee's own role may not read the team's themes: then no panel rather than "not allowed"
  if (themesRes.ok || leads || themesRes.error?.status !== 403) {
    main.append(h('div', { id: 'team-themes' }, topThemesPanel(themesRes, labels, { team_id: team.id, period }, { id: 'team-themes-panel', period })));
  }

  const top3 = await top3P;  // issue 15
  if (!ctx.alive()) return;
  // no panel on a server without the route (404), nor for a role that may not read it (403: an employee)
  if (top3.ok || (top3.error?.status !== 404 && top3.error?.status !== 403)) {
    main.append(h('div', { id: 'team-drivers' }, top3Panel(top3, { user, ctx, slice: { team_id: String(team.id) }, unitName: team.name,
      id: 'team-top3', period, more: leads ? '#/drivers?team_id=' + team.id + (period ? '&period=' + encodeURIComponent(period) : '') : null })));
  }

  if (emps) {
    const minN = emps.ok ? emps.value.min_n : 10;
    main.append(h('div', { id: 'team-employees' }, panel(t('team.employees'), null,
      h('p', { class: 'hint' }, t('team.employees.note', { min: minN })), periodTag(period),
      emps.ok ? groupTable(emps.value.rows || [], 'employee', { link: (r) => personHref(r.employee, period) }) : errorNotice(emps.error),
      // issue 17 (X): the same breakdown as a file
      emps.ok ? h('div', { class: 'form-actions' }, ...exportLinks({ team_id: team.id, period, group_by: 'employee' }, 'team-employees')) : null)));
  }

  const wall = (res, kind) => {
    const box = h('section', { class: 'panel wall-' + kind, id: 'wall-' + kind },
      h('h2', null, t('team.' + kind), h('span', { class: 'sub' }, t('team.' + kind + '.sub'))), periodTag(period));
    if (!res.ok) box.append(errorNotice(res.error));
    else if (!res.value.items.length) box.append(h('p', { class: 'empty' }, t('team.wall.empty')));
    else {
      box.append(verbatimList(res.value.items, { showTeam: false,
        action: leads && kind === 'fame' ? complimentAction : null }));
    }
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

// Each measure has its own scale, so its own default target and range.
const GOAL_SCALE = {
  nps: { min: -100, max: 100, step: '0.1', def: '30' },
  grade: { min: 1, max: 10, step: '0.1', def: '7,5' },
};

// A number as a person types it: "7,5" or "7.5" (one separator, digits
// around it, an optional sign); null for anything else.
export function parseDecimal(text) {
  const m = /^\s*([+-]?\d+)(?:[.,](\d+))?\s*$/.exec(text ?? '');
  return m ? Number(m[1] + (m[2] ? '.' + m[2] : '')) : null;
}

// Progress from the baseline (the figure of the period before) to the
// target, with the interval of the actual figure: a scale that starts where
// the team stood, not at the end of the measure's scale (−100). The words
// of the status stay the server's judgement.
function goalProgress(g, f) {
  const a = g.actual || {}, b = g.baseline || {};
  const has = (v) => typeof v === 'number';
  if (!has(b.value)) return h('p', { class: 'goal-progress hint', dataset: { baseline: '' } }, t('goal.progress.nobase', { bp: b.period || '' }));
  const lo = Math.min(b.value, g.target), hi = Math.max(b.value, g.target);
  const span = hi - lo || 1;
  const pos = (v) => Math.max(0, Math.min(100, ((v - lo) / span) * 100));
  const dir = g.target >= b.value ? 1 : -1;
  const along = (v) => (dir > 0 ? pos(v) : 100 - pos(v));
  const bar = h('div', { class: 'goal-bar', 'aria-hidden': 'true' });
  if (has(a.low) && has(a.high)) {
    const x1 = along(dir > 0 ? a.low : a.high), x2 = along(dir > 0 ? a.high : a.low);
    bar.append(h('span', { class: 'goal-interval', dataset: { from: x1.toFixed(1), to: x2.toFixed(1) } }));
  }
  if (has(a.value)) bar.append(h('span', { class: 'goal-actual', dataset: { at: along(a.value).toFixed(1) } }));
  // positions are classes of 5% steps (no inline style under the CSP)
  for (const el of bar.children) {
    if (el.dataset.at) el.classList.add('at-' + Math.round(Number(el.dataset.at) / 5) * 5);
    if (el.dataset.from) el.classList.add('from-' + Math.round(Number(el.dataset.from) / 5) * 5, 'to-' + Math.round(Number(el.dataset.to) / 5) * 5);
  }
  return h('div', { class: 'goal-progress', dataset: { baseline: b.value, baselinePeriod: b.period } },
    h('p', { class: 'hint' }, t('goal.progress', { base: f(b.value), bp: b.period, target: f(g.target) })),
    bar);
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
      hasRange ? ' (' + t('interval', { range: fmtRange(a.low, a.high, f) }) + ')' : null),
    goalProgress(g, f));
}

// The form's errors in the page's language, from the server's field.
function goalError(err, metric) {
  const field = err.field || err.body?.error?.field;
  if (err.status === 403) return t('error.forbidden');
  if (field === 'target') {
    const sc = GOAL_SCALE[metric];
    return err.status === 422 && (err.code === 'out_of_range' || err.body?.error?.code === 'out_of_range')
      ? t('goal.error.range', { metric: t(metric), min: sc.min, max: sc.max }) : t('goal.error.target');
  }
  if (field === 'period') return t('goal.error.period');
  return errorText(err);
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
  // text, not type=number: "7,5" must be accepted as typed (a Dutch decimal comma)
  const targetIn = h('input', { type: 'text', inputmode: 'decimal', name: 'target', value: GOAL_SCALE.nps.def, required: true });
  let typed = false;
  targetIn.addEventListener('input', () => { typed = true; });
  metricIn.addEventListener('change', () => {
    if (!typed) targetIn.value = GOAL_SCALE[metricIn.value].def;
  });
  const msg = h('p', { role: 'status', class: 'hint' });
  const form = h('form', { class: 'goal-form', id: 'goal-form', novalidate: true },
    h('h3', null, t('team.goal.set')),
    h('div', { class: 'form-row' },
      field(t('team.goal.period'), periodIn), field(t('team.goal.metric'), metricIn), field(t('team.goal.value'), targetIn)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('team.goal.save'))),
    msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    msg.className = 'hint';
    const metric = metricIn.value;
    const target = parseDecimal(targetIn.value);
    const sc = GOAL_SCALE[metric];
    if (target === null || target < sc.min || target > sc.max) {
      msg.className = 'error-text';
      msg.textContent = target === null ? t('goal.error.target') : t('goal.error.range', { metric: t(metric), min: sc.min, max: sc.max });
      return;
    }
    try {
      await api('/teams/' + team.id + '/goals', { method: 'PUT',
        body: { period: periodIn.value.trim(), metric, target } });
      const fresh = await api('/teams/' + team.id + '/goals');
      if (!ctx.alive()) return;
      show(fresh.items);
      msg.textContent = t('team.goal.saved');
      announce(t('team.goal.saved'));
    } catch (err) {
      msg.className = 'error-text';
      msg.textContent = goalError(err, metric);
      msg.title = errorDetail(err) || '';
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
      if (err.status === 403) msg.textContent = t('error.forbidden'); else showError(msg, err);
    }
  });
  box.append(h('label', { class: 'check', for: 'share-scores' }, box2, t('team.settings.share')), msg);
  return box;
}
