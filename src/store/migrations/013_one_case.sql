-- 013_one_case.sql — the closed loop, one case per unhappy customer
-- (issue 13). Until 012 every alert rule opened its own case, so one
-- answer could open two or three and a second low score opened another
-- beside the first. From here a customer has at most one open case; each
-- rule that fires on one of their answers becomes a trigger on it, and
-- every step of the case is written to its history.
--
-- The new tables cascade with their case: retention and erasure delete
-- cases (with their notes and mails) and need not know about them.
-- response_id and other_case_id are plain numbers, not references: the
-- history outlives a merged case, and must not hold a response back from
-- an erasure.

-- An answer without a known customer (an open link) gets a case of its own,
-- so customer_id may be NULL from here. SQLite cannot drop a NOT NULL: the
-- table is rebuilt. Its children (responses, notes, mails) keep pointing at
-- the same ids; their references are checked at COMMIT, after the rows are
-- back. This comes before the tables below that cascade with their case.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE cases_copy AS SELECT * FROM cases;
DROP TABLE cases;
CREATE TABLE cases (
  id                      INTEGER PRIMARY KEY,
  customer_id             INTEGER REFERENCES customers(id), -- NULL: no known customer
  reason                  TEXT NOT NULL,
  status                  TEXT NOT NULL DEFAULT 'new'
                          CHECK (status IN ('new','contacted','resolved','closed')),
  opened_at               INTEGER NOT NULL,
  closed_at               INTEGER,
  rule                    TEXT,
  response_id             INTEGER REFERENCES responses(id),
  team_id                 INTEGER REFERENCES org_units(id),
  owner_user_id           INTEGER REFERENCES users(id),
  deadline                INTEGER,
  version                 INTEGER NOT NULL DEFAULT 1,
  root_cause              TEXT,
  outcome                 TEXT,
  consent                 INTEGER,
  updated_at              INTEGER,
  first_contact_at        INTEGER,
  resolved_at             INTEGER,
  escalated_at            INTEGER,
  escalated_to_user_id    INTEGER REFERENCES users(id),
  relationship_restored   INTEGER,
  customer_retained       INTEGER,
  customer_message        TEXT,
  customer_message_status TEXT NOT NULL DEFAULT 'none',
  resurvey_invitation_id  INTEGER REFERENCES invitations(id),
  -- 1 normal, 2 high, 3 urgent: repeat_low and signal words each raise it.
  priority                INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 1 AND 3)
);
INSERT INTO cases (id, customer_id, reason, status, opened_at, closed_at, rule, response_id, team_id,
                   owner_user_id, deadline, version, root_cause, outcome, consent, updated_at,
                   first_contact_at, resolved_at, escalated_at, escalated_to_user_id,
                   relationship_restored, customer_retained, customer_message,
                   customer_message_status, resurvey_invitation_id)
  SELECT id, customer_id, reason, status, opened_at, closed_at, rule, response_id, team_id,
         owner_user_id, deadline, version, root_cause, outcome, consent, updated_at,
         first_contact_at, resolved_at, escalated_at, escalated_to_user_id,
         relationship_restored, customer_retained, customer_message,
         customer_message_status, resurvey_invitation_id FROM cases_copy;
DROP TABLE cases_copy;
CREATE INDEX cases_customer ON cases(customer_id, status);
CREATE INDEX cases_team ON cases(team_id, status);
CREATE INDEX cases_owner ON cases(owner_user_id, status);
CREATE INDEX cases_due ON cases(deadline)
  WHERE status IN ('new','contacted') AND escalated_at IS NULL;
CREATE INDEX cases_opened ON cases(opened_at);

-- Every rule that fired on a response of the case, with its reason in both
-- languages of the UI (written when it fires: the rule's threshold may
-- change later, the reason must not).
CREATE TABLE case_triggers (
  id          INTEGER PRIMARY KEY,
  case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  rule        TEXT NOT NULL,
  response_id INTEGER,
  reason_en   TEXT NOT NULL,
  reason_nl   TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX case_triggers_once ON case_triggers(case_id, rule, coalesce(response_id, 0));

-- What happened to the case, in order. kind:
--   opened     (rule: the first rule)
--   trigger    (rule, response_id)
--   priority   (detail: "from>to")
--   status     (from_status, to_status, user_id)
--   owner      (user_id who changed it, detail: the new owner's id or "")
--   escalated  (detail: the manager's user id)
--   message    (detail: the customer mail's status)
--   merged     (other_case_id: the case folded into this one, rule: its rule)
CREATE TABLE case_history (
  id            INTEGER PRIMARY KEY,
  case_id       INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  at            INTEGER NOT NULL,
  kind          TEXT NOT NULL,
  user_id       INTEGER,
  rule          TEXT,
  response_id   INTEGER,
  from_status   TEXT,
  to_status     TEXT,
  other_case_id INTEGER,
  detail        TEXT
);
CREATE INDEX case_history_case ON case_history(case_id, id);

-- One mail per person per scheduler pass instead of one per escalated
-- case: the pass bundles the pending "overdue" mails of one address into a
-- digest, which is claimed, sent and recovered like any outbox row (the
-- same Message-ID when it is sent again after a crash).
CREATE TABLE case_digests (
  id              INTEGER PRIMARY KEY,
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
CREATE INDEX case_digests_due ON case_digests(status, next_attempt_at);
ALTER TABLE case_mails ADD COLUMN digest_id INTEGER REFERENCES case_digests(id);
CREATE INDEX case_mails_digest ON case_mails(digest_id) WHERE digest_id IS NOT NULL;

-- The triggers of the cases so far: each response of a case fired its rule.
INSERT INTO case_triggers (case_id, rule, response_id, reason_en, reason_nl, created_at)
  SELECT c.id, coalesce(c.rule, ''), cr.response_id, c.reason,
         replace(replace(replace(replace(replace(replace(c.reason,
           'second NPS of at most', 'tweede NPS van hoogstens'), 'at most', 'hoogstens'),
           'within', 'binnen'), ' days', ' dagen'), 'grade', 'cijfer'),
           'signal words in the open answer', 'signaalwoorden in het open antwoord'),
         coalesce(r.received_at, c.opened_at)
    FROM cases c JOIN case_responses cr ON cr.case_id = c.id
    LEFT JOIN responses r ON r.id = cr.response_id;

-- Their history so far, as far as the times on the case tell it.
INSERT INTO case_history (case_id, at, kind, rule)
  SELECT id, opened_at, 'opened', rule FROM cases;
INSERT INTO case_history (case_id, at, kind, rule, response_id)
  SELECT case_id, created_at, 'trigger', rule, response_id FROM case_triggers;
INSERT INTO case_history (case_id, at, kind, from_status, to_status)
  SELECT id, first_contact_at, 'status', 'new', 'contacted' FROM cases WHERE first_contact_at IS NOT NULL;
INSERT INTO case_history (case_id, at, kind, to_status)
  SELECT id, resolved_at, 'status', 'resolved' FROM cases WHERE resolved_at IS NOT NULL;
INSERT INTO case_history (case_id, at, kind, from_status, to_status)
  SELECT id, closed_at, 'status', 'resolved', 'closed' FROM cases WHERE closed_at IS NOT NULL;
INSERT INTO case_history (case_id, at, kind, detail)
  SELECT id, escalated_at, 'escalated', escalated_to_user_id FROM cases WHERE escalated_at IS NOT NULL;

-- Merge today's duplicates: per customer, the oldest open case stays and
-- takes over the others' responses, triggers, notes, mails and history.
CREATE TEMP TABLE case_merge AS
  SELECT id AS dup, keep FROM (
    SELECT id, first_value(id) OVER (PARTITION BY customer_id ORDER BY opened_at, id) AS keep
      FROM cases WHERE status IN ('new','contacted') AND customer_id IS NOT NULL)
  WHERE id <> keep;

INSERT OR IGNORE INTO case_responses (case_id, response_id)
  SELECT m.keep, cr.response_id FROM case_responses cr JOIN case_merge m ON m.dup = cr.case_id;
DELETE FROM case_responses WHERE case_id IN (SELECT dup FROM case_merge);
UPDATE case_triggers SET case_id = (SELECT keep FROM case_merge WHERE dup = case_triggers.case_id)
  WHERE case_id IN (SELECT dup FROM case_merge);
UPDATE case_notes SET case_id = (SELECT keep FROM case_merge WHERE dup = case_notes.case_id)
  WHERE case_id IN (SELECT dup FROM case_merge);
UPDATE case_mails SET case_id = (SELECT keep FROM case_merge WHERE dup = case_mails.case_id)
  WHERE case_id IN (SELECT dup FROM case_merge);
UPDATE case_history SET case_id = (SELECT keep FROM case_merge WHERE dup = case_history.case_id)
  WHERE case_id IN (SELECT dup FROM case_merge);
INSERT INTO case_history (case_id, at, kind, rule, other_case_id)
  SELECT m.keep, CAST(strftime('%s', 'now') AS INTEGER), 'merged', d.rule, m.dup
    FROM case_merge m JOIN cases d ON d.id = m.dup ORDER BY m.keep, m.dup;
-- The case that stays keeps the earliest deadline and escalation of the
-- ones it took in, and an owner when it had none.
UPDATE cases SET
  deadline = (SELECT min(d.deadline) FROM cases d
               WHERE d.id = cases.id OR d.id IN (SELECT dup FROM case_merge WHERE keep = cases.id)),
  escalated_at = coalesce(escalated_at, (SELECT min(d.escalated_at) FROM cases d
               WHERE d.id IN (SELECT dup FROM case_merge WHERE keep = cases.id))),
  escalated_to_user_id = coalesce(escalated_to_user_id, (SELECT d.escalated_to_user_id FROM cases d
               WHERE d.id IN (SELECT dup FROM case_merge WHERE keep = cases.id)
               AND d.escalated_to_user_id IS NOT NULL ORDER BY d.escalated_at LIMIT 1)),
  owner_user_id = coalesce(owner_user_id, (SELECT d.owner_user_id FROM cases d
               WHERE d.id IN (SELECT dup FROM case_merge WHERE keep = cases.id)
               AND d.owner_user_id IS NOT NULL ORDER BY d.id LIMIT 1)),
  version = version + 1
  WHERE id IN (SELECT keep FROM case_merge);
DELETE FROM cases WHERE id IN (SELECT dup FROM case_merge);
DROP TABLE case_merge;

UPDATE cases SET priority = 1 + (SELECT count(DISTINCT t.rule) FROM case_triggers t
                                  WHERE t.case_id = cases.id AND t.rule IN ('repeat_low','words'));

-- Never two open cases for one customer (whatever the rules); answers
-- without a customer (NULL) each have their own.
CREATE UNIQUE INDEX cases_open_customer ON cases(customer_id) WHERE status IN ('new','contacted');
