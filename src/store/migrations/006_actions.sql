-- 006_actions.sql — improvement actions (issue 6): from an insight (a
-- touchpoint, a theme from the open answers, or a team) to an action with
-- an owner, dates and a status, whose effect is measured on the slice it
-- names (see docs/API.md, "Improvement actions").

-- start_date / deadline are calendar dates "YYYY-MM-DD" (UTC days); the
-- API checks the format, the order (deadline >= start_date) and the status
-- flow (planned -> in_progress -> done; planned / in_progress -> cancelled).
CREATE TABLE actions (
  id            INTEGER PRIMARY KEY,
  title         TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  theme         TEXT,
  owner_id      INTEGER NOT NULL REFERENCES users(id),
  status        TEXT NOT NULL DEFAULT 'planned'
                CHECK (status IN ('planned','in_progress','done','cancelled')),
  start_date    TEXT NOT NULL,
  deadline      TEXT,
  journey_id    INTEGER REFERENCES journeys(id),
  touchpoint_id INTEGER REFERENCES touchpoints(id),
  team_id       INTEGER REFERENCES org_units(id),
  created_by    INTEGER REFERENCES users(id),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);
CREATE INDEX actions_team ON actions(team_id);
CREATE INDEX actions_touchpoint ON actions(touchpoint_id);
