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
  loginUi, waitPage, apiInPage, tap, shot, go, goRefused,
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

// ---- format.js on its own (node runs in UTC here) ---------------------------------------------

function formatChecks() {
  eq([fmt.fmtNps(22.5, 'nl'), fmt.fmtNps(22.5, 'en'), fmt.fmtNps(-8, 'nl'), fmt.fmtNps(0, 'nl')], ['+22,5', '+22.5', '\u22128,0', '0,0'],
    'format: NPS with its one decimal, the language\'s separator and its sign');
  eq([fmt.fmtNps(-0, 'nl'), fmt.fmtNps(-0, 'en'), fmt.fmtDiff(-0.04, 'nl'), fmt.fmtPct(-0, 'nl'), fmt.fmtMean(-0, 'nl')], ['0,0', '0.0', '0,0', '0%', '0,00'],
    'format: a zero never prints as "\u22120"');
  eq([fmt.fmtMean(7.43, 'nl'), fmt.fmtMean(7.4, 'en'), fmt.fmtPct(0.47, 'nl'), fmt.fmtPct(0.47, 'en')], ['7,43', '7.40', '47%', '47%'],
    'format: means with two decimals, shares as whole percents');
  eq([fmt.fmtDate('2026-11-30T23:30:00Z', 'nl'), fmt.fmtDate('2026-11-30T23:30:00Z', 'en'), fmt.fmtDateTime('2026-11-30T23:30:00Z', 'nl')],
    ['1 dec 2026', '1 Dec 2026', '1 dec 2026, 00:30'], 'format: 2026-11-30T23:30Z is 1 December in Amsterdam (not the machine\'s UTC)');
  eq([fmt.fmtDate('2026-10-26', 'nl'), fmt.fmtPeriod('2026-W49', 'nl'), fmt.fmtPeriod('2026-Q4', 'nl'), fmt.fmtPeriod('2026-12', 'nl')],
    ['26 okt 2026', '2026-W49', '2026-Q4', 'dec 2026'], 'format: calendar dates and the server\'s period labels are printed as given');
  eq([fmt.fmtLastDay('2026-12-01T00:00:00Z', 'nl'), fmt.fmtLastDay('2026-11-30T23:00:00Z', 'nl'), fmt.currentQuarter(new Date('2026-12-31T23:30:00Z'))],
    ['30 nov 2026', '30 nov 2026', '2027-Q1'], 'format: window ends and the current quarter are counted in the organisation\'s zone');
  fmt.setTimeZone('America/Los_Angeles');
  const la = fmt.fmtDate('2026-11-30T23:30:00Z', 'nl');
  fmt.setTimeZone('No/Such_Zone');
  const fallback = fmt.timeZone();
  fmt.setTimeZone(null);
  eq([la, fallback, fmt.timeZone()], ['30 nov 2026', ORG_ZONE, ORG_ZONE], 'format: the time zone is one setting (unknown or absent: Europe/Amsterdam)');
}

// ---- helpers on pages -----------------------------------------------------------------------

async function csrfOf(page) {
  const me = await apiInPage(page, 'GET', '/auth/me');
  return me.body.csrf_token;
}

// The NPS, grade and CES cards of a container against a /metrics result.
async function checkKpis(page, sel, m, label, kinds = ['nps', 'grade', 'ces']) {
  const cards = await page.$$eval(sel + ' [data-kpi]', (els) => els.map((e) => ({
    kind: e.dataset.kpi,
    insufficient: e.dataset.insufficient === 'true',
    value: e.querySelector('.kpi-value')?.dataset.value ?? null,
    text: e.querySelector('.kpi-value')?.textContent ?? '',
    n: e.querySelector('.kpi-n')?.dataset.n ?? null,
  })));
  eq(cards.map((x) => x.kind), kinds, label + ': the cards ' + kinds.join(', ') + ', in that order');
  for (const kind of kinds) {
    const c = cards.find((x) => x.kind === kind);
    if (!c) continue; // reported by the check just above
    if (m.insufficient || !m[kind] || (m.hidden || []).includes(kind)) {
      ok(c.insufficient && c.text === 'Te weinig reacties', label + ': ' + kind + ' card says not enough responses', c);
      continue;
    }
    const want = kind === 'nps' ? m.nps.value : m[kind].mean;
    const wantText = kind === 'nps' ? npsText(want) : meanText(want);
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
    // a row's key as the API names it: the unit's id, or the label itself
    key: r[dim] && typeof r[dim] === 'object' ? (r[dim].id == null ? r[dim].name : String(r[dim].id)) : String(r[dim] ?? ''),
    insufficient: Boolean(r.insufficient),
    nps: r.insufficient || !r.nps ? null : String(r.nps.value),
    npsText: r.insufficient || !r.nps ? 'Te weinig reacties' : npsText(r.nps.value),
    n: String(r.n),
  }));
  return eq(shown, want, label);
}

// ---- honest numbers, written here without format.js ------------------------------------------

// An NPS as the page must print it: the API's value with its one decimal as
// sent (22.5 → "+22,5" in Dutch, "+22.5" in English, never "+23"), U+2212
// for minus, and no sign on a zero ("0,0", never "−0,0").
function npsText(v, lang = 'nl') {
  const abs = Math.abs(v).toFixed(1);
  const s = lang === 'nl' ? abs.replace('.', ',') : abs;
  if (!/[1-9]/.test(abs)) return s;
  return (v < 0 ? '\u2212' : '+') + s;
}
const diffText = npsText;

// A grade or CES mean with the server's two decimals.
function meanText(v, lang = 'nl') {
  const s = v.toFixed(2);
  return lang === 'nl' ? s.replace('.', ',') : s;
}

// The number a printed figure stands for ("+22,5" → 22.5).
function parseShown(text) {
  return Number(text.replace('\u2212', '-').replace(',', '.'));
}

// A change block in words (nl), as the trend table must show it.
function changeWords(c, lang = 'nl') {
  if (!c || !c.verdict) return '';
  const d = typeof c.diff === 'number' ? ' (' + diffText(c.diff, lang) + ')' : '';
  const words = lang === 'nl'
    ? { real_change: 'echte verandering', within_noise: 'binnen de ruis', insufficient_data: 'te weinig gegevens', no_previous_period: 'geen vorige periode' }
    : { real_change: 'real change', within_noise: 'within the noise', insufficient_data: 'not enough data', no_previous_period: 'no previous period' };
  return words[c.verdict] + (c.verdict === 'real_change' || c.verdict === 'within_noise' ? d : '');
}

// "−0", "-0", "−0,0", "-0.0" (also before "%"), not part of a longer number or a date.
const MINUS_ZERO = /(^|[^\d])[\u2212-]0(?:[.,]0+)?(?![\d.,])/;

// The organisation's calendar day of an instant, as Intl prints it in that zone.
function dayIn(iso, timeZone, lang = 'nl') {
  return new Intl.DateTimeFormat(lang === 'nl' ? 'nl-NL' : 'en-GB', { timeZone, day: 'numeric', month: 'short', year: 'numeric' })
    .format(new Date(iso));
}

const ORG_ZONE = 'Europe/Amsterdam';

// The local calendar date (y, m, d) of an instant in a zone.
function localDate(ms, timeZone = ORG_ZONE) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return [Number(p.year), Number(p.month), Number(p.day)];
}

// Unix ms of local midnight of y-m-d in the zone (Amsterdam: UTC+1 or +2).
function localMidnight(y, m, d, timeZone = ORG_ZONE) {
  for (const off of [1, 2, 0]) {
    const t = Date.UTC(y, m - 1, d) - off * 3600e3;
    const [yy, mm, dd] = localDate(t, timeZone);
    const hh = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' }).format(new Date(t));
    if (yy === y && mm === m && dd === d && Number(hh) === 0) return t;
  }
  throw new Error('no local midnight for ' + [y, m, d]);
}

// The personal dashboard's window at instant ms: this local year up to the start of today.
function expectedWindow(ms) {
  const [y, m, d] = localDate(ms);
  return { period: String(y), from: localMidnight(y, 1, 1), to: localMidnight(y, m, d) };
}
// The browser runs in a zone far from the organisation's: a page that
// printed a date in the browser's own zone (or in UTC) would show the
// wrong day for an evening in Amsterdam.
const BROWSER_ZONE = 'America/New_York';

// Replies of the API changed on their way to the page (page.route), to show
// the page a case the demo data may not have: rules [{match(url), edit(json, url)}];
// edit returns the new JSON (an object, or a string for what JSON.stringify
// cannot write, such as -0.0).
async function withReplies(page, rules, fn) {
  const handler = async (route) => {
    const url = new URL(route.request().url());
    const rule = rules.find((r) => r.match(url));
    if (!rule) return route.fallback();
    const resp = await route.fetch();
    const out = rule.edit(await resp.json(), url);
    return route.fulfill({ status: resp.status(), contentType: 'application/json', body: typeof out === 'string' ? out : JSON.stringify(out) });
  };
  await page.route('**/api/v1/**', handler);
  try {
    await fn();
  } finally {
    await page.unroute('**/api/v1/**', handler);
  }
}

const metricsCall = (group) => (url) => url.pathname === '/api/v1/metrics' && (url.searchParams.get('group_by') || '') === group;

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
    await group('format', async () => formatChecks());
    browser = await launchBrowser({ timezoneId: BROWSER_ZONE });
    const page = await browser.context.newPage();
    const problems = [];
    // the test's own probes that must be refused (one 422 each, logged by
    // the browser whenever it gets to it)
    let expected422 = 0;
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    page.on('console', (m) => {
      const text = m.text();
      if (m.type() === 'error' && /status of 422/.test(text) && expected422 > 0) {
        expected422--;
        return;
      }
      if (/Content.Security.Policy|Refused to/i.test(text)) problems.push('csp: ' + text);
      else if (m.type() === 'error' && !/status of (401|403)/.test(text)) problems.push('console: ' + text);
    });
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    // no page may ask for people (or anything) sorted by score
    // (the test's own probe of the refusal, while the page is idle, excepted)
    const sorted = [];
    let probing = false;
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!probing && u.pathname.startsWith('/api/v1/metrics') && u.searchParams.has('sort')) sorted.push(u.pathname + u.search);
    });

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
      eq(await page.$$eval('#nav-list a', (as) => as.map((a) => a.dataset.nav)), ['org', 'team', 'cases', 'actions', 'verbatims', 'themes', 'mentions', 'drivers', 'relationship', 'governance', 'kpis', 'pulse', 'suspect', 'privacy', 'admin', 'feeds', 'digests'], 'admin: navigation items (held answers, privacy: issue 11; administration: issue 13; themes: issue 14; drivers: issue 15; mentions: issue 16 H3; relationship surveys: issue 16 H6; feeds: issue 16 H2; governance: issue 17 L; KPIs: issue 17 K; employee pulse: issue 17 P; digests: issue 17 D)');
      // privacy (issue 11): the admin's page shows the retention policy and the audit log, the login above in it
      await go(page, base, '#/privacy', 'privacy');
      eq(await page.inputValue('#retention-open_text'), '24', 'privacy: the retention policy, open answers 24 months by default');
      await page.waitForSelector('#audit-rows tr');
      ok(await page.$$eval('#audit-rows tr', (rs) => rs.some((r) => r.dataset.action === 'auth.login')), 'privacy: the audit log lists the admin\'s login');
      await go(page, base, '#/org', 'org');
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
      // representativeness: the segments of the API reply, each with its flag in words
      for (const dim of ['segment', 'channel']) {
        if (dim !== 'segment') await page.selectOption('#repr-dimension', dim);
        await page.waitForSelector('#org-represent[data-ready="true"][data-dimension="' + dim + '"]');
        const rep = await apiInPage(page, 'GET', '/funnel/representativeness?dimension=' + dim);
        const shown = await page.$$eval('#org-represent tbody tr', (trs) => trs.map((tr) => ({
          segment: tr.dataset.segment, flag: tr.dataset.flag,
          invited: Number(tr.querySelector('[data-col="invited_customers"]').dataset.value),
          respondents: Number(tr.querySelector('[data-col="respondents"]').dataset.value),
          words: tr.querySelector('[data-col="flag"]').textContent.trim() })));
        eq(shown.map(({ segment, flag, invited, respondents }) => ({ segment, flag, invited, respondents })),
          rep.body.rows.map((r) => ({ segment: r.segment, flag: r.flag, invited: r.invited_customers, respondents: r.respondents })),
          'admin org: representativeness by ' + dim + ' lists the API\'s segments, counts and flags (' + rep.body.rows.length + ')');
        const words = { under_represented: /ondervertegenwoordigd|under-represented/, over_represented: /oververtegenwoordigd|over-represented/,
          small_difference: /klein verschil|small difference/, within_noise: /niet aantoonbaar|not demonstrably/, no_respondents: /respondenten|respondents/ };
        ok(shown.length > 0 && shown.every((x) => words[x.flag] && words[x.flag].test(x.words)),
          'admin org: representativeness by ' + dim + ' says every flag in words', shown.map((x) => x.flag + ': ' + x.words));
      }
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
      const wantPv = pivot.body.rows.map((r) => ({ n: r.n, masked: Boolean(r.insufficient), v: r.insufficient || !r.nps ? '' : String(r.nps.value) }));
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

      // issue 14: theme as a dimension, named by the taxonomy's labels
      await page.selectOption('#explorer-a', 'theme');
      await page.selectOption('#explorer-b', '');
      await page.click('#org-explorer button[type="submit"]');
      await page.waitForSelector('#org-explorer table[data-dim="theme"]');
      const byTheme = (await apiInPage(page, 'GET', '/metrics?group_by=theme')).body;
      const tax = (await apiInPage(page, 'GET', '/text/taxonomy')).body;
      const nlName = new Map(tax.taxonomy.themes.map((th) => [th.id, th.label.nl]));
      const shownThemes = await page.$$eval('#org-explorer table[data-dim="theme"] tbody tr', (trs) => trs.map((tr) =>
        [tr.dataset.key, tr.querySelector('th').textContent, Number(tr.querySelector('[data-col="n"]').dataset.value)]));
      eq(shownThemes.map((x) => x.join('|')).sort(),
        byTheme.rows.map((r) => [r.theme, nlName.get(r.theme), r.n].join('|')).sort(),
        'admin explorer: by theme, every API group with its Dutch taxonomy label and n (' + byTheme.rows.length + ')');
      ok(byTheme.rows.length >= 10, 'admin explorer: the demo\'s answers fall in at least 10 themes', byTheme.rows.length);

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
      eq(await page.$eval('#org-kpis [data-kpi="nps"] .kpi-value', (e) => e.textContent), npsText(total.body.nps.value, 'en'),
        'language: the English page prints the same NPS with a decimal point');
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

    // ---- issue 10: honest numbers on the org page, against the server's replies (admin) -------
    await group('honest numbers', async () => {
      await go(page, base, '#/org', 'org');
      const total = (await apiInPage(page, 'GET', '/metrics')).body;
      const shown = await page.$eval('#org-kpis [data-kpi="nps"] .kpi-value', (e) => e.textContent);
      eq(shown, npsText(total.nps.value, 'nl'), 'numbers: the Dutch org page prints the API\'s NPS (' + total.nps.value + ') with a decimal comma');
      ok(/^[+\u2212]?\d+,\d$/.test(shown) && parseShown(shown) === total.nps.value,
        'numbers: the printed NPS is the API\'s value itself, not rounded again', [shown, total.nps.value]);
      const grade = await page.$eval('#org-kpis [data-kpi="grade"] .kpi-value', (e) => e.textContent);
      ok(/^\d+,\d\d$/.test(grade) && parseShown(grade) === total.grade.mean, 'numbers: the grade is the API\'s mean with its two decimals', [grade, total.grade.mean]);
      const extra = await page.$eval('#org-kpis [data-kpi="nps"] .kpi-extra', (e) => e.textContent);
      eq(extra.match(/\d+%/g), [total.nps.promoters, total.nps.passives, total.nps.detractors].map((x) => Math.round(x * 100) + '%'),
        'numbers: promoters, passives and detractors as whole percents');
      eq(await page.$$eval('#org-kpis .kpi-value', (els) => els.filter((e) => /\b(pos|neg|change-up|change-down)\b/.test(e.className)).length), 0,
        'colour: the score cards are not coloured by sign or threshold');
      const trend = (await apiInPage(page, 'GET', '/metrics/trend')).body;
      eq(await page.$$eval('#org-trend [data-col="change"]', (tds) => tds.map((td) => td.textContent)),
        trend.points.map((pt) => changeWords(pt.nps_change)), 'numbers: the trend table says each change in words, the diff with one decimal');
      eq(trend.points[0]?.nps_change?.verdict, 'no_previous_period', 'trend: the first period has verdict no_previous_period (needs the server change)');
      const text = await page.$eval('main', (m) => m.textContent);
      const mz = MINUS_ZERO.exec(text);
      ok(!mz, 'numbers: no "\u22120" anywhere on the org page', mz && text.slice(Math.max(0, mz.index - 80), mz.index + 20));

      // the heat map: colour by the server's signal, never by cut-points
      const heat = (await apiInPage(page, 'GET', '/metrics?group_by=journey%2Ctouchpoint')).body;
      const cells = await page.$$eval('#org-heat td.cell', (tds) => tds.map((td) => ({
        tp: Number(td.dataset.touchpoint), cls: td.className.split(' '), text: td.querySelector('.cell-value')?.textContent || '' })));
      const cellOf = (id) => cells.find((c) => c.tp === id) || { cls: [], text: '' };
      const shownRows = heat.rows.filter((r) => !r.insufficient && r.nps);
      const WANT = { above: 'heat-above', below: 'heat-below' };
      eq(shownRows.filter((r) => !cellOf(r.touchpoint.id).cls.includes(WANT[r.nps_signal] || 'heat-neutral'))
        .map((r) => [r.touchpoint.id, r.nps_signal, cellOf(r.touchpoint.id).cls.join(' ')]), [],
      'heat map: every cell is coloured by its signal (above / below) or neutral');
      ok(shownRows.every((r) => {
        const tx = cellOf(r.touchpoint.id).text;
        return r.nps_signal === 'above' ? tx.includes('\u25b2') : r.nps_signal === 'below' ? tx.includes('\u25bc') : !/[\u25b2\u25bc]/.test(tx);
      }), 'heat map: \u25b2/\u25bc mark exactly the cells above or below the rest');
      ok(cells.every((c) => !c.cls.some((k) => /^heat-\d$/.test(k))), 'heat map: no colour from fixed cut-points');
      const noise = shownRows.find((r) => r.nps_signal === 'noise');
      ok(Boolean(noise) && cellOf(noise.touchpoint.id).cls.includes('heat-neutral'),
        'heat map: a cell with signal "noise" has the neutral class (needs the server\'s nps.signal)', noise ? cellOf(noise.touchpoint.id) : shownRows[0]?.nps);
      ok(/Kleur = verschilt aantoonbaar van de rest/.test(await page.$eval('#org-heat .hint', (e) => e.textContent)),
        'heat map: the hint says a colour means a demonstrable difference');
    });

    // ---- issue 10: dates in the organisation's zone ----------------------------------------------
    await group('dates', async () => {
      const me = (await apiInPage(page, 'GET', '/auth/me')).body;
      const zone = me.time_zone ?? me.user?.time_zone ?? null;
      ok(typeof zone === 'string' && zone.length > 0, '/auth/me names the organisation\'s time zone (needs the server change)', me);
      const tz = zone || ORG_ZONE;
      const users = (await apiInPage(page, 'GET', '/users')).body;
      const medewerker = (users.items || users).find((u) => u.role === 'employee');
      const emp = (await apiInPage(page, 'GET', '/employees/' + medewerker.employee_id)).body;
      const AT = '2026-11-30T23:30:00Z';
      const created = await apiInPage(page, 'POST', '/responses', {
        csrf: await csrfOf(page),
        body: { client_key: 'browser-tz-1', touchpoint_id: 2, employee_id: emp.id, team_id: emp.team_id, customer_id: 9,
          channel: 'phone', language: 'nl', received_at: AT, answers: { nps: 8, open: 'tijdzoneprobe: laat op de avond nog geholpen' } },
      });
      ok(created.status === 201, 'dates: admin creates a response received at ' + AT + ' (API)', created);
      const local = dayIn(AT, tz);
      const own = dayIn(AT, BROWSER_ZONE);
      ok(tz !== ORG_ZONE || local === '1 dec 2026', 'dates: ' + AT + ' is 1 December in Amsterdam', local);
      await go(page, base, '#/verbatims?q=tijdzoneprobe', 'verbatims');
      await page.waitForSelector('#verbatim-count[data-count]');
      const time = await page.$eval('li.verbatim[data-response-id="' + created.body.id + '"] time', (e) => e.textContent);
      eq(time, local, 'dates: the response at ' + AT + ' is listed on ' + local + ' (the organisation\'s day; the browser\'s own zone says ' + own + ')');
      await go(page, base, '#/response/' + created.body.id, 'response');
      const facts = await page.$eval('#response-detail', (e) => e.textContent);
      ok(facts.includes(local) && !facts.includes(own), 'dates: the response page shows the same local day', facts);

      // the zone is the one /auth/me names (a reply changed in flight: Los Angeles)
      await withReplies(page, [{ match: (u) => u.pathname === '/api/v1/auth/me', edit: (j) => ({ ...j, time_zone: 'America/Los_Angeles' }) }], async () => {
        await go(page, base, '#/verbatims?q=tijdzoneprobe', 'verbatims');
        await page.reload();
        await waitPage(page, 'verbatims');
        await page.waitForSelector('#verbatim-count[data-count]');
        eq(await page.$eval('li.verbatim[data-response-id="' + created.body.id + '"] time', (e) => e.textContent), dayIn(AT, 'America/Los_Angeles'),
          'dates: with "time_zone": "America/Los_Angeles" from /auth/me the same response is on 30 November');
      });
      await page.reload();
      await waitPage(page, 'verbatims');
      await page.waitForSelector('#verbatim-count[data-count]');
      eq(await page.$eval('li.verbatim[data-response-id="' + created.body.id + '"] time', (e) => e.textContent), local,
        'dates: back with the server\'s own zone after a reload');
    });

    // ---- issue 10: the contract on cases the demo data may not have (replies changed in flight) --
    await group('contract', async () => {
      const SENTINEL = 98765.4;
      let injected = [];
      await withReplies(page, [
        { match: metricsCall(''), edit: (j) => {
          Object.assign(j.nps, { value: SENTINEL, low: -2.3, high: 2.4, promoters: 0.47, passives: 0.3, detractors: 0.23 });
          j.grade.mean = 7.4;
          j.ces = null;
          j.hidden = ['ces'];
          return JSON.stringify(j).replace(String(SENTINEL), '-0.0');
        } },
        { match: (u) => u.pathname === '/api/v1/metrics/trend', edit: (j) => {
          const P = j.points;
          P[0].nps_change = { verdict: 'no_previous_period' };
          P[1].nps_change = { vs: P[0].period, verdict: 'insufficient_data' };
          P[2].nps_change = { vs: P[1].period, diff: -0.04, diff_plain: -0.1, se: 9.1, z: -0.004, p: 0.997, p_adj: 1, verdict: 'within_noise' };
          P[3].nps_change = { vs: P[2].period, diff: 12.3, diff_plain: 12.0, se: 4.1, z: 3.0, p: 0.0027, p_adj: 0.01, verdict: 'real_change' };
          Object.assign(P[4], { insufficient: false, nps: null, hidden: ['nps'] });
          return j;
        } },
        { match: metricsCall('journey,touchpoint'), edit: (j) => {
          const shown = j.rows.filter((r) => !r.insufficient && r.nps);
          ['above', 'below', 'noise', null].forEach((sig, i) => {
            if (sig) shown[i].nps_signal = sig;
            else delete shown[i].nps_signal;
          });
          shown[4].nps = null;
          shown[4].hidden = ['nps'];
          injected = shown.slice(0, 5).map((r) => r.touchpoint.id);
          return j;
        } },
      ], async () => {
        await go(page, base, '#/org', 'org');
        const card = await page.$eval('#org-kpis [data-kpi="nps"]', (e) => ({ v: e.querySelector('.kpi-value').textContent,
          cls: e.querySelector('.kpi-value').className, i: e.querySelector('.kpi-interval').textContent, x: e.querySelector('.kpi-extra').textContent }));
        eq(card.v, '0,0', 'contract: an NPS of -0.0 prints "0,0", without a sign');
        eq(card.i, '95%-interval \u22122,3 \u2013 +2,4', 'contract: the interval keeps its one decimal');
        eq(card.x.match(/\d+%/g), ['47%', '30%', '23%'], 'contract: shares as whole percents (0.47 is 47%)');
        ok(!/change-(up|down)/.test(card.cls), 'contract: the NPS card is not coloured by its value', card.cls);
        eq(await page.$eval('#org-kpis [data-kpi="grade"] .kpi-value', (e) => e.textContent), '7,40', 'contract: the grade keeps the server\'s two decimals');
        eq(await page.$eval('#org-kpis [data-kpi="ces"] .kpi-value', (e) => e.textContent), 'Te weinig reacties',
          'contract: a hidden measure ("ces": null, "hidden": ["ces"]) says not enough responses, never "0" or "\u2013"');
        eq(await page.$$eval('#org-trend [data-col="change"]', (tds) => tds.slice(0, 4).map((td) => td.textContent)),
          ['geen vorige periode', 'te weinig gegevens', 'binnen de ruis (0,0)', 'echte verandering (+12,3)'],
          'contract: change verdicts in words, the diff with one decimal, no diff with insufficient_data');
        eq(await page.$eval('#org-trend tbody tr:nth-child(5) [data-col="nps"]', (e) => e.textContent), 'Te weinig reacties',
          'contract: a trend period with its NPS hidden says not enough responses');
        const text = await page.$eval('main', (m) => m.textContent);
        const mz = MINUS_ZERO.exec(text);
        ok(!mz, 'contract: no "\u22120" on the org page with a zero NPS and a \u22120.04 change', mz && text.slice(Math.max(0, mz.index - 80), mz.index + 20));
        const cell = (id) => page.$eval('#org-heat td.cell[data-touchpoint="' + id + '"]',
          (td) => ({ cls: td.className.split(' '), text: td.querySelector('.cell-value').textContent }));
        const [above, below, noise, none, hidden] = await Promise.all(injected.map(cell));
        ok(above.cls.includes('heat-above') && above.text.includes('\u25b2'), 'contract heat: signal "above" is green-ish with \u25b2', above);
        ok(below.cls.includes('heat-below') && below.text.includes('\u25bc'), 'contract heat: signal "below" is red-ish with \u25bc', below);
        ok(noise.cls.includes('heat-neutral') && !/[\u25b2\u25bc]/.test(noise.text), 'contract heat: a cell with signal "noise" has the neutral class and no mark', noise);
        ok(none.cls.includes('heat-neutral') && !/[\u25b2\u25bc]/.test(none.text), 'contract heat: a cell without a signal is neutral', none);
        ok(hidden.cls.includes('heat-none') && hidden.text === 'Te weinig reacties', 'contract heat: a hidden NPS says not enough responses', hidden);
        await shot(page, 'org-contract');
        await page.click('.lang-btn[data-lang="en"]');
        await waitPage(page, 'org');
        eq([await page.$eval('#org-kpis [data-kpi="nps"] .kpi-value', (e) => e.textContent),
          await page.$eval('#org-kpis [data-kpi="grade"] .kpi-value', (e) => e.textContent),
          await page.$eval('#org-trend [data-col="change"]', (e) => e.textContent),
          await page.$eval('#org-kpis [data-kpi="ces"] .kpi-value', (e) => e.textContent)],
        ['0.0', '7.40', 'no previous period', 'Not enough responses'], 'contract: in English the same figures with a decimal point');
        await page.click('.lang-btn[data-lang="nl"]');
        await waitPage(page, 'org');
      });

      // goals: the server's status in words, whatever the old `progress` says
      const teamId = (await apiInPage(page, 'GET', '/teams?kind=team&limit=500')).body.items[0].id;
      const STATUSES = ['reached', 'likely', 'too_close_to_call', 'not_reached', 'insufficient_data'];
      await withReplies(page, [{ match: (u) => /^\/api\/v1\/teams\/\d+\/goals$/.test(u.pathname), edit: (j) => ({ ...j,
        items: STATUSES.map((st, i) => ({ team_id: teamId, period: '2026-0' + (i + 1), metric: 'nps', target: 30, progress: 'reached',
          actual: st === 'insufficient_data' ? { n: 3, min_n: 5, value: null } : { n: 80, min_n: 5, value: 28.5 + i, low: 20.1, high: 39.9 },
          status: st, set_by: 1, updated_at: '2026-11-30T23:30:00Z' })) }) }], async () => {
        await go(page, base, '#/team/' + teamId, 'team');
        eq(await page.$$eval('#team-goals .goal', (els) => els.map((e) => [e.dataset.status, e.querySelector('.badge').textContent])),
          [['reached', 'Gehaald'], ['likely', 'Waarschijnlijk gehaald'], ['too_close_to_call', 'Te dicht bij het doel om te zeggen'],
            ['not_reached', 'Niet gehaald'], ['insufficient_data', 'Te weinig reacties']],
          'contract goals: each goal shows the server\'s status in words');
        eq(await page.$eval('#team-goals .goal[data-status="likely"] .goal-figures', (e) => e.textContent),
          'Doel +30,0, nu +29,5 (95%-interval +20,1 \u2013 +39,9)', 'contract goals: target, value and interval as sent');
        ok(await page.$('#team-goals progress') === null, 'contract goals: no progress bar that compares the rounded value with the target');
      });
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

      // issue 10: by default (verbatim_detail band) others' comments show their band in words, no number
      const BAND_WORDS = { promoter: 'Promotor', passive: 'Passief', detractor: 'Criticaster' };
      const shownItems = () => page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => ({
        id: Number(li.dataset.responseId), exact: li.dataset.exact, band: li.dataset.band,
        words: li.querySelector('.score-band')?.textContent ?? null,
        number: li.querySelector('.score:not(.score-band)')?.textContent ?? null,
        employee: li.querySelector('.v-employee')?.textContent ?? null })));
      eq((await apiInPage(page, 'GET', '/settings')).body.verbatim_detail, 'band', 'verbatim detail: the default setting is band');
      eq(await page.$eval('#verbatim-detail', (e) => e.dataset.detail), 'band', 'verbatim detail: the explorer says what others\' comments show');
      const bandItems = await shownItems();
      const bandApi = api2.body.items;
      ok(bandItems.length > 0 && bandApi.every((i) => !('nps' in i) && !('grade' in i) && i.employee !== undefined),
        'verbatim detail: the API gives the admin no nps or grade of others\' comments (band)', bandApi.slice(0, 2));
      eq(bandItems.map((i) => [i.exact, i.words, i.number]), bandItems.map((i) => ['false', BAND_WORDS[i.band], null]),
        'verbatim detail: each item shows its band in words and no number');
      // the admin chooses exact on the organisation page (select + save, with the CSRF token)
      await go(page, base, '#/org', 'org');
      await page.waitForSelector('#org-settings[data-ready="true"]');
      eq(await page.$eval('#verbatim-detail-select', (e) => e.value), 'band', 'verbatim detail: the organisation page shows the setting');
      await page.selectOption('#verbatim-detail-select', 'exact');
      await page.click('#settings-form button[type="submit"]');
      await page.waitForSelector('#org-settings[data-value="exact"]');
      eq((await apiInPage(page, 'GET', '/settings')).body.verbatim_detail, 'exact', 'verbatim detail: the admin saved exact from the page');
      await shot(page, 'org-settings');
      await go(page, base, '#/verbatims?band=promoter&language=en', 'verbatims');
      await page.waitForSelector('#verbatim-count[data-count]');
      const exactApi = await apiInPage(page, 'GET', '/verbatims?band=promoter&language=en&limit=25');
      eq((await shownItems()).map((i) => [i.id, i.exact, i.number, i.words, i.employee]),
        exactApi.body.items.map((i) => [i.response_id, 'true', String(i.nps), null, i.employee ? i.employee.name : null]),
        'verbatim detail: with exact the items show the API\'s exact NPS and the employee');
      // back to the default for the roles below
      await go(page, base, '#/org', 'org');
      await page.waitForSelector('#org-settings[data-ready="true"]');
      await page.selectOption('#verbatim-detail-select', 'band');
      await page.click('#settings-form button[type="submit"]');
      await page.waitForSelector('#org-settings[data-value="band"]');
      eq((await apiInPage(page, 'GET', '/settings')).body.verbatim_detail, 'band', 'verbatim detail: back to band');
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
      eq(await page.$$eval('#nav-list a', (as) => as.map((a) => a.dataset.nav)), ['team', 'cases', 'actions', 'verbatims', 'themes', 'mentions', 'drivers', 'pulse'], 'team lead: navigation items (themes: issue 14; drivers: issue 15; mentions: issue 16 H3; employee pulse: issue 17 P)');
      const me = (await apiInPage(page, 'GET', '/auth/me')).body.user;
      const tm = await apiInPage(page, 'GET', '/metrics?team_id=' + me.unit_id);
      await checkKpis(page, '#team-kpis', tm.body, 'team lead');
      const emps = await apiInPage(page, 'GET', '/metrics?team_id=' + me.unit_id + '&group_by=employee');
      await checkGroupTable(page, '#team-employees', [...emps.body.rows].sort((a, b) => a.employee.name.localeCompare(b.employee.name, 'nl', { sensitivity: 'base' }) || a.employee.id - b.employee.id),
        'employee', 'team lead: per employee table equals the API (min n ' + emps.body.min_n + ')');
      const names = await page.$$eval('#team-employees tbody th', (ths) => ths.map((x) => x.textContent));
      eq(names, [...names].sort((a, b) => a.localeCompare(b, 'nl', { sensitivity: 'base' })), 'team lead: colleagues are listed by name, never by score');
      probing = true;
      expected422++;
      const ranked = await apiInPage(page, 'GET', '/metrics?team_id=' + me.unit_id + '&group_by=employee&sort=-nps').finally(() => { probing = false; });
      ok(ranked.status === 422 && ranked.body?.error?.field === 'sort', 'team lead: employees sorted by NPS are refused, 422 naming sort (needs the server change)',
        [ranked.status, ranked.body?.error]);
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
      const GOAL_WORDS = { reached: 'Gehaald', likely: 'Waarschijnlijk gehaald', too_close_to_call: 'Te dicht bij het doel om te zeggen',
        not_reached: 'Niet gehaald', insufficient_data: 'Te weinig reacties' };
      eq(await page.$eval('#team-goals .goal[data-period="2026-Q4"][data-metric="nps"]', (e) => [e.dataset.status, e.querySelector('.badge').textContent]),
        [g?.status, GOAL_WORDS[g?.status]], 'team lead: the goal shows the server\'s status in words (needs the server\'s goal status)');
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
      eq(await goRefused(page, base, '#/org'), 'team', 'team lead: #/org sends them home');
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
      // issue 13: coaching — the employee's page shows CES beside NPS and grade
      await checkKpis(page, '#me-mine', d.me, 'employee: my scores', ['nps', 'grade', 'ces']);
      await checkKpis(page, '#me-team', d.team, 'employee: my team\'s scores', ['nps', 'grade', 'ces']);
      // The window, worked out here from the wall clock (docs/API.md: the
      // current local year up to the start of today), not read from the reply.
      const w = expectedWindow(Date.now());
      eq([d.window.period, Date.parse(d.window.from), Date.parse(d.window.to), d.window.time_zone],
        [w.period, w.from, w.to, ORG_ZONE], 'employee: /me/dashboard window = this local year up to the start of today (' + w.period + ')');
      const win = await page.$eval('#me-window', (e) => e.textContent);
      ok(win.includes(dayIn(new Date(w.from).toISOString(), ORG_ZONE) + ' \u2013 ' + dayIn(new Date(w.to - 1).toISOString(), ORG_ZONE)),
        'employee: the page shows the window from 1 January to yesterday (Amsterdam)', [win, w]);
      // issue 13: coaching — each comment once: the promoters under compliments, the rest here
      eq(await page.$$eval('#me-verbatims li.verbatim', (lis) => lis.map((li) => Number(li.dataset.responseId))),
        d.verbatims.filter((v) => !d.compliments.some((c) => c.response_id === v.response_id)).map((v) => v.response_id),
        'employee: my latest verbatims equal the API (less the compliments shown beside them)');
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
      eq(await goRefused(page, base, '#/me'), 'login', 'logout: #/me sends them to the login page');
      ok(await page.$('input[name="email"]') !== null && await page.$('#me-mine') === null,
        'logout: a page after logout asks to log in again (login form, no dashboard)');
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

    eq(sorted, [], 'ranking: no page asked /metrics for a sort');
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
