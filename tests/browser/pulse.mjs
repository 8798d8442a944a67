#!/usr/bin/env node
// pulse.mjs — browser tests of the employee pulse (issue 17 P, pages/pulse.js
// and the public answer page /p/{token}): on a fresh demo database (a year
// of monthly waves) an admin sees the rounds and the results per unit as the
// API gives them — eNPS beside the customers' NPS, hidden groups in words,
// comments where allowed — changes the settings (a refused minimum shows its
// message, a good one is saved), sends a round now; the scheduler mails it
// through the SMTP sink, and the mailed link is answered on a phone-sized
// viewport (scales fit the screen, one submit, a used link says so); an
// employee sees only the organisation and their own team.
//
//   KS_BIN=build/asan/klantstem node tests/browser/pulse.mjs

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, tmpDir, resetContext, loginUi, tap, shot, go, ApiClient, withDemoServer, startSink, waitMail,
} from './lib.mjs';

const { ok, eq, group, run } = tap('employee pulse browser tests');

const AXE = fs.readFileSync(path.join(REPO, 'tests', 'browser', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// axe-core's serious and critical findings (as tests/browser/a11y.mjs).
async function axe(page, label) {
  await page.evaluate(AXE);
  const v = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .filter((x) => x.impact === 'serious' || x.impact === 'critical')
    .map((x) => x.id + ' ' + x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')));
  eq(v, [], label + ': no serious or critical axe-core finding');
}

// The page's formats, worked out here: nl, one decimal, sign, U+2212.
function nps(v) {
  const text = new Intl.NumberFormat('nl-NL', { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(Math.abs(v));
  if (!/[1-9]/.test(text)) return text;
  return (v < 0 ? '\u2212' : '+') + text;
}

async function main() {
  const mailDir = tmpDir('ks-pulse-mail-');
  const sink = await startSink(mailDir);
  const now = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  try {
    await withDemoServer('ks-pulse-', ok, async ({ base, browser, problems }) => {
      const admin = new ApiClient(base);
      await admin.login(USERS.admin);
      const page = browser.context.pages()[0] || await browser.context.newPage();
      page.on('pageerror', (err) => problems.push(String(err)));
      page.on('dialog', (d) => d.accept());
      await loginUi(page, base, USERS.admin);
      const waves = (await admin.call('GET', '/pulse/waves')).body.items;
      // the newest round with results: an open round has none (issue 17 C1)
      const latest = waves.find((w) => w.status === 'closed');
      let openRound = waves.find((w) => w.status === 'open') || null;

      await group('results as the API gives them', async () => {
        eq(waves.length, 12, 'fixture: the demo holds 12 rounds');
        await go(page, base, '#/pulse', 'pulse');
        ok(await page.isVisible('nav a[href="#/pulse"]'), 'the menu has Medewerkerspuls');
        eq(await page.$$eval('#pulse-waves tbody tr', (trs) => trs.length), 12, 'one row per round');
        await page.waitForSelector('#pulse-results');
        const res = (await admin.call('GET', '/pulse/results?wave=' + latest.id)).body;
        const rows = await page.$$eval('#pulse-results tbody tr', (trs) => trs.map((tr) => ({
          unit: Number(tr.dataset.unit), shown: tr.dataset.shown === 'true', text: tr.textContent,
          nps: tr.querySelector('.nps')?.textContent || null })));
        eq(rows.map((r) => r.unit).sort((a, b) => a - b), res.units.map((u) => u.unit_id).sort((a, b) => a - b),
          'a row per unit of the reply');
        const bad = [];
        for (const u of res.units) {
          const r = rows.find((x) => x.unit === u.unit_id);
          if (r.shown !== u.shown) bad.push([u.name, 'shown']);
          else if (u.shown && r.nps !== nps(u.enps.value)) bad.push([u.name, r.nps, nps(u.enps.value)]);
          else if (!u.shown && u.reason !== 'no_answers' && !r.text.includes('Niet getoond')) bad.push([u.name, 'words']);
        }
        eq(bad, [], 'every shown unit with the API\'s eNPS, every hidden one says so in words');
        ok(res.units.some((u) => !u.shown), 'fixture: some unit of the newest round is hidden');
        const withCust = res.units.filter((u) => u.shown && u.customer_nps.nps);
        ok(withCust.length > 0, 'fixture: units with a customer NPS beside their eNPS');
        if (withCust.length) {
          const txt = rows.find((x) => x.unit === withCust[0].unit_id).text;
          ok(txt.includes(nps(withCust[0].customer_nps.nps.value)), 'the customers\' NPS is shown beside the eNPS', txt);
        }
        const org = res.units.find((u) => u.level === 'organisation');
        const comments = (await admin.call('GET', `/pulse/waves/${latest.id}/comments?unit_id=${org.unit_id}`)).body.items;
        await page.click(`#pulse-results tr[data-unit="${org.unit_id}"] button`);
        await page.waitForSelector(`#pulse-comments-${org.unit_id} li, #pulse-comments-${org.unit_id} p`);
        eq(await page.$$eval(`#pulse-comments-${org.unit_id} li`, (li) => li.length), comments.length,
          'the organisation\'s comments: as many as the API gives (' + comments.length + ')');
        await shot(page, 'pulse-results');
        await page.setViewportSize({ width: 360, height: 740 });
        await go(page, base, '#/pulse', 'pulse');
        await page.waitForSelector('#pulse-results');
        await axe(page, '#/pulse on a phone');
        const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > 361 && !el.closest('.table-wrap, .mainnav'))
          .slice(0, 4).map((el) => el.tagName + (el.id ? '#' + el.id : '')));
        eq(wide, [], '#/pulse: nothing wider than a 360 px phone (tables scroll in place)');
        await page.setViewportSize({ width: 1280, height: 900 });
        await go(page, base, '#/pulse', 'pulse');
      });

      await group('an open round shows no results', async () => {
        if (!openRound) {
          // the demo's newest round closes 7 days after the 3rd: open one
          const r = await admin.call('POST', '/pulse/waves', {});
          eq(r.status, 201, 'fixture: an open round');
          openRound = r.body;
        }
        const res = (await admin.call('GET', '/pulse/results?wave=' + openRound.id)).body;
        eq([res.available, res.units.length], [false, 0], 'the API gives no units of an open round');
        await go(page, base, '#/pulse/' + openRound.id, 'pulse');
        await page.waitForSelector('#pulse-pending');
        ok((await page.textContent('#pulse-pending')).includes('De uitkomst komt als de ronde sluit'),
          'the page says results come when the round closes');
        eq(await page.$$eval('#pulse-results', (x) => x.length), 0, 'and shows no results table');
        const again = await admin.call('POST', '/pulse/waves', {});
        eq(again.status, 409, 'a second open round is refused (409)');
      });

      await group('settings', async () => {
        await page.waitForSelector('#pulse-settings');
        await page.fill('#pulse-min_group', '2');
        await page.click('#pulse-settings button[type="submit"]');
        ok(await page.$eval('#pulse-min_group', (el) => el.validity.rangeUnderflow), 'min group 2: the form itself refuses it (min 3)');
        eq((await admin.call('GET', '/pulse/settings')).body.min_group, 5, 'nothing was saved');
        const direct = await admin.call('PUT', '/pulse/settings', { min_group: 2 });
        eq([direct.status, direct.body?.error?.field], [422, 'min_group'], 'and the server too (422 naming min_group)');
        await page.fill('#pulse-min_group', '5');
        await page.fill('#pulse-cadence_days', '91');
        await page.click('#pulse-settings button[type="submit"]');
        await page.waitForFunction(() => document.querySelector('#pulse-settings-msg')?.textContent === 'Instellingen opgeslagen.');
        const s = (await admin.call('GET', '/pulse/settings')).body;
        eq([s.cadence_days, s.min_group, s.questions.items.length], [91, 5, 3], 'saved: quarterly, groups of 5, three items');
      });

      let link = null;
      await group('send now, the mail, the answer page on a phone', async () => {
        await go(page, base, '#/pulse', 'pulse');
        await page.click('#pulse-send');
        await page.waitForFunction(() => (document.querySelector('#pulse-action-msg')?.textContent || '').length > 0);
        eq(await page.textContent('#pulse-action-msg'), 'Er is al een ronde open: sluit die eerst. Twee open rondes tegelijk zouden twee reeksen links betekenen.',
          'send now while a round is open: the refusal says why');
        await Promise.all([
          page.waitForFunction(() => document.querySelector('main')?.dataset.ready === 'true' && !document.querySelector('#pulse-close')),
          page.click('#pulse-close'),
        ]);
        eq((await admin.call('GET', '/pulse/waves/' + openRound.id)).body.status, 'closed', 'the close button closes the open round');
        // the page shows the round just closed (#/pulse/ID, newer than the
        // newest closed one of the demo): wait for a round newer than that one
        await Promise.all([
          page.waitForFunction((old) => /^#\/pulse\/\d+$/.test(location.hash) && Number(location.hash.split('/').pop()) > old
            && document.querySelector('main')?.dataset.ready === 'true', Math.max(latest.id, openRound.id)),
          page.click('#pulse-send'),
        ]);
        const w = (await admin.call('GET', '/pulse/waves')).body.items[0];
        eq([w.status, w.invited > 0], ['open', true], 'the button opened a round (' + w.invited + ' invited)');
        const r = await admin.call('POST', '/admin/scheduler/run');
        eq(r.status, 200, 'the scheduler runs its pass');
        const mails = await waitMail(mailDir, (m) => /\/p\/[A-Za-z0-9_-]+/.test(m.text));
        ok(mails.length === w.invited, 'every invited employee got a mail with a link (' + mails.length + ')');
        link = mails[0].text.match(/(http:\/\/127\.0\.0\.1:\d+\/p\/[A-Za-z0-9_-]+)/)[1];
        const phone = await browser.context.newPage();
        await phone.setViewportSize({ width: 360, height: 740 });
        await phone.goto(link);
        ok((await phone.textContent('legend')).includes('aanbeveelt als werkgever'), 'the page asks the eNPS question');
        const wide = await phone.evaluate(() => [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > 361).map((el) => el.tagName).slice(0, 4));
        eq(wide, [], 'nothing wider than a 360 px phone');
        const sizes = await phone.$$eval('#q_enps .scale span', (s) => s.map((x) => [x.getBoundingClientRect().width,
          x.getBoundingClientRect().height]));
        ok(sizes.length === 11 && sizes.every(([wd, ht]) => wd >= 24 && ht >= 48), 'eleven score buttons in one row, each at least 24 x 48 px',
          sizes);
        const rowsTop = await phone.$$eval('#q_enps .scale span', (s) => new Set(s.map((x) => Math.round(x.getBoundingClientRect().top))).size);
        eq(rowsTop, 1, 'the 0-10 scale is one row');
        await axe(phone, 'the answer page');
        await phone.click('#q_enps label:has(input[value="9"])');
        for (const q of ['i1', 'i2', 'i3']) await phone.click(`#q_${q} label:has(input[value="4"])`);
        await phone.fill('#open', 'Meer tijd per klant graag.');
        await shot(phone, 'pulse-phone-form');
        await Promise.all([phone.waitForNavigation(), phone.click('button[type="submit"]')]);
        ok((await phone.textContent('h1')).includes('Dank je wel'), 'one submit: thank you');
        await phone.goto(link);
        ok((await phone.textContent('h1')).includes('Al beantwoord'), 'the link again: already answered, clearly');
        const after = (await admin.call('GET', '/pulse/waves/' + w.id)).body;
        eq(after.answered, 1, 'the round counts one answer');
        await phone.close();
      });

      await resetContext(browser.context);
      await loginUi(page, base, USERS.employee);
      await group('an employee', async () => {
        const emp = new ApiClient(base);
        await emp.login(USERS.employee);
        const res = (await emp.call('GET', '/pulse/results?wave=' + latest.id)).body;
        await go(page, base, '#/pulse/' + latest.id, 'pulse');
        await page.waitForSelector('#pulse-results');
        const units = await page.$$eval('#pulse-results tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.unit)));
        eq(units.sort((a, b) => a - b), res.units.map((u) => u.unit_id).sort((a, b) => a - b), 'the rows of the employee\'s reply');
        ok(res.units.length <= 2 && res.units.some((u) => u.level === 'organisation'), 'the organisation and at most their own team',
          res.units.map((u) => u.name));
        ok(!(await page.$('#pulse-settings')) && !(await page.$('#pulse-send')), 'no settings, no send button');
      });
      eq(problems, [], 'no script errors in the pages');
    }, { scale: 2, serverOptions: { args: (port) => ['--smtp', 'smtp://127.0.0.1:' + sink.port, '--test-clock', now,
      '--base-url', 'http://127.0.0.1:' + port] } });
  } finally {
    await sink.stop();
    fs.rmSync(mailDir, { recursive: true, force: true });
  }
}

run(main);
