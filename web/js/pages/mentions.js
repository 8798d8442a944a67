// pages/mentions.js — reviews and posts ("mentions", issue 16 H3 on H1's
// API): #/mentions for team leads and up. Filters on source, location,
// theme, sentiment and period (in the address, so a view can be shared);
// the measures per source and per month from GET /mentions/summary —
// average rating on 0–10, share 4–5 stars, sentiment — and NEVER an NPS:
// stars are not a recommendation question, so they are kept apart from the
// survey figures everywhere; the list (GET /mentions, paged), each item with
// its rating in its own scale and normalised to 0–10, text, author, where,
// its link; for admins a reply: a draft kept, or the reply as published
// recorded (PUT /mentions/ID/reply).
//
// Also used elsewhere: mentionItem (the verbatim explorer shows mentions in
// its list) and teamMentionsPanel (the team page, beside the survey NPS).
// renderOne (issue 16 H7) is #/mention/ID: one mention with its reply, the
// page a customer's timeline links to.

import { api, errorText } from '../api.js';
import { h, field, select, clear, announce, append } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNumber, fmtPct, fmtInt, fmtDate, fmtDateTime, fmtPeriod } from '../format.js';
import { panel, errorNotice, periodOptions, periodLabel } from '../widgets.js';
import { themeLabels, themeLabel } from './themes.js';

const PAGE = 20;
const SENTIMENTS = ['negative', 'neutral', 'positive'];
const FILTERS = ['source', 'location', 'unit_id', 'theme', 'sentiment', 'period'];

// A whole period (YYYY, YYYY-Qn, YYYY-MM) as the list's from/to days.
export function periodRange(p) {
  let r = /^(\d{4})$/.exec(p || '');
  if (r) return { from: r[1] + '-01-01', to: (+r[1] + 1) + '-01-01' };
  r = /^(\d{4})-Q([1-4])$/.exec(p || '');
  const day = (y, m) => y + '-' + String(m).padStart(2, '0') + '-01';
  if (r) {
    const m = (+r[2] - 1) * 3 + 1;
    return { from: day(+r[1], m), to: m === 10 ? day(+r[1] + 1, 1) : day(+r[1], m + 3) };
  }
  r = /^(\d{4})-(\d{2})$/.exec(p || '');
  if (r) return { from: day(+r[1], +r[2]), to: +r[2] === 12 ? day(+r[1] + 1, 1) : day(+r[1], +r[2] + 1) };
  return {};
}

// "4 / 5" in the source's own scale, and "7,5 / 10" normalised.
function ratingTexts(v) {
  if (v.rating === null || v.rating === undefined) return null;
  const own = t('mn.rating.own', { r: fmtNumber(v.rating, lang(), Number.isInteger(v.rating) ? 0 : 1),
    max: fmtNumber(v.scale_max, lang(), Number.isInteger(v.scale_max) ? 0 : 1) });
  const norm = t('mn.rating.norm', { r: fmtNumber(v.rating10, lang(), 1) });
  return { own, norm };
}

function sentimentBadge(label) {
  if (!label) return null;
  return h('span', { class: 'sentiment sentiment-' + label, dataset: { sentiment: label } },
    t('verbatim.sentiment', { s: t('sentiment.' + label).toLowerCase() }));
}

// One mention as a list item (the mentions page and the verbatim explorer).
// v: a mention of GET /mentions or an explorer item of GET /verbatims.
export function mentionItem(v, { reply = null } = {}) {
  const id = v.mention_id ?? v.id;
  const when = v.created_at ?? v.received_at;
  const r = ratingTexts(v);
  const where = v.unit?.name ?? v.team?.name ?? v.location ?? null;
  return h('li', { class: 'verbatim mention', dataset: { mentionId: id, source: v.source } },
    v.title ? h('p', { class: 'mention-title' }, h('strong', { lang: v.language || null }, v.title)) : null,
    v.text ? h('blockquote', { class: 'verbatim-text', lang: v.language || null }, v.text) : null,
    h('div', { class: 'meta' },
      h('span', { class: 'badge mention-source' }, t('mn.source.named', { s: v.source })),
      r ? h('span', { class: 'mention-rating', dataset: { rating: v.rating, rating10: v.rating10 } },
        h('span', { class: 'rating-own' }, r.own), ' ', h('span', { class: 'rating-norm hint' }, '(' + r.norm + ')')) : null,
      v.author ? h('span', { class: 'mention-author' }, v.author) : null,
      where ? h('span', { class: 'v-team' }, where) : null,
      h('time', { datetime: when }, fmtDate(when, lang())),
      sentimentBadge(v.analysis?.sentiment?.label),
      v.url && /^https?:\/\//.test(v.url) ? h('a', { href: v.url, target: '_blank', rel: 'noopener noreferrer', class: 'mention-link' },
        t('mn.open', { s: v.source })) : null),
    reply);
}

// ---- the measures ------------------------------------------------------------------------

function cell(m, text) {
  return h('td', { class: 'num' }, m === null || m === undefined ? h('span', { class: 'hint' }, t('mn.too_few')) : text);
}

function measureRow(g, keyText) {
  const r = g.rating10, s = g.share_4_5, se = g.sentiment;
  const range = (lo, hi, f) => (lo === null || lo === undefined ? '' : ' (' + f(lo) + '–' + f(hi) + ')');
  const num = (x) => fmtNumber(x, lang(), 1);
  const pct = (x) => fmtPct(x, lang());
  return h('tr', { dataset: { key: String(g.key) } },
    h('th', { scope: 'row' }, keyText),
    h('td', { class: 'num' }, fmtInt(g.n, lang())),
    cell(r, r ? num(r.mean) + range(r.low, r.high, num) : ''),
    cell(s, s ? pct(s.p) + range(s.low, s.high, pct) : ''),
    cell(se, se ? SENTIMENTS.slice().reverse().map((k) => t('sentiment.' + k) + ' ' + pct(se[k])).join(' · ') : ''));
}

function measuresTable(res, id, keyText, caption) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', id },
    h('caption', null, caption),
    h('thead', null, h('tr', null, [t('mn.col.group'), t('mn.col.n'), t('mn.col.rating10'), t('mn.col.share45'), t('mn.col.sentiment')]
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, (res.groups || []).map((g) => measureRow(g, keyText(g))))));  // the wrap scrolls on a phone
}

// The team page (issue 16 H3): the mentions linked to the unit, with their
// own measures beside the survey NPS — never mixed into it.
export async function teamMentionsPanel(team, period) {
  const range = periodRange(period);
  const [sum, list] = await Promise.all([
    api('/mentions/summary', { query: { unit_id: team.id, ...range } }),
    api('/mentions', { query: { unit_id: team.id, ...range, limit: 3 } })]);
  const g = (sum.groups || [])[0];
  const box = panel(t('mn.team.title'), t('mn.team.sub'), h('p', { class: 'hint' }, t('mn.never_nps')));
  box.id = 'team-mentions-panel';
  if (!g || !g.n) {
    box.append(h('p', { class: 'empty' }, t('mn.team.none')));
    return box;
  }
  box.append(measuresTable(sum, 'team-mentions-measures', () => team.name, t('mn.team.caption', { min: sum.min_n })),
    h('ul', { class: 'verbatims', id: 'team-mentions-list' }, (list.items || []).map((v) => mentionItem(v))),
    h('p', null, h('a', { href: '#/mentions?unit_id=' + team.id + (period ? '&period=' + encodeURIComponent(period) : '') },
      t('mn.team.all', { n: fmtInt(list.total ?? g.n, lang()) }))));
  return box;
}

// ---- the reply (admins) ------------------------------------------------------------------

function replyBox(m, onSaved, note = '') {
  const msg = h('p', { class: 'hint', role: 'status' }, note);
  const rep = m.reply || {};
  const text = h('textarea', { name: 'reply', rows: 3, maxlength: 10000, dataset: { reply: m.id } }, rep.draft ?? '');
  const draft = h('button', { type: 'button', class: 'btn btn-secondary btn-small', dataset: { draft: m.id } }, t('mn.reply.draft'));
  const record = h('button', { type: 'button', class: 'btn btn-small', dataset: { record: m.id } }, t('mn.reply.record'));
  const send = async (body, done) => {
    draft.disabled = record.disabled = true;
    try {
      const saved = await api('/mentions/' + m.id + '/reply', { method: 'PUT', body });
      announce(done);
      onSaved(saved, done);  // the box is drawn anew from the saved mention, with the message
    } catch (err) {
      msg.className = 'error-text';
      msg.setAttribute('role', 'alert');
      msg.textContent = t('mn.reply.failed') + ' ' + errorText(err);
    } finally {
      draft.disabled = record.disabled = false;
    }
  };
  draft.addEventListener('click', () => send({ draft: text.value }, t('mn.reply.drafted')));
  record.addEventListener('click', () => {
    if (!text.value.trim()) {
      msg.className = 'error-text';
      msg.textContent = t('mn.reply.empty');
      return;
    }
    send({ text: text.value, recorded: true }, t('mn.reply.recorded'));
  });
  return h('details', { class: 'mention-reply', open: Boolean(rep.draft) || Boolean(note) },
    h('summary', null, rep.text ? t('mn.reply.again') : t('mn.reply.write')),
    field(t('mn.reply.label'), text, t('mn.reply.hint')), h('div', { class: 'form-actions' }, draft, record), msg);
}

function recordedReply(m) {
  const rep = m.reply || {};
  if (!rep.text) return null;
  return h('div', { class: 'mention-replied', dataset: { replied: 'true' } },
    h('p', { class: 'hint' }, t('mn.reply.published', { when: fmtDateTime(rep.at, lang()) })),
    h('blockquote', null, rep.text));
}

function itemWithReply(m, isAdmin) {
  const holder = h('div');
  const li = mentionItem(m, { reply: holder });
  const fill = (cur, note) => {
    append(clear(holder), [recordedReply(cur), isAdmin ? replyBox(cur, (saved, done) => fill(saved, done), note) : null]);
  };
  fill(m);
  return li;
}

// ---- one mention (issue 16 H7) -------------------------------------------------------------

// #/mention/ID: the mention as in the list, with its reply (the form for
// admins). GET /mentions/{id} decides who may read it (a team lead only
// their units': 403, shown as the API's message).
export async function renderOne(main, ctx) {
  const id = Number(ctx.args[0]);
  main.append(h('h1', null, t('mn.one.title', { id: Number.isInteger(id) ? id : '?' })));
  main.append(h('p', null, h('a', { href: '#/mentions', id: 'mn-all' }, t('mn.one.all'))));
  let m;
  try {
    m = await api('/mentions/' + (Number.isInteger(id) && id > 0 ? id : 0));
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  main.append(h('p', { class: 'hint' }, t('mn.never_nps')),
    h('ul', { class: 'verbatims', id: 'mn-one' }, itemWithReply(m, ctx.user.role === 'admin')));
}

// ---- the page ----------------------------------------------------------------------------

export async function render(main, ctx) {
  const user = ctx.user;
  const isAdmin = user.role === 'admin';
  const global = user.role === 'director' || user.role === 'admin';
  main.append(h('h1', null, t('mn.title')));
  main.append(h('p', { class: 'hint', id: 'mn-never-nps' }, t('mn.never_nps')));
  const cur = {};
  for (const k of FILTERS) cur[k] = ctx.query.get(k) || '';

  const [bySourceAll, locations, labels] = await Promise.all([
    api('/mentions/summary', { query: { group_by: 'source' } }).catch(() => ({ groups: [] })),
    global ? api('/mention-locations').then((r) => r.items || []).catch(() => []) : Promise.resolve([]),
    themeLabels().catch(() => new Map()),
  ]);
  if (!ctx.alive()) return;

  const sources = (bySourceAll.groups || []).map((g) => String(g.key));
  if (cur.source && !sources.includes(cur.source)) sources.push(cur.source);
  const sourceIn = select([{ value: '', label: t('mn.source.any') }, ...sources.map((s) => ({ value: s, label: s }))], cur.source,
    { name: 'source', id: 'mn-source' });
  let locIn;
  if (locations.length) {
    const opts = [{ value: '', label: t('mn.location.any') }, ...locations.map((l) => ({ value: l.location,
      label: l.location + (l.unit_name ? ' (' + l.unit_name + ')' : '') }))];
    if (cur.location && !locations.some((l) => l.location === cur.location)) opts.push({ value: cur.location, label: cur.location });
    locIn = select(opts, cur.location, { name: 'location', id: 'mn-location' });
  } else {
    locIn = h('input', { type: 'text', name: 'location', id: 'mn-location', value: cur.location, autocomplete: 'off' });
  }
  const themeOpts = [{ value: '', label: t('verbatims.theme.any') },
    ...[...labels.keys()].map((id) => ({ value: id, label: themeLabel(labels, id) }))
      .sort((a, b) => a.label.localeCompare(b.label, lang(), { sensitivity: 'base' }))];
  if (cur.theme && !labels.has(cur.theme)) themeOpts.push({ value: cur.theme, label: cur.theme });
  const themeIn = select(themeOpts, cur.theme, { name: 'theme', id: 'mn-theme' });
  const sentIn = select([{ value: '', label: t('verbatims.sentiment.any') }, ...SENTIMENTS.map((s) => ({ value: s, label: t('sentiment.' + s) }))],
    cur.sentiment, { name: 'sentiment', id: 'mn-sentiment' });
  const popts = periodOptions();
  if (cur.period && !popts.some((o) => o.value === cur.period)) popts.push({ value: cur.period, label: periodLabel(cur.period) });
  const periodIn = select(popts, cur.period, { name: 'period', id: 'mn-period' });
  const form = h('form', { class: 'panel verbatim-filters', role: 'search', id: 'mn-form' },
    h('div', { class: 'form-row' }, field(t('mn.source'), sourceIn), field(t('mn.location'), locIn),
      field(t('verbatims.theme'), themeIn), field(t('verbatims.sentiment'), sentIn), field(t('period'), periodIn)),
    cur.unit_id ? h('p', { class: 'hint', id: 'mn-unit' }, t('mn.unit.filter', { id: cur.unit_id })) : null,
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn' }, t('verbatims.apply')),
      h('button', { type: 'reset', class: 'btn btn-secondary' }, t('verbatims.reset'))));
  main.append(form);

  const sums = h('div', { class: 'grid grid-2', id: 'mn-summaries' });
  const status = h('p', { role: 'status', id: 'mn-count', class: 'hint' });
  const list = h('ul', { class: 'verbatims', id: 'mn-list' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', id: 'mn-more', hidden: true }, t('verbatims.more'));
  const results = h('section', { class: 'panel', 'aria-labelledby': 'mn-count' }, h('h2', null, t('mn.list')), status, list,
    h('div', { class: 'form-actions' }, more));
  main.append(sums, results);

  let filters = { ...cur }, offset = 0;
  const query = () => {
    const q = { ...periodRange(filters.period) };
    for (const k of ['source', 'location', 'unit_id', 'theme', 'sentiment']) if (filters[k]) q[k] = filters[k];
    return q;
  };

  async function loadSummaries() {
    clear(sums);
    try {
      const [bySource, byMonth] = await Promise.all([
        api('/mentions/summary', { query: { ...query(), group_by: 'source' } }),
        api('/mentions/summary', { query: { ...query(), group_by: 'month' } })]);
      if (!ctx.alive()) return;
      sums.append(panel(t('mn.by_source'), null,
        measuresTable(bySource, 'mn-by-source', (g) => g.label ?? String(g.key), t('mn.by_source') + '. ' + t('mn.caption', { min: bySource.min_n }))),
      panel(t('mn.by_month'), null,
        measuresTable(byMonth, 'mn-by-month', (g) => fmtPeriod(String(g.key), lang()), t('mn.by_month') + '. ' + t('mn.caption', { min: byMonth.min_n }))));
    } catch (err) {
      if (ctx.alive()) sums.append(errorNotice(err));
    }
  }

  async function load(reset) {
    if (reset) {
      list.replaceChildren();
      offset = 0;
    }
    results.setAttribute('aria-busy', 'true');
    more.disabled = true;
    try {
      const res = await api('/mentions', { query: { ...query(), limit: PAGE, offset } });
      if (!ctx.alive()) return;
      for (const m of res.items) list.append(itemWithReply(m, isAdmin));
      offset += res.items.length;
      more.hidden = offset >= res.total;
      status.textContent = res.total ? t('mn.count', { n: fmtInt(offset, lang()), total: fmtInt(res.total, lang()) }) : t('mn.none');
      status.dataset.count = String(offset);
      status.dataset.total = String(res.total);
    } catch (err) {
      if (!ctx.alive()) return;
      list.replaceChildren(h('li', null, errorNotice(err)));
      status.textContent = '';
      more.hidden = true;
    } finally {
      results.setAttribute('aria-busy', 'false');
      more.disabled = false;
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    filters = { source: sourceIn.value, location: locIn.value.trim(), unit_id: filters.unit_id, theme: themeIn.value,
      sentiment: sentIn.value, period: periodIn.value };
    ctx.setQuery(filters);
    await Promise.all([loadSummaries(), load(true)]);
    announce(status.textContent);
  });
  form.addEventListener('reset', () => {
    setTimeout(() => {
      for (const el of [sourceIn, locIn, themeIn, sentIn, periodIn]) el.value = '';
      filters.unit_id = '';
      document.getElementById('mn-unit')?.remove();
      form.requestSubmit();
    }, 0);
  });
  more.addEventListener('click', () => load(false));
  await Promise.all([loadSummaries(), load(true)]);
}
