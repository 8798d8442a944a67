// pages/actions.js — the improvement actions board: planned, in progress,
// done (cancelled folded away), each card with its owner, dates, the
// touchpoint, journey and team it is about, and its measured effect on the
// NPS (before → after, and whether that is a real change, within the noise,
// or too little data — in words). Leads and up add actions and move them on.
//
// Route: #/actions?journey_id=

import { api, showError } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNps, fmtDiff, fmtDate, todayIso } from '../format.js';
import { panel, errorNotice } from '../widgets.js';

const COLUMNS = ['planned', 'in_progress', 'done'];
let flash = null;  // the message of a change, shown after the board is drawn anew
const NEXT = { planned: ['in_progress', 'cancelled'], in_progress: ['done', 'cancelled'], done: [], cancelled: [] };

function settled(p) {
  return p.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
}

// Every page of a list (at most `pages` of 500).
async function listAll(path, query = {}, pages = 10) {
  const items = [];
  let cursor = '';
  for (let i = 0; i < pages; i++) {
    const res = await api(path, { query: { ...query, limit: 500, cursor } });
    items.push(...(res.items || []));
    if (!res.next_cursor) break;
    cursor = res.next_cursor;
  }
  return items;
}

// An employee may not list the teams: their own one is enough for the names.
async function ownTeam(user) {
  if (!user.employee_id) return [];
  const emp = await api('/employees/' + user.employee_id);
  return [await api('/teams/' + emp.team_id)];
}

const byId = (items) => new Map(items.map((x) => [x.id, x]));

// The effect line of one action: "NPS +10,0 → +25,0 (+15,0): real change".
// The difference is the server's (nps_change.diff, the adjusted difference
// its z-test uses); when it sends none (too little data) none is shown.
function effectLine(eff) {
  const l = lang();
  const c = eff?.nps_change;
  const v = c?.verdict || 'insufficient_data';
  // a side under the minimum n (or with its NPS hidden) shows no number
  const side = (s) => (s && !s.insufficient && s.nps && typeof s.nps.value === 'number' ? s.nps.value : undefined);
  const before = side(eff?.before);
  const after = side(eff?.after);
  const parts = [];
  if (typeof before === 'number' && typeof after === 'number') {
    parts.push(typeof c?.diff === 'number'
      ? t('actions.effect.nps', { before: fmtNps(before, l), after: fmtNps(after, l), diff: fmtDiff(c.diff, l) })
      : t('actions.effect.nps.nodiff', { before: fmtNps(before, l), after: fmtNps(after, l) }));
  } else {
    parts.push(t('actions.effect.nps.none'));
  }
  return h('p', { class: 'effect verdict-' + v, dataset: { verdict: v, before: before ?? '', after: after ?? '', diff: c?.diff ?? '' } },
    h('strong', null, t('actions.effect') + ': '), parts.join(''), ' — ',
    h('span', { class: 'verdict' }, t('actions.verdict.' + v)));
}

export async function render(main, ctx) {
  const user = ctx.user;
  const leads = user.role !== 'employee';
  const journeyId = ctx.query.get('journey_id') ? Number(ctx.query.get('journey_id')) : null;
  main.append(h('h1', null, t('actions.title')));

  const query = journeyId ? { journey_id: journeyId } : {};
  const [actions, journeys, touchpoints, teams, users] = await Promise.all([
    settled(listAll('/actions', query)),
    settled(listAll('/journeys', {}, 2)),
    settled(listAll('/touchpoints', {}, 2)),
    settled(user.role === 'employee' ? ownTeam(user) : listAll('/teams', {}, 4)),
    settled(user.role === 'admin' ? listAll('/users', {}, 2) : Promise.reject(new Error('skip'))),
  ]);
  if (!ctx.alive()) return;
  const J = byId(journeys.ok ? journeys.value : []);
  const T = byId(touchpoints.ok ? touchpoints.value : []);
  const U = byId(teams.ok ? teams.value : []);
  const people = new Map((users.ok ? users.value : []).map((u) => [u.id, u.name || u.email]));
  people.set(user.id, user.name);
  const personName = (id) => (id === null || id === undefined ? '–' : people.get(id) || t('actions.user', { id }));
  const nameOf = (m, id) => (id === null || id === undefined ? null : m.get(id)?.name || '#' + id);

  // filter by journey
  const jSel = select([{ value: '', label: t('actions.journey.all') }, ...[...J.values()].map((j) => ({ value: j.id, label: j.name }))],
    journeyId ?? '', { name: 'journey_id', id: 'actions-journey',
      onchange: (ev) => ctx.navigate('#/actions' + (ev.target.value ? '?journey_id=' + ev.target.value : '')) });
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'controls' }, field(t('actions.journey'), jSel))));

  const msg = h('p', { id: 'actions-msg', role: 'status', class: 'hint' });
  if (flash) {
    msg.textContent = flash;
    flash = null;
  }
  main.append(msg);

  if (leads) main.append(newActionForm({ user, J, T, U, people, ctx, msg }));

  if (!actions.ok) {
    main.append(errorNotice(actions.error));
    return;
  }
  const items = actions.value;

  const card = (a) => {
    const facts = h('dl', { class: 'action-facts' },
      h('dt', null, t('actions.owner')), h('dd', { dataset: { fact: 'owner' } }, a.owner_name || personName(a.owner_id)),
      h('dt', null, t('actions.start')), h('dd', { dataset: { fact: 'start' } }, fmtDate(a.start_date, lang())),
      h('dt', null, t('actions.deadline')), h('dd', { dataset: { fact: 'deadline' } }, a.deadline ? fmtDate(a.deadline, lang()) : '–'),
      a.touchpoint_id ? [h('dt', null, t('actions.touchpoint')), h('dd', { dataset: { fact: 'touchpoint' } }, nameOf(T, a.touchpoint_id))] : null,
      a.journey_id ? [h('dt', null, t('actions.journey')), h('dd', { dataset: { fact: 'journey' } }, nameOf(J, a.journey_id))] : null,
      a.team_id ? [h('dt', null, t('actions.team')), h('dd', { dataset: { fact: 'team' } }, nameOf(U, a.team_id))] : null,
      a.theme ? [h('dt', null, t('actions.theme')), h('dd', { dataset: { fact: 'theme' } }, a.theme)] : null);
    const effect = h('div', { class: 'effect-box', dataset: { loading: 'true' } }, h('p', { class: 'hint' }, t('loading')));
    const buttons = leads && NEXT[a.status]?.length ? h('div', { class: 'form-actions' }, NEXT[a.status].map((s) =>
      h('button', { type: 'button', class: 'btn btn-secondary btn-small', dataset: { next: s },
        onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            await api('/actions/' + a.id, { method: 'PATCH', body: { status: s } });
            flash = t('actions.moved', { title: a.title, status: t('actions.status.' + s) });
            announce(flash);
            ctx.navigate(location.hash || '#/actions');
          } catch (err) {
            ev.target.disabled = false;
            msg.className = 'error-text';
            if (err.status === 403) msg.textContent = t('error.forbidden'); else showError(msg, err);
          }
        } }, t('actions.to.' + s)))) : null;
    return h('article', { class: 'action-card', dataset: { actionId: a.id, status: a.status } },
      h('h3', null, a.title),
      a.description ? h('p', { class: 'action-desc' }, a.description) : null,
      facts, effect, buttons);
  };

  const cards = new Map();
  const column = (status, list) => h('section', { class: 'board-col', dataset: { status }, 'aria-labelledby': 'col-' + status },
    h('h2', { id: 'col-' + status }, t('actions.status.' + status), h('span', { class: 'sub' }, '(' + list.length + ')')),
    list.length ? list.map((a) => { const c = card(a); cards.set(a.id, c); return c; }) : h('p', { class: 'empty' }, t('actions.none')));
  const board = h('div', { class: 'board', id: 'action-board' },
    COLUMNS.map((s) => column(s, items.filter((a) => a.status === s))));
  main.append(board);
  const cancelled = items.filter((a) => a.status === 'cancelled');
  main.append(h('details', { class: 'panel board-cancelled', id: 'actions-cancelled' },
    h('summary', null, t('actions.status.cancelled') + ' (' + cancelled.length + ')'),
    cancelled.map((a) => { const c = card(a); cards.set(a.id, c); return c; })));

  // the effects, four at a time; the board does not wait for them
  const queue = items.filter((a) => a.touchpoint_id || a.journey_id || a.team_id);
  for (const a of items) if (!queue.includes(a)) cards.get(a.id)?.querySelector('.effect-box')?.replaceChildren(effectLine(null));
  const worker = async () => {
    while (queue.length) {
      const a = queue.shift();
      const box = cards.get(a.id)?.querySelector('.effect-box');
      const r = await settled(api('/actions/' + a.id + '/effect'));
      if (!ctx.alive()) return;
      if (!box) continue;
      delete box.dataset.loading;
      box.replaceChildren(r.ok ? effectLine(r.value) : h('p', { class: 'effect hint', dataset: { verdict: 'error' } }, t('actions.effect.unavailable')));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

function newActionForm({ user, J, T, U, people, ctx, msg }) {
  const titleIn = h('input', { type: 'text', name: 'title', required: true, maxlength: '200' });
  const descIn = h('textarea', { name: 'description', rows: '2', maxlength: '4000' });
  const themeIn = h('input', { type: 'text', name: 'theme', maxlength: '200' });
  const ownerSel = select([...people.entries()].map(([id, name]) => ({ value: id, label: name })), user.id, { name: 'owner_id' });
  const startIn = h('input', { type: 'date', name: 'start_date', value: todayIso(), required: true });
  const deadlineIn = h('input', { type: 'date', name: 'deadline' });
  const journeySel = select([{ value: '', label: t('actions.none.pick') }, ...[...J.values()].map((j) => ({ value: j.id, label: j.name }))], '', { name: 'journey_id' });
  const tpOptions = (jid) => [{ value: '', label: t('actions.none.pick') },
    ...[...T.values()].filter((x) => !jid || x.journey_id === Number(jid)).map((x) => ({ value: x.id, label: x.name }))];
  const tpSel = select(tpOptions(''), '', { name: 'touchpoint_id' });
  journeySel.addEventListener('change', () => {
    const keep = tpSel.value;
    tpSel.replaceChildren(...select(tpOptions(journeySel.value), keep).children);
  });
  // a team lead's actions are their team's; others pick (or, directors and
  // admins, leave it to the organisation)
  let teamOpts = [...U.values()].filter((x) => x.kind === 'team' || x.kind === 'department');
  if (user.role === 'team_lead') teamOpts = [{ id: user.unit_id, name: U.get(user.unit_id)?.name || '#' + user.unit_id }];
  else if (user.role === 'manager') teamOpts = [...U.values()].filter((x) => x.id === user.unit_id || x.parent_id === user.unit_id);
  const global = user.role === 'director' || user.role === 'admin';
  const teamSel = select([...(global ? [{ value: '', label: t('actions.team.none') }] : []), ...teamOpts.map((x) => ({ value: x.id, label: x.name }))],
    user.role === 'team_lead' || user.role === 'manager' ? user.unit_id : '', { name: 'team_id' });
  const err = h('p', { class: 'error-text', role: 'alert', hidden: true });
  const form = h('form', { id: 'action-form', class: 'action-form' },
    field(t('actions.field.title'), titleIn),
    field(t('actions.field.description'), descIn),
    h('div', { class: 'form-row' },
      field(t('actions.owner'), ownerSel), field(t('actions.start'), startIn), field(t('actions.deadline'), deadlineIn)),
    h('div', { class: 'form-row' },
      field(t('actions.journey'), journeySel), field(t('actions.touchpoint'), tpSel), field(t('actions.team'), teamSel),
      field(t('actions.theme'), themeIn)),
    h('p', { class: 'hint' }, t('actions.form.hint')),
    err,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('actions.create'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const num = (s) => (s.value ? Number(s.value) : null);
    const body = { title: titleIn.value.trim(), owner_id: Number(ownerSel.value), start_date: startIn.value };
    if (descIn.value.trim()) body.description = descIn.value.trim();
    if (themeIn.value.trim()) body.theme = themeIn.value.trim();
    if (deadlineIn.value) body.deadline = deadlineIn.value;
    for (const [k, s] of [['journey_id', journeySel], ['touchpoint_id', tpSel], ['team_id', teamSel]]) if (num(s) !== null) body[k] = num(s);
    try {
      const a = await api('/actions', { method: 'POST', body });
      flash = t('actions.created', { title: a.title });
      announce(flash);
      ctx.navigate(location.hash || '#/actions');
    } catch (e) {
      err.hidden = false;
      if (e.status === 403) err.textContent = t('error.forbidden'); else showError(err, e);
    }
  });
  const box = h('details', { class: 'panel action-new', id: 'action-new' },
    h('summary', null, t('actions.new')), form);
  return box;
}
