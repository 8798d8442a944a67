#!/usr/bin/env node
// attr_dims.mjs — browser tests of the attribute dimensions (issue 16, H5):
// after an import (products, holdings, logins, a custom attribute) the
// organisation page's explorer offers Product, Inlogfrequentie, Nieuwsbrief
// and the custom key by its name; grouped by product it lists the API's
// groups by product name with their n; the newsletter and login band
// values are in Dutch words; the note on the time of the response shows;
// in English the pickers say Newsletter and Login frequency — against the
// real server on a fresh demo database.
//
//   KS_BIN=build/asan/klantstem node tests/browser/attr_dims.mjs

import fs from 'node:fs';
import {
  USERS, loginUi, tap, shot, go, waitPage, ApiClient, withDemoServer,
} from './lib.mjs';

const { ok, eq, group, run } = tap('attribute dimension browser tests');
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

async function main() {
  await withDemoServer('ks-attrdims-', ok, async ({ bin, dir, db, srv, base, browser, problems }) => {
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);
    const custs = (await admin.call('GET', '/customers?limit=500')).body.items || [];
    ok(custs.length >= 100, 'fixture: the demo has customers (' + custs.length + ')');
    const imports = [
      ['products', [{ external_id: 'ad-a', name: 'Zonnepanelen' }, { external_id: 'ad-b', name: 'Laadpaal' }]],
      ['customers', custs.map((c, i) => ({ external_id: c.external_id, name: c.name, language: c.language,
        klantgroep: ['brons', 'zilver', 'goud'][i % 3] }))],
      ['holdings', custs.flatMap((c, i) => [
        ...(i % 2 === 0 ? [{ customer_external_id: c.external_id, product_external_id: 'ad-a', since: '2020-01-01' }] : []),
        ...(i % 3 === 0 ? [{ customer_external_id: c.external_id, product_external_id: 'ad-b', since: '2020-01-01' }] : []),
      ])],
      ['events', custs.flatMap((c, i) => (i % 4 === 0 ? [] : [
        { customer_external_id: c.external_id, kind: 'login', occurred_at: new Date(Date.now() - 86400e3 * (1 + i % 30)).toISOString().slice(0, 19) + 'Z' },
        { customer_external_id: c.external_id, kind: i % 2 ? 'newsletter_subscribed' : 'newsletter_unsubscribed', occurred_at: '2024-01-01T10:00:00Z' },
      ]))],
    ];
    for (const [kind, body] of imports) {
      const r = await admin.call('POST', '/import/' + kind, body);
      eq(r.status, 200, 'fixture: import ' + kind + ' (' + body.length + ' rows)', r.body);
    }
    let dims = null, byProduct = null;
    for (let i = 0; i < 50; i++) {  // the server reloads the columns within about a second
      dims = (await admin.call('GET', '/metrics/dimensions')).body;
      // every import reloaded (H10: the dimensions can list the products before the holdings' reload)
      byProduct = (await admin.call('GET', '/metrics?group_by=product')).body;
      if ((dims.products || []).length === 2 && (dims.attributes || []).some((a) => a.key === 'klantgroep') &&
        (byProduct.rows || []).length === 2) break;
      await sleep(200);
    }
    eq((dims.products || []).map((p) => p.name).sort(), ['Laadpaal', 'Zonnepanelen'], 'the server picked up the import');
    ok((byProduct.rows || []).length === 2, 'fixture: /metrics?group_by=product has two groups', byProduct);

    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    await loginUi(page, base, USERS.director);

    await group('explorer (Dutch)', async () => {
      await go(page, base, '#/org?a=product', 'org');
      await page.waitForSelector('#org-explorer table[data-dim="product"]');
      const opts = await page.$$eval('#explorer-a option', (os) => os.map((o) => [o.value, o.textContent]));
      const has = (v, label) => opts.some(([a, b]) => a === v && b === label);
      ok(has('product', 'Product') && has('login_band', 'Inlogfrequentie') && has('newsletter', 'Nieuwsbrief') &&
        has('attr.klantgroep', 'klantgroep'), 'the dimension picker lists the attribute dimensions with readable names', opts.slice(-6));
      const rows = await page.$$eval('#org-explorer table[data-dim="product"] tbody tr', (trs) => trs.map((tr) =>
        [tr.querySelector('th').textContent, Number(tr.querySelector('td[data-col="n"]').dataset.value)]));
      eq(rows.map((r) => r.join(':')).sort(), byProduct.rows.map((r) => r.product.name + ':' + r.n).sort(),
        'grouped by product: each product by name with the API\'s n');
      ok(await page.isVisible('#explorer-attr-note'), 'the note on the time of the response shows');
      await shot(page, 'attr-dims-product');
      await go(page, base, '#/org?a=newsletter', 'org');
      await page.waitForSelector('#org-explorer table[data-dim="newsletter"]');
      const news = await page.$$eval('#org-explorer table[data-dim="newsletter"] tbody th', (ths) => ths.map((th) => th.textContent));
      const api = (await admin.call('GET', '/metrics?group_by=newsletter')).body.rows.map((r) => r.newsletter);
      const nl = { yes: 'ja', no: 'nee', unknown: 'onbekend' };
      eq(news.slice().sort(), api.map((v) => nl[v]).sort(), 'newsletter groups in Dutch words (ja / nee / onbekend)');
      await go(page, base, '#/org?a=attr.klantgroep&b=month', 'org');
      await page.waitForSelector('#org-explorer table.pivot');
      const head = await page.$eval('#org-explorer table.pivot thead th', (th) => th.textContent);
      ok(head.startsWith('klantgroep \\ '), 'a custom attribute by month: the pivot names the attribute', head);
      // issue 16 (H10): two attributes (or one with a channel) are refused by the server;
      // the explorer says why, in Dutch, instead of a bare error
      await go(page, base, '#/org?a=attr.klantgroep&b=login_band', 'org');
      await page.waitForSelector('#explorer-attr-combo');
      const why = await page.$eval('#explorer-attr-combo', (p) => p.textContent);
      ok(why.includes('één kenmerk tegelijk') && !(await page.$('#org-explorer table.pivot')),
        'a custom attribute by a login band: no pivot, the reason in Dutch', why);
    });

    await group('explorer (English)', async () => {
      await go(page, base, '#/org?a=login_band', 'org');
      await page.click('.lang-btn[data-lang="en"]');
      await waitPage(page, 'org');
      await page.waitForSelector('#org-explorer table[data-dim="login_band"]');
      const opts = await page.$$eval('#explorer-a option', (os) => os.map((o) => o.textContent));
      ok(opts.includes('Login frequency') && opts.includes('Newsletter'), 'in English: Login frequency, Newsletter', opts.slice(-6));
    });
    eq(problems, [], 'no script errors in the pages');
  });
}

run(main);
