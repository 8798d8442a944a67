-- 001_core.sql — the core data model (issue 2). Applied once, in one
-- transaction, by store_migrate(); the version is kept in PRAGMA user_version.
-- Times are unix seconds UTC (INTEGER); dates "YYYY-MM-DD" (TEXT).

-- Organisation tree: organisation -> department -> team.
CREATE TABLE org_units (
  id          INTEGER PRIMARY KEY,
  parent_id   INTEGER REFERENCES org_units(id),
  kind        TEXT NOT NULL CHECK (kind IN ('organisation','department','team')),
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX org_units_parent ON org_units(parent_id);

CREATE TABLE employees (
  id          INTEGER PRIMARY KEY,
  team_id     INTEGER NOT NULL REFERENCES org_units(id),
  external_id TEXT UNIQUE,
  first_name  TEXT NOT NULL,
  last_name   TEXT NOT NULL,
  email       TEXT,
  active      INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL
);
CREATE INDEX employees_team ON employees(team_id);

CREATE TABLE customers (
  id             INTEGER PRIMARY KEY,
  external_id    TEXT NOT NULL UNIQUE,
  name           TEXT,
  email          TEXT,
  language       TEXT NOT NULL DEFAULT 'nl' CHECK (language IN ('nl','en')),
  customer_since TEXT,
  city           TEXT,
  birth_year     INTEGER,
  segment        TEXT,
  created_at     INTEGER NOT NULL
);

CREATE TABLE channels (
  code  TEXT PRIMARY KEY,
  name_nl TEXT NOT NULL,
  name_en TEXT NOT NULL
);
INSERT INTO channels VALUES
  ('phone','Telefoon','Phone'), ('email','E-mail','E-mail'), ('chat','Chat','Chat'),
  ('shop','Winkel','Shop'), ('web','Website','Web'), ('field','Monteur aan huis','Field service');

-- A survey is a question list (JSON array, validated by model.c).
CREATE TABLE surveys (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  questions  TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE journeys (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT,
  created_at  INTEGER NOT NULL
);

CREATE TABLE touchpoints (
  id              INTEGER PRIMARY KEY,
  journey_id      INTEGER NOT NULL REFERENCES journeys(id),
  name            TEXT NOT NULL,
  position        INTEGER NOT NULL DEFAULT 0,
  moment_of_truth INTEGER NOT NULL DEFAULT 0,
  survey_id       INTEGER REFERENCES surveys(id),
  open_token      TEXT NOT NULL UNIQUE,   -- per-touchpoint open survey link
  created_at      INTEGER NOT NULL
);
CREATE INDEX touchpoints_journey ON touchpoints(journey_id, position);

CREATE TABLE contacts (
  id            INTEGER PRIMARY KEY,
  customer_id   INTEGER NOT NULL REFERENCES customers(id),
  employee_id   INTEGER REFERENCES employees(id),
  team_id       INTEGER REFERENCES org_units(id),
  touchpoint_id INTEGER NOT NULL REFERENCES touchpoints(id),
  channel       TEXT NOT NULL REFERENCES channels(code),
  reason        TEXT,
  occurred_at   INTEGER NOT NULL,
  token         TEXT NOT NULL UNIQUE,
  expires_at    INTEGER NOT NULL
);
CREATE INDEX contacts_customer ON contacts(customer_id, occurred_at);

-- One row per answered survey. Tied fields are copied from the contact when
-- there is one, so metrics never need a join to contacts.
CREATE TABLE responses (
  id            INTEGER PRIMARY KEY,
  client_key    TEXT UNIQUE,
  body_hash     INTEGER NOT NULL DEFAULT 0,
  contact_id    INTEGER UNIQUE REFERENCES contacts(id),
  customer_id   INTEGER REFERENCES customers(id),
  employee_id   INTEGER REFERENCES employees(id),
  team_id       INTEGER REFERENCES org_units(id),
  touchpoint_id INTEGER REFERENCES touchpoints(id),
  survey_id     INTEGER REFERENCES surveys(id),
  channel       TEXT REFERENCES channels(code),
  language      TEXT NOT NULL CHECK (language IN ('nl','en')),
  nps           INTEGER CHECK (nps BETWEEN 0 AND 10),
  grade         INTEGER CHECK (grade BETWEEN 1 AND 10),
  ces           INTEGER CHECK (ces BETWEEN 1 AND 7),
  open_text     TEXT,
  received_at   INTEGER NOT NULL,
  source        TEXT NOT NULL
);
CREATE INDEX responses_received ON responses(received_at);
CREATE INDEX responses_team ON responses(team_id, received_at);
CREATE INDEX responses_employee ON responses(employee_id, received_at);
CREATE INDEX responses_touchpoint ON responses(touchpoint_id, received_at);

CREATE TABLE response_drivers (
  response_id INTEGER NOT NULL REFERENCES responses(id),
  aspect      TEXT NOT NULL,
  score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 10),
  PRIMARY KEY (response_id, aspect)
) WITHOUT ROWID;
