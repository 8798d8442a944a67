-- 019_widgets.sql — public score widgets (issue 16, "Scores made public";
-- sqlite_widget.c, api_widget.c): the figures an organisation chose to
-- publish. Nothing is public unless it has a row here with enabled = 1.
--
-- token is the public name of a widget (/w/{token}): random, so the
-- published widgets cannot be listed by guessing. scope_id names a team
-- (organisation, department or team) or a touchpoint; the handler checks it
-- on every write (the table stays free of a foreign key over two tables).
CREATE TABLE widgets (
	token      TEXT PRIMARY KEY CHECK (length(token) BETWEEN 16 AND 40),
	scope      TEXT NOT NULL CHECK (scope IN ('organisation', 'team', 'touchpoint')),
	scope_id   BIGINT NOT NULL CHECK (scope_id > 0),
	measure    TEXT NOT NULL CHECK (measure IN ('nps', 'grade')),
	period     TEXT NOT NULL,           -- '2026', '2026-Q4', '2026-11', 'previous_quarter', 'previous_year'
	enabled    BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	position   BIGINT NOT NULL,        -- the order of the list as last written
	updated_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
	updated_at BIGINT NOT NULL
);
