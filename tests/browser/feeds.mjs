#!/usr/bin/env node
// feeds.mjs — browser tests of the feeds page (issue 16 H2, #/feeds): an
// admin adds a feed through the form, fetches it now and reads the counts
// in words, sees a refused address marked at its field, sets a key that the
// page then only says is set (the secret is nowhere in the page), sees a
// failing feed's error and state, deletes a feed; a director has no such
// page — against the real server on a fresh demo database and a local
// review source (node:http) that serves the generic JSON layout.
//
//   KS_BIN=build/asan/klantstem node tests/browser/feeds.mjs

import fs from 'node:fs';
import http from 'node:http';
import {
  USERS, binary, tmpDir, makeDemo, startServer, launchBrowser, loginUi, apiInPage, tap, shot, go, ApiClient,
} from './lib.mjs';

const { ok, eq, group, run } = tap('feeds browser tests');

// The review source: two reviews in the generic layout, and a failing path.
function startSource() {
  const hits = [];
  let flaky = 0;
  const srv = http.createServer((req, res) => {
    hits.push({ url: req.url, auth: req.headers.authorization || null });
    if (req.url.startsWith('/flaky')) {
      // a social export (paged format): one post the first time, then down
      flaky += 1;
      res.writeHead(flaky === 1 ? 200 : 500, { 'Content-Type': 'application/json' });
      res.end(flaky === 1 ? JSON.stringify({ posts: [{ id: 'f1', platform: 'x', author: '@f', text: 'Eerst goed', time: '2026-11-04T10:00:00Z' }] }) : '{"error":"down"}');
    } else if (req.url.startsWith('/reviews.json')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify([
        { source: 'browsershop', source_id: 'b1', created_at: '2026-11-02T10:00:00Z', text: 'Snel geleverd', rating: 5, scale_min: 1, scale_max: 5 },
        { source: 'browsershop', source_id: 'b2', created_at: '2026-11-03T10:00:00Z', text: 'Pakket kwam te laat', rating: 2, scale_min: 1, scale_max: 5 },
      ]));
    } else {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end('{"error":"down"}');
    }
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({ srv, hits, base: 'http://127.0.0.1:' + srv.address().port })));
}

async function fill(page, sel, value) {
  await page.fill(sel, '');
  await page.fill(sel, value);
}

async function item(page, name) {
  return page.$$eval('#feeds-list > li', (lis, n) => {
    const li = lis.find((x) => x.querySelector('h3')?.textContent === n);
    if (!li) return null;
    const fact = (k) => li.querySelector('[data-fact="' + k + '"]')?.textContent ?? null;
    return { id: Number(li.dataset.feed), state: li.dataset.state, badge: li.querySelector('.badge')?.textContent,
      text: li.textContent, lastrun: fact('lastrun'), error: fact('error'), failures: fact('failures'), fetched: fact('fetched') };
  }, name);
}

async function main() {
  const bin = binary();
  if (!fs.existsSync(bin)) {
    ok(false, 'server binary exists', bin + ' not found (make build/asan/klantstem, or set KS_BIN)');
    return;
  }
  const dir = tmpDir('ks-feeds-');
  let srv = null;
  let browser = null;
  let source = null;
  const problems = [];
  try {
    source = await startSource();
    const db = makeDemo(bin, dir, 1);
    srv = await startServer(bin, db);
    const base = srv.base;
    browser = await launchBrowser();
    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    page.on('dialog', (d) => d.accept());
    await loginUi(page, base, USERS.admin);

    await group('add and fetch', async () => {
      ok(await page.$('#nav-list a[data-nav="feeds"]') !== null, 'the admin\'s menu has Feeds');
      await go(page, base, '#/feeds', 'feeds');
      eq(await page.textContent('h1'), 'Feeds van reviews en sociale media', 'the page title in Dutch');
      eq(await page.textContent('#feeds-list'), 'Er zijn nog geen feeds.', 'no feeds yet');
      await fill(page, '#feed-name', 'Webshop');
      await page.selectOption('#feed-format', 'generic-json');
      await fill(page, '#feed-url', 'ftp://' + source.base.slice(7) + '/reviews.json');
      await page.uncheck('#feed-enabled');
      await page.click('#feed-save');
      await page.waitForSelector('#feed-url[aria-invalid="true"]');
      eq(await page.textContent('#feed-form-msg'), 'Controleer ‘Adres (URL)’: deze waarde wordt niet aangenomen.',
        'an ftp:// address is refused, named at its field');
      ok(await page.evaluate(() => document.activeElement?.id) === 'feed-url', 'focus on the refused field');
      await fill(page, '#feed-url', source.base + '/reviews.json');
      await page.click('#feed-save');
      await page.waitForFunction(() => document.querySelectorAll('#feeds-list > li[data-feed]').length === 1);
      const it = await item(page, 'Webshop');
      eq([it.state, it.badge, it.lastrun], ['disabled', 'uitgeschakeld', 'nog niet opgehaald'], 'the new feed: disabled, not fetched yet');
      await page.click('[data-run="' + it.id + '"]');
      await page.waitForFunction(() => /opgehaald:/.test(document.querySelector('#feeds-msg')?.textContent || ''));
      eq(await page.textContent('#feeds-msg'), 'Webshop is opgehaald: 2 nieuw, 0 bijgewerkt, 0 ongewijzigd.', 'fetch now: the counts in words');
      const after = await item(page, 'Webshop');
      eq([after.lastrun, after.fetched], ['2 nieuw, 0 bijgewerkt, 0 ongewijzigd (pagina’s: 1)', '2'], 'the last run and the mentions received');
      await page.click('[data-run="' + it.id + '"]');
      await page.waitForFunction(() => /1 ongewijzigd|2 ongewijzigd/.test(document.querySelector('#feeds-msg')?.textContent || ''));
      eq(await page.textContent('#feeds-msg'), 'Webshop is opgehaald: 0 nieuw, 0 bijgewerkt, 2 ongewijzigd.', 'a second fetch stores nothing twice');
      await shot(page, 'feeds');
    });

    await group('a key is written, never shown', async () => {
      const it = await item(page, 'Webshop');
      await page.click('[data-edit="' + it.id + '"]');
      await page.waitForSelector('#feed-form[data-editing="' + it.id + '"]');
      await fill(page, '#feed-auth', 'Authorization: Bearer zeer-geheim-77');
      await page.click('#feed-save');
      await page.waitForFunction(() => /opgeslagen/.test(document.querySelector('#feeds-msg')?.textContent || ''));
      const now = await item(page, 'Webshop');
      ok(now.text.includes('met sleutel'), 'the feed says it has a key', now.text);
      ok(!(await page.content()).includes('zeer-geheim-77'), 'the secret is nowhere in the page');
      await page.click('[data-run="' + it.id + '"]');
      await page.waitForFunction(() => /ongewijzigd\./.test(document.querySelector('#feeds-msg')?.textContent || '') && !document.querySelector('[data-run][disabled]'));
      eq(source.hits[source.hits.length - 1].auth, 'Bearer zeer-geheim-77', 'the source received the key');
      await page.click('[data-edit="' + it.id + '"]');
      ok((await page.textContent('#feed-form')).includes('Er is een sleutel ingesteld'), 'the change form says a key is set');
      eq(await page.inputValue('#feed-auth'), '', 'and does not fill it in');
      await page.click('#feed-cancel');
    });

    await group('a paged feed runs in the background; two runs in one second (H11)', async () => {
      await fill(page, '#feed-name', 'Wisselend');
      await page.selectOption('#feed-format', 'social');
      await fill(page, '#feed-url', source.base + '/flaky');
      // disabled: an enabled feed is due at once, and the scheduler's own
      // poll could take the source's one good answer before the click does
      await page.uncheck('#feed-enabled');
      await page.click('#feed-save');
      await page.waitForFunction(() => [...document.querySelectorAll('#feeds-list h3')].some((x) => x.textContent === 'Wisselend'));
      const it = await item(page, 'Wisselend');
      await page.click('[data-run="' + it.id + '"]');
      await page.waitForFunction(() => /opgehaald:/.test(document.querySelector('#feeds-msg')?.textContent || ''), null, { timeout: 20000 });
      eq(await page.textContent('#feeds-msg'), 'Wisselend is opgehaald: 1 nieuw, 0 bijgewerkt, 0 ongewijzigd.',
        'a paged feed: 202, the page follows the run to its counts');
      // at once again: the source is down now; the same second as the success
      // (last_ok_at === last_run_at) must still read as the failure it is
      await page.click('[data-run="' + it.id + '"]');
      await page.waitForFunction(() => /mislukt/.test(document.querySelector('#feeds-msg')?.textContent || ''), null, { timeout: 20000 });
      eq(await page.textContent('#feeds-msg'), 'Ophalen van Wisselend is mislukt: HTTP 500', 'the second run: its failure');
      const api = await apiInPage(page, 'GET', '/mention-feeds/' + it.id);
      eq([api.body.runs, api.body.failures], [2, 1], 'runs 2, failures 1');
      await page.click('[data-delete="' + it.id + '"]');
      await page.waitForFunction(() => /verwijderd/.test(document.querySelector('#feeds-msg')?.textContent || ''));
    });

    await group('a failing feed', async () => {
      await fill(page, '#feed-name', 'Kapot');
      await page.selectOption('#feed-format', 'social');
      await fill(page, '#feed-url', source.base + '/down');
      await fill(page, '#feed-interval', '15');
      await page.click('#feed-save');
      await page.waitForFunction(() => [...document.querySelectorAll('#feeds-list h3')].some((x) => x.textContent === 'Kapot'));
      const it = await item(page, 'Kapot');
      await page.click('[data-run="' + it.id + '"]');
      await page.waitForFunction(() => /mislukt/.test(document.querySelector('#feeds-msg')?.textContent || ''));
      eq(await page.textContent('#feeds-msg'), 'Ophalen van Kapot is mislukt: HTTP 500', 'the failure in words');
      const f = await item(page, 'Kapot');
      eq([f.state, f.badge, f.error], ['failing', 'mislukt', 'HTTP 500'], 'state failing and the last error shown');
      ok(f.text.includes('elke 15 min'), 'the interval in minutes', f.text);
      const api = await apiInPage(page, 'GET', '/mention-feeds/' + it.id);
      eq([api.body.interval_s, api.body.failures >= 1], [900, true], 'the API has 15 minutes as 900 s and the failure');
    });

    await group('delete, English, and a director', async () => {
      const it = await item(page, 'Kapot');
      await page.click('[data-delete="' + it.id + '"]');
      await page.waitForFunction(() => /verwijderd/.test(document.querySelector('#feeds-msg')?.textContent || ''));
      eq(await item(page, 'Kapot'), null, 'the deleted feed is gone from the list');
      await page.click('.lang-btn[data-lang="en"]');
      await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Review and social media feeds');
      // the heading is drawn before the list is loaded again in English
      await page.waitForFunction(() => [...document.querySelectorAll('#feeds-list > li h3')]
        .some((h) => h.textContent === 'Webshop'));
      const w = await item(page, 'Webshop');
      eq(w.badge, 'disabled', 'the badge in English');
      await page.click('.lang-btn[data-lang="nl"]');
      const director = new ApiClient(base);
      await director.login(USERS.director);
      eq((await director.call('GET', '/mention-feeds')).status, 403, 'a director: GET /mention-feeds -> 403');
    });
    eq(problems, [], 'no script errors on the page');
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (srv) {
      const st = await srv.stop();
      eq(st.code, 0, 'the server stops cleanly');
      ok(!/AddressSanitizer|runtime error:|LeakSanitizer/.test(srv.stderr()), 'no sanitizer report', srv.stderr().slice(-3000));
    }
    if (source) source.srv.close();
  }
}

run(main);
