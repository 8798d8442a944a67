-- 018_text_config.sql — the organisation's text configuration (issue 14):
-- its taxonomy, its trained sentiment model, the settings of the scheduled
-- retraining, and the reanalysis job that renews every stored analysis
-- after a change (sqlite_text_config.c, sqlite_text_job.c).
--
-- One row each (id = 1). The store builds its text context from this row
-- at open; a change writes the row, starts the job and switches the
-- context in one go (docs/TEXT.md "In the store").
CREATE TABLE text_config (
	id                  INTEGER PRIMARY KEY CHECK (id = 1),
	taxonomy            TEXT,               -- JSON; NULL = the shipped default
	taxonomy_version    INTEGER NOT NULL DEFAULT 0,  -- changes so far (0 = never changed)
	taxonomy_updated_at INTEGER,            -- NULL = never changed
	model               BLOB,               -- text_model_save(); NULL = lexicon only
	model_trained_at    INTEGER,
	model_n_examples    INTEGER,
	model_evaluation    TEXT,               -- JSON: folds, n, accuracy, macro_f1, ... confusion
	retrain_days        INTEGER NOT NULL DEFAULT 7 CHECK (retrain_days BETWEEN 0 AND 365),  -- 0 = never
	min_examples        INTEGER NOT NULL DEFAULT 200 CHECK (min_examples BETWEEN 30 AND 1000000)
);
INSERT INTO text_config(id) VALUES (1);

-- The reanalysis of every stored open answer: answers with id <= upto, in
-- id order; cursor = the last id done, written with each batch's rows, so
-- an interrupted job resumes where it stopped after a restart.
CREATE TABLE text_reanalysis (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	reason      TEXT NOT NULL CHECK (reason IN ('taxonomy', 'model', 'manual')),
	cursor      INTEGER NOT NULL DEFAULT 0,
	upto        INTEGER NOT NULL,
	done        INTEGER NOT NULL DEFAULT 0,
	total       INTEGER NOT NULL,
	started_at  INTEGER NOT NULL,
	finished_at INTEGER                      -- NULL = running (or interrupted)
);
