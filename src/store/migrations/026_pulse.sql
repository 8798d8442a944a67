-- 026_pulse.sql — the employee engagement pulse (eNPS; issue 17 P).
-- src/pulse/pulse.c, src/store/governance/sqlite_pulse.c, src/api/api_pulse.c;
-- docs/PRIVACY.md "Employee pulse" and docs/GOVERNANCE.md "Employee pulse (eNPS)".
--
-- The promise: no answer can be linked to a person from the database.
--  * pulse_invitations knows who was asked and whether they answered (yes /
--    no, never when), so a reminder skips them and a second answer is
--    refused.
--  * pulse_answers knows what was answered, in which wave and in which team
--    (the answerer's team at the time of answering) — and nothing else: no
--    employee, no invitation, no timestamp (the wave is the finest time),
--    and a random primary key, so the row order says nothing about the order
--    of the answers or of the invitations.
-- The invitation's flag and the answer are written in one transaction, and
-- nothing in either row points at the other.

-- The settings (one row). min_group: a group's figures are shown from this
-- many respondents (never below 3); min_group_comments: its comments from
-- this many (never below 5). Question texts may hold {org}, the
-- organisation's name. item3 is optional (two or three engagement items).
CREATE TABLE pulse_settings (
  id                 INTEGER PRIMARY KEY CHECK (id = 1),
  enabled            INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
  cadence_days       INTEGER NOT NULL DEFAULT 28 CHECK (cadence_days BETWEEN 7 AND 366),
  open_days          INTEGER NOT NULL DEFAULT 7 CHECK (open_days BETWEEN 1 AND 60),
  min_group          INTEGER NOT NULL DEFAULT 5 CHECK (min_group BETWEEN 3 AND 1000),
  min_group_comments INTEGER NOT NULL DEFAULT 5 CHECK (min_group_comments BETWEEN 5 AND 1000),
  language           TEXT NOT NULL DEFAULT 'nl' CHECK (language IN ('nl', 'en')),
  enps_nl            TEXT NOT NULL,
  enps_en            TEXT NOT NULL,
  item1_nl           TEXT NOT NULL,
  item1_en           TEXT NOT NULL,
  item2_nl           TEXT NOT NULL,
  item2_en           TEXT NOT NULL,
  item3_nl           TEXT,
  item3_en           TEXT,
  open_nl            TEXT NOT NULL,
  open_en            TEXT NOT NULL,
  updated_by         INTEGER REFERENCES users(id) ON DELETE SET NULL,
  updated_at         INTEGER,
  CHECK ((item3_nl IS NULL) = (item3_en IS NULL))
);
INSERT INTO pulse_settings (id, enps_nl, enps_en, item1_nl, item1_en, item2_nl, item2_en, item3_nl,
                            item3_en, open_nl, open_en)
VALUES (1,
  'Hoe waarschijnlijk is het dat je {org} aanbeveelt als werkgever?',
  'How likely are you to recommend us as a place to work?',
  'Ik krijg de ruimte om klanten goed te helpen.',
  'I have the room to help customers well.',
  'Ik weet wat er van mij verwacht wordt.',
  'I know what is expected of me.',
  'Ik ben trots op het werk van mijn team.',
  'I am proud of my team''s work.',
  'Wat zou je werk beter maken?',
  'What would make your work better?');

-- A wave: opened (by the scheduler every cadence_days, or by an admin),
-- closes at closes_at. period: the local month of opening ('2026-12'), the
-- period eNPS is reported in. questions: the texts as they were at opening
-- (JSON), so a later change of the settings does not relabel old answers.
-- invited / answered: counts (the answered count says how many, not who).
CREATE TABLE pulse_waves (
  id         INTEGER PRIMARY KEY,
  period     TEXT NOT NULL CHECK (length(period) = 7),
  opened_at  INTEGER NOT NULL,
  closes_at  INTEGER NOT NULL,
  status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  scheduled  INTEGER NOT NULL DEFAULT 0 CHECK (scheduled IN (0, 1)),
  questions  TEXT NOT NULL,
  invited    INTEGER NOT NULL DEFAULT 0,
  answered   INTEGER NOT NULL DEFAULT 0,
  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX pulse_waves_period ON pulse_waves(period);

-- An invitation per employee per wave; the row is the mail outbox
-- (sqlite_outbox.c). token_hash: SHA-256 (hex) of the link's token, made
-- when the mail is composed; the token itself is only in the mail.
-- answered: 0 / 1, deliberately without a time.
CREATE TABLE pulse_invitations (
  id              INTEGER PRIMARY KEY,
  wave_id         INTEGER NOT NULL REFERENCES pulse_waves(id) ON DELETE CASCADE,
  employee_id     INTEGER REFERENCES employees(id) ON DELETE SET NULL,
  language        TEXT NOT NULL CHECK (language IN ('nl', 'en')),
  token_hash      TEXT UNIQUE,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  claimed_at      INTEGER,
  last_error      TEXT,
  sent_at         INTEGER,
  answered        INTEGER NOT NULL DEFAULT 0 CHECK (answered IN (0, 1)),
  UNIQUE (wave_id, employee_id)
);
CREATE INDEX pulse_invitations_due ON pulse_invitations(status, next_attempt_at);

-- The answers. id: random 63-bit (libsodium), never sequential. team_id:
-- the answerer's org unit at the time of answering. No employee, no
-- invitation, no time.
CREATE TABLE pulse_answers (
  id       INTEGER PRIMARY KEY,
  wave_id  INTEGER NOT NULL REFERENCES pulse_waves(id) ON DELETE CASCADE,
  team_id  INTEGER NOT NULL REFERENCES org_units(id),
  enps     INTEGER NOT NULL CHECK (enps BETWEEN 0 AND 10),
  item1    INTEGER CHECK (item1 BETWEEN 1 AND 5),
  item2    INTEGER CHECK (item2 BETWEEN 1 AND 5),
  item3    INTEGER CHECK (item3 BETWEEN 1 AND 5),
  comment  TEXT CHECK (comment IS NULL OR length(comment) BETWEEN 1 AND 2000),
  language TEXT NOT NULL CHECK (language IN ('nl', 'en'))
);
CREATE INDEX pulse_answers_wave ON pulse_answers(wave_id, team_id);
