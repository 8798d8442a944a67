#!/usr/bin/env node
// governance.mjs — browser tests of the governance page (issue 17 L,
// pages/governance.js) against the real server on a fresh demo database:
// a director finds it in the menu; per department the output, outcome and
// impact KPIs with a trend chart; the soft<->hard map with one cell per
// pair, flagged exactly where the API flags; the pair explorer shows the
// API's sentence for the chosen soft KPI, hard KPI and lag, and the lag
// chart's points are the API's correlations; the line that goals are per
// team, never per person; no "causes"/"veroorzaakt" anywhere on the page;
// axe-core finds nothing serious; a team lead has no menu item and is sent
// home.
//
//   KS_BIN=build/asan/klantstem node tests/browser/governance.mjs

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, resetContext, loginUi, apiInPage, tap, shot, go, waitPage, ApiClient, withDemoServer, goRefused,
} from './lib.mjs';

const { ok, eq, group, run } = tap('governance browser tests');

const AXE = fs.readFileSync(path.join(REPO, 'tests', 'browser', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

async function main() {
  await withDemoServer('ks-governance-', ok, async ({ base, browser, problems }) => {
    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    await loginUi(page, base, USERS.director);

    await group('director: the page', async () => {
      ok(await page.isVisible('nav a[href="#/governance"]'), 'director: the menu has Sturing');
      await go(page, base, '#/governance', 'governance');
      await page.waitForSelector('#gov-map');
      const ov = (await apiInPage(page, 'GET', '/governance/overview')).body;
      const withKpis = ov.departments.filter((d) => ['output', 'outcome', 'impact'].some((k) => d.kpis[k].length)).map((d) => d.department);
      eq(await page.$$eval('section.gov-dept', (els) => els.map((e) => e.dataset.department)), withKpis,
        'one section per department with KPIs, in the API\u2019s order');
      eq(await page.$$eval('section.gov-dept[data-department="operations"] .gov-kind', (els) => els.map((e) => e.dataset.kind)),
        ['output', 'outcome', 'impact'], 'operations: output, outcome and impact side by side');
      ok(await page.isVisible('section.gov-dept[data-department="operations"] .gov-kind[data-kind="output"] article[data-kpi="cost_to_serve"]'),
        'operations\u2019 output column holds cost to serve');
      const ctsApi = ov.departments.find((d) => d.department === 'operations').kpis.output[0];
      if (ctsApi.values.some((v) => v !== null)) {
        await page.waitForSelector('article[data-kpi="cost_to_serve"] .chart[data-drawn="true"]');
        const vals = JSON.parse(await page.getAttribute('article[data-kpi="cost_to_serve"] .chart', 'data-values'));
        eq(vals, ctsApi.values, 'the cost-to-serve trend chart draws the API\u2019s monthly values');
      }
      eq(await page.textContent('#gov-goals-note'), 'Doelen gelden per team, nooit per persoon.', 'goals are per team, never per person (nl)');

      // the map, at the page's lag 0 and team level
      const m = (await apiInPage(page, 'GET', '/governance/map?lag=0&level=team')).body;
      const cells = await page.$$eval('#gov-map td[data-soft]', (els) => els.map((e) => [e.dataset.soft, e.dataset.hard, e.dataset.flag, e.dataset.enough]));
      eq(cells.length, m.pairs.length, 'the map: one cell per soft x hard pair (' + m.pairs.length + ')');
      const want = m.pairs.map((p) => [p.soft, p.hard, String(p.flag), String(p.enough)]).sort();
      eq(cells.slice().sort(), want, 'the map: flagged and not-enough cells exactly as the API says');
      const fdr = await page.textContent('#gov-map-fdr');
      ok(fdr.includes(String(m.fdr.family)) && fdr.includes('Benjamini-Hochberg'), 'the map names its false-discovery control', fdr);
    });

    await group('director: the pair explorer', async () => {
      await page.selectOption('#gov-x-soft', 'nps');
      await page.selectOption('#gov-x-hard', 'cost_to_serve');
      await page.selectOption('#gov-x-lag', '2');
      await page.selectOption('#gov-x-level', 'team');
      await page.click('#gov-explorer button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('#gov-sentence') && location.hash.includes('lag=2'));
      const res = (await apiInPage(page, 'GET', '/governance/links?soft=nps&hard=cost_to_serve&lag=2&level=team')).body;
      eq(await page.textContent('#gov-sentence'), res.sentence.nl, 'the sentence is the API\u2019s, in Dutch');
      eq(await page.textContent('#gov-lag-note'), res.lag_note.nl, 'the page says the lag is the reader\u2019s choice');
      if (res.correlations.some((c) => c.enough)) {
        await page.waitForSelector('#gov-x-result .chart[data-drawn="true"]');
        const pts = JSON.parse(await page.getAttribute('#gov-x-result .chart', 'data-points'));
        eq(pts, res.correlations.map((c) => [c.lag, c.r, c.ci_low, c.ci_high]), 'the lag chart: r and interval at lags 0..6 as the API gives them');
      }
      eq(await page.$$eval('#gov-corr tbody tr', (rows) => rows.map((r) => r.dataset.lag)), ['0', '1', '2', '3', '4', '5', '6'],
        'the table beside the chart: lags 0..6');
      // a map cell opens its pair in the explorer
      const cell = await page.$('#gov-map td[data-soft="grade"][data-hard="cost_to_serve"] button');
      if (cell) {
        await cell.click();
        await page.waitForFunction(() => location.hash.includes('soft=grade'));
        eq(await page.inputValue('#gov-x-soft'), 'grade', 'a map cell opens its pair in the explorer');
      }
      // a map cell opens the explorer at the MAP's lag and level, not the explorer's own: the
      // explorer is set to lag 0 / team, the map switched to lag 3 / department
      await page.selectOption('#gov-x-lag', '0');
      await page.selectOption('#gov-x-level', 'team');
      await page.selectOption('#gov-map-lag', '3');
      await page.selectOption('#gov-map-level', 'department');
      await page.waitForSelector('#gov-map[data-lag="3"][data-level="department"]');
      eq([await page.inputValue('#gov-x-lag'), await page.inputValue('#gov-x-level')], ['0', 'team'],
        'before the click: the explorer at another lag and level than the map');
      await page.click('#gov-map td[data-soft="nps"][data-hard="cost_to_serve"] button');
      await page.waitForFunction(() => /[?&]lag=3(&|$)/.test(location.hash) && location.hash.includes('level=department')
        && location.hash.includes('soft=nps'));
      eq([await page.inputValue('#gov-x-soft'), await page.inputValue('#gov-x-hard'), await page.inputValue('#gov-x-lag'),
        await page.inputValue('#gov-x-level')], ['nps', 'cost_to_serve', '3', 'department'],
      'a map cell sets the explorer to its pair and to the map’s lag and level');
      const resMap = (await apiInPage(page, 'GET', '/governance/links?soft=nps&hard=cost_to_serve&lag=3&level=department')).body;
      eq(await page.textContent('#gov-sentence'), resMap.sentence.nl, 'the explorer shows the API’s sentence for the map’s lag and level');
      const text = await page.textContent('main');
      ok(!/caus|veroorza|oorzaak/i.test(text), 'no "causes"/"veroorzaakt" anywhere on the page');
      await page.evaluate(AXE);
      const v = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
        .filter((x) => x.impact === 'serious' || x.impact === 'critical')
        .map((x) => x.id + ' ' + x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')));
      eq(v, [], 'no serious or critical axe-core finding');
      await shot(page, 'governance');
    });

    await group('team targets and English', async () => {
      // a target on a team (set through the API by an admin) shows with its progress
      const admin = new ApiClient(base);
      await admin.login(USERS.admin);
      const ov = (await apiInPage(page, 'GET', '/governance/overview')).body;
      const teams = (await admin.call('GET', '/teams?limit=100')).body.items.filter((u) => u.kind === 'team');
      const team = teams[0];
      const put = await admin.call('PUT', '/kpi-targets', { kpi: 'cost_to_serve', unit_id: team.id, period: ov.to, target: 1 });
      eq(put.status, 200, 'admin: a cost-to-serve target of 1 EUR on ' + team.name);
      await go(page, base, '#/governance?soft=nps&hard=cost_to_serve&lag=2&level=team', 'governance');
      await page.waitForSelector('#gov-targets');
      const api = (await apiInPage(page, 'GET', '/governance/overview')).body.team_targets.find((x) => x.team_id === team.id);
      const row = await page.$eval('#gov-targets tr[data-team="' + team.id + '"]', (tr) => [...tr.children].map((c) => c.textContent));
      eq([row[0], row[5]], [team.name, api.met === null ? 'nog onbekend' : api.met ? 'gehaald' : 'nog niet gehaald'],
        'the team target: the team and its progress as the API says (' + String(api.met) + ')');
      ok(!(await page.$('#gov-goals-none')), 'the goals panel lists it');
      // English: the same page, the API's English sentence
      await page.waitForSelector('#gov-sentence');
      await page.click('.lang-btn[data-lang="en"]');
      await waitPage(page, 'governance');
      await page.waitForSelector('#gov-sentence');
      const res = (await apiInPage(page, 'GET', '/governance/links?soft=nps&hard=cost_to_serve&lag=2&level=team')).body;
      eq(await page.textContent('main h1'), 'Governance: soft and hard side by side', 'english: the heading');
      eq(await page.textContent('#gov-sentence'), res.sentence.en, 'english: the sentence is the API\u2019s English one');
      eq(await page.textContent('#gov-goals-note'), 'Goals are set per team, never per person.', 'english: goals per team, never per person');
      ok(!/caus|veroorza|oorzaak/i.test(await page.textContent('main')), 'english: no "causes" anywhere on the page');
      await page.click('.lang-btn[data-lang="nl"]');
      await waitPage(page, 'governance');
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.team_lead);
    await group('team lead', async () => {
      ok(!(await page.$('nav a[href="#/governance"]')), 'team lead: no menu item');
      eq(await goRefused(page, base, '#/governance'), 'team', 'team lead: sent home');
      eq((await apiInPage(page, 'GET', '/governance/overview')).status, 403, 'team lead: GET /governance/overview -> 403');
    });
    eq(problems, [], 'no script errors in the pages');
  }, { scale: 10 });
}

run(main);
