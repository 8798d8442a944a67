#!/usr/bin/env node
// relationship.mjs — browser tests of relationship surveys (issue 16 H6,
// pages/relationship.js): an admin creates a wave in the form, draws and
// sends it with the page's buttons; after answers (posted through the API
// for the wave's contacts) the report shows the wave's NPS beside the
// contact-driven NPS, the gap in words with its interval, and the
// representativeness table with one row per segment, all as the API gives
// them; a director reads without buttons or form; a team lead is sent away —
// against the real server on a fresh demo database.
//
//   KS_BIN=build/asan/klantstem node tests/browser/relationship.mjs

import fs from 'node:fs';
import path from 'node:path';
import {
  REPO, USERS, resetContext, loginUi, apiInPage, tap, shot, go, goRefused, ApiClient, withDemoServer,
} from './lib.mjs';

const { ok, eq, group, run } = tap('relationship survey browser tests');

const AXE = fs.readFileSync(path.join(REPO, 'tests', 'browser', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// axe-core's serious and critical findings on the page, and whether it is
// wider than the phone (tables may scroll inside their .table-wrap), as
// tests/browser/a11y.mjs checks every other page.
async function phoneCheck(page, label) {
  await page.evaluate(AXE);
  const v = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .filter((x) => x.impact === 'serious' || x.impact === 'critical')
    .map((x) => x.id + ' ' + x.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')));
  eq(v, [], label + ': no serious or critical axe-core finding');
  const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > 361 && !el.closest('.table-wrap, .mainnav'))
    .slice(0, 4).map((el) => el.tagName + (el.id ? '#' + el.id : '')));
  eq(wide, [], label + ': nothing wider than a 360 px phone (tables scroll in place)');
}

// The page's number formats, worked out here: nl, one decimal, sign, U+2212.
function nps(v) {
  const text = new Intl.NumberFormat('nl-NL', { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(Math.abs(v));
  if (!/[1-9]/.test(text)) return text;
  return (v < 0 ? '\u2212' : '+') + text;
}

async function main() {
  // a test clock at the real now (the demo's answers lie before it), moved
  // a day on after the wave's answers: figures count up to the start of today
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  await withDemoServer('ks-relationship-', ok, async ({ bin, dir, db, srv, base, browser, problems }) => {
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);
    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    page.on('dialog', (d) => d.accept());
    await loginUi(page, base, USERS.admin);
    let waveId = 0;

    await group('create, draw, send', async () => {
      await go(page, base, '#/relationship', 'relationship');
      ok(await page.isVisible('nav a[href="#/relationship"]'), 'admin: the menu has Relatieonderzoek');
      // the quarterly schedule: off; switching it on without a survey is refused, naming the field
      eq(await page.getAttribute('#rel-sched-state', 'data-enabled'), 'false', 'the schedule is off at first');
      await page.check('#rel-sched-enabled');
      await page.fill('#rel-schedule input[name="day_of_month"]', '15');
      await page.click('#rel-schedule button[type="submit"]');
      await page.waitForFunction(() => document.querySelector('#rel-schedule .form-msg')?.textContent);
      const msg = await page.textContent('#rel-schedule .form-msg');
      ok(/vragenlijst|survey/i.test(msg), 'on without a survey: the form shows the refusal naming the survey', msg);
      const sched = (await admin.call('GET', '/relationship/schedule')).body;
      eq([sched.enabled, sched.day_of_month], [false, 1], 'nothing was saved');
      await page.uncheck('#rel-sched-enabled');
      // the page is drawn again after the save: wait for a new form (the old
      // one already shows 15, typed in above, before the PUT has landed)
      await page.evaluate(() => { document.querySelector('#rel-schedule').dataset.old = 'yes'; });
      await Promise.all([
        page.waitForFunction(() => document.querySelector('main')?.dataset.ready === 'true'
          && document.querySelector('#rel-schedule')?.dataset.old !== 'yes'
          && document.querySelector('#rel-schedule input[name="day_of_month"]')?.value === '15'),
        page.click('#rel-schedule button[type="submit"]'),
      ]);
      eq((await admin.call('GET', '/relationship/schedule')).body.day_of_month, 15, 'saved off with day 15 (read back)');
      await page.waitForSelector('#rel-create');
      await page.fill('#rel-create input[name="name"]', 'Browser Q');
      await page.fill('#rel-create input[name="sample_size"]', '150');
      await page.fill('#rel-create input[name="min_per_stratum"]', '6');
      await Promise.all([
        page.waitForFunction(() => /^#\/relationship\/\d+$/.test(location.hash)
          && document.querySelector('#rel-facts') && document.querySelector('main')?.dataset.ready === 'true'),
        page.click('#rel-create button[type="submit"]'),
      ]);
      waveId = Number((await page.evaluate(() => location.hash)).split('/').pop());
      const w = (await admin.call('GET', '/relationship/waves/' + waveId)).body;
      eq([w.name, w.sample_size, w.min_per_stratum, w.status], ['Browser Q', 150, 6, 'draft'], 'the form made the draft wave');
      eq(await page.textContent('#rel-facts dd[data-key="rel.status"]'), 'Concept', 'the page says Concept');
      ok(await page.isVisible('#rel-no-report'), 'a draft: no report yet, and the page says why');
      await Promise.all([
        page.waitForFunction(() => document.querySelector('#rel-facts dd[data-key="rel.status"]')?.textContent === 'Getrokken'),
        page.click('#rel-draw'),
      ]);
      const d = (await admin.call('GET', '/relationship/waves/' + waveId)).body;
      eq(d.status, 'drawn', 'the button drew the sample');
      eq(await page.textContent('#rel-facts dd[data-key="rel.seed"]'), d.seed, 'the seed is shown (the draw can be re-checked)');
      await page.waitForSelector('#rel-report');
      await Promise.all([
        page.waitForFunction(() => document.querySelector('#rel-facts dd[data-key="rel.status"]')?.textContent === 'Verstuurd'),
        page.click('#rel-send'),
      ]);
      const s = (await admin.call('GET', '/relationship/waves/' + waveId)).body;
      eq(s.status, 'sent', 'the button sent the wave');
      ok(s.invited > 0 && s.invited === s.selected, 'every selected customer is invited (' + s.invited + ')');
      await page.waitForSelector('#rel-gap');
      eq(await page.getAttribute('#rel-gap', 'data-verdict'), 'insufficient_data', 'no answers yet: the gap is not given');
    });

    await group('the report', async () => {
      // answers for every invited customer of the wave: promoters in one
      // half, detractors in the other, so the weighted and contact figures differ
      const w = (await admin.call('GET', '/relationship/waves/' + waveId)).body;
      const inv = (await admin.call('GET', '/invitations?limit=500&touchpoint_id=' + w.touchpoint_id)).body.items;
      // issue 16 H8: the customers of the smallest segment give no answer, so
      // the weighted NPS leaves that stratum out and the page says which
      const segOf = {};
      for (const x of inv) segOf[x.customer_id] = (await admin.call('GET', '/customers/' + x.customer_id)).body.segment || '';
      const per = {};
      for (const v of Object.values(segOf)) per[v] = (per[v] || 0) + 1;
      const silent = Object.keys(per).sort((a, b) => per[a] - per[b] || a.localeCompare(b))[0];
      let i = 0, answered = 0;
      for (const x of inv) {
        if (segOf[x.customer_id] === silent) continue;
        const r = await admin.call('POST', '/responses', { client_key: 'rel-' + x.contact_id, contact_id: x.contact_id,
          answers: { nps: i++ % 3 === 0 ? 4 : 10 } });
        if (r.status !== 201) throw new Error('response: ' + r.status + ' ' + JSON.stringify(r.body));
        answered++;
      }
      const today = (await admin.call('GET', '/relationship/waves/' + waveId + '/report')).body;
      eq(today.relationship.unweighted.n, 0, 'answers of today are not in the figures yet');
      const next = new Date(now.getTime() + 86400000).toISOString().replace('.000Z', 'Z');
      const c = await admin.call('POST', '/admin/clock', { now: next });
      if (c.status !== 200) throw new Error('clock: ' + c.status + ' ' + JSON.stringify(c.body));
      await admin.login(USERS.admin);  // the sessions of yesterday have expired
      await resetContext(browser.context);
      await loginUi(page, base, USERS.admin);
      const rep = (await admin.call('GET', '/relationship/waves/' + waveId + '/report')).body;
      ok(rep.relationship.unweighted.n === answered, 'fixture: the next day ' + answered + ' answers in the report');
      await go(page, base, '#/relationship/' + waveId, 'relationship');
      await page.waitForSelector('#rel-report');
      await shot(page, 'relationship-report');
      const weighted = rep.relationship.weighted;
      const gapBasis = weighted ? 'weighted' : 'unweighted';
      const gap = rep.gap[gapBasis];
      ok(gap.verdict !== 'insufficient_data', 'fixture: the API gives a gap (' + gap.verdict + ')', rep.gap);
      if (weighted) {
        ok((await page.textContent('#rel-nps-weighted')).startsWith(nps(weighted.value)), 'the weighted NPS is shown as the API gives it',
          [await page.textContent('#rel-nps-weighted'), weighted]);
      }
      const left = rep.relationship.weighted_left_out;
      ok(weighted && rep.relationship.weighted_note === 'strata_without_answers' && left.includes(silent),
        'fixture: the API leaves the silent segment out of the weighted NPS', [rep.relationship.weighted_note, left, silent]);
      const sub = await page.$eval('#rel-nps-weighted', (el) => el.closest('.kpi').querySelector('.kpi-n').textContent);
      eq(sub, 'Zonder ' + left.map((x) => x === '' ? '(geen segment)' : x).join(', ')
        + ': daar kwam geen antwoord, de andere segmenten wegen naar verhouding zwaarder.',
      'the weighted NPS says which segments were left out (' + left.join(', ') + ')');
      const cd = rep.contact_driven.nps;
      ok((await page.textContent('#rel-nps-contact')).startsWith(nps(cd.value)), 'the contact-driven NPS is shown beside it',
        [await page.textContent('#rel-nps-contact'), cd]);
      const gapText = await page.textContent('#rel-gap');
      eq(await page.getAttribute('#rel-gap', 'data-verdict'), gap.verdict, 'the gap\'s verdict is the API\'s');
      eq(await page.getAttribute('#rel-gap', 'data-basis'), gapBasis, 'the gap is taken from the ' + gapBasis + ' figure');
      const words = { relationship_higher: 'hoger', relationship_lower: 'lager', within_noise: 'toeval' }[gap.verdict];
      const pts = new Intl.NumberFormat('nl-NL', { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(Math.abs(gap.value));
      ok(gapText.includes(words) && gapText.includes(pts + ' punten') && gapText.includes(nps(gap.low)) && gapText.includes(nps(gap.high)),
        'the gap in words: ' + gapText.trim());
      const rows = await page.$$eval('#rel-repr tbody tr', (trs) => trs.map((tr) => tr.dataset.stratum));
      eq(rows, rep.strata.map((s) => s.stratum), 'one row per segment of the customer base, in the API\'s order');
      const flags = await page.$$eval('#rel-repr tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('[data-flag]')]
        .map((x) => x.dataset.flag)));
      const want = rep.strata.map((s) => [s.flag, s.contact_flag].filter((f) => f === 'under_represented' || f === 'over_represented'));
      eq(flags, want, 'the table marks exactly the strata the API flags under- or over-represented (' + JSON.stringify(want) + ')');
      const base0 = await page.$eval('#rel-repr tbody tr td', (td) => td.textContent);
      const share = new Intl.NumberFormat('nl-NL', { style: 'percent', maximumFractionDigits: 0 }).format(rep.strata[0].base_share);
      ok(base0.includes(share), 'the base share of the first segment (' + share + ')', base0);
    });

    await group('on a phone', async () => {
      await page.setViewportSize({ width: 360, height: 740 });
      await go(page, base, '#/relationship', 'relationship');
      await phoneCheck(page, 'the list and the form');
      await go(page, base, '#/relationship/' + waveId, 'relationship');
      await page.waitForSelector('#rel-report');
      await phoneCheck(page, 'the report');
      await shot(page, 'relationship-phone');
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.director);
    await group('director', async () => {
      await go(page, base, '#/relationship', 'relationship');
      ok(await page.isVisible('#rel-waves'), 'director: the list of waves');
      ok(!(await page.$('#rel-create')), 'director: no form to make a wave');
      ok(await page.isVisible('#rel-sched-state') && !(await page.$('#rel-schedule')), 'director: where the schedule stands, no form');
      await go(page, base, '#/relationship/' + waveId, 'relationship');
      await page.waitForSelector('#rel-report');
      ok(!(await page.$('#rel-actions')), 'director: no draw/send/close buttons');
      const r = await apiInPage(page, 'POST', '/relationship/waves', { body: { name: 'x', survey_id: 1, sample_size: 5 } });
      eq(r.status, 403, 'director: POST /relationship/waves -> 403');
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.team_lead);
    await group('team lead', async () => {
      ok(!(await page.$('nav a[href="#/relationship"]')), 'team lead: no menu item');
      eq(await goRefused(page, base, '#/relationship/' + waveId), 'team', 'team lead: sent home');
    });
    eq(problems, [], 'no script errors in the pages');
  }, { serverOptions: { args: ['--test-clock', now.toISOString().replace('.000Z', 'Z')] } });
}

run(main);
