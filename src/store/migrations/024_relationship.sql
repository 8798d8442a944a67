-- 024_relationship.sql — relationship surveys (issue 16, "The silent mass"; H6):
-- a periodic survey of a random sample drawn from ALL customers, stratified by
-- segment (src/invite/relationship.c, src/store/invite/sqlite_relationship.c,
-- src/api/api_relationship.c; docs/API.md "Relationship surveys",
-- docs/STATISTICS.md §12).
--
-- How a relationship invitation is told apart from a contact-driven one:
-- sending a wave creates, per invited customer, a contact on a relationship
-- touchpoint (relationship_touchpoints) with channel 'relationship', and an
-- invitation for it. So the existing machinery (scheduler, reminders, the
-- survey page, the funnel) works unchanged, and every response, invitation
-- and contact of a wave carries channel = 'relationship'. The contact-driven
-- figures of the wave report exclude that channel.

-- The channel of relationship contacts. Not in model_channels: nobody can
-- post a contact with it through /api/v1/contacts.
INSERT OR IGNORE INTO channels VALUES ('relationship', 'Relatieonderzoek', 'Relationship survey');

-- Touchpoints made for relationship waves (one per survey: the survey page
-- shows the touchpoint's survey). Their survey rule is disabled, so a
-- contact posted to one by mistake is never invited.
CREATE TABLE relationship_touchpoints (
  touchpoint_id INTEGER PRIMARY KEY REFERENCES touchpoints(id),
  survey_id     INTEGER NOT NULL UNIQUE REFERENCES surveys(id)
);

-- A wave. seed: 16 hex digits, from libsodium's randombytes at the draw
-- unless the draw was given one; with the frame (relationship_strata) and
-- the sample rows it lets anyone re-check the draw. period: the whole
-- month, quarter or year ('2026-Q4') whose contact-driven NPS the wave is
-- compared with.
CREATE TABLE relationship_waves (
  id               INTEGER PRIMARY KEY,
  name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  survey_id        INTEGER NOT NULL REFERENCES surveys(id),
  touchpoint_id    INTEGER REFERENCES touchpoints(id),      -- set when sent
  period           TEXT NOT NULL,
  sample_size      INTEGER NOT NULL CHECK (sample_size BETWEEN 1 AND 1000000),
  allocation       TEXT NOT NULL DEFAULT 'proportional' CHECK (allocation IN ('proportional', 'equal')),
  min_per_stratum  INTEGER NOT NULL DEFAULT 0 CHECK (min_per_stratum >= 0),
  replace_excluded INTEGER NOT NULL DEFAULT 1 CHECK (replace_excluded IN (0, 1)),
  fatigue_days     INTEGER NOT NULL DEFAULT 30 CHECK (fatigue_days BETWEEN 0 AND 365),
  seed             TEXT CHECK (seed IS NULL OR length(seed) = 16),
  status           TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'drawn', 'sent', 'closed')),
  population       INTEGER,                                 -- customers in the frame at the draw
  created_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at       INTEGER NOT NULL,
  drawn_at         INTEGER,
  sent_at          INTEGER,
  closed_at        INTEGER
);

-- The frame at the draw, per stratum ('' = customers without a segment):
-- its size and the allocated sample size. The weights of the report and
-- the base of its representativeness table come from here.
CREATE TABLE relationship_strata (
  wave_id    INTEGER NOT NULL REFERENCES relationship_waves(id) ON DELETE CASCADE,
  stratum    TEXT NOT NULL,
  population INTEGER NOT NULL,
  allocated  INTEGER NOT NULL,
  PRIMARY KEY (wave_id, stratum)
) WITHOUT ROWID;

-- The sample: every customer the draw looked at, in the order of its random
-- key within the stratum (draw_rank 1, 2, ...), selected or excluded (and
-- why). contact_id / invitation_id are set when the wave is sent; a GDPR
-- erasure deletes those rows (SET NULL here), the sample row stays.
CREATE TABLE relationship_sample (
  wave_id       INTEGER NOT NULL REFERENCES relationship_waves(id) ON DELETE CASCADE,
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  stratum       TEXT NOT NULL,
  draw_rank     INTEGER NOT NULL,
  excluded      TEXT CHECK (excluded IN ('fatigue', 'opted_out', 'no_email')),
  excluded_at   TEXT CHECK (excluded_at IN ('draw', 'send')),
  contact_id    INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
  invitation_id INTEGER REFERENCES invitations(id) ON DELETE SET NULL,
  PRIMARY KEY (wave_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX relationship_sample_contact ON relationship_sample(contact_id);

-- A wave per quarter (one schedule per organisation, id 1; no row = off).
-- On or after day `day_of_month` of a quarter's first month (or any later
-- day of the quarter) in which no scheduled wave was made yet
-- (last_period), the server's relationship scheduler makes the quarter's
-- wave with these settings, draws it with a random seed and sends it.
CREATE TABLE relationship_schedule (
  id               INTEGER PRIMARY KEY CHECK (id = 1),
  enabled          INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
  survey_id        INTEGER REFERENCES surveys(id),
  sample_size      INTEGER NOT NULL DEFAULT 400 CHECK (sample_size BETWEEN 1 AND 1000000),
  allocation       TEXT NOT NULL DEFAULT 'proportional' CHECK (allocation IN ('proportional', 'equal')),
  min_per_stratum  INTEGER NOT NULL DEFAULT 0 CHECK (min_per_stratum >= 0),
  replace_excluded INTEGER NOT NULL DEFAULT 1 CHECK (replace_excluded IN (0, 1)),
  fatigue_days     INTEGER NOT NULL DEFAULT 30 CHECK (fatigue_days BETWEEN 0 AND 365),
  day_of_month     INTEGER NOT NULL DEFAULT 1 CHECK (day_of_month BETWEEN 1 AND 28),
  last_period      TEXT,
  last_wave_id     INTEGER REFERENCES relationship_waves(id) ON DELETE SET NULL,
  last_error       TEXT,
  updated_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
  updated_at       INTEGER
);
