#!/usr/bin/env node
// admin.mjs — browser tests of the administration page (issue 13,
// web/js/pages/admin.js, admin_config.js, admin_reset.js) against the real
// server on a small demo database, with the SMTP sink
// (tests/api/smtp_sink.py):
//
//   KS_BIN=build/asan/klantstem node tests/browser/admin.mjs
//
// As the demo admin: create a user (team lead of a team), change role and
// unit (manager of a department), mail a password reset link — read it in
// the sink, follow it in the browser, set a password, log in with it — and
// revoke the user's API token; disable the user (login refused); edit a
// touchpoint rule (and meet the API's refusal naming the field), an alert
// rule, a question's text and the organisation's settings, each read back
// through the API; the SMTP test reaches the sink. A director gets no
// administration. TAP lines, screenshots in build/screenshots/.

import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import {
  REPO, USERS, binary, tmpDir, makeDemo, startServer, launchBrowser, resetContext, loginUi, waitPage, tap, shot, go, freePort, apiInPage, startSink, waitMail, goRefused,
} from './lib.mjs';

const { ok, eq, group, run } = tap('admin browser tests');
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const NEW_PW = 'anna-kiest-zelf-1';

// ---- the SMTP sink (as in cases.mjs) ---------------------------------------------------------

// The API from node: a JSON login, a bearer token.
async function call(base, method, p, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + '/api/v1' + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await r.json(); } catch { /* no JSON */ }
  return { status: r.status, body: data };
}

async function csrfOf(page) {
  return (await apiInPage(page, 'GET', '/auth/me')).body.csrf_token;
}

// Click, then wait for the message line to say something other than what it
// said before the click (it may still hold the previous step's message).
async function clickForMsg(page, button, sel) {
  const before = await page.evaluate((s) => document.querySelector(s)?.textContent || '', sel);
  await page.click(button);
  await page.waitForFunction(([s, b]) => {
    const t = document.querySelector(s)?.textContent || '';
    return t.length > 0 && t !== b;
  }, [sel, before]);
  return page.evaluate((s) => ({ text: document.querySelector(s).textContent, cls: document.querySelector(s).className }), sel);
}

async function main() {
  const bin = binary();
  const dir = tmpDir('ks-admin-');
  const mailDir = path.join(dir, 'mail');
  fs.mkdirSync(mailDir);
  const sink = await startSink(mailDir);
  let srv = null;
  let browser = null;
  const problems = [];
  try {
    const db = makeDemo(bin, dir, 1);
    srv = await startServer(bin, db, {
      args: (port) => ['--smtp', 'smtp://127.0.0.1:' + sink.port, '--base-url', 'http://127.0.0.1:' + port],
    });
    const base = srv.base;
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error' && !/401|403|409|410|422/.test(m.text())) problems.push('console: ' + m.text()); });
    page.on('dialog', (d) => d.accept());

    await loginUi(page, base, USERS.admin);
    const units = (await apiInPage(page, 'GET', '/teams?limit=500')).body.items;
    const team = units.find((u) => u.kind === 'team');
    const dept = units.find((u) => u.kind === 'department');
    let anna = null;

    await group('users', async () => {
      ok(await page.isVisible('nav#mainnav a[data-nav="admin"]'), 'users: the admin has "Beheer" in the menu');
      await page.click('nav#mainnav a[data-nav="admin"]');
      await waitPage(page, 'admin');
      eq(await page.textContent('main h1'), 'Beheer', 'users: the page is "Beheer"');
      eq(await page.getAttribute('.subnav a[aria-current="page"]', 'data-section'), 'users', 'users: the users section is the default');

      // create a team lead of a team
      await page.fill('#user-create input[name="name"]', 'Anna Beheertest');
      await page.fill('#user-create input[name="email"]', 'anna@admin.test');
      await page.selectOption('#user-create select[name="role"]', 'team_lead');
      await page.selectOption('#user-create select[name="unit_id"]', String(team.id));
      await page.fill('#user-create input[name="password"]', 'een-beginwachtwoord');
      await page.click('#user-create button[type="submit"]');
      await page.waitForFunction(() => [...document.querySelectorAll('#admin-users-table td')].some((td) => td.textContent === 'anna@admin.test'));
      const users = (await apiInPage(page, 'GET', '/users')).body.items;
      anna = users.find((u) => u.email === 'anna@admin.test');
      eq(anna && [anna.name, anna.role, anna.unit_id, anna.active], ['Anna Beheertest', 'team_lead', team.id, true],
        'users: the new account is a team lead of the chosen team (read back)');
      ok((await page.textContent('#admin-users-msg')).includes('Anna Beheertest'), 'users: the page says the user was created');

      // a team lead without a unit: the API's refusal names the field
      await page.fill('#user-create input[name="name"]', 'Zonder Eenheid');
      await page.fill('#user-create input[name="email"]', 'zonder@admin.test');
      await page.selectOption('#user-create select[name="role"]', 'team_lead');
      await page.selectOption('#user-create select[name="unit_id"]', '');
      await page.fill('#user-create input[name="password"]', 'een-beginwachtwoord');
      await page.click('#user-create button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('#admin-users-msg')?.className === 'error-text');
      ok((await page.textContent('#admin-users-msg')) === 'Het veld ‘Eenheid’ is ongeldig.', 'users: a team lead without a unit is refused, naming the field (unit_id) in Dutch',
        await page.textContent('#admin-users-msg'));

      // role and unit: manager of a department
      const row = `tr[data-user="${anna.id}"]`;
      await page.selectOption(row + ' select[name="role"]', 'manager');
      await page.selectOption(row + ' select[name="unit_id"]', String(dept.id));
      await page.click(row + ' button[data-save]');
      await page.waitForFunction((s) => document.querySelector(s)?.className === 'hint' && document.querySelector(s).textContent.includes('opgeslagen'), '#admin-users-msg');
      const back = (await apiInPage(page, 'GET', '/users/' + anna.id)).body;
      eq([back.role, back.unit_id], ['manager', dept.id], 'users: role and unit saved: a manager of the department (read back)');
      await shot(page, 'admin-users');
    });

    let resetLink = null;
    await group('reset', async () => {
      const m = await clickForMsg(page, `tr[data-user="${anna.id}"] button[data-reset]`, '#admin-users-msg');
      ok(m.cls === 'hint' && m.text.includes('anna@admin.test'), 'reset: the page says the link was mailed to the address', m);
      const got = await waitMail(mailDir, (x) => x.rcpt.includes('anna@admin.test'));
      eq(got.length, 1, 'reset: one mail to the user in the sink');
      const match = /(http:\/\/127\.0\.0\.1:\d+\/#\/reset\/[0-9]+\.[0-9]+\.[0-9a-f]{64})/.exec(got[0]?.text || '');
      ok(match, 'reset: the mail holds the link', (got[0]?.text || '').slice(0, 400));
      resetLink = match[1];
      ok(resetLink.startsWith(base + '/#/reset/'), 'reset: the link is on this server');

      // follow it logged out
      await page.click('#logout');
      await waitPage(page, 'login');
      await page.goto(resetLink);
      await waitPage(page, 'reset');
      eq(await page.textContent('main h1'), 'Nieuw wachtwoord kiezen', 'reset: the link opens "Nieuw wachtwoord kiezen" without logging in');
      await page.fill('#reset-form input[name="new_password"]', NEW_PW);
      await page.fill('#reset-form input[name="new_password_again"]', 'iets-anders-123');
      await page.click('#reset-form button[type="submit"]');
      eq(await page.textContent('#reset-msg'), 'De twee nieuwe wachtwoorden zijn niet gelijk.', 'reset: two different passwords are stopped on the page');
      await page.fill('#reset-form input[name="new_password_again"]', NEW_PW);
      await page.click('#reset-form button[type="submit"]');
      await page.waitForSelector('#reset-done');
      await shot(page, 'admin-reset-done');
      ok((await page.textContent('#reset-done')).startsWith('Je wachtwoord is ingesteld.'), 'reset: the page says "Je wachtwoord is ingesteld."');
      eq((await call(base, 'POST', '/auth/login', { body: { email: 'anna@admin.test', password: 'een-beginwachtwoord' } })).status, 401,
        'reset: the first password no longer logs in');
      await loginUi(page, base, 'anna@admin.test', NEW_PW);
      eq(await page.evaluate(() => document.querySelector('main').dataset.page), 'org', 'reset: the new password logs in (a manager lands on the organisation)');
      ok(!(await page.isVisible('nav#mainnav a[data-nav="admin"]')), 'reset: a manager has no "Beheer" in the menu');

      // the same link again is refused on the page
      await page.click('#logout');
      await waitPage(page, 'login');
      await page.goto(resetLink);
      await waitPage(page, 'reset');
      await page.fill('#reset-form input[name="new_password"]', 'nog-een-wachtwoord');
      await page.fill('#reset-form input[name="new_password_again"]', 'nog-een-wachtwoord');
      await page.click('#reset-form button[type="submit"]');
      await page.waitForFunction(() => (document.querySelector('#reset-msg')?.textContent || '').length > 0);
      eq(await page.textContent('#reset-msg'), 'Deze link is niet geldig of al gebruikt. Vraag de beheerder om een nieuwe.',
        'reset: the link a second time: "niet geldig of al gebruikt"');
    });

    let annaToken = null;
    await group('tokens', async () => {
      await loginUi(page, base, 'anna@admin.test', NEW_PW);
      const r = await apiInPage(page, 'POST', '/auth/tokens', { body: { name: 'anna-script' }, csrf: await csrfOf(page) });
      eq(r.status, 201, 'tokens: the user makes an API token');
      annaToken = r.body.token;
      eq((await call(base, 'GET', '/auth/me', { token: annaToken })).status, 200, 'tokens: the token works');
      await page.click('#logout');
      await waitPage(page, 'login');
      await loginUi(page, base, USERS.admin);
      await go(page, base, '#/admin/users', 'admin');
      await page.click(`tr[data-user="${anna.id}"] button[data-tokens]`);
      await page.waitForSelector('#admin-tokens-table');
      ok((await page.textContent('#admin-tokens-table')).includes('anna-script'), 'tokens: the admin sees the user\'s token by name');
      ok(!(await page.textContent('#admin-tokens')).includes(annaToken), 'tokens: never its secret');
      await page.click('#admin-tokens-table button[data-revoke-token]');
      await page.waitForSelector('#admin-tokens-none');
      eq((await apiInPage(page, 'GET', '/users/' + anna.id + '/tokens')).body.items.length, 0, 'tokens: revoked (read back: none listed)');
      eq((await call(base, 'GET', '/auth/me', { token: annaToken })).status, 401, 'tokens: the revoked token is refused');
    });

    await group('disable', async () => {
      const row = `tr[data-user="${anna.id}"]`;
      await page.click(row + ' button[data-toggle]');
      await page.waitForSelector(row + '[data-active="false"]');
      eq((await apiInPage(page, 'GET', '/users/' + anna.id)).body.active, false, 'disable: the account is inactive (read back)');
      eq((await call(base, 'POST', '/auth/login', { body: { email: 'anna@admin.test', password: NEW_PW } })).status, 401,
        'disable: the disabled account cannot log in');
      ok(!(await page.isVisible(row + ' button[data-reset]')), 'disable: no reset link for a disabled account');
    });

    await group('rules', async () => {
      await page.click('.subnav a[data-section="rules"]');
      await page.waitForSelector('#rule-form');
      const tp = Number(await page.getAttribute('#rule-form', 'data-touchpoint'));
      await page.fill('#rule-form input[name="delay_minutes"]', '45');
      await page.fill('#rule-form input[name="sample_pct"]', '50');
      await page.click('#rule-form button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('#rule-msg')?.className === 'hint' && document.querySelector('#rule-msg').textContent);
      const rule = (await apiInPage(page, 'GET', '/touchpoints/' + tp + '/rule')).body;
      eq([rule.delay_minutes, rule.sample_pct], [45, 50], 'rules: delay and sample saved (read back)');
      await page.fill('#rule-form input[name="quiet_start_hour"]', '25');
      await page.click('#rule-form button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('#rule-msg')?.className === 'error-text');
      ok((await page.textContent('#rule-msg')).includes('quiet_start_hour'), 'rules: hour 25 is refused, naming the field');
      eq(await page.getAttribute('#rule-form input[name="quiet_start_hour"]', 'aria-invalid'), 'true', 'rules: that field is marked invalid');
      eq((await apiInPage(page, 'GET', '/touchpoints/' + tp + '/rule')).body.quiet_start_hour, rule.quiet_start_hour, 'rules: the refused value was not stored');
    });

    await group('alerts', async () => {
      await go(page, base, '#/admin/alerts', 'admin');
      const rules = (await apiInPage(page, 'GET', '/alert-rules')).body.items;
      const r = rules.find((x) => x.kind === 'nps_max');
      const form = `form[data-alert-rule="${r.id}"]`;
      await page.fill(form + ' input[name="sla_hours"]', '12');
      await page.fill(form + ' input[name="threshold"]', '5');
      await page.click(form + ' button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('#alerts-msg')?.className === 'hint' && document.querySelector('#alerts-msg').textContent);
      const back = (await apiInPage(page, 'GET', '/alert-rules')).body.items.find((x) => x.id === r.id);
      eq([back.sla_hours, back.threshold], [12, 5], 'alerts: SLA and threshold saved (read back)');
      await shot(page, 'admin-alerts');
    });

    await group('surveys', async () => {
      await go(page, base, '#/admin/surveys', 'admin');
      const first = (await apiInPage(page, 'GET', '/surveys?limit=1')).body.items[0];
      const form = `form[data-survey="${first.id}"]`;
      await page.click(`#admin-surveys details:has(${form}) summary`);
      await page.fill(form + ' input[name="questions[0].text.en"]', 'Would you recommend us?');
      await page.click(form + ' button[type="submit"]');
      await page.waitForFunction((f) => document.querySelector(f + ' p[role]')?.className === 'hint' && document.querySelector(f + ' p[role]').textContent, form);
      const back = (await apiInPage(page, 'GET', '/surveys/' + first.id)).body;
      eq(back.questions[0].text, { nl: first.questions[0].text.nl, en: 'Would you recommend us?' }, 'surveys: the question\'s English text saved, Dutch unchanged');
      eq(back.questions.length, first.questions.length, 'surveys: no question lost');
    });

    await group('settings', async () => {
      await go(page, base, '#/admin/settings', 'admin');
      await page.selectOption('#settings-form select[name="verbatim_detail"]', 'anonymous');
      await page.click('#settings-form button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('#settings-msg')?.className === 'hint' && document.querySelector('#settings-msg').textContent);
      eq((await apiInPage(page, 'GET', '/settings')).body.verbatim_detail, 'anonymous', 'settings: saved (read back)');
      // the organisation's voice (issue 13, customer voice): name, form of address, logo
      ok(await page.isVisible('#settings-form input[name="organisation_name"]'), 'settings: the organisation\'s name is shown (the API has it)');
      await page.fill('#settings-form input[name="organisation_name"]', 'Energie Beheer BV');
      await page.selectOption('#settings-form select[name="form_of_address"]', 'u');
      const png = path.join(dir, 'logo.png');
      fs.writeFileSync(png, Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'));
      await page.setInputFiles('#settings-form input[name="logo"]', png);
      await page.evaluate(() => { document.querySelector('#settings-msg').textContent = ''; });
      await page.click('#settings-form button[type="submit"]');
      await page.waitForFunction(() => (document.querySelector('#settings-msg')?.textContent || '').length > 0);
      const set = (await apiInPage(page, 'GET', '/settings')).body;
      eq([set.organisation_name, set.form_of_address, set.logo_url], ['Energie Beheer BV', 'u', '/logo'],
        'settings: name, form of address and logo saved (read back; the logo served at /logo)');
      await page.selectOption('#settings-form select[name="verbatim_detail"]', 'band');
      await page.evaluate(() => { document.querySelector('#settings-msg').textContent = ''; });
      await page.click('#settings-form button[type="submit"]');
      await page.waitForFunction(() => (document.querySelector('#settings-msg')?.textContent || '').length > 0);
      const m = await clickForMsg(page, '#smtp-test', '#smtp-msg');
      ok(m.cls === 'hint' && m.text.includes(USERS.admin), 'settings: the SMTP test says the server took the mail to the admin', m);
      eq((await waitMail(mailDir, (x) => x.rcpt.includes(USERS.admin) && x.subject.includes('testmail'))).length, 1, 'settings: the test mail is in the sink');
      await shot(page, 'admin-settings');
    });

    await group('others', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.director);
      ok(!(await page.isVisible('nav#mainnav a[data-nav="admin"]')), 'others: a director has no "Beheer" in the menu');
      eq(await goRefused(page, base, '#/admin/users'), 'org', 'others: #/admin sends a director to the organisation page');
    });
    ok(problems.length === 0, 'pages ran without script errors', problems.join('\n'));
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (srv) {
      const st = await srv.stop();
      const err = srv.stderr();
      ok(!/AddressSanitizer|runtime error:|LeakSanitizer/.test(err), 'server: no sanitizer report', err.slice(-1500));
      ok(st.code === 0, 'server: stopped cleanly on SIGTERM', st);
    }
    await sink.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

run(main);
