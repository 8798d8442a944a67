-- 002_invitations.sql — the Direct Feedback loop (issue 3): survey rules per
-- touchpoint, invitations with their decision and delivery state, opt-outs,
-- a minimal case table for the "open complaint" exclusion (issue 6 extends
-- it), and an outbox for signed webhooks.

-- An opt-out is for good: once set it is never cleared by the product.
ALTER TABLE customers ADD COLUMN opted_out_at INTEGER;

CREATE TABLE survey_rules (
  touchpoint_id     INTEGER PRIMARY KEY REFERENCES touchpoints(id),
  survey_id         INTEGER REFERENCES surveys(id),
  enabled           INTEGER NOT NULL DEFAULT 1,
  delay_minutes     INTEGER NOT NULL DEFAULT 120,
  quiet_start_hour  INTEGER NOT NULL DEFAULT 21,
  quiet_end_hour    INTEGER NOT NULL DEFAULT 8,
  sample_pct        INTEGER NOT NULL DEFAULT 100,
  fatigue_days      INTEGER NOT NULL DEFAULT 30,
  exclude_open_case INTEGER NOT NULL DEFAULT 0,
  expiry_days       INTEGER NOT NULL DEFAULT 14,
  reminder_days     INTEGER NOT NULL DEFAULT 3,
  updated_at        INTEGER NOT NULL
);

CREATE TABLE cases (
  id          INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers(id),
  reason      TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'new'
              CHECK (status IN ('new','contacted','resolved','closed')),
  opened_at   INTEGER NOT NULL,
  closed_at   INTEGER
);
CREATE INDEX cases_customer ON cases(customer_id, status);

-- One row per contact event: the decision is recorded even when no
-- invitation is sent, so "why was this customer not asked?" has an answer.
-- status: skipped | scheduled | sending | sent | failed
-- reminder_status: none | scheduled | sending | sent | failed | skipped
CREATE TABLE invitations (
  id                INTEGER PRIMARY KEY,
  contact_id        INTEGER NOT NULL UNIQUE REFERENCES contacts(id),
  customer_id       INTEGER NOT NULL REFERENCES customers(id),
  touchpoint_id     INTEGER NOT NULL REFERENCES touchpoints(id),
  team_id           INTEGER REFERENCES org_units(id),
  employee_id       INTEGER REFERENCES employees(id),
  channel           TEXT NOT NULL,
  decision          TEXT NOT NULL,
  status            TEXT NOT NULL,
  email             TEXT,
  send_at           INTEGER,
  attempts          INTEGER NOT NULL DEFAULT 0,
  next_attempt_at   INTEGER,
  last_error        TEXT,
  message_id        TEXT,
  sent_at           INTEGER,
  expires_at        INTEGER,
  reminder_at       INTEGER,
  reminder_status   TEXT NOT NULL DEFAULT 'none',
  reminder_attempts INTEGER NOT NULL DEFAULT 0,
  reminder_sent_at  INTEGER,
  opened_at         INTEGER,
  started_at        INTEGER,
  completed_at      INTEGER,
  unsubscribe_token TEXT UNIQUE,
  created_at        INTEGER NOT NULL
);
CREATE INDEX invitations_due ON invitations(status, next_attempt_at);
CREATE INDEX invitations_reminder ON invitations(reminder_status, reminder_at);
CREATE INDEX invitations_fatigue ON invitations(customer_id, send_at) WHERE decision = 'created';
CREATE INDEX invitations_created ON invitations(created_at);

CREATE TABLE webhook_outbox (
  id              INTEGER PRIMARY KEY,
  event           TEXT NOT NULL,
  payload         TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','sent','failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_status     INTEGER,
  created_at      INTEGER NOT NULL
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(status, next_attempt_at);
