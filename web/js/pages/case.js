// pages/case.js — one case of the closed loop: the customer and whether
// they may be contacted, the responses that opened it (their words as
// text), the status with a button for each allowed next step, "take it",
// the root cause and the outcome, notes, and on resolving a message to the
// customer with an optional short re-survey.
//
// One case per unhappy customer (issue 13): the rules that fired on their
// answers (triggers), the priority, the history, the employee who served
// them, links to the responses and to the customer's other cases. The
// message starts from the server's template with named placeholders; the
// form shows the exact mail (POST /cases/{id}/message-preview) before it
// is sent, and the server's refusal (in the user's language) beside it.
//
// Every PATCH carries the case's version; a 409 means someone else changed
// it meanwhile: the page says so and shows the case as it is now.
//
// Route: #/case/ID

import { api, errorText, errorDetail } from '../api.js';
import { h, field, select, announce } from '../dom.js';
import { t, tIn, lang } from '../i18n.js';
import { fmtDateTime, band } from '../format.js';
import { panel, errorNotice, scoreBadge } from '../widgets.js';
import { ROOT_CAUSES, rootCauseLabel, statusBadge, deadlineCell, ownerText } from './cases.js';

function triOptions() {
  return [
    { value: '', label: t('case.tri.unknown') },
    { value: 'true', label: t('case.tri.yes') },
    { value: 'false', label: t('case.tri.no') },
  ];
}
const FLOW = { new: ['contacted'], contacted: ['resolved'], resolved: ['closed', 'new'], closed: ['new'] };
const triValue = (v) => (v === true ? 'true' : v === false ? 'false' : '');
const triParse = (s) => (s === 'true' ? true : s === 'false' ? false : null);
const yesNo = (v) => (v === true ? t('case.tri.yes') : v === false ? t('case.tri.no') : t('case.tri.unknown'));

// issue 13: the customer's phone as a tel: link, so the one who closes the
// loop calls back in one tap. The link keeps only + and digits (tel: takes
// no spaces); a written trunk "(0)" after a country code is not dialled.
function phoneLink(phone) {
  if (!phone) return '–';
  const intl = phone.trim().startsWith('+');
  const dial = (intl ? phone.replace(/\(0\)/g, '') : phone).replace(/[^0-9+]/g, '');
  return h('a', { href: 'tel:' + dial, id: 'case-phone' }, phone);
}

function fact(label, value, key) {
  return [h('dt', null, label), h('dd', { dataset: { fact: key } }, value)];
}

// The message the form starts from: the server's template in the
// customer's language (greeting and signature with named placeholders,
// filled in once by the server), the handler's words go in the middle.
function startText(c) {
  if (typeof c.message_template === 'string') return c.message_template;
  const l = c.customer?.language === 'en' ? 'en' : 'nl';
  return tIn(l, 'case.msg.template');
}

// One line of the history, in words.
function historyText(x) {
  const rule = x.rule ? t('case.rule.' + x.rule) : '';
  switch (x.kind) {
    case 'opened': return t('case.hist.opened', { rule });
    case 'trigger': return t('case.hist.trigger', { rule, id: x.response_id ?? '–' });
    case 'priority': {
      const to = ({ 1: 'normal', 2: 'high', 3: 'urgent' })[String(x.detail || '').split('>')[1]] || 'normal';
      return t('case.hist.priority', { p: t('case.priority.' + to) });
    }
    case 'status': return t('case.hist.status', { status: t('case.status.' + x.to_status) });
    case 'owner': return x.detail ? t('case.hist.owner', { id: x.detail }) : t('case.hist.queue');
    case 'escalated': return t('case.hist.escalated');
    case 'message': return t('case.hist.message', { status: t('case.msgstatus.' + (x.detail || 'none')) });
    case 'merged': return t('case.hist.merged', { id: x.other_case_id ?? '–', rule });
    default: return x.kind;
  }
}

export async function render(main, ctx) {
  const id = Number(ctx.args[0]);
  const user = ctx.user;
  const title = h('h1', null, t('case.title', { id: Number.isFinite(id) ? id : '?' }));
  main.append(h('p', null, h('a', { href: '#/cases', class: 'back' }, t('case.back'))), title);
  const msg = h('div', { id: 'case-msg', role: 'status', 'aria-live': 'polite' });
  const body = h('div', { id: 'case-body' });
  main.append(msg, body);
  if (!Number.isFinite(id) || id <= 0) {
    body.append(errorNotice({ status: 404, message: 'not found' }));
    return;
  }
  let causes = ROOT_CAUSES;
  const caseP = api('/cases/' + id);
  caseP.catch(() => {});  // handled by load()
  const causesP = api('/case-root-causes').then((r) => { if (Array.isArray(r?.items) && r.items.length) causes = r.items; }, () => {});
  let first = caseP;

  // detail: the server's own words when in another language (a title)
  const say = (text, kind = 'ok', detail = null) => {
    msg.replaceChildren(h('p', { class: 'notice' + (kind === 'error' ? ' notice-error' : kind === 'conflict' ? ' notice-warn' : ''),
      dataset: { kind }, role: kind === 'ok' ? null : 'alert', title: detail }, text));
    announce(text);
  };

  let current = null;

  async function load() {
    const p = first || api('/cases/' + id);
    first = null;
    const c = await p;
    if (!ctx.alive()) return;
    current = c;
    main.dataset.caseId = String(c.id);
    main.dataset.version = String(c.version);
    main.dataset.status = c.status;
    draw(c);
  }

  // PATCH with the version; 409 -> conflict message and the case anew.
  async function patch(fields, okText) {
    try {
      await api('/cases/' + id, { method: 'PATCH', body: { version: current.version, ...fields } });
      await load();
      say(okText || t('saved'));
      return true;
    } catch (err) {
      if (err.status === 409 && err.field === 'version') {
        try { await load(); } catch { /* the message below still stands */ }
        say(t('case.conflict'), 'conflict');
      } else if (err.status === 403) {
        say(t('error.forbidden'), 'error');
      } else {
        say(errorText(err), 'error', errorDetail(err));
      }
      return false;
    }
  }

  function draw(c) {
    const l = lang();
    const cust = c.customer || { id: c.customer_id, name: c.customer_name };
    const mine = c.owner_user_id !== null && c.owner_user_id === user.id;
    const noContact = c.consent === false;

    // ---- facts
    const facts = h('dl', { class: 'response-facts case-facts' },
      fact(t('case.customer'), cust.name || (cust.id ? '#' + cust.id : t('case.customer.unknown')), 'customer'),
      // issue 16: the customer's timeline, for the roles that read customers
      cust.id && (user.role === 'director' || user.role === 'admin')
        ? fact(t('timeline.link'), h('a', { href: '#/customer/' + cust.id, id: 'case-timeline-link' }, '#' + cust.id), 'timeline') : null,
      fact(t('case.email'), cust.email || '–', 'email'),
      fact(t('case.phone'), phoneLink(cust.phone), 'phone'),
      fact(t('case.language'), cust.language ? t('lang.' + cust.language) : '–', 'language'),
      fact(t('case.opted_out'), cust.opted_out === undefined ? '–' : yesNo(Boolean(cust.opted_out)), 'opted_out'),
      fact(t('case.reason'), c.reason || '–', 'reason'),
      fact(t('case.priority'), t('case.priority.' + (c.priority || 'normal')), 'priority'),
      fact(t('case.rules'), (c.rules && c.rules.length ? c.rules : [c.rule]).filter(Boolean).map((r) => t('case.rule.' + r)).join(', ') || '–', 'rule'),
      fact(t('case.employee'), c.employee?.name || '–', 'employee'),
      fact(t('case.team'), c.team_name || (c.team_id ? '#' + c.team_id : '–'), 'team'),
      fact(t('case.owner'), ownerText(c), 'owner'),
      fact(t('case.opened'), fmtDateTime(c.opened_at, l), 'opened'),
      fact(t('case.deadline'), deadlineCell(c), 'deadline'),
      fact(t('case.first_contact'), fmtDateTime(c.first_contact_at, l), 'first_contact'),
      fact(t('case.escalated'), c.escalated_at ? fmtDateTime(c.escalated_at, l) : t('case.escalated.no'), 'escalated'),
      fact(t('case.resolved_at'), fmtDateTime(c.resolved_at, l), 'resolved_at'),
      fact(t('case.closed_at'), fmtDateTime(c.closed_at, l), 'closed_at'),
      fact(t('case.message_status'), t('case.msgstatus.' + (c.customer_message_status || 'none')), 'message_status'));
    const take = mine ? null : h('button', { type: 'button', class: 'btn btn-secondary', id: 'case-take',
      onclick: () => patch({ owner_user_id: user.id }, t('case.taken')) }, t('case.take'));
    const factsPanel = panel(t('case.about'), null,
      noContact ? h('p', { class: 'notice notice-error', id: 'case-no-contact', dataset: { consent: 'false' } }, t('case.no_contact')) : null,
      facts,
      c.customer_message ? h('div', { class: 'case-sent' }, h('h3', null, t('case.message.sent')),
        h('blockquote', { class: 'verbatim-text', id: 'case-message-text' }, c.customer_message)) : null,
      take ? h('div', { class: 'form-actions' }, take) : null);
    factsPanel.id = 'case-facts';

    // ---- the responses that opened it
    const responses = c.responses || [];
    const respPanel = panel(t('case.responses'), null,
      responses.length === 0
        ? h('p', { class: 'empty' }, (c.response_ids || [c.response_id]).filter(Boolean).map((r) => '#' + r).join(', ') || '–')
        : h('ul', { class: 'verbatims' }, responses.map((r) => h('li', { class: 'verbatim ' + (band(r.nps) || ''), dataset: { responseId: r.id } },
          h('blockquote', { class: 'verbatim-text', lang: r.language || null }, r.open_text ?? ''),
          h('div', { class: 'meta' },
            h('a', { href: '#/response/' + r.id, dataset: { responseLink: r.id } }, t('case.response.link', { id: r.id })),
            scoreBadge(r.nps),
            r.grade !== null && r.grade !== undefined ? h('span', null, t('grade') + ' ' + r.grade) : null,
            r.ces !== null && r.ces !== undefined ? h('span', null, t('ces') + ' ' + r.ces) : null,
            r.touchpoint_name ? h('span', null, r.touchpoint_name) : null,
            h('time', { datetime: r.received_at || '' }, fmtDateTime(r.received_at, l)))))));
    respPanel.id = 'case-responses';

    // ---- why: every rule that fired, with its response
    const triggers = c.triggers || [];
    const trigPanel = panel(t('case.triggers'), null,
      triggers.length === 0 ? h('p', { class: 'empty' }, c.reason || '–')
        : h('ul', { id: 'case-triggers' }, triggers.map((x) => h('li', { dataset: { rule: x.rule, responseId: x.response_id ?? '' } },
          h('strong', null, t('case.rule.' + x.rule)), ': ' + (x.reason || ''), ' · ',
          x.response_id ? h('a', { href: '#/response/' + x.response_id }, t('case.response.link', { id: x.response_id })) : null,
          ' · ', h('time', { datetime: x.at || '' }, fmtDateTime(x.at, l))))));
    trigPanel.id = 'case-triggers-panel';

    // ---- the customer's other cases, and the history
    const others = c.other_cases || [];
    const othersPanel = panel(t('case.other_cases'), null,
      others.length === 0 ? h('p', { class: 'empty' }, t('case.other_cases.none'))
        : h('ul', { id: 'case-others' }, others.map((o) => h('li', { dataset: { caseId: o.id } },
          h('a', { href: '#/case/' + o.id }, t('case.title', { id: o.id })), ' ', statusBadge(o.status), ' ',
          o.reason || '', ' · ', h('time', { datetime: o.opened_at || '' }, fmtDateTime(o.opened_at, l))))));
    othersPanel.id = 'case-others-panel';
    const hist = c.history || [];
    const histPanel = panel(t('case.history'), null,
      hist.length === 0 ? h('p', { class: 'empty' }, '–')
        : h('ol', { id: 'case-history', class: 'case-history' }, hist.map((x) => h('li', { dataset: { kind: x.kind } },
          h('time', { datetime: x.at || '' }, fmtDateTime(x.at, l)), ' ', historyText(x),
          x.user_name ? ' · ' + x.user_name : ''))));
    histPanel.id = 'case-history-panel';

    // ---- status: one button per allowed next step
    // the server's list of allowed steps; the documented flow only when a
    // server does not send one
    const next = Array.isArray(c.next_statuses) ? c.next_statuses : FLOW[c.status] || [];
    const resolveForm = resolvePanel(c, noContact);
    const statusPanel = panel(t('case.status'), null,
      h('p', null, statusBadge(c.status)),
      next.length === 0 ? h('p', { class: 'hint' }, t('case.status.final')) : h('div', { class: 'form-actions', id: 'case-next' },
        next.map((s) => h('button', { type: 'button', class: 'btn' + (s === 'resolved' ? '' : ' btn-secondary'), dataset: { next: s },
          onclick: () => {
            if (s === 'resolved') {
              resolveForm.hidden = false;
              resolveForm.querySelector('textarea')?.focus();
            } else {
              patch({ status: s }, t('case.status.changed', { status: t('case.status.' + s) }));
            }
          } }, t('case.to.' + s)))),
      resolveForm);
    statusPanel.id = 'case-status';

    // ---- root cause and outcome
    const rcSel = select([{ value: '', label: t('case.root.none') }, ...causes.map((x) => ({ value: x, label: rootCauseLabel(x) }))],
      c.root_cause ?? '', { name: 'root_cause', id: 'case-root-cause' });
    const relSel = select(triOptions(), triValue(c.relationship_restored), { name: 'relationship_restored', id: 'case-relationship' });
    const retSel = select(triOptions(), triValue(c.customer_retained), { name: 'customer_retained', id: 'case-retained' });
    const consentSel = select([
      { value: '', label: t('case.tri.unknown') },
      { value: 'true', label: t('case.consent.yes') },
      { value: 'false', label: t('case.consent.no') },
    ], triValue(c.consent), { name: 'consent', id: 'case-consent' });
    const outcomeIn = h('textarea', { name: 'outcome', id: 'case-outcome-text', rows: '3', maxlength: '4000' });
    outcomeIn.value = c.outcome ?? '';
    const outForm = h('form', { id: 'case-outcome' },
      h('div', { class: 'form-row' },
        field(t('case.root_cause'), rcSel), field(t('case.consent'), consentSel)),
      h('div', { class: 'form-row' },
        field(t('case.relationship'), relSel), field(t('case.retained'), retSel)),
      field(t('case.outcome'), outcomeIn),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('case.save'))));
    outForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = outcomeIn.value.trim();
      patch({
        root_cause: rcSel.value || null,
        relationship_restored: triParse(relSel.value),
        customer_retained: triParse(retSel.value),
        consent: triParse(consentSel.value),
        outcome: text ? text : null,
      });
    });
    const outPanel = panel(t('case.followup'), null, outForm);
    outPanel.id = 'case-followup';

    // ---- notes
    const notes = c.notes || [];
    const noteIn = h('textarea', { name: 'text', id: 'case-note-text', rows: '3', maxlength: '4000', required: true });
    const noteForm = h('form', { id: 'case-note-form' },
      field(t('case.note.new'), noteIn),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, t('case.note.add'))));
    noteForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const text = noteIn.value.trim();
      if (!text) return;
      try {
        await api('/cases/' + id + '/notes', { method: 'POST', body: { text } });
        await load();
        say(t('case.note.added'));
      } catch (err) {
        say(err.status === 403 ? t('error.forbidden') : errorText(err), 'error', errorDetail(err));
      }
    });
    const notesPanel = panel(t('case.notes'), null,
      notes.length === 0 ? h('p', { class: 'empty' }, t('case.notes.none'))
        : h('ul', { class: 'notes', id: 'case-notes' }, notes.map((n) => h('li', { class: 'note', dataset: { noteId: n.id } },
          h('p', { class: 'note-text' }, n.text ?? ''),
          h('p', { class: 'meta' }, (n.user_name || '#' + n.user_id) + ' · ', h('time', { datetime: n.created_at || '' }, fmtDateTime(n.created_at, l)))))),
      noteForm);
    notesPanel.id = 'case-notes-panel';

    body.replaceChildren(
      h('div', { class: 'grid grid-2' }, factsPanel, h('div', null, statusPanel, outPanel)),
      h('div', { class: 'grid grid-2' }, h('div', null, trigPanel, respPanel), notesPanel),
      h('div', { class: 'grid grid-2' }, histPanel, othersPanel));
  }

  // Resolving: a message to the customer (prefilled in their language) and
  // the choice of a short re-survey.
  function resolvePanel(c, noContact) {
    const text = h('textarea', { name: 'customer_message', id: 'case-customer-message', rows: '9', maxlength: '4000' });
    text.value = noContact ? '' : startText(c);
    // the exact mail as the server will send it
    const preview = h('div', { id: 'case-preview', class: 'case-preview', hidden: true, 'aria-live': 'polite' });
    const showPreview = async () => {
      const m = text.value;
      if (!m.trim()) { preview.hidden = true; return false; }
      try {
        const p = await api('/cases/' + c.id + '/message-preview', { method: 'POST', body: { customer_message: m } });
        preview.replaceChildren(h('h4', null, t('case.preview.title')),
          h('p', { class: 'meta' }, t('case.preview.to', { to: p.to || '–' })),
          h('p', { class: 'meta', id: 'case-preview-subject' }, t('case.preview.subject', { s: p.subject })),
          h('pre', { class: 'mail-text', id: 'case-preview-text' }, p.text));
        preview.dataset.state = 'ok';
        preview.hidden = false;
        return true;
      } catch (err) {
        preview.replaceChildren(h('p', { class: 'notice notice-error', role: 'alert', id: 'case-preview-error',
          title: errorDetail(err), dataset: { field: err.field || '' } }, errorText(err)));
        preview.dataset.state = 'error';
        preview.hidden = false;
        return false;
      }
    };
    const previewBtn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'case-preview-btn', onclick: showPreview }, t('case.preview'));
    const resurvey = h('input', { type: 'checkbox', name: 'resurvey', id: 'case-resurvey', checked: !noContact, disabled: noContact });
    const form = h('form', { id: 'case-resolve', class: 'case-resolve', hidden: true },
      h('h3', null, t('case.resolve')),
      noContact ? h('p', { class: 'hint' }, t('case.resolve.no_contact'))
        : field(t('case.message'), text, t('case.message.hint') + ' ' + t('case.message.placeholders')),
      noContact ? null : h('div', { class: 'form-actions' }, previewBtn),
      noContact ? null : preview,
      noContact ? null : h('label', { class: 'check', for: 'case-resurvey' }, resurvey, t('case.resurvey')),
      h('div', { class: 'form-actions' },
        h('button', { type: 'submit', class: 'btn', id: 'case-resolve-submit' }, t('case.resolve.submit')),
        h('button', { type: 'button', class: 'btn btn-secondary', onclick: () => { form.hidden = true; } }, t('case.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const fields = { status: 'resolved' };
      const m = text.value;
      // the mail is shown before it goes: a refused text stops here
      if (!noContact && m.trim()) {
        if (!(await showPreview())) return;
        fields.customer_message = m;
      }
      if (!noContact) fields.resurvey = resurvey.checked;
      patch(fields, t('case.status.changed', { status: t('case.status.resolved') }));
    });
    return form;
  }

  try {
    await causesP;  // asked for at the same time as the case
    await load();
  } catch (err) {
    if (ctx.alive()) body.append(errorNotice(err));
  }
}
