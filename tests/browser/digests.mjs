#!/usr/bin/env node
// digests.mjs — browser tests of the digests page (web/js/pages/digests.js,
// issue 17 D) and the own switch on the account page, against the real
// server on a small demo database with the SMTP sink:
//
//   KS_BIN=build/asan/klantstem node tests/browser/digests.mjs
//
// As the demo admin: "Overzichten" in the menu opens #/digests with the four
// roles (weekly, weekly, monthly, monthly), all off; employees switched on
// at Monday 00:00 and saved (the API reads it back); "send now" for
// employees queues the demo employee one digest (the page says how many),
// the server's scheduler sends it (in the sink) and the sends table, which
// follows for a few seconds, lists it as sent; a malformed period is
// refused and marked on its field; the page in English. The admin's account
// page has no digest switch (admins get none). As the demo team lead: the
// account page's switch is on, switched off (the API reads it back) and on
// again. TAP lines, screenshots in build/screenshots/.

import {
  USERS, startSink, sinkMails, waitMail, withDemoServer, resetContext, loginUi, waitPage, tap, shot, go, apiInPage, tmpDir,
} from './lib.mjs';
import fs from 'node:fs';

const { ok, eq, group, run } = tap('digests browser tests');

// The ISO week label ("2026-W49") of the day `days` from today, in
// Europe/Amsterdam (the server's default zone), by the calendar's own rule.
function isoWeek(days) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam', year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(new Date()).split('-').map(Number);
  const d = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] + days));
  const wd = (d.getUTCDay() + 6) % 7;            // Monday 0
  d.setUTCDate(d.getUTCDate() - wd + 3);         // the Thursday of its week
  const y = d.getUTCFullYear();
  const week = 1 + Math.floor((d - Date.UTC(y, 0, 1)) / 86400000 / 7);  // week 1 holds the year's first Thursday
  return y + '-W' + String(week).padStart(2, '0');
}

async function admin(page, base, sinkDir) {
  await loginUi(page, base, USERS.admin);
  ok(await page.isVisible('nav a[href="#/digests"]'), 'admin: the menu has the digests page');
  await page.click('nav a[href="#/digests"]');
  await waitPage(page, 'digests');
  eq(await page.textContent('main h1'), 'Overzichten per mail', 'digests: the page title in Dutch');
  const roles = await page.$$eval('#dg-settings tbody tr', (rs) => rs.map((r) => [r.dataset.role,
    r.querySelector('input[name="enabled"]').checked]));
  eq(roles, [['employee', false], ['team_lead', false], ['manager', false], ['director', false]],
    'digests: four roles, all off after the migration');
  ok(await page.$('#dg-settings tr[data-role="employee"] select[name="weekday"]') !== null &&
     await page.$('#dg-settings tr[data-role="director"] select[name="day_of_month"]') !== null,
  'digests: weekly roles choose a weekday, monthly roles a day of the month');

  await page.check('#dg-settings tr[data-role="employee"] input[name="enabled"]');
  await page.selectOption('#dg-settings tr[data-role="employee"] select[name="weekday"]', '1');
  await page.selectOption('#dg-settings tr[data-role="employee"] select[name="hour"]', '0');
  await page.click('#dg-save');
  await page.waitForFunction(() => document.querySelector('#dg-msg')?.textContent);
  eq(await page.textContent('#dg-msg'), 'De instellingen zijn opgeslagen.', 'digests: saved, the page says so');
  const st = await apiInPage(page, 'GET', '/digests/settings');
  const emp = st.body.items.find((i) => i.role === 'employee');
  ok(emp.enabled && emp.weekday === 1 && emp.hour === 0, 'digests: the API reads the saved setting back', emp);

  // a malformed period is refused and marked
  await page.fill('#dg-run-period', '2026-13');
  await page.click('#dg-run');
  await page.waitForFunction(() => document.querySelector('#dg-run-msg')?.getAttribute('role') === 'alert');
  eq(await page.getAttribute('#dg-run-period', 'aria-invalid'), 'true', 'send now: a malformed period is marked invalid');

  // the server's own scheduler (real clock) sends the last whole week's digest by itself
  const last = isoWeek(-7);
  let mails = await waitMail(sinkDir, (m) => m.rcpt.includes(USERS.employee));
  ok(mails.length === 1 && mails[0].subject.endsWith('Je weekoverzicht ' + last),
    'the schedule sends the demo employee the digest of ' + last + ' within seconds', mails.map((m) => m.subject));

  // send now for the same period: nothing new (once per period)
  await page.fill('#dg-run-period', '');
  await page.selectOption('#dg-run-role', 'employee');
  await page.click('#dg-run');
  await page.waitForFunction(() => /ingepland/.test(document.querySelector('#dg-run-msg')?.textContent || ''));
  eq(await page.textContent('#dg-run-msg'), '0 nieuw ingepland; de server verstuurt ze in de komende seconden.',
    'send now for the last week again: nothing new');
  // send now for the week before: one more
  const prev = isoWeek(-14);
  await page.fill('#dg-run-period', prev);
  await page.click('#dg-run');
  await page.waitForFunction(() => /^1 /.test(document.querySelector('#dg-run-msg')?.textContent || ''));
  eq(await page.textContent('#dg-run-msg'), '1 nieuw ingepland; de server verstuurt ze in de komende seconden.',
    'send now for ' + prev + ': one digest queued (the scheduler sends it)');
  await page.waitForFunction(() => document.querySelectorAll('#dg-sends-table tr[data-status="sent"]').length === 2);
  const rows = await page.$$eval('#dg-sends-table tbody tr', (rs) => rs.map((r) => r.textContent));
  ok(rows.length === 2 && rows.every((r) => r.includes('Demo Medewerker') && r.includes('verstuurd')) &&
     rows[0].includes(prev) && rows[1].includes(last), 'sends: the table lists both as sent, newest first', rows);
  mails = sinkMails(sinkDir).filter((m) => m.rcpt.includes(USERS.employee));
  eq(mails.map((m) => m.subject.slice(-8)).sort(), [prev, last].sort(), 'the sink holds one digest per week');
  await shot(page, 'digests-admin');

  // English
  await page.evaluate(() => localStorage.setItem('ks.lang', 'en'));
  await go(page, base, '#/digests', 'digests');
  eq(await page.textContent('main h1'), 'Digests by mail', 'digests: the page in English');
  ok((await page.textContent('#dg-settings')).includes('Employees'), 'digests: role names in English');
  await page.evaluate(() => localStorage.setItem('ks.lang', 'nl'));

  await go(page, base, '#/account', 'account');
  eq(await page.$('#own-digests'), null, 'account: an admin receives no digests, so no switch');
}

async function teamLead(page, base) {
  await loginUi(page, base, USERS.team_lead);
  await go(page, base, '#/account', 'account');
  ok(await page.isChecked('#own-digests'), 'account: the team lead\'s digests are on');
  await page.uncheck('#own-digests');
  await page.waitForFunction(() => document.querySelector('#own-digests-msg')?.textContent);
  eq(await page.textContent('#own-digests-msg'), 'Je ontvangt geen overzichten meer.', 'account: switched off, the page says so');
  let r = await apiInPage(page, 'GET', '/me/digests');
  eq(r.body.digests, false, 'account: the API reads the switch back (off)');
  await shot(page, 'digests-account');
  await page.check('#own-digests');
  await page.waitForFunction(() => /weer/.test(document.querySelector('#own-digests-msg')?.textContent || ''));
  r = await apiInPage(page, 'GET', '/me/digests');
  eq(r.body.digests, true, 'account: switched on again');
  ok(!(await page.$('nav a[href="#/digests"]')), 'team lead: no digests page in the menu');
}

async function main() {
  const sinkDir = tmpDir('ks-digests-sink-');
  const sink = await startSink(sinkDir);
  try {
    await withDemoServer('ks-digests-', ok, async ({ base, browser }) => {
      const page = browser.context.pages()[0] || await browser.context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await group('admin', () => admin(page, base, sinkDir));
      await resetContext(browser.context);
      await group('team lead', () => teamLead(page, base));
      eq(errors, [], 'no script errors on the page');
    }, { scale: 1, serverOptions: { args: ['--smtp', 'smtp://127.0.0.1:' + sink.port] } });
  } finally {
    await sink.stop();
    fs.rmSync(sinkDir, { recursive: true, force: true });
  }
}

run(main);
