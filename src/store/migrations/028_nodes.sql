-- 028_nodes.sql — several klantstem nodes on one database (issue 18, NODES).
--
-- On SQLite there is one node: these tables exist (the two dialects keep
-- one schema) and stay empty, and claimed_by stays NULL. On PostgreSQL
-- (pg/028_nodes.sql) they carry what the nodes share:
--
-- nodes: one row per node start (store_open). A node is alive exactly
-- while it holds its advisory lock (sqlite_nodes.c), not while seen_at is
-- recent: a killed process drops its connection and the lock with it.
CREATE TABLE nodes (
  id          INTEGER PRIMARY KEY,
  host        TEXT,
  pid         INTEGER,
  started_at  INTEGER NOT NULL,
  seen_at     INTEGER NOT NULL
);

-- change_feed: what a node keeps in memory (the analytics index, the text
-- context, names) and another node changed. Filled by triggers on
-- PostgreSQL only, read by every other node's follower (pg_follow.c).
-- xid: the writing transaction's id (pg_current_xact_id), the follower's
-- cursor — no sequence: its order is not commit order, and a nextval in a
-- trigger would move the writer's lastval(). A row is known by (xid, kind,
-- ref_id). node: the writer (NULL = not a node: psql, a migration). b_*:
-- the scores a 'response_update' had before, which the index may need to
-- find its row.
CREATE TABLE change_feed (
  xid      INTEGER NOT NULL,
  node     INTEGER,
  kind     TEXT NOT NULL,
  ref_id   INTEGER,
  b_nps    INTEGER,
  b_grade  INTEGER,
  b_ces    INTEGER,
  at       INTEGER NOT NULL
);
CREATE INDEX change_feed_xid ON change_feed(xid);

-- The login throttle's counts (src/auth/auth.c) when they are shared: on
-- PostgreSQL every node counts the same failures, so a guesser spread over
-- the nodes behind a load balancer meets the same limits as on one node.
-- key: the throttle's hash of the account and/or client address (no
-- address or e-mail in clear); since: the start of the window; fails: the
-- failures in it. Unused on SQLite (one node counts in memory).
CREATE TABLE login_throttle (
  key    INTEGER PRIMARY KEY,
  since  INTEGER NOT NULL,
  fails  INTEGER NOT NULL
);

-- The node whose scheduler claimed a row ('sending'): recovery puts back
-- only the claims of nodes that are gone (NULL = claimed before 028, or on
-- SQLite, where the one node recovers everything at start).
ALTER TABLE invitations ADD COLUMN claimed_by INTEGER;
ALTER TABLE webhook_outbox ADD COLUMN claimed_by INTEGER;
ALTER TABLE case_mails ADD COLUMN claimed_by INTEGER;
ALTER TABLE case_digests ADD COLUMN claimed_by INTEGER;
ALTER TABLE guard_mails ADD COLUMN claimed_by INTEGER;
ALTER TABLE compliments ADD COLUMN claimed_by INTEGER;
ALTER TABLE pulse_invitations ADD COLUMN claimed_by INTEGER;
ALTER TABLE digest_mails ADD COLUMN claimed_by INTEGER;
