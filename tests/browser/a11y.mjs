#!/usr/bin/env node
// a11y.mjs — every page of the web UI on a phone (360 px wide) against the
// real server on a small demo database (issue 13):
//
//   KS_BIN=build/asan/klantstem node tests/browser/a11y.mjs
//
// Per page, as a role that may see it: no horizontal scroll
// (document.scrollingElement.scrollWidth <= 360) and axe-core (npm, run
// inside the page through the DevTools protocol, so the page's CSP stays as
// it is) reports no violation of impact "serious" or "critical". Every
// finding is printed as a comment line (rule, impact, how many nodes, the
// first selectors), so a failure says what to fix. On the pages with a
// menu: the phone menu shows that it scrolls (a visible edge shade while
// items lie beyond it). TAP lines, screenshots in build/screenshots/.

import fs from 'node:fs';
import path from 'node:path';
import { REPO, USERS, binary, tmpDir, makeDemo, startServer, launchBrowser, resetContext, loginUi, waitPage, tap, shot, apiInPage, go } from './lib.mjs';

const { ok, group, run } = tap('a11y browser tests');
const WIDTH = 360;
const AXE = fs.readFileSync(path.join(REPO, 'tests', 'browser', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

// The pages, the role that sees each, and how to reach it.
function pages(ids) {
  return [
    { name: 'login', role: null, hash: '#/login' },
    { name: 'me', role: 'employee', hash: '#/me' },
    { name: 'team', role: 'team_lead', hash: '#/team' },
    { name: 'verbatims', role: 'team_lead', hash: '#/verbatims' },
    { name: 'themes', role: 'team_lead', hash: '#/themes' },  // issue 14
    { name: 'drivers', role: 'team_lead', hash: '#/drivers' },  // issue 15
    { name: 'cases', role: 'team_lead', hash: '#/cases' },
    { name: 'case', role: 'team_lead', hash: '#/case/' + ids.caseId, skip: !ids.caseId },
    { name: 'actions', role: 'team_lead', hash: '#/actions' },
    { name: 'org', role: 'director', hash: '#/org' },
    { name: 'drivers', role: 'director', hash: '#/drivers?touchpoint_id=1', label: 'drivers/director' },  // issue 15: with a model, its chart and the moments of truth
    { name: 'account', role: 'director', hash: '#/account' },
    { name: 'privacy', role: 'admin', hash: '#/privacy' },
    { name: 'suspect', role: 'admin', hash: '#/suspect' },
    { name: 'themes', role: 'admin', hash: '#/themes', label: 'themes/admin' },  // issue 14: with discovery and the model
    { name: 'admin', role: 'admin', hash: '#/admin/users', label: 'admin/users' },
    { name: 'admin', role: 'admin', hash: '#/admin/surveys', label: 'admin/surveys' },
    { name: 'admin', role: 'admin', hash: '#/admin/rules', label: 'admin/rules' },
    { name: 'admin', role: 'admin', hash: '#/admin/alerts', label: 'admin/alerts' },
    { name: 'admin', role: 'admin', hash: '#/admin/settings', label: 'admin/settings' },
    { name: 'admin', role: 'admin', hash: '#/admin/widgets', label: 'admin/widgets' },  // issue 16 H3
    { name: 'mentions', role: 'team_lead', hash: '#/mentions' },  // issue 16 H3
    { name: 'feeds', role: 'admin', hash: '#/feeds' },  // issue 16 H2 (pollers)
    { name: 'reset', role: null, hash: '#/reset/1.1.x', label: 'reset' },
  ];
}

// Wait for the page and for what it draws after being "ready" (charts,
// late panels): until no chart is still empty, at most a few seconds.
async function settle(page, name) {
  await waitPage(page, name);
  await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.dataset.drawn === 'true'),
    null, { timeout: 8000 }).catch(() => {});
  await page.waitForTimeout(300);
}

async function axeRun(page) {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, n: v.nodes.length,
      targets: v.nodes.slice(0, 4).map((x) => x.target.join(' ')),
      summary: (v.nodes[0]?.failureSummary || '').split('\n').slice(0, 2).join(' '),
    }));
  });
}

// How wide the page is, and which elements stick out past the viewport.
async function overflow(page) {
  return page.evaluate((w) => {
    const sw = document.scrollingElement.scrollWidth;
    const wide = [];
    if (sw > w) {
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.right > w + 1 && r.width > 0 && !el.closest('.table-wrap, .mainnav')) {
          wide.push((el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '')) + ' right=' + Math.round(r.right));
          if (wide.length >= 6) break;
        }
      }
    }
    return { sw, wide };
  }, WIDTH);
}

async function main() {
  const bin = binary();
  const dir = tmpDir('ks-a11y-');
  let srv = null;
  let browser = null;
  try {
    const db = makeDemo(bin, dir, 3);  // enough answers for heat-map signals
    srv = await startServer(bin, db, process.env.KS_A11Y_WEB_ROOT ? { webRoot: process.env.KS_A11Y_WEB_ROOT } : {});
    const base = srv.base;
    browser = await launchBrowser();
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: WIDTH, height: 740 });

    // a case of the team lead's team, for the case page
    await loginUi(page, base, USERS.team_lead);
    const cs = await apiInPage(page, 'GET', '/cases?limit=1');
    const ids = { caseId: cs.body?.items?.[0]?.id };

    let who = 'team_lead';
    for (const p of pages(ids)) {
      const label = p.label || p.name;
      if (p.skip) {
        ok(false, label + ': the demo has what the page needs');
        continue;
      }
      await group(label, async () => {
        if (p.role !== who) {
          await resetContext(browser.context);
          await page.goto(base + '/#/login');
          await waitPage(page, 'login');
          if (p.role) await loginUi(page, base, USERS[p.role]);
          who = p.role;
        }
        // drawn anew (the admin sections share the page name 'admin': a wait
        // on the name alone was met by the section shown before)
        await go(page, base, p.hash, p.name);
        await settle(page, p.name);
        const o = await overflow(page);
        ok(o.sw <= WIDTH, `${label}: no horizontal scroll at ${WIDTH} px (scrollWidth ${o.sw})`, o.wide.join('\n'));
        const found = await axeRun(page);
        for (const v of found) console.log(`# axe ${label}: ${v.id} (${v.impact}) x${v.n}: ${v.targets.join(' | ')} — ${v.summary}`);
        const bad = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        ok(bad.length === 0, `${label}: axe-core finds no serious or critical violation`, bad.map((v) => v.id + ' x' + v.n + ': ' + v.targets.join(' | ')).join('\n'));
        const charts = await page.evaluate(() => [...document.querySelectorAll('.chart')].map((c) => c.getAttribute('aria-label') || ''));
        if (charts.length) {
          ok(charts.every((l) => l.includes('De cijfers staan in de tabel onder de grafiek') && !/This is a chart/.test(l)),
            `${label}: every chart is labelled in Dutch, the UI's language (${charts.length})`, charts);
        }
        if (p.role) {
          // the phone menu says it scrolls: items beyond its edge, and a shade there
          const menu = await page.evaluate(() => {
            const nav = document.querySelector('#mainnav');
            if (!nav || nav.hidden) return null;
            const more = nav.scrollWidth > nav.clientWidth + 1;
            const cls = nav.className;
            return { more, shaded: nav.classList.contains('more-right') || nav.classList.contains('more-left'), cls };
          });
          if (menu && menu.more) ok(menu.shaded, `${label}: the phone menu shows that it scrolls`, menu);
        }
        await shot(page, 'a11y-' + label.replace('/', '-'));
      });
    }
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
