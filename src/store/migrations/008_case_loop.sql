-- 008_case_loop.sql — closing the loop (issue 6, second part): the
-- customer's consent to be contacted, the times that make SLA and
-- time-to-contact measurable, escalation, the outcome, the message to the
-- customer and the re-survey; an outbox for case mails; two more alert
-- rule kinds and SLAs counted in working days.

-- Asked on the survey ("may we contact you about your answer?"):
-- 1 yes, 0 no, NULL not asked. A case takes it from its responses.
ALTER TABLE responses ADD COLUMN contact_consent INTEGER CHECK (contact_consent IN (0, 1));
-- repeat_low looks up the customer's earlier scores for every low one.
CREATE INDEX responses_customer ON responses(customer_id, received_at) WHERE customer_id IS NOT NULL;

ALTER TABLE cases ADD COLUMN first_contact_at INTEGER;
ALTER TABLE cases ADD COLUMN resolved_at INTEGER;
ALTER TABLE cases ADD COLUMN escalated_at INTEGER;
ALTER TABLE cases ADD COLUMN escalated_to_user_id INTEGER REFERENCES users(id);
ALTER TABLE cases ADD COLUMN relationship_restored INTEGER;
ALTER TABLE cases ADD COLUMN customer_retained INTEGER;
ALTER TABLE cases ADD COLUMN customer_message TEXT;
-- none | queued | sent | failed | no_consent | opted_out | no_email
ALTER TABLE cases ADD COLUMN customer_message_status TEXT NOT NULL DEFAULT 'none';
ALTER TABLE cases ADD COLUMN resurvey_invitation_id INTEGER REFERENCES invitations(id);
-- The escalation pass looks for open, unescalated cases past their deadline.
CREATE INDEX cases_due ON cases(deadline)
  WHERE status IN ('new','contacted') AND escalated_at IS NULL;
CREATE INDEX cases_opened ON cases(opened_at);

-- Mails about cases, sent by the scheduler through the same SMTP path as
-- invitations: to the owner when a case opens, to the manager when it is
-- overdue, to the customer when it is resolved. The text is composed when
-- sent, from the case as it is then.
CREATE TABLE case_mails (
  id              INTEGER PRIMARY KEY,
  case_id         INTEGER NOT NULL REFERENCES cases(id),
  kind            TEXT NOT NULL CHECK (kind IN ('opened','overdue','customer')),
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
CREATE INDEX case_mails_due ON case_mails(status, next_attempt_at);
CREATE INDEX case_mails_case ON case_mails(case_id);

-- alert_rules again, for the new kinds (a CHECK cannot be altered):
-- repeat_low fires on an NPS <= threshold when the customer gave another
-- one within window_days before; working_days counts the SLA on Monday to
-- Friday only (Europe/Amsterdam), so "48 hours" is two working days.
CREATE TABLE alert_rules_new (
  id           INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL UNIQUE
               CHECK (kind IN ('nps_max','grade_max','ces_max','words','repeat_low')),
  threshold    INTEGER,
  words        TEXT,
  window_days  INTEGER CHECK (window_days BETWEEN 1 AND 730),
  sla_hours    INTEGER NOT NULL DEFAULT 48 CHECK (sla_hours > 0),
  working_days INTEGER NOT NULL DEFAULT 1,
  enabled      INTEGER NOT NULL DEFAULT 1,
  updated_at   INTEGER
);
INSERT INTO alert_rules_new (id, kind, threshold, words, window_days, sla_hours, working_days,
                             enabled, updated_at)
  SELECT id, kind, threshold, words, NULL, sla_hours, 1, enabled, updated_at FROM alert_rules;
DROP TABLE alert_rules;
ALTER TABLE alert_rules_new RENAME TO alert_rules;
INSERT INTO alert_rules (id, kind, threshold, words, window_days, sla_hours, working_days, enabled)
  VALUES (5, 'repeat_low', 6, NULL, 90, 24, 1, 1);
