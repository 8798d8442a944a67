-- 021_review_invites.sql — review invitations (issue 16, part H3;
-- src/store/customers/sqlite_review.c, src/api/api_review.c): after a
-- promoter's survey answer the thank-you page invites the customer to write
-- a public review on the organisation's review page, through /r/{token}.
--
-- review_settings: one row at most (id 1); no row = off. url is the review
-- page (https only, checked by the API); audience (issue 16 H7) who is
-- invited: 'all' (the default: everyone who answered) or 'promoters' (NPS >=
-- min_nps; "review gating", which Google's and Trustpilot's review policies
-- forbid — the admin page and docs/API.md say so); min_nps the lowest NPS
-- that is invited under 'promoters' (9); interval_days: at most one
-- invitation per customer in that many days (a customer answering every
-- month is asked twice a year).
CREATE TABLE review_settings (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  enabled       INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
  url           TEXT NOT NULL DEFAULT '',
  audience      TEXT NOT NULL DEFAULT 'all' CHECK (audience IN ('all', 'promoters')),
  min_nps       INTEGER NOT NULL DEFAULT 9 CHECK (min_nps BETWEEN 0 AND 10),
  interval_days INTEGER NOT NULL DEFAULT 180 CHECK (interval_days BETWEEN 1 AND 3650),
  updated_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
  updated_at    INTEGER
);

-- One invitation per response at most. token: the public name of the link
-- (/r/{token}), random. clicked_at: the first click (a click is counted
-- once per token; every click still redirects); clicks: all of them.
-- reviewed_mention_id: the first mention (020_mentions.sql) of the same
-- customer created at or after the invitation, set by the triggers below in
-- the mention's own transaction — "wrote a review" is that column.
-- audience: the setting in force when it was made (the counts per audience).
-- A customer's erasure or a response's retention takes its invitations along.
CREATE TABLE review_invitations (
  id                  INTEGER PRIMARY KEY,
  response_id         INTEGER NOT NULL UNIQUE REFERENCES responses(id) ON DELETE CASCADE,
  customer_id         INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  token               TEXT NOT NULL UNIQUE CHECK (length(token) BETWEEN 16 AND 64),
  sent_at             INTEGER NOT NULL,
  clicked_at          INTEGER,
  clicks              INTEGER NOT NULL DEFAULT 0,
  reviewed_mention_id INTEGER REFERENCES mentions(id) ON DELETE SET NULL,
  audience            TEXT NOT NULL DEFAULT 'all' CHECK (audience IN ('all', 'promoters'))
);
CREATE INDEX review_invitations_customer ON review_invitations(customer_id, sent_at);
CREATE INDEX review_invitations_sent ON review_invitations(sent_at);
-- issue 16 H7: a mention credits one invitation at most ("wrote" counts
-- reviews, and one review is not two).
CREATE UNIQUE INDEX review_invitations_mention ON review_invitations(reviewed_mention_id)
  WHERE reviewed_mention_id IS NOT NULL;

-- A mention linked to a customer credits that customer's latest invitation
-- sent at or before the mention was written, when it has none yet. Both on
-- insert and when an update links the customer or moves created_at (an
-- edited review, or a customer_external_id that matched later). issue 16
-- H7: an update first takes back a credit that no longer holds (another
-- customer now, none, or written before that invitation was sent), then
-- credits only when no invitation holds the mention — an edit that moves a
-- review past a later invitation keeps its first credit, not two.
CREATE TRIGGER review_invitations_mention_insert AFTER INSERT ON mentions
WHEN NEW.customer_id IS NOT NULL
BEGIN
  UPDATE review_invitations SET reviewed_mention_id = NEW.id
   WHERE reviewed_mention_id IS NULL
     AND id = (SELECT id FROM review_invitations
                WHERE customer_id = NEW.customer_id AND sent_at <= NEW.created_at
                ORDER BY sent_at DESC, id DESC LIMIT 1);
END;
CREATE TRIGGER review_invitations_mention_update AFTER UPDATE OF customer_id, created_at ON mentions
WHEN OLD.customer_id IS NOT NEW.customer_id OR OLD.created_at IS NOT NEW.created_at
BEGIN
  UPDATE review_invitations SET reviewed_mention_id = NULL
   WHERE reviewed_mention_id = NEW.id
     AND (NEW.customer_id IS NULL OR customer_id <> NEW.customer_id OR sent_at > NEW.created_at);
  UPDATE review_invitations SET reviewed_mention_id = NEW.id
   WHERE NEW.customer_id IS NOT NULL
     AND reviewed_mention_id IS NULL
     AND NOT EXISTS (SELECT 1 FROM review_invitations WHERE reviewed_mention_id = NEW.id)
     AND id = (SELECT id FROM review_invitations
                WHERE customer_id = NEW.customer_id AND sent_at <= NEW.created_at
                ORDER BY sent_at DESC, id DESC LIMIT 1);
END;
