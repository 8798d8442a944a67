-- 012_privacy_audit.sql — privacy and audit (issue 11): the audit log of
-- who did what, the retention policy per kind of data, and the record of
-- each GDPR erasure (docs/PRIVACY.md, sections 7-9).

-- Append-only: the code has no UPDATE or DELETE of this table, and the
-- triggers below refuse both, so even a bug or a hand-typed statement on
-- the live file cannot rewrite history. actor_user_id has no foreign key:
-- an account can be erased, its entries stay (they name an id, no person).
-- detail: a small JSON object, never a password, a token or a score.
CREATE TABLE audit_log (
  id            INTEGER PRIMARY KEY,
  at            INTEGER NOT NULL,
  actor_user_id INTEGER,                 -- NULL = the system or an anonymous caller
  client_addr   TEXT NOT NULL DEFAULT '',
  action        TEXT NOT NULL,           -- "case.update", "auth.login_failed", ...
  object_kind   TEXT NOT NULL DEFAULT '',
  object_id     INTEGER,
  detail        TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_actor ON audit_log(actor_user_id, id);
CREATE INDEX audit_log_action ON audit_log(action, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- How long each kind of data is kept, in months (0 = for ever). No row =
-- the default of src/privacy/retention.c (documented in PRIVACY.md).
CREATE TABLE retention_policy (
  kind       TEXT PRIMARY KEY CHECK (kind IN ('open_text','contacts','closed_cases')),
  months     INTEGER NOT NULL CHECK (months BETWEEN 0 AND 240),
  updated_by INTEGER,
  updated_at INTEGER NOT NULL
);
-- When the retention pass last ran (one row, id 1), so the scheduler's
-- pass every second costs one read, and the clean-up runs once an hour.
CREATE TABLE retention_state (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  last_run_at INTEGER NOT NULL
);

-- One row per erasure: what kind of person and which row id was erased,
-- when, by whom, and how many rows went. Never the person's data: the id
-- names a row that no longer exists. subject_id is not unique: a second
-- erase of the same id (a no-op) is not recorded again.
CREATE TABLE erasures (
  id           INTEGER PRIMARY KEY,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('customer','employee')),
  subject_id   INTEGER NOT NULL,
  erased_at    INTEGER NOT NULL,
  erased_by    INTEGER,                   -- users.id; NULL = the command line
  via          TEXT NOT NULL CHECK (via IN ('api','cli')),
  counts       TEXT NOT NULL DEFAULT '{}' -- {"responses": 3, "contacts": 2, ...}
);
CREATE INDEX erasures_subject ON erasures(subject_kind, subject_id);
