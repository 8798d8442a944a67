// format.js — how numbers, dates and periods are shown. Pure functions (no
// DOM), so the browser tests import this very file to check that what a page
// shows is the API's number.

const LOCALES = { nl: 'nl-NL', en: 'en-GB' };

// The organisation's time zone (IANA name). Every date and time this UI
// prints is formatted in it — never in the browser's own zone, never in
// UTC. app.js sets it from GET /auth/me ("time_zone"); until then, and when
// the server sends none or one this browser does not know, Amsterdam.
export const DEFAULT_TIME_ZONE = 'Europe/Amsterdam';
let orgTimeZone = DEFAULT_TIME_ZONE;

export function setTimeZone(tz) {
  orgTimeZone = validTimeZone(tz) ? tz : DEFAULT_TIME_ZONE;
  return orgTimeZone;
}

export function timeZone() {
  return orgTimeZone;
}

function validTimeZone(tz) {
  if (typeof tz !== 'string' || !tz) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function locale(lang) {
  return LOCALES[lang] || LOCALES.nl;
}

const missing = (v) => v === null || v === undefined || typeof v !== 'number' || Number.isNaN(v);

// The one way a number becomes text: the server has already rounded it
// (half away from zero, once, from the exact value), so this only writes
// it with `digits` decimals in the language's notation — 22.5 is "22,5" /
// "22.5", never 23. A value that shows as zero has no sign: 0, −0 and
// −0.0 all print "0,0" (never "−0"). sign: '+' before positive values.
// U+2212 is the minus sign (read as "minus").
export function fmtNumber(v, lang, digits, { sign = false } = {}) {
  if (missing(v)) return '–';
  const text = new Intl.NumberFormat(locale(lang), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(Math.abs(v));
  if (!/[1-9]/.test(text)) return text;
  if (v < 0) return '\u2212' + text;
  return sign ? '+' + text : text;
}

// NPS with its one decimal and its sign: +22,5 / −8,0 / 0,0.
export function fmtNps(v, lang) {
  return fmtNumber(v, lang, 1, { sign: true });
}

// A tick on an NPS axis (a whole number of the scale, not a measured value).
export function fmtNpsTick(v, lang) {
  return fmtNumber(v, lang, Number.isInteger(v) ? 0 : 1, { sign: true });
}

// A change in NPS points with one decimal and its sign: +4,2 / −3,1 / 0,0.
export function fmtDiff(v, lang) {
  return fmtNumber(v, lang, 1, { sign: true });
}

// A mean (grade, CES) with the server's two decimals: 7,43 / 7.43.
export function fmtMean(v, lang, digits = 2) {
  return fmtNumber(v, lang, digits);
}

// A share 0..1 as a whole percentage: 0.47 → 47%.
export function fmtPct(share, lang) {
  if (missing(share)) return '–';
  const v = share === 0 ? 0 : share;
  const text = new Intl.NumberFormat(locale(lang), { style: 'percent', maximumFractionDigits: 0 }).format(Math.abs(v));
  return v < 0 && /[1-9]/.test(text) ? '\u2212' + text : text;
}

// A count: 3.421 / 3,421.
export function fmtInt(n, lang) {
  if (missing(n)) return '–';
  return fmtNumber(n, lang, 0);
}

// An interval "low – high" formatted with f.
export function fmtRange(low, high, f) {
  return f(low) + ' \u2013 ' + f(high);
}

// ---- dates -------------------------------------------------------------------------------

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

// A calendar date "YYYY-MM-DD" (an action's start, a deadline) is a day,
// not an instant: shown as that day in every zone.
function calendarDay(s) {
  const m = DATE_ONLY.exec(s);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12)) : null;
}

function dateFormat(lang, tz, opts) {
  return new Intl.DateTimeFormat(locale(lang), { ...opts, timeZone: tz });
}

const DAY = { day: 'numeric', month: 'short', year: 'numeric' };

// An ISO time as a date in the organisation's zone: "1 dec 2026" / "1 Dec 2026".
// A bare date "2026-12-01" is printed as that day.
export function fmtDate(iso, lang) {
  if (!iso) return '–';
  const day = typeof iso === 'string' ? calendarDay(iso) : null;
  if (day) return dateFormat(lang, 'UTC', DAY).format(day);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return dateFormat(lang, orgTimeZone, DAY).format(d);
}

// An ISO time as date and time in the organisation's zone: "1 dec 2026 00:30".
export function fmtDateTime(iso, lang) {
  if (!iso) return '–';
  const day = typeof iso === 'string' ? calendarDay(iso) : null;
  if (day) return dateFormat(lang, 'UTC', DAY).format(day);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return dateFormat(lang, orgTimeZone, { ...DAY, hour: '2-digit', minute: '2-digit', hour12: false }).format(d);
}

// The calendar day (year, month, day) of an instant in the organisation's zone.
export function localDay(when = new Date()) {
  const d = when instanceof Date ? when : new Date(when);
  const parts = {};
  for (const p of new Intl.DateTimeFormat('en-US', { timeZone: orgTimeZone, year: 'numeric', month: 'numeric', day: 'numeric' })
    .formatToParts(d)) parts[p.type] = Number(p.value);
  return { y: parts.year, m: parts.month, d: parts.day };
}

// Today in the organisation's zone as "YYYY-MM-DD" (a date input's value).
export function todayIso(now = new Date()) {
  const { y, m, d } = localDay(now);
  return y + '-' + String(m).padStart(2, '0') + '-' + String(d).padStart(2, '0');
}

// The last day of a window [from, to): the organisation's calendar day
// before the day `to` falls on (calendar arithmetic, so a DST night or a
// `to` at UTC midnight changes nothing), printed as a date.
export function fmtLastDay(toIso, lang) {
  const d = new Date(toIso);
  if (!toIso || Number.isNaN(d.getTime())) return '–';
  const { y, m, d: day } = localDay(d);
  return dateFormat(lang, 'UTC', DAY).format(new Date(Date.UTC(y, m - 1, day - 1, 12)));
}

// A period key of the API ("2026-03", "2026-Q1", "2026", "2026-W07",
// "2026-03-14"): the server counts them in the organisation's zone, so a
// key is shown as the period it names and never derived again from a time.
export function fmtPeriod(key, lang) {
  if (typeof key !== 'string') return String(key);
  let m = /^(\d{4})-(\d{2})$/.exec(key);
  if (m) return dateFormat(lang, 'UTC', { month: 'short', year: 'numeric' }).format(new Date(Date.UTC(+m[1], +m[2] - 1, 15)));
  if (DATE_ONLY.test(key)) return fmtDate(key, lang);
  // a full ISO time (not a period key): a date in the organisation's zone
  if (/^\d{4}-\d{2}-\d{2}T/.test(key)) return fmtDate(key, lang);
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

// The current calendar quarter in the organisation's zone ("2026-Q4"), the
// default period of a new goal.
export function currentQuarter(now = new Date()) {
  const { y, m } = localDay(now);
  return y + '-Q' + (Math.floor((m - 1) / 3) + 1);
}

// The current year in the organisation's zone.
export function currentYear(now = new Date()) {
  return localDay(now).y;
}

// Hours with one decimal (7,5 / 7.5); null is "–".
export function fmtHours(v, lang) {
  return fmtNumber(v, lang, 1);
}
