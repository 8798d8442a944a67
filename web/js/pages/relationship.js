// pages/relationship.js — relationship surveys (issue 16, "The silent
// mass"): #/relationship lists the waves (and, for admins, makes a new one);
// #/relationship/ID shows one wave — draw, send and close for admins — and
// its report: the wave's NPS (weighted to the customer base and as
// answered) beside the contact-driven NPS of the same period, the gap
// between them with its interval in words, and who was asked and who
// answered against the whole customer base. Directors read, admins write
// (GET/POST /api/v1/relationship/waves, docs/API.md "Relationship surveys").

import { api, errorText } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtNps, fmtPct, fmtInt, fmtNumber, fmtRange, fmtDateTime, currentQuarter } from '../format.js';
import { errorNotice, panel } from '../widgets.js';

const BASE = '/relationship/waves';

function stratumName(s) {
  return s === '' ? t('rel.stratum.none') : s;
}

function statusText(s) {
  return t('rel.status.' + s);
}

// ---- the list ------------------------------------------------------------------------------

function waveRow(w, l) {
  return h('tr', { dataset: { id: w.id, status: w.status } },
    h('th', { scope: 'row' }, h('a', { href: '#/relationship/' + w.id }, w.name)),
    h('td', null, w.period),
    h('td', null, statusText(w.status)),
    h('td', { class: 'num' }, fmtInt(w.sample_size, l)),
    h('td', { class: 'num' }, fmtInt(w.invited, l)),
    h('td', { class: 'num' }, fmtInt(w.respondents, l)));
}

function waveTable(items, l) {
  if (!items.length) return h('p', { class: 'hint', id: 'rel-none' }, t('rel.none'));
  return h('div', { class: 'table-wrap' }, h('table', { id: 'rel-waves' },
    h('caption', null, t('rel.list')),
    h('thead', null, h('tr', null, ['rel.name', 'rel.period', 'rel.status', 'rel.sample_size', 'rel.invited', 'rel.respondents']
      .map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', null, items.map((w) => waveRow(w, l)))));
}

// The form of a new wave (admins).
function createForm(ctx, surveys) {
  const name = h('input', { type: 'text', required: true, maxlength: 200, name: 'name', value: t('rel.default_name', { period: currentQuarter() }) });
  const survey = select(surveys.map((s) => ({ value: s.id, label: s.name })), surveys[0]?.id, { name: 'survey_id' });
  const period = h('input', { type: 'text', required: true, name: 'period', value: currentQuarter(), pattern: '\\d{4}(-Q[1-4]|-\\d{2})?' });
  const size = h('input', { type: 'number', required: true, min: 1, max: 1000000, name: 'sample_size', value: 400 });
  const alloc = select([{ value: 'proportional', label: t('rel.alloc.proportional') }, { value: 'equal', label: t('rel.alloc.equal') }],
    'proportional', { name: 'allocation' });
  const minPer = h('input', { type: 'number', min: 0, name: 'min_per_stratum', value: 0 });
  const fatigue = h('input', { type: 'number', min: 0, max: 365, name: 'fatigue_days', value: 30 });
  const replace = h('input', { type: 'checkbox', name: 'replace_excluded', checked: true });
  const msg = h('p', { class: 'form-msg', role: 'status' });
  const form = h('form', { id: 'rel-create', class: 'form' },
    field(t('rel.name'), name),
    field(t('rel.survey'), survey),
    field(t('rel.period'), period, t('rel.period.hint')),
    field(t('rel.sample_size'), size),
    field(t('rel.allocation'), alloc, t('rel.allocation.hint')),
    field(t('rel.min_per_stratum'), minPer),
    field(t('rel.fatigue_days'), fatigue, t('rel.fatigue.hint')),
    h('div', { class: 'field field-check' }, replace, h('label', { for: replace.id || (replace.id = 'rel-replace') }, t('rel.replace'))),
    h('button', { type: 'submit' }, t('rel.create')), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    try {
      const w = await api(BASE, { method: 'POST', body: {
        name: name.value, survey_id: Number(survey.value), period: period.value, sample_size: Number(size.value),
        allocation: alloc.value, min_per_stratum: Number(minPer.value), fatigue_days: Number(fatigue.value),
        replace_excluded: replace.checked } });
      announce(t('rel.created'));
      ctx.navigate('#/relationship/' + w.id);
    } catch (err) {
      msg.textContent = errorText(err);
      msg.classList.add('notice-error');
    }
  });
  return form;
}

// A wave per quarter: the settings (admins) or where it stands (directors).
function scheduleState(sc) {
  const parts = [sc.enabled ? t('rel.sched.on') : t('rel.sched.off')];
  if (sc.last_period) parts.push(t('rel.sched.last', { period: sc.last_period }));
  if (sc.enabled) parts.push(sc.current_quarter_done ? t('rel.sched.done', { period: sc.current_quarter })
    : t('rel.sched.pending', { period: sc.current_quarter, day: sc.day_of_month }));
  return h('p', { id: 'rel-sched-state', dataset: { enabled: sc.enabled } }, parts.join(' · '),
    sc.last_error ? h('span', { class: 'notice notice-error', role: 'alert' }, ' ' + t('rel.sched.error', { msg: sc.last_error })) : null);
}

function scheduleForm(ctx, sc, surveys) {
  const on = h('input', { type: 'checkbox', name: 'enabled', id: 'rel-sched-enabled', checked: sc.enabled });
  const survey = select([{ value: '', label: t('rel.sched.nosurvey') }].concat(surveys.map((x) => ({ value: x.id, label: x.name }))),
    sc.survey_id ?? '', { name: 'survey_id' });
  const size = h('input', { type: 'number', min: 1, max: 1000000, name: 'sample_size', value: sc.sample_size });
  const alloc = select([{ value: 'proportional', label: t('rel.alloc.proportional') }, { value: 'equal', label: t('rel.alloc.equal') }],
    sc.allocation, { name: 'allocation' });
  const minPer = h('input', { type: 'number', min: 0, name: 'min_per_stratum', value: sc.min_per_stratum });
  const fatigue = h('input', { type: 'number', min: 0, max: 365, name: 'fatigue_days', value: sc.fatigue_days });
  const day = h('input', { type: 'number', min: 1, max: 28, name: 'day_of_month', value: sc.day_of_month });
  const msg = h('p', { class: 'form-msg', role: 'status' });
  const form = h('form', { id: 'rel-schedule', class: 'form' },
    h('div', { class: 'field field-check' }, on, h('label', { for: on.id }, t('rel.sched.enabled'))),
    field(t('rel.survey'), survey),
    field(t('rel.sample_size'), size),
    field(t('rel.allocation'), alloc),
    field(t('rel.min_per_stratum'), minPer),
    field(t('rel.fatigue_days'), fatigue),
    field(t('rel.sched.day'), day, t('rel.sched.day.hint')),
    h('button', { type: 'submit' }, t('rel.sched.save')), msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    msg.classList.remove('notice-error');
    try {
      await api('/relationship/schedule', { method: 'PUT', body: {
        enabled: on.checked, survey_id: survey.value ? Number(survey.value) : null, sample_size: Number(size.value),
        allocation: alloc.value, min_per_stratum: Number(minPer.value), fatigue_days: Number(fatigue.value),
        day_of_month: Number(day.value) } });
      announce(t('rel.sched.saved'));
      ctx.navigate('#/relationship');
    } catch (err) {
      msg.textContent = errorText(err);
      msg.classList.add('notice-error');
    }
  });
  return form;
}

async function renderList(main, ctx) {
  const l = lang();
  main.append(h('h1', null, t('rel.title')));
  main.append(h('p', { class: 'lead' }, t('rel.intro')));
  let waves;
  try {
    waves = await api(BASE);
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  main.append(panel(t('rel.list'), null, waveTable(waves.items, l)));
  let sched = null;
  try {
    sched = await api('/relationship/schedule');
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
  }
  if (!ctx.alive()) return;
  const admin = ctx.user.role === 'admin';
  let surveys = [];
  if (admin) {
    try {
      surveys = (await api('/surveys', { query: { limit: 500 } })).items;
    } catch (err) {
      if (ctx.alive()) main.append(errorNotice(err));
      return;
    }
    if (!ctx.alive()) return;
  }
  if (sched) {
    main.append(panel(t('rel.sched'), null, h('p', { class: 'hint' }, t('rel.sched.hint')), scheduleState(sched),
      admin ? scheduleForm(ctx, sched, surveys) : null));
  }
  if (admin) main.append(panel(t('rel.new'), null, createForm(ctx, surveys)));
}

// ---- one wave --------------------------------------------------------------------------------

function facts(w, l) {
  const rows = [
    ['rel.status', statusText(w.status)], ['rel.period', w.period],
    ['rel.sample_size', fmtInt(w.sample_size, l)], ['rel.allocation', t('rel.alloc.' + w.allocation)],
    ['rel.min_per_stratum', fmtInt(w.min_per_stratum, l)], ['rel.fatigue_days', fmtInt(w.fatigue_days, l)],
    ['rel.replace', w.replace_excluded ? t('rel.yes') : t('rel.no')],
    ['rel.population', w.population === null ? '–' : fmtInt(w.population, l)],
    ['rel.selected', fmtInt(w.selected, l)], ['rel.excluded', fmtInt(w.excluded, l)],
    ['rel.invited', fmtInt(w.invited, l)], ['rel.respondents', fmtInt(w.respondents, l)],
    ['rel.seed', w.seed || '–'], ['rel.drawn_at', fmtDateTime(w.drawn_at, l)], ['rel.sent_at', fmtDateTime(w.sent_at, l)],
  ];
  return h('dl', { class: 'rel-facts', id: 'rel-facts' }, rows.map(([k, v]) => [h('dt', null, t(k)), h('dd', { dataset: { key: k } }, v)]));
}

// The admin's next step: draw a draft, send a drawn wave, close a sent one.
function actions(ctx, w, main) {
  if (ctx.user.role !== 'admin') return null;
  const msg = h('p', { class: 'form-msg', role: 'status', id: 'rel-action-msg' });
  const step = { draft: ['draw', 'POST', '/draw'], drawn: ['send', 'POST', '/send'], sent: ['close', 'PUT', ''] }[w.status];
  if (!step) return null;
  const [name, method, suffix] = step;
  const btn = h('button', { type: 'button', id: 'rel-' + name }, t('rel.do.' + name));
  btn.addEventListener('click', async () => {
    if (name === 'send' && !window.confirm(t('rel.send.confirm', { n: w.selected }))) return;
    btn.disabled = true;
    try {
      await api(BASE + '/' + w.id + suffix, { method, body: name === 'close' ? { status: 'closed' } : undefined });
      announce(t('rel.done.' + name));
      ctx.navigate('#/relationship/' + w.id);
    } catch (err) {
      msg.textContent = errorText(err);
      btn.disabled = false;
    }
  });
  return h('div', { class: 'actions', id: 'rel-actions' }, h('p', { class: 'hint' }, t('rel.step.' + name)), btn, msg);
}

// "+12,3 (95%: +3,1 – +21,5)" or the reason it is not shown.
function npsCell(x, l, id) {
  if (!x) return h('p', { class: 'kpi-value', id }, h('span', { class: 'hint' }, t('rel.too_few')));
  return [h('p', { class: 'kpi-value', id, dataset: { value: x.value } }, fmtNps(x.value, l)),
    h('p', { class: 'kpi-interval' }, t('rel.interval', { range: fmtRange(x.low, x.high, (v) => fmtNps(v, l)) }))];
}

// The gap in words: higher, lower, or not distinguishable from chance.
function gapText(g, l) {
  if (!g || g.verdict === 'insufficient_data') return t('rel.gap.none');
  const range = fmtRange(g.low, g.high, (v) => fmtNps(v, l));
  const pts = fmtNumber(Math.abs(g.value), l, 1);
  return t('rel.gap.' + g.verdict, { pts, range, diff: fmtNps(g.value, l) });
}

function npsPanel(rep, l) {
  const rel = rep.relationship;
  const un = rel.unweighted.nps && !rel.unweighted.insufficient ? rel.unweighted.nps : null;
  const cd = rep.contact_driven.nps && !rep.contact_driven.insufficient ? rep.contact_driven.nps : null;
  const kpi = (title, cell, sub) => h('section', { class: 'kpi' }, h('h3', null, title), cell, sub ? h('p', { class: 'kpi-n' }, sub) : null);
  // issue 16 H8: strata_without_answers names the segments left out ("" = no segment)
  const leftOut = (rel.weighted_left_out || []).map(stratumName).join(', ');
  const note = rel.weighted_note ? t('rel.weighted.' + rel.weighted_note, { min: rep.min_n, strata: leftOut }) : null;
  const weightedGap = rep.gap.weighted.verdict !== 'insufficient_data';
  const gap = weightedGap ? rep.gap.weighted : rep.gap.unweighted;
  return panel(t('rel.nps'), t('rel.period.of', { period: rep.period.label }),
    h('div', { class: 'kpis' },
      kpi(t('rel.nps.weighted'), npsCell(rel.weighted, l, 'rel-nps-weighted'), note || t('rel.nps.weighted.hint')),
      kpi(t('rel.nps.unweighted'), npsCell(un, l, 'rel-nps-unweighted'), t('rel.n', { n: fmtInt(rel.unweighted.n, l) })),
      kpi(t('rel.nps.contact'), npsCell(cd, l, 'rel-nps-contact'), t('rel.nps.contact.hint', { n: fmtInt(rep.contact_driven.n, l) }))),
    h('p', { class: 'rel-gap', id: 'rel-gap', dataset: { verdict: gap.verdict, basis: weightedGap ? 'weighted' : 'unweighted' } },
      h('strong', null, t(weightedGap ? 'rel.gap.title.weighted' : 'rel.gap.title.unweighted') + ' '), gapText(gap, l)),
    h('p', { class: 'hint' }, t('rel.gap.method')));
}

function reprTable(rep, l) {
  const head = ['rel.col.segment', 'rel.col.base', 'rel.col.invited', 'rel.col.respondents', 'rel.col.index',
    'rel.col.contact_respondents', 'rel.col.contact_index', 'rel.col.weight', 'rel.col.nps', 'rel.col.excluded'];
  const idx = (v) => (v === null || v === undefined ? '–' : fmtNumber(v, l, 2));
  // the index with the test's verdict in words when it is a real, material difference
  const idxFlag = (v, f) => [idx(v), f === 'under_represented' || f === 'over_represented'
    ? h('span', { class: 'hint', dataset: { flag: f } }, ' ' + t('rel.flag.' + f)) : null];
  const rows = rep.strata.map((s) => h('tr', { dataset: { stratum: s.stratum } },
    h('th', { scope: 'row' }, stratumName(s.stratum)),
    h('td', { class: 'num' }, fmtPct(s.base_share, l), ' ', h('span', { class: 'hint' }, '(' + fmtInt(s.population, l) + ')')),
    h('td', { class: 'num' }, fmtPct(s.invited_share, l), ' ', h('span', { class: 'hint' }, '(' + fmtInt(s.invited, l) + ')')),
    h('td', { class: 'num' }, fmtPct(s.respondent_share, l), ' ', h('span', { class: 'hint' }, '(' + fmtInt(s.respondents, l) + ')')),
    h('td', { class: 'num' }, idxFlag(s.index, s.flag)),
    h('td', { class: 'num' }, fmtPct(s.contact_respondent_share, l), ' ', h('span', { class: 'hint' }, '(' + fmtInt(s.contact_respondents, l) + ')')),
    h('td', { class: 'num' }, idxFlag(s.contact_index, s.contact_flag)),
    h('td', { class: 'num' }, idx(s.weight)),
    h('td', { class: 'num' }, s.nps ? fmtNps(s.nps.value, l) : '–'),
    h('td', { class: 'num' }, t('rel.excl', { f: s.excluded.fatigue, o: s.excluded.opted_out, e: s.excluded.no_email }))));
  return panel(t('rel.repr'), t('rel.repr.sub', { n: fmtInt(rep.base, l) }),
    h('p', { class: 'hint' }, t('rel.repr.hint')),
    h('div', { class: 'table-wrap' }, h('table', { id: 'rel-repr' },
      h('caption', null, t('rel.repr')),
      h('thead', null, h('tr', null, head.map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', null, rows))));
}

async function renderWave(main, ctx, id) {
  const l = lang();
  main.append(h('h1', null, t('rel.title')));
  main.append(h('p', null, h('a', { href: '#/relationship' }, '\u2190 ' + t('rel.back'))));
  let w;
  try {
    w = await api(BASE + '/' + id);
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  main.querySelector('h1').textContent = t('rel.title.of', { name: w.name });
  main.append(panel(t('rel.wave'), null, facts(w, l), actions(ctx, w, main)));
  if (w.status === 'draft') {
    main.append(h('p', { class: 'hint', id: 'rel-no-report' }, t('rel.report.draft')));
    return;
  }
  let rep;
  try {
    rep = await api(BASE + '/' + id + '/report');
  } catch (err) {
    if (ctx.alive()) main.append(errorNotice(err));
    return;
  }
  if (!ctx.alive()) return;
  const report = h('div', { id: 'rel-report' }, npsPanel(rep, l), reprTable(rep, l));
  main.append(report);
}

export async function render(main, ctx) {
  const id = Number(ctx.args[0]);
  if (ctx.args.length && Number.isInteger(id) && id > 0) return renderWave(main, ctx, id);
  return renderList(main, ctx);
}
