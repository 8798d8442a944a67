-- 015 coaching (issue 13): a team lead's compliment on a Wall of Fame item,
-- told to the employee by mail (this table is its outbox, sent by the
-- scheduler's pass like the case mails) and on their own dashboard.
-- One compliment per item and sender: a second one is a 409, not a second mail.
CREATE TABLE compliments (
  id              INTEGER PRIMARY KEY,
  response_id     INTEGER NOT NULL REFERENCES responses(id),
  employee_id     INTEGER NOT NULL REFERENCES employees(id),
  from_user_id    INTEGER NOT NULL REFERENCES users(id),
  note            TEXT,
  created_at      INTEGER NOT NULL,
  -- the mail. Its address is not copied here: it is looked up when the
  -- mail is sent (the employee's, else their account's), so an erased or
  -- changed address is never used and never kept twice. 'none': the employee
  -- had no address when the compliment was made.
  language        TEXT NOT NULL DEFAULT 'nl',
  mail_status     TEXT NOT NULL DEFAULT 'pending'
                  CHECK (mail_status IN ('none','pending','sending','sent','failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  claimed_at      INTEGER,
  message_id      TEXT NOT NULL UNIQUE,
  last_error      TEXT,
  sent_at         INTEGER,
  UNIQUE (response_id, from_user_id)
);
CREATE INDEX compliments_employee ON compliments(employee_id, id);
CREATE INDEX compliments_due ON compliments(mail_status, next_attempt_at);
