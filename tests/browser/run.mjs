#!/usr/bin/env node
// run.mjs — browser tests of the web UI against the real server.
//
//   KS_BIN=build/asan/klantstem node tests/browser/run.mjs
//
// Starts `klantstem serve --web-root web` on a free port with a fresh demo
// database (`klantstem demo --scale 3`), drives Debian's Chromium headless
// through playwright-core (fresh profile; never a downloaded browser), logs
// in as each demo role and checks that the pages show the API's numbers
// (the same call fetched in the test with the same session), that a role is
// refused what it may not see, the language switch, the verbatim explorer,
// the CSV export, that a customer comment with <script> stays text, and
// logout. Also the static file rules over plain HTTP. Prints TAP lines
// ("ok N - ..." / "not ok N - ..."), saves screenshots to
// build/screenshots/, exits non-zero when anything failed.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  REPO, USERS, PASSWORD, binary, tmpDir, makeDemo, startServer, launchBrowser, resetContext,
  loginUi, waitPage, apiInPage, tap, shot, go,
} from './lib.mjs';
import * as fmt from '../../web/js/format.js';

const { ok, eq, group, run } = tap('browser tests');

// ---- plain HTTP: the static file rules -----------------------------------------------

function rawGet(port, pathRaw, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: pathRaw, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

async function staticChecks(srv) {
  const p = srv.port;
  let r = await rawGet(p, '/');
  ok(r.status === 200 && /^text\/html/.test(r.headers['content-type'] || ''), 'static: GET / -> 200 index.html', [r.status, r.headers['content-type']]);
  eq(r.headers['content-security-policy'], CSP, 'static: HTML carries the Content-Security-Policy');
  eq([r.headers['x-frame-options'], r.headers['referrer-policy'], r.headers['cache-control']],
    ['DENY', 'same-origin', 'no-cache'], 'static: HTML has X-Frame-Options DENY, Referrer-Policy same-origin, no-cache');
  ok(r.body.toString().includes('/js/app.js'), 'static: index.html is the UI shell');
  const etag = r.headers.etag;
  r = await rawGet(p, '/', { headers: { 'If-None-Match': etag } });
  ok(etag && r.status === 304 && r.body.length === 0, 'static: If-None-Match with the ETag -> 304, no body', [etag, r.status]);

  r = await rawGet(p, '/js/app.js');
  ok(r.status === 200 && /^text\/javascript/.test(r.headers['content-type'] || '') && !r.headers['content-security-policy'],
    'static: a module is text/javascript (CSP only on HTML)', r.headers);
  const h = await rawGet(p, '/js/app.js', { method: 'HEAD' });
  ok(h.status === 200 && h.body.length === 0 && h.headers['content-length'] === String(r.body.length),
    'static: HEAD answers the headers without the body', [h.status, h.body.length, h.headers['content-length'], r.body.length]);
  r = await rawGet(p, '/css/app.css');
  ok(r.status === 200 && /^text\/css/.test(r.headers['content-type'] || ''), 'static: stylesheet is text/css');
  r = await rawGet(p, '/img/favicon.svg');
  ok(r.status === 200 && r.headers['content-type'] === 'image/svg+xml', 'static: svg is image/svg+xml');

  const vendorFile = path.join(REPO, 'web', 'vendor', 'echarts.esm.min.js');
  const plain = await rawGet(p, '/vendor/echarts.esm.min.js');
  ok(plain.status === 200 && plain.body.length === fs.statSync(vendorFile).size && !plain.headers['content-encoding'],
    'static: ECharts is served from /vendor (no CDN), plain without Accept-Encoding', [plain.status, plain.body.length]);
  const gz = await rawGet(p, '/vendor/echarts.esm.min.js', { headers: { 'Accept-Encoding': 'gzip, br' } });
  ok(gz.status === 200 && gz.headers['content-encoding'] === 'gzip' && gz.body.length < plain.body.length / 2
    && gz.headers.vary === 'Accept-Encoding', 'static: the gzip twin goes to clients that take gzip', [gz.status, gz.headers]);

  // What must never leave the web root, or never be static at all.
  const refused = ['/../Makefile', '/%2e%2e/Makefile', '/js/../../Makefile', '//etc/passwd', '/.gitignore',
    '/node_modules/echarts/package.json', '/package.json.bak', '/js/', '/js', '/nope.js', '/no-such-page'];
  for (const u of refused) {
    r = await rawGet(p, u);
    ok(r.status === 404, 'static: GET ' + u + ' -> 404', [r.status, r.body.toString().slice(0, 120)]);
  }
  r = await rawGet(p, '/api/v1/nope');
  ok(r.status === 404 && /application\/json/.test(r.headers['content-type']), 'static: an unknown /api path stays a JSON 404', r.status);
  r = await rawGet(p, '/healthz');
  ok(r.status === 200 && /application\/json/.test(r.headers['content-type']), 'static: /healthz is the API, not a file');
  r = await rawGet(p, '/app/team/5');
  ok(r.status === 200 && /^text\/html/.test(r.headers['content-type'] || ''), 'static: /app/... deep link falls back to index.html', r.status);
  r = await rawGet(p, '/index.html', { method: 'POST' });
  ok(r.status === 404 || r.status === 405, 'static: POST to a file is not served', r.status);
}

// ---- helpers on pages -----------------------------------------------------------------------

async function csrfOf(page) {
  const me = await apiInPage(page, 'GET', '/auth/me');
  return me.body.csrf_token;
}

// The NPS, grade and CES cards of a container against a /metrics result.
async function checkKpis(page, sel, m, label) {
  const cards = await page.$$eval(sel + ' [data-kpi]', (els) => els.map((e) => ({
    kind: e.dataset.kpi,
    insufficient: e.dataset.insufficient === 'true',
    value: e.querySelector('.kpi-value')?.dataset.value ?? null,
    text: e.querySelector('.kpi-value')?.textContent ?? '',
    n: e.querySelector('.kpi-n')?.dataset.n ?? null,
  })));
  for (const kind of ['nps', 'grade', 'ces']) {
    const c = cards.find((x) => x.kind === kind);
    if (!c) continue;
    if (m.insufficient || !m[kind]) {
      ok(c.insufficient, label + ': ' + kind + ' card says not enough responses', c);
      continue;
    }
    const want = kind === 'nps' ? m.nps.value : m[kind].mean;
    const wantText = kind === 'nps' ? fmt.fmtNps(want) : fmt.fmtMean(want, 'nl');
    eq([Number(c.value), c.text, Number(c.n)], [want, wantText, m[kind].n], label + ': ' + kind + ' card shows the API value ' + wantText);
  }
}

// A groupTable against /metrics rows: per row key, the NPS cell or the mask.
async function checkGroupTable(page, sel, rows, dim, label) {
  const shown = await page.$$eval(sel + ' tbody tr', (trs) => trs.map((tr) => ({
    key: tr.dataset.key,
    insufficient: tr.dataset.insufficient === 'true',
    nps: tr.querySelector('[data-col="nps"]')?.dataset.value ?? null,
    npsText: tr.querySelector('[data-col="nps"]')?.textContent ?? '',
    n: tr.querySelector('[data-col="n"]')?.dataset.value ?? null,
  })));
  const want = rows.map((r) => ({
    key: fmt.keyId(r[dim]),
    insufficient: Boolean(r.insufficient),
    nps: r.insufficient || !r.nps ? null : String(r.nps.value),
    npsText: r.insufficient ? 'Te weinig reacties' : r.nps ? fmt.fmtNps(r.nps.value) : '–',
    n: String(r.n),
  }));
  return eq(shown, want, label);
}

// ---- the run --------------------------------------------------------------------------------------

async function main() {
  const bin = binary();
  if (!fs.existsSync(bin)) {
    ok(false, 'server binary exists', bin + ' not found (make build/asan/klantstem, or set KS_BIN)');
    return;
  }
  if (!fs.existsSync(path.join(REPO, 'web', 'vendor', 'echarts.esm.min.js'))) {
    ok(false, 'web/vendor/echarts.esm.min.js exists', 'run `make web` (npm ci in web/ and the copy to web/vendor)');
    return;
  }
  const dir = tmpDir('ks-browser-');
  const db = makeDemo(bin, dir, 3);
  const srv = await startServer(bin, db);
  const base = srv.base;
  let browser = null;
  try {
    await group('static', () => staticChecks(srv));
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    page.on('console', (m) => {
      const text = m.text();
      if (/Content.Security.Policy|Refused to/i.test(text)) problems.push('csp: ' + text);
      else if (m.type() === 'error' && !/status of (401|403)/.test(text)) problems.push('console: ' + text);
    });
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });

    // ---- admin ------------------------------------------------------------------------------
    let xssId = null;
    const XSS = '<script>window.__ks_xss=1</script><img src=x onerror="window.__ks_xss=2"> wachttijd-xss-probe';
    await group('admin', async () => {
      await page.goto(base + '/');
      await waitPage(page, 'login');
      ok(await page.evaluate(() => document.activeElement?.name === 'email'), 'login: the e-mail field has the focus');
      await shot(page, 'login');
      await loginUi(page, base, USERS.admin);
      ok(page.url().endsWith('#/org'), 'admin: lands on the organisation view', page.url());
      // keyboard: on a freshly loaded page the skip link is the first stop,
      // and it moves the focus to the page's heading
      await page.reload();
      await waitPage(page, 'org');
      await page.keyboard.press('Tab');
      ok(await page.evaluate(() => document.activeElement?.id === 'skip-link'), 'a11y: Tab first reaches the skip link',
        await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80)));
      await page.keyboard.press('Enter');
      ok(await page.evaluate(() => document.activeElement?.tagName === 'H1'), 'a11y: the skip link moves the focus to the heading');
      eq(await page.$$eval('#nav-list a', (as) => as.map((a) => a.dataset.nav)), ['org', 'team', 'cases', 'actions', 'verbatims'], 'admin: navigation items');
      const csrf = await csrfOf(page);
      // a customer comment that tries to run script, on the demo employee's team
      const empUser = await apiInPage(page, 'GET', '/users');
      const medewerker = empUser.body.items ? empUser.body.items.find((u) => u.role === 'employee') : (empUser.body.find ? empUser.body.find((u) => u.role === 'employee') : null);
      const emp = await apiInPage(page, 'GET', '/employees/' + medewerker.employee_id);
      const created = await apiInPage(page, 'POST', '/responses', {
        csrf,
        body: { client_key: 'browser-xss-1', touchpoint_id: 2, employee_id: emp.body.id, team_id: emp.body.team_id, customer_id: 9,
          channel: 'phone', language: 'nl', answers: { nps: 3, open: XSS } },
      });
      ok(created.status === 201, 'admin: creates a response with <script> in its comment (API, with CSRF token)', created);
      xssId = created.body.id;
      const noCsrf = await apiInPage(page, 'POST', '/responses', { body: { client_key: 'browser-xss-2', touchpoint_id: 2, customer_id: 9, channel: 'phone', answers: { nps: 5 } } });
      eq(noCsrf.status, 403, 'admin: the same write without X-CSRF-Token -> 403');

      await go(page, base, '#/org', 'org');
      await page.waitForSelector('#org-trend .chart[data-marked]');
      const total = await apiInPage(page, 'GET', '/metrics');
      await checkKpis(page, '#org-kpis', total.body, 'admin org');
      const teams = await apiInPage(page, 'GET', '/metrics?group_by=team');
      await checkGroupTable(page, '#org-teams', teams.body.rows, 'team', 'admin org: per team table equals /metrics?group_by=team');
      const depts = await apiInPage(page, 'GET', '/metrics?group_by=department');
      await checkGroupTable(page, '#org-departments', depts.body.rows, 'department', 'admin org: per department table equals the API');
      const trend = await apiInPage(page, 'GET', '/metrics/trend');
      const real = trend.body.points.filter((pt) => pt.nps_change?.verdict === 'real_change' && pt.nps).map((pt) => pt.period);
      const marked = await page.$eval('#org-trend .chart', (e) => e.dataset.marked);
      eq(marked ? marked.split(',') : [], real, 'admin org: trend marks exactly the real_change periods (' + real.length + ')');
      eq(await page.$$eval('#org-trend [data-col="change"]', (tds) => tds.map((td) => td.dataset.verdict)),
        trend.body.points.map((pt) => pt.nps_change?.verdict ?? ''), 'admin org: trend table verdicts equal the API');
      const heat = await apiInPage(page, 'GET', '/metrics?group_by=journey,touchpoint');
      const tps = await apiInPage(page, 'GET', '/touchpoints?limit=500');
      const cells = await page.$$eval('#org-heat td.cell', (tds) => tds.map((td) => ({ tp: td.dataset.touchpoint, mot: td.dataset.mot, v: td.dataset.value })));
      const wantCells = tps.body.items.map((tp) => {
        const r = heat.body.rows.find((x) => x.touchpoint.id === tp.id);
        return { tp: String(tp.id), mot: tp.moment_of_truth ? 'true' : 'false', v: r && !r.insufficient && r.nps ? String(r.nps.value) : '' };
      });
      const sortTp = (a) => [...a].sort((x, y) => Number(x.tp) - Number(y.tp));
      eq(sortTp(cells), sortTp(wantCells), 'admin org: heat map cells (NPS, moment of truth) equal the API');
      ok(cells.some((c) => c.mot === 'true'), 'admin org: moments of truth are marked on the heat map');
      await page.waitForSelector('#org-funnel[data-ready="true"]');
      const funnel = await apiInPage(page, 'GET', '/funnel');
      eq(Number(await page.$eval('#funnel-rate', (e) => e.dataset.value)), funnel.body.rows[0].response_rate, 'admin org: funnel response rate equals /funnel');
      eq(Number(await page.$eval('#org-funnel [data-step="completed"] td', (e) => e.dataset.value)), funnel.body.rows[0].completed,
        'admin org: funnel completed count equals /funnel');
      await shot(page, 'org');

      // breakdown explorer: two dimensions, masking, CSV
      await page.selectOption('#explorer-a', 'team');
      await page.selectOption('#explorer-b', 'channel');
      await page.click('#org-explorer button[type="submit"]');
      await page.waitForSelector('#org-explorer table.pivot');
      await waitPage(page, 'org');
      const pivot = await apiInPage(page, 'GET', '/metrics?group_by=team%2Cchannel');
      const pv = await page.$$eval('#org-explorer table.pivot td[data-n]', (tds) => tds.map((td) => ({
        n: Number(td.dataset.n), masked: td.dataset.insufficient === 'true', v: td.dataset.value ?? '' })));
      const wantPv = pivot.body.rows.map((r) => ({ n: r.n, masked: Boolean(r.insufficient), v: r.insufficient ? '' : String(r.nps.value) }));
      const key = (x) => x.n + '/' + x.masked + '/' + x.v;
      eq(pv.map(key).sort(), wantPv.map(key).sort(), 'admin explorer: team × channel cells equal the API (' + wantPv.length + ')');
      ok(wantPv.some((x) => x.masked) ? pv.some((x) => x.masked) : true, 'admin explorer: groups under the minimum n are masked');
      const href = await page.$eval('#explorer-csv', (a) => a.getAttribute('href'));
      ok(/format=csv/.test(href) && /group_by=team%2Cchannel/.test(href), 'admin explorer: CSV link is the same call with format=csv', href);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#explorer-csv')]);
      const file = await download.path();
      const csvText = fs.readFileSync(file, 'utf8');
      const direct = await apiInPage(page, 'GET', '/metrics?group_by=team%2Cchannel&format=csv');
      ok(csvText.startsWith('team,channel,n,nps_n,nps') && csvText === direct.body, 'admin explorer: CSV export downloads the API\'s CSV',
        csvText.slice(0, 200));
      ok(/\.csv$/.test(download.suggestedFilename()), 'admin explorer: the download is named .csv', download.suggestedFilename());

      // the verbatim explorer: the comment is text, never markup
      await go(page, base, '#/verbatims?q=wachttijd-xss-probe', 'verbatims');
      await page.waitForSelector('#verbatim-count[data-count]');
      const item = await page.$('li.verbatim[data-response-id="' + xssId + '"] .verbatim-text');
      ok(item !== null, 'xss: the injected comment is listed');
      if (item) {
        eq(await item.textContent(), XSS, 'xss: the comment shows as the literal text');
        ok(await item.$('script, img') === null, 'xss: no script or img element was created from it');
      }
      ok(await page.evaluate(() => window.__ks_xss === undefined), 'xss: its script never ran');
      await page.click('li.verbatim[data-response-id="' + xssId + '"] a');
      await waitPage(page, 'response');
      eq(await page.$eval('#response-detail blockquote', (b) => b.textContent), XSS, 'xss: the response page shows it as text as well');
      await shot(page, 'response');

      // language: nl -> en, remembered after reload, and back
      await go(page, base, '#/org', 'org');
      await page.click('.lang-btn[data-lang="en"]');
      await waitPage(page, 'org');
      eq([await page.textContent('main h1'), await page.getAttribute('html', 'lang'), await page.textContent('#nav-list a[data-nav="verbatims"]')],
        ['Organisation', 'en', 'Customer comments'], 'language: EN switches headings and navigation');
      await page.reload();
      await waitPage(page, 'org');
      eq([await page.textContent('main h1'), await page.getAttribute('.lang-btn[data-lang="en"]', 'aria-pressed')], ['Organisation', 'true'],
        'language: English is remembered after a reload');
      await shot(page, 'org-en');
      await page.click('.lang-btn[data-lang="nl"]');
      await waitPage(page, 'org');
      await page.reload();
      await waitPage(page, 'org');
      eq(await page.textContent('main h1'), 'Organisatie', 'language: back to Dutch, remembered after a reload');

      // the team page of the employee's team as admin
      await go(page, base, '#/team/' + emp.body.team_id, 'team');
      const tm = await apiInPage(page, 'GET', '/metrics?team_id=' + emp.body.team_id);
      await checkKpis(page, '#team-kpis', tm.body, 'admin team');
      const shame = await apiInPage(page, 'GET', '/teams/' + emp.body.team_id + '/wall?kind=shame&limit=10');
      eq(await page.$$eval('#wall-shame li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        shame.body.items.map((i) => i.response_id), 'admin team: Wall of Shame lists the API\'s items in order');
      eq(await page.$$eval('#wall-shame li.verbatim a', (as) => as.map((a) => a.getAttribute('href'))),
        shame.body.items.map((i) => '#/response/' + i.response_id), 'admin team: each wall item links to its response');
      ok(await page.evaluate(() => window.__ks_xss === undefined), 'xss: the wall shows the comment without running it');
      await shot(page, 'team');
    });

    // ---- verbatim explorer filters (admin) ----------------------------------------------------
    await group('verbatims', async () => {
      await go(page, base, '#/verbatims', 'verbatims');
      await page.waitForSelector('#verbatim-count[data-count]');
      await page.selectOption('#verbatim-form select[name="band"]', 'detractor');
      await page.fill('#verbatim-form input[name="q"]', 'wachttijd');
      await page.click('#verbatim-form button[type="submit"]');
      await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1] || '').get('band') === 'detractor');
      await page.waitForSelector('#verbatim-list li.verbatim, #verbatim-list li');
      await page.waitForFunction(() => document.querySelector('section[aria-labelledby="verbatim-count"]')?.getAttribute('aria-busy') === 'false');
      const api = await apiInPage(page, 'GET', '/verbatims?band=detractor&q=wachttijd&limit=25');
      const ids = await page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId)));
      eq(ids, api.body.items.map((i) => i.response_id), 'verbatims: band + search list equals /verbatims (' + ids.length + ' items)');
      ok(ids.length > 0, 'verbatims: the search finds something');
      const bands = await page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => li.dataset.band));
      ok(bands.every((b) => b === 'detractor'), 'verbatims: every item is a detractor', bands);
      const texts = await page.$$eval('#verbatim-list .verbatim-text', (bs) => bs.map((b) => b.textContent.toLowerCase()));
      ok(texts.every((x) => x.includes('wachttijd')), 'verbatims: every item contains the search word');
      await page.fill('#verbatim-form input[name="q"]', '');
      await page.selectOption('#verbatim-form select[name="band"]', 'promoter');
      await page.selectOption('#verbatim-form select[name="language"]', 'en');
      await page.click('#verbatim-form button[type="submit"]');
      await page.waitForFunction(() => new URLSearchParams(location.hash.split('?')[1] || '').get('language') === 'en');
      await page.waitForFunction(() => document.querySelector('section[aria-labelledby="verbatim-count"]')?.getAttribute('aria-busy') === 'false');
      const api2 = await apiInPage(page, 'GET', '/verbatims?band=promoter&language=en&limit=25');
      eq(await page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        api2.body.items.map((i) => i.response_id), 'verbatims: band + language filter equals the API');
      if (api2.body.next_cursor) {
        await page.click('#verbatim-more');
        await page.waitForFunction((n) => document.querySelectorAll('#verbatim-list li.verbatim').length > n, api2.body.items.length);
        const api3 = await apiInPage(page, 'GET', '/verbatims?band=promoter&language=en&limit=25&cursor=' + api2.body.next_cursor);
        const all = await page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId)));
        eq(all.slice(api2.body.items.length), api3.body.items.map((i) => i.response_id), 'verbatims: "load more" continues at the cursor');
      }
      await shot(page, 'verbatims');
    });

    // ---- director ------------------------------------------------------------------------------
    await group('director', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.director);
      ok(page.url().endsWith('#/org'), 'director: lands on the organisation view');
      const total = await apiInPage(page, 'GET', '/metrics');
      await checkKpis(page, '#org-kpis', total.body, 'director org');
      ok(await page.$('#org-funnel') !== null, 'director: sees the response funnel');
      eq((await apiInPage(page, 'GET', '/users')).status, 403, 'director: GET /users (admin only) -> 403');
      eq((await apiInPage(page, 'POST', '/responses', { csrf: await csrfOf(page), body: { touchpoint_id: 2, customer_id: 9, channel: 'phone', answers: { nps: 9 } } })).status,
        403, 'director: POST /responses (admin only) -> 403');
    });

    // ---- manager -------------------------------------------------------------------------------
    await group('manager', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.manager);
      ok(page.url().endsWith('#/org'), 'manager: lands on the organisation view');
      const me = (await apiInPage(page, 'GET', '/auth/me')).body.user;
      const total = await apiInPage(page, 'GET', '/metrics');
      ok(total.body.filter.team_id === me.unit_id, 'manager: /metrics is narrowed to the department', total.body.filter);
      await checkKpis(page, '#org-kpis', total.body, 'manager org');
      const teams = await apiInPage(page, 'GET', '/metrics?group_by=team');
      await checkGroupTable(page, '#org-teams', teams.body.rows, 'team', 'manager org: teams of the department equal the API');
      ok(await page.$('#org-funnel') === null && await page.$('#org-departments') === null, 'manager: no funnel and no all-departments table');
      eq((await apiInPage(page, 'GET', '/funnel')).status, 403, 'manager: GET /funnel -> 403');
      eq((await apiInPage(page, 'GET', '/responses/1')).status, 403, 'manager: GET /responses/1 -> 403');
      const all = await apiInPage(page, 'GET', '/teams?kind=team&limit=500');
      const mine = await apiInPage(page, 'GET', '/teams?parent_id=' + me.unit_id + '&limit=500');
      const other = all.body.items.find((x) => x.parent_id !== me.unit_id);
      eq((await apiInPage(page, 'GET', '/metrics?team_id=' + other.id)).status, 403, 'manager: metrics of a team outside the department -> 403');
      await go(page, base, '#/team', 'team');
      eq(await page.$$eval('#team-select option', (os) => os.map((o) => Number(o.value))), mine.body.items.map((x) => x.id),
        'manager: the team choice lists the department\'s teams');
      await go(page, base, '#/team/' + other.id, 'team');
      ok(await page.$('#team-kpis [data-status="403"]') !== null, 'manager: a team outside the department shows "not allowed"');
      await shot(page, 'manager-org');
    });

    // ---- team lead -----------------------------------------------------------------------------
    await group('team_lead', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.team_lead);
      ok(/#\/team/.test(page.url()), 'team lead: lands on the team dashboard', page.url());
      eq(await page.$$eval('#nav-list a', (as) => as.map((a) => a.dataset.nav)), ['team', 'cases', 'actions', 'verbatims'], 'team lead: navigation items');
      const me = (await apiInPage(page, 'GET', '/auth/me')).body.user;
      const tm = await apiInPage(page, 'GET', '/metrics?team_id=' + me.unit_id);
      await checkKpis(page, '#team-kpis', tm.body, 'team lead');
      const emps = await apiInPage(page, 'GET', '/metrics?team_id=' + me.unit_id + '&group_by=employee');
      await checkGroupTable(page, '#team-employees', emps.body.rows, 'employee', 'team lead: per employee table equals the API (min n ' + emps.body.min_n + ')');
      const tps = await apiInPage(page, 'GET', '/metrics?team_id=' + me.unit_id + '&group_by=touchpoint');
      await checkGroupTable(page, '#team-touchpoints', tps.body.rows, 'touchpoint', 'team lead: per touchpoint table equals the API');
      const fame = await apiInPage(page, 'GET', '/teams/' + me.unit_id + '/wall?kind=fame&limit=10');
      eq(await page.$$eval('#wall-fame li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        fame.body.items.map((i) => i.response_id), 'team lead: Wall of Fame equals the API');
      // write paths, with the CSRF token: a goal and the team's agreement
      await page.fill('#goal-form input[name="period"]', '2026-Q4');
      await page.selectOption('#goal-form select[name="metric"]', 'nps');
      await page.fill('#goal-form input[name="target"]', '35');
      await page.click('#goal-form button[type="submit"]');
      await page.waitForSelector('#team-goals .goal[data-period="2026-Q4"]');
      const goals = await apiInPage(page, 'GET', '/teams/' + me.unit_id + '/goals');
      const g = goals.body.items.find((x) => x.period === '2026-Q4' && x.metric === 'nps');
      ok(g && g.target === 35, 'team lead: the goal form stored the goal (PUT with X-CSRF-Token)', goals.body);
      await page.check('#share-scores');
      await page.waitForFunction(() => /opgeslagen|saved/i.test(document.querySelector('#team-settings [role="status"]')?.textContent || ''));
      eq((await apiInPage(page, 'GET', '/teams/' + me.unit_id + '/settings')).body.share_colleague_scores, true,
        'team lead: the team agreement was saved');
      await page.uncheck('#share-scores');
      await page.waitForFunction(async (id) => {
        const r = await fetch('/api/v1/teams/' + id + '/settings');
        return (await r.json()).share_colleague_scores === false;
      }, me.unit_id);
      eq((await apiInPage(page, 'GET', '/funnel')).status, 403, 'team lead: GET /funnel -> 403');
      const others = (await apiInPage(page, 'GET', '/teams?kind=team&limit=500')).body.items.filter((x) => x.id !== me.unit_id);
      eq((await apiInPage(page, 'GET', '/metrics?team_id=' + others[0].id)).status, 403, 'team lead: metrics of another team -> 403');
      await page.goto(base + '/#/org');
      await waitPage(page, 'team');
      ok(/#\/team/.test(page.url()), 'team lead: #/org is not offered (back to the team dashboard)', page.url());
      await shot(page, 'team-lead');
    });

    // ---- employee ------------------------------------------------------------------------------
    await group('employee', async () => {
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, USERS.employee);
      ok(page.url().endsWith('#/me'), 'employee: lands on the personal dashboard', page.url());
      const d = (await apiInPage(page, 'GET', '/me/dashboard')).body;
      await checkKpis(page, '#me-mine', d.me, 'employee: my scores');
      await checkKpis(page, '#me-team', d.team, 'employee: my team\'s scores');
      eq(await page.$$eval('#me-verbatims li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        d.verbatims.map((v) => v.response_id), 'employee: my latest verbatims equal the API');
      eq(await page.$$eval('#me-compliments li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        d.compliments.map((v) => v.response_id), 'employee: compliments equal the API');
      const shown = await page.$$eval('#me-verbatims .verbatim-text', (bs) => bs.map((b) => b.textContent));
      ok(shown.includes(XSS), 'xss: the comment about me shows as text on my dashboard');
      ok(await page.evaluate(() => window.__ks_xss === undefined), 'xss: and did not run');
      ok(d.colleagues_shared ? await page.$('#me-colleagues') !== null : await page.$('#me-colleagues') === null,
        'employee: colleagues appear only when the team shares (' + d.colleagues_shared + ')');
      await shot(page, 'me');
      const empId = d.user.employee_id;
      eq((await apiInPage(page, 'GET', '/metrics?group_by=employee')).status, 403, 'employee: scores per colleague -> 403');
      eq((await apiInPage(page, 'GET', '/metrics?employee_id=' + (empId + 1))).status, 403, 'employee: a colleague\'s scores -> 403');
      eq((await apiInPage(page, 'GET', '/verbatims?employee_id=' + (empId + 1))).status, 403, 'employee: a colleague\'s comments -> 403');
      eq((await apiInPage(page, 'GET', '/funnel')).status, 403, 'employee: GET /funnel -> 403');
      eq((await apiInPage(page, 'GET', '/users')).status, 403, 'employee: GET /users -> 403');
      const noCsrf = await apiInPage(page, 'PUT', '/teams/' + d.team.id + '/goals', { body: { period: '2026', metric: 'nps', target: 50 } });
      eq(noCsrf.status, 403, 'employee: a write without the CSRF token -> 403');
      await go(page, base, '#/team', 'team');
      ok(await page.$('#team-employees') === null && await page.$('#goal-form') === null, 'employee: team page without per-employee scores or goal form');
      await go(page, base, '#/verbatims', 'verbatims');
      await page.waitForSelector('#verbatim-count[data-count]');
      const mine = await apiInPage(page, 'GET', '/verbatims?limit=25');
      eq(await page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        mine.body.items.map((i) => i.response_id), 'employee: the explorer lists the API\'s comments about me');

      // phone layout: nothing wider than the screen
      await page.setViewportSize({ width: 390, height: 844 });
      await go(page, base, '#/me', 'me');
      ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'layout: the personal dashboard fits a phone screen');
      await shot(page, 'me-phone');
      await go(page, base, '#/team', 'team');
      ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'layout: the team dashboard fits a phone screen');
      await shot(page, 'team-phone');
      await page.setViewportSize({ width: 1280, height: 900 });

      // logout: the session is gone on the server too
      await page.click('#logout');
      await waitPage(page, 'login');
      eq((await apiInPage(page, 'GET', '/auth/me')).status, 401, 'logout: the session no longer works');
      await page.goto(base + '/#/me');
      await waitPage(page, 'login');
      ok(true, 'logout: a page after logout asks to log in again');
    });

    // ---- default language from the account ----------------------------------------------------
    await group('language default', async () => {
      await resetContext(browser.context);
      await loginUi(page, base, USERS.admin);
      const csrf = await csrfOf(page);
      const u = await apiInPage(page, 'POST', '/users', { csrf, body: { email: 'english@demo.klantstem', name: 'English Director', role: 'director', password: PASSWORD, language: 'en' } });
      ok(u.status === 201, 'language: admin creates an English-speaking director', u);
      await page.click('#logout');
      await waitPage(page, 'login');
      await resetContext(browser.context);
      await loginUi(page, base, 'english@demo.klantstem');
      eq(await page.textContent('main h1'), 'Organisation', 'language: without a stored choice the account language (en) decides');
      await page.click('#logout');
      await waitPage(page, 'login');
    });

    ok(problems.length === 0, 'pages ran without script errors or CSP violations', problems.join('\n'));
    ok(dialogs.length === 0, 'no dialog (alert) was opened by any page', dialogs);
  } finally {
    if (browser) await browser.close().catch(() => {});
    const st = await srv.stop();
    const err = srv.stderr();
    ok(!/AddressSanitizer|runtime error:|LeakSanitizer/.test(err), 'server: no sanitizer report', err.slice(-1500));
    ok(st.code === 0, 'server: stopped cleanly on SIGTERM', st);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

run(main);
