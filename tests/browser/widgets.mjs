#!/usr/bin/env node
// widgets.mjs — browser tests of the widget admin page (issue 16 H3,
// web/js/pages/widgets.js, #/admin/widgets) and the review invitation
// settings (web/js/pages/review_settings.js, #/admin/settings) against the
// real server on a small demo database:
//
//   KS_BIN=build/asan/klantstem node tests/browser/widgets.mjs
//
// As the demo admin: no widgets at first; create an organisation widget
// (grade, previous year) with the pickers — the API lists it as chosen; the
// embed snippet is the iframe of its public address with its title, the
// JSON address is url + ".json", the copy button puts the snippet on the
// clipboard; the live preview (an iframe of /w/TOKEN) shows the figure and n
// of the public JSON; the scope picker offers the touchpoints for a
// touchpoint widget; disabling makes the public address 404 and the
// preview says so, enabling brings it back; deleting empties the list. The
// review settings refuse an http address (the field marked) and save an
// https one. A director gets neither (403 from the API, no section link).

import fs from 'node:fs';
import {
  USERS, resetContext, loginUi, tap, shot, go, apiInPage, ApiClient, withDemoServer,
} from './lib.mjs';

const { ok, eq, group, run } = tap('widgets browser tests');

// The public JSON and the status of a public address, from node (no cookie).
async function pub(base, p) {
  const r = await fetch(base + p);
  const text = await r.text();
  let body = text;
  try { body = JSON.parse(text); } catch { /* HTML */ }
  return { status: r.status, body };
}

// The snippet as docs/UI.md gives it, written out here.
function snippetOf(url, title) {
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<iframe src="${esc(url)}" title="${esc(title)}" width="260" height="170" style="border:0" loading="lazy"></iframe>`;
}

async function waitMsg(page, sel, before) {
  await page.waitForFunction(([s, b]) => {
    const t = document.querySelector(s)?.textContent || '';
    return t.length > 0 && t !== b;
  }, [sel, before]);
  return page.evaluate((s) => ({ text: document.querySelector(s).textContent, cls: document.querySelector(s).className }), sel);
}

async function main() {
  await withDemoServer('ks-widgets-', ok, async ({ bin, dir, db, srv, base, browser, problems }) => {
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);
    const units = (await admin.call('GET', '/teams?limit=500')).body.items;
    const tps = (await admin.call('GET', '/touchpoints?limit=500')).body.items;
    const org = units.find((u) => u.kind === 'organisation');
    ok(Boolean(org) && tps.length > 0, 'fixture: the demo has an organisation and touchpoints');

    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    page.on('dialog', (d) => d.accept());
    await loginUi(page, base, USERS.admin);

    let w = null;
    await group('create', async () => {
      await go(page, base, '#/admin/widgets', 'admin');
      await page.waitForSelector('#wg-list');
      eq(await page.getAttribute('a[data-section="widgets"]', 'aria-current'), 'page', 'the admin menu has "Widgets", current');
      eq(await page.$$eval('#wg-list > li.wg-item', (l) => l.length), 0, 'no widgets at first');
      ok((await page.textContent('#wg-list')).includes('Er zijn nog geen widgets.'), 'the empty list says so in Dutch');
      // organisation (default scope), the organisation, grade, previous year
      eq(await page.$$eval('#wg-scope-id option', (o) => o.map((x) => Number(x.value))),
        units.filter((u) => u.kind === 'organisation').map((u) => u.id), 'organisation scope: the picker offers the organisation units');
      await page.selectOption('#wg-measure', 'grade');
      await page.selectOption('#wg-period', 'previous_year');
      const before = await page.textContent('#wg-msg');
      await page.click('#wg-create');
      await waitMsg(page, '#wg-msg', before);
      await page.waitForSelector('#wg-list > li.wg-item');
      const list = (await admin.call('GET', '/widgets')).body.widgets;
      eq(list.map((x) => [x.scope, x.scope_id, x.measure, x.period, x.enabled]),
        [['organisation', org.id, 'grade', 'previous_year', true]], 'the API lists the widget as chosen');
      w = list[0];
      eq(await page.$$eval('#wg-list > li.wg-item', (l) => l.map((x) => x.dataset.token)), [w.token], 'the page lists it by its token');
      await shot(page, 'widgets-created');
    });

    await group('embed snippet and JSON address', async () => {
      const title = 'Gemiddeld rapportcijfer — ' + org.name;
      eq(await page.inputValue(`textarea[data-snippet="${w.token}"]`), snippetOf(w.url, title),
        'the HTML snippet is an iframe of the public address with its title');
      ok(w.url.endsWith('/w/' + w.token), 'the public address ends in /w/TOKEN', w.url);
      eq(await page.inputValue(`input[data-json="${w.token}"]`), w.url + '.json', 'the JSON address is the public address + .json');
      await page.click(`button[data-copy="wg-snippet-${w.token}"]`);
      await page.waitForFunction(() => /Gekopieerd|Ctrl\+C/.test(document.querySelector('#wg-msg')?.textContent || ''));
      const clip = await page.evaluate(() => navigator.clipboard.readText().catch(() => null));
      eq(clip, snippetOf(w.url, title), 'the copy button puts the snippet on the clipboard');
    });

    await group('live preview', async () => {
      const json = await pub(base, '/w/' + w.token + '.json');
      eq(json.status, 200, 'public JSON: 200');
      ok(json.body.insufficient === false && typeof json.body.value === 'number' && json.body.n > 0,
        'fixture: the demo organisation has a grade for the previous year', json.body);
      const frame = await (await page.waitForSelector(`div[data-preview="${w.token}"] iframe`)).contentFrame();
      eq(await page.getAttribute(`div[data-preview="${w.token}"] iframe`, 'src'), '/w/' + w.token, 'the preview frames /w/TOKEN');
      await frame.waitForSelector('.v');
      const shown = { v: (await frame.textContent('.v')).trim(), n: (await frame.textContent('.n')).trim() };
      const want = json.body.value.toFixed(2).replace('.', ',');
      ok(shown.v.startsWith(want), 'the preview shows the grade with a decimal comma (' + want + ')', shown);
      eq(shown.n, 'n = ' + json.body.n, 'the preview shows n as the public JSON gives it');
    });

    await group('a refusal names the field', async () => {
      // a rolling period the picker does not offer, put in by hand: the server's 422 names widgets[1].period
      await page.evaluate(() => {
        const sel = document.querySelector('#wg-period');
        sel.append(new Option('last_90d', 'last_90d'));
        sel.value = 'last_90d';
      });
      const before = await page.textContent('#wg-create-msg');
      await page.click('#wg-create');
      const m = await waitMsg(page, '#wg-create-msg', before);
      ok(m.cls.includes('error') && /Periode/.test(m.text), 'the refusal is shown at the form, naming the period', m);
      eq(await page.getAttribute('#wg-period', 'aria-invalid'), 'true', 'the period control is marked invalid');
      eq((await admin.call('GET', '/widgets')).body.widgets.length, 1, 'nothing was added');
      await page.selectOption('#wg-period', 'previous_quarter');
    });

    await group('touchpoint picker', async () => {
      await page.selectOption('#wg-scope', 'touchpoint');
      eq(await page.$$eval('#wg-scope-id option', (o) => o.map((x) => Number(x.value))), tps.map((x) => x.id),
        'touchpoint scope: the picker offers every touchpoint');
      await page.selectOption('#wg-scope-id', String(tps[0].id));
      await page.selectOption('#wg-measure', 'nps');
      const before = await page.textContent('#wg-msg');
      await page.click('#wg-create');
      await waitMsg(page, '#wg-msg', before);
      const list = (await admin.call('GET', '/widgets')).body.widgets;
      eq(list.map((x) => [x.scope, x.scope_id, x.measure]), [['organisation', org.id, 'grade'], ['touchpoint', tps[0].id, 'nps']],
        'a touchpoint NPS widget is added after the first, the first kept');
      eq(list[0].token, w.token, 'the first widget keeps its token (its public address stays)');
    });

    await group('disable and enable', async () => {
      const before = await page.textContent('#wg-msg');
      await page.click(`button[data-toggle="${w.token}"]`);
      await waitMsg(page, '#wg-msg', before);
      await page.waitForSelector(`li[data-token="${w.token}"][data-enabled="false"]`);
      eq((await pub(base, '/w/' + w.token)).status, 404, 'disabled: the public HTML is 404');
      eq((await pub(base, '/w/' + w.token + '.json')).status, 404, 'disabled: the public JSON is 404');
      ok(!(await page.$(`div[data-preview="${w.token}"] iframe`)), 'disabled: no preview frame');
      eq((await admin.call('GET', '/widgets')).body.widgets.find((x) => x.token === w.token).enabled, false, 'the API has it disabled');
      const b2 = await page.textContent('#wg-msg');
      await page.click(`button[data-toggle="${w.token}"]`);
      await waitMsg(page, '#wg-msg', b2);
      await page.waitForSelector(`li[data-token="${w.token}"][data-enabled="true"]`);
      eq((await pub(base, '/w/' + w.token)).status, 200, 'enabled again: the public HTML is 200');
    });

    await group('delete', async () => {
      for (const x of (await admin.call('GET', '/widgets')).body.widgets) {
        const before = await page.textContent('#wg-msg');
        await page.click(`button[data-delete="${x.token}"]`);
        await waitMsg(page, '#wg-msg', before);
      }
      eq((await admin.call('GET', '/widgets')).body.widgets, [], 'deleted: the API list is empty');
      eq(await page.$$eval('#wg-list > li.wg-item', (l) => l.length), 0, 'deleted: the page list is empty');
      eq((await pub(base, '/w/' + w.token)).status, 404, 'deleted: the public address is 404');
    });

    await group('review invitation settings', async () => {
      await go(page, base, '#/admin/settings', 'admin');
      await page.waitForSelector('#rv-form');
      eq(await page.isChecked('#rv-form input[name="enabled"]'), false, 'review invitations are off by default');
      eq(await page.$$eval('#rv-stats tbody tr', (r) => r.map((x) => [x.dataset.stat, x.querySelector('td').textContent])),
        [['invited', '0'], ['clicked', '0'], ['wrote', '0']], 'the counts are zero');
      await page.check('#rv-form input[name="enabled"]');
      await page.fill('#rv-form input[name="url"]', 'http://reviews.example.com/x');
      let m = { text: await page.textContent('#rv-msg') };
      await page.click('#rv-save');
      m = await waitMsg(page, '#rv-msg', m.text);
      ok(m.cls.includes('error'), 'an http address is refused', m);
      eq(await page.getAttribute('#rv-form input[name="url"]', 'aria-invalid'), 'true', 'the address field is marked');
      await page.fill('#rv-form input[name="url"]', 'https://reviews.example.com/x');
      await page.fill('#rv-form input[name="min_nps"]', '10');
      await page.click('#rv-save');
      m = await waitMsg(page, '#rv-msg', m.text);
      ok(!m.cls.includes('error'), 'an https address is saved', m);
      const s = (await admin.call('GET', '/review-invitations/settings')).body;
      eq([s.enabled, s.url, s.min_nps, s.interval_days], [true, 'https://reviews.example.com/x', 10, 180], 'the API has the settings');
      // issue 16 H7: everyone by default; promoters only with the review-gating warning
      eq(s.audience, 'all', 'the audience is everyone by default');
      eq(await page.inputValue('#rv-audience'), 'all', 'the page shows audience everyone');
      const warn = await page.textContent('#rv-audience-warning');
      ok(/review gating/.test(warn) && /Google en Trustpilot verbieden/.test(warn) && /ACM/.test(warn),
        'the warning names review gating, the review sites\' policies and the ACM', warn);
      eq(await page.getAttribute('#rv-audience-warning', 'data-level'), 'info', 'the warning is a note while everyone is invited');
      await page.selectOption('#rv-audience', 'promoters');
      eq(await page.getAttribute('#rv-audience-warning', 'data-level'), 'warn', 'choosing promoters only makes it a warning');
      await page.evaluate(() => { document.querySelector('#rv-msg').textContent = ''; });  // the same message comes again
      await page.click('#rv-save');
      m = await waitMsg(page, '#rv-msg', '');
      ok(!m.cls.includes('error'), 'audience promoters is saved', m);
      eq((await admin.call('GET', '/review-invitations/settings')).body.audience, 'promoters', 'saved: audience promoters (API)');
      eq(await page.$$eval('#rv-audience-stats tbody tr', (r) => r.map((x) => [x.dataset.audience, ...[...x.querySelectorAll('td')].map((c) => c.textContent)])),
        [['all', '0', '0', '0'], ['promoters', '0', '0', '0']], 'the counts per audience (none yet)');
      await shot(page, 'review-settings');
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.director);
    await group('director', async () => {
      eq((await apiInPage(page, 'GET', '/widgets')).status, 403, 'director: GET /widgets -> 403');
      eq((await apiInPage(page, 'GET', '/review-invitations/settings')).status, 403, 'director: review settings -> 403');
      eq((await apiInPage(page, 'GET', '/review-invitations/stats')).status, 200, 'director: review counts -> 200');
      ok(!(await page.$('a[href="#/admin"]')), 'director: no administration in the menu');
    });
    eq(problems, [], 'no script errors in the pages');
  });
}

run(main);
