// pages/admin_reset.js — "Nieuw wachtwoord" / "New password": the page a
// mailed reset link opens (#/reset/TOKEN, issue 13). Anyone may reach it:
// the token in the address is the permission. POST /auth/reset sets the
// password once; the server ends every session and revokes every API
// token of the account, and the person logs in anew.

import { api, showError } from '../api.js';
import { h, field } from '../dom.js';
import { t } from '../i18n.js';

export async function render(main, ctx) {
  const token = ctx.args[0] || '';
  const next = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, minlength: 10 });
  const again = h('input', { type: 'password', name: 'new_password_again', autocomplete: 'new-password', required: true });
  const msg = h('p', { id: 'reset-msg', class: 'error-text', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'btn' }, t('reset.submit'));
  const form = h('form', { id: 'reset-form', novalidate: true },
    field(t('account.pw.new'), next, t('account.pw.rule')),
    field(t('account.pw.again'), again),
    h('p', { class: 'hint' }, t('reset.effect')),
    msg,
    h('div', { class: 'form-actions' }, submit));
  const box = h('section', { class: 'panel' }, h('h1', null, t('reset.title')), form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    if (next.value.length < 10) { msg.textContent = t('account.pw.short'); return; }
    if (next.value !== again.value) { msg.textContent = t('account.pw.mismatch'); return; }
    submit.disabled = true;
    try {
      await api('/auth/reset', { method: 'POST', body: { token, new_password: next.value } });
      form.replaceWith(h('p', { class: 'notice', role: 'status', id: 'reset-done' }, t('reset.done'), ' ',
        h('a', { href: '#/login' }, t('login.submit'))));
    } catch (err) {
      if (err.status === 410) msg.textContent = t('reset.expired');
      else if (err.field === 'new_password') msg.textContent = t('account.pw.short');
      else if (err.field === 'token') msg.textContent = t('reset.invalid');
      else showError(msg, err);
    } finally {
      submit.disabled = false;
    }
  });
  main.append(h('div', { class: 'login' }, box));
  next.focus();
}
