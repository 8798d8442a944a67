-- 007_cases.sql — the closed loop (issue 6): cases opened by alert rules
-- when a response arrives, owned by the team lead (or the team's queue),
-- with a deadline, optimistic concurrency (version), notes, root cause and
-- outcome. Extends the minimal cases table of 002.

ALTER TABLE cases ADD COLUMN rule TEXT;              -- alert_rules.kind that opened it
ALTER TABLE cases ADD COLUMN response_id INTEGER REFERENCES responses(id); -- the first response
ALTER TABLE cases ADD COLUMN team_id INTEGER REFERENCES org_units(id);
ALTER TABLE cases ADD COLUMN owner_user_id INTEGER REFERENCES users(id); -- NULL = the team's queue
ALTER TABLE cases ADD COLUMN deadline INTEGER;
ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN root_cause TEXT;
ALTER TABLE cases ADD COLUMN outcome TEXT;
ALTER TABLE cases ADD COLUMN consent INTEGER;
ALTER TABLE cases ADD COLUMN updated_at INTEGER;

-- Never two open cases for one customer and rule.
CREATE UNIQUE INDEX cases_open_rule ON cases(customer_id, rule)
  WHERE status IN ('new','contacted');
CREATE INDEX cases_team ON cases(team_id, status);
CREATE INDEX cases_owner ON cases(owner_user_id, status);

-- Every response that opened or was added to a case.
CREATE TABLE case_responses (
  case_id     INTEGER NOT NULL REFERENCES cases(id),
  response_id INTEGER NOT NULL REFERENCES responses(id),
  PRIMARY KEY (case_id, response_id)
) WITHOUT ROWID;
CREATE INDEX case_responses_response ON case_responses(response_id);

CREATE TABLE case_notes (
  id         INTEGER PRIMARY KEY,
  case_id    INTEGER NOT NULL REFERENCES cases(id),
  user_id    INTEGER REFERENCES users(id),
  text       TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX case_notes_case ON case_notes(case_id, id);

-- kind: nps_max / grade_max / ces_max fire when the score is <= threshold;
-- words fires when the open answer contains one of the comma-separated
-- words (case-insensitively). One rule per kind.
CREATE TABLE alert_rules (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL UNIQUE CHECK (kind IN ('nps_max','grade_max','ces_max','words')),
  threshold  INTEGER,
  words      TEXT,
  sla_hours  INTEGER NOT NULL DEFAULT 48 CHECK (sla_hours > 0),
  enabled    INTEGER NOT NULL DEFAULT 1,
  updated_at INTEGER
);
INSERT INTO alert_rules (id, kind, threshold, words, sla_hours, enabled) VALUES
  (1, 'nps_max', 6, NULL, 48, 1),
  (2, 'grade_max', 5, NULL, 48, 1),
  (3, 'ces_max', 3, NULL, 48, 1),
  (4, 'words', NULL, 'opzeggen,klacht,cancel,complaint', 48, 1);
