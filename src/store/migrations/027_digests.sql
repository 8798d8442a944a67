-- 027_digests.sql — scheduled digests per role by mail (issue 17, part D).
--
-- digest_settings: one row per role that receives a digest. Employees and
-- team leads weekly (covering the last whole ISO week), managers and
-- directors monthly (the last whole month). A weekly digest is due from
-- `weekday` (ISO: 1 = Monday) at `hour`, a monthly one from `day_of_month`
-- at `hour`, both on the organisation's clock (src/core/tz.h). Off until an
-- admin switches a role on: an upgrade mails nobody unasked.
-- last_period: the last period the schedule queued for the role, so a pass
-- looks at the users once per period, not once a second.
CREATE TABLE digest_settings (
  role            TEXT PRIMARY KEY CHECK (role IN ('employee','team_lead','manager','director')),
  cadence         TEXT NOT NULL CHECK (cadence IN ('weekly','monthly')),
  enabled         INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0,1)),
  weekday         INTEGER NOT NULL DEFAULT 1 CHECK (weekday BETWEEN 1 AND 7),
  day_of_month    INTEGER NOT NULL DEFAULT 1 CHECK (day_of_month BETWEEN 1 AND 28),
  hour            INTEGER NOT NULL DEFAULT 8 CHECK (hour BETWEEN 0 AND 23),
  last_period     TEXT,
  updated_by      INTEGER REFERENCES users(id),
  updated_at      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO digest_settings (role, cadence) VALUES
  ('employee', 'weekly'), ('team_lead', 'weekly'), ('manager', 'monthly'), ('director', 'monthly');

-- A user's own choice.
CREATE TABLE digest_prefs (
  user_id           INTEGER PRIMARY KEY REFERENCES users(id),
  opted_out         INTEGER NOT NULL DEFAULT 0 CHECK (opted_out IN (0,1)),
  updated_at        INTEGER NOT NULL
);

-- The unsubscribe links: every digest carries a random token of its own
-- (made when it is claimed for sending); only its SHA-256 is kept, so a
-- copy of the database opts nobody out. Every link ever mailed keeps
-- working; it names its user only, and only stops digests.
CREATE TABLE digest_unsub_tokens (
  token_hash        TEXT PRIMARY KEY,      -- lower hex SHA-256 of the token
  user_id           INTEGER NOT NULL REFERENCES users(id),
  created_at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX digest_unsub_tokens_user ON digest_unsub_tokens(user_id);

-- The outbox: one row per user and period, UNIQUE, so no pass (nor a pass
-- after a crash, nor an admin's "run now") sends a period twice. Moves
-- pending -> sending -> sent | failed like every outbox (sqlite_outbox.c);
-- a claimed row a crash left 'sending' is sent again with its Message-ID.
-- The text is composed when it is sent, from the period's figures.
CREATE TABLE digest_mails (
  id              INTEGER PRIMARY KEY,
  user_id         INTEGER NOT NULL REFERENCES users(id),
  role            TEXT NOT NULL,
  -- the scope it was queued for (users.unit_id / employee_id then): a
  -- digest whose user changed role or unit since is not sent (the content
  -- follows the queued role, which is no longer theirs)
  unit_id         INTEGER,
  employee_id     INTEGER,
  period          TEXT NOT NULL,          -- '2026-W49' (weekly) or '2026-11' (monthly)
  status          TEXT NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending','sending','sent','failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  message_id      TEXT NOT NULL UNIQUE,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  sent_at         INTEGER,
  UNIQUE (user_id, period)
);
CREATE INDEX digest_mails_due ON digest_mails(status, next_attempt_at);
