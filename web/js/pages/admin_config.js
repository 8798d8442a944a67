// pages/admin_config.js — the administration sections other than users
// (issue 13): surveys and their questions (PATCH /surveys/ID), a
// touchpoint's invitation rule (GET|PUT /touchpoints/ID/rule), the alert
// rules that open cases (GET /alert-rules, PUT /alert-rules/ID), and the
// organisation's settings (GET|PUT /settings) with a test mail
// (POST /admin/smtp-test). Each form sends what the API documents and shows
// the API's refusal with the field it names.

import { api, errorDetail } from '../api.js';
import { h, field, select, clear } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDateTime } from '../format.js';
import { panel, errorNotice } from '../widgets.js';
import { say, errText, listAll } from './admin.js';
import { reviewSettingsPanel } from './review_settings.js';  // review invitations (issue 16 H3)

function numberInput(name, value, min, max) {
  return h('input', { type: 'number', name, value: value ?? '', min, max, step: 1, inputmode: 'numeric' });
}

function checkbox(name, checked, label) {
  const box = h('input', { type: 'checkbox', name, checked: Boolean(checked) });
  return h('label', { class: 'check' }, box, label);
}

// Mark the control the API named as invalid (and only that one).
function markField(form, err) {
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const bad = err?.field ? form.querySelector('[name="' + CSS.escape(err.field) + '"]') : null;
  if (bad) {
    bad.setAttribute('aria-invalid', 'true');
    bad.focus();
  }
}

// ---- surveys ----------------------------------------------------------------------------

function questionFields(q, i) {
  const nl = h('input', { type: 'text', name: 'questions[' + i + '].text.nl', value: q.text?.nl ?? '' });
  const en = h('input', { type: 'text', name: 'questions[' + i + '].text.en', value: q.text?.en ?? '' });
  const req = checkbox('questions[' + i + '].required', q.required, t('admin.q.required'));
  const kind = t('admin.q.type.' + q.type) + (q.aspect ? ' — ' + q.aspect : '');
  return {
    el: h('fieldset', { class: 'question', dataset: { question: i } },
      h('legend', null, (i + 1) + '. ' + kind),
      field(t('admin.q.text.nl'), nl), field(t('admin.q.text.en'), en), req),
    read: () => ({ ...q, text: { nl: nl.value, en: en.value }, required: req.querySelector('input').checked }),
  };
}

function surveyForm(s) {
  const msg = h('p', { class: 'hint', role: 'status' });
  const name = h('input', { type: 'text', name: 'name', value: s.name, required: true });
  const qs = (s.questions || []).map(questionFields);
  const submit = h('button', { type: 'submit', class: 'btn' }, t('admin.save'));
  const form = h('form', { dataset: { survey: s.id }, novalidate: true },
    field(t('admin.surveys.name'), name), qs.map((q) => q.el), msg, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    try {
      const saved = await api('/surveys/' + s.id, { method: 'PATCH', body: { name: name.value.trim(), questions: qs.map((q) => q.read()) } });
      markField(form, null);
      say(msg, t('admin.saved', { name: saved.name }));
    } catch (err) {
      markField(form, err);
      say(msg, errText(err), true, errorDetail(err));
    } finally {
      submit.disabled = false;
    }
  });
  return h('details', { class: 'panel admin-item' }, h('summary', null, s.name), form);
}

export async function surveysSection(body) {
  const surveys = await listAll('surveys');
  body.append(panel(t('admin.surveys.title'), t('admin.surveys.sub'),
    h('p', { class: 'hint' }, t('admin.surveys.note'))),
  h('div', { id: 'admin-surveys' }, surveys.map(surveyForm)));
}

// ---- touchpoint rules ---------------------------------------------------------------------

const RULE_NUMBERS = [
  ['delay_minutes', 0, 10080], ['quiet_start_hour', 0, 23], ['quiet_end_hour', 0, 23],
  ['sample_pct', 0, 100], ['fatigue_days', 0, 365], ['expiry_days', 1, 90], ['reminder_days', 0, 30],
];

function ruleForm(tp, rule, surveys) {
  const msg = h('p', { class: 'hint', role: 'status', id: 'rule-msg' });
  const enabled = checkbox('enabled', rule.enabled, t('admin.rule.enabled'));
  const excl = checkbox('exclude_open_case', rule.exclude_open_case, t('admin.rule.exclude_open_case'));
  const survey = select([{ value: '', label: t('admin.rule.survey.default') }].concat(surveys.map((s) => ({ value: s.id, label: s.name }))),
    rule.survey_id ?? '', { name: 'survey_id' });
  const nums = RULE_NUMBERS.map(([k, min, max]) => [k, numberInput(k, rule[k], min, max)]);
  const submit = h('button', { type: 'submit', class: 'btn' }, t('admin.save'));
  const form = h('form', { id: 'rule-form', dataset: { touchpoint: tp.id }, novalidate: true },
    h('h3', null, t('admin.rule.of', { name: tp.name })),
    enabled,
    field(t('admin.rule.survey'), survey),
    h('div', { class: 'form-row' }, nums.map(([k, el]) => field(t('admin.rule.' + k), el))),
    excl, msg, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const bodyJson = {
      survey_id: survey.value ? Number(survey.value) : null,
      enabled: enabled.querySelector('input').checked,
      exclude_open_case: excl.querySelector('input').checked,
    };
    for (const [k, el] of nums) bodyJson[k] = el.value === '' ? null : Number(el.value);
    for (const k of Object.keys(bodyJson)) if (bodyJson[k] === null && k !== 'survey_id') delete bodyJson[k];
    submit.disabled = true;
    try {
      await api('/touchpoints/' + tp.id + '/rule', { method: 'PUT', body: bodyJson });
      markField(form, null);
      say(msg, t('admin.rule.saved', { name: tp.name }));
    } catch (err) {
      markField(form, err);
      say(msg, errText(err), true, errorDetail(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export async function rulesSection(body, ctx) {
  const [tps, surveys] = await Promise.all([listAll('touchpoints'), listAll('surveys')]);
  const holder = h('div', { id: 'rule-holder' });
  const want = Number(ctx.query.get('touchpoint')) || tps[0]?.id;
  const pick = select(tps.map((tp) => ({ value: tp.id, label: tp.name })), want, { name: 'touchpoint', id: 'rule-touchpoint' });
  async function load() {
    const tp = tps.find((x) => String(x.id) === pick.value);
    if (!tp) return;
    ctx.setQuery({ touchpoint: tp.id });
    clear(holder).append(h('p', { class: 'loading' }, t('loading')));
    try {
      const rule = await api('/touchpoints/' + tp.id + '/rule');
      clear(holder).append(ruleForm(tp, rule, surveys));
    } catch (err) {
      clear(holder).append(errorNotice(err));
    }
  }
  pick.addEventListener('change', load);
  body.append(panel(t('admin.rules.title'), t('admin.rules.sub'), field(t('admin.rules.touchpoint'), pick), holder));
  if (tps.length === 0) holder.append(h('p', { class: 'empty' }, t('admin.rules.none')));
  else await load();
}

// ---- alert rules --------------------------------------------------------------------------

function alertRow(r, msg) {
  const parts = [];
  const inputs = {};
  if (r.kind === 'words') {
    inputs.words = h('input', { type: 'text', name: 'words', value: r.words ?? '' });
  } else {
    inputs.threshold = numberInput('threshold', r.threshold, 0, 10);
  }
  if (r.kind === 'repeat_low') inputs.window_days = numberInput('window_days', r.window_days, 1, 730);
  inputs.sla_hours = numberInput('sla_hours', r.sla_hours, 1, 8760);
  for (const [k, el] of Object.entries(inputs)) parts.push(field(t('admin.alert.' + k), el));
  const working = checkbox('working_days', r.working_days, t('admin.alert.working_days'));
  const enabled = checkbox('enabled', r.enabled, t('admin.alert.enabled'));
  const save = h('button', { type: 'submit', class: 'btn btn-secondary' }, t('admin.save'));
  save.setAttribute('aria-label', t('admin.alert.save.named', { kind: t('admin.alert.kind.' + r.kind) }));
  const form = h('form', { class: 'alert-rule', dataset: { alertRule: r.id }, novalidate: true },
    h('h3', null, t('admin.alert.kind.' + r.kind)),
    h('div', { class: 'form-row' }, parts), working, enabled,
    r.updated_at ? h('p', { class: 'hint' }, t('admin.alert.updated', { when: fmtDateTime(r.updated_at, lang()) })) : null,
    h('div', { class: 'form-actions' }, save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const b = { working_days: working.querySelector('input').checked, enabled: enabled.querySelector('input').checked };
    for (const [k, el] of Object.entries(inputs)) b[k] = k === 'words' ? el.value : Number(el.value);
    save.disabled = true;
    try {
      await api('/alert-rules/' + r.id, { method: 'PUT', body: b });
      markField(form, null);
      say(msg, t('admin.alert.saved', { kind: t('admin.alert.kind.' + r.kind) }));
    } catch (err) {
      markField(form, err);
      say(msg, errText(err), true, errorDetail(err));
    } finally {
      save.disabled = false;
    }
  });
  return h('div', { class: 'panel admin-item' }, form);
}

export async function alertsSection(body) {
  const res = await api('/alert-rules');
  const msg = h('p', { class: 'hint', role: 'status', id: 'alerts-msg' });
  body.append(panel(t('admin.alerts.title'), t('admin.alerts.sub'), msg),
    h('div', { id: 'admin-alerts' }, (res.items || []).map((r) => alertRow(r, msg))));
}

// ---- organisation settings ----------------------------------------------------------------

// Settings the page knows how to edit; those the API does not return are
// not shown (another part of the product adds them). The logo is sent as
// `logo` (a data: URL of a PNG, JPEG or GIF, or null to remove it) and read
// back as `logo_url` (served at /logo).
const TEXT_SETTINGS = ['organisation_name', 'time_zone'];
const LOGO_MAX = 64 * 1024;

function readDataUrl(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

export async function settingsSection(body) {
  const cur = await api('/settings');
  const msg = h('p', { class: 'hint', role: 'status', id: 'settings-msg' });
  const controls = {};
  controls.verbatim_detail = select(['band', 'exact', 'anonymous'].map((v) => ({ value: v, label: t('admin.set.verbatim.' + v) })),
    cur.verbatim_detail, { name: 'verbatim_detail' });
  if ('form_of_address' in cur) {
    controls.form_of_address = select([{ value: 'je', label: t('admin.set.address.je') }, { value: 'u', label: t('admin.set.address.u') }],
      cur.form_of_address, { name: 'form_of_address' });
  }
  for (const k of TEXT_SETTINGS) {
    if (k in cur) controls[k] = h('input', { type: 'text', name: k, value: cur[k] ?? '', maxlength: 127 });
  }
  let logo = null;
  if ('logo_url' in cur) {
    const file = h('input', { type: 'file', name: 'logo', accept: 'image/png,image/jpeg,image/gif' });
    const remove = cur.logo_url ? h('input', { type: 'checkbox', name: 'logo_remove' }) : null;
    logo = { file, remove };
  }
  const submit = h('button', { type: 'submit', class: 'btn' }, t('admin.save'));
  const form = h('form', { id: 'settings-form', novalidate: true },
    Object.entries(controls).map(([k, el]) => field(t('admin.set.' + k), el, k === 'verbatim_detail' ? t('admin.set.verbatim.hint') : null)),
    logo ? h('div', { class: 'field' },
      cur.logo_url ? h('p', null, h('img', { src: cur.logo_url, alt: t('admin.set.logo.current'), class: 'logo-preview' })) : null,
      field(t('admin.set.logo'), logo.file, t('admin.set.logo.hint')),
      logo.remove ? h('label', { class: 'check' }, logo.remove, t('admin.set.logo.remove')) : null) : null,
    cur.updated_at ? h('p', { class: 'hint' }, t('admin.alert.updated', { when: fmtDateTime(cur.updated_at, lang()) })) : null,
    msg, h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const b = {};
    for (const [k, el] of Object.entries(controls)) b[k] = el.value;
    if (logo?.remove?.checked) b.logo = null;
    else if (logo?.file.files?.[0]) {
      const f = logo.file.files[0];
      if (f.size > LOGO_MAX) return say(msg, t('admin.set.logo.big'), true);
      b.logo = await readDataUrl(f);
    }
    submit.disabled = true;
    try {
      await api('/settings', { method: 'PUT', body: b });
      markField(form, null);
      say(msg, t('admin.set.saved'));
    } catch (err) {
      markField(form, err);
      say(msg, errText(err), true, errorDetail(err));
    } finally {
      submit.disabled = false;
    }
  });

  const smtpMsg = h('p', { class: 'hint', role: 'status', id: 'smtp-msg' });
  const to = h('input', { type: 'email', name: 'to', autocomplete: 'off' });
  const send = h('button', { type: 'submit', class: 'btn btn-secondary', id: 'smtp-test' }, t('admin.smtp.send'));
  const smtp = h('form', { id: 'smtp-form', novalidate: true },
    field(t('admin.smtp.to'), to, t('admin.smtp.to.hint')), smtpMsg, h('div', { class: 'form-actions' }, send));
  smtp.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    send.disabled = true;
    try {
      const r = await api('/admin/smtp-test', { method: 'POST', body: to.value.trim() ? { to: to.value.trim() } : {} });
      if (r.sent) say(smtpMsg, t('admin.smtp.sent', { to: r.to }));
      else say(smtpMsg, t('admin.smtp.failed', { to: r.to, detail: r.detail || '' }), true);
    } catch (err) {
      say(smtpMsg, err.field === 'smtp' ? t('admin.smtp.off') : errText(err), true, errorDetail(err));
    } finally {
      send.disabled = false;
    }
  });
  body.append(panel(t('admin.set.title'), null, form), panel(t('admin.smtp.title'), t('admin.smtp.sub'), smtp));
  body.append(await reviewSettingsPanel());  // review invitations (issue 16 H3)
}
