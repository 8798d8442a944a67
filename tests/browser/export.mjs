#!/usr/bin/env node
// export.mjs — browser tests of the PDF and Excel exports (issue 17, part X):
// the organisation page's breakdown explorer and the team page's breakdowns
// have "Exporteer PDF" / "Exporteer Excel" links; a click downloads the file
// (playwright's download event) of the right type, made from the breakdown
// on screen (the link carries its /metrics parameters and the page's
// language); in English the links say "Export PDF" / "Export Excel" and the
// PDF speaks English — against the real server on a fresh demo database.
//
//   KS_BIN=build/asan/klantstem node tests/browser/export.mjs

import fs from 'node:fs';
import { USERS, loginUi, tap, shot, go, waitPage, withDemoServer } from './lib.mjs';

const { ok, eq, group, run } = tap('export browser tests');

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

// Click a link and take the download: its suggested name, its bytes, and the
// URL it came from.
async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), bytes: fs.readFileSync(file), url: dl.url() };
}

function params(url) {
  return Object.fromEntries(new URL(url).searchParams.entries());
}

async function main() {
  await withDemoServer('ks-export-', ok, async ({ base, browser, problems }) => {
    const page = browser.context.pages()[0] || await browser.context.newPage();
    page.on('pageerror', (err) => problems.push(String(err)));
    await loginUi(page, base, USERS.director);

    await group('organisation page: the explorer (Dutch)', async () => {
      await go(page, base, '#/org?a=team', 'org');
      await page.waitForSelector('#org-explorer table[data-dim="team"]');
      eq([await page.textContent('#explorer-pdf'), await page.textContent('#explorer-xlsx')],
        ['Exporteer PDF', 'Exporteer Excel'], 'the explorer has Exporteer PDF and Exporteer Excel beside the CSV');
      const csv = params(base + (await page.getAttribute('#explorer-csv', 'href')));
      const pdf = await download(page, '#explorer-pdf');
      const q = params(pdf.url);
      eq(new URL(pdf.url).pathname, '/api/v1/metrics/export', 'the PDF comes from /api/v1/metrics/export');
      eq([q.format, q.lang, q.group_by], ['pdf', 'nl', 'team'], 'with format=pdf, the page language nl and the breakdown');
      delete q.format; delete q.lang; delete csv.format;
      eq(q, csv, 'the export carries the same /metrics parameters as the CSV of the same breakdown');
      eq(pdf.name, 'klantstem-metrics-export.pdf', 'the download is named klantstem-metrics-export.pdf');
      ok(pdf.bytes.subarray(0, 5).toString() === '%PDF-', 'the download is a PDF (starts with %PDF-)', pdf.bytes.subarray(0, 16).toString());
      const text = pdf.bytes.toString('latin1');
      ok(/\/Title \(/.test(text) || text.includes('/Title'), 'the PDF has a title');
      const xlsx = await download(page, '#explorer-xlsx');
      eq([params(xlsx.url).format, xlsx.name], ['xlsx', 'klantstem-metrics-export.xlsx'], 'the Excel link downloads klantstem-metrics-export.xlsx');
      ok(xlsx.bytes.subarray(0, 2).toString() === 'PK', 'the spreadsheet is a zip (XLSX) file', xlsx.bytes.subarray(0, 8).toString('hex'));
      // the server's answer for the same URL says what the files are
      const types = await page.evaluate(async (urls) => Promise.all(urls.map(async (u) => {
        const r = await fetch(u, { credentials: 'same-origin' });
        await r.arrayBuffer();
        return [r.status, r.headers.get('Content-Type'), r.headers.get('Content-Disposition')];
      })), [pdf.url, xlsx.url]);
      eq(types, [[200, 'application/pdf', 'attachment; filename="klantstem-metrics-export.pdf"'],
        [200, XLSX, 'attachment; filename="klantstem-metrics-export.xlsx"']], 'the files are served with their types as attachments');
      await shot(page, 'export-org-explorer');
    });

    await group('organisation page: a two-way breakdown in English', async () => {
      await go(page, base, '#/org?a=department&b=channel', 'org');
      await page.click('.lang-btn[data-lang="en"]');
      await waitPage(page, 'org');
      await page.waitForSelector('#org-explorer table.pivot');
      eq([await page.textContent('#explorer-pdf'), await page.textContent('#explorer-xlsx')],
        ['Export PDF', 'Export Excel'], 'in English: Export PDF and Export Excel');
      const pdf = await download(page, '#explorer-pdf');
      const q = params(pdf.url);
      eq([q.lang, q.group_by], ['en', 'department,channel'], 'the English page asks for an English PDF of both dimensions');
      ok(pdf.bytes.subarray(0, 5).toString() === '%PDF-', 'a PDF again');
      await page.click('.lang-btn[data-lang="nl"]');
      await waitPage(page, 'org');
    });

    await group('team page: touchpoints and employees', async () => {
      await go(page, base, '#/team', 'team');
      await page.waitForSelector('#team-touchpoints-pdf');
      const teamId = await page.$eval('main', (m) => m.dataset.teamId);
      const tp = await download(page, '#team-touchpoints-pdf');
      const q = params(tp.url);
      eq([q.format, q.group_by, q.team_id, q.lang], ['pdf', 'touchpoint', teamId, 'nl'], 'per touchpoint: a PDF of the team by touchpoint');
      ok(tp.bytes.subarray(0, 5).toString() === '%PDF-', 'per touchpoint: the download is a PDF');
      await page.waitForSelector('#team-employees-xlsx');
      const emp = await download(page, '#team-employees-xlsx');
      const qe = params(emp.url);
      eq([qe.format, qe.group_by, qe.team_id], ['xlsx', 'employee', teamId], 'per employee: an Excel file of the team by employee');
      ok(emp.bytes.subarray(0, 2).toString() === 'PK', 'per employee: the download is an XLSX (zip)');
      await shot(page, 'export-team');
    });
    eq(problems, [], 'no script errors in the pages');
  });
}

run(main);
