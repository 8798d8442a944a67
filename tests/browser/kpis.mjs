#!/usr/bin/env node
// kpis.mjs — browser tests of the KPI page (issue 17 K, pages/kpis.js)
// against the real server on a fresh demo database: an admin finds it in
// the menu; the catalogue lists the seed's seven KPIs (built in, without a
// delete button); the values table of cost to serve per team shows the
// API's numbers month by month; a KPI is added through the form, a
// duplicate key is refused at its field; a pasted CSV with a bad month is
// refused with its line shown, a good one is imported; a team target is set
// and listed under the line that goals are for teams, not people; the page
// in English; a director reads but has no import; a manager has no menu
// item; axe-core finds nothing serious.
//
//   KS_BIN=build/asan/klantstem node tests/browser/kpis.mjs

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, resetContext, loginUi, apiInPage, tap, shot, go, withDemoServer, goRefused,
} from './lib.mjs';

const { ok, eq, group, run } = tap('kpis browser tests');

const AXE = fs.readFileSync(path.join(REPO, 'tests', 'browser', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// The page's number as nl-NL writes it (computed here, not with the page's helper).
function nl(v) {
  const a = Math.abs(v);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  const s = new Intl.NumberFormat('nl-NL', { minimumFractionDigits: d, maximumFractionDigits: d }).format(a);
  return (v < 0 && /[1-9]/.test(s) ? '\u2212' : '') + s;
}

async function fill(page, sel, value) {
  await page.fill(sel, '');
  await page.fill(sel, value);
}

async function main() {
  await withDemoServer('ks-kpis-', ok, async ({ base, browser, problems }) => {
    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    page.on('dialog', (d) => d.accept());
    await loginUi(page, base, USERS.admin);

    await group('admin: the catalogue', async () => {
      ok(await page.isVisible('nav a[href="#/kpis"]'), 'admin: the menu has KPI\u2019s');
      await go(page, base, '#/kpis', 'kpis');
      eq(await page.textContent('h1'), "Harde KPI's", 'the title in Dutch');
      const keys = await page.$$eval('#kpi-catalogue tbody tr', (rs) => rs.map((r) => r.dataset.kpi));
      eq(keys.slice().sort(), ['absenteeism', 'acquisition_cost', 'attrition', 'brand_value', 'cost_to_serve',
        'gross_margin', 'share_of_wallet'], 'the seed\u2019s seven KPIs');
      const cts = await page.$eval('#kpi-catalogue tr[data-kpi="cost_to_serve"]', (r) => [...r.cells].map((c) => c.textContent));
      eq(cts.slice(0, 7), ['Kosten per bediende klant standaard', 'cost_to_serve', 'EUR', 'lager is beter', 'Operatie',
        'output (efficiëntie)', 'gemiddelde'], 'cost to serve: name, built in, key, unit, direction, department, kind, aggregation');
      ok(await page.$('#kpi-catalogue [data-delete="cost_to_serve"]') === null, 'a built-in KPI has no delete button');
    });

    await group('admin: values per team and month', async () => {
      await page.waitForSelector('#values tbody tr');
      const months = await page.$$eval('#values thead th', (ths) => ths.length - 1);
      eq(months, 12, 'twelve months');
      const now = new Date();
      const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 15)).toISOString().slice(0, 7);
      const fromD = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 15)).toISOString().slice(0, 7);
      const s = (await apiInPage(page, 'GET', '/kpi-series?kpi=cost_to_serve&level=team&from=' + fromD + '&to=' + to)).body;
      const rows = await page.$$eval('#values tbody tr', (rs) => rs.map((r) => [Number(r.dataset.unit), [...r.querySelectorAll('td')].map((c) => c.textContent)]));
      eq(rows.map((r) => r[0]), s.units.map((u) => u.unit_id), 'one row per team, as the API lists them');
      const want = s.units.map((u) => [u.unit_id, u.values.map((v) => (v === null ? '–' : nl(v)))]);
      eq(rows, want, 'every cell is the API\u2019s value in nl-NL');
      ok(want.some((r) => r[1].some((c) => c !== '–')), 'the demo has cost-to-serve values in these months');
    });

    await group('admin: add a KPI', async () => {
      await fill(page, '#kpi-key', 'first_call_resolution');
      await fill(page, '#kpi-name-nl', 'Direct opgelost');
      await fill(page, '#kpi-name-en', 'First call resolution');
      await fill(page, '#kpi-unit', '%');
      await page.selectOption('#kpi-department', 'service');
      await page.selectOption('#kpi-kind', 'outcome');
      await page.click('#kpi-save');
      await page.waitForSelector('#kpi-catalogue tr[data-kpi="first_call_resolution"]');
      eq(await page.textContent('#kpis-msg'), 'Direct opgelost is toegevoegd.', 'added, said in words');
      ok(await page.$('#kpi-catalogue [data-delete="first_call_resolution"]') !== null, 'a KPI of one\u2019s own can be deleted');
      await fill(page, '#kpi-key', 'first_call_resolution');
      await fill(page, '#kpi-name-nl', 'Nog eens');
      await fill(page, '#kpi-name-en', 'Again');
      await page.click('#kpi-save');
      await page.waitForSelector('#kpi-key[aria-invalid="true"]');
      ok(/Niet opgeslagen|bestaat|conflict|al/i.test(await page.textContent('#kpi-form-msg')), 'the same key again is refused at its field',
        await page.textContent('#kpi-form-msg'));
      await fill(page, '#kpi-key', 'nps');
      // wait for this refusal's message, not the previous one's (both name the key)
      const before = await page.textContent('#kpi-form-msg');
      await page.click('#kpi-save');
      await page.waitForFunction((prev) => {
        const t = document.querySelector('#kpi-form-msg')?.textContent || '';
        return t !== prev && /key/.test(t);
      }, before);
      ok((await page.textContent('#kpi-form-msg')).startsWith('Niet opgeslagen: key klopt niet'), 'a soft key (nps) is refused naming key');
    });

    await group('admin: import with an error at a line, then a good one', async () => {
      const teams = (await apiInPage(page, 'GET', '/teams?limit=500')).body.items.filter((u) => u.kind === 'team');
      const t0 = teams[0];
      const bad = 'kpi;unit;period;value\n' + 'cost_to_serve;' + t0.name + ';2026-01;40,5\n' + 'cost_to_serve;' + t0.id + ';2026-13;41\n';
      await page.fill('#import-csv', bad);
      await page.click('#import-send');
      await page.waitForSelector('#import-line:not([hidden])');
      eq(await page.textContent('#import-msg'), 'Niets geïmporteerd: regel 3, kolom period: period \'2026-13\' must be a month YYYY-MM',
        'the refused line and column in words');
      eq(await page.textContent('#import-line'), '3: cost_to_serve;' + t0.id + ';2026-13;41', 'the line at fault is shown');
      const v = (await apiInPage(page, 'GET', '/kpis/5/values?unit_id=' + t0.id + '&from=2026-01&to=2026-01')).body;
      const before = v.values.map((x) => x.value);
      ok(!before.includes(40.5), 'nothing of the refused file was stored', JSON.stringify(before));
      await page.fill('#import-csv', 'kpi;unit;period;value\ncost_to_serve;' + t0.name + ';2026-01;40,5\n');
      await page.click('#import-send');
      await page.waitForFunction(() => /geïmporteerd\./.test(document.querySelector('#import-msg')?.textContent || ''));
      eq(await page.textContent('#import-msg'), "1 waarden van 1 KPI's voor 1 eenheden over 1 maanden geïmporteerd.", 'the import\u2019s counts');
      ok(await page.isHidden('#import-line'), 'no line shown after a good import');
    });

    await group('admin: a team target', async () => {
      eq(await page.textContent('#targets-teams-note'),
        'Doelen gelden voor teams, nooit voor individuele mensen: zo blijft de feedback een coachingsinstrument en geen afrekensysteem.',
        'goals are for teams, never for people (nl)');
      await page.selectOption('#target-kpi', 'nps');
      const team = await page.$eval('#target-unit', (s) => [...s.options].find((o) => /\(Team\)$/.test(o.textContent)).value);
      await page.selectOption('#target-unit', team);
      await fill(page, '#target-period', '2027');
      await fill(page, '#target-value', '35');
      await page.click('#target-save');
      await page.waitForSelector('#targets tr[data-target="nps|' + team + '|2027"]');
      eq(await page.textContent('#target-msg'), 'Het doel is opgeslagen.', 'the target is saved');
      ok(!(await page.$$eval('#target-form select, #target-form input', (els) => els.map((e) => e.name))).some((n) => /employee|user|person/.test(n)),
        'the target form has no person to choose');
      await page.evaluate(AXE);
      const v = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
        .filter((x) => x.impact === 'serious' || x.impact === 'critical')
        .map((x) => x.id + ' ' + x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')));
      eq(v, [], 'no serious or critical axe-core finding');
      await shot(page, 'kpis');
    });

    await group('admin: in English', async () => {
      await page.evaluate(() => localStorage.setItem('ks.lang', 'en'));
      await go(page, base, '#/kpis', 'kpis');
      eq(await page.textContent('h1'), 'Hard KPIs', 'the title in English');
      eq(await page.textContent('#targets-teams-note'),
        'Goals are set for teams, never for individual people: that keeps feedback a coaching tool, not a way to settle scores.',
        'goals are for teams (en)');
      const cts = await page.$eval('#kpi-catalogue tr[data-kpi="cost_to_serve"] th', (c) => c.textContent);
      eq(cts, 'Cost to serve built in', 'the KPI\u2019s English name');
      await page.evaluate(() => localStorage.setItem('ks.lang', 'nl'));
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.director);
    await group('director', async () => {
      ok(await page.isVisible('nav a[href="#/kpis"]'), 'director: the menu has KPI\u2019s');
      await go(page, base, '#/kpis', 'kpis');
      await page.waitForSelector('#values tbody tr');
      ok(await page.$('#import-csv') === null, 'director: no import');
      ok(await page.$('#kpi-form') === null, 'director: no KPI form');
      ok(await page.$('#target-form') !== null, 'director: sets targets');
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.manager);
    await group('manager', async () => {
      ok(!(await page.$('nav a[href="#/kpis"]')), 'manager: no menu item');
      eq(await goRefused(page, base, '#/kpis'), 'org', 'manager: sent home');
    });
    eq(problems, [], 'no script errors in the pages');
  }, { scale: 3 });
}

run(main);
