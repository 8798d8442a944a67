#!/usr/bin/env node
// themes.mjs — browser tests of the themes UI (issue 14): the themes page,
// the verbatim explorer's theme and sentiment filters, discovery with "add
// as theme" and the re-analysis progress, the model panel, and the top
// themes on the team and person pages — against the real server on a fresh
// demo database (its open answers are analysed when it is made).
//
//   KS_BIN=build/asan/klantstem node tests/browser/themes.mjs
//
// Every figure the page shows is compared with the API's reply to the same
// call, read in the page's own session (apiInPage); formatting and verdicts
// are worked out here with Intl, never with the product's helpers. TAP
// lines, screenshots in build/screenshots/, exit status 1 on any failure.

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, binary, tmpDir, makeDemo, startServer, launchBrowser, resetContext, loginUi, waitPage, apiInPage, tap, shot, go, ApiClient, redraw,
} from './lib.mjs';

const { ok, eq, group, run } = tap('themes browser tests');
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// ---- formatting, independently of web/js/format.js ---------------------------------------

const NL = 'nl-NL';
const int = (n) => new Intl.NumberFormat(NL, { maximumFractionDigits: 0 }).format(n);
const pct = (v) => new Intl.NumberFormat(NL, { style: 'percent', maximumFractionDigits: 0 }).format(v);
// "−0,28" / "+3,1" → -0.28 / 3.1: what number a text on the page says
const parseNl = (s) => Number(String(s).trim().replace('\u2212', '-').replace('+', '').replace(/\./g, '').replace(',', '.'));

// The verdict the page must write for a difference of NPS with and without a theme.
function impactOf(d) {
  if (!d || typeof d.value !== 'number' || typeof d.ci_low !== 'number' || typeof d.ci_high !== 'number') return 'suppressed';
  if (d.ci_low <= 0 && d.ci_high >= 0) return 'unclear';
  return d.value > 0 ? 'higher' : 'lower';
}

const rowShown = (r) => !r.insufficient && typeof r.n === 'number' && typeof r.sentiment?.negative === 'number';

// The planted answers: a topic no theme of the default taxonomy knows.
const PLANTED = [
  'De slagboom van de parkeergarage ging niet open.',
  'Bij de slagboom van de parkeergarage stond ik een kwartier stil.',
  'Weer die slagboom van de parkeergarage, mijn kaartje werd niet gelezen.',
  'De slagboom van de parkeergarage bleef dicht.',
  'Slagboom parkeergarage deed het niet, ik moest aanbellen.',
  'Ik kwam de parkeergarage niet uit door de slagboom.',
  'De slagboom bij de parkeergarage weigerde mijn pas.',
  'Parkeergarage: de slagboom was stuk.',
  'De slagboom van de parkeergarage reageerde niet op mijn ticket.',
  'Lange rij bij de slagboom van de parkeergarage.',
  'De slagboom in de parkeergarage sloeg dicht op mijn auto.',
  'Geen idee waarom de slagboom van de parkeergarage niet opende.',
];

async function waitReady(page, sel, ms = 20000) {
  await page.waitForSelector(sel + '[data-ready="true"]', { timeout: ms });
}

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
  const dir = tmpDir('ks-themes-');
  let srv = null;
  let browser = null;
  const problems = [];
  try {
    const db = makeDemo(bin, dir, 3);
    srv = await startServer(bin, db);
    const base = srv.base;
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);

    // ---- setup over the API ------------------------------------------------------------------
    const users = (await admin.call('GET', '/users?limit=500')).body;
    const list = users.items || users;
    const lead = list.find((u) => u.email === USERS.team_lead);
    const tp = (await admin.call('GET', '/touchpoints?limit=1')).body.items[0];
    const custs = (await admin.call('GET', '/customers?limit=20')).body.items;
    const now = Date.now();
    const iso = (ms) => new Date(ms - (ms % 1000)).toISOString().replace('.000Z', 'Z');
    let planted = 0;
    for (let i = 0; i < PLANTED.length; i++) {
      const r = await admin.call('POST', '/responses', {
        client_key: 'themes-browser-plant-' + i, customer_id: custs[i % custs.length].id, team_id: lead.unit_id,
        touchpoint_id: tp.id, channel: 'phone', received_at: iso(now - (i + 1) * 3 * 3600e3),
        answers: { nps: 3 + (i % 5), open: PLANTED[i] },
      });
      if (r.status === 201) planted++;
    }
    eq(planted, PLANTED.length, 'setup: ' + PLANTED.length + ' answers about the car park barrier (no theme knows it) -> 201');
    // a new employee of the lead's team with three answers: under the person threshold
    const emp = await admin.call('POST', '/employees', { team_id: lead.unit_id, first_name: 'Thema', last_name: 'Nieuweling' });
    eq(emp.status, 201, 'setup: a new employee in the team lead\'s team -> 201');
    // (days before today: figures count up to yesterday)
    let three = 0;
    for (let i = 0; i < 3; i++) {
      const r = await admin.call('POST', '/responses', {
        client_key: 'themes-browser-new-' + i, customer_id: custs[i].id, team_id: lead.unit_id, employee_id: emp.body.id,
        touchpoint_id: tp.id, channel: 'phone', received_at: iso(now - (i + 2) * 86400e3),
        answers: { nps: 2, open: 'Veel te lang gewacht, de wachttijd was enorm en niemand belde terug.' },
      });
      if (r.status === 201) three++;
    }
    eq(three, 3, 'setup: three answers about the new employee -> 201');
    // a new team with three analysed answers: under the unit minimum, its themes summary hidden
    const leadTeam = (await admin.call('GET', '/teams/' + lead.unit_id)).body;
    const small = await admin.call('POST', '/teams', { name: 'Thema Klein Team', kind: 'team', parent_id: leadTeam.parent_id });
    eq(small.status, 201, 'setup: a new small team -> 201');
    let smallN = 0;
    for (let i = 0; i < 3; i++) {
      const r = await admin.call('POST', '/responses', {
        client_key: 'themes-browser-small-' + i, customer_id: custs[i].id, team_id: small.body.id,
        touchpoint_id: tp.id, channel: 'phone', received_at: iso(now - (i + 2) * 86400e3),
        answers: { nps: 9, open: 'Heel vriendelijk geholpen, top service.' },
      });
      if (r.status === 201) smallN++;
    }
    eq(smallN, 3, 'setup: three answers in the small team -> 201');
    const teams = (await admin.call('GET', '/teams?kind=team&limit=500')).body.items;
    const other = teams.find((x) => x.id !== lead.unit_id);

    browser = await launchBrowser();
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    page.on('console', (m) => {
      // a refused call (403) is logged by Chromium as a failed resource: expected where tested
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push('console: ' + m.text());
    });

    await loginUi(page, base, USERS.admin);
    let api = null;      // the /themes reply of the page's slice (admin, all time)
    let first = null;    // the most mentioned theme shown

    await group('page', async () => {
      await go(page, base, '#/themes', 'themes');
      eq(await page.textContent('main h1'), 'Thema’s in de open antwoorden', 'page: the heading in Dutch');
      ok(await page.isVisible('#nav-list a[data-nav="themes"][aria-current="page"]'), 'page: "Thema’s" in the menu, marked current');
      const r = await apiInPage(page, 'GET', '/themes?interval=month');
      eq(r.status, 200, 'page: GET /themes -> 200');
      api = r.body;
      const facts = await page.$$eval('#themes-facts dd', (dd) => dd.map((d) => [d.dataset.value ?? null, d.textContent]));
      eq(facts.slice(0, 2), [[String(api.answers), int(api.answers)], [String(api.with_theme), int(api.with_theme)]],
        'page: analysed answers and answers with a theme are the API\'s (' + api.answers + ', ' + api.with_theme + ')');
      eq(facts[2], [String(api.coverage ?? ''), typeof api.coverage === 'number' ? pct(api.coverage) : 'geen antwoorden'],
        'page: the coverage is the API\'s, in whole percents');
      eq(await page.$eval('#themes-sentiment', (d) => [d.dataset.negative, d.dataset.neutral, d.dataset.positive]),
        [api.sentiment.negative, api.sentiment.neutral, api.sentiment.positive].map(String), 'page: the sentiment counts are the API\'s');
      ok(api.themes.length > 0, 'page: the demo has themes (' + api.themes.map((x) => x.theme).join(', ') + ')');

      // volume × sentiment: the table, in the API's order, with its numbers
      const rows = await page.$$eval('#themes-table tbody tr', (trs) => trs.map((tr) => ({
        theme: tr.dataset.theme, insufficient: tr.dataset.insufficient,
        cells: Object.fromEntries([...tr.querySelectorAll('td[data-col]')].map((td) => [td.dataset.col, [td.dataset.value, td.textContent]])),
      })));
      eq(rows.map((x) => x.theme), api.themes.map((x) => x.theme), 'volume: one row per theme, in the API\'s order (n descending)');
      const want = api.themes.map((x) => (rowShown(x) ? {
        n: [String(x.n), int(x.n)], share: [String(x.share ?? ''), pct(x.share)],
        negative: [String(x.sentiment.negative), int(x.sentiment.negative)],
        neutral: [String(x.sentiment.neutral), int(x.sentiment.neutral)],
        positive: [String(x.sentiment.positive), int(x.sentiment.positive)],
        net: String(x.sentiment.net),
      } : { insufficient: true }));
      const got = rows.map((x) => (x.insufficient === 'true' ? { insufficient: true } : {
        n: x.cells.n, share: x.cells.share, negative: x.cells.negative, neutral: x.cells.neutral, positive: x.cells.positive,
        net: x.cells.net[0],
      }));
      eq(got, want, 'volume: answers, share, and negative / neutral / positive per theme are the API\'s');
      const nets = rows.filter((x) => x.insufficient !== 'true').map((x) => parseNl(x.cells.net[1]));
      eq(nets, api.themes.filter(rowShown).map((x) => x.sentiment.net), 'volume: the net sentiment as printed is exactly the API\'s number');
      ok(rows.filter((x) => x.insufficient !== 'true').every((x) => /^[+\u2212]|^0,0+$/.test(x.cells.net[1].trim())),
        'volume: net sentiment carries its sign', rows.map((x) => x.cells.net?.[1]));
      await page.waitForSelector('#themes-volume .chart[data-drawn="true"]', { timeout: 10000 });
      ok((await page.getAttribute('#themes-volume .chart', 'aria-label')).includes('De cijfers staan in de tabel onder de grafiek'),
        'volume: the chart is labelled in Dutch and points to the table');

      // NPS with and without: the verdict in words, from the difference and its interval
      const impact = await page.$$eval('#themes-impact-table tbody tr', (trs) => trs.map((tr) => ({
        theme: tr.dataset.theme, verdict: tr.dataset.verdict,
        diff: tr.querySelector('[data-col="difference"]')?.dataset.value ?? null,
        text: tr.querySelector('[data-col="verdict"]').textContent,
      })));
      eq(impact.map((x) => [x.theme, x.verdict, x.diff]),
        api.themes.map((x) => [x.theme, impactOf(x.nps_difference), impactOf(x.nps_difference) === 'suppressed' ? null : String(x.nps_difference.value)]),
        'impact: per theme the difference and the verdict (suppressed / interval includes 0 / higher / lower) follow the API');
      const words = { suppressed: 'Niet getoond', unclear: 'het interval bevat 0', higher: 'Hogere NPS', lower: 'Lagere NPS' };
      ok(impact.every((x) => x.text.includes(words[x.verdict])), 'impact: each verdict is said in words', impact);

      // the trend per theme: the server's verdict
      const trends = await page.$$eval('#themes-trends li', (lis) => lis.map((li) => [li.dataset.theme, li.dataset.verdict]));
      eq(trends, api.themes.filter((x) => x.trend && Array.isArray(x.trend.points)).map((x) => [x.theme, x.trend.verdict?.verdict ?? '']),
        'trend: a small chart per theme with the API\'s change verdict');
      first = api.themes.find(rowShown);
      await shot(page, 'themes-admin');
    });

    await group('slice', async () => {
      // a touchpoint and a year: the page asks the API for that slice and shows its numbers
      const year = new Intl.DateTimeFormat('en', { timeZone: 'Europe/Amsterdam', year: 'numeric' }).format(new Date());  // the organisation's year
      // each choice sets the address; the page is drawn at the next hashchange
      await redraw(page, 'themes', () => page.selectOption('#themes-touchpoint', String(tp.id)));
      await redraw(page, 'themes', () => page.selectOption('select[name="period"]', year));
      ok(page.url().includes('touchpoint_id=' + tp.id) && page.url().includes('period=' + year), 'slice: the address keeps touchpoint and period', page.url());
      const r = await apiInPage(page, 'GET', '/themes?period=' + year + '&touchpoint_id=' + tp.id + '&interval=month');
      eq(r.status, 200, 'slice: GET /themes?period&touchpoint_id -> 200');
      eq(await page.getAttribute('#themes-facts dd:first-of-type', 'data-value'), String(r.body.answers), 'slice: the count of the slice (' + r.body.answers + ')');
      ok(r.body.answers < api.answers, 'slice: fewer answers than the whole (' + r.body.answers + ' < ' + api.answers + ')');
      eq(await page.$$eval('#themes-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.theme, tr.querySelector('[data-col="n"]')?.dataset.value ?? ''])),
        r.body.themes.map((x) => [x.theme, String(x.n)]), 'slice: per theme the slice\'s counts');
      const href = await page.getAttribute('#themes-table a.theme-link', 'href');
      ok(href.includes('touchpoint_id=' + tp.id) && href.includes('from=' + year + '-01-01') && href.includes('to=' + (+year + 1) + '-01-01'),
        'slice: a theme links to the explorer on the same slice', href);
      // a team under the unit minimum: its counts of sentiment are hidden, and the page says so
      await go(page, base, '#/themes?team_id=' + small.body.id, 'themes');
      const sr = await apiInPage(page, 'GET', '/themes?team_id=' + small.body.id + '&interval=month');
      eq([sr.status, sr.body.answers, sr.body.sentiment?.negative, sr.body.with_theme], [200, 3, null, null],
        'small team: the API gives its 3 answers and no sentiment or theme counts');
      const sentText = await page.textContent('#themes-sentiment');
      ok(sentText.trim() === 'Te weinig reacties' && !/\d/.test(sentText),
        'small team: the page says "Te weinig reacties" for the sentiment, never "0 negatief"', sentText);
      eq(await page.$$eval('#themes-facts dd', (dd) => dd[1].textContent), 'Te weinig reacties',
        'small team: and for the answers with a theme');
      await go(page, base, '#/themes', 'themes');
    });

    await group('explorer', async () => {
      if (!first) throw new Error('no theme to click');
      await Promise.all([waitPage(page, 'verbatims'), page.click(`#themes-table a.theme-link[data-theme="${first.theme}"]`)]);
      eq(await page.$eval('#verbatim-theme', (s) => s.value), first.theme, 'explorer: opened from the theme, its theme chosen in the filter');
      const items = await page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => ({ id: li.dataset.responseId, themes: li.dataset.themes.split(' '), s: li.dataset.sentiment })));
      const v = await apiInPage(page, 'GET', '/verbatims?theme=' + first.theme + '&limit=25');
      eq(v.status, 200, 'explorer: GET /verbatims?theme -> 200');
      ok(items.length > 0, 'explorer: the theme lists answers (' + items.length + ')');
      eq(items.map((x) => x.id), v.body.items.map((x) => String(x.response_id)), 'explorer: the same answers as the API, in its order');
      ok(items.every((x) => x.themes.includes(first.theme)), 'explorer: every listed item carries the theme ' + first.theme, items.slice(0, 5));
      const chips = await page.$$eval('#verbatim-list li.verbatim', (lis, th) => lis.every((li) => li.querySelector(`.theme-chip[data-theme="${th}"]`)), first.theme);
      ok(chips, 'explorer: every item shows the theme as a chip');
      const sentWords = await page.$$eval('#verbatim-list li.verbatim .sentiment', (ss) => ss.map((s) => s.textContent.trim()));
      ok(sentWords.length === items.length && sentWords.every((s) => /^\S+ Sentiment: (negatief|neutraal|positief)$/.test(s)),
        'explorer: every item says its sentiment in words (not by colour alone)', sentWords.slice(0, 3));

      await page.selectOption('#verbatim-sentiment', 'negative');
      await page.click('#verbatim-form button[type="submit"]');
      await page.waitForFunction(() => location.hash.includes('sentiment=negative')
        && document.querySelector('#verbatim-list')?.closest('section')?.getAttribute('aria-busy') === 'false');
      const neg = await page.$$eval('#verbatim-list li.verbatim', (lis) => lis.map((li) => ({ id: li.dataset.responseId, s: li.dataset.sentiment, themes: li.dataset.themes.split(' ') })));
      const vn = await apiInPage(page, 'GET', '/verbatims?theme=' + first.theme + '&sentiment=negative&limit=25');
      eq(neg.map((x) => x.id), vn.body.items.map((x) => String(x.response_id)), 'sentiment filter: the API\'s negative answers on the theme');
      ok(neg.length > 0 && neg.every((x) => x.s === 'negative' && x.themes.includes(first.theme)),
        'sentiment filter: every item is negative and carries the theme (' + neg.length + ')', neg.slice(0, 5));
      const bad = await apiInPage(page, 'GET', '/verbatims?sentiment=angry');
      eq([bad.status, bad.body?.error?.field], [422, 'sentiment'], 'sentiment filter: a bad value is a 422 naming "sentiment"');
      await shot(page, 'themes-explorer');
    });

    let phrase = null;
    await group('discovery', async () => {
      await go(page, base, '#/themes', 'themes');
      await waitReady(page, '#themes-discover');
      const d = await apiInPage(page, 'GET', '/themes/discover');
      eq(d.status, 200, 'discovery: GET /themes/discover -> 200');
      const p = (d.body.phrases || []).find((x) => /slagboom|parkeergarage/.test(x.phrase));
      ok(Boolean(p), 'discovery: the API finds the planted phrase', (d.body.phrases || []).map((x) => x.phrase));
      if (!p) return;
      phrase = p;
      const li = await page.$$eval('#discover-list li.phrase', (lis) => lis.map((x) => ({ phrase: x.dataset.phrase, n: x.dataset.n, prev: x.dataset.previous, rising: x.dataset.rising, text: x.textContent })));
      eq(li.map((x) => x.phrase), d.body.phrases.map((x) => x.phrase), 'discovery: the page lists the API\'s phrases in its order');
      const mine = li.find((x) => x.phrase === p.phrase);
      eq([mine.n, mine.prev, mine.rising], [String(p.n), String(p.n_previous), String(Boolean(p.rising))], 'discovery: "' + p.phrase + '": n, previous n and the rising mark are the API\'s');
      ok(mine.text.includes(int(p.n) + ' keer') && (!p.rising || mine.text.includes('opkomend')), 'discovery: the count and "opkomend" in words', mine.text);
      ok(p.examples.length > 0 && p.examples.every((x) => mine.text.includes(x.text)), 'discovery: its examples are shown as text');

      // add as theme: the form is prefilled from the phrase
      const item = `#discover-list li.phrase[data-phrase="${p.phrase}"]`;
      await page.click(item + ' .add-theme-btn');
      eq(await page.getAttribute(item + ' .add-theme-btn', 'aria-expanded'), 'true', 'add: the button opens the form (aria-expanded)');
      const pre = await page.$eval(item + ' form.add-theme-form', (f) => ({ id: f.elements.id.value, nl: f.elements['label.nl'].value, terms: f.elements['terms.nl'].value }));
      const slug = p.phrase.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
      eq(pre, { id: slug, nl: p.phrase, terms: p.language === 'en' ? '' : p.phrase }, 'add: id, Dutch name and terms prefilled from the phrase');
      // a taken id first: 409 naming "id", the control marked
      await page.fill(item + ' input[name="id"]', first.theme);
      await page.click(item + ' form.add-theme-form button[type="submit"]');
      await page.waitForFunction((sel) => document.querySelector(sel + ' .add-theme-msg')?.textContent, item);
      eq(await page.getAttribute(item + ' input[name="id"]', 'aria-invalid'), 'true', 'add: an existing id is refused and the control marked invalid');
      ok((await page.textContent(item + ' .add-theme-msg')).includes('‘Code’'), 'add: the refusal names the field in Dutch', await page.textContent(item + ' .add-theme-msg'));
      await page.fill(item + ' input[name="id"]', slug);
      await page.fill(item + ' input[name="label.en"]', 'Car park barrier');
      await page.click(item + ' form.add-theme-form button[type="submit"]');
      await page.waitForSelector(item + ' form.add-theme-form[data-added="true"]', { timeout: 15000 });
      ok(true, 'add: POST /text/taxonomy/themes accepted');
      // the re-analysis it started, followed to the end
      await page.waitForSelector('#reanalyze[data-running="false"]', { timeout: 120000 });
      const prog = await page.$eval('#reanalyze', (b) => ({ done: Number(b.dataset.done), total: Number(b.dataset.total), text: b.textContent, hidden: b.hidden }));
      ok(!prog.hidden && prog.total > 0 && prog.done === prog.total && prog.text.includes('Klaar'),
        'add: the re-analysis progress is shown until done (' + prog.done + ' of ' + prog.total + ')', prog);
      const re = await apiInPage(page, 'GET', '/text/reanalyze');
      eq([re.body.running, re.body.done, re.body.total], [false, prog.done, prog.total], 'add: the progress shown is the API\'s');
      const tax = await apiInPage(page, 'GET', '/text/taxonomy');
      const added = (tax.body.taxonomy?.themes || []).find((x) => x.id === slug);
      ok(Boolean(added), 'add: GET /text/taxonomy has the new theme "' + slug + '"', (tax.body.taxonomy?.themes || []).map((x) => x.id));
      eq(added && [added.label.nl, added.label.en], [p.phrase, 'Car park barrier'], 'add: with its Dutch and English names');
      const tagged = await apiInPage(page, 'GET', '/verbatims?theme=' + encodeURIComponent(slug) + '&limit=100');
      const texts = (tagged.body.items || []).map((x) => x.text);
      ok(PLANTED.filter((x) => texts.includes(x)).length >= Math.floor(PLANTED.length / 2),
        'add: after the re-analysis the planted answers carry the new theme (' + PLANTED.filter((x) => texts.includes(x)).length + ' of ' + PLANTED.length + ')', texts.slice(0, 5));
      await shot(page, 'themes-discovery');
    });

    await group('model', async () => {
      await go(page, base, '#/themes', 'themes');
      await waitReady(page, '#themes-model');
      const before = await apiInPage(page, 'GET', '/text/model');
      eq(before.status, 200, 'model: GET /text/model -> 200');
      // too few labelled answers first: the minimum above what the demo has
      const set = await admin.call('PATCH', '/text/model', { min_examples: 1000000 });
      eq(set.status, 200, 'model: PATCH /text/model min_examples 1000000 -> 200');
      await go(page, base, '#/themes', 'themes');
      await waitReady(page, '#themes-model');
      await page.click('#model-train');
      await page.waitForSelector('#model-msg[data-result="error"]', { timeout: 60000 });
      eq(await page.textContent('#model-msg'), 'Te weinig antwoorden met een score om van te leren (minstens 1.000.000 nodig). Het model is niet veranderd.',
        'model: a 422 on "examples" is said as a sentence with the minimum');
      const still = await apiInPage(page, 'GET', '/text/model');
      eq([still.body.active, still.body.trained_at], [before.body.active, before.body.trained_at], 'model: and the model did not change');
      eq((await admin.call('PATCH', '/text/model', { min_examples: before.body.min_examples })).status, 200,
        'model: the minimum back to ' + before.body.min_examples);
      await go(page, base, '#/themes', 'themes');
      await waitReady(page, '#themes-model');
      // a training already running (the schedule's, woken by the change) is a 409, said as such: try again
      let result = null;
      const busy = [];
      for (let attempt = 0; attempt < 30; attempt++) {
        await page.evaluate(() => { delete document.querySelector('#model-msg').dataset.result; });
        await page.click('#model-train');
        await page.waitForSelector('#model-msg[data-result]', { timeout: 120000 });
        result = await page.getAttribute('#model-msg', 'data-result');
        if (result !== 'error' || (await page.getAttribute('#model-msg', 'data-status')) !== '409') break;
        busy.push(await page.textContent('#model-msg'));
        await sleep(1000);
      }
      if (busy.length) {
        ok(busy.every((x) => x.startsWith('Het model wordt op dit moment al geleerd')),
          'model: a training already running (409, ' + busy.length + ' times) is said in words', busy);
      }
      const m = await apiInPage(page, 'GET', '/text/model');
      if (result === 'error') {
        const msg = await page.textContent('#model-msg');
        // too few labelled answers is a sentence, never the server's English
        ok(/Te weinig antwoorden met een score/.test(msg), 'model: a refusal (too few examples) is said as a sentence', msg);
        ok(false, 'model: the demo has enough labelled answers to train', [msg, m.body]);
        return;
      }
      ok(m.body.active === true && m.body.evaluation && typeof m.body.evaluation.accuracy === 'number', 'model: trained and evaluated (API)', m.body);
      const acc = await page.$eval('#model-eval tr[data-measure="accuracy"] td', (td) => [td.dataset.value, td.textContent]);
      const want = new Intl.NumberFormat(NL, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(m.body.evaluation.accuracy * 100) + '%';
      eq(acc, [String(m.body.evaluation.accuracy), want], 'model: the accuracy shown is the API\'s (' + want + ')');
      const f1 = await page.$$eval('#model-eval tr[data-measure="macro_f1"] td', (tds) => tds.map((td) => td.dataset.value));
      eq(f1, [String(m.body.evaluation.macro_f1), String(m.body.evaluation.lexicon_macro_f1)], 'model: macro-F1 of the model against the word list');
      const words = await page.$$eval('#model-body .model-top [data-lang="nl"] [data-class="negative"] li', (lis) => lis.map((li) => li.dataset.feature));
      eq(words, (m.body.top?.nl?.negative || []).map((x) => x.feature), 'model: the strongest Dutch negative words are the API\'s');
      ok((await page.textContent('#model-msg')).includes(want), 'model: "train now" says the accuracy');
      await page.waitForSelector('#reanalyze[data-running="false"]', { timeout: 120000 }).catch(() => {});
      await shot(page, 'themes-model');
    });

    await group('english', async () => {
      await page.click('.lang-btn[data-lang="en"]');
      await waitPage(page, 'themes');
      eq(await page.textContent('main h1'), 'Themes in the open answers', 'english: the heading');
      const tax = await apiInPage(page, 'GET', '/text/taxonomy');
      const labels = Object.fromEntries((tax.body.taxonomy?.themes || []).map((x) => [x.id, x.label.en]));
      const shown = await page.$$eval('#themes-table a.theme-link', (as) => as.map((a) => [a.dataset.theme, a.textContent]));
      ok(shown.length > 0 && shown.every(([id, text]) => text === labels[id]), 'english: themes named in English from the taxonomy', shown.slice(0, 4));
      await page.click('.lang-btn[data-lang="nl"]');
      await waitPage(page, 'themes');
    });

    // ---- the team lead: their own team only ------------------------------------------------------
    await resetContext(browser.context);
    await loginUi(page, base, USERS.team_lead);
    await group('team lead', async () => {
      await go(page, base, '#/themes', 'themes');
      ok(!(await page.$('#themes-team')), 'team lead: no choice of team');
      ok(!(await page.$('#themes-discover')) && !(await page.$('#themes-model')), 'team lead: no discovery and no model panel');
      const mine = await apiInPage(page, 'GET', '/themes?interval=month');
      const own = await apiInPage(page, 'GET', '/themes?team_id=' + lead.unit_id + '&interval=month');
      eq([mine.status, own.status], [200, 200], 'team lead: /themes and /themes?team_id=own -> 200');
      eq(mine.body.answers, own.body.answers, 'team lead: the default slice is their own team (' + mine.body.answers + ' answers)');
      eq(await page.getAttribute('#themes-facts dd:first-of-type', 'data-value'), String(mine.body.answers), 'team lead: the page shows their team\'s count');
      eq(await page.$$eval('#themes-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.theme, tr.querySelector('[data-col="n"]')?.dataset.value ?? ''])),
        mine.body.themes.map((x) => [x.theme, typeof x.n === 'number' ? String(x.n) : '']), 'team lead: per theme the counts of their team');
      const refused = await apiInPage(page, 'GET', '/themes?team_id=' + other.id);
      eq(refused.status, 403, 'team lead: another team\'s themes -> 403');
      await go(page, base, '#/themes?team_id=' + other.id, 'themes');
      ok(await page.isVisible('#themes-error [data-status="403"]'), 'team lead: the page says "not allowed" for another team');
      await shot(page, 'themes-team-lead');

      // the team page's top themes
      await go(page, base, '#/team', 'team');
      await page.waitForSelector('#team-themes-panel', { timeout: 10000 });
      const tr = await apiInPage(page, 'GET', '/themes?team_id=' + lead.unit_id);
      const shown = (tr.body.themes || []).filter(rowShown);
      const pos = shown.filter((x) => x.sentiment.positive > x.sentiment.negative)
        .sort((a, b) => b.sentiment.positive - a.sentiment.positive || b.n - a.n).slice(0, 3).map((x) => x.theme);
      const neg = shown.filter((x) => x.sentiment.negative > x.sentiment.positive)
        .sort((a, b) => b.sentiment.negative - a.sentiment.negative || b.n - a.n).slice(0, 3).map((x) => x.theme);
      const got = await page.$$eval('#team-themes-panel .top-col', (cols) => cols.map((c) => [c.dataset.kind, [...c.querySelectorAll('li')].map((li) => li.dataset.theme)]));
      eq(got, [['positive', pos], ['negative', neg]], 'team page: the top positive and negative themes of the team\'s answers');
      ok(pos.length + neg.length > 0, 'team page: the team has themes to show');

      // the demo employee's page: their top themes, or the suppression when the server hides them
      const demoEmp = list.find((u) => u.email === USERS.employee).employee_id;
      await go(page, base, '#/person/' + demoEmp, 'person');
      await page.waitForSelector('#person-themes-panel', { timeout: 10000 });
      const er = await apiInPage(page, 'GET', '/themes?employee_id=' + demoEmp);
      const eshown = (er.body.themes || []).filter(rowShown);
      if (eshown.length) {
        const epos = eshown.filter((x) => x.sentiment.positive > x.sentiment.negative)
          .sort((a, b) => b.sentiment.positive - a.sentiment.positive || b.n - a.n).slice(0, 3).map((x) => x.theme);
        const eneg = eshown.filter((x) => x.sentiment.negative > x.sentiment.positive)
          .sort((a, b) => b.sentiment.negative - a.sentiment.negative || b.n - a.n).slice(0, 3).map((x) => x.theme);
        eq(await page.$$eval('#person-themes-panel .top-col', (cols) => cols.map((c) => [c.dataset.kind, [...c.querySelectorAll('li')].map((li) => li.dataset.theme)])),
          [['positive', epos], ['negative', eneg]], 'person: the demo employee\'s top themes, from the API (' + er.body.answers + ' answers)');
      } else {
        eq(await page.getAttribute('#person-themes-panel', 'data-suppressed'), 'true', 'person: the demo employee\'s themes are suppressed, as the API has them');
      }

      // the person page of someone under the person threshold: no themes, the sentence
      await go(page, base, '#/person/' + emp.body.id, 'person');
      await page.waitForSelector('#person-themes-panel', { timeout: 10000 });
      const pr = await apiInPage(page, 'GET', '/themes?employee_id=' + emp.body.id);
      const pm = await apiInPage(page, 'GET', '/metrics?employee_id=' + emp.body.id);
      ok(pm.body.insufficient === true && pm.body.n === 3, 'person: the new employee\'s score is hidden (' + pm.body.n + ' answers)', pm.body);
      ok((pr.body.themes || []).some((x) => x.theme === 'waiting_time'), 'person: their answers are about the waiting time (the API knows)', pr.body.themes);
      ok(pr.status === 200 && !(pr.body.themes || []).some(rowShown), 'person: the API shows no theme figures of a hidden person', pr.body);
      // the reply's own sentiment counts are this one person's, below the person threshold: hidden too
      ok(['negative', 'neutral', 'positive'].every((k) => pr.body.sentiment?.[k] === null || pr.body.sentiment?.[k] === undefined),
        'person: nor the sentiment counts of their ' + pm.body.n + ' answers', pr.body.sentiment);
      eq(await page.getAttribute('#person-themes-panel', 'data-suppressed'), 'true', 'person: the page says the themes are suppressed');
      ok((await page.textContent('#person-themes-panel')).includes('Te weinig reacties om thema’s te tonen (minimaal ' + pm.body.min_n + ')'),
        'person: in words, with the person threshold (' + pm.body.min_n + ')', await page.textContent('#person-themes-panel'));
      eq(await page.$$eval('#person-themes-panel li', (lis) => lis.length), 0, 'person: and lists no theme');
      await shot(page, 'themes-person-suppressed');
    });

    // ---- the employee: their team's themes, nothing more ----------------------------------------
    await resetContext(browser.context);
    await loginUi(page, base, USERS.employee);
    await group('employee', async () => {
      await go(page, base, '#/themes', 'themes');
      const r = await apiInPage(page, 'GET', '/themes?interval=month');
      eq(r.status, 200, 'employee: GET /themes -> 200');
      eq(await page.getAttribute('#themes-facts dd:first-of-type', 'data-value'), String(r.body.answers), 'employee: the page shows the API\'s count (' + r.body.answers + ')');
      eq(await page.textContent('#themes-scope'), 'Je ziet de antwoorden over je team.', 'employee: the page says whose answers these are');
      ok(!(await page.$('#themes-team')) && !(await page.$('#themes-discover')) && !(await page.$('#themes-model')),
        'employee: no unit choice, no discovery, no model');
    });

    await group('phone', async () => {
      await page.setViewportSize({ width: 320, height: 740 });
      await go(page, base, '#/themes', 'themes');
      await page.waitForTimeout(500);
      const sw = await page.evaluate(() => document.scrollingElement.scrollWidth);
      ok(sw <= 320, 'phone: the themes page is not wider than 320 px (' + sw + ')');
      await page.setViewportSize({ width: 1280, height: 900 });
    });
    eq(problems, [], 'no script errors in the pages');
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

run(main);
