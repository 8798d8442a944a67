// pages/customer.js — one customer's timeline (issue 16): contacts,
// invitations, answers and cases in time order, newest first, from
// GET /api/v1/customers/{id}/timeline (directors and admins, the roles that
// read customers). Every kind has its own symbol and its name in words
// (never colour alone); answers and cases link to their pages. A kind this
// page does not know yet (mentions, internal events) is shown by the
// server's summary, so a new kind needs no change here to be seen.

import { api } from '../api.js';
import { h } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDate, fmtDateTime } from '../format.js';
import { errorNotice } from '../widgets.js';

const ICONS = { contact: '\u260E', invitation: '\u2709', response: '\u275D', case: '\u2691', opt_out: '\u2298' };
// internal data (issue 16, H4): the organisation's own events and products held
ICONS.event = '\u25C8';
ICONS.holding = '\u25A3';

// mentions (issue 16 H1): a review or social post of the customer
ICONS.mention = '\u2605';

// The event in words: a known kind and event, else the kind, else the summary.
function label(it) {
  const k = 'timeline.ev.' + it.kind + '.' + it.event;
  const s = t(k);
  if (s !== k) return s;
  const kk = 'timeline.kind.' + it.kind;
  const sk = t(kk);
  return sk !== kk ? sk : it.kind;
}

// What the item adds beyond its label, per kind.
function details(it) {
  if (it.kind === 'response') {
    return [h('span', { class: 'timeline-summary' }, it.summary || ''),
      it.open_text ? h('blockquote', { class: 'verbatim-text' }, it.open_text) : null,
      it.analysis?.sentiment ? h('span', { class: 'hint' },
        t('timeline.sentiment', { label: t('timeline.sent.' + it.analysis.sentiment.label) })) : null];
  }
  if (it.kind === 'case' && it.event === 'status') {
    return [h('span', { class: 'timeline-summary' }, t('timeline.status', {
      from: t('timeline.st.' + it.from_status), to: t('timeline.st.' + it.to_status) })),
    it.text ? h('blockquote', { class: 'verbatim-text' }, it.text) : null];
  }
  if (it.kind === 'contact') {
    return h('span', { class: 'timeline-summary' }, [it.touchpoint?.name, it.channel, it.reason].filter(Boolean).join(' \u00b7 '));
  }
  if (it.kind === 'invitation') return h('span', { class: 'timeline-summary' }, it.channel || '');
  // internal data (issue 16, H4): channel and detail; the product and its category
  if (it.kind === 'event') return h('span', { class: 'timeline-summary' }, [it.channel, it.detail].filter(Boolean).join(' \u00b7 '));
  if (it.kind === 'holding') {
    return h('span', { class: 'timeline-summary' }, [it.product?.name, it.product?.category].filter(Boolean).join(' \u00b7 '));
  }
  // mentions (issue 16 H1): the source and rating ("google · 4/5"), title, text; the reply
  if (it.kind === 'mention') {
    return [h('span', { class: 'timeline-summary' }, it.summary || it.source || ''),
      it.title ? h('strong', { class: 'timeline-mention-title' }, ' ' + it.title) : null,
      it.text ? h('blockquote', { class: 'verbatim-text' }, it.text) : null];
  }
  return it.summary ? h('span', { class: 'timeline-summary' }, it.summary) : null;
}

function item(it, l) {
  // issue 16 H7: a mention links to #/mention/ID (pages/mentions.js renderOne)
  const link = it.link && /^#\/(response|case|mention)\/\d+$/.test(it.link)
    ? h('a', { href: it.link }, t('timeline.open.' + (it.kind === 'case' || it.kind === 'mention' ? it.kind : 'response'), { id: it.id }))
    : null;
  return h('li', { class: 'timeline-item', dataset: { kind: it.kind, event: it.event, id: it.id } },
    h('span', { class: 'timeline-icon', 'aria-hidden': 'true' }, (ICONS[it.kind] || '\u2022') + ' '),
    // a product is held from a day (issue 16, H4): the day, not a time
    h('time', { datetime: it.at }, it.kind === 'holding'
      ? fmtDate(it.event === 'started' ? it.since : it.until, l) : fmtDateTime(it.at, l)), ' ',
    h('strong', { class: 'timeline-label' }, label(it)), ' ',
    details(it), link ? [' ', link] : null);
}

export async function render(main, ctx) {
  const l = lang();
  const id = Number(ctx.args[0]);
  main.append(h('h1', null, t('timeline.title')));
  main.append(h('p', null, h('a', { href: '#/', onclick: (ev) => { ev.preventDefault(); history.back(); } }, '\u2190 ' + t('response.back'))));
  let page;
  try {
    page = await api('/customers/' + id + '/timeline');
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  main.querySelector('h1').textContent = t('timeline.title.of', { name: page.customer.name || '#' + page.customer.id });
  const list = h('ol', { class: 'timeline', id: 'timeline', 'aria-label': t('timeline.title') });
  const more = h('button', { type: 'button', id: 'timeline-more' }, t('timeline.more'));
  let next = page.next;
  function add(p) {
    for (const it of p.items || []) list.append(item(it, l));
    next = p.next;
    more.hidden = !next;
  }
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const p = await api('/customers/' + id + '/timeline', { query: { before: next } });
      if (ctx.alive()) add(p);
    } catch (err) {
      if (ctx.alive()) main.append(errorNotice(err));
    }
    more.disabled = false;
  });
  main.append(h('section', { class: 'panel', id: 'customer-timeline', dataset: { customerId: id } },
    page.items.length ? list : h('p', { class: 'hint', id: 'timeline-empty' }, t('timeline.empty')), more));
  add(page);
}
