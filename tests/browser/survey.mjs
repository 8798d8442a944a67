#!/usr/bin/env node
// survey.mjs — the customer's side (issue 13) in a real browser:
//
//   KS_BIN=build/asan/klantstem node tests/browser/survey.mjs
//
// Starts the SMTP sink (tests/api/smtp_sink.py), a small demo database and
// `klantstem serve --smtp ... --base-url ... --test-clock NOW` (the
// scheduler runs on POST /admin/scheduler/run only). As admin, over the
// API with a token: the organisation's voice (u, its name, a PNG logo),
// labels per language on a touchpoint with the demo's short standard
// survey, a send rule, two customers (nl, en) with a contact each; one
// scheduler pass mails both. Then as the customers, in Chromium:
//  - the Dutch customer opens the mail's ?nps=9 link (taken from the HTML
//    part in the sink) and closes the page at once: the API shows the
//    response with NPS 9, complete false; the page said so in the "u" form,
//    with the organisation's name and its logo loaded under the page's CSP;
//  - at 320 px wide the 0-10 scale is one row, every button at least 44 px
//    high and 24 px wide (11 x 44 px cannot fit 320 px: at 600 px, at
//    least 44 x 44); the mail's scale likewise;
//  - the English customer's mail, page and thank-you are English, with the
//    touchpoint's English label.
// TAP lines, screenshots in build/screenshots/, exit status 1 on failure.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, binary, tmpDir, freePort, makeDemo, startServer, launchBrowser, tap, shot, startSink, waitMail,
} from './lib.mjs';

const { ok, eq, group, run } = tap('survey browser tests');

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
// a 1x1 PNG
const PNG_1X1 = '89504e470d0a1a0a0000000d4948445200000001000000010806000000'
  + '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082';

// ---- the SMTP sink (as in cases.mjs) ------------------------------------------------------

// ---- the API with an admin token ------------------------------------------------------------

function adminToken(bin, db) {
  const r = spawnSync(bin, ['user', 'add', '--db', db, '--email', 'survey-admin@test.local', '--name', 'Survey Admin',
    '--role', 'admin', '--token', 'survey'], {
    encoding: 'utf8',
    env: { ...process.env, KLANTSTEM_PASSWORD: 'survey-admin-pass', ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=0' },
  });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('token: '));
  if (!line) throw new Error('cannot create the admin: ' + r.stdout + r.stderr);
  return line.slice('token: '.length).trim();
}

async function call(base, token, method, p, body) {
  const headers = { Accept: 'application/json', Authorization: 'Bearer ' + token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + '/api/v1' + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await r.json(); } catch { /* no JSON */ }
  return { status: r.status, body: data };
}

async function must(base, token, method, p, body, status) {
  const r = await call(base, token, method, p, body);
  if (r.status !== status) throw new Error(`${method} ${p} -> ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
  return r.body;
}

// Every response (keyset pages of 500), for the ones of a contact.
async function responsesOf(base, token, contactId) {
  const out = [];
  let cursor = null;
  for (;;) {
    const page = await must(base, token, 'GET', '/responses?limit=500' + (cursor ? '&cursor=' + cursor : ''), undefined, 200);
    out.push(...page.items.filter((r) => r.contact_id === contactId));
    if (!page.next_cursor) return out;
    cursor = page.next_cursor;
  }
}

// The boxes of the NPS scale's labels on the page (or the mail's links).
async function boxes(page, selector) {
  return page.$$eval(selector, (els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    return { text: e.textContent.trim(), x: r.x, y: r.y, w: r.width, h: r.height };
  }));
}

function oneRow(bs) {
  return bs.length === 11 && bs.every((b) => Math.abs(b.y - bs[0].y) < 1)
    && bs.every((b, i) => i === 0 || b.x > bs[i - 1].x);
}

// ---- the test ------------------------------------------------------------------------------

async function main() {
  const bin = binary();
  const dir = tmpDir('ks-survey-');
  const mailDir = path.join(dir, 'mail');
  fs.mkdirSync(mailDir);
  const sink = await startSink(mailDir);
  let srv = null;
  let browser = null;
  const problems = [];
  try {
    const db = makeDemo(bin, dir, 1);
    const token = adminToken(bin, db);
    // a weekday morning, outside the quiet hours, in the demo's window
    const now = new Date();
    now.setUTCHours(9, 0, 0, 0);
    while ([0, 6].includes(now.getUTCDay())) now.setUTCDate(now.getUTCDate() - 1);
    const clock = now.toISOString().replace(/\.\d+Z$/, 'Z');
    srv = await startServer(bin, db, {
      args: (port) => ['--smtp', 'smtp://127.0.0.1:' + sink.port, '--base-url', 'http://127.0.0.1:' + port, '--test-clock', clock],
    });
    const base = srv.base;

    // ---- setup over the API
    const settings = await must(base, token, 'PUT', '/settings', {
      form_of_address: 'u', organisation_name: 'Energie Voorbeeld',
      logo: 'data:image/png;base64,' + Buffer.from(PNG_1X1, 'hex').toString('base64'),
    }, 200);
    eq([settings.form_of_address, settings.organisation_name, settings.logo_url], ['u', 'Energie Voorbeeld', '/logo'],
      'setup: the organisation says u, with its name and logo');
    const surveys = (await must(base, token, 'GET', '/surveys?limit=100', undefined, 200)).items;
    const found = surveys.find((x) => x.name === 'Standaard contactmeting');
    const standard = await must(base, token, 'GET', '/surveys/' + found.id, undefined, 200);
    eq(standard && standard.questions.map((q) => q.type), ['nps', 'driver', 'driver', 'open'],
      'setup: the default survey is short: the NPS, two drivers, one open question');
    eq(standard && standard.warnings, [], 'setup: the default survey has no warnings');
    const tps = (await must(base, token, 'GET', '/touchpoints?limit=100', undefined, 200)).items;
    const tp = tps.find((x) => x.survey_id === standard.id);
    await must(base, token, 'PATCH', '/touchpoints/' + tp.id, { label_nl: 'Uw storingsmelding', label_en: 'Reporting a fault' }, 200);
    await must(base, token, 'PUT', `/touchpoints/${tp.id}/rule`, { delay_minutes: 60, fatigue_days: 0 }, 200);
    const emp = (await must(base, token, 'GET', '/employees?limit=1', undefined, 200)).items[0];
    const custNl = await must(base, token, 'POST', '/customers', {
      external_id: 'survey-nl', name: 'Henk de Boer', language: 'nl', email: 'henk@survey.test' }, 201);
    const custEn = await must(base, token, 'POST', '/customers', {
      external_id: 'survey-en', name: 'Mary Jones', language: 'en', email: 'mary@survey.test' }, 201);
    const cNl = await must(base, token, 'POST', '/contacts', {
      customer_id: custNl.id, touchpoint_id: tp.id, employee_id: emp.id, channel: 'phone' }, 201);
    const cEn = await must(base, token, 'POST', '/contacts', {
      customer_id: custEn.id, touchpoint_id: tp.id, employee_id: emp.id, channel: 'phone' }, 201);
    eq([cNl.invitation?.decision, cEn.invitation?.decision], ['created', 'created'], 'setup: both contacts get an invitation');
    const later = new Date(now.getTime() + 2 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    await must(base, token, 'POST', '/admin/clock', { now: later }, 200);
    const pass = await must(base, token, 'POST', '/admin/scheduler/run', undefined, 200);
    eq(pass.sent, 2, 'setup: one scheduler pass sends both invitations');

    browser = await launchBrowser();
    const ctx = browser.context;
    const watch = (page) => {
      page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
      // the browser asks for /favicon.ico by itself; any other failed load is a problem
      page.on('response', (r) => {
        if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
      });
      page.on('console', (m) => {
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push('console: ' + m.text());
      });
    };

    await group('one-click', async () => {
      const [mail] = await waitMail(mailDir, (x) => x.rcpt.includes('henk@survey.test'));
      ok(mail, 'one-click: the Dutch customer has the invitation in the sink');
      eq(mail.subject, `Hoe was uw contact met ${emp.first_name} over Uw storingsmelding?`,
        'one-click: the subject says uw and names the Dutch label');
      const link = /href="([^"]*\?nps=9)"/.exec(mail.html)?.[1]?.replace(/&amp;/g, '&');
      ok(link && link.startsWith(base + '/s/'), 'one-click: the HTML part links the 9 to this server', link);

      // the tap: the page opens, says the score is stored; closed at once
      const page = await ctx.newPage();
      watch(page);
      await page.setViewportSize({ width: 320, height: 740 });
      const resp = await page.goto(link);
      eq(resp.status(), 200, 'one-click: the page from the tap answers 200');
      eq(await page.textContent('p.saved'), 'Bedankt! Uw score 9 is opgeslagen. Wilt u ons nog iets meer vertellen? '
        + 'Dat kan hieronder; sluiten mag ook.', 'one-click: the page says the score is saved, in the u form');
      eq(await page.$eval('input[name="nps"]:checked', (e) => e.value), '9', 'one-click: 9 is chosen on the page');
      eq(await page.textContent('header.org span'), 'Energie Voorbeeld', 'one-click: the organisation\'s name on the page');
      eq(await page.$eval('header.org img', (i) => [i.complete, i.naturalWidth]), [true, 1],
        'one-click: the logo loads under the page\'s CSP');
      ok((await page.textContent('main')).includes('U had onlangs contact met'), 'one-click: the greeting says u');

      // 320 px: one row, tall buttons
      const bs = await boxes(page, 'fieldset:first-of-type .scale label');
      ok(oneRow(bs), 'layout: at 320 px the 0-10 scale is one row', bs);
      ok(bs.every((b) => b.h >= 44 && b.w >= 24), 'layout: at 320 px every score button is >= 44 px high and >= 24 px wide',
        bs.map((b) => [b.text, Math.round(b.w), Math.round(b.h)]));
      const docWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      ok(docWidth <= 320, 'layout: nothing sticks out sideways at 320 px', docWidth);
      await shot(page, 'survey-one-click-320');
      await page.setViewportSize({ width: 600, height: 740 });
      const wide = await boxes(page, 'fieldset:first-of-type .scale label');
      ok(oneRow(wide) && wide.every((b) => b.w >= 44 && b.h >= 44), 'layout: at 600 px every score button is >= 44 x 44',
        wide.map((b) => [b.text, Math.round(b.w), Math.round(b.h)]));
      await page.close();

      const mine = await responsesOf(base, token, cNl.id);
      eq(mine.map((r) => [r.answers.nps, r.complete, r.source]), [[9, false, 'one-click']],
        'one-click: after closing the page the API shows one response, NPS 9, not complete');

      // the mail's own scale at 320 px: one row, 44 px high
      const mp = await ctx.newPage();
      await mp.setViewportSize({ width: 320, height: 700 });
      await mp.setContent(mail.html.replace(/<img [^>]*>/g, ''));
      const ms = await boxes(mp, 'a[href*="?nps="]');
      ok(oneRow(ms) && ms.every((b) => b.h >= 44 && b.w >= 20), 'mail: at 320 px the 0-10 links are one row, each >= 44 px high',
        ms.map((b) => [b.text, Math.round(b.w), Math.round(b.h)]));
      await mp.setViewportSize({ width: 600, height: 700 });
      const mw = await boxes(mp, 'a[href*="?nps="]');
      ok(mw.every((b) => b.w >= 40 && b.h >= 44), 'mail: at 600 px the links are about 44 x 44 (>= 40 wide, >= 44 high)',
        mw.map((b) => [b.text, Math.round(b.w), Math.round(b.h)]));
      await mp.close();
    });

    await group('english', async () => {
      const [mail] = await waitMail(mailDir, (x) => x.rcpt.includes('mary@survey.test'));
      eq(mail?.subject, `How was your contact with ${emp.first_name} about Reporting a fault?`,
        'english: the English customer\'s subject is English, with the English label');
      ok(mail && mail.plain.includes('Hello Mary Jones,') && !mail.plain.includes('Uw storingsmelding'),
        'english: the mail is English and never names the Dutch label', mail?.plain.slice(0, 400));
      const link = /href="([^"]*\?nps=8)"/.exec(mail.html)?.[1]?.replace(/&amp;/g, '&');
      const page = await ctx.newPage();
      watch(page);
      await page.goto(link);
      eq(await page.getAttribute('html', 'lang'), 'en', 'english: the page is <html lang="en">');
      eq(await page.textContent('main h1'), 'How did we do?', 'english: the heading is English');
      ok((await page.textContent('main')).includes(`You were recently in touch with ${emp.first_name} (Reporting a fault).`),
        'english: the greeting names the English label');
      eq(await page.textContent('p.saved'), 'Thank you! Your score 8 has been saved. Would you like to tell us a little more? '
        + 'You can below; closing this page is fine too.', 'english: the one-click note is English');
      await page.fill('textarea[name="open"]', 'Quick and friendly.');
      await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
      eq(await page.textContent('main h1'), 'Thank you for your feedback!', 'english: the thank-you page is English');
      await shot(page, 'survey-english-thanks');
      await page.close();
      const mine = await responsesOf(base, token, cEn.id);
      eq(mine.map((r) => [r.answers.nps, r.answers.open, r.complete, r.language]), [[8, 'Quick and friendly.', true, 'en']],
        'english: the form completed the same response (one, NPS 8, the open answer, complete)');
    });
    eq(problems, [], 'no page errors, no console errors (a CSP refusal would be one)');
  } finally {
    if (browser) await browser.close();
    if (srv) {
      const st = await srv.stop();
      eq(st.code, 0, 'server exits 0 on SIGTERM');
    }
    await sink.stop();
  }
}

run(main);
