-- 005_dashboards.sql — dashboards (issue 5): full-text search over open
-- answers (the verbatim explorer and the walls), team goals per period and
-- team settings (what the team agreed to share).

-- External-content FTS5 index: the text lives only in responses.open_text;
-- the index holds the tokens, under the response's id as rowid. unicode61
-- with remove_diacritics 2 folds case and accents ("één" finds "een",
-- "geholpen" finds "Geholpen"). The triggers keep it current on every
-- write path (the group-commit writer, the survey page, bulk loads).
CREATE VIRTUAL TABLE responses_fts USING fts5(
  open_text,
  content = 'responses',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

-- Only answers with text enter the index: most responses have none, and the
-- ingest path should not pay for an empty document each.
CREATE TRIGGER responses_fts_ai AFTER INSERT ON responses WHEN new.open_text IS NOT NULL BEGIN
  INSERT INTO responses_fts(rowid, open_text) VALUES (new.id, new.open_text);
END;
CREATE TRIGGER responses_fts_ad AFTER DELETE ON responses BEGIN
  INSERT INTO responses_fts(responses_fts, rowid, open_text) VALUES ('delete', old.id, old.open_text);
END;
CREATE TRIGGER responses_fts_au AFTER UPDATE OF open_text ON responses BEGIN
  INSERT INTO responses_fts(responses_fts, rowid, open_text) VALUES ('delete', old.id, old.open_text);
  INSERT INTO responses_fts(rowid, open_text) VALUES (new.id, new.open_text);
END;

-- Existing answers: index them all now.
INSERT INTO responses_fts(responses_fts) VALUES ('rebuild');

-- A target per unit, period and metric. period: "2026", "2026-Q1" or
-- "2026-03"; metric: nps (target -100..100) or grade (1..10), checked by
-- the API. Team-level targets, never individual ones (shared/DOMAIN.md).
CREATE TABLE team_goals (
  team_id    INTEGER NOT NULL REFERENCES org_units(id),
  period     TEXT NOT NULL,
  metric     TEXT NOT NULL CHECK (metric IN ('nps','grade')),
  target     REAL NOT NULL,
  set_by     INTEGER REFERENCES users(id),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (team_id, period, metric)
) WITHOUT ROWID;

-- What a team agreed on. No row = the defaults: colleagues' individual
-- scores are not shown to each other (no individual ranking by default).
CREATE TABLE team_settings (
  team_id                INTEGER PRIMARY KEY REFERENCES org_units(id),
  share_colleague_scores INTEGER NOT NULL DEFAULT 0 CHECK (share_colleague_scores IN (0,1)),
  updated_at             INTEGER NOT NULL
);
