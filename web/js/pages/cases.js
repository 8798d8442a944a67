// pages/cases.js — the case inbox of the closed loop: "my cases" and the
// team's cases (the server narrows "team" to the caller's unit), filtered
// by status, overdue and escalated, paged by next_cursor; above it the case figures
// (open, overdue, SLA, time to first contact and to close) and the root
// causes as a Pareto chart with its table twin.
//
// "My cases" is the inbox (GET /cases?inbox=me, issue 13): the open cases
// I own, those escalated to me and the queue of my unit, overdue first in
// the server's order — a manager lands on what needs them.
//
// Route: #/cases?view=mine|team&status=open|new|contacted|resolved|closed|all&overdue=1&escalated=1&team_id=

import { api } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtInt, fmtPct, fmtHours, fmtDateTime } from '../format.js';
import { paretoChart } from '../charts.js';
import { panel, chartPanel, errorNotice } from '../widgets.js';

export const CASE_STATUSES = ['new', 'contacted', 'resolved', 'closed'];
export const ROOT_CAUSES = ['wait_time', 'communication', 'staff', 'product', 'price', 'billing', 'delivery', 'process', 'other'];
const STATUS_FILTERS = ['open', 'new', 'contacted', 'resolved', 'closed', 'all'];
const PAGE = 25;  // rows per call; ?limit=N (1..100) in the address for another page size

export function rootCauseLabel(rc) {
  if (rc === null || rc === undefined || rc === '') return t('case.root.none');
  const key = 'case.root.' + rc;
  const s = t(key);
  return s === key ? String(rc) : s;
}

export function statusBadge(status) {
  return h('span', { class: 'badge case-status status-' + status, dataset: { status } }, t('case.status.' + status));
}

// The deadline with an overdue mark in words (never colour alone).
export function deadlineCell(c) {
  const l = lang();
  const parts = [h('time', { datetime: c.deadline || '' }, fmtDateTime(c.deadline, l))];
  if (c.overdue) parts.push(' ', h('span', { class: 'badge overdue', dataset: { overdue: 'true' } }, t('case.overdue')));
  return h('span', { class: 'deadline' }, parts);
}

export function ownerText(c) {
  if (c.owner_user_id === null || c.owner_user_id === undefined) return t('case.queue');
  return c.owner_name || '#' + c.owner_user_id;
}

async function teamsInReach(user) {
  if (user.role === 'team_lead') return [];
  const query = user.role === 'manager' ? { parent_id: user.unit_id, limit: 500 } : { kind: 'team', limit: 500 };
  try {
    const res = await api('/teams', { query });
    return res.items.filter((x) => x.kind === 'team').map((x) => ({ id: x.id, name: x.name }));
  } catch {
    return [];
  }
}

// ---- the figures --------------------------------------------------------------------------

function statCard(key, value, sub) {
  return h('section', { class: 'kpi case-stat', dataset: { stat: key } },
    h('h3', null, t('cases.stat.' + key)),
    h('p', { class: 'kpi-value' }, value),
    sub ? h('p', { class: 'kpi-n' }, sub) : null);
}

function hoursCard(key, block) {
  const l = lang();
  const b = block || {};
  const card = statCard(key, b.median === null || b.median === undefined ? '–' : t('hours', { h: fmtHours(b.median, l) }),
    t('cases.stat.p90', { h: b.p90 === null || b.p90 === undefined ? '–' : fmtHours(b.p90, l), n: fmtInt(b.n ?? 0, l) }));
  card.dataset.median = b.median ?? '';
  card.dataset.p90 = b.p90 ?? '';
  card.dataset.n = b.n ?? 0;
  return card;
}

function paretoTable(rows) {
  const l = lang();
  return h('div', { class: 'table-wrap' }, h('table', { class: 'pareto-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('case.root_cause')),
      h('th', { scope: 'col', class: 'num' }, t('cases.col.n')),
      h('th', { scope: 'col', class: 'num' }, t('cases.col.share')),
      h('th', { scope: 'col', class: 'num' }, t('cases.col.cumulative')))),
    h('tbody', null, rows.map((r) => h('tr', { dataset: { rootCause: r.root_cause ?? '' } },
      h('th', { scope: 'row' }, rootCauseLabel(r.root_cause)),
      h('td', { class: 'num', dataset: { col: 'n', value: r.n } }, fmtInt(r.n, l)),
      h('td', { class: 'num' }, fmtPct(r.share, l)),
      h('td', { class: 'num' }, fmtPct(r.cumulative_share, l)))))));
}

function statsPanel(s) {
  const l = lang();
  const sla = s.sla || {};
  const slaCard = statCard('sla', sla.rate === null || sla.rate === undefined ? '–' : fmtPct(sla.rate, l),
    t('cases.stat.sla.sub', { met: fmtInt(sla.met ?? 0, l), due: fmtInt(sla.due ?? 0, l) }));
  slaCard.dataset.rate = sla.rate ?? '';
  const open = statCard('open', fmtInt(s.open ?? 0, l), null);
  open.dataset.value = s.open ?? 0;
  const overdue = statCard('overdue', fmtInt(s.overdue ?? 0, l), null);
  overdue.dataset.value = s.overdue ?? 0;
  const bs = s.by_status || {};
  const box = h('div', { id: 'case-stats-body' },
    h('div', { class: 'kpis' }, open, overdue, slaCard,
      hoursCard('first_contact', s.time_to_first_contact_hours),
      hoursCard('close', s.time_to_close_hours)),
    h('p', { class: 'hint', id: 'case-by-status' },
      CASE_STATUSES.map((st) => t('case.status.' + st) + ': ' + fmtInt(bs[st] ?? 0, l)).join(' · ')));
  const rows = s.root_causes || [];
  if (rows.length === 0) {
    box.append(panel(t('cases.pareto'), null, h('p', { class: 'empty' }, t('cases.pareto.none'))));
  } else {
    box.append(h('div', { id: 'case-pareto' }, chartPanel(t('cases.pareto'),
      (el) => paretoChart(el, rows.map((r) => ({ label: rootCauseLabel(r.root_cause), n: r.n, cumulative: r.cumulative_share })),
        { barName: t('cases.col.n'), lineName: t('cases.col.cumulative') }),
      paretoTable(rows), { note: t('cases.pareto.note') })));
  }
  return box;
}

// ---- the list ---------------------------------------------------------------------------------

function priorityBadge(c) {
  if (!c.priority || c.priority === 'normal') return null;
  return h('span', { class: 'badge priority priority-' + c.priority, dataset: { priority: c.priority } }, t('case.priority.' + c.priority));
}

function caseRow(c) {
  const l = lang();
  // data-label: the column name, shown beside the value on a phone (CSS)
  const td = (col, label, ...kids) => h('td', { dataset: { col, label: t(label) } }, ...kids);
  return h('tr', { dataset: { caseId: c.id, status: c.status, overdue: c.overdue ? 'true' : 'false' }, class: c.overdue ? 'is-overdue' : null },
    td('id', 'cases.col.id', h('a', { href: '#/case/' + c.id }, '#' + c.id)),
    td('customer', 'cases.col.customer', c.customer_name || (c.customer_id ? '#' + c.customer_id : t('case.customer.unknown'))),
    td('reason', 'cases.col.reason', c.reason || '', c.priority && c.priority !== 'normal' ? ' ' : null, priorityBadge(c),
      c.escalated ? h('span', { class: 'badge escalated', dataset: { escalated: 'true' } }, t('case.escalated')) : null),
    td('status', 'cases.col.status', statusBadge(c.status)),
    td('owner', 'cases.col.owner', ownerText(c)),
    td('deadline', 'cases.col.deadline', deadlineCell(c)),
    td('opened', 'cases.col.opened', h('time', { datetime: c.opened_at || '' }, fmtDateTime(c.opened_at, l))));
}

function caseTable() {
  return h('table', { id: 'case-table' },
    h('caption', { class: 'visually-hidden' }, t('cases.list')),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, t('cases.col.id')),
      h('th', { scope: 'col' }, t('cases.col.customer')),
      h('th', { scope: 'col' }, t('cases.col.reason')),
      h('th', { scope: 'col' }, t('cases.col.status')),
      h('th', { scope: 'col' }, t('cases.col.owner')),
      h('th', { scope: 'col' }, t('cases.col.deadline')),
      h('th', { scope: 'col' }, t('cases.col.opened')))),
    h('tbody', null));
}

// The open filter is two lists (new, contacted), each with its own cursor.
function sourcesFor(status) {
  if (status === 'open') return ['new', 'contacted'];
  if (status === 'all') return [''];
  return [status];
}

export async function render(main, ctx) {
  const user = ctx.user;
  const q = ctx.query;
  const view = q.get('view') === 'team' ? 'team' : 'mine';
  const status = STATUS_FILTERS.includes(q.get('status')) ? q.get('status') : 'open';
  const overdue = q.get('overdue') === '1' || q.get('overdue') === 'true';
  const escalated = q.get('escalated') === '1' || q.get('escalated') === 'true';
  // the inbox holds open cases only, in the server's order
  const inbox = view === 'mine';
  const teamId = view === 'team' && q.get('team_id') ? Number(q.get('team_id')) : null;
  main.dataset.view = view;

  main.append(h('h1', null, t('cases.title')));
  const statsQuery = teamId ? { team_id: teamId } : {};
  const statsP = api('/cases/stats', { query: statsQuery }).then((v) => ({ ok: true, value: v }), (error) => ({ ok: false, error }));
  const teams = view === 'team' ? await teamsInReach(user) : [];
  if (!ctx.alive()) return;

  const go = (params) => {
    const next = { view, status, overdue: overdue ? '1' : '', escalated: escalated ? '1' : '', team_id: teamId ?? '', ...params };
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v !== '' && v !== null && v !== undefined) s.set(k, String(v));
    ctx.navigate('#/cases?' + s.toString());
  };

  // the two views, as a pair of toggle buttons
  const views = h('div', { class: 'seg', role: 'group', 'aria-label': t('cases.view') },
    ['mine', 'team'].map((v) => h('button', { type: 'button', class: 'seg-btn', id: 'cases-view-' + v, 'aria-pressed': String(v === view),
      onclick: () => { if (v !== view) go({ view: v, team_id: '' }); } }, t('cases.view.' + v))));
  const statusSel = select(STATUS_FILTERS.map((s) => ({ value: s, label: t('cases.filter.' + s) })), status,
    { name: 'status', id: 'cases-status', onchange: (ev) => go({ status: ev.target.value }) });
  const overdueBox = h('input', { type: 'checkbox', name: 'overdue', id: 'cases-overdue', checked: overdue,
    onchange: (ev) => go({ overdue: ev.target.checked ? '1' : '' }) });
  const escalatedBox = h('input', { type: 'checkbox', name: 'escalated', id: 'cases-escalated', checked: escalated,
    onchange: (ev) => go({ escalated: ev.target.checked ? '1' : '' }) });
  const controls = [views, inbox ? null : field(t('cases.filter.status'), statusSel),
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'cases-overdue' }, overdueBox, t('cases.filter.overdue'))),
    h('div', { class: 'field' }, h('label', { class: 'check', for: 'cases-escalated' }, escalatedBox, t('cases.filter.escalated')))];
  if (view === 'team' && teams.length > 1) {
    controls.push(field(t('cases.filter.team'), select([{ value: '', label: t('cases.filter.team.all') }, ...teams.map((x) => ({ value: x.id, label: x.name }))],
      teamId ?? '', { name: 'team_id', id: 'cases-team', onchange: (ev) => go({ team_id: ev.target.value }) })));
  }
  main.append(h('div', { class: 'page-head' }, h('div', { class: 'controls', id: 'case-filters' }, controls)));

  // figures first (they do not wait for the list), then the list
  const statsBox = h('section', { class: 'panel', id: 'case-stats', 'aria-busy': 'true' },
    h('h2', null, t('cases.stats'), h('span', { class: 'sub' }, teamId ? (teams.find((x) => x.id === teamId)?.name || '') : t('cases.stats.scope'))));
  main.append(statsBox);

  const listBox = h('section', { class: 'panel', id: 'case-list', 'aria-labelledby': 'case-list-title' },
    h('h2', { id: 'case-list-title' }, view === 'mine' ? t('cases.view.mine') : t('cases.view.team')),
    inbox ? h('p', { class: 'hint', id: 'case-inbox-hint' }, t('cases.inbox.hint')) : null);
  main.append(listBox);

  const sources = (inbox ? [''] : sourcesFor(status)).map((s) => ({ status: s, cursor: null, done: false }));
  const want = Number(q.get('limit'));
  const limit = Number.isInteger(want) && want >= 1 && want <= 100 ? want : PAGE;
  const baseQuery = { inbox: inbox ? 'me' : '', team_id: teamId ?? '', overdue: overdue ? 'true' : '',
    escalated: escalated ? 'true' : '', limit };
  const seen = new Map();
  const table = caseTable();
  const tbody = table.querySelector('tbody');
  const count = h('p', { class: 'hint', id: 'case-count', role: 'status' });
  const empty = h('p', { class: 'empty', id: 'case-empty', hidden: true }, t('cases.none'));
  const more = h('button', { type: 'button', class: 'btn btn-secondary', id: 'case-more', hidden: true }, t('cases.more'));
  listBox.append(count, empty, h('div', { class: 'table-wrap' }, table), h('div', { class: 'form-actions' }, more));

  const loadPage = async () => {
    const pages = await Promise.all(sources.filter((s) => !s.done).map(async (s) => {
      const res = await api('/cases', { query: { ...baseQuery, status: s.status, cursor: s.cursor ?? '' } });
      s.cursor = res.next_cursor ?? null;
      s.done = s.cursor === null;
      return res.items || [];
    }));
    for (const c of pages.flat()) seen.set(c.id, c);
    const rows = inbox ? [...seen.values()] : [...seen.values()].sort((a, b) => a.id - b.id);
    tbody.replaceChildren(...rows.map(caseRow));
    empty.hidden = rows.length > 0;
    table.hidden = rows.length === 0;
    more.hidden = sources.every((s) => s.done);
    count.textContent = t('cases.count', { n: fmtInt(rows.length, lang()) });
    count.dataset.count = String(rows.length);
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      await loadPage();
      announce(count.textContent);
    } catch (err) {
      listBox.append(errorNotice(err));
    }
    more.disabled = false;
  });

  const [stats] = await Promise.all([statsP, loadPage().catch((err) => { table.hidden = true; listBox.append(errorNotice(err)); })]);
  if (!ctx.alive()) return;
  statsBox.setAttribute('aria-busy', 'false');
  statsBox.append(stats.ok ? statsPanel(stats.value) : errorNotice(stats.error));
}
