#!/usr/bin/env node
// drivers.mjs — browser tests of the key-driver UI (issue 15): the #/drivers
// page (importance × performance, R², the top three with "make this an
// action", the change against another period, moments of truth per
// journey), the top three on the team page, and the suggested moments of
// truth on the org page's heat map — against the real server on a fresh
// demo database.
//
//   KS_BIN=build/asan/klantstem node tests/browser/drivers.mjs
//   (KS_DRIVERS_SCALE=100: the full demo, 251,160 driver ratings; default 30 %,
//   enough customers on several touchpoints of a journey for moments of truth)
//
// Every figure the page shows is compared with the API's reply to the same
// call, read in the page's own session (apiInPage); formatting, quadrants
// and verdict words are worked out here with Intl and the API's fields,
// never with the product's helpers. TAP lines, screenshots in
// build/screenshots/, exit status 1 on any failure.

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, binary, tmpDir, makeDemo, startServer, launchBrowser, resetContext, loginUi, waitPage, apiInPage, tap, shot, go, ApiClient,
} from './lib.mjs';

const { ok, eq, group, run } = tap('drivers browser tests');

// ---- formatting, independently of web/js/format.js ---------------------------------------

const NL = 'nl-NL';
const MINUS = '\u2212';
const dec = (v, d, loc = NL) => {
  const s = new Intl.NumberFormat(loc, { minimumFractionDigits: d, maximumFractionDigits: d }).format(Math.abs(v));
  return (v < 0 && /[1-9]/.test(s) ? MINUS : '') + s;
};
const signed = (v, d, loc = NL) => {
  const s = dec(v, d, loc);
  return v > 0 && /[1-9]/.test(s) ? '+' + s : s;
};
const int = (n) => new Intl.NumberFormat(NL, { maximumFractionDigits: 0 }).format(n);
const pct = (v) => new Intl.NumberFormat(NL, { style: 'percent', maximumFractionDigits: 0 }).format(v);
const share = (v, loc = NL) => dec(v * 100, 1, loc) + '%';
const num = (v) => typeof v === 'number' && Number.isFinite(v);

const Q_NL = { keep: 'Vasthouden', improve_first: 'Eerst verbeteren', maintain: 'Onderhouden', less_urgent: 'Minder dringend' };
const Q_EN = { keep: 'Keep', improve_first: 'Improve first', maintain: 'Maintain', less_urgent: 'Less urgent' };
const VERDICT_NL = { rose: 'Belangrijker geworden', fell: 'Minder belangrijk geworden', no_change: 'Geen verandering buiten de ruis' };
// the demo's aspects in English (the page names the known aspects in the UI's language)
const EN_NAME = { snelheid: 'speed', vriendelijkheid: 'friendliness', deskundigheid: 'expertise', punctualiteit: 'punctuality' };

// The quadrant a point's position says: right of the vertical line = rated
// better than the organisation, at or above the horizontal = important.
function quadrantAt(x, y, yThr) {
  const good = x > 0, important = y >= yThr;
  return important ? (good ? 'keep' : 'improve_first') : (good ? 'maintain' : 'less_urgent');
}

const orgYear = () => new Intl.DateTimeFormat('en', { timeZone: 'Europe/Amsterdam', year: 'numeric' }).format(new Date());

// Choose a value in a control that reloads the page, and wait for the new
// page: its address has part, and it has rendered again.
async function choose(page, sel, value, part) {
  await page.evaluate(() => { delete document.querySelector('main').dataset.ready; });
  await page.selectOption(sel, value);
  await page.waitForFunction((p) => location.hash.includes(p) && document.querySelector('main')?.dataset.ready === 'true', part);
}

// No value leaked as the words "null", "undefined" or "NaN" into the page.
async function noJunk(page, what) {
  const text = await page.$eval('main', (m) => m.textContent);
  const m = /\b(null|undefined|NaN)\b/.exec(text);
  ok(!m, what + ': no "null", "undefined" or "NaN" on the page', m && text.slice(Math.max(0, m.index - 80), m.index + 20));
}

async function waitReady(page, sel, ms = 60000) {
  await page.waitForSelector(sel + '[data-ready="true"]', { timeout: ms });
}

// The driver table as the page shows it.
function readTable(page) {
  return page.$$eval('#kd-table tbody tr', (trs) => trs.map((tr) => {
    const cell = (c) => tr.querySelector(`[data-col="${c}"]`);
    const ds = (c) => ({ ...(cell(c)?.dataset || {}), text: cell(c)?.textContent ?? null });
    return { driver: tr.dataset.driver, quadrant: tr.dataset.quadrant, matters: tr.dataset.matters, inModel: tr.dataset.inModel,
      name: tr.querySelector('th').childNodes[0].textContent, n: ds('n'), mean: ds('mean'), good: ds('good'), share: ds('share'), rank: ds('rank'),
      mattersText: cell('matters')?.textContent ?? '', quadrantText: cell('quadrant')?.textContent ?? '' };
  }));
}

const s = (v) => (v === null || v === undefined ? '' : String(v));

// Replies of the real server changed in flight (a case the demo's data do
// not have): rules [{match(url), edit(json, url)}].
async function withReplies(page, rules, fn) {
  const handler = async (route) => {
    const url = new URL(route.request().url());
    const rule = rules.find((r) => r.match(url));
    if (!rule) return route.fallback();
    const resp = await route.fetch();
    const out = rule.edit(await resp.json(), url);
    return route.fulfill({ status: resp.status(), contentType: 'application/json', body: JSON.stringify(out) });
  };
  await page.route('**/api/v1/**', handler);
  try {
    await fn();
  } finally {
    await page.unroute('**/api/v1/**', handler);
  }
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
  const dir = tmpDir('ks-drivers-');
  let srv = null;
  let browser = null;
  const problems = [];
  try {
    const db = makeDemo(bin, dir, Number(process.env.KS_DRIVERS_SCALE || 30));
    srv = await startServer(bin, db);
    const base = srv.base;
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);

    // ---- setup over the API --------------------------------------------------------------------
    const users = (await admin.call('GET', '/users?limit=500')).body;
    const list = users.items || users;
    const lead = list.find((u) => u.email === USERS.team_lead);
    const leadTeam = (await admin.call('GET', '/teams/' + lead.unit_id)).body;
    const teams = (await admin.call('GET', '/teams?limit=500')).body.items;
    const other = teams.find((x) => x.kind === 'team' && x.id !== lead.unit_id);
    const orgUnit = teams.find((x) => x.kind === 'organisation');
    const tps = (await admin.call('GET', '/touchpoints?limit=500')).body.items;
    const journeys = (await admin.call('GET', '/journeys?limit=500')).body.items;
    // a new team with three answers: under the disclosure minimum
    const small = await admin.call('POST', '/teams', { name: 'Drijfveren Klein Team', kind: 'team', parent_id: leadTeam.parent_id });
    eq(small.status, 201, 'setup: a new team beside the team lead\'s -> 201');
    const custs = (await admin.call('GET', '/customers?limit=5')).body.items;
    const iso = (ms) => new Date(ms - (ms % 1000)).toISOString().replace('.000Z', 'Z');
    let three = 0;
    for (let i = 0; i < 3; i++) {
      const r = await admin.call('POST', '/responses', {
        client_key: 'drivers-browser-small-' + i, customer_id: custs[i].id, team_id: small.body.id, touchpoint_id: tps[0].id,
        channel: 'phone', received_at: iso(Date.now() - (i + 2) * 86400e3),
        answers: { nps: 4 + i, drivers: { snelheid: 5 + i, vriendelijkheid: 7 } },
      });
      if (r.status === 201) three++;
    }
    eq(three, 3, 'setup: three answers with driver ratings in the new team -> 201');
    // a touchpoint whose answers have a model (three or more drivers rated together), for the page's figures
    let tp = null;
    for (const x of [...tps].sort((a, b) => a.id - b.id)) {
      const r = await admin.call('GET', '/drivers?outcome=nps&touchpoint_id=' + x.id);
      if (r.status === 200 && r.body.r2 && r.body.drivers.filter((d) => d.in_model).length >= 3 && r.body.top3.length > 0) { tp = x; break; }
    }
    ok(Boolean(tp), 'setup: a touchpoint with a driver model and a top three (' + (tp ? tp.name : 'none') + ')');

    browser = await launchBrowser();
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    page.on('console', (m) => {
      // a refused call (403) is logged by Chromium as a failed resource: expected where tested
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push('console: ' + m.text());
    });

    await loginUi(page, base, USERS.admin);
    let api = null;  // /drivers of the whole organisation, all time

    let whole = null;  // /drivers of the whole organisation, all time
    await group('whole organisation', async () => {
      await go(page, base, '#/drivers', 'drivers');
      eq(await page.textContent('main h1'), 'Wat bepaalt de score?', 'page: the heading in Dutch');
      ok(await page.isVisible('#nav-list a[data-nav="drivers"][aria-current="page"]'), 'page: "Drijfveren" in the menu, marked current');
      const r = await apiInPage(page, 'GET', '/drivers?outcome=nps');
      eq(r.status, 200, 'whole: GET /drivers?outcome=nps -> 200');
      whole = r.body;
      eq(await page.$eval('#kd-n', (d) => [d.dataset.value, d.textContent]), [String(whole.n), int(whole.n)], 'whole: n is the API\'s (' + whole.n + ')');
      const rows = await readTable(page);
      eq(rows.map((x) => [x.driver, x.n.value, x.mean.value ?? '', x.good.value ?? '', x.inModel]),
        whole.drivers.map((d) => [d.driver, s(d.n), s(d.mean), s(d.good_share), String(num(d.share?.value))]),
        'whole: per driver its ratings, mean and share of good ratings, and whether it is in the model, as the API has them');
      // the organisation's aspects come from two surveys: a model may not be possible, and then the page says so
      eq(Boolean(await page.$('#kd-model-error')), Boolean(whole.model_error), 'whole: "no model for this selection" shown exactly when the API has no model'
        + (whole.model_error ? ' (' + whole.model_error + ')' : ''));
      const outside = rows.map((x, i) => [x, whole.drivers[i]]).filter(([x]) => x.inModel === 'false');
      const WHY = {
        too_few_ratings: 'Niet in het model: minder dan ' + whole.min_n + ' beoordelingen in deze selectie',
        not_rated_with_other_drivers: 'Niet in het model: nooit samen met de andere aspecten beoordeeld (een andere vragenlijst)',
      };
      ok(outside.every(([x, d]) => x.share.text === (d.left_out ? WHY[d.left_out] || 'Niet in het model'
        : d.n < whole.min_n ? WHY.too_few_ratings : 'Niet in een model: voor deze selectie is geen model te schatten')),
      'whole: a driver outside the model is said so in words, with the reason (too few ratings, or no model for the slice)', outside.map(([x]) => x.share.text));
      await waitReady(page, '#kd-mot');
      await noJunk(page, 'whole');
      await shot(page, 'drivers-whole');
    });

    await group('page', async () => {
      if (!tp) throw new Error('no touchpoint with a model');
      await go(page, base, '#/drivers', 'drivers');
      await choose(page, '#kd-touchpoint', String(tp.id), 'touchpoint_id=' + tp.id);
      ok(page.url().includes('touchpoint_id=' + tp.id), 'page: the touchpoint chosen is in the address', page.url());
      const r = await apiInPage(page, 'GET', '/drivers?outcome=nps&touchpoint_id=' + tp.id);
      eq(r.status, 200, 'page: GET /drivers?outcome=nps&touchpoint_id -> 200');
      api = r.body;
      ok(api.suppressed === false && api.drivers.length >= 3, 'page: the slice has driver figures (' + api.drivers.map((d) => d.driver).join(', ') + ')', api);
      eq(await page.$eval('#kd-n', (d) => [d.dataset.value, d.textContent]), [String(api.n), int(api.n)], 'page: n is the API\'s (' + api.n + ')');
      const r2 = await page.$eval('#kd-r2', (d) => [d.dataset.value, d.dataset.lo, d.dataset.hi, d.textContent]);
      eq(r2.slice(0, 3), [s(api.r2.value), s(api.r2.lo), s(api.r2.hi)], 'page: R² and its interval are the API\'s');
      ok(r2[3].startsWith(dec(api.r2.value, 4)) && r2[3].includes(dec(api.r2.lo, 4) + ' \u2013 ' + dec(api.r2.hi, 4)),
        'page: R² written with the server\'s four decimals and its interval (' + dec(api.r2.value, 4) + ')', r2[3]);

      const rows = await readTable(page);
      eq(rows.map((x) => x.driver), api.drivers.map((d) => d.driver), 'table: one row per driver, in the API\'s order');
      eq(rows.map((x) => [x.n.value, x.mean.value ?? '', x.mean.n ?? '', x.good.value ?? '', x.share.value ?? '', x.share.lo ?? '', x.share.hi ?? '',
        x.rank.value ?? '', x.rank.lo ?? '', x.rank.hi ?? '']),
      api.drivers.map((d) => [s(d.n), s(d.mean), s(d.mean_n), s(d.good_share), s(d.share?.value), s(d.share?.lo), s(d.share?.hi),
        s(d.rank?.value), s(d.rank?.lo), s(d.rank?.hi)]),
      'table: n, mean (and the ratings it counts), share of good ratings, weight share with its interval and rank with its range are the API\'s');
      const inModel = api.drivers.filter((d) => num(d.share?.value));
      const texts = rows.filter((x) => x.inModel === 'true');
      ok(inModel.length === texts.length && inModel.every((d, i) => {
        const x = texts[i];
        return x.mean.text.startsWith(dec(d.mean, 2)) && x.good.text === pct(d.good_share)
          && x.share.text.startsWith(share(d.share.value)) && x.share.text.includes(share(d.share.lo) + ' \u2013 ' + share(d.share.hi))
          && x.rank.text.startsWith(String(d.rank.value)) && (!num(d.rank.lo) || x.rank.text.includes('(bereik ' + d.rank.lo + '–' + d.rank.hi + ')'));
      }), 'table: the figures as written (mean 2 decimals, good ratings in whole percents, share in percent with one decimal and its interval, rank with its range)',
      texts.map((x) => [x.mean.text, x.good.text, x.share.text, x.rank.text]));
      eq(rows.map((x) => x.matters), api.drivers.map((d) => String(num(d.share?.value) && d.shown_to_matter === true)),
        'table: "shown to matter" per driver is the API\'s');
      ok(texts.every((x, i) => (inModel[i].shown_to_matter ? x.mattersText.startsWith('Aantoonbaar van belang')
        : x.mattersText.startsWith('Niet aantoonbaar van belang') && x.mattersText.includes('bevat 0'))),
      'table: a driver not shown to matter is said so in words ("… het interval … bevat 0")', texts.map((x) => x.mattersText));
      eq(rows.map((x) => x.quadrant), api.drivers.map((d) => d.quadrant ?? ''), 'table: each driver\'s quadrant is the API\'s');
      ok(rows.every((x, i) => !api.drivers[i].quadrant || x.quadrantText.includes(Q_NL[api.drivers[i].quadrant])),
        'table: the quadrant in words (vasthouden / eerst verbeteren / onderhouden / minder dringend)', rows.map((x) => x.quadrantText));

      // the chart: every driver with a quadrant drawn inside that quadrant
      await page.waitForSelector('#kd-quadrant .chart[data-drawn="true"]', { timeout: 15000 });
      const chart = await page.$eval('#kd-quadrant .chart', (el) => ({ pts: JSON.parse(el.dataset.points), div: JSON.parse(el.dataset.dividers),
        label: el.getAttribute('aria-label'), text: [...el.querySelectorAll('text')].map((t) => t.textContent) }));
      const withQ = api.drivers.filter((d) => d.quadrant);
      eq(chart.pts.map((p) => [p[0], p[1]]).sort(), withQ.map((d) => [d.driver, d.quadrant]).sort(), 'chart: a point per driver with a quadrant, with the API\'s quadrant');
      eq(chart.pts.filter((p) => quadrantAt(p[2], p[3], chart.div[1]) !== p[1]).map((p) => p[0]), [],
        'chart: each point lies in the quadrant the API names (right = rated better than the organisation, up = share at or above the mean share)');
      const meanShare = inModel.reduce((a, d) => a + d.share.value, 0) / inModel.length;
      ok(Math.abs(chart.div[1] - meanShare) < 1e-9, 'chart: the horizontal line is the mean share of the model\'s drivers (' + meanShare + ')', chart.div);
      ok(Object.values(Q_NL).every((q) => chart.text.includes(q)), 'chart: the four quadrants are labelled', chart.text);
      ok(chart.label.includes('De cijfers staan in de tabel onder de grafiek'), 'chart: labelled in Dutch and pointing to the table', chart.label);
      ok(await page.$eval('#kd-method-note', (d) => /Johnson/.test(d.textContent) && /samenhang, geen oorzaak/.test(d.textContent)),
        'page: the method note names the method and says association, not cause');
      await waitReady(page, '#kd-mot');
      await noJunk(page, 'page');
      await shot(page, 'drivers-admin');
    });

    await group('top three and the action', async () => {
      const top = await page.$$eval('#kd-top3 ol.kd-top3 > li', (lis) => lis.map((li) => ({ driver: li.dataset.driver,
        gain: li.dataset.gain, lo: li.dataset.lo, hi: li.dataset.hi, text: li.querySelector('.kd-gain').textContent })));
      eq(top.map((x) => x.driver), api.top3, 'top three: the API\'s, in its order (' + api.top3.join(', ') + ')');
      const by = new Map(api.drivers.map((d) => [d.driver, d]));
      eq(top.map((x) => [x.gain, x.lo, x.hi]), api.top3.map((n) => [s(by.get(n).gain?.value), s(by.get(n).gain?.lo), s(by.get(n).gain?.hi)]),
        'top three: the expected NPS gain and its interval are the API\'s');
      ok(top.every((x) => {
        const g = by.get(x.driver).gain;
        return x.text.includes(signed(g.value, 1) + ' NPS-punten') && (!num(g.lo) || x.text.includes(signed(g.lo, 1) + ' \u2013 ' + signed(g.hi, 1)));
      }), 'top three: the gain written with its sign and one decimal, and its interval', top.map((x) => x.text));
      ok(api.top3.every((n) => by.get(n).shown_to_matter === true), 'top three: (API) only drivers shown to matter');
      if (!top.length) return;
      const first = api.top3[0];
      const li = `#kd-top3 li[data-driver="${first}"]`;
      await page.click(li + ' .kd-action-btn');
      await page.waitForSelector(li + ' .kd-action-msg[data-action-id]', { timeout: 15000 });
      const id = Number(await page.getAttribute(li + ' .kd-action-msg', 'data-action-id'));
      const a = await apiInPage(page, 'GET', '/actions/' + id);
      eq(a.status, 200, 'action: created, GET /actions/' + id + ' -> 200');
      ok(a.body.title.includes(first) && a.body.description.includes(first), 'action: title and description name the driver "' + first + '"', a.body);
      const g = by.get(first).gain;
      ok(a.body.description.includes(signed(g.value, 1)) && (!num(g.lo) || a.body.description.includes(signed(g.lo, 1) + ' \u2013 ' + signed(g.hi, 1))),
        'action: the description gives the expected gain and its interval', a.body.description);
      eq([a.body.status, a.body.owner_id, a.body.team_id, a.body.touchpoint_id], ['planned', (await apiInPage(page, 'GET', '/auth/me')).body.user.id, orgUnit.id, tp.id],
        'action: planned, owned by the one who made it, about the slice analysed (the organisation, the touchpoint)');
      const all = await apiInPage(page, 'GET', '/actions?limit=500');
      ok(all.body.items.some((x) => x.id === id && x.title === a.body.title), 'action: listed by GET /actions');
      eq(await page.$eval(li + ' .kd-action-btn', (b) => [b.disabled, b.dataset.created]), [true, 'true'], 'action: the button says it is done and is not pressed twice');
      await Promise.all([waitPage(page, 'actions'), page.click(li + ' a.kd-action-link')]);
      ok(await page.isVisible(`#action-board article[data-action-id="${id}"]`), 'action: the link opens the actions board with the new action on it');
      await shot(page, 'drivers-action');
    });

    await group('themes as drivers', async () => {
      await go(page, base, '#/drivers?touchpoint_id=' + tp.id, 'drivers');
      await page.evaluate(() => { delete document.querySelector('main').dataset.ready; });
      await page.check('#kd-themes');
      await page.waitForFunction(() => location.hash.includes('themes=1') && document.querySelector('main')?.dataset.ready === 'true');
      const r = await apiInPage(page, 'GET', '/drivers?outcome=nps&touchpoint_id=' + tp.id + '&themes=1');
      eq(r.status, 200, 'themes: GET /drivers?themes=1 -> 200');
      const themes = r.body.drivers.filter((d) => d.kind === 'theme');
      ok(themes.length > 0, 'themes: the API adds the open answers\' themes as drivers (' + themes.map((d) => d.driver).join(', ') + ')');
      const tax = await apiInPage(page, 'GET', '/text/taxonomy');
      const nl = Object.fromEntries((tax.body.taxonomy?.themes || []).map((x) => [x.id, x.label.nl]));
      const rows = await readTable(page);
      eq(rows.map((x) => [x.driver, x.n.value, x.mean.value ?? '', x.share.value ?? '', x.quadrant]),
        r.body.drivers.map((d) => [d.driver, s(d.n), s(d.mean), s(d.share?.value), d.quadrant ?? '']),
        'themes: every driver, aspects and themes, with the API\'s n, mean, share and quadrant');
      const shownThemes = rows.filter((x) => themes.some((d) => d.driver === x.driver));
      ok(shownThemes.every((x) => x.name === (nl[x.driver] || x.driver)), 'themes: a theme named by the taxonomy\'s Dutch label', shownThemes.map((x) => x.name));
      ok(shownThemes.every((x) => {
        const d = themes.find((y) => y.driver === x.driver);
        return !num(d.mean) || x.mean.text.startsWith(pct(d.mean));
      }), 'themes: a theme\'s level is the share of answers mentioning it, in percent', shownThemes.map((x) => x.mean.text));
      if (r.body.drivers.some((d) => d.quadrant)) {
        await page.waitForSelector('#kd-quadrant .chart[data-drawn="true"]', { timeout: 15000 });
        const chart = await page.$eval('#kd-quadrant .chart', (el) => ({ pts: JSON.parse(el.dataset.points), div: JSON.parse(el.dataset.dividers) }));
        eq(chart.pts.filter((p) => quadrantAt(p[2], p[3], chart.div[1]) !== p[1]).map((p) => p[0]), [],
          'themes: each point in the quadrant the API names (a theme that goes with lower scores is better to the right when mentioned less)');
      }
      await noJunk(page, 'themes');
      await shot(page, 'drivers-themes');
    });

    await group('grade', async () => {
      await go(page, base, '#/drivers?touchpoint_id=' + tp.id, 'drivers');
      await choose(page, '#kd-outcome', 'grade', 'outcome=grade');
      const r = await apiInPage(page, 'GET', '/drivers?outcome=grade&touchpoint_id=' + tp.id);
      eq(r.status, 200, 'grade: GET /drivers?outcome=grade -> 200');
      eq([await page.$eval('#kd-n', (d) => d.dataset.value), await page.$eval('#kd-r2', (d) => d.dataset.value)], [s(r.body.n), s(r.body.r2?.value)],
        'grade: n and R² of the grade model are the API\'s');
      eq((await readTable(page)).map((x) => [x.driver, x.share.value ?? '', x.quadrant]), r.body.drivers.map((d) => [d.driver, s(d.share?.value), d.quadrant ?? '']),
        'grade: shares and quadrants of the grade model');
      ok(r.body.drivers.every((d) => d.gain === null) && await page.isVisible('#kd-top3-nps-only'),
        'grade: no gain (NPS points only), and the top three says so');
    });

    await group('change', async () => {
      const y = orgYear();
      const prev = String(Number(y) - 1);
      await go(page, base, '#/drivers?period=' + y + '&touchpoint_id=' + tp.id, 'drivers');
      await choose(page, '#kd-compare', prev, 'compare=' + prev);
      ok(page.url().includes('compare=' + prev), 'change: the comparison is in the address', page.url());
      const r = await apiInPage(page, 'GET', '/drivers?outcome=nps&period=' + y + '&touchpoint_id=' + tp.id + '&compare=' + prev);
      eq(r.status, 200, 'change: GET /drivers?period&compare -> 200');
      const c = r.body.change;
      ok(c && !c.suppressed && c.drivers.length > 0, 'change: the API compares ' + y + ' with ' + prev, c);
      const rows = await page.$$eval('#kd-change-table tbody tr', (trs) => trs.map((tr) => ({ driver: tr.dataset.driver, verdict: tr.dataset.verdict,
        before: tr.querySelector('[data-col="before"]').dataset.value, after: tr.querySelector('[data-col="after"]').dataset.value,
        diff: tr.querySelector('[data-col="diff"]').dataset.value, text: tr.querySelector('[data-col="verdict"]').textContent })));
      eq(rows.map((x) => [x.driver, x.before, x.after, x.diff]), c.drivers.map((d) => [d.driver, s(d.weight_before), s(d.weight_after), s(d.diff.value)]),
        'change: per driver the weights before and after and their difference are the API\'s');
      eq(rows.map((x) => x.verdict), c.drivers.map((d) => d.verdict || 'none'), 'change: the verdict per driver is the API\'s');
      ok(rows.every((x) => x.verdict === 'none' || x.text.includes(VERDICT_NL[x.verdict])), 'change: rose / fell / no change said in words', rows.map((x) => x.text));
      eq(await page.$eval('#kd-compare', (e) => e.value), prev, 'change: the comparison period is chosen in the control');
      await shot(page, 'drivers-change');
    });

    let suggested = new Map();  // touchpoint id -> suggested, over every journey the API shows
    await group('moments of truth', async () => {
      await go(page, base, '#/drivers', 'drivers');
      await waitReady(page, '#kd-mot');
      // a journey the API shows (not suppressed): the first one with figures
      const replies = [];
      for (const j of journeys) replies.push([j, await apiInPage(page, 'GET', '/drivers/moments?journey_id=' + j.id)]);
      ok(replies.every(([, r]) => r.status === 200), 'moments: GET /drivers/moments per journey -> 200', replies.map(([j, r]) => [j.id, r.status]));
      for (const [, r] of replies) if (!r.body.suppressed) for (const x of r.body.touchpoints) suggested.set(String(x.touchpoint.id), x.moment_of_truth_suggested);
      const shown = replies.find(([, r]) => !r.body.suppressed && r.body.touchpoints.some((x) => num(x.share?.value)));
      ok(Boolean(shown), 'moments: the demo has a journey with figures', replies.map(([j, r]) => [j.name, r.body.suppressed, r.body.n_customers]));
      if (!shown) return;
      const [j, r] = shown;
      const m = r.body;
      await page.selectOption('#kd-mot-journey', String(j.id));
      await page.waitForFunction((id) => document.querySelector('#kd-mot')?.dataset.journey === id
        && document.querySelector('#kd-mot')?.dataset.ready === 'true', String(j.id));
      eq(await page.$eval('#kd-mot-n', (p) => p.dataset.value), String(m.n_customers), 'moments: the customers analysed are the API\'s (' + m.n_customers + ')');
      const rows = await page.$$eval('#kd-mot-table tbody tr', (trs) => trs.map((tr) => ({ tp: tr.dataset.touchpoint, set: tr.dataset.set,
        suggested: tr.dataset.suggested ?? null, outcome: tr.dataset.outcome ?? null, agreement: tr.dataset.agreement ?? null,
        share: tr.querySelector('[data-col="share"]')?.dataset.value ?? null, rank: tr.querySelector('[data-col="rank"]')?.dataset.value ?? null,
        matters: tr.dataset.matters ?? null, mattersText: tr.querySelector('[data-col="matters"]')?.textContent ?? null,
        setText: tr.querySelector('[data-col="set"]').textContent, sugText: tr.querySelector('[data-col="suggested"]').textContent,
        cmp: tr.querySelector('[data-col="compare"]')?.textContent ?? null })));
      const journeyTps = tps.filter((x) => x.journey_id === j.id).map((x) => String(x.id)).sort();
      eq(rows.map((x) => x.tp).sort(), journeyTps, 'moments: every touchpoint of "' + j.name + '" is listed (the last one as the outcome)');
      const drivers = rows.filter((x) => x.outcome !== 'true');
      eq(drivers.map((x) => [x.tp, x.set, x.suggested, x.share ?? '', x.rank ?? '']),
        m.touchpoints.map((x) => [String(x.touchpoint.id), String(x.moment_of_truth_set), String(x.moment_of_truth_suggested),
          num(x.share?.value) ? String(x.share.value) : '', num(x.share?.value) ? s(x.rank?.value) : '']),
        'moments: per touchpoint its weight share, rank, the hand flag and the data\'s suggestion are the API\'s');
      eq(drivers.map((x) => [x.matters, x.mattersText]), m.touchpoints.map((x) => (num(x.share?.value)
        ? [String(x.shown_to_matter), x.shown_to_matter ? 'Aantoonbaar van belang' : 'Niet aantoonbaar van belang: het interval tegenover ruis bevat 0']
        : ['false', null])), 'moments: whether each touchpoint is shown to matter, in words, as the API says');
      const end = rows.find((x) => x.outcome === 'true');
      eq(end && [end.tp, end.set], [String(m.outcome_touchpoint.id), String(m.outcome_touchpoint.moment_of_truth_set)],
        'moments: the journey\'s last touchpoint is the outcome, with its hand flag');
      const WORDS = { both: 'Beide', hand_only: 'Met de hand gezet, de gegevens stellen het niet voor',
        data_only: 'De gegevens stellen het voor, met de hand niet gezet', neither: 'Geen van beide' };
      ok(drivers.every((x, i) => {
        const t = m.touchpoints[i];
        const k = t.moment_of_truth_set ? (t.moment_of_truth_suggested ? 'both' : 'hand_only') : (t.moment_of_truth_suggested ? 'data_only' : 'neither');
        return x.cmp.startsWith(WORDS[k]) && x.setText.includes(t.moment_of_truth_set ? '\u2605' : 'nee')
          && x.sugText.includes(t.moment_of_truth_suggested ? '\u25c6' : 'nee');
      }), 'moments: both marks side by side and the difference said in words', drivers.map((x) => [x.setText, x.sugText, x.cmp]));
      ok(await page.$eval('#kd-mot .kd-mot-legend', (p) => p.textContent.includes('\u2605') && p.textContent.includes('\u25c6')),
        'moments: a legend explains both marks');
      await noJunk(page, 'moments');
      await shot(page, 'drivers-moments');
    });

    await group('heat map', async () => {
      await go(page, base, '#/org', 'org');
      await page.waitForSelector('#org-heat[data-mot-suggested="ready"]', { timeout: 60000 });
      const cells = await page.$$eval('#org-heat td.cell', (tds) => tds.map((td) => ({ tp: td.dataset.touchpoint, mot: td.dataset.mot,
        sug: td.dataset.motSuggested, mark: !td.querySelector('.cell-mot-sug').hidden,
        sr: td.querySelector('.cell-mot-sug .visually-hidden')?.textContent ?? '' })));
      const want = cells.map((c) => (suggested.has(c.tp) ? String(suggested.get(c.tp)) : ''));
      eq(cells.map((c) => c.sug), want, 'heat map: each touchpoint carries the API\'s suggestion (none for a journey\'s last touchpoint or a suppressed journey)');
      eq(cells.map((c) => c.mark), want.map((w) => w === 'true'), 'heat map: ◆ shows exactly on the suggested touchpoints');
      eq(cells.map((c) => c.mot), cells.map((c) => String(Boolean(tps.find((x) => String(x.id) === c.tp)?.moment_of_truth))),
        'heat map: the hand-set moments of truth stay marked as before');
      const legend = await page.$$eval('#org-heat .legend .mot-legend', (ss) => ss.filter((x) => !x.hidden).map((x) => x.textContent));
      ok(legend.length === 2 && legend[0].startsWith('\u2605') && legend[1].startsWith('\u25c6'),
        'heat map: the legend explains both marks in words', legend);
      await shot(page, 'drivers-heat');
    });

    // The demo suggests no moment of truth (no touchpoint is shown to matter):
    // a reply where the data suggest one, and disagree with the hand flag.
    await group('a suggestion', async () => {
      const flip = [];  // touchpoint ids made "suggested"
      await withReplies(page, [{ match: (u) => u.pathname === '/api/v1/drivers/moments', edit: (j) => {
        const x = (j.touchpoints || []).find((t) => !t.moment_of_truth_set);
        if (x) {
          x.moment_of_truth_suggested = true;
          x.shown_to_matter = true;
          flip.push(String(x.touchpoint.id));
        }
        return j;
      } }], async () => {
        await go(page, base, '#/org', 'org');
        await page.waitForSelector('#org-heat[data-mot-suggested="ready"]', { timeout: 60000 });
        const marked = await page.$$eval('#org-heat td.cell', (tds) => tds.filter((td) => !td.querySelector('.cell-mot-sug').hidden)
          .map((td) => [td.dataset.touchpoint, td.querySelector('.cell-mot-sug').textContent]));
        ok(flip.length > 0, 'a suggestion: replies with a suggested touchpoint (' + flip.join(', ') + ')');
        eq(marked.map((x) => x[0]).sort(), [...new Set(flip)].sort(), 'a suggestion: ◆ on the heat map exactly where the data suggest it');
        ok(marked.every((x) => x[1].startsWith('\u25c6') && x[1].includes('voorgesteld als moment van de waarheid')),
          'a suggestion: the mark said in words for screen readers too', marked);
        await go(page, base, '#/drivers', 'drivers');
        await waitReady(page, '#kd-mot');
        const row = await page.$$eval('#kd-mot-table tbody tr[data-suggested="true"]', (trs) => trs.map((tr) => [tr.dataset.agreement,
          tr.querySelector('[data-col="suggested"]').textContent, tr.querySelector('[data-col="compare"]').textContent]));
        ok(row.length === 1 && row[0][0] === 'data_only' && row[0][1].includes('\u25c6')
          && row[0][2] === 'De gegevens stellen het voor, met de hand niet gezet',
        'a suggestion: the moments view marks it and says the data suggest what the hand did not set', row);
      });
    });

    await group('suppressed', async () => {
      const r = await apiInPage(page, 'GET', '/drivers?outcome=nps&team_id=' + small.body.id);
      eq([r.status, r.body.suppressed, r.body.drivers?.length ?? 0, r.body.r2 ?? null], [200, true, 0, null],
        'suppressed: the API hides every driver figure of the new team (n = ' + r.body.n + ')');
      await go(page, base, '#/drivers?team_id=' + small.body.id, 'drivers');
      ok((await page.textContent('#kd-suppressed')).startsWith('Te weinig reacties in deze selectie'),
        'suppressed: the page says so in words', await page.textContent('#kd-suppressed'));
      eq([await page.$('#kd-table'), await page.$('#kd-r2'), await page.$('#kd-top3'), await page.$('#kd-quadrant .chart')], [null, null, null, null],
        'suppressed: no table, no R², no top three, no chart');
      const t3 = await apiInPage(page, 'GET', '/drivers/top3?team_id=' + small.body.id);
      eq([t3.status, t3.body.suppressed, t3.body.top3.length], [200, true, 0], 'suppressed: /drivers/top3 of the new team is suppressed too');
      await go(page, base, '#/team/' + small.body.id, 'team');
      await page.waitForSelector('#team-top3', { timeout: 30000 });
      eq(await page.getAttribute('#team-top3', 'data-suppressed'), 'true', 'suppressed: the team page\'s top three says so');
      eq(await page.$$eval('#team-top3 li', (lis) => lis.length), 0, 'suppressed: and lists nothing');
      await shot(page, 'drivers-suppressed');
    });

    await group('english', async () => {
      await go(page, base, '#/drivers?touchpoint_id=' + tp.id, 'drivers');
      await page.click('.lang-btn[data-lang="en"]');
      await waitPage(page, 'drivers');
      eq(await page.textContent('main h1'), 'What drives the score?', 'english: the heading');
      const rows = await readTable(page);
      ok(rows.every((x) => !EN_NAME[x.driver] || x.name === EN_NAME[x.driver]), 'english: the demo\'s aspects named in English', rows.map((x) => x.name));
      ok(rows.every((x) => !x.quadrant || x.quadrantText.includes(Q_EN[x.quadrant])), 'english: the quadrants in English', rows.map((x) => x.quadrantText));
      const inModel = api.drivers.filter((d) => num(d.share?.value));
      ok(rows.filter((x) => x.inModel === 'true').every((x, i) => x.share.text.startsWith(share(inModel[i].share.value, 'en-GB'))),
        'english: shares with a decimal point');
      await page.click('.lang-btn[data-lang="nl"]');
      await waitPage(page, 'drivers');
    });

    // ---- the team lead: their own unit only --------------------------------------------------
    await resetContext(browser.context);
    await loginUi(page, base, USERS.team_lead);
    await group('team lead', async () => {
      await go(page, base, '#/drivers?touchpoint_id=' + tp.id, 'drivers');
      ok(await page.isVisible('#nav-list a[data-nav="drivers"]'), 'team lead: "Drijfveren" in the menu');
      ok(!(await page.$('#kd-team')), 'team lead: no choice of unit');
      eq(await page.textContent('#kd-scope'), 'Je ziet de reacties van je eigen team.', 'team lead: the page says whose answers these are');
      const mine = await apiInPage(page, 'GET', '/drivers?outcome=nps&touchpoint_id=' + tp.id);
      const own = await apiInPage(page, 'GET', '/drivers?outcome=nps&touchpoint_id=' + tp.id + '&team_id=' + lead.unit_id);
      eq([mine.status, own.status], [200, 200], 'team lead: /drivers and /drivers?team_id=own -> 200');
      eq(mine.body.n, own.body.n, 'team lead: the default slice is their own team (' + mine.body.n + ' answers)');
      ok(mine.body.n < api.n, 'team lead: fewer answers than the organisation\'s on that touchpoint (' + mine.body.n + ' < ' + api.n + ')');
      eq(await page.$eval('#kd-n', (d) => d.dataset.value), String(mine.body.n), 'team lead: the page shows their team\'s n');
      const rows = await readTable(page);
      eq(rows.map((x) => [x.driver, x.n.value, x.share.value ?? '']), mine.body.drivers.map((d) => [d.driver, s(d.n), s(d.share?.value)]),
        'team lead: per driver the figures of their team');
      if (mine.body.top3.length) {
        const first = mine.body.top3[0];
        await page.click(`#kd-top3 li[data-driver="${first}"] .kd-action-btn`);
        await page.waitForSelector(`#kd-top3 li[data-driver="${first}"] .kd-action-msg[data-action-id]`, { timeout: 15000 });
        const id = await page.getAttribute(`#kd-top3 li[data-driver="${first}"] .kd-action-msg`, 'data-action-id');
        const a = await apiInPage(page, 'GET', '/actions/' + id);
        eq([a.status, a.body.team_id, a.body.touchpoint_id], [200, lead.unit_id, tp.id], 'team lead: "Maak hier een actie van" makes an action of their team on the touchpoint');
        ok(a.body.title.includes(first), 'team lead: the action names the driver "' + first + '"', a.body.title);
      }
      const refused = await apiInPage(page, 'GET', '/drivers?outcome=nps&team_id=' + other.id);
      eq(refused.status, 403, 'team lead: another team\'s drivers -> 403');
      await go(page, base, '#/drivers?team_id=' + other.id, 'drivers');
      ok(await page.isVisible('#kd-error [data-status="403"]'), 'team lead: the page says "not allowed" for another team');
      ok(!(await page.$('#kd-table')), 'team lead: and shows no figures of it');
      await shot(page, 'drivers-team-lead');

      // the team page: the team's top three, with the action button
      await go(page, base, '#/team', 'team');
      await page.waitForSelector('#team-top3', { timeout: 60000 });
      const t3 = await apiInPage(page, 'GET', '/drivers/top3?team_id=' + lead.unit_id);
      eq(t3.status, 200, 'team page: GET /drivers/top3?team_id=own -> 200');
      const got = await page.$$eval('#team-top3 ol.kd-top3 > li', (lis) => lis.map((li) => [li.dataset.driver, li.dataset.gain,
        Boolean(li.querySelector('.kd-action-btn'))]));
      eq(got.map((x) => [x[0], x[1]]), (t3.body.top3 || []).map((x) => [x.driver, s(x.gain?.value)]),
        'team page: the team\'s top three with their expected gain, from the API (' + (t3.body.top3 || []).map((x) => x.driver).join(', ') + ')');
      ok(t3.body.suppressed || got.length === 0 || got.every((x) => x[2]), 'team page: each with "Maak hier een actie van"');
      if (!got.length) {
        // no top three: the panel says why (no model for the unit, or nothing to gain)
        ok(await page.isVisible(t3.body.model_error ? '#team-top3-model-error' : '#team-top3-none'), 'team page: an empty top three says why', t3.body);
      }
      ok(t3.body.suppressed || got.length > 0, 'team page: the demo team has a top three', t3.body);
      eq(await page.getAttribute('#team-top3 a.kd-more', 'href'), '#/drivers?team_id=' + lead.unit_id, 'team page: a link to the team\'s whole analysis');
      if (got.length) {
        await page.click('#team-top3 li:first-child .kd-action-btn');
        await page.waitForSelector('#team-top3 li:first-child .kd-action-msg[data-action-id]', { timeout: 15000 });
        const id = await page.getAttribute('#team-top3 li:first-child .kd-action-msg', 'data-action-id');
        const a = await apiInPage(page, 'GET', '/actions/' + id);
        eq([a.status, a.body.team_id], [200, lead.unit_id], 'team page: the action is the team\'s');
        ok(a.body.title.includes(got[0][0]), 'team page: its title names the driver', a.body.title);
      }
      await shot(page, 'drivers-team-page');
    });

    await group('phone', async () => {
      await page.setViewportSize({ width: 320, height: 740 });
      await go(page, base, '#/drivers', 'drivers');
      await page.waitForSelector('#kd-quadrant .chart[data-drawn="true"]', { timeout: 15000 }).catch(() => {});
      await waitReady(page, '#kd-mot').catch(() => {});
      const sw = await page.evaluate(() => document.scrollingElement.scrollWidth);
      ok(sw <= 320, 'phone: the drivers page is not wider than 320 px (' + sw + ')');
      await shot(page, 'drivers-phone');
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.employee);
    await group('employee', async () => {
      ok(!(await page.$('#nav-list a[data-nav="drivers"]')), 'employee: no "Drijfveren" in the menu');
      await go(page, base, '#/team', 'team');
      ok(!(await page.$('#team-top3 .kd-action-btn')), 'employee: no action button on the team page');
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
