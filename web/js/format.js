// format.js — how numbers, dates and periods are shown. Pure functions (no
// DOM), so the browser tests import this very file to check that what a page
// shows is the API's number.

const LOCALES = { nl: 'nl-NL', en: 'en-GB' };
export const TIME_ZONE = 'Europe/Amsterdam';

export function locale(lang) {
  return LOCALES[lang] || LOCALES.nl;
}

// NPS: a whole number with its sign (+22, −8, 0). U+2212 is read as "minus".
export function fmtNps(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const r = Math.round(v);
  if (r > 0) return '+' + r;
  if (r < 0) return '\u2212' + Math.abs(r);
  return '0';
}

// A mean (grade, CES) with one decimal in the language's notation: 7,4 / 7.4.
export function fmtMean(v, lang, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return new Intl.NumberFormat(locale(lang), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(v);
}

// A share 0..1 as a whole percentage.
export function fmtPct(share, lang) {
  if (share === null || share === undefined || Number.isNaN(share)) return '–';
  return new Intl.NumberFormat(locale(lang), { style: 'percent', maximumFractionDigits: 0 }).format(share);
}

// A count: 3.421 / 3,421.
export function fmtInt(n, lang) {
  if (n === null || n === undefined) return '–';
  return new Intl.NumberFormat(locale(lang), { maximumFractionDigits: 0 }).format(n);
}

// An interval "low – high" formatted with f.
export function fmtRange(low, high, f) {
  return f(low) + ' \u2013 ' + f(high);
}

// An ISO time as a date in Amsterdam: "24 nov 2026" / "24 Nov 2026".
// timeZone 'UTC' for the API's period bounds (whole UTC days).
export function fmtDate(iso, lang, timeZone = TIME_ZONE) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(lang), {
    day: 'numeric', month: 'short', year: 'numeric', timeZone,
  }).format(d);
}

// A period key of the API ("2026-03", "2026-Q1", "2026", "2026-W07", "2026-03-14").
export function fmtPeriod(key, lang) {
  if (typeof key !== 'string') return String(key);
  let m = /^(\d{4})-(\d{2})$/.exec(key);
  if (m) {
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, 15));
    return new Intl.DateTimeFormat(locale(lang), { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(d);
  }
  m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(key);
  if (m) {
    const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    return new Intl.DateTimeFormat(locale(lang), { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(d);
  }
  return key;
}

// Score band of an NPS answer (shared/DOMAIN.md): 9-10, 7-8, 0-6.
export function band(nps) {
  if (nps === null || nps === undefined) return null;
  if (nps >= 9) return 'promoter';
  if (nps >= 7) return 'passive';
  return 'detractor';
}

// The label of a group key in a /metrics row: entity dimensions are
// {id, name}, the others plain strings.
export function keyLabel(v) {
  if (v && typeof v === 'object') return v.name ?? String(v.id);
  return v === null || v === undefined ? '' : String(v);
}

export function keyId(v) {
  if (v && typeof v === 'object') return v.id === null || v.id === undefined ? v.name : String(v.id);
  return v === null || v === undefined ? '' : String(v);
}

// Current calendar quarter as a goal period ("2026-Q4"), in UTC like the API.
export function currentQuarter(now = new Date()) {
  return now.getUTCFullYear() + '-Q' + (Math.floor(now.getUTCMonth() / 3) + 1);
}

// An ISO time as date and time in Amsterdam: "24 nov 2026 14:05".
export function fmtDateTime(iso, lang, timeZone = TIME_ZONE) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(lang), {
    day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false, timeZone,
  }).format(d);
}

// Hours with one decimal (7,5 / 7.5); null is "–".
export function fmtHours(v, lang) {
  return fmtMean(v, lang, 1);
}
