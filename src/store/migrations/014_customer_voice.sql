-- 014_customer_voice.sql — the customer's side of the survey (issue 13).
--
-- responses.complete: 0 while a response holds only the score tapped in the
-- invitation mail (the one-click answer, stored and counted at once); the
-- form posted later completes the same row (1). Every response stored
-- before this migration, and every other response, is complete.
-- responses.one_click_at: when the score was last tapped in the mail (NULL
-- when it was not), so a mail scanner's burst of taps can be recognised
-- (docs/API.md "One-click score").
ALTER TABLE responses ADD COLUMN complete INTEGER NOT NULL DEFAULT 1 CHECK (complete IN (0, 1));
ALTER TABLE responses ADD COLUMN one_click_at INTEGER;

-- Answers to yes/no questions ("Was the technician on time?"), by the
-- question's aspect, like response_drivers: 1 yes, 0 no.
CREATE TABLE response_yesno (
  response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
  aspect      TEXT NOT NULL,
  answer      INTEGER NOT NULL CHECK (answer IN (0, 1)),
  PRIMARY KEY (response_id, aspect)
) WITHOUT ROWID;

-- The touchpoint as the customer reads it, per language (NULL = the
-- internal name): "Storing" inside, "Repair visit" to an English customer.
ALTER TABLE touchpoints ADD COLUMN label_nl TEXT;
ALTER TABLE touchpoints ADD COLUMN label_en TEXT;

-- How the organisation speaks to its customers: one row at most (id 1); no
-- row = the defaults. form_of_address: 'je' (informal) or 'u' (formal
-- Dutch; English has one form). organisation_name: the name on every
-- customer page and mail ('' = none given). logo: a small uploaded image
-- (PNG, JPEG or GIF, at most 64 KiB, checked by its magic bytes), shown
-- as a data: URL, so no page or mail loads anything from elsewhere.
CREATE TABLE org_voice (
  id                INTEGER PRIMARY KEY CHECK (id = 1),
  form_of_address   TEXT NOT NULL DEFAULT 'je' CHECK (form_of_address IN ('je', 'u')),
  organisation_name TEXT NOT NULL DEFAULT '',
  logo_type         TEXT CHECK (logo_type IN ('image/png', 'image/jpeg', 'image/gif')),
  logo              BLOB CHECK (logo IS NULL OR length(logo) <= 65536),
  updated_by        INTEGER,
  updated_at        INTEGER
);

-- A one-click response has no open text; the form that completes it may
-- add one (an UPDATE from NULL). The full-text triggers of 005 would then
-- tell FTS5 to delete a row it never held, which corrupts its statistics
-- ("database disk image is malformed"): only rows with a text go in or out.
DROP TRIGGER responses_fts_au;
CREATE TRIGGER responses_fts_au AFTER UPDATE OF open_text ON responses BEGIN
  INSERT INTO responses_fts(responses_fts, rowid, open_text)
    SELECT 'delete', old.id, old.open_text WHERE old.open_text IS NOT NULL;
  INSERT INTO responses_fts(rowid, open_text)
    SELECT new.id, new.open_text WHERE new.open_text IS NOT NULL;
END;
DROP TRIGGER responses_fts_ad;
CREATE TRIGGER responses_fts_ad AFTER DELETE ON responses WHEN old.open_text IS NOT NULL BEGIN
  INSERT INTO responses_fts(responses_fts, rowid, open_text) VALUES ('delete', old.id, old.open_text);
END;
