// pages/pulse.js — the employee pulse (eNPS; issue 17 P). #/pulse shows the
// newest wave, #/pulse/ID one wave: per unit of the reader's scope the eNPS
// with its interval beside the customers' NPS of the same month, the item
// means, hidden groups said in words, and the comments where a group may
// show them. Admins also set the pulse up (settings), open a wave at once
// ("send now") and close one. The server decides every number and every
// hidden group (GET /api/v1/pulse/results, docs/API.md "Employee pulse");
// this page only shows what it gets.

import { api, errorText } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNps, fmtPct, fmtInt, fmtMean, fmtRange, fmtDate } from '../format.js';
import { errorNotice, panel } from '../widgets.js';

const L = ['nl', 'en'];

function statusText(s) {
  return t('pulse.status.' + s);
}

// ---- waves -------------------------------------------------------------------------------

function waveTable(items, current, l) {
  if (!items.length) return h('p', { class: 'hint', id: 'pulse-none' }, t('pulse.none'));
  return h('div', { class: 'table-wrap' }, h('table', { id: 'pulse-waves' },
    h('caption', null, t('pulse.waves')),
    h('thead', null, h('tr', null, ['pulse.period', 'pulse.status', 'pulse.invited', 'pulse.answered', 'pulse.rate']
      .map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', null, items.map((w) => h('tr', { dataset: { id: w.id, status: w.status }, class: w.id === current ? 'current' : null },
      h('th', { scope: 'row' }, h('a', { href: '#/pulse/' + w.id, 'aria-current': w.id === current ? 'page' : null }, w.period)),
      h('td', null, statusText(w.status) + ' · ' + t('pulse.closes', { date: fmtDate(w.closes_at, l) })),
      h('td', { class: 'num' }, fmtInt(w.invited, l)),
      h('td', { class: 'num' }, w.answered === null ? '–' : fmtInt(w.answered, l)),
      h('td', { class: 'num' }, w.response_rate === null ? '–' : fmtPct(w.response_rate, l)))))));
}

// "Send now" and "close" for admins.
function waveActions(ctx, wave) {
  if (ctx.user.role !== 'admin') return null;
  const msg = h('p', { class: 'form-msg', role: 'status', id: 'pulse-action-msg' });
  const send = h('button', { type: 'button', id: 'pulse-send' }, t('pulse.send'));
  send.addEventListener('click', async () => {
    if (!window.confirm(t('pulse.send.confirm'))) return;
    send.disabled = true;
    try {
      const w = await api('/pulse/waves', { method: 'POST', body: {} });
      announce(t('pulse.sent', { n: w.invited }));
      ctx.navigate('#/pulse/' + w.id);
    } catch (err) {
      msg.textContent = err?.status === 409 ? t('pulse.send.open') : errorText(err);
      send.disabled = false;
    }
  });
  let close = null;
  if (wave && wave.status === 'open') {
    close = h('button', { type: 'button', id: 'pulse-close', class: 'secondary' }, t('pulse.close'));
    close.addEventListener('click', async () => {
      close.disabled = true;
      try {
        await api('/pulse/waves/' + wave.id + '/close', { method: 'POST' });
        announce(t('pulse.closed'));
        ctx.navigate('#/pulse/' + wave.id);
      } catch (err) {
        msg.textContent = errorText(err);
        close.disabled = false;
      }
    });
  }
  return h('div', { class: 'actions', id: 'pulse-actions' }, h('p', { class: 'hint' }, t('pulse.send.hint')), send, close, msg);
}

// ---- settings (admins) ----------------------------------------------------------------------

function pairInputs(name, pair) {
  return L.map((lg) => field(t('pulse.q.' + name) + ' (' + lg + ')',
    h('input', { type: 'text', name: name + '_' + lg, maxlength: 399, value: pair ? pair[lg] : '', dataset: { q: name, lang: lg } })));
}

function settingsForm(ctx, s) {
  const on = h('input', { type: 'checkbox', id: 'pulse-enabled', name: 'enabled', checked: s.enabled });
  const num = (name, min, max) => h('input', { type: 'number', name, min, max, value: s[name], id: 'pulse-' + name });
  const cadence = num('cadence_days', 7, 366);
  const open = num('open_days', 1, 60);
  const minGroup = num('min_group', 3, 1000);
  const minComments = num('min_group_comments', 5, 1000);
  const language = select([{ value: 'nl', label: 'Nederlands' }, { value: 'en', label: 'English' }], s.language, { name: 'language' });
  const items = [0, 1, 2].map((i) => s.questions.items[i] || null);
  const msg = h('p', { class: 'form-msg', role: 'status', id: 'pulse-settings-msg' });
  const form = h('form', { id: 'pulse-settings', class: 'form' },
    h('div', { class: 'field field-check' }, on, h('label', { for: on.id }, t('pulse.enabled'))),
    field(t('pulse.cadence'), cadence, t('pulse.cadence.hint')),
    field(t('pulse.open_days'), open),
    field(t('pulse.min_group'), minGroup, t('pulse.min_group.hint')),
    field(t('pulse.min_group_comments'), minComments, t('pulse.min_group_comments.hint')),
    field(t('pulse.language'), language, t('pulse.language.hint')),
    h('fieldset', null, h('legend', null, t('pulse.questions')), h('p', { class: 'hint' }, t('pulse.questions.hint')),
      pairInputs('enps', s.questions.enps),
      items.map((it, i) => pairInputs('item' + (i + 1), it)),
      pairInputs('open', s.questions.open)),
    h('button', { type: 'submit' }, t('pulse.save')), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    msg.classList.remove('notice-error');
    const val = (q, lg) => form.querySelector(`[data-q="${q}"][data-lang="${lg}"]`).value.trim();
    const pair = (q) => ({ nl: val(q, 'nl'), en: val(q, 'en') });
    const its = [1, 2, 3].map((i) => pair('item' + i)).filter((p) => p.nl || p.en);
    try {
      await api('/pulse/settings', { method: 'PUT', body: {
        enabled: on.checked, cadence_days: Number(cadence.value), open_days: Number(open.value),
        min_group: Number(minGroup.value), min_group_comments: Number(minComments.value), language: language.value,
        questions: { enps: pair('enps'), items: its, open: pair('open') } } });
      announce(t('pulse.saved'));
      msg.textContent = t('pulse.saved');
    } catch (err) {
      msg.textContent = errorText(err);
      msg.classList.add('notice-error');
    }
  });
  return form;
}

// ---- results -----------------------------------------------------------------------------

function hiddenText(u, minGroup) {
  if (u.reason === 'no_answers') return t('pulse.hidden.no_answers');
  if (u.reason === 'composition_changed') return t('pulse.hidden.composition_changed');
  return t('pulse.hidden.too_few_or_protecting', { min: minGroup });
}

function customerCell(u, l) {
  const c = u.customer_nps;
  if (!c || !c.nps) return h('span', { class: 'hint' }, t('pulse.customer.none'));
  return [h('span', { class: 'nps', dataset: { value: c.nps.value } }, fmtNps(c.nps.value, l)),
    h('span', { class: 'hint' }, ' (' + t('pulse.n', { n: fmtInt(c.n, l) }) + ')')];
}

function commentsButton(wave, u) {
  if (!u.shown || !u.comments) return null;
  const box = h('div', { class: 'pulse-comments', id: 'pulse-comments-' + u.unit_id });
  const btn = h('button', { type: 'button', class: 'linkish', 'aria-controls': box.id, 'aria-expanded': 'false' }, t('pulse.comments.show'));
  btn.addEventListener('click', async () => {
    if (btn.getAttribute('aria-expanded') === 'true') {
      box.replaceChildren();
      btn.setAttribute('aria-expanded', 'false');
      btn.textContent = t('pulse.comments.show');
      return;
    }
    btn.disabled = true;
    try {
      const r = await api('/pulse/waves/' + wave + '/comments', { query: { unit_id: u.unit_id } });
      box.replaceChildren(r.items.length
        ? h('ul', { class: 'comment-list' }, r.items.map((c) => h('li', null, c)))
        : h('p', { class: 'hint' }, t('pulse.comments.none')));
      btn.setAttribute('aria-expanded', 'true');
      btn.textContent = t('pulse.comments.hide');
    } catch (err) {
      box.replaceChildren(errorNotice(err));
    }
    btn.disabled = false;
  });
  return [btn, box];
}

function depth(u, byId) {
  let d = 0;
  for (let p = u.parent_id; p && byId.has(p) && d < 8; p = byId.get(p).parent_id) d++;
  return d;
}

// Units in tree order (parents before their children), as far as the reply holds them.
function treeOrder(units) {
  const byId = new Map(units.map((u) => [u.unit_id, u]));
  const kids = new Map();
  const roots = [];
  for (const u of units) {
    if (u.parent_id && byId.has(u.parent_id)) {
      if (!kids.has(u.parent_id)) kids.set(u.parent_id, []);
      kids.get(u.parent_id).push(u);
    } else {
      roots.push(u);
    }
  }
  const out = [];
  const walk = (u) => { out.push(u); (kids.get(u.unit_id) || []).forEach(walk); };
  roots.forEach(walk);
  return { list: out, byId };
}

function resultsTable(res, l) {
  const { list, byId } = treeOrder(res.units);
  const items = res.questions?.items || [];
  const head = [t('pulse.unit'), t('pulse.respondents'), t('pulse.enps'), t('pulse.customer_nps')]
    .concat(items.map((q, i) => t('pulse.item', { i: i + 1 })), [t('pulse.comments')]);
  const rows = list.map((u) => {
    const name = h('th', { scope: 'row', style: `padding-inline-start:${0.5 + 1.25 * depth(u, byId)}rem` },
      u.name, h('span', { class: 'hint' }, ' · ' + t('pulse.level.' + u.level)));
    if (!u.shown) {
      return h('tr', { dataset: { unit: u.unit_id, shown: 'false' }, class: 'hidden-row' }, name,
        h('td', { class: 'num' }, u.respondents === 0 ? '0' : '–'),
        h('td', { colspan: 1, class: 'hidden-text' }, hiddenText(u, res.min_group)),
        h('td', null, customerCell(u, l)),
        items.map(() => h('td', { class: 'num' }, '–')), h('td', null, '–'));
    }
    return h('tr', { dataset: { unit: u.unit_id, shown: 'true' } }, name,
      h('td', { class: 'num' }, fmtInt(u.respondents, l)),
      h('td', { class: 'num' }, h('span', { class: 'nps', dataset: { value: u.enps.value } }, fmtNps(u.enps.value, l)),
        h('span', { class: 'hint' }, ' ' + t('pulse.interval', { range: fmtRange(u.enps.low, u.enps.high, (v) => fmtNps(v, l)) }))),
      h('td', null, customerCell(u, l)),
      (u.items || []).map((it) => h('td', { class: 'num' }, fmtMean(it.mean, l))),
      h('td', null, u.comments ? commentsButton(res.wave.id, u) : h('span', { class: 'hint' }, t('pulse.comments.few', { min: res.min_group_comments }))));
  });
  const legend = items.length
    ? h('ol', { class: 'pulse-items hint' }, items.map((q) => h('li', null, q[l] || q.nl)))
    : null;
  return [h('div', { class: 'table-wrap' }, h('table', { id: 'pulse-results' },
    h('caption', null, t('pulse.results.caption', { period: res.wave.period })),
    h('thead', null, h('tr', null, head.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows))), legend,
    h('p', { class: 'hint' }, t('pulse.rules', { min: res.min_group, minc: res.min_group_comments }))];
}

async function renderResults(main, ctx, waveId) {
  const l = lang();
  let res;
  try {
    res = await api('/pulse/results', { query: { wave: waveId } });
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  // an open round has no results (the server computes them at closing)
  const body = res.available === false
    ? h('p', { class: 'hint', id: 'pulse-pending' }, t('pulse.results.pending', { date: fmtDate(res.wave.closes_at, l) }))
    : resultsTable(res, l);
  main.append(panel(t('pulse.results'), t('pulse.results.sub', { period: res.wave.period }),
    h('div', { id: 'pulse-result' }, body)));
}

export async function render(main, ctx) {
  main.append(h('h1', null, t('pulse.title')));
  main.append(h('p', { class: 'lead' }, t('pulse.intro')));
  let waves;
  try {
    waves = (await api('/pulse/waves')).items;
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  const l = lang();
  const id = Number(ctx.args[0]);
  // by default the newest round with results (a closed one)
  const current = waves.find((w) => w.id === id) || waves.find((w) => w.status === 'closed') || waves[0] || null;
  const openWave = waves.find((w) => w.status === 'open') || null;
  main.append(panel(t('pulse.waves'), null, waveTable(waves, current?.id, l), waveActions(ctx, openWave)));
  if (current) await renderResults(main, ctx, current.id);
  if (!ctx.alive() || ctx.user.role !== 'admin') return;
  try {
    const s = await api('/pulse/settings');
    if (ctx.alive()) main.append(panel(t('pulse.settings'), null, settingsForm(ctx, s)));
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
  }
}
