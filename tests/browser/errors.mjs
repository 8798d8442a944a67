#!/usr/bin/env node
// errors.mjs — the server's error replies in the UI's language (issue 13,
// web/js/api.js errorText): the page builds its sentence from the reply's
// code, field and Retry-After, never shows the server's English words on
// a Dutch page (at most as a title), and adds the server's words after the
// sentence when they are in the page's language.
//
//   KS_BIN=build/asan/klantstem node tests/browser/errors.mjs
//
// On a demo database: two team leads of the demo lead's team are created
// over the API, one with `language` nl and one with en. Each, in the
// browser: an action whose deadline lies before its start (422
// out_of_range naming `deadline`), a goal with a period that is no period
// (422 naming `period`), a resolve message with an unknown placeholder
// (the preview's 422 naming `customer_message`, whose words the case
// routes write in the reader's language), a new password of 9 characters,
// and the login page throttled
// after five wrong passwords (429 with Retry-After). The English reader
// then switches the page to Dutch: the English server words go to the
// title only. Replies no form provokes (an unknown field, Retry-After in
// seconds, a 404 without a body) through the page's own api.js. The expected sentences are written out here. TAP lines,
// exit status 1 on any failure.

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, PASSWORD, binary, tmpDir, makeDemo, startServer, launchBrowser, resetContext, loginUi, waitPage, tap, shot, go, ApiClient,
} from './lib.mjs';

const { ok, eq, group, run } = tap('error browser tests');
const LEAD_PASSWORD = 'errors-lead-password-1';

// What a reader sees: the visible text of the page (titles are not in it).
const visible = (page) => page.evaluate(() => document.body.innerText);

// The sentences, written out per language.
const WANT = {
  nl: {
    deadline: 'Het veld ‘Deadline’ ligt buiten het toegestane bereik.',
    period: 'Kies een periode als 2026, 2026-Q4 of 2026-12.',
    placeholder: 'Het veld ‘Bericht aan de klant’ is ongeldig. ({klantnaam} is geen invulveld: gebruik {customer_name}, {employee_name} of {organisation})',
    failed: 'Onjuist e-mailadres of wachtwoord.',
    throttled: 'Te veel pogingen. Probeer het over 15 minuten opnieuw.',
  },
  en: {
    deadline: 'The field ‘Deadline’ is outside the allowed range. (deadline must not be before start_date)',
    period: 'Choose a period like 2026, 2026-Q4 or 2026-12.',
    placeholder: 'The field ‘Message to the customer’ is not valid. ({klantnaam} is not a placeholder: use {customer_name}, {employee_name} or {organisation})',
    failed: 'Wrong e-mail address or password.',
    throttled: 'Too many attempts. Try again in 15 minutes.',
  },
};
// The server's English words that a Dutch page must not show.
const ENGLISH = ['deadline must not be before start_date', 'is not a placeholder', 'too many', 'Too many', 'period must'];

async function actionError(page, base) {
  await go(page, base, '#/actions', 'actions');
  await page.click('#action-new summary');
  await page.fill('#action-form input[name="title"]', 'Terugbellen binnen een dag');
  await page.fill('#action-form input[name="start_date"]', '2026-12-01');
  await page.fill('#action-form input[name="deadline"]', '2026-11-01');
  await page.click('#action-form button[type="submit"]');
  await page.waitForSelector('#action-form p.error-text:not([hidden])');
  return page.textContent('#action-form p.error-text');
}

async function goalError(page, base, unit) {
  await go(page, base, '#/team/' + unit, 'team');
  await page.fill('#goal-form input[name="period"]', 'Q4-2026');
  await page.fill('#goal-form input[name="target"]', '35');
  await page.click('#goal-form button[type="submit"]');
  await page.waitForSelector('#goal-form p.error-text');
  return page.textContent('#goal-form p.error-text');
}

async function previewError(page, base, caseId) {
  await go(page, base, '#/case/' + caseId, 'case');
  await page.click('#case-next [data-next="resolved"]');
  await page.fill('#case-customer-message', 'Beste {klantnaam},\n\nWij bellen u morgen.\n\nGroet,\n{employee_name}');
  await page.click('#case-preview-btn');
  await page.waitForSelector('#case-preview-error');
  return page.$eval('#case-preview-error', (e) => ({ text: e.textContent, title: e.getAttribute('title'), field: e.dataset.field }));
}

// Wrong passwords on the login page until it says something else than
// "wrong"; returns [attempts, the last text].
async function throttle(page, base, email, l) {
  await page.goto(base + '/#/login');
  await waitPage(page, 'login');
  if (l === 'en') {
    await page.click('.lang-btn[data-lang="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en' && document.querySelector('main')?.dataset.ready === 'true');
  }
  let text = '';
  let n = 0;
  while (n < 8) {
    n++;
    await page.fill('input[name="email"]', email);
    await page.fill('input[name="password"]', 'not-the-password-' + n);
    await page.evaluate(() => { document.querySelector('#login-error').textContent = ''; });
    await page.click('form.login-form button[type="submit"]');
    await page.waitForFunction(() => {
      const e = document.querySelector('#login-error');
      return e && e.textContent.length > 0 && !document.querySelector('form.login-form button[type="submit"]').disabled;
    });
    text = await page.textContent('#login-error');
    if (text !== WANT[l].failed) break;
  }
  return [n, text];
}

async function main() {
  const bin = binary();
  if (!fs.existsSync(bin)) {
    ok(false, 'server binary exists', bin + ' not found (make build/asan/klantstem, or set KS_BIN)');
    return;
  }
  if (!fs.existsSync(path.join(REPO, 'web', 'vendor', 'echarts.esm.min.js'))) {
    ok(false, 'web/vendor/echarts.esm.min.js exists', 'run `make web`');
    return;
  }
  const dir = tmpDir('ks-errors-');
  let srv = null;
  let browser = null;
  try {
    const db = makeDemo(bin, dir, 3);
    srv = await startServer(bin, db);
    const base = srv.base;
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);

    // ---- the setting: two leads of the demo lead's team, a case in "contacted" ------------
    const users = (await admin.call('GET', '/users?limit=500')).body;
    const lead = (users.items || users).find((u) => u.email === USERS.team_lead);
    ok(lead && lead.unit_id, 'setup: the demo team lead and their team', lead);
    const leads = {};
    for (const l of ['nl', 'en']) {
      const email = 'lead-' + l + '@errors.test';
      const r = await admin.call('POST', '/users', { email, name: 'Lead ' + l.toUpperCase(), role: 'team_lead',
        password: LEAD_PASSWORD, unit_id: lead.unit_id, language: l });
      eq([r.status, r.body && r.body.language], [201, l], 'setup: a team lead with language ' + l + ' (POST /users -> 201)');
      leads[l] = email;
    }
    let cases = (await admin.call('GET', '/cases?team_id=' + lead.unit_id + '&status=contacted&limit=100')).body.items || [];
    let kase = cases.find((c) => c.consent !== false && (c.next_statuses || []).includes('resolved'));
    if (!kase) {
      const open = (await admin.call('GET', '/cases?team_id=' + lead.unit_id + '&status=new&limit=100')).body.items || [];
      const c = open.find((x) => x.consent !== false && (x.next_statuses || []).includes('contacted'));
      if (c) {
        const r = await admin.call('PATCH', '/cases/' + c.id, { version: c.version, status: 'contacted' });
        eq(r.status, 200, 'setup: a case of the team moved to contacted (PATCH -> 200)');
        kase = r.body;
      }
    }
    ok(kase && kase.id, 'setup: a case of the team that may be resolved with a message');

    // the server's own replies, to know what the page must (not) show
    const nlLead = new ApiClient(base);
    await nlLead.login(leads.nl, LEAD_PASSWORD);
    let r = await nlLead.call('POST', '/actions', { title: 'x', owner_id: nlLead.user.id, start_date: '2026-12-01', deadline: '2026-11-01', team_id: lead.unit_id });
    eq([r.status, r.body?.error?.code, r.body?.error?.field, r.body?.error?.message],
      [422, 'out_of_range', 'deadline', 'deadline must not be before start_date'], 'API: a deadline before the start -> 422 out_of_range, in English');
    r = await nlLead.call('POST', '/cases/' + kase.id + '/message-preview', { customer_message: 'Beste {klantnaam},\n\nx' });
    eq([r.status, r.body?.error?.field, r.body?.error?.message],
      [422, 'customer_message', '{klantnaam} is geen invulveld: gebruik {customer_name}, {employee_name} of {organisation}'],
      'API: an unknown placeholder -> 422 in the Dutch reader\'s language');

    browser = await launchBrowser();
    const page = await browser.context.newPage();

    for (const l of ['nl', 'en']) {
      await group(l + ': forms', async () => {
        await resetContext(browser.context);
        await loginUi(page, base, leads[l], LEAD_PASSWORD);
        eq(await page.evaluate(() => document.documentElement.lang), l, l + ': the page is in the account\'s language');

        eq(await actionError(page, base), WANT[l].deadline, l + ': action with its deadline before its start -> the sentence naming "Deadline"');
        if (l === 'nl') {
          eq(await page.getAttribute('#action-form p.error-text', 'title'), 'deadline must not be before start_date',
            'nl: the server\'s English words only as the title');
        }
        const goal = await goalError(page, base, lead.unit_id);
        eq(goal, WANT[l].period, l + ': goal with a period that is none -> the period sentence');
        const pv = await previewError(page, base, kase.id);
        eq([pv.field, pv.text, pv.title], ['customer_message', WANT[l].placeholder, null],
          l + ': resolve message with an unknown placeholder -> the field sentence and the server\'s words in ' + l);
        await shot(page, 'errors-preview-' + l);
        if (l === 'nl') {
          const text = await visible(page);
          const seen = ENGLISH.filter((s) => text.includes(s));
          eq(seen, [], 'nl: no English server text on the Dutch page');
        }
        // a new password that is too short: refused before it is sent
        await go(page, base, '#/account', 'account');
        await page.fill('#password-form input[name="current_password"]', LEAD_PASSWORD);
        await page.fill('#password-form input[name="new_password"]', 'kort-9tkn');
        await page.fill('#password-form input[name="new_password_again"]', 'kort-9tkn');
        await page.click('#password-form button[type="submit"]');
        await page.waitForSelector('#password-form .error-text');
        eq(await page.textContent('#password-form .error-text'), l === 'nl' ? 'Het nieuwe wachtwoord moet minstens 10 tekens hebben.'
          : 'The new password needs at least 10 characters.', l + ': a new password of 9 characters -> the length sentence');

        // replies no form here provokes: an unknown field, Retry-After in seconds, no code
        const made = await page.evaluate(async () => {
          const m = await import('/js/api.js');
          return [
            m.errorText(new m.ApiError(422, { error: { code: 'out_of_range', field: 'answers.open', message: 'answers.open is too long' } }, '/responses')),
            m.errorText(new m.ApiError(503, { error: { code: 'storage_full', message: 'the disk is full' } }, '/responses', 40)),
            m.errorText(new m.ApiError(404, null, '/teams/999')),
          ];
        });
        eq(made, l === 'nl' ? [
          'Het veld ‘answers.open’ ligt buiten het toegestane bereik.',
          'De schijf van de server is vol: er kan nu niets worden opgeslagen. Probeer het over 40 seconden opnieuw.',
          'Dit bestaat niet (meer).',
        ] : [
          'The field ‘answers.open’ is outside the allowed range. (answers.open is too long)',
          'The server’s disk is full: nothing can be saved now. Try again in 40 seconds. (the disk is full)',
          'This does not exist (any more).',
        ], l + ': an unknown field by its raw name, Retry-After in seconds, a reply without a body by its status');
        if (l === 'en') {
          // the English reader switches to Dutch: the server's English words leave the text
          await page.click('.lang-btn[data-lang="nl"]');
          await waitPage(page, 'account');
          const nlView = await previewError(page, base, kase.id);
          eq([nlView.text, nlView.title],
            ['Het veld ‘Bericht aan de klant’ is ongeldig.', '{klantnaam} is not a placeholder: use {customer_name}, {employee_name} or {organisation}'],
            'en reader, Dutch page: the Dutch sentence, the English server words only as the title');
          const text = await visible(page);
          eq(ENGLISH.filter((s) => text.includes(s)), [], 'en reader, Dutch page: no English server text shown');
        }
      });
    }

    for (const l of ['nl', 'en']) {
      await group(l + ': throttled login', async () => {
        await resetContext(browser.context);
        const [n, text] = await throttle(page, base, leads[l], l);
        eq([n, text.startsWith(WANT[l].throttled)], [6, true], l + ': five wrong passwords, the sixth attempt -> "' + WANT[l].throttled + '"', text);
        const api = await new ApiClient(base).call('POST', '/auth/login', { email: leads[l], password: 'x' });
        eq([api.status, api.body?.error?.code], [429, 'too_many_requests'], l + ': the API says 429 too_many_requests');
        if (l === 'nl') {
          eq(text, WANT.nl.throttled, 'nl: only the Dutch sentence (no English server words)');
        } else {
          eq(text, WANT.en.throttled + ' (' + api.body.error.message + ')', 'en: the sentence, then the server\'s own words');
        }
        await shot(page, 'errors-throttled-' + l);
      });
    }
  } finally {
    if (browser) await browser.close();
    if (srv) {
      const { code } = await srv.stop();
      eq(code, 0, 'server exits 0 on SIGTERM');
      const stderr = srv.stderr();
      ok(!/ERROR: AddressSanitizer|runtime error:|LeakSanitizer/.test(stderr), 'no sanitizer report in server stderr', stderr.slice(0, 2000));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

run(main);
