-- 011: the open-link guard (issue 11). Answers that arrive on a public
-- open link in a burst (beyond the rate considered normal) are held here,
-- outside `responses`: no metric, funnel, analytics index, alert rule,
-- verbatim search or export reads this table, so a held answer counts
-- nowhere until an admin accepts it (it moves into responses, in one
-- transaction per batch) or rejects it (deleted). Nothing acknowledged to
-- a customer is lost either way until an admin decides.

-- A burst: held answers on one touchpoint's open link with no pause of
-- the guard's quiet time between them. held counts what is still waiting.
CREATE TABLE suspect_bursts (
  id            INTEGER PRIMARY KEY,
  touchpoint_id INTEGER NOT NULL REFERENCES touchpoints(id),
  started_at    INTEGER NOT NULL,
  last_at       INTEGER NOT NULL,
  held          INTEGER NOT NULL DEFAULT 0,
  accepted      INTEGER NOT NULL DEFAULT 0,
  rejected      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX suspect_bursts_tp ON suspect_bursts(touchpoint_id, last_at);

-- A held answer: the columns of responses (open links have no contact,
-- customer, employee or team), drivers as a JSON object, and the client
-- address that sent it (personal data: gone with the row on accept or
-- reject).
CREATE TABLE suspect_responses (
  id              INTEGER PRIMARY KEY,
  burst_id        INTEGER NOT NULL REFERENCES suspect_bursts(id),
  client_key      TEXT UNIQUE,
  body_hash       INTEGER NOT NULL DEFAULT 0,
  touchpoint_id   INTEGER NOT NULL REFERENCES touchpoints(id),
  survey_id       INTEGER REFERENCES surveys(id),
  channel         TEXT REFERENCES channels(code),
  language        TEXT NOT NULL CHECK (language IN ('nl','en')),
  nps             INTEGER CHECK (nps BETWEEN 0 AND 10),
  grade           INTEGER CHECK (grade BETWEEN 1 AND 10),
  ces             INTEGER CHECK (ces BETWEEN 1 AND 7),
  drivers         TEXT,
  open_text       TEXT,
  contact_consent INTEGER,
  received_at     INTEGER NOT NULL,
  source          TEXT NOT NULL,
  client_addr     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX suspect_responses_burst ON suspect_responses(burst_id, id);

-- The alert to the admins: one mail per admin per burst, queued in the
-- transaction that opens the burst, sent by the scheduler over SMTP like
-- the case mails (claimed "sending" first; after a crash sent again with
-- the same Message-ID).
CREATE TABLE guard_mails (
  id              INTEGER PRIMARY KEY,
  burst_id        INTEGER NOT NULL REFERENCES suspect_bursts(id),
  to_email        TEXT NOT NULL,
  language        TEXT NOT NULL DEFAULT 'nl',
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending','sending','sent','failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  message_id      TEXT NOT NULL UNIQUE,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  sent_at         INTEGER
);
CREATE INDEX guard_mails_due ON guard_mails(status, next_attempt_at);
