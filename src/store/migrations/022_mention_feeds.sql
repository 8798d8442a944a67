-- 022_mention_feeds.sql — review and social feeds polled on a schedule
-- (issue 16, "Pollers"; src/mentions/poll.c, sqlite_feeds.c, api_feeds.c,
-- docs/POLLERS.md). The mentions themselves go to H1's mentions table
-- (020), upserted by (source, source_id), so a feed fetched twice stores
-- nothing twice.
--
-- cursor_updated_at is the resume point: the largest updated_at a
-- *completed* run stored, written with that run's last page (in the
-- transaction of its upsert, when the mentions store offers one). A run asks
-- for items updated since the cursor minus an overlap. A run cut short
-- (crash, kill -9, shutdown) leaves the cursor where it was: the next run
-- fetches those pages again and the upsert finds them unchanged.
--
-- auth_header is a secret ("Authorization: Bearer ...", "apikey: ..."): the
-- API never returns it, only whether it is set.
CREATE TABLE mention_feeds (
	id                 INTEGER PRIMARY KEY,
	name               TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	format             TEXT NOT NULL,     -- one of mentions_parse's formats (checked by the API)
	url                TEXT NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
	auth_header        TEXT,              -- NULL = none
	interval_s         INTEGER NOT NULL CHECK (interval_s BETWEEN 60 AND 604800),
	enabled            INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	cursor_updated_at  INTEGER,           -- NULL = never completed: fetch everything
	etag               TEXT,              -- of the first page of the last complete run
	last_modified      TEXT,
	-- the exact first URL (since= included) etag/last_modified answered: a
	-- validator is sent only for that URL, and only for formats fetched in
	-- one request (a paged feed's page 1 unchanged says nothing of page 2)
	etag_url           TEXT,
	-- bumped by every change of how the feed is fetched (url, format,
	-- auth_header) and by a rearm: a run carries the generation it read, and
	-- its end (cursor, validators, failure) is written only where it still
	-- matches, so a run on the old URL cannot set the new URL's cursor
	generation         INTEGER NOT NULL DEFAULT 0,
	runs               INTEGER NOT NULL DEFAULT 0,  -- runs ended (ok or not): the UI waits for it to change
	-- a run that failed part-way resumes here: the next page's URL after
	-- the last page it committed, and the largest updated_at it stored (the
	-- cursor, which moves only at a run's end, takes it into account then);
	-- NULL = start at page 1. Cleared by a completed run and by a new
	-- url/format.
	resume_url         TEXT,
	resume_max_updated INTEGER NOT NULL DEFAULT 0,
	last_run_at        INTEGER,           -- when the last run ended (ok or not)
	last_ok_at         INTEGER,
	next_run_at        INTEGER NOT NULL,
	failures           INTEGER NOT NULL DEFAULT 0,  -- consecutive failed runs (the backoff's exponent)
	last_error         TEXT,              -- of the last failed run; kept after a success for the record
	last_status        INTEGER,           -- HTTP status of the last response, 0 = none (network error)
	last_pages         INTEGER NOT NULL DEFAULT 0,
	last_received      INTEGER NOT NULL DEFAULT 0,  -- records parsed by the last run
	last_inserted      INTEGER NOT NULL DEFAULT 0,
	last_updated       INTEGER NOT NULL DEFAULT 0,
	last_unchanged     INTEGER NOT NULL DEFAULT 0,
	mentions_fetched   INTEGER NOT NULL DEFAULT 0,  -- records received over the feed's life
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
CREATE INDEX mention_feeds_due ON mention_feeds(next_run_at) WHERE enabled = 1;
