// pages/response.js — one response, reached from a wall or the verbatim
// explorer. Directors and admins read it whole (GET /api/v1/responses/{id});
// other roles see the item as it was listed (kept for this visit in
// sessionStorage), since the server gives them no single-response route.
// When the list showed the answer with its band only (the organisation's
// setting verbatim_detail), this page shows no more of its scores either.
// Team leads and up also see the case the answer is in (issue 13), linked.

import { api } from '../api.js';
import { h } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDate } from '../format.js';
import { seenVerbatim, scoreBadge, bandBadge, errorNotice } from '../widgets.js';

function row(label, value) {
  if (value === null || value === undefined || value === '') return null;
  return [h('dt', null, label), h('dd', null, value)];
}

export async function render(main, ctx) {
  const l = lang();
  const id = Number(ctx.args[0]);
  main.append(h('h1', null, t('response.title', { id: Number.isFinite(id) ? id : '?' })));
  main.append(h('p', null, h('a', { href: '#/', onclick: (ev) => { ev.preventDefault(); history.back(); } }, '\u2190 ' + t('response.back'))));
  const seen = seenVerbatim(id);
  const global = ctx.user.role === 'director' || ctx.user.role === 'admin';
  let full = null;
  if (global) {
    try {
      full = await api('/responses/' + id);
    } catch (err) {
      if (!ctx.alive()) return;
      if (!seen) {
        main.append(errorNotice(err));
        return;
      }
    }
  }
  if (!ctx.alive()) return;
  if (!full && !seen) {
    main.append(h('p', { class: 'notice' }, t('response.unavailable')));
    return;
  }
  if (!full) main.append(h('p', { class: 'hint' }, t('response.unavailable')));
  const bandOnly = Boolean(seen && !('nps' in seen));
  const a = full && !bandOnly ? full.answers || {}
    : { nps: seen.nps, grade: seen.grade, open: full ? full.answers?.open : seen.text };
  const drivers = full && a.drivers ? Object.entries(a.drivers) : [];
  const dl = h('dl', { class: 'response-facts' },
    row(t('nps'), a.nps !== null && a.nps !== undefined ? scoreBadge(a.nps) : null),
    row(t('verbatims.band'), bandOnly && seen.band ? bandBadge(seen.band) : null),
    row(t('grade'), a.grade ?? null),
    row(t('ces'), a.ces ?? null),
    row(t('response.received'), fmtDate(full ? full.received_at : seen.received_at, l)),
    row(t('response.touchpoint'), seen?.touchpoint?.name ?? (full ? '#' + full.touchpoint_id : null)),
    row(t('response.team'), seen?.team?.name ?? (full?.team_id ? '#' + full.team_id : null)),
    row(t('response.employee'), seen?.employee?.name ?? null),
    row(t('response.channel'), full?.channel ?? null),
    row(t('response.language'), full?.language ?? seen?.language ?? null),
    // issue 16: the customer's timeline (full is only read by directors and admins, its roles)
    row(t('timeline.link'), full?.customer_id ? h('a', { href: '#/customer/' + full.customer_id, id: 'response-timeline-link' }, '#' + full.customer_id) : null));
  const cases = ctx.user.role === 'employee' ? null
    : await api('/cases', { query: { response_id: id } }).then((r) => r.items || [], () => null);
  if (!ctx.alive()) return;
  main.append(h('section', { class: 'panel', id: 'response-detail', dataset: { responseId: id } },
    a.open ? h('blockquote', { class: 'verbatim-text', lang: full?.language || seen?.language || null }, a.open) : null,
    dl,
    drivers.length ? h('div', null, h('h2', null, t('response.drivers')),
      h('ul', null, drivers.map(([k, v]) => h('li', null, k + ': ' + v)))) : null,
    cases && cases.length ? h('div', { id: 'response-cases' }, h('h2', null, t('response.cases')),
      h('ul', null, cases.map((c) => h('li', { dataset: { caseId: c.id } },
        h('a', { href: '#/case/' + c.id }, t('response.case', { id: c.id })), ' · ' + (c.reason || ''))))) : null));
}
