// export.js — "Export PDF" / "Export Excel" beside a breakdown (issue 17, part X):
// links to GET /api/v1/metrics/export with exactly the breakdown's /metrics
// parameters and the page's language. The server builds the file from the
// same reply as the table on screen, so a hidden cell stays hidden in it.
// Plain links: the session cookie goes with them (a GET needs no CSRF
// token), and the browser saves the attachment.

import { qs } from './api.js';
import { h } from './dom.js';
import { t, lang } from './i18n.js';

export function exportUrl(query, format) {
  return '/api/v1/metrics/export' + qs({ ...query, format, lang: lang() });
}

// The two links for query (the /metrics query of the breakdown shown);
// idPrefix names them: idPrefix + '-pdf' and idPrefix + '-xlsx'.
export function exportLinks(query, idPrefix) {
  const link = (format, label, type) => h('a', {
    class: 'btn btn-secondary', id: idPrefix + '-' + format, href: exportUrl(query, format),
    download: 'klantstem-metrics-export.' + format, type,
  }, label);
  return [link('pdf', t('export.pdf'), 'application/pdf'),
    link('xlsx', t('export.xlsx'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')];
}
