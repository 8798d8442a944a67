-- 017_text_analysis.sql — what src/text made of each open answer (issue 14).
--
-- Written by the writer in the response's own transaction (sqlite_text.c);
-- a response whose analysis failed has no row (never a lost response), and
-- `klantstem text reanalyze` fills or renews rows after a taxonomy or model
-- change. Both tables go with the response (ON DELETE CASCADE) and with its
-- open text: GDPR erase and retention delete them before blanking the text.
CREATE TABLE text_analysis (
	response_id BIGINT PRIMARY KEY REFERENCES responses(id) ON DELETE CASCADE,
	language    TEXT NOT NULL,            -- nl | en | other
	label       TEXT NOT NULL,            -- negative | neutral | positive
	score       DOUBLE PRECISION NOT NULL,            -- [-1, 1]
	analyzed_at BIGINT NOT NULL
);

-- One row per theme hit: a child table so analytics can group by theme.
CREATE TABLE text_themes (
	response_id BIGINT NOT NULL REFERENCES text_analysis(response_id) ON DELETE CASCADE,
	theme       TEXT NOT NULL,
	subtheme    TEXT NOT NULL,
	label       TEXT NOT NULL,
	score       DOUBLE PRECISION NOT NULL,
	mentions    BIGINT NOT NULL,
	-- SQLite's implicit rowid made explicit: the store lists a row's themes
	-- in the order they were written (ORDER BY rowid) on both backends.
	rowid       BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX text_themes_response ON text_themes(response_id);
CREATE INDEX text_themes_theme ON text_themes(theme, subtheme);
