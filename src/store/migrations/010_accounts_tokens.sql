-- 010_accounts_tokens.sql — accounts and tokens (issue 11).
--
-- API tokens get an id (to list and revoke them without ever showing the
-- secret again), an expiry and the time of last use. SQLite cannot add a
-- primary key to a WITHOUT ROWID table, so the table is rebuilt. Tokens
-- that existed before this version get 90 days from the upgrade: an
-- upgrade must not cut off a running machine client without notice.
CREATE TABLE api_tokens_010 (
  id           INTEGER PRIMARY KEY,
  token_hash   TEXT NOT NULL UNIQUE,
  user_id      INTEGER NOT NULL REFERENCES users(id),
  name         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_used_at INTEGER            -- NULL = never; updated at most once a minute
);
INSERT INTO api_tokens_010(token_hash, user_id, name, created_at, expires_at)
  SELECT token_hash, user_id, name, created_at, CAST(strftime('%s', 'now') AS INTEGER) + 90 * 86400
  FROM api_tokens ORDER BY created_at;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_010 RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens(user_id);
CREATE INDEX api_tokens_expiry ON api_tokens(expires_at);

-- The sweep deletes expired sessions by this index.
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- A deleted account stays as a tombstone (disabled, no e-mail address,
-- name and password of its own): notes, cases, actions, goals and logs
-- that name it keep a valid reference. NULL = not deleted.
ALTER TABLE users ADD COLUMN deleted_at INTEGER;
