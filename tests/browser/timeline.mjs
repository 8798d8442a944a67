#!/usr/bin/env node
// timeline.mjs — browser tests of the customer timeline (issue 16): the
// #/customer/ID page lists the items of GET /customers/{id}/timeline in the
// same order, each with its symbol and its event in words, its time in the
// user's locale, links to the answer and case pages; "Oudere gebeurtenissen"
// pages on; the case and response pages link to it for directors and
// admins; a team lead is sent away from the page (the API is 403 for them)
// — against the real server on a fresh demo database.
//
//   KS_BIN=build/asan/klantstem node tests/browser/timeline.mjs

import fs from 'node:fs';
import {
  USERS, resetContext, loginUi, apiInPage, tap, shot, go, waitPage, ApiClient, withDemoServer, goRefused,
} from './lib.mjs';

const { ok, eq, group, run } = tap('timeline browser tests');

const NL_EVENT = {
  'contact.contact': 'Contact', 'invitation.sent': 'Uitnodiging verstuurd', 'invitation.reminded': 'Herinnering verstuurd',
  'invitation.opened': 'Uitnodiging geopend', 'invitation.completed': 'Vragenlijst ingevuld',
  'invitation.failed': 'Uitnodiging niet afgeleverd', 'response.received': 'Antwoord ontvangen',
  'case.opened': 'Casus geopend', 'case.status': 'Status van de casus gewijzigd', 'case.message': 'Bericht aan de klant',
  'opt_out.opt_out': 'Afgemeld voor uitnodigingen',
  // mentions (issue 16 H1)
  'mention.posted': 'Review of bericht geplaatst', 'mention.replied': 'Reactie geplaatst',
  // internal data (issue 16 H4)
  'event.login': 'Ingelogd op Mijn omgeving', 'event.mailing_clicked': 'Op een link in een mailing geklikt',
  'holding.started': 'Product afgenomen', 'holding.ended': 'Product beëindigd',
};

async function main() {
  await withDemoServer('ks-timeline-', ok, async ({ bin, dir, db, srv, base, browser, problems }) => {
    const admin = new ApiClient(base);
    await admin.login(USERS.admin);
    // a customer with a case: the demo's unhappy answers open cases
    const cases = (await admin.call('GET', '/cases?limit=50')).body.items || [];
    const kase = cases.find((c) => c.customer_id);
    ok(Boolean(kase), 'fixture: the demo has a case with a customer', cases.slice(0, 2));
    const cust = kase.customer_id;
    // mentions (issue 16 H1): a review of this customer, with a recorded reply
    const ext = (await admin.call('GET', '/customers/' + cust)).body.external_id;
    const posted = await admin.call('POST', '/mentions', [{ source: 'trustpilot', source_id: 'tl-' + cust,
      created_at: new Date(Date.now() - 3600e3).toISOString().slice(0, 19) + 'Z', rating: 2, title: 'Traag', text: 'Lang gewacht op de monteur.',
      customer_external_id: ext }]);
    eq(posted.body.inserted, 1, 'fixture: a review of the customer');
    const mid = (await admin.call('GET', '/mentions?source=trustpilot&limit=500')).body.items.find((m) => m.source_id === 'tl-' + cust).id;
    await admin.call('PUT', '/mentions/' + mid + '/reply', { text: 'Excuses!', recorded: true });
    // internal data (issue 16 H4): a product held for a while, a login and a mailing click
    const imports = [
      ['products', [{ external_id: 'tl-p', name: 'Warmtepomp', category: 'energie' }]],
      ['holdings', [{ customer_external_id: ext, product_external_id: 'tl-p', since: '2025-03-01', until: '2025-11-30' }]],
      ['events', [{ customer_external_id: ext, kind: 'login', occurred_at: '2026-01-12T08:15:00Z', channel: 'app' },
        { customer_external_id: ext, kind: 'mailing_clicked', occurred_at: '2026-01-11T09:00:00Z', detail: 'winteractie' }]],
    ];
    for (const [kind, body] of imports) eq((await admin.call('POST', '/import/' + kind, body)).status, 200, 'fixture: import ' + kind);
    const api = (await admin.call('GET', '/customers/' + cust + '/timeline?limit=200')).body;
    ok(api.items.some((x) => x.kind === 'case') && api.items.some((x) => x.kind === 'response'),
      'fixture: the customer\'s timeline has a case and a response', api.items.map((x) => x.kind));

    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    await loginUi(page, base, USERS.director);

    await group('timeline page', async () => {
      await go(page, base, '#/customer/' + cust, 'customer');
      await page.waitForSelector('#timeline');
      const mine = await apiInPage(page, 'GET', '/customers/' + cust + '/timeline');
      eq(mine.status, 200, 'director: GET timeline -> 200');
      const rows = await page.$$eval('#timeline > li', (lis) => lis.map((li) => ({
        kind: li.dataset.kind, event: li.dataset.event, id: Number(li.dataset.id),
        icon: li.querySelector('.timeline-icon')?.textContent || '',
        hidden: li.querySelector('.timeline-icon')?.getAttribute('aria-hidden'),
        label: li.querySelector('.timeline-label')?.textContent || '',
        at: li.querySelector('time')?.getAttribute('datetime'), shown: li.querySelector('time')?.textContent || '',
        link: li.querySelector('a')?.getAttribute('href') || null,
      })));
      eq(rows.map((r) => [r.kind, r.event, r.id, r.at]), mine.body.items.map((x) => [x.kind, x.event, x.id, x.at]),
        'the page lists the API\'s items in its order (' + rows.length + ')');
      eq(rows.map((r) => r.label), mine.body.items.map((x) => NL_EVENT[x.kind + '.' + x.event]),
        'each item names its event in Dutch');
      ok(rows.every((r) => r.icon.trim() !== '' && r.hidden === 'true'), 'each item has a symbol (beside the words, hidden from screen readers)');
      // the time in the user's locale: the local day of the item in nl-NL, worked out here
      ok(rows.every((r) => {
        const d = new Date(r.at);
        const day = new Intl.DateTimeFormat('nl-NL', { timeZone: 'Europe/Amsterdam', day: 'numeric' }).format(d);
        const year = new Intl.DateTimeFormat('nl-NL', { timeZone: 'Europe/Amsterdam', year: 'numeric' }).format(d);
        return r.shown.includes(day) && r.shown.includes(year) && !r.shown.includes('T');
      }), 'each time is shown in Dutch (local day and year, not ISO)', rows.map((r) => [r.at, r.shown]).slice(0, 4));
      eq(rows.filter((r) => r.kind === 'case' || r.kind === 'response').map((r) => r.link),
        mine.body.items.filter((x) => x.kind === 'case' || x.kind === 'response').map((x) => x.link),
        'answers and cases link to their pages');
      // mentions (issue 16 H1): the review with its source, stars, title and text
      const rev = await page.$eval('#timeline > li[data-kind="mention"][data-event="posted"]', (li) => li.textContent);
      ok(rev.includes('trustpilot \u00b7 2/5') && rev.includes('Traag') && rev.includes('Lang gewacht op de monteur.'),
        'a review shows its source and stars, title and text', rev);
      // internal data (issue 16 H4): events with channel and detail, the product on its days
      const ev = await page.$$eval('#timeline > li[data-kind="event"], #timeline > li[data-kind="holding"]',
        (lis) => lis.map((li) => [li.dataset.event, li.querySelector('time').textContent, li.querySelector('.timeline-summary')?.textContent]));
      // times in Amsterdam winter time (UTC+1): 08:15Z is 09:15, 09:00Z is 10:00
      eq(ev, [['login', '12 jan 2026, 09:15', 'app'], ['mailing_clicked', '11 jan 2026, 10:00', 'winteractie'],
        ['ended', '30 nov 2025', 'Warmtepomp \u00b7 energie'], ['started', '1 mrt 2025', 'Warmtepomp \u00b7 energie']],
      'internal events show channel or detail; a product its name and category on its days', ev);
      ok(!(await page.isVisible('#timeline-more')) === (mine.body.next === null), '"Oudere gebeurtenissen" only when there are more');
      await shot(page, 'timeline-director');
      // the case link opens the case page, which links back
      await go(page, base, '#/case/' + kase.id, 'case');
      eq(await page.getAttribute('#case-timeline-link', 'href'), '#/customer/' + cust, 'the case page links to the customer\'s timeline');
      const resp = mine.body.items.find((x) => x.kind === 'response');
      await go(page, base, '#/response/' + resp.id, 'response');
      eq(await page.getAttribute('#response-timeline-link', 'href'), '#/customer/' + cust, 'the response page links to the customer\'s timeline');
      // issue 16 H7: the review links to its own page (#/mention/ID), which shows it with its reply
      await go(page, base, '#/customer/' + cust, 'customer');
      const revLink = '#timeline > li[data-kind="mention"][data-event="posted"] a';
      await page.waitForSelector(revLink);
      eq(await page.getAttribute(revLink, 'href'), '#/mention/' + mid, 'the review links to #/mention/ID');
      await page.evaluate(() => { delete document.querySelector('main').dataset.ready; });
      await page.click(revLink);
      await waitPage(page, 'mention');
      eq(await page.$$eval('#mn-one > li', (l) => l.map((li) => Number(li.dataset.mentionId))), [mid], 'the mention page shows that review');
      eq(await page.textContent('#mn-one .mention-replied blockquote'), 'Excuses!', 'with its recorded reply');
      ok(!(await page.$('#mn-one textarea[name="reply"]')), 'director: no reply form there (admins reply)');
    });

    await resetContext(browser.context);
    await loginUi(page, base, USERS.team_lead);
    await group('team lead', async () => {
      const r = await apiInPage(page, 'GET', '/customers/' + cust + '/timeline');
      eq(r.status, 403, 'team lead: GET timeline -> 403');
      eq(await goRefused(page, base, '#/customer/' + cust), 'team', 'team lead: the page is not shown (sent home)');
      await go(page, base, '#/case/' + kase.id, 'case');
      ok(!(await page.$('#case-timeline-link')), 'team lead: no timeline link on the case page');
      // issue 16 H7: a review of no unit of theirs: the API's 403, no review shown
      await go(page, base, '#/mention/' + mid, 'mention');
      ok(!(await page.$('#mn-one')) && Boolean(await page.$('main .notice-error, main [role="alert"]')),
        'team lead: another unit\'s review is not shown, the refusal is', await page.textContent('main'));
    });
    eq(problems, [], 'no script errors in the pages');
  });
}

run(main);
