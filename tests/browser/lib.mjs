// lib.mjs — shared by the browser tests (run.mjs) and bench/dashboard:
// start the real klantstem server on a demo database, launch Debian's
// Chromium through playwright-core (never a downloaded browser), log in.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PASSWORD = 'klantstem-demo';
export const USERS = {
  admin: 'admin@demo.klantstem',
  director: 'directeur@demo.klantstem',
  manager: 'manager@demo.klantstem',
  team_lead: 'teamleider@demo.klantstem',
  employee: 'medewerker@demo.klantstem',
};

export const CHROMIUM = process.env.KS_CHROMIUM || '/usr/bin/chromium';
// The launch flags of the machine notes: no background connections (the
// network is closed), no GPU, no sandbox (we run as root).
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--mute-audio', '--disable-dev-shm-usage',
];

export function binary(defaultPath = 'build/asan/klantstem') {
  const b = process.env.KS_BIN || defaultPath;
  return path.isAbsolute(b) ? b : path.join(REPO, b);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), prefix));
}

// issue 18: with KS_PG_URI set (tests/run's PostgreSQL pass) the demo and
// the server use a fresh database of their own on that server, made with
// scripts/pg-cluster newdb; its URI stands where the file's path would.
function demoTarget(dir) {
  if (!process.env.KS_PG_URI) return path.join(dir, 'demo.db');
  const name = 'ks_b_' + path.basename(dir).toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const r = spawnSync('sh', [path.join(REPO, 'scripts', 'pg-cluster'), 'newdb', process.env.KS_PG_URI, name],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('pg-cluster newdb failed: ' + r.stderr);
  return r.stdout.trim();
}

// A demo database (`klantstem demo --db F --scale N`) in dir. On
// PostgreSQL the demo is made in a SQLite file in dir and moved with
// `klantstem copy` (verified table by table), as tests/api/ks.py's
// demo_into does: the demo's bulk load runs a row a round trip there, and
// drivers.mjs's scale 30 alone took longer than the run's 240 s under the
// sanitizers (the demo on PostgreSQL itself is test_copy's).
export function makeDemo(bin, dir, scale = 3) {
  const db = demoTarget(dir);
  const env = { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=0' };
  const file = db === path.join(dir, 'demo.db') ? db : path.join(dir, 'demo-for-copy.db');
  const r = spawnSync(bin, ['demo', '--db', file, '--scale', String(scale)], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error('klantstem demo failed: ' + r.stderr + r.stdout);
  if (file !== db) {
    const c = spawnSync(bin, ['copy', '--from', file, '--to', db], { encoding: 'utf8', env });
    if (c.status !== 0) throw new Error('klantstem copy to PostgreSQL failed: ' + c.stderr + c.stdout);
    fs.rmSync(file, { force: true });
    console.log('# on PostgreSQL: the demo made in SQLite, moved with klantstem copy');
  }
  return db;
}

// Start `klantstem serve` on a free port; resolves when /healthz answers.
// args: more options for serve; a function gets the port (for --base-url).
export async function startServer(bin, db, { webRoot = path.join(REPO, 'web'), env = {}, args = [] } = {}) {
  const port = await freePort();
  const extra = typeof args === 'function' ? args(port) : args;
  const errDir = /^postgres(ql)?:\/\//.test(db) ? tmpDir('ks-srv-') : path.dirname(db);
  const errFile = path.join(errDir, 'server.stderr');
  const err = fs.openSync(errFile, 'w');
  const proc = spawn(bin, ['serve', '--db', db, '--listen', '127.0.0.1:' + port, '--web-root', webRoot, '--quiet', ...extra], {
    stdio: ['ignore', 'ignore', err],
    env: {
      ...process.env,
      ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0',
      UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
      ...env,
    },
  });
  fs.closeSync(err);
  const base = 'http://127.0.0.1:' + port;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error('server exited: ' + fs.readFileSync(errFile, 'utf8'));
    try {
      const r = await fetch(base + '/healthz');
      if (r.ok) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('server did not answer /healthz: ' + fs.readFileSync(errFile, 'utf8'));
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  return {
    base,
    port,
    proc,
    errFile,
    stderr: () => fs.readFileSync(errFile, 'utf8'),
    // SIGTERM and wait: resolves to {code, signal}.
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve({ code: proc.exitCode, signal: proc.signalCode });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20000);
      proc.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }); });
      proc.kill('SIGTERM');
    }),
  };
}

// Chromium with a fresh, empty profile of its own. timezoneId: the
// browser's own zone (a zone far from the organisation's shows whether a
// page prints dates in the organisation's zone, as it must, or its own).
export async function launchBrowser({ timezoneId = 'Europe/Amsterdam' } = {}) {
  const profile = tmpDir('ks-chromium-');
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
    locale: 'nl-NL',
    timezoneId,
  });
  return {
    context: ctx,
    profile,
    close: async () => {
      await ctx.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// A new browser context (own cookies and storage) on the same Chromium.
// persistent contexts cannot make more, so a second browser is launched
// lazily for isolation when wanted; usually one context per role in turn,
// with cookies and storage cleared between them, is enough.
export async function resetContext(context) {
  await context.clearCookies();
  for (const p of context.pages()) {
    try { await p.evaluate(() => { localStorage.clear(); sessionStorage.clear(); }); } catch { /* about:blank */ }
  }
}

// How long the helpers below wait for a page to be ready (ms). A page waits
// on the sanitizer build's API calls, and tests/run runs several programs
// side by side on a few cores, so a test's own shorter default timeout
// (page.setDefaultTimeout) is too short for these waits (issue 18 TESTRUN).
export const PAGE_WAIT_MS = Number(process.env.KS_BROWSER_PAGE_WAIT_MS || 30000);

// Log in through the page's own form; resolves when the landing page is ready.
// After a logout the page already shows a ready login page (#/login?bye=1):
// its ready flag is taken away before going to #/login, else the wait below
// was met before the router drew the form again, and the form filled in
// was swapped for an empty one before the click (cases.mjs, on PostgreSQL
// beside two other suites: the login never happened).
export async function loginUi(page, base, email, password = PASSWORD) {
  const target = base + '/#/login';
  if (page.url() === target) {
    await page.reload({ timeout: PAGE_WAIT_MS });
  } else {
    await page.evaluate(() => { const m = document.querySelector('main'); if (m) delete m.dataset.ready; }).catch(() => {});
    await page.goto(target, { timeout: PAGE_WAIT_MS });
  }
  await page.waitForSelector('main[data-page="login"][data-ready="true"]', { timeout: PAGE_WAIT_MS });
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([
    page.waitForFunction(() => document.querySelector('main')?.dataset.page !== 'login'
      && document.querySelector('main')?.dataset.ready === 'true', null, { timeout: PAGE_WAIT_MS }),
    page.click('form.login-form button[type="submit"]'),
  ]);
}

// Wait until the router has rendered the page name completely.
export async function waitPage(page, name) {
  await page.waitForFunction((n) => {
    const m = document.querySelector('main');
    return m && m.dataset.page === n && m.dataset.ready === 'true';
  }, name, { timeout: PAGE_WAIT_MS });
}

// The API from inside the page: same cookie, same origin; CSRF header when
// given. Returns {status, body}.
export async function apiInPage(page, method, pathAndQuery, { body, csrf } = {}) {
  return page.evaluate(async ({ method, url, body, csrf }) => {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (csrf) headers['X-CSRF-Token'] = csrf;
    const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
    const text = await r.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* CSV or HTML */ }
    return { status: r.status, body: parsed };
  }, { method, url: '/api/v1' + pathAndQuery, body, csrf });
}

// The TAP plumbing of the browser test files: numbered "ok N - name" /
// "not ok N - name" lines with a diagnostic, groups in which an exception
// is one failure and not the end, a whole-run time limit (so a hung browser
// never hangs `make test`) and the closing summary. what names the run.
export function tap(what) {
  const started = Date.now();
  let count = 0;
  let failures = 0;

  function ok(cond, name, diag) {
    count++;
    if (!cond) failures++;
    console.log((cond ? 'ok ' : 'not ok ') + count + ' - ' + name);
    if (!cond && diag !== undefined) {
      const text = typeof diag === 'string' ? diag : JSON.stringify(diag);
      console.log('# ' + text.slice(0, 1500).split('\n').join('\n# '));
    }
    return cond;
  }

  function eq(got, want, name) {
    const same = JSON.stringify(got) === JSON.stringify(want);
    return ok(same, name, 'got ' + JSON.stringify(got) + '\n want ' + JSON.stringify(want));
  }

  async function group(name, fn) {
    try {
      await fn();
      return true;
    } catch (err) {
      ok(false, name + ': ran to the end', err && err.stack ? err.stack : String(err));
      return false;
    }
  }

  // On PostgreSQL the demo is made and then copied over (makeDemo) and every
  // call is a round trip to another process: drivers.mjs (a scale-30 demo)
  // took 215 to 335 s there beside two other suites on a loaded machine, so
  // that pass gets longer (still inside tests/run's 900 s per program, so
  // that a hung run ends here with its TAP lines, not as a kill).
  const limitS = Number(process.env.KS_BROWSER_TIMEOUT || (process.env.KS_PG_URI ? 540 : 240));
  const guard = setTimeout(() => {
    ok(false, what + ' finished within ' + limitS + ' s');
    console.log('1..' + count);
    process.exit(1);
  }, limitS * 1000);
  guard.unref();

  // Run main, then print the plan and the summary line tests/run counts.
  function run(main) {
    return main().catch((err) => ok(false, what + ' ran', err && err.stack ? err.stack : String(err))).finally(() => {
      console.log('1..' + count);
      console.log('# ' + (count - failures) + ' passed, ' + failures + ' failed in ' +
        ((Date.now() - started) / 1000).toFixed(1) + ' s; screenshots in build/screenshots/');
      process.exitCode = failures ? 1 : 0;
    });
  }

  return { ok, eq, group, run };
}

const SHOTS = path.join(REPO, 'build', 'screenshots');

// A full-page screenshot to build/screenshots/NAME.png.
export async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

// Show a route and wait until it has rendered anew (the same address again
// is a reload: a hash that does not change fires no hashchange).
export async function go(page, base, hash, name) {
  const target = base + '/' + hash;
  if (page.url() === target) {
    await page.reload();
  } else {
    await page.evaluate(() => { const m = document.querySelector('main'); if (m) delete m.dataset.ready; }).catch(() => {});
    await page.goto(target);
  }
  await waitPage(page, name);
}

// Open an address the user may not see and wait until the router has drawn
// the page it sends them to. The page shown before (often the very page
// they are sent to) is ready already, so its ready flag is taken away
// first: a wait on it alone would be met before the router has acted, and
// the address and page read after it would still be the old ones.
// Resolves to the name of the page drawn.
export async function goRefused(page, base, hash) {
  await page.evaluate(() => { const m = document.querySelector('main'); if (m) delete m.dataset.ready; });
  await page.goto(base + '/' + hash);
  await page.waitForFunction(() => document.querySelector('main')?.dataset.ready === 'true', null, { timeout: PAGE_WAIT_MS });
  return page.evaluate(() => document.querySelector('main').dataset.page);
}

// Do act (a click, a choice, a submit) that makes the router draw the page
// name anew, and wait until it has. The ready flag of the page drawn before
// is taken away first: a control that sets location.hash is routed only at
// the next hashchange event, and a form that saves first routes only after
// its request, so a wait on the flag alone could be met before either.
export async function redraw(page, name, act) {
  await page.evaluate(() => { const m = document.querySelector('main'); if (m) delete m.dataset.ready; });
  await act();
  await waitPage(page, name);
}

// ---- the SMTP sink (tests/api/smtp_sink.py): a real SMTP server that
// writes each mail it accepts as a .eml file into dir ----------------------

const sleepMs = (ms) => new Promise((res) => setTimeout(res, ms));

// Start the sink on a free port; resolves when it is ready. {port, stop()}.
export async function startSink(dir) {
  const port = await freePort();
  const proc = spawn('/usr/bin/python3', [path.join(REPO, 'tests', 'api', 'smtp_sink.py'), '--port', String(port), '--dir', dir],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => { err += d; });
  const deadline = Date.now() + 15000;
  while (!fs.existsSync(path.join(dir, 'sink.ready'))) {
    if (proc.exitCode !== null) throw new Error('smtp sink exited: ' + err);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('smtp sink not ready: ' + err);
    }
    await sleepMs(50);
  }
  return {
    port,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      proc.once('exit', () => { clearTimeout(timer); resolve(); });
      proc.kill('SIGTERM');
    }),
  };
}

// The mails in the sink, parsed by Python's email package (MIME, encodings),
// not by the product: [{file, rcpt, subject, text, plain, html}] where text is
// every text part joined, plain the first text/plain and html the first
// text/html part.
const SINK_PARSE = `
import email, glob, json, os, sys
from email import policy
out = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.eml'))):
    with open(f, 'rb') as fh:
        m = email.message_from_binary_file(fh, policy=policy.default)
    parts, plain, html = [], '', ''
    for p in m.walk():
        if p.get_content_maintype() != 'text':
            continue
        try:
            c = p.get_content()
        except Exception as e:
            c = str(e)
        parts.append(c)
        if p.get_content_type() == 'text/plain' and not plain:
            plain = c
        elif p.get_content_type() == 'text/html' and not html:
            html = c
    out.append({'file': os.path.basename(f), 'rcpt': str(m.get('X-Sink-Rcpt-To', '')),
                'subject': str(m.get('Subject', '')), 'text': '\\n'.join(parts), 'plain': plain, 'html': html})
print(json.dumps(out))
`;

export function sinkMails(dir) {
  const r = spawnSync('/usr/bin/python3', ['-c', SINK_PARSE, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('parsing mails: ' + r.stderr);
  return JSON.parse(r.stdout);
}

// The mails matching pred, waiting up to ms for at least one.
export async function waitMail(dir, pred, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = sinkMails(dir).filter(pred);
    if (found.length || Date.now() > deadline) return found;
    await sleepMs(200);
  }
}

// ---- the API from node, as one account (a session cookie and its CSRF
// token), independent of any page --------------------------------------------

export class ApiClient {
  constructor(base) {
    this.base = base;
    this.cookie = '';
    this.csrf = '';
  }

  async login(email, password = PASSWORD) {
    const r = await fetch(this.base + '/api/v1/auth/login', {
      method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const body = await r.json();
    if (r.status !== 200) throw new Error('login ' + email + ': ' + r.status + ' ' + JSON.stringify(body));
    const set = r.headers.getSetCookie ? r.headers.getSetCookie() : [r.headers.get('set-cookie')];
    this.cookie = set.filter(Boolean).map((c) => c.split(';')[0]).join('; ');
    this.csrf = body.csrf_token;
    this.user = body.user;
    return body;
  }

  // {status, body (parsed JSON, else the text), retryAfter (header or null)}
  async call(method, p, body) {
    const headers = { Accept: 'application/json', Cookie: this.cookie };
    if (method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(this.base + '/api/v1' + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, body: parsed, retryAfter: r.headers.get('Retry-After') };
  }
}

// The frame every page test of a demo shares: the server binary, a demo
// database at `scale` in a fresh folder, a server on it (serverOptions as
// startServer's, or a function of the database path returning them) and a
// browser; fn({ bin, dir, db, srv, base, browser, problems }) runs the
// checks (problems collects page errors for the test to assert on).
// Afterwards, also after a failure, the browser closes, the server must stop
// cleanly on SIGTERM without a sanitizer report, and the folder goes.
export async function withDemoServer(prefix, ok, fn, { scale = 3, serverOptions = {} } = {}) {
  const bin = binary();
  if (!fs.existsSync(bin)) {
    ok(false, 'server binary exists', bin + ' not found (make build/asan/klantstem, or set KS_BIN)');
    return;
  }
  const dir = tmpDir(prefix);
  let srv = null;
  let browser = null;
  try {
    const db = makeDemo(bin, dir, scale);
    const opts = typeof serverOptions === 'function' ? serverOptions(db) : serverOptions;
    srv = await startServer(bin, db, opts);
    browser = await launchBrowser();
    await fn({ bin, dir, db, srv, base: srv.base, browser, problems: [] });
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (srv) {
      const st = await srv.stop();
      const err = srv.stderr();
      ok(!/AddressSanitizer|runtime error:|LeakSanitizer/.test(err), 'server: no sanitizer report', err.slice(-1500));
      ok(st.code === 0, 'server: stopped cleanly on SIGTERM', st);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
