// pages/suspect.js — answers held by the open-link guard (issue 11). When
// a public open link gets far more answers than usual (a burst), the
// answers beyond the normal rate are stored but count nowhere until an
// admin accepts them here (they are then counted) or rejects them (they
// are deleted). Each burst also sent one alert mail to the admins; the
// table says whether it went out. Admins only (the server checks).
// GET /api/v1/suspect-responses, POST .../accept and .../reject.

import { api } from '../api.js';
import { h, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtInt, fmtDateTime } from '../format.js';
import { errorNotice } from '../widgets.js';

const PAGE = 50;

function limitsLine(l) {
  if (!l) return t('suspect.limits.off');
  const per = (b) => t('suspect.per', { n: b.limit, s: b.window_s });
  return t('suspect.limits', { addr: per(l.addr), link: per(l.link), normal: per(l.normal),
    quiet: Math.round(l.quiet_s / 60) });
}

function scores(a) {
  const parts = [];
  if (a.nps !== null) parts.push('NPS ' + a.nps);
  if (a.grade !== null) parts.push(t('grade') + ' ' + a.grade);
  if (a.ces !== null) parts.push('CES ' + a.ces);
  return parts.join(' · ');
}

export async function render(main, ctx) {
  main.append(h('h1', null, t('suspect.title')));
  main.append(h('p', { class: 'hint' }, t('suspect.intro')));
  const status = h('p', { role: 'status', id: 'suspect-status', class: 'hint' });
  const bursts = h('section', { class: 'panel', 'aria-labelledby': 'suspect-bursts-h' });
  const held = h('section', { class: 'panel', 'aria-labelledby': 'suspect-held-h' });
  main.append(status, bursts, held);
  let cursor = null;
  const burstFilter = ctx.query.get('burst_id') || '';

  async function decide(action, body, what) {
    try {
      const res = await api('/suspect-responses/' + action, { method: 'POST', body });
      announce(t('suspect.done.' + action, { n: fmtInt(res[action === 'accept' ? 'accepted' : 'rejected'], lang()), what }));
      await load();
    } catch (err) {
      status.replaceChildren(errorNotice(err));
    }
  }

  function burstTable(items) {
    const rows = items.map((b) => h('tr', { dataset: { burst: b.id } },
      h('td', null, b.touchpoint.name || '#' + b.touchpoint.id),
      h('td', null, fmtDateTime(b.started_at, lang())),
      h('td', null, fmtDateTime(b.last_at, lang())),
      h('td', { class: 'num' }, fmtInt(b.held, lang())),
      h('td', { class: 'num' }, fmtInt(b.accepted, lang())),
      h('td', { class: 'num' }, fmtInt(b.rejected, lang())),
      h('td', null, t(b.alert_mails.sent > 0 ? 'suspect.alert.sent' : b.alert_mails.queued > 0 ? 'suspect.alert.queued' : 'suspect.alert.none')),
      h('td', null, b.held > 0 ? [
        h('button', { type: 'button', class: 'btn', onclick: () => decide('accept', { burst_id: b.id }, t('suspect.burst', { id: b.id })) }, t('suspect.accept.all')),
        ' ',
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => decide('reject', { burst_id: b.id }, t('suspect.burst', { id: b.id })) }, t('suspect.reject.all')),
      ] : '')));
    return h('table', { class: 'table', id: 'suspect-bursts' },
      h('caption', { class: 'sr' }, t('suspect.bursts')),
      h('thead', null, h('tr', null, ['suspect.col.touchpoint', 'suspect.col.started', 'suspect.col.last',
        'suspect.col.held', 'suspect.col.accepted', 'suspect.col.rejected', 'suspect.col.alert', 'suspect.col.decide']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', null, rows));
  }

  function heldList(items) {
    const boxes = [];
    const list = h('ul', { class: 'verbatims', id: 'suspect-list' }, items.map((it) => {
      const box = h('input', { type: 'checkbox', value: String(it.id), id: 'sus-' + it.id });
      boxes.push(box);
      return h('li', { class: 'verbatim' },
        h('label', { for: 'sus-' + it.id }, box, ' ',
          h('strong', null, scores(it.answers) || t('suspect.noscore')), ' — ',
          fmtDateTime(it.received_at, lang()), ' · ', it.client_addr || '?',
          ' · ', t('suspect.burst', { id: it.burst_id })),
        it.answers.open ? h('p', null, it.answers.open) : '');
    }));
    const chosen = () => boxes.filter((b) => b.checked).map((b) => Number(b.value));
    const act = (action) => () => {
      const ids = chosen();
      if (!ids.length) { announce(t('suspect.none.chosen')); return; }
      decide(action, { ids }, t('suspect.chosen'));
    };
    return [list, h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'btn', id: 'suspect-accept', onclick: act('accept') }, t('suspect.accept.chosen')),
      h('button', { type: 'button', class: 'btn btn-secondary', id: 'suspect-reject', onclick: act('reject') }, t('suspect.reject.chosen')))];
  }

  async function load(next = null) {
    held.setAttribute('aria-busy', 'true');
    try {
      const query = { limit: PAGE };
      if (next) query.cursor = next;
      if (burstFilter) query.burst_id = burstFilter;
      const res = await api('/suspect-responses', { query });
      if (!ctx.alive()) return;
      cursor = res.next_cursor;
      status.textContent = t('suspect.count', { n: fmtInt(res.total, lang()) }) + ' ' + limitsLine(res.limits);
      bursts.replaceChildren(h('h2', { id: 'suspect-bursts-h' }, t('suspect.bursts')),
        res.bursts.length ? burstTable(res.bursts) : h('p', { class: 'hint' }, t('suspect.bursts.none')));
      const more = cursor ? h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => load(cursor) }, t('suspect.more')) : '';
      held.replaceChildren(h('h2', { id: 'suspect-held-h' }, t('suspect.held')),
        ...(res.items.length ? heldList(res.items) : [h('p', { class: 'hint' }, t('suspect.held.none'))]), more);
    } catch (err) {
      status.replaceChildren(errorNotice(err));
    } finally {
      held.setAttribute('aria-busy', 'false');
    }
  }
  await load();
}
