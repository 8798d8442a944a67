#!/usr/bin/env node
// coaching.mjs — browser tests of coaching (issue 13): a team lead opens an
// employee's page from "Per medewerker", changes the period (every panel
// follows it, the running period is labelled), sends a compliment on a Wall
// of Fame item; the employee sees it on their own page and gets the mail.
//
//   KS_BIN=build/asan/klantstem node tests/browser/coaching.mjs
//
// Starts the SMTP sink (tests/api/smtp_sink.py), a fresh demo database and
// `klantstem serve --smtp ... --test-clock NOW` (the scheduler runs only on
// POST /admin/scheduler/run). Every figure the page shows is compared with
// the API's reply to the same call. TAP lines, screenshots in
// build/screenshots/, exit status 1 on any failure.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, PASSWORD, binary, tmpDir, freePort, makeDemo, startServer, launchBrowser, resetContext, loginUi, waitPage, apiInPage, tap, shot, go, startSink, waitMail, ApiClient, redraw,
} from './lib.mjs';

const { ok, eq, group, run } = tap('coaching browser tests');

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const ORG_ZONE = 'Europe/Amsterdam';

// ---- the SMTP sink (as in cases.mjs) ----------------------------------------------------------

// ---- periods, worked out here from the clock (not with the product's helpers) ---------------

function localYm(ms) {
  const parts = {};
  for (const p of new Intl.DateTimeFormat('en-US', { timeZone: ORG_ZONE, year: 'numeric', month: 'numeric' }).formatToParts(new Date(ms))) {
    parts[p.type] = Number(p.value);
  }
  return { y: parts.year, m: parts.month };
}

const pad2 = (n) => String(n).padStart(2, '0');

// What every panel of a page says about its period: [data-period, data-running].
async function tags(page, sel) {
  return page.$$eval(sel + ' .period-tag', (ps) => ps.map((p) => [p.dataset.period, p.dataset.running]));
}

async function kpiValues(page, sel) {
  return page.$$eval(sel + ' .kpi', (ks) => ks.map((k) => [k.dataset.kpi, k.dataset.insufficient === 'true' ? null
    : k.querySelector('.kpi-value')?.dataset.value ?? null]));
}

function apiKpis(m) {
  return ['nps', 'grade', 'ces'].map((k) => {
    if (!m || m.insufficient || !m[k] || (m.hidden || []).includes(k)) return [k, null];
    return [k, String(k === 'nps' ? m[k].value : m[k].mean)];
  });
}

// ---- the run --------------------------------------------------------------------------------

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
  const dir = tmpDir('ks-coach-');
  const mailDir = path.join(dir, 'mail');
  fs.mkdirSync(mailDir);
  const sink = await startSink(mailDir);
  const nowMs = Date.now() - (Date.now() % 1000);
  const now = new Date(nowMs).toISOString().replace('.000Z', 'Z');
  const { y, m } = localYm(nowMs);
  const thisMonth = y + '-' + pad2(m);
  const lastMonth = m === 1 ? (y - 1) + '-12' : y + '-' + pad2(m - 1);
  let srv = null;
  let browser = null;
  const problems = [];
  try {
    const db = makeDemo(bin, dir, 3);
    srv = await startServer(bin, db, {
      args: (port) => ['--smtp', 'smtp://127.0.0.1:' + sink.port, '--test-clock', now, '--base-url', 'http://127.0.0.1:' + port,
        '--org-name', 'Energie BV'],
    });
    const base = srv.base;
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);

    // ---- setup over the API: a fresh Wall of Fame item of the demo employee ------------------
    const users = (await admin.call('GET', '/users?limit=500')).body;
    const list = users.items || users;
    const lead = list.find((u) => u.email === USERS.team_lead);
    const empUser = list.find((u) => u.email === USERS.employee);
    const emp = (await admin.call('GET', '/employees/' + empUser.employee_id)).body;
    ok(emp.team_id === lead.unit_id, 'setup: the demo employee is in the demo team lead\'s team', [emp, lead]);
    const empName = emp.first_name + ' ' + emp.last_name;
    const tp = (await admin.call('GET', '/touchpoints?limit=1')).body.items[0];
    const cust = (await admin.call('GET', '/customers?limit=1')).body.items[0];
    const PRAISE = 'Ontzettend vriendelijk en snel geholpen, dank!';
    const r = await admin.call('POST', '/responses', {
      client_key: 'coaching-browser-1', customer_id: cust.id, team_id: lead.unit_id, employee_id: emp.id,
      touchpoint_id: tp.id, channel: 'phone', received_at: new Date(nowMs - 3600e3).toISOString().replace('.000Z', 'Z'),
      answers: { nps: 10, open: PRAISE },
    });
    eq(r.status, 201, 'setup: a promoter\'s comment about the employee, this month -> 201');
    const praiseId = r.body.id;
    // a slip of this month that opens a case (the demo's alert rules)
    const slip = await admin.call('POST', '/responses', {
      client_key: 'coaching-browser-slip', customer_id: cust.id, team_id: lead.unit_id, employee_id: emp.id,
      touchpoint_id: tp.id, channel: 'phone', received_at: new Date(nowMs - 1800e3).toISOString().replace('.000Z', 'Z'),
      answers: { nps: 1, open: 'Niemand belde terug (coaching-test).' },
    });
    eq(slip.status, 201, 'setup: a detractor\'s comment about the employee -> 201');
    const slipCases = (await admin.call('GET', '/cases?response_id=' + slip.body.id)).body.items || [];
    ok(slipCases.length >= 1, 'setup: it opened a case (' + slipCases.map((c) => c.id).join(', ') + ')', slipCases);
    // ten answers of last month with ratings per aspect: "coaching-snelheid" on all ten
    // (7 and 8 alternating: mean 7.50), "coaching-uitleg" on three (under the threshold)
    for (let i = 0; i < 10; i++) {
      const ri = await admin.call('POST', '/responses', {
        client_key: 'coaching-browser-d' + i, customer_id: cust.id, team_id: lead.unit_id, employee_id: emp.id,
        touchpoint_id: tp.id, channel: 'phone', received_at: lastMonth + '-' + pad2(10 + i) + 'T10:00:00Z',
        answers: { nps: 8, drivers: i < 3 ? { 'coaching-snelheid': 7 + (i % 2), 'coaching-uitleg': 6 } : { 'coaching-snelheid': 7 + (i % 2) } },
      });
      if (ri.status !== 201) throw new Error('setup answer ' + i + ': ' + JSON.stringify(ri));
    }

    browser = await launchBrowser({ timezoneId: 'America/New_York' });
    const page = await browser.context.newPage();
    page.setDefaultTimeout(10000);
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Content.Security.Policy|Refused to/i.test(text)) problems.push('csp: ' + text);
      else if (msg.type() === 'error' && !/status of (401|403|404|409|422)/.test(text)) problems.push('console: ' + text);
    });

    // ---- the team lead: from "Per medewerker" to the employee's page -------------------------
    await group('team lead', async () => {
      await loginUi(page, base, USERS.team_lead);
      await waitPage(page, 'team');
      const link = await page.$('#team-employees tbody tr[data-key="' + emp.id + '"] th a');
      ok(link !== null, 'lead: the employee\'s name in "Per medewerker" is a link');
      eq(await link?.getAttribute('href'), '#/person/' + emp.id, 'lead: it points at #/person/ID');
      await link.click();
      await waitPage(page, 'person');
      ok(page.url().endsWith('#/person/' + emp.id), 'lead: the employee\'s page opens', page.url());
      eq(await page.$eval('h1', (e) => e.textContent), 'Medewerker: ' + empName, 'lead: the page names the employee');
      const all = (await apiInPage(page, 'GET', '/metrics?employee_id=' + emp.id)).body;
      eq(await kpiValues(page, '#person-kpis'), apiKpis(all), 'lead: all time: the cards equal GET /metrics?employee_id');
      const allTags = await tags(page, 'main');
      ok(allTags.length >= 4 && allTags.every(([p]) => p === 'all'), 'lead: every panel says it shows all time', allTags);
      ok(await page.$('#person-compare .hint') !== null, 'lead: all time has no previous period to compare with (said)');
      await shot(page, 'person-all');

      // the period picker: the running month
      const opts = await page.$$eval('select[name="period"] option', (os) => os.map((o) => [o.value, o.textContent]));
      const cur = opts.find(([v]) => v === thisMonth);
      ok(cur && / \(lopend\)$/.test(cur[1]), 'period: the running month is labelled (lopend) in the picker', opts);
      ok(!opts.some(([v]) => /W|-\d{2}-\d{2}|last_/.test(v)), 'period: no day, week or last-N-days choice (422 by design)', opts);
      ok(/hele maanden, kwartalen en jaren/.test(await page.$eval('#period-note', (e) => e.textContent)),
        'period: the picker says why only whole months, quarters and years');
      // the picker sets the address; the page is drawn at the next hashchange
      await redraw(page, 'person', () => page.selectOption('select[name="period"]', thisMonth));
      ok(page.url().includes('period=' + thisMonth), 'period: the address has ' + thisMonth, page.url());
      const curTags = await tags(page, 'main');
      ok(curTags.length >= 4 && curTags.every(([p, running]) => p === thisMonth && running === 'true'),
        'period: every panel follows the running month, marked as running', curTags);
      const tagText = await page.$eval('#person-kpis .period-tag', (e) => e.textContent);
      ok(/lopend/.test(tagText), 'period: the running period is labelled "lopend" on the panel', tagText);
      const mm = (await apiInPage(page, 'GET', '/metrics?employee_id=' + emp.id + '&period=' + thisMonth)).body;
      eq(await kpiValues(page, '#person-kpis'), apiKpis(mm), 'period: the cards equal GET /metrics for ' + thisMonth);
      const cmp = (await apiInPage(page, 'GET', '/metrics/compare?employee_id=' + emp.id + '&a.period=' + lastMonth + '&b.period=' + thisMonth)).body;
      eq(await page.$$eval('#person-compare [data-side]', (ds) => ds.map((d) => d.dataset.period)), [lastMonth, thisMonth],
        'period: the comparison is ' + lastMonth + ' against ' + thisMonth);
      eq(await kpiValues(page, '#person-compare [data-side="a"]'), apiKpis(cmp.a).slice(0, 2), 'period: the previous month equals /metrics/compare a');
      eq(await kpiValues(page, '#person-compare [data-side="b"]'), apiKpis(cmp.b).slice(0, 2), 'period: this month equals /metrics/compare b');
      const trend = (await apiInPage(page, 'GET', '/metrics/trend?employee_id=' + emp.id + '&period=' + y)).body;
      eq(await page.$$eval('#person-trend .trend-table tbody tr', (trs) => trs.map((tr) => tr.dataset.key)),
        trend.points.map((p) => p.period), 'period: the trend shows the months of ' + y + ' (the API\'s points)');
      const next = m === 12 ? (y + 1) + '-01-01' : y + '-' + pad2(m + 1) + '-01';
      const fame = (await apiInPage(page, 'GET', '/verbatims?employee_id=' + emp.id + '&band=promoter&limit=10&from=' + thisMonth + '-01&to=' + next)).body;
      eq(await page.$$eval('#person-fame li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        fame.items.map((i) => i.response_id), 'period: the Wall of Fame items of this month equal the API');
      ok(fame.items.some((i) => i.response_id === praiseId), 'period: the new comment is among them');
      await page.waitForSelector('#person-cases[data-ready="true"]');
      const shame = (await apiInPage(page, 'GET', '/verbatims?employee_id=' + emp.id + '&band=detractor&limit=10&from=' + thisMonth + '-01&to=' + next)).body;
      const want = new Set();
      for (const v of shame.items) for (const c of (await apiInPage(page, 'GET', '/cases?response_id=' + v.response_id)).body.items || []) want.add(c.id);
      eq(await page.$$eval('#person-cases li', (lis) => lis.map((li) => Number(li.dataset.caseId))), [...want].sort((a, b) => b - a),
        'period: the cases of the slips shown equal the API (' + want.size + ')');
      ok(slipCases.every((c) => want.has(c.id)), 'period: the new slip\'s case is among them');
      eq(await page.$eval('#person-all', (a) => a.getAttribute('href')), '#/verbatims?employee_id=' + emp.id,
        'lead: "all comments" leads to the explorer filtered by the employee');
      await shot(page, 'person-month');

      // the previous month: complete, so not "lopend"
      // the picker sets the address; the page is drawn at the next hashchange
      await redraw(page, 'person', () => page.selectOption('select[name="period"]', lastMonth));
      ok(page.url().includes('period=' + lastMonth), 'period: the address has ' + lastMonth, page.url());
      const prevTags = await tags(page, 'main');
      ok(prevTags.length >= 4 && prevTags.every(([p, running]) => p === lastMonth && running === 'false'),
        'period: the previous month on every panel, not running', prevTags);
      const pm = (await apiInPage(page, 'GET', '/metrics?employee_id=' + emp.id + '&period=' + lastMonth)).body;
      eq(await kpiValues(page, '#person-kpis'), apiKpis(pm), 'period: the cards equal GET /metrics for ' + lastMonth);
      const drv = (await apiInPage(page, 'GET', '/employees/' + emp.id + '/drivers?period=' + lastMonth)).body;
      eq(await page.$$eval('#person-drivers tbody tr', (trs) => trs.map((tr) => [tr.dataset.aspect,
        tr.querySelector('[data-value]')?.dataset.value ?? null])),
      drv.aspects.map((a) => [a.aspect, a.insufficient ? null : String(a.mean)]), 'period: the ratings per aspect of ' + lastMonth + ' equal the API (' + drv.aspects.length + ')');
            eq(drv.aspects.find((a) => a.aspect === 'coaching-snelheid'), { aspect: 'coaching-snelheid', n: 10, insufficient: false, mean: 7.5 },
        'period: the ten ratings of the setup show (mean 7.50)');
      eq(drv.aspects.find((a) => a.aspect === 'coaching-uitleg'), { aspect: 'coaching-uitleg', n: 3, insufficient: true, reason: 'min_n' },
        'period: three ratings do not (person threshold 10)');
      eq(await page.$eval('#person-drivers tr[data-aspect="coaching-uitleg"] td.masked', (td) => td.textContent), 'Te weinig reacties',
        'period: the page says "not enough responses" for it, no number');

      // the compliment, on this month's Wall of Fame item
      await go(page, base, '#/person/' + emp.id + '?period=' + thisMonth, 'person');
      const form = '#person-fame form.compliment-form[data-response-id="' + praiseId + '"]';
      await page.click('#person-fame details.compliment-box[data-response-id="' + praiseId + '"] > summary');
      await page.fill(form + ' input[name="note"]', 'Mooi werk!');
      await page.click(form + ' button[type="submit"]');
      await page.waitForSelector(form + '[data-sent="true"]');
      eq(await page.$eval(form + ' .compliment-msg', (e) => e.textContent), 'Compliment verstuurd naar ' + empName + '.',
        'compliment: the page says it was sent');
      const again = await apiInPage(page, 'POST', '/responses/' + praiseId + '/compliment',
        { body: {}, csrf: (await apiInPage(page, 'GET', '/auth/me')).body.csrf_token });
      eq([again.status, again.body?.error?.field], [409, 'response_id'], 'compliment: a second one -> 409');
      // the team agrees to share scores (its own lead decides), for the employee's own row below
      const share = await apiInPage(page, 'PUT', '/teams/' + lead.unit_id + '/settings',
        { body: { share_colleague_scores: true }, csrf: (await apiInPage(page, 'GET', '/auth/me')).body.csrf_token });
      eq([share.status, share.body?.share_colleague_scores], [200, true], 'lead: the team now shares colleagues\' scores');

      // the verbatim explorer filters by employee
      await go(page, base, '#/verbatims?employee_id=' + emp.id, 'verbatims');
      await page.waitForSelector('#verbatim-count[data-count]');
      eq(await page.$eval('#verbatim-employee', (s) => s.value), String(emp.id), 'explorer: the employee filter is set');
      const ex = (await apiInPage(page, 'GET', '/verbatims?employee_id=' + emp.id + '&limit=25')).body;
      eq(await page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        ex.items.map((i) => i.response_id), 'explorer: the list equals GET /verbatims?employee_id');

      // the team page: every panel follows the period too
      await go(page, base, '#/team/' + lead.unit_id + '?period=' + thisMonth, 'team');
      const teamTags = await tags(page, 'main');
      ok(teamTags.length >= 5 && teamTags.every(([p, running]) => p === thisMonth && running === 'true'),
        'team: every panel follows the running month', teamTags);
      const wall = (await apiInPage(page, 'GET', '/teams/' + lead.unit_id + '/wall?kind=fame&limit=10&period=' + thisMonth)).body;
      eq(await page.$$eval('#wall-fame li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        wall.items.map((i) => i.response_id), 'team: the Wall of Fame of the month equals the API (newest first)');
      ok(await page.$$eval('#wall-fame .score-label', (ls) => ls.length > 0 && ls.every((l) => l.textContent === 'NPS')) ||
        await page.$$eval('#wall-fame .score-band', (bs) => bs.length > 0),
      'team: score badges carry a label');
      await shot(page, 'team-month');
    });

    // ---- the mail, and the employee's page ------------------------------------------------------
    await group('employee', async () => {
      const run1 = await admin.call('POST', '/admin/scheduler/run', {});
      eq(run1.status, 200, 'mail: a scheduler pass');
      const to = emp.email || USERS.employee;
      const got = await waitMail(mailDir, (x) => x.rcpt.toLowerCase().includes(to.toLowerCase()) && /compliment/i.test(x.subject));
      eq(got.map((x) => x.subject), ['[Energie BV] Een compliment van Demo Teamleider'], 'mail: one compliment mail to ' + to);
      ok(got[0] && got[0].text.includes('"' + PRAISE + '"') && got[0].text.includes('Demo Teamleider schrijft erbij: "Mooi werk!"'),
        'mail: it quotes the customer and the lead\'s note', got[0]?.text);

      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.employee);
      await waitPage(page, 'me');
      const d = (await apiInPage(page, 'GET', '/me/dashboard')).body;
      eq(d.compliments_received.map((c) => c.response_id), [praiseId], 'employee: the API lists the compliment');
      eq(await page.$$eval('#me-received li', (lis) => lis.map((li) => Number(li.dataset.responseId))), [praiseId],
        'employee: the compliment is on my page');
      ok((await page.$eval('#me-received', (e) => e.textContent)).includes('Mooi werk!'), 'employee: with the lead\'s note');
      const shown = [...await page.$$eval('#me-compliments li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        ...await page.$$eval('#me-verbatims li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId)))];
      eq(shown.length, new Set(shown).size, 'employee: no comment appears in two panels');
      eq(await kpiValues(page, '#me-mine'), apiKpis(d.me), 'employee: my NPS, grade and CES equal the API');
      ok(await page.$('#me-all[href="#/verbatims"]') !== null, 'employee: all my comments behind a link');
      eq(d.colleagues_shared, true, 'employee: the team shares scores');
      eq(await page.$$eval('#me-colleagues tbody tr[data-own="true"]', (trs) => trs.map((tr) => tr.dataset.key)), [String(emp.id)],
        'employee: my own row among the colleagues is marked (and only mine)');
      eq(await page.$eval('#me-colleagues tr[data-own="true"] .own-mark', (e) => e.textContent), '(ik)', 'employee: marked in words, "(ik)"');
      // the picker sets the address; the page is drawn at the next hashchange
      await redraw(page, 'me', () => page.selectOption('select[name="period"]', lastMonth));
      ok(page.url().includes('period=' + lastMonth), 'period: the address has ' + lastMonth, page.url());
      const dm = (await apiInPage(page, 'GET', '/me/dashboard?period=' + lastMonth)).body;
      eq(await kpiValues(page, '#me-mine'), apiKpis(dm.me), 'employee: my page follows the period (' + lastMonth + ')');
      eq(await page.$eval('#me-window', (e) => e.dataset.period), lastMonth, 'employee: the window is the chosen month');
      await page.waitForSelector('#me-drivers[data-ready="true"]');
      const myDrv = (await apiInPage(page, 'GET', '/employees/' + emp.id + '/drivers?period=' + lastMonth)).body;
      eq(await page.$$eval('#me-drivers tbody tr', (trs) => trs.map((tr) => [tr.dataset.aspect,
        tr.querySelector('[data-value]')?.dataset.value ?? null])),
      myDrv.aspects.map((a) => [a.aspect, a.insufficient ? null : String(a.mean)]),
      'employee: my ratings per aspect (' + lastMonth + ') equal the API (' + myDrv.aspects.filter((a) => !a.insufficient).length + ' shown)');
      await shot(page, 'me-coaching');
    });

    // ---- the director: the funnel follows the period like the cards beside it ---------------------
    await group('director', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.director);
      await go(page, base, '#/org?period=' + lastMonth, 'org');
      await page.waitForSelector('#org-funnel[data-ready="true"]');
      eq(await page.$eval('#org-funnel', (e) => e.dataset.period), lastMonth, 'org: the funnel is of the chosen month');
      const f = (await apiInPage(page, 'GET', '/funnel?period=' + lastMonth)).body;
      const all = f.rows?.[0] || {};
      eq(await page.$$eval('#org-funnel .funnel-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.step, tr.querySelector('td')?.dataset.value])),
        ['contacts', 'invited', 'delivered', 'opened', 'started', 'completed'].map((k) => [k, String(all[k])]),
        'org: the funnel\'s counts equal GET /funnel?period=' + lastMonth);
      const orgTags = await tags(page, 'main');
      ok(orgTags.length >= 5 && orgTags.every(([p, running]) => p === lastMonth && running === 'false'),
        'org: every panel, the funnel included, says it shows ' + lastMonth, orgTags);
      await shot(page, 'org-month');
    });

    ok(problems.length === 0, 'pages ran without script errors or CSP violations', problems.join('\n'));
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
