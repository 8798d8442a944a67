-- 023_internal_data.sql — the organisation's own data about its customers
-- (issue 16, "Internal data"; H4): custom attributes, products and who holds
-- them, marketing/system/contact events, and one row per import. Written by
-- `klantstem import customers|products|holdings|events` and
-- POST /api/v1/import/{kind} (sqlite_internal.c); read by the analytics
-- index as dimensions (H5) and by the customer timeline.
--
-- The built-in customer fields (customer_since, city, birth_year, segment)
-- stay columns of customers; anything else the organisation keeps about a
-- customer is a key/value row here (key [a-z0-9_]{1,32}, checked on intake).
CREATE TABLE customer_attributes (
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	key         TEXT NOT NULL,
	value       TEXT NOT NULL,
	PRIMARY KEY (customer_id, key)
) WITHOUT ROWID;
-- "every customer with loyalty = gold": the analytics side reads by key
CREATE INDEX customer_attributes_key ON customer_attributes(key, value);

CREATE TABLE products (
	id          INTEGER PRIMARY KEY,
	external_id TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL,
	category    TEXT,
	created_at  INTEGER NOT NULL
);

-- since/until are calendar days 'YYYY-MM-DD'; until NULL = still held.
CREATE TABLE holdings (
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	product_id  INTEGER NOT NULL REFERENCES products(id),
	since       TEXT,
	until       TEXT,
	PRIMARY KEY (customer_id, product_id)
) WITHOUT ROWID;
CREATE INDEX holdings_product ON holdings(product_id);

-- external_id is the sender's id of the event (upsert by it). An event sent
-- without one is identified by row_key, a 63-bit hash of (customer, kind,
-- occurred_at, channel, detail), so importing the same file twice does not
-- double it (NULL when external_id is given: a partial index, so that the
-- events with an id cost no entry in it).
CREATE TABLE customer_events (
	id          INTEGER PRIMARY KEY,
	external_id TEXT UNIQUE,
	customer_id INTEGER NOT NULL REFERENCES customers(id),
	kind        TEXT NOT NULL CHECK (kind IN ('mailing_sent', 'mailing_opened', 'mailing_clicked',
		'newsletter_subscribed', 'newsletter_unsubscribed', 'login', 'account_action', 'contact')),
	occurred_at INTEGER NOT NULL,
	channel     TEXT,
	detail      TEXT,
	row_key     INTEGER
);
CREATE UNIQUE INDEX customer_events_row_key ON customer_events(row_key) WHERE row_key IS NOT NULL;
CREATE INDEX customer_events_customer ON customer_events(customer_id, kind, occurred_at);

-- One row per import (CLI or API), written in the import's own transaction:
-- a running server notices a finished import by a new max(id).
CREATE TABLE import_runs (
	id            INTEGER PRIMARY KEY,
	kind          TEXT NOT NULL,
	file          TEXT,
	rows_ok       INTEGER,
	rows_rejected INTEGER,
	started_at    INTEGER NOT NULL,
	finished_at   INTEGER,
	rows_added    INTEGER,       -- of rows_ok: new rows
	rows_updated  INTEGER,       -- of rows_ok: rows that were there (upsert)
	duplicates    INTEGER,       -- rows whose id came again later in the same file (the last wins)
	source        TEXT NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'api'))
);

-- An erased customer (GDPR erasure, sqlite_gdpr.c) stays as a tombstone
-- row; erased_at marks it, so that every look-up of a customer by external
-- id (imports, their references, the relationship frame) skips it by the
-- marker rather than by the tombstone's id text 'erased-ID' — a real
-- customer's id may start with that text (one imported before intakes
-- refused it). Customers erased before this migration get the time of
-- their erasure record.
ALTER TABLE customers ADD COLUMN erased_at INTEGER;
UPDATE customers SET erased_at = (SELECT max(x.erased_at) FROM erasures x
                                   WHERE x.subject_kind = 'customer' AND x.subject_id = customers.id)
 WHERE id IN (SELECT subject_id FROM erasures WHERE subject_kind = 'customer');
