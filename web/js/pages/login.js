// pages/login.js — e-mail and password; the server sets the session cookie
// (HttpOnly) and answers the CSRF token for later writes.

import { api, showError } from '../api.js';
import { h, field } from '../dom.js';
import { t } from '../i18n.js';

export async function render(main, ctx) {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, spellcheck: 'false' });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error-text', role: 'alert', id: 'login-error' });
  const submit = h('button', { type: 'submit', class: 'btn' }, t('login.submit'));
  const form = h('form', { class: 'login-form', novalidate: true },
    field(t('login.email'), email),
    field(t('login.password'), password),
    error,
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    error.removeAttribute('title');
    if (!email.value || !password.value) {
      error.textContent = t('login.failed');
      return;
    }
    submit.disabled = true;
    try {
      const res = await api('/auth/login', { method: 'POST', body: { email: email.value.trim(), password: password.value } });
      await ctx.onLogin(res.user, res.csrf_token, res);
    } catch (err) {
      if (err.status === 401 || err.status === 403) error.textContent = t('login.failed'); else showError(error, err);
      password.value = '';
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  const bye = ctx.query.get('bye') ? h('p', { class: 'notice', role: 'status' }, t('logged.out')) : null;
  main.append(h('div', { class: 'login' },
    bye,
    h('section', { class: 'panel' },
      h('h1', null, t('login.title')),
      h('p', { class: 'hint' }, t('login.intro')),
      form)));
  email.focus();
}
