#!/usr/bin/env node
// cases.mjs — browser tests of the closed loop: the case inbox, one case,
// the improvement actions board, against the real server with real mail.
//
//   KS_BIN=build/asan/klantstem node tests/browser/cases.mjs
//
// Starts the SMTP sink (tests/api/smtp_sink.py, Debian's python3-aiosmtpd),
// a fresh demo database and `klantstem serve --smtp ... --test-clock NOW`
// (the scheduler runs only on POST /admin/scheduler/run). As admin, over
// the API: two low responses of one customer of the demo team lead's team
// open one case owned by that lead (issue 13: one case per customer, every
// rule a trigger on it), and the scheduler mails the lead. In the browser,
// as the team lead: the case in "my cases" (the inbox), contacted, a note,
// a root cause, a 409 when the case changed meanwhile, resolved with a
// message written into the template, the exact mail previewed, then one
// mail in the sink with exactly that text, closed, the figures; an overdue
// case; the manager's inbox opening on what was escalated to them; an
// action created on the board with its effect line. TAP lines, screenshots in build/screenshots/, exit status 1 on any
// failure.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, PASSWORD, binary, tmpDir, freePort, makeDemo, startServer, launchBrowser, resetContext, loginUi, waitPage, apiInPage, tap, shot, go, startSink, sinkMails, waitMail, ApiClient, goRefused, redraw,
} from './lib.mjs';

const { ok, eq, group, run } = tap('case browser tests');

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// ---- the SMTP sink ------------------------------------------------------------------------

// ---- the API from the test (a session of its own) ------------------------------------------

// ---- page helpers ----------------------------------------------------------------------------

// Wait until the case page shows the given version (it reloads after each change).
async function waitVersion(page, v) {
  await page.waitForFunction((want) => Number(document.querySelector('main')?.dataset.version) >= want, v);
}

function isoNow(offsetHours = 0) {
  const d = new Date(Date.now() + offsetHours * 3600e3);
  d.setUTCMilliseconds(0);
  return d.toISOString().replace('.000Z', 'Z');
}

// ---- the run ------------------------------------------------------------------------------------

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
  const dir = tmpDir('ks-cases-');
  const mailDir = path.join(dir, 'mail');
  fs.mkdirSync(mailDir);
  const sink = await startSink(mailDir);
  const now = isoNow();
  let srv = null;
  let browser = null;
  try {
    const db = makeDemo(bin, dir, 3);
    srv = await startServer(bin, db, {
      args: (port) => ['--smtp', 'smtp://127.0.0.1:' + sink.port, '--test-clock', now, '--base-url', 'http://127.0.0.1:' + port],
    });
    const base = srv.base;
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);

    // ---- the setting: the team lead, a customer, a touchpoint ---------------------------------
    const users = (await admin.call('GET', '/users?limit=500')).body;
    const userList = users.items || users;
    const lead = userList.find((u) => u.email === USERS.team_lead);
    ok(lead && lead.unit_id, 'setup: the demo team lead and their team', lead);
    const custs = (await admin.call('GET', '/customers?limit=500')).body.items;
    const mailable = custs.filter((c) => c.email && !c.opted_out && c.opted_out_at == null);
    const cust = mailable.find((c) => c.language === 'nl') || mailable[0];
    const cust2 = mailable.find((c) => c.id !== cust.id);
    ok(cust && cust2, 'setup: customers with an e-mail address, not opted out', mailable.length);
    // issue 13: the case page calls the customer back: a phone number with
    // a written trunk "(0)" after the country code, which the link drops
    const PHONE = '+31 (0)6-1234 5678';
    const ph = await admin.call('PATCH', '/customers/' + cust.id, { phone: PHONE });
    eq([ph.status, ph.body && ph.body.phone], [200, PHONE], 'setup: the customer gets a phone number (PATCH -> 200)');
    const tps = (await admin.call('GET', '/touchpoints?limit=500')).body.items;
    const tp = tps[0];
    const SAID = 'De monteur kwam twee keer niet opdagen <b>echt</b> & niemand belde terug';
    const respond = (customer, nps, text, key) => admin.call('POST', '/responses', {
      client_key: key, customer_id: customer.id, team_id: lead.unit_id, touchpoint_id: tp.id, channel: 'phone',
      language: customer.language || 'nl', answers: { nps, open: text },
    });

    // ---- over the API: a case, one per customer and rule, and the owner's mail ----------------
    let caseId = null;
    await group('api', async () => {
      const r1 = await respond(cust, 2, SAID, 'cases-browser-1');
      eq(r1.status, 201, 'api: a low response of the customer (NPS 2) -> 201');
      let list = await admin.call('GET', '/cases?customer_id=' + cust.id);
      eq(list.status, 200, 'api: GET /cases?customer_id -> 200');
      const items = list.body.items || [];
      eq(items.length, 1, 'api: exactly one case for the customer');
      const c = items[0];
      caseId = c.id;
      eq([c.status, c.owner_user_id, c.team_id], ['new', lead.id, lead.unit_id], 'api: the case is new, owned by the team lead, of their team');
      const r2 = await respond(cust, 3, 'En de tweede afspraak ook niet.', 'cases-browser-2');
      eq(r2.status, 201, 'api: a second low response -> 201');
      // one case per customer: the second answer's rules (nps_max and
      // repeat_low) are triggers on the same case
      list = await admin.call('GET', '/cases?customer_id=' + cust.id);
      eq((list.body.items || []).map((x) => x.id), [caseId], 'api: still exactly one case for the customer');
      const one = await admin.call('GET', '/cases/' + caseId);
      eq((one.body.response_ids || []).slice().sort((a, b) => a - b), [r1.body.id, r2.body.id].sort((a, b) => a - b),
        'api: the case holds both responses');
      eq((one.body.triggers || []).filter((x) => x.response_id === r2.body.id).map((x) => x.rule), ['nps_max', 'repeat_low'],
        'api: the second answer fired nps_max and repeat_low on it');
      eq(one.body.priority, 'high', 'api: repeat_low raised the priority');
      const run = await admin.call('POST', '/admin/scheduler/run', {});
      ok(run.status === 200 || run.status === 204, 'api: the scheduler runs one pass', run);
      const found = await waitMail(mailDir, (m) => m.rcpt.includes(USERS.team_lead));
      ok(found.length >= 1, 'mail: the team lead is told of the new case', sinkMails(mailDir).map((m) => [m.rcpt, m.subject]));
      const names = (m) => new RegExp('(#|/case/|case )' + caseId + '\\b', 'i').test(m.subject + '\n' + m.text);
      ok(found.some(names), 'mail: a mail to the lead names the case (' + caseId + ')',
        found.map((m) => m.subject + '\n' + m.text.slice(0, 400)).join('\n----\n'));
    });

    // ---- the browser, as the team lead --------------------------------------------------------
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    page.setDefaultTimeout(10000);
    const problems = [];
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    page.on('console', (m) => {
      const text = m.text();
      if (/Content.Security.Policy|Refused to/i.test(text)) problems.push('csp: ' + text);
      else if (m.type() === 'error' && !/status of (401|403|404|409|422)/.test(text)) problems.push('console: ' + text);
    });
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });

    await group('inbox', async () => {
      await loginUi(page, base, USERS.team_lead);
      eq(await page.$$eval('#nav-list a', (as) => as.map((a) => a.dataset.nav)), ['team', 'cases', 'actions', 'verbatims', 'themes', 'mentions', 'drivers', 'pulse'],
        'team lead: navigation has cases and actions (themes: issue 14; drivers: issue 15; reviews: issue 16; employee pulse: issue 17 P)');
      await page.click('#nav-list a[data-nav="cases"]');
      await waitPage(page, 'cases');
      ok(await page.getAttribute('#cases-view-mine', 'aria-pressed') === 'true', 'inbox: "my cases" is the first view');
      const inbox = await apiInPage(page, 'GET', '/cases?inbox=me&limit=25');
      eq(await page.$$eval('#case-table tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.caseId))),
        (inbox.body.items || []).map((x) => x.id), 'inbox: my cases equal /cases?inbox=me, in its order');
      const row = await page.$('#case-table tr[data-case-id="' + caseId + '"]');
      ok(row !== null, 'inbox: the new case is in my cases');
      if (row) {
        eq(await row.$eval('[data-col="customer"]', (td) => td.textContent), cust.name, 'inbox: the row names the customer');
        eq(await row.$eval('[data-col="status"] [data-status]', (s) => s.dataset.status), 'new', 'inbox: the row says new');
        eq(await row.$eval('[data-col="owner"]', (td) => td.textContent), lead.name, 'inbox: the owner is the team lead');
      }
      await redraw(page, 'cases', () => page.click('#cases-view-team'));
      const team = await apiInPage(page, 'GET', '/cases?status=new&limit=25');
      ok(page.url().includes('view=team') && (await page.$$('#case-table tbody tr')).length >= Math.min(1, (team.body.items || []).length),
        'inbox: the team view lists the team\'s cases', page.url());
      await shot(page, 'cases');
    });

    let version = 0;
    await group('case', async () => {
      await go(page, base, '#/cases', 'cases');
      await page.click('#case-table tr[data-case-id="' + caseId + '"] a');
      await waitPage(page, 'case');
      let c = (await apiInPage(page, 'GET', '/cases/' + caseId)).body;
      version = c.version;
      eq(await page.$eval('main', (m) => [m.dataset.caseId, m.dataset.status]), [String(caseId), 'new'], 'case: the page shows the case');
      eq(await page.$eval('[data-fact="customer"]', (d) => d.textContent), cust.name, 'case: the customer\'s name');
      eq(await page.$eval('[data-fact="email"]', (d) => d.textContent), cust.email, 'case: the customer\'s e-mail address');
      eq(await page.$eval('[data-fact="phone"] a', (a) => [a.getAttribute('href'), a.textContent]),
        ['tel:+31612345678', PHONE], 'case: the customer\'s phone as a tel: link (+ and digits, no trunk 0)');
      const said = await page.$$eval('#case-responses .verbatim-text', (bs) => bs.map((b) => b.textContent));
      ok(said.includes(SAID), 'case: the customer\'s words are shown as text', said);
      ok(await page.$('#case-responses b') === null, 'case: no markup was made from the words');
      eq(await page.$$eval('#case-next [data-next]', (bs) => bs.map((b) => b.dataset.next)), c.next_statuses,
        'case: one button per allowed next step (' + (c.next_statuses || []).join(',') + ')');
      await shot(page, 'case-new');

      // contacted
      await page.click('#case-next [data-next="contacted"]');
      await waitVersion(page, version + 1);
      c = (await apiInPage(page, 'GET', '/cases/' + caseId)).body;
      eq([c.status, await page.$eval('main', (m) => m.dataset.status)], ['contacted', 'contacted'], 'case: "customer contacted" moves it to contacted');
      ok(Boolean(c.first_contact_at), 'case: the first contact time is kept', c.first_contact_at);
      version = c.version;

      // a note
      const NOTE = 'Klant gebeld; nieuwe afspraak <i>morgen</i>';
      await page.fill('#case-note-text', NOTE);
      await page.click('#case-note-form button[type="submit"]');
      await page.waitForSelector('#case-notes li.note');
      eq(await page.$$eval('#case-notes .note-text', (ps) => ps.map((p) => p.textContent)), [NOTE], 'case: the note is listed, as text');
      c = (await apiInPage(page, 'GET', '/cases/' + caseId)).body;
      eq((c.notes || []).map((x) => x.text), [NOTE], 'case: the note is stored');

      // root cause and outcome
      await page.selectOption('#case-root-cause', 'wait_time');
      await page.selectOption('#case-relationship', 'true');
      await page.selectOption('#case-retained', 'true');
      await page.fill('#case-outcome-text', 'Afspraak alsnog gemaakt');
      await page.click('#case-outcome button[type="submit"]');
      await waitVersion(page, version + 1);
      c = (await apiInPage(page, 'GET', '/cases/' + caseId)).body;
      eq([c.root_cause, c.relationship_restored, c.customer_retained, c.outcome], ['wait_time', true, true, 'Afspraak alsnog gemaakt'],
        'case: root cause and outcome are saved');
      version = c.version;

      // someone else changes the case: the page's next change gets 409
      const other = await admin.call('PATCH', '/cases/' + caseId, { version, outcome: 'Afspraak alsnog gemaakt (gecontroleerd)' });
      eq(other.status, 200, 'conflict: another change through the API -> 200');
      await page.click('#case-next [data-next="resolved"]');
      ok(await page.isVisible('#case-resolve'), 'resolve: the button opens the message form');
      const prefill = await page.inputValue('#case-customer-message');
      eq(prefill, cust.language === 'en' ? 'Dear {customer_name},\n\n\n\nKind regards,\n{employee_name}\n{organisation}'
        : 'Beste {customer_name},\n\n\n\nMet vriendelijke groet,\n{employee_name}\n{organisation}',
      'resolve: the form starts from the template in the customer\'s language');
      // the untouched template is refused, beside the form, before anything is sent
      await page.click('#case-resolve-submit');
      await page.waitForSelector('#case-preview-error');
      eq(await page.$eval('#case-preview-error', (e) => [e.dataset.field, e.textContent]),
        ['customer_message', 'Het veld ‘Bericht aan de klant’ is ongeldig. (schrijf uw bericht aan de klant)'],
        'resolve: the untouched template -> the refusal naming the field, with the server\'s Dutch words');
      await page.fill('#case-customer-message', prefill.replace('\n\n\n\n', '\n\nEerst even dit.\n\n'));
      await page.click('#case-resolve-submit');
      await page.waitForSelector('#case-msg [data-kind="conflict"]');
      ok(/intussen gewijzigd/.test(await page.textContent('#case-msg')), 'conflict: "De case is intussen gewijzigd" is shown');
      await waitVersion(page, version + 1);
      eq(await page.$eval('main', (m) => [m.dataset.status, Number(m.dataset.version)]), ['contacted', version + 1],
        'conflict: the page reloaded the case (still contacted, the new version)');
      version += 1;
      await shot(page, 'case-conflict');

      // resolved, with a message and a re-survey: the preview shows the exact mail first
      const WORDS = 'wij hebben de planning aangepast zodat de monteur vooraf belt. Code ZX-' + caseId;
      const MSG_IN = 'Beste {customer_name},\n\n' + WORDS + '\n\nMet vriendelijke groet,\n{employee_name}\n{organisation}';
      const MSG = 'Beste ' + (cust.name || 'klant') + ',\n\n' + WORDS + '\n\nMet vriendelijke groet,\n' + lead.name + '\nKlantstem';
      await page.click('#case-next [data-next="resolved"]');
      await page.fill('#case-customer-message', MSG_IN);
      await page.click('#case-preview-btn');
      await page.waitForSelector('#case-preview-text');
      eq(await page.textContent('#case-preview-text'), MSG, 'preview: the exact mail, placeholders filled in once');
      await shot(page, 'case-preview');
      await page.check('#case-resurvey');
      await page.click('#case-resolve-submit');
      await waitVersion(page, version + 1);
      c = (await apiInPage(page, 'GET', '/cases/' + caseId)).body;
      eq([c.status, c.customer_message], ['resolved', MSG], 'resolve: resolved with the rendered message');
      ok(['queued', 'sent'].includes(c.customer_message_status), 'resolve: the message is queued', c.customer_message_status);
      version = c.version;
      eq(await page.$eval('[data-fact="message_status"]', (d) => d.textContent) !== '', true, 'resolve: the page shows the message status');

      const run = await admin.call('POST', '/admin/scheduler/run', {});
      ok(run.status === 200 || run.status === 204, 'resolve: the scheduler runs', run);
      const sent = await waitMail(mailDir, (m) => m.rcpt.includes(cust.email) && m.text.includes('ZX-' + caseId));
      await sleep(300);
      const toCust = sinkMails(mailDir).filter((m) => m.rcpt.includes(cust.email));
      eq(toCust.length, 1, 'mail: exactly one mail to the customer');
      if (sent.length) {
        eq(sent[0].text.replace(/\r\n/g, '\n'), MSG + '\n', 'mail: its text is exactly the preview (one greeting, one signature)');
        eq(sent[0].subject, 'Uw feedback aan Klantstem', 'mail: the subject');
      }
      c = (await apiInPage(page, 'GET', '/cases/' + caseId)).body;
      ok(c.customer_message_status === 'sent', 'mail: the case says the message was sent', c.customer_message_status);
      ok(c.resurvey_invitation_id !== null && c.resurvey_invitation_id !== undefined, 'resolve: a re-survey invitation was made', c.resurvey_invitation_id);
      await go(page, base, '#/case/' + caseId, 'case');
      eq(await page.$eval('[data-fact="message_status"]', (d) => d.textContent), c.customer_message_status === 'sent' ? 'verstuurd' : '?',
        'case: the page says the message was sent');
      version = c.version;

      // closed
      await page.click('#case-next [data-next="closed"]');
      await waitVersion(page, version + 1);
      eq(await page.$eval('#case-status [data-status]', (s) => [s.dataset.status, s.textContent]), ['closed', 'Gesloten'],
        'close: the page shows closed');
      c = (await apiInPage(page, 'GET', '/cases/' + caseId)).body;
      ok(c.status === 'closed' && c.closed_at, 'close: the case is closed', c);
      await shot(page, 'case-closed');
    });

    await group('stats', async () => {
      // the inbox holds open cases; closed ones are in the team view's filter
      await go(page, base, '#/cases?view=team&status=closed', 'cases');
      ok(await page.$('#case-table tr[data-case-id="' + caseId + '"]') !== null, 'team view: the closed case under the closed filter');
      const s = (await apiInPage(page, 'GET', '/cases/stats')).body;
      eq(await page.$eval('#case-stats [data-stat="open"]', (e) => Number(e.dataset.value)), s.open, 'stats: open equals /cases/stats');
      eq(await page.$eval('#case-stats [data-stat="overdue"]', (e) => Number(e.dataset.value)), s.overdue, 'stats: overdue equals /cases/stats');
      eq(await page.$eval('#case-stats [data-stat="sla"]', (e) => e.dataset.rate), String(s.sla?.rate ?? ''), 'stats: SLA rate equals /cases/stats');
      eq(await page.$eval('#case-stats [data-stat="close"]', (e) => e.dataset.n), String(s.time_to_close_hours?.n ?? 0),
        'stats: time to close counts the closed case');
      eq(await page.$$eval('#case-pareto .pareto-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.rootCause, Number(tr.querySelector('[data-col="n"]').dataset.value)])),
        (s.root_causes || []).map((r) => [r.root_cause, r.n]), 'stats: the Pareto table equals root_causes');
      ok((s.root_causes || []).some((r) => r.root_cause === 'wait_time' && r.n >= 1), 'stats: the root cause counts', s.root_causes);
      await page.waitForSelector('#case-pareto .chart[data-drawn="true"]');
      const drawn = await page.$eval('#case-pareto .chart', (e) => {
        const g = e.querySelector('canvas, svg');
        return g ? [g.getBoundingClientRect().width, g.getBoundingClientRect().height] : [0, 0];
      });
      ok(drawn[0] > 0 && drawn[1] > 0, 'stats: the Pareto chart is drawn (a canvas or svg with a size)', drawn);
      await shot(page, 'cases-stats');
    });

    await group('overdue', async () => {
      const r = await respond(cust2, 1, 'Nooit meer.', 'cases-browser-3');
      eq(r.status, 201, 'overdue: a low response of a second customer');
      const cl = (await admin.call('GET', '/cases?customer_id=' + cust2.id)).body.items || [];
      ok(cl.length === 1, 'overdue: it opened a case', cl);
      const moved = await admin.call('POST', '/admin/clock', { now: isoNow(24 * 3) });
      ok(moved.status === 200 || moved.status === 204, 'overdue: the clock moves three days on', moved);
      // sessions last 12 hours of the (test) clock: log in again
      await admin.login(USERS.admin);
      await resetContext(browser.context);
      await loginUi(page, base, USERS.team_lead);
      await go(page, base, '#/cases?view=mine&overdue=1', 'cases');
      const row = await page.$('#case-table tr[data-case-id="' + cl[0]?.id + '"]');
      ok(row !== null, 'overdue: the case is listed under "overdue only"');
      if (row) {
        eq(await row.evaluate((tr) => [tr.dataset.overdue, tr.querySelector('.badge.overdue')?.textContent]), ['true', 'over de termijn'],
          'overdue: marked in words, not colour alone');
      }
      const s = (await apiInPage(page, 'GET', '/cases/stats')).body;
      ok(s.overdue >= 1, 'overdue: /cases/stats counts it', s);
      eq(await page.$eval('#case-stats [data-stat="overdue"]', (e) => Number(e.dataset.value)), s.overdue, 'overdue: the figure equals the API');
      await shot(page, 'cases-overdue');
      // past its deadline the scheduler escalates the case
      const run = await admin.call('POST', '/admin/scheduler/run', {});
      ok(run.status === 200 || run.status === 204, 'escalation: the scheduler runs after the deadline', run);
      const esc = (await admin.call('GET', '/cases/' + cl[0].id)).body;
      ok(Boolean(esc.escalated_at), 'escalation: the overdue case is escalated', esc.escalated_at);
      await go(page, base, '#/case/' + cl[0].id, 'case');
      ok(esc.escalated_at ? (await page.$eval('[data-fact="escalated"]', (d) => d.textContent)) !== 'nee' : true,
        'escalation: the page shows when it was escalated');
      // in the queue (no owner): "wachtrij", and the lead takes it
      const q = await admin.call('PATCH', '/cases/' + cl[0].id, { version: esc.version, owner_user_id: null });
      eq([q.status, q.body.owner_user_id], [200, null], 'queue: the case is put in the team\'s queue (API)');
      await go(page, base, '#/cases?view=team', 'cases');
      eq(await page.$eval('#case-table tr[data-case-id="' + cl[0].id + '"] [data-col="owner"]', (td) => td.textContent), 'wachtrij',
        'queue: the team view says "wachtrij" for a case without owner');
      await go(page, base, '#/case/' + cl[0].id, 'case');
      const v0 = await page.$eval('main', (m) => Number(m.dataset.version));
      await page.click('#case-take');
      await waitVersion(page, v0 + 1);
      eq((await apiInPage(page, 'GET', '/cases/' + cl[0].id)).body.owner_user_id, lead.id, 'take it: the lead owns the case now');
      ok(await page.$('#case-take') === null, 'take it: the button is gone once it is mine');
      // English
      await page.click('.lang-btn[data-lang="en"]');
      await waitPage(page, 'case');
      eq(await page.textContent('#case-facts h2'), 'Customer and case', 'language: the case page in English');
      await go(page, base, '#/cases', 'cases');
      eq([await page.textContent('#cases-view-mine'), await page.$eval('#case-stats > h2', (e) => e.firstChild.textContent)],
        ['My cases', 'Follow-up figures'], 'language: the inbox in English');
      await page.click('.lang-btn[data-lang="nl"]');
      await waitPage(page, 'cases');
      // the customer does not want to be called: no "contacted" step
      await go(page, base, '#/case/' + cl[0].id, 'case');
      await page.selectOption('#case-consent', 'false');
      const v = await page.$eval('main', (m) => Number(m.dataset.version));
      await page.click('#case-outcome button[type="submit"]');
      await waitVersion(page, v + 1);
      ok(await page.isVisible('#case-no-contact'), 'consent: "klant wil niet gebeld worden" is shown');
      const c = (await apiInPage(page, 'GET', '/cases/' + cl[0].id)).body;
      eq(await page.$$eval('#case-next [data-next]', (bs) => bs.map((b) => b.dataset.next)), c.next_statuses, 'consent: the buttons follow next_statuses');
      ok(!(c.next_statuses || []).includes('contacted'), 'consent: "contacted" is not offered', c.next_statuses);
      // phone layout
      await page.setViewportSize({ width: 390, height: 844 });
      await go(page, base, '#/case/' + cl[0].id, 'case');
      ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'layout: one case fits a phone screen');
      await shot(page, 'case-phone');
      await go(page, base, '#/cases', 'cases');
      ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'layout: the inbox fits a phone screen');
      await shot(page, 'cases-phone');
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await group('manager', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.manager);
      await page.click('#nav-list a[data-nav="cases"]');
      await waitPage(page, 'cases');
      ok(await page.getAttribute('#cases-view-mine', 'aria-pressed') === 'true', 'manager: "my cases" (the inbox) opens first');
      const inbox = (await apiInPage(page, 'GET', '/cases?inbox=me&limit=25')).body.items || [];
      const own = (await apiInPage(page, 'GET', '/cases?owner=me&limit=25')).body.items || [];
      const rows = await page.$$eval('#case-table tbody tr', (trs) => trs.map((tr) => [Number(tr.dataset.caseId), tr.dataset.overdue,
        Boolean(tr.querySelector('.badge.escalated'))]));
      ok(own.length === 0 && rows.length > 0, 'manager: owns no case, yet the inbox is not empty (' + rows.length + ' rows)', [own.length, rows.length]);
      eq(rows.map((r) => r[0]), inbox.map((x) => x.id), 'manager: the rows are /cases?inbox=me, in its order');
      const firstNotOverdue = rows.findIndex((r) => r[1] !== 'true');
      ok(rows.length > 0 && rows[0][1] === 'true' && rows[0][2] && (firstNotOverdue === -1 || rows.slice(firstNotOverdue).every((r) => r[1] !== 'true')),
        'manager: the inbox opens on overdue escalations, overdue first', rows.slice(0, 5));
      await redraw(page, 'cases', () => page.check('#cases-escalated'));
      ok(page.url().includes('escalated=1'), 'manager: the address keeps the filter', page.url());
      const esc = (await apiInPage(page, 'GET', '/cases?inbox=me&escalated=true&limit=25')).body.items || [];
      eq(await page.$$eval('#case-table tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.caseId))), esc.map((x) => x.id),
        'manager: "escalated only" equals /cases?inbox=me&escalated=true');
      await shot(page, 'cases-manager');
    });

    await group('actions', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.team_lead);
      await go(page, base, '#/actions', 'actions');
      const TITLE = 'Monteur belt vooraf <script>x</script>';
      await page.click('#action-new summary');
      await page.fill('#action-form input[name="title"]', TITLE);
      await page.selectOption('#action-form select[name="touchpoint_id"]', String(tp.id));
      await page.fill('#action-form input[name="start_date"]', isoNow(-24 * 30).slice(0, 10));
      eq(await page.inputValue('#action-form select[name="team_id"]'), String(lead.unit_id), 'actions: the form is for the lead\'s team');
      // the board is drawn again once the action is stored
      await redraw(page, 'actions', () => page.click('#action-form button[type="submit"]'));
      const all = (await apiInPage(page, 'GET', '/actions?limit=500')).body.items || [];
      const a = all.find((x) => x.title === TITLE);
      ok(a && a.team_id === lead.unit_id && a.owner_id === lead.id && a.status === 'planned', 'actions: the action is stored (team, owner, planned)', a);
      if (a) {
        const card = '#action-board .board-col[data-status="planned"] .action-card[data-action-id="' + a.id + '"]';
        await page.waitForSelector(card);
        eq(await page.$eval(card + ' h3', (e) => e.textContent), TITLE, 'actions: the card shows the title as text');
        await page.waitForSelector(card + ' .effect[data-verdict]');
        const eff = (await apiInPage(page, 'GET', '/actions/' + a.id + '/effect')).body;
        eq(await page.$eval(card + ' .effect', (e) => e.dataset.verdict), eff.nps_change?.verdict || 'insufficient_data',
          'actions: the effect line has the API\'s verdict');
        const words = await page.$eval(card + ' .effect .verdict', (e) => e.textContent);
        ok(['echte verandering', 'binnen de ruis', 'te weinig gegevens'].includes(words), 'actions: the verdict is in words', words);
        eq(await page.$eval(card + ' [data-fact="touchpoint"]', (e) => e.textContent), tp.name, 'actions: the card names the touchpoint');
        await page.click(card + ' [data-next="in_progress"]');
        await page.waitForSelector('#action-board .board-col[data-status="in_progress"] .action-card[data-action-id="' + a.id + '"]');
        eq((await apiInPage(page, 'GET', '/actions/' + a.id)).body.status, 'in_progress', 'actions: "start" moves it to in progress');
      }
      await shot(page, 'actions');
      // filter by journey
      const jid = tp.journey_id;
      await redraw(page, 'actions', () => page.selectOption('#actions-journey', String(jid)));
      ok(page.url().includes('journey_id=' + jid), 'actions: the address keeps the journey', page.url());
      const byJ = (await apiInPage(page, 'GET', '/actions?limit=500&journey_id=' + jid)).body.items || [];
      eq((await page.$$eval('.action-card', (cs) => cs.map((c) => Number(c.dataset.actionId)))).sort((x, y) => x - y),
        byJ.map((x) => x.id).sort((x, y) => x - y), 'actions: the journey filter equals /actions?journey_id');
    });

    await group('admin', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.admin);
      await go(page, base, '#/cases?view=team', 'cases');
      ok(await page.$('#cases-team') !== null, 'admin: the team view offers the team choice');
      await redraw(page, 'cases', () => page.selectOption('#cases-team', String(lead.unit_id)));
      ok(page.url().includes('team_id=' + lead.unit_id), 'admin: the address keeps the team', page.url());
      const [n, c] = await Promise.all([apiInPage(page, 'GET', '/cases?status=new&limit=500&team_id=' + lead.unit_id),
        apiInPage(page, 'GET', '/cases?status=contacted&limit=500&team_id=' + lead.unit_id)]);
      eq(await page.$$eval('#case-table tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.caseId))),
        [...n.body.items, ...c.body.items].map((x) => x.id).sort((a, b) => a - b), 'admin: the team\'s open cases equal /cases?team_id');
      const st = (await apiInPage(page, 'GET', '/cases/stats?team_id=' + lead.unit_id)).body;
      eq(await page.$eval('#case-stats [data-stat="open"]', (e) => Number(e.dataset.value)), st.open, 'admin: the figures are the team\'s (/cases/stats?team_id)');
      // paging: one row per call, "load more" continues at next_cursor
      const all = (await apiInPage(page, 'GET', '/cases?limit=500')).body.items;
      const per = Math.max(1, Math.ceil(all.length / 4));  // about four pages
      await go(page, base, '#/cases?view=team&status=all&limit=' + per, 'cases');
      eq(await page.$$eval('#case-table tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.caseId))), all.slice(0, per).map((x) => x.id),
        'paging: the first page (' + per + ' rows)');
      for (let k = 2 * per; k < all.length + per; k += per) {
        await page.click('#case-more');
        await page.waitForFunction((want) => document.querySelectorAll('#case-table tbody tr').length >= want, Math.min(k, all.length));
      }
      eq(await page.$$eval('#case-table tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.caseId))), all.map((x) => x.id),
        'paging: "load more" reaches every case (' + all.length + ')');
      ok(await page.isHidden('#case-more'), 'paging: no "load more" after the last page');
    });

    await group('employee', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.employee);
      eq(await page.$$eval('#nav-list a', (as) => as.map((a) => a.dataset.nav)), ['me', 'team', 'actions', 'verbatims', 'themes', 'pulse'],
        'employee: actions in the menu, cases not (themes: issue 14)');
      eq(await goRefused(page, base, '#/cases'), 'me', 'employee: #/cases sends them home');
      ok(page.url().endsWith('#/me') && await page.$('#case-table') === null,
        'employee: #/cases is not offered (back on #/me, no case table)', page.url());
      eq((await apiInPage(page, 'GET', '/cases')).status, 403, 'employee: GET /cases -> 403');
      await go(page, base, '#/actions', 'actions');
      ok(await page.$('#action-form') === null && await page.$('.action-card [data-next]') === null, 'employee: the board without form or buttons');
      const emp = (await apiInPage(page, 'GET', '/actions?limit=500')).body.items || [];
      eq((await page.$$eval('.action-card', (cs) => cs.map((c) => Number(c.dataset.actionId)))).sort((x, y) => x - y),
        emp.map((x) => x.id).sort((x, y) => x - y), 'employee: the board shows the actions the API gives them (' + emp.length + ')');
      const teamNames = await page.$$eval('.action-card [data-fact="team"]', (ds) => ds.map((d) => d.textContent));
      ok(teamNames.every((x) => !x.startsWith('#')), 'employee: cards name their team', teamNames);
      await page.click('#logout');
      await waitPage(page, 'login');
    });

    ok(problems.length === 0, 'pages ran without script errors or CSP violations', problems.join('\n'));
    ok(dialogs.length === 0, 'no dialog was opened', dialogs);
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
