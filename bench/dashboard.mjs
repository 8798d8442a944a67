// bench/dashboard.mjs — how fast the dashboards appear: time to first
// complete render of the team dashboard (as the demo team lead) and of the
// management view (as the demo director) in headless Chromium, and the
// API calls behind them. Run through bench/dashboard (see there).
//
// A render is complete when the router has marked the page ready (every
// API call answered, every section in the DOM) and the trend chart has
// drawn its SVG; the time is performance.now() at that moment, i.e. from
// the start of the navigation. Run 1 starts with an empty browser cache
// ("cold"; for the second page the UI's files are already cached by the
// first); runs 2..N+1 reuse it ("warm"; files revalidate by ETag, ECharts is
// cached an hour). The API calls are the ones the page itself made,
// replayed from Node with the same session cookie, one at a time.

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, PASSWORD, binary, tmpDir, makeDemo, startServer, launchBrowser, waitPage,
} from '../tests/browser/lib.mjs';

const RUNS = Number(process.env.RUNS || 5);
const SCALE = Number(process.env.SCALE || 100);
const KEEP = process.env.KEEP === '1';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function pad(s, n, right = false) {
  s = String(s);
  return right ? s.padStart(n) : s.padEnd(n);
}

// One timed load of url in a fresh tab. Resolves to {ready, charts, done,
// api}: ms from the start of navigation until the page's numbers are on
// screen (the router's "ks-ready" mark), until every chart has drawn, and
// until everything is complete (the funnel panel, which loads on its own,
// included); api lists the calls the page made.
async function timedLoad(context, url, name) {
  const page = await context.newPage();
  const api = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/')) api.push(r.method() + ' ' + u.pathname + u.search);
  });
  await page.goto(url);
  await waitPage(page, name);
  const ready = await page.evaluate(() => performance.getEntriesByType('mark').find((m) => m.name.startsWith('ks-ready'))?.startTime);
  const drawn = () => [...document.querySelectorAll('.chart')].every((c) => c.dataset.drawn === 'true');
  await page.waitForFunction(drawn, null, { timeout: 60000 });
  const charts = await page.evaluate(() => Math.max(0, ...performance.getEntriesByName('ks-chart').map((m) => m.startTime)));
  await page.waitForFunction(() => {
    const f = document.querySelector('#org-funnel');
    return !f || f.dataset.ready === 'true';
  }, null, { timeout: 60000 });
  await page.waitForFunction(drawn, null, { timeout: 60000 });
  const done = await page.evaluate(() => Math.max(0, ...performance.getEntriesByName('ks-chart').map((m) => m.startTime),
    ...performance.getEntriesByType('mark').filter((m) => m.name.startsWith('ks-ready')).map((m) => m.startTime)));
  await page.close();
  return { ready, charts, done: Math.max(done, charts), api };
}

async function loginCookie(base, email) {
  const r = await fetch(base + '/api/v1/auth/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (!r.ok) throw new Error('login ' + email + ': ' + r.status);
  return r.headers.get('set-cookie').split(';')[0];
}

async function timeCall(base, cookie, call) {
  const [method, url] = call.split(' ');
  const times = [];
  let bytes = 0;
  for (let i = 0; i < RUNS + 1; i++) {
    const t0 = performance.now();
    const r = await fetch(base + url, { method, headers: { Cookie: cookie, Accept: 'application/json' } });
    const body = await r.arrayBuffer();
    const dt = performance.now() - t0;
    if (!r.ok) throw new Error(call + ' -> ' + r.status);
    bytes = body.byteLength;
    if (i > 0) times.push(dt); // the first call warms the connection
  }
  return { ms: median(times), bytes };
}

// From pressing "Inloggen" to the landing page's numbers on screen (the
// router's ks-ready mark of that page), in a fresh tab: the login call,
// the start-up of the page and every API call before the numbers.
async function loginToNumbers(context, base, email, name) {
  await context.clearCookies();
  const page = await context.newPage();
  await page.goto(base + '/#/login');
  await waitPage(page, 'login');
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', PASSWORD);
  const t0 = await page.evaluate(() => {
    const b = document.querySelector('form.login-form button[type="submit"]');
    const at = performance.now();
    b.click();
    return at;
  });
  await page.waitForFunction((n) => performance.getEntriesByType('mark').some((m) => m.name === 'ks-ready:' + n), name, { timeout: 60000 });
  const ready = await page.evaluate((n) => performance.getEntriesByType('mark').find((m) => m.name === 'ks-ready:' + n).startTime, name);
  // the login reply itself takes the argon2id check (a deliberate cost)
  const reply = await page.evaluate(() => performance.getEntriesByType('resource').find((r) => r.name.endsWith('/api/v1/auth/login'))?.responseEnd);
  await page.close();
  return { press: ready - t0, reply: ready - reply };
}

// /metrics alone, and while the two funnel calls of the management view
// run beside it: uncached (right after a commit: a login writes a session)
// and cached. ms of each, one round.
async function metricsBesideFunnel(base, email) {
  const cookie = await loginCookie(base, email);
  const get = async (url) => {
    const t0 = performance.now();
    const r = await fetch(base + url, { headers: { Cookie: cookie, Accept: 'application/json' } });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(url + ' -> ' + r.status);
    return performance.now() - t0;
  };
  const M = '/api/v1/metrics?period=2026';
  const out = {};
  await get(M);
  out.alone = await get(M);
  for (const kind of ['uncached', 'cached']) {
    if (kind === 'uncached') await loginCookie(base, email); // a commit: the funnel's cache no longer holds
    const f1 = get('/api/v1/funnel?period=2026');
    const f2 = get('/api/v1/funnel?period=2026&group_by=touchpoint');
    await new Promise((r) => setTimeout(r, 20)); // the funnels are on the pool first
    const m = await get(M);
    out[kind] = { metrics: m, funnel: Math.max(await f1, await f2) };
  }
  return out;
}

async function main() {
  const bin = binary('build/release/klantstem');
  const dir = tmpDir('ks-bench-dash-');
  const t0 = Date.now();
  const db = makeDemo(bin, dir, SCALE);
  const demoS = (Date.now() - t0) / 1000;
  const srv = await startServer(bin, db, { env: { ASAN_OPTIONS: '' } });
  const info = await (await fetch(srv.base + '/healthz')).json();
  const browser = await launchBrowser();
  const pages = [
    { label: 'team dashboard', who: 'team_lead', hash: '#/team', name: 'team' },
    { label: 'management view', who: 'director', hash: '#/org', name: 'org' },
  ];
  const rows = [];
  let serverLog = '';
  let beside = null;
  try {
    for (const p of pages) {
      // log in through the API (a login in the UI would land on a page
      // whose calls are still running when the timing starts); the timed
      // tabs share the session cookie
      await browser.context.clearCookies();
      const cookie = await loginCookie(srv.base, USERS[p.who]);
      const [cname, cvalue] = cookie.split('=');
      await browser.context.addCookies([{ name: cname, value: cvalue, url: srv.base, httpOnly: true, sameSite: 'Lax' }]);
      const runs = [];
      for (let i = 0; i < RUNS + 1; i++) runs.push(await timedLoad(browser.context, srv.base + '/' + p.hash, p.name));
      const calls = [];
      for (const c of [...new Set(runs[0].api)]) calls.push({ call: c, ...(await timeCall(srv.base, cookie, c)) });
      const warm = runs.slice(1);
      const login = [];
      for (let i = 0; i < RUNS; i++) login.push(await loginToNumbers(browser.context, srv.base, USERS[p.who], p.name));
      p.login = median(login.map((x) => x.press));
      p.afterReply = median(login.map((x) => x.reply));
      rows.push({ ...p, cold: runs[0], calls,
        warm: { ready: median(warm.map((r) => r.ready)), charts: median(warm.map((r) => r.charts)), done: median(warm.map((r) => r.done)) } });
    }
    beside = await metricsBesideFunnel(srv.base, USERS.director);
  } finally {
    await browser.close();
    await srv.stop();
    serverLog = srv.stderr();
    if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }

  const responses = (() => {
    const m = /analytics index: (\d+) responses/.exec(serverLog);
    return m ? Number(m[1]) : null;
  })();
  console.log('klantstem dashboards: time to first complete render in headless Chromium ' + '(' + path.relative(REPO, bin) + ')');
  console.log('demo --scale ' + SCALE + ': ' + (responses ?? '?') + ' responses, schema ' + info.schema_version
    + ' (made in ' + demoS.toFixed(1) + ' s); ' + RUNS + ' warm runs per page\n');
  console.log('ms from navigation start: numbers on screen / charts drawn / complete (funnel included)\n');
  console.log(pad('page', 30) + pad('cold (1st load)', 22, true) + pad('warm (median of ' + RUNS + ')', 24, true) + pad('API calls', 11, true));
  const trio = (x) => x.ready.toFixed(0) + ' / ' + x.charts.toFixed(0) + ' / ' + x.done.toFixed(0);
  for (const r of rows) {
    console.log(pad(r.label + ' (' + r.who + ')', 30) + pad(trio(r.cold), 22, true) + pad(trio(r.warm), 24, true)
      + pad(r.calls.length, 11, true));
  }
  console.log('\nfirst numbers after logging in (median of ' + RUNS + '; reference: within 300 ms of the login reply)\n');
  console.log(pad('page', 30) + pad('from pressing', 16, true) + pad('from the reply', 16, true));
  for (const r of rows) {
    console.log(pad(r.label + ' (' + r.who + ')', 30) + pad(r.login.toFixed(0) + ' ms', 16, true)
      + pad(r.afterReply.toFixed(0) + ' ms', 16, true) + (r.afterReply <= 300 ? '   within 300 ms' : '   OVER 300 ms'));
  }
  console.log('\n/api/v1/metrics?period=2026 alone and beside the two funnel calls of the management view (ms)\n');
  console.log(pad('alone', 30) + pad(beside.alone.toFixed(1), 10, true));
  for (const k of ['uncached', 'cached']) {
    console.log(pad('beside two funnels, ' + k, 30) + pad(beside[k].metrics.toFixed(1), 10, true) + '   (funnel calls done in ' + beside[k].funnel.toFixed(0) + ' ms)');
  }
  for (const r of rows) {
    console.log('\nAPI calls behind the ' + r.label + ' (median of ' + RUNS + ', one at a time):');
    console.log(pad('call', 72) + pad('ms', 8, true) + pad('bytes', 10, true));
    for (const c of r.calls) console.log(pad(c.call, 72) + pad(c.ms.toFixed(2), 8, true) + pad(c.bytes, 10, true));
    const sum = r.calls.reduce((a, c) => a + c.ms, 0);
    console.log(pad('sum (the page makes them in parallel)', 72) + pad(sum.toFixed(2), 8, true));
  }
}

main().catch((err) => {
  console.error('bench/dashboard: ' + (err && err.stack ? err.stack : err));
  process.exit(1);
});
