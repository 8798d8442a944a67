-- 026_pulse.sql — the employee engagement pulse (eNPS; issue 17 P).
-- src/pulse/pulse.c, src/store/governance/sqlite_pulse.c, src/api/api_pulse.c;
-- docs/PRIVACY.md "Employee pulse" and docs/GOVERNANCE.md "Employee pulse (eNPS)".
--
-- The promise: no answer can be linked to a person from the database.
--  * pulse_invitations knows who was asked (for the mail outbox) and the
--    team they were in when the wave opened — not whether they answered.
--  * pulse_used_tokens knows that some link was used: a second hash of the
--    token (SHA-256 of "used:" || token), which cannot be matched to an
--    invitation's token_hash, and no employee.
--  * pulse_answers knows what was answered, in which wave and under which
--    team (the invitation's team at the wave's opening) — and nothing else:
--    no employee, no invitation, no timestamp (the wave is the finest time),
--    no language, and a random primary key, so the row order says nothing
--    about the order of the answers or of the invitations.
--  * Results exist only for a closed wave: at closing, the suppressed cells
--    on the org tree of that moment and the comments that may be shown are
--    written once (pulse_cells, pulse_cell_comments) and every later read
--    serves those rows, so neither a colleague's answer in an open wave nor
--    a reorganisation after the close can be read by differencing.

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
-- finalised: the wave's cells and comments are in pulse_cells (1), done
-- once, right after closing.
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
  finalised  INTEGER NOT NULL DEFAULT 0 CHECK (finalised IN (0, 1)),
  created_by INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX pulse_waves_period ON pulse_waves(period);

-- An invitation per employee per wave; the row is the mail outbox
-- (sqlite_outbox.c). token_hash: SHA-256 (hex) of the link's token, made
-- when the mail is composed; the token itself is only in the mail.
-- team_id: the employee's team when the wave opened: the answer is filed
-- under it (an admin cannot move people in or out to change where an
-- answer lands). Nothing here says whether the link was used.
CREATE TABLE pulse_invitations (
  id              INTEGER PRIMARY KEY,
  wave_id         INTEGER NOT NULL REFERENCES pulse_waves(id) ON DELETE CASCADE,
  employee_id     INTEGER REFERENCES employees(id) ON DELETE SET NULL,
  team_id         INTEGER REFERENCES org_units(id),
  language        TEXT NOT NULL CHECK (language IN ('nl', 'en')),
  token_hash      TEXT UNIQUE,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  claimed_at      INTEGER,
  last_error      TEXT,
  sent_at         INTEGER,
  UNIQUE (wave_id, employee_id)
);
CREATE INDEX pulse_invitations_due ON pulse_invitations(status, next_attempt_at);

-- Used links: SHA-256 (hex) of "used:" || token. Not the token_hash of
-- any invitation, so which invitation (and person) answered is not
-- recorded; WITHOUT ROWID: no insertion order either.
CREATE TABLE pulse_used_tokens (
  hash    TEXT PRIMARY KEY,
  wave_id INTEGER NOT NULL REFERENCES pulse_waves(id) ON DELETE CASCADE
) WITHOUT ROWID;

-- The teams of a wave as it opened. changed: someone joined the team
-- (a new employee, or one from another team) in the 28 days before the
-- opening; such a team's figures are hidden ("composition changed"), so
-- filling a team with people whose answers one knows cannot isolate the
-- others'.
CREATE TABLE pulse_wave_teams (
  wave_id INTEGER NOT NULL REFERENCES pulse_waves(id) ON DELETE CASCADE,
  team_id INTEGER NOT NULL REFERENCES org_units(id),
  changed INTEGER NOT NULL CHECK (changed IN (0, 1)),
  PRIMARY KEY (wave_id, team_id)
) WITHOUT ROWID;

-- The answers. id: random 63-bit (libsodium), never sequential. team_id:
-- the answerer's team when the wave opened (the invitation's). No
-- employee, no invitation, no time, no language.
CREATE TABLE pulse_answers (
  id       INTEGER PRIMARY KEY,
  wave_id  INTEGER NOT NULL REFERENCES pulse_waves(id) ON DELETE CASCADE,
  team_id  INTEGER NOT NULL REFERENCES org_units(id),
  enps     INTEGER NOT NULL CHECK (enps BETWEEN 0 AND 10),
  item1    INTEGER CHECK (item1 BETWEEN 1 AND 5),
  item2    INTEGER CHECK (item2 BETWEEN 1 AND 5),
  item3    INTEGER CHECK (item3 BETWEEN 1 AND 5),
  comment  TEXT CHECK (comment IS NULL OR length(comment) BETWEEN 1 AND 2000)
);
CREATE INDEX pulse_answers_wave ON pulse_answers(wave_id, team_id);

-- A closed wave's results, written once at closing (src/pulse/pulse.c
-- pulse_wave_finalise) on the org tree of that moment. state: shown |
-- hidden (too few, or protecting another cell) | changed (composition) |
-- none (no answers). Figures are kept for shown cells only (0 otherwise):
-- what the suppression protects is never stored next to it.
CREATE TABLE pulse_cells (
  wave_id    INTEGER NOT NULL REFERENCES pulse_waves(id) ON DELETE CASCADE,
  unit_id    INTEGER NOT NULL,
  parent_id  INTEGER NOT NULL,
  level      INTEGER NOT NULL CHECK (level IN (0, 1, 2)),
  name       TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('shown', 'hidden', 'changed', 'none')),
  n          INTEGER NOT NULL DEFAULT 0,
  promoters  INTEGER NOT NULL DEFAULT 0,
  passives   INTEGER NOT NULL DEFAULT 0,
  detractors INTEGER NOT NULL DEFAULT 0,
  item1_n INTEGER NOT NULL DEFAULT 0, item1_sum INTEGER NOT NULL DEFAULT 0,
  item2_n INTEGER NOT NULL DEFAULT 0, item2_sum INTEGER NOT NULL DEFAULT 0,
  item3_n INTEGER NOT NULL DEFAULT 0, item3_sum INTEGER NOT NULL DEFAULT 0,
  comments   INTEGER NOT NULL DEFAULT 0 CHECK (comments IN (0, 1)),
  min_group  INTEGER NOT NULL,
  min_group_comments INTEGER NOT NULL,
  PRIMARY KEY (wave_id, unit_id)
) WITHOUT ROWID;

-- The comments a shown unit of a closed wave shows (those of its teams
-- of at least min_group_comments answers), in a random order (random id).
CREATE TABLE pulse_cell_comments (
  id      INTEGER PRIMARY KEY,
  wave_id INTEGER NOT NULL REFERENCES pulse_waves(id) ON DELETE CASCADE,
  unit_id INTEGER NOT NULL,
  comment TEXT NOT NULL
);
CREATE INDEX pulse_cell_comments_unit ON pulse_cell_comments(wave_id, unit_id);
