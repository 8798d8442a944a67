#!/usr/bin/env node
// account.mjs — browser tests of the account page ("Mijn account" / "My
// account", web/js/pages/account.js) against the real server on a small
// demo database:
//
//   KS_BIN=build/asan/klantstem node tests/browser/account.mjs
//
// As the demo director: the name in the header opens the page; an API token
// is created (its secret shown once, never in the list) and works, then is
// revoked with its button and is refused; the password is changed on the
// page: the page says tokens are revoked, the other token is refused, this
// browser stays logged in and can write (fresh CSRF token); Dutch and
// English. As the demo admin: the users list, a director disabled (login
// refused) and enabled again (login works), no button on the own row. TAP
// lines, screenshots in build/screenshots/, exit status 1 on any failure.

import fs from 'node:fs';
import {
  USERS, PASSWORD, binary, tmpDir, makeDemo, startServer, launchBrowser, resetContext,
  loginUi, waitPage, tap, shot, go,
} from './lib.mjs';

const { ok, eq, group, run } = tap('account browser tests');
const NEW_PASSWORD = 'a-new-director-password-1';

// The API from node (no browser): a bearer token or a JSON login.
async function call(base, method, p, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + '/api/v1' + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await r.json(); } catch { /* no JSON */ }
  return { status: r.status, body: data };
}

async function createToken(page, name) {
  await page.fill('#token-form input[name="name"]', name);
  await page.click('#token-form button[type="submit"]');
  await page.waitForFunction((n) => [...document.querySelectorAll('#tokens-table td')].some((td) => td.textContent === n), name);
  return page.textContent('#token-value');
}

async function director(page, base) {
  await loginUi(page, base, USERS.director);
  await page.click('#account-link');
  await waitPage(page, 'account');
  eq(await page.textContent('main h1'), 'Mijn account', 'account: the name in the header opens "Mijn account"');
  ok((await page.textContent('#account-facts')).includes(USERS.director), 'account: the page shows the e-mail address');
  eq(await page.$('#users-table'), null, 'account: a director sees no users list');
  ok(await page.isVisible('#tokens-none'), 'account: no tokens yet: the page says so');

  // a token: shown once, works, listed without its secret
  const secret = (await createToken(page, 'rapport-script')).trim();
  ok(secret.length >= 40, 'tokens: the new token is shown', secret);
  const table = await page.textContent('#tokens-table');
  ok(!table.includes(secret), 'tokens: the list does not show the secret');
  let r = await call(base, 'GET', '/auth/me', { token: secret });
  eq(r.status, 200, 'tokens: the token shown works as a bearer token');
  await shot(page, 'account-director');

  // revoke it with its button
  const id = await page.getAttribute('#tokens-table button[data-revoke]', 'data-revoke');
  await page.click(`#tokens-table button[data-revoke="${id}"]`);
  await page.waitForSelector('#tokens-none');
  ok((await page.textContent('#tokens-msg')).includes('ingetrokken'), 'tokens: the page says the token is revoked');
  r = await call(base, 'GET', '/auth/me', { token: secret });
  eq(r.status, 401, 'tokens: the revoked token is refused');

  // password change: the other token is revoked, this browser goes on
  const second = (await createToken(page, 'koppeling')).trim();
  eq((await call(base, 'GET', '/auth/me', { token: second })).status, 200, 'password: a second token works before the change');
  await page.fill('#password-form input[name="current_password"]', 'wrong-password-00');
  await page.fill('#password-form input[name="new_password"]', NEW_PASSWORD);
  await page.fill('#password-form input[name="new_password_again"]', NEW_PASSWORD);
  await page.click('#password-form button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('#password-msg')?.textContent);
  eq(await page.textContent('#password-msg'), 'Het huidige wachtwoord klopt niet.', 'password: a wrong current password is named');
  await page.fill('#password-form input[name="current_password"]', PASSWORD);
  await page.fill('#password-form input[name="new_password"]', NEW_PASSWORD);
  await page.fill('#password-form input[name="new_password_again"]', NEW_PASSWORD + 'x');
  await page.click('#password-form button[type="submit"]');
  eq(await page.textContent('#password-msg'), 'De twee nieuwe wachtwoorden zijn niet gelijk.', 'password: two different new passwords are refused on the page');
  await page.fill('#password-form input[name="new_password_again"]', NEW_PASSWORD);
  await page.click('#password-form button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('#password-msg')?.textContent.startsWith('Wachtwoord gewijzigd'));
  ok((await page.textContent('#password-msg')).includes('1 API-token(s) ingetrokken'), 'password: the page says the token was revoked',
    await page.textContent('#password-msg'));
  eq((await call(base, 'GET', '/auth/me', { token: second })).status, 401, 'password: the token is refused after the change');
  await page.waitForSelector('#tokens-none');
  const third = (await createToken(page, 'na de wijziging')).trim();
  ok(third.length >= 40, 'password: this browser stays logged in and writes (a new token) with its fresh CSRF token');
  await go(page, base, '#/account', 'account');
  eq(await page.textContent('main h1'), 'Mijn account', 'password: after a reload the browser is still logged in');
  eq((await call(base, 'POST', '/auth/login', { body: { email: USERS.director, password: NEW_PASSWORD } })).status, 200,
    'password: the new password logs in');

  // English
  await page.click('.lang-btn[data-lang="en"]');
  await waitPage(page, 'account');
  eq(await page.textContent('main h1'), 'My account', 'language: EN heading');
  ok((await page.textContent('#tokens-table')).includes('Revoke'), 'language: EN buttons');
  await page.click('.lang-btn[data-lang="nl"]');
  await waitPage(page, 'account');
}

async function admin(page, base) {
  await loginUi(page, base, USERS.admin);
  await go(page, base, '#/account', 'account');
  await page.waitForSelector('#users-table');
  const rows = await page.$$eval('#users-table tbody tr', (trs) => trs.map((tr) => tr.textContent));
  ok(rows.some((x) => x.includes(USERS.director)), 'users: the admin sees the users list', rows);
  const own = await page.$$eval('#users-table tbody tr', (trs, me) => trs.filter((tr) => tr.textContent.includes(me))
    .map((tr) => tr.querySelector('button') === null), USERS.admin);
  eq(own, [true], 'users: no disable button on the admin\'s own row');
  const dirId = await page.$$eval('#users-table tbody tr', (trs, d) => trs.find((tr) => tr.textContent.includes(d))?.dataset.user, USERS.director);
  await page.click(`#users-table button[data-toggle="${dirId}"]`);
  await page.waitForSelector(`#users-table tr[data-user="${dirId}"][data-active="false"]`);
  ok((await page.textContent('#users-msg')).includes('uitgeschakeld'), 'users: the page says the director is disabled');
  await shot(page, 'account-admin');
  eq((await call(base, 'POST', '/auth/login', { body: { email: USERS.director, password: NEW_PASSWORD } })).status, 401,
    'users: the disabled director cannot log in');
  await page.click(`#users-table button[data-toggle="${dirId}"]`);
  await page.waitForSelector(`#users-table tr[data-user="${dirId}"][data-active="true"]`);
  eq((await call(base, 'POST', '/auth/login', { body: { email: USERS.director, password: NEW_PASSWORD } })).status, 200,
    'users: enabled again, the director logs in');
}

async function main() {
  const bin = binary();
  if (!fs.existsSync(bin)) {
    ok(false, 'server binary exists', bin + ' not found (make build/asan/klantstem, or set KS_BIN)');
    return;
  }
  const dir = tmpDir('ks-account-');
  let srv = null;
  let browser = null;
  try {
    const db = makeDemo(bin, dir, 1);
    srv = await startServer(bin, db);
    browser = await launchBrowser();
    const page = browser.context.pages()[0] || await browser.context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await group('director', () => director(page, srv.base));
    await resetContext(browser.context);
    await group('admin', () => admin(page, srv.base));
    eq(errors, [], 'no script errors on the page');
  } finally {
    if (browser) await browser.close();
    if (srv) {
      const { code } = await srv.stop();
      eq(code, 0, 'server exits 0 on SIGTERM');
      const err = srv.stderr();
      ok(!/AddressSanitizer|runtime error:|LeakSanitizer/.test(err), 'no sanitizer report in server stderr', err.slice(-3000));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

run(main);
