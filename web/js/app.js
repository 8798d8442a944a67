// app.js — start-up, the hash router, the navigation by role, language
// switch and logout. Pages live in ./pages/; each exports
// render(main, ctx) and builds its DOM with dom.js (no HTML strings).
//
// Routes: #/login  #/me  #/team[/ID]  #/org  #/verbatims  #/response/ID
//         #/cases  #/case/ID  #/actions  #/account  #/suspect (admins)
//         #/themes (issue 14)
//         #/drivers (issue 15)
// The server enforces every permission; the role here only decides which
// navigation items show and where one lands after logging in.

import { api, setCsrf, errorText } from './api.js';  // errorText: issue 13 (i18n)
import { h, clear, announce } from './dom.js';
import { t, lang, setLang, initialLang, hasStoredLang } from './i18n.js';
import { disposeCharts } from './charts.js';
import { setTimeZone } from './format.js';
import * as loginPage from './pages/login.js';
import * as mePage from './pages/me.js';
import * as teamPage from './pages/team.js';
import * as orgPage from './pages/org.js';
import * as verbatimsPage from './pages/verbatims.js';
import * as responsePage from './pages/response.js';
import * as casesPage from './pages/cases.js';
import * as casePage from './pages/case.js';
import * as actionsPage from './pages/actions.js';
import * as accountPage from './pages/account.js';
import * as suspectPage from './pages/suspect.js';  // open-link guard (issue 11)
import * as privacyPage from './pages/privacy.js';  // privacy and audit (issue 11)
import * as personPage from './pages/person.js';  // coaching: one employee's page (issue 13)
import * as adminPage from './pages/admin.js';  // administration (issue 13)
import * as resetPage from './pages/admin_reset.js';  // a mailed reset link (issue 13)
import * as themesPage from './pages/themes.js';  // themes and sentiment of the open answers (issue 14)
import * as driversPage from './pages/drivers.js';  // what drives the score (issue 15)
import * as customerPage from './pages/customer.js';  // a customer's timeline (issue 16)
import * as mentionsPage from './pages/mentions.js';  // reviews and posts (issue 16 H3)
import * as relationshipPage from './pages/relationship.js';  // relationship surveys (issue 16 H6)
import * as feedsPage from './pages/feeds.js';  // the polled review and social feeds (issue 16 H2)
import * as governancePage from './pages/governance.js';  // soft and hard side by side, for directors (issue 17 L)
import * as pulsePage from './pages/pulse.js';  // employee pulse, eNPS (issue 17 P)
import * as digestsPage from './pages/digests.js';  // scheduled digests by mail (issue 17 D)
import * as kpisPage from './pages/kpis.js';  // hard KPIs: catalogue, values, import, targets (issue 17 K)

const ALL = ['employee', 'team_lead', 'manager', 'director', 'admin'];
const LEADS = ['team_lead', 'manager', 'director', 'admin'];
const ROUTES = {
  login: { page: loginPage, public: true },
  me: { page: mePage, roles: ALL, nav: 'nav.me' },
  team: { page: teamPage, roles: ALL, nav: 'nav.team' },
  org: { page: orgPage, roles: ['manager', 'director', 'admin'], nav: 'nav.org' },
  verbatims: { page: verbatimsPage, roles: ALL, nav: 'nav.verbatims' },
  response: { page: responsePage, roles: ALL },
  cases: { page: casesPage, roles: LEADS, nav: 'nav.cases' },
  case: { page: casePage, roles: LEADS },
  person: { page: personPage, roles: LEADS },  // #/person/ID, linked from "Per medewerker" (issue 13)
  actions: { page: actionsPage, roles: ALL, nav: 'nav.actions' },
  account: { page: accountPage, roles: ALL },  // linked from the name in the header
  suspect: { page: suspectPage, roles: ['admin'], nav: 'nav.suspect' },  // held answers (issue 11)
  privacy: { page: privacyPage, roles: ['admin'], nav: 'nav.privacy' },  // GDPR, retention, audit log (issue 11)
  admin: { page: adminPage, roles: ['admin'], nav: 'nav.admin' },  // users, surveys, rules, settings (issue 13)
  reset: { page: resetPage, public: true },  // #/reset/TOKEN from a mailed link (issue 13)
  themes: { page: themesPage, roles: ALL, nav: 'nav.themes' },  // the roles of GET /themes, as /metrics (issue 14)
  drivers: { page: driversPage, roles: LEADS, nav: 'nav.drivers' },  // key drivers, top three, moments of truth (issue 15)
  feeds: { page: feedsPage, roles: ['admin'], nav: 'nav.feeds' },  // review and social feeds the server polls (issue 16 H2)
  mentions: { page: mentionsPage, roles: LEADS, nav: 'nav.mentions' },  // reviews and posts, the roles of GET /mentions (issue 16 H3)
  mention: { page: { render: mentionsPage.renderOne }, roles: LEADS },  // #/mention/ID, one with its reply; the timeline links it (issue 16 H7)
  customer: { page: customerPage, roles: ['director', 'admin'] },  // #/customer/ID: the timeline, the roles of GET /customers/{id} (issue 16)
  relationship: { page: relationshipPage, roles: ['director', 'admin'], nav: 'nav.relationship' },  // #/relationship[/ID] (issue 16 H6)
  governance: { page: governancePage, roles: ['director', 'admin'], nav: 'nav.governance' },  // #/governance (issue 17 L)
  pulse: { page: pulsePage, roles: ALL, nav: 'nav.pulse' },  // #/pulse[/WAVE]: eNPS, each in their own scope (issue 17 P)
  digests: { page: digestsPage, roles: ['admin'], nav: 'nav.digests' },  // #/digests: settings, run, sends (issue 17 D)
  kpis: { page: kpisPage, roles: ['director', 'admin'], nav: 'nav.kpis' },  // #/kpis (issue 17 K)
};

const state = {
  user: null,        // from /auth/me or the login answer
  renderId: 0,
  afterLogin: null,  // the route asked for before logging in
  booted: false,
};

// Navigation items of a role, in order.
function navFor(user) {
  if (!user) return [];
  const items = [];
  const r = user.role;
  const global = r === 'manager' || r === 'director' || r === 'admin';
  if (global) items.push('org');
  if (user.employee_id || r === 'employee') items.push('me');
  items.push('team');
  if (r !== 'employee') items.push('cases');
  items.push('actions', 'verbatims');
  items.push('themes');  // issue 14: every role reads /themes in its own scope
  if (r !== 'employee') items.push('mentions');  // issue 16 H3: reviews and posts, leads and up (as GET /mentions)
  if (r !== 'employee') items.push('drivers');  // issue 15: leads and up, each in their own unit (as /metrics)
  if (r === 'director' || r === 'admin') items.push('relationship');  // relationship surveys (issue 16 H6)
  if (r === 'director' || r === 'admin') items.push('governance');  // KPIs, links, team goals (issue 17 L)
  if (r === 'director' || r === 'admin') items.push('kpis');  // the KPI catalogue, values, targets (issue 17 K)
  items.push('pulse');  // employee pulse (issue 17 P): everyone reads it in their own scope
  if (r === 'admin') items.push('suspect');  // held answers of open-link bursts (issue 11)
  if (r === 'admin') items.push('privacy');  // export, erase, retention, audit log (issue 11)
  if (r === 'admin') items.push('admin');  // administration (issue 13)
  if (r === 'admin') items.push('feeds');  // polled review and social feeds (issue 16 H2)
  if (r === 'admin') items.push('digests');  // scheduled digests by mail (issue 17 D)
  return items;
}

function homeRoute(user) {
  if (!user) return 'login';
  if (user.role === 'employee') return 'me';
  if (user.role === 'team_lead') return 'team';
  return 'org';
}

export function parseHash(hash) {
  const raw = (hash || '').replace(/^#\/?/, '');
  const [path, q] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] || '', args: parts.slice(1), query: new URLSearchParams(q || '') };
}

export function navigate(hash, { replace = false } = {}) {
  if (replace) {
    history.replaceState(null, '', hash);
    route();
  } else if (location.hash === hash) {
    route();
  } else {
    location.hash = hash;
  }
}

// Change the query of the current route without a new history entry.
function setQuery(params) {
  const cur = parseHash(location.hash);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const path = '#/' + [cur.name, ...cur.args].map(encodeURIComponent).join('/');
  const s = q.toString();
  history.replaceState(null, '', path + (s ? '?' + s : ''));
}

// ---- the page chrome -------------------------------------------------------------

function renderChrome(current) {
  document.getElementById('skip-link').textContent = t('skip');
  document.getElementById('footer-text').textContent = t('footer');
  document.getElementById('lang-group').setAttribute('aria-label', t('lang.label'));
  for (const b of document.querySelectorAll('.lang-btn')) {
    b.setAttribute('aria-pressed', String(b.dataset.lang === lang()));
    b.setAttribute('title', t('lang.' + b.dataset.lang));
  }
  const nav = document.getElementById('mainnav');
  const list = clear(document.getElementById('nav-list'));
  nav.setAttribute('aria-label', t('nav.label'));
  const items = navFor(state.user);
  nav.hidden = items.length === 0;
  for (const name of items) {
    const a = h('a', { href: '#/' + name, dataset: { nav: name } }, t(ROUTES[name].nav));
    if (name === current) a.setAttribute('aria-current', 'page');
    list.append(h('li', null, a));
  }
  const who = document.getElementById('who');
  const logout = document.getElementById('logout');
  if (state.user) {
    who.hidden = false;
    // the name opens the account page (password, API tokens, users)
    const link = h('a', { href: '#/account', id: 'account-link', title: t('account.link') },
      t('who', { name: state.user.name, role: t('role.' + state.user.role) }));
    link.style.color = 'inherit';
    if (current === 'account') link.setAttribute('aria-current', 'page');
    clear(who).append(link);
    logout.hidden = false;
    logout.textContent = t('logout');
  } else {
    who.hidden = true;
    who.textContent = '';
    logout.hidden = true;
  }
}

// ---- phone layout and keyboard (issue 13) -----------------------------------------

// The menu scrolls sideways on a phone: a shade at the edge where more
// items lie (classes more-left / more-right, drawn by app.css), and the
// current item scrolled into view.
function menuShade() {
  const nav = document.getElementById('mainnav');
  if (!nav) return;
  const max = nav.scrollWidth - nav.clientWidth;
  nav.classList.toggle('more-left', max > 1 && nav.scrollLeft > 1);
  nav.classList.toggle('more-right', max > 1 && nav.scrollLeft < max - 1);
}

function menuCurrentIntoView() {
  const nav = document.getElementById('mainnav');
  const cur = nav?.querySelector('a[aria-current="page"]');
  if (cur && nav.scrollWidth > nav.clientWidth) {
    nav.scrollLeft = Math.max(0, cur.offsetLeft - (nav.clientWidth - cur.offsetWidth) / 2);
  }
  menuShade();
}

// A table too wide for the screen scrolls inside its .table-wrap; a
// keyboard user must be able to reach it to scroll it, so every wrap is a
// tab stop (pages add tables late, e.g. the funnel: hence the observer).
function focusableWraps(root) {
  for (const w of root.querySelectorAll('.table-wrap:not([tabindex]), #audit-table:not([tabindex])')) {
    w.setAttribute('tabindex', '0');
    const cap = w.querySelector('caption')?.textContent || w.closest('section')?.querySelector('h2')?.textContent;
    if (cap && w.tagName === 'DIV') {  // a table keeps its own role
      w.setAttribute('role', 'region');
      w.setAttribute('aria-label', cap);
    }
  }
}

// ---- routing ------------------------------------------------------------------------

async function route() {
  const { name, args, query } = parseHash(location.hash);
  const id = ++state.renderId;
  if (!state.user && !ROUTES[name]?.public) {  // login, and a mailed reset link (issue 13)
    state.afterLogin = location.hash && name ? location.hash : null;
    navigate('#/login', { replace: true });
    return;
  }
  const r = ROUTES[name];
  if (!r || (r.roles && !r.roles.includes(state.user?.role))) {
    navigate('#/' + homeRoute(state.user), { replace: true });
    return;
  }
  if (name === 'login' && state.user) {
    navigate('#/' + homeRoute(state.user), { replace: true });
    return;
  }
  disposeCharts();
  renderChrome(name);
  const main = document.getElementById('main');
  clear(main);
  main.setAttribute('aria-busy', 'true');
  main.dataset.page = name;
  delete main.dataset.ready;
  const ctx = {
    user: state.user,
    args,
    query,
    alive: () => id === state.renderId,
    navigate,
    setQuery,
    onLogin: (user, csrf, reply) => loggedIn(user, csrf, reply),
  };
  try {
    await r.page.render(main, ctx);
  } catch (err) {
    if (id === state.renderId) {
      main.append(h('p', { class: 'notice notice-error', role: 'alert' }, t('error.load', { msg: errorText(err) })));
    }
  }
  if (id !== state.renderId) return;
  main.setAttribute('aria-busy', 'false');
  main.dataset.ready = 'true';
  performance.mark('ks-ready:' + name);
  menuCurrentIntoView();  // issue 13
  const h1 = main.querySelector('h1');
  if (h1) {
    document.title = h1.textContent + ' · ' + t('app.name');
    if (state.booted && name !== 'login') {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: false });
    }
  }
  state.booted = true;
}

// The organisation's time zone from a login or /auth/me reply (top level,
// or on the user); without one, Europe/Amsterdam.
function zoneOf(reply) {
  return reply?.time_zone ?? reply?.user?.time_zone ?? null;
}

async function loggedIn(user, csrf, reply) {
  state.user = user;
  setCsrf(csrf);
  let tz = zoneOf(reply);
  if (!tz) {
    // a login reply without the zone: /auth/me has it
    try { tz = zoneOf(await api('/auth/me')); } catch { /* keep the default */ }
  }
  setTimeZone(tz);
  if (!hasStoredLang() && user.language) setLang(user.language, false);
  const next = state.afterLogin;
  state.afterLogin = null;
  navigate(next && !next.startsWith('#/login') ? next : '#/' + homeRoute(user), { replace: true });
}

async function logout() {
  try {
    await api('/auth/logout', { method: 'POST' });
  } catch { /* the session may already be gone: log out locally all the same */ }
  state.user = null;
  setCsrf(null);
  setTimeZone(null);
  sessionStorage.clear();
  navigate('#/login?bye=1', { replace: true });
  announce(t('logged.out'));
}

// ---- start ------------------------------------------------------------------------------

async function boot() {
  setLang(initialLang(null), false);
  document.getElementById('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    const main = document.getElementById('main');
    const target = main.querySelector('h1') || main;
    target.setAttribute('tabindex', '-1');
    target.focus();
  });
  for (const b of document.querySelectorAll('.lang-btn')) {
    b.addEventListener('click', () => {
      setLang(b.dataset.lang, true);
      announce(t('lang.' + b.dataset.lang));
      route();
    });
  }
  document.getElementById('logout').addEventListener('click', logout);
  // phone menu shade and reachable table scrollers (issue 13)
  document.getElementById('mainnav').addEventListener('scroll', menuShade, { passive: true });
  window.addEventListener('resize', menuShade);
  const mainEl = document.getElementById('main');
  new MutationObserver(() => focusableWraps(mainEl)).observe(mainEl, { childList: true, subtree: true });
  window.addEventListener('hashchange', route);
  window.addEventListener('ks:unauthenticated', () => {
    if (!state.user) return;
    state.user = null;
    setCsrf(null);
    navigate('#/login', { replace: true });
  });
  try {
    const me = await api('/auth/me');
    state.user = me.user;
    setCsrf(me.csrf_token);
    setTimeZone(zoneOf(me));
    setLang(initialLang(me.user.language), false);
  } catch {
    state.user = null;
  }
  document.getElementById('boot-loading')?.remove();
  route();
}

boot();
