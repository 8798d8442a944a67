// pages/verbatims.js — the verbatim explorer: what customers wrote, newest
// first, filtered by score band, team, touchpoint, language and period, and
// searched as full text (GET /api/v1/verbatims). The filters live in the
// address (#/verbatims?q=...&band=...), so a search can be shared.
// Employees see the comments about themselves (the server decides). What
// others' comments show (exact score, band only, or without the employee)
// is the organisation's setting, said in a line above the list.
// Issue 14: filters on a theme (the list from GET /text/taxonomy, named in
// the UI's language) and on the sentiment; each item says its sentiment in
// words (not by colour alone) and carries its themes as chips. The API
// gives theme ids, not where in the text they stand: nothing is
// highlighted that the server did not say.
// Issue 16 H3: a source filter — survey answers (the default), reviews and
// posts of every source or of one, or both in one list (GET /verbatims
// ?source=); a mention shows as on the mentions page (its own rating
// scale, never a score band).

import { api } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtInt } from '../format.js';
import { verbatimItem, errorNotice } from '../widgets.js';
import { themeLabels, themeLabel } from './themes.js';
import { mentionItem } from './mentions.js';  // issue 16 H3: reviews and posts in the same list

const PAGE = 25;
const FILTERS = ['q', 'band', 'theme', 'sentiment', 'team_id', 'employee_id', 'touchpoint_id', 'language', 'from', 'to', 'source'];
const SENTIMENTS = ['negative', 'neutral', 'positive'];
const SENT_MARK = { negative: '\u25bc', neutral: '\u25cf', positive: '\u25b2' };

// The item's analysis (issue 14): its sentiment in words with a mark, and
// a chip per theme (its clause's sentiment in words, for screen readers
// too), each chip a link to the explorer on that theme.
function analysisOf(v, labels) {
  const a = v.analysis;
  if (a === undefined) return null;  // a server that does not analyse: nothing to say
  if (!a) return h('p', { class: 'v-analysis hint', dataset: { analysed: 'false' } }, t('verbatim.noanalysis'));
  const s = a.sentiment?.label;
  const themes = [];
  const seen = new Set();
  for (const th of a.themes || []) {
    if (seen.has(th.theme)) continue;
    seen.add(th.theme);
    themes.push(th);
  }
  return h('div', { class: 'v-analysis', dataset: { analysed: 'true' } },
    s ? h('span', { class: 'sentiment sentiment-' + s, dataset: { sentiment: s } },
      h('span', { 'aria-hidden': 'true' }, SENT_MARK[s] || ''), ' ', t('verbatim.sentiment', { s: t('sentiment.' + s).toLowerCase() })) : null,
    themes.length ? h('ul', { class: 'theme-chips', 'aria-label': t('verbatim.themes') }, themes.map((th) => h('li', null,
      h('a', { class: 'theme-chip' + (th.sentiment ? ' sent-' + th.sentiment : ''), href: '#/verbatims?theme=' + encodeURIComponent(th.theme),
        dataset: { theme: th.theme, sentiment: th.sentiment ?? '' } },
      themeLabel(labels, th.theme),
      th.sentiment ? h('span', { class: 'chip-sent' }, ' ', h('span', { 'aria-hidden': 'true' }, SENT_MARK[th.sentiment] || ''),
        h('span', { class: 'visually-hidden' }, ' (' + t('sentiment.' + th.sentiment).toLowerCase() + ')')) : null)))) : null);
}

function itemWithAnalysis(v, labels) {
  const li = v.mention_id ? mentionItem(v) : verbatimItem(v);  // issue 16 H3: a mention has its own face
  li.dataset.source = v.source || 'survey';
  const a = v.analysis;
  li.dataset.sentiment = a?.sentiment?.label ?? '';
  li.dataset.themes = [...new Set((a?.themes || []).map((x) => x.theme))].join(' ');
  // after the item's facts, so its own links (the response) come first
  const box = analysisOf(v, labels);
  const meta = li.querySelector('.meta');
  if (box && meta) meta.after(box);
  else if (box) li.append(box);
  return li;
}

async function unitsInReach(user) {
  if (user.role === 'employee') return [];
  if (user.role === 'team_lead') return [];
  const query = user.role === 'manager' ? { parent_id: user.unit_id, limit: 500 } : { limit: 500 };
  const res = await api('/teams', { query });
  return res.items.filter((x) => x.kind !== 'organisation');
}

// The people a lead may filter on: a team lead's team; managers and up
// everyone the list gives (the server refuses anyone outside the unit).
// Employees see only their own comments: no choice.
async function peopleInReach(user) {
  if (user.role === 'employee') return [];
  const query = user.role === 'team_lead' ? { team_id: user.unit_id, limit: 500 } : { limit: 500 };
  return (await api('/employees', { query })).items;
}

function byName(people) {
  return [...people].sort((a, b) => (a.first_name + ' ' + a.last_name).localeCompare(b.first_name + ' ' + b.last_name, lang(), { sensitivity: 'base' }));
}

export async function render(main, ctx) {
  const user = ctx.user;
  main.append(h('h1', null, t('verbatims.title')));
  const current = {};
  for (const k of FILTERS) current[k] = ctx.query.get(k) || '';

  const [units, tps, settings, people, labels] = await Promise.all([
    unitsInReach(user).catch(() => []),
    api('/touchpoints', { query: { limit: 500 } }).then((r) => r.items).catch(() => []),
    api('/settings').catch(() => null),
    peopleInReach(user).catch(() => []),
    themeLabels().catch(() => new Map()),
  ]);
  // issue 16 H3: the sources (survey answers, or reviews and posts by source); employees see no mentions
  const mentionSources = user.role === 'employee' ? null
    : await api('/mentions/summary', { query: { group_by: 'source' } }).then((r) => (r.groups || []).map((g) => String(g.key)), () => null);
  if (!ctx.alive()) return;

  const qIn = h('input', { type: 'search', name: 'q', value: current.q, autocomplete: 'off' });
  const bandIn = select(['', 'promoter', 'passive', 'detractor'].map((b) => ({ value: b, label: t(b ? 'verbatims.band.' + b : 'verbatims.band.any') })), current.band, { name: 'band' });
  const tpIn = select([{ value: '', label: t('verbatims.any') }, ...tps.map((x) => ({ value: x.id, label: x.name }))], current.touchpoint_id, { name: 'touchpoint_id' });
  const langIn = select([{ value: '', label: t('verbatims.any') }, { value: 'nl', label: t('lang.nl') }, { value: 'en', label: t('lang.en') }], current.language, { name: 'language' });
  const fromIn = h('input', { type: 'date', name: 'from', value: current.from });
  const toIn = h('input', { type: 'date', name: 'to', value: current.to });
  // theme and sentiment (issue 14): a theme in the address that the taxonomy no longer has stays choosable
  const themeOpts = [{ value: '', label: t('verbatims.theme.any') },
    ...[...labels.keys()].map((id) => ({ value: id, label: themeLabel(labels, id) }))
      .sort((a, b) => a.label.localeCompare(b.label, lang(), { sensitivity: 'base' }))];
  if (current.theme && !labels.has(current.theme)) themeOpts.push({ value: current.theme, label: current.theme });
  const themeIn = select(themeOpts, current.theme, { name: 'theme', id: 'verbatim-theme' });
  const sentIn = select([{ value: '', label: t('verbatims.sentiment.any') }, ...SENTIMENTS.map((s) => ({ value: s, label: t('sentiment.' + s) }))],
    current.sentiment, { name: 'sentiment', id: 'verbatim-sentiment' });
  const fields = [field(t('verbatims.q'), qIn), field(t('verbatims.band'), bandIn),
    field(t('verbatims.theme'), themeIn), field(t('verbatims.sentiment'), sentIn)];
  let sourceIn = null;  // issue 16 H3
  if (mentionSources) {
    const names = mentionSources.includes(current.source) || ['', 'all', 'mentions', 'survey'].includes(current.source)
      ? mentionSources : mentionSources.concat([current.source]);
    sourceIn = select([{ value: '', label: t('verbatims.source.survey') }, { value: 'all', label: t('verbatims.source.all') },
      { value: 'mentions', label: t('verbatims.source.mentions') }, ...names.map((s) => ({ value: s, label: t('mn.source.named', { s }) }))],
    current.source === 'survey' ? '' : current.source, { name: 'source', id: 'verbatim-source' });
    fields.unshift(field(t('verbatims.source'), sourceIn, t('verbatims.source.hint')));
  }
  let teamIn = null;
  if (units.length) {
    teamIn = select([{ value: '', label: t('verbatims.any') }, ...units.map((x) => ({ value: x.id, label: x.name }))], current.team_id, { name: 'team_id' });
    fields.push(field(t('verbatims.team'), teamIn));
  }
  // by employee (issue 13): the person page's "all comments" lands here
  let empIn = null;
  if (people.length || current.employee_id) {
    const known = people.some((x) => String(x.id) === current.employee_id);
    const opts = [{ value: '', label: t('verbatims.any') }, ...byName(people).map((x) => ({ value: x.id, label: x.first_name + ' ' + x.last_name }))];
    if (current.employee_id && !known) opts.push({ value: current.employee_id, label: '#' + current.employee_id });
    empIn = select(opts, current.employee_id, { name: 'employee_id', id: 'verbatim-employee' });
    fields.push(field(t('verbatims.employee'), empIn));
  }
  fields.push(field(t('verbatims.touchpoint'), tpIn), field(t('verbatims.language'), langIn),
    field(t('verbatims.from'), fromIn), field(t('verbatims.to'), toIn));
  const form = h('form', { class: 'panel verbatim-filters', role: 'search', id: 'verbatim-form' },
    h('div', { class: 'form-row' }, fields),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn' }, t('verbatims.apply')),
      h('button', { type: 'reset', class: 'btn btn-secondary' }, t('verbatims.reset'))));
  main.append(form);
  if (user.role === 'employee') main.append(h('p', { class: 'hint' }, t('verbatims.own')));
  else if (settings) {
    main.append(h('p', { class: 'hint', id: 'verbatim-detail', dataset: { detail: settings.verbatim_detail } },
      t('verbatims.detail.' + settings.verbatim_detail)));
  }

  const status = h('p', { role: 'status', id: 'verbatim-count', class: 'hint' });
  const list = h('ul', { class: 'verbatims', id: 'verbatim-list' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', id: 'verbatim-more', hidden: true }, t('verbatims.more'));
  const results = h('section', { class: 'panel', 'aria-labelledby': 'verbatim-count' }, status, list, h('div', { class: 'form-actions' }, more));
  main.append(results);

  let cursor = null, shown = 0, filters = { ...current };
  async function load(reset) {
    if (reset) {
      list.replaceChildren();
      shown = 0;
      cursor = null;
    }
    results.setAttribute('aria-busy', 'true');
    more.disabled = true;
    try {
      const res = await api('/verbatims', { query: { ...filters, limit: PAGE, cursor } });
      if (!ctx.alive()) return;
      for (const v of res.items) list.append(itemWithAnalysis(v, labels));
      shown += res.items.length;
      // Opaque: passed back as given. source=all's is a string ("T.a.ID");
      // never a Number, which lost ids past 2^53 (issue 16 H7).
      cursor = res.next_cursor == null ? null : String(res.next_cursor);
      more.hidden = !cursor;
      status.textContent = shown ? t('verbatims.count', { n: fmtInt(shown, lang()) }) : t('verbatims.none');
      status.dataset.count = String(shown);
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
    filters = {
      q: qIn.value.trim(), band: bandIn.value, theme: themeIn.value, sentiment: sentIn.value, team_id: teamIn ? teamIn.value : '', employee_id: empIn ? empIn.value : '',
      touchpoint_id: tpIn.value, language: langIn.value, from: fromIn.value, to: toIn.value,
      source: sourceIn ? sourceIn.value : '',  // issue 16 H3
    };
    ctx.setQuery(filters);
    await load(true);
    announce(status.textContent);
  });
  form.addEventListener('reset', () => {
    setTimeout(() => {
      for (const el of [qIn, fromIn, toIn]) el.value = '';
      for (const el of [bandIn, themeIn, sentIn, tpIn, langIn, teamIn, empIn, sourceIn]) if (el) el.value = '';
      form.requestSubmit();
    }, 0);
  });
  more.addEventListener('click', () => load(false));
  await load(true);
}
