-- 025_kpis.sql — hard KPIs (issue 17, part K): a catalogue of the
-- organisation's own performance figures (share of wallet, cost to serve,
-- absenteeism ...), their monthly values per org unit, and targets.
-- Soft KPIs (NPS, grade, CES, eNPS, response rate, case SLA, theme shares)
-- are computed by src/governance/series.c and never stored here as values;
-- a target may name one (kpi_targets.kpi is a hard key or a soft key).
-- Targets are set on org units only, never on a person: the seed warns
-- against individual bonuses on scores (docs/GOVERNANCE.md "KPIs").

CREATE TABLE kpis (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,            -- [a-z0-9_]{1,40}, e.g. 'cost_to_serve'
  name_nl TEXT NOT NULL, name_en TEXT NOT NULL,
  unit TEXT NOT NULL,                  -- 'EUR', '%', 'index', 'days'...
  higher_is_better INTEGER NOT NULL CHECK (higher_is_better IN (0,1)),
  department TEXT NOT NULL CHECK (department IN ('sales','marketing','finance','operations','hr','service')),
  kind TEXT NOT NULL CHECK (kind IN ('output','outcome','impact')),
  aggregation TEXT NOT NULL CHECK (aggregation IN ('sum','mean','last')),
  builtin INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL);

CREATE TABLE kpi_values (
  kpi_id INTEGER NOT NULL REFERENCES kpis(id) ON DELETE CASCADE,
  unit_id INTEGER NOT NULL REFERENCES org_units(id),
  period TEXT NOT NULL,                -- 'YYYY-MM' (values are monthly)
  value REAL NOT NULL,
  source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api','import','demo')),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kpi_id, unit_id, period)) WITHOUT ROWID;

CREATE TABLE kpi_targets (             -- goals on org units only, never on a person
  kpi TEXT NOT NULL,                   -- a hard kpi key or a soft key (below)
  unit_id INTEGER NOT NULL REFERENCES org_units(id),
  period TEXT NOT NULL,                -- 'YYYY' | 'YYYY-Qn' | 'YYYY-MM'
  target REAL NOT NULL,
  set_by INTEGER REFERENCES users(id),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kpi, unit_id, period)) WITHOUT ROWID;

-- The seed's KPIs (seed 002, docs/GOVERNANCE.md): builtin, so they can be
-- renamed and given targets but not deleted.
INSERT INTO kpis (key, name_nl, name_en, unit, higher_is_better, department, kind, aggregation, builtin, created_at) VALUES
  ('share_of_wallet',  'Klantaandeel (share of wallet)', 'Share of wallet',           '%',     1, 'sales',      'outcome', 'mean', 1, CAST(strftime('%s','now') AS INTEGER)),
  ('acquisition_cost', 'Kosten klantwerving',            'Customer acquisition cost', 'EUR',   0, 'marketing',  'output',  'mean', 1, CAST(strftime('%s','now') AS INTEGER)),
  ('gross_margin',     'Brutomarge',                     'Gross margin',              '%',     1, 'finance',    'impact',  'mean', 1, CAST(strftime('%s','now') AS INTEGER)),
  ('brand_value',      'Merkwaarde',                     'Brand value',               'index', 1, 'marketing',  'impact',  'last', 1, CAST(strftime('%s','now') AS INTEGER)),
  ('cost_to_serve',    'Kosten per bediende klant',      'Cost to serve',             'EUR',   0, 'operations', 'output',  'mean', 1, CAST(strftime('%s','now') AS INTEGER)),
  ('absenteeism',      'Ziekteverzuim',                  'Absenteeism',               '%',     0, 'hr',         'outcome', 'mean', 1, CAST(strftime('%s','now') AS INTEGER)),
  ('attrition',        'Personeelsverloop',              'Attrition',                 '%',     0, 'hr',         'impact',  'mean', 1, CAST(strftime('%s','now') AS INTEGER));
