// pages/feeds.js — the review and social feeds the server polls (issue 16
// H2, docs/POLLERS.md): #/feeds, admins only (the server checks every call).
//
// A list of the feeds of GET /api/v1/mention-feeds with their state in
// words (last run, last error, next run, mentions fetched, the last run's
// counts), "run now" (POST …/run answers when the run is done, or 202 for a
// paged feed: the page then follows the feed's runs counter), edit and
// delete; a form to add or change one. The auth header is a secret the
// server never sends back: the form says whether one is set and leaves it
// alone unless a new one is typed or "remove" is ticked.

import { api, errorDetail } from '../api.js';
import { h, field, select, clear, announce } from '../dom.js';
import { t, lang } from '../i18n.js';
import { fmtDateTime, fmtInt } from '../format.js';
import { panel, errorNotice } from '../widgets.js';
import { say, errText } from './admin.js';

const FORMATS = ['trustpilot', 'google', 'kiyoh', 'appstore', 'social', 'generic-json', 'generic-csv'];

// The form's own labels for the member a refusal names (field.url is
// another page's "review page").
const LABELS = { name: 'field.name', format: 'field.format', url: 'feeds.url', auth_header: 'field.auth_header',
  interval_s: 'feeds.interval', enabled: 'feeds.enabled' };

function formError(err) {
  const key = LABELS[err?.field];
  return key && err?.status === 422 ? t('feeds.invalid', { field: t(key) }) : errText(err);
}

function when(iso) {
  return iso ? fmtDateTime(iso, lang()) : t('feeds.never');
}

// "Laatste run: 3 nieuw, 1 bijgewerkt, 12 ongewijzigd (2 pagina's)".
function lastRunText(f) {
  const r = f.last_run;
  if (!r) return t('feeds.run.none');
  return t('feeds.run.counts', { inserted: fmtInt(r.inserted, lang()), updated: fmtInt(r.updated, lang()),
    unchanged: fmtInt(r.unchanged, lang()), pages: fmtInt(r.pages, lang()) });
}

// The outcome of the feed's last run in words: a failure adds one to
// failures, a success sets them to 0 (last_ok_at === last_run_at cannot
// tell: two runs in one second have the same times).
function runOutcome(f) {
  const lr = f.last_run || { inserted: 0, updated: 0, unchanged: 0 };
  return f.last_run_at && f.failures === 0
    ? { ok: true, text: t('feeds.run.ok', { name: f.name, inserted: lr.inserted, updated: lr.updated, unchanged: lr.unchanged }) }
    : { ok: false, text: t('feeds.run.failed', { name: f.name, error: f.last_error || '' }) };
}

// A queued run (202: a paged feed, or another feed was being fetched): the
// feed as soon as its runs counter moves past before (read before the
// request: the thread may finish before the 202 arrives), asked every half
// second for up to ten minutes (a backfill of many pages).
async function waitRun(id, before) {
  for (let i = 0; i < 1200; i++) {
    await new Promise((res) => setTimeout(res, 500));
    const f = await api('/mention-feeds/' + id);
    if (f.runs > before) return f;
  }
  return null;
}

function feedItem(f, ctx) {
  const stateClass = f.state === 'failing' ? ' badge-bad' : f.state === 'disabled' ? ' badge-off' : '';
  const run = h('button', {
    type: 'button', class: 'btn btn-small', dataset: { run: f.id },
    'aria-label': t('feeds.run.named', { name: f.name }),
    onclick: async () => {
      run.disabled = true;
      say(ctx.msg, t('feeds.running', { name: f.name }));
      try {
        const before = (await api('/mention-feeds/' + f.id)).runs;
        const r = await api('/mention-feeds/' + f.id + '/run', { method: 'POST' });
        let feed = r.feed;
        if (r.queued) {
          say(ctx.msg, t('feeds.run.queued', { name: f.name }));
          feed = (await waitRun(f.id, before)) || r.feed;
        }
        ctx.replace(feed);
        const done = r.run
          ? { ok: r.run.ok, text: r.run.ok
            ? t('feeds.run.ok', { name: f.name, inserted: r.run.inserted, updated: r.run.updated, unchanged: r.run.unchanged })
            : t('feeds.run.failed', { name: f.name, error: r.run.error || '' }) }
          : runOutcome(feed);
        say(ctx.msg, done.text, !done.ok);
      } catch (err) {
        say(ctx.msg, errText(err), true, errorDetail(err));
      }
      run.disabled = false;
    },
  }, t('feeds.run'));
  const edit = h('button', {
    type: 'button', class: 'btn btn-secondary btn-small', dataset: { edit: f.id },
    'aria-label': t('feeds.edit.named', { name: f.name }), onclick: () => ctx.edit(f),
  }, t('feeds.edit'));
  const del = h('button', {
    type: 'button', class: 'btn btn-secondary btn-small', dataset: { delete: f.id },
    'aria-label': t('feeds.delete.named', { name: f.name }),
    onclick: async () => {
      if (!window.confirm(t('feeds.delete.confirm', { name: f.name }))) return;
      try {
        await api('/mention-feeds/' + f.id, { method: 'DELETE' });
        ctx.remove(f.id);
        say(ctx.msg, t('feeds.deleted', { name: f.name }));
      } catch (err) {
        say(ctx.msg, errText(err), true, errorDetail(err));
      }
    },
  }, t('feeds.delete'));
  const facts = h('dl', { class: 'feed-facts' },
    h('dt', null, t('feeds.last')), h('dd', { dataset: { fact: 'last' } }, when(f.last_run_at)),
    h('dt', null, t('feeds.next')), h('dd', { dataset: { fact: 'next' } }, f.enabled ? when(f.next_run_at) : t('feeds.state.disabled')),
    h('dt', null, t('feeds.fetched')), h('dd', { dataset: { fact: 'fetched' } }, fmtInt(f.mentions_fetched, lang())),
    h('dt', null, t('feeds.lastrun')), h('dd', { dataset: { fact: 'lastrun' } }, lastRunText(f)),
    f.failures > 0 ? [h('dt', null, t('feeds.failures')), h('dd', { dataset: { fact: 'failures' } }, fmtInt(f.failures, lang()))] : null,
    f.last_error ? [h('dt', null, t('feeds.error')), h('dd', { class: f.state === 'failing' ? 'error-text' : null, dataset: { fact: 'error' } }, f.last_error)] : null);
  return h('li', { class: 'panel admin-item feed-item', dataset: { feed: f.id, state: f.state } },
    h('h3', null, f.name),
    h('p', null,
      h('span', { class: 'badge' + stateClass, dataset: { badge: f.state } }, t('feeds.state.' + f.state)), ' ',
      t('feeds.format.' + f.format), ' · ', h('span', { class: 'feed-url' }, f.url), ' · ',
      t('feeds.every', { min: fmtInt(Math.round(f.interval_s / 60), lang()) }),
      f.auth_header?.set ? ' · ' + t('feeds.auth.set') : null),
    facts,
    h('div', { class: 'form-actions' }, run, edit, del));
}

// The add/change form; feed null = a new one.
function feedForm(feed, onSaved, onCancel) {
  const msg = h('p', { class: 'hint', role: 'status', id: 'feed-form-msg' });
  const name = h('input', { type: 'text', name: 'name', id: 'feed-name', required: true, maxlength: 200, value: feed?.name ?? '' });
  const format = select(FORMATS.map((f) => ({ value: f, label: t('feeds.format.' + f) })), feed?.format ?? 'trustpilot',
    { name: 'format', id: 'feed-format' });
  const url = h('input', { type: 'url', name: 'url', id: 'feed-url', required: true, maxlength: 2048, class: 'code',
    value: feed?.url ?? '', placeholder: 'https://' });
  const auth = h('input', { type: 'password', name: 'auth_header', id: 'feed-auth', autocomplete: 'off', maxlength: 1024,
    placeholder: feed?.auth_header?.set ? t('feeds.auth.keep') : 'Authorization: Bearer …' });
  const clearAuth = h('input', { type: 'checkbox', id: 'feed-auth-clear', name: 'auth_clear' });
  const minutes = h('input', { type: 'number', name: 'interval_s', id: 'feed-interval', min: 1, max: 10080, step: 1,
    inputmode: 'numeric', value: String(Math.round((feed?.interval_s ?? 3600) / 60)) });
  const enabled = h('input', { type: 'checkbox', name: 'enabled', id: 'feed-enabled', checked: feed ? feed.enabled : true });
  const submit = h('button', { type: 'submit', class: 'btn', id: 'feed-save' }, t(feed ? 'feeds.save' : 'feeds.add'));
  const cancel = feed ? h('button', { type: 'button', class: 'btn btn-secondary', id: 'feed-cancel', onclick: onCancel }, t('feeds.cancel')) : null;
  const form = h('form', { id: 'feed-form', novalidate: true, dataset: { editing: feed ? feed.id : '' } },
    h('div', { class: 'form-row' },
      field(t('field.name'), name), field(t('field.format'), format, t('feeds.format.hint'))),
    field(t('feeds.url'), url, t('feeds.url.hint')),
    field(t('field.auth_header'), auth, t(feed?.auth_header?.set ? 'feeds.auth.hint.set' : 'feeds.auth.hint')),
    feed?.auth_header?.set ? h('label', { class: 'check', for: 'feed-auth-clear' }, clearAuth, t('feeds.auth.clear')) : null,
    h('div', { class: 'form-row' },
      field(t('feeds.interval'), minutes, t('feeds.interval.hint')),
      h('label', { class: 'check', for: 'feed-enabled' }, enabled, t('feeds.enabled'))),
    msg, h('div', { class: 'form-actions' }, submit, cancel));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    const body = { name: name.value.trim(), format: format.value, url: url.value.trim(),
      interval_s: Math.round(Number(minutes.value) * 60), enabled: enabled.checked };
    if (auth.value.trim()) body.auth_header = auth.value.trim();
    else if (clearAuth.checked) body.auth_header = null;
    submit.disabled = true;
    try {
      const saved = await api(feed ? '/mention-feeds/' + feed.id : '/mention-feeds',
        { method: feed ? 'PUT' : 'POST', body });
      auth.value = '';
      onSaved(saved, t(feed ? 'feeds.saved' : 'feeds.added', { name: saved.name }));
    } catch (err) {
      const bad = err?.field ? form.querySelector('[name="' + err.field + '"]') : null;
      if (bad) {
        bad.setAttribute('aria-invalid', 'true');
        bad.focus();
      }
      say(msg, formError(err), true, err?.serverMessage || errorDetail(err));
    }
    submit.disabled = false;
  });
  return form;
}

export async function render(main) {
  main.append(h('h1', null, t('feeds.title')), h('p', { class: 'lead' }, t('feeds.lead')));
  let feeds;
  try {
    feeds = (await api('/mention-feeds')).feeds || [];
  } catch (err) {
    main.append(errorNotice(err));
    return;
  }
  const msg = h('p', { class: 'hint', role: 'status', id: 'feeds-msg' });
  const listEl = h('ul', { id: 'feeds-list', class: 'feed-list' });
  const formHolder = h('div', { id: 'feed-form-holder' });
  const formTitle = h('h2', { id: 'feed-form-title' });
  const ctx = { msg };

  function draw() {
    clear(listEl);
    if (feeds.length === 0) listEl.append(h('li', { class: 'empty' }, t('feeds.none')));
    for (const f of feeds) listEl.append(feedItem(f, ctx));
  }
  function showForm(feed) {
    formTitle.textContent = feed ? t('feeds.edit.title', { name: feed.name }) : t('feeds.new');
    clear(formHolder).append(feedForm(feed, (saved, text) => {
      ctx.replace(saved);
      showForm(null);
      say(msg, text);
      announce(text);
    }, () => showForm(null)));
    if (feed) formHolder.querySelector('#feed-name')?.focus();
  }
  ctx.replace = (f) => {
    const i = feeds.findIndex((x) => x.id === f.id);
    if (i >= 0) feeds[i] = f; else feeds.push(f);
    draw();
  };
  ctx.remove = (id) => {
    feeds = feeds.filter((x) => x.id !== id);
    draw();
  };
  ctx.edit = (f) => showForm(f);
  draw();
  showForm(null);
  main.append(panel(t('feeds.list'), null, msg, listEl),
    h('section', { class: 'panel' }, formTitle, formHolder));
}
