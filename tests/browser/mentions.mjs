#!/usr/bin/env node
// mentions.mjs — browser tests of reviews and posts in the views (issue 16
// H3: web/js/pages/mentions.js, the verbatim explorer's source filter, the
// team page's mentions panel) against the real server on a small demo
// database with mentions posted through the API:
//
//   KS_BIN=build/asan/klantstem node tests/browser/mentions.mjs
//
// As admin on #/mentions: the never-an-NPS note and no "NPS" in any header;
// the per-source and per-month tables are GET /mentions/summary's numbers
// as printed here (one decimal with a comma, whole percents, "Te weinig"
// under min n); the list is GET /mentions's, each item with its rating in
// its own scale ("4 van 5", Kiyoh's "8 van 10") and normalised ("7,5 op
// 10"), author, link; the source filter; a reply saved as a draft and then
// recorded (read back through the API). The explorer: "Enquêtes en reviews
// samen" lists GET /verbatims?source=all in its order with each item's
// source; one source lists only that source. The team lead's team page
// shows the unit's mentions with their own measures beside the survey NPS
// (the API's summary for the unit), and #/mentions only their unit's. The
// employee has no "Reviews" and #/mentions sends them home.

import fs from 'node:fs';
import {
  USERS, resetContext, loginUi, tap, shot, go, apiInPage, ApiClient, withDemoServer, goRefused,
} from './lib.mjs';

const { ok, eq, group, run } = tap('mentions browser tests');

const nl1 = (x) => x.toFixed(1).replace('.', ',');  // one decimal, Dutch comma (values are already rounded by the API)
const pct = (x) => new Intl.NumberFormat('nl-NL', { style: 'percent', maximumFractionDigits: 0 }).format(x);

// The mentions of the test: 6 google (1..5 stars) at Utrecht, 5 trustpilot at
// Amsterdam, 2 kiyoh (1..10), one post without a rating; two months.
function batch(teamLoc) {
  const out = [];
  const g = [5, 4, 4, 2, 5, 3];
  g.forEach((r, i) => out.push({ source: 'google', source_id: 'g' + i, created_at: `2026-0${i < 3 ? 3 : 4}-1${i}T10:00:00Z`,
    rating: String(r), author: 'Klant G' + i, location: teamLoc, language: 'nl', url: 'https://maps.example.com/r/g' + i,
    text: ['Heel vriendelijk geholpen', 'Snel en goed', 'Prima service', 'Lang moeten wachten', 'Top monteur', 'Redelijk'][i] }));
  [1, 2, 5, 4, 1].forEach((r, i) => out.push({ source: 'trustpilot', source_id: 't' + i, created_at: `2026-04-0${i + 1}T09:00:00Z`,
    rating: String(r), title: 'Review ' + i, text: 'Ervaring nummer ' + i, location: 'Amsterdam', language: 'nl' }));
  out.push({ source: 'kiyoh', source_id: 'k1', created_at: '2026-03-20T08:00:00Z', rating: '8', scale_min: '1', scale_max: '10',
    text: 'Goede afhandeling', location: teamLoc, language: 'nl' });
  out.push({ source: 'kiyoh', source_id: 'k2', created_at: '2026-04-20T08:00:00Z', rating: '6', scale_min: '1', scale_max: '10',
    text: 'Kon beter', language: 'nl' });
  out.push({ source: 'social', source_id: 's1', created_at: '2026-04-25T08:00:00Z', author: '@klant', text: 'Weer storing vandaag' });
  return out;
}

async function tableRows(page, sel) {
  return page.$$eval(sel + ' tbody tr', (trs) => trs.map((tr) => ({ key: tr.dataset.key,
    cells: [...tr.querySelectorAll('th, td')].map((c) => c.textContent.trim()) })));
}

function expectRows(sum, keyText) {
  return sum.groups.map((g) => ({ key: String(g.key), cells: [keyText(g), String(g.n),
    g.rating10 ? nl1(g.rating10.mean) + (g.rating10.low === null ? '' : ' (' + nl1(g.rating10.low) + '–' + nl1(g.rating10.high) + ')') : 'Te weinig',
    g.share_4_5 ? pct(g.share_4_5.p) + ' (' + pct(g.share_4_5.low) + '–' + pct(g.share_4_5.high) + ')' : 'Te weinig',
    g.sentiment ? ['positive', 'neutral', 'negative'].map((k) => ({ positive: 'Positief', neutral: 'Neutraal', negative: 'Negatief' })[k] + ' ' + pct(g.sentiment[k])).join(' · ') : 'Te weinig'] }));
}

async function main() {
  await withDemoServer('ks-mentions-', ok, async ({ bin, dir, db, srv, base, browser, problems }) => {
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);
    const lead = new ApiClient(base);
    await lead.login(USERS.team_lead);
    const unit = lead.user.unit_id;
    let r = await admin.call('POST', '/mentions', batch('Utrecht'));
    ok(r.status === 200 && r.body.inserted === 14, 'fixture: 14 mentions posted', r);
    r = await admin.call('PUT', '/mention-locations', { location: 'Utrecht', unit_id: unit });
    ok(r.status === 200 && r.body.relinked === 7, 'fixture: Utrecht mapped to the team lead\'s team (7 mentions)', r);

    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    await loginUi(page, base, USERS.admin);

    await group('mentions page', async () => {
      await go(page, base, '#/mentions', 'mentions');
      await page.waitForSelector('#mn-by-source');
      ok((await page.textContent('#mn-never-nps')).includes('Nooit een NPS'), 'the page says: never an NPS');
      const heads = await page.$$eval('#mn-summaries th[scope="col"]', (l) => l.map((x) => x.textContent));
      ok(heads.length > 0 && heads.every((x) => !/NPS/.test(x)), 'no table header names an NPS', heads);
      const bySource = (await admin.call('GET', '/mentions/summary?group_by=source')).body;
      eq(await tableRows(page, '#mn-by-source'), expectRows(bySource, (g) => g.label ?? String(g.key)),
        'per source: the API\'s n, average rating with interval, share 4–5 stars, sentiment (or "Te weinig")');
      ok(bySource.groups.some((g) => g.rating10) && bySource.groups.some((g) => !g.rating10),
        'fixture: one source shows its measures, another is under min n', bySource.groups.map((g) => [g.key, g.n]));
      const byMonth = (await admin.call('GET', '/mentions/summary?group_by=month')).body;
      const monthName = (k) => new Intl.DateTimeFormat('nl-NL', { month: 'short', year: 'numeric', timeZone: 'UTC' })
        .format(new Date(k + '-15T12:00:00Z'));
      const rows = await tableRows(page, '#mn-by-month');
      eq(rows.map((x) => x.key), byMonth.groups.map((g) => String(g.key)), 'per month: the API\'s months');
      eq(rows.map((x) => x.cells.slice(1)), expectRows(byMonth, () => '').map((x) => x.cells.slice(1)), 'per month: the API\'s measures');
      eq(rows.map((x) => x.cells[0]), rows.map((x) => monthName(x.key)), 'months in words');
      const list = (await admin.call('GET', '/mentions?limit=20')).body;
      const items = await page.$$eval('#mn-list > li', (l) => l.map((li) => ({ id: Number(li.dataset.mentionId), source: li.dataset.source,
        own: li.querySelector('.rating-own')?.textContent ?? null, norm: li.querySelector('.rating-norm')?.textContent ?? null,
        author: li.querySelector('.mention-author')?.textContent ?? null, link: li.querySelector('a.mention-link')?.getAttribute('href') ?? null })));
      eq(items.map((x) => x.id), list.items.map((x) => x.id), 'the list is GET /mentions\'s, newest first (' + items.length + ')');
      eq(await page.getAttribute('#mn-count', 'data-total'), String(list.total), 'the count says the total');
      const want = list.items.map((m) => ({ id: m.id, source: m.source,
        own: m.rating === null ? null : `${m.rating} van ${m.scale_max}`,
        norm: m.rating === null ? null : `(${nl1(m.rating10)} op 10)`, author: m.author, link: m.url }));
      eq(items, want, 'each item: its rating in its own scale and on 0–10, author and link');
      ok(await page.$$eval('#mn-list > li', (l) => l.every((li) => !/\bnull\b|undefined/.test(li.textContent))),
        'no item prints "null" or "undefined"');
      ok(items.some((x) => x.own === '8 van 10') && items.some((x) => x.own === '4 van 5' && x.norm === '(7,5 op 10)'),
        'a Kiyoh 8 of 10 and a 4-star review as the test worked out');
      await shot(page, 'mentions-admin');
    });

    await group('source filter', async () => {
      await page.selectOption('#mn-source', 'kiyoh');
      await Promise.all([page.waitForFunction(() => {
        const l = [...document.querySelectorAll('#mn-list > li')];
        return l.length > 0 && l.every((li) => li.dataset.source === 'kiyoh');
      }),
        page.click('#mn-form button[type="submit"]')]);
      const want = (await admin.call('GET', '/mentions?source=kiyoh&limit=20')).body.items.map((x) => x.id);
      await page.waitForFunction((n) => document.querySelectorAll('#mn-list > li').length === n, want.length);
      eq(await page.$$eval('#mn-list > li', (l) => l.map((li) => Number(li.dataset.mentionId))), want, 'source=kiyoh: the API\'s kiyoh mentions');
      ok(page.url().includes('source=kiyoh'), 'the filter is in the address', page.url());
    });

    await group('reply', async () => {
      const m = (await admin.call('GET', '/mentions?source=kiyoh&limit=1')).body.items[0];
      const li = `#mn-list > li[data-mention-id="${m.id}"]`;
      await page.click(li + ' details.mention-reply > summary');
      await page.click(li + ` button[data-record="${m.id}"]`);  // nothing written yet
      await page.waitForFunction((s) => /Schrijf eerst/.test(document.querySelector(s + ' .mention-reply p[role]')?.textContent || ''), li);
      eq((await admin.call('GET', '/mentions/' + m.id)).body.reply.text, null, 'an empty reply is not recorded');
      await page.fill(li + ' textarea[name="reply"]', 'Dank voor uw review!');
      await page.click(li + ` button[data-draft="${m.id}"]`);
      await page.waitForFunction((s) => /bewaard/.test(document.querySelector(s + ' .mention-reply p[role]')?.textContent || ''), li);
      let back = (await admin.call('GET', '/mentions/' + m.id)).body.reply;
      eq([back.draft, back.text], ['Dank voor uw review!', null], 'a draft is kept (API)');
      await page.click(li + ` button[data-record="${m.id}"]`);
      await page.waitForSelector(li + ' .mention-replied');
      back = (await admin.call('GET', '/mentions/' + m.id)).body.reply;
      ok(back.text === 'Dank voor uw review!' && back.draft === null && typeof back.at === 'string',
        'recorded as posted: text and time, the draft cleared (API)', back);
      ok((await page.textContent(li + ' .mention-replied blockquote')) === 'Dank voor uw review!', 'the page shows the posted reply');
    });

    await group('verbatim explorer', async () => {
      await go(page, base, '#/verbatims?source=all', 'verbatims');
      await page.waitForSelector('#verbatim-list > li');
      eq(await page.inputValue('#verbatim-source'), 'all', 'the source choice follows the address');
      const api = (await admin.call('GET', '/verbatims?source=all&limit=25')).body.items;
      const shown = await page.$$eval('#verbatim-list > li', (l) => l.map((li) => [li.dataset.source, Number(li.dataset.responseId || 0) || null,
        Number(li.dataset.mentionId || 0) || null]));
      eq(shown, api.map((x) => [x.source, x.response_id ?? null, x.mention_id ?? null]), 'source=all: the API\'s mixed list in its order, each with its source');
      ok(shown.some((x) => x[0] === 'survey'), 'the first page holds survey answers', shown.slice(0, 5));
      await page.selectOption('#verbatim-source', 'google');
      await page.click('#verbatim-form button[type="submit"]');
      await page.waitForFunction(() => {
        const l = [...document.querySelectorAll('#verbatim-list > li')];
        return l.length > 0 && l.every((li) => li.dataset.source === 'google');
      });
      const g = (await admin.call('GET', '/verbatims?source=google&limit=25')).body.items;
      eq(await page.$$eval('#verbatim-list > li', (l) => l.map((li) => Number(li.dataset.mentionId))), g.map((x) => x.mention_id),
        'source=google: only the google mentions, the API\'s');
      ok(!(await page.$('#verbatim-list > li .score-band')), 'a mention shows no score band');
      await shot(page, 'verbatims-google');
    });

    // issue 16 H7: 30 mentions of one second, the newest items, so the
    // explorer's first page (25) ends inside the second. The cursor of
    // source=all is a string the page hands back as given; as a JSON number
    // (time * 2^30 + id, past 2^53) the browser rounded it and skipped or
    // repeated the rest of the second.
    await group('verbatim explorer: paging through one second', async () => {
      const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString().replace('.000Z', 'Z');
      const ties = Array.from({ length: 30 }, (_, i) => ({ source: 'kiyoh', source_id: 'tie' + i, created_at: at, rating: '7',
        scale_min: '1', scale_max: '10', text: 'Zelfde seconde ' + i, language: 'nl' }));
      const r = await admin.call('POST', '/mentions', ties);
      eq(r.body.inserted, 30, 'fixture: 30 mentions of one second');
      const first = (await admin.call('GET', '/verbatims?source=all&limit=25')).body;
      eq(typeof first.next_cursor, 'string', 'source=all: next_cursor is a string');
      const want = (await admin.call('GET', '/verbatims?source=all&limit=50')).body.items
        .map((x) => [x.source, x.response_id ?? null, x.mention_id ?? null]);
      eq(want.slice(0, 30).filter((x) => x[0] === 'kiyoh').length, 30, 'fixture: the tied mentions are the 30 newest items');
      await go(page, base, '#/verbatims?source=all', 'verbatims');
      await page.waitForSelector('#verbatim-list > li');
      await page.click('#verbatim-more');
      await page.waitForFunction(() => document.querySelectorAll('#verbatim-list > li').length >= 50);
      const shown = await page.$$eval('#verbatim-list > li', (l) => l.map((li) => [li.dataset.source, Number(li.dataset.responseId || 0) || null,
        Number(li.dataset.mentionId || 0) || null]));
      eq(shown, want, 'two pages: the API\'s first 50 items in order, each once, across the second\'s page boundary');
      eq(new Set(shown.map((x) => x.join(':'))).size, shown.length, 'no item twice');
    });

    // issue 16 H7: #/mention/ID, one mention with the reply form (admins)
    await group('one mention', async () => {
      const one = (await admin.call('GET', '/mentions?source=kiyoh&limit=1')).body.items[0];
      await go(page, base, '#/mention/' + one.id, 'mention');
      eq(await page.$$eval('#mn-one > li', (l) => l.map((li) => Number(li.dataset.mentionId))), [one.id], 'the page shows that mention');
      eq(await page.getAttribute('#mn-all', 'href'), '#/mentions', 'and links to all of them');
      await page.click('#mn-one .mention-reply summary');
      await page.fill('#mn-one textarea[name="reply"]', 'Concept vanaf de detailpagina');
      await page.click('#mn-one button[data-draft]');
      let back = null;  // the save is asynchronous: read back until it is there (5 s at most)
      for (let i = 0; i < 50 && !(back && back.draft); i++) {
        back = (await admin.call('GET', '/mentions/' + one.id)).body.reply;
        if (!back.draft) await new Promise((r) => setTimeout(r, 100));
      }
      eq(back.draft, 'Concept vanaf de detailpagina', 'a draft saved from the page (API)');
      await go(page, base, '#/mention/999999', 'mention');
      ok(!(await page.$('#mn-one')) && /999999/.test(await page.textContent('main h1')), 'an unknown mention: no item, the refusal shown');
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.team_lead);
    await group('team page', async () => {
      await go(page, base, '#/team/' + unit, 'team');
      await page.waitForSelector('#team-mentions-panel');
      const sum = (await lead.call('GET', '/mentions/summary?unit_id=' + unit)).body;
      const rows = await tableRows(page, '#team-mentions-measures');
      eq(rows.map((x) => x.cells.slice(1)), expectRows(sum, () => '').map((x) => x.cells.slice(1)),
        'the unit\'s mentions: the API\'s own measures for the unit');
      ok(await page.$('#team-kpis') && (await page.textContent('#team-mentions-panel')).includes('los van de NPS'),
        'beside the survey figures, said to be apart from the NPS');
      const latest = (await lead.call('GET', '/mentions?unit_id=' + unit + '&limit=3')).body;
      eq(await page.$$eval('#team-mentions-list > li', (l) => l.map((li) => Number(li.dataset.mentionId))), latest.items.map((x) => x.id),
        'the three newest mentions of the unit');
      eq(await page.getAttribute('#team-mentions-panel a[href^="#/mentions"]', 'href'), '#/mentions?unit_id=' + unit, 'a link to all of them');
      await page.click('#team-mentions-panel a[href^="#/mentions"]');
      await page.waitForSelector('main[data-page="mentions"][data-ready="true"]');
      await page.waitForSelector('#mn-list > li');
      const mine = (await lead.call('GET', '/mentions?unit_id=' + unit + '&limit=20')).body;
      eq(await page.$$eval('#mn-list > li', (l) => l.map((li) => Number(li.dataset.mentionId))), mine.items.map((x) => x.id),
        'the team lead\'s mentions page: their unit\'s mentions');
      ok(!(await page.$('#mn-list button[data-record]')), 'a team lead records no replies (admins do)');
      await shot(page, 'team-mentions');
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.employee);
    await group('employee', async () => {
      ok(!(await page.$('a[href="#/mentions"]')), 'employee: no "Reviews" in the menu');
      eq((await apiInPage(page, 'GET', '/verbatims?source=all')).status, 403, 'employee: verbatims?source=all -> 403');
      eq(await goRefused(page, base, '#/mentions'), 'me', 'employee: #/mentions is not shown (sent home)');
      await go(page, base, '#/verbatims', 'verbatims');
      ok(!(await page.$('#verbatim-source')), 'employee: no source choice in the explorer');
    });
    eq(problems, [], 'no script errors in the pages');
  });
}

run(main);
