-- 004_accounts.sql — accounts, sessions and API tokens (issue 5).
-- Passwords are argon2id strings (libsodium crypto_pwhash_str); session and
-- API tokens are stored only as BLAKE2b-256 hashes, so a copy of the
-- database does not hand out logins.
CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('employee','team_lead','manager','director','admin')),
  employee_id   INTEGER REFERENCES employees(id),
  unit_id       INTEGER REFERENCES org_units(id),
  language      TEXT NOT NULL DEFAULT 'nl' CHECK (language IN ('nl','en')),
  password_hash TEXT NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id),
  csrf       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id),
  name       TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
