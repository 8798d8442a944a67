-- 009_org_settings.sql — the organisation's own settings (issue 10): what a
-- reader sees of other people's open answers (docs/PRIVACY.md, section 5).
--
-- One row at most (id 1); no row = the defaults. verbatim_detail:
--   exact      the text, the employee who served the customer, the exact
--              NPS and grade (the behaviour before this migration);
--   band       the text, the employee, and only the band (promoter,
--              passive, detractor) — the default: coaching, not judging;
--   anonymous  the text and the band, no employee.
-- A reader always sees the open answers about themselves exactly; the API
-- applies the setting (src/api/api_dashboard.c). updated_by: users.id of
-- the admin who last changed it.
CREATE TABLE org_settings (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  verbatim_detail TEXT NOT NULL DEFAULT 'band'
                  CHECK (verbatim_detail IN ('exact','band','anonymous')),
  updated_by      INTEGER,
  updated_at      INTEGER
);
