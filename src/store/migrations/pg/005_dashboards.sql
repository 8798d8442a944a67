-- 005_dashboards.sql — dashboards (issue 5): full-text search over open
-- answers (the verbatim explorer and the walls), team goals per period and
-- team settings (what the team agreed to share).

-- External-content FTS5 index: the text lives only in responses.open_text;
-- the index holds the tokens, under the response's id as rowid. unicode61
-- with remove_diacritics 2 folds case and accents ("één" finds "een",
-- "geholpen" finds "Geholpen"). The triggers keep it current on every
-- write path (the group-commit writer, the survey page, bulk loads).
--
-- PostgreSQL (issue 18): a plain table of the same name with the FTS5
-- table's rowid and column, and the tokens as a tsvector under a GIN index.
-- open_text stays NULL: as in SQLite's external-content table the text is
-- kept only in responses (no second copy of an answer to erase). Case and
-- accents are folded by ks_fts_fold() on both sides (the documents here,
-- the query in ks_fts_query()), words split by the 'simple' parser.
-- The store's "responses_fts MATCH $1" (sqlite_dashboard.c) is, here,
-- "tsv @@ ks_fts_query($1)"; its 'optimize' INSERT (sqlite_gdpr.c) has
-- nothing to do (a deleted row's tokens go with the row).
-- ASCII punctuation becomes a space, as FTS5's unicode61 tokenizer splits
-- at it: PostgreSQL's parser would otherwise keep "a-b", e-mail addresses
-- and URLs whole and drop "<script>" as a tag, so a search for "script"
-- would miss it.
CREATE FUNCTION ks_fts_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
$$ SELECT regexp_replace(translate(lower(t), 'ÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝýÿŸ',
                              'aaaaaaaaaaaacceeeeeeeeiiiiiiiinnoooooooooooouuuuuuuuyyyy'),
                      '[!-/:-@\[-`{-~]+', ' ', 'g') $$;

CREATE FUNCTION ks_fts_doc(t text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT to_tsvector('simple', coalesce(ks_fts_fold(t), '')) $$;

-- The FTS5 query the store builds (sqlite_dashboard.c sq_fts_query):
-- quoted phrases ("" inside is one quote), each optionally followed by *
-- (its last word a prefix), joined by AND. Text without a quoted phrase is
-- taken as plain words, all required.
CREATE FUNCTION ks_fts_query(q text) RETURNS tsquery LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	m text[];
	one tsquery;
	r tsquery;
BEGIN
	FOR m IN SELECT regexp_matches(q, '"((""|[^"])*)"(\s*\*){0,1}', 'g') LOOP
		one := phraseto_tsquery('simple', ks_fts_fold(replace(m[1], '""', '"')));
		IF querytree(one) = '' OR querytree(one) = 'T' THEN
			CONTINUE;
		END IF;
		IF m[3] IS NOT NULL THEN
			one := CAST(CAST(one AS text) || ':*' AS tsquery);
		END IF;
		r := CASE WHEN r IS NULL THEN one ELSE r && one END;
	END LOOP;
	IF r IS NULL THEN
		r := plainto_tsquery('simple', ks_fts_fold(q));
	END IF;
	RETURN r;
END $$;

CREATE TABLE responses_fts (
  rowid     BIGINT PRIMARY KEY,    -- responses.id
  open_text TEXT,                  -- always NULL (see above)
  tsv       TSVECTOR NOT NULL
);
CREATE INDEX responses_fts_tsv ON responses_fts USING gin (tsv);

-- Only answers with text enter the index: most responses have none, and the
-- ingest path should not pay for an empty document each. (SQLite's triggers
-- of this version still told FTS5 about an answer without text on update
-- and delete; 014 fixed that. Here a row is in the index exactly when its
-- answer has a text, from the start.)
CREATE FUNCTION responses_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.open_text IS NOT NULL THEN
		DELETE FROM responses_fts WHERE rowid = OLD.id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.open_text IS NOT NULL THEN
		INSERT INTO responses_fts (rowid, open_text, tsv) VALUES (NEW.id, NULL, ks_fts_doc(NEW.open_text));
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER responses_fts_ai AFTER INSERT ON responses
  FOR EACH ROW WHEN (NEW.open_text IS NOT NULL) EXECUTE FUNCTION responses_fts_sync();
CREATE TRIGGER responses_fts_ad AFTER DELETE ON responses
  FOR EACH ROW EXECUTE FUNCTION responses_fts_sync();
CREATE TRIGGER responses_fts_au AFTER UPDATE OF open_text ON responses
  FOR EACH ROW EXECUTE FUNCTION responses_fts_sync();

-- Existing answers: index them all now.
INSERT INTO responses_fts (rowid, open_text, tsv)
  SELECT id, NULL, ks_fts_doc(open_text) FROM responses WHERE open_text IS NOT NULL;

-- A target per unit, period and metric. period: "2026", "2026-Q1" or
-- "2026-03"; metric: nps (target -100..100) or grade (1..10), checked by
-- the API. Team-level targets, never individual ones (shared/DOMAIN.md).
CREATE TABLE team_goals (
  team_id    BIGINT NOT NULL REFERENCES org_units(id),
  period     TEXT NOT NULL,
  metric     TEXT NOT NULL CHECK (metric IN ('nps','grade')),
  target     DOUBLE PRECISION NOT NULL,
  set_by     BIGINT REFERENCES users(id),
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (team_id, period, metric)
);

-- What a team agreed on. No row = the defaults: colleagues' individual
-- scores are not shown to each other (no individual ranking by default).
CREATE TABLE team_settings (
  team_id                BIGINT PRIMARY KEY REFERENCES org_units(id),
  share_colleague_scores BIGINT NOT NULL DEFAULT 0 CHECK (share_colleague_scores IN (0,1)),
  updated_at             BIGINT NOT NULL
);
